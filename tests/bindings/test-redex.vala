/* test-redex.vala: the RedEX log through the generated netdb-1.0.vapi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

static GLib.Bytes text_bytes (string text) {
    return new GLib.Bytes (text.data);
}

static string payload_text (Net.RedexEvent event) {
    unowned uint8[] data = event.get_payload ().get_data ();
    var builder = new GLib.StringBuilder ();
    builder.append_len ((string) data, data.length);
    return builder.str;
}

static void remove_tree (string path) {
    if (GLib.FileUtils.test (path, GLib.FileTest.IS_DIR)
        && !GLib.FileUtils.test (path, GLib.FileTest.IS_SYMLINK)) {
        try {
            var dir = GLib.Dir.open (path);
            unowned string? name;
            while ((name = dir.read_name ()) != null)
                remove_tree (GLib.Path.build_filename (path, name));
        } catch (GLib.FileError e) {
            warning ("%s", e.message);
        }
        GLib.DirUtils.remove (path);
    } else {
        GLib.FileUtils.unlink (path);
    }
}

static void test_memory () {
    try {
        var redex = new Net.Redex (null);
        var log = redex.open_file ("demo", null);
        assert (log.append (text_bytes ("one")) == 1);
        assert (log.append (text_bytes ("two")) == 2);
        assert (log.get_next_seq () == 3);
        assert (log.get_first_seq () == 1);
        assert (payload_text (log.read_one (2)) == "two");

        var events = log.read_range (1, 3);
        assert (events.length == 2);
        assert (events[0].get_seq () == 1);
        assert (payload_text (events[1]) == "two");

        try {
            log.read_one (7);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.NOT_FOUND);
        }

        try {
            redex.open_file ("../escape", null);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
        }

        redex.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_locked () {
    try {
        var dir = GLib.DirUtils.make_tmp ("netdb-vala-XXXXXX");
        var path = GLib.Path.build_filename (dir, "db");
        var redex = new Net.Redex (path);
        var log = redex.open_file ("demo", null);
        assert (log.append (text_bytes ("persisted")) == 1);

        try {
            new Net.Redex (path);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.LOCKED);
            assert (path in e.message);
        }
        redex.close ();

        var reopened = new Net.Redex (path);
        var again = reopened.open_file ("demo", null);
        assert (again.get_next_seq () == 2);
        assert (payload_text (again.read_one (1)) == "persisted");
        reopened.close ();
        remove_tree (dir);
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static async void tail_events (Net.RedexFile log, GLib.MainLoop loop) {
    try {
        var tail = log.tail (1);
        var first = yield tail.next_async (null);
        assert (first.get_seq () == 1);
        assert (payload_text (first) == "history");

        GLib.Idle.add (() => {
            try {
                log.append (text_bytes ("live"));
            } catch (GLib.Error e) {
                error ("append: %s", e.message);
            }
            return GLib.Source.REMOVE;
        });
        var second = yield tail.next_async (null);
        assert (second.get_seq () == 2);
        assert (payload_text (second) == "live");
        tail.close ();
    } catch (GLib.Error e) {
        error ("tail: %s", e.message);
    }
    loop.quit ();
}

static void test_tail () {
    try {
        var redex = new Net.Redex (null);
        var log = redex.open_file ("tailed", null);
        log.append (text_bytes ("history"));

        var loop = new GLib.MainLoop (null, false);
        var timeout = GLib.Timeout.add_seconds (10, () => {
            error ("timed out waiting for the tail");
        });
        tail_events.begin (log, loop);
        loop.run ();
        GLib.Source.remove (timeout);
        redex.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

int main (string[] args) {
    GLib.Test.init (ref args);
    GLib.Test.add_func ("/bindings/vala/memory", test_memory);
    GLib.Test.add_func ("/bindings/vala/locked", test_locked);
    GLib.Test.add_func ("/bindings/vala/tail", test_tail);
    return GLib.Test.run ();
}
