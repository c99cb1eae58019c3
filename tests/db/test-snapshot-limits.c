/* test-snapshot-limits.c: a snapshot bundle cannot make its reader
 * allocate what its few compressed bytes claim (a decompression bomb), and
 * an application can raise the limits for genuine large snapshots.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
#include <sys/resource.h>

#include <xxhash.h>
#include <zstd.h>

#include <netdb/netdb.h>

#include "net-db-snapshot-private.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)

static void
put_u32_le (guint8  *out,
            guint32  v)
{
  v = GUINT32_TO_LE (v);
  memcpy (out, &v, 4);
}

static void
put_u64_le (guint8  *out,
            guint64  v)
{
  v = GUINT64_TO_LE (v);
  memcpy (out, &v, 8);
}

/* A well-formed bundle whose body is @body_len zero bytes, compressed by
 * streaming a small buffer so that the test never holds the body. */
static GBytes *
make_zero_bundle (guint64 body_len)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *zeros = g_malloc0 (MIB);
  g_autofree guint8 *chunk = g_malloc (ZSTD_CStreamOutSize ());
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  guint64 left = body_len;
  guint8 header[NET_DB_BUNDLE_HEADER_LEN] = { 0 };
  guint8 trailer[NET_DB_BUNDLE_TRAILER_LEN];
  gsize zlen;

  g_assert_nonnull (cctx);
  g_byte_array_append (out, header, sizeof header);
  ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter (cctx, ZSTD_c_contentSizeFlag, 1);
  g_assert_false (ZSTD_isError (ZSTD_CCtx_setPledgedSrcSize (cctx, body_len)));

  for (;;)
    {
      gsize n = MIN (left, MIB);
      ZSTD_inBuffer in = { zeros, n, 0 };
      ZSTD_EndDirective mode = left == n ? ZSTD_e_end : ZSTD_e_continue;
      gsize remaining;

      do
        {
          ZSTD_outBuffer o = { chunk, ZSTD_CStreamOutSize (), 0 };

          remaining = ZSTD_compressStream2 (cctx, &o, &in, mode);
          g_assert_false (ZSTD_isError (remaining));
          g_byte_array_append (out, chunk, o.pos);
        }
      while (mode == ZSTD_e_end ? remaining != 0 : in.pos < in.size);

      left -= n;
      if (mode == ZSTD_e_end)
        break;
    }
  ZSTD_freeCCtx (cctx);

  zlen = out->len - NET_DB_BUNDLE_HEADER_LEN;
  memcpy (out->data, NET_DB_BUNDLE_MAGIC, NET_DB_BUNDLE_MAGIC_LEN);
  put_u32_le (out->data + 8, NET_DB_BUNDLE_VERSION);
  put_u32_le (out->data + 12, 0);
  put_u64_le (out->data + 16, body_len);
  put_u64_le (out->data + 24, zlen);
  put_u64_le (trailer, XXH3_64bits (out->data, out->len));
  g_byte_array_append (out, trailer, sizeof trailer);

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static glong
max_rss_kib (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return usage.ru_maxrss;
}

/* 1 GiB of zeros in about 33 KB: refused before anything large is
 * allocated.  In a subprocess, so that the high-water mark of the memory
 * is this scenario's alone. */
static void
test_bomb (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) bomb = make_zero_bundle (G_GUINT64_CONSTANT (1) << 30);
      g_autoptr(NetDbBuilder) builder = net_db_builder_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(NetDb) db = NULL;
      glong before;

      g_assert_cmpuint (g_bytes_get_size (bomb), <, 64 * 1024);
      before = max_rss_kib ();

      db = net_db_open_from_snapshot (bomb, NULL, NET_DB_MODELS_TASKS, &error);
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
      g_assert_null (db);
      g_assert_nonnull (strstr (error->message, "net_db_builder_max_snapshot_size"));
      g_clear_error (&error);

      db = net_db_builder_build_from_snapshot (net_db_builder_with_tasks (builder), bomb, &error);
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
      g_assert_null (db);

      g_assert_cmpint (max_rss_kib () - before, <, 64 * 1024);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* With a limit the application chose, the same kind of bundle is read
 * (and then refused only because zeros are no snapshot body); a limit
 * below its size refuses it. */
static void
test_raised_limit (void)
{
  g_autoptr(GBytes) big = make_zero_bundle (80 * MIB);
  g_autoptr(NetDbBuilder) builder = net_db_builder_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = NULL;

  db = net_db_open_from_snapshot (big, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_nonnull (strstr (error->message, "more than this database accepts"));
  g_clear_error (&error);

  net_db_builder_max_snapshot_size (net_db_builder_with_tasks (builder), 128 * MIB);
  db = net_db_builder_build_from_snapshot (builder, big, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_null (strstr (error->message, "more than this database accepts"));
  g_clear_error (&error);

  net_db_builder_max_snapshot_size (builder, 64 * MIB);
  db = net_db_builder_build_from_snapshot (builder, big, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_nonnull (strstr (error->message, "more than this database accepts"));
}

/* A small body is accepted at any ratio, and a real snapshot, however
 * it compresses, still opens. */
static void
test_small_and_real (void)
{
  g_autoptr(GBytes) small = make_zero_bundle (4 * MIB);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = NULL;
  g_autoptr(NetDb) restored = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autofree char *title = g_strnfill (64 * 1024, 'a');

  db = net_db_open_from_snapshot (small, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_null (strstr (error->message, "more than this database accepts"));
  g_clear_error (&error);

  /* 200 identical 64 KiB titles: a body of 12.5 MiB that compresses far
   * better than 1024 : 1. */
  db = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  for (guint64 id = 1; id <= 200; id++)
    g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), id, title, 1, &error), ==, id);
  blob = net_db_snapshot (db, &error);
  g_assert_no_error (error);

  restored = net_db_open_from_snapshot (blob, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (restored), NULL), ==, 200);
  net_db_close (restored, NULL);
  net_db_close (db, NULL);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/db/snapshot/limits/bomb", test_bomb);
  g_test_add_func ("/db/snapshot/limits/raised", test_raised_limit);
  g_test_add_func ("/db/snapshot/limits/small-and-real", test_small_and_real);

  return g_test_run ();
}
