/* net-repl-follower.c: the follower's side of log replication
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * docs/net-protocol.md, section 4.  A follower pulls what it lacks,
 * appends it exactly at its next seq (a reorder buffer, fragments,
 * batched appends synced on a worker), and dispatches what its leader
 * sends; forwarding is in net-repl-forward.c, re-bootstrapping in
 * net-repl-snapshot.c.  Moved out of net-repl.c as is.
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

/* Follower ----------------------------------------------------------------- */

/* Whether what @log holds is durable, all of it. */
static gboolean
log_is_durable (NetRedexFile *file)
{
  return net_redex_file_get_durable_seq (file) + 1 >= net_redex_file_get_next_seq (file);
}

void
_net_repl_pending_free (gpointer data)
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

static void
follower_subscribe_begin (NetRepl    *self,
                          GByteArray *msg)
{
  g_byte_array_set_size (msg, 0);
  w_u8 (msg, NET_REPL_SUBSCRIBE);
  w_u64 (msg, _net_repl_follower_origin (self));
  w_u32 (msg, 0);   /* the token, set when sent */
  w_u8 (msg, 0);
}

/* Sends one SUBSCRIBE of @n entries, of our logs @logs; @whole says which
 * carry the log's whole tail. */
static void
follower_subscribe_send (NetRepl      *self,
                         GByteArray   *msg,
                         guint         n,
                         const guint8 *logs,
                         const guint8 *whole)
{
  guint32 token = ++self->sub_token != 0 ? self->sub_token : ++self->sub_token;

  msg->data[9] = token & 0xff;
  msg->data[10] = (token >> 8) & 0xff;
  msg->data[11] = (token >> 16) & 0xff;
  msg->data[12] = token >> 24;
  msg->data[13] = n;
  /* The leader answers DIVERGED before the ANNOUNCE that echoes this
   * token: once one does, what it announces of a log whose whole tail
   * this message showed may be pulled.  (An ANNOUNCE it sent before it
   * read this message, crossing it, does not: it used to, and a pull or
   * a push of another history could be taken before the DIVERGED.) */
  if (_net_repl_send_message (self, self->leader_peer, msg))
    for (guint i = 0; i < n; i++)
      if (whole[i])
        self->follow[logs[i]]->check_token = token;
}

/* SUBSCRIBE, with every log the leader numbered for us this session, in
 * as many messages as they need; one without entries when there is none
 * yet (a db without models): the leader's ANNOUNCE says what it has. */
void
_net_repl_follower_send_subscribe (NetRepl *self)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  guint per_message = MIN ((self->link->max_message - SUBSCRIBE_HEADER) / SUBSCRIBE_ENTRY, 255);
  guint8 whole[MAX_LOGS];
  guint8 logs[MAX_LOGS];
  guint n = 0;
  gboolean sent = FALSE;

  if (self->leader_peer == NULL || self->diverged)
    return;

  for (guint log = 0; log < self->n_logs; log++)
    {
      FollowLog *fl = self->follow[log];
      guint64 next, hash = 0;

      if (fl->file == NULL || fl->wire < 0)
        continue;
      if (n == per_message)
        {
          follower_subscribe_send (self, msg, n, logs, whole);
          sent = TRUE;
          n = 0;
        }
      if (n == 0)
        follower_subscribe_begin (self, msg);
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
      whole[n] = next == net_redex_file_get_next_seq (fl->file);
      logs[n] = log;
      w_u8 (msg, fl->wire);
      w_u64 (msg, next);
      w_u64 (msg, hash);
      n++;
    }
  if (n > 0 || !sent)
    {
      if (n == 0)
        follower_subscribe_begin (self, msg);
      follower_subscribe_send (self, msg, n, logs, whole);
    }
}

/* The hash of our last event, for SUBSCRIBE. */
void
_net_repl_follower_load_hash (NetRepl  *self,
                              guint     log)
{
  FollowLog *fl = self->follow[log];
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
  for (guint log = 0; log < self->n_logs; log++)
    {
      FollowLog *fl = self->follow[log];

      if (fl->file != NULL && !log_is_durable (fl->file))
        _net_repl_sync_start (self, log,
                    fl->hash_seq == net_redex_file_get_next_seq (fl->file) - 1 ? fl->last_hash : 0);
    }
}

/* Advertises our durable tails (SUBSCRIBE), and syncs what is not. */
void
_net_repl_follower_advertise (NetRepl *self)
{
  follower_sync (self);
  if (self->leader_up)
    _net_repl_follower_send_subscribe (self);
}

void
_net_repl_follower_sync_done (NetRepl *self,
                              SyncJob *job)
{
  FollowLog *fl = self->follow[job->log];

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
  w_u8 (msg, self->follow[log]->wire);
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
  FollowLog *fl = self->follow[log];
  guint64 next, top, range;
  gint64 now = _net_repl_now_us ();
  gboolean retried = FALSE;
  guint i;

  if (fl->file == NULL || fl->wire < 0 || !fl->announced || !self->leader_up ||
      self->snapshotting || self->diverged || !fl->checked)
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
  FollowLog *fl = self->follow[log];
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

void
_net_repl_follower_flush_all (NetRepl *self)
{
  if (self->flush_source != NULL)
    g_source_set_ready_time (self->flush_source, -1);
  for (guint log = 0; log < self->n_logs; log++)
    if (self->follow[log]->file != NULL)
      follower_flush (self, log);
}

/* One event received in order: into the batch (taking its payload). */
static void
follower_batch_add (NetRepl *self,
                    guint    log,
                    gint64   timestamp,
                    GBytes  *payload)
{
  FollowLog *fl = self->follow[log];

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
  FollowLog *fl = self->follow[log];

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
  FollowLog *fl = self->follow[log];
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

/* Asks the leader for the names of the logs @wire (@n of them) it
 * announced and we do not know; each at most once per pull timeout. */
static void
follower_ask_logs (NetRepl      *self,
                   const guint8 *wire,
                   guint         n)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  gint64 now = _net_repl_now_us ();
  guint count = 0;

  w_u8 (msg, NET_REPL_LOGS_REQUEST);
  w_u8 (msg, 0);
  for (guint i = 0; i < n; i++)
    {
      if (self->wire_log[wire[i]] >= 0 || self->wire_refused[wire[i]] ||
          (self->wire_asked[wire[i]] != 0 &&
           now - self->wire_asked[wire[i]] < (gint64) self->pull_timeout_ms * 1000))
        continue;
      self->wire_asked[wire[i]] = now;
      w_u8 (msg, wire[i]);
      count++;
    }
  if (count == 0)
    return;
  msg->data[1] = count;
  w_u8 (msg, 0);   /* no name */
  _net_repl_send_message (self, self->leader_peer, msg);
}

static gboolean
follower_on_announce (NetRepl       *self,
                      NetReplReader *r)
{
  guint n = r_u8 (r);
  guint32 token = r_u32 (r);
  struct { guint8 log; guint64 first, next, app_seq; } entries[256];
  guint8 unknown[256];
  guint n_unknown = 0;

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
      int log = self->wire_log[entries[i].log];
      FollowLog *fl;

      if (log < 0)
        {
          /* A log of the leader's we do not know by that number yet. */
          if (entries[i].log >= NET_DB_N_LOGS)
            unknown[n_unknown++] = entries[i].log;
          continue;
        }
      fl = self->follow[log];
      if (fl->file == NULL)
        continue;
      if (entries[i].next > follower_expect (fl))
        fl->claimed = TRUE;
      fl->announced = TRUE;
      fl->leader_first = entries[i].first;
      /* Announcements may arrive out of order: the tail only grows. */
      fl->leader_next = MAX (fl->leader_next, entries[i].next);
      fl->leader_app_seq = MAX (fl->leader_app_seq, entries[i].app_seq);
    }
  if (n_unknown > 0)
    follower_ask_logs (self, unknown, n_unknown);

  self->session_announced = TRUE;
  /* The answer to the SUBSCRIBE that showed a log's whole tail (or a
   * later ANNOUNCE: it echoes the same token until we send another).
   * Tokens start at random, so that an ANNOUNCE echoing what an earlier
   * process of ours sent does not pass for one. */
  for (guint log = 0; log < self->n_logs; log++)
    if (self->follow[log]->check_token != 0 && token == self->follow[log]->check_token)
      self->follow[log]->checked = TRUE;
  for (guint log = 0; log < self->n_logs; log++)
    {
      FollowLog *fl = self->follow[log];

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

/*
 * LOGS: the leader's numbers of its collections' logs, for this session.
 * A log we do not have yet is opened (created, and folded untyped when
 * the application has not opened that collection), then subscribed.
 */
gboolean
_net_repl_follower_on_logs (NetRepl       *self,
                            NetReplReader *r)
{
  guint n = r_u8 (r);
  struct { guint8 wire; guint8 status; guint8 len; const guint8 *name; } entries[256];
  gboolean added = FALSE;

  for (guint i = 0; i < n; i++)
    {
      entries[i].wire = r_u8 (r);
      entries[i].status = r_u8 (r);
      entries[i].len = r_u8 (r);
      entries[i].name = _net_repl_reader_take (r, entries[i].len);
    }
  if (!_net_repl_reader_done (r) || n == 0)
    return FALSE;
  /* Only collections' logs are numbered so, under a name that is a
   * collection's; a log that has no number has 0. */
  for (guint i = 0; i < n; i++)
    if (!_net_repl_is_collection_log ((const char *) entries[i].name, entries[i].len) ||
        entries[i].status > LOGS_UNAVAILABLE ||
        (entries[i].status == LOGS_NUMBERED && entries[i].wire < NET_DB_N_LOGS) ||
        (entries[i].status != LOGS_NUMBERED && entries[i].wire != 0))
      return FALSE;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strndup ((const char *) entries[i].name, entries[i].len);
      guint8 wire = entries[i].wire;
      int log = _net_repl_find_log (self, name);

      if (entries[i].status != LOGS_NUMBERED)
        {
          /* A collection of ours the leader does not have and will not
           * make for us: what we queued for it cannot be forwarded. */
          g_autoptr(GError) error = NULL;

          if (log < 0 || self->follow[log]->wire >= 0)
            continue;
          if (entries[i].status == LOGS_READ_ONLY)
            error = g_error_new (NET_ERROR, NET_ERROR_READ_ONLY,
                                 "the leader has no collection “%s” and admits this node as "
                                 "a reader: it may not create one (admit it as a writer, "
                                 "netdb node serve --allow-writer KEY)",
                                 name + strlen (NET_COLLECTION_LOG_PREFIX));
          else
            error = g_error_new (NET_ERROR, NET_ERROR_FAILED,
                                 "the leader cannot create collection “%s”",
                                 name + strlen (NET_COLLECTION_LOG_PREFIX));
          _net_repl_follower_fail_forwards (self, log, error);
          continue;
        }

      if (self->wire_log[wire] >= 0)
        continue;   /* known: a duplicate answer */
      if (log >= 0 && self->follow[log]->wire >= 0)
        continue;   /* that name has another number: not in this session */

      if (log < 0)
        {
          g_autoptr(GError) error = NULL;
          NetRedexFile *file = _net_db_open_log (self->db, name, &error);

          if (file != NULL)
            log = _net_repl_follower_add_log (self, name, file);
          if (log < 0)
            {
              /* Not asked for again this session.  More logs than a
               * follower numbers is what the leader did (it numbers at
               * most as many), not this db: said, not warned of. */
              self->wire_refused[wire] = TRUE;
              if (error == NULL)
                g_message ("replication: database %s cannot follow the leader's %s log: "
                           "it follows %u logs already", net_db_get_path (self->db), name,
                           MAX_LOGS);
              else if (!g_error_matches (error, NET_ERROR, NET_ERROR_CLOSED))
                g_warning ("replication: database %s cannot follow the leader's %s log: %s",
                           net_db_get_path (self->db), name, error->message);
              continue;
            }
        }
      self->follow[log]->wire = wire;
      self->wire_log[wire] = log;
      added = TRUE;
    }

  /* Its tail, for the leader to check before we pull, and what waited
   * for its number to be forwarded. */
  if (added && self->leader_up)
    {
      _net_repl_follower_advertise (self);
      _net_repl_follower_pump (self);
    }
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

  if (!r->ok || first == 0 || count == 0 || first > G_MAXUINT64 - count)
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

  /* A log we do not know by that number (yet): pulled once we do. */
  if (self->wire_log[log] < 0)
    return TRUE;
  log = self->wire_log[log];
  fl = self->follow[log];
  fl->received = TRUE;
  /* Pushed events before the leader checked our tail wait for a pull. */
  if (fl->file == NULL || self->snapshotting || self->diverged || !fl->checked)
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

  if (!_net_repl_reader_done (r) || seq == 0 || n == 0 ||
      total > EVENT_MAX_BYTES || offset > total || n > total - offset)
    return FALSE;

  if (self->wire_log[log] < 0)
    return TRUE;
  log = self->wire_log[log];
  fl = self->follow[log];
  fl->received = TRUE;
  if (fl->file == NULL || self->snapshotting || self->diverged || !fl->checked)
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

/* Messages and timers ------------------------------------------------------ */

gboolean
_net_repl_follower_receive (NetRepl      *self,
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
    case NET_REPL_LOGS:
      break;
    default:
      return FALSE;
    }

  /* Only our leader speaks to us. */
  if (!_net_repl_is_leader_peer (self, peer))
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
    case NET_REPL_LOGS:
      return _net_repl_follower_on_logs (self, &r);
    default:
      g_assert_not_reached ();
    }
}

gboolean
_net_repl_follower_heartbeat_cb (gpointer data)
{
  NetRepl *self = data;

  if (self->leader_up)
    _net_repl_follower_advertise (self);
  return G_SOURCE_CONTINUE;
}

gboolean
_net_repl_follower_tick_cb (gpointer data)
{
  NetRepl *self = data;
  gint64 now = _net_repl_now_us ();
  gboolean stalled;

  if (self->leader_up)
    {
      for (guint log = 0; log < self->n_logs; log++)
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
