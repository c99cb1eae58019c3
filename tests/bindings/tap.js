// SPDX-License-Identifier: LGPL-2.1-or-later
//
// What the gjs tests share: assertions, NET_ERROR checks, and a TAP runner
// that drives each (possibly async) test from a GLib.MainLoop with a
// timeout, then exits non-zero if any failed.

import GLib from 'gi://GLib';
import Net from 'gi://Net?version=1.0';
import System from 'system';

const NET_ERROR_DOMAIN = 'net-error-quark';
const TIMEOUT_SECONDS = 10;

export class AssertionError extends Error {}

export function assert(condition, message) {
    if (!condition)
        throw new AssertionError(message ?? 'assertion failed');
}

export function assertEqual(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new AssertionError(`${what}: expected ${e}, got ${a}`);
}

export function checkNetError(e, code, what) {
    if (e instanceof AssertionError)
        throw e;
    if (!(e instanceof GLib.Error))
        throw new AssertionError(`${what}: not a GLib.Error: ${e}`);
    assertEqual(GLib.quark_to_string(e.domain), NET_ERROR_DOMAIN, `${what}: domain`);
    assertEqual(e.domain, Net.error_quark(), `${what}: Net.error_quark()`);
    assertEqual(e.code, code, `${what}: code`);
    assert(e.matches(Net.error_quark(), code), `${what}: matches()`);
    assert(e.matches(Net.Error, code), `${what}: matches(Net.Error)`);
    assert(e.message.length > 0, `${what}: message`);
}

export function assertNetError(fn, code, what) {
    try {
        fn();
    } catch (e) {
        checkNetError(e, code, what);
        return e;
    }
    throw new AssertionError(`${what}: no error thrown`);
}

function withTimeout(promise, what) {
    return new Promise((resolve, reject) => {
        const id = GLib.timeout_add_seconds(GLib.PRIORITY_DEFAULT, TIMEOUT_SECONDS, () => {
            reject(new AssertionError(`timed out: ${what}`));
            return GLib.SOURCE_REMOVE;
        });
        promise.then(resolve, reject).finally(() => GLib.source_remove(id));
    });
}

async function runAll(tests) {
    const names = Object.keys(tests);
    let failed = 0;
    print(`1..${names.length}`);
    for (const [i, name] of names.entries()) {
        try {
            await withTimeout(Promise.resolve().then(() => tests[name]()), name);
            print(`ok ${i + 1} - ${name}`);
        } catch (e) {
            failed++;
            print(`not ok ${i + 1} - ${name}`);
            for (const line of `${e}\n${e.stack ?? ''}`.split('\n'))
                print(`# ${line}`);
        }
    }
    return failed;
}

// Runs @tests (name → function) as TAP and exits.
export function runTests(tests) {
    const loop = new GLib.MainLoop(null, false);
    let status = 1;
    runAll(tests).then(failed => {
        status = failed > 0 ? 1 : 0;
    }).catch(e => {
        printerr(`${e}\n${e.stack}`);
    }).finally(() => loop.quit());
    loop.run();
    System.exit(status);
}
