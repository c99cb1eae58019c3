/* net-db-tasks.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-redex.h"
#include "net-task.h"
#include "net-query-model.h"
#include "net-tasks-filter.h"

G_BEGIN_DECLS

#define NET_TYPE_DB_TASKS (net_db_tasks_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetDbTasks, net_db_tasks, NET, DB_TASKS, GObject)

NET_AVAILABLE_IN_ALL
NetDbTasks *net_db_tasks_new                (NetRedex             *redex,
                                             NetRedexConfig       *config,
                                             guint64               origin,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_get_applied_seq    (NetDbTasks           *self);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_get_fold_errors    (NetDbTasks           *self);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_get_origin         (NetDbTasks           *self);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_create             (NetDbTasks           *self,
                                             guint64               id,
                                             const char           *title,
                                             gint64                timestamp,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_rename             (NetDbTasks           *self,
                                             guint64               id,
                                             const char           *title,
                                             gint64                timestamp,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_complete           (NetDbTasks           *self,
                                             guint64               id,
                                             gint64                timestamp,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
guint64     net_db_tasks_delete             (NetDbTasks           *self,
                                             guint64               id,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
NetTask    *net_db_tasks_get                (NetDbTasks           *self,
                                             guint64               id);
NET_AVAILABLE_IN_ALL
GPtrArray  *net_db_tasks_find_many          (NetDbTasks           *self,
                                             NetTasksFilter       *filter);
NET_AVAILABLE_IN_ALL
NetQueryModel *net_db_tasks_watch           (NetDbTasks           *self,
                                             NetTasksFilter       *filter);
NET_AVAILABLE_IN_ALL
NetTask    *net_db_tasks_find_first         (NetDbTasks           *self,
                                             NetTasksFilter       *filter);
NET_AVAILABLE_IN_ALL
guint       net_db_tasks_count              (NetDbTasks           *self,
                                             NetTasksFilter       *filter);
NET_AVAILABLE_IN_ALL
gboolean    net_db_tasks_exists             (NetDbTasks           *self,
                                             NetTasksFilter       *filter);
NET_AVAILABLE_IN_ALL
void        net_db_tasks_wait_for_seq_async (NetDbTasks           *self,
                                             guint64               seq,
                                             GCancellable         *cancellable,
                                             GAsyncReadyCallback   callback,
                                             gpointer              user_data);
NET_AVAILABLE_IN_ALL
gboolean    net_db_tasks_wait_for_seq_finish (NetDbTasks          *self,
                                             GAsyncResult         *result,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
gboolean    net_db_tasks_wait_for_seq       (NetDbTasks           *self,
                                             guint64               seq,
                                             guint                 timeout_ms,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
GBytes     *net_db_tasks_snapshot           (NetDbTasks           *self,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
gboolean    net_db_tasks_restore            (NetDbTasks           *self,
                                             GBytes               *snapshot,
                                             GError              **error);
NET_AVAILABLE_IN_ALL
gboolean    net_db_tasks_close              (NetDbTasks           *self,
                                             GError              **error);

G_END_DECLS
