/* net-db.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "net-error.h"
#include "net-enum-types.h"
#include "net-collection-private.h"
#include "net-db-private.h"
#include "net-db-memories-private.h"
#include "net-db-snapshot-private.h"
#include "net-db-tasks-private.h"
#include "net-fold-private.h"
#include "net-redex-segment-private.h"
#include "net-redex-io-private.h"

/**
 * SECTION:net-db
 * @title: NetDb
 * @short_description: a database: its log and its models
 *
 * A #NetDb opens a database directory (or a database held in memory) and
 * the models it was asked for: #NetDb:tasks and #NetDb:memories.  Queries
 * and mutations go through the models; the database adds what concerns
 * all of them at once:
 *
 * - net_db_snapshot() serializes every enabled model, each with the seq of
 *   the last event it folded, into one compressed and checksummed blob,
 *   and net_db_open_from_snapshot() opens a database from one.  The blob
 *   is self-describing: a newer netdb reads an older blob, an older netdb
 *   skips what it does not know, and a corrupt or truncated blob is
 *   rejected with %NET_ERROR_SNAPSHOT_INVALID.
 *
 * - A persistent database writes such a snapshot into its directory (a
 *   checkpoint) on net_db_checkpoint(), when it is opened from a snapshot,
 *   and when it is closed (unless the newest checkpoint is less than a
 *   thousand events behind), and opens
 *   from the newest valid checkpoint plus the events logged after it, so
 *   reopening a large database does not replay its whole history.
 *
 * - A persistent database remembers its #NetDb:origin, the identity
 *   written into the events of its mutations.
 *
 * |[<!-- language="C" -->
 * g_autoptr(GError) error = NULL;
 * g_autoptr(NetDb) db = net_db_new ("/path/to/db", NET_DB_MODELS_TASKS, &error);
 *
 * if (db == NULL)
 *   g_error ("%s", error->message);
 * net_db_tasks_create (net_db_get_tasks (db), 1, "Write the report", 0, &error);
 * ]|
 *
 * Like its models, a #NetDb belongs to the thread-default main context of
 * the thread that opened it.
 */

/**
 * NetDb:
 *
 * A database: a directory of logs, or logs in memory, and the models
 * folded from them.
 */

#define ORIGIN_FILE        "ORIGIN"
#define CHECKPOINTS_DIR    "checkpoints"
/* Once a checkpoint exists, closing writes a new one only when it saves a
 * reopen at least this many events of replay: folding a few events is
 * cheaper than writing the whole state (a command-line tool closes after
 * every mutation). */
#define CHECKPOINT_MIN_EVENTS 1000
#define CHECKPOINT_SUFFIX  ".ckpt"
#define CHECKPOINT_DIGITS  20
#define CHECKPOINTS_KEPT   2

typedef enum
{
  MODEL_TASKS,
  MODEL_MEMORIES,
  N_MODELS
} ModelKind;

/* What NetDb knows of each kind of model: its name (its log and its
 * snapshot section), how to open one, and the engine under it, through
 * which everything else (snapshot, restore, applied seq, close, following)
 * is the same for every model. */
typedef struct
{
  const char   *name;
  NetDbModels   flag;
  GObject    *(*open)  (NetRedex        *redex,
                        NetRedexConfig  *config,
                        guint64          origin,
                        GBytes          *snapshot,
                        GError         **error);
  NetTable   *(*table) (GObject         *model);
} ModelClass;

static GObject *
tasks_open (NetRedex        *redex,
            NetRedexConfig  *config,
            guint64          origin,
            GBytes          *snapshot,
            GError         **error)
{
  return (GObject *) _net_db_tasks_open (redex, config, origin, snapshot, error);
}

static NetTable *
tasks_table (GObject *model)
{
  return _net_db_tasks_get_table (NET_DB_TASKS (model));
}

static GObject *
memories_open (NetRedex        *redex,
               NetRedexConfig  *config,
               guint64          origin,
               GBytes          *snapshot,
               GError         **error)
{
  return (GObject *) _net_db_memories_open (redex, config, origin, snapshot, error);
}

static NetTable *
memories_table (GObject *model)
{
  return _net_db_memories_get_table (NET_DB_MEMORIES (model));
}

static const ModelClass model_classes[N_MODELS] = {
  [MODEL_TASKS] = { "tasks", NET_DB_MODELS_TASKS, tasks_open, tasks_table },
  [MODEL_MEMORIES] = { "memories", NET_DB_MODELS_MEMORIES, memories_open, memories_table },
};

#define model_names(k) (model_classes[k].name)

/* An open collection (DESIGN.md §11): its model, and what the db keeps
 * of each model for checkpoints and restores (as checkpoint_seqs[] and
 * known_*[] do for tasks and memories).  Its log and snapshot section
 * are both NET_COLLECTION_LOG_PREFIX + its name. */
typedef struct
{
  NetCollection *coll;
  NetDb         *db;             /* its db (no reference) */
  gboolean       internal;       /* opened by replication, not by the
                                  * application: untyped, and not what
                                  * net_db_open_collection() returns for
                                  * another class */
  guint64        checkpoint_seq;
  gboolean       has_known_digest;
  guint64        known_seq;
  guint64        known_digest;
} DbCollection;

static void
db_collection_free (gpointer data)
{
  DbCollection *dc = data;

  g_clear_object (&dc->coll);
  g_free (dc);
}

/*
 * The files of a db as worker threads see them: a checkpoint or a sync
 * on a worker runs under the mutex, and closing takes it too, so a
 * worker never writes into a directory the db has released.
 */
struct _NetDbIo
{
  gatomicrefcount  ref;
  GMutex           mutex;
  gboolean         closed;     /* the db closed its logs */
  NetRedex        *redex;
  char            *path;
  char            *checkpoints_dir;
};

NetDbIo *
_net_db_io_ref (NetDbIo *io)
{
  g_atomic_ref_count_inc (&io->ref);
  return io;
}

void
_net_db_io_unref (NetDbIo *io)
{
  if (!g_atomic_ref_count_dec (&io->ref))
    return;
  g_mutex_clear (&io->mutex);
  g_clear_object (&io->redex);
  g_free (io->path);
  g_free (io->checkpoints_dir);
  g_free (io);
}

static NetDbIo *
net_db_io_new (NetRedex   *redex,
               const char *path,
               const char *checkpoints_dir)
{
  NetDbIo *io = g_new0 (NetDbIo, 1);

  g_atomic_ref_count_init (&io->ref);
  g_mutex_init (&io->mutex);
  io->redex = g_object_ref (redex);
  io->path = g_strdup (path);
  io->checkpoints_dir = g_strdup (checkpoints_dir);
  return io;
}

struct _NetDb
{
  GObject          parent_instance;

  char            *path;
  char            *checkpoints_dir;
  guint64          origin;
  NetDbModels      models;
  gboolean         read_only;
  gboolean         closed;
  gboolean         checkpoint_on_close;

  NetRedex        *redex;
  NetRedexConfig  *config;
  /* The open models by kind (NULL when not enabled), and their engines. */
  GObject         *model[N_MODELS];
  NetTable        *table[N_MODELS];

  guint64          events_folded;

  gboolean         following;   /* a NetRepl follower drives it */
  NetDbForwardFunc forward;     /* its write forwarding, or NULL */
  gpointer         forward_data;

  /* The newest checkpoint on disk: whether it holds exactly the current
   * state of every open model (then close need not write another), and
   * the sections of the models this db did not open, carried over into
   * the next checkpoint so that they stay valid. */
  gboolean         checkpoint_current;
  /* The newest checkpoint holds every model and its log holds what
   * followed: a reopen does not need a new one to be correct. */
  gboolean         have_checkpoint;
  guint64          checkpoint_seqs[N_MODELS];
  NetDbBundle     *carried;

  /* What the async forms' workers touch, so that they never hold (and
   * so never finalize) the db itself. */
  NetDbIo         *io;

  /* What GInitable / GAsyncInitable open (the construct properties, or
   * _net_db_set_options()), with the storage its pointers refer to. */
  NetDbOptions     options;
  char            *options_path;
  NetRedexConfig  *options_config;
  GBytes          *options_snapshot;
  GPtrArray       *options_collections;
  gboolean         init_done;
  gboolean         init_ok;

  /* The digest of the event at known_seq[k] of model k's history, from
   * the snapshot or checkpoint it was opened from: the log may not hold
   * that event (a log that continues after a snapshot). */
  gboolean         has_known_digest[N_MODELS];
  guint64          known_seq[N_MODELS];
  guint64          known_digest[N_MODELS];

  /* Read-only: what the checkpoints seen so far hold (generation →
   * CheckpointSeqs), so that waiting for one to fit a restarted log does
   * not decode them over and over. */
  GHashTable      *checkpoints_seen;

  /* The open collections (DbCollection*), in the order opened. */
  GPtrArray       *collections;
  /* Replication: bumped when a collection opens; the sources woken then. */
  guint            logs_generation;
  GPtrArray       *logs_watches;
};

typedef struct
{
  gboolean  has[N_MODELS];      /* holds that model, and it restores */
  guint64   applied[N_MODELS];
} CheckpointSeqs;

static void net_db_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NetDb, net_db, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, net_db_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE, _net_db_async_initable_iface_init))

NetDbIo *
_net_db_get_io (NetDb *self)
{
  return self->io;
}

enum {
  PROP_0,
  PROP_PATH,
  PROP_MODELS,
  PROP_ORIGIN,
  PROP_TASKS,
  PROP_MEMORIES,
  PROP_READ_ONLY,
  PROP_FOLLOWING,
  N_PROPS
};

enum {
  FORWARD_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* What replication does with model @kind, NULL when it is not enabled. */
static NetFollow *
model_follow (NetDb     *self,
              ModelKind  kind)
{
  return self->table[kind] != NULL ? &self->table[kind]->follow : NULL;
}

/* The same for a log as replication numbers it (from the wire). */
static NetFollow *
log_follow (NetDb    *self,
            NetDbLog  log)
{
  G_STATIC_ASSERT ((int) NET_DB_LOG_TASKS == (int) MODEL_TASKS);
  G_STATIC_ASSERT ((int) NET_DB_LOG_MEMORIES == (int) MODEL_MEMORIES);
  G_STATIC_ASSERT ((int) NET_DB_FORWARD_APPENDED == (int) NET_FOLLOW_APPENDED);
  G_STATIC_ASSERT ((int) NET_DB_FORWARD_DUPLICATE == (int) NET_FOLLOW_DUPLICATE);
  G_STATIC_ASSERT ((int) NET_DB_FORWARD_OUT_OF_ORDER == (int) NET_FOLLOW_OUT_OF_ORDER);

  return (guint) log < NET_DB_N_LOGS ? model_follow (self, (ModelKind) log) : NULL;
}

static NetRedexFile *
model_log (NetDb     *self,
           ModelKind  kind)
{
  return model_follow (self, kind)->file;
}

static void
net_db_dispose (GObject *object)
{
  NetDb *self = (NetDb *) object;

  /* Dropping the last reference closes the database, as GIO streams do. */
  if (self->redex != NULL && !self->closed)
    {
      g_autoptr(GError) error = NULL;

      if (!net_db_close (self, &error))
        g_warning ("closing database %s: %s",
                   self->path ? self->path : "(in memory)", error->message);
    }

  for (guint k = 0; k < N_MODELS; k++)
    if (model_follow (self, k) != NULL)
      _net_follow_set_restart_func (model_follow (self, k), NULL, NULL);
  for (guint k = 0; k < N_MODELS; k++)
    {
      self->table[k] = NULL;
      g_clear_object (&self->model[k]);
    }
  if (self->collections != NULL)
    g_ptr_array_set_size (self->collections, 0);
  g_clear_object (&self->redex);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (net_db_parent_class)->dispose (object);
}

static void
net_db_finalize (GObject *object)
{
  NetDb *self = (NetDb *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->checkpoints_dir, g_free);
  g_clear_pointer (&self->carried, _net_db_bundle_free);
  g_clear_pointer (&self->checkpoints_seen, g_hash_table_unref);
  g_clear_pointer (&self->collections, g_ptr_array_unref);
  g_clear_pointer (&self->logs_watches, g_ptr_array_unref);
  g_clear_pointer (&self->options_collections, g_ptr_array_unref);
  g_clear_pointer (&self->io, _net_db_io_unref);
  g_clear_pointer (&self->options_path, g_free);
  g_clear_object (&self->options_config);
  g_clear_pointer (&self->options_snapshot, g_bytes_unref);

  G_OBJECT_CLASS (net_db_parent_class)->finalize (object);
}

static void
net_db_get_property (GObject    *object,
                     guint       prop_id,
                     GValue     *value,
                     GParamSpec *pspec)
{
  NetDb *self = NET_DB (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->init_done ? self->path : self->options_path);
      break;

    case PROP_MODELS:
      g_value_set_flags (value, self->init_done ? self->models : self->options.models);
      break;

    case PROP_ORIGIN:
      g_value_set_uint64 (value, self->origin);
      break;

    case PROP_TASKS:
      g_value_set_object (value, self->model[MODEL_TASKS]);
      break;

    case PROP_MEMORIES:
      g_value_set_object (value, self->model[MODEL_MEMORIES]);
      break;

    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;

    case PROP_FOLLOWING:
      g_value_set_boolean (value, self->following);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_db_set_property (GObject      *object,
                     guint         prop_id,
                     const GValue *value,
                     GParamSpec   *pspec)
{
  NetDb *self = NET_DB (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_free (self->options_path);
      self->options_path = g_value_dup_string (value);
      self->options.path = self->options_path;
      break;

    case PROP_MODELS:
      self->options.models = g_value_get_flags (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_db_class_init (NetDbClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_db_dispose;
  object_class->finalize = net_db_finalize;
  object_class->get_property = net_db_get_property;
  object_class->set_property = net_db_set_property;

  /**
   * NetDb:path: (type filename)
   *
   * The database directory, or %NULL for a database held in memory.  Set
   * it when constructing a database to open with g_initable_new() or
   * g_async_initable_new_async(); once open, it reads as the canonical
   * path.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:models:
   *
   * The models the database opens (construct-only, like #NetDb:path).
   *
   * Since: 0.2
   */
  properties[PROP_MODELS] =
    g_param_spec_flags ("models", NULL, NULL, NET_TYPE_DB_MODELS, 0,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:origin:
   *
   * The origin written into the events of this database's mutations.  A
   * persistent database keeps the one it was given, or generated, when it
   * was created.
   */
  properties[PROP_ORIGIN] =
    g_param_spec_uint64 ("origin", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:tasks:
   *
   * The tasks model, or %NULL when the database was opened without
   * %NET_DB_MODELS_TASKS.
   */
  properties[PROP_TASKS] =
    g_param_spec_object ("tasks", NULL, NULL, NET_TYPE_DB_TASKS,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:memories:
   *
   * The memories model, or %NULL when the database was opened without
   * %NET_DB_MODELS_MEMORIES.
   */
  properties[PROP_MEMORIES] =
    g_param_spec_object ("memories", NULL, NULL, NET_TYPE_DB_MEMORIES,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:read-only:
   *
   * Whether the database was opened read-only: it follows another
   * process's writes and its mutations fail with %NET_ERROR_READ_ONLY.
   */
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetDb:following:
   *
   * Whether the database follows a leader's logs over the network
   * (net_node_follow_db()).  Its models then take the leader's events;
   * local mutations fail with %NET_ERROR_READ_ONLY, or, with write
   * forwarding, are sent to the leader and return 0 (they show up once
   * replicated back).
   */
  properties[PROP_FOLLOWING] =
    g_param_spec_boolean ("following", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetDb::forward-failed:
   * @self: the database
   * @error: why the mutation did not reach the leader
   *
   * Emitted on the owner context when a mutation forwarded to the leader
   * of a following database failed: the leader refused it (@error is the
   * leader's, the mutation is dropped), or the leader could not be
   * reached for the forward timeout (10 s) since the mutation was made:
   * nothing at all came from it meanwhile (%NET_ERROR_TIMEOUT, once per
   * mutation; the mutation stays queued and is sent again when the leader
   * is back, and is applied at most once).  A slow or lossy link that
   * still delivers does not cause it.
   */
  signals[FORWARD_FAILED] =
    g_signal_new ("forward-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
net_db_init (NetDb *self)
{
  self->checkpoint_on_close = TRUE;
  self->collections = g_ptr_array_new_with_free_func (db_collection_free);
  self->logs_watches = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
}

/* The origin ----------------------------------------------------------------- */

static guint64
random_origin (void)
{
  guint64 origin;

  do
    origin = (guint64) g_random_int () << 32 | g_random_int ();
  while (origin == 0);

  return origin;
}

/* The origin stored in the directory, 0 when there is none yet. */
static gboolean
read_origin (const char  *path,
             guint64     *origin,
             GError     **error)
{
  g_autofree char *file = g_build_filename (path, ORIGIN_FILE, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;

  *origin = 0;

  if (!g_file_get_contents (file, &contents, NULL, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot read %s: %s", file, local_error->message);
      return FALSE;
    }

  g_strstrip (contents);
  if (!g_ascii_string_to_unsigned (contents, 10, 1, G_MAXUINT64, origin, NULL))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s does not hold an origin (a decimal number from 1 to 2^64 - 1)", file);
      return FALSE;
    }

  return TRUE;
}

static gboolean
write_origin (const char  *path,
              guint64      origin,
              GError     **error)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", origin);
  /* The length first: the order of a call's arguments is unspecified
   * (clang steals text before strlen() would see it). */
  gsize len = strlen (text);
  g_autoptr(GBytes) contents = g_bytes_new_take (g_steal_pointer (&text), len);

  return _net_redex_write_file_atomic (path, ORIGIN_FILE, contents, error);
}

/* Checkpoints ------------------------------------------------------------------- */

static char *
checkpoint_name (guint64 generation)
{
  return g_strdup_printf ("%0*" G_GUINT64_FORMAT CHECKPOINT_SUFFIX, CHECKPOINT_DIGITS, generation);
}

static int
compare_generations_desc (gconstpointer a,
                          gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? 1 : x > y ? -1 : 0;
}

/* The generations of the checkpoints in @dir, newest first.  A writer
 * also removes the temporary files an interrupted write left behind. */
static GArray *
list_checkpoints (const char *dir,
                  gboolean    writable)
{
  GArray *gens = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;

  if (d == NULL)
    return gens;

  while ((entry = g_dir_read_name (d)) != NULL)
    {
      gsize len = strlen (entry);
      guint64 gen;

      if (len == CHECKPOINT_DIGITS + strlen (CHECKPOINT_SUFFIX) &&
          g_str_has_suffix (entry, CHECKPOINT_SUFFIX))
        {
          g_autofree char *digits = g_strndup (entry, CHECKPOINT_DIGITS);

          if (g_ascii_string_to_unsigned (digits, 10, 1, G_MAXUINT64, &gen, NULL))
            g_array_append_val (gens, gen);
        }
      else if (writable && g_str_has_suffix (entry, ".tmp"))
        {
          g_autofree char *file = g_build_filename (dir, entry, NULL);

          net_io_unlink (file);
        }
    }

  g_array_sort (gens, compare_generations_desc);
  return gens;
}

/* The checkpoints of a directory being opened, read lazily, newest first:
 * most opens only ever read the newest one. */
typedef struct
{
  const char   *dir;
  GArray       *gens;
  GPtrArray    *bundles;  /* NetDbBundle* or NULL (invalid), as read so far */
} Checkpoints;

static void
checkpoints_clear (Checkpoints *c)
{
  g_clear_pointer (&c->gens, g_array_unref);
  g_clear_pointer (&c->bundles, g_ptr_array_unref);
}

/* Checkpoint @gen of @dir, or NULL (with a warning when it is damaged). */
static NetDbBundle *
read_checkpoint (const char *dir,
                 guint64     gen)
{
  g_autofree char *name = checkpoint_name (gen);
  g_autofree char *file = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  NetDbBundle *bundle = NULL;

  mapped = g_mapped_file_new (file, FALSE, &error);
  if (mapped != NULL)
    {
      bytes = g_mapped_file_get_bytes (mapped);
      /* Our own file: only the real content bounds it. */
      bundle = _net_db_bundle_read_full (bytes, G_MAXUINT64, &error);
    }

  if (bundle == NULL)
    {
      /* Another process's writer may have pruned it meanwhile. */
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("skipping checkpoint %s: %s", file, error->message);
    }

  return bundle;
}

static NetDbBundle *
checkpoints_get (Checkpoints *c,
                 guint        i)
{
  while (c->bundles->len <= i && c->bundles->len < c->gens->len)
    g_ptr_array_add (c->bundles,
                     read_checkpoint (c->dir, g_array_index (c->gens, guint64, c->bundles->len)));

  return i < c->bundles->len ? g_ptr_array_index (c->bundles, i) : NULL;
}

/* The digest of the event at @seq of @file, which names the history a
 * section was taken from; FALSE when the log no longer holds it. */
static gboolean
log_event_digest (NetRedexFile *file,
                  guint64       seq,
                  guint64      *digest)
{
  g_autoptr(NetRedexEvent) event = NULL;

  if (seq == 0 || file == NULL)
    return FALSE;
  event = net_redex_file_read_one (file, seq, NULL);
  if (event == NULL)
    return FALSE;
  *digest = _net_db_event_digest (net_redex_event_get_timestamp (event),
                                  net_redex_event_get_payload (event));
  return TRUE;
}

static void
remember_digest (NetDb        *self,
                 ModelKind     kind,
                 NetDbSection *section)
{
  self->has_known_digest[kind] = section != NULL && section->has_event_digest;
  self->known_seq[kind] = section != NULL ? section->applied_seq : 0;
  self->known_digest[kind] = section != NULL ? section->event_digest : 0;
}

/* The digest of the event at @seq of model @kind's history: from its
 * log, or from the snapshot or checkpoint the model was opened from. */
static gboolean
model_event_digest (NetDb     *self,
                    ModelKind  kind,
                    guint64    seq,
                    guint64   *digest)
{
  if (log_event_digest (model_log (self, kind), seq, digest))
    return TRUE;
  if (self->has_known_digest[kind] && self->known_seq[kind] == seq)
    {
      *digest = self->known_digest[kind];
      return TRUE;
    }
  return FALSE;
}

/* Adds a section for every open model, each with its applied seq (also
 * stored in @seqs when not %NULL) and the digest of the event there. */
static gboolean
bundle_add_models (NetDb        *self,
                   NetDbBundle  *bundle,
                   guint64      *seqs,
                   GError      **error)
{
  for (guint k = 0; k < N_MODELS; k++)
    {
      g_autoptr(GBytes) data = NULL;
      NetDbSection *section;
      guint64 seq;

      if (self->table[k] == NULL)
        continue;
      data = _net_table_snapshot (self->table[k]);
      seq = _net_table_get_applied_seq (self->table[k]);

      if (seqs != NULL)
        seqs[k] = seq;
      section = _net_db_bundle_add (bundle, model_names (k), seq, data);
      section->has_event_digest = model_event_digest (self, k, seq, &section->event_digest);
    }

  /* Each open collection is one more section (a reader that does not
   * know collections skips it). */
  for (guint i = 0; i < self->collections->len; i++)
    {
      DbCollection *dc = g_ptr_array_index (self->collections, i);
      NetTable *table = _net_collection_get_table (dc->coll);
      g_autoptr(GBytes) data = _net_collection_snapshot (dc->coll);
      guint64 seq = _net_table_get_applied_seq (table);
      NetDbSection *section = _net_db_bundle_add (bundle, _net_collection_get_log_name (dc->coll), seq, data);

      section->has_event_digest = log_event_digest (table->file, seq, &section->event_digest);
      if (!section->has_event_digest && dc->has_known_digest && dc->known_seq == seq)
        {
          section->has_event_digest = TRUE;
          section->event_digest = dc->known_digest;
        }
    }

  return TRUE;
}

/*
 * A checkpoint is written in three steps, so that the async forms do the
 * costly middle one on a worker thread: the state is encoded on the
 * owner thread (the models are not thread-safe); it is compressed, the
 * log made durable and the file written on any thread, under io_mutex;
 * and the db learns of the new checkpoint on the owner thread again.
 */
struct _NetDbCheckpointJob
{
  NetDbIo      *io;
  NetDbBundle  *bundle;
  GBytes       *bytes;
  guint64       seqs[N_MODELS];
  GArray       *collection_seqs;   /* guint64, by index of db->collections */
};

void
_net_db_checkpoint_job_free (NetDbCheckpointJob *job)
{
  if (job == NULL)
    return;
  g_clear_pointer (&job->io, _net_db_io_unref);
  g_clear_pointer (&job->bundle, _net_db_bundle_free);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_clear_pointer (&job->collection_seqs, g_array_unref);
  g_free (job);
}

NetDbCheckpointJob *
_net_db_checkpoint_job_new (NetDb   *self,
                            GError **error)
{
  g_autoptr(NetDbCheckpointJob) job = g_new0 (NetDbCheckpointJob, 1);

  g_assert (self->path != NULL && !self->read_only);

  job->io = _net_db_io_ref (self->io);
  job->bundle = _net_db_bundle_new ();
  job->bundle->created_at = g_get_real_time ();
  job->bundle->origin = self->origin;

  if (!bundle_add_models (self, job->bundle, job->seqs, error))
    return NULL;
  job->collection_seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (guint i = 0; i < self->collections->len; i++)
    {
      DbCollection *dc = g_ptr_array_index (self->collections, i);
      guint64 seq = _net_table_get_applied_seq (_net_collection_get_table (dc->coll));

      g_array_append_val (job->collection_seqs, seq);
    }
  if (self->carried != NULL)
    for (guint i = 0; i < self->carried->sections->len; i++)
      {
        NetDbSection *s = g_ptr_array_index (self->carried->sections, i);
        NetDbSection *copy = _net_db_bundle_add (job->bundle, s->name, s->applied_seq, s->data);

        copy->has_event_digest = s->has_event_digest;
        copy->event_digest = s->event_digest;
      }

  return g_steal_pointer (&job);
}

/* Any thread. */
gboolean
_net_db_checkpoint_job_compress (NetDbCheckpointJob  *job,
                                 GError             **error)
{
  if (job->bytes == NULL)
    job->bytes = _net_db_bundle_write (job->bundle, error);
  return job->bytes != NULL;
}

/* Any thread: makes the log durable and writes the file. */
gboolean
_net_db_checkpoint_job_write (NetDbCheckpointJob  *job,
                              GError             **error)
{
  NetDbIo *io = job->io;
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GArray) gens = NULL;
  g_autofree char *name = NULL;
  guint64 gen;

  if (!_net_db_checkpoint_job_compress (job, error))
    return FALSE;

  locker = g_mutex_locker_new (&io->mutex);
  if (io->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "database %s is closed", io->path);
      return FALSE;
    }

  /* The checkpoint must never be ahead of the durable log: were the
   * machine to crash, the log would lose events the checkpoint holds. */
  if (!net_redex_sync (io->redex, error))
    return FALSE;

  if (!g_file_test (io->checkpoints_dir, G_FILE_TEST_IS_DIR))
    {
      if (net_io_mkdir (io->checkpoints_dir, 0700) != 0 && errno != EEXIST)
        {
          int saved_errno = errno;

          g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot create %s: %s",
                       io->checkpoints_dir, g_strerror (saved_errno));
          return FALSE;
        }
      /* The new folder's own entry must be durable too. */
      if (!_net_redex_sync_dir (io->path, error))
        return FALSE;
    }

  gens = list_checkpoints (io->checkpoints_dir, TRUE);
  gen = gens->len > 0 ? g_array_index (gens, guint64, 0) + 1 : 1;
  name = checkpoint_name (gen);

  if (!_net_redex_write_file_atomic (io->checkpoints_dir, name, job->bytes, error))
    return FALSE;

  /* Keep the newest few: an older one is the fallback should the newest
   * be damaged. */
  for (guint i = CHECKPOINTS_KEPT - 1; i < gens->len; i++)
    {
      g_autofree char *old_name = checkpoint_name (g_array_index (gens, guint64, i));
      g_autofree char *old = g_build_filename (io->checkpoints_dir, old_name, NULL);

      if (net_io_unlink (old) != 0 && errno != ENOENT)
        g_debug ("cannot remove old checkpoint %s: %s", old, g_strerror (errno));
    }

  return TRUE;
}

/* Owner thread, after a successful write. */
void
_net_db_checkpoint_job_commit (NetDb              *self,
                               NetDbCheckpointJob *job)
{

  memcpy (self->checkpoint_seqs, job->seqs, sizeof job->seqs);
  for (guint i = 0; job->collection_seqs != NULL && i < job->collection_seqs->len; i++)
    ((DbCollection *) g_ptr_array_index (self->collections, i))->checkpoint_seq =
      g_array_index (job->collection_seqs, guint64, i);
  self->checkpoint_current = TRUE;
  self->have_checkpoint = TRUE;
}

static gboolean
write_checkpoint (NetDb   *self,
                  GError **error)
{
  g_autoptr(NetDbCheckpointJob) job = _net_db_checkpoint_job_new (self, error);

  if (job == NULL || !_net_db_checkpoint_job_write (job, error))
    return FALSE;
  _net_db_checkpoint_job_commit (self, job);
  return TRUE;
}

static gboolean
checkpoint_is_current (NetDb *self)
{
  if (!self->checkpoint_current)
    return FALSE;
  for (guint k = 0; k < N_MODELS; k++)
    if (self->table[k] != NULL &&
        _net_table_get_applied_seq (self->table[k]) != self->checkpoint_seqs[k])
      return FALSE;
  for (guint i = 0; i < self->collections->len; i++)
    {
      DbCollection *dc = g_ptr_array_index (self->collections, i);

      if (_net_table_get_applied_seq (_net_collection_get_table (dc->coll)) != dc->checkpoint_seq)
        return FALSE;
    }
  return TRUE;
}

/* How many events a reopen would fold after the newest checkpoint (all of
 * them when there is none). */
static guint64
events_since_checkpoint (NetDb *self)
{
  guint64 n = 0;

  for (guint k = 0; k < N_MODELS; k++)
    if (self->table[k] != NULL)
      {
        guint64 applied = _net_table_get_applied_seq (self->table[k]);

        n += applied - MIN (self->checkpoint_seqs[k], applied);
      }
  for (guint i = 0; i < self->collections->len; i++)
    {
      DbCollection *dc = g_ptr_array_index (self->collections, i);
      guint64 applied = _net_table_get_applied_seq (_net_collection_get_table (dc->coll));

      n += applied - MIN (dc->checkpoint_seq, applied);
    }
  return n;
}

/* Opening ------------------------------------------------------------------------ */

static GObject *
model_open (NetDb      *self,
            ModelKind   kind,
            GBytes     *snapshot,
            GError    **error)
{
  return model_classes[kind].open (self->redex, self->config, self->origin, snapshot, error);
}

/* Opens a model of a persistent database from the newest checkpoint that
 * holds it and fits its log, or from the whole log.  A checkpoint that
 * does not fit (a log lost or truncated behind its back) is skipped with
 * a warning: the log is the truth, the checkpoint only a shortcut. */
static GObject *
model_open_from_checkpoints (NetDb        *self,
                             ModelKind     kind,
                             Checkpoints  *c,
                             gboolean     *from_newest,
                             guint64      *checkpoint_seq,
                             GError      **error)
{
  *from_newest = FALSE;
  *checkpoint_seq = 0;

  for (guint i = 0; i < c->gens->len; i++)
    {
      NetDbBundle *bundle = checkpoints_get (c, i);
      g_autoptr(GError) local_error = NULL;
      NetDbSection *section;
      GObject *model;

      if (bundle == NULL)
        continue;
      section = _net_db_bundle_find (bundle, model_names (kind));
      if (section == NULL)
        continue;

      model = model_open (self, kind, section->data, &local_error);
      if (model != NULL)
        {
          *from_newest = (i == 0);
          *checkpoint_seq = section->applied_seq;
          remember_digest (self, kind, section);
          return model;
        }

      {
        g_autofree char *name = checkpoint_name (g_array_index (c->gens, guint64, i));

        g_warning ("database %s: checkpoint %s does not fit the %s log (%s); not using it",
                   self->path, name, model_names (kind), local_error->message);
      }
    }

  return model_open (self, kind, NULL, error);
}

/* The sections of the newest valid checkpoint that belong to no model
 * this db opens (another combination of models, or a newer netdb). */
static NetDbBundle *
carry_sections (NetDb       *self,
                NetDbBundle *newest)
{
  g_autoptr(NetDbBundle) carried = _net_db_bundle_new ();

  for (guint i = 0; i < newest->sections->len; i++)
    {
      NetDbSection *s = g_ptr_array_index (newest->sections, i);
      gboolean open = FALSE;

      for (guint k = 0; k < N_MODELS; k++)
        if ((self->models & model_classes[k].flag) && g_str_equal (s->name, model_names (k)))
          open = TRUE;
      if (!open)
        _net_db_bundle_add (carried, s->name, s->applied_seq, s->data);
    }

  return carried->sections->len > 0 ? g_steal_pointer (&carried) : NULL;
}

static gboolean
set_origin (NetDb               *self,
            const NetDbOptions  *options,
            GError             **error)
{
  guint64 stored = 0;

  if (self->path != NULL && !read_origin (self->path, &stored, error))
    return FALSE;

  if (options->origin != 0)
    self->origin = options->origin;
  else if (stored != 0)
    self->origin = stored;
  else
    self->origin = random_origin ();

  /* The first writer of a directory records its origin for the next. */
  if (self->path != NULL && !self->read_only && stored == 0 &&
      !write_origin (self->path, self->origin, error))
    return FALSE;

  return TRUE;
}

/* Following a writer that restarts its logs ------------------------------------ */

static gboolean
model_restore (NetDb      *self,
               ModelKind   kind,
               GBytes     *data,
               GError    **error)
{
  return _net_table_restore (self->table[kind], data, error);
}

/*
 * The writer of a read-only db reset the log of model @kind (a follower
 * re-bootstrapped from its leader's snapshot): the events this db folded
 * belong to a history the log dropped.  The writer made the state it
 * restarted from the newest checkpoint before it reset the log, so
 * restore the model from the newest checkpoint the log continues (its
 * seq is at most the log's last and the log holds what follows it).
 * FALSE when there is none yet: the fold asks again.
 */
static gboolean
restore_from_checkpoint (NetDb     *self,
                         ModelKind  kind)
{
  NetRedexFile *file = model_log (self, kind);
  guint64 first = net_redex_file_get_first_seq (file);
  guint64 next = net_redex_file_get_next_seq (file);
  g_autoptr(GArray) gens = list_checkpoints (self->checkpoints_dir, FALSE);
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key;

  if (self->checkpoints_seen == NULL)
    self->checkpoints_seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  for (guint i = 0; i < gens->len; i++)
    {
      guint64 gen = g_array_index (gens, guint64, i);
      CheckpointSeqs *seqs = g_hash_table_lookup (self->checkpoints_seen, &gen);
      g_autoptr(NetDbBundle) bundle = NULL;
      g_autoptr(GError) error = NULL;
      NetDbSection *section;

      g_hash_table_add (listed, g_memdup2 (&gen, sizeof gen));

      if (seqs == NULL)
        {
          seqs = g_new0 (CheckpointSeqs, 1);
          bundle = read_checkpoint (self->checkpoints_dir, gen);
          for (guint k = 0; bundle != NULL && k < N_MODELS; k++)
            {
              section = _net_db_bundle_find (bundle, model_names (k));
              seqs->has[k] = section != NULL;
              seqs->applied[k] = section ? section->applied_seq : 0;
            }
          /* Unreadable (pruned meanwhile, or damaged): it holds
           * nothing. */
          g_hash_table_insert (self->checkpoints_seen, g_memdup2 (&gen, sizeof gen), seqs);
        }

      if (!seqs->has[kind] ||
          seqs->applied[kind] + 1 < first || seqs->applied[kind] + 1 > next)
        continue;

      if (bundle == NULL)
        bundle = read_checkpoint (self->checkpoints_dir, gen);
      section = bundle ? _net_db_bundle_find (bundle, model_names (kind)) : NULL;
      if (section != NULL && model_restore (self, kind, section->data, &error))
        {
          g_autofree char *name = checkpoint_name (gen);

          g_debug ("database %s: the %s log restarted at event %" G_GUINT64_FORMAT
                   "; restored checkpoint %s (event %" G_GUINT64_FORMAT ")",
                   self->path, model_names (kind), first, name, section->applied_seq);
          return TRUE;
        }
      if (error != NULL)
        {
          g_autofree char *name = checkpoint_name (gen);

          g_warning ("database %s: checkpoint %s does not restore the %s model (%s); not using it",
                     self->path, name, model_names (kind), error->message);
        }
      seqs->has[kind] = FALSE;
    }

  /* Forget those the writer pruned. */
  g_hash_table_iter_init (&iter, self->checkpoints_seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (listed, key))
      g_hash_table_iter_remove (&iter);

  return FALSE;
}

static gboolean
on_model_restarted (gpointer model,
                    gpointer user_data)
{
  NetDb *self = user_data;

  if (self->closed)
    return FALSE;

  for (guint k = 0; k < N_MODELS; k++)
    if (model == (gpointer) self->model[k])
      return restore_from_checkpoint (self, k);
  g_return_val_if_reached (FALSE);
}

/*
 * Restoring @snapshot into a directory that already holds events must not
 * merge two histories: each enabled model's log must be empty, or hold at
 * the snapshot's seq the very event the snapshot was taken after (the
 * database's own snapshot restored into its own directory).  A log that
 * ends before that seq is NET_ERROR_SNAPSHOT_MISMATCH.  Runs before
 * anything is written.
 */
static gboolean
dir_event_digest_of (NetDb         *self,
                     const char    *section_name,
                     NetRedexFile  *file,
                     guint64        seq,
                     guint64       *digest)
{
  g_autoptr(GArray) gens = NULL;

  if (log_event_digest (file, seq, digest))
    return TRUE;

  /* A log that continues after a snapshot does not hold the event the
   * snapshot was taken at; its checkpoints name it. */
  gens = list_checkpoints (self->checkpoints_dir, FALSE);
  for (guint i = 0; i < gens->len; i++)
    {
      g_autoptr(NetDbBundle) bundle = read_checkpoint (self->checkpoints_dir,
                                                       g_array_index (gens, guint64, i));
      NetDbSection *section = bundle ? _net_db_bundle_find (bundle, section_name) : NULL;

      if (section != NULL && section->applied_seq == seq && section->has_event_digest)
        {
          *digest = section->event_digest;
          return TRUE;
        }
    }

  return FALSE;
}

static gboolean
dir_event_digest (NetDb         *self,
                  ModelKind      kind,
                  NetRedexFile  *file,
                  guint64        seq,
                  guint64       *digest)
{
  return dir_event_digest_of (self, model_names (kind), file, seq, digest);
}

static gboolean
check_same_history (NetDb        *self,
                    NetDbBundle  *snapshot,
                    GError      **error)
{
  g_auto(GStrv) logs = net_redex_list_files (self->redex, error);

  if (logs == NULL)
    return FALSE;

  for (guint k = 0; k < N_MODELS; k++)
    {
      g_autoptr(NetRedexFile) file = NULL;
      NetDbSection *section;
      guint64 next, digest;

      if (!(self->models & model_classes[k].flag) || !g_strv_contains ((const char * const *) logs, model_names (k)))
        continue;

      file = net_redex_open_file (self->redex, model_names (k), self->config, error);
      if (file == NULL)
        return FALSE;
      next = net_redex_file_get_next_seq (file);
      if (next <= 1)
        continue;

      section = _net_db_bundle_find (snapshot, model_names (k));
      if (section != NULL && section->applied_seq >= next)
        {
          /* The restore could not continue this log: say so before
           * anything is written. */
          g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH,
                       "the %s log of %s ends at event %" G_GUINT64_FORMAT
                       ", before the snapshot's event %" G_GUINT64_FORMAT,
                       model_names (k), self->path, next - 1, section->applied_seq);
          return FALSE;
        }
      if (section != NULL && section->has_event_digest &&
          dir_event_digest (self, k, file, section->applied_seq, &digest) &&
          digest == section->event_digest)
        continue;

      g_set_error (error, NET_ERROR, NET_ERROR_EXISTS,
                   "database %s already holds %" G_GUINT64_FORMAT " %s event%s that are not "
                   "the history of this snapshot; restore it into a new or empty directory",
                   self->path, next - 1, model_names (k), next == 2 ? "" : "s");
      return FALSE;
    }

  /* Every collection of the directory is part of the database: the same
   * rule, by the section of its name. */
  for (guint i = 0; logs[i] != NULL; i++)
    {
      g_autoptr(NetRedexFile) file = NULL;
      NetDbSection *section;
      guint64 next, digest;

      if (!g_str_has_prefix (logs[i], NET_COLLECTION_LOG_PREFIX))
        continue;
      file = net_redex_open_file (self->redex, logs[i], self->config, error);
      if (file == NULL)
        return FALSE;
      next = net_redex_file_get_next_seq (file);
      if (next <= 1)
        continue;

      section = _net_db_bundle_find (snapshot, logs[i]);
      if (section != NULL && section->applied_seq >= next)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH,
                       "the %s log of %s ends at event %" G_GUINT64_FORMAT
                       ", before the snapshot's event %" G_GUINT64_FORMAT,
                       logs[i], self->path, next - 1, section->applied_seq);
          return FALSE;
        }
      if (section != NULL && section->has_event_digest &&
          dir_event_digest_of (self, logs[i], file, section->applied_seq, &digest) &&
          digest == section->event_digest)
        continue;

      g_set_error (error, NET_ERROR, NET_ERROR_EXISTS,
                   "database %s already holds %" G_GUINT64_FORMAT " event%s of %s that are not "
                   "the history of this snapshot; restore it into a new or empty directory",
                   self->path, next - 1, next == 2 ? "" : "s", logs[i]);
      return FALSE;
    }

  return TRUE;
}

/* After a restore into a directory: the log of each collection of
 * @snapshot continues after its section now, whether or not this process
 * opens the collection, so that a read-only db (which cannot create a
 * log) finds it and any writer carries on from it. */
static gboolean
continue_collection_logs (NetDb        *self,
                          NetDbBundle  *snapshot,
                          GError      **error)
{
  if (self->read_only)
    return TRUE;

  for (guint i = 0; i < snapshot->sections->len; i++)
    {
      NetDbSection *section = g_ptr_array_index (snapshot->sections, i);
      g_autoptr(NetRedexFile) file = NULL;

      if (!g_str_has_prefix (section->name, NET_COLLECTION_LOG_PREFIX))
        continue;
      file = net_redex_open_file (self->redex, section->name, self->config, error);
      if (file == NULL || !_net_fold_prepare_restore (file, section->applied_seq, error))
        return FALSE;
    }
  return TRUE;
}

/* A failed open releases the directory lock now, not whenever the last
 * reference goes, and writes no checkpoint. */
static void
abandon (NetDb *self)
{
  self->checkpoint_on_close = FALSE;
  net_db_close (self, NULL);
}

/* Collections ---------------------------------------------------------------------- */

static int
net_db_compare_names (gconstpointer a,
                      gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The collection sections of @bundle (a snapshot opened from), kept
 * until their collection is opened. */
static NetDbBundle *
carry_collection_sections (NetDbBundle *bundle)
{
  g_autoptr(NetDbBundle) carried = _net_db_bundle_new ();

  for (guint i = 0; i < bundle->sections->len; i++)
    {
      NetDbSection *s = g_ptr_array_index (bundle->sections, i);
      NetDbSection *copy;

      if (!g_str_has_prefix (s->name, NET_COLLECTION_LOG_PREFIX))
        continue;
      copy = _net_db_bundle_add (carried, s->name, s->applied_seq, s->data);
      copy->has_event_digest = s->has_event_digest;
      copy->event_digest = s->event_digest;
    }
  return carried->sections->len > 0 ? g_steal_pointer (&carried) : NULL;
}

static DbCollection *
find_collection (NetDb      *self,
                 const char *name)
{
  for (guint i = 0; i < self->collections->len; i++)
    {
      DbCollection *dc = g_ptr_array_index (self->collections, i);

      if (g_str_equal (net_collection_get_name (dc->coll), name))
        return dc;
    }
  return NULL;
}

static void collection_set_following (NetDb *self, DbCollection *dc);

/* A collection opened: replication may have a new log to serve. */
static void
logs_changed (NetDb *self)
{
  self->logs_generation++;
  for (guint i = 0; i < self->logs_watches->len; i++)
    g_source_set_ready_time (g_ptr_array_index (self->logs_watches, i), 0);
}

/* Opens collection @name: from its section of the newest checkpoint (or
 * of the snapshot the db was opened from) when there is one that fits
 * its log, else from the whole log.  @internal: for replication (see
 * _net_db_open_log()). */
static NetCollection *
open_collection (NetDb       *self,
                 const char  *name,
                 GType        record_type,
                 gboolean     internal,
                 GError     **error)
{
  g_autofree char *log_name = g_strconcat (NET_COLLECTION_LOG_PREFIX, name, NULL);
  g_autoptr(GError) local_error = NULL;
  NetDbSection *section = NULL;
  NetCollection *coll = NULL;
  DbCollection *dc;
  guint index = 0;

  if (self->carried != NULL)
    for (index = 0; index < self->carried->sections->len; index++)
      {
        NetDbSection *s = g_ptr_array_index (self->carried->sections, index);

        if (g_str_equal (s->name, log_name))
          {
            section = s;
            break;
          }
      }

  if (section != NULL)
    {
      coll = _net_collection_open (self->redex, self->config, self->origin, name, record_type,
                                   section->data, &local_error);
      if (coll == NULL && !g_error_matches (local_error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH) &&
          !g_error_matches (local_error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (coll == NULL)
        {
          g_warning ("database %s: the checkpoint's %s does not fit its log (%s); not using it",
                     self->path ? self->path : "(in memory)", log_name, local_error->message);
          section = NULL;
        }
    }
  if (coll == NULL)
    coll = _net_collection_open (self->redex, self->config, self->origin, name, record_type, NULL, error);
  if (coll == NULL)
    return NULL;

  dc = g_new0 (DbCollection, 1);
  dc->coll = coll;
  dc->db = self;
  dc->internal = internal;
  if (section != NULL)
    {
      dc->checkpoint_seq = section->applied_seq;
      dc->has_known_digest = section->has_event_digest;
      dc->known_seq = section->applied_seq;
      dc->known_digest = section->event_digest;
      /* From now on the collection's own section is written. */
      g_ptr_array_remove_index (self->carried->sections, index);
    }
  g_ptr_array_add (self->collections, dc);
  collection_set_following (self, dc);
  logs_changed (self);
  return coll;
}

/*
 * The application opens with its class a collection that replication
 * opened untyped: the typed collection starts from the untyped one's
 * state (a snapshot of it, which any class reads as a checkpoint's
 * section) and folds on from the log; the untyped one, which nobody
 * outside saw, goes.
 */
static NetCollection *
adopt_collection (NetDb         *self,
                  DbCollection  *dc,
                  GType          record_type,
                  GError       **error)
{
  g_autoptr(GBytes) state = NULL;
  NetCollection *coll;

  /* What its log holds, as any open folds it: replication may have
   * appended events the internal collection's fold has not reached. */
  if (!_net_table_catch_up (_net_collection_get_table (dc->coll), error))
    return NULL;

  if (record_type == NET_TYPE_RECORD)
    {
      dc->internal = FALSE;
      return dc->coll;
    }

  state = _net_collection_snapshot (dc->coll);
  coll = _net_collection_open (self->redex, self->config, self->origin,
                               net_collection_get_name (dc->coll), record_type, state, error);
  if (coll == NULL)
    return NULL;

  g_clear_object (&dc->coll);
  dc->coll = coll;
  dc->internal = FALSE;
  collection_set_following (self, dc);
  return coll;
}

/**
 * net_db_open_collection:
 * @self: a #NetDb
 * @name: the name of the collection: 1 to 200 of `a-z`, `0-9`, `.`, `_`
 *   and `-`, not starting with `.`
 * @record_type: the class of its records, a #NetRecord subclass, or
 *   %NET_TYPE_RECORD to open it without a class
 * @error: return location for a #GError
 *
 * Opens the collection @name of the database, creating it when the
 * database has none of that name, and folds what its log holds (from the
 * newest checkpoint, when the database has one).  A second call with the
 * same name returns the same object.  The collection belongs to the
 * database and closes with it.
 *
 * Returns: (transfer none): the collection, or %NULL with @error set:
 *   %NET_ERROR_INVALID_ARGUMENT for a bad name, a type that is not a
 *   #NetRecord, a property of a type a record cannot store, or a name
 *   already open with another class; %NET_ERROR_SCHEMA_MISMATCH when a
 *   field of @record_type cannot read what the log stores;
 *   %NET_ERROR_NOT_FOUND on a read-only database whose directory has no
 *   such collection (yet); %NET_ERROR_CLOSED after net_db_close()
 *
 * Since: 0.2
 */
NetCollection *
net_db_open_collection (NetDb       *self,
                        const char  *name,
                        GType        record_type,
                        GError     **error)
{
  DbCollection *dc;

  g_return_val_if_fail (NET_IS_DB (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_net_collection_name_is_valid (name, error))
    return NULL;
  if (!g_type_is_a (record_type, NET_TYPE_RECORD))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s is not a NetRecord type", g_type_name (record_type));
      return NULL;
    }
  if (self->redex == NULL || self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "database %s is closed",
                   self->path ? self->path : "(in memory)");
      return NULL;
    }

  dc = find_collection (self, name);
  if (dc != NULL && dc->internal)
    return adopt_collection (self, dc, record_type, error);
  if (dc != NULL)
    {
      if (net_collection_get_record_type (dc->coll) != record_type)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "collection “%s” is open with class %s, not %s", name,
                       g_type_name (net_collection_get_record_type (dc->coll)), g_type_name (record_type));
          return NULL;
        }
      return dc->coll;
    }

  return open_collection (self, name, record_type, FALSE, error);
}

/**
 * net_db_list_collections:
 * @self: a #NetDb
 *
 * Lists the names of every collection of the database, open or not: those
 * its directory holds a log of, those of the snapshot it was opened from,
 * and those open.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, sorted
 *
 * Since: 0.2
 */
char **
net_db_list_collections (NetDb *self)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto(GStrv) logs = NULL;
  GPtrArray *out;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (NET_IS_DB (self), NULL);

  if (self->redex != NULL && !self->closed)
    logs = net_redex_list_files (self->redex, NULL);
  for (guint i = 0; logs != NULL && logs[i] != NULL; i++)
    if (g_str_has_prefix (logs[i], NET_COLLECTION_LOG_PREFIX))
      g_hash_table_add (names, g_strdup (logs[i] + strlen (NET_COLLECTION_LOG_PREFIX)));
  for (guint i = 0; self->carried != NULL && i < self->carried->sections->len; i++)
    {
      NetDbSection *s = g_ptr_array_index (self->carried->sections, i);

      if (g_str_has_prefix (s->name, NET_COLLECTION_LOG_PREFIX))
        g_hash_table_add (names, g_strdup (s->name + strlen (NET_COLLECTION_LOG_PREFIX)));
    }
  for (guint i = 0; i < self->collections->len; i++)
    g_hash_table_add (names, g_strdup (net_collection_get_name (((DbCollection *) g_ptr_array_index (self->collections, i))->coll)));

  out = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_ptr_array_add (out, key);
      g_hash_table_iter_steal (&iter);
    }
  g_ptr_array_sort (out, (GCompareFunc) net_db_compare_names);
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

/* A snapshot holds every collection, opened or not: one this db has not
 * opened is folded into a temporary untyped collection (from its
 * checkpoint's section, if any, then its log) for its section.  When that
 * cannot be done (a closed or read-only db without its log), the section
 * of the checkpoint or snapshot the db was opened from stands in. */
static gboolean
bundle_add_unopened_collections (NetDb        *self,
                                 NetDbBundle  *bundle,
                                 GError      **error)
{
  g_auto(GStrv) names = net_db_list_collections (self);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *log_name = g_strconcat (NET_COLLECTION_LOG_PREFIX, names[i], NULL);
      NetDbSection *carried = self->carried != NULL ? _net_db_bundle_find (self->carried, log_name) : NULL;
      g_autoptr(NetCollection) coll = NULL;
      g_autoptr(GBytes) data = NULL;
      NetDbSection *section;
      NetTable *table;
      guint64 seq;

      if (find_collection (self, names[i]) != NULL)
        continue;
      if (self->redex != NULL && !self->closed)
        {
          coll = _net_collection_open (self->redex, self->config, self->origin, names[i], NET_TYPE_RECORD,
                                       carried != NULL ? carried->data : NULL, NULL);
          if (coll == NULL && carried != NULL)
            coll = _net_collection_open (self->redex, self->config, self->origin, names[i],
                                         NET_TYPE_RECORD, NULL, NULL);
        }
      if (coll == NULL)
        {
          if (carried != NULL)
            {
              section = _net_db_bundle_add (bundle, carried->name, carried->applied_seq, carried->data);
              section->has_event_digest = carried->has_event_digest;
              section->event_digest = carried->event_digest;
            }
          continue;
        }

      table = _net_collection_get_table (coll);
      data = _net_collection_snapshot (coll);
      seq = _net_table_get_applied_seq (table);
      section = _net_db_bundle_add (bundle, log_name, seq, data);
      section->has_event_digest = log_event_digest (table->file, seq, &section->event_digest);
      if (!section->has_event_digest && carried != NULL && carried->applied_seq == seq &&
          carried->has_event_digest)
        {
          section->has_event_digest = TRUE;
          section->event_digest = carried->event_digest;
        }
    }
  return TRUE;
}

/*
 * Opens @self as @options say.  On any thread: an async open runs it on
 * a worker, inside a NetOwnerScope that names the caller's context and
 * thread as the owner.  A failure leaves @self closed.
 */
gboolean
_net_db_open_into (NetDb               *self,
                   const NetDbOptions  *options,
                   GError             **error)
{
  g_autoptr(NetDbBundle) snapshot = NULL;
  Checkpoints c = { 0 };
  gboolean all_from_newest = TRUE;
  guint64 events_before;
  GObject *models[N_MODELS] = { NULL, NULL };
  gboolean ok = TRUE;

  /* A bad snapshot fails before anything is created. */
  if (options->snapshot != NULL)
    {
      snapshot = _net_db_bundle_read_full (options->snapshot, options->max_snapshot_size, error);
      if (snapshot == NULL)
        return FALSE;
    }

  self->models = options->models & (NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES);
  self->read_only = options->read_only;
  if (options->config != NULL)
    self->config = net_redex_config_copy (options->config);

  if (self->read_only)
    self->redex = net_redex_new_read_only (options->path, error);
  else
    self->redex = net_redex_new (options->path, error);
  if (self->redex == NULL)
    return FALSE;

  /* The canonical form, as the redex keeps it. */
  self->path = g_strdup (net_redex_get_path (self->redex));
  if (self->path != NULL)
    self->checkpoints_dir = g_build_filename (self->path, CHECKPOINTS_DIR, NULL);
  self->io = net_db_io_new (self->redex, self->path, self->checkpoints_dir);

  if (snapshot != NULL && self->path != NULL && !check_same_history (self, snapshot, error))
    {
      abandon (self);
      return FALSE;
    }

  if (!set_origin (self, options, error))
    {
      abandon (self);
      return FALSE;
    }

  /* Restoring into a directory: the snapshot becomes its newest checkpoint
   * before any log is created, so that a crash at any point leaves either
   * nothing of the restore or a database that opens with the snapshot's
   * state (its logs, empty or not yet there, continue after it). */
  if (snapshot != NULL && self->path != NULL)
    {
      g_autoptr(NetDbCheckpointJob) job = g_new0 (NetDbCheckpointJob, 1);

      job->io = _net_db_io_ref (self->io);
      job->bytes = g_bytes_ref (options->snapshot);
      if (!_net_db_checkpoint_job_write (job, error) ||
          !continue_collection_logs (self, snapshot, error))
        {
          abandon (self);
          return FALSE;
        }
    }

  if (snapshot == NULL && self->path != NULL)
    {
      c.dir = self->checkpoints_dir;
      c.gens = list_checkpoints (self->checkpoints_dir, !self->read_only);
      c.bundles = g_ptr_array_new_with_free_func ((GDestroyNotify) _net_db_bundle_free);
    }

  events_before = _net_fold_get_events_applied ();

  for (guint k = 0; k < N_MODELS && ok; k++)
    {
      if (!(self->models & model_classes[k].flag))
        continue;

      if (snapshot != NULL)
        {
          NetDbSection *section = _net_db_bundle_find (snapshot, model_names (k));

          /* An enabled model absent from the snapshot starts empty. */
          models[k] = model_open (self, k, section ? section->data : NULL, error);
          remember_digest (self, k, section);
        }
      else if (c.gens != NULL)
        {
          gboolean from_newest;

          models[k] = model_open_from_checkpoints (self, k, &c, &from_newest,
                                                   &self->checkpoint_seqs[k], error);
          all_from_newest &= from_newest;
        }
      else
        models[k] = model_open (self, k, NULL, error);

      ok = models[k] != NULL;
    }

  self->events_folded = _net_fold_get_events_applied () - events_before;
  for (guint k = 0; k < N_MODELS; k++)
    {
      self->model[k] = models[k];
      self->table[k] = models[k] != NULL ? model_classes[k].table (models[k]) : NULL;
    }

  if (ok && c.gens != NULL)
    {
      /* Close need not write a checkpoint when nothing changed since the
       * newest one, provided that one was valid and used for every model. */
      self->checkpoint_current = all_from_newest && checkpoints_get (&c, 0) != NULL;
      self->have_checkpoint = self->checkpoint_current;

      for (guint i = 0; i < c.gens->len && self->carried == NULL; i++)
        if (checkpoints_get (&c, i) != NULL)
          {
            self->carried = carry_sections (self, checkpoints_get (&c, i));
            break;
          }
    }
  checkpoints_clear (&c);

  /* Following a writer: when it resets a log, restore that model from the
   * checkpoint it restarted from. */
  if (ok && self->read_only)
    {
      for (guint k = 0; k < N_MODELS; k++)
        if (model_follow (self, k) != NULL)
          _net_follow_set_restart_func (model_follow (self, k), on_model_restarted, self);
    }

  /* Opened from a snapshot onto a directory: the snapshot is its newest
   * checkpoint (written above), current unless the log held events after
   * it. */
  if (ok && snapshot != NULL && self->path != NULL)
    {
      for (guint k = 0; k < N_MODELS; k++)
        {
          NetDbSection *section = _net_db_bundle_find (snapshot, model_names (k));

          self->checkpoint_seqs[k] = section != NULL ? section->applied_seq : 0;
        }
      self->checkpoint_current = TRUE;
      self->have_checkpoint = TRUE;
    }

  /* The collections of a snapshot wait in the carried sections until
   * they are opened. */
  if (ok && snapshot != NULL)
    self->carried = carry_collection_sections (snapshot);

  /* The builder's collections (net_db_builder_with_collection()). */
  for (guint i = 0; ok && options->collections != NULL && i < options->collections->len; i++)
    {
      NetDbCollectionSpec *spec = g_ptr_array_index (options->collections, i);

      ok = open_collection (self, spec->name, spec->record_type, FALSE, error) != NULL;
    }

  if (!ok)
    {
      abandon (self);
      return FALSE;
    }

  return TRUE;
}

/* Copies @options into @self, for g_initable_init() or
 * g_async_initable_init_async() to open. */
void
_net_db_set_options (NetDb              *self,
                     const NetDbOptions *options)
{
  g_return_if_fail (!self->init_done);

  self->options = *options;
  g_free (self->options_path);
  self->options_path = g_strdup (options->path);
  self->options.path = self->options_path;
  g_set_object (&self->options_config, options->config);
  self->options.config = self->options_config;
  g_clear_pointer (&self->options_snapshot, g_bytes_unref);
  self->options_snapshot = options->snapshot ? g_bytes_ref (options->snapshot) : NULL;
  self->options.snapshot = self->options_snapshot;
  g_clear_pointer (&self->options_collections, g_ptr_array_unref);
  self->options_collections = options->collections ? g_ptr_array_ref (options->collections) : NULL;
  self->options.collections = self->options_collections;
}

const NetDbOptions *
_net_db_get_options (NetDb *self)
{
  return &self->options;
}

/* GInitable / GAsyncInitable: whether the open may start (only once), and
 * its outcome. */
gboolean
_net_db_init_begin (NetDb   *self,
                    GError **error)
{
  if (self->init_done)
    {
      if (!self->init_ok)
        g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                     "this database failed to open; create a new one");
      return FALSE;
    }
  if (self->options.path == NULL && self->options.read_only)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "a read-only database needs a directory (a path, or the builder's persistent_dir)");
      return FALSE;
    }
  if (self->options.snapshot != NULL && self->options.read_only)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "a read-only database cannot be opened from a snapshot");
      return FALSE;
    }
  return TRUE;
}

void
_net_db_init_end (NetDb    *self,
                  gboolean  ok)
{
  self->init_done = TRUE;
  self->init_ok = ok;
}

gboolean
_net_db_init_was_ok (NetDb *self)
{
  return self->init_done && self->init_ok;
}

static gboolean
net_db_initable_init (GInitable     *initable,
                      GCancellable  *cancellable,
                      GError       **error)
{
  NetDb *self = NET_DB (initable);
  gboolean ok;

  if (!_net_db_init_begin (self, error))
    return self->init_done && self->init_ok;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ok = _net_db_open_into (self, &self->options, error);
  _net_db_init_end (self, ok);
  return ok;
}

static void
net_db_initable_iface_init (GInitableIface *iface)
{
  iface->init = net_db_initable_init;
}

NetDb *
_net_db_open (const NetDbOptions  *options,
              GError             **error)
{
  g_autoptr(NetDb) self = NULL;

  g_return_val_if_fail (options != NULL, NULL);

  self = g_object_new (NET_TYPE_DB, NULL);
  _net_db_set_options (self, options);
  if (!g_initable_init (G_INITABLE (self), NULL, error))
    return NULL;
  return g_steal_pointer (&self);
}

/* Public API ------------------------------------------------------------------------ */

/**
 * net_db_new:
 * @path: (nullable) (type filename): the database directory, created if
 *   needed, or %NULL for a database held in memory
 * @models: the models to open
 * @error: return location for a #GError
 *
 * Opens a database for writing, taking the write lock of its directory,
 * and opens @models on it.  A persistent database is opened from its
 * newest valid checkpoint and the events logged after it.
 *
 * The database belongs to the thread-default main context of the caller.
 * Use #NetDbBuilder for more options.
 *
 * Returns: (transfer full): a new #NetDb, or %NULL with @error set
 *   (%NET_ERROR_LOCKED when another process writes the directory)
 */
NetDb *
net_db_new (const char   *path,
            NetDbModels   models,
            GError      **error)
{
  NetDbOptions options = { .path = path, .models = models };

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_open (&options, error);
}

/**
 * net_db_open_from_snapshot: (constructor)
 * @snapshot: a snapshot made by net_db_snapshot()
 * @path: (nullable) (type filename): the database directory, or %NULL for
 *   a database held in memory
 * @models: the models to open
 * @error: return location for a #GError
 *
 * Opens a database whose models start from @snapshot rather than from
 * their checkpoints.  A model of @models that @snapshot does not hold
 * starts empty; a model that @snapshot holds but @models does not name is
 * ignored.
 *
 * Each model continues from the seq its snapshot was taken at: on an
 * empty log, the log continues after it; a log that holds it replays the
 * events after it; a log that ends before it fails with
 * %NET_ERROR_SNAPSHOT_MISMATCH.
 *
 * Two histories are never merged: when @path already holds a database
 * whose logs hold events, each of them must be the history @snapshot was
 * taken from (the log holds, at the snapshot's seq, the event the
 * snapshot recorded there), as when a database's own snapshot is restored
 * into its own directory.  Otherwise the open fails with
 * %NET_ERROR_EXISTS and leaves the directory untouched.
 *
 * Returns: (transfer full): a new #NetDb, or %NULL with @error set
 *   (%NET_ERROR_SNAPSHOT_INVALID when @snapshot is corrupt, truncated or
 *   not a snapshot; %NET_ERROR_EXISTS when @path holds another history)
 */
NetDb *
net_db_open_from_snapshot (GBytes       *snapshot,
                           const char   *path,
                           NetDbModels   models,
                           GError      **error)
{
  NetDbOptions options = { .path = path, .models = models, .snapshot = snapshot };

  g_return_val_if_fail (snapshot != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_open (&options, error);
}

/**
 * net_db_open_read_only: (constructor)
 * @path: (type filename): an existing database directory
 * @models: the models to open
 * @error: return location for a #GError
 *
 * Opens a database without taking its write lock, to read and follow what
 * another process writes: the models fold that process's events as they
 * are logged.  Mutations fail with %NET_ERROR_READ_ONLY.
 *
 * Returns: (transfer full): a new #NetDb, or %NULL with @error set
 *   (%NET_ERROR_NOT_FOUND when the directory, or the log of one of
 *   @models, does not exist)
 */
NetDb *
net_db_open_read_only (const char   *path,
                       NetDbModels   models,
                       GError      **error)
{
  NetDbOptions options = { .path = path, .models = models, .read_only = TRUE };

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_open (&options, error);
}

/**
 * net_db_get_path:
 * @self: a #NetDb
 *
 * Gets the database directory.
 *
 * Returns: (nullable) (type filename): the directory, or %NULL for a
 *   database held in memory
 */
const char *
net_db_get_path (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), NULL);

  return self->path;
}

/**
 * net_db_get_origin:
 * @self: a #NetDb
 *
 * Gets the origin written into the events of this database's mutations.
 *
 * Returns: the origin, never 0
 */
guint64
net_db_get_origin (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), 0);

  return self->origin;
}

/**
 * net_db_get_read_only:
 * @self: a #NetDb
 *
 * Gets whether the database was opened read-only.
 *
 * Returns: %TRUE if read-only
 */
gboolean
net_db_get_read_only (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);

  return self->read_only;
}

/**
 * net_db_get_following:
 * @self: a #NetDb
 *
 * Gets whether the database follows a leader's logs; see #NetDb:following.
 *
 * Returns: %TRUE while following
 */
gboolean
net_db_get_following (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);

  return self->following;
}

/**
 * net_db_get_tasks:
 * @self: a #NetDb
 *
 * Gets the tasks model.
 *
 * Returns: (transfer none) (nullable): the tasks model, or %NULL when the
 *   database was opened without %NET_DB_MODELS_TASKS
 */
NetDbTasks *
net_db_get_tasks (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), NULL);

  return (NetDbTasks *) self->model[MODEL_TASKS];
}

/**
 * net_db_get_memories:
 * @self: a #NetDb
 *
 * Gets the memories model.
 *
 * Returns: (transfer none) (nullable): the memories model, or %NULL when
 *   the database was opened without %NET_DB_MODELS_MEMORIES
 */
NetDbMemories *
net_db_get_memories (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), NULL);

  return (NetDbMemories *) self->model[MODEL_MEMORIES];
}

/**
 * net_db_snapshot:
 * @self: a #NetDb
 * @error: return location for a #GError
 *
 * Serializes every enabled model, each as of its last applied seq, into
 * one compressed and checksummed blob that net_db_open_from_snapshot()
 * and net_db_builder_build_from_snapshot() open.  The format is described
 * in `docs/snapshot-format.md`.
 *
 * Every collection of the database is in it too, opened or not (see
 * net_db_list_collections()); a database opened from it finds each one
 * with net_db_open_collection().
 *
 * A closed database still snapshots its last state.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 */
GBytes *
net_db_snapshot (NetDb   *self,
                 GError **error)
{
  g_autoptr(NetDbBundle) bundle = NULL;

  g_return_val_if_fail (NET_IS_DB (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  bundle = _net_db_snapshot_bundle (self, error);
  if (bundle == NULL)
    return NULL;

  return _net_db_bundle_write (bundle, error);
}

NetDbBundle *
_net_db_snapshot_bundle (NetDb   *self,
                         GError **error)
{
  g_autoptr(NetDbBundle) bundle = _net_db_bundle_new ();

  bundle->created_at = g_get_real_time ();
  bundle->origin = self->origin;

  if (!bundle_add_models (self, bundle, NULL, error) ||
      !bundle_add_unopened_collections (self, bundle, error))
    return NULL;
  return g_steal_pointer (&bundle);
}

gboolean
_net_db_is_closed (NetDb *self)
{
  return self->closed;
}

void
_net_db_set_closing (NetDb *self)
{
  self->closed = TRUE;
}

gboolean
_net_db_checkpoint_wanted (NetDb *self)
{
  return !checkpoint_is_current (self);
}

/**
 * net_db_checkpoint:
 * @self: a #NetDb
 * @error: return location for a #GError
 *
 * Makes the log durable and writes a snapshot of every enabled model into
 * the `checkpoints` folder of the database directory, so that the next
 * open only folds the events logged after it.  Closing the database
 * writes one too.  The newest two checkpoints are kept; nothing is
 * written when the newest one already holds the current state.
 *
 * A database held in memory has nowhere to write: this does nothing.
 *
 * Returns: %TRUE on success; %FALSE with @error set, %NET_ERROR_CLOSED
 *   after net_db_close() and %NET_ERROR_READ_ONLY on a read-only database
 */
gboolean
net_db_checkpoint (NetDb   *self,
                   GError **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "database %s is closed",
                   self->path ? self->path : "(in memory)");
      return FALSE;
    }
  if (self->read_only)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY,
                   "database %s is open read-only", self->path);
      return FALSE;
    }
  if (self->path == NULL || checkpoint_is_current (self))
    return TRUE;

  return write_checkpoint (self, error);
}

/**
 * net_db_sync:
 * @self: a #NetDb
 * @error: return location for a #GError
 *
 * Makes every event logged so far durable: it survives a crash of the
 * process or of the machine from now on, whatever the fsync policy.  It
 * blocks until the disk confirms (typically a few milliseconds), so call
 * it after a batch of mutations rather than after each one.
 *
 * A database held in memory, opened read-only or closed has nothing left
 * to sync: this returns %TRUE at once.
 *
 * Returns: %TRUE on success; %FALSE with @error set when the disk failed
 *   (the database then refuses further mutations)
 */
gboolean
net_db_sync (NetDb   *self,
             GError **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed || self->read_only || self->path == NULL)
    return TRUE;

  return _net_db_io_sync (self->io, error);
}

/**
 * net_db_close:
 * @self: a #NetDb
 * @error: return location for a #GError
 *
 * Writes a checkpoint (for a persistent, writable database, unless the
 * newest one is less than a thousand events behind),
 * closes the models and the logs, making every logged event durable, and
 * releases the directory lock.  Closing twice is harmless.
 *
 * What still works after close, on the last state: get(), find_many(),
 * find_first(), count(), exists() and watch() of the models (a new live
 * model is closed from the start); the items, which keep their last
 * values; live models, which keep their contents, take a new filter
 * (selecting from the last state) and have #NetQueryModel:closed set
 * (notified once); net_db_snapshot(); the applied-seq, fold-errors and
 * origin properties; and wait_for_seq() (sync or async) for a seq the
 * state already holds, which succeeds (a later seq fails with
 * %NET_ERROR_CLOSED); net_db_sync(), which has nothing left to do.
 * Mutations, restores and net_db_checkpoint() fail with
 * %NET_ERROR_CLOSED.
 *
 * Everything is closed even when a step fails; the first failure is
 * reported.
 *
 * Returns: %TRUE on success
 */
gboolean
net_db_close (NetDb   *self,
              GError **error)
{
  g_autoptr(GError) first_error = NULL;

  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->redex == NULL || self->io == NULL || self->io->closed)
    return TRUE;
  /* Closing already (net_db_close_async()): finish it now. */
  if (self->closed)
    return _net_db_close_logs (self, error);
  self->closed = TRUE;

  if (_net_db_close_needs_checkpoint (self))
    write_checkpoint (self, &first_error);

  _net_db_close_logs (self, first_error ? NULL : &first_error);

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }

  return TRUE;
}

/* Whether closing writes a checkpoint. */
gboolean
_net_db_close_needs_checkpoint (NetDb *self)
{
  return self->path != NULL && !self->read_only && self->checkpoint_on_close &&
         !checkpoint_is_current (self) &&
         (!self->have_checkpoint || events_since_checkpoint (self) >= CHECKPOINT_MIN_EVENTS);
}

/* The end of a close: the models stop, the logs become durable and the
 * lock is released.  Waits for a worker writing a checkpoint or syncing. */
gboolean
_net_db_close_logs (NetDb   *self,
                    GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GError) first_error = NULL;

  self->closed = TRUE;

  /* The models close their logs: not under a worker's feet. */
  if (self->io != NULL)
    {
      locker = g_mutex_locker_new (&self->io->mutex);
      self->io->closed = TRUE;
    }
  for (guint k = 0; k < N_MODELS; k++)
    if (self->table[k] != NULL)
      _net_table_close (self->table[k], first_error ? NULL : &first_error);
  for (guint i = 0; i < self->collections->len; i++)
    _net_collection_close (((DbCollection *) g_ptr_array_index (self->collections, i))->coll,
                           first_error ? NULL : &first_error);
  net_redex_close (self->redex, first_error ? NULL : &first_error);

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  return TRUE;
}

/* Any thread: the body of net_db_sync(). */
gboolean
_net_db_io_sync (NetDbIo  *io,
                 GError  **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&io->mutex);

  if (io->closed)
    return TRUE;
  return net_redex_sync (io->redex, error);
}

guint64
_net_db_get_events_folded (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), 0);

  return self->events_folded;
}

void
_net_db_set_checkpoint_on_close (NetDb    *self,
                                 gboolean  checkpoint_on_close)
{
  g_return_if_fail (NET_IS_DB (self));

  self->checkpoint_on_close = !!checkpoint_on_close;
}

/* Replication ------------------------------------------------------------------- */

const char *
_net_db_log_name (NetDbLog log)
{
  g_return_val_if_fail ((guint) log < NET_DB_N_LOGS, NULL);

  return model_names ((ModelKind) log);
}

/* The open collection whose log is @name, or NULL. */
static DbCollection *
find_collection_log (NetDb      *self,
                     const char *name)
{
  if (!g_str_has_prefix (name, NET_COLLECTION_LOG_PREFIX))
    return NULL;
  return find_collection (self, name + strlen (NET_COLLECTION_LOG_PREFIX));
}

/* What replication does with the log @name, NULL when it is not open. */
static NetFollow *
named_log_follow (NetDb      *self,
                  const char *name)
{
  DbCollection *dc;

  for (guint k = 0; k < N_MODELS; k++)
    if (g_str_equal (name, model_names (k)))
      return model_follow (self, k);
  dc = find_collection_log (self, name);
  return dc != NULL ? &_net_collection_get_table (dc->coll)->follow : NULL;
}

NetRedexFile *
_net_db_get_log (NetDb    *self,
                 NetDbLog  log)
{
  NetFollow *follow;

  g_return_val_if_fail (NET_IS_DB (self), NULL);

  follow = log_follow (self, log);
  return follow != NULL ? follow->file : NULL;
}

guint64
_net_db_get_origin_app_seq (NetDb    *self,
                            NetDbLog  log,
                            guint64   origin)
{
  NetFollow *follow;

  g_return_val_if_fail (NET_IS_DB (self), 0);

  follow = log_follow (self, log);
  return follow != NULL ? _net_origins_get (follow->origins, origin) : 0;
}

char **
_net_db_list_logs (NetDb *self)
{
  g_auto(GStrv) names = NULL;
  GPtrArray *out;

  g_return_val_if_fail (NET_IS_DB (self), NULL);

  out = g_ptr_array_new ();
  for (guint k = 0; k < N_MODELS; k++)
    if (self->table[k] != NULL)
      g_ptr_array_add (out, g_strdup (model_names (k)));
  names = net_db_list_collections (self);
  for (guint i = 0; names[i] != NULL; i++)
    g_ptr_array_add (out, g_strconcat (NET_COLLECTION_LOG_PREFIX, names[i], NULL));
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (out, FALSE);
}

NetRedexFile *
_net_db_open_log (NetDb       *self,
                  const char  *name,
                  GError     **error)
{
  NetFollow *follow;
  NetCollection *coll;

  g_return_val_if_fail (NET_IS_DB (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->redex == NULL || self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "database %s is closed",
                   self->path ? self->path : "(in memory)");
      return NULL;
    }
  follow = named_log_follow (self, name);
  if (follow != NULL)
    return follow->file;
  if (!g_str_has_prefix (name, NET_COLLECTION_LOG_PREFIX))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND, "database %s has no %s log",
                   self->path ? self->path : "(in memory)", name);
      return NULL;
    }

  coll = open_collection (self, name + strlen (NET_COLLECTION_LOG_PREFIX), NET_TYPE_RECORD,
                          TRUE, error);
  return coll != NULL ? _net_collection_get_table (coll)->file : NULL;
}

guint
_net_db_get_logs_generation (NetDb *self)
{
  g_return_val_if_fail (NET_IS_DB (self), 0);

  return self->logs_generation;
}

void
_net_db_add_logs_watch (NetDb   *self,
                        GSource *source)
{
  g_return_if_fail (NET_IS_DB (self));

  g_ptr_array_add (self->logs_watches, g_source_ref (source));
}

void
_net_db_remove_logs_watch (NetDb   *self,
                           GSource *source)
{
  g_return_if_fail (NET_IS_DB (self));

  g_ptr_array_remove (self->logs_watches, source);
}

guint64
_net_db_get_log_app_seq (NetDb      *self,
                         const char *name,
                         guint64     origin)
{
  NetFollow *follow;

  g_return_val_if_fail (NET_IS_DB (self), 0);

  follow = named_log_follow (self, name);
  return follow != NULL ? _net_origins_get (follow->origins, origin) : 0;
}

/* The models hand their mutations over with the log they were given. */
static void
forward_cb (guint     log,
            GBytes   *event,
            gpointer  user_data)
{
  NetDb *self = user_data;

  self->forward (_net_db_log_name ((NetDbLog) log), event, self->forward_data);
}

/* A collection's, with its log's name. */
static void
collection_forward_cb (guint     log,
                       GBytes   *event,
                       gpointer  user_data)
{
  DbCollection *dc = user_data;

  dc->db->forward (_net_collection_get_log_name (dc->coll), event, dc->db->forward_data);
}

/* A collection follows (or not) as the models do. */
static void
collection_set_following (NetDb        *self,
                          DbCollection *dc)
{
  NetTable *table = _net_collection_get_table (dc->coll);

  if (!self->following && !table->follow.following)
    return;
  _net_follow_set_following (&table->follow, self->following,
                             self->forward != NULL ? collection_forward_cb : NULL, dc);
}

void
_net_db_set_following (NetDb            *self,
                       gboolean          following,
                       NetDbForwardFunc  forward,
                       gpointer          forward_data)
{
  gboolean changed;

  g_return_if_fail (NET_IS_DB (self));

  following = !!following;
  changed = self->following != following;
  self->following = following;
  self->forward = following ? forward : NULL;
  self->forward_data = following ? forward_data : NULL;
  for (guint k = 0; k < N_MODELS; k++)
    if (model_follow (self, k) != NULL)
      _net_follow_set_following (model_follow (self, k), following,
                                 self->forward != NULL ? forward_cb : NULL, self);
  for (guint i = 0; i < self->collections->len; i++)
    collection_set_following (self, g_ptr_array_index (self->collections, i));

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLLOWING]);
}

gboolean
_net_db_append_forwarded (NetDb               *self,
                          NetDbLog             log,
                          GBytes              *event,
                          guint64              app_seq,
                          NetDbForwardStatus  *status,
                          guint64             *seq,
                          GError             **error)
{
  g_return_val_if_fail (NET_IS_DB (self), FALSE);

  if ((guint) log >= NET_DB_N_LOGS)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "database %s has no log %u", self->path ? self->path : "(in memory)", log);
      return FALSE;
    }
  return _net_db_append_forwarded_to (self, model_names ((ModelKind) log), event, app_seq,
                                      status, seq, error);
}

gboolean
_net_db_append_forwarded_to (NetDb               *self,
                             const char          *name,
                             GBytes              *event,
                             guint64              app_seq,
                             NetDbForwardStatus  *status,
                             guint64             *seq,
                             GError             **error)
{
  NetFollow *follow;

  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (event != NULL && status != NULL && seq != NULL, FALSE);

  *seq = 0;
  follow = named_log_follow (self, name);
  if (follow != NULL)
    {
      NetFollowStatus follow_status = NET_FOLLOW_APPENDED;
      g_autoptr(GBytes) rebased = NULL;
      DbCollection *dc = find_collection_log (self, name);
      gboolean ok;

      /* A collection's event may define a field under a number the
       * follower's copy of the log did not reach: it gets ours. */
      if (dc != NULL && !follow->following && follow->fold != NULL &&
          !_net_fold_is_stopped (follow->fold))
        {
          g_autoptr(GError) local_error = NULL;

          if (!_net_table_catch_up (_net_collection_get_table (dc->coll), error))
            return FALSE;
          rebased = _net_collection_rebase_event (dc->coll, event, &local_error);
          if (rebased == NULL)
            {
              g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "forwarded %s event refused: %s", name, local_error->message);
              return FALSE;
            }
          event = rebased;
        }
      ok = _net_follow_append_forwarded (follow, event, app_seq, &follow_status, seq, error);
      *status = (NetDbForwardStatus) follow_status;
      return ok;
    }

  g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
               "database %s has no %s log", self->path ? self->path : "(in memory)", name);
  return FALSE;
}

gboolean
_net_db_rebootstrap (NetDb    *self,
                     GBytes   *snapshot,
                     GError  **error)
{
  g_autoptr(NetDbBundle) bundle = NULL;
  NetDbSection *sections[N_MODELS] = { NULL, NULL };

  g_return_val_if_fail (NET_IS_DB (self), FALSE);
  g_return_val_if_fail (snapshot != NULL, FALSE);

  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED, "database %s is closed",
                   self->path ? self->path : "(in memory)");
      return FALSE;
    }
  if (self->read_only)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY,
                   "database %s is open read-only", self->path);
      return FALSE;
    }

  bundle = _net_db_bundle_read (snapshot, error);
  if (bundle == NULL)
    return FALSE;

  /* Check everything before touching anything. */
  for (guint k = 0; k < N_MODELS; k++)
    {
      if (!(self->models & model_classes[k].flag))
        continue;
      sections[k] = _net_db_bundle_find (bundle, model_names (k));
      if (sections[k] == NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH,
                       "the leader's snapshot has no %s model", model_names (k));
          return FALSE;
        }
    }
  /* Every collection of the leader's, opened untyped when the
   * application has not opened it. */
  for (guint i = 0; i < bundle->sections->len; i++)
    {
      NetDbSection *section = g_ptr_array_index (bundle->sections, i);

      if (g_str_has_prefix (section->name, NET_COLLECTION_LOG_PREFIX) &&
          _net_db_open_log (self, section->name, error) == NULL)
        return FALSE;
    }

  /* The leader's snapshot becomes the newest checkpoint first: should we
   * crash once a log was emptied, a reopen starts from it (and before
   * that, it does not fit the old log and is skipped). */
  if (self->path != NULL)
    {
      g_autoptr(GArray) gens = NULL;
      g_autofree char *name = NULL;

      if (!g_file_test (self->checkpoints_dir, G_FILE_TEST_IS_DIR))
        {
          if (net_io_mkdir (self->checkpoints_dir, 0700) != 0 && errno != EEXIST)
            {
              int saved_errno = errno;

              g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot create %s: %s",
                           self->checkpoints_dir, g_strerror (saved_errno));
              return FALSE;
            }
          if (!_net_redex_sync_dir (self->path, error))
            return FALSE;
        }
      gens = list_checkpoints (self->checkpoints_dir, TRUE);
      name = checkpoint_name (gens->len > 0 ? g_array_index (gens, guint64, 0) + 1 : 1);
      if (!_net_redex_write_file_atomic (self->checkpoints_dir, name, snapshot, error))
        return FALSE;
      self->checkpoint_current = FALSE;
    }

  for (guint k = 0; k < N_MODELS; k++)
    {
      if (model_follow (self, k) == NULL)
        continue;
      if (!_net_follow_rebootstrap (model_follow (self, k), sections[k]->data,
                                    sections[k]->applied_seq, error))
        return FALSE;
      remember_digest (self, k, sections[k]);
    }
  for (guint i = 0; i < bundle->sections->len; i++)
    {
      NetDbSection *section = g_ptr_array_index (bundle->sections, i);
      DbCollection *dc = find_collection_log (self, section->name);

      if (dc == NULL)
        continue;
      if (!_net_follow_rebootstrap (&_net_collection_get_table (dc->coll)->follow, section->data,
                                    section->applied_seq, error))
        return FALSE;
      dc->has_known_digest = section->has_event_digest;
      dc->known_seq = section->applied_seq;
      dc->known_digest = section->event_digest;
    }

  /* A checkpoint of what we now hold, with our own carried sections. */
  if (self->path != NULL)
    return write_checkpoint (self, error);

  return TRUE;
}

void
_net_db_emit_forward_failed (NetDb        *self,
                             const GError *error)
{
  g_return_if_fail (NET_IS_DB (self));
  g_return_if_fail (error != NULL);

  g_signal_emit (self, signals[FORWARD_FAILED], 0, error);
}
