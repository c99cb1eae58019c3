/* net-repl-snapshot.c: a follower re-bootstraps from a snapshot
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * docs/net-protocol.md, section 4.  A follower the leader can no longer
 * serve from its log (GONE, DIVERGED) asks for a snapshot in parts
 * (SNAPSHOT_REQUEST, SNAPSHOT_INFO, SNAPSHOT_PART), SNAPSHOT_WINDOW at
 * once, and opens its db from it.  Moved out of net-repl.c as is.
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

void
_net_repl_snapshot_reset (NetRepl *self)
{
  self->snap_id = 0;
  self->snap_asked = 0;
  self->snap_total = 0;
  g_clear_pointer (&self->snap, _net_repl_parts_free);
  memset (self->snap_reqs, 0, sizeof self->snap_reqs);
  memset (self->snap_req_sent, 0, sizeof self->snap_req_sent);
}

static void
follower_send_snapshot_request (NetRepl *self,
                                guint32  id,
                                guint64  offset,
                                guint32  length)
{
  g_autoptr(GByteArray) msg = g_byte_array_new ();

  w_u8 (msg, NET_REPL_SNAPSHOT_REQUEST);
  w_u32 (msg, id);
  w_u64 (msg, offset);
  w_u32 (msg, length);
  _net_repl_send_message (self, self->leader_peer, msg);
}

/* Keeps SNAPSHOT_WINDOW requests in flight for what is missing. */
void
_net_repl_follower_snapshot_step (NetRepl *self)
{
  gint64 now = _net_repl_now_us ();
  gint64 timeout = (gint64) self->pull_timeout_ms * 1000;
  guint64 from = 0;

  if (!self->snapshotting || !self->leader_up)
    return;

  if (self->snap_id == 0)
    {
      /* Making a snapshot takes the leader a while: ask again slowly. */
      if (self->snap_asked == 0 || now - self->snap_asked >= (gint64) self->heartbeat_ms * 1000)
        {
          self->snap_asked = now;
          follower_send_snapshot_request (self, 0, 0, 0);
        }
      return;
    }

  for (guint i = 0; i < SNAPSHOT_WINDOW; i++)
    {
      NetReplSpan *q = &self->snap_reqs[i];

      /* Done when covered; timed out: asked again below. */
      if (q->end > q->start && _net_repl_parts_next_gap (self->snap, q->start) >= q->end)
        q->start = q->end = 0;
      if (q->end > q->start && now - self->snap_req_sent[i] >= timeout)
        {
          guint64 gap = _net_repl_parts_next_gap (self->snap, q->start);

          q->start = gap;
          self->snap_req_sent[i] = now;
          follower_send_snapshot_request (self, self->snap_id, q->start, q->end - q->start);
        }
      from = MAX (from, q->end);
    }

  for (guint i = 0; i < SNAPSHOT_WINDOW; i++)
    {
      NetReplSpan *q = &self->snap_reqs[i];

      if (q->end > q->start)
        continue;
      from = _net_repl_parts_next_gap (self->snap, from);
      if (from >= self->snap_total)
        break;
      q->start = from;
      q->end = MIN (from + SNAPSHOT_REQUEST_LEN, self->snap_total);
      self->snap_req_sent[i] = now;
      follower_send_snapshot_request (self, self->snap_id, q->start, q->end - q->start);
      from = q->end;
    }
}

void
_net_repl_follower_clear_pulls (NetRepl *self)
{
  for (guint log = 0; log < self->n_logs; log++)
    {
      FollowLog *fl = self->follow[log];

      fl->n_pulls = 0;
      if (fl->pending != NULL)
        g_hash_table_remove_all (fl->pending);
      fl->pending_bytes = 0;
      if (fl->fragments != NULL)
        g_ptr_array_set_size (fl->fragments, 0);
      if (fl->batch != NULL)
        {
          g_ptr_array_set_size (fl->batch, 0);
          g_array_set_size (fl->batch_stamps, 0);
        }
    }
}

static void
follower_start_snapshot (NetRepl *self)
{
  if (self->snapshotting)
    return;
  self->snapshotting = TRUE;
  _net_repl_snapshot_reset (self);
  _net_repl_follower_clear_pulls (self);
  _net_repl_follower_snapshot_step (self);
}

static void
follower_finish_snapshot (NetRepl *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snapshot = _net_repl_parts_free_to_bytes (g_steal_pointer (&self->snap));

  self->snapshotting = FALSE;
  _net_repl_snapshot_reset (self);
  _net_repl_follower_clear_pulls (self);

  if (!_net_db_rebootstrap (self->db, snapshot, &error))
    {
      if (g_error_matches (error, NET_ERROR, NET_ERROR_CLOSED))
        return;
      g_warning ("replication: cannot re-bootstrap from the leader's snapshot: %s",
                 error->message);
      return;
    }

  self->counters.snapshots_restored++;
  for (guint log = 0; log < self->n_logs; log++)
    if (self->follow[log]->file != NULL)
      _net_repl_follower_load_hash (self, log);

  _net_repl_follower_send_subscribe (self);
  for (guint log = 0; log < self->n_logs; log++)
    _net_repl_follower_fill_pulls (self, log);
}

gboolean
_net_repl_follower_on_gone (NetRepl       *self,
                            NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 from = r_u64 (r);
  guint64 first = r_u64 (r);
  FollowLog *fl;

  if (!_net_repl_reader_done (r) || from == 0 || first <= from)
    return FALSE;

  if (self->wire_log[log] < 0)
    return TRUE;
  fl = self->follow[self->wire_log[log]];
  fl->received = TRUE;
  /* A late answer to a PULL of before the last re-bootstrap is stale. */
  if (fl->file == NULL || self->diverged || net_redex_file_get_next_seq (fl->file) >= first)
    return TRUE;

  fl->leader_first = MAX (fl->leader_first, first);
  follower_start_snapshot (self);
  return TRUE;
}

gboolean
_net_repl_follower_on_diverged (NetRepl       *self,
                                NetReplReader *r)
{
  guint8 log = r_u8 (r);
  guint64 seq = r_u64 (r);
  g_autoptr(GError) error = NULL;

  if (!_net_repl_reader_done (r))
    return FALSE;
  if (self->wire_log[log] < 0)
    return TRUE;
  log = self->wire_log[log];
  if (self->follow[log]->file == NULL || self->diverged)
    return TRUE;

  /* Two histories are never mixed: stop. */
  error = g_error_new (NET_ERROR, NET_ERROR_SEQ_MISMATCH,
                       "the %s log of database %s diverged from its leader at seq %"
                       G_GUINT64_FORMAT "; replication stopped",
                       net_redex_file_get_name (self->follow[log]->file),
                       net_db_get_path (self->db), seq);
  _net_repl_follower_stop (self, error);
  return TRUE;
}

gboolean
_net_repl_follower_on_snapshot_info (NetRepl       *self,
                                     NetReplReader *r)
{
  guint32 id = r_u32 (r);
  guint64 total = r_u64 (r);

  if (!_net_repl_reader_done (r) || id == 0)
    return FALSE;
  if (!self->snapshotting)
    return TRUE;

  if (total == 0)
    {
      /* The leader forgot it: ask for a new one. */
      if (id == self->snap_id)
        {
          _net_repl_snapshot_reset (self);
          _net_repl_follower_snapshot_step (self);
        }
      return TRUE;
    }

  if (self->snap_id != 0 || total > SNAPSHOT_MAX_BYTES)
    return TRUE;   /* a late answer, or more than we take */

  self->snap_id = id;
  self->snap_total = total;
  self->snap = _net_repl_parts_new (0, id, 0, total);
  _net_repl_follower_snapshot_step (self);
  return TRUE;
}

gboolean
_net_repl_follower_on_snapshot_part (NetRepl       *self,
                                     NetReplReader *r)
{
  guint32 id = r_u32 (r);
  guint64 offset = r_u64 (r);
  gsize n = _net_repl_reader_left (r);
  const guint8 *bytes = _net_repl_reader_take (r, n);

  if (!_net_repl_reader_done (r) || id == 0 || n == 0)
    return FALSE;
  if (!self->snapshotting || id != self->snap_id)
    return TRUE;
  if (offset > self->snap_total || n > self->snap_total - offset)
    return FALSE;

  if (_net_repl_parts_add (self->snap, offset, bytes, n))
    follower_finish_snapshot (self);
  else
    _net_repl_follower_snapshot_step (self);
  return TRUE;
}
