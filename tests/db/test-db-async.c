/* test-db-async.c: the _async forms of NetDb (snapshot, checkpoint, sync,
 * close): their results, that callbacks never run synchronously, and that
 * every GCancellable is honoured.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-db-private.h"

#define N_TASKS 2000

typedef struct
{
  char *root;
  char *dir;
} Fixture;

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

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->root = g_dir_make_tmp ("netdb-async-XXXXXX", NULL);
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

static NetDb *
open_filled (const char *path,
             guint       n)
{
  g_autoptr(GError) error = NULL;
  NetDb *db = net_db_new (path, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);

  g_assert_no_error (error);
  for (guint64 id = 1; id <= n; id++)
    {
      g_autofree char *title = g_strdup_printf ("task %" G_GUINT64_FORMAT, id);

      net_db_tasks_create (net_db_get_tasks (db), id, title, 0, &error);
      g_assert_no_error (error);
    }
  return db;
}

static guint
count_checkpoints (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "checkpoints", NULL);
  g_autoptr(GDir) d = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* Waits for *result, failing the test instead of hanging. */
static gboolean
timeout_cb (gpointer data)
{
  g_error ("timed out waiting for an async call");
  return G_SOURCE_REMOVE;
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  guint timeout = g_timeout_add_seconds (30, timeout_cb, NULL);

  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout);
  return *result;
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

/* Snapshot ------------------------------------------------------------------ */

static void
test_snapshot (void)
{
  g_autoptr(NetDb) db = open_filled (NULL, N_TASKS);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(NetDb) copy = NULL;

  net_db_snapshot_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  /* The state as of the call, even if it changes before the callback. */
  net_db_tasks_delete (net_db_get_tasks (db), 1, &error);
  g_assert_no_error (error);
  g_assert_null (result);   /* never synchronous */

  blob = net_db_snapshot_finish (db, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (blob);

  copy = net_db_open_from_snapshot (blob, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (copy), NULL), ==, N_TASKS);
  net_db_close (copy, NULL);
  net_db_close (db, NULL);
}

static void
test_snapshot_cancelled (void)
{
  g_autoptr(NetDb) db = open_filled (NULL, 10);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blob = NULL;

  g_cancellable_cancel (cancellable);
  net_db_snapshot_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_assert_null (result);
  blob = net_db_snapshot_finish (db, wait_result (&result), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (blob);
  net_db_close (db, NULL);
}

/* Checkpoint ---------------------------------------------------------------- */

static void
test_checkpoint (Fixture       *f,
                 gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  net_db_checkpoint_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_null (result);
  g_assert_true (net_db_checkpoint_finish (db, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_checkpoints (f->dir), ==, 1);

  /* Nothing changed: nothing to write. */
  g_clear_object (&result);
  net_db_checkpoint_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_true (net_db_checkpoint_finish (db, wait_result (&result), &error));
  g_assert_cmpuint (count_checkpoints (f->dir), ==, 1);

  /* Close need not write another; the reopen folds nothing. */
  g_assert_true (net_db_close (db, &error));
  g_clear_object (&result);   /* it holds the db */
  g_assert_finalize_object (db);
  db = net_db_new (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, N_TASKS);

  /* Closed: as the sync form. */
  net_db_close (db, NULL);
  g_clear_object (&result);
  net_db_checkpoint_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_false (net_db_checkpoint_finish (db, wait_result (&result), &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_object (&result);
  g_assert_finalize_object (db);
}

static void
test_checkpoint_cancelled (Fixture       *f,
                           gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* Already cancelled: nothing is written. */
  g_cancellable_cancel (cancellable);
  net_db_checkpoint_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_assert_false (net_db_checkpoint_finish (db, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (count_checkpoints (f->dir), ==, 0);

  /* Cancelled while it runs: it answers CANCELLED, and a checkpoint is
   * there whole or not at all (the reopen is correct either way). */
  g_clear_object (&result);
  g_cancellable_reset (cancellable);
  net_db_checkpoint_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_cancellable_cancel (cancellable);
  g_assert_false (net_db_checkpoint_finish (db, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (count_checkpoints (f->dir), <=, 1);

  _net_db_set_checkpoint_on_close (db, FALSE);
  g_assert_true (net_db_close (db, NULL));
  g_clear_object (&result);
  g_assert_finalize_object (db);
  db = net_db_new (f->dir, NET_DB_MODELS_TASKS, NULL);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, N_TASKS);
  net_db_close (db, NULL);
  g_assert_finalize_object (db);
}

/* Sync ---------------------------------------------------------------------- */

static void
test_sync (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(NetDb) db = open_filled (f->dir, 100);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  NetRedexFile *log = _net_db_get_log (db, NET_DB_LOG_TASKS);

  net_db_sync_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_null (result);
  g_assert_true (net_db_sync_finish (db, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_durable_seq (log), ==, net_redex_file_get_next_seq (log) - 1);

  g_clear_object (&result);
  g_cancellable_cancel (cancellable);
  net_db_sync_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_assert_false (net_db_sync_finish (db, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  net_db_close (db, NULL);
}

/* Close --------------------------------------------------------------------- */

static void
test_close (Fixture       *f,
            gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  NetDbTasks *tasks = net_db_get_tasks (db);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) other = NULL;

  net_db_close_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_null (result);
  /* Closing from the call on. */
  g_assert_false (net_db_checkpoint (db, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  g_assert_true (net_db_close_finish (db, wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_create (tasks, N_TASKS + 1, "late", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  /* Queries on the last state keep working. */
  g_assert_cmpuint (net_db_tasks_count (tasks, NULL), ==, N_TASKS);

  /* The lock is released and the checkpoint written. */
  other = net_db_new (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (_net_db_get_events_folded (other), ==, 0);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (other), NULL), ==, N_TASKS);
  net_db_close (other, NULL);

  /* A second close is harmless. */
  g_clear_object (&result);
  net_db_close_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_true (net_db_close_finish (db, wait_result (&result), &error));
  g_clear_object (&result);
  g_assert_finalize_object (db);
}

static void
test_close_cancelled (Fixture       *f,
                      gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, 100);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) other = NULL;

  /* Cancelled before the call: the database stays open. */
  g_cancellable_cancel (cancellable);
  net_db_close_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_assert_false (net_db_close_finish (db, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 101, "still open", 0, &error), >, 0);
  g_assert_no_error (error);

  /* Cancelled after the call: closed all the same, every event kept. */
  g_clear_object (&result);
  g_cancellable_reset (cancellable);
  net_db_close_async (db, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_cancellable_cancel (cancellable);
  g_assert_false (net_db_close_finish (db, wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  other = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (other), NULL), ==, 101);
  net_db_close (other, NULL);
  g_clear_object (&result);
  g_assert_finalize_object (db);
}

/* A sync close while an async one runs finishes it. */
static void
test_close_twice (Fixture       *f,
                  gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) other = NULL;
  gboolean ok;

  net_db_close_async (db, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  other = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  net_db_close (other, NULL);

  ok = net_db_close_finish (db, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_clear_object (&result);
  g_assert_finalize_object (db);
}

/* Open --------------------------------------------------------------------- */

/* The worker of an async open hands its reference back to this context:
 * let it go before checking that the db is finalized. */
static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static NetDb *
open_finish (GAsyncResult **result,
             GError       **error)
{
  return net_db_new_finish (wait_result (result), error);
}

static void
test_open (Fixture       *f,
           gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetQueryModel) model = NULL;
  guint64 seq;

  net_db_close (db, NULL);
  g_assert_finalize_object (db);

  net_db_new_async (f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_null (result);
  db = open_finish (&result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  g_assert_cmpstr (net_db_get_path (db), !=, NULL);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, N_TASKS);

  /* It belongs to this thread's context: live models, mutations and
   * waits work as on a db opened here. */
  model = net_db_tasks_watch (net_db_get_tasks (db), NULL);
  seq = net_db_tasks_create (net_db_get_tasks (db), N_TASKS + 1, "after", 0, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_wait_for_seq (net_db_get_tasks (db), seq, 10000, &error));
  g_assert_no_error (error);
  while (g_list_model_get_n_items (G_LIST_MODEL (model)) != N_TASKS + 1)
    g_main_context_iteration (NULL, TRUE);

  g_clear_object (&model);
  g_clear_object (&result);
  net_db_close (db, NULL);
  drain ();
  g_assert_finalize_object (db);
}

/* The main loop runs while the worker opens: the hook holds the worker
 * until a timeout on this thread's loop has ticked, which it could not
 * were the open done on this thread. */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean ticked;
  gboolean released;
  gboolean hook_timed_out;
  gboolean wait_for_release;
} OpenGate;

static void
open_gate_hook (gpointer data,
                gpointer db)
{
  OpenGate *gate = data;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  g_mutex_lock (&gate->mutex);
  while (!(gate->wait_for_release ? gate->released : gate->ticked))
    if (!g_cond_wait_until (&gate->cond, &gate->mutex, deadline))
      {
        gate->hook_timed_out = TRUE;
        break;
      }
  g_mutex_unlock (&gate->mutex);
}

static gboolean
open_gate_tick_cb (gpointer data)
{
  OpenGate *gate = data;

  g_mutex_lock (&gate->mutex);
  gate->ticked = TRUE;
  g_cond_signal (&gate->cond);
  g_mutex_unlock (&gate->mutex);
  return G_SOURCE_CONTINUE;
}

static void
test_open_loop_runs (Fixture       *f,
                     gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  OpenGate gate = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint tick;

  net_db_close (db, NULL);
  g_assert_finalize_object (db);

  _net_db_set_open_thread_hook (open_gate_hook, &gate);
  tick = g_timeout_add (5, open_gate_tick_cb, &gate);
  net_db_new_async (f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  db = open_finish (&result, &error);
  g_source_remove (tick);
  _net_db_set_open_thread_hook (NULL, NULL);

  g_assert_false (gate.hook_timed_out);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, N_TASKS);
  g_clear_object (&result);
  net_db_close (db, NULL);
  drain ();
  g_assert_finalize_object (db);
}

static void
test_open_locked (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetDb) writer = open_filled (f->dir, 10);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  NetDb *db;

  net_db_new_async (f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  db = open_finish (&result, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_LOCKED);
  g_assert_null (db);
  net_db_close (writer, NULL);
}

static void
test_open_cancelled (Fixture       *f,
                     gconstpointer  data)
{
  NetDb *db = open_filled (f->dir, N_TASKS);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  OpenGate gate = { .wait_for_release = TRUE };
  gint64 deadline;

  net_db_close (db, NULL);
  g_assert_finalize_object (db);

  /* Already cancelled. */
  g_cancellable_cancel (cancellable);
  net_db_new_async (f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_assert_null (open_finish (&result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Cancelled while the worker is held: the answer comes at once, before
   * the worker goes on. */
  g_cancellable_reset (cancellable);
  _net_db_set_open_thread_hook (open_gate_hook, &gate);
  net_db_new_async (f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, cancellable, store_result_cb, &result);
  g_cancellable_cancel (cancellable);
  g_assert_null (open_finish (&result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);

  g_mutex_lock (&gate.mutex);
  g_assert_false (gate.hook_timed_out);
  gate.released = TRUE;
  g_cond_signal (&gate.cond);
  g_mutex_unlock (&gate.mutex);
  _net_db_set_open_thread_hook (NULL, NULL);

  /* The worker then opens and closes again: the directory is free. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      db = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);
      if (db != NULL || !g_error_matches (error, NET_ERROR, NET_ERROR_LOCKED))
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_error (&error);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, N_TASKS);
  net_db_close (db, NULL);
  g_object_unref (db);
}

static void
test_open_from_snapshot_and_builder (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(NetDb) source = open_filled (NULL, 100);
  g_autoptr(GBytes) blob = net_db_snapshot (source, NULL);
  g_autoptr(NetDbBuilder) builder = net_db_builder_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  NetDb *db, *reader;
  NetTask *task;
  guint64 seq;

  net_db_open_from_snapshot_async (blob, f->dir, NET_DB_MODELS_TASKS, G_PRIORITY_DEFAULT, NULL,
                                   store_result_cb, &result);
  db = net_db_open_from_snapshot_finish (wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 100);
  g_clear_object (&result);

  /* A read-only db opened asynchronously follows its writer. */
  net_db_builder_read_only (net_db_builder_with_tasks (net_db_builder_persistent_dir (builder, f->dir)));
  net_db_builder_build_async (builder, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  reader = net_db_builder_build_finish (builder, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (net_db_get_read_only (reader));
  g_clear_object (&result);

  seq = net_db_tasks_create (net_db_get_tasks (db), 101, "seen by the reader", 0, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_sync (db, &error));
  g_assert_true (net_db_tasks_wait_for_seq (net_db_get_tasks (reader), seq, 20000, &error));
  g_assert_no_error (error);
  task = net_db_tasks_get (net_db_get_tasks (reader), 101);
  g_assert_nonnull (task);
  g_clear_object (&task);
  net_db_close (reader, NULL);
  drain ();
  g_assert_finalize_object (reader);

  /* Bad options come back through the finish function. */
  net_db_builder_build_from_snapshot_async (builder, blob, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result);
  g_assert_null (net_db_builder_build_from_snapshot_finish (builder, wait_result (&result), &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_object (&result);

  net_db_close (db, NULL);
  g_assert_finalize_object (db);
  net_db_close (source, NULL);
}

/* GInitable and GAsyncInitable with the construct properties. */
static void
test_initable (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  NetDb *db = g_initable_new (NET_TYPE_DB, NULL, &error,
                              "path", f->dir, "models", NET_DB_MODELS_MEMORIES, NULL);
  GObject *object;

  g_assert_no_error (error);
  g_assert_null (net_db_get_tasks (db));
  g_assert_nonnull (net_db_get_memories (db));
  net_db_close (db, NULL);
  g_assert_finalize_object (db);

  g_async_initable_new_async (NET_TYPE_DB, G_PRIORITY_DEFAULT, NULL, store_result_cb, &result,
                              "path", f->dir, "models", NET_DB_MODELS_TASKS, NULL);
  wait_result (&result);
  {
    g_autoptr(GObject) source = g_async_result_get_source_object (result);

    object = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);
  }
  g_assert_no_error (error);
  g_assert_nonnull (net_db_get_tasks (NET_DB (object)));
  g_clear_object (&result);
  net_db_close (NET_DB (object), NULL);
  drain ();
  g_assert_finalize_object (object);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/db/async/snapshot", test_snapshot);
  g_test_add_func ("/db/async/snapshot-cancelled", test_snapshot_cancelled);
  g_test_add ("/db/async/checkpoint", Fixture, NULL, fixture_setup, test_checkpoint, fixture_teardown);
  g_test_add ("/db/async/checkpoint-cancelled", Fixture, NULL, fixture_setup, test_checkpoint_cancelled, fixture_teardown);
  g_test_add ("/db/async/sync", Fixture, NULL, fixture_setup, test_sync, fixture_teardown);
  g_test_add ("/db/async/close", Fixture, NULL, fixture_setup, test_close, fixture_teardown);
  g_test_add ("/db/async/close-cancelled", Fixture, NULL, fixture_setup, test_close_cancelled, fixture_teardown);
  g_test_add ("/db/async/close-twice", Fixture, NULL, fixture_setup, test_close_twice, fixture_teardown);
  g_test_add ("/db/async/open", Fixture, NULL, fixture_setup, test_open, fixture_teardown);
  g_test_add ("/db/async/open-loop-runs", Fixture, NULL, fixture_setup, test_open_loop_runs, fixture_teardown);
  g_test_add ("/db/async/open-locked", Fixture, NULL, fixture_setup, test_open_locked, fixture_teardown);
  g_test_add ("/db/async/open-cancelled", Fixture, NULL, fixture_setup, test_open_cancelled, fixture_teardown);
  g_test_add ("/db/async/open-from-snapshot-and-builder", Fixture, NULL, fixture_setup,
              test_open_from_snapshot_and_builder, fixture_teardown);
  g_test_add ("/db/async/initable", Fixture, NULL, fixture_setup, test_initable, fixture_teardown);

  return g_test_run ();
}
