/* net-redex-format.c: encoding and checking of the on-disk structures
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Everything here works on byte buffers and never trusts them: it is what
 * the fuzzer drives.
 */

#include "config.h"

#include <string.h>
#include <xxhash.h>

#include "net-redex-format-private.h"

void
net_redex_segment_header_encode (guint8  out[NET_REDEX_SEG_HEADER_SIZE],
                                 guint64 base_seq)
{
  memcpy (out, NET_REDEX_SEG_MAGIC, 8);
  net_redex_write_u32 (out + 8, NET_REDEX_SEG_VERSION);
  net_redex_write_u32 (out + 12, NET_REDEX_SEG_HEADER_SIZE);
  net_redex_write_u64 (out + 16, base_seq);
  net_redex_write_u64 (out + 24, XXH3_64bits (out, 24));
}

gboolean
net_redex_segment_header_decode (const guint8 *data,
                                 gsize         len,
                                 guint64      *base_seq)
{
  if (len < NET_REDEX_SEG_HEADER_SIZE)
    return FALSE;
  if (memcmp (data, NET_REDEX_SEG_MAGIC, 8) != 0)
    return FALSE;
  if (net_redex_read_u32 (data + 8) < NET_REDEX_SEG_VERSION_MIN ||
      net_redex_read_u32 (data + 8) > NET_REDEX_SEG_VERSION ||
      net_redex_read_u32 (data + 12) != NET_REDEX_SEG_HEADER_SIZE)
    return FALSE;
  if (net_redex_read_u64 (data + 24) != XXH3_64bits (data, 24))
    return FALSE;
  *base_seq = net_redex_read_u64 (data + 16);
  return *base_seq != 0;
}

/* Of a header that net_redex_segment_header_decode() accepted. */
guint32
net_redex_segment_header_version (const guint8 *data)
{
  return net_redex_read_u32 (data + 8);
}

static inline guint64
record_checksum (const guint8 *header,
                 const guint8 *payload,
                 gsize         payload_len)
{
  return XXH3_64bits_withSeed (payload, payload_len, XXH3_64bits (header, 24));
}

void
net_redex_record_encode_header (guint8        out[NET_REDEX_REC_HEADER_SIZE],
                                guint64       seq,
                                gint64        timestamp,
                                const guint8 *payload,
                                guint32       payload_len)
{
  net_redex_record_encode_header_full (out, seq, timestamp, payload, payload_len, FALSE);
}

/* @more: the record is not the last of its batch. */
void
net_redex_record_encode_header_full (guint8        out[NET_REDEX_REC_HEADER_SIZE],
                                     guint64       seq,
                                     gint64        timestamp,
                                     const guint8 *payload,
                                     guint32       payload_len,
                                     gboolean      more)
{
  net_redex_write_u32 (out, more ? NET_REDEX_REC_MARKER_MORE : NET_REDEX_REC_MARKER);
  net_redex_write_u32 (out + 4, payload_len);
  net_redex_write_u64 (out + 8, seq);
  net_redex_write_u64 (out + 16, (guint64) timestamp);
  net_redex_write_u64 (out + 24, record_checksum (out, payload, payload_len));
}

/*
 * Checks the record at @data. With @expected_seq != 0 the record must carry
 * exactly that seq, which is how recovery rejects non-monotonic logs.
 */
NetRedexRecordStatus
net_redex_record_decode (const guint8         *data,
                         gsize                 len,
                         guint64               expected_seq,
                         NetRedexRecordHeader *header)
{
  guint32 payload_len;
  guint32 marker;
  guint64 seq;

  if (len < NET_REDEX_REC_HEADER_SIZE)
    return NET_REDEX_RECORD_INCOMPLETE;

  marker = net_redex_read_u32 (data);
  if (marker != NET_REDEX_REC_MARKER && marker != NET_REDEX_REC_MARKER_MORE)
    return NET_REDEX_RECORD_BAD;

  payload_len = net_redex_read_u32 (data + 4);
  if (payload_len > NET_REDEX_MAX_PAYLOAD_HARD)
    return NET_REDEX_RECORD_BAD;

  seq = net_redex_read_u64 (data + 8);
  if (seq == 0 || (expected_seq != 0 && seq != expected_seq))
    return NET_REDEX_RECORD_BAD;

  if (len - NET_REDEX_REC_HEADER_SIZE < payload_len)
    return NET_REDEX_RECORD_INCOMPLETE;

  if (net_redex_read_u64 (data + 24) !=
      record_checksum (data, data + NET_REDEX_REC_HEADER_SIZE, payload_len))
    return NET_REDEX_RECORD_BAD;

  header->payload_len = payload_len;
  header->seq = seq;
  header->timestamp = (gint64) net_redex_read_u64 (data + 16);
  header->more = marker == NET_REDEX_REC_MARKER_MORE;

  return NET_REDEX_RECORD_OK;
}

/*
 * After a bad record at @from, looks for the next valid record carrying a
 * seq in [@min_seq, @max_seq]. Returns its offset and seq, or 0 when none
 * follows, meaning the bad bytes are a torn tail rather than damage in the
 * middle of the log.
 */
gsize
net_redex_record_resync (const guint8 *data,
                         gsize         len,
                         gsize         from,
                         guint64       min_seq,
                         guint64       max_seq,
                         guint64      *found_seq)
{
  /* "REC", the part both markers share. */
  guint8 needle[3] = { 'R', 'E', 'C' };

  for (gsize p = from + 1; p + NET_REDEX_REC_HEADER_SIZE <= len; p++)
    {
      NetRedexRecordHeader header;
      const guint8 *hit;
      guint64 seq;

      hit = memmem (data + p, len - p, needle, sizeof needle);
      if (hit == NULL)
        break;
      p = hit - data;
      if (p + NET_REDEX_REC_HEADER_SIZE > len)
        break;
      seq = net_redex_read_u64 (data + p + 8);
      if (seq >= min_seq && seq <= max_seq &&
          net_redex_record_decode (data + p, len - p, seq, &header) == NET_REDEX_RECORD_OK)
        {
          *found_seq = seq;
          return p;
        }
    }

  return 0;
}

static gboolean
all_zero (const guint8 *data,
          gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

/*
 * Whether the damaged bytes [@p, @r) of an active segment (@data starts at
 * file offset @base) are what a power cut leaves rather than bit rot: data
 * that never reached the disk reads as zeros, in whole sectors (or the
 * part of a sector a write covered).  So the damage is torn when it holds
 * zeros from the record's first byte (a marker byte is never zero) to a
 * sector boundary, a whole zero sector, or zeros from a sector boundary to
 * the end of the damaged record.  Such a hole comes after everything that
 * was synced, so nothing after it was durable: recovery ends the log there
 * instead of keeping the records that follow.
 */
gboolean
net_redex_damage_is_torn (const guint8 *data,
                          guint64       base,
                          gsize         p,
                          gsize         r)
{
  const guint64 sector = NET_REDEX_SECTOR_SIZE;
  gsize ends[2] = { r, r };
  gsize e1;

  if (r <= p)
    return FALSE;

  /* Zeros from the first byte of the record to a sector boundary. */
  e1 = MIN (r, (gsize) ((base + p) / sector * sector + sector - base));
  if (all_zero (data + p, e1 - p))
    return TRUE;

  /* A whole sector of zeros. */
  for (gsize s = (gsize) (((base + p + sector - 1) / sector) * sector - base);
       s + sector <= r; s += sector)
    if (all_zero (data + s, sector))
      return TRUE;

  /* Zeros from a sector boundary to the end of the damaged record: the
   * next valid record, or the end the header claims. */
  if (r - p >= NET_REDEX_REC_HEADER_SIZE &&
      (net_redex_read_u32 (data + p) == NET_REDEX_REC_MARKER ||
       net_redex_read_u32 (data + p) == NET_REDEX_REC_MARKER_MORE))
    {
      guint64 claimed = (guint64) p + NET_REDEX_REC_HEADER_SIZE + net_redex_read_u32 (data + p + 4);

      if (claimed < r)
        ends[1] = claimed;
    }
  for (guint i = 0; i < G_N_ELEMENTS (ends); i++)
    {
      gsize e = ends[i];
      guint64 boundary = (base + e - 1) / sector * sector;
      gsize s;

      /* (@data may start mid-sector: no boundary before it counts.) */
      if (e <= p || boundary < base + p)
        continue;
      s = (gsize) (boundary - base);
      if (e - s >= 16 && all_zero (data + s, e - s))
        return TRUE;
    }

  return FALSE;
}

GBytes *
net_redex_index_encode (const NetRedexIndexHeader *header,
                        const guint32             *narrow,
                        const guint64             *wide)
{
  gsize size = NET_REDEX_IDX_HEADER_SIZE + header->count * 8;
  guint8 *buf = g_malloc (size);
  guint8 *entries = buf + NET_REDEX_IDX_HEADER_SIZE;

  for (guint64 i = 0; i < header->count; i++)
    net_redex_write_u64 (entries + i * 8, narrow != NULL ? narrow[i] : wide[i]);

  memcpy (buf, NET_REDEX_IDX_MAGIC, 8);
  net_redex_write_u32 (buf + 8, NET_REDEX_FORMAT_VERSION);
  net_redex_write_u32 (buf + 12, 0);
  net_redex_write_u64 (buf + 16, header->base_seq);
  net_redex_write_u64 (buf + 24, header->count);
  net_redex_write_u64 (buf + 32, header->segment_length);
  net_redex_write_u64 (buf + 40, (guint64) header->min_timestamp);
  net_redex_write_u64 (buf + 48, (guint64) header->max_timestamp);
  net_redex_write_u64 (buf + 56, XXH3_64bits (entries, header->count * 8));
  net_redex_write_u64 (buf + 64, XXH3_64bits (buf, 64));

  return g_bytes_new_take (buf, size);
}

gboolean
net_redex_index_header_decode (const guint8        *data,
                               gsize                len,
                               NetRedexIndexHeader *header)
{
  if (len < NET_REDEX_IDX_HEADER_SIZE)
    return FALSE;
  if (memcmp (data, NET_REDEX_IDX_MAGIC, 8) != 0)
    return FALSE;
  if (net_redex_read_u32 (data + 8) != NET_REDEX_FORMAT_VERSION)
    return FALSE;
  if (net_redex_read_u64 (data + 64) != XXH3_64bits (data, 64))
    return FALSE;

  header->base_seq = net_redex_read_u64 (data + 16);
  header->count = net_redex_read_u64 (data + 24);
  header->segment_length = net_redex_read_u64 (data + 32);
  header->min_timestamp = (gint64) net_redex_read_u64 (data + 40);
  header->max_timestamp = (gint64) net_redex_read_u64 (data + 48);
  header->offsets_checksum = net_redex_read_u64 (data + 56);

  if (header->base_seq == 0 ||
      header->count > (G_MAXUINT64 - header->base_seq) ||
      header->count > G_MAXSIZE / 8 - NET_REDEX_IDX_HEADER_SIZE)
    return FALSE;

  return TRUE;
}

/*
 * Checks the offsets of an index: their checksum, and that they stay in
 * order within the segment.
 */
gboolean
net_redex_index_offsets_valid (const NetRedexIndexHeader *header,
                               const guint8              *offsets_data,
                               gsize                      len)
{
  guint64 prev = 0;

  if (len != header->count * 8)
    return FALSE;
  if (XXH3_64bits (offsets_data, len) != header->offsets_checksum)
    return FALSE;

  for (guint64 i = 0; i < header->count; i++)
    {
      guint64 off = net_redex_read_u64 (offsets_data + i * 8);

      /* Damaged records may share an offset, so only non-decreasing. */
      if (off < NET_REDEX_SEG_HEADER_SIZE || off < prev ||
          off > header->segment_length)
        return FALSE;
      prev = off;
    }

  return TRUE;
}

GBytes *
net_redex_meta_encode (const NetRedexMeta *meta)
{
  gsize name_len = strlen (meta->name);
  gsize size = NET_REDEX_META_FIXED_SIZE + name_len + 8;
  guint8 *buf = g_malloc (size);

  memcpy (buf, NET_REDEX_META_MAGIC, 8);
  net_redex_write_u32 (buf + 8, NET_REDEX_FORMAT_VERSION);
  net_redex_write_u32 (buf + 12, name_len);
  net_redex_write_u64 (buf + 16, meta->first_seq);
  net_redex_write_u64 (buf + 24, meta->next_seq_floor);
  memcpy (buf + NET_REDEX_META_FIXED_SIZE, meta->name, name_len);
  net_redex_write_u64 (buf + size - 8, XXH3_64bits (buf, size - 8));

  return g_bytes_new_take (buf, size);
}

gboolean
net_redex_meta_decode (const guint8 *data,
                       gsize         len,
                       NetRedexMeta *meta)
{
  guint32 name_len;

  if (len < NET_REDEX_META_FIXED_SIZE + 8)
    return FALSE;
  if (memcmp (data, NET_REDEX_META_MAGIC, 8) != 0 ||
      net_redex_read_u32 (data + 8) != NET_REDEX_FORMAT_VERSION)
    return FALSE;
  name_len = net_redex_read_u32 (data + 12);
  if (name_len > 255 || len != NET_REDEX_META_FIXED_SIZE + name_len + 8)
    return FALSE;
  if (net_redex_read_u64 (data + len - 8) != XXH3_64bits (data, len - 8))
    return FALSE;

  meta->first_seq = net_redex_read_u64 (data + 16);
  meta->next_seq_floor = net_redex_read_u64 (data + 24);
  meta->name = g_strndup ((const char *) data + NET_REDEX_META_FIXED_SIZE, name_len);

  if (meta->first_seq == 0 || meta->next_seq_floor == 0 ||
      strlen (meta->name) != name_len)
    {
      g_clear_pointer (&meta->name, g_free);
      return FALSE;
    }

  return TRUE;
}

char *
net_redex_segment_file_name (guint64     base_seq,
                             const char *suffix)
{
  return g_strdup_printf ("%020" G_GUINT64_FORMAT "%s", base_seq, suffix);
}

gboolean
net_redex_segment_file_parse (const char *file_name,
                              const char *suffix,
                              guint64    *base_seq)
{
  gsize suffix_len = strlen (suffix);
  guint64 v = 0;

  if (strlen (file_name) != 20 + suffix_len ||
      strcmp (file_name + 20, suffix) != 0)
    return FALSE;

  for (guint i = 0; i < 20; i++)
    {
      if (!g_ascii_isdigit (file_name[i]))
        return FALSE;
      if (v > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      v = v * 10 + (file_name[i] - '0');
    }

  *base_seq = v;
  return v != 0;
}

/*
 * Log names may contain '/', but each log lives in one directory entry.
 * '/' becomes "%2f" ('%' is not allowed in names, so this is injective);
 * names whose escaped form would be too long for a file name are hashed
 * (the '~' prefix cannot start an escaped name).  The META file keeps the
 * real name either way.
 */
char *
net_redex_name_to_dir_name (const char *name)
{
  GString *s = g_string_new (NULL);

  for (const char *p = name; *p; p++)
    {
      if (*p == '/')
        g_string_append (s, "%2f");
      else
        g_string_append_c (s, *p);
    }

  if (s->len > 200)
    {
      XXH128_hash_t h = XXH3_128bits (name, strlen (name));

      g_string_free (s, TRUE);
      return g_strdup_printf ("~%016" G_GINT64_MODIFIER "x%016" G_GINT64_MODIFIER "x",
                              (guint64) h.high64, (guint64) h.low64);
    }

  return g_string_free (s, FALSE);
}
