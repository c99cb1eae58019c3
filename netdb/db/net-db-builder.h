/* net-db-builder.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-db.h"
#include "net-redex-config.h"

G_BEGIN_DECLS

#define NET_TYPE_DB_BUILDER (net_db_builder_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetDbBuilder, net_db_builder, NET, DB_BUILDER, GObject)

NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_new                  (void);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_persistent_dir       (NetDbBuilder    *self,
                                                   const char      *path);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_origin               (NetDbBuilder    *self,
                                                   guint64          origin);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_with_tasks           (NetDbBuilder    *self);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_with_memories        (NetDbBuilder    *self);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_with_collection      (NetDbBuilder    *self,
                                                   const char      *name,
                                                   GType            record_type);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_fsync_policy         (NetDbBuilder    *self,
                                                   NetFsyncPolicy   policy,
                                                   guint            n_or_ms);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_read_only            (NetDbBuilder    *self);
NET_AVAILABLE_IN_ALL
NetDbBuilder *net_db_builder_max_snapshot_size    (NetDbBuilder    *self,
                                                   guint64          size);
NET_AVAILABLE_IN_ALL
NetDb        *net_db_builder_build                (NetDbBuilder    *self,
                                                   GError         **error);
NET_AVAILABLE_IN_ALL
NetDb        *net_db_builder_build_from_snapshot  (NetDbBuilder    *self,
                                                   GBytes          *snapshot,
                                                   GError         **error);
NET_AVAILABLE_IN_ALL
void          net_db_builder_build_async          (NetDbBuilder        *self,
                                                   int                  io_priority,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
NET_AVAILABLE_IN_ALL
NetDb        *net_db_builder_build_finish         (NetDbBuilder        *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
void          net_db_builder_build_from_snapshot_async  (NetDbBuilder        *self,
                                                         GBytes              *snapshot,
                                                         int                  io_priority,
                                                         GCancellable        *cancellable,
                                                         GAsyncReadyCallback  callback,
                                                         gpointer             user_data);
NET_AVAILABLE_IN_ALL
NetDb        *net_db_builder_build_from_snapshot_finish (NetDbBuilder        *self,
                                                         GAsyncResult        *result,
                                                         GError             **error);

G_END_DECLS
