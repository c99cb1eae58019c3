/* net-db-builder.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-db-builder.h"
#include "net-db-private.h"

/**
 * SECTION:net-db-builder
 * @title: NetDbBuilder
 * @short_description: opens a #NetDb with options
 *
 * A #NetDbBuilder collects the options of a #NetDb, then opens it.  Each
 * option returns the builder, so that calls chain:
 *
 * |[<!-- language="C" -->
 * g_autoptr(NetDbBuilder) builder = net_db_builder_new ();
 * g_autoptr(NetDb) db = NULL;
 *
 * net_db_builder_with_memories (net_db_builder_with_tasks (
 *   net_db_builder_persistent_dir (builder, "/path/to/db")));
 * db = net_db_builder_build (builder, &error);
 * ]|
 *
 * |[<!-- language="Python" -->
 * db = Net.DbBuilder().persistent_dir(path).with_tasks().build()
 * ]|
 *
 * Without net_db_builder_persistent_dir() the database is held in memory.
 * A builder can build several databases, one after the other.
 */

/**
 * NetDbBuilder:
 *
 * The options of a #NetDb to open.
 */

struct _NetDbBuilder
{
  GObject          parent_instance;

  char            *path;
  guint64          origin;
  NetDbModels      models;
  NetRedexConfig  *config;
  gboolean         read_only;
  guint64          max_snapshot_size;
  GPtrArray       *collections;   /* NetDbCollectionSpec* */
};

G_DEFINE_FINAL_TYPE (NetDbBuilder, net_db_builder, G_TYPE_OBJECT)

static void
net_db_builder_finalize (GObject *object)
{
  NetDbBuilder *self = (NetDbBuilder *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_object (&self->config);
  g_clear_pointer (&self->collections, g_ptr_array_unref);

  G_OBJECT_CLASS (net_db_builder_parent_class)->finalize (object);
}

static void
net_db_builder_class_init (NetDbBuilderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_db_builder_finalize;
}

static void
net_db_builder_init (NetDbBuilder *self)
{
}

/**
 * net_db_builder_new:
 *
 * Creates a builder for a database held in memory, with no model, a
 * random origin and the default fsync policy.
 *
 * Returns: (transfer full): a new #NetDbBuilder
 */
NetDbBuilder *
net_db_builder_new (void)
{
  return g_object_new (NET_TYPE_DB_BUILDER, NULL);
}

/**
 * net_db_builder_persistent_dir:
 * @self: a #NetDbBuilder
 * @path: (type filename): the database directory, created if needed
 *
 * Makes the database persistent, in @path.
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_persistent_dir (NetDbBuilder *self,
                               const char   *path)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (path != NULL, self);

  g_free (self->path);
  self->path = g_strdup (path);
  return self;
}

/**
 * net_db_builder_origin:
 * @self: a #NetDbBuilder
 * @origin: the origin, or 0 for the default
 *
 * Sets the origin written into the events of the database's mutations,
 * instead of the one a persistent database stored when it was created (or
 * a random one).  A new persistent database stores @origin.
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_origin (NetDbBuilder *self,
                       guint64       origin)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);

  self->origin = origin;
  return self;
}

/**
 * net_db_builder_with_tasks:
 * @self: a #NetDbBuilder
 *
 * Opens the tasks model (#NetDb:tasks).
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_with_tasks (NetDbBuilder *self)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);

  self->models |= NET_DB_MODELS_TASKS;
  return self;
}

/**
 * net_db_builder_with_memories:
 * @self: a #NetDbBuilder
 *
 * Opens the memories model (#NetDb:memories).
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_with_memories (NetDbBuilder *self)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);

  self->models |= NET_DB_MODELS_MEMORIES;
  return self;
}

static void
collection_spec_free (gpointer data)
{
  NetDbCollectionSpec *spec = data;

  g_free (spec->name);
  g_free (spec);
}

/**
 * net_db_builder_with_collection:
 * @self: a #NetDbBuilder
 * @name: the name of a collection
 * @record_type: the class of its records, or %NET_TYPE_RECORD
 *
 * Opens the collection @name with the database, as
 * net_db_open_collection() does (a failure to open it fails the build).
 * The collection is then part of the database from the start: restored
 * from a snapshot built from, and present in read-only opens.
 *
 * Returns: (transfer none): @self
 *
 * Since: 0.2
 */
NetDbBuilder *
net_db_builder_with_collection (NetDbBuilder *self,
                                const char   *name,
                                GType         record_type)
{
  NetDbCollectionSpec *spec;

  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  /* A new list each time: the dbs built before keep theirs. */
    {
      GPtrArray *copy = g_ptr_array_new_with_free_func (collection_spec_free);

      for (guint i = 0; self->collections != NULL && i < self->collections->len; i++)
        {
          NetDbCollectionSpec *old = g_ptr_array_index (self->collections, i);
          NetDbCollectionSpec *dup = g_new0 (NetDbCollectionSpec, 1);

          dup->name = g_strdup (old->name);
          dup->record_type = old->record_type;
          g_ptr_array_add (copy, dup);
        }
      g_clear_pointer (&self->collections, g_ptr_array_unref);
      self->collections = copy;
    }
  spec = g_new0 (NetDbCollectionSpec, 1);
  spec->name = g_strdup (name);
  spec->record_type = record_type;
  g_ptr_array_add (self->collections, spec);
  return self;
}

/**
 * net_db_builder_fsync_policy:
 * @self: a #NetDbBuilder
 * @policy: a #NetFsyncPolicy
 * @n_or_ms: the event count for %NET_FSYNC_POLICY_EVERY_N or the interval
 *   in milliseconds for %NET_FSYNC_POLICY_INTERVAL; ignored otherwise
 *
 * Sets when the logs of a persistent database make their appends durable
 * (see net_redex_config_set_fsync_policy()).  Closing the database and
 * writing a checkpoint always make them durable.
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_fsync_policy (NetDbBuilder   *self,
                             NetFsyncPolicy  policy,
                             guint           n_or_ms)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (policy <= NET_FSYNC_POLICY_ALWAYS, self);

  if (self->config == NULL)
    self->config = net_redex_config_new ();
  net_redex_config_set_fsync_policy (self->config, policy, n_or_ms);
  return self;
}

/**
 * net_db_builder_read_only:
 * @self: a #NetDbBuilder
 *
 * Opens the database read-only, as net_db_open_read_only() does.  It
 * needs net_db_builder_persistent_dir().
 *
 * Returns: (transfer none): @self
 */
NetDbBuilder *
net_db_builder_read_only (NetDbBuilder *self)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);

  self->read_only = TRUE;
  return self;
}

/**
 * net_db_builder_max_snapshot_size:
 * @self: a #NetDbBuilder
 * @size: the largest decompressed snapshot to accept, in bytes, or 0 for
 *   the default limits
 *
 * Sets how large a snapshot net_db_builder_build_from_snapshot() accepts
 * once decompressed.  By default a snapshot of up to 64 MiB is accepted
 * whatever it compresses to, and a larger one (up to 16 GiB) only when it
 * compresses no better than 1024 : 1, since a few kilobytes of zstd can
 * claim gigabytes (a decompression bomb).  Real snapshots compress far
 * less; an application that opens snapshots beyond those limits says how
 * large they may be here, and @size then is the only limit.
 *
 * Whatever the limit, memory follows what the snapshot really holds: a
 * snapshot is decompressed in steps, not into a buffer of the size its
 * header claims.
 *
 * Returns: (transfer none): @self
 *
 * Since: 0.2
 */
NetDbBuilder *
net_db_builder_max_snapshot_size (NetDbBuilder *self,
                                  guint64       size)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);

  self->max_snapshot_size = size;
  return self;
}

/* The options of @self; the open checks them (NET_ERROR_INVALID_ARGUMENT
 * for a read-only database without a directory or from a snapshot). */
static NetDbOptions
builder_options (NetDbBuilder *self,
                 GBytes       *snapshot)
{
  NetDbOptions options = {
    .path = self->path,
    .models = self->models,
    .origin = self->origin,
    .max_snapshot_size = self->max_snapshot_size,
    .config = self->config,
    .read_only = self->read_only,
    .snapshot = snapshot,
    .collections = self->collections,
  };

  return options;
}

static NetDb *
build (NetDbBuilder  *self,
       GBytes        *snapshot,
       GError       **error)
{
  NetDbOptions options = builder_options (self, snapshot);

  return _net_db_open (&options, error);
}

/**
 * net_db_builder_build:
 * @self: a #NetDbBuilder
 * @error: return location for a #GError
 *
 * Opens the database as net_db_new() or net_db_open_read_only() would,
 * with the options of @self.
 *
 * Returns: (transfer full): a new #NetDb, or %NULL with @error set
 *   (%NET_ERROR_INVALID_ARGUMENT for a read-only database without a
 *   directory)
 */
NetDb *
net_db_builder_build (NetDbBuilder  *self,
                      GError       **error)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return build (self, NULL, error);
}

/**
 * net_db_builder_build_from_snapshot:
 * @self: a #NetDbBuilder
 * @snapshot: a snapshot made by net_db_snapshot()
 * @error: return location for a #GError
 *
 * Opens the database as net_db_open_from_snapshot() would, with the
 * options of @self.
 *
 * Returns: (transfer full): a new #NetDb, or %NULL with @error set
 *   (%NET_ERROR_SNAPSHOT_INVALID when @snapshot is corrupt, truncated or
 *   not a snapshot; %NET_ERROR_EXISTS when the directory holds another
 *   history; %NET_ERROR_INVALID_ARGUMENT for a read-only builder)
 */
NetDb *
net_db_builder_build_from_snapshot (NetDbBuilder  *self,
                                    GBytes        *snapshot,
                                    GError       **error)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return build (self, snapshot, error);
}

static void
build_opened_cb (GObject      *source_object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  NetDb *db = _net_db_open_finish (result, &error);

  if (db == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, db, g_object_unref);
}

static void
build_async (NetDbBuilder        *self,
             GBytes              *snapshot,
             int                  io_priority,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  NetDbOptions options = builder_options (self, snapshot);
  /* The callback's source object is the builder, as GIO does it. */
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, build_async);
  g_task_set_priority (task, io_priority);

  _net_db_open_async (&options, io_priority, cancellable, build_opened_cb, task);
}

/**
 * net_db_builder_build_async:
 * @self: a #NetDbBuilder
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the database is open
 * @user_data: data for @callback
 *
 * Opens the database as net_db_builder_build() does, without blocking the
 * main loop (see net_db_new_async()).  The options are taken at this
 * call: changing the builder afterwards does not change this open.  Call
 * net_db_builder_build_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_builder_build_async (NetDbBuilder        *self,
                            int                  io_priority,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (NET_IS_DB_BUILDER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  build_async (self, NULL, io_priority, cancellable, callback, user_data);
}

/**
 * net_db_builder_build_finish:
 * @self: a #NetDbBuilder
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_builder_build_async() or
 * net_db_builder_build_from_snapshot_async().
 *
 * Returns: (transfer full): the open database, or %NULL with @error set
 *   (as net_db_builder_build(), or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
NetDb *
net_db_builder_build_finish (NetDbBuilder  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (NET_IS_DB_BUILDER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * net_db_builder_build_from_snapshot_async:
 * @self: a #NetDbBuilder
 * @snapshot: a snapshot made by net_db_snapshot()
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the database is open
 * @user_data: data for @callback
 *
 * Opens the database as net_db_builder_build_from_snapshot() does,
 * without blocking the main loop.  Call
 * net_db_builder_build_from_snapshot_finish() from @callback.
 *
 * Since: 0.2
 */
void
net_db_builder_build_from_snapshot_async (NetDbBuilder        *self,
                                          GBytes              *snapshot,
                                          int                  io_priority,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_return_if_fail (NET_IS_DB_BUILDER (self));
  g_return_if_fail (snapshot != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  build_async (self, snapshot, io_priority, cancellable, callback, user_data);
}

/**
 * net_db_builder_build_from_snapshot_finish:
 * @self: a #NetDbBuilder
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes net_db_builder_build_from_snapshot_async().
 *
 * Returns: (transfer full): the open database, or %NULL with @error set
 *   (as net_db_builder_build_from_snapshot(), or %G_IO_ERROR_CANCELLED)
 *
 * Since: 0.2
 */
NetDb *
net_db_builder_build_from_snapshot_finish (NetDbBuilder  *self,
                                           GAsyncResult  *result,
                                           GError       **error)
{
  return net_db_builder_build_finish (self, result, error);
}
