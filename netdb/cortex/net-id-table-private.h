/* net-id-table-private.h: entries by their u64 id
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Entries whose first member is their guint64 id, by id.  Two parts:
 *
 * - dense: the entries of ids below dense_cap, at dense[id].  Ids handed
 *   out in sequence (1, 2, 3…, the usual case) all land here, 8 bytes an
 *   id and one read a lookup.  It grows by an eighth to take
 *   a new id only while it stays at least half full, so ids at random
 *   never make it large;
 * - hash: the other ids, in an open-addressing hash set of 8 bytes a
 *   slot, at most 3/4 full, Fibonacci hashing and linear probing with
 *   backward-shift removal (no tombstones).  No id below dense_cap is in
 *   it (a dense part that grows takes its ids over).
 *
 * The table does not own its entries.
 */
typedef struct
{
  gpointer *slots;     /* hash */
  guint     mask;      /* capacity - 1 */
  guint     size;      /* entries in the hash */
  guint     shift;     /* 64 - log2 (capacity) */
  guint     reserve;   /* room for this many the first time the hash grows */
  guint64   hash_min;  /* no id in the hash is below it */
  gpointer *dense;
  guint64   dense_cap;
  guint64   dense_size;
} NetIdTable;

void     _net_id_table_init    (NetIdTable *table);
void     _net_id_table_clear   (NetIdTable *table);
/* Makes room for @n more entries at once (before filling a table in
 * bulk): the hash takes them in one growth, if they go there. */
void     _net_id_table_reserve (NetIdTable *table,
                                guint       n);
/* Replaces an entry with the same id. */
void     _net_id_table_insert  (NetIdTable *table,
                                gpointer    entry);
gpointer _net_id_table_remove  (NetIdTable *table,
                                guint64     id);

static inline guint
_net_id_table_slot (const NetIdTable *table,
                    guint64           id)
{
  return (guint) ((id * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> table->shift);
}

static inline gpointer
_net_id_table_lookup (const NetIdTable *table,
                      guint64           id)
{
  guint i;

  if (id < table->dense_cap)
    return table->dense[id];

  i = _net_id_table_slot (table, id);
  for (;;)
    {
      gpointer e = table->slots[i];

      if (e == NULL || *(const guint64 *) e == id)
        return e;
      i = (i + 1) & table->mask;
    }
}

/* Fetches where the entry of @id is early (a lookup will follow). */
static inline void
_net_id_table_prefetch (const NetIdTable *table,
                        guint64           id)
{
#ifdef __GNUC__
  if (id < table->dense_cap)
    __builtin_prefetch (&table->dense[id]);
  else
    __builtin_prefetch (&table->slots[_net_id_table_slot (table, id)]);
#endif
}

static inline guint
_net_id_table_size (const NetIdTable *table)
{
  return table->size + (guint) table->dense_size;
}

/* Every entry, in no order:
 *   guint64 pos = 0;
 *   while ((e = _net_id_table_next (table, &pos)) != NULL) …
 * The table must not change meanwhile. */
static inline gpointer
_net_id_table_next (const NetIdTable *table,
                    guint64          *pos)
{
  while (*pos < table->dense_cap)
    {
      gpointer e = table->dense[(*pos)++];

      if (e != NULL)
        return e;
    }
  while (table->slots != NULL && *pos - table->dense_cap <= table->mask)
    {
      gpointer e = table->slots[(*pos)++ - table->dense_cap];

      if (e != NULL)
        return e;
    }
  return NULL;
}

G_END_DECLS
