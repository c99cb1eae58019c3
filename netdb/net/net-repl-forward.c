/* net-repl-forward.c: a follower forwards its local mutations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * docs/net-protocol.md, section 4.  A follower that forwards writes
 * queues each local mutation, sends it to the leader as a FORWARD,
 * FORWARD_WINDOW at once, and settles it on the leader's FORWARD_ACK.
 * Moved out of net-repl.c as is.
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

/* Forwarding --------------------------------------------------------------- */

/* The queued event, encoded again with its app_seq, under @origin. */
static GBytes *
encode_with_app_seq (GBytes  *event,
                     guint64  origin,
                     guint64  app_seq)
{
  NetEventMeta meta;
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *data = g_bytes_get_data (event, &len);

  if (!net_event_decode (data, len, &meta, &payload, &payload_len, NULL))
    g_assert_not_reached ();   /* we encoded it */
  meta.origin = origin;
  meta.app_seq = app_seq;
  return net_event_encode (&meta, payload, payload_len);
}

static void
follower_send_forward (NetRepl *self,
                       Forward *fw)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  gsize len, chunk = self->link->max_message - FORWARD_HEADER;
  const guint8 *data = g_bytes_get_data (fw->event, &len);

  for (gsize off = 0; off < len; off += chunk)
    {
      gsize n = MIN (chunk, len - off);

      g_byte_array_set_size (msg, 0);
      w_u8 (msg, NET_REPL_FORWARD);
      w_u8 (msg, self->follow[fw->log]->wire);
      w_u64 (msg, fw->app_seq);
      w_u64 (msg, fw->digest);
      w_u64 (msg, fw->prev);
      w_u32 (msg, len);
      w_u32 (msg, off);
      g_byte_array_append (msg, data + off, n);
      if (!_net_repl_send_message (self, self->leader_peer, msg))
        break;
    }
  self->counters.forwards_sent++;
}

/* The digest of our queued event that has app_seq @app_seq in @log, or 0:
 * an event follows it only while the leader may not have it yet. */
static guint64
follower_queued_digest (NetRepl  *self,
                        guint     log,
                        guint64   app_seq)
{
  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    {
      Forward *o = l->data;

      if (o->log == log && o->app_seq == app_seq && app_seq != 0)
        return o->digest;
    }
  return 0;
}

/* Asks the leader to number the logs of ours that queued forwards wait
 * for (collections it may not have yet), each at most once per pull
 * timeout: LOGS_REQUEST by name, in as many messages as they need. */
static void
follower_ask_names (NetRepl *self)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();
  gint64 now = _net_repl_now_us ();
  guint count = 0;
  gboolean wanted[MAX_LOGS] = { FALSE };

  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    wanted[((Forward *) l->data)->log] = TRUE;

  for (guint log = 0; log <= self->n_logs; log++)
    {
      FollowLog *fl = log < self->n_logs ? self->follow[log] : NULL;
      gsize len = fl != NULL ? strlen (self->log_names[log]) : 0;

      if (count > 0 && (fl == NULL || msg->len + 1 + len > self->link->max_message))
        {
          msg->data[2] = count;
          _net_repl_send_message (self, self->leader_peer, msg);
          count = 0;
        }
      if (fl == NULL)
        break;
      if (!wanted[log] || fl->wire >= 0 ||
          !_net_repl_is_collection_log (self->log_names[log], len) ||
          (fl->name_asked != 0 && now - fl->name_asked < (gint64) self->pull_timeout_ms * 1000))
        continue;
      fl->name_asked = now;
      if (count == 0)
        {
          g_byte_array_set_size (msg, 0);
          w_u8 (msg, NET_REPL_LOGS_REQUEST);
          w_u8 (msg, 0);   /* no numbers */
          w_u8 (msg, 0);
        }
      w_u8 (msg, len);
      g_byte_array_append (msg, (const guint8 *) self->log_names[log], len);
      count++;
    }
}

void
_net_repl_follower_fail_forwards (NetRepl      *self,
                                  guint         log,
                                  const GError *error)
{
  GList *l = self->forwards.head;
  guint failed = 0;

  while (l != NULL)
    {
      GList *next = l->next;
      Forward *fw = l->data;

      if (fw->log == log)
        {
          g_queue_delete_link (&self->forwards, l);
          _net_repl_forward_free (fw);
          failed++;
        }
      l = next;
    }
  /* Emitted once the queue is no longer walked: a handler may mutate. */
  for (guint i = 0; i < failed; i++)
    {
      self->counters.forwards_failed++;
      _net_db_emit_forward_failed (self->db, error);
    }
}

/* Sends the queued events in order, FORWARD_WINDOW at once: the first send
 * of each assigns its app_seq, retransmits keep it. */
void
_net_repl_follower_pump (NetRepl *self)
{
  gint64 now = _net_repl_now_us ();
  gint64 base = (gint64) self->pull_timeout_ms * 1000;
  gint64 retransmit = MIN (base << self->forward_backoff,
                           MAX (base, (gint64) self->forward_timeout_ms * 1000 / 4));
  gboolean in_flight[MAX_LOGS] = { FALSE };
  gboolean silent = FALSE;
  gboolean unnumbered = FALSE;
  guint i = 0;

  if (!self->leader_up || !self->session_announced || self->diverged)
    return;

  for (GList *l = self->forwards.head; l != NULL && i < FORWARD_WINDOW; l = l->next, i++)
    {
      Forward *fw = l->data;

      /* Sent once the leader numbered its log for us (asked below). */
      if (self->follow[fw->log]->wire < 0)
        {
          unnumbered = TRUE;
          continue;
        }

      if (fw->app_seq == 0)
        {
          FollowLog *fl = self->follow[fw->log];
          GBytes *encoded;

          /* After a conflict, an earlier event still unanswered may be in
           * conflict too: it must get the lower new app_seq. */
          if (fl->conflicted && in_flight[fw->log])
            continue;
          fl->conflicted = FALSE;

          fl->own_app_seq = MAX (fl->own_app_seq,
                                 _net_db_get_log_app_seq (self->db, self->log_names[fw->log],
                                                          _net_repl_follower_origin (self)));
          fw->app_seq = MAX (fl->own_app_seq, fl->leader_app_seq) + 1;
          fl->own_app_seq = fw->app_seq;
          encoded = encode_with_app_seq (fw->event, _net_repl_follower_origin (self), fw->app_seq);
          g_bytes_unref (fw->event);
          fw->event = encoded;
          fw->digest = _net_repl_forward_digest (g_bytes_get_data (encoded, NULL),
                                       g_bytes_get_size (encoded));
          fw->prev = follower_queued_digest (self, fw->log, fw->app_seq - 1);
        }
      in_flight[fw->log] = TRUE;
      if (fw->last_sent != 0 && now - fw->last_sent < retransmit)
        continue;
      /* A retransmission with nothing heard since the last send: back
       * off (hearing the leader again resets it). */
      if (fw->last_sent != 0 && self->leader_heard < fw->last_sent)
        silent = TRUE;
      fw->last_sent = now;
      follower_send_forward (self, fw);
    }
  if (silent && self->forward_backoff < FORWARD_BACKOFF_MAX)
    self->forward_backoff++;
  if (unnumbered)
    follower_ask_names (self);
}

static gboolean
pump_cb (gpointer data)
{
  NetRepl *self = data;

  g_clear_pointer (&self->pump_source, g_source_unref);
  _net_repl_follower_pump (self);
  return G_SOURCE_REMOVE;
}

static void
follower_schedule_pump (NetRepl *self)
{
  if (self->pump_source != NULL)
    return;
  self->pump_source = g_idle_source_new ();
  g_source_set_callback (self->pump_source, pump_cb, self, NULL);
  g_source_set_static_name (self->pump_source, "[netdb] replication forward");
  g_source_attach (self->pump_source, self->context);
}

void
_net_repl_forward_cb (const char *name,
                      GBytes     *event,
                      gpointer    user_data)
{
  NetRepl *self = user_data;
  int log = _net_repl_find_log (self, name);
  Forward *fw;

  /* A collection of ours the leader did not number yet. */
  if (log < 0)
    {
      g_autoptr(GError) error = NULL;
      NetRedexFile *file = _net_db_open_log (self->db, name, &error);

      if (file != NULL)
        log = _net_repl_follower_add_log (self, name, file);
      if (log < 0)
        {
          if (error == NULL)
            error = g_error_new (NET_ERROR, NET_ERROR_FAILED,
                                 "cannot forward a change of the %s log: more than %u logs",
                                 name, MAX_LOGS);
          self->counters.forwards_failed++;
          _net_db_emit_forward_failed (self->db, error);
          return;
        }
    }

  if (self->forwards.length >= FORWARD_QUEUE_MAX)
    {
      g_autoptr(GError) error = g_error_new (NET_ERROR, NET_ERROR_FAILED,
                                             "%u mutations already wait for the leader",
                                             FORWARD_QUEUE_MAX);

      self->counters.forwards_failed++;
      _net_db_emit_forward_failed (self->db, error);
      return;
    }

  fw = g_new0 (Forward, 1);
  fw->log = log;
  fw->event = g_bytes_ref (event);
  fw->queued = _net_repl_now_us ();
  g_queue_push_tail (&self->forwards, fw);
  follower_schedule_pump (self);
}

/* The queued events of @log from @app_seq on are numbered again when next
 * sent: the leader appended none of them (each was refused, in conflict
 * or out of order, as what it follows was not appended). */
static void
follower_renumber (NetRepl  *self,
                   guint     log,
                   guint64   app_seq)
{
  self->follow[log]->own_app_seq = app_seq - 1;
  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    {
      Forward *o = l->data;

      if (o->log == log && o->app_seq >= app_seq)
        {
          o->app_seq = 0;
          o->digest = 0;
          o->prev = 0;
          o->last_sent = 0;
        }
    }
}

gboolean
_net_repl_follower_on_forward_ack (NetRepl       *self,
                                   NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 app_seq = r_u64 (r);
  guint64 digest = r_u64 (r);
  guint8 status = r_u8 (r);
  guint64 seq = r_u64 (r);
  guint32 code = r_u32 (r);
  guint16 len = r_u16 (r);
  const guint8 *text = _net_repl_reader_take (r, len);
  Forward *fw = NULL;
  GList *l;

  if (!_net_repl_reader_done (r) || app_seq == 0 || digest == 0 || status > ACK_CONFLICT)
    return FALSE;
  if (self->wire_log[log] < 0)
    return TRUE;   /* not a log of ours this session */
  log = self->wire_log[log];

  /* The answer about that very event: another one with its app_seq (one
   * an earlier run of ours sent) is not it. */
  for (l = self->forwards.head; l != NULL; l = l->next)
    {
      Forward *o = l->data;

      if (o->log == log && o->app_seq == app_seq && o->digest == digest)
        {
          fw = o;
          break;
        }
    }
  if (fw == NULL)
    return TRUE;   /* acknowledged before, or not ours */

  switch (status)
    {
    case ACK_APPENDED:
    case ACK_DUPLICATE:
      g_queue_delete_link (&self->forwards, l);
      _net_repl_forward_free (fw);
      self->counters.forwards_acked++;
      _net_repl_follower_pump (self);
      break;

    case ACK_OUT_OF_ORDER:
      /* An earlier one got lost: send everything in flight again, from
       * the oldest (once for the burst of answers this causes). */
      if (_net_repl_now_us () - self->last_resend >= (gint64) self->pull_timeout_ms * 250)
        {
          self->last_resend = _net_repl_now_us ();
          for (l = self->forwards.head; l != NULL; l = l->next)
            ((Forward *) l->data)->last_sent = 0;
          _net_repl_follower_pump (self);
        }
      break;

    case ACK_REFUSED:
      {
        g_autofree char *message = g_utf8_make_valid ((const char *) text, len);
        g_autoptr(GError) error = NULL;

        if (code == 0 || code > NET_ERROR_PROTOCOL)
          code = NET_ERROR_FAILED;
        error = g_error_new (NET_ERROR, code, "the leader refused a forwarded change: %s", message);

        g_queue_delete_link (&self->forwards, l);
        /* Its app_seq is free again. */
        follower_renumber (self, log, app_seq);
        _net_repl_forward_free (fw);
        self->counters.forwards_failed++;
        _net_db_emit_forward_failed (self->db, error);
        _net_repl_follower_pump (self);
      }
      break;

    case ACK_CONFLICT:
      /* The leader holds another event of ours at that app_seq, or
       * before it: one an earlier run of ours forwarded and that arrived
       * late.  Not lost, not applied twice: sent again after what the
       * leader holds (@seq is its last app_seq of our origin). */
      self->follow[log]->leader_app_seq = MAX (self->follow[log]->leader_app_seq, seq);
      self->follow[log]->conflicted = TRUE;
      follower_renumber (self, log, app_seq);
      _net_repl_follower_pump (self);
      break;

    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

/* A queued event is reported once when the leader could not be reached
 * for the forward timeout while it waited: nothing came from the leader
 * since it was made and for that long.  An event that waits behind
 * others, or whose FORWARDs or answers get lost while the leader is heard
 * from, is no failure: it is sent again until it is answered. */
void
_net_repl_follower_check_forward_timeouts (NetRepl *self)
{
  gint64 now = _net_repl_now_us ();
  gint64 timeout = (gint64) self->forward_timeout_ms * 1000;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);

  for (GList *l = self->forwards.head; l != NULL; l = l->next)
    {
      Forward *fw = l->data;

      if (!fw->reported && now - MAX (fw->queued, self->leader_heard) >= timeout)
        {
          fw->reported = TRUE;
          self->counters.forwards_failed++;
          g_ptr_array_add (errors,
                           g_error_new (NET_ERROR, NET_ERROR_TIMEOUT,
                                        "the leader could not be reached for %u ms; "
                                        "a forwarded change stays queued and is sent again",
                                        self->forward_timeout_ms));
        }
    }

  /* Emitted once the queue is no longer walked: a handler may mutate. */
  for (guint i = 0; i < errors->len; i++)
    _net_db_emit_forward_failed (self->db, g_ptr_array_index (errors, i));
}
