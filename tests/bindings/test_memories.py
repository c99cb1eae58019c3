# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The memories model through PyGObject (plain GI API), against the
# uninstalled build:
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/bindings/test_memories.py

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, Net  # noqa: E402

ORIGIN = 9


def ids(items):
    return sorted(m.props.id for m in items)


def open_memories(path=None):
    redex = Net.Redex.new(path)
    return redex, Net.DbMemories.new(redex, None, ORIGIN)


def populate(memories):
    memories.store(1, "Standup notes", ["work", "notes"], "alice", 100)
    memories.store(2, "Buy milk", ["personal", "todo"], "alice", 200)
    memories.store(3, "Fire in the datacenter", ["work", "design"], "bob", 300)
    memories.retag(1, ["work", "meetings"], 400)
    memories.pin(3, 500)
    memories.pin(1, 600)


def check_scenario(memories):
    assert ids(memories.find_many(Net.MemoriesFilter(tag="work"))) == [1, 3]
    assert ids(memories.find_many(Net.MemoriesFilter(any_tags=["design", "todo"]))) == [2, 3]
    assert ids(memories.find_many(Net.MemoriesFilter(all_tags=["work", "meetings"]))) == [1]
    assert ids(memories.find_many(Net.MemoriesFilter(pinned=True))) == [1, 3]
    assert ids(memories.find_many(Net.MemoriesFilter(source="bob"))) == [3]
    assert ids(memories.find_many(Net.MemoriesFilter(content_contains="DATACENTER"))) == [3]
    assert memories.find_many(Net.MemoriesFilter(content_contains="unicorn")) == []
    assert memories.count(Net.MemoriesFilter(tag="work", limit=1)) == 2
    first = memories.get(1)
    assert list(first.props.tags) == ["work", "meetings"]
    assert first.props.pinned


def test_scenario():
    redex, memories = open_memories()
    populate(memories)
    check_scenario(memories)


def test_persistence(tmp_path):
    redex, memories = open_memories(str(tmp_path))
    populate(memories)
    assert memories.close()
    assert redex.close()
    del memories, redex

    redex, memories = open_memories(str(tmp_path))
    check_scenario(memories)
    assert memories.get_applied_seq() == 6
    assert memories.store(4, "next", None, None, 0) == 7


def test_restore_keeps_pinned_and_created():
    redex, memories = open_memories()
    memories.store(1, "first", ["a"], "me", 100)
    memories.pin(1, 200)
    memories.store(1, "second", ["b"], "you", 300)
    item = memories.get(1)
    assert item.props.pinned
    assert item.props.created_at == 100
    assert item.props.updated_at == 300
    assert item.props.content == "second"

    snap = memories.snapshot()
    assert memories.restore(snap)
    assert memories.get(1).props.pinned


def test_errors():
    redex, memories = open_memories()
    assert memories.close()
    with pytest.raises(GLib.Error) as excinfo:
        memories.store(1, "late", None, None, 0)
    assert excinfo.value.matches(Net.error_quark(), Net.Error.CLOSED)

    redex, memories = open_memories()
    with pytest.raises(GLib.Error) as excinfo:
        memories.restore(GLib.Bytes.new(b"\x01\x0f\xff"))
    assert excinfo.value.matches(Net.error_quark(), Net.Error.SNAPSHOT_INVALID)


def test_changed_on_main_loop():
    redex, memories = open_memories()
    loop = GLib.MainLoop()
    seen = []

    def on_changed(model, first, last):
        seen.append((first, last))
        loop.quit()

    memories.connect("changed", on_changed)
    memories.store(1, "hello", ["x"], None, 0)
    assert seen == []  # never inside the mutation
    GLib.timeout_add_seconds(10, loop.quit)
    loop.run()
    assert seen and seen[-1][1] == 1


def assert_net_error(excinfo, code):
    assert excinfo.value.matches(Net.error_quark(), code), excinfo.value
    assert excinfo.value.message


def test_unknown_ids_are_not_found():
    # Issue 14, item 3: NOT_FOUND on the db that makes the call, nothing
    # logged.
    redex, memories = open_memories()
    memories.store(1, "one", ["a"], None, 100)
    for call in (
        lambda: memories.retag(99, ["b"], 0),
        lambda: memories.pin(99, 0),
        lambda: memories.unpin(99, 0),
        lambda: memories.delete(99),
    ):
        with pytest.raises(GLib.Error) as excinfo:
            call()
        assert_net_error(excinfo, Net.Error.NOT_FOUND)
        assert "99" in excinfo.value.message
    assert memories.get_applied_seq() == 1
    assert memories.get(99) is None

    assert memories.delete(1) == 2
    with pytest.raises(GLib.Error) as excinfo:
        memories.pin(1, 0)
    assert_net_error(excinfo, Net.Error.NOT_FOUND)
    assert memories.store(1, "again", None, None, 0) == 3
    assert memories.pin(1, 0) == 4


def test_id_zero_and_empty_tag_are_invalid():
    # Issue 14, item 12.
    redex, memories = open_memories()
    memories.store(1, "one", ["a"], None, 100)
    for call in (
        lambda: memories.store(0, "zero", None, None, 0),
        lambda: memories.retag(0, ["a"], 0),
        lambda: memories.pin(0, 0),
        lambda: memories.unpin(0, 0),
        lambda: memories.delete(0),
        lambda: memories.store(2, "two", [""], None, 0),
        lambda: memories.store(2, "two", ["ok", ""], None, 0),
        lambda: memories.retag(1, [""], 0),
    ):
        with pytest.raises(GLib.Error) as excinfo:
            call()
        assert_net_error(excinfo, Net.Error.INVALID_ARGUMENT)
    assert memories.get_applied_seq() == 1
    assert list(memories.get(1).props.tags) == ["a"]


def test_tags_match_case_insensitively():
    # Issue 14, item 12: tags match like content search (case-insensitive,
    # Unicode-aware); a memory keeps its tags as written.
    redex, memories = open_memories()
    memories.store(1, "one", ["Work", "Été"], None, 100)
    memories.store(2, "two", ["work"], None, 200)
    memories.store(3, "three", ["WORK", "work"], None, 300)
    memories.store(4, "four", ["home"], None, 400)

    assert list(memories.get(1).props.tags) == ["Work", "Été"]
    assert memories.get(1).has_tag("work")
    assert memories.get(1).has_tag("ÉTÉ")
    assert memories.get(1).has_tag("été")
    assert not memories.get(4).has_tag("work")

    for tag in ("work", "Work", "WORK", "wOrK"):
        f = Net.MemoriesFilter(tag=tag)
        assert ids(memories.find_many(f)) == [1, 2, 3], tag
        assert memories.count(f) == 3, tag
        assert memories.count(Net.MemoriesFilter(tag=tag, limit=1)) == 3
    assert ids(memories.find_many(Net.MemoriesFilter(tag="ÉTÉ"))) == [1]
    assert ids(memories.find_many(Net.MemoriesFilter(any_tags=["HOME", "été"]))) == [1, 4]
    assert ids(memories.find_many(Net.MemoriesFilter(all_tags=["WORK", "été"]))) == [1]
    assert memories.find_many(Net.MemoriesFilter(tag="wor")) == []

    # A live query and a retag agree with find_many.
    live = memories.watch(Net.MemoriesFilter(tag="WORK"))
    assert ids(live) == [1, 2, 3]
    memories.retag(3, ["work"], 500)
    memories.retag(2, ["Home"], 600)
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass
    assert ids(live) == [1, 3]
    assert ids(memories.find_many(Net.MemoriesFilter(tag="home"))) == [2, 4]

    # The same after a snapshot round trip.
    assert memories.restore(memories.snapshot())
    assert ids(memories.find_many(Net.MemoriesFilter(tag="Work"))) == [1, 3]
    assert memories.count(Net.MemoriesFilter(tag="ÉtÉ")) == 1


def test_wait_for_seq_async_cancelled():
    # Issue 14, item 2.
    from gi.repository import Gio

    redex, memories = open_memories()
    loop = GLib.MainLoop()
    outcome = []

    def on_done(source, result):
        try:
            outcome.append(source.wait_for_seq_finish(result))
        except GLib.Error as e:
            outcome.append(e)
        loop.quit()

    cancellable = Gio.Cancellable()
    cancellable.cancel()
    memories.wait_for_seq_async(3, cancellable, on_done)
    timeout = GLib.timeout_add_seconds(10, loop.quit)
    loop.run()
    GLib.source_remove(timeout)
    assert len(outcome) == 1
    assert outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)

    outcome.clear()
    cancellable = Gio.Cancellable()
    memories.wait_for_seq_async(3, cancellable, on_done)
    GLib.timeout_add(20, lambda: cancellable.cancel() or GLib.SOURCE_REMOVE)
    timeout = GLib.timeout_add_seconds(10, loop.quit)
    loop.run()
    GLib.source_remove(timeout)
    assert len(outcome) == 1
    assert outcome[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)


def test_wait_for_seq_after_close_and_closed_model():
    # Issue 14, item 4.
    redex, memories = open_memories()
    memories.store(1, "one", ["a"], None, 100)
    live = memories.watch(None)
    notified = []
    live.connect("notify::closed", lambda obj, pspec: notified.append(obj.props.closed))
    assert memories.close()
    assert notified == [True]
    assert memories.wait_for_seq(1, 100)
    with pytest.raises(GLib.Error) as excinfo:
        memories.wait_for_seq(2, 100)
    assert_net_error(excinfo, Net.Error.CLOSED)
    assert ids(live) == [1]
