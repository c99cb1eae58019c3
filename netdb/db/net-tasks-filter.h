/* net-tasks-filter.h
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
#include "net-filter-base.h"

G_BEGIN_DECLS

#define NET_TYPE_TASKS_FILTER (net_tasks_filter_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetTasksFilter, net_tasks_filter, NET, TASKS_FILTER, NetFilterBase)

NET_AVAILABLE_IN_ALL
NetTasksFilter *net_tasks_filter_new                (void);
NET_AVAILABLE_IN_ALL
NetTasksFilter *net_tasks_filter_copy               (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
gboolean        net_tasks_filter_equal              (NetTasksFilter *self,
                                                     NetTasksFilter *other);
NET_AVAILABLE_IN_ALL
NetTaskStatus   net_tasks_filter_get_status         (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_status         (NetTasksFilter *self,
                                                     NetTaskStatus   status);
NET_AVAILABLE_IN_ALL
gboolean        net_tasks_filter_get_status_set     (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_unset_status       (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
const char     *net_tasks_filter_get_title_contains (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_title_contains (NetTasksFilter *self,
                                                     const char     *needle);
NET_AVAILABLE_IN_ALL
gint64          net_tasks_filter_get_created_after  (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_created_after  (NetTasksFilter *self,
                                                     gint64          created_after);
NET_AVAILABLE_IN_ALL
gint64          net_tasks_filter_get_created_before (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_created_before (NetTasksFilter *self,
                                                     gint64          created_before);
NET_AVAILABLE_IN_ALL
gint64          net_tasks_filter_get_updated_after  (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_updated_after  (NetTasksFilter *self,
                                                     gint64          updated_after);
NET_AVAILABLE_IN_ALL
gint64          net_tasks_filter_get_updated_before (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_updated_before (NetTasksFilter *self,
                                                     gint64          updated_before);
NET_AVAILABLE_IN_ALL
NetOrderBy      net_tasks_filter_get_order_by       (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_order_by       (NetTasksFilter *self,
                                                     NetOrderBy      order_by);
NET_AVAILABLE_IN_ALL
guint           net_tasks_filter_get_limit          (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_limit          (NetTasksFilter *self,
                                                     guint           limit);
NET_AVAILABLE_IN_ALL
guint           net_tasks_filter_get_offset         (NetTasksFilter *self);
NET_AVAILABLE_IN_ALL
void            net_tasks_filter_set_offset         (NetTasksFilter *self,
                                                     guint           offset);

G_END_DECLS
