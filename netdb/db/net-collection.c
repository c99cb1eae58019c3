/* net-collection.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <gobject/gvaluecollector.h>

#include "net-error.h"
#include "net-enum-types.h"
#include "net-codec-private.h"
#include "net-collection-private.h"
#include "net-db-items-private.h"
#include "net-filter-base-private.h"
#include "net-filter-private.h"
#include "net-record-private.h"
#include "net-table-private.h"

/**
 * SECTION:net-collection
 * @title: NetCollection
 * @short_description: an application's own records
 *
 * A #NetCollection keeps the records of one class an application
 * defines (a #NetRecord subclass): a named log of record events with
 * everything the tasks model has — mutations that return their log seq
 * and are applied before they return, live and unique items that notify
 * their changes from the fold's dispatch, queries through #NetFilter, live
 * queries (net_collection_watch()), snapshots and checkpoints of the
 * #NetDb it belongs to.  Open one with net_db_open_collection().
 *
 * The schema lives in the log: the first time a field is written, the
 * event that writes it records its name and type under a small number,
 * and events then refer to the field by that number
 * (docs/collection-format.md).  A property added to the class later
 * reads as its default for older records; a field the class no longer
 * has is kept and skipped; a property whose type the stored values
 * cannot become fails the open with %NET_ERROR_SCHEMA_MISMATCH.  A
 * collection opened with %NET_TYPE_RECORD needs no class: its records are
 * plain #NetRecord objects whose fields net_record_get_field() reads.
 *
 * Since: 0.2
 */

/**
 * NetCollection:
 *
 * The records of one collection of a database.
 *
 * Since: 0.2
 */

/* Payload fields (docs/collection-format.md). */
enum {
  F_ID = 1,
  F_CREATED = 2,
  F_UPDATED = 3,
  F_DEF = 4,
  F_VALUE = 5,
};

/* Within a field definition, and within a value. */
enum {
  D_NUM = 1,
  D_NAME = 2,
  D_TYPE = 3,
};

enum {
  V_NUM = 1,
  V_DATA = 2,     /* absent: NULL */
};

/* Snapshot item records: F_ID, F_CREATED, F_UPDATED, F_VALUE as above;
 * the schema record has no id and F_DEF fields. */

#define MAX_FIELDS 4096
#define MAX_ID ((G_GUINT64_CONSTANT (1) << 53) - 1)

/* One stored value: the field's type says which member. */
typedef union
{
  gint64    i;       /* int, int64, enum, datetime (µs UTC; NULL_TIME) */
  guint64   u;       /* boolean, uint, uint64, flags */
  double    d;
  char     *s;       /* string (may be NULL) */
  char    **v;       /* strv (may be NULL) */
  GBytes   *b;       /* bytes (may be NULL) */
} Slot;

#define NULL_TIME G_MININT64

/* A field as the log defines it: number, name, type.  A later
 * definition of the same name (another type) shadows it: @prev. */
typedef struct _StoredField StoredField;
struct _StoredField
{
  guint         num;
  char         *name;
  NetFieldType  type;
  StoredField  *prev;
};

/* A record's state: the engine's header, then its values by field
 * number (slot num - 1), followed by one presence bit per slot. */
typedef struct
{
  guint64   id;           /* first: the id table's key */
  gint64    created;
  gint64    updated;
  guint32   n;
  Slot     *slots;
} Entry;

G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, id) == G_STRUCT_OFFSET (NetTableEntry, id));
G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, created) == G_STRUCT_OFFSET (NetTableEntry, created));
G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, updated) == G_STRUCT_OFFSET (NetTableEntry, updated));

/* A field as the collection reads and writes it: a property of the
 * class (typed), or a stored name (untyped). */
typedef struct
{
  char         *name;
  GParamSpec   *pspec;     /* NULL when untyped */
  NetFieldType  type;      /* the property's (untyped: the newest stored) */
  StoredField  *stored;    /* the newest definition of the name, or NULL */
  GValue        def;       /* the property's default (typed only) */
} ClassField;

/* A value of a field as queries compare it. */
typedef struct
{
  NetFieldType  type;
  gboolean      missing;
  Slot          v;        /* borrowed */
} FieldVal;

/* A record as a snapshot holds it (a restore's record). */
typedef struct
{
  gboolean   schema;      /* the schema record: @defs only */
  Entry     *entry;       /* owned until moved */
  GArray    *defs;        /* Def, for the schema record */
  GPtrArray *values;      /* GBytes* of value records, decoded later */
} CollRecord;

typedef struct
{
  guint         num;
  char         *name;
  NetFieldType  type;
} Def;

typedef struct
{
  guint         num;
  gboolean      null;
  Slot          v;        /* owned; of the type of field num */
} Value;

struct _NetCollection
{
  GObject         parent_instance;

  NetTable        table;
  NetTableSchema  schema;
  gboolean        table_ready;

  char           *name;
  char           *log_name;
  GType           record_type;

  GPtrArray      *stored;          /* StoredField*, by num - 1 */
  GHashTable     *stored_by_name;  /* name → the newest StoredField* */
  GPtrArray      *fields;          /* ClassField* */
  GHashTable     *fields_by_name;  /* name → ClassField* */

  NetRecord      *inserting;       /* the record an insert makes live */

  /* The orders of fields that live queries keep (OrderIndex*, by their
   * spec; each held by its queries' matchers). */
  GHashTable     *orders;
  gboolean        orders_frozen;   /* during a restore */

  /* net_collection_add_index(): the ordered indexes (OrderIndex*, a
   * reference each, by field name) and the search indexes (SearchIndex*,
   * by field name). */
  GHashTable     *ordered;
  GHashTable     *search;

  guint64         examined;        /* entries a query checked (tests) */
};

G_DEFINE_FINAL_TYPE (NetCollection, net_collection, G_TYPE_OBJECT)

typedef struct _OrderIndex OrderIndex;
static void order_indexes_add    (NetCollection *self,
                                  Entry         *e);
static void order_indexes_move   (NetCollection *self,
                                  Entry         *e);
static void order_indexes_remove (NetCollection *self,
                                  Entry         *e);
static void order_indexes_rebuild (NetCollection *self);
typedef struct _Query Query;
typedef struct _IndexPlan IndexPlan;
static gboolean index_plan_visit (NetCollection      *self,
                                  const Query        *q,
                                  const NetTableWalk *w,
                                  gboolean            ordered,
                                  guint               skip,
                                  NetTableVisitFunc   func,
                                  gpointer            data);
static gboolean index_plan_count (NetCollection      *self,
                                  const Query        *q,
                                  const NetTableWalk *w,
                                  guint              *n);
static void search_indexes_add    (NetCollection *self,
                                   Entry         *e);
static void search_indexes_remove (NetCollection *self,
                                   Entry         *e);
static gboolean order_indexes_walk (NetCollection     *self,
                                    const Query       *q,
                                    const NetTableWalk *w,
                                    guint              skip,
                                    NetTableVisitFunc  func,
                                    gpointer           data);

enum {
  PROP_0,
  PROP_NAME,
  PROP_RECORD_TYPE,
  PROP_APPLIED_SEQ,
  PROP_FOLD_ERRORS,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Values ------------------------------------------------------------------------ */

static gboolean
type_is_pointer (NetFieldType type)
{
  return type == NET_FIELD_STRING || type == NET_FIELD_STRV || type == NET_FIELD_BYTES;
}

static void
slot_clear (NetFieldType  type,
            Slot         *slot)
{
  switch (type)
    {
    case NET_FIELD_STRING:
      g_clear_pointer (&slot->s, g_free);
      break;
    case NET_FIELD_STRV:
      g_clear_pointer (&slot->v, g_strfreev);
      break;
    case NET_FIELD_BYTES:
      g_clear_pointer (&slot->b, g_bytes_unref);
      break;
    default:
      slot->u = 0;
      break;
    }
}

static gboolean
type_is_signed (NetFieldType type)
{
  return type == NET_FIELD_INT || type == NET_FIELD_INT64 || type == NET_FIELD_ENUM;
}

static gboolean
type_is_unsigned (NetFieldType type)
{
  return type == NET_FIELD_BOOLEAN || type == NET_FIELD_UINT || type == NET_FIELD_UINT64 ||
         type == NET_FIELD_FLAGS;
}

static gint64
datetime_to_usec (GDateTime *dt)
{
  return g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
}

static GDateTime *
datetime_from_usec (gint64 usec)
{
  g_autoptr(GDateTime) epoch = g_date_time_new_from_unix_utc (0);

  return g_date_time_add (epoch, usec);
}

/* @value (of the GType of @type, or the property's) into a new slot. */
static gboolean
slot_from_value (NetFieldType   type,
                 const GValue  *value,
                 Slot          *slot)
{
  g_auto(GValue) native = G_VALUE_INIT;
  GType gtype = G_VALUE_TYPE (value);

  memset (slot, 0, sizeof *slot);
  switch (type)
    {
    case NET_FIELD_BOOLEAN:
      if (gtype != G_TYPE_BOOLEAN)
        {
          g_value_init (&native, G_TYPE_BOOLEAN);
          if (!g_value_type_transformable (gtype, G_TYPE_BOOLEAN) || !g_value_transform (value, &native))
            return FALSE;
          value = &native;
        }
      slot->u = g_value_get_boolean (value) ? 1 : 0;
      return TRUE;
    case NET_FIELD_ENUM:
      if (G_VALUE_HOLDS_ENUM (value))
        {
          slot->i = g_value_get_enum (value);
          return TRUE;
        }
      break;
    case NET_FIELD_FLAGS:
      if (G_VALUE_HOLDS_FLAGS (value))
        {
          slot->u = g_value_get_flags (value);
          return TRUE;
        }
      break;
    case NET_FIELD_STRV:
      if (gtype != G_TYPE_STRV)
        return FALSE;
      slot->v = g_value_dup_boxed (value);
      return TRUE;
    case NET_FIELD_BYTES:
      if (gtype != G_TYPE_BYTES)
        return FALSE;
      slot->b = g_value_dup_boxed (value);
      return TRUE;
    case NET_FIELD_DATETIME:
      if (gtype == G_TYPE_DATE_TIME)
        {
          GDateTime *dt = g_value_get_boxed (value);

          slot->i = dt != NULL ? datetime_to_usec (dt) : NULL_TIME;
          return TRUE;
        }
      if (gtype == G_TYPE_INT64)
        {
          slot->i = g_value_get_int64 (value);
          return TRUE;
        }
      return FALSE;
    case NET_FIELD_STRING:
      if (gtype != G_TYPE_STRING)
        {
          g_value_init (&native, G_TYPE_STRING);
          if (!g_value_type_transformable (gtype, G_TYPE_STRING) || !g_value_transform (value, &native))
            return FALSE;
          value = &native;
        }
      if (g_value_get_string (value) != NULL && !g_utf8_validate (g_value_get_string (value), -1, NULL))
        return FALSE;
      slot->s = g_value_dup_string (value);
      return TRUE;
    default:
      break;
    }

  /* Numbers: through the native type, with GLib's conversions. */
  if (G_IS_VALUE (&native))
    g_value_unset (&native);
  g_value_init (&native, _net_field_type_gtype (type));
  if (!g_value_type_transformable (gtype, G_VALUE_TYPE (&native)) || !g_value_transform (value, &native))
    return FALSE;
  switch (type)
    {
    case NET_FIELD_INT: slot->i = g_value_get_int (&native); break;
    case NET_FIELD_UINT: slot->u = g_value_get_uint (&native); break;
    case NET_FIELD_INT64: slot->i = g_value_get_int64 (&native); break;
    case NET_FIELD_UINT64: slot->u = g_value_get_uint64 (&native); break;
    case NET_FIELD_DOUBLE: slot->d = g_value_get_double (&native); break;
    case NET_FIELD_ENUM: slot->i = g_value_get_int (&native); break;
    case NET_FIELD_FLAGS: slot->u = g_value_get_uint (&native); break;
    default: return FALSE;
    }
  return TRUE;
}

/* A stored value (@type, @slot; @null for none) into @out, initialized
 * to the type wanted (a compatible one). */
static void
slot_to_value (NetFieldType  type,
               gboolean      null,
               const Slot   *slot,
               GValue       *out)
{
  GType want = G_VALUE_TYPE (out);
  gint64 i = 0;
  guint64 u = 0;
  double d = 0;
  gboolean is_double = FALSE, is_signed = FALSE;

  switch (type)
    {
    case NET_FIELD_STRING:
      if (want == G_TYPE_STRING)
        g_value_set_string (out, null ? NULL : slot->s);
      return;
    case NET_FIELD_STRV:
      if (want == G_TYPE_STRV)
        g_value_set_boxed (out, null ? NULL : slot->v);
      return;
    case NET_FIELD_BYTES:
      if (want == G_TYPE_BYTES)
        g_value_set_boxed (out, null ? NULL : slot->b);
      return;
    case NET_FIELD_DATETIME:
      if (want == G_TYPE_DATE_TIME)
        {
          if (null || slot->i == NULL_TIME)
            g_value_set_boxed (out, NULL);
          else
            g_value_take_boxed (out, datetime_from_usec (slot->i));
        }
      return;
    case NET_FIELD_BOOLEAN:
      if (want == G_TYPE_BOOLEAN)
        {
          g_value_set_boolean (out, !null && slot->u != 0);
          return;
        }
      break;
    default:
      break;
    }

  if (null)
    return;   /* the zero of the wanted type */
  if (type == NET_FIELD_DOUBLE)
    d = slot->d, is_double = TRUE;
  else if (type_is_signed (type))
    i = slot->i, is_signed = TRUE;
  else
    u = slot->u;

#define NUM(T) (is_double ? (T) d : is_signed ? (T) i : (T) u)
  if (want == G_TYPE_INT)
    g_value_set_int (out, is_double ? (gint) CLAMP (d, G_MININT, G_MAXINT) :
                          is_signed ? (gint) CLAMP (i, G_MININT, G_MAXINT) : (gint) MIN (u, (guint64) G_MAXINT));
  else if (want == G_TYPE_UINT)
    g_value_set_uint (out, is_double ? (guint) CLAMP (d, 0, G_MAXUINT) :
                           is_signed ? (guint) CLAMP (i, 0, G_MAXUINT) : (guint) MIN (u, (guint64) G_MAXUINT));
  else if (want == G_TYPE_INT64)
    g_value_set_int64 (out, is_signed ? i : is_double ? (gint64) d : (gint64) MIN (u, (guint64) G_MAXINT64));
  else if (want == G_TYPE_UINT64)
    g_value_set_uint64 (out, is_signed ? (guint64) MAX (i, 0) : is_double ? (d > 0 ? (guint64) d : 0) : u);
  else if (want == G_TYPE_DOUBLE)
    g_value_set_double (out, NUM (double));
  else if (want == G_TYPE_BOOLEAN)
    g_value_set_boolean (out, NUM (double) != 0);
  else if (G_TYPE_IS_ENUM (want))
    g_value_set_enum (out, NUM (gint));
  else if (G_TYPE_IS_FLAGS (want))
    g_value_set_flags (out, NUM (guint));
#undef NUM
}

/* Encodes a value record: its field number and its data. */
static void
value_encode (GByteArray   *buf,
              guint         num,
              NetFieldType  type,
              const Slot   *slot)
{
  NetEncoder enc;

  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, V_NUM, num);
  switch (type)
    {
    case NET_FIELD_BOOLEAN:
    case NET_FIELD_UINT:
    case NET_FIELD_UINT64:
    case NET_FIELD_FLAGS:
      net_encoder_put_uint (&enc, V_DATA, slot->u);
      break;
    case NET_FIELD_INT:
    case NET_FIELD_INT64:
    case NET_FIELD_ENUM:
      net_encoder_put_int (&enc, V_DATA, slot->i);
      break;
    case NET_FIELD_DATETIME:
      if (slot->i != NULL_TIME)
        net_encoder_put_int (&enc, V_DATA, slot->i);
      break;
    case NET_FIELD_DOUBLE:
      {
        guint64 bits;

        memcpy (&bits, &slot->d, sizeof bits);
        net_encoder_put_uint (&enc, V_DATA, bits);
      }
      break;
    case NET_FIELD_STRING:
      if (slot->s != NULL)
        net_encoder_put_string (&enc, V_DATA, slot->s);
      break;
    case NET_FIELD_STRV:
      /* A strv is its strings in order, each a V_DATA; NULL and empty
       * are both no string. */
      for (guint i = 0; slot->v != NULL && slot->v[i] != NULL; i++)
        net_encoder_put_string (&enc, V_DATA, slot->v[i]);
      break;
    case NET_FIELD_BYTES:
      if (slot->b != NULL)
        {
          gsize len;
          const guint8 *data = g_bytes_get_data (slot->b, &len);

          net_encoder_put_bytes (&enc, V_DATA, data != NULL ? data : (const guint8 *) "", len);
        }
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
corrupt (GError    **error,
         const char *what,
         guint64     seq)
{
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "record event %" G_GUINT64_FORMAT ": %s", seq, what);
  return FALSE;
}

/* Decodes a value record, its field's type found by @type_of. */
static gboolean
value_decode (const guint8  *data,
              gsize          len,
              GPtrArray     *stored,
              GArray        *new_defs,
              Value         *out,
              guint64        seq,
              GError       **error)
{
  g_autoptr(GPtrArray) strv = NULL;
  NetFieldType type = 0;
  gboolean has_num = FALSE, has_data = FALSE;
  NetDecoder dec;
  NetField f;
  int r;

  memset (out, 0, sizeof *out);
  if (!net_decoder_init (&dec, data, len, NULL))
    return corrupt (error, "bad value record", seq);

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      if (f.field == V_NUM && f.wire == NET_WIRE_VARINT && !has_num)
        {
          if (f.uint_value == 0 || f.uint_value > MAX_FIELDS)
            return corrupt (error, "bad field number", seq);
          out->num = f.uint_value;
          has_num = TRUE;
          if (out->num <= stored->len)
            type = ((StoredField *) g_ptr_array_index (stored, out->num - 1))->type;
          else
            for (guint i = 0; new_defs != NULL && i < new_defs->len; i++)
              if (g_array_index (new_defs, Def, i).num == out->num)
                type = g_array_index (new_defs, Def, i).type;
          if (type == 0)
            return corrupt (error, "a value of an undefined field", seq);
          if (type == NET_FIELD_STRV)
            strv = g_ptr_array_new_with_free_func (g_free);
        }
      else if (f.field == V_DATA && has_num)
        {
          gboolean ok = TRUE;

          if (has_data && type != NET_FIELD_STRV)
            slot_clear (type, &out->v);
          has_data = TRUE;
          switch (type)
            {
            case NET_FIELD_BOOLEAN:
              ok = f.wire == NET_WIRE_VARINT && f.uint_value <= 1;
              out->v.u = f.uint_value;
              break;
            case NET_FIELD_UINT:
            case NET_FIELD_FLAGS:
              ok = f.wire == NET_WIRE_VARINT && f.uint_value <= G_MAXUINT32;
              out->v.u = f.uint_value;
              break;
            case NET_FIELD_UINT64:
            case NET_FIELD_DOUBLE:
              ok = f.wire == NET_WIRE_VARINT;
              out->v.u = f.uint_value;
              break;
            case NET_FIELD_INT:
            case NET_FIELD_ENUM:
              ok = f.wire == NET_WIRE_SVARINT && f.int_value >= G_MININT32 && f.int_value <= G_MAXINT32;
              out->v.i = f.int_value;
              break;
            case NET_FIELD_INT64:
            case NET_FIELD_DATETIME:
              ok = f.wire == NET_WIRE_SVARINT;
              out->v.i = f.int_value;
              break;
            case NET_FIELD_STRING:
              ok = f.wire == NET_WIRE_BYTES && (out->v.s = net_field_dup_utf8 (&f, NULL)) != NULL;
              break;
            case NET_FIELD_STRV:
              {
                char *s = NULL;

                ok = f.wire == NET_WIRE_BYTES && (s = net_field_dup_utf8 (&f, NULL)) != NULL;
                if (ok)
                  g_ptr_array_add (strv, s);
              }
              break;
            case NET_FIELD_BYTES:
              ok = f.wire == NET_WIRE_BYTES;
              if (ok)
                out->v.b = g_bytes_new (f.bytes, f.bytes_len);
              break;
            default:
              ok = FALSE;
              break;
            }
          if (!ok)
            {
              if (type != NET_FIELD_STRV)
                slot_clear (type, &out->v);
              return corrupt (error, "a value of the wrong type", seq);
            }
        }
    }
  if (r < 0 || !has_num)
    {
      if (has_data && type != NET_FIELD_STRV)
        slot_clear (type, &out->v);
      return corrupt (error, "bad value record", seq);
    }

  if (type == NET_FIELD_STRV)
    {
      g_ptr_array_add (strv, NULL);
      out->v.v = (char **) g_ptr_array_free (g_steal_pointer (&strv), FALSE);
    }
  else if (!has_data)
    {
      out->null = TRUE;
      if (type == NET_FIELD_DATETIME)
        out->v.i = NULL_TIME;
    }
  return TRUE;
}

/* Entries ----------------------------------------------------------------------- */

static inline guint8 *
entry_bits (Entry *e)
{
  return (guint8 *) (e->slots + e->n);
}

static inline gboolean
entry_has (Entry *e,
           guint  num)
{
  return num >= 1 && num <= e->n && (entry_bits (e)[(num - 1) / 8] & (1u << ((num - 1) % 8))) != 0;
}

static Entry *
entry_new (guint64 id)
{
  Entry *e = g_new0 (Entry, 1);

  e->id = id;
  return e;
}

static void
entry_clear_values (NetCollection *self,
                    Entry         *e)
{
  for (guint num = 1; num <= e->n; num++)
    if (entry_has (e, num))
      slot_clear (((StoredField *) g_ptr_array_index (self->stored, num - 1))->type, &e->slots[num - 1]);
  g_clear_pointer (&e->slots, g_free);
  e->n = 0;
}

static void
entry_free (NetCollection *self,
            Entry         *e)
{
  entry_clear_values (self, e);
  g_free (e);
}

/* Makes room for field @num (the entry stays where it is). */
static void
entry_reserve (Entry *e,
               guint  num)
{
  guint n = MAX (num, e->n);
  Slot *slots;

  if (num <= e->n)
    return;
  slots = g_malloc0 (n * sizeof (Slot) + (n + 7) / 8);
  if (e->n > 0)
    {
      memcpy (slots, e->slots, e->n * sizeof (Slot));
      memcpy ((guint8 *) (slots + n), entry_bits (e), (e->n + 7) / 8);
    }
  g_free (e->slots);
  e->slots = slots;
  e->n = n;
}

/* Takes @v into field @num of @e. */
static void
entry_set (NetCollection *self,
           Entry         *e,
           guint          num,
           Slot          *v)
{
  NetFieldType type = ((StoredField *) g_ptr_array_index (self->stored, num - 1))->type;

  entry_reserve (e, num);
  if (entry_has (e, num))
    slot_clear (type, &e->slots[num - 1]);
  e->slots[num - 1] = *v;
  memset (v, 0, sizeof *v);
  entry_bits (e)[(num - 1) / 8] |= 1u << ((num - 1) % 8);
}

static inline Entry *
lookup (NetCollection *self,
        guint64        id)
{
  return _net_id_table_lookup (&self->table.by_id, id);
}

static void
clear_entries (NetCollection *self)
{
  for (guint i = 0; i <= self->table.by_id.mask; i++)
    if (self->table.by_id.slots[i] != NULL)
      entry_free (self, self->table.by_id.slots[i]);
  _net_id_table_clear (&self->table.by_id);
  _net_id_table_init (&self->table.by_id);
  _net_table_clear_indexes (&self->table);
}

/* The value of field @cf of @e as stored (the newest definition that
 * has one), or its default. */
static void
entry_field (Entry       *e,
             ClassField  *cf,
             FieldVal    *out)
{
  for (StoredField *sf = cf->stored; sf != NULL; sf = sf->prev)
    if (entry_has (e, sf->num))
      {
        out->type = sf->type;
        out->missing = FALSE;
        out->v = e->slots[sf->num - 1];
        return;
      }
  out->type = cf->type;
  out->missing = TRUE;
  memset (&out->v, 0, sizeof out->v);
}

/* Reads field @cf of @e into @out (initialized here). */
static gboolean
entry_field_value (Entry      *e,
                   ClassField *cf,
                   GValue     *out)
{
  FieldVal fv;

  entry_field (e, cf, &fv);
  if (fv.missing && cf->pspec == NULL)
    return FALSE;
  g_value_init (out, cf->pspec != NULL ? G_PARAM_SPEC_VALUE_TYPE (cf->pspec) : _net_field_type_gtype (cf->type));
  if (fv.missing)
    g_value_copy (&cf->def, out);
  else
    slot_to_value (fv.type, FALSE, &fv.v, out);
  return TRUE;
}

/* The schema ------------------------------------------------------------------------ */

static void
stored_field_free (gpointer data)
{
  StoredField *sf = data;

  g_free (sf->name);
  g_free (sf);
}

static void
class_field_free (gpointer data)
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
static gboolean
define_field (NetCollection *self,
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
        return corrupt (error, "a field defined twice", seq);
      return TRUE;
    }
  if (num != self->stored->len + 1)
    return corrupt (error, "a field defined out of order", seq);

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
static gboolean
bind_class (NetCollection *self,
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
static gboolean
check_schema (NetCollection *self,
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

/* Items ------------------------------------------------------------------------------- */

static NetTableItemLink *
coll_item_link (gpointer item)
{
  return _net_record_get_link (item);
}

/* Whether two values of @pspec are the same (boxed ones by content). */
static gboolean
values_equal (GParamSpec   *pspec,
              const GValue *a,
              const GValue *b)
{
  GType type = G_PARAM_SPEC_VALUE_TYPE (pspec);

  if (type == G_TYPE_STRV)
    {
      const char * const *x = g_value_get_boxed (a), * const *y = g_value_get_boxed (b);

      if (x == NULL || y == NULL)
        return x == y;
      return g_strv_equal (x, y);
    }
  if (type == G_TYPE_BYTES)
    {
      GBytes *x = g_value_get_boxed (a), *y = g_value_get_boxed (b);

      return x == NULL || y == NULL ? x == y : g_bytes_equal (x, y);
    }
  if (type == G_TYPE_DATE_TIME)
    {
      GDateTime *x = g_value_get_boxed (a), *y = g_value_get_boxed (b);

      return x == NULL || y == NULL ? x == y : g_date_time_equal (x, y);
    }
  return g_param_values_cmp (pspec, a, b) == 0;
}

/* Sets the fields of @record from @e; on a live record, only what
 * changed (its notifies held back until the next delivery). */
static void
record_fill (NetCollection *self,
             NetRecord     *record,
             Entry         *e,
             gboolean       live)
{
  for (guint i = 0; i < self->fields->len; i++)
    {
      ClassField *cf = g_ptr_array_index (self->fields, i);
      g_auto(GValue) value = G_VALUE_INIT;

      if (cf->pspec == NULL)
        {
          if (entry_field_value (e, cf, &value))
            _net_record_set_field (record, cf->name, &value);
          else
            _net_record_set_field (record, cf->name, NULL);
          continue;
        }

      entry_field_value (e, cf, &value);
      if (live)
        {
          g_auto(GValue) now = G_VALUE_INIT;

          g_value_init (&now, G_VALUE_TYPE (&value));
          g_object_get_property (G_OBJECT (record), cf->name, &now);
          if (values_equal (cf->pspec, &now, &value))
            continue;
        }
      g_object_set_property (G_OBJECT (record), cf->name, &value);
    }
  _net_record_set_times (record, e->created, e->updated);
}

static gpointer
coll_new_item (gpointer      model,
               gconstpointer entry)
{
  NetCollection *self = model;
  Entry *e = (Entry *) entry;
  NetRecord *record;

  if (self->inserting != NULL && net_record_get_id (self->inserting) == e->id)
    {
      /* The record an insert was given becomes the item of its id. */
      record = g_steal_pointer (&self->inserting);
      _net_record_begin_change (record);
      record_fill (self, record, e, TRUE);
      _net_table_mark_dirty (&self->table, record);
      return record;
    }
  record = g_object_new (self->record_type, NULL);
  _net_record_get_link (record)->id = e->id;
  record_fill (self, record, e, FALSE);
  return record;
}

/* @e changed: its live item follows. */
static void
item_refresh (NetCollection *self,
              Entry         *e)
{
  NetRecord *record = _net_table_live_item (&self->table, e->id);

  if (record == NULL)
    return;
  _net_record_begin_change (record);
  record_fill (self, record, e, TRUE);
  _net_table_mark_dirty (&self->table, record);
}

static gboolean
coll_has_pending_notify (gpointer item)
{
  return _net_record_has_pending_notify (item);
}

static void
coll_flush_notify (gpointer item)
{
  _net_record_flush_notify (item);
}

/* Applying events ------------------------------------------------------------------- */

typedef struct
{
  guint64   id;
  gboolean  has_id;
  gint64    created;
  gint64    updated;
  GArray   *defs;      /* Def */
  GArray   *values;    /* Value */
} Event;

static void
def_clear (gpointer data)
{
  g_free (((Def *) data)->name);
}

static void
event_clear (NetCollection *self,
             Event         *ev)
{
  if (ev->values != NULL)
    {
      for (guint i = 0; i < ev->values->len; i++)
        {
          Value *v = &g_array_index (ev->values, Value, i);
          NetFieldType type = 0;

          if (v->num <= self->stored->len)
            type = ((StoredField *) g_ptr_array_index (self->stored, v->num - 1))->type;
          else
            for (guint j = 0; j < ev->defs->len; j++)
              if (g_array_index (ev->defs, Def, j).num == v->num)
                type = g_array_index (ev->defs, Def, j).type;
          if (type_is_pointer (type))
            slot_clear (type, &v->v);
        }
      g_clear_pointer (&ev->values, g_array_unref);
    }
  g_clear_pointer (&ev->defs, g_array_unref);
}

static gboolean
def_decode (const NetField *outer,
            Def            *def)
{
  NetDecoder dec;
  NetField f;
  int r;

  memset (def, 0, sizeof *def);
  if (outer->wire != NET_WIRE_BYTES || !net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    return FALSE;
  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      if (f.field == D_NUM && f.wire == NET_WIRE_VARINT)
        def->num = f.uint_value <= MAX_FIELDS ? f.uint_value : 0;
      else if (f.field == D_NAME && f.wire == NET_WIRE_BYTES)
        {
          g_free (def->name);
          def->name = net_field_dup_utf8 (&f, NULL);
        }
      else if (f.field == D_TYPE && f.wire == NET_WIRE_VARINT)
        def->type = f.uint_value >= 1 && f.uint_value <= NET_FIELD_LAST ? f.uint_value : 0;
    }
  if (r < 0 || def->num == 0 || def->name == NULL || def->type == 0 ||
      !g_param_spec_is_valid_name (def->name) || _net_record_is_own_property (def->name))
    {
      g_clear_pointer (&def->name, g_free);
      return FALSE;
    }
  return TRUE;
}

/* Checks the definitions of @ev against the schema, in order. */
static gboolean
event_check_defs (NetCollection *self,
                  Event         *ev,
                  guint64        seq,
                  GError       **error)
{
  guint next = self->stored->len + 1;

  for (guint i = 0; i < ev->defs->len; i++)
    {
      Def *d = &g_array_index (ev->defs, Def, i);

      if (d->num < next)
        {
          StoredField *sf = g_ptr_array_index (self->stored, d->num - 1);

          if (d->num > self->stored->len || sf->type != d->type || !g_str_equal (sf->name, d->name))
            return corrupt (error, "a field defined twice", seq);
        }
      else if (d->num == next)
        next++;
      else
        return corrupt (error, "a field defined out of order", seq);
    }
  return TRUE;
}

/* Decodes a record event (or a snapshot's record: @dispatch 0). */
static gboolean
event_decode (NetCollection *self,
              guint8         dispatch,
              guint64        seq,
              const guint8  *payload,
              gsize          payload_len,
              Event         *ev,
              GError       **error)
{
  NetDecoder dec;
  NetField f;
  int r;

  memset (ev, 0, sizeof *ev);
  ev->defs = g_array_new (FALSE, FALSE, sizeof (Def));
  g_array_set_clear_func (ev->defs, def_clear);
  ev->values = g_array_new (FALSE, FALSE, sizeof (Value));

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;
  while ((r = net_decoder_next (&dec, &f, error)) > 0)
    {
      switch (f.field)
        {
        case F_ID:
          if (f.wire != NET_WIRE_VARINT || f.uint_value == 0)
            return corrupt (error, "bad id", seq);
          ev->id = f.uint_value;
          ev->has_id = TRUE;
          break;
        case F_CREATED:
          if (f.wire != NET_WIRE_SVARINT)
            return corrupt (error, "bad time", seq);
          ev->created = f.int_value;
          break;
        case F_UPDATED:
          if (f.wire != NET_WIRE_SVARINT)
            return corrupt (error, "bad time", seq);
          ev->updated = f.int_value;
          break;
        case F_DEF:
          {
            Def d;

            if (ev->values->len > 0 || !def_decode (&f, &d))
              return corrupt (error, "bad field definition", seq);
            g_array_append_val (ev->defs, d);
            if (!event_check_defs (self, ev, seq, error))
              return FALSE;
          }
          break;
        case F_VALUE:
          {
            Value v;

            if (f.wire != NET_WIRE_BYTES ||
                !value_decode (f.bytes, f.bytes_len, self->stored, ev->defs, &v, seq, error))
              {
                if (f.wire != NET_WIRE_BYTES)
                  return corrupt (error, "bad value", seq);
                return FALSE;
              }
            g_array_append_val (ev->values, v);
          }
          break;
        default:
          break;   /* a newer writer's field */
        }
    }
  if (r < 0)
    return FALSE;
  if (dispatch != 0 && !ev->has_id)
    return corrupt (error, "no id", seq);
  return TRUE;
}

static void
entry_index_all (NetCollection *self,
                 Entry         *e)
{
  for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
    _net_table_index_key (&self->table, e, k);
}

static void
entry_unindex_all (NetCollection *self,
                   Entry         *e)
{
  for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
    _net_table_unindex_key (&self->table, e, k);
}

/* Takes the values of @ev into @e. */
static void
entry_take_values (NetCollection *self,
                   Entry         *e,
                   Event         *ev)
{
  for (guint i = 0; i < ev->values->len; i++)
    {
      Value *v = &g_array_index (ev->values, Value, i);

      entry_set (self, e, v->num, &v->v);
    }
  g_array_set_size (ev->values, 0);
}

/* Takes @e (filled, in no index) into the table. */
static void
entry_insert (NetCollection *self,
              Entry         *e)
{
  NetRecord *record = _net_table_adopt_item (&self->table, e->id);

  entry_index_all (self, e);
  _net_id_table_insert (&self->table.by_id, e);
  order_indexes_add (self, e);
  if (G_UNLIKELY (record != NULL))
    {
      /* It carries on as the item of its id (a restore). */
      _net_record_begin_change (record);
      record_fill (self, record, e, TRUE);
      _net_table_mark_dirty (&self->table, record);
      g_object_unref (record);
    }
  _net_watch_hub_touch (&self->table.watches, e->id);
}

static void
entry_delete (NetCollection *self,
              Entry         *e)
{
  entry_unindex_all (self, e);
  _net_id_table_remove (&self->table.by_id, e->id);
  order_indexes_remove (self, e);
  _net_table_forget_item (&self->table, e);
  entry_free (self, e);
}

static gboolean
coll_apply (gpointer            model,
            guint64             seq,
            const NetEventMeta *meta,
            const guint8       *payload,
            gsize               payload_len,
            GError            **error)
{
  NetCollection *self = model;
  Event ev;
  Entry *e;
  gboolean ok;

  if (meta->dispatch < NET_DISPATCH_RECORD_INSERTED || meta->dispatch > NET_DISPATCH_RECORD_DELETED)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event %" G_GUINT64_FORMAT " has dispatch 0x%02x, not a record event",
                   seq, meta->dispatch);
      return FALSE;
    }

  ok = event_decode (self, meta->dispatch, seq, payload, payload_len, &ev, error);
  if (!ok)
    {
      event_clear (self, &ev);
      return FALSE;
    }

  /* The schema first: it holds whatever the event does to its record. */
  for (guint i = 0; i < ev.defs->len; i++)
    {
      Def *d = &g_array_index (ev.defs, Def, i);

      if (!define_field (self, d->num, d->name, d->type, seq, error))
        g_assert_not_reached ();   /* checked by event_decode() */
    }

  e = lookup (self, ev.id);
  switch (meta->dispatch)
    {
    case NET_DISPATCH_RECORD_INSERTED:
      if (e != NULL)
        {
          /* Another origin's insert of an id this one holds: it replaces
           * the record. */
          entry_unindex_all (self, e);
          entry_clear_values (self, e);
          e->created = ev.created;
          e->updated = ev.updated;
          entry_take_values (self, e, &ev);
          entry_index_all (self, e);
          order_indexes_move (self, e);
          item_refresh (self, e);
          _net_watch_hub_touch (&self->table.watches, e->id);
        }
      else
        {
          e = entry_new (ev.id);
          e->created = ev.created;
          e->updated = ev.updated;
          entry_take_values (self, e, &ev);
          entry_insert (self, e);
        }
      break;

    case NET_DISPATCH_RECORD_UPDATED:
      if (e != NULL)
        {
          _net_table_unindex_key (&self->table, e, NET_TABLE_KEY_UPDATED);
          e->updated = ev.updated;
          entry_take_values (self, e, &ev);
          _net_table_index_key (&self->table, e, NET_TABLE_KEY_UPDATED);
          order_indexes_move (self, e);
          item_refresh (self, e);
          _net_watch_hub_touch (&self->table.watches, e->id);
        }
      break;

    case NET_DISPATCH_RECORD_DELETED:
      if (e != NULL)
        entry_delete (self, e);
      break;

    default:
      g_assert_not_reached ();
    }

  event_clear (self, &ev);
  return TRUE;
}

/* Whether an event is well-formed (replication), without the state. */
static gboolean
coll_check (const NetEventMeta  *meta,
            const guint8        *payload,
            gsize                payload_len,
            GError             **error)
{
  NetDecoder dec;
  NetField f;
  int r;

  if (meta->dispatch < NET_DISPATCH_RECORD_INSERTED || meta->dispatch > NET_DISPATCH_RECORD_DELETED)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT, "dispatch 0x%02x is not a record event",
                   meta->dispatch);
      return FALSE;
    }
  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;
  while ((r = net_decoder_next (&dec, &f, error)) > 0)
    if (f.field == F_ID && (f.wire != NET_WIRE_VARINT || f.uint_value == 0))
      return corrupt (error, "bad id", 0);
  return r == 0;
}

static gboolean
coll_restore (gpointer   model,
              GBytes    *snapshot,
              GError   **error)
{
  return _net_collection_restore (model, snapshot, error);
}

/* Queries ------------------------------------------------------------------------------ */

/* A condition as a query evaluates it. */
typedef struct
{
  NetFilterCondition *c;
  ClassField         *cf;        /* NULL: id, created-at or updated-at */
  guint               special;   /* NET_TABLE_KEY_* when cf is NULL */
  gboolean            never;     /* an unknown field: matches nothing */
  FieldVal            operand;
  char              **strv_owned;
} Cond;

typedef struct
{
  ClassField *cf;
  guint       special;
  gboolean    desc;
  gboolean    never;
} OrderKey;

struct _Query
{
  NetCollection *self;
  GArray        *conds;     /* Cond */
  GArray        *keys;      /* OrderKey; empty: the walk's order */
  gboolean       never;
  gboolean       desc_ties; /* ties by id descending */
};

static void
special_field (Entry      *e,
               guint       special,
               FieldVal   *out)
{
  out->missing = FALSE;
  switch (special)
    {
    case NET_TABLE_KEY_CREATED:
      out->type = NET_FIELD_INT64;
      out->v.i = e->created;
      break;
    case NET_TABLE_KEY_UPDATED:
      out->type = NET_FIELD_INT64;
      out->v.i = e->updated;
      break;
    default:
      out->type = NET_FIELD_UINT64;
      out->v.u = e->id;
      break;
    }
}

static gboolean
special_of (const char *name,
            guint      *special)
{
  if (g_str_equal (name, "id"))
    *special = NET_TABLE_KEY_ID;
  else if (g_str_equal (name, "created-at"))
    *special = NET_TABLE_KEY_CREATED;
  else if (g_str_equal (name, "updated-at"))
    *special = NET_TABLE_KEY_UPDATED;
  else
    return FALSE;
  return TRUE;
}

/* The value of a field (or special) of @e, its default when not stored. */
static void
query_field (Entry      *e,
             ClassField *cf,
             guint       special,
             FieldVal   *out,
             Slot       *scratch)
{
  if (cf == NULL)
    {
      special_field (e, special, out);
      return;
    }
  entry_field (e, cf, out);
  if (out->missing && cf->pspec != NULL)
    {
      /* The property's default, as a stored value of the property's type. */
      slot_from_value (cf->type, &cf->def, scratch);
      out->v = *scratch;
      out->type = cf->type;
      out->missing = FALSE;
    }
}

typedef enum { KIND_NUMBER, KIND_STRING, KIND_STRV, KIND_BYTES } Kind;

static Kind
kind_of (NetFieldType type)
{
  switch (type)
    {
    case NET_FIELD_STRING: return KIND_STRING;
    case NET_FIELD_STRV: return KIND_STRV;
    case NET_FIELD_BYTES: return KIND_BYTES;
    default: return KIND_NUMBER;
    }
}

static int
cmp_strv (char **a,
          char **b)
{
  guint i;

  for (i = 0; a != NULL && b != NULL && a[i] != NULL && b[i] != NULL; i++)
    {
      int r = strcmp (a[i], b[i]);

      if (r != 0)
        return r;
    }
  return (a != NULL && a[i] != NULL) - (b != NULL && b[i] != NULL);
}

/* Compares two values of one kind; *ok FALSE when they cannot be
 * compared (another kind, or a missing value). */
static int
fv_compare (const FieldVal *a,
            const FieldVal *b,
            gboolean       *ok)
{
  Kind ka = kind_of (a->type), kb = kind_of (b->type);

  *ok = ka == kb && !a->missing && !b->missing;
  if (ka != kb)
    return ka < kb ? -1 : 1;
  if (a->missing || b->missing)
    return b->missing - a->missing;

  switch (ka)
    {
    case KIND_STRING:
      if (a->v.s == NULL || b->v.s == NULL)
        return (a->v.s != NULL) - (b->v.s != NULL);
      {
        int r = strcmp (a->v.s, b->v.s);

        return (r > 0) - (r < 0);
      }
    case KIND_STRV:
      {
        int r = cmp_strv (a->v.v, b->v.v);

        return (r > 0) - (r < 0);
      }
    case KIND_BYTES:
      if (a->v.b == NULL || b->v.b == NULL)
        return (a->v.b != NULL) - (b->v.b != NULL);
      {
        int r = g_bytes_compare (a->v.b, b->v.b);

        return (r > 0) - (r < 0);
      }
    case KIND_NUMBER:
    default:
      break;
    }

  /* Numbers: exactly among integers, else as long doubles. */
  if (a->type != NET_FIELD_DOUBLE && b->type != NET_FIELD_DOUBLE)
    {
      gboolean sa = type_is_signed (a->type) || a->type == NET_FIELD_DATETIME;
      gboolean sb = type_is_signed (b->type) || b->type == NET_FIELD_DATETIME;

      if (sa && sb)
        return (a->v.i > b->v.i) - (a->v.i < b->v.i);
      if (!sa && !sb)
        return (a->v.u > b->v.u) - (a->v.u < b->v.u);
      if (sa)
        return a->v.i < 0 ? -1 : ((guint64) a->v.i > b->v.u) - ((guint64) a->v.i < b->v.u);
      return b->v.i < 0 ? 1 : (a->v.u > (guint64) b->v.i) - (a->v.u < (guint64) b->v.i);
    }
  else
    {
      long double x, y;

      x = a->type == NET_FIELD_DOUBLE ? a->v.d : type_is_unsigned (a->type) ? (long double) a->v.u : (long double) a->v.i;
      y = b->type == NET_FIELD_DOUBLE ? b->v.d : type_is_unsigned (b->type) ? (long double) b->v.u : (long double) b->v.i;
      if (x != x || y != y)   /* NaN: after every number */
        return (x != x) - (y != y);
      return (x > y) - (x < y);
    }
}

/* A condition's value as a FieldVal (borrowed from its GValue). */
static gboolean
operand_of (Cond *cond)
{
  const GValue *v = &cond->c->value;
  GType t = G_VALUE_TYPE (v);
  FieldVal *o = &cond->operand;

  o->missing = FALSE;
  if (t == G_TYPE_BOOLEAN)
    o->type = NET_FIELD_BOOLEAN, o->v.u = g_value_get_boolean (v) ? 1 : 0;
  else if (t == G_TYPE_INT)
    o->type = NET_FIELD_INT64, o->v.i = g_value_get_int (v);
  else if (t == G_TYPE_UINT)
    o->type = NET_FIELD_UINT64, o->v.u = g_value_get_uint (v);
  else if (t == G_TYPE_LONG)
    o->type = NET_FIELD_INT64, o->v.i = g_value_get_long (v);
  else if (t == G_TYPE_ULONG)
    o->type = NET_FIELD_UINT64, o->v.u = g_value_get_ulong (v);
  else if (t == G_TYPE_INT64)
    o->type = NET_FIELD_INT64, o->v.i = g_value_get_int64 (v);
  else if (t == G_TYPE_UINT64)
    o->type = NET_FIELD_UINT64, o->v.u = g_value_get_uint64 (v);
  else if (t == G_TYPE_DOUBLE)
    o->type = NET_FIELD_DOUBLE, o->v.d = g_value_get_double (v);
  else if (t == G_TYPE_FLOAT)
    o->type = NET_FIELD_DOUBLE, o->v.d = g_value_get_float (v);
  else if (G_TYPE_IS_ENUM (t))
    o->type = NET_FIELD_INT64, o->v.i = g_value_get_enum (v);
  else if (G_TYPE_IS_FLAGS (t))
    o->type = NET_FIELD_UINT64, o->v.u = g_value_get_flags (v);
  else if (t == G_TYPE_STRING)
    o->type = NET_FIELD_STRING, o->v.s = (char *) g_value_get_string (v);
  else if (t == G_TYPE_STRV)
    o->type = NET_FIELD_STRV, o->v.v = g_value_get_boxed (v);
  else if (t == G_TYPE_BYTES)
    o->type = NET_FIELD_BYTES, o->v.b = g_value_get_boxed (v);
  else if (t == G_TYPE_DATE_TIME)
    {
      GDateTime *dt = g_value_get_boxed (v);

      o->type = NET_FIELD_DATETIME;
      o->v.i = dt != NULL ? datetime_to_usec (dt) : NULL_TIME;
    }
  else
    return FALSE;
  return TRUE;
}

static void
query_clear (Query *q)
{
  g_clear_pointer (&q->conds, g_array_unref);
  g_clear_pointer (&q->keys, g_array_unref);
}

static void
query_init (NetCollection *self,
            Query         *q,
            NetFilter     *filter)
{
  GPtrArray *conds = _net_filter_get_conditions (filter);
  GPtrArray *orders = _net_filter_get_orders (filter);

  memset (q, 0, sizeof *q);
  q->self = self;
  q->conds = g_array_new (FALSE, TRUE, sizeof (Cond));
  q->keys = g_array_new (FALSE, TRUE, sizeof (OrderKey));

  for (guint i = 0; conds != NULL && i < conds->len; i++)
    {
      Cond c = { g_ptr_array_index (conds, i), NULL, 0, FALSE, { 0, }, NULL };

      if (!special_of (c.c->field, &c.special))
        {
          c.cf = g_hash_table_lookup (self->fields_by_name, c.c->field);
          if (c.cf == NULL)
            q->never = TRUE;
        }
      if (!operand_of (&c))
        q->never = TRUE;
      g_array_append_val (q->conds, c);
    }

  /* An order the engine walks (one key of id or the times, or none) is
   * the base's order-by; others are sorted. */
  if (orders != NULL && (orders->len > 1 ||
                         (orders->len == 1 && !special_of (((NetFilterOrder *) g_ptr_array_index (orders, 0))->field,
                                                           &(guint) { 0 }))))
    for (guint i = 0; i < orders->len; i++)
      {
        NetFilterOrder *o = g_ptr_array_index (orders, i);
        OrderKey k = { NULL, 0, o->desc, FALSE };

        if (!special_of (o->field, &k.special))
          {
            k.cf = g_hash_table_lookup (self->fields_by_name, o->field);
            k.never = k.cf == NULL;
          }
        g_array_append_val (q->keys, k);
        if (i == 0)
          q->desc_ties = o->desc;
      }
}

static gboolean
text_has_prefix_folded (const char *text,
                        const char *folded_needle)
{
  g_autofree char *folded = NULL;

  if (text == NULL)
    return FALSE;
  folded = _net_db_fold_text (text);
  return g_str_has_prefix (folded, folded_needle);
}

static gboolean
cond_matches (Cond  *c,
              Entry *e)
{
  FieldVal fv;
  Slot scratch = { 0, };
  gboolean ok, r = FALSE;
  int cmp;

  query_field (e, c->cf, c->special, &fv, &scratch);

  switch (c->c->op)
    {
    case NET_FILTER_OP_CONTAINS:
    case NET_FILTER_OP_PREFIX:
      if (fv.missing || c->operand.type != NET_FIELD_STRING || c->c->folded == NULL)
        break;
      if (fv.type == NET_FIELD_STRING)
        r = fv.v.s != NULL &&
            (c->c->op == NET_FILTER_OP_CONTAINS ? _net_db_text_contains_folded (fv.v.s, c->c->folded)
                                                : text_has_prefix_folded (fv.v.s, c->c->folded));
      else if (fv.type == NET_FIELD_STRV)
        for (guint i = 0; fv.v.v != NULL && fv.v.v[i] != NULL && !r; i++)
          r = c->c->op == NET_FILTER_OP_CONTAINS ? g_str_equal (fv.v.v[i], c->operand.v.s)
                                                 : text_has_prefix_folded (fv.v.v[i], c->c->folded);
      break;
    default:
      cmp = fv_compare (&fv, &c->operand, &ok);
      if (!ok)
        break;
      switch (c->c->op)
        {
        case NET_FILTER_OP_EQ: r = cmp == 0; break;
        case NET_FILTER_OP_NE: r = cmp != 0; break;
        case NET_FILTER_OP_LT: r = cmp < 0; break;
        case NET_FILTER_OP_LE: r = cmp <= 0; break;
        case NET_FILTER_OP_GT: r = cmp > 0; break;
        case NET_FILTER_OP_GE: r = cmp >= 0; break;
        default: break;
        }
      break;
    }
  if (c->cf != NULL && type_is_pointer (c->cf->type))
    slot_clear (c->cf->type, &scratch);
  return r;
}

static gboolean
query_matches (gconstpointer entry,
               gconstpointer data)
{
  const Query *q = data;

  q->self->examined++;
  if (q->never)
    return FALSE;
  for (guint i = 0; i < q->conds->len; i++)
    if (!cond_matches (&g_array_index (q->conds, Cond, i), (Entry *) entry))
      return FALSE;
  return TRUE;
}

static int
query_compare (const Query *q,
               Entry       *a,
               Entry       *b)
{
  for (guint i = 0; i < q->keys->len; i++)
    {
      OrderKey *k = &g_array_index (q->keys, OrderKey, i);
      FieldVal fa, fb;
      Slot sa = { 0, }, sb = { 0, };
      gboolean ok;
      int r;

      if (k->never)
        continue;
      query_field (a, k->cf, k->special, &fa, &sa);
      query_field (b, k->cf, k->special, &fb, &sb);
      r = fv_compare (&fa, &fb, &ok);
      if (k->cf != NULL && type_is_pointer (k->cf->type))
        {
          slot_clear (k->cf->type, &sa);
          slot_clear (k->cf->type, &sb);
        }
      if (r != 0)
        return k->desc ? -r : r;
    }
  if (a->id == b->id)
    return 0;
  return (a->id < b->id) == !q->desc_ties ? -1 : 1;
}

static int
query_compare_cb (gconstpointer a,
                  gconstpointer b,
                  gpointer      data)
{
  return query_compare (data, *(Entry **) a, *(Entry **) b);
}

static void
query_walk_init (NetCollection *self,
                 Query         *q,
                 NetTableWalk  *w,
                 NetFilter     *filter)
{
  _net_table_walk_init (&self->table, w, (NetFilterBase *) filter);
  if (q->never || q->conds->len > 0)
    {
      w->nothing_else = FALSE;
      w->matches = query_matches;
      w->match_data = q;
    }
}

static gboolean
collect_cb (gpointer thing,
            gpointer data)
{
  g_ptr_array_add (data, thing);
  return TRUE;
}

static gboolean
coll_count_fast (gpointer       model,
                 NetFilterBase *filter,
                 guint         *n)
{
  NetCollection *self = model;
  NetTableWalk w;
  Query q;
  gboolean ok;

  query_init (self, &q, (NetFilter *) filter);
  query_walk_init (self, &q, &w, (NetFilter *) filter);
  ok = _net_table_walk_count_fast (&self->table, &w, n) || index_plan_count (self, &q, &w, n);
  query_clear (&q);
  return ok;
}

static void
coll_visit (gpointer           model,
            NetFilterBase     *filter,
            gboolean           ordered,
            guint              skip,
            guint              window,
            NetTableVisitFunc  func,
            gpointer           data)
{
  NetCollection *self = model;
  g_autoptr(GPtrArray) matches = NULL;
  NetTableWalk w;
  Query q;

  query_init (self, &q, (NetFilter *) filter);
  query_walk_init (self, &q, &w, (NetFilter *) filter);

  /* An index narrows the candidates (or gives the order). */
  if (index_plan_visit (self, &q, &w, ordered, skip, func, data))
    {
      query_clear (&q);
      return;
    }

  if (!ordered || q.keys->len == 0)
    {
      _net_table_walk (&self->table, &w, ordered ? skip : 0, func, data);
      query_clear (&q);
      return;
    }

  /* An order of fields a live query keeps: walk it. */
  if (order_indexes_walk (self, &q, &w, skip, func, data))
    {
      query_clear (&q);
      return;
    }

  /* An order of fields: sort the matches. */
  matches = g_ptr_array_new ();
  _net_table_walk (&self->table, &w, 0, collect_cb, matches);
  g_ptr_array_sort_with_data (matches, query_compare_cb, &q);
  for (guint i = skip; i < matches->len; i++)
    if (!func (g_ptr_array_index (matches, i), data))
      break;
  query_clear (&q);
}

/* Order indexes --------------------------------------------------------------------- */

/*
 * A live query orders its items by a u64 sort key (net-query-model.c).  A
 * query ordered by fields gets its keys from an order index: the records
 * kept sorted by the filter's order keys (a GSequence), each with a label
 * that grows along the order, with gaps between labels, so that a record
 * that moves takes a label between its new neighbours' and the others keep
 * theirs.  When a gap is used up, every record gets a new label, evenly
 * spaced, and the collection's live queries recompute: a rare O(n).  One
 * index per distinct order, shared by the queries that use it, kept up to
 * date by the fold while any of them lives.
 */

/* A record appended past either end takes a label this far from its
 * neighbour: appends in order (a growing field) do not halve the space. */
#define ORDER_END_STEP (G_GUINT64_CONSTANT (1) << 32)

typedef struct
{
  Entry    *e;
  guint64   label;
} OrderNode;

struct _OrderIndex
{
  guint           ref;
  NetCollection  *owner;   /* NULL once the collection is gone */
  char           *spec;
  Query           q;       /* its order keys (no conditions) */
  GSequence      *seq;     /* OrderNode*, owned */
  GHashTable     *nodes;   /* the entry's id (its address) → GSequenceIter* */
};

static int
order_node_compare (gconstpointer a,
                    gconstpointer b,
                    gpointer      data)
{
  OrderIndex *idx = data;

  return query_compare (&idx->q, ((const OrderNode *) a)->e, ((const OrderNode *) b)->e);
}

/* Evenly spaced labels along the order. */
static void
order_index_relabel (OrderIndex *idx)
{
  guint64 step = G_MAXUINT64 / ((guint64) g_sequence_get_length (idx->seq) + 1);
  guint64 label = 0;

  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    ((OrderNode *) g_sequence_get (it))->label = label += step;
}

/* Gives the node at @it a label between its neighbours'; FALSE when
 * there is no room (then every label changed). */
static gboolean
order_index_place (OrderIndex    *idx,
                   GSequenceIter *it)
{
  OrderNode *node = g_sequence_get (it);
  gboolean has_prev = !g_sequence_iter_is_begin (it);
  GSequenceIter *next = g_sequence_iter_next (it);
  gboolean has_next = !g_sequence_iter_is_end (next);
  guint64 lo = has_prev ? ((OrderNode *) g_sequence_get (g_sequence_iter_prev (it)))->label : 0;
  guint64 hi = has_next ? ((OrderNode *) g_sequence_get (next))->label : G_MAXUINT64;
  guint64 label;

  if (hi <= lo || hi - lo < 2)
    {
      order_index_relabel (idx);
      return FALSE;
    }
  if (!has_next)
    label = lo + MIN ((hi - lo) / 2, ORDER_END_STEP);
  else if (!has_prev)
    label = hi - MIN ((hi - lo) / 2, ORDER_END_STEP);
  else
    label = lo + (hi - lo) / 2;
  node->label = label;
  return TRUE;
}

static void
order_index_insert (OrderIndex *idx,
                    Entry      *e)
{
  OrderNode *node = g_new (OrderNode, 1);
  GSequenceIter *it;

  node->e = e;
  node->label = 0;
  it = g_sequence_insert_sorted (idx->seq, node, order_node_compare, idx);
  g_hash_table_insert (idx->nodes, &e->id, it);
  if (!order_index_place (idx, it) && idx->owner != NULL)
    _net_watch_hub_reset (&idx->owner->table.watches);
}

static void
order_index_remove (OrderIndex *idx,
                    Entry      *e)
{
  GSequenceIter *it = g_hash_table_lookup (idx->nodes, &e->id);

  if (it == NULL)
    return;
  g_hash_table_remove (idx->nodes, &e->id);
  g_sequence_remove (it);
}

static void
order_index_fill (OrderIndex    *idx,
                  NetCollection *self)
{
  for (guint i = 0; i <= self->table.by_id.mask; i++)
    {
      Entry *e = self->table.by_id.slots[i];
      OrderNode *node;

      if (e == NULL)
        continue;
      node = g_new (OrderNode, 1);
      node->e = e;
      node->label = 0;
      g_sequence_append (idx->seq, node);
    }
  g_sequence_sort (idx->seq, order_node_compare, idx);
  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    g_hash_table_insert (idx->nodes, &((OrderNode *) g_sequence_get (it))->e->id, it);
  order_index_relabel (idx);
}

static void
order_index_empty (OrderIndex *idx)
{
  g_hash_table_remove_all (idx->nodes);
  g_sequence_remove_range (g_sequence_get_begin_iter (idx->seq), g_sequence_get_end_iter (idx->seq));
}

static char *
order_spec (const Query *q)
{
  GString *spec = g_string_new (q->desc_ties ? "-" : "+");

  for (guint i = 0; i < q->keys->len; i++)
    {
      OrderKey *k = &g_array_index (q->keys, OrderKey, i);

      g_string_append_printf (spec, "%s%c%c\x1e", k->cf != NULL ? k->cf->name : "",
                              '0' + (int) k->special, k->desc ? 'd' : 'a');
    }
  return g_string_free (spec, FALSE);
}

/* The index of the order of @q (which has order keys), made when needed;
 * a reference. */
static OrderIndex *
order_index_get (NetCollection *self,
                 const Query   *q)
{
  g_autofree char *spec = order_spec (q);
  OrderIndex *idx = g_hash_table_lookup (self->orders, spec);

  if (idx != NULL)
    {
      idx->ref++;
      return idx;
    }
  idx = g_new0 (OrderIndex, 1);
  idx->ref = 1;
  idx->owner = self;
  idx->spec = g_steal_pointer (&spec);
  idx->q.self = self;
  idx->q.conds = g_array_new (FALSE, TRUE, sizeof (Cond));
  idx->q.keys = g_array_copy (q->keys);
  idx->q.desc_ties = q->desc_ties;
  idx->seq = g_sequence_new (g_free);
  idx->nodes = g_hash_table_new (g_int64_hash, g_int64_equal);
  order_index_fill (idx, self);
  g_hash_table_insert (self->orders, idx->spec, idx);
  return idx;
}

static void
order_index_unref (OrderIndex *idx)
{
  if (--idx->ref > 0)
    return;
  if (idx->owner != NULL)
    g_hash_table_remove (idx->owner->orders, idx->spec);
  query_clear (&idx->q);
  g_hash_table_unref (idx->nodes);
  g_sequence_free (idx->seq);
  g_free (idx->spec);
  g_free (idx);
}

static guint64
order_index_label (OrderIndex *idx,
                   Entry      *e)
{
  GSequenceIter *it = g_hash_table_lookup (idx->nodes, &e->id);

  return it != NULL ? ((OrderNode *) g_sequence_get (it))->label : 0;
}

static void
order_indexes_add (NetCollection *self,
                   Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    search_indexes_add (self, e);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_insert (idx, e);
}

static void
order_indexes_remove (NetCollection *self,
                      Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    search_indexes_remove (self, e);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_remove (idx, e);
}

/* @e changed (its fields, its times): it takes its new place. */
static void
order_indexes_move (NetCollection *self,
                    Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    {
      search_indexes_remove (self, e);
      search_indexes_add (self, e);
    }
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    {
      order_index_remove (idx, e);
      order_index_insert (idx, e);
    }
}

/* Visits the entries @w passes in the order of @q when a live query keeps
 * that order (FALSE: none does). */
static gboolean
order_indexes_walk (NetCollection      *self,
                    const Query        *q,
                    const NetTableWalk *w,
                    guint               skip,
                    NetTableVisitFunc   func,
                    gpointer            data)
{
  g_autofree char *spec = order_spec (q);
  OrderIndex *idx = g_hash_table_lookup (self->orders, spec);

  if (idx == NULL)
    return FALSE;
  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    {
      Entry *e = ((OrderNode *) g_sequence_get (it))->e;

      if (!_net_table_walk_matches (&self->table, w, e))
        continue;
      if (skip > 0)
        {
          skip--;
          continue;
        }
      if (!func (e, data))
        break;
    }
  return TRUE;
}

/* Indexes -------------------------------------------------------------------------- */

/*
 * net_collection_add_index().  An ordered index is an order index of one
 * key (the field ascending, ties by id) that the collection holds: a
 * condition EQ, LT, LE, GT or GE on the field is a range of it (found by
 * binary search), counted in O(log n) when it is the only condition, and
 * an order by the field walks it (backwards when descending).  A search
 * index maps each trigram (three characters) of the folded text of a
 * string field to the records that have it: CONTAINS or PREFIX with a
 * needle of three characters or more checks only the records that have
 * the needle's rarest trigram.  Every candidate is checked against the
 * whole filter; the indexes only narrow.
 */

typedef struct
{
  ClassField  *cf;
  GHashTable  *grams;   /* char* trigram → GHashTable* set of Entry* */
  GHashTable  *texts;   /* Entry* → char* its folded text (owned) */
} SearchIndex;

static void
search_index_free (gpointer data)
{
  SearchIndex *si = data;

  g_hash_table_unref (si->grams);
  g_hash_table_unref (si->texts);
  g_free (si);
}

/* Calls @func on each distinct trigram of @folded. */
static void
foreach_trigram (const char *folded,
                 void      (*func) (const char *gram, gpointer data),
                 gpointer    data)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      const char *end = p;
      char *gram;

      for (guint i = 0; i < 3 && *end != '\0'; i++)
        end = g_utf8_next_char (end);
      if (g_utf8_strlen (p, end - p) < 3)
        break;
      gram = g_strndup (p, end - p);
      if (g_hash_table_add (seen, gram))
        func (gram, data);
    }
}

typedef struct
{
  SearchIndex *si;
  Entry       *e;
} GramOp;

static void
gram_add_cb (const char *gram,
             gpointer    data)
{
  GramOp *op = data;
  GHashTable *set = g_hash_table_lookup (op->si->grams, gram);

  if (set == NULL)
    {
      set = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (op->si->grams, g_strdup (gram), set);
    }
  g_hash_table_add (set, op->e);
}

static void
gram_remove_cb (const char *gram,
                gpointer    data)
{
  GramOp *op = data;
  GHashTable *set = g_hash_table_lookup (op->si->grams, gram);

  if (set != NULL && g_hash_table_remove (set, op->e) && g_hash_table_size (set) == 0)
    g_hash_table_remove (op->si->grams, gram);
}

static void
search_index_add (SearchIndex *si,
                  Entry       *e)
{
  FieldVal fv;
  GramOp op = { si, e };
  char *folded;

  entry_field (e, si->cf, &fv);
  if (fv.missing || fv.type != NET_FIELD_STRING || fv.v.s == NULL)
    return;
  folded = _net_db_fold_text (fv.v.s);
  foreach_trigram (folded, gram_add_cb, &op);
  g_hash_table_insert (si->texts, e, folded);
}

static void
search_index_remove (SearchIndex *si,
                     Entry       *e)
{
  const char *folded = g_hash_table_lookup (si->texts, e);
  GramOp op = { si, e };

  if (folded == NULL)
    return;
  foreach_trigram (folded, gram_remove_cb, &op);
  g_hash_table_remove (si->texts, e);
}

static void
search_indexes_add (NetCollection *self,
                    Entry         *e)
{
  GHashTableIter iter;
  gpointer si;

  if (G_LIKELY (self->search == NULL || g_hash_table_size (self->search) == 0))
    return;
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &si))
    search_index_add (si, e);
}

static void
search_indexes_remove (NetCollection *self,
                       Entry         *e)
{
  GHashTableIter iter;
  gpointer si;

  if (G_LIKELY (self->search == NULL || g_hash_table_size (self->search) == 0))
    return;
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &si))
    search_index_remove (si, e);
}

static void
search_index_fill (SearchIndex   *si,
                   NetCollection *self)
{
  g_hash_table_remove_all (si->grams);
  g_hash_table_remove_all (si->texts);
  for (guint i = 0; i <= self->table.by_id.mask; i++)
    if (self->table.by_id.slots[i] != NULL)
      search_index_add (si, self->table.by_id.slots[i]);
}

/* The smallest set of candidates a search index gives @c, or NULL. */
static GHashTable *
search_candidates (NetCollection *self,
                   Cond          *c)
{
  SearchIndex *si;
  GHashTable *best = NULL;
  gboolean none = FALSE;
  const char *p;

  if (c->cf == NULL || (c->c->op != NET_FILTER_OP_CONTAINS && c->c->op != NET_FILTER_OP_PREFIX) ||
      c->c->folded == NULL || g_utf8_strlen (c->c->folded, -1) < 3 ||
      (si = g_hash_table_lookup (self->search, c->cf->name)) == NULL)
    return NULL;

  for (p = c->c->folded; *p != '\0' && !none; p = g_utf8_next_char (p))
    {
      const char *end = p;
      g_autofree char *gram = NULL;
      GHashTable *set;

      for (guint i = 0; i < 3 && *end != '\0'; i++)
        end = g_utf8_next_char (end);
      if (g_utf8_strlen (p, end - p) < 3)
        break;
      gram = g_strndup (p, end - p);
      set = g_hash_table_lookup (si->grams, gram);
      if (set == NULL)
        none = TRUE;
      else if (best == NULL || g_hash_table_size (set) < g_hash_table_size (best))
        best = set;
    }
  /* A trigram no record has: an empty set of candidates. */
  if (none)
    {
      static GHashTable *empty;

      if (g_once_init_enter (&empty))
        g_once_init_leave (&empty, g_hash_table_new (NULL, NULL));
      return empty;
    }
  return best;
}

/* A probe of an ordered index's order: an OrderNode without an entry,
 * whose label is an id (0: before the records of the value,
 * G_MAXUINT64: after them). */
typedef struct
{
  OrderIndex     *idx;
  const FieldVal *value;
} ProbeCtx;

static int
probe_compare (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  ProbeCtx *ctx = data;
  const OrderNode *real = a, *probe = b;
  OrderKey *k = &g_array_index (ctx->idx->q.keys, OrderKey, 0);
  FieldVal fv;
  Slot scratch = { 0, };
  gboolean ok;
  int sign = 1, r;

  if (real->e == NULL)
    {
      const OrderNode *t = real;

      real = probe;
      probe = t;
      sign = -1;
    }
  query_field (real->e, k->cf, k->special, &fv, &scratch);
  r = fv_compare (&fv, ctx->value, &ok);
  if (k->cf != NULL && type_is_pointer (k->cf->type))
    slot_clear (k->cf->type, &scratch);
  if (r == 0)
    r = real->e->id < probe->label ? -1 : real->e->id > probe->label;
  return sign * r;
}

/* The ordered index of @c's field and the range of it that holds every
 * match of @c, as [*lo, *hi); FALSE when none serves @c. */
static gboolean
ordered_range (NetCollection  *self,
               Cond           *c,
               OrderIndex    **out_idx,
               GSequenceIter **lo,
               GSequenceIter **hi)
{
  OrderNode first = { NULL, 0 }, last = { NULL, G_MAXUINT64 };
  ProbeCtx ctx;
  OrderIndex *idx;

  if (c->cf == NULL || c->c->op == NET_FILTER_OP_NE || c->c->op > NET_FILTER_OP_GE ||
      (idx = g_hash_table_lookup (self->ordered, c->cf->name)) == NULL)
    return FALSE;

  ctx.idx = idx;
  ctx.value = &c->operand;
  *out_idx = idx;
  *lo = g_sequence_get_begin_iter (idx->seq);
  *hi = g_sequence_get_end_iter (idx->seq);
  switch (c->c->op)
    {
    case NET_FILTER_OP_EQ:
      *lo = g_sequence_search (idx->seq, &first, probe_compare, &ctx);
      *hi = g_sequence_search (idx->seq, &last, probe_compare, &ctx);
      break;
    case NET_FILTER_OP_LT:
      *hi = g_sequence_search (idx->seq, &first, probe_compare, &ctx);
      break;
    case NET_FILTER_OP_LE:
      *hi = g_sequence_search (idx->seq, &last, probe_compare, &ctx);
      break;
    case NET_FILTER_OP_GT:
      *lo = g_sequence_search (idx->seq, &last, probe_compare, &ctx);
      break;
    case NET_FILTER_OP_GE:
      *lo = g_sequence_search (idx->seq, &first, probe_compare, &ctx);
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

/* How many entries [lo, hi) holds, in O(log n). */
static guint
range_size (GSequenceIter *lo,
            GSequenceIter *hi)
{
  int a = g_sequence_iter_get_position (lo), b = g_sequence_iter_get_position (hi);

  return b > a ? b - a : 0;
}

struct _IndexPlan
{
  OrderIndex    *idx;    /* a range of an ordered index, */
  GSequenceIter *lo;
  GSequenceIter *hi;
  GHashTable    *set;    /* or a set of a search index */
  guint          size;
};

static gboolean
index_plan_choose (NetCollection *self,
                   const Query   *q,
                   IndexPlan     *plan)
{
  memset (plan, 0, sizeof *plan);
  if (q->never || (g_hash_table_size (self->ordered) == 0 && g_hash_table_size (self->search) == 0))
    return FALSE;
  for (guint i = 0; i < q->conds->len; i++)
    {
      Cond *c = &g_array_index (q->conds, Cond, i);
      OrderIndex *idx;
      GSequenceIter *lo, *hi;
      GHashTable *set;

      if (ordered_range (self, c, &idx, &lo, &hi))
        {
          guint size = range_size (lo, hi);

          if (plan->idx == NULL && plan->set == NULL ? TRUE : size < plan->size)
            {
              *plan = (IndexPlan) { idx, lo, hi, NULL, size };
            }
        }
      else if ((set = search_candidates (self, c)) != NULL)
        {
          guint size = g_hash_table_size (set);

          if (plan->idx == NULL && plan->set == NULL ? TRUE : size < plan->size)
            *plan = (IndexPlan) { NULL, NULL, NULL, set, size };
        }
    }
  return plan->idx != NULL || plan->set != NULL;
}

/* Whether @q orders by the field of @idx alone (then *@desc says which
 * way). */
static gboolean
plan_order_is_index (const Query *q,
                     OrderIndex  *idx,
                     gboolean    *desc)
{
  OrderKey *k, *ik;

  if (q->keys->len != 1)
    return FALSE;
  k = &g_array_index (q->keys, OrderKey, 0);
  ik = &g_array_index (idx->q.keys, OrderKey, 0);
  if (k->cf != ik->cf || k->special != ik->special || k->never)
    return FALSE;
  *desc = k->desc;
  return TRUE;
}

static int
walk_order_compare (gconstpointer a,
                    gconstpointer b,
                    gpointer      data)
{
  const NetTableWalk *w = data;
  const Entry *ea = *(Entry **) a, *eb = *(Entry **) b;
  guint64 ka = _net_table_walk_key (w, ea), kb = _net_table_walk_key (w, eb);
  guint64 ia = w->desc ? ~ea->id : ea->id, ib = w->desc ? ~eb->id : eb->id;

  if (ka != kb)
    return ka < kb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

static gboolean
index_plan_visit (NetCollection      *self,
                  const Query        *q,
                  const NetTableWalk *w,
                  gboolean            ordered,
                  guint               skip,
                  NetTableVisitFunc   func,
                  gpointer            data)
{
  g_autoptr(GPtrArray) matches = NULL;
  IndexPlan plan;
  gboolean desc = FALSE;

  if (!index_plan_choose (self, q, &plan))
    {
      OrderIndex *idx;

      /* No condition narrows: an order by an indexed field is walked. */
      if (!ordered || q->keys->len != 1)
        return FALSE;
      {
        OrderKey *k = &g_array_index (q->keys, OrderKey, 0);

        if (k->cf == NULL || (idx = g_hash_table_lookup (self->ordered, k->cf->name)) == NULL)
          return FALSE;
      }
      plan.idx = idx;
      plan.lo = g_sequence_get_begin_iter (idx->seq);
      plan.hi = g_sequence_get_end_iter (idx->seq);
    }

  /* The range is in the order asked: walk it. */
  if (plan.idx != NULL && (!ordered || plan_order_is_index (q, plan.idx, &desc)))
    {
      GSequenceIter *it = desc ? plan.hi : plan.lo;

      for (;;)
        {
          Entry *e;

          if (desc)
            {
              if (it == plan.lo)
                break;
              it = g_sequence_iter_prev (it);
            }
          else if (it == plan.hi)
            break;
          e = ((OrderNode *) g_sequence_get (it))->e;
          if (!desc)
            it = g_sequence_iter_next (it);
          if (!_net_table_walk_matches (&self->table, w, e))
            continue;
          if (ordered && skip > 0)
            {
              skip--;
              continue;
            }
          if (!func (e, data))
            break;
        }
      return TRUE;
    }

  /* Else the candidates that match, sorted. */
  matches = g_ptr_array_sized_new (plan.size);
  if (plan.idx != NULL)
    for (GSequenceIter *it = plan.lo; it != plan.hi; it = g_sequence_iter_next (it))
      {
        Entry *e = ((OrderNode *) g_sequence_get (it))->e;

        if (_net_table_walk_matches (&self->table, w, e))
          g_ptr_array_add (matches, e);
      }
  else
    {
      GHashTableIter iter;
      gpointer e;

      g_hash_table_iter_init (&iter, plan.set);
      while (g_hash_table_iter_next (&iter, &e, NULL))
        if (_net_table_walk_matches (&self->table, w, e))
          g_ptr_array_add (matches, e);
    }
  if (!ordered)
    skip = 0;
  else if (q->keys->len > 0)
    g_ptr_array_sort_with_data (matches, query_compare_cb, (gpointer) q);
  else
    g_ptr_array_sort_with_data (matches, walk_order_compare, (gpointer) w);
  for (guint i = skip; i < matches->len; i++)
    if (!func (g_ptr_array_index (matches, i), data))
      break;
  return TRUE;
}

static gboolean
index_plan_count (NetCollection      *self,
                  const Query        *q,
                  const NetTableWalk *w,
                  guint              *n)
{
  IndexPlan plan;
  Cond *c;

  /* Exact only for one range condition of a class's field (whose records
   * all have a value) and nothing else. */
  if (q->conds->len != 1 ||
      w->created_after != 0 || w->created_before != G_MAXINT64 ||
      w->updated_after != 0 || w->updated_before != G_MAXINT64)
    return FALSE;
  c = &g_array_index (q->conds, Cond, 0);
  if (c->cf == NULL || c->cf->pspec == NULL || kind_of (c->cf->type) != kind_of (c->operand.type) ||
      !index_plan_choose (self, q, &plan) || plan.idx == NULL)
    return FALSE;
  *n = plan.size;
  return TRUE;
}

/* Every entry was replaced (a restore): the indexes are made again (the
 * live queries recompute anyway). */
static void
order_indexes_rebuild (NetCollection *self)
{
  GHashTableIter iter;
  gpointer idx;

  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    {
      order_index_empty (idx);
      order_index_fill (idx, self);
    }
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    search_index_fill (idx, self);
}

/* Snapshots ------------------------------------------------------------------------- */

/* The schema record goes first: an entry-shaped marker with id 0 (no
 * record has it) that encode_entry() recognizes. */
typedef struct
{
  NetTableEntry   header;
  NetCollection  *self;
} SchemaMarker;

static void
coll_foreach_snapshot_entry (gpointer           model,
                             NetTableEntryFunc  func,
                             gpointer           data)
{
  NetCollection *self = model;
  SchemaMarker marker = { { 0, 0, 0 }, self };
  NetBTreeIter it;

  func (&marker, data);
  for (gboolean ok = _net_btree_iter_first (self->table.order[0][NET_TABLE_KEY_ID], &it); ok;
       ok = _net_btree_iter_next (&it))
    func (_net_btree_iter_get (&it)->value, data);
}

/* The stored fields, from the entries' point of view: a value record
 * needs its entry's collection, which the marker gives the next records
 * (snapshots are written on the owner thread, one at a time). */
static __thread NetCollection *snapshot_writer;

static void
coll_encode_entry (gpointer    entry,
                   NetEncoder *enc)
{
  Entry *e = entry;
  g_autoptr(GByteArray) sub = NULL;
  NetCollection *self;

  if (e->id == 0)
    {
      self = snapshot_writer = ((SchemaMarker *) entry)->self;
      sub = g_byte_array_new ();
      for (guint i = 0; i < self->stored->len; i++)
        {
          StoredField *sf = g_ptr_array_index (self->stored, i);
          NetEncoder denc;

          g_byte_array_set_size (sub, 0);
          net_encoder_init (&denc, sub);
          net_encoder_put_uint (&denc, D_NUM, sf->num);
          net_encoder_put_string (&denc, D_NAME, sf->name);
          net_encoder_put_uint (&denc, D_TYPE, sf->type);
          net_encoder_put_bytes (enc, F_DEF, sub->data, sub->len);
        }
      return;
    }

  self = snapshot_writer;
  g_assert (self != NULL);
  net_encoder_put_uint (enc, F_ID, e->id);
  net_encoder_put_int (enc, F_CREATED, e->created);
  net_encoder_put_int (enc, F_UPDATED, e->updated);
  sub = g_byte_array_new ();
  for (guint num = 1; num <= e->n; num++)
    if (entry_has (e, num))
      {
        g_byte_array_set_size (sub, 0);
        value_encode (sub, num, ((StoredField *) g_ptr_array_index (self->stored, num - 1))->type,
                      &e->slots[num - 1]);
        net_encoder_put_bytes (enc, F_VALUE, sub->data, sub->len);
      }
}

static void
coll_record_clear (gpointer data)
{
  CollRecord *rec = data;

  g_clear_pointer (&rec->entry, g_free);   /* no values yet */
  g_clear_pointer (&rec->defs, g_array_unref);
  g_clear_pointer (&rec->values, g_ptr_array_unref);
}

/* The records are read without the schema: values stay encoded until
 * replace_entries(). */
static gboolean
coll_decode_record (const NetField  *outer,
                    gpointer         record,
                    GError         **error)
{
  CollRecord *rec = record;
  NetDecoder dec;
  NetField f;
  gboolean has_id = FALSE;
  int r;

  memset (rec, 0, sizeof *rec);
  if (outer->wire != NET_WIRE_BYTES || !net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    return _net_snapshot_invalid (error, "collection", "bad record");

  rec->entry = entry_new (0);
  rec->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  rec->defs = g_array_new (FALSE, FALSE, sizeof (Def));
  g_array_set_clear_func (rec->defs, def_clear);
  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case F_ID:
          has_id = f.wire == NET_WIRE_VARINT && f.uint_value != 0;
          rec->entry->id = f.uint_value;
          break;
        case F_CREATED:
          rec->entry->created = f.int_value;
          break;
        case F_UPDATED:
          rec->entry->updated = f.int_value;
          break;
        case F_DEF:
          {
            Def d;

            if (!def_decode (&f, &d))
              goto bad;
            g_array_append_val (rec->defs, d);
          }
          break;
        case F_VALUE:
          if (f.wire != NET_WIRE_BYTES)
            goto bad;
          g_ptr_array_add (rec->values, g_bytes_new (f.bytes, f.bytes_len));
          break;
        default:
          break;
        }
    }
  if (r < 0 || (!has_id && rec->values->len > 0) || (has_id && rec->defs->len > 0))
    goto bad;
  rec->schema = !has_id;
  return TRUE;

bad:
  coll_record_clear (rec);
  return _net_snapshot_invalid (error, "collection", "bad record");
}

static void
coll_replace_entries (gpointer  model,
                      GArray   *records)
{
  NetCollection *self = model;

  /* The schema of the snapshot replaces the one the log gave: it is the
   * same history, at least as far (a restore checks the log fits it). */
  self->orders_frozen = TRUE;
  {
    GHashTableIter iter;
    gpointer idx;

    g_hash_table_iter_init (&iter, self->orders);
    while (g_hash_table_iter_next (&iter, NULL, &idx))
      order_index_empty (idx);
    g_hash_table_iter_init (&iter, self->search);
    while (g_hash_table_iter_next (&iter, NULL, &idx))
      {
        g_hash_table_remove_all (((SearchIndex *) idx)->grams);
        g_hash_table_remove_all (((SearchIndex *) idx)->texts);
      }
  }
  clear_entries (self);
  for (guint i = 0; i < records->len; i++)
    {
      CollRecord *rec = &g_array_index (records, CollRecord, i);

      if (!rec->schema)
        continue;
      for (guint j = 0; j < rec->defs->len; j++)
        {
          Def *d = &g_array_index (rec->defs, Def, j);

          if (d->num <= self->stored->len || d->num == self->stored->len + 1)
            define_field (self, d->num, d->name, d->type, 0, NULL);
        }
    }

  _net_id_table_reserve (&self->table.by_id, records->len);
  for (guint i = 0; i < records->len; i++)
    {
      CollRecord *rec = &g_array_index (records, CollRecord, i);
      Entry *e;

      if (rec->schema)
        continue;
      e = g_steal_pointer (&rec->entry);
      for (guint j = 0; j < rec->values->len; j++)
        {
          GBytes *b = g_ptr_array_index (rec->values, j);
          Value v;
          gsize len;
          const guint8 *data = g_bytes_get_data (b, &len);

          if (value_decode (data, len, self->stored, NULL, &v, 0, NULL))
            entry_set (self, e, v.num, &v.v);
        }
      if (lookup (self, e->id) != NULL)   /* a snapshot holds each id once */
        entry_delete (self, lookup (self, e->id));
      entry_insert (self, e);
    }
  self->orders_frozen = FALSE;
  order_indexes_rebuild (self);
}

/* GObject ----------------------------------------------------------------------------- */

static void
net_collection_dispose (GObject *object)
{
  NetCollection *self = (NetCollection *) object;

  if (self->table_ready)
    _net_table_dispose (&self->table);

  G_OBJECT_CLASS (net_collection_parent_class)->dispose (object);
}

static void
net_collection_finalize (GObject *object)
{
  NetCollection *self = (NetCollection *) object;
  GHashTableIter iter;
  gpointer idx;

  /* The indexes live on in the live queries that hold them, empty. */
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    {
      ((OrderIndex *) idx)->owner = NULL;
      order_index_empty (idx);
    }
  g_clear_pointer (&self->orders, g_hash_table_unref);
  g_hash_table_iter_init (&iter, self->ordered);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_unref (idx);
  g_clear_pointer (&self->ordered, g_hash_table_unref);
  g_clear_pointer (&self->search, g_hash_table_unref);

  if (self->table_ready)
    {
      clear_entries (self);
      _net_table_finalize (&self->table);
    }
  g_clear_pointer (&self->fields_by_name, g_hash_table_unref);
  g_clear_pointer (&self->fields, g_ptr_array_unref);
  g_clear_pointer (&self->stored_by_name, g_hash_table_unref);
  g_clear_pointer (&self->stored, g_ptr_array_unref);
  g_clear_object (&self->inserting);
  g_free (self->name);
  g_free (self->log_name);

  G_OBJECT_CLASS (net_collection_parent_class)->finalize (object);
}

static void
net_collection_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NetCollection *self = NET_COLLECTION (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_RECORD_TYPE:
      g_value_set_gtype (value, self->record_type);
      break;
    case PROP_APPLIED_SEQ:
      g_value_set_uint64 (value, net_collection_get_applied_seq (self));
      break;
    case PROP_FOLD_ERRORS:
      g_value_set_uint64 (value, self->table_ready ? _net_table_get_fold_errors (&self->table) : 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_collection_class_init (NetCollectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_collection_dispose;
  object_class->finalize = net_collection_finalize;
  object_class->get_property = net_collection_get_property;

  /**
   * NetCollection:name:
   *
   * The name of the collection in its database.
   *
   * Since: 0.2
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetCollection:record-type:
   *
   * The class of the records (%NET_TYPE_RECORD when untyped).
   *
   * Since: 0.2
   */
  properties[PROP_RECORD_TYPE] =
    g_param_spec_gtype ("record-type", NULL, NULL, NET_TYPE_RECORD,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetCollection:applied-seq:
   *
   * The seq of the last event folded into the state (0 for none).
   * Notified from the fold's dispatch.
   *
   * Since: 0.2
   */
  properties[PROP_APPLIED_SEQ] =
    g_param_spec_uint64 ("applied-seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetCollection:fold-errors:
   *
   * How many events of the log could not be decoded and were skipped.
   *
   * Since: 0.2
   */
  properties[PROP_FOLD_ERRORS] =
    g_param_spec_uint64 ("fold-errors", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetCollection::changed:
   * @self: the collection
   * @first_seq: the first seq folded in this batch
   * @last_seq: the last seq folded in this batch
   *
   * Emitted on the owner context after a batch of events was folded and
   * the records notified their changes.
   *
   * Since: 0.2
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
net_collection_init (NetCollection *self)
{
  self->stored = g_ptr_array_new_with_free_func (stored_field_free);
  self->stored_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->fields = g_ptr_array_new_with_free_func (class_field_free);
  self->fields_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->orders = g_hash_table_new (g_str_hash, g_str_equal);
  self->ordered = g_hash_table_new (g_str_hash, g_str_equal);
  self->search = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, search_index_free);
}

gboolean
_net_collection_name_is_valid (const char  *name,
                               GError     **error)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > 200 || name[0] == '.')
    goto bad;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (name[i]) && !g_ascii_isdigit (name[i]) &&
        name[i] != '.' && name[i] != '_' && name[i] != '-')
      goto bad;
  return TRUE;

bad:
  g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
               "“%s” is not a collection name (1 to 200 of a-z, 0-9, '.', '_', '-', "
               "not starting with '.')", name != NULL ? name : "");
  return FALSE;
}

NetCollection *
_net_collection_open (NetRedex        *redex,
                      NetRedexConfig  *config,
                      guint64          origin,
                      const char      *name,
                      GType            record_type,
                      GBytes          *snapshot,
                      GError         **error)
{
  g_autoptr(NetCollection) self = NULL;

  if (!_net_collection_name_is_valid (name, error))
    return NULL;

  self = g_object_new (NET_TYPE_COLLECTION, NULL);
  self->name = g_strdup (name);
  self->log_name = g_strconcat (NET_COLLECTION_LOG_PREFIX, name, NULL);
  self->record_type = record_type;
  if (!bind_class (self, error))
    return NULL;

  self->schema = (NetTableSchema) {
    .what = self->log_name,
    .noun = "record",
    .log = G_MAXUINT,   /* not replicated yet */
    .create_dispatch = NET_DISPATCH_RECORD_INSERTED,
    .delete_dispatch = NET_DISPATCH_RECORD_DELETED,
    .n_partitions = 1,
    .partition_of = NULL,
    .apply = coll_apply,
    .follow = { .check = coll_check, .restore = coll_restore },
    .count_fast = coll_count_fast,
    .visit = coll_visit,
    .item_link = coll_item_link,
    .new_item = coll_new_item,
    .foreach_snapshot_entry = coll_foreach_snapshot_entry,
    .encode_entry = coll_encode_entry,
    .record_size = sizeof (CollRecord),
    .decode_record = coll_decode_record,
    .record_clear = coll_record_clear,
    .replace_entries = coll_replace_entries,
    .has_pending_notify = coll_has_pending_notify,
    .flush_notify = coll_flush_notify,
  };
  _net_table_init (&self->table, &self->schema, G_OBJECT (self),
                   properties[PROP_APPLIED_SEQ], signals[CHANGED]);
  self->table_ready = TRUE;

  if (!_net_table_open (&self->table, redex, config, origin, error))
    return NULL;
  if (snapshot != NULL)
    {
      if (!_net_collection_restore (self, snapshot, error))
        return NULL;
    }
  else if (!_net_table_catch_up (&self->table, error))
    return NULL;

  if (!check_schema (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

NetTable *
_net_collection_get_table (NetCollection *self)
{
  return &self->table;
}

const char *
_net_collection_get_log_name (NetCollection *self)
{
  return self->log_name;
}

GBytes *
_net_collection_snapshot (NetCollection *self)
{
  GBytes *bytes = _net_table_snapshot (&self->table);

  snapshot_writer = NULL;
  return bytes;
}

gboolean
_net_collection_restore (NetCollection  *self,
                         GBytes         *snapshot,
                         GError        **error)
{
  return _net_table_restore (&self->table, snapshot, error);
}

gboolean
_net_collection_close (NetCollection  *self,
                       GError        **error)
{
  return _net_table_close (&self->table, error);
}

/* Properties ----------------------------------------------------------------------------- */

/**
 * net_collection_get_name:
 * @self: a #NetCollection
 *
 * Gets the name of the collection.
 *
 * Returns: the name
 *
 * Since: 0.2
 */
const char *
net_collection_get_name (NetCollection *self)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);

  return self->name;
}

/**
 * net_collection_get_record_type:
 * @self: a #NetCollection
 *
 * Gets the class of the records.
 *
 * Returns: the record type (%NET_TYPE_RECORD when untyped)
 *
 * Since: 0.2
 */
GType
net_collection_get_record_type (NetCollection *self)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), G_TYPE_INVALID);

  return self->record_type;
}

/**
 * net_collection_list_fields:
 * @self: a #NetCollection
 *
 * Lists the fields the collection's log stores, in the order they were
 * first written (a field stored under several types once).
 *
 * Returns: (transfer full) (array zero-terminated=1): the names
 *
 * Since: 0.2
 */
char **
net_collection_list_fields (NetCollection *self)
{
  GPtrArray *names;

  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);

  names = g_ptr_array_new ();
  for (guint i = 0; i < self->stored->len; i++)
    {
      StoredField *sf = g_ptr_array_index (self->stored, i);

      if (sf->prev == NULL)
        g_ptr_array_add (names, g_strdup (sf->name));
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* Mutations ------------------------------------------------------------------------------ */

/* Encodes the definition of a new field for @cf (numbered @num). */
static void
encode_def (NetEncoder  *enc,
            guint        num,
            const char  *name,
            NetFieldType type)
{
  g_autoptr(GByteArray) sub = g_byte_array_new ();
  NetEncoder denc;

  net_encoder_init (&denc, sub);
  net_encoder_put_uint (&denc, D_NUM, num);
  net_encoder_put_string (&denc, D_NAME, name);
  net_encoder_put_uint (&denc, D_TYPE, type);
  net_encoder_put_bytes (enc, F_DEF, sub->data, sub->len);
}

typedef struct
{
  ClassField *cf;
  Slot        slot;   /* owned, of cf->type */
} Write;

static void
writes_clear (GArray *writes)
{
  for (guint i = 0; i < writes->len; i++)
    {
      Write *w = &g_array_index (writes, Write, i);

      slot_clear (w->cf->type, &w->slot);
    }
  g_array_set_size (writes, 0);
}

/* Appends one event writing @writes (and defining the fields they need). */
static guint64
append_record_event (NetCollection *self,
                     guint8         dispatch,
                     guint64        id,
                     gint64         created,
                     gint64         updated,
                     GArray        *writes,
                     GError       **error)
{
  g_autoptr(GByteArray) sub = g_byte_array_new ();
  NetEncoder enc;
  GByteArray *buf;
  guint next = self->stored->len + 1;

  buf = _net_table_begin_append (&self->table, dispatch, id, error);
  if (buf == NULL)
    return 0;
  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, F_ID, id);
  if (dispatch == NET_DISPATCH_RECORD_INSERTED)
    net_encoder_put_int (&enc, F_CREATED, created);
  if (dispatch != NET_DISPATCH_RECORD_DELETED)
    net_encoder_put_int (&enc, F_UPDATED, updated);

  /* A field written the first time, or under another type than stored,
   * gets a number of its own. */
  for (guint i = 0; writes != NULL && i < writes->len; i++)
    {
      Write *w = &g_array_index (writes, Write, i);
      StoredField *sf = g_hash_table_lookup (self->stored_by_name, w->cf->name);

      if (sf == NULL || sf->type != w->cf->type)
        encode_def (&enc, next++, w->cf->name, w->cf->type);
    }
  next = self->stored->len + 1;
  for (guint i = 0; writes != NULL && i < writes->len; i++)
    {
      Write *w = &g_array_index (writes, Write, i);
      StoredField *sf = g_hash_table_lookup (self->stored_by_name, w->cf->name);
      guint num = (sf == NULL || sf->type != w->cf->type) ? next++ : sf->num;

      g_byte_array_set_size (sub, 0);
      value_encode (sub, num, w->cf->type, &w->slot);
      net_encoder_put_bytes (&enc, F_VALUE, sub->data, sub->len);
    }

  return _net_table_end_append (&self->table, dispatch, id, error);
}

static guint64
random_id (NetCollection *self)
{
  for (;;)
    {
      guint64 id = ((guint64) g_random_int () << 21 ^ g_random_int ()) & MAX_ID;

      if (id != 0 && lookup (self, id) == NULL)
        return id;
    }
}

/**
 * net_collection_insert:
 * @self: a #NetCollection
 * @record: a new record of the collection's class (for an untyped
 *   collection, of any #NetRecord class)
 * @error: return location for a #GError
 *
 * Inserts @record: its fields as its properties hold them now, with
 * created-at and updated-at now.  When its #NetRecord:id is 0 the
 * collection chooses a random id in [1, 2^53), exact in JavaScript, and
 * sets it.  @record becomes the live item of its id: queries return it,
 * and it changes in place.
 *
 * Returns: the seq of the event, or 0 with @error set:
 *   %NET_ERROR_EXISTS when the collection holds that id,
 *   %NET_ERROR_INVALID_ARGUMENT for a record of another class, one that a
 *   collection already holds, or a field value that cannot be stored
 *   (a string that is not UTF-8)
 *
 * Since: 0.2
 */
guint64
net_collection_insert (NetCollection  *self,
                       NetRecord      *record,
                       GError        **error)
{
  g_autoptr(GArray) writes = g_array_new (FALSE, TRUE, sizeof (Write));
  g_autoptr(GPtrArray) pspecs = NULL;
  GPtrArray *fields = self->fields;
  guint64 id, seq;
  gint64 now;

  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (NET_IS_RECORD (record), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (self->record_type != NET_TYPE_RECORD && !G_TYPE_CHECK_INSTANCE_TYPE (record, self->record_type))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "collection “%s” holds %s records, not %s", self->name,
                   g_type_name (self->record_type), G_OBJECT_TYPE_NAME (record));
      return 0;
    }
  if (_net_record_get_link (record)->table != NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "record %" G_GUINT64_FORMAT " is already the record of a collection",
                   net_record_get_id (record));
      return 0;
    }

  id = net_record_get_id (record);
  if (id != 0 && lookup (self, id) != NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_EXISTS,
                   "collection “%s” already holds a record with id %" G_GUINT64_FORMAT, self->name, id);
      return 0;
    }
  if (id == 0)
    id = random_id (self);
  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;

  /* An untyped collection stores the fields of the record's own class. */
  if (self->record_type == NET_TYPE_RECORD)
    {
      pspecs = _net_record_class_fields (G_OBJECT_TYPE (record), error);
      if (pspecs == NULL)
        return 0;
      fields = g_ptr_array_new_with_free_func (class_field_free);
      for (guint i = 0; i < pspecs->len; i++)
        {
          GParamSpec *pspec = g_ptr_array_index (pspecs, i);
          ClassField *cf = g_new0 (ClassField, 1);
          StoredField *sf = g_hash_table_lookup (self->stored_by_name, pspec->name);

          cf->name = g_strdup (pspec->name);
          cf->pspec = pspec;
          _net_field_type_of (G_PARAM_SPEC_VALUE_TYPE (pspec), &cf->type);
          if (sf != NULL && !_net_field_type_compatible (sf->type, cf->type))
            {
              g_set_error (error, NET_ERROR, NET_ERROR_SCHEMA_MISMATCH,
                           "collection “%s”: field “%s” is stored as %s, not %s", self->name,
                           cf->name, _net_field_type_name (sf->type), _net_field_type_name (cf->type));
              class_field_free (cf);
              g_ptr_array_unref (fields);
              return 0;
            }
          g_ptr_array_add (fields, cf);
        }
    }

  for (guint i = 0; i < fields->len; i++)
    {
      ClassField *cf = g_ptr_array_index (fields, i);
      g_auto(GValue) value = G_VALUE_INIT;
      Write w = { cf, { 0, } };

      if (cf->pspec == NULL)
        continue;
      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (cf->pspec));
      g_object_get_property (G_OBJECT (record), cf->name, &value);
      if (!slot_from_value (cf->type, &value, &w.slot))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "field “%s” of the record cannot be stored (not valid UTF-8?)", cf->name);
          writes_clear (writes);
          if (fields != self->fields)
            g_ptr_array_unref (fields);
          return 0;
        }
      g_array_append_val (writes, w);
    }

  now = g_get_real_time ();
  _net_record_set_id_internal (record, id);
  g_set_object (&self->inserting, record);
  seq = append_record_event (self, NET_DISPATCH_RECORD_INSERTED, id, now, now, writes, error);
  writes_clear (writes);
  if (fields != self->fields)
    g_ptr_array_unref (fields);

  /* Applied at once: the record becomes the item of its id. */
  if (seq != 0 && self->inserting != NULL && lookup (self, id) != NULL)
    g_object_unref (_net_table_ref_item (&self->table, lookup (self, id)));
  g_clear_object (&self->inserting);
  return seq;
}

/**
 * net_collection_updatev: (rename-to net_collection_update)
 * @self: a #NetCollection
 * @id: the id of the record
 * @n_fields: the number of fields
 * @names: (array length=n_fields): the names of the fields
 * @values: (array length=n_fields): their new values, converted to the
 *   fields' types with g_value_transform()
 * @error: return location for a #GError
 *
 * Changes fields of a record (and its updated-at).  An untyped collection
 * changes the fields it stores (a field it does not store yet gets the
 * type of its value).
 *
 * Returns: the seq of the event, or 0 with @error set:
 *   %NET_ERROR_NOT_FOUND when the collection does not hold @id,
 *   %NET_ERROR_INVALID_ARGUMENT for an unknown field or a value that
 *   cannot become the field's type; nothing is written then
 *
 * Since: 0.2
 */
guint64
net_collection_updatev (NetCollection  *self,
                        guint64         id,
                        guint           n_fields,
                        const char    **names,
                        const GValue   *values,
                        GError        **error)
{
  g_autoptr(GArray) writes = g_array_new (FALSE, TRUE, sizeof (Write));
  g_autoptr(GPtrArray) temp = g_ptr_array_new_with_free_func (class_field_free);
  guint64 seq;

  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (n_fields == 0 || (names != NULL && values != NULL), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;

  for (guint i = 0; i < n_fields; i++)
    {
      ClassField *cf = names[i] != NULL ? g_hash_table_lookup (self->fields_by_name, names[i]) : NULL;
      Write w = { NULL, { 0, } };

      if (cf == NULL && self->record_type == NET_TYPE_RECORD && names[i] != NULL &&
          g_param_spec_is_valid_name (names[i]) && !_net_record_is_own_property (names[i]))
        {
          /* A new field of an untyped collection: its value's type. */
          NetFieldType type;

          if (_net_field_type_of (G_VALUE_TYPE (&values[i]), &type))
            {
              cf = g_new0 (ClassField, 1);
              cf->name = g_strdup (names[i]);
              cf->type = type;
              g_ptr_array_add (temp, cf);
            }
        }
      if (cf == NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "collection “%s” has no field “%s”", self->name, names[i] != NULL ? names[i] : "(null)");
          writes_clear (writes);
          return 0;
        }
      for (guint j = 0; j < writes->len; j++)
        if (g_array_index (writes, Write, j).cf == cf)
          {
            Write *old = &g_array_index (writes, Write, j);

            slot_clear (cf->type, &old->slot);
            g_array_remove_index (writes, j);
            break;
          }
      w.cf = cf;
      if (!G_IS_VALUE (&values[i]) || !slot_from_value (cf->type, &values[i], &w.slot))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "a %s value cannot become field “%s” (%s)",
                       G_IS_VALUE (&values[i]) ? G_VALUE_TYPE_NAME (&values[i]) : "invalid",
                       cf->name, _net_field_type_name (cf->type));
          writes_clear (writes);
          return 0;
        }
      g_array_append_val (writes, w);
    }

  seq = append_record_event (self, NET_DISPATCH_RECORD_UPDATED, id, 0, g_get_real_time (), writes, error);
  writes_clear (writes);
  return seq;
}

/**
 * net_collection_update: (skip)
 * @self: a #NetCollection
 * @id: the id of the record
 * @error: return location for a #GError
 * @first_field: the name of the first field to change
 * @...: its value (of the field's type, as for g_object_set()), then
 *   more names and values, ending with %NULL
 *
 * Changes fields of a record, as net_collection_updatev() does.
 *
 * Returns: the seq of the event, or 0 with @error set
 *
 * Since: 0.2
 */
guint64
net_collection_update (NetCollection  *self,
                       guint64         id,
                       GError        **error,
                       const char     *first_field,
                       ...)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GArray) values = g_array_new (FALSE, TRUE, sizeof (GValue));
  const char *name;
  guint64 seq = 0;
  va_list args;

  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  g_array_set_clear_func (values, (GDestroyNotify) g_value_unset);
  va_start (args, first_field);
  for (name = first_field; name != NULL; name = va_arg (args, const char *))
    {
      ClassField *cf = g_hash_table_lookup (self->fields_by_name, name);
      g_autofree char *msg = NULL;
      GValue *value;
      GType type;

      if (cf == NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "collection “%s” has no field “%s”", self->name, name);
          va_end (args);
          return 0;
        }
      type = cf->pspec != NULL ? G_PARAM_SPEC_VALUE_TYPE (cf->pspec) : _net_field_type_gtype (cf->type);
      g_array_set_size (values, values->len + 1);
      value = &g_array_index (values, GValue, values->len - 1);
      G_VALUE_COLLECT_INIT (value, type, args, 0, &msg);
      if (msg != NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT, "field “%s”: %s", name, msg);
          va_end (args);
          return 0;
        }
      g_ptr_array_add (names, (gpointer) name);
    }
  va_end (args);

  seq = net_collection_updatev (self, id, names->len, (const char **) names->pdata,
                                (const GValue *) values->data, error);
  return seq;
}

/**
 * net_collection_delete:
 * @self: a #NetCollection
 * @id: the id of the record
 * @error: return location for a #GError
 *
 * Deletes a record.  Its #NetRecord object keeps its last values.
 *
 * Returns: the seq of the event, or 0 with @error set
 *   (%NET_ERROR_NOT_FOUND when the collection does not hold @id)
 *
 * Since: 0.2
 */
guint64
net_collection_delete (NetCollection  *self,
                       guint64         id,
                       GError        **error)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;
  return append_record_event (self, NET_DISPATCH_RECORD_DELETED, id, 0, 0, NULL, error);
}

/* Queries ------------------------------------------------------------------------------- */

/**
 * net_collection_get:
 * @self: a #NetCollection
 * @id: a record id
 *
 * Looks a record up by id.
 *
 * Returns: (transfer full) (nullable): the record, or %NULL
 *
 * Since: 0.2
 */
NetRecord *
net_collection_get (NetCollection *self,
                    guint64        id)
{
  Entry *e;

  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);

  e = lookup (self, id);
  return e != NULL ? _net_table_ref_item (&self->table, e) : NULL;
}

/**
 * net_collection_find_many:
 * @self: a #NetCollection
 * @filter: (nullable): a #NetFilter, or %NULL for every record by id
 *
 * Finds the records @filter selects, in its order and window.
 *
 * Returns: (transfer container) (element-type NetRecord): the records (the
 *   array holds a reference to each)
 *
 * Since: 0.2
 */
GPtrArray *
net_collection_find_many (NetCollection *self,
                          NetFilter     *filter)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_FILTER (filter), NULL);

  return _net_table_find_many (&self->table, (NetFilterBase *) filter);
}

/**
 * net_collection_find_first:
 * @self: a #NetCollection
 * @filter: (nullable): a #NetFilter, or %NULL
 *
 * Finds the first record @filter selects (honouring its order and
 * offset).
 *
 * Returns: (transfer full) (nullable): the record, or %NULL
 *
 * Since: 0.2
 */
NetRecord *
net_collection_find_first (NetCollection *self,
                           NetFilter     *filter)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_FILTER (filter), NULL);

  return _net_table_find_first (&self->table, (NetFilterBase *) filter);
}

/**
 * net_collection_count:
 * @self: a #NetCollection
 * @filter: (nullable): a #NetFilter, or %NULL for every record
 *
 * Counts the records @filter selects, ignoring its limit and offset.
 *
 * Returns: the number of records
 *
 * Since: 0.2
 */
guint
net_collection_count (NetCollection *self,
                      NetFilter     *filter)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (filter == NULL || NET_IS_FILTER (filter), 0);

  return _net_table_count (&self->table, (NetFilterBase *) filter);
}

/**
 * net_collection_exists:
 * @self: a #NetCollection
 * @filter: (nullable): a #NetFilter, or %NULL
 *
 * Tells whether @filter selects any record, ignoring its limit and offset.
 *
 * Returns: %TRUE if at least one record matches
 *
 * Since: 0.2
 */
gboolean
net_collection_exists (NetCollection *self,
                       NetFilter     *filter)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), FALSE);
  g_return_val_if_fail (filter == NULL || NET_IS_FILTER (filter), FALSE);

  return _net_table_exists (&self->table, (NetFilterBase *) filter);
}

/* Indexes -------------------------------------------------------------------------------- */

/**
 * net_collection_add_index:
 * @self: a #NetCollection
 * @field: the name of a field
 * @flags: the kinds of index
 * @error: return location for a #GError
 *
 * Indexes a field, so that the queries that select or order by it do not
 * scan every record: %NET_INDEX_ORDERED serves %NET_FILTER_OP_EQ, the
 * range operators and net_filter_order_by() of the field, and counts a
 * range in O(log n); %NET_INDEX_SEARCH serves %NET_FILTER_OP_CONTAINS and
 * %NET_FILTER_OP_PREFIX on a string field (needles of three characters
 * or more).  Every query works without an index, with the same results.
 *
 * Indexes live in memory: declare them after each open (adding one twice
 * is harmless).  `id`, `created-at` and `updated-at` are always indexed.
 *
 * Returns: %TRUE on success; %FALSE with %NET_ERROR_INVALID_ARGUMENT for
 *   a field the collection does not have, or a search index of a field
 *   that is not a string
 *
 * Since: 0.2
 */
gboolean
net_collection_add_index (NetCollection  *self,
                          const char     *field,
                          NetIndexFlags   flags,
                          GError        **error)
{
  ClassField *cf;
  guint special;

  g_return_val_if_fail (NET_IS_COLLECTION (self), FALSE);
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (special_of (field, &special) && !(flags & NET_INDEX_SEARCH))
    return TRUE;   /* the engine's own */
  cf = g_hash_table_lookup (self->fields_by_name, field);
  if (cf == NULL || special_of (field, &special))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "collection “%s” has no field “%s” to index", self->name, field);
      return FALSE;
    }
  if ((flags & NET_INDEX_SEARCH) && cf->type != NET_FIELD_STRING)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "field “%s” is a %s, not a string: it cannot have a search index",
                   field, _net_field_type_name (cf->type));
      return FALSE;
    }

  if ((flags & NET_INDEX_ORDERED) && g_hash_table_lookup (self->ordered, cf->name) == NULL)
    {
      Query q = { self, NULL, NULL, FALSE, FALSE };
      OrderKey k = { cf, 0, FALSE, FALSE };

      q.conds = g_array_new (FALSE, TRUE, sizeof (Cond));
      q.keys = g_array_new (FALSE, TRUE, sizeof (OrderKey));
      g_array_append_val (q.keys, k);
      g_hash_table_insert (self->ordered, cf->name, order_index_get (self, &q));
      query_clear (&q);
    }
  if ((flags & NET_INDEX_SEARCH) && g_hash_table_lookup (self->search, cf->name) == NULL)
    {
      SearchIndex *si = g_new0 (SearchIndex, 1);

      si->cf = cf;
      si->grams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
      si->texts = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      search_index_fill (si, self);
      g_hash_table_insert (self->search, cf->name, si);
    }
  return TRUE;
}

/* Tests: how many records the queries checked against their conditions. */
guint64
_net_collection_get_examined (NetCollection *self)
{
  return self->examined;
}

/* Live queries ----------------------------------------------------------------------------- */

typedef struct
{
  NetCollection *self;
  Query          q;
  NetTableWalk   w;
  NetFilter     *filter;   /* a reference: the query points into it */
  OrderIndex    *order;    /* an order of fields: the keys */
} Matcher;

static guint64
matcher_key (Matcher *m,
             Entry   *e)
{
  if (m->order != NULL)
    return order_index_label (m->order, e);
  return _net_table_walk_key (&m->w, e);
}

static gpointer
watch_matcher_new (GObject  *source,
                   GObject  *filter,
                   gboolean *desc)
{
  Matcher *m = g_new0 (Matcher, 1);

  m->self = (NetCollection *) source;
  m->filter = filter != NULL ? g_object_ref ((NetFilter *) filter) : NULL;
  query_init (m->self, &m->q, m->filter);
  query_walk_init (m->self, &m->q, &m->w, m->filter);
  m->w.match_data = &m->q;
  *desc = m->w.desc;
  if (m->q.keys->len > 0)
    {
      /* Labels are unique and grow along the order, ties included. */
      m->order = order_index_get (m->self, &m->q);
      *desc = FALSE;
    }
  return m;
}

static void
watch_matcher_free (gpointer data)
{
  Matcher *m = data;

  g_clear_pointer (&m->order, order_index_unref);
  query_clear (&m->q);
  g_clear_object (&m->filter);
  g_free (m);
}

static gboolean
watch_match (GObject  *source,
             gpointer  matcher,
             guint64   id,
             guint64  *key)
{
  Matcher *m = matcher;
  Entry *e = lookup ((NetCollection *) source, id);

  if (e == NULL || !_net_table_walk_matches (&m->self->table, &m->w, e))
    return FALSE;
  *key = matcher_key (m, e);
  return TRUE;
}

typedef struct
{
  Matcher   *m;
  void     (*func) (guint64, guint64, gpointer);
  gpointer   data;
} WatchVisit;

static gboolean
watch_visit_cb (gpointer thing,
                gpointer data)
{
  WatchVisit *v = data;
  Entry *e = thing;

  v->func (e->id, matcher_key (v->m, e), v->data);
  return TRUE;
}

static void
watch_foreach_match (GObject  *source,
                     gpointer  matcher,
                     void    (*func) (guint64, guint64, gpointer),
                     gpointer  data)
{
  Matcher *m = matcher;
  WatchVisit v = { m, func, data };

  _net_table_walk (&m->self->table, &m->w, 0, watch_visit_cb, &v);
}

static GType
watch_item_type (void)
{
  return NET_TYPE_RECORD;
}

static const NetQueryFuncs coll_query_funcs = {
  .item_type = watch_item_type,
  .filter_type = net_filter_get_type,
  .matcher_new = watch_matcher_new,
  .matcher_free = watch_matcher_free,
  .match = watch_match,
  .foreach_match = watch_foreach_match,
  .get_item = _net_table_watch_get_item,
  .get_window = _net_table_watch_get_window,
};

/**
 * net_collection_watch:
 * @self: a #NetCollection
 * @filter: (nullable): a #NetFilter, or %NULL for every record by id
 *
 * Makes a live query: a #GListModel of #NetRecord whose contents equal
 * net_collection_find_many() of @filter as of its #NetQueryModel:seq,
 * updated from the fold's dispatch with minimal
 * #GListModel::items-changed emissions; a change of @filter updates it
 * too.  A live query ordered by fields keeps that order up to date in
 * O(log n) per change (an index shared by the live queries of the same
 * order, which find_many() then walks instead of sorting).
 *
 * Returns: (transfer full): a new #NetQueryModel
 *
 * Since: 0.2
 */
NetQueryModel *
net_collection_watch (NetCollection *self,
                      NetFilter     *filter)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_FILTER (filter), NULL);

  /* Without the engine's stepwise fill: it walks only the engine's orders. */
  return _net_watch_hub_watch (&self->table.watches, G_OBJECT (self), &coll_query_funcs, NULL,
                               (GObject *) filter, _net_table_get_applied_seq (&self->table),
                               self->table.closed);
}

/* Watermarks ------------------------------------------------------------------------------ */

/**
 * net_collection_get_applied_seq:
 * @self: a #NetCollection
 *
 * Gets the seq of the last event folded into the state.
 *
 * Returns: the seq, or 0 when nothing was folded
 *
 * Since: 0.2
 */
guint64
net_collection_get_applied_seq (NetCollection *self)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);

  return _net_table_get_applied_seq (&self->table);
}

/**
 * net_collection_wait_for_seq:
 * @self: a #NetCollection
 * @seq: the seq to wait for
 * @timeout_ms: how long to wait, in milliseconds
 * @error: return location for a #GError
 *
 * Iterates the owner main context until the event @seq is folded and
 * delivered.  Call it on the owner thread.
 *
 * Returns: %TRUE once folded; %FALSE with %NET_ERROR_TIMEOUT after
 *   @timeout_ms, %NET_ERROR_CLOSED, or another error
 *
 * Since: 0.2
 */
gboolean
net_collection_wait_for_seq (NetCollection  *self,
                             guint64         seq,
                             guint           timeout_ms,
                             GError        **error)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_wait_for_seq (&self->table, seq, timeout_ms, error);
}
