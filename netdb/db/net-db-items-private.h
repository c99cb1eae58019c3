/* net-db-items-private.h: what the models need from the items and filters
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db-types.h"
#include "net-memories-filter.h"
#include "net-memory.h"
#include "net-task.h"
#include "net-tasks-filter.h"
#include "net-table-private.h"

G_BEGIN_DECLS

/* The total order of @order over (id, created-at, updated-at) keys:
 * (key, id) ascending for the *_ASC orders and exactly reversed, (key, id)
 * descending, for the *_DESC ones.  Returns <0, 0 (same id) or >0.  Takes
 * plain values so a model can compare against an item's previous key. */
static inline int
_net_db_order_compare (NetOrderBy order,
                       guint64    id_a,
                       gint64     created_a,
                       gint64     updated_a,
                       guint64    id_b,
                       gint64     created_b,
                       gint64     updated_b)
{
  int r = 0;

  switch (order)
    {
    case NET_ORDER_BY_CREATED_ASC:
    case NET_ORDER_BY_CREATED_DESC:
      r = (created_a > created_b) - (created_a < created_b);
      break;
    case NET_ORDER_BY_UPDATED_ASC:
    case NET_ORDER_BY_UPDATED_DESC:
      r = (updated_a > updated_b) - (updated_a < updated_b);
      break;
    case NET_ORDER_BY_ID_ASC:
    case NET_ORDER_BY_ID_DESC:
    default:
      break;
    }
  if (r == 0)
    r = (id_a > id_b) - (id_a < id_b);

  switch (order)
    {
    case NET_ORDER_BY_ID_DESC:
    case NET_ORDER_BY_CREATED_DESC:
    case NET_ORDER_BY_UPDATED_DESC:
      return -r;
    case NET_ORDER_BY_ID_ASC:
    case NET_ORDER_BY_CREATED_ASC:
    case NET_ORDER_BY_UPDATED_ASC:
    default:
      return r;
    }
}

/* Case-insensitive, Unicode-aware search.  Haystacks and needles are both
 * folded (NFKC, case folded, NFKC again; plain ASCII is only lowered) and
 * compared bytewise with strstr().  Never returns NULL: invalid UTF-8 is
 * repaired first. */
char          *_net_db_fold_text                       (const char         *text);

/* Tags match case-insensitively, folded like search text.  The key of
 * @tag: @tag itself when it is its own key (ASCII without upper case),
 * else a new folded string, also stored in *@owned (else *@owned = NULL). */
const char    *_net_memory_tag_key                     (const char         *tag,
                                                        char              **owned);
/* Whether @tag folds to @key (a key from _net_memory_tag_key()). */
gboolean       _net_memory_tag_has_key                 (const char         *tag,
                                                        const char         *key);

/* Items are live: the model changes them in place with _update(), which
 * records the properties that changed but emits nothing; the fold calls
 * _flush_notify() later, from a fresh dispatch of its source, which emits
 * one notify per changed property and clears the record.  A property that
 * changed and changed back before the flush is still notified once. */
NetTask       *_net_task_new                           (guint64             id,
                                                        const char         *title,
                                                        NetTaskStatus       status,
                                                        gint64              created_at,
                                                        gint64              updated_at);
/* The item's link to the table of its model (net-table-private.h). */
NetTableItemLink *_net_task_get_link                   (NetTask            *self);
void           _net_task_update                        (NetTask            *self,
                                                        const char         *title,
                                                        NetTaskStatus       status,
                                                        gint64              created_at,
                                                        gint64              updated_at);
gboolean       _net_task_has_pending_notify            (NetTask            *self);
void           _net_task_flush_notify                  (NetTask            *self);
/* Cached; recomputed only after the title changed.  Owner thread only. */
const char    *_net_task_get_folded_title              (NetTask            *self);
/* _net_db_order_compare() on the task's current values. */
int            _net_task_compare                       (NetOrderBy          order,
                                                        NetTask            *a,
                                                        NetTask            *b);

/* @tags may be NULL (no tags); duplicates are kept once, first occurrence
 * first.  @source may be NULL. */
/* _net_memory_new() taking @content, @tags (a NULL-terminated array of
 * strings, which it takes and dedups) and @source. */
NetMemory     *_net_memory_new_take                    (guint64             id,
                                                        char               *content,
                                                        GPtrArray          *tags,
                                                        char               *source,
                                                        gint64              created_at,
                                                        gint64              updated_at,
                                                        gboolean            pinned);
NetMemory     *_net_memory_new                         (guint64             id,
                                                        const char         *content,
                                                        const char * const *tags,
                                                        const char         *source,
                                                        gint64              created_at,
                                                        gint64              updated_at,
                                                        gboolean            pinned);
/* @tags (NULL-terminated, transfer full) without duplicates, first
 * occurrences kept, as a NULL-terminated array, without a copy. */
/* As _net_task_get_link(). */
NetTableItemLink *_net_memory_get_link                 (NetMemory          *self);
char         **_net_memory_take_tags                   (GPtrArray          *tags);
/* A copy of @tags (may be NULL) without duplicates; never NULL. */
char         **_net_memory_dedup_tags                  (const char * const *tags);
void           _net_memory_update                      (NetMemory          *self,
                                                        const char         *content,
                                                        const char * const *tags,
                                                        const char         *source,
                                                        gint64              created_at,
                                                        gint64              updated_at,
                                                        gboolean            pinned);
gboolean       _net_memory_has_pending_notify          (NetMemory          *self);
void           _net_memory_flush_notify                (NetMemory          *self);
const char    *_net_memory_get_folded_content          (NetMemory          *self);
int            _net_memory_compare                     (NetOrderBy          order,
                                                        NetMemory          *a,
                                                        NetMemory          *b);

/* A NULL filter selects everything, ordered by id ascending, unwindowed.
 * Tasks are matched by the engine (NetTableWalk), not here. */
/* The folded title-contains needle, or NULL when it does not constrain. */
const char    *_net_tasks_filter_get_folded_title      (NetTasksFilter     *filter);
/* TRUE when @a and @b (either may be NULL) match the same items; order-by,
 * limit and offset are not compared. */
gboolean       _net_tasks_filter_same_selection        (NetTasksFilter     *a,
                                                        NetTasksFilter     *b);
/* Order and window of @filter (which may be NULL); any out argument may be
 * NULL. */
void           _net_tasks_filter_get_window            (NetTasksFilter     *filter,
                                                        NetOrderBy         *order_by,
                                                        guint              *offset,
                                                        guint              *limit);

gboolean       _net_memories_filter_matches            (NetMemoriesFilter  *filter,
                                                        NetMemory          *memory);
/* The same, of a memory's fields (@tags NULL-terminated, @source NULL for
 * none; @folded_content NULL: folded here when the filter searches). */
gboolean       _net_memories_filter_matches_fields     (NetMemoriesFilter  *filter,
                                                        const char         *content,
                                                        const char         *folded_content,
                                                        const char * const *tags,
                                                        const char         *source,
                                                        gint64              created_at,
                                                        gint64              updated_at,
                                                        gboolean            pinned);
/* Whether @text, folded, contains @needle (folded), allocating only when
 * @text is not plain ASCII. */
gboolean       _net_db_text_contains_folded            (const char         *text,
                                                        const char         *needle);
const char    *_net_memories_filter_get_folded_content (NetMemoriesFilter  *filter);
/* TRUE when @filter constrains by exactly one index set (one tag, one
 * source, or pinned) and nothing else: every member of that set matches. */
gboolean       _net_memories_filter_is_single_index    (NetMemoriesFilter  *filter);
gboolean       _net_memories_filter_same_selection     (NetMemoriesFilter  *a,
                                                        NetMemoriesFilter  *b);
void           _net_memories_filter_get_window         (NetMemoriesFilter  *filter,
                                                        NetOrderBy         *order_by,
                                                        guint              *offset,
                                                        guint              *limit);

G_END_DECLS
