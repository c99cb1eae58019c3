/* netdb-bench-watch.c: live queries (NetQueryModel) against re-running the query
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * An in-memory NetDb with the tasks model holds the population of the
 * models benchmark: N tasks with ids 1..N titled "task-<id>", every third
 * one (id % 3 == 0) completed.  A `pending` query is kept live two ways,
 * side by side in the same run:
 *
 *   netdb     net_db_tasks_watch(): a NetQueryModel, updated from the fold's
 *             dispatch with positional diffs
 *   requery   what the reference implementation does: on each ::changed,
 *             net_db_tasks_find_many() of the filter again, and an O(n) walk
 *             of the new result against the previous one for the changed
 *             range
 *
 * The table shows
 *
 *   watch/<change>/<N>-tasks/batch-<b>   the mutation plus the dispatch that
 *                                        delivers it, per change, with b
 *                                        changes per dispatch; <change> is
 *                                        insert (a new id), complete (a
 *                                        pending task leaves) or rename (in
 *                                        place)
 *   watch/latency-p50|p99/<N>-tasks      from a mutation on another thread to
 *                                        the handler that sees it, at a steady
 *                                        rate
 *   watch/filter-narrow|widen/<M>-pending  a new filter on a query over M
 *                                        pending tasks (a database of its own):
 *                                        title-contains that keeps about half,
 *                                        then back; until set_filter() returns
 *   watch-stall/<N>-tasks                watch(NULL) over the N tasks while a
 *                                        5 ms timeout ticks on the same loop:
 *                                        the longest gap between two ticks (or
 *                                        from the watch() call to the first);
 *                                        the second column is the synchronous
 *                                        fill (incremental = FALSE), which
 *                                        holds the loop for all of it
 *   watch-fill/<N>-tasks                 the same fills, from the watch() call
 *                                        until the model holds every task
 *
 *   netdb-bench-watch                       full run, N = 1 000 000, M = 100 000
 *   netdb-bench-watch --quick --repeat 1    smoke run, N = 10 000, M = 10 000
 *   netdb-bench-watch --only latency        only the matching workloads
 *   netdb-bench-watch --json out.json       also write the figures; copy that
 *                                           file to bench/previous-watch.json to
 *                                           compare the next run against it
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include <netdb/netdb.h>

#include "bench-common.h"

#ifndef NETDB_BENCH_SRCDIR
# define NETDB_BENCH_SRCDIR "."
#endif

#define T0              G_GINT64_CONSTANT (1700000000000000)
#define N_FULL          1000000
#define N_QUICK         10000
#define N_FILTER_FULL   150000    /* 100 000 pending */
#define N_FILTER_QUICK  15000     /* 10 000 pending */
#define NARROW_NEEDLE   "2"       /* in about 43% of the titles of 150 000 */
#define BIG_BATCH       64
#define LATENCY_RATE    2000      /* mutations per second */
#define TARGET_CHANGE_NS  10000.0
#define TARGET_P99_NS     1e6
#define TARGET_FILTER_MS  50.0
#define TARGET_STALL_MS   16.0      /* a frame */
#define TICK_MS           5

static gint64 opt_n;
static gint64 opt_filter_n;
static double opt_seconds;

static const GOptionEntry option_entries[] = {
  BENCH_OPTION_QUICK ("N = 10 000 and fewer changes (smoke test; figures are not meaningful)"),
  BENCH_OPTION_REPEAT (3),
  { "tasks", 'n', 0, G_OPTION_ARG_INT64, &opt_n,
    "Population of the change and latency workloads (default 1 000 000; 10 000 with --quick)", "N" },
  { "filter-tasks", 0, 0, G_OPTION_ARG_INT64, &opt_filter_n,
    "Population of the filter workload, 2/3 of it pending (default 150 000; 15 000 with --quick)", "N" },
  { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
    "Length of one latency run at 2 000 mutations/s (default 2; 0.5 with --quick)", "S" },
  BENCH_OPTION_ONLY,
  BENCH_OPTIONS_FIGURES ("previous-watch.json"),
  BENCH_OPTION_NO_BASELINES ("Measure netdb only (for profiling)"),
  { NULL }
};

enum { IMPL_NETDB, IMPL_REQUERY, N_IMPL };

/* Not a column: the mutations and their dispatch with nothing watching,
 * for the notes (how much of a change is the watch's). */
#define IMPL_BARE N_IMPL
G_STATIC_ASSERT (IMPL_BARE < BENCH_MAX_IMPL);

static const char *const impl_names[N_IMPL + 1] = { "netdb", "requery", "bare" };
static const char *const ratio_names[N_IMPL - 1] = { "vs rq" };

typedef enum
{
  CHANGE_INSERT,
  CHANGE_COMPLETE,
  CHANGE_RENAME,
  N_CHANGES
} ChangeKind;

static const char *const change_names[N_CHANGES] = { "insert", "complete", "rename" };

enum { BATCH_ONE, BATCH_BIG, N_BATCHES };

static const guint batch_sizes[N_BATCHES] = { 1, BIG_BATCH };

/* The population ------------------------------------------------------------ */

typedef struct
{
  guint64         n;
  NetDb          *db;
  NetDbTasks     *tasks;
  NetTasksFilter *pending;
  guint64         next_id;   /* fresh ids for inserts, past n */
  guint64         cursor;    /* into the permutation of 1..n */
  guint64         stride;

  /* What the last runs saw, for the notes. */
  guint64         emissions[N_CHANGES][N_BATCHES][N_IMPL + 1];
  guint64         changes[N_CHANGES][N_BATCHES][N_IMPL + 1];
  double          open_ms[N_IMPL + 1];
  double          latency_max_ns[N_IMPL];
  double          latency_per_dispatch[N_IMPL];
  guint           stall_ticks;
  double          stall_cpu_ms;   /* the longest iteration, in CPU time */
} Env;


static guint64
gcd (guint64 a, guint64 b)
{
  while (b != 0)
    {
      guint64 t = a % b;

      a = b;
      b = t;
    }
  return a;
}

static NetTasksFilter *
pending_filter (const char *title_contains)
{
  return g_object_new (NET_TYPE_TASKS_FILTER,
                       "status", NET_TASK_STATUS_PENDING,
                       "title-contains", title_contains,
                       NULL);
}

static gboolean
env_populate (Env      *env,
              guint64   n,
              GError  **error)
{
  char title[32];

  env->n = n;
  env->next_id = n + 1;
  /* A stride coprime with n walks 1..n in a scattered order, so that the
   * changes land all over the indexes rather than in one warm leaf. */
  env->stride = 2654435761u % n;
  while (env->stride < 2 || gcd (env->stride, n) != 1)
    env->stride++;

  env->db = net_db_new (NULL, NET_DB_MODELS_TASKS, error);
  if (env->db == NULL)
    return FALSE;
  env->tasks = net_db_get_tasks (env->db);
  env->pending = pending_filter (NULL);

  for (guint64 i = 1; i <= n; i++)
    {
      if (net_db_tasks_create (env->tasks, i, task_title (title, i), T0 + (gint64) i, error) == 0)
        return FALSE;
      if (i % 3 == 0 && net_db_tasks_complete (env->tasks, i, T0 + (gint64) (n + i), error) == 0)
        return FALSE;
    }
  drain_main_context ();

  /* Every task gets its NetTask now: the requery's find_many() makes them
   * anyway (they then live as long as the task), so both columns see the
   * same state, and a rename notifies on a live item. */
  g_ptr_array_unref (net_db_tasks_find_many (env->tasks, NULL));

  return check_count ("tasks", net_db_tasks_count (env->tasks, NULL), n, error) &&
         check_count ("pending tasks", net_db_tasks_count (env->tasks, env->pending), n - n / 3, error);
}

static void
env_clear (Env *env)
{
  g_clear_object (&env->pending);
  if (env->db != NULL)
    net_db_close (env->db, NULL);
  g_clear_object (&env->db);
  drain_main_context ();
}

/* The next pending task in the scattered order. */
static guint64
next_pending (Env *env)
{
  for (;;)
    {
      guint64 id = (env->cursor++ % env->n) * env->stride % env->n + 1;

      if (id % 3 != 0)
        return id;
    }
}

/* Observers: the live model, or the requery ----------------------------------- */

typedef struct
{
  gint64  *t_send;     /* written by the writer before each mutation */
  gint64  *lat;        /* ns, per mutation, in the order sent */
  guint    n;
  guint    delivered;
  guint    deliveries;
} Latency;

typedef struct
{
  guint            impl;
  NetDbTasks      *tasks;
  NetTasksFilter  *filter;

  NetQueryModel   *watch;          /* netdb */
  gulong           handler_id;
  GPtrArray       *result;         /* requery: the current contents */
  guint64          delivered_seq;  /* requery */

  guint64          emissions;      /* items-changed, or ranges the walk found */
  Latency         *latency;
} Observer;

static void
observer_delivered (Observer *o,
                    guint     added)
{
  Latency *l = o->latency;
  gint64 t;

  if (l == NULL || added == 0)
    return;
  /* New ids arrive at the end in the order they were sent. */
  t = now_ns ();
  l->deliveries++;
  for (guint i = 0; i < added && l->delivered < l->n; i++, l->delivered++)
    l->lat[l->delivered] = t - l->t_send[l->delivered];
}

static void
watch_items_changed_cb (GListModel *model,
                        guint       position,
                        guint       removed,
                        guint       added,
                        gpointer    user_data)
{
  Observer *o = user_data;

  o->emissions++;
  observer_delivered (o, added);
}

/* The changed range between two results: one O(n) walk from each end. */
static gboolean
diff_range (GPtrArray *before,
            GPtrArray *after,
            guint     *pos,
            guint     *removed,
            guint     *added)
{
  guint prefix = 0, suffix = 0;

  while (prefix < before->len && prefix < after->len &&
         before->pdata[prefix] == after->pdata[prefix])
    prefix++;
  while (suffix < before->len - prefix && suffix < after->len - prefix &&
         before->pdata[before->len - 1 - suffix] == after->pdata[after->len - 1 - suffix])
    suffix++;

  *pos = prefix;
  *removed = before->len - prefix - suffix;
  *added = after->len - prefix - suffix;
  return *removed > 0 || *added > 0;
}

/* Re-runs the query and replaces @result by the new one; TRUE when the
 * walk found a changed range. */
static gboolean
requery (NetDbTasks      *tasks,
         NetTasksFilter  *filter,
         GPtrArray      **result,
         guint           *added)
{
  GPtrArray *now = net_db_tasks_find_many (tasks, filter);
  guint pos, removed;
  gboolean changed;

  changed = diff_range (*result, now, &pos, &removed, added);
  g_ptr_array_unref (*result);
  *result = now;
  return changed;
}

static void
requery_changed_cb (NetDbTasks *tasks,
                    guint64     first_seq,
                    guint64     last_seq,
                    gpointer    user_data)
{
  Observer *o = user_data;
  guint added = 0;

  if (requery (tasks, o->filter, &o->result, &added))
    o->emissions++;
  o->delivered_seq = last_seq;
  observer_delivered (o, added);
}

static void
bare_changed_cb (NetDbTasks *tasks,
                 guint64     first_seq,
                 guint64     last_seq,
                 gpointer    user_data)
{
  ((Observer *) user_data)->delivered_seq = last_seq;
}

static void
observer_open (Observer       *o,
               Env            *env,
               guint           impl,
               Latency        *latency)
{
  gint64 t0 = now_ns ();

  memset (o, 0, sizeof *o);
  o->impl = impl;
  o->tasks = env->tasks;
  o->filter = env->pending;
  o->latency = latency;

  if (impl == IMPL_NETDB)
    {
      o->watch = net_db_tasks_watch (env->tasks, env->pending);
      /* Full before the changes: no fill step runs among them. */
      net_query_model_set_incremental (o->watch, FALSE);
      o->handler_id = g_signal_connect (o->watch, "items-changed",
                                        G_CALLBACK (watch_items_changed_cb), o);
    }
  else if (impl == IMPL_REQUERY)
    {
      o->result = net_db_tasks_find_many (env->tasks, env->pending);
      o->delivered_seq = net_db_tasks_get_applied_seq (env->tasks);
      o->handler_id = g_signal_connect (env->tasks, "changed",
                                        G_CALLBACK (requery_changed_cb), o);
    }
  else
    {
      /* Only the seq, to know when the dispatch happened. */
      o->delivered_seq = net_db_tasks_get_applied_seq (env->tasks);
      o->handler_id = g_signal_connect (env->tasks, "changed",
                                        G_CALLBACK (bare_changed_cb), o);
    }
  env->open_ms[impl] = (double) (now_ns () - t0) / 1e6;
}

static void
observer_close (Observer *o)
{
  if (o->watch != NULL)
    {
      g_clear_signal_handler (&o->handler_id, o->watch);
      g_clear_object (&o->watch);
    }
  else
    {
      g_clear_signal_handler (&o->handler_id, o->tasks);
      g_clear_pointer (&o->result, g_ptr_array_unref);
    }
}

static inline guint64
observer_seq (Observer *o)
{
  return o->watch != NULL ? net_query_model_get_seq (o->watch) : o->delivered_seq;
}

static guint
observer_n_items (Observer *o)
{
  if (o->watch != NULL)
    return g_list_model_get_n_items (G_LIST_MODEL (o->watch));
  if (o->result != NULL)
    return o->result->len;
  return net_db_tasks_count (o->tasks, o->filter);
}

/* Runs the dispatches until @o has seen @seq.  Mutations on this thread
 * have made the fold's source ready already, so this never blocks. */
static gboolean
observer_wait (Observer  *o,
               guint64    seq,
               GError   **error)
{
  guint idle = 0;

  while (observer_seq (o) < seq)
    if (!g_main_context_iteration (NULL, FALSE) && ++idle > 1000000)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                     "seq %" G_GUINT64_FORMAT " was never delivered (at %" G_GUINT64_FORMAT ")",
                     seq, observer_seq (o));
        return FALSE;
      }
  return TRUE;
}

/* Cost per delivered change --------------------------------------------------- */

typedef struct
{
  Env        *env;
  ChangeKind  kind;
  guint       batch;   /* BATCH_ONE or BATCH_BIG */
  guint       impl;
} ChangeJob;

static guint
changes_per_run (const ChangeJob *job)
{
  guint n;

  if (job->impl != IMPL_REQUERY)
    n = bench.quick ? 1024 : 16384;
  /* Every dispatch re-runs the query over all pending tasks. */
  else if (job->batch == BATCH_ONE)
    n = bench.quick ? 64 : 12;
  else
    n = BIG_BATCH * (bench.quick ? 8 : 3);

  /* Each pending task changes at most once a run. */
  if (job->kind != CHANGE_INSERT)
    n = (guint) MIN (n, job->env->n - job->env->n / 3);
  return n;
}

static guint64
mutate (Env         *env,
        ChangeKind   kind,
        guint64      id,
        GError     **error)
{
  char title[48];

  switch (kind)
    {
    case CHANGE_INSERT:
      return net_db_tasks_create (env->tasks, id, task_title (title, id), 0, error);
    case CHANGE_COMPLETE:
      return net_db_tasks_complete (env->tasks, id, 0, error);
    case CHANGE_RENAME:
      g_snprintf (title, sizeof title, "task-%" G_GUINT64_FORMAT "-renamed", id);
      return net_db_tasks_rename (env->tasks, id, title, 0, error);
    case N_CHANGES:
    default:
      g_assert_not_reached ();
    }
  return 0;
}

/* Puts the population back as it was, with nothing watching. */
static gboolean
undo (Env         *env,
      ChangeKind   kind,
      guint64     *ids,
      guint        n_ids,
      GError     **error)
{
  char title[32];

  for (guint i = 0; i < n_ids; i++)
    {
      guint64 seq;

      if (kind == CHANGE_INSERT)
        seq = net_db_tasks_delete (env->tasks, ids[i], error);
      else if (kind == CHANGE_COMPLETE)
        seq = net_db_tasks_create (env->tasks, ids[i], task_title (title, ids[i]),
                                   T0 + (gint64) ids[i], error);
      else
        seq = net_db_tasks_rename (env->tasks, ids[i], task_title (title, ids[i]), 0, error);
      if (seq == 0)
        return FALSE;
    }
  drain_main_context ();
  return check_count ("pending tasks after the run", net_db_tasks_count (env->tasks, env->pending),
                env->n - env->n / 3, error);
}

static gboolean
change_run (gpointer   data,
            double    *out,
            GError   **error)
{
  ChangeJob *job = data;
  Env *env = job->env;
  guint n_changes = changes_per_run (job);
  guint batch = batch_sizes[job->batch];
  g_autofree guint64 *ids = g_new (guint64, n_changes);
  guint64 n_before, expected;
  gint64 t0, elapsed;
  gboolean ok = TRUE;
  Observer o;
  guint i;

  for (i = 0; i < n_changes; i++)
    ids[i] = job->kind == CHANGE_INSERT ? env->next_id++ : next_pending (env);

  observer_open (&o, env, job->impl, NULL);
  n_before = observer_n_items (&o);

  t0 = now_ns ();
  for (i = 0; i < n_changes && ok; )
    {
      guint64 seq = 0;

      for (guint j = 0; j < batch && i < n_changes; j++, i++)
        if ((seq = mutate (env, job->kind, ids[i], error)) == 0)
          break;
      ok = seq != 0 && observer_wait (&o, seq, error);
    }
  elapsed = now_ns () - t0;

  if (ok)
    {
      expected = job->kind == CHANGE_INSERT ? n_before + n_changes
               : job->kind == CHANGE_COMPLETE ? n_before - n_changes
               : n_before;
      ok = check_count ("items after the changes", observer_n_items (&o), expected, error) &&
           check_count ("pending tasks after the changes",
                  net_db_tasks_count (env->tasks, env->pending), expected, error);
    }
  env->emissions[job->kind][job->batch][job->impl] = o.emissions;
  env->changes[job->kind][job->batch][job->impl] = n_changes;
  observer_close (&o);

  /* Undone even after a failure, for the rows that follow. */
  if (!undo (env, job->kind, ids, n_changes, ok ? error : NULL))
    return FALSE;
  out[0] = (double) elapsed / n_changes;
  return ok;
}

/* Latency from another thread ----------------------------------------------- */

typedef struct
{
  Env          *env;
  Latency      *latency;
  guint64       first_id;
  gint64        period_ns;
  GMainContext *context;
  gint          n_sent;   /* atomic */
  gint          done;     /* atomic */
  GError       *error;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  char title[32];
  gint64 start = now_ns ();

  for (guint k = 0; k < w->latency->n; k++)
    {
      gint64 due = start + (gint64) k * w->period_ns;
      gint64 t;
      guint64 id = w->first_id + k;

      /* A fixed schedule: a late mutation is not followed by a gap. */
      while ((t = now_ns ()) < due)
        g_usleep (MAX (1, (due - t) / 1000));
      w->latency->t_send[k] = t;
      if (net_db_tasks_create (w->env->tasks, id, task_title (title, id), 0, &w->error) == 0)
        break;
      g_atomic_int_inc (&w->n_sent);
    }

  g_atomic_int_set (&w->done, 1);
  g_main_context_wakeup (w->context);
  return NULL;
}

static gboolean
guard_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef struct
{
  Env   *env;
  guint  impl;
} LatencyJob;

static double
latency_seconds (void)
{
  return opt_seconds > 0 ? opt_seconds : bench.quick ? 0.5 : 2.0;
}

static gboolean
latency_run (gpointer   data,
             double    *out,
             GError   **error)
{
  LatencyJob *job = data;
  Env *env = job->env;
  guint n = (guint) (LATENCY_RATE * latency_seconds ());
  Latency latency = { 0 };
  Writer w = { 0 };
  g_autofree guint64 *ids = g_new (guint64, n);
  gboolean timed_out = FALSE;
  GThread *thread;
  guint guard;
  Observer o;
  guint64 n_before;
  gboolean ok;

  latency.n = n;
  latency.t_send = g_new0 (gint64, n);
  latency.lat = g_new0 (gint64, n);

  w.env = env;
  w.latency = &latency;
  w.first_id = env->next_id;
  w.period_ns = G_NSEC_PER_SEC / LATENCY_RATE;
  w.context = g_main_context_default ();
  for (guint k = 0; k < n; k++)
    ids[k] = env->next_id++;

  observer_open (&o, env, job->impl, &latency);
  n_before = observer_n_items (&o);

  guard = g_timeout_add_seconds ((guint) latency_seconds () + 60, guard_cb, &timed_out);
  thread = g_thread_new ("bench-writer", writer_thread, &w);
  while (!timed_out &&
         !(g_atomic_int_get (&w.done) && latency.delivered >= (guint) g_atomic_int_get (&w.n_sent)))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  if (!timed_out)
    g_source_remove (guard);

  ok = w.error == NULL && !timed_out &&
       check_count ("mutations delivered", latency.delivered, n, error) &&
       check_count ("items after the run", observer_n_items (&o), n_before + n, error);
  if (w.error != NULL)
    g_propagate_error (error, g_steal_pointer (&w.error));
  else if (timed_out && error != NULL && *error == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "only %u of %u mutations delivered",
                 latency.delivered, n);

  if (ok)
    {
      qsort (latency.lat, n, sizeof (gint64), compare_i64);
      out[0] = percentile (latency.lat, n, 50);
      out[1] = percentile (latency.lat, n, 99);
      env->latency_max_ns[job->impl] = (double) latency.lat[n - 1];
      env->latency_per_dispatch[job->impl] = latency.deliveries > 0 ? (double) n / latency.deliveries : 0;
    }
  observer_close (&o);
  g_free (latency.t_send);
  g_free (latency.lat);

  /* Only what was sent is undone. */
  return undo (env, CHANGE_INSERT, ids, (guint) g_atomic_int_get (&w.n_sent), ok ? error : NULL) && ok;
}

/* A filter change ------------------------------------------------------------- */

typedef struct
{
  Env             *env;      /* a population of its own */
  NetTasksFilter  *narrow;   /* pending, title contains NARROW_NEEDLE */
  guint            n_wide;
  guint            n_narrow;
  NetQueryModel   *watch;    /* netdb: open over the pending tasks */
  guint            emissions;
  guint            last_change[3];
  GPtrArray       *result;   /* requery: the current contents */
} FilterEnv;

typedef struct
{
  FilterEnv *fenv;
  guint      impl;
} FilterJob;

static void
filter_items_changed_cb (GListModel *model,
                         guint       position,
                         guint       removed,
                         guint       added,
                         gpointer    user_data)
{
  FilterEnv *fenv = user_data;

  fenv->emissions++;
  fenv->last_change[0] = position;
  fenv->last_change[1] = removed;
  fenv->last_change[2] = added;
}

static gboolean
filter_run (gpointer   data,
            double    *out,
            GError   **error)
{
  FilterJob *job = data;
  FilterEnv *fenv = job->fenv;
  NetDbTasks *tasks = fenv->env->tasks;
  NetTasksFilter *wide = fenv->env->pending;
  gint64 t0, t1, t2;
  guint added;

  if (job->impl == IMPL_NETDB)
    {
      if (fenv->watch == NULL)
        {
          fenv->watch = net_db_tasks_watch (tasks, wide);
          /* The whole refill until set_filter() returns, as before fills
           * in steps (watch-stall measures those). */
          net_query_model_set_incremental (fenv->watch, FALSE);
          g_signal_connect (fenv->watch, "items-changed", G_CALLBACK (filter_items_changed_cb), fenv);
        }
      fenv->emissions = 0;

      t0 = now_ns ();
      net_query_model_set_filter (fenv->watch, G_OBJECT (fenv->narrow));
      t1 = now_ns ();
      if (!check_count ("items after narrowing", g_list_model_get_n_items (G_LIST_MODEL (fenv->watch)),
                  fenv->n_narrow, error))
        return FALSE;
      net_query_model_set_filter (fenv->watch, G_OBJECT (wide));
      t2 = now_ns ();
      if (!check_count ("items after widening", g_list_model_get_n_items (G_LIST_MODEL (fenv->watch)),
                  fenv->n_wide, error) ||
          !check_count ("items-changed emissions", fenv->emissions, 2, error))
        return FALSE;
    }
  else
    {
      if (fenv->result == NULL)
        fenv->result = net_db_tasks_find_many (tasks, wide);

      t0 = now_ns ();
      requery (tasks, fenv->narrow, &fenv->result, &added);
      t1 = now_ns ();
      if (!check_count ("items after narrowing", fenv->result->len, fenv->n_narrow, error))
        return FALSE;
      requery (tasks, wide, &fenv->result, &added);
      t2 = now_ns ();
      if (!check_count ("items after widening", fenv->result->len, fenv->n_wide, error))
        return FALSE;
    }

  out[0] = (double) (t1 - t0) / 1e6;
  out[1] = (double) (t2 - t1) / 1e6;
  return TRUE;
}

static void
filter_env_clear (FilterEnv *fenv)
{
  g_clear_object (&fenv->watch);
  g_clear_pointer (&fenv->result, g_ptr_array_unref);
  g_clear_object (&fenv->narrow);
  env_clear (fenv->env);
}

/* A fill over a large table ----------------------------------------------------- */

typedef struct
{
  Env       *env;
  guint      impl;
} StallJob;

typedef struct
{
  gint64  last;
  gint64  max_gap;
  guint   ticks;
} Ticks;

/* This thread's CPU time: what the loop spent, whoever else ran. */
static gint64
thread_cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static gboolean
stall_tick_cb (gpointer data)
{
  Ticks *t = data;
  gint64 now = now_ns ();

  t->max_gap = MAX (t->max_gap, now - t->last);
  t->last = now;
  t->ticks++;
  return G_SOURCE_CONTINUE;
}

/* A filter no task passes, by the bounds of its order key: its watch is
 * empty and synchronous. */
static NetTasksFilter *
nothing_filter (void)
{
  return g_object_new (NET_TYPE_TASKS_FILTER,
                       "order-by", NET_ORDER_BY_CREATED_ASC,
                       "created-after", G_MAXINT64 - 1,
                       NULL);
}

static gboolean
stall_run (gpointer   data,
           double    *out,
           GError   **error)
{
  StallJob *job = data;
  Env *env = job->env;
  g_autoptr(NetQueryModel) model = NULL;
  Ticks t = { 0, };
  gint64 t0, t1, c0, cpu_max;
  guint timeout, guard = 0;

  drain_main_context ();
  if (job->impl == IMPL_NETDB)
    {
      timeout = g_timeout_add (TICK_MS, stall_tick_cb, &t);
      t0 = t.last = now_ns ();
      c0 = thread_cpu_ns ();
      model = net_db_tasks_watch (env->tasks, NULL);
      cpu_max = thread_cpu_ns () - c0;
      while (net_query_model_get_pending (model) > 0 && ++guard < 100000000)
        {
          c0 = thread_cpu_ns ();
          g_main_context_iteration (NULL, TRUE);
          cpu_max = MAX (cpu_max, thread_cpu_ns () - c0);
        }
      env->stall_cpu_ms = (double) cpu_max / 1e6;
      t1 = now_ns ();
      /* Up to the end: the last step counts too. */
      t.max_gap = MAX (t.max_gap, t1 - t.last);
      g_source_remove (timeout);
    }
  else
    {
      g_autoptr(NetTasksFilter) nothing = nothing_filter ();

      /* The synchronous fill as watch() made it before fills in steps:
       * nothing runs on the loop until it returns. */
      model = net_db_tasks_watch (env->tasks, nothing);
      if (!check_count ("items of the empty watch", g_list_model_get_n_items (G_LIST_MODEL (model)),
                        0, error))
        return FALSE;
      net_query_model_set_incremental (model, FALSE);
      t0 = now_ns ();
      net_query_model_set_filter (model, NULL);
      t1 = now_ns ();
      t.max_gap = t1 - t0;
    }

  if (!check_count ("items after the fill", g_list_model_get_n_items (G_LIST_MODEL (model)),
                    net_db_tasks_count (env->tasks, NULL), error) ||
      !check_count ("pending after the fill", net_query_model_get_pending (model), 0, error))
    return FALSE;
  if (job->impl == IMPL_NETDB)
    env->stall_ticks = t.ticks;

  out[0] = (double) t.max_gap / 1e6;
  out[1] = (double) (t1 - t0) / 1e6;
  return TRUE;
}

/* Rows ------------------------------------------------------------------------- */

typedef struct
{
  Row *change[N_CHANGES][N_BATCHES];
  Row *latency[2];
  Row *filter[2];
  Row *stall[2];       /* the longest stall, the whole fill */
} Rows;

static void
make_rows (Rows    *rows,
           guint64  n,
           guint64  n_filter_pending)
{
  g_autofree char *label = size_label (n);
  g_autofree char *flabel = size_label (n_filter_pending);
  char *id;

  for (guint k = 0; k < N_CHANGES; k++)
    for (guint b = 0; b < N_BATCHES; b++)
      {
        id = g_strdup_printf ("watch/%s/%s-tasks/batch-%u", change_names[k], label, batch_sizes[b]);
        rows->change[k][b] = row_new (id, KIND_NS, FALSE);
        row_set_target (rows->change[k][b], TARGET_MAX, TARGET_CHANGE_NS);
        g_free (id);
      }

  id = g_strdup_printf ("watch/latency-p50/%s-tasks", label);
  rows->latency[0] = row_new (id, KIND_NS, FALSE);
  g_free (id);
  id = g_strdup_printf ("watch/latency-p99/%s-tasks", label);
  rows->latency[1] = row_new (id, KIND_NS, FALSE);
  row_set_target (rows->latency[1], TARGET_MAX, TARGET_P99_NS);
  g_free (id);

  id = g_strdup_printf ("watch/filter-narrow/%s-pending", flabel);
  rows->filter[0] = row_new (id, KIND_MS, FALSE);
  row_set_target (rows->filter[0], TARGET_MAX, TARGET_FILTER_MS);
  g_free (id);
  id = g_strdup_printf ("watch/filter-widen/%s-pending", flabel);
  rows->filter[1] = row_new (id, KIND_MS, FALSE);
  row_set_target (rows->filter[1], TARGET_MAX, TARGET_FILTER_MS);
  g_free (id);

  id = g_strdup_printf ("watch-stall/%s-tasks", label);
  rows->stall[0] = row_new (id, KIND_MS, FALSE);
  row_set_target (rows->stall[0], TARGET_MAX, TARGET_STALL_MS);
  g_free (id);
  id = g_strdup_printf ("watch-fill/%s-tasks", label);
  rows->stall[1] = row_new (id, KIND_MS, FALSE);
  g_free (id);
}

static void
run_changes (Env  *env,
             Rows *rows)
{
  for (guint k = 0; k < N_CHANGES; k++)
    for (guint b = 0; b < N_BATCHES; b++)
      {
        ChangeJob data[N_IMPL + 1];
        Job jobs[N_IMPL + 1];

        for (guint i = 0; i <= IMPL_BARE; i++)
          {
            data[i] = (ChangeJob) { env, k, b, i };
            jobs[i] = (Job) { &rows->change[k][b], 1, i, change_run, &data[i] };
          }
        run_jobs (jobs, N_IMPL + 1);
        row_finish (rows->change[k][b]);
      }
}

static void
run_latency (Env  *env,
             Rows *rows)
{
  LatencyJob data[N_IMPL];
  Job jobs[N_IMPL];

  for (guint i = 0; i < N_IMPL; i++)
    {
      data[i] = (LatencyJob) { env, i };
      jobs[i] = (Job) { rows->latency, 2, i, latency_run, &data[i] };
    }
  run_jobs (jobs, N_IMPL);
  row_finish (rows->latency[0]);
  row_finish (rows->latency[1]);
}

static void
run_filter (FilterEnv *fenv,
            Rows      *rows)
{
  FilterJob data[N_IMPL];
  Job jobs[N_IMPL];

  for (guint i = 0; i < N_IMPL; i++)
    {
      data[i] = (FilterJob) { fenv, i };
      jobs[i] = (Job) { rows->filter, 2, i, filter_run, &data[i] };
    }
  run_jobs (jobs, N_IMPL);
  row_finish (rows->filter[0]);
  row_finish (rows->filter[1]);
}

static void
run_stall (Env  *env,
           Rows *rows)
{
  StallJob data[N_IMPL];
  Job jobs[N_IMPL];

  for (guint i = 0; i < N_IMPL; i++)
    {
      data[i] = (StallJob) { env, i };
      jobs[i] = (Job) { rows->stall, 2, i, stall_run, &data[i] };
    }
  run_jobs (jobs, N_IMPL);
  row_finish (rows->stall[0]);
  row_finish (rows->stall[1]);
}

static gboolean
populate (Env         *env,
          guint64      n,
          const char  *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *label = size_label (n);
  gint64 t0 = now_ns ();
  gboolean ok;

  g_print ("populate: %s tasks through the API%s ...", label, what);
  fflush (stdout);
  ok = env_populate (env, n, &error);
  if (!ok)
    {
      g_printerr ("\n%s: %s\n", bench.prog, error->message);
      bench.n_errors++;
      env_clear (env);
    }
  g_print (" %.1f s\n", (double) (now_ns () - t0) / 1e9);
  return ok;
}

static void
add_notes (Env       *env,
           FilterEnv *fenv,
           Rows      *rows)
{
  g_autofree char *text = NULL;
  GString *s;

  if (env->db != NULL && any_row (&rows->change[0][0], N_CHANGES * N_BATCHES))
    {
      s = g_string_new ("watch/<change>: netdb's items-changed emissions in the last run:");
      for (guint k = 0; k < N_CHANGES; k++)
        for (guint b = 0; b < N_BATCHES; b++)
          if (rows->change[k][b] != NULL && env->changes[k][b][IMPL_NETDB] > 0)
            g_string_append_printf (s, " %s/batch-%u %" G_GUINT64_FORMAT " for %" G_GUINT64_FORMAT
                                    " changes;", change_names[k], batch_sizes[b],
                                    env->emissions[k][b][IMPL_NETDB], env->changes[k][b][IMPL_NETDB]);
      note (s->str);
      g_string_truncate (s, 0);
      g_string_append (s, "watch/<change>: the same mutations and dispatches with nothing watching "
                       "(only a ::changed handler that keeps the seq), per change, netdb's column "
                       "includes it:");
      for (guint k = 0; k < N_CHANGES; k++)
        for (guint b = 0; b < N_BATCHES; b++)
          if (rows->change[k][b] != NULL)
            {
              g_autofree char *v = fmt_value (KIND_NS, rows->change[k][b]->v[IMPL_BARE], FALSE);

              g_string_append_printf (s, " %s/batch-%u %s;", change_names[k], batch_sizes[b], v);
            }
      g_string_append_printf (s, " opening the watch took %.0f ms (net_db_tasks_watch()), the "
                              "requery's first find_many() %.0f ms (neither is in the figures).",
                              env->open_ms[IMPL_NETDB], env->open_ms[IMPL_REQUERY]);
      note (s->str);
      g_string_free (s, TRUE);
    }

  if (env->db != NULL && any_row (rows->latency, 2))
    {
      text = g_strdup_printf ("watch/latency: the slowest of the last run was %.2f ms (netdb) and "
                              "%.2f ms (requery); mutations per delivery %.1f (netdb) and %.1f "
                              "(requery).",
                              env->latency_max_ns[IMPL_NETDB] / 1e6,
                              env->latency_max_ns[IMPL_REQUERY] / 1e6,
                              env->latency_per_dispatch[IMPL_NETDB],
                              env->latency_per_dispatch[IMPL_REQUERY]);
      note (text);
      g_clear_pointer (&text, g_free);
    }

  if (fenv->env->db != NULL && any_row (rows->filter, 2))
    {
      text = g_strdup_printf ("watch/filter: title-contains \"%s\" keeps %u of %u pending tasks "
                              "(%.0f%%); netdb's last emission was items-changed (%u, %u, %u).",
                              NARROW_NEEDLE, fenv->n_narrow, fenv->n_wide,
                              100.0 * fenv->n_narrow / MAX (fenv->n_wide, 1),
                              fenv->last_change[0], fenv->last_change[1], fenv->last_change[2]);
      note (text);
      g_clear_pointer (&text, g_free);
    }

  if (env->db != NULL && any_row (rows->stall, 2))
    {
      text = g_strdup_printf ("watch-stall: the %u ms timeout ticked %u times during netdb's "
                              "last fill in steps; the longest of its loop iterations (the "
                              "watch() call, a step or a tick) took %.2f ms of this thread's "
                              "CPU time (what the fill holds the loop for, without the other "
                              "processes of a loaded machine).", TICK_MS, env->stall_ticks,
                              env->stall_cpu_ms);
      note (text);
      g_clear_pointer (&text, g_free);
    }

  note ("population: N tasks, ids 1..N, title \"task-<id>\", every third (id % 3 == 0) "
        "completed; every task's NetTask exists (find_many() of all, once), as the requery "
        "would make them anyway.");
  note ("watch/<change>: a `pending` watch (netdb) or the requery observer is open; the time "
        "runs from the first mutation until the observer has seen the seq of the last one "
        "(g_main_context_iteration() on this thread, which owns the fold), divided by the "
        "changes. insert = create of a new id (enters at the end), complete = a pending task "
        "in a scattered order (leaves), rename = the same (stays; an item notify, no "
        "items-changed). batch-64: 64 mutations, then one dispatch. An items-changed handler "
        "(a counter) is connected. Each run is undone afterwards, untimed.");
  note ("requery: the reference implementation's live query: on each ::changed, "
        "net_db_tasks_find_many() of the filter and a walk from both ends of the new result "
        "against the previous one (by item) for the changed range; the previous result is "
        "then freed.");
  note ("watch/latency: another thread creates new tasks at 2 000/s (a fixed schedule); the "
        "latency of each runs from just before its create() call to the handler that sees it "
        "(items-changed for netdb, the end of the requery's walk) on the main thread, which "
        "only iterates its context.");
  note ("watch/filter: a database of its own; net_query_model_set_filter() from `pending` to "
        "`pending` + title-contains, until it returns (it emits synchronously), then back "
        "(widen). requery: find_many() of the new filter and the walk against the previous "
        "result.");
  note ("watch-stall, watch-fill: net_db_tasks_watch() of every task while a 5 ms timeout "
        "ticks on the same loop. netdb: the default fill in steps (NetQueryModel:incremental: "
        "at most 8192 tasks and 4 ms before watch() returns, then about 4 ms per idle dispatch); the loop is "
        "iterated until NetQueryModel:pending is 0. The second column (under 'requery') is the "
        "synchronous fill instead (incremental = FALSE, net_query_model_set_filter() from a "
        "filter nothing passes to NULL: what watch() did before 0.2), which holds the loop "
        "for all of it, so its stall is its fill time. The ratio says how many times shorter "
        "the longest stall (or longer the whole fill) is.");
}

int
main (int    argc,
      char **argv)
{
  Env env = { 0 };
  Env filter_db = { 0 };
  FilterEnv fenv = { &filter_db };
  Rows rows;
  guint64 n, n_filter;
  g_autoptr(GError) no_db = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,
                                                 "the population could not be made");
  int status;

  bench_init ("netdb-bench-watch", N_IMPL, impl_names, ratio_names, 34, 3);
  if (!bench_parse_options (option_entries,
                            "- benchmark live queries against re-running them",
                            "Each cell is the median of --repeat runs. 'requery' re-runs find_many() "
                            "and diffs the whole result on each change, as the reference implementation "
                            "does; 'vs rq' says how many times faster netdb is.",
                            &argc, &argv))
    return 2;
  if (bench.repeat < 1 || opt_n < 0 || opt_filter_n < 0 || opt_seconds < 0 ||
      (opt_n > 0 && opt_n < 3) || (opt_filter_n > 0 && opt_filter_n < 3))
    {
      g_printerr ("%s: --repeat must be at least 1, the sizes at least 3 and --seconds positive\n",
                  bench.prog);
      return 2;
    }
  n = opt_n > 0 ? (guint64) opt_n : bench.quick ? N_QUICK : N_FULL;
  n_filter = opt_filter_n > 0 ? (guint64) opt_filter_n : bench.quick ? N_FILTER_QUICK : N_FILTER_FULL;

  bench_start ("previous-watch.json");
  bench_print_intro ("live queries (NetQueryModel) vs re-running the query");
  bench_print_runs ("size");
  g_print ("db:      in memory (net_db_new (NULL, ...))\n");

  make_rows (&rows, n, n_filter - n_filter / 3);

  if (any_row (&rows.change[0][0], N_CHANGES * N_BATCHES) || any_row (rows.latency, 2) ||
      any_row (rows.stall, 2))
    populate (&env, n, "");
  if (any_row (rows.filter, 2) && populate (&filter_db, n_filter, " (filter workload)"))
    {
      fenv.narrow = pending_filter (NARROW_NEEDLE);
      fenv.n_wide = net_db_tasks_count (filter_db.tasks, filter_db.pending);
      fenv.n_narrow = net_db_tasks_count (filter_db.tasks, fenv.narrow);
    }
  print_table_header ();

  /* &rows.change[0][0] walks change[k][b] k-major: the order run_changes() prints. */
  if (any_row (&rows.change[0][0], N_CHANGES * N_BATCHES))
    {
      if (env.db != NULL)
        run_changes (&env, &rows);
      else
        fail_and_finish_rows (&rows.change[0][0], N_CHANGES * N_BATCHES, no_db);
    }
  if (any_row (rows.latency, 2))
    {
      if (env.db != NULL)
        run_latency (&env, &rows);
      else
        fail_and_finish_rows (rows.latency, 2, no_db);
    }
  if (any_row (rows.filter, 2))
    {
      if (filter_db.db != NULL)
        run_filter (&fenv, &rows);
      else
        fail_and_finish_rows (rows.filter, 2, no_db);
    }

  if (any_row (rows.stall, 2))
    {
      if (env.db != NULL)
        run_stall (&env, &rows);
      else
        fail_and_finish_rows (rows.stall, 2, no_db);
    }

  if (bench_have_rows ())
    add_notes (&env, &fenv, &rows);
  status = bench_finish ();

  filter_env_clear (&fenv);
  env_clear (&env);
  return status;
}
