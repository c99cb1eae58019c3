/* net-db.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-db-types.h"
#include "net-db-tasks.h"
#include "net-db-memories.h"
#include "net-collection.h"

G_BEGIN_DECLS

#define NET_TYPE_DB (net_db_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetDb, net_db, NET, DB, GObject)

NET_AVAILABLE_IN_ALL
NetDb         *net_db_new                 (const char   *path,
                                           NetDbModels   models,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
NetDb         *net_db_open_from_snapshot  (GBytes       *snapshot,
                                           const char   *path,
                                           NetDbModels   models,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
void           net_db_new_async           (const char          *path,
                                           NetDbModels          models,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NET_AVAILABLE_IN_ALL
NetDb         *net_db_new_finish          (GAsyncResult        *result,
                                           GError             **error);
NET_AVAILABLE_IN_ALL
void           net_db_open_from_snapshot_async  (GBytes              *snapshot,
                                                 const char          *path,
                                                 NetDbModels          models,
                                                 int                  io_priority,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
NET_AVAILABLE_IN_ALL
NetDb         *net_db_open_from_snapshot_finish (GAsyncResult        *result,
                                                 GError             **error);
NET_AVAILABLE_IN_ALL
NetDb         *net_db_open_read_only      (const char   *path,
                                           NetDbModels   models,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
const char    *net_db_get_path            (NetDb        *self);
NET_AVAILABLE_IN_ALL
guint64        net_db_get_origin          (NetDb        *self);
NET_AVAILABLE_IN_ALL
gboolean       net_db_get_read_only       (NetDb        *self);
NET_AVAILABLE_IN_ALL
gboolean       net_db_get_following       (NetDb        *self);
NET_AVAILABLE_IN_ALL
NetDbTasks    *net_db_get_tasks           (NetDb        *self);
NET_AVAILABLE_IN_ALL
NetDbMemories *net_db_get_memories        (NetDb        *self);
NET_AVAILABLE_IN_ALL
NetCollection *net_db_open_collection     (NetDb        *self,
                                           const char   *name,
                                           GType         record_type,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
char         **net_db_list_collections    (NetDb        *self);
NET_AVAILABLE_IN_ALL
GBytes        *net_db_snapshot            (NetDb        *self,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_checkpoint          (NetDb        *self,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_sync                (NetDb        *self,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_close               (NetDb        *self,
                                           GError      **error);

NET_AVAILABLE_IN_ALL
void           net_db_snapshot_async      (NetDb               *self,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NET_AVAILABLE_IN_ALL
GBytes        *net_db_snapshot_finish     (NetDb               *self,
                                           GAsyncResult        *result,
                                           GError             **error);
NET_AVAILABLE_IN_ALL
void           net_db_checkpoint_async    (NetDb               *self,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NET_AVAILABLE_IN_ALL
gboolean       net_db_checkpoint_finish   (NetDb               *self,
                                           GAsyncResult        *result,
                                           GError             **error);
NET_AVAILABLE_IN_ALL
void           net_db_sync_async          (NetDb               *self,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NET_AVAILABLE_IN_ALL
gboolean       net_db_sync_finish         (NetDb               *self,
                                           GAsyncResult        *result,
                                           GError             **error);
NET_AVAILABLE_IN_ALL
void           net_db_close_async         (NetDb               *self,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NET_AVAILABLE_IN_ALL
gboolean       net_db_close_finish        (NetDb               *self,
                                           GAsyncResult        *result,
                                           GError             **error);

G_END_DECLS
