/* test-node.vala: NetIdentity, NetNode and replication between two nodes
 * on 127.0.0.1, through the generated netdb-1.0.vapi
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

const uint TIMEOUT_SECONDS = 10;

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

public delegate bool Condition ();

/* Iterates the default main context until @condition holds; fails the
 * test after TIMEOUT_SECONDS instead of hanging. */
static void iterate_until (Condition condition, string what) {
    var context = GLib.MainContext.default ();
    int64 deadline = GLib.get_monotonic_time () + TIMEOUT_SECONDS * GLib.TimeSpan.SECOND;
    uint tick = GLib.Timeout.add (20, () => GLib.Source.CONTINUE);
    while (!condition ()) {
        if (GLib.get_monotonic_time () > deadline)
            error ("timed out waiting for %s", what);
        context.iteration (true);
    }
    GLib.Source.remove (tick);
}

static void test_identity () {
    string dir;
    try {
        dir = GLib.DirUtils.make_tmp ("netdb-vala-key-XXXXXX");
    } catch (GLib.FileError e) {
        error ("%s", e.message);
    }
    try {
        var a = Net.Identity.generate ();
        var b = Net.Identity.generate ();
        assert (a.public_key.length == 44);
        assert (a.public_key == a.get_public_key ());
        assert (a.public_key != b.public_key);
        assert (a.origin != 0 && a.origin == a.get_origin ());

        GLib.Bytes raw = Net.Identity.public_key_from_string (a.public_key);
        assert (raw.get_size () == Net.IDENTITY_PUBLIC_KEY_SIZE);
        assert (Net.Identity.public_key_to_string (raw) == a.public_key);
        try {
            Net.Identity.public_key_from_string ("not a key");
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
        }

        var path = GLib.Path.build_filename (dir, "node.key");
        assert (a.save (path));
        var info = GLib.File.new_for_path (path).query_info ("unix::mode",
                                                               GLib.FileQueryInfoFlags.NONE);
        assert ((info.get_attribute_uint32 ("unix::mode") & 0777) == 0600);
        var loaded = Net.Identity.load (path);
        assert (loaded.public_key == a.public_key);
        assert (loaded.origin == a.origin);
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
    remove_tree (dir);
}

static void test_replication () {
    string dir;
    try {
        dir = GLib.DirUtils.make_tmp ("netdb-vala-node-XXXXXX");
    } catch (GLib.FileError e) {
        error ("%s", e.message);
    }
    try {
        var leader_id = Net.Identity.generate ();
        var follower_id = Net.Identity.generate ();
        var models = Net.DbModels.TASKS | Net.DbModels.MEMORIES;
        var leader_db = new Net.Db (GLib.Path.build_filename (dir, "leader"), models);
        var follower_db = new Net.Db (GLib.Path.build_filename (dir, "follower"), models);

        var leader = new Net.Node (leader_id, "127.0.0.1:0");
        var follower = new Net.Node (follower_id, "127.0.0.1:0");
        assert (leader.local_address.has_prefix ("127.0.0.1:"));
        assert (!leader.running);

        uint leader_up = 0, follower_up = 0;
        leader.peer_up.connect ((key) => {
            assert (key == follower_id.public_key);
            leader_up++;
        });
        follower.peer_up.connect ((key) => {
            assert (key == leader_id.public_key);
            follower_up++;
        });

        assert (leader.add_peer (follower_id.public_key, null));
        assert (follower.add_peer (leader_id.public_key, leader.local_address));
        assert (leader.serve_db (leader_db));
        assert (follower.follow_db (follower_db, leader_id.public_key, false));
        assert (follower_db.following);

        unowned Net.DbTasks leader_tasks = leader_db.get_tasks ();
        unowned Net.DbTasks follower_tasks = follower_db.get_tasks ();
        leader_tasks.create (1, "before start", 0);
        assert (leader.start ());
        assert (follower.start ());
        assert (leader.running);
        iterate_until (() => leader_up > 0 && follower_up > 0, "peer-up");
        assert (follower.is_peer_up (leader_id.public_key));

        for (uint64 id = 2; id <= 10; id++)
            leader_tasks.create (id, "task %s".printf (id.to_string ()), 0);
        iterate_until (() => follower_tasks.count (null) == 10, "10 tasks on the follower");
        assert (follower_tasks.get (1).title == "before start");
        assert (follower_tasks.get (10).title == "task 10");

        try {
            follower_tasks.create (11, "local", 0);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.READ_ONLY);
        }

        /* Not get_counters(): it returns a floating GVariant that the
         * vapi says is unowned, which Vala refs but never sinks (a leak). */
        assert (follower.get_counter ("datagrams-sent") > 0);
        assert (leader.get_counter ("datagrams-received") > 0);
        assert (follower.get_counter ("repl-events-appended") >= 10);

        follower.stop ();
        leader.stop ();
        follower_db.close ();
        leader_db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
    remove_tree (dir);
}

int main (string[] args) {
    GLib.Test.init (ref args);
    GLib.Test.add_func ("/bindings/vala/node/identity", test_identity);
    GLib.Test.add_func ("/bindings/vala/node/replication", test_replication);
    return GLib.Test.run ();
}
