/* test-fixtures.c: a database and a snapshot written by an earlier release
 * still open and read the same
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * tests/db/fixtures/v1/ was written by this file's --generate mode with the
 * code of 2026-12-07 (before the models moved onto one engine, issue 15):
 *
 *   db/           a database directory: a checkpoint, then more events in
 *                 both logs after it (an open reads the checkpoint and
 *                 replays the tail)
 *   snapshot.bin  net_db_snapshot() of the same state
 *   tasks.snap, memories.snap
 *                 net_db_tasks_snapshot() and net_db_memories_snapshot() of
 *                 it: the models' own format, which must not change by a
 *                 byte (the blob above is not stable: it holds the origin
 *                 of the db that wrote it)
 *   expected.txt  dump_db() of that state
 *
 * Every way of opening them (read-write, read-only, replaying the whole log
 * without the checkpoint, from the snapshot) must give expected.txt again,
 * byte for byte.  Regenerate only when the formats change on purpose:
 *
 *   _build/NAME/tests/db/test-fixtures --generate tests/db/fixtures/v1
 */

#include "config.h"

#include <glib/gstdio.h>
#include <netdb/netdb.h>

#ifndef NETDB_FIXTURES_DIR
# error "NETDB_FIXTURES_DIR must name tests/db/fixtures"
#endif

#define BOTH (NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES)

static void
dump_tasks (GString    *out,
            NetDbTasks *tasks)
{
  g_autoptr(GPtrArray) all = net_db_tasks_find_many (tasks, NULL);
  g_autoptr(NetTasksFilter) pending = g_object_new (NET_TYPE_TASKS_FILTER,
                                                    "status", NET_TASK_STATUS_PENDING,
                                                    "order-by", NET_ORDER_BY_UPDATED_DESC,
                                                    "limit", 5, NULL);
  g_autoptr(NetTasksFilter) search = g_object_new (NET_TYPE_TASKS_FILTER,
                                                   "title-contains", "ÜNÏ", NULL);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) found = NULL;

  g_string_append_printf (out, "tasks applied-seq %" G_GUINT64_FORMAT " fold-errors %" G_GUINT64_FORMAT "\n",
                          net_db_tasks_get_applied_seq (tasks), net_db_tasks_get_fold_errors (tasks));
  for (guint i = 0; i < all->len; i++)
    {
      NetTask *t = g_ptr_array_index (all, i);

      g_string_append_printf (out, "task %" G_GUINT64_FORMAT " %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %s\n",
                              net_task_get_id (t),
                              net_task_get_status (t) == NET_TASK_STATUS_PENDING ? "pending" : "completed",
                              net_task_get_created_at (t), net_task_get_updated_at (t),
                              net_task_get_title (t));
    }

  g_string_append_printf (out, "tasks pending %u\n", net_db_tasks_count (tasks, pending));
  first = net_db_tasks_find_many (tasks, pending);
  g_string_append (out, "tasks pending by updated desc, 5:");
  for (guint i = 0; i < first->len; i++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, net_task_get_id (g_ptr_array_index (first, i)));
  g_string_append (out, "\n");
  found = net_db_tasks_find_many (tasks, search);
  g_string_append (out, "tasks titled ÜNÏ:");
  for (guint i = 0; i < found->len; i++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, net_task_get_id (g_ptr_array_index (found, i)));
  g_string_append (out, "\n");
}

static void
dump_memories (GString       *out,
               NetDbMemories *memories)
{
  g_autoptr(GPtrArray) all = net_db_memories_find_many (memories, NULL);
  g_autoptr(NetMemoriesFilter) work = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "work", NULL);
  g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  g_autoptr(NetMemoriesFilter) alice = g_object_new (NET_TYPE_MEMORIES_FILTER,
                                                     "source", "alice",
                                                     "order-by", NET_ORDER_BY_CREATED_DESC,
                                                     "limit", 4, NULL);
  g_autoptr(GPtrArray) found = NULL;

  g_string_append_printf (out, "memories applied-seq %" G_GUINT64_FORMAT " fold-errors %" G_GUINT64_FORMAT "\n",
                          net_db_memories_get_applied_seq (memories),
                          net_db_memories_get_fold_errors (memories));
  for (guint i = 0; i < all->len; i++)
    {
      NetMemory *m = g_ptr_array_index (all, i);
      g_autofree char *tags = g_strjoinv ("|", (char **) net_memory_get_tags (m));

      g_string_append_printf (out, "memory %" G_GUINT64_FORMAT " %s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                              " [%s] <%s> %s\n",
                              net_memory_get_id (m), net_memory_get_pinned (m) ? "pinned" : "unpinned",
                              net_memory_get_created_at (m), net_memory_get_updated_at (m),
                              tags, net_memory_get_source (m) ? net_memory_get_source (m) : "(none)",
                              net_memory_get_content (m));
    }

  g_string_append_printf (out, "memories tagged work %u, pinned %u\n",
                          net_db_memories_count (memories, work), net_db_memories_count (memories, pinned));
  found = net_db_memories_find_many (memories, alice);
  g_string_append (out, "memories from alice by created desc, 4:");
  for (guint i = 0; i < found->len; i++)
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, net_memory_get_id (g_ptr_array_index (found, i)));
  g_string_append (out, "\n");
}

static char *
dump_db (NetDb *db)
{
  GString *out = g_string_new (NULL);

  dump_tasks (out, net_db_get_tasks (db));
  dump_memories (out, net_db_get_memories (db));
  return g_string_free (out, FALSE);
}

/* Generating ------------------------------------------------------------------ */

static void
write_events (NetDb *db,
              guint  round)
{
  NetDbTasks *tasks = net_db_get_tasks (db);
  NetDbMemories *memories = net_db_get_memories (db);
  guint base = round * 100;
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= 40; i++)
    {
      g_autofree char *title = i % 3 == 0 ? g_strdup_printf ("task %u ünïcode", base + i)
                                          : g_strdup_printf ("task %u", base + i);

      g_assert_cmpuint (net_db_tasks_create (tasks, base + i, title, 1000 * (base + i), &error), >, 0);
    }
  for (guint i = 1; i <= 40; i += 4)
    g_assert_cmpuint (net_db_tasks_complete (tasks, base + i, 100000 + base + i, &error), >, 0);
  for (guint i = 2; i <= 40; i += 7)
    {
      g_autofree char *title = g_strdup_printf ("renamed %u", base + i);

      g_assert_cmpuint (net_db_tasks_rename (tasks, base + i, title, 200000 + base + i, &error), >, 0);
    }
  g_assert_cmpuint (net_db_tasks_delete (tasks, base + 5, &error), >, 0);
  /* Replaced: pending again, created reset. */
  g_assert_cmpuint (net_db_tasks_create (tasks, base + 9, "replaced", 300000 + base, &error), >, 0);

  for (guint i = 1; i <= 30; i++)
    {
      const char *odd[] = { "work", "Home", NULL };
      const char *even[] = { "idea", NULL };
      g_autofree char *content = g_strdup_printf ("memory %u Ça", base + i);

      g_assert_cmpuint (net_db_memories_store (memories, base + i, content, i % 2 ? odd : even,
                                               i % 3 ? "alice" : NULL, 3000 * (base + i), &error), >, 0);
    }
  {
    const char *xy[] = { "x", "y", NULL };

    g_assert_cmpuint (net_db_memories_pin (memories, base + 3, 400000 + base, &error), >, 0);
    g_assert_cmpuint (net_db_memories_pin (memories, base + 4, 400001 + base, &error), >, 0);
    g_assert_cmpuint (net_db_memories_unpin (memories, base + 3, 400002 + base, &error), >, 0);
    g_assert_cmpuint (net_db_memories_retag (memories, base + 7, xy, 400003 + base, &error), >, 0);
    g_assert_cmpuint (net_db_memories_delete (memories, base + 9, &error), >, 0);
    /* A store of an existing id keeps pinned and created-at. */
    g_assert_cmpuint (net_db_memories_store (memories, base + 4, "stored again", NULL, "bob",
                                             500000 + base, &error), >, 0);
  }
  g_assert_no_error (error);
}

static int
generate (const char *dir)
{
  g_autofree char *db_dir = g_build_filename (dir, "db", NULL);
  g_autofree char *snap_path = g_build_filename (dir, "snapshot.bin", NULL);
  g_autofree char *expected_path = g_build_filename (dir, "expected.txt", NULL);
  g_autofree char *dump = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetDb) db = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  db = net_db_new (db_dir, BOTH, &error);
  g_assert_no_error (error);

  /* A checkpoint, then more events after it in both logs. */
  write_events (db, 0);
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  write_events (db, 1);

  snap = net_db_snapshot (db, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (snap_path, g_bytes_get_data (snap, NULL), g_bytes_get_size (snap), &error));
  {
    g_autoptr(GBytes) tasks_snap = net_db_tasks_snapshot (net_db_get_tasks (db), &error);
    g_autoptr(GBytes) memories_snap = net_db_memories_snapshot (net_db_get_memories (db), &error);
    g_autofree char *tasks_path = g_build_filename (dir, "tasks.snap", NULL);
    g_autofree char *memories_path = g_build_filename (dir, "memories.snap", NULL);

    g_assert_no_error (error);
    g_assert_true (g_file_set_contents (tasks_path, g_bytes_get_data (tasks_snap, NULL),
                                        g_bytes_get_size (tasks_snap), &error));
    g_assert_true (g_file_set_contents (memories_path, g_bytes_get_data (memories_snap, NULL),
                                        g_bytes_get_size (memories_snap), &error));
  }
  dump = dump_db (db);
  g_assert_true (g_file_set_contents (expected_path, dump, -1, &error));
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);

  /* The lock file is the open's, not the fixture's. */
  {
    g_autofree char *lock = g_build_filename (db_dir, "LOCK", NULL);

    g_remove (lock);
  }
  g_print ("%s", dump);
  return 0;
}

/* Checking -------------------------------------------------------------------- */

static void
copy_tree (const char *from,
           const char *to,
           const char *skip)
{
  g_autoptr(GDir) dir = g_dir_open (from, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  g_assert_cmpint (g_mkdir_with_parents (to, 0700), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *src = g_build_filename (from, name, NULL);
      g_autofree char *dst = g_build_filename (to, name, NULL);

      if (skip != NULL && g_str_equal (name, skip))
        continue;
      if (g_file_test (src, G_FILE_TEST_IS_DIR))
        copy_tree (src, dst, skip);
      else
        {
          g_autofree char *contents = NULL;
          gsize len;

          g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
          g_assert_true (g_file_set_contents_full (dst, contents, len, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
        }
    }
}

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);

        rm_rf (child);
      }
  g_remove (path);
}

/* Removes the temporary directory holding @db_dir. */
static void
remove_copy (const char *db_dir)
{
  g_autofree char *tmp = g_path_get_dirname (db_dir);

  rm_rf (tmp);
}

static char *
fixture_path (const char *name)
{
  return g_build_filename (NETDB_FIXTURES_DIR, "v1", name, NULL);
}

static char *
expected_dump (void)
{
  g_autofree char *path = fixture_path ("expected.txt");
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  return contents;
}

/* A copy of the fixture database (an open writes into its directory). */
static char *
copy_fixture_db (const char *skip)
{
  g_autofree char *src = fixture_path ("db");
  g_autofree char *tmp = g_dir_make_tmp ("netdb-fixture-XXXXXX", NULL);
  char *dst = g_build_filename (tmp, "db", NULL);

  copy_tree (src, dst, skip);
  return dst;
}

static void
assert_reads_expected (NetDb *db)
{
  g_autofree char *expected = expected_dump ();
  g_autofree char *dump = dump_db (db);

  g_assert_cmpstr (dump, ==, expected);
}

static void
test_open (void)
{
  g_autofree char *dir = copy_fixture_db (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_new (dir, BOTH, &error);

  g_assert_no_error (error);
  assert_reads_expected (db);

  /* It goes on from there. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1000, "after", 0, &error), ==,
                    net_db_tasks_get_applied_seq (net_db_get_tasks (db)));
  g_assert_no_error (error);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  remove_copy (dir);
}

static void
test_open_read_only (void)
{
  g_autofree char *dir = copy_fixture_db (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_open_read_only (dir, BOTH, &error);

  g_assert_no_error (error);
  assert_reads_expected (db);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  remove_copy (dir);
}

static void
test_replay_without_checkpoint (void)
{
  g_autofree char *dir = copy_fixture_db ("checkpoints");
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_new (dir, BOTH, &error);

  g_assert_no_error (error);
  assert_reads_expected (db);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  remove_copy (dir);
}

static GBytes *
read_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (contents, len);
}

/* The models write the same snapshot bytes as the code that wrote the
 * fixture, and restore those bytes to the same state. */
static void
test_model_snapshots (void)
{
  g_autofree char *dir = copy_fixture_db (NULL);
  g_autoptr(GBytes) tasks_want = read_fixture ("tasks.snap");
  g_autoptr(GBytes) memories_want = read_fixture ("memories.snap");
  g_autoptr(GBytes) tasks_got = NULL;
  g_autoptr(GBytes) memories_got = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_open_read_only (dir, BOTH, &error);
  g_autoptr(NetDb) fresh = NULL;

  g_assert_no_error (error);
  tasks_got = net_db_tasks_snapshot (net_db_get_tasks (db), &error);
  g_assert_no_error (error);
  memories_got = net_db_memories_snapshot (net_db_get_memories (db), &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (tasks_got, tasks_want));
  g_assert_true (g_bytes_equal (memories_got, memories_want));

  fresh = net_db_new (NULL, BOTH, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_restore (net_db_get_tasks (fresh), tasks_want, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_memories_restore (net_db_get_memories (fresh), memories_want, &error));
  g_assert_no_error (error);
  assert_reads_expected (fresh);

  g_assert_true (net_db_close (db, &error));
  remove_copy (dir);
}

static void
test_snapshot (void)
{
  g_autofree char *path = fixture_path ("snapshot.bin");
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GBytes) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = NULL;
  g_autoptr(NetDb) db2 = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  snap = g_bytes_new_take (g_steal_pointer (&contents), len);
  db = net_db_open_from_snapshot (snap, NULL, BOTH, &error);
  g_assert_no_error (error);
  assert_reads_expected (db);

  /* Its own snapshot reads the same again. */
  again = net_db_snapshot (db, &error);
  g_assert_no_error (error);
  db2 = net_db_open_from_snapshot (again, NULL, BOTH, &error);
  g_assert_no_error (error);
  assert_reads_expected (db2);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 3 && g_str_equal (argv[1], "--generate"))
    return generate (argv[2]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/fixtures/v1/open", test_open);
  g_test_add_func ("/fixtures/v1/open-read-only", test_open_read_only);
  g_test_add_func ("/fixtures/v1/replay-without-checkpoint", test_replay_without_checkpoint);
  g_test_add_func ("/fixtures/v1/snapshot", test_snapshot);
  g_test_add_func ("/fixtures/v1/model-snapshots", test_model_snapshots);

  return g_test_run ();
}
