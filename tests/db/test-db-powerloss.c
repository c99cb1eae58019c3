/* test-db-powerloss.c: a whole NetDb after simulated power cuts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The library is built on the simulation of tests/redex/redex-io-sim.c
 * (tests/db/meson.build), which knows what a strict file system holds on
 * stable storage: the log, the checkpoints and ORIGIN.  Each cycle opens
 * the database the previous one left, runs a random workload (task and
 * memory mutations, net_db_sync(), net_db_checkpoint(), a restore of a
 * snapshot into a new directory, close with its checkpoint) and loses
 * power after a random number of file system operations; the disk then
 * holds what was synced plus a subset of the rest (drop all, keep all, any
 * subset, any subset torn at 512-byte sectors).  The next cycle checks:
 *
 *  - every event acknowledged as durable (by net_db_sync(),
 *    net_db_checkpoint(), a clean close or the ALWAYS policy) is there:
 *    each model's applied seq is at least the newest durable one;
 *  - the state opened from the checkpoints plus the log equals a fresh
 *    fold of the surviving log alone (the same directory with its
 *    checkpoints moved aside, from the restored snapshot for a restored
 *    database), and equals the state the writer had at that seq;
 *  - no checkpoint is ahead of the log, and each holds the writer's state
 *    at its seq;
 *  - no seq acknowledged as durable is handed out again.
 *
 * Cycles per variant: 12 by default; with -m slow, $NETDB_SLOW_CYCLES
 * (default 150).  docs/crash-semantics.md says what this covers.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "redex-io-sim.h"
#include "redex-test-util.h"

#define N_KINDS 2
#define UNKNOWN "?"

typedef struct
{
  const char     *name;
  NetFsyncPolicy  policy;
  guint           param;
} Variant;

static const Variant variants[] = {
  { "never",    NET_FSYNC_POLICY_NEVER,    0 },
  { "every-n",  NET_FSYNC_POLICY_EVERY_N,  3 },
  { "interval", NET_FSYNC_POLICY_INTERVAL, 2 },
  { "always",   NET_FSYNC_POLICY_ALWAYS,   0 },
};

static const char *kind_names[N_KINDS] = { "tasks", "memories" };

/* Every critical is fatal. */
static void
log_handler (const char     *domain,
             GLogLevelFlags  level,
             const char     *message,
             gpointer        data)
{
  g_log_default_handler (domain, level, message, data);
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_FLAG_FATAL))
    g_error ("a critical: %s", message);
}

typedef struct
{
  const Variant *variant;
  char          *tmp;
  char          *root;            /* what the disk holds now */
  char          *db_name;         /* the database, under root */
  GBytes        *base;            /* the snapshot db_name was restored from */
  char          *pending_name;    /* a restore not yet checked */
  GBytes        *pending_base;
  guint64        pending_seq[N_KINDS];
  gboolean       pending_acked;
  GHashTable    *states[N_KINDS]; /* seq → the writer's state after it */
  guint64        max_durable[N_KINDS];
  guint64        max_id[N_KINDS];
  gint64         clock;
  GRand         *rand;
  guint          n_steps;
  guint          n_mutations;
  guint          n_syncs;
  guint          n_checkpoints;
  guint          n_checkpoints_checked;
  guint          n_restores;
  guint          n_restores_kept;
  guint          n_closes;
  guint          n_modes[SIM_CRASH_N_MODES];
} Campaign;

/* A model's state as text: every item, by id. */
static char *
describe (NetDb *db,
          guint  kind)
{
  GString *s = g_string_new (NULL);
  g_autoptr(GPtrArray) items = NULL;

  if (kind == 0)
    {
      items = net_db_tasks_find_many (net_db_get_tasks (db), NULL);
      for (guint i = 0; i < items->len; i++)
        {
          NetTask *t = items->pdata[i];

          g_string_append_printf (s, "%" G_GUINT64_FORMAT "|%s|%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "\n",
                                  net_task_get_id (t), net_task_get_title (t),
                                  (int) net_task_get_status (t),
                                  net_task_get_created_at (t), net_task_get_updated_at (t));
        }
    }
  else
    {
      items = net_db_memories_find_many (net_db_get_memories (db), NULL);
      for (guint i = 0; i < items->len; i++)
        {
          NetMemory *m = items->pdata[i];
          g_autofree char *tags = g_strjoinv (",", (char **) net_memory_get_tags (m));

          g_string_append_printf (s, "%" G_GUINT64_FORMAT "|%s|%s|%s|%d|%" G_GINT64_FORMAT "|%" G_GINT64_FORMAT "\n",
                                  net_memory_get_id (m), net_memory_get_content (m), tags,
                                  net_memory_get_source (m) ? net_memory_get_source (m) : "",
                                  net_memory_get_pinned (m),
                                  net_memory_get_created_at (m), net_memory_get_updated_at (m));
        }
    }
  return g_string_free (s, FALSE);
}

static guint64
applied_seq (NetDb *db,
             guint  kind)
{
  return kind == 0 ? net_db_tasks_get_applied_seq (net_db_get_tasks (db))
                   : net_db_memories_get_applied_seq (net_db_get_memories (db));
}

static void
state_set (Campaign   *c,
           guint       kind,
           guint64     seq,
           char       *text)
{
  g_hash_table_insert (c->states[kind], g_memdup2 (&seq, sizeof seq), text);
}

static const char *
state_get (Campaign *c,
           guint     kind,
           guint64   seq)
{
  return g_hash_table_lookup (c->states[kind], &seq);
}

static void
mark_durable (Campaign *c,
              NetDb    *db)
{
  for (guint k = 0; k < N_KINDS; k++)
    c->max_durable[k] = MAX (c->max_durable[k], applied_seq (db, k));
}

static NetDb *
open_db (Campaign    *c,
         const char  *path,
         GBytes      *snapshot,
         GError     **error)
{
  g_autoptr(NetDbBuilder) builder = net_db_builder_new ();

  net_db_builder_persistent_dir (builder, path);
  net_db_builder_with_tasks (builder);
  net_db_builder_with_memories (builder);
  net_db_builder_fsync_policy (builder, c->variant->policy, c->variant->param);
  if (snapshot != NULL)
    return net_db_builder_build_from_snapshot (builder, snapshot, error);
  return net_db_builder_build (builder, error);
}

/* One mutation of a random model; FALSE once the disk failed. */
static gboolean
mutate (Campaign *c,
        NetDb    *db)
{
  g_autoptr(GError) error = NULL;
  guint kind = g_rand_int_range (c->rand, 0, N_KINDS);
  guint64 before = applied_seq (db, kind);
  guint64 id, seq;
  guint r = g_rand_int_range (c->rand, 0, 100);
  gint64 now = ++c->clock;
  g_autoptr(GObject) item = NULL;

  /* Most mutations create; the others pick an id that may not exist. */
  if (c->max_id[kind] == 0 || r < 40)
    id = ++c->max_id[kind];
  else
    id = g_rand_int_range (c->rand, 1, c->max_id[kind] + 1);

  if (kind == 0)
    {
      NetDbTasks *tasks = net_db_get_tasks (db);
      g_autofree char *title = g_strdup_printf ("task %" G_GUINT64_FORMAT " at %" G_GINT64_FORMAT, id, now);

      if (id == c->max_id[kind] && r < 40)
        seq = net_db_tasks_create (tasks, id, title, now, &error);
      else if ((item = (GObject *) net_db_tasks_get (tasks, id)) == NULL)
        return TRUE;
      else if (r < 70)
        seq = net_db_tasks_rename (tasks, id, title, now, &error);
      else if (r < 90)
        seq = net_db_tasks_complete (tasks, id, now, &error);
      else
        seq = net_db_tasks_delete (tasks, id, &error);
    }
  else
    {
      NetDbMemories *memories = net_db_get_memories (db);
      g_autofree char *tag = g_strdup_printf ("t%u", g_rand_int_range (c->rand, 0, 5));
      const char *tags[] = { tag, "all", NULL };

      if (id == c->max_id[kind] && r < 40)
        {
          /* Now and then a content that crosses 512-byte sectors. */
          g_autofree char *content = g_strnfill (g_rand_int_range (c->rand, 1, r < 5 ? 1500 : 120),
                                                 'a' + (char) (id % 26));

          seq = net_db_memories_store (memories, id, content, tags, "powerloss", now, &error);
        }
      else if ((item = (GObject *) net_db_memories_get (memories, id)) == NULL)
        return TRUE;
      else if (r < 60)
        seq = net_db_memories_retag (memories, id, tags, now, &error);
      else if (r < 75)
        seq = net_db_memories_pin (memories, id, now, &error);
      else if (r < 90)
        seq = net_db_memories_unpin (memories, id, now, &error);
      else
        seq = net_db_memories_delete (memories, id, &error);
    }

  if (seq == 0)
    {
      /* A write whose sync failed may still reach the disk: its state is
       * unknown here, and only the fresh fold checks it. */
      g_assert_nonnull (error);
      state_set (c, kind, before + 1, g_strdup (UNKNOWN));
      return FALSE;
    }

  /* Seqs follow each other, and none acknowledged as durable comes back. */
  g_assert_cmpuint (seq, ==, before + 1);
  if (seq <= c->max_durable[kind])
    g_error ("%s: seq %" G_GUINT64_FORMAT " handed out again, %" G_GUINT64_FORMAT " was acknowledged as durable",
             kind_names[kind], seq, c->max_durable[kind]);
  state_set (c, kind, seq, describe (db, kind));
  c->n_mutations++;
  if (c->variant->policy == NET_FSYNC_POLICY_ALWAYS)
    c->max_durable[kind] = seq;
  return TRUE;
}

/* Closes @db and opens a snapshot of it in a new directory, which the
 * campaign goes on with.  FALSE once the disk failed. */
static gboolean
restore (Campaign *c,
         NetDb   **db,
         guint     cycle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snapshot = net_db_snapshot (*db, &error);
  g_autofree char *name = g_strdup_printf ("db-%u", cycle);
  g_autofree char *path = g_build_filename (c->root, name, NULL);

  g_assert_no_error (error);
  for (guint k = 0; k < N_KINDS; k++)
    c->pending_seq[k] = applied_seq (*db, k);
  if (!net_db_close (*db, &error))
    return FALSE;
  mark_durable (c, *db);
  c->n_closes++;
  g_clear_object (db);

  c->pending_name = g_strdup (name);
  c->pending_base = g_bytes_ref (snapshot);
  c->pending_acked = FALSE;
  *db = open_db (c, path, snapshot, &error);
  g_test_message ("cycle %u: restore into %s at tasks %" G_GUINT64_FORMAT ": %s", cycle, name,
                  c->pending_seq[0], *db != NULL ? "opened" : error->message);
  if (*db == NULL)
    return FALSE;
  for (guint k = 0; k < N_KINDS; k++)
    g_assert_cmpuint (applied_seq (*db, k), ==, c->pending_seq[k]);
  c->n_restores++;
  return TRUE;
}

static void
run_writer (Campaign *c,
            guint     cycle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (c->root, c->db_name, NULL);
  NetDb *db;
  guint steps = g_rand_int_range (c->rand, 5, 80);
  gboolean restored = FALSE;

  redex_io_sim_start (c->root);
  redex_io_sim_crash_after (g_rand_int_range (c->rand, 1, 60 + steps * 6));

  db = open_db (c, path, NULL, &error);
  if (db == NULL)
    {
      if (!redex_io_sim_crashed ())
        g_error ("cycle %u (%s): cannot open: %s", cycle, c->variant->name, error->message);
      goto crash;
    }

  for (guint step = 0; step < steps && !redex_io_sim_crashed (); step++)
    {
      guint r = g_rand_int_range (c->rand, 0, 100);

      g_clear_error (&error);
      c->n_steps++;
      if (r < 80)
        {
          if (!mutate (c, db))
            break;
        }
      else if (r < 88)
        {
          if (!net_db_sync (db, &error))
            break;
          mark_durable (c, db);
          c->pending_acked = c->pending_name != NULL;
          c->n_syncs++;
        }
      else if (r < 96)
        {
          if (!net_db_checkpoint (db, &error))
            break;
          mark_durable (c, db);
          c->pending_acked = c->pending_name != NULL;
          c->n_checkpoints++;
        }
      else if (!restored && c->pending_name == NULL)
        {
          restored = TRUE;
          if (!restore (c, &db, cycle))
            break;
        }
    }

  /* Half the cycles end with a clean close (and its checkpoint) that the
   * power may still interrupt. */
  if (db != NULL && !redex_io_sim_crashed () && g_rand_boolean (c->rand))
    {
      g_clear_error (&error);
      if (net_db_close (db, &error))
        {
          mark_durable (c, db);
          c->pending_acked = c->pending_name != NULL;
          c->n_closes++;
        }
    }

crash:
  redex_io_sim_crash_now ();
  {
    g_autofree char *out = g_strdup_printf ("%s/cycle-%u", c->tmp, cycle);
    SimCrashMode mode = g_rand_int_range (c->rand, 0, SIM_CRASH_N_MODES);

    redex_io_sim_materialize (out, mode, c->rand);
    c->n_modes[mode]++;
    if (db != NULL)
      net_db_close (db, NULL);
    g_clear_object (&db);
    redex_io_sim_stop ();

    redex_test_rm_rf (c->root);
    g_free (c->root);
    c->root = g_steal_pointer (&out);
  }
}

/* The checkpoints in @dir, each as the writer's state at its seqs, and
 * none ahead of the log (@applied: what the fresh fold reaches). */
static void
check_checkpoints (Campaign      *c,
                   guint          cycle,
                   const char    *dir,
                   const guint64 *applied)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  if (d == NULL)
    return;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *file = g_build_filename (dir, entry, NULL);
      g_autofree char *contents = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(NetDb) ck = NULL;
      gsize len;

      if (g_str_has_suffix (entry, ".tmp"))
        continue;
      g_assert_true (g_file_get_contents (file, &contents, &len, NULL));
      bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
      ck = net_db_open_from_snapshot (bytes, NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
      if (ck == NULL)
        g_error ("cycle %u (%s): checkpoint %s is damaged: %s", cycle, c->variant->name, entry, error->message);
      for (guint k = 0; k < N_KINDS; k++)
        {
          guint64 seq = applied_seq (ck, k);
          const char *expected = state_get (c, k, seq);
          g_autofree char *got = describe (ck, k);

          if (seq > applied[k])
            g_error ("cycle %u (%s): checkpoint %s holds %s up to seq %" G_GUINT64_FORMAT
                     ", the log only up to %" G_GUINT64_FORMAT,
                     cycle, c->variant->name, entry, kind_names[k], seq, applied[k]);
          if (expected != NULL && g_strcmp0 (expected, UNKNOWN) != 0 && g_strcmp0 (expected, got) != 0)
            g_error ("cycle %u (%s): checkpoint %s: %s at seq %" G_GUINT64_FORMAT " is\n%s\nthe writer had\n%s",
                     cycle, c->variant->name, entry, kind_names[k], seq, got, expected);
        }
      c->n_checkpoints_checked++;
    }
}

/* Opens what the power cut left of the restore, read-only; FALSE (and
 * the directory removed) when it does not hold the restore.  A restore
 * not acknowledged may be absent, never half there: a database that
 * opens at the snapshot's seqs must hold the snapshot's state. */
static gboolean
restore_survived (Campaign *c,
                  guint     cycle)
{
  g_autofree char *path = g_build_filename (c->root, c->pending_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetDb) db = NULL;
  gboolean whole = TRUE;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    db = net_db_open_read_only (path, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  for (guint k = 0; db != NULL && k < N_KINDS; k++)
    {
      g_autofree char *got = describe (db, k);
      const char *expected = state_get (c, k, c->pending_seq[k]);

      if (applied_seq (db, k) < c->pending_seq[k])
        whole = FALSE;
      else if (applied_seq (db, k) == c->pending_seq[k] && g_strcmp0 (expected, got) != 0)
        {
          g_error ("cycle %u (%s): the restore into %s opens at %s seq %" G_GUINT64_FORMAT
                   " without the snapshot's state:\n%s\nthe snapshot holds\n%s",
                   cycle, c->variant->name, c->pending_name, kind_names[k],
                   c->pending_seq[k], got, expected);
        }
    }
  if (db != NULL)
    g_assert_true (net_db_close (db, NULL));
  if (db != NULL && whole)
    return TRUE;

  if (c->pending_acked)
    g_error ("cycle %u (%s): the restore into %s was acknowledged, after the power cut: %s",
             cycle, c->variant->name, c->pending_name,
             error != NULL ? error->message : "it holds less than the snapshot");
  redex_test_rm_rf (path);
  return FALSE;
}

static void
check_disk (Campaign *c,
            guint     cycle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *bare = g_strdup_printf ("%s-bare", c->root);
  g_autofree char *bare_db = NULL;
  g_autofree char *bare_ck = NULL;
  g_autoptr(NetDb) db = NULL;
  g_autoptr(NetDb) fresh = NULL;
  guint64 applied[N_KINDS];

  if (c->pending_name != NULL)
    {
      if (restore_survived (c, cycle))
        {
          g_autofree char *old = g_build_filename (c->root, c->db_name, NULL);

          redex_test_rm_rf (old);
          g_free (c->db_name);
          c->db_name = g_steal_pointer (&c->pending_name);
          g_clear_pointer (&c->base, g_bytes_unref);
          c->base = g_steal_pointer (&c->pending_base);
          c->n_restores_kept++;
        }
      g_clear_pointer (&c->pending_name, g_free);
      g_clear_pointer (&c->pending_base, g_bytes_unref);
      c->pending_acked = FALSE;
    }

  path = g_build_filename (c->root, c->db_name, NULL);
  bare_db = g_build_filename (bare, c->db_name, NULL);
  bare_ck = g_build_filename (bare_db, "checkpoints", NULL);

  /* The fresh fold: the surviving log alone, in a copy without the
   * checkpoints.  A restored database's log starts after the snapshot
   * it was restored from: that snapshot is the copy's one checkpoint. */
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      redex_test_copy_dir (path, bare_db);
      redex_test_rm_rf (bare_ck);
      if (c->base != NULL)
        {
          g_autofree char *file = g_build_filename (bare_ck, "00000000000000000001.ckpt", NULL);

          g_assert_cmpint (g_mkdir (bare_ck, 0700), ==, 0);
          g_assert_true (g_file_set_contents (file, g_bytes_get_data (c->base, NULL),
                                              g_bytes_get_size (c->base), NULL));
        }
    }
  fresh = open_db (c, bare_db, NULL, &error);
  if (fresh == NULL)
    g_error ("cycle %u (%s): the surviving log does not open without its checkpoints: %s",
             cycle, c->variant->name, error->message);

  db = open_db (c, path, NULL, &error);
  if (db == NULL)
    {
      if (g_getenv ("NETDB_POWERLOSS_KEEP") != NULL)
        redex_test_copy_dir (c->root, g_getenv ("NETDB_POWERLOSS_KEEP"));
      g_error ("cycle %u (%s): cannot open after the power cut: %s", cycle, c->variant->name, error->message);
    }

  for (guint k = 0; k < N_KINDS; k++)
    {
      g_autofree char *got = describe (db, k);
      g_autofree char *replayed = describe (fresh, k);
      const char *expected;

      applied[k] = applied_seq (fresh, k);
      expected = state_get (c, k, applied[k]);
      if (applied[k] < c->max_durable[k])
        g_error ("cycle %u (%s): %s: the log ends at seq %" G_GUINT64_FORMAT
                 ", seq %" G_GUINT64_FORMAT " was acknowledged as durable",
                 cycle, c->variant->name, kind_names[k], applied[k], c->max_durable[k]);
      if (applied_seq (db, k) != applied[k])
        g_error ("cycle %u (%s): %s: opened from its checkpoint at seq %" G_GUINT64_FORMAT
                 ", the log alone folds to seq %" G_GUINT64_FORMAT,
                 cycle, c->variant->name, kind_names[k], applied_seq (db, k), applied[k]);
      if (g_strcmp0 (got, replayed) != 0 && g_getenv ("NETDB_POWERLOSS_KEEP") != NULL)
        redex_test_copy_dir (c->root, g_getenv ("NETDB_POWERLOSS_KEEP"));
      if (g_strcmp0 (got, replayed) != 0)
        g_error ("cycle %u (%s): %s at seq %" G_GUINT64_FORMAT " from the checkpoint is\n%s\na replay of the log is\n%s",
                 cycle, c->variant->name, kind_names[k], applied[k], got, replayed);
      if (expected == NULL)
        g_error ("cycle %u (%s): %s: seq %" G_GUINT64_FORMAT " was never written",
                 cycle, c->variant->name, kind_names[k], applied[k]);
      if (g_strcmp0 (expected, UNKNOWN) != 0 && g_strcmp0 (expected, got) != 0)
        g_error ("cycle %u (%s): %s at seq %" G_GUINT64_FORMAT " is\n%s\nthe writer had\n%s",
                 cycle, c->variant->name, kind_names[k], applied[k], got, expected);
    }

  {
    g_autofree char *ck = g_build_filename (path, "checkpoints", NULL);

    check_checkpoints (c, cycle, ck, applied);
  }

  /* What the log does not hold was lost: its seqs are handed out again. */
  for (guint k = 0; k < N_KINDS; k++)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, c->states[k]);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (*(guint64 *) key > applied[k])
          g_hash_table_iter_remove (&iter);
      /* The ids the next cycle creates must be new to this state. */
      c->max_id[k] += 1000;
    }

  g_assert_true (net_db_close (fresh, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_close (db, &error));
  g_assert_no_error (error);
  redex_test_rm_rf (bare);
}

static guint
n_cycles (void)
{
  const char *env = g_getenv ("NETDB_SLOW_CYCLES");

  if (!g_test_slow ())
    return 12;
  if (env != NULL && atoi (env) > 0)
    return atoi (env);
  return 150;
}

static void
test_powerloss (gconstpointer data)
{
  Campaign c = { 0, };
  guint cycles = n_cycles ();

  redex_test_allow_warnings ();
  g_log_set_always_fatal (G_LOG_FATAL_MASK);
  g_log_set_default_handler (log_handler, NULL);

  c.variant = data;
  c.tmp = redex_test_make_tmpdir ();
  c.root = g_build_filename (c.tmp, "cycle-0", NULL);
  c.db_name = g_strdup ("db");
  g_assert_cmpint (g_mkdir (c.root, 0700), ==, 0);
  for (guint k = 0; k < N_KINDS; k++)
    {
      c.states[k] = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
      state_set (&c, k, 0, g_strdup (""));
    }
  c.rand = g_rand_new_with_seed (g_test_rand_int () ^ (guint32) (c.variant - variants) * 0x9E3779B9u);

  for (guint cycle = 1; cycle <= cycles; cycle++)
    {
      run_writer (&c, cycle);
      check_disk (&c, cycle);
    }

  g_test_message ("%s: %u cycles, %u steps, %u mutations, %u syncs, %u checkpoints written, "
                  "%u checkpoint files checked, %u restores (%u survived), %u clean closes; "
                  "modes: drop-all %u, keep-all %u, subset %u, torn %u",
                  c.variant->name, cycles, c.n_steps, c.n_mutations, c.n_syncs, c.n_checkpoints,
                  c.n_checkpoints_checked, c.n_restores, c.n_restores_kept, c.n_closes,
                  c.n_modes[0], c.n_modes[1], c.n_modes[2], c.n_modes[3]);

  g_rand_free (c.rand);
  for (guint k = 0; k < N_KINDS; k++)
    g_hash_table_unref (c.states[k]);
  g_clear_pointer (&c.base, g_bytes_unref);
  redex_test_rm_rf (c.tmp);
  g_free (c.db_name);
  g_free (c.root);
  g_free (c.tmp);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *path = g_strdup_printf ("/db/powerloss/%s", variants[i].name);

      g_test_add_data_func (path, &variants[i], test_powerloss);
    }

  return g_test_run ();
}
