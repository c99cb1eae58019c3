/* net-record.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-record-private.h"

/**
 * SECTION:net-record
 * @title: NetRecord
 * @short_description: a record of a collection
 *
 * #NetRecord is the base class of the records an application keeps in a
 * #NetCollection.  The application derives from it and declares its fields
 * as properties; the collection stores every readable and writable
 * property a subclass declares.  The field types are boolean, int, uint,
 * int64, uint64, double, string, strv, enums, flags, #GBytes and
 * #GDateTime; a property of another type makes the collection refuse the
 * class with %NET_ERROR_INVALID_ARGUMENT.
 *
 * |[<!-- language="C" -->
 * struct _MyNote { NetRecord parent_instance; char *title; gboolean starred; };
 * G_DEFINE_FINAL_TYPE (MyNote, my_note, NET_TYPE_RECORD)
 * // class_init installs "title" (string) and "starred" (boolean)
 * ]|
 *
 * Records a collection returns are live and unique, as #NetTask objects
 * are: one object per id while someone holds it, changed in place by the
 * collection, with #GObject::notify from the fold's dispatch.  Change them
 * through net_collection_update(); a property set directly on a record is
 * not stored.
 *
 * A collection opened with %NET_TYPE_RECORD itself (no class) returns
 * plain #NetRecord objects: net_record_get_field() reads their fields by
 * name.
 *
 * Since: 0.2
 */

/**
 * NetRecord:
 *
 * A record of a #NetCollection: an id, two times and the fields of its
 * class.
 *
 * Since: 0.2
 */

typedef struct
{
  NetTableItemLink    link;     /* its id, and its collection's registry */
  gint64              created_at;
  gint64              updated_at;
  gboolean            frozen;   /* notifies held back by the collection */
  GHashTable         *fields;   /* an untyped record's: name → GValue* */
} NetRecordPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (NetRecord, net_record, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_CREATED_AT,
  PROP_UPDATED_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
/* GObject::notify (set once, by the class init, before any record). */
static guint notify_signal_id;

/* Field types ------------------------------------------------------------------ */

gboolean
_net_field_type_of (GType         value_type,
                    NetFieldType *type)
{
  if (value_type == G_TYPE_BOOLEAN)
    *type = NET_FIELD_BOOLEAN;
  else if (value_type == G_TYPE_INT)
    *type = NET_FIELD_INT;
  else if (value_type == G_TYPE_UINT)
    *type = NET_FIELD_UINT;
  else if (value_type == G_TYPE_INT64)
    *type = NET_FIELD_INT64;
  else if (value_type == G_TYPE_UINT64)
    *type = NET_FIELD_UINT64;
  else if (value_type == G_TYPE_DOUBLE)
    *type = NET_FIELD_DOUBLE;
  else if (value_type == G_TYPE_STRING)
    *type = NET_FIELD_STRING;
  else if (value_type == G_TYPE_STRV)
    *type = NET_FIELD_STRV;
  else if (G_TYPE_IS_ENUM (value_type))
    *type = NET_FIELD_ENUM;
  else if (G_TYPE_IS_FLAGS (value_type))
    *type = NET_FIELD_FLAGS;
  else if (value_type == G_TYPE_BYTES)
    *type = NET_FIELD_BYTES;
  else if (value_type == G_TYPE_DATE_TIME)
    *type = NET_FIELD_DATETIME;
  else
    return FALSE;
  return TRUE;
}

const char *
_net_field_type_name (NetFieldType type)
{
  static const char * const names[] = {
    NULL, "boolean", "int", "uint", "int64", "uint64", "double", "string",
    "strv", "enum", "flags", "bytes", "datetime",
  };

  return type >= 1 && type <= NET_FIELD_LAST ? names[type] : "unknown";
}

GType
_net_field_type_gtype (NetFieldType type)
{
  switch (type)
    {
    case NET_FIELD_BOOLEAN: return G_TYPE_BOOLEAN;
    case NET_FIELD_INT: return G_TYPE_INT;
    case NET_FIELD_UINT: return G_TYPE_UINT;
    case NET_FIELD_INT64: return G_TYPE_INT64;
    case NET_FIELD_UINT64: return G_TYPE_UINT64;
    case NET_FIELD_DOUBLE: return G_TYPE_DOUBLE;
    case NET_FIELD_STRING: return G_TYPE_STRING;
    case NET_FIELD_STRV: return G_TYPE_STRV;
    case NET_FIELD_ENUM: return G_TYPE_INT;     /* without its class */
    case NET_FIELD_FLAGS: return G_TYPE_UINT;
    case NET_FIELD_BYTES: return G_TYPE_BYTES;
    case NET_FIELD_DATETIME: return G_TYPE_DATE_TIME;
    default: return G_TYPE_INVALID;
    }
}

static gboolean
field_type_is_number (NetFieldType type)
{
  switch (type)
    {
    case NET_FIELD_INT:
    case NET_FIELD_UINT:
    case NET_FIELD_INT64:
    case NET_FIELD_UINT64:
    case NET_FIELD_DOUBLE:
    case NET_FIELD_ENUM:
    case NET_FIELD_FLAGS:
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
_net_field_type_compatible (NetFieldType stored,
                            NetFieldType wanted)
{
  /* Numbers convert among themselves (a narrower type clamps); the other
   * types only read as themselves. */
  return stored == wanted || (field_type_is_number (stored) && field_type_is_number (wanted));
}

gboolean
_net_record_is_own_property (const char *name)
{
  return g_str_equal (name, "id") || g_str_equal (name, "created-at") || g_str_equal (name, "updated-at");
}

GPtrArray *
_net_record_class_fields (GType    record_type,
                          GError **error)
{
  g_autoptr(GPtrArray) fields = g_ptr_array_new ();
  g_autofree GParamSpec **pspecs = NULL;
  GObjectClass *klass;
  guint n = 0;

  if (!g_type_is_a (record_type, NET_TYPE_RECORD))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s is not a NetRecord type", g_type_name (record_type));
      return NULL;
    }

  klass = g_type_class_ref (record_type);
  pspecs = g_object_class_list_properties (klass, &n);
  for (guint i = 0; i < n; i++)
    {
      GParamSpec *pspec = pspecs[i];
      NetFieldType type;

      if (pspec->owner_type == NET_TYPE_RECORD || _net_record_is_own_property (pspec->name))
        continue;
      if ((pspec->flags & (G_PARAM_READABLE | G_PARAM_WRITABLE)) != (G_PARAM_READABLE | G_PARAM_WRITABLE) ||
          (pspec->flags & G_PARAM_CONSTRUCT_ONLY) != 0)
        continue;   /* computed or fixed: not a field */
      if (!_net_field_type_of (G_PARAM_SPEC_VALUE_TYPE (pspec), &type))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "field “%s” of %s has type %s, which a record cannot store",
                       pspec->name, g_type_name (record_type),
                       g_type_name (G_PARAM_SPEC_VALUE_TYPE (pspec)));
          g_type_class_unref (klass);
          return NULL;
        }
      g_ptr_array_add (fields, pspec);
    }
  g_type_class_unref (klass);
  return g_steal_pointer (&fields);
}

/* Live items --------------------------------------------------------------------- */

NetTableItemLink *
_net_record_get_link (NetRecord *self)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  return &priv->link;
}

void
_net_record_begin_change (NetRecord *self)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  if (!priv->frozen)
    {
      priv->frozen = TRUE;
      g_object_freeze_notify (G_OBJECT (self));
    }
}

gboolean
_net_record_has_pending_notify (NetRecord *self)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  return priv->frozen;
}

/* Whether a notify of @self's times can reach anyone: a handler of
 * "notify" of any detail (blocked ones too; one lookup, where one per
 * detail that could hear the times was most of an insert's check), or a
 * class that overrides GObjectClass.notify. */
gboolean
_net_record_has_time_listeners (NetRecord *self)
{
  return G_OBJECT_GET_CLASS (self)->notify != NULL ||
         g_signal_handler_find (self, G_SIGNAL_MATCH_ID, notify_signal_id, 0, NULL, NULL, NULL) != 0;
}

void
_net_record_flush_notify (NetRecord *self)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  if (priv->frozen)
    {
      priv->frozen = FALSE;
      g_object_thaw_notify (G_OBJECT (self));
    }
}

void
_net_record_set_id_internal (NetRecord *self,
                             guint64    id)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  if (priv->link.id != id)
    {
      priv->link.id = id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
    }
}

void
_net_record_set_times (NetRecord *self,
                       gint64     created_at,
                       gint64     updated_at)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  if (priv->created_at != created_at)
    {
      priv->created_at = created_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CREATED_AT]);
    }
  if (priv->updated_at != updated_at)
    {
      priv->updated_at = updated_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_UPDATED_AT]);
    }
}

static void
value_free (gpointer data)
{
  GValue *value = data;

  g_value_unset (value);
  g_free (value);
}

void
_net_record_set_field (NetRecord    *self,
                       const char   *name,
                       const GValue *value)
{
  NetRecordPrivate *priv = net_record_get_instance_private (self);
  GValue *copy;

  if (value == NULL)
    {
      if (priv->fields != NULL)
        g_hash_table_remove (priv->fields, name);
      return;
    }
  if (priv->fields == NULL)
    priv->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_free);
  copy = g_new0 (GValue, 1);
  g_value_init (copy, G_VALUE_TYPE (value));
  g_value_copy (value, copy);
  g_hash_table_replace (priv->fields, g_strdup (name), copy);
}

/* GObject ----------------------------------------------------------------------- */

static void
net_record_dispose (GObject *object)
{
  NetRecord *self = (NetRecord *) object;
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  _net_table_item_link_release (&priv->link);

  G_OBJECT_CLASS (net_record_parent_class)->dispose (object);
}

static void
net_record_finalize (GObject *object)
{
  NetRecord *self = (NetRecord *) object;
  NetRecordPrivate *priv = net_record_get_instance_private (self);

  g_clear_pointer (&priv->fields, g_hash_table_unref);

  G_OBJECT_CLASS (net_record_parent_class)->finalize (object);
}

static void
net_record_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  NetRecord *self = NET_RECORD (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, net_record_get_id (self));
      break;
    case PROP_CREATED_AT:
      g_value_set_int64 (value, net_record_get_created_at (self));
      break;
    case PROP_UPDATED_AT:
      g_value_set_int64 (value, net_record_get_updated_at (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_record_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  NetRecord *self = NET_RECORD (object);

  switch (prop_id)
    {
    case PROP_ID:
      net_record_set_id (self, g_value_get_uint64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_record_class_init (NetRecordClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_record_dispose;
  object_class->finalize = net_record_finalize;
  object_class->get_property = net_record_get_property;
  object_class->set_property = net_record_set_property;
  notify_signal_id = g_signal_lookup ("notify", G_TYPE_OBJECT);

  /**
   * NetRecord:id:
   *
   * The id of the record.  0 on a new record asks
   * net_collection_insert() to choose one: a random id in [1, 2^53).
   *
   * Since: 0.2
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRecord:created-at:
   *
   * When the record was inserted, in microseconds since the Unix epoch;
   * set by the collection.
   *
   * Since: 0.2
   */
  properties[PROP_CREATED_AT] =
    g_param_spec_int64 ("created-at", NULL, NULL, G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetRecord:updated-at:
   *
   * When the record was last changed, in microseconds since the Unix
   * epoch; set by the collection.
   *
   * Since: 0.2
   */
  properties[PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL, G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_record_init (NetRecord *self)
{
}

/* Public API ---------------------------------------------------------------------- */

/**
 * net_record_get_id:
 * @self: a #NetRecord
 *
 * Gets the id of the record (0 for a new record not inserted yet).
 *
 * Returns: the id
 *
 * Since: 0.2
 */
guint64
net_record_get_id (NetRecord *self)
{
  NetRecordPrivate *priv;

  g_return_val_if_fail (NET_IS_RECORD (self), 0);

  priv = net_record_get_instance_private (self);
  return priv->link.id;
}

/**
 * net_record_set_id:
 * @self: a #NetRecord
 * @id: the id, or 0 to have net_collection_insert() choose one
 *
 * Sets the id of a new record, before net_collection_insert().  The id of
 * a record a collection holds does not change.
 *
 * Since: 0.2
 */
void
net_record_set_id (NetRecord *self,
                   guint64    id)
{
  NetRecordPrivate *priv;

  g_return_if_fail (NET_IS_RECORD (self));

  priv = net_record_get_instance_private (self);
  g_return_if_fail (priv->link.table == NULL || priv->link.id == id);
  _net_record_set_id_internal (self, id);
}

/**
 * net_record_get_created_at:
 * @self: a #NetRecord
 *
 * Gets when the record was inserted.
 *
 * Returns: microseconds since the Unix epoch, or 0 for a new record
 *
 * Since: 0.2
 */
gint64
net_record_get_created_at (NetRecord *self)
{
  NetRecordPrivate *priv;

  g_return_val_if_fail (NET_IS_RECORD (self), 0);

  priv = net_record_get_instance_private (self);
  return priv->created_at;
}

/**
 * net_record_get_updated_at:
 * @self: a #NetRecord
 *
 * Gets when the record was last changed.
 *
 * Returns: microseconds since the Unix epoch, or 0 for a new record
 *
 * Since: 0.2
 */
gint64
net_record_get_updated_at (NetRecord *self)
{
  NetRecordPrivate *priv;

  g_return_val_if_fail (NET_IS_RECORD (self), 0);

  priv = net_record_get_instance_private (self);
  return priv->updated_at;
}

/**
 * net_record_get_field:
 * @self: a #NetRecord
 * @name: the name of a field (or `id`, `created-at`, `updated-at`)
 * @out: (out caller-allocates): an uninitialized #GValue, initialized and
 *   set to the field's value on success
 *
 * Reads a field of a record by name: a property of its class, or, for a
 * record of a collection opened without a class (%NET_TYPE_RECORD), a
 * field stored in the collection's log.  An enum reads as an int and
 * flags as a uint in an untyped record.
 *
 * Returns: %TRUE if the record has the field; %FALSE (with @out left
 *   unset) otherwise
 *
 * Since: 0.2
 */
gboolean
net_record_get_field (NetRecord  *self,
                      const char *name,
                      GValue     *out)
{
  NetRecordPrivate *priv;
  GParamSpec *pspec;
  GValue *stored;

  g_return_val_if_fail (NET_IS_RECORD (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (out != NULL && G_VALUE_TYPE (out) == G_TYPE_INVALID, FALSE);

  priv = net_record_get_instance_private (self);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (self), name);
  if (pspec != NULL && (pspec->flags & G_PARAM_READABLE) != 0)
    {
      g_value_init (out, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_object_get_property (G_OBJECT (self), pspec->name, out);
      return TRUE;
    }
  if (priv->fields != NULL && (stored = g_hash_table_lookup (priv->fields, name)) != NULL)
    {
      g_value_init (out, G_VALUE_TYPE (stored));
      g_value_copy (stored, out);
      return TRUE;
    }
  return FALSE;
}

static int
net_record_compare_names (gconstpointer a,
                          gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * net_record_list_fields:
 * @self: a #NetRecord
 *
 * Lists the names of the fields of the record: the fields of its class, or
 * for an untyped record (%NET_TYPE_RECORD) the fields its collection
 * stores, sorted.  `id`, `created-at` and `updated-at` are not listed.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 *
 * Since: 0.2
 */
char **
net_record_list_fields (NetRecord *self)
{
  NetRecordPrivate *priv;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GPtrArray) fields = NULL;

  g_return_val_if_fail (NET_IS_RECORD (self), NULL);

  priv = net_record_get_instance_private (self);
  fields = _net_record_class_fields (G_OBJECT_TYPE (self), NULL);
  for (guint i = 0; fields != NULL && i < fields->len; i++)
    g_ptr_array_add (names, g_strdup (((GParamSpec *) g_ptr_array_index (fields, i))->name));
  if (priv->fields != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, priv->fields);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (names, g_strdup (key));
    }
  g_ptr_array_sort (names, net_record_compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}
