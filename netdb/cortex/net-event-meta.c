/* net-event-meta.c: the 24-byte header of every model event
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>
/* XXH3_state_t on the stack: we link the 0.8 ABI it describes. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "net-error.h"
#include "net-event-meta-private.h"
#include "net-redex-format-private.h"

static guint32
event_checksum (const guint8 *header,
                const guint8 *payload,
                gsize         payload_len)
{
  XXH3_state_t state;
  guint8 zeroed[NET_EVENT_META_SIZE];

  memcpy (zeroed, header, NET_EVENT_META_SIZE);
  memset (zeroed + 20, 0, 4);

  XXH3_64bits_reset (&state);
  XXH3_64bits_update (&state, zeroed, sizeof zeroed);
  XXH3_64bits_update (&state, payload, payload_len);

  return (guint32) XXH3_64bits_digest (&state);
}

GBytes *
net_event_encode (const NetEventMeta *meta,
                  const guint8       *payload,
                  gsize               payload_len)
{
  guint8 *buf = g_malloc (NET_EVENT_META_SIZE + payload_len);

  buf[0] = meta->dispatch;
  buf[1] = meta->flags;
  buf[2] = 0;
  buf[3] = 0;
  net_redex_write_u64 (buf + 4, meta->origin);
  net_redex_write_u64 (buf + 12, meta->app_seq);
  memcpy (buf + NET_EVENT_META_SIZE, payload, payload_len);
  net_redex_write_u32 (buf + 20, event_checksum (buf, buf + NET_EVENT_META_SIZE, payload_len));

  return g_bytes_new_take (buf, NET_EVENT_META_SIZE + payload_len);
}

gboolean
net_event_decode (const guint8  *data,
                  gsize          len,
                  NetEventMeta  *meta,
                  const guint8 **payload,
                  gsize         *payload_len,
                  GError       **error)
{
  if (len < NET_EVENT_META_SIZE)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event of %" G_GSIZE_FORMAT " bytes is shorter than its %d-byte header",
                   len, NET_EVENT_META_SIZE);
      return FALSE;
    }

  if (net_redex_read_u32 (data + 20) !=
      event_checksum (data, data + NET_EVENT_META_SIZE, len - NET_EVENT_META_SIZE))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_CORRUPT,
                           "event checksum mismatch");
      return FALSE;
    }

  if (data[1] != 0 || data[2] != 0 || data[3] != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event header has unknown flags 0x%02x", data[1]);
      return FALSE;
    }

  meta->dispatch = data[0];
  meta->flags = data[1];
  meta->origin = net_redex_read_u64 (data + 4);
  meta->app_seq = net_redex_read_u64 (data + 12);
  *payload = data + NET_EVENT_META_SIZE;
  *payload_len = len - NET_EVENT_META_SIZE;

  return TRUE;
}
