/* net-task.h
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

#define NET_TYPE_TASK (net_task_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetTask, net_task, NET, TASK, GObject)

NET_AVAILABLE_IN_ALL
guint64        net_task_get_id         (NetTask *self);
NET_AVAILABLE_IN_ALL
const char    *net_task_get_title      (NetTask *self);
NET_AVAILABLE_IN_ALL
NetTaskStatus  net_task_get_status     (NetTask *self);
NET_AVAILABLE_IN_ALL
gint64         net_task_get_created_at (NetTask *self);
NET_AVAILABLE_IN_ALL
gint64         net_task_get_updated_at (NetTask *self);

G_END_DECLS
