/* fuzz-snapshot.c: libFuzzer target for the snapshot bundle reader
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is used two ways:
 *
 *  - as a whole bundle: _net_db_bundle_read(), and when it reads, opened
 *    with net_db_open_from_snapshot() into a database in memory;
 *  - as a bundle's body, sealed with a valid header, zstd frame and
 *    checksum first (so the section decoder and the models' snapshot
 *    decoders see every input, not only those that guess an XXH3 and a
 *    zstd frame), then read and opened the same way.
 *
 * An open succeeds, or fails with NET_ERROR_SNAPSHOT_INVALID or
 * NET_ERROR_SNAPSHOT_MISMATCH; a database that opened answers queries,
 * snapshots again (and that snapshot opens) and closes.  Nothing may
 * crash, hang, leak, emit a critical, or allocate far beyond its input
 * (the reader's limits; libFuzzer's -rss_limit_mb catches the rest).
 *
 * Built with -DNETDB_FUZZ_SNAPSHOT_CORPUS (and without -fsanitize=fuzzer)
 * the file is instead a program that writes the seed corpus into the
 * directory given as its argument.
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdio.h>

#include "netdb.h"
#include "net-db-snapshot-private.h"

#define BOTH (NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES)

static void
check_open (GBytes *bundle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_open_from_snapshot (bundle, NULL, BOTH, &error);
  g_autoptr(GBytes) again = NULL;
  g_autoptr(NetDb) copy = NULL;

  if (db == NULL)
    {
      g_assert_true (g_error_matches (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID) ||
                     g_error_matches (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH));
      return;
    }

  net_db_tasks_count (net_db_get_tasks (db), NULL);
  net_db_memories_count (net_db_get_memories (db), NULL);
  g_ptr_array_unref (net_db_tasks_find_many (net_db_get_tasks (db), NULL));
  g_ptr_array_unref (net_db_memories_find_many (net_db_get_memories (db), NULL));

  again = net_db_snapshot (db, &error);
  g_assert_no_error (error);
  copy = net_db_open_from_snapshot (again, NULL, BOTH, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (copy), NULL), ==,
                    net_db_tasks_count (net_db_get_tasks (db), NULL));
  g_assert_cmpuint (net_db_memories_count (net_db_get_memories (copy), NULL), ==,
                    net_db_memories_count (net_db_get_memories (db), NULL));
  g_assert_true (net_db_close (copy, NULL));
  g_assert_true (net_db_close (db, NULL));
}

static void
check_bundle (GBytes *bundle)
{
  g_autoptr(GError) error = NULL;
  NetDbBundle *read = _net_db_bundle_read (bundle, &error);

  if (read == NULL)
    {
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
      return;
    }
  _net_db_bundle_free (read);
  check_open (bundle);
}

#ifndef NETDB_FUZZ_SNAPSHOT_CORPUS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (FALSE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) whole = g_bytes_new (data, size);

  check_bundle (whole);

  if (size > 0)
    {
      g_autoptr(GBytes) sealed = _net_db_bundle_seal (data, size, NULL);

      if (sealed != NULL)
        check_bundle (sealed);
    }

  return 0;
}

#else

/* Seeds: the snapshots of a few small databases. */
static void
write_seed (const char *dir,
            const char *name,
            NetDb      *db)
{
  g_autoptr(GBytes) blob = net_db_snapshot (db, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (!g_file_set_contents (path, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), NULL))
    g_error ("cannot write %s", path);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(NetDb) empty = net_db_new (NULL, BOTH, NULL);
  g_autoptr(NetDb) tasks = net_db_new (NULL, NET_DB_MODELS_TASKS, NULL);
  g_autoptr(NetDb) both = net_db_new (NULL, BOTH, NULL);
  const char *tags[] = { "a", "b", NULL };

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s CORPUS-DIR\n", argv[0]);
      return 2;
    }

  write_seed (argv[1], "empty", empty);
  for (guint64 id = 1; id <= 5; id++)
    net_db_tasks_create (net_db_get_tasks (tasks), id, "task", 1700000000000000 + id, NULL);
  net_db_tasks_complete (net_db_get_tasks (tasks), 2, 0, NULL);
  write_seed (argv[1], "tasks", tasks);
  net_db_tasks_create (net_db_get_tasks (both), 1, "one", 0, NULL);
  net_db_memories_store (net_db_get_memories (both), 7, "seven", tags, "fuzz", 0, NULL);
  net_db_memories_pin (net_db_get_memories (both), 7, 0, NULL);
  write_seed (argv[1], "both", both);
  return 0;
}

#endif
