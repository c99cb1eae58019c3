/* net-db-tasks-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-tasks.h"

G_BEGIN_DECLS

guint64 _net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                          guint64     origin);

NetDbTasks *_net_db_tasks_open (NetRedex        *redex,
                                NetRedexConfig  *config,
                                guint64          origin,
                                GBytes          *snapshot,
                                GError         **error);

G_END_DECLS
