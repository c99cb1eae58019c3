/* test-redex-recovery.c: torn tails, bit flips and verify
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each case starts from a pristine copy of a log directory taken while its
 * writer was still open (as a crash would leave it), damages the active
 * segment byte-exactly, and reopens it.
 */

#include "config.h"

#include <string.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"

#define LOG_NAME "rec/log"

typedef struct
{
  char      *tmp;
  char      *pristine;     /* the db dir as the crash left it */
  char      *work;         /* a damaged copy */
  GPtrArray *payloads;     /* index = seq - 1 */
  guint64    n_durable;    /* synced before the copy */
  GArray    *offsets;      /* record offsets in the pristine segment */
  goffset    seg_size;
} Fixture;

static NetRedex *
open_redex (const char *dir)
{
  g_autoptr(GError) error = NULL;
  NetRedex *redex = net_redex_new (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (redex);
  return redex;
}

static NetRedexFile *
open_log (NetRedex *redex)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  NetRedexFile *file;

  /* The writer preallocates its segment: a small one keeps the copies of
   * the log (one per damaged variant) cheap. */
  net_redex_config_set_segment_size (config, 64 * 1024);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static void
close_redex (NetRedex *redex)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (redex);
}

/* Builds the pristine directory: @n events of @len bytes, all but the last
 * one synced, copied while the writer is open. */
static void
fixture_build (Fixture *f,
               guint    n,
               gsize    len)
{
  g_autofree char *live = g_build_filename (f->tmp, "live", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *log_dir = NULL;
  g_autofree char *seg = NULL;
  g_autoptr(GArray) bases = NULL;
  NetRedex *redex;
  NetRedexFile *file;

  redex = open_redex (live);
  file = open_log (redex);
  for (guint i = 0; i < n; i++)
    {
      GBytes *p = redex_test_payload (1000 + i, len);

      if (i == n - 1)
        {
          g_assert_true (net_redex_file_sync (file, &error));
          g_assert_no_error (error);
          f->n_durable = n - 1;
        }
      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i + 1);
      g_assert_no_error (error);
      g_ptr_array_add (f->payloads, p);
    }

  f->pristine = g_build_filename (f->tmp, "pristine", NULL);
  redex_test_copy_dir (live, f->pristine);

  g_object_unref (file);
  close_redex (redex);

  log_dir = redex_test_find_log_dir (f->pristine, LOG_NAME);
  bases = redex_test_list_bases (log_dir, ".seg");
  g_assert_cmpuint (bases->len, ==, 1);
  g_assert_cmpuint (g_array_index (bases, guint64, 0), ==, 1);
  seg = redex_test_segment_path (log_dir, 1, ".seg");
  f->offsets = redex_test_record_offsets (seg);
  /* The writer wrote every append through to the file. */
  g_assert_cmpuint (f->offsets->len, ==, n);
  /* The data end: the writer preallocates the rest of the segment. */
  f->seg_size = redex_test_data_end (seg);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->tmp = redex_test_make_tmpdir ();
  f->work = g_build_filename (f->tmp, "work", NULL);
  f->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  /* Damaged files may be reported with warnings. */
  redex_test_allow_warnings ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->pristine);
  g_free (f->work);
  g_ptr_array_unref (f->payloads);
  g_clear_pointer (&f->offsets, g_array_unref);
}

/* A fresh damaged copy; returns the path of its segment. */
static char *
fixture_copy (Fixture *f)
{
  g_autofree char *log_dir = NULL;

  redex_test_rm_rf (f->work);
  redex_test_copy_dir (f->pristine, f->work);
  log_dir = redex_test_find_log_dir (f->work, LOG_NAME);
  return redex_test_segment_path (log_dir, 1, ".seg");
}

static guint64
record_offset (Fixture *f,
               guint64  seq)
{
  return g_array_index (f->offsets, guint64, seq - 1);
}

static guint64
record_end (Fixture *f,
            guint64  seq)
{
  if (seq < f->offsets->len)
    return record_offset (f, seq + 1);
  return f->seg_size;
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

/* Opens the damaged copy and checks that it holds exactly seqs 1..@n_valid,
 * that the segment was cut back to @cut, and that appending continues at
 * @n_valid + 1 and survives a reopen. */
static void
check_clean_prefix (Fixture    *f,
                    const char *seg,
                    guint64     n_valid,
                    guint64     cut,
                    const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) fresh = redex_test_payload (777777, 33);
  g_auto(GStrv) problems = NULL;
  NetRedex *redex;
  NetRedexFile *file;
  guint64 seq;

  g_test_message ("%s", what);

  redex = open_redex (f->work);
  file = open_log (redex);

  if (net_redex_file_get_next_seq (file) != n_valid + 1)
    g_error ("%s: next_seq is %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
             what, net_redex_file_get_next_seq (file), n_valid + 1);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1);
  for (guint64 s = 1; s <= n_valid; s++)
    assert_reads (file, s, f->payloads->pdata[s - 1]);
  {
    g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, n_valid + 1, &error);

    g_assert_null (event);
    g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }

  /* The torn bytes are gone from the file, not just ignored. */
  if (redex_test_file_size (seg) != (goffset) cut)
    g_error ("%s: segment is %" G_GINT64_FORMAT " bytes after recovery, expected %" G_GUINT64_FORMAT,
             what, (gint64) redex_test_file_size (seg), cut);

  problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  if (g_strv_length (problems) != 0)
    g_error ("%s: verify after recovery: %s", what, problems[0]);

  /* No durable event ever had this seq. */
  seq = net_redex_file_append (file, fresh, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, n_valid + 1);
  g_object_unref (file);
  close_redex (redex);

  redex = open_redex (f->work);
  file = open_log (redex);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, n_valid + 2);
  assert_reads (file, n_valid + 1, fresh);
  if (n_valid > 0)
    assert_reads (file, n_valid, f->payloads->pdata[n_valid - 1]);
  g_object_unref (file);
  close_redex (redex);
}

static void
test_torn_tail (Fixture       *f,
                gconstpointer  data)
{
  guint64 start, end;

  fixture_build (f, 6, 40);
  start = record_offset (f, 6);
  end = record_end (f, 6);
  g_assert_cmpuint (end - start, ==, NET_REDEX_REC_HEADER_SIZE + 40);

  /* Every cut inside the last record, including just before it. */
  for (guint64 cut = start; cut < end; cut++)
    {
      g_autofree char *seg = fixture_copy (f);
      g_autofree char *what = g_strdup_printf ("cut at %" G_GUINT64_FORMAT " (record 6 spans %"
                                               G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")",
                                               cut, start, end);

      redex_test_truncate (seg, cut);
      /* 1..5 were synced: the next seq is one no durable event had. */
      g_assert_cmpuint (f->n_durable, ==, 5);
      check_clean_prefix (f, seg, 5, start, what);
    }

  /* The untouched copy keeps all six. */
  {
    g_autofree char *seg = fixture_copy (f);
    check_clean_prefix (f, seg, 6, end, "untouched");
  }
}

static void
test_torn_tail_several (Fixture       *f,
                        gconstpointer  data)
{
  fixture_build (f, 8, 100);

  /* A cut inside record 6 drops 6, 7 and 8. */
  for (guint64 cut = record_offset (f, 6) + 1; cut < record_end (f, 6); cut += 13)
    {
      g_autofree char *seg = fixture_copy (f);
      g_autofree char *what = g_strdup_printf ("cut at %" G_GUINT64_FORMAT " inside record 6", cut);

      redex_test_truncate (seg, cut);
      check_clean_prefix (f, seg, 5, record_offset (f, 6), what);
    }
}

static void
test_garbage_tail (Fixture       *f,
                   gconstpointer  data)
{
  guint8 zeros[4096] = { 0, };
  guint8 junk[777];
  guint8 rec[NET_REDEX_REC_HEADER_SIZE + 20];

  fixture_build (f, 5, 30);

  /* A file extended with zeros (size updated, data not). */
  {
    g_autofree char *seg = fixture_copy (f);

    redex_test_append_raw (seg, zeros, sizeof zeros);
    check_clean_prefix (f, seg, 5, f->seg_size, "4096 zero bytes after the last record");
  }

  /* Random junk. */
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = g_test_rand_int_range (0, 256);
  {
    g_autofree char *seg = fixture_copy (f);

    redex_test_append_raw (seg, junk, sizeof junk);
    check_clean_prefix (f, seg, 5, f->seg_size, "random bytes after the last record");
  }

  /* A well-formed record with a checksum that holds but a seq that does
   * not follow (a duplicate of 5, then one that skips ahead): recovery
   * rejects non-monotonic seqs. */
  {
    g_autoptr(GBytes) p = redex_test_payload (424242, 20);
    g_autofree char *seg = fixture_copy (f);

    net_redex_record_encode_header (rec, 5, 1, g_bytes_get_data (p, NULL), 20);
    memcpy (rec + NET_REDEX_REC_HEADER_SIZE, g_bytes_get_data (p, NULL), 20);
    redex_test_append_raw (seg, rec, sizeof rec);
    check_clean_prefix (f, seg, 5, f->seg_size, "a record that repeats seq 5");
  }
  {
    g_autoptr(GBytes) p = redex_test_payload (434343, 20);
    g_autofree char *seg = fixture_copy (f);

    net_redex_record_encode_header (rec, 7, 1, g_bytes_get_data (p, NULL), 20);
    memcpy (rec + NET_REDEX_REC_HEADER_SIZE, g_bytes_get_data (p, NULL), 20);
    redex_test_append_raw (seg, rec, sizeof rec);
    check_clean_prefix (f, seg, 5, f->seg_size, "a record that skips seq 6");
  }
}

/* Opens a copy with one bit of a middle record flipped: that record is
 * reported as corrupt by every read path and the rest is intact. */
static void
check_flipped_middle (Fixture *f,
                      guint64  bad_seq,
                      goffset  offset,
                      guint    bit)
{
  g_autofree char *seg = fixture_copy (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexTail) tail = NULL;
  guint64 n = f->payloads->len;
  NetRedex *redex;
  NetRedexFile *file;

  redex_test_flip_bit (seg, offset, bit);

  redex = open_redex (f->work);
  file = open_log (redex);

  /* Damage in the middle is not a torn tail: nothing is cut. */
  if (net_redex_file_get_next_seq (file) != n + 1)
    g_error ("flip of bit %u at offset %" G_GINT64_FORMAT ": next_seq is %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
             bit, (gint64) offset, net_redex_file_get_next_seq (file), n + 1);
  g_assert_cmpint (redex_test_file_size (seg), ==, f->seg_size);

  for (guint64 s = 1; s <= n; s++)
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, s, &error);

      if (s == bad_seq)
        {
          if (event != NULL)
            g_error ("flip of bit %u at offset %" G_GINT64_FORMAT " (record %" G_GUINT64_FORMAT
                     "): read_one returned it as valid", bit, (gint64) offset, s);
          g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          redex_test_assert_event (event, s, f->payloads->pdata[s - 1]);
        }
    }

  {
    g_autoptr(GPtrArray) range = net_redex_file_read_range (file, 1, n + 1, &error);

    g_assert_null (range);
    g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
    g_clear_error (&error);
  }
  {
    g_autoptr(GPtrArray) range = net_redex_file_read_range (file, bad_seq + 1, n + 1, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (range->len, ==, n - bad_seq);
    for (guint i = 0; i < range->len; i++)
      redex_test_assert_event (range->pdata[i], bad_seq + 1 + i, f->payloads->pdata[bad_seq + i]);
  }

  {
    g_auto(GStrv) problems = net_redex_file_verify (file, &error);

    g_assert_no_error (error);
    g_assert_nonnull (problems);
    g_assert_cmpuint (g_strv_length (problems), >, 0);
  }

  /* Appends continue after the last record. */
  {
    g_autoptr(GBytes) p = redex_test_payload (99, 20);

    g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, n + 1);
    g_assert_no_error (error);
  }

  /* A tail delivers what precedes the damage, then stops there instead of
   * skipping it. */
  tail = net_redex_file_tail (file, 1);
  for (guint64 s = 1; s < bad_seq; s++)
    {
      g_autoptr(NetRedexEvent) event = redex_test_tail_next (tail, 10000, &error);

      g_assert_no_error (error);
      redex_test_assert_event (event, s, f->payloads->pdata[s - 1]);
    }
  {
    g_autoptr(NetRedexEvent) event = redex_test_tail_next (tail, 10000, &error);

    if (event != NULL)
      g_error ("tail returned seq %" G_GUINT64_FORMAT " where record %" G_GUINT64_FORMAT " is damaged",
               net_redex_event_get_seq (event), bad_seq);
    g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
    g_clear_error (&error);
  }
  g_clear_object (&tail);

  g_object_unref (file);
  close_redex (redex);
}

static void
test_bitflip_middle (Fixture       *f,
                     gconstpointer  data)
{
  guint64 start, end;

  /* Small records: every bit of record 3 of 5. */
  fixture_build (f, 5, 12);
  start = record_offset (f, 3);
  end = record_end (f, 3);
  for (guint64 off = start; off < end; off++)
    for (guint bit = 0; bit < 8; bit++)
      check_flipped_middle (f, 3, off, bit);
}

static void
test_bitflip_middle_sampled (Fixture       *f,
                             gconstpointer  data)
{
  guint64 start, end;
  guint n_samples = g_test_slow () ? 2000 : 150;

  fixture_build (f, 6, 3000);
  start = record_offset (f, 2);
  end = record_end (f, 2);

  /* Every bit of the header, then a sample of the payload. */
  for (guint64 off = start; off < start + NET_REDEX_REC_HEADER_SIZE; off++)
    for (guint bit = 0; bit < 8; bit += 3)
      check_flipped_middle (f, 2, off, bit);
  for (guint i = 0; i < n_samples; i++)
    check_flipped_middle (f, 2,
                          g_test_rand_int_range (start + NET_REDEX_REC_HEADER_SIZE, end),
                          g_test_rand_int_range (0, 8));
  /* The first record too. */
  for (guint i = 0; i < 40; i++)
    check_flipped_middle (f, 1,
                          g_test_rand_int_range (record_offset (f, 1), record_end (f, 1)),
                          g_test_rand_int_range (0, 8));
}

static void
test_bitflip_last (Fixture       *f,
                   gconstpointer  data)
{
  guint64 start, end;

  fixture_build (f, 4, 12);
  /* Everything was synced except the last one; a flip there makes it a
   * torn tail. */
  start = record_offset (f, 4);
  end = record_end (f, 4);
  for (guint64 off = start; off < end; off++)
    for (guint bit = 0; bit < 8; bit++)
      {
        g_autofree char *seg = fixture_copy (f);
        g_autofree char *what = g_strdup_printf ("bit %u of byte %" G_GUINT64_FORMAT " of the last record",
                                                 bit, off);

        redex_test_flip_bit (seg, off, bit);
        check_clean_prefix (f, seg, 3, start, what);
      }
}

static void
test_verify_clean (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) problems = NULL;
  g_autofree char *seg = NULL;
  NetRedex *redex;
  NetRedexFile *file;

  fixture_build (f, 20, 50);
  seg = fixture_copy (f);

  redex = open_redex (f->work);
  file = open_log (redex);
  problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  g_assert_cmpuint (g_strv_length (problems), ==, 0);
  g_clear_pointer (&problems, g_strfreev);
  g_object_unref (file);
  close_redex (redex);

  /* In memory there is nothing to damage. */
  redex = net_redex_new (NULL, &error);
  g_assert_no_error (error);
  file = open_log (redex);
  problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  g_assert_cmpuint (g_strv_length (problems), ==, 0);
  g_object_unref (file);
  close_redex (redex);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/redex/recovery/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("torn-tail", test_torn_tail);
  ADD ("torn-tail-several", test_torn_tail_several);
  ADD ("garbage-tail", test_garbage_tail);
  ADD ("bitflip-middle", test_bitflip_middle);
  ADD ("bitflip-middle-sampled", test_bitflip_middle_sampled);
  ADD ("bitflip-last", test_bitflip_last);
  ADD ("verify-clean", test_verify_clean);

  return g_test_run ();
}
