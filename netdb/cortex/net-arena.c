/* net-arena.c: small blocks of memory without malloc's overhead
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-arena-private.h"
#include "net-pages-private.h"

#define ROUND8(size) (((size) + 7) & ~(gsize) 7)

void
_net_arena_init (NetArena *arena)
{
  memset (arena, 0, sizeof *arena);
}

void
_net_arena_clear (NetArena *arena)
{
  g_clear_pointer (&arena->slabs, g_ptr_array_unref);
  g_clear_pointer (&arena->huge, g_ptr_array_unref);
  _net_arena_init (arena);
}

gpointer
_net_arena_alloc (NetArena *arena,
                  gsize     size)
{
  gsize rounded = ROUND8 (size);
  gpointer block;

  g_assert (size > 0);

  if (rounded > NET_ARENA_MAX_SIZE)
    return g_malloc (size);

  arena->in_use += rounded;
  block = arena->free[rounded / 8 - 1];
  if (block != NULL)
    {
      arena->free[rounded / 8 - 1] = *(gpointer *) block;
      return block;
    }

  if (arena->left < rounded)
    {
      /* The rest of the slab (less than a block) goes unused.  An arena
       * that grew past NET_ARENA_BIG_AFTER bytes takes larger slabs and
       * asks for huge pages in them: a first touch of a page costs
       * microseconds in some kernels (virtual machines), as much as a
       * hundred blocks, and a huge page takes one fault for 512 pages. */
      gsize slab = NET_ARENA_SLAB_SIZE;

      if (arena->slab_bytes >= NET_ARENA_BIG_AFTER)
        {
          slab = NET_ARENA_BIG_SLAB_SIZE;
          arena->next = _net_pages_alloc_huge ();
          if (arena->huge == NULL)
            arena->huge = g_ptr_array_new_with_free_func (_net_pages_free_huge);
          g_ptr_array_add (arena->huge, arena->next);
        }
      else
        {
          arena->next = g_malloc (slab);
          if (arena->slabs == NULL)
            arena->slabs = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (arena->slabs, arena->next);
        }
      arena->left = slab;
      arena->slab_bytes += slab;
    }
  block = arena->next;
  arena->next += rounded;
  arena->left -= rounded;
  return block;
}

void
_net_arena_free (NetArena *arena,
                 gpointer  block,
                 gsize     size)
{
  gsize rounded = ROUND8 (size);

  if (block == NULL)
    return;

  if (rounded > NET_ARENA_MAX_SIZE)
    {
      g_free (block);
      return;
    }

  g_assert (arena->in_use >= rounded);
  arena->in_use -= rounded;
  *(gpointer *) block = arena->free[rounded / 8 - 1];
  arena->free[rounded / 8 - 1] = block;
}

void
_net_arena_free_large (gpointer block,
                       gsize    size)
{
  if (ROUND8 (size) > NET_ARENA_MAX_SIZE)
    g_free (block);
}

void
_net_arena_move (NetArena *dest,
                 NetArena *src)
{
  if (dest == src)
    return;
  _net_arena_clear (dest);
  *dest = *src;
  _net_arena_init (src);
}
