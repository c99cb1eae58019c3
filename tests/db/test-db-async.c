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

  return g_test_run ();
}
