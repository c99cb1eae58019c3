/* net-redex-event.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-redex-event-private.h"

/**
 * SECTION:net-redex-event
 * @title: NetRedexEvent
 * @short_description: one event of a log
 *
 * A #NetRedexEvent is an immutable, reference-counted record of a log: its
 * sequence number, the time it was appended (microseconds since the Unix
 * epoch, as g_get_real_time() returns) and its payload.
 */

/**
 * NetRedexEvent:
 *
 * One event of a log: sequence number, timestamp and payload.
 */

G_DEFINE_BOXED_TYPE (NetRedexEvent, net_redex_event,
                     net_redex_event_ref, net_redex_event_unref)

/**
 * net_redex_event_new:
 * @seq: the sequence number, starting at 1
 * @timestamp: microseconds since the Unix epoch
 * @payload: the payload
 *
 * Creates an event. Events are normally made by the log; this is for
 * replication and tests.
 *
 * Returns: (transfer full): a new #NetRedexEvent
 */
NetRedexEvent *
net_redex_event_new (guint64  seq,
                     gint64   timestamp,
                     GBytes  *payload)
{
  g_return_val_if_fail (seq != 0, NULL);
  g_return_val_if_fail (payload != NULL, NULL);

  return _net_redex_event_new_take (seq, timestamp, g_bytes_ref (payload));
}

NetRedexEvent *
_net_redex_event_new_take (guint64  seq,
                           gint64   timestamp,
                           GBytes  *payload)
{
  NetRedexEvent *self = g_new (NetRedexEvent, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->seq = seq;
  self->timestamp = timestamp;
  self->payload = payload;

  return self;
}

/**
 * net_redex_event_ref:
 * @self: a #NetRedexEvent
 *
 * Acquires a reference on @self.
 *
 * Returns: (transfer full): @self
 */
NetRedexEvent *
net_redex_event_ref (NetRedexEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * net_redex_event_unref:
 * @self: (transfer full): a #NetRedexEvent
 *
 * Releases a reference on @self, freeing it when it was the last one.
 */
void
net_redex_event_unref (NetRedexEvent *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_bytes_unref (self->payload);
      g_free (self);
    }
}

/**
 * net_redex_event_get_seq:
 * @self: a #NetRedexEvent
 *
 * Gets the sequence number of the event.
 *
 * Returns: the sequence number (1 or more)
 */
guint64
net_redex_event_get_seq (const NetRedexEvent *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->seq;
}

/**
 * net_redex_event_get_timestamp:
 * @self: a #NetRedexEvent
 *
 * Gets the time the event was appended.
 *
 * Returns: microseconds since the Unix epoch
 */
gint64
net_redex_event_get_timestamp (const NetRedexEvent *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->timestamp;
}

/**
 * net_redex_event_get_payload:
 * @self: a #NetRedexEvent
 *
 * Gets the payload of the event.
 *
 * Returns: (transfer none): the payload
 */
GBytes *
net_redex_event_get_payload (const NetRedexEvent *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->payload;
}
