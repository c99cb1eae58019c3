/* net-collection-schema.c: the fields a collection's log defines and its class binds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-collection-internal-private.h"

/* The schema ------------------------------------------------------------------------ */

void
_net_coll_stored_field_free (gpointer data)
{
  StoredField *sf = data;

  g_free (sf->name);
  g_free (sf);
}

void
_net_coll_class_field_free (gpointer data)
{
  ClassField *cf = data;

  g_free (cf->name);
  if (G_IS_VALUE (&cf->def))
    g_value_unset (&cf->def);
  g_free (cf);
}

/* An untyped collection's field of @sf's name reads as its newest type. */
static void
untyped_field_update (NetCollection *self,
                      StoredField   *sf)
{
  ClassField *cf = g_hash_table_lookup (self->fields_by_name, sf->name);

  if (cf == NULL)
    {
      cf = g_new0 (ClassField, 1);
      cf->name = g_strdup (sf->name);
      g_ptr_array_add (self->fields, cf);
      g_hash_table_insert (self->fields_by_name, cf->name, cf);
    }
  cf->type = sf->type;
  cf->stored = sf;
}

/* Adds definition @num (@name, @type); an existing one must be the same. */
gboolean
_net_coll_define_field (NetCollection *self,
                        guint          num,
                        const char    *name,
                        NetFieldType   type,
                        guint64        seq,
                        GError       **error)
{
  StoredField *sf;
  ClassField *cf;

  if (num <= self->stored->len)
    {
      sf = g_ptr_array_index (self->stored, num - 1);
      if (sf->type != type || !g_str_equal (sf->name, name))
        return _net_coll_corrupt (error, "a field defined twice", seq);
      return TRUE;
    }
  if (num != self->stored->len + 1)
    return _net_coll_corrupt (error, "a field defined out of order", seq);

  sf = g_new0 (StoredField, 1);
  sf->num = num;
  sf->name = g_strdup (name);
  sf->type = type;
  sf->prev = g_hash_table_lookup (self->stored_by_name, name);
  g_ptr_array_add (self->stored, sf);
  g_hash_table_insert (self->stored_by_name, sf->name, sf);

  if (self->record_type == NET_TYPE_RECORD)
    untyped_field_update (self, sf);
  else if ((cf = g_hash_table_lookup (self->fields_by_name, name)) != NULL &&
           _net_field_type_compatible (type, cf->type))
    cf->stored = sf;
  return TRUE;
}

/* Binds the fields of the class to what the log stores. */
gboolean
_net_coll_bind_class (NetCollection *self,
                      GError       **error)
{
  g_autoptr(GPtrArray) pspecs = NULL;

  if (self->record_type == NET_TYPE_RECORD)
    return TRUE;

  pspecs = _net_record_class_fields (self->record_type, error);
  if (pspecs == NULL)
    return FALSE;
  for (guint i = 0; i < pspecs->len; i++)
    {
      GParamSpec *pspec = g_ptr_array_index (pspecs, i);
      ClassField *cf = g_new0 (ClassField, 1);

      cf->name = g_strdup (pspec->name);
      cf->pspec = pspec;
      _net_field_type_of (G_PARAM_SPEC_VALUE_TYPE (pspec), &cf->type);
      g_value_init (&cf->def, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_param_value_set_default (pspec, &cf->def);
      g_ptr_array_add (self->fields, cf);
      g_hash_table_insert (self->fields_by_name, cf->name, cf);
    }
  return TRUE;
}

/* After the log (or a snapshot) was read: the fields of the class must
 * read what it stores. */
gboolean
_net_coll_check_schema (NetCollection *self,
                        GError       **error)
{
  for (guint i = 0; i < self->fields->len; i++)
    {
      ClassField *cf = g_ptr_array_index (self->fields, i);
      StoredField *sf = g_hash_table_lookup (self->stored_by_name, cf->name);

      for (; sf != NULL; sf = sf->prev)
        if (!_net_field_type_compatible (sf->type, cf->type))
          {
            g_set_error (error, NET_ERROR, NET_ERROR_SCHEMA_MISMATCH,
                         "collection “%s”: field “%s” is stored as %s, which %s cannot read as %s",
                         self->name, cf->name, _net_field_type_name (sf->type),
                         g_type_name (self->record_type), _net_field_type_name (cf->type));
            return FALSE;
          }
      cf->stored = g_hash_table_lookup (self->stored_by_name, cf->name);
    }
  return TRUE;
}
