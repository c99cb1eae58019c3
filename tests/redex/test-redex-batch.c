/* test-redex-batch.c: a batch is one unit on disk; verify names crash tails
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A batch is written as records marked "REC+" closed by one "REC1" record
 * (net-redex-format-private.h).  These cases cut a log byte-exactly where a
 * crash may leave it and check what recovery, a read-only reader, a
 * follower and verify make of it; and that logs written before batch marks
 * existed (segment version 1) still open, read and take appends.
 */

#include "config.h"

#include <string.h>
#include <xxhash.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"
#include "net-redex-private.h"

#define LOG_NAME "batch/log"

typedef struct
{
  char *tmp;
  char *dir;
  char *log_dir;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->tmp = redex_test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "db", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
  g_free (f->log_dir);
}

static gsize
len_for (guint64 seq)
{
  return 12 + (seq * 37) % 300;
}

static GBytes *
payload_for (guint64 seq)
{
  return redex_test_payload (seq, len_for (seq));
}

/* Writes @n_single single events, then one batch of @n_batch, and closes
 * the log cleanly.  Returns the path of its (only) segment. */
static char *
write_log (Fixture *f,
           guint    n_single,
           guint    n_batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (f->dir, &error);
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GArray) bases = NULL;
  guint64 seq = 1;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < n_single; i++, seq++)
    {
      g_autoptr(GBytes) p = payload_for (seq);

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, seq);
      g_assert_no_error (error);
    }

  if (n_batch > 0)
    {
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

      for (guint i = 0; i < n_batch; i++)
        g_ptr_array_add (batch, payload_for (seq + i));
      g_assert_cmpuint (net_redex_file_append_batch (file, (GBytes **) batch->pdata, n_batch, &error), ==, seq);
      g_assert_no_error (error);
    }

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);

  g_clear_pointer (&f->log_dir, g_free);
  f->log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  bases = redex_test_list_bases (f->log_dir, ".seg");
  g_assert_cmpuint (bases->len, ==, 1);
  return redex_test_segment_path (f->log_dir, g_array_index (bases, guint64, 0), ".seg");
}

/* Opens the log (read-only or as the writer) and checks that it holds
 * exactly seqs 1 to @n, byte-exact. */
static void
assert_log (Fixture  *f,
            gboolean  read_only,
            guint64   n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = read_only ? net_redex_new_read_only (f->dir, &error)
                                        : net_redex_new (f->dir, &error);
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) events = NULL;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, n + 1);
  events = net_redex_file_read_range (file, 1, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, n);
  for (guint i = 0; i < events->len; i++)
    {
      g_autoptr(GBytes) p = payload_for (i + 1);

      redex_test_assert_event (events->pdata[i], i + 1, p);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
}

/* The problems and crash-tail notes of verify, read-only or as the writer;
 * also checks that the public verify reports exactly the problems. */
static void
verify_log (Fixture    *f,
            gboolean    read_only,
            GPtrArray **problems,
            GPtrArray **incomplete)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = read_only ? net_redex_new_read_only (f->dir, &error)
                                        : net_redex_new (f->dir, &error);
  g_autoptr(NetRedexFile) file = NULL;
  g_auto(GStrv) public_problems = NULL;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);

  *problems = g_ptr_array_new_with_free_func (g_free);
  *incomplete = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (_net_redex_file_verify_full (file, *problems, *incomplete, &error));
  g_assert_no_error (error);

  public_problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (public_problems), ==, (*problems)->len);

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
}

static void
assert_one_note (GPtrArray  *problems,
                 GPtrArray  *incomplete,
                 const char *expected)
{
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem: %s", (char *) problems->pdata[i]);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpuint (incomplete->len, ==, 1);
  if (strstr (incomplete->pdata[0], expected) == NULL)
    g_error ("verify said “%s”, expected it to contain “%s”", (char *) incomplete->pdata[0], expected);
}

/* Every cut inside a batch (at a record boundary, as a write stopped
 * between pages leaves it, or inside a record) drops the whole batch. */
static void
test_batch_torn (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *seg = write_log (f, 3, 6);
  g_autoptr(GArray) offsets = redex_test_record_offsets (seg);
  goffset size = redex_test_file_size (seg);
  g_autofree char *pristine = g_build_filename (f->tmp, "pristine", NULL);
  guint64 batch_start;

  g_assert_cmpuint (offsets->len, ==, 9);
  batch_start = g_array_index (offsets, guint64, 3);
  redex_test_copy_dir (f->dir, pristine);

  /* The whole batch, after a clean close: all there. */
  assert_log (f, TRUE, 9);

  for (guint k = 4; k <= 9; k++)
    {
      guint64 rec_start = g_array_index (offsets, guint64, k - 1);
      guint64 rec_end = k < 9 ? g_array_index (offsets, guint64, k) : (guint64) size;
      /* After record k - 1 of the log (k - 4 records of the batch whole),
       * and in the middle of record k. */
      guint64 cuts[] = { rec_start, rec_start + NET_REDEX_REC_HEADER_SIZE / 2, (rec_start + rec_end) / 2 };

      for (guint c = 0; c < G_N_ELEMENTS (cuts); c++)
        {
          g_autoptr(GPtrArray) problems = NULL;
          g_autoptr(GPtrArray) incomplete = NULL;
          g_autofree char *before = NULL;
          g_autofree char *after = NULL;

          if (cuts[c] == batch_start)
            continue;   /* nothing of the batch: not a torn batch */

          redex_test_rm_rf (f->dir);
          redex_test_copy_dir (pristine, f->dir);
          redex_test_truncate (seg, cuts[c]);

          /* A reader sees the events before the batch and none of it,
           * and verify says the batch is incomplete, not damaged. */
          before = redex_test_dir_fingerprint (f->dir);
          assert_log (f, TRUE, 3);
          verify_log (f, TRUE, &problems, &incomplete);
          if (cuts[c] == rec_start)
            assert_one_note (problems, incomplete, "the last batch is incomplete (seqs 4 to");
          else if (k == 4)
            assert_one_note (problems, incomplete, "the last record is incomplete");
          else
            assert_one_note (problems, incomplete, "the last batch is incomplete (seqs 4 to");
          g_assert_nonnull (strstr (incomplete->pdata[0], "the next writer truncates it"));
          after = redex_test_dir_fingerprint (f->dir);
          g_assert_cmpstr (before, ==, after);

          /* The writer truncates it whole, and then verify is clean. */
          assert_log (f, FALSE, 3);
          g_assert_cmpint (redex_test_file_size (seg), ==, batch_start);
          g_clear_pointer (&problems, g_ptr_array_unref);
          g_clear_pointer (&incomplete, g_ptr_array_unref);
          verify_log (f, TRUE, &problems, &incomplete);
          g_assert_cmpuint (problems->len, ==, 0);
          g_assert_cmpuint (incomplete->len, ==, 0);
        }
    }

  redex_test_rm_rf (pristine);
}

/* A torn single record: verify names it with its size. */
static void
test_verify_torn_record (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *seg = write_log (f, 5, 0);
  g_autoptr(GArray) offsets = redex_test_record_offsets (seg);
  guint64 last = g_array_index (offsets, guint64, 4);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) incomplete = NULL;
  g_autofree char *expected = NULL;

  redex_test_truncate (seg, last + 20);
  expected = g_strdup_printf ("at offset %" G_GUINT64_FORMAT ": the last record is incomplete "
                              "(20 bytes; the next writer truncates it)", last);

  assert_log (f, TRUE, 4);
  verify_log (f, TRUE, &problems, &incomplete);
  assert_one_note (problems, incomplete, expected);

  /* The writer truncates it at open: nothing left to say. */
  g_clear_pointer (&problems, g_ptr_array_unref);
  g_clear_pointer (&incomplete, g_ptr_array_unref);
  verify_log (f, FALSE, &problems, &incomplete);
  g_assert_cmpuint (problems->len, ==, 0);
  g_assert_cmpuint (incomplete->len, ==, 0);
  g_assert_cmpint (redex_test_file_size (seg), ==, last);
}

/* Damage before the end stays a problem, not a crash tail. */
static void
test_verify_damage_is_a_problem (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *seg = write_log (f, 5, 0);
  g_autoptr(GArray) offsets = redex_test_record_offsets (seg);
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) incomplete = NULL;

  redex_test_allow_warnings ();
  redex_test_flip_bit (seg, g_array_index (offsets, guint64, 2) + NET_REDEX_REC_HEADER_SIZE + 3, 1);
  verify_log (f, TRUE, &problems, &incomplete);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_nonnull (strstr (problems->pdata[0], "seq 3"));
  g_assert_cmpuint (incomplete->len, ==, 0);
}

/* A follower sees a batch only once all of it is written. */
static void
test_batch_follower (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *seg = write_log (f, 3, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) reader = net_redex_new_read_only (f->dir, &error);
  g_autoptr(NetRedexFile) rfile = NULL;
  guint8 rec[NET_REDEX_REC_HEADER_SIZE + 400];

  g_assert_no_error (error);
  rfile = net_redex_open_file (reader, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  _net_redex_file_follow_by_polling (rfile, 10);
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 4);

  /* Two records of a batch of three, whole. */
  for (guint64 seq = 4; seq <= 6; seq++)
    {
      g_autoptr(GBytes) p = payload_for (seq);
      gsize len = g_bytes_get_size (p);

      net_redex_record_encode_header_full (rec, seq, g_get_real_time (),
                                           g_bytes_get_data (p, NULL), len, seq < 6);
      memcpy (rec + NET_REDEX_REC_HEADER_SIZE, g_bytes_get_data (p, NULL), len);
      if (seq < 6)
        {
          redex_test_append_raw (seg, rec, NET_REDEX_REC_HEADER_SIZE + len);
          continue;
        }

      redex_test_spin (200);
      g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 4);

      /* Half of the last one: still nothing. */
      redex_test_append_raw (seg, rec, 10);
      redex_test_spin (200);
      g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 4);

      redex_test_append_raw (seg, rec + 10, NET_REDEX_REC_HEADER_SIZE + len - 10);
    }

  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_next_seq (rfile) == 7, 10000);
  g_assert_true (net_redex_close (reader, &error));
  g_assert_no_error (error);
  assert_log (f, FALSE, 6);
}

/* Writes a version 1 segment by hand, as netdb wrote them before batch
 * marks: it opens read-only and as the writer, whose appends (batches
 * too) go on in it once its header says version 2. */
static void
test_v1_segment (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *seg = write_log (f, 0, 0);
  g_autoptr(GError) error = NULL;
  guint8 header[NET_REDEX_SEG_HEADER_SIZE];
  g_autofree char *contents = NULL;
  gsize len = 0;
  guint64 base = 0;

  /* Segment header, version 1 (its checksum covers the version). */
  net_redex_segment_header_encode (header, 1);
  net_redex_write_u32 (header + 8, 1);
  net_redex_write_u64 (header + 24, XXH3_64bits (header, 24));
  redex_test_truncate (seg, 0);
  redex_test_append_raw (seg, header, sizeof header);
  for (guint64 seq = 1; seq <= 4; seq++)
    {
      g_autoptr(GBytes) p = payload_for (seq);
      gsize plen = g_bytes_get_size (p);
      guint8 rec[NET_REDEX_REC_HEADER_SIZE];

      net_redex_record_encode_header (rec, seq, g_get_real_time (), g_bytes_get_data (p, NULL), plen);
      redex_test_append_raw (seg, rec, sizeof rec);
      redex_test_append_raw (seg, g_bytes_get_data (p, NULL), plen);
    }

  g_file_get_contents (seg, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_segment_header_decode ((guint8 *) contents, len, &base));
  g_assert_cmpuint (net_redex_segment_header_version ((guint8 *) contents), ==, 1);
  g_clear_pointer (&contents, g_free);

  assert_log (f, TRUE, 4);

  /* The writer upgrades the header, and appends a batch. */
  {
    g_autoptr(NetRedex) redex = net_redex_new (f->dir, &error);
    g_autoptr(NetRedexFile) file = NULL;
    GBytes *batch[3];

    g_assert_no_error (error);
    file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 5);
    for (guint i = 0; i < 3; i++)
      batch[i] = payload_for (5 + i);
    g_assert_cmpuint (net_redex_file_append_batch (file, batch, 3, &error), ==, 5);
    g_assert_no_error (error);
    for (guint i = 0; i < 3; i++)
      g_bytes_unref (batch[i]);
    g_assert_true (net_redex_close (redex, &error));
    g_assert_no_error (error);
  }

  g_file_get_contents (seg, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_segment_header_decode ((guint8 *) contents, len, &base));
  g_assert_cmpuint (net_redex_segment_header_version ((guint8 *) contents), ==, NET_REDEX_SEG_VERSION);

  assert_log (f, TRUE, 7);
  assert_log (f, FALSE, 7);
}

/* At least three sealed segments and an active one, written cleanly. */
static void
write_segments (Fixture *f,
                GArray **bases)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (f->dir, &error);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(NetRedexFile) file = NULL;

  g_assert_no_error (error);
  net_redex_config_set_segment_size (config, 4096);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  g_assert_no_error (error);
  for (guint64 seq = 1; seq <= 100; seq++)
    {
      g_autoptr(GBytes) p = payload_for (seq);

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, seq);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);

  g_clear_pointer (&f->log_dir, g_free);
  f->log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
  *bases = redex_test_list_bases (f->log_dir, ".seg");
  g_assert_cmpuint ((*bases)->len, >=, 4);
}

/* A power cut before a segment's sealing finished: no index, a torn end,
 * and no later segment sealed either.  Nothing from there on was durable:
 * the log ends in that segment, the later ones go. */
static void
test_never_sealed (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GArray) bases = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *seg1 = NULL;
  g_autoptr(GArray) offsets = NULL;
  guint64 base1, base2;

  write_segments (f, &bases);
  base1 = g_array_index (bases, guint64, 1);
  base2 = g_array_index (bases, guint64, 2);
  for (guint i = 1; i + 1 < bases->len; i++)
    {
      g_autofree char *idx = redex_test_segment_path (f->log_dir, g_array_index (bases, guint64, i), ".idx");

      g_assert_cmpint (g_unlink (idx), ==, 0);
    }
  seg1 = redex_test_segment_path (f->log_dir, base1, ".seg");
  offsets = redex_test_record_offsets (seg1);
  g_assert_cmpuint (offsets->len, ==, base2 - base1);
  g_assert_cmpuint (offsets->len, >=, 2);
  /* The last record of segment 1 half there. */
  redex_test_truncate (seg1, g_array_index (offsets, guint64, offsets->len - 1) + 10);

  assert_log (f, TRUE, base2 - 2);
  assert_log (f, FALSE, base2 - 2);
  {
    g_autoptr(GArray) after = redex_test_list_bases (f->log_dir, ".seg");

    g_assert_cmpuint (after->len, ==, 2);
  }
}

/* The same damage, but a later segment has its index: the segment was
 * sealed (sealing goes in order), someone removed its index.  Its lost
 * record stays a damaged slot and nothing later is dropped. */
static void
test_index_removed (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GArray) bases = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *seg1 = NULL;
  g_autofree char *idx1 = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(NetRedexEvent) lost = NULL;
  guint64 base1, base2;

  write_segments (f, &bases);
  base1 = g_array_index (bases, guint64, 1);
  base2 = g_array_index (bases, guint64, 2);
  idx1 = redex_test_segment_path (f->log_dir, base1, ".idx");
  g_assert_cmpint (g_unlink (idx1), ==, 0);
  seg1 = redex_test_segment_path (f->log_dir, base1, ".seg");
  offsets = redex_test_record_offsets (seg1);
  redex_test_truncate (seg1, g_array_index (offsets, guint64, offsets->len - 1) + 10);

  redex_test_allow_warnings ();
  redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 101);
  lost = net_redex_file_read_one (file, base2 - 1, &error);
  g_assert_null (lost);
  g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
  g_clear_error (&error);
  {
    g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, 100, &error);
    g_autoptr(GBytes) p = payload_for (100);

    g_assert_no_error (error);
    redex_test_assert_event (e, 100, p);
  }
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/redex/batch/torn", Fixture, NULL, fixture_setup, test_batch_torn, fixture_teardown);
  g_test_add ("/redex/batch/follower", Fixture, NULL, fixture_setup, test_batch_follower, fixture_teardown);
  g_test_add ("/redex/batch/v1-segment", Fixture, NULL, fixture_setup, test_v1_segment, fixture_teardown);
  g_test_add ("/redex/recovery/never-sealed", Fixture, NULL, fixture_setup, test_never_sealed, fixture_teardown);
  g_test_add ("/redex/recovery/index-removed", Fixture, NULL, fixture_setup, test_index_removed, fixture_teardown);
  g_test_add ("/redex/verify/torn-record", Fixture, NULL, fixture_setup, test_verify_torn_record, fixture_teardown);
  g_test_add ("/redex/verify/damage", Fixture, NULL, fixture_setup, test_verify_damage_is_a_problem, fixture_teardown);

  return g_test_run ();
}
