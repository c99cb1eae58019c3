/* net-memories-filter.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib-object.h>

#include "netdb-version-macros.h"
#include "net-db-types.h"
#include "net-filter-base.h"

G_BEGIN_DECLS

#define NET_TYPE_MEMORIES_FILTER (net_memories_filter_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetMemoriesFilter, net_memories_filter, NET, MEMORIES_FILTER, NetFilterBase)

NET_AVAILABLE_IN_ALL
NetMemoriesFilter  *net_memories_filter_new                  (void);
NET_AVAILABLE_IN_ALL
NetMemoriesFilter  *net_memories_filter_copy                 (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
gboolean            net_memories_filter_equal                (NetMemoriesFilter  *self,
                                                              NetMemoriesFilter  *other);
NET_AVAILABLE_IN_ALL
const char         *net_memories_filter_get_source           (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_source           (NetMemoriesFilter  *self,
                                                              const char         *source);
NET_AVAILABLE_IN_ALL
const char         *net_memories_filter_get_content_contains (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_content_contains (NetMemoriesFilter  *self,
                                                              const char         *needle);
NET_AVAILABLE_IN_ALL
const char         *net_memories_filter_get_tag              (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_tag              (NetMemoriesFilter  *self,
                                                              const char         *tag);
NET_AVAILABLE_IN_ALL
const char * const *net_memories_filter_get_any_tags         (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_any_tags         (NetMemoriesFilter  *self,
                                                              const char * const *tags);
NET_AVAILABLE_IN_ALL
const char * const *net_memories_filter_get_all_tags         (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_all_tags         (NetMemoriesFilter  *self,
                                                              const char * const *tags);
NET_AVAILABLE_IN_ALL
gboolean            net_memories_filter_get_pinned           (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_pinned           (NetMemoriesFilter  *self,
                                                              gboolean            pinned);
NET_AVAILABLE_IN_ALL
gboolean            net_memories_filter_get_pinned_set       (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_unset_pinned         (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
gint64              net_memories_filter_get_created_after    (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_created_after    (NetMemoriesFilter  *self,
                                                              gint64              created_after);
NET_AVAILABLE_IN_ALL
gint64              net_memories_filter_get_created_before   (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_created_before   (NetMemoriesFilter  *self,
                                                              gint64              created_before);
NET_AVAILABLE_IN_ALL
gint64              net_memories_filter_get_updated_after    (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_updated_after    (NetMemoriesFilter  *self,
                                                              gint64              updated_after);
NET_AVAILABLE_IN_ALL
gint64              net_memories_filter_get_updated_before   (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_updated_before   (NetMemoriesFilter  *self,
                                                              gint64              updated_before);
NET_AVAILABLE_IN_ALL
NetOrderBy          net_memories_filter_get_order_by         (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_order_by         (NetMemoriesFilter  *self,
                                                              NetOrderBy          order_by);
NET_AVAILABLE_IN_ALL
guint               net_memories_filter_get_limit            (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_limit            (NetMemoriesFilter  *self,
                                                              guint               limit);
NET_AVAILABLE_IN_ALL
guint               net_memories_filter_get_offset           (NetMemoriesFilter  *self);
NET_AVAILABLE_IN_ALL
void                net_memories_filter_set_offset           (NetMemoriesFilter  *self,
                                                              guint               offset);

G_END_DECLS
