/* test-redex-retention.c: eviction by count, bytes and age; restarts and
 * crashes in the middle of a sweep
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"
#include "net-redex-private.h"

#define LOG_NAME "ret"
#define SEG_SIZE 4096

typedef struct
{
  gboolean  persistent;
  char     *tmp;
  char     *dir;
  NetRedex *redex;
} Fixture;

static void
fixture_open (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
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
  redex_test_allow_warnings ();
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

static NetRedexFile *
open_log (Fixture        *f,
          NetRedexConfig *config)
{
  g_autoptr(GError) error = NULL;
  NetRedexFile *file = net_redex_open_file (f->redex, LOG_NAME, config, &error);

  g_assert_no_error (error);
  return file;
}

/* Closes @file and the redex and opens both again (persistent only). */
static NetRedexFile *
reopen (Fixture        *f,
        NetRedexFile   *file,
        NetRedexConfig *config)
{
  g_assert_true (f->persistent);
  g_object_unref (file);
  fixture_close (f);
  fixture_open (f);
  return open_log (f, config);
}

static gsize
len_for (guint64 seq)
{
  return 100 + (seq * 31) % 100;
}

static void
append_n (NetRedexFile *file,
          guint         n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      guint64 seq = net_redex_file_get_next_seq (file);
      g_autoptr(GBytes) p = redex_test_payload (seq, len_for (seq));

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, seq);
      g_assert_no_error (error);
    }
}

static void
append_events_at (NetRedexFile *file,
                  guint         n,
                  gint64        timestamp)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GError) error = NULL;
  guint64 first = net_redex_file_get_next_seq (file);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (first + i, len_for (first + i));
      g_ptr_array_add (events, net_redex_event_new (first + i, timestamp + i, p));
    }
  g_assert_true (net_redex_file_append_events (file, events, &error));
  g_assert_no_error (error);
}

/* Exactly [first, next) is readable, by every path. */
static void
assert_window (NetRedexFile *file,
               guint64       first,
               guint64       next)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;

  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, first);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, next);
  g_assert_cmpuint (net_redex_file_get_length (file), ==, next - first);

  for (guint64 s = (first > 3 ? first - 3 : 1); s < first; s++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, s, &error);

      if (e != NULL)
        g_error ("evicted seq %" G_GUINT64_FORMAT " is still readable (first is %" G_GUINT64_FORMAT ")",
                 s, first);
      g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
      g_clear_error (&error);
    }
  {
    g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, 1, &error);

    if (first > 1)
      {
        g_assert_null (e);
        g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
        g_clear_error (&error);
      }
  }

  all = net_redex_file_read_range (file, 1, next + 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, next - first);
  for (guint i = 0; i < all->len; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (first + i, len_for (first + i));
      redex_test_assert_event (all->pdata[i], first + i, p);
    }
}

/* Sweeps and checks that the call counts what it evicted.  A persistent
 * log's worker sweeps as well, when it has sealed a rolled segment, and
 * may do so between reading first_seq and the call: once the log is
 * synced it has finished, and only the call moves first_seq. */
static guint64
sweep (NetRedexFile *file)
{
  g_autoptr(GError) error = NULL;
  guint64 before;
  guint64 evicted = G_MAXUINT64;

  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);
  before = net_redex_file_get_first_seq (file);
  g_assert_true (net_redex_file_sweep_retention (file, &evicted, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (evicted, ==, net_redex_file_get_first_seq (file) - before);
  return evicted;
}

static void
test_max_events (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  NetRedexFile *file;

  net_redex_config_set_retention_max_events (config, 10);
  file = open_log (f, config);

  append_n (file, 25);
  sweep (file);
  assert_window (file, 16, 26);

  /* A second sweep has nothing to do. */
  g_assert_cmpuint (sweep (file), ==, 0);

  if (f->persistent)
    {
      /* Evicted stays evicted, even with no retention configured on the
       * reopen and with the bytes still in the active segment. */
      file = reopen (f, file, NULL);
      assert_window (file, 16, 26);
      append_n (file, 1);
      assert_window (file, 16, 27);
      file = reopen (f, file, NULL);
      assert_window (file, 16, 27);
    }
  else
    {
      append_n (file, 1);
      sweep (file);
      assert_window (file, 17, 27);
    }
  g_object_unref (file);
}

static void
test_max_events_automatic (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autofree char *log_dir = NULL;
  g_autoptr(GArray) segs = NULL;
  NetRedexFile *file;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  net_redex_config_set_retention_max_events (config, 50);
  file = open_log (f, config);

  /* No explicit sweep: sealing segments applies retention.  Sealing runs
   * in the background; a sync waits for it. */
  append_n (file, 500);
  g_assert_true (net_redex_file_sync (file, NULL));
  g_assert_cmpuint (net_redex_file_get_first_seq (file), >, 1);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), <=, 451);

  /* Whole segments below the floor are gone from disk. */
  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  segs = redex_test_list_bases (log_dir, ".seg");
  g_assert_cmpuint (g_array_index (segs, guint64, 0), >, 1);

  sweep (file);
  assert_window (file, 451, 501);
  file = reopen (f, file, config);
  assert_window (file, 451, 501);

  g_clear_pointer (&segs, g_array_unref);
  segs = redex_test_list_bases (log_dir, ".seg");
  for (guint i = 0; i + 1 < segs->len; i++)
    g_assert_cmpuint (g_array_index (segs, guint64, i + 1), >, 451);
  g_object_unref (file);
}

static guint64
payload_bytes (guint64 from,
               guint64 to)
{
  guint64 sum = 0;

  for (guint64 s = from; s < to; s++)
    sum += len_for (s);
  return sum;
}

static void
test_max_bytes_memory (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  NetRedexFile *file;
  guint64 first, retained;

  net_redex_config_set_retention_max_bytes (config, 3000);
  file = open_log (f, config);
  append_n (file, 100);
  sweep (file);

  first = net_redex_file_get_first_seq (file);
  g_assert_cmpuint (first, >, 1);
  retained = payload_bytes (first, 101);
  /* At most the limit, and not far under it: exact per event, whatever
   * per-event overhead is counted. */
  g_assert_cmpuint (retained, <=, 3000);
  g_assert_cmpuint (retained + len_for (first - 1) + 64 * (101 - first + 1), >, 3000);
  assert_window (file, first, 101);
  g_object_unref (file);
}

static guint64
total_size (const char *log_dir,
            const char *suffix)
{
  g_autoptr(GArray) bases = redex_test_list_bases (log_dir, suffix);
  guint64 sum = 0;

  for (guint i = 0; i < bases->len; i++)
    {
      g_autofree char *p = redex_test_segment_path (log_dir, g_array_index (bases, guint64, i), suffix);
      sum += redex_test_file_size (p);
    }
  return sum;
}

static void
assert_first_is_segment_base (const char *log_dir,
                              guint64     first)
{
  g_autoptr(GArray) segs = redex_test_list_bases (log_dir, ".seg");
  g_autoptr(GArray) idxs = redex_test_list_bases (log_dir, ".idx");

  g_assert_cmpuint (segs->len, >, 0);
  /* Whole segments are dropped: the first remaining file starts at the
   * first retained seq. */
  g_assert_cmpuint (g_array_index (segs, guint64, 0), ==, first);
  for (guint i = 0; i < idxs->len; i++)
    g_assert_cmpuint (g_array_index (idxs, guint64, i), >=, first);
}

static void
test_max_bytes_persistent (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autofree char *log_dir = NULL;
  NetRedexFile *file;
  guint64 first, on_disk;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  net_redex_config_set_retention_max_bytes (config, 4 * SEG_SIZE);
  file = open_log (f, config);
  append_n (file, 400);
  sweep (file);

  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  first = net_redex_file_get_first_seq (file);
  g_assert_cmpuint (first, >, 1);
  assert_first_is_segment_base (log_dir, first);
  on_disk = total_size (log_dir, ".seg");
  g_assert_cmpuint (on_disk, <=, 2 * 4 * SEG_SIZE + SEG_SIZE);
  g_assert_cmpuint (on_disk, >=, 4 * SEG_SIZE - 2 * SEG_SIZE);
  assert_window (file, first, 401);

  file = reopen (f, file, NULL);
  assert_window (file, first, 401);
  append_n (file, 3);
  assert_window (file, first, 404);
  g_object_unref (file);
}

static void
test_max_age (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  NetRedexFile *file;
  gint64 now = g_get_real_time ();
  guint64 first;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  net_redex_config_set_retention_max_age (config, G_TIME_SPAN_HOUR);
  file = open_log (f, config);

  append_events_at (file, 100, now - 3 * G_TIME_SPAN_HOUR);
  append_events_at (file, 60, now - G_TIME_SPAN_MINUTE);
  append_n (file, 40);
  sweep (file);
  first = net_redex_file_get_first_seq (file);

  if (!f->persistent)
    {
      /* Exact per event in memory. */
      g_assert_cmpuint (first, ==, 101);
    }
  else
    {
      g_autofree char *log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);

      /* Whole sealed segments of old events only. */
      g_assert_cmpuint (first, >, 1);
      g_assert_cmpuint (first, <=, 101);
      assert_first_is_segment_base (log_dir, first);
    }
  assert_window (file, first, 201);

  if (f->persistent)
    {
      file = reopen (f, file, NULL);
      assert_window (file, first, 201);
    }
  g_object_unref (file);
}

static void
test_evict_all_memory (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexTail) old = NULL;
  g_autoptr(NetRedexTail) live = NULL;
  g_autoptr(GError) error = NULL;
  NetRedexFile *file;

  net_redex_config_set_retention_max_age (config, G_TIME_SPAN_MINUTE);
  file = open_log (f, config);
  append_events_at (file, 30, g_get_real_time () - G_TIME_SPAN_DAY);
  sweep (file);
  assert_window (file, 31, 31);

  old = net_redex_file_tail (file, 1);
  {
    g_autoptr(NetRedexEvent) e = redex_test_tail_next (old, 5000, &error);

    g_assert_null (e);
    g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
    g_clear_error (&error);
  }
  live = net_redex_file_tail (file, 31);
  redex_test_tail_assert_pending (live, 20);

  /* The seqs go on. */
  append_n (file, 1);
  assert_window (file, 31, 32);
  {
    g_autoptr(NetRedexEvent) e = redex_test_tail_next (live, 5000, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (net_redex_event_get_seq (e), ==, 31);
  }
  g_object_unref (file);
}

/* Rewrites META as a sweep writes it before unlinking anything. */
static void
write_meta (const char *log_dir,
            guint64     first_seq,
            guint64     next_seq_floor)
{
  g_autofree char *path = g_build_filename (log_dir, "META", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  NetRedexMeta meta = { 0, };
  gsize len;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_meta_decode ((const guint8 *) contents, len, &meta));
  g_assert_cmpstr (meta.name, ==, LOG_NAME);
  meta.first_seq = first_seq;
  meta.next_seq_floor = MAX (meta.next_seq_floor, next_seq_floor);
  bytes = net_redex_meta_encode (&meta);
  g_file_set_contents_full (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                            G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
  g_free (meta.name);
}

static void
unlink_segment (const char *log_dir,
                guint64     base)
{
  g_autofree char *seg = redex_test_segment_path (log_dir, base, ".seg");
  g_autofree char *idx = redex_test_segment_path (log_dir, base, ".idx");

  g_assert_cmpint (g_unlink (seg), ==, 0);
  g_unlink (idx);
}

static void
fill_segments (Fixture  *f,
               guint     n,
               GArray  **out_bases)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autofree char *log_dir = NULL;
  NetRedexFile *file;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  file = open_log (f, config);
  append_n (file, n);
  file = reopen (f, file, NULL);
  g_object_unref (file);
  fixture_close (f);

  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  *out_bases = redex_test_list_bases (log_dir, ".seg");
  g_assert_cmpuint ((*out_bases)->len, >=, 5);
}

static void
test_crash_mid_sweep (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GArray) bases = NULL;
  g_autofree char *log_dir = NULL;
  g_autofree char *pristine = g_build_filename (f->tmp, "pristine", NULL);
  NetRedexFile *file;
  guint64 b3;

  fill_segments (f, 300, &bases);
  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  redex_test_copy_dir (f->dir, pristine);
  b3 = g_array_index (bases, guint64, 3);

  /* 1. META advanced to a segment boundary, nothing unlinked yet. */
  write_meta (log_dir, b3, 0);
  fixture_open (f);
  file = open_log (f, NULL);
  assert_window (file, b3, 301);
  file = reopen (f, file, NULL);
  assert_window (file, b3, 301);
  append_n (file, 2);
  file = reopen (f, file, NULL);
  assert_window (file, b3, 303);
  {
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) problems = net_redex_file_verify (file, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (problems), ==, 0);
  }
  g_object_unref (file);
  fixture_close (f);

  /* 2. Part of the segments unlinked. */
  redex_test_rm_rf (f->dir);
  redex_test_copy_dir (pristine, f->dir);
  write_meta (log_dir, b3, 0);
  unlink_segment (log_dir, g_array_index (bases, guint64, 0));
  unlink_segment (log_dir, g_array_index (bases, guint64, 1));
  fixture_open (f);
  file = open_log (f, NULL);
  assert_window (file, b3, 301);
  g_object_unref (file);
  fixture_close (f);

  /* 3. An exact max-events floor inside a segment. */
  redex_test_rm_rf (f->dir);
  redex_test_copy_dir (pristine, f->dir);
  write_meta (log_dir, b3 + 2, 0);
  fixture_open (f);
  file = open_log (f, NULL);
  assert_window (file, b3 + 2, 301);
  file = reopen (f, file, NULL);
  assert_window (file, b3 + 2, 301);
  g_object_unref (file);
  fixture_close (f);
}

static void
test_evict_all_restart (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GArray) bases = NULL;
  g_autofree char *log_dir = NULL;
  g_autoptr(NetRedexTail) old = NULL;
  g_autoptr(NetRedexTail) live = NULL;
  g_autoptr(GError) error = NULL;
  NetRedexFile *file;

  fill_segments (f, 200, &bases);
  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);

  /* A sweep that evicted everything and finished unlinking. */
  write_meta (log_dir, 201, 201);
  for (guint i = 0; i < bases->len; i++)
    unlink_segment (log_dir, g_array_index (bases, guint64, i));

  fixture_open (f);
  file = open_log (f, NULL);
  assert_window (file, 201, 201);

  old = net_redex_file_tail (file, 150);
  {
    g_autoptr(NetRedexEvent) e = redex_test_tail_next (old, 5000, &error);

    g_assert_null (e);
    g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
    g_clear_error (&error);
  }
  g_clear_object (&old);

  file = reopen (f, file, NULL);
  assert_window (file, 201, 201);

  /* Seqs are never reused. */
  append_n (file, 2);
  assert_window (file, 201, 203);
  live = net_redex_file_tail (file, 201);
  {
    g_autoptr(NetRedexEvent) e = redex_test_tail_next (live, 5000, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (net_redex_event_get_seq (e), ==, 201);
  }
  g_clear_object (&live);
  file = reopen (f, file, NULL);
  assert_window (file, 201, 203);
  g_object_unref (file);
}

/* META's next-seq floor alone keeps seqs from being reused when no
 * segment is left to tell where the log ended. */
static void
test_next_seq_floor (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GArray) bases = NULL;
  g_autofree char *log_dir = NULL;
  NetRedexFile *file;

  fill_segments (f, 200, &bases);
  log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  write_meta (log_dir, 1, 201);
  for (guint i = 0; i < bases->len; i++)
    unlink_segment (log_dir, g_array_index (bases, guint64, i));

  fixture_open (f);
  file = open_log (f, NULL);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 201);
  assert_window (file, 201, 201);
  append_n (file, 1);
  file = reopen (f, file, NULL);
  assert_window (file, 201, 202);
  g_object_unref (file);
}

/* An in-memory log packs its records into chunks: reads across many of
 * them (an empty payload, one larger than a chunk, timestamps out of
 * order) give back each event's seq, timestamp and bytes; a log that
 * evicts all but its last event still reads that one; and payloads read
 * stay valid after their log is gone. */
static void
test_memory_chunks (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  g_autoptr(GPtrArray) read = NULL;
  g_autoptr(GPtrArray) kept = NULL;
  const guint n = 3000;

  g_assert_no_error (error);
  net_redex_config_set_max_payload (config, 4 * 1024 * 1024);
  file = net_redex_open_file (redex, "chunks", config, &error);
  g_assert_no_error (error);

  for (guint i = 1; i <= n; i++)
    {
      gsize len = i == 7 ? 0 : i == 1500 ? 2 * 1024 * 1024 : i % 300;
      guint8 *data = g_malloc (MAX (len, 1));
      g_autoptr(GBytes) payload = NULL;

      for (gsize k = 0; k < len; k++)
        data[k] = (guint8) (i * 31 + k);
      payload = g_bytes_new_take (data, len);
      /* Timestamps anywhere, also backwards and negative. */
      g_ptr_array_add (events, net_redex_event_new (i, (i % 5 == 0 ? -1 : 1) * (gint64) i * 1000003, payload));
    }
  g_assert_true (net_redex_file_append_events (file, events, &error));
  g_assert_no_error (error);

  read = net_redex_file_read_range (file, 1, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (read->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      NetRedexEvent *want = g_ptr_array_index (events, i);
      NetRedexEvent *got = g_ptr_array_index (read, i);

      g_assert_cmpuint (net_redex_event_get_seq (got), ==, i + 1);
      g_assert_cmpint (net_redex_event_get_timestamp (got), ==, net_redex_event_get_timestamp (want));
      g_assert_true (g_bytes_equal (net_redex_event_get_payload (got), net_redex_event_get_payload (want)));
    }

  /* Keep the views of the first half; a second log keeps only its last
   * event. */
  kept = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  for (guint i = 0; i < n / 2; i++)
    g_ptr_array_add (kept, net_redex_event_ref (g_ptr_array_index (read, i)));
  g_clear_pointer (&read, g_ptr_array_unref);
  net_redex_config_set_retention_max_events (config, 1);
  g_object_unref (file);
  g_clear_object (&redex);
  redex = net_redex_new (NULL, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "chunks", config, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_append_events (file, events, &error));
  read = net_redex_file_read_range (file, 1, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (read->len, ==, 1);
  g_assert_cmpuint (net_redex_event_get_seq (g_ptr_array_index (read, 0)), ==, n);
  g_assert_true (g_bytes_equal (net_redex_event_get_payload (g_ptr_array_index (read, 0)),
                                net_redex_event_get_payload (g_ptr_array_index (events, n - 1))));

  /* The views of the first log outlive it. */
  g_clear_object (&file);
  g_clear_object (&redex);
  for (guint i = 0; i < kept->len; i++)
    g_assert_true (g_bytes_equal (net_redex_event_get_payload (g_ptr_array_index (kept, i)),
                                  net_redex_event_get_payload (g_ptr_array_index (events, i))));
}

typedef struct
{
  GPtrArray *want;   /* the events appended, seq 1 first */
  guint64    next;   /* the seq expected next */
} VisitCheck;

static void
visit_check_cb (guint64       seq,
                gint64        timestamp,
                const guint8 *data,
                gsize         len,
                gpointer      user_data)
{
  VisitCheck *check = user_data;
  NetRedexEvent *want = g_ptr_array_index (check->want, seq - 1);
  gsize want_len;
  const guint8 *want_data = g_bytes_get_data (net_redex_event_get_payload (want), &want_len);

  g_assert_cmpuint (seq, ==, check->next);
  g_assert_cmpint (timestamp, ==, net_redex_event_get_timestamp (want));
  g_assert_cmpmem (data, len, want_data, want_len);
  check->next++;
}

/* _net_redex_file_visit_range() of an in-memory log: its records across
 * chunks (packed ones too, some larger than the visit's scratch on the
 * stack), from the middle of a chunk, clipped to what the log retains. */
static void
test_memory_visit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
  VisitCheck check = { events, 0 };
  const guint n = 3000;

  g_assert_no_error (error);
  net_redex_config_set_max_payload (config, 4 * 1024 * 1024);
  file = net_redex_open_file (redex, "visit", config, &error);
  g_assert_no_error (error);

  for (guint i = 1; i <= n; i++)
    {
      gsize len = i == 7 ? 0 : i == 1500 ? 2 * 1024 * 1024 : i % 600;
      guint8 *data = g_malloc (MAX (len, 1));
      g_autoptr(GBytes) payload = NULL;

      /* Alike first bytes (packed records), some of them different. */
      for (gsize k = 0; k < len; k++)
        data[k] = (guint8) (k < 20 && k % 3 != 0 ? k : i * 31 + k);
      payload = g_bytes_new_take (data, len);
      g_ptr_array_add (events, net_redex_event_new (i, (i % 5 == 0 ? -1 : 1) * (gint64) i * 1000003, payload));
    }
  g_assert_true (net_redex_file_append_events (file, events, &error));
  g_assert_no_error (error);

  check.next = 1;
  g_assert_true (_net_redex_file_visit_range (file, 0, n + 10, visit_check_cb, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.next, ==, n + 1);

  check.next = 777;
  g_assert_true (_net_redex_file_visit_range (file, 777, 2222, visit_check_cb, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.next, ==, 2222);

  /* A log that keeps the last 100: a visit starts at its floor. */
  g_clear_object (&file);
  net_redex_config_set_retention_max_events (config, 100);
  file = net_redex_open_file (redex, "visit-last", config, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_append_events (file, events, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, n - 99);
  check.next = n - 99;
  g_assert_true (_net_redex_file_visit_range (file, 1, n + 1, visit_check_cb, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.next, ==, n + 1);

  check.next = 0;
  g_assert_true (_net_redex_file_visit_range (file, 1, n - 200, visit_check_cb, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.next, ==, 0);

  /* A closed log. */
  g_assert_true (net_redex_file_close (file, &error));
  g_assert_no_error (error);
  g_assert_false (_net_redex_file_visit_range (file, 1, n + 1, visit_check_cb, &check, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, persistent, func)                                                   \
  g_test_add ("/redex/retention/" path, Fixture, GINT_TO_POINTER (persistent),        \
              fixture_setup, func, fixture_teardown)

  ADD ("memory/max-events", FALSE, test_max_events);
  ADD ("persistent/max-events", TRUE, test_max_events);
  ADD ("persistent/max-events-automatic", TRUE, test_max_events_automatic);
  ADD ("memory/max-bytes", FALSE, test_max_bytes_memory);
  ADD ("persistent/max-bytes", TRUE, test_max_bytes_persistent);
  ADD ("memory/max-age", FALSE, test_max_age);
  ADD ("persistent/max-age", TRUE, test_max_age);
  ADD ("memory/evict-all", FALSE, test_evict_all_memory);
  ADD ("persistent/evict-all-restart", TRUE, test_evict_all_restart);
  ADD ("persistent/crash-mid-sweep", TRUE, test_crash_mid_sweep);
  ADD ("persistent/next-seq-floor", TRUE, test_next_seq_floor);
  g_test_add_func ("/redex/retention/memory/chunks", test_memory_chunks);
  g_test_add_func ("/redex/retention/memory/visit", test_memory_visit);

  return g_test_run ();
}
