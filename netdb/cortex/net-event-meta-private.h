/* net-event-meta-private.h: the 24-byte header of every model event
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   off size field
 *     0    1 dispatch: model + kind (0x01-0x04 tasks, 0x10-0x14 memories,
 *            0x20-0x22 collections, 0x80 and above: application events)
 *     1    1 flags (0)
 *     2    2 reserved, 0
 *     4    8 origin (u64 LE): the node or database that wrote it
 *    12    8 app_seq (u64 LE): per-origin counter, from 1
 *    20    4 checksum: low 32 bits of XXH3-64 over the header with this
 *            field zeroed, then the payload
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_EVENT_META_SIZE 24

typedef enum
{
  NET_DISPATCH_TASK_CREATED     = 0x01,
  NET_DISPATCH_TASK_RENAMED     = 0x02,
  NET_DISPATCH_TASK_COMPLETED   = 0x03,
  NET_DISPATCH_TASK_DELETED     = 0x04,
  NET_DISPATCH_MEMORY_STORED    = 0x10,
  NET_DISPATCH_MEMORY_RETAGGED  = 0x11,
  NET_DISPATCH_MEMORY_PINNED    = 0x12,
  NET_DISPATCH_MEMORY_UNPINNED  = 0x13,
  NET_DISPATCH_MEMORY_DELETED   = 0x14,
  /* A collection's (docs/collection-format.md). */
  NET_DISPATCH_RECORD_INSERTED  = 0x20,
  NET_DISPATCH_RECORD_UPDATED   = 0x21,
  NET_DISPATCH_RECORD_DELETED   = 0x22,
  NET_DISPATCH_APPLICATION      = 0x80,
} NetDispatch;

typedef struct
{
  guint8  dispatch;
  guint8  flags;
  guint64 origin;
  guint64 app_seq;
} NetEventMeta;

/* Writes the header of @event (@len bytes: the header's room, then the
 * payload), its checksum last. */
void      net_event_seal   (guint8              *event,
                            gsize                len,
                            const NetEventMeta  *meta);
GBytes   *net_event_encode (const NetEventMeta  *meta,
                            const guint8        *payload,
                            gsize                payload_len);
gboolean  net_event_decode (const guint8        *data,
                            gsize                len,
                            NetEventMeta        *meta,
                            const guint8       **payload,
                            gsize               *payload_len,
                            GError             **error);
/* @verify FALSE: the caller sealed @data itself and its checksum need
 * not be computed again. */
gboolean  net_event_decode_full (const guint8   *data,
                                 gsize           len,
                                 gboolean        verify,
                                 NetEventMeta   *meta,
                                 const guint8  **payload,
                                 gsize          *payload_len,
                                 GError        **error);

/* One line for humans: "task.created id=1 title=\"x\" timestamp=…
 * (origin 0x…, app_seq 3)", or NULL when @data is not a model event
 * (an application's own log). */
char     *net_event_describe (const guint8        *data,
                              gsize                len);

G_END_DECLS
