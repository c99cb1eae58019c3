/* net-db-snapshot.c: the whole-database snapshot bundle
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See net-db-snapshot-private.h and docs/snapshot-format.md.  Every
 * length is checked before it is used: a truncated, padded, bit-flipped
 * or forged bundle is NET_ERROR_SNAPSHOT_INVALID, never a crash, and the
 * decompressed size is bounded before anything is allocated.
 */

#include "config.h"

#include <string.h>

#include <xxhash.h>
#include <zstd.h>

#include "net-error.h"
#include "net-codec-private.h"
#include "net-db-snapshot-private.h"

/* A decompression bomb costs what it expands to: a 33 KB frame of zeros
 * is a valid 1 GiB body.  Bodies up to FREE_BODY_LEN are accepted at any
 * ratio; a larger one must compress no better than MAX_ZSTD_RATIO : 1,
 * which no real snapshot comes near (they compress about 3–20 : 1).  An
 * application that opens larger or stranger snapshots raises the limit
 * (net_db_builder_max_snapshot_size()).  The body is decompressed in
 * steps, so memory follows what the frame really yields, not what its
 * header claims. */
#define FREE_BODY_LEN   (G_GUINT64_CONSTANT (64) << 20)
#define MAX_ZSTD_RATIO  1024
#define DEFAULT_MAX_BODY_LEN (G_GUINT64_CONSTANT (16) << 30)
#define FIRST_OUT_CHUNK (G_GUINT64_CONSTANT (1) << 20)
/* The first output buffer also holds what a frame of real snapshot data
 * yields at this ratio (they compress about 3–20 : 1): such a body is
 * then decompressed in one pass, straight into it, where a buffer too
 * small for it makes libzstd decode through its own window and copy out,
 * and the output regrow.  Memory still follows the frame's real size. */
#define FIRST_OUT_RATIO 32
/* Level 1 is both faster and, on model snapshots, as small as 3. */
#define ZSTD_LEVEL      1
#define MT_MIN_BODY     (4 << 20)

static void
section_free (gpointer data)
{
  NetDbSection *s = data;

  g_free (s->name);
  g_clear_pointer (&s->data, g_bytes_unref);
  g_free (s);
}

NetDbBundle *
_net_db_bundle_new (void)
{
  NetDbBundle *self = g_new0 (NetDbBundle, 1);

  self->sections = g_ptr_array_new_with_free_func (section_free);
  return self;
}

void
_net_db_bundle_free (NetDbBundle *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->sections);
  g_free (self);
}

NetDbSection *
_net_db_bundle_add (NetDbBundle *self,
                    const char  *name,
                    guint64      applied_seq,
                    GBytes      *data)
{
  NetDbSection *s = g_new0 (NetDbSection, 1);

  s->name = g_strdup (name);
  s->applied_seq = applied_seq;
  s->data = g_bytes_ref (data);
  g_ptr_array_add (self->sections, s);
  return s;
}

/* XXH3-64 of the event's payload, seeded with its timestamp: two logs
 * that hold the same event at a seq share a history up to it, for all a
 * restore needs to know. */
guint64
_net_db_event_digest (gint64  timestamp,
                      GBytes *payload)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  return XXH3_64bits_withSeed (data, len, (XXH64_hash_t) timestamp);
}

NetDbSection *
_net_db_bundle_find (NetDbBundle *self,
                     const char  *name)
{
  for (guint i = 0; i < self->sections->len; i++)
    {
      NetDbSection *s = g_ptr_array_index (self->sections, i);

      if (g_str_equal (s->name, name))
        return s;
    }
  return NULL;
}

static inline void
put_u32_le (guint8  *out,
            guint32  v)
{
  v = GUINT32_TO_LE (v);
  memcpy (out, &v, 4);
}

static inline void
put_u64_le (guint8  *out,
            guint64  v)
{
  v = GUINT64_TO_LE (v);
  memcpy (out, &v, 8);
}

static inline guint32
get_u32_le (const guint8 *in)
{
  guint32 v;

  memcpy (&v, in, 4);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get_u64_le (const guint8 *in)
{
  guint64 v;

  memcpy (&v, in, 8);
  return GUINT64_FROM_LE (v);
}

static inline void
put_varint (GByteArray *buf,
            guint64     value)
{
  guint8 tmp[10];

  g_byte_array_append (buf, tmp, net_leb128_put (tmp, value));
}

/* One frame that records its content size.  A large body is compressed
 * by several threads when libzstd can (the frame is the same format). */
static gsize
compress (guint8       *out,
          gsize         out_len,
          const guint8 *in,
          gsize         in_len)
{
  ZSTD_CCtx *cctx = ZSTD_createCCtx ();
  gsize zlen;

  if (cctx == NULL)
    return ZSTD_compress (out, out_len, in, in_len, ZSTD_LEVEL);

  ZSTD_CCtx_setParameter (cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
  ZSTD_CCtx_setParameter (cctx, ZSTD_c_contentSizeFlag, 1);
  if (in_len >= MT_MIN_BODY && g_get_num_processors () > 1)
    ZSTD_CCtx_setParameter (cctx, ZSTD_c_nbWorkers, MIN (g_get_num_processors (), 4));

  zlen = ZSTD_compress2 (cctx, out, out_len, in, in_len);
  ZSTD_freeCCtx (cctx);
  return zlen;
}

GBytes *
_net_db_bundle_seal (const guint8  *body,
                     gsize          body_len,
                     GError       **error)
{
  g_autoptr(GByteArray) out = NULL;
  gsize bound = ZSTD_compressBound (body_len);
  gsize zlen;
  guint8 *p;

  if (ZSTD_isError (bound) || bound > G_MAXUINT - NET_DB_BUNDLE_HEADER_LEN - NET_DB_BUNDLE_TRAILER_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE,
                   "a snapshot of %" G_GSIZE_FORMAT " bytes is too large", body_len);
      return NULL;
    }

  out = g_byte_array_sized_new (NET_DB_BUNDLE_HEADER_LEN + bound + NET_DB_BUNDLE_TRAILER_LEN);
  g_byte_array_set_size (out, NET_DB_BUNDLE_HEADER_LEN + bound);
  p = out->data;

  zlen = compress (p + NET_DB_BUNDLE_HEADER_LEN, bound, body, body_len);
  if (ZSTD_isError (zlen))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                   "cannot compress the snapshot: %s", ZSTD_getErrorName (zlen));
      return NULL;
    }

  memcpy (p, NET_DB_BUNDLE_MAGIC, NET_DB_BUNDLE_MAGIC_LEN);
  put_u32_le (p + 8, NET_DB_BUNDLE_VERSION);
  put_u32_le (p + 12, 0);
  put_u64_le (p + 16, body_len);
  put_u64_le (p + 24, zlen);

  g_byte_array_set_size (out, NET_DB_BUNDLE_HEADER_LEN + zlen + NET_DB_BUNDLE_TRAILER_LEN);
  put_u64_le (out->data + NET_DB_BUNDLE_HEADER_LEN + zlen,
              XXH3_64bits (out->data, NET_DB_BUNDLE_HEADER_LEN + zlen));

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

GBytes *
_net_db_bundle_write (NetDbBundle  *self,
                      GError      **error)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();
  g_autoptr(GByteArray) head = g_byte_array_new ();
  NetEncoder enc;

  net_encoder_init (&enc, body);
  if (self->created_at != 0)
    net_encoder_put_int (&enc, NET_DB_BUNDLE_F_CREATED_AT, self->created_at);
  if (self->origin != 0)
    net_encoder_put_uint (&enc, NET_DB_BUNDLE_F_ORIGIN, self->origin);

  for (guint i = 0; i < self->sections->len; i++)
    {
      NetDbSection *s = g_ptr_array_index (self->sections, i);
      gsize data_len;
      const guint8 *data = g_bytes_get_data (s->data, &data_len);
      guint8 tmp[10];
      gsize data_key_len, data_len_len;
      NetEncoder sub;

      /* The section is a nested message; its large data field is written
       * straight into the body rather than copied through a buffer. */
      g_byte_array_set_size (head, 0);
      net_encoder_init (&sub, head);
      net_encoder_put_string (&sub, NET_DB_SECTION_F_NAME, s->name);
      net_encoder_put_uint (&sub, NET_DB_SECTION_F_APPLIED_SEQ, s->applied_seq);
      if (s->has_event_digest)
        net_encoder_put_uint (&sub, NET_DB_SECTION_F_EVENT_DIGEST, s->event_digest);

      data_key_len = net_leb128_put (tmp, (guint64) NET_DB_SECTION_F_DATA << 3 | NET_WIRE_BYTES);
      data_len_len = net_leb128_put (tmp, data_len);

      if ((guint64) body->len + head->len + data_key_len + data_len_len + data_len + 32 > G_MAXUINT)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE,
                       "the %s snapshot is too large for a bundle", s->name);
          return NULL;
        }

      put_varint (body, (guint64) NET_DB_BUNDLE_F_SECTION << 3 | NET_WIRE_BYTES);
      put_varint (body, head->len + data_key_len + data_len_len + data_len);
      g_byte_array_append (body, head->data, head->len);
      put_varint (body, (guint64) NET_DB_SECTION_F_DATA << 3 | NET_WIRE_BYTES);
      put_varint (body, data_len);
      g_byte_array_append (body, data, data_len);
    }

  return _net_db_bundle_seal (body->data, body->len, error);
}

static gpointer
invalid (GError     **error,
         const char  *format,
         ...) G_GNUC_PRINTF (2, 3);

static gpointer
invalid (GError     **error,
         const char  *format,
         ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID,
               "not a valid netdb snapshot: %s", what);
  return NULL;
}

static gboolean
read_section (NetDbBundle     *self,
              GBytes          *body,
              const NetField  *outer,
              GError         **error)
{
  g_autofree char *name = NULL;
  const guint8 *data = NULL;
  gsize data_len = 0;
  gboolean has_data = FALSE;
  guint64 seq = 0;
  gboolean has_digest = FALSE;
  guint64 digest = 0;
  NetDecoder dec;
  NetField f;
  int r;

  if (outer->wire != NET_WIRE_BYTES ||
      !net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    {
      invalid (error, "malformed section");
      return FALSE;
    }

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case NET_DB_SECTION_F_NAME:
          g_clear_pointer (&name, g_free);
          name = net_field_dup_utf8 (&f, NULL);
          if (name == NULL)
            {
              invalid (error, "a section name is not UTF-8 text");
              return FALSE;
            }
          break;

        case NET_DB_SECTION_F_DATA:
          if (f.wire != NET_WIRE_BYTES)
            {
              invalid (error, "malformed section data");
              return FALSE;
            }
          data = f.bytes;
          data_len = f.bytes_len;
          has_data = TRUE;
          break;

        case NET_DB_SECTION_F_APPLIED_SEQ:
          if (f.wire != NET_WIRE_VARINT)
            {
              invalid (error, "malformed section seq");
              return FALSE;
            }
          seq = f.uint_value;
          break;

        case NET_DB_SECTION_F_EVENT_DIGEST:
          if (f.wire != NET_WIRE_VARINT)
            {
              invalid (error, "malformed section digest");
              return FALSE;
            }
          digest = f.uint_value;
          has_digest = TRUE;
          break;

        default:
          /* A field of a newer writer. */
          break;
        }
    }

  if (r < 0)
    {
      invalid (error, "malformed section");
      return FALSE;
    }
  if (name == NULL || !has_data)
    {
      invalid (error, "a section lacks its %s", name == NULL ? "name" : "data");
      return FALSE;
    }
  if (_net_db_bundle_find (self, name) != NULL)
    {
      invalid (error, "two “%s” sections", name);
      return FALSE;
    }

  {
    const guint8 *base = g_bytes_get_data (body, NULL);
    g_autoptr(GBytes) slice = g_bytes_new_from_bytes (body, data - base, data_len);

    NetDbSection *s = _net_db_bundle_add (self, name, seq, slice);

    s->has_event_digest = has_digest;
    s->event_digest = digest;
  }

  return TRUE;
}

/* Decompresses exactly @body_len bytes from the one frame in @zdata,
 * growing the output as the frame yields it. */
static guint8 *
decompress_stream (const guint8  *zdata,
                   gsize          zlen,
                   gsize          body_len,
                   GError       **error)
{
  ZSTD_DStream *dstream = ZSTD_createDStream ();
  ZSTD_inBuffer in = { zdata, zlen, 0 };
  ZSTD_outBuffer out = { NULL, 0, 0 };
  guint8 *raw = NULL;
  gsize capacity = MIN (body_len, MAX (FIRST_OUT_CHUNK,
                                       zlen <= G_MAXSIZE / FIRST_OUT_RATIO
                                       ? zlen * FIRST_OUT_RATIO : G_MAXSIZE));
  gsize r = 1;

  if (dstream == NULL)
    return invalid (error, "cannot set up decompression");

  raw = g_try_malloc (capacity);
  if (raw == NULL)
    {
      ZSTD_freeDStream (dstream);
      return invalid (error, "cannot allocate %" G_GSIZE_FORMAT " bytes for its body", capacity);
    }
  out.dst = raw;
  out.size = capacity;

  while (r != 0)
    {
      if (out.pos == out.size)
        {
          guint8 *grown;

          if (capacity == body_len)
            break;  /* the frame yields more than it declares */
          capacity = capacity > body_len / 2 ? body_len : capacity * 2;
          grown = g_try_realloc (raw, capacity);
          if (grown == NULL)
            {
              g_free (raw);
              ZSTD_freeDStream (dstream);
              return invalid (error, "cannot allocate %" G_GSIZE_FORMAT " bytes for its body", capacity);
            }
          raw = grown;
          out.dst = raw;
          out.size = capacity;
        }

      r = ZSTD_decompressStream (dstream, &out, &in);
      if (ZSTD_isError (r) || (r != 0 && in.pos == in.size && out.pos < out.size))
        break;
    }

  ZSTD_freeDStream (dstream);
  if (r != 0 || out.pos != body_len || in.pos != in.size)
    {
      g_free (raw);
      return invalid (error, "the compressed body is corrupt");
    }
  return raw;
}

NetDbBundle *
_net_db_bundle_read (GBytes  *bundle,
                     GError **error)
{
  return _net_db_bundle_read_full (bundle, 0, error);
}

NetDbBundle *
_net_db_bundle_read_full (GBytes   *bundle,
                          guint64   max_body_len,
                          GError  **error)
{
  g_autoptr(NetDbBundle) self = NULL;
  g_autoptr(GBytes) body = NULL;
  const guint8 *data, *zdata;
  guint8 *raw;
  gsize len;
  guint64 body_len, zlen, content_size;
  guint32 version, flags;
  NetDecoder dec;
  NetField f;
  int r;

  g_return_val_if_fail (bundle != NULL, NULL);

  data = g_bytes_get_data (bundle, &len);

  if (len < NET_DB_BUNDLE_MAGIC_LEN || memcmp (data, NET_DB_BUNDLE_MAGIC, NET_DB_BUNDLE_MAGIC_LEN) != 0)
    return invalid (error, "no snapshot magic (%" G_GSIZE_FORMAT " bytes)", len);
  if (len < NET_DB_BUNDLE_HEADER_LEN + NET_DB_BUNDLE_TRAILER_LEN)
    return invalid (error, "truncated at %" G_GSIZE_FORMAT " bytes", len);

  version = get_u32_le (data + 8);
  flags = get_u32_le (data + 12);
  body_len = get_u64_le (data + 16);
  zlen = get_u64_le (data + 24);

  if (version != NET_DB_BUNDLE_VERSION)
    return invalid (error, "format version %u; this netdb reads version %u",
                    version, NET_DB_BUNDLE_VERSION);
  if (zlen != len - NET_DB_BUNDLE_HEADER_LEN - NET_DB_BUNDLE_TRAILER_LEN)
    return invalid (error, "%" G_GSIZE_FORMAT " bytes, but its header announces %" G_GUINT64_FORMAT,
                    len, zlen <= G_MAXUINT64 - NET_DB_BUNDLE_HEADER_LEN - NET_DB_BUNDLE_TRAILER_LEN
                         ? zlen + NET_DB_BUNDLE_HEADER_LEN + NET_DB_BUNDLE_TRAILER_LEN : G_MAXUINT64);
  if (XXH3_64bits (data, len - NET_DB_BUNDLE_TRAILER_LEN) != get_u64_le (data + len - NET_DB_BUNDLE_TRAILER_LEN))
    return invalid (error, "checksum mismatch");
  if (flags != 0)
    return invalid (error, "unknown flags 0x%x", flags);

  /* The checksum only proves the writer meant it: bound the size anyway. */
  zdata = data + NET_DB_BUNDLE_HEADER_LEN;
  if (body_len == 0 || (guint64) (gsize) body_len != body_len)
    return invalid (error, "implausible body size %" G_GUINT64_FORMAT, body_len);
  if (max_body_len != 0 ? body_len > max_body_len
                        : body_len > DEFAULT_MAX_BODY_LEN ||
                          (body_len > FREE_BODY_LEN && body_len / MAX_ZSTD_RATIO > zlen))
    return invalid (error, "its body of %" G_GUINT64_FORMAT " bytes (from %" G_GUINT64_FORMAT
                    " compressed) is more than this database accepts; raise the limit with "
                    "net_db_builder_max_snapshot_size() if it is genuine", body_len, zlen);
  content_size = ZSTD_getFrameContentSize (zdata, zlen);
  if (content_size != body_len)
    return invalid (error, "the compressed body does not hold %" G_GUINT64_FORMAT " bytes", body_len);
  if (ZSTD_findFrameCompressedSize (zdata, zlen) != zlen)
    return invalid (error, "the compressed body is not one zstd frame");

  raw = decompress_stream (zdata, zlen, body_len, error);
  if (raw == NULL)
    return NULL;
  body = g_bytes_new_take (raw, body_len);

  self = _net_db_bundle_new ();
  if (!net_decoder_init (&dec, raw, body_len, NULL))
    return invalid (error, "unknown body encoding %u", raw[0]);

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case NET_DB_BUNDLE_F_CREATED_AT:
          if (f.wire != NET_WIRE_SVARINT)
            return invalid (error, "malformed creation time");
          self->created_at = f.int_value;
          break;

        case NET_DB_BUNDLE_F_ORIGIN:
          if (f.wire != NET_WIRE_VARINT)
            return invalid (error, "malformed origin");
          self->origin = f.uint_value;
          break;

        case NET_DB_BUNDLE_F_SECTION:
          if (!read_section (self, body, &f, error))
            return NULL;
          break;

        default:
          /* A field of a newer writer. */
          break;
        }
    }
  if (r < 0)
    return invalid (error, "malformed body");

  return g_steal_pointer (&self);
}
