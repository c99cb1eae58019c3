/* fuzz-segment.c: libFuzzer target for the segment reader and recovery
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input becomes the files of one log: the first byte picks which file
 * it is (the active segment, a sealed segment with an index, or META),
 * then the log is opened the way a writer recovers it and read in full,
 * verified, appended to and reopened.  Every path must end in a GError or
 * in a consistent log, never in a crash, a hang or a leak.
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-redex-format-private.h"

static char *root;
/* Small segments (appends roll and preallocate often) and no fsync: an
 * input is a few KiB, and the disk is not what this target tests. */
static NetRedexConfig *config;

static void
write_file (const char   *dir,
            const char   *name,
            const guint8 *data,
            gsize         len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, (const char *) data, len, NULL);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir == NULL)
    {
      g_unlink (path);
      return;
    }
  while ((entry = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);

      remove_tree (child);
    }
  g_rmdir (path);
}

static void
exercise (const char *db)
{
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("after", 5);
  g_auto(GStrv) problems = NULL;
  guint64 first, next, seq;

  redex = net_redex_new (db, NULL);
  if (redex == NULL)
    return;
  file = net_redex_open_file (redex, "fuzz", config, NULL);
  if (file == NULL)
    return;

  first = net_redex_file_get_first_seq (file);
  next = net_redex_file_get_next_seq (file);
  g_assert (first <= next);

  events = net_redex_file_read_range (file, 0, G_MAXUINT64, NULL);
  if (events != NULL)
    for (guint i = 0; i < events->len; i++)
      g_assert (net_redex_event_get_seq (g_ptr_array_index (events, i)) == first + i);

  for (guint64 s = first; s < next && s < first + 64; s++)
    {
      g_autoptr(NetRedexEvent) ev = net_redex_file_read_one (file, s, NULL);

      if (ev != NULL)
        g_assert (net_redex_event_get_seq (ev) == s);
    }

  problems = net_redex_file_verify (file, NULL);

  seq = net_redex_file_append (file, payload, NULL);
  if (seq != 0)
    {
      g_autoptr(NetRedexEvent) ev = NULL;

      g_assert (seq == next);
      net_redex_file_close (file, NULL);
      g_clear_object (&file);
      net_redex_close (redex, NULL);
      g_clear_object (&redex);

      /* Whatever recovery kept, the event appended after it survives. */
      redex = net_redex_new (db, NULL);
      g_assert (redex != NULL);
      file = net_redex_open_file (redex, "fuzz", config, NULL);
      g_assert (file != NULL);
      g_assert (net_redex_file_get_next_seq (file) == seq + 1);
      ev = net_redex_file_read_one (file, seq, NULL);
      g_assert (ev != NULL);
      g_assert (g_bytes_equal (net_redex_event_get_payload (ev), payload));
    }
}

/* Damaged input makes netdb warn; only criticals matter here (fatal). */
static GLogWriterOutput
quiet_writer (GLogLevelFlags   log_level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_default (log_level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (FALSE);
  g_log_set_writer_func (quiet_writer, NULL, NULL);
  root = g_dir_make_tmp ("netdb-fuzz-XXXXXX", NULL);
  config = net_redex_config_new ();
  net_redex_config_set_segment_size (config, 64 * 1024);
  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_NEVER, 0);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *db = NULL;
  g_autofree char *dir = NULL;
  NetRedexMeta meta = { 0 };
  guint64 base;

  if (size < 1)
    return 0;

  if (root == NULL)
    LLVMFuzzerInitialize (NULL, NULL);

  /* The pure decoders first: they see the raw bytes. */
  if (net_redex_meta_decode (data + 1, size - 1, &meta))
    g_free (meta.name);
  {
    NetRedexIndexHeader header;

    if (net_redex_index_header_decode (data + 1, size - 1, &header))
      net_redex_index_offsets_valid (&header, data + 1 + MIN (size - 1, NET_REDEX_IDX_HEADER_SIZE),
                                     size - 1 - MIN (size - 1, NET_REDEX_IDX_HEADER_SIZE));
  }

  db = g_build_filename (root, "db", NULL);
  dir = g_build_filename (db, "logs", "fuzz", NULL);
  g_mkdir_with_parents (dir, 0700);

  /* Base seq from the input when it carries a segment header. */
  if (!net_redex_segment_header_decode (data + 1, size - 1, &base))
    base = 1;
  base = MIN (base, G_MAXUINT64 / 2);

  switch (data[0] % 3)
    {
    case 0: /* the active segment */
      {
        g_autofree char *name = net_redex_segment_file_name (base, ".seg");

        write_file (dir, name, data + 1, size - 1);
      }
      break;

    case 1: /* a sealed segment and its index; bytes 1-2 give the split */
      {
        gsize split = size > 3 ? MIN ((gsize) (data[1] | data[2] << 8), size - 3) : 0;
        g_autofree char *seg = net_redex_segment_file_name (base, ".seg");
        g_autofree char *idx = net_redex_segment_file_name (base, ".idx");
        g_autofree char *next = net_redex_segment_file_name (base + (size > 3 ? 1 + data[3] % 8 : 1), ".seg");
        guint8 header[NET_REDEX_SEG_HEADER_SIZE];

        write_file (dir, seg, data + MIN (size, 3), split);
        write_file (dir, idx, data + MIN (size, 3) + split, size - MIN (size, 3) - split);
        net_redex_segment_header_encode (header, base + (size > 3 ? 1 + data[3] % 8 : 1));
        write_file (dir, next, header, sizeof header);
      }
      break;

    default: /* META next to a valid empty segment */
      {
        g_autofree char *name = net_redex_segment_file_name (1, ".seg");
        guint8 header[NET_REDEX_SEG_HEADER_SIZE];

        net_redex_segment_header_encode (header, 1);
        write_file (dir, name, header, sizeof header);
        write_file (dir, "META", data + 1, size - 1);
      }
      break;
    }

  exercise (db);
  remove_tree (db);

  return 0;
}
