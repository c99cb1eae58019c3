/* test-redex-tail.c: NetRedexTail — history then live, no gap, no
 * duplicate, LAGGED and CLOSED
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "redex-test-util.h"

typedef struct
{
  gboolean  persistent;
  char     *tmp;
  NetRedex *redex;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->persistent = GPOINTER_TO_INT (data);
  f->tmp = redex_test_make_tmpdir ();
  f->redex = net_redex_new (f->persistent ? f->tmp : NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->redex != NULL)
    net_redex_close (f->redex, NULL);
  g_clear_object (&f->redex);
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
}

static void
fixture_reopen (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (f->persistent);
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
  f->redex = net_redex_new (f->tmp, &error);
  g_assert_no_error (error);
}

static NetRedexFile *
open_file (Fixture        *f,
           const char     *name,
           NetRedexConfig *config)
{
  g_autoptr(GError) error = NULL;
  NetRedexFile *file = net_redex_open_file (f->redex, name, config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

/* The payload of seq s is redex_test_payload (s, payload_len (s)). */
static gsize
payload_len (guint64 seq)
{
  return 12 + seq % 23;
}

static void
append_n (NetRedexFile *file,
          guint         n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 seq = net_redex_file_get_next_seq (file);
      g_autoptr(GBytes) p = redex_test_payload (seq, payload_len (seq));

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, seq);
      g_assert_no_error (error);
    }
}

static void
assert_event_for_seq (NetRedexEvent *event,
                      guint64        seq)
{
  g_autoptr(GBytes) p = redex_test_payload (seq, payload_len (seq));

  redex_test_assert_event (event, seq, p);
}

static void
expect_next (NetRedexTail *tail,
             guint64       seq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = redex_test_tail_next (tail, 10000, &error);

  g_assert_no_error (error);
  assert_event_for_seq (event, seq);
  g_assert_cmpuint (net_redex_tail_get_position (tail), ==, seq + 1);
}

static void
expect_next_error (NetRedexTail *tail,
                   gint          code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = redex_test_tail_next (tail, 10000, &error);

  if (event != NULL)
    g_error ("expected error %d, got seq %" G_GUINT64_FORMAT, code, net_redex_event_get_seq (event));
  g_assert_error (error, NET_ERROR, code);
}

static void
expect_try_none (NetRedexTail *tail)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = net_redex_tail_try_next (tail, &error);

  g_assert_no_error (error);
  if (event != NULL)
    g_error ("try_next returned seq %" G_GUINT64_FORMAT " when nothing was available",
             net_redex_event_get_seq (event));
}

/* ------------------------------------------------------------------ */
/* Deterministic single-thread behaviour                               */

static void
test_history_then_live (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) tail = NULL;
  g_autoptr(NetRedexTail) head = NULL;
  g_autoptr(NetRedexTail) live = NULL;
  g_autoptr(GError) error = NULL;

  append_n (file, 10);

  tail = net_redex_file_tail (file, 4);
  head = net_redex_file_tail (file, 1);
  live = net_redex_file_tail (file, 11);

  for (guint64 s = 4; s <= 10; s++)
    expect_next (tail, s);
  expect_try_none (tail);
  expect_try_none (live);

  /* History via try_next. */
  for (guint64 s = 1; s <= 10; s++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_tail_try_next (head, &error);

      g_assert_no_error (error);
      assert_event_for_seq (e, s);
    }
  expect_try_none (head);

  redex_test_tail_assert_pending (tail, 50);

  append_n (file, 5);
  for (guint64 s = 11; s <= 15; s++)
    {
      expect_next (tail, s);
      expect_next (live, s);
      expect_next (head, s);
    }
  expect_try_none (tail);

  /* Appended before the request. */
  {
    g_autoptr(NetRedexEvent) e = NULL;
    guint64 seq = 16;
    g_autoptr(GBytes) p = redex_test_payload (seq, payload_len (seq));
    g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 16);
    g_assert_no_error (error);
    e = redex_test_tail_next (tail, 10000, &error);
    g_assert_no_error (error);
    assert_event_for_seq (e, 16);
  }

  /* Persistent: the same after a reopen (history only on disk now). */
  if (f->persistent)
    {
      g_clear_object (&tail);
      g_clear_object (&head);
      g_clear_object (&live);
      g_clear_object (&file);
      fixture_reopen (f);
      file = open_file (f, "t", NULL);
      tail = net_redex_file_tail (file, 2);
      for (guint64 s = 2; s <= 16; s++)
        expect_next (tail, s);
      append_n (file, 2);
      expect_next (tail, 17);
      expect_next (tail, 18);
    }
}

typedef struct
{
  NetRedexFile *file;
  guint64       seq;
  guint         delay_ms;
} DelayedAppend;

static gpointer
delayed_append_thread (gpointer data)
{
  DelayedAppend *d = data;
  g_autoptr(GBytes) p = redex_test_payload (d->seq, payload_len (d->seq));
  g_autoptr(GError) error = NULL;

  g_usleep (d->delay_ms * 1000);
  if (net_redex_file_append (d->file, p, &error) != d->seq)
    g_error ("delayed append did not get seq %" G_GUINT64_FORMAT ": %s", d->seq,
             error ? error->message : "wrong seq");
  return NULL;
}

static void
test_wake_from_thread (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) tail = NULL;
  DelayedAppend d;
  GThread *thread;

  append_n (file, 3);
  tail = net_redex_file_tail (file, 4);

  /* The request is pending when another thread appends. */
  d = (DelayedAppend) { file, 4, 100 };
  thread = g_thread_new ("append", delayed_append_thread, &d);
  expect_next (tail, 4);
  g_thread_join (thread);
}

static void
test_position (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) tail = NULL;
  g_autoptr(NetRedexTail) future = NULL;

  append_n (file, 5);
  tail = net_redex_file_tail (file, 4);
  future = net_redex_file_tail (file, 9);

  /* The position is the seq the tail yields next, from the start. */
  g_assert_cmpuint (net_redex_tail_get_position (tail), ==, 4);
  g_assert_cmpuint (net_redex_tail_get_position (future), ==, 9);
  expect_next (tail, 4);
  g_assert_cmpuint (net_redex_tail_get_position (tail), ==, 5);
  expect_try_none (future);
  g_assert_cmpuint (net_redex_tail_get_position (future), ==, 9);
}

static void
test_future (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) tail = NULL;

  append_n (file, 5);
  /* next_seq is 6; start at 11. */
  tail = net_redex_file_tail (file, 11);
  expect_try_none (tail);
  redex_test_tail_assert_pending (tail, 30);

  append_n (file, 5); /* 6..10: not for this tail */
  expect_try_none (tail);
  redex_test_tail_assert_pending (tail, 30);

  append_n (file, 3); /* 11..13 */
  expect_next (tail, 11);
  expect_next (tail, 12);
  expect_next (tail, 13);
  expect_try_none (tail);

  /* Far future, woken by a batch that crosses it. */
  {
    g_autoptr(NetRedexTail) far = net_redex_file_tail (file, 20);
    GBytes *batch[10];
    g_autoptr(GError) error = NULL;

    for (guint i = 0; i < 10; i++)
      batch[i] = redex_test_payload (14 + i, payload_len (14 + i));
    g_assert_cmpuint (net_redex_file_append_batch (file, batch, 10, &error), ==, 14);
    g_assert_no_error (error);
    for (guint i = 0; i < 10; i++)
      g_bytes_unref (batch[i]);
    for (guint64 s = 20; s <= 23; s++)
      expect_next (far, s);
    expect_try_none (far);
  }
}

static void
test_lagged_evicted (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(NetRedexTail) early = NULL;
  g_autoptr(NetRedexTail) old = NULL;
  g_autoptr(NetRedexTail) ok = NULL;
  g_autoptr(GError) error = NULL;
  guint64 evicted = 0;

  net_redex_config_set_retention_max_events (config, 10);
  file = open_file (f, "t", config);

  append_n (file, 5);
  /* Created while 1.. is still retained, read only after eviction. */
  early = net_redex_file_tail (file, 1);
  expect_next (early, 1);

  append_n (file, 25);
  g_assert_true (net_redex_file_sweep_retention (file, &evicted, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 21);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 31);

  /* Seq 2.. is gone: the tail may still hand out what it had already
   * fetched, in order, but must fail with LAGGED instead of skipping to 21. */
  for (guint64 s = 2;; s++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(NetRedexEvent) e = redex_test_tail_next (early, 10000, &local_error);

      if (e == NULL)
        {
          g_assert_error (local_error, NET_ERROR, NET_ERROR_LAGGED);
          g_test_message ("the early tail yielded up to seq %" G_GUINT64_FORMAT " before LAGGED", s - 1);
          break;
        }
      assert_event_for_seq (e, s);
      g_assert_cmpuint (s, <, 21);
    }

  old = net_redex_file_tail (file, 20);
  expect_next_error (old, NET_ERROR_LAGGED);
  g_clear_object (&old);
  old = net_redex_file_tail (file, 1);
  {
    g_autoptr(NetRedexEvent) e = net_redex_tail_try_next (old, &error);

    g_assert_null (e);
    g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
  }

  ok = net_redex_file_tail (file, 21);
  for (guint64 s = 21; s <= 30; s++)
    expect_next (ok, s);

  if (f->persistent)
    {
      g_clear_object (&ok);
      g_clear_object (&old);
      g_clear_object (&early);
      g_clear_object (&file);
      fixture_reopen (f);
      file = open_file (f, "t", NULL);
      old = net_redex_file_tail (file, 15);
      expect_next_error (old, NET_ERROR_LAGGED);
      ok = net_redex_file_tail (file, 21);
      expect_next (ok, 21);
    }
}

static void
test_lagged_overflow (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(NetRedexTail) exact = NULL;
  g_autoptr(NetRedexTail) over = NULL;
  g_autoptr(NetRedexTail) reader = NULL;
  guint64 got = 0;
  gboolean lagged = FALSE;

  net_redex_config_set_tail_buffer (config, 8);
  file = open_file (f, "t", config);
  append_n (file, 3);

  /* A reader that keeps up never lags, however many events pass. */
  reader = net_redex_file_tail (file, 4);
  for (guint round = 0; round < 10; round++)
    {
      guint64 first = net_redex_file_get_next_seq (file);

      append_n (file, 6);
      for (guint64 s = first; s < first + 6; s++)
        expect_next (reader, s);
    }

  /* Exactly tail_buffer unread live events: still fine. */
  exact = net_redex_file_tail (file, net_redex_file_get_next_seq (file));
  {
    guint64 first = net_redex_file_get_next_seq (file);

    append_n (file, 8);
    for (guint64 s = first; s < first + 8; s++)
      expect_next (exact, s);
  }
  g_clear_object (&reader);

  /* One more than the buffer: LAGGED before the reader could miss one. */
  over = net_redex_file_tail (file, net_redex_file_get_next_seq (file));
  {
    guint64 first = net_redex_file_get_next_seq (file);

    append_n (file, 9);
    for (guint i = 0; i < 9 && !lagged; i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(NetRedexEvent) e = redex_test_tail_next (over, 10000, &error);

        if (e != NULL)
          {
            assert_event_for_seq (e, first + got);
            got++;
          }
        else
          {
            g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
            lagged = TRUE;
          }
      }
  }
  if (!lagged)
    g_error ("a tail with a buffer of 8 received %" G_GUINT64_FORMAT " unread live events without NET_ERROR_LAGGED", got);

  /* Far behind: many more appends than the buffer. */
  {
    g_autoptr(NetRedexTail) far = net_redex_file_tail (file, net_redex_file_get_next_seq (file));

    append_n (file, 100);
    lagged = FALSE;
    for (guint i = 0; i < 100 && !lagged; i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(NetRedexEvent) e = redex_test_tail_next (far, 10000, &error);

        if (e == NULL)
          {
            g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
            lagged = TRUE;
          }
      }
    g_assert_true (lagged);
  }
}

static void
test_closed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexFile) other = open_file (f, "u", NULL);
  g_autoptr(NetRedexTail) tail = NULL;
  g_autoptr(NetRedexTail) closed_tail = NULL;
  g_autoptr(NetRedexTail) other_tail = NULL;
  g_autoptr(NetRedexTail) after = NULL;
  g_autoptr(GError) error = NULL;

  append_n (file, 2);
  append_n (other, 2);

  /* net_redex_tail_close: the next read fails with CLOSED. */
  closed_tail = net_redex_file_tail (file, 1);
  expect_next (closed_tail, 1);
  net_redex_tail_close (closed_tail);
  expect_next_error (closed_tail, NET_ERROR_CLOSED);
  {
    g_autoptr(NetRedexEvent) e = net_redex_tail_try_next (closed_tail, &error);

    g_assert_null (e);
    g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
    g_clear_error (&error);
  }

  /* A tail whose file is closed fails with CLOSED. */
  tail = net_redex_file_tail (file, 3);

  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);
  redex_test_spin (20);
  expect_next_error (tail, NET_ERROR_CLOSED);

  /* A tail made after close fails too. */
  after = net_redex_file_tail (file, 1);
  g_assert_nonnull (after);
  expect_next_error (after, NET_ERROR_CLOSED);

  /* Closing the redex closes the tails of its files. */
  other_tail = net_redex_file_tail (other, 3);
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  expect_next_error (other_tail, NET_ERROR_CLOSED);
}

typedef struct
{
  gboolean       done;
  NetRedexEvent *event;
  GError        *error;
} PendingData;

static void
pending_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  PendingData *d = user_data;

  d->event = net_redex_tail_next_finish (NET_REDEX_TAIL (object), result, &d->error);
  d->done = TRUE;
}

static void
test_closed_pending (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) a = NULL;
  g_autoptr(NetRedexTail) b = NULL;
  g_autoptr(GError) error = NULL;
  PendingData da = { 0, }, db = { 0, };

  append_n (file, 1);
  a = net_redex_file_tail (file, 2);
  b = net_redex_file_tail (file, 2);

  net_redex_tail_next_async (a, NULL, pending_cb, &da);
  net_redex_tail_next_async (b, NULL, pending_cb, &db);
  redex_test_spin (30);
  g_assert_false (da.done);
  g_assert_false (db.done);

  /* Closing the tail itself ends its pending request. */
  net_redex_tail_close (a);
  REDEX_TEST_SPIN_UNTIL (da.done, 5000);
  g_assert_null (da.event);
  g_assert_error (da.error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&da.error);
  g_assert_false (db.done);

  /* Closing the file ends the other. */
  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);
  REDEX_TEST_SPIN_UNTIL (db.done, 5000);
  g_assert_null (db.event);
  g_assert_error (db.error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&db.error);
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  g_autoptr(NetRedexTail) tail = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PendingData d = { 0, };

  append_n (file, 2);
  tail = net_redex_file_tail (file, 3);
  net_redex_tail_next_async (tail, cancellable, pending_cb, &d);
  redex_test_spin (20);
  g_assert_false (d.done);
  g_cancellable_cancel (cancellable);
  REDEX_TEST_SPIN_UNTIL (d.done, 5000);
  g_assert_error (d.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&d.error);

  /* The tail is still usable and lost nothing. */
  append_n (file, 1);
  expect_next (tail, 3);
}

/* ------------------------------------------------------------------ */
/* Concurrent appender, many consumers                                 */

#define CONCURRENT_N 100000

typedef struct
{
  const char   *label;
  NetRedexTail *tail;
  GThread      *owner;
  guint64       expected;
  guint64       end;         /* exclusive */
  gboolean      use_try;
  gboolean      done;
  GError       *error;
  guint64       n_async;
} Consumer;

static void consumer_pump (Consumer *c);

static gboolean
consumer_check (Consumer      *c,
                NetRedexEvent *e)
{
  guint64 seq = net_redex_event_get_seq (e);
  GBytes *payload = net_redex_event_get_payload (e);

  if (seq != c->expected)
    {
      g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: expected seq %" G_GUINT64_FORMAT ", got %" G_GUINT64_FORMAT,
                   c->label, c->expected, seq);
      return FALSE;
    }
  if (g_bytes_get_size (payload) != payload_len (seq) ||
      redex_test_payload_tag (payload) != seq ||
      !redex_test_payload_is_valid (payload))
    {
      g_set_error (&c->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: payload of seq %" G_GUINT64_FORMAT " is wrong", c->label, seq);
      return FALSE;
    }
  c->expected++;
  return TRUE;
}

static void
consumer_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Consumer *c = user_data;
  g_autoptr(NetRedexEvent) e = NULL;

  if (g_thread_self () != c->owner)
    g_error ("%s: tail callback ran in another thread than the one that created the tail", c->label);

  e = net_redex_tail_next_finish (NET_REDEX_TAIL (object), result, &c->error);
  if (e == NULL)
    {
      g_prefix_error (&c->error, "%s at %" G_GUINT64_FORMAT ": ", c->label, c->expected);
      c->done = TRUE;
      return;
    }
  if (!consumer_check (c, e))
    {
      c->done = TRUE;
      return;
    }
  consumer_pump (c);
}

static void
consumer_pump (Consumer *c)
{
  guint burst = 0;

  while (c->expected < c->end)
    {
      g_autoptr(NetRedexEvent) e = NULL;

      if (!c->use_try || burst++ >= 512)
        {
          c->n_async++;
          net_redex_tail_next_async (c->tail, NULL, consumer_cb, c);
          return;
        }

      e = net_redex_tail_try_next (c->tail, &c->error);
      if (c->error != NULL)
        {
          g_prefix_error (&c->error, "%s try_next at %" G_GUINT64_FORMAT ": ", c->label, c->expected);
          c->done = TRUE;
          return;
        }
      if (e == NULL)
        burst = G_MAXUINT; /* nothing there yet: wait asynchronously */
      else if (!consumer_check (c, e))
        {
          c->done = TRUE;
          return;
        }
    }
  c->done = TRUE;
}

static void
consumer_start (Consumer     *c,
                const char   *label,
                NetRedexFile *file,
                guint64       from,
                guint64       end,
                gboolean      use_try)
{
  *c = (Consumer) {
    .label = label,
    .tail = net_redex_file_tail (file, from),
    .owner = g_thread_self (),
    .expected = from,
    .end = end,
    .use_try = use_try,
  };
  consumer_pump (c);
}

typedef struct
{
  NetRedexFile *file;
  guint64       n;
  gint          pause_at;   /* the appender stops there until released */
  gint          paused;     /* atomic */
  gint          released;   /* atomic */
  GError       *error;
} Appender;

static gpointer
appender_thread (gpointer data)
{
  Appender *a = data;
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  guint64 next = 1;

  while (next <= a->n)
    {
      guint n = g_rand_int_range (rand, 0, 4) == 0 ? g_rand_int_range (rand, 1, 17) : 1;
      guint64 seq;

      if (next <= (guint64) a->pause_at && next + n > (guint64) a->pause_at)
        {
          g_atomic_int_set (&a->paused, 1);
          while (!g_atomic_int_get (&a->released))
            g_usleep (1000);
        }

      n = MIN (n, a->n - next + 1);
      if (n == 1)
        {
          g_autoptr(GBytes) p = redex_test_payload (next, payload_len (next));
          seq = net_redex_file_append (a->file, p, &a->error);
        }
      else
        {
          GBytes *batch[16];

          for (guint i = 0; i < n; i++)
            batch[i] = redex_test_payload (next + i, payload_len (next + i));
          seq = net_redex_file_append_batch (a->file, batch, n, &a->error);
          for (guint i = 0; i < n; i++)
            g_bytes_unref (batch[i]);
        }
      if (seq != next)
        {
          if (a->error == NULL)
            g_set_error (&a->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         "append returned %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                         seq, next);
          break;
        }
      next += n;
      if (g_rand_int_range (rand, 0, 64) == 0)
        g_thread_yield ();
    }

  g_rand_free (rand);
  return NULL;
}

static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  Consumer consumers[7];
  guint n_consumers = 0;
  Appender a = { 0, };
  GThread *thread;
  gint64 deadline;
  guint wake;

  /* Large enough that a slow consumer never lags here. */
  net_redex_config_set_tail_buffer (config, 4 * CONCURRENT_N);
  net_redex_config_set_segment_size (config, 1024 * 1024);
  file = open_file (f, "concurrent", config);

  a.file = file;
  a.n = CONCURRENT_N;
  a.pause_at = 30000;

  /* Before the first append: from the head, and from the future. */
  consumer_start (&consumers[n_consumers++], "head-async", file, 1, CONCURRENT_N + 1, FALSE);
  consumer_start (&consumers[n_consumers++], "head-try", file, 1, CONCURRENT_N + 1, TRUE);
  consumer_start (&consumers[n_consumers++], "future", file, 90001, CONCURRENT_N + 1, FALSE);

  thread = g_thread_new ("appender", appender_thread, &a);

  deadline = g_get_monotonic_time () + redex_test_deadline_usec (120);
  wake = g_timeout_add (5, redex_test_wake_cb, NULL);

  /* Let the appender reach 30000 while the first consumers run. */
  while (!g_atomic_int_get (&a.paused))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }

  /* Release it and subscribe while it appends: the hand-over from history
   * to live happens under a concurrent writer. */
  g_atomic_int_set (&a.released, 1);
  consumer_start (&consumers[n_consumers++], "middle-async", file, 20000, CONCURRENT_N + 1, FALSE);
  consumer_start (&consumers[n_consumers++], "middle-try", file, 25000, CONCURRENT_N + 1, TRUE);
  consumer_start (&consumers[n_consumers++], "late-head", file, 1, CONCURRENT_N + 1, TRUE);
  consumer_start (&consumers[n_consumers++], "at-next", file,
                  net_redex_file_get_next_seq (file), CONCURRENT_N + 1, FALSE);

  for (;;)
    {
      gboolean all_done = TRUE;

      for (guint i = 0; i < n_consumers; i++)
        {
          if (consumers[i].done && consumers[i].error != NULL)
            g_error ("%s", consumers[i].error->message);
          all_done &= consumers[i].done;
        }
      if (all_done)
        break;
      if (g_get_monotonic_time () > deadline)
        {
          for (guint i = 0; i < n_consumers; i++)
            g_printerr ("%s: at %" G_GUINT64_FORMAT "%s\n", consumers[i].label,
                        consumers[i].expected, consumers[i].done ? " (done)" : "");
          g_error ("timed out; next_seq is %" G_GUINT64_FORMAT, net_redex_file_get_next_seq (file));
        }
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);

  g_thread_join (thread);
  g_assert_no_error (a.error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, CONCURRENT_N + 1);

  for (guint i = 0; i < n_consumers; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NetRedexEvent) e = NULL;

      g_assert_cmpuint (consumers[i].expected, ==, CONCURRENT_N + 1);
      /* Nothing beyond the end, and no duplicate delivered late. */
      e = net_redex_tail_try_next (consumers[i].tail, &error);
      g_assert_no_error (error);
      g_assert_null (e);
      g_test_message ("%s: %" G_GUINT64_FORMAT " async waits", consumers[i].label, consumers[i].n_async);
      g_object_unref (consumers[i].tail);
    }
}

/* A tail created in a worker thread delivers in that thread's context. */

typedef struct
{
  NetRedexFile *file;
  Consumer      consumer;
  gint          ready;
  GMainContext *context;
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  gint64 deadline = g_get_monotonic_time () + redex_test_deadline_usec (30);
  GSource *wake;

  w->context = g_main_context_new ();
  g_main_context_push_thread_default (w->context);
  wake = g_timeout_source_new (5);
  g_source_set_callback (wake, redex_test_wake_cb, NULL, NULL);
  g_source_attach (wake, w->context);

  consumer_start (&w->consumer, "worker", w->file, 1, 2001, FALSE);
  g_atomic_int_set (&w->ready, 1);
  while (!w->consumer.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (w->context, TRUE);

  g_source_destroy (wake);
  g_source_unref (wake);
  g_clear_object (&w->consumer.tail);
  /* Let anything the tail scheduled run before the context goes. */
  while (g_main_context_iteration (w->context, FALSE))
    ;
  g_main_context_pop_thread_default (w->context);
  g_main_context_unref (w->context);
  return NULL;
}

static void
test_thread_context (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "t", NULL);
  Worker w = { 0, };
  GThread *thread;

  append_n (file, 500);
  w.file = file;
  thread = g_thread_new ("worker", worker_thread, &w);
  while (!g_atomic_int_get (&w.ready))
    g_usleep (1000);

  /* Appends from this thread, while the main context is not iterated at
   * all: the worker must still get everything. */
  for (guint i = 0; i < 15; i++)
    {
      append_n (file, 100);
      g_usleep (2000);
    }
  g_thread_join (thread);

  if (w.consumer.error != NULL)
    g_error ("%s", w.consumer.error->message);
  g_assert_true (w.consumer.done);
  g_assert_cmpuint (w.consumer.expected, ==, 2001);
}

#define ADD_BOTH(path, func)                                                          \
  G_STMT_START {                                                                      \
    g_test_add ("/redex/tail/memory/" path, Fixture, GINT_TO_POINTER (FALSE),         \
                fixture_setup, func, fixture_teardown);                               \
    g_test_add ("/redex/tail/persistent/" path, Fixture, GINT_TO_POINTER (TRUE),      \
                fixture_setup, func, fixture_teardown);                               \
  } G_STMT_END

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD_BOTH ("history-then-live", test_history_then_live);
  ADD_BOTH ("wake-from-thread", test_wake_from_thread);
  ADD_BOTH ("position", test_position);
  ADD_BOTH ("future", test_future);
  ADD_BOTH ("lagged-evicted", test_lagged_evicted);
  ADD_BOTH ("lagged-overflow", test_lagged_overflow);
  ADD_BOTH ("closed", test_closed);
  ADD_BOTH ("closed-pending", test_closed_pending);
  ADD_BOTH ("cancel", test_cancel);
  ADD_BOTH ("concurrent", test_concurrent);
  ADD_BOTH ("thread-context", test_thread_context);

  return g_test_run ();
}
