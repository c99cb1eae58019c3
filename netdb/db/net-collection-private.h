/* net-collection-private.h: what NetDb needs of its collections
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-collection.h"
#include "net-redex.h"
#include "net-table-private.h"

G_BEGIN_DECLS

/* A collection's log (and snapshot section) is this prefix + its name. */
#define NET_COLLECTION_LOG_PREFIX "collections/"

/* Whether @name is a collection name: 1–200 bytes of [a-z0-9._-], not
 * starting with '.'; %NET_ERROR_INVALID_ARGUMENT naming it otherwise. */
gboolean       _net_collection_name_is_valid (const char      *name,
                                              GError         **error);

/* Opens collection @name of @redex with @record_type (NET_TYPE_RECORD:
 * untyped); with @snapshot, restores it instead of folding the whole log
 * first.  %NET_ERROR_SCHEMA_MISMATCH when a field of the class cannot read
 * what the log stores. */
NetCollection *_net_collection_open          (NetRedex        *redex,
                                              NetRedexConfig  *config,
                                              guint64          origin,
                                              const char      *name,
                                              GType            record_type,
                                              GBytes          *snapshot,
                                              GError         **error);
NetTable      *_net_collection_get_table     (NetCollection   *self);
const char    *_net_collection_get_log_name  (NetCollection   *self);
GBytes        *_net_collection_snapshot      (NetCollection   *self);
gboolean       _net_collection_restore       (NetCollection   *self,
                                              GBytes          *snapshot,
                                              GError         **error);
gboolean       _net_collection_close         (NetCollection   *self,
                                              GError         **error);
/* Tests: how many records the queries checked against their conditions
 * so far (an index makes a query check only its candidates). */
guint64        _net_collection_get_examined  (NetCollection   *self);

/* Write forwarding: an event a follower made, with the numbers of the
 * fields it defines made ours (docs/collection-format.md), ready to be
 * appended; %NET_ERROR_CORRUPT when it is malformed.  And whether an
 * event of the log is a forwarded one as rebased. */
GBytes        *_net_collection_rebase_event  (NetCollection   *self,
                                              GBytes          *event,
                                              GError         **error);
gboolean       _net_collection_event_is_rebase (GBytes        *held,
                                                GBytes        *forwarded);

G_END_DECLS
