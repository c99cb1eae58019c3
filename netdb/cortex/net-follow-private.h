/* net-follow-private.h: a model's log as a leader or a follower writes it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every model keeps a NetFollow next to its fold and its origins.  It
 * holds what replication needs of a model, the same for every model: the
 * write path of a mutation (append to the log and apply at once, or, on a
 * follower, forward it to the leader or refuse it), the leader's side of
 * write forwarding (append a follower's event in its origin's order) and
 * the follower's re-bootstrap from a leader snapshot.  The model supplies
 * only what is its own: how to check one of its events and how to restore
 * one of its snapshots.
 */

#pragma once

#include <glib.h>

#include "net-event-meta-private.h"
#include "net-fold-private.h"
#include "net-origins-private.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

typedef struct
{
  /* Whether @payload is a well-formed event of the model, for the
   * dispatch of @meta; FALSE with @error when it is not. */
  gboolean (*check)   (const NetEventMeta  *meta,
                       const guint8        *payload,
                       gsize                payload_len,
                       GError             **error);
  /* The model's restore (net_db_tasks_restore()): replaces its state with
   * @snapshot and folds the log after it. */
  gboolean (*restore) (gpointer             model,
                       GBytes              *snapshot,
                       GError             **error);
} NetFollowFuncs;

/* Hands a mutation of a following model to its leader: @event as it would
 * have been appended, with app_seq 0.  @log is the one given to
 * _net_follow_init(). */
typedef void     (*NetFollowForwardFunc) (guint      log,
                                          GBytes    *event,
                                          gpointer   user_data);

/* A read-only model whose log restarted under it (its writer reset the
 * log): restores a state the log continues and returns TRUE, or finds
 * none yet and returns FALSE (it is asked again).  Without one the model
 * folds on, counting the events it lost. */
typedef gboolean (*NetFollowRestartFunc) (gpointer   model,
                                          gpointer   user_data);

/* What the leader did with a forwarded event. */
typedef enum
{
  NET_FOLLOW_APPENDED,      /* appended, with its seq */
  NET_FOLLOW_DUPLICATE,     /* the log already holds that app_seq */
  NET_FOLLOW_OUT_OF_ORDER,  /* an earlier app_seq of that origin is missing */
} NetFollowStatus;

typedef struct
{
  const NetFollowFuncs *funcs;
  gpointer              model;
  const char           *what;      /* "tasks": names the model in messages */
  guint                 log;       /* passed to the forward function */
  NetRedexFile         *file;      /* the model's, borrowed */
  NetFold              *fold;      /* the model's, borrowed */
  NetOrigins           *origins;   /* the model's; origins->own is its origin */
  GByteArray           *scratch;   /* a mutation's payload, under origins->lock */

  /* Following a leader: mutations go to @forward, or fail without one. */
  gboolean              following;
  gboolean              restoring; /* a re-bootstrap restores while following */
  NetFollowForwardFunc  forward;
  gpointer              forward_data;

  /* Read-only: what restores a state when the writer restarts the log. */
  NetFollowRestartFunc  restart_func;
  gpointer              restart_data;
} NetFollow;

void            _net_follow_init              (NetFollow             *self,
                                               const NetFollowFuncs  *funcs,
                                               gpointer               model,
                                               const char            *what,
                                               guint                  log,
                                               NetRedexFile          *file,
                                               NetFold               *fold,
                                               NetOrigins            *origins);
void            _net_follow_clear             (NetFollow             *self);

/*
 * The write path of a mutation, after the model checked its arguments:
 * _net_follow_check_mutation() refuses it while following without a
 * forward function; _net_follow_begin_append() takes origins->lock and
 * gives the emptied scratch buffer to encode the payload in;
 * _net_follow_end_append() appends the event and applies it (returning
 * its seq), or on a follower forwards it (returning 0 with no error),
 * and releases the lock in any case.
 */
gboolean        _net_follow_check_mutation    (NetFollow             *self,
                                               GError               **error);
GByteArray     *_net_follow_begin_append      (NetFollow             *self);
guint64         _net_follow_end_append        (NetFollow             *self,
                                               guint8                 dispatch,
                                               GError               **error);

/* %NET_ERROR_READ_ONLY for a restore while following, unless it is the
 * re-bootstrap's own. */
gboolean        _net_follow_check_restore     (NetFollow             *self,
                                               GError               **error);

/* For the model's NetFoldFuncs.restart: a state restored there is
 * delivered as a re-bootstrap's is. */
NetFoldRestart  _net_follow_restart           (NetFollow             *self);
void            _net_follow_set_restart_func  (NetFollow             *self,
                                               NetFollowRestartFunc   func,
                                               gpointer               user_data);

/* Following a leader: mutations fail with %NET_ERROR_READ_ONLY, or with
 * @forward, are handed to it. */
void            _net_follow_set_following     (NetFollow             *self,
                                               gboolean               following,
                                               NetFollowForwardFunc   forward,
                                               gpointer               forward_data);

/*
 * Leader side of write forwarding: appends @event (a well-formed event of
 * the model, of a follower's origin, with @app_seq) iff @app_seq is
 * exactly one more than the last the model holds of that origin, and
 * folds it as a local append.  TRUE with @status (and @seq when
 * appended); FALSE with a %NET_ERROR when the event is refused or cannot
 * be appended.
 */
gboolean        _net_follow_append_forwarded  (NetFollow             *self,
                                               GBytes                *event,
                                               guint64                app_seq,
                                               NetFollowStatus       *status,
                                               guint64               *seq,
                                               GError               **error);

/*
 * Follower side: replaces the log with an empty one that continues after
 * @snapshot, whose last event is @applied_seq (or keeps it when it
 * already holds that seq and what follows), then restores the model from
 * @snapshot.  The next delivery reports the events the state moved on by
 * as changed, as if they had been folded.
 */
gboolean        _net_follow_rebootstrap       (NetFollow             *self,
                                               GBytes                *snapshot,
                                               guint64                applied_seq,
                                               GError               **error);

G_END_DECLS
