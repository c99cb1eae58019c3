/* net-origins-private.h: what every model keeps of the origins it folds,
 * and the envelope of its snapshots
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "net-codec-private.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 origin;
  guint64 app_seq;
} NetOriginSeq;

/*
 * The highest app_seq folded per origin, and the model's own counter: it
 * continues after whatever the log (or a restored snapshot) holds of the
 * model's origin.  @lock orders app_seqs as the log orders events: a
 * model holds it from choosing an app_seq until the append returned.
 */
typedef struct
{
  guint64  own;            /* this model's origin */
  GMutex   lock;
  guint64  next_app_seq;   /* under lock */
  GArray  *seen;           /* NetOriginSeq; owner thread only */
} NetOrigins;

void     _net_origins_init     (NetOrigins   *self);
void     _net_origins_clear    (NetOrigins   *self);
void     _net_origins_note     (NetOrigins   *self,
                                guint64       origin,
                                guint64       app_seq);
guint64  _net_origins_get      (NetOrigins   *self,
                                guint64       origin);
/* Forgets every origin, then notes @seen (NetOriginSeq). */
void     _net_origins_replace  (NetOrigins   *self,
                                GArray       *seen);

/*
 * A model snapshot: fields 1 (applied seq), 2 (an origin record: origin,
 * app_seq), 3 (one item, the model's own encoding) and 4 (fold errors),
 * as docs/payload-format.md describes.
 */
enum {
  NET_SNAPSHOT_APPLIED_SEQ = 1,
  NET_SNAPSHOT_ORIGIN = 2,
  NET_SNAPSHOT_ITEM = 3,
  NET_SNAPSHOT_FOLD_ERRORS = 4,
};

/* Starts a snapshot in @enc: everything but the items. */
void     _net_snapshot_write_head (NetEncoder  *enc,
                                   guint64      applied_seq,
                                   guint64      fold_errors,
                                   NetOrigins  *origins);

/* Decodes one item record; FALSE with @error when it is malformed. */
typedef gboolean (*NetSnapshotItemFunc) (const NetField  *field,
                                         gpointer         user_data,
                                         GError         **error);

/* Reads a snapshot of a @what model ("tasks"): calls @item_func for each
 * item, in order.  %NET_ERROR_SNAPSHOT_INVALID when anything is
 * malformed or the applied seq is missing. */
gboolean _net_snapshot_read       (GBytes               *snapshot,
                                   const char           *what,
                                   NetSnapshotItemFunc   item_func,
                                   gpointer              user_data,
                                   guint64              *applied_seq,
                                   guint64              *fold_errors,
                                   GArray               *origins,
                                   GError              **error);
/* Sets the error a model's item decoder reports. */
gboolean _net_snapshot_invalid    (GError              **error,
                                   const char           *what,
                                   const char           *detail);

G_END_DECLS
