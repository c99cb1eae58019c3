/* net-collection-values.c: stored values, entries and the decoding of record events
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-db-items-private.h"
#include "net-filter-base-private.h"
#include "net-collection-internal-private.h"

/* Values ------------------------------------------------------------------------ */

gboolean
_net_coll_type_is_pointer (NetFieldType type)
{
  return type == NET_FIELD_STRING || type == NET_FIELD_STRV || type == NET_FIELD_BYTES;
}

void
_net_coll_slot_clear (NetFieldType  type,
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

gboolean
_net_coll_type_is_signed (NetFieldType type)
{
  return type == NET_FIELD_INT || type == NET_FIELD_INT64 || type == NET_FIELD_ENUM;
}

gboolean
_net_coll_type_is_unsigned (NetFieldType type)
{
  return type == NET_FIELD_BOOLEAN || type == NET_FIELD_UINT || type == NET_FIELD_UINT64 ||
         type == NET_FIELD_FLAGS;
}

gint64
_net_coll_datetime_to_usec (GDateTime *dt)
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
gboolean
_net_coll_slot_from_value (NetFieldType   type,
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

          slot->i = dt != NULL ? _net_coll_datetime_to_usec (dt) : NULL_TIME;
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
    /* A number of the field's own type is read as it is. */
    case NET_FIELD_INT:
      if (gtype == G_TYPE_INT)
        {
          slot->i = g_value_get_int (value);
          return TRUE;
        }
      break;
    case NET_FIELD_UINT:
      if (gtype == G_TYPE_UINT)
        {
          slot->u = g_value_get_uint (value);
          return TRUE;
        }
      break;
    case NET_FIELD_INT64:
      if (gtype == G_TYPE_INT64)
        {
          slot->i = g_value_get_int64 (value);
          return TRUE;
        }
      break;
    case NET_FIELD_UINT64:
      if (gtype == G_TYPE_UINT64)
        {
          slot->u = g_value_get_uint64 (value);
          return TRUE;
        }
      break;
    case NET_FIELD_DOUBLE:
      if (gtype == G_TYPE_DOUBLE)
        {
          slot->d = g_value_get_double (value);
          return TRUE;
        }
      break;
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
  else if (_net_coll_type_is_signed (type))
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
void
_net_coll_value_encode (GByteArray   *buf,
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

static inline gsize
key_put (guint8      *out,
         guint        field,
         NetWireType  wire)
{
  return net_leb128_put (out, (guint64) field << 3 | wire);
}

/* Puts a value record as field @field of @buf's event: what
 * net_encoder_put_bytes() of the record _net_coll_value_encode() makes
 * puts, written at once (a number, a string: most values), else encoded
 * in place. */
void
_net_coll_value_put (GByteArray   *buf,
                     guint         field,
                     guint         num,
                     NetFieldType  type,
                     const Slot   *slot)
{
  guint8 rec[32], head[64];
  gsize r = 0, h, data_len = 0;
  const char *data = NULL;
  guint start, len;

  /* The record up to its data: the codec's version, the field's number,
   * the key and value (or length) of its data. */
  rec[r++] = NET_CODEC_VERSION;
  r += key_put (rec + r, V_NUM, NET_WIRE_VARINT);
  r += net_leb128_put (rec + r, num);
  switch (type)
    {
    case NET_FIELD_BOOLEAN:
    case NET_FIELD_UINT:
    case NET_FIELD_UINT64:
    case NET_FIELD_FLAGS:
    case NET_FIELD_DOUBLE:   /* its bits: the same union */
      r += key_put (rec + r, V_DATA, NET_WIRE_VARINT);
      r += net_leb128_put (rec + r, slot->u);
      break;
    case NET_FIELD_DATETIME:
      if (slot->i == NULL_TIME)
        break;
      G_GNUC_FALLTHROUGH;
    case NET_FIELD_INT:
    case NET_FIELD_INT64:
    case NET_FIELD_ENUM:
      r += key_put (rec + r, V_DATA, NET_WIRE_SVARINT);
      r += net_leb128_put (rec + r, ((guint64) slot->i << 1) ^ (guint64) (slot->i >> 63));
      break;
    case NET_FIELD_STRING:
      if (slot->s == NULL)
        break;
      data = slot->s;
      data_len = strlen (data);
      r += key_put (rec + r, V_DATA, NET_WIRE_BYTES);
      r += net_leb128_put (rec + r, data_len);
      break;
    default:
      goto in_place;
    }

  h = key_put (head, field, NET_WIRE_BYTES);
  h += net_leb128_put (head + h, r + data_len);
  memcpy (head + h, rec, r);
  g_byte_array_append (buf, head, h + r);
  if (data_len > 0)
    g_byte_array_append (buf, (const guint8 *) data, data_len);
  return;

in_place:
  /* The record's length takes one byte while it is below 128: room for
   * that, moved on for a longer one. */
  h = key_put (head, field, NET_WIRE_BYTES);
  head[h] = 0;
  g_byte_array_append (buf, head, h + 1);
  start = buf->len;
  _net_coll_value_encode (buf, num, type, slot);
  len = buf->len - start;
  if (len < 0x80)
    buf->data[start - 1] = len;
  else
    {
      guint8 lenbuf[10];
      gsize m = net_leb128_put (lenbuf, len);

      g_byte_array_set_size (buf, buf->len + m - 1);
      memmove (buf->data + start + m - 1, buf->data + start, len);
      memcpy (buf->data + start - 1, lenbuf, m);
    }
}

gboolean
_net_coll_corrupt (GError    **error,
         const char *what,
         guint64     seq)
{
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "record event %" G_GUINT64_FORMAT ": %s", seq, what);
  return FALSE;
}

/* Decodes a value record, its field's type found by @type_of. */
gboolean
_net_coll_value_decode (const guint8  *data,
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
    return _net_coll_corrupt (error, "bad value record", seq);

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      if (f.field == V_NUM && f.wire == NET_WIRE_VARINT && !has_num)
        {
          if (f.uint_value == 0 || f.uint_value > MAX_FIELDS)
            return _net_coll_corrupt (error, "bad field number", seq);
          out->num = f.uint_value;
          has_num = TRUE;
          if (out->num <= stored->len)
            type = ((StoredField *) g_ptr_array_index (stored, out->num - 1))->type;
          else
            for (guint i = 0; new_defs != NULL && i < new_defs->len; i++)
              if (g_array_index (new_defs, Def, i).num == out->num)
                type = g_array_index (new_defs, Def, i).type;
          if (type == 0)
            return _net_coll_corrupt (error, "a value of an undefined field", seq);
          if (type == NET_FIELD_STRV)
            strv = g_ptr_array_new_with_free_func (g_free);
        }
      else if (f.field == V_DATA && has_num)
        {
          gboolean ok = TRUE;

          if (has_data && type != NET_FIELD_STRV)
            _net_coll_slot_clear (type, &out->v);
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
                _net_coll_slot_clear (type, &out->v);
              return _net_coll_corrupt (error, "a value of the wrong type", seq);
            }
        }
    }
  if (r < 0 || !has_num)
    {
      if (has_data && type != NET_FIELD_STRV)
        _net_coll_slot_clear (type, &out->v);
      return _net_coll_corrupt (error, "bad value record", seq);
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

/* The strings of an entry's first values follow its slots, in its
 * allocation (a note's title and body were two mallocs of 32 B for 41 B
 * of text): the room a record's insert (or snapshot) sizes for them,
 * filled as its values are taken.  A string that replaces one later is
 * a malloc of its own; the room is not used again until the values are
 * cleared. */
#define ENTRY_ROOM_MAX G_MAXUINT16

static inline char *
entry_room (Entry *e)
{
  return (char *) (e->inl + e->cap) + (e->cap + 7) / 8;
}

/* Whether @s is a string in @e's room (not to be freed). */
static inline gboolean
entry_room_has (Entry      *e,
                const char *s)
{
  const char *room = entry_room (e);

  return s >= room && s < room + e->room;
}

static void
entry_slot_clear (Entry        *e,
                  NetFieldType  type,
                  Slot         *slot)
{
  if (type == NET_FIELD_STRING && entry_room_has (e, slot->s))
    slot->s = NULL;
  else
    _net_coll_slot_clear (type, slot);
}

/* The slots (fields 1 to the largest number) and the room for the strings
 * @values (Value) want. */
static void
entry_size_for (NetCollection *self,
                const Value   *values,
                guint          n_values,
                guint         *n,
                gsize         *room)
{
  *n = 1;
  *room = 0;
  for (guint i = 0; i < n_values; i++)
    {
      const Value *v = &values[i];

      *n = MAX (*n, v->num);
      if (((StoredField *) g_ptr_array_index (self->stored, v->num - 1))->type == NET_FIELD_STRING &&
          v->v.s != NULL)
        *room += strlen (v->v.s) + 1;
    }
  if (*room > ENTRY_ROOM_MAX)
    *room = 0;
}

/* A new entry with room for the @n_values values @values in its own
 * allocation: their slots and their strings. */
Entry *
_net_coll_entry_new (NetCollection *self,
                     guint64        id,
                     const Value   *values,
                     guint          n_values)
{
  Entry *e;
  guint n;
  gsize room;

  entry_size_for (self, values, n_values, &n, &room);
  e = g_malloc0 (sizeof (Entry) + n * sizeof (Slot) + (n + 7) / 8 + room);
  e->id = id;
  e->n = e->cap = n;
  e->room = room;
  return e;
}

/* @e, in no index and without values, with room for @values in its own
 * allocation (it may move). */
Entry *
_net_coll_entry_fit (NetCollection *self,
                     Entry         *e,
                     const Value   *values,
                     guint          n_values)
{
  guint n;
  gsize room;

  g_assert (e->n == e->cap && e->room_used == 0);
  entry_size_for (self, values, n_values, &n, &room);
  if (n <= e->cap && room <= e->room)
    return e;
  n = MAX (n, e->cap);
  e = g_realloc (e, sizeof (Entry) + n * sizeof (Slot) + (n + 7) / 8 + room);
  e->n = e->cap = n;
  e->room = room;
  memset (e->inl, 0, n * sizeof (Slot) + (n + 7) / 8);
  return e;
}

void
_net_coll_entry_clear_values (NetCollection *self,
                    Entry         *e)
{
  Slot *slots = _net_coll_entry_slots (e);

  for (guint num = 1; num <= e->n; num++)
    if (_net_coll_entry_has (e, num))
      entry_slot_clear (e, ((StoredField *) g_ptr_array_index (self->stored, num - 1))->type, &slots[num - 1]);
  if (e->n > e->cap)
    g_free (slots);
  e->n = e->cap;
  e->room_used = 0;
  memset (e->inl, 0, e->cap * sizeof (Slot) + (e->cap + 7) / 8);
}

void
_net_coll_entry_free (NetCollection *self,
            Entry         *e)
{
  _net_coll_entry_clear_values (self, e);
  g_free (e);
}

/* Makes room for field @num (the entry stays where it is: its slots move
 * out). */
static void
entry_reserve (Entry *e,
               guint  num)
{
  Slot *slots;

  if (num <= e->n)
    return;
  slots = g_malloc0 (num * sizeof (Slot) + (num + 7) / 8);
  memcpy (slots, _net_coll_entry_slots (e), e->n * sizeof (Slot));
  memcpy ((guint8 *) (slots + num), _net_coll_entry_bits (e), (e->n + 7) / 8);
  if (e->n > e->cap)
    g_free (e->inl[0].p);
  e->inl[0].p = slots;
  e->n = num;
}

/* Takes @v into field @num of @e. */
void
_net_coll_entry_set (NetCollection *self,
           Entry         *e,
           guint          num,
           Slot          *v)
{
  NetFieldType type = ((StoredField *) g_ptr_array_index (self->stored, num - 1))->type;

  entry_reserve (e, num);
  if (_net_coll_entry_has (e, num))
    entry_slot_clear (e, type, &_net_coll_entry_slots (e)[num - 1]);
  if (type == NET_FIELD_STRING && v->s != NULL && e->room_used < e->room)
    {
      gsize len = strlen (v->s) + 1;

      if (len <= (gsize) (e->room - e->room_used))
        {
          char *s = memcpy (entry_room (e) + e->room_used, v->s, len);

          e->room_used += len;
          g_free (v->s);
          v->s = s;
        }
    }
  _net_coll_entry_slots (e)[num - 1] = *v;
  memset (v, 0, sizeof *v);
  _net_coll_entry_bits (e)[(num - 1) / 8] |= 1u << ((num - 1) % 8);
}

void
_net_coll_clear_entries (NetCollection *self)
{
  gpointer e;

  for (guint64 pos = 0; (e = _net_id_table_next (&self->table.by_id, &pos)) != NULL;)
    _net_coll_entry_free (self, e);
  _net_id_table_clear (&self->table.by_id);
  _net_id_table_init (&self->table.by_id);
  _net_table_clear_indexes (&self->table);
}

/* The value of field @cf of @e as stored (the newest definition that
 * has one), or its default. */
void
_net_coll_entry_field (Entry       *e,
             ClassField  *cf,
             FieldVal    *out)
{
  for (StoredField *sf = cf->stored; sf != NULL; sf = sf->prev)
    if (_net_coll_entry_has (e, sf->num))
      {
        out->type = sf->type;
        out->missing = FALSE;
        out->v = _net_coll_entry_slots (e)[sf->num - 1];
        return;
      }
  out->type = cf->type;
  out->missing = TRUE;
  memset (&out->v, 0, sizeof out->v);
}

/* Reads field @cf of @e into @out (initialized here). */
gboolean
_net_coll_entry_field_value (Entry      *e,
                   ClassField *cf,
                   GValue     *out)
{
  FieldVal fv;

  _net_coll_entry_field (e, cf, &fv);
  if (fv.missing && cf->pspec == NULL)
    return FALSE;
  g_value_init (out, cf->pspec != NULL ? G_PARAM_SPEC_VALUE_TYPE (cf->pspec) : _net_field_type_gtype (cf->type));
  if (fv.missing)
    g_value_copy (&cf->def, out);
  else
    slot_to_value (fv.type, FALSE, &fv.v, out);
  return TRUE;
}

/* Applying events ------------------------------------------------------------------- */


void
_net_coll_def_clear (gpointer data)
{
  g_free (((Def *) data)->name);
}

void
_net_coll_event_clear (NetCollection *self,
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
          if (_net_coll_type_is_pointer (type))
            _net_coll_slot_clear (type, &v->v);
        }
      g_clear_pointer (&ev->values, g_array_unref);
    }
  g_clear_pointer (&ev->defs, g_array_unref);
}

gboolean
_net_coll_def_decode (const NetField *outer,
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
          /* A field defined again: by the schema, or earlier in this
           * event. */
          guint type = 0;
          const char *name = NULL;

          if (d->num <= self->stored->len)
            {
              StoredField *sf = g_ptr_array_index (self->stored, d->num - 1);

              type = sf->type;
              name = sf->name;
            }
          else
            for (guint j = 0; j < i && name == NULL; j++)
              {
                Def *first = &g_array_index (ev->defs, Def, j);

                if (first->num == d->num)
                  {
                    type = first->type;
                    name = first->name;
                  }
              }
          g_assert (name != NULL);
          if (type != d->type || !g_str_equal (name, d->name))
            return _net_coll_corrupt (error, "a field defined twice", seq);
        }
      else if (d->num == next)
        next++;
      else
        return _net_coll_corrupt (error, "a field defined out of order", seq);
    }
  return TRUE;
}

/* Decodes a record event (or a snapshot's record: @dispatch 0). */
gboolean
_net_coll_event_decode (NetCollection *self,
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
  g_array_set_clear_func (ev->defs, _net_coll_def_clear);
  ev->values = g_array_sized_new (FALSE, FALSE, sizeof (Value), self->fields->len);

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;
  while ((r = net_decoder_next (&dec, &f, error)) > 0)
    {
      switch (f.field)
        {
        case F_ID:
          if (f.wire != NET_WIRE_VARINT || f.uint_value == 0)
            return _net_coll_corrupt (error, "bad id", seq);
          ev->id = f.uint_value;
          ev->has_id = TRUE;
          break;
        case F_CREATED:
          if (f.wire != NET_WIRE_SVARINT)
            return _net_coll_corrupt (error, "bad time", seq);
          ev->created = f.int_value;
          break;
        case F_UPDATED:
          if (f.wire != NET_WIRE_SVARINT)
            return _net_coll_corrupt (error, "bad time", seq);
          ev->updated = f.int_value;
          break;
        case F_DEF:
          {
            Def d;

            if (ev->values->len > 0 || !_net_coll_def_decode (&f, &d))
              return _net_coll_corrupt (error, "bad field definition", seq);
            g_array_append_val (ev->defs, d);
            if (!event_check_defs (self, ev, seq, error))
              return FALSE;
          }
          break;
        case F_VALUE:
          {
            Value v;

            if (f.wire != NET_WIRE_BYTES ||
                !_net_coll_value_decode (f.bytes, f.bytes_len, self->stored, ev->defs, &v, seq, error))
              {
                if (f.wire != NET_WIRE_BYTES)
                  return _net_coll_corrupt (error, "bad value", seq);
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
    return _net_coll_corrupt (error, "no id", seq);
  return TRUE;
}
