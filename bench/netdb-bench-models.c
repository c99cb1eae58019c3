/* netdb-bench-models.c: the tasks and memories models against SQLite
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One run measures the models and an SQLite baseline side by side and
 * prints one table: workload | netdb | sqlite | how many times netdb is
 * better | target | the previous figure.  Every cell is the median of
 * --repeat runs.
 *
 * The population is the one the reference project measured: N tasks with
 * ids 1..N titled "task-<id>", every third one (id % 3 == 0) completed, and
 * N memories whose tag alternates "alpha" (odd ids) / "beta" (even ids).
 *
 *   netdb-bench-models                       full run, N = 1k, 10k and 1M
 *   netdb-bench-models --quick --repeat 1    smoke run, N = 1k and 10k
 *   netdb-bench-models --only 'tasks/get*'   only the matching workloads
 *   netdb-bench-models --json out.json       also write the figures; copy that
 *                                            file to bench/previous-models.json
 *                                            to compare the next run against it
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <sqlite3.h>
#include <xxhash.h>

#include <netdb/netdb.h>

#include "bench-common.h"
#include "net-pages-private.h"

#ifndef NETDB_BENCH_SRCDIR
# define NETDB_BENCH_SRCDIR "."
#endif

/* Timestamps of the population, in microseconds: task/memory i is created
 * at T0 + i; a completed task is updated at T0 + N + i. */
#define T0               G_GINT64_CONSTANT (1700000000000000)
#define SQ_TXN_ROWS      1000      /* the SQLite ingest commits every 1000 rows */
#define LIMIT            50
#define FOLD_EVENTS      1000000   /* the bulk fold; 750 000 creates + 250 000 completes */
#define FOLD_EVENTS_QUICK 10000
#define IDS_LEN          (1 << 20) /* random ids for get, cycled */
#define ORIGIN_WRITER    1
#define ORIGIN_READER    2

/* ------------------------------------------------------------------ */
/* Options                                                             */

static char *opt_sizes;
static char *opt_memory_probe;

static const GOptionEntry option_entries[] = {
  BENCH_OPTION_QUICK ("N = 1 000 and 10 000 only, short runs (smoke test; figures are not meaningful)"),
  BENCH_OPTION_REPEAT (3),
  { "sizes", 's', 0, G_OPTION_ARG_STRING, &opt_sizes,
    "Population sizes, separated by commas (default 1000,10000,1000000; 1000,10000 with --quick)", "N,..." },
  BENCH_OPTION_DIR ("the on-disk log of the memory workload"),
  BENCH_OPTION_ONLY,
  BENCH_OPTIONS_FIGURES ("previous-models.json"),
  BENCH_OPTION_NO_BASELINES ("Measure netdb only (for profiling)"),
  /* Internal: the memory workload runs in a fresh process. */
  { "memory-probe", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_memory_probe,
    "Print the heap bytes per task (IMPL:N) or note (notes-IMPL:N) and exit", "[notes-]IMPL:N" },
  { NULL }
};

enum { IMPL_NETDB, IMPL_SQLITE, N_IMPL };

static const char *const impl_names[N_IMPL] = { "netdb", "sqlite" };
static const char *const ratio_names[N_IMPL - 1] = { "vs sql" };

static char *root;  /* scratch directory */
static guint root_counter;

/* ------------------------------------------------------------------ */
/* The population                                                      */

static inline gboolean
task_completed (guint64 i)
{
  return i % 3 == 0;
}

static inline guint64
task_events (guint64 n)
{
  return n + n / 3;
}

static inline guint64
pending_count (guint64 n)
{
  return n - n / 3;
}

static inline guint64
alpha_count (guint64 n)
{
  return (n + 1) / 2;
}

static inline const char *
memory_tag (guint64 i)
{
  return i % 2 == 1 ? "alpha" : "beta";
}

/* "<prefix><i>" into @buf (32 bytes), cheaper than printf, so that the
 * ingest loops measure the stores rather than the formatting. */
static const char *
format_id (char *buf, const char *prefix, guint64 i)
{
  char digits[21];
  gsize n = 0, len = strlen (prefix);

  do
    digits[n++] = (char) ('0' + i % 10);
  while ((i /= 10) > 0);
  g_assert (len + n < 32);
  memcpy (buf, prefix, len);
  while (n > 0)
    buf[len++] = digits[--n];
  buf[len] = '\0';
  return buf;
}

/* The mean title length of tasks 1..n, in bytes (without the NUL). */
static double
mean_title_len (guint64 n)
{
  guint64 total = 0, lo = 1, width = 1;

  while (lo <= n)
    {
      guint64 hi = MIN (n, lo * 10 - 1);

      total += (hi - lo + 1) * (strlen ("task-") + width);
      lo *= 10;
      width++;
    }
  return n > 0 ? (double) total / (double) n : 0;
}

/* ------------------------------------------------------------------ */
/* netdb                                                               */

typedef struct
{
  NetRedex      *redex;
  NetDbTasks    *tasks;
#ifdef NETDB_BENCH_HAVE_MEMORIES
  NetDbMemories *memories;
#endif
} Netdb;

static void
netdb_close (Netdb *db)
{
  if (db->tasks != NULL)
    net_db_tasks_close (db->tasks, NULL);
#ifdef NETDB_BENCH_HAVE_MEMORIES
  if (db->memories != NULL)
    net_db_memories_close (db->memories, NULL);
  g_clear_object (&db->memories);
#endif
  g_clear_object (&db->tasks);
  if (db->redex != NULL)
    net_redex_close (db->redex, NULL);
  g_clear_object (&db->redex);
  drain_main_context ();
}

/* Opens the models on a new NetRedex (in memory when @dir is NULL); the
 * logs never fsync. */
static gboolean
netdb_open (Netdb       *db,
            const char  *dir,
            gboolean     tasks,
            gboolean     memories,
            GError     **error)
{
  NetRedexConfig *config = NULL;
  gboolean ok = FALSE;

  memset (db, 0, sizeof *db);
  db->redex = net_redex_new (dir, error);
  if (db->redex == NULL)
    return FALSE;
  config = net_redex_config_new ();
  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_NEVER, 0);

  if (tasks && (db->tasks = net_db_tasks_new (db->redex, config, ORIGIN_WRITER, error)) == NULL)
    goto out;
#ifdef NETDB_BENCH_HAVE_MEMORIES
  if (memories && (db->memories = net_db_memories_new (db->redex, config, ORIGIN_WRITER, error)) == NULL)
    goto out;
#endif
  ok = TRUE;

out:
  g_object_unref (config);
  if (!ok)
    netdb_close (db);
  return ok;
}

static gboolean
netdb_populate_tasks (NetDbTasks *tasks, guint64 n, GError **error)
{
  char title[32];

  for (guint64 i = 1; i <= n; i++)
    {
      if (net_db_tasks_create (tasks, i, format_id (title, "task-", i), T0 + (gint64) i, error) == 0)
        return FALSE;
      if (task_completed (i) && net_db_tasks_complete (tasks, i, T0 + (gint64) (n + i), error) == 0)
        return FALSE;
    }
  return TRUE;
}

#ifdef NETDB_BENCH_HAVE_MEMORIES
static gboolean
netdb_populate_memories (NetDbMemories *memories, guint64 n, GError **error)
{
  char content[32];

  for (guint64 i = 1; i <= n; i++)
    {
      const char *tags[] = { memory_tag (i), NULL };

      if (net_db_memories_store (memories, i, format_id (content, "memory-", i), tags, "bench",
                                 T0 + (gint64) i, error) == 0)
        return FALSE;
    }
  return TRUE;
}
#endif


/* ------------------------------------------------------------------ */
/* SQLite                                                              */

#define SQ_SCHEMA \
  "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, status INTEGER NOT NULL," \
  " created INTEGER NOT NULL, updated INTEGER NOT NULL);" \
  "CREATE INDEX tasks_status_created ON tasks (status, created);" \
  "CREATE INDEX tasks_status_updated ON tasks (status, updated);" \
  "CREATE TABLE memories (id INTEGER PRIMARY KEY, content TEXT NOT NULL, tags TEXT NOT NULL," \
  " source TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL, pinned INTEGER NOT NULL);" \
  "CREATE TABLE memory_tags (tag TEXT NOT NULL, memory_id INTEGER NOT NULL);" \
  "CREATE INDEX memory_tags_tag ON memory_tags (tag, memory_id);"

#define SQ_TASK_COLUMNS "id, title, status, created, updated"
#define SQ_MEMORY_COLUMNS "m.id, m.content, m.tags, m.source, m.created, m.updated, m.pinned"

typedef enum
{
  SQ_BEGIN,
  SQ_COMMIT,
  SQ_TASK_INSERT,
  SQ_TASK_COMPLETE,
  SQ_TASK_GET,
  SQ_TASK_COUNT_STATUS,
  SQ_TASK_FIND_STATUS,
  SQ_TASK_FIND_STATUS_CREATED_DESC,
  SQ_MEMORY_INSERT,
  SQ_MEMORY_TAG_INSERT,
  SQ_MEMORY_FIND_TAG,
  SQ_MEMORY_FIND_TAG_LIMIT,
  SQ_N_STMTS
} SqStmt;

static const char *const sq_sql[SQ_N_STMTS] = {
  [SQ_BEGIN] = "BEGIN",
  [SQ_COMMIT] = "COMMIT",
  [SQ_TASK_INSERT] = "INSERT INTO tasks (" SQ_TASK_COLUMNS ") VALUES (?1, ?2, 0, ?3, ?3)",
  [SQ_TASK_COMPLETE] = "UPDATE tasks SET status = 1, updated = ?2 WHERE id = ?1",
  [SQ_TASK_GET] = "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE id = ?1",
  [SQ_TASK_COUNT_STATUS] = "SELECT count(*) FROM tasks WHERE status = ?1",
  [SQ_TASK_FIND_STATUS] = "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE status = ?1 ORDER BY id",
  [SQ_TASK_FIND_STATUS_CREATED_DESC] =
    "SELECT " SQ_TASK_COLUMNS " FROM tasks WHERE status = ?1"
    " ORDER BY created DESC, id DESC LIMIT ?2",
  [SQ_MEMORY_INSERT] =
    "INSERT INTO memories (id, content, tags, source, created, updated, pinned)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, 0)",
  [SQ_MEMORY_TAG_INSERT] = "INSERT INTO memory_tags (tag, memory_id) VALUES (?1, ?2)",
  [SQ_MEMORY_FIND_TAG] =
    "SELECT " SQ_MEMORY_COLUMNS " FROM memory_tags t JOIN memories m ON m.id = t.memory_id"
    " WHERE t.tag = ?1 ORDER BY t.memory_id",
  [SQ_MEMORY_FIND_TAG_LIMIT] =
    "SELECT " SQ_MEMORY_COLUMNS " FROM memory_tags t JOIN memories m ON m.id = t.memory_id"
    " WHERE t.tag = ?1 ORDER BY t.memory_id LIMIT ?2",
};

typedef struct
{
  sqlite3      *db;
  sqlite3_stmt *stmt[SQ_N_STMTS];
} Sq;

static void
sq_close (Sq *sq)
{
  for (guint i = 0; i < SQ_N_STMTS; i++)
    g_clear_pointer (&sq->stmt[i], sqlite3_finalize);
  g_clear_pointer (&sq->db, sqlite3_close);
}

static gboolean
sq_prepare_all (Sq *sq, GError **error)
{
  for (guint i = 0; i < SQ_N_STMTS; i++)
    {
      g_clear_pointer (&sq->stmt[i], sqlite3_finalize);
      if ((sq->stmt[i] = sq_prepare (sq->db, sq_sql[i], error)) == NULL)
        return FALSE;
    }
  return TRUE;
}

/* An in-memory database with the schema and every statement prepared. */
static gboolean
sq_new (Sq *sq, GError **error)
{
  memset (sq, 0, sizeof *sq);
  sq->db = sq_open (":memory:", SQ_SCHEMA, error);
  if (sq->db == NULL)
    return FALSE;
  if (!sq_prepare_all (sq, error))
    {
      sq_close (sq);
      return FALSE;
    }
  return TRUE;
}

/* Gives the planner statistics (so it can pick, say, a scan in id order
 * over an index and a sort), then prepares the statements anew. */
static gboolean
sq_analyze (Sq *sq, GError **error)
{
  return sq_exec (sq->db, "ANALYZE", error) && sq_prepare_all (sq, error);
}

/* One change of the population: the create (and, every third task, the
 * completion) of task @i. */
static gboolean
sq_task_events (Sq *sq, guint64 i, guint64 n, GError **error)
{
  sqlite3_stmt *ins = sq->stmt[SQ_TASK_INSERT];
  char title[32];

  sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i);
  sqlite3_bind_text (ins, 2, format_id (title, "task-", i), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (ins, 3, T0 + (gint64) i);
  if (!sq_step_done (sq->db, ins, error))
    return FALSE;
  if (task_completed (i))
    {
      sqlite3_stmt *upd = sq->stmt[SQ_TASK_COMPLETE];

      sqlite3_bind_int64 (upd, 1, (sqlite3_int64) i);
      sqlite3_bind_int64 (upd, 2, T0 + (gint64) (n + i));
      if (!sq_step_done (sq->db, upd, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
sq_memory_event (Sq *sq, guint64 i, GError **error)
{
  sqlite3_stmt *ins = sq->stmt[SQ_MEMORY_INSERT];
  sqlite3_stmt *tag = sq->stmt[SQ_MEMORY_TAG_INSERT];
  char content[32];

  sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i);
  sqlite3_bind_text (ins, 2, format_id (content, "memory-", i), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins, 3, memory_tag (i), -1, SQLITE_STATIC);
  sqlite3_bind_text (ins, 4, "bench", -1, SQLITE_STATIC);
  sqlite3_bind_int64 (ins, 5, T0 + (gint64) i);
  if (!sq_step_done (sq->db, ins, error))
    return FALSE;
  sqlite3_bind_text (tag, 1, memory_tag (i), -1, SQLITE_STATIC);
  sqlite3_bind_int64 (tag, 2, (sqlite3_int64) i);
  return sq_step_done (sq->db, tag, error);
}

/* Tasks 1..n (and memories 1..n when @memories), committing every
 * @txn_rows rows of each table; 0 means one transaction. */
static gboolean
sq_populate (Sq *sq, guint64 n, gboolean tasks, gboolean memories, guint64 txn_rows, GError **error)
{
  guint64 per_txn = txn_rows > 0 ? txn_rows : MAX (n, 1);

  for (guint64 first = 1; first <= n; first += per_txn)
    {
      guint64 last = MIN (n, first + per_txn - 1);

      if (!sq_step_done (sq->db, sq->stmt[SQ_BEGIN], error))
        return FALSE;
      for (guint64 i = first; i <= last; i++)
        {
          if (tasks && !sq_task_events (sq, i, n, error))
            return FALSE;
          if (memories && !sq_memory_event (sq, i, error))
            return FALSE;
        }
      if (!sq_step_done (sq->db, sq->stmt[SQ_COMMIT], error))
        return FALSE;
    }
  return TRUE;
}

/* Rows read into structs, as an application would hold them. */
typedef struct
{
  guint64  id;
  char    *title;
  int      status;
  gint64   created;
  gint64   updated;
} SqTask;

typedef struct
{
  guint64   id;
  char     *content;
  char    **tags;
  char     *source;
  gint64    created;
  gint64    updated;
  gboolean  pinned;
} SqMemory;

static void
sq_task_free (gpointer data)
{
  SqTask *t = data;

  g_free (t->title);
  g_free (t);
}

typedef gpointer (*SqReadFunc) (sqlite3_stmt *stmt);

static gpointer
sq_task_read (sqlite3_stmt *stmt)
{
  SqTask *t = g_new (SqTask, 1);

  t->id = (guint64) sqlite3_column_int64 (stmt, 0);
  t->title = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  t->status = sqlite3_column_int (stmt, 2);
  t->created = sqlite3_column_int64 (stmt, 3);
  t->updated = sqlite3_column_int64 (stmt, 4);
  return t;
}

#ifdef NETDB_BENCH_HAVE_MEMORIES
static void
sq_memory_free (gpointer data)
{
  SqMemory *m = data;

  g_free (m->content);
  g_strfreev (m->tags);
  g_free (m->source);
  g_free (m);
}

/* The tags column holds the tags joined by U+001F. */
static gpointer
sq_memory_read (sqlite3_stmt *stmt)
{
  SqMemory *m = g_new (SqMemory, 1);

  m->id = (guint64) sqlite3_column_int64 (stmt, 0);
  m->content = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  m->tags = g_strsplit ((const char *) sqlite3_column_text (stmt, 2), "\x1f", -1);
  m->source = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  m->created = sqlite3_column_int64 (stmt, 4);
  m->updated = sqlite3_column_int64 (stmt, 5);
  m->pinned = sqlite3_column_int (stmt, 6) != 0;
  return m;
}
#endif

/* Steps @stmt to its end, reading every row with @read into a new array. */
static GPtrArray *
sq_collect (sqlite3 *db, sqlite3_stmt *stmt, SqReadFunc read, GDestroyNotify free_func, GError **error)
{
  GPtrArray *result = g_ptr_array_new_with_free_func (free_func);
  int rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (result, read (stmt));
  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    {
      sq_error (db, error, "step");
      g_ptr_array_unref (result);
      return NULL;
    }
  return result;
}

/* ------------------------------------------------------------------ */
/* Ingest                                                              */

typedef struct
{
  guint64 n;
} SizeParams;

static gboolean
netdb_tasks_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  Netdb db;
  gboolean ok = FALSE;
  gint64 t0, t1;

  if (!netdb_open (&db, NULL, TRUE, FALSE, error))
    return FALSE;
  t0 = now_ns ();
  if (!netdb_populate_tasks (db.tasks, p->n, error))
    goto out;
  drain_main_context ();
  t1 = now_ns ();
  if (!check_count ("tasks", net_db_tasks_count (db.tasks, NULL), p->n, error))
    goto out;
  out[0] = rate (task_events (p->n), t1 - t0);
  ok = TRUE;

out:
  netdb_close (&db);
  return ok;
}

static gboolean
sqlite_tasks_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  Sq sq;
  gboolean ok;
  gint64 t0, t1;

  if (!sq_new (&sq, error))
    return FALSE;
  t0 = now_ns ();
  ok = sq_populate (&sq, p->n, TRUE, FALSE, SQ_TXN_ROWS, error);
  t1 = now_ns ();
  if (ok)
    out[0] = rate (task_events (p->n), t1 - t0);
  sq_close (&sq);
  return ok;
}

/* The physical bound of tasks/ingest (the "(bound)" row): what the least
 * store that keeps the API contract and the log format does per event.
 * It validates the title, encodes the event as netdb does (a 24-byte
 * header with the origin, the app_seq and an XXH3 checksum over it all,
 * then the fields as varints and bytes), appends the event to an
 * in-memory log (2 MiB chunks, each a huge page, as netdb's large ones: a
 * varint length and timestamp, the bytes,
 * and a 4-byte offset per event), decodes it again (no second checksum)
 * and folds it: a create carves the entry (title inline) out of a block
 * of a huge page (no header, never freed alone) into an index
 * by id that is a plain array (ids are dense here), a complete updates
 * the entry found there.  No ordered index, no notification, no lock: a
 * lower bound. */
/* The entry of a task in the bounds (here and below). */
typedef struct
{
  guint64  id;
  gint64   created;
  gint64   updated;
  gpointer item;       /* its BoundTask while one exists */
  guint8   status;
  char     title[];
} BoundEntry;

/* The in-memory log of the ingest bounds, and the memory of their
 * entries.  Both come in blocks of a huge page, as netdb's do
 * (_net_pages_alloc_huge()): fresh memory costs the same page faults to
 * a bound as to netdb, or more. */
typedef struct
{
  GPtrArray   *chunks;    /* guint8[BOUND_CHUNK] */
  gsize        chunk_len;
  guint32     *offs;
  gsize        n_offs, cap_offs;
  guint64      app_seq;
  guint8      *next;      /* the unused part of the last chunk of entries */
  gsize        left;
} BoundLog;

typedef struct
{
  BoundLog     log;
  BoundEntry **by_id;
  gsize        cap_id;
} IngestBound;

#define BOUND_CHUNK NET_PAGES_HUGE_BLOCK
#define BOUND_LOG_INIT { g_ptr_array_new_with_free_func (_net_pages_free_huge), 0, NULL, 0, 0, 0, NULL, 0 }

static inline guint8 *
bound_put_varint (guint8 *p, guint64 v)
{
  while (v >= 0x80)
    {
      *p++ = (guint8) (v | 0x80);
      v >>= 7;
    }
  *p++ = (guint8) v;
  return p;
}

static inline const guint8 *
bound_get_varint (const guint8 *p, guint64 *out)
{
  guint64 v = 0;
  guint shift = 0;

  while (*p & 0x80)
    {
      v |= (guint64) (*p++ & 0x7f) << shift;
      shift += 7;
    }
  *out = v | (guint64) *p++ << shift;
  return p;
}

/* A bytes field (key @field, wire type 2): its key, length and bytes. */
static inline guint8 *
bound_put_bytes (guint8 *p, guint field, const char *data, gsize len)
{
  *p++ = (guint8) (field << 3 | 2);
  p = bound_put_varint (p, len);
  memcpy (p, data, len);
  return p + len;
}

/* A timestamp field (key @field, wire type 1: a zigzag varint). */
static inline guint8 *
bound_put_ts (guint8 *p, guint field, gint64 ts)
{
  *p++ = (guint8) (field << 3 | 1);
  return bound_put_varint (p, ((guint64) ts << 1) ^ (guint64) (ts >> 63));
}

/* Seals the event @ev (@len bytes, its 24-byte header first) as netdb
 * does (dispatch, origin, app_seq, then an XXH3 checksum over it all) and
 * appends it to @log: a varint length and timestamp, the bytes, and its
 * offset. */
/* (Inlined: the bounds' figures are those of the code written out.) */
G_ALWAYS_INLINE static inline void
bound_log_append (BoundLog *log, guint8 *ev, gsize len, guint8 dispatch)
{
  guint8 *chunk, *p;

  ev[0] = dispatch;
  memset (ev + 1, 0, 3);
  memcpy (ev + 4, &(guint64) { ORIGIN_WRITER }, 8);
  memcpy (ev + 12, &(guint64) { ++log->app_seq }, 8);
  memset (ev + 20, 0, 4);
  memcpy (ev + 20, &(guint32) { (guint32) XXH3_64bits (ev, len) }, 4);

  if (log->chunks->len == 0 || BOUND_CHUNK - log->chunk_len < len + 20)
    {
      g_ptr_array_add (log->chunks, _net_pages_alloc_huge ());
      log->chunk_len = 0;
    }
  if (log->n_offs == log->cap_offs)
    {
      log->cap_offs = MAX (log->cap_offs * 2, 256);
      log->offs = g_renew (guint32, log->offs, log->cap_offs);
    }
  log->offs[log->n_offs++] = (guint32) log->chunk_len;
  chunk = g_ptr_array_index (log->chunks, log->chunks->len - 1);
  p = bound_put_varint (chunk + log->chunk_len, len);
  p = bound_put_varint (p, 0);
  memcpy (p, ev, len);
  log->chunk_len = p + len - chunk;
}

/* An entry of @size bytes: carved from a block of entries (8-byte
 * aligned, no header; freed with the log). */
G_ALWAYS_INLINE static inline gpointer
bound_entry_alloc (BoundLog *log, gsize size)
{
  gpointer e;

  size = (size + 7) & ~(gsize) 7;
  if (log->left < size)
    {
      log->next = _net_pages_alloc_huge ();
      log->left = NET_PAGES_HUGE_BLOCK;
      g_ptr_array_add (log->chunks, log->next);
    }
  e = log->next;
  log->next += size;
  log->left -= size;
  return e;
}

static void
bound_log_clear (BoundLog *log)
{
  g_free (log->offs);
  g_ptr_array_unref (log->chunks);
}

/* The slot of @id (1 or more) in the array @by_id of @cap slots, grown
 * (with NULLs) to hold it. */
G_ALWAYS_INLINE static inline gpointer *
bound_id_slot (gpointer **by_id, gsize *cap, guint64 id)
{
  if (id > *cap)
    {
      gsize new_cap = MAX (*cap * 2, MAX (id, 1024));

      *by_id = g_renew (gpointer, *by_id, new_cap);
      memset (*by_id + *cap, 0, (new_cap - *cap) * sizeof (gpointer));
      *cap = new_cap;
    }
  return &(*by_id)[id - 1];
}

static gboolean
bound_ingest_event (IngestBound *b, guint8 dispatch, guint64 id, const char *title, gint64 ts)
{
  guint8 ev[256];
  guint8 *p = ev + 24;
  const guint8 *q, *end;
  gsize len, title_len = 0;
  guint64 v, zz, got_id = 0;
  const char *got_title = NULL;
  gint64 got_ts = 0;

  if (title != NULL && !g_utf8_validate (title, -1, NULL))
    return FALSE;

  /* Encode: version, then key/value fields. */
  *p++ = 1;
  *p++ = 1 << 3;
  p = bound_put_varint (p, id);
  if (title != NULL)
    {
      title_len = strlen (title);
      g_assert (title_len < 128);
      p = bound_put_bytes (p, 2, title, title_len);
    }
  p = bound_put_ts (p, 3, ts);
  len = p - ev;
  bound_log_append (&b->log, ev, len, dispatch);

  /* Fold: decode the fields again, then the entry. */
  q = ev + 25;
  end = ev + len;
  while (q < end)
    {
      guint8 key = *q++;

      q = bound_get_varint (q, &v);
      switch (key >> 3)
        {
        case 1: got_id = v; break;
        case 2:
          if (!g_utf8_validate_len ((const char *) q, v, NULL))
            return FALSE;
          got_title = (const char *) q;
          title_len = v;
          q += v;
          break;
        case 3: zz = v; got_ts = (gint64) ((zz >> 1) ^ (~(zz & 1) + 1)); break;
        default: return FALSE;
        }
    }

  if (dispatch == 1)
    {
      BoundEntry *e = bound_entry_alloc (&b->log, G_STRUCT_OFFSET (BoundEntry, title) + title_len + 1);
      gpointer *slot = bound_id_slot ((gpointer **) &b->by_id, &b->cap_id, got_id);

      e->id = got_id;
      e->created = e->updated = got_ts;
      e->status = 0;
      e->item = NULL;
      memcpy (e->title, got_title, title_len);
      e->title[title_len] = '\0';
      g_assert (*slot == NULL);
      *slot = e;
    }
  else
    {
      BoundEntry *e = got_id <= b->cap_id ? b->by_id[got_id - 1] : NULL;

      if (e == NULL)
        return FALSE;
      e->status = 1;
      e->updated = got_ts;
    }
  return TRUE;
}

static gboolean
bound_tasks_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  IngestBound b = { BOUND_LOG_INIT, NULL, 0 };
  char title[32];
  gboolean ok = TRUE;
  gint64 t0, t1;

  t0 = now_ns ();
  for (guint64 i = 1; ok && i <= p->n; i++)
    {
      ok = bound_ingest_event (&b, 1, i, format_id (title, "task-", i), T0 + (gint64) i);
      if (ok && task_completed (i))
        ok = bound_ingest_event (&b, 3, i, NULL, T0 + (gint64) (p->n + i));
    }
  t1 = now_ns ();
  if (ok)
    out[0] = rate (task_events (p->n), t1 - t0);
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the ingest bound failed");

  g_free (b.by_id);
  bound_log_clear (&b.log);
  return ok;
}

#ifdef NETDB_BENCH_HAVE_MEMORIES
static gboolean
netdb_memories_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  Netdb db;
  gboolean ok = FALSE;
  gint64 t0, t1;

  if (!netdb_open (&db, NULL, FALSE, TRUE, error))
    return FALSE;
  t0 = now_ns ();
  if (!netdb_populate_memories (db.memories, p->n, error))
    goto out;
  drain_main_context ();
  t1 = now_ns ();
  if (!check_count ("memories", net_db_memories_count (db.memories, NULL), p->n, error))
    goto out;
  out[0] = rate (p->n, t1 - t0);
  ok = TRUE;

out:
  netdb_close (&db);
  return ok;
}

static gboolean
sqlite_memories_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  Sq sq;
  gboolean ok;
  gint64 t0, t1;

  if (!sq_new (&sq, error))
    return FALSE;
  t0 = now_ns ();
  ok = sq_populate (&sq, p->n, FALSE, TRUE, SQ_TXN_ROWS, error);
  t1 = now_ns ();
  if (ok)
    out[0] = rate (p->n, t1 - t0);
  sq_close (&sq);
  return ok;
}
#endif

#ifdef NETDB_BENCH_HAVE_MEMORIES
/* The physical bound of memories/ingest (its "(bound)" row): the least
 * store that keeps the API contract, the log format and the memories'
 * indexes.  Per store: the UTF-8 of the content, of each tag (not empty)
 * and of the source checked, the event encoded as netdb does and appended
 * to the tasks bound's in-memory log, then folded from the values it
 * encoded (what a store can do with its own writes: no decode): one
 * block holds the entry and its texts (carved out of a huge page as the
 * tasks bound's), in an id-indexed array, and the
 * memory joins the set of its source and the set of each tag (keyed by
 * the tag folded: ASCII without upper case is its own key), sets found by
 * key in an open-addressed table, each an array of its entries in id
 * order (ids come in ascending order: an append).  No index by time, no
 * notification, no lock: a lower bound. */
typedef struct
{
  guint64     id;
  gint64      created;
  gint64      updated;
  gpointer    item;       /* its object while one exists */
  const char *source;     /* in texts, or NULL */
  guint       n_tags;
  gboolean    pinned;
  char        texts[];    /* the content, the source, each tag: NUL-terminated */
} BoundMemory;

typedef struct
{
  char         *key;
  BoundMemory **members;
  gsize         len, cap;
} BoundSet;

/* The slots of a set table (the population has three keys). */
#define BOUND_SET_SLOTS 64

typedef struct
{
  BoundSet *slots[BOUND_SET_SLOTS];
  guint     n;
} BoundSetTable;

typedef struct
{
  BoundLog       log;
  BoundMemory  **by_id;
  gsize          cap_id;
  BoundSetTable  tags, sources;
} MemoriesBound;

/* Adds @m to the set of @key (@len bytes) in @table. */
static void
bound_set_add (BoundSetTable *table, const char *key, gsize len, BoundMemory *m)
{
  guint32 h = 2166136261u;
  BoundSet *set;
  guint i;

  for (gsize k = 0; k < len; k++)
    h = (h ^ (guchar) key[k]) * 16777619u;
  for (i = h % BOUND_SET_SLOTS;
       (set = table->slots[i]) != NULL && (strncmp (set->key, key, len) != 0 || set->key[len] != '\0');
       i = (i + 1) % BOUND_SET_SLOTS)
    ;
  if (set == NULL)
    {
      g_assert (++table->n < BOUND_SET_SLOTS);
      set = table->slots[i] = g_new0 (BoundSet, 1);
      set->key = g_strndup (key, len);
    }
  if (set->len == set->cap)
    {
      set->cap = MAX (set->cap * 2, 64);
      set->members = g_renew (BoundMemory *, set->members, set->cap);
    }
  set->members[set->len++] = m;
}

static void
bound_set_table_clear (BoundSetTable *table)
{
  for (guint i = 0; i < BOUND_SET_SLOTS; i++)
    if (table->slots[i] != NULL)
      {
        g_free (table->slots[i]->members);
        g_free (table->slots[i]->key);
        g_free (table->slots[i]);
      }
}

static gboolean
bound_store_memory (MemoriesBound *b, guint64 id, const char *content, const char * const *tags,
                    const char *source, gint64 ts)
{
  guint8 ev[512];
  guint8 *p = ev + 24;
  const char *end;
  gsize content_len, source_len = 0, tags_len = 0, tag_len[4];
  guint n_tags;
  BoundMemory *m;
  char *t;
  gpointer *slot;

  /* Check. */
  if (!g_utf8_validate (content, -1, &end))
    return FALSE;
  content_len = end - content;
  if (source != NULL)
    {
      if (!g_utf8_validate (source, -1, &end))
        return FALSE;
      source_len = end - source;
    }
  for (n_tags = 0; tags[n_tags] != NULL; n_tags++)
    {
      g_assert (n_tags < G_N_ELEMENTS (tag_len));
      if (!g_utf8_validate (tags[n_tags], -1, &end) || end == tags[n_tags])
        return FALSE;
      tag_len[n_tags] = end - tags[n_tags];
      tags_len += tag_len[n_tags] + 1;
    }
  g_assert (content_len + source_len + tags_len < 256);

  /* Encode and append: version, then id, content, tags, source, ts. */
  *p++ = 1;
  *p++ = 1 << 3;
  p = bound_put_varint (p, id);
  p = bound_put_bytes (p, 2, content, content_len);
  for (guint i = 0; i < n_tags; i++)
    p = bound_put_bytes (p, 4, tags[i], tag_len[i]);
  if (source != NULL)
    p = bound_put_bytes (p, 5, source, source_len);
  p = bound_put_ts (p, 3, ts);
  bound_log_append (&b->log, ev, p - ev, 1);

  /* Fold: the entry with its texts, then its sets. */
  m = bound_entry_alloc (&b->log, sizeof (BoundMemory) + content_len + 1 + (source != NULL ? source_len + 1 : 0) + tags_len);
  m->id = id;
  m->created = m->updated = ts;
  m->item = NULL;
  m->pinned = FALSE;
  m->n_tags = n_tags;
  t = (char *) memcpy (m->texts, content, content_len + 1) + content_len + 1;
  m->source = NULL;
  if (source != NULL)
    {
      m->source = t;
      t = (char *) memcpy (t, source, source_len + 1) + source_len + 1;
    }
  slot = bound_id_slot ((gpointer **) &b->by_id, &b->cap_id, id);
  g_assert (*slot == NULL);
  *slot = m;

  bound_set_add (&b->sources, source != NULL ? source : "", source_len, m);
  for (guint i = 0; i < n_tags; i++)
    {
      const char *q;

      t = (char *) memcpy (t, tags[i], tag_len[i] + 1) + tag_len[i] + 1;
      for (q = tags[i]; *q != '\0'; q++)
        if ((guchar) *q >= 0x80 || g_ascii_isupper (*q))
          return FALSE;   /* a key of its own: not in this population */
      bound_set_add (&b->tags, tags[i], tag_len[i], m);
    }
  return TRUE;
}

static gboolean
bound_memories_ingest_run (gpointer data, double *out, GError **error)
{
  SizeParams *p = data;
  MemoriesBound *b = g_new0 (MemoriesBound, 1);
  char content[32];
  gboolean ok = TRUE;
  gint64 t0, t1;

  b->log = (BoundLog) BOUND_LOG_INIT;
  t0 = now_ns ();
  for (guint64 i = 1; ok && i <= p->n; i++)
    {
      const char *tags[] = { memory_tag (i), NULL };

      ok = bound_store_memory (b, i, format_id (content, "memory-", i), tags, "bench", T0 + (gint64) i);
    }
  t1 = now_ns ();
  if (ok)
    out[0] = rate (p->n, t1 - t0);
  else
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the memories ingest bound failed");

  g_free (b->by_id);
  bound_set_table_clear (&b->tags);
  bound_set_table_clear (&b->sources);
  bound_log_clear (&b->log);
  g_free (b);
  return ok;
}
#endif

/* ------------------------------------------------------------------ */
/* Memory per task                                                     */

/* Each run is a fresh process (this program with --memory-probe, see
 * memory_probe_run()). */

static gboolean
netdb_tasks_populate_cb (gpointer ctx, guint64 n, GError **error)
{
  return netdb_populate_tasks (ctx, n, error);
}

static gboolean
netdb_tasks_memory_probe (guint64 n, double *out, GError **error)
{
  char *dir = g_strdup_printf ("%s/netdb-memory-%u", root, root_counter++);
  Netdb db;
  gboolean ok = FALSE;

  if (netdb_open (&db, dir, TRUE, FALSE, error))
    {
      ok = heap_growth_per_record (netdb_tasks_populate_cb, db.tasks, n, mean_title_len (n), out, error) &&
           check_count ("tasks", net_db_tasks_count (db.tasks, NULL), n, error);
      netdb_close (&db);
    }
  rm_rf (dir);
  g_free (dir);
  return ok;
}

/* The whole db in memory, log included: net_db_new (NULL, ...). */
static gboolean
netdb_mem_tasks_memory_probe (guint64 n, double *out, GError **error)
{
  NetDb *db = net_db_new (NULL, NET_DB_MODELS_TASKS, error);
  NetDbTasks *tasks;
  gboolean ok;

  if (db == NULL)
    return FALSE;
  tasks = net_db_get_tasks (db);
  ok = heap_growth_per_record (netdb_tasks_populate_cb, tasks, n, mean_title_len (n), out, error) &&
       check_count ("tasks", net_db_tasks_count (tasks, NULL), n, error);
  net_db_close (db, NULL);
  g_object_unref (db);
  drain_main_context ();
  return ok;
}

static gboolean
sqlite_tasks_populate_cb (gpointer ctx, guint64 n, GError **error)
{
  return sq_populate (ctx, n, TRUE, FALSE, SQ_TXN_ROWS, error);
}

static gboolean
sqlite_tasks_memory_probe (guint64 n, double *out, GError **error)
{
  Sq sq;
  gboolean ok;

  if (!sq_new (&sq, error))
    return FALSE;
  ok = heap_growth_per_record (sqlite_tasks_populate_cb, &sq, n, mean_title_len (n), out, error);
  sq_close (&sq);
  return ok;
}

/* The child's side: "IMPL:N" (the tasks), "notes-IMPL:N" (the notes of
 * bench-collections.c). */
static int
memory_probe_main (const char *spec)
{
  char **parts = g_strsplit (spec, ":", 2);
  GError *error = NULL;
  guint64 n = 0;
  double v = NAN;
  gboolean ok = FALSE;

  if (g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXUINT32, &n, &error))
    g_printerr ("%s: --memory-probe wants [notes-]IMPL:N\n", bench.prog);
  else if (g_str_equal (parts[0], "netdb"))
    ok = netdb_tasks_memory_probe (n, &v, &error);
  else if (g_str_equal (parts[0], "netdb-mem"))
    ok = netdb_mem_tasks_memory_probe (n, &v, &error);
  else if (g_str_equal (parts[0], "sqlite"))
    ok = sqlite_tasks_memory_probe (n, &v, &error);
  else if (g_str_has_prefix (parts[0], "notes-"))
    ok = bench_collections_memory_probe (parts[0] + strlen ("notes-"), n, root, &v, &error);
  else
    g_printerr ("%s: --memory-probe: no implementation %s\n", bench.prog, parts[0]);

  if (ok)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_print ("%s\n", g_ascii_dtostr (buf, sizeof buf, v));
    }
  else if (error != NULL)
    g_printerr ("%s: %s\n", bench.prog, error->message);
  g_clear_error (&error);
  g_strfreev (parts);
  return ok ? 0 : 1;
}

static gboolean
netdb_tasks_memory_run (gpointer data, double *out, GError **error)
{
  g_autofree char *spec = g_strdup_printf ("netdb:%" G_GUINT64_FORMAT, ((SizeParams *) data)->n);

  return memory_probe_run (root, spec, &out[0], error);
}

static gboolean
netdb_mem_tasks_memory_run (gpointer data, double *out, GError **error)
{
  g_autofree char *spec = g_strdup_printf ("netdb-mem:%" G_GUINT64_FORMAT, ((SizeParams *) data)->n);

  return memory_probe_run (root, spec, &out[0], error);
}

static gboolean
sqlite_tasks_memory_run (gpointer data, double *out, GError **error)
{
  g_autofree char *spec = g_strdup_printf ("sqlite:%" G_GUINT64_FORMAT, ((SizeParams *) data)->n);

  return memory_probe_run (root, spec, &out[0], error);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

/* The physical bounds of tasks/get and tasks/find_many(status): what any
 * implementation of the API contract pays at the same N, measured in the
 * same run (the "(bound)" rows).  The state is the least a store can
 * keep: one entry per task (id, times, status, title inline, and a
 * pointer to its object while one exists), allocated in id order, with a
 * perfect index by id (the entry of id i at [i - 1]) and the pending
 * entries in one sorted array.  A result is an object of a GObject type
 * shaped like NetTask (five read-only properties, a dispose, its title
 * copied), made only when its entry has none, and kept as the models'
 * documented cache of recent items keeps them (a reference to at most
 * 65536 of them, or as many as the largest result, until idle: here
 * until the cell ends; they are freed after it, untimed).  An object not
 * kept goes with the caller's unref, as a task nobody holds does. */
typedef struct
{
  GObject   parent_instance;
  gpointer  table;       /* a registry link, as NetTask's */
  gpointer  entry;       /* its BoundEntry */
  guint64   id;
  gboolean  recent;
  char     *title;
  gint64    created_at;
  gint64    updated_at;
  guint     status;
  guint     pending_notify;
} BoundTask;

typedef GObjectClass BoundTaskClass;

GType bound_task_get_type (void);
G_DEFINE_FINAL_TYPE (BoundTask, bound_task, G_TYPE_OBJECT)

static void
bound_task_dispose (GObject *object)
{
  ((BoundTask *) object)->table = NULL;
  G_OBJECT_CLASS (bound_task_parent_class)->dispose (object);
}

static void
bound_task_finalize (GObject *object)
{
  g_free (((BoundTask *) object)->title);
  G_OBJECT_CLASS (bound_task_parent_class)->finalize (object);
}

static void
bound_task_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BoundTask *self = (BoundTask *) object;

  switch (prop_id)
    {
    case 1: g_value_set_uint64 (value, self->id); break;
    case 2: g_value_set_string (value, self->title); break;
    case 3: g_value_set_uint (value, self->status); break;
    case 4: g_value_set_int64 (value, self->created_at); break;
    case 5: g_value_set_int64 (value, self->updated_at); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bound_task_class_init (BoundTaskClass *klass)
{
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  GParamSpec *props[6] = { NULL, };

  klass->dispose = bound_task_dispose;
  klass->finalize = bound_task_finalize;
  klass->get_property = bound_task_get_property;
  props[1] = g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  props[2] = g_param_spec_string ("title", NULL, NULL, "", flags);
  props[3] = g_param_spec_uint ("status", NULL, NULL, 0, 1, 0, flags);
  props[4] = g_param_spec_int64 ("created-at", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  props[5] = g_param_spec_int64 ("updated-at", NULL, NULL, G_MININT64, G_MAXINT64, 0, flags);
  g_object_class_install_properties (klass, G_N_ELEMENTS (props), props);
}

static void
bound_task_init (BoundTask *self)
{
}

typedef struct
{
  guint64      n;
  BoundEntry **by_id;      /* the entry of id i at [i - 1] */
  BoundEntry **pending;    /* the pending entries, by id */
  guint        n_pending;
  GPtrArray   *kept;       /* the objects made (a reference each) */
  guint        kept_max;   /* how many it may hold */
} Bound;

#define BOUND_KEPT_MIN (1 << 16)   /* NET_TABLE_RECENT_MIN */

static void
bound_init (Bound *b, guint64 n)
{
  char title[32];

  b->n = n;
  b->by_id = g_new (BoundEntry *, n);
  b->pending = g_new (BoundEntry *, pending_count (n));
  b->n_pending = 0;
  b->kept = g_ptr_array_new_with_free_func (g_object_unref);
  b->kept_max = BOUND_KEPT_MIN;
  for (guint64 i = 1; i <= n; i++)
    {
      const char *t = format_id (title, "task-", i);
      gsize len = strlen (t);
      BoundEntry *e = g_malloc (G_STRUCT_OFFSET (BoundEntry, title) + len + 1);

      e->id = i;
      e->created = T0 + (gint64) i;
      e->status = task_completed (i);
      e->updated = task_completed (i) ? T0 + (gint64) (n + i) : e->created;
      e->item = NULL;
      memcpy (e->title, t, len + 1);
      b->by_id[i - 1] = e;
      if (!task_completed (i))
        b->pending[b->n_pending++] = e;
    }
}

/* Frees the objects kept (after a cell, untimed). */
static void
bound_release (Bound *b)
{
  if (b->by_id == NULL)
    return;
  for (guint i = 0; i < b->kept->len; i++)
    ((BoundEntry *) ((BoundTask *) g_ptr_array_index (b->kept, i))->entry)->item = NULL;
  g_ptr_array_set_size (b->kept, 0);
  b->kept_max = BOUND_KEPT_MIN;
}

static void
bound_clear (Bound *b)
{
  if (b->by_id == NULL)
    return;
  bound_release (b);
  g_ptr_array_unref (b->kept);
  for (guint64 i = 0; i < b->n; i++)
    g_free (b->by_id[i]);
  g_clear_pointer (&b->by_id, g_free);
  g_clear_pointer (&b->pending, g_free);
}

/* The object of @e (transfer full): the one that exists, or a new one. */
static inline gpointer
bound_ref (Bound *b, BoundEntry *e)
{
  BoundTask *t = e->item;

  if (G_LIKELY (t != NULL))
    return g_object_ref (t);
  t = g_object_new (bound_task_get_type (), NULL);
  t->id = e->id;
  t->entry = e;   /* for bound_release() */
  t->title = g_strdup (e->title);
  t->status = e->status;
  t->created_at = e->created;
  t->updated_at = e->updated;
  if (b->kept->len >= b->kept_max)
    return t;
  e->item = t;
  g_ptr_array_add (b->kept, t);
  return g_object_ref (t);
}

/* Both stores, populated once per size, and the ids that get looks up. */
typedef struct
{
  guint64            n;
  Netdb              netdb;
  Sq                 sq;
  guint64           *ids;
  NetTasksFilter    *pending;
  NetTasksFilter    *pending_newest;
  NetMemoriesFilter *alpha;
  NetMemoriesFilter *alpha_first;
  Bound              bound;   /* when a (bound) row is measured */
} QueryEnv;

typedef struct
{
  QueryEnv *env;
  OpsFunc   ops;
  gboolean  idle;   /* the main context idle before each operation */
} QueryCase;

/* The operations of a QueryCase, each after the main context went idle:
 * the model lets go of the items its queries returned then (its cache of
 * recent items), so every netdb result is an object made for it.  SQLite
 * iterates the same (empty) context. */
static gboolean
idle_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryCase *q = ctx;

  for (guint64 i = first; i < first + count; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (!q->ops (q->env, i, 1, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
query_run (gpointer data, double *out, GError **error)
{
  QueryCase *q = data;

  if (q->idle)
    return time_ops (idle_ops, q, QUERY_BUDGET_MS, &out[0], error);
  return time_ops (q->ops, q->env, QUERY_BUDGET_MS, &out[0], error);
}

static gboolean
netdb_get_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;

  for (guint64 i = first; i < first + count; i++)
    {
      NetTask *task = net_db_tasks_get (env->netdb.tasks, env->ids[i % IDS_LEN]);

      if (G_UNLIKELY (task == NULL))
        return check_count ("get", 0, 1, error);
      g_object_unref (task);
    }
  return TRUE;
}

static gboolean
sqlite_get_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_TASK_GET];

  for (guint64 i = first; i < first + count; i++)
    {
      int rc;

      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) env->ids[i % IDS_LEN]);
      rc = sqlite3_step (stmt);
      if (G_UNLIKELY (rc != SQLITE_ROW))
        {
          sqlite3_reset (stmt);
          return sq_error (env->sq.db, error, "get");
        }
      sq_task_free (sq_task_read (stmt));
      sqlite3_reset (stmt);
    }
  return TRUE;
}

/* The bound of get: the entry of the id from the perfect index, its
 * object, released. */
static gboolean
bound_get_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  Bound *b = &env->bound;

  for (guint64 i = first; i < first + count; i++)
    g_object_unref (bound_ref (b, b->by_id[env->ids[i % IDS_LEN] - 1]));
  return TRUE;
}

/* The bound of find_many(status): the object of each pending entry in a
 * GPtrArray of the right size, the array freed. */
static gboolean
bound_find_status_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  Bound *b = &env->bound;

  if (b->n_pending >= b->kept_max)
    b->kept_max = b->n_pending + 1;
  for (guint64 i = 0; i < count; i++)
    {
      GPtrArray *result = g_ptr_array_new_full (b->n_pending, g_object_unref);

      for (guint k = 0; k < b->n_pending; k++)
        g_ptr_array_add (result, bound_ref (b, b->pending[k]));
      g_ptr_array_unref (result);
    }
  return TRUE;
}

typedef struct
{
  QueryEnv *env;
  OpsFunc   ops;
} BoundCase;

static gboolean
bound_run (gpointer data, double *out, GError **error)
{
  BoundCase *c = data;

  if (c->env->bound.by_id == NULL)
    bound_init (&c->env->bound, c->env->n);
  return time_ops (c->ops, c->env, QUERY_BUDGET_MS, &out[0], error);
}

static gboolean
netdb_count_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  guint64 expected = pending_count (env->n);

  for (guint64 i = 0; i < count; i++)
    if (G_UNLIKELY (net_db_tasks_count (env->netdb.tasks, env->pending) != expected))
      return check_count ("count", net_db_tasks_count (env->netdb.tasks, env->pending), expected, error);
  return TRUE;
}

static gboolean
sqlite_count_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_TASK_COUNT_STATUS];
  guint64 expected = pending_count (env->n);

  sqlite3_bind_int (stmt, 1, NET_TASK_STATUS_PENDING);
  for (guint64 i = 0; i < count; i++)
    {
      guint64 got;

      if (sqlite3_step (stmt) != SQLITE_ROW)
        {
          sqlite3_reset (stmt);
          return sq_error (env->sq.db, error, "count");
        }
      got = (guint64) sqlite3_column_int64 (stmt, 0);
      sqlite3_reset (stmt);
      if (G_UNLIKELY (got != expected))
        return check_count ("count", got, expected, error);
    }
  return TRUE;
}

/* find_many with @filter, expecting @expected results; the array is freed
 * (each result released) as part of the operation. */
static gboolean
netdb_tasks_find_ops (QueryEnv *env, NetTasksFilter *filter, guint64 expected, guint64 count, GError **error)
{
  for (guint64 i = 0; i < count; i++)
    {
      GPtrArray *result = net_db_tasks_find_many (env->netdb.tasks, filter);
      guint64 len = result->len;

      g_ptr_array_unref (result);
      if (G_UNLIKELY (len != expected))
        return check_count ("find_many", len, expected, error);
    }
  return TRUE;
}

static gboolean
sqlite_find_ops (QueryEnv *env, sqlite3_stmt *stmt, SqReadFunc read, GDestroyNotify free_func,
                 guint64 expected, guint64 count, GError **error)
{
  for (guint64 i = 0; i < count; i++)
    {
      GPtrArray *result = sq_collect (env->sq.db, stmt, read, free_func, error);
      guint64 len;

      if (result == NULL)
        return FALSE;
      len = result->len;
      g_ptr_array_unref (result);
      if (G_UNLIKELY (len != expected))
        return check_count ("find_many", len, expected, error);
    }
  return TRUE;
}

static gboolean
netdb_find_status_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;

  return netdb_tasks_find_ops (env, env->pending, pending_count (env->n), count, error);
}

static gboolean
sqlite_find_status_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_TASK_FIND_STATUS];

  sqlite3_bind_int (stmt, 1, NET_TASK_STATUS_PENDING);
  return sqlite_find_ops (env, stmt, sq_task_read, sq_task_free,
                          pending_count (env->n), count, error);
}

static gboolean
netdb_find_newest_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;

  return netdb_tasks_find_ops (env, env->pending_newest, MIN (LIMIT, pending_count (env->n)), count, error);
}

static gboolean
sqlite_find_newest_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_TASK_FIND_STATUS_CREATED_DESC];

  sqlite3_bind_int (stmt, 1, NET_TASK_STATUS_PENDING);
  sqlite3_bind_int (stmt, 2, LIMIT);
  return sqlite_find_ops (env, stmt, sq_task_read, sq_task_free,
                          MIN (LIMIT, pending_count (env->n)), count, error);
}

#ifdef NETDB_BENCH_HAVE_MEMORIES
static gboolean
netdb_memories_find_ops (QueryEnv *env, NetMemoriesFilter *filter, guint64 expected, guint64 count,
                         GError **error)
{
  for (guint64 i = 0; i < count; i++)
    {
      GPtrArray *result = net_db_memories_find_many (env->netdb.memories, filter);
      guint64 len = result->len;

      g_ptr_array_unref (result);
      if (G_UNLIKELY (len != expected))
        return check_count ("find_many", len, expected, error);
    }
  return TRUE;
}

static gboolean
netdb_find_tag_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;

  return netdb_memories_find_ops (env, env->alpha, alpha_count (env->n), count, error);
}

static gboolean
netdb_find_tag_limit_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;

  return netdb_memories_find_ops (env, env->alpha_first, MIN (LIMIT, alpha_count (env->n)), count, error);
}

static gboolean
sqlite_find_tag_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_MEMORY_FIND_TAG];

  sqlite3_bind_text (stmt, 1, "alpha", -1, SQLITE_STATIC);
  return sqlite_find_ops (env, stmt, sq_memory_read, sq_memory_free,
                          alpha_count (env->n), count, error);
}

static gboolean
sqlite_find_tag_limit_ops (gpointer ctx, guint64 first, guint64 count, GError **error)
{
  QueryEnv *env = ctx;
  sqlite3_stmt *stmt = env->sq.stmt[SQ_MEMORY_FIND_TAG_LIMIT];

  sqlite3_bind_text (stmt, 1, "alpha", -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 2, LIMIT);
  return sqlite_find_ops (env, stmt, sq_memory_read, sq_memory_free,
                          MIN (LIMIT, alpha_count (env->n)), count, error);
}
#endif

/* Spot checks that the population is what the workloads expect. */
static gboolean
check_population (NetDbTasks *tasks, guint64 n, GError **error)
{
  char title[32];

  for (guint64 i = 1; i <= n; i += MAX (n / 7, 1))
    {
      NetTask *task = net_db_tasks_get (tasks, i);
      gboolean ok = task != NULL &&
                    g_str_equal (net_task_get_title (task), format_id (title, "task-", i)) &&
                    net_task_get_status (task) == (task_completed (i) ? NET_TASK_STATUS_COMPLETED
                                                                      : NET_TASK_STATUS_PENDING) &&
                    net_task_get_created_at (task) == T0 + (gint64) i;

      g_clear_object (&task);
      if (!ok)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "task %" G_GUINT64_FORMAT " is not as created", i);
          return FALSE;
        }
    }
  return TRUE;
}

static void
query_env_clear (QueryEnv *env)
{
  netdb_close (&env->netdb);
  sq_close (&env->sq);
  g_clear_pointer (&env->ids, g_free);
  g_clear_object (&env->pending);
  g_clear_object (&env->pending_newest);
  g_clear_object (&env->alpha);
  g_clear_object (&env->alpha_first);
  bound_clear (&env->bound);
}

static gboolean
query_env_init (QueryEnv *env, guint64 n, gboolean memories, GError **error)
{
  guint64 x = G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);

  memset (env, 0, sizeof *env);
  env->n = n;

  env->ids = g_new (guint64, IDS_LEN);
  for (guint i = 0; i < IDS_LEN; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      env->ids[i] = 1 + x % n;
    }

  env->pending = g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING, NULL);
  env->pending_newest = g_object_new (NET_TYPE_TASKS_FILTER,
                                      "status", NET_TASK_STATUS_PENDING,
                                      "order-by", NET_ORDER_BY_CREATED_DESC,
                                      "limit", LIMIT,
                                      NULL);
  env->alpha = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "alpha", NULL);
  env->alpha_first = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "alpha", "limit", LIMIT, NULL);

  if (!netdb_open (&env->netdb, NULL, TRUE, memories, error) ||
      !netdb_populate_tasks (env->netdb.tasks, n, error))
    goto fail;
#ifdef NETDB_BENCH_HAVE_MEMORIES
  if (memories && !netdb_populate_memories (env->netdb.memories, n, error))
    goto fail;
#endif
  drain_main_context ();
  if (!check_population (env->netdb.tasks, n, error))
    goto fail;

  if (!bench.no_baselines &&
      (!sq_new (&env->sq, error) ||
       !sq_populate (&env->sq, n, TRUE, memories, SQ_TXN_ROWS, error) ||
       !sq_analyze (&env->sq, error)))
    goto fail;
  return TRUE;

fail:
  query_env_clear (env);
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* One population size                                                 */

/* In print order; the queries share one populated fixture. */
enum
{
  ROW_TASKS_INGEST,
  ROW_TASKS_INGEST_BOUND,
  ROW_MEMORIES_INGEST,
  ROW_MEMORIES_INGEST_BOUND,
  ROW_TASKS_GET,            /* first query */
  ROW_TASKS_GET_BOUND,
  ROW_TASKS_GET_IDLE,
  ROW_TASKS_COUNT,
  ROW_TASKS_FIND_STATUS,
  ROW_TASKS_FIND_STATUS_BOUND,
  ROW_TASKS_FIND_STATUS_IDLE,
  ROW_TASKS_FIND_NEWEST,
  ROW_MEMORIES_FIND_TAG,    /* first memories query */
  ROW_MEMORIES_FIND_TAG_LIMIT,
  ROW_TASKS_MEMORY,         /* after the queries */
  ROW_TASKS_MEMORY_IN_MEMORY,
  N_SIZE_ROWS
};

static const char *const size_row_names[N_SIZE_ROWS] = {
  [ROW_TASKS_INGEST] = "tasks/ingest",
  [ROW_TASKS_INGEST_BOUND] = "tasks/ingest(bound)",
  [ROW_TASKS_GET] = "tasks/get",
  [ROW_TASKS_GET_BOUND] = "tasks/get(bound)",
  [ROW_TASKS_GET_IDLE] = "tasks/get(idle)",
  [ROW_TASKS_COUNT] = "tasks/count(status)",
  [ROW_TASKS_FIND_STATUS] = "tasks/find_many(status)",
  [ROW_TASKS_FIND_STATUS_BOUND] = "tasks/find_many(status,bound)",
  [ROW_TASKS_FIND_STATUS_IDLE] = "tasks/find_many(status,idle)",
  [ROW_TASKS_FIND_NEWEST] = "tasks/find_many(status,created_desc,50)",
  [ROW_TASKS_MEMORY] = "tasks/memory",
  [ROW_TASKS_MEMORY_IN_MEMORY] = "tasks/memory(in-memory)",
  [ROW_MEMORIES_INGEST] = "memories/ingest",
  [ROW_MEMORIES_INGEST_BOUND] = "memories/ingest(bound)",
  [ROW_MEMORIES_FIND_TAG] = "memories/find_many(tag)",
  [ROW_MEMORIES_FIND_TAG_LIMIT] = "memories/find_many(tag,50)",
};

static void
measure2 (Row *row, gpointer data, MeasureFunc netdb_func, MeasureFunc sqlite_func)
{
  Job jobs[N_IMPL] = {
    { &row, 1, IMPL_NETDB, netdb_func, data },
    { &row, 1, IMPL_SQLITE, sqlite_func, data },
  };

  run_jobs (jobs, N_IMPL);
}

/* An ingest row (netdb and sqlite) and its bound (the netdb column of
 * @bound_row), interleaved; either row may be NULL (not selected). */
static void
measure_ingest (Row **row, Row **bound_row, SizeParams *p, MeasureFunc netdb_func,
                MeasureFunc sqlite_func, MeasureFunc bound_func)
{
  Job jobs[N_IMPL + 1];
  guint n_jobs = 0;

  if (*row != NULL)
    {
      jobs[n_jobs++] = (Job) { row, 1, IMPL_NETDB, netdb_func, p };
      jobs[n_jobs++] = (Job) { row, 1, IMPL_SQLITE, sqlite_func, p };
    }
  if (*bound_row != NULL)
    jobs[n_jobs++] = (Job) { bound_row, 1, IMPL_NETDB, bound_func, p };
  if (n_jobs == 0)
    return;
  run_jobs (jobs, n_jobs);
  row_finish (*row);
  row_finish (*bound_row);
}

static void
measure_query_full (Row *row, QueryEnv *env, OpsFunc netdb_ops, OpsFunc sqlite_ops, gboolean idle)
{
  QueryCase netdb_case = { env, netdb_ops, idle };
  QueryCase sqlite_case = { env, sqlite_ops, idle };
  Job jobs[N_IMPL] = {
    { &row, 1, IMPL_NETDB, query_run, &netdb_case },
    { &row, 1, IMPL_SQLITE, query_run, &sqlite_case },
  };

  run_jobs (jobs, N_IMPL);
  row_finish (row);
}

/* measure_query(), and the bound of the same query into @bound_row (its
 * netdb column), interleaved with them. */
static void
measure_query_bound (Row *row, Row *bound_row, QueryEnv *env, OpsFunc netdb_ops, OpsFunc sqlite_ops,
                     OpsFunc bound_ops)
{
  QueryCase netdb_case = { env, netdb_ops, FALSE };
  QueryCase sqlite_case = { env, sqlite_ops, FALSE };
  BoundCase bound_case = { env, bound_ops };
  Job jobs[N_IMPL + 1] = {
    { &row, 1, IMPL_NETDB, query_run, &netdb_case },
    { &row, 1, IMPL_SQLITE, query_run, &sqlite_case },
    { &bound_row, 1, IMPL_NETDB, bound_run, &bound_case },
  };

  run_jobs (jobs, N_IMPL + 1);
  bound_release (&env->bound);
  row_finish (row);
  row_finish (bound_row);
}

static void
measure_query (Row *row, QueryEnv *env, OpsFunc netdb_ops, OpsFunc sqlite_ops)
{
  measure_query_full (row, env, netdb_ops, sqlite_ops, FALSE);
}

static void
workload_size (guint64 n)
{
  Row *rows[N_SIZE_ROWS];
  SizeParams p = { n };
  QueryEnv env;
  GError *error = NULL;
  gboolean have_memories = FALSE;
  g_autofree char *label = size_label (n);

#ifdef NETDB_BENCH_HAVE_MEMORIES
  have_memories = TRUE;
#endif

  for (guint r = 0; r < N_SIZE_ROWS; r++)
    {
      char *id = g_strdup_printf ("%s/%s", size_row_names[r], label);
      Kind kind = r == ROW_TASKS_INGEST || r == ROW_TASKS_INGEST_BOUND || r == ROW_MEMORIES_INGEST ||
                  r == ROW_MEMORIES_INGEST_BOUND ? KIND_RATE
                : r == ROW_TASKS_MEMORY || r == ROW_TASKS_MEMORY_IN_MEMORY ? KIND_BYTES : KIND_NS;
      gboolean is_memories = r == ROW_MEMORIES_INGEST || r == ROW_MEMORIES_INGEST_BOUND ||
                             r == ROW_MEMORIES_FIND_TAG || r == ROW_MEMORIES_FIND_TAG_LIMIT;

      rows[r] = is_memories && !have_memories ? NULL : row_new (id, kind, kind == KIND_RATE);
      g_free (id);
    }

  row_set_target (rows[ROW_TASKS_INGEST], TARGET_MIN, 2e6);
  row_set_target (rows[ROW_TASKS_GET], TARGET_MAX, 50);
  row_set_target (rows[ROW_TASKS_COUNT], TARGET_MAX, 100);
  if (n == 10000)
    row_set_target (rows[ROW_TASKS_FIND_STATUS], TARGET_MAX, 100e3);
  row_set_target (rows[ROW_TASKS_FIND_NEWEST], TARGET_MAX, 20e3);
  /* Issue 15: at most SQLite's, in the same run. */
  row_set_target (rows[ROW_TASKS_MEMORY], TARGET_VS_MIN, 1.0);
  row_set_target (rows[ROW_TASKS_MEMORY_IN_MEMORY], TARGET_VS_MIN, 0.5);
  row_set_target (rows[ROW_MEMORIES_INGEST], TARGET_MIN, 2e6);

  measure_ingest (&rows[ROW_TASKS_INGEST], &rows[ROW_TASKS_INGEST_BOUND], &p,
                  netdb_tasks_ingest_run, sqlite_tasks_ingest_run, bound_tasks_ingest_run);
#ifdef NETDB_BENCH_HAVE_MEMORIES
  measure_ingest (&rows[ROW_MEMORIES_INGEST], &rows[ROW_MEMORIES_INGEST_BOUND], &p,
                  netdb_memories_ingest_run, sqlite_memories_ingest_run, bound_memories_ingest_run);
#endif

  if (any_row (&rows[ROW_TASKS_GET], ROW_TASKS_MEMORY - ROW_TASKS_GET))
    {
      gboolean memories = any_row (&rows[ROW_MEMORIES_FIND_TAG], ROW_TASKS_MEMORY - ROW_MEMORIES_FIND_TAG);

      if (!query_env_init (&env, n, memories, &error))
        {
          g_printerr ("%s: queries over %s: %s\n", bench.prog, label, error->message);
          g_clear_error (&error);
          bench.n_errors++;
          for (guint r = ROW_TASKS_GET; r < ROW_TASKS_MEMORY; r++)
            if (rows[r] != NULL)
              {
                rows[r]->failed[IMPL_NETDB] = TRUE;
                row_finish (rows[r]);
              }
        }
      else
        {
          if (rows[ROW_TASKS_GET] != NULL || rows[ROW_TASKS_GET_BOUND] != NULL)
            measure_query_bound (rows[ROW_TASKS_GET], rows[ROW_TASKS_GET_BOUND], &env,
                                 netdb_get_ops, sqlite_get_ops, bound_get_ops);
          if (rows[ROW_TASKS_GET_IDLE] != NULL)
            measure_query_full (rows[ROW_TASKS_GET_IDLE], &env, netdb_get_ops, sqlite_get_ops, TRUE);
          if (rows[ROW_TASKS_COUNT] != NULL)
            measure_query (rows[ROW_TASKS_COUNT], &env, netdb_count_ops, sqlite_count_ops);
          if (rows[ROW_TASKS_FIND_STATUS] != NULL || rows[ROW_TASKS_FIND_STATUS_BOUND] != NULL)
            measure_query_bound (rows[ROW_TASKS_FIND_STATUS], rows[ROW_TASKS_FIND_STATUS_BOUND], &env,
                                 netdb_find_status_ops, sqlite_find_status_ops, bound_find_status_ops);
          if (rows[ROW_TASKS_FIND_STATUS_IDLE] != NULL)
            measure_query_full (rows[ROW_TASKS_FIND_STATUS_IDLE], &env, netdb_find_status_ops,
                                sqlite_find_status_ops, TRUE);
          if (rows[ROW_TASKS_FIND_NEWEST] != NULL)
            measure_query (rows[ROW_TASKS_FIND_NEWEST], &env, netdb_find_newest_ops, sqlite_find_newest_ops);
#ifdef NETDB_BENCH_HAVE_MEMORIES
          if (rows[ROW_MEMORIES_FIND_TAG] != NULL)
            measure_query (rows[ROW_MEMORIES_FIND_TAG], &env, netdb_find_tag_ops, sqlite_find_tag_ops);
          if (rows[ROW_MEMORIES_FIND_TAG_LIMIT] != NULL)
            measure_query (rows[ROW_MEMORIES_FIND_TAG_LIMIT], &env, netdb_find_tag_limit_ops,
                           sqlite_find_tag_limit_ops);
#endif
          query_env_clear (&env);
        }
    }

  if (rows[ROW_TASKS_MEMORY] != NULL)
    {
      measure2 (rows[ROW_TASKS_MEMORY], &p, netdb_tasks_memory_run, sqlite_tasks_memory_run);
      row_finish (rows[ROW_TASKS_MEMORY]);
    }
  if (rows[ROW_TASKS_MEMORY_IN_MEMORY] != NULL)
    {
      measure2 (rows[ROW_TASKS_MEMORY_IN_MEMORY], &p, netdb_mem_tasks_memory_run, sqlite_tasks_memory_run);
      row_finish (rows[ROW_TASKS_MEMORY_IN_MEMORY]);
    }
}

/* ------------------------------------------------------------------ */
/* The bulk fold                                                       */

typedef struct
{
  guint64    n_tasks;
  GPtrArray *payloads;  /* GBytes*: the encoded events of the population */
} FoldParams;

/* The events of the population, as a first model wrote them. */
static gboolean
fold_setup (FoldParams *p, GError **error)
{
  Netdb db;
  NetRedexFile *file = NULL;
  GPtrArray *events = NULL;
  gboolean ok = FALSE;

  if (!netdb_open (&db, NULL, TRUE, FALSE, error))
    return FALSE;
  if (!netdb_populate_tasks (db.tasks, p->n_tasks, error))
    goto out;
  drain_main_context ();

  file = net_redex_open_file (db.redex, "tasks", NULL, error);
  if (file == NULL)
    goto out;
  events = net_redex_file_read_range (file, 1, net_redex_file_get_next_seq (file), error);
  if (events == NULL || !check_count ("events", events->len, task_events (p->n_tasks), error))
    goto out;

  p->payloads = g_ptr_array_new_full (events->len, (GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < events->len; i++)
    g_ptr_array_add (p->payloads, g_bytes_ref (net_redex_event_get_payload (g_ptr_array_index (events, i))));
  ok = TRUE;

out:
  g_clear_pointer (&events, g_ptr_array_unref);
  g_clear_object (&file);
  netdb_close (&db);
  return ok;
}

static gboolean
netdb_fold_run (gpointer data, double *out, GError **error)
{
  FoldParams *p = data;
  NetRedex *redex;
  NetRedexFile *file = NULL;
  NetDbTasks *tasks = NULL;
  gboolean ok = FALSE;
  gint64 t0, t1;

  redex = net_redex_new (NULL, error);
  if (redex == NULL)
    return FALSE;
  file = net_redex_open_file (redex, "tasks", NULL, error);
  if (file == NULL)
    goto out;
  for (guint i = 0; i < p->payloads->len; i += 4096)
    if (net_redex_file_append_batch (file, (GBytes **) p->payloads->pdata + i,
                                     MIN (4096, p->payloads->len - i), error) == 0)
      goto out;

  t0 = now_ns ();
  tasks = net_db_tasks_new (redex, NULL, ORIGIN_READER, error);
  t1 = now_ns ();
  if (tasks == NULL ||
      !check_count ("folded events", net_db_tasks_get_applied_seq (tasks), p->payloads->len, error) ||
      !check_count ("fold errors", net_db_tasks_get_fold_errors (tasks), 0, error) ||
      !check_count ("tasks", net_db_tasks_count (tasks, NULL), p->n_tasks, error))
    goto out;
  out[0] = rate (p->payloads->len, t1 - t0);
  ok = TRUE;

out:
  if (tasks != NULL)
    net_db_tasks_close (tasks, NULL);
  g_clear_object (&tasks);
  g_clear_object (&file);
  net_redex_close (redex, NULL);
  g_object_unref (redex);
  drain_main_context ();
  return ok;
}

static gboolean
sqlite_fold_run (gpointer data, double *out, GError **error)
{
  FoldParams *p = data;
  Sq sq;
  gboolean ok;
  gint64 t0, t1;

  if (!sq_new (&sq, error))
    return FALSE;
  t0 = now_ns ();
  ok = sq_populate (&sq, p->n_tasks, TRUE, FALSE, 0, error);
  t1 = now_ns ();
  if (ok)
    out[0] = rate (task_events (p->n_tasks), t1 - t0);
  sq_close (&sq);
  return ok;
}

static void
workload_fold (void)
{
  guint64 n_events = bench.quick ? FOLD_EVENTS_QUICK : FOLD_EVENTS;
  FoldParams p = { n_events / 4 * 3, NULL };
  GError *error = NULL;
  g_autofree char *label = size_label (task_events (p.n_tasks));
  char *id = g_strdup_printf ("tasks/fold/%s-events", label);
  Row *row = row_new (id, KIND_RATE, TRUE);

  g_free (id);
  if (row == NULL)
    return;

  if (!fold_setup (&p, &error))
    {
      g_printerr ("%s: %s: %s\n", bench.prog, row->id, error->message);
      g_clear_error (&error);
      bench.n_errors++;
      row->failed[IMPL_NETDB] = TRUE;
    }
  else
    measure2 (row, &p, netdb_fold_run, sqlite_fold_run);
  row_finish (row);
  g_clear_pointer (&p.payloads, g_ptr_array_unref);
}

/* ------------------------------------------------------------------ */

/* Whether a row whose id matches @pattern was measured. */
static gboolean
ran (const char *pattern)
{
  for (guint i = 0; i < bench.rows->len; i++)
    if (g_pattern_match_simple (pattern, ((Row *) g_ptr_array_index (bench.rows, i))->id))
      return TRUE;
  return FALSE;
}

static void
add_notes (void)
{
  note ("population: N tasks, ids 1..N, title \"task-<id>\", created at T0 + id; every third "
        "(id % 3 == 0) completed right after its creation, at T0 + N + id; N memories, "
        "content \"memory-<id>\", source \"bench\", one tag alternating \"alpha\" (odd ids) / "
        "\"beta\". 1k = 1 000, 1M = 1 000 000.");
  if (ran ("*/ingest/*"))
    note ("*/ingest: events/s through the model API on an in-memory NetRedex (fsync NEVER): "
          "net_db_tasks_create() for each task and net_db_tasks_complete() for every third "
          "(N + N/3 events), net_db_memories_store() for each memory (N events); each is "
          "applied before the call returns (read-your-writes); the timed region ends once "
          "the main context has delivered the changes. sqlite: the same rows with prepared "
          "INSERT/UPDATE statements (a memory is a row plus its tag row), one transaction "
          "per 1000 tasks/memories.");
  if (ran ("tasks/get/*"))
    note ("tasks/get: net_db_tasks_get() of a random id (uniform over 1..N, a fixed sequence "
          "of 1M ids) + g_object_unref(). sqlite: SELECT by primary key, the row read into a "
          "malloc'd struct with the title strdup'ed, then freed.");
  if (ran ("tasks/get(bound)/*") || ran ("tasks/find_many(status,bound)/*"))
    note ("*(bound): not netdb: the physical bound of the row above, measured in the same run (its "
          "netdb column; sqlite -): what any implementation of the API contract pays at that N. "
          "The least state a store can keep: one malloc'd entry per task (id, times, status, "
          "title inline, a pointer to its object), in id order, found through a perfect index "
          "(the entry of id i at slot i - 1: one random probe of an N-slot array) and, for "
          "find_many, the pending entries in one sorted array. Each result is an object of a "
          "GObject type shaped like NetTask (five read-only properties, a dispose; "
          "g_object_new() and its title g_strdup'ed) made only when its entry has none, and kept "
          "as the models' documented cache of recent items keeps them (at most 65536, or the "
          "largest result, until idle: here until the cell ends, then freed untimed); one not "
          "kept is finalized by the caller's unref. So in the non-idle rows a result's object "
          "exists when netdb's does: find_many refs existing objects, get at 1M makes (and "
          "frees) one for the ~93% of ids beyond the 65536 kept. get: the probe, the entry, "
          "the object, the caller's unref. find_many: a GPtrArray of the exact size, a ref of "
          "each result's object, the array freed (an unref of each).");
  if (ran ("tasks/get(idle)/*") || ran ("tasks/find_many(status,idle)/*"))
    note ("*(idle): the same operation, each after the main context was iterated until idle: "
          "the model then lets go of the items its queries returned (its cache of recent "
          "items), so every result is an object made for it; without (idle), repeated "
          "queries within one burst reuse the objects of the ones before.");
  if (ran ("tasks/count*"))
    note ("tasks/count(status): net_db_tasks_count() with a status=PENDING filter made once. "
          "sqlite: SELECT count(*) WHERE status = ? (walks the (status, created) index).");
  if (ran ("tasks/find_many*"))
    note ("tasks/find_many(...): status=PENDING (2N/3 tasks) in id order, every result "
          "returned; the created_desc,50 form is the 50 newest pending tasks. The time "
          "includes freeing the result array. sqlite: SELECT ... WHERE status = ? ORDER BY id "
          "(resp. ORDER BY created DESC, id DESC LIMIT 50), each row read into a struct.");
  if (ran ("memories/find_many*"))
    note ("memories/find_many(tag[,50]): tag=alpha (N/2 memories), in id order; all, or the "
          "first 50. sqlite: memory_tags (tag, memory_id) with an index on (tag, memory_id), "
          "joined to memories, each row read into a struct (tags split into a strv).");
  if (ran ("tasks/memory/*"))
    note ("tasks/memory: heap growth (mallinfo2: uordblks + hblkhd, all arenas; plus netdb's huge-page blocks, mappings of their own) while "
          "populating N tasks through the API, in a fresh process, after the delivery, "
          "divided by N, minus the mean title length (the target is SQLite's figure of the same run); "
          "netdb on an on-disk NetRedex (the log's bytes are on disk, its in-memory record "
          "index counts), sqlite ':memory:' (the whole database).");
  if (ran ("tasks/ingest(bound)/*"))
    note ("tasks/ingest(bound): not netdb: the physical bound of tasks/ingest, measured in the same "
          "run: the least store that keeps the API contract and the log format, per event: the "
          "title's UTF-8 checked, the event encoded (netdb's 24-byte header with origin, app_seq "
          "and an XXH3 checksum, the fields as varints and bytes), appended to an in-memory log "
          "(2 MiB chunks, each a huge page as netdb's large ones, a 4-byte offset per event), "
          "decoded again (no second checksum) and folded: a create carves its entry (title inline) "
          "out of a huge-page block into an id-indexed array, a complete updates it. No ordered "
          "index, no lock, no notification: a lower bound.");
  if (ran ("memories/ingest(bound)/*"))
    note ("memories/ingest(bound): not netdb: the physical bound of memories/ingest, measured in the "
          "same run: the least store that keeps the API contract, the log format and the memories' "
          "indexes, per store: the UTF-8 of the content, tag and source checked, the event encoded "
          "(netdb's header and checksum, the fields as varints and bytes) and appended to the same "
          "in-memory log as tasks/ingest(bound), then folded from the values it encoded (no decode, "
          "as netdb folds its own stores): one block for the entry and its texts, carved out of a "
          "huge-page block, in an id-indexed array, and the entry appended to the set of its source and of its tag (sets found in an "
          "open-addressed table by key). No index by time, no lock, no notification: a lower bound.");
  if (ran ("tasks/memory(in-memory)/*"))
    note ("tasks/memory(in-memory): the same heap growth, of the whole process, with the "
          "whole database in memory (net_db_new (NULL, NET_DB_MODELS_TASKS): the log's "
          "records count too), against the same sqlite ':memory:' figure; the target is at "
          "most twice sqlite's.");
  if (ran ("tasks/fold/*"))
    note ("tasks/fold: the events of the population (750 000 tasks = 1 000 000 events; "
          "10 000 with --quick) appended to the 'tasks' log of a fresh in-memory NetRedex, "
          "then net_db_tasks_new() timed: it folds them all before it returns. sqlite: the "
          "same changes applied in ONE transaction.");
  if (ran ("*/get/*") || ran ("*/count*") || ran ("*/find_many*"))
    note ("timing: each query cell runs batches of doubling size until 100 ms have passed "
          "(5 ms with --quick) and reports the mean per operation; the cell is the median "
          "of --repeat such runs, netdb and sqlite runs interleaved. The SQLite database of "
          "the queries was ANALYZEd after populating, so its planner knows the data.");
}

static guint64 *
parse_sizes (const char *text, guint *n_sizes)
{
  char **parts = g_strsplit (text, ",", -1);
  guint64 *sizes = g_new0 (guint64, g_strv_length (parts) + 1);
  guint n = 0;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 v;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, G_MAXUINT32, &v, NULL))
        {
          g_strfreev (parts);
          g_free (sizes);
          return NULL;
        }
      sizes[n++] = v;
    }
  g_strfreev (parts);
  if (n == 0)
    g_clear_pointer (&sizes, g_free);
  *n_sizes = n;
  return sizes;
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  guint64 *sizes;
  guint n_sizes = 0;
  int status;

  bench_init ("netdb-bench-models", N_IMPL, impl_names, ratio_names, 44, 3);
  if (!bench_parse_options (option_entries,
                            "- benchmark the tasks and memories models against SQLite",
                            "Each cell is the median of --repeat runs. 'vs sql' says how many times "
                            "netdb is better than SQLite (above 1: netdb is faster, or smaller). Copy a "
                            "--json output to bench/previous-models.json to see the change on the next run.",
                            &argc, &argv))
    return 2;
  if (bench.repeat < 1)
    {
      g_printerr ("%s: --repeat must be at least 1\n", bench.prog);
      return 2;
    }
  sizes = parse_sizes (opt_sizes != NULL ? opt_sizes : bench.quick ? "1000,10000" : "1000,10000,1000000",
                       &n_sizes);
  if (sizes == NULL)
    {
      g_printerr ("%s: --sizes wants numbers from 1 to %u separated by commas\n", bench.prog, G_MAXUINT32);
      return 2;
    }

  /* SQLite at its fastest for one thread: no mutexes on a connection, no
   * memory statistics. */
  if (sqlite3_config (SQLITE_CONFIG_MULTITHREAD) != SQLITE_OK ||
      sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
    g_printerr ("%s: cannot configure SQLite; using its defaults\n", bench.prog);

  if (opt_memory_probe != NULL)
    {
      int rc;

      root = g_strdup (bench.dir != NULL ? bench.dir : g_get_tmp_dir ());
      rc = memory_probe_main (opt_memory_probe);
      g_free (root);
      g_free (sizes);
      return rc;
    }
  root = make_root (bench.dir, &error);
  if (root == NULL)
    {
      g_printerr ("%s: %s\n", bench.prog, error->message);
      g_error_free (error);
      g_free (sizes);
      return 1;
    }

  bench_start ("previous-models.json");
  bench_print_intro ("the tasks and memories models vs SQLite %s", sqlite3_libversion ());
  bench_print_runs ("sizes");
#ifndef NETDB_BENCH_HAVE_MEMORIES
  g_print ("models:  tasks only (this tree has no NetDbMemories; the memories/* workloads are skipped)\n");
#endif
  g_print ("columns: vs sql = how many times netdb is better than SQLite (>1: netdb faster or "
           "smaller); rates as events/s with ns per event; memory as bytes per task beyond its title "
           "(per note beyond its title and body)\n");
  print_table_header ();

  for (guint i = 0; i < n_sizes; i++)
    workload_size (sizes[i]);
  workload_fold ();
  bench_collections (sizes, n_sizes, opt_sizes != NULL, root);

  if (bench_have_rows ())
    add_notes ();
  status = bench_finish ();

  rm_rf (root);
  g_free (root);
  g_free (sizes);
  return status;
}
