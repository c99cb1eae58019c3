/* test-db-tasks.c: the tasks model, its fold and its queries
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-tasks-private.h"
#include "net-event-meta-private.h"
#include "net-table-private.h"

typedef struct
{
  char         *dir;   /* NULL: in memory */
  NetRedex     *redex;
  NetDbTasks   *tasks;
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
open_model (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  f->tasks = net_db_tasks_new (f->redex, NULL, 7, &error);
  g_assert_no_error (error);
}

static void
close_model (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_db_tasks_close (f->tasks, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (f->tasks);
  f->tasks = NULL;
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_finalize_object (f->redex);
  f->redex = NULL;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  if (GPOINTER_TO_INT (data))
    f->dir = g_dir_make_tmp ("netdb-tasks-XXXXXX", NULL);
  open_model (f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->tasks != NULL)
    close_model (f);
  if (f->dir != NULL)
    rm_rf (f->dir);
  g_free (f->dir);
}

/* Lets the fold's dispatch run (deliveries are never synchronous). */
static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static GPtrArray *
find (NetDbTasks     *tasks,
      NetTasksFilter *filter)
{
  return net_db_tasks_find_many (tasks, filter);
}

static char *
ids (GPtrArray *items)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                            net_task_get_id (g_ptr_array_index (items, i)));
  return g_string_free (s, FALSE);
}

static void
assert_ids (NetDbTasks     *tasks,
            NetTasksFilter *filter,
            const char     *expected)
{
  g_autoptr(GPtrArray) items = find (tasks, filter);
  g_autofree char *got = ids (items);

  g_assert_cmpstr (got, ==, expected);
}

static NetTasksFilter *
pending_filter (void)
{
  return g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING, NULL);
}

static void
test_basic (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(NetTasksFilter) pending = pending_filter ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetTask) first = NULL;
  g_autoptr(NetTask) second = NULL;
  guint64 s1, s2, s3, s4, s5;

  s1 = net_db_tasks_create (f->tasks, 1, "Write the report", 1000, &error);
  g_assert_no_error (error);
  s2 = net_db_tasks_create (f->tasks, 2, "Review the patch", 2000, &error);
  s3 = net_db_tasks_rename (f->tasks, 1, "Write the final report", 3000, &error);
  s4 = net_db_tasks_complete (f->tasks, 2, 4000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (s1, ==, 1);
  g_assert_cmpuint (s2, ==, 2);
  g_assert_cmpuint (s3, ==, 3);
  g_assert_cmpuint (s4, ==, 4);

  /* Read-your-writes: no main loop iteration was needed. */
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 2);
  first = net_db_tasks_get (f->tasks, 1);
  second = net_db_tasks_get (f->tasks, 2);
  g_assert_cmpstr (net_task_get_title (first), ==, "Write the final report");
  g_assert_cmpint (net_task_get_status (first), ==, NET_TASK_STATUS_PENDING);
  g_assert_cmpint (net_task_get_created_at (first), ==, 1000);
  g_assert_cmpint (net_task_get_updated_at (first), ==, 3000);
  g_assert_cmpint (net_task_get_status (second), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (net_task_get_updated_at (second), ==, 4000);
  assert_ids (f->tasks, pending, "1");
  g_assert_cmpuint (net_db_tasks_count (f->tasks, pending), ==, 1);
  g_assert_true (net_db_tasks_exists (f->tasks, pending));

  /* Items are unique: every query returns the same object. */
  {
    g_autoptr(GPtrArray) all = find (f->tasks, NULL);

    g_assert_true (g_ptr_array_index (all, 0) == (gpointer) first);
    g_assert_true (g_ptr_array_index (all, 1) == (gpointer) second);
  }

  s5 = net_db_tasks_delete (f->tasks, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (s5, ==, 5);
  assert_ids (f->tasks, NULL, "2");
  g_assert_false (net_db_tasks_exists (f->tasks, pending));
  g_assert_null (net_db_tasks_get (f->tasks, 1));
  /* A deleted item keeps its last values. */
  g_assert_cmpstr (net_task_get_title (first), ==, "Write the final report");

  drain ();
  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 5);
  g_assert_cmpuint (net_db_tasks_get_fold_errors (f->tasks), ==, 0);
}

static void
test_order_limit (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetTasksFilter) pending = pending_filter ();
  g_autoptr(NetTasksFilter) newest = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= 5; i++)
    {
      g_autofree char *title = g_strdup_printf ("task %u", i);

      net_db_tasks_create (f->tasks, i, title, i * 1000, &error);
      g_assert_no_error (error);
    }
  net_db_tasks_complete (f->tasks, 1, 9000, &error);
  g_assert_no_error (error);

  assert_ids (f->tasks, pending, "2,3,4,5");

  newest = g_object_new (NET_TYPE_TASKS_FILTER,
                         "status", NET_TASK_STATUS_PENDING,
                         "order-by", NET_ORDER_BY_CREATED_DESC,
                         "limit", 2,
                         NULL);
  assert_ids (f->tasks, newest, "5,4");
  g_assert_cmpuint (net_db_tasks_count (f->tasks, newest), ==, 4);
  g_assert_true (net_db_tasks_exists (f->tasks, newest));

  net_tasks_filter_set_offset (newest, 3);
  assert_ids (f->tasks, newest, "2");
  net_tasks_filter_set_offset (newest, 4);
  assert_ids (f->tasks, newest, "");
  g_assert_true (net_db_tasks_exists (f->tasks, newest));

  /* Any status, newest update first: the completion moved 1 ahead. */
  {
    g_autoptr(NetTasksFilter) updated = g_object_new (NET_TYPE_TASKS_FILTER,
                                                      "order-by", NET_ORDER_BY_UPDATED_DESC,
                                                      NULL);
    g_autoptr(NetTask) top = net_db_tasks_find_first (f->tasks, updated);

    assert_ids (f->tasks, updated, "1,5,4,3,2");
    g_assert_cmpuint (net_task_get_id (top), ==, 1);
  }
}

static void
test_persistence (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetTask) task = NULL;
  guint64 seq;

  net_db_tasks_create (f->tasks, 10, "persist me", 100, &error);
  net_db_tasks_create (f->tasks, 11, "and me", 200, &error);
  net_db_tasks_complete (f->tasks, 11, 300, &error);
  g_assert_no_error (error);

  close_model (f);
  open_model (f);

  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 3);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 2);
  task = net_db_tasks_get (f->tasks, 11);
  g_assert_nonnull (task);
  g_assert_cmpstr (net_task_get_title (task), ==, "and me");
  g_assert_cmpint (net_task_get_status (task), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (net_task_get_updated_at (task), ==, 300);

  /* The per-origin counter continues too. */
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (f->tasks, 7), ==, 3);
  seq = net_db_tasks_create (f->tasks, 12, "next", 400, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 4);
  drain ();
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (f->tasks, 7), ==, 4);
}

static void
test_snapshot (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetTask) task = NULL;
  guint64 seq;

  empty = net_db_tasks_snapshot (f->tasks, &error);
  g_assert_no_error (error);

  net_db_tasks_create (f->tasks, 1, "one", 100, &error);
  net_db_tasks_create (f->tasks, 2, "two", 200, &error);
  net_db_tasks_complete (f->tasks, 2, 300, &error);
  g_assert_no_error (error);
  snap = net_db_tasks_snapshot (f->tasks, &error);
  g_assert_no_error (error);

  /* Restore on the same log: equal state, and the next create continues. */
  g_assert_true (net_db_tasks_restore (f->tasks, snap, &error));
  g_assert_no_error (error);
  assert_ids (f->tasks, NULL, "1,2");
  task = net_db_tasks_get (f->tasks, 2);
  g_assert_cmpint (net_task_get_status (task), ==, NET_TASK_STATUS_COMPLETED);
  seq = net_db_tasks_create (f->tasks, 3, "three", 400, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 4);
  assert_ids (f->tasks, NULL, "1,2,3");

  /* A snapshot taken before event 4 replays it. */
  g_assert_true (net_db_tasks_restore (f->tasks, snap, &error));
  assert_ids (f->tasks, NULL, "1,2,3");

  /* The snapshot of a fresh model is one at seq 0: replays everything. */
  g_assert_true (net_db_tasks_restore (f->tasks, empty, &error));
  g_assert_no_error (error);
  assert_ids (f->tasks, NULL, "1,2,3");

  /* Garbage is refused, state untouched. */
  {
    g_autoptr(GBytes) junk = g_bytes_new_static ("\x01\x0f\xff", 3);

    g_assert_false (net_db_tasks_restore (f->tasks, junk, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
    g_clear_error (&error);
    assert_ids (f->tasks, NULL, "1,2,3");
  }
}

/* Restoring onto an empty log: the log continues after the snapshot, and
 * the next event is folded (the reference implementation drops it). */
static void
test_snapshot_empty_log (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetRedex) other_redex = NULL;
  g_autoptr(NetDbTasks) other = NULL;
  char *other_dir = NULL;
  guint64 seq;

  net_db_tasks_create (f->tasks, 1, "one", 100, &error);
  net_db_tasks_create (f->tasks, 2, "two", 200, &error);
  g_assert_no_error (error);
  snap = net_db_tasks_snapshot (f->tasks, &error);

  if (f->dir != NULL)
    other_dir = g_dir_make_tmp ("netdb-tasks-XXXXXX", NULL);
  other_redex = net_redex_new (other_dir, &error);
  other = net_db_tasks_new (other_redex, NULL, 9, &error);
  g_assert_no_error (error);

  g_assert_true (net_db_tasks_restore (other, snap, &error));
  g_assert_no_error (error);
  assert_ids (other, NULL, "1,2");
  g_assert_cmpuint (net_db_tasks_get_applied_seq (other), ==, 2);

  seq = net_db_tasks_create (other, 3, "three", 300, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 3);
  assert_ids (other, NULL, "1,2,3");

  if (other_dir != NULL)
    {
      /* And it survives a reopen. */
      net_db_tasks_close (other, NULL);
      g_clear_object (&other);
      net_redex_close (other_redex, NULL);
      g_clear_object (&other_redex);
      other_redex = net_redex_new (other_dir, &error);
      other = net_db_tasks_new (other_redex, NULL, 9, &error);
      g_assert_no_error (error);
      /* The log holds only event 3: a fresh open folds what it has. */
      assert_ids (other, NULL, "3");
      g_assert_true (net_db_tasks_restore (other, snap, &error));
      g_assert_no_error (error);
      assert_ids (other, NULL, "1,2,3");
      net_db_tasks_close (other, NULL);
      g_clear_object (&other);
      g_clear_object (&other_redex);
      rm_rf (other_dir);
      g_free (other_dir);
    }

  /* A log that ends before the snapshot's seq does not fit it. */
  {
    g_autoptr(NetRedex) short_redex = net_redex_new (NULL, NULL);
    g_autoptr(NetDbTasks) short_tasks = net_db_tasks_new (short_redex, NULL, 1, NULL);

    net_db_tasks_create (short_tasks, 1, "only", 1, NULL);
    g_assert_false (net_db_tasks_restore (short_tasks, snap, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH);
    g_clear_error (&error);
  }
}

static void
test_unknown_ids (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* Issue 14: a change of an id the state does not hold is NOT_FOUND on
   * the db that makes it, and logs nothing; id 0 is invalid. */
  g_assert_cmpuint (net_db_tasks_create (f->tasks, 1, "one", 100, &error), ==, 1);
  g_assert_cmpuint (net_db_tasks_rename (f->tasks, 99, "x", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_complete (f->tasks, 99, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 99, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_create (f->tasks, 0, "zero", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_complete (f->tasks, 0, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_ids (f->tasks, NULL, "1");
  g_assert_null (net_db_tasks_get (f->tasks, 99));

  /* The next event continues the log: nothing was appended. */
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 1, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 1, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  drain ();
  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 2);
  g_assert_cmpuint (net_db_tasks_get_fold_errors (f->tasks), ==, 0);
}

/* Create replaces fully; complete again only moves updated-at. */
static void
test_replace (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(NetTask) task = NULL;

  net_db_tasks_create (f->tasks, 1, "one", 100, NULL);
  net_db_tasks_complete (f->tasks, 1, 200, NULL);
  net_db_tasks_complete (f->tasks, 1, 300, NULL);
  task = net_db_tasks_get (f->tasks, 1);
  g_assert_cmpint (net_task_get_status (task), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (net_task_get_updated_at (task), ==, 300);

  net_db_tasks_create (f->tasks, 1, "again", 400, NULL);
  g_assert_cmpint (net_task_get_status (task), ==, NET_TASK_STATUS_PENDING);
  g_assert_cmpstr (net_task_get_title (task), ==, "again");
  g_assert_cmpint (net_task_get_created_at (task), ==, 400);
  g_assert_cmpint (net_task_get_updated_at (task), ==, 400);
}

static void
append_raw (NetRedex   *redex,
            const void *data,
            gsize       len)
{
  g_autoptr(NetRedexFile) file = net_redex_open_file (redex, "tasks", NULL, NULL);
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_redex_file_append (file, bytes, &error), >, 0);
  g_assert_no_error (error);
}

static void
test_corrupt_event (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  NetEventMeta meta = { NET_DISPATCH_TASK_CREATED, 0, 5, 1 };
  g_autoptr(GBytes) bad_payload = NULL;
  const guint8 truncated[] = { 1, 0x08 };

  net_db_tasks_create (f->tasks, 1, "before", 100, &error);

  /* Garbage, a valid header with a truncated payload, a task event whose
   * dispatch is a memory one: each skipped and counted. */
  append_raw (f->redex, "not an event", 12);
  bad_payload = net_event_encode (&meta, truncated, sizeof truncated);
  append_raw (f->redex, g_bytes_get_data (bad_payload, NULL), g_bytes_get_size (bad_payload));
  {
    NetEventMeta mem = { NET_DISPATCH_MEMORY_PINNED, 0, 5, 2 };
    const guint8 ok[] = { 1, 0x08, 0x01 };
    g_autoptr(GBytes) wrong = net_event_encode (&mem, ok, sizeof ok);

    append_raw (f->redex, g_bytes_get_data (wrong, NULL), g_bytes_get_size (wrong));
  }

  net_db_tasks_create (f->tasks, 2, "after", 200, &error);
  g_assert_no_error (error);
  drain ();

  assert_ids (f->tasks, NULL, "1,2");
  g_assert_cmpuint (net_db_tasks_get_fold_errors (f->tasks), ==, 3);
  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 5);
}

typedef struct
{
  NetDbTasks *tasks;
  guint       n;
} ThreadData;

static gpointer
writer_thread (gpointer data)
{
  ThreadData *td = data;

  for (guint i = 0; i < td->n; i++)
    {
      g_autofree char *title = g_strdup_printf ("from a thread %u", i);

      g_assert_cmpuint (net_db_tasks_create (td->tasks, 1000 + i, title, 0, NULL), >, 0);
    }
  return NULL;
}

static void
on_changed_record_thread (NetDbTasks *tasks,
                          guint64     first,
                          guint64     last,
                          gpointer    data)
{
  GThread **seen = data;

  *seen = g_thread_self ();
}

static void
test_other_thread (Fixture       *f,
                   gconstpointer  data)
{
  ThreadData td = { f->tasks, 500 };
  GThread *seen = NULL;
  GThread *thread;
  g_autoptr(GError) error = NULL;

  drain ();
  g_signal_connect (f->tasks, "changed", G_CALLBACK (on_changed_record_thread), &seen);

  thread = g_thread_new ("writer", writer_thread, &td);
  g_thread_join (thread);

  /* Nothing is folded outside the owner context... */
  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 0);
  g_assert_null (seen);

  /* ...and everything once it runs. */
  g_assert_true (net_db_tasks_wait_for_seq (f->tasks, 500, 5000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 500);
  g_assert_true (seen == g_thread_self ());

  /* Origins and per-origin counters are the model's: the next local
   * mutation continues after the thread's. */
  g_assert_cmpuint (net_db_tasks_create (f->tasks, 1, "local", 0, &error), ==, 501);
  g_signal_handlers_disconnect_by_data (f->tasks, &seen);
}

static void
on_wait_answered (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  GError **out = data;
  gboolean ok = net_db_tasks_wait_for_seq_finish (NET_DB_TASKS (source), result, out);

  /* Success leaves a marker error-free: set a recognizable one. */
  if (ok)
    g_set_error_literal (out, G_IO_ERROR, G_IO_ERROR_EXISTS, "ok");
}

/* Runs the default context until @error is set (the wait answered). */
static void
wait_answer (GError **error)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (*error == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Issue 14, items 2 and 4: a cancelled wait answers CANCELLED at once;
 * after close a seq the state holds is waited for successfully. */
static void
test_wait_cancel_and_close (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) later = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetQueryModel) live = net_db_tasks_watch (f->tasks, NULL);

  g_cancellable_cancel (cancellable);
  net_db_tasks_wait_for_seq_async (f->tasks, 5, cancellable, on_wait_answered, &error);
  wait_answer (&error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  net_db_tasks_wait_for_seq_async (f->tasks, 5, later, on_wait_answered, &error);
  g_main_context_iteration (NULL, FALSE);
  g_assert_null (error);
  g_cancellable_cancel (later);
  wait_answer (&error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_cmpuint (net_db_tasks_create (f->tasks, 1, "one", 0, &error), ==, 1);
  g_assert_false (net_query_model_get_closed (live));
  g_assert_true (net_db_tasks_close (f->tasks, &error));
  g_assert_no_error (error);
  g_assert_true (net_query_model_get_closed (live));

  g_assert_true (net_db_tasks_wait_for_seq (f->tasks, 1, 100, &error));
  g_assert_no_error (error);
  g_assert_false (net_db_tasks_wait_for_seq (f->tasks, 2, 100, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  net_db_tasks_wait_for_seq_async (f->tasks, 1, NULL, on_wait_answered, &error);
  wait_answer (&error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);   /* succeeded */
  g_clear_error (&error);
}

static void
test_wait_timeout (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  net_db_tasks_create (f->tasks, 1, "one", 0, NULL);
  g_assert_true (net_db_tasks_wait_for_seq (f->tasks, 1, 1000, &error));
  g_assert_no_error (error);
  g_assert_false (net_db_tasks_wait_for_seq (f->tasks, 10, 50, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_TIMEOUT);
}

static void
on_wait_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_db_tasks_wait_for_seq_finish (NET_DB_TASKS (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static void
test_wait_async (Fixture       *f,
                 gconstpointer  data)
{
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  net_db_tasks_wait_for_seq_async (f->tasks, 2, NULL, on_wait_done, &done);
  net_db_tasks_create (f->tasks, 1, "one", 0, NULL);
  g_main_context_iteration (NULL, FALSE);
  g_assert_false (done);
  net_db_tasks_create (f->tasks, 2, "two", 0, NULL);
  /* Never completed synchronously. */
  g_assert_false (done);
  while (!done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done);
}

static void
test_closed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  net_db_tasks_create (f->tasks, 1, "one", 0, NULL);
  g_assert_true (net_db_tasks_close (f->tasks, &error));
  g_assert_true (net_db_tasks_close (f->tasks, &error));
  g_assert_cmpuint (net_db_tasks_create (f->tasks, 2, "two", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 1, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  /* Queries on the last state keep working. */
  assert_ids (f->tasks, NULL, "1");
}

static void
test_invalid_utf8 (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_db_tasks_create (f->tasks, 1, "bad \xff title", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_rename (f->tasks, 1, "\xc3", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 0);
}

static void
on_notify_record (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    data)
{
  g_string_append_printf (data, "%s;", pspec->name);
}

/* Read-your-writes changes the item at once; its notify comes from the
 * next dispatch, never from inside the mutation. */
static void
test_notify_deferred (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(NetTask) task = NULL;

  net_db_tasks_create (f->tasks, 1, "one", 100, NULL);
  drain ();
  task = net_db_tasks_get (f->tasks, 1);
  g_signal_connect (task, "notify", G_CALLBACK (on_notify_record), log);

  net_db_tasks_rename (f->tasks, 1, "uno", 200, NULL);
  g_assert_cmpstr (net_task_get_title (task), ==, "uno");
  g_assert_cmpstr (log->str, ==, "");
  drain ();
  g_assert_true (g_str_has_prefix (log->str, "title;") || strstr (log->str, "title;") != NULL);
  g_assert_nonnull (strstr (log->str, "updated-at;"));
  g_assert_null (strstr (log->str, "status;"));
  g_string_truncate (log, 0);

  net_db_tasks_complete (f->tasks, 1, 300, NULL);
  drain ();
  g_assert_nonnull (strstr (log->str, "status;"));
  g_assert_null (strstr (log->str, "title;"));
  g_signal_handlers_disconnect_by_data (task, log);
}

/* An item lives while someone holds it, and is then gone: the entry is
 * all a task costs.  While it lives it is the one item of its id and
 * changes in place; a deleted one keeps its last values. */
static void
test_items_released (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetTasksFilter) pending = pending_filter ();
  NetTask *task, *weak;
  g_autoptr(NetTask) held = NULL;
  g_autoptr(NetTask) again = NULL;

  net_db_tasks_create (f->tasks, 1, "one", 100, NULL);
  net_db_tasks_create (f->tasks, 2, "two", 100, NULL);

  task = net_db_tasks_get (f->tasks, 1);
  weak = task;
  g_object_add_weak_pointer (G_OBJECT (task), (gpointer *) &weak);
  g_object_unref (task);
  /* The cache of recent items lets go of it once the loop is idle. */
  g_assert_nonnull (weak);
  drain ();
  g_assert_null (weak);

  /* Through a query too. */
  {
    g_autoptr(GPtrArray) all = find (f->tasks, NULL);

    weak = g_ptr_array_index (all, 1);
    g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  }
  drain ();
  g_assert_null (weak);

  /* A new item has the current values; held, it is the one item of its
   * id and changes in place, also across a rename (which moves the
   * entry). */
  net_db_tasks_rename (f->tasks, 1, "uno, a longer title than before", 200, NULL);
  held = net_db_tasks_get (f->tasks, 1);
  g_assert_cmpstr (net_task_get_title (held), ==, "uno, a longer title than before");
  net_db_tasks_rename (f->tasks, 1, "u", 300, NULL);
  net_db_tasks_complete (f->tasks, 1, 400, NULL);
  g_assert_cmpstr (net_task_get_title (held), ==, "u");
  g_assert_cmpint (net_task_get_status (held), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (net_task_get_updated_at (held), ==, 400);
  again = net_db_tasks_get (f->tasks, 1);
  g_assert_true (again == held);
  g_clear_object (&again);
  assert_ids (f->tasks, pending, "2");
  {
    g_autoptr(GPtrArray) all = find (f->tasks, NULL);

    g_assert_true (g_ptr_array_index (all, 0) == (gpointer) held);
  }
  drain ();

  /* Deleted, it keeps its last values; the id made again is a new item. */
  net_db_tasks_delete (f->tasks, 1, NULL);
  net_db_tasks_create (f->tasks, 1, "one again", 500, NULL);
  again = net_db_tasks_get (f->tasks, 1);
  g_assert_true (again != held);
  g_assert_cmpstr (net_task_get_title (held), ==, "u");
  g_assert_cmpstr (net_task_get_title (again), ==, "one again");
  net_db_tasks_rename (f->tasks, 1, "one more", 600, NULL);
  g_assert_cmpstr (net_task_get_title (held), ==, "u");
  g_assert_cmpstr (net_task_get_title (again), ==, "one more");
  drain ();
}

/* A restore builds the ordered indexes in bulk: they answer every order
 * and window as before it, whether or not the snapshot's order (by id)
 * is the order of the key, and take changes afterwards. */
static void
test_snapshot_indexes (Fixture       *f,
                       gconstpointer  data)
{
  static const NetOrderBy orders[] = {
    NET_ORDER_BY_ID_ASC, NET_ORDER_BY_ID_DESC, NET_ORDER_BY_CREATED_ASC,
    NET_ORDER_BY_CREATED_DESC, NET_ORDER_BY_UPDATED_ASC, NET_ORDER_BY_UPDATED_DESC,
  };
  g_autoptr(GPtrArray) filters = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  guint n = 3000;

  /* Created backwards with ties, updated scrambled. */
  for (guint64 id = 1; id <= n; id++)
    {
      net_db_tasks_create (f->tasks, id, "task", 100000 - (gint64) (id / 2), &error);
      if (id % 3 == 0)
        net_db_tasks_complete (f->tasks, id, 200000 + (gint64) ((id * 7919) % 1000), &error);
      g_assert_no_error (error);
    }
  for (guint o = 0; o < G_N_ELEMENTS (orders); o++)
    {
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", orders[o], NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", orders[o],
                                              "status", NET_TASK_STATUS_PENDING,
                                              "offset", 17, "limit", 400, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", orders[o],
                                              "status", NET_TASK_STATUS_COMPLETED,
                                              "updated-after", (gint64) 200300,
                                              "created-before", (gint64) 99800, NULL));
    }
  for (guint i = 0; i < filters->len; i++)
    {
      g_autoptr(GPtrArray) items = find (f->tasks, g_ptr_array_index (filters, i));

      g_ptr_array_add (before, ids (items));
    }
  snap = net_db_tasks_snapshot (f->tasks, &error);
  g_assert_no_error (error);

  g_assert_true (net_db_tasks_restore (f->tasks, snap, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < filters->len; i++)
    assert_ids (f->tasks, g_ptr_array_index (filters, i), g_ptr_array_index (before, i));
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, n);

  /* Changes after it move entries within and between the built trees. */
  for (guint64 id = 1; id <= n; id += 7)
    {
      if (id % 2 == 0)
        net_db_tasks_delete (f->tasks, id, &error);
      else
        net_db_tasks_complete (f->tasks, id, 300000 + (gint64) id, &error);
      g_assert_no_error (error);
    }
  {
    g_autoptr(NetTasksFilter) newest = g_object_new (NET_TYPE_TASKS_FILTER,
                                                     "order-by", NET_ORDER_BY_UPDATED_DESC,
                                                     "limit", 3, NULL);

    assert_ids (f->tasks, newest, "2997,2983,2969");
  }
  drain ();
}

/* A snapshot that holds an id twice (no writer makes one; be safe): the
 * later record wins, in the id table and every index alike, and the item
 * of that id carries on with its values. */
static void
test_snapshot_duplicate_id (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(NetTasksFilter) by_created = g_object_new (NET_TYPE_TASKS_FILTER,
                                                       "order-by", NET_ORDER_BY_CREATED_ASC, NULL);
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) rec = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GBytes) twice = NULL;
  g_autoptr(NetTask) held = NULL;
  NetEncoder enc, sub;

  net_db_tasks_create (f->tasks, 1, "one", 100, &error);
  net_db_tasks_create (f->tasks, 2, "two", 200, &error);
  g_assert_no_error (error);
  held = net_db_tasks_get (f->tasks, 1);
  snap = net_db_tasks_snapshot (f->tasks, &error);
  g_assert_no_error (error);

  /* The snapshot, then one more record of id 1 (its codec header off). */
  g_byte_array_append (buf, g_bytes_get_data (snap, NULL), g_bytes_get_size (snap));
  net_encoder_init (&sub, rec);
  net_encoder_put_uint (&sub, 1, 1);
  net_encoder_put_string (&sub, 2, "uno");
  net_encoder_put_uint (&sub, 3, NET_TASK_STATUS_COMPLETED);
  net_encoder_put_int (&sub, 4, 300);
  net_encoder_put_int (&sub, 5, 400);
  {
    g_autoptr(GByteArray) item = g_byte_array_new ();

    net_encoder_init (&enc, item);
    net_encoder_put_bytes (&enc, NET_SNAPSHOT_ITEM, rec->data, rec->len);
    g_byte_array_append (buf, item->data + 1, item->len - 1);
  }
  twice = g_byte_array_free_to_bytes (g_steal_pointer (&buf));

  g_assert_true (net_db_tasks_restore (f->tasks, twice, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 2);
  assert_ids (f->tasks, NULL, "1,2");
  assert_ids (f->tasks, by_created, "2,1");
  {
    g_autoptr(NetTask) one = net_db_tasks_get (f->tasks, 1);

    g_assert_cmpstr (net_task_get_title (one), ==, "uno");
    g_assert_cmpint (net_task_get_status (one), ==, NET_TASK_STATUS_COMPLETED);
    g_assert_true (one == held);
  }
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 1, &error), >, 0);
  g_assert_no_error (error);
  assert_ids (f->tasks, by_created, "2");
  drain ();
}

/* A record of the known fields as @order lists them ("12345" is the
 * writer's), with an unknown field where it says 'u' and the title twice
 * (the first one not the last) where it says 'T'; @cut bytes cut off its
 * end, as the item of a snapshot. */
static void
put_task_record (GByteArray  *snap,
                 gsize        cut,
                 const char  *order,
                 guint64      id,
                 const char  *title,
                 guint64      status,
                 gint64       created,
                 gint64       updated)
{
  g_autoptr(GByteArray) rec = g_byte_array_new ();
  g_autoptr(GByteArray) item = g_byte_array_new ();
  NetEncoder sub, enc;

  net_encoder_init (&sub, rec);
  for (const char *c = order; *c; c++)
    switch (*c)
      {
      case '1': net_encoder_put_uint (&sub, 1, id); break;
      case '2': net_encoder_put_string (&sub, 2, title); break;
      case 'T': net_encoder_put_string (&sub, 2, "not this one"); break;
      case '3': net_encoder_put_uint (&sub, 3, status); break;
      case '4': net_encoder_put_int (&sub, 4, created); break;
      case '5': net_encoder_put_int (&sub, 5, updated); break;
      case 'u': net_encoder_put_string (&sub, 9, "a newer writer's"); break;
      default: g_assert_not_reached ();
      }
  g_assert_cmpuint (cut, <, rec->len);
  net_encoder_init (&enc, item);
  net_encoder_put_bytes (&enc, NET_SNAPSHOT_ITEM, rec->data, rec->len - cut);
  g_byte_array_append (snap, item->data + 1, item->len - 1);
}

typedef struct
{
  const char *order;
  guint64     id;
  const char *title;
  guint       status;
  gint64      created;
  gint64      updated;
} TaskCase;

/* The records of a snapshot, however their fields come (the writer's
 * order, another, with unknown fields, a field twice, varints of every
 * length up to 10 bytes), restore to exactly their values. */
static void
test_snapshot_record_forms (Fixture       *f,
                            gconstpointer  data)
{
  static const TaskCase cases[] = {
    { "12345", 1, "one", NET_TASK_STATUS_PENDING, 100, 150 },
    { "54321", 2, "two", NET_TASK_STATUS_COMPLETED, 200, 250 },
    { "12345u", 3, "unknown after", NET_TASK_STATUS_PENDING, 300, 350 },
    { "12u345", 4, "unknown between", NET_TASK_STATUS_COMPLETED, 400, 450 },
    { "1T2345", 5, "title twice", NET_TASK_STATUS_PENDING, 500, 550 },
    { "1T3452", 17, "title again after the others", NET_TASK_STATUS_COMPLETED, 1700, 1750 },
    { "2345", 6, "no id", NET_TASK_STATUS_PENDING, 0, 0 },   /* not restored */
    { "1245", 7, "no status", NET_TASK_STATUS_PENDING, 700, 750 },
    { "123", 8, "no times", NET_TASK_STATUS_COMPLETED, 0, 0 },
    { "12345", 9, "", NET_TASK_STATUS_PENDING, -1, 1 },
    { "12345", 10, "tâche ✓", NET_TASK_STATUS_COMPLETED, G_MININT64, G_MAXINT64 },
    { "12345", 14, "a longer title, then: tâche ✓ and more", NET_TASK_STATUS_PENDING, 1400, 1450 },
    { "12345", 15, "exactly 16 bytes", NET_TASK_STATUS_PENDING, 1500, 1550 },
    /* A record past 127 bytes: its length takes two bytes. */
    { "12345", 16, "a title long enough that its record takes more than one hundred and "
                   "twenty-seven bytes, so that the length of the item is a varint of two bytes",
      NET_TASK_STATUS_COMPLETED, 1600, 1650 },
    { "12345", G_MAXUINT64, "largest id", NET_TASK_STATUS_PENDING, G_MAXINT64, G_MININT64 },
    { "12345", G_GUINT64_CONSTANT (1) << 62, "long id", NET_TASK_STATUS_PENDING,
      G_GINT64_CONSTANT (1) << 55, -(G_GINT64_CONSTANT (1) << 55) },
    { "12345", 11, "7-byte times", NET_TASK_STATUS_PENDING,
      (G_GINT64_CONSTANT (1) << 47) + 3, (G_GINT64_CONSTANT (1) << 48) - 5 },
    { "12345", 12, "9-byte times", NET_TASK_STATUS_COMPLETED,
      (G_GINT64_CONSTANT (1) << 61) + 7, -(G_GINT64_CONSTANT (1) << 62) },
    { "12345", 13, "microseconds", NET_TASK_STATUS_PENDING,
      G_GINT64_CONSTANT (1796000000000000), G_GINT64_CONSTANT (1796000000123456) },
  };
  g_autoptr(GByteArray) snap = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *expected = g_hash_table_new (g_int64_hash, g_int64_equal);
  NetEncoder enc;
  guint n = 0;

  net_encoder_init (&enc, snap);
  net_encoder_put_uint (&enc, NET_SNAPSHOT_APPLIED_SEQ, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (strchr (cases[i].order, '1') == NULL)
        continue;   /* a record without its id is refused: see below */
      put_task_record (snap, 0, cases[i].order, cases[i].id, cases[i].title,
                       cases[i].status, cases[i].created, cases[i].updated);
      g_hash_table_insert (expected, (gpointer) &cases[i].id, (gpointer) &cases[i]);
    }
  /* Random values of every varint length, in the writer's order, the
   * records of every length one after the other (so the last bytes of
   * one are followed by the next, or by the end). */
  {
    static TaskCase random_cases[300];
    static char titles[G_N_ELEMENTS (random_cases)][16];

    for (guint i = 0; i < G_N_ELEMENTS (random_cases); i++)
      {
        TaskCase *c = &random_cases[i];
        guint64 r[3];

        for (guint k = 0; k < 3; k++)
          {
            guint bits = g_test_rand_int_range (0, 65);

            r[k] = (guint64) g_test_rand_int () << 32 | (guint32) g_test_rand_int ();
            if (bits < 64)
              r[k] &= (G_GUINT64_CONSTANT (1) << bits) - 1;
          }
        c->order = "12345";
        c->id = 1000 + i + (r[0] << 12);
        g_snprintf (titles[i], sizeof titles[i], "r%u", i);
        c->title = titles[i];
        c->status = g_test_rand_bit () ? NET_TASK_STATUS_COMPLETED : NET_TASK_STATUS_PENDING;
        c->created = (gint64) r[1];
        c->updated = (gint64) r[2];
        put_task_record (snap, 0, c->order, c->id, c->title, c->status, c->created, c->updated);
        g_hash_table_insert (expected, &c->id, c);
      }
  }
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&snap));

  g_assert_true (net_db_tasks_restore (f->tasks, bytes, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, g_hash_table_size (expected));

  {
    GHashTableIter it;
    const TaskCase *c;

    g_hash_table_iter_init (&it, expected);
    while (g_hash_table_iter_next (&it, NULL, (gpointer *) &c))
      {
        g_autoptr(NetTask) task = net_db_tasks_get (f->tasks, c->id);

        g_assert_nonnull (task);
        g_assert_cmpuint (net_task_get_id (task), ==, c->id);
        g_assert_cmpstr (net_task_get_title (task), ==, c->title);
        g_assert_cmpint (net_task_get_status (task), ==, c->status);
        g_assert_cmpint (net_task_get_created_at (task), ==, c->created);
        g_assert_cmpint (net_task_get_updated_at (task), ==, c->updated);
        n++;
      }
  }
  g_assert_cmpuint (n, ==, g_hash_table_size (expected));
  g_hash_table_unref (expected);
  drain ();
}

/* A snapshot with one bad record, in the writer's order or another, is
 * refused as a whole, as a bad task record, and the state is left as it
 * was. */
static void
test_snapshot_record_invalid (Fixture       *f,
                              gconstpointer  data)
{
  static const struct {
    const char *order;
    guint64     status;
    const char *title;
    gsize       cut;    /* bytes cut off the record's end */
  } cases[] = {
    { "2345", 0, "no id", 0 },
    { "1345", 0, "no title", 0 },
    { "12345", 2, "bad status", 0 },
    { "54321", 7, "bad status, another order", 0 },
    { "12345", 0, "nul\001", 0 },   /* the \001 becomes a NUL below */
    { "12345", 0, "bad \377 UTF-8", 0 },
    { "12345", 0, "a longer title, with a nul\001 well inside", 0 },
    { "12345", 0, "a longer title, then bad \377 UTF-8", 0 },
    { "12345", 0, "a longer title, ending in nul\001", 0 },
    { "12345", 0, "truncated", 1 },    /* inside the last varint */
    { "12345", 0, "truncated", 8 },    /* the last field's key only */
    { "12345", 0, "truncated", 12 },   /* inside the created varint */
    { "12345", 0, "truncated", 25 },   /* inside the title */
  };

  net_db_tasks_create (f->tasks, 1, "kept", 100, NULL);
  drain ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) snap = g_byte_array_new ();
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(NetTask) kept = NULL;
      NetEncoder enc;

      net_encoder_init (&enc, snap);
      net_encoder_put_uint (&enc, NET_SNAPSHOT_APPLIED_SEQ, 1);
      put_task_record (snap, 0, "12345", 5, "good", 0, 10, 20);
      put_task_record (snap, cases[i].cut, cases[i].order, 6, cases[i].title, cases[i].status,
                       G_GINT64_CONSTANT (1796000000000000), G_GINT64_CONSTANT (1796000000123456));
      for (guint k = 0; k + 4 <= snap->len; k++)
        if (memcmp (snap->data + k, "nul\001", 4) == 0)
          snap->data[k + 3] = '\0';
      put_task_record (snap, 0, "12345", 7, "good too", 0, 10, 20);
      bytes = g_byte_array_free_to_bytes (g_steal_pointer (&snap));

      g_assert_false (net_db_tasks_restore (f->tasks, bytes, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
      g_assert_nonnull (strstr (error->message, "bad task record"));
      g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, 1);
      kept = net_db_tasks_get (f->tasks, 1);
      g_assert_cmpstr (net_task_get_title (kept), ==, "kept");
    }
  drain ();
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *n)
{
  (*n)++;
}

/* The cache of recent items: within a burst of work, the items a query
 * returned are returned again (the same objects, not made again), and
 * they still change in place; once the loop is idle the cache lets go,
 * and an item nobody holds is gone. */
static void
test_items_recent (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(NetTasksFilter) pending = pending_filter ();
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autoptr(NetTask) held = NULL;
  NetTask *task, *weak, *weak2;
  guint notified = 0;

  for (guint64 id = 1; id <= 50; id++)
    net_db_tasks_create (f->tasks, id, "task", 100, NULL);
  drain ();

  /* Two gets: one object, though nobody held it in between. */
  task = net_db_tasks_get (f->tasks, 7);
  weak = task;
  g_object_add_weak_pointer (G_OBJECT (task), (gpointer *) &weak);
  g_object_unref (task);
  g_assert_nonnull (weak);
  task = net_db_tasks_get (f->tasks, 7);
  g_assert_true (task == weak);

  /* A cached item nobody holds still changes in place. */
  g_object_unref (task);
  net_db_tasks_rename (f->tasks, 7, "renamed", 200, NULL);
  g_assert_nonnull (weak);
  g_assert_cmpstr (net_task_get_title (weak), ==, "renamed");
  task = net_db_tasks_get (f->tasks, 7);
  g_assert_true (task == weak);
  g_object_unref (task);

  /* Two queries: the same objects. */
  first = find (f->tasks, pending);
  weak2 = g_ptr_array_index (first, 20);
  g_object_add_weak_pointer (G_OBJECT (weak2), (gpointer *) &weak2);
  g_clear_pointer (&first, g_ptr_array_unref);
  g_assert_nonnull (weak2);
  second = find (f->tasks, pending);
  g_assert_cmpuint (second->len, ==, 50);
  g_assert_true (g_ptr_array_index (second, 20) == (gpointer) weak2);
  g_assert_true (g_ptr_array_index (second, 6) == (gpointer) weak);
  g_clear_pointer (&second, g_ptr_array_unref);

  /* Idle: the cache lets go, and nobody holds them. */
  drain ();
  g_assert_null (weak);
  g_assert_null (weak2);

  /* Held past the idle, an item still gets its notifies. */
  held = net_db_tasks_get (f->tasks, 9);
  g_signal_connect (held, "notify::title", G_CALLBACK (count_notify), &notified);
  drain ();
  net_db_tasks_rename (f->tasks, 9, "nine", 300, NULL);
  drain ();
  g_assert_cmpuint (notified, ==, 1);
  g_assert_cmpstr (net_task_get_title (held), ==, "nine");
  task = net_db_tasks_get (f->tasks, 9);
  g_assert_true (task == held);
  g_object_unref (task);

  /* Deleted while only the cache holds it: it keeps its last values and
   * the id made again is a new object. */
  task = net_db_tasks_get (f->tasks, 11);
  weak = task;
  g_object_add_weak_pointer (G_OBJECT (task), (gpointer *) &weak);
  g_object_unref (task);
  net_db_tasks_delete (f->tasks, 11, NULL);
  net_db_tasks_create (f->tasks, 11, "eleven", 400, NULL);
  task = net_db_tasks_get (f->tasks, 11);
  g_assert_true (task != weak);
  g_assert_nonnull (weak);
  g_assert_cmpstr (net_task_get_title (weak), ==, "task");
  g_assert_cmpstr (net_task_get_title (task), ==, "eleven");
  g_object_unref (task);
  drain ();
  g_assert_null (weak);
  g_signal_handlers_disconnect_by_data (held, &notified);
}

/* The ordered indexes read their keys from the entries (their leaves
 * hold the entries only), and hold every task once, in (key, id) order,
 * with times out of order and below zero. */
static void
test_indexes_derived (Fixture       *f,
                      gconstpointer  data)
{
  NetTable *table = _net_db_tasks_get_table (f->tasks);
  guint n = 3000;

  for (guint64 id = 1; id <= n; id++)
    {
      gint64 when = (gint64) ((id * 7919) % 1000) - 500;

      net_db_tasks_create (f->tasks, id, "t", when, NULL);
      if (id % 3 == 0)
        net_db_tasks_complete (f->tasks, id, when + (gint64) (id % 7) * 1000, NULL);
    }
  drain ();

  for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
    {
      guint total = 0;

      for (guint p = 0; p < table->schema->n_partitions; p++)
        {
          NetBTree *tree = _net_table_order (table, p, k);
          const NetTableEntry *prev = NULL;
          NetBTreeIter it;

          g_assert_true (_net_btree_is_derived (tree));
          _net_btree_check (tree);
          for (gboolean ok = _net_btree_iter_first (tree, &it); ok; ok = _net_btree_iter_next (&it))
            {
              const NetTableEntry *e = _net_btree_iter_value (&it);

              g_assert_true (_net_table_lookup (table, e->id) == e);
              if (prev != NULL)
                g_assert_true (_net_table_entry_key (prev, k) < _net_table_entry_key (e, k) ||
                               (_net_table_entry_key (prev, k) == _net_table_entry_key (e, k) &&
                                prev->id < e->id));
              prev = e;
              total++;
            }
        }
      g_assert_cmpuint (total, ==, n);
    }
}

/* The cache of recent items is bounded: a long run of gets keeps at most
 * 65536 items, a find_many() as many as it returned; idle, none. */
static void
test_items_recent_bound (Fixture       *f,
                         gconstpointer  data)
{
  NetTable *table = _net_db_tasks_get_table (f->tasks);
  guint n = 70000;

  if (f->dir != NULL)
    {
      g_test_skip ("the same in memory");
      return;
    }
  for (guint64 id = 1; id <= n; id++)
    net_db_tasks_create (f->tasks, id, "t", 100, NULL);
  drain ();
  g_assert_cmpuint (table->recent->len, ==, 0);

  for (guint64 id = 1; id <= n; id++)
    g_object_unref (net_db_tasks_get (f->tasks, id));
  g_assert_cmpuint (table->recent->len, ==, 65536);
  drain ();
  g_assert_cmpuint (table->recent->len, ==, 0);

  g_ptr_array_unref (find (f->tasks, NULL));
  g_assert_cmpuint (table->recent->len, ==, n);
  g_ptr_array_unref (find (f->tasks, NULL));
  g_assert_cmpuint (table->recent->len, ==, n);
  drain ();
  g_assert_cmpuint (table->recent->len, ==, 0);
  g_assert_cmpuint (_net_table_n_live_items (table), ==, 0);
}

/* A big backlog is folded over several dispatches, not in one. */
static void
test_backlog (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "tasks", NULL, NULL);
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  guint n = 200000;
  guint dispatches = 0;

  drain ();
  for (guint i = 0; i < n; i++)
    {
      NetEventMeta meta = { NET_DISPATCH_TASK_CREATED, 0, 3, i + 1 };
      NetEncoder enc;

      g_byte_array_set_size (payload, 0);
      net_encoder_init (&enc, payload);
      net_encoder_put_uint (&enc, 1, i);
      net_encoder_put_string (&enc, 2, "bulk");
      net_encoder_put_int (&enc, 3, i);
      g_ptr_array_add (batch, net_event_encode (&meta, payload->data, payload->len));
      if (batch->len == 1024 || i + 1 == n)
        {
          net_redex_file_append_batch (file, (GBytes **) batch->pdata, batch->len, &error);
          g_assert_no_error (error);
          g_ptr_array_set_size (batch, 0);
        }
    }

  while (net_db_tasks_get_applied_seq (f->tasks) < n)
    {
      g_main_context_iteration (NULL, TRUE);
      dispatches++;
    }
  g_assert_cmpuint (dispatches, >, 1);
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, n);
}

static void
on_changed_restore (NetDbTasks *tasks,
                    guint64     first,
                    guint64     last,
                    gpointer    data)
{
  GBytes **snap = data;
  g_autoptr(GError) error = NULL;

  if (*snap == NULL)
    return;
  g_assert_true (net_db_tasks_restore (tasks, *snap, &error));
  g_assert_no_error (error);
  g_clear_pointer (snap, g_bytes_unref);
}

/* A handler may restore (replacing the fold) from inside a delivery. */
static void
test_restore_in_handler (Fixture       *f,
                         gconstpointer  data)
{
  GBytes *snap = NULL;
  gulong id;

  net_db_tasks_create (f->tasks, 1, "one", 100, NULL);
  drain ();
  snap = net_db_tasks_snapshot (f->tasks, NULL);
  id = g_signal_connect (f->tasks, "changed", G_CALLBACK (on_changed_restore), &snap);
  net_db_tasks_create (f->tasks, 2, "two", 200, NULL);
  drain ();
  g_assert_null (snap);
  net_db_tasks_create (f->tasks, 3, "three", 300, NULL);
  drain ();
  assert_ids (f->tasks, NULL, "1,2,3");
  g_assert_cmpuint (net_db_tasks_get_applied_seq (f->tasks), ==, 3);
  g_signal_handler_disconnect (f->tasks, id);
}

/* Events from several origins in one log fold into one state; each
 * origin's app_seq counts its own events. */
static void
test_origins (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDbTasks) other = net_db_tasks_new (f->redex, NULL, 8, &error);

  g_assert_no_error (error);
  net_db_tasks_create (f->tasks, 1, "from 7", 100, &error);
  net_db_tasks_create (other, 2, "from 8", 200, &error);
  net_db_tasks_create (f->tasks, 3, "from 7 again", 300, &error);
  net_db_tasks_rename (other, 1, "renamed by 8", 400, &error);
  g_assert_no_error (error);
  drain ();

  assert_ids (f->tasks, NULL, "1,2,3");
  assert_ids (other, NULL, "1,2,3");
  {
    g_autoptr(NetTask) a = net_db_tasks_get (f->tasks, 1);
    g_autoptr(NetTask) b = net_db_tasks_get (other, 1);

    g_assert_cmpstr (net_task_get_title (a), ==, "renamed by 8");
    g_assert_cmpstr (net_task_get_title (b), ==, "renamed by 8");
  }
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (f->tasks, 7), ==, 2);
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (f->tasks, 8), ==, 2);
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (other, 7), ==, 2);

  /* After a restore too. */
  {
    g_autoptr(GBytes) snap = net_db_tasks_snapshot (f->tasks, &error);

    g_assert_true (net_db_tasks_restore (other, snap, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (other, 8), ==, 2);
    net_db_tasks_create (other, 4, "from 8 after restore", 500, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (other, 8), ==, 3);
  }
  net_db_tasks_close (other, NULL);
}

/* The one-line description `netdb log tail` prints of each event. */
static void
test_describe (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "tasks", NULL, &error);
  const char *expected[] = {
    "task.created id=5 title=\"Caf\u00e9 \\\"menu\\\"\" timestamp=100 (origin 0000000000000007, app_seq 1)",
    "task.completed id=5 timestamp=200 (origin 0000000000000007, app_seq 2)",
    "task.deleted id=5 (origin 0000000000000007, app_seq 3)",
  };

  net_db_tasks_create (f->tasks, 5, "Café \"menu\"", 100, &error);
  net_db_tasks_complete (f->tasks, 5, 200, &error);
  net_db_tasks_delete (f->tasks, 5, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, i + 1, &error);
      gsize len;
      const guint8 *bytes = g_bytes_get_data (net_redex_event_get_payload (event), &len);
      g_autofree char *text = net_event_describe (bytes, len);

      g_assert_no_error (error);
      g_assert_cmpstr (text, ==, expected[i]);

      /* Damaged, it is not described (the checksum fails). */
      {
        g_autofree guint8 *copy = g_memdup2 (bytes, len);
        g_autofree char *none = NULL;

        copy[len - 1] ^= 0x40;
        none = net_event_describe (copy, len);
        g_assert_null (none);
      }
    }

  /* An application's own payload is not a model event. */
  g_assert_null (net_event_describe ((const guint8 *) "plain text", 10));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/db/tasks/memory/" path, Fixture, GINT_TO_POINTER (0), fixture_setup, func, fixture_teardown); \
  g_test_add ("/db/tasks/persistent/" path, Fixture, GINT_TO_POINTER (1), fixture_setup, func, fixture_teardown)

  ADD ("basic", test_basic);
  ADD ("indexes-derived", test_indexes_derived);
  ADD ("order-limit", test_order_limit);
  ADD ("snapshot", test_snapshot);
  ADD ("snapshot-indexes", test_snapshot_indexes);
  ADD ("snapshot-duplicate-id", test_snapshot_duplicate_id);
  ADD ("snapshot-record-forms", test_snapshot_record_forms);
  ADD ("snapshot-record-invalid", test_snapshot_record_invalid);
  ADD ("snapshot-empty-log", test_snapshot_empty_log);
  ADD ("unknown-ids", test_unknown_ids);
  ADD ("replace", test_replace);
  ADD ("corrupt-event", test_corrupt_event);
  ADD ("other-thread", test_other_thread);
  ADD ("wait-timeout", test_wait_timeout);
  ADD ("wait-cancel-and-close", test_wait_cancel_and_close);
  ADD ("wait-async", test_wait_async);
  ADD ("closed", test_closed);
  ADD ("invalid-utf8", test_invalid_utf8);
  ADD ("notify-deferred", test_notify_deferred);
  ADD ("items-released", test_items_released);
  ADD ("items-recent", test_items_recent);
  ADD ("items-recent-bound", test_items_recent_bound);
  ADD ("backlog", test_backlog);
  ADD ("restore-in-handler", test_restore_in_handler);
  ADD ("origins", test_origins);
  ADD ("describe", test_describe);
  g_test_add ("/db/tasks/persistent/persistence", Fixture, GINT_TO_POINTER (1),
              fixture_setup, test_persistence, fixture_teardown);

  return g_test_run ();
}
