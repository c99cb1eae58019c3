/* net-origins.c: origins folded per model, and the snapshot envelope
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-origins-private.h"

void
_net_origins_init (NetOrigins *self)
{
  g_mutex_init (&self->lock);
  self->own = 0;
  self->next_app_seq = 1;
  self->seen = g_array_new (FALSE, FALSE, sizeof (NetOriginSeq));
}

void
_net_origins_clear (NetOrigins *self)
{
  g_clear_pointer (&self->seen, g_array_unref);
  g_mutex_clear (&self->lock);
}

void
_net_origins_note (NetOrigins *self,
                   guint64     origin,
                   guint64     app_seq)
{
  /* Our own counter continues after whatever the log holds. */
  if (origin == self->own)
    {
      g_mutex_lock (&self->lock);
      self->next_app_seq = MAX (self->next_app_seq, app_seq + 1);
      g_mutex_unlock (&self->lock);
    }

  for (guint i = 0; i < self->seen->len; i++)
    {
      NetOriginSeq *o = &g_array_index (self->seen, NetOriginSeq, i);

      if (o->origin == origin)
        {
          o->app_seq = MAX (o->app_seq, app_seq);
          return;
        }
    }

  g_array_append_vals (self->seen, &(NetOriginSeq) { origin, app_seq }, 1);
}

guint64
_net_origins_get (NetOrigins *self,
                  guint64     origin)
{
  for (guint i = 0; i < self->seen->len; i++)
    if (g_array_index (self->seen, NetOriginSeq, i).origin == origin)
      return g_array_index (self->seen, NetOriginSeq, i).app_seq;
  return 0;
}

void
_net_origins_replace (NetOrigins *self,
                      GArray     *seen)
{
  g_array_set_size (self->seen, 0);
  for (guint i = 0; i < seen->len; i++)
    _net_origins_note (self, g_array_index (seen, NetOriginSeq, i).origin,
                       g_array_index (seen, NetOriginSeq, i).app_seq);
}

void
_net_snapshot_write_head (NetEncoder *enc,
                          guint64     applied_seq,
                          guint64     fold_errors,
                          NetOrigins *origins)
{
  g_autoptr(GByteArray) record = g_byte_array_new ();

  net_encoder_put_uint (enc, NET_SNAPSHOT_APPLIED_SEQ, applied_seq);
  net_encoder_put_uint (enc, NET_SNAPSHOT_FOLD_ERRORS, fold_errors);

  for (guint i = 0; i < origins->seen->len; i++)
    {
      NetOriginSeq *o = &g_array_index (origins->seen, NetOriginSeq, i);
      NetEncoder sub;

      g_byte_array_set_size (record, 0);
      net_encoder_init (&sub, record);
      net_encoder_put_uint (&sub, 1, o->origin);
      net_encoder_put_uint (&sub, 2, o->app_seq);
      net_encoder_put_bytes (enc, NET_SNAPSHOT_ORIGIN, record->data, record->len);
    }
}

gboolean
_net_snapshot_invalid (GError     **error,
                       const char  *what,
                       const char  *detail)
{
  g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID,
               "not a valid %s snapshot: %s", what, detail);
  return FALSE;
}

static gboolean
read_origin (const NetField *f,
             GArray         *origins)
{
  NetOriginSeq o = { 0 };
  NetDecoder sub;
  NetField g;
  int r;

  if (f->wire != NET_WIRE_BYTES || !net_decoder_init (&sub, f->bytes, f->bytes_len, NULL))
    return FALSE;
  while ((r = net_decoder_next (&sub, &g, NULL)) > 0)
    {
      if (g.field == 1)
        o.origin = g.uint_value;
      else if (g.field == 2)
        o.app_seq = g.uint_value;
    }
  if (r < 0)
    return FALSE;
  g_array_append_val (origins, o);
  return TRUE;
}

gboolean
_net_snapshot_read (GBytes               *snapshot,
                    const char           *what,
                    NetSnapshotItemFunc   item_func,
                    gpointer              user_data,
                    guint64              *applied_seq,
                    guint64              *fold_errors,
                    GArray               *origins,
                    GError              **error)
{
  gboolean has_applied = FALSE;
  const guint8 *data;
  NetDecoder dec;
  NetField f;
  gsize len;
  int r;

  *applied_seq = 0;
  *fold_errors = 0;

  data = g_bytes_get_data (snapshot, &len);
  if (!net_decoder_init (&dec, data, len, NULL))
    return _net_snapshot_invalid (error, what, "unknown format version");

  for (;;)
    {
      /* An item of up to 127 bytes (a task, most memories): its key and
       * length read here, the field as net_decoder_next() makes it. */
      if (G_LIKELY (len - dec.pos >= 2 &&
                    data[dec.pos] == (NET_SNAPSHOT_ITEM << 3 | NET_WIRE_BYTES) &&
                    data[dec.pos + 1] < 0x80 &&
                    data[dec.pos + 1] <= len - dec.pos - 2))
        {
          f = (NetField) {
            .field = NET_SNAPSHOT_ITEM,
            .wire = NET_WIRE_BYTES,
            .bytes = data + dec.pos + 2,
            .bytes_len = data[dec.pos + 1],
          };
          dec.pos += 2 + f.bytes_len;
          if (!item_func (&f, user_data, error))
            return FALSE;
          continue;
        }

      if ((r = net_decoder_next (&dec, &f, NULL)) <= 0)
        break;

      switch (f.field)
        {
        case NET_SNAPSHOT_APPLIED_SEQ:
          *applied_seq = f.uint_value;
          has_applied = f.wire == NET_WIRE_VARINT;
          break;
        case NET_SNAPSHOT_FOLD_ERRORS:
          *fold_errors = f.uint_value;
          break;
        case NET_SNAPSHOT_ORIGIN:
          if (!read_origin (&f, origins))
            return _net_snapshot_invalid (error, what, "bad origin record");
          break;
        case NET_SNAPSHOT_ITEM:
          if (!item_func (&f, user_data, error))
            return FALSE;
          break;
        default:
          break;   /* a newer writer's field */
        }
    }
  if (r < 0 || !has_applied)
    return _net_snapshot_invalid (error, what, "truncated or malformed");

  return TRUE;
}
