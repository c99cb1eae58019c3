/* net-collection-forward.c: a forwarded event rebased on the leader's schema
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-collection-internal-private.h"

/* Forwarded events ----------------------------------------------------------------------- */

/* A field number of a forwarded event, and the one it becomes. */
typedef struct
{
  guint         from;
  guint         to;
  char         *name;   /* a rebase's: owned */
  NetFieldType  type;
} Renumber;

static const Renumber *
renumber_find (GArray *map,
               guint   from)
{
  for (guint i = 0; i < map->len; i++)
    if (g_array_index (map, Renumber, i).from == from)
      return &g_array_index (map, Renumber, i);
  return NULL;
}

/* A forwarded event that no log could hold (no seq: it has none yet). */
static gboolean
rebase_refuse (GError     **error,
               const char  *what)
{
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT, "record event: %s", what);
  return FALSE;
}

/* The definitions of @payload, in order (all before any value). */
static gboolean
event_read_defs (const guint8  *payload,
                 gsize          payload_len,
                 GArray        *defs,
                 GError       **error)
{
  gboolean values = FALSE;
  NetDecoder dec;
  NetField f;
  int r;

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;
  while ((r = net_decoder_next (&dec, &f, error)) > 0)
    {
      if (f.field == F_VALUE)
        values = TRUE;
      else if (f.field == F_DEF)
        {
          Def d;

          if (values || !_net_coll_def_decode (&f, &d))
            return rebase_refuse (error, "bad field definition");
          g_array_append_val (defs, d);
        }
    }
  return r == 0;
}

/* Writes @payload again with the field numbers @map gives (in its
 * definitions and values); a value of a number it does not map must be
 * one of the first @known fields. */
static gboolean
event_renumber (const guint8  *payload,
                gsize          payload_len,
                GArray        *map,
                guint          known,
                GByteArray    *out,
                GError       **error)
{
  g_autoptr(GByteArray) sub = g_byte_array_new ();
  NetEncoder enc;
  NetDecoder dec;
  NetField f;
  int r;

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;
  net_encoder_init (&enc, out);
  while ((r = net_decoder_next (&dec, &f, error)) > 0)
    {
      if (f.field == F_DEF)
        {
          Def d;
          const Renumber *rn;

          if (!_net_coll_def_decode (&f, &d))
            return rebase_refuse (error, "bad field definition");
          rn = renumber_find (map, d.num);
          g_assert (rn != NULL);
          _net_coll_encode_def (&enc, rn->to, d.name, d.type);
          g_free (d.name);
        }
      else if (f.field == F_VALUE)
        {
          NetDecoder vdec;
          NetEncoder venc;
          NetField v;
          gboolean has_num = FALSE;
          int vr;

          if (f.wire != NET_WIRE_BYTES || !net_decoder_init (&vdec, f.bytes, f.bytes_len, NULL))
            return rebase_refuse (error, "bad value record");
          g_byte_array_set_size (sub, 0);
          net_encoder_init (&venc, sub);
          while ((vr = net_decoder_next (&vdec, &v, NULL)) > 0)
            {
              if (v.field == V_NUM && v.wire == NET_WIRE_VARINT && !has_num)
                {
                  const Renumber *rn = v.uint_value <= MAX_FIELDS ? renumber_find (map, v.uint_value) : NULL;

                  has_num = TRUE;
                  if (rn == NULL && (v.uint_value == 0 || v.uint_value > known))
                    return rebase_refuse (error, "a value of an undefined field");
                  net_encoder_put_uint (&venc, V_NUM, rn != NULL ? rn->to : v.uint_value);
                }
              else
                net_encoder_put_field (&venc, &v);
            }
          if (vr < 0 || !has_num)
            return rebase_refuse (error, "bad value record");
          net_encoder_put_bytes (&enc, F_VALUE, sub->data, sub->len);
        }
      else
        net_encoder_put_field (&enc, &f);
    }
  return r == 0;
}

static void
renumber_clear (gpointer data)
{
  g_free (((Renumber *) data)->name);
}

/*
 * _net_collection_rebase_event:
 * @self: the collection whose log @event is to be appended to
 * @event: an encoded record event (#NetEventMeta and payload) that a
 *   follower made against its copy of the log
 * @error: return location for a #GError
 *
 * A follower's copy of the log is a prefix of ours, so the fields it
 * refers to without defining them are ours too; only the definitions
 * @event carries may give a number we gave meanwhile to another field.
 * Each such definition takes our number of that name and type (the one
 * our own writes would use), or our next free one; its values follow.
 * A definition that agrees is kept, and an event that needs no change
 * is returned as it is (the same bytes).  The result is checked against
 * our schema.
 *
 * Returns: (transfer full): the event to append, or %NULL with
 *   %NET_ERROR_CORRUPT when @event is malformed
 */
GBytes *
_net_collection_rebase_event (NetCollection  *self,
                              GBytes         *event,
                              GError        **error)
{
  g_autoptr(GArray) defs = g_array_new (FALSE, FALSE, sizeof (Def));
  g_autoptr(GArray) map = g_array_new (FALSE, FALSE, sizeof (Renumber));
  g_autoptr(GByteArray) out = NULL;
  g_autoptr(GBytes) rebased = NULL;
  NetEventMeta meta;
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *data = g_bytes_get_data (event, &len);
  guint known = self->stored->len;
  guint next = known + 1, expected = known + 1;
  gboolean changed = FALSE;

  g_array_set_clear_func (defs, _net_coll_def_clear);
  g_array_set_clear_func (map, renumber_clear);
  if (!net_event_decode (data, len, &meta, &payload, &payload_len, error) ||
      !event_read_defs (payload, payload_len, defs, error))
    return NULL;

  for (guint i = 0; i < defs->len; i++)
    {
      Def *d = &g_array_index (defs, Def, i);
      const Renumber *earlier = renumber_find (map, d->num);
      StoredField *sf;
      Renumber rn = { d->num, 0, NULL, d->type };

      /* Again in the same event: the same field. */
      if (earlier != NULL)
        {
          if (earlier->type != d->type || !g_str_equal (earlier->name, d->name))
            {
              rebase_refuse (error, "a field defined twice");
              return NULL;
            }
          continue;
        }
      /* In order, as in any log: the sender's new numbers follow its
       * last one, which is at most our last. */
      if (d->num > expected)
        {
          rebase_refuse (error, "a field defined out of order");
          return NULL;
        }
      if (d->num == expected)
        expected++;

      if (d->num <= known)
        {
          sf = g_ptr_array_index (self->stored, d->num - 1);
          if (sf->type == d->type && g_str_equal (sf->name, d->name))
            rn.to = d->num;
        }
      if (rn.to == 0 && (sf = g_hash_table_lookup (self->stored_by_name, d->name)) != NULL &&
          sf->type == d->type)
        rn.to = sf->num;
      for (guint j = 0; rn.to == 0 && j < map->len; j++)
        {
          const Renumber *o = &g_array_index (map, Renumber, j);

          if (o->to > known && o->type == d->type && g_str_equal (o->name, d->name))
            rn.to = o->to;
        }
      if (rn.to == 0)
        rn.to = next++;
      rn.name = g_strdup (d->name);
      changed |= rn.to != rn.from;
      g_array_append_val (map, rn);
    }

  if (changed)
    {
      out = g_byte_array_new ();
      if (!event_renumber (payload, payload_len, map, known, out, error))
        return NULL;
      rebased = net_event_encode (&meta, out->data, out->len);
      payload = g_bytes_get_data (rebased, &len);
      if (!net_event_decode (payload, len, &meta, &payload, &payload_len, error))
        g_assert_not_reached ();
    }
  else
    rebased = g_bytes_ref (event);

  /* What our log will hold must fold (another dispatch is refused by
   * coll_check()). */
  if (meta.dispatch >= NET_DISPATCH_RECORD_INSERTED && meta.dispatch <= NET_DISPATCH_RECORD_DELETED)
    {
      Event ev;
      gboolean ok = _net_coll_event_decode (self, meta.dispatch, 0, payload, payload_len, &ev, error);

      _net_coll_event_clear (self, &ev);
      if (!ok)
        return NULL;
    }
  return g_steal_pointer (&rebased);
}

/* @event with the numbers it defines replaced by placeholders, in the
 * order it first defines them: what a rebase does not change. */
static GByteArray *
event_normalize (GBytes        *event,
                 NetEventMeta  *meta)
{
  g_autoptr(GArray) defs = g_array_new (FALSE, FALSE, sizeof (Def));
  g_autoptr(GArray) map = g_array_new (FALSE, FALSE, sizeof (Renumber));
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 *payload;
  gsize payload_len, len;
  const guint8 *data = g_bytes_get_data (event, &len);

  g_array_set_clear_func (defs, _net_coll_def_clear);
  if (!net_event_decode (data, len, meta, &payload, &payload_len, NULL) ||
      !event_read_defs (payload, payload_len, defs, NULL))
    return NULL;
  for (guint i = 0; i < defs->len; i++)
    {
      Def *d = &g_array_index (defs, Def, i);
      Renumber rn = { d->num, MAX_FIELDS + 1 + map->len, NULL, d->type };

      if (renumber_find (map, d->num) == NULL)
        g_array_append_val (map, rn);
    }
  if (!event_renumber (payload, payload_len, map, G_MAXUINT, out, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

/*
 * _net_collection_event_is_rebase:
 * @held: an event of a collection's log
 * @forwarded: an event a follower forwarded
 *
 * Whether @held is @forwarded as _net_collection_rebase_event() made it:
 * the same event (meta and fields) once the numbers each one defines are
 * taken in the order they are defined.  The leader's log holds the
 * rebased event: a retransmission of the forwarded one is a duplicate of
 * it, not a conflict.
 *
 * Returns: whether they are the same change
 */
gboolean
_net_collection_event_is_rebase (GBytes *held,
                                 GBytes *forwarded)
{
  g_autoptr(GByteArray) a = NULL;
  g_autoptr(GByteArray) b = NULL;
  NetEventMeta ma, mb;

  if (g_bytes_equal (held, forwarded))
    return TRUE;
  a = event_normalize (held, &ma);
  b = event_normalize (forwarded, &mb);
  return a != NULL && b != NULL &&
         ma.dispatch == mb.dispatch && ma.flags == mb.flags &&
         ma.origin == mb.origin && ma.app_seq == mb.app_seq &&
         a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
}
