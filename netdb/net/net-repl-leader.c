/* net-repl-leader.c: the leader's side of log replication
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * docs/net-protocol.md, section 4.  A leader answers what its followers
 * ask (SUBSCRIBE, PULL, SNAPSHOT_REQUEST, FORWARD) and tells them when
 * its logs grow; net-repl.c owns the NetRepl and calls in here when it
 * leads.  Moved out of net-repl.c as is.
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

void
_net_repl_follower_free (gpointer data)
{
  Follower *f = data;

  g_clear_pointer (&f->snapshot, g_bytes_unref);
  g_ptr_array_unref (f->forwards);
  g_array_unref (f->durable_acks);
  g_free (f);
}

static Follower *
get_follower (NetRepl  *self,
              gpointer  peer)
{
  Follower *f = g_hash_table_lookup (self->followers, peer);

  if (f == NULL)
    {
      f = g_new0 (Follower, 1);
      f->peer = peer;
      f->forwards = g_ptr_array_new_with_free_func (_net_repl_parts_free);
      f->durable_acks = g_array_new (FALSE, FALSE, sizeof (DurableAck));
      g_hash_table_insert (self->followers, peer, f);
    }
  return f;
}

/*
 * The seq after the last durable event of @log: a follower never gets an
 * event that a crash could still take back (DESIGN.md §2).  What is not
 * durable yet is synced on a worker (a group commit); the leader announces
 * it when that sync is done.
 */
static guint64
leader_tail (NetRepl *self,
             guint    log)
{
  NetRedexFile *file = self->logs[log];
  guint64 next = net_redex_file_get_next_seq (file);

  if (net_redex_file_get_durable_seq (file) + 1 < next)
    _net_repl_sync_start (self, log, 0);

  return MIN (next, net_redex_file_get_durable_seq (file) + 1);
}

static guint64 leader_send_range (NetRepl *self, gpointer peer, guint8 log,
                                  guint64 from, guint64 end);

static void
leader_announce_send (NetRepl    *self,
                      Follower   *f,
                      GByteArray *msg,
                      guint       n)
{
  if (msg->len == 0)
    {
      w_u8 (msg, NET_REPL_ANNOUNCE);
      w_u8 (msg, 0);
      w_u32 (msg, f->token);
    }
  msg->data[1] = n;
  if (_net_repl_send_message (self, f->peer, msg))
    self->counters.announces_sent++;
  g_byte_array_set_size (msg, 0);
}

/* ANNOUNCE, in as many messages as the logs need; one without entries
 * when there is no log (yet), so that the follower knows we heard it. */
static void
leader_send_announce (NetRepl       *self,
                      Follower      *f,
                      const guint64 *tails)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  guint per_message = MIN ((self->link->max_message - ANNOUNCE_HEADER) / ANNOUNCE_ENTRY, 255);
  guint n = 0;
  gboolean sent = FALSE;

  for (guint log = 0; log < self->n_logs; log++)
    {
      if (self->logs[log] == NULL)
        continue;
      if (n == per_message)
        {
          leader_announce_send (self, f, msg, n);
          sent = TRUE;
          n = 0;
        }
      if (n == 0)
        {
          w_u8 (msg, NET_REPL_ANNOUNCE);
          w_u8 (msg, 0);
          w_u32 (msg, f->token);
        }
      w_u8 (msg, log);
      w_u64 (msg, net_redex_file_get_first_seq (self->logs[log]));
      w_u64 (msg, tails[log]);
      w_u64 (msg, f->origin != 0 ? _net_db_get_log_app_seq (self->db, self->log_names[log], f->origin) : 0);
      n++;
    }
  if (n > 0 || !sent)
    leader_announce_send (self, f, msg, n);
}

/* Announces the durable tails to every subscribed follower: when one
 * grew, or always (@force, the heartbeat).  A follower that was sent
 * everything up to the previous tail gets the new events at once, before
 * the announcement, instead of pulling them a round trip later. */
static void
leader_announce_all (NetRepl  *self,
                     gboolean  force)
{
  GHashTableIter iter;
  gpointer value;
  guint64 tails[MAX_LOGS] = { 0 };
  guint64 old[MAX_LOGS] = { 0 };
  gboolean grew = FALSE;

  for (guint log = 0; log < self->n_logs; log++)
    if (self->logs[log] != NULL)
      {
        self->announced[log] = net_redex_file_get_next_seq (self->logs[log]);
        old[log] = self->announced_tail[log];
        tails[log] = leader_tail (self, log);
        if (tails[log] != self->announced_tail[log])
          grew = TRUE;
        self->announced_tail[log] = tails[log];
      }
  if (!grew && !force)
    return;

  g_hash_table_iter_init (&iter, self->followers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Follower *f = value;

      if (!f->subscribed || !_net_repl_peer_is_up (self, f->peer))
        continue;
      for (guint log = 0; log < self->n_logs; log++)
        if (tails[log] > old[log] && old[log] > 0 && f->pulled[log] >= old[log] &&
            f->pulled[log] < tails[log] && tails[log] - f->pulled[log] <= PUSH_MAX_EVENTS)
          {
            guint64 sent = leader_send_range (self, f->peer, log, f->pulled[log], tails[log]);

            f->pulled[log] = MAX (f->pulled[log], sent);
          }
      leader_send_announce (self, f, tails);
    }
}

/* Appends woke us: one announcement for whatever was appended since the
 * last one, then wait for the next append. */
static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  NetRepl *self = callback ? (NetRepl *) user_data : NULL;
  gboolean more = FALSE;
  gboolean grew = FALSE;

  g_source_set_ready_time (source, -1);
  if (self == NULL)
    return G_SOURCE_CONTINUE;

  /* A collection opened meanwhile. */
  _net_repl_leader_refresh_logs (self);

  for (guint log = 0; log < self->n_logs; log++)
    if (self->logs[log] != NULL &&
        net_redex_file_get_next_seq (self->logs[log]) != self->announced[log])
      grew = TRUE;
  if (grew)
    leader_announce_all (self, FALSE);

  for (guint log = 0; log < self->n_logs; log++)
    if (self->logs[log] != NULL &&
        !_net_redex_file_arm_watch (self->logs[log], source, MAX (self->announced[log], 1) - 1))
      more = !_net_redex_file_is_closed (self->logs[log]) || more;
  if (more)
    g_source_set_ready_time (source, 0);

  return G_SOURCE_CONTINUE;
}

GSourceFuncs _net_repl_watch_source_funcs = {
  .dispatch = watch_dispatch,
};

gboolean
_net_repl_leader_watch_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
leader_send_diverged (NetRepl  *self,
                      gpointer  peer,
                      guint8    log,
                      guint64   seq)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  w_u8 (msg, NET_REPL_DIVERGED);
  w_u8 (msg, log);
  w_u64 (msg, seq);
  _net_repl_send_message (self, peer, msg);
}

static gboolean
leader_on_subscribe (NetRepl       *self,
                     gpointer       peer,
                     NetReplReader *r)
{
  guint64 origin = r_u64 (r);
  guint32 token = r_u32 (r);
  guint n = r_u8 (r);
  Follower *f;
  struct { guint8 log; guint64 next; guint64 hash; } entries[256];

  for (guint i = 0; i < n; i++)
    {
      entries[i].log = r_u8 (r);
      entries[i].next = r_u64 (r);
      entries[i].hash = r_u64 (r);
    }
  if (!_net_repl_reader_done (r) || origin == 0)
    return FALSE;

  f = get_follower (self, peer);
  f->subscribed = TRUE;
  f->origin = origin;
  f->token = token;

  for (guint i = 0; i < n; i++)
    {
      NetRedexFile *file = entries[i].log < self->n_logs ? self->logs[entries[i].log] : NULL;
      guint64 seq = entries[i].next - 1;

      if (file == NULL)
        continue;
      f->diverged[entries[i].log] = FALSE;
      /* What it holds durably: no need to push it again. */
      f->pulled[entries[i].log] = MAX (f->pulled[entries[i].log], entries[i].next);
      if (entries[i].next <= 1)
        continue;

      if (seq >= net_redex_file_get_next_seq (file))
        {
          /* The follower holds events we never wrote. */
          f->pulled[entries[i].log] = 0;
          f->diverged[entries[i].log] = TRUE;
          leader_send_diverged (self, peer, entries[i].log, net_redex_file_get_next_seq (file));
          continue;
        }
      if (entries[i].hash != 0 && seq >= net_redex_file_get_first_seq (file))
        {
          g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, seq, NULL);

          if (event != NULL &&
              _net_repl_event_hash (net_redex_event_get_timestamp (event),
                          net_redex_event_get_payload (event)) != entries[i].hash)
            {
              f->pulled[entries[i].log] = 0;
              f->diverged[entries[i].log] = TRUE;
              leader_send_diverged (self, peer, entries[i].log, seq);
            }
        }
    }

  {
    guint64 tails[MAX_LOGS] = { 0 };

    for (guint log = 0; log < self->n_logs; log++)
      if (self->logs[log] != NULL)
        tails[log] = leader_tail (self, log);
    leader_send_announce (self, f, tails);
  }
  return TRUE;
}

static void
leader_send_gone (NetRepl  *self,
                  gpointer  peer,
                  guint8    log,
                  guint64   from_seq,
                  guint64   first_seq)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  w_u8 (msg, NET_REPL_GONE);
  w_u8 (msg, log);
  w_u64 (msg, from_seq);
  w_u64 (msg, first_seq);
  _net_repl_send_message (self, peer, msg);
}

/* Sends one event that does not fit in a message, in FRAGMENTs. */
static gboolean
leader_send_fragments (NetRepl       *self,
                       gpointer       peer,
                       guint8         log,
                       NetRedexEvent *event)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  gsize len, chunk = self->link->max_message - FRAGMENT_HEADER;
  const guint8 *data = g_bytes_get_data (net_redex_event_get_payload (event), &len);

  for (gsize off = 0; off < len; off += chunk)
    {
      gsize n = MIN (chunk, len - off);

      g_byte_array_set_size (msg, 0);
      w_u8 (msg, NET_REPL_FRAGMENT);
      w_u8 (msg, log);
      w_u64 (msg, net_redex_event_get_seq (event));
      w_i64 (msg, net_redex_event_get_timestamp (event));
      w_u32 (msg, len);
      w_u32 (msg, off);
      g_byte_array_append (msg, data + off, n);
      if (!_net_repl_send_message (self, peer, msg))
        return FALSE;
    }
  self->counters.events_sent++;
  return TRUE;
}

static gboolean
leader_flush_events (NetRepl    *self,
                     gpointer    peer,
                     GByteArray *msg,
                     guint       count)
{
  gboolean ok;

  if (count == 0)
    return TRUE;
  msg->data[10] = count & 0xff;
  msg->data[11] = count >> 8;
  ok = _net_repl_send_message (self, peer, msg);
  if (ok)
    self->counters.events_sent += count;
  return ok;
}

static gboolean
leader_on_pull (NetRepl       *self,
                gpointer       peer,
                NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 from = r_u64 (r);
  guint64 end = r_u64 (r);
  Follower *f;

  if (!_net_repl_reader_done (r) || log >= self->n_logs || from == 0 || end <= from)
    return FALSE;

  if (self->logs[log] == NULL)
    return TRUE;

  f = get_follower (self, peer);
  /* A pull sent before our DIVERGED reached it (it took an earlier
   * ANNOUNCE for the answer to its SUBSCRIBE): it gets nothing of a
   * history that is not its own. */
  if (f->diverged[log])
    return TRUE;
  end = leader_send_range (self, peer, log, from, end);
  f->pulled[log] = MAX (f->pulled[log], end);
  return TRUE;
}

/* Sends the durable events of [@from, @end) of @log, at most
 * PULL_MAX_EVENTS of them; returns the seq after the last one sent, 0 when
 * none was. */
static guint64
leader_send_range (NetRepl  *self,
                   gpointer  peer,
                   guint8    log,
                   guint64   from,
                   guint64   end)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  g_autoptr(GPtrArray) events = NULL;
  NetRedexFile *file = self->logs[log];
  guint64 first, next, bytes = 0;
  guint count = 0, sent = 0;

  first = net_redex_file_get_first_seq (file);
  next = leader_tail (self, log);
  if (from < first)
    {
      leader_send_gone (self, peer, log, from, first);
      return 0;
    }
  end = MIN (end, next);
  end = MIN (end, from + PULL_MAX_EVENTS);
  if (from >= end)
    return 0;

  events = net_redex_file_read_range (file, from, end, NULL);
  if (events == NULL)
    return 0;   /* closed, or damaged: the follower asks again */
  if (events->len > 0 && net_redex_event_get_seq (g_ptr_array_index (events, 0)) != from)
    {
      /* Evicted meanwhile. */
      leader_send_gone (self, peer, log, from, net_redex_file_get_first_seq (file));
      return 0;
    }

  for (guint i = 0; i < events->len; i++)
    {
      NetRedexEvent *event = g_ptr_array_index (events, i);
      gsize len = g_bytes_get_size (net_redex_event_get_payload (event));
      gsize need = EVENTS_ENTRY_HEADER + len;

      if (bytes >= PULL_MAX_BYTES)
        break;
      bytes += len;

      if (EVENTS_HEADER + need > self->link->max_message)
        {
          if (!leader_flush_events (self, peer, msg, count) ||
              !leader_send_fragments (self, peer, log, event))
            return 0;
          sent++;
          count = 0;
          g_byte_array_set_size (msg, 0);
          continue;
        }

      if (count > 0 && (msg->len + need > self->link->max_message || count == G_MAXUINT16))
        {
          if (!leader_flush_events (self, peer, msg, count))
            return 0;
          count = 0;
          g_byte_array_set_size (msg, 0);
        }

      if (count == 0)
        {
          w_u8 (msg, NET_REPL_EVENTS);
          w_u8 (msg, log);
          w_u64 (msg, net_redex_event_get_seq (event));
          w_u16 (msg, 0);
        }
      sent++;
      w_i64 (msg, net_redex_event_get_timestamp (event));
      w_u32 (msg, len);
      g_byte_array_append (msg, g_bytes_get_data (net_redex_event_get_payload (event), NULL), len);
      count++;
    }

  if (!leader_flush_events (self, peer, msg, count))
    return 0;
  return from + sent;
}

static void
leader_send_snapshot_info (NetRepl  *self,
                           gpointer  peer,
                           guint32   id,
                           guint64   total)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  w_u8 (msg, NET_REPL_SNAPSHOT_INFO);
  w_u32 (msg, id);
  w_u64 (msg, total);
  _net_repl_send_message (self, peer, msg);
}

static gboolean
leader_on_snapshot_request (NetRepl       *self,
                            gpointer       peer,
                            NetReplReader *r)
{
  guint32 id = r_u32 (r);
  guint64 offset = r_u64 (r);
  guint32 length = r_u32 (r);
  Follower *f;
  gsize total, chunk;
  const guint8 *data;
  g_autoptr(GByteArray) msg = NULL;

  if (!_net_repl_reader_done (r))
    return FALSE;

  f = get_follower (self, peer);

  if (id == 0)
    {
      g_autoptr(GError) error = NULL;
      guint64 seqs[MAX_LOGS] = { 0 };
      GBytes *snapshot;

      /* A repeated request (the answer got lost) while nothing changed
       * gets the snapshot already made. */
      for (guint log = 0; log < self->n_logs; log++)
        if (self->logs[log] != NULL)
          seqs[log] = net_redex_file_get_next_seq (self->logs[log]);
      if (f->snapshot != NULL && memcmp (seqs, f->snapshot_seqs, sizeof seqs) == 0)
        {
          f->snapshot_used = _net_repl_now_us ();
          leader_send_snapshot_info (self, peer, f->snapshot_id, g_bytes_get_size (f->snapshot));
          return TRUE;
        }
      /* The newest one, made lately (for this follower or another),
       * unless nothing changed since. */
      if (self->last_snapshot != NULL &&
          (_net_repl_now_us () - self->last_snapshot_made < SNAPSHOT_MIN_INTERVAL_US ||
           memcmp (seqs, self->last_snapshot_seqs, sizeof seqs) == 0))
        {
          if (f->snapshot != self->last_snapshot)
            {
              g_clear_pointer (&f->snapshot, g_bytes_unref);
              f->snapshot = g_bytes_ref (self->last_snapshot);
              f->snapshot_id = self->last_snapshot_id;
              memcpy (f->snapshot_seqs, self->last_snapshot_seqs, sizeof seqs);
            }
          f->snapshot_used = _net_repl_now_us ();
          leader_send_snapshot_info (self, peer, f->snapshot_id, g_bytes_get_size (f->snapshot));
          return TRUE;
        }

      snapshot = net_db_snapshot (self->db, &error);

      if (snapshot == NULL)
        {
          g_warning ("cannot snapshot the database for a follower: %s", error->message);
          return TRUE;
        }
      g_clear_pointer (&f->snapshot, g_bytes_unref);
      f->snapshot = snapshot;
      if (++self->last_snapshot_id == 0)
        self->last_snapshot_id = 1;
      f->snapshot_id = self->last_snapshot_id;
      f->snapshot_used = _net_repl_now_us ();
      memcpy (f->snapshot_seqs, seqs, sizeof seqs);
      g_clear_pointer (&self->last_snapshot, g_bytes_unref);
      self->last_snapshot = g_bytes_ref (snapshot);
      memcpy (self->last_snapshot_seqs, seqs, sizeof seqs);
      self->last_snapshot_made = _net_repl_now_us ();
      self->counters.snapshots_sent++;
      leader_send_snapshot_info (self, peer, f->snapshot_id, g_bytes_get_size (snapshot));
      return TRUE;
    }

  if (f->snapshot == NULL || f->snapshot_id != id)
    {
      /* Expired or never ours: a total of 0 tells the follower to ask
       * for a new one. */
      leader_send_snapshot_info (self, peer, id, 0);
      return TRUE;
    }

  f->snapshot_used = _net_repl_now_us ();
  data = g_bytes_get_data (f->snapshot, &total);
  if (offset >= total)
    return TRUE;
  length = MIN ((guint64) length, MIN (total - offset, SNAPSHOT_REQUEST_LEN));
  chunk = self->link->max_message - SNAPSHOT_PART_HEADER;
  msg = g_byte_array_new ();
  for (guint64 off = offset; off < offset + length; off += chunk)
    {
      gsize n = MIN (chunk, offset + length - off);

      g_byte_array_set_size (msg, 0);
      w_u8 (msg, NET_REPL_SNAPSHOT_PART);
      w_u32 (msg, id);
      w_u64 (msg, off);
      g_byte_array_append (msg, data + off, n);
      if (!_net_repl_send_message (self, peer, msg))
        break;
    }
  return TRUE;
}

static void
leader_send_ack (NetRepl      *self,
                 gpointer      peer,
                 guint8        log,
                 guint64       app_seq,
                 guint64       digest,
                 guint8        status,
                 guint64       seq,
                 const GError *error)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  const char *text = error ? error->message : "";
  gsize len = strlen (text);

  len = MIN (len, self->link->max_message - ACK_HEADER);
  len = MIN (len, G_MAXUINT16);
  w_u8 (msg, NET_REPL_FORWARD_ACK);
  w_u8 (msg, log);
  w_u64 (msg, app_seq);
  w_u64 (msg, digest);
  w_u8 (msg, status);
  w_u64 (msg, seq);
  w_u32 (msg, error ? (guint32) error->code : 0);
  w_u16 (msg, len);
  g_byte_array_append (msg, (const guint8 *) text, len);
  _net_repl_send_message (self, peer, msg);
}

/* Answers that the event at @seq of @log is held: at once when it is
 * durable, else when the sync that leader_tail() starts is done (see
 * leader_send_durable_acks()). */
static void
leader_ack_when_durable (NetRepl  *self,
                         Follower *f,
                         guint8    log,
                         guint64   app_seq,
                         guint64   digest,
                         guint8    status,
                         guint64   seq)
{
  DurableAck ack = { log, status, app_seq, digest, seq };

  if (seq <= net_redex_file_get_durable_seq (self->logs[log]))
    {
      leader_send_ack (self, f->peer, log, app_seq, digest, status, seq, NULL);
      return;
    }

  g_array_append_val (f->durable_acks, ack);
  _net_repl_sync_start (self, log, 0);
}

static void
leader_send_durable_acks (NetRepl *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->followers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Follower *f = value;

      for (guint i = 0; i < f->durable_acks->len; )
        {
          DurableAck *ack = &g_array_index (f->durable_acks, DurableAck, i);

          if (ack->seq > net_redex_file_get_durable_seq (self->logs[ack->log]))
            {
              i++;
              continue;
            }
          leader_send_ack (self, f->peer, ack->log, ack->app_seq, ack->digest,
                           ack->status, ack->seq, NULL);
          g_array_remove_index (f->durable_acks, i);
        }
    }
}

/* Whether @peer may forward, and (@origin not %NULL) the origin its
 * events must carry: 0 when any will do. */
static gboolean
leader_peer_may_forward (NetRepl  *self,
                         gpointer  peer,
                         guint64  *origin)
{
  guint64 o = 0;
  gboolean may = TRUE;

  if (self->link->peer_may_forward != NULL)
    may = self->link->peer_may_forward (self->link, peer, &o);
  if (origin != NULL)
    *origin = o;
  return may;
}

static void
leader_remember_forward (Follower *f,
                         guint8    log,
                         guint64   origin,
                         guint64   app_seq,
                         guint64   seq,
                         guint64   digest)
{
  Recent *r = &f->recent[f->n_recent++ % FORWARD_RECENT];

  r->log = log;
  r->origin = origin;
  r->app_seq = app_seq;
  r->seq = seq;
  r->digest = digest;
}

/*
 * The event of @origin with @app_seq that @log holds: its seq and digest.
 * What this follower forwarded lately is remembered; anything else (the
 * leader restarted, another connection forwarded it) is looked for from
 * the tail back, at most FORWARD_SEARCH_MAX events.  FALSE when it is not
 * found there: evicted, or too old to be confused with anything in
 * flight.
 */
guint
_net_repl_recent_hash (gconstpointer key)
{
  const Recent *r = key;

  return g_int64_hash (&r->origin) ^ g_int64_hash (&r->app_seq) ^ r->log;
}

gboolean
_net_repl_recent_equal (gconstpointer a,
                        gconstpointer b)
{
  const Recent *x = a, *y = b;

  return x->log == y->log && x->origin == y->origin && x->app_seq == y->app_seq;
}

/* Indexes the events [start, end) of @log. */
static gboolean
leader_index_range (NetRepl *self,
                    guint8   log,
                    guint64  start,
                    guint64  end)
{
  NetRedexFile *file = self->logs[log];

  for (guint64 from = start; from < end; )
    {
      guint64 to = MIN (end, from + FORWARD_SEARCH_CHUNK);
      g_autoptr(GPtrArray) events = net_redex_file_read_range (file, from, to, NULL);

      if (events == NULL)
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          NetRedexEvent *event = g_ptr_array_index (events, i);
          NetEventMeta meta;
          const guint8 *payload;
          gsize payload_len, len;
          const guint8 *data = g_bytes_get_data (net_redex_event_get_payload (event), &len);
          Recent *r;

          if (!net_event_decode (data, len, &meta, &payload, &payload_len, NULL))
            continue;
          r = g_new (Recent, 1);
          *r = (Recent) { log, meta.origin, meta.app_seq,
                          net_redex_event_get_seq (event), _net_repl_forward_digest (data, len) };
          g_hash_table_replace (self->forward_index, r, r);
        }
      from = to;
    }
  return TRUE;
}

/* Makes the index cover the last FORWARD_SEARCH_MAX events of @log, and
 * forgets what fell out of that window (amortized: once it doubled). */
static gboolean
leader_index_update (NetRepl *self,
                     guint8   log)
{
  NetRedexFile *file = self->logs[log];
  guint64 first = net_redex_file_get_first_seq (file);
  guint64 end = net_redex_file_get_next_seq (file);
  guint64 lowest = end > FORWARD_SEARCH_MAX ? MAX (first, end - FORWARD_SEARCH_MAX) : first;
  guint64 lo = self->indexed_lo[log], hi = self->indexed_hi[log];

  /* Nothing usable (first use, or the log restarted under us): afresh. */
  if (hi == 0 || hi > end || hi < lowest || lo < first)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, self->forward_index);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (((Recent *) key)->log == log)
          g_hash_table_iter_remove (&iter);
      lo = hi = lowest;
    }
  if (!leader_index_range (self, log, hi, end))
    return FALSE;
  if (lowest < lo && !leader_index_range (self, log, lowest, lo))
    return FALSE;
  self->indexed_hi[log] = end;
  self->indexed_lo[log] = MIN (lo, lowest);

  if (self->indexed_lo[log] + FORWARD_SEARCH_MAX < lowest)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, self->forward_index);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (((Recent *) key)->log == log && ((Recent *) key)->seq < lowest)
          g_hash_table_iter_remove (&iter);
      self->indexed_lo[log] = lowest;
    }
  return TRUE;
}

/*
 * The event of @origin with @app_seq that @log holds: its seq and digest.
 * What this follower forwarded lately is remembered; anything else (the
 * leader restarted, another connection forwarded it) is looked up in an
 * index of the log's last FORWARD_SEARCH_MAX events, which reads each
 * event once.  FALSE when it is not found there: evicted, or too old to
 * be confused with anything in flight.
 */
static gboolean
leader_find_forwarded (NetRepl  *self,
                       Follower *f,
                       guint8    log,
                       guint64   origin,
                       guint64   app_seq,
                       guint64  *seq,
                       guint64  *digest)
{
  Recent key = { log, origin, app_seq, 0, 0 };
  Recent *found;

  for (guint i = 0; i < MIN (f->n_recent, FORWARD_RECENT); i++)
    {
      Recent *r = &f->recent[i];

      if (r->log == log && r->origin == origin && r->app_seq == app_seq)
        {
          *seq = r->seq;
          *digest = r->digest;
          return TRUE;
        }
    }

  if (!leader_index_update (self, log))
    return FALSE;
  found = g_hash_table_lookup (self->forward_index, &key);
  if (found == NULL)
    return FALSE;
  *seq = found->seq;
  *digest = found->digest;
  leader_remember_forward (f, log, origin, app_seq, *seq, *digest);
  return TRUE;
}

/* Whether the event at @seq of @log, of digest @held_digest, is the
 * forwarded @event (of @digest): the same bytes, or in a collection's log
 * @event as the leader rebased it on its schema (other field numbers). */
static gboolean
leader_holds_forwarded (NetRepl  *self,
                        guint8    log,
                        guint64   seq,
                        guint64   held_digest,
                        guint64   digest,
                        GBytes   *event)
{
  g_autoptr(GPtrArray) events = NULL;

  if (held_digest == digest)
    return TRUE;
  if (!_net_repl_is_collection_log (self->log_names[log], strlen (self->log_names[log])))
    return FALSE;
  events = net_redex_file_read_range (self->logs[log], seq, seq + 1, NULL);
  return events != NULL && events->len == 1 &&
         _net_collection_event_is_rebase (net_redex_event_get_payload (g_ptr_array_index (events, 0)),
                                          event);
}

/*
 * Appends a forwarded event unless it conflicts with what the leader
 * holds of its origin: another event at its app_seq (a FORWARD of an
 * earlier run of the follower that arrived late took it), or, when the
 * follower says which of its events it follows (@prev), another event at
 * app_seq - 1.  A retransmission of an event the leader holds is a
 * duplicate.
 */
static void
leader_append_forward (NetRepl  *self,
                       gpointer  peer,
                       guint8    log,
                       guint64   app_seq,
                       guint64   digest,
                       guint64   prev,
                       GBytes   *event)
{
  g_autoptr(GError) error = NULL;
  Follower *f = get_follower (self, peer);
  NetDbForwardStatus status;
  NetEventMeta meta = { 0 };
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *data = g_bytes_get_data (event, &len);
  guint64 seq = 0, held_seq, held_digest, origin = 0;

  /* A peer writes under its own origin only: another one's would let it
   * take over that origin's numbering, or pass for the leader. */
  if (net_event_decode (data, len, &meta, &payload, &payload_len, NULL) &&
      leader_peer_may_forward (self, peer, &origin) && origin != 0 && meta.origin != origin)
    {
      g_autoptr(GError) e = g_error_new (NET_ERROR, NET_ERROR_AUTH_FAILED,
                                         "a forwarded event of origin %016" G_GINT64_MODIFIER
                                         "x is not this node's own (%016" G_GINT64_MODIFIER "x)",
                                         meta.origin, origin);

      self->counters.forwards_refused++;
      leader_send_ack (self, peer, log, app_seq, digest, ACK_REFUSED, 0, e);
      return;
    }

  /* What does not decode is refused below, with the reason. */
  if (net_event_decode (data, len, &meta, &payload, &payload_len, NULL) &&
      meta.app_seq == app_seq)
    {
      guint64 last = _net_db_get_log_app_seq (self->db, self->log_names[log], meta.origin);

      /* Only what the leader holds is looked for: an event that comes
       * before its predecessor, or an origin's first, costs no search. */
      if (app_seq <= last &&
          leader_find_forwarded (self, f, log, meta.origin, app_seq, &held_seq, &held_digest) &&
          leader_holds_forwarded (self, log, held_seq, held_digest, digest, event))
        {
          leader_ack_when_durable (self, f, log, app_seq, digest, ACK_DUPLICATE, held_seq);
          return;
        }
      if (prev != 0 && app_seq > 1 && app_seq - 1 <= last &&
          leader_find_forwarded (self, f, log, meta.origin, app_seq - 1, &held_seq, &held_digest) &&
          held_digest != prev)
        {
          leader_send_ack (self, peer, log, app_seq, digest, ACK_CONFLICT, last, NULL);
          return;
        }
    }

  if (!_net_db_append_forwarded_to (self->db, self->log_names[log], event, app_seq, &status, &seq,
                                    &error))
    {
      if (error->domain != NET_ERROR)
        {
          g_autoptr(GError) e = g_error_new_literal (NET_ERROR, NET_ERROR_FAILED, error->message);

          leader_send_ack (self, peer, log, app_seq, digest, ACK_REFUSED, 0, e);
        }
      else
        leader_send_ack (self, peer, log, app_seq, digest, ACK_REFUSED, 0, error);
      return;
    }

  switch (status)
    {
    case NET_DB_FORWARD_APPENDED:
      leader_remember_forward (f, log, meta.origin, app_seq, seq, digest);
      leader_ack_when_durable (self, f, log, app_seq, digest, ACK_APPENDED, seq);
      break;
    case NET_DB_FORWARD_DUPLICATE:
      /* Usually answered above; here when the state had not folded the
       * event yet. */
      if (!leader_find_forwarded (self, f, log, meta.origin, app_seq, &held_seq, &held_digest))
        leader_send_ack (self, peer, log, app_seq, digest, ACK_DUPLICATE, 0, NULL);
      else if (leader_holds_forwarded (self, log, held_seq, held_digest, digest, event))
        leader_ack_when_durable (self, f, log, app_seq, digest, ACK_DUPLICATE, held_seq);
      else
        leader_send_ack (self, peer, log, app_seq, digest, ACK_CONFLICT,
                         _net_db_get_log_app_seq (self->db, self->log_names[log], meta.origin),
                         NULL);
      break;
    case NET_DB_FORWARD_OUT_OF_ORDER:
      leader_send_ack (self, peer, log, app_seq, digest, ACK_OUT_OF_ORDER, 0, NULL);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
leader_on_forward (NetRepl       *self,
                   gpointer       peer,
                   NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 app_seq = r_u64 (r);
  guint64 digest = r_u64 (r);
  guint64 prev = r_u64 (r);
  guint32 total = r_u32 (r);
  guint32 offset = r_u32 (r);
  gsize n = _net_repl_reader_left (r);
  const guint8 *bytes = _net_repl_reader_take (r, n);
  Follower *f;
  NetReplParts *fp;

  if (!_net_repl_reader_done (r) || app_seq == 0 || digest == 0 || n == 0 ||
      total < NET_EVENT_META_SIZE || total > EVENT_MAX_BYTES ||
      offset > total || n > total - offset)
    return FALSE;

  if (!leader_peer_may_forward (self, peer, NULL))
    {
      g_autoptr(GError) e = g_error_new_literal (NET_ERROR, NET_ERROR_READ_ONLY,
                                                 "the leader admits this node as a reader: "
                                                 "it may follow but not write (admit it as a "
                                                 "writer, netdb node serve --allow-writer KEY)");

      self->counters.forwards_refused++;
      leader_send_ack (self, peer, log, app_seq, digest, ACK_REFUSED, 0, e);
      return TRUE;
    }

  if (log >= self->n_logs || self->logs[log] == NULL)
    {
      g_autoptr(GError) e = g_error_new (NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                                         "the leader has no log %u", log);

      leader_send_ack (self, peer, log, app_seq, digest, ACK_REFUSED, 0, e);
      return TRUE;
    }

  /* The common case: the whole event in one message. */
  if (offset == 0 && n == total)
    {
      g_autoptr(GBytes) event = NULL;

      if (_net_repl_forward_digest (bytes, n) != digest)
        return FALSE;
      event = g_bytes_new (bytes, n);
      leader_append_forward (self, peer, log, app_seq, digest, prev, event);
      return TRUE;
    }

  f = get_follower (self, peer);
  fp = _net_repl_parts_find (f->forwards, log, app_seq);
  if (fp != NULL && fp->tag != digest)
    {
      /* Another event with that app_seq: the latest to arrive wins (the
       * other is sent again if its sender still wants it). */
      g_ptr_array_remove_fast (f->forwards, fp);
      fp = NULL;
    }
  if (fp != NULL && fp->total != total)
    return FALSE;
  if (fp == NULL)
    {
      /* Bounded: the oldest reassembly gives way. */
      if (f->forwards->len >= FORWARD_PARTS_MAX)
        {
          guint oldest = 0;

          for (guint i = 1; i < f->forwards->len; i++)
            if (((NetReplParts *) g_ptr_array_index (f->forwards, i))->touched <
                ((NetReplParts *) g_ptr_array_index (f->forwards, oldest))->touched)
              oldest = i;
          g_ptr_array_remove_index_fast (f->forwards, oldest);
        }
      fp = _net_repl_parts_new (log, app_seq, digest, total);
      g_ptr_array_add (f->forwards, fp);
    }

  fp->touched = _net_repl_now_us ();
  if (_net_repl_parts_add (fp, offset, bytes, n))
    {
      g_autoptr(GBytes) event = _net_repl_parts_free_to_bytes (_net_repl_parts_take (f->forwards, fp));
      gsize len;
      const guint8 *data = g_bytes_get_data (event, &len);

      /* NetReplParts of another event under the same digest: not what was sent. */
      if (_net_repl_forward_digest (data, len) != digest)
        return FALSE;
      leader_append_forward (self, peer, log, app_seq, digest, prev, event);
    }
  return TRUE;
}

/* One LOGS entry into @msg, sent first when it does not fit. */
static void
leader_logs_add (NetRepl     *self,
                 gpointer     peer,
                 GByteArray  *msg,
                 guint       *count,
                 guint8       log,
                 guint8       status,
                 const char  *name,
                 gsize        len)
{
  g_assert (len <= LOG_NAME_MAX);
  if (*count > 0 && msg->len + LOGS_ENTRY_HEADER + len > self->link->max_message)
    {
      msg->data[1] = *count;
      _net_repl_send_message (self, peer, msg);
      *count = 0;
    }
  if (*count == 0)
    {
      g_byte_array_set_size (msg, 0);
      w_u8 (msg, NET_REPL_LOGS);
      w_u8 (msg, 0);
    }
  w_u8 (msg, log);
  w_u8 (msg, status);
  w_u8 (msg, len);
  g_byte_array_append (msg, (const guint8 *) name, len);
  (*count)++;
}

/* A log a follower asks for by name, to forward to it: ours, or created
 * for a writer (an empty collection, opened untyped).  Its number, or -1
 * with the LOGS status that says why not. */
static int
leader_log_for_name (NetRepl    *self,
                     gpointer    peer,
                     const char *name,
                     guint8     *status)
{
  g_autoptr(GError) error = NULL;
  int log = _net_repl_find_log (self, name);

  if (log >= 0)
    return log;
  if (!leader_peer_may_forward (self, peer, NULL))
    {
      self->counters.forwards_refused++;
      *status = LOGS_READ_ONLY;
      return -1;
    }
  *status = LOGS_UNAVAILABLE;
  if (self->n_logs >= MAX_LOGS)
    return -1;
  if (_net_db_open_log (self->db, name, &error) == NULL)
    {
      g_warning ("replication: cannot create the %s log a follower forwards to: %s",
                 name, error->message);
      return -1;
    }
  _net_repl_leader_refresh_logs (self);
  return _net_repl_find_log (self, name);
}

static gboolean
leader_on_logs_request (NetRepl       *self,
                        gpointer       peer,
                        NetReplReader *r)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  guint n = r_u8 (r);
  const guint8 *logs = _net_repl_reader_take (r, n);
  guint m = r_u8 (r);
  struct { guint8 len; const guint8 *name; } names[256];
  guint count = 0;

  for (guint i = 0; i < m; i++)
    {
      names[i].len = r_u8 (r);
      names[i].name = _net_repl_reader_take (r, names[i].len);
    }
  if (!_net_repl_reader_done (r) || n + m == 0)
    return FALSE;
  for (guint i = 0; i < m; i++)
    if (!_net_repl_is_collection_log ((const char *) names[i].name, names[i].len))
      return FALSE;

  /* A collection opened since we last looked may be one of them. */
  _net_repl_leader_refresh_logs (self);

  for (guint i = 0; i < n; i++)
    {
      guint8 log = logs[i];

      if (log < NET_DB_N_LOGS || log >= self->n_logs || self->logs[log] == NULL)
        continue;
      leader_logs_add (self, peer, msg, &count, log, LOGS_NUMBERED, self->log_names[log],
                       strlen (self->log_names[log]));
    }
  for (guint i = 0; i < m; i++)
    {
      g_autofree char *name = g_strndup ((const char *) names[i].name, names[i].len);
      guint8 status = LOGS_NUMBERED;
      int log = leader_log_for_name (self, peer, name, &status);

      leader_logs_add (self, peer, msg, &count, log >= 0 ? log : 0, status, name, names[i].len);
    }
  if (count > 0)
    {
      msg->data[1] = count;
      _net_repl_send_message (self, peer, msg);
    }
  return TRUE;
}

gboolean
_net_repl_leader_receive (NetRepl      *self,
                          gpointer      peer,
                          const guint8 *message,
                          gsize         len)
{
  NetReplReader r;

  _net_repl_reader_init (&r, message + 1, len - 1);

  switch (message[0])
    {
    case NET_REPL_SUBSCRIBE:
      return leader_on_subscribe (self, peer, &r);
    case NET_REPL_PULL:
      return leader_on_pull (self, peer, &r);
    case NET_REPL_SNAPSHOT_REQUEST:
      return leader_on_snapshot_request (self, peer, &r);
    case NET_REPL_FORWARD:
      return leader_on_forward (self, peer, &r);
    case NET_REPL_LOGS_REQUEST:
      return leader_on_logs_request (self, peer, &r);
    default:
      return FALSE;
    }
}

gboolean
_net_repl_leader_heartbeat_cb (gpointer data)
{
  NetRepl *self = data;
  GHashTableIter iter;
  gpointer value;
  gint64 now = _net_repl_now_us ();

  leader_announce_all (self, TRUE);

  /* Forget what followers no longer use. */
  g_hash_table_iter_init (&iter, self->followers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Follower *f = value;

      if (f->snapshot != NULL && now - f->snapshot_used > SNAPSHOT_KEEP_US)
        g_clear_pointer (&f->snapshot, g_bytes_unref);
      for (guint i = f->forwards->len; i > 0; i--)
        if (now - ((NetReplParts *) g_ptr_array_index (f->forwards, i - 1))->touched >
            (gint64) self->forward_timeout_ms * 1000)
          g_ptr_array_remove_index_fast (f->forwards, i - 1);
    }
  if (self->last_snapshot != NULL && now - self->last_snapshot_made > SNAPSHOT_KEEP_US)
    g_clear_pointer (&self->last_snapshot, g_bytes_unref);

  return G_SOURCE_CONTINUE;
}

void
_net_repl_leader_sync_done (NetRepl *self,
                            SyncJob *job)
{
  if (!job->ok)
    {
      /* A closed db (its owner is shutting down) is no news. */
      if (!g_error_matches (job->error, NET_ERROR, NET_ERROR_CLOSED))
        g_warning ("replication: cannot sync the %s log: %s",
                   net_redex_file_get_name (job->file), job->error->message);
      return;
    }
  /* New durable events: answer their forwarders, announce them (and sync
   * what came meanwhile). */
  leader_send_durable_acks (self);
  leader_announce_all (self, FALSE);
}
