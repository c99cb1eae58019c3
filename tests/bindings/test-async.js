// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The async forms of NetDb through gjs, with Gio._promisify: opening,
// snapshot, checkpoint, sync and close, and cancellation.
//
//   meson devenv -C build -w . gjs -m tests/bindings/test-async.js

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Net from 'gi://Net?version=1.0';
import {assert, assertEqual, checkNetError, runTests} from './tap.js';

Gio._promisify(Net.Db, 'new_async', 'new_finish');
Gio._promisify(Net.Db, 'open_from_snapshot_async', 'open_from_snapshot_finish');
Gio._promisify(Net.Db.prototype, 'snapshot_async', 'snapshot_finish');
Gio._promisify(Net.Db.prototype, 'checkpoint_async', 'checkpoint_finish');
Gio._promisify(Net.Db.prototype, 'sync_async', 'sync_finish');
Gio._promisify(Net.Db.prototype, 'close_async', 'close_finish');
Gio._promisify(Net.DbBuilder.prototype, 'build_async', 'build_finish');
Gio._promisify(Net.DbTasks.prototype, 'wait_for_seq_async', 'wait_for_seq_finish');

function tmpDir() {
    return GLib.dir_make_tmp('netdb-gjs-async-XXXXXX');
}

function fill(path, n) {
    const db = Net.Db.new(path, Net.DbModels.TASKS);
    for (let i = 1; i <= n; i++)
        db.get_tasks().create(i, `task ${i}`, 0);
    return db;
}

const tests = {
    async 'new_async opens on a worker and belongs to this loop'() {
        const path = `${tmpDir()}/db`;
        fill(path, 500).close();
        const db = await Net.Db.new_async(path, Net.DbModels.TASKS, GLib.PRIORITY_DEFAULT, null);
        assertEqual(db.get_tasks().count(null), 500, 'count');
        const seq = db.get_tasks().create(501, 'after', 0);
        await db.get_tasks().wait_for_seq_async(seq, null);
        assert(db.get_tasks().get(501) !== null, 'read back');
        await db.close_async(GLib.PRIORITY_DEFAULT, null);
    },

    async 'a locked directory is LOCKED from the finish'() {
        const path = `${tmpDir()}/db`;
        const writer = fill(path, 1);
        try {
            await Net.Db.new_async(path, Net.DbModels.TASKS, GLib.PRIORITY_DEFAULT, null);
            throw new Error('no error');
        } catch (e) {
            checkNetError(e, Net.Error.LOCKED, 'new_async');
        }
        writer.close();
    },

    async 'a cancelled open is CANCELLED'() {
        const cancellable = new Gio.Cancellable();
        cancellable.cancel();
        try {
            await Net.Db.new_async(null, Net.DbModels.TASKS, GLib.PRIORITY_DEFAULT, cancellable);
            throw new Error('no error');
        } catch (e) {
            assert(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED), `${e}`);
        }
    },

    async 'snapshot, restore, builder, checkpoint and sync'() {
        const source = fill(null, 20);
        const blob = await source.snapshot_async(GLib.PRIORITY_DEFAULT, null);
        source.close();
        const path = `${tmpDir()}/restored`;
        let db = await Net.Db.open_from_snapshot_async(blob, path, Net.DbModels.TASKS,
            GLib.PRIORITY_DEFAULT, null);
        assertEqual(db.get_tasks().count(null), 20, 'restored');
        db.get_tasks().create(21, 'twenty-one', 0);
        assert(await db.checkpoint_async(GLib.PRIORITY_DEFAULT, null), 'checkpoint');
        assert(await db.sync_async(GLib.PRIORITY_DEFAULT, null), 'sync');
        assert(await db.close_async(GLib.PRIORITY_DEFAULT, null), 'close');

        const builder = Net.DbBuilder.new().persistent_dir(path).with_tasks();
        db = await builder.build_async(GLib.PRIORITY_DEFAULT, null);
        assertEqual(db.get_tasks().count(null), 21, 'reopened');
        await db.close_async(GLib.PRIORITY_DEFAULT, null);
    },
};

runTests(tests);
