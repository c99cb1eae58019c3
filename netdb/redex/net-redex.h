/* net-redex.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <gio/gio.h>

#include "netdb-version-macros.h"
#include "net-redex-config.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

#define NET_TYPE_REDEX (net_redex_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetRedex, net_redex, NET, REDEX, GObject)

NET_AVAILABLE_IN_ALL
NetRedex      *net_redex_new            (const char      *path,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
NetRedex      *net_redex_new_read_only  (const char      *path,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
const char    *net_redex_get_path       (NetRedex        *self);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_get_read_only  (NetRedex        *self);
NET_AVAILABLE_IN_ALL
NetRedexFile  *net_redex_open_file      (NetRedex        *self,
                                         const char      *name,
                                         NetRedexConfig  *config,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
char         **net_redex_list_files     (NetRedex        *self,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_sync           (NetRedex        *self,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_close          (NetRedex        *self,
                                         GError         **error);
NET_AVAILABLE_IN_ALL
gboolean       net_redex_name_is_valid  (const char      *name,
                                         GError         **error);

G_END_DECLS
