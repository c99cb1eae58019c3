# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `netdb node`: identity files, and replication between `netdb node serve`
# and `netdb node follow` running as separate processes on 127.0.0.1,
# checked only through the command line (and tests/cli/cli-helper.c for a
# large leader database and a follower that forwards writes).
#
#   NETDB_CLI=build/netdb-cli/netdb \
#   NETDB_CLI_HELPER=build/tests/cli/netdb-cli-helper \
#   /usr/bin/python3 -m pytest tests/cli/test_node_cli.py
#
# Nothing here measures time: every wait polls until a condition holds,
# bounded by a generous timeout that only turns a hang into a failure.

import fcntl
import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

NETDB = os.environ.get("NETDB_CLI")
HELPER = os.environ.get("NETDB_CLI_HELPER")
if not NETDB:
    pytest.skip("NETDB_CLI (the path of the built netdb) is not set",
                allow_module_level=True)

# tools/sanitize-tests sets NETDB_TEST_TIME_FACTOR for slower builds.
TIME_FACTOR = float(os.environ.get("NETDB_CLI_TIME_FACTOR",
                                   os.environ.get("NETDB_TEST_TIME_FACTOR", "1")))
# Bounds a single command or a wait that should be short.
HANG_TIMEOUT = 30 * TIME_FACTOR
# Bounds a replication that should converge (100 000 events included).
CONVERGE_TIMEOUT = 300 * TIME_FACTOR

LISTENING = re.compile(r"listening on (\S+:(\d+)) as (\S+)")
KEY = re.compile(r"[A-Za-z0-9+/]{43}=")


# --- helpers --------------------------------------------------------------------


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "xdg-config")
    e["LC_ALL"] = "C.UTF-8"
    e.pop("G_DEBUG", None)
    return e


def run(env, *args, check=None, timeout=HANG_TIMEOUT):
    argv = [NETDB] + list(args)
    r = subprocess.run(argv, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    if check is not None:
        assert r.returncode == check, (argv, r.returncode, r.stdout, r.stderr)
    return r


def ok(env, *args, timeout=HANG_TIMEOUT):
    return run(env, *args, check=0, timeout=timeout).stdout


def fails(env, status, *args):
    r = run(env, *args, check=status)
    assert r.stderr.startswith("netdb: "), r.stderr
    assert r.stdout == "", r.stdout
    return r.stderr


def jsonof(env, *args, timeout=HANG_TIMEOUT):
    return json.loads(ok(env, "--json", *args, timeout=timeout))


def keygen(env, path):
    key = ok(env, "node", "keygen", "--identity", str(path)).strip()
    assert KEY.fullmatch(key), key
    return key


def helper(env, *args, timeout=CONVERGE_TIMEOUT):
    if not HELPER:
        pytest.skip("NETDB_CLI_HELPER is not set")
    r = subprocess.run([HELPER] + [str(a) for a in args], env=env,
                       capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


class Lines:
    """A stream of a running process, line by line, with timeouts."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.seen = []
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
            pytest.fail(f"no output within {timeout} s; saw {self.seen}")
        assert line is not None, f"the process ended its output; saw {self.seen}"
        self.seen.append(line)
        return line

    def until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"nothing matched within {timeout} s; saw {self.seen}")
            line = self.next(left)
            if predicate(line):
                return line

    def rest(self):
        self.thread.join(HANG_TIMEOUT)
        while True:
            line = self.queue.get_nowait()
            if line is None:
                return self.seen
            self.seen.append(line)


class Node:
    """A running `netdb node serve|follow`."""

    def __init__(self, env, *args):
        self.argv = [NETDB] + list(args)
        self.proc = subprocess.Popen(self.argv, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)
        self.first = None

    def listening(self):
        """The address and key of the first line."""
        try:
            self.first = self.out.next(HANG_TIMEOUT)
        except BaseException:
            self.kill()
            raise
        m = LISTENING.fullmatch(self.first)
        assert m, (self.first, self.err.rest())
        return m.group(1), m.group(3)

    def alive(self):
        assert self.proc.poll() is None, \
            (self.argv, self.proc.returncode, self.out.rest(), self.err.rest())

    def stop(self, sig=signal.SIGTERM):
        """Stops it with @sig; returns (status, stdout lines, stderr lines)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            status = self.proc.wait(HANG_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"{self.argv} did not exit after signal {sig}")
        return status, self.out.rest(), self.err.rest()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(HANG_TIMEOUT)


@pytest.fixture
def nodes():
    """Every node started by a test is killed at its end."""
    started = []

    def start(env, *args):
        node = Node(env, *args)
        started.append(node)
        return node

    yield start
    for node in started:
        node.kill()


def wait_until(what, probe, timeout=CONVERGE_TIMEOUT, alive=()):
    """Polls @probe () → (done, state) until done; fails with the last state."""
    deadline = time.monotonic() + timeout
    while True:
        for node in alive:
            node.alive()
        done, state = probe()
        if done:
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s; last: {state}")
        time.sleep(0.1)


def tasks_of(env, db, timeout=HANG_TIMEOUT):
    return jsonof(env, "--db", db, "tasks", "list", timeout=timeout)


def memories_of(env, db):
    return jsonof(env, "--db", db, "memories", "list")


def count_of(env, db):
    return jsonof(env, "--db", db, "tasks", "count")["count"]


def count_reaches(env, db, done):
    """A probe: whether done (count) holds for the tasks of @db."""
    def probe():
        count = count_of(env, db)
        return done(count), count
    return probe


def log_tails(env, db):
    return {log["name"]: log["next_seq"]
            for log in jsonof(env, "--db", db, "log", "list")}


def converged(env, a, b):
    def probe():
        ta, tb = tasks_of(env, a), tasks_of(env, b)
        return ta == tb, (len(ta), len(tb))
    return probe


def counters_of(lines):
    """The counters printed as text: NAME VALUE lines."""
    counters = {}
    for line in lines:
        m = re.fullmatch(r"(\S+)\s+(\d+)", line)
        if m:
            counters[m.group(1)] = int(m.group(2))
    return counters


# --- help and usage ---------------------------------------------------------------


@pytest.mark.parametrize("path", [["node"], ["node", "keygen"], ["node", "id"],
                                  ["node", "serve"], ["node", "follow"]],
                         ids=" ".join)
def test_help(env, path):
    out = ok(env, *path, "--help")
    assert out.startswith("Usage:")
    if len(path) > 1:
        assert "--identity" in out and "XDG_CONFIG_HOME" in out


def test_help_lists_node(env):
    out = ok(env, "--help")
    assert re.search(r"^\s+node\s+\S", out, re.M), out
    out = ok(env, "node", "--help")
    for command in ("keygen", "id", "serve", "follow"):
        assert re.search(rf"^\s+{command}\s+\S", out, re.M), out


@pytest.mark.parametrize("args", [
    ["node"],
    ["node", "bogus"],
    ["node", "keygen", "--bogus"],
    ["node", "keygen", "extra"],
    ["node", "id", "extra"],
    ["node", "serve", "extra"],
    ["node", "serve", "--listen"],
    ["node", "follow"],
    ["node", "follow", "127.0.0.1:7420"],
    ["node", "follow", "127.0.0.1:7420", "KEY", "extra"],
    ["--memory", "node", "follow", "127.0.0.1:7420",
     "A" * 43 + "="],
], ids=" ".join)
def test_usage_errors_exit_2(env, args):
    r = run(env, *args, check=2)
    assert r.stderr.startswith("netdb: "), r.stderr
    assert "--help" in r.stderr


# --- identity ---------------------------------------------------------------------


def test_keygen_and_id(env, tmp_path):
    path = tmp_path / "keys" / "a"
    key = keygen(env, path)
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert ok(env, "node", "id", "--identity", str(path)) == key + "\n"

    info = jsonof(env, "node", "id", "--identity", str(path))
    assert info["public_key"] == key
    assert re.fullmatch(r"[0-9a-f]{16}", info["origin"]), info
    assert info["path"] == str(path)
    # keygen --json says the same.
    other = tmp_path / "keys" / "b"
    made = jsonof(env, "node", "keygen", "--identity", str(other))
    assert made == jsonof(env, "node", "id", "--identity", str(other))
    assert made["public_key"] != key and made["origin"] != info["origin"]


def test_keygen_refuses_to_overwrite(env, tmp_path):
    path = tmp_path / "identity"
    key = keygen(env, path)
    before = path.read_bytes()
    err = fails(env, 1, "node", "keygen", "--identity", str(path))
    assert str(path) in err and "--force" in err, err
    assert path.read_bytes() == before

    new = ok(env, "node", "keygen", "--identity", str(path), "--force").strip()
    assert KEY.fullmatch(new) and new != key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ok(env, "node", "id", "--identity", str(path)).strip() == new
    # Nothing is left next to it.
    assert os.listdir(tmp_path) == ["identity"]


def test_default_identity_in_xdg_config_home(env, tmp_path):
    key = ok(env, "node", "keygen").strip()
    path = tmp_path / "xdg-config" / "netdb" / "identity"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert ok(env, "node", "id").strip() == key


def test_missing_identity(env, tmp_path):
    err = fails(env, 1, "node", "id")
    assert "netdb node keygen" in err, err
    err = fails(env, 1, "--memory", "node", "serve", "--listen", "127.0.0.1:0")
    assert "netdb node keygen" in err, err


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_a_key_file_others_can_read(env, tmp_path, mode):
    path = tmp_path / "identity"
    keygen(env, path)
    os.chmod(path, mode)
    err = fails(env, 1, "node", "id", "--identity", str(path))
    assert str(path) in err and "chmod 600" in err, err
    err = fails(env, 1, "--memory", "node", "serve", "--identity", str(path),
                "--listen", "127.0.0.1:0")
    assert "chmod 600" in err, err


def test_refuses_a_damaged_key_file(env, tmp_path):
    path = tmp_path / "identity"
    keygen(env, path)
    data = bytearray(path.read_bytes())
    data[30] ^= 1
    path.write_bytes(bytes(data))
    fails(env, 1, "node", "id", "--identity", str(path))


@pytest.mark.parametrize("bad", ["not-a-key", "A" * 44, "", "Zm9v"])
def test_bad_public_keys_exit_1(env, tmp_path, bad):
    path = tmp_path / "identity"
    keygen(env, path)
    err = fails(env, 1, "--memory", "node", "serve", "--identity", str(path),
                "--listen", "127.0.0.1:0", "--allow", bad)
    assert "--allow" in err, err
    fails(env, 1, "--db", str(tmp_path / "db"), "node", "follow",
          "--identity", str(path), "127.0.0.1:7420", bad)


def test_bad_listen_address_exits_1(env, tmp_path):
    path = tmp_path / "identity"
    keygen(env, path)
    fails(env, 1, "--memory", "node", "serve", "--identity", str(path),
          "--listen", "not an address")


# --- serve ------------------------------------------------------------------------


def test_serve_prints_where_and_stops_on_signals(env, tmp_path, nodes):
    path = tmp_path / "identity"
    key = keygen(env, path)
    db = str(tmp_path / "db")
    ok(env, "--db", db, "tasks", "add", "1", "served")
    node = nodes(env, "--db", db, "node", "serve", "--identity", str(path),
                 "--listen", "127.0.0.1:0", "--allow", keygen(env, tmp_path / "b"))
    address, served_key = node.listening()
    assert served_key == key
    assert int(address.split(":")[1]) != 0

    # Reading commands work next to it; writing ones go through it.
    assert jsonof(env, "--db", db, "tasks", "get", "1")["title"] == "served"
    assert ok(env, "--db", db, "tasks", "add", "2", "through the node") == \
        "task 2 added (seq 2)\n"

    node.proc.send_signal(signal.SIGUSR1)
    line = node.out.next(HANG_TIMEOUT)
    assert re.fullmatch(r"\S+\s+\d+", line), line

    status, out, err = node.stop(signal.SIGINT)
    assert status == 0, (out, err)
    assert counters_of(out[1:]), out
    assert not any(line.startswith("netdb: ") and "peer" not in line
                   for line in err), err

    # The lock is released: the database can be written directly again.
    assert ok(env, "--db", db, "tasks", "add", "3", "after") == "task 3 added (seq 3)\n"


def test_serve_json(env, tmp_path, nodes):
    path = tmp_path / "identity"
    key = keygen(env, path)
    node = nodes(env, "--json", "--memory", "node", "serve", "--identity",
                 str(path), "--listen", "127.0.0.1:0")
    first = json.loads(node.out.next(HANG_TIMEOUT))
    assert first["public_key"] == key
    assert re.fullmatch(r"127\.0\.0\.1:\d+", first["listening"]), first

    node.proc.send_signal(signal.SIGUSR1)
    counters = json.loads(node.out.next(HANG_TIMEOUT))["counters"]
    assert counters and all(isinstance(v, int) for v in counters.values())

    status, out, err = node.stop()
    assert status == 0, (out, err)
    assert "counters" in json.loads(out[-1])
    # Without --allow nobody can connect; it says so.
    assert any("--allow" in line for line in err), err


def test_follow_refuses_a_locked_database(env, tmp_path, nodes):
    path = tmp_path / "identity"
    keygen(env, path)
    other = tmp_path / "other"
    keygen(env, other)
    db = str(tmp_path / "db")
    leader = nodes(env, "--db", db, "node", "serve", "--identity", str(path),
                   "--listen", "127.0.0.1:0")
    address, key = leader.listening()
    err = fails(env, 1, "--db", db, "node", "follow", "--identity", str(other),
                "--listen", "127.0.0.1:0", address, key)
    assert "locked" in err, err
    assert leader.stop()[0] == 0


# --- replication ------------------------------------------------------------------


@pytest.fixture
def pair(env, tmp_path):
    """Identities of a leader (a) and a follower (b), and their db paths."""
    class Pair:
        pass
    p = Pair()
    p.id_a, p.id_b = str(tmp_path / "id-a"), str(tmp_path / "id-b")
    p.key_a, p.key_b = keygen(env, p.id_a), keygen(env, p.id_b)
    p.a, p.b = str(tmp_path / "a"), str(tmp_path / "b")
    return p


def serve(nodes, env, p, *extra, listen="127.0.0.1:0", writer=False):
    """The leader admits b: as a writer when it is to forward writes."""
    node = nodes(env, "--db", p.a, "node", "serve", "--identity", p.id_a,
                 "--listen", listen,
                 "--allow-writer" if writer else "--allow", p.key_b, *extra)
    address, key = node.listening()
    assert key == p.key_a
    return node, address


def follow(nodes, env, p, address, *extra, listen=("--listen", "127.0.0.1:0")):
    node = nodes(env, "--db", p.b, "node", "follow", "--identity", p.id_b,
                 *listen, address, p.key_a, *extra)
    _, key = node.listening()
    assert key == p.key_b
    return node


def test_follower_replicates_and_watch_follows_it(env, pair, nodes):
    p = pair
    for i in range(1, 21):
        ok(env, "--db", p.a, "tasks", "add", str(i), f"task {i}")
    ok(env, "--db", p.a, "tasks", "complete", "3")
    ok(env, "--db", p.a, "tasks", "delete", "4")
    ok(env, "--db", p.a, "memories", "store", "1", "a memory", "--tag", "x")
    ok(env, "--db", p.a, "memories", "pin", "1")

    leader, address = serve(nodes, env, p)
    follower = follow(nodes, env, p, address)

    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert memories_of(env, p.b) == memories_of(env, p.a)
    assert log_tails(env, p.b) == log_tails(env, p.a)
    leader.err.until(lambda l: l == f"netdb: peer up: {p.key_b}", HANG_TIMEOUT)
    follower.err.until(lambda l: l == f"netdb: peer up: {p.key_a}", HANG_TIMEOUT)

    # The follower's database is locked for writing while it runs; a
    # mutation sent to the node is refused, as it does not forward.
    err = fails(env, 1, "--db", p.b, "tasks", "add", "99", "local")
    assert "follows a leader" in err, err

    # `tasks watch` on the follower shows what is replicated to it.
    watch = nodes(env, "--db", p.b, "--json", "tasks", "watch")
    first = json.loads(watch.out.next(HANG_TIMEOUT))
    assert first["items"] == tasks_of(env, p.a)

    # New leader events, written while the node runs, by a second follower
    # in another process that forwards writes through the library.
    id_c = str(os.path.join(os.path.dirname(p.a), "id-c"))
    key_c = keygen(env, id_c)
    leader.stop()
    leader, _ = serve(nodes, env, p, "--allow-writer", key_c,
                      listen=address)
    helper(env, "forward", os.path.join(os.path.dirname(p.a), "c"), id_c,
           address, p.key_a, 1001, 25)

    added = set()
    while added != set(range(1001, 1026)):
        change = json.loads(watch.out.next(CONVERGE_TIMEOUT))
        assert change["change"] == "added", change
        added.add(change["item"]["id"])
        assert change["item"]["title"] == f"forwarded {change['item']['id']}"
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert count_of(env, p.a) == 19 + 25
    assert watch.stop()[0] == 0

    status, out, err = follower.stop()
    assert status == 0, (out, err)
    counters = counters_of(out[1:])
    assert counters and any(v > 0 for v in counters.values()), out
    assert tasks_of(env, p.b) == tasks_of(env, p.a)
    assert leader.stop()[0] == 0


def test_follow_json(env, pair, nodes):
    p = pair
    ok(env, "--db", p.a, "tasks", "add", "1", "one")
    leader, address = serve(nodes, env, p)
    follower = nodes(env, "--json", "--db", p.b, "node", "follow",
                     "--identity", p.id_b, "--listen", "127.0.0.1:0",
                     address, p.key_a, "--forward-writes")
    first = json.loads(follower.out.next(HANG_TIMEOUT))
    assert first["public_key"] == p.key_b
    assert first["leader"] == p.key_a and first["leader_address"] == address
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    status, out, err = follower.stop()
    assert status == 0, (out, err)
    counters = json.loads(out[-1])["counters"]
    assert any(v > 0 for v in counters.values()), counters
    assert leader.stop()[0] == 0


def test_kill_and_restart_during_catch_up(env, pair, nodes):
    """A follower killed with SIGKILL while it catches up on 100 000 events
    resumes and converges; so it does when the leader is killed and
    restarted.  A watch on the follower's database sees it all."""
    p = pair
    n = 100_000
    assert int(helper(env, "fill", p.a, 1, n)) == n
    watch = nodes(env, "--db", p.b, "--json", "tasks", "watch")
    rows = json.loads(watch.out.next(HANG_TIMEOUT))["items"]
    leader, address = serve(nodes, env, p)

    follower = follow(nodes, env, p, address)
    got = wait_until("the follower starts catching up",
                     count_reaches(env, p.b, lambda c: c > 0),
                     alive=(leader, follower))
    follower.kill()
    # What it had is intact, whatever the kill interrupted.
    after_kill = count_of(env, p.b)
    assert got <= after_kill <= n
    print(f"killed the follower at {after_kill} of {n} tasks")

    follower = follow(nodes, env, p, address)
    wait_until("the follower catches up after its restart",
               count_reaches(env, p.b, lambda c: c == n),
               alive=(leader, follower))

    # The leader dies; events are added while it is down; it comes back on
    # the same address, and the running follower resumes.
    leader.kill()
    for i in range(n + 1, n + 6):
        ok(env, "--db", p.a, "tasks", "add", str(i), f"after {i}")
    ok(env, "--db", p.a, "tasks", "delete", "1")
    leader, _ = serve(nodes, env, p, listen=address)
    wait_until("the follower resumes after the leader's restart",
               count_reaches(env, p.b, lambda c: c == n + 4),
               alive=(leader, follower))

    # Listing 100 000 tasks is no short command: a minute and more of CPU
    # under AddressSanitizer (which unwinds the stack on every malloc).
    expected = tasks_of(env, p.a, timeout=CONVERGE_TIMEOUT)
    while rows != expected:
        replay(rows, json.loads(watch.out.next(CONVERGE_TIMEOUT)))
    assert watch.stop()[0] == 0

    assert follower.stop()[0] == 0
    assert leader.stop()[0] == 0
    assert log_tails(env, p.b) == log_tails(env, p.a)
    assert tasks_of(env, p.b, timeout=CONVERGE_TIMEOUT) == expected
    ok(env, "--db", p.b, "log", "verify")


def replay(rows, change):
    """Applies one `watch --json` change line to @rows."""
    if change["change"] == "added":
        rows.insert(change["position"], change["item"])
    elif change["change"] == "removed":
        assert rows.pop(change["position"])["id"] == change["item"]["id"]
    else:
        assert rows[change["position"]]["id"] == change["item"]["id"]
        rows[change["position"]] = change["item"]


def test_watch_started_before_the_follower(env, pair, nodes):
    """A watch on a database that does not exist yet follows everything
    a follower started later replicates into it."""
    p = pair
    assert int(helper(env, "fill", p.a, 1, 3000)) == 3000
    ok(env, "--db", p.a, "tasks", "complete", "7")
    ok(env, "--db", p.a, "tasks", "delete", "8")
    watch = nodes(env, "--db", p.b, "--json", "tasks", "watch")
    rows = json.loads(watch.out.next(HANG_TIMEOUT))["items"]
    assert rows == []

    leader, address = serve(nodes, env, p)
    follower = follow(nodes, env, p, address)
    expected = tasks_of(env, p.a)
    while rows != expected:
        replay(rows, json.loads(watch.out.next(CONVERGE_TIMEOUT)))
    assert watch.stop()[0] == 0
    assert follower.stop()[0] == 0
    assert leader.stop()[0] == 0


def restored_leader(env, p, tmp_path, n):
    """Makes p.a a database restored from a snapshot of one with @n tasks:
    its logs start after them, so a new follower needs the snapshot."""
    origin = str(tmp_path / "origin")
    helper(env, "fill", origin, 1, n)
    ok(env, "--db", origin, "memories", "store", "1", "kept", "--tag", "t")
    ok(env, "--db", origin, "snapshot", "save", str(tmp_path / "snap"))
    ok(env, "--db", p.a, "snapshot", "restore", str(tmp_path / "snap"))
    ok(env, "--db", p.a, "tasks", "add", str(n + 1), "after the restore")
    first = {log["name"]: log["first_seq"]
             for log in jsonof(env, "--db", p.a, "log", "list")}
    assert first["tasks"] > 1, first


def test_follower_bootstraps_from_a_snapshot(env, pair, nodes, tmp_path):
    p = pair
    restored_leader(env, p, tmp_path, 500)
    leader, address = serve(nodes, env, p)
    follower = nodes(env, "--json", "--db", p.b, "node", "follow",
                     "--identity", p.id_b, "--listen", "127.0.0.1:0",
                     address, p.key_a)
    follower.out.next(HANG_TIMEOUT)
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert count_of(env, p.b) == 501
    assert memories_of(env, p.b) == memories_of(env, p.a)

    status, out, err = follower.stop()
    assert status == 0, (out, err)
    counters = json.loads(out[-1])["counters"]
    assert any("snapshot" in name and value > 0
               for name, value in counters.items()), counters
    # Both restart, with a new event: the follower goes on from its own
    # seq, and needs no new snapshot.
    assert leader.stop()[0] == 0
    ok(env, "--db", p.a, "tasks", "add", "9999", "while both were down")
    leader, _ = serve(nodes, env, p, listen=address)
    follower = nodes(env, "--json", "--db", p.b, "node", "follow",
                     "--identity", p.id_b, "--listen", "127.0.0.1:0",
                     address, p.key_a)
    follower.out.next(HANG_TIMEOUT)
    wait_until("the follower converges again", converged(env, p.a, p.b),
               alive=(leader, follower))
    status, out, err = follower.stop()
    assert status == 0, (out, err)
    counters = json.loads(out[-1])["counters"]
    assert not any("snapshots-restored" in name and value > 0
                   for name, value in counters.items()), counters
    assert leader.stop()[0] == 0
    ok(env, "--db", p.b, "log", "verify")


def test_watch_across_a_snapshot_bootstrap(env, pair, nodes, tmp_path):
    p = pair
    restored_leader(env, p, tmp_path, 200)
    watch = nodes(env, "--db", p.b, "--json", "tasks", "watch")
    rows = json.loads(watch.out.next(HANG_TIMEOUT))["items"]
    leader, address = serve(nodes, env, p)
    follower = follow(nodes, env, p, address)
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    expected = tasks_of(env, p.a)
    while rows != expected:
        replay(rows, json.loads(watch.out.next(HANG_TIMEOUT)))


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_follow_over_ipv6(env, pair, nodes):
    if not have_ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    p = pair
    ok(env, "--db", p.a, "tasks", "add", "1", "over IPv6")
    leader, address = serve(nodes, env, p, listen="[::1]:0")
    assert address.startswith("[::1]:"), address
    # Without --listen the follower picks an IPv6 socket for an IPv6 leader.
    follower = follow(nodes, env, p, address, listen=())
    assert follower.first.startswith("listening on [::]:"), follower.first
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert follower.stop()[0] == 0
    assert leader.stop()[0] == 0


def test_follower_not_allowed_by_the_leader(env, pair, nodes):
    """The leader drops a follower it does not allow, and counts it; the
    follower, never answered, says what to check."""
    p = pair
    stranger = keygen(env, os.path.join(os.path.dirname(p.a), "id-s"))
    leader = nodes(env, "--json", "--db", p.a, "node", "serve",
                   "--identity", p.id_a, "--listen", "127.0.0.1:0",
                   "--allow", stranger)
    address = json.loads(leader.out.next(HANG_TIMEOUT))["listening"]
    follower = follow(nodes, env, p, address)
    # The leader says whom it refused and how to admit it (issue 14, 10).
    line = leader.err.until(lambda l: "refused a handshake" in l, HANG_TIMEOUT)
    assert line.startswith(f"netdb: refused a handshake from {p.key_b} at 127.0.0.1:"), line
    assert f"--allow {p.key_b}" in line and "SIGHUP" in line, line
    # The hint comes after 10 s.
    line = follower.err.until(lambda l: "not answering" in l,
                              max(HANG_TIMEOUT, 60))
    assert line.startswith("netdb: the leader at ") and address in line, line
    assert "not answering this node's handshake" in line, line
    assert f"--allow {p.key_b}" in line, line

    status, out, err = leader.stop()
    assert status == 0, (out, err)
    assert json.loads(out[-1])["counters"]["dropped-unknown-peer"] > 0
    assert not any("peer up" in l for l in err), err
    # Once a minute per key, not once per attempt.
    assert len([l for l in err if "refused a handshake" in l]) == 1, err
    status, out, err = follower.stop()
    assert status == 0, (out, err)
    assert count_of(env, p.b) == 0


def test_allow_file_is_reread_on_sighup(env, pair, nodes, tmp_path):
    """`serve --allow-file` admits the peers it lists with their roles and
    re-reads it on SIGHUP: a follower refused at first comes up without a
    restart; as a reader its forwarded writes are refused, as a writer
    they land (issue 14, item 10; issue 12, finding 2)."""
    p = pair
    allow = tmp_path / "allow"
    allow.write_text("# nobody yet\n")
    ok(env, "--db", p.a, "tasks", "add", "1", "on the leader")
    leader = nodes(env, "--db", p.a, "node", "serve", "--identity", p.id_a,
                   "--listen", "127.0.0.1:0", "--allow-file", str(allow))
    address, _ = leader.listening()
    follower = follow(nodes, env, p, address, "--forward-writes")
    leader.err.until(lambda l: f"refused a handshake from {p.key_b}" in l, HANG_TIMEOUT)

    # A reader: it follows, but what it forwards is refused.
    allow.write_text(f"# followers\nreader {p.key_b}\n")
    leader.proc.send_signal(signal.SIGHUP)
    line = leader.err.until(lambda l: "allow list" in l, HANG_TIMEOUT)
    assert line == f"netdb: allow list reloaded from {allow}: 1 readers, 0 writers", line
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    ok(env, "--db", p.b, "tasks", "add", "2", "from a reader")
    line = follower.err.until(lambda l: "forward failed" in l, HANG_TIMEOUT)
    assert "reader" in line and "--allow-writer" in line, line
    assert count_of(env, p.a) == 1

    # A malformed file keeps the list as it was.
    allow.write_text("writer not-a-key\n")
    leader.proc.send_signal(signal.SIGHUP)
    line = leader.err.until(lambda l: "allow list" in l, HANG_TIMEOUT)
    assert line.startswith("netdb: allow list not reloaded"), line
    assert f"{allow}:1:" in line, line

    # A writer: its forwards land.
    allow.write_text(f"writer   {p.key_b}  \n")
    leader.proc.send_signal(signal.SIGHUP)
    line = leader.err.until(lambda l: "allow list" in l, HANG_TIMEOUT)
    assert line.endswith(": 0 readers, 1 writers"), line
    ok(env, "--db", p.b, "tasks", "add", "3", "from a writer")
    wait_until("the forward reaches the leader",
               lambda: (count_of(env, p.a) == 2, count_of(env, p.a)),
               alive=(leader, follower))
    assert [t["id"] for t in tasks_of(env, p.a)] == [1, 3]

    # Out of the file: it is dropped.
    allow.write_text("")
    leader.proc.send_signal(signal.SIGHUP)
    leader.err.until(lambda l: f"peer down: {p.key_b}" in l, HANG_TIMEOUT)
    assert follower.stop()[0] == 0
    assert leader.stop()[0] == 0


def test_follow_exits_1_when_the_logs_diverged(env, pair, nodes):
    """A follower whose database holds events its leader never wrote stops
    with `netdb: …` and exit status 1 instead of mixing two histories."""
    p = pair
    for i in range(1, 4):
        ok(env, "--db", p.a, "tasks", "add", str(i), f"leader {i}")
    for i in range(1, 6):
        ok(env, "--db", p.b, "tasks", "add", str(i), f"follower {i}")

    leader, address = serve(nodes, env, p)
    follower = follow(nodes, env, p, address)
    try:
        status = follower.proc.wait(CONVERGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the follower kept running after its log diverged")
    _, out, err = follower.stop()
    assert status == 1, (out, err)
    failed = [l for l in err if "diverged" in l]
    assert failed and failed[0].startswith("netdb: "), err
    assert "tasks" in failed[0] and "seq" in failed[0], failed
    # Nothing of the leader's was mixed in.
    assert [t["title"] for t in tasks_of(env, p.b)] == \
        [f"follower {i}" for i in range(1, 6)]
    assert leader.stop()[0] == 0


def test_commands_write_through_a_running_node(env, pair, nodes):
    """While a node holds a database, the other commands' mutations go to
    it through DIR/node.sock: a leader applies and replicates them, a
    follower with --forward-writes forwards them to its leader."""
    p = pair
    ok(env, "--db", p.a, "tasks", "add", "1", "before")
    leader, address = serve(nodes, env, p, writer=True)
    sock = os.path.join(p.a, "node.sock")
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o600

    # On the leader: the same output as without a node, durable at once.
    assert ok(env, "--db", p.a, "tasks", "add", "2", "through the leader") == \
        "task 2 added (seq 2)\n"
    assert jsonof(env, "--db", p.a, "tasks", "complete", "1") == {"seq": 3}
    assert jsonof(env, "--db", p.a, "memories", "store", "7", "a memory",
                  "--tag", "x", "--tag", "y", "--source", "cli") == {"seq": 1}
    assert jsonof(env, "--db", p.a, "memories", "pin", "7") == {"seq": 2}
    # Its errors are the same too, and change nothing.
    err = fails(env, 1, "--db", p.a, "tasks", "rename", "9", "missing")
    assert "no task with id 9" in err, err
    err = fails(env, 1, "--db", p.a, "memories", "unpin", "8")
    assert "no memory with id 8" in err, err
    assert log_tails(env, p.a) == {"tasks": 4, "memories": 3}
    assert [(t["id"], t["title"], t["status"]) for t in tasks_of(env, p.a)] == \
        [(1, "before", "completed"), (2, "through the leader", "pending")]
    [memory] = memories_of(env, p.a)
    assert (memory["id"], memory["tags"], memory["source"], memory["pinned"]) == \
        (7, ["x", "y"], "cli", True)

    # On a follower that forwards: queued for the leader, then replicated.
    follower = follow(nodes, env, p, address, "--forward-writes")
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert ok(env, "--db", p.b, "tasks", "add", "3", "through the follower") == \
        "task 3 added (forwarded to the leader)\n"
    assert jsonof(env, "--db", p.b, "memories", "retag", "7", "--tag", "z") == \
        {"seq": None, "forwarded": True}
    wait_until("the forwarded events reach the leader",
               lambda: (count_of(env, p.a) == 3, count_of(env, p.a)),
               alive=(leader, follower))
    wait_until("the follower converges", converged(env, p.a, p.b),
               alive=(leader, follower))
    assert [m["tags"] for m in memories_of(env, p.a)] == [["z"]]
    assert memories_of(env, p.b) == memories_of(env, p.a)

    # A node that stops takes its socket along; one killed leaves it
    # behind, which neither the commands nor the next node mind.
    assert follower.stop()[0] == 0
    assert not os.path.exists(os.path.join(p.b, "node.sock"))
    leader.kill()
    assert os.path.exists(sock)
    assert ok(env, "--db", p.a, "tasks", "add", "4", "no node") == \
        "task 4 added (seq 5)\n"
    leader, _ = serve(nodes, env, p, listen=address)
    assert ok(env, "--db", p.a, "tasks", "delete", "4") == "task 4 deleted (seq 6)\n"
    assert leader.stop()[0] == 0
    assert not os.path.exists(sock)


def control_exchange(path, data):
    """Sends @data to a node's control socket; its answer, parsed."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(HANG_TIMEOUT)
        s.connect(path)
        s.sendall(data)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(4096)
            assert chunk, ("closed without an answer", data[:80], answer)
            answer += chunk
    return json.loads(answer)


@pytest.mark.parametrize("request_", [
    b"not json\n",
    b"[1, 2]\n",
    b'{"op": "task.add", "id": 1}\n',
    b'{"op": "task.add", "id": -3, "text": "x"}\n',
    b'{"op": "task.add", "id": "1", "text": "x"}\n',
    b'{"op": "task.explode", "id": 1}\n',
    b'{"op": "memory.store", "id": 1, "text": "x", "tags": [1]}\n',
    b'{"op": "memory.store", "id": 1, "text": "x", "source": 5}\n',
    # An empty line parses to no JSON root at all (found by fuzz-control).
    b"\n",
    b"   \n",
], ids=lambda r: r.decode().strip()[:40] or "empty")
def test_control_socket_refuses_malformed_requests(env, pair, nodes, request_):
    p = pair
    leader, _ = serve(nodes, env, p)
    answer = control_exchange(os.path.join(p.a, "node.sock"), request_)
    assert set(answer) == {"error"}, answer
    assert answer["error"]["message"], answer
    # Nothing was applied, and the node still serves.
    assert log_tails(env, p.a) == {"tasks": 1, "memories": 1}
    assert ok(env, "--db", p.a, "tasks", "add", "1", "fine") == "task 1 added (seq 1)\n"
    status, _, err = leader.stop()
    assert status == 0
    # Refused cleanly: no critical on the way.
    assert not any("CRITICAL" in l for l in err), err


@pytest.mark.parametrize("reply", [
    b"not json\n",
    b"{}\n",
    b'{"seq": -1}\n',
    # Members of the wrong kind (found by fuzz-control: json-glib's getters
    # logged criticals on them).
    b'{"error": {"domain": [], "code": 1, "message": "x"}}\n',
    b'{"error": {"domain": "d", "code": {}, "message": "x"}}\n',
    b'{"error": {"domain": "d", "code": "1", "message": ["x"]}}\n',
    b'{"error": {"domain": "d", "code": 1}}\n',
], ids=lambda r: r.decode().strip()[:40])
def test_command_refuses_malformed_node_replies(env, tmp_path, reply):
    """A command that reaches something answering nonsense on the control
    socket says so, cleanly."""
    db = tmp_path / "db"
    ok(env, "--db", str(db), "tasks", "add", "1", "before")
    # Like a node: it holds the directory's lock, so the command asks it.
    lock = open(db / "LOCK", "a")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with lock, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(db / "node.sock"))
        server.listen(1)

        def answer():
            conn, _ = server.accept()
            with conn:
                conn.settimeout(HANG_TIMEOUT)
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                conn.sendall(reply)
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        r = run(env, "--db", str(db), "tasks", "add", "2", "through a fake node")
        t.join(HANG_TIMEOUT)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "not a reply" in r.stderr, r.stderr
    assert "CRITICAL" not in r.stderr, r.stderr


def test_control_socket_survives_rude_clients(env, pair, nodes):
    """Clients that hang up early or send too much do not hurt the node."""
    p = pair
    leader, _ = serve(nodes, env, p)
    path = os.path.join(p.a, "node.sock")
    for data in (b"", b'{"op": "task.add", "id": 1, "te'):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(data)
    # The node answers once the line is too long, and hangs up on the rest.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(HANG_TIMEOUT)
        s.connect(path)

        def send_too_much():
            try:
                s.sendall(b'{"op": "task.add", "id": 1, "text": "'
                          + b"x" * (5 * 1024 * 1024) + b'"}\n')
            except OSError:
                pass
        sender = threading.Thread(target=send_too_much, daemon=True)
        sender.start()
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(4096)
            assert chunk, answer
            answer += chunk
        sender.join(HANG_TIMEOUT)
    assert "larger" in json.loads(answer)["error"]["message"], answer
    assert ok(env, "--db", p.a, "tasks", "add", "1", "fine") == "task 1 added (seq 1)\n"
    leader.alive()
    assert leader.stop()[0] == 0
