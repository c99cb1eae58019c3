/* net-pages-private.h: large blocks of memory in huge pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * A first touch of a 4 KiB page costs a page fault, and in a virtual
 * machine a fault can cost 5 to 15 µs: as much as the work of a few
 * hundred events.  A model that grows by millions of entries touches a
 * new page every few entries (its arena, its trees' leaves, its in-memory
 * log), so it takes its memory in blocks of one huge page: one fault maps
 * 2 MiB.
 *
 * A block is an anonymous mapping of its own, on a 2 MiB boundary and
 * madvise()d MADV_HUGEPAGE before anything touches it.  Not malloc's:
 * glibc serves a 2 MiB request from its heap once a block of that size
 * was freed (its mmap threshold rises), unaligned and in small pages.  So
 * that every measure of the heap still sees them,
 * _net_pages_get_mapped() says how many bytes the blocks hold now (the
 * benchmarks add it to mallinfo2()).  Where there is no mmap, a block is
 * a g_malloc().
 */

#define NET_PAGES_HUGE_BLOCK ((gsize) 2 * 1024 * 1024)

/* A block of NET_PAGES_HUGE_BLOCK bytes, 2 MiB aligned where there is
 * mmap; aborts when memory is exhausted, as g_malloc() does. */
gpointer _net_pages_alloc_huge (void);
/* Gives back a block of _net_pages_alloc_huge() (%NULL: nothing). */
void     _net_pages_free_huge  (gpointer block);
/* The bytes of the blocks not given back, process-wide. */
gsize    _net_pages_get_mapped (void);

G_END_DECLS
