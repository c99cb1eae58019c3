/* netdb-bench-net.c: the network layer, against what loopback and the
 * cipher can do at all
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything is measured in one run on 127.0.0.1.  The columns are
 *
 *   netdb    NetNode and replication
 *   udp      two plain UDP sockets, sender and receiver in two threads
 *            (sendmmsg/recvmmsg, batches of 64): datagrams per second with
 *            the row's payload, or a ping-pong round trip
 *   crypto   the cryptographic floor: ChaCha20-Poly1305-IETF encryptions of
 *            the row's payload (crypto_aead_chacha20poly1305_ietf_encrypt),
 *            or the pure _net_wire handshake CPU time (both sides)
 *
 * and the ratios say how many times netdb is better than each (below 1:
 * the fraction of the floor netdb reaches).  The rows:
 *
 *   net/handshake          NetNode start -> peer-up on the initiator, median
 *                          of 50 fresh node pairs | UDP round trip | CPU
 *   net/repl/64B, 1KiB     an empty follower catching up from a leader db
 *                          preloaded with N events of that size, leader and
 *                          follower on two threads with their own
 *                          GMainContexts, until the follower has folded the
 *                          last one: events/s and MB/s | UDP datagrams/s of
 *                          that size | AEAD ops/s of that size
 *   net/catch-up           the same 64-byte run: its wall time
 *   net/lag/p50, p99       the leader appends 64-byte events at 10 000/s for
 *                          a few seconds; append (leader thread) -> fold
 *                          (follower's NetDbTasks::changed) | half a UDP
 *                          round trip
 *   net/reject-unknown-key ns of CPU to drop an initiation whose mac1 is
 *                          wrong | - | the Noise read it replaced
 *   net/cookie-reply       ns of CPU, under load, to refuse an initiation
 *                          (or a response) without mac2 and seal its cookie
 *                          reply | - | the Noise read it replaces
 *   net/cookie-replies     cookie replies/s a NetNode sends under a flood of
 *                          initiations that pass mac1 | UDP datagrams/s of
 *                          that size | Noise reads/s
 *
 *   netdb-bench-net                       full run (N = 1 000 000)
 *   netdb-bench-net --quick --repeat 1    smoke run (tiny sizes)
 *   netdb-bench-net --events N            scale the replication rows
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include <netdb/netdb.h>

#include "bench-common.h"
#include "net-db-private.h"
#include "net-identity-private.h"
#include "net-node-private.h"
#include "net-wire-private.h"

#ifndef NETDB_BENCH_SRCDIR
# define NETDB_BENCH_SRCDIR "."
#endif

#define T0             G_GINT64_CONSTANT (1700000000000000)
#define N_FULL         1000000
#define N_QUICK        2000
#define LAG_RATE       10000     /* events per second */
#define WAIT_SECONDS   600

static gint64 opt_events;
static gint opt_handshakes = 50;
static double opt_lag_seconds = 3.0;
static gboolean opt_verbose;

static const GOptionEntry option_entries[] = {
  BENCH_OPTION_QUICK ("Tiny sizes (smoke test; figures are not meaningful)"),
  BENCH_OPTION_REPEAT (3),
  { "events", 'n', 0, G_OPTION_ARG_INT64, &opt_events,
    "Events the leader is preloaded with for the 64-byte rows (default 1 000 000; "
    "the 1 KiB rows use a fifth)", "N" },
  { "handshakes", 0, 0, G_OPTION_ARG_INT, &opt_handshakes,
    "Node handshakes per net/handshake sample (default 50)", "N" },
  { "lag-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_lag_seconds,
    "How long the leader appends for net/lag (default 3)", "S" },
  BENCH_OPTION_NO_BASELINES ("Measure the netdb column only (no plain UDP, no AEAD)"),
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
    "Print the nodes' counters after each replication run", NULL },
  BENCH_OPTION_DIR ("the databases"),
  { "only", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &bench.only,
    "Only the rows whose id contains TEXT (or matches a glob); repeatable", "TEXT" },
  BENCH_OPTIONS_FIGURES ("previous-net.json"),
  { NULL }
};

enum { IMPL_NETDB, IMPL_UDP, IMPL_CRYPTO, N_IMPL };

static const char *const impl_names[N_IMPL] = { "netdb", "udp", "crypto" };
static const char *const ratio_names[N_IMPL - 1] = { "vs udp", "vs crypt" };

static char *root;

/* Threads with their own main context ----------------------------------------- */

typedef struct
{
  char          *name;
  GThread       *thread;
  GMainContext  *context;
  GMainLoop     *loop;
} Worker;

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;

  g_main_context_push_thread_default (w->context);
  g_main_loop_run (w->loop);
  /* Whatever was left (finalizers' idles). */
  while (g_main_context_iteration (w->context, FALSE))
    ;
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static Worker *
worker_new (const char *name)
{
  Worker *w = g_new0 (Worker, 1);

  w->name = g_strdup (name);
  w->context = g_main_context_new ();
  w->loop = g_main_loop_new (w->context, FALSE);
  w->thread = g_thread_new (name, worker_main, w);
  return w;
}

typedef gboolean (*WorkFunc) (gpointer data, GError **error);

typedef struct
{
  WorkFunc   func;
  gpointer   data;
  gboolean   ok;
  GError    *error;
  gboolean   done;
  GMutex     mutex;
  GCond      cond;
} Call;

static gboolean
call_cb (gpointer data)
{
  Call *call = data;

  call->ok = call->func (call->data, &call->error);
  g_mutex_lock (&call->mutex);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->mutex);
  return G_SOURCE_REMOVE;
}

/* Runs @func in @w's thread and waits for it. */
static gboolean
worker_call (Worker    *w,
             WorkFunc   func,
             gpointer   data,
             GError   **error)
{
  Call call = { func, data, FALSE, NULL, FALSE };
  GSource *source = g_idle_source_new ();

  g_mutex_init (&call.mutex);
  g_cond_init (&call.cond);
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, call_cb, &call, NULL);
  g_source_attach (source, w->context);
  g_source_unref (source);

  g_mutex_lock (&call.mutex);
  while (!call.done)
    g_cond_wait (&call.cond, &call.mutex);
  g_mutex_unlock (&call.mutex);
  g_mutex_clear (&call.mutex);
  g_cond_clear (&call.cond);

  if (!call.ok)
    {
      if (call.error != NULL)
        g_propagate_error (error, call.error);
      else
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "failed without an error");
    }
  return call.ok;
}

static gboolean
quit_cb (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
worker_free (Worker *w)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, quit_cb, w->loop, NULL);
  g_source_attach (source, w->context);
  g_source_unref (source);
  g_thread_join (w->thread);
  g_main_loop_unref (w->loop);
  g_main_context_unref (w->context);
  g_free (w->name);
  g_free (w);
}

/* A flag a worker raises and the main thread waits for. */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean raised;
} Flag;

static void
flag_init (Flag *f)
{
  g_mutex_init (&f->mutex);
  g_cond_init (&f->cond);
  f->raised = FALSE;
}

static void
flag_clear (Flag *f)
{
  g_mutex_clear (&f->mutex);
  g_cond_clear (&f->cond);
}

static void
flag_raise (Flag *f)
{
  g_mutex_lock (&f->mutex);
  f->raised = TRUE;
  g_cond_broadcast (&f->cond);
  g_mutex_unlock (&f->mutex);
}

static gboolean
flag_wait (Flag        *f,
           guint        seconds,
           const char  *what,
           GError     **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  gboolean raised;

  g_mutex_lock (&f->mutex);
  while (!f->raised)
    if (!g_cond_wait_until (&f->cond, &f->mutex, deadline))
      break;
  raised = f->raised;
  g_mutex_unlock (&f->mutex);
  if (!raised)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s: nothing after %u s", what, seconds);
  return raised;
}

/* Events of a given size ------------------------------------------------------- */

/* The length of the title that makes a task creation's log record payload
 * (EventMeta header and encoded fields) @size bytes, for ids and
 * timestamps around the ones used. */
static gboolean
calibrate_title (guint     size,
                 guint64   id,
                 guint    *title_len,
                 GError  **error)
{
  g_autoptr(NetDb) db = net_db_new (NULL, NET_DB_MODELS_TASKS, error);
  NetDbTasks *tasks;
  NetRedexFile *log;
  guint64 seq;
  gsize len;

  if (db == NULL)
    return FALSE;
  tasks = net_db_get_tasks (db);
  log = _net_db_get_log (db, NET_DB_LOG_TASKS);

  for (guint tries = 0, guess = size > 48 ? size - 40 : 1; tries < 16; tries++)
    {
      g_autofree char *title = g_strnfill (guess, 'x');
      g_autoptr(NetRedexEvent) event = NULL;

      seq = net_db_tasks_create (tasks, id, title, T0 + (gint64) id, error);
      if (seq == 0)
        return FALSE;
      event = net_redex_file_read_one (log, seq, error);
      if (event == NULL)
        return FALSE;
      len = g_bytes_get_size (net_redex_event_get_payload (event));
      if (len == size)
        {
          *title_len = guess;
          return net_db_close (db, error);
        }
      /* The title's length prefix may change size with it: try again. */
      guess = (guint) MAX (1, (gint) guess + (gint) size - (gint) len);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no title makes a %u-byte event", size);
  return FALSE;
}

static void
fill_title (char    *buf,
            guint    title_len,
            guint64  id)
{
  /* "<id>-xxxx…": unique per id, the same length for every id. */
  int n = g_snprintf (buf, title_len + 1, "%012" G_GUINT64_FORMAT "-", id);

  if ((guint) n < title_len)
    memset (buf + n, 'x', title_len - (guint) n);
  buf[title_len] = '\0';
}

/* Replication: one leader, a fresh follower per run ----------------------------- */

typedef struct
{
  /* What the run needs. */
  guint          size;          /* payload bytes of each event */
  guint64        n;             /* events the leader holds */
  guint          title_len;
  Worker        *lw;            /* leader thread */
  Worker        *fw;            /* follower thread */

  /* Leader (its thread). */
  char          *leader_dir;
  NetIdentity   *leader_id;
  NetDb         *leader_db;
  NetNode       *leader_node;
  char          *leader_address;

  /* Follower of the current run (its thread). */
  guint          run;
  char          *follower_dir;
  NetIdentity   *follower_id;
  NetDb         *follower_db;
  NetNode       *follower_node;
  guint64        target;        /* done when applied-seq reaches it */
  gint64         t_start;
  gint64         t_done;
  Flag           done;
  gboolean       replay_after;  /* time a reopen of the follower's log */
  double         replay_rate;

  /* Lag (leader appends, follower folds). */
  gint64        *append_us;     /* by seq, written before the append */
  gint64        *lag_us;        /* by seq, written at the fold */
  guint64        lag_first;     /* the first seq timed */
  guint64        lag_total;     /* events timed */
  guint64        lag_appended;
  gint64         lag_t0;
  GSource       *lag_timer;
  GError        *lag_error;

  /* Lag under a flood of replayed initiations (issue 12, finding 4): the
   * follower's first initiation, captured, and the thread that resends
   * it to the leader as fast as it can while the lag is measured. */
  guint8         init[NET_WIRE_INITIATION_LEN];
  gint           have_init;     /* atomic */
  gboolean       flood;
  gint           flood_stop;    /* atomic */
  GThread       *flood_thread;
  guint64        flood_sent;
  gint64         flood_us;
} Repl;

static gboolean
capture_init_hook (NetNode        *node,
                   GSocketAddress *address,
                   const guint8   *data,
                   gsize           len,
                   gpointer        user_data)
{
  Repl *r = user_data;

  if (len == NET_WIRE_INITIATION_LEN && data[3] == NET_WIRE_HANDSHAKE_INITIATION &&
      !g_atomic_int_get (&r->have_init))
    {
      memcpy (r->init, data, len);
      g_atomic_int_set (&r->have_init, 1);
    }
  return TRUE;
}

#define FLOOD_RATE 40000

static gpointer
flood_thread_func (gpointer data)
{
  Repl *r = data;
  struct sockaddr_in to = { 0 };
  const char *colon = strrchr (r->leader_address, ':');
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  gint64 t0 = g_get_monotonic_time ();

  to.sin_family = AF_INET;
  to.sin_port = htons ((guint16) atoi (colon + 1));
  to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  /* FLOOD_RATE a second, paced in bursts of 100: far more than the
   * 8 000/s that saturated the leader's loop before mac1 and the replay
   * cache, without taking a whole core from the nodes themselves. */
  while (fd >= 0 && !g_atomic_int_get (&r->flood_stop))
    {
      gint64 due;

      for (guint i = 0; i < 100; i++)
        if (sendto (fd, r->init, sizeof r->init, 0, (struct sockaddr *) &to, sizeof to) > 0)
          r->flood_sent++;
      due = t0 + (gint64) (r->flood_sent * G_USEC_PER_SEC / FLOOD_RATE);
      if (due > g_get_monotonic_time ())
        g_usleep (due - g_get_monotonic_time ());
    }
  r->flood_us = g_get_monotonic_time () - t0;
  if (fd >= 0)
    close (fd);
  return NULL;
}

static gboolean
leader_open (gpointer   data,
             GError   **error)
{
  Repl *r = data;

  r->leader_db = net_db_new (r->leader_dir, NET_DB_MODELS_TASKS, error);
  return r->leader_db != NULL;
}

static gboolean
leader_preload (gpointer   data,
                GError   **error)
{
  Repl *r = data;
  NetDbTasks *tasks = net_db_get_tasks (r->leader_db);
  g_autofree char *title = g_malloc (r->title_len + 1);

  for (guint64 id = 1; id <= r->n; id++)
    {
      fill_title (title, r->title_len, id);
      if (net_db_tasks_create (tasks, id, title, T0 + (gint64) id, error) == 0)
        return FALSE;
      if (id % 65536 == 0)
        while (g_main_context_iteration (r->lw->context, FALSE))
          ;
    }
  while (g_main_context_iteration (r->lw->context, FALSE))
    ;
  return net_db_checkpoint (r->leader_db, error);
}

static gboolean
leader_start (gpointer   data,
              GError   **error)
{
  Repl *r = data;

  r->leader_node = net_node_new (r->leader_id, "127.0.0.1:0", error);
  if (r->leader_node == NULL ||
      !net_node_serve_db (r->leader_node, r->leader_db, error) ||
      !net_node_start (r->leader_node, error))
    return FALSE;
  r->leader_address = g_strdup (net_node_get_local_address (r->leader_node));
  return TRUE;
}

static gboolean
leader_stop (gpointer   data,
             GError   **error)
{
  Repl *r = data;
  gboolean ok = TRUE;

  if (r->leader_node != NULL)
    net_node_stop (r->leader_node);
  g_clear_object (&r->leader_node);
  if (r->leader_db != NULL)
    ok = net_db_close (r->leader_db, error);
  g_clear_object (&r->leader_db);
  while (g_main_context_iteration (r->lw->context, FALSE))
    ;
  return ok;
}

/* Leader thread: admit the next follower, forget the previous one. */
static gboolean
leader_admit (gpointer   data,
              GError   **error)
{
  Repl *r = data;

  return net_node_add_peer (r->leader_node, net_identity_get_public_key (r->follower_id),
                            NULL, error);
}

static gboolean
leader_forget (gpointer   data,
               GError   **error)
{
  Repl *r = data;

  net_node_remove_peer (r->leader_node, net_identity_get_public_key (r->follower_id));
  return TRUE;
}

static void
on_follower_applied (GObject    *tasks,
                     GParamSpec *pspec,
                     Repl       *r)
{
  if (r->t_done == 0 && net_db_tasks_get_applied_seq (NET_DB_TASKS (tasks)) >= r->target)
    {
      r->t_done = g_get_monotonic_time ();
      flag_raise (&r->done);
    }
}

/* Follower thread: lags of the events folded in this batch. */
static void
on_follower_changed (NetDbTasks *tasks,
                     guint64     first_seq,
                     guint64     last_seq,
                     Repl       *r)
{
  gint64 now = g_get_monotonic_time ();
  gint64 *append_us = __atomic_load_n (&r->append_us, __ATOMIC_ACQUIRE);

  if (append_us == NULL)
    return;
  for (guint64 seq = MAX (first_seq, r->lag_first); seq <= last_seq; seq++)
    {
      guint64 i = seq - r->lag_first;

      if (i >= r->lag_total)
        break;
      r->lag_us[i] = now - __atomic_load_n (&append_us[i], __ATOMIC_ACQUIRE);
    }
}

static gboolean
follower_start (gpointer   data,
                GError   **error)
{
  Repl *r = data;
  NetDbTasks *tasks;

  r->follower_db = net_db_new (r->follower_dir, NET_DB_MODELS_TASKS, error);
  if (r->follower_db == NULL)
    return FALSE;
  r->follower_node = net_node_new (r->follower_id, "127.0.0.1:0", error);
  if (r->follower_node == NULL ||
      !net_node_add_peer (r->follower_node, net_identity_get_public_key (r->leader_id),
                          r->leader_address, error) ||
      !net_node_follow_db (r->follower_node, r->follower_db,
                           net_identity_get_public_key (r->leader_id), FALSE, error))
    return FALSE;

  tasks = net_db_get_tasks (r->follower_db);
  g_signal_connect (tasks, "notify::applied-seq", G_CALLBACK (on_follower_applied), r);
  g_signal_connect (tasks, "changed", G_CALLBACK (on_follower_changed), r);
  r->t_done = 0;
  r->t_start = g_get_monotonic_time ();
  g_atomic_int_set (&r->have_init, 0);
  _net_node_set_send_hook (r->follower_node, capture_init_hook, r, NULL);
  if (!net_node_start (r->follower_node, error))
    return FALSE;
  on_follower_applied (G_OBJECT (tasks), NULL, r);
  return TRUE;
}

static void
print_counters (const char *who,
                NetNode    *node)
{
  g_autoptr(GVariant) v = net_node_get_counters (node);
  GVariantIter iter;
  const char *name;
  guint64 value;

  g_print ("  %s:", who);
  g_variant_iter_init (&iter, v);
  while (g_variant_iter_next (&iter, "{&st}", &name, &value))
    if (value != 0)
      g_print (" %s=%" G_GUINT64_FORMAT, name, value);
  g_print ("\n");
}

static gboolean
leader_print_counters (gpointer   data,
                       GError   **error)
{
  Repl *r = data;

  if (r->leader_node != NULL)
    print_counters ("leader", r->leader_node);
  return TRUE;
}

static gboolean
follower_stop (gpointer   data,
               GError   **error)
{
  Repl *r = data;
  gboolean ok = TRUE;

  if (opt_verbose && r->follower_node != NULL)
    print_counters ("follower", r->follower_node);

  if (r->follower_node != NULL)
    net_node_stop (r->follower_node);
  g_clear_object (&r->follower_node);
  if (r->follower_db != NULL)
    {
      g_signal_handlers_disconnect_by_data (net_db_get_tasks (r->follower_db), r);
      /* Left without a checkpoint, a reopen folds the whole log again. */
      if (r->replay_after)
        _net_db_set_checkpoint_on_close (r->follower_db, FALSE);
      ok = net_db_close (r->follower_db, error);
    }
  g_clear_object (&r->follower_db);
  while (g_main_context_iteration (r->fw->context, FALSE))
    ;
  return ok;
}

/* Main thread: a fresh follower identity and directory, started. */
static gboolean
follower_begin (Repl     *r,
                guint64   target,
                GError  **error)
{
  g_autofree char *name = g_strdup_printf ("follower-%u-%u", r->size, ++r->run);

  g_clear_object (&r->follower_id);
  g_free (r->follower_dir);
  r->follower_id = net_identity_generate ();
  r->follower_dir = g_build_filename (root, name, NULL);
  r->target = target;
  flag_clear (&r->done);
  flag_init (&r->done);
  return worker_call (r->lw, leader_admit, r, error) &&
         worker_call (r->fw, follower_start, r, error);
}

/* Main thread: the follower's whole log folded again by a plain open, in
 * events/s: what the fold alone costs a follower. */
static gboolean
replay_follower_log (Repl     *r,
                     GError  **error)
{
  g_autoptr(NetDb) db = NULL;
  gint64 t0 = now_ns ();
  guint64 folded;

  db = net_db_new (r->follower_dir, NET_DB_MODELS_TASKS, error);
  if (db == NULL)
    return FALSE;
  r->replay_rate = rate (_net_db_get_events_folded (db), now_ns () - t0);
  folded = _net_db_get_events_folded (db);
  _net_db_set_checkpoint_on_close (db, FALSE);
  if (!net_db_close (db, error))
    return FALSE;
  g_clear_object (&db);
  drain_main_context ();
  return check_count ("events folded by the replay", folded, r->target, error);
}

static gboolean
follower_end (Repl     *r,
              GError  **error)
{
  gboolean ok;

  if (opt_verbose)
    worker_call (r->lw, leader_print_counters, r, NULL);
  ok = worker_call (r->fw, follower_stop, r, error);

  if (r->leader_node != NULL)
    worker_call (r->lw, leader_forget, r, NULL);
  if (ok && r->replay_after && !replay_follower_log (r, error))
    ok = FALSE;
  rm_rf (r->follower_dir);
  return ok;
}

static Repl *
repl_new (guint size)
{
  Repl *r = g_new0 (Repl, 1);
  g_autofree char *name = g_strdup_printf ("leader-%u", size);

  r->size = size;
  r->lw = worker_new ("leader");
  r->fw = worker_new ("follower");
  r->leader_dir = g_build_filename (root, name, NULL);
  r->leader_id = net_identity_generate ();
  flag_init (&r->done);
  return r;
}

static void
repl_free (Repl *r)
{
  if (r == NULL)
    return;
  worker_call (r->fw, follower_stop, r, NULL);
  worker_call (r->lw, leader_stop, r, NULL);
  worker_free (r->lw);
  worker_free (r->fw);
  rm_rf (r->leader_dir);
  if (r->follower_dir != NULL)
    rm_rf (r->follower_dir);
  g_free (r->leader_dir);
  g_free (r->follower_dir);
  g_free (r->leader_address);
  g_clear_object (&r->leader_id);
  g_clear_object (&r->follower_id);
  g_free (r->append_us);
  g_free (r->lag_us);
  flag_clear (&r->done);
  g_free (r);
}

/* A leader of @n events of @size bytes, preloaded and serving. */
static Repl *
repl_prepare (guint     size,
              guint64   n,
              GError  **error)
{
  Repl *r = repl_new (size);
  gint64 t0 = now_ns ();

  r->n = n;
  g_print ("preload: %" G_GUINT64_FORMAT " events of %u bytes ...", n, size);
  fflush (stdout);
  if (!calibrate_title (size, n / 2 + 1, &r->title_len, error) ||
      !worker_call (r->lw, leader_open, r, error) ||
      !worker_call (r->lw, leader_preload, r, error) ||
      !worker_call (r->lw, leader_start, r, error))
    {
      g_print ("\n");
      repl_free (r);
      return NULL;
    }
  g_print (" %.1f s\n", (double) (now_ns () - t0) / 1e9);
  return r;
}

/* out[0] events/s, out[1] MB/s, out[2] ms until the last event is folded,
 * out[3] events/s of a plain reopen folding the follower's log. */
static gboolean
catch_up_run (gpointer   data,
              double    *out,
              GError   **error)
{
  Repl *r = data;
  gint64 elapsed;
  gboolean ok;

  r->replay_after = TRUE;
  if (!follower_begin (r, r->n, error))
    {
      follower_end (r, NULL);
      return FALSE;
    }
  ok = flag_wait (&r->done, WAIT_SECONDS, "catch-up", error);
  elapsed = r->t_done - r->t_start;
  if (!follower_end (r, ok ? error : NULL))
    ok = FALSE;
  if (!ok)
    return FALSE;

  out[0] = (double) r->n * G_USEC_PER_SEC / (double) elapsed;
  out[1] = out[0] * r->size / 1e6;
  out[2] = (double) elapsed / 1e3;
  out[3] = r->replay_rate;
  return TRUE;
}

/* Lag: the leader appends at LAG_RATE on its thread ---------------------------- */

static gboolean
lag_tick (gpointer data)
{
  Repl *r = data;
  NetDbTasks *tasks = net_db_get_tasks (r->leader_db);
  gint64 now = g_get_monotonic_time ();
  guint64 due = (guint64) ((now - r->lag_t0) * LAG_RATE / G_USEC_PER_SEC) + 1;
  char title[1100];

  due = MIN (due, r->lag_total);
  while (r->lag_appended < due)
    {
      guint64 i = r->lag_appended;
      guint64 id = r->n + r->lag_first + i;
      guint64 seq;

      fill_title (title, r->title_len, id);
      __atomic_store_n (&r->append_us[i], g_get_monotonic_time (), __ATOMIC_RELEASE);
      seq = net_db_tasks_create (tasks, id, title, 0, &r->lag_error);
      if (seq != r->lag_first + i)
        {
          if (r->lag_error == NULL)
            r->lag_error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED,
                                        "append got seq %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                                        seq, r->lag_first + i);
          r->lag_timer = NULL;
          flag_raise (&r->done);
          return G_SOURCE_REMOVE;
        }
      r->lag_appended++;
    }
  if (r->lag_appended == r->lag_total)
    {
      r->lag_timer = NULL;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
lag_begin (gpointer   data,
           GError   **error)
{
  Repl *r = data;

  r->lag_first = net_redex_file_get_next_seq (_net_db_get_log (r->leader_db, NET_DB_LOG_TASKS));
  r->lag_appended = 0;
  r->lag_t0 = g_get_monotonic_time ();
  r->lag_timer = g_timeout_source_new (1);
  g_source_set_priority (r->lag_timer, G_PRIORITY_HIGH);
  g_source_set_callback (r->lag_timer, lag_tick, r, NULL);
  g_source_attach (r->lag_timer, r->lw->context);
  g_source_unref (r->lag_timer);
  return TRUE;
}

static gboolean
lag_end (gpointer   data,
         GError   **error)
{
  Repl *r = data;

  if (r->lag_timer != NULL)
    g_source_destroy (r->lag_timer);
  r->lag_timer = NULL;
  if (r->lag_error != NULL)
    {
      g_propagate_error (error, r->lag_error);
      r->lag_error = NULL;
      return FALSE;
    }
  return TRUE;
}

/* out[0] p50 ms, out[1] p99 ms, out[2] max ms.  The follower first
 * catches up with what the leader already holds (a small db). */
static gboolean
lag_run (gpointer   data,
         double    *out,
         GError   **error)
{
  Repl *r = data;
  guint64 total = (guint64) (opt_lag_seconds * LAG_RATE);
  guint64 next;
  g_autofree gint64 *sorted = NULL;
  gboolean ok;

  if (total < 10)
    total = 10;
  next = net_redex_file_get_next_seq (_net_db_get_log (r->leader_db, NET_DB_LOG_TASKS));
  if (!follower_begin (r, next - 1, error) ||
      !flag_wait (&r->done, WAIT_SECONDS, "lag: the first catch-up", error))
    {
      follower_end (r, NULL);
      return FALSE;
    }

  /* Replays of the follower's own accepted initiation, from now on. */
  if (r->flood && g_atomic_int_get (&r->have_init))
    {
      g_atomic_int_set (&r->flood_stop, 0);
      r->flood_sent = 0;
      r->flood_thread = g_thread_new ("bench-flood", flood_thread_func, r);
    }

  /* The follower is idle now (it holds everything); it sees the arrays
   * once append_us is published. */
  r->lag_us = g_new0 (gint64, total);
  r->lag_total = total;
  r->lag_first = next;
  r->target = next - 1 + total;
  r->t_done = 0;
  flag_clear (&r->done);
  flag_init (&r->done);
  __atomic_store_n (&r->append_us, g_new0 (gint64, total), __ATOMIC_RELEASE);

  ok = worker_call (r->lw, lag_begin, r, error) &&
       flag_wait (&r->done, WAIT_SECONDS, "lag", error);
  if (r->flood_thread != NULL)
    {
      g_atomic_int_set (&r->flood_stop, 1);
      g_clear_pointer (&r->flood_thread, g_thread_join);
    }
  else if (r->flood && ok)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "lag under a flood: no initiation was captured");
      ok = FALSE;
    }
  if (!worker_call (r->lw, lag_end, r, ok ? error : NULL))
    ok = FALSE;
  if (!follower_end (r, ok ? error : NULL))
    ok = FALSE;
  if (ok)
    {
      sorted = g_memdup2 (r->lag_us, total * sizeof (gint64));
      qsort (sorted, total, sizeof (gint64), compare_i64);
      if (sorted[0] <= 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "an event was never timed at its fold");
          ok = FALSE;
        }
      else
        {
          out[0] = percentile (sorted, total, 50) / 1e3;
          out[1] = percentile (sorted, total, 99) / 1e3;
          out[2] = (double) sorted[total - 1] / 1e3;
        }
    }
  g_clear_pointer (&r->append_us, g_free);
  g_clear_pointer (&r->lag_us, g_free);
  r->lag_total = 0;
  /* The leader keeps what it appended; the next run starts after it. */
  r->n = net_redex_file_get_next_seq (_net_db_get_log (r->leader_db, NET_DB_LOG_TASKS)) - 1;
  return ok;
}

/* Handshakes --------------------------------------------------------------------- */

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* One NetNode pair on the main context: start of the initiator to its
 * peer-up, in ms. */
static gboolean
node_handshake_once (NetIdentity  *a_id,
                     NetIdentity  *b_id,
                     double       *ms,
                     GError      **error)
{
  g_autoptr(NetNode) a = net_node_new (a_id, "127.0.0.1:0", error);
  g_autoptr(NetNode) b = NULL;
  gint64 t0, deadline;
  gboolean ok = FALSE;

  if (a == NULL)
    return FALSE;
  b = net_node_new (b_id, "127.0.0.1:0", error);
  if (b == NULL ||
      !net_node_add_peer (b, net_identity_get_public_key (a_id), NULL, error) ||
      !net_node_start (b, error) ||
      !net_node_add_peer (a, net_identity_get_public_key (b_id), net_node_get_local_address (b), error))
    goto out;

  t0 = now_ns ();
  if (!net_node_start (a, error))
    goto out;
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!net_node_is_peer_up (a, net_identity_get_public_key (b_id)))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no peer-up after 10 s");
          goto out;
        }
      g_main_context_iteration (NULL, TRUE);
    }
  *ms = (double) (now_ns () - t0) / 1e6;
  ok = TRUE;

out:
  if (a != NULL)
    net_node_stop (a);
  if (b != NULL)
    net_node_stop (b);
  g_clear_object (&a);
  g_clear_object (&b);
  drain_main_context ();
  return ok;
}

typedef struct
{
  NetIdentity *a;
  NetIdentity *b;
  guint8       mac1_a[NET_WIRE_MAC1_KEY_LEN];
  guint8       mac1_b[NET_WIRE_MAC1_KEY_LEN];
} HandshakeEnv;

static gboolean
node_handshake_run (gpointer   data,
                    double    *out,
                    GError   **error)
{
  HandshakeEnv *env = data;
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (double));
  guint tick = g_timeout_add (5, tick_cb, NULL);
  gboolean ok = TRUE;

  for (gint i = 0; i < opt_handshakes && ok; i++)
    {
      double ms;

      ok = node_handshake_once (env->a, env->b, &ms, error);
      if (ok)
        g_array_append_val (samples, ms);
    }
  g_source_remove (tick);
  if (ok)
    out[0] = median (samples);
  return ok;
}

/* Both sides of a handshake with _net_wire, no sockets: ms of CPU. */
static gboolean
wire_handshake_run (gpointer   data,
                    double    *out,
                    GError   **error)
{
  HandshakeEnv *env = data;
  const guint8 *a_secret = _net_identity_get_x25519_secret (env->a);
  const guint8 *b_secret = _net_identity_get_x25519_secret (env->b);
  const guint8 *b_public = _net_identity_get_x25519_public (env->b);
  guint n = bench.quick ? 20 : 500;
  gint64 t0 = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      guint8 m1[NET_WIRE_INITIATION_LEN], m2[NET_WIRE_RESPONSE_LEN];
      NetNoiseHandshake *hi, *hr;
      NetWireHeader header;
      NetWireKeys ki, kr;
      guint32 sender = 0, responder = 0;
      guint64 ts = 0;

      hi = _net_wire_initiation_write (a_secret, b_public, _net_identity_get_ed25519_public (env->a),
                                       7 + i, T0 + i, NULL, m1, error);
      if (hi == NULL)
        return FALSE;
      if (_net_wire_parse_header (m1, sizeof m1, NET_WIRE_DEFAULT_MAX_DATAGRAM, &header) != NET_WIRE_OK)
        {
          _net_noise_handshake_free (hi);
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "initiation header");
          return FALSE;
        }
      hr = _net_wire_initiation_read (b_secret, env->mac1_b, m1, sizeof m1, &sender, &ts, NULL, error);
      if (hr == NULL)
        {
          _net_noise_handshake_free (hi);
          return FALSE;
        }
      if (!_net_wire_response_write (hr, sender, 9 + i, NULL, m2, error) ||
          _net_wire_parse_header (m2, sizeof m2, NET_WIRE_DEFAULT_MAX_DATAGRAM, &header) != NET_WIRE_OK ||
          !_net_wire_response_read (hi, env->mac1_a, m2, sizeof m2, &responder, error))
        {
          _net_noise_handshake_free (hi);
          _net_noise_handshake_free (hr);
          if (error != NULL && *error == NULL)
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "response header");
          return FALSE;
        }
      _net_wire_keys_init (&ki, hi, 7 + i, responder);
      _net_wire_keys_init (&kr, hr, 9 + i, sender);
      _net_noise_handshake_free (hi);
      _net_noise_handshake_free (hr);
      _net_wire_keys_clear (&ki);
      _net_wire_keys_clear (&kr);
    }
  out[0] = (double) (now_ns () - t0) / 1e6 / n;
  return TRUE;
}

/* Rejecting a datagram from an unknown key (issue 12, finding 4).  An
 * initiation from a node whose key the responder does not hold: "after"
 * (the netdb column) is what NetNode does with it now, the header parsed
 * and a mac1 that does not verify (the sender does not know the
 * responder's public key); "before" (the crypto column) is what it did
 * with it in protocol version 1 and still does with one whose mac1 is
 * right, the Noise read: two X25519 and an AEAD.  ns per datagram. */
typedef struct
{
  guint8 junk[NET_WIRE_INITIATION_LEN];   /* a wrong mac1 */
  guint8 valid[NET_WIRE_INITIATION_LEN];  /* a stranger's, right mac1 */
  guint8 mac1_b[NET_WIRE_MAC1_KEY_LEN];
  NetIdentity *b;
} RejectEnv;

static gboolean
reject_mac_run (gpointer   data,
                double    *out,
                GError   **error)
{
  RejectEnv *env = data;
  guint n = bench.quick ? 20000 : 1000000;
  guint dropped = 0;
  gint64 t0 = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      NetWireHeader header;

      env->junk[20] = (guint8) i;
      if (_net_wire_parse_header (env->junk, sizeof env->junk,
                                  NET_WIRE_DEFAULT_MAX_DATAGRAM, &header) == NET_WIRE_OK &&
          !_net_wire_check_mac1 (env->mac1_b, env->junk, sizeof env->junk))
        dropped++;
    }
  out[0] = (double) (now_ns () - t0) / n;
  if (dropped != n)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "a junk mac1 verified");
      return FALSE;
    }
  return TRUE;
}

static gboolean
reject_dh_run (gpointer   data,
               double    *out,
               GError   **error)
{
  RejectEnv *env = data;
  guint n = bench.quick ? 20 : 2000;
  gint64 t0 = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      NetWireHeader header;
      NetNoiseHandshake *hs;

      if (_net_wire_parse_header (env->valid, sizeof env->valid,
                                  NET_WIRE_DEFAULT_MAX_DATAGRAM, &header) != NET_WIRE_OK)
        return FALSE;
      hs = _net_wire_initiation_read (_net_identity_get_x25519_secret (env->b), env->mac1_b,
                                      env->valid, sizeof env->valid, NULL, NULL, NULL, error);
      if (hs == NULL)
        return FALSE;
      /* NetNode then finds the key in no allow-list. */
      _net_noise_handshake_free (hs);
    }
  out[0] = (double) (now_ns () - t0) / n;
  return TRUE;
}

/* The cookie path under load (docs/net-protocol.md, section 2, "Cookies"):
 * a handshake message that passes mac1 but has no mac2 is refused unread
 * and answered with a cookie reply.  Two figures: the CPU of that path
 * through _net_wire_* (what NetNode calls, in its order: the header, mac1,
 * the cookie of the source address, mac2, the sealed reply), and the rate
 * of cookie replies a NetNode on its own thread sends while a flood of
 * such initiations (64 different ones, each passing mac1, none ever read)
 * comes in as fast as one sender thread can send them. */
#define COOKIE_JUNK 64

typedef struct
{
  NetIdentity *b;
  guint8       mac1_b[NET_WIRE_MAC1_KEY_LEN];
  guint8       cookie_key[NET_WIRE_MAC1_KEY_LEN];
  guint8       secret[NET_WIRE_COOKIE_SECRET_LEN];
  guint8       junk[COOKIE_JUNK][NET_WIRE_INITIATION_LEN];
  RejectEnv   *reject;      /* the Noise read, for the crypto columns */

  /* cookie_rate_run: the node's thread and what it reads there */
  Worker      *w;
  NetNode     *node;
  guint16      port;
  guint64      replies;
  guint64      reads;
  gint         stop;        /* atomic: the flood stops */
  guint64      flood_sent;
} CookieEnv;

static gboolean
cookie_cpu_run (gpointer   data,
                double    *out,
                GError   **error)
{
  CookieEnv *env = data;
  const guint8 source[] = { 2, 127, 0, 0, 1, 0x39, 0x30 };
  guint n = bench.quick ? 20000 : 1000000;
  guint answered = 0;
  guint8 check = 0;
  guint8 nonce[NET_WIRE_COOKIE_NONCE_LEN];
  gint64 t0;

  randombytes_buf (nonce, sizeof nonce);
  t0 = now_ns ();
  for (guint i = 0; i < n; i++)
    {
      const guint8 *msg = env->junk[i % COOKIE_JUNK];
      guint8 cookie[NET_WIRE_COOKIE_LEN];
      guint8 reply[NET_WIRE_COOKIE_REPLY_LEN];
      NetWireHeader header;

      if (_net_wire_parse_header (msg, NET_WIRE_INITIATION_LEN,
                                  NET_WIRE_DEFAULT_MAX_DATAGRAM, &header) != NET_WIRE_OK ||
          !_net_wire_check_mac1 (env->mac1_b, msg, NET_WIRE_INITIATION_LEN))
        continue;
      _net_wire_cookie_make (env->secret, source, sizeof source, cookie);
      if (_net_wire_check_mac2 (cookie, msg, NET_WIRE_INITIATION_LEN))
        continue;
      /* A counted nonce, as NetNode's. */
      sodium_increment (nonce, sizeof nonce);
      _net_wire_cookie_reply_write (env->cookie_key, i, msg + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN,
                                    cookie, nonce, reply);
      check ^= reply[sizeof reply - 1];
      answered++;
    }
  out[0] = (double) (now_ns () - t0) / n;
  if (answered != n)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%u of %u answered (%u)",
                   answered, n, check);
      return FALSE;
    }
  return TRUE;
}

/* Noise reads a second (the crypto column of net/cookie-replies). */
static gboolean
dh_rate_run (gpointer   data,
             double    *out,
             GError   **error)
{
  CookieEnv *env = data;
  double ns;

  if (!reject_dh_run (env->reject, &ns, error))
    return FALSE;
  out[0] = 1e9 / ns;
  return TRUE;
}

static gboolean
cookie_node_start (gpointer   data,
                   GError   **error)
{
  CookieEnv *env = data;
  const char *address;

  env->node = net_node_new (env->b, "127.0.0.1:0", error);
  if (env->node == NULL || !net_node_start (env->node, error))
    return FALSE;
  address = net_node_get_local_address (env->node);
  env->port = (guint16) atoi (strrchr (address, ':') + 1);
  return TRUE;
}

static gboolean
cookie_node_counters (gpointer   data,
                      GError   **error)
{
  CookieEnv *env = data;

  env->replies = net_node_get_counter (env->node, "cookie-replies-sent");
  env->reads = net_node_get_counter (env->node, "handshakes-read");
  return TRUE;
}

static gboolean
cookie_node_stop (gpointer   data,
                  GError   **error)
{
  CookieEnv *env = data;

  if (env->node != NULL)
    net_node_stop (env->node);
  g_clear_object (&env->node);
  while (g_main_context_iteration (env->w->context, FALSE))
    ;
  return TRUE;
}

static gpointer
cookie_flood_main (gpointer data)
{
  CookieEnv *env = data;
  struct sockaddr_in to = { 0 };
  struct mmsghdr msgs[COOKIE_JUNK];
  struct iovec iov[COOKIE_JUNK];
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int small = 4096;

  to.sin_family = AF_INET;
  to.sin_port = htons (env->port);
  to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  /* The cookie replies come back here, unread: a small buffer drops them. */
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  for (guint i = 0; i < COOKIE_JUNK; i++)
    {
      iov[i].iov_base = env->junk[i];
      iov[i].iov_len = NET_WIRE_INITIATION_LEN;
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &to;
      msgs[i].msg_hdr.msg_namelen = sizeof to;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  while (fd >= 0 && !g_atomic_int_get (&env->stop))
    {
      int n = sendmmsg (fd, msgs, COOKIE_JUNK, 0);

      if (n > 0)
        env->flood_sent += (guint64) n;
    }
  if (fd >= 0)
    close (fd);
  return NULL;
}

static gboolean
cookie_rate_run (gpointer   data,
                 double    *out,
                 GError   **error)
{
  CookieEnv *env = data;
  gint64 warm_us = bench.quick ? 20000 : 200000;
  gint64 duration_us = bench.quick ? 50000 : 1000000;
  guint64 replies0, reads0;
  GThread *flood = NULL;
  gint64 t0, t1;
  gboolean ok;

  env->w = worker_new ("cookie");
  env->flood_sent = 0;
  g_atomic_int_set (&env->stop, 0);
  ok = worker_call (env->w, cookie_node_start, env, error);
  if (ok)
    {
      flood = g_thread_new ("cookie-flood", cookie_flood_main, env);
      /* The flood puts the node under load (its first Noise reads drain
       * its bucket below half) before the window opens. */
      g_usleep (warm_us);
      ok = worker_call (env->w, cookie_node_counters, env, error);
    }
  if (ok)
    {
      replies0 = env->replies;
      reads0 = env->reads;
      t0 = now_ns ();
      g_usleep (duration_us);
      ok = worker_call (env->w, cookie_node_counters, env, error);
      t1 = now_ns ();
      if (ok && env->replies <= replies0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "no cookie replies under a flood (%" G_GUINT64_FORMAT " sent, "
                       "%" G_GUINT64_FORMAT " read)", env->flood_sent, env->reads - reads0);
          ok = FALSE;
        }
      if (ok)
        out[0] = rate (env->replies - replies0, t1 - t0);
      if (ok && opt_verbose)
        g_print ("net/cookie-replies: %" G_GUINT64_FORMAT " initiations sent, %"
                 G_GUINT64_FORMAT " cookie replies and %" G_GUINT64_FORMAT
                 " Noise reads in the window\n", env->flood_sent,
                 env->replies - replies0, env->reads - reads0);
    }
  g_atomic_int_set (&env->stop, 1);
  if (flood != NULL)
    g_thread_join (flood);
  worker_call (env->w, cookie_node_stop, env, NULL);
  worker_free (env->w);
  env->w = NULL;
  return ok;
}

/* Plain UDP ----------------------------------------------------------------------- */

static int
udp_socket (struct sockaddr_in *addr,
            GError            **error)
{
  socklen_t len = sizeof *addr;
  int buf = 8 << 20;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    {
      set_errno_error (error, errno, "socket", "udp");
      return -1;
    }
  memset (addr, 0, sizeof *addr);
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (bind (fd, (struct sockaddr *) addr, sizeof *addr) != 0 ||
      getsockname (fd, (struct sockaddr *) addr, &len) != 0)
    {
      set_errno_error (error, errno, "bind", "127.0.0.1");
      close (fd);
      return -1;
    }
  return fd;
}

#define UDP_BATCH 64

typedef struct
{
  int      fd;
  gsize    size;
  gint     stop;
  guint64  received;
  gint64   t_first;
  gint64   t_last;
} UdpReceiver;

static gpointer
udp_receiver_main (gpointer data)
{
  UdpReceiver *rx = data;
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  g_autofree guint8 *bufs = g_malloc (UDP_BATCH * 2048);

  for (guint i = 0; i < UDP_BATCH; i++)
    {
      iov[i].iov_base = bufs + i * 2048;
      iov[i].iov_len = 2048;
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }

  for (;;)
    {
      struct pollfd pfd = { rx->fd, POLLIN, 0 };
      int n;

      if (poll (&pfd, 1, 100) == 0)
        {
          if (g_atomic_int_get (&rx->stop))
            break;
          continue;
        }
      n = recvmmsg (rx->fd, msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        continue;
      if (rx->received == 0)
        rx->t_first = now_ns ();
      rx->received += (guint64) n;
      rx->t_last = now_ns ();
    }
  return NULL;
}

/* Datagrams per second of @size bytes through loopback, out[0], and MB/s,
 * out[1]. */
static gboolean
udp_rate_run (gpointer   data,
              double    *out,
              GError   **error)
{
  gsize size = GPOINTER_TO_SIZE (data);
  struct sockaddr_in rx_addr, tx_addr;
  struct mmsghdr msgs[UDP_BATCH];
  struct iovec iov[UDP_BATCH];
  g_autofree guint8 *payload = g_malloc0 (size);
  UdpReceiver rx = { 0 };
  GThread *thread;
  gint64 t0, duration = (bench.quick ? 50 : 1000) * (gint64) 1000000;
  int tx;

  rx.fd = udp_socket (&rx_addr, error);
  if (rx.fd < 0)
    return FALSE;
  tx = udp_socket (&tx_addr, error);
  if (tx < 0)
    {
      close (rx.fd);
      return FALSE;
    }
  rx.size = size;
  for (guint i = 0; i < UDP_BATCH; i++)
    {
      iov[i].iov_base = payload;
      iov[i].iov_len = size;
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &rx_addr;
      msgs[i].msg_hdr.msg_namelen = sizeof rx_addr;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }

  thread = g_thread_new ("udp-receiver", udp_receiver_main, &rx);
  t0 = now_ns ();
  while (now_ns () - t0 < duration)
    if (sendmmsg (tx, msgs, UDP_BATCH, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
      {
        set_errno_error (error, errno, "sendmmsg", "127.0.0.1");
        break;
      }
  g_atomic_int_set (&rx.stop, 1);
  g_thread_join (thread);
  close (tx);
  close (rx.fd);
  if (error != NULL && *error != NULL)
    return FALSE;
  if (rx.received < 2 || rx.t_last <= rx.t_first)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nothing received");
      return FALSE;
    }
  out[0] = rate (rx.received, rx.t_last - rx.t_first);
  out[1] = out[0] * (double) size / 1e6;
  return TRUE;
}

typedef struct
{
  int  fd;
  gint stop;
} UdpEcho;

static gpointer
udp_echo_main (gpointer data)
{
  UdpEcho *echo = data;
  guint8 buf[2048];

  while (!g_atomic_int_get (&echo->stop))
    {
      struct sockaddr_in from;
      socklen_t from_len = sizeof from;
      struct pollfd pfd = { echo->fd, POLLIN, 0 };
      ssize_t n;

      if (poll (&pfd, 1, 50) <= 0)
        continue;
      n = recvfrom (echo->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *) &from, &from_len);
      if (n >= 0)
        sendto (echo->fd, buf, (size_t) n, 0, (struct sockaddr *) &from, from_len);
    }
  return NULL;
}

/* The median round trip of a 64-byte datagram to an echo thread, in ms. */
static gboolean
udp_rtt_run (gpointer   data,
             double    *out,
             GError   **error)
{
  struct sockaddr_in echo_addr, addr;
  UdpEcho echo = { 0 };
  guint8 buf[64] = { 0 };
  g_autoptr(GArray) samples = g_array_new (FALSE, FALSE, sizeof (double));
  GThread *thread;
  guint n = bench.quick ? 50 : 2000;
  int fd;

  echo.fd = udp_socket (&echo_addr, error);
  if (echo.fd < 0)
    return FALSE;
  fd = udp_socket (&addr, error);
  if (fd < 0)
    {
      close (echo.fd);
      return FALSE;
    }
  thread = g_thread_new ("udp-echo", udp_echo_main, &echo);
  for (guint i = 0; i < n; i++)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 t0 = now_ns ();
      double ms;

      sendto (fd, buf, sizeof buf, 0, (struct sockaddr *) &echo_addr, sizeof echo_addr);
      if (poll (&pfd, 1, 1000) <= 0 || recv (fd, buf, sizeof buf, 0) < 0)
        continue;
      ms = (double) (now_ns () - t0) / 1e6;
      g_array_append_val (samples, ms);
    }
  g_atomic_int_set (&echo.stop, 1);
  g_thread_join (thread);
  close (fd);
  close (echo.fd);
  if (samples->len == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no echo");
      return FALSE;
    }
  out[0] = median (samples);
  return TRUE;
}

/* Half of it, for the three lag rows. */
static gboolean
udp_one_way_run (gpointer   data,
                 double    *out,
                 GError   **error)
{
  double rtt[MAX_OUT];

  if (!udp_rtt_run (data, rtt, error))
    return FALSE;
  out[0] = out[1] = out[2] = rtt[0] / 2;
  return TRUE;
}

/* AEAD ----------------------------------------------------------------------------- */

/* Encryptions per second of @size bytes, out[0], and MB/s, out[1]. */
static gboolean
aead_run (gpointer   data,
          double    *out,
          GError   **error)
{
  gsize size = GPOINTER_TO_SIZE (data);
  guint n = (guint) ((bench.quick ? 20 : 400) * 1000000 / (size + 200));
  g_autofree guint8 *plain = g_malloc0 (size);
  g_autofree guint8 *cipher = g_malloc (size + crypto_aead_chacha20poly1305_ietf_ABYTES);
  guint8 key[crypto_aead_chacha20poly1305_ietf_KEYBYTES];
  guint8 nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = { 0 };
  guint8 ad[NET_WIRE_HEADER_LEN] = { 0 };
  unsigned long long clen;
  gint64 t0;

  crypto_aead_chacha20poly1305_ietf_keygen (key);
  t0 = now_ns ();
  for (guint64 i = 0; i < n; i++)
    {
      memcpy (nonce + 4, &i, 8);
      memcpy (ad + 8, &i, 8);
      crypto_aead_chacha20poly1305_ietf_encrypt (cipher, &clen, plain, size, ad, sizeof ad,
                                                 NULL, nonce, key);
    }
  out[0] = rate (n, now_ns () - t0);
  out[1] = out[0] * (double) size / 1e6;
  sodium_memzero (key, sizeof key);
  return TRUE;
}

/* The table ------------------------------------------------------------------------- */

static void
run_handshake (void)
{
  HandshakeEnv env = { net_identity_generate (), net_identity_generate () };
  Row *row = row_new ("net/handshake", KIND_MS, FALSE);
  Job jobs[] = {
    { &row, 1, IMPL_NETDB, node_handshake_run, &env },
    { &row, 1, IMPL_UDP, udp_rtt_run, NULL },
    { &row, 1, IMPL_CRYPTO, wire_handshake_run, &env },
  };

  _net_wire_mac1_key (_net_identity_get_x25519_public (env.a), env.mac1_a);
  _net_wire_mac1_key (_net_identity_get_x25519_public (env.b), env.mac1_b);
  row_set_target (row, TARGET_MAX, 2.0);
  run_jobs (jobs, G_N_ELEMENTS (jobs));
  row_finish (row);
  g_object_unref (env.a);
  g_object_unref (env.b);
}

static void
run_reject (void)
{
  g_autoptr(NetIdentity) stranger = net_identity_generate ();
  g_autoptr(GError) error = NULL;
  RejectEnv env = { { 0 } };
  Row *row = row_new ("net/reject-unknown-key", KIND_NS, FALSE);
  Job jobs[] = {
    { &row, 1, IMPL_NETDB, reject_mac_run, &env },
    { &row, 1, IMPL_CRYPTO, reject_dh_run, &env },
  };
  NetNoiseHandshake *hs;
  NetWireHeader header = { NET_WIRE_HANDSHAKE_INITIATION, 0, 0 };

  if (row == NULL)
    return;
  env.b = net_identity_generate ();
  _net_wire_mac1_key (_net_identity_get_x25519_public (env.b), env.mac1_b);
  randombytes_buf (env.junk, sizeof env.junk);
  _net_wire_write_header (env.junk, &header);
  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (stranger),
                                   _net_identity_get_x25519_public (env.b),
                                   _net_identity_get_ed25519_public (stranger),
                                   1, 1, NULL, env.valid, &error);
  g_assert (hs != NULL);
  _net_noise_handshake_free (hs);

  row_set_target (row, TARGET_MAX, 5000.0);
  run_jobs (jobs, G_N_ELEMENTS (jobs));
  row_finish (row);
  g_object_unref (env.b);
}

static void
run_cookie (void)
{
  g_autoptr(NetIdentity) stranger = net_identity_generate ();
  g_autoptr(GError) error = NULL;
  RejectEnv reject = { { 0 } };
  CookieEnv env = { 0 };
  Row *row_ns = row_new ("net/cookie-reply", KIND_NS, FALSE);
  Row *row_rate = row_new ("net/cookie-replies", KIND_RATE, FALSE);
  Row *rows[2] = { row_ns, row_rate };
  Job jobs[] = {
    { &rows[0], 1, IMPL_NETDB, cookie_cpu_run, &env },
    { &rows[0], 1, IMPL_CRYPTO, reject_dh_run, &reject },
    { &rows[1], 1, IMPL_NETDB, cookie_rate_run, &env },
    { &rows[1], 1, IMPL_UDP, udp_rate_run, GSIZE_TO_POINTER (NET_WIRE_INITIATION_LEN) },
    { &rows[1], 1, IMPL_CRYPTO, dh_rate_run, &env },
  };
  NetNoiseHandshake *hs;
  NetWireHeader header = { NET_WIRE_HANDSHAKE_INITIATION, 0, 0 };

  if (!any_row (rows, 2))
    return;
  env.b = net_identity_generate ();
  env.reject = &reject;
  reject.b = env.b;
  _net_wire_mac1_key (_net_identity_get_x25519_public (env.b), env.mac1_b);
  _net_wire_mac1_key (_net_identity_get_x25519_public (env.b), reject.mac1_b);
  _net_wire_cookie_key (_net_identity_get_x25519_public (env.b), env.cookie_key);
  randombytes_buf (env.secret, sizeof env.secret);
  /* Junk that passes mac1 (whoever knows the node's public key can write
   * it): a random ephemeral and body each, the right header. */
  for (guint i = 0; i < COOKIE_JUNK; i++)
    {
      randombytes_buf (env.junk[i], NET_WIRE_INITIATION_LEN);
      _net_wire_write_header (env.junk[i], &header);
      crypto_generichash (env.junk[i] + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN, NET_WIRE_MAC_LEN,
                          env.junk[i], NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN,
                          env.mac1_b, sizeof env.mac1_b);
    }
  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (stranger),
                                   _net_identity_get_x25519_public (env.b),
                                   _net_identity_get_ed25519_public (stranger),
                                   1, 1, NULL, reject.valid, &error);
  g_assert (hs != NULL);
  _net_noise_handshake_free (hs);

  if (row_ns != NULL)
    row_set_target (row_ns, TARGET_MAX, 5000.0);
  run_jobs (jobs, G_N_ELEMENTS (jobs));
  row_finish (row_ns);
  row_finish (row_rate);
  g_object_unref (env.b);
}

static void
run_throughput (guint    size,
                guint64  n,
                Row    **catch_up_row)
{
  g_autoptr(GError) error = NULL;
  const char *label = size == 1024 ? "1KiB" : "64B";
  g_autofree char *id_rate = g_strdup_printf ("net/repl/%s", label);
  g_autofree char *id_mb = g_strdup_printf ("net/repl/%s-MB", label);
  g_autofree char *id_replay = g_strdup_printf ("net/fold-only/%s", label);
  Row *rows[2] = {
    row_new (id_rate, KIND_RATE, TRUE),
    row_new (id_mb, KIND_MBPS, FALSE),
  };
  Row *replay_row = row_new (id_replay, KIND_RATE, TRUE);
  Row *repl_rows[4] = { rows[0], rows[1], catch_up_row != NULL ? *catch_up_row : NULL, replay_row };
  Repl *r = NULL;

  if (!any_row (repl_rows, 4))
    return;
  if (size == 64)
    row_set_target (rows[0], TARGET_MIN, 500000);
  if (catch_up_row != NULL && n == 1000000)
    row_set_target (*catch_up_row, TARGET_MAX, 5000);

  r = repl_prepare (size, n, &error);
  {
    Job jobs[] = {
      { repl_rows, 4, IMPL_NETDB, catch_up_run, r },
      { rows, 2, IMPL_UDP, udp_rate_run, GSIZE_TO_POINTER (size) },
      { rows, 2, IMPL_CRYPTO, aead_run, GSIZE_TO_POINTER (size) },
    };

    if (r == NULL)
      {
        fail_rows (repl_rows, 4, IMPL_NETDB, error);
        run_jobs (jobs + 1, 2);
      }
    else
      run_jobs (jobs, G_N_ELEMENTS (jobs));
  }
  row_finish (rows[0]);
  row_finish (rows[1]);
  row_finish (replay_row);
  repl_free (r);
}

static void
run_lag (void)
{
  g_autoptr(GError) error = NULL;
  Row *rows[3] = {
    row_new ("net/lag/p50", KIND_MS, FALSE),
    row_new ("net/lag/p99", KIND_MS, FALSE),
    row_new ("net/lag/max", KIND_MS, FALSE),
  };
  Repl *r;

  if (!any_row (rows, 3))
    return;
  row_set_target (rows[1], TARGET_MAX, 5.0);
  r = repl_prepare (64, 1000, &error);
  {
    Job jobs[] = {
      { rows, 3, IMPL_NETDB, lag_run, r },
      { rows, 3, IMPL_UDP, udp_one_way_run, NULL },
    };

    if (r == NULL)
      {
        fail_rows (rows, 3, IMPL_NETDB, error);
        run_jobs (jobs + 1, 1);
      }
    else
      run_jobs (jobs, G_N_ELEMENTS (jobs));
  }
  for (guint i = 0; i < 3; i++)
    row_finish (rows[i]);
  repl_free (r);
}

/* The lag while the leader receives a flood of replays of the follower's
 * accepted initiation (they must cost no Diffie-Hellman: the node drops
 * them by their ephemeral key). */
static void
run_lag_flood (void)
{
  g_autoptr(GError) error = NULL;
  Row *rows[3] = {
    row_new ("net/lag-flood/p50", KIND_MS, FALSE),
    row_new ("net/lag-flood/p99", KIND_MS, FALSE),
    row_new ("net/lag-flood/max", KIND_MS, FALSE),
  };
  Repl *r;

  if (!any_row (rows, 3))
    return;
  row_set_target (rows[1], TARGET_MAX, 50.0);
  r = repl_prepare (64, 1000, &error);
  if (r != NULL)
    r->flood = TRUE;
  {
    Job jobs[] = {
      { rows, 3, IMPL_NETDB, lag_run, r },
    };

    if (r == NULL)
      fail_rows (rows, 3, IMPL_NETDB, error);
    else
      run_jobs (jobs, G_N_ELEMENTS (jobs));
  }
  for (guint i = 0; i < 3; i++)
    row_finish (rows[i]);
  if (r != NULL && r->flood_us > 0)
    {
      g_autofree char *text = g_strdup_printf ("net/lag-flood: the last run's flood: %.0f replayed "
                                               "initiations/s at the leader",
                                               r->flood_sent * 1e6 / r->flood_us);

      note (text);
    }
  repl_free (r);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *n_label = NULL;
  guint64 n;
  Row *catch_up_row;
  int status;

  bench_init ("netdb-bench-net", N_IMPL, impl_names, ratio_names, 24, 3);
  if (!bench_parse_options (option_entries,
                            "- benchmark the transport and replication on loopback",
                            "Each cell is the median of --repeat runs. 'udp' is two plain sockets "
                            "(sendmmsg/recvmmsg) in two threads, or a ping-pong; 'crypto' is "
                            "ChaCha20-Poly1305-IETF alone, or the _net_wire handshake CPU time. A ratio "
                            "below 1 is the fraction of that floor netdb reaches.",
                            &argc, &argv))
    return 2;
  if (bench.repeat < 1 || opt_events < 0 || opt_handshakes < 1 || opt_lag_seconds <= 0)
    {
      g_printerr ("%s: --repeat, --handshakes and --lag-seconds must be positive\n", bench.prog);
      return 2;
    }
  if (bench.quick)
    {
      opt_handshakes = MIN (opt_handshakes, 5);
      opt_lag_seconds = MIN (opt_lag_seconds, 0.2);
    }
  n = opt_events > 0 ? (guint64) opt_events : bench.quick ? N_QUICK : N_FULL;
  n_label = size_label (n);

  if (sodium_init () < 0)
    {
      g_printerr ("%s: libsodium cannot initialise\n", bench.prog);
      return 1;
    }

  root = make_root (bench.dir, &error);
  if (root == NULL)
    {
      g_printerr ("%s: %s\n", bench.prog, error->message);
      return 1;
    }

  bench_start ("previous-net.json");
  bench_print_intro ("handshakes, replication throughput, catch-up and lag on loopback");
  bench_print_runs ("size");
  g_print ("dbs:     %s (fsync NEVER on the leader; the follower syncs as replication says)\n", root);

  print_table_header ();

  run_handshake ();
  run_reject ();
  run_cookie ();

  {
    g_autofree char *id = g_strdup_printf ("net/catch-up/%s", n_label);

    catch_up_row = row_new (id, KIND_MS, FALSE);
    run_throughput (64, n, &catch_up_row);
    row_finish (catch_up_row);
  }
  run_throughput (1024, MAX (n / 5, 1), NULL);
  run_lag ();
  run_lag_flood ();

  note ("net/reject-unknown-key: ns of CPU per handshake initiation from a key the node does "
        "not hold; netdb = what NetNode does with it (the header parsed, mac1 checked and "
        "wrong: dropped-mac); crypto = what it cost before protocol version 2 (and still "
        "costs when the sender knows the node's public key): the Noise read, two X25519 "
        "and an AEAD.  Target: under 5 us.");
  note ("net/cookie-reply: ns of CPU per handshake message a node under load refuses unread "
        "because it carries no valid mac2 (an initiation here; a response to the node's own "
        "initiation takes the same path): the header parsed, mac1 checked and right, the cookie "
        "of the source address, mac2 checked, the cookie reply sealed (XChaCha20-Poly1305), "
        "through the _net_wire_* functions NetNode calls, without the socket; crypto = the Noise "
        "read each would cost without cookies (two X25519 and an AEAD).  Target: under 5 us.");
  note ("net/cookie-replies: a NetNode on its own thread and GMainContext, flooded by one "
        "thread (sendmmsg, batches of 64) with initiations that pass its mac1 and are never "
        "read: the cookie replies it sends per second over 1 s once under load (receive, "
        "the path above, send); udp = plain datagrams/s of the same size (172 B) between two "
        "threads, the loopback floor for receiving them at all; crypto = the Noise reads/s "
        "the node could do instead (one core).");
  note ("net/handshake: netdb = net_node_start() of the initiator until net_node_is_peer_up() "
        "(one round trip, both sides' crypto, the first keepalive), median of --handshakes "
        "fresh node pairs; udp = the median round trip of a 64-byte datagram to an echo thread; "
        "crypto = both sides of one handshake through _net_wire_* (no sockets).");
  note ("net/repl/*: an empty follower (new identity and directory each run) catching up with "
        "a leader preloaded with N task creations whose log payload is exactly 64 B (or 1 KiB), "
        "from the follower's net_node_start() until its NetDbTasks applied-seq reaches N; leader "
        "and follower each on their own thread and GMainContext. udp = datagrams/s with a "
        "payload of that size, sender and receiver in two threads (sendmmsg/recvmmsg, batches "
        "of 64); crypto = crypto_aead_chacha20poly1305_ietf_encrypt of that size. Replication "
        "packs several small events into one datagram, so it may exceed the udp column.");
  note ("net/catch-up: the wall time of the 64-byte net/repl run.");
  note ("net/fold-only: after each net/repl run, the follower's db is closed without a "
        "checkpoint and reopened: net_db_new() folds the whole log it received, in events/s. "
        "The follower's fold runs on its owner thread, as does its share of replication, so "
        "net/repl cannot exceed this.");
  note ("net/lag: the leader thread appends 64-byte task creations at 10 000/s (a 1 ms timer, "
        "catching up with the schedule); each event's lag is g_get_monotonic_time() at the "
        "follower's NetDbTasks::changed that folds it minus the time just before its append. "
        "udp = half the round trip.");
  status = bench_finish ();

  rm_rf (root);
  g_free (root);
  return status;
}
