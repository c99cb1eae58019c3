/* net-collection-query.c: conditions, orders, indexes and live queries of a collection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-db-items-private.h"
#include "net-filter-base-private.h"
#include "net-collection-internal-private.h"

static gboolean index_plan_visit      (NetCollection      *self,
                                       const Query        *q,
                                       const NetTableWalk *w,
                                       gboolean            ordered,
                                       guint               skip,
                                       NetTableVisitFunc   func,
                                       gpointer            data);
static gboolean index_plan_count      (NetCollection      *self,
                                       const Query        *q,
                                       const NetTableWalk *w,
                                       guint              *n);
static gboolean order_indexes_walk    (NetCollection      *self,
                                       const Query        *q,
                                       const NetTableWalk *w,
                                       guint               skip,
                                       NetTableVisitFunc   func,
                                       gpointer            data);
static void     search_indexes_add    (NetCollection      *self,
                                       Entry              *e);
static void     search_indexes_remove (NetCollection      *self,
                                       Entry              *e);
static void     search_indexes_move   (NetCollection      *self,
                                       Entry              *e);

/* Queries ------------------------------------------------------------------------------ */




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

gboolean
_net_coll_special_of (const char *name,
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
  _net_coll_entry_field (e, cf, out);
  if (out->missing && cf->pspec != NULL)
    {
      /* The property's default, as a stored value of the property's type. */
      _net_coll_slot_from_value (cf->type, &cf->def, scratch);
      out->v = *scratch;
      out->type = cf->type;
      out->missing = FALSE;
    }
}


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
      gboolean sa = _net_coll_type_is_signed (a->type) || a->type == NET_FIELD_DATETIME;
      gboolean sb = _net_coll_type_is_signed (b->type) || b->type == NET_FIELD_DATETIME;

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

      x = a->type == NET_FIELD_DOUBLE ? a->v.d : _net_coll_type_is_unsigned (a->type) ? (long double) a->v.u : (long double) a->v.i;
      y = b->type == NET_FIELD_DOUBLE ? b->v.d : _net_coll_type_is_unsigned (b->type) ? (long double) b->v.u : (long double) b->v.i;
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
      o->v.i = dt != NULL ? _net_coll_datetime_to_usec (dt) : NULL_TIME;
    }
  else
    return FALSE;
  return TRUE;
}

void
_net_coll_query_clear (Query *q)
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

      if (!_net_coll_special_of (c.c->field, &c.special))
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
                         (orders->len == 1 && !_net_coll_special_of (((NetFilterOrder *) g_ptr_array_index (orders, 0))->field,
                                                           &(guint) { 0 }))))
    for (guint i = 0; i < orders->len; i++)
      {
        NetFilterOrder *o = g_ptr_array_index (orders, i);
        OrderKey k = { NULL, 0, o->desc, FALSE };

        if (!_net_coll_special_of (o->field, &k.special))
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
  if (c->cf != NULL && _net_coll_type_is_pointer (c->cf->type))
    _net_coll_slot_clear (c->cf->type, &scratch);
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
      if (k->cf != NULL && _net_coll_type_is_pointer (k->cf->type))
        {
          _net_coll_slot_clear (k->cf->type, &sa);
          _net_coll_slot_clear (k->cf->type, &sb);
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

gboolean
_net_coll_count_fast (gpointer       model,
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
  _net_coll_query_clear (&q);
  return ok;
}

void
_net_coll_visit (gpointer           model,
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
      _net_coll_query_clear (&q);
      return;
    }

  if (!ordered || q.keys->len == 0)
    {
      _net_table_walk (&self->table, &w, ordered ? skip : 0, func, data);
      _net_coll_query_clear (&q);
      return;
    }

  /* An order of fields a live query keeps: walk it. */
  if (order_indexes_walk (self, &q, &w, skip, func, data))
    {
      _net_coll_query_clear (&q);
      return;
    }

  /* An order of fields: sort the matches. */
  matches = g_ptr_array_new ();
  _net_table_walk (&self->table, &w, 0, collect_cb, matches);
  g_ptr_array_sort_with_data (matches, query_compare_cb, &q);
  for (guint i = skip; i < matches->len; i++)
    if (!func (g_ptr_array_index (matches, i), data))
      break;
  _net_coll_query_clear (&q);
}

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
       * one integer type, compared here, as fv_compare() would. */
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
            return query_compare (&idx->q, na->e, nb->e);
          case NET_FIELD_BOOLEAN:
          case NET_FIELD_UINT:
          case NET_FIELD_UINT64:
          case NET_FIELD_FLAGS:
            r = (na->first.v.u > nb->first.v.u) - (na->first.v.u < nb->first.v.u);
            if (r != 0)
              return k->desc ? -r : r;
            return query_compare (&idx->q, na->e, nb->e);
          default:
            break;
          }
      r = fv_compare (&na->first, &nb->first, &ok);
      if (r != 0)
        return k->desc ? -r : r;
    }
  return query_compare (&idx->q, na->e, nb->e);
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
      query_field (e, k->cf, k->special, &node->first, &scratch);
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
static void
order_index_relabel (OrderIndex *idx)
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
          order_index_relabel (idx);
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
 * sorts as query_compare() does: an integer i to i + 2^63 (an unsigned
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
#define KEY_CHUNK 1024

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
  if (kind_of (k->cf->type) == KIND_NUMBER)
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

  query_field (e, k->cf, k->special, &fv, &scratch);
  if (k->cf != NULL && _net_coll_type_is_pointer (k->cf->type))
    {
      /* A default made for us: not a number anyway. */
      _net_coll_slot_clear (k->cf->type, &scratch);
      return FALSE;
    }
  if (kind_of (fv.type) != KIND_NUMBER)
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

static KeyNode *
key_node_new (OrderIndex *idx,
              guint64     id,
              guint64     key)
{
  KeyNode *n = idx->free_nodes;

  if (n == NULL)
    {
      KeyNode *chunk = g_new (KeyNode, KEY_CHUNK);

      g_ptr_array_add (idx->chunks, chunk);
      for (guint i = 0; i < KEY_CHUNK; i++)
        {
          chunk[i].next = n;
          n = &chunk[i];
        }
    }
  idx->free_nodes = n->next;
  n->id = id;
  n->key = key;
  n->next = NULL;
  return n;
}

static void
key_node_free (OrderIndex *idx,
               KeyNode    *n)
{
  n->next = idx->free_nodes;
  idx->free_nodes = n;
}

static void
keyed_empty (OrderIndex *idx)
{
  _net_btree_clear (idx->tree);
  _net_id_table_clear (&idx->keys);
  _net_id_table_init (&idx->keys);
  g_ptr_array_set_size (idx->chunks, 0);
  idx->free_nodes = NULL;
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

  for (guint i = 0; i <= self->table.by_id.mask; i++)
    {
      Entry *e = self->table.by_id.slots[i];
      NetBTreeItem item;

      if (e == NULL)
        continue;
      if (!order_key_of (idx, mode, e, &item.key))
        return FALSE;
      item.value = e;
      g_array_append_val (items, item);
    }
  g_array_sort_with_data (items, keyed_item_compare, tie);
  _net_id_table_reserve (&idx->keys, items->len);
  for (guint i = 0; i < items->len; i++)
    {
      NetBTreeItem *item = &g_array_index (items, NetBTreeItem, i);

      _net_id_table_insert (&idx->keys, key_node_new (idx, ((Entry *) item->value)->id, item->key));
    }
  _net_btree_build (idx->tree, (NetBTreeItem *) items->data, items->len);
  idx->keyed = mode;
  return TRUE;
}

static void order_index_fill (OrderIndex    *idx,
                              NetCollection *self,
                              gboolean       try_keyed);

/* A record of @idx cannot map: the index is sorted from now on (new
 * labels: the live queries that use them recompute). */
static void
order_index_unkey (OrderIndex *idx)
{
  keyed_empty (idx);
  idx->keyed = KEYED_NONE;
  if (idx->owner == NULL)
    return;
  order_index_fill (idx, idx->owner, FALSE);
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
      _net_id_table_insert (&idx->keys, key_node_new (idx, e->id, key));
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
      KeyNode *n = _net_id_table_remove (&idx->keys, e->id);

      if (n == NULL)
        return;
      _net_btree_remove (idx->tree, n->key, e);
      key_node_free (idx, n);
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
static void
order_index_fill (OrderIndex    *idx,
                  NetCollection *self,
                  gboolean       try_keyed)
{
  KeyedMode mode = idx->watchers == 0 ? order_index_key_mode (&idx->q) : idx->keyed;

  if (try_keyed && mode != KEYED_NONE && keyed_fill (idx, mode, self))
    return;
  keyed_empty (idx);
  idx->keyed = KEYED_NONE;
  for (guint i = 0; i <= self->table.by_id.mask; i++)
    {
      Entry *e = self->table.by_id.slots[i];
      OrderNode *node;

      if (e == NULL)
        continue;
      node = order_node_new (idx, e);
      g_sequence_append (idx->seq, node);
    }
  g_sequence_sort (idx->seq, order_node_compare, idx);
  for (GSequenceIter *it = g_sequence_get_begin_iter (idx->seq); !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    g_hash_table_insert (idx->nodes, &((OrderNode *) g_sequence_get (it))->e->id, it);
  order_index_relabel (idx);
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
static gboolean
order_reversed (const Query *q)
{
  return q->keys->len == 1 && g_array_index (q->keys, OrderKey, 0).desc;
}

/* The name of the order of @q's index: one key is always ascending. */
static char *
order_spec (const Query *q)
{
  gboolean reversed = order_reversed (q);
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
 * (order_reversed()). */
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
  if (order_reversed (q))
    {
      g_array_index (idx->q.keys, OrderKey, 0).desc = FALSE;
      idx->q.desc_ties = FALSE;
    }
  idx->seq = g_sequence_new (g_free);
  idx->nodes = g_hash_table_new (g_int64_hash, g_int64_equal);
  idx->tree = _net_btree_new (idx->q.desc_ties ? keyed_tie_desc : keyed_tie_asc);
  _net_id_table_init (&idx->keys);
  idx->chunks = g_ptr_array_new_with_free_func (g_free);
  order_index_fill (idx, self, TRUE);
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
  _net_id_table_clear (&idx->keys);
  g_ptr_array_unref (idx->chunks);
  g_free (idx->spec);
  g_free (idx);
}

static guint64
order_index_label (OrderIndex *idx,
                   Entry      *e)
{
  GSequenceIter *it;

  if (idx->keyed != KEYED_NONE)
    {
      KeyNode *n = _net_id_table_lookup (&idx->keys, e->id);

      return n != NULL ? n->key : 0;
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
    search_indexes_add (self, e);
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
    search_indexes_remove (self, e);
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_remove (idx, e);
}

/* @e changed: when it still sorts between its neighbours it keeps its
 * label, so that the live queries see no move (a change of a field that
 * is not an order key is then a notify on the item, not an
 * items-changed); otherwise it takes its new place. */
static void
order_index_move (OrderIndex *idx,
                  Entry      *e)
{
  GSequenceIter *it;
  GSequenceIter *next;
  OrderNode *node;

  if (idx->keyed != KEYED_NONE)
    {
      KeyNode *n = _net_id_table_lookup (&idx->keys, e->id);
      guint64 key;

      if (n == NULL)
        order_index_insert (idx, e);
      else if (!order_key_of (idx, idx->keyed, e, &key))
        order_index_unkey (idx);
      else if (key != n->key)
        {
          _net_btree_remove (idx->tree, n->key, e);
          n->key = key;
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

/* @e changed (its fields, its times): it takes its new place. */
void
_net_coll_order_indexes_move (NetCollection *self,
                    Entry         *e)
{
  GHashTableIter iter;
  gpointer idx;

  if (!self->orders_frozen)
    {
      search_indexes_move (self, e);
    }
  if (G_LIKELY (self->orders == NULL || g_hash_table_size (self->orders) == 0) || self->orders_frozen)
    return;
  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    order_index_move (idx, e);
}

/* A position in an order index, either kind. */
typedef struct
{
  OrderIndex    *idx;
  GSequenceIter *it;
  NetBTreeIter   bit;
} OrderCursor;

static guint
order_index_size (OrderIndex *idx)
{
  return idx->keyed != KEYED_NONE ? _net_btree_size (idx->tree) : (guint) g_sequence_get_length (idx->seq);
}

/* @c at position @pos (< the size). */
static void
order_cursor_at (OrderIndex  *idx,
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

static Entry *
order_cursor_get (OrderCursor *c)
{
  if (c->idx->keyed != KEYED_NONE)
    return _net_btree_iter_get (&c->bit)->value;
  return ((OrderNode *) g_sequence_get (c->it))->e;
}

static void
order_cursor_step (OrderCursor *c,
                   gboolean     back)
{
  if (c->idx->keyed != KEYED_NONE)
    {
      if (back)
        _net_btree_iter_prev (&c->bit);
      else
        _net_btree_iter_next (&c->bit);
    }
  else
    c->it = back ? g_sequence_iter_prev (c->it) : g_sequence_iter_next (c->it);
}

/* A walk of a keyed index reads each entry it passes (its header, then
 * its values), in the order of a field: in memory, at random.  Two
 * cursors ahead of it ask for them early: the header of the entry
 * AHEAD_FAR steps ahead, the values of the one AHEAD_NEAR steps ahead
 * (whose header has come meanwhile). */
#define AHEAD_FAR 16
#define AHEAD_NEAR 8

typedef struct
{
  gboolean    on;
  gboolean    back;
  OrderCursor far, near;
  guint       far_left, near_left;   /* the steps each may still take */
} WalkAhead;

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch (p)
#else
#define PREFETCH(p) ((void) (p))
#endif

/* For a walk of @n entries of @idx from position @start (down when
 * @back). */
static void
walk_ahead_init (WalkAhead  *a,
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
  order_cursor_at (idx, back ? start - AHEAD_NEAR : start + AHEAD_NEAR, &a->near);
  a->near_left = n - AHEAD_NEAR;
  if (n > AHEAD_FAR)
    {
      order_cursor_at (idx, back ? start - AHEAD_FAR : start + AHEAD_FAR, &a->far);
      a->far_left = n - AHEAD_FAR;
    }
}

/* One step of the walk. */
static inline void
walk_ahead_step (WalkAhead *a)
{
  if (!a->on)
    return;
  if (a->far_left > 0)
    {
      PREFETCH (order_cursor_get (&a->far));
      if (--a->far_left > 0)
        order_cursor_step (&a->far, a->back);
    }
  if (a->near_left > 0)
    {
      PREFETCH (order_cursor_get (&a->near)->slots);
      if (--a->near_left > 0)
        order_cursor_step (&a->near, a->back);
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
  gboolean reversed = order_reversed (q);
  OrderCursor c = { 0, };
  guint n;

  if (idx == NULL)
    return FALSE;
  n = order_index_size (idx);
  if (n > 0)
    order_cursor_at (idx, reversed ? n - 1 : 0, &c);
  for (guint i = 0; i < n; i++, order_cursor_step (&c, reversed))
    {
      Entry *e = order_cursor_get (&c);

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
 * string field to a posting, the ids of the records that have it
 * (appended; a record's old text leaves stale ids behind, dropped by a
 * compaction once they outnumber half the others): CONTAINS or PREFIX
 * with a needle of three characters or more checks only the records of
 * the needle's rarest trigram.  Every candidate is checked against the
 * whole filter; the indexes only narrow.
 */


/* A posting: ids appended in blocks, the first growing up to
 * POSTING_BLOCK ids and the others of POSTING_BLOCK, so that an append
 * never copies more than a block (the postings of common trigrams hold
 * about every record). */
#define POSTING_SHIFT 12
#define POSTING_BLOCK (1u << POSTING_SHIFT)

struct _Posting
{
  guint     len;
  guint     cap0;       /* the first block's capacity */
  guint     n_blocks;
  guint64 **blocks;
};

static inline guint64
posting_get (const Posting *p,
             guint          i)
{
  return p->blocks[i >> POSTING_SHIFT][i & (POSTING_BLOCK - 1)];
}

static Posting *
posting_new (void)
{
  return g_new0 (Posting, 1);
}

void
_net_coll_posting_free (gpointer data)
{
  Posting *p = data;

  for (guint i = 0; i < p->n_blocks; i++)
    g_free (p->blocks[i]);
  g_free (p->blocks);
  g_free (p);
}

static void
posting_append_slow (Posting *p,
                     guint64  id)
{
  if (p->len < POSTING_BLOCK)
    {
      /* The first block grows (doubling). */
      p->cap0 = p->cap0 == 0 ? 4 : p->cap0 * 2;
      if (p->n_blocks == 0)
        {
          p->blocks = g_new0 (guint64 *, 1);
          p->n_blocks = 1;
        }
      p->blocks[0] = g_renew (guint64, p->blocks[0], p->cap0);
    }
  else
    {
      /* A new block (the pointers grow by doubling). */
      if ((p->n_blocks & (p->n_blocks - 1)) == 0)
        p->blocks = g_renew (guint64 *, p->blocks, p->n_blocks * 2);
      p->blocks[p->n_blocks++] = g_new (guint64, POSTING_BLOCK);
    }
  p->blocks[p->len >> POSTING_SHIFT][p->len & (POSTING_BLOCK - 1)] = id;
  p->len++;
}

static inline void
posting_append (Posting *p,
                guint64  id)
{
  guint room = p->len < POSTING_BLOCK ? p->cap0 : p->n_blocks << POSTING_SHIFT;

  if (G_UNLIKELY (p->len >= room))
    {
      posting_append_slow (p, id);
      return;
    }
  p->blocks[p->len >> POSTING_SHIFT][p->len & (POSTING_BLOCK - 1)] = id;
  p->len++;
}

void
_net_coll_search_index_free (gpointer data)
{
  SearchIndex *si = data;

  g_hash_table_unref (si->grams);
  g_hash_table_unref (si->texts);
  g_free (si);
}

/* A trigram as a key of SearchIndex.grams: three ASCII characters are
 * their bytes (and 3 in the top byte), any other trigram a 31-bit hash
 * with the top bit set.  Two trigrams of one hash share a set, which then
 * holds the records of either: a candidate is always checked against the
 * filter, so a set only has to hold every record that has the trigram.
 * No string is made, hashed or compared per trigram (they were a third
 * of an insert with a search index). */
static inline gpointer
search_gram_key (const char *p,
                 gsize       len)
{
  guint32 h = 2166136261u;

  if (len == 3)
    return GUINT_TO_POINTER ((guint32) (guchar) p[0] | (guint32) (guchar) p[1] << 8 |
                             (guint32) (guchar) p[2] << 16 | 3u << 24);
  for (gsize i = 0; i < len; i++)
    {
      h ^= (guchar) p[i];
      h *= 16777619u;
    }
  return GUINT_TO_POINTER (h | 0x80000000u);
}

/* Calls @func on the key of each trigram of @folded (a repeated one
 * again: adding a record to a set it is in, or removing it from one it
 * left, is harmless), without an allocation. */
static void
foreach_trigram (const char *folded,
                 void      (*func) (gpointer key, gpointer data),
                 gpointer    data)
{
  for (const char *p = folded; *p != '\0'; p = g_utf8_next_char (p))
    {
      const char *end = p;
      guint n = 0;

      while (n < 3 && *end != '\0')
        {
          end = g_utf8_next_char (end);
          n++;
        }
      if (n < 3)
        break;
      func (search_gram_key (p, end - p), data);
    }
}

typedef struct
{
  SearchIndex *si;
  Entry       *e;
} GramOp;

static void
gram_add_cb (gpointer key,
             gpointer data)
{
  GramOp *op = data;
  Posting *posting = g_hash_table_lookup (op->si->grams, key);

  if (posting == NULL)
    {
      posting = posting_new ();
      g_hash_table_insert (op->si->grams, key, posting);
    }
  posting_append (posting, op->e->id);
  op->si->live++;
}

static void
gram_count_cb (gpointer key,
               gpointer data)
{
  (*(guint64 *) data)++;
}

/* Every posting made again from the texts: the stale ids are gone. */
static void
search_index_compact (SearchIndex *si)
{
  GHashTableIter iter;
  gpointer e, folded;

  g_hash_table_remove_all (si->grams);
  si->live = si->stale = 0;
  g_hash_table_iter_init (&iter, si->texts);
  while (g_hash_table_iter_next (&iter, &e, &folded))
    {
      GramOp op = { si, e };

      foreach_trigram (folded, gram_add_cb, &op);
    }
}

static void
search_index_add (SearchIndex *si,
                  Entry       *e)
{
  FieldVal fv;
  GramOp op = { si, e };
  char *folded;

  _net_coll_entry_field (e, si->cf, &fv);
  if (fv.missing || fv.type != NET_FIELD_STRING || fv.v.s == NULL)
    return;
  folded = _net_db_fold_text (fv.v.s);
  foreach_trigram (folded, gram_add_cb, &op);
  g_hash_table_insert (si->texts, e, folded);
}

/* The postings keep the ids of @e's old text (a candidate is checked
 * against the filter, and a gone id is skipped): they are only counted,
 * and made again once they are more than those of the texts. */
static void
search_index_remove (SearchIndex *si,
                     Entry       *e)
{
  const char *folded = g_hash_table_lookup (si->texts, e);

  if (folded == NULL)
    return;
  foreach_trigram (folded, gram_count_cb, &si->stale);
  g_hash_table_remove (si->texts, e);
  if (si->stale > si->live / 2 + 1024)
    search_index_compact (si);
}

/* Whether @text is ASCII and @folded its lower case (what
 * _net_db_fold_text() makes of it), without making it. */
static gboolean
search_text_is_folded (const char *text,
                       const char *folded)
{
  for (; *text != '\0'; text++, folded++)
    if ((guchar) *text >= 0x80 || g_ascii_tolower (*text) != *folded)
      return FALSE;
  return *folded == '\0';
}

/* @e changed: its text moves only when it is another text. */
static void
search_index_move (SearchIndex *si,
                   Entry       *e)
{
  const char *old = g_hash_table_lookup (si->texts, e);
  g_autofree char *folded = NULL;
  FieldVal fv;

  _net_coll_entry_field (e, si->cf, &fv);
  if (!fv.missing && fv.type == NET_FIELD_STRING && fv.v.s != NULL)
    {
      /* Most changes are of other fields: an ASCII text folds to its
       * lower case, so it is compared with the old one as it is. */
      if (old != NULL && search_text_is_folded (fv.v.s, old))
        return;
      folded = _net_db_fold_text (fv.v.s);
    }
  if (g_strcmp0 (old, folded) == 0)
    return;
  search_index_remove (si, e);
  search_index_add (si, e);
}

static void
search_indexes_move (NetCollection *self,
                     Entry         *e)
{
  GHashTableIter iter;
  gpointer si;

  if (G_LIKELY (self->search == NULL || g_hash_table_size (self->search) == 0))
    return;
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &si))
    search_index_move (si, e);
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

void
_net_coll_search_index_fill (SearchIndex   *si,
                   NetCollection *self)
{
  g_hash_table_remove_all (si->grams);
  g_hash_table_remove_all (si->texts);
  si->live = si->stale = 0;
  for (guint i = 0; i <= self->table.by_id.mask; i++)
    if (self->table.by_id.slots[i] != NULL)
      search_index_add (si, self->table.by_id.slots[i]);
}

/* The smallest posting a search index gives @c (ids, perhaps stale or
 * repeated: a superset of the matches), or NULL. */
static Posting *
search_candidates (NetCollection *self,
                   Cond          *c)
{
  SearchIndex *si;
  Posting *best = NULL;
  gboolean none = FALSE;
  const char *p;

  if (c->cf == NULL || (c->c->op != NET_FILTER_OP_CONTAINS && c->c->op != NET_FILTER_OP_PREFIX) ||
      c->c->folded == NULL || g_utf8_strlen (c->c->folded, -1) < 3 ||
      (si = g_hash_table_lookup (self->search, c->cf->name)) == NULL)
    return NULL;

  for (p = c->c->folded; *p != '\0' && !none; p = g_utf8_next_char (p))
    {
      const char *end = p;
      Posting *set;

      for (guint i = 0; i < 3 && *end != '\0'; i++)
        end = g_utf8_next_char (end);
      if (g_utf8_strlen (p, end - p) < 3)
        break;
      set = g_hash_table_lookup (si->grams, search_gram_key (p, end - p));
      if (set == NULL)
        none = TRUE;
      else if (best == NULL || set->len < best->len)
        best = set;
    }
  /* A trigram no record has: an empty set of candidates. */
  if (none)
    {
      static Posting empty = { 0, 0, 0, NULL };

      return &empty;
    }
  return best;
}

/* Compares @e in the order of the ordered index @idx (the field
 * ascending, ties by id) with a probe: @value, with @label as its id (0:
 * before the records of the value, G_MAXUINT64: after them). */
static int
probe_compare_entry (OrderIndex     *idx,
                     Entry          *e,
                     const FieldVal *value,
                     guint64         label)
{
  OrderKey *k = &g_array_index (idx->q.keys, OrderKey, 0);
  FieldVal fv;
  Slot scratch = { 0, };
  gboolean ok;
  int r;

  query_field (e, k->cf, k->special, &fv, &scratch);
  r = fv_compare (&fv, value, &ok);
  if (k->cf != NULL && _net_coll_type_is_pointer (k->cf->type))
    _net_coll_slot_clear (k->cf->type, &scratch);
  if (r == 0)
    r = e->id < label ? -1 : e->id > label;
  return r;
}

typedef struct
{
  OrderIndex     *idx;
  const FieldVal *value;
} ProbeCtx;

/* g_sequence_search()'s: a real node and a probe, an OrderNode without
 * an entry whose label is the probe's. */
static int
probe_compare (gconstpointer a,
               gconstpointer b,
               gpointer      data)
{
  ProbeCtx *ctx = data;
  const OrderNode *real = a, *probe = b;

  if (real->e == NULL)
    return -probe_compare_entry (ctx->idx, probe->e, ctx->value, real->label);
  return probe_compare_entry (ctx->idx, real->e, ctx->value, probe->label);
}

/* The position of the first record of @idx after the probe (@value,
 * @label). */
static guint
ordered_search (OrderIndex     *idx,
                const FieldVal *value,
                guint64         label)
{
  guint lo = 0, hi;

  if (idx->keyed == KEYED_NONE)
    {
      OrderNode probe = { NULL, label, FALSE, { 0, } };
      ProbeCtx ctx = { idx, value };

      return g_sequence_iter_get_position (g_sequence_search (idx->seq, &probe, probe_compare, &ctx));
    }
  /* Keyed: a binary search by position, comparing as the sorted index
   * would (its keys are in that order). */
  hi = _net_btree_size (idx->tree);
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      NetBTreeIter it;

      _net_btree_iter_nth (idx->tree, mid, &it);
      if (probe_compare_entry (idx, _net_btree_iter_get (&it)->value, value, label) > 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

/* The ordered index of @c's field and the range of it that holds every
 * match of @c, as positions [*lo, *hi); FALSE when none serves @c. */
static gboolean
ordered_range (NetCollection  *self,
               Cond           *c,
               OrderIndex    **out_idx,
               guint          *lo,
               guint          *hi)
{
  OrderIndex *idx;

  if (c->cf == NULL || c->c->op == NET_FILTER_OP_NE || c->c->op > NET_FILTER_OP_GE ||
      (idx = g_hash_table_lookup (self->ordered, c->cf->name)) == NULL)
    return FALSE;

  *out_idx = idx;
  *lo = 0;
  *hi = order_index_size (idx);
  switch (c->c->op)
    {
    case NET_FILTER_OP_EQ:
      *lo = ordered_search (idx, &c->operand, 0);
      *hi = ordered_search (idx, &c->operand, G_MAXUINT64);
      break;
    case NET_FILTER_OP_LT:
      *hi = ordered_search (idx, &c->operand, 0);
      break;
    case NET_FILTER_OP_LE:
      *hi = ordered_search (idx, &c->operand, G_MAXUINT64);
      break;
    case NET_FILTER_OP_GT:
      *lo = ordered_search (idx, &c->operand, G_MAXUINT64);
      break;
    case NET_FILTER_OP_GE:
      *lo = ordered_search (idx, &c->operand, 0);
      break;
    default:
      g_assert_not_reached ();
    }
  if (*hi < *lo)
    *hi = *lo;
  return TRUE;
}

struct _IndexPlan
{
  OrderIndex    *idx;    /* a range of an ordered index (positions), */
  guint          lo;
  guint          hi;
  Posting       *set;    /* or a posting of a search index (ids) */
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
      guint lo, hi;
      Posting *set;

      if (ordered_range (self, c, &idx, &lo, &hi))
        {
          guint size = hi - lo;

          if (plan->idx == NULL && plan->set == NULL ? TRUE : size < plan->size)
            {
              *plan = (IndexPlan) { idx, lo, hi, NULL, size };
            }
        }
      else if ((set = search_candidates (self, c)) != NULL)
        {
          guint size = set->len;

          if (plan->idx == NULL && plan->set == NULL ? TRUE : size < plan->size)
            *plan = (IndexPlan) { NULL, 0, 0, set, size };
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
      plan.lo = 0;
      plan.hi = order_index_size (idx);
    }

  /* The range is in the order asked: walk it. */
  if (plan.idx != NULL && (!ordered || plan_order_is_index (q, plan.idx, &desc)))
    {
      OrderCursor c = { 0, };
      WalkAhead ahead = { 0, };

      if (plan.hi > plan.lo)
        {
          order_cursor_at (plan.idx, desc ? plan.hi - 1 : plan.lo, &c);
          walk_ahead_init (&ahead, plan.idx, desc ? plan.hi - 1 : plan.lo, plan.hi - plan.lo, desc);
        }
      for (guint i = plan.lo; i < plan.hi; i++, order_cursor_step (&c, desc))
        {
          Entry *e = order_cursor_get (&c);

          walk_ahead_step (&ahead);
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
    {
      OrderCursor c = { 0, };

      if (plan.hi > plan.lo)
        order_cursor_at (plan.idx, plan.lo, &c);
      for (guint i = plan.lo; i < plan.hi; i++, order_cursor_step (&c, FALSE))
        {
          Entry *e = order_cursor_get (&c);

          if (_net_table_walk_matches (&self->table, w, e))
            g_ptr_array_add (matches, e);
        }
    }
  else
    for (guint i = 0; i < plan.set->len; i++)
      {
        Entry *e = _net_coll_lookup (self, posting_get (plan.set, i));

        if (e != NULL && _net_table_walk_matches (&self->table, w, e))
          g_ptr_array_add (matches, e);
      }
  if (q->keys->len > 0 && (ordered || plan.set != NULL))
    g_ptr_array_sort_with_data (matches, query_compare_cb, (gpointer) q);
  else if (ordered || plan.set != NULL)
    g_ptr_array_sort_with_data (matches, walk_order_compare, (gpointer) w);
  if (!ordered)
    skip = 0;
  /* A posting may name a record more than once: sorted (ties by id), its
   * repeats are neighbours. */
  if (plan.set != NULL && matches->len > 1)
    {
      guint n = 1;

      for (guint i = 1; i < matches->len; i++)
        if (g_ptr_array_index (matches, i) != g_ptr_array_index (matches, n - 1))
          matches->pdata[n++] = g_ptr_array_index (matches, i);
      g_ptr_array_set_size (matches, n);
    }
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
void
_net_coll_order_indexes_rebuild (NetCollection *self)
{
  GHashTableIter iter;
  gpointer idx;

  g_hash_table_iter_init (&iter, self->orders);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    {
      _net_coll_order_index_empty (idx);
      order_index_fill (idx, self, TRUE);
    }
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &idx))
    _net_coll_search_index_fill (idx, self);
}

/* Live queries ----------------------------------------------------------------------------- */

typedef struct
{
  NetCollection *self;
  Query          q;
  NetTableWalk   w;
  NetFilter     *filter;   /* a reference: the query points into it */
  OrderIndex    *order;    /* an order of fields: the keys */
  gboolean       reversed; /* @order backwards (order_reversed()) */
} Matcher;

static guint64
matcher_key (Matcher *m,
             Entry   *e)
{
  if (m->order != NULL)
    return m->reversed ? ~order_index_label (m->order, e) : order_index_label (m->order, e);
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
      /* Labels grow along the order: a sorted index's are unique, ties
       * included; a keyed index's are its keys, whose ties are by id in
       * the order's direction of ties, as the model breaks them. */
      m->order = _net_coll_order_index_get (m->self, &m->q);
      m->reversed = order_reversed (&m->q);
      /* The first live query of a sorted index (one
       * net_collection_add_index() built record by record, say) starts
       * from even gaps: no other query uses its labels yet. */
      if (m->order->watchers++ == 0 && m->order->keyed == KEYED_NONE)
        order_index_relabel (m->order);
      *desc = m->q.desc_ties;
    }
  return m;
}

static void
watch_matcher_free (gpointer data)
{
  Matcher *m = data;

  if (m->order != NULL)
    m->order->watchers--;
  g_clear_pointer (&m->order, _net_coll_order_index_unref);
  _net_coll_query_clear (&m->q);
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
  Entry *e = _net_coll_lookup ((NetCollection *) source, id);

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

const NetQueryFuncs _net_coll_query_funcs = {
  .item_type = watch_item_type,
  .filter_type = net_filter_get_type,
  .matcher_new = watch_matcher_new,
  .matcher_free = watch_matcher_free,
  .match = watch_match,
  .foreach_match = watch_foreach_match,
  .get_item = _net_table_watch_get_item,
  .get_window = _net_table_watch_get_window,
};
