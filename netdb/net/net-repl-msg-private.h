/* net-repl-msg-private.h: the replication messages' building blocks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What net-repl.c decodes and encodes messages with (docs/net-protocol.md,
 * section 4), apart from the leader and the follower so that it can be
 * tested and fuzzed alone: a bounds-checked reader and a writer of
 * little-endian integers, the reassembly of something sent in parts, and
 * the two digests the protocol names events by.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Byte ranges received so far, kept merged and sorted. */
typedef struct
{
  guint64 start;
  guint64 end;
} NetReplSpan;

/* Something sent in parts that arrive in any order, some twice, some
 * never: an event too large for one message (FRAGMENTs, FORWARDs) or a
 * snapshot.  @log, @id and @tag say what it is: the follower keys a
 * fragmented event by its seq and timestamp, the leader a forwarded one
 * by its app_seq and digest. */
typedef struct
{
  guint8      log;
  guint64     id;
  guint64     tag;
  gint64      touched;    /* monotonic: when a part last arrived */
  guint64     total;
  guint64     covered;    /* bytes of @spans */
  GByteArray *buf;
  GArray     *spans;      /* NetReplSpan: the bytes received so far */
} NetReplParts;

NetReplParts *_net_repl_parts_new          (guint8        log,
                                            guint64       id,
                                            guint64       tag,
                                            guint64       total);
void          _net_repl_parts_free         (gpointer      data);
/* Copies in @n bytes at @offset (within the total: the caller checked);
 * TRUE once every byte arrived. */
gboolean      _net_repl_parts_add          (NetReplParts *pa,
                                            guint64       offset,
                                            const guint8 *bytes,
                                            gsize         n);
/* The first byte at or after @from that did not arrive. */
guint64       _net_repl_parts_next_gap     (NetReplParts *pa,
                                            guint64       from);
/* The whole, once _net_repl_parts_add() said so; frees @pa. */
GBytes       *_net_repl_parts_free_to_bytes (NetReplParts *pa);
/* Takes @pa out of @all, which no longer frees it. */
NetReplParts *_net_repl_parts_take         (GPtrArray    *all,
                                            NetReplParts *pa);
/* The one of @all for @id of @log, or NULL. */
NetReplParts *_net_repl_parts_find         (GPtrArray    *all,
                                            guint8        log,
                                            guint64       id);

/* The first 8 bytes of BLAKE2b-256 over the timestamp then the payload. */
guint64       _net_repl_event_hash         (gint64        timestamp,
                                            GBytes       *payload);
/* A forwarded event's digest: the first 8 bytes of BLAKE2b-256 over its
 * encoding (which holds its origin and app_seq), never 0. */
guint64       _net_repl_forward_digest     (const guint8 *data,
                                            gsize         len);

/* Reading and writing messages ------------------------------------------- */

typedef struct
{
  const guint8 *p;
  gsize         len;
  gsize         off;
  gboolean      ok;
} NetReplReader;

static inline void
_net_repl_reader_init (NetReplReader       *r,
             const guint8 *p,
             gsize         len)
{
  r->p = p;
  r->len = len;
  r->off = 0;
  r->ok = TRUE;
}

static inline const guint8 *
_net_repl_reader_take (NetReplReader *r,
        gsize   n)
{
  const guint8 *p;

  if (!r->ok || r->len - r->off < n)
    {
      r->ok = FALSE;
      return NULL;
    }
  p = r->p + r->off;
  r->off += n;
  return p;
}

static inline guint64
_net_repl_reader_uint (NetReplReader *r,
        guint   n)
{
  const guint8 *p = _net_repl_reader_take (r, n);
  guint64 v = 0;

  if (p == NULL)
    return 0;
  for (guint i = 0; i < n; i++)
    v |= (guint64) p[i] << (8 * i);
  return v;
}

#define r_u8(r)  ((guint8) _net_repl_reader_uint ((r), 1))
#define r_u16(r) ((guint16) _net_repl_reader_uint ((r), 2))
#define r_u32(r) ((guint32) _net_repl_reader_uint ((r), 4))
#define r_u64(r) (_net_repl_reader_uint ((r), 8))
#define r_i64(r) ((gint64) _net_repl_reader_uint ((r), 8))

static inline gsize
_net_repl_reader_left (NetReplReader *r)
{
  return r->ok ? r->len - r->off : 0;
}

/* Everything was read, and nothing is left over. */
static inline gboolean
_net_repl_reader_done (NetReplReader *r)
{
  return r->ok && r->off == r->len;
}

static inline void
_net_repl_writer_uint (GByteArray *b,
        guint64     v,
        guint       n)
{
  guint8 tmp[8];

  for (guint i = 0; i < n; i++)
    tmp[i] = (guint8) (v >> (8 * i));
  g_byte_array_append (b, tmp, n);
}

#define w_u8(b, v)  _net_repl_writer_uint ((b), (v), 1)
#define w_u16(b, v) _net_repl_writer_uint ((b), (v), 2)
#define w_u32(b, v) _net_repl_writer_uint ((b), (v), 4)
#define w_u64(b, v) _net_repl_writer_uint ((b), (v), 8)
#define w_i64(b, v) _net_repl_writer_uint ((b), (guint64) (v), 8)


G_END_DECLS
