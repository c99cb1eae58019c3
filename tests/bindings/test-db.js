// SPDX-License-Identifier: LGPL-2.1-or-later
//
// NetDb, its live queries and snapshots through gjs, against the
// uninstalled build (GI_TYPELIB_PATH and LD_LIBRARY_PATH point at
// build/netdb):
//
//   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
//     gjs -m tests/bindings/test-db.js
//
// Prints TAP; exits non-zero if any test fails.  The async tests run in an
// async main driven by a GLib.MainLoop.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Net from 'gi://Net?version=1.0';
import {
    AssertionError, assert, assertEqual, assertNetError, checkNetError, runTests,
} from './tap.js';

// wait_for_seq_async(seq, cancellable) returns a Promise when no callback
// is given.
Gio._promisify(Net.DbTasks.prototype, 'wait_for_seq_async', 'wait_for_seq_finish');
Gio._promisify(Net.DbMemories.prototype, 'wait_for_seq_async', 'wait_for_seq_finish');

const BOTH = Net.DbModels.TASKS | Net.DbModels.MEMORIES;

const encoder = new TextEncoder();

function ids(items) {
    return items.map(item => item.id);
}

// A GListModel's items as an array (gjs 1.74 has no iterator for it).
function modelItems(model) {
    const items = [];
    for (let i = 0; i < model.get_n_items(); i++)
        items.push(model.get_item(i));
    return items;
}

// Records items-changed as "-removed+added@position" and replays each one
// onto a plain array, which must always equal the model.
class Recorder {
    constructor(model) {
        this.model = model;
        this.changes = [];
        this.nItems = [];
        this.mirror = modelItems(model);
        this._ids = [
            model.connect('items-changed', (m, position, removed, added) => {
                this.changes.push(`-${removed}+${added}@${position}`);
                const inserted = [];
                for (let i = position; i < position + added; i++)
                    inserted.push(m.get_item(i));
                this.mirror.splice(position, removed, ...inserted);
            }),
            model.connect('notify::n-items', m => this.nItems.push(m.n_items)),
        ];
    }

    check(what) {
        assert(!this.changes.some(c => c.startsWith('-0+0@')),
            `${what}: an items-changed that changes nothing`);
        assertEqual(ids(this.mirror), ids(modelItems(this.model)), `${what}: replayed model`);
        assertEqual(this.mirror.length, this.model.n_items, `${what}: n-items`);
    }

    disconnect() {
        this._ids.forEach(id => this.model.disconnect(id));
    }
}

// Resolves with the next items-changed of @model.
function nextItemsChanged(model) {
    return new Promise(resolve => {
        const id = model.connect('items-changed', (m, position, removed, added) => {
            m.disconnect(id);
            resolve([position, removed, added]);
        });
    });
}

// Lets the fold sources dispatch (deliveries are never synchronous).
function drain() {
    const context = GLib.MainContext.default();
    while (context.iteration(false))
        ;
}

function makeTempDir() {
    return GLib.dir_make_tmp('netdb-gjs-db-XXXXXX');
}

function removeTree(path) {
    const file = Gio.File.new_for_path(path);
    const enumerator = file.enumerate_children('standard::name,standard::type',
        Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    let info;
    while ((info = enumerator.next_file(null)) !== null) {
        const child = file.get_child(info.get_name());
        if (info.get_file_type() === Gio.FileType.DIRECTORY)
            removeTree(child.get_path());
        else
            child.delete(null);
    }
    enumerator.close(null);
    file.delete(null);
}

function withTempDir(fn) {
    const dir = makeTempDir();
    try {
        return fn(GLib.build_filenamev([dir, 'db']));
    } finally {
        removeTree(dir);
    }
}

function populateTasks(tasks) {
    tasks.create(1, 'Write the report', 100);
    tasks.create(2, 'Review the patch', 200);
    tasks.create(3, 'Report the bug', 300);
    tasks.create(4, 'Café au lait', 400);
    tasks.complete(2, 500);
    tasks.rename(1, 'Write the final report', 600);
}

// --- tests ----------------------------------------------------------------

const tests = {
    'open: in memory, properties'() {
        const db = Net.Db.new(null, BOTH);
        assertEqual(db.path, null, 'path');
        assert(!db.read_only, 'not read-only');
        assert(db.origin > 0, 'origin');
        assert(db.tasks instanceof Net.DbTasks, 'db.tasks');
        assert(db.tasks === db.get_tasks(), 'one tasks object');
        assert(db.memories instanceof Net.DbMemories, 'db.memories');

        const tasksOnly = Net.Db.new(null, Net.DbModels.TASKS);
        assertEqual(tasksOnly.memories, null, 'memories not enabled');

        const built = Net.DbBuilder.new().with_tasks().origin(42).build();
        assertEqual(built.origin, 42, 'builder origin');
        assertEqual(built.memories, null, 'builder without memories');
        for (const d of [db, tasksOnly, built])
            assert(d.close(), 'close');
    },

    'open: persistent, reopen'() {
        withTempDir(path => {
            let db = Net.Db.new(path, BOTH);
            assertEqual(db.path, path, 'path');
            const origin = db.origin;
            db.tasks.create(1, 'Persist me', 100);
            db.tasks.complete(1, 200);
            db.memories.store(7, 'A note', ['work'], 'cli', 300);
            assert(db.checkpoint(), 'checkpoint');
            db.tasks.create(2, 'After the checkpoint', 400);
            assert(db.close(), 'close');
            assert(db.close(), 'close again');

            db = Net.Db.new(path, BOTH);
            assertEqual(db.origin, origin, 'origin survives');
            assertEqual(ids(db.tasks.find_many(null)), [1, 2], 'tasks after reopen');
            assertEqual(db.tasks.get(1).status, Net.TaskStatus.COMPLETED, 'status');
            assertEqual(db.memories.get(7).tags, ['work'], 'tags');
            assertEqual(db.tasks.applied_seq, 3, 'applied seq');
            db.close();
        });
    },

    'CRUD: tasks'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        assertEqual(tasks.create(1, 'Write the report', 1000), 1, 'create seq');
        assertEqual(tasks.create(2, 'Review the patch', 2000), 2, 'create seq');
        assertEqual(tasks.rename(1, 'Write the final report', 3000), 3, 'rename seq');
        assertEqual(tasks.complete(2, 4000), 4, 'complete seq');
        const first = tasks.get(1);
        assertEqual(first.title, 'Write the final report', 'title');
        assertEqual(first.status, Net.TaskStatus.PENDING, 'status');
        assertEqual([first.created_at, first.updated_at], [1000, 3000], 'times');
        assert(tasks.get(1) === first, 'one live object per id');
        assertEqual(tasks.get(2).status, Net.TaskStatus.COMPLETED, 'completed');
        assertEqual(tasks.delete(2), 5, 'delete seq');
        assertEqual(tasks.get(2), null, 'deleted');
        assertEqual(tasks.count(null), 1, 'count');
        db.close();
    },

    'CRUD: memories'() {
        const db = Net.Db.new(null, BOTH);
        const memories = db.memories;
        assertEqual(memories.store(1, 'Standup notes', ['work', 'notes'], 'alice', 100), 1, 'store');
        assertEqual(memories.store(2, 'Buy milk', null, null, 200), 2, 'store');
        assertEqual(memories.retag(1, ['work', 'meetings'], 300), 3, 'retag');
        assertEqual(memories.pin(1, 400), 4, 'pin');
        const first = memories.get(1);
        assertEqual(first.tags, ['work', 'meetings'], 'tags');
        assertEqual(first.source, 'alice', 'source');
        assert(first.pinned, 'pinned');
        assertEqual(memories.unpin(1, 500), 5, 'unpin');
        assert(!first.pinned, 'unpinned');
        assertEqual(memories.get(2).source, null, 'no source');
        assertEqual(memories.delete(2), 6, 'delete');
        assertEqual(memories.get(2), null, 'deleted');
        assertEqual(memories.count(null), 1, 'count');
        db.close();
    },

    'filters: tasks and memories'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        populateTasks(tasks);
        const pending = new Net.TasksFilter({
            status: Net.TaskStatus.PENDING,
            order_by: Net.OrderBy.CREATED_DESC,
        });
        assert(pending.status_set, 'status sets status-set');
        assertEqual(ids(tasks.find_many(pending)), [4, 3, 1], 'pending, newest first');
        assertEqual(tasks.count(pending), 3, 'count');
        assert(tasks.exists(pending), 'exists');
        assertEqual(tasks.find_first(pending).id, 4, 'find_first');
        assertEqual(ids(tasks.find_many(new Net.TasksFilter({titleContains: 'REPORT'}))),
            [1, 3], 'title-contains, camelCase');
        assertEqual(ids(tasks.find_many(new Net.TasksFilter({title_contains: 'café'}))),
            [4], 'Unicode case-insensitive');
        assertEqual(ids(tasks.find_many(new Net.TasksFilter({
            order_by: Net.OrderBy.UPDATED_DESC, limit: 2,
        }))), [1, 2], 'order and limit');
        assertEqual(ids(tasks.find_many(new Net.TasksFilter({
            order_by: Net.OrderBy.ID_DESC, offset: 1, limit: 2,
        }))), [3, 2], 'offset');
        assertEqual(tasks.count(new Net.TasksFilter({limit: 1})), 4, 'count ignores limit');
        assertEqual(ids(tasks.find_many(new Net.TasksFilter({
            created_after: 200, created_before: 300,
        }))), [2, 3], 'time bounds');
        const f = Net.TasksFilter.new();
        f.set_status(Net.TaskStatus.COMPLETED);
        assertEqual(ids(tasks.find_many(f)), [2], 'setters');
        assertEqual(tasks.find_first(new Net.TasksFilter({title_contains: 'unicorn'})), null,
            'find_first of nothing');

        const memories = db.memories;
        memories.store(1, 'Standup notes', ['work', 'notes'], 'alice', 100);
        memories.store(2, 'Buy milk', ['personal', 'todo'], 'alice', 200);
        memories.store(3, 'Fire in the datacenter', ['work', 'design'], 'bob', 300);
        memories.pin(3, 400);
        const find = props => ids(memories.find_many(new Net.MemoriesFilter(props)));
        assertEqual(find({tag: 'work'}), [1, 3], 'tag');
        assertEqual(find({any_tags: ['design', 'todo']}), [2, 3], 'any-tags');
        assertEqual(find({all_tags: ['work', 'notes']}), [1], 'all-tags');
        assertEqual(find({source: 'alice'}), [1, 2], 'source');
        assertEqual(find({content_contains: 'DATACENTER'}), [3], 'content');
        assertEqual(find({pinned: true}), [3], 'pinned');
        assertEqual(find({pinned: false}), [1, 2], 'unpinned');
        assertEqual(find({order_by: Net.OrderBy.UPDATED_DESC, limit: 2}), [3, 2], 'order');
        db.close();
    },

    async 'watch: items-changed while a MainLoop runs'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        tasks.create(1, 'First', 100);
        const model = tasks.watch(new Net.TasksFilter({
            status: Net.TaskStatus.PENDING,
            order_by: Net.OrderBy.CREATED_ASC,
        }));
        assertEqual(model.item_type, Net.Task.$gtype, 'item-type');
        assertEqual(model.n_items, 1, 'n-items');
        assertEqual(model.seq, 1, 'seq');
        const recorder = new Recorder(model);

        // Create from a timeout; the model changes from the fold's next
        // dispatch, not inside the call.
        const changed = nextItemsChanged(model);
        let countInside = null, nInside = null;
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 10, () => {
            tasks.create(2, 'Second', 200);
            countInside = tasks.count(new Net.TasksFilter({status: Net.TaskStatus.PENDING}));
            nInside = model.get_n_items();
            return GLib.SOURCE_REMOVE;
        });
        assertEqual(await changed, [1, 0, 1], 'insert at the end');
        assertEqual([countInside, nInside], [2, 1], 'read-your-writes, model later');
        assertEqual(model.n_items, 2, 'n-items after the insert');
        assertEqual(recorder.nItems, [2], 'notify::n-items');
        assertEqual(model.get_item(1).title, 'Second', 'the new item');
        assertEqual(model.seq, 2, 'seq');

        // A completion leaves the pending watch.
        const removed = nextItemsChanged(model);
        tasks.complete(1, 300);
        assertEqual(await removed, [0, 1, 0], 'completion removes');
        assertEqual(ids(modelItems(model)), [2], 'model');
        recorder.check('after completion');

        // A rename that keeps the position is only a notify on the item.
        const item = model.get_item(0);
        const titles = [];
        item.connect('notify::title', t => titles.push(t.title));
        tasks.rename(2, 'Second, renamed', 400);
        assertEqual(titles, [], 'notify comes from the next dispatch');
        drain();
        assertEqual(titles, ['Second, renamed'], 'notify::title');
        assertEqual(recorder.changes, ['-0+1@1', '-1+0@0'], 'no items-changed for a rename');
        recorder.disconnect();
        db.close();
    },

    'watch: filter changes'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        ['alpha', 'beta', 'alphabet', 'gamma'].forEach((title, i) =>
            tasks.create(i + 1, title, (i + 1) * 100));
        const model = tasks.watch(new Net.TasksFilter({title_contains: 'alpha'}));
        assertEqual(ids(modelItems(model)), [1, 3], 'initial');
        const recorder = new Recorder(model);

        model.filter = new Net.TasksFilter({title_contains: 'a'});
        assertEqual(ids(modelItems(model)), [1, 2, 3, 4], 'filter property');
        recorder.check('filter property');
        model.set_filter(new Net.TasksFilter({title_contains: 'gam'}));
        assertEqual(ids(modelItems(model)), [4], 'set_filter');
        recorder.check('set_filter');
        model.filter.title_contains = 'bet';
        assertEqual(ids(modelItems(model)), [2, 3], 'filter changed in place');
        recorder.check('in place');
        model.filter = null;
        assertEqual(ids(modelItems(model)), [1, 2, 3, 4], 'no filter');
        recorder.check('no filter');
        assertEqual(recorder.nItems, [4, 1, 2, 4], 'n-items followed');

        // The property has a type (NetFilterBase, issue 14 item 11): another
        // object is refused up front, and the model keeps its filter.
        const notAFilter = new Net.DbBuilder();
        let refused = false;
        try {
            model.filter = notAFilter;
        } catch (e) {
            refused = true;
        }
        assert(refused, 'a non-filter object is refused');
        assert(new Net.TasksFilter() instanceof Net.FilterBase, 'TasksFilter is a FilterBase');
        assert(new Net.MemoriesFilter() instanceof Net.FilterBase, 'MemoriesFilter is a FilterBase');
        assertEqual(model.filter, null, 'the filter stayed');
        model.set_filter(new Net.TasksFilter({title_contains: 'a', limit: 2}));
        assertEqual(ids(modelItems(model)), [1, 2], 'limit from the base class');
        recorder.check('limit');

        // Memories by tag.
        const memories = db.memories;
        const urgent = memories.watch(new Net.MemoriesFilter({tag: 'urgent'}));
        const urgentRecorder = new Recorder(urgent);
        memories.store(1, 'untagged', null, null, 100);
        drain();
        assertEqual(urgentRecorder.changes, [], 'untagged: nothing');
        memories.store(2, 'fix it', ['urgent'], null, 200);
        drain();
        memories.retag(1, ['later', 'urgent'], 300);
        drain();
        assertEqual(urgentRecorder.changes, ['-0+1@0', '-0+1@0'], 'two inserts');
        urgentRecorder.check('urgent');
        recorder.disconnect();
        urgentRecorder.disconnect();
        db.close();
    },

    async 'wait_for_seq_async: promisified'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        const waiting = tasks.wait_for_seq_async(2, null);
        assert(waiting instanceof Promise, 'a Promise without a callback');
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            tasks.create(1, 'one', 0);
            return GLib.SOURCE_REMOVE;
        });
        GLib.timeout_add(GLib.PRIORITY_DEFAULT, 20, () => {
            tasks.create(2, 'two', 0);
            return GLib.SOURCE_REMOVE;
        });
        assertEqual(await waiting, true, 'reached seq 2');
        assert(tasks.applied_seq >= 2, 'applied seq');

        db.memories.store(1, 'x', null, null, 0);
        assertEqual(await db.memories.wait_for_seq_async(1, null), true, 'memories');

        // Closing the db fails a pending wait with CLOSED.
        const pending = tasks.wait_for_seq_async(10, null);
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            db.close();
            return GLib.SOURCE_REMOVE;
        });
        try {
            await pending;
            throw new AssertionError('wait on a closed db did not fail');
        } catch (e) {
            checkNetError(e, Net.Error.CLOSED, 'wait after close');
        }
    },

    'snapshot: round trip and tasks-only bundle'() {
        const db = Net.Db.new(null, BOTH);
        db.tasks.create(1, 'Snap', 100);
        db.tasks.create(2, 'Shot', 200);
        db.tasks.complete(2, 300);
        db.memories.store(5, 'remember', ['x', 'y'], 'me', 400);
        db.memories.pin(5, 500);
        const blob = db.snapshot();
        assert(blob instanceof GLib.Bytes, 'a GLib.Bytes');
        assert(blob.get_size() > 0, 'not empty');

        const restored = Net.Db.open_from_snapshot(blob, null, BOTH);
        assertEqual(ids(restored.tasks.find_many(null)), [1, 2], 'tasks');
        assertEqual(restored.tasks.get(2).status, Net.TaskStatus.COMPLETED, 'status');
        assertEqual(restored.tasks.applied_seq, 3, 'applied seq');
        assertEqual(restored.memories.get(5).tags, ['x', 'y'], 'tags');
        assert(restored.memories.get(5).pinned, 'pinned');
        assertEqual(restored.tasks.create(3, 'next', 600), 4, 'the log continues');

        // A copy of the bytes, through the builder, into a directory.
        const copy = new GLib.Bytes(blob.toArray());
        withTempDir(path => {
            const built = Net.DbBuilder.new().persistent_dir(path).with_tasks()
                .build_from_snapshot(copy);
            assertEqual(built.tasks.count(new Net.TasksFilter({
                status: Net.TaskStatus.COMPLETED,
            })), 1, 'persistent restore');
            built.close();
        });

        const tasksOnly = Net.Db.new(null, Net.DbModels.TASKS);
        tasksOnly.tasks.create(1, 'only tasks', 0);
        const both = Net.Db.open_from_snapshot(tasksOnly.snapshot(), null, BOTH);
        assertEqual(both.tasks.count(null), 1, 'tasks restored');
        assertEqual(both.memories.count(null), 0, 'memories start empty');
        for (const d of [db, restored, tasksOnly, both])
            d.close();
    },

    'errors: CLOSED, READ_ONLY, SNAPSHOT_INVALID, LOCKED'() {
        const db = Net.Db.new(null, BOTH);
        const tasks = db.tasks;
        tasks.create(1, 'before', 0);
        db.close();
        assertNetError(() => tasks.create(2, 'after', 0), Net.Error.CLOSED, 'create after close');
        assertNetError(() => db.memories.store(1, 'after', null, null, 0),
            Net.Error.CLOSED, 'store after close');
        assertEqual(ids(tasks.find_many(null)), [1], 'queries after close');

        withTempDir(path => {
            const writer = Net.Db.new(path, BOTH);
            writer.tasks.create(1, 'written', 0);
            const e = assertNetError(() => Net.Db.new(path, BOTH),
                Net.Error.LOCKED, 'second writer');
            assert(e.message.includes(path), 'LOCKED names the path');
            writer.close();

            const reader = Net.Db.open_read_only(path, BOTH);
            assert(reader.read_only, 'read-only');
            assertEqual(ids(reader.tasks.find_many(null)), [1], 'reader sees the data');
            assertNetError(() => reader.tasks.create(2, 'refused', 0),
                Net.Error.READ_ONLY, 'create on a read-only db');
            assertNetError(() => reader.memories.pin(1, 0),
                Net.Error.READ_ONLY, 'pin on a read-only db');
            reader.close();
        });

        for (const junk of ['', 'garbage', '\0'.repeat(64)]) {
            assertNetError(() => Net.Db.open_from_snapshot(
                new GLib.Bytes(encoder.encode(junk)), null, BOTH),
            Net.Error.SNAPSHOT_INVALID, `snapshot ${JSON.stringify(junk)}`);
        }
        const good = Net.Db.new(null, BOTH);
        good.tasks.create(1, 'x', 0);
        const data = good.snapshot().toArray();
        assertNetError(() => Net.Db.open_from_snapshot(
            new GLib.Bytes(data.slice(0, data.length >> 1)), null, BOTH),
        Net.Error.SNAPSHOT_INVALID, 'truncated snapshot');
        data[data.length >> 1] ^= 0x10;
        assertNetError(() => Net.Db.open_from_snapshot(new GLib.Bytes(data), null, BOTH),
            Net.Error.SNAPSHOT_INVALID, 'bit-flipped snapshot');
        good.close();
    },
};

runTests(tests);
