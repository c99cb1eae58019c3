/* redex-test-util.c: helpers shared by the RedEX tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"

char *
redex_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("netdb-redex-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  return dir;
}

void
redex_test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (path == NULL)
    return;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_unlink (path);
      return;
    }

  dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          redex_test_rm_rf (child);
        }
    }
  g_rmdir (path);
}

void
redex_test_copy_dir (const char *src,
                     const char *dst)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (dst, 0700), ==, 0);
  dir = g_dir_open (src, 0, &error);
  g_assert_no_error (error);

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *s = g_build_filename (src, name, NULL);
      g_autofree char *d = g_build_filename (dst, name, NULL);

      if (g_file_test (s, G_FILE_TEST_IS_DIR))
        redex_test_copy_dir (s, d);
      else
        {
          g_autofree char *contents = NULL;
          gsize len = 0;

          g_file_get_contents (s, &contents, &len, &error);
          g_assert_no_error (error);
          g_file_set_contents_full (d, contents, len, G_FILE_SET_CONTENTS_NONE, 0600, &error);
          g_assert_no_error (error);
        }
    }
}

GBytes *
redex_test_payload (guint64 tag,
                    gsize   len)
{
  guint8 *buf;
  guint64 x;

  g_assert_cmpuint (len, >=, 12);
  buf = g_malloc (len);
  net_redex_write_u64 (buf, tag);
  net_redex_write_u32 (buf + 8, (guint32) len);

  /* A cheap PRNG seeded by the tag: every byte depends on (tag, len, i). */
  x = tag * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) + len;
  for (gsize i = 12; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      buf[i] = (guint8) (x >> 24);
    }

  return g_bytes_new_take (buf, len);
}

guint64
redex_test_payload_tag (GBytes *payload)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  g_assert_cmpuint (len, >=, 12);
  return net_redex_read_u64 (data);
}

gboolean
redex_test_payload_is_valid (GBytes *payload)
{
  g_autoptr(GBytes) expected = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  if (len < 12 || net_redex_read_u32 (data + 8) != len)
    return FALSE;
  expected = redex_test_payload (net_redex_read_u64 (data), len);
  return g_bytes_equal (expected, payload);
}

void
redex_test_assert_bytes_equal (GBytes *a,
                               GBytes *b)
{
  gsize la, lb;
  const guint8 *da = g_bytes_get_data (a, &la);
  const guint8 *db = g_bytes_get_data (b, &lb);

  g_assert_cmpmem (da, la, db, lb);
}

void
redex_test_assert_event (NetRedexEvent *event,
                         guint64        seq,
                         GBytes        *payload)
{
  g_assert_nonnull (event);
  g_assert_cmpuint (net_redex_event_get_seq (event), ==, seq);
  redex_test_assert_bytes_equal (net_redex_event_get_payload (event), payload);
}

gboolean
redex_test_wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
set_true_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
redex_test_spin (guint ms)
{
  gboolean done = FALSE;
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, set_true_cb, &done, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  while (!done)
    g_main_context_iteration (g_main_context_get_thread_default (), TRUE);
  g_source_unref (source);
}

typedef struct
{
  gboolean       done;
  NetRedexEvent *event;
  GError        *error;
} NextData;

static void
next_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  NextData *data = user_data;

  data->event = net_redex_tail_next_finish (NET_REDEX_TAIL (object), result, &data->error);
  data->done = TRUE;
}

NetRedexEvent *
redex_test_tail_next (NetRedexTail  *tail,
                      guint          timeout_ms,
                      GError       **error)
{
  NextData data = { 0, };
  GMainContext *context = g_main_context_get_thread_default ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GSource *wake = g_timeout_source_new (5);

  g_source_set_callback (wake, redex_test_wake_cb, NULL, NULL);
  g_source_attach (wake, context);

  net_redex_tail_next_async (tail, NULL, next_cb, &data);
  /* Async results are never delivered synchronously. */
  g_assert_false (data.done);

  while (!data.done)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out after %u ms waiting for the next event of a tail at %" G_GUINT64_FORMAT,
                 timeout_ms, net_redex_tail_get_position (tail));
      g_main_context_iteration (context, TRUE);
    }

  g_source_destroy (wake);
  g_source_unref (wake);

  /* Exactly one of event / error. */
  g_assert_true ((data.event == NULL) != (data.error == NULL));
  if (data.error != NULL)
    g_propagate_error (error, data.error);
  return data.event;
}

void
redex_test_tail_assert_pending (NetRedexTail *tail,
                                guint         ms)
{
  NextData data = { 0, };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GMainContext *context = g_main_context_get_thread_default ();

  net_redex_tail_next_async (tail, cancellable, next_cb, &data);
  redex_test_spin (ms);
  if (data.done)
    {
      if (data.event != NULL)
        g_error ("tail yielded seq %" G_GUINT64_FORMAT " when nothing should be available",
                 net_redex_event_get_seq (data.event));
      g_error ("tail failed when nothing should be available: %s", data.error->message);
    }

  /* Cancel and wait for the cancellation so that no callback can run after
   * this stack frame is gone. */
  g_cancellable_cancel (cancellable);
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    GSource *wake = g_timeout_source_new (5);

    g_source_set_callback (wake, redex_test_wake_cb, NULL, NULL);
    g_source_attach (wake, context);
    while (!data.done)
      {
        if (g_get_monotonic_time () > deadline)
          g_error ("a cancelled net_redex_tail_next_async() never completed");
        g_main_context_iteration (context, TRUE);
      }
    g_source_destroy (wake);
    g_source_unref (wake);
  }

  if (data.event != NULL)
    {
      /* Raced with an arrival: acceptable only if the caller did not expect
       * silence, which it did. */
      g_error ("tail yielded seq %" G_GUINT64_FORMAT " while it should be pending",
               net_redex_event_get_seq (data.event));
    }
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&data.error);
}

char *
redex_test_find_log_dir (const char *db_dir,
                         const char *name)
{
  g_autofree char *logs = g_build_filename (db_dir, "logs", NULL);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *entry;
  char *found = NULL;

  dir = g_dir_open (logs, 0, &error);
  g_assert_no_error (error);

  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *meta_path = g_build_filename (logs, entry, "META", NULL);
      g_autofree char *contents = NULL;
      NetRedexMeta meta = { 0, };
      gsize len;

      if (!g_file_get_contents (meta_path, &contents, &len, NULL))
        continue;
      if (!net_redex_meta_decode ((const guint8 *) contents, len, &meta))
        continue;
      if (g_strcmp0 (meta.name, name) == 0)
        {
          g_assert_null (found);
          found = g_build_filename (logs, entry, NULL);
        }
      g_free (meta.name);
    }

  if (found == NULL)
    g_error ("no log directory with a META for \"%s\" under %s", name, logs);
  return found;
}

static gint
cmp_u64 (gconstpointer a,
         gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

GArray *
redex_test_list_bases (const char *log_dir,
                       const char *suffix)
{
  GArray *bases = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) error = NULL;
  const char *entry;
  gsize suffix_len = strlen (suffix);

  dir = g_dir_open (log_dir, 0, &error);
  g_assert_no_error (error);

  while ((entry = g_dir_read_name (dir)) != NULL)
    {
      guint64 base = 0;

      if (!g_str_has_suffix (entry, suffix))
        continue;
      /* 20 decimal digits then the suffix, exactly. */
      g_assert_cmpuint (strlen (entry), ==, 20 + suffix_len);
      for (guint i = 0; i < 20; i++)
        {
          g_assert_true (g_ascii_isdigit (entry[i]));
          base = base * 10 + (entry[i] - '0');
        }
      g_array_append_val (bases, base);
    }

  g_array_sort (bases, cmp_u64);
  return bases;
}

char *
redex_test_segment_path (const char *log_dir,
                         guint64     base_seq,
                         const char *suffix)
{
  g_autofree char *name = g_strdup_printf ("%020" G_GUINT64_FORMAT "%s", base_seq, suffix);
  return g_build_filename (log_dir, name, NULL);
}

goffset
redex_test_file_size (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    g_error ("cannot stat %s: %s", path, g_strerror (errno));
  return st.st_size;
}

void
redex_test_truncate (const char *path,
                     goffset     size)
{
  if (truncate (path, size) != 0)
    g_error ("cannot truncate %s: %s", path, g_strerror (errno));
}

void
redex_test_flip_bit (const char *path,
                     goffset     offset,
                     guint       bit)
{
  int fd = open (path, O_RDWR | O_CLOEXEC);
  guint8 byte;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &byte, 1, offset), ==, 1);
  byte ^= (guint8) (1u << bit);
  g_assert_cmpint (pwrite (fd, &byte, 1, offset), ==, 1);
  close (fd);
}

void
redex_test_append_raw (const char   *path,
                       const guint8 *data,
                       gsize         len)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  close (fd);
}

static gboolean
redex_test_is_zero (const guint8 *data,
                    gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

/* Where the records of @seg_path end: its size, or where the zeros of a
 * preallocated active segment start. */
guint64
redex_test_data_end (const char *seg_path)
{
  g_autoptr(GArray) offsets = redex_test_record_offsets (seg_path);
  g_autofree char *contents = NULL;
  gsize len = 0;
  guint64 last;

  if (offsets->len == 0)
    return NET_REDEX_SEG_HEADER_SIZE;
  g_assert_true (g_file_get_contents (seg_path, &contents, &len, NULL));
  last = g_array_index (offsets, guint64, offsets->len - 1);
  return last + NET_REDEX_REC_HEADER_SIZE + net_redex_read_u32 ((const guint8 *) contents + last + 4);
}

GArray *
redex_test_record_offsets (const char *seg_path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (guint64));
  gsize len = 0;
  gsize p = NET_REDEX_SEG_HEADER_SIZE;

  g_file_get_contents (seg_path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, NET_REDEX_SEG_HEADER_SIZE);
  g_assert_cmpmem (contents, 8, NET_REDEX_SEG_MAGIC, 8);

  while (p + NET_REDEX_REC_HEADER_SIZE <= len)
    {
      const guint8 *r = (const guint8 *) contents + p;
      guint64 off = p;

      /* The preallocated rest of the active segment. */
      if (redex_test_is_zero (r, len - p))
        {
          len = p;
          break;
        }

      g_assert_true (net_redex_read_u32 (r) == NET_REDEX_REC_MARKER ||
                     net_redex_read_u32 (r) == NET_REDEX_REC_MARKER_MORE);
      g_array_append_val (offsets, off);
      p += NET_REDEX_REC_HEADER_SIZE + net_redex_read_u32 (r + 4);
    }
  g_assert_cmpuint (p, ==, len);

  return offsets;
}

static gint
cmp_strv_entries (gconstpointer a,
                  gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
fingerprint_walk (GString    *out,
                  const char *root,
                  const char *rel)
{
  g_autofree char *path = rel[0] ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  struct stat st;
  const char *entry;

  if (lstat (path, &st) != 0)
    g_error ("cannot stat %s: %s", path, g_strerror (errno));

  g_string_append_printf (out, "%s mode=%o size=%" G_GINT64_FORMAT " mtime=%" G_GINT64_FORMAT ".%09ld",
                          rel[0] ? rel : ".", (guint) st.st_mode, (gint64) st.st_size,
                          (gint64) st.st_mtim.tv_sec, (long) st.st_mtim.tv_nsec);

  if (!S_ISDIR (st.st_mode))
    {
      g_autofree char *contents = NULL;
      g_autofree char *sum = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &contents, &len, NULL))
        g_error ("cannot read %s", path);
      sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
      g_string_append_printf (out, " sha256=%s\n", sum);
      return;
    }
  g_string_append_c (out, '\n');

  dir = g_dir_open (path, 0, NULL);
  g_assert_nonnull (dir);
  while ((entry = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, cmp_strv_entries);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *child = rel[0] ? g_build_filename (rel, names->pdata[i], NULL)
                                      : g_strdup (names->pdata[i]);
      fingerprint_walk (out, root, child);
    }
}

char *
redex_test_dir_fingerprint (const char *dir)
{
  GString *out = g_string_new (NULL);

  fingerprint_walk (out, dir, "");
  return g_string_free (out, FALSE);
}

void
redex_test_allow_warnings (void)
{
  /* g_test_init() makes warnings fatal; a fatal handler cannot help, as the
   * default handler has already printed "Bail out!" by then. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

gint64
redex_test_deadline_usec (guint seconds)
{
  const char *env = g_getenv ("NETDB_TEST_TIME_FACTOR");
  guint64 factor = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 1;

  return (gint64) seconds * (gint64) MAX (factor, 1) * G_USEC_PER_SEC;
}
