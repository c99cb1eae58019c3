# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The `netdb` command, driven as a user would drive it: every command, its
# human and --json output, its exit status (0 ok, 1 failure, 2 usage), and
# `watch` following the writes of other `netdb` processes.
#
#   NETDB_CLI=build/netdb-cli/netdb /usr/bin/python3 -m pytest tests/cli
#
# Each test gets its own database directory and its own XDG_DATA_HOME, so
# nothing touches the user's default database.

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time

import pytest

NETDB = os.environ.get("NETDB_CLI")
if not NETDB:
    pytest.skip("NETDB_CLI (the path of the built netdb) is not set",
                allow_module_level=True)

# How long a change may take to show up in a running `watch` (the issue
# asks for a second); a slow runner (valgrind, sanitizers) may scale it.
# (tools/sanitize-tests sets NETDB_TEST_TIME_FACTOR.)
WATCH_DEADLINE = 1.0 * float(os.environ.get("NETDB_CLI_TIME_FACTOR",
                                            os.environ.get("NETDB_TEST_TIME_FACTOR", "1")))
# Bounds a wait that should never happen, so a bug fails instead of hanging.
HANG_TIMEOUT = 30


# --- helpers --------------------------------------------------------------------


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    e["LC_ALL"] = "C.UTF-8"
    e.pop("G_DEBUG", None)
    return e


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "db")


class Netdb:
    def __init__(self, db, env):
        self.db = db
        self.env = env

    def run(self, *args, db=True, check=None, stdin=None):
        argv = [NETDB] + (["--db", self.db] if db else []) + list(args)
        r = subprocess.run(argv, env=self.env, input=stdin,
                           capture_output=True, text=True,
                           timeout=HANG_TIMEOUT)
        if check is not None:
            assert r.returncode == check, (argv, r.returncode, r.stdout, r.stderr)
        return r

    def ok(self, *args, **kw):
        return self.run(*args, check=0, **kw).stdout

    def json(self, *args, **kw):
        out = self.run("--json", *args, check=0, **kw).stdout
        return json.loads(out)

    def fails(self, status, *args, **kw):
        r = self.run(*args, check=status, **kw)
        assert r.stderr.startswith("netdb: "), r.stderr
        return r.stderr

    def popen(self, *args):
        argv = [NETDB, "--db", self.db] + list(args)
        return subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)


@pytest.fixture
def netdb(db, env):
    return Netdb(db, env)


class Lines:
    """The stdout of a running process, line by line, with timeouts."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,),
                                       daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self, timeout):
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output within {timeout} s")
        assert line is not None, "the process ended its output"
        return line

    def until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"nothing matched within {timeout} s; saw {seen}")
            line = self.next(left)
            seen.append(line)
            if predicate(line):
                return line

    def rest(self):
        self.thread.join(HANG_TIMEOUT)
        out = []
        while True:
            line = self.queue.get_nowait()
            if line is None:
                return out
            out.append(line)


def stop(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    try:
        return proc.wait(HANG_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("watch did not exit after the signal")


def table(text):
    """A human table as a list of rows of cells (split on 2+ blanks)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def now_us():
    return int(time.time() * 1_000_000)


# --- help and usage ---------------------------------------------------------------


HELP_PATHS = [
    [], ["tasks"], ["memories"], ["snapshot"], ["log"],
    ["tasks", "add"], ["tasks", "rename"], ["tasks", "complete"],
    ["tasks", "delete"], ["tasks", "get"], ["tasks", "list"],
    ["tasks", "count"], ["tasks", "watch"],
    ["memories", "store"], ["memories", "retag"], ["memories", "pin"],
    ["memories", "unpin"], ["memories", "delete"], ["memories", "get"],
    ["memories", "list"], ["memories", "count"], ["memories", "watch"],
    ["snapshot", "save"], ["snapshot", "restore"],
    ["log", "list"], ["log", "append"], ["log", "tail"], ["log", "verify"],
]


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "netdb")
def test_help_on_every_level(netdb, path):
    out = netdb.ok(*path, "--help", db=False)
    assert out.startswith("Usage:\n  " + " ".join(["netdb"] + path)), out
    assert "--json" in out and "--db" in out


def test_help_lists_commands(netdb):
    out = netdb.ok("--help", db=False)
    for command in ("tasks", "memories", "snapshot", "log"):
        assert re.search(rf"^  {command}\s", out, re.M), out
    out = netdb.ok("tasks", "--help", db=False)
    for command in ("add", "rename", "complete", "delete", "get", "list",
                    "count", "watch"):
        assert re.search(rf"^  {command}\s", out, re.M), out
    out = netdb.ok("memories", "--help", db=False)
    for command in ("store", "retag", "pin", "unpin", "delete", "get", "list",
                    "count", "watch"):
        assert re.search(rf"^  {command}\s", out, re.M), out


@pytest.mark.parametrize("args", [
    ["tasks", "list", "--bogus"],
    ["--bogus"],
    ["tasks"],
    ["tasks", "frobnicate"],
    ["tasks", "add", "1"],
    ["tasks", "add", "1", "title", "extra"],
    ["tasks", "get", "not-a-number"],
    ["tasks", "get", "-1"],
    ["tasks", "list", "--status", "done"],
    ["tasks", "list", "--order", "title"],
    ["tasks", "list", "--limit", "-1"],
    ["tasks", "list", "--limit", "many"],
    ["memories", "list", "--pinned", "--unpinned"],
    ["memories", "pin"],
    ["--memory", "tasks", "list"],
], ids=lambda a: " ".join(a))
def test_usage_errors_exit_2_with_a_hint(netdb, args):
    err = netdb.fails(2, *args)
    assert "--help" in err, err


def test_version(netdb):
    assert re.match(r"netdb \d+\.\d+\.\d+\n", netdb.ok("--version", db=False))


# --- tasks ------------------------------------------------------------------------


def test_tasks_add_get_list(netdb):
    before = now_us()
    assert netdb.json("tasks", "add", "1", "Buy milk") == {"seq": 1}
    assert netdb.json("tasks", "add", "2", "Write the tests ü") == {"seq": 2}
    out = netdb.ok("tasks", "add", "3", "Third")
    assert out == "task 3 added (seq 3)\n"
    after = now_us()

    task = netdb.json("tasks", "get", "2")
    assert set(task) == {"id", "title", "status", "created_at", "updated_at"}
    assert task["id"] == 2
    assert task["title"] == "Write the tests ü"
    assert task["status"] == "pending"
    assert before <= task["created_at"] == task["updated_at"] <= after

    out = netdb.ok("tasks", "get", "2")
    assert re.search(r"^title:\s+Write the tests ü$", out, re.M), out
    assert re.search(r"^status:\s+pending$", out, re.M), out
    assert re.search(r"^created:\s+\d{4}-\d\d-\d\d \d\d:\d\d$", out, re.M), out

    rows = table(netdb.ok("tasks", "list"))
    assert rows[0] == ["ID", "STATUS", "TITLE", "CREATED", "UPDATED"]
    assert [r[:3] for r in rows[1:]] == [
        ["1", "pending", "Buy milk"],
        ["2", "pending", "Write the tests ü"],
        ["3", "pending", "Third"],
    ]
    # Aligned: every row starts its STATUS and TITLE columns at one place.
    lines = netdb.ok("tasks", "list").splitlines()
    assert len({line.index("pending" if i else "STATUS")
                for i, line in enumerate(lines)}) == 1
    for r in rows[1:]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r[3]), r

    listed = netdb.json("tasks", "list")
    assert [t["id"] for t in listed] == [1, 2, 3]
    assert listed[1] == task


def test_tasks_rename_complete_delete(netdb):
    netdb.ok("tasks", "add", "7", "Old title")
    created = netdb.json("tasks", "get", "7")

    assert netdb.json("tasks", "rename", "7", "New title") == {"seq": 2}
    renamed = netdb.json("tasks", "get", "7")
    assert renamed["title"] == "New title"
    assert renamed["created_at"] == created["created_at"]
    assert renamed["updated_at"] >= created["updated_at"]

    assert netdb.ok("tasks", "complete", "7") == "task 7 completed (seq 3)\n"
    assert netdb.json("tasks", "get", "7")["status"] == "completed"
    assert table(netdb.ok("tasks", "list"))[1][1] == "completed"

    # add replaces: pending again
    netdb.ok("tasks", "add", "7", "Replaced")
    assert netdb.json("tasks", "get", "7")["status"] == "pending"

    assert netdb.json("tasks", "delete", "7") == {"seq": 5}
    assert "no task with id 7" in netdb.fails(1, "tasks", "get", "7")
    assert netdb.json("tasks", "list") == []
    # An empty list still has its header.
    assert netdb.ok("tasks", "list").split() == ["ID", "STATUS", "TITLE",
                                                 "CREATED", "UPDATED"]


@pytest.mark.parametrize("command", [
    ["tasks", "get", "42"],
    ["tasks", "rename", "42", "x"],
    ["tasks", "complete", "42"],
    ["tasks", "delete", "42"],
])
def test_tasks_missing_id_exits_1(netdb, command):
    netdb.ok("tasks", "add", "1", "exists")
    err = netdb.fails(1, *command)
    assert err == "netdb: no task with id 42\n"
    # Nothing was logged for the refused mutation.
    assert netdb.json("tasks", "list") == [netdb.json("tasks", "get", "1")]


def test_tasks_filters_order_window_count(netdb):
    for i, title in enumerate(["alpha", "Beta", "gamma", "ALPHABET", "delta"],
                              start=1):
        netdb.ok("tasks", "add", str(i), title)
    netdb.ok("tasks", "complete", "2")
    netdb.ok("tasks", "complete", "4")
    netdb.ok("tasks", "rename", "1", "alpha again")   # 1 updated last

    def ids(*args):
        return [t["id"] for t in netdb.json("tasks", "list", *args)]

    assert ids() == [1, 2, 3, 4, 5]
    assert ids("--status", "pending") == [1, 3, 5]
    assert ids("--status", "completed") == [2, 4]
    assert ids("--search", "alpha") == [1, 4]
    assert ids("--title-contains", "ALPHA") == [1, 4]
    assert ids("--order", "-id") == [5, 4, 3, 2, 1]
    assert ids("--order", "created") == [1, 2, 3, 4, 5]
    assert ids("--order", "-created") == [5, 4, 3, 2, 1]
    assert ids("--order", "updated") == [3, 5, 2, 4, 1]
    assert ids("--order", "-updated") == [1, 4, 2, 5, 3]
    assert ids("--order", "id", "--limit", "2") == [1, 2]
    assert ids("--limit", "2", "--offset", "3") == [4, 5]
    assert ids("--offset", "10") == []
    assert ids("--status", "pending", "--search", "a", "--order", "-id",
               "--limit", "1") == [5]

    assert netdb.ok("tasks", "count") == "5\n"
    assert netdb.json("tasks", "count") == {"count": 5}
    assert netdb.json("tasks", "count", "--status", "pending") == {"count": 3}
    assert netdb.json("tasks", "count", "--status", "completed",
                      "--search", "alpha") == {"count": 1}


def test_global_options_anywhere(netdb):
    netdb.ok("tasks", "add", "1", "x")
    a = netdb.run("--json", "tasks", "list", check=0).stdout
    b = netdb.run("tasks", "--json", "list", check=0).stdout
    c = netdb.run("tasks", "list", "--json", check=0).stdout
    assert a == b == c
    json.loads(a)


def test_titles_with_control_characters(netdb):
    netdb.ok("tasks", "add", "1", "two\nlines\tand a tab")
    assert netdb.json("tasks", "get", "1")["title"] == "two\nlines\tand a tab"
    # One row per task in a terminal, whatever the title holds.
    assert len(netdb.ok("tasks", "list").splitlines()) == 2


def test_default_database_in_xdg_data_home(netdb, env):
    netdb.ok("tasks", "add", "1", "in the default db", db=False)
    default = os.path.join(env["XDG_DATA_HOME"], "netdb")
    assert os.path.isdir(default)
    assert netdb.json("tasks", "get", "1", db=False)["title"] == "in the default db"
    # --db names another one.
    assert netdb.json("tasks", "list") == []


def test_reading_creates_an_empty_database(netdb, db):
    assert netdb.json("tasks", "list") == []
    assert netdb.json("memories", "count") == {"count": 0}
    assert os.path.isdir(db)


def test_memory_database(netdb, db):
    r = netdb.run("--memory", "--json", "tasks", "list", db=False, check=0)
    assert json.loads(r.stdout) == []
    r = netdb.run("--memory", "--json", "tasks", "add", "1", "x", db=False,
                  check=0)
    assert json.loads(r.stdout) == {"seq": 1}
    # Nothing persists, neither in --db nor in the default database.
    r = netdb.run("--json", "tasks", "list", db=False, check=0)
    assert json.loads(r.stdout) == []
    assert not os.path.exists(db)


def test_locked_database(netdb, db):
    """A second writer is refused, naming the locked path; readers are not."""
    netdb.ok("tasks", "add", "1", "before the lock")
    # `log append` without TEXT holds the write lock while it reads stdin.
    holder = subprocess.Popen([NETDB, "--db", db, "log", "append", "hold"],
                              env=netdb.env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        # Wait for the holder to record its pid in LOCK (it does so once it
        # has the lock), without competing for the lock meanwhile.
        lock_file = os.path.join(db, "LOCK")
        deadline = time.monotonic() + HANG_TIMEOUT
        while True:
            assert holder.poll() is None, holder.communicate()
            try:
                with open(lock_file) as f:
                    if f.read().strip() == str(holder.pid):
                        break
            except FileNotFoundError:
                pass
            assert time.monotonic() < deadline, "the lock was never taken"
            time.sleep(0.02)
        r = netdb.run("tasks", "add", "2", "while locked")
        assert r.returncode == 1, r
        assert r.stderr.startswith("netdb: "), r.stderr
        assert "lock" in r.stderr and os.path.realpath(db) in r.stderr, r.stderr
        assert r.stdout == ""

        netdb.fails(1, "memories", "store", "1", "x")
        # Reading commands open the database read-only.
        assert netdb.json("tasks", "get", "1")["title"] == "before the lock"
        assert netdb.json("tasks", "count") == {"count": 1}
    finally:
        holder.communicate("line\n", timeout=HANG_TIMEOUT)
    assert holder.returncode == 0
    netdb.ok("tasks", "add", "2", "after the lock")


# --- memories ---------------------------------------------------------------------


def test_memories_store_get_list(netdb):
    before = now_us()
    assert netdb.json("memories", "store", "1", "The sky is blue",
                      "--tag", "facts", "--tag", "sky",
                      "--source", "window") == {"seq": 1}
    assert netdb.ok("memories", "store", "2", "Tea at five") == \
        "memory 2 stored (seq 2)\n"
    after = now_us()

    m = netdb.json("memories", "get", "1")
    assert set(m) == {"id", "content", "tags", "source", "pinned",
                      "created_at", "updated_at"}
    assert m["id"] == 1
    assert m["content"] == "The sky is blue"
    assert m["tags"] == ["facts", "sky"]
    assert m["source"] == "window"
    assert m["pinned"] is False
    assert before <= m["created_at"] == m["updated_at"] <= after

    m2 = netdb.json("memories", "get", "2")
    assert m2["tags"] == [] and m2["source"] is None

    rows = table(netdb.ok("memories", "list"))
    assert rows[0] == ["ID", "PINNED", "TAGS", "SOURCE", "CREATED", "UPDATED",
                       "CONTENT"]
    assert rows[1][:4] == ["1", "no", "facts,sky", "window"]
    assert rows[1][-1] == "The sky is blue"
    assert rows[2][0] == "2" and rows[2][-1] == "Tea at five"

    out = netdb.ok("memories", "get", "1")
    assert re.search(r"^tags:\s+facts,sky$", out, re.M), out
    assert re.search(r"^content:\s+The sky is blue$", out, re.M), out

    assert [x["id"] for x in netdb.json("memories", "list")] == [1, 2]


def test_memories_mutations(netdb):
    netdb.ok("memories", "store", "1", "first", "--tag", "a")
    created = netdb.json("memories", "get", "1")

    assert netdb.json("memories", "pin", "1") == {"seq": 2}
    assert netdb.json("memories", "get", "1")["pinned"] is True

    # store again: new content and tags, pinned and created kept
    netdb.ok("memories", "store", "1", "second", "--tag", "b", "--source", "s")
    m = netdb.json("memories", "get", "1")
    assert (m["content"], m["tags"], m["source"], m["pinned"]) == \
        ("second", ["b"], "s", True)
    assert m["created_at"] == created["created_at"]

    assert netdb.ok("memories", "retag", "1", "--tag", "z", "--tag", "y") == \
        "memory 1 retagged (seq 4)\n"
    assert netdb.json("memories", "get", "1")["tags"] == ["z", "y"]
    netdb.ok("memories", "retag", "1")
    assert netdb.json("memories", "get", "1")["tags"] == []

    assert netdb.json("memories", "unpin", "1") == {"seq": 6}
    assert netdb.json("memories", "get", "1")["pinned"] is False

    assert netdb.json("memories", "delete", "1") == {"seq": 7}
    assert netdb.fails(1, "memories", "get", "1") == \
        "netdb: no memory with id 1\n"


@pytest.mark.parametrize("command", [
    ["memories", "get", "9"],
    ["memories", "retag", "9", "--tag", "x"],
    ["memories", "pin", "9"],
    ["memories", "unpin", "9"],
    ["memories", "delete", "9"],
])
def test_memories_missing_id_exits_1(netdb, command):
    assert netdb.fails(1, *command) == "netdb: no memory with id 9\n"


def test_memories_filters(netdb):
    netdb.ok("memories", "store", "1", "Red apple", "--tag", "fruit",
             "--tag", "red", "--source", "market")
    netdb.ok("memories", "store", "2", "Green apple", "--tag", "fruit",
             "--tag", "green")
    netdb.ok("memories", "store", "3", "Red car", "--tag", "red",
             "--source", "street")
    netdb.ok("memories", "store", "4", "Nothing tagged")
    netdb.ok("memories", "pin", "3")

    def ids(*args):
        return [m["id"] for m in netdb.json("memories", "list", *args)]

    assert ids() == [1, 2, 3, 4]
    assert ids("--tag", "red") == [1, 3]
    assert ids("--any-tag", "green", "--any-tag", "red") == [1, 2, 3]
    assert ids("--all-tag", "fruit", "--all-tag", "red") == [1]
    assert ids("--source", "street") == [3]
    assert ids("--pinned") == [3]
    assert ids("--unpinned") == [1, 2, 4]
    assert ids("--search", "APPLE") == [1, 2]
    assert ids("--search", "apple", "--order", "-id") == [2, 1]
    assert ids("--order", "-updated", "--limit", "1") == [3]
    assert ids("--limit", "2", "--offset", "1") == [2, 3]

    assert netdb.json("memories", "count") == {"count": 4}
    assert netdb.ok("memories", "count", "--tag", "fruit") == "2\n"
    assert netdb.json("memories", "count", "--unpinned", "--tag", "red") == \
        {"count": 1}


# --- snapshot ---------------------------------------------------------------------


def fill(netdb):
    netdb.ok("tasks", "add", "1", "one")
    netdb.ok("tasks", "add", "2", "two")
    netdb.ok("tasks", "complete", "2")
    netdb.ok("memories", "store", "5", "remember", "--tag", "t", "--source", "s")
    netdb.ok("memories", "pin", "5")


def test_snapshot_save_restore(netdb, tmp_path, env):
    fill(netdb)
    snap = str(tmp_path / "db.snapshot")
    out = netdb.json("snapshot", "save", snap)
    assert out["file"] == snap and out["size"] == os.path.getsize(snap) > 0
    assert os.stat(snap).st_mode & 0o777 == 0o600

    restored = Netdb(str(tmp_path / "restored"), env)
    out = restored.ok("snapshot", "restore", snap)
    assert out == f"restored 2 tasks and 1 memory into {restored.db}\n"
    assert restored.json("tasks", "list") == netdb.json("tasks", "list")
    assert restored.json("memories", "list") == netdb.json("memories", "list")

    # The restored database continues after the snapshot's seqs.
    assert restored.json("tasks", "add", "3", "three") == {"seq": 4}

    # An empty directory is fine too.
    empty = Netdb(str(tmp_path / "empty"), env)
    os.mkdir(empty.db)
    assert empty.json("snapshot", "restore", snap) == {
        "path": empty.db, "tasks": 2, "memories": 1}


def test_snapshot_restore_refuses_a_non_empty_directory(netdb, tmp_path):
    fill(netdb)
    snap = str(tmp_path / "s")
    netdb.ok("snapshot", "save", snap)
    before = netdb.json("tasks", "list")
    err = netdb.fails(1, "snapshot", "restore", snap)
    assert "not empty" in err and netdb.db in err, err
    assert netdb.json("tasks", "list") == before


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_snapshot_restore_corrupt_file(netdb, tmp_path, env, damage):
    fill(netdb)
    snap = tmp_path / "s"
    netdb.ok("snapshot", "save", str(snap))
    data = bytearray(snap.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "garbage":
        data = bytearray(b"this is not a snapshot\n" * 10)
    else:
        data = bytearray()
    snap.write_bytes(bytes(data))

    target = Netdb(str(tmp_path / "target"), env)
    err = target.fails(1, "snapshot", "restore", str(snap))
    assert str(snap) in err, err
    assert not os.path.exists(target.db)


def test_snapshot_missing_file(netdb, tmp_path):
    netdb.fails(1, "snapshot", "restore", str(tmp_path / "nope"))


# --- watch ------------------------------------------------------------------------


def start_watch(netdb, *args):
    proc = netdb.popen(*args)
    lines = Lines(proc.stdout)
    return proc, lines


def test_tasks_watch_follows_other_processes(netdb):
    netdb.ok("tasks", "add", "1", "already there")
    proc, lines = start_watch(netdb, "tasks", "watch", "--status", "pending")
    try:
        assert table(lines.next(HANG_TIMEOUT))[0] == \
            ["ID", "STATUS", "TITLE", "CREATED", "UPDATED"]
        row = lines.next(HANG_TIMEOUT)
        assert table(row)[0][:3] == ["1", "pending", "already there"]
        assert lines.next(HANG_TIMEOUT).startswith("-- seq 1: watching")

        netdb.ok("tasks", "add", "2", "from another process")
        line = lines.next(WATCH_DEADLINE)
        assert re.fullmatch(r"\+ seq 2  2  pending  from another process  .*",
                            line), line

        netdb.ok("tasks", "rename", "2", "renamed")
        line = lines.next(WATCH_DEADLINE)
        assert re.fullmatch(r"~ seq 3  2  pending  renamed  .*", line), line

        # Completing leaves the filter: a removal, not a change.
        netdb.ok("tasks", "complete", "1")
        line = lines.next(WATCH_DEADLINE)
        assert re.fullmatch(r"- seq 4  1  completed  already there  .*",
                            line), line

        netdb.ok("tasks", "delete", "2")
        line = lines.next(WATCH_DEADLINE)
        assert re.fullmatch(r"- seq 5  2  pending  renamed  .*", line), line
    finally:
        status = stop(proc, signal.SIGINT)
    assert status == 0
    assert lines.rest() == []
    assert proc.stderr.read() == ""


def test_tasks_watch_json(netdb):
    netdb.ok("tasks", "add", "1", "one")
    proc, lines = start_watch(netdb, "--json", "tasks", "watch")
    try:
        first = json.loads(lines.next(HANG_TIMEOUT))
        assert first["seq"] == 1
        assert [t["title"] for t in first["items"]] == ["one"]

        netdb.ok("tasks", "add", "2", "two")
        change = json.loads(lines.next(WATCH_DEADLINE))
        assert change["change"] == "added"
        assert change["seq"] == 2 and change["position"] == 1
        assert change["item"]["id"] == 2 and change["item"]["status"] == "pending"

        netdb.ok("tasks", "complete", "1")
        change = json.loads(lines.next(WATCH_DEADLINE))
        assert change["change"] == "changed"
        assert change["seq"] == 3 and change["position"] == 0
        assert change["item"]["status"] == "completed"

        netdb.ok("tasks", "delete", "1")
        change = json.loads(lines.next(WATCH_DEADLINE))
        assert (change["change"], change["seq"], change["position"],
                change["item"]["id"]) == ("removed", 4, 0, 1)
    finally:
        status = stop(proc, signal.SIGTERM)
    assert status == 0


def test_tasks_watch_window(netdb):
    for i in (1, 2, 3):
        netdb.ok("tasks", "add", str(i), f"t{i}")
    proc, lines = start_watch(netdb, "--json", "tasks", "watch",
                              "--order", "-id", "--limit", "2")
    try:
        first = json.loads(lines.next(HANG_TIMEOUT))
        assert [t["id"] for t in first["items"]] == [3, 2]
        netdb.ok("tasks", "add", "4", "t4")
        got = [json.loads(lines.next(WATCH_DEADLINE)) for _ in range(2)]
        assert sorted((c["change"], c["item"]["id"]) for c in got) == \
            [("added", 4), ("removed", 2)]
    finally:
        assert stop(proc) == 0


BURST_WRITER = """
import sys
import gi
gi.require_version("Net", "1.0")
from gi.repository import Net
db = Net.Db.new(sys.argv[1], Net.DbModels.TASKS)
tasks = db.get_tasks()
n = int(sys.argv[2])
for i in range(1, n + 1):
    tasks.create(i, "burst %d" % i, 0)
for i in range(1, n + 1, 2):
    tasks.complete(i, 0)
db.close()
"""


def have_net_typelib():
    r = subprocess.run(["/usr/bin/python3", "-c",
                        "import gi; gi.require_version('Net', '1.0')"],
                       capture_output=True, timeout=HANG_TIMEOUT)
    return r.returncode == 0


def test_watch_keeps_up_with_a_fast_writer(netdb, db):
    """A burst from one writer process: replaying the reported changes
    (positions included) on the first result gives the final result."""
    if not have_net_typelib():
        pytest.skip("the Net typelib is not on GI_TYPELIB_PATH")
    n = 5000
    last_seq = 1 + n + n // 2  # after the "before" task
    netdb.ok("tasks", "add", "1000000", "before")  # ids are >= 1
    proc, lines = start_watch(netdb, "--json", "tasks", "watch")
    try:
        rows = json.loads(lines.next(HANG_TIMEOUT))["items"]
        subprocess.run(["/usr/bin/python3", "-c", BURST_WRITER, db, str(n)],
                       env=netdb.env, check=True, timeout=HANG_TIMEOUT)
        expected = netdb.json("tasks", "list")
        seqs = []
        while rows != expected or seqs[-1] != last_seq:
            c = json.loads(lines.next(HANG_TIMEOUT))
            seqs.append(c["seq"])
            if c["change"] == "added":
                rows.insert(c["position"], c["item"])
            elif c["change"] == "removed":
                assert rows.pop(c["position"])["id"] == c["item"]["id"]
            else:
                assert rows[c["position"]]["id"] == c["item"]["id"]
                rows[c["position"]] = c["item"]
    finally:
        assert stop(proc) == 0
    assert seqs == sorted(seqs)
    assert lines.rest() == []


def test_memories_watch(netdb):
    netdb.ok("memories", "store", "1", "one", "--tag", "x")
    proc, lines = start_watch(netdb, "memories", "watch", "--tag", "x")
    try:
        assert lines.next(HANG_TIMEOUT).split()[:3] == ["ID", "PINNED", "TAGS"]
        assert table(lines.next(HANG_TIMEOUT))[0][:3] == ["1", "no", "x"]
        assert lines.next(HANG_TIMEOUT).startswith("-- seq 1: watching")

        netdb.ok("memories", "store", "2", "two", "--tag", "x", "--tag", "y")
        line = lines.next(WATCH_DEADLINE)
        assert line.startswith("+ seq 2  2  no  x,y  -  "), line
        assert line.endswith("  two"), line

        netdb.ok("memories", "pin", "1")
        line = lines.next(WATCH_DEADLINE)
        assert line.startswith("~ seq 3  1  yes  x  "), line

        netdb.ok("memories", "retag", "2", "--tag", "y")
        line = lines.next(WATCH_DEADLINE)
        assert line.startswith("- seq 4  2  no  y  "), line
    finally:
        assert stop(proc) == 0


def test_watch_stops_on_signal_without_changes(netdb):
    proc, lines = start_watch(netdb, "tasks", "watch")
    lines.until(lambda line: line.startswith("-- seq 0"), HANG_TIMEOUT)
    assert stop(proc, signal.SIGTERM) == 0


# --- log --------------------------------------------------------------------------


def test_log_verify_reports_a_flipped_byte(netdb, db):
    netdb.ok("log", "append", "demo", "aaaaaaaa", "bbbbbbbbbbbbbbbb", "cccccccc")
    out = netdb.ok("log", "verify")
    assert out == "demo: ok\n"

    segments = []
    for root, _, files in os.walk(db):
        segments += [os.path.join(root, f) for f in files if f.endswith(".seg")]
    assert len(segments) == 1, segments
    data = bytearray(open(segments[0], "rb").read())
    at = data.find(b"bbbbbbbbbbbbbbbb")
    assert at > 0
    data[at + 5] ^= 0x20
    with open(segments[0], "wb") as f:
        f.write(data)

    r = netdb.run("log", "verify", check=1)
    assert re.search(r"^demo: 0*1\.seg: record seq 2 at offset \d+ .*$",
                     r.stdout, re.M), r.stdout
    assert "netdb: 1 problem found in 1 log" in r.stderr

    r = netdb.run("--json", "log", "verify", "demo", check=1)
    report = json.loads(r.stdout)
    assert report["log"] == "demo" and report["ok"] is False
    assert len(report["problems"]) == 1 and "seq 2" in report["problems"][0]


def test_log_list_and_tail(netdb):
    netdb.ok("log", "append", "demo", "one", "two")
    assert netdb.ok("log", "append", "demo", stdin="three\nfour\n") == \
        "demo: appended seqs 3–4 (2 events)\n"
    listed = netdb.json("log", "list")
    assert {"name": "demo", "first_seq": 1, "next_seq": 5, "length": 4} in listed
    events = [json.loads(line) for line in
              netdb.run("--json", "log", "tail", "demo", "--from", "2",
                        check=0).stdout.splitlines()]
    assert [(e["seq"], e["payload"]) for e in events] == \
        [(2, "two"), (3, "three"), (4, "four")]
    netdb.fails(1, "log", "tail", "nope")

    # Plain payloads print as text, with their size.
    lines = netdb.ok("log", "tail", "demo").splitlines()
    assert re.fullmatch(r"1  \S+Z\s+3 B  one", lines[0]), lines[0]


def test_log_tail_shortens_long_events_but_json_keeps_them(netdb):
    """A 2 MB payload is one short line for a person; --json keeps it."""
    big = "é" * (1024 * 1024)
    netdb.ok("log", "append", "demo", stdin=big + "\n")
    line = netdb.ok("log", "tail", "demo").rstrip("\n")
    assert "\n" not in line
    assert len(line) < 400, len(line)
    assert line.endswith("more bytes; --json prints it whole)"), line[-80:]
    assert "é" * 200 + "…" in line
    events = [json.loads(text) for text in
              netdb.run("--json", "log", "tail", "demo", check=0).stdout.splitlines()]
    assert events[0]["payload"] == big
    assert events[0]["size"] == 2 * 1024 * 1024


def test_log_tail_decodes_model_events(netdb):
    netdb.ok("tasks", "add", "7", "Buy milk")
    netdb.ok("tasks", "complete", "7")
    lines = netdb.ok("log", "tail", "tasks").splitlines()
    assert re.search(r'  task\.created id=7 title="Buy milk" timestamp=\d+ '
                     r'\(origin [0-9a-f]{16}, app_seq 1\)$', lines[0]), lines[0]
    assert re.search(r"  task\.completed id=7 timestamp=\d+ ", lines[1]), lines[1]
    events = [json.loads(line) for line in
              netdb.run("--json", "log", "tail", "tasks", check=0).stdout.splitlines()]
    assert events[0]["summary"].startswith('task.created id=7 title="Buy milk"')
    assert events[0]["size"] > 24
