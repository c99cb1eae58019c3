/* net-follow.c: a model's log as a leader or a follower writes it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-follow-private.h"
#include "net-redex-private.h"

void
_net_follow_init (NetFollow            *self,
                  const NetFollowFuncs *funcs,
                  gpointer              model,
                  const char           *what,
                  guint                 log,
                  NetRedexFile         *file,
                  NetFold              *fold,
                  NetOrigins           *origins)
{
  *self = (NetFollow) {
    .funcs = funcs,
    .model = model,
    .what = what,
    .log = log,
    .file = file,
    .fold = fold,
    .origins = origins,
    .scratch = g_byte_array_new (),
  };
}

/* From the model's dispose: the file and fold go with it. */
void
_net_follow_clear (NetFollow *self)
{
  self->file = NULL;
  self->fold = NULL;
  g_clear_pointer (&self->scratch, g_byte_array_unref);
}

/* Mutations ------------------------------------------------------------------ */

gboolean
_net_follow_check_mutation (NetFollow  *self,
                            GError    **error)
{
  if (self->following && self->forward == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY,
                   "the %s model follows a leader: make changes on the leader, "
                   "or follow it with write forwarding", self->what);
      return FALSE;
    }
  return TRUE;
}

GByteArray *
_net_follow_begin_append (NetFollow *self)
{
  g_mutex_lock (&self->origins->lock);
  /* The event's header goes first, sealed by _net_follow_end_append().
   * (Shrinking the length is all a used scratch needs.) */
  if (self->scratch->len >= NET_EVENT_META_SIZE)
    self->scratch->len = NET_EVENT_META_SIZE;
  else
    g_byte_array_set_size (self->scratch, NET_EVENT_META_SIZE);
  return self->scratch;
}

/* Events up to this size are folded from a copy on the stack. */
#define LOCAL_EVENT_MAX 512

guint64
_net_follow_end_append (NetFollow  *self,
                        guint8      dispatch,
                        GError    **error)
{
  guint8 local[LOCAL_EVENT_MAX];
  g_autofree guint8 *copy = NULL;
  NetEventMeta meta = { 0 };
  const guint8 *event;
  gsize len = self->scratch->len;
  guint64 seq;
  gboolean ok;

  meta.dispatch = dispatch;
  meta.origin = self->origins->own;

  if (self->following)
    {
      g_autoptr(GBytes) forwarded = NULL;

      /* The forwarder assigns the app_seq when it first sends it. */
      meta.app_seq = 0;
      forwarded = net_event_encode (&meta, self->scratch->data + NET_EVENT_META_SIZE,
                                    len - NET_EVENT_META_SIZE);
      g_mutex_unlock (&self->origins->lock);
      self->forward (self->log, forwarded, self->forward_data);
      return 0;
    }

  meta.app_seq = self->origins->next_app_seq;
  net_event_seal (self->scratch->data, len, &meta);

  seq = _net_redex_file_append_data (self->file, self->scratch->data, len, error);
  if (seq != 0)
    self->origins->next_app_seq++;

  /* The scratch is the next mutation's once the lock is released. */
  if (seq != 0)
    {
      if (len <= sizeof local)
        event = memcpy (local, self->scratch->data, len);
      else
        event = copy = g_memdup2 (self->scratch->data, len);
    }
  if (self->scratch->len > 64 * 1024)
    {
      g_byte_array_unref (self->scratch);
      self->scratch = g_byte_array_new ();
    }

  g_mutex_unlock (&self->origins->lock);

  if (seq == 0)
    return 0;

  ok = _net_fold_apply_sealed (self->fold, seq, event, len, error);

  return ok ? seq : 0;
}

/* Restores ------------------------------------------------------------------- */

gboolean
_net_follow_check_restore (NetFollow  *self,
                           GError    **error)
{
  if (self->following && !self->restoring)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY,
                   "the %s model follows a leader: its state comes from the leader",
                   self->what);
      return FALSE;
    }
  return TRUE;
}

NetFoldRestart
_net_follow_restart (NetFollow *self)
{
  guint64 delivered = _net_fold_get_delivered_seq (self->fold);

  if (self->restart_func == NULL)
    return NET_FOLD_RESTART_IGNORED;
  if (!self->restart_func (self->model, self->restart_data))
    return NET_FOLD_RESTART_LATER;

  /* The writer re-bootstrapped: as there, ::changed reports the events
   * the restored state moved on by. */
  if (self->fold != NULL)
    _net_fold_deliver_since (self->fold, delivered);
  return NET_FOLD_RESTART_RESTORED;
}

void
_net_follow_set_restart_func (NetFollow            *self,
                              NetFollowRestartFunc  func,
                              gpointer              user_data)
{
  self->restart_func = func;
  self->restart_data = user_data;
}

/* Replication ---------------------------------------------------------------- */

void
_net_follow_set_following (NetFollow            *self,
                           gboolean              following,
                           NetFollowForwardFunc  forward,
                           gpointer              forward_data)
{
  self->following = !!following;
  self->forward = following ? forward : NULL;
  self->forward_data = following ? forward_data : NULL;
}

/* Checks that @event is a well-formed event of the model, of a foreign
 * origin (the leader's own counter is its own business), with @app_seq. */
static gboolean
check_forwarded (NetFollow     *self,
                 GBytes        *event,
                 guint64        app_seq,
                 NetEventMeta  *meta,
                 GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *data = g_bytes_get_data (event, &len);

  if (!net_event_decode (data, len, meta, &payload, &payload_len, &local_error) ||
      !self->funcs->check (meta, payload, payload_len, &local_error))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "forwarded %s event refused: %s", self->what, local_error->message);
      return FALSE;
    }
  if (meta->app_seq == 0 || meta->app_seq != app_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "forwarded %s event refused: its app_seq %" G_GUINT64_FORMAT
                   " is not the announced %" G_GUINT64_FORMAT, self->what, meta->app_seq, app_seq);
      return FALSE;
    }
  if (meta->origin == 0 || meta->origin == self->origins->own)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "forwarded %s event refused: origin %" G_GUINT64_FORMAT
                   " is not a follower's", self->what, meta->origin);
      return FALSE;
    }
  return TRUE;
}

gboolean
_net_follow_append_forwarded (NetFollow         *self,
                              GBytes            *event,
                              guint64            app_seq,
                              NetFollowStatus   *status,
                              guint64           *seq,
                              GError           **error)
{
  NetEventMeta meta;
  guint64 last;

  *seq = 0;

  /* A closed model stopped its fold. */
  if (self->fold == NULL || _net_fold_is_stopped (self->fold))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "the %s model is closed", self->what);
      return FALSE;
    }
  if (net_redex_file_get_read_only (self->file) || self->following)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_LEADER,
                   "the %s model does not lead: it cannot take forwarded events", self->what);
      return FALSE;
    }
  if (!check_forwarded (self, event, app_seq, &meta, error))
    return FALSE;

  /* What the origins know must include every event of the log. */
  if (!_net_fold_catch_up (self->fold, net_redex_file_get_next_seq (self->file) - 1, error))
    return FALSE;

  g_mutex_lock (&self->origins->lock);
  last = _net_origins_get (self->origins, meta.origin);
  if (app_seq <= last)
    *status = NET_FOLLOW_DUPLICATE;
  else if (app_seq != last + 1)
    *status = NET_FOLLOW_OUT_OF_ORDER;
  else
    {
      *status = NET_FOLLOW_APPENDED;
      *seq = net_redex_file_append (self->file, event, error);
    }
  g_mutex_unlock (&self->origins->lock);

  if (*status != NET_FOLLOW_APPENDED)
    return TRUE;
  if (*seq == 0)
    return FALSE;

  return _net_fold_apply_local (self->fold, *seq, event, error);
}

gboolean
_net_follow_rebootstrap (NetFollow  *self,
                         GBytes     *snapshot,
                         guint64     applied_seq,
                         GError    **error)
{
  guint64 first = net_redex_file_get_first_seq (self->file);
  guint64 next = net_redex_file_get_next_seq (self->file);
  guint64 delivered = _net_fold_get_delivered_seq (self->fold);
  gboolean ok;

  if (next - 1 >= applied_seq && first <= applied_seq + 1)
    return TRUE;   /* the log already continues the snapshot's history */

  if (!_net_redex_file_reset (self->file, applied_seq + 1, error))
    return FALSE;

  self->restoring = TRUE;
  ok = self->funcs->restore (self->model, snapshot, error);
  self->restoring = FALSE;
  if (!ok)
    return FALSE;

  /* Unlike a restore the application asked for, this one comes from the
   * network: whoever follows ::changed learns of it as of the events the
   * leader's snapshot took the state past. */
  _net_fold_deliver_since (self->fold, delivered);
  return TRUE;
}
