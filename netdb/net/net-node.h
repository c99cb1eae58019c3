/* net-node.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-identity.h"
#include "net-db.h"

G_BEGIN_DECLS

/**
 * NetPeerRole:
 * @NET_PEER_ROLE_READER: the peer may follow the databases this node
 *   serves, but its forwarded writes are refused
 * @NET_PEER_ROLE_WRITER: the peer may also forward writes, under its own
 *   origin (the one derived from its public key)
 *
 * What a peer admitted by net_node_add_peer_with_role() may do.
 */
typedef enum
{
  NET_PEER_ROLE_READER,
  NET_PEER_ROLE_WRITER,
} NetPeerRole;

#define NET_TYPE_NODE (net_node_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetNode, net_node, NET, NODE, GObject)

NET_AVAILABLE_IN_ALL
NetNode      *net_node_new                (NetIdentity  *identity,
                                           const char   *listen_address,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
NetIdentity  *net_node_get_identity       (NetNode      *self);
NET_AVAILABLE_IN_ALL
const char   *net_node_get_local_address  (NetNode      *self);
NET_AVAILABLE_IN_ALL
gboolean      net_node_get_running        (NetNode      *self);
NET_AVAILABLE_IN_ALL
guint         net_node_get_max_datagram   (NetNode      *self);
NET_AVAILABLE_IN_ALL
void          net_node_set_max_datagram   (NetNode      *self,
                                           guint         max_datagram);
NET_AVAILABLE_IN_ALL
gboolean      net_node_add_peer           (NetNode      *self,
                                           const char   *public_key,
                                           const char   *address,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean      net_node_add_peer_with_role (NetNode      *self,
                                           const char   *public_key,
                                           const char   *address,
                                           NetPeerRole   role,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean      net_node_remove_peer        (NetNode      *self,
                                           const char   *public_key);
NET_AVAILABLE_IN_ALL
char        **net_node_list_peers         (NetNode      *self);
NET_AVAILABLE_IN_ALL
gboolean      net_node_is_peer_up         (NetNode      *self,
                                           const char   *public_key);
NET_AVAILABLE_IN_ALL
gboolean      net_node_set_state_file     (NetNode      *self,
                                           const char   *path,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean      net_node_start              (NetNode      *self,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
void          net_node_stop               (NetNode      *self);
NET_AVAILABLE_IN_ALL
gboolean      net_node_serve_db           (NetNode      *self,
                                           NetDb        *db,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
gboolean      net_node_follow_db          (NetNode      *self,
                                           NetDb        *db,
                                           const char   *leader_public_key,
                                           gboolean      forward_writes,
                                           GError      **error);
NET_AVAILABLE_IN_ALL
guint64       net_node_get_counter        (NetNode      *self,
                                           const char   *name);
NET_AVAILABLE_IN_ALL
GVariant     *net_node_get_counters       (NetNode      *self);

G_END_DECLS
