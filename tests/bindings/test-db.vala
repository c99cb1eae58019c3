/* test-db.vala: NetDb, live queries and snapshots through the generated
 * netdb-1.0.vapi
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

static string ids (GLib.ListModel model) {
    var builder = new GLib.StringBuilder ();
    for (uint i = 0; i < model.get_n_items (); i++) {
        var task = (Net.Task) model.get_item (i);
        builder.append_printf ("%s%" + uint64.FORMAT, i > 0 ? "," : "", task.id);
    }
    return builder.str;
}

static string task_ids (GLib.GenericArray<weak Net.Task> tasks) {
    var builder = new GLib.StringBuilder ();
    for (uint i = 0; i < tasks.length; i++)
        builder.append_printf ("%s%" + uint64.FORMAT, i > 0 ? "," : "", tasks[i].id);
    return builder.str;
}

/* Lets the fold sources dispatch: deliveries are never synchronous. */
static void drain () {
    while (GLib.MainContext.default ().iteration (false))
        ;
}

static void test_open () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS | Net.DbModels.MEMORIES);
        assert (db.path == null);
        assert (!db.read_only);
        assert (db.origin != 0);
        assert (db.tasks != null && db.tasks == db.get_tasks ());
        assert (db.memories != null);
        assert (db.close ());
        assert (db.close ());

        var tasks_only = new Net.DbBuilder ().with_tasks ().origin (42).build ();
        assert (tasks_only.origin == 42);
        assert (tasks_only.get_memories () == null);
        tasks_only.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_crud () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS | Net.DbModels.MEMORIES);
        unowned Net.DbTasks tasks = db.get_tasks ();
        assert (tasks.create (1, "Write the report", 1000) == 1);
        assert (tasks.create (2, "Review the patch", 2000) == 2);
        assert (tasks.rename (1, "Write the final report", 3000) == 3);
        assert (tasks.complete (2, 4000) == 4);
        var first = tasks.get (1);
        assert (first.title == "Write the final report");
        assert (first.status == Net.TaskStatus.PENDING);
        assert (first.created_at == 1000 && first.updated_at == 3000);
        assert (tasks.get (2).status == Net.TaskStatus.COMPLETED);
        assert (tasks.delete (2) == 5);
        assert (tasks.get (2) == null);

        var pending = new Net.TasksFilter ();
        pending.status = Net.TaskStatus.PENDING;
        assert (pending.status_set);
        tasks.create (3, "Report the bug", 5000);
        assert (task_ids (tasks.find_many (pending)) == "1,3");
        var newest = (Net.TasksFilter) GLib.Object.new (typeof (Net.TasksFilter),
                                                        "order-by", Net.OrderBy.CREATED_DESC,
                                                        "limit", 1);
        assert (task_ids (tasks.find_many (newest)) == "3");
        assert (tasks.count (newest) == 2);
        assert (tasks.exists (pending));
        assert (tasks.find_first (newest).id == 3);

        unowned Net.DbMemories memories = db.get_memories ();
        string[] tags = { "work", "notes" };
        assert (memories.store (1, "Standup notes", tags, "alice", 100) == 1);
        assert (memories.store (2, "Buy milk", null, null, 200) == 2);
        assert (memories.retag (2, { "todo" }, 300) == 3);
        assert (memories.pin (1, 400) == 4);
        var memory = memories.get (1);
        assert (memory.tags.length == 2 && memory.tags[1] == "notes");
        assert (memory.pinned);
        assert (memory.has_tag ("work"));
        var work = new Net.MemoriesFilter ();
        work.tag = "work";
        assert (memories.count (work) == 1);
        var todo = new Net.MemoriesFilter ();
        todo.any_tags = { "todo", "nothing" };
        assert (memories.find_first (todo).id == 2);
        assert (memories.delete (2) == 5);
        assert (memories.count (null) == 1);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_watch () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS);
        unowned Net.DbTasks tasks = db.get_tasks ();
        tasks.create (1, "First", 100);
        var filter = new Net.TasksFilter ();
        filter.status = Net.TaskStatus.PENDING;
        filter.order_by = Net.OrderBy.CREATED_ASC;
        var model = tasks.watch (filter);
        assert (model.item_type == typeof (Net.Task));
        assert (model.get_n_items () == 1);
        assert (model.seq == 1);

        var changes = new GLib.StringBuilder ();
        var loop = new GLib.MainLoop (null, false);
        model.items_changed.connect ((position, removed, added) => {
            changes.append_printf ("-%u+%u@%u;", removed, added, position);
            loop.quit ();
        });
        uint n_items_notified = 0;
        model.notify["n-items"].connect (() => n_items_notified = model.n_items);

        /* A create from a timeout while the loop runs. */
        GLib.Timeout.add (10, () => {
            try {
                tasks.create (2, "Second", 200);
            } catch (GLib.Error e) {
                error ("create: %s", e.message);
            }
            /* Read-your-writes; the model changes from the next dispatch. */
            assert (tasks.count (filter) == 2);
            assert (model.get_n_items () == 1);
            return GLib.Source.REMOVE;
        });
        var timeout = GLib.Timeout.add_seconds (TIMEOUT_SECONDS, () => {
            error ("timed out waiting for items-changed");
        });
        loop.run ();
        GLib.Source.remove (timeout);
        assert (changes.str == "-0+1@1;");
        assert (n_items_notified == 2);
        assert (ids (model) == "1,2");
        assert (model.seq == 2);

        /* Completing leaves the pending watch. */
        tasks.complete (1, 300);
        drain ();
        assert (changes.str == "-0+1@1;-1+0@0;");
        assert (ids (model) == "2");

        /* A new filter, then a change of the filter object in place. */
        var every = new Net.TasksFilter ();
        model.filter = every;
        assert (ids (model) == "1,2");
        every.title_contains = "sec";
        assert (ids (model) == "2");
        model.set_filter (null);
        assert (model.get_n_items () == 2);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static async void wait_then_quit (Net.DbTasks tasks, GLib.MainLoop loop) {
    try {
        GLib.Idle.add (() => {
            try {
                tasks.create (1, "one", 0);
                tasks.create (2, "two", 0);
            } catch (GLib.Error e) {
                error ("create: %s", e.message);
            }
            return GLib.Source.REMOVE;
        });
        assert (yield tasks.wait_for_seq_async (2, null));
        assert (tasks.applied_seq >= 2);
    } catch (GLib.Error e) {
        error ("wait_for_seq_async: %s", e.message);
    }
    loop.quit ();
}

static void test_wait_for_seq_async () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS);
        var loop = new GLib.MainLoop (null, false);
        var timeout = GLib.Timeout.add_seconds (TIMEOUT_SECONDS, () => {
            error ("timed out waiting for seq 2");
        });
        wait_then_quit.begin (db.get_tasks (), loop);
        loop.run ();
        GLib.Source.remove (timeout);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_snapshot () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS | Net.DbModels.MEMORIES);
        db.get_tasks ().create (1, "Snap", 100);
        db.get_tasks ().complete (1, 200);
        db.get_memories ().store (5, "remember", { "x" }, "me", 300);
        GLib.Bytes blob = db.snapshot ();
        assert (blob.get_size () > 0);

        var restored = new Net.Db.open_from_snapshot (blob, null,
                                                      Net.DbModels.TASKS | Net.DbModels.MEMORIES);
        assert (restored.get_tasks ().get (1).status == Net.TaskStatus.COMPLETED);
        assert (restored.get_tasks ().applied_seq == 2);
        assert (restored.get_memories ().get (5).tags[0] == "x");
        assert (restored.get_tasks ().create (2, "next", 400) == 3);
        restored.close ();

        var dir = GLib.DirUtils.make_tmp ("netdb-vala-db-XXXXXX");
        var path = GLib.Path.build_filename (dir, "db");
        var persistent = new Net.DbBuilder ().persistent_dir (path).with_tasks ()
            .build_from_snapshot (blob);
        assert (persistent.get_tasks ().count (null) == 1);
        persistent.close ();
        remove_tree (dir);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_errors () {
    Net.Db db;
    try {
        db = new Net.Db (null, Net.DbModels.TASKS);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }

    try {
        db.get_tasks ().create (1, "after close", 0);
        assert_not_reached ();
    } catch (Net.Error e) {
        assert (e is Net.Error.CLOSED);
        assert (e.domain == Net.Error.quark ());
    } catch (GLib.Error e) {
        error ("wrong error: %s", e.message);
    }

    try {
        new Net.Db.open_from_snapshot (new GLib.Bytes ("garbage".data), null,
                                       Net.DbModels.TASKS);
        assert_not_reached ();
    } catch (Net.Error e) {
        assert (e is Net.Error.SNAPSHOT_INVALID);
    } catch (GLib.Error e) {
        error ("wrong error: %s", e.message);
    }

    string dir;
    try {
        dir = GLib.DirUtils.make_tmp ("netdb-vala-db-XXXXXX");
    } catch (GLib.FileError e) {
        error ("make_tmp: %s", e.message);
    }
    var path = GLib.Path.build_filename (dir, "db");
    try {
        var writer = new Net.Db (path, Net.DbModels.TASKS);
        writer.get_tasks ().create (1, "written", 0);
        try {
            new Net.Db (path, Net.DbModels.TASKS);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.LOCKED);
            assert (path in e.message);
        }
        writer.close ();

        var reader = new Net.Db.open_read_only (path, Net.DbModels.TASKS);
        assert (reader.read_only);
        assert (reader.get_tasks ().count (null) == 1);
        try {
            reader.get_tasks ().create (2, "refused", 0);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.READ_ONLY);
        }
        reader.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
    remove_tree (dir);
}

int main (string[] args) {
    GLib.Test.init (ref args);
    GLib.Test.add_func ("/bindings/vala/db/open", test_open);
    GLib.Test.add_func ("/bindings/vala/db/crud", test_crud);
    GLib.Test.add_func ("/bindings/vala/db/watch", test_watch);
    GLib.Test.add_func ("/bindings/vala/db/wait-for-seq-async", test_wait_for_seq_async);
    GLib.Test.add_func ("/bindings/vala/db/snapshot", test_snapshot);
    GLib.Test.add_func ("/bindings/vala/db/errors", test_errors);
    return GLib.Test.run ();
}
