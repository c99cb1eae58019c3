/* test-repl.c: log replication over an in-memory link that loses,
 * duplicates and reorders messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-private.h"
#include "net-event-meta-private.h"
#include "net-redex-private.h"
#include "net-repl-msg-private.h"
#include "net-repl-private.h"

#define MAX_MESSAGE 1200
#define N_NODES 3

/* The fake network -------------------------------------------------------- */

typedef struct _Cluster Cluster;

typedef struct
{
  NetReplLink  link;     /* first: the link is the node */
  Cluster     *cluster;
  guint        index;
  guint        gen;      /* bumped on restart: older messages are lost */
  NetRepl     *repl;
  NetDb       *db;
  char        *dir;
  guint8       key[32];
  GError      *follow_error;     /* the first follow_failed */
  guint        follow_failed;    /* how many times it was called */
} Node;

/* Whether a message from @from to @to goes through. */
typedef gboolean (*PassFunc) (Cluster      *c,
                              guint         from,
                              guint         to,
                              const guint8 *msg,
                              gsize         len);

struct _Cluster
{
  Node      nodes[N_NODES];
  char     *root;
  GRand    *rand;
  double    drop;
  double    dup;
  double    reorder;
  gboolean  up;
  PassFunc  pass;
  guint     in_flight;
  guint64   sent;
  GPtrArray *held;      /* GBytes: FORWARDs held back by hold_forwards */
  guint     conflicts;  /* FORWARD_ACKs with status 4 */
  guint     acks_held;  /* FORWARD_ACKs with a seq the leader held durably */
};

typedef struct
{
  Cluster *c;
  guint    from;
  guint    to;
  guint    gen_from;
  guint    gen_to;
  GBytes  *bytes;
} Msg;

static void
msg_free (gpointer data)
{
  Msg *m = data;

  m->c->in_flight--;
  g_bytes_unref (m->bytes);
  g_free (m);
}

static gboolean
deliver_cb (gpointer data)
{
  Msg *m = data;
  Node *dst = &m->c->nodes[m->to];
  gsize len;
  const guint8 *p = g_bytes_get_data (m->bytes, &len);

  if (dst->repl != NULL && dst->gen == m->gen_to && m->c->nodes[m->from].gen == m->gen_from)
    _net_repl_receive (dst->repl, &m->c->nodes[m->from], p, len);
  return G_SOURCE_REMOVE;
}

static void
enqueue (Cluster      *c,
         guint         from,
         guint         to,
         const guint8 *message,
         gsize         len)
{
  Msg *m = g_new0 (Msg, 1);
  GSource *source;

  m->c = c;
  m->from = from;
  m->to = to;
  m->gen_from = c->nodes[from].gen;
  m->gen_to = c->nodes[to].gen;
  m->bytes = g_bytes_new (message, len);
  c->in_flight++;

  if (c->reorder > 0 && g_rand_double (c->rand) < c->reorder)
    source = g_timeout_source_new (g_rand_int_range (c->rand, 1, 4));
  else
    source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver_cb, m, msg_free);
  g_source_attach (source, NULL);
  g_source_unref (source);
}

static gboolean
link_send (NetReplLink  *link,
           gpointer      peer,
           const guint8 *message,
           gsize         len)
{
  Node *self = (Node *) link;
  Node *dst = peer;
  Cluster *c = self->cluster;

  g_assert_cmpuint (len, >, 0);
  g_assert_cmpuint (len, <=, MAX_MESSAGE);

  c->sent++;
  if (c->pass != NULL && !c->pass (c, self->index, dst->index, message, len))
    return TRUE;
  if (c->drop > 0 && g_rand_double (c->rand) < c->drop)
    return TRUE;
  enqueue (c, self->index, dst->index, message, len);
  if (c->dup > 0 && g_rand_double (c->rand) < c->dup)
    enqueue (c, self->index, dst->index, message, len);
  return TRUE;
}

static const guint8 *
link_peer_public_key (NetReplLink *link,
                      gpointer     peer)
{
  return ((Node *) peer)->key;
}

static void
link_follow_failed (NetReplLink  *link,
                    const GError *error)
{
  Node *n = (Node *) link;

  if (n->follow_error == NULL)
    n->follow_error = g_error_copy (error);
  n->follow_failed++;
}

static gboolean
link_peer_is_up (NetReplLink *link,
                 gpointer     peer)
{
  return ((Node *) link)->cluster->up;
}

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

static Cluster *
cluster_new (void)
{
  Cluster *c = g_new0 (Cluster, 1);

  c->root = g_dir_make_tmp ("netdb-repl-XXXXXX", NULL);
  g_assert_nonnull (c->root);
  c->rand = g_rand_new_with_seed (g_test_rand_int ());
  c->up = TRUE;
  for (guint i = 0; i < N_NODES; i++)
    {
      Node *n = &c->nodes[i];
      g_autofree char *name = g_strdup_printf ("node%u", i);

      n->link.send = link_send;
      n->link.peer_public_key = link_peer_public_key;
      n->link.peer_is_up = link_peer_is_up;
      n->link.max_message = MAX_MESSAGE;
      n->link.follow_failed = link_follow_failed;
      n->cluster = c;
      n->index = i;
      n->dir = g_build_filename (c->root, name, NULL);
      memset (n->key, i + 1, sizeof n->key);
    }
  return c;
}

static void
node_stop (Node *n)
{
  g_clear_pointer (&n->repl, _net_repl_free);
  n->gen++;
}

static void
node_close (Node *n)
{
  g_autoptr(GError) error = NULL;

  node_stop (n);
  if (n->db != NULL)
    {
      g_assert_true (net_db_close (n->db, &error));
      g_assert_no_error (error);
      g_assert_finalize_object (n->db);
      n->db = NULL;
    }
}

static void
cluster_free (Cluster *c)
{
  for (guint i = 0; i < N_NODES; i++)
    node_close (&c->nodes[i]);
  while (c->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < N_NODES; i++)
    {
      g_free (c->nodes[i].dir);
      g_clear_error (&c->nodes[i].follow_error);
    }
  g_clear_pointer (&c->held, g_ptr_array_unref);
  rm_rf (c->root);
  g_free (c->root);
  g_rand_free (c->rand);
  g_free (c);
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

static void
start_leader (Cluster        *c,
              NetRedexConfig *config)
{
  Node *n = &c->nodes[0];
  g_autoptr(GError) error = NULL;

  if (n->db == NULL)
    n->db = open_db (n->dir, config);
  n->repl = _net_repl_new_leader (n->db, &n->link, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (n->repl);
  _net_repl_set_timing (n->repl, 100, 50, 0);
}

static void
start_follower (Cluster  *c,
                guint     i,
                gboolean  forward,
                guint     forward_timeout_ms)
{
  Node *n = &c->nodes[i];
  g_autoptr(GError) error = NULL;

  if (n->db == NULL)
    n->db = open_db (n->dir, NULL);
  n->repl = _net_repl_new_follower (n->db, &n->link, &c->nodes[0], forward, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (n->repl);
  _net_repl_set_timing (n->repl, 100, 50, forward_timeout_ms);
}

/* Spinning ------------------------------------------------------------------- */

static gboolean
guard_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*CondFunc) (Cluster *c,
                              gpointer data);

/* Iterates until @cond holds; a guard fails the test rather than hang. */
static void
spin_until (Cluster    *c,
            CondFunc    cond,
            gpointer    data,
            const char *what)
{
  gboolean expired = FALSE;
  GSource *guard = g_timeout_source_new_seconds (g_test_slow () ? 900 : 120);

  g_source_set_callback (guard, guard_cb, &expired, NULL);
  g_source_attach (guard, NULL);
  while (!cond (c, data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (guard);
  g_source_unref (guard);
  if (expired)
    g_error ("gave up waiting for %s", what);
}

static guint64
log_next (NetDb *db,
          guint  log)
{
  return net_redex_file_get_next_seq (_net_db_get_log (db, log));
}

static guint64
applied (NetDb *db,
         guint  log)
{
  return log == 0 ? net_db_tasks_get_applied_seq (net_db_get_tasks (db))
                  : net_db_memories_get_applied_seq (net_db_get_memories (db));
}

/* Follower @data (a node index) holds and folded what the leader holds. */
static gboolean
caught_up (Cluster  *c,
           gpointer  data)
{
  NetDb *leader = c->nodes[0].db;
  NetDb *follower = c->nodes[GPOINTER_TO_UINT (data)].db;

  for (guint log = 0; log < 2; log++)
    if (log_next (follower, log) != log_next (leader, log) ||
        applied (follower, log) != log_next (leader, log) - 1)
      return FALSE;
  return TRUE;
}

static void
wait_caught_up (Cluster *c,
                guint    i)
{
  spin_until (c, caught_up, GUINT_TO_POINTER (i), "a follower to catch up");
}

/* Writing ---------------------------------------------------------------------- */

/* @n mixed task and memory events, ids from @base; every 500th memory is
 * too big for one message. */
static void
write_events (NetDb *db,
              guint  n,
              guint  base)
{
  NetDbTasks *tasks = net_db_get_tasks (db);
  NetDbMemories *memories = net_db_get_memories (db);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      guint64 id = base + i / 3;
      g_autofree char *text = g_strdup_printf ("item %u of %u", base + i, base + n);
      guint64 seq = 0;

      switch (i % 7)
        {
        case 0:
        case 3:
          seq = net_db_tasks_create (tasks, id, text, 0, &error);
          break;
        case 1:
          seq = net_db_tasks_rename (tasks, id, text, 0, &error);
          break;
        case 2:
          seq = (i % 2) ? net_db_tasks_complete (tasks, id, 0, &error)
                        : net_db_tasks_delete (tasks, id - 1, &error);
          break;
        case 4:
        case 5:
          {
            g_autofree char *tag = g_strdup_printf ("t%u", i % 5);
            g_autofree char *source = g_strdup_printf ("s%u", i % 3);
            const char *tags[] = { tag, "all", NULL };
            g_autofree char *content = (i % 500 == 4) ? g_strnfill (3000 + i % 97, 'x')
                                                        : g_strdup (text);

            seq = net_db_memories_store (memories, id, content, tags, source, 0, &error);
          }
          break;
        case 6:
          seq = (i % 4 == 0) ? net_db_memories_pin (memories, id, 0, &error)
                             : (i % 4 == 1) ? net_db_memories_delete (memories, id - 2, &error)
                                            : net_db_memories_unpin (memories, id, 0, &error);
          break;
        default:
          g_assert_not_reached ();
        }
      /* A change of an id the writer does not hold (or of id 0) is
       * refused and logs nothing: write a store of @id to the same log
       * instead, so that there are still @n events. */
      if (g_error_matches (error, NET_ERROR, NET_ERROR_NOT_FOUND) ||
          g_error_matches (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT))
        {
          g_clear_error (&error);
          seq = i % 7 == 6 ? net_db_memories_store (memories, id, text, NULL, NULL, 0, &error)
                           : net_db_tasks_create (tasks, id, text, 0, &error);
        }
      g_assert_no_error (error);
      g_assert_cmpuint (seq, >, 0);
    }
}

/* Comparing ------------------------------------------------------------------ */

static void
assert_logs_equal (NetDb   *a,
                   NetDb   *b,
                   guint64  from_tasks,
                   guint64  from_memories)
{
  for (guint log = 0; log < 2; log++)
    {
      NetRedexFile *fa = _net_db_get_log (a, log);
      NetRedexFile *fb = _net_db_get_log (b, log);
      guint64 next = net_redex_file_get_next_seq (fa);
      guint64 start = log == 0 ? from_tasks : from_memories;

      g_assert_cmpuint (net_redex_file_get_next_seq (fb), ==, next);
      start = MAX (start, net_redex_file_get_first_seq (fb));
      for (guint64 s = start; s < next; s += 4096)
        {
          g_autoptr(GError) error = NULL;
          guint64 end = MIN (s + 4096, next);
          g_autoptr(GPtrArray) ea = net_redex_file_read_range (fa, s, end, &error);
          g_autoptr(GPtrArray) eb = NULL;

          g_assert_no_error (error);
          eb = net_redex_file_read_range (fb, s, end, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (ea->len, ==, end - s);
          g_assert_cmpuint (eb->len, ==, end - s);
          for (guint i = 0; i < ea->len; i++)
            {
              NetRedexEvent *x = g_ptr_array_index (ea, i);
              NetRedexEvent *y = g_ptr_array_index (eb, i);

              g_assert_cmpuint (net_redex_event_get_seq (x), ==, net_redex_event_get_seq (y));
              g_assert_cmpint (net_redex_event_get_timestamp (x), ==,
                               net_redex_event_get_timestamp (y));
              g_assert_true (g_bytes_equal (net_redex_event_get_payload (x),
                                            net_redex_event_get_payload (y)));
            }
        }
    }
}

static void
assert_tasks_equal (GPtrArray *a,
                    GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      NetTask *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      g_assert_cmpuint (net_task_get_id (x), ==, net_task_get_id (y));
      g_assert_cmpstr (net_task_get_title (x), ==, net_task_get_title (y));
      g_assert_cmpint (net_task_get_status (x), ==, net_task_get_status (y));
      g_assert_cmpint (net_task_get_created_at (x), ==, net_task_get_created_at (y));
      g_assert_cmpint (net_task_get_updated_at (x), ==, net_task_get_updated_at (y));
    }
}

static void
assert_memories_equal (GPtrArray *a,
                       GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      NetMemory *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      g_assert_cmpuint (net_memory_get_id (x), ==, net_memory_get_id (y));
      g_assert_cmpstr (net_memory_get_content (x), ==, net_memory_get_content (y));
      g_assert_true (g_strv_equal ((const char * const *) net_memory_get_tags (x),
                                   (const char * const *) net_memory_get_tags (y)));
      g_assert_cmpstr (net_memory_get_source (x), ==, net_memory_get_source (y));
      g_assert_cmpint (net_memory_get_created_at (x), ==, net_memory_get_created_at (y));
      g_assert_cmpint (net_memory_get_updated_at (x), ==, net_memory_get_updated_at (y));
      g_assert_cmpint (net_memory_get_pinned (x), ==, net_memory_get_pinned (y));
    }
}

static void
assert_state_equal (NetDb *a,
                    NetDb *b)
{
  GObject *task_filters[] = {
    NULL,
    g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING, NULL),
    g_object_new (NET_TYPE_TASKS_FILTER, "title-contains", "7", NULL),
    g_object_new (NET_TYPE_TASKS_FILTER, "order-by", NET_ORDER_BY_UPDATED_DESC, "limit", 50, NULL),
  };
  GObject *memory_filters[] = {
    NULL,
    g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "t3", NULL),
    g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL),
    g_object_new (NET_TYPE_MEMORIES_FILTER, "source", "s1", "order-by", NET_ORDER_BY_CREATED_DESC, NULL),
  };

  for (guint i = 0; i < G_N_ELEMENTS (task_filters); i++)
    {
      g_autoptr(GPtrArray) x = net_db_tasks_find_many (net_db_get_tasks (a), (NetTasksFilter *) task_filters[i]);
      g_autoptr(GPtrArray) y = net_db_tasks_find_many (net_db_get_tasks (b), (NetTasksFilter *) task_filters[i]);

      assert_tasks_equal (x, y);
      g_clear_object (&task_filters[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (memory_filters); i++)
    {
      g_autoptr(GPtrArray) x = net_db_memories_find_many (net_db_get_memories (a), (NetMemoriesFilter *) memory_filters[i]);
      g_autoptr(GPtrArray) y = net_db_memories_find_many (net_db_get_memories (b), (NetMemoriesFilter *) memory_filters[i]);

      assert_memories_equal (x, y);
      g_clear_object (&memory_filters[i]);
    }
}

static guint
n_events (void)
{
  return g_test_slow () ? 100000 : 20000;
}

/* Tests ------------------------------------------------------------------------ */

/* Two followers, one from before the writes and one from after; the
 * leader writes half before either exists and half while they pull. */
static void
test_basic (void)
{
  Cluster *c = cluster_new ();
  guint n = n_events ();
  guint64 total;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, n / 2, 1);
  start_follower (c, 1, FALSE, 0);
  start_follower (c, 2, FALSE, 0);
  write_events (c->nodes[0].db, n - n / 2, 1000000);

  wait_caught_up (c, 1);
  wait_caught_up (c, 2);

  total = log_next (c->nodes[0].db, 0) - 1 + log_next (c->nodes[0].db, 1) - 1;
  g_assert_cmpuint (total, ==, n);
  for (guint i = 1; i < N_NODES; i++)
    {
      const NetReplCounters *k = _net_repl_get_counters (c->nodes[i].repl);

      g_assert_cmpuint (k->events_appended, ==, total);
      g_assert_cmpuint (k->messages_malformed, ==, 0);
      assert_logs_equal (c->nodes[0].db, c->nodes[i].db, 1, 1);
      assert_state_equal (c->nodes[0].db, c->nodes[i].db);
    }
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[0].repl)->announces_sent, >, 0);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[0].repl)->messages_malformed, ==, 0);

  cluster_free (c);
}

/* Losses, duplicates and reordering: the followers still end with the
 * leader's log, each event appended once and in order. */
static void
test_lossy (void)
{
  Cluster *c = cluster_new ();
  guint n = n_events ();
  guint64 total;

  c->drop = 0.10;
  c->dup = 0.05;
  c->reorder = 0.2;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, n / 2, 1);
  start_follower (c, 1, FALSE, 0);
  start_follower (c, 2, FALSE, 0);
  write_events (c->nodes[0].db, n - n / 2, 1000000);

  wait_caught_up (c, 1);
  wait_caught_up (c, 2);

  total = log_next (c->nodes[0].db, 0) - 1 + log_next (c->nodes[0].db, 1) - 1;
  for (guint i = 1; i < N_NODES; i++)
    {
      const NetReplCounters *k = _net_repl_get_counters (c->nodes[i].repl);

      /* Appended exactly once each: duplicates were seen and ignored. */
      g_assert_cmpuint (k->events_appended, ==, total);
      g_assert_cmpuint (k->events_duplicate, >, 0);
      g_assert_cmpuint (k->pulls_retried, >, 0);
      /* Losses are not taken for a leader that does not send. */
      g_assert_cmpuint (c->nodes[i].follow_failed, ==, 0);
      assert_logs_equal (c->nodes[0].db, c->nodes[i].db, 1, 1);
      assert_state_equal (c->nodes[0].db, c->nodes[i].db);
    }

  cluster_free (c);
}

static gboolean
partly_caught_up (Cluster  *c,
                  gpointer  data)
{
  NetDb *db = c->nodes[1].db;

  return log_next (db, 0) + log_next (db, 1) > GPOINTER_TO_SIZE (data);
}

/* A follower closed and reopened mid catch-up resumes from its own tail. */
static void
test_restart (void)
{
  Cluster *c = cluster_new ();
  guint n = n_events ();
  guint64 tail, total;

  c->drop = 0.05;
  c->reorder = 0.1;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, n, 1);
  total = log_next (c->nodes[0].db, 0) - 1 + log_next (c->nodes[0].db, 1) - 1;
  start_follower (c, 1, FALSE, 0);
  spin_until (c, partly_caught_up, GSIZE_TO_POINTER (total / 3), "part of the log");
  node_close (&c->nodes[1]);

  start_follower (c, 1, FALSE, 0);
  tail = log_next (c->nodes[1].db, 0) - 1 + log_next (c->nodes[1].db, 1) - 1;
  g_assert_cmpuint (tail, >, total / 3 - 2);
  g_assert_cmpuint (tail, <, total);
  wait_caught_up (c, 1);

  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->events_appended, ==, total - tail);
  assert_logs_equal (c->nodes[0].db, c->nodes[1].db, 1, 1);
  assert_state_equal (c->nodes[0].db, c->nodes[1].db);

  cluster_free (c);
}

typedef struct
{
  guint added;
  guint removed;
} Changes;

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Changes    *changes)
{
  changes->added += added;
  changes->removed += removed;
}

static void
applied_notify_cb (GObject    *model,
                   GParamSpec *pspec,
                   guint64    *seq)
{
  g_object_get (model, "applied-seq", seq, NULL);
}

/* Follower 1 notified the leader's applied seqs. */
static gboolean
notified_all (Cluster  *c,
              gpointer  data)
{
  guint64 *notified = data;

  return notified[0] == applied (c->nodes[0].db, 0) && notified[1] == applied (c->nodes[0].db, 1);
}

/* The live model of follower 2 shows every task. */
static gboolean
live_matches (Cluster  *c,
              gpointer  data)
{
  return g_list_model_get_n_items (data) ==
         net_db_tasks_count (net_db_get_tasks (c->nodes[2].db), NULL);
}

/* A leader that no longer holds the start of its logs: an empty follower
 * (and one with an old tail) re-bootstraps from a snapshot, then goes on
 * pulling. */
static void
test_rebootstrap (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  guint n = n_events ();
  g_autoptr(NetQueryModel) live = NULL;
  g_autoptr(NetTask) survivor = NULL;
  g_autoptr(NetTask) survivor_after = NULL;
  Changes changes = { 0, 0 };
  g_autoptr(GError) error = NULL;
  guint64 notified[2] = { 0, 0 };

  c->drop = 0.05;
  c->dup = 0.02;
  c->reorder = 0.1;

  net_redex_config_set_segment_size (config, 64 * 1024);
  net_redex_config_set_retention_max_events (config, 2000);

  start_leader (c, config);
  /* Follower 2 has the start of the log, then stops. */
  write_events (c->nodes[0].db, 300, 1);
  start_follower (c, 2, FALSE, 0);
  wait_caught_up (c, 2);
  survivor = net_db_tasks_get (net_db_get_tasks (c->nodes[2].db), 1);
  g_assert_nonnull (survivor);
  live = net_db_tasks_watch (net_db_get_tasks (c->nodes[2].db), NULL);
  g_signal_connect (live, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  node_stop (&c->nodes[2]);

  write_events (c->nodes[0].db, n, 1000000);
  /* Task 1 lives on, renamed, so the survivor must change in place. */
  g_assert_cmpuint (net_db_tasks_rename (net_db_get_tasks (c->nodes[0].db), 1, "renamed", 0, &error), >, 0);
  g_assert_no_error (error);
  for (guint log = 0; log < 2; log++)
    {
      NetRedexFile *file = _net_db_get_log (c->nodes[0].db, log);

      g_assert_true (net_redex_file_sync (file, &error));
      g_assert_true (net_redex_file_sweep_retention (file, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (net_redex_file_get_first_seq (file), >, 1000);
    }

  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  g_signal_connect (net_db_get_tasks (c->nodes[1].db), "notify::applied-seq",
                    G_CALLBACK (applied_notify_cb), &notified[0]);
  g_signal_connect (net_db_get_memories (c->nodes[1].db), "notify::applied-seq",
                    G_CALLBACK (applied_notify_cb), &notified[1]);
  start_follower (c, 1, FALSE, 0);
  start_follower (c, 2, FALSE, 0);
  wait_caught_up (c, 1);
  wait_caught_up (c, 2);
  /* The new state is announced, also when it is the snapshot's alone. */
  spin_until (c, notified_all, notified, "notify::applied-seq");

  for (guint i = 1; i < N_NODES; i++)
    {
      NetDb *db = c->nodes[i].db;

      g_assert_cmpuint (_net_repl_get_counters (c->nodes[i].repl)->snapshots_restored, ==, 1);
      for (guint log = 0; log < 2; log++)
        g_assert_cmpuint (net_redex_file_get_first_seq (_net_db_get_log (db, log)), >, 1);
      assert_state_equal (c->nodes[0].db, db);
    }
  /* Identical from where the follower's log restarted. */
  assert_logs_equal (c->nodes[0].db, c->nodes[1].db, 1, 1);
  assert_logs_equal (c->nodes[0].db, c->nodes[2].db, 1, 1);

  /* Live items and models carried on. */
  survivor_after = net_db_tasks_get (net_db_get_tasks (c->nodes[2].db), 1);
  g_assert_true (survivor_after == survivor);
  g_assert_cmpstr (net_task_get_title (survivor), ==, "renamed");
  /* The model catches up from the next dispatch of the fold. */
  spin_until (c, live_matches, live, "the live model");
  g_assert_cmpuint (changes.added, >, 0);

  /* And replication goes on after the snapshot. */
  write_events (c->nodes[0].db, 500, 5000000);
  wait_caught_up (c, 1);
  wait_caught_up (c, 2);
  assert_state_equal (c->nodes[0].db, c->nodes[1].db);
  assert_state_equal (c->nodes[0].db, c->nodes[2].db);
  spin_until (c, live_matches, live, "the live model");

  g_clear_object (&live);
  g_clear_object (&survivor);
  g_clear_object (&survivor_after);
  /* The follower reopens from what the re-bootstrap left on disk. */
  node_close (&c->nodes[1]);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  assert_state_equal (c->nodes[0].db, c->nodes[1].db);

  cluster_free (c);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           guint      *count)
{
  (*count)++;
}

/* Without forwarding a follower refuses local mutations. */
static void
test_read_only (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetDb *db;
  guint notified = 0;
  const char *tags[] = { "a", NULL };

  start_leader (c, NULL);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  db = c->nodes[1].db;
  g_signal_connect (db, "notify::following", G_CALLBACK (notify_cb), &notified);
  g_assert_false (net_db_get_following (db));
  start_follower (c, 1, FALSE, 0);
  g_assert_true (net_db_get_following (db));
  g_assert_cmpuint (notified, ==, 1);

  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "x", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "follows a leader"));
  g_clear_error (&error);
  g_assert_cmpuint (net_db_tasks_complete (net_db_get_tasks (db), 1, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (db), 1, "x", tags, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_pin (net_db_get_memories (db), 1, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (log_next (db, 0), ==, 1);

  /* Its state comes from the leader only. */
  {
    g_autoptr(GBytes) snap = net_db_tasks_snapshot (net_db_get_tasks (db), &error);

    g_assert_no_error (error);
    g_assert_false (net_db_tasks_restore (net_db_get_tasks (db), snap, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
    g_clear_error (&error);
  }
  {
    g_autoptr(GBytes) snap = net_db_memories_snapshot (net_db_get_memories (db), &error);

    g_assert_no_error (error);
    g_assert_false (net_db_memories_restore (net_db_get_memories (db), snap, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
    g_clear_error (&error);
  }

  /* Validation still comes first. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "\xff", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A second follower on the same db, an in-memory follower: refused. */
  g_assert_null (_net_repl_new_follower (db, &c->nodes[1].link, &c->nodes[0], FALSE, NULL, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  {
    g_autoptr(NetDb) mem = net_db_new (NULL, NET_DB_MODELS_TASKS, &error);

    g_assert_no_error (error);
    g_assert_null (_net_repl_new_follower (mem, &c->nodes[1].link, &c->nodes[0], FALSE, NULL, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  /* Stopping leaves the following mode. */
  node_stop (&c->nodes[1]);
  g_assert_false (net_db_get_following (db));
  g_assert_cmpuint (notified, ==, 2);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "x", 0, &error), ==, 1);
  g_assert_no_error (error);

  cluster_free (c);
}

typedef struct
{
  guint   count;
  GError *last;
} Failures;

static void
forward_failed_cb (NetDb    *db,
                   GError   *error,
                   Failures *f)
{
  f->count++;
  g_clear_error (&f->last);
  f->last = g_error_copy (error);
}

static void
failures_clear (Failures *f)
{
  g_clear_error (&f->last);
}

typedef struct
{
  guint  node;
  guint  id;
} HasTask;

static gboolean
has_task (Cluster  *c,
          gpointer  data)
{
  HasTask *h = data;
  g_autoptr(NetTask) t = net_db_tasks_get (net_db_get_tasks (c->nodes[h->node].db), h->id);

  return t != NULL;
}

static void
wait_task (Cluster *c,
           guint    node,
           guint    id)
{
  HasTask h = { node, id };

  spin_until (c, has_task, &h, "a forwarded task");
}

/* The events of @origin in the tasks log of @db, as (app_seq, id) in
 * log order. */
static GArray *
origin_events (NetDb   *db,
               guint64  origin)
{
  NetRedexFile *file = _net_db_get_log (db, 0);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint64));

  events = net_redex_file_read_range (file, net_redex_file_get_first_seq (file),
                                      net_redex_file_get_next_seq (file), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      GBytes *payload = net_redex_event_get_payload (g_ptr_array_index (events, i));
      NetEventMeta meta;
      const guint8 *body;
      gsize body_len, len;
      const guint8 *data = g_bytes_get_data (payload, &len);

      g_assert_true (net_event_decode (data, len, &meta, &body, &body_len, NULL));
      if (meta.origin == origin)
        g_array_append_val (out, meta.app_seq);
    }
  return out;
}

static gboolean
failures_reach (Cluster  *c,
                gpointer  data);

static gboolean
all_acked (Cluster  *c,
           gpointer  data)
{
  return _net_repl_get_counters (c->nodes[1].repl)->forwards_acked >= GPOINTER_TO_UINT (data);
}

static gboolean
leader_has_memory_9000 (Cluster  *c,
                        gpointer  data)
{
  g_autoptr(NetMemory) m = net_db_memories_get (net_db_get_memories (c->nodes[0].db), 9000);

  return m != NULL;
}

/* With forwarding, a follower's mutations reach the leader in order and
 * come back. */
static void
test_forward (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  Failures failures = { 0 };
  NetDb *db;
  guint64 origin;
  const char *tags[] = { "fw", NULL };
  g_autofree char *big = g_strnfill (5000, 'y');

  c->drop = 0.1;
  c->dup = 0.05;
  c->reorder = 0.2;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 200, 1);
  start_follower (c, 1, TRUE, 0);
  db = c->nodes[1].db;
  origin = net_db_get_origin (db);
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  wait_caught_up (c, 1);

  for (guint i = 0; i < 100; i++)
    {
      g_autofree char *title = g_strdup_printf ("forwarded %u", i);

      g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 9000 + i, title, 0, &error), ==, 0);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (db), 9000, big,
                                           tags, NULL, 0, &error), ==, 0);
  g_assert_no_error (error);
  /* Invalid input is refused before anything is queued. */
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "\xff", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* Not applied locally until it comes back. */
  g_assert_null (net_db_tasks_get (net_db_get_tasks (db), 9000));

  wait_task (c, 0, 9099);
  spin_until (c, leader_has_memory_9000, NULL, "the forwarded memory");
  wait_caught_up (c, 1);

  app_seqs = origin_events (c->nodes[0].db, origin);
  g_assert_cmpuint (app_seqs->len, ==, 100);
  for (guint i = 0; i < app_seqs->len; i++)
    g_assert_cmpuint (g_array_index (app_seqs, guint64, i), ==, i + 1);
  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(NetTask) t = net_db_tasks_get (net_db_get_tasks (db), 9000 + i);
      g_autofree char *title = g_strdup_printf ("forwarded %u", i);

      g_assert_nonnull (t);
      g_assert_cmpstr (net_task_get_title (t), ==, title);
    }
  {
    g_autoptr(NetMemory) m = net_db_memories_get (net_db_get_memories (db), 9000);

    g_assert_nonnull (m);
    g_assert_cmpuint (strlen (net_memory_get_content (m)), ==, 5000);
  }
  assert_logs_equal (c->nodes[0].db, db, 1, 1);
  g_assert_cmpuint (failures.count, ==, 0);
  /* Acknowledgements lost on the way are had on a retransmission. */
  spin_until (c, all_acked, GUINT_TO_POINTER (101), "the acknowledgements");
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_acked, ==, 101);
  g_assert_cmpuint (failures.count, ==, 0);

  failures_clear (&failures);
  cluster_free (c);
}

/* Every FORWARD_ACK that says the leader holds an event (appended, or a
 * duplicate) is sent once the leader's log has it durably. */
static gboolean
check_ack_durable (Cluster      *c,
                   guint         from,
                   guint         to,
                   const guint8 *msg,
                   gsize         len)
{
  guint64 seq;

  /* kind, log, app_seq, digest, status, then the seq */
  if (from != 0 || msg[0] != NET_REPL_FORWARD_ACK || len < 27 || msg[18] > 1)
    return TRUE;
  memcpy (&seq, msg + 19, sizeof seq);
  seq = GUINT64_FROM_LE (seq);
  if (seq == 0)
    return TRUE;
  g_assert_cmpuint (net_redex_file_get_durable_seq (_net_db_get_log (c->nodes[0].db, msg[1])),
                    >=, seq);
  c->acks_held++;
  return TRUE;
}

/* The leader acknowledges a forwarded event only once it would survive a
 * crash of the leader (its fsync policy is NEVER here). */
static void
test_forward_durable (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetDb *db;

  c->pass = check_ack_durable;
  c->dup = 0.1;
  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  start_follower (c, 1, TRUE, 0);
  db = c->nodes[1].db;
  wait_caught_up (c, 1);

  for (guint i = 0; i < 200; i++)
    {
      g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 7000 + i, "durable", 0, &error), ==, 0);
      g_assert_no_error (error);
      /* Some now, some in a batch: several wait for one sync. */
      if (i % 50 == 0)
        spin_until (c, all_acked, GUINT_TO_POINTER (i + 1), "the acknowledgements");
    }

  spin_until (c, all_acked, GUINT_TO_POINTER (200), "the acknowledgements");
  g_assert_cmpuint (c->acks_held, >=, 200);
  wait_task (c, 0, 7199);
  wait_caught_up (c, 1);
  assert_logs_equal (c->nodes[0].db, db, 1, 1);

  cluster_free (c);
}

static gboolean
failures_reach (Cluster  *c,
                gpointer  data)
{
  Failures *f = g_object_get_data (G_OBJECT (c->nodes[1].db), "failures");

  return f != NULL && f->count >= GPOINTER_TO_UINT (data);
}

static gboolean
failed_once (Cluster  *c,
             gpointer  data)
{
  return ((Failures *) data)->count > 0;
}

/* An unreachable leader: forward-failed after the timeout, then the
 * event is delivered once when the leader is back. */
static void
test_forward_timeout (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  Failures failures = { 0 };
  NetDb *db;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  start_follower (c, 1, TRUE, 300);
  db = c->nodes[1].db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  wait_caught_up (c, 1);

  c->drop = 1.0;
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 7777, "late", 0, &error), ==, 0);
  g_assert_no_error (error);
  spin_until (c, failed_once, &failures, "forward-failed");
  g_assert_cmpuint (failures.count, ==, 1);
  g_assert_error (failures.last, NET_ERROR, NET_ERROR_TIMEOUT);
  g_assert_null (net_db_tasks_get (net_db_get_tasks (c->nodes[0].db), 7777));

  c->drop = 0;
  wait_task (c, 0, 7777);
  wait_task (c, 1, 7777);
  wait_caught_up (c, 1);

  app_seqs = origin_events (c->nodes[0].db, net_db_get_origin (db));
  g_assert_cmpuint (app_seqs->len, ==, 1);
  g_assert_cmpuint (failures.count, ==, 1);

  failures_clear (&failures);
  cluster_free (c);
}

/* A link that loses 30% of the messages both ways, with a leader that is
 * alive: many mutations queued at once wait long, and their FORWARDs and
 * answers get lost, yet none is reported failed (the leader is heard
 * from all along), and each lands once, in order. */
static void
test_forward_lossy (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  Failures failures = { 0 };
  const guint n = 300;
  NetDb *db;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  start_follower (c, 1, TRUE, 1000);
  db = c->nodes[1].db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  wait_caught_up (c, 1);

  c->drop = 0.3;
  c->dup = 0.05;
  c->reorder = 0.1;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *title = g_strdup_printf ("lossy %u", i);
      guint64 id = 5000 + i / 3;

      /* A create, then two renames that must land after it. */
      if (i % 3 == 0)
        g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), id, title, 0, &error), ==, 0);
      else
        g_assert_cmpuint (net_db_tasks_rename (net_db_get_tasks (db), id, title, 0, &error), ==, 0);
      g_assert_no_error (error);
    }
  spin_until (c, all_acked, GUINT_TO_POINTER (n), "the acknowledgements");
  c->drop = 0;
  wait_caught_up (c, 1);

  g_assert_cmpuint (failures.count, ==, 0);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_failed, ==, 0);
  app_seqs = origin_events (c->nodes[0].db, net_db_get_origin (db));
  g_assert_cmpuint (app_seqs->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (g_array_index (app_seqs, guint64, i), ==, i + 1);
  for (guint k = 0; k < n / 3; k++)
    {
      g_autoptr(NetTask) t = net_db_tasks_get (net_db_get_tasks (db), 5000 + k);
      g_autofree char *title = g_strdup_printf ("lossy %u", 3 * k + 2);

      g_assert_nonnull (t);
      g_assert_cmpstr (net_task_get_title (t), ==, title);
    }
  assert_logs_equal (c->nodes[0].db, db, 1, 1);

  failures_clear (&failures);
  cluster_free (c);
}

/* The leader goes down and comes back: what was queued meanwhile is
 * reported after the timeout and delivered once when it is back. */
static void
test_forward_peer_down (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  Failures failures = { 0 };
  NetDb *db;

  start_leader (c, NULL);
  start_follower (c, 1, TRUE, 300);
  db = c->nodes[1].db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "before", 0, &error), ==, 0);
  wait_task (c, 1, 1);

  c->up = FALSE;
  _net_repl_peer_down (c->nodes[1].repl, &c->nodes[0]);
  for (guint i = 2; i <= 4; i++)
    g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), i, "while down", 0, &error), ==, 0);
  g_assert_no_error (error);
  spin_until (c, failed_once, &failures, "forward-failed");
  g_assert_error (failures.last, NET_ERROR, NET_ERROR_TIMEOUT);

  c->up = TRUE;
  _net_repl_peer_up (c->nodes[1].repl, &c->nodes[0]);
  wait_task (c, 1, 4);
  wait_caught_up (c, 1);
  /* At most once each. */
  g_assert_cmpuint (failures.count, <=, 3);

  app_seqs = origin_events (c->nodes[0].db, net_db_get_origin (db));
  g_assert_cmpuint (app_seqs->len, ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (g_array_index (app_seqs, guint64, i), ==, i + 1);

  failures_clear (&failures);
  cluster_free (c);
}

/* Events from the leader to follower 1 do not go through: forwarded
 * events are appended at the leader but never come back. */
static gboolean
no_events_to_1 (Cluster      *c,
                guint         from,
                guint         to,
                const guint8 *msg,
                gsize         len)
{
  return !(to == 1 && (msg[0] == NET_REPL_EVENTS || msg[0] == NET_REPL_FRAGMENT));
}

typedef struct
{
  guint64 origin;
  guint   n;
} OriginCount;

static gboolean
leader_has_n (Cluster  *c,
              gpointer  data)
{
  OriginCount *oc = data;
  g_autoptr(GArray) a = origin_events (c->nodes[0].db, oc->origin);

  return a->len >= oc->n;
}

/* A follower restarted with its queue lost, before its forwarded events
 * came back: its next events continue after what the leader holds, they
 * are not taken for duplicates. */
static void
test_forward_restart (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  OriginCount oc;
  NetDb *db;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  start_follower (c, 1, TRUE, 0);
  wait_caught_up (c, 1);

  c->pass = no_events_to_1;
  db = c->nodes[1].db;
  oc.origin = net_db_get_origin (db);
  oc.n = 5;
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 100 + i, "first", 0, &error), ==, 0);
      g_assert_no_error (error);
    }
  spin_until (c, leader_has_n, &oc, "the first forwarded events");
  g_assert_null (net_db_tasks_get (net_db_get_tasks (db), 100));

  /* Restart: the queue is gone, the log never got the events back. */
  node_close (&c->nodes[1]);
  c->pass = NULL;
  start_follower (c, 1, TRUE, 0);
  db = c->nodes[1].db;
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 200, "second", 0, &error), ==, 0);
  g_assert_no_error (error);

  wait_task (c, 0, 200);
  wait_task (c, 1, 200);
  app_seqs = origin_events (c->nodes[0].db, oc.origin);
  g_assert_cmpuint (app_seqs->len, ==, 6);
  for (guint i = 0; i < 6; i++)
    g_assert_cmpuint (g_array_index (app_seqs, guint64, i), ==, i + 1);

  cluster_free (c);
}

/* FORWARDs from follower 1 are held back (once each, not their
 * retransmissions); everything else goes through. */
static gboolean
hold_forwards (Cluster      *c,
               guint         from,
               guint         to,
               const guint8 *msg,
               gsize         len)
{
  g_autoptr(GBytes) bytes = NULL;

  if (from != 1 || msg[0] != NET_REPL_FORWARD)
    return TRUE;
  bytes = g_bytes_new (msg, len);
  for (guint i = 0; i < c->held->len; i++)
    if (g_bytes_equal (g_ptr_array_index (c->held, i), bytes))
      return FALSE;
  g_ptr_array_add (c->held, g_steal_pointer (&bytes));
  return FALSE;
}

/* Everything goes through; conflicts are counted. */
static gboolean
count_conflicts (Cluster      *c,
                 guint         from,
                 guint         to,
                 const guint8 *msg,
                 gsize         len)
{
  /* kind, log, app_seq, digest, then the status */
  if (msg[0] == NET_REPL_FORWARD_ACK && len > 18 && msg[18] == 4)
    c->conflicts++;
  return TRUE;
}

static gboolean
held_reach (Cluster  *c,
            gpointer  data)
{
  return c->held->len >= GPOINTER_TO_UINT (data);
}

static guint64
held_app_seq (Cluster *c,
              guint    i)
{
  const guint8 *m = g_bytes_get_data (g_ptr_array_index (c->held, i), NULL);
  guint64 v = 0;

  for (guint k = 0; k < 8; k++)
    v |= (guint64) m[2 + k] << (8 * k);
  return v;
}

/* A follower's FORWARDs are still on the way when it restarts: its new
 * events get the same app_seqs.  @n_early stale ones reach the leader
 * first and take those app_seqs; the new ones are in conflict, not
 * duplicates: they are numbered again, appended after them in their
 * order, and nothing is reported failed.  A stale one that arrives after
 * the new ones took its app_seq is not appended (its sender is gone). */
static void
forward_stale (guint n_early)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) app_seqs = NULL;
  g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(NetTask) fresh = NULL;
  Failures failures = { 0 };
  guint64 origin;
  NetDb *db;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  start_follower (c, 1, TRUE, 0);
  wait_caught_up (c, 1);

  /* Run 1 forwards two events that do not arrive before it stops. */
  c->held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  c->pass = hold_forwards;
  db = c->nodes[1].db;
  origin = net_db_get_origin (db);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 100, "stale 1", 0, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 101, "stale 2", 0, &error), ==, 0);
  g_assert_no_error (error);
  spin_until (c, held_reach, GUINT_TO_POINTER (2), "the first FORWARDs");
  node_close (&c->nodes[1]);
  for (guint i = 0; i < 2; i++)
    g_ptr_array_add (stale, g_bytes_ref (g_ptr_array_index (c->held, i)));
  g_ptr_array_set_size (c->held, 0);

  /* Run 2 knows nothing of them, nor does the leader yet. */
  start_follower (c, 1, TRUE, 0);
  db = c->nodes[1].db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 200, "fresh", 0, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_rename (net_db_get_tasks (db), 200, "renamed", 0, &error), ==, 0);
  g_assert_no_error (error);
  spin_until (c, held_reach, GUINT_TO_POINTER (2), "the second FORWARDs");
  /* The same app_seqs as the stale ones: the race this is about. */
  g_assert_cmpuint (held_app_seq (c, 0), ==, 1);
  g_assert_cmpuint (held_app_seq (c, 1), ==, 2);
  {
    gsize len;
    const guint8 *m = g_bytes_get_data (g_ptr_array_index (stale, 0), &len);

    g_assert_cmpuint (m[2], ==, 1);
  }

  /* The stale ones arrive first; then everything flows again. */
  c->pass = count_conflicts;
  for (guint i = 0; i < n_early; i++)
    {
      gsize len;
      const guint8 *m = g_bytes_get_data (g_ptr_array_index (stale, i), &len);

      g_assert_true (_net_repl_receive (c->nodes[0].repl, &c->nodes[1], m, len));
    }
  spin_until (c, all_acked, GUINT_TO_POINTER (2), "the acknowledgements");
  for (guint i = n_early; i < stale->len; i++)
    {
      gsize len;
      const guint8 *m = g_bytes_get_data (g_ptr_array_index (stale, i), &len);

      g_assert_true (_net_repl_receive (c->nodes[0].repl, &c->nodes[1], m, len));
    }
  wait_caught_up (c, 1);

  /* Nothing lost, nothing twice, in order. */
  g_assert_cmpuint (failures.count, ==, 0);
  app_seqs = origin_events (c->nodes[0].db, origin);
  g_assert_cmpuint (app_seqs->len, ==, n_early + 2);
  for (guint i = 0; i < app_seqs->len; i++)
    g_assert_cmpuint (g_array_index (app_seqs, guint64, i), ==, i + 1);
  for (guint n = 0; n < 2; n++)
    {
      NetDbTasks *tasks = net_db_get_tasks (c->nodes[n].db);
      g_autoptr(NetTask) s1 = net_db_tasks_get (tasks, 100);
      g_autoptr(NetTask) s2 = net_db_tasks_get (tasks, 101);

      g_assert_nonnull (s1);
      if (n_early > 1)
        g_assert_nonnull (s2);
      else
        g_assert_null (s2);
      g_clear_object (&fresh);
      fresh = net_db_tasks_get (tasks, 200);
      g_assert_nonnull (fresh);
      g_assert_cmpstr (net_task_get_title (fresh), ==, "renamed");
    }
  assert_logs_equal (c->nodes[0].db, db, 1, 1);
  g_assert_cmpuint (c->conflicts, >, 0);

  failures_clear (&failures);
  cluster_free (c);
}

static void
test_forward_stale (void)
{
  forward_stale (2);
}

/* Only the first stale one is early: the second new one, which follows
 * the first new one, must not take the app_seq after the stale one. */
static void
test_forward_stale_chain (void)
{
  forward_stale (1);
}

/* A leader without a memories log refuses a forwarded memory: the
 * follower reports the leader's error and drops it; tasks go on. */
static void
test_forward_refused_remote (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetDbOptions options = { .path = c->nodes[0].dir, .models = NET_DB_MODELS_TASKS };
  Failures failures = { 0 };
  const char *tags[] = { NULL };
  NetDb *db;

  c->nodes[0].db = _net_db_open (&options, &error);
  g_assert_no_error (error);
  start_leader (c, NULL);
  start_follower (c, 1, TRUE, 0);
  db = c->nodes[1].db;
  g_signal_connect (db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  g_object_set_data (G_OBJECT (db), "failures", &failures);

  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (db), 1, "m", tags, NULL, 0, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 1, "t1", 0, &error), ==, 0);
  g_assert_cmpuint (net_db_memories_store (net_db_get_memories (db), 2, "m", tags, NULL, 0, &error), ==, 0);
  g_assert_cmpuint (net_db_tasks_create (net_db_get_tasks (db), 2, "t2", 0, &error), ==, 0);
  g_assert_no_error (error);

  spin_until (c, all_acked, GUINT_TO_POINTER (2), "the tasks");
  spin_until (c, failures_reach, GUINT_TO_POINTER (2), "both refusals");
  g_assert_error (failures.last, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (failures.last->message, "no log 1"));
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_failed, ==, 2);
  wait_task (c, 1, 2);
  g_assert_cmpuint (log_next (c->nodes[0].db, 0), ==, 3);
  g_assert_null (net_db_memories_get (net_db_get_memories (db), 1));

  failures_clear (&failures);
  cluster_free (c);
}

/* The leader refuses what is not a valid event of the model. */
static void
test_forward_refused (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetDb *leader;
  NetDbForwardStatus status;
  guint64 seq;
  g_autoptr(GByteArray) body = g_byte_array_new ();
  NetEncoder enc;
  const guint8 *payload;
  gsize payload_len;
  NetEventMeta meta = { NET_DISPATCH_TASK_DELETED, 0, 42, 1 };
  g_autoptr(GBytes) good = NULL;
  g_autoptr(GBytes) wrong_model = NULL;
  g_autoptr(GBytes) own = NULL;
  g_autoptr(GBytes) bad = NULL;

  start_leader (c, NULL);
  leader = c->nodes[0].db;

  net_encoder_init (&enc, body);
  net_encoder_put_uint (&enc, 1, 5);   /* the id */
  payload = body->data;
  payload_len = body->len;
  good = net_event_encode (&meta, payload, payload_len);
  meta.dispatch = NET_DISPATCH_MEMORY_DELETED;
  wrong_model = net_event_encode (&meta, payload, payload_len);
  meta.dispatch = NET_DISPATCH_TASK_DELETED;
  meta.origin = net_db_get_origin (leader);
  own = net_event_encode (&meta, payload, payload_len);
  bad = g_bytes_new ("\x01\x02\x03", 3);

  g_assert_false (_net_db_append_forwarded (leader, 0, wrong_model, 1, &status, &seq, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (_net_db_append_forwarded (leader, 0, own, 1, &status, &seq, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (_net_db_append_forwarded (leader, 0, bad, 1, &status, &seq, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (_net_db_append_forwarded (leader, 0, good, 2, &status, &seq, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (log_next (leader, 0), ==, 1);

  g_assert_true (_net_db_append_forwarded (leader, 0, good, 1, &status, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, NET_DB_FORWARD_APPENDED);
  g_assert_cmpuint (seq, ==, 1);
  g_assert_true (_net_db_append_forwarded (leader, 0, good, 1, &status, &seq, &error));
  g_assert_cmpint (status, ==, NET_DB_FORWARD_DUPLICATE);
  meta.origin = 42;
  meta.app_seq = 3;
  g_clear_pointer (&good, g_bytes_unref);
  good = net_event_encode (&meta, payload, payload_len);
  g_assert_true (_net_db_append_forwarded (leader, 0, good, 3, &status, &seq, &error));
  g_assert_cmpint (status, ==, NET_DB_FORWARD_OUT_OF_ORDER);
  g_assert_cmpuint (log_next (leader, 0), ==, 2);
  g_assert_cmpuint (_net_db_get_origin_app_seq (leader, 0, 42), ==, 1);

  cluster_free (c);
}

/* Malformed messages ------------------------------------------------------- */

static GByteArray *
msg_new (guint8 kind)
{
  GByteArray *b = g_byte_array_new ();

  g_byte_array_append (b, &kind, 1);
  return b;
}

static void
put (GByteArray *b,
     guint64     v,
     guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      guint8 byte = v >> (8 * i);

      g_byte_array_append (b, &byte, 1);
    }
}

/* Every truncation shorter than @fixed bytes is malformed, and so is one
 * more byte when @exact. */
static void
check_truncations (NetRepl    *repl,
                   gpointer    peer,
                   GByteArray *msg,
                   gsize       fixed,
                   gboolean    exact)
{
  const NetReplCounters *k = _net_repl_get_counters (repl);

  for (gsize len = 1; len < MIN (fixed, msg->len); len++)
    {
      guint64 before = k->messages_malformed;
      g_autofree guint8 *copy = g_memdup2 (msg->data, len);

      g_assert_false (_net_repl_receive (repl, peer, copy, len));
      g_assert_cmpuint (k->messages_malformed, ==, before + 1);
    }
  if (exact)
    {
      g_autoptr(GByteArray) longer = g_byte_array_new ();

      g_byte_array_append (longer, msg->data, msg->len);
      g_byte_array_append (longer, (const guint8 *) "", 1);
      g_assert_false (_net_repl_receive (repl, peer, longer->data, longer->len));
    }
}

/* The reassembly of parts (net-repl-msg.c), against a byte map: parts of
 * random offsets and lengths, overlapping, repeated, in any order; it is
 * complete exactly when every byte arrived, and the next gap is the
 * first byte that did not. */
static void
test_parts_coverage (void)
{
  for (guint round = 0; round < 200; round++)
    {
      guint64 total = g_test_rand_int_range (1, 3000);
      NetReplParts *pa = _net_repl_parts_new (0, round, 0, total);
      g_autofree guint8 *seen = g_new0 (guint8, total);
      g_autofree guint8 *bytes = g_new (guint8, total);
      guint64 covered = 0;
      gboolean done = FALSE;

      for (guint64 i = 0; i < total; i++)
        bytes[i] = (guint8) (i * 31 + round);
      while (!done)
        {
          guint64 off = g_test_rand_int_range (0, total);
          guint64 want = g_test_rand_int_range (0, 200);   /* MIN() reads it twice */
          guint64 n = MIN (total - off, want);
          guint64 from = g_test_rand_int_range (0, total + 1);
          guint64 gap;

          done = _net_repl_parts_add (pa, off, bytes + off, n);
          for (guint64 i = off; i < off + n; i++)
            if (!seen[i])
              {
                seen[i] = 1;
                covered++;
              }
          g_assert_cmpint (done, ==, covered == total);

          gap = from;
          while (gap < total && seen[gap])
            gap++;
          if (!done)
            g_assert_cmpuint (_net_repl_parts_next_gap (pa, from), ==, gap);
        }
      {
        g_autoptr(GBytes) whole = _net_repl_parts_free_to_bytes (pa);

        g_assert_cmpmem (g_bytes_get_data (whole, NULL), g_bytes_get_size (whole), bytes, total);
      }
    }
}

/* Issue 12, finding 5: snapshot requests (id 0) from two peers, with a
 * change in between, make one snapshot, not two: the leader answers with
 * the one it made lately. */
static void
test_snapshot_request_cached (void)
{
  Cluster *c = cluster_new ();
  NetRepl *leader;
  const NetReplCounters *k;
  g_autoptr(GByteArray) m = msg_new (NET_REPL_SNAPSHOT_REQUEST);

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 50, 1);
  leader = c->nodes[0].repl;
  k = _net_repl_get_counters (leader);
  put (m, 0, 4); put (m, 0, 8); put (m, 65536, 4);

  g_assert_true (_net_repl_receive (leader, &c->nodes[1], m->data, m->len));
  g_assert_cmpuint (k->snapshots_sent, ==, 1);
  write_events (c->nodes[0].db, 5, 1000);
  for (guint i = 0; i < 20; i++)
    {
      g_assert_true (_net_repl_receive (leader, &c->nodes[1], m->data, m->len));
      g_assert_true (_net_repl_receive (leader, &c->nodes[2], m->data, m->len));
    }
  g_assert_cmpuint (k->snapshots_sent, ==, 1);

  cluster_free (c);
}

static void
test_malformed (void)
{
  Cluster *c = cluster_new ();
  NetRepl *leader, *follower;
  gpointer from_follower, from_leader;
  const NetReplCounters *k;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 20, 1);
  start_follower (c, 1, TRUE, 0);
  wait_caught_up (c, 1);
  leader = c->nodes[0].repl;
  follower = c->nodes[1].repl;
  from_follower = &c->nodes[2];   /* a peer the leader does not know yet */
  from_leader = &c->nodes[0];

  /* To the leader. */
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_SUBSCRIBE);

    put (m, 99, 8); put (m, 77, 4); put (m, 2, 1);
    put (m, 0, 1); put (m, 5, 8); put (m, 1234, 8);
    put (m, 1, 1); put (m, 5, 8); put (m, 0, 8);
    check_truncations (leader, from_follower, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (leader, from_follower, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_PULL);

    put (m, 0, 1); put (m, 1, 8); put (m, 3, 8);
    check_truncations (leader, from_follower, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (leader, from_follower, m->data, m->len));
    m->data[1] = 7;   /* no such log */
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
    m->data[1] = 0;
    m->data[10] = 0;  /* end before start */
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_SNAPSHOT_REQUEST);

    put (m, 12345, 4); put (m, 0, 8); put (m, 100, 4);
    check_truncations (leader, from_follower, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (leader, from_follower, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_FORWARD);

    put (m, 0, 1); put (m, 1, 8); put (m, 0x1234, 8); put (m, 0, 8); put (m, 100, 4); put (m, 0, 4);
    g_byte_array_append (m, (const guint8 *) "0123456789", 10);
    check_truncations (leader, from_follower, m, 1 + 1 + 8 + 8 + 8 + 4 + 4 + 1, FALSE);
    /* A part past the announced total. */
    m->data[26] = 5;
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
    m->data[26] = 100;
    /* No digest. */
    m->data[10] = 0; m->data[11] = 0;
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
  }

  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_LOGS_REQUEST);

    /* By number (none the leader has: answered with nothing), and by
     * name (a collection's: created, as for a writer). */
    put (m, 1, 1); put (m, 7, 1);
    put (m, 1, 1); put (m, 17, 1); g_byte_array_append (m, (const guint8 *) "collections/asked", 17);
    check_truncations (leader, from_follower, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (leader, from_follower, m->data, m->len));
    /* Not a collection's log name. */
    memcpy (m->data + 5, "tasks/xxxxx", 11);
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
    memcpy (m->data + 5, "collections/", 12);
    m->data[5 + 12] = 'A';
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
    /* Nothing asked. */
    g_byte_array_set_size (m, 1);
    put (m, 0, 1); put (m, 0, 1);
    g_assert_false (_net_repl_receive (leader, from_follower, m->data, m->len));
  }

  /* To the follower. */
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_LOGS);

    put (m, 1, 1);
    put (m, 9, 1); put (m, 0, 1); put (m, 16, 1); g_byte_array_append (m, (const guint8 *) "collections/told", 16);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[2] = 1;   /* 0 and 1 are the models' */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[2] = 9;
    m->data[3] = 3;   /* no such status */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[3] = 1;   /* refused, with a number */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[3] = 0;
    m->data[5] = 'T';   /* not a log name */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_ANNOUNCE);

    put (m, 1, 1); put (m, 77, 4); put (m, 0, 1); put (m, 1, 8); put (m, 1, 8); put (m, 0, 8);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_EVENTS);

    put (m, 0, 1); put (m, 1, 8); put (m, 2, 2);
    put (m, 5, 8); put (m, 3, 4); g_byte_array_append (m, (const guint8 *) "abc", 3);
    put (m, 6, 8); put (m, 2, 4); g_byte_array_append (m, (const guint8 *) "de", 2);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    /* Events it holds: a valid message, duplicates counted. */
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
    /* A length beyond the message. */
    m->data[1 + 1 + 8 + 2 + 8] = 200;
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_FRAGMENT);

    put (m, 0, 1); put (m, 1, 8); put (m, 7, 8); put (m, 100, 4); put (m, 0, 4);
    g_byte_array_append (m, (const guint8 *) "0123456789", 10);
    check_truncations (follower, from_leader, m, 1 + 1 + 8 + 8 + 4 + 4 + 1, FALSE);
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_GONE);

    put (m, 0, 1); put (m, 1, 8); put (m, 1, 8);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    /* leader_first <= from_seq makes no sense. */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_DIVERGED);

    put (m, 0, 1); put (m, 1, 8);
    check_truncations (follower, from_leader, m, m->len, TRUE);
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_SNAPSHOT_INFO);

    put (m, 3, 4); put (m, 10, 8);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_SNAPSHOT_PART);

    put (m, 3, 4); put (m, 0, 8); g_byte_array_append (m, (const guint8 *) "xyz", 3);
    check_truncations (follower, from_leader, m, 1 + 4 + 8 + 1, FALSE);
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
  }
  {
    g_autoptr(GByteArray) m = msg_new (NET_REPL_FORWARD_ACK);

    put (m, 0, 1); put (m, 77, 8); put (m, 0x1234, 8); put (m, 3, 1); put (m, 0, 8); put (m, 1, 4);
    put (m, 3, 2); g_byte_array_append (m, (const guint8 *) "bad", 3);
    check_truncations (follower, from_leader, m, m->len, TRUE);
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[18] = 4;   /* a conflict: valid */
    g_assert_true (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[18] = 5;   /* no such status */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
    m->data[18] = 3;
    m->data[10] = 0; m->data[11] = 0;   /* no digest */
    g_assert_false (_net_repl_receive (follower, from_leader, m->data, m->len));
  }

  /* Unknown kinds, kinds for the other role, nothing at all. */
  {
    const guint8 kinds[] = { 0x00, 0x05, 0x1f, 0x20, 0x29, 0xff };

    for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
      {
        g_assert_false (_net_repl_receive (leader, from_follower, &kinds[i], 1));
        g_assert_false (_net_repl_receive (follower, from_leader, &kinds[i], 1));
      }
    g_assert_false (_net_repl_receive (leader, from_follower, kinds, 0));
    g_assert_false (_net_repl_receive (leader, from_follower, (const guint8 *) "\x21", 1));
    g_assert_false (_net_repl_receive (follower, from_leader, (const guint8 *) "\x02", 1));
  }

  /* Random bytes behind every kind: no crash, whatever the verdict. */
  for (guint i = 0; i < 20000; i++)
    {
      guint8 buf[64];
      gsize len = g_test_rand_int_range (1, sizeof buf);

      for (gsize j = 0; j < len; j++)
        buf[j] = g_test_rand_int_range (0, 256);
      buf[0] = (i % 2) ? g_test_rand_int_range (1, 6) : g_test_rand_int_range (0x21, 0x2a);
      /* Skip what a well-formed random message would legitimately act on:
       * a new snapshot each time, a follower told it diverged or lags. */
      if (buf[0] == NET_REPL_SNAPSHOT_REQUEST || buf[0] == NET_REPL_DIVERGED ||
          buf[0] == NET_REPL_GONE)
        continue;
      _net_repl_receive ((i % 2) ? leader : follower, (i % 2) ? from_follower : from_leader,
                         buf, len);
    }

  k = _net_repl_get_counters (leader);
  g_assert_cmpuint (k->messages_malformed, >, 0);

  /* Still working afterwards. */
  write_events (c->nodes[0].db, 20, 1000);
  wait_caught_up (c, 1);
  assert_logs_equal (c->nodes[0].db, c->nodes[1].db, 1, 1);

  cluster_free (c);
}

/* The link removes the leader's peer and makes a new one for the same
 * key (the leader moved): the follower takes it for its leader. */
static void
test_leader_readded (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  Node *moved = &c->nodes[2];

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 300, 1);
  start_follower (c, 1, FALSE, 0);
  wait_caught_up (c, 1);

  /* The leader's db now answers as node 2, with node 0's key. */
  node_stop (&c->nodes[0]);
  _net_repl_peer_removed (c->nodes[1].repl, &c->nodes[0]);
  memcpy (moved->key, c->nodes[0].key, sizeof moved->key);
  moved->repl = _net_repl_new_leader (c->nodes[0].db, &moved->link, NULL, &error);
  g_assert_no_error (error);
  _net_repl_set_timing (moved->repl, 100, 50, 0);

  /* A stranger's peer is not taken for the leader. */
  _net_repl_peer_up (c->nodes[1].repl, &c->nodes[1]);
  write_events (c->nodes[0].db, 300, 1000);
  _net_repl_peer_up (c->nodes[1].repl, moved);
  wait_caught_up (c, 1);
  assert_logs_equal (c->nodes[0].db, c->nodes[1].db, 1, 1);

  node_stop (moved);   /* it holds node 0's db */
  cluster_free (c);
}

/* The leader's ANNOUNCEs to follower 1 claim 5 more tasks than it has. */
static gboolean
inflate_announces (Cluster      *c,
                   guint         from,
                   guint         to,
                   const guint8 *msg,
                   gsize         len)
{
  g_autofree guint8 *copy = NULL;

  if (from != 0 || to != 1 || msg[0] != NET_REPL_ANNOUNCE)
    return TRUE;
  copy = g_memdup2 (msg, len);
  /* kind, n, token, then n × {log, first_seq, next_seq, app_seq} */
  for (gsize off = 6; off + 25 <= len; off += 25)
    if (copy[off] == 0)
      {
        guint64 next = 0;

        for (guint k = 0; k < 8; k++)
          next |= (guint64) copy[off + 9 + k] << (8 * k);
        next += 5;
        for (guint k = 0; k < 8; k++)
          copy[off + 9 + k] = next >> (8 * k);
      }
  enqueue (c, from, to, copy, len);
  return FALSE;
}

static gboolean
follow_failed_once (Cluster  *c,
                    gpointer  data)
{
  return c->nodes[GPOINTER_TO_UINT (data)].follow_failed > 0;
}

static gboolean
announces_reach (Cluster  *c,
                 gpointer  data)
{
  return _net_repl_get_counters (c->nodes[0].repl)->announces_sent >= GPOINTER_TO_SIZE (data);
}

/* A leader that announces a tail it does not send: the follower takes
 * what there is, then stops with follow-failed instead of asking again
 * for ever. */
static void
test_bogus_announce (void)
{
  Cluster *c = cluster_new ();
  const NetReplCounters *k;
  guint64 pulls;
  gsize announces;

  start_leader (c, NULL);
  write_events (c->nodes[0].db, 300, 1);
  c->pass = inflate_announces;
  start_follower (c, 1, FALSE, 0);
  spin_until (c, follow_failed_once, GUINT_TO_POINTER (1), "follow-failed");

  g_assert_error (c->nodes[1].follow_error, NET_ERROR, NET_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (c->nodes[1].follow_error->message, "sent nothing from seq"));
  g_assert_nonnull (strstr (c->nodes[1].follow_error->message, "tasks"));
  /* Everything the leader has was taken. */
  g_assert_cmpuint (log_next (c->nodes[1].db, 0), ==, log_next (c->nodes[0].db, 0));
  g_assert_cmpuint (log_next (c->nodes[1].db, 1), ==, log_next (c->nodes[0].db, 1));

  /* Stopped: no more PULLs, however many ANNOUNCEs come, and reported
   * once. */
  k = _net_repl_get_counters (c->nodes[1].repl);
  pulls = k->pulls_sent + k->pulls_retried;
  announces = _net_repl_get_counters (c->nodes[0].repl)->announces_sent;
  spin_until (c, announces_reach, GSIZE_TO_POINTER (announces + 5), "more announcements");
  g_assert_cmpuint (k->pulls_sent + k->pulls_retried, ==, pulls);
  g_assert_cmpuint (c->nodes[1].follow_failed, ==, 1);

  cluster_free (c);
}

/* The DIVERGED check: a follower whose last event differs from the
 * leader's at that seq stops. */
static void
test_diverged (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;

  /* Both write on their own: two histories. */
  c->nodes[0].db = open_db (c->nodes[0].dir, NULL);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  write_events (c->nodes[0].db, 30, 1);
  write_events (c->nodes[1].db, 10, 1);

  start_leader (c, NULL);
  start_follower (c, 1, FALSE, 0);
  /* The follower syncs what it wrote first (on a worker), then shows its
   * whole tail to the leader. */
  {
    gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

    while (c->nodes[1].follow_failed == 0 || c->in_flight > 0)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, until);
        g_main_context_iteration (NULL, c->in_flight > 0);
      }
    /* A few heartbeats more: reported once. */
    until = g_get_monotonic_time () + 300 * 1000;
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_cmpuint (c->nodes[1].follow_failed, ==, 1);
  g_assert_error (c->nodes[1].follow_error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
  g_assert_nonnull (strstr (c->nodes[1].follow_error->message, "diverged from its leader at seq "));
  /* Nothing of the leader's was mixed in. */
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->events_appended, ==, 0);

  cluster_free (c);
}

static guint
count_segments (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;
  guint n = 0;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, entry, NULL);

      if (g_str_has_suffix (entry, ".seg"))
        n++;
      else if (g_file_test (child, G_FILE_TEST_IS_DIR))
        n += count_segments (child);
    }
  return n;
}

/* _net_redex_file_reset: empties a log durably and restarts it at a seq
 * never below its next one. */
static void
test_redex_reset (void)
{
  g_autofree char *root = g_dir_make_tmp ("netdb-reset-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) payload = g_bytes_new_static ("event", 5);

  for (guint persistent = 0; persistent < 2; persistent++)
    {
      g_autofree char *dir = g_build_filename (root, persistent ? "disk" : "mem", NULL);
      g_autoptr(NetRedex) redex = net_redex_new (persistent ? dir : NULL, &error);
      g_autoptr(NetRedexFile) file = NULL;
      g_autoptr(NetRedexConfig) config = net_redex_config_new ();
      g_autoptr(GPtrArray) events = NULL;

      g_assert_no_error (error);
      /* Small segments: the reset drops several. */
      net_redex_config_set_segment_size (config, 4096);
      file = net_redex_open_file (redex, "log", config, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < 500; i++)
        g_assert_cmpuint (net_redex_file_append (file, payload, &error), ==, i + 1);
      g_assert_true (net_redex_file_sync (file, &error));

      g_assert_false (_net_redex_file_reset (file, 400, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH);
      g_clear_error (&error);
      g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 501);

      g_assert_true (_net_redex_file_reset (file, 1000, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1000);
      g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 1000);
      g_assert_cmpuint (net_redex_file_get_length (file), ==, 0);
      g_assert_null (net_redex_file_read_one (file, 10, &error));
      g_clear_error (&error);
      g_assert_cmpuint (net_redex_file_append (file, payload, &error), ==, 1000);
      g_assert_no_error (error);

      if (persistent)
        {
          /* What is on disk agrees after a reopen. */
          g_assert_true (net_redex_file_close (file, &error));
          g_clear_object (&file);
          g_assert_true (net_redex_close (redex, &error));
          g_clear_object (&redex);
          redex = net_redex_new (dir, &error);
          g_assert_no_error (error);
          file = net_redex_open_file (redex, "log", NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (net_redex_file_get_first_seq (file), ==, 1000);
          g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, 1001);
        }
      events = net_redex_file_read_range (file, 1, 2000, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (events->len, ==, 1);
      g_assert_cmpuint (net_redex_event_get_seq (g_ptr_array_index (events, 0)), ==, 1000);
      g_assert_true (net_redex_file_close (file, &error));
    }

  /* Only the new segment is left of the log's files. */
  g_assert_cmpuint (count_segments (root), ==, 1);

  rm_rf (root);
}

/* Collections ------------------------------------------------------------------ */

/* A record class of the tests': what an application defines. */
#define REPL_TYPE_NOTE (repl_note_get_type ())
G_DECLARE_FINAL_TYPE (ReplNote, repl_note, REPL, NOTE, NetRecord)

struct _ReplNote
{
  NetRecord  parent_instance;
  char      *title;
  int        rank;
  gboolean   done;
};

G_DEFINE_FINAL_TYPE (ReplNote, repl_note, NET_TYPE_RECORD)

enum { NOTE_PROP_0, NOTE_PROP_TITLE, NOTE_PROP_RANK, NOTE_PROP_DONE };

static void
repl_note_finalize (GObject *object)
{
  g_free (REPL_NOTE (object)->title);
  G_OBJECT_CLASS (repl_note_parent_class)->finalize (object);
}

static void
repl_note_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  ReplNote *self = REPL_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_value_set_string (value, self->title); break;
    case NOTE_PROP_RANK: g_value_set_int (value, self->rank); break;
    case NOTE_PROP_DONE: g_value_set_boolean (value, self->done); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
repl_note_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  ReplNote *self = REPL_NOTE (object);

  switch (prop_id)
    {
    case NOTE_PROP_TITLE: g_free (self->title); self->title = g_value_dup_string (value); break;
    case NOTE_PROP_RANK: self->rank = g_value_get_int (value); break;
    case NOTE_PROP_DONE: self->done = g_value_get_boolean (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
repl_note_class_init (ReplNoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = repl_note_finalize;
  object_class->get_property = repl_note_get_property;
  object_class->set_property = repl_note_set_property;
  g_object_class_install_property (object_class, NOTE_PROP_TITLE,
                                   g_param_spec_string ("title", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_RANK,
                                   g_param_spec_int ("rank", NULL, NULL, G_MININT, G_MAXINT, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_DONE,
                                   g_param_spec_boolean ("done", NULL, NULL, FALSE, rw));
}

static void
repl_note_init (ReplNote *self)
{
}

static guint64
note_insert (NetCollection *coll,
             guint64        id,
             const char    *title,
             int            rank)
{
  g_autoptr(ReplNote) note = g_object_new (REPL_TYPE_NOTE, "id", id, "title", title,
                                           "rank", rank, NULL);
  g_autoptr(GError) error = NULL;
  guint64 seq = net_collection_insert (coll, NET_RECORD (note), &error);

  g_assert_no_error (error);
  return seq;
}

/* @n inserts into @coll, ids from @base, with updates and deletes among
 * them (every 5th a rename, every 7th a deletion of an earlier one). */
static void
write_notes (NetCollection *coll,
             guint          n,
             guint64        base)
{
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *title = g_strdup_printf ("note %u", (guint) (base + i));

      g_assert_cmpuint (note_insert (coll, base + i, title, (int) ((i * 37) % 101)), >, 0);
      if (i % 5 == 4)
        {
          g_assert_cmpuint (net_collection_update (coll, base + i - 2, &error, "title", "renamed",
                                                   "done", TRUE, NULL), >, 0);
          g_assert_no_error (error);
        }
      if (i % 7 == 6)
        {
          g_assert_cmpuint (net_collection_delete (coll, base + i - 3, &error), >, 0);
          g_assert_no_error (error);
        }
    }
}

static gboolean
strv_has (char       **strv,
          const char  *name)
{
  return g_strv_contains ((const char * const *) strv, name);
}

typedef struct
{
  guint       node;
  const char *name;
} CollWait;

/* Node @data->node lists collection @data->name and holds its log as the
 * leader does.  (Replication opened that log: listing it proves it.) */
static gboolean
coll_caught_up (Cluster  *c,
                gpointer  data)
{
  CollWait *w = data;
  g_auto(GStrv) names = net_db_list_collections (c->nodes[w->node].db);
  g_autofree char *log = g_strconcat ("collections/", w->name, NULL);
  NetRedexFile *a, *b;

  if (!strv_has (names, w->name))
    return FALSE;
  a = _net_db_open_log (c->nodes[0].db, log, NULL);
  b = _net_db_open_log (c->nodes[w->node].db, log, NULL);
  return a != NULL && b != NULL &&
         net_redex_file_get_next_seq (a) == net_redex_file_get_next_seq (b) &&
         net_redex_file_get_durable_seq (b) + 1 == net_redex_file_get_next_seq (b);
}

static void
wait_coll_caught_up (Cluster    *c,
                     guint       node,
                     const char *name)
{
  CollWait w = { node, name };

  spin_until (c, coll_caught_up, &w, "a follower to catch up on a collection");
}

typedef struct
{
  guint          node;
  NetCollection *coll;
} AppliedWait;

/* @data->coll (open on node @data->node) folded every event its log
 * holds: the log's catching up is not yet the live state's. */
static gboolean
coll_applied (Cluster  *c,
              gpointer  data)
{
  AppliedWait *w = data;
  g_autofree char *log = g_strconcat ("collections/", net_collection_get_name (w->coll), NULL);
  NetRedexFile *file = _net_db_open_log (c->nodes[w->node].db, log, NULL);

  return file != NULL && net_collection_get_applied_seq (w->coll) + 1 == net_redex_file_get_next_seq (file);
}

static void
wait_coll_applied (Cluster       *c,
                   guint          node,
                   NetCollection *coll)
{
  AppliedWait w = { node, coll };

  spin_until (c, coll_applied, &w, "a follower's collection to fold its log");
}

/* The records of @a and @b, in rank order (an index serves it on the
 * leader), are equal field by field. */
static void
assert_notes_equal (NetCollection *a,
                    NetCollection *b)
{
  g_autoptr(NetFilter) filter = net_filter_new ();
  g_autoptr(GPtrArray) x = NULL;
  g_autoptr(GPtrArray) y = NULL;

  net_filter_order_by (filter, "rank", TRUE);
  x = net_collection_find_many (a, filter);
  y = net_collection_find_many (b, filter);
  g_assert_cmpuint (x->len, >, 0);
  g_assert_cmpuint (x->len, ==, y->len);
  g_assert_cmpuint (net_collection_count (a, NULL), ==, net_collection_count (b, NULL));
  for (guint i = 0; i < x->len; i++)
    {
      ReplNote *p = g_ptr_array_index (x, i), *q = g_ptr_array_index (y, i);

      g_assert_true (REPL_IS_NOTE (q));
      g_assert_cmpuint (net_record_get_id (NET_RECORD (p)), ==, net_record_get_id (NET_RECORD (q)));
      g_assert_cmpstr (p->title, ==, q->title);
      g_assert_cmpint (p->rank, ==, q->rank);
      g_assert_cmpint (p->done, ==, q->done);
      g_assert_cmpint (net_record_get_created_at (NET_RECORD (p)), ==,
                       net_record_get_created_at (NET_RECORD (q)));
      g_assert_cmpint (net_record_get_updated_at (NET_RECORD (p)), ==,
                       net_record_get_updated_at (NET_RECORD (q)));
    }
}

static gboolean
model_has_n (Cluster  *c,
             gpointer  data)
{
  GListModel *model = data;

  return g_list_model_get_n_items (model) ==
         GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (model), "expected"));
}

/* A leader's collections reach a follower that never opened them: one its
 * process opened (with an ordered index), one only its directory holds,
 * one it creates while the follower follows; the follower opens them with
 * its class and sees the same records, and its live models update. */
static void
test_collections (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetQueryModel) live = NULL;
  g_autoptr(ReplNote) rec = NULL;
  g_auto(GStrv) names = NULL;
  NetCollection *notes, *archive, *late, *f_notes, *f_archive, *f_late;
  Changes changes = { 0, 0 };

  /* The leader's directory holds "archive", which its process does not
   * open this time. */
  c->nodes[0].db = open_db (c->nodes[0].dir, NULL);
  archive = net_db_open_collection (c->nodes[0].db, "archive", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  write_notes (archive, 40, 1);
  g_assert_true (net_db_close (c->nodes[0].db, &error));
  g_assert_no_error (error);
  g_clear_object (&c->nodes[0].db);

  start_leader (c, NULL);
  notes = net_db_open_collection (c->nodes[0].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_true (net_collection_add_index (notes, "rank", NET_INDEX_ORDERED, &error));
  g_assert_no_error (error);
  write_notes (notes, 300, 1);
  write_events (c->nodes[0].db, 50, 1);

  start_follower (c, 1, FALSE, 0);
  wait_caught_up (c, 1);
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_caught_up (c, 1, "archive");
  names = net_db_list_collections (c->nodes[1].db);
  g_assert_true (strv_has (names, "notes") && strv_has (names, "archive"));

  /* Opened with the application's class: the same records, typed. */
  f_notes = net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_true (net_collection_get_record_type (f_notes) == REPL_TYPE_NOTE);
  g_assert_true (net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error) == f_notes);
  assert_notes_equal (notes, f_notes);
  /* The leader's process opened "archive" only for its followers: the
   * application still opens it with any class it likes. */
  archive = net_db_open_collection (c->nodes[0].db, "archive", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  f_archive = net_db_open_collection (c->nodes[1].db, "archive", NET_TYPE_RECORD, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_count (f_archive, NULL), ==, net_collection_count (archive, NULL));
  g_assert_null (net_db_open_collection (c->nodes[1].db, "archive", REPL_TYPE_NOTE, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A following db refuses local mutations of a collection, as of tasks. */
  rec = g_object_new (REPL_TYPE_NOTE, "id", (guint64) 999999, "title", "local", NULL);
  g_assert_cmpuint (net_collection_insert (f_notes, NET_RECORD (rec), &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);
  g_assert_cmpuint (net_collection_delete (f_notes, 1, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_READ_ONLY);
  g_clear_error (&error);

  /* Live: a watch on the follower's collection follows the leader. */
  live = net_collection_watch (f_notes, NULL);
  g_signal_connect (live, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  write_notes (notes, 50, 100000);
  g_object_set_data (G_OBJECT (live), "expected",
                     GUINT_TO_POINTER (net_collection_count (notes, NULL)));
  spin_until (c, model_has_n, live, "the follower's live model");
  g_assert_cmpuint (changes.added, >=, 50 - 50 / 7);
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_applied (c, 1, f_notes);
  assert_notes_equal (notes, f_notes);

  /* A collection created while the follower follows. */
  late = net_db_open_collection (c->nodes[0].db, "late", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  write_notes (late, 20, 1);
  wait_coll_caught_up (c, 1, "late");
  f_late = net_db_open_collection (c->nodes[1].db, "late", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  assert_notes_equal (late, f_late);

  /* A second follower started after all that, and one restarted. */
  start_follower (c, 2, FALSE, 0);
  wait_coll_caught_up (c, 2, "late");
  wait_coll_caught_up (c, 2, "notes");
  node_close (&c->nodes[1]);
  g_clear_object (&live);
  write_notes (notes, 10, 200000);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  start_follower (c, 1, FALSE, 0);
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_caught_up (c, 2, "notes");
  for (guint i = 1; i < N_NODES; i++)
    {
      f_notes = net_db_open_collection (c->nodes[i].db, "notes", REPL_TYPE_NOTE, &error);
      g_assert_no_error (error);
      assert_notes_equal (notes, f_notes);
      g_assert_cmpuint (_net_repl_get_counters (c->nodes[i].repl)->messages_malformed, ==, 0);
    }
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[0].repl)->messages_malformed, ==, 0);

  cluster_free (c);
}

/* The leader holds both forwarded changes, and acknowledged them. */
static gboolean
forwarded_cb (Cluster  *c,
              gpointer  data)
{
  NetCollection *notes = data;
  NetRepl *follower = g_object_get_data (G_OBJECT (notes), "follower");
  g_autoptr(NetRecord) inserted = net_collection_get (notes, 5000);
  g_autoptr(NetRecord) changed = net_collection_get (notes, 1);

  return inserted != NULL && changed != NULL &&
         g_strcmp0 (REPL_NOTE (changed)->title, "changed there") == 0 &&
         _net_repl_get_counters (follower)->forwards_acked == 2;
}

/* A follower with write forwarding forwards a collection's mutations;
 * they come back replicated. */
static void
test_collections_forward (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetCollection *notes, *f_notes;

  c->drop = 0.05;
  c->reorder = 0.1;
  start_leader (c, NULL);
  notes = net_db_open_collection (c->nodes[0].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  write_notes (notes, 20, 1);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  f_notes = net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  start_follower (c, 1, TRUE, 0);
  wait_coll_caught_up (c, 1, "notes");

  /* Forwarded: 0 at once, then on the leader, then back here. */
  g_assert_cmpuint (note_insert (f_notes, 5000, "from the follower", 7), ==, 0);
  g_assert_cmpuint (net_collection_update (f_notes, 1, &error, "title", "changed there", NULL), ==, 0);
  g_assert_no_error (error);
  g_object_set_data (G_OBJECT (notes), "follower", c->nodes[1].repl);
  spin_until (c, forwarded_cb, notes, "the forwarded changes");
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_applied (c, 1, f_notes);
  assert_notes_equal (notes, f_notes);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_acked, ==, 2);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_failed, ==, 0);

  cluster_free (c);
}

static gboolean
link_reader_only (NetReplLink *link,
                  gpointer     peer,
                  guint64     *origin)
{
  return FALSE;
}

/* A collection of the follower's that the leader does not have: a writer
 * forwards to it and the leader creates it; a reader's forwards fail. */
static void
test_collections_forward_new (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  Failures failures = { 0 };
  NetCollection *fresh, *f_fresh, *other;
  g_auto(GStrv) names = NULL;

  start_leader (c, NULL);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  f_fresh = net_db_open_collection (c->nodes[1].db, "fresh", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  start_follower (c, 1, TRUE, 0);
  wait_caught_up (c, 1);

  g_assert_cmpuint (note_insert (f_fresh, 1, "one", 1), ==, 0);
  g_assert_cmpuint (note_insert (f_fresh, 2, "two", 2), ==, 0);
  spin_until (c, all_acked, GUINT_TO_POINTER (2), "the forwards to a new collection");
  names = net_db_list_collections (c->nodes[0].db);
  g_assert_true (strv_has (names, "fresh"));
  fresh = net_db_open_collection (c->nodes[0].db, "fresh", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_count (fresh, NULL), ==, 2);
  wait_coll_caught_up (c, 1, "fresh");
  /* f_fresh was open all along: its state follows its log from a dispatch. */
  wait_coll_applied (c, 1, f_fresh);
  assert_notes_equal (fresh, f_fresh);

  /* A reader may not create one. */
  node_stop (&c->nodes[1]);
  c->nodes[0].link.peer_may_forward = link_reader_only;
  other = net_db_open_collection (c->nodes[1].db, "other", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  start_follower (c, 1, TRUE, 0);
  g_signal_connect (c->nodes[1].db, "forward-failed", G_CALLBACK (forward_failed_cb), &failures);
  g_object_set_data (G_OBJECT (c->nodes[1].db), "failures", &failures);
  g_assert_cmpuint (note_insert (other, 1, "refused", 1), ==, 0);
  spin_until (c, failures_reach, GUINT_TO_POINTER (1), "the refusal");
  g_assert_error (failures.last, NET_ERROR, NET_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (failures.last->message, "other"));
  g_clear_pointer (&names, g_strfreev);
  names = net_db_list_collections (c->nodes[0].db);
  g_assert_false (strv_has (names, "other"));

  g_signal_handlers_disconnect_by_data (c->nodes[1].db, &failures);
  failures_clear (&failures);
  cluster_free (c);
}

/* Field @name of record @id of @coll becomes @value (of its GType). */
static guint64
coll_set (NetCollection  *coll,
          guint64         id,
          const char     *name,
          const GValue   *value,
          GError        **error)
{
  const char *names[] = { name };

  return net_collection_updatev (coll, id, 1, names, value, error);
}

/* The definitions the log of collection @name of @db holds, in log
 * order, as "NUM NAME TYPE". */
static GPtrArray *
coll_log_defs (NetDb      *db,
               const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *log = g_strconcat ("collections/", name, NULL);
  NetRedexFile *file = _net_db_open_log (db, log, &error);
  g_autoptr(GPtrArray) events = NULL;
  GPtrArray *defs = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  events = net_redex_file_read_range (file, net_redex_file_get_first_seq (file),
                                      net_redex_file_get_next_seq (file), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      GBytes *bytes = net_redex_event_get_payload (g_ptr_array_index (events, i));
      NetEventMeta meta;
      const guint8 *payload;
      gsize payload_len;
      NetDecoder dec;
      NetField f;

      g_assert_true (net_event_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                       &meta, &payload, &payload_len, NULL));
      g_assert_true (net_decoder_init (&dec, payload, payload_len, NULL));
      while (net_decoder_next (&dec, &f, NULL) > 0)
        if (f.field == 4)   /* a definition */
          {
            g_autofree char *def_name = NULL;
            guint64 num = 0, type = 0;
            NetDecoder d;
            NetField g;

            g_assert_true (net_decoder_init (&d, f.bytes, f.bytes_len, NULL));
            while (net_decoder_next (&d, &g, NULL) > 0)
              if (g.field == 1)
                num = g.uint_value;
              else if (g.field == 2)
                def_name = net_field_dup_utf8 (&g, NULL);
              else if (g.field == 3)
                type = g.uint_value;
            g_ptr_array_add (defs, g_strdup_printf ("%" G_GUINT64_FORMAT " %s %" G_GUINT64_FORMAT,
                                                    num, def_name, type));
          }
    }
  return defs;
}

/* The number @defs (of coll_log_defs()) define @name under, the same in
 * every definition of it; and no number is two fields. */
static guint
defs_number_of (GPtrArray  *defs,
                const char *name)
{
  guint found = 0;

  for (guint i = 0; i < defs->len; i++)
    {
      g_auto(GStrv) a = g_strsplit (g_ptr_array_index (defs, i), " ", 3);

      for (guint j = 0; j < defs->len; j++)
        {
          g_auto(GStrv) b = g_strsplit (g_ptr_array_index (defs, j), " ", 3);

          if (g_str_equal (a[0], b[0]))
            g_assert_cmpstr (g_ptr_array_index (defs, i), ==, g_ptr_array_index (defs, j));
        }
      if (g_str_equal (a[1], name))
        {
          guint num = (guint) g_ascii_strtoull (a[0], NULL, 10);

          g_assert_true (found == 0 || found == num);
          found = num;
        }
    }
  g_assert_cmpuint (found, !=, 0);
  return found;
}

/* Node @data's collection "plain" folded every event its log holds. */
static gboolean
plain_applied (Cluster  *c,
               gpointer  data)
{
  NetDb *db = c->nodes[GPOINTER_TO_UINT (data)].db;
  NetCollection *plain = net_db_open_collection (db, "plain", NET_TYPE_RECORD, NULL);
  NetRedexFile *file = _net_db_open_log (db, "collections/plain", NULL);

  return plain != NULL && file != NULL &&
         net_collection_get_applied_seq (plain) + 1 == net_redex_file_get_next_seq (file);
}

/* The follower holds what the leader's log of "plain" holds, folded. */
static void
wait_plain_caught_up (Cluster *c)
{
  wait_coll_caught_up (c, 1, "plain");
  spin_until (c, plain_applied, GUINT_TO_POINTER (1), "the follower to fold \"plain\"");
}

/* Every forwarded change was answered, one way or the other. */
static gboolean
forwards_settled (Cluster  *c,
                  gpointer  data)
{
  const NetReplCounters *counters = _net_repl_get_counters (c->nodes[1].repl);

  return counters->forwards_acked + counters->forwards_failed >= GPOINTER_TO_UINT (data);
}

/* Record 1 of collection "plain" of @db, with field @name a string
 * @want (NULL: an int @want_int). */
static void
assert_plain_field (NetDb      *db,
                    const char *name,
                    const char *want,
                    gint64      want_int)
{
  g_autoptr(GError) error = NULL;
  NetCollection *plain = net_db_open_collection (db, "plain", NET_TYPE_RECORD, &error);
  g_autoptr(NetRecord) rec = NULL;
  g_auto(GValue) value = G_VALUE_INIT;

  g_assert_no_error (error);
  rec = net_collection_get (plain, 1);
  g_assert_nonnull (rec);
  g_assert_true (net_record_get_field (rec, name, &value));
  if (want != NULL)
    g_assert_cmpstr (g_value_get_string (&value), ==, want);
  else if (G_VALUE_HOLDS_INT (&value))
    g_assert_cmpint (g_value_get_int (&value), ==, want_int);
  else
    g_assert_cmpfloat (g_value_get_double (&value), ==, (double) want_int);
}

/* The status of the last FORWARD_ACK the leader sent node 2 (0xff: none
 * yet); everything goes through. */
static guint8 ack_to_2 = 0xff;

static gboolean
watch_acks_to_2 (Cluster      *c,
                 guint         from,
                 guint         to,
                 const guint8 *msg,
                 gsize         len)
{
  /* kind, log, app_seq, digest, then the status */
  if (from == 0 && to == 2 && msg[0] == NET_REPL_FORWARD_ACK && len > 18)
    ack_to_2 = msg[18];
  return TRUE;
}

static gboolean
acked_to_2 (Cluster  *c,
            gpointer  data)
{
  return ack_to_2 != 0xff;
}

/* A leader and a writer follower of an untyped collection "plain" with
 * record 1 (a "title"), the follower caught up; forward-failed counted in
 * @failures. */
static Cluster *
plain_cluster_new (Failures  *failures)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRecord) rec = g_object_new (NET_TYPE_RECORD, "id", (guint64) 1, NULL);
  g_auto(GValue) title = G_VALUE_INIT;
  NetCollection *plain;

  start_leader (c, NULL);
  plain = net_db_open_collection (c->nodes[0].db, "plain", NET_TYPE_RECORD, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_insert (plain, rec, &error), >, 0);
  g_assert_no_error (error);
  g_value_init (&title, G_TYPE_STRING);
  g_value_set_string (&title, "one");
  g_assert_cmpuint (coll_set (plain, 1, "title", &title, &error), >, 0);
  g_assert_no_error (error);

  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  net_db_open_collection (c->nodes[1].db, "plain", NET_TYPE_RECORD, &error);
  g_assert_no_error (error);
  start_follower (c, 1, TRUE, 0);
  g_signal_connect (c->nodes[1].db, "forward-failed", G_CALLBACK (forward_failed_cb), failures);
  wait_plain_caught_up (c);
  return c;
}

/* A follower behind its leader forwards a change defining a field under
 * the number the leader meanwhile gave another field: the leader gives it
 * its next number, and both end with the change. */
static void
test_collections_forward_renumber (void)
{
  Failures failures = { 0 };
  Cluster *c = plain_cluster_new (&failures);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) defs = NULL;
  g_autoptr(GPtrArray) f_defs = NULL;
  g_auto(GValue) alpha = G_VALUE_INIT;
  g_auto(GValue) beta = G_VALUE_INIT;
  NetCollection *plain = net_db_open_collection (c->nodes[0].db, "plain", NET_TYPE_RECORD, &error);
  NetCollection *f_plain = net_db_open_collection (c->nodes[1].db, "plain", NET_TYPE_RECORD, &error);

  g_assert_no_error (error);
  /* The leader's app defines "alpha"; before the follower hears of it,
   * its change defines "beta" under the same number. */
  g_value_init (&alpha, G_TYPE_INT);
  g_value_set_int (&alpha, 5);
  g_assert_cmpuint (coll_set (plain, 1, "alpha", &alpha, &error), >, 0);
  g_assert_no_error (error);
  g_value_init (&beta, G_TYPE_STRING);
  g_value_set_string (&beta, "from the follower");
  c->held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  c->pass = hold_forwards;
  g_assert_cmpuint (coll_set (f_plain, 1, "beta", &beta, &error), ==, 0);
  g_assert_no_error (error);
  spin_until (c, held_reach, GUINT_TO_POINTER (1), "the FORWARD");
  c->pass = NULL;

  spin_until (c, forwards_settled, GUINT_TO_POINTER (1), "the forwarded change");
  g_assert_cmpuint (failures.count, ==, 0);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->forwards_acked, ==, 1);
  wait_plain_caught_up (c);
  for (guint i = 0; i < 2; i++)
    {
      assert_plain_field (c->nodes[i].db, "title", "one", 0);
      assert_plain_field (c->nodes[i].db, "alpha", NULL, 5);
      assert_plain_field (c->nodes[i].db, "beta", "from the follower", 0);
    }
  defs = coll_log_defs (c->nodes[0].db, "plain");
  f_defs = coll_log_defs (c->nodes[1].db, "plain");
  g_assert_cmpuint (defs->len, ==, f_defs->len);
  for (guint i = 0; i < defs->len; i++)
    g_assert_cmpstr (g_ptr_array_index (defs, i), ==, g_ptr_array_index (f_defs, i));
  g_assert_cmpuint (defs_number_of (defs, "title"), ==, 1);
  g_assert_cmpuint (defs_number_of (defs, "alpha"), ==, 2);
  g_assert_cmpuint (defs_number_of (defs, "beta"), ==, 3);

  /* The same FORWARD again, from a connection the leader remembers
   * nothing of (it looks in its log): a duplicate of the event it
   * rebased, not a conflict to append again. */
  ack_to_2 = 0xff;
  c->pass = watch_acks_to_2;
  {
    gsize len;
    const guint8 *m = g_bytes_get_data (g_ptr_array_index (c->held, 0), &len);

    g_assert_true (_net_repl_receive (c->nodes[0].repl, &c->nodes[2], m, len));
  }
  spin_until (c, acked_to_2, NULL, "the answer to the duplicate");
  g_assert_cmpuint (ack_to_2, ==, NET_DB_FORWARD_DUPLICATE);
  c->pass = NULL;
  g_clear_pointer (&defs, g_ptr_array_unref);
  defs = coll_log_defs (c->nodes[0].db, "plain");
  g_assert_cmpuint (defs->len, ==, f_defs->len);

  g_signal_handlers_disconnect_by_data (c->nodes[1].db, &failures);
  failures_clear (&failures);
  cluster_free (c);
}

/* Both define the same new field (and the follower one more): the
 * follower's takes the leader's number, the other one the next. */
static void
test_collections_forward_same_field (void)
{
  Failures failures = { 0 };
  Cluster *c = plain_cluster_new (&failures);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) defs = NULL;
  GValue values[2] = { G_VALUE_INIT, G_VALUE_INIT };
  const char *names[] = { "gamma", "epsilon" };
  NetCollection *plain = net_db_open_collection (c->nodes[0].db, "plain", NET_TYPE_RECORD, &error);
  NetCollection *f_plain = net_db_open_collection (c->nodes[1].db, "plain", NET_TYPE_RECORD, &error);

  g_assert_no_error (error);
  g_value_init (&values[0], G_TYPE_INT);
  g_value_set_int (&values[0], 7);
  g_assert_cmpuint (coll_set (plain, 1, "delta", &values[0], &error), >, 0);
  g_assert_cmpuint (coll_set (plain, 1, "gamma", &values[0], &error), >, 0);
  g_assert_no_error (error);
  g_value_set_int (&values[0], 8);
  g_value_init (&values[1], G_TYPE_STRING);
  g_value_set_string (&values[1], "new");
  g_assert_cmpuint (net_collection_updatev (f_plain, 1, 2, names, values, &error), ==, 0);
  g_assert_no_error (error);

  spin_until (c, forwards_settled, GUINT_TO_POINTER (1), "the forwarded change");
  g_assert_cmpuint (failures.count, ==, 0);
  wait_plain_caught_up (c);
  for (guint i = 0; i < 2; i++)
    {
      assert_plain_field (c->nodes[i].db, "delta", NULL, 7);
      assert_plain_field (c->nodes[i].db, "gamma", NULL, 8);
      assert_plain_field (c->nodes[i].db, "epsilon", "new", 0);
    }
  defs = coll_log_defs (c->nodes[0].db, "plain");
  g_assert_cmpuint (defs_number_of (defs, "delta"), ==, 2);
  g_assert_cmpuint (defs_number_of (defs, "gamma"), ==, 3);
  g_assert_cmpuint (defs_number_of (defs, "epsilon"), ==, 4);

  g_value_unset (&values[0]);
  g_value_unset (&values[1]);
  g_signal_handlers_disconnect_by_data (c->nodes[1].db, &failures);
  failures_clear (&failures);
  cluster_free (c);
}

/* A forwarded collection event that is malformed whatever the numbers
 * (a value of a field nobody defined, a definition that skips numbers)
 * is refused with the reason, and nothing is appended; a good one with a
 * clashing definition is appended rebased. */
static void
test_collections_forward_malformed (void)
{
  Failures failures = { 0 };
  Cluster *c = plain_cluster_new (&failures);
  g_autoptr(GError) error = NULL;
  NetDb *leader = c->nodes[0].db;
  NetRedexFile *file = _net_db_open_log (leader, "collections/plain", &error);
  NetEventMeta meta = { NET_DISPATCH_RECORD_UPDATED, 0, 42, 1 };
  NetDbForwardStatus status;
  guint64 seq, next;
  struct { guint def_num; guint value_num; const char *what; } cases[] = {
    { 0, 9, "undefined field" },   /* the log defines 1 (title) only */
    { 5, 5, "out of order" },
    { 2, 2, NULL },                /* good: 2 is the next number */
  };

  g_assert_no_error (error);
  next = net_redex_file_get_next_seq (file);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) body = g_byte_array_new ();
      g_autoptr(GByteArray) sub = g_byte_array_new ();
      g_autoptr(GBytes) event = NULL;
      NetEncoder enc, senc;

      net_encoder_init (&enc, body);
      net_encoder_put_uint (&enc, 1, 1);      /* id */
      net_encoder_put_int (&enc, 3, 1000);    /* updated at */
      if (cases[i].def_num != 0)
        {
          net_encoder_init (&senc, sub);
          net_encoder_put_uint (&senc, 1, cases[i].def_num);
          net_encoder_put_string (&senc, 2, "zeta");
          net_encoder_put_uint (&senc, 3, 7);   /* a string */
          net_encoder_put_bytes (&enc, 4, sub->data, sub->len);
          g_byte_array_set_size (sub, 0);
        }
      net_encoder_init (&senc, sub);
      net_encoder_put_uint (&senc, 1, cases[i].value_num);
      net_encoder_put_string (&senc, 2, "z");
      net_encoder_put_bytes (&enc, 5, sub->data, sub->len);
      event = net_event_encode (&meta, body->data, body->len);

      if (cases[i].what != NULL)
        {
          g_assert_false (_net_db_append_forwarded_to (leader, "collections/plain", event, 1,
                                                       &status, &seq, &error));
          g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
          g_assert_nonnull (strstr (error->message, cases[i].what));
          g_clear_error (&error);
          g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, next);
          continue;
        }

      /* The leader's app takes number 2 first. */
      {
        g_auto(GValue) v = G_VALUE_INIT;
        NetCollection *plain = net_db_open_collection (leader, "plain", NET_TYPE_RECORD, &error);

        g_assert_no_error (error);
        g_value_init (&v, G_TYPE_INT);
        g_value_set_int (&v, 3);
        g_assert_cmpuint (coll_set (plain, 1, "eta", &v, &error), >, 0);
        g_assert_no_error (error);
      }
      g_assert_true (_net_db_append_forwarded_to (leader, "collections/plain", event, 1,
                                                  &status, &seq, &error));
      g_assert_no_error (error);
      g_assert_cmpint (status, ==, NET_DB_FORWARD_APPENDED);
      assert_plain_field (leader, "zeta", "z", 0);
      assert_plain_field (leader, "eta", NULL, 3);
    }
  {
    g_autoptr(GPtrArray) defs = coll_log_defs (leader, "plain");

    g_assert_cmpuint (defs_number_of (defs, "eta"), ==, 2);
    g_assert_cmpuint (defs_number_of (defs, "zeta"), ==, 3);
  }

  g_signal_handlers_disconnect_by_data (c->nodes[1].db, &failures);
  failures_clear (&failures);
  cluster_free (c);
}

/* A leader that no longer holds the start of a collection's log: the
 * followers re-bootstrap from a snapshot, which restores the collection
 * (open or not) and continues its log. */
static void
test_collections_rebootstrap (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetQueryModel) live = NULL;
  NetCollection *notes, *f_notes;
  NetRedexFile *file;
  Changes changes = { 0, 0 };

  net_redex_config_set_segment_size (config, 16 * 1024);
  net_redex_config_set_retention_max_events (config, 500);

  start_leader (c, config);
  notes = net_db_open_collection (c->nodes[0].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  write_notes (notes, 50, 1);
  /* Follower 2 has the start of the log and watches the collection. */
  start_follower (c, 2, FALSE, 0);
  wait_coll_caught_up (c, 2, "notes");
  f_notes = net_db_open_collection (c->nodes[2].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  live = net_collection_watch (f_notes, NULL);
  g_signal_connect (live, "items-changed", G_CALLBACK (items_changed_cb), &changes);
  node_stop (&c->nodes[2]);

  write_notes (notes, 3000, 1000);
  file = _net_db_open_log (c->nodes[0].db, "collections/notes", &error);
  g_assert_no_error (error);
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_true (net_redex_file_sweep_retention (file, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_first_seq (file), >, 1000);

  start_follower (c, 1, FALSE, 0);
  start_follower (c, 2, FALSE, 0);
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_caught_up (c, 2, "notes");
  for (guint i = 1; i < N_NODES; i++)
    {
      NetRedexFile *f = _net_db_open_log (c->nodes[i].db, "collections/notes", &error);

      g_assert_no_error (error);
      g_assert_cmpuint (_net_repl_get_counters (c->nodes[i].repl)->snapshots_restored, >=, 1);
      g_assert_cmpuint (net_redex_file_get_first_seq (f), >, 1);
    }
  /* The one that never opened it opens it typed now; the one that had it
   * open sees the state it moved on to, its live model too. */
  wait_coll_applied (c, 2, f_notes);
  assert_notes_equal (notes, f_notes);
  f_notes = net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  assert_notes_equal (notes, f_notes);
  g_object_set_data (G_OBJECT (live), "expected",
                     GUINT_TO_POINTER (net_collection_count (notes, NULL)));
  spin_until (c, model_has_n, live, "the live model after the re-bootstrap");
  g_assert_cmpuint (changes.added, >, 0);

  /* Replication goes on after the snapshot, and survives a reopen. */
  write_notes (notes, 30, 900000);
  wait_coll_caught_up (c, 1, "notes");
  wait_coll_applied (c, 1, f_notes);
  assert_notes_equal (notes, f_notes);
  g_clear_object (&live);
  node_close (&c->nodes[1]);
  c->nodes[1].db = open_db (c->nodes[1].dir, NULL);
  f_notes = net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  assert_notes_equal (notes, f_notes);

  cluster_free (c);
}

/* Many collections: numbered beyond what one ANNOUNCE, SUBSCRIBE or LOGS
 * message holds, all replicated. */
static void
test_collections_many (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  guint n = 120;

  start_leader (c, NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("a-rather-long-collection-name-number-%03u", i);
      NetCollection *coll = net_db_open_collection (c->nodes[0].db, name, REPL_TYPE_NOTE, &error);

      g_assert_no_error (error);
      write_notes (coll, 3, 1);
    }
  start_follower (c, 1, FALSE, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("a-rather-long-collection-name-number-%03u", i);
      NetCollection *a, *b;

      wait_coll_caught_up (c, 1, name);
      a = net_db_open_collection (c->nodes[0].db, name, REPL_TYPE_NOTE, &error);
      g_assert_no_error (error);
      b = net_db_open_collection (c->nodes[1].db, name, REPL_TYPE_NOTE, &error);
      g_assert_no_error (error);
      assert_notes_equal (a, b);
    }

  cluster_free (c);
}

/* Databases without models: a leader with nothing yet and a follower
 * that forwards; the follower's collection reaches the leader, the
 * leader's reaches the follower. */
static void
test_collections_no_models (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  NetDbOptions options = { .models = NET_DB_MODELS_NONE };
  NetCollection *fresh, *f_fresh, *notes, *f_notes;

  options.path = c->nodes[0].dir;
  c->nodes[0].db = _net_db_open (&options, &error);
  g_assert_no_error (error);
  options.path = c->nodes[1].dir;
  c->nodes[1].db = _net_db_open (&options, &error);
  g_assert_no_error (error);
  start_leader (c, NULL);
  start_follower (c, 1, TRUE, 0);

  f_fresh = net_db_open_collection (c->nodes[1].db, "fresh", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (note_insert (f_fresh, 1, "one", 1), ==, 0);
  spin_until (c, all_acked, GUINT_TO_POINTER (1), "the forward to a new collection");
  fresh = net_db_open_collection (c->nodes[0].db, "fresh", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  wait_coll_caught_up (c, 1, "fresh");
  wait_coll_applied (c, 1, f_fresh);
  assert_notes_equal (fresh, f_fresh);

  notes = net_db_open_collection (c->nodes[0].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  write_notes (notes, 30, 1);
  wait_coll_caught_up (c, 1, "notes");
  f_notes = net_db_open_collection (c->nodes[1].db, "notes", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  assert_notes_equal (notes, f_notes);

  cluster_free (c);
}

/* More collections than the wire numbers: the leader serves 254 and
 * warns of each other one, by name. */
static void
test_collections_too_many (void)
{
  Cluster *c = cluster_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) names = NULL;

  c->nodes[0].db = open_db (c->nodes[0].dir, NULL);
  for (guint i = 0; i < 256; i++)
    {
      g_autofree char *name = g_strdup_printf ("c%03u", i);
      NetCollection *coll = net_db_open_collection (c->nodes[0].db, name, REPL_TYPE_NOTE, &error);

      g_assert_no_error (error);
      if (i % 50 == 0 || i >= 253)
        write_notes (coll, 2, 1);
    }
  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*the 254 a leader can serve; collection “c254” is not replicated*");
  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*the 254 a leader can serve; collection “c255” is not replicated*");
  start_leader (c, NULL);
  g_test_assert_expected_messages ();

  start_follower (c, 1, FALSE, 0);
  wait_coll_caught_up (c, 1, "c253");
  wait_coll_caught_up (c, 1, "c200");
  wait_coll_caught_up (c, 1, "c000");
  names = net_db_list_collections (c->nodes[1].db);
  g_assert_false (strv_has (names, "c254"));
  g_assert_false (strv_has (names, "c255"));
  g_assert_cmpuint (g_strv_length (names), ==, 254);
  g_assert_cmpuint (_net_repl_get_counters (c->nodes[1].repl)->messages_malformed, ==, 0);

  /* Said once: another collection opened does not repeat it. */
  net_db_open_collection (c->nodes[0].db, "more", REPL_TYPE_NOTE, &error);
  g_assert_no_error (error);
  g_test_expect_message ("Netdb", G_LOG_LEVEL_WARNING, "*collection “more” is not replicated*");
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_test_assert_expected_messages ();

  cluster_free (c);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/repl/basic", test_basic);
  g_test_add_func ("/repl/lossy", test_lossy);
  g_test_add_func ("/repl/restart", test_restart);
  g_test_add_func ("/repl/rebootstrap", test_rebootstrap);
  g_test_add_func ("/repl/read-only", test_read_only);
  g_test_add_func ("/repl/forward", test_forward);
  g_test_add_func ("/repl/forward-durable", test_forward_durable);
  g_test_add_func ("/repl/forward-timeout", test_forward_timeout);
  g_test_add_func ("/repl/forward-peer-down", test_forward_peer_down);
  g_test_add_func ("/repl/forward-lossy", test_forward_lossy);
  g_test_add_func ("/repl/forward-restart", test_forward_restart);
  g_test_add_func ("/repl/forward-stale", test_forward_stale);
  g_test_add_func ("/repl/forward-stale-chain", test_forward_stale_chain);
  g_test_add_func ("/repl/forward-refused", test_forward_refused);
  g_test_add_func ("/repl/forward-refused-remote", test_forward_refused_remote);
  g_test_add_func ("/repl/malformed", test_malformed);
  g_test_add_func ("/repl/diverged", test_diverged);
  g_test_add_func ("/repl/bogus-announce", test_bogus_announce);
  g_test_add_func ("/repl/leader-readded", test_leader_readded);
  g_test_add_func ("/repl/redex-reset", test_redex_reset);
  g_test_add_func ("/repl/snapshot-request-cached", test_snapshot_request_cached);
  g_test_add_func ("/repl/parts-coverage", test_parts_coverage);
  g_test_add_func ("/repl/collections", test_collections);
  g_test_add_func ("/repl/collections-forward", test_collections_forward);
  g_test_add_func ("/repl/collections-forward-new", test_collections_forward_new);
  g_test_add_func ("/repl/collections-forward-renumber", test_collections_forward_renumber);
  g_test_add_func ("/repl/collections-forward-same-field", test_collections_forward_same_field);
  g_test_add_func ("/repl/collections-forward-malformed", test_collections_forward_malformed);
  g_test_add_func ("/repl/collections-rebootstrap", test_collections_rebootstrap);
  g_test_add_func ("/repl/collections-many", test_collections_many);
  g_test_add_func ("/repl/collections-too-many", test_collections_too_many);
  g_test_add_func ("/repl/collections-no-models", test_collections_no_models);

  return g_test_run ();
}
