/* net-db-memories.h
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
#include "net-memory.h"
#include "net-memories-filter.h"
#include "net-query-model.h"

G_BEGIN_DECLS

#define NET_TYPE_DB_MEMORIES (net_db_memories_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetDbMemories, net_db_memories, NET, DB_MEMORIES, GObject)

NET_AVAILABLE_IN_ALL
NetDbMemories *net_db_memories_new                (NetRedex            *redex,
                                                   NetRedexConfig      *config,
                                                   guint64              origin,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_get_applied_seq    (NetDbMemories       *self);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_get_fold_errors    (NetDbMemories       *self);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_get_origin         (NetDbMemories       *self);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_store              (NetDbMemories       *self,
                                                   guint64              id,
                                                   const char          *content,
                                                   const char * const  *tags,
                                                   const char          *source,
                                                   gint64               timestamp,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_retag              (NetDbMemories       *self,
                                                   guint64              id,
                                                   const char * const  *tags,
                                                   gint64               timestamp,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_pin                (NetDbMemories       *self,
                                                   guint64              id,
                                                   gint64               timestamp,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_unpin              (NetDbMemories       *self,
                                                   guint64              id,
                                                   gint64               timestamp,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
guint64        net_db_memories_delete             (NetDbMemories       *self,
                                                   guint64              id,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
NetMemory     *net_db_memories_get                (NetDbMemories       *self,
                                                   guint64              id);
NET_AVAILABLE_IN_ALL
NetQueryModel *net_db_memories_watch            (NetDbMemories        *self,
                                                 NetMemoriesFilter    *filter);
NET_AVAILABLE_IN_ALL
GPtrArray     *net_db_memories_find_many          (NetDbMemories       *self,
                                                   NetMemoriesFilter   *filter);
NET_AVAILABLE_IN_ALL
NetMemory     *net_db_memories_find_first         (NetDbMemories       *self,
                                                   NetMemoriesFilter   *filter);
NET_AVAILABLE_IN_ALL
guint          net_db_memories_count              (NetDbMemories       *self,
                                                   NetMemoriesFilter   *filter);
NET_AVAILABLE_IN_ALL
gboolean       net_db_memories_exists             (NetDbMemories       *self,
                                                   NetMemoriesFilter   *filter);
NET_AVAILABLE_IN_ALL
void           net_db_memories_wait_for_seq_async (NetDbMemories       *self,
                                                   guint64              seq,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
NET_AVAILABLE_IN_ALL
gboolean       net_db_memories_wait_for_seq_finish (NetDbMemories      *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_memories_wait_for_seq       (NetDbMemories       *self,
                                                   guint64              seq,
                                                   guint                timeout_ms,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
GBytes        *net_db_memories_snapshot           (NetDbMemories       *self,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_memories_restore            (NetDbMemories       *self,
                                                   GBytes              *snapshot,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
gboolean       net_db_memories_close              (NetDbMemories       *self,
                                                   GError             **error);

G_END_DECLS
