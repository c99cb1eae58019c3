# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The async forms of NetDb from Python with plain callbacks (DESIGN.md §7):
# opening (Net.Db.new_async, open_from_snapshot_async, the builder, and
# Gio.AsyncInitable), snapshot, checkpoint, sync and close, and that a
# GCancellable is honoured.

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import Gio, GLib, Net  # noqa: E402

TIMEOUT_SECONDS = 20


def assert_net_error(excinfo, code):
    err = excinfo.value
    assert isinstance(err, GLib.Error), err
    assert err.matches(Net.error_quark(), code), err


def run(start):
    """Calls start(callback) and runs a main loop until the callback ran;
    returns its result.  Fails instead of hanging."""
    loop = GLib.MainLoop()
    results = []

    def callback(source, result, *user_data):
        results.append(result)
        loop.quit()

    def on_timeout():
        loop.quit()
        return GLib.SOURCE_REMOVE

    start(callback)
    assert not results, "the callback ran synchronously"
    timeout = GLib.timeout_add_seconds(TIMEOUT_SECONDS, on_timeout)
    loop.run()
    assert results, "timed out waiting for the callback"
    GLib.source_remove(timeout)
    return results[0]


def fill(path, n):
    db = Net.Db.new(path, Net.DbModels.TASKS)
    for i in range(1, n + 1):
        db.get_tasks().create(i, "task %d" % i, 0)
    return db


def test_new_async(tmp_path):
    path = str(tmp_path / "db")
    fill(path, 1000).close()

    result = run(lambda cb: Net.Db.new_async(path, Net.DbModels.TASKS,
                                             GLib.PRIORITY_DEFAULT, None, cb))
    db = Net.Db.new_finish(result)
    assert db.get_tasks().count(None) == 1000
    # Owned by this thread's context: read-your-writes and waits work.
    seq = db.get_tasks().create(1001, "after", 0)
    assert db.get_tasks().wait_for_seq(seq, 10000)
    assert db.close()


def test_new_async_locked(tmp_path):
    path = str(tmp_path / "db")
    writer = fill(path, 1)
    result = run(lambda cb: Net.Db.new_async(path, Net.DbModels.TASKS,
                                             GLib.PRIORITY_DEFAULT, None, cb))
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.new_finish(result)
    assert_net_error(excinfo, Net.Error.LOCKED)
    writer.close()


def test_new_async_cancelled(tmp_path):
    path = str(tmp_path / "db")
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    result = run(lambda cb: Net.Db.new_async(path, Net.DbModels.TASKS,
                                             GLib.PRIORITY_DEFAULT,
                                             cancellable, cb))
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.new_finish(result)
    assert excinfo.value.matches(Gio.io_error_quark(),
                                 Gio.IOErrorEnum.CANCELLED)
    # Nothing was left locked.
    Net.Db.new(path, Net.DbModels.TASKS).close()


def test_async_initable(tmp_path):
    path = str(tmp_path / "db")
    fill(path, 3).close()
    db = Net.Db(path=path, models=Net.DbModels.TASKS)
    result = run(lambda cb: db.init_async(GLib.PRIORITY_DEFAULT, None, cb))
    assert db.init_finish(result)
    assert db.get_tasks().count(None) == 3
    db.close()


def test_from_snapshot_and_builder_async(tmp_path):
    source = fill(None, 10)
    blob = source.snapshot()
    source.close()

    path = str(tmp_path / "restored")
    result = run(lambda cb: Net.Db.open_from_snapshot_async(
        blob, path, Net.DbModels.TASKS, GLib.PRIORITY_DEFAULT, None, cb))
    db = Net.Db.open_from_snapshot_finish(result)
    assert db.get_tasks().count(None) == 10
    db.close()

    builder = Net.DbBuilder.new().persistent_dir(path).with_tasks()
    result = run(lambda cb: builder.build_async(GLib.PRIORITY_DEFAULT, None, cb))
    db = builder.build_finish(result)
    assert db.get_tasks().count(None) == 10

    # Snapshot, checkpoint, sync and close, each without blocking.
    result = run(lambda cb: db.snapshot_async(GLib.PRIORITY_DEFAULT, None, cb))
    copy = Net.Db.open_from_snapshot(db.snapshot_finish(result), None,
                                     Net.DbModels.TASKS)
    assert copy.get_tasks().count(None) == 10
    copy.close()
    db.get_tasks().create(11, "eleven", 0)
    result = run(lambda cb: db.checkpoint_async(GLib.PRIORITY_DEFAULT, None, cb))
    assert db.checkpoint_finish(result)
    result = run(lambda cb: db.sync_async(GLib.PRIORITY_DEFAULT, None, cb))
    assert db.sync_finish(result)
    result = run(lambda cb: db.close_async(GLib.PRIORITY_DEFAULT, None, cb))
    assert db.close_finish(result)
    with pytest.raises(GLib.Error) as excinfo:
        db.get_tasks().create(12, "closed", 0)
    assert_net_error(excinfo, Net.Error.CLOSED)

    reopened = Net.Db.new(path, Net.DbModels.TASKS)
    assert reopened.get_tasks().count(None) == 11
    reopened.close()


def test_cancelled_snapshot_and_sync(tmp_path):
    db = fill(str(tmp_path / "db"), 10)
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    for start, finish in ((db.snapshot_async, db.snapshot_finish),
                          (db.sync_async, db.sync_finish),
                          (db.checkpoint_async, db.checkpoint_finish)):
        result = run(lambda cb: start(GLib.PRIORITY_DEFAULT, cancellable, cb))
        with pytest.raises(GLib.Error) as excinfo:
            finish(result)
        assert excinfo.value.matches(Gio.io_error_quark(),
                                     Gio.IOErrorEnum.CANCELLED)
    db.close()
