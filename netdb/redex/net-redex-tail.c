/* net-redex-tail.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-redex-private.h"

/**
 * SECTION:net-redex-tail
 * @title: NetRedexTail
 * @short_description: follow a log from a sequence number on
 *
 * A #NetRedexTail, made by net_redex_file_tail(), yields the events of a
 * log in order: first the retained history from its starting sequence
 * number, then each event as it is appended, with no gap and no duplicate
 * at the hand-over.  It reads from the log itself, so history costs no
 * memory.
 *
 * It fails with %NET_ERROR_LAGGED when the history it needs was evicted,
 * or when more than the log's tail buffer of live events arrived that it
 * did not read, and with %NET_ERROR_CLOSED once the log or the tail is
 * closed.  Its callbacks run in the thread-default main context of the
 * thread that created it, whichever thread appends.
 */

/**
 * NetRedexTail:
 *
 * A reader that follows a log from a sequence number on.
 */

typedef struct
{
  GSource       source;
  NetRedexTail *tail; /* weak: the tail destroys the source in dispose */
} TailSource;

G_DEFINE_FINAL_TYPE (NetRedexTail, net_redex_tail, G_TYPE_OBJECT)

static void net_redex_tail_deliver (NetRedexTail *self);

static gboolean
tail_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  TailSource *ts = (TailSource *) source;

  g_source_set_ready_time (source, -1);
  if (ts->tail != NULL)
    net_redex_tail_deliver (ts->tail);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs tail_source_funcs = {
  .dispatch = tail_source_dispatch,
};

static void
net_redex_tail_dispose (GObject *object)
{
  NetRedexTail *self = (NetRedexTail *) object;

  if (self->file != NULL)
    {
      _net_redex_file_remove_tail (self->file, self);
      g_clear_object (&self->file);
    }

  if (self->source != NULL)
    {
      ((TailSource *) self->source)->tail = NULL;
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }

  g_queue_clear_full (&self->queue, (GDestroyNotify) net_redex_event_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (net_redex_tail_parent_class)->dispose (object);
}

static void
net_redex_tail_class_init (NetRedexTailClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_redex_tail_dispose;
}

static void
net_redex_tail_init (NetRedexTail *self)
{
  g_queue_init (&self->queue);
}

NetRedexTail *
_net_redex_tail_new (NetRedexFile *file,
                     guint64       from_seq,
                     guint64       next_seq)
{
  NetRedexTail *self = g_object_new (NET_TYPE_REDEX_TAIL, NULL);

  self->file = g_object_ref (file);
  self->cursor = from_seq;
  self->position = from_seq;
  self->live_start = next_seq;
  self->context = g_main_context_ref_thread_default ();

  self->source = g_source_new (&tail_source_funcs, sizeof (TailSource));
  ((TailSource *) self->source)->tail = self;
  g_source_set_static_name (self->source, "[netdb] log tail");
  g_source_set_ready_time (self->source, -1);
  g_source_attach (self->source, self->context);

  return self;
}

/* Called with the file's mutex held, from any thread. */
void
_net_redex_tail_wake (NetRedexTail *self)
{
  if (self->source != NULL)
    g_source_set_ready_time (self->source, 0);
}

static NetRedexEvent *
net_redex_tail_pop (NetRedexTail  *self,
                    gboolean       arm,
                    GError       **error)
{
  g_autoptr(GPtrArray) events = NULL;

  if (g_queue_is_empty (&self->queue))
    {
      if (self->file == NULL)
        {
          g_set_error_literal (error, NET_ERROR, NET_ERROR_CLOSED, "the tail is closed");
          return NULL;
        }

      events = _net_redex_file_tail_fetch (self->file, self, 256, arm, error);
      if (events == NULL)
        return NULL;

      for (guint i = 0; i < events->len; i++)
        g_queue_push_tail (&self->queue, net_redex_event_ref (g_ptr_array_index (events, i)));
    }

  return g_queue_pop_head (&self->queue);
}

static void
net_redex_tail_deliver (NetRedexTail *self)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  NetRedexEvent *event;

  if (self->pending == NULL)
    return;

  if (g_task_return_error_if_cancelled (self->pending))
    {
      g_cancellable_disconnect (self->cancellable, self->cancelled_id);
      self->cancelled_id = 0;
      g_clear_object (&self->cancellable);
      g_clear_object (&self->pending);
      return;
    }

  event = net_redex_tail_pop (self, TRUE, &error);
  if (event == NULL && error == NULL)
    return; /* armed: an append wakes us */

  task = g_steal_pointer (&self->pending);
  if (self->cancelled_id != 0)
    {
      g_cancellable_disconnect (self->cancellable, self->cancelled_id);
      self->cancelled_id = 0;
    }
  g_clear_object (&self->cancellable);

  if (event != NULL)
    {
      self->position = event->seq + 1;
      g_task_return_pointer (task, event, (GDestroyNotify) net_redex_event_unref);
    }
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  GSource *source = user_data;

  /* Any thread: only wake the owner context, which completes the task. */
  g_source_set_ready_time (source, 0);
}

/**
 * net_redex_tail_get_position:
 * @self: a #NetRedexTail
 *
 * Gets the sequence number of the next event this tail will yield: its
 * starting point, then the one after the last event handed out.
 *
 * Returns: the next sequence number
 */
guint64
net_redex_tail_get_position (NetRedexTail *self)
{
  g_return_val_if_fail (NET_IS_REDEX_TAIL (self), 0);

  return self->position;
}

/**
 * net_redex_tail_try_next:
 * @self: a #NetRedexTail
 * @error: return location for a #GError, or %NULL
 *
 * Takes the next event if one is available now, without waiting.
 *
 * Returns: (transfer full) (nullable): the next event; %NULL without an
 *   error when there is none yet, or %NULL with @error set
 */
NetRedexEvent *
net_redex_tail_try_next (NetRedexTail  *self,
                         GError       **error)
{
  NetRedexEvent *event;

  g_return_val_if_fail (NET_IS_REDEX_TAIL (self), NULL);
  g_return_val_if_fail (self->pending == NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  event = net_redex_tail_pop (self, FALSE, error);
  if (event != NULL)
    self->position = event->seq + 1;

  return event;
}

/**
 * net_redex_tail_next_async:
 * @self: a #NetRedexTail
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called with the next event
 * @user_data: data for @callback
 *
 * Waits for the next event. @callback runs in the tail's main context,
 * never before this function returns. Only one call may be pending at a
 * time.
 */
void
net_redex_tail_next_async (NetRedexTail        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (NET_IS_REDEX_TAIL (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (self->pending == NULL);

  self->pending = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (self->pending, net_redex_tail_next_async);
  g_task_set_check_cancellable (self->pending, FALSE);

  if (cancellable != NULL)
    {
      self->cancellable = g_object_ref (cancellable);
      self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled),
                                                  g_source_ref (self->source),
                                                  (GDestroyNotify) g_source_unref);
    }

  /* Nothing to hand out yet: arm, so that the next append wakes us,
   * instead of a dispatch that would only find nothing. */
  if (g_queue_is_empty (&self->queue) && self->file != NULL &&
      (cancellable == NULL || !g_cancellable_is_cancelled (cancellable)))
    {
      g_autoptr(GPtrArray) events = NULL;

      events = _net_redex_file_tail_fetch (self->file, self, 256, TRUE, NULL);
      if (events != NULL && events->len == 0)
        return;
      for (guint i = 0; events != NULL && i < events->len; i++)
        g_queue_push_tail (&self->queue, net_redex_event_ref (g_ptr_array_index (events, i)));
    }

  if (self->source != NULL)
    g_source_set_ready_time (self->source, 0);
}

/**
 * net_redex_tail_next_finish:
 * @self: a #NetRedexTail
 * @result: the #GAsyncResult
 * @error: return location for a #GError, or %NULL
 *
 * Completes net_redex_tail_next_async().
 *
 * Returns: (transfer full): the next event, or %NULL with @error set
 *   (%NET_ERROR_LAGGED, %NET_ERROR_CLOSED, %G_IO_ERROR_CANCELLED, …)
 */
NetRedexEvent *
net_redex_tail_next_finish (NetRedexTail  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (NET_IS_REDEX_TAIL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * net_redex_tail_close:
 * @self: a #NetRedexTail
 *
 * Stops the tail: a pending or later next fails with %NET_ERROR_CLOSED.
 * Dropping the last reference does the same.
 */
void
net_redex_tail_close (NetRedexTail *self)
{
  g_return_if_fail (NET_IS_REDEX_TAIL (self));

  if (self->file != NULL)
    _net_redex_file_close_tail (self->file, self);
  g_queue_clear_full (&self->queue, (GDestroyNotify) net_redex_event_unref);
  if (self->source != NULL)
    g_source_set_ready_time (self->source, 0);
}
