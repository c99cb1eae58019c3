# SPDX-License-Identifier: LGPL-2.1-or-later
#
# NetDb, its live queries and snapshots through PyGObject, with the override
# module of the source tree (bindings/python/gi/overrides/Net.py), against
# the uninstalled build:
#
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     PYTHONPATH=bindings/python \
#     /usr/bin/python3 -m pytest tests/bindings/test_db.py
#
# Every scenario uses the plain GI API next to the override's sugar: the
# override must not change what the plain API does.

import datetime
import os
import threading

import gi
import gi.module
import gi.overrides
import pytest

# meson sets PYTHONPATH, which is how an installed override is found too
# (gi.overrides extends its __path__ over sys.path); this covers a run
# without it.
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OVERRIDES_DIR = os.path.join(SOURCE_ROOT, "bindings", "python", "gi",
                             "overrides")
if OVERRIDES_DIR not in gi.overrides.__path__:
    gi.overrides.__path__.insert(0, OVERRIDES_DIR)

gi.require_version("GLib", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, Net  # noqa: E402

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
    assert err.message


def ids(items):
    return [item.props.id for item in items]


def run_loop(loop, what):
    """Run @loop, failing the test instead of hanging."""
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add_seconds(TIMEOUT_SECONDS, on_timeout)
    loop.run()
    if not timed_out:
        GLib.source_remove(source)
    assert not timed_out, "timed out waiting for " + what


def drain():
    """Let the fold sources dispatch (deliveries are never synchronous)."""
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


class Recorder:
    """Records a model's items-changed as "-removed+added@position", and
    replays them onto a plain list that must always equal the model."""

    def __init__(self, model):
        self.changes = []
        self.n_items = []
        self.mirror = list(model)
        self.empty_emissions = 0
        model.connect("items-changed", self.on_items_changed)
        model.connect("notify::n-items",
                      lambda m, _pspec: self.n_items.append(m.props.n_items))

    def on_items_changed(self, model, position, removed, added):
        # (An exception in a signal handler would only be printed.)
        if not removed and not added:
            self.empty_emissions += 1
        self.changes.append("-%d+%d@%d" % (removed, added, position))
        self.mirror[position:position + removed] = \
            [model.get_item(i) for i in range(position, position + added)]

    def check(self, model):
        assert self.empty_emissions == 0, "items-changed (p, 0, 0)"
        assert self.mirror == list(model)
        assert len(self.mirror) == model.props.n_items


@pytest.fixture
def db():
    handle = Net.Db.new(None, BOTH)
    yield handle
    handle.close()


# --- the override is the source tree's --------------------------------------------


def test_override_is_loaded():
    module = __import__("sys").modules["gi.overrides.Net"]
    assert os.path.realpath(module.__file__) == \
        os.path.realpath(os.path.join(OVERRIDES_DIR, "Net.py"))
    assert isinstance(Net.Db.__dict__["tasks"], property)
    assert isinstance(Net.Db.__dict__["memories"], property)
    assert Net.DbTasks.find_many is not \
        gi.module.get_introspection_module("Net").DbTasks.find_many


# --- opening ----------------------------------------------------------------------


def test_open_in_memory(db):
    assert db.props.path is None
    assert not db.props.read_only
    assert db.props.origin != 0
    # The attribute, the property and the getter are one object.
    assert isinstance(db.tasks, Net.DbTasks)
    assert db.tasks is db.props.tasks is db.get_tasks()
    assert isinstance(db.memories, Net.DbMemories)
    assert db.memories is db.props.memories


def test_models_not_enabled():
    tasks_only = Net.Db.new(None, Net.DbModels.TASKS)
    assert tasks_only.tasks is not None
    assert tasks_only.memories is None
    assert tasks_only.props.memories is None
    nothing = Net.Db.new(None, Net.DbModels.NONE)
    assert nothing.tasks is None and nothing.memories is None
    assert tasks_only.close()
    assert nothing.close()


def test_builder():
    db = (Net.DbBuilder.new().with_tasks().with_memories().origin(42)
          .build())
    assert db.props.origin == 42
    assert db.tasks.props.origin == 42
    db.close()


def test_context_manager(tmp_path):
    path = str(tmp_path / "db")
    with Net.Db.new(path, BOTH) as db:
        db.tasks.create(1, "inside", 100)
        tasks = db.tasks
    with pytest.raises(GLib.Error) as excinfo:
        tasks.create(2, "after", 200)
    assert_net_error(excinfo, Net.Error.CLOSED)


def test_persistent_reopen(tmp_path):
    path = str(tmp_path / "db")
    db = Net.Db.new(path, BOTH)
    assert db.props.path == path
    origin = db.props.origin
    db.tasks.create(1, "Persist me", 100)
    db.tasks.complete(1, 200)
    db.memories.store(7, "A note", ["work"], "cli", 300)
    db.memories.pin(7, 400)
    assert db.checkpoint()
    db.tasks.create(2, "After the checkpoint", 500)
    assert db.close()
    assert db.close(), "close is idempotent"

    db = Net.Db.new(path, BOTH)
    assert db.props.origin == origin, "a persistent db keeps its origin"
    assert ids(db.tasks.find_many()) == [1, 2]
    assert db.tasks.get(1).props.status == Net.TaskStatus.COMPLETED
    assert db.tasks.get(2).props.title == "After the checkpoint"
    memory = db.memories.get(7)
    assert memory.props.pinned
    assert list(memory.props.tags) == ["work"]
    assert db.tasks.props.applied_seq == 3
    db.close()


# --- CRUD -------------------------------------------------------------------------


def test_tasks_crud(db):
    tasks = db.tasks
    assert tasks.create(1, "Write the report", 1000) == 1
    assert tasks.create(2, "Review the patch", 2000) == 2
    assert tasks.rename(1, "Write the final report", 3000) == 3
    assert tasks.complete(2, 4000) == 4

    first = tasks.get(1)
    assert first.props.title == "Write the final report"
    assert first.props.status == Net.TaskStatus.PENDING
    assert (first.props.created_at, first.props.updated_at) == (1000, 3000)
    assert tasks.get(2).props.status == Net.TaskStatus.COMPLETED
    assert tasks.get(1) is first, "one live object per id"

    assert tasks.delete(2) == 5
    assert tasks.get(2) is None
    assert tasks.count() == 1
    # An unknown id is NOT_FOUND and logs nothing (issue 14, item 3).
    with pytest.raises(GLib.Error) as excinfo:
        tasks.complete(99, 5000)
    assert excinfo.value.matches(Net.error_quark(), Net.Error.NOT_FOUND)
    assert tasks.count() == 1
    assert tasks.create(3, "next", 0) == 6


def test_memories_crud(db):
    memories = db.memories
    assert memories.store(1, "Standup notes", ["work", "notes"], "alice",
                          100) == 1
    assert memories.store(2, "Buy milk", ["todo"], None, 200) == 2
    assert memories.retag(1, ["work", "meetings"], 300) == 3
    assert memories.pin(1, 400) == 4
    first = memories.get(1)
    assert list(first.props.tags) == ["work", "meetings"]
    assert first.props.source == "alice"
    assert first.props.pinned
    assert memories.unpin(1, 500) == 5
    assert not first.props.pinned
    assert memories.get(2).props.source is None
    assert memories.delete(2) == 6
    assert memories.get(2) is None
    assert memories.count() == 1


# --- filters ------------------------------------------------------------------


@pytest.fixture
def tasks(db):
    t = db.tasks
    t.create(1, "Write the report", 100)
    t.create(2, "Review the patch", 200)
    t.create(3, "Report the bug", 300)
    t.create(4, "Café au lait", 400)
    t.complete(2, 500)
    t.rename(1, "Write the final report", 600)
    return t


def test_tasks_filters_plain_gi(tasks):
    pending = Net.TasksFilter(status=Net.TaskStatus.PENDING,
                              order_by=Net.OrderBy.CREATED_DESC)
    assert ids(tasks.find_many(pending)) == [4, 3, 1]
    assert tasks.count(pending) == 3
    assert tasks.exists(pending)
    assert tasks.find_first(pending).props.id == 4
    assert ids(tasks.find_many(None)) == [1, 2, 3, 4]
    f = Net.TasksFilter.new()
    f.set_title_contains("REPORT")
    f.set_order_by(Net.OrderBy.UPDATED_DESC)
    assert ids(tasks.find_many(f)) == [1, 3]
    assert tasks.count(Net.TasksFilter(limit=1)) == 4, "count ignores limit"


def test_tasks_keyword_filters(tasks):
    assert ids(tasks.find_many(status="pending", order_by="created_desc",
                               limit=50)) == [4, 3, 1]
    assert ids(tasks.find_many(status=Net.TaskStatus.COMPLETED)) == [2]
    assert ids(tasks.find_many(status="COMPLETED")) == [2]
    assert ids(tasks.find_many(order_by="updated-desc", limit=2)) == [1, 2]
    assert ids(tasks.find_many(order_by=Net.OrderBy.ID_DESC, offset=1,
                               limit=2)) == [3, 2]
    assert ids(tasks.find_many(title_contains="café")) == [4]
    assert ids(tasks.find_many(created_after=200, created_before=300)) == \
        [2, 3]
    assert tasks.find_first(status="pending", order_by="id_desc").props.id == 4
    assert tasks.find_first(title_contains="unicorn") is None
    assert tasks.count(status="pending") == 3
    assert tasks.count(status="pending", limit=1) == 3
    assert tasks.exists(status="completed")
    assert not tasks.exists(title_contains="unicorn")
    # None leaves a constraint unset.
    assert tasks.count(status=None) == 4
    # Datetimes for the time bounds.
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    assert ids(tasks.find_many(
        created_after=epoch + datetime.timedelta(microseconds=300))) == [3, 4]


def test_filter_object_and_keywords(tasks):
    # A filter object positionally, refined by keywords: the object itself
    # does not change.
    pending = Net.TasksFilter(status="pending")
    assert pending.props.status == Net.TaskStatus.PENDING
    assert pending.props.status_set
    assert ids(tasks.find_many(pending)) == [1, 3, 4]
    assert ids(tasks.find_many(pending, order_by="id_desc", limit=1)) == [4]
    assert pending.props.order_by == Net.OrderBy.ID_ASC
    assert pending.props.limit == 0
    assert ids(tasks.find_many(filter=pending)) == [1, 3, 4]
    # Constructor nicks go through the same conversion.
    f = Net.TasksFilter(status="completed", order_by="created_desc")
    assert f.props.order_by == Net.OrderBy.CREATED_DESC
    assert ids(tasks.find_many(f)) == [2]
    assert Net.TasksFilter(status=Net.TaskStatus.PENDING).props.status_set


def test_keyword_errors(tasks):
    with pytest.raises(ValueError, match="created-desc"):
        tasks.find_many(order_by="sideways")
    with pytest.raises(ValueError):
        tasks.find_many(status="maybe")
    with pytest.raises(TypeError, match="title_contains"):
        tasks.find_many(titel_contains="typo")
    with pytest.raises(TypeError):
        tasks.find_many(Net.MemoriesFilter())
    with pytest.raises(TypeError):
        tasks.find_many(Net.TasksFilter(), Net.TasksFilter())
    with pytest.raises(ValueError, match="aware"):
        tasks.find_many(created_after=datetime.datetime(2024, 1, 1))


@pytest.fixture
def memories(db):
    m = db.memories
    m.store(1, "Standup notes", ["work", "notes"], "alice", 100)
    m.store(2, "Buy milk", ["personal", "todo"], "alice", 200)
    m.store(3, "Fire in the datacenter", ["work", "design"], "bob", 300)
    m.retag(1, ["work", "meetings"], 400)
    m.pin(3, 500)
    return m


def test_memories_filters(memories):
    # Plain GI.
    assert ids(memories.find_many(Net.MemoriesFilter(tag="work"))) == [1, 3]
    assert ids(memories.find_many(
        Net.MemoriesFilter(any_tags=["design", "todo"]))) == [2, 3]
    # Keywords.
    assert ids(memories.find_many(tag="work")) == [1, 3]
    assert ids(memories.find_many(any_tags=["design", "todo"])) == [2, 3]
    assert ids(memories.find_many(any_tags="todo")) == [2]
    assert ids(memories.find_many(all_tags=("work", "meetings"))) == [1]
    assert ids(memories.find_many(source="alice")) == [1, 2]
    assert ids(memories.find_many(content_contains="DATACENTER")) == [3]
    assert ids(memories.find_many(pinned=True)) == [3]
    assert ids(memories.find_many(pinned=False)) == [1, 2]
    assert ids(memories.find_many(created_after=200)) == [2, 3]
    assert ids(memories.find_many(updated_before=300)) == [2]
    assert ids(memories.find_many(order_by="updated_desc", limit=2)) == [3, 1]
    assert ids(memories.find_many(order_by="id_asc", offset=1)) == [2, 3]
    assert memories.find_first(tag="work", order_by="id_desc").props.id == 3
    assert memories.count(tag="work", limit=1) == 2
    assert memories.exists(source="bob", pinned=True)
    assert not memories.exists(source="carol")
    with pytest.raises(TypeError, match="status"):
        memories.find_many(status="pending")


# --- live queries -------------------------------------------------------------


def test_watch_updates_on_main_loop(db):
    tasks = db.tasks
    tasks.create(1, "First", 100)
    model = tasks.watch(status="pending", order_by="created_asc")
    assert model.props.item_type == Net.Task.__gtype__
    assert model.props.n_items == 1
    assert len(model) == 1
    assert model.props.seq == 1
    recorder = Recorder(model)

    loop = GLib.MainLoop()

    def add():
        tasks.create(2, "Second", 200)
        # Read-your-writes for queries; the model changes only from the
        # fold's next dispatch.
        assert tasks.count(status="pending") == 2
        assert model.get_n_items() == 1
        return GLib.SOURCE_REMOVE

    def on_items_changed(m, position, removed, added):
        loop.quit()

    model.connect("items-changed", on_items_changed)
    GLib.timeout_add(10, add)
    run_loop(loop, "items-changed after a create")

    assert recorder.changes == ["-0+1@1"]
    assert recorder.n_items == [2]
    assert model.props.n_items == 2
    assert ids(model) == [1, 2]
    recorder.check(model)
    assert model[1].props.title == "Second"
    assert model.props.seq == 2

    # A completion removes the task from the pending watch.
    tasks.complete(1, 300)
    drain()
    assert recorder.changes == ["-0+1@1", "-1+0@0"]
    assert ids(model) == [2]
    recorder.check(model)
    assert model.props.seq == 3


def test_watch_rename_is_a_notify(db):
    tasks = db.tasks
    tasks.create(1, "Before", 100)
    model = tasks.watch()
    recorder = Recorder(model)
    item = model.get_item(0)
    titles = []
    item.connect("notify::title", lambda t, _p: titles.append(t.props.title))
    tasks.rename(1, "After", 200)
    assert titles == [], "notify comes from the next dispatch"
    drain()
    assert titles == ["After"]
    assert recorder.changes == []


def test_watch_filter_change(db):
    tasks = db.tasks
    for i, title in enumerate(["alpha", "beta", "alphabet", "gamma"], 1):
        tasks.create(i, title, i * 100)
    model = db.tasks.watch(Net.TasksFilter(title_contains="alpha"))
    assert ids(model) == [1, 3]
    recorder = Recorder(model)

    # Plain GI: a new filter object through the property.  (Keep a
    # reference: PyGObject warns about setting an object property from a
    # temporary, although the model takes its own reference.)
    every_a = Net.TasksFilter(title_contains="a")
    model.props.filter = every_a
    assert model.props.filter is every_a
    assert ids(model) == [1, 2, 3, 4]
    recorder.check(model)
    assert model.props.n_items == 4
    # Sugar: keywords build the filter.
    model.set_filter(title_contains="gam")
    assert ids(model) == [4]
    recorder.check(model)
    assert isinstance(model.props.filter, Net.TasksFilter)
    assert model.props.filter.props.title_contains == "gam"
    # Changing the filter object in place updates the model too.
    model.props.filter.set_title_contains("bet")
    assert ids(model) == [2, 3]
    recorder.check(model)
    model.set_filter(None)
    assert ids(model) == [1, 2, 3, 4]
    # Whatever ranges the model reported, replaying them gives the model,
    # and n-items followed every change.
    recorder.check(model)
    assert len(recorder.changes) >= 4
    assert recorder.n_items == [4, 1, 2, 4]


def test_memories_watch_by_tag(db):
    memories = db.memories
    model = memories.watch(tag="urgent")
    recorder = Recorder(model)
    memories.store(1, "untagged", None, None, 100)
    drain()
    assert recorder.changes == []
    memories.store(2, "fix it", ["urgent"], None, 200)
    drain()
    assert recorder.changes == ["-0+1@0"]
    memories.retag(1, ["later", "urgent"], 300)
    drain()
    assert recorder.changes == ["-0+1@0", "-0+1@0"]
    assert ids(model) == [1, 2]
    recorder.check(model)
    model.set_filter(tag="later")
    assert ids(model) == [1]
    recorder.check(model)
    assert model.props.item_type == Net.Memory.__gtype__


def test_watch_from_another_thread(db):
    tasks = db.tasks
    model = tasks.watch(status="pending")
    loop = GLib.MainLoop()
    model.connect("items-changed",
                  lambda m, p, r, a: loop.quit() if len(m) == 3 else None)
    writer = threading.Thread(
        target=lambda: [tasks.create(i, "from a thread", 0) for i in (1, 2, 3)])
    writer.start()
    run_loop(loop, "three creates from a thread")
    writer.join()
    assert ids(model) == [1, 2, 3]


# --- wait_for_seq ---------------------------------------------------------------


def test_wait_for_seq_async(db):
    tasks = db.tasks
    loop = GLib.MainLoop()
    results = []

    def on_done(source, result):
        results.append(source.wait_for_seq_finish(result))
        loop.quit()

    tasks.wait_for_seq_async(2, None, on_done)
    assert results == [], "never completes synchronously"
    GLib.idle_add(lambda: tasks.create(1, "one", 0) and GLib.SOURCE_REMOVE)
    GLib.timeout_add(20, lambda: tasks.create(2, "two", 0) and
                     GLib.SOURCE_REMOVE)
    run_loop(loop, "wait_for_seq_async(2)")
    assert results == [True]
    assert tasks.props.applied_seq >= 2


def test_wait_for_seq_async_closed(db):
    tasks = db.tasks
    loop = GLib.MainLoop()
    errors = []

    def on_done(source, result):
        try:
            source.wait_for_seq_finish(result)
        except GLib.Error as e:
            errors.append(e)
        loop.quit()

    tasks.wait_for_seq_async(5, None, on_done)
    GLib.idle_add(lambda: db.close() and GLib.SOURCE_REMOVE)
    run_loop(loop, "wait_for_seq_async on a closing db")
    assert len(errors) == 1
    assert errors[0].matches(Net.error_quark(), Net.Error.CLOSED)


# --- snapshots ------------------------------------------------------------------


def test_snapshot_round_trip(db, tmp_path):
    db.tasks.create(1, "Snap", 100)
    db.tasks.create(2, "Shot", 200)
    db.tasks.complete(2, 300)
    db.memories.store(5, "remember", ["x", "y"], "me", 400)
    db.memories.pin(5, 500)
    blob = db.snapshot()
    assert isinstance(blob, GLib.Bytes)
    assert blob.get_size() > 0

    restored = Net.Db.open_from_snapshot(blob, None, BOTH)
    assert ids(restored.tasks.find_many()) == [1, 2]
    assert restored.tasks.get(2).props.status == Net.TaskStatus.COMPLETED
    assert restored.tasks.props.applied_seq == 3
    memory = restored.memories.get(5)
    assert list(memory.props.tags) == ["x", "y"]
    assert memory.props.pinned
    # The restored db continues the log after the snapshot.
    assert restored.tasks.create(3, "next", 600) == 4
    restored.close()

    # Into a directory, and through the builder, with tasks only.
    path = str(tmp_path / "restored")
    persistent = Net.Db.open_from_snapshot(blob, path, Net.DbModels.TASKS)
    assert persistent.memories is None
    assert persistent.tasks.count(status="completed") == 1
    persistent.close()
    built = Net.DbBuilder.new().with_tasks().with_memories() \
        .build_from_snapshot(GLib.Bytes.new(blob.get_data()))
    assert built.memories.count() == 1
    built.close()


def test_tasks_only_snapshot_into_both():
    source = Net.Db.new(None, Net.DbModels.TASKS)
    source.tasks.create(1, "only tasks", 0)
    blob = source.snapshot()
    both = Net.Db.open_from_snapshot(blob, None, BOTH)
    assert both.tasks.count() == 1
    assert both.memories.count() == 0
    source.close()
    both.close()


# --- errors ---------------------------------------------------------------------


def test_mutation_after_close_is_closed(db):
    tasks, memories = db.tasks, db.memories
    tasks.create(1, "before", 0)
    assert db.close()
    with pytest.raises(GLib.Error) as excinfo:
        tasks.create(2, "after", 0)
    assert_net_error(excinfo, Net.Error.CLOSED)
    with pytest.raises(GLib.Error) as excinfo:
        memories.store(1, "after", None, None, 0)
    assert_net_error(excinfo, Net.Error.CLOSED)
    # Queries on the last state keep working.
    assert ids(tasks.find_many()) == [1]
    assert tasks.count(title_contains="before") == 1


def test_read_only_mutation_is_read_only(tmp_path):
    path = str(tmp_path / "db")
    writer = Net.Db.new(path, BOTH)
    writer.tasks.create(1, "written", 100)
    writer.close()

    reader = Net.Db.open_read_only(path, BOTH)
    assert reader.props.read_only
    assert ids(reader.tasks.find_many()) == [1]
    with pytest.raises(GLib.Error) as excinfo:
        reader.tasks.create(2, "refused", 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    with pytest.raises(GLib.Error) as excinfo:
        reader.memories.store(1, "refused", None, None, 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    reader.close()

    reader = Net.DbBuilder.new().persistent_dir(path).with_tasks() \
        .read_only().build()
    with pytest.raises(GLib.Error) as excinfo:
        reader.tasks.complete(1, 0)
    assert_net_error(excinfo, Net.Error.READ_ONLY)
    reader.close()


@pytest.mark.parametrize("blob", [
    b"",
    b"garbage",
    b"\0" * 64,
    bytes(range(256)) * 4,
], ids=["empty", "garbage", "zeros", "pattern"])
def test_garbage_snapshot_is_invalid(blob):
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(GLib.Bytes.new(blob), None, BOTH)
    assert_net_error(excinfo, Net.Error.SNAPSHOT_INVALID)


def test_damaged_snapshot_is_invalid(db):
    db.tasks.create(1, "x", 0)
    data = bytearray(db.snapshot().get_data())
    truncated = GLib.Bytes.new(bytes(data[:len(data) // 2]))
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(truncated, None, BOTH)
    assert_net_error(excinfo, Net.Error.SNAPSHOT_INVALID)
    data[len(data) // 2] ^= 0x10
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(GLib.Bytes.new(bytes(data)), None, BOTH)
    assert_net_error(excinfo, Net.Error.SNAPSHOT_INVALID)


def test_second_writer_is_locked(tmp_path):
    path = str(tmp_path / "db")
    first = Net.Db.new(path, BOTH)
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.new(path, BOTH)
    assert_net_error(excinfo, Net.Error.LOCKED)
    assert path in excinfo.value.message
    first.close()
