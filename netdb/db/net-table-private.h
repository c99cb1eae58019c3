/* net-table-private.h: what every model of a database does the same way
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A model (NetDbTasks, NetDbMemories, and the collections of DESIGN.md
 * §11 next) is a GObject holding a NetTable and a NetTableSchema.  The
 * table owns what does not depend on the model's fields:
 *
 * - its log, fold and replication (NetFollow), the per-origin app_seqs;
 * - the entries (each starts with a NetTableEntry: id, created, updated)
 *   by id, and ordered by id, created and updated per partition
 *   (NetTableWalk is the one planner and matcher of these orders), and
 *   string-keyed set indexes (NetTableSet);
 * - the items with pending notifies and their deferred flush, delivery to
 *   the live queries, the model's ::changed signal and applied-seq;
 * - the write path of a mutation (closed, read-only, id 0, an id the
 *   state does not hold, write forwarding);
 * - find_many, find_first, count, exists and watch, wait_for_seq, close;
 * - the snapshot (head and item records) and the restore (records, the
 *   items that carry on, the fold after it).
 *
 * The schema is what the model has of its own: how to decode and apply
 * one of its events, its partitions, the check of its own fields in a
 * query (and its candidate sets), its snapshot record, and its items'
 * notifies.  A collection whose fields come from a record class is one
 * more schema over the same table.
 */

#pragma once

#include <gio/gio.h>

#include "net-arena-private.h"
#include "net-codec-private.h"
#include "net-btree-private.h"
#include "net-event-meta-private.h"
#include "net-filter-base-private.h"
#include "net-fold-private.h"
#include "net-follow-private.h"
#include "net-id-table-private.h"
#include "net-origins-private.h"
#include "net-query-model-private.h"
#include "net-redex.h"

G_BEGIN_DECLS

/* Every model's entry starts with these: the id first (the id table's
 * key), then the two times every model orders by. */
typedef struct
{
  guint64  id;
  gint64   created;
  gint64   updated;
} NetTableEntry;

/* The orders the table keeps every entry in, within its partition. */
enum
{
  NET_TABLE_KEY_ID,
  NET_TABLE_KEY_CREATED,
  NET_TABLE_KEY_UPDATED,
  NET_TABLE_N_KEYS
};

#define NET_TABLE_MAX_PARTITIONS 2

/*
 * Set indexes: the entries of one key (a tag, a source, "pinned"), ordered
 * by id, with their number, so that a query by that key touches only its
 * entries and counts them in O(1).  A NetTableSetIndex maps string keys to
 * their sets and drops a set when it empties; an entry records the sets it
 * is in with one NetTableSetMember each.
 */
typedef struct
{
  char      *key;       /* NULL for a set of its own (no index) */
  NetBTree  *entries;   /* NetTableEntry*, by id */
  guint      len;
  guint32    hash;      /* of key, for the index */
} NetTableSet;

typedef struct
{
  NetTableSet *set;     /* NULL when in none */
} NetTableSetMember;

/* A string-keyed index of sets: key → NetTableSet*, owning them. */
typedef struct
{
  NetTableSet **slots;   /* open-addressed, NULL: empty */
  guint         mask;    /* slots - 1 (a power of two) */
  guint         n;
  NetArena     *leaves;  /* of its sets' trees (nullable) */
} NetTableSetIndex;

/* @leaves: where the set's tree takes its leaves (its table's), or NULL
 * for malloc. */
NetTableSet  *_net_table_set_new       (const char            *key,
                                        NetArena              *leaves);
void          _net_table_set_free      (gpointer               set);
NetTableSetIndex *_net_table_set_index_new   (NetArena             *leaves);
void          _net_table_set_index_free    (NetTableSetIndex     *index);
void          _net_table_set_index_clear   (NetTableSetIndex     *index);
guint         _net_table_set_index_size    (NetTableSetIndex     *index);
/* The set of @key, made when @create (else NULL when no entry has it). */
NetTableSet  *_net_table_set_index_lookup (NetTableSetIndex    *index,
                                           const char          *key,
                                           gboolean             create);
/* Puts @entry in @set, recording it in @member (which must be empty). */
void          _net_table_set_add       (NetTableSetMember     *member,
                                        NetTableSet           *set,
                                        gpointer               entry);
/* Takes @entry out of its set, if any; a set of @index that empties is
 * dropped from it (@index may be NULL for a set of its own). */
void          _net_table_set_drop      (NetTableSetMember     *member,
                                        gpointer               entry,
                                        NetTableSetIndex      *index);

/* Called by a schema's visit for each selected item: @thing is what the
 * schema visits (its entry, or its item), which its entry_item() turns
 * into the item.  FALSE stops the visit. */
typedef gboolean (*NetTableVisitFunc) (gpointer  thing,
                                       gpointer  data);

typedef void     (*NetTableEntryFunc) (gpointer  entry,
                                       gpointer  data);

typedef struct _NetTable NetTable;

/*
 * Items: a model's item objects (NetTask, NetMemory, a collection's
 * records) exist only while someone holds them.  The table keeps a
 * registry of them without a reference, at most one per id, so that
 * while an item lives it is the item of its id: every query returns it
 * and the model changes it in place.  Queries make the item of an entry
 * with the schema's new_item when none lives.
 *
 * What an item type does for it: it embeds a NetTableItemLink (in its
 * instance or private struct: the schema's item_link says where), sets
 * link.id when it is made, and calls _net_table_item_link_release() from
 * its dispose, before chaining up (its last reference went: it is no
 * longer the item of its id).  That is all; the table sets the rest.
 *
 * Making an item and freeing it again costs far more than finding one,
 * so the table also keeps a reference to the items its queries returned
 * lately (NetTable.recent), at most 65536 of them or the length of the
 * largest find_many() result since it last let go, and
 * lets go of them all from an idle of the owner context: repeated gets
 * and queries within one burst of work return the same objects without
 * making them again, and once the application is idle, an item exists
 * only while someone holds it (or a live query shows it).
 */
typedef struct
{
  guint64   id;       /* first: the registry's key */
  NetTable *table;    /* the table whose item of its id this is, or NULL */
  gpointer  item;     /* the item embedding it, while in a table */
  gboolean  recent;   /* in the table's cache of recent items */
} NetTableItemLink;

void          _net_table_item_link_release (NetTableItemLink *link);

typedef struct
{
  const char  *what;              /* "tasks": the log and the model */
  const char  *noun;              /* "task": one item, in messages */
  guint        log;               /* NetDbLog, for replication */
  guint8       create_dispatch;   /* the event that makes an id exist */
  guint8       delete_dispatch;   /* the event that removes one */

  /* The ordered indexes are kept per partition (the tasks' status), so a
   * query of one partition walks only its entries: n_partitions (1 to
   * NET_TABLE_MAX_PARTITIONS), and the partition of an entry now (NULL:
   * one partition). */
  guint        n_partitions;
  guint      (*partition_of)     (gconstpointer        entry);

  /* Decodes and applies one event (NetFoldFuncs.apply); FALSE with a
   * %NET_ERROR_CORRUPT error when it is not a well-formed event of the
   * model.  The table then notes its origin's app_seq. */
  gboolean   (*apply)            (gpointer             model,
                                  guint64              seq,
                                  const NetEventMeta  *meta,
                                  const guint8        *payload,
                                  gsize                payload_len,
                                  GError             **error);
  /* Whether an event is well-formed, and the model's restore. */
  NetFollowFuncs follow;
  /* Queries (@filter may be NULL: everything by id).  count_fast: the
   * number of items @filter selects when an index answers without a
   * visit (else FALSE).  visit: calls @func on each selected item, in the
   * filter's order when @ordered, skipping the first @skip of them (only
   * when @ordered), until @func returns FALSE; @window (offset + limit, 0
   * for all) says how many the caller needs at most.  entry_item: the item
   * (transfer full) of what visit passes: the one that exists, or a new
   * one (a schema may make its items only while someone holds them). */
  gboolean   (*count_fast)       (gpointer             model,
                                  NetFilterBase       *filter,
                                  guint               *n);
  void       (*visit)            (gpointer             model,
                                  NetFilterBase       *filter,
                                  gboolean             ordered,
                                  guint                skip,
                                  guint                window,
                                  NetTableVisitFunc    func,
                                  gpointer             data);
  gpointer   (*entry_item)       (gpointer             model,
                                  gpointer             thing);
  /* The item (transfer full) of an entry of the id table, as entry_item.
   * Both may be NULL: visit passes entries, and the item is the one the
   * registry holds or a new one (_net_table_ref_item()). */
  gpointer   (*item_of_entry)    (gpointer             model,
                                  gpointer             entry);

  /* Items (see NetTableItemLink): the link an item embeds, and a new
   * item (transfer full, link.id set, of no table) with the values of
   * @entry. */
  NetTableItemLink *(*item_link) (gpointer             item);
  /* Where the item's link is when every item has it at one offset (it
   * then need not be asked per item), else 0. */
  gsize        link_offset;
  gpointer   (*new_item)         (gpointer             model,
                                  gconstpointer        entry);
  /* Gives @item the values of @entry (the item's _update(): it records
   * its notifies, flushed from the next delivery).  Needed by
   * _net_table_entry_inserted(), _entry_changed() and _insert_restored()
   * only. */
  void       (*update_item)      (gpointer             item,
                                  gconstpointer        entry);

  /* Snapshots: calls @func on each entry, in the order the snapshot
   * keeps them; encodes one entry as its item record. */
  void       (*foreach_snapshot_entry) (gpointer        model,
                                        NetTableEntryFunc func,
                                        gpointer        data);
  void       (*encode_entry)     (gpointer             entry,
                                  NetEncoder          *enc);

  /* Restores: one item record decodes into a record of record_size
   * bytes (cleared with record_clear), its entry taken from @arena if
   * the schema keeps its entries in NetTable.arena (the arena is cleared
   * after record_clear: that gives back only what is not the arena's);
   * replace_entries() drops every entry and inserts one entry per record
   * (the table set the items that exist aside first: an insert takes the
   * item of its id back with _net_table_adopt_item()), and moves @arena
   * into NetTable.arena if the entries came from it. */
  gsize        record_size;
  gboolean   (*decode_record)    (const NetField      *field,
                                  gpointer             record,
                                  NetArena            *arena,
                                  GError             **error);
  void       (*record_clear)     (gpointer             record);
  void       (*replace_entries)  (gpointer             model,
                                  GArray              *records,
                                  NetArena            *arena);
  /* Frees an entry in no index (needed by _net_table_insert_restored()
   * only). */
  void       (*free_entry)       (gpointer             model,
                                 gpointer             entry);

  /* The items' deferred notifies. */
  gboolean   (*has_pending_notify) (gpointer           item);
  void       (*flush_notify)     (gpointer             item);
} NetTableSchema;

/*
 * The registry of the items that exist (NetTableItemLink), by id: an open
 * table of (id, link) slots, at most 3/4 full, hashing by blocks of ids
 * and linear probing with backward-shift removal, which shrinks as the items
 * go (it is a few hundred bytes while no item lives: the entries carry no
 * pointer to their item).  A slot holds the id, so that a lookup and a
 * removal read no item's memory, and a walk that knows the ids ahead (an
 * index keyed by id) fetches the slots early.
 */
typedef struct
{
  guint64           id;
  NetTableItemLink *link;   /* NULL: a free slot */
} NetTableLiveSlot;

typedef struct
{
  NetTableLiveSlot *slots;
  guint             mask;    /* capacity - 1 */
  guint             size;
  guint             shift;   /* 64 - log2 (capacity / block) */
} NetTableLive;

/* The home slot of @id: the ids of one block of 2^NET_TABLE_LIVE_BLOCK_BITS
 * consecutive ids have their slots in one block of the table, the blocks
 * at random (Fibonacci hashing of the block number), so that a walk in id
 * order reads the slots of its items in runs of memory.  Within a block,
 * the id's low bits are flipped by other bits of the hash, so that ids
 * with the same low bits (multiples of 64) do not all start at one slot
 * of their blocks. */
#define NET_TABLE_LIVE_BLOCK_BITS 6

static inline guint
_net_table_live_slot (const NetTableLive *live,
                      guint64             id)
{
  guint64 h = (id >> NET_TABLE_LIVE_BLOCK_BITS) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  return (guint) (h >> live->shift) << NET_TABLE_LIVE_BLOCK_BITS |
         (guint) ((id ^ (h >> 32)) & ((1u << NET_TABLE_LIVE_BLOCK_BITS) - 1));
}

struct _NetTable
{
  const NetTableSchema *schema;
  GObject              *model;       /* holds the table */
  GParamSpec           *applied_pspec;  /* the model's applied-seq */
  guint                 changed_signal; /* the model's ::changed */

  NetRedexFile         *file;
  NetFold              *fold;
  guint64               origin;
  NetOrigins            origins;     /* app_seqs, ours and folded */
  gboolean              closed;
  NetFollow             follow;      /* appends, forwarding, re-bootstrap */
  GHashTable           *forwarded;   /* guint64* ids this follower forwarded
                                      * a create of, not folded yet */

  NetIdTable            by_id;       /* the model's entries, by id */
  NetArena              arena;       /* the entries, for a schema that
                                      * takes them from it (cleared at
                                      * finalize) */
  NetArena              leaves;      /* the leaves of its orders' and its
                                      * sets' trees (cleared at finalize,
                                      * after every tree is freed) */
  /* Every entry by (key, id), per partition: NetTableEntry* values. */
  NetBTree             *order[NET_TABLE_MAX_PARTITIONS][NET_TABLE_N_KEYS];
  GHashTable           *adopt;       /* during a restore: guint64* → the
                                      * items that carry on when their id
                                      * comes back */
  NetTableLive          live;        /* the items that exist, by id */
  GPtrArray            *recent;      /* items (a ref) returned lately */
  guint                 recent_max;  /* how many it may hold */
  GSource              *recent_idle; /* lets go of them */
  GMainContext         *context;     /* the owner context */
  GHashTable           *dirty;       /* items (a ref) with pending notifies */
  NetWatchHub           watches;     /* the live queries */
};

/* From the model's init and finalize (after it freed its entries). */
void          _net_table_init          (NetTable              *self,
                                        const NetTableSchema  *schema,
                                        GObject               *model,
                                        GParamSpec            *applied_pspec,
                                        guint                  changed_signal);
void          _net_table_dispose       (NetTable              *self);
void          _net_table_finalize      (NetTable              *self);

/* Opens the model's log of @redex and its fold; folds nothing yet. */
gboolean      _net_table_open          (NetTable              *self,
                                        NetRedex              *redex,
                                        NetRedexConfig        *config,
                                        guint64                origin,
                                        GError               **error);
/* Folds what the log holds. */
gboolean      _net_table_catch_up      (NetTable              *self,
                                        GError               **error);

static inline gpointer
_net_table_lookup (NetTable *self,
                   guint64   id)
{
  return _net_id_table_lookup (&self->by_id, id);
}

/* The sort key of @entry in the order @key (the btrees' u64 keys). */
static inline guint64
_net_table_entry_key (gconstpointer entry,
                      guint         key)
{
  const NetTableEntry *e = entry;

  switch (key)
    {
    case NET_TABLE_KEY_CREATED:
      return _net_btree_key_from_int (e->created);
    case NET_TABLE_KEY_UPDATED:
      return _net_btree_key_from_int (e->updated);
    case NET_TABLE_KEY_ID:
    default:
      return e->id;
    }
}

/* The btrees' tiebreak of entries: their id. */
guint64       _net_table_entry_tiebreak (gconstpointer        entry);
/* A new empty tree of entries in the order @key (ties by id) that reads
 * their keys from them: it holds the entries only.  Its leaves come from
 * @leaves (a table's), or malloc when NULL. */
NetBTree     *_net_table_order_new      (guint                key,
                                         NetArena            *leaves);

/* The ordered index of @partition by @key. */
static inline NetBTree *
_net_table_order (NetTable *self,
                  guint     partition,
                  guint     key)
{
  return self->order[partition][key];
}

/* Puts @entry in (takes it out of) the order @key of its partition now:
 * take it out before a change of its partition or key, put it back
 * after. */
void          _net_table_index_key     (NetTable              *self,
                                        gpointer               entry,
                                        guint                  key);
void          _net_table_unindex_key   (NetTable              *self,
                                        gpointer               entry,
                                        guint                  key);
/* Empties every ordered index (the entries are the model's to free). */
void          _net_table_clear_indexes (NetTable              *self);
/* Puts @n entries in every ordered index at once (the indexes empty):
 * per partition and key, the entries sorted by (key, id) (they usually
 * are already: a snapshot keeps them by id), then one bulk load. */
void          _net_table_index_all     (NetTable              *self,
                                        gpointer              *entries,
                                        guint                  n);

/* The write path of a mutation of @id by a @dispatch event:
 * _net_table_check_mutation() refuses it on a closed or read-only model
 * and for id 0; the model then checks its fields;
 * _net_table_begin_append() refuses it while following without
 * forwarding, or for an id the state does not hold (unless @dispatch
 * creates it), and gives the buffer to encode the payload in (NULL with
 * @error); _net_table_end_append() appends and applies it, or forwards
 * it, and returns its seq (0 when forwarded). */
gboolean      _net_table_check_mutation (NetTable             *self,
                                         guint64               id,
                                         GError              **error);
GByteArray   *_net_table_begin_append  (NetTable              *self,
                                        guint8                 dispatch,
                                        guint64                id,
                                        GError               **error);
guint64       _net_table_end_append    (NetTable              *self,
                                        guint8                 dispatch,
                                        guint64                id,
                                        GError               **error);

/* The link of the item of @id while it exists, else NULL. */
static inline NetTableItemLink *
_net_table_live_link (NetTable *self,
                      guint64   id)
{
  const NetTableLive *live = &self->live;
  guint i = _net_table_live_slot (live, id);

  for (;;)
    {
      const NetTableLiveSlot *slot = &live->slots[i];

      if (slot->link == NULL || slot->id == id)
        return slot->link;
      i = (i + 1) & live->mask;
    }
}

/* Fetches the registry slot of @id early (before a lookup of its entry,
 * which does not depend on it: a get reads both). */
static inline void
_net_table_live_prefetch (NetTable *self,
                          guint64   id)
{
#ifdef __GNUC__
  __builtin_prefetch (&self->live.slots[_net_table_live_slot (&self->live, id)]);
#endif
}

/* How many items exist (tests check that they go). */
static inline guint
_net_table_n_live_items (NetTable *self)
{
  return self->live.size;
}

/* The item of @id while it exists (not a reference), else NULL. */
static inline gpointer
_net_table_live_item (NetTable *self,
                      guint64   id)
{
  NetTableItemLink *link = _net_table_live_link (self, id);

  return link != NULL ? link->item : NULL;
}

/* The item of @entry (transfer full): the one that exists, or a new one
 * (the schema's new_item), which becomes the item of its id.  Either is
 * kept in the cache of recent items until the owner context is idle. */
gpointer      _net_table_ref_item      (NetTable              *self,
                                        gconstpointer          entry);
/* @entry is new (in the id table or about to be): the item of its id
 * of before a restore, if any, carries on with its values, and the live
 * queries look at it. */
void          _net_table_entry_inserted (NetTable             *self,
                                         gconstpointer         entry);
/* @entry changed in place (it may have moved: @entry is where it is
 * now): its item, if any, takes its values (notified from the next
 * delivery), and the live queries look at it again. */
void          _net_table_entry_changed (NetTable              *self,
                                        gconstpointer          entry);
/* @entry is deleted (already out of the id table and the indexes): the
 * live queries get its item for their graveyard, and its item, if any,
 * is no longer the item of its id: it keeps its last values. */
void          _net_table_forget_item   (NetTable              *self,
                                        gconstpointer          entry);

/* @item changed in place (its _update() recorded notifies): flush them
 * from the next delivery. */
void          _net_table_mark_dirty    (NetTable              *self,
                                        gpointer               item);

guint64       _net_table_get_applied_seq (NetTable            *self);
guint64       _net_table_get_fold_errors (NetTable            *self);

void          _net_table_wait_for_seq_async  (NetTable             *self,
                                              guint64               seq,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data,
                                              gpointer              source_tag);
gboolean      _net_table_wait_for_seq        (NetTable             *self,
                                              guint64               seq,
                                              guint                 timeout_ms,
                                              GError              **error);
gboolean      _net_table_close         (NetTable              *self,
                                        GError               **error);

/*
 * The engine's planner for what the ordered indexes answer: a walk of the
 * partitions in @partitions (a bit mask), merged in the order @key
 * (descending when @desc), starting and stopping at the time bounds of
 * that key, that passes the entries within every time bound and accepted
 * by @matches (the schema's check of its own fields; NULL accepts all).
 * _net_table_walk_init() reads the order and time bounds of a filter and
 * selects every partition; @nothing_else says that no entry needs a check
 * (only the partitions select), so skipping and counting take O(log n).
 */
typedef struct
{
  guint      partitions;
  guint      key;
  gboolean   desc;
  gint64     created_after;
  gint64     created_before;
  gint64     updated_after;
  gint64     updated_before;
  gboolean   nothing_else;
  gboolean (*matches)   (gconstpointer  entry,
                         gconstpointer  data);
  gconstpointer match_data;
} NetTableWalk;

void          _net_table_walk_init     (NetTable              *self,
                                        NetTableWalk          *walk,
                                        NetFilterBase         *filter);
/* Whether @entry is one @walk passes (its partition included). */
gboolean      _net_table_walk_matches  (NetTable              *self,
                                        const NetTableWalk    *walk,
                                        gconstpointer          entry);
/* Calls @func on the entries @walk passes, in its order, after skipping
 * @skip of them, until @func returns FALSE. */
void          _net_table_walk          (NetTable              *self,
                                        const NetTableWalk    *walk,
                                        guint                  skip,
                                        NetTableVisitFunc      func,
                                        gpointer               data);
/* How many entries @walk passes, when known without walking. */
gboolean      _net_table_walk_count_fast (NetTable            *self,
                                          const NetTableWalk  *walk,
                                          guint               *n);
/* The sort key of @entry in @walk's order, flipped for a descending one
 * (what a live query sorts by). */
static inline guint64
_net_table_walk_key (const NetTableWalk *walk,
                     gconstpointer       entry)
{
  guint64 key = _net_table_entry_key (entry, walk->key);

  return walk->desc ? ~key : key;
}

/*
 * The engine's planner for what the set indexes answer: the candidates
 * of a query are the whole table, the smallest set that holds every match
 * (each constraint on a set index is considered; a key no entry has
 * proves that nothing matches), or a union of sets (an any-of
 * constraint).  _net_table_plan_visit() then walks the set in id order
 * when that is the order asked, or the ordered index when the query is
 * short of a large set, or else sorts the set's matches; every candidate
 * is checked as @walk says (nothing_else: not at all).
 */
typedef struct
{
  gboolean      none;    /* the indexes prove that nothing matches */
  NetTableSet  *set;     /* the smallest set holding every match */
  GPtrArray    *sets;    /* NetTableSet*: a union holding every match */
  guint         size;    /* how many candidates (for a union, at most) */
} NetTablePlan;

void          _net_table_plan_init     (NetTable              *self,
                                        NetTablePlan          *plan);
void          _net_table_plan_clear    (NetTablePlan          *plan);
/* Every match is in @set (NULL: a key no entry has). */
void          _net_table_plan_consider (NetTablePlan          *plan,
                                        NetTableSet           *set);
/* Every match is in one of @sets (NULL ones: keys no entry has). */
void          _net_table_plan_any_of   (NetTablePlan          *plan,
                                        NetTableSet          **sets,
                                        guint                  n_sets);
/* Calls @func on the entries @plan and @walk select (in @walk's order
 * when @ordered, else in any), skipping the first @skip, until it returns
 * FALSE; @window (offset + limit, 0 for all) is how many the caller needs
 * at most.  @set_is_all: every entry of the plan's set matches. */
void          _net_table_plan_visit    (NetTable              *self,
                                        NetTablePlan          *plan,
                                        const NetTableWalk    *walk,
                                        gboolean               ordered,
                                        gboolean               set_is_all,
                                        guint                  skip,
                                        guint                  window,
                                        NetTableVisitFunc      func,
                                        gpointer               data);

/* The queries of every model, with one meaning: find_many() returns the
 * items in the filter's order and window (a new array holding a reference
 * to each); count() and exists() ignore the window. */
GPtrArray    *_net_table_find_many     (NetTable              *self,
                                        NetFilterBase         *filter);
gpointer      _net_table_find_first    (NetTable              *self,
                                        NetFilterBase         *filter);
guint         _net_table_count         (NetTable              *self,
                                        NetFilterBase         *filter);
gboolean      _net_table_exists        (NetTable              *self,
                                        NetFilterBase         *filter);

/* A live query of the model (net_db_tasks_watch()): @funcs are the
 * model's matcher (matcher_new, matcher_free, match, foreach_match, item
 * and filter types); get_item and get_window may be the table's. */
NetQueryModel *_net_table_watch        (NetTable              *self,
                                        const NetQueryFuncs   *funcs,
                                        NetFilterBase         *filter);
gpointer      _net_table_watch_get_item   (GObject            *source,
                                           guint64             id);
void          _net_table_watch_get_window (GObject            *filter,
                                           guint              *offset,
                                           guint              *limit);

/* The snapshot of the state as of the applied seq: its head (applied seq,
 * fold errors, origins), then one item record per entry. */
GBytes       *_net_table_snapshot      (NetTable              *self);

/*
 * A restore (net_db_tasks_restore()): refused when closed or following;
 * reads @snapshot, checks the log fits it, replaces the origins and the
 * entries (the schema's replace_entries), folds the log after it and has
 * the next dispatch deliver.  The items of ids the snapshot (or the log
 * after it) holds carry on; the others keep their last values.
 */
gboolean      _net_table_restore       (NetTable              *self,
                                        GBytes                *snapshot,
                                        GError               **error);
/* From replace_entries, after it emptied the state: inserts the @n
 * entries @entries (in a snapshot's order, in no index, taken) into the
 * id table and every ordered index in bulk; the items of before the
 * restore carry on with the values of their entries.  A later entry of
 * an id replaces an earlier one (the schema's free_entry frees it).
 * @entries is left holding the entries inserted, in their order: returns
 * how many. */
guint         _net_table_insert_restored (NetTable            *self,
                                          gpointer            *entries,
                                          guint                n);

/* From an insert during a restore: the item of @id of before the
 * restore, again the item of its id (transfer full; the insert gives it
 * the entry's values and marks it dirty), or NULL. */
gpointer      _net_table_adopt_item_slow (NetTable            *self,
                                          guint64              id);

static inline gpointer
_net_table_adopt_item (NetTable *self,
                       guint64   id)
{
  if (G_LIKELY (self->adopt == NULL))
    return NULL;
  return _net_table_adopt_item_slow (self, id);
}

G_END_DECLS
