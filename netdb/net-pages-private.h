/* net-pages-private.h: large blocks of malloc's memory in huge pages
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
 * new page every few entries (its arena, its in-memory log), so it asks
 * for its large blocks in huge pages: one fault maps 2 MiB.
 *
 * The block is still malloc's (g_free() it; mallinfo2() and every other
 * measure of the heap count it).  A block of NET_PAGES_HUGE_BLOCK bytes is
 * one mmap of exactly 2 MiB, which Linux places on a 2 MiB boundary; it
 * is madvise()d MADV_HUGEPAGE and, as malloc already touched its first
 * small page (its header), collapsed into a huge page at once
 * (MADV_COLLAPSE, Linux 6.1).  Elsewhere (another kernel, other settings),
 * it is plain memory.  One huge page a block: the unused part of a
 * table's last block is 1 MiB on average, which a million entries share.
 */

/* 2 MiB less malloc's header and alignment: an mmap of 2 MiB exactly. */
#define NET_PAGES_HUGE_BLOCK ((gsize) 2 * 1024 * 1024 - 32)

/* A g_malloc() of NET_PAGES_HUGE_BLOCK bytes, in huge pages where the
 * kernel gives them. */
gpointer _net_pages_alloc_huge (void);

G_END_DECLS
