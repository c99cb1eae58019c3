/* net-filter-base.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib-object.h>

#include "netdb-version-macros.h"
#include "net-db-types.h"

G_BEGIN_DECLS

#define NET_TYPE_FILTER_BASE (net_filter_base_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (NetFilterBase, net_filter_base, NET, FILTER_BASE, GObject)

/**
 * NetFilterBaseClass:
 * @parent_class: the parent class
 *
 * The class of the filters of every model.  Only netdb derives from it.
 *
 * Since: 0.2
 */
struct _NetFilterBaseClass
{
  GObjectClass parent_class;

  /*< private >*/
  gpointer padding[8];
};

G_END_DECLS
