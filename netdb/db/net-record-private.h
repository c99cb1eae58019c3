/* net-record-private.h: what a collection needs of its records
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-record.h"
#include "net-table-private.h"

G_BEGIN_DECLS

/* The types of stored fields, as a collection's log numbers them (see
 * docs/collection-format.md): never renumber. */
typedef enum
{
  NET_FIELD_BOOLEAN = 1,
  NET_FIELD_INT = 2,
  NET_FIELD_UINT = 3,
  NET_FIELD_INT64 = 4,
  NET_FIELD_UINT64 = 5,
  NET_FIELD_DOUBLE = 6,
  NET_FIELD_STRING = 7,
  NET_FIELD_STRV = 8,
  NET_FIELD_ENUM = 9,
  NET_FIELD_FLAGS = 10,
  NET_FIELD_BYTES = 11,
  NET_FIELD_DATETIME = 12,
  NET_FIELD_LAST = NET_FIELD_DATETIME
} NetFieldType;

/* The field type of a property's value type; FALSE for a type a record
 * cannot store. */
gboolean     _net_field_type_of          (GType          value_type,
                                          NetFieldType  *type);
const char  *_net_field_type_name        (NetFieldType   type);
/* The GType a value of @type reads as in an untyped record. */
GType        _net_field_type_gtype       (NetFieldType   type);
/* Whether a value stored as @stored can be read as @wanted. */
gboolean     _net_field_type_compatible  (NetFieldType   stored,
                                          NetFieldType   wanted);

/* The fields of a record class: its readable and writable properties
 * other than NetRecord's own (GParamSpec*, not owned; class order).  FALSE
 * with %NET_ERROR_INVALID_ARGUMENT naming a property of a type a record
 * cannot store, or a type that is not a NetRecord. */
GPtrArray   *_net_record_class_fields    (GType          record_type,
                                          GError       **error);

/* NetRecord's own properties. */
gboolean     _net_record_is_own_property (const char    *name);

/* The record's link to the registry of its collection's table
 * (net-table-private.h). */
NetTableItemLink *_net_record_get_link   (NetRecord     *self);

/* The fold changes a live record: _begin_change() holds its notifies
 * back (once) until _flush_notify(); the setters notify on a real change. */
void         _net_record_begin_change    (NetRecord     *self);
gboolean     _net_record_has_pending_notify (NetRecord  *self);
gboolean     _net_record_has_time_listeners (NetRecord  *self);
void         _net_record_flush_notify    (NetRecord     *self);
void         _net_record_set_id_internal (NetRecord     *self,
                                          guint64        id);
void         _net_record_set_times       (NetRecord     *self,
                                          gint64         created_at,
                                          gint64         updated_at);
/* An untyped record's fields: @name → @value (copied; NULL removes). */
void         _net_record_set_field       (NetRecord     *self,
                                          const char    *name,
                                          const GValue  *value);

G_END_DECLS
