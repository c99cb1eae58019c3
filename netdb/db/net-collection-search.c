/* net-collection-search.c: the search indexes of a collection (trigram postings)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-collection-internal-private.h"

/* Search indexes ------------------------------------------------------------------------ */

/*
 * A search index maps each trigram (three characters) of the folded text
 * of a string field to a posting, the ids of the records that have it
 * (appended; a record's old text leaves stale ids behind, dropped by a
 * compaction once they outnumber half the others): CONTAINS or PREFIX
 * with a needle of three characters or more checks only the records of
 * the needle's rarest trigram (net-collection-query.c's planner).  The
 * postings' layout and their reader are in
 * net-collection-internal-private.h.
 */

static void
posting_clear (Posting *p)
{
  for (guint i = 0; i < p->n_blocks; i++)
    g_free (p->blocks[i].data);
  g_free (p->blocks);
}

/* Room for one more varint in the last block. */
static void
posting_grow (Posting *p)
{
  if (p->n_blocks == 0 || (p->n_blocks == 1 && p->cap < POSTING_BLOCK))
    {
      /* The first block grows (doubling). */
      if (p->n_blocks == 0)
        {
          p->blocks = g_new0 (PostingBlock, 1);
          p->n_blocks = 1;
        }
      p->cap = p->cap == 0 ? 16 : p->cap * 2;
      p->blocks[0].data = g_realloc (p->blocks[0].data, p->cap);
    }
  else
    {
      /* A new block (the array grows by doubling). */
      p->blocks[p->n_blocks - 1].end = p->used;
      if ((p->n_blocks & (p->n_blocks - 1)) == 0)
        p->blocks = g_renew (PostingBlock, p->blocks, p->n_blocks * 2);
      p->blocks[p->n_blocks++] = (PostingBlock) { g_malloc (POSTING_BLOCK), 0 };
      p->cap = POSTING_BLOCK;
      p->used = 0;
    }
  p->cur = p->blocks[p->n_blocks - 1].data;
}

static inline void
posting_append (Posting *p,
                guint64  id)
{
  gint64 d = (gint64) (id - p->last);
  guint64 z = ((guint64) d << 1) ^ (guint64) (d >> 63);

  if (G_UNLIKELY (p->used + POSTING_MAX_VARINT > p->cap))
    posting_grow (p);
  while (z >= 0x80)
    {
      p->cur[p->used++] = (guint8) (z | 0x80);
      z >>= 7;
    }
  p->cur[p->used++] = (guint8) z;
  p->last = id;
  p->len++;
}

static inline guint32
gram_table_home (const GramTable *t,
                 guint32          key)
{
  guint32 h = key * 0x9E3779B1u;

  return (h ^ (h >> 15)) & t->mask;
}

/* The posting of @key, or NULL. */
static Posting *
gram_table_lookup (const GramTable *t,
                   guint32          key)
{
  if (t->slots == NULL)
    return NULL;
  for (guint32 i = gram_table_home (t, key);; i = (i + 1) & t->mask)
    {
      Posting *p = &t->slots[i];

      if (p->key == key)
        return p;
      if (p->key == 0)
        return NULL;
    }
}

static void
gram_table_grow (GramTable *t)
{
  Posting *old = t->slots;
  guint32 n_old = old != NULL ? t->mask + 1 : 0;
  guint32 n = n_old != 0 ? n_old * 2 : 1024;

  t->slots = g_new0 (Posting, n);
  t->mask = n - 1;
  for (guint32 j = 0; j < n_old; j++)
    if (old[j].key != 0)
      {
        guint32 i = gram_table_home (t, old[j].key);

        while (t->slots[i].key != 0)
          i = (i + 1) & t->mask;
        t->slots[i] = old[j];
      }
  g_free (old);
}

/* The posting of @key, made (empty) if it has none. */
static inline Posting *
gram_table_get (GramTable *t,
                guint32    key)
{
  guint32 i;

  if (t->slots != NULL)
    for (i = gram_table_home (t, key);; i = (i + 1) & t->mask)
      {
        Posting *p = &t->slots[i];

        if (p->key == key)
          return p;
        if (p->key == 0)
          break;
      }
  /* At most three quarters full. */
  if (t->slots == NULL || (t->len + 1) * 4 > (t->mask + 1) * 3)
    {
      gram_table_grow (t);
      i = gram_table_home (t, key);
      while (t->slots[i].key != 0)
        i = (i + 1) & t->mask;
    }
  t->slots[i].key = key;
  t->len++;
  return &t->slots[i];
}

/* Every posting gone (the slots kept for the next ones). */
void
_net_coll_gram_table_clear (GramTable *t)
{
  if (t->slots == NULL)
    return;
  for (guint32 i = 0; i <= t->mask; i++)
    if (t->slots[i].key != 0)
      posting_clear (&t->slots[i]);
  memset (t->slots, 0, (gsize) (t->mask + 1) * sizeof (Posting));
  t->len = 0;
}

void
_net_coll_search_index_free (gpointer data)
{
  SearchIndex *si = data;

  _net_coll_gram_table_clear (&si->grams);
  g_free (si->grams.slots);
  g_free (si->old_text);
  g_free (si);
}

/* A trigram as a key of SearchIndex.grams: three ASCII characters are
 * their bytes (and 3 in the top byte), any other trigram a 31-bit hash
 * with the top bit set.  Two trigrams of one hash share a set, which then
 * holds the records of either: a candidate is always checked against the
 * filter, so a set only has to hold every record that has the trigram.
 * No string is made, hashed or compared per trigram (they were a third
 * of an insert with a search index). */
static inline guint32
search_gram_key (const char *p,
                 gsize       len)
{
  guint32 h = 2166136261u;

  if (len == 3)
    return (guint32) (guchar) p[0] | (guint32) (guchar) p[1] << 8 |
           (guint32) (guchar) p[2] << 16 | 3u << 24;
  for (gsize i = 0; i < len; i++)
    {
      h ^= (guchar) p[i];
      h *= 16777619u;
    }
  return h | 0x80000000u;
}

/* Calls @func on the key of each trigram of @folded (a repeated one
 * again: adding a record to a set it is in, or removing it from one it
 * left, is harmless), without an allocation. */
static void
foreach_trigram (const char *folded,
                 void      (*func) (guint32 key, gpointer data),
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
gram_add_cb (guint32  key,
             gpointer data)
{
  GramOp *op = data;

  posting_append (gram_table_get (&op->si->grams, key), op->e->id);
  op->si->live++;
}

/* The trigrams of @text (raw: its folded text has as many characters
 * but for the rare NFKC expansion), for the count of stale ids. */
static guint64
search_text_trigrams (const char *text)
{
  glong n = text != NULL ? g_utf8_strlen (text, -1) : 0;

  return n > 2 ? (guint64) n - 2 : 0;
}

/* The text of @e in @si's field, or NULL. */
static const char *
search_index_text (SearchIndex *si,
                   Entry       *e)
{
  FieldVal fv;

  _net_coll_entry_field (e, si->cf, &fv);
  if (fv.missing || fv.type != NET_FIELD_STRING)
    return NULL;
  return fv.v.s;
}

static void
search_index_add (SearchIndex *si,
                  Entry       *e)
{
  GramOp op = { si, e };
  const char *text = search_index_text (si, e);
  g_autofree char *folded = NULL;

  if (text == NULL)
    return;
  folded = _net_db_fold_text (text);
  foreach_trigram (folded, gram_add_cb, &op);
}

/* Every posting made again from the records' texts: the stale ids are
 * gone. */
static void
search_index_compact (SearchIndex   *si,
                      NetCollection *self)
{
  gpointer e;

  _net_coll_gram_table_clear (&si->grams);
  si->live = si->stale = 0;
  for (guint64 pos = 0; (e = _net_id_table_next (&self->table.by_id, &pos)) != NULL;)
    search_index_add (si, e);
}

/* @text (@e's, now gone from @self or about to be replaced) leaves its
 * ids in the postings (a candidate is checked against the filter, and a
 * gone id is skipped): they are only counted, and the postings made
 * again once they are more than half the others.  TRUE when they were
 * made again (from the records @self holds now). */
static gboolean
search_index_leave (SearchIndex   *si,
                    NetCollection *self,
                    const char    *text)
{
  si->stale += search_text_trigrams (text);
  if (si->stale <= si->live / 2 + 1024)
    return FALSE;
  search_index_compact (si, self);
  return TRUE;
}

typedef void (*SearchIndexFunc) (SearchIndex   *si,
                                 NetCollection *self,
                                 Entry         *e);

/* Calls @func on the search indexes of the fields @nums (NULL: on every
 * index): a lookup by each field's name, not a walk of the indexes (an
 * update of a due date has no text to move). */
static void
search_indexes_foreach_written (NetCollection   *self,
                                const guint     *nums,
                                guint            n_nums,
                                Entry           *e,
                                SearchIndexFunc  func)
{
  SearchIndex *done[16];
  guint n = 0;
  GHashTableIter iter;
  gpointer si;

  if (G_LIKELY (self->search == NULL || g_hash_table_size (self->search) == 0))
    return;
  if (nums == NULL || n_nums > G_N_ELEMENTS (done))
    {
      g_hash_table_iter_init (&iter, self->search);
      while (g_hash_table_iter_next (&iter, NULL, &si))
        func (si, self, e);
      return;
    }
  for (guint i = 0; i < n_nums; i++)
    {
      StoredField *sf = g_ptr_array_index (self->stored, nums[i] - 1);

      if ((si = g_hash_table_lookup (self->search, sf->name)) == NULL)
        continue;
      /* Written under two numbers of its name: once. */
      for (guint j = 0; j < n && si != NULL; j++)
        if (done[j] == si)
          si = NULL;
      if (si == NULL)
        continue;
      done[n++] = si;
      func (si, self, e);
    }
}

/*
 * A search index keeps no copy of the texts: what a record's text was
 * when it changes (to count its ids stale, and to see whether it
 * changed at all) is taken before the change
 * (_net_coll_search_indexes_will_move()) and compared after it
 * (_net_coll_search_indexes_move()).  A folded copy and its hash table
 * entry were 70 bytes a record.
 */

/* @e is about to change (the fields @nums, or any when NULL): the text
 * it has now is kept until _net_coll_search_indexes_move(). */
static void
search_index_will_move (SearchIndex   *si,
                        NetCollection *self,
                        Entry         *e)
{
  g_free (si->old_text);
  si->old_text = g_strdup (search_index_text (si, e));
  si->moving = e;
}

void
_net_coll_search_indexes_will_move (NetCollection *self,
                                    Entry         *e,
                                    const guint   *nums,
                                    guint          n_nums)
{
  search_indexes_foreach_written (self, nums, n_nums, e, search_index_will_move);
}

/* @e changed: its text moves only when it is another text. */
static void
search_index_move (SearchIndex   *si,
                   NetCollection *self,
                   Entry         *e)
{
  g_autofree char *old = g_steal_pointer (&si->old_text);
  gboolean known = si->moving == e;

  si->moving = NULL;
  /* Without the text of before (not told): added again, the old ids
   * left (uncounted). */
  if (known)
    {
      if (g_strcmp0 (old, search_index_text (si, e)) == 0)
        return;
      if (search_index_leave (si, self, old))
        return;
    }
  search_index_add (si, e);
}

/* @e changed (the fields @nums, or any when NULL): its texts move. */
void
_net_coll_search_indexes_move (NetCollection *self,
                               Entry         *e,
                               const guint   *nums,
                               guint          n_nums)
{
  search_indexes_foreach_written (self, nums, n_nums, e, search_index_move);
}

void
_net_coll_search_indexes_add (NetCollection *self,
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

/* @e is gone from @self (its values are still there). */
void
_net_coll_search_indexes_remove (NetCollection *self,
                                 Entry         *e)
{
  GHashTableIter iter;
  gpointer p;

  if (G_LIKELY (self->search == NULL || g_hash_table_size (self->search) == 0))
    return;
  g_hash_table_iter_init (&iter, self->search);
  while (g_hash_table_iter_next (&iter, NULL, &p))
    {
      SearchIndex *si = p;

      search_index_leave (si, self, search_index_text (si, e));
    }
}

SearchIndex *
_net_coll_search_index_new (ClassField *cf)
{
  SearchIndex *si = g_new0 (SearchIndex, 1);

  si->cf = cf;
  return si;
}

/* Every posting gone (a restore). */
void
_net_coll_search_index_empty (SearchIndex *si)
{
  _net_coll_gram_table_clear (&si->grams);
  g_clear_pointer (&si->old_text, g_free);
  si->moving = NULL;
  si->live = si->stale = 0;
}

void
_net_coll_search_index_fill (SearchIndex   *si,
                             NetCollection *self)
{
  _net_coll_search_index_empty (si);
  search_index_compact (si, self);
}

/* The smallest posting a search index gives @c (ids, perhaps stale or
 * repeated: a superset of the matches), or NULL. */
Posting *
_net_coll_search_candidates (NetCollection *self,
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
      set = gram_table_lookup (&si->grams, search_gram_key (p, end - p));
      if (set == NULL)
        none = TRUE;
      else if (best == NULL || set->len < best->len)
        best = set;
    }
  /* A trigram no record has: an empty set of candidates. */
  if (none)
    {
      static Posting empty = { 0, };

      return &empty;
    }
  return best;
}
