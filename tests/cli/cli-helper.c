/* cli-helper.c: what the `netdb` command cannot do for test_node_cli.py
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   netdb-cli-helper fill DIR FIRST_ID N
 *     Adds the tasks FIRST_ID … FIRST_ID + N - 1 (titled “task ID”) to the
 *     database in DIR with one open, fast: a large leader in seconds.
 *
 *   netdb-cli-helper fill-mixed DIR SEED N
 *     Appends N mixed task and memory events (creates, renames, completions,
 *     stores, retags, pins, unpins, deletes), chosen by a GRand seeded with
 *     SEED, to the database in DIR with one open.  Prints the two logs'
 *     applied seqs.
 *
 *   netdb-cli-helper forward DIR IDENTITY LEADER_ADDR LEADER_KEY FIRST_ID N
 *     Runs a follower of the leader with write forwarding on DIR, adds the
 *     tasks FIRST_ID … FIRST_ID + N - 1 through it, and exits 0 once all of
 *     them came back replicated; 1 on a forward failure, or when they do
 *     not within the timeout (NETDB_CLI_HELPER_TIMEOUT seconds, default 120).
 */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <netdb/netdb.h>

static int
usage (void)
{
  g_printerr ("usage: netdb-cli-helper fill DIR FIRST_ID N\n"
              "       netdb-cli-helper fill-mixed DIR SEED N\n"
              "       netdb-cli-helper forward DIR IDENTITY LEADER_ADDR LEADER_KEY FIRST_ID N\n");
  return 2;
}

static int
failed (GError *error)
{
  g_printerr ("netdb-cli-helper: %s\n", error->message);
  g_error_free (error);
  return 1;
}

static NetDb *
open_fast (const char  *dir,
           GError     **error)
{
  g_autoptr(NetDbBuilder) builder = net_db_builder_new ();

  net_db_builder_persistent_dir (builder, dir);
  net_db_builder_with_tasks (builder);
  net_db_builder_with_memories (builder);
  /* Closing syncs; nothing here needs each append to be durable. */
  net_db_builder_fsync_policy (builder, NET_FSYNC_POLICY_NEVER, 0);

  return net_db_builder_build (builder, error);
}

static int
cmd_fill (const char *dir,
          guint64     first_id,
          guint64     n)
{
  g_autoptr(NetDb) db = NULL;
  GError *error = NULL;
  NetDbTasks *tasks;

  if (!(db = open_fast (dir, &error)))
    return failed (error);

  tasks = net_db_get_tasks (db);
  for (guint64 id = first_id; id < first_id + n; id++)
    {
      g_autofree char *title = g_strdup_printf ("task %" G_GUINT64_FORMAT, id);

      if (net_db_tasks_create (tasks, id, title, 0, &error) == 0)
        return failed (error);
    }

  if (!net_db_close (db, &error))
    return failed (error);

  g_print ("%" G_GUINT64_FORMAT "\n", net_db_tasks_get_applied_seq (tasks));

  return 0;
}

/* Removes and returns a random element of @ids (which is not empty). */
static guint64
take_random (GArray *ids,
             GRand  *rand)
{
  guint i = g_rand_int_range (rand, 0, ids->len);
  guint64 id = g_array_index (ids, guint64, i);

  g_array_index (ids, guint64, i) = g_array_index (ids, guint64, ids->len - 1);
  g_array_set_size (ids, ids->len - 1);

  return id;
}

static guint64
pick_random (GArray *ids,
             GRand  *rand)
{
  return g_array_index (ids, guint64, g_rand_int_range (rand, 0, ids->len));
}

static int
cmd_fill_mixed (const char *dir,
                guint64     seed,
                guint64     n)
{
  static const char * const words[] = { "alpha", "beta", "gamma", "delta", "Omega", "café" };
  static const char * const tags[] = { "work", "home", "idea", "todo", "read" };
  static const char * const sources[] = { "cli", "mail", "chat" };
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_autoptr(GArray) task_ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) memory_ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  GError *error = NULL;
  NetDbTasks *tasks;
  NetDbMemories *memories;
  guint64 next_id = 1;

  if (!(db = open_fast (dir, &error)))
    return failed (error);
  tasks = net_db_get_tasks (db);
  memories = net_db_get_memories (db);

  for (guint64 i = 0; i < n; i++)
    {
      guint r = g_rand_int_range (rand, 0, 100);
      g_autofree char *text = g_strdup_printf ("%s %s %" G_GUINT64_FORMAT,
                                               words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))],
                                               words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))],
                                               i);
      const char *some_tags[3] = { NULL, NULL, NULL };
      guint64 seq;

      for (guint t = 0, k = g_rand_int_range (rand, 0, 3); t < k; t++)
        some_tags[t] = tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (tags))];
      if (some_tags[1] != NULL && g_str_equal (some_tags[0], some_tags[1]))
        some_tags[1] = NULL;

      if (r < 35 || (r < 60 && task_ids->len == 0) ||
          (r >= 60 && memory_ids->len == 0))
        {
          if (r < 60)
            {
              seq = net_db_tasks_create (tasks, next_id, text, 0, &error);
              g_array_append_val (task_ids, next_id);
            }
          else
            {
              seq = net_db_memories_store (memories, next_id, text, some_tags,
                                           sources[g_rand_int_range (rand, 0, G_N_ELEMENTS (sources))],
                                           0, &error);
              g_array_append_val (memory_ids, next_id);
            }
          next_id++;
        }
      else if (r < 45)
        seq = net_db_tasks_rename (tasks, pick_random (task_ids, rand), text, 0, &error);
      else if (r < 55)
        seq = net_db_tasks_complete (tasks, take_random (task_ids, rand), 0, &error);
      else if (r < 60)
        seq = net_db_tasks_delete (tasks, take_random (task_ids, rand), &error);
      else if (r < 85)
        {
          seq = net_db_memories_store (memories, next_id, text, some_tags,
                                       sources[g_rand_int_range (rand, 0, G_N_ELEMENTS (sources))],
                                       0, &error);
          g_array_append_val (memory_ids, next_id);
          next_id++;
        }
      else if (r < 91)
        seq = net_db_memories_retag (memories, pick_random (memory_ids, rand), some_tags, 0, &error);
      else if (r < 95)
        seq = net_db_memories_pin (memories, pick_random (memory_ids, rand), 0, &error);
      else if (r < 98)
        seq = net_db_memories_unpin (memories, pick_random (memory_ids, rand), 0, &error);
      else
        seq = net_db_memories_delete (memories, take_random (memory_ids, rand), &error);

      if (seq == 0)
        return failed (error);
    }

  if (!net_db_close (db, &error))
    return failed (error);

  g_print ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
           net_db_tasks_get_applied_seq (tasks),
           net_db_memories_get_applied_seq (memories));

  return 0;
}

typedef struct
{
  GMainLoop  *loop;
  NetDb      *db;
  guint64     first_id;
  guint64     n;
  int         status;
  guint       poll_id;
  guint       timeout_id;
} Forward;

static gboolean
forward_all_back (Forward *fwd)
{
  NetDbTasks *tasks = net_db_get_tasks (fwd->db);

  for (guint64 id = fwd->first_id; id < fwd->first_id + fwd->n; id++)
    {
      g_autoptr(NetTask) task = net_db_tasks_get (tasks, id);

      if (task == NULL)
        return FALSE;
    }

  return TRUE;
}

static gboolean
forward_poll_cb (gpointer user_data)
{
  Forward *fwd = user_data;

  if (!forward_all_back (fwd))
    return G_SOURCE_CONTINUE;

  fwd->poll_id = 0;
  fwd->status = 0;
  g_main_loop_quit (fwd->loop);

  return G_SOURCE_REMOVE;
}

static gboolean
forward_timeout_cb (gpointer user_data)
{
  Forward *fwd = user_data;

  g_printerr ("netdb-cli-helper: the forwarded tasks did not come back in time\n");
  fwd->timeout_id = 0;
  fwd->status = 1;
  g_main_loop_quit (fwd->loop);

  return G_SOURCE_REMOVE;
}

static void
forward_failed_cb (NetDb        *db,
                   const GError *error,
                   gpointer      user_data)
{
  Forward *fwd = user_data;

  g_printerr ("netdb-cli-helper: forward failed: %s\n", error->message);
  fwd->status = 1;
  g_main_loop_quit (fwd->loop);
}

static int
cmd_forward (const char *dir,
             const char *identity_path,
             const char *leader_address,
             const char *leader_key,
             guint64     first_id,
             guint64     n)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(NetIdentity) identity = NULL;
  g_autoptr(NetNode) node = NULL;
  g_autoptr(NetDb) db = NULL;
  const char *timeout_env = g_getenv ("NETDB_CLI_HELPER_TIMEOUT");
  guint timeout_s = timeout_env != NULL ? (guint) atoi (timeout_env) : 120;
  Forward fwd = { loop, NULL, first_id, n, 1, 0, 0 };
  GError *error = NULL;
  NetDbTasks *tasks;

  if (!(identity = net_identity_load (identity_path, &error)) ||
      !(node = net_node_new (identity, "127.0.0.1:0", &error)) ||
      !net_node_add_peer (node, leader_key, leader_address, &error) ||
      !(db = net_db_new (dir, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error)))
    return failed (error);

  fwd.db = db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &fwd);

  if (!net_node_follow_db (node, db, leader_key, TRUE, &error) ||
      !net_node_start (node, &error))
    return failed (error);

  tasks = net_db_get_tasks (db);
  for (guint64 id = first_id; id < first_id + n; id++)
    {
      g_autofree char *title = g_strdup_printf ("forwarded %" G_GUINT64_FORMAT, id);

      /* Queued for the leader: 0 without an error. */
      net_db_tasks_create (tasks, id, title, 0, &error);
      if (error != NULL)
        return failed (error);
    }

  fwd.poll_id = g_timeout_add (50, forward_poll_cb, &fwd);
  fwd.timeout_id = g_timeout_add_seconds (timeout_s, forward_timeout_cb, &fwd);
  g_main_loop_run (loop);
  g_clear_handle_id (&fwd.poll_id, g_source_remove);
  g_clear_handle_id (&fwd.timeout_id, g_source_remove);

  net_node_stop (node);
  g_signal_handlers_disconnect_by_data (db, &fwd);
  if (!net_db_close (db, &error))
    return failed (error);

  return fwd.status;
}

static gboolean
parse_u64 (const char *text,
           guint64    *value)
{
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, value, NULL);
}

int
main (int   argc,
      char *argv[])
{
  guint64 first_id;
  guint64 seed;
  guint64 n;

  if (argc == 5 && g_str_equal (argv[1], "fill") &&
      parse_u64 (argv[3], &first_id) && parse_u64 (argv[4], &n))
    return cmd_fill (argv[2], first_id, n);

  if (argc == 5 && g_str_equal (argv[1], "fill-mixed") &&
      parse_u64 (argv[3], &seed) && parse_u64 (argv[4], &n))
    return cmd_fill_mixed (argv[2], seed, n);

  if (argc == 8 && g_str_equal (argv[1], "forward") &&
      parse_u64 (argv[6], &first_id) && parse_u64 (argv[7], &n))
    return cmd_forward (argv[2], argv[3], argv[4], argv[5], first_id, n);

  return usage ();
}
