/* net-db-memories-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-memories.h"
#include "net-db-private.h"
#include "net-follow-private.h"
#include "net-table-private.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

guint64 _net_db_memories_get_origin_app_seq (NetDbMemories *self,
                                             guint64        origin);

NetDbMemories *_net_db_memories_open (NetRedex        *redex,
                                      NetRedexConfig  *config,
                                      guint64          origin,
                                      GBytes          *snapshot,
                                      GError         **error);

/* What replication does with the model (read-only restarts, following,
 * write forwarding, re-bootstrap): see net-follow-private.h. */
NetFollow *_net_db_memories_get_follow (NetDbMemories *self);
/* The engine under the model: what NetDb does with every model alike. */
NetTable *_net_db_memories_get_table (NetDbMemories *self);

G_END_DECLS
