# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The tasks model through PyGObject, against the uninstalled build
# (GI_TYPELIB_PATH and LD_LIBRARY_PATH point at build/netdb).  Only the plain
# GI API is used: no override module.
#
# Run with Debian's interpreter, which has `gi`:
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/bindings/test_tasks.py

import threading

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import Gio, GLib, Net  # noqa: E402

NET_ERROR_DOMAIN = "net-error-quark"
TIMEOUT_SECONDS = 10
ORIGIN = 7


def assert_net_error(excinfo, code):
    err = excinfo.value
    assert isinstance(err, GLib.Error), err
    assert err.domain == NET_ERROR_DOMAIN, err
    assert err.code == int(code), err
    assert err.matches(Net.error_quark(), code)
    assert err.message


def ids(tasks):
    return [t.props.id for t in tasks]


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


class Model:
    """A redex and its tasks model, closed at the end of the test."""

    def __init__(self, path=None, origin=ORIGIN):
        self.redex = Net.Redex.new(path)
        self.tasks = Net.DbTasks.new(self.redex, None, origin)

    def close(self):
        self.tasks.close()
        self.redex.close()


@pytest.fixture
def model():
    m = Model()
    yield m
    m.close()


@pytest.fixture
def tasks(model):
    return model.tasks


def pending_filter(**props):
    return Net.TasksFilter(status=Net.TaskStatus.PENDING, **props)


# --- the scenarios ----------------------------------------------------


def test_create_rename_complete_delete(tasks):
    s1 = tasks.create(1, "Write the report", 1000)
    s2 = tasks.create(2, "Review the patch", 2000)
    s3 = tasks.rename(1, "Write the final report", 3000)
    s4 = tasks.complete(2, 4000)
    assert [s1, s2, s3, s4] == [1, 2, 3, 4]

    # Read-your-writes: no main loop iteration was needed.
    assert tasks.count(None) == 2
    assert tasks.props.applied_seq == 4
    first = tasks.get(1)
    second = tasks.get(2)
    assert first.props.title == "Write the final report"
    assert first.get_title() == "Write the final report"
    assert first.props.status == Net.TaskStatus.PENDING
    assert first.props.created_at == 1000
    assert first.props.updated_at == 3000
    assert second.props.title == "Review the patch"
    assert second.props.status == Net.TaskStatus.COMPLETED
    assert second.props.created_at == 2000
    assert second.props.updated_at == 4000

    pending = pending_filter()
    assert pending.props.status_set
    assert ids(tasks.find_many(pending)) == [1]
    assert tasks.count(pending) == 1
    assert tasks.exists(pending)
    assert tasks.find_first(pending).props.id == 1
    completed = Net.TasksFilter(status=Net.TaskStatus.COMPLETED)
    assert ids(tasks.find_many(completed)) == [2]

    # Items are unique: every query returns the same object.
    everything = tasks.find_many(None)
    assert ids(everything) == [1, 2]
    assert everything[0] is first
    assert everything[1] is second
    assert tasks.find_many(pending)[0] is first

    assert tasks.delete(1) == 5
    assert ids(tasks.find_many(None)) == [2]
    assert tasks.find_many(pending) == []
    assert tasks.count(pending) == 0
    assert not tasks.exists(pending)
    assert tasks.find_first(pending) is None
    assert tasks.get(1) is None
    # A deleted item keeps its last values.
    assert first.props.title == "Write the final report"

    drain()
    assert tasks.props.applied_seq == 5
    assert tasks.props.fold_errors == 0


def test_unknown_ids_are_not_found(tasks):
    tasks.create(1, "one", 100)
    # The db that makes the call knows the id is missing: NOT_FOUND, and
    # nothing is logged (issue 14, item 3).
    for call in (
        lambda: tasks.rename(99, "x", 0),
        lambda: tasks.complete(99, 0),
        lambda: tasks.delete(99),
    ):
        with pytest.raises(GLib.Error) as excinfo:
            call()
        assert_net_error(excinfo, Net.Error.NOT_FOUND)
        assert "99" in excinfo.value.message
    assert tasks.props.applied_seq == 1
    assert ids(tasks.find_many(None)) == [1]
    assert tasks.get(99) is None

    # A deleted id is missing too; the next event continues the log.
    assert tasks.delete(1) == 2
    with pytest.raises(GLib.Error) as excinfo:
        tasks.complete(1, 0)
    assert_net_error(excinfo, Net.Error.NOT_FOUND)
    assert tasks.create(1, "again", 0) == 3
    assert tasks.rename(1, "renamed", 0) == 4


def test_id_zero_is_invalid(tasks):
    for call in (
        lambda: tasks.create(0, "zero", 0),
        lambda: tasks.rename(0, "x", 0),
        lambda: tasks.complete(0, 0),
        lambda: tasks.delete(0),
    ):
        with pytest.raises(GLib.Error) as excinfo:
            call()
        assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)
    assert tasks.props.applied_seq == 0
    assert tasks.count(None) == 0


def test_create_replaces(tasks):
    tasks.create(1, "one", 100)
    task = tasks.get(1)
    tasks.complete(1, 200)
    tasks.complete(1, 300)
    assert task.props.status == Net.TaskStatus.COMPLETED
    assert task.props.updated_at == 300

    tasks.create(1, "again", 400)
    assert tasks.get(1) is task
    assert task.props.title == "again"
    assert task.props.status == Net.TaskStatus.PENDING
    assert task.props.created_at == 400
    assert task.props.updated_at == 400


def test_non_ascii_title_search(tasks):
    tasks.create(1, "Straße in Köln", 100)
    tasks.create(2, "CAFÉ crème", 200)
    tasks.create(3, "plain", 300)
    assert tasks.get(1).props.title == "Straße in Köln"
    assert ids(tasks.find_many(Net.TasksFilter(title_contains="STRASSE"))) == [1]
    assert ids(tasks.find_many(Net.TasksFilter(title_contains="köln"))) == [1]
    assert ids(tasks.find_many(Net.TasksFilter(title_contains="café"))) == [2]
    assert ids(tasks.find_many(Net.TasksFilter(title_contains="PLAIN"))) == [3]
    assert tasks.find_many(Net.TasksFilter(title_contains="nowhere")) == []


def test_order_limit(tasks):
    for i in range(1, 6):
        assert tasks.create(i, "task %d" % i, i * 1000) == i
    tasks.complete(1, 9000)

    pending = pending_filter()
    assert ids(tasks.find_many(pending)) == [2, 3, 4, 5]

    newest = pending_filter(order_by=Net.OrderBy.CREATED_DESC, limit=2)
    assert newest.props.limit == 2
    assert ids(tasks.find_many(newest)) == [5, 4]
    # Counts and exists ignore the window.
    assert tasks.count(newest) == 4
    assert tasks.exists(newest)
    assert tasks.find_first(newest).props.id == 5

    newest.props.offset = 3
    assert ids(tasks.find_many(newest)) == [2]
    assert tasks.find_first(newest).props.id == 2
    newest.set_offset(4)
    assert tasks.find_many(newest) == []
    assert tasks.find_first(newest) is None
    assert tasks.count(newest) == 4
    assert tasks.exists(newest)

    updated = Net.TasksFilter(order_by=Net.OrderBy.UPDATED_DESC)
    assert ids(tasks.find_many(updated)) == [1, 5, 4, 3, 2]
    assert ids(tasks.find_many(Net.TasksFilter(order_by=Net.OrderBy.ID_DESC))) == [
        5, 4, 3, 2, 1,
    ]

    # Inclusive time bounds.
    window = Net.TasksFilter(created_after=2000, created_before=4000)
    assert ids(tasks.find_many(window)) == [2, 3, 4]
    assert ids(tasks.find_many(Net.TasksFilter(updated_after=9000))) == [1]


def test_filter_status_set(tasks):
    tasks.create(1, "one", 100)
    tasks.create(2, "two", 200)
    tasks.complete(2, 300)

    f = Net.TasksFilter()
    assert not f.props.status_set
    assert tasks.count(f) == 2
    # Setting status sets status-set (GtkTextTag style)...
    f.props.status = Net.TaskStatus.COMPLETED
    assert f.props.status_set
    assert ids(tasks.find_many(f)) == [2]
    # ...and unsetting it lifts the constraint.
    f.unset_status()
    assert not f.props.status_set
    assert ids(tasks.find_many(f)) == [1, 2]
    f.props.status_set = True
    assert f.props.status == Net.TaskStatus.COMPLETED
    assert ids(tasks.find_many(f)) == [2]


def test_persistence(tmp_path):
    path = str(tmp_path / "db")
    m = Model(path)
    try:
        m.tasks.create(10, "persist me", 100)
        m.tasks.create(11, "and me", 200)
        assert m.tasks.complete(11, 300) == 3
    finally:
        m.close()

    m = Model(path)
    try:
        tasks = m.tasks
        assert tasks.props.applied_seq == 3
        assert ids(tasks.find_many(None)) == [10, 11]
        task = tasks.get(11)
        assert task.props.title == "and me"
        assert task.props.status == Net.TaskStatus.COMPLETED
        assert task.props.updated_at == 300
        assert tasks.get(10).props.status == Net.TaskStatus.PENDING
        # The next mutation gets the next seq.
        assert tasks.create(12, "next", 400) == 4
        assert ids(tasks.find_many(None)) == [10, 11, 12]
    finally:
        m.close()

    m = Model(path)
    try:
        assert ids(m.tasks.find_many(None)) == [10, 11, 12]
        assert m.tasks.props.applied_seq == 4
    finally:
        m.close()


def test_snapshot_restore_same_log(tasks):
    tasks.create(1, "one", 100)
    tasks.create(2, "two", 200)
    tasks.complete(2, 300)
    snap = tasks.snapshot()
    assert isinstance(snap, GLib.Bytes)
    assert snap.get_size() > 0

    tasks.restore(snap)
    assert ids(tasks.find_many(None)) == [1, 2]
    assert tasks.get(2).props.status == Net.TaskStatus.COMPLETED
    assert tasks.get(1).props.title == "one"
    assert tasks.props.applied_seq == 3
    # The next create gets the next seq.
    assert tasks.create(3, "three", 400) == 4
    assert ids(tasks.find_many(None)) == [1, 2, 3]

    # A snapshot taken before event 4 replays it: nothing is skipped.
    tasks.restore(snap)
    assert ids(tasks.find_many(None)) == [1, 2, 3]
    assert tasks.props.applied_seq == 4


def test_snapshot_of_fresh_model():
    fresh = Model()
    try:
        empty = fresh.tasks.snapshot()
        other = Model()
        try:
            # Onto an empty log: empty.
            other.tasks.restore(empty)
            assert other.tasks.find_many(None) == []
            assert other.tasks.count(None) == 0
            assert other.tasks.props.applied_seq == 0
            assert other.tasks.create(1, "first", 100) == 1
        finally:
            other.close()

        # Onto its own log after mutations: at seq 0 it replays them all.
        fresh.tasks.create(1, "one", 100)
        fresh.tasks.create(2, "two", 200)
        fresh.tasks.restore(empty)
        assert ids(fresh.tasks.find_many(None)) == [1, 2]
    finally:
        fresh.close()


def test_restore_onto_empty_log(model):
    tasks = model.tasks
    tasks.create(1, "one", 100)
    tasks.create(2, "two", 200)
    snap = tasks.snapshot()

    other = Model(origin=9)
    try:
        other.tasks.restore(snap)
        assert ids(other.tasks.find_many(None)) == [1, 2]
        assert other.tasks.props.applied_seq == 2
        # The log continues after the snapshot, and the new event is folded.
        assert other.tasks.create(3, "three", 300) == 3
        assert ids(other.tasks.find_many(None)) == [1, 2, 3]
        drain()
        assert ids(other.tasks.find_many(None)) == [1, 2, 3]
        assert other.tasks.props.applied_seq == 3
        assert other.tasks.props.fold_errors == 0
    finally:
        other.close()


# --- errors -------------------------------------------------------------------


def test_closed(model):
    tasks = model.tasks
    tasks.create(1, "one", 0)
    tasks.close()
    tasks.close()  # idempotent
    for call in (
        lambda: tasks.create(2, "two", 0),
        lambda: tasks.rename(1, "uno", 0),
        lambda: tasks.complete(1, 0),
        lambda: tasks.delete(1),
        lambda: tasks.restore(tasks.snapshot()),
    ):
        with pytest.raises(GLib.Error) as excinfo:
            call()
        assert_net_error(excinfo, Net.Error.CLOSED)
    # Queries on the last state keep working.
    assert ids(tasks.find_many(None)) == [1]


def test_snapshot_errors(tasks):
    with pytest.raises(GLib.Error) as excinfo:
        tasks.restore(GLib.Bytes.new(b"\x01\x0f\xff"))
    assert_net_error(excinfo, Net.Error.SNAPSHOT_INVALID)

    tasks.create(1, "one", 100)
    tasks.create(2, "two", 200)
    snap = tasks.snapshot()

    # A log that ends before the snapshot's seq does not fit it.
    short = Model()
    try:
        short.tasks.create(1, "only", 1)
        with pytest.raises(GLib.Error) as excinfo:
            short.tasks.restore(snap)
        assert_net_error(excinfo, Net.Error.SNAPSHOT_MISMATCH)
        assert ids(short.tasks.find_many(None)) == [1]
    finally:
        short.close()


def test_wait_timeout(tasks):
    tasks.create(1, "one", 0)
    assert tasks.wait_for_seq(1, 1000)
    with pytest.raises(GLib.Error) as excinfo:
        tasks.wait_for_seq(10, 50)
    assert_net_error(excinfo, Net.Error.TIMEOUT)


# --- the main loop ------------------------------------------------------------


def test_changed_signal(tasks):
    loop = GLib.MainLoop()
    seen = []

    def on_changed(model, first, last):
        seen.append((first, last, model.props.applied_seq))
        loop.quit()

    handler = tasks.connect("changed", on_changed)
    seq = tasks.create(1, "one", 0)
    # Never emitted from inside the mutation.
    assert seen == []
    run_loop(loop, "the changed signal")
    assert seen == [(seq, seq, seq)]

    # A rename notifies the item from the loop too.
    task = tasks.get(1)
    notified = []

    def on_notify(obj, pspec):
        notified.append(pspec.name)

    task.connect("notify", on_notify)
    seq = tasks.rename(1, "uno", 0)
    assert task.props.title == "uno"
    assert notified == []
    run_loop(loop, "the second changed signal")
    assert seen[-1] == (seq, seq, seq)
    assert "title" in notified
    assert "updated-at" in notified
    assert "status" not in notified
    tasks.disconnect(handler)


def test_wait_for_seq_async(tasks):
    loop = GLib.MainLoop()
    outcome = []

    def on_done(source, result):
        try:
            outcome.append(source.wait_for_seq_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    tasks.wait_for_seq_async(2, None, on_done)
    tasks.create(1, "one", 0)
    tasks.create(2, "two", 0)
    # Never completed synchronously.
    assert outcome == []
    run_loop(loop, "wait_for_seq_async")
    assert outcome == [True]


def test_wait_for_seq_async_closed(tasks):
    loop = GLib.MainLoop()
    outcome = []

    def on_done(source, result):
        try:
            outcome.append(source.wait_for_seq_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    tasks.wait_for_seq_async(5, None, on_done)
    tasks.close()
    run_loop(loop, "the closed wait")
    assert len(outcome) == 1
    assert isinstance(outcome[0], GLib.Error)
    assert outcome[0].domain == NET_ERROR_DOMAIN
    assert outcome[0].code == Net.Error.CLOSED


def wait_outcome(tasks, seq, cancellable, before_run=None):
    """Runs wait_for_seq_async(seq) to its end: True or the GLib.Error."""
    loop = GLib.MainLoop()
    outcome = []

    def on_done(source, result):
        try:
            outcome.append(source.wait_for_seq_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    tasks.wait_for_seq_async(seq, cancellable, on_done)
    if before_run is not None:
        before_run()
    if not outcome:
        run_loop(loop, "wait_for_seq_async")
    assert len(outcome) == 1
    return outcome[0]


def assert_cancelled(outcome):
    assert isinstance(outcome, GLib.Error), outcome
    assert outcome.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED), outcome


def test_wait_for_seq_async_already_cancelled(tasks):
    # Issue 14, item 2: an already-cancelled cancellable answers CANCELLED
    # promptly, not at close.
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    assert_cancelled(wait_outcome(tasks, 5, cancellable))
    # The model goes on as before.
    tasks.create(1, "one", 0)
    assert wait_outcome(tasks, 1, None) is True


def test_wait_for_seq_async_cancelled_while_waiting(tasks):
    cancellable = Gio.Cancellable()

    def cancel_soon():
        GLib.timeout_add(20, lambda: cancellable.cancel() or GLib.SOURCE_REMOVE)

    assert_cancelled(wait_outcome(tasks, 5, cancellable, cancel_soon))

    # Cancelling from another thread answers from the loop too.
    cancellable = Gio.Cancellable()
    thread = threading.Thread(target=cancellable.cancel)
    assert_cancelled(wait_outcome(tasks, 5, cancellable, thread.start))
    thread.join()

    # A wait that completed is not disturbed by a later cancel.
    cancellable = Gio.Cancellable()
    tasks.create(1, "one", 0)
    assert wait_outcome(tasks, 1, cancellable) is True
    cancellable.cancel()
    drain()


def test_wait_for_seq_after_close(model):
    # Issue 14, item 4: a seq the state holds stays waitable after close.
    tasks = model.tasks
    tasks.create(1, "one", 0)
    tasks.create(2, "two", 0)
    tasks.close()
    assert tasks.wait_for_seq(2, 100)
    assert tasks.wait_for_seq(1, 100)
    assert wait_outcome(tasks, 2, None) is True
    with pytest.raises(GLib.Error) as excinfo:
        tasks.wait_for_seq(3, 100)
    assert_net_error(excinfo, Net.Error.CLOSED)
    outcome = wait_outcome(tasks, 3, None)
    assert isinstance(outcome, GLib.Error)
    assert outcome.matches(Net.error_quark(), Net.Error.CLOSED)


def test_pending_wait_for_applied_seq_succeeds_at_close(model):
    tasks = model.tasks

    def create_then_close():
        tasks.create(1, "one", 0)  # applied at once, delivered later
        tasks.close()

    assert wait_outcome(tasks, 1, None, create_then_close) is True


def test_live_model_says_closed(model):
    tasks = model.tasks
    tasks.create(1, "one", 0)
    drain()
    live = tasks.watch(None)
    assert live.props.closed is False
    notified = []
    live.connect("notify::closed", lambda obj, pspec: notified.append(obj.props.closed))
    tasks.close()
    assert notified == [True]
    assert live.props.closed is True
    assert live.get_closed() is True
    # It keeps its last contents.
    assert [t.props.id for t in live] == [1]
    # A model watched after close is closed from the start.
    assert tasks.watch(None).props.closed is True


def test_writes_from_a_thread(tasks):
    n = 50
    seen_threads = set()

    def on_changed(model, first, last):
        seen_threads.add(threading.get_ident())

    tasks.connect("changed", on_changed)

    def writer():
        for i in range(n):
            tasks.create(1000 + i, "from a thread %d" % i, 0)

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()

    # Folded on the owner context only, once it runs.
    assert tasks.props.applied_seq == 0
    assert tasks.wait_for_seq(n, TIMEOUT_SECONDS * 1000)
    assert tasks.count(None) == n
    assert seen_threads == {threading.get_ident()}
    # The next local mutation continues after the thread's.
    assert tasks.create(1, "local", 0) == n + 1


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-v"]))


def test_filters_share_one_base(tasks):
    # Issue 15: one base for order-by, limit, offset, the time bounds and
    # the search text; NetQueryModel:filter has that type (issue 14, item
    # 11: a wrong object is refused up front).
    tf = Net.TasksFilter(title_contains="a", limit=2, offset=1,
                         order_by=Net.OrderBy.ID_DESC, created_after=5)
    mf = Net.MemoriesFilter(content_contains="b", limit=3)
    assert isinstance(tf, Net.FilterBase)
    assert isinstance(mf, Net.FilterBase)
    assert (tf.props.limit, tf.props.offset, tf.props.order_by) == (2, 1, Net.OrderBy.ID_DESC)
    assert tf.get_limit() == 2 and tf.get_created_after() == 5
    assert mf.get_limit() == 3 and mf.props.content_contains == "b"
    assert tf.copy().equal(tf)

    pspec = Net.QueryModel.find_property("filter")
    assert pspec.value_type == Net.FilterBase.__gtype__

    for i in range(1, 5):
        tasks.create(i, "a%d" % i, 10 * i)
    live = tasks.watch(tf)
    assert ids(live) == [3, 2]
    redex = Net.Redex.new(None)
    with pytest.raises(TypeError):
        live.set_filter(redex)
    assert live.props.filter is tf
    assert live.get_filter() is tf
    notified = []
    tf.connect("notify", lambda obj, pspec: notified.append(pspec.name))
    tf.props.limit = 3
    assert notified == ["limit"]
    assert ids(live) == [3, 2, 1]
