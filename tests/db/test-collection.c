/* test-collection.c: NetRecord, NetCollection, NetFilter and NetDb's collections
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-collection-private.h"
#include "net-codec-private.h"
#include "net-event-meta-private.h"
#include "net-fold-private.h"

/* Helpers ------------------------------------------------------------------- */

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)))
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);

        rm_rf (child);
      }
  g_remove (path);
}

typedef struct
{
  char *root;
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->root = g_dir_make_tmp ("netdb-coll-XXXXXX", NULL);
  g_assert_nonnull (f->root);
  f->dir = g_build_filename (f->root, "db", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  rm_rf (f->root);
  g_free (f->root);
  g_free (f->dir);
}

/* A record class with every field type ------------------------------------------ */

#define TEST_TYPE_NOTE (test_note_get_type ())
G_DECLARE_FINAL_TYPE (TestNote, test_note, TEST, NOTE, NetRecord)

struct _TestNote
{
  NetRecord       parent_instance;
  char           *title;
  char           *body;
  gboolean        starred;
  int             priority;
  guint           small;
  gint64          big;
  guint64         size;
  double          score;
  char          **tags;
  NetTaskStatus   status;
  GApplicationFlags flags;
  GBytes         *blob;
  GDateTime      *due;
};

G_DEFINE_FINAL_TYPE (TestNote, test_note, NET_TYPE_RECORD)

enum {
  NOTE_PROP_0,
  NOTE_PROP_TITLE,
  NOTE_PROP_BODY,
  NOTE_PROP_STARRED,
  NOTE_PROP_PRIORITY,
  NOTE_PROP_SMALL,
  NOTE_PROP_BIG,
  NOTE_PROP_SIZE,
  NOTE_PROP_SCORE,
  NOTE_PROP_TAGS,
  NOTE_PROP_STATUS,
  NOTE_PROP_FLAGS,
  NOTE_PROP_BLOB,
  NOTE_PROP_DUE,
  NOTE_N_PROPS
};

static void
test_note_finalize (GObject *object)
{
  TestNote *self = TEST_NOTE (object);

  g_free (self->title);
  g_free (self->body);
  g_strfreev (self->tags);
  g_clear_pointer (&self->blob, g_bytes_unref);
  g_clear_pointer (&self->due, g_date_time_unref);
  G_OBJECT_CLASS (test_note_parent_class)->finalize (object);
}

static void
test_note_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  TestNote *self = TEST_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_value_set_string (value, self->title); break;
    case NOTE_PROP_BODY: g_value_set_string (value, self->body); break;
    case NOTE_PROP_STARRED: g_value_set_boolean (value, self->starred); break;
    case NOTE_PROP_PRIORITY: g_value_set_int (value, self->priority); break;
    case NOTE_PROP_SMALL: g_value_set_uint (value, self->small); break;
    case NOTE_PROP_BIG: g_value_set_int64 (value, self->big); break;
    case NOTE_PROP_SIZE: g_value_set_uint64 (value, self->size); break;
    case NOTE_PROP_SCORE: g_value_set_double (value, self->score); break;
    case NOTE_PROP_TAGS: g_value_set_boxed (value, self->tags); break;
    case NOTE_PROP_STATUS: g_value_set_enum (value, self->status); break;
    case NOTE_PROP_FLAGS: g_value_set_flags (value, self->flags); break;
    case NOTE_PROP_BLOB: g_value_set_boxed (value, self->blob); break;
    case NOTE_PROP_DUE: g_value_set_boxed (value, self->due); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_note_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  TestNote *self = TEST_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_free (self->title); self->title = g_value_dup_string (value); break;
    case NOTE_PROP_BODY: g_free (self->body); self->body = g_value_dup_string (value); break;
    case NOTE_PROP_STARRED: self->starred = g_value_get_boolean (value); break;
    case NOTE_PROP_PRIORITY: self->priority = g_value_get_int (value); break;
    case NOTE_PROP_SMALL: self->small = g_value_get_uint (value); break;
    case NOTE_PROP_BIG: self->big = g_value_get_int64 (value); break;
    case NOTE_PROP_SIZE: self->size = g_value_get_uint64 (value); break;
    case NOTE_PROP_SCORE: self->score = g_value_get_double (value); break;
    case NOTE_PROP_TAGS: g_strfreev (self->tags); self->tags = g_value_dup_boxed (value); break;
    case NOTE_PROP_STATUS: self->status = g_value_get_enum (value); break;
    case NOTE_PROP_FLAGS: self->flags = g_value_get_flags (value); break;
    case NOTE_PROP_BLOB: g_clear_pointer (&self->blob, g_bytes_unref); self->blob = g_value_dup_boxed (value); break;
    case NOTE_PROP_DUE: g_clear_pointer (&self->due, g_date_time_unref); self->due = g_value_dup_boxed (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_note_class_init (TestNoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = test_note_finalize;
  object_class->get_property = test_note_get_property;
  object_class->set_property = test_note_set_property;

  g_object_class_install_property (object_class, NOTE_PROP_TITLE, g_param_spec_string ("title", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BODY, g_param_spec_string ("body", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_STARRED, g_param_spec_boolean ("starred", NULL, NULL, FALSE, rw));
  g_object_class_install_property (object_class, NOTE_PROP_PRIORITY, g_param_spec_int ("priority", NULL, NULL, G_MININT, G_MAXINT, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_SMALL, g_param_spec_uint ("small", NULL, NULL, 0, G_MAXUINT, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BIG, g_param_spec_int64 ("big", NULL, NULL, G_MININT64, G_MAXINT64, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_SIZE, g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_SCORE, g_param_spec_double ("score", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_TAGS, g_param_spec_boxed ("tags", NULL, NULL, G_TYPE_STRV, rw));
  g_object_class_install_property (object_class, NOTE_PROP_STATUS, g_param_spec_enum ("status", NULL, NULL, NET_TYPE_TASK_STATUS, NET_TASK_STATUS_PENDING, rw));
  g_object_class_install_property (object_class, NOTE_PROP_FLAGS, g_param_spec_flags ("flags", NULL, NULL, G_TYPE_APPLICATION_FLAGS, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BLOB, g_param_spec_boxed ("blob", NULL, NULL, G_TYPE_BYTES, rw));
  g_object_class_install_property (object_class, NOTE_PROP_DUE, g_param_spec_boxed ("due", NULL, NULL, G_TYPE_DATE_TIME, rw));
}

static void
test_note_init (TestNote *self)
{
}

/* The same collection, a later version of the class: "body" removed,
 * "extra" added (default 7), "priority" widened to double. */
#define TEST_TYPE_NOTE2 (test_note2_get_type ())
G_DECLARE_FINAL_TYPE (TestNote2, test_note2, TEST, NOTE2, NetRecord)

struct _TestNote2
{
  NetRecord  parent_instance;
  char      *title;
  double     priority;
  int        extra;
};

G_DEFINE_FINAL_TYPE (TestNote2, test_note2, NET_TYPE_RECORD)

static void
test_note2_finalize (GObject *object)
{
  g_free (TEST_NOTE2 (object)->title);
  G_OBJECT_CLASS (test_note2_parent_class)->finalize (object);
}

static void
test_note2_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  TestNote2 *self = TEST_NOTE2 (object);

  switch (prop_id)
    {
    case 1: g_value_set_string (value, self->title); break;
    case 2: g_value_set_double (value, self->priority); break;
    case 3: g_value_set_int (value, self->extra); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_note2_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TestNote2 *self = TEST_NOTE2 (object);

  switch (prop_id)
    {
    case 1: g_free (self->title); self->title = g_value_dup_string (value); break;
    case 2: self->priority = g_value_get_double (value); break;
    case 3: self->extra = g_value_get_int (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_note2_class_init (TestNote2Class *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = test_note2_finalize;
  object_class->get_property = test_note2_get_property;
  object_class->set_property = test_note2_set_property;
  g_object_class_install_property (object_class, 1, g_param_spec_string ("title", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, 2, g_param_spec_double ("priority", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, rw));
  g_object_class_install_property (object_class, 3, g_param_spec_int ("extra", NULL, NULL, G_MININT, G_MAXINT, 7, rw));
}

static void
test_note2_init (TestNote2 *self)
{
  self->extra = 7;
}

/* An incompatible version: "title" became an int. */
#define TEST_TYPE_NOTE_BAD (test_note_bad_get_type ())
G_DECLARE_FINAL_TYPE (TestNoteBad, test_note_bad, TEST, NOTE_BAD, NetRecord)

struct _TestNoteBad
{
  NetRecord parent_instance;
  int       title;
};

G_DEFINE_FINAL_TYPE (TestNoteBad, test_note_bad, NET_TYPE_RECORD)

static void
test_note_bad_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  g_value_set_int (value, TEST_NOTE_BAD (object)->title);
}

static void
test_note_bad_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  TEST_NOTE_BAD (object)->title = g_value_get_int (value);
}

static void
test_note_bad_class_init (TestNoteBadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_note_bad_get_property;
  object_class->set_property = test_note_bad_set_property;
  g_object_class_install_property (object_class, 1,
                                   g_param_spec_int ("title", NULL, NULL, G_MININT, G_MAXINT, 0,
                                                     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
test_note_bad_init (TestNoteBad *self)
{
}

/* A class with a property no record can store. */
#define TEST_TYPE_NOTE_POINTER (test_note_pointer_get_type ())
G_DECLARE_FINAL_TYPE (TestNotePointer, test_note_pointer, TEST, NOTE_POINTER, NetRecord)

struct _TestNotePointer
{
  NetRecord parent_instance;
};

G_DEFINE_FINAL_TYPE (TestNotePointer, test_note_pointer, NET_TYPE_RECORD)

static void
test_note_pointer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
}

static void
test_note_pointer_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
}

static void
test_note_pointer_class_init (TestNotePointerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_note_pointer_get_property;
  object_class->set_property = test_note_pointer_set_property;
  g_object_class_install_property (object_class, 1,
                                   g_param_spec_float ("weight", NULL, NULL, 0, 1, 0,
                                                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
test_note_pointer_init (TestNotePointer *self)
{
}

static TestNote *
note_new (const char *title,
          int         priority,
          gboolean    starred)
{
  return g_object_new (TEST_TYPE_NOTE, "title", title, "priority", priority, "starred", starred, NULL);
}

static NetDb *
db_new (const char *path)
{
  g_autoptr(GError) error = NULL;
  NetDb *db = net_db_new (path, NET_DB_MODELS_NONE, &error);

  g_assert_no_error (error);
  return db;
}

static void
notify_count_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    data)
{
  (*(guint *) data)++;
}

static void
async_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

/* Tests ------------------------------------------------------------------------ */

static void
test_bad_classes (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (net_db_open_collection (db, "notes", TEST_TYPE_NOTE_POINTER, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "weight"));
  g_clear_error (&error);

  g_assert_null (net_db_open_collection (db, "notes", G_TYPE_OBJECT, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_null (net_db_open_collection (db, "Bad/Name", TEST_TYPE_NOTE, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Bad/Name"));
  g_clear_error (&error);

  /* Nothing was created by the failures. */
  {
    g_auto(GStrv) names = net_db_list_collections (db);

    g_assert_cmpuint (g_strv_length (names), ==, 0);
  }
}

static void
test_crud (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestNote) note = note_new ("Write", 3, FALSE);
  g_autoptr(TestNote) other = NULL;
  g_autoptr(NetRecord) got = NULL;
  NetCollection *notes;
  guint64 seq, id;
  guint notifies = 0;
  const char *names[] = { "title", "priority" };
  GValue values[2] = { G_VALUE_INIT, G_VALUE_INIT };

  notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error) == notes);
  g_assert_null (net_db_open_collection (db, "notes", TEST_TYPE_NOTE2, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Insert with id 0: a random id below 2^53, set on the record. */
  seq = net_collection_insert (notes, NET_RECORD (note), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 1);
  id = net_record_get_id (NET_RECORD (note));
  g_assert_cmpuint (id, >, 0);
  g_assert_cmpuint (id, <, G_GUINT64_CONSTANT (1) << 53);
  g_assert_cmpint (net_record_get_created_at (NET_RECORD (note)), >, 0);

  /* The record is the live item: get returns it (read your writes). */
  got = net_collection_get (notes, id);
  g_assert_true (got == NET_RECORD (note));
  g_clear_object (&got);

  /* An existing id. */
  other = note_new ("Other", 1, TRUE);
  net_record_set_id (NET_RECORD (other), id);
  g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (other), &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_EXISTS);
  g_clear_error (&error);
  net_record_set_id (NET_RECORD (other), 42);
  g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (other), &error), ==, 2);
  g_assert_no_error (error);
  /* A record of the collection cannot be inserted again. */
  g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (other), &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_count (notes, NULL), ==, 2);

  /* Update: applied at once, notified from the dispatch. */
  g_signal_connect (note, "notify::title", G_CALLBACK (notify_count_cb), &notifies);
  seq = net_collection_update (notes, id, &error, "title", "Write more", "priority", 5, NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (note->title, ==, "Write more");
  g_assert_cmpint (note->priority, ==, 5);
  g_assert_cmpuint (notifies, ==, 0);
  g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (notifies, ==, 1);

  /* The same wait, async. */
  {
    GAsyncResult *result = NULL;
    gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    seq = net_collection_update (notes, id, &error, "starred", TRUE, NULL);
    g_assert_no_error (error);
    net_collection_wait_for_seq_async (notes, seq, NULL, async_result_cb, &result);
    while (result == NULL && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
    g_assert_nonnull (result);
    g_assert_true (net_collection_wait_for_seq_finish (notes, result, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_get_applied_seq (notes), >=, seq);
    g_object_unref (result);
  }

  /* updatev converts with g_value_transform. */
  g_value_init (&values[0], G_TYPE_STRING);
  g_value_set_string (&values[0], "Converted");
  g_value_init (&values[1], G_TYPE_INT64);
  g_value_set_int64 (&values[1], 9);
  seq = net_collection_updatev (notes, id, 2, names, values, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, >, 0);
  g_assert_cmpint (note->priority, ==, 9);
  g_assert_cmpstr (note->title, ==, "Converted");

  /* A value that cannot become the field's type, an unknown field, a
   * missing id: nothing written. */
  g_value_unset (&values[1]);
  g_value_init (&values[1], G_TYPE_STRING);
  g_value_set_string (&values[1], "nine");
  g_assert_cmpuint (net_collection_updatev (notes, id, 2, names, values, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "priority"));
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_update (notes, id, &error, "nope", 1, NULL), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_update (notes, 7777, &error, "title", "x", NULL), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_get_applied_seq (notes), ==, seq);
  g_assert_cmpstr (note->title, ==, "Converted");

  /* Delete: the record keeps its last values. */
  seq = net_collection_delete (notes, id, &error);
  g_assert_no_error (error);
  g_assert_null (net_collection_get (notes, id));
  g_assert_cmpstr (note->title, ==, "Converted");
  g_assert_cmpuint (net_collection_delete (notes, id, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_count (notes, NULL), ==, 1);

  /* An item made by a query is unique while held, and a new one after. */
  {
    g_autoptr(NetRecord) a = NULL, b = NULL;

    g_clear_object (&other);
    a = net_collection_get (notes, 42);
    b = net_collection_get (notes, 42);
    g_assert_true (a == b);
    g_assert_true (TEST_IS_NOTE (a));
    g_assert_cmpstr (TEST_NOTE (a)->title, ==, "Other");
    g_assert_true (TEST_NOTE (a)->starred);
  }

  g_value_unset (&values[0]);
  g_value_unset (&values[1]);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_delete (notes, 42, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
}

static TestNote *
note_full (guint64 id)
{
  const char *tags[] = { "a", "Bé", NULL };
  g_autoptr(GBytes) blob = g_bytes_new ("\0\1\2", 3);
  g_autoptr(GDateTime) due = g_date_time_new_utc (2026, 12, 24, 18, 30, 15.25);

  return g_object_new (TEST_TYPE_NOTE, "id", id, "title", "Ünïcode title", "body", NULL,
                       "starred", TRUE, "priority", -12, "small", 4000000000u,
                       "big", G_MININT64 + 1, "size", G_MAXUINT64, "score", -2.5,
                       "tags", tags, "status", NET_TASK_STATUS_COMPLETED,
                       "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
                       "blob", blob, "due", due, NULL);
}

static void
assert_note_full (TestNote *n)
{
  g_autoptr(GDateTime) due = g_date_time_new_utc (2026, 12, 24, 18, 30, 15.25);

  g_assert_cmpstr (n->title, ==, "Ünïcode title");
  g_assert_null (n->body);
  g_assert_true (n->starred);
  g_assert_cmpint (n->priority, ==, -12);
  g_assert_cmpuint (n->small, ==, 4000000000u);
  g_assert_cmpint (n->big, ==, G_MININT64 + 1);
  g_assert_cmpuint (n->size, ==, G_MAXUINT64);
  g_assert_cmpfloat (n->score, ==, -2.5);
  g_assert_cmpuint (g_strv_length (n->tags), ==, 2);
  g_assert_cmpstr (n->tags[1], ==, "Bé");
  g_assert_cmpint (n->status, ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (n->flags, ==, G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_assert_cmpmem (g_bytes_get_data (n->blob, NULL), g_bytes_get_size (n->blob), "\0\1\2", 3);
  g_assert_nonnull (n->due);
  g_assert_true (g_date_time_equal (n->due, due));
}

static void
test_reopen (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gint64 created;

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_autoptr(TestNote) n = note_full (5);

    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
    g_assert_no_error (error);
    created = net_record_get_created_at (NET_RECORD (n));
    for (guint i = 0; i < 20; i++)
      {
        g_autoptr(TestNote) m = note_new ("filler", i, i % 2);

        g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (m), &error), >, 0);
      }
    g_assert_true (net_db_close (db, &error));
    g_assert_no_error (error);
  }

  /* Reopened: from the checkpoint close wrote (nothing folded). */
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes;
    g_autoptr(NetRecord) r = NULL;
    guint64 folded = _net_fold_get_events_applied ();

    notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_net_fold_get_events_applied () - folded, ==, 0);
    g_assert_cmpuint (net_collection_get_applied_seq (notes), ==, 21);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 21);
    r = net_collection_get (notes, 5);
    g_assert_nonnull (r);
    assert_note_full (TEST_NOTE (r));
    g_assert_cmpint (net_record_get_created_at (r), ==, created);
    /* Changes after the checkpoint fold from the log on the next open. */
    net_collection_update (notes, 5, &error, "priority", 77, NULL);
    g_assert_no_error (error);
    g_clear_object (&r);
    g_assert_true (net_db_close (db, &error));
  }

  /* Without the checkpoints: the whole log. */
  {
    g_autofree char *ckpt = g_build_filename (f->dir, "checkpoints", NULL);
    g_autoptr(NetDb) db = NULL;
    NetCollection *notes;
    g_autoptr(NetRecord) r = NULL;

    guint64 folded;

    rm_rf (ckpt);
    db = db_new (f->dir);
    folded = _net_fold_get_events_applied ();
    notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_net_fold_get_events_applied () - folded, ==, 22);
    r = net_collection_get (notes, 5);
    g_assert_cmpint (TEST_NOTE (r)->priority, ==, 77);
    g_assert_cmpstr (TEST_NOTE (r)->title, ==, "Ünïcode title");
  }
}

static void
test_evolution (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_autoptr(TestNote) n = note_new ("old", 4, TRUE);

    g_assert_no_error (error);
    g_object_set (n, "body", "the body", NULL);
    net_record_set_id (NET_RECORD (n), 1);
    g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
    g_assert_true (net_db_close (db, &error));
  }

  /* A later class: body removed (kept, skipped), extra added (its
   * default), priority an int read as a double. */
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE2, &error);
    g_autoptr(NetRecord) r = NULL;
    g_autoptr(TestNote2) n2 = g_object_new (TEST_TYPE_NOTE2, "id", (guint64) 2, "title", "new",
                                            "priority", 2.5, "extra", 11, NULL);
    g_auto(GValue) v = G_VALUE_INIT;

    g_assert_no_error (error);
    r = net_collection_get (notes, 1);
    g_assert_true (TEST_IS_NOTE2 (r));
    g_assert_cmpstr (TEST_NOTE2 (r)->title, ==, "old");
    g_assert_cmpfloat (TEST_NOTE2 (r)->priority, ==, 4.0);
    g_assert_cmpint (TEST_NOTE2 (r)->extra, ==, 7);
    g_assert_false (net_record_get_field (r, "body", &v));
    g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n2), &error), >, 0);
    g_assert_no_error (error);
    g_assert_true (net_db_close (db, &error));
  }

  /* An incompatible type fails, naming the field; nothing is written. */
  {
    g_autoptr(NetDb) db = db_new (f->dir);

    g_assert_null (net_db_open_collection (db, "notes", TEST_TYPE_NOTE_BAD, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SCHEMA_MISMATCH);
    g_assert_nonnull (strstr (error->message, "title"));
    g_clear_error (&error);
  }

  /* Untyped: every stored field, by name, with the types stored. */
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", NET_TYPE_RECORD, &error);
    g_autoptr(NetRecord) r1 = NULL, r2 = NULL;
    g_auto(GValue) v = G_VALUE_INIT;
    g_auto(GStrv) fields = NULL;

    g_assert_no_error (error);
    fields = net_collection_list_fields (notes);
    g_assert_true (g_strv_contains ((const char * const *) fields, "body"));
    g_assert_true (g_strv_contains ((const char * const *) fields, "extra"));
    r1 = net_collection_get (notes, 1);
    g_assert_true (G_OBJECT_TYPE (r1) == NET_TYPE_RECORD);
    g_assert_true (net_record_get_field (r1, "body", &v));
    g_assert_cmpstr (g_value_get_string (&v), ==, "the body");
    g_value_unset (&v);
    /* Read as the newest type stored under that name (a double). */
    g_assert_true (net_record_get_field (r1, "priority", &v));
    g_assert_cmpfloat (g_value_get_double (&v), ==, 4.0);
    g_value_unset (&v);
    r2 = net_collection_get (notes, 2);
    /* The newest definition of priority is a double. */
    g_assert_true (net_record_get_field (r2, "priority", &v));
    g_assert_cmpfloat (g_value_get_double (&v), ==, 2.5);
    g_value_unset (&v);
    g_assert_true (net_record_get_field (r2, "id", &v));
    g_assert_cmpuint (g_value_get_uint64 (&v), ==, 2);
    g_value_unset (&v);
    g_assert_false (net_record_get_field (r2, "body", &v));

    /* An untyped update of a stored field. */
    g_assert_cmpuint (net_collection_update (notes, 1, &error, "body", "changed", NULL), >, 0);
    g_assert_no_error (error);
    g_assert_true (net_record_get_field (r1, "body", &v));
    g_assert_cmpstr (g_value_get_string (&v), ==, "changed");
  }
}

static void
test_list_collections (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    g_autoptr(TestNote) n = note_new ("x", 1, FALSE);

    net_collection_insert (net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error), NET_RECORD (n), &error);
    g_assert_no_error (error);
    net_db_open_collection (db, "b.empty-one", NET_TYPE_RECORD, &error);
    g_assert_no_error (error);
    g_assert_true (net_db_close (db, &error));
  }
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    g_auto(GStrv) names = net_db_list_collections (db);
    const char *expected[] = { "b.empty-one", "notes", NULL };

    g_assert_cmpstrv (names, expected);
  }
}

static void
test_snapshot (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snapshot = NULL;

  {
    g_autoptr(NetDb) db = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_autoptr(TestNote) n = note_full (9);

    g_assert_no_error (error);
    net_db_tasks_create (net_db_get_tasks (db), 1, "a task", 0, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
    for (guint i = 0; i < 5; i++)
      {
        g_autoptr(TestNote) m = note_new ("more", i, FALSE);

        net_collection_insert (notes, NET_RECORD (m), &error);
        g_assert_no_error (error);
      }
    snapshot = net_db_snapshot (db, &error);
    g_assert_no_error (error);
  }

  /* In memory, built with the collection. */
  {
    g_autoptr(NetDbBuilder) b = net_db_builder_new ();
    g_autoptr(NetDb) db = NULL;
    NetCollection *notes;
    g_autoptr(NetRecord) r = NULL;
    g_auto(GStrv) names = NULL;

    net_db_builder_with_collection (net_db_builder_with_tasks (b), "notes", TEST_TYPE_NOTE);
    db = net_db_builder_build_from_snapshot (b, snapshot, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 1);
    notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 6);
    r = net_collection_get (notes, 9);
    assert_note_full (TEST_NOTE (r));
    names = net_db_list_collections (db);
    g_assert_cmpuint (g_strv_length (names), ==, 1);
  }

  /* Into a directory, the collection opened later, untyped. */
  {
    g_autoptr(NetDb) db = net_db_open_from_snapshot (snapshot, f->dir, NET_DB_MODELS_TASKS, &error);
    NetCollection *notes;
    g_autoptr(NetRecord) r = NULL;
    g_auto(GValue) v = G_VALUE_INIT;
    g_auto(GStrv) names = NULL;

    g_assert_no_error (error);
    names = net_db_list_collections (db);
    g_assert_cmpuint (g_strv_length (names), ==, 1);
    notes = net_db_open_collection (db, "notes", NET_TYPE_RECORD, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 6);
    r = net_collection_get (notes, 9);
    g_assert_true (net_record_get_field (r, "title", &v));
    g_assert_cmpstr (g_value_get_string (&v), ==, "Ünïcode title");
    /* It continues after the snapshot. */
    g_assert_cmpuint (net_collection_delete (notes, 9, &error), ==, 7);
    g_assert_true (net_db_close (db, &error));
    g_assert_no_error (error);
  }
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 5);
  }

  /* Another history of the collection in the directory: refused, the
   * directory untouched. */
  {
    g_autofree char *other = g_build_filename (f->root, "other", NULL);
    g_autoptr(NetDb) db = db_new (other);
    g_autoptr(NetDb) restored = NULL;

    for (guint i = 0; i < 8; i++)
      {
        g_autoptr(TestNote) n = note_new ("elsewhere", i, FALSE);

        net_collection_insert (net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error), NET_RECORD (n), &error);
        g_assert_no_error (error);
      }
    g_assert_true (net_db_close (db, &error));
    restored = net_db_open_from_snapshot (snapshot, other, NET_DB_MODELS_TASKS, &error);
    g_assert_null (restored);
    g_assert_error (error, NET_ERROR, NET_ERROR_EXISTS);
    g_assert_nonnull (strstr (error->message, "collections/notes"));
    g_clear_error (&error);
  }
}

/* A snapshot holds every collection, also one not opened since the db
 * was: its state is its checkpoint's plus the log after it. */
static void
test_snapshot_unopened (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snapshot = NULL;

  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(NetDb) db = db_new (f->dir);
      NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);

      g_assert_no_error (error);
      for (guint i = 0; i < 3; i++)
        {
          g_autoptr(TestNote) n = note_new ("x", i, FALSE);

          net_collection_insert (notes, NET_RECORD (n), &error);
          g_assert_no_error (error);
        }
      /* The first close writes a checkpoint; the second one does not
       * (a few events): the log holds three records more than it. */
      g_assert_true (net_db_close (db, &error));
    }

  {
    g_autoptr(NetDb) db = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);

    g_assert_no_error (error);
    snapshot = net_db_snapshot (db, &error);
    g_assert_no_error (error);
  }
  {
    g_autoptr(NetDb) db = net_db_open_from_snapshot (snapshot, NULL, NET_DB_MODELS_TASKS, &error);
    NetCollection *notes;

    g_assert_no_error (error);
    notes = net_db_open_collection (db, "notes", NET_TYPE_RECORD, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 6);
    g_assert_cmpuint (net_collection_get_applied_seq (notes), ==, 6);
  }
}

/* A snapshot restored into a directory by a process that never opens its
 * collections (the CLI's `snapshot restore`): each collection's log
 * continues after its section at once, so a read-only db (another
 * process, `netdb records`) opens it, and a writer later carries on. */
static void
test_snapshot_restored_unopened (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snapshot = NULL;
  g_autofree char *restored = g_build_filename (f->root, "restored", NULL);

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < 4; i++)
      {
        g_autoptr(TestNote) n = note_new ("x", i, FALSE);

        net_collection_insert (notes, NET_RECORD (n), &error);
        g_assert_no_error (error);
      }
    snapshot = net_db_snapshot (db, &error);
    g_assert_no_error (error);
  }
  {
    g_autoptr(NetDb) db = net_db_open_from_snapshot (snapshot, restored, NET_DB_MODELS_TASKS, &error);

    g_assert_no_error (error);
    g_assert_true (net_db_close (db, &error));
  }
  {
    g_autoptr(NetDb) reader = net_db_open_read_only (restored, NET_DB_MODELS_NONE, &error);
    NetCollection *notes;

    g_assert_no_error (error);
    notes = net_db_open_collection (reader, "notes", NET_TYPE_RECORD, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 4);
    g_assert_cmpuint (net_collection_get_applied_seq (notes), ==, 4);
  }
  {
    g_autoptr(NetDb) db = db_new (restored);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_autoptr(TestNote) n = note_new ("after", 9, TRUE);

    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 4);
    g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), ==, 5);
    g_assert_no_error (error);
  }
}

/* `netdb log tail` names a collection's events and their fields. */
static void
test_describe (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  const char *expected[] = { "record.inserted id=7 created=", "record.updated id=7 updated=",
                             "record.deleted id=7" };

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
    g_autoptr(TestNote) n = note_new ("x", 1, FALSE);

    g_assert_no_error (error);
    net_record_set_id (NET_RECORD (n), 7);
    net_collection_insert (notes, NET_RECORD (n), &error);
    g_assert_no_error (error);
    net_collection_update (notes, 7, &error, "title", "y", NULL);
    g_assert_no_error (error);
    net_collection_delete (notes, 7, &error);
    g_assert_no_error (error);
    g_assert_true (net_db_close (db, &error));
  }

  redex = net_redex_new_read_only (f->dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "collections/notes", NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, i + 1, &error);
      const guint8 *bytes;
      gsize len;
      g_autofree char *text = NULL;

      g_assert_no_error (error);
      bytes = g_bytes_get_data (net_redex_event_get_payload (event), &len);
      text = net_event_describe (bytes, len);
      g_assert_nonnull (text);
      g_assert_true (g_str_has_prefix (text, expected[i]));
    }
}

/* The builder's collections open with the db, also asynchronously (on a
 * worker, the collection belonging to the caller's context); a bad one
 * fails the build. */
static void
test_builder_async (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDbBuilder) b = net_db_builder_new ();
  g_autoptr(NetDb) db = NULL;
  GAsyncResult *result = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  NetCollection *notes;
  g_autoptr(TestNote) n = note_new ("async", 1, TRUE);
  guint64 seq;

  net_db_builder_with_collection (net_db_builder_persistent_dir (b, f->dir), "notes", TEST_TYPE_NOTE);
  net_db_builder_build_async (b, G_PRIORITY_DEFAULT, NULL, async_result_cb, &result);
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  db = net_db_builder_build_finish (b, result, &error);
  g_object_unref (result);
  g_assert_no_error (error);

  /* The same object as the build opened. */
  notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_assert_no_error (error);
  seq = net_collection_insert (notes, NET_RECORD (n), &error);
  g_assert_no_error (error);
  g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_close (db, &error));

  {
    g_autoptr(NetDbBuilder) bad = net_db_builder_new ();
    g_autoptr(NetDb) none = NULL;
    g_autofree char *other = g_build_filename (f->root, "other", NULL);

    net_db_builder_with_collection (net_db_builder_persistent_dir (bad, other), "notes", TEST_TYPE_NOTE_POINTER);
    none = net_db_builder_build (bad, &error);
    g_assert_null (none);
    g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

/* A read-only db follows the writer's collection (another NetDb on the
 * same directory, as another process would). */
static void
test_read_only (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) writer = db_new (f->dir);
  g_autoptr(NetDb) reader = NULL;
  NetCollection *w, *r;
  g_autoptr(TestNote) n = note_new ("first", 1, FALSE);
  g_autoptr(TestNote) m = note_new ("second", 2, TRUE);
  guint64 seq;

  w = net_db_open_collection (writer, "notes", TEST_TYPE_NOTE, &error);
  g_assert_no_error (error);
  net_collection_insert (w, NET_RECORD (n), &error);
  g_assert_no_error (error);
  g_assert_true (net_db_sync (writer, &error));

  reader = net_db_open_read_only (f->dir, NET_DB_MODELS_NONE, &error);
  g_assert_no_error (error);
  r = net_db_open_collection (reader, "notes", TEST_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_count (r, NULL), ==, 1);
  g_assert_cmpuint (net_collection_delete (r, net_record_get_id (NET_RECORD (n)), &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);

  seq = net_collection_insert (w, NET_RECORD (m), &error);
  g_assert_no_error (error);
  g_assert_true (net_db_sync (writer, &error));
  g_assert_true (net_collection_wait_for_seq (r, seq, 10000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_count (r, NULL), ==, 2);
}

/* Malformed record events are counted and skipped, never applied in part. */
static void
test_corrupt_events (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (f->dir, &error);
  g_autoptr(NetRedexFile) file = NULL;
  struct { guint8 dispatch; const char *what; } cases[] = {
    { 0x20, "no id" },
    { 0x20, "a value of an undefined field" },
    { 0x20, "a definition out of order" },
    { 0x20, "a value of the wrong type" },
    { 0x20, "a definition of a bad name" },
    { 0x21, "a definition that contradicts" },
    { 0x07, "another model's dispatch" },
    { 0x20, "a new field defined twice in one event, differently" },
  };
  guint64 good_seq;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, "collections/notes", NULL, &error);
  g_assert_no_error (error);

  /* A good insert of id 1 defining field 1 "title" (string). */
  {
    g_autoptr(GByteArray) buf = g_byte_array_new ();
    g_autoptr(GByteArray) sub = g_byte_array_new ();
    g_autoptr(GBytes) ev = NULL;
    NetEncoder enc, senc;
    NetEventMeta meta = { 0x20, 0, 1, 1 };

    net_encoder_init (&enc, buf);
    net_encoder_put_uint (&enc, 1, 1);
    net_encoder_put_int (&enc, 2, 10);
    net_encoder_put_int (&enc, 3, 10);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "title");
    net_encoder_put_uint (&senc, 3, 7);
    net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
    g_byte_array_set_size (sub, 0);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "good");
    net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
    ev = net_event_encode (&meta, buf->data, buf->len);
    good_seq = net_redex_file_append (file, ev, &error);
    g_assert_no_error (error);
  }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) buf = g_byte_array_new ();
      g_autoptr(GByteArray) sub = g_byte_array_new ();
      g_autoptr(GBytes) ev = NULL;
      NetEncoder enc, senc;
      NetEventMeta meta = { cases[i].dispatch, 0, 1, 2 + i };

      net_encoder_init (&enc, buf);
      if (i != 0)
        net_encoder_put_uint (&enc, 1, 2);
      net_encoder_put_int (&enc, 3, 20);
      net_encoder_init (&senc, sub);
      switch (i)
        {
        case 0:
        case 6:
          break;
        case 1:
          net_encoder_put_uint (&senc, 1, 5);
          net_encoder_put_string (&senc, 2, "x");
          net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
          break;
        case 2:
          net_encoder_put_uint (&senc, 1, 3);
          net_encoder_put_string (&senc, 2, "later");
          net_encoder_put_uint (&senc, 3, 2);
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          break;
        case 3:
          net_encoder_put_uint (&senc, 1, 1);
          net_encoder_put_uint (&senc, 2, 12);
          net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
          break;
        case 4:
          net_encoder_put_uint (&senc, 1, 2);
          net_encoder_put_string (&senc, 2, "Not A Name");
          net_encoder_put_uint (&senc, 3, 2);
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          break;
        case 5:
          /* Field 1 again, as an int, then a value that would change
           * record 1: nothing of it is applied. */
          net_encoder_put_uint (&senc, 1, 1);
          net_encoder_put_string (&senc, 2, "title");
          net_encoder_put_uint (&senc, 3, 2);
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          break;
        case 7:
          /* (It read past the schema's fields: found by fuzz-record.) */
          net_encoder_put_uint (&senc, 1, 2);
          net_encoder_put_string (&senc, 2, "later");
          net_encoder_put_uint (&senc, 3, 2);
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          g_byte_array_set_size (sub, 0);
          net_encoder_init (&senc, sub);
          net_encoder_put_uint (&senc, 1, 2);
          net_encoder_put_string (&senc, 2, "later");
          net_encoder_put_uint (&senc, 3, 7);
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          break;
        default:
          g_assert_not_reached ();
        }
      ev = net_event_encode (&meta, buf->data, buf->len);
      net_redex_file_append (file, ev, &error);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_clear_object (&file);
  g_clear_object (&redex);

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", NET_TYPE_RECORD, &error);
    g_autoptr(NetRecord) r = NULL;
    g_auto(GValue) v = G_VALUE_INIT;
    g_auto(GStrv) fields = NULL;
    guint64 errors = 0;

    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_get_applied_seq (notes), ==, good_seq + G_N_ELEMENTS (cases));
    g_object_get (notes, "fold-errors", &errors, NULL);
    g_assert_cmpuint (errors, ==, G_N_ELEMENTS (cases));
    g_assert_cmpuint (net_collection_count (notes, NULL), ==, 1);
    r = net_collection_get (notes, 1);
    g_assert_true (net_record_get_field (r, "title", &v));
    g_assert_cmpstr (g_value_get_string (&v), ==, "good");
    fields = net_collection_list_fields (notes);
    g_assert_cmpuint (g_strv_length (fields), ==, 1);
  }

  /* The first event of a log defines its field twice, the same way: it
   * reads (and used to read past the empty schema: found by
   * fuzz-record). */
  redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "collections/twice", NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GByteArray) buf = g_byte_array_new ();
    g_autoptr(GByteArray) sub = g_byte_array_new ();
    g_autoptr(GBytes) ev = NULL;
    NetEncoder enc, senc;
    NetEventMeta meta = { 0x20, 0, 1, 1 };

    net_encoder_init (&enc, buf);
    net_encoder_put_uint (&enc, 1, 5);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "title");
    net_encoder_put_uint (&senc, 3, 7);
    net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
    net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
    g_byte_array_set_size (sub, 0);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "twice");
    net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
    ev = net_event_encode (&meta, buf->data, buf->len);
    net_redex_file_append (file, ev, &error);
    g_assert_no_error (error);
  }
  g_assert_true (net_redex_close (redex, &error));
  g_clear_object (&file);
  g_clear_object (&redex);
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *twice = net_db_open_collection (db, "twice", NET_TYPE_RECORD, &error);
    g_autoptr(NetRecord) r = NULL;
    g_auto(GValue) v = G_VALUE_INIT;
    guint64 errors = 0;

    g_assert_no_error (error);
    g_object_get (twice, "fold-errors", &errors, NULL);
    g_assert_cmpuint (errors, ==, 0);
    r = net_collection_get (twice, 5);
    g_assert_nonnull (r);
    g_assert_true (net_record_get_field (r, "title", &v));
    g_assert_cmpstr (g_value_get_string (&v), ==, "twice");
  }
}

/* Random payloads and mutations of a good one: never a crash; what
 * decodes is applied, the rest counted. */
static void
test_random_events (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (f->dir, &error);
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GByteArray) good = g_byte_array_new ();
  guint n = 500;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, "collections/fuzz", NULL, &error);
  g_assert_no_error (error);

  /* A good insert defining two fields, to mutate. */
  {
    g_autoptr(GByteArray) sub = g_byte_array_new ();
    NetEncoder enc, senc;

    net_encoder_init (&enc, good);
    net_encoder_put_uint (&enc, 1, 7);
    net_encoder_put_int (&enc, 2, 1);
    net_encoder_put_int (&enc, 3, 1);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "a");
    net_encoder_put_uint (&senc, 3, 8);
    net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
    g_byte_array_set_size (sub, 0);
    net_encoder_init (&senc, sub);
    net_encoder_put_uint (&senc, 1, 1);
    net_encoder_put_string (&senc, 2, "x");
    net_encoder_put_string (&senc, 2, "y");
    net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
  }

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GByteArray) buf = g_byte_array_new ();
      g_autoptr(GBytes) ev = NULL;
      NetEventMeta meta = { 0x20 + g_rand_int_range (rand, 0, 3), 0, 3, i + 1 };

      if (g_rand_boolean (rand))
        {
          g_byte_array_append (buf, good->data, good->len);
          for (guint k = g_rand_int_range (rand, 1, 4); k > 0; k--)
            buf->data[g_rand_int_range (rand, 1, buf->len)] = g_rand_int_range (rand, 0, 256);
          if (g_rand_boolean (rand))
            g_byte_array_set_size (buf, g_rand_int_range (rand, 1, buf->len + 1));
        }
      else
        {
          guint8 version = 1;

          g_byte_array_append (buf, &version, 1);
          for (guint k = g_rand_int_range (rand, 0, 40); k > 0; k--)
            {
              guint8 b = g_rand_int_range (rand, 0, 256);

              g_byte_array_append (buf, &b, 1);
            }
        }
      ev = net_event_encode (&meta, buf->data, buf->len);
      net_redex_file_append (file, ev, &error);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_clear_object (&file);
  g_clear_object (&redex);

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *coll = net_db_open_collection (db, "fuzz", NET_TYPE_RECORD, &error);
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GBytes) snapshot = NULL;
    guint64 errors = 0;

    g_assert_no_error (error);
    g_assert_cmpuint (net_collection_get_applied_seq (coll), ==, n);
    g_object_get (coll, "fold-errors", &errors, NULL);
    g_assert_cmpuint (errors, >, 0);
    g_assert_cmpuint (errors, <, n);
    /* Whatever was applied reads, and snapshots and restores. */
    all = net_collection_find_many (coll, NULL);
    for (guint i = 0; i < all->len; i++)
      {
        g_auto(GStrv) fields = net_record_list_fields (g_ptr_array_index (all, i));

        for (guint j = 0; fields[j] != NULL; j++)
          {
            g_auto(GValue) v = G_VALUE_INIT;

            g_assert_true (net_record_get_field (g_ptr_array_index (all, i), fields[j], &v));
          }
      }
    snapshot = net_db_snapshot (db, &error);
    g_assert_no_error (error);
    {
      g_autoptr(NetDb) copy = net_db_open_from_snapshot (snapshot, NULL, NET_DB_MODELS_NONE, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (net_collection_count (net_db_open_collection (copy, "fuzz", NET_TYPE_RECORD, &error), NULL),
                        ==, all->len);
      g_assert_no_error (error);
    }
  }
}

/* Filters against a brute-force evaluation ---------------------------------------------- */

static char *
fold (const char *s)
{
  g_autofree char *n = g_utf8_normalize (s, -1, G_NORMALIZE_ALL_COMPOSE);
  g_autofree char *c = g_utf8_casefold (n, -1);

  return g_utf8_normalize (c, -1, G_NORMALIZE_ALL_COMPOSE);
}

/* Every value the random filters use is an int, a double, a boolean, a
 * uint64, a string or a strv: compare them as the documentation says. */
static int
oracle_compare (const GValue *a,
                const GValue *b,
                gboolean     *ok)
{
  *ok = TRUE;
  if (G_VALUE_HOLDS_STRING (a) || G_VALUE_HOLDS_STRING (b))
    {
      const char *x, *y;

      if (!G_VALUE_HOLDS_STRING (a) || !G_VALUE_HOLDS_STRING (b))
        {
          *ok = FALSE;
          return 0;
        }
      x = g_value_get_string (a);
      y = g_value_get_string (b);
      if (x == NULL || y == NULL)
        return (x != NULL) - (y != NULL);
      return (strcmp (x, y) > 0) - (strcmp (x, y) < 0);
    }
  if (G_VALUE_HOLDS (a, G_TYPE_STRV) || G_VALUE_HOLDS (b, G_TYPE_STRV))
    {
      char **x = g_value_get_boxed (a), **y = g_value_get_boxed (b);
      guint i;

      if (!G_VALUE_HOLDS (a, G_TYPE_STRV) || !G_VALUE_HOLDS (b, G_TYPE_STRV))
        {
          *ok = FALSE;
          return 0;
        }
      for (i = 0; x && y && x[i] && y[i]; i++)
        if (strcmp (x[i], y[i]) != 0)
          return strcmp (x[i], y[i]) > 0 ? 1 : -1;
      return (x && x[i]) - (y && y[i]);
    }
  {
    long double x, y;
    const GValue *v[2] = { a, b };
    long double *out[2] = { &x, &y };

    for (guint i = 0; i < 2; i++)
      {
        if (G_VALUE_HOLDS_INT (v[i]))
          *out[i] = g_value_get_int (v[i]);
        else if (G_VALUE_HOLDS_DOUBLE (v[i]))
          *out[i] = g_value_get_double (v[i]);
        else if (G_VALUE_HOLDS_BOOLEAN (v[i]))
          *out[i] = g_value_get_boolean (v[i]);
        else if (G_VALUE_HOLDS_UINT64 (v[i]))
          *out[i] = g_value_get_uint64 (v[i]);
        else if (G_VALUE_HOLDS_INT64 (v[i]))
          *out[i] = g_value_get_int64 (v[i]);
        else
          g_assert_not_reached ();
      }
    return (x > y) - (x < y);
  }
}

typedef struct
{
  char        *field;
  NetFilterOp  op;
  GValue       value;
} OCond;

typedef struct
{
  GArray *conds;    /* OCond */
  GArray *orders;   /* (field, desc) as OCond with op = desc */
  guint   limit;
  guint   offset;
} Oracle;

static gboolean
oracle_matches (Oracle    *o,
                NetRecord *r)
{
  for (guint i = 0; i < o->conds->len; i++)
    {
      OCond *c = &g_array_index (o->conds, OCond, i);
      g_auto(GValue) v = G_VALUE_INIT;
      gboolean ok, m = FALSE;
      int cmp;

      g_assert_true (net_record_get_field (r, c->field, &v));
      if (c->op == NET_FILTER_OP_CONTAINS || c->op == NET_FILTER_OP_PREFIX)
        {
          g_autofree char *needle = fold (g_value_get_string (&c->value));

          if (G_VALUE_HOLDS_STRING (&v) && g_value_get_string (&v) != NULL)
            {
              g_autofree char *hay = fold (g_value_get_string (&v));

              m = c->op == NET_FILTER_OP_CONTAINS ? strstr (hay, needle) != NULL : g_str_has_prefix (hay, needle);
            }
          else if (G_VALUE_HOLDS (&v, G_TYPE_STRV))
            {
              char **strv = g_value_get_boxed (&v);

              for (guint j = 0; strv && strv[j] && !m; j++)
                {
                  g_autofree char *hay = fold (strv[j]);

                  m = c->op == NET_FILTER_OP_CONTAINS ? g_str_equal (strv[j], g_value_get_string (&c->value))
                                                      : g_str_has_prefix (hay, needle);
                }
            }
        }
      else
        {
          cmp = oracle_compare (&v, &c->value, &ok);
          if (ok)
            switch (c->op)
              {
              case NET_FILTER_OP_EQ: m = cmp == 0; break;
              case NET_FILTER_OP_NE: m = cmp != 0; break;
              case NET_FILTER_OP_LT: m = cmp < 0; break;
              case NET_FILTER_OP_LE: m = cmp <= 0; break;
              case NET_FILTER_OP_GT: m = cmp > 0; break;
              case NET_FILTER_OP_GE: m = cmp >= 0; break;
              default: g_assert_not_reached ();
              }
        }
      if (!m)
        return FALSE;
    }
  return TRUE;
}

static int
oracle_order (gconstpointer a,
              gconstpointer b,
              gpointer      data)
{
  Oracle *o = data;
  NetRecord *x = *(NetRecord **) a, *y = *(NetRecord **) b;
  gboolean first_desc = o->orders->len > 0 && g_array_index (o->orders, OCond, 0).op;

  for (guint i = 0; i < o->orders->len; i++)
    {
      OCond *k = &g_array_index (o->orders, OCond, i);
      g_auto(GValue) vx = G_VALUE_INIT;
      g_auto(GValue) vy = G_VALUE_INIT;
      gboolean ok;
      int r;

      net_record_get_field (x, k->field, &vx);
      net_record_get_field (y, k->field, &vy);
      r = oracle_compare (&vx, &vy, &ok);
      if (r != 0)
        return k->op ? -r : r;
    }
  if (net_record_get_id (x) == net_record_get_id (y))
    return 0;
  return (net_record_get_id (x) < net_record_get_id (y)) == !first_desc ? -1 : 1;
}

static GPtrArray *
oracle_run (Oracle        *o,
            NetCollection *coll,
            gboolean       windowed)
{
  g_autoptr(GPtrArray) all = net_collection_find_many (coll, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) matched = g_ptr_array_new ();

  for (guint i = 0; i < all->len; i++)
    if (oracle_matches (o, g_ptr_array_index (all, i)))
      g_ptr_array_add (matched, g_ptr_array_index (all, i));
  g_ptr_array_sort_with_data (matched, oracle_order, o);
  for (guint i = windowed ? o->offset : 0; i < matched->len; i++)
    {
      if (windowed && o->limit > 0 && out->len >= o->limit)
        break;
      g_ptr_array_add (out, g_object_ref (g_ptr_array_index (matched, i)));
    }
  return out;
}

static void
oracle_clear (Oracle *o)
{
  for (guint i = 0; i < o->conds->len; i++)
    {
      g_free (g_array_index (o->conds, OCond, i).field);
      g_value_unset (&g_array_index (o->conds, OCond, i).value);
    }
  for (guint i = 0; i < o->orders->len; i++)
    g_free (g_array_index (o->orders, OCond, i).field);
  g_array_unref (o->conds);
  g_array_unref (o->orders);
}

static const char *alphabet[] = { "a", "b", "C", "é", "É", "x", "ab", "Ab" };

static char *
random_text (GRand *rand)
{
  GString *s = g_string_new (NULL);
  guint n = g_rand_int_range (rand, 0, 5);

  for (guint i = 0; i < n; i++)
    g_string_append (s, alphabet[g_rand_int_range (rand, 0, G_N_ELEMENTS (alphabet))]);
  return g_string_free (s, FALSE);
}

static TestNote *
random_note (GRand *rand)
{
  g_autofree char *title = random_text (rand);
  g_autofree char *t1 = random_text (rand);
  const char *tags[] = { t1, alphabet[g_rand_int_range (rand, 0, 3)], NULL };

  return g_object_new (TEST_TYPE_NOTE, "title", title, "starred", g_rand_boolean (rand),
                       "priority", g_rand_int_range (rand, -3, 4),
                       "score", (double) g_rand_int_range (rand, 0, 8) / 2,
                       "size", (guint64) g_rand_int_range (rand, 0, 5) << 40,
                       "tags", g_rand_boolean (rand) ? (char **) tags : NULL, NULL);
}

static const char *filter_fields[] = { "title", "starred", "priority", "score", "size", "tags", "id" };

/* A random filter and its oracle; @numeric_order: one order key at most,
 * of a number (what a live query orders by exactly). */
static NetFilter *
random_filter (GRand    *rand,
               Oracle   *o,
               gboolean  numeric_order)
{
  NetFilter *filter = net_filter_new ();
  guint n_conds = g_rand_int_range (rand, 0, 3);
  guint n_orders = numeric_order ? g_rand_int_range (rand, 0, 2) : g_rand_int_range (rand, 0, 4);

  o->conds = g_array_new (FALSE, TRUE, sizeof (OCond));
  o->orders = g_array_new (FALSE, TRUE, sizeof (OCond));
  for (guint i = 0; i < n_conds; i++)
    {
      OCond c = { NULL, 0, G_VALUE_INIT };
      const char *field = filter_fields[g_rand_int_range (rand, 0, G_N_ELEMENTS (filter_fields) - 1)];

      c.field = g_strdup (field);
      if (g_str_equal (field, "title") || g_str_equal (field, "tags"))
        {
          g_autofree char *text = random_text (rand);

          c.op = g_str_equal (field, "tags") ? g_rand_int_range (rand, NET_FILTER_OP_CONTAINS, NET_FILTER_OP_PREFIX + 1)
                                             : g_rand_int_range (rand, 0, NET_FILTER_OP_PREFIX + 1);
          g_value_init (&c.value, G_TYPE_STRING);
          g_value_set_string (&c.value, g_utf8_strlen (text, -1) > 2 ? g_utf8_offset_to_pointer (text, 1) : text);
        }
      else
        {
          c.op = g_rand_int_range (rand, 0, NET_FILTER_OP_GE + 1);
          if (g_str_equal (field, "starred"))
            {
              g_value_init (&c.value, G_TYPE_BOOLEAN);
              g_value_set_boolean (&c.value, g_rand_boolean (rand));
            }
          else if (g_str_equal (field, "score"))
            {
              /* A double against a double field, or an int against it. */
              if (g_rand_boolean (rand))
                {
                  g_value_init (&c.value, G_TYPE_DOUBLE);
                  g_value_set_double (&c.value, (double) g_rand_int_range (rand, 0, 8) / 2);
                }
              else
                {
                  g_value_init (&c.value, G_TYPE_INT);
                  g_value_set_int (&c.value, g_rand_int_range (rand, 0, 4));
                }
            }
          else if (g_str_equal (field, "size"))
            {
              g_value_init (&c.value, G_TYPE_UINT64);
              g_value_set_uint64 (&c.value, (guint64) g_rand_int_range (rand, 0, 5) << 40);
            }
          else
            {
              g_value_init (&c.value, G_TYPE_INT);
              g_value_set_int (&c.value, g_rand_int_range (rand, -3, 4));
            }
        }
      net_filter_where (filter, c.field, c.op, &c.value);
      g_array_append_val (o->conds, c);
    }
  for (guint i = 0; i < n_orders; i++)
    {
      static const char *numeric[] = { "priority", "score", "size", "starred" };
      static const char *any[] = { "title", "priority", "score", "size", "starred", "id", "created-at" };
      OCond k = { NULL, 0, G_VALUE_INIT };

      k.field = g_strdup (numeric_order ? numeric[g_rand_int_range (rand, 0, G_N_ELEMENTS (numeric))]
                                        : any[g_rand_int_range (rand, 0, G_N_ELEMENTS (any))]);
      k.op = g_rand_boolean (rand);
      net_filter_order_by (filter, k.field, k.op);
      g_array_append_val (o->orders, k);
    }
  o->limit = g_rand_boolean (rand) ? g_rand_int_range (rand, 1, 10) : 0;
  o->offset = g_rand_boolean (rand) ? g_rand_int_range (rand, 0, 5) : 0;
  g_object_set (filter, "limit", o->limit, "offset", o->offset, NULL);
  return filter;
}

static void
assert_same_records (GPtrArray *got,
                     GPtrArray *want)
{
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_true (g_ptr_array_index (got, i) == g_ptr_array_index (want, i));
}

static void
test_filter_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func (g_object_unref);
  guint checked_nonempty = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < 200; i++)
    {
      TestNote *n = random_note (rand);

      g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
      g_assert_no_error (error);
      /* Half of them held (live), half made by the queries. */
      if (i % 2)
        g_ptr_array_add (keep, n);
      else
        g_object_unref (n);
    }

  /* Without indexes, then with an index of each kind on the fields the
   * filters use: the same results. */
  for (guint round = 0; round < 800; round++)
    {
      Oracle o;
      g_autoptr(NetFilter) filter = NULL;
      g_autoptr(GPtrArray) want = NULL;
      g_autoptr(GPtrArray) want_all = NULL;
      g_autoptr(GPtrArray) got = NULL;
      g_autoptr(NetRecord) first = NULL;

      if (round == 400)
        {
          g_assert_true (net_collection_add_index (notes, "priority", NET_INDEX_ORDERED, &error));
          g_assert_true (net_collection_add_index (notes, "score", NET_INDEX_ORDERED, &error));
          g_assert_true (net_collection_add_index (notes, "size", NET_INDEX_ORDERED, &error));
          g_assert_true (net_collection_add_index (notes, "starred", NET_INDEX_ORDERED, &error));
          g_assert_true (net_collection_add_index (notes, "title", NET_INDEX_ORDERED | NET_INDEX_SEARCH, &error));
          g_assert_no_error (error);
        }
      /* Changes keep the indexes current. */
      if (round >= 400 && round % 10 == 0)
        {
          g_autoptr(GPtrArray) all = net_collection_find_many (notes, NULL);
          g_autofree char *title = random_text (rand);
          NetRecord *r = g_ptr_array_index (all, g_rand_int_range (rand, 0, all->len));

          net_collection_update (notes, net_record_get_id (r), &error, "title", title,
                                 "priority", g_rand_int_range (rand, -3, 4), NULL);
          g_assert_no_error (error);
        }
      filter = random_filter (rand, &o, FALSE);
      want = oracle_run (&o, notes, TRUE);
      want_all = oracle_run (&o, notes, FALSE);
      got = net_collection_find_many (notes, filter);
      first = net_collection_find_first (notes, filter);

      assert_same_records (got, want);
      g_assert_true (first == (want->len > 0 ? g_ptr_array_index (want, 0) : NULL));
      g_assert_cmpuint (net_collection_count (notes, filter), ==, want_all->len);
      g_assert_cmpint (net_collection_exists (notes, filter), ==, want_all->len > 0);
      checked_nonempty += want->len > 0;
      oracle_clear (&o);
    }
  /* The random filters are not all empty. */
  g_assert_cmpuint (checked_nonempty, >, 100);
}

/* An index narrows what a query checks. */
static void
test_indexes (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_autoptr(NetFilter) by_priority = net_filter_new ();
  g_autoptr(NetFilter) by_title = net_filter_new ();
  g_auto(GValue) two = G_VALUE_INIT;
  g_auto(GValue) needle = G_VALUE_INIT;
  guint64 before;
  guint n;

  g_assert_no_error (error);
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *title = g_strdup_printf ("note %u%s", i, i % 100 == 0 ? " ÉCLAIR" : "");
      g_autoptr(TestNote) note = note_new (title, i % 10, FALSE);

      net_collection_insert (notes, NET_RECORD (note), &error);
      g_assert_no_error (error);
    }
  g_value_set_int (g_value_init (&two, G_TYPE_INT), 2);
  net_filter_where (by_priority, "priority", NET_FILTER_OP_EQ, &two);
  g_value_set_string (g_value_init (&needle, G_TYPE_STRING), "éclai");
  net_filter_where (by_title, "title", NET_FILTER_OP_CONTAINS, &needle);

  /* Without an index: every record is checked. */
  before = _net_collection_get_examined (notes);
  g_ptr_array_unref (net_collection_find_many (notes, by_priority));
  g_assert_cmpuint (_net_collection_get_examined (notes) - before, ==, 1000);

  g_assert_true (net_collection_add_index (notes, "priority", NET_INDEX_ORDERED, &error));
  g_assert_true (net_collection_add_index (notes, "title", NET_INDEX_SEARCH, &error));
  g_assert_no_error (error);

  before = _net_collection_get_examined (notes);
  {
    g_autoptr(GPtrArray) found = net_collection_find_many (notes, by_priority);

    g_assert_cmpuint (found->len, ==, 100);
  }
  g_assert_cmpuint (_net_collection_get_examined (notes) - before, ==, 100);
  /* Counted without a visit. */
  before = _net_collection_get_examined (notes);
  g_assert_cmpuint (net_collection_count (notes, by_priority), ==, 100);
  g_assert_cmpuint (_net_collection_get_examined (notes) - before, ==, 0);

  before = _net_collection_get_examined (notes);
  n = net_collection_count (notes, by_title);
  g_assert_cmpuint (n, ==, 10);
  g_assert_cmpuint (_net_collection_get_examined (notes) - before, <=, 10);

  /* Kept up to date. */
  {
    g_autoptr(NetRecord) first = net_collection_find_first (notes, by_title);

    net_collection_update (notes, net_record_get_id (first), &error, "title", "plain", NULL);
    g_assert_no_error (error);
  }
  g_assert_cmpuint (net_collection_count (notes, by_title), ==, 9);

  /* Bad indexes. */
  g_assert_false (net_collection_add_index (notes, "nope", NET_INDEX_ORDERED, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (net_collection_add_index (notes, "priority", NET_INDEX_SEARCH, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

/* Every operator once, by hand. */
static void
test_filter_operators (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  const char *titles[] = { "Café au lait", "CAFE noir", "thé", "Tea" };
  struct { const char *field; NetFilterOp op; GType type; const char *s; int i; guint expect; } cases[] = {
    { "title", NET_FILTER_OP_CONTAINS, G_TYPE_STRING, "CAFÉ", 0, 1 },
    { "title", NET_FILTER_OP_CONTAINS, G_TYPE_STRING, "caf", 0, 2 },
    { "title", NET_FILTER_OP_PREFIX, G_TYPE_STRING, "TH", 0, 1 },
    { "title", NET_FILTER_OP_PREFIX, G_TYPE_STRING, "lait", 0, 0 },
    { "title", NET_FILTER_OP_EQ, G_TYPE_STRING, "Tea", 0, 1 },
    { "title", NET_FILTER_OP_LT, G_TYPE_STRING, "D", 0, 2 },
    { "priority", NET_FILTER_OP_EQ, G_TYPE_INT, NULL, 2, 1 },
    { "priority", NET_FILTER_OP_NE, G_TYPE_INT, NULL, 2, 3 },
    { "priority", NET_FILTER_OP_LT, G_TYPE_INT, NULL, 2, 2 },
    { "priority", NET_FILTER_OP_LE, G_TYPE_INT, NULL, 2, 3 },
    { "priority", NET_FILTER_OP_GT, G_TYPE_INT, NULL, 2, 1 },
    { "priority", NET_FILTER_OP_GE, G_TYPE_INT, NULL, 2, 2 },
    { "tags", NET_FILTER_OP_CONTAINS, G_TYPE_STRING, "t1", 0, 4 },
    { "tags", NET_FILTER_OP_PREFIX, G_TYPE_STRING, "T", 0, 4 },
    { "priority", NET_FILTER_OP_EQ, G_TYPE_STRING, "2", 0, 0 },   /* incomparable */
    { "nothere", NET_FILTER_OP_NE, G_TYPE_INT, NULL, 2, 0 },       /* no such field */
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    {
      const char *tags[] = { "t1", NULL };
      g_autoptr(TestNote) n = note_new (titles[i], i, FALSE);

      g_object_set (n, "tags", tags, NULL);
      net_collection_insert (notes, NET_RECORD (n), &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(NetFilter) filter = net_filter_new ();
      g_auto(GValue) v = G_VALUE_INIT;

      g_value_init (&v, cases[i].type);
      if (cases[i].type == G_TYPE_STRING)
        g_value_set_string (&v, cases[i].s);
      else
        g_value_set_int (&v, cases[i].i);
      net_filter_where (filter, cases[i].field, cases[i].op, &v);
      g_test_message ("case %u", i);
      g_assert_cmpuint (net_collection_count (notes, filter), ==, cases[i].expect);
    }
}

/* Live queries against find_many ------------------------------------------------------ */

typedef struct
{
  GPtrArray *shadow;   /* what items-changed said */
  GListModel *model;
  /* As a GtkFilterListModel above the model sees them: each item's
   * "starred" when an emission last added it (with report-updates). */
  GArray    *starred;
} Replay;

static void
replay_items_changed_cb (GListModel *model,
                         guint       position,
                         guint       removed,
                         guint       added,
                         gpointer    data)
{
  Replay *r = data;

  g_assert_true (removed > 0 || added > 0);
  g_ptr_array_remove_range (r->shadow, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (r->shadow, position + i, g_list_model_get_item (model, position + i));
  if (r->starred != NULL)
    {
      g_array_remove_range (r->starred, position, removed);
      for (guint i = 0; i < added; i++)
        {
          gboolean starred;

          g_object_get (g_ptr_array_index (r->shadow, position + i), "starred", &starred, NULL);
          g_array_insert_val (r->starred, position + i, starred);
        }
    }
}

static void
assert_model_equals (Replay    *r,
                     GPtrArray *want)
{
  g_assert_cmpuint (g_list_model_get_n_items (r->model), ==, want->len);
  g_assert_cmpuint (r->shadow->len, ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      g_autoptr(NetRecord) item = g_list_model_get_item (r->model, i);

      g_assert_cmpuint (net_record_get_id (item), ==, net_record_get_id (g_ptr_array_index (want, i)));
      g_assert_cmpuint (net_record_get_id (g_ptr_array_index (r->shadow, i)), ==,
                        net_record_get_id (g_ptr_array_index (want, i)));
      if (r->starred != NULL)
        {
          gboolean starred;

          g_object_get (item, "starred", &starred, NULL);
          g_assert_cmpint (g_array_index (r->starred, gboolean, i), ==, starred);
        }
    }
}

static void
test_watch_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_assert_no_error (error);
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(TestNote) n = random_note (rand);
      guint64 id;

      net_collection_insert (notes, NET_RECORD (n), &error);
      g_assert_no_error (error);
      id = net_record_get_id (NET_RECORD (n));
      g_array_append_val (ids, id);
    }

  for (guint round = 0; round < 24; round++)
    {
      Oracle o;
      /* Half of the rounds ordered by one number (the sort key is the
       * value), half by any keys (an order index's labels). */
      g_autoptr(NetFilter) filter = random_filter (rand, &o, round % 2 == 0);
      g_autoptr(NetQueryModel) model = net_collection_watch (notes, filter);
      Replay r = { g_ptr_array_new_with_free_func (g_object_unref), G_LIST_MODEL (model), NULL };

      /* Every third round, a filter stacked above re-evaluates what
       * items-changed reports: with report-updates it stays right. */
      if (round % 3 == 2)
        {
          net_query_model_set_report_updates (model, TRUE);
          r.starred = g_array_new (FALSE, FALSE, sizeof (gboolean));
        }
      for (guint i = 0; i < g_list_model_get_n_items (r.model); i++)
        {
          g_ptr_array_add (r.shadow, g_list_model_get_item (r.model, i));
          if (r.starred != NULL)
            {
              gboolean starred;

              g_object_get (g_ptr_array_index (r.shadow, i), "starred", &starred, NULL);
              g_array_append_val (r.starred, starred);
            }
        }
      g_signal_connect (model, "items-changed", G_CALLBACK (replay_items_changed_cb), &r);

      for (guint step = 0; step < 30; step++)
        {
          g_autoptr(GPtrArray) want = NULL;
          guint64 seq = 0;
          guint what = g_rand_int_range (rand, 0, 4);

          if (what == 0 || ids->len < 5)
            {
              g_autoptr(TestNote) n = random_note (rand);
              guint64 id;

              seq = net_collection_insert (notes, NET_RECORD (n), &error);
              id = net_record_get_id (NET_RECORD (n));
              g_array_append_val (ids, id);
            }
          else if (what == 1)
            {
              guint at = g_rand_int_range (rand, 0, ids->len);

              seq = net_collection_delete (notes, g_array_index (ids, guint64, at), &error);
              g_array_remove_index (ids, at);
            }
          else
            {
              g_autofree char *title = random_text (rand);
              guint64 id = g_array_index (ids, guint64, g_rand_int_range (rand, 0, ids->len));

              seq = net_collection_update (notes, id, &error, "title", title,
                                           "priority", g_rand_int_range (rand, -3, 4),
                                           "score", (double) g_rand_int_range (rand, 0, 8) / 2,
                                           "starred", g_rand_boolean (rand), NULL);
            }
          g_assert_no_error (error);
          g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
          g_assert_no_error (error);

          want = net_collection_find_many (notes, filter);
          {
            g_autoptr(GPtrArray) oracle = oracle_run (&o, notes, TRUE);

            assert_same_records (want, oracle);
          }
          assert_model_equals (&r, want);
        }

      /* A change of the filter: the model follows with a minimal diff. */
      {
        g_auto(GValue) v = G_VALUE_INIT;
        g_autoptr(GPtrArray) want = NULL;

        g_value_init (&v, G_TYPE_BOOLEAN);
        g_value_set_boolean (&v, TRUE);
        net_filter_where (filter, "starred", NET_FILTER_OP_EQ, &v);
        want = net_collection_find_many (notes, filter);
        assert_model_equals (&r, want);
      }

      g_signal_handlers_disconnect_by_data (model, &r);
      g_ptr_array_unref (r.shadow);
      g_clear_pointer (&r.starred, g_array_unref);
      oracle_clear (&o);
    }
}

/* Records that keep landing in one gap of an order index's labels (each
 * title sorts right after "a" and before the one before it) use its room
 * up within about sixty inserts: a window around the gap is labelled
 * anew, and a live query over the order (and one over its reverse, with a
 * window) stays equal to the query after every insert. */
static void
test_watch_crowded_labels (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_autoptr(NetFilter) asc = net_filter_new ();
  g_autoptr(NetFilter) desc = net_filter_new ();
  g_autoptr(NetQueryModel) asc_model = NULL;
  g_autoptr(NetQueryModel) desc_model = NULL;
  Replay ra, rd;
  const char *fixed[] = { "a", "b", "c" };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    {
      g_autoptr(TestNote) n = g_object_new (TEST_TYPE_NOTE, "title", fixed[i], NULL);

      net_collection_insert (notes, NET_RECORD (n), &error);
      g_assert_no_error (error);
    }
  net_filter_order_by (asc, "title", FALSE);
  net_filter_order_by (desc, "title", TRUE);
  g_object_set (desc, "limit", 5, NULL);
  asc_model = net_collection_watch (notes, asc);
  desc_model = net_collection_watch (notes, desc);
  ra = (Replay) { g_ptr_array_new_with_free_func (g_object_unref), G_LIST_MODEL (asc_model) };
  rd = (Replay) { g_ptr_array_new_with_free_func (g_object_unref), G_LIST_MODEL (desc_model) };
  for (guint i = 0; i < g_list_model_get_n_items (ra.model); i++)
    g_ptr_array_add (ra.shadow, g_list_model_get_item (ra.model, i));
  for (guint i = 0; i < g_list_model_get_n_items (rd.model); i++)
    g_ptr_array_add (rd.shadow, g_list_model_get_item (rd.model, i));
  g_signal_connect (asc_model, "items-changed", G_CALLBACK (replay_items_changed_cb), &ra);
  g_signal_connect (desc_model, "items-changed", G_CALLBACK (replay_items_changed_cb), &rd);

  for (guint k = 1; k <= 150; k++)
    {
      g_autofree char *title = g_strnfill (k, 'a');
      g_autofree char *full = g_strconcat (title, "b", NULL);
      g_autoptr(TestNote) n = g_object_new (TEST_TYPE_NOTE, "title", full, NULL);
      g_autoptr(GPtrArray) want_asc = NULL;
      g_autoptr(GPtrArray) want_desc = NULL;
      guint64 seq;

      seq = net_collection_insert (notes, NET_RECORD (n), &error);
      g_assert_no_error (error);
      g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
      g_assert_no_error (error);

      want_asc = net_collection_find_many (notes, asc);
      want_desc = net_collection_find_many (notes, desc);
      g_assert_cmpuint (want_asc->len, ==, k + G_N_ELEMENTS (fixed));
      g_assert_cmpstr (g_ptr_array_index (want_asc, 1) == NULL ? NULL :
                       TEST_NOTE (g_ptr_array_index (want_asc, 1))->title, ==, full);
      assert_model_equals (&ra, want_asc);
      assert_model_equals (&rd, want_desc);
    }

  g_signal_handlers_disconnect_by_data (asc_model, &ra);
  g_signal_handlers_disconnect_by_data (desc_model, &rd);
  g_ptr_array_unref (ra.shadow);
  g_ptr_array_unref (rd.shadow);
}

/* Orders over numbers with missing values ------------------------------------------- */

/* Compares two values of a field as an untyped collection orders them:
 * a missing value (unset) before every number, numbers as numbers (a
 * NULL time before every time). */
static int
untyped_compare (const GValue *a,
                 const GValue *b)
{
  const GValue *v[2] = { a, b };
  long double x[2];

  if (!G_IS_VALUE (a) || !G_IS_VALUE (b))
    return G_IS_VALUE (a) - G_IS_VALUE (b);
  for (guint i = 0; i < 2; i++)
    {
      if (G_VALUE_HOLDS (v[i], G_TYPE_DATE_TIME))
        {
          GDateTime *dt = g_value_get_boxed (v[i]);

          x[i] = dt != NULL ? (long double) g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt)
                            : (long double) G_MININT64;
        }
      else if (G_VALUE_HOLDS_INT (v[i]))
        x[i] = g_value_get_int (v[i]);
      else if (G_VALUE_HOLDS_INT64 (v[i]))
        x[i] = g_value_get_int64 (v[i]);
      else if (G_VALUE_HOLDS_UINT (v[i]))
        x[i] = g_value_get_uint (v[i]);
      else if (G_VALUE_HOLDS_UINT64 (v[i]))
        x[i] = g_value_get_uint64 (v[i]);
      else if (G_VALUE_HOLDS_DOUBLE (v[i]))
        x[i] = g_value_get_double (v[i]);
      else if (G_VALUE_HOLDS_BOOLEAN (v[i]))
        x[i] = g_value_get_boolean (v[i]);
      else
        g_assert_not_reached ();
    }
  return (x[0] > x[1]) - (x[0] < x[1]);
}

typedef struct
{
  const char *fields[2];
  gboolean    desc[2];
  guint       n_keys;
  const char *cond_field;   /* NULL: none */
  NetFilterOp cond_op;
  GValue      cond_value;
  guint       limit;
  guint       offset;
} UOracle;

static gboolean
uoracle_matches (UOracle   *o,
                 NetRecord *r)
{
  g_auto(GValue) v = G_VALUE_INIT;
  int cmp;

  if (o->cond_field == NULL)
    return TRUE;
  if (!net_record_get_field (r, o->cond_field, &v))
    return FALSE;
  cmp = untyped_compare (&v, &o->cond_value);
  switch (o->cond_op)
    {
    case NET_FILTER_OP_EQ: return cmp == 0;
    case NET_FILTER_OP_LT: return cmp < 0;
    case NET_FILTER_OP_GE: return cmp >= 0;
    default: g_assert_not_reached ();
    }
  return FALSE;
}

static int
uoracle_order (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  UOracle *o = data;
  NetRecord *x = *(NetRecord **) a, *y = *(NetRecord **) b;

  for (guint i = 0; i < o->n_keys; i++)
    {
      g_auto(GValue) vx = G_VALUE_INIT;
      g_auto(GValue) vy = G_VALUE_INIT;
      int r;

      net_record_get_field (x, o->fields[i], &vx);
      net_record_get_field (y, o->fields[i], &vy);
      r = untyped_compare (&vx, &vy);
      if (r != 0)
        return o->desc[i] ? -r : r;
    }
  if (net_record_get_id (x) == net_record_get_id (y))
    return 0;
  return (net_record_get_id (x) < net_record_get_id (y)) == !o->desc[0] ? -1 : 1;
}

static GPtrArray *
uoracle_run (UOracle       *o,
             NetCollection *coll)
{
  g_autoptr(GPtrArray) all = net_collection_find_many (coll, NULL);
  g_autoptr(GPtrArray) matched = g_ptr_array_new ();
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < all->len; i++)
    if (uoracle_matches (o, g_ptr_array_index (all, i)))
      g_ptr_array_add (matched, g_ptr_array_index (all, i));
  g_ptr_array_sort_with_data (matched, uoracle_order, o);
  for (guint i = o->offset; i < matched->len && (o->limit == 0 || out->len < o->limit); i++)
    g_ptr_array_add (out, g_object_ref (g_ptr_array_index (matched, i)));
  return out;
}

/* An untyped collection of two versions of a class: "big" (int64),
 * "size" (uint64), "score" (double) and "due" (a time, NULL or not) are
 * missing from the records of the later version, "extra" (int) from
 * those of the first, "priority" is an int in some and a double in
 * others.  Orders by one of them (ascending and descending, many ties,
 * with and without an ordered index, with a condition or not) and by two,
 * as find_many and as a live query, against a brute-force order in
 * which a missing value comes first, through updates that give a
 * missing value one and deletes. */
static void
test_watch_untyped_orders (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  static const char *order_fields[] = { "big", "extra", "score", "size", "due", "priority" };

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < 60; i++)
      {
        g_autoptr(GDateTime) due = g_date_time_new_from_unix_utc (1700000000 + g_rand_int_range (rand, 0, 4) * 3600);
        g_autoptr(TestNote) n = g_object_new (TEST_TYPE_NOTE, "title", "old",
                                              "priority", g_rand_int_range (rand, -3, 4),
                                              "big", (gint64) g_rand_int_range (rand, -3, 4) * ((gint64) 1 << 40),
                                              "size", (guint64) g_rand_int_range (rand, 0, 4) << 40,
                                              "score", (double) g_rand_int_range (rand, -4, 4) / 2,
                                              "due", g_rand_int_range (rand, 0, 4) == 0 ? NULL : due, NULL);

        g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
        g_assert_no_error (error);
      }
    g_assert_true (net_db_close (db, &error));
  }
  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE2, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < 40; i++)
      {
        g_autoptr(TestNote2) n = g_object_new (TEST_TYPE_NOTE2, "title", "new",
                                               "priority", (double) g_rand_int_range (rand, -6, 7) / 2,
                                               "extra", g_rand_int_range (rand, -3, 4), NULL);

        g_assert_cmpuint (net_collection_insert (notes, NET_RECORD (n), &error), >, 0);
        g_assert_no_error (error);
      }
    g_assert_true (net_db_close (db, &error));
  }

  {
    g_autoptr(NetDb) db = db_new (f->dir);
    NetCollection *notes = net_db_open_collection (db, "notes", NET_TYPE_RECORD, &error);
    g_autoptr(GPtrArray) all = NULL;

    g_assert_no_error (error);
    all = net_collection_find_many (notes, NULL);
    g_assert_cmpuint (all->len, ==, 100);
    for (guint i = 0; i < all->len; i++)
      {
        guint64 id = net_record_get_id (g_ptr_array_index (all, i));

        g_array_append_val (ids, id);
      }

    for (guint round = 0; round < 40; round++)
      {
        UOracle o = { { NULL, NULL }, { FALSE, FALSE }, 1, NULL, 0, G_VALUE_INIT, 0, 0 };
        g_autoptr(NetFilter) filter = net_filter_new ();
        g_autoptr(NetQueryModel) model = NULL;
        Replay r = { g_ptr_array_new_with_free_func (g_object_unref), NULL, NULL };

        /* The second half with ordered indexes (made record by record
         * from the collection's state). */
        if (round == 20)
          for (guint i = 0; i < G_N_ELEMENTS (order_fields); i++)
            {
              g_assert_true (net_collection_add_index (notes, order_fields[i], NET_INDEX_ORDERED, &error));
              g_assert_no_error (error);
            }
        o.n_keys = g_rand_int_range (rand, 0, 4) == 0 ? 2 : 1;
        for (guint i = 0; i < o.n_keys; i++)
          {
            o.fields[i] = order_fields[g_rand_int_range (rand, 0, G_N_ELEMENTS (order_fields))];
            o.desc[i] = g_rand_boolean (rand);
            net_filter_order_by (filter, o.fields[i], o.desc[i]);
          }
        if (g_rand_boolean (rand))
          {
            static const NetFilterOp ops[] = { NET_FILTER_OP_EQ, NET_FILTER_OP_LT, NET_FILTER_OP_GE };

            o.cond_field = g_rand_boolean (rand) ? "big" : "extra";
            o.cond_op = ops[g_rand_int_range (rand, 0, G_N_ELEMENTS (ops))];
            g_value_init (&o.cond_value, G_TYPE_INT64);
            g_value_set_int64 (&o.cond_value, g_str_equal (o.cond_field, "big") ? (gint64) g_rand_int_range (rand, -3, 4) * ((gint64) 1 << 40)
                                                                                 : g_rand_int_range (rand, -3, 4));
            net_filter_where (filter, o.cond_field, o.cond_op, &o.cond_value);
          }
        o.limit = g_rand_boolean (rand) ? g_rand_int_range (rand, 1, 12) : 0;
        o.offset = g_rand_boolean (rand) ? g_rand_int_range (rand, 0, 5) : 0;
        g_object_set (filter, "limit", o.limit, "offset", o.offset, NULL);

        model = net_collection_watch (notes, filter);
        r.model = G_LIST_MODEL (model);
        for (guint i = 0; i < g_list_model_get_n_items (r.model); i++)
          g_ptr_array_add (r.shadow, g_list_model_get_item (r.model, i));
        g_signal_connect (model, "items-changed", G_CALLBACK (replay_items_changed_cb), &r);

        for (guint step = 0; step < 12; step++)
          {
            g_autoptr(GPtrArray) want = NULL;
            g_autoptr(GPtrArray) oracle = NULL;
            guint at = g_rand_int_range (rand, 0, ids->len);
            guint64 id = g_array_index (ids, guint64, at);
            guint64 seq = 0;

            switch (g_rand_int_range (rand, 0, 5))
              {
              case 0:
                seq = net_collection_update (notes, id, &error, "big", (gint64) g_rand_int_range (rand, -3, 4) * ((gint64) 1 << 40), NULL);
                break;
              case 1:
                seq = net_collection_update (notes, id, &error, "extra", g_rand_int_range (rand, -3, 4), NULL);
                break;
              case 2:
                seq = net_collection_update (notes, id, &error, "score", (double) g_rand_int_range (rand, -4, 4) / 2, NULL);
                break;
              case 3:
                seq = net_collection_update (notes, id, &error, "size", (guint64) g_rand_int_range (rand, 0, 4) << 40, NULL);
                break;
              default:
                if (ids->len > 20)
                  {
                    seq = net_collection_delete (notes, id, &error);
                    g_array_remove_index (ids, at);
                  }
                break;
              }
            g_assert_no_error (error);
            if (seq > 0)
              {
                g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
                g_assert_no_error (error);
              }

            want = net_collection_find_many (notes, filter);
            oracle = uoracle_run (&o, notes);
            assert_same_records (want, oracle);
            assert_model_equals (&r, want);
          }

        g_signal_handlers_disconnect_by_data (model, &r);
        g_ptr_array_unref (r.shadow);
        if (G_IS_VALUE (&o.cond_value))
          g_value_unset (&o.cond_value);
      }
  }
}

/* An ordered index on a uint64 field keeps its records by their value
 * mapped to a u64 until one is past G_MAXINT64: then it sorts them
 * itself, and the live queries that order by the field (ascending and
 * descending, windowed or not) stay equal to the queries, before and
 * after, through inserts, updates and deletes. */
static void
test_watch_index_unmappable (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  NetFilter *filters[3];
  NetQueryModel *models[3];
  Replay replays[3];

  g_assert_no_error (error);
  g_assert_true (net_collection_add_index (notes, "size", NET_INDEX_ORDERED, &error));
  for (guint i = 0; i < 3; i++)
    {
      filters[i] = net_filter_new ();
      net_filter_order_by (filters[i], "size", i > 0);
      if (i == 2)
        g_object_set (filters[i], "limit", 7, "offset", 2, NULL);
      models[i] = net_collection_watch (notes, filters[i]);
      replays[i] = (Replay) { g_ptr_array_new_with_free_func (g_object_unref), G_LIST_MODEL (models[i]), NULL };
      g_signal_connect (models[i], "items-changed", G_CALLBACK (replay_items_changed_cb), &replays[i]);
    }

  for (guint step = 0; step < 120; step++)
    {
      /* Huge sizes from the middle on. */
      guint64 size = step >= 60 && g_rand_int_range (rand, 0, 4) == 0
                     ? G_MAXUINT64 - ((guint64) g_rand_int_range (rand, 0, 3) << 20)
                     : (guint64) g_rand_int_range (rand, 0, 5) << 40;
      guint what = ids->len < 10 ? 0 : g_rand_int_range (rand, 0, 3);
      guint64 seq;

      if (what == 0)
        {
          g_autoptr(TestNote) n = g_object_new (TEST_TYPE_NOTE, "size", size, NULL);
          guint64 id;

          seq = net_collection_insert (notes, NET_RECORD (n), &error);
          id = net_record_get_id (NET_RECORD (n));
          g_array_append_val (ids, id);
        }
      else if (what == 1)
        {
          guint at = g_rand_int_range (rand, 0, ids->len);

          seq = net_collection_delete (notes, g_array_index (ids, guint64, at), &error);
          g_array_remove_index (ids, at);
        }
      else
        seq = net_collection_update (notes, g_array_index (ids, guint64, g_rand_int_range (rand, 0, ids->len)),
                                     &error, "size", size, NULL);
      g_assert_no_error (error);
      g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
      g_assert_no_error (error);

      for (guint i = 0; i < 3; i++)
        {
          g_autoptr(GPtrArray) want = net_collection_find_many (notes, filters[i]);
          Oracle o = { g_array_new (FALSE, TRUE, sizeof (OCond)), g_array_new (FALSE, TRUE, sizeof (OCond)),
                       i == 2 ? 7 : 0, i == 2 ? 2 : 0 };
          OCond k = { g_strdup ("size"), i > 0, G_VALUE_INIT };
          g_autoptr(GPtrArray) oracle = NULL;

          g_array_append_val (o.orders, k);
          oracle = oracle_run (&o, notes, TRUE);
          assert_same_records (want, oracle);
          assert_model_equals (&replays[i], want);
          oracle_clear (&o);
        }
    }

  for (guint i = 0; i < 3; i++)
    {
      g_signal_handlers_disconnect_by_data (models[i], &replays[i]);
      g_ptr_array_unref (replays[i].shadow);
      g_object_unref (models[i]);
      g_object_unref (filters[i]);
    }
}

/* @notes (with a search index on title) and @plain (without) find the
 * same records, in the same order, for title CONTAINS @needle; how many. */
static guint
assert_search_agrees (NetCollection *notes,
                      NetCollection *plain,
                      const char    *needle)
{
  g_autoptr(NetFilter) f = net_filter_new ();
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) want = NULL;
  g_auto(GValue) v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_STRING);
  g_value_set_string (&v, needle);
  net_filter_where (f, "title", NET_FILTER_OP_CONTAINS, &v);
  got = net_collection_find_many (notes, f);
  want = net_collection_find_many (plain, f);
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < got->len; i++)
    g_assert_cmpuint (net_record_get_id (g_ptr_array_index (got, i)), ==,
                      net_record_get_id (g_ptr_array_index (want, i)));
  g_assert_cmpuint (net_collection_count (notes, f), ==, want->len);
  return want->len;
}

/* A trigram that thousands of records have (a posting of several
 * blocks) and rare ones: a search gives what a scan gives, in order,
 * before and after deletes and changes. */
static void
test_search_index_large (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  NetCollection *plain = net_db_open_collection (db, "plain", TEST_TYPE_NOTE, &error);
  const char *needles[] = { "com", "mon-", "-123", "n-9", "999", "zzz" };

  g_assert_no_error (error);
  g_assert_true (net_collection_add_index (notes, "title", NET_INDEX_SEARCH, &error));
  g_assert_no_error (error);
  for (guint64 id = 1; id <= 9000; id++)
    {
      g_autofree char *title = g_strdup_printf ("common-%" G_GUINT64_FORMAT, id);
      g_autoptr(TestNote) a = g_object_new (TEST_TYPE_NOTE, "id", id, "title", title, NULL);
      g_autoptr(TestNote) b = g_object_new (TEST_TYPE_NOTE, "id", id, "title", title, NULL);

      net_collection_insert (notes, NET_RECORD (a), &error);
      g_assert_no_error (error);
      net_collection_insert (plain, NET_RECORD (b), &error);
      g_assert_no_error (error);
    }
  for (guint round = 0; round < 2; round++)
    {
      for (guint n = 0; n < G_N_ELEMENTS (needles); n++)
        {
          guint len = assert_search_agrees (notes, plain, needles[n]);

          if (round == 0 && n == 0)
            g_assert_cmpuint (len, ==, 9000);
        }
      for (guint64 id = 1; round == 0 && id <= 9000; id += 7)
        {
          if (id % 2 == 0)
            {
              net_collection_delete (notes, id, &error);
              g_assert_no_error (error);
              net_collection_delete (plain, id, &error);
              g_assert_no_error (error);
            }
          else
            {
              net_collection_update (notes, id, &error, "title", "zzz", NULL);
              g_assert_no_error (error);
              net_collection_update (plain, id, &error, "title", "zzz", NULL);
              g_assert_no_error (error);
            }
        }
    }
}

/* A search index's postings keep the ids of texts that changed until they
 * are made again: titles changed many times (past a compaction), records
 * deleted and a title with a trigram twice ("aaaaa") still give each
 * match once, the same as a scan without the index. */
static void
test_search_index_churn (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  NetCollection *notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  NetCollection *plain = net_db_open_collection (db, "plain", TEST_TYPE_NOTE, &error);
  const char *words[] = { "aaaaa", "Abacus", "cabal", "banana", "Bazaar", "kabab" };
  const char *needles[] = { "aaa", "aba", "ban", "zaa", "kab", "cab" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  g_assert_no_error (error);
  g_assert_true (net_collection_add_index (notes, "title", NET_INDEX_SEARCH, &error));
  g_assert_no_error (error);
  for (guint64 id = 1; id <= 200; id++)
    {
      g_autoptr(TestNote) a = g_object_new (TEST_TYPE_NOTE, "id", id, "title", words[id % 6], NULL);
      g_autoptr(TestNote) b = g_object_new (TEST_TYPE_NOTE, "id", id, "title", words[id % 6], NULL);

      net_collection_insert (notes, NET_RECORD (a), &error);
      g_assert_no_error (error);
      net_collection_insert (plain, NET_RECORD (b), &error);
      g_assert_no_error (error);
    }

  for (guint round = 0; round < 40; round++)
    {
      for (guint k = 0; k < 100; k++)
        {
          guint64 id = g_rand_int_range (rand, 1, 201);
          g_autofree char *title = g_strdup_printf ("%s %s", words[g_rand_int_range (rand, 0, 6)],
                                                    words[g_rand_int_range (rand, 0, 6)]);
          g_autoptr(NetRecord) held = net_collection_get (notes, id);

          if (held == NULL)
            continue;
          net_collection_update (notes, id, &error, "title", title, NULL);
          g_assert_no_error (error);
          net_collection_update (plain, id, &error, "title", title, NULL);
          g_assert_no_error (error);
        }
      if (round % 8 == 7)
        {
          guint64 id = g_rand_int_range (rand, 1, 201);
          g_autoptr(NetRecord) held = net_collection_get (notes, id);

          if (held != NULL)
            {
              net_collection_delete (notes, id, &error);
              g_assert_no_error (error);
              net_collection_delete (plain, id, &error);
              g_assert_no_error (error);
            }
        }
      for (guint n = 0; n < G_N_ELEMENTS (needles); n++)
        assert_search_agrees (notes, plain, needles[n]);
    }
}

/* A record event as a follower would forward it: updated (id 1), with
 * @defs ("NUM NAME TYPE") and @values (NUM and an int or a string). */
typedef struct
{
  guint       num;
  const char *s;      /* or NULL: */
  gint64      i;
} RebaseValue;

static GBytes *
rebase_event_new (guint64            app_seq,
                  const char * const *defs,
                  const RebaseValue  *values,
                  guint               n_values)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  NetEventMeta meta = { NET_DISPATCH_RECORD_UPDATED, 0, 77, app_seq };
  NetEncoder enc;

  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, 1, 1);
  net_encoder_put_int (&enc, 3, 1000);
  for (guint i = 0; defs != NULL && defs[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (defs[i], " ", 3);
      g_autoptr(GByteArray) sub = g_byte_array_new ();
      NetEncoder denc;

      net_encoder_init (&denc, sub);
      net_encoder_put_uint (&denc, 1, g_ascii_strtoull (parts[0], NULL, 10));
      net_encoder_put_string (&denc, 2, parts[1]);
      net_encoder_put_uint (&denc, 3, g_ascii_strtoull (parts[2], NULL, 10));
      net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
    }
  for (guint i = 0; i < n_values; i++)
    {
      g_autoptr(GByteArray) sub = g_byte_array_new ();
      NetEncoder venc;

      net_encoder_init (&venc, sub);
      net_encoder_put_uint (&venc, 1, values[i].num);
      if (values[i].s != NULL)
        net_encoder_put_string (&venc, 2, values[i].s);
      else
        net_encoder_put_int (&venc, 2, values[i].i);
      net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
    }
  return net_event_encode (&meta, buf->data, buf->len);
}

/* The leader's side of a forwarded event (_net_collection_rebase_event()):
 * definitions that clash with the log's numbers are renumbered (a field
 * the log has takes its number, a new one the next), with their values;
 * what agrees is kept as it is; what is malformed is refused. */
static void
test_rebase_event (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRecord) rec = g_object_new (NET_TYPE_RECORD, "id", (guint64) 1, NULL);
  NetCollection *plain = net_db_open_collection (db, "plain", NET_TYPE_RECORD, &error);
  GValue values[2] = { G_VALUE_INIT, G_VALUE_INIT };
  const char *names[] = { "alpha", "beta" };

  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_insert (plain, rec, &error), >, 0);
  g_value_init (&values[0], G_TYPE_INT);
  g_value_set_int (&values[0], 1);
  g_value_init (&values[1], G_TYPE_STRING);
  g_value_set_string (&values[1], "b");
  /* The log: 1 alpha (int, 2), 2 beta (string, 7). */
  g_assert_cmpuint (net_collection_updatev (plain, 1, 2, names, values, &error), >, 0);
  g_assert_no_error (error);
  g_value_unset (&values[0]);
  g_value_unset (&values[1]);

  /* Renumbered: 2 gamma is new (3), 3 delta next (4); 1 alpha agrees. */
  {
    const char *defs[] = { "1 alpha 2", "2 gamma 7", "3 delta 2", NULL };
    const RebaseValue vals[] = { { 2, "g", 0 }, { 3, NULL, 9 }, { 1, NULL, 4 } };
    const char *want_defs[] = { "1 alpha 2", "3 gamma 7", "4 delta 2", NULL };
    const RebaseValue want_vals[] = { { 3, "g", 0 }, { 4, NULL, 9 }, { 1, NULL, 4 } };
    g_autoptr(GBytes) event = rebase_event_new (5, defs, vals, 3);
    g_autoptr(GBytes) want = rebase_event_new (5, want_defs, want_vals, 3);
    g_autoptr(GBytes) rebased = _net_collection_rebase_event (plain, event, &error);
    g_autoptr(GBytes) other = rebase_event_new (6, defs, vals, 3);
    g_autoptr(GBytes) other_value = rebase_event_new (5, defs, vals, 2);

    g_assert_no_error (error);
    g_assert_nonnull (rebased);
    g_assert_true (g_bytes_equal (rebased, want));
    /* A retransmission of @event is the event the log holds; another one
     * (another app_seq, other values) is not. */
    g_assert_true (_net_collection_event_is_rebase (rebased, event));
    g_assert_true (_net_collection_event_is_rebase (event, event));
    g_assert_false (_net_collection_event_is_rebase (rebased, other));
    g_assert_false (_net_collection_event_is_rebase (rebased, other_value));
  }

  /* A field the log has, under a new number: the log's number. */
  {
    const char *defs[] = { "3 beta 7", NULL };
    const RebaseValue vals[] = { { 3, "x", 0 } };
    const char *want_defs[] = { "2 beta 7", NULL };
    const RebaseValue want_vals[] = { { 2, "x", 0 } };
    g_autoptr(GBytes) event = rebase_event_new (5, defs, vals, 1);
    g_autoptr(GBytes) want = rebase_event_new (5, want_defs, want_vals, 1);
    g_autoptr(GBytes) rebased = _net_collection_rebase_event (plain, event, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (rebased, want));
  }

  /* Nothing to change: the same bytes. */
  {
    const char *defs[] = { "3 gamma 7", NULL };
    const RebaseValue vals[] = { { 3, "x", 0 }, { 2, "y", 0 } };
    g_autoptr(GBytes) event = rebase_event_new (5, defs, vals, 2);
    g_autoptr(GBytes) rebased = _net_collection_rebase_event (plain, event, &error);

    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (rebased, event));
  }

  /* Malformed: refused with the reason. */
  {
    const char *skip[] = { "4 gamma 7", NULL };
    const char *twice[] = { "3 gamma 7", "3 delta 7", NULL };
    const char *clash[] = { "2 gamma 7", NULL };
    const RebaseValue undefined[] = { { 9, "x", 0 } };
    const RebaseValue wrong_type[] = { { 1, "not an int", 0 } };
    const RebaseValue clash_undefined[] = { { 2, "g", 0 }, { 3, "x", 0 } };
    struct { const char * const *defs; const RebaseValue *vals; guint n; const char *what; } bad[] = {
      { skip, NULL, 0, "out of order" },
      { twice, NULL, 0, "defined twice" },
      { NULL, undefined, 1, "undefined field" },
      { NULL, wrong_type, 1, "wrong type" },
      { clash, clash_undefined, 2, "undefined field" },
    };
    g_autoptr(GBytes) garbage = g_bytes_new_static ("\x01\x02", 2);
    g_autoptr(GBytes) none = _net_collection_rebase_event (plain, garbage, &error);

    g_assert_null (none);
    g_assert_nonnull (error);
    g_clear_error (&error);
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GBytes) event = rebase_event_new (5, bad[i].defs, bad[i].vals, bad[i].n);
        g_autoptr(GBytes) rebased = _net_collection_rebase_event (plain, event, &error);

        g_assert_null (rebased);
        g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
        g_assert_nonnull (strstr (error->message, bad[i].what));
        g_clear_error (&error);
      }
  }
}

/* The times an insert gives its record are notified from the dispatch to
 * whoever listens; a record nobody listens to is not held until then: a
 * bulk insert lets each record go when the application does (beyond the
 * cache of recent items). */
static void
test_insert_notify (void)
{
  g_autoptr(NetDb) db = db_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TestNote) watched = note_new ("Watched", 1, FALSE);
  g_autoptr(NetRecord) got = NULL;
  NetCollection *notes;
  gpointer last = NULL;
  guint notifies = 0;
  guint64 seq = 0, last_id = 0;
  const guint n = (1 << 16) + 64;   /* more than the cache of recent items holds */

  notes = net_db_open_collection (db, "notes", TEST_TYPE_NOTE, &error);
  g_assert_no_error (error);

  g_signal_connect (watched, "notify::created-at", G_CALLBACK (notify_count_cb), &notifies);
  seq = net_collection_insert (notes, NET_RECORD (watched), &error);
  g_assert_no_error (error);
  g_assert_cmpint (net_record_get_created_at (NET_RECORD (watched)), >, 0);
  g_assert_cmpuint (notifies, ==, 0);
  g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (notifies, ==, 1);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *title = g_strdup_printf ("bulk %u", i);
      TestNote *note = note_new (title, (int) i, i % 2 == 0);

      seq = net_collection_insert (notes, NET_RECORD (note), &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, >, 0);
      g_assert_cmpint (net_record_get_created_at (NET_RECORD (note)), >, 0);
      if (i == n - 1)
        {
          last_id = net_record_get_id (NET_RECORD (note));
          last = note;
          g_object_add_weak_pointer (G_OBJECT (note), &last);
        }
      g_object_unref (note);
    }
  /* Gone before any dispatch: nothing held it. */
  g_assert_null (last);

  g_assert_cmpuint (net_collection_count (notes, NULL), ==, n + 1);
  got = net_collection_get (notes, last_id);
  g_assert_nonnull (got);
  g_assert_cmpstr (TEST_NOTE (got)->title, ==, "bulk 65599");
  g_assert_cmpint (net_record_get_created_at (got), >, 0);
  g_assert_true (net_collection_wait_for_seq (notes, seq, 5000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (notifies, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/collection/bad-classes", test_bad_classes);
  g_test_add_func ("/collection/crud", test_crud);
  g_test_add_func ("/collection/insert-notify", test_insert_notify);
  g_test_add ("/collection/reopen", Fixture, NULL, fixture_setup, test_reopen, fixture_teardown);
  g_test_add ("/collection/evolution", Fixture, NULL, fixture_setup, test_evolution, fixture_teardown);
  g_test_add ("/collection/list", Fixture, NULL, fixture_setup, test_list_collections, fixture_teardown);
  g_test_add ("/collection/snapshot", Fixture, NULL, fixture_setup, test_snapshot, fixture_teardown);
  g_test_add ("/collection/snapshot-unopened", Fixture, NULL, fixture_setup, test_snapshot_unopened, fixture_teardown);
  g_test_add ("/collection/describe", Fixture, NULL, fixture_setup, test_describe, fixture_teardown);
  g_test_add ("/collection/snapshot-restored-unopened", Fixture, NULL, fixture_setup,
              test_snapshot_restored_unopened, fixture_teardown);
  g_test_add ("/collection/read-only", Fixture, NULL, fixture_setup, test_read_only, fixture_teardown);
  g_test_add ("/collection/builder-async", Fixture, NULL, fixture_setup, test_builder_async, fixture_teardown);
  g_test_add ("/collection/corrupt-events", Fixture, NULL, fixture_setup, test_corrupt_events, fixture_teardown);
  g_test_add ("/collection/random-events", Fixture, NULL, fixture_setup, test_random_events, fixture_teardown);
  g_test_add_func ("/collection/filter/operators", test_filter_operators);
  g_test_add_func ("/collection/filter/random", test_filter_random);
  g_test_add_func ("/collection/filter/indexes", test_indexes);
  g_test_add_func ("/collection/watch/random", test_watch_random);
  g_test_add_func ("/collection/watch/crowded-labels", test_watch_crowded_labels);
  g_test_add ("/collection/watch/untyped-orders", Fixture, NULL, fixture_setup, test_watch_untyped_orders,
              fixture_teardown);
  g_test_add_func ("/collection/watch/index-unmappable", test_watch_index_unmappable);
  g_test_add_func ("/collection/filter/search-churn", test_search_index_churn);
  g_test_add_func ("/collection/filter/search-large", test_search_index_large);
  g_test_add_func ("/collection/rebase-event", test_rebase_event);

  return g_test_run ();
}
