/* net-query-model-private.h: what a model gives its live queries
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-query-model.h"

G_BEGIN_DECLS

/*
 * A model (NetDbTasks, NetDbMemories) is the source of its query models.
 * Sort keys are u64s that order ascending in the filter's order: the
 * model flips them for descending orders, and the query model flips the
 * id tiebreak the same way when @desc.
 */
typedef struct
{
  GType    (*item_type)     (void);
  GType    (*filter_type)   (void);

  /* Reads @filter once for many match() calls; NULL filter = everything,
   * by id.  Sets @desc for a descending order. */
  gpointer (*matcher_new)   (GObject       *source,
                             GObject       *filter,
                             gboolean      *desc);
  void     (*matcher_free)  (gpointer       matcher);
  /* Does @id exist and match now?  Then its sort key. */
  gboolean (*match)         (GObject       *source,
                             gpointer       matcher,
                             guint64        id,
                             guint64       *key);
  /* Calls @func for every item the matcher selects, in any order. */
  void     (*foreach_match) (GObject       *source,
                             gpointer       matcher,
                             void         (*func) (guint64  id,
                                                   guint64  key,
                                                   gpointer data),
                             gpointer       data);
  /* The item of @id: a live one, or one deleted since the last delivery.
   * (transfer full) */
  gpointer (*get_item)      (GObject       *source,
                             guint64        id);
  /* The window of @filter (which may be NULL). */
  void     (*get_window)    (GObject       *filter,
                             guint         *offset,
                             guint         *limit);
} NetQueryFuncs;

/*
 * The source's resumable walk, so that a large query fills in steps
 * (NULL: every fill is synchronous).  A walk passes every entry within
 * the bounds of the filter's order key (match() checks the rest), in the
 * filter's order, with the sort key match() gives, and can start again
 * after any (key, id): the step after that entry, whatever changed in
 * the meantime.
 */
typedef struct
{
  gpointer (*walk_new)  (GObject       *source,
                         GObject       *filter);
  void     (*walk_free) (gpointer       walk);
  /* How many entries a walk from after (@key, @id) (from the start unless
   * @resume) would pass: what is left to examine. */
  guint    (*remaining) (GObject       *source,
                         gpointer       walk,
                         gboolean       resume,
                         guint64        key,
                         guint64        id);
  /* Calls @func on the entries after (@key, @id) (from the start unless
   * @resume), in order, until it returns FALSE. */
  void     (*walk)      (GObject       *source,
                         gpointer       walk,
                         gboolean       resume,
                         guint64        key,
                         guint64        id,
                         gboolean     (*func) (guint64  id,
                                               guint64  key,
                                               gpointer data),
                         gpointer       data);
} NetQueryWalker;

NetQueryModel *_net_query_model_new    (GObject              *source,
                                        const NetQueryFuncs  *funcs,
                                        const NetQueryWalker *walker,
                                        GObject              *filter,
                                        guint64               seq);
/* From the source's delivery: these ids (repeats allowed) may have
 * changed up to @seq; those in @deleted (guint64* keys, may be NULL) were
 * deleted meanwhile, so an item of theirs is a new object.  Emits the
 * changes. */
void           _net_query_model_update (NetQueryModel       *self,
                                        const guint64       *ids,
                                        guint                n_ids,
                                        GHashTable          *deleted,
                                        guint64              seq);
/* Everything may have changed (a restore): recomputes and emits one
 * minimal range (@deleted as for _update()). */
void           _net_query_model_reset  (NetQueryModel       *self,
                                        GHashTable          *deleted,
                                        guint64              seq);
/* The source is gone or closed: the model keeps its contents. */
void           _net_query_model_detach (NetQueryModel       *self);

/*
 * What a model keeps for its live queries.  While there are any, it
 * records the ids it changes and keeps the items it deletes until the
 * next delivery, so that the queries can still hand them out until they
 * hear of it.
 */
typedef struct
{
  GPtrArray  *watches;     /* NetQueryModel*, weak */
  GArray     *touched;     /* guint64 ids changed since the last delivery */
  GHashTable *graveyard;   /* guint64* → the items deleted meanwhile */
  gboolean    reset;       /* a restore: the queries recompute */
} NetWatchHub;

void      _net_watch_hub_init       (NetWatchHub   *hub);
void      _net_watch_hub_clear      (NetWatchHub   *hub);
/* Registers a new query (weakly): it leaves the hub when finalized. */
void      _net_watch_hub_add        (NetWatchHub   *hub,
                                     NetQueryModel *model);
static inline gboolean
_net_watch_hub_active (NetWatchHub *hub)
{
  return hub->watches->len > 0;
}
static inline void
_net_watch_hub_touch (NetWatchHub *hub,
                      guint64      id)
{
  if (hub->watches->len > 0)
    g_array_append_val (hub->touched, id);
}
/* Takes a reference to @item. */
void      _net_watch_hub_bury       (NetWatchHub   *hub,
                                     guint64        id,
                                     gpointer       item);
/* (transfer none) */
gpointer  _net_watch_hub_grave      (NetWatchHub   *hub,
                                     guint64        id);
void      _net_watch_hub_reset      (NetWatchHub   *hub);
/* From the model's delivery: updates every query to @seq. */
void      _net_watch_hub_deliver    (NetWatchHub   *hub,
                                     guint64        seq);
void      _net_watch_hub_detach_all (NetWatchHub   *hub);
/* A new query of @source (the model holding @hub), registered unless
 * @closed. */
NetQueryModel *_net_watch_hub_watch (NetWatchHub          *hub,
                                     GObject              *source,
                                     const NetQueryFuncs  *funcs,
                                     const NetQueryWalker *walker,
                                     GObject              *filter,
                                     guint64               seq,
                                     gboolean              closed);

G_END_DECLS
