/* test-redex-basic.c: appends, reads, names, locking, bad input, group
 * commit and a randomized comparison against a reference model
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"

typedef struct
{
  gboolean  persistent;
  char     *tmp;
  char     *dir;   /* NULL for in-memory */
  NetRedex *redex;
} Fixture;

static void
fixture_open (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (f->redex);
  f->redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->redex);
}

static void
fixture_close (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  if (f->redex == NULL)
    return;
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->persistent = GPOINTER_TO_INT (data);
  f->tmp = redex_test_make_tmpdir ();
  if (f->persistent)
    f->dir = g_build_filename (f->tmp, "db", NULL);
  fixture_open (f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  fixture_close (f);
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
}

/* Reopens a persistent redex; a no-op for an in-memory one. */
static void
fixture_reopen (Fixture *f)
{
  if (!f->persistent)
    return;
  fixture_close (f);
  fixture_open (f);
}

static NetRedexFile *
open_file (Fixture        *f,
           const char     *name,
           NetRedexConfig *config)
{
  g_autoptr(GError) error = NULL;
  NetRedexFile *file = net_redex_open_file (f->redex, name, config, &error);

  g_assert_no_error (error);
  g_assert_true (NET_IS_REDEX_FILE (file));
  return file;
}

static void
assert_reads (NetRedexFile *file,
              guint64       seq,
              GBytes       *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, seq, &error);

  g_assert_no_error (error);
  redex_test_assert_event (event, seq, payload);
}

static void
assert_not_found (NetRedexFile *file,
                  guint64       seq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, seq, &error);

  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_assert_null (event);
}

static void
test_seqs (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "events", NULL);
  g_autoptr(GPtrArray) payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) range = NULL;
  gint64 before, after;

  g_assert_cmpstr (net_redex_file_get_name (file), ==, "events");
  g_assert_false (net_redex_file_get_read_only (file));
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 1);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1);
  g_assert_cmpuint (net_redex_file_get_length (file), ==, 0);
  assert_not_found (file, 1);

  before = g_get_real_time ();
  for (guint i = 0; i < 10; i++)
    {
      GBytes *payload = redex_test_payload (100 + i, 12 + i * 7);
      guint64 seq = net_redex_file_append (file, payload, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, i + 1);
      g_ptr_array_add (payloads, payload);
    }
  after = g_get_real_time ();

  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 11);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1);
  g_assert_cmpuint (net_redex_file_get_length (file), ==, 10);

  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, i + 1, &error);

      g_assert_no_error (error);
      redex_test_assert_event (event, i + 1, payloads->pdata[i]);
      g_assert_cmpint (net_redex_event_get_timestamp (event), >=, before);
      g_assert_cmpint (net_redex_event_get_timestamp (event), <=, after);
    }
  assert_not_found (file, 11);
  assert_not_found (file, 12345);

  range = net_redex_file_read_range (file, 3, 7, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (range->len, ==, 4);
  for (guint i = 0; i < range->len; i++)
    redex_test_assert_event (range->pdata[i], 3 + i, payloads->pdata[2 + i]);
  g_clear_pointer (&range, g_ptr_array_unref);

  /* Clamped to what exists. */
  range = net_redex_file_read_range (file, 0, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (range->len, ==, 10);
  for (guint i = 0; i < range->len; i++)
    redex_test_assert_event (range->pdata[i], 1 + i, payloads->pdata[i]);
  g_clear_pointer (&range, g_ptr_array_unref);

  range = net_redex_file_read_range (file, 4, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (range->len, ==, 0);
  g_clear_pointer (&range, g_ptr_array_unref);

  range = net_redex_file_read_range (file, 11, 20, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (range->len, ==, 0);
  g_clear_pointer (&range, g_ptr_array_unref);

  /* An empty payload is a valid event. */
  {
    g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
    g_autoptr(NetRedexEvent) event = NULL;

    g_assert_cmpuint (net_redex_file_append (file, empty, &error), ==, 11);
    g_assert_no_error (error);
    event = net_redex_file_read_one (file, 11, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_bytes_get_size (net_redex_event_get_payload (event)), ==, 0);
  }

  /* Same contents after a reopen. */
  fixture_reopen (f);
  if (f->persistent)
    {
      g_clear_object (&file);
      file = open_file (f, "events", NULL);
    }
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 12);
  for (guint i = 0; i < 10; i++)
    assert_reads (file, i + 1, payloads->pdata[i]);
  {
    g_autoptr(GBytes) p = redex_test_payload (999, 40);

    g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 12);
    g_assert_no_error (error);
    assert_reads (file, 12, p);
  }
}

static void
test_batch (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GError) error = NULL;
  GBytes *batch[5];
  g_autoptr(GBytes) big = NULL;
  g_autoptr(GBytes) single = redex_test_payload (1, 20);

  net_redex_config_set_max_payload (config, 100);
  file = open_file (f, "batch", config);

  g_assert_cmpuint (net_redex_file_append (file, single, &error), ==, 1);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
    batch[i] = redex_test_payload (10 + i, 12 + i * 20);
  g_assert_cmpuint (net_redex_file_append_batch (file, batch, G_N_ELEMENTS (batch), &error), ==, 2);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 7);
  for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
    assert_reads (file, 2 + i, batch[i]);

  /* All or nothing: one payload too large fails the whole batch. */
  big = redex_test_payload (77, 101);
  g_bytes_unref (batch[3]);
  batch[3] = g_bytes_ref (big);
  g_assert_cmpuint (net_redex_file_append_batch (file, batch, G_N_ELEMENTS (batch), &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 7);
  assert_not_found (file, 7);

  fixture_reopen (f);
  if (f->persistent)
    {
      g_clear_object (&file);
      file = open_file (f, "batch", config);
    }
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 7);
  assert_not_found (file, 7);

  /* And the seqs continue without a gap. */
  g_assert_cmpuint (net_redex_file_append (file, single, &error), ==, 7);
  g_assert_no_error (error);
  assert_reads (file, 7, single);

  for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
    g_bytes_unref (batch[i]);
}

static void
test_if_next_seq (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "cas", NULL);
  g_autoptr(GBytes) a = redex_test_payload (1, 16);
  g_autoptr(GBytes) b = redex_test_payload (2, 16);
  g_autoptr(GError) error = NULL;

  g_assert_true (net_redex_file_append_if_next_seq (file, 1, a, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 2);

  g_assert_false (net_redex_file_append_if_next_seq (file, 1, b, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
  g_clear_error (&error);
  g_assert_false (net_redex_file_append_if_next_seq (file, 3, b, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 2);
  assert_not_found (file, 2);
  assert_reads (file, 1, a);

  g_assert_true (net_redex_file_append_if_next_seq (file, 2, b, &error));
  g_assert_no_error (error);
  assert_reads (file, 2, b);
}

static void
test_append_events (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "replica", NULL);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GPtrArray) bad = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GPtrArray) gap = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) range = NULL;

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (50 + i, 30);
      g_ptr_array_add (events, net_redex_event_new (1 + i, 1000000 + i * 17, p));
    }
  g_assert_true (net_redex_file_append_events (file, events, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 6);

  /* A first seq other than next_seq appends nothing. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (60 + i, 30);
      g_ptr_array_add (bad, net_redex_event_new (7 + i, 5, p));
    }
  g_assert_false (net_redex_file_append_events (file, bad, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 6);

  /* A hole inside the array appends nothing either. */
  {
    g_autoptr(GBytes) p = redex_test_payload (70, 30);
    g_ptr_array_add (gap, net_redex_event_new (6, 5, p));
    g_ptr_array_add (gap, net_redex_event_new (8, 5, p));
  }
  g_assert_false (net_redex_file_append_events (file, gap, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == NET_ERROR);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 6);
  assert_not_found (file, 6);

  fixture_reopen (f);
  if (f->persistent)
    {
      g_clear_object (&file);
      file = open_file (f, "replica", NULL);
    }

  /* Timestamps are kept. */
  range = net_redex_file_read_range (file, 1, 6, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (range->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      NetRedexEvent *in = events->pdata[i];
      NetRedexEvent *out = range->pdata[i];

      redex_test_assert_event (out, 1 + i, net_redex_event_get_payload (in));
      g_assert_cmpint (net_redex_event_get_timestamp (out), ==, 1000000 + i * 17);
    }
}

typedef struct
{
  guint64  seq;
  guint64  durable;
  GError  *error;
  gboolean done;
} DurableData;

static void
durable_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  DurableData *d = user_data;

  d->seq = net_redex_file_append_durable_finish (NET_REDEX_FILE (object), result, &d->error);
  d->durable = net_redex_file_get_durable_seq (NET_REDEX_FILE (object));
  d->done = TRUE;
}

static void
test_durable (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "durable", NULL);
  g_autoptr(GBytes) p = redex_test_payload (5, 64);
  g_autoptr(GError) error = NULL;
  DurableData d[8];
  guint64 seq;

  g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==, 0);

  seq = net_redex_file_append (file, p, &error);
  g_assert_no_error (error);
  seq = net_redex_file_append_durable (file, p, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 2);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), >=, 2);

  seq = net_redex_file_append (file, p, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==, seq);

  memset (d, 0, sizeof d);
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    net_redex_file_append_durable_async (file, p, NULL, durable_cb, &d[i]);
  /* Never completed synchronously. */
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    g_assert_false (d[i].done);
  for (guint i = 0; i < G_N_ELEMENTS (d); i++)
    {
      REDEX_TEST_SPIN_UNTIL (d[i].done, 10000);
      g_assert_no_error (d[i].error);
      g_assert_cmpuint (d[i].seq, >=, 4);
      g_assert_cmpuint (d[i].seq, <=, 11);
      g_assert_cmpuint (d[i].durable, >=, d[i].seq);
      for (guint j = 0; j < i; j++)
        g_assert_cmpuint (d[j].seq, !=, d[i].seq);
    }
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 12);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), >=, 11);

  /* sync on the whole redex makes everything durable. */
  seq = net_redex_file_append (file, p, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_sync (f->redex, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==, seq);
}

static void
test_open_file_idempotent (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(NetRedexConfig) small = net_redex_config_new ();
  g_autoptr(NetRedexConfig) large = net_redex_config_new ();
  g_autoptr(NetRedexFile) a = NULL;
  g_autoptr(NetRedexFile) b = NULL;
  g_autoptr(NetRedexFile) c = NULL;
  g_autoptr(GBytes) p = redex_test_payload (1, 50);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;

  net_redex_config_set_max_payload (small, 40);
  net_redex_config_set_max_payload (large, 4000);

  a = open_file (f, "one", small);
  b = open_file (f, "one", large);
  c = open_file (f, "two", NULL);
  g_assert_true (a == b);
  g_assert_true (a != c);

  /* The config of the first open applies. */
  g_assert_cmpuint (net_redex_file_append (b, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);

  /* Changing the config object afterwards changes nothing. */
  net_redex_config_set_max_payload (small, 4000);
  g_assert_cmpuint (net_redex_file_append (a, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);

  g_assert_cmpuint (net_redex_file_append (c, p, &error), ==, 1);
  g_assert_no_error (error);

  names = net_redex_list_files (f->redex, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) names, "one"));
  g_assert_true (g_strv_contains ((const char * const *) names, "two"));
}

static void
test_payload_too_large (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GBytes) ok = redex_test_payload (1, 1000);
  g_autoptr(GBytes) too_big = redex_test_payload (2, 1001);
  g_autoptr(GError) error = NULL;
  GPtrArray *events;

  net_redex_config_set_max_payload (config, 1000);
  file = open_file (f, "limits", config);

  g_assert_cmpuint (net_redex_file_append (file, ok, &error), ==, 1);
  g_assert_no_error (error);

  g_assert_cmpuint (net_redex_file_append (file, too_big, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);

  g_assert_false (net_redex_file_append_if_next_seq (file, 2, too_big, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);

  g_assert_cmpuint (net_redex_file_append_durable (file, too_big, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);

  events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_ptr_array_add (events, net_redex_event_new (2, 1, too_big));
  g_assert_false (net_redex_file_append_events (file, events, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE);
  g_clear_error (&error);
  g_ptr_array_unref (events);

  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 2);
  g_assert_cmpuint (net_redex_file_append (file, ok, &error), ==, 2);
  g_assert_no_error (error);
}

static void
closed_durable_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  DurableData *d = user_data;

  d->seq = net_redex_file_append_durable_finish (NET_REDEX_FILE (object), result, &d->error);
  d->done = TRUE;
}

static void
test_closed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "closing", NULL);
  g_autoptr(NetRedexFile) other = open_file (f, "other", NULL);
  g_autoptr(GBytes) p = redex_test_payload (1, 20);
  g_autoptr(GError) error = NULL;
  GBytes *batch[2] = { p, p };
  DurableData d = { 0, };

  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_append_batch (file, batch, 2, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (net_redex_file_append_if_next_seq (file, 2, p, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_append_durable (file, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  net_redex_file_append_durable_async (file, p, NULL, closed_durable_cb, &d);
  g_assert_false (d.done);
  REDEX_TEST_SPIN_UNTIL (d.done, 5000);
  g_assert_cmpuint (d.seq, ==, 0);
  g_assert_error (d.error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&d.error);

  /* Closing the redex closes its files. */
  g_assert_cmpuint (net_redex_file_append (other, p, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_append (other, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  g_assert_null (net_redex_open_file (f->redex, "third", NULL, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  g_clear_object (&f->redex);

  /* What was appended before close is there. */
  if (f->persistent)
    {
      g_autoptr(NetRedexFile) again = NULL;

      fixture_open (f);
      again = open_file (f, "closing", NULL);
      g_assert_cmpuint (net_redex_file_get_next_seq (again), ==, 2);
      assert_reads (again, 1, p);
    }
}

static void
test_close_idempotent (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "twice", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);
  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
}

/* A log of many megabytes: an in-memory one moves from small chunks to
 * large ones (in huge pages), whose records keep their timestamps
 * relative to their 64 KiB window.  Every event reads back with its bytes
 * and its timestamp: timestamps that go back, jump by hours or stay, next
 * to records of no bytes, of prefix-sized ones and one that spans several
 * windows. */
static void
test_many_megabytes (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetRedexFile) file = open_file (f, "big", NULL);
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261208);
  g_autoptr(GError) error = NULL;
  gint64 ts = G_GINT64_CONSTANT (1700000000000000);
  gsize total = 0;
  guint64 seq = 1;

  while (total < 12 * 1024 * 1024)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);

      for (guint i = 0; i < 500; i++, seq++)
        {
          g_autoptr(GBytes) payload = NULL;
          guint r = g_rand_int_range (rand, 0, 1000);
          gsize len;
          NetRedexEvent *event;

          if (seq == 100000)
            len = 200 * 1024;
          else if (r < 20)
            len = 0;
          else if (r < 40)
            len = 20;
          else
            len = g_rand_int_range (rand, 12, 160);
          payload = len == 0 ? g_bytes_new (NULL, 0) : redex_test_payload (seq, len);

          if (r < 5)
            ts += g_rand_int_range (rand, -4000000, 4000000) * G_GINT64_CONSTANT (1000);
          else if (r < 300)
            ts -= g_rand_int_range (rand, 0, 1000);
          else if (r < 900)
            ts += g_rand_int_range (rand, 0, 100000);

          event = net_redex_event_new (seq, ts, payload);
          g_ptr_array_add (batch, event);
          g_ptr_array_add (all, net_redex_event_ref (event));
          total += len + 16;
        }
      g_assert_true (net_redex_file_append_events (file, batch, &error));
      g_assert_no_error (error);
    }

  fixture_reopen (f);
  if (f->persistent)
    {
      g_clear_object (&file);
      file = open_file (f, "big", NULL);
    }

  for (guint64 start = 1; start < seq; start += 7000)
    {
      guint64 end = MIN (start + 7000, seq);
      g_autoptr(GPtrArray) range = net_redex_file_read_range (file, start, end, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (range->len, ==, end - start);
      for (guint i = 0; i < range->len; i++)
        {
          NetRedexEvent *in = all->pdata[start - 1 + i];
          NetRedexEvent *out = range->pdata[i];

          redex_test_assert_event (out, start + i, net_redex_event_get_payload (in));
          g_assert_cmpint (net_redex_event_get_timestamp (out), ==, net_redex_event_get_timestamp (in));
        }
    }
}

/* An in-memory log belongs to its NetRedex: dropping the NetRedexFile
 * handle must not drop its events, as closing a persistent one does not. */
static void
test_memory_log_outlives_handle (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GBytes) p = redex_test_payload (1, 30);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;
  NetRedexFile *file = open_file (f, "kept", NULL);

  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);
  g_object_unref (file);

  names = net_redex_list_files (f->redex, &error);
  g_assert_no_error (error);
  g_assert_true (g_strv_contains ((const char * const *) names, "kept"));

  file = open_file (f, "kept", NULL);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 2);
  assert_reads (file, 1, p);
  g_object_unref (file);
}

static const char * const invalid_names[] = {
  "", "A", "Tasks", "a b", " a", "a ", "/a", "a/", "/", "a//b", ".", "..",
  "./a", "a/.", "a/./b", "../a", "a/..", "a/../b", "a%2fb", "a%b", "a\\b",
  "a:b", "a\tb", "a\nb", "caf\xc3\xa9", "a*", "a?", "~a",
};

static const char * const valid_names[] = {
  "a", "0", "a.b", "a-b", "a/b", "a/b/c", ".a", "a..b", "tasks/events.v2",
  "x-y.z/0-9", "a_b", "_", "a/_b",
};

static void
test_names_invalid (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *too_long = g_strnfill (256, 'a');
  g_autofree char *longest = g_strnfill (255, 'a');
  g_autofree char *long_seg = g_strconcat ("a/", too_long + 2, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (invalid_names); i++)
    g_ptr_array_add (names, (gpointer) invalid_names[i]);
  g_ptr_array_add (names, too_long);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = names->pdata[i];
      NetRedexFile *file;

      if (!net_redex_name_is_valid (name, &error) && error == NULL)
        g_error ("net_redex_name_is_valid (\"%s\") failed without an error", name);
      if (error == NULL)
        g_error ("net_redex_name_is_valid accepted the invalid name \"%s\"", name);
      g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);

      file = net_redex_open_file (f->redex, name, NULL, &error);
      if (file != NULL)
        g_error ("net_redex_open_file accepted the invalid name \"%s\"", name);
      g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  g_assert_true (net_redex_name_is_valid (longest, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (long_seg), ==, 256);
  g_assert_false (net_redex_name_is_valid (long_seg, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (valid_names); i++)
    {
      if (!net_redex_name_is_valid (valid_names[i], &error))
        g_error ("net_redex_name_is_valid rejected \"%s\": %s", valid_names[i], error->message);
    }

  /* Nothing was created on disk for the rejected names. */
  if (f->persistent)
    {
      g_autofree char *logs = g_build_filename (f->dir, "logs", NULL);
      g_autoptr(GDir) dir = g_dir_open (logs, 0, NULL);

      if (dir != NULL)
        g_assert_null (g_dir_read_name (dir));
    }
}

static void
test_names_no_collision (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) listed = NULL;
  g_autoptr(GHashTable) dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  const char * const base[] = {
    "a", "b", "ab", "a/b", "a/b/c", "a/bc", "ab/c", "a-b", "a.b", "a2fb",
    "a-2fb", "a.2fb", "a/b.c", "a/b-c", "a-b/c", "a.b/c", "2f", "a/2f",
    "b/a", ".a", "a/.b", "a_b", "a_2fb", "a/_b", "_",
  };

  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (names, g_strdup (base[i]));
  /* Long names that differ only at their end (hashing territory). */
  {
    g_autofree char *xs = g_strnfill (254, 'x');

    g_ptr_array_add (names, g_strconcat (xs, "y", NULL));
    g_ptr_array_add (names, g_strconcat (xs, "z", NULL));
    g_ptr_array_add (names, g_strnfill (255, 'x'));
  }
  {
    g_autofree char *slashes = NULL;
    GString *s = g_string_new (NULL);

    while (s->len < 250)
      g_string_append (s, "q/");
    g_string_append (s, "end");
    slashes = g_string_free (s, FALSE);
    g_ptr_array_add (names, g_strdup (slashes));
    slashes[0] = 'r';
    g_ptr_array_add (names, g_strdup (slashes));
  }

  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(NetRedexFile) file = open_file (f, names->pdata[i], NULL);

      /* In memory a log lives as long as its NetRedexFile. */
      g_ptr_array_add (held, g_object_ref (file));
      for (guint j = 0; j <= i; j++)
        {
          g_autoptr(GBytes) p = redex_test_payload (i * 1000 + j, 16);

          g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, j + 1);
          g_assert_no_error (error);
        }
    }

  if (f->persistent)
    g_ptr_array_set_size (held, 0);
  fixture_reopen (f);

  listed = net_redex_list_files (f->redex, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (listed), ==, names->len);
  for (guint i = 0; i < names->len; i++)
    g_assert_true (g_strv_contains ((const char * const *) listed, names->pdata[i]));

  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(NetRedexFile) file = open_file (f, names->pdata[i], NULL);

      g_assert_cmpstr (net_redex_file_get_name (file), ==, names->pdata[i]);
      g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, i + 2);
      for (guint j = 0; j <= i; j++)
        {
          g_autoptr(GBytes) p = redex_test_payload (i * 1000 + j, 16);
          assert_reads (file, j + 1, p);
        }

      if (f->persistent)
        {
          char *dir = redex_test_find_log_dir (f->dir, names->pdata[i]);
          g_autofree char *logs = g_build_filename (f->dir, "logs", NULL);
          g_autofree char *parent = g_path_get_dirname (dir);

          /* One directory entry of logs/ per log: nothing nested. */
          g_assert_cmpstr (parent, ==, logs);
          g_assert_false (g_hash_table_contains (dirs, dir));
          g_hash_table_add (dirs, dir);
        }
    }
}

static void
check_modes (const char *path)
{
  GStatBuf st;
  g_autoptr(GDir) dir = NULL;
  const char *name;

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  if (S_ISDIR (st.st_mode))
    {
      if ((st.st_mode & 0777) != 0700)
        g_error ("directory %s has mode %o, expected 700", path, st.st_mode & 0777);
      dir = g_dir_open (path, 0, NULL);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          check_modes (child);
        }
    }
  else if ((st.st_mode & 0777) != 0600)
    g_error ("file %s has mode %o, expected 600", path, st.st_mode & 0777);
}

static void
test_permissions (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *nested = g_build_filename (f->tmp, "fresh", "db", NULL);
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autofree char *log_dir = NULL;
  g_autoptr(GArray) idx = NULL;
  mode_t old_mask;

  /* With no umask, only explicit modes protect the files. */
  old_mask = umask (0);

  net_redex_config_set_segment_size (config, 4096);
  redex = net_redex_new (nested, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (net_redex_get_path (redex), ==, nested);
  file = net_redex_open_file (redex, "a/b", config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      net_redex_file_append (file, p, &error);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);

  umask (old_mask);

  log_dir = redex_test_find_log_dir (nested, "a/b");
  idx = redex_test_list_bases (log_dir, ".idx");
  g_assert_cmpuint (idx->len, >, 0);
  {
    g_autofree char *lock = g_build_filename (nested, "LOCK", NULL);
    g_autofree char *meta = g_build_filename (log_dir, "META", NULL);

    g_assert_true (g_file_test (lock, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (meta, G_FILE_TEST_IS_REGULAR));
  }
  check_modes (nested);

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  check_modes (nested);
}

static void
test_locked (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) second = NULL;
  g_autoptr(NetRedex) reader = NULL;
  g_autoptr(NetRedexFile) file = open_file (f, "x", NULL);
  g_autoptr(GBytes) p = redex_test_payload (1, 20);

  g_assert_false (net_redex_get_read_only (f->redex));

  second = net_redex_new (f->dir, &error);
  g_assert_null (second);
  g_assert_error (error, NET_ERROR, NET_ERROR_LOCKED);
  if (strstr (error->message, f->dir) == NULL)
    g_error ("LOCKED message does not name the directory %s: %s", f->dir, error->message);
  g_clear_error (&error);

  /* The failed attempt did not disturb the owner. */
  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);

  /* Readers are welcome. */
  reader = net_redex_new_read_only (f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_get_read_only (reader));

  /* Closing releases the lock even while objects are still referenced. */
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
  second = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);

  /* And the new owner is exclusive again. */
  {
    g_autoptr(NetRedex) third = net_redex_new (f->dir, &error);

    g_assert_null (third);
    g_assert_error (error, NET_ERROR, NET_ERROR_LOCKED);
    g_clear_error (&error);
  }
  g_assert_true (net_redex_close (second, &error));
  g_assert_no_error (error);
}

/* Closing every log and dropping the NetRedex releases the lock, even
 * while a closed log object is still referenced (issue 14, item 5). */
static void
test_closed_file_keeps_no_lock (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) a = open_file (f, "a", NULL);
  g_autoptr(NetRedexFile) b = open_file (f, "b", NULL);
  g_autoptr(GBytes) p = redex_test_payload (1, 20);
  g_autoptr(NetRedex) second = NULL;
  g_autoptr(NetRedexFile) again = NULL;

  g_assert_cmpuint (net_redex_file_append (a, p, &error), ==, 1);
  g_assert_no_error (error);

  /* Closing one log while the other is open keeps the lock. */
  g_assert_true (net_redex_file_close (a, &error));
  g_assert_no_error (error);
  g_clear_object (&f->redex);
  second = net_redex_new (f->dir, &error);
  g_assert_null (second);
  g_assert_error (error, NET_ERROR, NET_ERROR_LOCKED);
  g_clear_error (&error);

  /* The last one closed: both objects still held, the lock is free. */
  g_assert_true (net_redex_file_close (b, &error));
  g_assert_no_error (error);
  second = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);

  /* The closed objects stay closed and harmless. */
  g_assert_cmpuint (net_redex_file_append (a, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  again = net_redex_open_file (second, "a", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (again), ==, 2);
  g_clear_object (&a);
  g_clear_object (&b);
  g_assert_true (net_redex_close (second, &error));
  g_assert_no_error (error);
}

static void
test_read_only_append (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = open_file (f, "ro", NULL);
  g_autoptr(GBytes) p = redex_test_payload (1, 20);
  g_autoptr(NetRedex) reader = NULL;
  g_autoptr(NetRedexFile) rfile = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  GBytes *batch[1] = { p };
  DurableData d = { 0, };

  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);

  reader = net_redex_new_read_only (f->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (net_redex_get_path (reader), ==, f->dir);
  rfile = net_redex_open_file (reader, "ro", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_get_read_only (rfile));
  assert_reads (rfile, 1, p);

  g_assert_cmpuint (net_redex_file_append (rfile, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_append_batch (rfile, batch, 1, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_false (net_redex_file_append_if_next_seq (rfile, 2, p, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_append_durable (rfile, p, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_ptr_array_add (events, net_redex_event_new (2, 1, p));
  g_assert_false (net_redex_file_append_events (rfile, events, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  net_redex_file_append_durable_async (rfile, p, NULL, closed_durable_cb, &d);
  REDEX_TEST_SPIN_UNTIL (d.done, 5000);
  g_assert_error (d.error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&d.error);

  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 2);

  /* A read-only opener creates no log. */
  g_assert_null (net_redex_open_file (reader, "does-not-exist", NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  {
    g_autofree char *logs = g_build_filename (f->dir, "logs", NULL);
    g_autoptr(GDir) dir = g_dir_open (logs, 0, NULL);
    guint n = 0;

    while (g_dir_read_name (dir) != NULL)
      n++;
    g_assert_cmpuint (n, ==, 1);
  }

  /* And no directory. */
  {
    g_autofree char *missing = g_build_filename (f->tmp, "missing", NULL);
    g_autoptr(NetRedex) none = net_redex_new_read_only (missing, &error);

    g_assert_null (none);
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  }
}

/* Group commit: concurrent durable appenders. */

#define GC_THREADS 16
#define GC_PER_THREAD 100

typedef struct
{
  NetRedexFile *file;
  guint         index;
  guint64       seqs[GC_PER_THREAD];
  gboolean      failed;
} GroupThread;

static gpointer
group_thread (gpointer data)
{
  GroupThread *t = data;

  for (guint i = 0; i < GC_PER_THREAD; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (t->index * 100000 + i, 24 + (i % 50));
      g_autoptr(GError) error = NULL;
      guint64 seq = net_redex_file_append_durable (t->file, p, &error);

      if (seq == 0 || error != NULL)
        {
          g_printerr ("thread %u: append_durable failed: %s\n", t->index,
                      error ? error->message : "(no error set)");
          t->failed = TRUE;
          return NULL;
        }
      if (net_redex_file_get_durable_seq (t->file) < seq)
        {
          g_printerr ("thread %u: append_durable returned %" G_GUINT64_FORMAT
                      " but durable_seq is %" G_GUINT64_FORMAT "\n",
                      t->index, seq, net_redex_file_get_durable_seq (t->file));
          t->failed = TRUE;
          return NULL;
        }
      t->seqs[i] = seq;
    }

  return NULL;
}

static void
run_group_commit (Fixture        *f,
                  NetRedexConfig *config)
{
  g_autoptr(NetRedexFile) file = open_file (f, "group", config);
  GroupThread threads[GC_THREADS];
  GThread *handles[GC_THREADS];
  g_autofree guint8 *seen = g_malloc0 (GC_THREADS * GC_PER_THREAD + 1);

  for (guint t = 0; t < GC_THREADS; t++)
    {
      threads[t] = (GroupThread) { .file = file, .index = t };
      handles[t] = g_thread_new ("group-commit", group_thread, &threads[t]);
    }
  for (guint t = 0; t < GC_THREADS; t++)
    g_thread_join (handles[t]);

  for (guint t = 0; t < GC_THREADS; t++)
    {
      guint64 prev = 0;

      g_assert_false (threads[t].failed);
      for (guint i = 0; i < GC_PER_THREAD; i++)
        {
          guint64 seq = threads[t].seqs[i];

          g_assert_cmpuint (seq, >=, 1);
          g_assert_cmpuint (seq, <=, GC_THREADS * GC_PER_THREAD);
          g_assert_false (seen[seq]);
          seen[seq] = TRUE;
          /* One thread's appends are ordered. */
          g_assert_cmpuint (seq, >, prev);
          prev = seq;
        }
    }
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, GC_THREADS * GC_PER_THREAD + 1);
  g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==, GC_THREADS * GC_PER_THREAD);

  if (f->persistent)
    {
      g_clear_object (&file);
      fixture_reopen (f);
      file = open_file (f, "group", config);
    }
  for (guint t = 0; t < GC_THREADS; t++)
    for (guint i = 0; i < GC_PER_THREAD; i++)
      {
        g_autoptr(GBytes) p = redex_test_payload (t * 100000 + i, 24 + (i % 50));
        assert_reads (file, threads[t].seqs[i], p);
      }
}

static void
test_group_commit (Fixture       *f,
                   gconstpointer  data)
{
  run_group_commit (f, NULL);
}

static void
test_group_commit_always (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();

  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_ALWAYS, 0);
  run_group_commit (f, config);
}

/* Random operations compared with a reference array. */

typedef struct
{
  GPtrArray *payloads;   /* index = seq - 1 */
  GArray    *timestamps; /* gint64, index = seq - 1 */
} Model;

static void
model_check_one (Model        *m,
                 NetRedexFile *file,
                 guint64       seq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, seq, &error);

  g_assert_no_error (error);
  redex_test_assert_event (event, seq, m->payloads->pdata[seq - 1]);
  g_assert_cmpint (net_redex_event_get_timestamp (event), ==,
                   g_array_index (m->timestamps, gint64, seq - 1));
}

static void
model_check_all (Model        *m,
                 NetRedexFile *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;

  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, m->payloads->len + 1);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1);
  g_assert_cmpuint (net_redex_file_get_length (file), ==, m->payloads->len);

  all = net_redex_file_read_range (file, 1, m->payloads->len + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, m->payloads->len);
  for (guint i = 0; i < all->len; i++)
    {
      redex_test_assert_event (all->pdata[i], i + 1, m->payloads->pdata[i]);
      g_assert_cmpint (net_redex_event_get_timestamp (all->pdata[i]), ==,
                       g_array_index (m->timestamps, gint64, i));
    }
}

static void
model_record (Model        *m,
              NetRedexFile *file,
              guint64       seq,
              GBytes       *payload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = NULL;
  gint64 ts;

  g_assert_cmpuint (seq, ==, m->payloads->len + 1);
  event = net_redex_file_read_one (file, seq, &error);
  g_assert_no_error (error);
  redex_test_assert_event (event, seq, payload);
  ts = net_redex_event_get_timestamp (event);
  g_ptr_array_add (m->payloads, g_bytes_ref (payload));
  g_array_append_val (m->timestamps, ts);
}

static gsize
random_len (void)
{
  /* Mostly small, sometimes larger than a segment. */
  switch (g_test_rand_int_range (0, 20))
    {
    case 0:
      return g_test_rand_int_range (4096, 9000);
    case 1:
    case 2:
      return g_test_rand_int_range (500, 2000);
    default:
      return g_test_rand_int_range (12, 200);
    }
}

static void
test_random_model (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GError) error = NULL;
  Model m;
  guint64 tag = 1;
  guint n_ops = g_test_slow () ? 20000 : 2500;

  m.payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  m.timestamps = g_array_new (FALSE, FALSE, sizeof (gint64));

  net_redex_config_set_segment_size (config, 4096);
  file = open_file (f, "model/log", config);

  for (guint op = 0; op < n_ops; op++)
    {
      switch (g_test_rand_int_range (0, 16))
        {
        case 0: case 1: case 2: case 3: case 4:
          {
            g_autoptr(GBytes) p = redex_test_payload (tag++, random_len ());
            guint64 seq = net_redex_file_append (file, p, &error);

            g_assert_no_error (error);
            model_record (&m, file, seq, p);
          }
          break;

        case 5: case 6:
          {
            guint n = g_test_rand_int_range (1, 20);
            GBytes **batch = g_new (GBytes *, n);
            guint64 first;

            for (guint i = 0; i < n; i++)
              batch[i] = redex_test_payload (tag++, random_len ());
            first = net_redex_file_append_batch (file, batch, n, &error);
            g_assert_no_error (error);
            for (guint i = 0; i < n; i++)
              {
                model_record (&m, file, first + i, batch[i]);
                g_bytes_unref (batch[i]);
              }
            g_free (batch);
          }
          break;

        case 7:
          {
            g_autoptr(GBytes) p = redex_test_payload (tag++, random_len ());
            guint64 expected = m.payloads->len + 1;

            if (g_test_rand_bit ())
              {
                /* 0 is not a seq (a programmer error): stay above it. */
                guint64 wrong = g_test_rand_bit () && expected > 1 ? expected - 1 : expected + 1;

                g_assert_false (net_redex_file_append_if_next_seq (file, wrong, p, &error));
                g_assert_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
                g_clear_error (&error);
              }
            else
              {
                g_assert_true (net_redex_file_append_if_next_seq (file, expected, p, &error));
                g_assert_no_error (error);
                model_record (&m, file, expected, p);
              }
          }
          break;

        case 8:
          {
            g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
            guint n = g_test_rand_int_range (1, 8);
            guint64 first = m.payloads->len + 1;

            for (guint i = 0; i < n; i++)
              {
                g_autoptr(GBytes) p = redex_test_payload (tag++, random_len ());
                g_ptr_array_add (events, net_redex_event_new (first + i, g_test_rand_int (), p));
              }
            g_assert_true (net_redex_file_append_events (file, events, &error));
            g_assert_no_error (error);
            for (guint i = 0; i < n; i++)
              {
                NetRedexEvent *e = events->pdata[i];
                gint64 ts = net_redex_event_get_timestamp (e);

                model_record (&m, file, first + i, net_redex_event_get_payload (e));
                g_assert_cmpint (g_array_index (m.timestamps, gint64, first + i - 1), ==, ts);
              }
          }
          break;

        case 9:
          if (f->persistent && g_test_rand_int_range (0, 8) == 0)
            {
              g_clear_object (&file);
              fixture_reopen (f);
              file = open_file (f, "model/log", config);
              model_check_all (&m, file);
            }
          else if (g_test_rand_int_range (0, 4) == 0)
            {
              g_assert_true (net_redex_file_sync (file, &error));
              g_assert_no_error (error);
            }
          break;

        case 10: case 11: case 12:
          if (m.payloads->len > 0)
            model_check_one (&m, file, g_test_rand_int_range (1, m.payloads->len + 1));
          assert_not_found (file, m.payloads->len + 1);
          break;

        default:
          {
            guint64 a = g_test_rand_int_range (0, m.payloads->len + 3);
            guint64 b = g_test_rand_int_range (0, m.payloads->len + 3);
            guint64 lo = MIN (a, b), hi = MAX (a, b);
            guint64 clo = MAX (lo, 1), chi = MIN (hi, m.payloads->len + 1);
            g_autoptr(GPtrArray) range = net_redex_file_read_range (file, lo, hi, &error);

            g_assert_no_error (error);
            g_assert_cmpuint (range->len, ==, chi > clo ? chi - clo : 0);
            for (guint i = 0; i < range->len; i++)
              redex_test_assert_event (range->pdata[i], clo + i, m.payloads->pdata[clo + i - 1]);
          }
          break;
        }
    }

  model_check_all (&m, file);
  if (f->persistent)
    {
      g_clear_object (&file);
      fixture_reopen (f);
      file = open_file (f, "model/log", config);
      model_check_all (&m, file);
    }

  if (f->persistent)
    {
      g_autofree char *log_dir = redex_test_find_log_dir (f->dir, "model/log");
      g_autoptr(GArray) segs = redex_test_list_bases (log_dir, ".seg");
      g_auto(GStrv) problems = net_redex_file_verify (file, &error);

      g_assert_no_error (error);
      g_assert_nonnull (problems);
      g_assert_cmpuint (g_strv_length (problems), ==, 0);
      g_assert_cmpuint (segs->len, >, 3);
    }

  g_ptr_array_unref (m.payloads);
  g_array_unref (m.timestamps);
}

/* Random appends, sweeps and reopens with a count limit: the retained
 * window is always a suffix of the reference, exact after each sweep,
 * never moving back. */
static void
test_random_retention (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ref = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  guint64 max_events = g_test_rand_int_range (20, 400);
  guint64 known_first = 1;
  guint64 closed_floor = 1;
  guint64 tag = 1;
  gboolean limited = TRUE;
  guint n_ops = g_test_slow () ? 10000 : 1500;

  net_redex_config_set_segment_size (config, 4096);
  net_redex_config_set_retention_max_events (config, max_events);
  file = open_file (f, "model/ret", config);

  for (guint op = 0; op < n_ops; op++)
    {
      guint64 next = ref->len + 1;
      guint64 floor = limited && next > max_events ? next - max_events : MAX (known_first, closed_floor);
      guint64 first = net_redex_file_get_first_seq (file);
      guint r = g_test_rand_int_range (0, 20);

      /* The window only moves forward, never past the limit. */
      g_assert_cmpuint (first, >=, known_first);
      floor = MAX (floor, known_first);
      g_assert_cmpuint (first, <=, floor);
      g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, next);
      known_first = first;

      if (r < 10)
        {
          guint n = g_test_rand_int_range (1, 12);
          GBytes **batch = g_new (GBytes *, n);

          for (guint i = 0; i < n; i++)
            batch[i] = redex_test_payload (tag++, random_len () % 700 + 12);
          g_assert_cmpuint (net_redex_file_append_batch (file, batch, n, &error), ==, next);
          g_assert_no_error (error);
          for (guint i = 0; i < n; i++)
            g_ptr_array_add (ref, batch[i]);
          g_free (batch);
        }
      else if (r < 13)
        {
          guint64 evicted = 0;
          gboolean settled = f->persistent && g_test_rand_bit ();

          /* Without a limit, a sweep evicts nothing. */
          guint64 expected = limited ? floor : first;

          /* The worker may still be sealing what the last append rolled,
           * and it sweeps when it is done: once the log is synced it has,
           * and the call counts exactly what is left to evict. */
          if (settled)
            {
              g_assert_true (net_redex_file_sync (file, &error));
              g_assert_no_error (error);
              first = net_redex_file_get_first_seq (file);
              g_assert_cmpuint (first, >=, known_first);
              g_assert_cmpuint (first, <=, expected);
            }

          g_assert_true (net_redex_file_sweep_retention (file, &evicted, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, expected);
          /* Otherwise the worker can have swept some of it in between. */
          if (settled || !f->persistent)
            g_assert_cmpuint (evicted, ==, expected - first);
          else
            g_assert_cmpuint (evicted, <=, expected - first);
        }
      else if (r < 14 && f->persistent)
        {
          /* Sealing, and the sweep that follows it, completes in the
           * background, at the latest when the log is closed: up to the
           * limit in force then. */
          closed_floor = limited && next > max_events ? next - max_events : known_first;
          g_clear_object (&file);
          fixture_reopen (f);
          /* Without a config, no limit applies, but what was evicted
           * stays evicted. */
          limited = g_test_rand_bit ();
          file = open_file (f, "model/ret", limited ? config : NULL);
        }
      else
        {
          guint64 s = g_test_rand_int_range (MAX (first, 4) - 3, next + 1);
          g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, s, &error);
          g_autoptr(GPtrArray) range = NULL;

          guint64 range_first;

          /* A sealed segment's background sweep may move the window
           * forward at any moment, but never past the floor. */
          if (s < first || s >= next ||
              (e == NULL && s < net_redex_file_get_first_seq (file)))
            {
              g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
              g_clear_error (&error);
            }
          else
            {
              g_assert_no_error (error);
              redex_test_assert_event (e, s, ref->pdata[s - 1]);
            }

          range = net_redex_file_read_range (file, 1, next, &error);
          g_assert_no_error (error);
          range_first = range->len > 0 ? net_redex_event_get_seq (range->pdata[0]) : next;
          g_assert_cmpuint (range_first, >=, first);
          g_assert_cmpuint (range_first, <=, floor);
          g_assert_cmpuint (range->len, ==, next - range_first);
          for (guint i = 0; i < range->len; i++)
            redex_test_assert_event (range->pdata[i], range_first + i, ref->pdata[range_first + i - 1]);
        }
    }
}

/* A write that fails half-way (the file size limit, as a full disk would)
 * is rolled back: the seq is not consumed and no partial record stays. */
static void
test_write_failure (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *log_dir = NULL;
  g_autofree char *seg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) small = redex_test_payload (1, 40);
  g_autoptr(GBytes) big = redex_test_payload (2, 3000);
  NetRedex *redex;
  NetRedexFile *file;
  struct rlimit lim;
  goffset size;

  if (!g_test_subprocess ())
    {
      /* The resource limit must not leak into other tests. */
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
      g_test_trap_assert_passed ();
      return;
    }

  signal (SIGXFSZ, SIG_IGN);
  tmp = redex_test_make_tmpdir ();
  redex = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "w", NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 5; i++)
    {
      net_redex_file_append (file, small, &error);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);

  log_dir = redex_test_find_log_dir (tmp, "w");
  seg = redex_test_segment_path (log_dir, 1, ".seg");
  /* The segment is preallocated: the limit is on where writes go, so the
   * append past the data end fails all the same, and its rollback leaves
   * the file ending at the data. */
  size = redex_test_data_end (seg);

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &lim), ==, 0);
  {
    struct rlimit low = { .rlim_cur = size + 100, .rlim_max = lim.rlim_max };

    g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &low), ==, 0);
  }

  g_assert_cmpuint (net_redex_file_append (file, big, &error), ==, 0);
  g_assert_nonnull (error);
  g_assert_true (error->domain == NET_ERROR);
  g_test_message ("append past the size limit: %s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 6);
  g_assert_cmpint (redex_test_file_size (seg), ==, size);

  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &lim), ==, 0);

  /* The next append gets the seq the failed one did not. */
  g_assert_cmpuint (net_redex_file_append (file, small, &error), ==, 6);
  g_assert_no_error (error);
  g_object_unref (file);
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (redex);

  redex = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "w", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 7);
  for (guint64 s = 1; s <= 6; s++)
    assert_reads (file, s, small);
  g_object_unref (file);
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (redex);
  redex_test_rm_rf (tmp);
}

static void
test_finalize (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autoptr(GError) error = NULL;
  NetRedex *redex;
  NetRedexFile *file;
  NetRedexTail *tail;
  NetRedex *again;
  gpointer wr, wf, wt;

  redex = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "f", NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 20);
      net_redex_file_append (file, p, &error);
      g_assert_no_error (error);
    }
  tail = net_redex_file_tail (file, 3);
  {
    g_autoptr(NetRedexEvent) e = redex_test_tail_next (tail, 5000, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_redex_event_get_seq (e), ==, 3);
  }

  wr = redex;
  wf = file;
  wt = tail;
  g_object_add_weak_pointer (G_OBJECT (redex), &wr);
  g_object_add_weak_pointer (G_OBJECT (file), &wf);
  g_object_add_weak_pointer (G_OBJECT (tail), &wt);

  g_object_unref (tail);
  g_object_unref (file);
  g_object_unref (redex);
  REDEX_TEST_SPIN_UNTIL (wr == NULL && wf == NULL && wt == NULL, 5000);

  /* Dropping the last reference released the lock. */
  again = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  file = net_redex_open_file (again, "f", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 11);
  g_object_unref (file);
  g_assert_finalize_object (again);

  redex_test_rm_rf (tmp);
}

/* Preconditions: each runs in a subprocess that must die on a critical. */

typedef void (*PreconditionFunc) (NetRedex *redex, NetRedexFile *file);

static void pre_open_file_null_redex (NetRedex *r, NetRedexFile *f) { net_redex_open_file (NULL, "a", NULL, NULL); }
static void pre_open_file_null_name (NetRedex *r, NetRedexFile *f) { net_redex_open_file (r, NULL, NULL, NULL); }
static void pre_new_read_only_null (NetRedex *r, NetRedexFile *f) { net_redex_new_read_only (NULL, NULL); }
static void pre_append_null_file (NetRedex *r, NetRedexFile *f) { g_autoptr(GBytes) p = g_bytes_new ("x", 1); net_redex_file_append (NULL, p, NULL); }
static void pre_append_null_payload (NetRedex *r, NetRedexFile *f) { net_redex_file_append (f, NULL, NULL); }
static void pre_batch_null (NetRedex *r, NetRedexFile *f) { net_redex_file_append_batch (f, NULL, 3, NULL); }
static void pre_if_next_null_payload (NetRedex *r, NetRedexFile *f) { net_redex_file_append_if_next_seq (f, 1, NULL, NULL); }
static void pre_events_null (NetRedex *r, NetRedexFile *f) { net_redex_file_append_events (f, NULL, NULL); }
static void pre_durable_null_payload (NetRedex *r, NetRedexFile *f) { net_redex_file_append_durable (f, NULL, NULL); }
static void pre_read_one_null (NetRedex *r, NetRedexFile *f) { net_redex_file_read_one (NULL, 1, NULL); }
static void pre_read_range_null (NetRedex *r, NetRedexFile *f) { net_redex_file_read_range (NULL, 1, 2, NULL); }
static void pre_tail_null (NetRedex *r, NetRedexFile *f) { net_redex_file_tail (NULL, 1); }
static void pre_tail_next_null (NetRedex *r, NetRedexFile *f) { net_redex_tail_next_async (NULL, NULL, NULL, NULL); }
static void pre_tail_try_next_null (NetRedex *r, NetRedexFile *f) { net_redex_tail_try_next (NULL, NULL); }
static void pre_next_seq_null (NetRedex *r, NetRedexFile *f) { net_redex_file_get_next_seq (NULL); }
static void pre_sync_null (NetRedex *r, NetRedexFile *f) { net_redex_file_sync (NULL, NULL); }
static void pre_close_null (NetRedex *r, NetRedexFile *f) { net_redex_file_close (NULL, NULL); }
static void pre_redex_close_null (NetRedex *r, NetRedexFile *f) { net_redex_close (NULL, NULL); }
static void pre_name_valid_null (NetRedex *r, NetRedexFile *f) { net_redex_name_is_valid (NULL, NULL); }
static void pre_event_new_zero (NetRedex *r, NetRedexFile *f) { g_autoptr(GBytes) p = g_bytes_new ("x", 1); net_redex_event_new (0, 1, p); }
static void pre_event_new_null (NetRedex *r, NetRedexFile *f) { net_redex_event_new (1, 1, NULL); }
static void pre_config_segment_tiny (NetRedex *r, NetRedexFile *f) { g_autoptr(NetRedexConfig) c = net_redex_config_new (); net_redex_config_set_segment_size (c, 16); }

static const struct {
  const char       *name;
  PreconditionFunc  func;
} preconditions[] = {
  { "open-file-null-redex", pre_open_file_null_redex },
  { "open-file-null-name", pre_open_file_null_name },
  { "new-read-only-null", pre_new_read_only_null },
  { "append-null-file", pre_append_null_file },
  { "append-null-payload", pre_append_null_payload },
  { "append-batch-null", pre_batch_null },
  { "append-if-next-seq-null", pre_if_next_null_payload },
  { "append-events-null", pre_events_null },
  { "append-durable-null", pre_durable_null_payload },
  { "read-one-null", pre_read_one_null },
  { "read-range-null", pre_read_range_null },
  { "tail-null", pre_tail_null },
  { "tail-next-async-null", pre_tail_next_null },
  { "tail-try-next-null", pre_tail_try_next_null },
  { "get-next-seq-null", pre_next_seq_null },
  { "sync-null", pre_sync_null },
  { "file-close-null", pre_close_null },
  { "redex-close-null", pre_redex_close_null },
  { "name-is-valid-null", pre_name_valid_null },
  { "event-new-seq-zero", pre_event_new_zero },
  { "event-new-null-payload", pre_event_new_null },
  { "config-segment-size-too-small", pre_config_segment_tiny },
};

static void
test_precondition (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);

  if (g_test_subprocess ())
    {
      g_autoptr(NetRedex) redex = net_redex_new (NULL, NULL);
      g_autoptr(NetRedexFile) file = net_redex_open_file (redex, "p", NULL, NULL);

      g_assert_nonnull (file);
      preconditions[i].func (redex, file);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

#define ADD_BOTH(path, func)                                                          \
  G_STMT_START {                                                                      \
    g_test_add ("/redex/basic/memory/" path, Fixture, GINT_TO_POINTER (FALSE),        \
                fixture_setup, func, fixture_teardown);                               \
    g_test_add ("/redex/basic/persistent/" path, Fixture, GINT_TO_POINTER (TRUE),     \
                fixture_setup, func, fixture_teardown);                               \
  } G_STMT_END
#define ADD_PERSISTENT(path, func)                                                    \
  g_test_add ("/redex/basic/persistent/" path, Fixture, GINT_TO_POINTER (TRUE),       \
              fixture_setup, func, fixture_teardown)

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  ADD_BOTH ("seqs", test_seqs);
  ADD_BOTH ("batch", test_batch);
  ADD_BOTH ("append-if-next-seq", test_if_next_seq);
  ADD_BOTH ("append-events", test_append_events);
  ADD_BOTH ("durable", test_durable);
  ADD_BOTH ("open-file-idempotent", test_open_file_idempotent);
  ADD_BOTH ("payload-too-large", test_payload_too_large);
  ADD_BOTH ("closed", test_closed);
  ADD_BOTH ("close-idempotent", test_close_idempotent);
  ADD_BOTH ("names/invalid", test_names_invalid);
  ADD_BOTH ("names/no-collision", test_names_no_collision);
  ADD_BOTH ("group-commit", test_group_commit);
  ADD_PERSISTENT ("group-commit-always", test_group_commit_always);
  ADD_BOTH ("random-model", test_random_model);
  ADD_BOTH ("random-retention", test_random_retention);
  ADD_BOTH ("many-megabytes", test_many_megabytes);
  ADD_PERSISTENT ("permissions", test_permissions);
  ADD_PERSISTENT ("locked", test_locked);
  ADD_PERSISTENT ("closed-file-keeps-no-lock", test_closed_file_keeps_no_lock);
  ADD_PERSISTENT ("read-only-append", test_read_only_append);
  g_test_add ("/redex/basic/memory/log-outlives-handle", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_memory_log_outlives_handle, fixture_teardown);
  g_test_add_func ("/redex/basic/finalize", test_finalize);
  g_test_add_func ("/redex/basic/persistent/write-failure", test_write_failure);

  for (guint i = 0; i < G_N_ELEMENTS (preconditions); i++)
    {
      g_autofree char *path = g_strdup_printf ("/redex/preconditions/%s", preconditions[i].name);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_precondition);
    }

  return g_test_run ();
}
