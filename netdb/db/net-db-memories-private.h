/* net-db-memories-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-memories.h"
#include "net-db-private.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

guint64 _net_db_memories_get_origin_app_seq (NetDbMemories *self,
                                             guint64        origin);

NetDbMemories *_net_db_memories_open (NetRedex        *redex,
                                      NetRedexConfig  *config,
                                      guint64          origin,
                                      GBytes          *snapshot,
                                      GError         **error);

NetRedexFile *_net_db_memories_get_file          (NetDbMemories       *self);
void          _net_db_memories_set_following     (NetDbMemories       *self,
                                                  gboolean             following,
                                                  NetDbForwardFunc     forward,
                                                  gpointer             forward_data);
gboolean      _net_db_memories_append_forwarded  (NetDbMemories       *self,
                                                  GBytes              *event,
                                                  guint64              app_seq,
                                                  NetDbForwardStatus  *status,
                                                  guint64             *seq,
                                                  GError             **error);
gboolean      _net_db_memories_rebootstrap       (NetDbMemories       *self,
                                                  GBytes              *snapshot,
                                                  guint64              applied_seq,
                                                  GError             **error);

G_END_DECLS
