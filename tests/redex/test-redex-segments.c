/* test-redex-segments.c: segment rolling, index files, sealed segments
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"
#include "net-redex-segment-private.h"

#define LOG_NAME "segs"
#define SEG_SIZE 4096

typedef struct
{
  char           *tmp;
  char           *dir;
  char           *log_dir;
  NetRedexConfig *config;
  GPtrArray      *reference;   /* NetRedexEvent, as first read back */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->tmp = redex_test_make_tmpdir ();
  f->dir = g_build_filename (f->tmp, "db", NULL);
  f->config = net_redex_config_new ();
  net_redex_config_set_segment_size (f->config, SEG_SIZE);
  redex_test_allow_warnings ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  redex_test_rm_rf (f->tmp);
  g_free (f->tmp);
  g_free (f->dir);
  g_free (f->log_dir);
  g_clear_object (&f->config);
  g_clear_pointer (&f->reference, g_ptr_array_unref);
}

static NetRedex *
open_redex (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  NetRedex *redex = net_redex_new (f->dir, &error);

  g_assert_no_error (error);
  return redex;
}

static NetRedexFile *
open_log (Fixture  *f,
          NetRedex *redex)
{
  g_autoptr(GError) error = NULL;
  NetRedexFile *file = net_redex_open_file (redex, LOG_NAME, f->config, &error);

  g_assert_no_error (error);
  return file;
}

static void
close_all (NetRedex     *redex,
           NetRedexFile *file)
{
  g_autoptr(GError) error = NULL;

  g_object_unref (file);
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (redex);
}

static gsize
len_for (guint i)
{
  return 50 + (i * 37) % 200;
}

/* Writes @n events and keeps what reading them back gives. */
static void
fixture_fill (Fixture *f,
              guint    n)
{
  g_autoptr(GError) error = NULL;
  NetRedex *redex = open_redex (f);
  NetRedexFile *file = open_log (f, redex);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i + 1, len_for (i));

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i + 1);
      g_assert_no_error (error);
    }
  f->reference = net_redex_file_read_range (file, 1, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->reference->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i + 1, len_for (i));
      redex_test_assert_event (f->reference->pdata[i], i + 1, p);
    }
  close_all (redex, file);

  f->log_dir = redex_test_find_log_dir (f->dir, LOG_NAME);
}

/* Every read path gives exactly the reference. */
static void
assert_identical (Fixture      *f,
                  NetRedexFile *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  guint n = f->reference->len;

  g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, n + 1);

  /* Backwards, so that no read benefits from the one before. */
  for (guint i = n; i > 0; i--)
    {
      NetRedexEvent *ref = f->reference->pdata[i - 1];
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, i, &error);

      g_assert_no_error (error);
      redex_test_assert_event (event, i, net_redex_event_get_payload (ref));
      g_assert_cmpint (net_redex_event_get_timestamp (event), ==, net_redex_event_get_timestamp (ref));
    }

  all = net_redex_file_read_range (file, 1, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      NetRedexEvent *ref = f->reference->pdata[i];

      redex_test_assert_event (all->pdata[i], i + 1, net_redex_event_get_payload (ref));
      g_assert_cmpint (net_redex_event_get_timestamp (all->pdata[i]), ==, net_redex_event_get_timestamp (ref));
    }

  /* Ranges that start and end inside segments. */
  for (guint i = 0; i < 20; i++)
    {
      guint a = g_test_rand_int_range (1, n + 1);
      guint b = g_test_rand_int_range (a, n + 2);
      g_autoptr(GPtrArray) range = net_redex_file_read_range (file, a, b, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (range->len, ==, b - a);
      for (guint j = 0; j < range->len; j++)
        redex_test_assert_event (range->pdata[j], a + j,
                                 net_redex_event_get_payload (f->reference->pdata[a + j - 1]));
    }

  /* And a tail over all of it. */
  {
    g_autoptr(NetRedexTail) tail = net_redex_file_tail (file, 1);

    for (guint i = 0; i < n; i++)
      {
        g_autoptr(NetRedexEvent) event = net_redex_tail_try_next (tail, &error);

        if (event == NULL)
          {
            g_assert_no_error (error);
            event = redex_test_tail_next (tail, 10000, &error);
            g_assert_no_error (error);
          }
        redex_test_assert_event (event, i + 1, net_redex_event_get_payload (f->reference->pdata[i]));
      }
  }
}

static void
reopen_and_check (Fixture *f)
{
  NetRedex *redex = open_redex (f);
  NetRedexFile *file = open_log (f, redex);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) problems = NULL;

  assert_identical (f, file);
  problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (problems);
  if (g_strv_length (problems) > 0)
    g_error ("verify: %s", problems[0]);
  close_all (redex, file);
}

static void
test_rolling (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GArray) segs = NULL;
  g_autoptr(GArray) idxs = NULL;
  guint64 expected_base = 1;

  fixture_fill (f, 400);

  segs = redex_test_list_bases (f->log_dir, ".seg");
  idxs = redex_test_list_bases (f->log_dir, ".idx");
  g_assert_cmpuint (segs->len, >=, 10);

  /* Segments are named by their first seq and follow each other. */
  for (guint i = 0; i < segs->len; i++)
    {
      guint64 base = g_array_index (segs, guint64, i);
      g_autofree char *seg = redex_test_segment_path (f->log_dir, base, ".seg");
      g_autoptr(GArray) offsets = redex_test_record_offsets (seg);
      goffset size = redex_test_file_size (seg);
      g_autofree char *header = NULL;
      gsize header_len;
      guint64 header_base = 0;

      g_assert_cmpuint (base, ==, expected_base);
      g_file_get_contents (seg, &header, &header_len, NULL);
      g_assert_true (net_redex_segment_header_decode ((const guint8 *) header, header_len, &header_base));
      g_assert_cmpuint (header_base, ==, base);

      /* Only the newest one may still lack an index. */
      if (i + 1 < segs->len)
        {
          g_autofree char *idx = redex_test_segment_path (f->log_dir, base, ".idx");
          g_autofree char *contents = NULL;
          NetRedexIndexHeader ih;
          gsize len;

          g_assert_cmpuint (offsets->len, >, 0);
          /* Sealed once past the segment size, not much later. */
          g_assert_cmpint (size, <=, SEG_SIZE + NET_REDEX_REC_HEADER_SIZE + 250);
          g_assert_true (g_file_get_contents (idx, &contents, &len, NULL));
          g_assert_true (net_redex_index_header_decode ((const guint8 *) contents, len, &ih));
          g_assert_cmpuint (ih.base_seq, ==, base);
          g_assert_cmpuint (ih.count, ==, offsets->len);
          g_assert_cmpuint (ih.segment_length, ==, size);
          g_assert_true (net_redex_index_offsets_valid (&ih, (const guint8 *) contents + NET_REDEX_IDX_HEADER_SIZE,
                                                        len - NET_REDEX_IDX_HEADER_SIZE));
          for (guint j = 0; j < offsets->len; j++)
            g_assert_cmpuint (net_redex_read_u64 ((const guint8 *) contents + NET_REDEX_IDX_HEADER_SIZE + j * 8), ==,
                              g_array_index (offsets, guint64, j));
        }
      expected_base += offsets->len;
    }
  g_assert_cmpuint (expected_base, ==, 401);
  g_assert_cmpuint (idxs->len, >=, segs->len - 1);
  for (guint i = 0; i < idxs->len; i++)
    {
      g_autofree char *seg = redex_test_segment_path (f->log_dir, g_array_index (idxs, guint64, i), ".seg");
      g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));
    }

  reopen_and_check (f);
  /* Twice: the first reopen must not have damaged anything. */
  reopen_and_check (f);

  /* Appending after a reopen continues in the right segment. */
  {
    g_autoptr(GError) error = NULL;
    NetRedex *redex = open_redex (f);
    NetRedexFile *file = open_log (f, redex);

    for (guint i = 400; i < 500; i++)
      {
        g_autoptr(GBytes) p = redex_test_payload (i + 1, len_for (i));
        g_autoptr(NetRedexEvent) e = NULL;

        g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i + 1);
        g_assert_no_error (error);
        e = net_redex_file_read_one (file, i + 1, &error);
        g_assert_no_error (error);
        g_ptr_array_add (f->reference, g_steal_pointer (&e));
      }
    close_all (redex, file);
  }
  reopen_and_check (f);
}

static void
test_idx_deleted (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GArray) segs = NULL;
  g_autofree char *idx = NULL;
  g_autofree char *idx0 = NULL;

  fixture_fill (f, 300);
  segs = redex_test_list_bases (f->log_dir, ".seg");
  g_assert_cmpuint (segs->len, >=, 4);

  idx = redex_test_segment_path (f->log_dir, g_array_index (segs, guint64, 2), ".idx");
  idx0 = redex_test_segment_path (f->log_dir, g_array_index (segs, guint64, 0), ".idx");
  g_assert_cmpint (g_unlink (idx), ==, 0);
  g_assert_cmpint (g_unlink (idx0), ==, 0);

  reopen_and_check (f);
  /* The writer rebuilt them. */
  g_assert_true (g_file_test (idx, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (idx0, G_FILE_TEST_IS_REGULAR));
  reopen_and_check (f);

  /* All of them. */
  for (guint i = 0; i < segs->len; i++)
    {
      g_autofree char *p = redex_test_segment_path (f->log_dir, g_array_index (segs, guint64, i), ".idx");
      g_unlink (p);
    }
  reopen_and_check (f);
}

typedef enum
{
  DAMAGE_FLIP_OFFSETS,
  DAMAGE_FLIP_HEADER,
  DAMAGE_TRUNCATE,
  DAMAGE_GARBAGE,
  DAMAGE_EMPTY,
  DAMAGE_SHIFTED,       /* valid checksums, offsets of the next record */
  DAMAGE_WRONG_LENGTH,  /* valid checksums, wrong segment length */
  DAMAGE_FEWER,         /* valid checksums, one record missing */
  N_DAMAGES
} Damage;

static void
damage_idx (const char *idx,
            Damage      damage)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  NetRedexIndexHeader h;
  gsize len;

  g_file_get_contents (idx, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_index_header_decode ((const guint8 *) contents, len, &h));
  g_assert_cmpuint (h.count, >=, 3);

  switch (damage)
    {
    case DAMAGE_FLIP_OFFSETS:
      redex_test_flip_bit (idx, NET_REDEX_IDX_HEADER_SIZE + 8 + 1, 3);
      break;
    case DAMAGE_FLIP_HEADER:
      redex_test_flip_bit (idx, 24, 0); /* count */
      break;
    case DAMAGE_TRUNCATE:
      redex_test_truncate (idx, len / 2);
      break;
    case DAMAGE_GARBAGE:
      for (gsize i = 0; i < len; i++)
        contents[i] = (char) g_test_rand_int_range (0, 256);
      g_file_set_contents (idx, contents, len, &error);
      g_assert_no_error (error);
      break;
    case DAMAGE_EMPTY:
      redex_test_truncate (idx, 0);
      break;
    case DAMAGE_SHIFTED:
    case DAMAGE_FEWER:
    case DAMAGE_WRONG_LENGTH:
      {
        g_autofree guint64 *offsets = g_new (guint64, h.count);
        g_autoptr(GBytes) bytes = NULL;

        for (guint64 i = 0; i < h.count; i++)
          offsets[i] = net_redex_read_u64 ((const guint8 *) contents + NET_REDEX_IDX_HEADER_SIZE + i * 8);
        if (damage == DAMAGE_SHIFTED)
          {
            for (guint64 i = 0; i + 1 < h.count; i++)
              offsets[i] = offsets[i + 1];
          }
        else if (damage == DAMAGE_FEWER)
          h.count--;
        else
          h.segment_length += 40;
        bytes = net_redex_index_encode (&h, NULL, offsets);
        g_file_set_contents (idx, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
        g_assert_no_error (error);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
check_never_wrong (Fixture *f)
{
  NetRedex *redex = open_redex (f);
  NetRedexFile *file = open_log (f, redex);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  guint n_errors = 0;

  for (guint64 s = 1; s <= f->reference->len; s++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, s, &error);

      if (e != NULL)
        redex_test_assert_event (e, s, net_redex_event_get_payload (f->reference->pdata[s - 1]));
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == NET_ERROR);
          g_clear_error (&error);
          n_errors++;
        }
    }

  all = net_redex_file_read_range (file, 1, f->reference->len + 1, &error);
  if (all != NULL)
    {
      g_assert_cmpuint (all->len, ==, f->reference->len);
      for (guint i = 0; i < all->len; i++)
        redex_test_assert_event (all->pdata[i], i + 1,
                                 net_redex_event_get_payload (f->reference->pdata[i]));
    }
  else
    g_assert_true (error->domain == NET_ERROR);

  g_test_message ("forged index: %u of %u reads failed", n_errors, f->reference->len);
  close_all (redex, file);
}

static void
test_idx_corrupt (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GArray) segs = NULL;
  g_autofree char *pristine = g_build_filename (f->tmp, "pristine", NULL);

  fixture_fill (f, 300);
  segs = redex_test_list_bases (f->log_dir, ".seg");
  g_assert_cmpuint (segs->len, >=, 4);
  redex_test_copy_dir (f->dir, pristine);

  for (Damage d = 0; d < N_DAMAGES; d++)
    {
      g_autofree char *idx = redex_test_segment_path (f->log_dir, g_array_index (segs, guint64, 1), ".idx");

      g_test_message ("index damage %d", d);
      redex_test_rm_rf (f->dir);
      redex_test_copy_dir (pristine, f->dir);
      damage_idx (idx, d);

      if (d == DAMAGE_SHIFTED || d == DAMAGE_FEWER)
        {
          /* Forged with valid checksums: the record headers must still
           * keep a wrong event from being returned. */
          check_never_wrong (f);
          check_never_wrong (f);
        }
      else
        {
          /* Reads are exactly right: the damaged index is rebuilt. */
          reopen_and_check (f);
          reopen_and_check (f);
        }
    }
}

static void
test_bitflip_sealed (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GArray) segs = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autofree char *pristine = g_build_filename (f->tmp, "pristine", NULL);
  g_autofree char *seg = NULL;
  guint64 base, bad;
  guint64 off;

  fixture_fill (f, 200);
  segs = redex_test_list_bases (f->log_dir, ".seg");
  g_assert_cmpuint (segs->len, >=, 3);
  base = g_array_index (segs, guint64, 1);
  seg = redex_test_segment_path (f->log_dir, base, ".seg");
  offsets = redex_test_record_offsets (seg);
  g_assert_cmpuint (offsets->len, >=, 3);
  redex_test_copy_dir (f->dir, pristine);

  for (guint round = 0; round < 24; round++)
    {
      NetRedex *redex;
      NetRedexFile *file;
      guint k = round % 3;
      guint64 start = g_array_index (offsets, guint64, k);
      guint64 end = g_array_index (offsets, guint64, k + 1);

      bad = base + k;
      /* Header bytes in the first rounds, then the payload. */
      off = round < 12 ? start + (guint64) g_test_rand_int_range (0, NET_REDEX_REC_HEADER_SIZE)
                       : (guint64) g_test_rand_int_range (start + NET_REDEX_REC_HEADER_SIZE, end);

      redex_test_rm_rf (f->dir);
      redex_test_copy_dir (pristine, f->dir);
      redex_test_flip_bit (seg, off, g_test_rand_int_range (0, 8));

      for (guint pass = 0; pass < 2; pass++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(NetRedexEvent) event = NULL;
          g_autoptr(GPtrArray) range = NULL;
          g_auto(GStrv) problems = NULL;

          redex = open_redex (f);
          file = open_log (f, redex);
          g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 201);

          event = net_redex_file_read_one (file, bad, &error);
          if (event != NULL)
            g_error ("a flipped bit at offset %" G_GUINT64_FORMAT " of a sealed segment: seq %"
                     G_GUINT64_FORMAT " was returned as valid", off, bad);
          g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
          g_clear_error (&error);

          for (guint64 s = 1; s <= 200; s++)
            {
              g_autoptr(NetRedexEvent) e = NULL;

              if (s == bad)
                continue;
              e = net_redex_file_read_one (file, s, &error);
              g_assert_no_error (error);
              redex_test_assert_event (e, s, net_redex_event_get_payload (f->reference->pdata[s - 1]));
            }

          range = net_redex_file_read_range (file, bad - 1, bad + 2, &error);
          g_assert_null (range);
          g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
          g_clear_error (&error);

          problems = net_redex_file_verify (file, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (g_strv_length (problems), >, 0);

          close_all (redex, file);
        }
    }
}

static void
test_large_event (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = redex_test_payload (1, 3 * SEG_SIZE + 5);
  g_autoptr(GBytes) small = redex_test_payload (2, 20);
  NetRedex *redex = open_redex (f);
  NetRedexFile *file = open_log (f, redex);

  g_assert_cmpuint (net_redex_file_append (file, small, &error), ==, 1);
  g_assert_cmpuint (net_redex_file_append (file, big, &error), ==, 2);
  g_assert_cmpuint (net_redex_file_append (file, small, &error), ==, 3);
  g_assert_cmpuint (net_redex_file_append (file, big, &error), ==, 4);
  g_assert_no_error (error);
  close_all (redex, file);

  redex = open_redex (f);
  file = open_log (f, redex);
  for (guint64 s = 1; s <= 4; s++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, s, &error);

      g_assert_no_error (error);
      redex_test_assert_event (e, s, s % 2 ? small : big);
    }
  close_all (redex, file);
}

/* A crash right after sealing a segment, while creating the next one:
 * the new segment file is empty or has half a header. */
static void
test_partial_new_segment (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *pristine = g_build_filename (f->tmp, "pristine", NULL);
  guint sizes[] = { 0, 10, NET_REDEX_SEG_HEADER_SIZE - 1 };

  fixture_fill (f, 120);
  redex_test_copy_dir (f->dir, pristine);

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *seg = NULL;
      guint8 header[NET_REDEX_SEG_HEADER_SIZE];
      g_autoptr(GError) error = NULL;

      redex_test_rm_rf (f->dir);
      redex_test_copy_dir (pristine, f->dir);

      seg = redex_test_segment_path (f->log_dir, 121, ".seg");
      net_redex_segment_header_encode (header, 121);
      g_file_set_contents (seg, (const char *) header, sizes[i], &error);
      g_assert_no_error (error);

      reopen_and_check (f);

      /* And appends go on at 121. */
      {
        NetRedex *redex = open_redex (f);
        NetRedexFile *file = open_log (f, redex);
        g_autoptr(GBytes) p = redex_test_payload (121, 60);
        g_autoptr(NetRedexEvent) e = NULL;

        g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, 121);
        g_assert_no_error (error);
        close_all (redex, file);

        redex = open_redex (f);
        file = open_log (f, redex);
        e = net_redex_file_read_one (file, 121, &error);
        g_assert_no_error (error);
        redex_test_assert_event (e, 121, p);
        g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 122);
        close_all (redex, file);
      }
    }
}

/* The writer preallocates its active segment (where the file system can):
 * the zeros past the data are "not yet written" to a reader and to verify,
 * and a segment that is not being written ends at its data. */
static void
test_preallocated (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *probe = g_build_filename (tmp, "probe", NULL);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *log_dir = NULL;
  g_autofree char *seg1 = NULL;
  g_autoptr(GArray) bases = NULL;
  NetRedex *redex;
  NetRedex *reader;
  NetRedexFile *file;
  NetRedexFile *rfile;
  gboolean can_preallocate;
  int fd;

  fd = open (probe, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  can_preallocate = fallocate (fd, 0, 0, 4096) == 0;
  close (fd);

  net_redex_config_set_segment_size (config, 64 * 1024);
  redex = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "p", config, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 10; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);

  log_dir = redex_test_find_log_dir (tmp, "p");
  seg1 = redex_test_segment_path (log_dir, 1, ".seg");
  g_assert_cmpuint (redex_test_data_end (seg1), ==, NET_REDEX_SEG_HEADER_SIZE + 10 * (NET_REDEX_REC_HEADER_SIZE + 100));
  if (can_preallocate)
    g_assert_cmpint (redex_test_file_size (seg1), ==, 64 * 1024);
  else
    g_test_message ("the file system cannot preallocate");

  /* A reader sees the ten events and no damage, while the writer is open. */
  reader = net_redex_new_read_only (tmp, &error);
  g_assert_no_error (error);
  rfile = net_redex_open_file (reader, "p", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 11);
  {
    g_auto(GStrv) problems = net_redex_file_verify (rfile, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (problems), ==, 0);
  }
  g_object_unref (rfile);
  g_assert_true (net_redex_close (reader, &error));
  g_object_unref (reader);

  /* Rolling leaves the old segment ending at its data. */
  for (guint i = 11; i <= 1000; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);
  bases = redex_test_list_bases (log_dir, ".seg");
  g_assert_cmpuint (bases->len, >, 1);
  g_assert_cmpint (redex_test_file_size (seg1), ==, redex_test_data_end (seg1));
  {
    g_auto(GStrv) problems = net_redex_file_verify (file, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_strv_length (problems), ==, 0);
  }

  /* So does closing, for the active one. */
  g_object_unref (file);
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (redex);
  {
    g_autofree char *last = redex_test_segment_path (log_dir, g_array_index (bases, guint64, bases->len - 1), ".seg");

    g_assert_cmpint (redex_test_file_size (last), ==, redex_test_data_end (last));
  }

  redex = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "p", config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 1001);
  g_object_unref (file);
  g_assert_true (net_redex_close (redex, &error));
  g_object_unref (redex);
  redex_test_rm_rf (tmp);
}

/* A segment's in-memory offsets take 4 bytes each until one is past
 * 4 GiB (a segment holds one batch whole, however large): every offset
 * reads back as it was appended, before and after the array widens, and
 * an index written from either holds the same u64s. */
static void
test_offsets_widen (void)
{
  NetRedexOffsets *o = _net_redex_offsets_new ();
  NetRedexIndexHeader h = { 0 };
  const guint64 big = G_GUINT64_CONSTANT (0x100000000);
  const gsize n = 300000;
  g_autoptr(GBytes) narrow_idx = NULL;
  g_autoptr(GBytes) wide_idx = NULL;
  const guint8 *data;
  gsize len;

  for (gsize i = 0; i < n; i++)
    _net_redex_offsets_append (o, 64 + i * 40);
  g_assert_nonnull (o->narrow);
  h.count = n;
  narrow_idx = net_redex_index_encode (&h, o->narrow, o->wide);

  _net_redex_offsets_append (o, big + 7);
  _net_redex_offsets_append (o, big * 3);
  g_assert_null (o->narrow);
  g_assert_cmpuint (o->len, ==, n + 2);
  for (gsize i = 0; i < n; i++)
    g_assert_cmpuint (_net_redex_offsets_get (o, i), ==, 64 + i * 40);
  g_assert_cmpuint (_net_redex_offsets_get (o, n), ==, big + 7);
  g_assert_cmpuint (_net_redex_offsets_get (o, n + 1), ==, big * 3);

  h.count = n + 2;
  wide_idx = net_redex_index_encode (&h, o->narrow, o->wide);
  data = g_bytes_get_data (wide_idx, &len);
  g_assert_cmpuint (len, ==, NET_REDEX_IDX_HEADER_SIZE + (n + 2) * 8);
  g_assert_cmpuint (net_redex_read_u64 (data + NET_REDEX_IDX_HEADER_SIZE + n * 8), ==, big + 7);
  g_assert_cmpuint (net_redex_read_u64 (data + NET_REDEX_IDX_HEADER_SIZE + (n + 1) * 8), ==, big * 3);
  /* The first n offsets are the same bytes either way. */
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (narrow_idx, NULL) + NET_REDEX_IDX_HEADER_SIZE, n * 8,
                   data + NET_REDEX_IDX_HEADER_SIZE, n * 8);

  _net_redex_offsets_truncate (o, 10);
  _net_redex_offsets_append (o, 5);
  g_assert_cmpuint (o->len, ==, 11);
  g_assert_cmpuint (_net_redex_offsets_get (o, 9), ==, 64 + 9 * 40);
  g_assert_cmpuint (_net_redex_offsets_get (o, 10), ==, 5);
  _net_redex_offsets_free (o);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/redex/segments/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("rolling", test_rolling);
  ADD ("idx-deleted", test_idx_deleted);
  ADD ("idx-corrupt", test_idx_corrupt);
  ADD ("bitflip-sealed", test_bitflip_sealed);
  ADD ("large-event", test_large_event);
  ADD ("partial-new-segment", test_partial_new_segment);
  g_test_add_func ("/redex/segments/preallocated", test_preallocated);
  g_test_add_func ("/redex/segments/offsets-widen", test_offsets_widen);

  return g_test_run ();
}
