/* bench-collections.c: collections (NetCollection) against SQLite
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The rows of issue 11's benchmarks, printed in netdb-bench-models' table:
 * N notes of four fields (title, body: strings; starred: boolean; due:
 * int64 µs), with an ordered index on `due` and a search index on `title`,
 * against an SQLite table with an index on `due` and an FTS5 trigram index
 * on `title` (a plain index on `title` when this SQLite has no trigram
 * tokenizer; the notes say which).
 *
 * Note i (ids 1..N): title "note-<i>-<8 hex digits of a hash of i>", so
 * about 0.15 % of the titles contain "abc"; body "body of note <i>";
 * starred when i % 7 == 0; due a hash of i (random order).
 */

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <sqlite3.h>
#include <xxhash.h>

#include <netdb/netdb.h>

#include "bench-common.h"

#define BC_LIMIT      50
#define BC_TXN_ROWS   1000
#define BC_NEEDLE     "abc"
#define BC_DUE0       G_GINT64_CONSTANT (1700000000000000)

enum { BC_NETDB, BC_SQLITE, BC_N_IMPL };

/* ------------------------------------------------------------------ */
/* The record class                                                    */

#define BENCH_TYPE_NOTE (bench_note_get_type ())
G_DECLARE_FINAL_TYPE (BenchNote, bench_note, BENCH, NOTE, NetRecord)

struct _BenchNote
{
  NetRecord  parent_instance;
  char      *title;
  char      *body;
  gboolean   starred;
  gint64     due;
};

enum { NOTE_PROP_0, NOTE_PROP_TITLE, NOTE_PROP_BODY, NOTE_PROP_STARRED, NOTE_PROP_DUE, NOTE_N_PROPS };

G_DEFINE_FINAL_TYPE (BenchNote, bench_note, NET_TYPE_RECORD)

static void
bench_note_finalize (GObject *object)
{
  BenchNote *self = BENCH_NOTE (object);

  g_free (self->title);
  g_free (self->body);
  G_OBJECT_CLASS (bench_note_parent_class)->finalize (object);
}

static void
bench_note_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BenchNote *self = BENCH_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_value_set_string (value, self->title); break;
    case NOTE_PROP_BODY: g_value_set_string (value, self->body); break;
    case NOTE_PROP_STARRED: g_value_set_boolean (value, self->starred); break;
    case NOTE_PROP_DUE: g_value_set_int64 (value, self->due); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bench_note_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BenchNote *self = BENCH_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_free (self->title); self->title = g_value_dup_string (value); break;
    case NOTE_PROP_BODY: g_free (self->body); self->body = g_value_dup_string (value); break;
    case NOTE_PROP_STARRED: self->starred = g_value_get_boolean (value); break;
    case NOTE_PROP_DUE: self->due = g_value_get_int64 (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bench_note_class_init (BenchNoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = bench_note_finalize;
  object_class->get_property = bench_note_get_property;
  object_class->set_property = bench_note_set_property;
  g_object_class_install_property (object_class, NOTE_PROP_TITLE,
                                   g_param_spec_string ("title", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BODY,
                                   g_param_spec_string ("body", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_STARRED,
                                   g_param_spec_boolean ("starred", NULL, NULL, FALSE, rw));
  g_object_class_install_property (object_class, NOTE_PROP_DUE,
                                   g_param_spec_int64 ("due", NULL, NULL, G_MININT64, G_MAXINT64, 0, rw));
}

static void
bench_note_init (BenchNote *self)
{
}

/* ------------------------------------------------------------------ */
/* The population                                                      */

static inline guint32
bc_hash (guint64 i)
{
  guint64 x = i * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  x ^= x >> 29;
  x *= G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  x ^= x >> 32;
  return (guint32) x;
}

static inline const char *
bc_title (char *buf, guint64 i)
{
  g_snprintf (buf, 48, "note-%" G_GUINT64_FORMAT "-%08x", i, bc_hash (i));
  return buf;
}

static inline const char *
bc_body (char *buf, guint64 i)
{
  g_snprintf (buf, 48, "body of note %" G_GUINT64_FORMAT, i);
  return buf;
}

static inline gboolean
bc_starred (guint64 i)
{
  return i % 7 == 0;
}

static inline gint64
bc_due (guint64 i)
{
  return BC_DUE0 + (gint64) bc_hash (i ^ G_GUINT64_CONSTANT (0x5bd1e995)) * 1000;
}

/* The mean bytes of a note's strings: title and body, each with its NUL. */
static double
bc_strings_mean (guint64 n)
{
  guint64 total = 0;
  char buf[48];

  for (guint64 i = 1; i <= n; i++)
    total += strlen (bc_title (buf, i)) + 1 + strlen (bc_body (buf, i)) + 1;
  return n > 0 ? (double) total / (double) n : 0;
}

static guint64
bc_contains_count (guint64 n)
{
  guint64 c = 0;
  char buf[48];

  for (guint64 i = 1; i <= n; i++)
    if (strstr (bc_title (buf, i), BC_NEEDLE) != NULL)
      c++;
  return c;
}

/* ------------------------------------------------------------------ */
/* netdb                                                               */

typedef struct
{
  NetDb         *db;
  NetCollection *notes;
} BcNetdb;

static void
bc_netdb_close (BcNetdb *b)
{
  if (b->db != NULL)
    net_db_close (b->db, NULL);
  g_clear_object (&b->db);
  b->notes = NULL;
  drain_main_context ();
}

/* On a NetRedex in memory when @dir is NULL, else in @dir, its log never
 * fsynced. */
static gboolean
bc_netdb_open (BcNetdb *b, const char *dir, GError **error)
{
  memset (b, 0, sizeof *b);
  if (dir == NULL)
    b->db = net_db_new (NULL, NET_DB_MODELS_NONE, error);
  else
    {
      g_autoptr(NetDbBuilder) builder = net_db_builder_new ();

      net_db_builder_fsync_policy (net_db_builder_persistent_dir (builder, dir),
                                   NET_FSYNC_POLICY_NEVER, 0);
      b->db = net_db_builder_build (builder, error);
    }
  if (b->db == NULL)
    return FALSE;
  b->notes = net_db_open_collection (b->db, "notes", BENCH_TYPE_NOTE, error);
  if (b->notes == NULL ||
      !net_collection_add_index (b->notes, "due", NET_INDEX_ORDERED, error) ||
      !net_collection_add_index (b->notes, "title", NET_INDEX_SEARCH, error))
    {
      bc_netdb_close (b);
      return FALSE;
    }
  return TRUE;
}

static gboolean
bc_netdb_populate (BcNetdb *b, guint64 n, GError **error)
{
  char title[48], body[48];

  for (guint64 i = 1; i <= n; i++)
    {
      BenchNote *note = g_object_new (BENCH_TYPE_NOTE, NULL);
      guint64 seq;

      net_record_set_id (NET_RECORD (note), i);
      note->title = g_strdup (bc_title (title, i));
      note->body = g_strdup (bc_body (body, i));
      note->starred = bc_starred (i);
      note->due = bc_due (i);
      seq = net_collection_insert (b->notes, NET_RECORD (note), error);
      g_object_unref (note);
      if (seq == 0)
        return FALSE;
    }
  return TRUE;
}

static NetFilter *
bc_filter_starred (void)
{
  NetFilter *f = net_filter_new ();
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_BOOLEAN);
  g_value_set_boolean (&v, TRUE);
  net_filter_where (f, "starred", NET_FILTER_OP_EQ, &v);
  net_filter_order_by (f, "due", TRUE);
  g_object_set (f, "limit", (guint) BC_LIMIT, NULL);
  return f;
}

static NetFilter *
bc_filter_contains (void)
{
  NetFilter *f = net_filter_new ();
  GValue v = G_VALUE_INIT;

  g_value_init (&v, G_TYPE_STRING);
  g_value_set_static_string (&v, BC_NEEDLE);
  net_filter_where (f, "title", NET_FILTER_OP_CONTAINS, &v);
  g_value_unset (&v);
  return f;
}

static NetFilter *
bc_filter_window (void)
{
  NetFilter *f = net_filter_new ();

  net_filter_order_by (f, "due", TRUE);
  g_object_set (f, "limit", (guint) BC_LIMIT, NULL);
  return f;
}

/* ------------------------------------------------------------------ */
/* SQLite                                                              */

static gboolean bc_have_trigram = -1;

enum
{
  BC_SQ_BEGIN,
  BC_SQ_COMMIT,
  BC_SQ_INSERT,
  BC_SQ_INSERT_FTS,
  BC_SQ_STARRED,
  BC_SQ_CONTAINS,
  BC_SQ_UPDATE_DUE,
  BC_SQ_WINDOW,
  BC_SQ_N
};

typedef struct
{
  sqlite3      *db;
  sqlite3_stmt *stmt[BC_SQ_N];
} BcSq;

#define BC_SQ_COLUMNS "id, title, body, starred, due"

static void
bc_sq_close (BcSq *s)
{
  for (guint i = 0; i < BC_SQ_N; i++)
    g_clear_pointer (&s->stmt[i], sqlite3_finalize);
  g_clear_pointer (&s->db, sqlite3_close);
}

static gboolean
bc_sq_open (BcSq *s, GError **error)
{
  const char *sql[BC_SQ_N] = {
    [BC_SQ_BEGIN] = "BEGIN",
    [BC_SQ_COMMIT] = "COMMIT",
    [BC_SQ_INSERT] = "INSERT INTO notes (" BC_SQ_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5)",
    [BC_SQ_STARRED] = "SELECT " BC_SQ_COLUMNS " FROM notes WHERE starred = 1 ORDER BY due DESC, id DESC LIMIT 50",
    [BC_SQ_UPDATE_DUE] = "UPDATE notes SET due = ?2 WHERE id = ?1",
    [BC_SQ_WINDOW] = "SELECT " BC_SQ_COLUMNS " FROM notes ORDER BY due DESC, id DESC LIMIT 50",
  };

  memset (s, 0, sizeof *s);
  s->db = sq_open (":memory:",
                   "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT,"
                   " starred INTEGER NOT NULL, due INTEGER NOT NULL);"
                   "CREATE INDEX notes_due ON notes (due);",
                   error);
  if (s->db == NULL)
    return FALSE;
  if (bc_have_trigram == -1)
    bc_have_trigram = sqlite3_exec (s->db, "CREATE VIRTUAL TABLE notes_fts USING fts5"
                                    " (title, content='', tokenize='trigram')", NULL, NULL, NULL) == SQLITE_OK;
  else if (bc_have_trigram &&
           !sq_exec (s->db, "CREATE VIRTUAL TABLE notes_fts USING fts5"
                     " (title, content='', tokenize='trigram')", error))
    goto fail;
  if (bc_have_trigram)
    {
      sql[BC_SQ_INSERT_FTS] = "INSERT INTO notes_fts (rowid, title) VALUES (?1, ?2)";
      sql[BC_SQ_CONTAINS] = "SELECT n.id, n.title, n.body, n.starred, n.due FROM notes_fts f"
                            " JOIN notes n ON n.id = f.rowid WHERE notes_fts MATCH '\"" BC_NEEDLE "\"'";
    }
  else
    {
      if (!sq_exec (s->db, "CREATE INDEX notes_title ON notes (title)", error))
        goto fail;
      sql[BC_SQ_INSERT_FTS] = "SELECT ?1, ?2";
      sql[BC_SQ_CONTAINS] = "SELECT " BC_SQ_COLUMNS " FROM notes WHERE title LIKE '%" BC_NEEDLE "%'";
    }
  for (guint i = 0; i < BC_SQ_N; i++)
    if ((s->stmt[i] = sq_prepare (s->db, sql[i], error)) == NULL)
      goto fail;
  return TRUE;

fail:
  bc_sq_close (s);
  return FALSE;
}

static gboolean
bc_sq_populate (BcSq *s, guint64 n, GError **error)
{
  char title[48], body[48];

  for (guint64 first = 1; first <= n; first += BC_TXN_ROWS)
    {
      guint64 last = MIN (n, first + BC_TXN_ROWS - 1);

      if (!sq_step_done (s->db, s->stmt[BC_SQ_BEGIN], error))
        return FALSE;
      for (guint64 i = first; i <= last; i++)
        {
          sqlite3_stmt *ins = s->stmt[BC_SQ_INSERT];
          sqlite3_stmt *fts = s->stmt[BC_SQ_INSERT_FTS];

          sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i);
          sqlite3_bind_text (ins, 2, bc_title (title, i), -1, SQLITE_STATIC);
          sqlite3_bind_text (ins, 3, bc_body (body, i), -1, SQLITE_STATIC);
          sqlite3_bind_int (ins, 4, bc_starred (i));
          sqlite3_bind_int64 (ins, 5, bc_due (i));
          if (!sq_step_done (s->db, ins, error))
            return FALSE;
          if (bc_have_trigram)
            {
              sqlite3_bind_int64 (fts, 1, (sqlite3_int64) i);
              sqlite3_bind_text (fts, 2, title, -1, SQLITE_STATIC);
              if (!sq_step_done (s->db, fts, error))
                return FALSE;
            }
        }
      if (!sq_step_done (s->db, s->stmt[BC_SQ_COMMIT], error))
        return FALSE;
    }
  return TRUE;
}

/* The rows of @stmt read into structs, as an application would hold them. */
typedef struct
{
  guint64   id;
  char     *title;
  char     *body;
  gboolean  starred;
  gint64    due;
} BcSqNote;

static void
bc_sq_note_free (gpointer data)
{
  BcSqNote *n = data;

  g_free (n->title);
  g_free (n->body);
  g_free (n);
}

static gboolean
bc_sq_collect (BcSq *s, sqlite3_stmt *stmt, guint64 *n_rows, GError **error)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func (bc_sq_note_free);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      BcSqNote *n = g_new (BcSqNote, 1);

      n->id = (guint64) sqlite3_column_int64 (stmt, 0);
      n->title = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      n->body = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      n->starred = sqlite3_column_int (stmt, 3);
      n->due = sqlite3_column_int64 (stmt, 4);
      g_ptr_array_add (rows, n);
    }
  sqlite3_reset (stmt);
  *n_rows = rows->len;
  g_ptr_array_unref (rows);
  if (rc != SQLITE_DONE)
    return sq_error (s->db, error, "query");
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Workloads                                                           */

/* The physical bound of notes/find_many(starred,due_desc,50) (the
 * "(bound)" row, measured in the same run): what any store with this
 * API and these indexes pays per query once the main context has let
 * go of the last result's items.  The state is the least a store can
 * hold: one malloc'd entry per note and, for the index on due, one
 * array of them in (due desc, id desc) order (no tree to descend: the
 * walk starts at its first element).  The walk reads the entries in
 * that order until 50 are starred (about 7 x 50: starred is not
 * indexed), and each gets a new object of the application's class, its
 * id and its four properties set through the class's set_property (a
 * store knows the fields only as properties; the strings are copied
 * once, by the property), registered in its entry (live and unique);
 * the result is a GPtrArray of the exact size.  Releasing the last
 * result's items (unregister, unref) is part of the query, as the
 * drain of the main context is part of netdb's. */
typedef struct
{
  guint64    id;
  gint64     due;
  gboolean   starred;
  char      *title;
  char      *body;
  BenchNote *item;
} BcBoundEntry;

typedef struct
{
  BcBoundEntry **by_due;   /* (due desc, id desc) */
  BcBoundEntry **needle;   /* the posting of the needle's trigram: its entries, by id */
  guint64        n_needle;
  guint64        n;
  GPtrArray     *last;     /* the items of the last result */
  GParamSpec    *pspecs[NOTE_N_PROPS];
} BcBound;

static int
bc_bound_compare (gconstpointer a, gconstpointer b)
{
  const BcBoundEntry *x = *(BcBoundEntry * const *) a;
  const BcBoundEntry *y = *(BcBoundEntry * const *) b;

  if (x->due != y->due)
    return x->due > y->due ? -1 : 1;
  return x->id > y->id ? -1 : x->id < y->id;
}

static int
bc_bound_compare_id (gconstpointer a, gconstpointer b)
{
  const BcBoundEntry *x = *(BcBoundEntry * const *) a;
  const BcBoundEntry *y = *(BcBoundEntry * const *) b;

  return x->id < y->id ? -1 : x->id > y->id;
}

static void
bc_bound_init (BcBound *b, guint64 n)
{
  GObjectClass *klass = g_type_class_ref (BENCH_TYPE_NOTE);
  const char *names[NOTE_N_PROPS] = { NULL, "title", "body", "starred", "due" };
  char buf[48];

  memset (b, 0, sizeof *b);
  for (guint p = NOTE_PROP_TITLE; p < NOTE_N_PROPS; p++)
    b->pspecs[p] = g_object_class_find_property (klass, names[p]);
  g_type_class_unref (klass);
  b->n = n;
  b->by_due = g_new (BcBoundEntry *, n);
  for (guint64 i = 1; i <= n; i++)
    {
      BcBoundEntry *e = g_new (BcBoundEntry, 1);

      e->id = i;
      e->due = bc_due (i);
      e->starred = bc_starred (i);
      e->title = g_strdup (bc_title (buf, i));
      e->body = g_strdup (bc_body (buf, i));
      e->item = NULL;
      b->by_due[i - 1] = e;
    }
  b->needle = g_new (BcBoundEntry *, n);
  for (guint64 i = 0; i < n; i++)
    if (strstr (b->by_due[i]->title, BC_NEEDLE) != NULL)
      b->needle[b->n_needle++] = b->by_due[i];
  qsort (b->by_due, n, sizeof (BcBoundEntry *), bc_bound_compare);
  qsort (b->needle, b->n_needle, sizeof (BcBoundEntry *), bc_bound_compare_id);
}

static void
bc_bound_release (BcBound *b)
{
  if (b->last == NULL)
    return;
  for (guint i = 0; i < b->last->len; i++)
    {
      BenchNote *item = g_ptr_array_index (b->last, i);
      BcBoundEntry *e = g_object_get_data (G_OBJECT (item), "bc-entry");

      e->item = NULL;
    }
  g_clear_pointer (&b->last, g_ptr_array_unref);
}

static void
bc_bound_clear (BcBound *b)
{
  bc_bound_release (b);
  for (guint64 i = 0; b->by_due != NULL && i < b->n; i++)
    {
      g_free (b->by_due[i]->title);
      g_free (b->by_due[i]->body);
      g_free (b->by_due[i]);
    }
  g_clear_pointer (&b->by_due, g_free);
  g_clear_pointer (&b->needle, g_free);
  b->n_needle = 0;
}

static BenchNote *
bc_bound_item (BcBound *b, BcBoundEntry *e)
{
  GObjectClass *klass;
  BenchNote *item;
  GValue v = G_VALUE_INIT;

  if (e->item != NULL)
    return g_object_ref (e->item);
  item = g_object_new (BENCH_TYPE_NOTE, NULL);
  klass = G_OBJECT_GET_CLASS (item);
  net_record_set_id (NET_RECORD (item), e->id);
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_static_string (&v, e->title);
  klass->set_property (G_OBJECT (item), NOTE_PROP_TITLE, &v, b->pspecs[NOTE_PROP_TITLE]);
  g_value_set_static_string (&v, e->body);
  klass->set_property (G_OBJECT (item), NOTE_PROP_BODY, &v, b->pspecs[NOTE_PROP_BODY]);
  g_value_unset (&v);
  g_value_init (&v, G_TYPE_BOOLEAN);
  g_value_set_boolean (&v, e->starred);
  klass->set_property (G_OBJECT (item), NOTE_PROP_STARRED, &v, b->pspecs[NOTE_PROP_STARRED]);
  g_value_unset (&v);
  g_value_init (&v, G_TYPE_INT64);
  g_value_set_int64 (&v, e->due);
  klass->set_property (G_OBJECT (item), NOTE_PROP_DUE, &v, b->pspecs[NOTE_PROP_DUE]);
  /* The item's way back to its entry (netdb's is a field of NetRecord). */
  g_object_set_data (G_OBJECT (item), "bc-entry", e);
  e->item = item;
  return item;
}

typedef struct
{
  guint64        n;
  guint64        n_contains;
  BcNetdb        netdb;
  BcSq           sq;
  NetFilter     *starred;
  NetFilter     *contains;
  NetQueryModel *window;
  BcBound        bound;
  guint          window_changes;
  guint64        update_counter;
} BcEnv;

static gboolean
bc_netdb_ingest_run (gpointer data, double *out, GError **error)
{
  BcEnv *env = data;
  BcNetdb b;
  gboolean ok = FALSE;
  gint64 t0, t1;

  if (!bc_netdb_open (&b, NULL, error))
    return FALSE;
  t0 = now_ns ();
  if (!bc_netdb_populate (&b, env->n, error))
    goto out;
  drain_main_context ();
  t1 = now_ns ();
  if (!check_count ("notes", net_collection_count (b.notes, NULL), env->n, error))
    goto out;
  out[0] = rate (env->n, t1 - t0);
  ok = TRUE;

out:
  bc_netdb_close (&b);
  return ok;
}

/* The physical bound of notes/ingest (the "(bound)" row, measured in the
 * same run): what any store with this API and these indexes pays per
 * insert, the application's side as in netdb's (a new BenchNote, its id
 * and four properties set, unreferenced after the insert).  The store
 * reads the four fields through the class's get_property (it knows them
 * only as properties), takes the time once (created = updated), encodes
 * the record in place at the end of a log in memory (varints; the
 * strings with their lengths) and checksums it (XXH3, as netdb's
 * events), makes one malloc'd entry (the strings inside it), puts it in
 * an id table (open addressing: the API finds records by id and refuses
 * an id it holds), inserts it into a B+tree on (due, id) (64 items a
 * node) and appends its id to the posting of each trigram of its title,
 * lowered in place (the titles are ASCII: no Unicode folding; the
 * postings: open addressing by trigram, each a growing array).  It does
 * not register the record as the live item of its id, nor keep anything
 * for a live query to diff. */

#define BC_TREE_ORDER 64
#define BC_LOG_CHUNK  (1u << 20)

typedef struct
{
  guint64 key;
  guint64 id;
} BcTreeKey;

typedef struct _BcTreeNode BcTreeNode;
struct _BcTreeNode
{
  guint      n;
  gboolean   leaf;
  BcTreeKey  keys[BC_TREE_ORDER];  /* inner: the least key under each child */
  gpointer   ptrs[BC_TREE_ORDER];  /* leaf: entries; inner: children */
};

typedef struct
{
  guint64   id;
  gint64    created;
  gint64    updated;
  gint64    due;
  gboolean  starred;
  char     *title;
  char     *body;
  char      strings[];
} BcIngestEntry;

typedef struct
{
  guint32   gram;      /* 0: a free slot */
  guint32   len;
  guint32   cap;
  guint64  *ids;
} BcPosting;

typedef struct
{
  GParamSpec     *pspecs[NOTE_N_PROPS];
  GPtrArray      *log;          /* chunks of BC_LOG_CHUNK bytes */
  gsize           log_used;     /* in the last chunk */
  BcIngestEntry **ids;          /* open addressing, by id */
  guint64         ids_mask;
  guint64         n;
  BcTreeNode     *root;
  BcPosting      *grams;        /* open addressing, by trigram */
  guint32         grams_mask;
  guint32         n_grams;
} BcIngest;

static inline int
bc_tree_key_cmp (const BcTreeKey *a, const BcTreeKey *b)
{
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return (a->id > b->id) - (a->id < b->id);
}

/* The index of the first key of @node above @k. */
static inline guint
bc_tree_upper (const BcTreeNode *node, const BcTreeKey *k)
{
  guint lo = 0, hi = node->n;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (bc_tree_key_cmp (&node->keys[mid], k) <= 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

static BcTreeNode *
bc_tree_node_new (gboolean leaf)
{
  BcTreeNode *node = g_new (BcTreeNode, 1);

  node->n = 0;
  node->leaf = leaf;
  return node;
}

/* Puts (@k, @p) into @node (not full) in its order. */
static void
bc_tree_put (BcTreeNode *node, const BcTreeKey *k, gpointer p)
{
  guint pos = bc_tree_upper (node, k);

  memmove (&node->keys[pos + 1], &node->keys[pos], (node->n - pos) * sizeof (BcTreeKey));
  memmove (&node->ptrs[pos + 1], &node->ptrs[pos], (node->n - pos) * sizeof (gpointer));
  node->keys[pos] = *k;
  node->ptrs[pos] = p;
  node->n++;
}

/* The upper half of the full @node, in a new node. */
static BcTreeNode *
bc_tree_split (BcTreeNode *node)
{
  BcTreeNode *right = bc_tree_node_new (node->leaf);
  guint half = node->n / 2;

  right->n = node->n - half;
  memcpy (right->keys, node->keys + half, right->n * sizeof (BcTreeKey));
  memcpy (right->ptrs, node->ptrs + half, right->n * sizeof (gpointer));
  node->n = half;
  return right;
}

/* Puts (@k, @p) into @node when it has room, else splits it first: the
 * new right sibling (or NULL). */
static BcTreeNode *
bc_tree_put_split (BcTreeNode *node, const BcTreeKey *k, gpointer p)
{
  BcTreeNode *right;

  if (node->n < BC_TREE_ORDER)
    {
      bc_tree_put (node, k, p);
      return NULL;
    }
  right = bc_tree_split (node);
  bc_tree_put (bc_tree_key_cmp (k, &right->keys[0]) >= 0 ? right : node, k, p);
  return right;
}

static BcTreeNode *
bc_tree_insert_rec (BcTreeNode *node, const BcTreeKey *k, gpointer p)
{
  BcTreeNode *child_right;
  guint i;

  if (node->leaf)
    return bc_tree_put_split (node, k, p);
  i = bc_tree_upper (node, k);
  if (i == 0)
    node->keys[0] = *k;   /* a new least key: the split of child 0 sorts after it */
  child_right = bc_tree_insert_rec (node->ptrs[i > 0 ? i - 1 : 0], k, p);
  if (child_right == NULL)
    return NULL;
  return bc_tree_put_split (node, &child_right->keys[0], child_right);
}

static void
bc_tree_insert (BcIngest *b, const BcTreeKey *k, gpointer p)
{
  BcTreeNode *right;

  if (b->root == NULL)
    b->root = bc_tree_node_new (TRUE);
  right = bc_tree_insert_rec (b->root, k, p);
  if (right != NULL)
    {
      BcTreeNode *root = bc_tree_node_new (FALSE);

      root->keys[0] = b->root->keys[0];
      root->ptrs[0] = b->root;
      root->keys[1] = right->keys[0];
      root->ptrs[1] = right;
      root->n = 2;
      b->root = root;
    }
}

static void
bc_tree_free (BcTreeNode *node)
{
  if (node == NULL)
    return;
  for (guint i = 0; !node->leaf && i < node->n; i++)
    bc_tree_free (node->ptrs[i]);
  g_free (node);
}

static guint64
bc_tree_count (BcTreeNode *node, BcTreeKey *last, gboolean *sorted)
{
  guint64 n = 0;

  if (node == NULL)
    return 0;
  if (!node->leaf)
    {
      for (guint i = 0; i < node->n; i++)
        n += bc_tree_count (node->ptrs[i], last, sorted);
      return n;
    }
  for (guint i = 0; i < node->n; i++)
    {
      if (bc_tree_key_cmp (&node->keys[i], last) <= 0)
        *sorted = FALSE;
      *last = node->keys[i];
    }
  return node->n;
}

static inline guint64
bc_mix (guint64 x)
{
  x ^= x >> 33;
  x *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  x ^= x >> 33;
  return x;
}

static void
bc_ingest_ids_put (BcIngest *b, BcIngestEntry *e)
{
  guint64 i = bc_mix (e->id) & b->ids_mask;

  while (b->ids[i] != NULL)
    i = (i + 1) & b->ids_mask;
  b->ids[i] = e;
}

/* Whether the id table holds @id (the API refuses an id it holds). */
static gboolean
bc_ingest_ids_has (BcIngest *b, guint64 id)
{
  for (guint64 i = bc_mix (id) & b->ids_mask; b->ids[i] != NULL; i = (i + 1) & b->ids_mask)
    if (b->ids[i]->id == id)
      return TRUE;
  return FALSE;
}

static void
bc_ingest_ids_grow (BcIngest *b)
{
  BcIngestEntry **old = b->ids;
  guint64 old_mask = b->ids_mask;

  b->ids_mask = old_mask * 2 + 1;
  b->ids = g_new0 (BcIngestEntry *, b->ids_mask + 1);
  for (guint64 i = 0; i <= old_mask; i++)
    if (old[i] != NULL)
      bc_ingest_ids_put (b, old[i]);
  g_free (old);
}

static BcPosting *
bc_ingest_posting (BcIngest *b, guint32 gram)
{
  guint32 i;

  if (b->n_grams * 2 >= b->grams_mask)
    {
      BcPosting *old = b->grams;
      guint32 old_mask = b->grams_mask;

      b->grams_mask = old_mask * 2 + 1;
      b->grams = g_new0 (BcPosting, b->grams_mask + 1);
      for (guint32 j = 0; j <= old_mask; j++)
        if (old[j].gram != 0)
          {
            for (i = (guint32) bc_mix (old[j].gram) & b->grams_mask; b->grams[i].gram != 0;
                 i = (i + 1) & b->grams_mask)
              ;
            b->grams[i] = old[j];
          }
      g_free (old);
    }
  for (i = (guint32) bc_mix (gram) & b->grams_mask; b->grams[i].gram != 0; i = (i + 1) & b->grams_mask)
    if (b->grams[i].gram == gram)
      return &b->grams[i];
  b->grams[i].gram = gram;
  b->n_grams++;
  return &b->grams[i];
}

static inline guint8 *
bc_put_varint (guint8 *p, guint64 v)
{
  while (v >= 0x80)
    {
      *p++ = (guint8) v | 0x80;
      v >>= 7;
    }
  *p++ = (guint8) v;
  return p;
}

static void
bc_ingest_init (BcIngest *b)
{
  GObjectClass *klass = g_type_class_ref (BENCH_TYPE_NOTE);
  const char *names[NOTE_N_PROPS] = { NULL, "title", "body", "starred", "due" };

  memset (b, 0, sizeof *b);
  for (guint p = NOTE_PROP_TITLE; p < NOTE_N_PROPS; p++)
    b->pspecs[p] = g_object_class_find_property (klass, names[p]);
  g_type_class_unref (klass);
  b->log = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (b->log, g_malloc (BC_LOG_CHUNK));
  b->ids_mask = 1023;
  b->ids = g_new0 (BcIngestEntry *, b->ids_mask + 1);
  b->grams_mask = 1023;
  b->grams = g_new0 (BcPosting, b->grams_mask + 1);
}

static void
bc_ingest_clear (BcIngest *b)
{
  for (guint64 i = 0; b->ids != NULL && i <= b->ids_mask; i++)
    g_free (b->ids[i]);
  g_clear_pointer (&b->ids, g_free);
  for (guint32 i = 0; b->grams != NULL && i <= b->grams_mask; i++)
    g_free (b->grams[i].ids);
  g_clear_pointer (&b->grams, g_free);
  g_clear_pointer (&b->log, g_ptr_array_unref);
  bc_tree_free (b->root);
  b->root = NULL;
}

/* The store's side of one insert of @note. */
static gboolean
bc_ingest_insert (BcIngest *b, BenchNote *note, GError **error)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (note);
  GValue title = G_VALUE_INIT, body = G_VALUE_INIT, starred = G_VALUE_INIT, due = G_VALUE_INIT;
  guint64 id = net_record_get_id (NET_RECORD (note));
  const char *t, *bd;
  gsize t_len, b_len;
  gint64 now = g_get_real_time ();
  guint8 *chunk, *start, *p;
  BcIngestEntry *e;
  BcTreeKey key;

  if (bc_ingest_ids_has (b, id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "id %" G_GUINT64_FORMAT " exists", id);
      return FALSE;
    }
  g_value_init (&title, G_TYPE_STRING);
  g_value_init (&body, G_TYPE_STRING);
  g_value_init (&starred, G_TYPE_BOOLEAN);
  g_value_init (&due, G_TYPE_INT64);
  klass->get_property (G_OBJECT (note), NOTE_PROP_TITLE, &title, b->pspecs[NOTE_PROP_TITLE]);
  klass->get_property (G_OBJECT (note), NOTE_PROP_BODY, &body, b->pspecs[NOTE_PROP_BODY]);
  klass->get_property (G_OBJECT (note), NOTE_PROP_STARRED, &starred, b->pspecs[NOTE_PROP_STARRED]);
  klass->get_property (G_OBJECT (note), NOTE_PROP_DUE, &due, b->pspecs[NOTE_PROP_DUE]);
  t = g_value_get_string (&title);
  bd = g_value_get_string (&body);
  t_len = strlen (t);
  b_len = strlen (bd);

  /* The log record, in place: a length, the checksum, then the fields. */
  if (b->log_used + 3 * 10 + 4 + 2 * 10 + t_len + b_len + 20 > BC_LOG_CHUNK)
    {
      g_ptr_array_add (b->log, g_malloc (BC_LOG_CHUNK));
      b->log_used = 0;
    }
  chunk = g_ptr_array_index (b->log, b->log->len - 1);
  start = chunk + b->log_used;
  p = start + 2 + 8;
  p = bc_put_varint (p, id);
  p = bc_put_varint (p, ((guint64) now << 1) ^ (guint64) (now >> 63));
  p = bc_put_varint (p, t_len);
  memcpy (p, t, t_len);
  p += t_len;
  p = bc_put_varint (p, b_len);
  memcpy (p, bd, b_len);
  p += b_len;
  *p++ = g_value_get_boolean (&starred) ? 1 : 0;
  p = bc_put_varint (p, ((guint64) g_value_get_int64 (&due) << 1) ^ (guint64) (g_value_get_int64 (&due) >> 63));
  start[0] = (guint8) ((p - start) & 0xff);
  start[1] = (guint8) ((p - start) >> 8);
  {
    guint64 sum = XXH3_64bits (start + 10, p - start - 10);

    memcpy (start + 2, &sum, 8);
  }
  b->log_used = p - chunk;

  /* The entry, its strings inside it. */
  e = g_malloc (sizeof (BcIngestEntry) + t_len + 1 + b_len + 1);
  e->id = id;
  e->created = e->updated = now;
  e->due = g_value_get_int64 (&due);
  e->starred = g_value_get_boolean (&starred);
  e->title = e->strings;
  memcpy (e->title, t, t_len + 1);
  e->body = e->strings + t_len + 1;
  memcpy (e->body, bd, b_len + 1);
  g_value_unset (&title);
  g_value_unset (&body);

  if ((b->n + 1) * 2 > b->ids_mask)
    bc_ingest_ids_grow (b);
  bc_ingest_ids_put (b, e);
  b->n++;

  key.key = (guint64) e->due ^ G_GUINT64_CONSTANT (0x8000000000000000);
  key.id = id;
  bc_tree_insert (b, &key, e);

  /* The title's trigrams, lowered (a trigram at most once a title would
   * need a set: consecutive repeats only are skipped). */
  {
    char folded[64];
    guint32 last = 0;

    for (gsize i = 0; i < t_len && i < sizeof folded; i++)
      folded[i] = g_ascii_tolower (t[i]);
    for (gsize i = 0; i + 3 <= MIN (t_len, sizeof folded); i++)
      {
        guint32 gram = (guint32) (guchar) folded[i] | (guint32) (guchar) folded[i + 1] << 8 |
                       (guint32) (guchar) folded[i + 2] << 16;
        BcPosting *post;

        if (gram == last)
          continue;
        last = gram;
        post = bc_ingest_posting (b, gram);
        if (post->len == post->cap)
          {
            post->cap = MAX (4, post->cap * 2);
            post->ids = g_renew (guint64, post->ids, post->cap);
          }
        post->ids[post->len++] = id;
      }
  }
  return TRUE;
}

static gboolean
bc_bound_ingest_run (gpointer data, double *out, GError **error)
{
  BcEnv *env = data;
  BcIngest b;
  char title[48], body[48];
  BcTreeKey last = { 0, 0 };
  gboolean sorted = TRUE;
  gboolean ok = FALSE;
  gint64 t0, t1;

  bc_ingest_init (&b);
  t0 = now_ns ();
  for (guint64 i = 1; i <= env->n; i++)
    {
      BenchNote *note = g_object_new (BENCH_TYPE_NOTE, NULL);
      gboolean inserted;

      net_record_set_id (NET_RECORD (note), i);
      note->title = g_strdup (bc_title (title, i));
      note->body = g_strdup (bc_body (body, i));
      note->starred = bc_starred (i);
      note->due = bc_due (i);
      inserted = bc_ingest_insert (&b, note, error);
      g_object_unref (note);
      if (!inserted)
        goto out;
    }
  t1 = now_ns ();
  if (!check_count ("notes", b.n, env->n, error) ||
      !check_count ("due index", bc_tree_count (b.root, &last, &sorted), env->n, error) ||
      !check_count ("due index in order", sorted, TRUE, error))
    goto out;
  out[0] = rate (env->n, t1 - t0);
  ok = TRUE;

out:
  bc_ingest_clear (&b);
  return ok;
}

static gboolean
bc_sqlite_ingest_run (gpointer data, double *out, GError **error)
{
  BcEnv *env = data;
  BcSq s;
  gboolean ok;
  gint64 t0, t1;

  if (!bc_sq_open (&s, error))
    return FALSE;
  t0 = now_ns ();
  ok = bc_sq_populate (&s, env->n, error);
  t1 = now_ns ();
  if (ok)
    out[0] = rate (env->n, t1 - t0);
  bc_sq_close (&s);
  return ok;
}

static gboolean
bc_check (const char *what, guint64 got, guint64 expected, GError **error)
{
  return check_count (what, got, expected, error);
}

/* @count queries of @filter, each expected to return @expected records;
 * @idle: the main context iterated first (see below). */
static gboolean
bc_netdb_find_run (BcEnv *env, NetFilter *filter, guint64 expected, const char *what, guint64 count,
                   gboolean idle, GError **error)
{
  for (guint64 k = 0; k < count; k++)
    {
      GPtrArray *r;
      guint len;

      /* As under an application's main loop: the collection lets go of
       * the items of the last queries once idle. */
      if (idle)
        drain_main_context ();
      r = net_collection_find_many (env->netdb.notes, filter);
      len = r->len;

      g_ptr_array_unref (r);
      if (!bc_check (what, len, expected, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
bc_netdb_starred_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  return bc_netdb_find_run (env, env->starred, MIN (BC_LIMIT, env->n / 7), "starred", count, TRUE, error);
}

/* The same query again within one burst of the main loop: the items of
 * the one before are still alive (a view refreshing, a second query of
 * the same handler). */
static gboolean
bc_netdb_starred_warm_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  return bc_netdb_find_run (env, env->starred, MIN (BC_LIMIT, env->n / 7), "starred", count, FALSE, error);
}

static gboolean
bc_sqlite_starred_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  for (guint64 k = 0; k < count; k++)
    {
      guint64 len;

      if (!bc_sq_collect (&env->sq, env->sq.stmt[BC_SQ_STARRED], &len, error) ||
          !bc_check ("starred", len, MIN (BC_LIMIT, env->n / 7), error))
        return FALSE;
    }
  return TRUE;
}

/* One query of the bound (see BcBound): the last result's items let go,
 * then @entries walked in order, each that @match accepts made an item,
 * until @limit. */
static gboolean
bc_bound_find (BcBound *b, BcBoundEntry **entries, guint64 n_entries, gboolean (*match) (BcBoundEntry *e),
               guint64 limit, guint64 expected, const char *what, GError **error)
{
  GPtrArray *r = g_ptr_array_new_full (MIN (limit, n_entries), g_object_unref);

  bc_bound_release (b);
  for (guint64 i = 0; i < n_entries && r->len < limit; i++)
    if (match (entries[i]))
      g_ptr_array_add (r, bc_bound_item (b, entries[i]));
  /* The items stay until the next query, as netdb's until idle. */
  b->last = r;
  return bc_check (what, r->len, expected, error);
}

static gboolean
bc_bound_starred (BcBoundEntry *e)
{
  return e->starred;
}

/* Its title is already lower case (a store would fold it). */
static gboolean
bc_bound_contains (BcBoundEntry *e)
{
  return strstr (e->title, BC_NEEDLE) != NULL;
}

static gboolean
bc_bound_starred_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;
  BcBound *b = &env->bound;

  for (guint64 k = 0; k < count; k++)
    if (!bc_bound_find (b, b->by_due, b->n, bc_bound_starred, BC_LIMIT, MIN (BC_LIMIT, env->n / 7),
                        "starred (bound)", error))
      return FALSE;
  return TRUE;
}

/* The candidates are the posting of the needle's trigram (here exactly
 * the matches: the needle is one trigram), each checked. */
static gboolean
bc_bound_contains_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;
  BcBound *b = &env->bound;

  for (guint64 k = 0; k < count; k++)
    if (!bc_bound_find (b, b->needle, b->n_needle, bc_bound_contains, G_MAXUINT64, env->n_contains,
                        "contains (bound)", error))
      return FALSE;
  return TRUE;
}

static gboolean
bc_netdb_contains_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  return bc_netdb_find_run (env, env->contains, env->n_contains, "contains", count, TRUE, error);
}

static gboolean
bc_netdb_contains_warm_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  return bc_netdb_find_run (env, env->contains, env->n_contains, "contains", count, FALSE, error);
}

static gboolean
bc_sqlite_contains_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  for (guint64 k = 0; k < count; k++)
    {
      guint64 len;

      if (!bc_sq_collect (&env->sq, env->sq.stmt[BC_SQ_CONTAINS], &len, error) ||
          !bc_check ("contains", len, env->n_contains, error))
        return FALSE;
    }
  return TRUE;
}

/* The next update: a record picked by a hash gets a new due date, half of
 * the time later than every other (so it enters the window of the 50
 * latest), else anywhere. */
static void
bc_next_update (BcEnv *env, guint64 *id, gint64 *due)
{
  guint64 c = ++env->update_counter;

  *id = 1 + bc_hash (c * 31 + 7) % env->n;
  *due = c % 2 == 0 ? BC_DUE0 + G_GINT64_CONSTANT (5000000000000) + (gint64) c
                    : bc_due (c + env->n);
}

static void
bc_window_changed_cb (GListModel *model, guint position, guint removed, guint added, gpointer user_data)
{
  BcEnv *env = user_data;

  env->window_changes++;
}

static gboolean
bc_netdb_update_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;

  for (guint64 k = 0; k < count; k++)
    {
      GValue v = G_VALUE_INIT;
      const char *names[] = { "due" };
      guint64 id;
      gint64 due;

      bc_next_update (env, &id, &due);
      g_value_init (&v, G_TYPE_INT64);
      g_value_set_int64 (&v, due);
      if (net_collection_updatev (env->netdb.notes, id, 1, names, &v, error) == 0)
        return FALSE;
      /* The live model delivers from a dispatch of the main context. */
      drain_main_context ();
    }
  if (g_list_model_get_n_items (G_LIST_MODEL (env->window)) != MIN (BC_LIMIT, env->n))
    return bc_check ("window", g_list_model_get_n_items (G_LIST_MODEL (env->window)),
                     MIN (BC_LIMIT, env->n), error);
  return TRUE;
}

static gboolean
bc_sqlite_update_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  BcEnv *env = ctx;
  sqlite3_stmt *upd = env->sq.stmt[BC_SQ_UPDATE_DUE];

  for (guint64 k = 0; k < count; k++)
    {
      guint64 id, len;
      gint64 due;

      bc_next_update (env, &id, &due);
      sqlite3_bind_int64 (upd, 1, (sqlite3_int64) id);
      sqlite3_bind_int64 (upd, 2, due);
      if (!sq_step_done (env->sq.db, upd, error) ||
          !bc_sq_collect (&env->sq, env->sq.stmt[BC_SQ_WINDOW], &len, error))
        return FALSE;
    }
  return TRUE;
}

/* Memory per note: the child's side of the probe (see memory_probe_run()). */
static gboolean
bc_netdb_populate_cb (gpointer ctx, guint64 n, GError **error)
{
  return bc_netdb_populate (ctx, n, error);
}

static gboolean
bc_netdb_memory_probe (guint64 n, const char *root, double *out, GError **error)
{
  g_autofree char *dir = g_build_filename (root, "notes-memory", NULL);
  BcNetdb b;
  gboolean ok = FALSE;

  if (bc_netdb_open (&b, dir, error))
    {
      ok = heap_growth_per_record (bc_netdb_populate_cb, &b, n, bc_strings_mean (n), out, error) &&
           check_count ("notes", net_collection_count (b.notes, NULL), n, error);
      bc_netdb_close (&b);
    }
  rm_rf (dir);
  return ok;
}

static gboolean
bc_sqlite_populate_cb (gpointer ctx, guint64 n, GError **error)
{
  return bc_sq_populate (ctx, n, error);
}

static gboolean
bc_sqlite_memory_probe (guint64 n, double *out, GError **error)
{
  BcSq s;
  gboolean ok;

  if (!bc_sq_open (&s, error))
    return FALSE;
  ok = heap_growth_per_record (bc_sqlite_populate_cb, &s, n, bc_strings_mean (n), out, error);
  bc_sq_close (&s);
  return ok;
}

gboolean
bench_collections_memory_probe (const char  *impl,
                                guint64      n,
                                const char  *root,
                                double      *out,
                                GError     **error)
{
  if (g_str_equal (impl, "netdb"))
    return bc_netdb_memory_probe (n, root, out, error);
  if (g_str_equal (impl, "sqlite"))
    return bc_sqlite_memory_probe (n, out, error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no implementation %s", impl);
  return FALSE;
}

/* The parent's side: one fresh process per run. */
typedef struct
{
  guint64     n;
  const char *root;
  const char *impl;
} BcMemory;

static gboolean bc_ran_memory;
static gboolean bc_ran_bound;
static gboolean bc_ran_ingest_bound;
static gboolean bc_ran_warm;

static gboolean
bc_memory_run (gpointer data, double *out, GError **error)
{
  BcMemory *m = data;
  g_autofree char *spec = g_strdup_printf ("notes-%s:%" G_GUINT64_FORMAT, m->impl, m->n);

  return memory_probe_run (m->root, spec, &out[0], error);
}

typedef struct
{
  BcEnv     *env;
  OpsFunc  ops;
} BcCase;

static gboolean
bc_query_run (gpointer data, double *out, GError **error)
{
  BcCase *c = data;

  return time_ops (c->ops, c->env, QUERY_BUDGET_MS, &out[0], error);
}

static void
bc_measure_query (Row *row, BcEnv *env, OpsFunc netdb_ops, OpsFunc sqlite_ops)
{
  BcCase netdb_case = { env, netdb_ops };
  BcCase sqlite_case = { env, sqlite_ops };
  Job jobs[BC_N_IMPL] = {
    { &row, 1, BC_NETDB, bc_query_run, &netdb_case },
    { &row, 1, BC_SQLITE, bc_query_run, &sqlite_case },
  };

  run_jobs (jobs, BC_N_IMPL);
  row_finish (row);
}

static gboolean
bc_bound_run (gpointer data, double *out, GError **error)
{
  BcCase *c = data;

  if (c->env->bound.by_due == NULL)
    bc_bound_init (&c->env->bound, c->env->n);
  return time_ops (c->ops, c->env, QUERY_BUDGET_MS, &out[0], error);
}

/* bc_measure_query(), and the bound of the same query into @bound_row
 * (its netdb column), interleaved with them. */
static void
bc_measure_query_bound (Row *row, Row *bound_row, BcEnv *env, OpsFunc netdb_ops, OpsFunc sqlite_ops,
                        OpsFunc bound_ops)
{
  BcCase netdb_case = { env, netdb_ops };
  BcCase sqlite_case = { env, sqlite_ops };
  BcCase bound_case = { env, bound_ops };
  Job jobs[BC_N_IMPL + 1] = {
    { &row, 1, BC_NETDB, bc_query_run, &netdb_case },
    { &row, 1, BC_SQLITE, bc_query_run, &sqlite_case },
    { &bound_row, 1, BC_NETDB, bc_bound_run, &bound_case },
  };

  run_jobs (jobs, BC_N_IMPL + 1);
  bc_bound_clear (&env->bound);
  row_finish (row);
  row_finish (bound_row);
}

static void
bc_env_clear (BcEnv *env)
{
  if (env->window != NULL)
    g_signal_handlers_disconnect_by_func (env->window, bc_window_changed_cb, env);
  g_clear_object (&env->window);
  g_clear_object (&env->starred);
  g_clear_object (&env->contains);
  if (env->netdb.db != NULL)
    bc_netdb_close (&env->netdb);
  bc_sq_close (&env->sq);
}

enum
{
  BC_ROW_INGEST,
  BC_ROW_INGEST_BOUND,
  BC_ROW_STARRED,
  BC_ROW_STARRED_BOUND,
  BC_ROW_STARRED_WARM,
  BC_ROW_CONTAINS,
  BC_ROW_CONTAINS_BOUND,
  BC_ROW_CONTAINS_WARM,
  BC_ROW_UPDATE,
  BC_ROW_MEMORY,    /* after the queries */
  BC_N_ROWS
};

static const char *const bc_row_names[BC_N_ROWS] = {
  [BC_ROW_INGEST] = "notes/ingest(due,title-search)",
  [BC_ROW_INGEST_BOUND] = "notes/ingest(bound)",
  [BC_ROW_STARRED] = "notes/find_many(starred,due_desc,50)",
  [BC_ROW_STARRED_BOUND] = "notes/find_many(starred,due_desc,50,bound)",
  [BC_ROW_STARRED_WARM] = "notes/find_many(starred,due_desc,50,warm)",
  [BC_ROW_CONTAINS] = "notes/find_many(title_contains_abc)",
  [BC_ROW_CONTAINS_BOUND] = "notes/find_many(title_contains_abc,bound)",
  [BC_ROW_CONTAINS_WARM] = "notes/find_many(title_contains_abc,warm)",
  [BC_ROW_UPDATE] = "notes/update(live,due_desc,50)",
  [BC_ROW_MEMORY] = "notes/memory",
};

/* The query rows, BC_ROW_STARRED to BC_ROW_UPDATE, over one populated
 * fixture. */
static void
bc_queries (Row **rows, guint64 n)
{
  BcEnv env;
  GError *error = NULL;

  if (!any_row (rows + BC_ROW_STARRED, BC_ROW_MEMORY - BC_ROW_STARRED))
    return;

  memset (&env, 0, sizeof env);
  env.n = n;
  env.n_contains = bc_contains_count (n);
  if (!bc_netdb_open (&env.netdb, NULL, &error) ||
      !bc_netdb_populate (&env.netdb, n, &error) ||
      !bc_sq_open (&env.sq, &error) ||
      !bc_sq_populate (&env.sq, n, &error) ||
      !sq_exec (env.sq.db, "ANALYZE", &error))
    {
      fail_and_finish_rows (rows + BC_ROW_STARRED, BC_ROW_MEMORY - BC_ROW_STARRED, error);
      g_clear_error (&error);
      bc_env_clear (&env);
      return;
    }
  drain_main_context ();
  env.starred = bc_filter_starred ();
  env.contains = bc_filter_contains ();

  if (rows[BC_ROW_STARRED] != NULL || rows[BC_ROW_STARRED_BOUND] != NULL)
    {
      bc_measure_query_bound (rows[BC_ROW_STARRED], rows[BC_ROW_STARRED_BOUND], &env,
                              bc_netdb_starred_ops, bc_sqlite_starred_ops, bc_bound_starred_ops);
      bc_ran_bound |= rows[BC_ROW_STARRED_BOUND] != NULL;
    }
  if (rows[BC_ROW_STARRED_WARM] != NULL)
    {
      bc_measure_query (rows[BC_ROW_STARRED_WARM], &env, bc_netdb_starred_warm_ops, bc_sqlite_starred_ops);
      drain_main_context ();
      bc_ran_warm = TRUE;
    }
  if (rows[BC_ROW_CONTAINS] != NULL || rows[BC_ROW_CONTAINS_BOUND] != NULL)
    {
      bc_measure_query_bound (rows[BC_ROW_CONTAINS], rows[BC_ROW_CONTAINS_BOUND], &env,
                              bc_netdb_contains_ops, bc_sqlite_contains_ops, bc_bound_contains_ops);
      bc_ran_bound |= rows[BC_ROW_CONTAINS_BOUND] != NULL;
    }
  if (rows[BC_ROW_CONTAINS_WARM] != NULL)
    {
      bc_measure_query (rows[BC_ROW_CONTAINS_WARM], &env, bc_netdb_contains_warm_ops, bc_sqlite_contains_ops);
      drain_main_context ();
      bc_ran_warm = TRUE;
    }
  if (rows[BC_ROW_UPDATE] != NULL)
    {
      g_autoptr(NetFilter) window = bc_filter_window ();

      env.window = net_collection_watch (env.netdb.notes, window);
      g_signal_connect (env.window, "items-changed", G_CALLBACK (bc_window_changed_cb), &env);
      drain_main_context ();
      bc_measure_query (rows[BC_ROW_UPDATE], &env, bc_netdb_update_ops, bc_sqlite_update_ops);
    }
  bc_env_clear (&env);
}

static void
bc_workload (guint64 n, const char *root)
{
  Row *rows[BC_N_ROWS];
  g_autofree char *label = size_label (n);

  for (guint r = 0; r < BC_N_ROWS; r++)
    {
      g_autofree char *id = g_strdup_printf ("%s/%s", bc_row_names[r], label);
      Kind kind = r == BC_ROW_INGEST || r == BC_ROW_INGEST_BOUND ? KIND_RATE :
                  r == BC_ROW_MEMORY ? KIND_BYTES : KIND_NS;

      rows[r] = row_new (id, kind, kind == KIND_RATE);
    }
  row_set_target (rows[BC_ROW_INGEST], TARGET_MIN, 1e6);
  row_set_target (rows[BC_ROW_STARRED], TARGET_MAX, 20e3);
  row_set_target (rows[BC_ROW_STARRED_WARM], TARGET_MAX, 20e3);
  row_set_target (rows[BC_ROW_CONTAINS], TARGET_MAX, 5e6);
  row_set_target (rows[BC_ROW_CONTAINS_WARM], TARGET_MAX, 5e6);
  row_set_target (rows[BC_ROW_UPDATE], TARGET_MAX, 10e3);
  row_set_target (rows[BC_ROW_MEMORY], TARGET_VS_MIN, 0.5);

  if (rows[BC_ROW_INGEST] != NULL || rows[BC_ROW_INGEST_BOUND] != NULL)
    {
      BcEnv env = { .n = n };
      Job jobs[BC_N_IMPL + 1] = {
        { &rows[BC_ROW_INGEST], 1, BC_NETDB, bc_netdb_ingest_run, &env },
        { &rows[BC_ROW_INGEST], 1, BC_SQLITE, bc_sqlite_ingest_run, &env },
        { &rows[BC_ROW_INGEST_BOUND], 1, BC_NETDB, bc_bound_ingest_run, &env },
      };

      run_jobs (jobs, BC_N_IMPL + 1);
      row_finish (rows[BC_ROW_INGEST]);
      row_finish (rows[BC_ROW_INGEST_BOUND]);
      bc_ran_ingest_bound |= rows[BC_ROW_INGEST_BOUND] != NULL;
    }

  bc_queries (rows, n);

  if (rows[BC_ROW_MEMORY] != NULL)
    {
      BcMemory netdb = { n, root, "netdb" };
      BcMemory sqlite = { n, root, "sqlite" };
      Job jobs[BC_N_IMPL] = {
        { &rows[BC_ROW_MEMORY], 1, BC_NETDB, bc_memory_run, &netdb },
        { &rows[BC_ROW_MEMORY], 1, BC_SQLITE, bc_memory_run, &sqlite },
      };

      /* The children opened their SQLite; the notes say which schema. */
      if (bc_have_trigram == -1)
        {
          BcSq s;

          if (bc_sq_open (&s, NULL))
            bc_sq_close (&s);
        }
      run_jobs (jobs, BC_N_IMPL);
      row_finish (rows[BC_ROW_MEMORY]);
      bc_ran_memory = TRUE;
    }
}

void
bench_collections (const guint64 *sizes,
                   guint          n_sizes,
                   gboolean       sizes_given,
                   const char    *root)
{
  if (!sizes_given)
    bc_workload (bench.quick ? 10000 : 100000, root);
  else
    for (guint i = 0; i < n_sizes; i++)
      bc_workload (sizes[i], root);

  if (bc_have_trigram == TRUE)
    note ("notes/*: N notes (title, body, starred, due int64) with an ordered index on due and a search "
          "index on title. sqlite: a table with an index on due and a contentless FTS5 trigram table on "
          "title, filled in the same transactions of 1000 rows; contains: FTS5 MATCH joined to the table; "
          "update: one UPDATE of due, then the query of the 50 latest re-run (netdb: updatev, then the "
          "live model of the 50 latest delivers from the main context)");
  else if (bc_have_trigram == FALSE)
    note ("notes/*: this SQLite has no FTS5 trigram tokenizer: its title has a plain index and contains "
          "is LIKE '%abc%' (a scan)");
  if (bc_ran_bound)
    note ("notes/*(bound): not netdb: the physical bound of the row above, measured in the same run (its "
          "netdb column): what any store with this API, these indexes and live unique items pays per "
          "query once the main context has let go of the last result's items. Each query lets go of "
          "the last result's items, then walks the least state a store can hold (malloc'd entries, "
          "no tree to descend): for starred, one array of them in (due desc, id desc) order until 50 "
          "are starred (about 350 entries: starred is not indexed); for contains, the posting of the "
          "needle's trigram (the matches, in id order), each title checked; each result is a new "
          "object of the application's class (BenchNote), its id and its four properties set through "
          "the class's set_property, registered in its entry; a GPtrArray of the exact size.");
  if (bc_ran_ingest_bound)
    note ("notes/ingest(bound): not netdb: the physical bound of notes/ingest, measured in the same run "
          "(its netdb column): what any store with this API and these indexes pays per insert. The "
          "application's side as in netdb's (a new BenchNote, its id and four properties set, "
          "unreferenced after the insert); the store reads the fields through the class's get_property, "
          "takes the time once, encodes the record in place at the end of a log in memory (varints, the "
          "strings with their lengths) and checksums it (XXH3), makes one malloc'd entry (its strings "
          "inside), puts it in an id table (open addressing), inserts it into a B+tree on (due, id) (64 "
          "items a node) and appends its id to the posting of each trigram of its title, lowered in place "
          "(ASCII titles: no Unicode folding). It does not register the record as the live item of its "
          "id, and keeps nothing for the live queries.");
  if (bc_ran_warm)
    note ("notes/*(warm): the same query, without iterating the main context between queries (the "
          "rows above iterate it first, as an application's loop does between two events, and the "
          "collection lets go of the last result's items then): the items of the query before are "
          "alive and are returned again. sqlite: as above.");
  if (bc_ran_memory)
    note ("notes/memory: heap growth (mallinfo2: uordblks + hblkhd, all arenas; plus netdb's huge-page blocks, mappings of their own) while populating N notes, "
          "in a fresh process, after the main context was drained, divided by N, minus the mean bytes of "
          "a note's two strings, title and body, each with its NUL (29 + 2 x the mean digits of the id: "
          "38.8 B at 100k, 40.8 B at 1M); the target is netdb at most 2x sqlite (vs sql >= 0.5). netdb: "
          "a NetDb on an on-disk NetRedex (fsync NEVER: the log's bytes are on disk; the collection's "
          "records, its record index and its two indexes count), the collection as notes/ingest builds "
          "it; sqlite ':memory:' with the schema of the other notes rows (the whole database: the table, "
          "its due index and the title index).");
}
