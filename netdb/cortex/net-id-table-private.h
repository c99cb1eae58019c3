/* net-id-table-private.h: entries by their u64 id
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * An open-addressing hash set of entries whose first member is their
 * guint64 id: 8 bytes a slot, at most 3/4 full, Fibonacci hashing and
 * linear probing with backward-shift removal (no tombstones).  The table
 * does not own its entries.
 */
typedef struct
{
  gpointer *slots;
  guint     mask;      /* capacity - 1 */
  guint     size;
  guint     shift;     /* 64 - log2 (capacity) */
} NetIdTable;

void     _net_id_table_init    (NetIdTable *table);
void     _net_id_table_clear   (NetIdTable *table);
/* Makes room for @n entries at once (before filling a table in bulk). */
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
  guint i = _net_id_table_slot (table, id);

  for (;;)
    {
      gpointer e = table->slots[i];

      if (e == NULL || *(const guint64 *) e == id)
        return e;
      i = (i + 1) & table->mask;
    }
}

static inline guint
_net_id_table_size (const NetIdTable *table)
{
  return table->size;
}

/* Iterate with: for (i = 0; i <= table->mask; i++) if (table->slots[i]) … */

G_END_DECLS
