/* test-redex-cancel.c: every _async of the log answers a cancellable
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * net_redex_file_append_durable_async() and net_redex_tail_next_async()
 * answer G_IO_ERROR_CANCELLED promptly, for a cancellable cancelled before
 * the call and during the wait, never synchronously, and leave nothing
 * half-done: nothing appended when cancelled before, no event taken from a
 * tail.
 */

#include "config.h"

#include "redex-test-util.h"
#include "net-redex-private.h"

typedef struct
{
  char     *tmp;
  NetRedex *redex;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gboolean persistent = GPOINTER_TO_INT (data);

  f->tmp = redex_test_make_tmpdir ();
  if (persistent)
    {
      g_autofree char *dir = g_build_filename (f->tmp, "db", NULL);

      f->redex = net_redex_new (dir, &error);
    }
  else
    f->redex = net_redex_new (NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
}

typedef struct
{
  gboolean  done;
  guint64   seq;
  GError   *error;
  NetRedexEvent *event;
} Result;

static void
durable_cb (GObject      *source,
            GAsyncResult *res,
            gpointer      user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->seq = net_redex_file_append_durable_finish (NET_REDEX_FILE (source), res, &r->error);
  r->done = TRUE;
}

static void
tail_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->event = net_redex_tail_next_finish (NET_REDEX_TAIL (source), res, &r->error);
  r->done = TRUE;
}

static void
result_clear (Result *r)
{
  g_clear_error (&r->error);
  g_clear_pointer (&r->event, net_redex_event_unref);
  *r = (Result) { 0, };
}

static void
test_durable_already_cancelled (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "c", NULL, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) p = redex_test_payload (1, 40);
  Result r = { 0, };

  g_assert_no_error (error);
  g_cancellable_cancel (cancellable);
  net_redex_file_append_durable_async (file, p, cancellable, durable_cb, &r);
  g_assert_false (r.done);   /* never synchronously */
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (r.seq, ==, 0);

  /* Nothing was appended. */
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 1);
  result_clear (&r);

  /* The log goes on as if nothing happened. */
  net_redex_file_append_durable_async (file, p, NULL, durable_cb, &r);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.seq, ==, 1);
  result_clear (&r);
}

/* Cancelled while it waits for the disk: answered at once, while the sync
 * is still held; the event stays appended and becomes durable later. */
static void
test_durable_cancelled_while_waiting (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "c", NULL, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) p = redex_test_payload (1, 40);
  Result r = { 0, };
  Result other = { 0, };

  g_assert_no_error (error);
  _net_redex_file_hold_sync (file, TRUE);

  net_redex_file_append_durable_async (file, p, cancellable, durable_cb, &r);
  net_redex_file_append_durable_async (file, p, NULL, durable_cb, &other);
  redex_test_spin (100);
  g_assert_false (r.done);
  g_assert_false (other.done);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==, 0);

  g_cancellable_cancel (cancellable);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (other.done);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 3);

  /* The other waiter is answered once the disk is; the cancelled one
   * never again. */
  _net_redex_file_hold_sync (file, FALSE);
  REDEX_TEST_SPIN_UNTIL (other.done, 5000);
  g_assert_no_error (other.error);
  g_assert_cmpuint (other.seq, ==, 2);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), >=, 2);
  redex_test_spin (50);
  result_clear (&r);
  result_clear (&other);
}

/* Cancelled in another thread while it waits. */
static gpointer
cancel_thread (gpointer data)
{
  g_usleep (20 * 1000);
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_durable_cancelled_from_thread (Fixture       *f,
                                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "c", NULL, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) p = redex_test_payload (1, 40);
  Result r = { 0, };
  GThread *thread;

  g_assert_no_error (error);
  _net_redex_file_hold_sync (file, TRUE);
  net_redex_file_append_durable_async (file, p, cancellable, durable_cb, &r);
  thread = g_thread_new ("cancel", cancel_thread, cancellable);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_thread_join (thread);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  _net_redex_file_hold_sync (file, FALSE);
  result_clear (&r);
}

static void
test_tail_already_cancelled (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "t", NULL, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) p = redex_test_payload (1, 40);
  g_autoptr(NetRedexTail) tail = NULL;
  Result r = { 0, };

  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);
  tail = net_redex_file_tail (file, 1);

  /* An event is there, and the cancellable wins: it stays there. */
  g_cancellable_cancel (cancellable);
  net_redex_tail_next_async (tail, cancellable, tail_cb, &r);
  g_assert_false (r.done);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r.event);
  g_assert_cmpuint (net_redex_tail_get_position (tail), ==, 1);
  result_clear (&r);

  net_redex_tail_next_async (tail, NULL, tail_cb, &r);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_no_error (r.error);
  redex_test_assert_event (r.event, 1, p);
  result_clear (&r);

  /* Nothing there yet, cancelled before the call. */
  net_redex_tail_next_async (tail, cancellable, tail_cb, &r);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&r);
}

static void
test_tail_cancelled_while_waiting (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (f->redex, "t", NULL, &error);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) p = redex_test_payload (1, 40);
  g_autoptr(NetRedexTail) tail = net_redex_file_tail (file, 1);
  Result r = { 0, };
  GThread *thread;

  g_assert_no_error (error);
  net_redex_tail_next_async (tail, cancellable, tail_cb, &r);
  redex_test_spin (50);
  g_assert_false (r.done);
  g_cancellable_cancel (cancellable);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&r);

  /* From another thread too. */
  g_cancellable_reset (cancellable);
  net_redex_tail_next_async (tail, cancellable, tail_cb, &r);
  thread = g_thread_new ("cancel", cancel_thread, cancellable);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_thread_join (thread);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  result_clear (&r);

  /* The tail still works and lost nothing. */
  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);
  net_redex_tail_next_async (tail, NULL, tail_cb, &r);
  REDEX_TEST_SPIN_UNTIL (r.done, 5000);
  g_assert_no_error (r.error);
  redex_test_assert_event (r.event, 1, p);
  result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint persistent = 0; persistent <= 1; persistent++)
    {
      const char *kind = persistent ? "persistent" : "memory";
      gconstpointer data = GINT_TO_POINTER (persistent);
      g_autofree char *p1 = g_strdup_printf ("/redex/cancel/%s/durable-already-cancelled", kind);
      g_autofree char *p2 = g_strdup_printf ("/redex/cancel/%s/tail-already-cancelled", kind);
      g_autofree char *p3 = g_strdup_printf ("/redex/cancel/%s/tail-cancelled-while-waiting", kind);

      g_test_add (p1, Fixture, data, fixture_setup, test_durable_already_cancelled, fixture_teardown);
      g_test_add (p2, Fixture, data, fixture_setup, test_tail_already_cancelled, fixture_teardown);
      g_test_add (p3, Fixture, data, fixture_setup, test_tail_cancelled_while_waiting, fixture_teardown);
    }
  g_test_add ("/redex/cancel/persistent/durable-cancelled-while-waiting", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_durable_cancelled_while_waiting, fixture_teardown);
  g_test_add ("/redex/cancel/persistent/durable-cancelled-from-thread", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_durable_cancelled_from_thread, fixture_teardown);

  return g_test_run ();
}
