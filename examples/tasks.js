#!/usr/bin/env -S gjs -m
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// tasks.js: a live `pending` watch from JavaScript (gjs), no GTK needed.
//
// The same scenario as the GTK example (examples/gtk-tasks) and tasks.py:
// an in-memory db, a watch on the pending tasks that prints every change,
// tasks added from a main-loop timeout, one completed, then a search that
// sets the model's `filter`.  Exits 0 when the watch saw what it should.
//
// Against the uninstalled build (see examples/README.md):
//   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
//     gjs -m examples/tasks.js

import GLib from 'gi://GLib';
import Net from 'gi://Net?version=1.0';
import System from 'system';

const TIMEOUT_SECONDS = 10;

function titles(model) {
    const result = [];
    for (let i = 0; i < model.get_n_items(); i++)
        result.push(model.get_item(i).title);
    return result;
}

const db = Net.Db.new(null, Net.DbModels.TASKS);
const tasks = db.get_tasks();

// A live GListModel: its contents always equal find_many(filter).
const pending = tasks.watch(new Net.TasksFilter({status: Net.TaskStatus.PENDING}));

const loop = new GLib.MainLoop(null, false);
const failures = [];
let expected = null;
let step = 0;

pending.connect('items-changed', (model, position, removed, added) => {
    print(`items-changed position=${position} removed=${removed} added=${added}` +
          ` -> ${model.get_n_items()}: ${JSON.stringify(titles(model))}`);
    if (model.get_n_items() === expected) {
        expected = null;
        GLib.idle_add(GLib.PRIORITY_DEFAULT_IDLE, nextStep);
    }
});

function addTasks() {
    const newTasks = ['Buy milk', 'Write the quarterly report',
        'Walk the dog', 'Oat milk for the guests'];
    newTasks.forEach((title, i) => {
        // 0 means "now"; the seq is the event's place in the log.
        const seq = tasks.create(i + 1, title, 0);
        print(`created task ${i + 1} '${title}' at seq ${seq}`);
    });
}

function completeOne() {
    print('completing task 3');
    tasks.complete(3, 0);
}

function search() {
    print("searching for 'MILK'");
    // Setting a new filter updates the model with a minimal diff.
    pending.filter = new Net.TasksFilter({
        status: Net.TaskStatus.PENDING,
        title_contains: 'MILK',
    });
}

function clearSearch() {
    print('clearing the search');
    pending.filter = new Net.TasksFilter({status: Net.TaskStatus.PENDING});
}

// [action, number of pending tasks the watch must then show]
const steps = [[addTasks, 4], [completeOne, 3], [search, 2], [clearSearch, 3]];

function nextStep() {
    if (step === steps.length) {
        const want = ['Buy milk', 'Write the quarterly report', 'Oat milk for the guests'];
        const have = titles(pending);
        if (JSON.stringify(have) !== JSON.stringify(want))
            failures.push(`final list ${JSON.stringify(have)} != ${JSON.stringify(want)}`);
        loop.quit();
        return GLib.SOURCE_REMOVE;
    }
    const [action, count] = steps[step];
    step++;
    expected = count;
    action();
    return GLib.SOURCE_REMOVE;
}

// Mutations land from the main loop, like a user's clicks would.
GLib.timeout_add(GLib.PRIORITY_DEFAULT, 100, nextStep);
GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, TIMEOUT_SECONDS, () => {
    failures.push(`timed out at step ${step} waiting for ${expected} items` +
                  ` (have ${pending.get_n_items()})`);
    loop.quit();
    return GLib.SOURCE_REMOVE;
});
loop.run();

db.close();
for (const failure of failures)
    printerr(`FAILED: ${failure}`);
System.exit(failures.length > 0 ? 1 : 0);
