/* net-repl-msg.c: the replication messages' building blocks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "net-repl-msg-private.h"

/* Byte ranges received so far, kept merged and sorted. ------------------- */


/* The index of the first span of @spans (sorted, disjoint) that ends at
 * or after @offset, or spans->len: a binary search. */
static guint
coverage_find (GArray  *spans,
               guint64  offset)
{
  guint lo = 0, hi = spans->len;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (g_array_index (spans, NetReplSpan, mid).end < offset)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Adds [start, end) to @spans and to *@covered, the bytes they cover in
 * all: a binary search and one merge, so a part costs O(log n) to find
 * its place however many ranges arrived (and a memmove of the array when
 * it fills a gap). */
static void
coverage_add (GArray  *spans,
              guint64  start,
              guint64  end,
              guint64 *covered)
{
  NetReplSpan s = { start, end };
  guint i = coverage_find (spans, start);
  guint j = i;

  while (j < spans->len && g_array_index (spans, NetReplSpan, j).start <= s.end)
    {
      NetReplSpan *o = &g_array_index (spans, NetReplSpan, j);

      s.start = MIN (s.start, o->start);
      s.end = MAX (s.end, o->end);
      *covered -= o->end - o->start;
      j++;
    }
  *covered += s.end - s.start;
  if (j > i)
    {
      g_array_index (spans, NetReplSpan, i) = s;
      if (j > i + 1)
        g_array_remove_range (spans, i + 1, j - i - 1);
    }
  else
    g_array_insert_val (spans, i, s);
}

/* The first byte at or after @from that is not covered. */
static guint64
coverage_next_gap (GArray  *spans,
                   guint64  from)
{
  guint i = coverage_find (spans, from);

  /* Spans are merged when they touch, so at most one holds @from. */
  if (i < spans->len && g_array_index (spans, NetReplSpan, i).start <= from)
    from = MAX (from, g_array_index (spans, NetReplSpan, i).end);
  return from;
}

/* Parts ------------------------------------------------------------------- */

NetReplParts *
_net_repl_parts_new (guint8   log,
                     guint64  id,
                     guint64  tag,
                     guint64  total)
{
  NetReplParts *pa = g_new0 (NetReplParts, 1);

  pa->log = log;
  pa->id = id;
  pa->tag = tag;
  pa->total = total;
  pa->buf = g_byte_array_sized_new (total);
  g_byte_array_set_size (pa->buf, total);
  pa->spans = g_array_new (FALSE, FALSE, sizeof (NetReplSpan));
  return pa;
}

void
_net_repl_parts_free (gpointer data)
{
  NetReplParts *pa = data;

  g_byte_array_unref (pa->buf);
  g_array_unref (pa->spans);
  g_free (pa);
}

/* Copies in @n bytes at @offset (within the total: the caller checked);
 * TRUE once every byte arrived. */
gboolean
_net_repl_parts_add (NetReplParts *pa,
                     guint64       offset,
                     const guint8 *bytes,
                     gsize         n)
{
  g_assert (offset <= pa->total && n <= pa->total - offset);

  memcpy (pa->buf->data + offset, bytes, n);
  coverage_add (pa->spans, offset, offset + n, &pa->covered);
  return pa->covered == pa->total;
}

/* The first byte at or after @from that did not arrive. */
guint64
_net_repl_parts_next_gap (NetReplParts *pa,
                          guint64       from)
{
  return coverage_next_gap (pa->spans, from);
}

/* The whole, once _net_repl_parts_add() said so; frees @pa. */
GBytes *
_net_repl_parts_free_to_bytes (NetReplParts *pa)
{
  GBytes *bytes = g_byte_array_free_to_bytes (g_steal_pointer (&pa->buf));

  g_array_unref (pa->spans);
  g_free (pa);
  return bytes;
}

/* Takes @pa out of @all, which no longer frees it. */
NetReplParts *
_net_repl_parts_take (GPtrArray    *all,
                      NetReplParts *pa)
{
  guint i;

  if (!g_ptr_array_find (all, pa, &i))
    g_assert_not_reached ();
  return g_ptr_array_steal_index_fast (all, i);
}

/* The one of @all for @id of @log, or NULL. */
NetReplParts *
_net_repl_parts_find (GPtrArray *all,
                      guint8     log,
                      guint64    id)
{
  for (guint i = 0; i < all->len; i++)
    {
      NetReplParts *pa = g_ptr_array_index (all, i);

      if (pa->log == log && pa->id == id)
        return pa;
    }
  return NULL;
}

/* The first 8 bytes of BLAKE2b-256 over the timestamp then the payload. */
guint64
_net_repl_event_hash (gint64  timestamp,
                      GBytes *payload)
{
  crypto_generichash_state st;
  guint8 ts[8], out[32];
  guint64 h = 0;
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  for (guint i = 0; i < 8; i++)
    ts[i] = (guint8) ((guint64) timestamp >> (8 * i));
  crypto_generichash_init (&st, NULL, 0, sizeof out);
  crypto_generichash_update (&st, ts, sizeof ts);
  crypto_generichash_update (&st, data, len);
  crypto_generichash_final (&st, out, sizeof out);
  for (guint i = 0; i < 8; i++)
    h |= (guint64) out[i] << (8 * i);
  return h;
}

/* A forwarded event's digest: the first 8 bytes of BLAKE2b-256 over its
 * encoding (which holds its origin and app_seq), never 0. */
guint64
_net_repl_forward_digest (const guint8 *data,
                          gsize         len)
{
  guint8 out[32];
  guint64 h = 0;

  crypto_generichash (out, sizeof out, data, len, NULL, 0);
  for (guint i = 0; i < 8; i++)
    h |= (guint64) out[i] << (8 * i);
  return h != 0 ? h : 1;
}

