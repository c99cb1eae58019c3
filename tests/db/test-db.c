/* test-db.c: NetDb, NetDbBuilder, whole-database snapshots and checkpoints
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <xxhash.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-private.h"
#include "net-db-snapshot-private.h"
#include "net-event-meta-private.h"
#include "net-redex-private.h"

/* Helpers ------------------------------------------------------------------- */

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)))
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);

        rm_rf (child);
      }
  g_remove (path);
}

typedef struct
{
  char *dir;   /* a fresh, not yet existing database directory */
  char *root;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->root = g_dir_make_tmp ("netdb-db-XXXXXX", NULL);
  g_assert_nonnull (f->root);
  f->dir = g_build_filename (f->root, "db", NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  rm_rf (f->root);
  g_free (f->root);
  g_free (f->dir);
}

static NetDb *
open_db (const char  *path,
         NetDbModels  models)
{
  g_autoptr(GError) error = NULL;
  NetDb *db = net_db_new (path, models, &error);

  g_assert_no_error (error);
  g_assert_nonnull (db);
  return db;
}

static void
close_db (NetDb *db)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (db);
}

static void
add_tasks (NetDb   *db,
           guint64  first,
           guint    n)
{
  NetDbTasks *tasks = net_db_get_tasks (db);

  for (guint64 id = first; id < first + n; id++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *title = g_strdup_printf ("task-%" G_GUINT64_FORMAT, id);

      g_assert_cmpuint (net_db_tasks_create (tasks, id, title, 1000 + id, &error), >, 0);
      g_assert_no_error (error);
      if (id % 3 == 0)
        {
          net_db_tasks_complete (tasks, id, 5000 + id, &error);
          g_assert_no_error (error);
        }
    }
}

static void
add_memories (NetDb   *db,
              guint64  first,
              guint    n)
{
  NetDbMemories *memories = net_db_get_memories (db);

  for (guint64 id = first; id < first + n; id++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *content = g_strdup_printf ("memory-%" G_GUINT64_FORMAT, id);
      const char *tags[] = { id % 2 ? "alpha" : "beta", "all", NULL };

      net_db_memories_store (memories, id, content, tags, "test", 1000 + id, &error);
      g_assert_no_error (error);
      if (id % 4 == 0)
        {
          net_db_memories_pin (memories, id, 7000 + id, &error);
          g_assert_no_error (error);
        }
    }
}

/* The whole state of a model, as one comparable string. */
static char *
dump_tasks (NetDbTasks *tasks)
{
  g_autoptr(GPtrArray) items = net_db_tasks_find_many (tasks, NULL);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      NetTask *t = g_ptr_array_index (items, i);

      g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                              net_task_get_id (t), net_task_get_title (t),
                              (int) net_task_get_status (t),
                              net_task_get_created_at (t), net_task_get_updated_at (t));
    }
  return g_string_free (s, FALSE);
}

static char *
dump_memories (NetDbMemories *memories)
{
  g_autoptr(GPtrArray) items = net_db_memories_find_many (memories, NULL);
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    {
      NetMemory *m = g_ptr_array_index (items, i);
      g_autofree char *tags = g_strjoinv (",", (char **) net_memory_get_tags (m));

      g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%s:%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                              net_memory_get_id (m), net_memory_get_content (m), tags,
                              net_memory_get_source (m), net_memory_get_pinned (m),
                              net_memory_get_created_at (m), net_memory_get_updated_at (m));
    }
  return g_string_free (s, FALSE);
}

static gboolean
has_task (NetDbTasks *tasks,
          guint64     id)
{
  g_autoptr(NetTask) task = net_db_tasks_get (tasks, id);

  return task != NULL;
}

static GBytes *
snapshot_db (NetDb *db)
{
  g_autoptr(GError) error = NULL;
  GBytes *bytes = net_db_snapshot (db, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  return bytes;
}

static void
assert_snapshot_invalid (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = net_db_open_from_snapshot (bytes, NULL,
                                                   NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES,
                                                   &error);

  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_null (db);
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The checkpoint files of a database directory, oldest first. */
static GPtrArray *
checkpoint_files (const char *dir)
{
  g_autofree char *cdir = g_build_filename (dir, "checkpoints", NULL);
  g_autoptr(GDir) d = g_dir_open (cdir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  if (d != NULL)
    while ((entry = g_dir_read_name (d)))
      g_ptr_array_add (names, g_build_filename (cdir, entry, NULL));
  g_ptr_array_sort (names, compare_paths);
  return names;
}

/* Opening and the models ------------------------------------------------------- */

static void
check_models (NetDb       *db,
              NetDbModels  models)
{
  g_autoptr(NetDbTasks) tasks = NULL;
  g_autoptr(NetDbMemories) memories = NULL;

  g_object_get (db, "tasks", &tasks, "memories", &memories, NULL);
  g_assert_true (tasks == net_db_get_tasks (db));
  g_assert_true (memories == net_db_get_memories (db));
  g_assert_true ((tasks != NULL) == !!(models & NET_DB_MODELS_TASKS));
  g_assert_true ((memories != NULL) == !!(models & NET_DB_MODELS_MEMORIES));
  g_assert_cmpuint (net_db_get_origin (db), !=, 0);
  g_assert_false (net_db_get_read_only (db));
  if (tasks != NULL)
    g_assert_cmpuint (net_db_tasks_get_origin (tasks), ==, net_db_get_origin (db));
  if (memories != NULL)
    g_assert_cmpuint (net_db_memories_get_origin (memories), ==, net_db_get_origin (db));
}

static const NetDbModels all_combinations[] = {
  NET_DB_MODELS_NONE,
  NET_DB_MODELS_TASKS,
  NET_DB_MODELS_MEMORIES,
  NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES,
};

static void
test_models_new (Fixture       *f,
                 gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_combinations); i++)
    {
      g_autofree char *dir = g_strdup_printf ("%s-%u", f->dir, i);
      NetDb *db;

      db = open_db (NULL, all_combinations[i]);
      g_assert_null (net_db_get_path (db));
      check_models (db, all_combinations[i]);
      close_db (db);

      db = open_db (dir, all_combinations[i]);
      g_assert_true (g_path_is_absolute (net_db_get_path (db)));
      check_models (db, all_combinations[i]);
      close_db (db);
    }
}

static void
test_models_builder (Fixture       *f,
                     gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (all_combinations); i++)
    for (guint persistent = 0; persistent < 2; persistent++)
      {
        g_autoptr(NetDbBuilder) builder = net_db_builder_new ();
        g_autoptr(GError) error = NULL;
        g_autofree char *dir = g_strdup_printf ("%s-%u", f->dir, i);
        NetDbModels models = all_combinations[i];
        NetDb *db;

        if (persistent)
          g_assert_true (net_db_builder_persistent_dir (builder, dir) == builder);
        if (models & NET_DB_MODELS_TASKS)
          g_assert_true (net_db_builder_with_tasks (builder) == builder);
        if (models & NET_DB_MODELS_MEMORIES)
          g_assert_true (net_db_builder_with_memories (builder) == builder);
        g_assert_true (net_db_builder_fsync_policy (builder, NET_FSYNC_POLICY_ALWAYS, 0) == builder);

        db = net_db_builder_build (builder, &error);
        g_assert_no_error (error);
        check_models (db, models);
        g_assert_true ((net_db_get_path (db) != NULL) == persistent);
        if (models & NET_DB_MODELS_TASKS)
          add_tasks (db, 1, 3);
        close_db (db);
      }
}

static void
test_origin (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(NetDbBuilder) builder = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir2 = g_strconcat (f->dir, "-2", NULL);
  guint64 origin, other;
  NetDb *db;

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  origin = net_db_get_origin (db);
  g_assert_cmpuint (origin, !=, 0);
  g_object_get (db, "origin", &other, NULL);
  g_assert_cmpuint (other, ==, origin);
  close_db (db);

  /* Remembered, whatever the models. */
  db = open_db (f->dir, NET_DB_MODELS_MEMORIES);
  g_assert_cmpuint (net_db_get_origin (db), ==, origin);
  close_db (db);

  /* A builder's origin overrides it for this session only. */
  builder = net_db_builder_new ();
  net_db_builder_with_tasks (net_db_builder_origin (net_db_builder_persistent_dir (builder, f->dir),
                                                     origin + 1));
  db = net_db_builder_build (builder, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_get_origin (db), ==, origin + 1);
  g_assert_cmpuint (net_db_tasks_get_origin (net_db_get_tasks (db)), ==, origin + 1);
  close_db (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (net_db_get_origin (db), ==, origin);
  close_db (db);

  /* A new directory stores the builder's origin. */
  net_db_builder_persistent_dir (builder, dir2);
  net_db_builder_origin (builder, 4242);
  db = net_db_builder_build (builder, &error);
  g_assert_no_error (error);
  close_db (db);
  db = open_db (dir2, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (net_db_get_origin (db), ==, 4242);
  close_db (db);

  /* In memory: a random one, never 0. */
  db = open_db (NULL, NET_DB_MODELS_NONE);
  g_assert_cmpuint (net_db_get_origin (db), !=, 0);
  close_db (db);
}

static void
test_origin_corrupt (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_build_filename (f->dir, "ORIGIN", NULL);
  NetDb *db;

  close_db (open_db (f->dir, NET_DB_MODELS_TASKS));
  g_assert_true (g_file_set_contents (file, "not a number\n", -1, NULL));

  db = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
  g_assert_null (db);

  /* The failed open released the lock. */
  g_assert_true (g_file_set_contents (file, "77\n", -1, NULL));
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (net_db_get_origin (db), ==, 77);
  close_db (db);
}

static void
test_crud (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tasks_before = NULL;
  g_autofree char *memories_before = NULL;
  g_autofree char *tasks_after = NULL;
  g_autofree char *memories_after = NULL;
  const char *tags[] = { "x", NULL };
  NetDb *db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  NetDbTasks *tasks = net_db_get_tasks (db);
  NetDbMemories *memories = net_db_get_memories (db);
  g_autoptr(NetTask) task = NULL;
  g_autoptr(NetTask) task2 = NULL;
  g_autoptr(NetMemory) memory = NULL;

  net_db_tasks_create (tasks, 1, "one", 10, &error);
  g_assert_no_error (error);
  net_db_tasks_create (tasks, 2, "two", 20, &error);
  g_assert_no_error (error);
  net_db_tasks_rename (tasks, 1, "uno", 30, &error);
  g_assert_no_error (error);
  net_db_tasks_complete (tasks, 2, 40, &error);
  g_assert_no_error (error);
  net_db_tasks_create (tasks, 3, "three", 50, &error);
  g_assert_no_error (error);
  net_db_tasks_delete (tasks, 3, &error);
  g_assert_no_error (error);

  task = net_db_tasks_get (tasks, 1);
  g_assert_nonnull (task);
  g_assert_cmpstr (net_task_get_title (task), ==, "uno");
  task2 = net_db_tasks_get (tasks, 2);
  g_assert_cmpint (net_task_get_status (task2), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_false (has_task (tasks, 3));
  g_assert_cmpuint (net_db_tasks_count (tasks, NULL), ==, 2);

  net_db_memories_store (memories, 9, "nine", tags, "src", 10, &error);
  g_assert_no_error (error);
  net_db_memories_pin (memories, 9, 20, &error);
  g_assert_no_error (error);
  memory = net_db_memories_get (memories, 9);
  g_assert_nonnull (memory);
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_cmpuint (net_db_memories_count (memories, NULL), ==, 1);

  tasks_before = dump_tasks (tasks);
  memories_before = dump_memories (memories);
  close_db (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  tasks_after = dump_tasks (net_db_get_tasks (db));
  memories_after = dump_memories (net_db_get_memories (db));
  g_assert_cmpstr (tasks_after, ==, tasks_before);
  g_assert_cmpstr (memories_after, ==, memories_before);
  close_db (db);
}

static void
test_locked (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  NetDb *db = open_db (f->dir, NET_DB_MODELS_TASKS);
  NetDb *second = net_db_new (f->dir, NET_DB_MODELS_TASKS, &error);

  g_assert_error (error, NET_ERROR, NET_ERROR_LOCKED);
  g_assert_null (second);
  close_db (db);
}

/* Snapshots ---------------------------------------------------------------------- */

static void
test_snapshot_round_trip (Fixture       *f,
                          gconstpointer  data)
{
  const NetDbModels both = NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *tasks_before = NULL;
  g_autofree char *memories_before = NULL;
  guint64 tasks_seq, memories_seq;
  NetDb *db = open_db (NULL, both);
  NetDb *copy;

  add_tasks (db, 1, 40);
  add_memories (db, 1, 30);
  tasks_before = dump_tasks (net_db_get_tasks (db));
  memories_before = dump_memories (net_db_get_memories (db));
  tasks_seq = net_db_tasks_get_applied_seq (net_db_get_tasks (db));
  memories_seq = net_db_memories_get_applied_seq (net_db_get_memories (db));
  bytes = snapshot_db (db);
  close_db (db);

  for (guint persistent = 0; persistent < 2; persistent++)
    {
      g_autofree char *tasks_after = NULL;
      g_autofree char *memories_after = NULL;
      guint64 seq;

      copy = net_db_open_from_snapshot (bytes, persistent ? f->dir : NULL, both, &error);
      g_assert_no_error (error);
      tasks_after = dump_tasks (net_db_get_tasks (copy));
      memories_after = dump_memories (net_db_get_memories (copy));
      g_assert_cmpstr (tasks_after, ==, tasks_before);
      g_assert_cmpstr (memories_after, ==, memories_before);
      g_assert_cmpuint (net_db_tasks_get_applied_seq (net_db_get_tasks (copy)), ==, tasks_seq);
      g_assert_cmpuint (net_db_memories_get_applied_seq (net_db_get_memories (copy)), ==, memories_seq);
      g_assert_cmpuint (_net_db_get_events_folded (copy), ==, 0);

      /* The log continues after the snapshot's seq. */
      seq = net_db_tasks_create (net_db_get_tasks (copy), 1000, "more", 0, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, tasks_seq + 1);
      close_db (copy);
    }

  /* The persistent copy reopens from its own checkpoint and log. */
  copy = open_db (f->dir, both);
  g_assert_true (has_task (net_db_get_tasks (copy), 1000));
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (copy), NULL), ==, 41);
  {
    g_autofree char *memories_after = dump_memories (net_db_get_memories (copy));

    g_assert_cmpstr (memories_after, ==, memories_before);
  }
  close_db (copy);
}

static void
test_snapshot_partial (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) tasks_only = NULL;
  g_autoptr(GBytes) both = NULL;
  g_autofree char *tasks_before = NULL;
  g_autofree char *tasks_after = NULL;
  g_autofree char *memories_before = NULL;
  g_autofree char *memories_after = NULL;
  NetDb *db;

  db = open_db (NULL, NET_DB_MODELS_TASKS);
  add_tasks (db, 1, 10);
  tasks_before = dump_tasks (net_db_get_tasks (db));
  tasks_only = snapshot_db (db);
  close_db (db);

  /* An enabled model absent from the snapshot starts empty. */
  db = net_db_open_from_snapshot (tasks_only, NULL,
                                  NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  tasks_after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (tasks_after, ==, tasks_before);
  g_assert_cmpuint (net_db_memories_count (net_db_get_memories (db), NULL), ==, 0);
  g_assert_cmpuint (net_db_memories_get_applied_seq (net_db_get_memories (db)), ==, 0);
  close_db (db);

  /* A model in the snapshot but not enabled is ignored. */
  db = open_db (NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  add_tasks (db, 1, 5);
  add_memories (db, 1, 5);
  memories_before = dump_memories (net_db_get_memories (db));
  both = snapshot_db (db);
  close_db (db);

  db = net_db_open_from_snapshot (both, NULL, NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  g_assert_null (net_db_get_tasks (db));
  memories_after = dump_memories (net_db_get_memories (db));
  g_assert_cmpstr (memories_after, ==, memories_before);
  close_db (db);

  db = net_db_open_from_snapshot (both, NULL, NET_DB_MODELS_NONE, &error);
  g_assert_no_error (error);
  g_assert_null (net_db_get_tasks (db));
  g_assert_null (net_db_get_memories (db));
  close_db (db);
}

static GBytes *
small_bundle (void)
{
  NetDb *db = open_db (NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  GBytes *bytes;

  add_tasks (db, 1, 2);
  add_memories (db, 1, 1);
  bytes = snapshot_db (db);
  close_db (db);
  return bytes;
}

static void
test_snapshot_invalid (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GBytes) good = small_bundle ();
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) garbage = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (good, &len);
  guint8 random[4096];
  NetDb *db;

  g_assert_cmpuint (len, <, 1024);

  assert_snapshot_invalid (empty);

  for (gsize i = 0; i < sizeof random; i++)
    random[i] = g_test_rand_int_range (0, 256);
  garbage = g_bytes_new (random, sizeof random);
  assert_snapshot_invalid (garbage);

  /* Every truncation. */
  for (gsize n = 0; n < len; n++)
    {
      g_autoptr(GBytes) prefix = g_bytes_new (bytes, n);

      assert_snapshot_invalid (prefix);
    }

  /* Trailing bytes. */
  {
    g_autofree guint8 *longer = g_malloc (len + 1);
    g_autoptr(GBytes) padded = NULL;

    memcpy (longer, bytes, len);
    longer[len] = 0;
    padded = g_bytes_new (longer, len + 1);
    assert_snapshot_invalid (padded);
  }

  /* Every single bit flipped. */
  for (gsize i = 0; i < len * 8; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (bytes, len);
      g_autoptr(GBytes) flipped = NULL;

      copy[i / 8] ^= 1 << (i % 8);
      flipped = g_bytes_new (copy, len);
      assert_snapshot_invalid (flipped);
    }

  /* Garbage behind a valid frame and checksum. */
  for (guint round = 0; round < 64; round++)
    {
      g_autoptr(GBytes) sealed = NULL;
      gsize n = g_test_rand_int_range (1, 200);

      for (gsize i = 0; i < n; i++)
        random[i] = g_test_rand_int_range (0, 256);
      random[0] = NET_CODEC_VERSION;
      sealed = _net_db_bundle_seal (random, n, NULL);
      g_assert_nonnull (sealed);

      db = net_db_open_from_snapshot (sealed, NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
      /* Either rejected, or (rarely) a valid body of unknown fields. */
      if (db == NULL)
        {
          g_assert_true (g_error_matches (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID));
          g_clear_error (&error);
        }
      else
        {
          g_assert_no_error (error);
          close_db (db);
        }
    }

  /* A bad snapshot creates nothing on disk. */
  db = net_db_open_from_snapshot (garbage, f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_null (db);
  g_assert_false (g_file_test (f->dir, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* The good one is fine. */
  db = net_db_open_from_snapshot (good, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 2);
  close_db (db);
}

static void
test_snapshot_version (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GBytes) good = small_bundle ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) newer = NULL;
  g_autofree guint8 *copy = NULL;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (good, &len);
  guint64 checksum;
  NetDb *db;

  /* A newer format version is refused, with its number in the message,
   * even when its checksum is right. */
  copy = g_memdup2 (bytes, len);
  copy[8] = NET_DB_BUNDLE_VERSION + 1;
  checksum = GUINT64_TO_LE (XXH3_64bits (copy, len - 8));
  memcpy (copy + len - 8, &checksum, 8);
  newer = g_bytes_new (copy, len);

  db = net_db_open_from_snapshot (newer, NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
  g_assert_nonnull (strstr (error->message, "version 2"));
  g_assert_null (db);
}

/* A bundle a newer netdb could write: unknown fields at every level and a
 * section of a model this one does not know. */
static void
test_snapshot_unknown_fields (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(GByteArray) section = g_byte_array_new ();
  g_autoptr(GBytes) tasks_snapshot = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tasks_before = NULL;
  g_autofree char *tasks_after = NULL;
  NetEncoder enc, sub;
  gsize tlen;
  const guint8 *tdata;
  NetDb *db;

  db = open_db (NULL, NET_DB_MODELS_TASKS);
  add_tasks (db, 1, 6);
  tasks_before = dump_tasks (net_db_get_tasks (db));
  tasks_snapshot = net_db_tasks_snapshot (net_db_get_tasks (db), &error);
  g_assert_no_error (error);
  close_db (db);
  tdata = g_bytes_get_data (tasks_snapshot, &tlen);

  net_encoder_init (&enc, body);
  net_encoder_put_string (&enc, 40, "a field of the future");
  net_encoder_put_int (&enc, NET_DB_BUNDLE_F_CREATED_AT, 12345);

  net_encoder_init (&sub, section);
  net_encoder_put_uint (&sub, 17, 99);
  net_encoder_put_string (&sub, NET_DB_SECTION_F_NAME, "calendar");
  net_encoder_put_bytes (&sub, NET_DB_SECTION_F_DATA, (const guint8 *) "???", 3);
  net_encoder_put_bytes (&enc, NET_DB_BUNDLE_F_SECTION, section->data, section->len);

  g_byte_array_set_size (section, 0);
  net_encoder_init (&sub, section);
  net_encoder_put_string (&sub, 9, "unknown");
  net_encoder_put_string (&sub, NET_DB_SECTION_F_NAME, "tasks");
  net_encoder_put_int (&sub, 10, -5);
  net_encoder_put_bytes (&sub, NET_DB_SECTION_F_DATA, tdata, tlen);
  net_encoder_put_uint (&sub, NET_DB_SECTION_F_APPLIED_SEQ, 8);
  net_encoder_put_bytes (&enc, NET_DB_BUNDLE_F_SECTION, section->data, section->len);
  net_encoder_put_uint (&enc, 41, 7);

  sealed = _net_db_bundle_seal (body->data, body->len, &error);
  g_assert_no_error (error);

  db = net_db_open_from_snapshot (sealed, NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  tasks_after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (tasks_after, ==, tasks_before);
  g_assert_cmpuint (net_db_memories_count (net_db_get_memories (db), NULL), ==, 0);
  close_db (db);

  /* Two sections of one model are ambiguous. */
  net_encoder_put_bytes (&enc, NET_DB_BUNDLE_F_SECTION, section->data, section->len);
  g_clear_pointer (&sealed, g_bytes_unref);
  sealed = _net_db_bundle_seal (body->data, body->len, &error);
  g_assert_no_error (error);
  assert_snapshot_invalid (sealed);
}

/* Checkpoints ------------------------------------------------------------------------ */

static void
test_checkpoint_replays_only_after (Fixture       *f,
                                    gconstpointer  data)
{
  const guint N = 60, M = 7;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GPtrArray) files = NULL;
  NetDb *db;

  /* Without a checkpoint, a reopen folds the whole log. */
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  _net_db_set_checkpoint_on_close (db, FALSE);
  add_tasks (db, 1, N);  /* N creates + N / 3 completes */
  close_db (db);
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, N + N / 3);
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 0);
  g_clear_pointer (&files, g_ptr_array_unref);

  /* Checkpoint, then M more events that only the log holds. */
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < M; i++)
    {
      net_db_tasks_rename (net_db_get_tasks (db), i + 1, "renamed", 9000 + i, &error);
      g_assert_no_error (error);
    }
  before = dump_tasks (net_db_get_tasks (db));
  _net_db_set_checkpoint_on_close (db, FALSE);
  close_db (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, M);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (net_db_tasks_get_applied_seq (net_db_get_tasks (db)), ==, N + N / 3 + M);

  /* M events behind: folding them beats writing the state, so close
   * keeps the checkpoint and the next open folds the M again. */
  close_db (db);
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, M);

  /* An explicit checkpoint is always written: then nothing to fold. */
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  close_db (db);
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  g_clear_pointer (&after, g_free);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);

  /* The new events continue the log. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 500, "new", 0, &error), ==,
                    N + N / 3 + M + 1);
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  close_db (db);

  /* Only the newest two are kept. */
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2);
}

/* Opened from a snapshot onto a directory, the log only starts after the
 * snapshot: the state is checkpointed at once, so it survives a crash
 * (here: a close that writes nothing). */
static void
test_checkpoint_after_snapshot_open (Fixture       *f,
                                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  NetDb *db;

  db = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  add_tasks (db, 1, 12);
  snap = net_db_snapshot (db, &error);
  g_assert_no_error (error);
  before = dump_tasks (net_db_get_tasks (db));
  close_db (db);

  db = net_db_open_from_snapshot (snap, f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 1);
  _net_db_set_checkpoint_on_close (db, FALSE);
  close_db (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);
  close_db (db);
}

static void
test_checkpoint_unchanged (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *newest = NULL;
  NetDb *db;

  db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  add_tasks (db, 1, 5);
  add_memories (db, 1, 5);
  close_db (db);

  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 1);
  newest = g_strdup ((const char *) g_ptr_array_index (files, 0));
  g_clear_pointer (&files, g_ptr_array_unref);

  /* Reopening and closing without a change writes nothing new. */
  db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  close_db (db);

  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 1);
  g_assert_cmpstr ((const char *) g_ptr_array_index (files, 0), ==, newest);
}

/* A db opened with fewer models keeps the others' checkpoints valid. */
static void
test_checkpoint_carries_other_models (Fixture       *f,
                                      gconstpointer  data)
{
  g_autofree char *memories_before = NULL;
  g_autofree char *memories_after = NULL;
  NetDb *db;

  db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  add_tasks (db, 1, 10);
  add_memories (db, 1, 10);
  memories_before = dump_memories (net_db_get_memories (db));
  close_db (db);

  /* A checkpoint written by a tasks-only session keeps the memories. */
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  add_tasks (db, 11, 3);
  g_assert_true (net_db_checkpoint (db, NULL));
  close_db (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  memories_after = dump_memories (net_db_get_memories (db));
  g_assert_cmpstr (memories_after, ==, memories_before);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 13);
  close_db (db);
}

static void
corrupt_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 64);
  contents[len / 2] ^= 0x20;
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
}

static void
truncate_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 64);
  g_assert_true (g_file_set_contents (path, contents, len - 9, NULL));
}

static void
test_checkpoint_corrupt_newest (Fixture       *f,
                                gconstpointer  data)
{
  const guint N = 30, M = 5;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  NetDb *db;

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  add_tasks (db, 1, N);
  g_assert_true (net_db_checkpoint (db, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < M; i++)
    {
      net_db_tasks_delete (net_db_get_tasks (db), i + 1, &error);
      g_assert_no_error (error);
    }
  before = dump_tasks (net_db_get_tasks (db));
  g_assert_true (net_db_checkpoint (db, &error));   /* the second, newest one */
  g_assert_no_error (error);
  close_db (db);

  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2);
  corrupt_file ((const char *) g_ptr_array_index (files, 1));

  /* The older checkpoint, then the M events after it. */
  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*skipping checkpoint*checksum mismatch*");
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, M);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);
  close_db (db);  /* not from the newest: writes one, which replaces it */

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  close_db (db);

  /* Both damaged (and a stray temporary file): a full replay. */
  g_clear_pointer (&files, g_ptr_array_unref);
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2);
  truncate_file ((const char *) g_ptr_array_index (files, 0));
  truncate_file ((const char *) g_ptr_array_index (files, 1));
  {
    g_autofree char *tmp = g_strconcat ((const char *) g_ptr_array_index (files, 1), ".tmp", NULL);

    g_assert_true (g_file_set_contents (tmp, "half", -1, NULL));
  }

  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*skipping checkpoint*");
  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*skipping checkpoint*");
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, N + N / 3 + M);
  g_clear_pointer (&after, g_free);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);
  close_db (db);

  g_clear_pointer (&files, g_ptr_array_unref);
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 2);
  for (guint i = 0; i < files->len; i++)
    g_assert_false (g_str_has_suffix ((const char *) g_ptr_array_index (files, i), ".tmp"));
}

/* A checkpoint ahead of its log (the log was replaced or lost behind the
 * database's back) is not used: the log is replayed instead. */
static void
test_checkpoint_beyond_log (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *other = g_strconcat (f->dir, "-other", NULL);
  g_autofree char *ckpt_dir = g_build_filename (other, "checkpoints", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GPtrArray) files = NULL;
  NetDb *db;

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  add_tasks (db, 1, 40);
  close_db (db);
  files = checkpoint_files (f->dir);
  g_assert_cmpuint (files->len, ==, 1);

  db = open_db (other, NET_DB_MODELS_TASKS);
  _net_db_set_checkpoint_on_close (db, FALSE);
  add_tasks (db, 100, 2);
  before = dump_tasks (net_db_get_tasks (db));
  close_db (db);

  /* Graft the first db's checkpoint (seq 53) onto a log of 2 events. */
  {
    g_autofree char *contents = NULL;
    g_autofree char *target = g_build_filename (ckpt_dir, "00000000000000000001.ckpt", NULL);
    gsize len;

    g_assert_true (g_file_get_contents ((const char *) g_ptr_array_index (files, 0), &contents, &len, NULL));
    g_assert_cmpint (g_mkdir_with_parents (ckpt_dir, 0700), ==, 0);
    g_assert_true (g_file_set_contents (target, contents, len, NULL));
  }

  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*does not fit the tasks log*");
  db = open_db (other, NET_DB_MODELS_TASKS);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 2);
  after = dump_tasks (net_db_get_tasks (db));
  g_assert_cmpstr (after, ==, before);
  close_db (db);

  /* Its own checkpoint replaced it. */
  db = open_db (other, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  close_db (db);

  rm_rf (other);
}

/* Close, read-only ------------------------------------------------------------------- */

/* net_db_sync() makes every logged event durable, whatever the fsync
 * policy (NEVER, the default, here). */
static void
test_sync (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) reader = NULL;
  g_autoptr(NetDb) memory = NULL;
  const char *tags[] = { "t", NULL };
  NetDb *db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);

  add_tasks (db, 1, 30);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (db), 1, "m", tags, NULL, 0, &error), >, 0);
  g_assert_no_error (error);

  g_assert_true (net_db_sync (db, &error));
  g_assert_no_error (error);
  for (NetDbLog log = 0; log < NET_DB_N_LOGS; log++)
    {
      NetRedexFile *file = _net_db_get_log (db, log);

      g_assert_cmpuint (net_redex_file_get_next_seq (file), >, 1);
      g_assert_cmpuint (net_redex_file_get_durable_seq (file), ==,
                        net_redex_file_get_next_seq (file) - 1);
    }

  /* Nothing to make durable: in memory, read-only, closed. */
  memory = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  add_tasks (memory, 1, 3);
  g_assert_true (net_db_sync (memory, &error));
  g_assert_no_error (error);
  reader = net_db_open_read_only (f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_sync (reader, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_close (db, &error));
  g_assert_true (net_db_sync (db, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (db);
}

static void
test_close (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *tags[] = { NULL };
  NetDb *db = open_db (f->dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  NetDbTasks *tasks = net_db_get_tasks (db);
  NetDbMemories *memories = net_db_get_memories (db);

  add_tasks (db, 1, 3);
  add_memories (db, 1, 2);

  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (net_db_tasks_create (tasks, 10, "late", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (memories, 10, "late", tags, "", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (net_db_checkpoint (db, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  /* Queries and snapshots answer from the last state. */
  g_assert_cmpuint (net_db_tasks_count (tasks, NULL), ==, 3);
  {
    g_autoptr(NetMemory) memory = net_db_memories_get (memories, 2);

    g_assert_nonnull (memory);
  }
  bytes = snapshot_db (db);

  /* The lock is released. */
  {
    NetDb *again = open_db (f->dir, NET_DB_MODELS_TASKS);

    g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (again), NULL), ==, 3);
    close_db (again);
  }

  g_assert_finalize_object (db);
}

/* Dropping the last reference closes (and checkpoints) too. */
static void
test_unref_closes (Fixture       *f,
                   gconstpointer  data)
{
  NetDb *db = open_db (f->dir, NET_DB_MODELS_TASKS);

  add_tasks (db, 1, 800);   /* 1066 events: worth a checkpoint */
  g_assert_finalize_object (db);

  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 0);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 800);

  /* A few more events are cheaper to fold on the next open than a whole
   * checkpoint is to write: closing skips it. */
  add_tasks (db, 1000, 2);
  close_db (db);
  db = open_db (f->dir, NET_DB_MODELS_TASKS);
  g_assert_cmpuint (_net_db_get_events_folded (db), ==, 2);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (db), NULL), ==, 802);
  close_db (db);
}

static void
test_read_only (Fixture       *f,
                gconstpointer  data)
{
  const NetDbModels both = NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDbBuilder) builder = NULL;
  g_autofree char *writer_dump = NULL;
  g_autofree char *reader_dump = NULL;
  const char *tags[] = { NULL };
  NetDb *writer, *reader;
  gboolean read_only;
  guint64 seq;

  reader = net_db_open_read_only (f->dir, both, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_assert_null (reader);
  g_clear_error (&error);

  writer = open_db (f->dir, both);
  add_tasks (writer, 1, 10);
  add_memories (writer, 1, 3);
  net_db_checkpoint (writer, &error);
  g_assert_no_error (error);
  add_tasks (writer, 11, 2);

  reader = net_db_open_read_only (f->dir, both, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_get_read_only (reader));
  g_object_get (reader, "read-only", &read_only, NULL);
  g_assert_true (read_only);
  g_assert_cmpuint (net_db_get_origin (reader), ==, net_db_get_origin (writer));
  writer_dump = dump_tasks (net_db_get_tasks (writer));
  reader_dump = dump_tasks (net_db_get_tasks (reader));
  g_assert_cmpstr (reader_dump, ==, writer_dump);
  g_assert_cmpuint (net_db_memories_count (net_db_get_memories (reader), NULL), ==, 3);

  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (reader), 99, "no", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (reader), 99, "no", tags, "", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_false (net_db_checkpoint (reader, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);

  /* It follows the writer. */
  seq = net_db_tasks_create (net_db_get_tasks (writer), 50, "fifty", 0, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_wait_for_seq (net_db_get_tasks (reader), seq, 10000, &error));
  g_assert_no_error (error);
  g_assert_true (has_task (net_db_get_tasks (reader), 50));

  close_db (reader);
  close_db (writer);

  /* The builder needs a directory for a read-only database. */
  builder = net_db_builder_new ();
  net_db_builder_read_only (net_db_builder_with_tasks (builder));
  reader = net_db_builder_build (builder, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_null (reader);
  g_clear_error (&error);

  net_db_builder_persistent_dir (builder, f->dir);
  reader = net_db_builder_build (builder, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_get_read_only (reader));
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (reader), NULL), ==, 13);
  close_db (reader);
}

/* A db restored from a snapshot onto an empty log, with nothing logged
 * since: a read-only open loads its checkpoint (the log needs no restart)
 * instead of showing an empty state. */
static void
test_read_only_after_restore (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  NetDb *db, *reader;

  db = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  add_tasks (db, 1, 9);
  snap = net_db_snapshot (db, &error);
  g_assert_no_error (error);
  before = dump_tasks (net_db_get_tasks (db));
  close_db (db);

  db = net_db_open_from_snapshot (snap, f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  close_db (db);

  reader = net_db_open_read_only (f->dir, NET_DB_MODELS_TASKS, &error);
  g_assert_no_error (error);
  after = dump_tasks (net_db_get_tasks (reader));
  g_assert_cmpstr (after, ==, before);
  close_db (reader);
}

/* A read-only db following a writer that re-bootstraps ------------------------------ */

static char *
dump_task_list (GListModel *list)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(NetTask) t = g_list_model_get_item (list, i);

      g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                              net_task_get_id (t), net_task_get_title (t),
                              (int) net_task_get_status (t),
                              net_task_get_created_at (t), net_task_get_updated_at (t));
    }
  return g_string_free (s, FALSE);
}

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until @cond holds, failing the test after
 * 20 s instead of hanging. */
#define SPIN_UNTIL(cond)                                                        \
  G_STMT_START {                                                                \
    gint64 _deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;           \
    guint _wake = g_timeout_add (5, wake_cb, NULL);                             \
    while (!(cond))                                                             \
      {                                                                         \
        if (g_get_monotonic_time () > _deadline)                                \
          g_error ("%s:%d: timed out waiting for: %s", __FILE__, __LINE__, #cond); \
        g_main_context_iteration (NULL, TRUE);                                  \
      }                                                                         \
    g_source_remove (_wake);                                                    \
  } G_STMT_END

static void
spin_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  guint wake = g_timeout_add (5, wake_cb, NULL);

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
}

/* The reader shows what the writer holds: queries, the live model and
 * the applied seqs. */
static gboolean
reader_matches (NetDb      *reader,
                NetDb      *writer,
                GListModel *live)
{
  g_autofree char *wt = dump_tasks (net_db_get_tasks (writer));
  g_autofree char *rt = dump_tasks (net_db_get_tasks (reader));
  g_autofree char *wm = dump_memories (net_db_get_memories (writer));
  g_autofree char *rm = dump_memories (net_db_get_memories (reader));
  g_autofree char *lt = dump_task_list (live);

  return g_str_equal (wt, rt) && g_str_equal (wt, lt) && g_str_equal (wm, rm) &&
         net_db_tasks_get_applied_seq (net_db_get_tasks (reader)) ==
           net_db_tasks_get_applied_seq (net_db_get_tasks (writer)) &&
         net_db_memories_get_applied_seq (net_db_get_memories (reader)) ==
           net_db_memories_get_applied_seq (net_db_get_memories (writer));
}

static void
count_changes_cb (GListModel *list,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *changes)
{
  (*changes)++;
}

/* What one model emitted. */
typedef struct
{
  guint    changed;       /* ::changed emissions */
  guint64  first_seq;     /* of the first one */
  guint64  last_seq;      /* of the last one */
  guint    applied;       /* notify::applied-seq */
} Emitted;

static void
record_changed_cb (GObject  *model,
                   guint64   first_seq,
                   guint64   last_seq,
                   Emitted  *e)
{
  if (e->changed++ == 0)
    e->first_seq = first_seq;
  e->last_seq = last_seq;
}

static void
record_applied_cb (GObject    *model,
                   GParamSpec *pspec,
                   Emitted    *e)
{
  e->applied++;
}

/*
 * A read-only db opened on a writer that is then re-bootstrapped from
 * another db's snapshot (a follower whose leader no longer holds the start
 * of its logs): the writer resets the logs past the reader's tail.  The
 * reader restores the state the writer restarted from (its newest
 * checkpoint), live items and models carry on, ::changed reports the
 * events the restored state moved on by (as on the writer), and it goes
 * on following, also when it notices the reset before it can see that
 * checkpoint.
 */
static void
test_read_only_across_rebootstrap (Fixture       *f,
                                   gconstpointer  data)
{
  const NetDbModels both = NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetQueryModel) live = NULL;
  g_autoptr(NetTask) survivor = NULL;
  g_autofree char *hidden = g_build_filename (f->dir, "checkpoints.hidden", NULL);
  g_autofree char *checkpoints = g_build_filename (f->dir, "checkpoints", NULL);
  g_autofree char *before = NULL;
  NetDb *leader, *writer, *reader;
  Emitted emitted = { 0, };
  guint changes = 0;
  guint64 seq, reader_before;

  /* Another history, further on, with task 1 under another title. */
  leader = open_db (NULL, both);
  add_tasks (leader, 1, 40);
  add_memories (leader, 1, 20);
  g_assert_cmpuint (net_db_tasks_rename (net_db_get_tasks (leader), 1, "the leader's", 9999, &error), >, 0);
  g_assert_no_error (error);
  snap = snapshot_db (leader);

  writer = open_db (f->dir, both);
  add_tasks (writer, 1, 10);
  add_memories (writer, 1, 3);
  reader = net_db_open_read_only (f->dir, both, &error);
  g_assert_no_error (error);
  live = net_db_tasks_watch (net_db_get_tasks (reader), NULL);
  g_signal_connect (live, "items-changed", G_CALLBACK (count_changes_cb), &changes);
  survivor = net_db_tasks_get (net_db_get_tasks (reader), 1);
  g_assert_nonnull (survivor);
  g_assert_cmpstr (net_task_get_title (survivor), ==, "task-1");
  SPIN_UNTIL (reader_matches (reader, writer, G_LIST_MODEL (live)));
  before = dump_tasks (net_db_get_tasks (reader));
  reader_before = net_db_tasks_get_applied_seq (net_db_get_tasks (reader));

  /* The reader notices the reset first, with no checkpoint in sight: it
   * keeps what it has and waits. */
  g_assert_true (_net_db_rebootstrap (writer, snap, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_rename (checkpoints, hidden), ==, 0);
  SPIN_UNTIL (_net_redex_file_get_restarts (_net_db_get_log (reader, NET_DB_LOG_TASKS)) > 0 &&
              _net_redex_file_get_restarts (_net_db_get_log (reader, NET_DB_LOG_MEMORIES)) > 0);
  g_assert_cmpuint (net_redex_file_get_first_seq (_net_db_get_log (reader, NET_DB_LOG_TASKS)), ==,
                    net_db_tasks_get_applied_seq (net_db_get_tasks (leader)) + 1);
  spin_for (300);
  {
    g_autofree char *now = dump_tasks (net_db_get_tasks (reader));

    g_assert_cmpstr (now, ==, before);
  }

  /* Then it restores what the writer restarted from. */
  changes = 0;
  g_signal_connect (net_db_get_tasks (reader), "changed", G_CALLBACK (record_changed_cb), &emitted);
  g_assert_cmpint (g_rename (hidden, checkpoints), ==, 0);
  SPIN_UNTIL (reader_matches (reader, writer, G_LIST_MODEL (live)));
  g_assert_cmpuint (changes, >, 0);
  g_assert_cmpuint (emitted.changed, ==, 1);
  g_assert_cmpuint (emitted.first_seq, ==, reader_before + 1);
  g_assert_cmpuint (emitted.last_seq, ==, net_db_tasks_get_applied_seq (net_db_get_tasks (leader)));
  g_signal_handlers_disconnect_by_data (net_db_get_tasks (reader), &emitted);
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (reader), NULL), ==, 40);
  g_assert_cmpuint (net_db_tasks_get_fold_errors (net_db_get_tasks (reader)), ==, 0);
  {
    g_autoptr(NetTask) again = net_db_tasks_get (net_db_get_tasks (reader), 1);

    g_assert_true (again == survivor);
    g_assert_cmpstr (net_task_get_title (survivor), ==, "the leader's");
  }

  /* And follows what the writer logs after it. */
  add_tasks (writer, 100, 5);
  add_memories (writer, 100, 2);
  seq = net_db_tasks_rename (net_db_get_tasks (writer), 1, "renamed again", 10000, &error);
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_wait_for_seq (net_db_get_tasks (reader), seq, 10000, &error));
  g_assert_no_error (error);
  SPIN_UNTIL (reader_matches (reader, writer, G_LIST_MODEL (live)));
  g_assert_cmpstr (net_task_get_title (survivor), ==, "renamed again");
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (reader), NULL), ==, 45);

  /* A second re-bootstrap, with no checkpoint to hide. */
  g_clear_pointer (&snap, g_bytes_unref);
  add_tasks (leader, 200, 30);
  snap = snapshot_db (leader);
  g_assert_true (_net_db_rebootstrap (writer, snap, &error));
  g_assert_no_error (error);
  SPIN_UNTIL (reader_matches (reader, writer, G_LIST_MODEL (live)));
  g_assert_cmpuint (net_db_tasks_count (net_db_get_tasks (reader), NULL), ==, 70);
  add_tasks (writer, 300, 2);
  SPIN_UNTIL (reader_matches (reader, writer, G_LIST_MODEL (live)));

  g_signal_handlers_disconnect_by_func (live, count_changes_cb, &changes);
  g_clear_object (&live);
  g_clear_object (&survivor);
  close_db (reader);
  close_db (writer);
  close_db (leader);
}

/* A follower re-bootstrapped from its leader's snapshot ---------------------------- */

static char *
dump_memory_list (GListModel *list)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (list); i++)
    {
      g_autoptr(NetMemory) m = g_list_model_get_item (list, i);
      g_autofree char *tags = g_strjoinv (",", (char **) net_memory_get_tags (m));

      g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%s:%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ";",
                              net_memory_get_id (m), net_memory_get_content (m), tags,
                              net_memory_get_source (m), net_memory_get_pinned (m),
                              net_memory_get_created_at (m), net_memory_get_updated_at (m));
    }
  return g_string_free (s, FALSE);
}

static char *
dump_task_array (GPtrArray *items)
{
  g_autoptr(GListStore) store = g_list_store_new (NET_TYPE_TASK);

  for (guint i = 0; i < items->len; i++)
    g_list_store_append (store, g_ptr_array_index (items, i));
  return dump_task_list (G_LIST_MODEL (store));
}

static char *
dump_memory_array (GPtrArray *items)
{
  g_autoptr(GListStore) store = g_list_store_new (NET_TYPE_MEMORY);

  for (guint i = 0; i < items->len; i++)
    g_list_store_append (store, g_ptr_array_index (items, i));
  return dump_memory_list (G_LIST_MODEL (store));
}

/*
 * A follower re-bootstrapped from a leader's snapshot (another history,
 * further on): the live items and models follow the replaced state as
 * after a restore, applied-seq is notified, and since this restore comes
 * from the network and not from the application, ::changed reports the
 * events the snapshot moved each model past, from the last delivered one
 * (events folded but not delivered yet are part of it).
 */
static void
test_rebootstrap_notifies (Fixture       *f,
                           gconstpointer  data)
{
  const NetDbModels both = NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetTasksFilter) pending = NULL;
  g_autoptr(NetMemoriesFilter) alpha = NULL;
  GListModel *task_lists[2], *memory_lists[2];
  guint task_changes[2] = { 0, 0 }, memory_changes[2] = { 0, 0 };
  Emitted tasks_emitted = { 0, }, memories_emitted = { 0, };
  NetDbTasks *tasks;
  NetDbMemories *memories;
  guint64 tasks_before, memories_before;
  guint64 tasks_leader, memories_leader;
  NetDb *leader, *db;

  /* The leader's history is another, and further on. */
  leader = open_db (NULL, both);
  add_tasks (leader, 5, 40);
  add_memories (leader, 3, 20);
  snap = snapshot_db (leader);
  tasks_leader = net_db_tasks_get_applied_seq (net_db_get_tasks (leader));
  memories_leader = net_db_memories_get_applied_seq (net_db_get_memories (leader));

  db = open_db (f->dir, both);
  add_tasks (db, 1, 10);
  add_memories (db, 1, 6);
  tasks = net_db_get_tasks (db);
  memories = net_db_get_memories (db);

  pending = g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING,
                          "order-by", NET_ORDER_BY_UPDATED_DESC, "limit", 7, NULL);
  alpha = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "alpha", NULL);
  task_lists[0] = G_LIST_MODEL (net_db_tasks_watch (tasks, NULL));
  task_lists[1] = G_LIST_MODEL (net_db_tasks_watch (tasks, pending));
  memory_lists[0] = G_LIST_MODEL (net_db_memories_watch (memories, NULL));
  memory_lists[1] = G_LIST_MODEL (net_db_memories_watch (memories, alpha));
  for (guint i = 0; i < 2; i++)
    {
      g_signal_connect (task_lists[i], "items-changed", G_CALLBACK (count_changes_cb), &task_changes[i]);
      g_signal_connect (memory_lists[i], "items-changed", G_CALLBACK (count_changes_cb), &memory_changes[i]);
    }
  /* What the mutations above still deliver comes first. */
  tasks_before = net_db_tasks_get_applied_seq (tasks);
  memories_before = net_db_memories_get_applied_seq (memories);
  g_assert_true (net_db_tasks_wait_for_seq (tasks, tasks_before, 10000, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_memories_wait_for_seq (memories, memories_before, 10000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (tasks_before, <, tasks_leader);
  g_assert_cmpuint (memories_before, <, memories_leader);
  /* Folded, not delivered yet. */
  add_tasks (db, 11, 2);
  add_memories (db, 7, 1);
  g_assert_cmpuint (net_db_tasks_get_applied_seq (tasks), >, tasks_before);
  g_assert_cmpuint (net_db_memories_get_applied_seq (memories), >, memories_before);
  _net_db_set_following (db, TRUE, NULL, NULL);
  memset (task_changes, 0, sizeof task_changes);
  memset (memory_changes, 0, sizeof memory_changes);
  g_signal_connect (tasks, "changed", G_CALLBACK (record_changed_cb), &tasks_emitted);
  g_signal_connect (memories, "changed", G_CALLBACK (record_changed_cb), &memories_emitted);
  g_signal_connect (tasks, "notify::applied-seq", G_CALLBACK (record_applied_cb), &tasks_emitted);
  g_signal_connect (memories, "notify::applied-seq", G_CALLBACK (record_applied_cb), &memories_emitted);

  g_assert_true (_net_db_rebootstrap (db, snap, &error));
  g_assert_no_error (error);

  /* The state is there at once; the notifications come from the next
   * dispatch, each model's in one delivery. */
  g_assert_cmpuint (net_db_tasks_get_applied_seq (tasks), ==, tasks_leader);
  g_assert_cmpuint (net_db_memories_get_applied_seq (memories), ==, memories_leader);
  g_assert_cmpuint (tasks_emitted.changed + memories_emitted.changed, ==, 0);
  SPIN_UNTIL (tasks_emitted.applied > 0 && memories_emitted.applied > 0);
  spin_for (50);

  g_assert_cmpuint (tasks_emitted.applied, ==, 1);
  g_assert_cmpuint (tasks_emitted.changed, ==, 1);
  g_assert_cmpuint (tasks_emitted.first_seq, ==, tasks_before + 1);
  g_assert_cmpuint (tasks_emitted.last_seq, ==, tasks_leader);
  g_assert_cmpuint (memories_emitted.applied, ==, 1);
  g_assert_cmpuint (memories_emitted.changed, ==, 1);
  g_assert_cmpuint (memories_emitted.first_seq, ==, memories_before + 1);
  g_assert_cmpuint (memories_emitted.last_seq, ==, memories_leader);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpuint (task_changes[i], >, 0);
      g_assert_cmpuint (memory_changes[i], >, 0);
    }

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GPtrArray) t = net_db_tasks_find_many (tasks, i == 0 ? NULL : pending);
      g_autoptr(GPtrArray) m = net_db_memories_find_many (memories, i == 0 ? NULL : alpha);
      g_autofree char *want_t = dump_task_array (t);
      g_autofree char *have_t = dump_task_list (task_lists[i]);
      g_autofree char *want_m = dump_memory_array (m);
      g_autofree char *have_m = dump_memory_list (memory_lists[i]);

      g_assert_cmpstr (have_t, ==, want_t);
      g_assert_cmpstr (have_m, ==, want_m);
      g_assert_cmpstr (have_t, !=, "");
      g_assert_cmpstr (have_m, !=, "");
    }
  {
    g_autofree char *want_t = dump_tasks (net_db_get_tasks (leader));
    g_autofree char *have_t = dump_tasks (tasks);
    g_autofree char *want_m = dump_memories (net_db_get_memories (leader));
    g_autofree char *have_m = dump_memories (memories);

    g_assert_cmpstr (have_t, ==, want_t);
    g_assert_cmpstr (have_m, ==, want_m);
  }

  for (guint i = 0; i < 2; i++)
    {
      g_signal_handlers_disconnect_by_func (task_lists[i], count_changes_cb, &task_changes[i]);
      g_signal_handlers_disconnect_by_func (memory_lists[i], count_changes_cb, &memory_changes[i]);
      g_clear_object (&task_lists[i]);
      g_clear_object (&memory_lists[i]);
    }
  g_signal_handlers_disconnect_by_data (tasks, &tasks_emitted);
  g_signal_handlers_disconnect_by_data (memories, &memories_emitted);
  _net_db_set_following (db, FALSE, NULL, NULL);
  close_db (db);
  close_db (leader);
}

static void
test_preconditions (void)
{
  if (g_test_subprocess ())
    {
      net_db_open_read_only (NULL, NET_DB_MODELS_TASKS, NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*path != NULL*");
}

/* A record class with one field, "title". */
#define TEST_TYPE_TITLED (test_titled_get_type ())
G_DECLARE_FINAL_TYPE (TestTitled, test_titled, TEST, TITLED, NetRecord)

struct _TestTitled
{
  NetRecord  parent_instance;
  char      *title;
};

G_DEFINE_FINAL_TYPE (TestTitled, test_titled, NET_TYPE_RECORD)

static void
test_titled_finalize (GObject *object)
{
  g_free (TEST_TITLED (object)->title);
  G_OBJECT_CLASS (test_titled_parent_class)->finalize (object);
}

static void
test_titled_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  g_value_set_string (value, TEST_TITLED (object)->title);
}

static void
test_titled_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  TestTitled *self = TEST_TITLED (object);

  g_free (self->title);
  self->title = g_value_dup_string (value);
}

static void
test_titled_class_init (TestTitledClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = test_titled_finalize;
  object_class->get_property = test_titled_get_property;
  object_class->set_property = test_titled_set_property;
  g_object_class_install_property (object_class, 1,
                                   g_param_spec_string ("title", NULL, NULL, NULL,
                                                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

static void
test_titled_init (TestTitled *self)
{
}


/* A collection replication opened (untyped, for the follower) and whose
 * log then received events its fold has not reached: the application's
 * open folds them, as any open does (an untyped open used to return the
 * collection as it was, and a typed open its state as of its fold: empty
 * until the next dispatch). */
static void
append_record_insert (NetRedexFile *file,
                      guint64       id,
                      const char   *title)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) sub = g_byte_array_new ();
  g_autoptr(GBytes) ev = NULL;
  g_autoptr(GError) error = NULL;
  NetEncoder enc, senc;
  NetEventMeta meta = { NET_DISPATCH_RECORD_INSERTED, 0, 1, id };

  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, 1, id);
  net_encoder_put_int (&enc, 2, 10);
  net_encoder_put_int (&enc, 3, 10);
  if (id == 1)
    {
      /* Field 1, "title", a string. */
      net_encoder_init (&senc, sub);
      net_encoder_put_uint (&senc, 1, 1);
      net_encoder_put_string (&senc, 2, "title");
      net_encoder_put_uint (&senc, 3, 7);
      net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
      g_byte_array_set_size (sub, 0);
    }
  net_encoder_init (&senc, sub);
  net_encoder_put_uint (&senc, 1, 1);
  net_encoder_put_string (&senc, 2, title);
  net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
  ev = net_event_encode (&meta, buf->data, buf->len);
  g_assert_cmpuint (net_redex_file_append (file, ev, &error), >, 0);
  g_assert_no_error (error);
}

static void
test_collection_adopt_folds (void)
{
  GType types[] = { NET_TYPE_RECORD, TEST_TYPE_TITLED };

  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(NetDb) db = net_db_new (NULL, NET_DB_MODELS_NONE, &error);
      NetRedexFile *file;
      NetCollection *coll;
      g_autoptr(NetRecord) r = NULL;
      g_auto(GValue) v = G_VALUE_INIT;

      g_assert_no_error (error);
      file = _net_db_open_log (db, "collections/x", &error);
      g_assert_no_error (error);
      append_record_insert (file, 1, "one");
      append_record_insert (file, 2, "two");

      /* No dispatch in between. */
      coll = net_db_open_collection (db, "x", types[t], &error);
      g_assert_no_error (error);
      g_assert_cmpuint (net_collection_count (coll, NULL), ==, 2);
      r = net_collection_get (coll, 2);
      g_assert_nonnull (r);
      g_assert_true (net_record_get_field (r, "title", &v));
      g_assert_cmpstr (g_value_get_string (&v), ==, "two");
      g_assert_true (net_db_close (db, &error));
      g_assert_no_error (error);
    }
}

/* A payload re-encoded field by field with net_encoder_put_field() is the
 * same bytes: every wire type, an empty and a long byte field. */
static void
test_codec_put_field (void)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) again = g_byte_array_new ();
  guint8 long_data[300];
  NetEncoder enc;
  NetDecoder dec;
  NetField f;
  guint n = 0;
  int r;

  for (guint i = 0; i < sizeof long_data; i++)
    long_data[i] = (guint8) (i * 7);
  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, 1, G_MAXUINT64);
  net_encoder_put_int (&enc, 2, -42);
  net_encoder_put_int (&enc, 3, G_MININT64);
  net_encoder_put_bytes (&enc, 4, NULL, 0);
  net_encoder_put_string (&enc, 5, "a title");
  net_encoder_put_bytes (&enc, 300, long_data, sizeof long_data);
  net_encoder_put_uint (&enc, 1, 0);

  net_encoder_init (&enc, again);
  g_assert_true (net_decoder_init (&dec, buf->data, buf->len, NULL));
  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      net_encoder_put_field (&enc, &f);
      n++;
    }
  g_assert_cmpint (r, ==, 0);
  g_assert_cmpuint (n, ==, 7);
  g_assert_cmpmem (again->data, again->len, buf->data, buf->len);
}

/* net_leb128_get() reads the same values, and refuses the same
 * encodings, whether the buffer has room for the longest encoding after
 * the value (its fast path) or ends with it. */
static void
test_leb128 (void)
{
  static const struct {
    guint8   bytes[11];
    gsize    len;
    gboolean ok;
    guint64  value;
  } cases[] = {
    { { 0x00 }, 1, TRUE, 0 },
    { { 0x7f }, 1, TRUE, 127 },
    { { 0x80, 0x01 }, 2, TRUE, 128 },
    { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 10, TRUE, G_MAXUINT64 },
    { { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 }, 10, TRUE, 0 },
    { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 }, 10, FALSE, 0 },
    { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00 }, 11, FALSE, 0 },
    { { 0x80 }, 1, FALSE, 0 },
    { { 0xff, 0xff, 0xff }, 3, FALSE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (guint pad = 0; pad <= 12; pad += 12)
      {
        guint8 buf[32] = { 0 };
        gsize pos = 1, len;
        guint64 v = 42;
        gboolean ok;

        /* Byte 0 is another field's; the padding ends the varint's room. */
        memcpy (buf + 1, cases[i].bytes, cases[i].len);
        len = 1 + cases[i].len + pad;
        for (gsize k = 1 + cases[i].len; k < len; k++)
          buf[k] = 0x80;
        ok = net_leb128_get (buf, len, &pos, &v);
        if (!cases[i].ok && cases[i].len < 10 && pad > 0)
          {
            /* Padded with continuation bytes, a truncated varint reads on:
             * what matters is that it is refused, as without padding. */
            g_assert_false (ok);
            continue;
          }
        g_assert_cmpint (ok, ==, cases[i].ok);
        if (ok)
          {
            g_assert_cmpuint (v, ==, cases[i].value);
            g_assert_cmpuint (pos, ==, 1 + cases[i].len);
          }
        else
          g_assert_cmpuint (pos, ==, 1);
      }
}

/* The decoders' inline fast path: on every varint it accepts it reads
 * what net_leb128_get() reads (value and length), whatever follows it and
 * however close the end; it never reads past the end; what it declines
 * (longer than 9 bytes, truncated) a decoder hands to net_leb128_get(). */
static void
test_leb128_short (void)
{
  for (guint round = 0; round < 20000; round++)
    {
      guint8 buf[32];
      guint bits = g_test_rand_int_range (0, 65);
      guint64 value = ((guint64) g_test_rand_int () << 32 | (guint32) g_test_rand_int ());
      gsize n, len, pos = 0;
      const guint8 *p = buf;
      guint64 v = 42, exact = 43;
      gboolean ok, exact_ok;

      value = bits == 64 ? value : value & ((G_GUINT64_CONSTANT (1) << bits) - 1);
      for (gsize k = 0; k < sizeof buf; k++)
        buf[k] = g_test_rand_int_range (0, 256);
      n = net_leb128_put (buf, value);
      /* The end: right after it, inside it (truncated), or further on. */
      len = g_test_rand_int_range (0, 3) == 0 ? g_test_rand_int_range (0, n + 1)
                                              : g_test_rand_int_range (n, sizeof buf + 1);

      ok = net_leb128_get_short (&p, buf + len, &v);
      exact_ok = net_leb128_get (buf, len, &pos, &exact);
      if (len < n)
        g_assert_false (ok);
      if (!ok)
        {
          g_assert_true (p == buf);
          g_assert_true (len < n || n > 9);
          continue;
        }
      g_assert_true (exact_ok);
      g_assert_cmpuint (v, ==, value);
      g_assert_cmpuint (v, ==, exact);
      g_assert_cmpuint (p - buf, ==, n);
      g_assert_cmpuint (pos, ==, n);
    }
}

/* net_text_is_valid() says what g_utf8_validate_len() says, for bytes
 * of every length up to 40 (a word at a time, the last word overlapping,
 * then byte by byte), ASCII with now and then a NUL, a byte of 0x80 or
 * more (in valid and invalid sequences) anywhere. */
static void
test_text_is_valid (void)
{
  static const char * const pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\x80", "\xff" };

  for (guint round = 0; round < 20000; round++)
    {
      guint8 buf[48];
      gsize len = g_test_rand_int_range (0, 41);
      guint r = g_test_rand_int_range (0, 4);

      for (gsize i = 0; i < len; i++)
        buf[i] = (guint8) g_test_rand_int_range (0x20, 0x7f);
      if (len > 0 && r == 1)
        buf[g_test_rand_int_range (0, len)] = 0;
      else if (r >= 2)
        {
          const char *piece = pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))];
          gsize n = strlen (piece);

          if (n <= len)
            memcpy (buf + g_test_rand_int_range (0, len - n + 1), piece, n);
        }
      g_assert_cmpint (net_text_is_valid (buf, len), ==, g_utf8_validate_len ((const char *) buf, len, NULL));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/db/db/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("models/new", test_models_new);
  ADD ("models/builder", test_models_builder);
  ADD ("origin/persistent", test_origin);
  ADD ("origin/corrupt", test_origin_corrupt);
  ADD ("crud", test_crud);
  ADD ("locked", test_locked);
  ADD ("snapshot/round-trip", test_snapshot_round_trip);
  ADD ("snapshot/partial", test_snapshot_partial);
  ADD ("snapshot/invalid", test_snapshot_invalid);
  ADD ("snapshot/newer-version", test_snapshot_version);
  ADD ("snapshot/unknown-fields", test_snapshot_unknown_fields);
  ADD ("checkpoint/replays-only-after", test_checkpoint_replays_only_after);
  ADD ("checkpoint/unchanged", test_checkpoint_unchanged);
  ADD ("checkpoint/after-snapshot-open", test_checkpoint_after_snapshot_open);
  ADD ("checkpoint/carries-other-models", test_checkpoint_carries_other_models);
  ADD ("checkpoint/corrupt-newest", test_checkpoint_corrupt_newest);
  ADD ("checkpoint/beyond-log", test_checkpoint_beyond_log);
  ADD ("sync", test_sync);
  ADD ("close", test_close);
  ADD ("unref-closes", test_unref_closes);
  ADD ("read-only", test_read_only);
  ADD ("read-only/after-restore", test_read_only_after_restore);
  ADD ("read-only/across-rebootstrap", test_read_only_across_rebootstrap);
  ADD ("rebootstrap/notifies", test_rebootstrap_notifies);
  g_test_add_func ("/db/db/preconditions", test_preconditions);
  g_test_add_func ("/db/db/codec/put-field", test_codec_put_field);
  g_test_add_func ("/db/codec/leb128", test_leb128);
  g_test_add_func ("/db/codec/leb128-short", test_leb128_short);
  g_test_add_func ("/db/codec/text-is-valid", test_text_is_valid);
  g_test_add_func ("/db/db/collection/adopt-folds", test_collection_adopt_folds);

#undef ADD

  return g_test_run ();
}
