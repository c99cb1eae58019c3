/* netdb-bench-db.c: whole-database snapshots, restores and checkpoints
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One persistent NetDb with the tasks model holds the population of the
 * models benchmark: N tasks with ids 1..N titled "task-<id>", every third
 * one (id % 3 == 0) completed.  The table shows
 *
 *   db/snapshot      net_db_snapshot(): its time and its size (the size per
 *                    task is in the notes)
 *   db/restore       net_db_open_from_snapshot() into memory, in tasks/s
 *   db/checkpoint    net_db_checkpoint() after one more event
 *   db/reopen        net_db_new() of the closed directory: from its
 *                    checkpoint (column "netdb") and, side by side, by
 *                    replaying the whole log (column "replay")
 *
 *   netdb-bench-db                       full run, N = 1 000 000
 *   netdb-bench-db --quick --repeat 1    smoke run, N = 10 000
 *   netdb-bench-db --json out.json       also write the figures; copy that file
 *                                        to bench/previous-db.json to compare the
 *                                        next run against it
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <netdb/netdb.h>

#include "bench-common.h"
#include "net-db-private.h"

#ifndef NETDB_BENCH_SRCDIR
# define NETDB_BENCH_SRCDIR "."
#endif

#define T0         G_GINT64_CONSTANT (1700000000000000)
#define N_FULL     1000000
#define N_QUICK    10000

static gint64 opt_n;

static const GOptionEntry option_entries[] = {
  BENCH_OPTION_QUICK ("N = 10 000 (smoke test; figures are not meaningful)"),
  BENCH_OPTION_REPEAT (3),
  { "tasks", 'n', 0, G_OPTION_ARG_INT64, &opt_n,
    "Population size (default 1 000 000; 10 000 with --quick)", "N" },
  BENCH_OPTION_DIR ("the database"),
  BENCH_OPTIONS_FIGURES ("previous-db.json"),
  { NULL }
};

enum { IMPL_NETDB, IMPL_REPLAY, N_IMPL };

static const char *const impl_names[N_IMPL] = { "netdb", "replay" };
static const char *const ratio_names[N_IMPL - 1] = { "vs rply" };

typedef struct
{
  guint64   n;
  char     *dir;
  char     *checkpoints;
  char     *checkpoints_off;
  NetDb    *db;         /* the writer, while the first rows run */
  GBytes   *snapshot;   /* the last one taken */
  guint64   renames;
} Env;


static gboolean
check_population (NetDb    *db,
                  guint64   n,
                  GError  **error)
{
  NetDbTasks *tasks = net_db_get_tasks (db);
  g_autoptr(NetTasksFilter) pending = net_tasks_filter_new ();

  net_tasks_filter_set_status (pending, NET_TASK_STATUS_PENDING);
  return check_count ("tasks", net_db_tasks_count (tasks, NULL), n, error) &&
         check_count ("pending tasks", net_db_tasks_count (tasks, pending), n - n / 3, error);
}

static gboolean
populate (Env     *env,
          GError **error)
{
  NetDbTasks *tasks;
  char title[32];

  env->db = net_db_new (env->dir, NET_DB_MODELS_TASKS, error);
  if (env->db == NULL)
    return FALSE;
  tasks = net_db_get_tasks (env->db);

  for (guint64 i = 1; i <= env->n; i++)
    {
      if (net_db_tasks_create (tasks, i, task_title (title, i), T0 + (gint64) i, error) == 0)
        return FALSE;
      if (i % 3 == 0 && net_db_tasks_complete (tasks, i, T0 + (gint64) (env->n + i), error) == 0)
        return FALSE;
    }
  drain_main_context ();
  return check_population (env->db, env->n, error);
}

/* Rows ------------------------------------------------------------------------- */

static gboolean
snapshot_run (gpointer   data,
              double    *out,
              GError   **error)
{
  Env *env = data;
  gint64 t0 = now_ns ();
  GBytes *bytes = net_db_snapshot (env->db, error);

  if (bytes == NULL)
    return FALSE;
  out[0] = (double) (now_ns () - t0) / 1e6;
  out[1] = (double) g_bytes_get_size (bytes);
  g_clear_pointer (&env->snapshot, g_bytes_unref);
  env->snapshot = bytes;
  return TRUE;
}

static gboolean
restore_run (gpointer   data,
             double    *out,
             GError   **error)
{
  Env *env = data;
  g_autoptr(NetDb) copy = NULL;
  gint64 t0 = now_ns (), elapsed;

  copy = net_db_open_from_snapshot (env->snapshot, NULL, NET_DB_MODELS_TASKS, error);
  if (copy == NULL)
    return FALSE;
  elapsed = now_ns () - t0;
  out[0] = rate (env->n, elapsed);

  if (!check_population (copy, env->n, error) ||
      !check_count ("events folded by a restore", _net_db_get_events_folded (copy), 0, error))
    return FALSE;
  return net_db_close (copy, error);
}

static gboolean
checkpoint_run (gpointer   data,
                double    *out,
                GError   **error)
{
  Env *env = data;
  char title[32];
  gint64 t0;

  /* One more event, or the checkpoint would be current already. */
  g_snprintf (title, sizeof title, "renamed-%" G_GUINT64_FORMAT, ++env->renames);
  if (net_db_tasks_rename (net_db_get_tasks (env->db), 1, title, 0, error) == 0)
    return FALSE;

  t0 = now_ns ();
  if (!net_db_checkpoint (env->db, error))
    return FALSE;
  out[0] = (double) (now_ns () - t0) / 1e6;
  return TRUE;
}

static guint64
total_events (Env *env)
{
  return env->n + env->n / 3 + env->renames;
}

static gboolean
reopen_checkpoint_run (gpointer   data,
                       double    *out,
                       GError   **error)
{
  Env *env = data;
  g_autoptr(NetDb) db = NULL;
  gint64 t0 = now_ns (), elapsed;

  db = net_db_new (env->dir, NET_DB_MODELS_TASKS, error);
  if (db == NULL)
    return FALSE;
  elapsed = now_ns () - t0;
  out[0] = (double) elapsed / 1e6;

  if (!check_population (db, env->n, error) ||
      !check_count ("events folded after the checkpoint", _net_db_get_events_folded (db), 0, error))
    return FALSE;
  return net_db_close (db, error);
}

static gboolean
reopen_replay_run (gpointer   data,
                   double    *out,
                   GError   **error)
{
  Env *env = data;
  g_autoptr(NetDb) db = NULL;
  gint64 t0, elapsed;
  gboolean ok;

  /* The same directory without its checkpoints. */
  if (g_rename (env->checkpoints, env->checkpoints_off) != 0)
    return set_errno_error (error, errno, "cannot rename", env->checkpoints);

  t0 = now_ns ();
  db = net_db_new (env->dir, NET_DB_MODELS_TASKS, error);
  elapsed = now_ns () - t0;
  out[0] = (double) elapsed / 1e6;

  ok = db != NULL &&
       check_population (db, env->n, error) &&
       check_count ("events folded without a checkpoint", _net_db_get_events_folded (db),
              total_events (env), error);
  if (db != NULL)
    {
      _net_db_set_checkpoint_on_close (db, FALSE);
      if (ok)
        ok = net_db_close (db, error);
    }
  g_clear_object (&db);

  if (g_rename (env->checkpoints_off, env->checkpoints) != 0)
    return set_errno_error (error, errno, "cannot rename", env->checkpoints_off);
  return ok;
}

/* An async open on this thread's loop, with a 5 ms timeout ticking on the
 * same loop: the longest gap between two ticks (or between the last tick
 * and the open's completion) is the longest the loop stalled. */
typedef struct
{
  gint64    last;
  gint64    max_gap;
  gboolean  done;
  NetDb    *db;
  GError   *error;
} Stall;

static void
stall_mark (Stall *s)
{
  gint64 now = g_get_monotonic_time ();

  s->max_gap = MAX (s->max_gap, now - s->last);
  s->last = now;
}

static gboolean
stall_tick_cb (gpointer data)
{
  stall_mark (data);
  return G_SOURCE_CONTINUE;
}

static void
stall_opened_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Stall *s = data;

  stall_mark (s);
  s->db = net_db_new_finish (result, &s->error);
  s->done = TRUE;
}

static gboolean
reopen_async_run (gpointer   data,
                  double    *out,
                  GError   **error)
{
  Env *env = data;
  Stall s = { .last = g_get_monotonic_time () };
  guint tick = g_timeout_add (5, stall_tick_cb, &s);
  gboolean ok;

  net_db_new_async (env->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, NULL, stall_opened_cb, &s);
  while (!s.done)
    g_main_context_iteration (NULL, TRUE);
  /* The first ticks after it: the owner's share of the open (attaching
   * its sources, the first fold dispatch). */
  for (guint i = 0; i < 3; i++)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  out[0] = (double) s.max_gap / 1e3;

  if (s.db == NULL)
    {
      g_propagate_error (error, s.error);
      return FALSE;
    }
  ok = check_population (s.db, env->n, error) && net_db_close (s.db, error);
  g_clear_object (&s.db);
  drain_main_context ();
  return ok;
}

static Row *
make_row (const char *what,
          const char *label,
          Kind        kind,
          gboolean    show_ns)
{
  g_autofree char *id = g_strdup_printf ("db/%s/%s-tasks", what, label);

  return row_new (id, kind, show_ns);
}

static void
run (Env *env)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *label = size_label (env->n);
  Row *snapshot_rows[2] = {
    make_row ("snapshot", label, KIND_MS, FALSE),
    make_row ("snapshot-size", label, KIND_BYTES, FALSE),
  };
  Row *restore_row = make_row ("restore", label, KIND_RATE, TRUE);
  Row *checkpoint_row = make_row ("checkpoint", label, KIND_MS, FALSE);
  Row *reopen_row = make_row ("reopen", label, KIND_MS, FALSE);
  Row *stall_row = make_row ("reopen-async-stall", label, KIND_MS, FALSE);
  Row *all[] = { snapshot_rows[0], snapshot_rows[1], restore_row, checkpoint_row, reopen_row, stall_row };

  if (env->db == NULL)
    {
      g_autoptr(GError) no_db = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                     "the population could not be made");

      fail_and_finish_rows (all, G_N_ELEMENTS (all), no_db);
      return;
    }

  {
    Job job = { snapshot_rows, 2, IMPL_NETDB, snapshot_run, env };

    run_jobs (&job, 1);
    row_finish (snapshot_rows[0]);
    row_finish (snapshot_rows[1]);
  }

  if (env->snapshot != NULL)
    {
      Job job = { &restore_row, 1, IMPL_NETDB, restore_run, env };

      run_jobs (&job, 1);
    }
  row_finish (restore_row);

  {
    Job job = { &checkpoint_row, 1, IMPL_NETDB, checkpoint_run, env };

    run_jobs (&job, 1);
    row_finish (checkpoint_row);
  }

  /* The writer closes (the close writes the last checkpoint), then the
   * directory is reopened both ways, interleaved. */
  if (!net_db_close (env->db, &error))
    {
      fail_and_finish_rows (&reopen_row, 1, error);
      fail_and_finish_rows (&stall_row, 1, error);
      return;
    }
  g_clear_object (&env->db);
  drain_main_context ();

  {
    Job jobs[N_IMPL] = {
      { &reopen_row, 1, IMPL_NETDB, reopen_checkpoint_run, env },
      { &reopen_row, 1, IMPL_REPLAY, reopen_replay_run, env },
    };

    run_jobs (jobs, N_IMPL);
    row_finish (reopen_row);
  }

  {
    Job job = { &stall_row, 1, IMPL_NETDB, reopen_async_run, env };

    run_jobs (&job, 1);
    row_finish (stall_row);
  }

  if (snapshot_rows[1] != NULL && !snapshot_rows[1]->failed[IMPL_NETDB])
    {
      g_autofree char *text = NULL;
      double size = snapshot_rows[1]->v[IMPL_NETDB];

      text = g_strdup_printf ("db/snapshot-size: %.0f bytes for %" G_GUINT64_FORMAT
                              " tasks = %.2f bytes/task after compression (zstd level 1); "
                              "db/snapshot is net_db_snapshot() alone.",
                              size, env->n, size / (double) env->n);
      note (text);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *root = NULL;
  Env env = { 0 };
  int status;

  bench_init ("netdb-bench-db", N_IMPL, impl_names, ratio_names, 30, 3);
  if (!bench_parse_options (option_entries,
                            "- benchmark whole-database snapshots and checkpoints",
                            "Each cell is the median of --repeat runs. On the db/reopen row, 'netdb' "
                            "opens from the checkpoint and folds nothing, 'replay' folds the whole log; "
                            "'vs rply' says how many times faster the checkpoint is.",
                            &argc, &argv))
    return 2;
  if (bench.repeat < 1 || opt_n < 0)
    {
      g_printerr ("%s: --repeat must be at least 1 and --tasks positive\n", bench.prog);
      return 2;
    }
  env.n = opt_n > 0 ? (guint64) opt_n : bench.quick ? N_QUICK : N_FULL;

  root = make_root (bench.dir, &error);
  if (root == NULL)
    {
      g_printerr ("%s: %s\n", bench.prog, error->message);
      return 1;
    }
  env.dir = g_build_filename (root, "db", NULL);
  env.checkpoints = g_build_filename (env.dir, "checkpoints", NULL);
  env.checkpoints_off = g_build_filename (env.dir, "checkpoints.off", NULL);

  bench_start ("previous-db.json");
  bench_print_intro ("whole-database snapshots, restores and checkpoints");
  bench_print_runs ("size");
  g_print ("db:      %s (fsync NEVER; a checkpoint and close still sync)\n", env.dir);

  {
    g_autofree char *label = size_label (env.n);
    gint64 t0 = now_ns ();

    g_print ("populate: %s tasks through the API ...", label);
    fflush (stdout);
    if (!populate (&env, &error))
      {
        g_printerr ("\n%s: %s\n", bench.prog, error->message);
        g_clear_error (&error);
        bench.n_errors++;
        if (env.db != NULL)
          net_db_close (env.db, NULL);
        g_clear_object (&env.db);
      }
    g_print (" %.1f s\n", (double) (now_ns () - t0) / 1e9);
  }
  print_table_header ();

  run (&env);

  note ("population: N tasks, ids 1..N, title \"task-<id>\", created at T0 + id; every third "
        "(id % 3 == 0) completed right after its creation (N + N/3 events in the log).");
  note ("db/restore: net_db_open_from_snapshot() of that snapshot into a database in memory "
        "(decompress, verify, rebuild the state and its indexes), in tasks per second.");
  note ("db/checkpoint: net_db_checkpoint() after one rename: snapshot, log sync, atomic write "
        "and fsync of <dir>/checkpoints/<generation>.ckpt.");
  note ("db/reopen: net_db_new() of the closed directory until it returns (the state is "
        "complete then). netdb: from the newest checkpoint, 0 events folded (checked); "
        "replay: the checkpoints moved aside, all N + N/3 events folded (checked). The page "
        "cache is warm for both.");
  note ("db/reopen-async-stall: net_db_new_async() of the same directory from its checkpoint, "
        "with a 5 ms timeout on the same main loop: the longest gap between two of its ticks "
        "(the open itself runs on a worker), until the first dispatches after the callback. "
        "A net_db_new() stalls the loop for the whole db/reopen time.");
  status = bench_finish ();

  if (env.db != NULL)
    net_db_close (env.db, NULL);
  g_clear_object (&env.db);
  g_clear_pointer (&env.snapshot, g_bytes_unref);
  drain_main_context ();
  rm_rf (root);
  g_free (env.dir);
  g_free (env.checkpoints);
  g_free (env.checkpoints_off);
  return status;
}
