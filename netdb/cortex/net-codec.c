/* net-codec.c: the payload encoding of model events
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-codec-private.h"

/* Rejects truncated and over-long (more than 10 bytes, or bits beyond 64)
 * encodings. */
gboolean
net_leb128_get (const guint8 *data,
                gsize         len,
                gsize        *pos,
                guint64      *value)
{
  guint64 v = 0;
  guint shift = 0;
  gsize p = *pos;

  /* Room for the longest encoding: no bounds check per byte. */
  if (G_LIKELY (p < len && len - p >= 10))
    {
      guint8 byte;

      for (; shift < 63; shift += 7)
        {
          byte = data[p++];
          v |= (guint64) (byte & 0x7f) << shift;
          if (!(byte & 0x80))
            goto done;
        }
      /* The tenth byte holds bit 63 only, and ends the encoding. */
      byte = data[p++];
      if (byte & 0xfe)
        return FALSE;
      v |= (guint64) byte << 63;
      goto done;
    }

  for (;;)
    {
      guint8 byte;

      if (p >= len || shift > 63)
        return FALSE;
      byte = data[p++];
      if (shift == 63 && (byte & 0x7e))
        return FALSE;
      v |= (guint64) (byte & 0x7f) << shift;
      if (!(byte & 0x80))
        break;
      shift += 7;
    }

done:
  *pos = p;
  *value = v;
  return TRUE;
}




void
net_encoder_init (NetEncoder *enc,
                  GByteArray *buf)
{
  enc->buf = buf;
  g_byte_array_append (buf, (const guint8 []) { NET_CODEC_VERSION }, 1);
}

void
net_encoder_put_uint (NetEncoder *enc,
                      guint       field,
                      guint64     value)
{
  guint8 tmp[20];

  /* Key and value in one append: an append to a GByteArray costs more
   * than encoding the bytes. */
  g_byte_array_append (enc->buf, tmp, net_field_put_uint (tmp, field, value));
}

void
net_encoder_put_int (NetEncoder *enc,
                     guint       field,
                     gint64      value)
{
  guint8 tmp[20];

  g_byte_array_append (enc->buf, tmp, net_field_put_int (tmp, field, value));
}

void
net_encoder_put_bytes (NetEncoder   *enc,
                       guint         field,
                       const guint8 *data,
                       gsize         len)
{
  guint8 tmp[84];
  gsize n = net_field_put_bytes_head (tmp, field, len);

  /* Short data (most strings and values) goes with its key: one append. */
  if (len <= sizeof tmp - 20)
    {
      if (len > 0)
        memcpy (tmp + n, data, len);
      g_byte_array_append (enc->buf, tmp, n + len);
      return;
    }
  g_byte_array_append (enc->buf, tmp, n);
  g_byte_array_append (enc->buf, data, len);
}

/*
 * net_encoder_put_field:
 * @enc: an encoder
 * @field: a field as net_decoder_next() gave it
 *
 * Appends @field again, with its number and wire type: a payload re-encoded
 * field by field is the same bytes.
 */
void
net_encoder_put_field (NetEncoder     *enc,
                       const NetField *field)
{
  switch (field->wire)
    {
    case NET_WIRE_VARINT:
      net_encoder_put_uint (enc, field->field, field->uint_value);
      break;
    case NET_WIRE_SVARINT:
      net_encoder_put_int (enc, field->field, field->int_value);
      break;
    case NET_WIRE_BYTES:
      net_encoder_put_bytes (enc, field->field, field->bytes, field->bytes_len);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
net_encoder_put_string (NetEncoder *enc,
                        guint       field,
                        const char *value)
{
  net_encoder_put_bytes (enc, field, (const guint8 *) value, strlen (value));
}

gboolean
net_decoder_init (NetDecoder    *dec,
                  const guint8  *data,
                  gsize          len,
                  GError       **error)
{
  dec->data = data;
  dec->len = len;
  dec->pos = 1;

  if (len < 1)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_CORRUPT, "empty event payload");
      return FALSE;
    }
  if (data[0] != NET_CODEC_VERSION)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event payload has codec version %u, this netdb reads version %u",
                   data[0], NET_CODEC_VERSION);
      return FALSE;
    }

  return TRUE;
}

/* net_leb128_get() on @dec, a one-byte value (keys, small numbers and
 * lengths: most of a payload) without a call. */
static inline gboolean
leb128_get_inline (NetDecoder *dec,
                   guint64    *value)
{
  if (G_LIKELY (dec->pos < dec->len && dec->data[dec->pos] < 0x80))
    {
      *value = dec->data[dec->pos++];
      return TRUE;
    }
  return net_leb128_get (dec->data, dec->len, &dec->pos, value);
}

/* Returns 1 with the next field, 0 at the end, -1 on malformed input. */
int
net_decoder_next (NetDecoder  *dec,
                  NetField    *field,
                  GError     **error)
{
  guint64 key, v;

  if (dec->pos == dec->len)
    return 0;

  if (!leb128_get_inline (dec, &key) || (key >> 3) == 0 || (key >> 3) > G_MAXUINT32)
    goto malformed;

  memset (field, 0, sizeof *field);
  field->field = key >> 3;
  field->wire = key & 7;

  switch (field->wire)
    {
    case NET_WIRE_VARINT:
      if (!leb128_get_inline (dec, &field->uint_value))
        goto malformed;
      break;

    case NET_WIRE_SVARINT:
      if (!leb128_get_inline (dec, &v))
        goto malformed;
      field->int_value = net_zigzag_decode (v);
      break;

    case NET_WIRE_BYTES:
      if (!leb128_get_inline (dec, &v) || v > dec->len - dec->pos)
        goto malformed;
      field->bytes = dec->data + dec->pos;
      field->bytes_len = v;
      dec->pos += v;
      break;

    default:
      goto malformed;
    }

  return 1;

malformed:
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "malformed event payload at byte %" G_GSIZE_FORMAT, dec->pos);
  return -1;
}

char *
net_field_dup_utf8 (const NetField  *field,
                    GError         **error)
{
  if (field->wire != NET_WIRE_BYTES ||
      !g_utf8_validate_len ((const char *) field->bytes, field->bytes_len, NULL))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event field %u is not valid UTF-8 text", field->field);
      return NULL;
    }

  return g_strndup ((const char *) field->bytes, field->bytes_len);
}
