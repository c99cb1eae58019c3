/* netdb-bench.c: the RedEX log against SQLite and raw system calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One run measures our code and its baselines side by side and prints one
 * table: workload | netdb | sqlite | raw | how many times netdb is better
 * than each baseline | target | the previous figure.  Every cell is the
 * median of --repeat runs.
 *
 *   netdb-bench                       full run (about 2 minutes, 3 GiB of disk)
 *   netdb-bench --quick --repeat 1    smoke run (a few seconds)
 *   netdb-bench --only 'append*'      only the matching workloads
 *   netdb-bench --json out.json       also write the figures; copy that file
 *                                     to bench/previous.json to compare the
 *                                     next run against it
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include <netdb/netdb.h>

#include "bench-common.h"

#ifndef NETDB_BENCH_SRCDIR
# define NETDB_BENCH_SRCDIR "."
#endif

#define RAW_HEADER_SIZE 32    /* the size of a RedEX record header */
#define LOG_NAME        "bench"
#define BATCH_SIZE      64

/* ------------------------------------------------------------------ */
/* Options and global state                                            */

static double opt_open_gib = -1.0;

static const GOptionEntry option_entries[] = {
  BENCH_OPTION_QUICK ("Small sizes and short runs (smoke test; figures are not meaningful)"),
  BENCH_OPTION_REPEAT (5),
  BENCH_OPTION_DIR ("the on-disk files"),
  BENCH_OPTION_ONLY,
  BENCH_OPTIONS_FIGURES ("previous.json"),
  BENCH_OPTION_NO_BASELINES ("Measure netdb only (for profiling)"),
  { "open-gib", 0, 0, G_OPTION_ARG_DOUBLE, &opt_open_gib,
    "GiB of sealed data for the open-time workload (default 1; 1/64 with --quick)", "N" },
  { NULL }
};

enum { IMPL_NETDB, IMPL_SQLITE, IMPL_RAW, N_IMPL };

static const char *const impl_names[N_IMPL] = { "netdb", "sqlite", "raw" };
static const char *const ratio_names[N_IMPL - 1] = { "vs sql", "vs raw" };

static struct
{
  char       *root;          /* our temporary directory */
  guint       counter;       /* for unique names under root */
} B;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void
fill_random (guint8 *buf, gsize len, guint64 seed)
{
  guint64 x = seed * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) + 1;
  gsize i;

  for (i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (guint8) x;
    }
}

static GBytes *
make_payload (gsize len, guint64 seed)
{
  guint8 *buf = g_malloc (len > 0 ? len : 1);

  fill_random (buf, len, seed);
  return g_bytes_new_take (buf, len);
}

/* A record as RedEX lays it out (header + payload); the raw baselines
 * write these. */
static void
raw_record_fill (guint8 *rec, guint64 seq, gint64 ts, guint32 payload_len)
{
  guint32 marker = 0x31434552u;
  guint64 checksum = seq ^ (guint64) ts;

  memcpy (rec, &marker, 4);
  memcpy (rec + 4, &payload_len, 4);
  memcpy (rec + 8, &seq, 8);
  memcpy (rec + 16, &ts, 8);
  memcpy (rec + 24, &checksum, 8);
}

static gboolean
write_all (int fd, const guint8 *buf, gsize len, const char *path, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return set_errno_error (error, errno, "write", path);
        }
      buf += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Scratch files                                                       */

static char *
scratch_path (const char *label)
{
  return g_strdup_printf ("%s/%s-%u", B.root, label, B.counter++);
}

static char *
scratch_dir_new (const char *label)
{
  char *path = scratch_path (label);

  if (g_mkdir (path, 0700) != 0)
    g_error ("cannot create %s: %s", path, g_strerror (errno));
  return path;
}

static void
sqlite_remove (const char *path)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      char *p = g_strconcat (path, suffixes[i], NULL);

      g_unlink (p);
      g_free (p);
    }
}

/* ------------------------------------------------------------------ */
/* netdb helpers                                                       */

static gboolean
log_open (const char      *path,
          guint64          segment_size,
          NetRedex       **out_redex,
          NetRedexFile   **out_file,
          GError         **error)
{
  NetRedex *redex;
  NetRedexConfig *config;
  NetRedexFile *file;

  *out_redex = NULL;
  *out_file = NULL;

  redex = net_redex_new (path, error);
  if (redex == NULL)
    return FALSE;

  config = net_redex_config_new ();
  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_NEVER, 0);
  if (segment_size > 0)
    net_redex_config_set_segment_size (config, segment_size);

  file = net_redex_open_file (redex, LOG_NAME, config, error);
  g_object_unref (config);
  if (file == NULL)
    {
      net_redex_close (redex, NULL);
      g_object_unref (redex);
      return FALSE;
    }

  *out_redex = redex;
  *out_file = file;
  return TRUE;
}

/* Closes and frees; returns FALSE (setting @error if not NULL) when the
 * close failed. */
static gboolean
log_close (NetRedex      *redex,
           NetRedexFile  *file,
           GError       **error)
{
  gboolean ok = TRUE;

  if (redex != NULL)
    ok = net_redex_close (redex, error);
  g_clear_object (&file);
  g_clear_object (&redex);
  return ok;
}

static gboolean
check_next_seq (NetRedexFile *file, guint64 expected, GError **error)
{
  guint64 next = net_redex_file_get_next_seq (file);

  if (next != expected)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "next seq is %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   next, expected);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* SQLite                                                              */

#define SQ_CREATE_TABLE \
  "CREATE TABLE t (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, payload BLOB NOT NULL);"
#define SQ_INSERT "INSERT INTO t (seq, ts, payload) VALUES (?1, ?2, ?3)"
#define SQ_WAL_OFF "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
#define SQ_WAL_FULL "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"

/* ------------------------------------------------------------------ */
/* Measuring                                                           */

/* netdb, SQLite and raw on the same parameters; a NULL function skips
 * that column. */
static void
measure3 (Row         **rows,
          guint         n_rows,
          gpointer      data,
          MeasureFunc   netdb_func,
          MeasureFunc   sqlite_func,
          MeasureFunc   raw_func)
{
  Job jobs[N_IMPL];
  guint n = 0;

  if (netdb_func != NULL)
    jobs[n++] = (Job) { rows, n_rows, IMPL_NETDB, netdb_func, data };
  if (sqlite_func != NULL)
    jobs[n++] = (Job) { rows, n_rows, IMPL_SQLITE, sqlite_func, data };
  if (raw_func != NULL)
    jobs[n++] = (Job) { rows, n_rows, IMPL_RAW, raw_func, data };
  run_jobs (jobs, n);
}

/* ------------------------------------------------------------------ */
/* 1. Single appends                                                   */

typedef struct
{
  gboolean on_disk;
  gsize    len;
  guint    n;
} AppendParams;

static gboolean
netdb_append_run (gpointer data, double *out, GError **error)
{
  AppendParams *p = data;
  char *dir = p->on_disk ? scratch_dir_new ("netdb-append") : NULL;
  GBytes *payload = make_payload (p->len, 1);
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i;

  if (!log_open (dir, 0, &redex, &file, error))
    goto out;

  t0 = now_ns ();
  for (i = 0; i < p->n; i++)
    if (net_redex_file_append (file, payload, error) == 0)
      goto out;
  t1 = now_ns ();

  if (!check_next_seq (file, (guint64) p->n + 1, error))
    goto out;
  out[0] = rate (p->n, t1 - t0);
  ok = TRUE;

out:
  if (!log_close (redex, file, ok ? error : NULL))
    ok = FALSE;
  g_bytes_unref (payload);
  rm_rf (dir);
  g_free (dir);
  return ok;
}

static gboolean
sqlite_append_run (gpointer data, double *out, GError **error)
{
  AppendParams *p = data;
  char *path = p->on_disk ? scratch_path ("sqlite-append.db") : g_strdup (":memory:");
  guint8 *payload = g_malloc (p->len);
  sqlite3 *db;
  sqlite3_stmt *ins = NULL;
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i;

  fill_random (payload, p->len, 1);
  db = sq_open (path, p->on_disk ? SQ_WAL_OFF SQ_CREATE_TABLE : SQ_CREATE_TABLE, error);
  if (db == NULL)
    goto out;
  ins = sq_prepare (db, SQ_INSERT, error);
  if (ins == NULL)
    goto out;
  sqlite3_bind_blob (ins, 3, payload, (int) p->len, SQLITE_STATIC);

  t0 = now_ns ();
  for (i = 0; i < p->n; i++)
    {
      sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i + 1);
      sqlite3_bind_int64 (ins, 2, g_get_real_time ());
      if (!sq_step_done (db, ins, error))
        goto out;
    }
  t1 = now_ns ();
  out[0] = rate (p->n, t1 - t0);
  ok = TRUE;

out:
  sqlite3_finalize (ins);
  sqlite3_close (db);
  if (p->on_disk)
    sqlite_remove (path);
  g_free (path);
  g_free (payload);
  return ok;
}

static gboolean
raw_append_run (gpointer data, double *out, GError **error)
{
  AppendParams *p = data;
  gsize reclen = RAW_HEADER_SIZE + p->len;
  guint8 *rec = g_malloc (reclen);
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i;

  fill_random (rec + RAW_HEADER_SIZE, p->len, 1);

  if (p->on_disk)
    {
      char *path = scratch_path ("raw-append");
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

      if (fd < 0)
        {
          set_errno_error (error, errno, "open", path);
          g_free (path);
          goto out;
        }
      t0 = now_ns ();
      for (i = 0; i < p->n; i++)
        {
          raw_record_fill (rec, (guint64) i + 1, g_get_real_time (), (guint32) p->len);
          if (!write_all (fd, rec, reclen, path, error))
            break;
        }
      t1 = now_ns ();
      close (fd);
      g_unlink (path);
      g_free (path);
      if (i < p->n)
        goto out;
    }
  else
    {
      /* The in-memory "physical limit": copy each record into a
       * pre-faulted arena. */
      gsize size = reclen * p->n;
      guint8 *arena = g_malloc (size);
      volatile guint8 sink;

      memset (arena, 0, size);
      t0 = now_ns ();
      for (i = 0; i < p->n; i++)
        {
          raw_record_fill (rec, (guint64) i + 1, g_get_real_time (), (guint32) p->len);
          memcpy (arena + (gsize) i * reclen, rec, reclen);
        }
      t1 = now_ns ();
      sink = arena[size - 1];
      (void) sink;
      g_free (arena);
    }

  out[0] = rate (p->n, t1 - t0);
  ok = TRUE;

out:
  g_free (rec);
  return ok;
}

static void
workload_append_single (void)
{
  static const gsize sizes[] = { 32, 256, 1024 };
  guint d, s;
  guint rows_before = bench.rows->len;

  for (d = 0; d < 2; d++)
    for (s = 0; s < G_N_ELEMENTS (sizes); s++)
      {
        AppendParams p;
        char *id = g_strdup_printf ("append/%s/%" G_GSIZE_FORMAT "B", d ? "disk" : "mem", sizes[s]);
        Row *row = row_new (id, KIND_RATE, TRUE);

        g_free (id);
        if (row == NULL)
          continue;
        p.on_disk = d == 1;
        p.len = sizes[s];
        p.n = bench.quick ? 2000 : sizes[s] >= 1024 ? 100000 : 200000;

        measure3 (&row, 1, &p, netdb_append_run, sqlite_append_run, raw_append_run);
        row_finish (row);
      }

  if (bench.rows->len > rows_before)
    note ("append/*: one net_redex_file_append() per event, the same GBytes each time; "
          "disk = fsync NEVER, close/sync not timed. sqlite: prepared INSERT "
          "(seq, ts, blob), autocommit per row; mem row = ':memory:', disk row = WAL, "
          "synchronous=OFF. raw: mem = memcpy of header+payload into a pre-faulted "
          "arena; disk = one write() of header (32 B) + payload per event. Full size: "
          "200 000 events (100 000 of 1024 B); the 1024 B disk run writes 106 MB and so "
          "crosses one 64 MiB segment boundary (a seal, with its fdatasync, is timed).");
}

/* ------------------------------------------------------------------ */
/* 2. Batches                                                          */

typedef struct
{
  gboolean on_disk;
  gsize    len;
  guint    n_batches;
} BatchParams;

static gboolean
netdb_batch_run (gpointer data, double *out, GError **error)
{
  BatchParams *p = data;
  char *dir = p->on_disk ? scratch_dir_new ("netdb-batch") : NULL;
  GBytes *batch[BATCH_SIZE];
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i;

  for (i = 0; i < BATCH_SIZE; i++)
    batch[i] = make_payload (p->len, i);

  if (!log_open (dir, 0, &redex, &file, error))
    goto out;

  t0 = now_ns ();
  for (i = 0; i < p->n_batches; i++)
    {
      guint64 first = net_redex_file_append_batch (file, batch, BATCH_SIZE, error);

      if (first != (guint64) i * BATCH_SIZE + 1)
        {
          if (first != 0)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         "append_batch returned %" G_GUINT64_FORMAT, first);
          goto out;
        }
    }
  t1 = now_ns ();

  if (!check_next_seq (file, (guint64) p->n_batches * BATCH_SIZE + 1, error))
    goto out;
  out[0] = rate ((guint64) p->n_batches * BATCH_SIZE, t1 - t0);
  ok = TRUE;

out:
  if (!log_close (redex, file, ok ? error : NULL))
    ok = FALSE;
  for (i = 0; i < BATCH_SIZE; i++)
    g_bytes_unref (batch[i]);
  rm_rf (dir);
  g_free (dir);
  return ok;
}

static gboolean
sqlite_batch_run (gpointer data, double *out, GError **error)
{
  BatchParams *p = data;
  char *path = p->on_disk ? scratch_path ("sqlite-batch.db") : g_strdup (":memory:");
  guint8 *payloads = g_malloc (p->len * BATCH_SIZE);
  sqlite3 *db;
  sqlite3_stmt *ins = NULL, *begin = NULL, *commit = NULL;
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i, j;

  fill_random (payloads, p->len * BATCH_SIZE, 2);
  db = sq_open (path, p->on_disk ? SQ_WAL_OFF SQ_CREATE_TABLE : SQ_CREATE_TABLE, error);
  if (db == NULL)
    goto out;
  if ((ins = sq_prepare (db, SQ_INSERT, error)) == NULL ||
      (begin = sq_prepare (db, "BEGIN", error)) == NULL ||
      (commit = sq_prepare (db, "COMMIT", error)) == NULL)
    goto out;

  t0 = now_ns ();
  for (i = 0; i < p->n_batches; i++)
    {
      gint64 ts = g_get_real_time ();

      if (!sq_step_done (db, begin, error))
        goto out;
      for (j = 0; j < BATCH_SIZE; j++)
        {
          sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i * BATCH_SIZE + j + 1);
          sqlite3_bind_int64 (ins, 2, ts);
          sqlite3_bind_blob (ins, 3, payloads + j * p->len, (int) p->len, SQLITE_STATIC);
          if (!sq_step_done (db, ins, error))
            goto out;
        }
      if (!sq_step_done (db, commit, error))
        goto out;
    }
  t1 = now_ns ();
  out[0] = rate ((guint64) p->n_batches * BATCH_SIZE, t1 - t0);
  ok = TRUE;

out:
  sqlite3_finalize (ins);
  sqlite3_finalize (begin);
  sqlite3_finalize (commit);
  sqlite3_close (db);
  if (p->on_disk)
    sqlite_remove (path);
  g_free (path);
  g_free (payloads);
  return ok;
}

static gboolean
raw_batch_run (gpointer data, double *out, GError **error)
{
  BatchParams *p = data;
  gsize reclen = RAW_HEADER_SIZE + p->len;
  gsize buflen = reclen * BATCH_SIZE;
  guint8 *buf = g_malloc (buflen);
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i, j;

  for (j = 0; j < BATCH_SIZE; j++)
    fill_random (buf + j * reclen + RAW_HEADER_SIZE, p->len, j);

  if (p->on_disk)
    {
      char *path = scratch_path ("raw-batch");
      int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

      if (fd < 0)
        {
          set_errno_error (error, errno, "open", path);
          g_free (path);
          goto out;
        }
      t0 = now_ns ();
      for (i = 0; i < p->n_batches; i++)
        {
          gint64 ts = g_get_real_time ();

          for (j = 0; j < BATCH_SIZE; j++)
            raw_record_fill (buf + j * reclen, (guint64) i * BATCH_SIZE + j + 1, ts, (guint32) p->len);
          if (!write_all (fd, buf, buflen, path, error))
            break;
        }
      t1 = now_ns ();
      close (fd);
      g_unlink (path);
      g_free (path);
      if (i < p->n_batches)
        goto out;
    }
  else
    {
      gsize size = buflen * p->n_batches;
      guint8 *arena = g_malloc (size);
      volatile guint8 sink;

      memset (arena, 0, size);
      t0 = now_ns ();
      for (i = 0; i < p->n_batches; i++)
        {
          gint64 ts = g_get_real_time ();

          for (j = 0; j < BATCH_SIZE; j++)
            raw_record_fill (buf + j * reclen, (guint64) i * BATCH_SIZE + j + 1, ts, (guint32) p->len);
          memcpy (arena + (gsize) i * buflen, buf, buflen);
        }
      t1 = now_ns ();
      sink = arena[size - 1];
      (void) sink;
      g_free (arena);
    }

  out[0] = rate ((guint64) p->n_batches * BATCH_SIZE, t1 - t0);
  ok = TRUE;

out:
  g_free (buf);
  return ok;
}

static void
workload_append_batch (void)
{
  guint d;
  guint rows_before = bench.rows->len;

  for (d = 0; d < 2; d++)
    {
      BatchParams p;
      Row *row = row_new (d ? "batch64/disk/64B" : "batch64/mem/64B", KIND_RATE, TRUE);

      if (row == NULL)
        continue;
      if (d == 1)
        row_set_target (row, TARGET_MIN, 3e6);
      p.on_disk = d == 1;
      p.len = 64;
      p.n_batches = bench.quick ? 100 : 1000000 / BATCH_SIZE;

      measure3 (&row, 1, &p, netdb_batch_run, sqlite_batch_run, raw_batch_run);
      row_finish (row);
    }

  if (bench.rows->len > rows_before)
    note ("batch64/*: net_redex_file_append_batch() of 64 x 64 B (the same 64 GBytes each "
          "time), fsync NEVER on disk; the ns figure is per event. sqlite: BEGIN, 64 "
          "prepared INSERTs, COMMIT (WAL, synchronous=OFF on disk; ':memory:' in mem). "
          "raw: one write() (disk) / memcpy (mem) of the 64 records. Full size: 1M events "
          "(96 MB on disk: crosses one 64 MiB segment boundary, so one seal is timed).");
}

/* ------------------------------------------------------------------ */
/* 3. Durable appends (group commit)                                   */

typedef struct
{
  GMutex   mutex;
  GCond    cond;
  guint    ready;
  gboolean go;
  gint     stop;
} Gate;

typedef struct
{
  Gate         *gate;
  NetRedexFile *file;
  GBytes       *payload;
  guint64       count;
  GError       *error;
} DurableWorker;

typedef struct
{
  guint  n_threads;
  double seconds;
  gsize  len;
} DurableParams;

static gpointer
durable_worker (gpointer data)
{
  DurableWorker *w = data;

  g_mutex_lock (&w->gate->mutex);
  w->gate->ready++;
  g_cond_broadcast (&w->gate->cond);
  while (!w->gate->go)
    g_cond_wait (&w->gate->cond, &w->gate->mutex);
  g_mutex_unlock (&w->gate->mutex);

  while (!g_atomic_int_get (&w->gate->stop))
    {
      if (net_redex_file_append_durable (w->file, w->payload, &w->error) == 0)
        {
          if (w->error == NULL)
            g_set_error_literal (&w->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                                 "append_durable returned 0 without an error");
          break;
        }
      w->count++;
    }
  return NULL;
}

static gboolean
netdb_durable_run (gpointer data, double *out, GError **error)
{
  DurableParams *p = data;
  char *dir = scratch_dir_new ("netdb-durable");
  GBytes *payload = make_payload (p->len, 3);
  DurableWorker *workers = g_new0 (DurableWorker, p->n_threads);
  GThread **threads = g_new0 (GThread *, p->n_threads);
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  Gate gate;
  guint64 total = 0;
  gboolean ok = FALSE;
  gint64 t0 = 0, t1 = 0;
  guint i;

  memset (&gate, 0, sizeof gate);
  g_mutex_init (&gate.mutex);
  g_cond_init (&gate.cond);

  if (!log_open (dir, 0, &redex, &file, error))
    goto out;

  for (i = 0; i < p->n_threads; i++)
    {
      workers[i].gate = &gate;
      workers[i].file = file;
      workers[i].payload = payload;
      threads[i] = g_thread_new ("durable", durable_worker, &workers[i]);
    }

  g_mutex_lock (&gate.mutex);
  while (gate.ready < p->n_threads)
    g_cond_wait (&gate.cond, &gate.mutex);
  gate.go = TRUE;
  t0 = now_ns ();
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.mutex);

  g_usleep ((gulong) (p->seconds * G_USEC_PER_SEC));
  g_atomic_int_set (&gate.stop, 1);

  for (i = 0; i < p->n_threads; i++)
    g_thread_join (threads[i]);
  t1 = now_ns ();

  for (i = 0; i < p->n_threads; i++)
    {
      if (workers[i].error != NULL)
        {
          g_propagate_error (error, workers[i].error);
          workers[i].error = NULL;
          goto out;
        }
      total += workers[i].count;
    }

  if (!check_next_seq (file, total + 1, error))
    goto out;
  if (net_redex_file_get_durable_seq (file) < total)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "durable seq %" G_GUINT64_FORMAT " < %" G_GUINT64_FORMAT " appended durably",
                   net_redex_file_get_durable_seq (file), total);
      goto out;
    }
  out[0] = rate (total, t1 - t0);
  ok = TRUE;

out:
  if (!log_close (redex, file, ok ? error : NULL))
    ok = FALSE;
  for (i = 0; i < p->n_threads; i++)
    g_clear_error (&workers[i].error);
  g_free (workers);
  g_free (threads);
  g_mutex_clear (&gate.mutex);
  g_cond_clear (&gate.cond);
  g_bytes_unref (payload);
  rm_rf (dir);
  g_free (dir);
  return ok;
}

static gboolean
raw_durable_run (gpointer data, double *out, GError **error)
{
  DurableParams *p = data;
  gsize reclen = RAW_HEADER_SIZE + p->len;
  guint8 *rec = g_malloc (reclen);
  char *path = scratch_path ("raw-durable");
  gint64 deadline, t0, t1 = 0;
  guint64 n = 0;
  gboolean ok = FALSE;
  int fd;

  fill_random (rec + RAW_HEADER_SIZE, p->len, 3);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      set_errno_error (error, errno, "open", path);
      goto out;
    }

  t0 = now_ns ();
  deadline = t0 + (gint64) (p->seconds * 1e9);
  do
    {
      raw_record_fill (rec, n + 1, g_get_real_time (), (guint32) p->len);
      if (!write_all (fd, rec, reclen, path, error))
        goto out;
      if (fdatasync (fd) != 0)
        {
          set_errno_error (error, errno, "fdatasync", path);
          goto out;
        }
      n++;
      t1 = now_ns ();
    }
  while (t1 < deadline);

  out[0] = rate (n, t1 - t0);
  ok = TRUE;

out:
  if (fd >= 0)
    close (fd);
  g_unlink (path);
  g_free (path);
  g_free (rec);
  return ok;
}

static gboolean
sqlite_durable_run (gpointer data, double *out, GError **error)
{
  DurableParams *p = data;
  char *path = scratch_path ("sqlite-durable.db");
  guint8 *payload = g_malloc (p->len);
  sqlite3 *db;
  sqlite3_stmt *ins = NULL;
  gint64 deadline, t0, t1 = 0;
  guint64 n = 0;
  gboolean ok = FALSE;

  fill_random (payload, p->len, 3);
  db = sq_open (path, SQ_WAL_FULL SQ_CREATE_TABLE, error);
  if (db == NULL)
    goto out;
  ins = sq_prepare (db, SQ_INSERT, error);
  if (ins == NULL)
    goto out;
  sqlite3_bind_blob (ins, 3, payload, (int) p->len, SQLITE_STATIC);

  t0 = now_ns ();
  deadline = t0 + (gint64) (p->seconds * 1e9);
  do
    {
      sqlite3_bind_int64 (ins, 1, (sqlite3_int64) n + 1);
      sqlite3_bind_int64 (ins, 2, g_get_real_time ());
      if (!sq_step_done (db, ins, error))
        goto out;
      n++;
      t1 = now_ns ();
    }
  while (t1 < deadline);

  out[0] = rate (n, t1 - t0);
  ok = TRUE;

out:
  sqlite3_finalize (ins);
  sqlite3_close (db);
  sqlite_remove (path);
  g_free (path);
  g_free (payload);
  return ok;
}

static void
workload_durable (void)
{
  static const guint n_threads[] = { 1, 16, 64 };
  Row *rows[G_N_ELEMENTS (n_threads)];
  DurableParams params[G_N_ELEMENTS (n_threads)];
  DurableParams base_params;
  Job jobs[G_N_ELEMENTS (n_threads) + 2];
  Row *first = NULL;
  guint i, k;

  for (i = 0; i < G_N_ELEMENTS (n_threads); i++)
    {
      char *id = g_strdup_printf ("durable/disk/64B/%uw", n_threads[i]);

      rows[i] = row_new (id, KIND_RATE, FALSE);
      g_free (id);
      params[i].seconds = bench.quick ? 0.1 : 1.5;
      params[i].len = 64;
      params[i].n_threads = n_threads[i];
      jobs[i] = (Job) { &rows[i], 1, IMPL_NETDB, netdb_durable_run, &params[i] };
      if (first == NULL)
        first = rows[i];
    }
  if (first == NULL)
    return;
  row_set_target (rows[2], TARGET_MIN, 40000);

  /* Baselines: one writer (more writers behind a mutex would only add
   * contention), measured on the first row and copied to the others. */
  base_params = params[0];
  base_params.n_threads = 1;
  jobs[i] = (Job) { &first, 1, IMPL_SQLITE, sqlite_durable_run, &base_params };
  jobs[i + 1] = (Job) { &first, 1, IMPL_RAW, raw_durable_run, &base_params };
  run_jobs (jobs, G_N_ELEMENTS (jobs));

  for (k = 0; k < G_N_ELEMENTS (rows); k++)
    if (rows[k] != NULL && rows[k] != first)
      {
        rows[k]->v[IMPL_SQLITE] = first->v[IMPL_SQLITE];
        rows[k]->v[IMPL_RAW] = first->v[IMPL_RAW];
        rows[k]->failed[IMPL_SQLITE] = first->failed[IMPL_SQLITE];
        rows[k]->failed[IMPL_RAW] = first->failed[IMPL_RAW];
      }

  for (i = 0; i < G_N_ELEMENTS (rows); i++)
    row_finish (rows[i]);

  note ("durable/*/Nw: N threads calling net_redex_file_append_durable() (64 B) in a loop "
        "for a fixed time (group commit); events/s over all threads. Baselines are ONE "
        "writer, measured once and repeated on every row: sqlite = WAL, "
        "synchronous=FULL, one INSERT per transaction; raw = write() + fdatasync() "
        "per event to a growing file (the one-writer physical limit).");
}

/* ------------------------------------------------------------------ */
/* 4. read_range                                                       */

typedef struct
{
  guint          n;
  gsize          len;
  NetRedexFile  *file;
  guint64        first_seq;
  sqlite3       *db;
  sqlite3_stmt  *select;
  char          *raw_path;
  int            raw_fd;
} ReadParams;

static gboolean
netdb_read_run (gpointer data, double *out, GError **error)
{
  ReadParams *p = data;
  GPtrArray *events;
  guint64 sum = 0;
  gint64 t0 = 0, t1 = 0;
  guint i;

  t0 = now_ns ();
  events = net_redex_file_read_range (p->file, p->first_seq, p->first_seq + p->n, error);
  if (events == NULL)
    return FALSE;
  for (i = 0; i < events->len; i++)
    {
      NetRedexEvent *ev = g_ptr_array_index (events, i);
      GBytes *payload = net_redex_event_get_payload (ev);
      gsize size;
      const guint8 *bytes = g_bytes_get_data (payload, &size);

      sum += size + (size > 0 ? bytes[0] : 0) + net_redex_event_get_seq (ev);
    }
  g_ptr_array_unref (events);
  t1 = now_ns ();

  if (i != p->n || sum < (guint64) p->n * p->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "read_range returned %u events, expected %u", i, p->n);
      return FALSE;
    }
  out[0] = rate (p->n, t1 - t0);
  return TRUE;
}

static gboolean
sqlite_read_run (gpointer data, double *out, GError **error)
{
  ReadParams *p = data;
  guint64 sum = 0;
  guint count = 0;
  gint64 t0 = 0, t1 = 0;
  int rc;

  t0 = now_ns ();
  sqlite3_bind_int64 (p->select, 1, 1);
  sqlite3_bind_int64 (p->select, 2, (sqlite3_int64) p->n + 1);
  while ((rc = sqlite3_step (p->select)) == SQLITE_ROW)
    {
      const guint8 *bytes = sqlite3_column_blob (p->select, 2);
      int size = sqlite3_column_bytes (p->select, 2);

      sum += (guint64) size + (size > 0 ? bytes[0] : 0) +
             (guint64) sqlite3_column_int64 (p->select, 0) +
             (guint64) sqlite3_column_int64 (p->select, 1);
      count++;
    }
  sqlite3_reset (p->select);
  t1 = now_ns ();

  if (rc != SQLITE_DONE)
    return sq_error (p->db, error, "SELECT");
  if (count != p->n || sum < (guint64) p->n * p->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SELECT returned %u rows", count);
      return FALSE;
    }
  out[0] = rate (p->n, t1 - t0);
  return TRUE;
}

static gboolean
raw_read_run (gpointer data, double *out, GError **error)
{
  ReadParams *p = data;
  gsize reclen = RAW_HEADER_SIZE + p->len;
  gsize total = reclen * p->n;
  gsize chunk = reclen * 4096;     /* about 1 MiB */
  guint8 *buf = g_malloc (chunk);
  guint64 sum = 0;
  gsize off = 0;
  gint64 t0 = 0, t1 = 0;

  t0 = now_ns ();
  while (off < total)
    {
      gsize want_len = MIN (chunk, total - off);
      ssize_t n = pread (p->raw_fd, buf, want_len, (off_t) off);
      gsize r;

      if (n <= 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          set_errno_error (error, n < 0 ? errno : EIO, "pread", p->raw_path);
          g_free (buf);
          return FALSE;
        }
      for (r = 0; r + reclen <= (gsize) n; r += reclen)
        sum += buf[r + 4] + buf[r + RAW_HEADER_SIZE];
      off += (gsize) n;
    }
  t1 = now_ns ();
  g_free (buf);

  if (sum == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "raw read nothing");
      return FALSE;
    }
  out[0] = rate (p->n, t1 - t0);
  return TRUE;
}

static gboolean
read_setup (ReadParams *p, char *dir, char *sqlite_path, GError **error)
{
  GBytes *batch[BATCH_SIZE];
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  sqlite3_stmt *ins = NULL;
  gsize reclen = RAW_HEADER_SIZE + p->len;
  guint8 *rec = g_malloc (reclen);
  gint64 ts = g_get_real_time ();
  gboolean ok = FALSE;
  guint i, j;

  for (i = 0; i < BATCH_SIZE; i++)
    batch[i] = make_payload (p->len, 100 + i);

  /* netdb: write, close, reopen so that nothing comes from the writer's
   * memory. */
  if (!log_open (dir, 0, &redex, &file, error))
    goto out;
  for (i = 0; i < p->n; i += BATCH_SIZE)
    {
      guint n = MIN (BATCH_SIZE, p->n - i);

      if (net_redex_file_append_batch (file, batch, n, error) == 0)
        goto out;
    }
  if (!log_close (redex, file, error))
    {
      redex = NULL;
      file = NULL;
      goto out;
    }
  redex = NULL;
  file = NULL;
  if (!log_open (dir, 0, &redex, &file, error))
    goto out;
  if (!check_next_seq (file, (guint64) p->n + 1, error))
    goto out;
  p->first_seq = 1;

  /* SQLite */
  p->db = sq_open (sqlite_path, SQ_WAL_OFF SQ_CREATE_TABLE, error);
  if (p->db == NULL)
    goto out;
  if ((ins = sq_prepare (p->db, SQ_INSERT, error)) == NULL ||
      !sq_exec (p->db, "BEGIN", error))
    goto out;
  for (i = 0; i < p->n; i++)
    {
      GBytes *b = batch[i % BATCH_SIZE];

      sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i + 1);
      sqlite3_bind_int64 (ins, 2, ts);
      sqlite3_bind_blob (ins, 3, g_bytes_get_data (b, NULL), (int) g_bytes_get_size (b), SQLITE_STATIC);
      if (!sq_step_done (p->db, ins, error))
        goto out;
    }
  if (!sq_exec (p->db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);", error))
    goto out;
  p->select = sq_prepare (p->db, "SELECT seq, ts, payload FROM t WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
                          error);
  if (p->select == NULL)
    goto out;

  /* raw */
  p->raw_fd = open (p->raw_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (p->raw_fd < 0)
    {
      set_errno_error (error, errno, "open", p->raw_path);
      goto out;
    }
  for (i = 0; i < p->n; i++)
    {
      j = i % BATCH_SIZE;
      raw_record_fill (rec, (guint64) i + 1, ts, (guint32) p->len);
      memcpy (rec + RAW_HEADER_SIZE, g_bytes_get_data (batch[j], NULL), p->len);
      if (!write_all (p->raw_fd, rec, reclen, p->raw_path, error))
        goto out;
    }

  p->file = g_steal_pointer (&file);
  ok = TRUE;

out:
  sqlite3_finalize (ins);
  if (!ok)
    {
      log_close (redex, file, NULL);
      redex = NULL;
    }
  /* On success the NetRedex stays referenced by its file; keep it in
   * the file's data so that teardown can close it. */
  if (ok)
    g_object_set_data_full (G_OBJECT (p->file), "bench-redex", redex, g_object_unref);
  for (i = 0; i < BATCH_SIZE; i++)
    g_bytes_unref (batch[i]);
  g_free (rec);
  return ok;
}

static void
workload_read_range (void)
{
  Row *row = row_new ("read_range/disk/256B", KIND_RATE, TRUE);
  ReadParams p;
  char *dir, *sqlite_path;
  GError *error = NULL;

  if (row == NULL)
    return;

  memset (&p, 0, sizeof p);
  p.n = bench.quick ? 5000 : 100000;
  p.len = 256;
  p.raw_fd = -1;
  dir = scratch_dir_new ("netdb-read");
  sqlite_path = scratch_path ("sqlite-read.db");
  p.raw_path = scratch_path ("raw-read");

  if (!read_setup (&p, dir, sqlite_path, &error))
    {
      g_printerr ("netdb-bench: read_range setup: %s\n", error->message);
      g_clear_error (&error);
      bench.n_errors++;
      row->failed[IMPL_NETDB] = TRUE;
    }
  else
    {
      measure3 (&row, 1, &p, netdb_read_run, sqlite_read_run, raw_read_run);
    }
  row_finish (row);

  if (p.file != NULL)
    {
      NetRedex *redex = g_object_get_data (G_OBJECT (p.file), "bench-redex");

      if (redex != NULL && !net_redex_close (redex, &error))
        {
          g_printerr ("netdb-bench: read_range close: %s\n", error->message);
          g_clear_error (&error);
          bench.n_errors++;
        }
      g_object_unref (p.file);
    }
  sqlite3_finalize (p.select);
  sqlite3_close (p.db);
  if (p.raw_fd >= 0)
    close (p.raw_fd);
  sqlite_remove (sqlite_path);
  g_unlink (p.raw_path);
  rm_rf (dir);
  g_free (dir);
  g_free (sqlite_path);
  g_free (p.raw_path);

  {
    char *msg = g_strdup_printf ("read_range: one net_redex_file_read_range() of %u x 256 B "
                                 "events from a closed and reopened on-disk log (page cache "
                                 "warm), touching each payload, freeing the array included; "
                                 "ns figure per event. sqlite: prepared SELECT seq, ts, payload "
                                 "WHERE seq in range, blob pointer read in place (no copy). "
                                 "raw: pread() of the same bytes in 1 MiB chunks.", p.n);
    note (msg);
    g_free (msg);
  }
}

/* ------------------------------------------------------------------ */
/* 5. Tail latency                                                     */

typedef enum
{
  TAIL_TRY_NEXT,
  TAIL_NEXT_ASYNC,
  TAIL_CROSS_THREAD,
} TailMode;

typedef struct
{
  gboolean on_disk;
  TailMode mode;
  guint    n;
  guint    warmup;
  guint    pace_us;
} TailParams;

typedef struct
{
  gboolean       got;
  gint64         t_recv;
  NetRedexEvent *ev;
  GError        *error;
} TailWait;

static void
tail_next_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  TailWait *w = user_data;

  w->t_recv = now_ns ();
  w->ev = net_redex_tail_next_finish (NET_REDEX_TAIL (source), res, &w->error);
  w->got = TRUE;
}

static gboolean
timeout_flag_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
idle_flag_cb (gpointer user_data)
{
  TailWait *w = user_data;

  w->t_recv = now_ns ();
  w->got = TRUE;
  return G_SOURCE_REMOVE;
}

/* Cross-thread: an appender thread appends one event, waits until the
 * main loop has received it, pauses, and so on; the owner context
 * receives with next_async. */
typedef struct
{
  NetRedexFile  *file;        /* NULL: baseline via g_main_context_invoke() */
  GMainContext  *ctx;
  GBytes        *payload;
  guint          total;
  guint          pace_us;
  gint64        *send_ts;
  gint64        *lat;
  guint64        first_seq;
  NetRedexTail  *tail;
  GMutex         mutex;
  GCond          cond;
  guint          received;    /* under mutex */
  gboolean       failed;      /* under mutex */
  guint          cur;         /* the index in flight (baseline) */
  GError        *error;       /* receiver's */
  GError        *append_error;
} Cross;

static void cross_arm (Cross *c);

static void
cross_received (Cross *c, guint idx, gint64 t_recv)
{
  c->lat[idx] = t_recv - c->send_ts[idx];
  g_mutex_lock (&c->mutex);
  c->received++;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->mutex);
}

static void
cross_fail (Cross *c)
{
  g_mutex_lock (&c->mutex);
  c->failed = TRUE;
  g_cond_signal (&c->cond);
  g_mutex_unlock (&c->mutex);
}

static void
cross_next_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Cross *c = user_data;
  gint64 t_recv = now_ns ();
  NetRedexEvent *ev = net_redex_tail_next_finish (NET_REDEX_TAIL (source), res, &c->error);
  guint64 seq;

  if (ev == NULL)
    {
      if (c->error == NULL)
        g_set_error_literal (&c->error, G_IO_ERROR, G_IO_ERROR_FAILED, "next_finish returned NULL");
      cross_fail (c);
      return;
    }
  seq = net_redex_event_get_seq (ev);
  net_redex_event_unref (ev);
  if (seq < c->first_seq || seq >= c->first_seq + c->total || seq - c->first_seq != c->received)
    {
      g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "tail delivered seq %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   seq, c->first_seq + c->received);
      cross_fail (c);
      return;
    }
  cross_received (c, (guint) (seq - c->first_seq), t_recv);
  if (c->received < c->total)
    cross_arm (c);
}

static void
cross_arm (Cross *c)
{
  net_redex_tail_next_async (c->tail, NULL, cross_next_cb, c);
}

static gboolean
cross_invoke_cb (gpointer user_data)
{
  Cross *c = user_data;

  cross_received (c, c->cur, now_ns ());
  return G_SOURCE_REMOVE;
}

static gpointer
cross_appender (gpointer data)
{
  Cross *c = data;
  guint i;

  for (i = 0; i < c->total; i++)
    {
      gboolean stop;

      c->cur = i;
      c->send_ts[i] = now_ns ();
      if (c->file != NULL)
        {
          if (net_redex_file_append (c->file, c->payload, &c->append_error) == 0)
            {
              if (c->append_error == NULL)
                g_set_error_literal (&c->append_error, G_IO_ERROR, G_IO_ERROR_FAILED,
                                     "append returned 0");
              cross_fail (c);
              g_main_context_wakeup (c->ctx);
              return NULL;
            }
        }
      else
        g_main_context_invoke (c->ctx, cross_invoke_cb, c);

      g_mutex_lock (&c->mutex);
      while (c->received <= i && !c->failed)
        g_cond_wait (&c->cond, &c->mutex);
      stop = c->failed;
      g_mutex_unlock (&c->mutex);
      if (stop)
        return NULL;
      if (c->pace_us > 0)
        g_usleep (c->pace_us);
    }
  return NULL;
}

static gboolean
tail_run_cross (TailParams *p, NetRedexFile *file, GMainContext *ctx, gint64 *lat, GError **error)
{
  Cross c;
  GThread *thread;
  GSource *timeout;
  gboolean timed_out = FALSE;
  gboolean ok = TRUE;

  memset (&c, 0, sizeof c);
  g_mutex_init (&c.mutex);
  g_cond_init (&c.cond);
  c.file = file;
  c.ctx = ctx;
  c.total = p->n + p->warmup;
  c.pace_us = p->pace_us;
  c.send_ts = g_new0 (gint64, c.total);
  c.lat = g_new0 (gint64, c.total);
  c.payload = make_payload (64, 5);

  if (file != NULL)
    {
      c.first_seq = net_redex_file_get_next_seq (file);
      c.tail = net_redex_file_tail (file, c.first_seq);
      cross_arm (&c);
    }

  timeout = g_timeout_source_new_seconds (60 + c.total / 1000);
  g_source_set_callback (timeout, timeout_flag_cb, &timed_out, NULL);
  g_source_attach (timeout, ctx);

  thread = g_thread_new ("appender", cross_appender, &c);
  for (;;)
    {
      gboolean done;

      g_mutex_lock (&c.mutex);
      done = c.received >= c.total || c.failed;
      g_mutex_unlock (&c.mutex);
      if (done || timed_out)
        break;
      g_main_context_iteration (ctx, TRUE);
    }
  if (timed_out)
    cross_fail (&c);
  g_thread_join (thread);
  g_source_destroy (timeout);
  g_source_unref (timeout);

  if (c.append_error != NULL)
    {
      g_propagate_error (error, c.append_error);
      c.append_error = NULL;
      ok = FALSE;
    }
  else if (c.error != NULL)
    {
      g_propagate_error (error, c.error);
      c.error = NULL;
      ok = FALSE;
    }
  else if (timed_out || c.failed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "cross-thread tail: received %u of %u events", c.received, c.total);
      ok = FALSE;
    }
  else
    memcpy (lat, c.lat + p->warmup, p->n * sizeof (gint64));

  if (c.tail != NULL)
    {
      net_redex_tail_close (c.tail);
      g_object_unref (c.tail);
    }
  g_clear_error (&c.error);
  g_clear_error (&c.append_error);
  g_bytes_unref (c.payload);
  g_free (c.send_ts);
  g_free (c.lat);
  g_mutex_clear (&c.mutex);
  g_cond_clear (&c.cond);
  return ok;
}

static gboolean
tail_run_same (TailParams *p, NetRedexFile *file, GMainContext *ctx, gint64 *lat, GError **error)
{
  GBytes *payload = make_payload (64, 4);
  NetRedexTail *tail = NULL;
  GSource *timeout;
  gboolean timed_out = FALSE;
  gboolean ok = FALSE;
  guint i;

  timeout = g_timeout_source_new_seconds (60 + (p->n + p->warmup) / 1000);
  g_source_set_callback (timeout, timeout_flag_cb, &timed_out, NULL);
  g_source_attach (timeout, ctx);

  if (file != NULL)
    tail = net_redex_file_tail (file, net_redex_file_get_next_seq (file));

  for (i = 0; i < p->n + p->warmup; i++)
    {
      TailWait w = { FALSE, 0, NULL, NULL };
      guint64 seq = 0;
      gint64 t0 = 0, t1 = 0;

      if (file == NULL)
        {
          /* Baseline: the floor of an asynchronous callback on this
           * context (an idle source, dispatched by one iteration). */
          GSource *idle = g_idle_source_new ();

          t0 = now_ns ();
          g_source_set_callback (idle, idle_flag_cb, &w, NULL);
          g_source_attach (idle, ctx);
          g_source_unref (idle);
          while (!w.got && !timed_out)
            g_main_context_iteration (ctx, TRUE);
          t1 = w.t_recv;
        }
      else if (p->mode == TAIL_TRY_NEXT)
        {
          t0 = now_ns ();
          seq = net_redex_file_append (file, payload, error);
          if (seq == 0)
            goto out;
          for (;;)
            {
              w.ev = net_redex_tail_try_next (tail, &w.error);
              if (w.ev != NULL || w.error != NULL || timed_out)
                break;
              g_main_context_iteration (ctx, FALSE);
            }
          t1 = now_ns ();
        }
      else
        {
          net_redex_tail_next_async (tail, NULL, tail_next_cb, &w);
          t0 = now_ns ();
          seq = net_redex_file_append (file, payload, error);
          if (seq == 0)
            goto out;
          while (!w.got && !timed_out)
            g_main_context_iteration (ctx, TRUE);
          t1 = w.t_recv;
        }

      if (w.error != NULL)
        {
          g_propagate_error (error, w.error);
          goto out;
        }
      if (timed_out)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                       "same-thread tail: event %u not received", i);
          goto out;
        }
      if (file != NULL)
        {
          guint64 got_seq = w.ev != NULL ? net_redex_event_get_seq (w.ev) : 0;

          g_clear_pointer (&w.ev, net_redex_event_unref);
          if (got_seq != seq)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "tail delivered seq %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                           got_seq, seq);
              goto out;
            }
        }
      if (i >= p->warmup)
        lat[i - p->warmup] = t1 - t0;
    }
  ok = TRUE;

out:
  if (tail != NULL)
    {
      net_redex_tail_close (tail);
      g_object_unref (tail);
    }
  g_source_destroy (timeout);
  g_source_unref (timeout);
  g_bytes_unref (payload);
  return ok;
}

typedef struct
{
  TailParams *params;
  gboolean    baseline;
} TailRun;

static gboolean
tail_run (gpointer data, double *out, GError **error)
{
  TailRun *run = data;
  TailParams *p = run->params;
  GMainContext *ctx = g_main_context_new ();
  gint64 *lat = g_new0 (gint64, p->n);
  char *dir = NULL;
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  gboolean ok = FALSE;

  g_main_context_push_thread_default (ctx);

  if (!run->baseline)
    {
      dir = p->on_disk ? scratch_dir_new ("netdb-tail") : NULL;
      if (!log_open (dir, 0, &redex, &file, error))
        goto out;
    }

  if (p->mode == TAIL_CROSS_THREAD)
    ok = tail_run_cross (p, file, ctx, lat, error);
  else
    ok = tail_run_same (p, file, ctx, lat, error);

  if (ok)
    {
      qsort (lat, p->n, sizeof (gint64), compare_i64);
      out[0] = percentile (lat, p->n, 50);
      out[1] = percentile (lat, p->n, 99);
    }

out:
  if (!log_close (redex, file, ok ? error : NULL))
    ok = FALSE;
  while (g_main_context_iteration (ctx, FALSE))
    ;
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);
  g_free (lat);
  rm_rf (dir);
  g_free (dir);
  return ok;
}

static void
workload_tail (void)
{
  static const struct { TailMode mode; const char *name; } modes[] = {
    { TAIL_TRY_NEXT, "same-thread/try_next" },
    { TAIL_NEXT_ASYNC, "same-thread/next_async" },
    { TAIL_CROSS_THREAD, "cross-thread/next_async" },
  };
  guint d, m;
  guint rows_before = bench.rows->len;

  for (d = 0; d < 2; d++)
    for (m = 0; m < G_N_ELEMENTS (modes); m++)
      {
        Row *rows[2];
        TailParams p;
        TailRun run, base_run;
        Job jobs[2];
        char *id;

        id = g_strdup_printf ("tail/%s/%s/p50", d ? "disk" : "mem", modes[m].name);
        rows[0] = row_new (id, KIND_NS, FALSE);
        g_free (id);
        id = g_strdup_printf ("tail/%s/%s/p99", d ? "disk" : "mem", modes[m].name);
        rows[1] = row_new (id, KIND_NS, FALSE);
        g_free (id);
        if (!any_row (rows, 2))
          continue;
        if (modes[m].mode != TAIL_CROSS_THREAD)
          row_set_target (rows[0], TARGET_MAX, 1000);

        p.on_disk = d == 1;
        p.mode = modes[m].mode;
        p.warmup = bench.quick ? 10 : 200;
        if (p.mode == TAIL_CROSS_THREAD)
          {
            p.n = bench.quick ? 200 : 5000;
            p.pace_us = 20;
          }
        else
          {
            p.n = bench.quick ? 1000 : 20000;
            p.pace_us = 0;
          }

        run.params = &p;
        run.baseline = FALSE;
        base_run.params = &p;
        base_run.baseline = TRUE;
        jobs[0] = (Job) { rows, 2, IMPL_NETDB, tail_run, &run };
        jobs[1] = (Job) { rows, 2, IMPL_RAW, tail_run, &base_run };
        run_jobs (jobs, p.mode != TAIL_TRY_NEXT ? 2 : 1);
        row_finish (rows[0]);
        row_finish (rows[1]);
      }

  if (bench.rows->len > rows_before)
    note ("tail/*: latency from just before net_redex_file_append() to the event in hand "
          "(64 B events), percentiles over 20 000 events (5 000 cross-thread; 1 000 / 200 "
          "with --quick), after a warm-up. try_next: "
          "append, then net_redex_tail_try_next() + g_main_context_iteration(FALSE) until it "
          "returns the event. next_async: a next_async() is pending, append, iterate until "
          "the callback runs. cross-thread: an appender thread appends one event, waits for "
          "the owner thread's callback, sleeps 20 us (so the owner blocks in poll), repeats. "
          "raw: the GLib floor on the same path: same-thread = an idle source dispatched by "
          "g_main_context_iteration(); cross-thread = g_main_context_invoke() from the "
          "appender. No SQLite equivalent (it has no change feed).");
}

/* ------------------------------------------------------------------ */
/* 6. Open time                                                        */

typedef struct
{
  char    *dir;
  char    *sqlite_path;
  guint64  n_events;
  guint    n_opens;
} OpenParams;

static gboolean
open_build (OpenParams *p, guint64 total_bytes, guint64 segment_size, GError **error)
{
  GBytes *batch[BATCH_SIZE];
  NetRedex *redex = NULL;
  NetRedexFile *file = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL;
  gint64 t0, t1, t2;
  gboolean ok = FALSE;
  gsize len = 4096;
  guint64 i;
  guint j;

  p->n_events = MAX (total_bytes / len, BATCH_SIZE);
  p->n_events -= p->n_events % BATCH_SIZE;
  for (j = 0; j < BATCH_SIZE; j++)
    batch[j] = make_payload (len, 200 + j);

  t0 = now_ns ();
  if (!log_open (p->dir, segment_size, &redex, &file, error))
    goto out;
  for (i = 0; i < p->n_events; i += BATCH_SIZE)
    if (net_redex_file_append_batch (file, batch, BATCH_SIZE, error) == 0)
      goto out;
  ok = log_close (redex, file, error);
  redex = NULL;
  file = NULL;
  if (!ok)
    goto out;
  ok = FALSE;
  t1 = now_ns ();

  db = sq_open (p->sqlite_path, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" SQ_CREATE_TABLE, error);
  if (db == NULL)
    goto out;
  if ((ins = sq_prepare (db, SQ_INSERT, error)) == NULL || !sq_exec (db, "BEGIN", error))
    goto out;
  for (i = 0; i < p->n_events; i++)
    {
      GBytes *b = batch[i % BATCH_SIZE];

      sqlite3_bind_int64 (ins, 1, (sqlite3_int64) i + 1);
      sqlite3_bind_int64 (ins, 2, g_get_real_time ());
      sqlite3_bind_blob (ins, 3, g_bytes_get_data (b, NULL), (int) len, SQLITE_STATIC);
      if (!sq_step_done (db, ins, error))
        goto out;
    }
  sqlite3_finalize (ins);
  ins = NULL;
  if (!sq_exec (db, "COMMIT; PRAGMA journal_mode=WAL;", error))
    goto out;
  t2 = now_ns ();
  ok = TRUE;

  {
    char *msg = g_strdup_printf ("open: built %.2f GiB (%" G_GUINT64_FORMAT " x 4 KiB, "
                                 "segments of %" G_GUINT64_FORMAT " MiB) in %.1f s "
                                 "(%.0f MB/s); the SQLite copy in %.1f s (one transaction, "
                                 "journal off)",
                                 (double) (p->n_events * len) / (1 << 30), p->n_events,
                                 segment_size >> 20, (t1 - t0) / 1e9,
                                 (double) (p->n_events * len) / ((t1 - t0) / 1e3),
                                 (t2 - t1) / 1e9);
    note (msg);
    g_free (msg);
  }

out:
  sqlite3_finalize (ins);
  sqlite3_close (db);
  log_close (redex, file, NULL);
  for (j = 0; j < BATCH_SIZE; j++)
    g_bytes_unref (batch[j]);
  return ok;
}

static gboolean
netdb_open_run (gpointer data, double *out, GError **error)
{
  OpenParams *p = data;
  GArray *open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *close_ms = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ok = FALSE;
  guint k;

  for (k = 0; k < p->n_opens; k++)
    {
      NetRedex *redex;
      NetRedexFile *file;
      gint64 t0, t1, t2, t3;
      double v;

      t0 = now_ns ();
      redex = net_redex_new (p->dir, error);
      if (redex == NULL)
        goto out;
      file = net_redex_open_file (redex, LOG_NAME, NULL, error);
      t1 = now_ns ();
      if (file == NULL)
        {
          log_close (redex, NULL, NULL);
          goto out;
        }
      if (!check_next_seq (file, p->n_events + 1, error))
        {
          log_close (redex, file, NULL);
          goto out;
        }
      t2 = now_ns ();
      if (!log_close (redex, file, error))
        goto out;
      t3 = now_ns ();

      v = (t1 - t0) / 1e6;
      g_array_append_val (open_ms, v);
      v = (t3 - t2) / 1e6;
      g_array_append_val (close_ms, v);
    }
  out[0] = median (open_ms);
  out[1] = median (close_ms);
  ok = TRUE;

out:
  g_array_unref (open_ms);
  g_array_unref (close_ms);
  return ok;
}

static gboolean
sqlite_open_run (gpointer data, double *out, GError **error)
{
  OpenParams *p = data;
  GArray *open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *close_ms = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ok = FALSE;
  guint k;

  for (k = 0; k < p->n_opens; k++)
    {
      sqlite3 *db;
      sqlite3_stmt *stmt;
      gint64 t0, t1, t2, t3;
      sqlite3_int64 max_seq;
      double v;

      t0 = now_ns ();
      db = sq_open (p->sqlite_path, NULL, error);
      if (db == NULL)
        goto out;
      stmt = sq_prepare (db, "SELECT max(seq) FROM t", error);
      if (stmt == NULL || sqlite3_step (stmt) != SQLITE_ROW)
        {
          if (stmt != NULL)
            sq_error (db, error, "SELECT max(seq)");
          sqlite3_finalize (stmt);
          sqlite3_close (db);
          goto out;
        }
      max_seq = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
      t1 = now_ns ();
      if ((guint64) max_seq != p->n_events)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "max(seq) = %lld", (long long) max_seq);
          sqlite3_close (db);
          goto out;
        }
      t2 = now_ns ();
      sqlite3_close (db);
      t3 = now_ns ();

      v = (t1 - t0) / 1e6;
      g_array_append_val (open_ms, v);
      v = (t3 - t2) / 1e6;
      g_array_append_val (close_ms, v);
    }
  out[0] = median (open_ms);
  out[1] = median (close_ms);
  ok = TRUE;

out:
  g_array_unref (open_ms);
  g_array_unref (close_ms);
  return ok;
}

/* Opens (and fstats) every file under @dirfd, keeping them open in @fds. */
static gboolean
open_tree (int dir_fd, GArray *fds, GError **error)
{
  DIR *d = fdopendir (dir_fd);
  struct dirent *de;

  if (d == NULL)
    {
      close (dir_fd);
      return set_errno_error (error, errno, "fdopendir", "log directory");
    }
  while ((de = readdir (d)) != NULL)
    {
      struct stat st;
      int fd;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      fd = openat (dir_fd, de->d_name, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || fstat (fd, &st) != 0)
        {
          if (fd >= 0)
            close (fd);
          closedir (d);
          return set_errno_error (error, errno, "open", de->d_name);
        }
      if (S_ISDIR (st.st_mode))
        {
          if (!open_tree (fd, fds, error))
            {
              closedir (d);
              return FALSE;
            }
        }
      else
        g_array_append_val (fds, fd);
    }
  closedir (d);
  return TRUE;
}

static gboolean
raw_open_run (gpointer data, double *out, GError **error)
{
  OpenParams *p = data;
  GArray *open_ms = g_array_new (FALSE, FALSE, sizeof (double));
  GArray *close_ms = g_array_new (FALSE, FALSE, sizeof (double));
  gboolean ok = FALSE;
  guint k, i;

  for (k = 0; k < p->n_opens; k++)
    {
      GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
      gint64 t0, t1, t2;
      double v;
      int fd;

      t0 = now_ns ();
      fd = open (p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0)
        {
          set_errno_error (error, errno, "open", p->dir);
          g_array_unref (fds);
          goto out;
        }
      ok = open_tree (fd, fds, error);
      t1 = now_ns ();
      for (i = 0; i < fds->len; i++)
        close (g_array_index (fds, int, i));
      t2 = now_ns ();
      g_array_unref (fds);
      if (!ok)
        goto out;
      ok = FALSE;

      v = (t1 - t0) / 1e6;
      g_array_append_val (open_ms, v);
      v = (t2 - t1) / 1e6;
      g_array_append_val (close_ms, v);
    }
  out[0] = median (open_ms);
  out[1] = median (close_ms);
  ok = TRUE;

out:
  g_array_unref (open_ms);
  g_array_unref (close_ms);
  return ok;
}

static void
workload_open (void)
{
  Row *rows[2];
  OpenParams p;
  GError *error = NULL;
  double gib = opt_open_gib >= 0 ? opt_open_gib : bench.quick ? 1.0 / 64 : 1.0;
  guint64 segment_size = bench.quick && opt_open_gib < 0 ? 1 << 20 : 64 << 20;
  char *gib_label;
  char *id;

  gib_label = gib >= 1 ? g_strdup_printf ("%gGiB", gib) : g_strdup_printf ("%gMiB", gib * 1024);
  id = g_strdup_printf ("open/disk/%s", gib_label);
  rows[0] = row_new (id, KIND_MS, FALSE);
  g_free (id);
  id = g_strdup_printf ("open/disk/%s/close", gib_label);
  g_free (gib_label);
  rows[1] = row_new (id, KIND_MS, FALSE);
  g_free (id);
  if (!any_row (rows, 2))
    return;
  row_set_target (rows[0], TARGET_MAX, 50);

  memset (&p, 0, sizeof p);
  p.dir = scratch_dir_new ("netdb-open");
  p.sqlite_path = scratch_path ("sqlite-open.db");
  p.n_opens = MAX (5, 2 * (guint) bench.repeat + 1);

  if (!open_build (&p, (guint64) (gib * (1 << 30)), segment_size, &error))
    {
      g_printerr ("netdb-bench: open: building the data: %s\n", error->message);
      g_clear_error (&error);
      bench.n_errors++;
      if (rows[0] != NULL)
        rows[0]->failed[IMPL_NETDB] = TRUE;
    }
  else
    {
      measure3 (rows, 2, &p, netdb_open_run, sqlite_open_run, raw_open_run);
    }
  row_finish (rows[0]);
  row_finish (rows[1]);

  rm_rf (p.dir);
  sqlite_remove (p.sqlite_path);
  g_free (p.dir);
  g_free (p.sqlite_path);

  note ("open/*: net_redex_new() + net_redex_open_file() (default config) of the closed "
        "log above (sealed segments + the active one), page cache warm; /close = "
        "net_redex_close() right after. Each run is the median of several opens. sqlite: "
        "open + SELECT max(seq) of a WAL database of the same rows. raw: open()+fstat() "
        "of every file of the log directory (the floor of any open that looks at each "
        "segment).");
}

/* ------------------------------------------------------------------ */
/* Machine description                                                 */

static const char *
fs_type (const char *path)
{
  struct statfs sfs;

  if (statfs (path, &sfs) != 0)
    return "?";
  switch ((unsigned long) sfs.f_type)
    {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0xF2F52010: return "f2fs";
    default: return "other";
    }
}

/* ------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int status;

  bench_init ("netdb-bench", N_IMPL, impl_names, ratio_names, 37, 5);
  if (!bench_parse_options (option_entries,
                            "- benchmark the RedEX log against SQLite and raw system calls",
                            "Each cell is the median of --repeat runs. 'vs sql' and 'vs raw' say how many "
                            "times netdb is better than that baseline (above 1: netdb is faster). Copy a "
                            "--json output to bench/previous.json to see the change on the next run.",
                            &argc, &argv))
    return 2;
  if (bench.repeat < 1)
    {
      g_printerr ("%s: --repeat must be at least 1\n", bench.prog);
      return 2;
    }
  if (opt_open_gib > 1024)
    {
      g_printerr ("%s: --open-gib is at most 1024\n", bench.prog);
      return 2;
    }

  B.root = make_root (bench.dir, &error);
  if (B.root == NULL)
    {
      g_printerr ("%s: %s\n", bench.prog, error->message);
      g_error_free (error);
      return 1;
    }

  bench_start ("previous.json");
  bench_print_intro ("RedEX log vs SQLite %s vs raw system calls", sqlite3_libversion ());
  g_print ("files:   %s (%s)\n", B.root, fs_type (B.root));
  bench_print_runs ("sizes");
  g_print ("columns: vs sql / vs raw = how many times netdb is better than that baseline "
           "(>1: netdb faster); rates as events/s, with ns per event where useful\n");
  print_table_header ();

  workload_append_single ();
  workload_append_batch ();
  workload_durable ();
  workload_read_range ();
  workload_tail ();
  workload_open ();

  bench_have_rows ();
  status = bench_finish ();

  rm_rf (B.root);
  g_free (B.root);
  return status;
}
