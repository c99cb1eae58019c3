/* net-redex-config.h
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
 * NetFsyncPolicy:
 * @NET_FSYNC_POLICY_NEVER: never fsync on append; data becomes durable on
 *   net_redex_file_sync(), on close, when a segment is sealed, or through
 *   net_redex_file_append_durable(). A crash of the machine (not of the
 *   process) can lose recent appends.
 * @NET_FSYNC_POLICY_EVERY_N: fsync after every N appended events.
 * @NET_FSYNC_POLICY_INTERVAL: fsync at most every N milliseconds, in the
 *   background, while there is unsynced data.
 * @NET_FSYNC_POLICY_ALWAYS: every append returns only once it is durable;
 *   concurrent appenders share fsyncs (group commit).
 *
 * When a persistent log forces its appends to stable storage.
 */
typedef enum
{
  NET_FSYNC_POLICY_NEVER,
  NET_FSYNC_POLICY_EVERY_N,
  NET_FSYNC_POLICY_INTERVAL,
  NET_FSYNC_POLICY_ALWAYS,
} NetFsyncPolicy;

#define NET_TYPE_REDEX_CONFIG (net_redex_config_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (NetRedexConfig, net_redex_config, NET, REDEX_CONFIG, GObject)

NET_AVAILABLE_IN_ALL
NetRedexConfig *net_redex_config_new                      (void);
NET_AVAILABLE_IN_ALL
NetRedexConfig *net_redex_config_copy                     (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
NetFsyncPolicy  net_redex_config_get_fsync_policy         (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
guint           net_redex_config_get_fsync_param          (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_fsync_policy         (NetRedexConfig *self,
                                                           NetFsyncPolicy  policy,
                                                           guint           n_or_ms);
NET_AVAILABLE_IN_ALL
guint64         net_redex_config_get_segment_size         (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_segment_size         (NetRedexConfig *self,
                                                           guint64         segment_size);
NET_AVAILABLE_IN_ALL
guint64         net_redex_config_get_retention_max_events (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_retention_max_events (NetRedexConfig *self,
                                                           guint64         max_events);
NET_AVAILABLE_IN_ALL
guint64         net_redex_config_get_retention_max_bytes  (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_retention_max_bytes  (NetRedexConfig *self,
                                                           guint64         max_bytes);
NET_AVAILABLE_IN_ALL
GTimeSpan       net_redex_config_get_retention_max_age    (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_retention_max_age    (NetRedexConfig *self,
                                                           GTimeSpan       max_age);
NET_AVAILABLE_IN_ALL
guint           net_redex_config_get_tail_buffer          (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_tail_buffer          (NetRedexConfig *self,
                                                           guint           tail_buffer);
NET_AVAILABLE_IN_ALL
guint           net_redex_config_get_max_payload          (NetRedexConfig *self);
NET_AVAILABLE_IN_ALL
void            net_redex_config_set_max_payload          (NetRedexConfig *self,
                                                           guint           max_payload);

G_END_DECLS
