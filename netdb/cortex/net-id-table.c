/* net-id-table.c: entries by their u64 id
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-id-table-private.h"

#define MIN_BITS 4

static void
table_alloc (NetIdTable *table,
             guint       bits)
{
  table->slots = g_new0 (gpointer, (gsize) 1 << bits);
  table->mask = (1u << bits) - 1;
  table->shift = 64 - bits;
}

void
_net_id_table_init (NetIdTable *table)
{
  table->size = 0;
  table_alloc (table, MIN_BITS);
}

void
_net_id_table_clear (NetIdTable *table)
{
  g_clear_pointer (&table->slots, g_free);
  table->size = 0;
  table->mask = 0;
}

static void
place (NetIdTable *table,
       gpointer    entry)
{
  guint i = _net_id_table_slot (table, *(const guint64 *) entry);

  while (table->slots[i] != NULL)
    i = (i + 1) & table->mask;
  table->slots[i] = entry;
}

static void
rehash (NetIdTable *table,
        guint       bits)
{
  gpointer *old = table->slots;
  guint old_cap = table->mask + 1;

  g_assert (bits < 32);
  table_alloc (table, bits);
  for (guint i = 0; i < old_cap; i++)
    if (old[i] != NULL)
      place (table, old[i]);
  g_free (old);
}

static void
grow (NetIdTable *table)
{
  rehash (table, 64 - table->shift + 1);
}

void
_net_id_table_reserve (NetIdTable *table,
                       guint       n)
{
  guint bits = 64 - table->shift;

  /* At most 3/4 full once the @n are in. */
  while (((guint64) table->size + n) * 4 > ((guint64) 1 << bits) * 3)
    bits++;
  if (bits != 64 - table->shift)
    rehash (table, bits);
}

void
_net_id_table_insert (NetIdTable *table,
                      gpointer    entry)
{
  guint64 id = *(const guint64 *) entry;
  guint i;

  if ((table->size + 1) * 4 > (table->mask + 1) * 3)
    grow (table);

  i = _net_id_table_slot (table, id);
  while (table->slots[i] != NULL)
    {
      if (*(const guint64 *) table->slots[i] == id)
        {
          table->slots[i] = entry;
          return;
        }
      i = (i + 1) & table->mask;
    }
  table->slots[i] = entry;
  table->size++;
}

gpointer
_net_id_table_remove (NetIdTable *table,
                      guint64     id)
{
  guint i = _net_id_table_slot (table, id), j;
  gpointer found;

  for (;;)
    {
      if (table->slots[i] == NULL)
        return NULL;
      if (*(const guint64 *) table->slots[i] == id)
        break;
      i = (i + 1) & table->mask;
    }
  found = table->slots[i];

  /* Backward shift: pull later members of the run into the hole when
   * their home slot allows it. */
  j = i;
  for (;;)
    {
      guint home;

      j = (j + 1) & table->mask;
      if (table->slots[j] == NULL)
        break;
      home = _net_id_table_slot (table, *(const guint64 *) table->slots[j]);
      /* Movable when home is not cyclically within (i, j]. */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
        {
          table->slots[i] = table->slots[j];
          i = j;
        }
    }
  table->slots[i] = NULL;
  table->size--;
  return found;
}
