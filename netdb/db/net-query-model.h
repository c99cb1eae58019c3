/* net-query-model.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"

G_BEGIN_DECLS

#define NET_TYPE_QUERY_MODEL (net_query_model_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetQueryModel, net_query_model, NET, QUERY_MODEL, GObject)

NET_AVAILABLE_IN_ALL
GObject  *net_query_model_get_filter (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
void      net_query_model_set_filter (NetQueryModel *self,
                                      GObject       *filter);
NET_AVAILABLE_IN_ALL
guint64   net_query_model_get_seq    (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
gboolean  net_query_model_get_closed (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
guint     net_query_model_get_pending     (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
gboolean  net_query_model_get_incremental (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
void      net_query_model_set_incremental (NetQueryModel *self,
                                           gboolean       incremental);
NET_AVAILABLE_IN_ALL
gboolean  net_query_model_get_report_updates (NetQueryModel *self);
NET_AVAILABLE_IN_ALL
void      net_query_model_set_report_updates (NetQueryModel *self,
                                              gboolean       report_updates);

G_END_DECLS
