/* net-codec-private.h: the payload encoding of model events
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A payload is a version byte (1) followed by fields. Each field starts
 * with a key, the LEB128 varint (field_number << 3 | wire_type); wire
 * types are 0 (a varint), 1 (a signed varint, zigzag-encoded) and
 * 2 (a varint length, then that many bytes). Decoders skip fields they do
 * not know, so newer writers can add fields; a field may repeat (tags).
 * See docs/payload-format.md.
 */

#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

#define NET_CODEC_VERSION 1

typedef enum
{
  NET_WIRE_VARINT = 0,
  NET_WIRE_SVARINT = 1,
  NET_WIRE_BYTES = 2,
} NetWireType;

typedef struct
{
  GByteArray *buf;
} NetEncoder;

typedef struct _NetField NetField;

void      net_encoder_init        (NetEncoder    *enc,
                                   GByteArray    *buf);
void      net_encoder_put_uint    (NetEncoder    *enc,
                                   guint          field,
                                   guint64        value);
void      net_encoder_put_int     (NetEncoder    *enc,
                                   guint          field,
                                   gint64         value);
void      net_encoder_put_string  (NetEncoder    *enc,
                                   guint          field,
                                   const char    *value);
void      net_encoder_put_bytes   (NetEncoder    *enc,
                                   guint          field,
                                   const guint8  *data,
                                   gsize          len);
void      net_encoder_put_field   (NetEncoder    *enc,
                                   const NetField *field);

typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         pos;
} NetDecoder;

struct _NetField
{
  guint         field;
  NetWireType   wire;
  guint64       uint_value;
  gint64        int_value;
  const guint8 *bytes;
  gsize         bytes_len;
};

gboolean  net_decoder_init        (NetDecoder    *dec,
                                   const guint8  *data,
                                   gsize          len,
                                   GError       **error);
int       net_decoder_next        (NetDecoder    *dec,
                                   NetField      *field,
                                   GError       **error);
char     *net_field_dup_utf8      (const NetField *field,
                                   GError       **error);

/* Writes @value as a LEB128 varint at @out (10 bytes at most); returns
 * the bytes written.  Inline, as the field writers below: an event's
 * encoding is a handful of them. */
static inline gsize
net_leb128_put (guint8  *out,
                guint64  value)
{
  gsize n = 0;

  do
    {
      guint8 byte = value & 0x7f;

      value >>= 7;
      out[n++] = byte | (value ? 0x80 : 0);
    }
  while (value);

  return n;
}

/* A payload built in memory, appended at once (each append to a
 * GByteArray costs more than the bytes it encodes): each writes its field
 * (or a bytes field's key and length, at most NET_FIELD_HEAD_MAX bytes)
 * at @out, the same bytes as the NetEncoder's, and returns their count. */
#define NET_FIELD_HEAD_MAX 20

/* A field's key (@field, @wire) and the varint @value after it. */
static inline gsize
net_field_put_key_varint (guint8  *out,
                          guint    field,
                          guint    wire,
                          guint64  value)
{
  gsize n = net_leb128_put (out, (guint64) field << 3 | wire);

  return n + net_leb128_put (out + n, value);
}

static inline gsize
net_field_put_uint (guint8  *out,
                    guint    field,
                    guint64  value)
{
  return net_field_put_key_varint (out, field, NET_WIRE_VARINT, value);
}

static inline gsize
net_field_put_int (guint8 *out,
                   guint   field,
                   gint64  value)
{
  return net_field_put_key_varint (out, field, NET_WIRE_SVARINT, ((guint64) value << 1) ^ (guint64) (value >> 63));
}

static inline gsize
net_field_put_bytes_head (guint8 *out,
                          guint   field,
                          gsize   len)
{
  return net_field_put_key_varint (out, field, NET_WIRE_BYTES, len);
}

gboolean  net_leb128_get          (const guint8  *data,
                                   gsize          len,
                                   gsize         *pos,
                                   guint64       *value);

/*
 * net_text_is_valid:
 * @s: bytes
 * @len: their count
 *
 * Whether @s is valid UTF-8 without NUL, as g_utf8_validate_len() (and so
 * net_field_dup_utf8()) says; ASCII (most texts) eight bytes at a time,
 * without its call.
 */
static inline gboolean
net_text_is_valid (const guint8 *s,
                   gsize         len)
{
  gsize i = 0;

  /* None with its top bit set, none zero (the test for a zero byte has
   * no false negative). */
  for (; i + 8 <= len; i += 8)
    {
      guint64 w;

      memcpy (&w, s + i, 8);
      if ((w | ((w - G_GUINT64_CONSTANT (0x0101010101010101)) & ~w)) &
          G_GUINT64_CONSTANT (0x8080808080808080))
        return g_utf8_validate_len ((const char *) s, len, NULL);
    }
  /* The rest, as the last eight bytes (some seen already) when there are
   * eight. */
  if (i < len && len >= 8)
    {
      guint64 w;

      memcpy (&w, s + len - 8, 8);
      if ((w | ((w - G_GUINT64_CONSTANT (0x0101010101010101)) & ~w)) &
          G_GUINT64_CONSTANT (0x8080808080808080))
        return g_utf8_validate_len ((const char *) s, len, NULL);
      return TRUE;
    }
  for (; i < len; i++)
    if (s[i] == 0 || s[i] >= 0x80)
      return g_utf8_validate_len ((const char *) s, len, NULL);
  return TRUE;
}

/*
 * net_leb128_get_short:
 * @p: where the varint starts; moved past it on success
 * @end: the end of the data
 * @value: (out): the value
 *
 * A decoder's fast path (a snapshot record read field by field in its
 * known order): a varint of up to 9 bytes, inline.  Every such encoding is
 * valid and gives the value net_leb128_get() gives; a longer or truncated
 * one returns %FALSE without reading past @end, for the caller to hand
 * the whole record to the exact decoder (which accepts or rejects it).
 */
G_ALWAYS_INLINE static inline gboolean
net_leb128_get_short (const guint8 **p,
                      const guint8  *end,
                      guint64       *value)
{
  const guint8 *q = *p;

  if (G_LIKELY (q < end && *q < 0x80))
    {
      *value = *q;
      *p = q + 1;
      return TRUE;
    }

#ifdef __GNUC__
  /* Eight bytes at once: the first clear top bit ends the varint; each
   * byte's low 7 bits move down into place (timestamps are 8 bytes).  A
   * 9-byte one goes on below. */
  if (end - q >= 8)
    {
      guint64 w, stops;

      memcpy (&w, q, 8);
      w = GUINT64_FROM_LE (w);
      stops = ~w & G_GUINT64_CONSTANT (0x8080808080808080);
      if (G_LIKELY (stops != 0))
        {
          guint n = ((guint) __builtin_ctzll (stops) >> 3) + 1;

          if (n < 8)
            w &= (G_GUINT64_CONSTANT (1) << (8 * n)) - 1;
          *value = (w & 0x7f) |
                   ((w >> 1) & (G_GUINT64_CONSTANT (0x7f) << 7)) |
                   ((w >> 2) & (G_GUINT64_CONSTANT (0x7f) << 14)) |
                   ((w >> 3) & (G_GUINT64_CONSTANT (0x7f) << 21)) |
                   ((w >> 4) & (G_GUINT64_CONSTANT (0x7f) << 28)) |
                   ((w >> 5) & (G_GUINT64_CONSTANT (0x7f) << 35)) |
                   ((w >> 6) & (G_GUINT64_CONSTANT (0x7f) << 42)) |
                   ((w >> 7) & (G_GUINT64_CONSTANT (0x7f) << 49));
          *p = q + n;
          return TRUE;
        }
    }
#endif

  {
    guint64 v = 0;

    for (guint shift = 0; shift < 63 && q < end; shift += 7)
      {
        guint8 byte = *q++;

        v |= (guint64) (byte & 0x7f) << shift;
        if (!(byte & 0x80))
          {
            *value = v;
            *p = q;
            return TRUE;
          }
      }
  }
  return FALSE;
}

/* The value of a signed varint's zigzag encoding (NET_WIRE_SVARINT). */
static inline gint64
net_zigzag_decode (guint64 v)
{
  return (gint64) (v >> 1) ^ -(gint64) (v & 1);
}

G_END_DECLS
