/* net-memory.h
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

#define NET_TYPE_MEMORY (net_memory_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetMemory, net_memory, NET, MEMORY, GObject)

NET_AVAILABLE_IN_ALL
guint64             net_memory_get_id         (NetMemory  *self);
NET_AVAILABLE_IN_ALL
const char         *net_memory_get_content    (NetMemory  *self);
NET_AVAILABLE_IN_ALL
const char * const *net_memory_get_tags       (NetMemory  *self);
NET_AVAILABLE_IN_ALL
gboolean            net_memory_has_tag        (NetMemory  *self,
                                               const char *tag);
NET_AVAILABLE_IN_ALL
const char         *net_memory_get_source     (NetMemory  *self);
NET_AVAILABLE_IN_ALL
gint64              net_memory_get_created_at (NetMemory  *self);
NET_AVAILABLE_IN_ALL
gint64              net_memory_get_updated_at (NetMemory  *self);
NET_AVAILABLE_IN_ALL
gboolean            net_memory_get_pinned     (NetMemory  *self);

G_END_DECLS
