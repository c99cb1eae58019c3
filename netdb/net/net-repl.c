/* net-repl.c: log replication between a leader and its followers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * docs/net-protocol.md, section 4.  A leader answers what its followers
 * ask and tells them when its logs grow; a follower pulls what it lacks,
 * appends it exactly at its next seq, and forwards its local mutations
 * when asked to.  Every message is decoded with every length checked;
 * what a peer can make us hold is bounded (reorder buffer, fragments,
 * forward reassembly, snapshots).
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "net-error.h"
#include "net-collection-private.h"
#include "net-db-private.h"
#include "net-event-meta-private.h"
#include "net-redex-private.h"
#include "net-repl-msg-private.h"
#include "net-repl-private.h"
#include "net-repl-internal-private.h"

/* Follower: the origin of what it forwards. */
guint64
_net_repl_follower_origin (NetRepl *self)
{
  return self->link->local_origin != 0 ? self->link->local_origin
                                       : net_db_get_origin (self->db);
}

gboolean
_net_repl_send_message (NetRepl     *self,
                        gpointer     peer,
                        GByteArray  *msg)
{
  g_assert (msg->len <= self->link->max_message);
  return self->link->send (self->link, peer, msg->data, msg->len);
}

gboolean
_net_repl_peer_is_up (NetRepl  *self,
                      gpointer  peer)
{
  return self->link->peer_is_up == NULL || self->link->peer_is_up (self->link, peer);
}

/* Whether @peer is our leader: the one we were given, or, once the link
 * removed that one, a peer it made again for the same key. */
gboolean
_net_repl_is_leader_peer (NetRepl  *self,
                          gpointer  peer)
{
  const guint8 *key;

  if (peer == self->leader_peer)
    return peer != NULL;
  if (self->leader_peer != NULL || !self->have_leader_key ||
      self->link->peer_public_key == NULL)
    return FALSE;

  key = self->link->peer_public_key (self->link, peer);
  if (key == NULL || memcmp (key, self->leader_key, sizeof self->leader_key) != 0)
    return FALSE;

  self->leader_peer = peer;
  return TRUE;
}

gint64
_net_repl_now_us (void)
{
  return g_get_monotonic_time ();
}

static GSource *
attach_timer (NetRepl     *self,
              guint        interval_ms,
              GSourceFunc  func,
              const char  *name)
{
  GSource *source = g_timeout_source_new (MAX (interval_ms, 1));

  g_source_set_callback (source, func, self, NULL);
  g_source_set_static_name (source, name);
  g_source_attach (source, self->context);
  return source;
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* Syncing ------------------------------------------------------------------ */

static void sync_done (NetRepl *self, SyncJob *job);

static void
sync_job_clear (SyncJob *job)
{
  g_object_unref (job->file);
  g_main_context_unref (job->context);
  g_clear_error (&job->error);
}

static void
sync_job_unref (SyncJob *job)
{
  g_atomic_rc_box_release_full (job, (GDestroyNotify) sync_job_clear);
}

static gboolean
sync_job_done_cb (gpointer data)
{
  SyncJob *job = data;
  NetRepl *self = job->repl;

  if (self != NULL)
    {
      g_assert (self->syncing[job->log] == job);
      self->syncing[job->log] = NULL;
      job->repl = NULL;
      sync_done (self, job);
      sync_job_unref (job);   /* the repl's reference */
    }
  return G_SOURCE_REMOVE;
}

static void
sync_job_run (gpointer data,
              gpointer user_data)
{
  SyncJob *job = data;
  GSource *source;

  job->ok = net_redex_file_sync (job->file, &job->error);

  /* Back to the owner's context; the source holds the worker's reference. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, sync_job_done_cb, job, (GDestroyNotify) sync_job_unref);
  g_source_set_static_name (source, "[netdb] replication synced");
  g_source_attach (source, job->context);
  g_source_unref (source);
}

static GThreadPool *
sync_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *p = g_thread_pool_new (sync_job_run, NULL, 8, FALSE, NULL);

      g_once_init_leave (&pool, p);
    }
  return pool;
}

/* Starts a sync of @log unless one runs already (sync_done starts the next
 * one then).  @hash is of the event at the log's last seq, 0 if unknown. */
void
_net_repl_sync_start (NetRepl *self,
                      guint    log,
                      guint64  hash)
{
  NetRedexFile *file = self->logs[log];
  SyncJob *job;

  if (self->syncing[log] != NULL || _net_redex_file_is_closed (file))
    return;

  job = g_atomic_rc_box_new0 (SyncJob);
  job->repl = self;
  job->file = g_object_ref (file);
  job->context = g_main_context_ref (self->context);
  job->log = log;
  job->upto = net_redex_file_get_next_seq (file) - 1;
  job->hash = hash;
  job->restarts = _net_redex_file_get_restarts (file);
  self->syncing[log] = job;
  g_thread_pool_push (sync_pool (), g_atomic_rc_box_acquire (job), NULL);
}

static void
sync_forget_all (NetRepl *self)
{
  for (guint log = 0; log < self->n_logs; log++)
    if (self->syncing[log] != NULL)
      {
        SyncJob *job = g_steal_pointer (&self->syncing[log]);

        job->repl = NULL;
        sync_job_unref (job);
      }
}

/* ========================================================================== */
/* Common                                                                     */
/* ========================================================================== */

static void
sync_done (NetRepl *self,
           SyncJob *job)
{
  if (self->leader)
    _net_repl_leader_sync_done (self, job);
  else
    _net_repl_follower_sync_done (self, job);
}

static void
start_timers (NetRepl *self)
{
  destroy_source (&self->heartbeat_source);
  destroy_source (&self->tick_source);

  if (self->leader)
    self->heartbeat_source = attach_timer (self, self->heartbeat_ms, _net_repl_leader_heartbeat_cb,
                                           "[netdb] replication heartbeat");
  else
    {
      self->heartbeat_source = attach_timer (self, self->heartbeat_ms, _net_repl_follower_heartbeat_cb,
                                             "[netdb] replication heartbeat");
      self->tick_source = attach_timer (self, MAX (self->pull_timeout_ms / 4, 5), _net_repl_follower_tick_cb,
                                        "[netdb] replication retries");
    }
}

static gboolean
flush_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs flush_source_funcs = {
  .dispatch = flush_dispatch,
};

static gboolean
flush_cb (gpointer data)
{
  _net_repl_follower_flush_all (data);
  return G_SOURCE_CONTINUE;
}

gboolean
_net_repl_is_collection_log (const char *name,
                             gsize       len)
{
  gsize prefix = strlen (NET_COLLECTION_LOG_PREFIX);
  g_autofree char *copy = NULL;

  if (len <= prefix || len > LOG_NAME_MAX || memchr (name, 0, len) != NULL ||
      memcmp (name, NET_COLLECTION_LOG_PREFIX, prefix) != 0)
    return FALSE;
  copy = g_strndup (name + prefix, len - prefix);
  return _net_collection_name_is_valid (copy, NULL);
}

int
_net_repl_find_log (NetRepl    *self,
                    const char *name)
{
  for (guint log = 0; log < self->n_logs; log++)
    if (g_str_equal (self->log_names[log], name))
      return (int) log;
  return -1;
}

/* Makes @file (named @name) our log number n_logs; -1 when there are as
 * many as the wire can name. */
static int
repl_add_log (NetRepl      *self,
              const char   *name,
              NetRedexFile *file)
{
  guint log = self->n_logs;

  if (log >= MAX_LOGS)
    return -1;
  self->log_names[log] = g_strdup (name);
  self->logs[log] = file != NULL ? g_object_ref (file) : NULL;
  self->n_logs++;
  return (int) log;
}

static FollowLog *
follow_log_new (NetRepl *self,
                guint    log)
{
  FollowLog *fl = g_new0 (FollowLog, 1);

  fl->file = self->logs[log];
  fl->wire = log < NET_DB_N_LOGS ? (int) log : -1;
  if (fl->file == NULL)
    return fl;
  fl->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, _net_repl_pending_free);
  fl->fragments = g_ptr_array_new_with_free_func (_net_repl_parts_free);
  fl->own_app_seq = _net_db_get_log_app_seq (self->db, self->log_names[log],
                                             _net_repl_follower_origin (self));
  fl->avg_event = 128;
  fl->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fl->batch_stamps = g_array_new (FALSE, FALSE, sizeof (gint64));
  return fl;
}

static void
follow_log_free (FollowLog *fl)
{
  if (fl == NULL)
    return;
  g_clear_pointer (&fl->pending, g_hash_table_unref);
  g_clear_pointer (&fl->fragments, g_ptr_array_unref);
  g_clear_pointer (&fl->batch, g_ptr_array_unref);
  g_clear_pointer (&fl->batch_stamps, g_array_unref);
  g_free (fl);
}

int
_net_repl_follower_add_log (NetRepl      *self,
                            const char   *name,
                            NetRedexFile *file)
{
  int log = repl_add_log (self, name, file);

  if (log < 0)
    return -1;
  self->follow[log] = follow_log_new (self, log);
  if (file != NULL)
    _net_repl_follower_load_hash (self, log);
  return log;
}

/* Leader: a collection beyond what the wire numbers, said once. */
static void
leader_refuse_log (NetRepl    *self,
                   const char *name)
{
  if (self->logs_refused == NULL)
    self->logs_refused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (!g_hash_table_add (self->logs_refused, g_strdup (name)))
    return;
  g_warning ("replication: database %s has more collections than the %u a leader can "
             "serve; collection “%s” is not replicated",
             net_db_get_path (self->db) ? net_db_get_path (self->db) : "(in memory)",
             MAX_LOGS - NET_DB_N_LOGS, name + strlen (NET_COLLECTION_LOG_PREFIX));
}

/* Leader: a log we did not serve yet (there is room: the caller checked).
 * Announced at the next watch dispatch (its tail grew from nothing). */
static void
leader_add_log (NetRepl      *self,
                const char   *name,
                NetRedexFile *file)
{
  int log = repl_add_log (self, name, file);

  g_assert (log >= 0);
  self->announced[log] = 0;
  self->announced_tail[log] = 0;
  if (self->watch_source != NULL)
    {
      _net_redex_file_add_watch (file, self->watch_source);
      g_source_set_ready_time (self->watch_source, 0);
    }
}

void
_net_repl_leader_refresh_logs (NetRepl *self)
{
  g_auto(GStrv) names = NULL;

  if (_net_db_get_logs_generation (self->db) == self->logs_generation ||
      _net_db_is_closed (self->db))
    return;

  names = _net_db_list_logs (self->db);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      NetRedexFile *file;

      if (_net_repl_find_log (self, names[i]) >= 0)
        continue;
      if (self->n_logs >= MAX_LOGS)
        {
          leader_refuse_log (self, names[i]);
          continue;
        }
      /* Opened untyped if the application has not opened it: that bumps
       * the generation, hence read after the loop. */
      file = _net_db_open_log (self->db, names[i], &error);
      if (file == NULL)
        {
          if (!g_error_matches (error, NET_ERROR, NET_ERROR_CLOSED))
            g_warning ("replication: cannot serve the %s log: %s", names[i], error->message);
          continue;
        }
      leader_add_log (self, names[i], file);
    }
  self->logs_generation = _net_db_get_logs_generation (self->db);
}

static NetRepl *
repl_new (NetDb        *db,
          NetReplLink  *link,
          GMainContext *context,
          gboolean      leader)
{
  NetRepl *self = g_new0 (NetRepl, 1);

  self->db = g_object_ref (db);
  self->link = link;
  self->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  self->leader = leader;
  self->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
  self->pull_timeout_ms = DEFAULT_PULL_TIMEOUT_MS;
  /* SUBSCRIBE tokens (see follower_subscribe_send()). */
  self->sub_token = g_random_int ();
  self->forward_timeout_ms = DEFAULT_FORWARD_TIMEOUT_MS;
  g_queue_init (&self->forwards);
  for (guint i = 0; i < MAX_LOGS; i++)
    self->wire_log[i] = i < NET_DB_N_LOGS ? (int) i : -1;

  /* The models' logs are 0 and 1 (NULL when not enabled), on the wire
   * too. */
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    repl_add_log (self, _net_db_log_name (log), _net_db_get_log (db, log));

  return self;
}

/* Whether @db can lead or follow: open, persistent when following,
 * writable. */
static gboolean
check_db (NetDb       *db,
          gboolean     follower,
          GError     **error)
{
  const char *name = net_db_get_path (db) ? net_db_get_path (db) : "(in memory)";

  if (follower && net_db_get_path (db) == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s is held in memory: a follower needs a directory", name);
      return FALSE;
    }
  if (net_db_get_read_only (db))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s is open read-only", name);
      return FALSE;
    }
  if (net_db_get_following (db))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s already follows a leader", name);
      return FALSE;
    }
  /* A db without models may still have (or get) collections. */
  if (_net_db_is_closed (db))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s is closed", name);
      return FALSE;
    }
  return TRUE;
}

NetRepl *
_net_repl_new_leader (NetDb         *db,
                      NetReplLink   *link,
                      GMainContext  *context,
                      GError       **error)
{
  NetRepl *self;

  g_return_val_if_fail (NET_IS_DB (db), NULL);
  g_return_val_if_fail (link != NULL && link->send != NULL, NULL);
  g_return_val_if_fail (link->max_message >= MIN_MESSAGE, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_db (db, FALSE, error))
    return NULL;

  self = repl_new (db, link, context, TRUE);
  self->followers = g_hash_table_new_full (NULL, NULL, NULL, _net_repl_follower_free);
  self->forward_index = g_hash_table_new_full (_net_repl_recent_hash, _net_repl_recent_equal, g_free, NULL);

  self->watch_source = g_source_new (&_net_repl_watch_source_funcs, sizeof (GSource));
  g_source_set_callback (self->watch_source, _net_repl_leader_watch_cb, self, NULL);
  g_source_set_static_name (self->watch_source, "[netdb] replication announce");
  g_source_attach (self->watch_source, self->context);
  for (guint log = 0; log < self->n_logs; log++)
    if (self->logs[log] != NULL)
      {
        self->announced[log] = net_redex_file_get_next_seq (self->logs[log]);
        self->announced_tail[log] = MIN (self->announced[log],
                                         net_redex_file_get_durable_seq (self->logs[log]) + 1);
        _net_redex_file_add_watch (self->logs[log], self->watch_source);
      }
  /* Every collection, and those opened from now on. */
  self->logs_generation = _net_db_get_logs_generation (db) - 1;
  _net_repl_leader_refresh_logs (self);
  _net_db_add_logs_watch (db, self->watch_source);

  start_timers (self);
  return self;
}

NetRepl *
_net_repl_new_follower (NetDb         *db,
                        NetReplLink   *link,
                        gpointer       leader,
                        gboolean       forward_writes,
                        GMainContext  *context,
                        GError       **error)
{
  NetRepl *self;

  g_return_val_if_fail (NET_IS_DB (db), NULL);
  g_return_val_if_fail (link != NULL && link->send != NULL, NULL);
  g_return_val_if_fail (link->max_message >= MIN_MESSAGE, NULL);
  g_return_val_if_fail (leader != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_db (db, TRUE, error))
    return NULL;

  self = repl_new (db, link, context, FALSE);
  self->leader_peer = leader;
  if (link->peer_public_key != NULL)
    {
      const guint8 *key = link->peer_public_key (link, leader);

      if (key != NULL)
        {
          memcpy (self->leader_key, key, sizeof self->leader_key);
          self->have_leader_key = TRUE;
        }
    }
  self->forward_writes = !!forward_writes;

  for (guint log = 0; log < self->n_logs; log++)
    {
      self->follow[log] = follow_log_new (self, log);
      if (self->logs[log] != NULL)
        _net_repl_follower_load_hash (self, log);
    }

  self->flush_source = g_source_new (&flush_source_funcs, sizeof (GSource));
  g_source_set_callback (self->flush_source, flush_cb, self, NULL);
  g_source_set_static_name (self->flush_source, "[netdb] replication append");
  g_source_attach (self->flush_source, self->context);

  _net_db_set_following (db, TRUE, forward_writes ? _net_repl_forward_cb : NULL, self);

  start_timers (self);

  if (_net_repl_peer_is_up (self, leader))
    _net_repl_peer_up (self, leader);

  return self;
}

void
_net_repl_free (NetRepl *self)
{
  if (self == NULL)
    return;

  destroy_source (&self->heartbeat_source);
  destroy_source (&self->tick_source);
  destroy_source (&self->pump_source);
  destroy_source (&self->flush_source);
  /* What was received in order is kept (and advertised after a restart). */
  if (!self->leader)
    {
      self->leader_up = FALSE;   /* no more pulls */
      _net_repl_follower_flush_all (self);
    }
  sync_forget_all (self);

  if (self->watch_source != NULL)
    {
      _net_db_remove_logs_watch (self->db, self->watch_source);
      for (guint log = 0; log < self->n_logs; log++)
        if (self->logs[log] != NULL)
          _net_redex_file_remove_watch (self->logs[log], self->watch_source);
      destroy_source (&self->watch_source);
    }

  if (!self->leader)
    {
      Forward *fw;

      _net_db_set_following (self->db, FALSE, NULL, NULL);

      /* What never reached the leader is lost: say so. */
      while ((fw = g_queue_pop_head (&self->forwards)) != NULL)
        {
          g_autoptr(GError) error = g_error_new_literal (NET_ERROR, NET_ERROR_CLOSED,
                                                         "replication stopped before the leader "
                                                         "acknowledged a forwarded change");

          _net_repl_forward_free (fw);
          self->counters.forwards_failed++;
          _net_db_emit_forward_failed (self->db, error);
        }

      for (guint log = 0; log < self->n_logs; log++)
        g_clear_pointer (&self->follow[log], follow_log_free);
      _net_repl_snapshot_reset (self);
    }

  g_clear_pointer (&self->followers, g_hash_table_unref);
  g_clear_pointer (&self->last_snapshot, g_bytes_unref);
  g_clear_pointer (&self->forward_index, g_hash_table_unref);
  g_clear_pointer (&self->logs_refused, g_hash_table_unref);
  for (guint log = 0; log < self->n_logs; log++)
    {
      g_clear_object (&self->logs[log]);
      g_clear_pointer (&self->log_names[log], g_free);
    }
  g_clear_object (&self->db);
  g_main_context_unref (self->context);
  g_free (self);
}

NetDb *
_net_repl_get_db (NetRepl *self)
{
  return self->db;
}

gboolean
_net_repl_is_leader (NetRepl *self)
{
  return self->leader;
}

void
_net_repl_peer_up (NetRepl  *self,
                   gpointer  peer)
{
  if (self->leader || !_net_repl_is_leader_peer (self, peer))
    return;

  self->leader_up = TRUE;
  self->leader_heard = _net_repl_now_us ();
  self->forward_backoff = 0;
  self->session_announced = FALSE;
  /* Everything in flight was lost with the old session, and the leader
   * may have restarted: its tail is what it announces from now on, and
   * it numbers its collections' logs anew. */
  for (guint i = 0; i < MAX_LOGS; i++)
    {
      self->wire_log[i] = -1;
      self->wire_asked[i] = 0;
      self->wire_refused[i] = FALSE;
    }
  for (guint log = 0; log < self->n_logs; log++)
    {
      FollowLog *fl = self->follow[log];

      fl->wire = log < NET_DB_N_LOGS ? (int) log : -1;
      if (fl->wire >= 0)
        self->wire_log[fl->wire] = (int) log;
      fl->check_token = 0;
      fl->checked = FALSE;
      fl->announced = FALSE;
      fl->leader_next = 0;
      fl->empty_rounds = 0;
      fl->received = FALSE;
      fl->claimed = FALSE;
      for (guint i = 0; i < fl->n_pulls; i++)
        fl->pulls[i].sent_at = 0;
    }
  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    ((Forward *) l->data)->last_sent = 0;
  self->snap_asked = 0;
  memset (self->snap_req_sent, 0, sizeof self->snap_req_sent);

  _net_repl_follower_advertise (self);
}

void
_net_repl_peer_down (NetRepl  *self,
                     gpointer  peer)
{
  if (self->leader || peer != self->leader_peer)
    return;

  self->leader_up = FALSE;
  self->session_announced = FALSE;
}

void
_net_repl_peer_removed (NetRepl  *self,
                        gpointer  peer)
{
  if (self->leader)
    {
      g_hash_table_remove (self->followers, peer);
      return;
    }
  if (peer == self->leader_peer)
    {
      self->leader_up = FALSE;
      self->session_announced = FALSE;
      self->leader_peer = NULL;
    }
}

gboolean
_net_repl_receive (NetRepl      *self,
                   gpointer      peer,
                   const guint8 *message,
                   gsize         len)
{
  gboolean ok;

  g_return_val_if_fail (self != NULL, FALSE);

  if (message == NULL || len == 0 || len > self->link->max_message)
    ok = FALSE;
  else if (self->leader)
    ok = _net_repl_leader_receive (self, peer, message, len);
  else
    ok = _net_repl_follower_receive (self, peer, message, len);

  if (!ok)
    {
      self->counters.messages_malformed++;
      g_debug ("replication: dropped a malformed message (kind 0x%02x, %" G_GSIZE_FORMAT " bytes)",
               len > 0 && message != NULL ? message[0] : 0, len);
    }
  return ok;
}

void
_net_repl_receive_done (NetRepl *self)
{
  g_return_if_fail (self != NULL);

  if (!self->leader)
    _net_repl_follower_flush_all (self);
}

const NetReplCounters *
_net_repl_get_counters (NetRepl *self)
{
  return &self->counters;
}

void
_net_repl_set_timing (NetRepl *self,
                      guint    heartbeat_ms,
                      guint    pull_timeout_ms,
                      guint    forward_timeout_ms)
{
  if (heartbeat_ms != 0)
    self->heartbeat_ms = heartbeat_ms;
  if (pull_timeout_ms != 0)
    self->pull_timeout_ms = pull_timeout_ms;
  if (forward_timeout_ms != 0)
    self->forward_timeout_ms = forward_timeout_ms;
  start_timers (self);
}
