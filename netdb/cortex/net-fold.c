/* net-fold.c: folding a log into a model's state on its main loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-owner-private.h"
#include "net-fold-private.h"
#include "net-redex-private.h"

/* One dispatch applies at most this much, then yields to the main loop, so
 * a backlog of a million events never freezes a UI for long. */
#define FOLD_BATCH_EVENTS   1024
#define FOLD_DISPATCH_USEC  (8 * G_TIME_SPAN_MILLISECOND)
/* A log that restarted under a model with nothing to restore from yet
 * (its writer makes that state visible before it restarts the log, so
 * this is defensive): ask again this often, for this long, then fold on
 * as if the events in between had been evicted. */
#define FOLD_RESTART_RETRY_USEC  (100 * G_TIME_SPAN_MILLISECOND)
#define FOLD_RESTART_PATIENCE    (5 * G_TIME_SPAN_SECOND)

typedef struct
{
  GSource  source;
  NetFold *fold; /* NULL once the fold is freed */
} FoldSource;

typedef struct
{
  guint64  seq;
  GTask   *task;
  NetFold *fold;
  GSource *cancel_source;   /* on the fold's context, or NULL */
} SeqWaiter;

struct _NetFold
{
  NetRedexFile       *file;
  const NetFoldFuncs *funcs;
  gpointer            user_data;
  GMainContext       *context;
  GThread            *owner;
  GSource            *source;

  guint64             applied_seq;
  guint64             delivered_seq;
  guint64             errors;
  gboolean            stopped;
  gboolean            dispatching;
  gboolean            free_pending;  /* freed from inside a delivery */
  gboolean            force_delivery;  /* deliver even without new events */
  guint64             restarts_seen;   /* of the log, when last in step */
  gint64              restart_since;   /* waiting for a state since, or 0 */

  GList              *waiters;
};

/* Events applied by the folds running on this thread, so that a test or a
 * benchmark can tell how much of a log an open replayed. */
static _Thread_local guint64 thread_events_applied;

static void
fold_apply_event_full (NetFold      *self,
                       guint64       seq,
                       const guint8 *data,
                       gsize         len,
                       gboolean      verify)
{
  g_autoptr(GError) error = NULL;
  const guint8 *payload;
  gsize payload_len;
  NetEventMeta meta;

  if (!net_event_decode_full (data, len, verify, &meta, &payload, &payload_len, &error) ||
      !self->funcs->apply (self->user_data, seq, &meta, payload, payload_len, &error))
    {
      self->errors++;
      g_debug ("log “%s”: skipping event %" G_GUINT64_FORMAT ": %s",
               net_redex_file_get_name (self->file), seq, error->message);
    }

  self->applied_seq = seq;
  thread_events_applied++;
}

static void
fold_apply_event (NetFold      *self,
                  guint64       seq,
                  const guint8 *data,
                  gsize         len)
{
  fold_apply_event_full (self, seq, data, len, TRUE);
}

/* The events that fold_step() reads at @start. */
typedef struct
{
  NetFold *fold;
  guint64  start;
  guint64  first;   /* the seq of the first event visited */
  guint64  n;       /* events visited */
} FoldVisit;

/* Retention evicted the events @start .. @first - 1 that this fold never
 * saw.  They are gone for good; say so loudly and count them. */
static void
fold_skip_evicted (NetFold *self,
                   guint64  start,
                   guint64  first)
{
  g_warning ("log “%s”: events %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT
             " were evicted before they were folded",
             net_redex_file_get_name (self->file), start, first - 1);
  self->errors += first - start;
  self->applied_seq = first - 1;
}

static void
fold_visit_event (guint64       seq,
                  gint64        timestamp,
                  const guint8 *data,
                  gsize         len,
                  gpointer      user_data)
{
  FoldVisit *visit = user_data;

  if (visit->n++ == 0)
    {
      visit->first = seq;
      if (seq != visit->start)
        fold_skip_evicted (visit->fold, visit->start, seq);
    }
  fold_apply_event (visit->fold, seq, data, len);
}

/* Reads and applies up to @max_events after applied_seq, up to @until.
 * Returns the number of events consumed (applied or counted as errors). */
static guint
fold_step (NetFold *self,
           guint64  until,
           guint    max_events)
{
  g_autoptr(GError) error = NULL;
  guint64 start = self->applied_seq + 1;
  guint64 end = MIN (until + 1, start + max_events);
  FoldVisit visit = { self, start, 0, 0 };
  guint64 first;

  if (start >= end)
    return 0;

  /* Each event is applied as it is read, with no copy of the range. */
  if (!_net_redex_file_visit_range (self->file, start, end, fold_visit_event, &visit, &error))
    {
      if (g_error_matches (error, NET_ERROR, NET_ERROR_CORRUPT))
        {
          g_autoptr(NetRedexEvent) event = NULL;

          /* Fold what precedes the damaged record, then count it. */
          g_clear_error (&error);
          event = net_redex_file_read_one (self->file, start, &error);
          if (event != NULL)
            {
              gsize len;
              const guint8 *data = g_bytes_get_data (net_redex_event_get_payload (event), &len);

              fold_apply_event (self, start, data, len);
              return 1;
            }
          if (g_error_matches (error, NET_ERROR, NET_ERROR_CORRUPT))
            {
              g_warning ("%s", error->message);
              self->errors++;
              self->applied_seq = start;
              return 1;
            }
        }
      if (!g_error_matches (error, NET_ERROR, NET_ERROR_CLOSED))
        g_warning ("log “%s”: the fold cannot read: %s",
                   net_redex_file_get_name (self->file), error->message);
      return 0;
    }

  if (visit.n > 0)
    return (visit.first - start) + visit.n;

  /* Nothing yet, or a log that restarted past us and holds nothing
   * yet: the events up to its floor are gone all the same. */
  first = MIN (net_redex_file_get_first_seq (self->file), end);
  if (first <= start)
    return 0;
  fold_skip_evicted (self, start, first);
  return first - start;
}

/* Returns @w's task (TRUE, or @error, which it takes) and frees @w, which
 * the caller took off the list. */
static void
waiter_finish (SeqWaiter *w,
               GError    *error)
{
  if (w->cancel_source != NULL)
    {
      g_source_destroy (w->cancel_source);
      g_source_unref (w->cancel_source);
    }
  if (error != NULL)
    g_task_return_error (w->task, error);
  else
    g_task_return_boolean (w->task, TRUE);
  g_object_unref (w->task);
  g_free (w);
}

static void
fold_complete_waiters (NetFold *self)
{
  GList *l = self->waiters;

  while (l != NULL)
    {
      GList *next = l->next;
      SeqWaiter *w = l->data;

      if (w->seq <= self->delivered_seq)
        {
          self->waiters = g_list_delete_link (self->waiters, l);
          waiter_finish (w, NULL);
        }
      l = next;
    }
}

static void
fold_deliver (NetFold *self)
{
  if (self->applied_seq > self->delivered_seq)
    {
      guint64 first = self->delivered_seq + 1;

      self->force_delivery = FALSE;
      self->delivered_seq = self->applied_seq;
      self->funcs->deliver (self->user_data, first, self->applied_seq);
    }
  else if (self->force_delivery)
    {
      self->force_delivery = FALSE;
      self->funcs->deliver (self->user_data, self->applied_seq + 1, self->applied_seq);
    }

  if (!self->free_pending)
    fold_complete_waiters (self);
}

static void fold_free_now (NetFold *self);

/*
 * Whether the fold may go on reading the log.  When the log restarted
 * under it (it was reset, or no longer holds the events after the
 * applied seq), the model may restore a state the log continues; FALSE
 * while it has none yet, for a while.
 */
static gboolean
fold_check_restart (NetFold *self)
{
  guint64 restarts = _net_redex_file_get_restarts (self->file);
  guint64 first = net_redex_file_get_first_seq (self->file);
  NetFoldRestart what = NET_FOLD_RESTART_IGNORED;
  gboolean was_dispatching = self->dispatching;
  gint64 now;

  if (restarts == self->restarts_seen && first <= self->applied_seq + 1)
    return TRUE;

  if (self->funcs->restart != NULL)
    {
      self->dispatching = TRUE;
      what = self->funcs->restart (self->user_data);
      self->dispatching = was_dispatching;
      if (self->free_pending || self->stopped)
        return FALSE;
    }

  if (what == NET_FOLD_RESTART_LATER)
    {
      now = g_get_monotonic_time ();
      if (self->restart_since == 0)
        {
          self->restart_since = now;
          g_debug ("log “%s” restarted at event %" G_GUINT64_FORMAT
                   " under a fold at event %" G_GUINT64_FORMAT ": waiting for a state to restore",
                   net_redex_file_get_name (self->file), first, self->applied_seq);
        }
      if (now - self->restart_since < FOLD_RESTART_PATIENCE)
        return FALSE;
      g_warning ("log “%s” restarted at event %" G_GUINT64_FORMAT
                 " and no state continues it; folding on from event %" G_GUINT64_FORMAT,
                 net_redex_file_get_name (self->file), first, self->applied_seq);
    }

  /* Restored (_net_fold_restart() caught up with the log), or folding on:
   * a gap left is counted as evicted by fold_step(). */
  self->restarts_seen = restarts;
  self->restart_since = 0;
  return TRUE;
}

static gboolean
fold_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  NetFold *self = ((FoldSource *) source)->fold;
  gint64 deadline = g_get_monotonic_time () + FOLD_DISPATCH_USEC;
  gboolean more = FALSE;
  gboolean waiting = FALSE;

  g_source_set_ready_time (source, -1);

  if (self == NULL || self->stopped)
    return G_SOURCE_CONTINUE;

  for (;;)
    {
      guint64 next;
      guint n;

      if (!fold_check_restart (self))
        {
          waiting = TRUE;
          break;
        }
      next = net_redex_file_get_next_seq (self->file);
      if (self->applied_seq + 1 >= next)
        break;
      if (g_get_monotonic_time () >= deadline)
        {
          more = TRUE;
          break;
        }
      n = fold_step (self, next - 1, FOLD_BATCH_EVENTS);
      if (n == 0)
        break;
    }

  if (self->free_pending)
    {
      fold_free_now (self);
      return G_SOURCE_REMOVE;
    }
  if (self->stopped)
    return G_SOURCE_CONTINUE;

  /* Delivery calls user code, which may mutate (that only appends; a
   * later dispatch folds it) or even drop the model and free us. */
  self->dispatching = TRUE;
  fold_deliver (self);
  self->dispatching = FALSE;

  if (self->free_pending)
    {
      fold_free_now (self);
      return G_SOURCE_REMOVE;
    }

  if (self->stopped)
    return G_SOURCE_CONTINUE;

  if (waiting)
    {
      /* Again after a while, or as soon as the log changes. */
      g_source_set_ready_time (source, g_get_monotonic_time () + FOLD_RESTART_RETRY_USEC);
      _net_redex_file_arm_watch (self->file, source, self->applied_seq);
    }
  else if (more || !_net_redex_file_arm_watch (self->file, source, self->applied_seq))
    {
      if (!_net_redex_file_is_closed (self->file))
        g_source_set_ready_time (source, 0);
    }

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fold_source_funcs = {
  .dispatch = fold_source_dispatch,
};

NetFold *
_net_fold_new (NetRedexFile       *file,
               const NetFoldFuncs *funcs,
               gpointer            user_data,
               guint64             applied_seq)
{
  NetFold *self = g_new0 (NetFold, 1);

  self->file = g_object_ref (file);
  self->funcs = funcs;
  self->user_data = user_data;
  /* The caller's, or those of the async open that builds the model. */
  self->context = _net_owner_context_ref ();
  self->owner = _net_owner_thread ();
  self->applied_seq = applied_seq;
  self->delivered_seq = applied_seq;
  self->restarts_seen = _net_redex_file_get_restarts (file);

  self->source = g_source_new (&fold_source_funcs, sizeof (FoldSource));
  ((FoldSource *) self->source)->fold = self;
  g_source_set_static_name (self->source, "[netdb] fold");
  g_source_set_priority (self->source, G_PRIORITY_DEFAULT);
  _net_owner_attach (self->source, self->context);

  _net_redex_file_add_watch (file, self->source);
  /* Whatever is already in the log gets folded on the first dispatch. */
  g_source_set_ready_time (self->source, 0);

  return self;
}

void
_net_fold_stop (NetFold *self)
{
  g_autoptr(GError) error = NULL;

  if (self->stopped)
    return;
  self->stopped = TRUE;

  _net_redex_file_remove_watch (self->file, self->source);

  /* A waiter for an event the state already holds succeeds (what was
   * applied stays readable after close); the others can never be. */
  error = g_error_new (NET_ERROR, NET_ERROR_CLOSED, "log “%s” is closed",
                       net_redex_file_get_name (self->file));
  while (self->waiters != NULL)
    {
      SeqWaiter *w = self->waiters->data;

      self->waiters = g_list_delete_link (self->waiters, self->waiters);
      waiter_finish (w, w->seq <= self->applied_seq ? NULL : g_error_copy (error));
    }
}

void
_net_fold_free (NetFold *self)
{
  _net_fold_stop (self);

  if (self->dispatching)
    self->free_pending = TRUE;
  else
    fold_free_now (self);
}

static void
fold_free_now (NetFold *self)
{
  ((FoldSource *) self->source)->fold = NULL;
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_main_context_unref (self->context);
  g_object_unref (self->file);
  g_free (self);
}

guint64
_net_fold_get_applied_seq (NetFold *self)
{
  return self->applied_seq;
}

/* The last seq delivered to the model (and its waiters). */
guint64
_net_fold_get_delivered_seq (NetFold *self)
{
  return self->delivered_seq;
}

/* Whether _net_fold_stop() was called: the model was closed. */
gboolean
_net_fold_is_stopped (NetFold *self)
{
  return self->stopped;
}

/* How many events (decoded or counted as errors) the folds of the calling
 * thread have applied so far; compare two readings. */
guint64
_net_fold_get_events_applied (void)
{
  return thread_events_applied;
}

guint64
_net_fold_get_errors (NetFold *self)
{
  return self->errors;
}

gboolean
_net_fold_is_owner_thread (NetFold *self)
{
  /* An async open builds the model on a worker on behalf of its owner. */
  return _net_owner_thread () == self->owner;
}

static void
fold_schedule_delivery (NetFold *self)
{
  if (g_source_get_ready_time (self->source) != 0)
    g_source_set_ready_time (self->source, 0);
}

/* The state changed without an event (a restore): the next dispatch
 * delivers, with the empty range (applied + 1, applied) when no event
 * came meanwhile. */
void
_net_fold_force_delivery (NetFold *self)
{
  self->force_delivery = TRUE;
  fold_schedule_delivery (self);
}

/*
 * After a restore that moved the state on along the history delivered so
 * far (a follower's re-bootstrap from its leader's snapshot): the next
 * delivery reports the events after @seq, the delivered seq before the
 * restore, as changed rather than none.  A state that did not move past
 * @seq reports none, as after any restore.
 */
void
_net_fold_deliver_since (NetFold *self,
                         guint64  seq)
{
  g_assert (_net_fold_is_owner_thread (self));

  if (seq < self->delivered_seq)
    self->delivered_seq = seq;
  fold_schedule_delivery (self);
}

/*
 * The model replaced its state with one whose last event is @applied_seq
 * and that carries the @errors of the fold that built it (a restore):
 * fold on from there, in step with the log as it is now.  Waiters carry
 * on; the caller catches up and forces the delivery.
 */
void
_net_fold_restart (NetFold *self,
                   guint64  applied_seq,
                   guint64  errors)
{
  g_assert (_net_fold_is_owner_thread (self));

  self->restarts_seen = _net_redex_file_get_restarts (self->file);
  self->restart_since = 0;
  self->applied_seq = applied_seq;
  self->delivered_seq = applied_seq;
  self->errors = errors;
}

/*
 * Read-your-writes: on the owner thread, folds everything up to @seq now.
 * Delivery (signals, live models) still waits for the next dispatch.
 */
gboolean
_net_fold_catch_up (NetFold  *self,
                    guint64   seq,
                    GError  **error)
{
  g_assert (_net_fold_is_owner_thread (self));

  while (self->applied_seq < seq)
    {
      if (fold_step (self, seq, FOLD_BATCH_EVENTS * 16) == 0)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                       "log “%s”: cannot fold up to event %" G_GUINT64_FORMAT,
                       net_redex_file_get_name (self->file), seq);
          return FALSE;
        }
    }

  fold_schedule_delivery (self);
  return TRUE;
}

/*
 * Before a mutation checks the state (does the id exist?): on the owner
 * thread, folds what the log already holds beyond the state, so the check
 * sees every event appended so far (other threads' too).  FALSE (and
 * nothing to check against) off the owner thread.
 */
gboolean
_net_fold_current_for_check (NetFold  *self,
                             GError  **error)
{
  guint64 last;

  if (!_net_fold_is_owner_thread (self))
    return FALSE;

  last = net_redex_file_get_next_seq (self->file) - 1;
  if (self->applied_seq < last && !self->stopped)
    return _net_fold_catch_up (self, last, error);
  return TRUE;
}

/*
 * The fast path of read-your-writes: the event just appended as @seq is
 * the next one to fold, and we have its bytes already.
 */
gboolean
_net_fold_apply_local (NetFold  *self,
                       guint64   seq,
                       GBytes   *event,
                       GError  **error)
{
  gsize len;
  const guint8 *data;

  if (!_net_fold_is_owner_thread (self))
    return TRUE;

  if (self->applied_seq + 1 != seq)
    return _net_fold_catch_up (self, seq, error);

  data = g_bytes_get_data (event, &len);
  fold_apply_event (self, seq, data, len);
  fold_schedule_delivery (self);

  return TRUE;
}

/*
 * _net_fold_apply_local() of an event this process sealed itself (its
 * checksum is not computed again) and appended as @seq.
 */
gboolean
_net_fold_apply_sealed (NetFold       *self,
                        guint64        seq,
                        const guint8  *event,
                        gsize          len,
                        GError       **error)
{
  if (!_net_fold_is_owner_thread (self))
    return TRUE;

  if (self->applied_seq + 1 != seq)
    return _net_fold_catch_up (self, seq, error);

  fold_apply_event_full (self, seq, event, len, FALSE);
  fold_schedule_delivery (self);

  return TRUE;
}

static gboolean
wait_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  SeqWaiter *w = data;
  NetFold *self = w->fold;
  GError *error = NULL;

  self->waiters = g_list_remove (self->waiters, w);
  g_cancellable_set_error_if_cancelled (cancellable, &error);
  waiter_finish (w, error);
  return G_SOURCE_REMOVE;
}

void
_net_fold_wait_async (NetFold             *self,
                      gpointer             source_object,
                      guint64              seq,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  SeqWaiter *w;

  task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (self->stopped)
    {
      /* What the state holds stays readable after close. */
      if (seq <= self->applied_seq)
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, NET_ERROR, NET_ERROR_CLOSED,
                                 "log “%s” is closed", net_redex_file_get_name (self->file));
      return;
    }

  w = g_new0 (SeqWaiter, 1);
  w->seq = seq;
  w->fold = self;
  w->task = g_steal_pointer (&task);
  self->waiters = g_list_prepend (self->waiters, w);

  /* A cancellation (from any thread) answers from the fold's context. */
  if (cancellable != NULL)
    {
      w->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (w->cancel_source, "[netdb] wait_for_seq cancelled");
      g_source_set_callback (w->cancel_source, G_SOURCE_FUNC (wait_cancelled_cb), w, NULL);
      g_source_attach (w->cancel_source, self->context);
    }

  /* Completed from a dispatch, never from here. */
  g_source_set_ready_time (self->source, 0);
}

static gboolean
wait_timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
_net_fold_wait (NetFold  *self,
                guint64   seq,
                guint     timeout_ms,
                GError  **error)
{
  g_autoptr(GSource) timeout = NULL;
  gboolean timed_out = FALSE;

  if (self->delivered_seq >= seq)
    return TRUE;
  /* What the state holds stays readable after close. */
  if (self->stopped && self->applied_seq >= seq)
    return TRUE;

  if (!g_main_context_acquire (self->context))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_FAILED,
                           "wait_for_seq must run on the thread that owns the model's main context");
      return FALSE;
    }

  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_static_name (timeout, "[netdb] wait_for_seq timeout");
  g_source_set_callback (timeout, wait_timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, self->context);
  g_source_set_ready_time (self->source, 0);

  while (self->delivered_seq < seq && !timed_out && !self->stopped)
    g_main_context_iteration (self->context, TRUE);

  g_source_destroy (timeout);
  g_main_context_release (self->context);

  if (self->delivered_seq >= seq || (self->stopped && self->applied_seq >= seq))
    return TRUE;

  if (self->stopped)
    g_set_error (error, NET_ERROR, NET_ERROR_CLOSED,
                 "log “%s” was closed while waiting for event %" G_GUINT64_FORMAT,
                 net_redex_file_get_name (self->file), seq);
  else
    g_set_error (error, NET_ERROR, NET_ERROR_TIMEOUT,
                 "event %" G_GUINT64_FORMAT " of log “%s” was not folded within %u ms (folded up to %" G_GUINT64_FORMAT ")",
                 seq, net_redex_file_get_name (self->file), timeout_ms, self->applied_seq);
  return FALSE;
}

/*
 * Before a model restores a snapshot whose last event is @applied onto
 * @file (DESIGN.md §4): an empty log continues at @applied + 1; a log that
 * holds @applied replays from @applied + 1; a log that ends before it, or
 * no longer holds the events after it, does not fit the snapshot.
 */
gboolean
_net_fold_prepare_restore (NetRedexFile  *file,
                           guint64        applied,
                           GError       **error)
{
  guint64 first = net_redex_file_get_first_seq (file);
  guint64 next = net_redex_file_get_next_seq (file);
  const char *name = net_redex_file_get_name (file);

  /* An empty log continues after the snapshot; one that already does
   * (restored before, nothing logged since) needs no change, which
   * matters to a read-only log. */
  if (first == next && next == applied + 1)
    return TRUE;
  if (first == next && next <= applied + 1)
    return _net_redex_file_restart_at (file, applied + 1, error);

  if (next - 1 < applied)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH,
                   "the snapshot was taken at event %" G_GUINT64_FORMAT
                   " but the %s log ends at %" G_GUINT64_FORMAT,
                   applied, name, next - 1);
      return FALSE;
    }

  if (first > applied + 1)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH,
                   "the snapshot was taken at event %" G_GUINT64_FORMAT
                   " but the %s log no longer holds events %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT,
                   applied, name, applied + 1, first - 1);
      return FALSE;
    }

  return TRUE;
}
