/* net-redex-format-private.h: the on-disk format of a RedEX log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A database directory holds a `LOCK` file (flock'ed by the one writer) and
 * `logs/`, with one directory per log.  A log directory holds:
 *
 *  - `META`: the log's name and its persisted floors (first retained seq
 *    and next-seq floor), replaced atomically (write, fsync, rename).
 *  - `<base seq, 20 digits>.seg`: segments, named by the seq of their first
 *    record.  Only the newest one is appended to; the others are sealed and
 *    immutable.
 *  - `<base seq, 20 digits>.idx`: the index of a sealed segment (one 64-bit
 *    offset per record), so opening does not read sealed data.
 *
 * Every integer is little-endian.  Checksums are XXH3-64.
 *
 * Segment header (32 bytes): magic "NRDXSEG1", u32 version, u32 header size,
 * u64 base seq, u64 checksum of the first 24 bytes.  Version 2 segments may
 * hold batch marks (below); version 1 segments (written before batches were
 * marked) hold only "REC1" records and are still read.  A writer that opens
 * a version 1 active segment rewrites its header as version 2 before it
 * appends, so that an older netdb refuses the log instead of misreading it.
 *
 * Record (32-byte header, then the payload): u32 marker, u32 payload length,
 * u64 seq, i64 timestamp (µs since the epoch), u64 checksum.  The checksum is
 * XXH3-64 of the payload seeded with XXH3-64 of the first 24 header bytes,
 * so it covers header and payload (the marker too).
 *
 * Batches: the marker is "REC1" for a record that ends its batch (a single
 * append is a batch of one) and "REC+" for every other record of a batch,
 * so a batch is a run of "REC+" records closed by one "REC1" record, always
 * within one segment.  Recovery and readers that follow a writer treat a
 * run of "REC+" records that no "REC1" closes as a torn tail: the whole
 * batch is dropped, never a prefix of it.
 *
 * Damage: a record that fails its checksum but is followed by valid records
 * with later seqs keeps its slot (bit rot in the middle of a log must not
 * lose what follows).  In the active segment, damage that looks like what a
 * power cut leaves (zeros in whole sectors, net_redex_damage_is_torn()) is
 * the end of the log instead: nothing after unsynced data was durable.
 *
 * Index (72-byte header, then u64 offsets): magic "NRDXIDX1", u32 version,
 * u32 reserved, u64 base seq, u64 count, u64 segment length, i64 min
 * timestamp, i64 max timestamp, u64 checksum of the offsets, u64 checksum of
 * the first 64 header bytes.
 *
 * META: magic "NRDXMETA", u32 version, u32 name length, u64 first seq,
 * u64 next-seq floor, the name, u64 checksum of everything before it.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_REDEX_SEG_MAGIC        "NRDXSEG1"
#define NET_REDEX_IDX_MAGIC        "NRDXIDX1"
#define NET_REDEX_META_MAGIC       "NRDXMETA"
#define NET_REDEX_FORMAT_VERSION   1
#define NET_REDEX_SEG_VERSION      2 /* batch marks */
#define NET_REDEX_SEG_VERSION_MIN  1
#define NET_REDEX_SEG_HEADER_SIZE  32
#define NET_REDEX_REC_HEADER_SIZE  32
#define NET_REDEX_IDX_HEADER_SIZE  72
#define NET_REDEX_META_FIXED_SIZE  32
#define NET_REDEX_REC_MARKER       0x31434552u /* "REC1": ends its batch */
#define NET_REDEX_REC_MARKER_MORE  0x2B434552u /* "REC+": its batch goes on */
#define NET_REDEX_MAX_PAYLOAD_HARD (G_MAXUINT32 - NET_REDEX_REC_HEADER_SIZE)
#define NET_REDEX_SECTOR_SIZE      512

typedef struct
{
  guint32  payload_len;
  guint64  seq;
  gint64   timestamp;
  gboolean more;      /* "REC+": more records of its batch follow */
} NetRedexRecordHeader;

typedef enum
{
  NET_REDEX_RECORD_OK,
  NET_REDEX_RECORD_INCOMPLETE, /* fewer bytes than the record claims */
  NET_REDEX_RECORD_BAD,        /* marker, checksum or seq wrong */
} NetRedexRecordStatus;

typedef struct
{
  guint64 base_seq;
  guint64 count;
  guint64 segment_length;
  gint64  min_timestamp;
  gint64  max_timestamp;
  guint64 offsets_checksum;
} NetRedexIndexHeader;

typedef struct
{
  guint64  first_seq;
  guint64  next_seq_floor;
  char    *name;
} NetRedexMeta;

static inline guint32
net_redex_read_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static inline guint64
net_redex_read_u64 (const guint8 *p)
{
  return (guint64) net_redex_read_u32 (p) | (guint64) net_redex_read_u32 (p + 4) << 32;
}

static inline void
net_redex_write_u32 (guint8 *p, guint32 v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static inline void
net_redex_write_u64 (guint8 *p, guint64 v)
{
  net_redex_write_u32 (p, (guint32) v);
  net_redex_write_u32 (p + 4, (guint32) (v >> 32));
}

void                 net_redex_segment_header_encode (guint8                 out[NET_REDEX_SEG_HEADER_SIZE],
                                                      guint64                base_seq);
gboolean             net_redex_segment_header_decode (const guint8          *data,
                                                      gsize                  len,
                                                      guint64               *base_seq);
guint32              net_redex_segment_header_version (const guint8         *data);
void                 net_redex_record_encode_header  (guint8                 out[NET_REDEX_REC_HEADER_SIZE],
                                                      guint64                seq,
                                                      gint64                 timestamp,
                                                      const guint8          *payload,
                                                      guint32                payload_len);
void                 net_redex_record_encode_header_full (guint8             out[NET_REDEX_REC_HEADER_SIZE],
                                                      guint64                seq,
                                                      gint64                 timestamp,
                                                      const guint8          *payload,
                                                      guint32                payload_len,
                                                      gboolean               more);
NetRedexRecordStatus net_redex_record_decode         (const guint8          *data,
                                                      gsize                  len,
                                                      guint64                expected_seq,
                                                      NetRedexRecordHeader  *header);
gsize                net_redex_record_resync         (const guint8          *data,
                                                      gsize                  len,
                                                      gsize                  from,
                                                      guint64                min_seq,
                                                      guint64                max_seq,
                                                      guint64               *found_seq);
gboolean             net_redex_damage_is_torn        (const guint8          *data,
                                                      guint64                base,
                                                      gsize                  p,
                                                      gsize                  r);
/* The offsets are @narrow (4 bytes each) when it is not NULL, else
 * @wide. */
GBytes              *net_redex_index_encode          (const NetRedexIndexHeader *header,
                                                      const guint32         *narrow,
                                                      const guint64         *wide);
gboolean             net_redex_index_header_decode   (const guint8          *data,
                                                      gsize                  len,
                                                      NetRedexIndexHeader   *header);
gboolean             net_redex_index_offsets_valid   (const NetRedexIndexHeader *header,
                                                      const guint8          *offsets_data,
                                                      gsize                  len);
GBytes              *net_redex_meta_encode           (const NetRedexMeta    *meta);
gboolean             net_redex_meta_decode           (const guint8          *data,
                                                      gsize                  len,
                                                      NetRedexMeta          *meta);
char                *net_redex_segment_file_name     (guint64                base_seq,
                                                      const char            *suffix);
gboolean             net_redex_segment_file_parse    (const char            *file_name,
                                                      const char            *suffix,
                                                      guint64               *base_seq);
char                *net_redex_name_to_dir_name      (const char            *name);

G_END_DECLS
