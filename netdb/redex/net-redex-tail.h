/* net-redex-tail.h
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

G_BEGIN_DECLS

#define NET_TYPE_REDEX_TAIL (net_redex_tail_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetRedexTail, net_redex_tail, NET, REDEX_TAIL, GObject)

NET_AVAILABLE_IN_ALL
guint64        net_redex_tail_get_position (NetRedexTail         *self);
NET_AVAILABLE_IN_ALL
NetRedexEvent *net_redex_tail_try_next     (NetRedexTail         *self,
                                            GError              **error);
NET_AVAILABLE_IN_ALL
void           net_redex_tail_next_async   (NetRedexTail         *self,
                                            GCancellable         *cancellable,
                                            GAsyncReadyCallback   callback,
                                            gpointer              user_data);
NET_AVAILABLE_IN_ALL
NetRedexEvent *net_redex_tail_next_finish  (NetRedexTail         *self,
                                            GAsyncResult         *result,
                                            GError              **error);
NET_AVAILABLE_IN_ALL
void           net_redex_tail_close        (NetRedexTail         *self);

G_END_DECLS
