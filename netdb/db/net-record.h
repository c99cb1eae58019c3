/* net-record.h
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

#define NET_TYPE_RECORD (net_record_get_type ())

NET_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (NetRecord, net_record, NET, RECORD, GObject)

/**
 * NetRecordClass:
 * @parent_class: the parent class
 *
 * The class of the records of a #NetCollection.  An application derives
 * from it and declares the fields of its records as properties.
 *
 * Since: 0.2
 */
struct _NetRecordClass
{
  GObjectClass parent_class;

  /*< private >*/
  gpointer padding[8];
};

NET_AVAILABLE_IN_ALL
guint64        net_record_get_id         (NetRecord   *self);
NET_AVAILABLE_IN_ALL
void           net_record_set_id         (NetRecord   *self,
                                          guint64      id);
NET_AVAILABLE_IN_ALL
gint64         net_record_get_created_at (NetRecord   *self);
NET_AVAILABLE_IN_ALL
gint64         net_record_get_updated_at (NetRecord   *self);
NET_AVAILABLE_IN_ALL
gboolean       net_record_get_field      (NetRecord   *self,
                                          const char  *name,
                                          GValue      *out);
NET_AVAILABLE_IN_ALL
char         **net_record_list_fields    (NetRecord   *self);

G_END_DECLS
