# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Restoring a snapshot into a directory never merges two histories
# (DESIGN.md §7): Net.Db.open_from_snapshot() and the builder's
# build_from_snapshot() refuse a directory whose logs hold another history
# with NET_ERROR_EXISTS and leave it untouched, and still restore a
# database's own snapshot into its own directory.

import hashlib
import os

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, Net  # noqa: E402

BOTH = Net.DbModels.TASKS | Net.DbModels.MEMORIES


def assert_net_error(excinfo, code):
    err = excinfo.value
    assert isinstance(err, GLib.Error), err
    assert err.matches(Net.error_quark(), code), err
    assert err.message


def task_ids(db):
    return [task.props.id for task in db.get_tasks().find_many(None)]


def tree(path):
    """Every file under @path with a digest of its contents."""
    found = {}
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                found[os.path.relpath(full, path)] = \
                    hashlib.sha256(f.read()).hexdigest()
    return found


def make_db(path, first_id, n):
    db = Net.Db.new(path, BOTH)
    for i in range(n):
        db.get_tasks().create(first_id + i, "task %d" % (first_id + i), 0)
    return db


@pytest.fixture
def snapshot_a():
    """A snapshot of 5 tasks (ids 1–5), from a database in memory."""
    db = make_db(None, 1, 5)
    blob = db.snapshot()
    db.close()
    return blob


@pytest.fixture
def dir_b(tmp_path):
    """A closed database directory holding 8 other tasks (ids 101–108)."""
    path = str(tmp_path / "b")
    make_db(path, 101, 8).close()
    return path


def test_snapshot_into_another_database_is_refused(snapshot_a, dir_b):
    before = tree(dir_b)

    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(snapshot_a, dir_b, BOTH)
    assert_net_error(excinfo, Net.Error.EXISTS)
    assert dir_b in excinfo.value.message

    with pytest.raises(GLib.Error) as excinfo:
        Net.DbBuilder.new().persistent_dir(dir_b).with_tasks() \
            .build_from_snapshot(snapshot_a)
    assert_net_error(excinfo, Net.Error.EXISTS)

    # Untouched, byte for byte, and still the same database.
    assert tree(dir_b) == before
    db = Net.Db.new(dir_b, BOTH)
    assert task_ids(db) == list(range(101, 109))
    db.close()


def test_snapshot_of_tasks_into_a_database_with_memories(tmp_path):
    """An enabled model the snapshot lacks would start empty over events
    of another history: refused too."""
    source = Net.Db.new(None, Net.DbModels.TASKS)
    source.get_tasks().create(1, "only tasks", 0)
    blob = source.snapshot()
    source.close()

    path = str(tmp_path / "memories")
    db = Net.Db.new(path, BOTH)
    db.get_memories().store(7, "kept", None, None, 0)
    db.close()

    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(blob, path, BOTH)
    assert_net_error(excinfo, Net.Error.EXISTS)
    # With only the tasks model there is nothing to merge.
    db = Net.Db.open_from_snapshot(blob, path, Net.DbModels.TASKS)
    assert task_ids(db) == [1]
    db.close()


def test_own_snapshot_into_own_directory(tmp_path):
    path = str(tmp_path / "own")
    db = make_db(path, 1, 5)
    blob = db.snapshot()
    # Events after the snapshot are the same history: replayed.
    db.get_tasks().create(6, "after the snapshot", 0)
    db.close()

    restored = Net.Db.open_from_snapshot(blob, path, BOTH)
    assert task_ids(restored) == [1, 2, 3, 4, 5, 6]
    assert restored.get_tasks().create(7, "next", 0) == 7
    restored.close()

    built = Net.DbBuilder.new().persistent_dir(path).with_tasks() \
        .with_memories().build_from_snapshot(blob)
    assert task_ids(built) == [1, 2, 3, 4, 5, 6, 7]
    built.close()


def test_same_seqs_other_history_is_refused(tmp_path):
    """Two databases with as many events: the seqs match, the events do
    not."""
    a = str(tmp_path / "a")
    b = str(tmp_path / "b")
    db = make_db(a, 1, 5)
    blob = db.snapshot()
    db.close()
    make_db(b, 11, 5).close()

    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(blob, b, BOTH)
    assert_net_error(excinfo, Net.Error.EXISTS)


def test_snapshot_into_empty_or_new_directory(snapshot_a, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (str(empty), str(tmp_path / "new")):
        db = Net.Db.open_from_snapshot(snapshot_a, path, BOTH)
        assert task_ids(db) == [1, 2, 3, 4, 5]
        db.close()
        # A database opened from a snapshot and reopened continues it.
        db = Net.Db.open_from_snapshot(snapshot_a, path, BOTH)
        assert task_ids(db) == [1, 2, 3, 4, 5]
        db.close()


def test_a_log_that_ends_before_the_snapshot_is_a_mismatch(tmp_path):
    """Not a merge: the restore itself refuses a log that is too short."""
    a = str(tmp_path / "a")
    db = make_db(a, 1, 5)
    blob = db.snapshot()
    db.close()
    short = str(tmp_path / "short")
    make_db(short, 1, 2).close()

    before = tree(short)
    with pytest.raises(GLib.Error) as excinfo:
        Net.Db.open_from_snapshot(blob, short, BOTH)
    assert_net_error(excinfo, Net.Error.SNAPSHOT_MISMATCH)
    assert tree(short) == before
