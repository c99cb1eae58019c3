# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A leader and a follower, two processes, converge on collections: the
# leader is a Python program (a Net.Record subclass through the plain GI
# API, a Net.Node serving its database), the follower is
# `netdb node follow`, which never opens a collection itself; what the
# follower's database holds is read with `netdb records list --json`, as
# any program without the record class would read it.  The second test
# has `netdb node serve` lead a database whose collections its process
# never opens.
#
#   NETDB_CLI=build/netdb-cli/netdb GI_TYPELIB_PATH=build/netdb \
#   LD_LIBRARY_PATH=build/netdb \
#   /usr/bin/python3 -m pytest tests/cli/test_node_collections_cli.py
#
# Nothing here measures time: every wait polls until a condition holds,
# bounded by a generous timeout that only turns a hang into a failure.

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

NETDB = os.environ.get("NETDB_CLI")
if not NETDB:
    pytest.skip("NETDB_CLI (the path of the built netdb) is not set",
                allow_module_level=True)

TIME_FACTOR = float(os.environ.get("NETDB_CLI_TIME_FACTOR",
                                   os.environ.get("NETDB_TEST_TIME_FACTOR", "1")))
HANG_TIMEOUT = 30 * TIME_FACTOR
CONVERGE_TIMEOUT = 120 * TIME_FACTOR

LISTENING = re.compile(r"listening on (\S+:(\d+)) as (\S+)")

# The leader: opens its database (no built-in model), writes the
# collection "notes" (with an ordered index) and "archive", serves the
# database to the follower's key, then takes commands on stdin, one JSON
# object a line, answering "ok" to each: "insert" more notes, "create" a
# collection while the follower follows.
LEADER = r'''
import json
import sys

import gi
gi.require_version("GLib", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, GObject, Net


class Note(Net.Record):
    __gtype_name__ = "ReplTestNote"
    title = GObject.Property(type=str)
    rank = GObject.Property(type=int, default=0)
    done = GObject.Property(type=bool, default=False)
    tags = GObject.Property(type=GObject.TYPE_STRV)


def note(i, title, rank, tags=()):
    n = Note()
    n.set_id(i)
    n.props.title = title
    n.props.rank = rank
    n.props.tags = list(tags)
    return n


def value(name, v):
    gv = GObject.Value(Note.find_property(name).value_type)
    gv.set_value(v)
    return gv


db = Net.Db.new(sys.argv[1], Net.DbModels.NONE)
notes = Net.Db.open_collection(db, "notes", Note.__gtype__)
notes.add_index("rank", Net.IndexFlags.ORDERED)
for i in range(1, 101):
    notes.insert(note(i, "note %d" % i, i % 13, ["t%d" % (i % 3)]))
for i in range(1, 101, 4):
    notes.update(i, ["title", "done"], [value("title", "renamed %d" % i),
                                        value("done", True)])
for i in range(3, 101, 9):
    notes.delete(i)
archive = Net.Db.open_collection(db, "archive", Note.__gtype__)
for i in range(1, 6):
    archive.insert(note(i, "old %d" % i, -i))

identity = Net.Identity.generate()
node = Net.Node.new(identity, "127.0.0.1:0")
node.add_peer(sys.argv[2], None)
node.serve_db(db)
node.start()
print("listening on %s as %s" % (node.props.local_address,
                                  identity.get_public_key()), flush=True)

loop = GLib.MainLoop()


def on_stdin(channel, condition):
    line = channel.readline()
    if not line:
        loop.quit()
        return GLib.SOURCE_REMOVE
    cmd = json.loads(line)
    if cmd["op"] == "insert":
        coll = Net.Db.open_collection(db, cmd["collection"], Note.__gtype__)
        for i in range(cmd["from"], cmd["to"]):
            coll.insert(note(i, "live %d" % i, i % 7))
    print("ok", flush=True)
    return GLib.SOURCE_CONTINUE


channel = GLib.IOChannel.unix_new(sys.stdin.fileno())
GLib.io_add_watch(channel, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                  on_stdin)
loop.run()
node.stop()
db.close()
'''


# Writes the same collections as LEADER, then exits: for a leader process
# (`netdb node serve`) that never opens them.
WRITER = LEADER.split("identity = Net.Identity.generate()")[0] + "db.close()\n"


def have_net_typelib():
    r = subprocess.run([sys.executable, "-c",
                        "import gi; gi.require_version('Net', '1.0')"],
                       capture_output=True, timeout=HANG_TIMEOUT)
    return r.returncode == 0


if not have_net_typelib():
    pytest.skip("the Net typelib is not on GI_TYPELIB_PATH",
                allow_module_level=True)


# --- helpers --------------------------------------------------------------------


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    e["LC_ALL"] = "C.UTF-8"
    e["TZ"] = "UTC"
    e.pop("G_DEBUG", None)
    return e


class Lines:
    """A stream of a running process, line by line, with timeouts."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, args=(stream,),
                                       daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def next(self, timeout=HANG_TIMEOUT):
        try:
            line = self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output within {timeout} s")
        assert line is not None, "the process ended its output"
        return line


class Process:
    """A running process whose stdout (and stderr) we read by lines."""

    def __init__(self, argv, env, stdin=subprocess.DEVNULL):
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=env, stdin=stdin,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     bufsize=1)
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)

    def listening(self):
        first = self.out.next()
        m = LISTENING.fullmatch(first)
        assert m, first
        return m.group(1), m.group(3)

    def alive(self):
        assert self.proc.poll() is None, (self.argv, self.proc.returncode)

    def send(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        assert self.out.next() == "ok"

    def stop(self):
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            else:
                self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(HANG_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{self.argv} did not exit")


def netdb(env, *args):
    r = subprocess.run([NETDB] + list(args), env=env, capture_output=True,
                       text=True, stdin=subprocess.DEVNULL,
                       timeout=HANG_TIMEOUT)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def records(env, db, name):
    """Every record of collection @name, as `netdb records list` prints
    them, or None while the database has no such collection."""
    r = subprocess.run([NETDB, "--db", db, "--json", "records", "list", name],
                       env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=HANG_TIMEOUT)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def wait_converged(env, a, b, name, alive):
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        for p in alive:
            p.alive()
        ra, rb = records(env, a, name), records(env, b, name)
        if ra is not None and ra == rb:
            return ra
        if time.monotonic() > deadline:
            pytest.fail(f"{name}: the follower did not converge: "
                        f"{None if ra is None else len(ra)} records on the leader, "
                        f"{None if rb is None else len(rb)} on the follower")
        time.sleep(0.1)


# --- tests ----------------------------------------------------------------------


def test_leader_and_follower_processes_converge_on_collections(env, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    id_b = str(tmp_path / "id-b")
    key_b = netdb(env, "node", "keygen", "--identity", id_b).strip()

    leader = Process([sys.executable, "-c", LEADER, a, key_b], env,
                     stdin=subprocess.PIPE)
    follower = None
    try:
        address, key_a = leader.listening()
        follower = Process([NETDB, "--db", b, "node", "follow", "--identity", id_b,
                            "--listen", "127.0.0.1:0", address, key_a], env)
        follower.listening()

        # What the leader wrote before: inserts, updates, deletes, and a
        # collection only its directory... all the follower's now.
        notes = wait_converged(env, a, b, "notes", (leader, follower))
        assert len(notes) == 100 - len(range(3, 101, 9))
        by_id = {r["id"]: r for r in notes}
        assert by_id[5]["title"] == "renamed 5" and by_id[5]["done"] is True
        assert 3 not in by_id and 12 not in by_id
        assert by_id[2]["tags"] == ["t2"]
        archive = wait_converged(env, a, b, "archive", (leader, follower))
        assert [r["title"] for r in archive] == ["old %d" % i for i in range(1, 6)]

        # Live: more records, and a collection created while it follows.
        leader.send(op="insert", collection="notes", **{"from": 1000, "to": 1050})
        leader.send(op="insert", collection="late", **{"from": 1, "to": 11})
        notes = wait_converged(env, a, b, "notes", (leader, follower))
        assert len([r for r in notes if r["id"] >= 1000]) == 50
        late = wait_converged(env, a, b, "late", (leader, follower))
        assert [r["id"] for r in late] == list(range(1, 11))

        # The follower's database lists them, with their fields, although
        # no process there ever opened them with the class.
        listed = json.loads(netdb(env, "--db", b, "--json", "collections"))
        names = sorted(c["name"] for c in listed)
        assert names == ["archive", "late", "notes"], listed
    finally:
        if follower is not None:
            follower.stop()
        assert leader.stop() == 0


def test_netdb_node_serve_replicates_collections_it_never_opens(env, tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    id_a, id_b = str(tmp_path / "id-a"), str(tmp_path / "id-b")
    key_a = netdb(env, "node", "keygen", "--identity", id_a).strip()
    key_b = netdb(env, "node", "keygen", "--identity", id_b).strip()
    r = subprocess.run([sys.executable, "-c", WRITER, a, key_b], env=env,
                       capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert r.returncode == 0, r.stderr

    leader = Process([NETDB, "--db", a, "node", "serve", "--identity", id_a,
                      "--listen", "127.0.0.1:0", "--allow", key_b], env)
    follower = None
    try:
        address, key = leader.listening()
        assert key == key_a
        follower = Process([NETDB, "--db", b, "node", "follow", "--identity", id_b,
                            "--listen", "127.0.0.1:0", address, key_a], env)
        follower.listening()
        notes = wait_converged(env, a, b, "notes", (leader, follower))
        assert len(notes) == 100 - len(range(3, 101, 9))
        archive = wait_converged(env, a, b, "archive", (leader, follower))
        assert len(archive) == 5
    finally:
        if follower is not None:
            follower.stop()
        leader.stop()
