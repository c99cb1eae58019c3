/* net-query-model.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-btree-private.h"
#include "net-filter-base-private.h"
#include "net-id-table-private.h"
#include "net-query-model-private.h"

/**
 * SECTION:net-query-model
 * @title: NetQueryModel
 * @short_description: a live query as a #GListModel
 *
 * A #NetQueryModel is what net_db_tasks_watch() and
 * net_db_memories_watch() return: a #GListModel whose items are always
 * those find_many() gives for its #NetQueryModel:filter, as of
 * #NetQueryModel:seq, in the filter's order and window.  Bind it to a
 * #GtkListView directly.
 *
 * Changes arrive from the dispatch of the model's fold source on the
 * owner context, never from inside a mutation call.  Each batch of
 * events becomes the smallest #GListModel::items-changed emissions (one
 * per contiguous range of changes, never an empty one), followed by
 * notify::n-items.  An item whose fields change without moving only
 * notifies on itself (unless #NetQueryModel:report-updates is set, for a
 * #GtkFilterListModel or #GtkSortListModel stacked above); a change of
 * sort key is a removal plus an insertion.  Each event costs O(log n) for
 * a model of n items.
 *
 * #NetQueryModel:filter may be replaced (or the filter object changed) at
 * any time, as a search entry does: the model then emits one
 * items-changed covering the range from the first to the last item that
 * differs, as #GtkFilterListModel does.
 *
 * A query over a large table fills in steps from an idle source, so
 * that watch() never holds the main loop for more than a few
 * milliseconds: see #NetQueryModel:incremental and
 * #NetQueryModel:pending.
 *
 * Dropping the last reference to the model disconnects it from its
 * source (and stops its fill); closing the database leaves it with its
 * last contents.
 */

/**
 * NetQueryModel:
 *
 * A live query over a tasks or memories model.
 */

typedef struct
{
  guint64 id;     /* first: the id table's key */
  guint64 key;    /* the sort key, flipped for descending orders */
} QEntry;

/*
 * Where the entries live: the matches of a synchronous fill in one block
 * (found in order, they are the tree's bulk load), later ones in blocks
 * of QPOOL_BLOCK.  A removed entry waits on the free list, chained
 * through its key, for the next insert; the blocks go all at once with
 * the tree.  No allocation per entry: a filter change over 100k matches
 * is one walk and one bulk load.
 */
typedef struct
{
  GPtrArray *blocks;
  QEntry    *free;
  QEntry    *next;    /* the unused rest of the last small block */
  guint      left;
} QPool;

#define QPOOL_BLOCK 256

struct _NetQueryModel
{
  GObject              parent_instance;

  GObject             *source;
  const NetQueryFuncs *funcs;
  const NetQueryWalker *walker;
  GObject             *filter;
  gulong               filter_notify_id;
  gpointer             matcher;
  gboolean             desc;
  guint                offset;
  guint                limit;     /* 0: unlimited */

  NetBTree            *tree;      /* every match, in order, unwindowed */
  NetIdTable           by_id;     /* QEntry by id: see entries_by_id() */
  /* The entries of a synchronous fill not in @by_id yet (a filter change
   * that nothing follows needs no table of 100k ids): the tree's, in one
   * block of the pool, until something looks an id up. */
  QEntry              *lazy_v;
  guint                lazy_n;
  QPool                pool;      /* where the entries of both live */
  guint64              seq;
  gboolean             detached;  /* its source closed */
  NetOrderBy           order;     /* of the filter the tree is sorted for */

  /* While a change to a full window is told in two emissions, the item
   * count between them is one off the window's. */
  int                  adjust;

  /* The emission being built: items-changed (pos, removed, added). */
  gboolean             building;
  guint                p_pos;
  guint                p_removed;
  guint                p_added;

  /* A fill in steps (see fill_run()).  The tree holds every match up to
   * the cursor, the last entry the walk examined (none yet unless
   * @resume), and, when @stale, entries past it of before a filter
   * change that the walk has not reached yet. */
  gboolean             incremental;
  gpointer             walk;      /* NULL: not filling */
  gboolean             resume;
  guint64              c_key;
  guint64              c_id;
  gboolean             stale;
  guint                n_pending; /* what the walk has left to examine */
  GSource             *fill_source;
  guint                fill_gen;  /* a new fill, or none: a step stops */

  /* A handler of an emission changed the filter: refill when done. */
  guint                applying;
  gboolean             refill_later;

  /* An item changed in place is also told as items-changed (p, 1, 1). */
  gboolean             report_updates;
};

static void net_query_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NetQueryModel, net_query_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      net_query_model_list_model_init))

enum {
  PROP_0,
  PROP_ITEM_TYPE,
  PROP_N_ITEMS,
  PROP_FILTER,
  PROP_SEQ,
  PROP_CLOSED,
  PROP_PENDING,
  PROP_INCREMENTAL,
  PROP_REPORT_UPDATES,
  N_PROPS
};

/*
 * Fills.  A query of a table of at most FILL_SYNC_ENTRIES entries (within
 * the bounds of its order key) fills before watch() or set_filter()
 * returns, as one emission; a larger one examines at most that many
 * entries and FILL_STEP_USEC at once (so that pending > 0 after watch()
 * whatever the machine), then goes on in steps of FILL_STEP_USEC from an
 * idle source, so
 * that a million tasks never hold the owner's main loop for more than a
 * fraction of a frame.  Entries are examined in chunks collected from the
 * table first: a handler of an emission may change the table.
 */
#define FILL_SYNC_ENTRIES 8192
#define FILL_STEP_USEC    4000
#define FILL_CHUNK        256
#define FILL_PREFETCH     16

static GParamSpec *properties[N_PROPS];

/* Entries ------------------------------------------------------------------ */

static guint64
tiebreak_asc (gconstpointer value)
{
  return ((const QEntry *) value)->id;
}

static guint64
tiebreak_desc (gconstpointer value)
{
  return ~((const QEntry *) value)->id;
}

static inline guint64
entry_tie (NetQueryModel *self,
           guint64        id)
{
  return self->desc ? ~id : id;
}

static void
qpool_init (QPool *pool)
{
  pool->blocks = g_ptr_array_new_with_free_func (g_free);
  pool->free = NULL;
  pool->next = NULL;
  pool->left = 0;
}

static QEntry *
qpool_alloc (QPool *pool)
{
  QEntry *q = pool->free;

  if (q != NULL)
    {
      pool->free = (QEntry *) (gsize) q->key;
      return q;
    }
  if (pool->left == 0)
    {
      pool->next = g_new (QEntry, QPOOL_BLOCK);
      pool->left = QPOOL_BLOCK;
      g_ptr_array_add (pool->blocks, pool->next);
    }
  pool->left--;
  return pool->next++;
}

static void
qpool_release (QPool  *pool,
               QEntry *q)
{
  q->key = (guint64) (gsize) pool->free;
  pool->free = q;
}

static void
entries_free (NetBTree   *tree,
              NetIdTable *by_id,
              QPool      *pool)
{
  _net_id_table_clear (by_id);
  _net_btree_free (tree);
  g_clear_pointer (&pool->blocks, g_ptr_array_unref);
  pool->free = NULL;
  pool->next = NULL;
  pool->left = 0;
}

/* Puts the entries of the last synchronous fill in the id table. */
G_GNUC_NO_INLINE static void
entries_by_id_load (NetQueryModel *self)
{
  QEntry *v = self->lazy_v;
  guint n = self->lazy_n;

  self->lazy_v = NULL;
  self->lazy_n = 0;
  _net_id_table_reserve (&self->by_id, n);
  for (guint i = 0; i < n; i++)
    {
      /* The slots of 100k ids are scattered over megabytes: fetch ahead. */
#ifdef __GNUC__
      if (i + FILL_PREFETCH < n)
        _net_id_table_prefetch (&self->by_id, v[i + FILL_PREFETCH].id);
#endif
      _net_id_table_insert (&self->by_id, &v[i]);
    }
}

/* The id table, with the entries of the last synchronous fill in it
 * first.  Every lookup, insert and removal goes through it. */
static inline NetIdTable *
entries_by_id (NetQueryModel *self)
{
  if (G_UNLIKELY (self->lazy_v != NULL))
    entries_by_id_load (self);
  return &self->by_id;
}

/* How many items are visible when the unwindowed list has @n. */
static inline guint
visible_count (NetQueryModel *self,
               guint          n)
{
  guint v = n > self->offset ? n - self->offset : 0;

  return self->limit > 0 ? MIN (v, self->limit) + self->adjust : v;
}

/* Emissions ----------------------------------------------------------------- */

static void
flush (NetQueryModel *self)
{
  if (!self->building)
    return;
  self->building = FALSE;
  if (self->p_removed > 0 || self->p_added > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), self->p_pos, self->p_removed, self->p_added);
}

/*
 * Before a change (pos, removed, added) is applied to the state: emits the
 * pending one if the two cannot be told as one emission (so that every
 * emission sees the state it describes).  After applying, merge() folds it
 * into the pending emission.
 */
static gboolean
mergeable (NetQueryModel *self,
           guint          pos,
           guint          removed)
{
  return self->building &&
         ((pos >= self->p_pos && pos <= self->p_pos + self->p_added) ||
          pos + removed == self->p_pos);
}

static void
begin (NetQueryModel *self,
       guint          pos,
       guint          removed)
{
  if (self->building && !mergeable (self, pos, removed))
    flush (self);
}

static void
merge (NetQueryModel *self,
       guint          pos,
       guint          removed,
       guint          added)
{
  if (!self->building)
    {
      self->building = TRUE;
      self->p_pos = pos;
      self->p_removed = removed;
      self->p_added = added;
    }
  else if (pos >= self->p_pos && pos <= self->p_pos + self->p_added)
    {
      /* Inside or right after the added block: removals cancel additions
       * first, then reach the items after the block. */
      guint cancel = MIN (removed, self->p_pos + self->p_added - pos);

      self->p_removed += removed - cancel;
      self->p_added = self->p_added - cancel + added;
    }
  else
    {
      g_assert (pos + removed == self->p_pos);
      self->p_pos = pos;
      self->p_removed += removed;
      self->p_added += added;
    }
}

/*
 * The visible change when the unwindowed list of @n items loses the item
 * at @rank.  The window [offset, offset + limit) shifts when the item was
 * before it, and the next item enters at its end when there is one: that
 * is a second step (@refill), between which the model holds one item less
 * than the window.  FALSE when nothing visible changes.
 */
static gboolean
visible_remove (NetQueryModel *self,
                guint          rank,
                guint          n,
                guint         *pos,
                gboolean      *refill)
{
  guint m = visible_count (self, n);

  if (m == 0 || (self->limit > 0 && rank >= self->offset + self->limit))
    return FALSE;

  *pos = rank >= self->offset ? rank - self->offset : 0;
  *refill = self->limit > 0 && n > self->offset + self->limit;
  return TRUE;
}

/* The same for an item inserted at @rank into a list of @n items: when
 * the window was full, its last item leaves in a second step (@spill). */
static gboolean
visible_insert (NetQueryModel *self,
                guint          rank,
                guint          n,
                guint         *pos,
                gboolean      *spill)
{
  guint m = visible_count (self, n);

  if (self->limit > 0 && rank >= self->offset + self->limit)
    return FALSE;
  if (rank < self->offset && n < self->offset)
    return FALSE;   /* still nothing reaches the window */

  *pos = rank >= self->offset ? rank - self->offset : 0;
  *spill = self->limit > 0 && m == self->limit;
  return TRUE;
}

/* Inserts @id at @rank (where (@key, @id) goes) and records what is
 * visible. */
static void
insert_entry (NetQueryModel *self,
              guint64        id,
              guint64        key,
              guint          rank)
{
  QEntry *q;
  guint pos;
  gboolean spill = FALSE;
  gboolean vis = visible_insert (self, rank, _net_btree_size (self->tree), &pos, &spill);

  if (vis)
    begin (self, pos, 0);
  q = qpool_alloc (&self->pool);
  q->id = id;
  q->key = key;
  _net_btree_insert (self->tree, key, q);
  _net_id_table_insert (entries_by_id (self), q);
  if (vis)
    {
      self->adjust = spill ? 1 : 0;
      merge (self, pos, 0, 1);
      if (spill)
        {
          begin (self, self->limit, 1);
          self->adjust = 0;
          merge (self, self->limit, 1, 0);
        }
    }
}

/* An item that stays where it is, told as replaced by itself: what
 * GtkFilterListModel and GtkSortListModel re-evaluate. */
static void
report_update (NetQueryModel *self,
               QEntry        *q)
{
  gint64 rank = _net_btree_position (self->tree, q->key, q);
  guint pos;

  g_assert (rank >= 0);
  if ((guint) rank < self->offset ||
      (self->limit > 0 && (guint) rank >= self->offset + self->limit))
    return;
  pos = (guint) rank - self->offset;
  begin (self, pos, 1);
  merge (self, pos, 1, 1);
}

/* Applies what @id is now (@has, @key) and records what is visible.
 * @replaced: the id was deleted meanwhile, so its item is a new object. */
static void
apply_one (NetQueryModel *self,
           guint64        id,
           gboolean       has,
           guint64        key,
           gboolean       replaced)
{
  QEntry *q = _net_id_table_lookup (entries_by_id (self), id);
  guint pos;
  gboolean vis;

  if (q == NULL && !has)
    return;
  if (q != NULL && has && q->key == key && !replaced)
    {
      /* In place: the item notifies by itself, and models stacked above
       * that read its fields may be told to look again. */
      if (self->report_updates)
        report_update (self, q);
      return;
    }

  if (q != NULL)
    {
      gint64 rank = _net_btree_position (self->tree, q->key, q);
      gboolean refill = FALSE;

      g_assert (rank >= 0);
      vis = visible_remove (self, (guint) rank, _net_btree_size (self->tree), &pos, &refill);
      if (vis)
        begin (self, pos, 1);
      _net_btree_remove (self->tree, q->key, q);
      _net_id_table_remove (entries_by_id (self), id);
      qpool_release (&self->pool, q);
      if (vis)
        {
          self->adjust = refill ? -1 : 0;
          merge (self, pos, 1, 0);
          if (refill)
            {
              begin (self, self->limit - 1, 0);
              self->adjust = 0;
              merge (self, self->limit - 1, 0, 1);
            }
        }
    }

  if (has)
    insert_entry (self, id, key, _net_btree_lower_bound (self->tree, key, entry_tie (self, id)));
}

/* Filling ------------------------------------------------------------------- */

/* Is @a before @b in the tree's order? */
static inline gboolean
qentry_before (const QEntry *a,
               const QEntry *b,
               gboolean      desc)
{
  if (a->key != b->key)
    return a->key < b->key;
  return desc ? ~a->id < ~b->id : a->id < b->id;
}

static int
qentry_compare (gconstpointer a,
                gconstpointer b,
                gpointer      desc)
{
  if (qentry_before (a, b, GPOINTER_TO_INT (desc)))
    return -1;
  return qentry_before (b, a, GPOINTER_TO_INT (desc)) ? 1 : 0;
}

/* The matches of a synchronous fill, in the order the source gives them
 * (the walks of the ordered indexes give the tree's). */
typedef struct
{
  QEntry   *v;
  guint     len;
  guint     size;
  gboolean  desc;
  gboolean  sorted;   /* so far in the tree's order */
} Fill;

static void
fill_cb (guint64  id,
         guint64  key,
         gpointer data)
{
  Fill *fill = data;
  QEntry *q;

  if (G_UNLIKELY (fill->len == fill->size))
    {
      fill->size = MAX (64, fill->size * 2);
      fill->v = g_renew (QEntry, fill->v, fill->size);
    }
  q = &fill->v[fill->len++];
  q->id = id;
  q->key = key;
  if (fill->len > 1 && fill->sorted)
    fill->sorted = qentry_before (q - 1, q, fill->desc);
}

/* Makes the (empty) tree and pool of @self hold the matches of @fill,
 * which they take; the id table gets them when first used. */
static void
fill_load (NetQueryModel *self,
           Fill          *fill)
{
  g_autofree NetBTreeItem *items = NULL;

  if (fill->len == 0)
    {
      g_free (fill->v);
      return;
    }
  if (fill->len < fill->size)
    fill->v = g_renew (QEntry, fill->v, fill->len);
  if (!fill->sorted)
    g_qsort_with_data (fill->v, (gint) fill->len, sizeof (QEntry), qentry_compare,
                       GINT_TO_POINTER (fill->desc));
  items = g_new (NetBTreeItem, fill->len);
  for (guint i = 0; i < fill->len; i++)
    {
      items[i].key = fill->v[i].key;
      items[i].value = &fill->v[i];
    }
  _net_btree_build (self->tree, items, fill->len);
  g_ptr_array_add (self->pool.blocks, fill->v);
  self->lazy_v = fill->v;
  self->lazy_n = fill->len;
}

/*
 * After a refill: the one change from the first to the last visible item
 * that differs between @old_tree's window [@old_offset, @old_offset +
 * @n_before) and the model's, which is all a GtkListView needs.  Only
 * the ends that stay are walked.  The same id is the same item, unless
 * it was deleted meanwhile.
 */
static void
refill_diff (NetQueryModel *self,
             NetBTree      *old_tree,
             guint          old_offset,
             guint          n_before,
             GHashTable    *deleted,
             guint         *pos,
             guint         *removed,
             guint         *added)
{
  guint n_after = visible_count (self, _net_btree_size (self->tree));
  guint prefix = 0, suffix = 0;
  NetBTreeIter a, b;
  gboolean ok;

#define SAME(x, y) ((x) == (y) && (deleted == NULL || !g_hash_table_contains (deleted, &(x))))
#define ID(it) (((const QEntry *) _net_btree_iter_get (&(it))->value)->id)
  if (n_before > 0 && n_after > 0)
    {
      ok = _net_btree_iter_nth (old_tree, old_offset, &a) &&
           _net_btree_iter_nth (self->tree, self->offset, &b);
      while (ok && prefix < n_before && prefix < n_after && SAME (ID (a), ID (b)))
        {
          prefix++;
          ok = _net_btree_iter_next (&a) && _net_btree_iter_next (&b);
        }
      ok = _net_btree_iter_nth (old_tree, old_offset + n_before - 1, &a) &&
           _net_btree_iter_nth (self->tree, self->offset + n_after - 1, &b);
      while (ok && suffix < n_before - prefix && suffix < n_after - prefix && SAME (ID (a), ID (b)))
        {
          suffix++;
          ok = _net_btree_iter_prev (&a) && _net_btree_iter_prev (&b);
        }
    }
#undef ID
#undef SAME

  *pos = prefix;
  *removed = n_before - prefix - suffix;
  *added = n_after - prefix - suffix;
}

static void refill (NetQueryModel *self,
                    gboolean       emit,
                    GHashTable    *deleted);

static void
set_pending (NetQueryModel *self,
             guint          n_pending)
{
  if (self->n_pending == n_pending)
    return;
  self->n_pending = n_pending;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING]);
}

/* Ends the fill in steps, if any (the caller notifies pending). */
static void
fill_stop (NetQueryModel *self)
{
  self->fill_gen++;
  if (self->fill_source != NULL)
    {
      g_source_destroy (self->fill_source);
      g_clear_pointer (&self->fill_source, g_source_unref);
    }
  g_clear_pointer (&self->walk, self->walker->walk_free);
  self->resume = FALSE;
  self->stale = FALSE;
}

/* Is (@key, @id) past the cursor of the fill in steps?  Then the walk
 * will examine it. */
static gboolean
past_cursor (NetQueryModel *self,
             guint64        key,
             guint64        id)
{
  if (self->walk == NULL)
    return FALSE;
  if (!self->resume)
    return TRUE;
  if (key != self->c_key)
    return key > self->c_key;
  return entry_tie (self, id) > entry_tie (self, self->c_id);
}

/* Removes the stale entries (of before a filter change) between the
 * cursor and (@key, @id), or all of them when @to_end: the walk passed
 * their place without finding them there. */
static void
fill_drop_stale (NetQueryModel *self,
                 gboolean       to_end,
                 guint64        key,
                 guint64        id)
{
  while (self->stale)
    {
      NetBTreeIter it;
      guint pos = 0;
      QEntry *q;

      if (self->resume)
        pos = _net_btree_lower_bound (self->tree, self->c_key, entry_tie (self, self->c_id));
      if (!_net_btree_iter_nth (self->tree, pos, &it))
        {
          self->stale = FALSE;
          return;
        }
      q = _net_btree_iter_get (&it)->value;
      if (self->resume && q->id == self->c_id && q->key == self->c_key)
        {
          if (!_net_btree_iter_next (&it))
            {
              self->stale = FALSE;
              return;
            }
          q = _net_btree_iter_get (&it)->value;
        }
      if (!to_end &&
          (q->key > key || (q->key == key && entry_tie (self, q->id) >= entry_tie (self, id))))
        return;
      apply_one (self, q->id, FALSE, 0, FALSE);
    }
}

/* The walk reached (@key, @id): its entry goes in, or out. */
static void
fill_examine (NetQueryModel *self,
              guint64        id,
              guint64        key)
{
  guint64 now = 0;
  gboolean has;
  QEntry *q;

  fill_drop_stale (self, FALSE, key, id);

  /* A handler of this step may have changed the entry since the walk
   * saw it: what it is now counts, unless it moved on past the cursor,
   * where the walk will meet it again. */
  has = self->funcs->match (self->source, self->matcher, id, &now);
  if (has && now > key)
    has = FALSE;

  /* Nothing in the tree is past the cursor: a new entry at the walk's
   * place goes after every other. */
  q = _net_id_table_lookup (entries_by_id (self), id);
  if (has && q == NULL && !self->stale && now == key)
    insert_entry (self, id, now, _net_btree_size (self->tree));
  else
    apply_one (self, id, has, now, FALSE);

  self->resume = TRUE;
  self->c_key = key;
  self->c_id = id;
}

typedef struct
{
  GArray *chunk;
  guint   max;
} FillChunk;

typedef struct
{
  guint64 id;
  guint64 key;
} Examined;

static gboolean
fill_collect_cb (guint64  id,
                 guint64  key,
                 gpointer data)
{
  FillChunk *c = data;
  Examined e = { id, key };

  g_array_append_val (c->chunk, e);
  return c->chunk->len < c->max;
}

/*
 * One step of the fill: examines up to @max_entries entries (0: no
 * limit) or until @deadline (monotonic; 0: none), then emits what it
 * changed and notifies n-items and pending.  The walk's end removes the
 * stale entries left and ends the fill.
 */
static void
fill_run (NetQueryModel *self,
          guint          max_entries,
          gint64         deadline)
{
  g_autoptr(GArray) chunk = g_array_sized_new (FALSE, FALSE, sizeof (Examined), FILL_CHUNK);
  guint gen = self->fill_gen;
  guint examined = 0;
  guint n_before;
  gboolean done = FALSE;

  g_object_ref (self);
  n_before = g_list_model_get_n_items (G_LIST_MODEL (self));
  self->applying++;

  while (self->walk != NULL && gen == self->fill_gen)
    {
      FillChunk c = { chunk, FILL_CHUNK };

      if (max_entries > 0)
        c.max = MIN (c.max, max_entries - examined);
      if (c.max == 0)
        break;

      /* Collect first, then apply: applying may emit. */
      g_array_set_size (chunk, 0);
      self->walker->walk (self->source, self->walk, self->resume, self->c_key, self->c_id,
                          fill_collect_cb, &c);
      for (guint i = 0; i < chunk->len && gen == self->fill_gen; i++)
        {
          Examined *e = &g_array_index (chunk, Examined, i);

          fill_examine (self, e->id, e->key);
        }
      examined += chunk->len;
      if (gen != self->fill_gen)
        break;
      if (chunk->len < c.max)
        {
          fill_drop_stale (self, TRUE, 0, 0);
          done = TRUE;
          break;
        }
      if (deadline > 0 && g_get_monotonic_time () >= deadline)
        break;
    }

  self->applying--;
  if (gen == self->fill_gen)
    {
      flush (self);
      if (done)
        fill_stop (self);
      if (g_list_model_get_n_items (G_LIST_MODEL (self)) != n_before)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
      set_pending (self, self->walk != NULL
                         ? MAX (1, self->walker->remaining (self->source, self->walk, self->resume,
                                                            self->c_key, self->c_id))
                         : 0);
    }
  if (self->refill_later && self->applying == 0)
    refill (self, TRUE, NULL);
  g_object_unref (self);
}

static gboolean
fill_source_cb (gpointer data)
{
  NetQueryModel *self = data;
  gboolean more;

  g_object_ref (self);
  fill_run (self, 0, g_get_monotonic_time () + FILL_STEP_USEC);
  /* Done, or a new fill has its own source (this one is destroyed). */
  more = self->fill_source != NULL;
  g_object_unref (self);
  return more ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/*
 * Rebuilds the contents from the source with the current filter.  A small
 * table: at once, then one items-changed from the first to the last
 * visible difference.  A large one: the first step now, the rest from an
 * idle source (see FILL_SYNC_ENTRIES); the items of before stay where
 * the new order keeps them until the walk reaches them.
 */
static void
refill (NetQueryModel *self,
        gboolean       emit,
        GHashTable    *deleted)
{
  guint n_before, old_offset, offset, limit;
  guint pos = 0, removed = 0, added = 0;
  NetBTree *old_tree = self->tree;
  NetIdTable old_by_id = self->by_id;
  QPool old_pool = self->pool;
  NetOrderBy order;
  gpointer walk = NULL;
  guint n_walk = 0;
  /* The first step's budget counts what comes before it. */
  gint64 deadline = g_get_monotonic_time () + FILL_STEP_USEC;
  Fill fill;

  if (self->applying > 0)
    {
      /* From a handler of an emission this model is still making. */
      self->refill_later = TRUE;
      return;
    }
  self->refill_later = FALSE;

  if (self->walk != NULL)
    fill_stop (self);

  g_clear_pointer (&self->matcher, self->funcs->matcher_free);
  self->matcher = self->funcs->matcher_new (self->source, self->filter, &self->desc);
  _net_filter_base_get_window ((NetFilterBase *) self->filter, &order, NULL, NULL);
  self->funcs->get_window (self->filter, &offset, &limit);

  if (self->walker != NULL)
    {
      walk = self->walker->walk_new (self->source, self->filter);
      n_walk = self->walker->remaining (self->source, walk, FALSE, 0, 0);
      if (!self->incremental || n_walk <= FILL_SYNC_ENTRIES)
        g_clear_pointer (&walk, self->walker->walk_free);
    }

  if (walk != NULL)
    {
      guint n_items = self->tree != NULL ? g_list_model_get_n_items (G_LIST_MODEL (self)) : 0;

      /* The items of before stay while the walk has not passed them,
       * when the tree keeps its order and the window is the same. */
      if (self->tree == NULL || !emit || deleted != NULL || order != self->order ||
          offset != self->offset || limit != self->limit)
        {
          if (self->tree != NULL)
            entries_free (self->tree, &self->by_id, &self->pool);
          self->lazy_v = NULL;
          self->lazy_n = 0;
          self->tree = _net_btree_new (self->desc ? tiebreak_desc : tiebreak_asc);
          _net_id_table_init (&self->by_id);
          qpool_init (&self->pool);
          /* Room for every entry the walk may find: growing the id table
           * in a step would move all of it at once (a long stall at 1M). */
          _net_id_table_reserve (&self->by_id, n_walk);
          self->order = order;
          self->offset = offset;
          self->limit = limit;
          if (emit && n_items > 0)
            {
              g_list_model_items_changed (G_LIST_MODEL (self), 0, n_items, 0);
              g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
            }
        }
      self->walk = walk;
      self->resume = FALSE;
      self->stale = _net_btree_size (self->tree) > 0;
      self->n_pending = G_MAXUINT;   /* notified by the step */
      fill_run (self, FILL_SYNC_ENTRIES, deadline);

      if (self->walk != NULL && self->fill_source == NULL)
        {
          self->fill_source = g_idle_source_new ();
          g_source_set_priority (self->fill_source, G_PRIORITY_DEFAULT_IDLE);
          g_source_set_static_name (self->fill_source, "[netdb] NetQueryModel fill");
          g_source_set_callback (self->fill_source, fill_source_cb, self, NULL);
          g_source_attach (self->fill_source, g_main_context_get_thread_default ());
        }
      return;
    }

  n_before = emit && old_tree != NULL ? visible_count (self, _net_btree_size (old_tree)) : 0;
  old_offset = self->offset;
  self->order = order;
  self->offset = offset;
  self->limit = limit;

  /* The matches first, into one block, then the tree in bulk.  The
   * walk's length bounds the matches (the pages of a block too large are
   * never touched, and it shrinks to fit); without a walker, as many as
   * before is a fair guess for a new filter. */
  if (self->walker != NULL)
    fill.size = MAX (64, n_walk);
  else
    fill.size = old_tree != NULL ? MAX (64, _net_btree_size (old_tree)) : 64;
  fill.v = g_new (QEntry, fill.size);
  fill.len = 0;
  fill.desc = self->desc;
  fill.sorted = TRUE;
  self->funcs->foreach_match (self->source, self->matcher, fill_cb, &fill);
  self->tree = _net_btree_new (self->desc ? tiebreak_desc : tiebreak_asc);
  _net_id_table_init (&self->by_id);
  qpool_init (&self->pool);
  self->lazy_v = NULL;
  self->lazy_n = 0;
  fill_load (self, &fill);

  if (emit)
    refill_diff (self, old_tree, old_offset, n_before, deleted, &pos, &removed, &added);
  if (old_tree != NULL)
    entries_free (old_tree, &old_by_id, &old_pool);

  set_pending (self, 0);
  if (!emit)
    return;
  if (removed > 0 || added > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), pos, removed, added);
  if (removed != added)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/* Private API --------------------------------------------------------------- */

NetQueryModel *
_net_query_model_new (GObject              *source,
                      const NetQueryFuncs  *funcs,
                      const NetQueryWalker *walker,
                      GObject              *filter,
                      guint64               seq)
{
  NetQueryModel *self;

  g_return_val_if_fail (G_IS_OBJECT (source), NULL);
  g_return_val_if_fail (funcs != NULL, NULL);

  self = g_object_new (NET_TYPE_QUERY_MODEL, NULL);
  self->source = g_object_ref (source);
  self->funcs = funcs;
  self->walker = walker;
  self->seq = seq;
  net_query_model_set_filter (self, filter);
  return self;
}

void
_net_query_model_update (NetQueryModel *self,
                         const guint64 *ids,
                         guint          n_ids,
                         GHashTable    *deleted,
                         guint64        seq)
{
  NetIdTable seen = { 0, };
  guint n_before;

  g_return_if_fail (NET_IS_QUERY_MODEL (self));

  if (self->detached)
    return;

  g_object_ref (self);
  n_before = g_list_model_get_n_items (G_LIST_MODEL (self));
  self->applying++;

  /* Each id once, in the order of its first change (the order appends
   * came in, which lets them join into one range): its state now is all
   * that matters.  The table's entries are the ids' own slots; one id
   * (a dispatch of one change, the usual case) needs none. */
  if (n_ids > 1)
    _net_id_table_init (&seen);
  for (guint i = 0; i < n_ids; i++)
    {
      guint64 key = 0;
      gboolean has;

      if (n_ids > 1)
        {
          if (_net_id_table_lookup (&seen, ids[i]) != NULL)
            continue;
          _net_id_table_insert (&seen, (gpointer) &ids[i]);
        }

      has = self->funcs->match (self->source, self->matcher, ids[i], &key);
      /* During a fill in steps, the walk will find a match past its
       * cursor; one the tree holds moves there (it is then stale: the walk
       * checks it again). */
      if (has && past_cursor (self, key, ids[i]))
        {
          if (_net_id_table_lookup (entries_by_id (self), ids[i]) == NULL)
            continue;
          self->stale = TRUE;
        }
      apply_one (self, ids[i], has, key,
                 deleted != NULL && g_hash_table_contains (deleted, &ids[i]));
    }
  if (n_ids > 1)
    _net_id_table_clear (&seen);
  flush (self);
  self->applying--;

  if (g_list_model_get_n_items (G_LIST_MODEL (self)) != n_before)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
  if (seq != self->seq)
    {
      self->seq = seq;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEQ]);
    }
  if (self->refill_later && self->applying == 0)
    refill (self, TRUE, NULL);
  g_object_unref (self);
}

void
_net_query_model_reset (NetQueryModel *self,
                        GHashTable    *deleted,
                        guint64        seq)
{
  g_return_if_fail (NET_IS_QUERY_MODEL (self));

  if (self->detached)
    return;

  g_object_ref (self);
  refill (self, TRUE, deleted);
  if (seq != self->seq)
    {
      self->seq = seq;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEQ]);
    }
  g_object_unref (self);
}

void
_net_query_model_detach (NetQueryModel *self)
{
  g_return_if_fail (NET_IS_QUERY_MODEL (self));

  /* The source stays referenced: get_item() and a new filter still read
   * its last state. */
  if (self->detached)
    return;
  self->detached = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLOSED]);
}

/* Watch hubs ----------------------------------------------------------------- */

void
_net_watch_hub_init (NetWatchHub *hub)
{
  hub->watches = g_ptr_array_new ();
  hub->touched = g_array_new (FALSE, FALSE, sizeof (guint64));
  hub->graveyard = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  hub->reset = FALSE;
}

static void
watch_gone (gpointer  data,
            GObject  *where_the_object_was)
{
  NetWatchHub *hub = data;

  g_ptr_array_remove_fast (hub->watches, where_the_object_was);
}

/* Queries hold a reference to the model that holds the hub: by the time
 * it is cleared, none is left. */
void
_net_watch_hub_clear (NetWatchHub *hub)
{
  g_clear_pointer (&hub->watches, g_ptr_array_unref);
  g_clear_pointer (&hub->touched, g_array_unref);
  g_clear_pointer (&hub->graveyard, g_hash_table_unref);
}

void
_net_watch_hub_add (NetWatchHub   *hub,
                    NetQueryModel *model)
{
  g_ptr_array_add (hub->watches, model);
  g_object_weak_ref (G_OBJECT (model), watch_gone, hub);
}

void
_net_watch_hub_bury (NetWatchHub *hub,
                     guint64      id,
                     gpointer     item)
{
  g_hash_table_replace (hub->graveyard, g_memdup2 (&id, sizeof id), g_object_ref (item));
  _net_watch_hub_touch (hub, id);
}

gpointer
_net_watch_hub_grave (NetWatchHub *hub,
                      guint64      id)
{
  return hub->graveyard != NULL ? g_hash_table_lookup (hub->graveyard, &id) : NULL;
}

void
_net_watch_hub_reset (NetWatchHub *hub)
{
  hub->reset = TRUE;
  g_array_set_size (hub->touched, 0);
}

void
_net_watch_hub_deliver (NetWatchHub *hub,
                        guint64      seq)
{
  g_autoptr(GPtrArray) watches = NULL;
  g_autoptr(GArray) touched = NULL;
  gboolean reset = hub->reset;

  /* The common case of a model nobody watches: nothing was recorded. */
  if (hub->watches->len == 0)
    {
      hub->reset = FALSE;
      g_array_set_size (hub->touched, 0);
      g_hash_table_remove_all (hub->graveyard);
      return;
    }

  hub->reset = FALSE;
  touched = g_steal_pointer (&hub->touched);
  hub->touched = g_array_new (FALSE, FALSE, sizeof (guint64));

  /* A query may be dropped, or another made, from a handler. */
  watches = g_ptr_array_new_full (hub->watches->len, g_object_unref);
  for (guint i = 0; i < hub->watches->len; i++)
    g_ptr_array_add (watches, g_object_ref (g_ptr_array_index (hub->watches, i)));

  for (guint i = 0; i < watches->len; i++)
    {
      NetQueryModel *w = g_ptr_array_index (watches, i);

      if (reset)
        _net_query_model_reset (w, hub->graveyard, seq);
      else
        _net_query_model_update (w, (const guint64 *) touched->data, touched->len,
                                 hub->graveyard, seq);
    }

  if (hub->graveyard != NULL)
    g_hash_table_remove_all (hub->graveyard);
}

void
_net_watch_hub_detach_all (NetWatchHub *hub)
{
  for (guint i = 0; i < hub->watches->len; i++)
    _net_query_model_detach (g_ptr_array_index (hub->watches, i));
}

NetQueryModel *
_net_watch_hub_watch (NetWatchHub          *hub,
                      GObject              *source,
                      const NetQueryFuncs  *funcs,
                      const NetQueryWalker *walker,
                      GObject              *filter,
                      guint64               seq,
                      gboolean              closed)
{
  NetQueryModel *model = _net_query_model_new (source, funcs, walker, filter, seq);

  if (closed)
    _net_query_model_detach (model);
  else
    _net_watch_hub_add (hub, model);
  return model;
}

/* GListModel ---------------------------------------------------------------- */

static GType
net_query_model_get_item_type (GListModel *list)
{
  NetQueryModel *self = NET_QUERY_MODEL (list);

  /* A model made with g_object_new() rather than a watch() is empty. */
  return self->funcs != NULL ? self->funcs->item_type () : G_TYPE_OBJECT;
}

static guint
net_query_model_get_n_items (GListModel *list)
{
  NetQueryModel *self = NET_QUERY_MODEL (list);

  return self->tree != NULL ? visible_count (self, _net_btree_size (self->tree)) : 0;
}

static gpointer
net_query_model_get_item (GListModel *list,
                          guint       position)
{
  NetQueryModel *self = NET_QUERY_MODEL (list);
  NetBTreeIter it;

  if (self->tree == NULL || position >= visible_count (self, _net_btree_size (self->tree)))
    return NULL;
  if (!_net_btree_iter_nth (self->tree, self->offset + position, &it))
    return NULL;
  return self->funcs->get_item (self->source, ((QEntry *) _net_btree_iter_get (&it)->value)->id);
}

static void
net_query_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = net_query_model_get_item_type;
  iface->get_n_items = net_query_model_get_n_items;
  iface->get_item = net_query_model_get_item;
}

/* GObject -------------------------------------------------------------------- */

static void
net_query_model_dispose (GObject *object)
{
  NetQueryModel *self = (NetQueryModel *) object;

  if (self->walk != NULL)
    fill_stop (self);
  if (self->filter_notify_id != 0)
    g_clear_signal_handler (&self->filter_notify_id, self->filter);
  g_clear_object (&self->filter);

  G_OBJECT_CLASS (net_query_model_parent_class)->dispose (object);
}

static void
net_query_model_finalize (GObject *object)
{
  NetQueryModel *self = (NetQueryModel *) object;

  if (self->matcher != NULL)
    self->funcs->matcher_free (self->matcher);
  if (self->tree != NULL)
    entries_free (self->tree, &self->by_id, &self->pool);
  g_clear_object (&self->source);

  G_OBJECT_CLASS (net_query_model_parent_class)->finalize (object);
}

static void
net_query_model_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NetQueryModel *self = NET_QUERY_MODEL (object);

  switch (prop_id)
    {
    case PROP_ITEM_TYPE:
      g_value_set_gtype (value, self->funcs != NULL ? self->funcs->item_type () : G_TYPE_OBJECT);
      break;
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->tree != NULL ? g_list_model_get_n_items (G_LIST_MODEL (self)) : 0);
      break;
    case PROP_FILTER:
      g_value_set_object (value, self->filter);
      break;
    case PROP_SEQ:
      g_value_set_uint64 (value, self->seq);
      break;
    case PROP_CLOSED:
      g_value_set_boolean (value, self->detached);
      break;
    case PROP_PENDING:
      g_value_set_uint (value, self->n_pending);
      break;
    case PROP_INCREMENTAL:
      g_value_set_boolean (value, self->incremental);
      break;
    case PROP_REPORT_UPDATES:
      g_value_set_boolean (value, self->report_updates);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_query_model_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  NetQueryModel *self = NET_QUERY_MODEL (object);

  switch (prop_id)
    {
    case PROP_FILTER:
      net_query_model_set_filter (self, g_value_get_object (value));
      break;
    case PROP_INCREMENTAL:
      net_query_model_set_incremental (self, g_value_get_boolean (value));
      break;
    case PROP_REPORT_UPDATES:
      net_query_model_set_report_updates (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_query_model_class_init (NetQueryModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_query_model_dispose;
  object_class->finalize = net_query_model_finalize;
  object_class->get_property = net_query_model_get_property;
  object_class->set_property = net_query_model_set_property;

  /**
   * NetQueryModel:item-type:
   *
   * The type of the items: #NetTask or #NetMemory.
   */
  properties[PROP_ITEM_TYPE] =
    g_param_spec_gtype ("item-type", NULL, NULL, G_TYPE_OBJECT,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:n-items:
   *
   * The number of items, notified after each items-changed that changes
   * it.
   */
  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:filter:
   *
   * The #NetTasksFilter or #NetMemoriesFilter of the query, or %NULL for
   * every item by id.  Setting it, or changing a property of the filter
   * object, updates the model.  Its type is #NetFilterBase, the parent of
   * every filter, so bindings refuse other objects up front; a filter of
   * the other model's type is refused with a critical.
   */
  properties[PROP_FILTER] =
    g_param_spec_object ("filter", NULL, NULL, NET_TYPE_FILTER_BASE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:seq:
   *
   * The seq of the last event the contents reflect.
   */
  properties[PROP_SEQ] =
    g_param_spec_uint64 ("seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:closed:
   *
   * Whether the model stopped following its source because the database
   * (or the model's tasks or memories) was closed: it keeps its last
   * contents, and a new #NetQueryModel:filter still selects from the last
   * state, but no later event changes it.  Notified once, when it
   * becomes %TRUE, so a UI can bind it (to show a "closed" state, or make
   * a view insensitive).
   *
   * Since: 0.2
   */
  properties[PROP_CLOSED] =
    g_param_spec_boolean ("closed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:pending:
   *
   * How many entries of the table the model has still to examine while
   * it fills in steps (see #NetQueryModel:incremental), or 0 when it is
   * full: it then equals find_many() as of #NetQueryModel:seq.  Notified
   * after each step, so a UI can bind it to show progress (a spinner
   * while it is not 0).
   *
   * Since: 0.2
   */
  properties[PROP_PENDING] =
    g_param_spec_uint ("pending", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:incremental:
   *
   * Whether a query over a large table fills in steps, as
   * #GtkFilterListModel:incremental does.  When %TRUE (the default), a
   * query whose table holds at most 8192 entries (within the time bounds
   * of its order) still fills before watch() or
   * net_query_model_set_filter() returns; a larger one examines at most
   * that many (about 4 ms' worth) before returning, then the rest in
   * steps of about 4 ms from an idle source on the thread-default main
   * context of the call, emitting #GListModel::items-changed for what
   * each step adds and counting
   * down #NetQueryModel:pending.  Events delivered meanwhile are applied
   * as usual; the walk finds those past the place it reached.  A new
   * filter restarts the fill: the items of before stay until the walk
   * reaches their place, when the order and window are unchanged (else
   * the model empties first).  A fill goes on after close, over the last
   * state.
   *
   * Setting it to %FALSE finishes a fill in progress at once, and makes
   * every later fill synchronous: a script that needs the whole model
   * now sets it.
   *
   * Since: 0.2
   */
  properties[PROP_INCREMENTAL] =
    g_param_spec_boolean ("incremental", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetQueryModel:report-updates:
   *
   * Whether an item whose fields change without moving is also reported
   * as #GListModel::items-changed (position, 1, 1), the item replaced by
   * itself.
   *
   * By default such a change is only a notify on the item (the model's
   * contents and order did not change), which is all a #GtkListView
   * needs.  A #GtkFilterListModel, #GtkSortListModel or #GtkMapListModel
   * stacked above the model looks at an item again only when
   * items-changed says so: set this to %TRUE when one of them reads the
   * fields that change (a #GtkCustomFilter on a "starred" field, a
   * sorter on a date), and each in-place change then tells it to.  The
   * reported range joins the other changes of the same dispatch, so a
   * batch of updates next to each other is one emission; only visible
   * items (within the filter's window) are reported.
   *
   * Filtering and ordering in the query itself (its #NetFilterBase)
   * costs O(log n) per change and needs none of this.
   *
   * Since: 0.2
   */
  properties[PROP_REPORT_UPDATES] =
    g_param_spec_boolean ("report-updates", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_query_model_init (NetQueryModel *self)
{
  self->incremental = TRUE;
}

/* Public API ------------------------------------------------------------------ */

/**
 * net_query_model_get_filter:
 * @self: a #NetQueryModel
 *
 * Gets the filter of the query.
 *
 * Returns: (transfer none) (nullable) (type NetFilterBase): the filter, or
 *   %NULL for every item
 */
GObject *
net_query_model_get_filter (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), NULL);

  return self->filter;
}

static void
on_filter_notify (GObject    *filter,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  NetQueryModel *self = user_data;

  g_object_ref (self);
  refill (self, TRUE, NULL);
  g_object_unref (self);
}

/**
 * net_query_model_set_filter:
 * @self: a #NetQueryModel
 * @filter: (nullable) (type NetFilterBase): a #NetTasksFilter for a tasks
 *   query, a #NetMemoriesFilter for a memories query, or %NULL for every
 *   item
 *
 * Replaces the filter.  The model emits one items-changed covering the
 * items that differ.  Later changes of the filter object's properties
 * update the model too.
 */
void
net_query_model_set_filter (NetQueryModel *self,
                            GObject       *filter)
{
  g_return_if_fail (NET_IS_QUERY_MODEL (self));
  g_return_if_fail (self->funcs != NULL);
  g_return_if_fail (filter == NULL || G_TYPE_CHECK_INSTANCE_TYPE (filter, self->funcs->filter_type ()));

  if (filter != self->filter)
    {
      if (self->filter_notify_id != 0)
        g_clear_signal_handler (&self->filter_notify_id, self->filter);
      g_set_object (&self->filter, filter);
      if (filter != NULL)
        self->filter_notify_id = g_signal_connect (filter, "notify", G_CALLBACK (on_filter_notify), self);
    }

  g_object_ref (self);
  refill (self, self->tree != NULL, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILTER]);
  g_object_unref (self);
}

/**
 * net_query_model_get_seq:
 * @self: a #NetQueryModel
 *
 * Gets the seq of the last event the contents reflect.
 *
 * Returns: the seq
 */
guint64
net_query_model_get_seq (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), 0);

  return self->seq;
}

/**
 * net_query_model_get_closed:
 * @self: a #NetQueryModel
 *
 * Gets #NetQueryModel:closed: whether the model stopped following its
 * source because the database was closed.
 *
 * Returns: %TRUE once the model no longer changes
 *
 * Since: 0.2
 */
gboolean
net_query_model_get_closed (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), FALSE);

  return self->detached;
}

/**
 * net_query_model_get_pending:
 * @self: a #NetQueryModel
 *
 * Gets #NetQueryModel:pending: how many entries the model has still to
 * examine while it fills in steps.
 *
 * Returns: 0 when the model is full, else at least 1
 *
 * Since: 0.2
 */
guint
net_query_model_get_pending (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), 0);

  return self->n_pending;
}

/**
 * net_query_model_get_incremental:
 * @self: a #NetQueryModel
 *
 * Gets #NetQueryModel:incremental.
 *
 * Returns: whether a large query fills in steps
 *
 * Since: 0.2
 */
gboolean
net_query_model_get_incremental (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), FALSE);

  return self->incremental;
}

/**
 * net_query_model_set_incremental:
 * @self: a #NetQueryModel
 * @incremental: whether a large query fills in steps
 *
 * Sets #NetQueryModel:incremental.  %FALSE finishes a fill in progress
 * before returning (emitting what it adds), so the model then equals
 * find_many() as of its #NetQueryModel:seq.
 *
 * Since: 0.2
 */
void
net_query_model_set_incremental (NetQueryModel *self,
                                 gboolean       incremental)
{
  g_return_if_fail (NET_IS_QUERY_MODEL (self));

  incremental = !!incremental;
  if (incremental == self->incremental)
    return;
  self->incremental = incremental;
  if (!incremental && self->walk != NULL)
    fill_run (self, 0, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INCREMENTAL]);
}

/**
 * net_query_model_get_report_updates:
 * @self: a #NetQueryModel
 *
 * Gets #NetQueryModel:report-updates.
 *
 * Returns: whether in-place changes are also reported as items-changed
 *
 * Since: 0.2
 */
gboolean
net_query_model_get_report_updates (NetQueryModel *self)
{
  g_return_val_if_fail (NET_IS_QUERY_MODEL (self), FALSE);

  return self->report_updates;
}

/**
 * net_query_model_set_report_updates:
 * @self: a #NetQueryModel
 * @report_updates: whether to report in-place changes as items-changed
 *
 * Sets #NetQueryModel:report-updates: from the next dispatch on, an item
 * whose fields change without moving is also reported as
 * #GListModel::items-changed (position, 1, 1), so that a
 * #GtkFilterListModel or #GtkSortListModel stacked above re-evaluates it.
 *
 * Since: 0.2
 */
void
net_query_model_set_report_updates (NetQueryModel *self,
                                    gboolean       report_updates)
{
  g_return_if_fail (NET_IS_QUERY_MODEL (self));

  report_updates = !!report_updates;
  if (report_updates == self->report_updates)
    return;
  self->report_updates = report_updates;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPORT_UPDATES]);
}
