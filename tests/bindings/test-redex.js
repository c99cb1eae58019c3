// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The RedEX log through gjs, against the uninstalled build
// (GI_TYPELIB_PATH and LD_LIBRARY_PATH point at build/netdb):
//
//   GI_TYPELIB_PATH=build/netdb LD_LIBRARY_PATH=build/netdb \
//     gjs -m tests/bindings/test-redex.js
//
// Prints TAP; exits non-zero if any test fails.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Net from 'gi://Net?version=1.0';
import {
    AssertionError, assert, assertEqual, assertNetError, checkNetError, runTests,
} from './tap.js';


const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bytes(text) {
    return new GLib.Bytes(encoder.encode(text));
}

function text(event) {
    return decoder.decode(event.get_payload().toArray());
}

// next_async()/next_finish() as a promise.
function nextEvent(tail, cancellable = null) {
    return new Promise((resolve, reject) => {
        tail.next_async(cancellable, (source, result) => {
            try {
                resolve(source.next_finish(result));
            } catch (e) {
                reject(e);
            }
        });
    });
}

function idle() {
    return new Promise(resolve => {
        GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
            resolve();
            return GLib.SOURCE_REMOVE;
        });
    });
}

function makeTempDir() {
    return GLib.dir_make_tmp('netdb-gjs-XXXXXX');
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

// --- tests ----------------------------------------------------------------

function checkAppendAndRead(redex) {
    const log = redex.open_file('demo', null);
    assertEqual(log.get_name(), 'demo', 'name');
    assertEqual(log.get_next_seq(), 1, 'next seq of an empty log');

    const before = GLib.get_real_time();
    assertEqual(log.append(bytes('one')), 1, 'first seq');
    assertEqual(log.append(bytes('two')), 2, 'second seq');
    assertEqual(log.append(bytes('three')), 3, 'third seq');
    const after = GLib.get_real_time();

    assertEqual(log.get_first_seq(), 1, 'first seq');
    assertEqual(log.get_next_seq(), 4, 'next seq');
    assertEqual(log.get_length(), 3, 'length');

    const event = log.read_one(2);
    assertEqual(event.get_seq(), 2, 'read_one seq');
    assertEqual(text(event), 'two', 'read_one payload');
    assert(event.get_timestamp() >= before && event.get_timestamp() <= after,
        'timestamp is now');

    const events = log.read_range(1, 4);
    assertEqual(events.map(e => e.get_seq()), [1, 2, 3], 'read_range seqs');
    assertEqual(events.map(text), ['one', 'two', 'three'], 'read_range payloads');
    assertEqual(log.read_range(2, 3).map(e => e.get_seq()), [2], 'end is exclusive');

    assertEqual(log.append_batch([bytes('b1'), bytes('b2')]), 4, 'batch first seq');
    assertEqual(log.get_next_seq(), 6, 'next seq after batch');
    return log;
}

const tests = {
    'memory: append and read'() {
        const redex = Net.Redex.new(null);
        checkAppendAndRead(redex);
        redex.close();
    },

    'directory: append, reopen, read'() {
        const dir = makeTempDir();
        try {
            const path = GLib.build_filenamev([dir, 'db']);
            let redex = Net.Redex.new(path);
            checkAppendAndRead(redex);
            assert(redex.list_files().includes('demo'), 'list_files');

            // A second writer is refused while the first holds the lock.
            const e = assertNetError(() => Net.Redex.new(path),
                Net.Error.LOCKED, 'second writer');
            assert(e.message.includes(path), 'LOCKED names the path');
            redex.close();

            redex = Net.Redex.new(path);
            const log = redex.open_file('demo', null);
            assertEqual(log.get_next_seq(), 6, 'next seq after reopen');
            assertEqual(log.read_range(1, 6).map(text),
                ['one', 'two', 'three', 'b1', 'b2'], 'payloads after reopen');
            assertEqual(log.append(bytes('six')), 6, 'seqs continue');
            redex.close();
        } finally {
            removeTree(dir);
        }
    },

    'errors: invalid name, missing seq, closed'() {
        const redex = Net.Redex.new(null);
        for (const name of ['', '../escape', '/abs', 'a//b', 'UPPER']) {
            assertNetError(() => redex.open_file(name, null),
                Net.Error.INVALID_ARGUMENT, `name "${name}"`);
        }
        const log = redex.open_file('demo', null);
        log.append(bytes('one'));
        assertNetError(() => log.read_one(9), Net.Error.NOT_FOUND, 'read_one(9)');
        log.close();
        assertNetError(() => log.append(bytes('late')), Net.Error.CLOSED, 'append after close');
        redex.close();
    },

    async 'tail: history then live, in order'() {
        const redex = Net.Redex.new(null);
        const log = redex.open_file('tailed', null);
        log.append(bytes('h1'));
        log.append(bytes('h2'));

        const tail = log.tail(1);
        const seen = [];
        for (let i = 0; i < 2; i++) {
            const event = await nextEvent(tail);
            seen.push([event.get_seq(), text(event)]);
        }

        // Live: wait first, then append from the main loop.
        const pending = nextEvent(tail);
        await idle();
        log.append(bytes('l3'));
        const live = await pending;
        seen.push([live.get_seq(), text(live)]);

        assertEqual(seen, [[1, 'h1'], [2, 'h2'], [3, 'l3']], 'tail events');
        assertEqual(tail.get_position(), 4, 'tail position');

        // Closing the log ends the tail with CLOSED.
        const ending = nextEvent(tail);
        await idle();
        log.close();
        try {
            await ending;
            throw new AssertionError('tail after close did not fail');
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            checkNetError(e, Net.Error.CLOSED, 'tail after close');
        }
        redex.close();
    },

    async 'tail: cancellation'() {
        const redex = Net.Redex.new(null);
        const log = redex.open_file('cancelled', null);
        const tail = log.tail(1);
        const cancellable = new Gio.Cancellable();
        const pending = nextEvent(tail, cancellable);
        await idle();
        cancellable.cancel();
        try {
            await pending;
            throw new AssertionError('cancelled next did not fail');
        } catch (e) {
            if (e instanceof AssertionError)
                throw e;
            assert(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED),
                `expected G_IO_ERROR_CANCELLED, got ${e}`);
        }
        tail.close();
        redex.close();
    },
};

runTests(tests);
