/* net-db-tasks-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-tasks.h"
#include "net-db-private.h"
#include "net-follow-private.h"
#include "net-table-private.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

guint64 _net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                          guint64     origin);

NetDbTasks *_net_db_tasks_open (NetRedex        *redex,
                                NetRedexConfig  *config,
                                guint64          origin,
                                GBytes          *snapshot,
                                GError         **error);

/* What replication does with the model (read-only restarts, following,
 * write forwarding, re-bootstrap): see net-follow-private.h. */
NetFollow *_net_db_tasks_get_follow (NetDbTasks *self);
/* The engine under the model: what NetDb does with every model alike. */
NetTable *_net_db_tasks_get_table (NetDbTasks *self);

G_END_DECLS
