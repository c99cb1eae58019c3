/* test-cluster.c: leaders and followers on 127.0.0.1, end to end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Real NetNodes with persistent databases in temporary directories, all on
 * the default main context of this one process, with the node's timers
 * shortened through its test hooks.  A leader writes a deterministic mix of
 * task and memory mutations through the public API; every follower must end
 * with the same logs, byte for byte (seq, timestamp and payload of every
 * event, read back through NetRedex), and answer every query the same.
 *
 * NETDB_TEST_CLUSTER_EVENTS sets how many events the leader writes (the
 * default is the 'unit' size; meson's 'slow' suite runs 100 000).
 * NETDB_TEST_TIME_FACTOR stretches every wait (sanitizer builds).
 * Waits never assert a duration: they only bound a hang.
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include <sodium.h>

#include "net-codec-private.h"
#include "net-db-private.h"
#include "net-event-meta-private.h"
#include "net-node-private.h"

#define T0                 G_GINT64_CONSTANT (1700000000000000)
#define DEFAULT_EVENTS     20000
#define WAIT_SECONDS       120

/* Shortened timers: keepalive, dead interval, handshake retry (ms) of the
 * node; heartbeat, pull and forward timeouts of replication. */
#define KEEPALIVE_MS       100
#define DEAD_MS            1500
#define HANDSHAKE_RETRY_MS 100
#define HEARTBEAT_MS       200
#define PULL_TIMEOUT_MS    200
#define FORWARD_TIMEOUT_MS 1000

static guint n_events;   /* from NETDB_TEST_CLUSTER_EVENTS */

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

static gint64
deadline_after (guint seconds)
{
  const char *env = g_getenv ("NETDB_TEST_TIME_FACTOR");
  guint64 factor = env != NULL ? g_ascii_strtoull (env, NULL, 10) : 1;

  return g_get_monotonic_time () + (gint64) seconds * (gint64) MAX (factor, 1) * G_USEC_PER_SEC;
}

/* One blocking iteration; a ticking source in the fixture bounds it. */
static void
spin_once (void)
{
  g_main_context_iteration (NULL, TRUE);
}

/* Everything that is ready now, without blocking. */
static void
spin_ready (void)
{
  for (guint i = 0; i < 1000 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* A member of the cluster: an identity, its node and its database. */
typedef struct
{
  const char   *name;
  char         *dir;
  NetIdentity  *identity;
  NetNode      *node;
  NetDb        *db;
  guint16       port;
  NetRedexConfig *config;          /* nullable: the logs' configuration */
  NetPeerRole   role;              /* what the leader admits it as */

  /* Follower-side checks, connected to the db's models. */
  guint64       opened_at[2];      /* applied-seq per log when the db opened */
  guint64       last_changed[2];   /* last seq of the last ::changed per log, 0: none yet */
  guint64       last_applied[2];   /* applied-seq at its last notify */
  guint         n_order_errors;
  guint64       snapshots_seen[2]; /* re-bootstraps that explained a jump, per log */
  guint         n_changed;
  guint         n_forward_failed;
  GString      *forward_errors;
} Member;

typedef struct
{
  char          *root;
  Member         m[3];
  guint          n;
  gboolean       lossy;
  gboolean       retention;   /* the leader drops old segments */
  NetNodeLossy   lossy_config;
  guint          tick;
} Cluster;

enum { LOG_TASKS, LOG_MEMORIES, N_LOGS };
static const char *const log_names[N_LOGS] = { "tasks", "memories" };

static void
cluster_setup (Cluster       *c,
               gconstpointer  data)
{
  static const char *const names[] = { "leader", "follower1", "follower2" };

  c->root = g_dir_make_tmp ("netdb-cluster-XXXXXX", NULL);
  g_assert_nonnull (c->root);
  for (guint i = 0; i < G_N_ELEMENTS (c->m); i++)
    {
      Member *m = &c->m[i];

      m->name = names[i];
      m->dir = g_build_filename (c->root, names[i], NULL);
      m->identity = net_identity_generate ();
      m->forward_errors = g_string_new (NULL);
    }
  c->tick = g_timeout_add (20, tick_cb, NULL);
}

static void member_stop (Member *m);

static void
cluster_teardown (Cluster       *c,
                  gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (c->m); i++)
    {
      Member *m = &c->m[i];

      member_stop (m);
      g_clear_object (&m->identity);
      g_clear_object (&m->config);
      g_string_free (m->forward_errors, TRUE);
      g_free (m->dir);
    }
  g_source_remove (c->tick);
  spin_ready ();
  rm_rf (c->root);
  g_free (c->root);
}

static const char *
member_public_key (Member *m)
{
  return net_identity_get_public_key (m->identity);
}

static NetDb *
open_db (const char     *dir,
         NetRedexConfig *config)
{
  g_autoptr(GError) error = NULL;
  NetDbOptions options = {
    .path = dir,
    .models = NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES,
    .config = config,
  };
  NetDb *db = _net_db_open (&options, &error);

  g_assert_no_error (error);
  g_assert_nonnull (db);
  return db;
}

static guint64
applied_seq (NetDb *db,
             guint  log)
{
  return log == LOG_TASKS ? net_db_tasks_get_applied_seq (net_db_get_tasks (db))
                          : net_db_memories_get_applied_seq (net_db_get_memories (db));
}

/* Nothing a follower folds may come twice or out of order: every ::changed
 * batch starts right after the previous one, and applied-seq only grows.
 * The first batch after an open may start before the seq the open
 * reached: an open folds the log after its checkpoint at once and
 * delivers that from its first dispatch. */
static void
on_changed (GObject *model,
            guint64  first_seq,
            guint64  last_seq,
            Member  *m)
{
  guint log = NET_IS_DB_TASKS (model) ? LOG_TASKS : LOG_MEMORIES;

  m->n_changed++;
  /* A re-bootstrap from a snapshot restarts the log further on: one jump
   * forward per log and snapshot restored. */
  {
    guint64 restored = m->node != NULL ? net_node_get_counter (m->node, "repl-snapshots-restored") : 0;
    guint64 base = m->last_changed[log] != 0 ? m->last_changed[log] : m->opened_at[log];

    if (first_seq > base + 1 && restored > m->snapshots_seen[log])
      {
        m->snapshots_seen[log] = restored;
        m->last_changed[log] = first_seq - 1;
      }
  }
  if (last_seq < first_seq ||
      (m->last_changed[log] == 0 && first_seq > m->opened_at[log] + 1) ||
      (m->last_changed[log] != 0 && first_seq != m->last_changed[log] + 1))
    {
      g_test_message ("%s: %s ::changed (%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                      ") after %" G_GUINT64_FORMAT, m->name, log_names[log],
                      first_seq, last_seq, m->last_changed[log]);
      m->n_order_errors++;
    }
  m->last_changed[log] = last_seq;
}

static void
on_applied_seq (GObject    *model,
                GParamSpec *pspec,
                Member     *m)
{
  guint log = NET_IS_DB_TASKS (model) ? LOG_TASKS : LOG_MEMORIES;
  guint64 seq = 0;

  g_object_get (model, "applied-seq", &seq, NULL);
  if (seq < m->last_applied[log])
    {
      g_test_message ("%s: %s applied-seq went back from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                      m->name, log_names[log], m->last_applied[log], seq);
      m->n_order_errors++;
    }
  m->last_applied[log] = seq;
}

static void
on_forward_failed (NetDb  *db,
                   GError *error,
                   Member *m)
{
  m->n_forward_failed++;
  g_string_append_printf (m->forward_errors, "%s;", error != NULL ? error->message : "(null)");
}

static void
member_open (Member *m)
{
  g_assert_null (m->db);
  m->db = open_db (m->dir, m->config);
  /* A reopened db continues from its own tail. */
  for (guint log = 0; log < N_LOGS; log++)
    {
      m->opened_at[log] = m->last_applied[log] = applied_seq (m->db, log);
      m->last_changed[log] = 0;
    }
  g_signal_connect (net_db_get_tasks (m->db), "changed", G_CALLBACK (on_changed), m);
  g_signal_connect (net_db_get_memories (m->db), "changed", G_CALLBACK (on_changed), m);
  g_signal_connect (net_db_get_tasks (m->db), "notify::applied-seq", G_CALLBACK (on_applied_seq), m);
  g_signal_connect (net_db_get_memories (m->db), "notify::applied-seq", G_CALLBACK (on_applied_seq), m);
}

static gboolean
try_make_node (Cluster  *c,
               Member   *m,
               guint16   port,
               GError  **error)
{
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(NetNode) node = net_node_new (m->identity, listen, error);
  const char *local;

  if (node == NULL)
    return FALSE;
  _net_node_set_timing (node, KEEPALIVE_MS, DEAD_MS, HANDSHAKE_RETRY_MS);
  if (c->lossy)
    _net_node_set_lossy (node, &c->lossy_config);

  local = net_node_get_local_address (node);
  g_assert_nonnull (local);
  g_assert_true (g_str_has_prefix (local, "127.0.0.1:"));
  m->port = (guint16) g_ascii_strtoull (local + strlen ("127.0.0.1:"), NULL, 10);
  g_assert_cmpuint (m->port, !=, 0);
  m->node = g_steal_pointer (&node);
  return TRUE;
}

/* A node on @port (0: any); when @port is taken, on any port. */
static void
member_make_node (Cluster *c,
                  Member  *m,
                  guint16  port)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (m->node);
  m->snapshots_seen[0] = m->snapshots_seen[1] = 0;
  if (try_make_node (c, m, port, &error))
    return;
  g_assert_cmpuint (port, !=, 0);
  g_test_message ("%s: port %u is taken (%s); using another one", m->name, port, error->message);
  g_clear_error (&error);
  g_assert_true (try_make_node (c, m, 0, &error));
  g_assert_no_error (error);
}

static char *
member_address (Member *m)
{
  return g_strdup_printf ("127.0.0.1:%u", m->port);
}

static void
member_start (Member *m)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_node_start (m->node, &error));
  g_assert_no_error (error);
  g_assert_true (net_node_get_running (m->node));
}

/* Starts @c->m[0] as the leader of its db, admitting the followers 1..n-1. */
static void
leader_start (Cluster *c,
              guint16  port)
{
  Member *leader = &c->m[0];
  g_autoptr(GError) error = NULL;

  if (leader->db == NULL)
    member_open (leader);
  member_make_node (c, leader, port);
  for (guint i = 1; i < c->n; i++)
    {
      g_assert_true (net_node_add_peer_with_role (leader->node, member_public_key (&c->m[i]),
                                                  NULL, c->m[i].role, &error));
      g_assert_no_error (error);
    }
  g_assert_true (net_node_serve_db (leader->node, leader->db, &error));
  g_assert_no_error (error);
  g_assert_nonnull (_net_node_get_leader_repl (leader->node));
  _net_repl_set_timing (_net_node_get_leader_repl (leader->node),
                        HEARTBEAT_MS, PULL_TIMEOUT_MS, FORWARD_TIMEOUT_MS);
  member_start (leader);
}

static void
follower_start (Cluster  *c,
                guint     i,
                gboolean  forward_writes)
{
  Member *leader = &c->m[0];
  Member *m = &c->m[i];
  g_autofree char *leader_address = member_address (leader);
  g_autoptr(GError) error = NULL;

  if (m->db == NULL)
    member_open (m);
  g_signal_connect (m->db, "forward-failed", G_CALLBACK (on_forward_failed), m);
  member_make_node (c, m, 0);
  g_assert_true (net_node_add_peer (m->node, member_public_key (leader), leader_address, &error));
  g_assert_no_error (error);
  g_assert_true (net_node_follow_db (m->node, m->db, member_public_key (leader), forward_writes, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_get_following (m->db));
  g_assert_nonnull (_net_node_get_follower_repl (m->node));
  _net_repl_set_timing (_net_node_get_follower_repl (m->node),
                        HEARTBEAT_MS, PULL_TIMEOUT_MS, FORWARD_TIMEOUT_MS);
  member_start (m);
}

/* Stops the node and closes the db without waiting for anything: what a
 * killed process leaves behind, minus the page cache. */
static void
member_stop (Member *m)
{
  if (m->node != NULL)
    {
      net_node_stop (m->node);
      g_clear_object (&m->node);
    }
  if (m->db != NULL)
    {
      g_autoptr(GError) error = NULL;

      g_signal_handlers_disconnect_by_data (net_db_get_tasks (m->db), m);
      g_signal_handlers_disconnect_by_data (net_db_get_memories (m->db), m);
      g_signal_handlers_disconnect_by_data (m->db, m);
      g_assert_true (net_db_close (m->db, &error));
      g_assert_no_error (error);
      g_clear_object (&m->db);
    }
}

static void
cluster_dump (Cluster *c)
{
  for (guint i = 0; i < c->n; i++)
    {
      Member *m = &c->m[i];
      g_autofree char *counters = NULL;

      if (m->node != NULL)
        {
          g_autoptr(GVariant) v = net_node_get_counters (m->node);

          counters = v != NULL ? g_variant_print (v, FALSE) : NULL;
        }
      g_printerr ("# %s: tasks applied %" G_GUINT64_FORMAT ", memories applied %" G_GUINT64_FORMAT
                  ", counters %s\n", m->name,
                  m->db != NULL ? applied_seq (m->db, LOG_TASKS) : 0,
                  m->db != NULL ? applied_seq (m->db, LOG_MEMORIES) : 0,
                  counters != NULL ? counters : "-");
    }
}

/* Spins the main context until @expr holds; fails the test (with the state
 * of every member) instead of hanging. */
#define WAIT_UNTIL(c, expr, seconds)                                     \
  G_STMT_START {                                                         \
    gint64 deadline_ = deadline_after (seconds);                         \
    while (!(expr))                                                      \
      {                                                                  \
        if (g_get_monotonic_time () > deadline_)                         \
          {                                                              \
            g_printerr ("# timed out waiting for: %s\n", #expr);         \
            cluster_dump (c);                                            \
            g_assert_true (expr);                                        \
            break;                                                       \
          }                                                              \
        spin_once ();                                                    \
      }                                                                  \
  } G_STMT_END

static gboolean
peers_up (Cluster *c)
{
  for (guint i = 1; i < c->n; i++)
    if (c->m[i].node == NULL)
      continue;
    else if (!net_node_is_peer_up (c->m[i].node, member_public_key (&c->m[0])) ||
        !net_node_is_peer_up (c->m[0].node, member_public_key (&c->m[i])))
      return FALSE;
  return TRUE;
}

/* Every running follower has folded exactly what the leader holds. */
static gboolean
converged (Cluster *c)
{
  for (guint i = 1; i < c->n; i++)
    for (guint log = 0; log < N_LOGS; log++)
      if (c->m[i].db != NULL && applied_seq (c->m[i].db, log) != applied_seq (c->m[0].db, log))
        return FALSE;
  return TRUE;
}

static guint64
counter (Member     *m,
         const char *name)
{
  return net_node_get_counter (m->node, name);
}

/* The workload -------------------------------------------------------------- */

static const char *const words[] = {
  "alpha", "beta", "gamma", "delta", "Été", "naïve", "Straße", "review",
  "build", "ship", "lunch", "call", "écrire", "ÉCOLE",
};
static const char *const tag_pool[] = { "work", "home", "urgent", "later", "idea", "ref" };
static const char *const sources[] = { "chat", "mail", "notes" };

typedef struct
{
  GRand   *rand;
  NetDb   *db;
  GArray  *tasks;      /* guint64 ids that exist */
  GArray  *memories;
  guint64  next_task_id;
  guint64  next_memory_id;
  guint64  step;
  guint64  last_seq[N_LOGS];
  guint64  n_log[N_LOGS];     /* events written per log */
  guint    n_written;
  gboolean shared;            /* followers forward into the same logs */
} Workload;

static Workload *
workload_new (NetDb   *db,
              guint32  seed)
{
  Workload *w = g_new0 (Workload, 1);

  w->rand = g_rand_new_with_seed (seed);
  w->db = db;
  w->tasks = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->memories = g_array_new (FALSE, FALSE, sizeof (guint64));
  w->next_task_id = 1;
  w->next_memory_id = 1;
  return w;
}

static void
workload_free (Workload *w)
{
  g_rand_free (w->rand);
  g_array_unref (w->tasks);
  g_array_unref (w->memories);
  g_free (w);
}

static guint64
pick (Workload *w,
      GArray   *ids,
      guint    *index)
{
  *index = g_rand_int_range (w->rand, 0, (gint32) ids->len);
  return g_array_index (ids, guint64, *index);
}

static char *
make_title (Workload *w,
            guint64   id)
{
  return g_strdup_printf ("%s %s #%" G_GUINT64_FORMAT,
                          words[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (words))],
                          words[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (words))], id);
}

static void
make_tags (Workload    *w,
           const char **tags)
{
  guint n = g_rand_int_range (w->rand, 0, 4);
  guint k = 0;

  for (guint i = 0; i < n; i++)
    {
      const char *t = tag_pool[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (tag_pool))];
      gboolean dup = FALSE;

      for (guint j = 0; j < k; j++)
        dup |= g_str_equal (tags[j], t);
      if (!dup)
        tags[k++] = t;
    }
  tags[k] = NULL;
}

/* One mutation on the leader; returns the log it went to. */
static void
workload_step (Workload *w)
{
  NetDbTasks *tasks = net_db_get_tasks (w->db);
  NetDbMemories *memories = net_db_get_memories (w->db);
  g_autoptr(GError) error = NULL;
  gint64 ts = T0 + (gint64) (++w->step) * 1000;
  guint r = g_rand_int_range (w->rand, 0, 100);
  guint index;
  guint64 id, seq;
  guint log;

  if (r < 60)
    {
      log = LOG_TASKS;
      if (r < 22 || w->tasks->len == 0)
        {
          g_autofree char *title = NULL;

          id = w->next_task_id++;
          title = make_title (w, id);
          seq = net_db_tasks_create (tasks, id, title, ts, &error);
          g_array_append_val (w->tasks, id);
        }
      else if (r < 34)
        {
          g_autofree char *title = NULL;

          id = pick (w, w->tasks, &index);
          title = make_title (w, id);
          seq = net_db_tasks_rename (tasks, id, title, ts, &error);
        }
      else if (r < 48)
        {
          id = pick (w, w->tasks, &index);
          seq = net_db_tasks_complete (tasks, id, ts, &error);
        }
      else if (r < 52)
        {
          g_autofree char *title = NULL;

          /* A create of an existing id replaces it. */
          id = pick (w, w->tasks, &index);
          title = make_title (w, id);
          seq = net_db_tasks_create (tasks, id, title, ts, &error);
        }
      else if (r < 57)
        {
          id = pick (w, w->tasks, &index);
          seq = net_db_tasks_delete (tasks, id, &error);
          g_array_remove_index_fast (w->tasks, index);
        }
      else
        {
          /* An unknown id: the writer refuses it and logs nothing
           * (issue 14, item 3; before that it was logged as a no-op). */
          seq = net_db_tasks_complete (tasks, w->next_task_id + 1000000, ts, &error);
          if (g_error_matches (error, NET_ERROR, NET_ERROR_NOT_FOUND))
            {
              /* Still one mutation per step: another one. */
              g_assert_cmpuint (seq, ==, 0);
              g_clear_error (&error);
              workload_step (w);
              return;
            }
        }
    }
  else
    {
      const char *tags[5];

      log = LOG_MEMORIES;
      make_tags (w, tags);
      if (r < 72 || w->memories->len == 0)
        {
          g_autofree char *content = NULL;

          id = w->next_memory_id++;
          content = make_title (w, id);
          seq = net_db_memories_store (memories, id, content, tags,
                                       sources[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (sources))],
                                       ts, &error);
          g_array_append_val (w->memories, id);
        }
      else if (r < 77)
        {
          g_autofree char *content = NULL;

          id = pick (w, w->memories, &index);
          content = make_title (w, id);
          seq = net_db_memories_store (memories, id, content, tags,
                                       sources[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (sources))],
                                       ts, &error);
        }
      else if (r < 85)
        {
          id = pick (w, w->memories, &index);
          seq = net_db_memories_retag (memories, id, tags, ts, &error);
        }
      else if (r < 92)
        {
          id = pick (w, w->memories, &index);
          seq = net_db_memories_pin (memories, id, ts, &error);
        }
      else if (r < 96)
        {
          id = pick (w, w->memories, &index);
          seq = net_db_memories_unpin (memories, id, ts, &error);
        }
      else
        {
          id = pick (w, w->memories, &index);
          seq = net_db_memories_delete (memories, id, &error);
          g_array_remove_index_fast (w->memories, index);
        }
    }

  g_assert_no_error (error);
  /* Gapless, unless forwarded events of a follower come in between. */
  if (!w->shared)
    g_assert_cmpuint (seq, ==, w->last_seq[log] + 1);
  g_assert_cmpuint (seq, >, w->last_seq[log]);
  w->last_seq[log] = seq;
  w->n_log[log]++;
  w->n_written++;
}

/* @n events on the leader, letting the main context run between batches so
 * that replication proceeds while the leader writes. */
static void
workload_run (Workload *w,
              guint     n,
              gboolean  interleave)
{
  for (guint i = 0; i < n; i++)
    {
      workload_step (w);
      if (interleave && i % 500 == 499)
        spin_ready ();
    }
}

/* Comparing states ----------------------------------------------------------- */

static void
dump_task (GString *s,
           NetTask *t)
{
  g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT "\n",
                          net_task_get_id (t), net_task_get_title (t),
                          (int) net_task_get_status (t),
                          net_task_get_created_at (t), net_task_get_updated_at (t));
}

static void
dump_memory (GString   *s,
             NetMemory *m)
{
  g_autofree char *tags = g_strjoinv (",", (char **) net_memory_get_tags (m));

  g_string_append_printf (s, "%" G_GUINT64_FORMAT ":%s:%s:%s:%d:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT "\n",
                          net_memory_get_id (m), net_memory_get_content (m), tags,
                          net_memory_get_source (m), net_memory_get_pinned (m),
                          net_memory_get_created_at (m), net_memory_get_updated_at (m));
}

static char *
dump_items (GPtrArray *items)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%u items\n", items->len);
  for (guint i = 0; i < items->len; i++)
    {
      gpointer item = g_ptr_array_index (items, i);

      if (NET_IS_TASK (item))
        dump_task (s, item);
      else
        dump_memory (s, item);
    }
  return g_string_free (s, FALSE);
}

static char *
tasks_query (NetDb          *db,
             NetTasksFilter *filter)
{
  NetDbTasks *tasks = net_db_get_tasks (db);
  g_autoptr(GPtrArray) items = net_db_tasks_find_many (tasks, filter);
  char *dump = dump_items (items);
  char *result = g_strdup_printf ("count %u\n%s", net_db_tasks_count (tasks, filter), dump);

  g_free (dump);
  return result;
}

static char *
memories_query (NetDb             *db,
                NetMemoriesFilter *filter)
{
  NetDbMemories *memories = net_db_get_memories (db);
  g_autoptr(GPtrArray) items = net_db_memories_find_many (memories, filter);
  char *dump = dump_items (items);
  char *result = g_strdup_printf ("count %u\n%s", net_db_memories_count (memories, filter), dump);

  g_free (dump);
  return result;
}

/* Every filter the models know, each alone and some combined. */
static GPtrArray *
tasks_filters (void)
{
  GPtrArray *filters = g_ptr_array_new_with_free_func (g_object_unref);
  static const char *const needles[] = { "alpha", "été", "STRASSE", "straße", "école", "#1", "nothing-like-this" };

  g_ptr_array_add (filters, net_tasks_filter_new ());
  for (int status = NET_TASK_STATUS_PENDING; status <= NET_TASK_STATUS_COMPLETED; status++)
    g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "status", status, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (needles); i++)
    g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "title-contains", needles[i], NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER,
                                          "created-after", T0 + 1000 * (gint64) (n_events / 4),
                                          "created-before", T0 + 1000 * (gint64) (n_events / 2),
                                          NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER,
                                          "updated-after", T0 + 1000 * (gint64) (n_events / 2),
                                          "status", NET_TASK_STATUS_COMPLETED, NULL));
  for (int order = NET_ORDER_BY_ID_ASC; order <= NET_ORDER_BY_UPDATED_DESC; order++)
    {
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", order, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", order,
                                              "limit", 50, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", order,
                                              "limit", 25, "offset", 100, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_TASKS_FILTER, "order-by", order,
                                              "status", NET_TASK_STATUS_PENDING,
                                              "title-contains", "e", "limit", 40, "offset", 7, NULL));
    }
  return filters;
}

static GPtrArray *
memories_filters (void)
{
  GPtrArray *filters = g_ptr_array_new_with_free_func (g_object_unref);
  static const char *const any[] = { "urgent", "idea", NULL };
  static const char *const all[] = { "work", "later", NULL };

  g_ptr_array_add (filters, net_memories_filter_new ());
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "source", sources[i], NULL));
  for (guint i = 0; i < G_N_ELEMENTS (tag_pool); i++)
    g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", tag_pool[i], NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "any-tags", any, NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "all-tags", all, NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", FALSE, NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "content-contains", "naïve", NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "content-contains", "ÉCOLE",
                                          "source", "mail", NULL));
  g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER,
                                          "created-after", T0 + 1000 * (gint64) (n_events / 3),
                                          "updated-before", T0 + 1000 * (gint64) (n_events * 3 / 4),
                                          NULL));
  for (int order = NET_ORDER_BY_ID_ASC; order <= NET_ORDER_BY_UPDATED_DESC; order++)
    {
      g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "order-by", order, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "order-by", order,
                                              "limit", 30, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "order-by", order,
                                              "limit", 20, "offset", 60, NULL));
      g_ptr_array_add (filters, g_object_new (NET_TYPE_MEMORIES_FILTER, "order-by", order,
                                              "pinned", TRUE, "tag", "work", "limit", 15, "offset", 3,
                                              NULL));
    }
  return filters;
}

static void
assert_same_queries (NetDb *leader,
                     NetDb *follower)
{
  g_autoptr(GPtrArray) tf = tasks_filters ();
  g_autoptr(GPtrArray) mf = memories_filters ();

  for (guint i = 0; i < tf->len; i++)
    {
      g_autofree char *a = tasks_query (leader, g_ptr_array_index (tf, i));
      g_autofree char *b = tasks_query (follower, g_ptr_array_index (tf, i));

      g_assert_cmpstr (a, ==, b);
    }
  for (guint i = 0; i < mf->len; i++)
    {
      g_autofree char *a = memories_query (leader, g_ptr_array_index (mf, i));
      g_autofree char *b = memories_query (follower, g_ptr_array_index (mf, i));

      g_assert_cmpstr (a, ==, b);
    }
}

/* The logs of the two databases are equal event for event: seq, timestamp
 * and payload (from where both hold events, when @with_retention; else
 * both must hold everything).  Fills in the next seq of each log. */
static void
assert_same_logs (NetDb    *a,
                  NetDb    *b,
                  gboolean  with_retention,
                  guint64  *next_seq)
{
  for (guint log = 0; log < N_LOGS; log++)
    {
      NetRedexFile *fa = _net_db_get_log (a, (NetDbLog) log);
      NetRedexFile *fb = _net_db_get_log (b, (NetDbLog) log);
      guint64 next, from;

      g_assert_nonnull (fa);
      g_assert_nonnull (fb);
      next = net_redex_file_get_next_seq (fa);
      g_assert_cmpuint (net_redex_file_get_next_seq (fb), ==, next);
      if (!with_retention)
        {
          g_assert_cmpuint (net_redex_file_get_first_seq (fa), <=, 1);
          g_assert_cmpuint (net_redex_file_get_first_seq (fb), <=, 1);
        }
      next_seq[log] = next;
      from = MAX (net_redex_file_get_first_seq (fa), net_redex_file_get_first_seq (fb));
      from = MAX (from, 1);

      for (guint64 start = from; start < next; start += 4096)
        {
          g_autoptr(GError) error = NULL;
          guint64 end = MIN (start + 4096, next);
          g_autoptr(GPtrArray) ea = net_redex_file_read_range (fa, start, end, &error);
          g_autoptr(GPtrArray) eb = NULL;

          g_assert_no_error (error);
          eb = net_redex_file_read_range (fb, start, end, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (ea->len, ==, end - start);
          g_assert_cmpuint (eb->len, ==, end - start);
          for (guint i = 0; i < ea->len; i++)
            {
              NetRedexEvent *x = g_ptr_array_index (ea, i);
              NetRedexEvent *y = g_ptr_array_index (eb, i);

              g_assert_cmpuint (net_redex_event_get_seq (x), ==, start + i);
              g_assert_cmpuint (net_redex_event_get_seq (y), ==, start + i);
              g_assert_cmpint (net_redex_event_get_timestamp (x), ==, net_redex_event_get_timestamp (y));
              g_assert_true (g_bytes_equal (net_redex_event_get_payload (x),
                                            net_redex_event_get_payload (y)));
            }
        }
    }
}

/* The followers hold what the leader holds: same logs, same answers, and
 * the folds saw every event once, in order. */
static void
assert_cluster_equal (Cluster *c)
{
  Member *leader = &c->m[0];

  for (guint i = 1; i < c->n; i++)
    {
      Member *m = &c->m[i];
      guint64 next[N_LOGS];

      if (m->db == NULL)
        continue;

      assert_same_logs (leader->db, m->db, c->retention, next);
      for (guint log = 0; log < N_LOGS; log++)
        {
          g_assert_cmpuint (applied_seq (m->db, log), ==, next[log] - 1);
          g_assert_cmpuint (applied_seq (leader->db, log), ==, next[log] - 1);
        }
      assert_same_queries (leader->db, m->db);
      g_assert_cmpuint (net_db_tasks_get_fold_errors (net_db_get_tasks (m->db)), ==, 0);
      g_assert_cmpuint (net_db_memories_get_fold_errors (net_db_get_memories (m->db)), ==, 0);
      g_assert_cmpuint (m->n_order_errors, ==, 0);
    }
}

/* The last seq the fold delivered (notify::applied-seq comes from every
 * delivery; ::changed only from those with events, not from a
 * re-bootstrap's). */
static guint64
delivered_seq (Member *m,
               guint   log)
{
  return m->last_applied[log];
}

/* Waits until the followers have folded everything the leader wrote; the
 * folds deliver ::changed from their own dispatches, so spin those too. */
static void
wait_converged (Cluster *c)
{
  WAIT_UNTIL (c, converged (c), WAIT_SECONDS);
  for (guint i = 1; i < c->n; i++)
    for (guint log = 0; log < N_LOGS && c->m[i].db != NULL; log++)
      WAIT_UNTIL (c, delivered_seq (&c->m[i], log) == applied_seq (c->m[0].db, log), WAIT_SECONDS);
}

/* Tests ----------------------------------------------------------------------- */

static void
run_replicate (Cluster  *c,
               guint     n_members,
               gboolean  lossy)
{
  Workload *w;

  c->n = n_members;
  c->lossy = lossy;
  c->lossy_config = (NetNodeLossy) {
    .drop_permille = 100,
    .duplicate_permille = 50,
    .reorder_permille = 50,
    .corrupt_permille = 10,
    .seed = g_test_rand_int (),
  };

  leader_start (c, 0);
  for (guint i = 1; i < c->n; i++)
    follower_start (c, i, FALSE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);

  /* Half before anyone catches up, half while they follow live. */
  w = workload_new (c->m[0].db, g_test_rand_int ());
  workload_run (w, n_events / 2, FALSE);
  workload_run (w, n_events - n_events / 2, TRUE);
  g_assert_cmpuint (w->last_seq[LOG_TASKS] + w->last_seq[LOG_MEMORIES], ==, n_events);

  wait_converged (c);
  assert_cluster_equal (c);

  for (guint i = 1; i < c->n; i++)
    {
      Member *m = &c->m[i];

      /* Each event was appended once (a duplicate would be a second
       * append or a refused one). */
      g_assert_cmpuint (counter (m, "repl-events-appended"), ==, n_events);
      g_assert_cmpuint (m->n_changed, >, 0);
    }

  if (lossy)
    {
      static const char *const faults[] = {
        "lossy-dropped", "lossy-duplicated", "lossy-reordered", "lossy-corrupted",
      };
      guint64 caught = 0;

      /* The network really was that bad... */
      for (guint k = 0; k < G_N_ELEMENTS (faults); k++)
        {
          guint64 sum = 0;

          for (guint i = 0; i < c->n; i++)
            sum += counter (&c->m[i], faults[k]);
          g_test_message ("%s on all nodes: %" G_GUINT64_FORMAT, faults[k], sum);
          g_assert_cmpuint (sum, >, 0);
        }
      /* ...and the corrupted datagrams were caught by the receivers. */
      for (guint i = 0; i < c->n; i++)
        caught += counter (&c->m[i], "dropped-auth") + counter (&c->m[i], "dropped-malformed");
      g_test_message ("dropped-auth + dropped-malformed on all nodes: %" G_GUINT64_FORMAT, caught);
      g_assert_cmpuint (caught, >, 0);
    }

  workload_free (w);
}

static void
test_two_nodes (Cluster       *c,
                gconstpointer  data)
{
  run_replicate (c, 2, FALSE);
}

static void
test_three_nodes (Cluster       *c,
                  gconstpointer  data)
{
  run_replicate (c, 3, FALSE);
}

static void
test_lossy_two_nodes (Cluster       *c,
                      gconstpointer  data)
{
  run_replicate (c, 2, TRUE);
}

static void
test_lossy_three_nodes (Cluster       *c,
                        gconstpointer  data)
{
  run_replicate (c, 3, TRUE);
}

/* Lets @budget datagrams through, then swallows every other one. */
static gboolean
budget_hook (NetNode        *node,
             GSocketAddress *address,
             const guint8   *data,
             gsize           len,
             gpointer        user_data)
{
  guint *budget = user_data;

  if (*budget == 0)
    return FALSE;
  (*budget)--;
  return TRUE;
}

/* The follower is killed in the middle of its catch-up and comes back on
 * the same directory: it continues from its own tail, with no gap. */
static void
test_follower_restart (Cluster       *c,
                       gconstpointer  data)
{
  Member *f = &c->m[1];
  Workload *w;
  guint64 tail[N_LOGS], total, appended;
  guint budget = 40;

  c->n = 2;
  leader_start (c, 0);
  w = workload_new (c->m[0].db, g_test_rand_int ());
  workload_run (w, MAX (n_events, 5000), FALSE);
  total = w->last_seq[LOG_TASKS] + w->last_seq[LOG_MEMORIES];

  /* The leader sends only a few datagrams (some EVENTS among them), so
   * that the follower is surely in the middle of its catch-up, with pulls
   * in flight, when it is killed. */
  _net_node_set_send_hook (c->m[0].node, budget_hook, &budget, NULL);
  follower_start (c, 1, FALSE);
  WAIT_UNTIL (c, budget == 0 && applied_seq (f->db, LOG_TASKS) + applied_seq (f->db, LOG_MEMORIES) > 0,
              WAIT_SECONDS);
  member_stop (f);
  _net_node_set_send_hook (c->m[0].node, NULL, NULL, NULL);

  member_open (f);
  for (guint log = 0; log < N_LOGS; log++)
    tail[log] = applied_seq (f->db, log);
  g_test_message ("follower reopened at tasks %" G_GUINT64_FORMAT ", memories %" G_GUINT64_FORMAT
                  " of %" G_GUINT64_FORMAT, tail[LOG_TASKS], tail[LOG_MEMORIES], total);
  g_assert_cmpuint (tail[LOG_TASKS] + tail[LOG_MEMORIES], >, 0);
  g_assert_cmpuint (tail[LOG_TASKS] + tail[LOG_MEMORIES], <, total);

  follower_start (c, 1, FALSE);
  /* More writes while it catches up again. */
  workload_run (w, n_events / 10, TRUE);
  total += n_events / 10;

  wait_converged (c);
  assert_cluster_equal (c);
  /* The new node appended exactly what the follower lacked. */
  g_assert_cmpuint (counter (f, "repl-events-appended"), ==, total - tail[LOG_TASKS] - tail[LOG_MEMORIES]);

  /* The leader restarts (same identity, same directory, same port if it
   * is still free) while the follower keeps running. */
  {
    Member *leader = &c->m[0];
    guint16 old_port = leader->port;

    appended = counter (f, "repl-events-appended");
    member_stop (leader);
    w->db = NULL;
    spin_ready ();
    member_open (leader);
    leader_start (c, old_port);
    w->db = leader->db;
    if (leader->port != old_port)
      {
        g_autofree char *address = member_address (leader);
        g_autoptr(GError) error = NULL;

        /* Adding a known peer again updates its address. */
        g_assert_true (net_node_add_peer (f->node, member_public_key (leader), address, &error));
        g_assert_no_error (error);
      }
  }
  workload_run (w, n_events / 10, TRUE);
  wait_converged (c);
  assert_cluster_equal (c);
  /* The follower went on from where it was: only the new events. */
  g_assert_cmpuint (counter (f, "repl-events-appended"), ==, appended + n_events / 10);

  workload_free (w);
}

/* Write forwarding ------------------------------------------------------------ */

static guint64
leader_log_length (Member *leader,
                   guint   log)
{
  return applied_seq (leader->db, log);
}

static gboolean
task_has_title (NetDb      *db,
                guint64     id,
                const char *title)
{
  g_autoptr(NetTask) task = net_db_tasks_get (net_db_get_tasks (db), id);

  return task != NULL && g_strcmp0 (net_task_get_title (task), title) == 0;
}

static gboolean
task_exists (NetDb   *db,
             guint64  id)
{
  g_autoptr(NetTask) task = net_db_tasks_get (net_db_get_tasks (db), id);

  return task != NULL;
}

static void
test_forward (Cluster       *c,
              gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  NetDbTasks *ftasks;
  g_autoptr(GError) error = NULL;
  guint64 base;

  c->n = 2;
  /* Forwarding needs the writer role. */
  f->role = NET_PEER_ROLE_WRITER;
  leader_start (c, 0);
  /* Something of the leader's own first. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (leader->db), 1000, "leader's", T0, &error), ==, 1);
  g_assert_no_error (error);

  follower_start (c, 1, TRUE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);
  ftasks = net_db_get_tasks (f->db);

  /* One create: 0 and no error at once; on the leader, then back here. */
  g_assert_cmpuint (net_db_tasks_create (ftasks, 1, "forwarded", T0 + 1, &error), ==, 0);
  g_assert_no_error (error);
  WAIT_UNTIL (c, task_has_title (leader->db, 1, "forwarded"), WAIT_SECONDS);
  WAIT_UNTIL (c, task_has_title (f->db, 1, "forwarded"), WAIT_SECONDS);
  g_assert_cmpuint (leader_log_length (leader, LOG_TASKS), ==, 2);

  /* Several: each depends on the one before, so any reordering or loss
   * shows in the final state. */
  for (guint i = 1; i <= 20; i++)
    {
      g_autofree char *title = g_strdup_printf ("v%u", i);

      g_assert_cmpuint (net_db_tasks_rename (ftasks, 1, title, T0 + 10 + i, &error), ==, 0);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (net_db_tasks_create (ftasks, 2, "short-lived", T0 + 40, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_complete (ftasks, 2, T0 + 41, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_delete (ftasks, 2, &error), ==, 0);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (f->db), 7, "a memory", NULL,
                                           "forward", T0 + 42, &error), ==, 0);
  g_assert_no_error (error);

  WAIT_UNTIL (c, leader_log_length (leader, LOG_TASKS) == 2 + 20 + 3, WAIT_SECONDS);
  WAIT_UNTIL (c, leader_log_length (leader, LOG_MEMORIES) == 1, WAIT_SECONDS);
  g_assert_true (task_has_title (leader->db, 1, "v20"));
  g_assert_false (task_exists (leader->db, 2));
  wait_converged (c);
  assert_cluster_equal (c);
  g_assert_true (task_has_title (f->db, 1, "v20"));
  g_assert_false (task_exists (f->db, 2));
  g_assert_cmpuint (f->n_forward_failed, ==, 0);

  /* The leader goes away: the forwards time out and say so, and stay
   * queued. */
  base = leader_log_length (leader, LOG_TASKS);
  {
    guint16 old_port = leader->port;

    member_stop (leader);
    for (guint i = 0; i < 5; i++)
      {
        g_autofree char *title = g_strdup_printf ("while away %u", i);

        g_assert_cmpuint (net_db_tasks_create (ftasks, 100 + i, title, T0 + 100 + i, &error), ==, 0);
        g_assert_no_error (error);
      }
    WAIT_UNTIL (c, f->n_forward_failed > 0, WAIT_SECONDS);
    g_test_message ("forward-failed: %s", f->forward_errors->str);

    /* Back (same identity, same directory): each queued event arrives
     * exactly once, in order. */
    member_open (leader);
    leader_start (c, old_port);
    if (leader->port != old_port)
      {
        g_autofree char *address = member_address (leader);

        /* Adding a known peer again updates its address. */
        g_assert_true (net_node_add_peer (f->node, member_public_key (leader), address, &error));
        g_assert_no_error (error);
      }
  }
  WAIT_UNTIL (c, leader_log_length (leader, LOG_TASKS) >= base + 5, WAIT_SECONDS);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *title = g_strdup_printf ("while away %u", i);

      WAIT_UNTIL (c, task_has_title (f->db, 100 + i, title), WAIT_SECONDS);
      g_assert_true (task_has_title (leader->db, 100 + i, title));
    }
  /* Every forward acknowledged (30 of them) means none is resent any
   * more; what is still on the way gets a moment to arrive before the
   * count. */
  WAIT_UNTIL (c, counter (f, "repl-forwards-acked") >= 30, WAIT_SECONDS);
  {
    gint64 until = g_get_monotonic_time () + (gint64) PULL_TIMEOUT_MS * 3 * 1000;

    while (g_get_monotonic_time () < until)
      spin_once ();
  }
  g_assert_cmpuint (leader_log_length (leader, LOG_TASKS), ==, base + 5);
  wait_converged (c);
  assert_cluster_equal (c);
}

/* Issue 12, finding 2: a peer admitted as a reader may follow, but what
 * it forwards is refused, reported by its forward-failed and counted. */
static void
test_forward_reader_refused (Cluster       *c,
                             gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  g_autoptr(GError) error = NULL;

  c->n = 2;
  leader_start (c, 0);        /* f is a reader: the default role */
  follower_start (c, 1, TRUE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);

  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (f->db), 1, "sneaked", T0, &error), ==, 0);
  g_assert_no_error (error);
  WAIT_UNTIL (c, f->n_forward_failed > 0, WAIT_SECONDS);
  g_test_message ("forward-failed: %s", f->forward_errors->str);
  g_assert_nonnull (strstr (f->forward_errors->str, "reader"));
  g_assert_cmpuint (counter (leader, "repl-forwards-refused"), >=, 1);
  g_assert_cmpuint (leader_log_length (leader, LOG_TASKS), ==, 0);
  g_assert_false (task_exists (leader->db, 1));

  /* Replication still works: the leader's own writes reach it. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (leader->db), 2, "leader's", T0 + 1, &error), ==, 1);
  g_assert_no_error (error);
  WAIT_UNTIL (c, task_exists (f->db, 2), WAIT_SECONDS);
  g_assert_false (task_exists (f->db, 1));
}

/* Issue 12, finding 2: a writer's forwarded events must carry its own
 * origin (the one derived from its key); one that makes up another is
 * refused and counted, and nothing is appended. */
static void
test_forward_wrong_origin (Cluster       *c,
                           gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  g_autoptr(GBytes) event = NULL;
  guint64 own = net_identity_get_origin (f->identity);
  NetEventMeta meta = { NET_DISPATCH_TASK_DELETED, 0, 0, 1 };
  NetEncoder enc;
  guint8 hash[32];
  guint64 digest = 0;
  gsize len;
  const guint8 *bytes;

  c->n = 2;
  f->role = NET_PEER_ROLE_WRITER;
  leader_start (c, 0);
  follower_start (c, 1, TRUE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);

  /* A made-up origin: anything but the follower's own. */
  meta.origin = own ^ 0x5a5a5a5a5a5a5a5a;
  net_encoder_init (&enc, body);
  net_encoder_put_uint (&enc, 1, 5);
  event = net_event_encode (&meta, body->data, body->len);
  bytes = g_bytes_get_data (event, &len);
  crypto_generichash (hash, sizeof hash, bytes, len, NULL, 0);
  for (guint i = 0; i < 8; i++)
    digest |= (guint64) hash[i] << (8 * i);

  /* FORWARD: kind, log, app_seq, digest, prev, total, offset, bytes. */
  {
    guint8 head[1 + 1 + 8 + 8 + 8 + 4 + 4];
    guint64 fields[] = { 1, digest, 0 };
    guint8 *p = head;

    *p++ = NET_REPL_FORWARD;
    *p++ = LOG_TASKS;
    for (guint k = 0; k < G_N_ELEMENTS (fields); k++)
      for (guint i = 0; i < 8; i++)
        *p++ = (guint8) (fields[k] >> (8 * i));
    for (guint i = 0; i < 4; i++)
      *p++ = (guint8) (len >> (8 * i));
    for (guint i = 0; i < 4; i++)
      *p++ = 0;
    g_byte_array_append (msg, head, sizeof head);
    g_byte_array_append (msg, bytes, len);
  }
  g_assert_true (_net_node_send_message (f->node, member_public_key (leader), msg->data, msg->len));
  WAIT_UNTIL (c, counter (leader, "repl-forwards-refused") >= 1, WAIT_SECONDS);
  g_assert_cmpuint (leader_log_length (leader, LOG_TASKS), ==, 0);
  g_assert_cmpuint (_net_db_get_origin_app_seq (leader->db, NET_DB_LOG_TASKS, meta.origin), ==, 0);

  /* Its own origin is what a genuine forward carries, and it lands. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (f->db), 7, "mine", T0, &error), ==, 0);
  g_assert_no_error (error);
  WAIT_UNTIL (c, task_has_title (leader->db, 7, "mine"), WAIT_SECONDS);
  g_assert_cmpuint (_net_db_get_origin_app_seq (leader->db, NET_DB_LOG_TASKS, own), ==, 1);
  g_assert_cmpuint (f->n_forward_failed, ==, 0);
}

/* A follower without forwarding refuses local mutations. */
static void
test_follower_read_only (Cluster       *c,
                         gconstpointer  data)
{
  Member *f = &c->m[1];
  g_autoptr(GError) error = NULL;

  c->n = 2;
  leader_start (c, 0);
  follower_start (c, 1, FALSE);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (f->db), 1, "local", T0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (f->db), 1, "local", NULL, "x", T0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
}

/* Live queries on a follower ----------------------------------------------- */

/* Replays every items-changed onto a mirror, which must equal the model. */
typedef struct
{
  GListModel *model;
  GPtrArray  *mirror;
  guint       n_emissions;
  gboolean    bad;
} Mirror;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Mirror     *mirror)
{
  mirror->n_emissions++;
  if ((removed == 0 && added == 0) || position + removed > mirror->mirror->len)
    {
      mirror->bad = TRUE;
      return;
    }
  g_ptr_array_remove_range (mirror->mirror, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (mirror->mirror, position + i, g_list_model_get_item (model, position + i));
  if (g_list_model_get_n_items (model) != mirror->mirror->len)
    mirror->bad = TRUE;
}

static Mirror *
mirror_new (NetQueryModel *model)
{
  Mirror *mirror = g_new0 (Mirror, 1);

  mirror->model = G_LIST_MODEL (model);
  mirror->mirror = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < g_list_model_get_n_items (mirror->model); i++)
    g_ptr_array_add (mirror->mirror, g_list_model_get_item (mirror->model, i));
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), mirror);
  return mirror;
}

static void
mirror_free (Mirror *mirror)
{
  g_signal_handlers_disconnect_by_data (mirror->model, mirror);
  g_object_unref (mirror->model);
  g_ptr_array_unref (mirror->mirror);
  g_free (mirror);
}

static void
test_follower_live_queries (Cluster       *c,
                            gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  g_autoptr(NetTasksFilter) tf = g_object_new (NET_TYPE_TASKS_FILTER,
                                               "status", NET_TASK_STATUS_PENDING,
                                               "order-by", NET_ORDER_BY_UPDATED_DESC,
                                               "limit", 20, NULL);
  g_autoptr(NetMemoriesFilter) mf = g_object_new (NET_TYPE_MEMORIES_FILTER,
                                                  "tag", "work", "order-by", NET_ORDER_BY_CREATED_ASC,
                                                  NULL);
  Mirror *all_tasks, *pending, *work;
  Workload *w;
  guint n = MIN (n_events, 5000);

  c->n = 2;
  leader_start (c, 0);
  follower_start (c, 1, FALSE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);

  all_tasks = mirror_new (net_db_tasks_watch (net_db_get_tasks (f->db), NULL));
  pending = mirror_new (net_db_tasks_watch (net_db_get_tasks (f->db), tf));
  work = mirror_new (net_db_memories_watch (net_db_get_memories (f->db), mf));
  g_assert_cmpuint (g_list_model_get_n_items (all_tasks->model), ==, 0);

  w = workload_new (leader->db, g_test_rand_int ());
  /* The first events, then wait for the models to show them. */
  workload_run (w, 50, FALSE);
  WAIT_UNTIL (c, converged (c), WAIT_SECONDS);
  WAIT_UNTIL (c, net_query_model_get_seq (NET_QUERY_MODEL (all_tasks->model)) ==
                 applied_seq (leader->db, LOG_TASKS), WAIT_SECONDS);
  g_assert_cmpuint (all_tasks->n_emissions, >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (all_tasks->model), ==,
                    net_db_tasks_count (net_db_get_tasks (leader->db), NULL));

  workload_run (w, n, TRUE);
  wait_converged (c);
  WAIT_UNTIL (c, net_query_model_get_seq (NET_QUERY_MODEL (all_tasks->model)) ==
                 applied_seq (leader->db, LOG_TASKS), WAIT_SECONDS);
  WAIT_UNTIL (c, net_query_model_get_seq (NET_QUERY_MODEL (pending->model)) ==
                 applied_seq (leader->db, LOG_TASKS), WAIT_SECONDS);
  WAIT_UNTIL (c, net_query_model_get_seq (NET_QUERY_MODEL (work->model)) ==
                 applied_seq (leader->db, LOG_MEMORIES), WAIT_SECONDS);

  {
    Mirror *mirrors[] = { all_tasks, pending, work };

    for (guint i = 0; i < G_N_ELEMENTS (mirrors); i++)
      {
        g_autofree char *model_dump = NULL, *mirror_dump = NULL, *leader_dump = NULL;
        g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

        g_assert_false (mirrors[i]->bad);
        g_assert_cmpuint (mirrors[i]->n_emissions, >, 0);
        for (guint k = 0; k < g_list_model_get_n_items (mirrors[i]->model); k++)
          g_ptr_array_add (items, g_list_model_get_item (mirrors[i]->model, k));
        model_dump = dump_items (items);
        mirror_dump = dump_items (mirrors[i]->mirror);
        g_assert_cmpstr (model_dump, ==, mirror_dump);

        /* The same query on the leader. */
        if (i == 0)
          leader_dump = tasks_query (leader->db, NULL);
        else if (i == 1)
          leader_dump = tasks_query (leader->db, tf);
        else
          leader_dump = memories_query (leader->db, mf);
        g_assert_cmpstr (strchr (leader_dump, '\n') + 1, ==, model_dump);
      }
  }
  assert_cluster_equal (c);

  mirror_free (all_tasks);
  mirror_free (pending);
  mirror_free (work);
  workload_free (w);
}

/* A leader that no longer holds the start of its logs: an empty follower,
 * and one whose tail the leader dropped, re-bootstrap from a snapshot,
 * then go on pulling, and resume from their own tail after a restart. */
static void
test_rebootstrap (Cluster       *c,
                  gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f1 = &c->m[1];
  Member *f2 = &c->m[2];
  Workload *w;
  guint n = MAX (n_events, 10000);

  c->n = 3;
  c->retention = TRUE;
  leader->config = net_redex_config_new ();
  net_redex_config_set_segment_size (leader->config, 64 * 1024);
  net_redex_config_set_retention_max_events (leader->config, 2000);

  leader_start (c, 0);
  w = workload_new (leader->db, g_test_rand_int ());
  /* Follower 2 holds the start of the logs, then goes away. */
  workload_run (w, 500, FALSE);
  follower_start (c, 2, FALSE);
  wait_converged (c);
  assert_cluster_equal (c);
  member_stop (f2);

  workload_run (w, n, FALSE);
  for (guint log = 0; log < N_LOGS; log++)
    {
      NetRedexFile *file = _net_db_get_log (leader->db, (NetDbLog) log);
      g_autoptr(GError) error = NULL;

      g_assert_true (net_redex_file_sync (file, &error));
      g_assert_no_error (error);
      g_assert_true (net_redex_file_sweep_retention (file, NULL, &error));
      g_assert_no_error (error);
      g_test_message ("leader %s log: %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, log_names[log],
                      net_redex_file_get_first_seq (file), net_redex_file_get_next_seq (file) - 1);
      g_assert_cmpuint (net_redex_file_get_first_seq (file), >, 500);
    }

  /* Follower 1 is killed in the middle of its first snapshot transfer
   * (the leader sends only a few datagrams, then nothing). */
  {
    guint budget = 20;

    _net_node_set_send_hook (leader->node, budget_hook, &budget, NULL);
    follower_start (c, 1, FALSE);
    WAIT_UNTIL (c, budget == 0, WAIT_SECONDS);
    g_assert_cmpuint (counter (f1, "repl-snapshots-restored"), ==, 0);
    member_stop (f1);
    _net_node_set_send_hook (leader->node, NULL, NULL, NULL);
  }

  follower_start (c, 1, FALSE);
  follower_start (c, 2, FALSE);
  wait_converged (c);
  assert_cluster_equal (c);
  for (guint i = 1; i < c->n; i++)
    {
      g_assert_cmpuint (counter (&c->m[i], "repl-snapshots-restored"), ==, 1);
      for (guint log = 0; log < N_LOGS; log++)
        g_assert_cmpuint (net_redex_file_get_first_seq (_net_db_get_log (c->m[i].db, (NetDbLog) log)), >, 1);
    }

  /* Replication goes on after the snapshot, live. */
  workload_run (w, n / 10, TRUE);
  wait_converged (c);
  assert_cluster_equal (c);

  /* A restart resumes from what the re-bootstrap left on disk: no second
   * snapshot. */
  member_stop (f1);
  workload_run (w, 300, TRUE);
  follower_start (c, 1, FALSE);
  workload_run (w, 300, TRUE);
  wait_converged (c);
  assert_cluster_equal (c);
  g_assert_cmpuint (counter (f1, "repl-snapshots-restored"), ==, 0);

  workload_free (w);
}

/* Write forwarding over the lossy network, while the leader writes too:
 * every forwarded mutation lands exactly once, in the follower's order. */
static void
test_forward_lossy (Cluster       *c,
                    gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  NetDbTasks *ftasks;
  Workload *w;
  const guint n_forwards = 300;
  const guint64 base_id = 10000000;

  c->n = 2;
  c->lossy = TRUE;
  c->lossy_config = (NetNodeLossy) {
    .drop_permille = 100,
    .duplicate_permille = 50,
    .reorder_permille = 50,
    .corrupt_permille = 10,
    .seed = g_test_rand_int (),
  };
  f->role = NET_PEER_ROLE_WRITER;
  leader_start (c, 0);
  follower_start (c, 1, TRUE);
  WAIT_UNTIL (c, peers_up (c), WAIT_SECONDS);
  ftasks = net_db_get_tasks (f->db);

  w = workload_new (leader->db, g_test_rand_int ());
  w->shared = TRUE;
  for (guint i = 0; i < n_forwards; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *title = g_strdup_printf ("f-%u", i);
      guint64 id = base_id + i / 3;

      /* Each id: a create, then two renames that must land after it. */
      if (i % 3 == 0)
        g_assert_cmpuint (net_db_tasks_create (ftasks, id, title, T0 + i, &error), ==, 0);
      else
        g_assert_cmpuint (net_db_tasks_rename (ftasks, id, title, T0 + i, &error), ==, 0);
      g_assert_no_error (error);
      workload_step (w);
      if (i % 20 == 19)
        spin_ready ();
    }

  WAIT_UNTIL (c, applied_seq (leader->db, LOG_TASKS) >= w->n_log[LOG_TASKS] + n_forwards, WAIT_SECONDS);
  WAIT_UNTIL (c, counter (f, "repl-forwards-acked") >= n_forwards, WAIT_SECONDS);
  /* Late duplicates (the lossy wrapper holds some datagrams back) must
   * not land either. */
  {
    gint64 until = g_get_monotonic_time () + 500 * 1000;

    while (g_get_monotonic_time () < until)
      spin_once ();
  }
  g_assert_cmpuint (applied_seq (leader->db, LOG_TASKS), ==, w->n_log[LOG_TASKS] + n_forwards);
  g_assert_cmpuint (applied_seq (leader->db, LOG_MEMORIES), ==, w->n_log[LOG_MEMORIES]);
  for (guint k = 0; k < n_forwards / 3; k++)
    {
      g_autofree char *title = g_strdup_printf ("f-%u", 3 * k + 2);

      g_assert_true (task_has_title (leader->db, base_id + k, title));
    }

  wait_converged (c);
  assert_cluster_equal (c);
  for (guint k = 0; k < n_forwards / 3; k++)
    {
      g_autofree char *title = g_strdup_printf ("f-%u", 3 * k + 2);

      g_assert_true (task_has_title (f->db, base_id + k, title));
    }
  /* The leader was reachable all along: no forward timed out, however
   * long a mutation waited behind the others or how many of its
   * datagrams were lost. */
  g_assert_cmpuint (f->n_forward_failed, ==, 0);

  workload_free (w);
}

/* The leader comes back on another port: the follower learns the new
 * address, either by adding the peer again (which updates it) or by
 * removing and re-adding it, and follows on. */
static void
run_leader_moves (Cluster  *c,
                  gboolean  remove_first)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  g_autofree char *address = NULL;
  g_autoptr(GError) error = NULL;
  Workload *w;
  guint16 old_port;

  c->n = 2;
  leader_start (c, 0);
  follower_start (c, 1, FALSE);
  w = workload_new (leader->db, g_test_rand_int ());
  workload_run (w, 1000, TRUE);
  wait_converged (c);

  old_port = leader->port;
  member_stop (leader);
  w->db = NULL;
  member_open (leader);
  w->db = leader->db;
  /* Any port but the old one. */
  do
    {
      if (leader->node != NULL)
        {
          net_node_stop (leader->node);
          g_clear_object (&leader->node);
        }
      leader_start (c, 0);
    }
  while (leader->port == old_port);

  address = member_address (leader);
  if (remove_first)
    g_assert_true (net_node_remove_peer (f->node, member_public_key (leader)));
  g_assert_true (net_node_add_peer (f->node, member_public_key (leader), address, &error));
  g_assert_no_error (error);

  workload_run (w, 1000, TRUE);
  wait_converged (c);
  assert_cluster_equal (c);
  workload_free (w);
}

static void
test_leader_moves_update (Cluster       *c,
                          gconstpointer  data)
{
  /* net_node_add_peer() with the new address drops the old sessions, so
   * late datagrams of the old leader cannot take the old address back by
   * roaming. */
  run_leader_moves (c, FALSE);
}

static void
test_leader_moves_readd (Cluster       *c,
                         gconstpointer  data)
{
  run_leader_moves (c, TRUE);
}

static void
on_follow_failed (NetNode  *node,
                  GError   *error,
                  GError  **out)
{
  g_assert_null (*out);
  *out = g_error_copy (error);
}

/* The leader comes back with another history (its directory was lost and
 * it started over): the follower must refuse to mix the two, say so once
 * with follow-failed, and keep its own log as it was. */
static void
test_diverged_leader (Cluster       *c,
                      gconstpointer  data)
{
  Member *leader = &c->m[0];
  Member *f = &c->m[1];
  g_autoptr(GError) failed = NULL;
  guint64 tail[N_LOGS], appended;
  guint16 old_port;
  Workload *w;

  c->n = 2;
  leader_start (c, 0);
  follower_start (c, 1, FALSE);
  g_signal_connect (f->node, "follow-failed", G_CALLBACK (on_follow_failed), &failed);
  w = workload_new (leader->db, g_test_rand_int ());
  workload_run (w, 300, TRUE);
  wait_converged (c);
  workload_free (w);
  for (guint log = 0; log < N_LOGS; log++)
    tail[log] = applied_seq (f->db, log);
  appended = counter (f, "repl-events-appended");

  /* Same identity and port, a new directory with more, other events. */
  old_port = leader->port;
  member_stop (leader);
  rm_rf (leader->dir);
  member_open (leader);
  w = workload_new (leader->db, g_test_rand_int ());
  workload_run (w, 600, FALSE);
  for (guint log = 0; log < N_LOGS; log++)
    g_assert_cmpuint (applied_seq (leader->db, log), >, tail[log]);
  leader_start (c, old_port);
  if (leader->port != old_port)
    {
      g_autofree char *address = member_address (leader);
      g_autoptr(GError) error = NULL;

      g_assert_true (net_node_add_peer (f->node, member_public_key (leader), address, &error));
      g_assert_no_error (error);
    }

  WAIT_UNTIL (c, failed != NULL, WAIT_SECONDS);
  g_test_message ("follow-failed: %s", failed->message);
  g_assert_error (failed, NET_ERROR, NET_ERROR_SEQ_MISMATCH);

  /* Nothing of the new history got in, then or later. */
  workload_run (w, 100, TRUE);
  {
    gint64 until = g_get_monotonic_time () + (gint64) HEARTBEAT_MS * 3 * 1000;

    while (g_get_monotonic_time () < until)
      spin_once ();
  }
  for (guint log = 0; log < N_LOGS; log++)
    g_assert_cmpuint (applied_seq (f->db, log), ==, tail[log]);
  g_assert_cmpuint (counter (f, "repl-events-appended"), ==, appended);
  g_assert_cmpuint (f->n_order_errors, ==, 0);

  g_signal_handlers_disconnect_by_data (f->node, &failed);
  workload_free (w);
}

int
main (int    argc,
      char **argv)
{
  const char *env = g_getenv ("NETDB_TEST_CLUSTER_EVENTS");

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  n_events = env != NULL ? (guint) g_ascii_strtoull (env, NULL, 10) : DEFAULT_EVENTS;
  if (n_events < 100)
    n_events = 100;

#define ADD(path, func) \
  g_test_add (path, Cluster, NULL, cluster_setup, func, cluster_teardown)

  ADD ("/cluster/replicate/two-nodes", test_two_nodes);
  ADD ("/cluster/replicate/three-nodes", test_three_nodes);
  ADD ("/cluster/replicate/lossy-two-nodes", test_lossy_two_nodes);
  ADD ("/cluster/replicate/lossy-three-nodes", test_lossy_three_nodes);
  ADD ("/cluster/restart/follower-and-leader", test_follower_restart);
  ADD ("/cluster/follower/read-only", test_follower_read_only);
  ADD ("/cluster/follower/live-queries", test_follower_live_queries);
  ADD ("/cluster/forward/basic-and-leader-down", test_forward);
  ADD ("/cluster/forward/lossy", test_forward_lossy);
  ADD ("/cluster/forward/reader-refused", test_forward_reader_refused);
  ADD ("/cluster/forward/wrong-origin-refused", test_forward_wrong_origin);
  ADD ("/cluster/restart/rebootstrap", test_rebootstrap);
  ADD ("/cluster/restart/diverged-leader", test_diverged_leader);
  ADD ("/cluster/restart/leader-moves/add-again", test_leader_moves_update);
  ADD ("/cluster/restart/leader-moves/remove-and-add", test_leader_moves_readd);

#undef ADD

  return g_test_run ();
}
