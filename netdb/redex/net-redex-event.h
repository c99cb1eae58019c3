/* net-redex-event.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib-object.h>

#include "netdb-version-macros.h"

G_BEGIN_DECLS

#define NET_TYPE_REDEX_EVENT (net_redex_event_get_type ())

typedef struct _NetRedexEvent NetRedexEvent;

NET_AVAILABLE_IN_ALL
GType          net_redex_event_get_type      (void) G_GNUC_CONST;
NET_AVAILABLE_IN_ALL
NetRedexEvent *net_redex_event_new           (guint64        seq,
                                              gint64         timestamp,
                                              GBytes        *payload);
NET_AVAILABLE_IN_ALL
NetRedexEvent *net_redex_event_ref           (NetRedexEvent *self);
NET_AVAILABLE_IN_ALL
void           net_redex_event_unref         (NetRedexEvent *self);
NET_AVAILABLE_IN_ALL
guint64        net_redex_event_get_seq       (const NetRedexEvent *self);
NET_AVAILABLE_IN_ALL
gint64         net_redex_event_get_timestamp (const NetRedexEvent *self);
NET_AVAILABLE_IN_ALL
GBytes        *net_redex_event_get_payload   (const NetRedexEvent *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetRedexEvent, net_redex_event_unref)

G_END_DECLS
