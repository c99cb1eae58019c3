#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tasks.py: a live `pending` watch from Python (PyGObject), no GTK needed.
#
# The same scenario as the GTK example (examples/gtk-tasks): an in-memory
# db, a watch on the pending tasks that prints every change, tasks added
# from a main-loop timeout, one completed, then a search that sets the
# model's `filter`.  Exits 0 when the watch saw what it should.
#
# Against the uninstalled build (see examples/README.md):
#   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
#     /usr/bin/python3 examples/tasks.py

import sys

import gi

gi.require_version("GLib", "2.0")
gi.require_version("Net", "1.0")
from gi.repository import GLib, Net  # noqa: E402

TIMEOUT_SECONDS = 10


def titles(model):
    return [task.props.title for task in model]


def main():
    db = Net.Db.new(None, Net.DbModels.TASKS)
    tasks = db.get_tasks()

    # A live GListModel: its contents always equal find_many(filter).
    pending = tasks.watch(Net.TasksFilter(status=Net.TaskStatus.PENDING))

    loop = GLib.MainLoop()
    failures = []
    state = {"expected": None, "step": 0}

    def on_items_changed(model, position, removed, added):
        print(f"items-changed position={position} removed={removed} added={added}"
              f" -> {model.get_n_items()}: {titles(model)}")
        if model.get_n_items() == state["expected"]:
            state["expected"] = None
            GLib.idle_add(next_step)

    pending.connect("items-changed", on_items_changed)

    def add_tasks():
        for task_id, title in enumerate(["Buy milk", "Write the quarterly report",
                                         "Walk the dog", "Oat milk for the guests"],
                                        start=1):
            # 0 means "now"; the seq is the event's place in the log.
            seq = tasks.create(task_id, title, 0)
            print(f"created task {task_id} {title!r} at seq {seq}")

    def complete_one():
        print("completing task 3")
        tasks.complete(3, 0)

    def search():
        print("searching for 'MILK'")
        # Setting a new filter updates the model with a minimal diff.  A
        # method call, not `pending.props.filter = ...`: assigning a
        # temporary object to an object property makes PyGObject warn about
        # a borrowed reference.
        pending.set_filter(Net.TasksFilter(status=Net.TaskStatus.PENDING,
                                           title_contains="MILK"))

    def clear_search():
        print("clearing the search")
        pending.set_filter(Net.TasksFilter(status=Net.TaskStatus.PENDING))

    # (action, number of pending tasks the watch must then show)
    steps = [(add_tasks, 4), (complete_one, 3), (search, 2), (clear_search, 3)]

    def next_step():
        if state["step"] == len(steps):
            expected = ["Buy milk", "Write the quarterly report", "Oat milk for the guests"]
            if titles(pending) != expected:
                failures.append(f"final list {titles(pending)} != {expected}")
            loop.quit()
            return GLib.SOURCE_REMOVE
        action, expected = steps[state["step"]]
        state["step"] += 1
        state["expected"] = expected
        action()
        return GLib.SOURCE_REMOVE

    def on_timeout():
        failures.append(f"timed out at step {state['step']} waiting for "
                        f"{state['expected']} items (have {pending.get_n_items()})")
        loop.quit()
        return GLib.SOURCE_REMOVE

    # Mutations land from the main loop, like a user's clicks would.
    GLib.timeout_add(100, next_step)
    GLib.timeout_add_seconds(TIMEOUT_SECONDS, on_timeout)
    loop.run()

    db.close()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
