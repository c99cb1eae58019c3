/* net-db-memories.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-enum-types.h"
#include "net-btree-private.h"
#include "net-codec-private.h"
#include "net-db-items-private.h"
#include "net-db-memories-private.h"
#include "net-fold-private.h"
#include "net-follow-private.h"
#include "net-id-table-private.h"
#include "net-origins-private.h"
#include "net-query-model-private.h"
#include "net-redex-private.h"
#include "net-table-private.h"

/**
 * SECTION:net-db-memories
 * @title: NetDbMemories
 * @short_description: the memories model
 *
 * #NetDbMemories keeps the memories of a database: texts with tags, a
 * source and a pinned flag.  Each mutation appends one event to the
 * `memories` log and returns its sequence number; the events are folded
 * into the state on the owner #GMainContext (the thread-default one when
 * the model was created).  A mutation made on the owner thread is applied
 * before it returns, so the next query sees it; the #NetMemory objects
 * notify their changes, and #NetDbMemories::changed fires, from the next
 * dispatch of the fold source.
 *
 * Memory objects are live and unique: there is at most one #NetMemory per
 * id while anyone holds it, and every query returns that object.  The
 * model holds the memories its queries returned only until its main
 * context is idle (so that repeated queries in one burst of work return
 * the same objects without making them again); after that, a memory
 * nobody holds is freed, and the next query makes a new one.
 *
 * The model keeps indexes by tag, by source and of the pinned memories, so
 * a query that selects by one of them touches only the memories it names,
 * and counting by a tag, or by pinned state, alone is O(1).
 *
 * The payload of every memory event is described in docs/payload-format.md.
 */

/**
 * NetDbMemories:
 *
 * The memories of a database: typed mutations, live items and queries.
 */

#define MEMORIES_LOG_NAME "memories"

/* Payload fields. */
enum {
  F_ID = 1,
  F_CONTENT = 2,
  F_TIMESTAMP = 3,
  F_TAG = 4,
  F_SOURCE = 5,
};

/* Snapshot fields: see net-origins-private.h. */

/* Fields of a memory record in a snapshot. */
enum {
  M_ID = 1,
  M_CONTENT = 2,
  M_CREATED = 3,
  M_TAG = 4,
  M_SOURCE = 5,
  M_UPDATED = 6,
  M_PINNED = 7,
};

/* The orders the engine keeps (one partition). */
enum {
  KEY_ID = NET_TABLE_KEY_ID,
  KEY_CREATED = NET_TABLE_KEY_CREATED,
  KEY_UPDATED = NET_TABLE_KEY_UPDATED,
  N_KEYS = NET_TABLE_N_KEYS
};

/* The sets (the engine's set indexes) of one tag, one source, or the
 * pinned memories. */
typedef NetTableSet IdSet;
typedef NetTableSetMember Member;

/*
 * The state of one memory: no object.  Its #NetMemory is made when a
 * query returns it and lives as long as someone holds it: the model keeps
 * it without a reference (the table's registry), so that while it lives it
 * is the one item of its id and changes in place.
 */
typedef struct
{
  guint64        id;            /* first: the id table's key */
  gint64         created;
  gint64         updated;
  char          *content;
  char         **tags;          /* NULL-terminated, never NULL; the block of the texts */
  char          *source;        /* NULL for none */
  Member         pinned;
  Member         source_set;
  Member        *tag_sets;      /* one per tag the entry is indexed under (tag_set for one) */
  Member         tag_set;
  guint          n_tags;
  guint          is_pinned : 1;
  guint          block_size : 31;  /* of the entry in the table's arena */
} MemoryEntry;

struct _NetDbMemories
{
  GObject       parent_instance;

  /* The log, fold, replication, entries by id (MemoryEntry), notifies,
   * live queries, waits and close: the engine's. */
  NetTable      table;

  NetTableSetIndex *by_tag;     /* tag → IdSet* */
  NetTableSetIndex *by_source;  /* source ("" for none) → IdSet* */
  IdSet        *pinned;
};

G_DEFINE_FINAL_TYPE (NetDbMemories, net_db_memories, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_APPLIED_SEQ,
  PROP_FOLD_ERRORS,
  PROP_ORIGIN,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Indexes ------------------------------------------------------------------ */

/* The engine's entry header comes first. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (MemoryEntry, id) == G_STRUCT_OFFSET (NetTableEntry, id));
G_STATIC_ASSERT (G_STRUCT_OFFSET (MemoryEntry, created) == G_STRUCT_OFFSET (NetTableEntry, created));
G_STATIC_ASSERT (G_STRUCT_OFFSET (MemoryEntry, updated) == G_STRUCT_OFFSET (NetTableEntry, updated));

static inline guint64
entry_key (const MemoryEntry *e,
           guint              key)
{
  return _net_table_entry_key (e, key);
}

/* The set of @key in @table, created when @create. */
/* Takes the entry out of its set; a set that empties is dropped from
 * @table (which owns it), so forgotten tags and sources cost nothing. */
/* The filter's source "" selects the memories stored without one. */
static const char *
source_key (const char *source)
{
  return source != NULL ? source : "";
}

static void
entry_index_key (NetDbMemories *self,
                 MemoryEntry   *e,
                 guint          key)
{
  _net_table_index_key (&self->table, e, key);
}

static void
entry_unindex_key (NetDbMemories *self,
                   MemoryEntry   *e,
                   guint          key)
{
  _net_table_unindex_key (&self->table, e, key);
}

static void
entry_index_tags (NetDbMemories *self,
                  MemoryEntry   *e)
{
  const char * const *tags = (const char * const *) e->tags;

  g_assert (e->tag_sets == NULL);

  /* The index is keyed by the folded tag (tags match case-insensitively),
   * so "Work" and "work" on one memory are one membership: a tag whose
   * key an earlier tag had keeps an empty Member. */
  e->n_tags = g_strv_length ((char **) tags);
  e->tag_sets = e->n_tags > 1 ? g_new0 (Member, e->n_tags) : e->n_tags == 1 ? &e->tag_set : NULL;
  for (guint i = 0; i < e->n_tags; i++)
    {
      g_autofree char *owned = NULL;
      const char *key = _net_memory_tag_key (tags[i], &owned);
      IdSet *set = _net_table_set_index_lookup (self->by_tag, key, TRUE);
      gboolean seen = FALSE;

      for (guint j = 0; j < i && !seen; j++)
        seen = e->tag_sets[j].set == set;
      if (!seen)
        _net_table_set_add (&e->tag_sets[i], set, e);
    }
}

/* The index set of the memories with @tag (matched case-insensitively). */
static IdSet *
tag_set_lookup (NetDbMemories *self,
                const char    *tag)
{
  g_autofree char *owned = NULL;

  return _net_table_set_index_lookup (self->by_tag, _net_memory_tag_key (tag, &owned), FALSE);
}

static void
entry_unindex_tags (NetDbMemories *self,
                    MemoryEntry   *e)
{
  for (guint i = 0; i < e->n_tags; i++)
    _net_table_set_drop (&e->tag_sets[i], e, self->by_tag);
  if (e->tag_sets != &e->tag_set)
    g_free (e->tag_sets);
  e->tag_sets = NULL;
  e->n_tags = 0;
}

static void
entry_index_source (NetDbMemories *self,
                    MemoryEntry   *e)
{
  const char *key = source_key (e->source);

  _net_table_set_add (&e->source_set, _net_table_set_index_lookup (self->by_source, key, TRUE), e);
}

static void
entry_index_pinned (NetDbMemories *self,
                    MemoryEntry   *e)
{
  if (e->is_pinned)
    _net_table_set_add (&e->pinned, self->pinned, e);
}

/* Items ---------------------------------------------------------------------- */

/* The schema's items (NetTableSchema.item_link, new_item). */
static NetTableItemLink *
memories_item_link (gpointer item)
{
  return _net_memory_get_link (item);
}

static gpointer
memories_new_item (gpointer      model,
                   gconstpointer entry)
{
  const MemoryEntry *e = entry;

  return _net_memory_new (e->id, e->content, (const char * const *) e->tags, e->source,
                          e->created, e->updated, e->is_pinned);
}

static void
memories_update_item (gpointer      item,
                      gconstpointer entry)
{
  const MemoryEntry *e = entry;

  _net_memory_update (item, e->content, (const char * const *) e->tags, e->source,
                      e->created, e->updated, e->is_pinned);
}

/* Whether the texts of @e are in the entry's own allocation (as
 * entry_new_with_text_views() makes them), not a block of their own. */
static inline gboolean
entry_texts_inline (const MemoryEntry *e)
{
  return (gconstpointer) e->tags == (gconstpointer) (e + 1);
}

/* Frees what of @e is not its arena's: what must be freed before the
 * arena is cleared. */
static void
entry_free_outside_arena (MemoryEntry *e)
{
  if (!entry_texts_inline (e))
    g_free (e->tags);   /* the block of its texts */
  if (e->tag_sets != &e->tag_set)
    g_free (e->tag_sets);
  _net_arena_free_large (e, e->block_size);
}

static void
entry_free (NetDbMemories *self,
            MemoryEntry   *e)
{
  gsize size = e->block_size;

  if (!entry_texts_inline (e))
    g_free (e->tags);
  if (e->tag_sets != &e->tag_set)
    g_free (e->tag_sets);
  _net_arena_free (&self->table.arena, e, size);
}

/* Takes @e out of every index and the id table, and frees it. */
static void
entry_delete (NetDbMemories *self,
              MemoryEntry   *e)
{
  for (guint k = 0; k < N_KEYS; k++)
    entry_unindex_key (self, e, k);
  entry_unindex_tags (self, e);
  _net_table_set_drop (&e->source_set, e, self->by_source);
  _net_table_set_drop (&e->pinned, e, NULL);
  _net_id_table_remove (&self->table.by_id, e->id);
  _net_table_forget_item (&self->table, e);
  entry_free (self, e);
}

static inline MemoryEntry *
lookup (NetDbMemories *self,
        guint64        id)
{
  return _net_id_table_lookup (&self->table.by_id, id);
}

/* Drops every entry, emptying the indexes. */
static void
clear_entries (NetDbMemories *self)
{
  guint64 pos = 0;
  MemoryEntry *e;

  while ((e = _net_id_table_next (&self->table.by_id, &pos)) != NULL)
    entry_free_outside_arena (e);
  _net_arena_clear (&self->table.arena);
  _net_id_table_clear (&self->table.by_id);
  _net_id_table_init (&self->table.by_id);
  _net_table_clear_indexes (&self->table);
  _net_table_set_index_clear (self->by_tag);
  _net_table_set_index_clear (self->by_source);
  _net_btree_clear (self->pinned->entries);
  self->pinned->len = 0;
}

/* Applying events ----------------------------------------------------------- */

/* The highest app_seq folded for @origin (tests check it continues). */
guint64
_net_db_memories_get_origin_app_seq (NetDbMemories *self,
                                     guint64       origin)
{
  return _net_origins_get (&self->table.origins, origin);
}

/* A text: the payload's bytes (valid UTF-8, no NUL) or a string. */
typedef struct
{
  const char *text;   /* NULL: absent */
  gsize       len;
} TextView;

/* Keeps the first of each tag of @tags, in place; the new count. */
static guint
dedup_tag_views (TextView *tags,
                 guint     n_tags)
{
  g_autoptr(GHashTable) seen = NULL;
  guint n = 0;

  if (n_tags < 2)
    return n_tags;
  /* A scan for a few tags, a set for many (as net-memory.c does). */
  if (n_tags > 16)
    seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < n_tags; i++)
    {
      gboolean dup = FALSE;

      if (seen != NULL)
        dup = !g_hash_table_add (seen, g_strndup (tags[i].text, tags[i].len));
      else
        for (guint j = 0; j < n && !dup; j++)
          dup = tags[j].len == tags[i].len && memcmp (tags[j].text, tags[i].text, tags[i].len) == 0;
      if (!dup)
        tags[n++] = tags[i];
    }
  return n;
}

/* The size of the block of texts entry_fill_texts() writes. */
static gsize
texts_size (const TextView *content,
            const TextView *source,
            const TextView *tags,
            guint           n_tags)
{
  gsize size = (n_tags + 1) * sizeof (char *) + content->len + 1;

  if (source->text != NULL)
    size += source->len + 1;
  for (guint i = 0; i < n_tags; i++)
    size += tags[i].len + 1;
  return size;
}

/*
 * Writes the texts of @e into @block (texts_size() bytes): the tags'
 * NULL-terminated array, then the content, the source and each tag, so a
 * memory's texts are one allocation (e->tags is the block).  @tags:
 * without duplicates.
 */
static void
entry_fill_texts (MemoryEntry    *e,
                  char          **block,
                  const TextView *content,
                  const TextView *source,
                  const TextView *tags,
                  guint           n_tags)
{
  char *p = (char *) (block + n_tags + 1);

  memcpy (p, content->text, content->len);
  p[content->len] = '\0';
  e->content = p;
  p += content->len + 1;
  e->source = NULL;
  if (source->text != NULL)
    {
      memcpy (p, source->text, source->len);
      p[source->len] = '\0';
      e->source = p;
      p += source->len + 1;
    }
  for (guint i = 0; i < n_tags; i++)
    {
      memcpy (p, tags[i].text, tags[i].len);
      p[tags[i].len] = '\0';
      block[i] = p;
      p += tags[i].len + 1;
    }
  block[n_tags] = NULL;
  e->tags = block;
}

/* Sets the texts of @e (entry_fill_texts()) in a block of their own.  The
 * texts may point into the entry's own block: it is freed after. */
static void
entry_set_text_views (MemoryEntry    *e,
                      const TextView *content,
                      const TextView *source,
                      const TextView *tags,
                      guint           n_tags)
{
  char **old = e->tags;
  gboolean old_inline = old != NULL && entry_texts_inline (e);

  entry_fill_texts (e, g_malloc (texts_size (content, source, tags, n_tags)),
                    content, source, tags, n_tags);
  if (!old_inline)
    g_free (old);
}

/* entry_set_text_views() of strings: @tags NULL-terminated (NULL for
 * none), a repeated one kept once; @source may be NULL. */
static void
entry_set_texts (MemoryEntry        *e,
                 const char         *content,
                 const char * const *tags,
                 const char         *source)
{
  guint n_tags = tags != NULL ? g_strv_length ((char **) tags) : 0;
  g_autofree TextView *views = g_new (TextView, MAX (n_tags, 1));
  TextView c = { content, strlen (content) };
  TextView s = { source, source != NULL ? strlen (source) : 0 };

  for (guint i = 0; i < n_tags; i++)
    {
      views[i].text = tags[i];
      views[i].len = strlen (tags[i]);
    }
  n_tags = dedup_tag_views (views, n_tags);
  entry_set_text_views (e, &c, &s, views, n_tags);
}

static void
memory_changed (NetDbMemories      *self,
                MemoryEntry        *e,
                const char         *content,
                const char * const *tags,
                const char         *source,
                gint64              created,
                gint64              updated,
                gboolean            pinned)
{
  static const char * const no_tags[] = { NULL };
  gboolean tags_moved = !g_strv_equal ((const char * const *) e->tags, tags != NULL ? tags : no_tags);
  gboolean source_moved = g_strcmp0 (e->source, source) != 0;
  gboolean pinned_moved = !pinned != !e->is_pinned;
  gboolean content_moved = strcmp (e->content, content) != 0;
  gboolean created_moved = created != e->created;
  gboolean updated_moved = updated != e->updated;

  /* Out of the indexes whose key changes, update, back in.  (@tags and
   * @source may be the memory's own: then they do not move.) */
  if (tags_moved)
    entry_unindex_tags (self, e);
  if (source_moved)
    _net_table_set_drop (&e->source_set, e, self->by_source);
  if (pinned_moved)
    _net_table_set_drop (&e->pinned, e, NULL);
  if (created_moved)
    entry_unindex_key (self, e, KEY_CREATED);
  if (updated_moved)
    entry_unindex_key (self, e, KEY_UPDATED);

  /* (@content, @tags and @source may be the entry's own: copied first.) */
  if (content_moved || tags_moved || source_moved)
    entry_set_texts (e, content, tags, source);
  e->is_pinned = !!pinned;
  e->created = created;
  e->updated = updated;

  if (tags_moved)
    entry_index_tags (self, e);
  if (source_moved)
    entry_index_source (self, e);
  if (pinned_moved)
    entry_index_pinned (self, e);
  if (created_moved)
    entry_index_key (self, e, KEY_CREATED);
  if (updated_moved)
    entry_index_key (self, e, KEY_UPDATED);

  _net_table_entry_changed (&self->table, e);
}

/* A new entry (in no index) with its texts (@tags without duplicates)
 * in the same allocation: a store of a new id makes one malloc. */
static MemoryEntry *
entry_new_with_text_views (NetArena       *arena,
                           guint64         id,
                           gint64          created,
                           gint64          updated,
                           const TextView *content,
                           const TextView *source,
                           const TextView *tags,
                           guint           n_tags)
{
  gsize size = sizeof (MemoryEntry) + texts_size (content, source, tags, n_tags);
  MemoryEntry *e;

  /* A memory's texts are far below 2 GiB (the log's events are). */
  g_assert (size <= G_MAXINT32);
  e = _net_arena_alloc (arena, size);
  memset (e, 0, sizeof (MemoryEntry));
  e->block_size = size;
  e->id = id;
  e->created = created;
  e->updated = updated;
  entry_fill_texts (e, (char **) (e + 1), content, source, tags, n_tags);
  return e;
}

/* Puts @e in the memories' own indexes (by tag, source and pinned). */
static void
entry_index_sets (NetDbMemories *self,
                  MemoryEntry   *e)
{
  entry_index_tags (self, e);
  entry_index_source (self, e);
  entry_index_pinned (self, e);
}

/* Takes @e (filled, in no index). */
static void
memory_insert_entry (NetDbMemories *self,
                     MemoryEntry   *e)
{
  for (guint k = 0; k < N_KEYS; k++)
    entry_index_key (self, e, k);
  entry_index_sets (self, e);
  _net_id_table_insert (&self->table.by_id, e);
  _net_table_entry_inserted (&self->table, e);
}

/* What a memory event says, pointing into its payload. */
#define DECODED_TAGS_INLINE 8

typedef struct
{
  guint64   id;
  gint64    ts;
  TextView  content;
  TextView  source;
  TextView *tags;       /* inline_tags, or allocated when there are more */
  guint     n_tags;
  guint     tags_cap;
  TextView  inline_tags[DECODED_TAGS_INLINE];
} Decoded;

/* An event a memories model is appending, as it encoded it: its
 * payload's bytes and what they say (checked when they were encoded). */
typedef struct
{
  guint8        dispatch;
  const guint8 *payload;
  gsize         payload_len;
  Decoded       decoded;
} OwnEvent;

/* The event being appended on this thread, if any: the fold applies it
 * on the appending thread (the owner's) before the append returns.  Per
 * thread, so an append on another thread never shows its event to the
 * owner's fold. */
static _Thread_local const OwnEvent *own_event;

static void
decoded_init (Decoded *d)
{
  d->id = 0;
  d->ts = 0;
  d->content.text = d->source.text = NULL;
  d->content.len = d->source.len = 0;
  d->tags = d->inline_tags;
  d->n_tags = 0;
  d->tags_cap = DECODED_TAGS_INLINE;
}

static void
decoded_clear (Decoded *d)
{
  if (d->tags != d->inline_tags)
    g_free (d->tags);
}

static gboolean
text_view (const NetField  *field,
           TextView        *out,
           GError         **error)
{
  if (field->wire != NET_WIRE_BYTES ||
      !g_utf8_validate_len ((const char *) field->bytes, field->bytes_len, NULL))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event field %u is not valid UTF-8 text", field->field);
      return FALSE;
    }
  out->text = (const char *) field->bytes;
  out->len = field->bytes_len;
  return TRUE;
}

/* Decodes a memory event into @d (its views point into @payload); FALSE
 * with a %NET_ERROR_CORRUPT error when it is not a well-formed memory
 * event.  decoded_clear() @d in any case. */
static gboolean
memories_decode (guint64              seq,
                 const NetEventMeta  *meta,
                 const guint8        *payload,
                 gsize                payload_len,
                 Decoded             *d,
                 GError             **error)
{
  NetDecoder dec;
  NetField field;
  gboolean has_id = FALSE;
  TextView view;
  int r;

  decoded_init (d);

  if (meta->dispatch < NET_DISPATCH_MEMORY_STORED || meta->dispatch > NET_DISPATCH_MEMORY_DELETED)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event %" G_GUINT64_FORMAT " has dispatch 0x%02x, not a memory event",
                   seq, meta->dispatch);
      return FALSE;
    }

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;

  while ((r = net_decoder_next (&dec, &field, error)) > 0)
    {
      switch (field.field)
        {
        case F_ID:
          if (field.wire != NET_WIRE_VARINT)
            goto bad_field;
          d->id = field.uint_value;
          has_id = TRUE;
          break;
        case F_CONTENT:
        case F_SOURCE:
        case F_TAG:
          if (!text_view (&field, &view, error))
            return FALSE;
          if (field.field == F_TAG)
            {
              if (d->n_tags == d->tags_cap)
                {
                  d->tags_cap *= 2;
                  if (d->tags == d->inline_tags)
                    d->tags = g_memdup2 (d->inline_tags, sizeof d->inline_tags);
                  d->tags = g_renew (TextView, d->tags, d->tags_cap);
                }
              d->tags[d->n_tags++] = view;
            }
          else if (field.field == F_CONTENT)
            d->content = view;
          else
            d->source = view;
          break;
        case F_TIMESTAMP:
          if (field.wire != NET_WIRE_SVARINT)
            goto bad_field;
          d->ts = field.int_value;
          break;
        default:
          break; /* a newer writer's field */
        }
    }
  if (r < 0)
    return FALSE;

  if (!has_id || (meta->dispatch == NET_DISPATCH_MEMORY_STORED && d->content.text == NULL))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "memory event %" G_GUINT64_FORMAT " lacks a required field", seq);
      return FALSE;
    }
  return TRUE;

bad_field:
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "memory event %" G_GUINT64_FORMAT ": field %u has the wrong type", seq, field.field);
  return FALSE;
}

static inline char *
text_dup (const TextView *view)
{
  return view->text != NULL ? g_strndup (view->text, view->len) : NULL;
}

/* The tags of @d, NULL-terminated, each kept once (its first occurrence),
 * as _net_memory_take_tags() keeps them. */
static char **
decoded_tags (const Decoded *d)
{
  char **tags;
  guint n = 0;

  /* Many tags: a set finds the repeated ones. */
  if (d->n_tags > 16)
    {
      GPtrArray *all = g_ptr_array_new_full (d->n_tags + 1, g_free);

      for (guint i = 0; i < d->n_tags; i++)
        g_ptr_array_add (all, g_strndup (d->tags[i].text, d->tags[i].len));
      return _net_memory_take_tags (all);
    }

  tags = g_new (char *, d->n_tags + 1);
  for (guint i = 0; i < d->n_tags; i++)
    {
      const TextView *t = &d->tags[i];
      gboolean dup = FALSE;

      for (guint j = 0; j < n && !dup; j++)
        dup = strncmp (tags[j], t->text, t->len) == 0 && tags[j][t->len] == '\0';
      if (!dup)
        tags[n++] = g_strndup (t->text, t->len);
    }
  tags[n] = NULL;
  return tags;
}

/* The decoded event of @payload when it is the one this thread is
 * appending (the same bytes: what they say is known and checked), or
 * NULL. */
static Decoded *
own_event_decoded (const NetEventMeta *meta,
                   const guint8       *payload,
                   gsize               payload_len)
{
  const OwnEvent *own = own_event;

  if (own == NULL || own->dispatch != meta->dispatch || own->payload_len != payload_len ||
      memcmp (own->payload, payload, payload_len) != 0)
    return NULL;
  return (Decoded *) &own->decoded;
}

static gboolean
memories_apply (gpointer            model,
                guint64             seq,
                const NetEventMeta *meta,
                const guint8       *payload,
                gsize               payload_len,
                GError            **error)
{
  NetDbMemories *self = model;
  g_auto(GStrv) tags = NULL;
  g_autofree char *content = NULL;
  g_autofree char *source = NULL;
  Decoded local;
  Decoded *d;
  MemoryEntry *e;
  gboolean ok = TRUE;

  d = own_event_decoded (meta, payload, payload_len);
  if (d == NULL)
    {
      d = &local;
      ok = memories_decode (seq, meta, payload, payload_len, d, error);
      if (!ok)
        goto out;
    }

  e = lookup (self, d->id);

  switch (meta->dispatch)
    {
    case NET_DISPATCH_MEMORY_STORED:
      if (e != NULL)
        {
          content = text_dup (&d->content);
          source = text_dup (&d->source);
          tags = decoded_tags (d);
          memory_changed (self, e, content, (const char * const *) tags, source, e->created, d->ts,
                          e->is_pinned);
        }
      else
        {
          e = entry_new_with_text_views (&self->table.arena, d->id, d->ts, d->ts, &d->content, &d->source, d->tags,
                                         dedup_tag_views (d->tags, d->n_tags));
          memory_insert_entry (self, e);
        }
      break;

    case NET_DISPATCH_MEMORY_RETAGGED:
      if (e != NULL)
        {
          tags = decoded_tags (d);
          memory_changed (self, e, e->content, (const char * const *) tags, e->source, e->created,
                          d->ts, e->is_pinned);
        }
      break;

    case NET_DISPATCH_MEMORY_PINNED:
    case NET_DISPATCH_MEMORY_UNPINNED:
      if (e != NULL)
        memory_changed (self, e, e->content, (const char * const *) e->tags, e->source,
                        e->created, d->ts, meta->dispatch == NET_DISPATCH_MEMORY_PINNED);
      break;

    case NET_DISPATCH_MEMORY_DELETED:
      if (e != NULL)
        entry_delete (self, e);
      break;

    default:
      g_assert_not_reached ();
    }

out:
  if (d == &local)
    decoded_clear (d);
  return ok;
}

static gboolean
memories_check (const NetEventMeta  *meta,
                const guint8        *payload,
                gsize                payload_len,
                GError             **error)
{
  Decoded d;
  gboolean ok;

  ok = memories_decode (0, meta, payload, payload_len, &d, error);
  decoded_clear (&d);
  return ok;
}

static gboolean
memories_restore (gpointer   model,
                  GBytes    *snapshot,
                  GError   **error)
{
  return net_db_memories_restore (model, snapshot, error);
}

static gboolean
memory_has_pending_notify (gpointer item)
{
  return _net_memory_has_pending_notify (item);
}

static void
memory_flush_notify (gpointer item)
{
  _net_memory_flush_notify (item);
}

static gboolean memories_count_fast  (gpointer           model,
                                      NetFilterBase     *filter,
                                      guint             *n);
static void     memories_visit       (gpointer           model,
                                      NetFilterBase     *filter,
                                      gboolean           ordered,
                                      guint              skip,
                                      guint              window,
                                      NetTableVisitFunc  func,
                                      gpointer           data);
static void     memories_foreach_snapshot_entry (gpointer           model,
                                                 NetTableEntryFunc  func,
                                                 gpointer           data);
static void     memories_encode_entry (gpointer           entry,
                                       NetEncoder        *enc);
static gboolean memories_decode_record (const NetField    *field,
                                        gpointer           record,
                                        NetArena          *arena,
                                        GError           **error);
static void     memory_record_clear   (gpointer           record);
static void     memories_replace_entries (gpointer        model,
                                          GArray         *records,
                                          NetArena       *arena);

static void
memories_free_entry (gpointer model,
                     gpointer entry)
{
  entry_free (model, entry);
}

static const NetTableSchema memories_schema = {
  .what = MEMORIES_LOG_NAME,
  .noun = "memory",
  .log = NET_DB_LOG_MEMORIES,
  .create_dispatch = NET_DISPATCH_MEMORY_STORED,
  .delete_dispatch = NET_DISPATCH_MEMORY_DELETED,
  .n_partitions = 1,
  .apply = memories_apply,
  .follow = { .check = memories_check, .restore = memories_restore },
  .count_fast = memories_count_fast,
  .visit = memories_visit,
  .item_link = memories_item_link,
  .new_item = memories_new_item,
  .update_item = memories_update_item,
  .foreach_snapshot_entry = memories_foreach_snapshot_entry,
  .encode_entry = memories_encode_entry,
  .record_size = sizeof (MemoryEntry *),
  .decode_record = memories_decode_record,
  .record_clear = memory_record_clear,
  .replace_entries = memories_replace_entries,
  .free_entry = memories_free_entry,
  .has_pending_notify = memory_has_pending_notify,
  .flush_notify = memory_flush_notify,
};

/* GObject -------------------------------------------------------------------- */

static void
net_db_memories_dispose (GObject *object)
{
  NetDbMemories *self = (NetDbMemories *) object;

  _net_table_dispose (&self->table);

  G_OBJECT_CLASS (net_db_memories_parent_class)->dispose (object);
}

static void
net_db_memories_finalize (GObject *object)
{
  NetDbMemories *self = (NetDbMemories *) object;

  clear_entries (self);
  g_clear_pointer (&self->by_tag, _net_table_set_index_free);
  g_clear_pointer (&self->by_source, _net_table_set_index_free);
  g_clear_pointer (&self->pinned, _net_table_set_free);
  _net_table_finalize (&self->table);

  G_OBJECT_CLASS (net_db_memories_parent_class)->finalize (object);
}

static void
net_db_memories_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NetDbMemories *self = NET_DB_MEMORIES (object);

  switch (prop_id)
    {
    case PROP_APPLIED_SEQ:
      g_value_set_uint64 (value, net_db_memories_get_applied_seq (self));
      break;
    case PROP_FOLD_ERRORS:
      g_value_set_uint64 (value, net_db_memories_get_fold_errors (self));
      break;
    case PROP_ORIGIN:
      g_value_set_uint64 (value, self->table.origin);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_db_memories_class_init (NetDbMemoriesClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_db_memories_dispose;
  object_class->finalize = net_db_memories_finalize;
  object_class->get_property = net_db_memories_get_property;

  /**
   * NetDbMemories:applied-seq:
   *
   * The seq of the last event folded into the state (0 for none).
   * Notified from the fold's dispatch.
   */
  properties[PROP_APPLIED_SEQ] =
    g_param_spec_uint64 ("applied-seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDbMemories:fold-errors:
   *
   * How many events could not be decoded and were skipped.
   */
  properties[PROP_FOLD_ERRORS] =
    g_param_spec_uint64 ("fold-errors", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDbMemories:origin:
   *
   * The origin written into the events of this model's mutations.
   */
  properties[PROP_ORIGIN] =
    g_param_spec_uint64 ("origin", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetDbMemories::changed:
   * @self: the model
   * @first_seq: the first seq folded in this batch
   * @last_seq: the last seq folded in this batch
   *
   * Emitted on the owner context after a batch of events was folded and
   * the items notified their changes.
   *
   * When the state is replaced from outside (a database that follows a
   * leader, #NetDb:following, re-bootstraps from the leader's snapshot,
   * or a read-only database restores the checkpoint its writer restarted
   * the log from), the batch is the events the new state moved on by,
   * from the last seq delivered before.  A restore the application makes
   * itself only reports the events folded after the snapshot.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
net_db_memories_init (NetDbMemories *self)
{
  _net_table_init (&self->table, &memories_schema, G_OBJECT (self),
                   properties[PROP_APPLIED_SEQ], signals[CHANGED]);
  self->by_tag = _net_table_set_index_new (&self->table.leaves);
  self->by_source = _net_table_set_index_new (&self->table.leaves);
  self->pinned = _net_table_set_new (NULL, &self->table.leaves);
}

/**
 * net_db_memories_new:
 * @redex: the #NetRedex holding the `memories` log
 * @config: (nullable): the config of the log when it is created
 * @origin: the origin recorded in this model's events
 * @error: return location for a #GError
 *
 * Opens the memories model on the `memories` log of @redex and folds what
 * the log already holds. The model belongs to the thread-default main
 * context of the caller.
 *
 * Returns: (transfer full): a new #NetDbMemories, or %NULL with @error set
 */
NetDbMemories *
net_db_memories_new (NetRedex        *redex,
                     NetRedexConfig  *config,
                     guint64          origin,
                     GError         **error)
{
  g_return_val_if_fail (NET_IS_REDEX (redex), NULL);
  g_return_val_if_fail (config == NULL || NET_IS_REDEX_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_memories_open (redex, config, origin, NULL, error);
}

/* Opens the model; with @snapshot, restores it instead of folding the
 * whole log first (only the log after the snapshot's seq is folded). */
NetDbMemories *
_net_db_memories_open (NetRedex        *redex,
                       NetRedexConfig  *config,
                       guint64          origin,
                       GBytes          *snapshot,
                       GError         **error)
{
  g_autoptr(NetDbMemories) self = g_object_new (NET_TYPE_DB_MEMORIES, NULL);

  if (!_net_table_open (&self->table, redex, config, origin, error))
    return NULL;

  if (snapshot != NULL)
    {
      if (!net_db_memories_restore (self, snapshot, error))
        return NULL;
    }
  else if (!_net_table_catch_up (&self->table, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* Mutations ----------------------------------------------------------------- */

/* Whether @text (nullable) is valid UTF-8, its length in @len. */
static gboolean
check_utf8 (const char  *text,
            const char  *what,
            gsize       *len,
            GError     **error)
{
  *len = 0;
  if (text == NULL)
    return TRUE;
  /* Up to its NUL, as g_utf8_validate (text, -1, …) reads it. */
  *len = strlen (text);
  if (net_text_is_valid ((const guint8 *) text, *len))
    return TRUE;

  g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
               "the memory %s is not valid UTF-8", what);
  return FALSE;
}

/* A text field (its key, length and bytes) at @out; the bytes written. */
static inline gsize
put_text (guint8         *out,
          guint           field,
          const TextView *view)
{
  gsize n = net_field_put_bytes_head (out, field, view->len);

  memcpy (out + n, view->text, view->len);
  return n + view->len;
}

/* Payloads up to this size are built on the stack. */
#define PAYLOAD_STACK_MAX 512

static guint64
append_event (NetDbMemories       *self,
              NetDispatch          dispatch,
              guint64              id,
              const char          *content,
              const char * const  *tags,
              const char          *source,
              gint64               timestamp,
              GError             **error)
{
  guint8 stack[PAYLOAD_STACK_MAX];
  g_autofree guint8 *heap = NULL;
  const OwnEvent *outer = own_event;
  OwnEvent own;
  Decoded *d = &own.decoded;
  GByteArray *buf;
  guint8 *payload;
  gsize size, n = 0;
  guint n_tags = 0;
  guint64 seq;

  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;

  /* What the event says, as its apply would decode it: the fields are
   * checked (and measured) once, here. */
  decoded_init (d);
  d->id = id;
  d->content.text = content;
  d->source.text = source;
  if (!check_utf8 (content, "content", &d->content.len, error) ||
      !check_utf8 (source, "source", &d->source.len, error))
    return 0;
  size = 1 + 4 * NET_FIELD_HEAD_MAX + d->content.len + d->source.len;
  for (; tags != NULL && tags[n_tags] != NULL; n_tags++)
    {
      TextView tag = { tags[n_tags], 0 };

      if (!check_utf8 (tag.text, "tag", &tag.len, NULL))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "tag %u of the memory is not valid UTF-8", n_tags + 1);
          return 0;
        }
      if (tag.len == 0)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "tag %u of the memory is empty", n_tags + 1);
          return 0;
        }
      if (n_tags < DECODED_TAGS_INLINE)
        d->tags[n_tags] = tag;
      size += NET_FIELD_HEAD_MAX + tag.len;
    }
  d->n_tags = MIN (n_tags, DECODED_TAGS_INLINE);

  if (timestamp == 0)
    timestamp = g_get_real_time ();
  if (dispatch != NET_DISPATCH_MEMORY_DELETED)
    d->ts = timestamp;

  /* The payload is built in memory and appended at once (each append to
   * the scratch GByteArray costs more than the bytes it encodes). */
  payload = size <= sizeof stack ? stack : (heap = g_malloc (size));
  payload[n++] = NET_CODEC_VERSION;
  n += net_field_put_uint (payload + n, F_ID, id);
  if (content != NULL)
    n += put_text (payload + n, F_CONTENT, &d->content);
  for (guint i = 0; i < n_tags; i++)
    {
      TextView tag = { tags[i], i < DECODED_TAGS_INLINE ? d->tags[i].len : strlen (tags[i]) };

      n += put_text (payload + n, F_TAG, &tag);
    }
  if (source != NULL)
    n += put_text (payload + n, F_SOURCE, &d->source);
  if (dispatch != NET_DISPATCH_MEMORY_DELETED)
    n += net_field_put_int (payload + n, F_TIMESTAMP, timestamp);
  g_assert (n <= size);

  buf = _net_table_begin_append (&self->table, dispatch, id, error);
  if (buf == NULL)
    return 0;
  g_byte_array_append (buf, payload, n);

  /* The apply of this event (on the owner thread, before the append
   * returns) takes @own instead of decoding the payload again.  It
   * compares the bytes, so an event it folds first (catching up with the
   * log) is decoded and checked as any other. */
  own.dispatch = dispatch;
  own.payload = payload;
  own.payload_len = n;
  if (n_tags <= DECODED_TAGS_INLINE)
    own_event = &own;
  seq = _net_table_end_append (&self->table, dispatch, id, error);
  own_event = outer;

  return seq;
}

/**
 * net_db_memories_store:
 * @self: a #NetDbMemories
 * @id: the memory id, chosen by the caller (1 or more; 0 is
 *   %NET_ERROR_INVALID_ARGUMENT)
 * @content: the text (UTF-8)
 * @tags: (array zero-terminated=1) (nullable): the tags (UTF-8, not
 *   empty: "" is %NET_ERROR_INVALID_ARGUMENT), or %NULL for none; a
 *   repeated tag is kept once
 * @source: (nullable): where the memory comes from (UTF-8), or %NULL
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Stores a memory.  A new id is stored unpinned, created and updated at
 * @timestamp; storing an existing id replaces its content, tags and
 * source and moves its updated-at, but keeps its pinned state and
 * created-at.
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_memories_store (NetDbMemories       *self,
                       guint64              id,
                       const char          *content,
                       const char * const  *tags,
                       const char          *source,
                       gint64               timestamp,
                       GError             **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (content != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_MEMORY_STORED, id, content, tags, source,
                       timestamp, error);
}

/**
 * net_db_memories_retag:
 * @self: a #NetDbMemories
 * @id: the memory id
 * @tags: (array zero-terminated=1) (nullable): the new tags (UTF-8, not
 *   empty), or %NULL for none
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Replaces the tags of a memory and moves its updated-at.  An id the
 * state does not hold is %NET_ERROR_NOT_FOUND and logs nothing (checked
 * on the owner thread, where the state is current for the db's own
 * writes).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_memories_retag (NetDbMemories       *self,
                       guint64              id,
                       const char * const  *tags,
                       gint64               timestamp,
                       GError             **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_MEMORY_RETAGGED, id, NULL, tags, NULL,
                       timestamp, error);
}

/**
 * net_db_memories_pin:
 * @self: a #NetDbMemories
 * @id: the memory id
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Pins a memory and moves its updated-at.  An id the state does not hold
 * is %NET_ERROR_NOT_FOUND and logs nothing (checked on the owner thread).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_memories_pin (NetDbMemories  *self,
                     guint64         id,
                     gint64          timestamp,
                     GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_MEMORY_PINNED, id, NULL, NULL, NULL,
                       timestamp, error);
}

/**
 * net_db_memories_unpin:
 * @self: a #NetDbMemories
 * @id: the memory id
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Unpins a memory and moves its updated-at.  An id the state does not
 * hold is %NET_ERROR_NOT_FOUND and logs nothing (checked on the owner
 * thread).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_memories_unpin (NetDbMemories  *self,
                       guint64         id,
                       gint64          timestamp,
                       GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_MEMORY_UNPINNED, id, NULL, NULL, NULL,
                       timestamp, error);
}

/**
 * net_db_memories_delete:
 * @self: a #NetDbMemories
 * @id: the memory id
 * @error: return location for a #GError
 *
 * Deletes a memory. Its #NetMemory object keeps its last values.  An id
 * the state does not hold is %NET_ERROR_NOT_FOUND and logs nothing
 * (checked on the owner thread).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_memories_delete (NetDbMemories  *self,
                        guint64         id,
                        GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_MEMORY_DELETED, id, NULL, NULL, NULL, 0, error);
}

/* Queries ------------------------------------------------------------------- */

/**
 * net_db_memories_get:
 * @self: a #NetDbMemories
 * @id: a memory id
 *
 * Looks a memory up by id.
 *
 * Returns: (transfer full) (nullable): the memory, or %NULL
 */
NetMemory *
net_db_memories_get (NetDbMemories *self,
                     guint64        id)
{
  MemoryEntry *e;

  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), NULL);

  e = lookup (self, id);
  return e ? _net_table_ref_item (&self->table, e) : NULL;
}

static guint
order_key (NetOrderBy order,
           gboolean  *desc)
{
  *desc = order == NET_ORDER_BY_ID_DESC || order == NET_ORDER_BY_CREATED_DESC ||
          order == NET_ORDER_BY_UPDATED_DESC;
  switch (order)
    {
    case NET_ORDER_BY_CREATED_ASC:
    case NET_ORDER_BY_CREATED_DESC:
      return KEY_CREATED;
    case NET_ORDER_BY_UPDATED_ASC:
    case NET_ORDER_BY_UPDATED_DESC:
      return KEY_UPDATED;
    case NET_ORDER_BY_ID_ASC:
    case NET_ORDER_BY_ID_DESC:
    default:
      return KEY_ID;
    }
}

typedef NetTableVisitFunc VisitFunc;   /* called with a MemoryEntry* */

/* The one matcher of a memory, on its entry. */
static gboolean
entry_matches (NetMemoriesFilter *filter,
               const MemoryEntry *e)
{
  return _net_memories_filter_matches_fields (filter, e->content, NULL,
                                              (const char * const *) e->tags, e->source,
                                              e->created, e->updated, e->is_pinned);
}

static gboolean
memory_matches (gconstpointer entry,
                gconstpointer filter)
{
  return entry_matches ((NetMemoriesFilter *) filter, entry);
}

/* Where the memories a filter can select are, for the engine's set
 * planner: the tag, all-tags, source and pinned sets each hold every
 * match; the any-tags sets together do. */
static void
plan_make (NetDbMemories     *self,
           NetMemoriesFilter *filter,
           NetTablePlan      *plan)
{
  const char * const *tags;
  const char *tag, *source;

  _net_table_plan_init (&self->table, plan);
  if (filter == NULL)
    return;

  /* A tag or source that no memory has is absent from the index. */
  if ((tag = net_memories_filter_get_tag (filter)) != NULL)
    _net_table_plan_consider (plan, tag_set_lookup (self, tag));
  if ((tags = net_memories_filter_get_all_tags (filter)) != NULL)
    for (guint i = 0; tags[i] != NULL; i++)
      _net_table_plan_consider (plan, tag_set_lookup (self, tags[i]));
  if ((source = net_memories_filter_get_source (filter)) != NULL)
    _net_table_plan_consider (plan, _net_table_set_index_lookup (self->by_source, source, FALSE));
  if (net_memories_filter_get_pinned_set (filter) && net_memories_filter_get_pinned (filter))
    _net_table_plan_consider (plan, self->pinned);

  if ((tags = net_memories_filter_get_any_tags (filter)) != NULL)
    {
      guint n = g_strv_length ((char **) tags);
      g_autofree IdSet **sets = g_new (IdSet *, n);

      for (guint i = 0; i < n; i++)
        sets[i] = tag_set_lookup (self, tags[i]);
      _net_table_plan_any_of (plan, sets, n);
    }
}

/*
 * Visits the memories @filter selects, in its order when @ordered (else in
 * any order), after skipping @skip of them, until @func returns FALSE;
 * @window is how many of them the caller needs at most (offset + limit;
 * 0 for all).  The engine's planners: the smallest candidate set the
 * indexes give, or the ordered index, each memory checked by the filter.
 */
static void
visit (NetDbMemories     *self,
       NetMemoriesFilter *filter,
       gboolean           ordered,
       guint              skip,
       guint              window,
       VisitFunc          func,
       gpointer           data)
{
  NetTableWalk w;
  NetTablePlan plan;

  _net_table_walk_init (&self->table, &w, (NetFilterBase *) filter);
  if (filter != NULL)
    {
      w.nothing_else = FALSE;
      w.matches = memory_matches;
      w.match_data = filter;
    }
  plan_make (self, filter, &plan);
  _net_table_plan_visit (&self->table, &plan, &w, ordered,
                         filter != NULL && _net_memories_filter_is_single_index (filter),
                         skip, window, func, data);
  _net_table_plan_clear (&plan);
}

/**
 * net_db_memories_find_many:
 * @self: a #NetDbMemories
 * @filter: (nullable): a #NetMemoriesFilter, or %NULL for every memory by id
 *
 * Finds the memories @filter selects, in its order and window.  A query
 * by tag, source or pinned state touches only the memories in that index;
 * an ordered query with a limit that has none stops after the window:
 * neither sorts the table.
 *
 * Returns: (transfer container) (element-type NetMemory): the memories (the array
 *   holds a reference to each; free it with g_ptr_array_unref())
 */
GPtrArray *
net_db_memories_find_many (NetDbMemories     *self,
                           NetMemoriesFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), NULL);

  return _net_table_find_many (&self->table, (NetFilterBase *) filter);
}

/**
 * net_db_memories_find_first:
 * @self: a #NetDbMemories
 * @filter: (nullable): a #NetMemoriesFilter, or %NULL
 *
 * Finds the first memory @filter selects (honouring its order and
 * offset).
 *
 * Returns: (transfer full) (nullable): the memory, or %NULL
 */
NetMemory *
net_db_memories_find_first (NetDbMemories     *self,
                            NetMemoriesFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), NULL);

  return _net_table_find_first (&self->table, (NetFilterBase *) filter);
}

/* When @filter selects by at most one of tag, source and pinned state,
 * the size of an index answers: sets @n and returns TRUE. */
static gboolean
count_from_index (NetDbMemories     *self,
                  NetMemoriesFilter *filter,
                  guint             *n)
{
  g_autoptr(NetMemoriesFilter) plain = net_memories_filter_new ();
  const char *tag = net_memories_filter_get_tag (filter);
  const char *source = net_memories_filter_get_source (filter);
  gboolean pinned_set = net_memories_filter_get_pinned_set (filter);
  gboolean pinned = net_memories_filter_get_pinned (filter);
  guint total = _net_id_table_size (&self->table.by_id);
  IdSet *set;

  if (tag != NULL)
    net_memories_filter_set_tag (plain, tag);
  else if (source != NULL)
    net_memories_filter_set_source (plain, source);
  else if (pinned_set)
    net_memories_filter_set_pinned (plain, pinned);

  if (!_net_memories_filter_same_selection (filter, plain))
    return FALSE;

  if (tag != NULL)
    {
      set = tag_set_lookup (self, tag);
      *n = set != NULL ? set->len : 0;
    }
  else if (source != NULL)
    {
      set = _net_table_set_index_lookup (self->by_source, source, FALSE);
      *n = set != NULL ? set->len : 0;
    }
  else if (pinned_set)
    *n = pinned ? self->pinned->len : total - self->pinned->len;
  else
    *n = total;

  return TRUE;
}

/* The schema's side of the queries (NetTableSchema). */
static gboolean
memories_count_fast (gpointer       model,
                     NetFilterBase *filter,
                     guint         *n)
{
  if (filter == NULL)
    {
      *n = _net_id_table_size (&((NetDbMemories *) model)->table.by_id);
      return TRUE;
    }
  return count_from_index (model, (NetMemoriesFilter *) filter, n);
}

static void
memories_visit (gpointer           model,
                NetFilterBase     *filter,
                gboolean           ordered,
                guint              skip,
                guint              window,
                NetTableVisitFunc  func,
                gpointer           data)
{
  visit (model, (NetMemoriesFilter *) filter, ordered, skip, window, func, data);
}

/**
 * net_db_memories_count:
 * @self: a #NetDbMemories
 * @filter: (nullable): a #NetMemoriesFilter, or %NULL for all memories
 *
 * Counts the memories @filter selects, ignoring its limit and offset.
 * Counting all memories, or by a tag, a source or the pinned state alone,
 * is O(1).
 *
 * Returns: the number of memories
 */
guint
net_db_memories_count (NetDbMemories     *self,
                       NetMemoriesFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), 0);

  return _net_table_count (&self->table, (NetFilterBase *) filter);
}

/**
 * net_db_memories_exists:
 * @self: a #NetDbMemories
 * @filter: (nullable): a #NetMemoriesFilter, or %NULL
 *
 * Tells whether @filter selects any memory, ignoring its limit and offset.
 *
 * Returns: %TRUE if at least one memory matches
 */
gboolean
net_db_memories_exists (NetDbMemories     *self,
                        NetMemoriesFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), FALSE);
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), FALSE);

  return _net_table_exists (&self->table, (NetFilterBase *) filter);
}

/* Live queries ----------------------------------------------------------------- */

typedef struct
{
  NetMemoriesFilter *filter;   /* a copy: the caller's may change under us */
  guint              key;
  gboolean           desc;
} Matcher;

static gpointer
watch_matcher_new (GObject  *source,
                   GObject  *filter,
                   gboolean *desc)
{
  Matcher *m = g_new0 (Matcher, 1);
  NetOrderBy order;

  m->filter = filter != NULL ? net_memories_filter_copy ((NetMemoriesFilter *) filter) : NULL;
  _net_memories_filter_get_window (m->filter, &order, NULL, NULL);
  m->key = order_key (order, &m->desc);
  *desc = m->desc;
  return m;
}

static void
watch_matcher_free (gpointer data)
{
  Matcher *m = data;

  g_clear_object (&m->filter);
  g_free (m);
}

static inline guint64
watch_key (const Matcher     *m,
           const MemoryEntry *e)
{
  guint64 key = entry_key (e, m->key);

  return m->desc ? ~key : key;
}

static gboolean
watch_match (GObject  *source,
             gpointer  matcher,
             guint64   id,
             guint64  *key)
{
  Matcher *m = matcher;
  MemoryEntry *e = lookup ((NetDbMemories *) source, id);

  if (e == NULL || !entry_matches (m->filter, e))
    return FALSE;
  *key = watch_key (m, e);
  return TRUE;
}

typedef struct
{
  NetDbMemories *self;
  Matcher       *m;
  void         (*func) (guint64, guint64, gpointer);
  gpointer       data;
} WatchVisit;

static gboolean
watch_visit_cb (gpointer thing,
                gpointer data)
{
  WatchVisit *v = data;
  MemoryEntry *e = thing;

  v->func (e->id, watch_key (v->m, e), v->data);
  return TRUE;
}

static void
watch_foreach_match (GObject  *source,
                     gpointer  matcher,
                     void    (*func) (guint64, guint64, gpointer),
                     gpointer  data)
{
  WatchVisit v = { (NetDbMemories *) source, matcher, func, data };

  visit (v.self, v.m->filter, FALSE, 0, 0, watch_visit_cb, &v);
}

static const NetQueryFuncs memories_query_funcs = {
  .item_type = net_memory_get_type,
  .filter_type = net_memories_filter_get_type,
  .matcher_new = watch_matcher_new,
  .matcher_free = watch_matcher_free,
  .match = watch_match,
  .foreach_match = watch_foreach_match,
  .get_item = _net_table_watch_get_item,
  .get_window = _net_table_watch_get_window,
};

/**
 * net_db_memories_watch:
 * @self: a #NetDbMemories
 * @filter: (nullable): a #NetMemoriesFilter, or %NULL for every memory by id
 *
 * Makes a live query: a #GListModel of #NetMemory whose contents equal
 * net_db_memories_find_many() of @filter as of its #NetQueryModel:seq,
 * updated from the fold's dispatch with minimal
 * #GListModel::items-changed emissions.  Over a large table the model
 * fills in steps from an idle source: it holds only part of that
 * until #NetQueryModel:pending is 0 (see #NetQueryModel:incremental).
 * Dropping the last reference to it disconnects it.
 *
 * Returns: (transfer full): a new #NetQueryModel
 */
NetQueryModel *
net_db_memories_watch (NetDbMemories     *self,
                       NetMemoriesFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_MEMORIES_FILTER (filter), NULL);

  return _net_table_watch (&self->table, &memories_query_funcs, (NetFilterBase *) filter);
}

/* Watermarks ---------------------------------------------------------------- */

/**
 * net_db_memories_get_applied_seq:
 * @self: a #NetDbMemories
 *
 * Gets the seq of the last event folded into the state.
 *
 * Returns: the seq, or 0 when nothing was folded
 */
guint64
net_db_memories_get_applied_seq (NetDbMemories *self)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);

  return _net_table_get_applied_seq (&self->table);
}

/**
 * net_db_memories_get_fold_errors:
 * @self: a #NetDbMemories
 *
 * Gets how many events could not be decoded and were skipped.
 *
 * Returns: the number of skipped events
 */
guint64
net_db_memories_get_fold_errors (NetDbMemories *self)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);

  return _net_table_get_fold_errors (&self->table);
}

/**
 * net_db_memories_get_origin:
 * @self: a #NetDbMemories
 *
 * Gets the origin recorded in this model's events.
 *
 * Returns: the origin
 */
guint64
net_db_memories_get_origin (NetDbMemories *self)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), 0);

  return self->table.origin;
}

/**
 * net_db_memories_wait_for_seq_async:
 * @self: a #NetDbMemories
 * @seq: the seq to wait for
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called once @seq is folded and delivered
 * @user_data: data for @callback
 *
 * Waits until the event @seq (appended by any thread or process) is
 * folded and its changes delivered.  Cancelling @cancellable answers
 * %G_IO_ERROR_CANCELLED at once (also when it is already cancelled).
 * After close, a seq the state already holds succeeds and a later one
 * fails with %NET_ERROR_CLOSED.
 */
void
net_db_memories_wait_for_seq_async (NetDbMemories       *self,
                                    guint64              seq,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (NET_IS_DB_MEMORIES (self));

  _net_table_wait_for_seq_async (&self->table, seq, cancellable, callback, user_data,
                                 net_db_memories_wait_for_seq_async);
}

/**
 * net_db_memories_wait_for_seq_finish:
 * @self: a #NetDbMemories
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes net_db_memories_wait_for_seq_async().
 *
 * Returns: %TRUE once the seq is folded; %FALSE with @error set
 */
gboolean
net_db_memories_wait_for_seq_finish (NetDbMemories  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * net_db_memories_wait_for_seq:
 * @self: a #NetDbMemories
 * @seq: the seq to wait for
 * @timeout_ms: how long to wait, in milliseconds
 * @error: return location for a #GError
 *
 * Iterates the owner main context until the event @seq is folded and
 * delivered. Call it on the owner thread.
 *
 * Returns: %TRUE once folded (after close: when the state already
 *   holds @seq); %FALSE with %NET_ERROR_TIMEOUT after @timeout_ms,
 *   %NET_ERROR_CLOSED, or another error
 */
gboolean
net_db_memories_wait_for_seq (NetDbMemories  *self,
                              guint64         seq,
                              guint           timeout_ms,
                              GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_wait_for_seq (&self->table, seq, timeout_ms, error);
}

/* Snapshots ------------------------------------------------------------------ */

/* The schema's side of snapshots: the memories by id. */
static void
memories_foreach_snapshot_entry (gpointer           model,
                                 NetTableEntryFunc  func,
                                 gpointer           data)
{
  NetDbMemories *self = model;
  NetBTreeIter it;

  for (gboolean ok = _net_btree_iter_first (self->table.order[0][KEY_ID], &it); ok; ok = _net_btree_iter_next (&it))
    func (_net_btree_iter_value (&it), data);
}

static void
memories_encode_entry (gpointer    entry,
                       NetEncoder *enc)
{
  MemoryEntry *e = entry;

  net_encoder_put_uint (enc, M_ID, e->id);
  net_encoder_put_string (enc, M_CONTENT, e->content);
  net_encoder_put_int (enc, M_CREATED, e->created);
  for (guint i = 0; e->tags[i] != NULL; i++)
    net_encoder_put_string (enc, M_TAG, e->tags[i]);
  if (e->source != NULL)
    net_encoder_put_string (enc, M_SOURCE, e->source);
  net_encoder_put_int (enc, M_UPDATED, e->updated);
  net_encoder_put_uint (enc, M_PINNED, e->is_pinned);
}

/**
 * net_db_memories_snapshot:
 * @self: a #NetDbMemories
 * @error: return location for a #GError
 *
 * Serializes the state as of #NetDbMemories:applied-seq, with that seq, so
 * net_db_memories_restore() can continue from it.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 */
GBytes *
net_db_memories_snapshot (NetDbMemories  *self,
                          GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_table_snapshot (&self->table);
}

static gboolean
snapshot_invalid (GError     **error,
                  const char  *detail)
{
  return _net_snapshot_invalid (error, "memories", detail);
}

/* A text field of a record as a view into it: valid UTF-8 without NUL,
 * what net_field_dup_utf8() accepts. */
static inline gboolean
record_text_view (const NetField *f,
                  TextView       *out)
{
  if (f->wire != NET_WIRE_BYTES || !net_text_is_valid (f->bytes, f->bytes_len))
    return FALSE;
  out->text = (const char *) f->bytes;
  out->len = f->bytes_len;
  return TRUE;
}

/* A text field's length and bytes at *@p (its key read), within @end. */
static inline gboolean
record_text_fast (const guint8 **p,
                  const guint8  *end,
                  TextView      *out)
{
  guint64 len;

  if (!net_leb128_get_short (p, end, &len) || len > (guint64) (end - *p))
    return FALSE;
  out->text = (const char *) *p;
  out->len = len;
  *p += len;
  return TRUE;
}

/* The record as memories_encode_entry() writes it, read in that order with
 * no field loop: id, content, created, its tags (up to
 * DECODED_TAGS_INLINE), a source or none, updated and pinned, with their
 * wire types, nothing after them.  Anything else (an older or newer
 * writer, a field twice, more tags, a long varint, a bad text or pinned)
 * returns FALSE having made nothing, and decode_memory_fields() decides:
 * what this accepts, that would read the same, so both give one result. */
static gboolean
decode_memory_fast (const guint8  *p,
                    gsize          len,
                    MemoryEntry  **out,
                    NetArena      *arena)
{
  const guint8 *end = p + len;
  TextView tags[DECODED_TAGS_INLINE];
  TextView content, source = { NULL, 0 };
  guint64 id, created, updated, pinned;
  guint n_tags = 0;

  if (len < 1 || *p++ != NET_CODEC_VERSION)
    return FALSE;

  if (p == end || *p++ != (M_ID << 3 | NET_WIRE_VARINT) ||
      !net_leb128_get_short (&p, end, &id))
    return FALSE;
  if (p == end || *p++ != (M_CONTENT << 3 | NET_WIRE_BYTES) ||
      !record_text_fast (&p, end, &content))
    return FALSE;
  if (p == end || *p++ != (M_CREATED << 3 | NET_WIRE_SVARINT) ||
      !net_leb128_get_short (&p, end, &created))
    return FALSE;
  while (p != end && *p == (M_TAG << 3 | NET_WIRE_BYTES))
    {
      p++;
      if (n_tags == G_N_ELEMENTS (tags) || !record_text_fast (&p, end, &tags[n_tags++]))
        return FALSE;
    }
  if (p != end && *p == (M_SOURCE << 3 | NET_WIRE_BYTES))
    {
      p++;
      if (!record_text_fast (&p, end, &source))
        return FALSE;
    }
  if (p == end || *p++ != (M_UPDATED << 3 | NET_WIRE_SVARINT) ||
      !net_leb128_get_short (&p, end, &updated))
    return FALSE;
  if (p == end || *p++ != (M_PINNED << 3 | NET_WIRE_VARINT) ||
      !net_leb128_get_short (&p, end, &pinned) ||
      pinned > 1 || p != end)
    return FALSE;

  if (!net_text_is_valid ((const guint8 *) content.text, content.len) ||
      (source.text != NULL && !net_text_is_valid ((const guint8 *) source.text, source.len)))
    return FALSE;
  for (guint i = 0; i < n_tags; i++)
    if (!net_text_is_valid ((const guint8 *) tags[i].text, tags[i].len))
      return FALSE;

  /* A tag repeated is kept once, the first (as entry_set_texts() does). */
  n_tags = dedup_tag_views (tags, n_tags);
  *out = entry_new_with_text_views (arena, id, net_zigzag_decode (created),
                                    net_zigzag_decode (updated),
                                    &content, &source, tags, n_tags);
  (*out)->is_pinned = pinned != 0;
  return TRUE;
}

/* Any record, field by field: a field may come in any order or twice (the
 * last one counts; every tag counts), unknown ones are skipped.  The texts
 * are views into the record until the entry's block copies them, once. */
static gboolean
decode_memory_fields (const NetField  *outer,
                      MemoryEntry    **out,
                      NetArena        *arena,
                      GError         **error)
{
  TextView inline_tags[DECODED_TAGS_INLINE];
  g_autofree TextView *more_tags = NULL;
  TextView *tags = inline_tags;
  guint n_tags = 0, tags_cap = G_N_ELEMENTS (inline_tags);
  TextView content = { NULL, 0 }, source = { NULL, 0 }, view;
  guint64 id = 0, pinned = 0;
  gint64 created = 0, updated = 0;
  gboolean has_id = FALSE, bad_text = FALSE;
  NetDecoder dec;
  NetField f;
  int r;

  if (!net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    return snapshot_invalid (error, "bad memory record");

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case M_ID: id = f.uint_value; has_id = f.wire == NET_WIRE_VARINT; break;
        case M_CREATED: created = f.int_value; break;
        case M_UPDATED: updated = f.int_value; break;
        case M_PINNED: pinned = f.uint_value; break;
        case M_CONTENT:
        case M_TAG:
        case M_SOURCE:
          if (!record_text_view (&f, &view))
            bad_text = TRUE;
          else if (f.field == M_CONTENT)
            content = view;
          else if (f.field == M_SOURCE)
            source = view;
          else
            {
              if (n_tags == tags_cap)
                {
                  tags_cap *= 2;
                  more_tags = g_renew (TextView, more_tags, tags_cap);
                  if (tags == inline_tags)
                    memcpy (more_tags, inline_tags, sizeof inline_tags);
                  tags = more_tags;
                }
              tags[n_tags++] = view;
            }
          break;
        default:
          break;
        }
    }

  if (r < 0 || !has_id || content.text == NULL || bad_text || pinned > 1)
    return snapshot_invalid (error, "bad memory record");

  /* A tag repeated is kept once, the first (as entry_set_texts() does). */
  n_tags = dedup_tag_views (tags, n_tags);
  *out = entry_new_with_text_views (arena, id, created, updated, &content, &source, tags, n_tags);
  (*out)->is_pinned = pinned != 0;
  return TRUE;
}

static gboolean
decode_memory (const NetField  *outer,
               MemoryEntry    **out,
               NetArena        *arena,
               GError         **error)
{
  if (outer->wire != NET_WIRE_BYTES)
    return snapshot_invalid (error, "bad memory record");

  return decode_memory_fast (outer->bytes, outer->bytes_len, out, arena) ||
         decode_memory_fields (outer, out, arena, error);
}

static gboolean
memories_decode_record (const NetField  *field,
                        gpointer         record,
                        NetArena        *arena,
                        GError         **error)
{
  return decode_memory (field, record, arena, error);
}

/* A memory as a snapshot holds it (a restore's record): its entry, made
 * as the record is read, then moved into the table. */
static void
memory_record_clear (gpointer record)
{
  /* The entry's block is the restore's arena's. */
  g_clear_pointer ((MemoryEntry **) record, entry_free_outside_arena);
}

/* The schema's side of a restore: the items of ids the snapshot holds
 * carry on and change in place. */
static void
memories_replace_entries (gpointer  model,
                          GArray   *records,
                          NetArena *arena)
{
  NetDbMemories *self = model;
  g_autofree gpointer *entries = g_new (gpointer, MAX (records->len, 1));
  guint n;

  clear_entries (self);
  _net_arena_move (&self->table.arena, arena);
  for (guint i = 0; i < records->len; i++)
    entries[i] = g_steal_pointer (&g_array_index (records, MemoryEntry *, i));
  n = _net_table_insert_restored (&self->table, entries, records->len);
  for (guint i = 0; i < n; i++)
    entry_index_sets (self, entries[i]);
}

/**
 * net_db_memories_restore:
 * @self: a #NetDbMemories
 * @snapshot: a snapshot made by net_db_memories_snapshot()
 * @error: return location for a #GError
 *
 * Replaces the state with @snapshot, whose last event is K, then folds
 * the log after K. On an empty log, the log continues at K + 1; a log
 * that holds K replays from K + 1; a log that ends before K, or no longer
 * holds the events after K, fails with %NET_ERROR_SNAPSHOT_MISMATCH. A
 * restore never makes the fold skip an event.
 *
 * The state is queryable as soon as this returns.  The #NetMemory objects
 * of ids the snapshot holds carry on and change in place; the others keep
 * their last values.  Their notifies and #NetDbMemories:applied-seq follow
 * from the next dispatch of the fold, with #NetDbMemories::changed when
 * events after the snapshot were folded.
 *
 * Returns: %TRUE on success; %FALSE with @error set, %NET_ERROR_READ_ONLY
 *   while the database follows a leader (#NetDb:following)
 */
gboolean
net_db_memories_restore (NetDbMemories  *self,
                         GBytes         *snapshot,
                         GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), FALSE);
  g_return_val_if_fail (snapshot != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_restore (&self->table, snapshot, error);
}

/**
 * net_db_memories_close:
 * @self: a #NetDbMemories
 * @error: return location for a #GError
 *
 * Stops folding and closes the log (making it durable). Later mutations
 * fail with %NET_ERROR_CLOSED; queries keep answering from the last
 * state. Closing twice is harmless.
 *
 * Returns: %TRUE on success
 */
gboolean
net_db_memories_close (NetDbMemories  *self,
                       GError        **error)
{
  g_return_val_if_fail (NET_IS_DB_MEMORIES (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_close (&self->table, error);
}

/* Replication ----------------------------------------------------------------- */

NetFollow *
_net_db_memories_get_follow (NetDbMemories *self)
{
  return &self->table.follow;
}

NetTable *
_net_db_memories_get_table (NetDbMemories *self)
{
  return &self->table;
}
