/* net-collection.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-filter.h"
#include "net-query-model.h"
#include "net-record.h"

G_BEGIN_DECLS

/**
 * NetIndexFlags:
 * @NET_INDEX_NONE: no index
 * @NET_INDEX_ORDERED: an ordered index: equality, ranges and the order of
 *   the field without a scan
 * @NET_INDEX_SEARCH: a search index of a string field: case-insensitive
 *   substrings and prefixes without a scan
 *
 * The kinds of index net_collection_add_index() makes.
 *
 * Since: 0.2
 */
typedef enum /*< flags >*/
{
  NET_INDEX_NONE = 0,
  NET_INDEX_ORDERED = 1 << 0,
  NET_INDEX_SEARCH = 1 << 1,
} NetIndexFlags;

#define NET_TYPE_COLLECTION (net_collection_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetCollection, net_collection, NET, COLLECTION, GObject)

NET_AVAILABLE_IN_ALL
const char    *net_collection_get_name        (NetCollection  *self);
NET_AVAILABLE_IN_ALL
GType          net_collection_get_record_type (NetCollection  *self);
NET_AVAILABLE_IN_ALL
char         **net_collection_list_fields     (NetCollection  *self);

NET_AVAILABLE_IN_ALL
gboolean       net_collection_add_index       (NetCollection  *self,
                                               const char     *field,
                                               NetIndexFlags   flags,
                                               GError        **error);

NET_AVAILABLE_IN_ALL
guint64        net_collection_insert          (NetCollection  *self,
                                               NetRecord      *record,
                                               GError        **error);
NET_AVAILABLE_IN_ALL
guint64        net_collection_update          (NetCollection  *self,
                                               guint64         id,
                                               GError        **error,
                                               const char     *first_field,
                                               ...) G_GNUC_NULL_TERMINATED;
NET_AVAILABLE_IN_ALL
guint64        net_collection_updatev         (NetCollection  *self,
                                               guint64         id,
                                               guint           n_fields,
                                               const char    **names,
                                               const GValue   *values,
                                               GError        **error);
NET_AVAILABLE_IN_ALL
guint64        net_collection_delete          (NetCollection  *self,
                                               guint64         id,
                                               GError        **error);

NET_AVAILABLE_IN_ALL
NetRecord     *net_collection_get             (NetCollection  *self,
                                               guint64         id);
NET_AVAILABLE_IN_ALL
GPtrArray     *net_collection_find_many       (NetCollection  *self,
                                               NetFilter      *filter);
NET_AVAILABLE_IN_ALL
NetRecord     *net_collection_find_first      (NetCollection  *self,
                                               NetFilter      *filter);
NET_AVAILABLE_IN_ALL
guint          net_collection_count           (NetCollection  *self,
                                               NetFilter      *filter);
NET_AVAILABLE_IN_ALL
gboolean       net_collection_exists          (NetCollection  *self,
                                               NetFilter      *filter);
NET_AVAILABLE_IN_ALL
NetQueryModel *net_collection_watch           (NetCollection  *self,
                                               NetFilter      *filter);

NET_AVAILABLE_IN_ALL
guint64        net_collection_get_applied_seq (NetCollection  *self);
NET_AVAILABLE_IN_ALL
void           net_collection_wait_for_seq_async  (NetCollection       *self,
                                                   guint64              seq,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
NET_AVAILABLE_IN_ALL
gboolean       net_collection_wait_for_seq_finish (NetCollection       *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);
NET_AVAILABLE_IN_ALL
gboolean       net_collection_wait_for_seq    (NetCollection  *self,
                                               guint64         seq,
                                               guint           timeout_ms,
                                               GError        **error);

G_END_DECLS
