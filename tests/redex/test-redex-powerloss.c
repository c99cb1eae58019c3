/* test-redex-powerloss.c: the log after simulated power cuts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The log runs on the simulation of redex-io-sim.c, which knows what a
 * strict file system holds on stable storage.  Each cycle opens the log
 * left by the previous one, writes (single appends, batches, durable
 * appends, syncs), and loses power after a random number of file system
 * operations; the disk then holds what was synced plus a subset of the
 * rest, chosen by one of four modes (drop all, keep all, any subset, any
 * subset torn at 512-byte sectors).  The next cycle checks it:
 *
 *  - every event acknowledged as durable is there, byte-exact;
 *  - the log is a clean prefix of what was written: every seq holds the
 *    payload last written with it, no record is damaged, verify is clean;
 *  - a batch is whole or absent;
 *  - no seq acknowledged as durable is ever handed out again, and evicted
 *    history never comes back.
 *
 * Cycles per variant: 25 by default; with -m slow, $NETDB_SLOW_CYCLES
 * (default 150).  docs/crash-semantics.md says what this covers.
 */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "redex-io-sim.h"
#include "net-redex-format-private.h"

#define LOG_NAME "power/log"
#define MAX_BATCH 8

typedef struct
{
  const char     *name;
  NetFsyncPolicy  policy;
  guint           param;
  guint64         segment_size;
  guint64         max_events;
  gboolean        batches_only;
} Variant;

static const Variant variants[] = {
  { "never",     NET_FSYNC_POLICY_NEVER,    0, 64 * 1024, 0 },
  { "every-n",   NET_FSYNC_POLICY_EVERY_N,  4, 64 * 1024, 0 },
  { "interval",  NET_FSYNC_POLICY_INTERVAL, 2, 64 * 1024, 0 },
  { "always",    NET_FSYNC_POLICY_ALWAYS,   0, 64 * 1024, 0 },
  { "batches",   NET_FSYNC_POLICY_NEVER,    0, 64 * 1024, 0, TRUE },
  { "rolls",     NET_FSYNC_POLICY_EVERY_N,  3,  4 * 1024, 1500 },
  { "retention", NET_FSYNC_POLICY_NEVER,    0,  4 * 1024, 60 },
};

typedef struct
{
  guint64 first;
  guint   n;
  guint64 tags[MAX_BATCH];
} Batch;

typedef struct
{
  const Variant *variant;
  char          *tmp;
  char          *root;          /* what the disk holds now */
  GHashTable    *written;       /* seq → tag, the last write of each seq */
  GHashTable    *durable;       /* seq → tag, acknowledged as durable */
  GArray        *batches;       /* Batch, written by the last cycle */
  guint64        max_durable;
  guint64        last_first;
  guint64        max_next;
  GRand         *rand;
  guint          n_steps;
  guint          n_durable;
  guint          n_batches_checked;
  guint          n_lost_dirs;
  guint          n_modes[SIM_CRASH_N_MODES];
} Campaign;

static NetRedexConfig *
variant_config (const Variant *v)
{
  NetRedexConfig *config = net_redex_config_new ();

  net_redex_config_set_fsync_policy (config, v->policy, v->param);
  net_redex_config_set_segment_size (config, v->segment_size);
  if (v->max_events > 0)
    net_redex_config_set_retention_max_events (config, v->max_events);
  return config;
}

static gsize
len_for_tag (guint64 tag)
{
  guint64 h = tag * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  /* Records cross 512-byte sectors, now and then several. */
  if ((h >> 61) == 0)
    return 12 + (h >> 20) % 2000;
  return 12 + (h >> 20) % 300;
}

static guint64
table_get (GHashTable *table,
           guint64     seq)
{
  gpointer v = g_hash_table_lookup (table, &seq);

  return v != NULL ? *(guint64 *) v : 0;
}

static void
table_set (GHashTable *table,
           guint64     seq,
           guint64     tag)
{
  g_hash_table_insert (table, g_memdup2 (&seq, sizeof seq), g_memdup2 (&tag, sizeof tag));
}

static void
mark_durable_upto (Campaign *c,
                   guint64   upto)
{
  /* Seqs up to max_durable are durable already, and never reused. */
  for (guint64 seq = c->max_durable + 1; seq <= upto; seq++)
    {
      guint64 tag = table_get (c->written, seq);

      g_assert_cmpuint (tag, !=, 0);
      g_assert_cmpuint (table_get (c->durable, seq), ==, 0);
      table_set (c->durable, seq, tag);
      c->n_durable++;
    }
  c->max_durable = MAX (c->max_durable, upto);
}

/* Writes until the power goes (or the cycle's work is done, then the
 * power goes anyway). */
static void
run_writer (Campaign *c,
            guint     cycle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexConfig) config = variant_config (c->variant);
  g_autofree char *db = g_build_filename (c->root, "db", NULL);
  NetRedex *redex;
  NetRedexFile *file = NULL;
  guint n = 0;
  guint steps = g_rand_int_range (c->rand, 5, 120);

  g_array_set_size (c->batches, 0);
  redex_io_sim_start (c->root);
  redex_io_sim_crash_after (g_rand_int_range (c->rand, 1, 40 + steps * 4));

  redex = net_redex_new (db, &error);
  if (redex == NULL)
    {
      g_assert_true (redex_io_sim_crashed ());
      goto crash;
    }
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  if (file == NULL)
    {
      g_assert_true (redex_io_sim_crashed ());
      goto crash;
    }

  for (guint step = 0; step < steps && !redex_io_sim_crashed (); step++)
    {
      guint r = g_rand_int_range (c->rand, 0, 100);
      gboolean ok;

      g_clear_error (&error);
      if (r < 25 || c->variant->batches_only)
        {
          Batch b = { 0, };
          GBytes *payloads[MAX_BATCH];

          b.n = g_rand_int_range (c->rand, 2, MAX_BATCH + 1);
          for (guint i = 0; i < b.n; i++)
            {
              b.tags[i] = ((guint64) cycle << 32) | n++;
              payloads[i] = redex_test_payload (b.tags[i], len_for_tag (b.tags[i]));
            }
          /* An append that fails on the sync after its write may still
           * reach the disk: what it wrote counts as written. */
          b.first = net_redex_file_get_next_seq (file);
          for (guint i = 0; i < b.n; i++)
            table_set (c->written, b.first + i, b.tags[i]);
          g_array_append_val (c->batches, b);
          ok = net_redex_file_append_batch (file, payloads, b.n, &error) == b.first;
          for (guint i = 0; i < b.n; i++)
            g_bytes_unref (payloads[i]);
          if (!ok)
            break;
          if (c->variant->policy == NET_FSYNC_POLICY_ALWAYS)
            mark_durable_upto (c, b.first + b.n - 1);
        }
      else if (r < 35)
        {
          guint64 tag = ((guint64) cycle << 32) | n++;
          g_autoptr(GBytes) p = redex_test_payload (tag, len_for_tag (tag));
          guint64 seq = net_redex_file_get_next_seq (file);

          table_set (c->written, seq, tag);
          if (net_redex_file_append_durable (file, p, &error) != seq)
            break;
          mark_durable_upto (c, seq);
        }
      else if (r < 40)
        {
          if (!net_redex_file_sync (file, &error))
            break;
          mark_durable_upto (c, net_redex_file_get_next_seq (file) - 1);
        }
      else
        {
          guint64 tag = ((guint64) cycle << 32) | n++;
          g_autoptr(GBytes) p = redex_test_payload (tag, len_for_tag (tag));
          guint64 seq = net_redex_file_get_next_seq (file);

          table_set (c->written, seq, tag);
          if (net_redex_file_append (file, p, &error) != seq)
            break;
          if (c->variant->policy == NET_FSYNC_POLICY_ALWAYS)
            mark_durable_upto (c, seq);
        }
      c->n_steps++;
    }

  if (!redex_io_sim_crashed ())
    mark_durable_upto (c, net_redex_file_get_durable_seq (file));

crash:
  /* The power goes (if it has not yet): nothing reaches the disk any more. */
  redex_io_sim_crash_now ();
  {
    g_autofree char *out = g_strdup_printf ("%s/cycle-%u", c->tmp, cycle);
    SimCrashMode mode = g_rand_int_range (c->rand, 0, SIM_CRASH_N_MODES);

    redex_io_sim_materialize (out, mode, c->rand);
    c->n_modes[mode]++;
    if (file != NULL)
      net_redex_file_close (file, NULL);
    g_clear_object (&file);
    if (redex != NULL)
      net_redex_close (redex, NULL);
    g_clear_object (&redex);
    redex_io_sim_stop ();

    redex_test_rm_rf (c->root);
    g_free (c->root);
    c->root = g_steal_pointer (&out);
  }
}

static void
check_disk (Campaign *c,
            guint     cycle,
            gboolean  read_only)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexConfig) config = variant_config (c->variant);
  g_autofree char *db = g_build_filename (c->root, "db", NULL);
  g_autofree char *log_dir = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_auto(GStrv) problems = NULL;
  GHashTableIter iter;
  gpointer key;
  guint64 first, next;

  {
    g_autofree char *escaped = net_redex_name_to_dir_name (LOG_NAME);

    log_dir = g_build_filename (db, "logs", escaped, NULL);
  }
  if (!g_file_test (log_dir, G_FILE_TEST_IS_DIR))
    {
      /* No log: fine only if nothing of it was ever durable. */
      if (c->max_durable > 0)
        g_error ("cycle %u (%s): the log's directory is gone, with seq %" G_GUINT64_FORMAT " acknowledged as durable",
                 cycle, c->variant->name, c->max_durable);
      c->n_lost_dirs++;
      return;
    }

  redex = read_only ? net_redex_new_read_only (db, &error) : net_redex_new (db, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, read_only ? NULL : config, &error);
  if (file == NULL && read_only && g_error_matches (error, NET_ERROR, NET_ERROR_NOT_FOUND) && c->max_durable == 0)
    return;
  if (file == NULL)
    g_error ("cycle %u (%s, %s): cannot open the log after the power cut: %s",
             cycle, c->variant->name, read_only ? "read-only" : "writer", error->message);

  first = net_redex_file_get_first_seq (file);
  next = net_redex_file_get_next_seq (file);

  if (next <= c->max_durable)
    g_error ("cycle %u (%s): next seq %" G_GUINT64_FORMAT " after the power cut, seq %" G_GUINT64_FORMAT
             " was acknowledged as durable", cycle, c->variant->name, next, c->max_durable);
  if (first < c->last_first)
    g_error ("cycle %u (%s): evicted history came back (first seq %" G_GUINT64_FORMAT ", was %" G_GUINT64_FORMAT ")",
             cycle, c->variant->name, first, c->last_first);

  /* Every durable event is there, byte-exact: the newest one here, the
   * others with the whole log below. */
  if (c->max_durable >= first)
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, c->max_durable, &error);
      guint64 tag = table_get (c->durable, c->max_durable);
      g_autoptr(GBytes) expected = redex_test_payload (tag, len_for_tag (tag));

      if (event == NULL)
        g_error ("cycle %u (%s): durable seq %" G_GUINT64_FORMAT " is lost: %s",
                 cycle, c->variant->name, c->max_durable, error->message);
      redex_test_assert_event (event, c->max_durable, expected);
    }

  /* A clean prefix of what was written. */
  all = net_redex_file_read_range (file, first, next, &error);
  if (all == NULL && g_getenv ("NETDB_POWERLOSS_KEEP") != NULL)
    redex_test_copy_dir (c->root, g_getenv ("NETDB_POWERLOSS_KEEP"));
  if (all == NULL)
    g_error ("cycle %u (%s, %s): the log after the power cut is not clean: %s",
             cycle, c->variant->name, read_only ? "read-only" : "writer", error->message);
  g_assert_cmpuint (all->len, ==, next - first);
  for (guint i = 0; i < all->len; i++)
    {
      guint64 seq = first + i;
      guint64 tag = table_get (c->written, seq);
      g_autoptr(GBytes) expected = NULL;

      if (tag == 0)
        g_error ("cycle %u (%s, %s): seq %" G_GUINT64_FORMAT " holds an event nobody wrote",
                 cycle, c->variant->name, read_only ? "read-only" : "writer", seq);
      if (seq <= c->max_durable && table_get (c->durable, seq) != tag)
        g_error ("cycle %u (%s): durable seq %" G_GUINT64_FORMAT " holds another event",
                 cycle, c->variant->name, seq);
      expected = redex_test_payload (tag, len_for_tag (tag));
      redex_test_assert_event (all->pdata[i], seq, expected);
    }

  /* Batches are whole or absent. */
  for (guint b = 0; b < c->batches->len; b++)
    {
      Batch *batch = &g_array_index (c->batches, Batch, b);
      guint present = 0;

      if (batch->first < first)
        continue;
      for (guint i = 0; i < batch->n; i++)
        if (batch->first + i < next && table_get (c->written, batch->first + i) == batch->tags[i])
          present++;
      if (present != 0 && present != batch->n)
        g_error ("cycle %u (%s): %u of the %u events of the batch at seq %" G_GUINT64_FORMAT " survived",
                 cycle, c->variant->name, present, batch->n, batch->first);
      c->n_batches_checked++;
    }

  problems = net_redex_file_verify (file, &error);
  g_assert_no_error (error);
  if (problems[0] != NULL)
    g_error ("cycle %u (%s): verify after the power cut: %s", cycle, c->variant->name, problems[0]);

  if (!read_only)
    {
      /* What is not in the log was lost: its seqs may be handed out
       * again (they were never durable). */
      g_hash_table_iter_init (&iter, c->written);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (*(guint64 *) key >= next)
          g_hash_table_iter_remove (&iter);
      c->last_first = first;
      c->max_next = next;
    }

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
}

static guint
n_cycles (void)
{
  const char *env = g_getenv ("NETDB_SLOW_CYCLES");

  if (!g_test_slow ())
    return 25;
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

  c.variant = data;
  c.tmp = redex_test_make_tmpdir ();
  c.root = g_build_filename (c.tmp, "cycle-0", NULL);
  g_assert_cmpint (g_mkdir (c.root, 0700), ==, 0);
  c.written = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  c.durable = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  c.batches = g_array_new (FALSE, FALSE, sizeof (Batch));
  c.rand = g_rand_new_with_seed (g_test_rand_int ());

  for (guint cycle = 1; cycle <= cycles; cycle++)
    {
      run_writer (&c, cycle);
      check_disk (&c, cycle, TRUE);
      check_disk (&c, cycle, FALSE);
    }

  g_test_message ("%s: %u cycles, %u writer steps, %u events acknowledged durable, %u batches checked, "
                  "%u cuts before the log existed; modes: drop-all %u, keep-all %u, subset %u, torn %u",
                  c.variant->name, cycles, c.n_steps, c.n_durable, c.n_batches_checked, c.n_lost_dirs,
                  c.n_modes[0], c.n_modes[1], c.n_modes[2], c.n_modes[3]);

  g_rand_free (c.rand);
  g_array_unref (c.batches);
  g_hash_table_unref (c.durable);
  g_hash_table_unref (c.written);
  redex_test_rm_rf (c.tmp);
  g_free (c.root);
  g_free (c.tmp);
}

/* The power goes now, and the disk keeps only what was synced (its state
 * is written to @out); the writer's handles are then dropped. */
static void
lose_power (NetRedex     *redex,
            NetRedexFile *file,
            const char   *out,
            GRand        *rand)
{
  redex_io_sim_crash_now ();
  redex_io_sim_materialize (out, SIM_CRASH_DROP_ALL, rand);
  net_redex_close (redex, NULL);
  g_object_unref (file);
  g_object_unref (redex);
  redex_io_sim_stop ();
}

/* The directory entries: a new database, three durable appends, and only
 * what was synced survives.  Before the log fsynced the parents of the
 * directories it creates, the log's directory entry was lost, and with
 * it every acknowledged event. */
static void
test_dir_entries (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  g_autofree char *out = g_build_filename (tmp, "after", NULL);
  g_autofree char *nested = g_build_filename (root, "a", "b", "db", NULL);
  g_autofree char *nested_after = g_build_filename (out, "a", "b", "db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  NetRedex *redex;
  NetRedexFile *file;

  redex_test_allow_warnings ();
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  redex_io_sim_start (root);

  redex = net_redex_new (nested, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 3; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      g_assert_cmpuint (net_redex_file_append_durable (file, p, &error), ==, i);
      g_assert_no_error (error);
    }

  lose_power (redex, file, out, rand);

  redex = net_redex_new_read_only (nested_after, &error);
  if (redex == NULL)
    g_error ("after the power cut: %s", error->message);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  if (file == NULL)
    g_error ("after the power cut, three durable events were acknowledged: %s", error->message);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 4);
  for (guint i = 1; i <= 3; i++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, i, &error);
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      g_assert_no_error (error);
      redex_test_assert_event (e, i, p);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (file);
  g_object_unref (redex);
  redex_test_rm_rf (tmp);
}

/* A sync that fails while the power stays on (the kernel may have dropped
 * the pages it was writing): the events written since the last good sync
 * are not durable, and close() must say so even though the syncs it would
 * make now succeed.  It returned TRUE without trying: a closed log looked
 * durable after the interval policy's background sync had failed, which
 * only a warning reported. */
static void
test_failed_sync (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  g_autofree char *out = g_build_filename (tmp, "after", NULL);
  g_autofree char *db = g_build_filename (root, "db", NULL);
  g_autofree char *db_after = g_build_filename (out, "db", NULL);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  NetRedex *redex;
  NetRedexFile *file;

  redex_test_allow_warnings ();
  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_NEVER, 0);
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);
  redex_io_sim_start (root);

  redex = net_redex_new (db, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 5; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 100);

      /* The first three durable, the last two not. */
      if (i <= 3)
        g_assert_cmpuint (net_redex_file_append_durable (file, p, &error), ==, i);
      else
        g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, i);
      g_assert_no_error (error);
    }

  redex_io_sim_fail_syncs (1);
  g_assert_false (net_redex_file_sync (file, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_IO);
  g_clear_error (&error);

  /* Events 4 and 5 are lost: close fails. */
  g_assert_false (net_redex_file_close (file, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_IO);
  g_clear_error (&error);

  lose_power (redex, file, out, rand);

  /* What was acknowledged is there, nothing more. */
  redex = net_redex_new_read_only (db_after, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 4);
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (file);
  g_object_unref (redex);
  redex_test_rm_rf (tmp);
}

/* g_ptr_array_sort() hands the comparator pointers to the elements. */
static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* A segment that becomes the active one again (a recovery dropped the
 * segments after it) loses the index of its earlier seal for good before
 * anything is appended to it.  Found after a power cut, that index made
 * the segment "sealed" with fewer records: the records appended since
 * became damaged slots in the middle of the log, before the next
 * segment's (test-db-powerloss, the interval policy). */
static void
test_stale_index (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *root = g_build_filename (tmp, "root", NULL);
  g_autofree char *out = g_build_filename (tmp, "after", NULL);
  g_autofree char *db = g_build_filename (root, "db", NULL);
  g_autofree char *db_after = g_build_filename (out, "db", NULL);
  g_autofree char *escaped = net_redex_name_to_dir_name (LOG_NAME);
  g_autofree char *log_dir = g_build_filename (db, "logs", escaped, NULL);
  g_autofree char *log_dir_after = g_build_filename (db_after, "logs", escaped, NULL);
  g_autofree char *first_idx = NULL;
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autoptr(GPtrArray) segments = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const char *entry;
  NetRedex *redex;
  NetRedexFile *file;

  redex_test_allow_warnings ();
  net_redex_config_set_segment_size (config, 4096);
  net_redex_config_set_fsync_policy (config, NET_FSYNC_POLICY_NEVER, 0);
  g_assert_cmpint (g_mkdir (root, 0700), ==, 0);

  /* Two sealed segments and an active one. */
  redex = net_redex_new (db, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 12; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (i, 1000);

      net_redex_file_append (file, p, &error);
      g_assert_no_error (error);
    }
  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
  g_object_unref (file);
  g_object_unref (redex);

  /* What a recovery leaves when it ends the log in the first segment:
   * the later segments are gone, the first one's index is still there. */
  dir = g_dir_open (log_dir, 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (entry, ".seg"))
      g_ptr_array_add (segments, g_strndup (entry, strlen (entry) - 4));
  g_ptr_array_sort (segments, compare_names);
  g_assert_cmpuint (segments->len, >=, 3);
  for (guint i = 1; i < segments->len; i++)
    {
      g_autofree char *seg = g_strdup_printf ("%s/%s.seg", log_dir, (char *) g_ptr_array_index (segments, i));
      g_autofree char *idx = g_strdup_printf ("%s/%s.idx", log_dir, (char *) g_ptr_array_index (segments, i));

      g_unlink (seg);
      g_unlink (idx);
    }
  first_idx = g_strdup_printf ("%s.idx", (char *) g_ptr_array_index (segments, 0));
  {
    g_autofree char *path = g_build_filename (log_dir, first_idx, NULL);

    g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  }

  /* The writer opens it (the first segment is the active one again) and
   * the power goes: nothing unsynced survives. */
  redex_io_sim_start (root);
  redex = net_redex_new (db, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  g_assert_no_error (error);
  lose_power (redex, file, out, rand);

  {
    g_autofree char *path = g_build_filename (log_dir_after, first_idx, NULL);

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      g_error ("the active segment's old index %s survived a power cut", first_idx);
  }
  redex_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/redex/powerloss/dir-entries", test_dir_entries);
  g_test_add_func ("/redex/powerloss/stale-index", test_stale_index);
  g_test_add_func ("/redex/powerloss/failed-sync", test_failed_sync);
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *path = g_strdup_printf ("/redex/powerloss/%s", variants[i].name);

      g_test_add_data_func (path, &variants[i], test_powerloss);
    }

  return g_test_run ();
}
