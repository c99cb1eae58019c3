/* net-filter.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib-object.h>

#include "netdb-version-macros.h"
#include "net-filter-base.h"

G_BEGIN_DECLS

/**
 * NetFilterOp:
 * @NET_FILTER_OP_EQ: the field equals the value
 * @NET_FILTER_OP_NE: the field differs from the value
 * @NET_FILTER_OP_LT: the field is less than the value
 * @NET_FILTER_OP_LE: the field is less than or equal to the value
 * @NET_FILTER_OP_GT: the field is greater than the value
 * @NET_FILTER_OP_GE: the field is greater than or equal to the value
 * @NET_FILTER_OP_CONTAINS: a string field contains the value, ignoring
 *   case (Unicode-aware); a strv field has the value as a member
 * @NET_FILTER_OP_PREFIX: a string field starts with the value, ignoring
 *   case; a strv field has a member that does
 *
 * How net_filter_where() compares a field with a value.
 *
 * Since: 0.2
 */
typedef enum
{
  NET_FILTER_OP_EQ,
  NET_FILTER_OP_NE,
  NET_FILTER_OP_LT,
  NET_FILTER_OP_LE,
  NET_FILTER_OP_GT,
  NET_FILTER_OP_GE,
  NET_FILTER_OP_CONTAINS,
  NET_FILTER_OP_PREFIX,
} NetFilterOp;

#define NET_TYPE_FILTER (net_filter_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetFilter, net_filter, NET, FILTER, NetFilterBase)

NET_AVAILABLE_IN_ALL
NetFilter  *net_filter_new          (void);
NET_AVAILABLE_IN_ALL
NetFilter  *net_filter_where        (NetFilter     *self,
                                     const char    *field,
                                     NetFilterOp    op,
                                     const GValue  *value);
NET_AVAILABLE_IN_ALL
NetFilter  *net_filter_order_by     (NetFilter     *self,
                                     const char    *field,
                                     gboolean       descending);
NET_AVAILABLE_IN_ALL
void        net_filter_clear        (NetFilter     *self);
NET_AVAILABLE_IN_ALL
guint       net_filter_get_revision (NetFilter     *self);

G_END_DECLS
