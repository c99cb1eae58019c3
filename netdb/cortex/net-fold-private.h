/* net-fold-private.h: folding a log into a model's state on its main loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A NetFold belongs to one model and its owner GMainContext.  A GSource
 * attached there wakes when the log grows (from any thread, or another
 * process for read-only logs), reads the new records in bounded batches,
 * decodes their EventMeta and hands each to the model's apply function,
 * then lets the model deliver its changes and wakes the seq waiters.
 * Mutations made on the owner thread apply their own event at once
 * (read-your-writes) and only schedule the delivery.
 */

#pragma once

#include <gio/gio.h>

#include "net-redex-file.h"
#include "net-event-meta-private.h"

G_BEGIN_DECLS

typedef struct _NetFold NetFold;

/* What a model did when its log restarted under it. */
typedef enum
{
  NET_FOLD_RESTART_IGNORED,   /* nothing: fold on, counting what was lost */
  NET_FOLD_RESTART_RESTORED,  /* restored a state the log continues
                               * (and called _net_fold_restart()) */
  NET_FOLD_RESTART_LATER,     /* nothing to restore from yet: ask again */
} NetFoldRestart;

typedef struct
{
  /* Applies one event; FALSE with @error when it cannot be decoded: the
   * fold counts it and goes on. */
  gboolean (*apply)   (gpointer            user_data,
                       guint64             seq,
                       const NetEventMeta *meta,
                       const guint8       *payload,
                       gsize               payload_len,
                       GError            **error);
  /* From a dispatch: events first_seq..last_seq were applied since the
   * last delivery; emit what changed.  After _net_fold_force_delivery()
   * the range may be empty (first_seq = last_seq + 1). */
  void     (*deliver) (gpointer            user_data,
                       guint64             first_seq,
                       guint64             last_seq);
  /* Optional, from a dispatch: the log no longer continues the events
   * folded so far (it restarted past the applied seq, or was reset: the
   * events folded may belong to a history it dropped).  A read-only
   * model restores the state its writer restarted the log from. */
  NetFoldRestart (*restart) (gpointer      user_data);
} NetFoldFuncs;

NetFold  *_net_fold_new               (NetRedexFile         *file,
                                       const NetFoldFuncs   *funcs,
                                       gpointer              user_data,
                                       guint64               applied_seq);
void      _net_fold_free              (NetFold              *self);
void      _net_fold_stop              (NetFold              *self);
guint64   _net_fold_get_applied_seq   (NetFold              *self);
guint64   _net_fold_get_delivered_seq (NetFold              *self);
gboolean  _net_fold_is_stopped        (NetFold              *self);
guint64   _net_fold_get_errors        (NetFold              *self);
guint64   _net_fold_get_events_applied (void);
gboolean  _net_fold_is_owner_thread   (NetFold              *self);
void      _net_fold_force_delivery    (NetFold              *self);
void      _net_fold_restart           (NetFold              *self,
                                       guint64               applied_seq,
                                       guint64               errors);
void      _net_fold_deliver_since     (NetFold              *self,
                                       guint64               seq);
gboolean  _net_fold_prepare_restore   (NetRedexFile         *file,
                                       guint64               applied,
                                       GError              **error);
gboolean  _net_fold_catch_up          (NetFold              *self,
                                       guint64               seq,
                                       GError              **error);
gboolean  _net_fold_current_for_check (NetFold              *self,
                                       GError              **error);
gboolean  _net_fold_apply_local       (NetFold              *self,
                                       guint64               seq,
                                       GBytes               *event,
                                       GError              **error);
gboolean  _net_fold_apply_sealed      (NetFold              *self,
                                       guint64               seq,
                                       const guint8         *event,
                                       gsize                 len,
                                       GError              **error);
void      _net_fold_wait_async        (NetFold              *self,
                                       gpointer              source_object,
                                       guint64               seq,
                                       GCancellable         *cancellable,
                                       GAsyncReadyCallback   callback,
                                       gpointer              user_data,
                                       gpointer              source_tag);
gboolean  _net_fold_wait              (NetFold              *self,
                                       guint64               seq,
                                       guint                 timeout_ms,
                                       GError              **error);

G_END_DECLS
