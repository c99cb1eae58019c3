/* net-db-async.c: the _async/_finish forms of NetDb
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A GTK application never blocks its main loop on netdb (DESIGN.md §7).
 * The state of the models belongs to the owner thread, so each form
 * encodes what it needs there, then does the costly part (compression,
 * fsync, writing files) on a GTask worker thread, and finishes on the
 * owner thread again: callbacks run in the caller's thread-default
 * context, never synchronously.
 *
 * Cancellation: a snapshot, a sync or a checkpoint that is cancelled
 * answers G_IO_ERROR_CANCELLED at once and leaves nothing half done (a
 * checkpoint is either written whole, before the cancellation reached
 * the worker, or not at all).  A close that is cancelled still closes, as
 * GIO streams do, but skips the checkpoint it has not written yet (a
 * shortcut for the next open, never needed for correctness).
 */

#include "config.h"

#include "net-error.h"
#include "net-db.h"
#include "net-db-private.h"
#include "net-owner-private.h"

/*
 * The costly part runs as an inner GTask without a source object: a
 * worker thread never holds the db, so the db is never finalized there.
 * The worker gets what it needs (a bundle, the NetDbIo); @done runs on
 * the owner context and completes @outer, which holds the db.
 */
static void
net_db_run_in_worker (GTask               *outer,
                      gpointer             task_data,
                      GDestroyNotify       task_data_destroy,
                      GTaskThreadFunc      thread_func,
                      GAsyncReadyCallback  done,
                      gboolean             return_on_cancel)
{
  g_autoptr(GTask) inner = g_task_new (NULL, g_task_get_cancellable (outer), done, g_object_ref (outer));

  g_task_set_source_tag (inner, net_db_run_in_worker);
  g_task_set_priority (inner, g_task_get_priority (outer));
  g_task_set_task_data (inner, task_data, task_data_destroy);
  g_task_set_return_on_cancel (inner, return_on_cancel);
  g_task_run_in_thread (inner, thread_func);
}

/* Snapshot ------------------------------------------------------------------------- */

static void
net_db_snapshot_thread (GTask        *task,
                        gpointer      source_object,
                        gpointer      task_data,
                        GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *bytes = _net_db_bundle_write (task_data, &error);

  if (bytes == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref);
}

static void
net_db_snapshot_done_cb (GObject      *source_object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  GError *error = NULL;
  GBytes *bytes = g_task_propagate_pointer (G_TASK (result), &error);

  if (bytes == NULL)
    g_task_return_error (outer, error);
  else
    g_task_return_pointer (outer, bytes, (GDestroyNotify) g_bytes_unref);
}

/**
 * net_db_snapshot_async:
 * @self: a #NetDb
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the snapshot is ready
 * @user_data: data for @callback
 *
 * Takes a snapshot as net_db_snapshot() does, without blocking the main
 * loop on compressing it: the models are read at once, on the calling
 * thread (the snapshot is of the state as of this call), and compressed
 * on a worker thread.  Call net_db_snapshot_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_snapshot_async (NetDb               *self,
                       int                  io_priority,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  NetDbBundle *bundle;

  g_return_if_fail (NET_IS_DB (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_db_snapshot_async);
  g_task_set_priority (task, io_priority);

  if (g_task_return_error_if_cancelled (task))
    return;

  bundle = _net_db_snapshot_bundle (self, &error);
  if (bundle == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  net_db_run_in_worker (task, bundle, (GDestroyNotify) _net_db_bundle_free,
                        net_db_snapshot_thread, net_db_snapshot_done_cb, TRUE);
}

/**
 * net_db_snapshot_finish:
 * @self: a #NetDb
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_snapshot_async().
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 *   (%G_IO_ERROR_CANCELLED when it was cancelled)
 *
 * Since: 0.2
 */
GBytes *
net_db_snapshot_finish (NetDb         *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (NET_IS_DB (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == net_db_snapshot_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Checkpoint ----------------------------------------------------------------------- */

static void
net_db_checkpoint_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  NetDbCheckpointJob *job = task_data;
  GError *error = NULL;

  if (!_net_db_checkpoint_job_compress (job, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  /* From here on the checkpoint is written whole; a cancellation that
   * came first has already answered the caller. */
  if (!g_task_set_return_on_cancel (task, FALSE))
    return;

  if (!_net_db_checkpoint_job_write (job, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
net_db_checkpoint_written_cb (GObject      *source_object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  _net_db_checkpoint_job_commit (g_task_get_source_object (outer),
                                 g_task_get_task_data (G_TASK (result)));
  g_task_return_boolean (outer, TRUE);
}

/**
 * net_db_checkpoint_async:
 * @self: a #NetDb
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the checkpoint is written
 * @user_data: data for @callback
 *
 * Writes a checkpoint as net_db_checkpoint() does, without blocking the
 * main loop: the state is read at once on the calling thread; making the
 * log durable, compressing and writing the file happen on a worker
 * thread.  A cancelled checkpoint is not written at all, or written whole
 * when the cancellation came too late.  Call net_db_checkpoint_finish()
 * from @callback.
 *
 * Since: 0.2
 */
void
net_db_checkpoint_async (NetDb               *self,
                         int                  io_priority,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  NetDbCheckpointJob *job;

  g_return_if_fail (NET_IS_DB (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_db_checkpoint_async);
  g_task_set_priority (task, io_priority);

  if (g_task_return_error_if_cancelled (task))
    return;

  /* The checks of net_db_checkpoint(), which then has nothing to write. */
  if (_net_db_is_closed (self) || net_db_get_read_only (self) ||
      net_db_get_path (self) == NULL || !_net_db_checkpoint_wanted (self))
    {
      if (net_db_checkpoint (self, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  job = _net_db_checkpoint_job_new (self, &error);
  if (job == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  net_db_run_in_worker (task, job, (GDestroyNotify) _net_db_checkpoint_job_free,
                        net_db_checkpoint_thread, net_db_checkpoint_written_cb, TRUE);
}

/**
 * net_db_checkpoint_finish:
 * @self: a #NetDb
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_checkpoint_async().
 *
 * Returns: %TRUE on success; %FALSE with @error set (as
 *   net_db_checkpoint(), or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
gboolean
net_db_checkpoint_finish (NetDb         *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == net_db_checkpoint_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Sync ----------------------------------------------------------------------------- */

static void
net_db_sync_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GError *error = NULL;

  if (!_net_db_io_sync (task_data, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
net_db_boolean_done_cb (GObject      *source_object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    g_task_return_error (outer, error);
  else
    g_task_return_boolean (outer, TRUE);
}

/**
 * net_db_sync_async:
 * @self: a #NetDb
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the events are durable
 * @user_data: data for @callback
 *
 * Makes every event logged so far durable, as net_db_sync() does, on a
 * worker thread.  A cancellation answers at once; the events then become
 * durable all the same, by the fsync policy or the next sync.  Call
 * net_db_sync_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_sync_async (NetDb               *self,
                   int                  io_priority,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (NET_IS_DB (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_db_sync_async);
  g_task_set_priority (task, io_priority);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (_net_db_is_closed (self) || net_db_get_read_only (self) || net_db_get_path (self) == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  net_db_run_in_worker (task, _net_db_io_ref (_net_db_get_io (self)), (GDestroyNotify) _net_db_io_unref,
                        net_db_sync_thread, net_db_boolean_done_cb, TRUE);
}

/**
 * net_db_sync_finish:
 * @self: a #NetDb
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_sync_async().
 *
 * Returns: %TRUE on success; %FALSE with @error set (as net_db_sync(), or
 *   %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
gboolean
net_db_sync_finish (NetDb         *self,
                    GAsyncResult  *result,
                    GError       **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == net_db_sync_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Close ---------------------------------------------------------------------------- */

typedef struct
{
  NetDbIo            *io;
  NetDbCheckpointJob *job;        /* nullable */
  GError             *error;      /* the first failure */
  gboolean            written;
} CloseData;

static void
close_data_free (CloseData *data)
{
  g_clear_pointer (&data->io, _net_db_io_unref);
  g_clear_pointer (&data->job, _net_db_checkpoint_job_free);
  g_clear_error (&data->error);
  g_free (data);
}

static void
net_db_close_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  CloseData *data = task_data;

  /* A cancelled close skips the checkpoint, never the durability. */
  if (data->job != NULL && !g_cancellable_is_cancelled (cancellable))
    {
      data->written = _net_db_checkpoint_job_write (data->job, &data->error);
      /* net_db_close() finished the close meanwhile: not a failure. */
      if (g_error_matches (data->error, NET_ERROR, NET_ERROR_CLOSED))
        g_clear_error (&data->error);
    }
  _net_db_io_sync (data->io, data->error ? NULL : &data->error);

  g_task_return_boolean (task, TRUE);
}

static void
net_db_close_synced_cb (GObject      *source_object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  NetDb *self = g_task_get_source_object (outer);
  CloseData *data = g_task_get_task_data (G_TASK (result));

  if (data->written)
    _net_db_checkpoint_job_commit (self, data->job);

  /* What is left is cheap: the logs are durable already. */
  _net_db_close_logs (self, data->error ? NULL : &data->error);

  if (data->error != NULL)
    g_task_return_error (outer, g_steal_pointer (&data->error));
  else if (!g_task_return_error_if_cancelled (outer))
    g_task_return_boolean (outer, TRUE);
}

/**
 * net_db_close_async:
 * @self: a #NetDb
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the database is closed
 * @user_data: data for @callback
 *
 * Closes the database as net_db_close() does, writing the checkpoint and
 * making the logs durable on a worker thread.  From this call on, the
 * database is closing: net_db_checkpoint() fails with %NET_ERROR_CLOSED;
 * mutations still logged before the close completes are made durable by
 * it.  A cancellation that comes before this call leaves the database
 * open; one that comes later still closes it (without the checkpoint, if
 * it was not written yet: the next open then folds more of the log) and
 * reports %G_IO_ERROR_CANCELLED, as a GIO stream does.  Call
 * net_db_close_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_close_async (NetDb               *self,
                    int                  io_priority,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  CloseData *data;

  g_return_if_fail (NET_IS_DB (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_db_close_async);
  g_task_set_priority (task, io_priority);

  if (g_task_return_error_if_cancelled (task))
    return;

  if (_net_db_is_closed (self))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  data = g_new0 (CloseData, 1);
  data->io = _net_db_io_ref (_net_db_get_io (self));
  if (_net_db_close_needs_checkpoint (self))
    data->job = _net_db_checkpoint_job_new (self, &data->error);
  _net_db_set_closing (self);

  net_db_run_in_worker (task, data, (GDestroyNotify) close_data_free,
                        net_db_close_thread, net_db_close_synced_cb, FALSE);
}

/**
 * net_db_close_finish:
 * @self: a #NetDb
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_close_async().  The database is closed whatever this
 * returns (unless the cancellable was cancelled before the call).
 *
 * Returns: %TRUE on success; %FALSE with @error set (the first failure,
 *   as net_db_close(), or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
gboolean
net_db_close_finish (NetDb         *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == net_db_close_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Open (GAsyncInitable) ------------------------------------------------------------ */

typedef struct
{
  NetDb          *db;        /* released on the owner context, never here */
  GMainContext   *context;   /* the caller's: the db's owner context */
  GThread        *thread;
  NetOwnerScope  *scope;     /* what the open deferred to the owner */
} OpenJob;

static void
open_job_free (OpenJob *job)
{
  g_assert (job->db == NULL);
  g_clear_pointer (&job->scope, _net_owner_scope_free);
  g_main_context_unref (job->context);
  g_thread_unref (job->thread);
  g_free (job);
}

static gboolean
net_db_unref_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

/* The worker's reference goes back to the owner context: the last one
 * must never be dropped, and the db finalized, on the worker. */
static void
open_job_release_db (OpenJob *job)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_static_name (source, "[netdb] release the opened db");
  g_source_set_callback (source, net_db_unref_cb, g_steal_pointer (&job->db), NULL);
  g_source_attach (source, job->context);
}

/* Tests: runs on the worker before it opens. */
static GFunc open_thread_hook;
static gpointer open_thread_hook_data;

void
_net_db_set_open_thread_hook (GFunc    hook,
                              gpointer data)
{
  open_thread_hook = hook;
  open_thread_hook_data = data;
}

static void
net_db_open_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  OpenJob *job = task_data;
  GError *error = NULL;
  gboolean ok;

  if (open_thread_hook != NULL)
    open_thread_hook (open_thread_hook_data, job->db);

  job->scope = _net_owner_scope_begin (job->context, job->thread);
  ok = _net_db_open_into (job->db, _net_db_get_options (job->db), &error);
  _net_owner_scope_end (job->scope);

  if (!g_task_set_return_on_cancel (task, FALSE))
    {
      /* The caller was told it was cancelled: leave nothing open (the
       * sources the open deferred were never attached). */
      if (ok)
        net_db_close (job->db, NULL);
      _net_db_init_end (job->db, FALSE);
      g_clear_error (&error);
      open_job_release_db (job);
      return;
    }

  _net_db_init_end (job->db, ok);
  open_job_release_db (job);
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
net_db_opened_cb (GObject      *source_object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) outer = user_data;
  OpenJob *job = g_task_get_task_data (G_TASK (result));
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (outer, error);
      return;
    }

  /* Now the db is the owner's: its sources start dispatching here. */
  _net_owner_scope_finish (g_steal_pointer (&job->scope));
  g_task_return_boolean (outer, TRUE);
}

static void
net_db_init_async (GAsyncInitable      *initable,
                   int                  io_priority,
                   GCancellable        *cancellable,
                   GAsyncReadyCallback  callback,
                   gpointer             user_data)
{
  NetDb *self = NET_DB (initable);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  OpenJob *job;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_db_init_async);
  g_task_set_priority (task, io_priority);

  if (!_net_db_init_begin (self, &error))
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  job = g_new0 (OpenJob, 1);
  job->db = g_object_ref (self);
  job->context = g_main_context_ref_thread_default ();
  job->thread = g_thread_ref (g_thread_self ());

  net_db_run_in_worker (task, job, (GDestroyNotify) open_job_free,
                        net_db_open_thread, net_db_opened_cb, TRUE);
}

static gboolean
net_db_init_finish (GAsyncInitable  *initable,
                    GAsyncResult    *result,
                    GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
_net_db_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = net_db_init_async;
  iface->init_finish = net_db_init_finish;
}

void
_net_db_open_async (const NetDbOptions  *options,
                    int                  io_priority,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(NetDb) self = g_object_new (NET_TYPE_DB, NULL);

  _net_db_set_options (self, options);
  g_async_initable_init_async (G_ASYNC_INITABLE (self), io_priority, cancellable, callback, user_data);
}

NetDb *
_net_db_open_finish (GAsyncResult  *result,
                     GError       **error)
{
  g_autoptr(GObject) source = g_async_result_get_source_object (result);
  GObject *db;

  g_return_val_if_fail (NET_IS_DB (source), NULL);

  db = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, error);
  return db != NULL ? NET_DB (db) : NULL;
}

/**
 * net_db_new_async:
 * @path: (nullable) (type filename): the database directory, created if
 *   needed, or %NULL for a database held in memory
 * @models: the models to open
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the database is open
 * @user_data: data for @callback
 *
 * Opens a database as net_db_new() does, without blocking the main loop:
 * reading the checkpoint and building the models' state happen on a
 * worker thread, and the database belongs to the thread-default main
 * context of the caller, where @callback runs.  The events logged after
 * the checkpoint are then folded from that main loop in bounded steps, as
 * always.  A cancelled open answers %G_IO_ERROR_CANCELLED at once and
 * leaves the directory unlocked.  Call net_db_new_finish() from
 * @callback.
 *
 * #NetDb implements #GAsyncInitable: g_async_initable_new_async() with the
 * #NetDb:path and #NetDb:models properties does the same.
 *
 * Since: 0.2
 */
void
net_db_new_async (const char          *path,
                  NetDbModels          models,
                  int                  io_priority,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  NetDbOptions options = { .path = path, .models = models };

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  _net_db_open_async (&options, io_priority, cancellable, callback, user_data);
}

/**
 * net_db_new_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_new_async() (or net_db_open_from_snapshot_async()).
 *
 * Returns: (transfer full): the open database, or %NULL with @error set
 *   (as net_db_new(): %NET_ERROR_LOCKED when another process writes the
 *   directory; or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
NetDb *
net_db_new_finish (GAsyncResult  *result,
                   GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_open_finish (result, error);
}

/**
 * net_db_open_from_snapshot_async:
 * @snapshot: a snapshot made by net_db_snapshot()
 * @path: (nullable) (type filename): the database directory, or %NULL for
 *   a database held in memory
 * @models: the models to open
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the database is open
 * @user_data: data for @callback
 *
 * Opens a database from @snapshot as net_db_open_from_snapshot() does,
 * decompressing and restoring it on a worker thread.  Call
 * net_db_open_from_snapshot_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_open_from_snapshot_async (GBytes              *snapshot,
                                 const char          *path,
                                 NetDbModels          models,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  NetDbOptions options = { .path = path, .models = models, .snapshot = snapshot };

  g_return_if_fail (snapshot != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  _net_db_open_async (&options, io_priority, cancellable, callback, user_data);
}

/**
 * net_db_open_from_snapshot_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_open_from_snapshot_async().
 *
 * Returns: (transfer full): the open database, or %NULL with @error set
 *   (as net_db_open_from_snapshot(), or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
NetDb *
net_db_open_from_snapshot_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_open_finish (result, error);
}
