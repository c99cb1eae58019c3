/* net-pages.c: large blocks of malloc's memory in huge pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "net-pages-private.h"

#define PAGE_SIZE_MIN ((guintptr) 4096)
#define HUGE_PAGE     ((guintptr) 2 * 1024 * 1024)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

gpointer
_net_pages_alloc_huge (void)
{
  gpointer block = g_malloc (NET_PAGES_HUGE_BLOCK);

#if defined(__linux__) && defined(MADV_HUGEPAGE)
  {
    /* The pages the block lies in, all of them its own mapping's when
     * malloc mapped it alone (an mmap'd chunk's header is in its first
     * page): an madvise() outside it fails and does nothing. */
    guintptr start = (guintptr) block & ~(PAGE_SIZE_MIN - 1);
    guintptr end = ((guintptr) block + NET_PAGES_HUGE_BLOCK + PAGE_SIZE_MIN - 1) & ~(PAGE_SIZE_MIN - 1);

    if (madvise ((gpointer) start, end - start, MADV_HUGEPAGE) == 0 && (start & (HUGE_PAGE - 1)) == 0 &&
        end - start == HUGE_PAGE)
      {
        /* The mapping is a huge page's place, and already has a small
         * page (the header): a fault in it would map small pages.
         * Collapsed now, the rest of it costs no fault. */
        (void) madvise ((gpointer) start, HUGE_PAGE, MADV_COLLAPSE);
      }
  }
#endif
  return block;
}
