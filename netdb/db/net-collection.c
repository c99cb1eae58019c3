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
#include "net-collection-internal-private.h"

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
 * |[<!-- language="C" -->
 * NetCollection *notes = net_db_open_collection (db, "notes", MY_TYPE_NOTE, &error);
 * g_autoptr(MyNote) note = g_object_new (MY_TYPE_NOTE, "title", "Buy milk", NULL);
 *
 * net_collection_insert (notes, NET_RECORD (note), &error);   // id chosen
 * net_collection_update (notes, net_record_get_id (NET_RECORD (note)), &error,
 *                        "starred", TRUE, NULL);
 * net_collection_add_index (notes, "title", NET_INDEX_SEARCH, &error);
 * ]|
 *
 * Every query works without an index; net_collection_add_index() makes
 * the ones on a field not scan the records (indexes live in memory:
 * declare them after each open).
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

G_DEFINE_FINAL_TYPE (NetCollection, net_collection, G_TYPE_OBJECT)

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

/* A field of a record read as g_object_get_property() reads it (the class
 * that installed the property, its redirect target), without the lookup by
 * name and the notify queue around it: inserts and queries did little
 * else in profiles. */
static inline void
record_get_field (GObject    *object,
                  GParamSpec *pspec,
                  GValue     *value)
{
  GObjectClass *klass = g_type_class_peek (pspec->owner_type);
  GParamSpec *target = g_param_spec_get_redirect_target (pspec);

  klass->get_property (object, pspec->param_id, value, target != NULL ? target : pspec);
}

/* Sets a field of a record nobody has seen yet (no notify to queue): a
 * value the property would refuse goes the GObject way, which says so. */
static inline void
record_set_new_field (GObject    *object,
                      GParamSpec *pspec,
                      GValue     *value)
{
  GParamSpec *target = g_param_spec_get_redirect_target (pspec);

  if (g_param_value_is_valid (target != NULL ? target : pspec, value))
    {
      GObjectClass *klass = g_type_class_peek (pspec->owner_type);

      klass->set_property (object, pspec->param_id, value, target != NULL ? target : pspec);
    }
  else
    g_object_set_property (object, pspec->name, value);
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
          if (_net_coll_entry_field_value (e, cf, &value))
            _net_record_set_field (record, cf->name, &value);
          else
            _net_record_set_field (record, cf->name, NULL);
          continue;
        }

      /* A new record's string is lent, not copied: the property copies
       * it (half the allocations of a record made for a query). */
      if (!live && cf->type == NET_FIELD_STRING && G_PARAM_SPEC_VALUE_TYPE (cf->pspec) == G_TYPE_STRING)
        {
          FieldVal fv;

          _net_coll_entry_field (e, cf, &fv);
          if (!fv.missing && fv.type == NET_FIELD_STRING)
            {
              g_value_init (&value, G_TYPE_STRING);
              g_value_set_static_string (&value, fv.v.s);
              record_set_new_field (G_OBJECT (record), cf->pspec, &value);
              continue;
            }
        }

      _net_coll_entry_field_value (e, cf, &value);
      if (live)
        {
          g_auto(GValue) now = G_VALUE_INIT;

          g_value_init (&now, G_VALUE_TYPE (&value));
          record_get_field (G_OBJECT (record), cf->pspec, &now);
          if (values_equal (cf->pspec, &now, &value))
            continue;
          g_object_set_property (G_OBJECT (record), cf->name, &value);
        }
      else
        record_set_new_field (G_OBJECT (record), cf->pspec, &value);
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
      /* Its fields are what was written (read from it): only its times
       * are new.  Their notify waits for the dispatch when someone
       * listens; when nobody does (most of a bulk insert) the dispatch
       * would hold each record of the burst only to notify no one, and
       * a million records let go at once fragment the heap for long
       * after (every later query paid for it in malloc). */
      if (_net_record_has_time_listeners (record))
        {
          _net_record_begin_change (record);
          _net_record_set_times (record, e->created, e->updated);
          _net_table_mark_dirty (&self->table, record);
        }
      else
        _net_record_set_times (record, e->created, e->updated);
      return record;
    }
  record = g_object_new (self->record_type, NULL);
  _net_record_get_link (record)->id = e->id;
  record_fill (self, record, e, FALSE);
  return record;
}

/* NetTableSchema.update_item: a live record takes the values of its
 * entry (its collection is its link's table's model). */
static void
coll_update_item (gpointer      item,
                  gconstpointer entry)
{
  NetTable *table = _net_record_get_link (item)->table;

  g_assert (table != NULL);
  _net_record_begin_change (item);
  record_fill ((NetCollection *) table->model, item, (Entry *) entry, TRUE);
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

/* Takes @values (their slots zeroed) into @e. */
static void
entry_take_values (NetCollection *self,
                   Entry         *e,
                   Value         *values,
                   guint          n_values)
{
  for (guint i = 0; i < n_values; i++)
    _net_coll_entry_set (self, e, values[i].num, &values[i].v);
}

/* Takes @e (filled, in no index) into the table. */
static void
entry_insert (NetCollection *self,
              Entry         *e)
{
  entry_index_all (self, e);
  _net_id_table_insert (&self->table.by_id, e);
  _net_coll_order_indexes_add (self, e);
  /* The item of before a restore carries on; the live queries look. */
  _net_table_entry_inserted (&self->table, e);
}

static void
entry_delete (NetCollection *self,
              Entry         *e)
{
  entry_unindex_all (self, e);
  _net_id_table_remove (&self->table.by_id, e->id);
  _net_coll_order_indexes_remove (self, e);
  _net_table_forget_item (&self->table, e);
  _net_coll_entry_free (self, e);
}

/* Applies a record event to the state: its id, times and values (taken). */
static void
coll_apply_record (NetCollection *self,
                   guint8         dispatch,
                   guint64        id,
                   gint64         created,
                   gint64         updated,
                   Value         *values,
                   guint          n_values)
{
  Entry *e = _net_coll_lookup (self, id);

  switch (dispatch)
    {
    case NET_DISPATCH_RECORD_INSERTED:
      if (e != NULL)
        {
          /* Another origin's insert of an id this one holds: it replaces
           * the record. */
          _net_coll_order_indexes_will_move (self, e, NULL, 0);
          entry_unindex_all (self, e);
          _net_coll_entry_clear_values (self, e);
          e->created = created;
          e->updated = updated;
          entry_take_values (self, e, values, n_values);
          entry_index_all (self, e);
          _net_coll_order_indexes_move (self, e, NULL, 0);
          _net_table_entry_changed (&self->table, e);
        }
      else
        {
          e = _net_coll_entry_new (self, id, values, n_values);
          e->created = created;
          e->updated = updated;
          entry_take_values (self, e, values, n_values);
          entry_insert (self, e);
        }
      break;

    case NET_DISPATCH_RECORD_UPDATED:
      if (e != NULL)
        {
          /* The fields it writes (taken below): a search index of
           * another field has nothing to move. */
          guint nums[16] = { 0, };
          guint n_nums = MIN (n_values, G_N_ELEMENTS (nums));

          for (guint i = 0; i < n_nums; i++)
            nums[i] = values[i].num;
          _net_coll_order_indexes_will_move (self, e, n_nums < G_N_ELEMENTS (nums) ? nums : NULL, n_nums);
          _net_table_unindex_key (&self->table, e, NET_TABLE_KEY_UPDATED);
          e->updated = updated;
          entry_take_values (self, e, values, n_values);
          _net_table_index_key (&self->table, e, NET_TABLE_KEY_UPDATED);
          _net_coll_order_indexes_move (self, e, n_nums < G_N_ELEMENTS (nums) ? nums : NULL, n_nums);
          _net_table_entry_changed (&self->table, e);
        }
      break;

    case NET_DISPATCH_RECORD_DELETED:
      if (e != NULL)
        entry_delete (self, e);
      break;

    default:
      g_assert_not_reached ();
    }
}

/* Whether the event to fold is the one a local mutation is appending:
 * the same bytes, over the same schema, so decoding them would give the
 * values the mutation has. */
static inline gboolean
local_event_is (NetCollection *self,
                guint8         dispatch,
                const guint8  *payload,
                gsize          payload_len)
{
  LocalEvent *l = &self->local;

  return l->payload != NULL && l->dispatch == dispatch && l->payload_len == payload_len &&
         l->n_stored == self->stored->len && memcmp (l->payload, payload, payload_len) == 0;
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

  if (meta->dispatch < NET_DISPATCH_RECORD_INSERTED || meta->dispatch > NET_DISPATCH_RECORD_DELETED)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event %" G_GUINT64_FORMAT " has dispatch 0x%02x, not a record event",
                   seq, meta->dispatch);
      return FALSE;
    }

  if (local_event_is (self, meta->dispatch, payload, payload_len))
    {
      LocalEvent *l = &self->local;

      l->payload = NULL;   /* once */
      coll_apply_record (self, meta->dispatch, l->id, l->created, l->updated, l->values, l->n_values);
      return TRUE;
    }

  if (!_net_coll_event_decode (self, meta->dispatch, seq, payload, payload_len, &ev, error))
    {
      _net_coll_event_clear (self, &ev);
      return FALSE;
    }

  /* The schema first: it holds whatever the event does to its record. */
  for (guint i = 0; i < ev.defs->len; i++)
    {
      Def *d = &g_array_index (ev.defs, Def, i);

      if (!_net_coll_define_field (self, d->num, d->name, d->type, seq, error))
        g_assert_not_reached ();   /* checked by _net_coll_event_decode() */
    }

  coll_apply_record (self, meta->dispatch, ev.id, ev.created, ev.updated,
                     (Value *) ev.values->data, ev.values->len);
  _net_coll_event_clear (self, &ev);
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
      return _net_coll_corrupt (error, "bad id", 0);
  return r == 0;
}

static gboolean
coll_restore (gpointer   model,
              GBytes    *snapshot,
              GError   **error)
{
  return _net_collection_restore (model, snapshot, error);
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
    func (_net_btree_iter_value (&it), data);
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
    if (_net_coll_entry_has (e, num))
      {
        g_byte_array_set_size (sub, 0);
        _net_coll_value_encode (sub, num, ((StoredField *) g_ptr_array_index (self->stored, num - 1))->type,
                      &_net_coll_entry_slots (e)[num - 1]);
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
                    NetArena        *arena,
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

  rec->entry = _net_coll_entry_new (NULL, 0, NULL, 0);
  rec->values = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  rec->defs = g_array_new (FALSE, FALSE, sizeof (Def));
  g_array_set_clear_func (rec->defs, _net_coll_def_clear);
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

            if (!_net_coll_def_decode (&f, &d))
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
                      GArray   *records,
                      NetArena *arena)
{
  NetCollection *self = model;
  g_autoptr(GArray) values = NULL;

  /* The schema of the snapshot replaces the one the log gave: it is the
   * same history, at least as far (a restore checks the log fits it). */
  self->orders_frozen = TRUE;
  {
    GHashTableIter iter;
    gpointer idx;

    g_hash_table_iter_init (&iter, self->orders);
    while (g_hash_table_iter_next (&iter, NULL, &idx))
      _net_coll_order_index_empty (idx);
    g_hash_table_iter_init (&iter, self->search);
    while (g_hash_table_iter_next (&iter, NULL, &idx))
      _net_coll_search_index_empty (idx);
  }
  _net_coll_clear_entries (self);
  for (guint i = 0; i < records->len; i++)
    {
      CollRecord *rec = &g_array_index (records, CollRecord, i);

      if (!rec->schema)
        continue;
      for (guint j = 0; j < rec->defs->len; j++)
        {
          Def *d = &g_array_index (rec->defs, Def, j);

          if (d->num <= self->stored->len || d->num == self->stored->len + 1)
            _net_coll_define_field (self, d->num, d->name, d->type, 0, NULL);
        }
    }

  values = g_array_new (FALSE, FALSE, sizeof (Value));
  _net_id_table_reserve (&self->table.by_id, records->len);
  for (guint i = 0; i < records->len; i++)
    {
      CollRecord *rec = &g_array_index (records, CollRecord, i);
      Entry *e;

      if (rec->schema)
        continue;
      g_array_set_size (values, 0);
      for (guint j = 0; j < rec->values->len; j++)
        {
          GBytes *b = g_ptr_array_index (rec->values, j);
          Value v;
          gsize len;
          const guint8 *data = g_bytes_get_data (b, &len);

          if (_net_coll_value_decode (data, len, self->stored, NULL, &v, 0, NULL))
            g_array_append_val (values, v);
        }
      /* Its values in its own allocation. */
      e = _net_coll_entry_fit (self, g_steal_pointer (&rec->entry), (const Value *) values->data, values->len);
      for (guint j = 0; j < values->len; j++)
        {
          Value *v = &g_array_index (values, Value, j);

          _net_coll_entry_set (self, e, v->num, &v->v);
        }
      if (_net_coll_lookup (self, e->id) != NULL)   /* a snapshot holds each id once */
        entry_delete (self, _net_coll_lookup (self, e->id));
      entry_insert (self, e);
    }
  self->orders_frozen = FALSE;
  _net_coll_order_indexes_rebuild (self);
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
      _net_coll_order_index_empty (idx);
    }
  g_clear_pointer (&self->orders, g_hash_table_unref);
  g_hash_table_iter_init (&iter, self->ordered);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    _net_coll_order_index_unref (idx);
  g_clear_pointer (&self->ordered, g_hash_table_unref);
  g_clear_pointer (&self->search, g_hash_table_unref);

  if (self->table_ready)
    {
      _net_coll_clear_entries (self);
      _net_table_finalize (&self->table);
    }
  g_clear_pointer (&self->fields_by_name, g_hash_table_unref);
  g_clear_pointer (&self->fields, g_ptr_array_unref);
  g_clear_pointer (&self->stored_by_name, g_hash_table_unref);
  g_clear_pointer (&self->stored, g_ptr_array_unref);
  g_clear_object (&self->inserting);
  g_clear_pointer (&self->local_payload, g_byte_array_unref);
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
  self->stored = g_ptr_array_new_with_free_func (_net_coll_stored_field_free);
  self->stored_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->fields = g_ptr_array_new_with_free_func (_net_coll_class_field_free);
  self->fields_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->orders = g_hash_table_new (g_str_hash, g_str_equal);
  self->ordered = g_hash_table_new (g_str_hash, g_str_equal);
  self->search = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, _net_coll_search_index_free);
  self->local_payload = g_byte_array_new ();
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
  if (!_net_coll_bind_class (self, error))
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
    .count_fast = _net_coll_count_fast,
    .visit = _net_coll_visit,
    .item_link = coll_item_link,
    .new_item = coll_new_item,
    .update_item = coll_update_item,
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

  if (!_net_coll_check_schema (self, error))
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
void
_net_coll_encode_def (NetEncoder  *enc,
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

/* The writes of a mutation: on the stack for a few fields. */
#define WRITES_ON_STACK 16

static void
writes_clear (Write *writes,
              guint  n_writes)
{
  for (guint i = 0; i < n_writes; i++)
    _net_coll_slot_clear (writes[i].cf->type, &writes[i].slot);
}

/* The newest stored field of @cf's name (what stored_by_name says),
 * looked up again only when the schema grew: fields are only ever
 * added. */
static inline StoredField *
class_field_newest (NetCollection *self,
                    ClassField    *cf)
{
  if (cf->newest_at != self->stored->len)
    {
      cf->newest = g_hash_table_lookup (self->stored_by_name, cf->name);
      cf->newest_at = self->stored->len;
    }
  return cf->newest;
}

/* Appends one event writing @writes (and defining the fields they need). */
static guint64
append_record_event (NetCollection *self,
                     guint8         dispatch,
                     guint64        id,
                     gint64         created,
                     gint64         updated,
                     Write         *writes,
                     guint          n_writes,
                     GError       **error)
{
  Value stack_values[WRITES_ON_STACK];
  g_autofree Value *heap_values = NULL;
  Value *values = stack_values;
  gboolean defines = FALSE, local = TRUE;
  NetEncoder enc;
  GByteArray *buf;
  guint next = self->stored->len + 1;
  guint start;
  guint64 seq;

  buf = _net_table_begin_append (&self->table, dispatch, id, error);
  if (buf == NULL)
    return 0;
  start = buf->len;
  if (n_writes > G_N_ELEMENTS (stack_values))
    values = heap_values = g_new (Value, n_writes);

  /* A field written the first time, or under another type than stored,
   * gets a number of its own. */
  for (guint i = 0; i < n_writes; i++)
    {
      Write *w = &writes[i];
      StoredField *sf = class_field_newest (self, w->cf);

      if (sf == NULL || sf->type != w->cf->type)
        {
          values[i].num = next++;
          defines = TRUE;
        }
      else
        values[i].num = sf->num;
      values[i].null = FALSE;
      /* A strv decodes as a strv of valid strings, never NULL: the fold
       * decodes it rather than take one that may differ. */
      if (w->cf->type == NET_FIELD_STRV)
        local = FALSE;
    }

  /* The codec's version, the id and times: one append. */
  {
    guint8 head[1 + 3 * 11];
    gsize n = 0;

    head[n++] = NET_CODEC_VERSION;
    n += net_leb128_put (head + n, F_ID << 3 | NET_WIRE_VARINT);
    n += net_leb128_put (head + n, id);
    if (dispatch == NET_DISPATCH_RECORD_INSERTED)
      {
        n += net_leb128_put (head + n, F_CREATED << 3 | NET_WIRE_SVARINT);
        n += net_leb128_put (head + n, ((guint64) created << 1) ^ (guint64) (created >> 63));
      }
    if (dispatch != NET_DISPATCH_RECORD_DELETED)
      {
        n += net_leb128_put (head + n, F_UPDATED << 3 | NET_WIRE_SVARINT);
        n += net_leb128_put (head + n, ((guint64) updated << 1) ^ (guint64) (updated >> 63));
      }
    g_byte_array_append (buf, head, n);
    enc.buf = buf;
  }
  next = self->stored->len + 1;
  for (guint i = 0; defines && i < n_writes; i++)
    if (values[i].num == next)
      _net_coll_encode_def (&enc, next++, writes[i].cf->name, writes[i].cf->type);
  for (guint i = 0; i < n_writes; i++)
    _net_coll_value_put (buf, F_VALUE, values[i].num, writes[i].cf->type, &writes[i].slot);

  /* Its fold takes the values (unless it defines fields: the schema
   * changes with it, and the fold decodes), when it folds here: on the
   * owner thread.  The payload is compared from a copy: the buffer is
   * the next mutation's once the append lets go of it. */
  if (local && !defines && _net_fold_is_owner_thread (self->table.fold))
    {
      for (guint i = 0; i < n_writes; i++)
        {
          values[i].v = writes[i].slot;
          memset (&writes[i].slot, 0, sizeof writes[i].slot);
        }
      g_byte_array_set_size (self->local_payload, 0);
      g_byte_array_append (self->local_payload, buf->data + start, buf->len - start);
      self->local = (LocalEvent) {
        .payload = self->local_payload->data,
        .payload_len = self->local_payload->len,
        .dispatch = dispatch,
        .n_stored = self->stored->len,
        .id = id,
        .created = created,
        .updated = updated,
        .values = values,
        .n_values = n_writes,
      };
    }

  seq = _net_table_end_append (&self->table, dispatch, id, error);

  /* What the fold did not take (a record gone, or a fold that reads the
   * event from the log later). */
  if (self->local.values == values)
    {
      for (guint i = 0; i < n_writes; i++)
        _net_coll_slot_clear (writes[i].cf->type, &values[i].v);
      memset (&self->local, 0, sizeof self->local);
    }
  return seq;
}

static guint64
random_id (NetCollection *self)
{
  for (;;)
    {
      guint64 id = ((guint64) g_random_int () << 21 ^ g_random_int ()) & MAX_ID;

      if (id != 0 && _net_coll_lookup (self, id) == NULL)
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
 * and it changes in place.  The notify of its new id comes at once; the
 * notify of its created-at and updated-at comes from the next dispatch
 * of the owner context when @record has handlers of "notify" at the
 * time of the insert, and is not emitted later otherwise (the
 * collection does not hold a record nobody listens to until then: a
 * bulk insert frees each record when the application lets it go).
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
  Write stack_writes[WRITES_ON_STACK];
  g_autofree Write *heap_writes = NULL;
  Write *writes = stack_writes;
  guint n_writes = 0;
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
  if (id != 0 && _net_coll_lookup (self, id) != NULL)
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
      fields = g_ptr_array_new_with_free_func (_net_coll_class_field_free);
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
              _net_coll_class_field_free (cf);
              g_ptr_array_unref (fields);
              return 0;
            }
          g_ptr_array_add (fields, cf);
        }
    }

  if (fields->len > G_N_ELEMENTS (stack_writes))
    writes = heap_writes = g_new (Write, fields->len);
  for (guint i = 0; i < fields->len; i++)
    {
      ClassField *cf = g_ptr_array_index (fields, i);
      g_auto(GValue) value = G_VALUE_INIT;
      Write *w = &writes[n_writes];

      if (cf->pspec == NULL)
        continue;
      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (cf->pspec));
      record_get_field (G_OBJECT (record), cf->pspec, &value);
      w->cf = cf;
      if (!_net_coll_slot_from_value (cf->type, &value, &w->slot))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "field “%s” of the record cannot be stored (not valid UTF-8?)", cf->name);
          writes_clear (writes, n_writes);
          if (fields != self->fields)
            g_ptr_array_unref (fields);
          return 0;
        }
      n_writes++;
    }

  now = g_get_real_time ();
  _net_record_set_id_internal (record, id);
  g_set_object (&self->inserting, record);
  seq = append_record_event (self, NET_DISPATCH_RECORD_INSERTED, id, now, now, writes, n_writes, error);
  writes_clear (writes, n_writes);
  if (fields != self->fields)
    g_ptr_array_unref (fields);

  /* Applied at once: the record becomes the item of its id. */
  if (seq != 0 && self->inserting != NULL && _net_coll_lookup (self, id) != NULL)
    g_object_unref (_net_table_ref_item (&self->table, _net_coll_lookup (self, id)));
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
  Write stack_writes[WRITES_ON_STACK];
  g_autofree Write *heap_writes = NULL;
  Write *writes = stack_writes;
  guint n_writes = 0;
  g_autoptr(GPtrArray) temp = NULL;
  guint64 seq;

  g_return_val_if_fail (NET_IS_COLLECTION (self), 0);
  g_return_val_if_fail (n_fields == 0 || (names != NULL && values != NULL), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;

  if (n_fields > G_N_ELEMENTS (stack_writes))
    writes = heap_writes = g_new (Write, n_fields);
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
              if (temp == NULL)
                temp = g_ptr_array_new_with_free_func (_net_coll_class_field_free);
              g_ptr_array_add (temp, cf);
            }
        }
      if (cf == NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "collection “%s” has no field “%s”", self->name, names[i] != NULL ? names[i] : "(null)");
          writes_clear (writes, n_writes);
          return 0;
        }
      for (guint j = 0; j < n_writes; j++)
        if (writes[j].cf == cf)
          {
            _net_coll_slot_clear (cf->type, &writes[j].slot);
            memmove (&writes[j], &writes[j + 1], (n_writes - j - 1) * sizeof (Write));
            n_writes--;
            break;
          }
      w.cf = cf;
      if (!G_IS_VALUE (&values[i]) || !_net_coll_slot_from_value (cf->type, &values[i], &w.slot))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "a %s value cannot become field “%s” (%s)",
                       G_IS_VALUE (&values[i]) ? G_VALUE_TYPE_NAME (&values[i]) : "invalid",
                       cf->name, _net_field_type_name (cf->type));
          writes_clear (writes, n_writes);
          return 0;
        }
      writes[n_writes++] = w;
    }

  seq = append_record_event (self, NET_DISPATCH_RECORD_UPDATED, id, 0, g_get_real_time (),
                             writes, n_writes, error);
  writes_clear (writes, n_writes);
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
  return append_record_event (self, NET_DISPATCH_RECORD_DELETED, id, 0, 0, NULL, 0, error);
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

  e = _net_coll_lookup (self, id);
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

  if (_net_coll_special_of (field, &special) && !(flags & NET_INDEX_SEARCH))
    return TRUE;   /* the engine's own */
  cf = g_hash_table_lookup (self->fields_by_name, field);
  if (cf == NULL || _net_coll_special_of (field, &special))
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
      g_hash_table_insert (self->ordered, cf->name, _net_coll_order_index_get (self, &q));
      _net_coll_query_clear (&q);
    }
  if ((flags & NET_INDEX_SEARCH) && g_hash_table_lookup (self->search, cf->name) == NULL)
    {
      SearchIndex *si = _net_coll_search_index_new (cf);

      _net_coll_search_index_fill (si, self);
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
 * order, which net_collection_find_many() then walks instead of
 * sorting).
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
  return _net_watch_hub_watch (&self->table.watches, G_OBJECT (self), &_net_coll_query_funcs, NULL,
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
 * net_collection_wait_for_seq_async:
 * @self: a #NetCollection
 * @seq: the seq to wait for
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called once @seq is folded and delivered
 * @user_data: data for @callback
 *
 * Waits until the event @seq (appended by any thread or process) is
 * folded and its changes delivered, as net_db_tasks_wait_for_seq_async()
 * does.
 *
 * Since: 0.2
 */
void
net_collection_wait_for_seq_async (NetCollection       *self,
                                   guint64              seq,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (NET_IS_COLLECTION (self));

  _net_table_wait_for_seq_async (&self->table, seq, cancellable, callback, user_data,
                                 net_collection_wait_for_seq_async);
}

/**
 * net_collection_wait_for_seq_finish:
 * @self: a #NetCollection
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes net_collection_wait_for_seq_async().
 *
 * Returns: %TRUE once the seq is folded; %FALSE with @error set
 *
 * Since: 0.2
 */
gboolean
net_collection_wait_for_seq_finish (NetCollection  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (NET_IS_COLLECTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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
