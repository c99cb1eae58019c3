/* net-db-types.h
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
 * NetTaskStatus:
 * @NET_TASK_STATUS_PENDING: the task is not done yet; a created (or
 *   re-created) task starts here
 * @NET_TASK_STATUS_COMPLETED: the task was completed
 *
 * The state of a #NetTask.
 */
typedef enum
{
  NET_TASK_STATUS_PENDING,
  NET_TASK_STATUS_COMPLETED,
} NetTaskStatus;

/**
 * NetOrderBy:
 * @NET_ORDER_BY_ID_ASC: by id, smallest first (the default)
 * @NET_ORDER_BY_ID_DESC: by id, largest first
 * @NET_ORDER_BY_CREATED_ASC: by creation time, oldest first; equal times
 *   by id, smallest first
 * @NET_ORDER_BY_CREATED_DESC: by creation time, newest first; equal times
 *   by id, largest first
 * @NET_ORDER_BY_UPDATED_ASC: by modification time, oldest first; equal
 *   times by id, smallest first
 * @NET_ORDER_BY_UPDATED_DESC: by modification time, newest first; equal
 *   times by id, largest first
 *
 * The order of query results.
 *
 * Every order is total, because ids are unique: a descending order is
 * exactly the reverse of the matching ascending one, ties included.
 */
typedef enum
{
  NET_ORDER_BY_ID_ASC,
  NET_ORDER_BY_ID_DESC,
  NET_ORDER_BY_CREATED_ASC,
  NET_ORDER_BY_CREATED_DESC,
  NET_ORDER_BY_UPDATED_ASC,
  NET_ORDER_BY_UPDATED_DESC,
} NetOrderBy;

/**
 * NetDbModels:
 * @NET_DB_MODELS_NONE: no model
 * @NET_DB_MODELS_TASKS: the tasks model (#NetDbTasks)
 * @NET_DB_MODELS_MEMORIES: the memories model (#NetDbMemories)
 *
 * The models a #NetDb opens.
 */
typedef enum /*< flags >*/
{
  NET_DB_MODELS_NONE = 0,
  NET_DB_MODELS_TASKS = 1 << 0,
  NET_DB_MODELS_MEMORIES = 1 << 1,
} NetDbModels;

G_END_DECLS
