/* net-db-tasks-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-tasks.h"

G_BEGIN_DECLS

guint64 _net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                          guint64     origin);

G_END_DECLS
