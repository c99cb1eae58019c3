# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Replication through PyGObject: NetIdentity, NetNode, and a NetDb that
# follows another over the encrypted transport, two or three nodes on
# 127.0.0.1 in one process, against the uninstalled build:
#
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/bindings/test_node.py
#
# Only the plain GI API is used (no override module is needed for any of
# it).  The nodes run on the default main context; the tests iterate it
# until a condition holds, with a deadline instead of a hang.

import os
import stat
import time

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("GObject", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import Gio, GLib, GObject, Net  # noqa: E402

NET_ERROR_DOMAIN = "net-error-quark"
TIMEOUT_SECONDS = 10
BOTH = Net.DbModels.TASKS | Net.DbModels.MEMORIES


# --- helpers --------------------------------------------------------------------


def assert_net_error(excinfo, code):
    err = excinfo.value
    assert isinstance(err, GLib.Error), err
    assert err.domain == NET_ERROR_DOMAIN, err
    assert err.code == int(code), err
    assert err.matches(Net.error_quark(), code)
    assert err.matches(Net.Error.quark(), code)
    # The code as the enum: Net.Error(err.code).  (err.matches(Net.Error,
    # code), as gjs writes it, is always False in PyGObject: pass the quark.)
    assert Net.Error(err.code) == code
    assert err.message


def iterate_until(predicate, what, timeout=TIMEOUT_SECONDS):
    """Iterate the default main context until predicate() holds.

    A 20 ms timeout source keeps iteration(True) from blocking for good
    when nothing else is ready; the deadline fails the test instead of
    hanging it."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    tick = GLib.timeout_add(20, lambda: GLib.SOURCE_CONTINUE)
    try:
        while not predicate():
            assert time.monotonic() < deadline, "timed out waiting for " + what
            context.iteration(True)
    finally:
        GLib.source_remove(tick)


def drain():
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


def titles(tasks):
    return sorted(t.props.title for t in tasks.find_many(None))


def make_node(identity):
    node = Net.Node.new(identity, "127.0.0.1:0")
    address = node.props.local_address
    assert address == node.get_local_address()
    assert address.startswith("127.0.0.1:")
    assert int(address.rsplit(":", 1)[1]) != 0
    return node


class Cluster:
    """A leader node serving a db in its own directory, and a follower node
    whose db (another directory) follows it."""

    def __init__(self, tmp_path, forward_writes=False, writer=None):
        self.leader_id = Net.Identity.generate()
        self.follower_id = Net.Identity.generate()
        self.leader_key = self.leader_id.get_public_key()
        self.follower_key = self.follower_id.get_public_key()

        self.leader_db = Net.Db.new(str(tmp_path / "leader"), BOTH)
        self.follower_db = Net.Db.new(str(tmp_path / "follower"), BOTH)

        self.leader = make_node(self.leader_id)
        self.follower = make_node(self.follower_id)

        self.up = {"leader": [], "follower": []}
        self.leader.connect("peer-up", lambda n, key: self.up["leader"].append(key))
        self.follower.connect("peer-up", lambda n, key: self.up["follower"].append(key))

        # The leader only admits the follower (no address: it waits to be
        # contacted); the follower knows where the leader is.
        # A follower that forwards writes must be admitted as a writer.
        if writer is None:
            writer = forward_writes
        if writer:
            assert self.leader.add_peer_with_role(self.follower_key, None,
                                                  Net.PeerRole.WRITER)
        else:
            assert self.leader.add_peer(self.follower_key, None)
        assert self.follower.add_peer(self.leader_key,
                                      self.leader.props.local_address)
        assert self.leader.serve_db(self.leader_db)
        assert self.follower.follow_db(self.follower_db, self.leader_key,
                                       forward_writes)
        assert self.follower_db.props.following
        assert self.follower_db.get_following()
        assert not self.leader_db.props.following

    def start(self):
        assert self.leader.start()
        assert self.follower.start()
        assert self.leader.props.running and self.follower.get_running()
        iterate_until(lambda: self.up["leader"] and self.up["follower"],
                      "peer-up on both nodes")

    def close(self):
        for node in (self.follower, self.leader):
            node.stop()
        drain()
        self.follower_db.close()
        self.leader_db.close()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


# --- NetIdentity ------------------------------------------------------------------


def test_identity_generate():
    a = Net.Identity.generate()
    b = Net.Identity.generate()
    key = a.get_public_key()
    assert isinstance(key, str) and len(key) == 44 and key.endswith("=")
    assert key == a.props.public_key
    assert key != b.get_public_key()
    assert a.get_origin() == a.props.origin != 0
    assert a.get_origin() != b.get_origin()
    assert isinstance(a.get_origin(), int)


def test_identity_public_key_text():
    identity = Net.Identity.generate()
    key = identity.get_public_key()

    raw = Net.Identity.public_key_from_string(key)
    assert isinstance(raw, GLib.Bytes)
    assert raw.get_size() == Net.IDENTITY_PUBLIC_KEY_SIZE == 32
    assert Net.Identity.public_key_to_string(raw) == key

    # 64 hex digits, and surrounding whitespace, are accepted too.
    hex_key = raw.get_data().hex()
    assert Net.Identity.public_key_to_string(
        Net.Identity.public_key_from_string("  " + hex_key.upper() + "\n")) == key

    for bad in ("", "not a key", key[:-4], "A" * 44, "0" * 64):
        with pytest.raises(GLib.Error) as excinfo:
            Net.Identity.public_key_from_string(bad)
        assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)


def test_identity_save_load(tmp_path):
    identity = Net.Identity.generate()
    path = str(tmp_path / "node.key")

    assert identity.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    loaded = Net.Identity.load(path)
    assert loaded.get_public_key() == identity.get_public_key()
    assert loaded.get_origin() == identity.get_origin()

    # An existing file is never replaced.
    with pytest.raises(GLib.Error) as excinfo:
        Net.Identity.generate().save(path)
    assert excinfo.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.EXISTS)

    # A key others can read is refused.
    os.chmod(path, 0o644)
    with pytest.raises(GLib.Error) as excinfo:
        Net.Identity.load(path)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)

    with pytest.raises(GLib.Error) as excinfo:
        Net.Identity.load(str(tmp_path / "missing.key"))
    assert_net_error(excinfo, Net.Error.NOT_FOUND)

    garbage = tmp_path / "garbage.key"
    garbage.write_text("netdb-identity 1\nnothing\n")
    os.chmod(garbage, 0o600)
    with pytest.raises(GLib.Error) as excinfo:
        Net.Identity.load(str(garbage))
    assert_net_error(excinfo, Net.Error.CORRUPT)


# --- NetNode ----------------------------------------------------------------------


def test_node_properties():
    identity = Net.Identity.generate()
    node = make_node(identity)
    assert node.get_identity() is identity
    assert node.props.identity is identity
    assert node.props.listen_address == "127.0.0.1:0"
    assert not node.props.running
    assert node.props.max_datagram == node.get_max_datagram() == 1400
    node.props.max_datagram = 1200
    assert node.get_max_datagram() == 1200
    assert node.list_peers() == []

    other = Net.Identity.generate().get_public_key()
    assert node.add_peer(other, None)
    assert node.list_peers() == [other]
    assert not node.is_peer_up(other)
    assert node.remove_peer(other)
    assert not node.remove_peer(other)

    with pytest.raises(GLib.Error) as excinfo:
        node.add_peer("not a public key", None)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)

    # A node that follows nothing refuses a leader it does not know.
    db = Net.Db.new(None, BOTH)
    with pytest.raises(GLib.Error) as excinfo:
        node.follow_db(db, other, False)
    assert excinfo.value.matches(Net.error_quark(), Net.Error.NOT_FOUND) or \
        excinfo.value.matches(Net.error_quark(), Net.Error.INVALID_ARGUMENT)
    db.close()

    with pytest.raises(GLib.Error) as excinfo:
        Net.Node.new(identity, "not an address")
    assert excinfo.value.domain == NET_ERROR_DOMAIN


def test_node_property_constructor():
    """Net.Node(...) with properties is g_object_new(): NetNode is a
    Gio.Initable, and PyGObject does not call init(), which binds the
    socket.  Net.Node.new() does both."""
    identity = Net.Identity.generate()
    node = Net.Node(identity=identity, listen_address="127.0.0.1:0")
    assert isinstance(node, Gio.Initable)
    assert node.props.local_address is None
    assert node.init(None)
    assert node.props.local_address.startswith("127.0.0.1:")

    with pytest.raises(GLib.Error) as excinfo:
        Net.Node(identity=identity, listen_address="no port").init(None)
    assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)


def test_node_counters():
    node = make_node(Net.Identity.generate())
    counters = node.get_counters()
    assert isinstance(counters, GLib.Variant)
    assert counters.get_type_string() == "a{st}"
    as_dict = counters.unpack()
    assert isinstance(as_dict, dict)
    assert as_dict["datagrams-sent"] == 0
    assert "handshakes-completed" in as_dict
    assert counters.lookup_value("datagrams-sent", GLib.VariantType("t")).get_uint64() == 0
    assert node.get_counter("datagrams-sent") == 0
    assert node.get_counter("no-such-counter") == 0


def test_signal_signatures():
    """The signals carry what the bindings can marshal: strings, and a
    GError as a boxed GLib.Error."""
    for name in ("peer-up", "peer-down"):
        query = GObject.signal_query(name, Net.Node)
        assert query is not None and query.signal_id != 0, name
        assert [t.name for t in query.param_types] == ["gchararray"]

    query = GObject.signal_query("forward-failed", Net.Db)
    assert query is not None and query.signal_id != 0
    assert [t.name for t in query.param_types] == ["GError"]


def test_error_signals_marshal():
    """A GError signal argument arrives in Python as a GLib.Error, and a
    GLib.Error can be emitted: both directions of the marshalling."""
    db = Net.Db.new(None, BOTH)
    received = []
    db.connect("forward-failed", lambda d, error: received.append(error))
    db.emit("forward-failed",
            GLib.Error.new_literal(Net.error_quark(), "timed out",
                                   Net.Error.TIMEOUT))
    assert len(received) == 1
    error = received[0]
    assert isinstance(error, GLib.Error)
    assert error.matches(Net.error_quark(), Net.Error.TIMEOUT)
    assert error.message == "timed out"
    db.close()

    if GObject.signal_lookup("follow-failed", Net.Node) == 0:
        pytest.skip("NetNode::follow-failed is not in this build")
    node = make_node(Net.Identity.generate())
    failed = []
    node.connect("follow-failed", lambda n, error: failed.append(error))
    node.emit("follow-failed",
              GLib.Error.new_literal(Net.error_quark(), "diverged",
                                     Net.Error.SEQ_MISMATCH))
    assert len(failed) == 1
    assert failed[0].matches(Net.error_quark(), Net.Error.SEQ_MISMATCH)


# --- replication ------------------------------------------------------------------


def test_peer_up(cluster):
    cluster.start()
    assert cluster.up["leader"] == [cluster.follower_key]
    assert cluster.up["follower"] == [cluster.leader_key]
    assert cluster.leader.is_peer_up(cluster.follower_key)
    assert cluster.follower.is_peer_up(cluster.leader_key)
    assert cluster.leader.list_peers() == [cluster.follower_key]

    down = []
    cluster.follower.connect("peer-down", lambda n, key: down.append(key))
    cluster.follower.remove_peer(cluster.leader_key)
    iterate_until(lambda: down, "peer-down")
    assert down == [cluster.leader_key]

    counters = cluster.follower.get_counters().unpack()
    assert counters["datagrams-sent"] > 0
    assert counters["handshakes-completed"] >= 1
    assert cluster.leader.get_counter("datagrams-received") > 0


def test_follow_converges(cluster):
    leader_tasks = cluster.leader_db.get_tasks()
    follower_tasks = cluster.follower_db.props.tasks

    # Before the nodes start, and after: catch-up, then live.
    leader_tasks.create(1, "before start", 0)
    cluster.start()
    for i in range(2, 21):
        leader_tasks.create(i, f"task {i}", 0)
    leader_tasks.complete(3, 0)
    cluster.leader_db.get_memories().store(1, "replicated too", ["net"], None, 0)

    iterate_until(lambda: follower_tasks.count(None) == 20, "20 tasks on the follower")
    iterate_until(lambda: follower_tasks.get_applied_seq() == leader_tasks.get_applied_seq(),
                  "the follower's tasks to catch up")
    assert titles(follower_tasks) == titles(leader_tasks)
    done = Net.TasksFilter(status=Net.TaskStatus.COMPLETED)
    assert [t.props.id for t in follower_tasks.find_many(done)] == [3]
    iterate_until(lambda: cluster.follower_db.get_memories().count(None) == 1,
                  "the memory on the follower")

    counters = cluster.leader.get_counters().unpack()
    assert counters["datagrams-sent"] > 0
    assert counters["repl-events-sent"] >= 21
    assert cluster.follower.get_counters().unpack()["repl-events-appended"] >= 21

    # Mutations of a follower that does not forward are refused.
    with pytest.raises(GLib.Error) as excinfo:
        follower_tasks.create(100, "local", 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    with pytest.raises(GLib.Error) as excinfo:
        follower_tasks.complete(1, 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    with pytest.raises(GLib.Error) as excinfo:
        cluster.follower_db.get_memories().store(2, "local", [], None, 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    assert follower_tasks.count(None) == 20

    # A node follows at most one db.
    with pytest.raises(GLib.Error) as excinfo:
        cluster.follower.follow_db(Net.Db.new(None, BOTH), cluster.leader_key, False)
    assert excinfo.value.domain == NET_ERROR_DOMAIN


def test_forward_writes(tmp_path):
    c = Cluster(tmp_path, forward_writes=True)
    try:
        failed = []
        c.follower_db.connect("forward-failed", lambda db, error: failed.append(error))
        c.start()

        follower_tasks = c.follower_db.get_tasks()
        leader_tasks = c.leader_db.get_tasks()
        # A forwarded mutation has no local seq yet: 0.
        assert follower_tasks.create(7, "from the follower", 0) == 0

        iterate_until(lambda: leader_tasks.count(None) == 1, "the forward on the leader")
        assert leader_tasks.get(7).props.title == "from the follower"
        iterate_until(lambda: follower_tasks.count(None) == 1,
                      "the forward replicated back")
        assert follower_tasks.get(7).props.title == "from the follower"
        assert not failed
    finally:
        c.close()


def test_forward_of_a_reader_is_refused(tmp_path):
    """A follower admitted by plain add_peer is a reader: what it forwards
    is refused, and its forward-failed says why."""
    c = Cluster(tmp_path, forward_writes=True, writer=False)
    try:
        failed = []
        c.follower_db.connect("forward-failed", lambda db, error: failed.append(error))
        c.start()

        assert c.follower_db.get_tasks().create(7, "not allowed", 0) == 0
        iterate_until(lambda: failed, "forward-failed")
        assert failed[0].matches(Net.Error.quark(), Net.Error.READ_ONLY), failed[0]
        assert "reader" in failed[0].message
        assert c.leader_db.get_tasks().count(None) == 0
        assert c.leader.get_counter("repl-forwards-refused") >= 1
    finally:
        c.close()
