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
