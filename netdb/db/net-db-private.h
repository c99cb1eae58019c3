/* net-db-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db.h"
#include "net-db-snapshot-private.h"
#include "net-redex-config.h"
#include "net-redex-file.h"

G_BEGIN_DECLS

/* A collection the builder opens with the db. */
typedef struct
{
  char    *name;
  GType    record_type;
} NetDbCollectionSpec;

/* What a NetDb is opened with; NetDbBuilder fills it in. */
typedef struct
{
  const char      *path;        /* NULL: in memory */
  NetDbModels      models;
  guint64          origin;      /* 0: the stored one, or a new random one */
  NetRedexConfig  *config;      /* nullable */
  gboolean         read_only;
  GBytes          *snapshot;    /* nullable: a bundle to restore */
  guint64          max_snapshot_size;  /* 0: the default limits */
  GPtrArray       *collections; /* nullable: NetDbCollectionSpec*, owned by
                                 * the array */
} NetDbOptions;

NetDb   *_net_db_open                     (const NetDbOptions  *options,
                                           GError             **error);
gboolean _net_db_open_into                (NetDb               *self,
                                           const NetDbOptions  *options,
                                           GError             **error);
void     _net_db_set_options              (NetDb               *self,
                                           const NetDbOptions  *options);
const NetDbOptions *_net_db_get_options   (NetDb               *self);
gboolean _net_db_init_begin               (NetDb               *self,
                                           GError             **error);
void     _net_db_init_end                 (NetDb               *self,
                                           gboolean             ok);
gboolean _net_db_init_was_ok              (NetDb               *self);
/* net-db-async.c */
void     _net_db_async_initable_iface_init (GAsyncInitableIface *iface);
void     _net_db_open_async               (const NetDbOptions  *options,
                                           int                  io_priority,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
NetDb   *_net_db_open_finish              (GAsyncResult        *result,
                                           GError             **error);
/* Tests: @hook runs on the worker of an async open before it opens. */
void     _net_db_set_open_thread_hook     (GFunc                hook,
                                           gpointer             data);
/* The work of the async forms (net-db-async.c) ------------------------------ */

typedef struct _NetDbCheckpointJob NetDbCheckpointJob;
typedef struct _NetDbIo NetDbIo;

/* The db's files as a worker thread sees them (any thread). */
NetDbIo  *_net_db_get_io                            (NetDb               *self);
NetDbIo  *_net_db_io_ref                            (NetDbIo             *io);
void      _net_db_io_unref                          (NetDbIo             *io);
gboolean  _net_db_io_sync                           (NetDbIo             *io,
                                                     GError             **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetDbIo, _net_db_io_unref)

/* Owner thread: encodes the state of every model. */
NetDbCheckpointJob *_net_db_checkpoint_job_new      (NetDb               *self,
                                                     GError             **error);
/* Any thread. */
gboolean  _net_db_checkpoint_job_compress           (NetDbCheckpointJob  *job,
                                                     GError             **error);
gboolean  _net_db_checkpoint_job_write              (NetDbCheckpointJob  *job,
                                                     GError             **error);
/* Owner thread, after a successful write. */
void      _net_db_checkpoint_job_commit             (NetDb               *self,
                                                     NetDbCheckpointJob  *job);
void      _net_db_checkpoint_job_free               (NetDbCheckpointJob  *job);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetDbCheckpointJob, _net_db_checkpoint_job_free)

gboolean  _net_db_close_needs_checkpoint            (NetDb               *self);
gboolean  _net_db_close_logs                        (NetDb               *self,
                                                     GError             **error);
/* Owner thread: the sections of a snapshot, not yet compressed. */
NetDbBundle *_net_db_snapshot_bundle                (NetDb               *self,
                                                     GError             **error);
gboolean  _net_db_is_closed                         (NetDb               *self);
void      _net_db_set_closing                       (NetDb               *self);
gboolean  _net_db_checkpoint_wanted                 (NetDb               *self);

/* Events the open folded from the logs (those after the checkpoint or
 * snapshot it restored, or all of them). */
guint64  _net_db_get_events_folded        (NetDb               *self);
/* Tests: whether close writes a checkpoint (the default, when persistent
 * and writable). */
void     _net_db_set_checkpoint_on_close  (NetDb               *self,
                                           gboolean             checkpoint_on_close);

/* Replication (netdb/net/net-repl.c) ---------------------------------------- */

/* A model's log, named by its index on the wire.  Collections' logs
 * come after them: replication numbers them per session (see
 * docs/net-protocol.md) and the db names them by their log names. */
typedef enum
{
  NET_DB_LOG_TASKS = 0,
  NET_DB_LOG_MEMORIES = 1,
  NET_DB_N_LOGS
} NetDbLog;

/* What the leader did with a forwarded event. */
typedef enum
{
  NET_DB_FORWARD_APPENDED = 0,     /* appended, with its seq */
  NET_DB_FORWARD_DUPLICATE = 1,    /* the log already holds that app_seq */
  NET_DB_FORWARD_OUT_OF_ORDER = 2, /* an earlier app_seq of that origin is missing */
} NetDbForwardStatus;

/*
 * Receives a mutation of a following db with write forwarding: @event is
 * encoded as the mutation would have been appended (dispatch, payload,
 * the db's origin) but with app_seq 0; the forwarder assigns the app_seq
 * when it first sends it.
 */
typedef void (*NetDbForwardFunc) (const char *log,
                                  GBytes     *event,
                                  gpointer    user_data);

/* The name of model @log's log ("tasks", "memories"). */
const char *_net_db_log_name                (NetDbLog             log);

/*
 * Replication names every log of a db by its log name: "tasks",
 * "memories", or NET_COLLECTION_LOG_PREFIX + a collection's name.
 * _net_db_list_logs(): the enabled models' logs, then every collection's
 * (net_db_list_collections(), opened or not), sorted.
 */
char    **_net_db_list_logs                 (NetDb               *self);
/*
 * The log @name, NULL with @error when the db has no such model or
 * @name is no collection's log.  A collection the application has not
 * opened is opened untyped for replication, invisibly: its records are
 * folded (so that a follower has its state, and a leader knows the
 * app_seqs forwarding needs) and net_db_open_collection() later opens it
 * with the application's class from that state.  Creates the collection
 * when the directory has none of that name.
 */
NetRedexFile *_net_db_open_log              (NetDb               *self,
                                             const char          *name,
                                             GError             **error);
/* Bumped whenever a collection is opened (its log may be new); each
 * source added is woken then. */
guint     _net_db_get_logs_generation       (NetDb               *self);
void      _net_db_add_logs_watch            (NetDb               *self,
                                             GSource             *source);
void      _net_db_remove_logs_watch         (NetDb               *self,
                                             GSource             *source);
/* As _net_db_get_origin_app_seq() and _net_db_append_forwarded(), for a
 * log by name (0 and %NET_ERROR_INVALID_ARGUMENT when it is not open). */
guint64   _net_db_get_log_app_seq           (NetDb               *self,
                                             const char          *name,
                                             guint64              origin);
gboolean  _net_db_append_forwarded_to       (NetDb               *self,
                                             const char          *name,
                                             GBytes              *event,
                                             guint64              app_seq,
                                             NetDbForwardStatus  *status,
                                             guint64             *seq,
                                             GError             **error);

/* The log of model @log, NULL when the model is not enabled. */
NetRedexFile *_net_db_get_log               (NetDb               *self,
                                             NetDbLog             log);
/* The highest app_seq of @origin that model @log folded. */
guint64   _net_db_get_origin_app_seq        (NetDb               *self,
                                             NetDbLog             log,
                                             guint64              origin);
/*
 * Following a leader: local mutations fail with %NET_ERROR_READ_ONLY, or
 * with @forward, are handed to it and return 0.  Notifies
 * #NetDb:following on a change.
 */
void      _net_db_set_following             (NetDb               *self,
                                             gboolean             following,
                                             NetDbForwardFunc     forward,
                                             gpointer             forward_data);
/*
 * Leader side of write forwarding: appends @event (an encoded event of a
 * follower's origin, with @app_seq) to model @log iff @app_seq is exactly
 * one more than the last the model holds of that origin, and folds it as
 * a local append.  TRUE with @status (and @seq when appended); FALSE with
 * a %NET_ERROR when the event is refused (malformed, another model's,
 * the leader's own origin) or cannot be appended.
 */
gboolean  _net_db_append_forwarded          (NetDb               *self,
                                             NetDbLog             log,
                                             GBytes              *event,
                                             guint64              app_seq,
                                             NetDbForwardStatus  *status,
                                             guint64             *seq,
                                             GError             **error);
/*
 * Replaces the state and logs of a following db with @snapshot (a
 * net_db_snapshot() bundle of its leader): each model, and each
 * collection of the snapshot (opened untyped when the application has
 * not opened it), whose log does not
 * already hold the snapshot's seq gets an empty log continuing after it
 * and the snapshot's state.  Live items and query models carry on, and
 * from the next dispatch they and the models notify as after a restore;
 * ::changed also reports the events the state moved on by.
 */
gboolean  _net_db_rebootstrap               (NetDb               *self,
                                             GBytes              *snapshot,
                                             GError             **error);
/* Emits #NetDb::forward-failed. */
void      _net_db_emit_forward_failed       (NetDb               *self,
                                             const GError        *error);

G_END_DECLS
