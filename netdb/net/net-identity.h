/* net-identity.h
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

/**
 * NET_IDENTITY_PUBLIC_KEY_SIZE:
 *
 * The size in bytes of a node's Ed25519 public key.
 */
#define NET_IDENTITY_PUBLIC_KEY_SIZE 32

#define NET_TYPE_IDENTITY (net_identity_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetIdentity, net_identity, NET, IDENTITY, GObject)

NET_AVAILABLE_IN_ALL
NetIdentity *net_identity_generate               (void);
NET_AVAILABLE_IN_ALL
NetIdentity *net_identity_load                   (const char   *path,
                                                  GError      **error);
NET_AVAILABLE_IN_ALL
gboolean     net_identity_save                   (NetIdentity  *self,
                                                  const char   *path,
                                                  GError      **error);
NET_AVAILABLE_IN_ALL
const char  *net_identity_get_public_key         (NetIdentity  *self);
NET_AVAILABLE_IN_ALL
guint64      net_identity_get_origin             (NetIdentity  *self);
NET_AVAILABLE_IN_ALL
GBytes      *net_identity_public_key_from_string (const char   *text,
                                                  GError      **error);
NET_AVAILABLE_IN_ALL
char        *net_identity_public_key_to_string   (GBytes       *public_key);

G_END_DECLS
