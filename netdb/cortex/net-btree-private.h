/* net-btree-private.h: a counted B+tree of (key, value) items
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "net-arena-private.h"

G_BEGIN_DECLS

/*
 * NetBTree keeps items ordered by (key, tiebreak (value)) where the
 * tiebreak is a u64 derived from the value (an item id); no two items of
 * a tree may have the same pair.  Items are 16 bytes in leaves of 64, and
 * inner nodes count the items below each child, so that finding the n-th
 * item and the position of an item are O(log n) as well as insert and
 * remove.  Appending after the last item fills leaves completely.
 *
 * The tree does not own its values; a value must stay valid (its
 * tiebreak readable) while it is in the tree.
 *
 * Signed keys (timestamps) keep their order when passed through
 * _net_btree_key_from_int().
 *
 * A derived tree (_net_btree_new_derived()) reads each item's key from
 * its value, a u64 at a fixed offset, so that its leaves hold the values
 * only: half the bytes an item.  The key of a value must not change
 * while the value is in the tree (take it out first), and the keys
 * passed to insert, build, remove and position must be the values' own.
 * Its iters give values (_net_btree_iter_value(),
 * _net_btree_iter_run_values()), not items.
 */

typedef struct _NetBTree     NetBTree;
typedef struct _NetBTreeLeaf NetBTreeLeaf;

typedef guint64 (*NetBTreeTiebreak) (gconstpointer value);

typedef struct
{
  guint64  key;
  gpointer value;
} NetBTreeItem;

/* A position in a tree: invalid (leaf == NULL) past either end.  Any
 * insert or remove invalidates every iter of the tree. */
typedef struct
{
  NetBTreeLeaf *leaf;
  guint         index;
} NetBTreeIter;

static inline guint64
_net_btree_key_from_int (gint64 v)
{
  return (guint64) v ^ G_GUINT64_CONSTANT (0x8000000000000000);
}

NetBTree     *_net_btree_new          (NetBTreeTiebreak  tiebreak);
/* A tree whose keys are the u64 at @key_offset of each value (a signed
 * key, gint64, passed through _net_btree_key_from_int() when
 * @key_signed). */
NetBTree     *_net_btree_new_derived  (gsize             key_offset,
                                       gboolean          key_signed,
                                       NetBTreeTiebreak  tiebreak);
gboolean      _net_btree_is_derived   (NetBTree         *tree);
/* The leaves of the empty @tree come from @arena from now on (which must
 * outlive the tree and be used on its thread only): a table's trees share
 * its slabs (huge pages once large) instead of a malloc a leaf.  A leaf
 * larger than an arena's block (a stored tree's) is still malloc's. */
void          _net_btree_set_leaf_arena (NetBTree       *tree,
                                         NetArena       *arena);
void          _net_btree_free         (NetBTree         *tree);
void          _net_btree_clear        (NetBTree         *tree);
guint         _net_btree_size         (NetBTree         *tree);

void          _net_btree_insert       (NetBTree         *tree,
                                       guint64           key,
                                       gpointer          value);
/* Fills the empty @tree with @n items, which must be in the tree's order
 * (key, then tiebreak; no two alike): a bulk load in O(n). */
void          _net_btree_build        (NetBTree           *tree,
                                       const NetBTreeItem *items,
                                       guint               n);
/* FALSE when the item is not in the tree. */
gboolean      _net_btree_remove       (NetBTree         *tree,
                                       guint64           key,
                                       gpointer          value);
/* The position of the item, or -1 when it is not in the tree. */
gint64        _net_btree_position     (NetBTree         *tree,
                                       guint64           key,
                                       gpointer          value);
/* The number of items ordered before (key, id): the position the item
 * would take. */
guint         _net_btree_lower_bound  (NetBTree         *tree,
                                       guint64           key,
                                       guint64           id);

gboolean      _net_btree_iter_nth     (NetBTree         *tree,
                                       guint             position,
                                       NetBTreeIter     *iter);
gboolean      _net_btree_iter_first   (NetBTree         *tree,
                                       NetBTreeIter     *iter);
gboolean      _net_btree_iter_last    (NetBTree         *tree,
                                       NetBTreeIter     *iter);
gboolean      _net_btree_iter_next    (NetBTreeIter     *iter);
gboolean      _net_btree_iter_prev    (NetBTreeIter     *iter);
/* The item at @iter: a stored-key tree's only. */
NetBTreeItem *_net_btree_iter_get     (NetBTreeIter     *iter);
/* The value at @iter, in either kind of tree. */
gpointer      _net_btree_iter_value   (NetBTreeIter     *iter);
/* A walk in runs: the items of @iter's leaf from @iter's to the leaf's
 * last (with @desc, to its first: read the run backwards, run[-k]); sets
 * *@run to @iter's item and returns how many there are.  Then
 * _net_btree_iter_next_leaf() moves @iter to the first (with @desc, the
 * last) item of the next leaf in that direction, FALSE past the end. */
guint         _net_btree_iter_run     (NetBTreeIter        *iter,
                                       gboolean             desc,
                                       const NetBTreeItem **run);
/* The same, of a derived tree: its values. */
guint         _net_btree_iter_run_values (NetBTreeIter     *iter,
                                          gboolean          desc,
                                          gpointer const  **run);
gboolean      _net_btree_iter_next_leaf (NetBTreeIter     *iter,
                                         gboolean          desc);

/* Checks every invariant (tests only); aborts on a broken one. */
void          _net_btree_check        (NetBTree         *tree);

G_END_DECLS
