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
void
_net_coll_query_field (Entry      *e,
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


Kind
_net_coll_kind_of (NetFieldType type)
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
int
_net_coll_fv_compare (const FieldVal *a,
                      const FieldVal *b,
                      gboolean       *ok)
{
  Kind ka = _net_coll_kind_of (a->type), kb = _net_coll_kind_of (b->type);

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

  _net_coll_query_field (e, c->cf, c->special, &fv, &scratch);

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
      cmp = _net_coll_fv_compare (&fv, &c->operand, &ok);
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

int
_net_coll_query_compare (const Query *q,
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
      _net_coll_query_field (a, k->cf, k->special, &fa, &sa);
      _net_coll_query_field (b, k->cf, k->special, &fb, &sb);
      r = _net_coll_fv_compare (&fa, &fb, &ok);
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
  return _net_coll_query_compare (data, *(Entry **) a, *(Entry **) b);
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
  if (_net_coll_order_indexes_walk (self, &q, &w, skip, func, data))
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

/* Indexes -------------------------------------------------------------------------- */

/*
 * net_collection_add_index().  An ordered index is an order index of one
 * key (the field ascending, ties by id) that the collection holds: a
 * condition EQ, LT, LE, GT or GE on the field is a range of it (found by
 * binary search), counted in O(log n) when it is the only condition, and
 * an order by the field walks it (backwards when descending).  A search
 * index (net-collection-search.c) gives a CONTAINS or PREFIX condition the
 * records of the needle's rarest trigram.  Every candidate is checked
 * against the whole filter; the indexes only narrow.
 */

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

  _net_coll_query_field (e, k->cf, k->special, &fv, &scratch);
  r = _net_coll_fv_compare (&fv, value, &ok);
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
  *hi = _net_coll_order_index_size (idx);
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
      else if ((set = _net_coll_search_candidates (self, c)) != NULL)
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
      plan.hi = _net_coll_order_index_size (idx);
    }

  /* The range is in the order asked: walk it. */
  if (plan.idx != NULL && (!ordered || plan_order_is_index (q, plan.idx, &desc)))
    {
      OrderCursor c = { 0, };
      WalkAhead ahead = { 0, };

      if (plan.hi > plan.lo)
        {
          _net_coll_order_cursor_at (plan.idx, desc ? plan.hi - 1 : plan.lo, &c);
          _net_coll_walk_ahead_init (&ahead, plan.idx, desc ? plan.hi - 1 : plan.lo, plan.hi - plan.lo, desc);
        }
      for (guint i = plan.lo; i < plan.hi; i++, _net_coll_order_cursor_step (&c, desc))
        {
          Entry *e = _net_coll_order_cursor_get (&c);

          _net_coll_walk_ahead_step (&ahead);
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
        _net_coll_order_cursor_at (plan.idx, plan.lo, &c);
      for (guint i = plan.lo; i < plan.hi; i++, _net_coll_order_cursor_step (&c, FALSE))
        {
          Entry *e = _net_coll_order_cursor_get (&c);

          if (_net_table_walk_matches (&self->table, w, e))
            g_ptr_array_add (matches, e);
        }
    }
  else
    {
      PostingIter it;
      guint64 id;

      _net_coll_posting_iter_init (&it, plan.set);
      while (_net_coll_posting_iter_next (&it, &id))
        {
          Entry *e = _net_coll_lookup (self, id);

          if (e != NULL && _net_table_walk_matches (&self->table, w, e))
            g_ptr_array_add (matches, e);
        }
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
  if (c->cf == NULL || c->cf->pspec == NULL || _net_coll_kind_of (c->cf->type) != _net_coll_kind_of (c->operand.type) ||
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
      _net_coll_order_index_fill (idx, self, TRUE);
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
  gboolean       reversed; /* @order backwards (_net_coll_order_reversed()) */
} Matcher;

static guint64
matcher_key (Matcher *m,
             Entry   *e)
{
  if (m->order != NULL)
    return m->reversed ? ~_net_coll_order_index_label (m->order, e) : _net_coll_order_index_label (m->order, e);
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
      m->reversed = _net_coll_order_reversed (&m->q);
      /* The first live query of a sorted index (one
       * net_collection_add_index() built record by record, say) starts
       * from even gaps: no other query uses its labels yet. */
      if (m->order->watchers++ == 0 && m->order->keyed == KEYED_NONE)
        _net_coll_order_index_relabel (m->order);
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
