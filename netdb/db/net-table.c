/* net-table.c: what every model of a database does the same way
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-owner-private.h"
#include "net-table-private.h"

/* The most items the cache of recent items holds: a few screens of rows
 * and the results of the queries of one handler fit many times over, at
 * about 10 MB for tasks with short titles.  A larger find_many() result
 * raises the bound to its length until the cache lets go (the cache then
 * holds no more items than the application held at once).  When it is
 * full, newer items are not kept (a scan larger than the cache would
 * only push out what the next one needs). */
#define NET_TABLE_RECENT_MIN (1 << 16)

/* The table of a model, for the live queries' callbacks. */
static GQuark
table_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("net-table");
  return quark;
}

/* The fold -------------------------------------------------------------------- */

static gboolean
table_apply (gpointer            user_data,
             guint64             seq,
             const NetEventMeta *meta,
             const guint8       *payload,
             gsize               payload_len,
             GError            **error)
{
  NetTable *self = user_data;

  if (!self->schema->apply (self->model, seq, meta, payload, payload_len, error))
    return FALSE;
  _net_origins_note (&self->origins, meta->origin, meta->app_seq);
  return TRUE;
}

static void
table_deliver (gpointer user_data,
               guint64  first_seq,
               guint64  last_seq)
{
  NetTable *self = user_data;
  g_autoptr(GPtrArray) dirty = NULL;
  GObject *model = self->model;
  GHashTableIter iter;
  gpointer key;

  /* Steal the set first: a notify handler may mutate again. */
  dirty = g_ptr_array_new_full (g_hash_table_size (self->dirty), g_object_unref);
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (dirty, key);
  /* All at once, so the set shrinks back: stolen one by one it kept the
   * size of a bulk insert's peak, and every later delivery walked it. */
  g_hash_table_steal_all (self->dirty);

  g_object_ref (model);
  for (guint i = 0; i < dirty->len; i++)
    self->schema->flush_notify (g_ptr_array_index (dirty, i));

  _net_watch_hub_deliver (&self->watches, last_seq);

  g_object_notify_by_pspec (model, self->applied_pspec);
  if (first_seq <= last_seq)
    g_signal_emit (model, self->changed_signal, 0, first_seq, last_seq);
  g_object_unref (model);
}

static NetFoldRestart
table_restart (gpointer user_data)
{
  NetTable *self = user_data;

  return _net_follow_restart (&self->follow);
}

static const NetFoldFuncs table_fold_funcs = {
  .apply = table_apply,
  .deliver = table_deliver,
  .restart = table_restart,
};

/* Life ------------------------------------------------------------------------ */

static void recent_release (NetTable *self);
static void live_init      (NetTableLive *live);

void
_net_table_init (NetTable             *self,
                 const NetTableSchema *schema,
                 GObject              *model,
                 GParamSpec           *applied_pspec,
                 guint                 changed_signal)
{
  self->schema = schema;
  self->model = model;
  self->applied_pspec = applied_pspec;
  self->changed_signal = changed_signal;
  g_object_set_qdata (model, table_quark (), self);
  _net_origins_init (&self->origins);
  _net_id_table_init (&self->by_id);
  _net_arena_init (&self->arena);
  _net_arena_init (&self->leaves);
  live_init (&self->live);
  self->recent = g_ptr_array_new ();
  self->recent_max = NET_TABLE_RECENT_MIN;
  self->context = _net_owner_context_ref ();
  g_assert (schema->item_link != NULL && schema->new_item != NULL);
  g_assert (schema->n_partitions >= 1 && schema->n_partitions <= NET_TABLE_MAX_PARTITIONS);
  /* The orders' keys are the entries' own fields: their trees hold the
   * entries only. */
  for (guint p = 0; p < schema->n_partitions; p++)
    for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
      self->order[p][k] = _net_table_order_new (k, &self->leaves);
  /* Holds its items: one may be deleted before its notify is flushed. */
  self->dirty = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  _net_watch_hub_init (&self->watches);
}

void
_net_table_dispose (NetTable *self)
{
  if (self->file != NULL)
    _net_follow_clear (&self->follow);
  if (self->fold != NULL)
    g_clear_pointer (&self->fold, _net_fold_free);
  g_clear_object (&self->file);
}

void
_net_table_finalize (NetTable *self)
{
  /* The items that live on keep their last values. */
  if (self->recent_idle != NULL)
    {
      g_source_destroy (self->recent_idle);
      g_clear_pointer (&self->recent_idle, g_source_unref);
    }
  if (self->live.slots != NULL)
    {
      for (guint i = 0; i <= self->live.mask; i++)
        {
          NetTableItemLink *link = self->live.slots[i].link;

          if (link != NULL)
            {
              link->table = NULL;
              link->item = NULL;
            }
        }
      g_clear_pointer (&self->live.slots, g_free);
      self->live.size = 0;
    }
  recent_release (self);
  g_clear_pointer (&self->recent, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->forwarded, g_hash_table_unref);
  _net_watch_hub_clear (&self->watches);
  _net_id_table_clear (&self->by_id);
  for (guint p = 0; p < NET_TABLE_MAX_PARTITIONS; p++)
    for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
      g_clear_pointer (&self->order[p][k], _net_btree_free);
  _net_arena_clear (&self->arena);
  /* The schema freed its sets' trees before. */
  _net_arena_clear (&self->leaves);
  _net_origins_clear (&self->origins);
}

/* Items --------------------------------------------------------------------------- */

static inline NetTableItemLink *
item_link (NetTable *self,
           gpointer  item)
{
  if (self->schema->link_offset != 0)
    return G_STRUCT_MEMBER_P (item, self->schema->link_offset);
  return self->schema->item_link (item);
}

/* The registry of items (NetTableLive) */

/* Two blocks of slots (2 KiB) at least: a shift of 64 would not do. */
#define LIVE_MIN_BITS (NET_TABLE_LIVE_BLOCK_BITS + 1)

static void
live_alloc (NetTableLive *live,
            guint         bits)
{
  live->slots = g_new0 (NetTableLiveSlot, (gsize) 1 << bits);
  live->mask = (1u << bits) - 1;
  live->shift = 64 - (bits - NET_TABLE_LIVE_BLOCK_BITS);
}

static void
live_init (NetTableLive *live)
{
  live->size = 0;
  live_alloc (live, LIVE_MIN_BITS);
}

static void
live_rehash (NetTableLive *live,
             guint         bits)
{
  NetTableLiveSlot *old = live->slots;
  guint old_cap = live->mask + 1;

  g_assert (bits < 32);
  live_alloc (live, bits);
  for (guint i = 0; i < old_cap; i++)
    if (old[i].link != NULL)
      {
        guint j = _net_table_live_slot (live, old[i].id);

        while (live->slots[j].link != NULL)
          j = (j + 1) & live->mask;
        live->slots[j] = old[i];
      }
  g_free (old);
}

/* Makes @link the item of @id (replacing any). */
static void
live_insert (NetTableLive     *live,
             guint64           id,
             NetTableItemLink *link)
{
  guint i;

  if ((live->size + 1) * 4 > (live->mask + 1) * 3)
    live_rehash (live, 64 - live->shift + NET_TABLE_LIVE_BLOCK_BITS + 1);

  for (i = _net_table_live_slot (live, id); live->slots[i].link != NULL; i = (i + 1) & live->mask)
    if (live->slots[i].id == id)
      {
        live->slots[i].link = link;
        return;
      }
  live->slots[i].id = id;
  live->slots[i].link = link;
  live->size++;
}

/* Takes the item of @id out (only if it is @link, unless @link is NULL):
 * the link taken, or NULL. */
static NetTableItemLink *
live_remove (NetTableLive     *live,
             guint64           id,
             NetTableItemLink *link)
{
  guint i = _net_table_live_slot (live, id), j;
  NetTableItemLink *found;

  for (;; i = (i + 1) & live->mask)
    {
      if (live->slots[i].link == NULL)
        return NULL;
      if (live->slots[i].id == id)
        break;
    }
  found = live->slots[i].link;
  if (link != NULL && found != link)
    return NULL;

  /* Backward shift: pull later members of the run into the hole when
   * their home slot allows it. */
  j = i;
  for (;;)
    {
      guint home;

      j = (j + 1) & live->mask;
      if (live->slots[j].link == NULL)
        break;
      home = _net_table_live_slot (live, live->slots[j].id);
      /* Movable when home is not cyclically within (i, j]. */
      if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
        {
          live->slots[i] = live->slots[j];
          i = j;
        }
    }
  live->slots[i].link = NULL;
  live->slots[i].id = 0;
  live->size--;

  /* Shrinks once 1/16 full, to at most half full: the table of the items
   * of a large result goes with them. */
  if (live->size * 16 < live->mask + 1 && live->mask + 1 > (1u << LIVE_MIN_BITS))
    {
      guint bits = LIVE_MIN_BITS;

      while (((guint64) 1 << bits) < (guint64) live->size * 2)
        bits++;
      live_rehash (live, bits);
    }
  return found;
}

/* Makes @item (of no table) the item of its id. */
static void
item_attach (NetTable *self,
             gpointer  item)
{
  NetTableItemLink *link = item_link (self, item);

  g_assert (link->table == NULL);
  link->table = self;
  link->item = item;
  live_insert (&self->live, link->id, link);
}

/* The item of @id, if any, is no longer the item of its id (its entry is
 * gone, or the model); it keeps its last values.  Returns it, referenced,
 * or NULL. */
static gpointer
item_detach (NetTable *self,
             guint64   id)
{
  NetTableItemLink *link = live_remove (&self->live, id, NULL);
  gpointer item;

  if (link == NULL)
    return NULL;
  item = link->item;
  link->table = NULL;
  link->item = NULL;
  return g_object_ref (item);
}

void
_net_table_item_link_release (NetTableItemLink *link)
{
  NetTable *self = link->table;

  if (self == NULL)
    return;
  link->table = NULL;
  link->item = NULL;
  live_remove (&self->live, link->id, link);
}

/* Lets go of the recent items (some may go, and run their dispose). */
static void
recent_release (NetTable *self)
{
  g_autoptr(GPtrArray) recent = NULL;

  if (self->recent->len == 0)
    return;
  /* Steal the array first: a dispose may query again. */
  recent = g_steal_pointer (&self->recent);
  self->recent = g_ptr_array_new ();
  self->recent_max = NET_TABLE_RECENT_MIN;
  for (guint i = 0; i < recent->len; i++)
    {
      gpointer item = g_ptr_array_index (recent, i);

      item_link (self, item)->recent = FALSE;
      g_object_unref (item);
    }
}

static gboolean
recent_idle_cb (gpointer data)
{
  NetTable *self = data;

  g_clear_pointer (&self->recent_idle, g_source_unref);
  recent_release (self);
  return G_SOURCE_REMOVE;
}

/* Keeps the item of @link until the owner context is idle. */
static inline void
recent_keep (NetTable         *self,
             NetTableItemLink *link)
{
  if (link->recent || self->recent->len >= self->recent_max)
    return;
  link->recent = TRUE;
  g_ptr_array_add (self->recent, g_object_ref (link->item));
  if (G_UNLIKELY (self->recent_idle == NULL))
    {
      /* Low: after the redraws and the I/O of the burst. */
      self->recent_idle = g_idle_source_new ();
      g_source_set_priority (self->recent_idle, G_PRIORITY_LOW);
      g_source_set_callback (self->recent_idle, recent_idle_cb, self, NULL);
      g_source_set_static_name (self->recent_idle, "[netdb] recent items");
      _net_owner_attach (self->recent_idle, self->context);
    }
}

/* The item of @entry, whose id is @id (transfer full): see
 * _net_table_ref_item().  The id comes first so that an item that exists
 * is found without reading the entry (a cache miss per result in a large
 * query whose index already holds the id). */
static inline gpointer
ref_item_of (NetTable      *self,
             guint64        id,
             gconstpointer  entry)
{
  NetTableItemLink *link = _net_table_live_link (self, id);
  gpointer item;

  if (link != NULL)
    {
      recent_keep (self, link);
      return g_object_ref (link->item);
    }
  item = self->schema->new_item (self->model, entry);
  link = item_link (self, item);
  g_assert (link->id == id);
  item_attach (self, item);
  recent_keep (self, link);
  return item;
}

gpointer
_net_table_ref_item (NetTable      *self,
                     gconstpointer  entry)
{
  return ref_item_of (self, ((const NetTableEntry *) entry)->id, entry);
}

void
_net_table_entry_inserted (NetTable      *self,
                           gconstpointer  entry)
{
  guint64 id = ((const NetTableEntry *) entry)->id;
  gpointer item = _net_table_adopt_item (self, id);

  if (G_UNLIKELY (item != NULL))
    {
      /* It carries on as the item of its id while someone holds it. */
      self->schema->update_item (item, entry);
      _net_table_mark_dirty (self, item);
      g_object_unref (item);
    }
  _net_watch_hub_touch (&self->watches, id);
}

void
_net_table_entry_changed (NetTable      *self,
                          gconstpointer  entry)
{
  guint64 id = ((const NetTableEntry *) entry)->id;
  gpointer item = _net_table_live_item (self, id);

  if (item != NULL)
    {
      self->schema->update_item (item, entry);
      _net_table_mark_dirty (self, item);
    }
  _net_watch_hub_touch (&self->watches, id);
}

void
_net_table_forget_item (NetTable      *self,
                        gconstpointer  entry)
{
  guint64 id = ((const NetTableEntry *) entry)->id;
  gpointer item;

  if (_net_watch_hub_active (&self->watches))
    {
      g_autoptr(GObject) buried = _net_table_ref_item (self, entry);

      _net_watch_hub_bury (&self->watches, id, buried);
    }
  item = item_detach (self, id);
  if (item != NULL)
    g_object_unref (item);
}

/* Ordered indexes ---------------------------------------------------------------- */

/* A tree of entries by @key (a NET_TABLE_KEY_*), ties by id, whose keys
 * are read from the entries (as _net_table_entry_key() reads them). */
NetBTree *
_net_table_order_new (guint     key,
                      NetArena *leaves)
{
  NetBTree *tree;

  switch (key)
    {
    case NET_TABLE_KEY_CREATED:
      tree = _net_btree_new_derived (G_STRUCT_OFFSET (NetTableEntry, created), TRUE, _net_table_entry_tiebreak);
      break;
    case NET_TABLE_KEY_UPDATED:
      tree = _net_btree_new_derived (G_STRUCT_OFFSET (NetTableEntry, updated), TRUE, _net_table_entry_tiebreak);
      break;
    case NET_TABLE_KEY_ID:
    default:
      tree = _net_btree_new_derived (G_STRUCT_OFFSET (NetTableEntry, id), FALSE, _net_table_entry_tiebreak);
      break;
    }
  if (leaves != NULL)
    _net_btree_set_leaf_arena (tree, leaves);
  return tree;
}

guint64
_net_table_entry_tiebreak (gconstpointer entry)
{
  return ((const NetTableEntry *) entry)->id;
}

static inline guint
partition_of (NetTable      *self,
              gconstpointer  entry)
{
  return self->schema->partition_of != NULL ? self->schema->partition_of (entry) : 0;
}

void
_net_table_index_key (NetTable *self,
                      gpointer  entry,
                      guint     key)
{
  _net_btree_insert (self->order[partition_of (self, entry)][key], _net_table_entry_key (entry, key), entry);
}

void
_net_table_unindex_key (NetTable *self,
                        gpointer  entry,
                        guint     key)
{
  gboolean removed = _net_btree_remove (self->order[partition_of (self, entry)][key],
                                        _net_table_entry_key (entry, key), entry);

  g_assert (removed);
}

void
_net_table_clear_indexes (NetTable *self)
{
  for (guint p = 0; p < self->schema->n_partitions; p++)
    for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
      _net_btree_clear (self->order[p][k]);
}

/* Sorts @items by key, stably (equal keys keep their order): a
 * least-significant-byte-first radix sort, with @tmp as room for @n more
 * items; the passes over a byte that all keys share are skipped.  A
 * restore sorts whole tables: a comparison sort took most of the index
 * build. */
static void
radix_sort_items (NetBTreeItem *items,
                  NetBTreeItem *tmp,
                  gsize         n)
{
  g_autofree gsize *counts = g_new0 (gsize, 8 * 256);
  NetBTreeItem *src = items, *dst = tmp;

  for (gsize i = 0; i < n; i++)
    {
      guint64 key = items[i].key;

      for (guint b = 0; b < 8; b++)
        counts[b * 256 + ((key >> (8 * b)) & 0xff)]++;
    }

  for (guint b = 0; b < 8; b++)
    {
      gsize *count = &counts[b * 256];
      gsize at = 0;

      if (n == 0 || count[(items[0].key >> (8 * b)) & 0xff] == n)
        continue;
      for (guint v = 0; v < 256; v++)
        {
          gsize c = count[v];

          count[v] = at;
          at += c;
        }
      for (gsize i = 0; i < n; i++)
        dst[count[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
      {
        NetBTreeItem *t = src;

        src = dst;
        dst = t;
      }
    }
  if (src != items)
    memcpy (items, src, n * sizeof *items);
}

/* Builds every index of @entries (no two of the same id), into empty
 * trees: each in (key, id) order, sorted once.  The id order comes
 * first; the others are filled in id order and sorted stably by key. */
void
_net_table_index_all (NetTable  *self,
                      gpointer  *entries,
                      guint      n)
{
  guint n_parts = self->schema->n_partitions;
  g_autofree NetBTreeItem *items = g_new (NetBTreeItem, MAX (n, 1));
  g_autofree NetBTreeItem *tmp = NULL;
  g_autofree gpointer *by_id = g_new (gpointer, MAX (n, 1));
  g_autofree guint8 *part = g_new (guint8, MAX (n, 1));
  guint start[NET_TABLE_MAX_PARTITIONS + 1] = { 0 };

  G_STATIC_ASSERT (NET_TABLE_KEY_ID == 0);

  /* The partition of each entry once; the entries of partition p go to
   * items[start[p] .. start[p + 1]). */
  for (guint i = 0; i < n; i++)
    {
      part[i] = partition_of (self, entries[i]);
      start[part[i] + 1]++;
    }
  for (guint p = 0; p < n_parts; p++)
    start[p + 1] += start[p];

  for (guint k = 0; k < NET_TABLE_N_KEYS; k++)
    {
      guint at[NET_TABLE_MAX_PARTITIONS];
      gboolean sorted[NET_TABLE_MAX_PARTITIONS];

      for (guint p = 0; p < n_parts; p++)
        {
          at[p] = start[p];
          sorted[p] = TRUE;
        }
      for (guint i = 0; i < n; i++)
        {
          /* The id order: the entries as they come; the others: in id
           * order (by_id holds each partition's range in it). */
          const NetTableEntry *e = k == NET_TABLE_KEY_ID ? entries[i] : by_id[i];
          guint p = k == NET_TABLE_KEY_ID ? part[i] : 0;
          NetBTreeItem item;

          if (k != NET_TABLE_KEY_ID)
            while (i >= start[p + 1])
              p++;
          item.key = _net_table_entry_key (e, k);
          item.value = (gpointer) e;

          if (at[p] > start[p])
            {
              const NetBTreeItem *prev = &items[at[p] - 1];

              if (item.key < prev->key ||
                  (item.key == prev->key && e->id < ((const NetTableEntry *) prev->value)->id))
                sorted[p] = FALSE;
            }
          items[at[p]++] = item;
        }
      for (guint p = 0; p < n_parts; p++)
        {
          guint m = start[p + 1] - start[p];

          if (!sorted[p])
            {
              if (tmp == NULL)
                tmp = g_new (NetBTreeItem, MAX (n, 1));
              radix_sort_items (&items[start[p]], tmp, m);
            }
          g_assert (_net_btree_size (self->order[p][k]) == 0);
          _net_btree_build (self->order[p][k], &items[start[p]], m);
        }
      if (k == NET_TABLE_KEY_ID)
        for (guint i = 0; i < n; i++)
          by_id[i] = items[i].value;
    }
}

gboolean
_net_table_open (NetTable        *self,
                 NetRedex        *redex,
                 NetRedexConfig  *config,
                 guint64          origin,
                 GError         **error)
{
  self->file = net_redex_open_file (redex, self->schema->what, config, error);
  if (self->file == NULL)
    return FALSE;

  self->origin = origin;
  self->origins.own = origin;
  self->fold = _net_fold_new (self->file, &table_fold_funcs, self,
                              net_redex_file_get_first_seq (self->file) - 1);

  _net_follow_init (&self->follow, &self->schema->follow, self->model, self->schema->what,
                    self->schema->log, self->file, self->fold, &self->origins);
  return TRUE;
}

gboolean
_net_table_catch_up (NetTable  *self,
                     GError   **error)
{
  return _net_fold_catch_up (self->fold, net_redex_file_get_next_seq (self->file) - 1, error);
}

/* Mutations ------------------------------------------------------------------- */

gboolean
_net_table_check_mutation (NetTable  *self,
                           guint64    id,
                           GError   **error)
{
  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "the %s model is closed", self->schema->what);
      return FALSE;
    }
  if (net_redex_file_get_read_only (self->file))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY, "the %s model is read-only", self->schema->what);
      return FALSE;
    }
  if (id == 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "0 is not a %s id (ids are 1 or more)", self->schema->noun);
      return FALSE;
    }
  return TRUE;
}

/* A forwarding follower applies its own mutations only when the leader's
 * event comes back: until then, an id it forwarded a create of exists for
 * its next mutations (a create then a rename is the common case).  Whether
 * @id exists for a mutation, @in_state saying whether the state holds it
 * (from then on the state answers alone). */
static gboolean
forwarded_holds (NetTable *self,
                 gboolean  in_state,
                 guint64   id)
{
  if (self->forwarded == NULL)
    return in_state;
  if (in_state)
    {
      g_hash_table_remove (self->forwarded, &id);
      return TRUE;
    }
  return g_hash_table_contains (self->forwarded, &id);
}

GByteArray *
_net_table_begin_append (NetTable  *self,
                         guint8     dispatch,
                         guint64    id,
                         GError   **error)
{
  if (!_net_follow_check_mutation (&self->follow, error))
    return NULL;

  /* A change of an item the state does not hold is refused where the
   * state is current for this db's writes: on the owner thread, once it
   * folded what the log holds (a forwarding follower checks its own state
   * too).  The fold still takes such an event from another origin as a
   * no-op. */
  if (dispatch != self->schema->create_dispatch)
    {
      GError *local_error = NULL;

      if (_net_fold_current_for_check (self->fold, &local_error) &&
          !forwarded_holds (self, _net_table_lookup (self, id) != NULL, id))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                       "no %s with id %" G_GUINT64_FORMAT, self->schema->noun, id);
          return NULL;
        }
      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
    }

  return _net_follow_begin_append (&self->follow);
}

guint64
_net_table_end_append (NetTable  *self,
                       guint8     dispatch,
                       guint64    id,
                       GError   **error)
{
  gboolean following = self->follow.following;
  guint64 seq;

  seq = _net_follow_end_append (&self->follow, dispatch, error);
  if (following && seq == 0)
    {
      if (dispatch == self->schema->create_dispatch)
        {
          if (self->forwarded == NULL)
            self->forwarded = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
          g_hash_table_add (self->forwarded, g_memdup2 (&id, sizeof id));
        }
      else if (dispatch == self->schema->delete_dispatch && self->forwarded != NULL)
        g_hash_table_remove (self->forwarded, &id);
    }
  return seq;
}

void
_net_table_mark_dirty (NetTable *self,
                       gpointer  item)
{
  if (self->schema->has_pending_notify (item) && !g_hash_table_contains (self->dirty, item))
    g_hash_table_add (self->dirty, g_object_ref (item));
}

/* State ------------------------------------------------------------------------- */

guint64
_net_table_get_applied_seq (NetTable *self)
{
  return self->fold != NULL ? _net_fold_get_applied_seq (self->fold) : 0;
}

guint64
_net_table_get_fold_errors (NetTable *self)
{
  return self->fold != NULL ? _net_fold_get_errors (self->fold) : 0;
}

void
_net_table_wait_for_seq_async (NetTable            *self,
                               guint64              seq,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data,
                               gpointer             source_tag)
{
  if (self->fold == NULL)
    {
      g_task_report_new_error (self->model, callback, user_data, source_tag,
                               NET_ERROR, NET_ERROR_CLOSED, "the %s model is closed", self->schema->what);
      return;
    }

  _net_fold_wait_async (self->fold, self->model, seq, cancellable, callback, user_data, source_tag);
}

gboolean
_net_table_wait_for_seq (NetTable  *self,
                         guint64    seq,
                         guint      timeout_ms,
                         GError   **error)
{
  if (self->fold == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "the %s model is closed", self->schema->what);
      return FALSE;
    }

  return _net_fold_wait (self->fold, seq, timeout_ms, error);
}

gboolean
_net_table_close (NetTable  *self,
                  GError   **error)
{
  if (self->closed)
    return TRUE;
  self->closed = TRUE;

  if (self->fold != NULL)
    _net_fold_stop (self->fold);
  _net_watch_hub_detach_all (&self->watches);

  return net_redex_file_close (self->file, error);
}

/* Set indexes ------------------------------------------------------------------- */

/* FNV-1a over the bytes of @key: inline, a few instructions a byte (a
 * GHashTable lookup cost as much as the rest of a set's update). */
static inline guint32
set_key_hash (const char *key)
{
  guint32 h = 2166136261u;

  for (const guchar *p = (const guchar *) key; *p != '\0'; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

NetTableSet *
_net_table_set_new (const char *key,
                    NetArena   *leaves)
{
  NetTableSet *set = g_new0 (NetTableSet, 1);

  set->key = g_strdup (key);
  set->hash = key != NULL ? set_key_hash (key) : 0;
  set->entries = _net_table_order_new (NET_TABLE_KEY_ID, leaves);
  return set;
}

void
_net_table_set_free (gpointer data)
{
  NetTableSet *set = data;

  _net_btree_free (set->entries);
  g_free (set->key);
  g_free (set);
}

/* The index is open-addressed with linear probing: a set is found at its
 * hash's slot or after it, before the next empty slot.  At most 3/4 full. */
#define SET_INDEX_MIN_SLOTS 8

NetTableSetIndex *
_net_table_set_index_new (NetArena *leaves)
{
  NetTableSetIndex *index = g_new0 (NetTableSetIndex, 1);

  index->leaves = leaves;

  index->slots = g_new0 (NetTableSet *, SET_INDEX_MIN_SLOTS);
  index->mask = SET_INDEX_MIN_SLOTS - 1;
  return index;
}

/* Frees every set (the index stays, empty). */
void
_net_table_set_index_clear (NetTableSetIndex *index)
{
  for (guint i = 0; i <= index->mask; i++)
    g_clear_pointer (&index->slots[i], _net_table_set_free);
  index->n = 0;
}

void
_net_table_set_index_free (NetTableSetIndex *index)
{
  _net_table_set_index_clear (index);
  g_free (index->slots);
  g_free (index);
}

guint
_net_table_set_index_size (NetTableSetIndex *index)
{
  return index->n;
}

/* The slot where a set of @hash would go: the first empty one from its
 * own. */
static guint
set_index_free_slot (NetTableSetIndex *index,
                     guint32           hash)
{
  guint i = hash & index->mask;

  while (index->slots[i] != NULL)
    i = (i + 1) & index->mask;
  return i;
}

static void
set_index_grow (NetTableSetIndex *index)
{
  NetTableSet **old = index->slots;
  guint old_size = index->mask + 1;

  index->slots = g_new0 (NetTableSet *, old_size * 2);
  index->mask = old_size * 2 - 1;
  for (guint i = 0; i < old_size; i++)
    if (old[i] != NULL)
      index->slots[set_index_free_slot (index, old[i]->hash)] = old[i];
  g_free (old);
}

NetTableSet *
_net_table_set_index_lookup (NetTableSetIndex *index,
                             const char       *key,
                             gboolean          create)
{
  guint32 hash = set_key_hash (key);
  NetTableSet *set;
  guint i;

  for (i = hash & index->mask; (set = index->slots[i]) != NULL; i = (i + 1) & index->mask)
    if (set->hash == hash && strcmp (set->key, key) == 0)
      return set;
  if (!create)
    return NULL;

  set = _net_table_set_new (key, index->leaves);
  if ((index->n + 1) * 4 > (index->mask + 1) * 3)
    {
      set_index_grow (index);
      i = set_index_free_slot (index, hash);
    }
  index->slots[i] = set;
  index->n++;
  return set;
}

/* Takes @set out of @index and frees it.  The sets after it in its run
 * move back where a lookup from their own slot would no longer reach
 * them past the hole (no tombstones). */
static void
set_index_remove (NetTableSetIndex *index,
                  NetTableSet      *set)
{
  guint hole = set->hash & index->mask;

  while (index->slots[hole] != set)
    hole = (hole + 1) & index->mask;
  index->slots[hole] = NULL;
  index->n--;

  for (guint j = (hole + 1) & index->mask; index->slots[j] != NULL; j = (j + 1) & index->mask)
    {
      guint home = index->slots[j]->hash & index->mask;

      /* It stays when its home is cyclically in (hole, j]. */
      if (((j - home) & index->mask) < ((j - hole) & index->mask))
        continue;
      index->slots[hole] = index->slots[j];
      index->slots[j] = NULL;
      hole = j;
    }
  _net_table_set_free (set);
}

void
_net_table_set_add (NetTableSetMember *member,
                    NetTableSet       *set,
                    gpointer           entry)
{
  g_assert (member->set == NULL);

  member->set = set;
  _net_btree_insert (set->entries, ((NetTableEntry *) entry)->id, entry);
  set->len++;
}

void
_net_table_set_drop (NetTableSetMember *member,
                     gpointer           entry,
                     NetTableSetIndex  *index)
{
  NetTableSet *set = member->set;
  gboolean removed;

  if (set == NULL)
    return;

  removed = _net_btree_remove (set->entries, ((NetTableEntry *) entry)->id, entry);
  g_assert (removed);
  member->set = NULL;
  if (--set->len == 0 && index != NULL)
    set_index_remove (index, set);
}

/* The planner of the ordered indexes --------------------------------------------- */

void
_net_table_walk_init (NetTable      *self,
                      NetTableWalk  *walk,
                      NetFilterBase *filter)
{
  NetOrderBy order;

  _net_filter_base_get_window (filter, &order, NULL, NULL);
  walk->desc = order == NET_ORDER_BY_ID_DESC || order == NET_ORDER_BY_CREATED_DESC ||
               order == NET_ORDER_BY_UPDATED_DESC;
  switch (order)
    {
    case NET_ORDER_BY_CREATED_ASC:
    case NET_ORDER_BY_CREATED_DESC:
      walk->key = NET_TABLE_KEY_CREATED;
      break;
    case NET_ORDER_BY_UPDATED_ASC:
    case NET_ORDER_BY_UPDATED_DESC:
      walk->key = NET_TABLE_KEY_UPDATED;
      break;
    case NET_ORDER_BY_ID_ASC:
    case NET_ORDER_BY_ID_DESC:
    default:
      walk->key = NET_TABLE_KEY_ID;
      break;
    }
  _net_filter_base_get_time_bounds (filter, &walk->created_after, &walk->created_before,
                                    &walk->updated_after, &walk->updated_before);
  walk->partitions = (1u << self->schema->n_partitions) - 1;
  walk->nothing_else = _net_filter_base_time_unbounded (filter);
  walk->matches = NULL;
  walk->match_data = NULL;
}

static inline gboolean
in_bounds (gint64 value,
           gint64 after,
           gint64 before)
{
  /* The filters' rule: 0 is "no lower bound". */
  return (after == 0 || value >= after) && value <= before;
}

/* The per-entry check, the partition aside. */
static inline gboolean
walk_check (const NetTableWalk *w,
            gconstpointer       entry)
{
  const NetTableEntry *e = entry;

  if (w->nothing_else)
    return TRUE;
  return in_bounds (e->created, w->created_after, w->created_before) &&
         in_bounds (e->updated, w->updated_after, w->updated_before) &&
         (w->matches == NULL || w->matches (entry, w->match_data));
}

gboolean
_net_table_walk_matches (NetTable           *self,
                         const NetTableWalk *walk,
                         gconstpointer       entry)
{
  return (walk->partitions & (1u << partition_of (self, entry))) != 0 && walk_check (walk, entry);
}

/* Is @e past the end of the range its order key is bounded to? */
static inline gboolean
walk_past_end (const NetTableWalk  *w,
               const NetTableEntry *e)
{
  gint64 v, after, before;

  if (w->key == NET_TABLE_KEY_CREATED)
    v = e->created, after = w->created_after, before = w->created_before;
  else if (w->key == NET_TABLE_KEY_UPDATED)
    v = e->updated, after = w->updated_after, before = w->updated_before;
  else
    return FALSE;

  return w->desc ? (after != 0 && v < after) : v > before;
}

/* Where a stream of @tree starts: the first entry inside the bounds of the
 * order key, from the end for descending orders. */
static gboolean
walk_seek (const NetTableWalk *w,
           NetBTree           *tree,
           NetBTreeIter       *it)
{
  gint64 after = 0, before = G_MAXINT64;
  guint pos;

  if (w->key == NET_TABLE_KEY_CREATED)
    after = w->created_after, before = w->created_before;
  else if (w->key == NET_TABLE_KEY_UPDATED)
    after = w->updated_after, before = w->updated_before;

  if (!w->desc)
    {
      if (after == 0)
        return _net_btree_iter_first (tree, it);
      return _net_btree_iter_nth (tree, _net_btree_lower_bound (tree, _net_btree_key_from_int (after), 0), it);
    }

  if (before == G_MAXINT64)
    return _net_btree_iter_last (tree, it);
  pos = _net_btree_lower_bound (tree, _net_btree_key_from_int (before + 1), 0);
  return pos > 0 && _net_btree_iter_nth (tree, pos - 1, it);
}

/* How far ahead a walk of more than WALK_PREFETCH_MIN entries fetches. */
#define WALK_PREFETCH     32
#define WALK_PREFETCH_MIN (1 << 16)

static inline void
walk_prefetch (gconstpointer entry)
{
#ifdef __GNUC__
  __builtin_prefetch (entry);
#endif
}

/* A walk of one index in runs of its leaves (no call per item). */
typedef struct
{
  NetBTreeIter        it;
  gpointer const     *run;
  guint               n;      /* items in the run */
  guint               k;      /* the current one */
  gboolean            desc;
  gboolean            live;
} WalkCursor;

static inline void
walk_cursor_init (WalkCursor         *c,
                  const NetBTreeIter *it,
                  gboolean            desc,
                  gboolean            live)
{
  c->it = *it;
  c->desc = desc;
  c->live = live;
  c->k = 0;
  c->n = live ? _net_btree_iter_run_values (&c->it, desc, &c->run) : 0;
}

static inline const NetTableEntry *
walk_cursor_get (const WalkCursor *c)
{
  return c->desc ? c->run[-(gssize) c->k] : c->run[c->k];
}

static inline void
walk_cursor_next (WalkCursor *c)
{
  if (++c->k < c->n)
    return;
  c->k = 0;
  c->live = _net_btree_iter_next_leaf (&c->it, c->desc);
  c->n = c->live ? _net_btree_iter_run_values (&c->it, c->desc, &c->run) : 0;
}

/* The item of @link: what a ref reads (its reference count, its link). */
static inline void
walk_prefetch_link (NetTable         *self,
                    NetTableItemLink *link)
{
  walk_prefetch (link);
  if (self->schema->link_offset != 0)
    walk_prefetch ((const guint8 *) link - self->schema->link_offset);
}

static gboolean collect_cb      (gpointer thing,
                                 gpointer data);
static gboolean collect_with_id (gpointer thing,
                                 guint64  id,
                                 gpointer data);

/* Hands @e (its index key @key) to @func, unless @w's conditions or
 * the *@skip leading matches pass over it; FALSE when @func stops the
 * walk. */
static inline gboolean
walk_emit (const NetTableWalk  *w,
           const NetTableEntry *e,
           guint64              key,
           guint               *skip,
           gboolean             with_id,
           NetTableVisitFunc    func,
           gpointer             data)
{
  if (!walk_check (w, e))
    return TRUE;
  if (*skip > 0)
    {
      (*skip)--;
      return TRUE;
    }
  return with_id ? collect_with_id ((gpointer) e, key, data) : func ((gpointer) e, data);
}

/*
 * Visits the entries of @w in its order, without sorting: each partition
 * keeps its entries in every order, several partitions merge their
 * streams, and a bounded order key starts and stops at its bounds.  @skip
 * leading matches are passed over (in O(log n) when one partition and
 * nothing else selects).
 */
void
_net_table_walk (NetTable           *self,
                 const NetTableWalk *w,
                 guint               skip,
                 NetTableVisitFunc   func,
                 gpointer            data)
{
  NetBTreeIter it[NET_TABLE_MAX_PARTITIONS];
  gboolean live[NET_TABLE_MAX_PARTITIONS] = { FALSE, };
  guint n = self->schema->n_partitions;
  guint n_live = 0, only = 0;
  /* find_many() in id order: the index's key is the id, which is all
   * the collector needs of an entry whose item exists. */
  gboolean with_id = func == collect_cb && w->key == NET_TABLE_KEY_ID;

  for (guint p = 0; p < n; p++)
    {
      if ((w->partitions & (1u << p)) == 0)
        continue;
      live[p] = walk_seek (w, self->order[p][w->key], &it[p]);
      n_live++;
      only = p;
    }

  /* One stream and nothing to check: jump over the skipped entries. */
  if (skip > 0 && n_live == 1 && w->nothing_else && live[only])
    {
      NetBTree *tree = self->order[only][w->key];
      guint size = _net_btree_size (tree);

      if (skip >= size)
        return;
      live[only] = _net_btree_iter_nth (tree, w->desc ? size - 1 - skip : skip, &it[only]);
      skip = 0;
    }

  /* One stream: no merge. */
  if (n_live == 1)
    {
      /* In a large index the entries are scattered beyond the caches: the
       * walk reads the index WALK_PREFETCH entries ahead (into @ring) and
       * fetches what it will read of them early, so that reading it is
       * seldom a wait for memory: the entries first (the index holds
       * them only, not their keys), then find_many, half as far ahead,
       * the items' registry slots (by the entries' ids) and a quarter as
       * far ahead the items they hold. */
      WalkCursor ahead;
      gboolean prefetch = _net_btree_size (self->order[only][w->key]) > WALK_PREFETCH_MIN;
      gboolean fetch_items = prefetch && func == collect_cb && self->schema->entry_item == NULL;
      const NetTableEntry *ring[WALK_PREFETCH];
      guint64 pos = 0, ahead_pos = 0;

      walk_cursor_init (&ahead, &it[only], w->desc, live[only]);
      for (;;)
        {
          const NetTableEntry *e;

          for (; ahead.live && ahead_pos < pos + WALK_PREFETCH; ahead_pos++)
            {
              const NetTableEntry *next = walk_cursor_get (&ahead);

              if (prefetch)
                walk_prefetch (next);
              ring[ahead_pos % WALK_PREFETCH] = next;
              walk_cursor_next (&ahead);
            }
          if (pos == ahead_pos)
            break;
          if (fetch_items && pos + WALK_PREFETCH / 2 < ahead_pos)
            {
              guint64 id = ring[(pos + WALK_PREFETCH / 2) % WALK_PREFETCH]->id;

              walk_prefetch (&self->live.slots[_net_table_live_slot (&self->live, id)]);
            }
          if (fetch_items && pos + WALK_PREFETCH / 4 < ahead_pos)
            {
              guint64 id = ring[(pos + WALK_PREFETCH / 4) % WALK_PREFETCH]->id;
              const NetTableLiveSlot *slot = &self->live.slots[_net_table_live_slot (&self->live, id)];

              if (slot->link != NULL && slot->id == id)
                walk_prefetch_link (self, slot->link);
            }
          e = ring[pos++ % WALK_PREFETCH];
          if (walk_past_end (w, e))
            break;
          if (!walk_emit (w, e, e->id, &skip, with_id, func, data))
            break;
        }
      return;
    }

  for (;;)
    {
      const NetTableEntry *e = NULL;
      guint64 key = 0;
      guint pick = 0;

      /* The next entry in order among the live streams (ties by id). */
      for (guint p = 0; p < n; p++)
        {
          const NetTableEntry *c;
          guint64 k;

          if (!live[p])
            continue;
          c = _net_btree_iter_value (&it[p]);
          k = _net_table_entry_key (c, w->key);
          if (e != NULL)
            {
              gboolean before;

              if (k != key)
                before = k < key;
              else
                before = c->id < e->id;
              if (before == w->desc)
                continue;
            }
          e = c;
          key = k;
          pick = p;
        }
      if (e == NULL)
        break;

      if (walk_past_end (w, e))
        {
          live[pick] = FALSE;
          continue;
        }
      live[pick] = w->desc ? _net_btree_iter_prev (&it[pick]) : _net_btree_iter_next (&it[pick]);
      if (!walk_emit (w, e, key, &skip, with_id, func, data))
        break;
    }
}

gboolean
_net_table_walk_count_fast (NetTable           *self,
                            const NetTableWalk *walk,
                            guint              *n)
{
  if (!walk->nothing_else)
    return FALSE;
  *n = 0;
  for (guint p = 0; p < self->schema->n_partitions; p++)
    if (walk->partitions & (1u << p))
      *n += _net_btree_size (self->order[p][NET_TABLE_KEY_ID]);
  return TRUE;
}

/* Resumable walks (the fills of live queries) ------------------------------------ */

/*
 * A live query over a large table fills in steps (net-query-model.c):
 * each step walks on from the last entry it examined, in the filter's
 * order, over every entry within the bounds of the order key (the
 * query's match() checks the rest), so that the cursor moves on each
 * entry and a step can stop after any of them.  A fresh seek each step:
 * the table may change between steps.
 */
typedef struct
{
  NetTable     *table;
  NetTableWalk  w;
} TableWatchWalk;

static gpointer
table_watch_walk_new (GObject *source,
                      GObject *filter)
{
  TableWatchWalk *ww = g_new0 (TableWatchWalk, 1);

  ww->table = g_object_get_qdata (source, table_quark ());
  _net_table_walk_init (ww->table, &ww->w, (NetFilterBase *) filter);
  ww->w.nothing_else = TRUE;
  return ww;
}

/* The bounds of @w's order key, as positions of @tree: [*lo, *hi). */
static void
table_watch_walk_range (const NetTableWalk *w,
                        NetBTree           *tree,
                        guint              *lo,
                        guint              *hi)
{
  gint64 after = 0, before = G_MAXINT64;

  if (w->key == NET_TABLE_KEY_CREATED)
    after = w->created_after, before = w->created_before;
  else if (w->key == NET_TABLE_KEY_UPDATED)
    after = w->updated_after, before = w->updated_before;

  *lo = after == 0 ? 0 : _net_btree_lower_bound (tree, _net_btree_key_from_int (after), 0);
  *hi = before == G_MAXINT64 ? _net_btree_size (tree)
                             : _net_btree_lower_bound (tree, _net_btree_key_from_int (before + 1), 0);
}

/* The position in @tree of the first entry after (@key, @id) in @w's
 * order (@key as _net_table_walk_key() gives it), within [lo, hi): for
 * a descending walk, the position after it (the walk goes down). */
static guint
table_watch_walk_seek (const NetTableWalk *w,
                       NetBTree           *tree,
                       gboolean            resume,
                       guint64             key,
                       guint64             id,
                       guint               lo,
                       guint               hi)
{
  guint64 raw = w->desc ? ~key : key;
  guint pos;

  if (!resume)
    return w->desc ? hi : lo;
  if (!w->desc)
    {
      if (id < G_MAXUINT64)
        pos = _net_btree_lower_bound (tree, raw, id + 1);
      else
        pos = raw < G_MAXUINT64 ? _net_btree_lower_bound (tree, raw + 1, 0) : _net_btree_size (tree);
      return CLAMP (pos, lo, hi);
    }
  pos = _net_btree_lower_bound (tree, raw, id);
  return CLAMP (pos, lo, hi);
}

static guint
table_watch_walk_remaining (GObject  *source,
                            gpointer  walk,
                            gboolean  resume,
                            guint64   key,
                            guint64   id)
{
  TableWatchWalk *ww = walk;
  NetTable *self = ww->table;
  guint n = 0;

  for (guint p = 0; p < self->schema->n_partitions; p++)
    {
      NetBTree *tree = self->order[p][ww->w.key];
      guint lo, hi, pos;

      if ((ww->w.partitions & (1u << p)) == 0)
        continue;
      table_watch_walk_range (&ww->w, tree, &lo, &hi);
      if (lo >= hi)
        continue;
      pos = table_watch_walk_seek (&ww->w, tree, resume, key, id, lo, hi);
      n += ww->w.desc ? pos - lo : hi - pos;
    }
  return n;
}

static void
table_watch_walk (GObject  *source,
                  gpointer  walk,
                  gboolean  resume,
                  guint64   key,
                  guint64   id,
                  gboolean (*func) (guint64, guint64, gpointer),
                  gpointer  data)
{
  TableWatchWalk *ww = walk;
  NetTable *self = ww->table;
  const NetTableWalk *w = &ww->w;
  NetBTreeIter it[NET_TABLE_MAX_PARTITIONS];
  guint left[NET_TABLE_MAX_PARTITIONS] = { 0, };
  guint n = self->schema->n_partitions;

  for (guint p = 0; p < n; p++)
    {
      NetBTree *tree = self->order[p][w->key];
      guint lo, hi, pos;

      if ((w->partitions & (1u << p)) == 0)
        continue;
      table_watch_walk_range (w, tree, &lo, &hi);
      if (lo >= hi)
        continue;
      pos = table_watch_walk_seek (w, tree, resume, key, id, lo, hi);
      left[p] = w->desc ? pos - lo : hi - pos;
      if (left[p] > 0 && !_net_btree_iter_nth (tree, w->desc ? pos - 1 : pos, &it[p]))
        left[p] = 0;
    }

  for (;;)
    {
      const NetTableEntry *e = NULL;
      guint64 best_key = 0;
      guint pick = 0;

      /* The next entry in the walk's order among the streams (ties by
       * id, flipped with the key for descending orders). */
      for (guint p = 0; p < n; p++)
        {
          const NetTableEntry *c;
          guint64 k;

          if (left[p] == 0)
            continue;
          c = _net_btree_iter_value (&it[p]);
          k = _net_table_walk_key (w, c);
          if (e != NULL &&
              (k > best_key || (k == best_key && (w->desc ? ~c->id > ~e->id : c->id > e->id))))
            continue;
          e = c;
          best_key = k;
          pick = p;
        }
      if (e == NULL)
        break;

      if (--left[pick] > 0 &&
          !(w->desc ? _net_btree_iter_prev (&it[pick]) : _net_btree_iter_next (&it[pick])))
        left[pick] = 0;
      if (!func (e->id, best_key, data))
        break;
    }
}

static const NetQueryWalker table_watch_walker = {
  .walk_new = table_watch_walk_new,
  .walk_free = g_free,
  .remaining = table_watch_walk_remaining,
  .walk = table_watch_walk,
};

/* The planner of the set indexes ------------------------------------------------- */

void
_net_table_plan_init (NetTable     *self,
                      NetTablePlan *plan)
{
  memset (plan, 0, sizeof *plan);
  plan->size = _net_id_table_size (&self->by_id);
}

void
_net_table_plan_clear (NetTablePlan *plan)
{
  g_clear_pointer (&plan->sets, g_ptr_array_unref);
}

void
_net_table_plan_consider (NetTablePlan *plan,
                          NetTableSet  *set)
{
  if (set == NULL)
    plan->none = TRUE;
  else if (set->len < plan->size)
    {
      plan->set = set;
      plan->size = set->len;
      g_clear_pointer (&plan->sets, g_ptr_array_unref);
    }
}

void
_net_table_plan_any_of (NetTablePlan  *plan,
                        NetTableSet  **sets,
                        guint          n_sets)
{
  g_autoptr(GPtrArray) union_sets = NULL;
  guint64 total = 0;

  if (plan->none)
    return;

  union_sets = g_ptr_array_new ();
  for (guint i = 0; i < n_sets; i++)
    if (sets[i] != NULL && !g_ptr_array_find (union_sets, sets[i], NULL))
      {
        g_ptr_array_add (union_sets, sets[i]);
        total += sets[i]->len;
      }

  if (union_sets->len == 0)
    plan->none = TRUE;
  else if (total < plan->size)
    {
      plan->set = NULL;
      g_clear_pointer (&plan->sets, g_ptr_array_unref);
      plan->sets = g_steal_pointer (&union_sets);
      plan->size = total;
    }
}

typedef struct
{
  guint              skip;
  NetTableVisitFunc  func;
  gpointer           data;
} Skipper;

static gboolean
skip_cb (gpointer entry,
         gpointer data)
{
  Skipper *k = data;

  if (k->skip > 0)
    {
      k->skip--;
      return TRUE;
    }
  return k->func (entry, k->data);
}

/* Calls @func on the entries of @tree (by id) that pass @w's checks, in
 * id order or reversed, until it returns FALSE. */
static gboolean
walk_set (NetBTree           *tree,
          gboolean            desc,
          const NetTableWalk *w,
          NetTableVisitFunc   func,
          gpointer            data)
{
  NetBTreeIter it;
  gboolean ok;

  for (ok = desc ? _net_btree_iter_last (tree, &it) : _net_btree_iter_first (tree, &it);
       ok;
       ok = desc ? _net_btree_iter_prev (&it) : _net_btree_iter_next (&it))
    {
      gpointer e = _net_btree_iter_value (&it);

      if (walk_check (w, e) && !func (e, data))
        return FALSE;
    }
  return TRUE;
}

/* Calls @func once on each entry of the union @sets that passes @w's
 * checks: an entry is visited from the first of the sets that holds it
 * only. */
static void
walk_union (GPtrArray          *sets,
            const NetTableWalk *w,
            NetTableVisitFunc   func,
            gpointer            data)
{
  for (guint i = 0; i < sets->len; i++)
    {
      NetTableSet *set = g_ptr_array_index (sets, i);
      NetBTreeIter it;

      for (gboolean ok = _net_btree_iter_first (set->entries, &it); ok; ok = _net_btree_iter_next (&it))
        {
          const NetTableEntry *e = _net_btree_iter_value (&it);
          gboolean seen = FALSE;

          for (guint j = 0; j < i && !seen; j++)
            seen = _net_btree_position (((NetTableSet *) g_ptr_array_index (sets, j))->entries,
                                        e->id, (gpointer) e) >= 0;
          if (!seen && walk_check (w, e) && !func ((gpointer) e, data))
            return;
        }
    }
}

static gboolean
push_cb (gpointer entry,
         gpointer data)
{
  g_ptr_array_add (data, entry);
  return TRUE;
}

static int
compare_in_walk (gconstpointer a,
                 gconstpointer b,
                 gpointer      data)
{
  const NetTableWalk *w = data;
  const NetTableEntry *ea = *(const NetTableEntry * const *) a;
  const NetTableEntry *eb = *(const NetTableEntry * const *) b;
  guint64 ka = _net_table_walk_key (w, ea);
  guint64 kb = _net_table_walk_key (w, eb);
  guint64 ia = w->desc ? ~ea->id : ea->id;
  guint64 ib = w->desc ? ~eb->id : eb->id;

  if (ka != kb)
    return ka < kb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

void
_net_table_plan_visit (NetTable           *self,
                       NetTablePlan       *plan,
                       const NetTableWalk *walk,
                       gboolean            ordered,
                       gboolean            set_is_all,
                       guint               skip,
                       guint               window,
                       NetTableVisitFunc   func,
                       gpointer            data)
{
  g_autoptr(GPtrArray) matches = NULL;
  NetTableWalk w = *walk;
  Skipper k = { skip, func, data };

  if (!ordered)
    {
      w.key = NET_TABLE_KEY_ID;
      w.desc = FALSE;
    }
  if (skip > 0)
    {
      func = skip_cb;
      data = &k;
    }

  if (plan->none)
    return;

  /* No set narrows it: the ordered index, in the wanted order. */
  if (plan->set == NULL && plan->sets == NULL)
    {
      _net_table_walk (self, &w, 0, func, data);
      return;
    }

  /* A set is in id order: it may be all the query asks for. */
  if (plan->set != NULL && w.key == NET_TABLE_KEY_ID)
    {
      NetTableWalk all = w;

      if (set_is_all)
        all.nothing_else = TRUE;
      walk_set (plan->set->entries, w.desc, &all, func, data);
      return;
    }

  if (!ordered)
    {
      walk_union (plan->sets, &w, func, data);
      return;
    }

  /* A short window in a large candidate set: the ordered index reaches it
   * after about window × n / size entries, sooner than sorting the set. */
  if (window > 0 &&
      (guint64) window * _net_id_table_size (&self->by_id) < (guint64) plan->size * plan->size)
    {
      _net_table_walk (self, &w, 0, func, data);
      return;
    }

  matches = g_ptr_array_sized_new (plan->size);
  if (plan->set != NULL)
    walk_set (plan->set->entries, FALSE, &w, push_cb, matches);
  else
    walk_union (plan->sets, &w, push_cb, matches);

  g_ptr_array_sort_with_data (matches, compare_in_walk, &w);
  for (guint i = 0; i < matches->len; i++)
    if (!func (g_ptr_array_index (matches, i), data))
      break;
}

/* Queries ----------------------------------------------------------------------- */

typedef struct
{
  NetTable  *table;
  GPtrArray *result;
  guint      limit;    /* 0: all */
} Collect;

/* Adds the item of @thing (the entry of @id, when the schema has no
 * entry_item) to the result. */
static inline gboolean
collect_add (Collect  *c,
             gpointer  thing,
             guint64   id)
{
  NetTable *self = c->table;
  gpointer item;

  /* The cache may hold as many items as this result. */
  if (c->result->len >= self->recent_max)
    self->recent_max = c->result->len + 1;
  if (self->schema->entry_item != NULL)
    item = self->schema->entry_item (self->model, thing);
  else
    {
      /* The common case of a query again within a burst: its item exists
       * and the cache keeps it already. */
      NetTableItemLink *link = _net_table_live_link (self, id);

      if (G_LIKELY (link != NULL && link->recent))
        item = g_object_ref (link->item);
      else
        item = ref_item_of (self, id, thing);
    }
  g_ptr_array_add (c->result, item);
  return c->limit == 0 || c->result->len < c->limit;
}

static gboolean
collect_cb (gpointer thing,
            gpointer data)
{
  Collect *c = data;

  return collect_add (c, thing, c->table->schema->entry_item != NULL ? 0 : ((NetTableEntry *) thing)->id);
}

/* collect_cb() of an entry whose id the caller knows. */
static gboolean
collect_with_id (gpointer thing,
                 guint64  id,
                 gpointer data)
{
  return collect_add (data, thing, id);
}

static void
collect (NetTable      *self,
         NetFilterBase *filter,
         guint          offset,
         Collect       *c)
{
  guint window = 0;

  if (c->limit > 0)
    window = offset > G_MAXUINT - c->limit ? G_MAXUINT : offset + c->limit;
  self->schema->visit (self->model, filter, TRUE, offset, window, collect_cb, c);
}

GPtrArray *
_net_table_find_many (NetTable      *self,
                      NetFilterBase *filter)
{
  Collect c = { self, NULL, 0 };
  guint offset, expect = 0;

  _net_filter_base_get_window (filter, NULL, &offset, &c.limit);
  if (self->schema->count_fast (self->model, filter, &expect))
    expect = expect > offset ? expect - offset : 0;
  else
    expect = MIN (c.limit, 4096);   /* a window: room for a page at once */
  if (c.limit != 0)
    expect = MIN (expect, c.limit);

  c.result = g_ptr_array_new_full (expect, g_object_unref);
  collect (self, filter, offset, &c);
  return c.result;
}

gpointer
_net_table_find_first (NetTable      *self,
                       NetFilterBase *filter)
{
  Collect c = { self, NULL, 1 };
  gpointer item = NULL;
  guint offset;

  _net_filter_base_get_window (filter, NULL, &offset, NULL);
  c.result = g_ptr_array_new_with_free_func (g_object_unref);
  collect (self, filter, offset, &c);
  if (c.result->len > 0)
    item = g_object_ref (g_ptr_array_index (c.result, 0));
  g_ptr_array_unref (c.result);
  return item;
}

static gboolean
count_cb (gpointer thing,
          gpointer data)
{
  (*(guint *) data)++;
  return TRUE;
}

static gboolean
exists_cb (gpointer thing,
           gpointer data)
{
  *(gboolean *) data = TRUE;
  return FALSE;
}

guint
_net_table_count (NetTable      *self,
                  NetFilterBase *filter)
{
  guint n = 0;

  if (filter == NULL)
    return _net_id_table_size (&self->by_id);
  if (!self->schema->count_fast (self->model, filter, &n))
    self->schema->visit (self->model, filter, FALSE, 0, 0, count_cb, &n);
  return n;
}

gboolean
_net_table_exists (NetTable      *self,
                   NetFilterBase *filter)
{
  gboolean found = FALSE;
  guint n;

  if (filter == NULL)
    return _net_id_table_size (&self->by_id) > 0;
  if (self->schema->count_fast (self->model, filter, &n))
    return n > 0;
  self->schema->visit (self->model, filter, FALSE, 0, 0, exists_cb, &found);
  return found;
}

/* Live queries ----------------------------------------------------------------- */

NetQueryModel *
_net_table_watch (NetTable            *self,
                  const NetQueryFuncs *funcs,
                  NetFilterBase       *filter)
{
  return _net_watch_hub_watch (&self->watches, self->model, funcs, &table_watch_walker,
                               (GObject *) filter, _net_table_get_applied_seq (self), self->closed);
}

/* NetQueryFuncs.get_item: a live item, or one deleted since the last
 * delivery. */
gpointer
_net_table_watch_get_item (GObject *source,
                           guint64  id)
{
  NetTable *self = g_object_get_qdata (source, table_quark ());
  gpointer entry = _net_table_lookup (self, id);
  gpointer item;

  if (entry != NULL)
    return self->schema->item_of_entry != NULL ? self->schema->item_of_entry (self->model, entry) :
                                                 _net_table_ref_item (self, entry);
  item = _net_watch_hub_grave (&self->watches, id);
  return item != NULL ? g_object_ref (item) : NULL;
}

void
_net_table_watch_get_window (GObject *filter,
                             guint   *offset,
                             guint   *limit)
{
  _net_filter_base_get_window ((NetFilterBase *) filter, NULL, offset, limit);
}

/* Snapshots -------------------------------------------------------------------- */

typedef struct
{
  NetTable   *table;
  NetEncoder  enc;
  GByteArray *item;
} SnapshotWriter;

static void
write_entry_cb (gpointer entry,
                gpointer data)
{
  SnapshotWriter *w = data;
  NetEncoder sub;

  g_byte_array_set_size (w->item, 0);
  net_encoder_init (&sub, w->item);
  w->table->schema->encode_entry (entry, &sub);
  net_encoder_put_bytes (&w->enc, NET_SNAPSHOT_ITEM, w->item->data, w->item->len);
}

GBytes *
_net_table_snapshot (NetTable *self)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) item = g_byte_array_new ();
  SnapshotWriter w = { self, { 0 }, item };

  net_encoder_init (&w.enc, buf);
  _net_snapshot_write_head (&w.enc, _net_table_get_applied_seq (self),
                            _net_table_get_fold_errors (self), &self->origins);
  self->schema->foreach_snapshot_entry (self->model, write_entry_cb, &w);
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

/* Restores --------------------------------------------------------------------- */

typedef struct
{
  NetTable *table;
  GArray   *records;   /* its first n hold records; the rest are zeroed */
  guint     n;
  NetArena  arena;     /* where their entries come from */
} RecordReader;

static gboolean
read_record_cb (const NetField  *field,
                gpointer         user_data,
                GError         **error)
{
  RecordReader *r = user_data;

  /* Zeroed room for many records at once, not one g_array_set_size()
   * per record. */
  if (r->n == r->records->len)
    g_array_set_size (r->records, MAX (2 * r->n, 1024));

  /* A record that fails to decode is left zeroed: nothing to clear. */
  if (!r->table->schema->decode_record (field, r->records->data + r->n * r->table->schema->record_size,
                                        &r->arena, error))
    return FALSE;
  r->n++;
  return TRUE;
}

gpointer
_net_table_adopt_item_slow (NetTable *self,
                            guint64   id)
{
  gpointer key, item;

  if (g_hash_table_size (self->adopt) == 0 ||
      !g_hash_table_steal_extended (self->adopt, &id, &key, &item))
    return NULL;
  g_free (key);
  item_attach (self, item);
  return item;
}

guint
_net_table_insert_restored (NetTable  *self,
                            gpointer  *entries,
                            guint      n)
{
  gboolean replaced = FALSE;
  guint kept = 0;

  _net_id_table_reserve (&self->by_id, _net_id_table_size (&self->by_id) + n);
  for (guint i = 0; i < n; i++)
    {
      NetTableEntry *e = entries[i];
      NetTableEntry *old;

      /* The slots are at random: fetch one a few entries ahead. */
      if (i + 8 < n)
        _net_id_table_prefetch (&self->by_id, ((NetTableEntry *) entries[i + 8])->id);
      old = _net_id_table_lookup (&self->by_id, e->id);

      /* A snapshot holds each id once; be safe anyway: the later wins. */
      if (G_UNLIKELY (old != NULL))
        {
          _net_id_table_remove (&self->by_id, e->id);
          for (guint j = 0; j < i; j++)
            if (entries[j] == old)
              entries[j] = NULL;
          _net_table_forget_item (self, old);
          self->schema->free_entry (self->model, old);
          replaced = TRUE;
        }
      _net_id_table_insert (&self->by_id, e);
    }
  for (guint i = 0; i < n; i++)
    {
      NetTableEntry *e = entries[i];

      if (G_UNLIKELY (replaced) && e == NULL)
        continue;
      entries[kept++] = e;
      _net_table_entry_inserted (self, e);
    }
  _net_table_index_all (self, entries, kept);
  return kept;
}

/* Sets every item that exists aside, in self->adopt, for the restored
 * state to take back. */
static void
keep_items (NetTable *self)
{
  NetTableLive *live = &self->live;

  for (guint i = 0; i <= live->mask; i++)
    {
      NetTableItemLink *link = live->slots[i].link;

      if (link == NULL)
        continue;
      g_hash_table_insert (self->adopt, g_memdup2 (&link->id, sizeof link->id),
                           g_object_ref (link->item));
      link->table = NULL;
      link->item = NULL;
    }
  g_free (live->slots);
  live_init (live);
}

gboolean
_net_table_restore (NetTable  *self,
                    GBytes    *snapshot,
                    GError   **error)
{
  g_autoptr(GArray) origins = g_array_new (FALSE, FALSE, sizeof (NetOriginSeq));
  GArray *records = g_array_new (FALSE, TRUE, self->schema->record_size);
  RecordReader reader = { self, records, 0 };
  guint64 applied = 0, fold_errors = 0;
  gboolean ok = FALSE;

  _net_arena_init (&reader.arena);
  g_array_set_clear_func (records, self->schema->record_clear);

  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "the %s model is closed", self->schema->what);
      goto out;
    }
  if (!_net_follow_check_restore (&self->follow, error))
    goto out;

  if (!_net_snapshot_read (snapshot, self->schema->what, read_record_cb, &reader, &applied,
                           &fold_errors, origins, error))
    goto out;
  g_array_set_size (records, reader.n);

  /* The seq rules of DESIGN.md §4: never skip an event. */
  if (!_net_fold_prepare_restore (self->file, applied, error))
    goto out;

  /* Swap the state in.  The items that exist carry on (whoever holds one
   * sees it change), adopted by the restored entries and those the log
   * replays; the others keep their last values. */
  _net_watch_hub_reset (&self->watches);
  _net_origins_replace (&self->origins, origins);
  self->adopt = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  keep_items (self);
  self->schema->replace_entries (self->model, records, &reader.arena);
  g_array_set_size (records, 0);

  /* The fold goes on from the snapshot's seq (its waiters carry on). */
  _net_fold_restart (self->fold, applied, fold_errors);
  ok = _net_table_catch_up (self, error);
  g_clear_pointer (&self->adopt, g_hash_table_unref);
  if (!ok)
    goto out;

  /* Items, applied-seq and ::changed are delivered from the next dispatch,
   * as for any other change. */
  _net_fold_force_delivery (self->fold);

out:
  /* The records that were not restored first (their record_clear gives
   * back what is not the arena's), then the arena. */
  g_array_unref (records);
  _net_arena_clear (&reader.arena);
  return ok;
}
