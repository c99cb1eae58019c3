# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The manual's chapter "Your own records" (docs/gtk-doc/records.xml) runs
# as written: the same program in C, Python, JavaScript and Vala, each
# built against this build uninstalled and run, must print exactly the
# chapter's <screen id="records-program-output">; the shorter snippets
# print their own <screen>, and the `netdb` commands of the CLI section
# print what the chapter shows (times masked).
#
# Each listing is found by the id of its <informalexample>.  Every
# informalexample of the chapter is in TESTED or in UNTESTED, so that a new
# snippet is run, or not, on purpose.

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

SOURCE_ROOT = os.environ.get("NETDB_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_ROOT = os.environ.get("NETDB_BUILD_ROOT")
CHAPTER = os.path.join(SOURCE_ROOT, "docs", "gtk-doc", "records.xml")
TIMEOUT = 120

# The four programs: informalexample id -> language attribute.
PROGRAMS = {
    "records-program-c": "C",
    "records-program-python": "python",
    "records-program-javascript": "javascript",
    "records-program-vala": "vala",
}
TESTED = set(PROGRAMS) | {
    "records-schema-python",
    "records-snapshot-python",
    "records-gtk-python",
}
UNTESTED = set()


def chapter():
    return ElementTree.parse(CHAPTER).getroot()


def by_id(ident):
    for element in chapter().iter():
        if element.get("id") == ident:
            return element
    raise AssertionError("records.xml has no element with id %r" % ident)


def cdata(element):
    """The text of a CDATA block that starts on the line after <![CDATA[."""
    text = element.text or ""
    assert text.startswith("\n"), "the listing should start on a new line"
    return text[1:]


def listing(ident):
    listings = by_id(ident).findall("programlisting")
    assert len(listings) == 1, ident
    assert listings[0].get("language") == PROGRAMS.get(ident, "python"), ident
    return cdata(listings[0])


def screen(ident):
    element = by_id(ident)
    assert element.tag == "screen", ident
    return cdata(element)


def build_root():
    assert BUILD_ROOT, "NETDB_BUILD_ROOT is not set (run through meson test)"
    return BUILD_ROOT


def run(command, tmp_path, env=None):
    result = subprocess.run(command, cwd=str(tmp_path), env=env,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, \
        "%s failed (%d):\n%s%s" % (command[0], result.returncode,
                                    result.stdout, result.stderr)
    assert "CRITICAL" not in result.stderr, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    return result.stdout


def uninstalled_env():
    """The environment with pkg-config finding netdb-1.0 in this build."""
    env = dict(os.environ)
    pc_dir = os.path.join(build_root(), "meson-uninstalled")
    assert os.path.exists(os.path.join(pc_dir, "netdb-1.0-uninstalled.pc"))
    env["PKG_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [pc_dir, env.get("PKG_CONFIG_PATH")]))
    return env


def expected_output():
    return screen("records-program-output")


# --- the chapter ----------------------------------------------------------------


def test_chapter_is_in_the_manual():
    with open(os.path.join(SOURCE_ROOT, "docs", "gtk-doc", "netdb-docs.xml"),
              encoding="utf-8") as f:
        assert '<xi:include href="xml/records.xml"/>' in f.read()
    with open(os.path.join(SOURCE_ROOT, "docs", "gtk-doc", "meson.build"),
              encoding="utf-8") as f:
        assert "'records.xml'" in f.read()
    root = chapter()
    assert root.tag == "chapter" and root.get("id") == "records"
    assert root.find("title").text == "Your own records"


def test_every_listing_is_run_on_purpose():
    examples = [e.get("id") for e in chapter().iter("informalexample")]
    assert None not in examples, "an informalexample without an id"
    assert set(examples) == TESTED | UNTESTED, \
        "add the new listing to TESTED (or UNTESTED, deliberately)"
    assert len(examples) == len(set(examples))
    for ident in PROGRAMS:
        assert listing(ident), ident
    assert expected_output().count("\n") >= 10


# --- the program, four times -------------------------------------------------------


def test_c_program(tmp_path):
    env = uninstalled_env()
    source = tmp_path / "notes.c"
    source.write_text(listing("records-program-c"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "netdb-1.0"],
                           env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    compiler = shlex.split(os.environ.get("CC", "cc"))
    run(compiler + ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
                    "-o", "notes", "notes.c"] + flags, tmp_path, env)
    assert run([str(tmp_path / "notes")], tmp_path) == expected_output()


def test_python_program(tmp_path):
    (tmp_path / "notes.py").write_text(listing("records-program-python"))
    assert run([sys.executable, "notes.py"], tmp_path) == expected_output()


def test_javascript_program(tmp_path):
    gjs = shutil.which("gjs")
    if gjs is None:
        pytest.skip("gjs is not installed")
    (tmp_path / "notes.js").write_text(listing("records-program-javascript"))
    assert run([gjs, "-m", "notes.js"], tmp_path) == expected_output()


def test_vala_program(tmp_path):
    valac = shutil.which("valac")
    if valac is None:
        pytest.skip("valac is not installed")
    vapidir = os.path.join(build_root(), "netdb")
    if not os.path.exists(os.path.join(vapidir, "netdb-1.0.vapi")):
        pytest.skip("the build has no netdb-1.0.vapi (-Dvapi=false)")
    (tmp_path / "notes.vala").write_text(listing("records-program-vala"))
    # -w: the C that valac generates is not ours to keep warning-free.
    run([valac, "--vapidir", vapidir, "--pkg", "netdb-1.0", "--pkg", "gio-2.0",
         "-X", "-w", "-o", "notes", "notes.vala"], tmp_path, uninstalled_env())
    assert run([str(tmp_path / "notes")], tmp_path) == expected_output()


# --- the shorter snippets -----------------------------------------------------------


def mask_times(text):
    """The output of `netdb` without the times the records were written."""
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "YYYY-MM-DD hh:mm", text)
    return re.sub(r'"(created|updated)_at":\d+', r'"\1_at":T', text)


def cli_commands():
    """[(argv, expected output)] from the CLI section's screen."""
    commands = []
    for line in screen("records-cli-screen").splitlines(keepends=True):
        if line.startswith("$ "):
            commands.append((shlex.split(line[2:]), ""))
        else:
            assert commands, "the screen should start with a command"
            argv, output = commands[-1]
            commands[-1] = (argv, output + line)
    return commands


def test_schema_evolution_and_the_netdb_command(tmp_path):
    (tmp_path / "schema.py").write_text(listing("records-schema-python"))
    assert run([sys.executable, "schema.py"], tmp_path) == \
        screen("records-schema-output")

    # The CLI section reads the database the schema snippet wrote.
    commands = cli_commands()
    assert len(commands) >= 3
    netdb = os.path.join(build_root(), "netdb-cli", "netdb")
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    for argv, output in commands:
        assert argv[0] == "netdb", argv
        assert mask_times(run([netdb] + argv[1:], tmp_path, env)) == \
            mask_times(output), argv
    assert any("--json" in argv for argv, _ in commands)


def test_snapshot_snippet(tmp_path):
    (tmp_path / "snapshot.py").write_text(listing("records-snapshot-python"))
    assert run([sys.executable, "snapshot.py"], tmp_path) == \
        screen("records-snapshot-output")


def gtk4_available():
    result = subprocess.run(
        [sys.executable, "-c",
         "import gi; gi.require_version('Gtk', '4.0'); "
         "from gi.repository import Gtk"],
        capture_output=True, timeout=TIMEOUT)
    return result.returncode == 0


def test_gtk_snippet(tmp_path):
    if not gtk4_available():
        pytest.skip("GTK 4 and its typelib are not installed")
    code = listing("records-gtk-python")
    (tmp_path / "gtk.py").write_text(code)
    assert run([sys.executable, "gtk.py"], tmp_path) == \
        screen("records-gtk-output")

    # What the section says report-updates is for: without it, the
    # GtkFilterListModel above misses the in-place change.
    lines = [line for line in code.splitlines(keepends=True)
             if "set_report_updates" not in line]
    assert len(lines) == len(code.splitlines()) - 1
    (tmp_path / "gtk.py").write_text("".join(lines))
    assert run([sys.executable, "gtk.py"], tmp_path) == "starred: []\n"
