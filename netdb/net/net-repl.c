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
static gboolean
is_leader_peer (NetRepl  *self,
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

/* Whether what @log holds is durable, all of it. */
static gboolean
log_is_durable (NetRedexFile *file)
{
  return net_redex_file_get_durable_seq (file) + 1 >= net_redex_file_get_next_seq (file);
}

static void
sync_forget_all (NetRepl *self)
{
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    if (self->syncing[log] != NULL)
      {
        SyncJob *job = g_steal_pointer (&self->syncing[log]);

        job->repl = NULL;
        sync_job_unref (job);
      }
}

/* ========================================================================== */
/* Follower                                                                   */
/* ========================================================================== */

static void
pending_free (gpointer data)
{
  Pending *p = data;

  g_bytes_unref (p->payload);
  g_free (p);
}

void
_net_repl_forward_free (Forward *fw)
{
  g_bytes_unref (fw->event);
  g_free (fw);
}

/* The seq the next event received in order has: after the log's tail and
 * what waits in the batch to be appended. */
static guint64
follower_expect (FollowLog *fl)
{
  return net_redex_file_get_next_seq (fl->file) + fl->batch->len;
}

void
_net_repl_follower_send_subscribe (NetRepl *self)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  guint n = 0;
  gboolean whole = TRUE;

  if (self->leader_peer == NULL || self->diverged)
    return;

  w_u8 (msg, NET_REPL_SUBSCRIBE);
  w_u64 (msg, _net_repl_follower_origin (self));
  w_u8 (msg, 0);
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      FollowLog *fl = &self->follow[log];
      guint64 next, hash = 0;

      if (fl->file == NULL)
        continue;
      /* Only what is durable: all of it, or what the last sync covered. */
      next = net_redex_file_get_next_seq (fl->file);
      if (log_is_durable (fl->file))
        hash = fl->hash_seq == next - 1 ? fl->last_hash : 0;
      else if (fl->synced_upto + 1 < next &&
               fl->synced_upto <= net_redex_file_get_durable_seq (fl->file) &&
               fl->synced_restarts == _net_redex_file_get_restarts (fl->file))
        {
          next = fl->synced_upto + 1;
          hash = fl->synced_hash;
        }
      else
        next = net_redex_file_get_durable_seq (fl->file) + 1;
      if (next != net_redex_file_get_next_seq (fl->file))
        whole = FALSE;
      w_u8 (msg, log);
      w_u64 (msg, next);
      w_u64 (msg, hash);
      n++;
    }
  msg->data[9] = n;
  /* The leader answers DIVERGED before its ANNOUNCE: once it saw our whole
   * tails, what it announces may be pulled. */
  if (_net_repl_send_message (self, self->leader_peer, msg) && whole)
    self->check_sent = TRUE;
}

/* The hash of our last event, for SUBSCRIBE. */
void
_net_repl_follower_load_hash (NetRepl  *self,
                              guint     log)
{
  FollowLog *fl = &self->follow[log];
  guint64 next = net_redex_file_get_next_seq (fl->file);

  fl->last_hash = 0;
  fl->hash_seq = next - 1;
  if (next > net_redex_file_get_first_seq (fl->file))
    {
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (fl->file, next - 1, NULL);

      if (event != NULL)
        fl->last_hash = _net_repl_event_hash (net_redex_event_get_timestamp (event),
                                    net_redex_event_get_payload (event));
    }
}

/* Syncs what was appended and not synced yet, on a worker: the fold goes
 * on meanwhile, and the new tail is advertised once it is durable. */
static void
follower_sync (NetRepl *self)
{
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      FollowLog *fl = &self->follow[log];

      if (fl->file != NULL && !log_is_durable (fl->file))
        _net_repl_sync_start (self, log,
                    fl->hash_seq == net_redex_file_get_next_seq (fl->file) - 1 ? fl->last_hash : 0);
    }
}

/* Advertises our durable tails (SUBSCRIBE), and syncs what is not. */
static void
follower_advertise (NetRepl *self)
{
  follower_sync (self);
  if (self->leader_up)
    _net_repl_follower_send_subscribe (self);
}

static void
follower_sync_done (NetRepl *self,
                    SyncJob *job)
{
  FollowLog *fl = &self->follow[job->log];

  if (!job->ok)
    {
      /* Not durable: not advertised; the next append or heartbeat tries
       * again.  A closed db (its owner is shutting down) is no news. */
      if (!g_error_matches (job->error, NET_ERROR, NET_ERROR_CLOSED))
        g_warning ("replication: cannot sync the %s log: %s",
                   net_redex_file_get_name (job->file), job->error->message);
      return;
    }

  fl->synced_upto = job->upto;
  fl->synced_hash = job->hash;
  fl->synced_restarts = job->restarts;
  /* Appended meanwhile: the next sync takes all of it. */
  follower_sync (self);
  if (self->leader_up)
    _net_repl_follower_send_subscribe (self);
}

static void
follower_send_pull (NetRepl *self,
                    guint    log,
                    guint64  from,
                    guint64  end)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  w_u8 (msg, NET_REPL_PULL);
  w_u8 (msg, log);
  w_u64 (msg, from);
  w_u64 (msg, end);
  _net_repl_send_message (self, self->leader_peer, msg);
  self->counters.pulls_sent++;
}

/* Keeps PULL_WINDOW ranges in flight up to the announced tail, and asks
 * again for what a range still lacks after the pull timeout. */
void
_net_repl_follower_fill_pulls (NetRepl *self,
                               guint    log)
{
  FollowLog *fl = &self->follow[log];
  guint64 next, top, range;
  gint64 now = _net_repl_now_us ();
  gboolean retried = FALSE;
  guint i;

  if (fl->file == NULL || !fl->announced || !self->leader_up || self->snapshotting ||
      self->diverged || !self->checked)
    return;

  next = follower_expect (fl);
  top = next;

  for (i = 0; i < fl->n_pulls;)
    {
      PullRange *p = &fl->pulls[i];

      if (p->end <= next)
        {
          fl->pulls[i] = fl->pulls[--fl->n_pulls];
          continue;
        }
      top = MAX (top, p->end);
      if (now - p->sent_at >= (gint64) self->pull_timeout_ms * 1000)
        {
          guint64 from = MAX (p->from, next);
          guint64 key;

          for (key = from; key < p->end && g_hash_table_contains (fl->pending, &key); key++)
            ;
          if (key < p->end)
            {
              follower_send_pull (self, log, key, p->end);
              self->counters.pulls_retried++;
              retried = TRUE;
            }
          p->from = key;
          p->sent_at = now;
        }
      i++;
    }

  /* A round of re-requests: did the leader send anything of this log
   * since the last one, while it claims more than we hold? */
  if (retried && now - fl->round_at >= (gint64) self->pull_timeout_ms * 1000)
    {
      fl->round_at = now;
      if (fl->received)
        fl->empty_rounds = 0;
      else if (fl->claimed)
        fl->empty_rounds++;
      fl->received = FALSE;
      fl->claimed = FALSE;
    }

  range = PULL_WINDOW_BYTES / PULL_WINDOW / MAX (fl->avg_event, 1);
  range = CLAMP (range, 1, PULL_RANGE);
  while (fl->n_pulls < PULL_WINDOW && top < fl->leader_next)
    {
      PullRange *p = &fl->pulls[fl->n_pulls++];

      p->from = top;
      p->end = MIN (top + range, fl->leader_next);
      p->sent_at = now;
      follower_send_pull (self, log, p->from, p->end);
      top = p->end;
    }
}

/* Appends the batch of events received in order with one write, then
 * syncs (on a worker) and asks for more. */
static void
follower_flush (NetRepl *self,
                guint    log)
{
  FollowLog *fl = &self->follow[log];
  g_autoptr(GError) error = NULL;
  guint64 next;
  guint n;

  if (fl->file == NULL || fl->batch->len == 0)
    return;

  n = fl->batch->len;
  next = net_redex_file_get_next_seq (fl->file);
  if (_net_redex_file_append_full (fl->file, (GBytes **) fl->batch->pdata,
                                   (const gint64 *) (gpointer) fl->batch_stamps->data, n,
                                   next, &error) == 0)
    {
      if (!g_error_matches (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH) &&
          !g_error_matches (error, NET_ERROR, NET_ERROR_CLOSED))
        g_warning ("replication: cannot append to the %s log: %s",
                   net_redex_file_get_name (fl->file), error->message);
      /* Pulled again. */
      g_ptr_array_set_size (fl->batch, 0);
      g_array_set_size (fl->batch_stamps, 0);
      return;
    }

  fl->last_hash = _net_repl_event_hash (g_array_index (fl->batch_stamps, gint64, n - 1),
                              g_ptr_array_index (fl->batch, n - 1));
  fl->hash_seq = next + n - 1;
  g_ptr_array_set_size (fl->batch, 0);
  g_array_set_size (fl->batch_stamps, 0);
  self->counters.events_appended += n;

  follower_sync (self);
  _net_repl_follower_fill_pulls (self, log);
}

static void
follower_flush_all (NetRepl *self)
{
  if (self->flush_source != NULL)
    g_source_set_ready_time (self->flush_source, -1);
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    if (self->follow[log].file != NULL)
      follower_flush (self, log);
}

/* One event received in order: into the batch (taking its payload). */
static void
follower_batch_add (NetRepl *self,
                    guint    log,
                    gint64   timestamp,
                    GBytes  *payload)
{
  FollowLog *fl = &self->follow[log];

  g_ptr_array_add (fl->batch, payload);
  g_array_append_val (fl->batch_stamps, timestamp);
  if (fl->batch->len >= APPEND_BATCH)
    follower_flush (self, log);
  else if (self->flush_source != NULL)
    /* Appended at the end of the link's batch (_net_repl_receive_done),
     * or in the next main loop iteration at the latest. */
    g_source_set_ready_time (self->flush_source, 0);
}

/* Moves what the reorder buffer holds from the next expected seq on into
 * the batch. */
static void
follower_drain (NetRepl *self,
                guint    log)
{
  FollowLog *fl = &self->follow[log];

  while (g_hash_table_size (fl->pending) > 0)
    {
      guint64 seq = follower_expect (fl);
      Pending *p = g_hash_table_lookup (fl->pending, &seq);

      if (p == NULL)
        break;
      fl->pending_bytes -= g_bytes_get_size (p->payload);
      follower_batch_add (self, log, p->timestamp, g_bytes_ref (p->payload));
      g_hash_table_remove (fl->pending, &seq);
    }
}

/* Keeps a received event until it can be appended; FALSE when it is a
 * duplicate. */
static gboolean
follower_take_event (NetRepl *self,
                     guint    log,
                     guint64  seq,
                     gint64   timestamp,
                     GBytes  *payload)
{
  FollowLog *fl = &self->follow[log];
  guint64 next = follower_expect (fl);
  Pending *p;

  if (seq < next || g_hash_table_contains (fl->pending, &seq))
    {
      self->counters.events_duplicate++;
      return FALSE;
    }
  if (seq == next)
    {
      follower_batch_add (self, log, timestamp, g_bytes_ref (payload));
      follower_drain (self, log);
      return TRUE;
    }
  /* Bounded: what is too far ahead is asked for again later. */
  if (seq - next >= REORDER_MAX_EVENTS ||
      g_hash_table_size (fl->pending) >= REORDER_MAX_EVENTS ||
      fl->pending_bytes + g_bytes_get_size (payload) > REORDER_MAX_BYTES)
    return TRUE;

  p = g_new (Pending, 1);
  p->timestamp = timestamp;
  p->payload = g_bytes_ref (payload);
  fl->pending_bytes += g_bytes_get_size (payload);
  g_hash_table_insert (fl->pending, g_memdup2 (&seq, sizeof seq), p);
  return TRUE;
}

/* Stops following for good (nothing of the leader is appended any more)
 * and says why.  Called from a dispatch of the link, as the link wants. */
void
_net_repl_follower_stop (NetRepl      *self,
                         const GError *error)
{
  self->diverged = TRUE;
  _net_repl_follower_clear_pulls (self);
  if (self->link->follow_failed != NULL)
    self->link->follow_failed (self->link, error);
  else
    g_warning ("replication: %s", error->message);
}

static gboolean
follower_on_announce (NetRepl       *self,
                      NetReplReader *r)
{
  guint n = r_u8 (r);
  struct { guint8 log; guint64 first, next, app_seq; } entries[256];

  for (guint i = 0; i < n; i++)
    {
      entries[i].log = r_u8 (r);
      entries[i].first = r_u64 (r);
      entries[i].next = r_u64 (r);
      entries[i].app_seq = r_u64 (r);
    }
  if (!_net_repl_reader_done (r))
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (entries[i].first == 0 || entries[i].next < entries[i].first)
      return FALSE;

  for (guint i = 0; i < n; i++)
    {
      FollowLog *fl;

      if (entries[i].log >= NET_DB_N_LOGS || self->follow[entries[i].log].file == NULL)
        continue;
      fl = &self->follow[entries[i].log];
      if (entries[i].next > follower_expect (fl))
        fl->claimed = TRUE;
      fl->announced = TRUE;
      fl->leader_first = entries[i].first;
      /* Announcements may arrive out of order: the tail only grows. */
      fl->leader_next = MAX (fl->leader_next, entries[i].next);
      fl->leader_app_seq = MAX (fl->leader_app_seq, entries[i].app_seq);
    }

  self->session_announced = TRUE;
  if (self->check_sent)
    self->checked = TRUE;
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      FollowLog *fl = &self->follow[log];

      _net_repl_follower_fill_pulls (self, log);
      /* It keeps announcing what it does not send: nothing can be
       * appended from it any more, say so rather than ask for ever. */
      if (fl->file != NULL && !self->diverged && fl->empty_rounds >= PULL_EMPTY_MAX)
        {
          g_autoptr(GError) error =
            g_error_new (NET_ERROR, NET_ERROR_PROTOCOL,
                         "the leader of database %s announces its %s log up to seq %"
                         G_GUINT64_FORMAT " but sent nothing from seq %" G_GUINT64_FORMAT
                         " when asked %u times; replication stopped",
                         net_db_get_path (self->db), net_redex_file_get_name (fl->file),
                         fl->leader_next - 1, follower_expect (fl), fl->empty_rounds);

          _net_repl_follower_stop (self, error);
          return TRUE;
        }
    }
  _net_repl_follower_pump (self);
  return TRUE;
}

static gboolean
follower_on_events (NetRepl       *self,
                    NetReplReader *r,
                    gsize          msg_len)
{
  guint8 log = r_u8 (r);
  guint64 first = r_u64 (r);
  guint count = r_u16 (r);
  FollowLog *fl;
  NetReplReader entries;
  guint64 expect;

  if (!r->ok || log >= NET_DB_N_LOGS || first == 0 || count == 0 ||
      first > G_MAXUINT64 - count)
    return FALSE;

  /* Every length checked before anything is taken. */
  entries = *r;
  for (guint i = 0; i < count; i++)
    {
      r_i64 (r);
      if (_net_repl_reader_take (r, r_u32 (r)) == NULL)
        return FALSE;
    }
  if (!_net_repl_reader_done (r))
    return FALSE;

  fl = &self->follow[log];
  fl->received = TRUE;
  /* Pushed events before the leader checked our tail wait for a pull. */
  if (fl->file == NULL || self->snapshotting || self->diverged || !self->checked)
    return TRUE;

  fl->avg_event = fl->avg_event - fl->avg_event / 8 + (msg_len - EVENTS_HEADER) / count / 8;

  expect = follower_expect (fl);
  for (guint i = 0; i < count; i++)
    {
      guint64 seq = first + i;
      gint64 ts = r_i64 (&entries);
      guint32 len = r_u32 (&entries);
      const guint8 *data = _net_repl_reader_take (&entries, len);

      if (seq < expect)
        {
          self->counters.events_duplicate++;
          continue;
        }
      if (seq == expect && g_hash_table_size (fl->pending) == 0)
        {
          /* The common case: in order, nothing waits. */
          follower_batch_add (self, log, ts, g_bytes_new (data, len));
          expect = follower_expect (fl);
          continue;
        }
      {
        g_autoptr(GBytes) payload = g_bytes_new (data, len);

        follower_take_event (self, log, seq, ts, payload);
        expect = follower_expect (fl);
      }
    }
  return TRUE;
}

static gboolean
follower_on_fragment (NetRepl       *self,
                      NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 seq = r_u64 (r);
  gint64 ts = r_i64 (r);
  guint32 total = r_u32 (r);
  guint32 offset = r_u32 (r);
  gsize n = _net_repl_reader_left (r);
  const guint8 *bytes = _net_repl_reader_take (r, n);
  FollowLog *fl;
  NetReplParts *fr;
  guint64 next;

  if (!_net_repl_reader_done (r) || log >= NET_DB_N_LOGS || seq == 0 || n == 0 ||
      total > EVENT_MAX_BYTES || offset > total || n > total - offset)
    return FALSE;

  fl = &self->follow[log];
  fl->received = TRUE;
  if (fl->file == NULL || self->snapshotting || self->diverged || !self->checked)
    return TRUE;

  next = follower_expect (fl);
  if (seq < next || g_hash_table_contains (fl->pending, &seq))
    {
      /* Counted once per event, at its first part. */
      if (offset == 0)
        self->counters.events_duplicate++;
      return TRUE;
    }
  if (seq - next >= REORDER_MAX_EVENTS)
    return TRUE;

  fr = _net_repl_parts_find (fl->fragments, log, seq);
  if (fr != NULL && (fr->total != total || fr->tag != (guint64) ts))
    return FALSE;
  if (fr == NULL)
    {
      /* Bounded: the event furthest ahead gives way. */
      if (fl->fragments->len >= FRAGMENTS_MAX)
        {
          guint far = 0;

          for (guint i = 1; i < fl->fragments->len; i++)
            if (((NetReplParts *) g_ptr_array_index (fl->fragments, i))->id >
                ((NetReplParts *) g_ptr_array_index (fl->fragments, far))->id)
              far = i;
          if (((NetReplParts *) g_ptr_array_index (fl->fragments, far))->id < seq)
            return TRUE;
          g_ptr_array_remove_index_fast (fl->fragments, far);
        }
      fr = _net_repl_parts_new (log, seq, (guint64) ts, total);
      g_ptr_array_add (fl->fragments, fr);
    }

  if (_net_repl_parts_add (fr, offset, bytes, n))
    {
      g_autoptr(GBytes) payload = _net_repl_parts_free_to_bytes (_net_repl_parts_take (fl->fragments, fr));

      fl->avg_event = fl->avg_event - fl->avg_event / 8 + (total + FRAGMENT_HEADER) / 8;
      follower_take_event (self, log, seq, ts, payload);
    }
  return TRUE;
}

/* Follower: messages and timers ------------------------------------------ */

static gboolean
follower_receive (NetRepl      *self,
                  gpointer      peer,
                  const guint8 *message,
                  gsize         len)
{
  NetReplReader r;

  _net_repl_reader_init (&r, message + 1, len - 1);

  switch (message[0])
    {
    case NET_REPL_ANNOUNCE:
    case NET_REPL_EVENTS:
    case NET_REPL_FRAGMENT:
    case NET_REPL_GONE:
    case NET_REPL_DIVERGED:
    case NET_REPL_SNAPSHOT_INFO:
    case NET_REPL_SNAPSHOT_PART:
    case NET_REPL_FORWARD_ACK:
      break;
    default:
      return FALSE;
    }

  /* Only our leader speaks to us. */
  if (!is_leader_peer (self, peer))
    return TRUE;
  self->leader_heard = _net_repl_now_us ();
  self->forward_backoff = 0;

  switch (message[0])
    {
    case NET_REPL_ANNOUNCE:
      return follower_on_announce (self, &r);
    case NET_REPL_EVENTS:
      return follower_on_events (self, &r, len);
    case NET_REPL_FRAGMENT:
      return follower_on_fragment (self, &r);
    case NET_REPL_GONE:
      return _net_repl_follower_on_gone (self, &r);
    case NET_REPL_DIVERGED:
      return _net_repl_follower_on_diverged (self, &r);
    case NET_REPL_SNAPSHOT_INFO:
      return _net_repl_follower_on_snapshot_info (self, &r);
    case NET_REPL_SNAPSHOT_PART:
      return _net_repl_follower_on_snapshot_part (self, &r);
    case NET_REPL_FORWARD_ACK:
      return _net_repl_follower_on_forward_ack (self, &r);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
follower_heartbeat_cb (gpointer data)
{
  NetRepl *self = data;

  if (self->leader_up)
    follower_advertise (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
follower_tick_cb (gpointer data)
{
  NetRepl *self = data;
  gint64 now = _net_repl_now_us ();
  gboolean stalled;

  if (self->leader_up)
    {
      for (guint log = 0; log < NET_DB_N_LOGS; log++)
        _net_repl_follower_fill_pulls (self, log);
      _net_repl_follower_snapshot_step (self);
      _net_repl_follower_pump (self);
    }
  /* After a main loop that did not run for a while, what the leader sent
   * meanwhile may still wait to be received: judge at the next tick. */
  stalled = self->last_tick != 0 &&
            now - self->last_tick > (gint64) self->forward_timeout_ms * 1000 / 2;
  self->last_tick = now;
  if (!stalled)
    _net_repl_follower_check_forward_timeouts (self);
  return G_SOURCE_CONTINUE;
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
    follower_sync_done (self, job);
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
      self->heartbeat_source = attach_timer (self, self->heartbeat_ms, follower_heartbeat_cb,
                                             "[netdb] replication heartbeat");
      self->tick_source = attach_timer (self, MAX (self->pull_timeout_ms / 4, 5), follower_tick_cb,
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
  follower_flush_all (data);
  return G_SOURCE_CONTINUE;
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
  self->forward_timeout_ms = DEFAULT_FORWARD_TIMEOUT_MS;
  g_queue_init (&self->forwards);

  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      NetRedexFile *file = _net_db_get_log (db, log);

      self->logs[log] = file ? g_object_ref (file) : NULL;
    }

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
  gboolean any = FALSE;

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
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      NetRedexFile *file = _net_db_get_log (db, log);

      if (file == NULL)
        continue;
      any = TRUE;
      if (_net_redex_file_is_closed (file))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "database %s is closed", name);
          return FALSE;
        }
    }
  if (!any)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s has no model to replicate", name);
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
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    if (self->logs[log] != NULL)
      {
        self->announced[log] = net_redex_file_get_next_seq (self->logs[log]);
        self->announced_tail[log] = MIN (self->announced[log],
                                         net_redex_file_get_durable_seq (self->logs[log]) + 1);
        _net_redex_file_add_watch (self->logs[log], self->watch_source);
      }

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

  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      FollowLog *fl = &self->follow[log];

      fl->file = self->logs[log];
      if (fl->file == NULL)
        continue;
      fl->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, pending_free);
      fl->fragments = g_ptr_array_new_with_free_func (_net_repl_parts_free);
      fl->own_app_seq = _net_db_get_origin_app_seq (db, log, _net_repl_follower_origin (self));
      fl->avg_event = 128;
      fl->batch = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      fl->batch_stamps = g_array_new (FALSE, FALSE, sizeof (gint64));
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
      follower_flush_all (self);
    }
  sync_forget_all (self);

  if (self->watch_source != NULL)
    {
      for (guint log = 0; log < NET_DB_N_LOGS; log++)
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

      for (guint log = 0; log < NET_DB_N_LOGS; log++)
        {
          g_clear_pointer (&self->follow[log].pending, g_hash_table_unref);
          g_clear_pointer (&self->follow[log].fragments, g_ptr_array_unref);
          g_clear_pointer (&self->follow[log].batch, g_ptr_array_unref);
          g_clear_pointer (&self->follow[log].batch_stamps, g_array_unref);
        }
      _net_repl_snapshot_reset (self);
    }

  g_clear_pointer (&self->followers, g_hash_table_unref);
  g_clear_pointer (&self->last_snapshot, g_bytes_unref);
  g_clear_pointer (&self->forward_index, g_hash_table_unref);
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    g_clear_object (&self->logs[log]);
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
  if (self->leader || !is_leader_peer (self, peer))
    return;

  self->leader_up = TRUE;
  self->leader_heard = _net_repl_now_us ();
  self->forward_backoff = 0;
  self->session_announced = FALSE;
  self->check_sent = FALSE;
  self->checked = FALSE;
  /* Everything in flight was lost with the old session, and the leader
   * may have restarted: its tail is what it announces from now on. */
  for (guint log = 0; log < NET_DB_N_LOGS; log++)
    {
      self->follow[log].announced = FALSE;
      self->follow[log].leader_next = 0;
      self->follow[log].empty_rounds = 0;
      self->follow[log].received = FALSE;
      self->follow[log].claimed = FALSE;
      for (guint i = 0; i < self->follow[log].n_pulls; i++)
        self->follow[log].pulls[i].sent_at = 0;
    }
  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    ((Forward *) l->data)->last_sent = 0;
  self->snap_asked = 0;
  memset (self->snap_req_sent, 0, sizeof self->snap_req_sent);

  follower_advertise (self);
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
    ok = follower_receive (self, peer, message, len);

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
    follower_flush_all (self);
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
