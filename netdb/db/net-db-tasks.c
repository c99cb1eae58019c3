/* net-db-tasks.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"
#include "net-enum-types.h"
#include "net-codec-private.h"
#include "net-db-items-private.h"
#include "net-db-tasks-private.h"
#include "net-fold-private.h"
#include "net-redex-private.h"

/**
 * SECTION:net-db-tasks
 * @title: NetDbTasks
 * @short_description: the tasks model
 *
 * #NetDbTasks keeps the tasks of a database.  Each mutation appends one
 * event to the `tasks` log and returns its sequence number; the events are
 * folded into the state on the owner #GMainContext (the thread-default one
 * when the model was created).  A mutation made on the owner thread is
 * applied before it returns, so the next query sees it; the #NetTask
 * objects notify their changes, and #NetDbTasks::changed fires, from the
 * next dispatch of the fold source.
 *
 * Task objects are live and unique: there is one #NetTask per id while the
 * task exists, and every query returns that object.
 *
 * The payload of every task event is described in docs/payload-format.md.
 */

/**
 * NetDbTasks:
 *
 * The tasks of a database: typed mutations, live items and queries.
 */

#define TASKS_LOG_NAME "tasks"

/* Payload fields. */
enum {
  F_ID = 1,
  F_TITLE = 2,
  F_TIMESTAMP = 3,
};

/* Snapshot fields. */
enum {
  S_APPLIED_SEQ = 1,
  S_ORIGIN = 2,   /* bytes: origin, app_seq */
  S_TASK = 3,     /* bytes: id, title, status, created, updated */
  S_FOLD_ERRORS = 4,
};

enum {
  KEY_ID,
  KEY_CREATED,
  KEY_UPDATED,
  N_KEYS
};

typedef struct
{
  NetTask       *task;
  NetTaskStatus  status;          /* where the iters are */
  /* The index keys, copied so that comparing entries touches neither the
   * item nor a type check. */
  guint64        id;
  gint64         keys[N_KEYS];    /* [KEY_ID] unused */
  GSequenceIter *iters[N_KEYS];
} TaskEntry;

typedef struct
{
  guint64 origin;
  guint64 app_seq;
} OriginSeq;

struct _NetDbTasks
{
  GObject       parent_instance;

  NetRedexFile *file;
  NetFold      *fold;
  guint64       origin;
  GMutex        write_lock;     /* app_seq order = log order */
  guint64       next_app_seq;   /* under write_lock */
  GArray       *origins;        /* OriginSeq: the highest app_seq per origin;
                                 * owner thread only */
  gboolean      closed;

  GHashTable   *by_id;          /* guint64* → TaskEntry* */
  GSequence    *index[2][N_KEYS];
  GHashTable   *dirty;          /* NetTask* with pending notifies */
  GByteArray   *scratch;
};

G_DEFINE_FINAL_TYPE (NetDbTasks, net_db_tasks, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_APPLIED_SEQ,
  PROP_FOLD_ERRORS,
  PROP_ORIGIN,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Indexes ------------------------------------------------------------------ */

static int
compare_entries (gconstpointer a,
                 gconstpointer b,
                 gpointer      data)
{
  const TaskEntry *x = a, *y = b;
  guint key = GPOINTER_TO_UINT (data);

  if (x->keys[key] != y->keys[key])
    return x->keys[key] < y->keys[key] ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void
entry_load_keys (TaskEntry *e)
{
  e->id = net_task_get_id (e->task);
  e->keys[KEY_ID] = 0;
  e->keys[KEY_CREATED] = net_task_get_created_at (e->task);
  e->keys[KEY_UPDATED] = net_task_get_updated_at (e->task);
}

static void
entry_index (NetDbTasks *self,
             TaskEntry  *e,
             guint       key)
{
  GSequence *seq = self->index[e->status][key];
  GSequenceIter *end = g_sequence_get_end_iter (seq);

  /* Events mostly arrive in id and time order: appending is the common
   * case and skips the search. */
  if (g_sequence_iter_is_begin (end) ||
      compare_entries (g_sequence_get (g_sequence_iter_prev (end)), e, GUINT_TO_POINTER (key)) < 0)
    e->iters[key] = g_sequence_append (seq, e);
  else
    e->iters[key] = g_sequence_insert_sorted (seq, e, compare_entries, GUINT_TO_POINTER (key));
}

static void
entry_unindex (TaskEntry *e,
               guint      key)
{
  g_clear_pointer (&e->iters[key], g_sequence_remove);
}

static void
entry_free (gpointer data)
{
  TaskEntry *e = data;

  for (guint k = 0; k < N_KEYS; k++)
    entry_unindex (e, k);
  g_object_unref (e->task);
  g_free (e);
}

static TaskEntry *
lookup (NetDbTasks *self,
        guint64     id)
{
  return g_hash_table_lookup (self->by_id, &id);
}

/* Applying events ----------------------------------------------------------- */

static void
note_origin (NetDbTasks *self,
             guint64     origin,
             guint64     app_seq)
{
  /* Our own counter continues after whatever the log holds. */
  if (origin == self->origin)
    {
      g_mutex_lock (&self->write_lock);
      self->next_app_seq = MAX (self->next_app_seq, app_seq + 1);
      g_mutex_unlock (&self->write_lock);
    }

  for (guint i = 0; i < self->origins->len; i++)
    {
      OriginSeq *o = &g_array_index (self->origins, OriginSeq, i);

      if (o->origin == origin)
        {
          o->app_seq = MAX (o->app_seq, app_seq);
          return;
        }
    }

  g_array_append_vals (self->origins, &(OriginSeq) { origin, app_seq }, 1);
}

/* The highest app_seq folded for @origin (tests check it continues). */
guint64
_net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                  guint64     origin)
{
  for (guint i = 0; i < self->origins->len; i++)
    if (g_array_index (self->origins, OriginSeq, i).origin == origin)
      return g_array_index (self->origins, OriginSeq, i).app_seq;
  return 0;
}

static void
task_changed (NetDbTasks    *self,
              TaskEntry     *e,
              const char    *title,
              NetTaskStatus  status,
              gint64         created,
              gint64         updated)
{
  gboolean moved = status != e->status;
  gboolean created_moved = moved || created != net_task_get_created_at (e->task);
  gboolean updated_moved = moved || updated != net_task_get_updated_at (e->task);

  /* Out of the indexes whose key changes, update, back in. */
  if (moved)
    entry_unindex (e, KEY_ID);
  if (created_moved)
    entry_unindex (e, KEY_CREATED);
  if (updated_moved)
    entry_unindex (e, KEY_UPDATED);

  _net_task_update (e->task, title, status, created, updated);
  e->status = status;
  entry_load_keys (e);

  if (moved)
    entry_index (self, e, KEY_ID);
  if (created_moved)
    entry_index (self, e, KEY_CREATED);
  if (updated_moved)
    entry_index (self, e, KEY_UPDATED);

  if (_net_task_has_pending_notify (e->task) && !g_hash_table_contains (self->dirty, e->task))
    g_hash_table_add (self->dirty, g_object_ref (e->task));
}

static void
task_insert (NetDbTasks    *self,
             NetTask       *task)
{
  TaskEntry *e = g_new0 (TaskEntry, 1);
  guint64 *key = g_new (guint64, 1);

  *key = net_task_get_id (task);
  e->task = task;
  e->status = net_task_get_status (task);
  entry_load_keys (e);
  for (guint k = 0; k < N_KEYS; k++)
    entry_index (self, e, k);
  g_hash_table_insert (self->by_id, key, e);
}

static gboolean
tasks_apply (gpointer            user_data,
             guint64             seq,
             const NetEventMeta *meta,
             const guint8       *payload,
             gsize               payload_len,
             GError            **error)
{
  NetDbTasks *self = user_data;
  g_autofree char *title = NULL;
  NetDecoder dec;
  NetField field;
  guint64 id = 0;
  gboolean has_id = FALSE;
  gint64 ts = 0;
  TaskEntry *e;
  int r;

  if (meta->dispatch < NET_DISPATCH_TASK_CREATED || meta->dispatch > NET_DISPATCH_TASK_DELETED)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "event %" G_GUINT64_FORMAT " has dispatch 0x%02x, not a task event",
                   seq, meta->dispatch);
      return FALSE;
    }

  if (!net_decoder_init (&dec, payload, payload_len, error))
    return FALSE;

  while ((r = net_decoder_next (&dec, &field, error)) > 0)
    {
      switch (field.field)
        {
        case F_ID:
          if (field.wire != NET_WIRE_VARINT)
            goto bad_field;
          id = field.uint_value;
          has_id = TRUE;
          break;
        case F_TITLE:
          g_clear_pointer (&title, g_free);
          title = net_field_dup_utf8 (&field, error);
          if (title == NULL)
            return FALSE;
          break;
        case F_TIMESTAMP:
          if (field.wire != NET_WIRE_SVARINT)
            goto bad_field;
          ts = field.int_value;
          break;
        default:
          break; /* a newer writer's field */
        }
    }
  if (r < 0)
    return FALSE;

  if (!has_id ||
      ((meta->dispatch == NET_DISPATCH_TASK_CREATED || meta->dispatch == NET_DISPATCH_TASK_RENAMED) &&
       title == NULL))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "task event %" G_GUINT64_FORMAT " lacks a required field", seq);
      return FALSE;
    }

  note_origin (self, meta->origin, meta->app_seq);
  e = lookup (self, id);

  switch (meta->dispatch)
    {
    case NET_DISPATCH_TASK_CREATED:
      if (e != NULL)
        task_changed (self, e, title, NET_TASK_STATUS_PENDING, ts, ts);
      else
        task_insert (self, _net_task_new (id, title, NET_TASK_STATUS_PENDING, ts, ts));
      break;

    case NET_DISPATCH_TASK_RENAMED:
      if (e != NULL)
        task_changed (self, e, title, e->status, net_task_get_created_at (e->task), ts);
      break;

    case NET_DISPATCH_TASK_COMPLETED:
      if (e != NULL)
        task_changed (self, e, net_task_get_title (e->task), NET_TASK_STATUS_COMPLETED,
                      net_task_get_created_at (e->task), ts);
      break;

    case NET_DISPATCH_TASK_DELETED:
      if (e != NULL)
        g_hash_table_remove (self->by_id, &id);
      break;

    default:
      g_assert_not_reached ();
    }

  return TRUE;

bad_field:
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "task event %" G_GUINT64_FORMAT ": field %u has the wrong type", seq, field.field);
  return FALSE;
}

static void
tasks_deliver (gpointer user_data,
               guint64  first_seq,
               guint64  last_seq)
{
  NetDbTasks *self = user_data;
  g_autoptr(GPtrArray) dirty = NULL;
  GHashTableIter iter;
  gpointer key;

  /* Steal the set first: a notify handler may mutate again. */
  dirty = g_ptr_array_new_full (g_hash_table_size (self->dirty), g_object_unref);
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (dirty, g_object_ref (key));
  g_hash_table_remove_all (self->dirty);

  g_object_ref (self);
  for (guint i = 0; i < dirty->len; i++)
    _net_task_flush_notify (g_ptr_array_index (dirty, i));

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APPLIED_SEQ]);
  g_signal_emit (self, signals[CHANGED], 0, first_seq, last_seq);
  g_object_unref (self);
}

static const NetFoldFuncs tasks_fold_funcs = {
  .apply = tasks_apply,
  .deliver = tasks_deliver,
};

/* GObject -------------------------------------------------------------------- */

static void
net_db_tasks_dispose (GObject *object)
{
  NetDbTasks *self = (NetDbTasks *) object;

  if (self->fold != NULL)
    g_clear_pointer (&self->fold, _net_fold_free);
  g_clear_object (&self->file);

  G_OBJECT_CLASS (net_db_tasks_parent_class)->dispose (object);
}

static void
net_db_tasks_finalize (GObject *object)
{
  NetDbTasks *self = (NetDbTasks *) object;

  g_clear_pointer (&self->by_id, g_hash_table_unref);
  for (guint s = 0; s < 2; s++)
    for (guint k = 0; k < N_KEYS; k++)
      g_clear_pointer (&self->index[s][k], g_sequence_free);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->origins, g_array_unref);
  g_clear_pointer (&self->scratch, g_byte_array_unref);
  g_mutex_clear (&self->write_lock);

  G_OBJECT_CLASS (net_db_tasks_parent_class)->finalize (object);
}

static void
net_db_tasks_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  NetDbTasks *self = NET_DB_TASKS (object);

  switch (prop_id)
    {
    case PROP_APPLIED_SEQ:
      g_value_set_uint64 (value, net_db_tasks_get_applied_seq (self));
      break;
    case PROP_FOLD_ERRORS:
      g_value_set_uint64 (value, net_db_tasks_get_fold_errors (self));
      break;
    case PROP_ORIGIN:
      g_value_set_uint64 (value, self->origin);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_db_tasks_class_init (NetDbTasksClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_db_tasks_dispose;
  object_class->finalize = net_db_tasks_finalize;
  object_class->get_property = net_db_tasks_get_property;

  /**
   * NetDbTasks:applied-seq:
   *
   * The seq of the last event folded into the state (0 for none).
   * Notified from the fold's dispatch.
   */
  properties[PROP_APPLIED_SEQ] =
    g_param_spec_uint64 ("applied-seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDbTasks:fold-errors:
   *
   * How many events could not be decoded and were skipped.
   */
  properties[PROP_FOLD_ERRORS] =
    g_param_spec_uint64 ("fold-errors", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetDbTasks:origin:
   *
   * The origin written into the events of this model's mutations.
   */
  properties[PROP_ORIGIN] =
    g_param_spec_uint64 ("origin", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetDbTasks::changed:
   * @self: the model
   * @first_seq: the first seq folded in this batch
   * @last_seq: the last seq folded in this batch
   *
   * Emitted on the owner context after a batch of events was folded and
   * the items notified their changes.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
net_db_tasks_init (NetDbTasks *self)
{
  g_mutex_init (&self->write_lock);
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, entry_free);
  for (guint s = 0; s < 2; s++)
    for (guint k = 0; k < N_KEYS; k++)
      self->index[s][k] = g_sequence_new (NULL);
  /* Holds its items: one may be deleted before its notify is flushed. */
  self->dirty = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->origins = g_array_new (FALSE, FALSE, sizeof (OriginSeq));
  self->scratch = g_byte_array_new ();
  self->next_app_seq = 1;
}

/**
 * net_db_tasks_new:
 * @redex: the #NetRedex holding the `tasks` log
 * @config: (nullable): the config of the log when it is created
 * @origin: the origin recorded in this model's events
 * @error: return location for a #GError
 *
 * Opens the tasks model on the `tasks` log of @redex and folds what the
 * log already holds. The model belongs to the thread-default main context
 * of the caller.
 *
 * Returns: (transfer full): a new #NetDbTasks, or %NULL with @error set
 */
NetDbTasks *
net_db_tasks_new (NetRedex        *redex,
                  NetRedexConfig  *config,
                  guint64          origin,
                  GError         **error)
{
  g_return_val_if_fail (NET_IS_REDEX (redex), NULL);
  g_return_val_if_fail (config == NULL || NET_IS_REDEX_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_db_tasks_open (redex, config, origin, NULL, error);
}

/* Opens the model; with @snapshot, restores it instead of folding the
 * whole log first (only the log after the snapshot's seq is folded). */
NetDbTasks *
_net_db_tasks_open (NetRedex        *redex,
                    NetRedexConfig  *config,
                    guint64          origin,
                    GBytes          *snapshot,
                    GError         **error)
{
  g_autoptr(NetDbTasks) self = NULL;
  g_autoptr(NetRedexFile) file = NULL;

  file = net_redex_open_file (redex, TASKS_LOG_NAME, config, error);
  if (file == NULL)
    return NULL;

  self = g_object_new (NET_TYPE_DB_TASKS, NULL);
  self->file = g_steal_pointer (&file);
  self->origin = origin;
  self->fold = _net_fold_new (self->file, &tasks_fold_funcs, self,
                              net_redex_file_get_first_seq (self->file) - 1);

  if (snapshot != NULL)
    {
      if (!net_db_tasks_restore (self, snapshot, error))
        return NULL;
    }
  else if (!_net_fold_catch_up (self->fold, net_redex_file_get_next_seq (self->file) - 1, error))
    return NULL;

  return g_steal_pointer (&self);
}

/* Mutations ----------------------------------------------------------------- */

static guint64
append_event (NetDbTasks    *self,
              NetDispatch    dispatch,
              guint64        id,
              const char    *title,
              gint64         timestamp,
              GError       **error)
{
  g_autoptr(GBytes) event = NULL;
  NetEventMeta meta = { 0 };
  NetEncoder enc;
  guint64 seq;

  if (self->closed)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_CLOSED, "the tasks model is closed");
      return 0;
    }
  if (net_redex_file_get_read_only (self->file))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_READ_ONLY, "the tasks model is read-only");
      return 0;
    }
  if (title != NULL && !g_utf8_validate (title, -1, NULL))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "the task title is not valid UTF-8");
      return 0;
    }

  if (timestamp == 0)
    timestamp = g_get_real_time ();

  g_mutex_lock (&self->write_lock);

  g_byte_array_set_size (self->scratch, 0);
  net_encoder_init (&enc, self->scratch);
  net_encoder_put_uint (&enc, F_ID, id);
  if (title != NULL)
    net_encoder_put_string (&enc, F_TITLE, title);
  if (dispatch != NET_DISPATCH_TASK_DELETED)
    net_encoder_put_int (&enc, F_TIMESTAMP, timestamp);

  meta.dispatch = dispatch;
  meta.origin = self->origin;
  meta.app_seq = self->next_app_seq;
  event = net_event_encode (&meta, self->scratch->data, self->scratch->len);

  seq = net_redex_file_append (self->file, event, error);
  if (seq != 0)
    self->next_app_seq++;

  g_mutex_unlock (&self->write_lock);

  if (seq == 0)
    return 0;

  if (!_net_fold_apply_local (self->fold, seq, event, error))
    return 0;

  return seq;
}

/**
 * net_db_tasks_create:
 * @self: a #NetDbTasks
 * @id: the task id, chosen by the caller
 * @title: the title (UTF-8)
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Creates a pending task, or fully replaces the task with this id (status
 * back to pending, created-at reset).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_tasks_create (NetDbTasks  *self,
                     guint64      id,
                     const char  *title,
                     gint64       timestamp,
                     GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (title != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_TASK_CREATED, id, title, timestamp, error);
}

/**
 * net_db_tasks_rename:
 * @self: a #NetDbTasks
 * @id: the task id
 * @title: the new title (UTF-8)
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Renames a task; an unknown id changes nothing (the event is still
 * logged).
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_tasks_rename (NetDbTasks  *self,
                     guint64      id,
                     const char  *title,
                     gint64       timestamp,
                     GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (title != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_TASK_RENAMED, id, title, timestamp, error);
}

/**
 * net_db_tasks_complete:
 * @self: a #NetDbTasks
 * @id: the task id
 * @timestamp: microseconds since the Unix epoch, or 0 for now
 * @error: return location for a #GError
 *
 * Marks a task completed; completing it again only moves updated-at. An
 * unknown id changes nothing.
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_tasks_complete (NetDbTasks  *self,
                       guint64      id,
                       gint64       timestamp,
                       GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_TASK_COMPLETED, id, NULL, timestamp, error);
}

/**
 * net_db_tasks_delete:
 * @self: a #NetDbTasks
 * @id: the task id
 * @error: return location for a #GError
 *
 * Deletes a task. Its #NetTask object keeps its last values. An unknown
 * id changes nothing.
 *
 * Returns: the seq of the event, or 0 with @error set
 */
guint64
net_db_tasks_delete (NetDbTasks  *self,
                     guint64      id,
                     GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_event (self, NET_DISPATCH_TASK_DELETED, id, NULL, 0, error);
}

/* Queries ------------------------------------------------------------------- */

/**
 * net_db_tasks_get:
 * @self: a #NetDbTasks
 * @id: a task id
 *
 * Looks a task up by id.
 *
 * Returns: (transfer full) (nullable): the task, or %NULL
 */
NetTask *
net_db_tasks_get (NetDbTasks *self,
                  guint64     id)
{
  TaskEntry *e;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);

  e = lookup (self, id);
  return e ? g_object_ref (e->task) : NULL;
}

static guint
order_key (NetOrderBy order,
           gboolean  *desc)
{
  *desc = order == NET_ORDER_BY_ID_DESC || order == NET_ORDER_BY_CREATED_DESC ||
          order == NET_ORDER_BY_UPDATED_DESC;
  switch (order)
    {
    case NET_ORDER_BY_CREATED_ASC:
    case NET_ORDER_BY_CREATED_DESC:
      return KEY_CREATED;
    case NET_ORDER_BY_UPDATED_ASC:
    case NET_ORDER_BY_UPDATED_DESC:
      return KEY_UPDATED;
    case NET_ORDER_BY_ID_ASC:
    case NET_ORDER_BY_ID_DESC:
    default:
      return KEY_ID;
    }
}

typedef gboolean (*VisitFunc) (NetTask *task, gpointer data);

/*
 * Visits the tasks @filter selects in its order, without sorting: the
 * status indexes are kept in each order, and "any status" merges the two.
 */
static void
visit (NetDbTasks     *self,
       NetTasksFilter *filter,
       VisitFunc       func,
       gpointer        data)
{
  GSequenceIter *it[2] = { NULL, NULL };
  NetOrderBy order;
  gboolean desc;
  guint key;

  _net_tasks_filter_get_window (filter, &order, NULL, NULL);
  key = order_key (order, &desc);

  for (guint s = 0; s < 2; s++)
    {
      GSequence *seq = self->index[s][key];

      if (filter != NULL && net_tasks_filter_get_status_set (filter) &&
          net_tasks_filter_get_status (filter) != s)
        continue;
      if (g_sequence_is_empty (seq))
        continue;
      it[s] = desc ? g_sequence_iter_prev (g_sequence_get_end_iter (seq))
                   : g_sequence_get_begin_iter (seq);
    }

  for (;;)
    {
      TaskEntry *e;
      guint pick;

      if (it[0] == NULL && it[1] == NULL)
        break;
      if (it[0] == NULL)
        pick = 1;
      else if (it[1] == NULL)
        pick = 0;
      else
        {
          int c = compare_entries (g_sequence_get (it[0]), g_sequence_get (it[1]),
                                   GUINT_TO_POINTER (key));

          pick = (desc ? c > 0 : c < 0) ? 0 : 1;
        }

      e = g_sequence_get (it[pick]);
      if (desc)
        it[pick] = g_sequence_iter_is_begin (it[pick]) ? NULL : g_sequence_iter_prev (it[pick]);
      else
        {
          it[pick] = g_sequence_iter_next (it[pick]);
          if (g_sequence_iter_is_end (it[pick]))
            it[pick] = NULL;
        }

      if (_net_tasks_filter_matches (filter, e->task) && !func (e->task, data))
        break;
    }
}

typedef struct
{
  GPtrArray *result;
  guint      offset;
  guint      limit;
  guint      skipped;
} Collect;

static gboolean
collect_cb (NetTask  *task,
            gpointer  data)
{
  Collect *c = data;

  if (c->skipped < c->offset)
    {
      c->skipped++;
      return TRUE;
    }
  g_ptr_array_add (c->result, g_object_ref (task));
  return c->limit == 0 || c->result->len < c->limit;
}

/**
 * net_db_tasks_find_many:
 * @self: a #NetDbTasks
 * @filter: (nullable): a #NetTasksFilter, or %NULL for every task by id
 *
 * Finds the tasks @filter selects, in its order and window. Ordered
 * queries with a limit stop after the window: they never sort the table.
 *
 * Returns: (transfer container) (element-type NetTask): the tasks (the array
 *   holds a reference to each; free it with g_ptr_array_unref())
 */
GPtrArray *
net_db_tasks_find_many (NetDbTasks     *self,
                        NetTasksFilter *filter)
{
  Collect c = { 0 };

  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  c.result = g_ptr_array_new_with_free_func (g_object_unref);
  _net_tasks_filter_get_window (filter, NULL, &c.offset, &c.limit);
  visit (self, filter, collect_cb, &c);

  return c.result;
}

/**
 * net_db_tasks_find_first:
 * @self: a #NetDbTasks
 * @filter: (nullable): a #NetTasksFilter, or %NULL
 *
 * Finds the first task @filter selects (honouring its order and offset).
 *
 * Returns: (transfer full) (nullable): the task, or %NULL
 */
NetTask *
net_db_tasks_find_first (NetDbTasks     *self,
                         NetTasksFilter *filter)
{
  Collect c = { 0 };
  NetTask *task = NULL;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  c.result = g_ptr_array_new_with_free_func (g_object_unref);
  _net_tasks_filter_get_window (filter, NULL, &c.offset, NULL);
  c.limit = 1;
  visit (self, filter, collect_cb, &c);
  if (c.result->len > 0)
    task = g_object_ref (g_ptr_array_index (c.result, 0));
  g_ptr_array_unref (c.result);

  return task;
}

static gboolean
count_cb (NetTask  *task,
          gpointer  data)
{
  (*(guint *) data)++;
  return TRUE;
}

static gboolean
exists_cb (NetTask  *task,
           gpointer  data)
{
  *(gboolean *) data = TRUE;
  return FALSE;
}

static gboolean
status_only (NetTasksFilter *filter)
{
  return _net_tasks_filter_is_status_only (filter);
}

/**
 * net_db_tasks_count:
 * @self: a #NetDbTasks
 * @filter: (nullable): a #NetTasksFilter, or %NULL for all tasks
 *
 * Counts the tasks @filter selects, ignoring its limit and offset.
 * Counting by status alone is O(1).
 *
 * Returns: the number of tasks
 */
guint
net_db_tasks_count (NetDbTasks     *self,
                    NetTasksFilter *filter)
{
  guint n = 0;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), 0);

  if (filter == NULL)
    return g_hash_table_size (self->by_id);

  if (status_only (filter))
    {
      if (!net_tasks_filter_get_status_set (filter))
        return g_hash_table_size (self->by_id);
      return g_sequence_get_length (self->index[net_tasks_filter_get_status (filter)][KEY_ID]);
    }

  visit (self, filter, count_cb, &n);
  return n;
}

/**
 * net_db_tasks_exists:
 * @self: a #NetDbTasks
 * @filter: (nullable): a #NetTasksFilter, or %NULL
 *
 * Tells whether @filter selects any task, ignoring its limit and offset.
 *
 * Returns: %TRUE if at least one task matches
 */
gboolean
net_db_tasks_exists (NetDbTasks     *self,
                     NetTasksFilter *filter)
{
  gboolean found = FALSE;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), FALSE);

  if (filter == NULL || status_only (filter))
    return net_db_tasks_count (self, filter) > 0;

  {
    g_autoptr(NetTasksFilter) unwindowed = net_tasks_filter_copy (filter);

    net_tasks_filter_set_offset (unwindowed, 0);
    net_tasks_filter_set_limit (unwindowed, 0);
    visit (self, unwindowed, exists_cb, &found);
  }

  return found;
}

/* Watermarks ---------------------------------------------------------------- */

/**
 * net_db_tasks_get_applied_seq:
 * @self: a #NetDbTasks
 *
 * Gets the seq of the last event folded into the state.
 *
 * Returns: the seq, or 0 when nothing was folded
 */
guint64
net_db_tasks_get_applied_seq (NetDbTasks *self)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);

  return self->fold ? _net_fold_get_applied_seq (self->fold) : 0;
}

/**
 * net_db_tasks_get_fold_errors:
 * @self: a #NetDbTasks
 *
 * Gets how many events could not be decoded and were skipped.
 *
 * Returns: the number of skipped events
 */
guint64
net_db_tasks_get_fold_errors (NetDbTasks *self)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);

  return self->fold ? _net_fold_get_errors (self->fold) : 0;
}

/**
 * net_db_tasks_get_origin:
 * @self: a #NetDbTasks
 *
 * Gets the origin recorded in this model's events.
 *
 * Returns: the origin
 */
guint64
net_db_tasks_get_origin (NetDbTasks *self)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);

  return self->origin;
}

/**
 * net_db_tasks_wait_for_seq_async:
 * @self: a #NetDbTasks
 * @seq: the seq to wait for
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called once @seq is folded and delivered
 * @user_data: data for @callback
 *
 * Waits until the event @seq (appended by any thread or process) is
 * folded and its changes delivered.
 */
void
net_db_tasks_wait_for_seq_async (NetDbTasks          *self,
                                 guint64              seq,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (NET_IS_DB_TASKS (self));

  if (self->fold == NULL)
    {
      g_task_report_new_error (self, callback, user_data, net_db_tasks_wait_for_seq_async,
                               NET_ERROR, NET_ERROR_CLOSED, "the tasks model is closed");
      return;
    }

  _net_fold_wait_async (self->fold, self, seq, cancellable, callback, user_data,
                        net_db_tasks_wait_for_seq_async);
}

/**
 * net_db_tasks_wait_for_seq_finish:
 * @self: a #NetDbTasks
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Completes net_db_tasks_wait_for_seq_async().
 *
 * Returns: %TRUE once the seq is folded; %FALSE with @error set
 */
gboolean
net_db_tasks_wait_for_seq_finish (NetDbTasks    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * net_db_tasks_wait_for_seq:
 * @self: a #NetDbTasks
 * @seq: the seq to wait for
 * @timeout_ms: how long to wait, in milliseconds
 * @error: return location for a #GError
 *
 * Iterates the owner main context until the event @seq is folded and
 * delivered. Call it on the owner thread.
 *
 * Returns: %TRUE once folded; %FALSE with %NET_ERROR_TIMEOUT after
 *   @timeout_ms, or another error
 */
gboolean
net_db_tasks_wait_for_seq (NetDbTasks  *self,
                           guint64      seq,
                           guint        timeout_ms,
                           GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->fold == NULL)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_CLOSED, "the tasks model is closed");
      return FALSE;
    }

  return _net_fold_wait (self->fold, seq, timeout_ms, error);
}

/* Snapshots ------------------------------------------------------------------ */

/**
 * net_db_tasks_snapshot:
 * @self: a #NetDbTasks
 * @error: return location for a #GError
 *
 * Serializes the state as of #NetDbTasks:applied-seq, with that seq, so
 * net_db_tasks_restore() can continue from it.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set
 */
GBytes *
net_db_tasks_snapshot (NetDbTasks  *self,
                       GError     **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(GByteArray) item = g_byte_array_new ();
  NetEncoder enc;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  net_encoder_init (&enc, buf);
  net_encoder_put_uint (&enc, S_APPLIED_SEQ, net_db_tasks_get_applied_seq (self));
  net_encoder_put_uint (&enc, S_FOLD_ERRORS, net_db_tasks_get_fold_errors (self));

  for (guint i = 0; i < self->origins->len; i++)
    {
      OriginSeq *o = &g_array_index (self->origins, OriginSeq, i);
      NetEncoder sub;

      g_byte_array_set_size (item, 0);
      net_encoder_init (&sub, item);
      net_encoder_put_uint (&sub, 1, o->origin);
      net_encoder_put_uint (&sub, 2, o->app_seq);
      net_encoder_put_bytes (&enc, S_ORIGIN, item->data, item->len);
    }

  for (guint s = 0; s < 2; s++)
    {
      GSequenceIter *it = g_sequence_get_begin_iter (self->index[s][KEY_ID]);

      for (; !g_sequence_iter_is_end (it); it = g_sequence_iter_next (it))
        {
          TaskEntry *e = g_sequence_get (it);
          NetEncoder sub;

          g_byte_array_set_size (item, 0);
          net_encoder_init (&sub, item);
          net_encoder_put_uint (&sub, 1, net_task_get_id (e->task));
          net_encoder_put_string (&sub, 2, net_task_get_title (e->task));
          net_encoder_put_uint (&sub, 3, e->status);
          net_encoder_put_int (&sub, 4, net_task_get_created_at (e->task));
          net_encoder_put_int (&sub, 5, net_task_get_updated_at (e->task));
          net_encoder_put_bytes (&enc, S_TASK, item->data, item->len);
        }
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

static gboolean
snapshot_invalid (GError     **error,
                  const char  *what)
{
  g_set_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID,
               "not a valid tasks snapshot: %s", what);
  return FALSE;
}

static gboolean
decode_task (const NetField  *outer,
             NetTask        **out,
             GError         **error)
{
  g_autofree char *title = NULL;
  guint64 id = 0, status = 0;
  gint64 created = 0, updated = 0;
  gboolean has_id = FALSE;
  NetDecoder dec;
  NetField f;
  int r;

  if (outer->wire != NET_WIRE_BYTES ||
      !net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    return snapshot_invalid (error, "bad task record");

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case 1: id = f.uint_value; has_id = f.wire == NET_WIRE_VARINT; break;
        case 2:
          g_clear_pointer (&title, g_free);
          title = net_field_dup_utf8 (&f, NULL);
          break;
        case 3: status = f.uint_value; break;
        case 4: created = f.int_value; break;
        case 5: updated = f.int_value; break;
        default: break;
        }
    }

  if (r < 0 || !has_id || title == NULL || status > NET_TASK_STATUS_COMPLETED)
    return snapshot_invalid (error, "bad task record");

  *out = _net_task_new (id, title, status, created, updated);
  return TRUE;
}

/**
 * net_db_tasks_restore:
 * @self: a #NetDbTasks
 * @snapshot: a snapshot made by net_db_tasks_snapshot()
 * @error: return location for a #GError
 *
 * Replaces the state with @snapshot, whose last event is K, then folds
 * the log after K. On an empty log, the log continues at K + 1; a log
 * that holds K replays from K + 1; a log that ends before K, or no longer
 * holds the events after K, fails with %NET_ERROR_SNAPSHOT_MISMATCH. A
 * restore never makes the fold skip an event.
 *
 * Returns: %TRUE on success
 */
gboolean
net_db_tasks_restore (NetDbTasks  *self,
                      GBytes      *snapshot,
                      GError     **error)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) origins = g_array_new (FALSE, FALSE, sizeof (OriginSeq));
  guint64 applied = 0, fold_errors = 0;
  gboolean has_applied = FALSE;
  NetDecoder dec;
  NetField f;
  gsize len;
  const guint8 *data;
  int r;

  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (snapshot != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_CLOSED, "the tasks model is closed");
      return FALSE;
    }

  data = g_bytes_get_data (snapshot, &len);
  if (!net_decoder_init (&dec, data, len, NULL))
    return snapshot_invalid (error, "unknown format version");

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case S_APPLIED_SEQ:
          applied = f.uint_value;
          has_applied = f.wire == NET_WIRE_VARINT;
          break;
        case S_FOLD_ERRORS:
          fold_errors = f.uint_value;
          break;
        case S_ORIGIN:
          {
            NetDecoder sub;
            NetField g;
            OriginSeq o = { 0 };

            if (f.wire != NET_WIRE_BYTES || !net_decoder_init (&sub, f.bytes, f.bytes_len, NULL))
              return snapshot_invalid (error, "bad origin record");
            while ((r = net_decoder_next (&sub, &g, NULL)) > 0)
              {
                if (g.field == 1)
                  o.origin = g.uint_value;
                else if (g.field == 2)
                  o.app_seq = g.uint_value;
              }
            if (r < 0)
              return snapshot_invalid (error, "bad origin record");
            g_array_append_val (origins, o);
          }
          break;
        case S_TASK:
          {
            NetTask *task = NULL;

            if (!decode_task (&f, &task, error))
              return FALSE;
            g_ptr_array_add (tasks, task);
          }
          break;
        default:
          break;
        }
    }
  if (r < 0 || !has_applied)
    return snapshot_invalid (error, "truncated or malformed");

  /* The seq rules of DESIGN.md §4: never skip an event. */
  if (!_net_fold_prepare_restore (self->file, applied, error))
    return FALSE;

  /* Swap the state in: a new fold from the snapshot's seq. */
  g_clear_pointer (&self->fold, _net_fold_free);
  g_hash_table_remove_all (self->by_id);
  g_hash_table_remove_all (self->dirty);
  g_array_set_size (self->origins, 0);
  for (guint i = 0; i < origins->len; i++)
    note_origin (self, g_array_index (origins, OriginSeq, i).origin,
                 g_array_index (origins, OriginSeq, i).app_seq);
  for (guint i = 0; i < tasks->len; i++)
    task_insert (self, g_object_ref (g_ptr_array_index (tasks, i)));

  self->fold = _net_fold_new (self->file, &tasks_fold_funcs, self, applied);
  _net_fold_set_errors (self->fold, fold_errors);

  if (!_net_fold_catch_up (self->fold, net_redex_file_get_next_seq (self->file) - 1, error))
    return FALSE;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APPLIED_SEQ]);
  return TRUE;
}

/**
 * net_db_tasks_close:
 * @self: a #NetDbTasks
 * @error: return location for a #GError
 *
 * Stops folding and closes the log (making it durable). Later mutations
 * fail with %NET_ERROR_CLOSED; queries keep answering from the last
 * state. Closing twice is harmless.
 *
 * Returns: %TRUE on success
 */
gboolean
net_db_tasks_close (NetDbTasks  *self,
                    GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->closed)
    return TRUE;
  self->closed = TRUE;

  if (self->fold != NULL)
    _net_fold_stop (self->fold);

  return net_redex_file_close (self->file, error);
}
