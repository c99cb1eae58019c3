/* net-redex-file.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-redex-event.h"
#include "net-redex-tail.h"

G_BEGIN_DECLS

#define NET_TYPE_REDEX_FILE (net_redex_file_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetRedexFile, net_redex_file, NET, REDEX_FILE, GObject)

NET_AVAILABLE_IN_ALL
const char    *net_redex_file_get_name              (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_get_read_only         (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_get_next_seq          (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_get_first_seq         (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_get_length            (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_get_durable_seq       (NetRedexFile         *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_append                (NetRedexFile         *self,
                                                     GBytes               *payload,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_append_batch          (NetRedexFile         *self,
                                                     GBytes              **payloads,
                                                     guint                 n_payloads,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_append_if_next_seq    (NetRedexFile         *self,
                                                     guint64               expected_seq,
                                                     GBytes               *payload,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_append_events         (NetRedexFile         *self,
                                                     GPtrArray            *events,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_append_durable        (NetRedexFile         *self,
                                                     GBytes               *payload,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
void           net_redex_file_append_durable_async  (NetRedexFile         *self,
                                                     GBytes               *payload,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
NET_AVAILABLE_IN_ALL
guint64        net_redex_file_append_durable_finish (NetRedexFile         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
NetRedexEvent *net_redex_file_read_one              (NetRedexFile         *self,
                                                     guint64               seq,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
GPtrArray     *net_redex_file_read_range            (NetRedexFile         *self,
                                                     guint64               start_seq,
                                                     guint64               end_seq,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
NetRedexTail  *net_redex_file_tail                  (NetRedexFile         *self,
                                                     guint64               from_seq);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_sync                  (NetRedexFile         *self,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_sweep_retention       (NetRedexFile         *self,
                                                     guint64              *out_evicted,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
char         **net_redex_file_verify                (NetRedexFile         *self,
                                                     GError              **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_file_close                 (NetRedexFile         *self,
                                                     GError              **error);

G_END_DECLS
