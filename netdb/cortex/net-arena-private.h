/* net-arena-private.h: small blocks of memory without malloc's overhead
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "net-pages-private.h"

G_BEGIN_DECLS

/*
 * A model's entries are many small blocks (a task's is 25 bytes and its
 * title) that live as long as their id.  malloc spends 8 bytes of header
 * on each and rounds it to 16, a fifth of a task's memory; a NetArena
 * carves them out of 64 KiB slabs, 8-byte aligned and with no header, and
 * keeps freed blocks on a list per size (multiples of 8, up to
 * NET_ARENA_MAX_SIZE; larger ones go to malloc) for the next block of
 * that size.  The caller says the size again when it frees a block.
 *
 * A block larger than that is malloc's own: it is freed one by one, also
 * before a clear.
 *
 * An arena that grew past 2 MiB takes slabs of 2 MiB, each a huge page
 * (_net_pages_alloc_huge()): a large table then pays one page fault for
 * 2 MiB instead of one for 4 KiB, which in a virtual machine can cost
 * more than the work of a hundred entries, and its entries need fewer TLB
 * entries.  The last slab's unused part (2 MiB at most) counts as the
 * arena's memory.
 *
 * Memory of freed blocks is not given back until the arena is cleared
 * (the model's entries are all dropped, or it is finalized), much as
 * SQLite keeps its free pages: it is reused by the next blocks of the
 * same size.
 *
 * Not thread-safe: a model's arena is used from its owner context.
 */

#define NET_ARENA_MAX_SIZE  512
/* (Slabs growing from 4 KiB saved a few KiB a small table but cost a
 * database opened and closed again ten page faults more: the heap's top
 * was trimmed and grown each time.) */
#define NET_ARENA_SLAB_SIZE (64 * 1024)
/* Once the slabs hold this many bytes (2 MiB), slabs of 2 MiB in a huge
 * page. */
#define NET_ARENA_BIG_AFTER     (2 * 1024 * 1024)
#define NET_ARENA_BIG_SLAB_SIZE NET_PAGES_HUGE_BLOCK

typedef struct
{
  GPtrArray *slabs;       /* owned, g_free()d at clear */
  GPtrArray *huge;        /* the large slabs (_net_pages_alloc_huge()) */
  gsize      slab_bytes;  /* the size of both */
  guint8    *next;        /* the unused part of the last slab */
  gsize      left;
  gpointer   free[NET_ARENA_MAX_SIZE / 8];  /* by (size / 8) - 1 */
  gsize      in_use;      /* bytes handed out and not freed (tests) */
} NetArena;

void      _net_arena_init  (NetArena *arena);
/* Frees every block at once (its blocks must no longer be used). */
void      _net_arena_clear (NetArena *arena);
/* A block of @size bytes, 8-byte aligned (@size > 0). */
gpointer  _net_arena_alloc (NetArena *arena,
                            gsize     size);
/* Gives back a block of _net_arena_alloc (@arena, @size). */
void      _net_arena_free  (NetArena *arena,
                            gpointer  block,
                            gsize     size);
/* Gives back a block of _net_arena_alloc (…, @size) only if it is one of
 * malloc's (larger than NET_ARENA_MAX_SIZE): what must be freed one by one
 * before the arena is cleared. */
void      _net_arena_free_large (gpointer block,
                                 gsize    size);
/* Clears @dest and moves the blocks of @src into it (@src is left empty). */
void      _net_arena_move  (NetArena *dest,
                            NetArena *src);

G_END_DECLS
