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
#include "net-codec-private.h"
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

/* The checksum of the whole @event (header, then payload), its checksum
 * field zeroed: the same XXH3 as event_checksum(), in one pass over
 * contiguous bytes, which costs a small event a fraction of the
 * streaming state's. */
#define EVENT_COPY_MAX 1024

static guint32
event_checksum_contiguous (const guint8 *event,
                           gsize         len)
{
  guint8 copy[EVENT_COPY_MAX];

  if (len > sizeof copy)
    return event_checksum (event, event + NET_EVENT_META_SIZE, len - NET_EVENT_META_SIZE);
  memcpy (copy, event, len);
  memset (copy + 20, 0, 4);
  return (guint32) XXH3_64bits (copy, len);
}

void
net_event_seal (guint8             *event,
                gsize               len,
                const NetEventMeta *meta)
{
  g_assert (len >= NET_EVENT_META_SIZE);

  event[0] = meta->dispatch;
  event[1] = meta->flags;
  event[2] = 0;
  event[3] = 0;
  net_redex_write_u64 (event + 4, meta->origin);
  net_redex_write_u64 (event + 12, meta->app_seq);
  memset (event + 20, 0, 4);
  net_redex_write_u32 (event + 20, (guint32) XXH3_64bits (event, len));
}

GBytes *
net_event_encode (const NetEventMeta *meta,
                  const guint8       *payload,
                  gsize               payload_len)
{
  guint8 *buf = g_malloc (NET_EVENT_META_SIZE + payload_len);

  memcpy (buf + NET_EVENT_META_SIZE, payload, payload_len);
  net_event_seal (buf, NET_EVENT_META_SIZE + payload_len, meta);

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
  return net_event_decode_full (data, len, TRUE, meta, payload, payload_len, error);
}

gboolean
net_event_decode_full (const guint8  *data,
                       gsize          len,
                       gboolean       verify,
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

  if (verify &&
      net_redex_read_u32 (data + 20) != event_checksum_contiguous (data, len))
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

static const char *
dispatch_name (guint8 dispatch)
{
  switch (dispatch)
    {
    case NET_DISPATCH_TASK_CREATED: return "task.created";
    case NET_DISPATCH_TASK_RENAMED: return "task.renamed";
    case NET_DISPATCH_TASK_COMPLETED: return "task.completed";
    case NET_DISPATCH_TASK_DELETED: return "task.deleted";
    case NET_DISPATCH_MEMORY_STORED: return "memory.stored";
    case NET_DISPATCH_MEMORY_RETAGGED: return "memory.retagged";
    case NET_DISPATCH_MEMORY_PINNED: return "memory.pinned";
    case NET_DISPATCH_MEMORY_UNPINNED: return "memory.unpinned";
    case NET_DISPATCH_MEMORY_DELETED: return "memory.deleted";
    case NET_DISPATCH_RECORD_INSERTED: return "record.inserted";
    case NET_DISPATCH_RECORD_UPDATED: return "record.updated";
    case NET_DISPATCH_RECORD_DELETED: return "record.deleted";
    default: return NULL;
    }
}

/* The names of docs/payload-format.md and docs/collection-format.md;
 * unknown fields print by number. */
static const char *
field_name (guint8 dispatch,
            guint  field)
{
  static const char * const task_fields[] = { NULL, "id", "title", "timestamp" };
  static const char * const memory_fields[] = { NULL, "id", "content", "timestamp", "tag", "source" };
  static const char * const record_fields[] = { NULL, "id", "created", "updated", "definition", "value" };

  if (dispatch >= NET_DISPATCH_RECORD_INSERTED)
    return field < G_N_ELEMENTS (record_fields) ? record_fields[field] : NULL;
  if (dispatch < NET_DISPATCH_MEMORY_STORED)
    return field < G_N_ELEMENTS (task_fields) ? task_fields[field] : NULL;
  return field < G_N_ELEMENTS (memory_fields) ? memory_fields[field] : NULL;
}

char *
net_event_describe (const guint8 *data,
                    gsize         len)
{
  g_autoptr(GString) out = NULL;
  const guint8 *payload;
  gsize payload_len;
  NetEventMeta meta;
  NetDecoder dec;
  NetField f;
  const char *name;
  int r;

  if (!net_event_decode (data, len, &meta, &payload, &payload_len, NULL))
    return NULL;
  name = dispatch_name (meta.dispatch);
  if (name == NULL || !net_decoder_init (&dec, payload, payload_len, NULL))
    return NULL;

  out = g_string_new (name);
  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      const char *fname = field_name (meta.dispatch, f.field);

      if (fname != NULL)
        g_string_append_printf (out, " %s=", fname);
      else
        g_string_append_printf (out, " %u=", f.field);

      switch (f.wire)
        {
        case NET_WIRE_VARINT:
          g_string_append_printf (out, "%" G_GUINT64_FORMAT, f.uint_value);
          break;
        case NET_WIRE_SVARINT:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, f.int_value);
          break;
        case NET_WIRE_BYTES:
        default:
          {
            g_autofree char *text = g_strndup ((const char *) f.bytes, f.bytes_len);

            if (f.bytes_len == strlen (text) && g_utf8_validate (text, -1, NULL))
              {
                char non_ascii[129] = { 0 };
                g_autofree char *escaped = NULL;

                /* Escape quotes and controls; keep UTF-8 readable. */
                for (guint c = 0x80; c <= 0xff; c++)
                  non_ascii[c - 0x80] = (char) c;
                escaped = g_strescape (text, non_ascii);

                g_string_append_printf (out, "\"%s\"", escaped);
              }
            else
              g_string_append_printf (out, "<%" G_GSIZE_FORMAT " bytes>", f.bytes_len);
          }
          break;
        }
    }
  if (r < 0)
    return NULL;

  g_string_append_printf (out, " (origin %016" G_GINT64_MODIFIER "x, app_seq %" G_GUINT64_FORMAT ")",
                          meta.origin, meta.app_seq);
  return g_string_free (g_steal_pointer (&out), FALSE);
}
