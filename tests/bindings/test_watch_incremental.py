# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A live query over a large table fills in steps from an idle source
# (NetQueryModel:incremental, :pending) while a GLib.MainLoop keeps
# running, through PyGObject against the uninstalled build.  Only the
# plain GI API is used: no override module.
#
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 -m pytest tests/bindings/test_watch_incremental.py

import gc
import random

import gi
import pytest

gi.require_version("GLib", "2.0")
gi.require_version("Gio", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, Net  # noqa: E402

TIMEOUT_SECONDS = 60
# More than a watch examines before it returns (8192 entries).
N = 30000
# A fill of many steps on any machine: the 5 ms timeout ticks meanwhile.
HUGE_N = 200000
# At most this many rounds of mutations: a fill ends however slow the
# machine is.
MAX_ROUNDS = 300


def populate(n):
    db = Net.Db.new(None, Net.DbModels.TASKS)
    tasks = db.get_tasks()
    for i in range(1, n + 1):
        # Created times out of id order, some shared.
        tasks.create(i, "task-%d" % i, 1000 + (i * 7919) % (n // 2 + 1))
        if i % 3 == 0:
            tasks.complete(i, 0)
    drain()
    return db, tasks


@pytest.fixture
def tasks():
    db, tasks = populate(N)
    yield tasks
    db.close()
    drain()


@pytest.fixture
def huge():
    db, tasks = populate(HUGE_N)
    yield tasks
    db.close()
    drain()


def drain():
    context = GLib.MainContext.default()
    while context.iteration(False):
        pass


class Shadow:
    """Replays every items-changed onto a list that must equal the model."""

    def __init__(self, model):
        self.model = model
        self.items = [model.get_item(i) for i in range(model.get_n_items())]
        self.emissions = 0
        self.handler = model.connect("items-changed", self.on_items_changed)

    def on_items_changed(self, model, position, removed, added):
        assert removed > 0 or added > 0
        assert position + removed <= len(self.items)
        self.emissions += 1
        self.items[position:position + removed] = [
            model.get_item(position + i) for i in range(added)
        ]
        assert model.get_n_items() == len(self.items)

    def check(self):
        assert len(self.items) == self.model.get_n_items()
        for i, item in enumerate(self.items):
            assert self.model.get_item(i) is item

    def disconnect(self):
        self.model.disconnect(self.handler)


def assert_equals_find_many(tasks, model):
    expected = tasks.find_many(model.props.filter)
    assert model.props.pending == 0
    assert model.get_n_items() == len(expected)
    for i, task in enumerate(expected):
        assert model.get_item(i) is task


def wait_filled(models, on_tick=None):
    """Runs a GLib.MainLoop until every model is full; a 5 ms timeout
    ticks meanwhile.  Returns how often it ticked while one was filling."""
    loop = GLib.MainLoop()
    ticks = []
    timed_out = []

    def tick():
        if any(m.props.pending > 0 for m in models):
            ticks.append(True)
        if on_tick is not None:
            on_tick()
        return GLib.SOURCE_CONTINUE

    def check(*args):
        if all(m.props.pending == 0 for m in models):
            loop.quit()

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    handlers = [(m, m.connect("notify::pending", check)) for m in models]
    ticker = GLib.timeout_add(5, tick)
    guard = GLib.timeout_add_seconds(TIMEOUT_SECONDS, on_timeout)
    check()
    if any(m.props.pending > 0 for m in models):
        loop.run()
    GLib.source_remove(ticker)
    if not timed_out:
        GLib.source_remove(guard)
    for m, h in handlers:
        m.disconnect(h)
    assert not timed_out, "timed out waiting for the fill"
    drain()
    return len(ticks)


def test_watch_returns_before_it_is_full(huge):
    tasks = huge
    model = tasks.watch(None)
    assert model.props.incremental
    pending = model.props.pending
    n_first = model.get_n_items()
    assert 0 < pending <= HUGE_N
    assert 0 < n_first < HUGE_N
    assert n_first + pending == HUGE_N
    assert model.get_item(0).props.id == 1

    # Any source of the loop runs before the rest of the fill.
    pending_then = []

    def once():
        pending_then.append(model.props.pending)
        return GLib.SOURCE_REMOVE

    GLib.idle_add(once, priority=GLib.PRIORITY_DEFAULT)
    shadow = Shadow(model)
    ticks = wait_filled([model])
    assert pending_then and pending_then[0] > 0
    # The loop ran while it filled, and each step told what it added.
    assert ticks > 0
    assert shadow.emissions > 0
    shadow.check()
    assert_equals_find_many(tasks, model)
    shadow.disconnect()


def test_mutations_during_the_fill(tasks):
    rand = random.Random(1234)
    filters = [
        None,
        Net.TasksFilter(status=Net.TaskStatus.PENDING,
                        order_by=Net.OrderBy.CREATED_DESC),
        Net.TasksFilter(order_by=Net.OrderBy.UPDATED_ASC, limit=40, offset=5),
        Net.TasksFilter(title_contains="x", order_by=Net.OrderBy.ID_DESC),
    ]
    models = [tasks.watch(f) for f in filters]
    shadows = [Shadow(m) for m in models]
    assert models[0].props.pending > 0

    rounds = []

    def mutate(*args):
        if len(rounds) >= MAX_ROUNDS:
            return
        rounds.append(True)
        for _ in range(20):
            i = rand.randrange(1, N + 2000)
            ts = 1000 + rand.randrange(N)
            op = rand.randrange(5)
            try:
                if op == 0:
                    tasks.create(i, rand.choice(["task-x", "task-y"]), ts)
                elif op == 1:
                    tasks.rename(i, rand.choice(["task-xx", "renamed"]), ts)
                elif op == 2:
                    tasks.complete(i, ts)
                else:
                    tasks.delete(i)
            except GLib.Error:
                pass   # an id that does not exist

    # After each step of the first model (a handler may mutate), and on
    # the ticks between any two dispatches.
    models[0].connect("notify::pending", mutate)
    wait_filled(models, on_tick=mutate)
    assert rounds
    for m, s in zip(models, shadows):
        s.check()
        assert_equals_find_many(tasks, m)
        assert m.props.seq == tasks.props.applied_seq
        s.disconnect()


def test_filter_change_restarts_the_fill(tasks):
    filt = Net.TasksFilter()
    model = tasks.watch(filt)
    shadow = Shadow(model)
    context = GLib.MainContext.default()

    context.iteration(True)
    filt.props.title_contains = "1"
    assert model.props.pending > 0
    context.iteration(True)
    filt.props.order_by = Net.OrderBy.UPDATED_DESC
    assert model.props.pending > 0
    context.iteration(True)
    pending = Net.TasksFilter(status=Net.TaskStatus.PENDING)
    model.props.filter = pending
    assert model.props.pending > 0
    shadow.check()

    wait_filled([model])
    shadow.check()
    assert_equals_find_many(tasks, model)
    shadow.disconnect()


def test_close_in_the_middle_of_a_fill(tasks):
    model = tasks.watch(None)
    closed = []
    model.connect("notify::closed", lambda *a: closed.append(True))
    assert model.props.pending > 0

    tasks.close()
    assert closed and model.props.closed
    # The fill ends over the last state.
    wait_filled([model])
    assert_equals_find_many(tasks, model)


def test_drop_in_the_middle_of_a_fill(tasks):
    model = tasks.watch(None)
    assert model.props.pending > 0
    del model
    gc.collect()

    # Its idle source went with it: the loop runs dry.
    context = GLib.MainContext.default()
    for _ in range(1000):
        if not context.iteration(False):
            break
    else:
        pytest.fail("the main context never ran dry")


def test_incremental_false_fills_at_once(tasks):
    model = tasks.watch(None)
    assert model.props.pending > 0
    shadow = Shadow(model)
    model.props.incremental = False
    assert model.props.pending == 0
    shadow.check()
    assert_equals_find_many(tasks, model)

    pending = Net.TasksFilter(status=Net.TaskStatus.PENDING)
    model.props.filter = pending
    assert model.props.pending == 0
    shadow.check()
    assert_equals_find_many(tasks, model)
    shadow.disconnect()
