/* net-collection-order.c: the order indexes of a collection (sorted or keyed), their cursors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-collection-internal-private.h"

/* Order indexes --------------------------------------------------------------------- */

/*
 * A live query orders its items by a u64 sort key (net-query-model.c).  A
 * query ordered by fields gets its keys from an order index: the records
 * kept sorted by the filter's order keys (a GSequence), each with a label
 * that grows along the order, with gaps between labels, so that a record
 * that moves takes a label between its new neighbours' and the others keep
 * theirs.  When a gap is used up, the smallest window of records around it
 * whose labels leave room (doubling: 8, 16, 32, ... records) is labelled
 * anew, evenly, and only those records are touched for the live queries;
 * only when the whole index is that window does every record get a new
 * label (spread over the middle half of the range, so that appends at
 * either end have room) and the live queries recompute: a rare O(n).  One
 * index per distinct order, shared by the queries that use it, kept up to
 * date by the fold while any of them lives; an order by one key
 * descending uses the index of the key ascending backwards.  An order by
 * one numeric key is "keyed" instead (below): a NetBTree by a u64 the
 * value maps to, which is also the label.
 */

/* A record appended past either end takes a label this far from its
 * neighbour: appends in order (a growing field) do not halve the space. */



static int
order_node_compare (gconstpointer a,
                    gconstpointer b,
                    gpointer      data)
{
  OrderIndex *idx = data;
  const OrderNode *na = a, *nb = b;

  if (na->cached && nb->cached)
    {
      OrderKey *k = &g_array_index (idx->q.keys, OrderKey, 0);
      gboolean ok;
      int r;

      /* The common case of an index on one number (a due date): both of
       * one integer type, compared here, as _net_coll_fv_compare() would. */
      if (na->first.type == nb->first.type && !na->first.missing && !nb->first.missing)
        switch (na->first.type)
          {
          case NET_FIELD_INT:
          case NET_FIELD_INT64:
          case NET_FIELD_ENUM:
          case NET_FIELD_DATETIME:
            r = (na->first.v.i > nb->first.v.i) - (na->first.v.i < nb->first.v.i);
            if (r != 0)
              return k->desc ? -r : r;
            return _net_coll_query_compare (&idx->q, na->e, nb->e);
          case NET_FIELD_BOOLEAN:
          case NET_FIELD_UINT:
          case NET_FIELD_UINT64:
          case NET_FIELD_FLAGS:
            r = (na->first.v.u > nb->first.v.u) - (na->first.v.u < nb->first.v.u);
            if (r != 0)
              return k->desc ? -r : r;
            return _net_coll_query_compare (&idx->q, na->e, nb->e);
          default:
            break;
          }
      r = _net_coll_fv_compare (&na->first, &nb->first, &ok);
      if (r != 0)
        return k->desc ? -r : r;
    }
  return _net_coll_query_compare (&idx->q, na->e, nb->e);
}

/* Points @node at @e, with its first key's value when it can keep it
 * (its label as it was). */
static void
order_node_fill (OrderIndex *idx,
                 OrderNode  *node,
                 Entry      *e)
{
  OrderKey *k = &g_array_index (idx->q.keys, OrderKey, 0);
  Slot scratch = { 0, };

  node->e = e;
  node->cached = FALSE;
  memset (&node->first, 0, sizeof node->first);
  if (!k->never)
    {
      _net_coll_query_field (e, k->cf, k->special, &node->first, &scratch);
      /* A default string (or strv, bytes) was made for us: not kept. */
      node->cached = !(k->cf != NULL && _net_coll_type_is_pointer (k->cf->type) && scratch.s != NULL);
      if (k->cf != NULL && _net_coll_type_is_pointer (k->cf->type))
        _net_coll_slot_clear (k->cf->type, &scratch);
    }
}

/* A new node of @e. */
static OrderNode *
order_node_new (OrderIndex *idx,
                Entry      *e)
{
  OrderNode *node = g_new0 (OrderNode, 1);

  order_node_fill (idx, node, e);
  return node;
}

/* Evenly spaced labels along the order, over the middle half of the
 * range: a growing (or shrinking) field appends at an end, and each end
 * keeps 2^62 of room for that. */
void
_net_coll_order_index_relabel (OrderIndex *idx)
{
  guint64 step = (G_GUINT64_CONSTANT (1) << 63) / ((guint64) g_sequence_get_length (idx->seq) + 1);
  guint64 label = G_GUINT64_CONSTANT (1) << 62;

  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    ((OrderNode *) g_sequence_get (it))->label = label += step;
}

/* A window of labels is relabelled when its records can be this far
 * apart: then about 24 records more fit between any two of them. */
#define ORDER_MIN_STEP (G_GUINT64_CONSTANT (1) << 24)

/* Labels the records of the smallest window around @it (doubling) whose
 * bounds leave ORDER_MIN_STEP between them anew, evenly, and touches
 * them for the live queries; FALSE when that window is the whole index
 * (then every label changed). */
static gboolean
order_index_relabel_around (OrderIndex    *idx,
                            GSequenceIter *it)
{
  GSequenceIter *first = it, *last = it;
  guint64 count = 1, lo, hi, step, label;

  for (guint64 want = 8;; want *= 2)
    {
      gboolean at_begin, at_end;

      for (;;)
        {
          at_begin = g_sequence_iter_is_begin (first);
          at_end = g_sequence_iter_is_end (g_sequence_iter_next (last));
          if (count >= want || (at_begin && at_end))
            break;
          if (!at_begin)
            {
              first = g_sequence_iter_prev (first);
              count++;
            }
          if (count < want && !at_end)
            {
              last = g_sequence_iter_next (last);
              count++;
            }
        }
      if (at_begin && at_end)
        {
          _net_coll_order_index_relabel (idx);
          return FALSE;
        }
      lo = at_begin ? 0 : ((OrderNode *) g_sequence_get (g_sequence_iter_prev (first)))->label;
      hi = at_end ? G_MAXUINT64 : ((OrderNode *) g_sequence_get (g_sequence_iter_next (last)))->label;
      if (hi > lo && (hi - lo) / (count + 1) >= ORDER_MIN_STEP)
        break;
    }

  step = (hi - lo) / (count + 1);
  label = lo;
  for (GSequenceIter *i = first;; i = g_sequence_iter_next (i))
    {
      OrderNode *node = g_sequence_get (i);

      node->label = label += step;
      if (idx->owner != NULL && idx->watchers > 0)
        _net_watch_hub_touch (&idx->owner->table.watches, node->e->id);
      if (i == last)
        break;
    }
  return TRUE;
}

/* Gives the node at @it a label between its neighbours'; FALSE when
 * there is no room even around it (then every label changed). */
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
    return order_index_relabel_around (idx, it);
  if (!has_next)
    label = lo + MIN ((hi - lo) / 2, ORDER_END_STEP);
  else if (!has_prev)
    label = hi - MIN ((hi - lo) / 2, ORDER_END_STEP);
  else
    label = lo + (hi - lo) / 2;
  node->label = label;
  return TRUE;
}

/*
 * A keyed order index: one key of numbers (the integer types, times,
 * the engine's id and times; or doubles) maps each record to a u64 that
 * sorts as _net_coll_query_compare() does: an integer i to i + 2^63 (an unsigned
 * one above G_MAXINT64 cannot map), a double to its bits made to sort
 * (-0 as 0, NaN after every number), a missing value (untyped
 * collections only: a class's field has its default) to 0, before every
 * number (and so a G_MININT64 cannot map there), and a descending key
 * to the complement.  The records are then a NetBTree of (key, id in
 * the order of ties), without a comparison of records, and a record's
 * key is its label: the live queries sort by it with the same ties (no
 * relabelling, and a move is a remove and an insert).  A record whose
 * value cannot map (another kind, a huge unsigned, an integer in a
 * double index) turns the index into a sorted one (until a restore
 * fills it again), and its live queries recompute.
 */

#define KEY_SIGN G_GUINT64_CONSTANT (0x8000000000000000)

static KeyedMode
order_index_key_mode (const Query *q)
{
  OrderKey *k;

  if (q->keys->len != 1)
    return KEYED_NONE;
  k = &g_array_index (q->keys, OrderKey, 0);
  if (k->never)
    return KEYED_NONE;
  if (k->cf == NULL)
    return KEYED_INT;
  if (k->cf->type == NET_FIELD_DOUBLE)
    return KEYED_DOUBLE;
  if (_net_coll_kind_of (k->cf->type) == KIND_NUMBER)
    return KEYED_INT;
  return KEYED_NONE;
}

/* The key of @e in @idx (mode @mode); FALSE when it cannot map. */
static gboolean
order_key_of (OrderIndex *idx,
              KeyedMode   mode,
              Entry      *e,
              guint64    *out)
{
  OrderKey *k = &g_array_index (idx->q.keys, OrderKey, 0);
  FieldVal fv;
  Slot scratch = { 0, };
  guint64 key;

  _net_coll_query_field (e, k->cf, k->special, &fv, &scratch);
  if (k->cf != NULL && _net_coll_type_is_pointer (k->cf->type))
    {
      /* A default made for us: not a number anyway. */
      _net_coll_slot_clear (k->cf->type, &scratch);
      return FALSE;
    }
  if (_net_coll_kind_of (fv.type) != KIND_NUMBER)
    return FALSE;
  if (fv.missing)
    key = 0;
  else if (mode == KEYED_DOUBLE)
    {
      double d = fv.v.d;
      guint64 bits;

      if (fv.type != NET_FIELD_DOUBLE)
        return FALSE;
      if (d != d)
        key = G_MAXUINT64;
      else
        {
          if (d == 0)
            d = 0;   /* -0 */
          memcpy (&bits, &d, sizeof bits);
          key = (bits & KEY_SIGN) != 0 ? ~bits : bits | KEY_SIGN;
        }
    }
  else if (fv.type == NET_FIELD_DOUBLE)
    return FALSE;
  else if (_net_coll_type_is_unsigned (fv.type) || (k->cf == NULL && k->special == NET_TABLE_KEY_ID))
    {
      if (fv.v.u > (guint64) G_MAXINT64)
        return FALSE;
      key = fv.v.u ^ KEY_SIGN;
    }
  else
    {
      /* 0 is a missing value's, where one can be. */
      if (fv.v.i == G_MININT64 && k->cf != NULL && k->cf->pspec == NULL)
        return FALSE;
      key = (guint64) fv.v.i ^ KEY_SIGN;
    }
  *out = k->desc ? ~key : key;
  return TRUE;
}

static guint64
keyed_tie_asc (gconstpointer value)
{
  return ((const Entry *) value)->id;
}

static guint64
keyed_tie_desc (gconstpointer value)
{
  return ~((const Entry *) value)->id;
}

static void
keyed_empty (OrderIndex *idx)
{
  _net_btree_clear (idx->tree);
  idx->moving = NULL;
}

static int
keyed_item_compare (gconstpointer a,
                    gconstpointer b,
                    gpointer      data)
{
  const NetBTreeItem *ia = a, *ib = b;
  NetBTreeTiebreak tie = data;
  guint64 ta, tb;

  if (ia->key != ib->key)
    return ia->key < ib->key ? -1 : 1;
  ta = tie (ia->value);
  tb = tie (ib->value);
  return ta < tb ? -1 : ta > tb;
}

/* Fills the empty @idx in mode @mode with the records of @self; FALSE
 * (and @idx empty) when one cannot map. */
static gboolean
keyed_fill (OrderIndex    *idx,
            KeyedMode      mode,
            NetCollection *self)
{
  g_autoptr(GArray) items = g_array_sized_new (FALSE, FALSE, sizeof (NetBTreeItem),
                                               _net_id_table_size (&self->table.by_id));
  NetBTreeTiebreak tie = idx->q.desc_ties ? keyed_tie_desc : keyed_tie_asc;
  Entry *e;

  for (guint64 pos = 0; (e = _net_id_table_next (&self->table.by_id, &pos)) != NULL;)
    {
      NetBTreeItem item;

      if (!order_key_of (idx, mode, e, &item.key))
        return FALSE;
      item.value = e;
      g_array_append_val (items, item);
    }
  g_array_sort_with_data (items, keyed_item_compare, tie);
  _net_btree_build (idx->tree, (NetBTreeItem *) items->data, items->len);
  idx->keyed = mode;
  return TRUE;
}

/* A record of @idx cannot map: the index is sorted from now on (new
 * labels: the live queries that use them recompute). */
static void
order_index_unkey (OrderIndex *idx)
{
  keyed_empty (idx);
  idx->keyed = KEYED_NONE;
  if (idx->owner == NULL)
    return;
  _net_coll_order_index_fill (idx, idx->owner, FALSE);
  if (idx->watchers > 0)
    _net_watch_hub_reset (&idx->owner->table.watches);
}

static void
order_index_insert (OrderIndex *idx,
                    Entry      *e)
{
  OrderNode *node;
  GSequenceIter *it;

  if (idx->keyed != KEYED_NONE)
    {
      guint64 key;

      if (!order_key_of (idx, idx->keyed, e, &key))
        {
          order_index_unkey (idx);
          return;
        }
      _net_btree_insert (idx->tree, key, e);
      return;
    }
  node = order_node_new (idx, e);
  it = g_sequence_insert_sorted (idx->seq, node, order_node_compare, idx);
  g_hash_table_insert (idx->nodes, &e->id, it);
  /* New labels: the live queries that use them recompute. */
  if (!order_index_place (idx, it) && idx->owner != NULL && idx->watchers > 0)
    _net_watch_hub_reset (&idx->owner->table.watches);
}

static void
order_index_remove (OrderIndex *idx,
                    Entry      *e)
{
  GSequenceIter *it;

  if (idx->keyed != KEYED_NONE)
    {
      guint64 key;

      /* Its values are still there: its key is the one it has. */
      if (order_key_of (idx, idx->keyed, e, &key))
        _net_btree_remove (idx->tree, key, e);
      return;
    }
  it = g_hash_table_lookup (idx->nodes, &e->id);
  if (it == NULL)
    return;
  g_hash_table_remove (idx->nodes, &e->id);
  g_sequence_remove (it);
}

/* Fills the empty @idx with the records of @self: keyed when it can
 * be (and @try_keyed, and no live query uses its labels yet, or it was
 * keyed), else sorted. */
void
_net_coll_order_index_fill (OrderIndex    *idx,
                            NetCollection *self,
                            gboolean       try_keyed)
{
  KeyedMode mode = idx->watchers == 0 ? order_index_key_mode (&idx->q) : idx->keyed;
  Entry *e;

  if (try_keyed && mode != KEYED_NONE && keyed_fill (idx, mode, self))
    return;
  keyed_empty (idx);
  idx->keyed = KEYED_NONE;
  for (guint64 pos = 0; (e = _net_id_table_next (&self->table.by_id, &pos)) != NULL;)
    {
      OrderNode *node;

      node = order_node_new (idx, e);
      g_sequence_append (idx->seq, node);
    }
  g_sequence_sort (idx->seq, order_node_compare, idx);
  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    g_hash_table_insert (idx->nodes, &((OrderNode *) g_sequence_get (it))->e->id, it);
  _net_coll_order_index_relabel (idx);
}

void
_net_coll_order_index_empty (OrderIndex *idx)
{
  keyed_empty (idx);
  g_hash_table_remove_all (idx->nodes);
  g_sequence_remove_range (g_sequence_get_begin_iter (idx->seq), g_sequence_get_end_iter (idx->seq));
}

/* Whether @q orders by one key descending: the reverse of the order by
 * that key ascending (ties by id descending, the reverse of ascending),
 * whose index it uses backwards (its labels complemented). */
gboolean
_net_coll_order_reversed (const Query *q)
{
  return q->keys->len == 1 && g_array_index (q->keys, OrderKey, 0).desc;
}

/* The name of the order of @q's index: one key is always ascending. */
static char *
order_spec (const Query *q)
{
  gboolean reversed = _net_coll_order_reversed (q);
  GString *spec = g_string_new (q->desc_ties && !reversed ? "-" : "+");

  for (guint i = 0; i < q->keys->len; i++)
    {
      OrderKey *k = &g_array_index (q->keys, OrderKey, i);

      g_string_append_printf (spec, "%s%c%c\x1e", k->cf != NULL ? k->cf->name : "",
                              '0' + (int) k->special, k->desc && !reversed ? 'd' : 'a');
    }
  return g_string_free (spec, FALSE);
}

/* The index of the order of @q (which has order keys), made when needed;
 * a reference.  For one key descending, the index of that key ascending
 * (_net_coll_order_reversed()). */
OrderIndex *
_net_coll_order_index_get (NetCollection *self,
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
  if (_net_coll_order_reversed (q))
    {
      g_array_index (idx->q.keys, OrderKey, 0).desc = FALSE;
      idx->q.desc_ties = FALSE;
    }
  idx->seq = g_sequence_new (g_free);
  idx->nodes = g_hash_table_new (g_int64_hash, g_int64_equal);
  idx->tree = _net_btree_new (idx->q.desc_ties ? keyed_tie_desc : keyed_tie_asc);
  _net_coll_order_index_fill (idx, self, TRUE);
  g_hash_table_insert (self->orders, idx->spec, idx);
  return idx;
}

void
_net_coll_order_index_unref (OrderIndex *idx)
{
  if (--idx->ref > 0)
    return;
  if (idx->owner != NULL)
    g_hash_table_remove (idx->owner->orders, idx->spec);
  _net_coll_query_clear (&idx->q);
  g_hash_table_unref (idx->nodes);
  g_sequence_free (idx->seq);
  _net_btree_free (idx->tree);
  g_free (idx->spec);
  g_free (idx);
}

guint64
_net_coll_order_index_label (OrderIndex *idx,
                             Entry      *e)
{
  GSequenceIter *it;

  if (idx->keyed != KEYED_NONE)
    {
      guint64 key;

      return order_key_of (idx, idx->keyed, e, &key) ? key : 0;
    }
  it = g_hash_table_lookup (idx->nodes, &e->id);
  return it != NULL ? ((OrderNode *) g_sequence_get (it))->label : 0;
}

void
_net_coll_order_indexes_add (NetCollection *self,
                   Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    _net_coll_search_indexes_add (self, e);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_insert (idx, e);
}

void
_net_coll_order_indexes_remove (NetCollection *self,
                      Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    _net_coll_search_indexes_remove (self, e);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_remove (idx, e);
}

/* Whether the key of keyed @idx stays what it was when the fields
 * @nums are written (NULL: any may be): a field's, when not one of them
 * (the engine's times change anyway). */
static gboolean
keyed_stays (NetCollection *self,
             OrderIndex    *idx,
             const guint   *nums,
             guint          n_nums)
{
  OrderKey *k = &g_array_index (idx->q.keys, OrderKey, 0);

  return nums != NULL && k->cf != NULL && !_net_coll_writes_field (self, nums, n_nums, k->cf);
}

/* The key @e had in @idx before it changed: the one
 * _net_coll_order_indexes_will_move() took, else (not told) found in
 * the tree; FALSE when @e is not in it. */
static gboolean
keyed_old_key (OrderIndex *idx,
               Entry      *e,
               guint64    *key)
{
  NetBTreeIter it;
  gboolean more;

  if (idx->moving == e)
    {
      idx->moving = NULL;
      *key = idx->moving_key;
      return TRUE;
    }
  for (more = _net_btree_iter_first (idx->tree, &it); more; more = _net_btree_iter_next (&it))
    if (_net_btree_iter_get (&it)->value == e)
      {
        *key = _net_btree_iter_get (&it)->key;
        return TRUE;
      }
  return FALSE;
}

/* @e changed: when it still sorts between its neighbours it keeps its
 * label, so that the live queries see no move (a change of a field that
 * is not an order key is then a notify on the item, not an
 * items-changed); otherwise it takes its new place. */
static void
order_index_move (OrderIndex    *idx,
                  Entry         *e,
                  const guint   *nums,
                  guint          n_nums)
{
  GSequenceIter *it;
  GSequenceIter *next;
  OrderNode *node;

  if (idx->keyed != KEYED_NONE)
    {
      guint64 old, key;

      if (idx->owner != NULL && keyed_stays (idx->owner, idx, nums, n_nums))
        return;
      if (!keyed_old_key (idx, e, &old))
        order_index_insert (idx, e);
      else if (!order_key_of (idx, idx->keyed, e, &key))
        order_index_unkey (idx);
      else if (key != old)
        {
          _net_btree_remove (idx->tree, old, e);
          _net_btree_insert (idx->tree, key, e);
        }
      return;
    }
  it = g_hash_table_lookup (idx->nodes, &e->id);
  if (it == NULL)
    {
      order_index_insert (idx, e);
      return;
    }
  /* The node itself takes the new value and, when it must, its new
   * place: its iter (in idx->nodes) stays what it was. */
  node = g_sequence_get (it);
  order_node_fill (idx, node, e);
  next = g_sequence_iter_next (it);
  if ((g_sequence_iter_is_begin (it) ||
       order_node_compare (g_sequence_get (g_sequence_iter_prev (it)), node, idx) < 0) &&
      (g_sequence_iter_is_end (next) ||
       order_node_compare (node, g_sequence_get (next), idx) < 0))
    return;
  g_sequence_sort_changed (it, order_node_compare, idx);
  /* New labels: the live queries that use them recompute. */
  if (!order_index_place (idx, it) && idx->owner != NULL && idx->watchers > 0)
    _net_watch_hub_reset (&idx->owner->table.watches);
}

/* @e is about to change (the fields @nums, or any when NULL): what an
 * index needs of it as it is now is taken (a search index, its text; a
 * keyed index, its key). */
void
_net_coll_order_indexes_will_move (NetCollection *self,
                                   Entry         *e,
                                   const guint   *nums,
                                   guint          n_nums)
{
  GHashTableIter iter;
  gpointer p;

  if (self->orders_frozen)
    return;
  _net_coll_search_indexes_will_move (self, e, nums, n_nums);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0))
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &p))
    {
      OrderIndex *idx = p;

      /* A keyed index finds a record by its key: the one it has now. */
      idx->moving = NULL;
      if (idx->keyed != KEYED_NONE && !keyed_stays (self, idx, nums, n_nums) &&
          order_key_of (idx, idx->keyed, e, &idx->moving_key))
        idx->moving = e;
    }
}

/* @e changed (its fields, its times): it takes its new place.  @nums:
 * the numbers of the fields that were written, or NULL (any field may
 * have changed). */
void
_net_coll_order_indexes_move (NetCollection *self,
                              Entry         *e,
                              const guint   *nums,
                              guint          n_nums)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    _net_coll_search_indexes_move (self, e, nums, n_nums);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_move (idx, e, nums, n_nums);
}

guint
_net_coll_order_index_size (OrderIndex *idx)
{
  return idx->keyed != KEYED_NONE ? _net_btree_size (idx->tree) : (guint) g_sequence_get_length (idx->seq);
}

/* @c at position @pos (< the size). */
void
_net_coll_order_cursor_at (OrderIndex  *idx,
                           guint        pos,
                           OrderCursor *c)
{
  c->idx = idx;
  c->it = NULL;
  if (idx->keyed != KEYED_NONE)
    _net_btree_iter_nth (idx->tree, pos, &c->bit);
  else
    c->it = g_sequence_get_iter_at_pos (idx->seq, pos);
}

/* For a walk of @n entries of @idx from position @start (down when
 * @back). */
void
_net_coll_walk_ahead_init (WalkAhead  *a,
                           OrderIndex *idx,
                           guint       start,
                           guint       n,
                           gboolean    back)
{
  memset (a, 0, sizeof *a);
  a->on = idx->keyed != KEYED_NONE && n > AHEAD_NEAR;
  if (!a->on)
    return;
  a->back = back;
  _net_coll_order_cursor_at (idx, back ? start - AHEAD_NEAR : start + AHEAD_NEAR, &a->near);
  a->near_left = n - AHEAD_NEAR;
  if (n > AHEAD_FAR)
    {
      _net_coll_order_cursor_at (idx, back ? start - AHEAD_FAR : start + AHEAD_FAR, &a->far);
      a->far_left = n - AHEAD_FAR;
    }
}

/* Visits the entries @w passes in the order of @q when a live query keeps
 * that order (FALSE: none does). */
gboolean
_net_coll_order_indexes_walk (NetCollection      *self,
                              const Query        *q,
                              const NetTableWalk *w,
                              guint               skip,
                              NetTableVisitFunc   func,
                              gpointer            data)
{
  g_autofree char *spec = order_spec (q);
  OrderIndex *idx = g_hash_table_lookup (self->orders, spec);
  gboolean reversed = _net_coll_order_reversed (q);
  OrderCursor c = { 0, };
  guint n;

  if (idx == NULL)
    return FALSE;
  n = _net_coll_order_index_size (idx);
  if (n > 0)
    _net_coll_order_cursor_at (idx, reversed ? n - 1 : 0, &c);
  for (guint i = 0; i < n; i++, _net_coll_order_cursor_step (&c, reversed))
    {
      Entry *e = _net_coll_order_cursor_get (&c);

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
