# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The README's Python and JavaScript snippets run as written inside
# `meson devenv -C BUILD`, the environment the README tells a new user to
# use: nothing from the test's own environment (GI_TYPELIB_PATH,
# LD_LIBRARY_PATH, PYTHONPATH) helps them.

import os
import re
import shutil
import subprocess

import pytest

SOURCE_ROOT = os.environ.get("NETDB_SOURCE_ROOT") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_ROOT = os.environ.get("NETDB_BUILD_ROOT")
LOADER_VARIABLES = ("GI_TYPELIB_PATH", "LD_LIBRARY_PATH", "PYTHONPATH")


def snippets(language):
    with open(os.path.join(SOURCE_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```%s\n(.*?)```" % language, text, re.S)


def devenv(*command, tmp_path):
    meson = shutil.which("meson")
    assert meson, "meson is not on PATH"
    assert BUILD_ROOT, "NETDB_BUILD_ROOT is not set (run through meson test)"
    env = {k: v for k, v in os.environ.items() if k not in LOADER_VARIABLES}
    env["XDG_DATA_HOME"] = str(tmp_path)
    return subprocess.run([meson, "devenv", "-C", BUILD_ROOT, "-w", str(tmp_path), *command],
                          env=env, cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)


def test_readme_has_snippets():
    assert len(snippets("python")) >= 2
    assert len(snippets("js")) >= 1


@pytest.mark.parametrize("index", range(len(snippets("python"))))
def test_python_snippet(index, tmp_path):
    code = snippets("python")[index]
    # A snippet may continue the one before it (the imports come first).
    prelude = snippets("python")[0] if index > 0 else ""
    script = tmp_path / "snippet.py"
    script.write_text(prelude + "\n" + code)
    result = devenv("/usr/bin/python3", "snippet.py", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("index", range(len(snippets("js"))))
def test_js_snippet(index, tmp_path):
    if shutil.which("gjs") is None:
        pytest.skip("gjs is not installed")
    script = tmp_path / "snippet.js"
    script.write_text(snippets("js")[index])
    result = devenv("gjs", "-m", "snippet.js", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CRITICAL" not in result.stderr, result.stderr


def test_netdb_command_is_on_path(tmp_path):
    result = devenv("netdb", "--memory", "log", "list", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_command_group_is_in_the_readme(tmp_path):
    """The README's command section shows every group `netdb --help`
    lists, and points to the manual page."""
    result = devenv("netdb", "--help", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:")[1].split("\n\n")[0]
    groups = [line.split()[0] for line in commands.strip().splitlines()]
    assert {"tasks", "memories", "snapshot", "log", "node"} <= set(groups)
    with open(os.path.join(SOURCE_ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme.split("## The `netdb` command")[1].split("\n## ")[0]
    for group in groups:
        assert "netdb %s " % group in section, group
    assert "man -l data/netdb.1" in section
    assert os.path.exists(os.path.join(SOURCE_ROOT, "data", "netdb.1"))
