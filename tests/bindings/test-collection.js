// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Collections through gjs: a Net.Record subclass made with
// GObject.registerClass, its fields GObject.ParamSpec properties of every
// kind, opened, written, queried with every operator, watched, reopened
// and snapshotted, against the uninstalled build:
//
//   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
//     gjs -m tests/bindings/test-collection.js
//
// Prints TAP; exits non-zero if any test fails.

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Net from 'gi://Net?version=1.0';
import System from 'system';
import {assert, assertEqual, assertNetError, runTests} from './tap.js';

Gio._promisify(Net.Collection.prototype, 'wait_for_seq_async', 'wait_for_seq_finish');

const RW = GObject.ParamFlags.READWRITE;
const TWO_53 = 2 ** 53;

const Note = GObject.registerClass({
    GTypeName: 'GjsTestNote',
    Properties: {
        'title': GObject.ParamSpec.string('title', null, null, RW, null),
        'body': GObject.ParamSpec.string('body', null, null, RW, null),
        'starred': GObject.ParamSpec.boolean('starred', null, null, RW, false),
        'priority': GObject.ParamSpec.int('priority', null, null, RW, -1000, 1000, 0),
        'big': GObject.ParamSpec.int64('big', null, null, RW,
            Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 0),
        'score': GObject.ParamSpec.double('score', null, null, RW, -1e9, 1e9, 0),
        'due': GObject.ParamSpec.boxed('due', null, null, RW, GLib.DateTime.$gtype),
        'tags': GObject.ParamSpec.boxed('tags', null, null, RW, GObject.type_from_name('GStrv')),
        'blob': GObject.ParamSpec.boxed('blob', null, null, RW, GLib.Bytes.$gtype),
        'status': GObject.ParamSpec.enum('status', null, null, RW,
            Net.TaskStatus.$gtype, Net.TaskStatus.PENDING),
        'models': GObject.ParamSpec.flags('models', null, null, RW, Net.DbModels.$gtype, 0),
    },
}, class Note extends Net.Record {});

// A field of a type no collection stores.
const BadNote = GObject.registerClass({
    GTypeName: 'GjsTestBadNote',
    Properties: {
        'other': GObject.ParamSpec.object('other', null, null, RW, GObject.Object.$gtype),
    },
}, class BadNote extends Net.Record {});

function ids(items) {
    return items.map(item => item.id);
}

function modelItems(model) {
    const items = [];
    for (let i = 0; i < model.get_n_items(); i++)
        items.push(model.get_item(i));
    return items;
}

function day(n, hour = 12) {
    return GLib.DateTime.new_utc(2026, 12, n, hour, 0, 0);
}

function usec(dt) {
    return dt.to_unix() * 1e6 + dt.get_microsecond();
}

// A GValue of @type holding @value (for updatev and where()).
function gvalue(type, value) {
    const v = new GObject.Value();
    v.init(type);
    if (type === GObject.TYPE_INT64)
        v.set_int64(value);
    else if (type === GObject.TYPE_UINT64)
        v.set_uint64(value);
    else if (type === GObject.TYPE_STRING)
        v.set_string(value);
    else if (type === GObject.TYPE_BOOLEAN)
        v.set_boolean(value);
    else if (type === GObject.TYPE_DOUBLE)
        v.set_double(value);
    else if (GObject.type_is_a(type, GObject.TYPE_ENUM))
        v.set_enum(value);
    else
        throw new Error(`gvalue: ${GObject.type_name(type)}`);
    return v;
}

// gjs 1.74 guesses no GValue type for an array, and set_boxed() cannot
// take one: a strv GValue is read from a property holding the array.
function strvValue(strv) {
    const v = new GObject.Value();
    v.init(GObject.type_from_name('GStrv'));
    new Note({tags: strv}).get_property('tags', v);
    return v;
}

function filter(conditions, order = [], window = {}) {
    const f = Net.Filter.new();
    for (const [field, op, value] of conditions)
        f.where(field, op, value);
    for (const [field, descending] of order)
        f.order_by(field, descending);
    if (window.limit !== undefined)
        f.limit = window.limit;
    if (window.offset !== undefined)
        f.offset = window.offset;
    return f;
}

// The ids find_many must return, computed in JavaScript.
function bruteForce(coll, conditions, order, window = {}) {
    const value = (r, field) => {
        const v = r[field.replace(/-/g, '_')];
        return v instanceof GLib.DateTime ? usec(v) : v;
    };
    const test = (r, [field, op, want]) => {
        const have = value(r, field);
        if (want instanceof GLib.DateTime)
            want = usec(want);
        switch (op) {
        case Net.FilterOp.EQ: return have === want;
        case Net.FilterOp.NE: return have !== want;
        case Net.FilterOp.LT: return have < want;
        case Net.FilterOp.LE: return have <= want;
        case Net.FilterOp.GT: return have > want;
        case Net.FilterOp.GE: return have >= want;
        case Net.FilterOp.CONTAINS:
            return Array.isArray(have) ? have.includes(want)
                : have.toLowerCase().includes(want.toLowerCase());
        case Net.FilterOp.PREFIX:
            return have.toLowerCase().startsWith(want.toLowerCase());
        }
        throw new Error(`operator ${op}`);
    };
    const selected = coll.find_many(null).filter(r => conditions.every(c => test(r, c)));
    const firstDescending = order.length > 0 && order[0][1];
    selected.sort((a, b) => {
        for (const [field, descending] of order) {
            const x = value(a, field), y = value(b, field);
            if (x !== y)
                return (x < y ? -1 : 1) * (descending ? -1 : 1);
        }
        return (a.id - b.id) * (firstDescending ? -1 : 1);
    });
    const offset = window.offset ?? 0;
    const end = window.limit !== undefined ? offset + window.limit : undefined;
    return ids(selected).slice(offset, end);
}

// Records items-changed and replays it onto an array that must always
// equal the model.
class Recorder {
    constructor(model) {
        this.model = model;
        this.changes = [];
        this.mirror = modelItems(model);
        this.id = model.connect('items-changed', (m, position, removed, added) => {
            this.changes.push(`-${removed}+${added}@${position}`);
            const inserted = [];
            for (let i = position; i < position + added; i++)
                inserted.push(m.get_item(i));
            this.mirror.splice(position, removed, ...inserted);
        });
    }

    check(what) {
        assert(!this.changes.some(c => c.startsWith('-0+0@')),
            `${what}: an items-changed that changes nothing`);
        assertEqual(ids(this.mirror), ids(modelItems(this.model)), `${what}: replayed model`);
        assertEqual(this.mirror.length, this.model.n_items, `${what}: n-items`);
    }

    // Resolves once the model emitted items-changed.
    next() {
        return new Promise(resolve => {
            const id = this.model.connect('items-changed', () => {
                this.model.disconnect(id);
                resolve();
            });
        });
    }
}

function withTempDir(fn) {
    const dir = GLib.dir_make_tmp('netdb-gjs-collection-XXXXXX');
    const removeTree = path => {
        const file = Gio.File.new_for_path(path);
        const children = file.enumerate_children('standard::name,standard::type',
            Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        let info;
        while ((info = children.next_file(null)) !== null) {
            const child = file.get_child(info.get_name());
            if (info.get_file_type() === Gio.FileType.DIRECTORY)
                removeTree(child.get_path());
            else
                child.delete(null);
        }
        children.close(null);
        file.delete(null);
    };
    try {
        return fn(GLib.build_filenamev([dir, 'db']));
    } finally {
        removeTree(dir);
    }
}

const TITLES = ['Alpha', 'beta', 'Gamma ray', 'alphabet', 'Delta', 'zeta',
    'Beta max', 'gamma', 'omega', 'Epsilon'];

function fill(notes) {
    TITLES.forEach((title, i) => {
        notes.insert(new Note({
            id: 100 + i, title, starred: i % 3 === 0, priority: i % 4,
            score: i / 2, big: 2 ** 33 * i, due: day(1 + i % 5, 8 + i),
            tags: [`t${i % 3}`].concat(i % 2 ? ['all'] : []),
            status: i % 4 === 1 ? Net.TaskStatus.COMPLETED : Net.TaskStatus.PENDING,
        }));
    });
}

function openNotes(db) {
    const notes = db.open_collection('notes', Note.$gtype);
    assert(notes.add_index('due', Net.IndexFlags.ORDERED), 'ordered index');
    assert(notes.add_index('title', Net.IndexFlags.SEARCH), 'search index');
    return notes;
}

function checkFullNote(n, what) {
    assertEqual(n.title, 'Ünïcode', `${what}: title`);
    assertEqual(n.body, null, `${what}: body`);
    assertEqual(n.starred, true, `${what}: starred`);
    assertEqual(n.priority, -12, `${what}: priority`);
    assertEqual(n.big, -(2 ** 50), `${what}: big`);
    assertEqual(n.score, -2.5, `${what}: score`);
    assertEqual(usec(n.due), usec(day(24, 18)) + 250001, `${what}: due`);
    assertEqual(n.tags, ['a', 'Bé'], `${what}: tags`);
    assertEqual(Array.from(n.blob.toArray()), [0, 1, 2], `${what}: blob`);
    assertEqual(n.status, Net.TaskStatus.COMPLETED, `${what}: status`);
    assertEqual(n.models, Net.DbModels.TASKS | Net.DbModels.MEMORIES, `${what}: models`);
}

function fullNote(id) {
    return new Note({
        id, title: 'Ünïcode', body: null, starred: true, priority: -12,
        big: -(2 ** 50), score: -2.5, due: day(24, 18).add(250001),
        tags: ['a', 'Bé'], blob: new GLib.Bytes(new Uint8Array([0, 1, 2])),
        status: Net.TaskStatus.COMPLETED,
        models: Net.DbModels.TASKS | Net.DbModels.MEMORIES,
    });
}

// --- tests ----------------------------------------------------------------

const tests = {
    'open: same object, list, bad classes and names'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = db.open_collection('notes', Note.$gtype);
        assert(notes instanceof Net.Collection, 'a Net.Collection');
        assert(db.open_collection('notes', Note.$gtype) === notes, 'the same object');
        assertEqual(notes.get_name(), 'notes', 'name');
        assertEqual(notes.get_record_type(), Note.$gtype, 'record type');
        assertEqual(db.list_collections(), ['notes'], 'list');
        const e = assertNetError(() => db.open_collection('bad', BadNote.$gtype),
            Net.Error.INVALID_ARGUMENT, 'unsupported property type');
        assert(e.message.includes('other'), `message names the field: ${e.message}`);
        assertNetError(() => db.open_collection('Bad Name', Note.$gtype),
            Net.Error.INVALID_ARGUMENT, 'bad name');
        assertNetError(() => notes.add_index('priority', Net.IndexFlags.SEARCH),
            Net.Error.INVALID_ARGUMENT, 'search index of an int');
        db.close();
    },

    'insert: random ids below 2^53, every field type'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        const seen = new Set();
        for (let i = 0; i < 20; i++) {
            const n = new Note({title: `n${i}`});
            assertEqual(n.id, 0, 'new record id');
            assertEqual(notes.insert(n), i + 1, 'insert seq');
            assert(Number.isSafeInteger(n.id) && n.id > 0 && n.id < TWO_53,
                `random id ${n.id} in [1, 2^53)`);
            assert(n.created_at > 0 && n.updated_at === n.created_at, 'times');
            assert(notes.get(n.id) === n, 'the record is the live item');
            seen.add(n.id);
        }
        assertEqual(seen.size, 20, 'distinct ids');

        const full = fullNote(7);
        notes.insert(full);
        checkFullNote(notes.get(7), 'inserted');
        assertNetError(() => notes.insert(new Note({id: 7})), Net.Error.EXISTS, 'existing id');
        assertNetError(() => notes.insert(full), Net.Error.INVALID_ARGUMENT, 'inserted twice');
        assertEqual(notes.count(null), 21, 'count');
        db.close();
    },

    'ids above 2^32 and below 2^53 are exact'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        const big = [2 ** 32 + 1, 2 ** 40 + 3, 2 ** 52 + 12345, TWO_53 - 1];
        for (const id of big)
            notes.insert(new Note({id, title: `id ${id}`}));
        notes.insert(new Note({id: 2 ** 32 - 1, title: 'below'}));
        for (const id of big) {
            const r = notes.get(id);
            assert(r !== null, `get(${id})`);
            assertEqual(r.id, id, `id ${id}`);
            assertEqual(r.title, `id ${id}`, `title of ${id}`);
            assertEqual(notes.get(id + 1), null, `get(${id} + 1)`);
        }
        assertEqual(ids(notes.find_many(null)), [2 ** 32 - 1, ...big], 'ascending ids');
        assertEqual(ids(notes.find_many(filter([['id', Net.FilterOp.GT, 2 ** 32]], [['id', true]]))),
            [...big].reverse(), 'id > 2^32, descending');
        assertEqual(ids(notes.find_many(filter([['id', Net.FilterOp.EQ,
            gvalue(GObject.TYPE_UINT64, 2 ** 52 + 12345)]]))), [2 ** 52 + 12345], 'id = 2^52 + 12345');
        assertEqual(notes.update(TWO_53 - 1, ['title'], ['top']), 6, 'update');
        assertEqual(notes.get(TWO_53 - 1).title, 'top', 'updated');
        assertEqual(notes.delete(2 ** 40 + 3), 7, 'delete');
        assertEqual(notes.count(null), 4, 'count');
        db.close();
    },

    async 'update, notify, delete, errors'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        const n = new Note({title: 'Write', priority: 3});
        notes.insert(n);
        const notified = [];
        n.connect('notify::title', r => notified.push(r.title));

        const seq = notes.update(n.id,
            ['title', 'starred', 'priority', 'big', 'due', 'tags', 'blob', 'status'],
            [gvalue(GObject.TYPE_STRING, 'Write more'), gvalue(GObject.TYPE_BOOLEAN, true),
                gvalue(GObject.TYPE_INT64, 9), gvalue(GObject.TYPE_INT64, 2 ** 45),
                // A boxed value as itself: gjs makes the GValue (as it
                // does for any JavaScript value but an array).
                day(3), strvValue(['x', 'y']), new GLib.Bytes(new Uint8Array([9])),
                gvalue(Net.TaskStatus.$gtype, Net.TaskStatus.COMPLETED)]);
        assert(seq > 0, 'update seq');
        // Read your writes at once; notify from the dispatch.
        assertEqual(n.title, 'Write more', 'title');
        assertEqual([n.starred, n.priority, n.big], [true, 9, 2 ** 45], 'starred, priority, big');
        assertEqual(usec(n.due), usec(day(3)), 'due');
        assertEqual(n.tags, ['x', 'y'], 'tags');
        assertEqual(Array.from(n.blob.toArray()), [9], 'blob');
        assertEqual(n.status, Net.TaskStatus.COMPLETED, 'status');
        assertEqual(notified, [], 'no notify before the dispatch');
        await notes.wait_for_seq_async(seq, null);
        assertEqual(notified, ['Write more'], 'notify after the dispatch');

        // JavaScript values: gjs makes the GValues.
        notes.update(n.id, ['title', 'score'], ['plain', 1.5]);
        assertEqual([n.title, n.score], ['plain', 1.5], 'plain values');

        const applied = notes.get_applied_seq();
        let e = assertNetError(() => notes.update(n.id, ['nope'], ['x']),
            Net.Error.INVALID_ARGUMENT, 'unknown field');
        assert(e.message.includes('nope'), e.message);
        e = assertNetError(() => notes.update(n.id, ['title', 'priority'], ['lost', 'nine']),
            Net.Error.INVALID_ARGUMENT, 'unconvertible value');
        assert(e.message.includes('priority'), e.message);
        assertNetError(() => notes.update(424242, ['title'], ['x']),
            Net.Error.NOT_FOUND, 'missing id');
        assertEqual(notes.get_applied_seq(), applied, 'nothing written');
        assertEqual(n.title, 'plain', 'title kept');

        const id = n.id;
        assertEqual(notes.delete(id), applied + 1, 'delete seq');
        assertEqual(notes.get(id), null, 'deleted');
        assertEqual(n.title, 'plain', 'a deleted record keeps its values');
        assertNetError(() => notes.delete(id), Net.Error.NOT_FOUND, 'delete twice');

        db.close();
        assertNetError(() => notes.insert(new Note({title: 'late'})), Net.Error.CLOSED, 'closed');
    },

    'queries: every operator, several order keys, windows'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        fill(notes);
        const O = Net.FilterOp;
        const queries = [
            [[['starred', O.EQ, true]], []],
            [[['starred', O.EQ, true]], [['due', true]]],
            [[['priority', O.NE, 2]], [['priority', false], ['score', true]]],
            [[['priority', O.LT, 2]], []],
            [[['priority', O.LE, 2]], [['priority', true]]],
            [[['score', O.GT, 1.5], ['score', O.LE, 4]], []],
            [[['big', O.GE, 2 ** 35]], [['big', true]]],
            [[['due', O.LT, day(3)]], [['due', false], ['id', true]]],
            [[['due', O.GE, day(2)], ['due', O.LE, day(4, 23)]], [['title', false]]],
            [[['title', O.PREFIX, 'alpha']], []],
            [[['title', O.PREFIX, 'GAM']], [['title', true]]],
            [[['title', O.CONTAINS, 'ETA']], [['title', true]]],
            [[['title', O.CONTAINS, 'mega']], []],
            [[['tags', O.CONTAINS, 'all']], [['starred', false], ['priority', false]]],
            [[['status', O.EQ, Net.TaskStatus.COMPLETED]], []],
            [[['status', O.NE, Net.TaskStatus.COMPLETED], ['starred', O.EQ, false]], [['score', true]]],
            [[['id', O.GT, 104]], [['id', true]]],
        ];
        for (const [conditions, order] of queries) {
            const what = JSON.stringify([conditions.map(([f, o, v]) => [f, o, `${v}`]), order]);
            const expected = bruteForce(notes, conditions, order);
            assert(expected.length > 0, `${what}: selects something`);
            assertEqual(ids(notes.find_many(filter(conditions, order))), expected, what);
            assertEqual(notes.count(filter(conditions, order)), expected.length, `${what}: count`);
            assertEqual(notes.exists(filter(conditions, order)), true, `${what}: exists`);
            assertEqual(notes.find_first(filter(conditions, order)).id, expected[0], `${what}: first`);
            for (const window of [{limit: 1}, {limit: 2, offset: 1}, {offset: 2, limit: 50}]) {
                const f = filter(conditions, order, window);
                assertEqual(ids(notes.find_many(f)), bruteForce(notes, conditions, order, window),
                    `${what}: window ${JSON.stringify(window)}`);
                assertEqual(notes.count(f), expected.length, `${what}: count ignores the window`);
            }
        }
        assertEqual(notes.exists(filter([['title', O.EQ, 'no such title']])), false, 'exists: none');
        assertEqual(notes.find_first(filter([['title', O.EQ, 'no such title']])), null, 'first: none');
        db.close();
    },

    async 'watch: items-changed, notify in place, a new filter'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        fill(notes);
        const starred = [['starred', Net.FilterOp.EQ, true]];
        const byDue = [['due', true]];
        const model = notes.watch(filter(starred, byDue));
        assert(model instanceof Gio.ListModel, 'a Gio.ListModel');
        const rec = new Recorder(model);
        assertEqual(ids(modelItems(model)), bruteForce(notes, starred, byDue), 'initial');
        const before = model.n_items;

        const fresh = new Note({id: 999, title: 'fresh', starred: true, due: day(30)});
        let next = rec.next();
        notes.insert(fresh);
        await next;
        rec.check('insert');
        assertEqual(rec.changes.at(-1), '-0+1@0', 'inserted first');
        assert(model.get_item(0) === fresh, 'the inserted record is the item');

        next = rec.next();
        notes.update(999, ['starred'], [false]);
        await next;
        rec.check('update out of the filter');
        assertEqual(model.n_items, before, 'removed');
        assertEqual(rec.changes.at(-1), '-1+0@0', 'removed at 0');

        const last = model.get_item(model.n_items - 1);
        next = rec.next();
        notes.update(last.id, ['due'], [day(31)]);
        await next;
        rec.check('reorder');
        assert(model.get_item(0) === last, 'moved first');

        // A change that keeps an item in place is a notify on it.
        const count = rec.changes.length;
        const item = model.get_item(1);
        const notified = new Promise(resolve => {
            const id = item.connect('notify::body', r => {
                item.disconnect(id);
                resolve(r.body);
            });
        });
        notes.update(item.id, ['body'], ['edited']);
        assertEqual(await notified, 'edited', 'notify::body');
        assertEqual(rec.changes.slice(count), [], 'no items-changed for an in-place change');

        next = rec.next();
        notes.delete(last.id);
        await next;
        rec.check('delete');
        assertEqual(ids(modelItems(model)), bruteForce(notes, starred, byDue), 'after the changes');

        // Search as you type: a new filter.
        const prefix = [['title', Net.FilterOp.PREFIX, 'gam']];
        const expected = bruteForce(notes, prefix, [['title', false]]);
        assert(expected.length > 0 &&
            JSON.stringify(expected) !== JSON.stringify(ids(modelItems(model))), 'a new result');
        next = rec.next();
        model.filter = filter(prefix, [['title', false]]);
        await next;
        while (JSON.stringify(ids(modelItems(model))) !== JSON.stringify(expected)) {
            next = rec.next();
            // eslint-disable-next-line no-await-in-loop
            await next;
        }
        rec.check('new filter');
        db.close();
    },

    'reopen a persistent directory, typed and untyped'() {
        withTempDir(path => {
            let db = Net.Db.new(path, Net.DbModels.NONE);
            let notes = openNotes(db);
            const n = fullNote(0);
            notes.insert(n);
            const id = n.id;
            notes.insert(new Note({id: 2 ** 40, title: 'forty'}));
            notes.insert(new Note({id: 3, title: 'three'}));
            notes.update(3, ['title', 'priority'], ['three again', 7]);
            notes.delete(2 ** 40);
            assert(db.close(), 'close');

            db = Net.Db.new(path, Net.DbModels.NONE);
            assertEqual(db.list_collections(), ['notes'], 'listed');
            notes = openNotes(db);
            assertEqual(notes.count(null), 2, 'count');
            const r = notes.get(id);
            assert(r instanceof Note, 'a Note');
            checkFullNote(r, 'reopened');
            assertEqual(notes.get(3).priority, 7, 'updated field');
            assertEqual(notes.get(2 ** 40), null, 'deleted record');
            assertEqual(notes.count(filter([['title', Net.FilterOp.CONTAINS, 'again']])), 1, 'search');
            db.close();

            db = Net.Db.new(path, Net.DbModels.NONE);
            const records = db.open_collection('notes', Net.Record.$gtype);
            const three = records.get(3);
            assertEqual(three.constructor, Net.Record, 'untyped item');
            assertEqual(three.get_field('title'), [true, 'three again'], 'get_field');
            assertEqual(three.get_field('priority'), [true, 7], 'get_field int');
            // Every stored type of the full note, read without the class.
            const full = records.get(id);
            assertEqual(full.get_field('big'), [true, -(2 ** 50)], 'untyped int64');
            assertEqual(full.get_field('tags'), [true, ['a', 'Bé']], 'untyped strv');
            const [hasDue, due] = full.get_field('due');
            assert(hasDue && usec(due) === usec(day(24, 18)) + 250001, 'untyped date-time');
            assertEqual(full.get_field('id'), [true, id], 'untyped id');
            assertEqual(full.get_field('status'), [true, Net.TaskStatus.COMPLETED], 'untyped enum');
            assert(records.list_fields().includes('due'), 'list_fields');
            assertEqual(records.count(filter([['priority', Net.FilterOp.GT, 5]])), 1, 'untyped query');
            db.close();
        });
    },

    'records dropped by JavaScript and collected come back whole'() {
        const db = Net.Db.new(null, Net.DbModels.NONE);
        const notes = openNotes(db);
        for (let i = 1; i <= 50; i++)
            notes.insert(new Note({id: i, title: `t${i}`, tags: [`${i}`], due: day(1 + i % 28)}));
        const context = GLib.MainContext.default();
        System.gc();
        while (context.iteration(false))
            ;
        System.gc();
        notes.update(5, ['title'], ['changed']);
        System.gc();
        for (let i = 1; i <= 50; i++) {
            const r = notes.get(i);
            assert(r instanceof Note, `record ${i} is a Note`);
            assertEqual([r.title, r.tags, usec(r.due)],
                [i === 5 ? 'changed' : `t${i}`, [`${i}`], usec(day(1 + i % 28))], `record ${i}`);
        }
        db.close();
    },

    'snapshot round trip'() {
        const db = Net.Db.new(null, Net.DbModels.TASKS);
        const notes = openNotes(db);
        db.tasks.create(1, 'a task', 0);
        notes.insert(fullNote(9));
        for (let i = 0; i < 5; i++)
            notes.insert(new Note({title: `more ${i}`, priority: i}));
        const blob = db.snapshot();
        db.close();

        const built = Net.DbBuilder.new().with_tasks()
            .with_collection('notes', Note.$gtype).build_from_snapshot(blob);
        const copy = built.open_collection('notes', Note.$gtype);
        assertEqual(copy.count(null), 6, 'count');
        checkFullNote(copy.get(9), 'from the snapshot');
        assertEqual(copy.find_many(filter([['priority', Net.FilterOp.GE, 3]], [['priority', true]]))
            .map(r => r.priority), [4, 3], 'query');
        assertEqual(built.tasks.count(null), 1, 'tasks too');
        built.close();

        const opened = Net.Db.open_from_snapshot(blob, null, Net.DbModels.NONE);
        assertEqual(opened.list_collections(), ['notes'], 'listed');
        const again = opened.open_collection('notes', Note.$gtype);
        assertEqual(again.count(null), 6, 'opened later');
        assertEqual(again.delete(9), 7, 'the log goes on');
        opened.close();
    },
};

runTests(tests);
