/* net-db-tasks-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-tasks.h"
#include "net-db-private.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

guint64 _net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                          guint64     origin);

NetDbTasks *_net_db_tasks_open (NetRedex        *redex,
                                NetRedexConfig  *config,
                                guint64          origin,
                                GBytes          *snapshot,
                                GError         **error);

/*
 * A read-only model whose log restarted under it (its writer reset the
 * log): @func restores a state the log continues and returns TRUE, or
 * finds none yet and returns FALSE (it is asked again).  Without one the
 * model folds on, counting the events it lost.
 */
void _net_db_tasks_set_restart_func (NetDbTasks *self,
                                     gboolean (*func) (gpointer model,
                                                       gpointer user_data),
                                     gpointer  user_data);

NetRedexFile *_net_db_tasks_get_file          (NetDbTasks          *self);
void          _net_db_tasks_set_following     (NetDbTasks          *self,
                                               gboolean             following,
                                               NetDbForwardFunc     forward,
                                               gpointer             forward_data);
gboolean      _net_db_tasks_append_forwarded  (NetDbTasks          *self,
                                               GBytes              *event,
                                               guint64              app_seq,
                                               NetDbForwardStatus  *status,
                                               guint64             *seq,
                                               GError             **error);
gboolean      _net_db_tasks_rebootstrap       (NetDbTasks          *self,
                                               GBytes              *snapshot,
                                               guint64              applied_seq,
                                               GError             **error);

G_END_DECLS
