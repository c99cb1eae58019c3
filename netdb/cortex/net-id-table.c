/* net-id-table.c: entries by their u64 id
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-id-table-private.h"

#define MIN_BITS 4
/* A dense part this small is allowed however empty. */
#define DENSE_MIN 256

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
  table->reserve = 0;
  table->hash_min = G_MAXUINT64;
  table->dense = NULL;
  table->dense_cap = 0;
  table->dense_size = 0;
  table_alloc (table, MIN_BITS);
}

void
_net_id_table_clear (NetIdTable *table)
{
  g_clear_pointer (&table->slots, g_free);
  g_clear_pointer (&table->dense, g_free);
  table->size = 0;
  table->mask = 0;
  table->reserve = 0;
  table->hash_min = G_MAXUINT64;
  table->dense_cap = 0;
  table->dense_size = 0;
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
  guint bits = 64 - table->shift + 1;

  /* A reserve made room for many at once: take it now, in one rehash. */
  while (((guint64) table->size + table->reserve) * 4 > ((guint64) 1 << bits) * 3)
    bits++;
  table->reserve = 0;
  rehash (table, bits);
}

/* The hash grows when it needs to (the entries may all go to the dense
 * part, which then needs no room in it). */
void
_net_id_table_reserve (NetIdTable *table,
                       guint       n)
{
  table->reserve = n;
}

/* The hash without the entries of ids below dense_cap, which go to the
 * dense part. */
static void
dense_take_over (NetIdTable *table)
{
  gpointer *old = table->slots;
  guint old_cap = table->mask + 1;

  table->size = 0;
  table->hash_min = G_MAXUINT64;
  table_alloc (table, 64 - table->shift);
  for (guint i = 0; i < old_cap; i++)
    {
      guint64 id;

      if (old[i] == NULL)
        continue;
      id = *(const guint64 *) old[i];
      if (id < table->dense_cap)
        {
          table->dense[id] = old[i];
          table->dense_size++;
        }
      else
        {
          place (table, old[i]);
          table->size++;
          table->hash_min = MIN (table->hash_min, id);
        }
    }
  g_free (old);
}

/* Makes the dense part hold @id when it stays at least half full.  It
 * grows by an eighth, so ids given out with gaps (a third of them
 * completed tasks, in a snapshot that lists the pending ones first) still
 * fill it enough.  Taking the hash's ids below its new end over reads the
 * whole hash: it does so only while the hash is small beside the dense
 * part (a quarter of the eighth it grows by), so that reading costs O(1)
 * an insert; a larger hash keeps its ids. */
static gboolean
dense_grow (NetIdTable *table,
            guint64     id)
{
  guint64 cap = table->dense_cap;

  cap = MAX (cap + cap / 8, DENSE_MIN);
  cap = MAX (cap, id + 1);
  if (cap > DENSE_MIN && (table->dense_size + 1) * 2 < cap)
    return FALSE;
  if (cap > G_MAXSIZE / sizeof (gpointer) / 2)
    return FALSE;
  if (table->hash_min < cap && (guint64) table->size * 32 > cap)
    return FALSE;

  table->dense = g_renew (gpointer, table->dense, cap);
  memset (table->dense + table->dense_cap, 0, (cap - table->dense_cap) * sizeof (gpointer));
  table->dense_cap = cap;
  if (table->hash_min < cap)
    dense_take_over (table);
  return TRUE;
}

void
_net_id_table_insert (NetIdTable *table,
                      gpointer    entry)
{
  guint64 id = *(const guint64 *) entry;
  guint i;

  if (id < table->dense_cap || (id < table->dense_cap + table->dense_cap / 2 + DENSE_MIN &&
                                dense_grow (table, id)))
    {
      table->dense_size += table->dense[id] == NULL;
      table->dense[id] = entry;
      return;
    }

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
  table->hash_min = MIN (table->hash_min, id);
}

gpointer
_net_id_table_remove (NetIdTable *table,
                      guint64     id)
{
  guint i = _net_id_table_slot (table, id), j;
  gpointer found;

  if (id < table->dense_cap)
    {
      found = table->dense[id];
      table->dense[id] = NULL;
      table->dense_size -= found != NULL;
      return found;
    }

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
