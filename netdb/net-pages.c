/* net-pages.c: large blocks of memory in huge pages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>

/* First: G_OS_UNIX comes from glib.h. */
#include "net-pages-private.h"

#ifdef G_OS_UNIX
#include <sys/mman.h>
#endif

static gsize mapped;

#if defined(G_OS_UNIX) && defined(MAP_ANONYMOUS)

static gpointer
map_anonymous (gsize size)
{
  gpointer p = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (p == MAP_FAILED)
    g_error ("%s: failed to map %" G_GSIZE_FORMAT " bytes: %s", G_STRLOC, size, g_strerror (errno));
  return p;
}

gpointer
_net_pages_alloc_huge (void)
{
  const gsize size = NET_PAGES_HUGE_BLOCK;
  guint8 *p = map_anonymous (size);

  /* Linux places a mapping of a multiple of 2 MiB on a 2 MiB boundary
   * (since 6.7); elsewhere, a mapping twice as large is cut down to its
   * aligned middle. */
  if (((guintptr) p & (size - 1)) != 0)
    {
      guint8 *wide, *aligned;

      munmap (p, size);
      wide = map_anonymous (2 * size);
      aligned = (guint8 *) (((guintptr) wide + size - 1) & ~(guintptr) (size - 1));
      if (aligned > wide)
        munmap (wide, aligned - wide);
      munmap (aligned + size, wide + 2 * size - (aligned + size));
      p = aligned;
    }
#ifdef MADV_HUGEPAGE
  /* Before the first touch: the first fault maps the huge page. */
  (void) madvise (p, size, MADV_HUGEPAGE);
#endif
  g_atomic_pointer_add (&mapped, size);
  return p;
}

void
_net_pages_free_huge (gpointer block)
{
  if (block == NULL)
    return;
  munmap (block, NET_PAGES_HUGE_BLOCK);
  g_atomic_pointer_add (&mapped, -(gssize) NET_PAGES_HUGE_BLOCK);
}

#else

gpointer
_net_pages_alloc_huge (void)
{
  g_atomic_pointer_add (&mapped, NET_PAGES_HUGE_BLOCK);
  return g_malloc (NET_PAGES_HUGE_BLOCK);
}

void
_net_pages_free_huge (gpointer block)
{
  if (block == NULL)
    return;
  g_free (block);
  g_atomic_pointer_add (&mapped, -(gssize) NET_PAGES_HUGE_BLOCK);
}

#endif

gsize
_net_pages_get_mapped (void)
{
  return (gsize) g_atomic_pointer_get (&mapped);
}
