/* net-collection-internal-private.h: what the files of NetCollection share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * NetCollection is several files, one concern each: net-collection.c (the
 * schema of the engine: applying events, items, snapshots, mutations and
 * the public API), net-collection-schema.c (the fields the log defines
 * and the class binds), net-collection-forward.c (forwarded events rebased
 * on the leader's schema), net-collection-values.c (stored values, entries
 * and the decoding of events: docs/collection-format.md),
 * net-collection-query.c (conditions, orders, the planner and the live
 * queries' matcher), net-collection-search.c (the search indexes: trigram
 * postings) and net-collection-order.c (the order indexes: sorted or
 * keyed, their cursors and walks).
 */

#pragma once

#include "net-btree-private.h"
#include "net-codec-private.h"
#include "net-collection-private.h"
#include "net-event-meta-private.h"
#include "net-filter-private.h"
#include "net-record-private.h"
#include "net-table-private.h"

G_BEGIN_DECLS

/* Payload fields (docs/collection-format.md). */
enum {
  F_ID = 1,
  F_CREATED = 2,
  F_UPDATED = 3,
  F_DEF = 4,
  F_VALUE = 5,
};

/* Within a field definition, and within a value. */
enum {
  D_NUM = 1,
  D_NAME = 2,
  D_TYPE = 3,
};

enum {
  V_NUM = 1,
  V_DATA = 2,     /* absent: NULL */
};

/* Snapshot item records: F_ID, F_CREATED, F_UPDATED, F_VALUE as above;
 * the schema record has no id and F_DEF fields. */

#define MAX_FIELDS 4096
#define MAX_ID ((G_GUINT64_CONSTANT (1) << 53) - 1)

/* One stored value: the field's type says which member. */
typedef union
{
  gint64    i;       /* int, int64, enum, datetime (µs UTC; NULL_TIME) */
  guint64   u;       /* boolean, uint, uint64, flags */
  double    d;
  char     *s;       /* string (may be NULL) */
  char    **v;       /* strv (may be NULL) */
  GBytes   *b;       /* bytes (may be NULL) */
  gpointer  p;       /* Entry: where its slots went (Entry.inl[0]) */
} Slot;

#define NULL_TIME G_MININT64

/* A field as the log defines it: number, name, type.  A later
 * definition of the same name (another type) shadows it: @prev. */
typedef struct _StoredField StoredField;
struct _StoredField
{
  guint         num;
  char         *name;
  NetFieldType  type;
  StoredField  *prev;
};

/* A record's state: the engine's header, then its values by field
 * number (slot num - 1), followed by one presence bit per slot, and
 * the strings of its first values, in the entry's own allocation (one
 * malloc a record, not four: 32 B of a note of notes/memory); slots for a field defined later (n > cap) move to an
 * allocation of their own, which inl[0] points to.  The entry stays
 * where it is: the indexes hold it. */
typedef struct
{
  guint64   id;           /* first: the id table's key */
  gint64    created;
  gint64    updated;
  guint16   n;            /* slots (fields: at most MAX_FIELDS) */
  guint16   cap;          /* slots in @inl (at least one); n == cap while they are there */
  guint16   room;         /* bytes for strings after the bits (net-collection-values.c) */
  guint16   room_used;
  Slot      inl[];        /* cap slots and their bits, or (n > cap) where they went */
} Entry;

G_STATIC_ASSERT (MAX_FIELDS <= G_MAXUINT16);

G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, id) == G_STRUCT_OFFSET (NetTableEntry, id));
G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, created) == G_STRUCT_OFFSET (NetTableEntry, created));
G_STATIC_ASSERT (G_STRUCT_OFFSET (Entry, updated) == G_STRUCT_OFFSET (NetTableEntry, updated));

/* A field as the collection reads and writes it: a property of the
 * class (typed), or a stored name (untyped). */
typedef struct
{
  char         *name;
  GParamSpec   *pspec;     /* NULL when untyped */
  NetFieldType  type;      /* the property's (untyped: the newest stored) */
  StoredField  *stored;    /* the newest definition of the name, or NULL */
  GValue        def;       /* the property's default (typed only) */
  /* The newest definition of the name whatever its type (the one a
   * write checks), as of @newest_at stored fields. */
  StoredField  *newest;
  guint         newest_at;
} ClassField;

/* A value of a field as queries compare it. */
typedef struct
{
  NetFieldType  type;
  gboolean      missing;
  Slot          v;        /* borrowed */
} FieldVal;

/* A record as a snapshot holds it (a restore's record). */
typedef struct
{
  gboolean   schema;      /* the schema record: @defs only */
  Entry     *entry;       /* owned until moved */
  GArray    *defs;        /* Def, for the schema record */
  GPtrArray *values;      /* GBytes* of value records, decoded later */
} CollRecord;

typedef struct
{
  guint         num;
  char         *name;
  NetFieldType  type;
} Def;

typedef struct
{
  guint         num;
  gboolean      null;
  Slot          v;        /* owned; of the type of field num */
} Value;

/* The event a local mutation is appending, with the values it has: the
 * fold of that event takes them instead of decoding what was just
 * encoded (coll_apply()). */
typedef struct
{
  const guint8 *payload;      /* the payload encoded (NULL: none) */
  gsize         payload_len;
  guint8        dispatch;
  guint         n_stored;     /* the schema it was encoded against */
  guint64       id;
  gint64        created;
  gint64        updated;
  Value        *values;       /* taken by the fold (their slots zeroed) */
  guint         n_values;
} LocalEvent;

struct _NetCollection
{
  GObject         parent_instance;

  NetTable        table;
  NetTableSchema  schema;
  gboolean        table_ready;

  char           *name;
  char           *log_name;
  GType           record_type;

  GPtrArray      *stored;          /* StoredField*, by num - 1 */
  GHashTable     *stored_by_name;  /* name → the newest StoredField* */
  GPtrArray      *fields;          /* ClassField* */
  GHashTable     *fields_by_name;  /* name → ClassField* */

  NetRecord      *inserting;       /* the record an insert makes live */
  LocalEvent      local;
  GByteArray     *local_payload;   /* its payload, copied */

  /* The orders of fields that live queries keep (OrderIndex*, by their
   * spec; each held by its queries' matchers). */
  GHashTable     *orders;
  gboolean        orders_frozen;   /* during a restore */

  /* net_collection_add_index(): the ordered indexes (OrderIndex*, a
   * reference each, by field name) and the search indexes (SearchIndex*,
   * by field name). */
  GHashTable     *ordered;
  GHashTable     *search;

  guint64         examined;        /* entries a query checked (tests) */
};

typedef struct _OrderIndex OrderIndex;
typedef struct _Query Query;
typedef struct _IndexPlan IndexPlan;

typedef struct
{
  guint64   id;
  gboolean  has_id;
  gint64    created;
  gint64    updated;
  GArray   *defs;      /* Def */
  GArray   *values;    /* Value */
} Event;

/* A condition as a query evaluates it. */
typedef struct
{
  NetFilterCondition *c;
  ClassField         *cf;        /* NULL: id, created-at or updated-at */
  guint               special;   /* NET_TABLE_KEY_* when cf is NULL */
  gboolean            never;     /* an unknown field: matches nothing */
  FieldVal            operand;
  char              **strv_owned;
} Cond;

typedef struct
{
  ClassField *cf;
  guint       special;
  gboolean    desc;
  gboolean    never;
} OrderKey;

struct _Query
{
  NetCollection *self;
  GArray        *conds;     /* Cond */
  GArray        *keys;      /* OrderKey; empty: the walk's order */
  gboolean       never;
  gboolean       desc_ties; /* ties by id descending */
};

typedef enum { KIND_NUMBER, KIND_STRING, KIND_STRV, KIND_BYTES } Kind;

#define ORDER_END_STEP (G_GUINT64_CONSTANT (1) << 40)

typedef struct
{
  Entry    *e;
  guint64   label;
  /* The value of the first order key, kept in the node when it can be
   * (not a default made for the comparison): most comparisons end there,
   * without reaching into the entry. */
  gboolean  cached;
  FieldVal  first;
} OrderNode;

/* How an order index keeps its records: sorted by a comparison (a
 * GSequence with labels), or by a u64 its one key maps to in order (a
 * NetBTree; the key is the label). */
typedef enum
{
  KEYED_NONE,
  KEYED_INT,      /* integers (signed or not, up to G_MAXINT64), times, ids */
  KEYED_DOUBLE,   /* doubles */
} KeyedMode;

/* A record's key in a keyed order index (by id in OrderIndex.keys). */
typedef struct _KeyNode KeyNode;
struct _KeyNode
{
  guint64  id;     /* first: the id table's key */
  guint64  key;
  KeyNode *next;   /* in the free list */
};

struct _OrderIndex
{
  guint           ref;
  guint           watchers; /* the live queries that use its labels */
  NetCollection  *owner;   /* NULL once the collection is gone */
  char           *spec;
  Query           q;       /* its order keys (no conditions) */
  KeyedMode       keyed;   /* KEYED_NONE: @seq and @nodes, else @tree */
  GSequence      *seq;     /* OrderNode*, owned */
  GHashTable     *nodes;   /* the entry's id (its address) → GSequenceIter* */
  NetBTree       *tree;    /* Entry* by (key, id in the order of ties) */
  /* Keyed: the record about to change and its key until then (a
   * record's key is not kept: it is its value's). */
  Entry          *moving;
  guint64         moving_key;
};

/* A posting: the ids, appended, as varints of the zigzag difference
 * from the id before (ids given in order, as most applications do, take
 * a byte or two instead of eight), in blocks: the first grows up to
 * POSTING_BLOCK bytes and the others have POSTING_BLOCK, so that an
 * append never copies more than a block (the postings of common
 * trigrams hold about every record).  It lives inline in its GramTable
 * slot, with the block being filled at hand: an append reads the slot
 * and writes the end of that block, two cache lines (through a
 * GHashTable and a Posting of its own it was six, and a fifth of an
 * insert with a search index).  It is read in order (PostingIter). */
#define POSTING_BLOCK 4096u
#define POSTING_MAX_VARINT 10

typedef struct
{
  guint8  *data;
  guint32  end;         /* the bytes used (of the last block: Posting.used) */
} PostingBlock;

typedef struct
{
  guint32       key;    /* its trigram's key; 0: an empty slot */
  guint32       len;    /* the ids */
  guint32       used;   /* the bytes used of the last block */
  guint32       cap;    /* its size */
  guint64       last;   /* the last id appended */
  guint8       *cur;    /* the last block's data */
  PostingBlock *blocks;
  guint32       n_blocks;
} Posting;

typedef struct
{
  const Posting *p;
  guint32        block;
  guint32        pos;
  guint32        left;  /* ids to read */
  guint64        id;
} PostingIter;

static inline void
_net_coll_posting_iter_init (PostingIter   *it,
                             const Posting *p)
{
  *it = (PostingIter) { p, 0, 0, p->len, 0 };
}

static inline gboolean
_net_coll_posting_iter_next (PostingIter *it,
                             guint64     *id)
{
  const Posting *p = it->p;
  const guint8 *data;
  guint32 end;
  guint64 z = 0;
  guint shift = 0;

  if (it->left == 0)
    return FALSE;
  end = it->block + 1 == p->n_blocks ? p->used : p->blocks[it->block].end;
  if (it->pos >= end)
    {
      it->block++;
      it->pos = 0;
    }
  data = p->blocks[it->block].data;
  do
    {
      z |= (guint64) (data[it->pos] & 0x7f) << shift;
      shift += 7;
    }
  while (data[it->pos++] & 0x80);
  it->id += (guint64) ((z >> 1) ^ -(z & 1));
  it->left--;
  *id = it->id;
  return TRUE;
}

/* The postings of a search index by their trigram's key: open
 * addressing, the Postings inline (net-collection-search.c). */
typedef struct
{
  guint32  mask;        /* slots - 1 (0 with no slots) */
  guint32  len;         /* postings */
  Posting *slots;
} GramTable;

typedef struct
{
  ClassField  *cf;
  GramTable    grams;   /* a trigram's key (search_gram_key()) → Posting of ids (appended,
                         * its stale ids left until a compaction) */
  guint64      live;    /* ids appended to the postings */
  guint64      stale;   /* of those, the ids of texts gone */
  Entry       *moving;  /* the record about to change, and its text */
  char        *old_text;
} SearchIndex;

static inline Entry *
_net_coll_lookup (NetCollection *self,
                  guint64        id)
{
  return _net_id_table_lookup (&self->table.by_id, id);
}

/* Whether one of the fields @nums is the field of @cf (under any of
 * its numbers). */
static inline gboolean
_net_coll_writes_field (NetCollection *self,
                        const guint   *nums,
                        guint          n_nums,
                        ClassField    *cf)
{
  for (guint i = 0; i < n_nums; i++)
    {
      StoredField *sf = g_ptr_array_index (self->stored, nums[i] - 1);

      if (g_str_equal (sf->name, cf->name))
        return TRUE;
    }
  return FALSE;
}

static inline Slot *
_net_coll_entry_slots (Entry *e)
{
  return G_LIKELY (e->n <= e->cap) ? e->inl : e->inl[0].p;
}

static inline guint8 *
_net_coll_entry_bits (Entry *e)
{
  return (guint8 *) (_net_coll_entry_slots (e) + e->n);
}

static inline gboolean
_net_coll_entry_has (Entry *e,
           guint  num)
{
  return num >= 1 && num <= e->n && (_net_coll_entry_bits (e)[(num - 1) / 8] & (1u << ((num - 1) % 8))) != 0;
}

/* net-collection.c */
void     _net_coll_encode_def         (NetEncoder   *enc,
                                       guint         num,
                                       const char   *name,
                                       NetFieldType  type);

/* net-collection-schema.c */
gboolean _net_coll_bind_class         (NetCollection *self,
                                       GError       **error);
gboolean _net_coll_check_schema       (NetCollection *self,
                                       GError       **error);
void     _net_coll_class_field_free   (gpointer data);
gboolean _net_coll_define_field       (NetCollection *self,
                                       guint          num,
                                       const char    *name,
                                       NetFieldType   type,
                                       guint64        seq,
                                       GError       **error);
void     _net_coll_stored_field_free  (gpointer data);

/* net-collection-values.c */
void     _net_coll_clear_entries      (NetCollection *self);
gboolean _net_coll_corrupt            (GError     **error,
                                       const char  *what,
                                       guint64      seq);
gint64   _net_coll_datetime_to_usec   (GDateTime *dt);
void     _net_coll_def_clear          (gpointer data);
gboolean _net_coll_def_decode         (const NetField *outer,
                                       Def            *def);
void     _net_coll_entry_clear_values (NetCollection *self,
                                       Entry         *e);
void     _net_coll_entry_field        (Entry      *e,
                                       ClassField *cf,
                                       FieldVal   *out);
gboolean _net_coll_entry_field_value  (Entry      *e,
                                       ClassField *cf,
                                       GValue     *out);
void     _net_coll_entry_free         (NetCollection *self,
                                       Entry         *e);
Entry *  _net_coll_entry_new          (NetCollection *self,
                                       guint64        id,
                                       const Value   *values,
                                       guint          n_values);
Entry *  _net_coll_entry_fit          (NetCollection *self,
                                       Entry         *e,
                                       const Value   *values,
                                       guint          n_values);
void     _net_coll_entry_set          (NetCollection *self,
                                       Entry         *e,
                                       guint          num,
                                       Slot          *v);
void     _net_coll_event_clear        (NetCollection *self,
                                       Event         *ev);
gboolean _net_coll_event_decode       (NetCollection  *self,
                                       guint8          dispatch,
                                       guint64         seq,
                                       const guint8   *payload,
                                       gsize           payload_len,
                                       Event          *ev,
                                       GError        **error);
void     _net_coll_slot_clear         (NetFieldType  type,
                                       Slot         *slot);
gboolean _net_coll_slot_from_value    (NetFieldType  type,
                                       const GValue *value,
                                       Slot         *slot);
gboolean _net_coll_type_is_pointer    (NetFieldType type);
gboolean _net_coll_type_is_signed     (NetFieldType type);
gboolean _net_coll_type_is_unsigned   (NetFieldType type);
gboolean _net_coll_value_decode       (const guint8  *data,
                                       gsize          len,
                                       GPtrArray     *stored,
                                       GArray        *new_defs,
                                       Value         *out,
                                       guint64        seq,
                                       GError       **error);
void     _net_coll_value_encode       (GByteArray   *buf,
                                       guint         num,
                                       NetFieldType  type,
                                       const Slot   *slot);
void     _net_coll_value_put          (GByteArray   *buf,
                                       guint         field,
                                       guint         num,
                                       NetFieldType  type,
                                       const Slot   *slot);

/* net-collection-query.c */
gboolean     _net_coll_count_fast            (gpointer       model,
                                              NetFilterBase *filter,
                                              guint         *n);
int          _net_coll_fv_compare            (const FieldVal *a,
                                              const FieldVal *b,
                                              gboolean       *ok);
Kind         _net_coll_kind_of               (NetFieldType type);
void         _net_coll_order_indexes_rebuild (NetCollection *self);
void         _net_coll_query_clear           (Query *q);
int          _net_coll_query_compare         (const Query *q,
                                              Entry       *a,
                                              Entry       *b);
void         _net_coll_query_field           (Entry      *e,
                                              ClassField *cf,
                                              guint       special,
                                              FieldVal   *out,
                                              Slot       *scratch);
gboolean     _net_coll_special_of            (const char *name,
                                              guint      *special);
void         _net_coll_visit                 (gpointer           model,
                                              NetFilterBase     *filter,
                                              gboolean           ordered,
                                              guint              skip,
                                              guint              window,
                                              NetTableVisitFunc  func,
                                              gpointer           data);
extern const NetQueryFuncs _net_coll_query_funcs;

/* net-collection-search.c */
void         _net_coll_gram_table_clear      (GramTable *table);
Posting *    _net_coll_search_candidates     (NetCollection *self,
                                              Cond          *c);
void         _net_coll_search_index_empty    (SearchIndex   *si);
void         _net_coll_search_index_fill     (SearchIndex   *si,
                                              NetCollection *self);
void         _net_coll_search_index_free     (gpointer data);
SearchIndex *_net_coll_search_index_new      (ClassField    *cf);
void         _net_coll_search_indexes_add    (NetCollection *self,
                                              Entry         *e);
void         _net_coll_search_indexes_move   (NetCollection *self,
                                              Entry         *e,
                                              const guint   *nums,
                                              guint          n_nums);
void         _net_coll_search_indexes_remove (NetCollection *self,
                                              Entry         *e);
void         _net_coll_search_indexes_will_move (NetCollection *self,
                                                 Entry         *e,
                                                 const guint   *nums,
                                                 guint          n_nums);

/* net-collection-order.c */
/* A position in an order index, either kind. */
typedef struct
{
  OrderIndex    *idx;
  GSequenceIter *it;
  NetBTreeIter   bit;
} OrderCursor;

static inline Entry *
_net_coll_order_cursor_get (OrderCursor *c)
{
  if (c->idx->keyed != KEYED_NONE)
    return _net_btree_iter_get (&c->bit)->value;
  return ((OrderNode *) g_sequence_get (c->it))->e;
}

static inline void
_net_coll_order_cursor_step (OrderCursor *c,
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

/* One step of the walk. */
static inline void
_net_coll_walk_ahead_step (WalkAhead *a)
{
  if (!a->on)
    return;
  if (a->far_left > 0)
    {
      PREFETCH (_net_coll_order_cursor_get (&a->far));
      if (--a->far_left > 0)
        _net_coll_order_cursor_step (&a->far, a->back);
    }
  if (a->near_left > 0)
    {
      PREFETCH (_net_coll_entry_bits (_net_coll_order_cursor_get (&a->near)));
      if (--a->near_left > 0)
        _net_coll_order_cursor_step (&a->near, a->back);
    }
}

void         _net_coll_order_cursor_at       (OrderIndex  *idx,
                                              guint        pos,
                                              OrderCursor *c);
void         _net_coll_order_index_empty     (OrderIndex *idx);
void         _net_coll_order_index_fill      (OrderIndex    *idx,
                                              NetCollection *self,
                                              gboolean       try_keyed);
OrderIndex * _net_coll_order_index_get       (NetCollection *self,
                                              const Query   *q);
guint64      _net_coll_order_index_label     (OrderIndex *idx,
                                              Entry      *e);
void         _net_coll_order_index_relabel   (OrderIndex *idx);
guint        _net_coll_order_index_size      (OrderIndex *idx);
void         _net_coll_order_index_unref     (OrderIndex *idx);
void         _net_coll_order_indexes_add     (NetCollection *self,
                                              Entry         *e);
void         _net_coll_order_indexes_move    (NetCollection *self,
                                              Entry         *e,
                                              const guint   *nums,
                                              guint          n_nums);
void         _net_coll_order_indexes_remove  (NetCollection *self,
                                              Entry         *e);
void         _net_coll_order_indexes_will_move (NetCollection *self,
                                                Entry         *e,
                                                const guint   *nums,
                                                guint          n_nums);
gboolean     _net_coll_order_indexes_walk    (NetCollection      *self,
                                              const Query        *q,
                                              const NetTableWalk *w,
                                              guint               skip,
                                              NetTableVisitFunc   func,
                                              gpointer            data);
gboolean     _net_coll_order_reversed        (const Query *q);
void         _net_coll_walk_ahead_init       (WalkAhead  *a,
                                              OrderIndex *idx,
                                              guint       start,
                                              guint       n,
                                              gboolean    back);

G_END_DECLS
