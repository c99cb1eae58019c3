/* net-redex-config-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-redex-config.h"

G_BEGIN_DECLS

#define NET_REDEX_DEFAULT_SEGMENT_SIZE (64 * 1024 * 1024)
#define NET_REDEX_MIN_SEGMENT_SIZE     4096
#define NET_REDEX_DEFAULT_TAIL_BUFFER  65536
#define NET_REDEX_DEFAULT_MAX_PAYLOAD  (16 * 1024 * 1024)

/* The values a log copies from its config when it is opened. */
typedef struct
{
  NetFsyncPolicy fsync_policy;
  guint          fsync_param;
  guint64        segment_size;
  guint64        retention_max_events;
  guint64        retention_max_bytes;
  GTimeSpan      retention_max_age;
  guint          tail_buffer;
  guint          max_payload;
} NetRedexLimits;

void _net_redex_limits_init       (NetRedexLimits *limits);
void _net_redex_config_get_limits (NetRedexConfig *self,
                                   NetRedexLimits *limits);

G_END_DECLS
