/* test-collection.vala: collections through the generated netdb-1.0.vapi:
 * a Vala subclass of Net.Record whose fields are Vala properties of every
 * kind, opened, written, queried with every operator against a brute
 * force, watched, reopened and snapshotted
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

const uint TIMEOUT_SECONDS = 10;

public class TestNote : Net.Record {
    public string? title { get; set; }
    public string? body { get; set; }
    public bool starred { get; set; }
    public int priority { get; set; }
    public uint small { get; set; }
    public int64 big { get; set; }
    public uint64 size { get; set; }
    public double score { get; set; }
    public GLib.DateTime? due { get; set; }
    public string[]? tags { get; set; }
    public GLib.Bytes? blob { get; set; }
    public Net.TaskStatus status { get; set; default = Net.TaskStatus.PENDING; }
    public Net.DbModels models { get; set; }
}

/* A field of a type no collection stores. */
public class TestBadNote : Net.Record {
    public GLib.Object? other { get; set; }
}

delegate bool Predicate (TestNote n);
delegate int Compare (TestNote a, TestNote b);

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

/* Lets the fold sources dispatch: deliveries are never synchronous. */
static void drain () {
    while (GLib.MainContext.default ().iteration (false))
        ;
}

static string record_ids (GLib.GenericArray<weak Net.Record> records) {
    var builder = new GLib.StringBuilder ();
    for (uint i = 0; i < records.length; i++)
        builder.append_printf ("%s%" + uint64.FORMAT, i > 0 ? "," : "", records[i].id);
    return builder.str;
}

static string model_ids (GLib.ListModel model) {
    var builder = new GLib.StringBuilder ();
    for (uint i = 0; i < model.get_n_items (); i++) {
        var record = (Net.Record) model.get_item (i);
        builder.append_printf ("%s%" + uint64.FORMAT, i > 0 ? "," : "", record.id);
    }
    return builder.str;
}

static GLib.DateTime day (int n, int hour = 12) {
    return new GLib.DateTime.utc (2026, 12, n, hour, 0, 0);
}

static GLib.Value value_of_string (string s) {
    var v = GLib.Value (typeof (string));
    v.set_string (s);
    return v;
}

static GLib.Value value_of_int (int i) {
    var v = GLib.Value (typeof (int));
    v.set_int (i);
    return v;
}

static GLib.Value value_of_double (double d) {
    var v = GLib.Value (typeof (double));
    v.set_double (d);
    return v;
}

static GLib.Value value_of_bool (bool b) {
    var v = GLib.Value (typeof (bool));
    v.set_boolean (b);
    return v;
}

static GLib.Value value_of_uint64 (uint64 u) {
    var v = GLib.Value (typeof (uint64));
    v.set_uint64 (u);
    return v;
}

static GLib.Value value_of_datetime (GLib.DateTime dt) {
    var v = GLib.Value (typeof (GLib.DateTime));
    v.set_boxed (dt);
    return v;
}

static TestNote full_note (uint64 id) {
    var note = new TestNote ();
    note.id = id;
    note.title = "Ünïcode";
    note.starred = true;
    note.priority = -12;
    note.small = 4000000000U;
    note.big = int64.MIN + 1;
    note.size = uint64.MAX;
    note.score = -2.5;
    note.due = day (24, 18).add (250001);
    note.tags = { "a", "Bé" };
    note.blob = new GLib.Bytes ({ 0, 1, 2 });
    note.status = Net.TaskStatus.COMPLETED;
    note.models = Net.DbModels.TASKS | Net.DbModels.MEMORIES;
    return note;
}

static void assert_full_note (Net.Record? record) {
    assert (record is TestNote);
    var note = (TestNote) record;
    assert (note.title == "Ünïcode");
    assert (note.body == null);
    assert (note.starred);
    assert (note.priority == -12);
    assert (note.small == 4000000000U);
    assert (note.big == int64.MIN + 1);
    assert (note.size == uint64.MAX);
    assert (note.score == -2.5);
    assert (note.due.equal (day (24, 18).add (250001)));
    assert (note.tags.length == 2 && note.tags[0] == "a" && note.tags[1] == "Bé");
    assert (note.blob.get_size () == 3 && note.blob.get_data ()[2] == 2);
    assert (note.status == Net.TaskStatus.COMPLETED);
    assert (note.models == (Net.DbModels.TASKS | Net.DbModels.MEMORIES));
}

static unowned Net.Collection open_notes (Net.Db db) throws GLib.Error {
    unowned Net.Collection notes = db.open_collection ("notes", typeof (TestNote));
    assert (notes.add_index ("due", Net.IndexFlags.ORDERED));
    assert (notes.add_index ("title", Net.IndexFlags.SEARCH));
    return notes;
}

static void test_open () {
    try {
        var db = new Net.Db (null, Net.DbModels.NONE);
        unowned Net.Collection notes = db.open_collection ("notes", typeof (TestNote));
        assert (db.open_collection ("notes", typeof (TestNote)) == notes);
        assert (notes.name == "notes");
        assert (notes.record_type == typeof (TestNote));
        string[] names = db.list_collections ();
        assert (names.length == 1 && names[0] == "notes");
        try {
            db.open_collection ("bad", typeof (TestBadNote));
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
            assert ("other" in e.message);
        }
        try {
            db.open_collection ("Bad Name", typeof (TestNote));
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
        }
        try {
            notes.add_index ("priority", Net.IndexFlags.SEARCH);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
        }
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_crud () {
    try {
        var db = new Net.Db (null, Net.DbModels.NONE);
        unowned Net.Collection notes = open_notes (db);

        /* Id 0: a random id below 2^53, set on the record. */
        var note = new TestNote ();
        note.title = "Write";
        note.priority = 3;
        assert (notes.insert (note) == 1);
        uint64 id = note.id;
        assert (id > 0 && id < (1ULL << 53));
        assert (note.created_at > 0 && note.updated_at == note.created_at);
        assert (notes.get (id) == note);

        var full = full_note (7);
        assert (notes.insert (full) == 2);
        assert_full_note (notes.get (7));
        try {
            var again = new TestNote ();
            again.id = 7;
            notes.insert (again);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.EXISTS);
        }

        /* updatev: read your writes; notify from the dispatch. */
        uint notifies = 0;
        note.notify["title"].connect (() => notifies++);
        string[] names = { "title", "priority", "starred", "due", "size" };
        GLib.Value[] values = {
            value_of_string ("Write more"), value_of_int (9), value_of_bool (true),
            value_of_datetime (day (3)), value_of_uint64 (1ULL << 63)
        };
        uint64 seq = notes.updatev (id, names, values);
        assert (seq == 3);
        assert (note.title == "Write more" && note.priority == 9 && note.starred);
        assert (note.due.equal (day (3)) && note.size == (1ULL << 63));
        assert (notifies == 0);
        assert (notes.wait_for_seq (seq, TIMEOUT_SECONDS * 1000));
        assert (notifies == 1);

        /* g_value_transform: a double into an int field. */
        assert (notes.updatev (id, { "priority" }, { value_of_double (4.0) }) == 4);
        assert (note.priority == 4);

        /* Errors write nothing. */
        try {
            notes.updatev (id, { "title", "priority" },
                           { value_of_string ("lost"), value_of_string ("nine") });
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
            assert ("priority" in e.message);
        }
        try {
            notes.updatev (id, { "nope" }, { value_of_int (1) });
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.INVALID_ARGUMENT);
            assert ("nope" in e.message);
        }
        try {
            notes.updatev (424242, { "title" }, { value_of_string ("x") });
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.NOT_FOUND);
        }
        assert (notes.get_applied_seq () == 4);
        assert (note.title == "Write more");

        /* Delete: the record keeps its last values. */
        assert (notes.delete (id) == 5);
        assert (notes.get (id) == null);
        assert (note.title == "Write more");
        try {
            notes.delete (id);
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.NOT_FOUND);
        }
        assert (notes.count (null) == 1);

        db.close ();
        try {
            notes.insert (new TestNote ());
            assert_not_reached ();
        } catch (Net.Error e) {
            assert (e is Net.Error.CLOSED);
        }
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

const string[] TITLES = {
    "Alpha", "beta", "Gamma ray", "alphabet", "Delta", "zeta", "Beta max",
    "gamma", "omega", "Epsilon"
};

static void fill (Net.Collection notes) throws GLib.Error {
    for (int i = 0; i < TITLES.length; i++) {
        var note = new TestNote ();
        note.id = 100 + i;
        note.title = TITLES[i];
        note.starred = i % 3 == 0;
        note.priority = i % 4;
        note.score = i / 2.0;
        note.big = (1LL << 33) * i;
        note.due = day (1 + i % 5, 8 + i);
        note.tags = i % 2 == 1 ? new string[] { "t%d".printf (i % 3), "all" }
                               : new string[] { "t%d".printf (i % 3) };
        note.status = i % 4 == 1 ? Net.TaskStatus.COMPLETED : Net.TaskStatus.PENDING;
        notes.insert (note);
    }
}

/* The ids @filter must select, by a brute force over every record. */
static string brute_force (Net.Collection notes, Predicate pred, Compare? cmp,
                           uint offset = 0, uint limit = 0) {
    var all = notes.find_many (null);
    var selected = new GLib.GenericArray<TestNote> ();
    for (uint i = 0; i < all.length; i++) {
        var n = (TestNote) all[i];
        if (pred (n))
            selected.add (n);
    }
    if (cmp != null)
        selected.sort_with_data ((a, b) => cmp (a, b));
    var builder = new GLib.StringBuilder ();
    uint end = limit > 0 ? uint.min (offset + limit, selected.length) : selected.length;
    for (uint i = offset; i < end; i++)
        builder.append_printf ("%s%" + uint64.FORMAT, i > offset ? "," : "", selected[i].id);
    return builder.str;
}

static int by_id (TestNote a, TestNote b) {
    return a.id < b.id ? -1 : (a.id > b.id ? 1 : 0);
}

static void check_query (Net.Collection notes, Net.Filter filter, Predicate pred,
                         Compare cmp, string what) {
    string expected = brute_force (notes, pred, cmp);
    assert (expected != "");
    if (record_ids (notes.find_many (filter)) != expected)
        error ("%s: expected %s, got %s", what, expected, record_ids (notes.find_many (filter)));
    uint n = expected.split (",").length;
    assert (notes.count (filter) == n);
    assert (notes.exists (filter));
    assert (notes.find_first (filter).id.to_string () == expected.split (",")[0]);
    filter.offset = 1;
    filter.limit = 2;
    assert (record_ids (notes.find_many (filter)) == brute_force (notes, pred, cmp, 1, 2));
    assert (notes.count (filter) == n);
}

static void test_queries () {
    try {
        var db = new Net.Db (null, Net.DbModels.NONE);
        unowned Net.Collection notes = open_notes (db);
        fill (notes);

        check_query (notes,
                     new Net.Filter ().where ("starred", Net.FilterOp.EQ, true)
                                      .order_by ("due", true),
                     (n) => n.starred,
                     (a, b) => b.due.compare (a.due) != 0 ? b.due.compare (a.due) : by_id (b, a),
                     "starred, due descending");
        check_query (notes,
                     new Net.Filter ().where ("priority", Net.FilterOp.NE, 2)
                                      .order_by ("priority", false).order_by ("score", true),
                     (n) => n.priority != 2,
                     (a, b) => a.priority != b.priority ? a.priority - b.priority
                             : (a.score != b.score ? (a.score < b.score ? 1 : -1) : by_id (a, b)),
                     "priority != 2, priority, score descending");
        check_query (notes,
                     new Net.Filter ().where ("priority", Net.FilterOp.LT, 2),
                     (n) => n.priority < 2, by_id, "priority < 2");
        check_query (notes,
                     new Net.Filter ().where ("score", Net.FilterOp.GT, 1.5)
                                      .where ("score", Net.FilterOp.LE, 4.0),
                     (n) => n.score > 1.5 && n.score <= 4.0, by_id, "1.5 < score <= 4");
        check_query (notes,
                     new Net.Filter ().where ("big", Net.FilterOp.GE, (int64) (1LL << 35))
                                      .order_by ("big", true),
                     (n) => n.big >= (1LL << 35),
                     (a, b) => a.big < b.big ? 1 : (a.big > b.big ? -1 : 0),
                     "big >= 2^35, descending");
        check_query (notes,
                     new Net.Filter ().where ("due", Net.FilterOp.LT, day (3))
                                      .order_by ("due", false).order_by ("id", true),
                     (n) => n.due.compare (day (3)) < 0,
                     (a, b) => a.due.compare (b.due) != 0 ? a.due.compare (b.due) : by_id (b, a),
                     "due < day 3, due, id descending");
        check_query (notes,
                     new Net.Filter ().where ("title", Net.FilterOp.PREFIX, "alpha"),
                     (n) => n.title.down ().has_prefix ("alpha"), by_id, "title prefix");
        check_query (notes,
                     new Net.Filter ().where ("title", Net.FilterOp.CONTAINS, "ETA")
                                      .order_by ("title", true),
                     (n) => "eta" in n.title.down (),
                     (a, b) => -strcmp (a.title, b.title),
                     "title contains, title descending");
        check_query (notes,
                     new Net.Filter ().where ("tags", Net.FilterOp.CONTAINS, "all")
                                      .order_by ("starred", false).order_by ("priority", false),
                     (n) => "all" in n.tags,
                     (a, b) => a.starred != b.starred ? (a.starred ? 1 : -1)
                             : (a.priority != b.priority ? a.priority - b.priority : by_id (a, b)),
                     "tags contains, starred, priority");
        check_query (notes,
                     new Net.Filter ().where ("status", Net.FilterOp.EQ, Net.TaskStatus.COMPLETED),
                     (n) => n.status == Net.TaskStatus.COMPLETED, by_id, "status");
        check_query (notes,
                     new Net.Filter ().where ("id", Net.FilterOp.GE, (uint64) 105)
                                      .order_by ("id", true),
                     (n) => n.id >= 105, (a, b) => by_id (b, a), "id >= 105, descending");

        var none = new Net.Filter ().where ("title", Net.FilterOp.EQ, "no such title");
        assert (!notes.exists (none));
        assert (notes.find_first (none) == null);
        assert (notes.count (none) == 0);
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_watch () {
    try {
        var db = new Net.Db (null, Net.DbModels.NONE);
        unowned Net.Collection notes = open_notes (db);
        fill (notes);
        var filter = new Net.Filter ().where ("starred", Net.FilterOp.EQ, true)
                                      .order_by ("due", true);
        var model = notes.watch (filter);
        assert (model_ids (model) == record_ids (notes.find_many (filter)));

        var changes = new GLib.StringBuilder ();
        var loop = new GLib.MainLoop (null, false);
        model.items_changed.connect ((position, removed, added) => {
            changes.append_printf ("-%u+%u@%u;", removed, added, position);
            loop.quit ();
        });

        /* An insert from an idle while the loop runs. */
        var fresh = new TestNote ();
        fresh.id = 999;
        fresh.starred = true;
        fresh.due = day (30);
        GLib.Idle.add (() => {
            try {
                notes.insert (fresh);
            } catch (GLib.Error e) {
                error ("insert: %s", e.message);
            }
            return GLib.Source.REMOVE;
        });
        var timeout = GLib.Timeout.add_seconds (TIMEOUT_SECONDS, () => {
            error ("timed out waiting for items-changed");
        });
        loop.run ();
        GLib.Source.remove (timeout);
        assert (changes.str == "-0+1@0;");
        assert (model.get_item (0) == fresh);

        /* Out of the filter. */
        notes.updatev (999, { "starred" }, { value_of_bool (false) });
        drain ();
        assert (changes.str == "-0+1@0;-1+0@0;");

        /* A change of a field that is not an order key: a notify. */
        var item = (TestNote) model.get_item (1);
        uint notifies = 0;
        item.notify["body"].connect (() => notifies++);
        notes.updatev (item.id, { "body" }, { value_of_string ("edited") });
        drain ();
        assert (notifies == 1);
        assert (changes.str == "-0+1@0;-1+0@0;");
        assert (model_ids (model) == record_ids (notes.find_many (filter)));

        /* A new filter. */
        model.filter = new Net.Filter ().where ("title", Net.FilterOp.PREFIX, "gam")
                                        .order_by ("title", false);
        drain ();
        assert (model_ids (model) == "102,107");   /* bytewise: "Gamma ray" < "gamma" */
        db.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

static void test_reopen () {
    string dir;
    try {
        dir = GLib.DirUtils.make_tmp ("netdb-vala-collection-XXXXXX");
    } catch (GLib.FileError e) {
        error ("%s", e.message);
    }
    var path = GLib.Path.build_filename (dir, "db");
    try {
        uint64 id;
        {
            var db = new Net.Db (path, Net.DbModels.NONE);
            unowned Net.Collection notes = open_notes (db);
            var note = full_note (0);
            notes.insert (note);
            id = note.id;
            var three = new TestNote ();
            three.id = 3;
            three.title = "three";
            notes.insert (three);
            notes.updatev (3, { "title", "priority" },
                           { value_of_string ("three again"), value_of_int (7) });
            assert (db.close ());
        }
        {
            var db = new Net.Db (path, Net.DbModels.NONE);
            unowned Net.Collection notes = open_notes (db);
            assert (notes.count (null) == 2);
            assert_full_note (notes.get (id));
            assert (((TestNote) notes.get (3)).priority == 7);
            var again = new Net.Filter ().where ("title", Net.FilterOp.CONTAINS, "again");
            assert (notes.count (again) == 1);
            db.close ();
        }
        {
            var db = new Net.Db (path, Net.DbModels.NONE);
            unowned Net.Collection records = db.open_collection ("notes", typeof (Net.Record));
            var three = records.get (3);
            assert (three.get_type () == typeof (Net.Record));
            GLib.Value title;
            assert (three.get_field ("title", out title));
            assert (title.get_string () == "three again");
            assert ("due" in records.list_fields ());
            var over5 = new Net.Filter ().where ("priority", Net.FilterOp.GT, 5);
            assert (records.count (over5) == 1);
            db.close ();
        }
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
    remove_tree (dir);
}

static void test_snapshot () {
    try {
        var db = new Net.Db (null, Net.DbModels.TASKS);
        unowned Net.Collection notes = open_notes (db);
        db.get_tasks ().create (1, "a task", 0);
        notes.insert (full_note (9));
        for (int i = 0; i < 5; i++) {
            var more = new TestNote ();
            more.priority = i;
            notes.insert (more);
        }
        GLib.Bytes blob = db.snapshot ();
        db.close ();

        var built = new Net.DbBuilder ().with_tasks ()
                                        .with_collection ("notes", typeof (TestNote))
                                        .build_from_snapshot (blob);
        unowned Net.Collection copy = built.open_collection ("notes", typeof (TestNote));
        assert (copy.count (null) == 6);
        assert_full_note (copy.get (9));
        var top = new Net.Filter ().where ("priority", Net.FilterOp.GE, 3)
                                   .order_by ("priority", true);
        var found = copy.find_many (top);
        assert (found.length == 2 && ((TestNote) found[0]).priority == 4);
        assert (built.get_tasks ().count (null) == 1);
        built.close ();

        var opened = new Net.Db.open_from_snapshot (blob, null, Net.DbModels.NONE);
        string[] names = opened.list_collections ();
        assert (names.length == 1 && names[0] == "notes");
        unowned Net.Collection again = opened.open_collection ("notes", typeof (TestNote));
        assert (again.count (null) == 6);
        assert (again.delete (9) == 7);
        opened.close ();
    } catch (GLib.Error e) {
        error ("unexpected error: %s", e.message);
    }
}

int main (string[] args) {
    GLib.Test.init (ref args);
    GLib.Test.add_func ("/bindings/vala/collection/open", test_open);
    GLib.Test.add_func ("/bindings/vala/collection/crud", test_crud);
    GLib.Test.add_func ("/bindings/vala/collection/queries", test_queries);
    GLib.Test.add_func ("/bindings/vala/collection/watch", test_watch);
    GLib.Test.add_func ("/bindings/vala/collection/reopen", test_reopen);
    GLib.Test.add_func ("/bindings/vala/collection/snapshot", test_snapshot);
    return GLib.Test.run ();
}
