/* net-btree.c: a counted B+tree of (key, value) items
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-btree-private.h"

/*
 * Leaves hold up to LEAF_CAP items and are chained in order.  An inner
 * node holds up to INNER_CAP children; for each child it keeps the number
 * of items below it and a separator: the (key, id) of the child's first
 * item when the separator was set.  Separators may go stale when items
 * are removed, but they always satisfy
 *
 *   every item of child i-1  <  low[i]  <=  every item of child i
 *
 * which is all a descent needs; they are pairs, not items, so a stale one
 * never points at a freed value.  low[0] is only meaningful once the node
 * has a parent (it is then that parent's separator for the node).
 *
 * A split in the middle of a node halves it; a split caused by an append
 * after the last item keeps the full node and starts a new one, so a tree
 * built in order has full leaves.  Removing items merges a node that fell
 * below a quarter with a neighbour when the two fit in three quarters.
 *
 * A derived tree's leaves hold the values only and read an item's key
 * through its value; its inner nodes are the same, with their separator
 * keys copied (a separator must outlive the value it was taken from).
 * The models' indexes are such trees: their items' keys are fields of
 * their entries, and a leaf of values is half the memory.
 */

#define LEAF_CAP  64
#define INNER_CAP 64
/* A derived tree's leaves hold values only, about as many as a stored
 * leaf holds items (half its bytes): 128 (the same bytes) saved 1 byte a
 * task more, but a search of a leaf reads a value (an entry) a probe, and
 * one probe more is one more miss in a large table.  61, not 64: a leaf
 * is then 512 bytes, a block of a NetArena (NET_ARENA_MAX_SIZE). */
#define DLEAF_CAP 61

typedef struct
{
  guint16 n;
  guint8  is_leaf;
  guint8  derived;      /* a leaf of values only */
} Node;

struct _NetBTreeLeaf
{
  Node          hdr;
  NetBTreeLeaf *prev;
  NetBTreeLeaf *next;
  /* A stored-key tree's leaf holds LEAF_CAP items here, a derived
   * tree's DLEAF_CAP values (values[]); each is allocated to fit. */
  gpointer      values[];
};

static inline NetBTreeItem *
leaf_items (const NetBTreeLeaf *l)
{
  return (NetBTreeItem *) l->values;
}

typedef struct
{
  guint64 key;
  guint64 id;
} Sep;

typedef struct
{
  Node    hdr;
  guint32 counts[INNER_CAP];
  Node   *child[INNER_CAP];
  Sep     low[INNER_CAP];
} Inner;

struct _NetBTree
{
  Node             *root;
  NetBTreeLeaf     *first;
  NetBTreeLeaf     *last;
  guint             size;
  gboolean          derived;
  guint             leaf_cap;
  gsize             key_offset;  /* derived: where a value keeps its key */
  guint64           key_xor;     /* derived: the sign bit of a signed key */
  NetBTreeTiebreak  tiebreak;
  NetArena         *arena;       /* where its leaves come from, or NULL: malloc */
};

/*
 * The leaves of the two layouts: the functions below take @d, the
 * tree's layout, and are inlined into callers that pass a constant where
 * a loop reads many items (leaf_lower), so that each layout gets its own
 * loop; elsewhere @d is t->derived, a well-predicted branch.
 */

static inline guint64
derived_key (const NetBTree *t,
             gconstpointer   value)
{
  return *(const guint64 *) ((const guint8 *) value + t->key_offset) ^ t->key_xor;
}

static inline gpointer
leaf_value (const NetBTreeLeaf *l,
            guint               i,
            gboolean            d)
{
  return d ? l->values[i] : leaf_items (l)[i].value;
}

static inline guint64
leaf_key (const NetBTree     *t,
          const NetBTreeLeaf *l,
          guint               i,
          gboolean            d)
{
  return d ? derived_key (t, l->values[i]) : leaf_items (l)[i].key;
}

static inline gsize
slot_size (gboolean d)
{
  return d ? sizeof (gpointer) : sizeof (NetBTreeItem);
}

static inline gpointer
leaf_slot (NetBTreeLeaf *l,
           guint         i,
           gboolean      d)
{
  return d ? (gpointer) &l->values[i] : (gpointer) &leaf_items (l)[i];
}

/* Moves @n slots of @l from @from to @to (the ranges may overlap). */
static inline void
leaf_move (NetBTreeLeaf *l,
           guint         to,
           guint         from,
           guint         n,
           gboolean      d)
{
  memmove (leaf_slot (l, to, d), leaf_slot (l, from, d), n * slot_size (d));
}

static inline void
leaf_copy (NetBTreeLeaf *dst,
           guint         to,
           NetBTreeLeaf *src,
           guint         from,
           guint         n,
           gboolean      d)
{
  memcpy (leaf_slot (dst, to, d), leaf_slot (src, from, d), n * slot_size (d));
}

static inline void
leaf_put (NetBTreeLeaf *l,
          guint         i,
          guint64       key,
          gpointer      value,
          gboolean      d)
{
  if (d)
    l->values[i] = value;
  else
    leaf_items (l)[i] = (NetBTreeItem) { key, value };
}

/* (key, id) against item @i of @l. */
static inline int
cmp_at (NetBTree           *t,
        guint64             key,
        guint64             id,
        const NetBTreeLeaf *l,
        guint               i,
        gboolean            d)
{
  guint64 k = leaf_key (t, l, i, d), other;

  if (key != k)
    return key < k ? -1 : 1;
  other = t->tiebreak (leaf_value (l, i, d));
  return (id > other) - (id < other);
}

/* Item @i of @l is @value under @key. */
static inline gboolean
leaf_holds (NetBTree           *t,
            const NetBTreeLeaf *l,
            guint               i,
            guint64             key,
            gpointer            value)
{
  if (i >= l->hdr.n)
    return FALSE;
  if (t->derived)
    return l->values[i] == value && derived_key (t, value) == key;
  return leaf_items (l)[i].value == value && leaf_items (l)[i].key == key;
}

static inline int
cmp_sep (guint64    key,
         guint64    id,
         const Sep *s)
{
  if (key != s->key)
    return key < s->key ? -1 : 1;
  return (id > s->id) - (id < s->id);
}

static inline gsize
leaf_size (const NetBTree *t)
{
  return sizeof (NetBTreeLeaf) + t->leaf_cap * slot_size (t->derived);
}

static NetBTreeLeaf *
leaf_new (NetBTree *t)
{
  /* A derived leaf is allocated without the room it does not use. */
  gsize size = leaf_size (t);
  NetBTreeLeaf *l = t->arena != NULL ? _net_arena_alloc (t->arena, size) : g_malloc (size);

  l->hdr.n = 0;
  l->hdr.is_leaf = TRUE;
  l->hdr.derived = t->derived;
  l->prev = l->next = NULL;
  return l;
}

static Inner *
inner_new (void)
{
  Inner *in = g_new (Inner, 1);

  in->hdr.n = 0;
  in->hdr.is_leaf = FALSE;
  in->hdr.derived = FALSE;
  return in;
}

/* Frees @node alone (a leaf, or an inner node without its children). */
static void
node_dispose (NetBTree *t,
              Node     *node)
{
  if (node->is_leaf && t->arena != NULL)
    _net_arena_free (t->arena, node, leaf_size (t));
  else
    g_free (node);
}

static guint
node_count (Node *node)
{
  Inner *in = (Inner *) node;
  guint sum = 0;

  if (node->is_leaf)
    return node->n;
  for (guint i = 0; i < in->hdr.n; i++)
    sum += in->counts[i];
  return sum;
}

/* The child of @in whose range holds (key, id). */
static inline guint
inner_find (Inner   *in,
            guint64  key,
            guint64  id)
{
  guint lo = 1, hi = in->hdr.n;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (cmp_sep (key, id, &in->low[mid]) < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo - 1;
}

/* The first index of @l whose item is not before (key, id). */
G_ALWAYS_INLINE static inline guint
leaf_lower_in (NetBTree     *t,
               NetBTreeLeaf *l,
               guint64       key,
               guint64       id,
               gboolean      d)
{
  guint lo = 0, hi = l->hdr.n;

  /* Appends are the common case. */
  if (hi > 0 && cmp_at (t, key, id, l, hi - 1, d) > 0)
    return hi;

  while (lo < hi)
    {
      guint mid = (lo + hi) / 2;

      if (cmp_at (t, key, id, l, mid, d) > 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

/* Inlined: a call here cost more than the search of a short leaf. */
G_ALWAYS_INLINE static inline guint
leaf_lower (NetBTree     *t,
            NetBTreeLeaf *l,
            guint64       key,
            guint64       id)
{
  return t->derived ? leaf_lower_in (t, l, key, id, TRUE) : leaf_lower_in (t, l, key, id, FALSE);
}

static void
leaf_unlink (NetBTree     *t,
             NetBTreeLeaf *l)
{
  if (l->prev != NULL)
    l->prev->next = l->next;
  else
    t->first = l->next;
  if (l->next != NULL)
    l->next->prev = l->prev;
  else
    t->last = l->prev;
}

static void
node_free (NetBTree *t,
           Node     *node)
{
  if (!node->is_leaf)
    {
      Inner *in = (Inner *) node;

      for (guint i = 0; i < in->hdr.n; i++)
        node_free (t, in->child[i]);
    }
  node_dispose (t, node);
}

NetBTree *
_net_btree_new (NetBTreeTiebreak tiebreak)
{
  NetBTree *t;

  g_return_val_if_fail (tiebreak != NULL, NULL);

  t = g_new0 (NetBTree, 1);
  t->tiebreak = tiebreak;
  t->leaf_cap = LEAF_CAP;
  t->first = t->last = leaf_new (t);
  t->root = (Node *) t->first;
  return t;
}

NetBTree *
_net_btree_new_derived (gsize            key_offset,
                        gboolean         key_signed,
                        NetBTreeTiebreak tiebreak)
{
  NetBTree *t;

  g_return_val_if_fail (tiebreak != NULL, NULL);
  g_return_val_if_fail (key_offset % sizeof (guint64) == 0, NULL);

  t = g_new0 (NetBTree, 1);
  t->tiebreak = tiebreak;
  t->derived = TRUE;
  t->leaf_cap = DLEAF_CAP;
  t->key_offset = key_offset;
  t->key_xor = key_signed ? _net_btree_key_from_int (0) : 0;
  t->first = t->last = leaf_new (t);
  t->root = (Node *) t->first;
  return t;
}

gboolean
_net_btree_is_derived (NetBTree *t)
{
  g_return_val_if_fail (t != NULL, FALSE);

  return t->derived;
}

void
_net_btree_set_leaf_arena (NetBTree *t,
                           NetArena *arena)
{
  g_return_if_fail (t != NULL);
  g_return_if_fail (t->size == 0 && t->root == (Node *) t->first);

  node_dispose (t, t->root);
  t->arena = arena;
  t->first = t->last = leaf_new (t);
  t->root = (Node *) t->first;
}

void
_net_btree_clear (NetBTree *t)
{
  g_return_if_fail (t != NULL);

  node_free (t, t->root);
  t->first = t->last = leaf_new (t);
  t->root = (Node *) t->first;
  t->size = 0;
}

void
_net_btree_free (NetBTree *t)
{
  if (t == NULL)
    return;
  node_free (t, t->root);
  g_free (t);
}

guint
_net_btree_size (NetBTree *t)
{
  g_return_val_if_fail (t != NULL, 0);

  return t->size;
}

/* Insert ------------------------------------------------------------------- */

/* Returns the new right sibling when @node had to split, with its
 * separator in @sep.  @rightmost: @node is the last node of its level. */
static Node *
insert_rec (NetBTree *t,
            Node     *node,
            guint64   key,
            guint64   id,
            gpointer  value,
            gboolean  rightmost,
            Sep      *sep)
{
  if (node->is_leaf)
    {
      NetBTreeLeaf *l = (NetBTreeLeaf *) node, *r, *dst;
      gboolean d = t->derived;
      guint cap = t->leaf_cap;
      guint pos = leaf_lower (t, l, key, id);
      guint keep;

      if (l->hdr.n < cap)
        {
          leaf_move (l, pos + 1, pos, l->hdr.n - pos, d);
          leaf_put (l, pos, key, value, d);
          l->hdr.n++;
          return NULL;
        }

      keep = rightmost && pos == cap ? cap : cap / 2;
      r = leaf_new (t);
      r->hdr.n = cap - keep;
      leaf_copy (r, 0, l, keep, r->hdr.n, d);
      l->hdr.n = keep;
      r->prev = l;
      r->next = l->next;
      if (l->next != NULL)
        l->next->prev = r;
      else
        t->last = r;
      l->next = r;

      if (pos < keep)
        dst = l;
      else
        {
          dst = r;
          pos -= keep;
        }
      leaf_move (dst, pos + 1, pos, dst->hdr.n - pos, d);
      leaf_put (dst, pos, key, value, d);
      dst->hdr.n++;

      sep->key = leaf_key (t, r, 0, d);
      sep->id = t->tiebreak (leaf_value (r, 0, d));
      return (Node *) r;
    }
  else
    {
      Inner *in = (Inner *) node, *ri = NULL, *dst;
      guint i = inner_find (in, key, id);
      guint keep, at;
      Node *r;
      Sep s;

      r = insert_rec (t, in->child[i], key, id, value, rightmost && i + 1 == in->hdr.n, &s);
      if (r == NULL)
        {
          in->counts[i]++;
          return NULL;
        }
      in->counts[i] = node_count (in->child[i]);

      at = i + 1;
      if (in->hdr.n < INNER_CAP)
        dst = in;
      else
        {
          keep = rightmost && at == INNER_CAP ? INNER_CAP : INNER_CAP / 2;
          ri = inner_new ();
          ri->hdr.n = INNER_CAP - keep;
          memcpy (ri->counts, &in->counts[keep], ri->hdr.n * sizeof (guint32));
          memcpy (ri->child, &in->child[keep], ri->hdr.n * sizeof (Node *));
          memcpy (ri->low, &in->low[keep], ri->hdr.n * sizeof (Sep));
          in->hdr.n = keep;
          if (at < keep)
            dst = in;
          else
            {
              dst = ri;
              at -= keep;
            }
        }

      memmove (&dst->counts[at + 1], &dst->counts[at], (dst->hdr.n - at) * sizeof (guint32));
      memmove (&dst->child[at + 1], &dst->child[at], (dst->hdr.n - at) * sizeof (Node *));
      memmove (&dst->low[at + 1], &dst->low[at], (dst->hdr.n - at) * sizeof (Sep));
      dst->counts[at] = node_count (r);
      dst->child[at] = r;
      dst->low[at] = s;
      dst->hdr.n++;

      if (ri == NULL)
        return NULL;
      *sep = ri->low[0];
      return (Node *) ri;
    }
}

void
_net_btree_insert (NetBTree *t,
                   guint64   key,
                   gpointer  value)
{
  NetBTreeLeaf *last;
  guint64 id;
  Node *r;
  Sep s;

  g_return_if_fail (t != NULL);

  /* An append after the last item into a last leaf with room (a tree built
   * in order, a fill in order): no descent, only the counts of the
   * rightmost path move.  The separators do not: they are the first
   * items of their nodes.  (A key above the last one needs no
   * tiebreak.) */
  last = t->last;
  if (last != NULL && last->hdr.n > 0 && last->hdr.n < t->leaf_cap &&
      (key > leaf_key (t, last, last->hdr.n - 1, t->derived) ||
       cmp_at (t, key, t->tiebreak (value), last, last->hdr.n - 1, t->derived) > 0))
    {
      leaf_put (last, last->hdr.n++, key, value, t->derived);
      for (Node *node = t->root; !node->is_leaf; )
        {
          Inner *in = (Inner *) node;

          in->counts[in->hdr.n - 1]++;
          node = in->child[in->hdr.n - 1];
        }
      t->size++;
      return;
    }

  id = t->tiebreak (value);
  r = insert_rec (t, t->root, key, id, value, TRUE, &s);
  if (r != NULL)
    {
      Inner *root = inner_new ();

      root->hdr.n = 2;
      root->child[0] = t->root;
      root->child[1] = r;
      root->counts[0] = node_count (t->root);
      root->counts[1] = node_count (r);
      root->low[0] = (Sep) { 0, 0 };
      root->low[1] = s;
      t->root = (Node *) root;
    }
  t->size++;
}

/* Builds the level above @n nodes @level (with their separators @lows and
 * counts @counts), in place; returns the number of nodes made. */
static guint
build_level (Node    **level,
             Sep      *lows,
             guint32  *counts,
             guint     n)
{
  guint n_up = (n + INNER_CAP - 1) / INNER_CAP;

  /* Node j of the level above is made of nodes j × INNER_CAP and after,
   * which are read before slot j is written (j <= j × INNER_CAP). */
  for (guint j = 0; j < n_up; j++)
    {
      guint first = j * INNER_CAP;
      Inner *in = inner_new ();
      guint32 sum = 0;

      in->hdr.n = MIN (INNER_CAP, n - first);
      memcpy (in->child, &level[first], in->hdr.n * sizeof (Node *));
      memcpy (in->counts, &counts[first], in->hdr.n * sizeof (guint32));
      memcpy (in->low, &lows[first], in->hdr.n * sizeof (Sep));
      for (guint i = 0; i < in->hdr.n; i++)
        sum += in->counts[i];
      level[j] = (Node *) in;
      lows[j] = in->low[0];
      counts[j] = sum;
    }
  return n_up;
}

void
_net_btree_build (NetBTree           *t,
                  const NetBTreeItem *items,
                  guint               n)
{
  guint cap, n_leaves;
  g_autofree Node **level = NULL;
  g_autofree Sep *lows = NULL;
  g_autofree guint32 *counts = NULL;
  NetBTreeLeaf *prev = NULL;

  g_return_if_fail (t != NULL);
  g_return_if_fail (t->size == 0);

  if (n == 0)
    return;

  if (t->derived)
    for (guint i = 0; i < n; i++)
      g_return_if_fail (items[i].key == derived_key (t, items[i].value));

  cap = t->leaf_cap;
  n_leaves = (n + cap - 1) / cap;

  /* Full leaves, chained in order, then each level above them full, as
   * appends in order would leave them but without a descent an item. */
  node_free (t, t->root);
  level = g_new (Node *, n_leaves);
  lows = g_new (Sep, n_leaves);
  counts = g_new (guint32, n_leaves);
  for (guint i = 0; i < n_leaves; i++)
    {
      NetBTreeLeaf *l = leaf_new (t);
      guint first = i * cap;

      l->hdr.n = MIN (cap, n - first);
      if (t->derived)
        for (guint j = 0; j < l->hdr.n; j++)
          l->values[j] = items[first + j].value;
      else
        memcpy (leaf_items (l), &items[first], l->hdr.n * sizeof (NetBTreeItem));
      l->prev = prev;
      if (prev != NULL)
        prev->next = l;
      else
        t->first = l;
      prev = l;
      level[i] = (Node *) l;
      lows[i] = (Sep) { items[first].key, t->tiebreak (items[first].value) };
      counts[i] = l->hdr.n;
    }
  t->last = prev;

  for (guint n_level = n_leaves; n_level > 1; )
    n_level = build_level (level, lows, counts, n_level);
  t->root = level[0];
  t->size = n;
}

/* Remove ------------------------------------------------------------------- */

static void
inner_delete_at (Inner *in,
                 guint  i)
{
  guint tail = in->hdr.n - i - 1;

  memmove (&in->counts[i], &in->counts[i + 1], tail * sizeof (guint32));
  memmove (&in->child[i], &in->child[i + 1], tail * sizeof (Node *));
  memmove (&in->low[i], &in->low[i + 1], tail * sizeof (Sep));
  in->hdr.n--;
}

/* Merges child @i + 1 of @in into child @i when they fit. */
static void
maybe_merge (NetBTree *t,
             Inner    *in,
             guint     i)
{
  Node *a = in->child[i], *b = in->child[i + 1];

  if (a->is_leaf)
    {
      NetBTreeLeaf *la = (NetBTreeLeaf *) a, *lb = (NetBTreeLeaf *) b;

      if (la->hdr.n + lb->hdr.n > t->leaf_cap * 3 / 4)
        return;
      leaf_copy (la, la->hdr.n, lb, 0, lb->hdr.n, t->derived);
      la->hdr.n += lb->hdr.n;
      leaf_unlink (t, lb);
    }
  else
    {
      Inner *ia = (Inner *) a, *ib = (Inner *) b;

      if (ia->hdr.n + ib->hdr.n > INNER_CAP * 3 / 4)
        return;
      /* b's own low[0] may never have been set; its parent's is right. */
      ib->low[0] = in->low[i + 1];
      memcpy (&ia->counts[ia->hdr.n], ib->counts, ib->hdr.n * sizeof (guint32));
      memcpy (&ia->child[ia->hdr.n], ib->child, ib->hdr.n * sizeof (Node *));
      memcpy (&ia->low[ia->hdr.n], ib->low, ib->hdr.n * sizeof (Sep));
      ia->hdr.n += ib->hdr.n;
      ib->hdr.n = 0;
    }

  in->counts[i] += in->counts[i + 1];
  inner_delete_at (in, i + 1);
  node_dispose (t, b);
}

static gboolean
remove_rec (NetBTree *t,
            Node     *node,
            guint64   key,
            guint64   id,
            gpointer  value)
{
  if (node->is_leaf)
    {
      NetBTreeLeaf *l = (NetBTreeLeaf *) node;
      guint pos = leaf_lower (t, l, key, id);

      if (!leaf_holds (t, l, pos, key, value))
        return FALSE;
      leaf_move (l, pos, pos + 1, l->hdr.n - pos - 1, t->derived);
      l->hdr.n--;
      return TRUE;
    }
  else
    {
      Inner *in = (Inner *) node;
      guint i = inner_find (in, key, id);
      Node *child = in->child[i];

      if (!remove_rec (t, child, key, id, value))
        return FALSE;
      in->counts[i]--;

      if (child->n == 0)
        {
          if (child->is_leaf)
            leaf_unlink (t, (NetBTreeLeaf *) child);
          node_dispose (t, child);
          inner_delete_at (in, i);
        }
      else if (child->n < (child->is_leaf ? t->leaf_cap : INNER_CAP) / 4 && in->hdr.n > 1)
        {
          if (i + 1 < in->hdr.n)
            maybe_merge (t, in, i);
          else
            maybe_merge (t, in, i - 1);
        }
      return TRUE;
    }
}

gboolean
_net_btree_remove (NetBTree *t,
                   guint64   key,
                   gpointer  value)
{
  NetBTreeLeaf *last;
  guint64 id;

  g_return_val_if_fail (t != NULL, FALSE);

  id = t->tiebreak (value);

  /* An item of the last leaf (a change soon after an append, as a task's
   * completion moves it between partitions), when the leaf is left with
   * a quarter or more, or with too many to merge with its previous one
   * (its left sibling, if it has one): no descent, only the counts of the
   * rightmost path move.  An item at or after the leaf's first is in no
   * other leaf. */
  last = t->last;
  if (last != NULL && last->prev != NULL &&
      (last->hdr.n > t->leaf_cap / 4 ||
       (last->hdr.n > 1 && last->prev->hdr.n + last->hdr.n - 1u > t->leaf_cap * 3 / 4)) &&
      cmp_at (t, key, id, last, 0, t->derived) >= 0)
    {
      /* The last item itself (a change right after its append) is found
       * without a search. */
      guint pos = leaf_value (last, last->hdr.n - 1, t->derived) == value
                  ? last->hdr.n - 1u : leaf_lower (t, last, key, id);

      if (!leaf_holds (t, last, pos, key, value))
        return FALSE;
      leaf_move (last, pos, pos + 1, last->hdr.n - pos - 1, t->derived);
      last->hdr.n--;
      for (Node *node = t->root; !node->is_leaf; )
        {
          Inner *in = (Inner *) node;

          in->counts[in->hdr.n - 1]--;
          node = in->child[in->hdr.n - 1];
        }
      t->size--;
      return TRUE;
    }

  if (!remove_rec (t, t->root, key, id, value))
    return FALSE;
  t->size--;

  while (!t->root->is_leaf && t->root->n <= 1)
    {
      Inner *old = (Inner *) t->root;

      if (old->hdr.n == 1)
        t->root = old->child[0];
      else
        t->root = (Node *) (t->first = t->last = leaf_new (t));
      g_free (old);
    }
  return TRUE;
}

/* Positions ------------------------------------------------------------------ */

static NetBTreeLeaf *
descend (NetBTree *t,
         guint64   key,
         guint64   id,
         guint    *before)
{
  Node *node = t->root;
  guint pos = 0;

  while (!node->is_leaf)
    {
      Inner *in = (Inner *) node;
      guint i = inner_find (in, key, id);

      for (guint j = 0; j < i; j++)
        pos += in->counts[j];
      node = in->child[i];
    }
  *before = pos;
  return (NetBTreeLeaf *) node;
}

gint64
_net_btree_position (NetBTree *t,
                     guint64   key,
                     gpointer  value)
{
  guint64 id;
  NetBTreeLeaf *l;
  guint before, pos;

  g_return_val_if_fail (t != NULL, -1);

  id = t->tiebreak (value);
  l = descend (t, key, id, &before);
  pos = leaf_lower (t, l, key, id);
  if (leaf_holds (t, l, pos, key, value))
    return (gint64) before + pos;
  return -1;
}

guint
_net_btree_lower_bound (NetBTree *t,
                        guint64   key,
                        guint64   id)
{
  NetBTreeLeaf *l;
  guint before;

  g_return_val_if_fail (t != NULL, 0);

  l = descend (t, key, id, &before);
  return before + leaf_lower (t, l, key, id);
}

gboolean
_net_btree_iter_nth (NetBTree     *t,
                     guint         position,
                     NetBTreeIter *iter)
{
  Node *node;

  g_return_val_if_fail (t != NULL, FALSE);
  g_return_val_if_fail (iter != NULL, FALSE);

  iter->leaf = NULL;
  iter->index = 0;
  if (position >= t->size)
    return FALSE;

  node = t->root;
  while (!node->is_leaf)
    {
      Inner *in = (Inner *) node;
      guint i = 0;

      while (position >= in->counts[i])
        position -= in->counts[i++];
      node = in->child[i];
    }
  iter->leaf = (NetBTreeLeaf *) node;
  iter->index = position;
  return TRUE;
}

gboolean
_net_btree_iter_first (NetBTree     *t,
                       NetBTreeIter *iter)
{
  g_return_val_if_fail (t != NULL, FALSE);

  iter->leaf = t->size > 0 ? t->first : NULL;
  iter->index = 0;
  return iter->leaf != NULL;
}

gboolean
_net_btree_iter_last (NetBTree     *t,
                      NetBTreeIter *iter)
{
  g_return_val_if_fail (t != NULL, FALSE);

  iter->leaf = t->size > 0 ? t->last : NULL;
  iter->index = iter->leaf != NULL ? iter->leaf->hdr.n - 1 : 0;
  return iter->leaf != NULL;
}

gboolean
_net_btree_iter_next (NetBTreeIter *iter)
{
  if (iter->leaf == NULL)
    return FALSE;
  if (++iter->index < iter->leaf->hdr.n)
    return TRUE;
  iter->leaf = iter->leaf->next;
  iter->index = 0;
  return iter->leaf != NULL;
}

gboolean
_net_btree_iter_prev (NetBTreeIter *iter)
{
  if (iter->leaf == NULL)
    return FALSE;
  if (iter->index > 0)
    {
      iter->index--;
      return TRUE;
    }
  iter->leaf = iter->leaf->prev;
  iter->index = iter->leaf != NULL ? iter->leaf->hdr.n - 1 : 0;
  return iter->leaf != NULL;
}

NetBTreeItem *
_net_btree_iter_get (NetBTreeIter *iter)
{
  g_return_val_if_fail (iter != NULL && iter->leaf != NULL, NULL);
  g_return_val_if_fail (!iter->leaf->hdr.derived, NULL);

  return &leaf_items (iter->leaf)[iter->index];
}

gpointer
_net_btree_iter_value (NetBTreeIter *iter)
{
  g_return_val_if_fail (iter != NULL && iter->leaf != NULL, NULL);

  return leaf_value (iter->leaf, iter->index, iter->leaf->hdr.derived);
}

guint
_net_btree_iter_run (NetBTreeIter        *iter,
                     gboolean             desc,
                     const NetBTreeItem **run)
{
  g_return_val_if_fail (iter != NULL && iter->leaf != NULL, 0);
  g_return_val_if_fail (!iter->leaf->hdr.derived, 0);

  *run = &leaf_items (iter->leaf)[iter->index];
  return desc ? iter->index + 1 : iter->leaf->hdr.n - iter->index;
}

guint
_net_btree_iter_run_values (NetBTreeIter    *iter,
                            gboolean         desc,
                            gpointer const **run)
{
  g_return_val_if_fail (iter != NULL && iter->leaf != NULL, 0);
  g_return_val_if_fail (iter->leaf->hdr.derived, 0);

  *run = &iter->leaf->values[iter->index];
  return desc ? iter->index + 1 : iter->leaf->hdr.n - iter->index;
}

gboolean
_net_btree_iter_next_leaf (NetBTreeIter *iter,
                           gboolean      desc)
{
  if (iter->leaf == NULL)
    return FALSE;
  iter->leaf = desc ? iter->leaf->prev : iter->leaf->next;
  iter->index = iter->leaf != NULL && desc ? iter->leaf->hdr.n - 1 : 0;
  return iter->leaf != NULL;
}

/* Checks --------------------------------------------------------------------- */

/* Checks @node and returns its item count; @lo is the separator every
 * item must reach (NULL: unbounded). */
static guint
check_rec (NetBTree      *t,
           Node          *node,
           const Sep     *lo,
           const Sep     *hi,
           NetBTreeLeaf **expect_leaf,
           guint          depth,
           guint         *leaf_depth)
{
  if (node->is_leaf)
    {
      NetBTreeLeaf *l = (NetBTreeLeaf *) node;

      g_assert_true (l == *expect_leaf);
      g_assert_true (l->hdr.is_leaf);
      g_assert_cmpuint (l->hdr.derived, ==, t->derived);
      g_assert_cmpuint (l->hdr.n, <=, t->leaf_cap);
      g_assert_true (l->hdr.n > 0 || (Node *) l == t->root);
      if (*leaf_depth == G_MAXUINT)
        *leaf_depth = depth;
      g_assert_cmpuint (*leaf_depth, ==, depth);
      for (guint i = 0; i < l->hdr.n; i++)
        {
          guint64 key = leaf_key (t, l, i, t->derived);
          guint64 id = t->tiebreak (leaf_value (l, i, t->derived));

          if (lo != NULL)
            g_assert_cmpint (cmp_sep (key, id, lo), >=, 0);
          if (hi != NULL)
            g_assert_cmpint (cmp_sep (key, id, hi), <, 0);
          if (i > 0)
            g_assert_cmpint (cmp_at (t, key, id, l, i - 1, t->derived), >, 0);
        }
      *expect_leaf = l->next;
      if (l->next != NULL)
        g_assert_true (l->next->prev == l);
      return l->hdr.n;
    }
  else
    {
      Inner *in = (Inner *) node;
      guint sum = 0;

      g_assert_false (in->hdr.is_leaf);
      g_assert_cmpuint (in->hdr.n, >, 0);
      g_assert_cmpuint (in->hdr.n, <=, INNER_CAP);
      for (guint i = 0; i < in->hdr.n; i++)
        {
          const Sep *clo = i == 0 ? lo : &in->low[i];
          const Sep *chi = i + 1 < in->hdr.n ? &in->low[i + 1] : hi;
          guint n = check_rec (t, in->child[i], clo, chi, expect_leaf, depth + 1, leaf_depth);

          g_assert_cmpuint (n, ==, in->counts[i]);
          g_assert_cmpuint (n, >, 0);
          sum += n;
        }
      return sum;
    }
}

void
_net_btree_check (NetBTree *t)
{
  NetBTreeLeaf *expect = t->first;
  guint leaf_depth = G_MAXUINT;

  g_assert_null (t->first->prev);
  g_assert_cmpuint (check_rec (t, t->root, NULL, NULL, &expect, 0, &leaf_depth), ==, t->size);
  g_assert_null (expect);
}
