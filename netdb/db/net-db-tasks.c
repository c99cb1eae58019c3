/* net-db-tasks.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-error.h"
#include "net-enum-types.h"
#include "net-btree-private.h"
#include "net-codec-private.h"
#include "net-db-items-private.h"
#include "net-db-tasks-private.h"
#include "net-fold-private.h"
#include "net-follow-private.h"
#include "net-id-table-private.h"
#include "net-origins-private.h"
#include "net-query-model-private.h"
#include "net-redex-private.h"
#include "net-table-private.h"

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
 * Task objects are live and unique: there is at most one #NetTask per id
 * while anyone holds it, and every query returns that object.  The model
 * holds the tasks its queries returned only until its main context is
 * idle (so that repeated queries in one burst of work return the same
 * objects without making them again); after that, a task nobody holds is
 * freed, and the next query makes a new one.
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

/* Snapshot fields: see net-origins-private.h. */

/* The orders the engine keeps, per status (its partitions). */
enum {
  KEY_ID = NET_TABLE_KEY_ID,
  KEY_CREATED = NET_TABLE_KEY_CREATED,
  KEY_UPDATED = NET_TABLE_KEY_UPDATED,
  N_KEYS = NET_TABLE_N_KEYS
};

/*
 * The state of one task: one allocation of 25 bytes and its title.  Its
 * #NetTask is made when a query returns it and lives as long as someone
 * holds it: the model keeps it without a reference (the table's registry
 * of items, by id), so that while it lives it is the one item of its id
 * (items are unique) and changes in place, and when nobody holds it any
 * longer it is gone and the entry is all the task costs.  A rename
 * reallocates the entry.
 */
typedef struct
{
  guint64   id;           /* first: the id table's key */
  gint64    created;
  gint64    updated;
  guint8    status;
  char      title[];      /* NUL-terminated */
} TaskEntry;

/* A task as a snapshot holds it (a restore's record): its entry, made
 * as the record is read, then moved into the table. */
typedef struct
{
  gpointer       entry;   /* TaskEntry*, owned; NULL once moved */
} TaskRecord;

struct _NetDbTasks
{
  GObject       parent_instance;

  /* The log, fold, replication, entries by id (TaskEntry), notifies,
   * live queries, waits and close: the engine's. */
  NetTable      table;
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

/* Entries and indexes ---------------------------------------------------------- */

/* The engine's entry header comes first. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (TaskEntry, id) == G_STRUCT_OFFSET (NetTableEntry, id));
G_STATIC_ASSERT (G_STRUCT_OFFSET (TaskEntry, created) == G_STRUCT_OFFSET (NetTableEntry, created));
G_STATIC_ASSERT (G_STRUCT_OFFSET (TaskEntry, updated) == G_STRUCT_OFFSET (NetTableEntry, updated));

/* The partition of a task in the engine's ordered indexes: its status. */
static guint
task_partition (gconstpointer entry)
{
  return ((const TaskEntry *) entry)->status;
}

static inline const char *
entry_title (const TaskEntry *e)
{
  return e->title;
}

/* The schema's items (NetTableSchema.item_link, new_item). */
static NetTableItemLink *
tasks_item_link (gpointer item)
{
  return _net_task_get_link (item);
}

static gpointer
tasks_new_item (gpointer      model,
                gconstpointer entry)
{
  const TaskEntry *e = entry;

  return _net_task_new (e->id, e->title, e->status, e->created, e->updated);
}

static void
tasks_update_item (gpointer      item,
                   gconstpointer entry)
{
  const TaskEntry *e = entry;

  _net_task_update (item, e->title, e->status, e->created, e->updated);
}

/* The bytes of an entry with a title of @title_len bytes. */
#define ENTRY_SIZE(title_len) (G_STRUCT_OFFSET (TaskEntry, title) + (title_len) + 1)

/* A new entry (not in any index) holding a copy of @title (@len bytes,
 * no NUL among them), from the table's arena. */
static TaskEntry *
entry_new (NetDbTasks *self,
           guint64     id,
           const char *title,
           gsize       len)
{
  TaskEntry *e = _net_arena_alloc (&self->table.arena, ENTRY_SIZE (len));

  e->id = id;
  memcpy (e->title, title, len);
  e->title[len] = '\0';
  return e;
}

static void
entry_index (NetDbTasks *self,
             TaskEntry  *e,
             guint       key)
{
  _net_table_index_key (&self->table, e, key);
}

static void
entry_unindex (NetDbTasks *self,
               TaskEntry  *e,
               guint       key)
{
  _net_table_unindex_key (&self->table, e, key);
}

static void
entry_free (NetDbTasks *self,
            TaskEntry  *e)
{
  _net_arena_free (&self->table.arena, e, ENTRY_SIZE (strlen (e->title)));
}

static inline TaskEntry *
lookup (NetDbTasks *self,
        guint64     id)
{
  return _net_id_table_lookup (&self->table.by_id, id);
}

/* Frees every entry; the indexes are emptied too. */
static void
clear_entries (NetDbTasks *self)
{
  guint64 pos = 0;
  TaskEntry *e;

  while ((e = _net_id_table_next (&self->table.by_id, &pos)) != NULL)
    _net_arena_free_large (e, ENTRY_SIZE (strlen (e->title)));
  _net_arena_clear (&self->table.arena);
  _net_id_table_clear (&self->table.by_id);
  _net_id_table_init (&self->table.by_id);
  _net_table_clear_indexes (&self->table);
}

/* Applying events ----------------------------------------------------------- */

/* The highest app_seq folded for @origin (tests check it continues). */
guint64
_net_db_tasks_get_origin_app_seq (NetDbTasks *self,
                                  guint64    origin)
{
  return _net_origins_get (&self->table.origins, origin);
}

/* @title: the new title (@title_len bytes), or NULL to keep it. */
static TaskEntry *
task_changed (NetDbTasks    *self,
              TaskEntry     *e,
              const char    *title,
              gsize          title_len,
              NetTaskStatus  status,
              gint64         created,
              gint64         updated)
{
  gboolean renamed = title != NULL &&
                     (strncmp (e->title, title, title_len) != 0 || e->title[title_len] != '\0');
  gboolean moved = renamed || status != e->status;
  gboolean keys_moved[N_KEYS] = {
    moved,
    moved || created != e->created,
    moved || updated != e->updated,
  };

  /* Out of the indexes whose key changes, update, back in. */
  for (guint k = 0; k < N_KEYS; k++)
    if (keys_moved[k])
      entry_unindex (self, e, k);

  /* A new title moves the entry: out of the id table too, and back. */
  if (renamed)
    {
      TaskEntry *old = e;

      _net_id_table_remove (&self->table.by_id, old->id);
      e = entry_new (self, old->id, title, title_len);
      entry_free (self, old);
      _net_id_table_insert (&self->table.by_id, e);
    }
  e->status = status;
  e->created = created;
  e->updated = updated;

  for (guint k = 0; k < N_KEYS; k++)
    if (keys_moved[k])
      entry_index (self, e, k);
  _net_table_entry_changed (&self->table, e);
  return e;
}

/* Takes @e (filled, in no index). */
static void
task_insert_entry (NetDbTasks *self,
                   TaskEntry  *e)
{
  for (guint k = 0; k < N_KEYS; k++)
    entry_index (self, e, k);
  _net_id_table_insert (&self->table.by_id, e);
  _net_table_entry_inserted (&self->table, e);
}

static void
task_insert (NetDbTasks    *self,
             guint64        id,
             const char    *title,
             gsize          title_len,
             NetTaskStatus  status,
             gint64         created,
             gint64         updated)
{
  TaskEntry *e = entry_new (self, id, title, title_len);

  e->status = status;
  e->created = created;
  e->updated = updated;
  task_insert_entry (self, e);
}

static void
task_delete (NetDbTasks *self,
             TaskEntry  *e)
{
  for (guint k = 0; k < N_KEYS; k++)
    entry_unindex (self, e, k);
  _net_id_table_remove (&self->table.by_id, e->id);
  _net_table_forget_item (&self->table, e);
  entry_free (self, e);
}

/* Decodes a task event; FALSE with a %NET_ERROR_CORRUPT error when it is
 * not a well-formed task event.  The title is the payload's bytes
 * (@out_title_len of them, valid UTF-8 without a NUL), or NULL when the
 * event has none. */
static gboolean
tasks_decode (guint64              seq,
              const NetEventMeta  *meta,
              const guint8        *payload,
              gsize                payload_len,
              guint64             *out_id,
              const char         **out_title,
              gsize               *out_title_len,
              gint64              *out_ts,
              GError             **error)
{
  const char *title = NULL;
  gsize title_len = 0;
  NetDecoder dec;
  NetField field;
  guint64 id = 0;
  gboolean has_id = FALSE;
  gint64 ts = 0;
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
          if (field.wire != NET_WIRE_BYTES ||
              !g_utf8_validate_len ((const char *) field.bytes, field.bytes_len, NULL))
            {
              g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                           "event field %u is not valid UTF-8 text", field.field);
              return FALSE;
            }
          title = (const char *) field.bytes;
          title_len = field.bytes_len;
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

  *out_id = id;
  *out_ts = ts;
  *out_title = title;
  *out_title_len = title_len;
  return TRUE;

bad_field:
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "task event %" G_GUINT64_FORMAT ": field %u has the wrong type", seq, field.field);
  return FALSE;
}

static gboolean
tasks_apply (gpointer            model,
             guint64             seq,
             const NetEventMeta *meta,
             const guint8       *payload,
             gsize               payload_len,
             GError            **error)
{
  NetDbTasks *self = model;
  const char *title;
  gsize title_len;
  guint64 id;
  gint64 ts;
  TaskEntry *e;

  if (!tasks_decode (seq, meta, payload, payload_len, &id, &title, &title_len, &ts, error))
    return FALSE;

  e = lookup (self, id);

  switch (meta->dispatch)
    {
    case NET_DISPATCH_TASK_CREATED:
      if (e != NULL)
        task_changed (self, e, title, title_len, NET_TASK_STATUS_PENDING, ts, ts);
      else
        task_insert (self, id, title, title_len, NET_TASK_STATUS_PENDING, ts, ts);
      break;

    case NET_DISPATCH_TASK_RENAMED:
      if (e != NULL)
        task_changed (self, e, title, title_len, e->status, e->created, ts);
      break;

    case NET_DISPATCH_TASK_COMPLETED:
      if (e != NULL)
        task_changed (self, e, NULL, 0, NET_TASK_STATUS_COMPLETED, e->created, ts);
      break;

    case NET_DISPATCH_TASK_DELETED:
      if (e != NULL)
        task_delete (self, e);
      break;

    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

static gboolean
tasks_check (const NetEventMeta  *meta,
             const guint8        *payload,
             gsize                payload_len,
             GError             **error)
{
  const char *title;
  gsize title_len;
  guint64 id;
  gint64 ts;

  return tasks_decode (0, meta, payload, payload_len, &id, &title, &title_len, &ts, error);
}

static gboolean
tasks_restore (gpointer   model,
               GBytes    *snapshot,
               GError   **error)
{
  return net_db_tasks_restore (model, snapshot, error);
}

static gboolean
task_has_pending_notify (gpointer item)
{
  return _net_task_has_pending_notify (item);
}

static void
task_flush_notify (gpointer item)
{
  _net_task_flush_notify (item);
}

static gboolean tasks_count_fast (gpointer           model,
                                  NetFilterBase     *filter,
                                  guint             *n);
static void     tasks_visit      (gpointer           model,
                                  NetFilterBase     *filter,
                                  gboolean           ordered,
                                  guint              skip,
                                  guint              window,
                                  NetTableVisitFunc  func,
                                  gpointer           data);
static void     tasks_foreach_snapshot_entry (gpointer           model,
                                              NetTableEntryFunc  func,
                                              gpointer           data);
static void     tasks_encode_entry (gpointer           entry,
                                    NetEncoder        *enc);
static gboolean tasks_decode_record (const NetField    *field,
                                     gpointer           record,
                                     NetArena          *arena,
                                     GError           **error);
static void     task_record_clear  (gpointer           data);
static void     tasks_replace_entries (gpointer        model,
                                       GArray         *records,
                                       NetArena       *arena);

static void
tasks_free_entry (gpointer model,
                  gpointer entry)
{
  entry_free (model, entry);
}

static const NetTableSchema tasks_schema = {
  .what = TASKS_LOG_NAME,
  .noun = "task",
  .log = NET_DB_LOG_TASKS,
  .create_dispatch = NET_DISPATCH_TASK_CREATED,
  .delete_dispatch = NET_DISPATCH_TASK_DELETED,
  .n_partitions = 2,
  .partition_of = task_partition,
  .apply = tasks_apply,
  .follow = { .check = tasks_check, .restore = tasks_restore },
  .count_fast = tasks_count_fast,
  .visit = tasks_visit,
  .item_link = tasks_item_link,
  .link_offset = sizeof (GObject),   /* asserted in net-task.c */
  .new_item = tasks_new_item,
  .update_item = tasks_update_item,
  .foreach_snapshot_entry = tasks_foreach_snapshot_entry,
  .encode_entry = tasks_encode_entry,
  .record_size = sizeof (TaskRecord),
  .decode_record = tasks_decode_record,
  .record_clear = task_record_clear,
  .replace_entries = tasks_replace_entries,
  .free_entry = tasks_free_entry,
  .has_pending_notify = task_has_pending_notify,
  .flush_notify = task_flush_notify,
};

/* GObject -------------------------------------------------------------------- */

static void
net_db_tasks_dispose (GObject *object)
{
  NetDbTasks *self = (NetDbTasks *) object;

  _net_table_dispose (&self->table);

  G_OBJECT_CLASS (net_db_tasks_parent_class)->dispose (object);
}

static void
net_db_tasks_finalize (GObject *object)
{
  NetDbTasks *self = (NetDbTasks *) object;

  clear_entries (self);
  _net_table_finalize (&self->table);

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
      g_value_set_uint64 (value, self->table.origin);
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
   *
   * When the state is replaced from outside (a database that follows a
   * leader, #NetDb:following, re-bootstraps from the leader's snapshot,
   * or a read-only database restores the checkpoint its writer restarted
   * the log from), the batch is the events the new state moved on by,
   * from the last seq delivered before.  A restore the application makes
   * itself only reports the events folded after the snapshot.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
net_db_tasks_init (NetDbTasks *self)
{
  _net_table_init (&self->table, &tasks_schema, G_OBJECT (self),
                   properties[PROP_APPLIED_SEQ], signals[CHANGED]);
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
  g_autoptr(NetDbTasks) self = g_object_new (NET_TYPE_DB_TASKS, NULL);

  if (!_net_table_open (&self->table, redex, config, origin, error))
    return NULL;

  if (snapshot != NULL)
    {
      if (!net_db_tasks_restore (self, snapshot, error))
        return NULL;
    }
  else if (!_net_table_catch_up (&self->table, error))
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
  NetEncoder enc;
  GByteArray *buf;
  guint8 tmp[256];
  gsize title_len;

  if (!_net_table_check_mutation (&self->table, id, error))
    return 0;
  if (title != NULL && !g_utf8_validate (title, -1, NULL))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "the task title is not valid UTF-8");
      return 0;
    }

  if (timestamp == 0)
    timestamp = g_get_real_time ();

  buf = _net_table_begin_append (&self->table, dispatch, id, error);
  if (buf == NULL)
    return 0;
  title_len = title != NULL ? strlen (title) : 0;
  if (title_len <= sizeof tmp - 4 * NET_FIELD_HEAD_MAX)
    {
      /* Most titles: the payload in one append. */
      gsize n = 0;

      tmp[n++] = NET_CODEC_VERSION;
      n += net_field_put_uint (tmp + n, F_ID, id);
      if (title != NULL)
        {
          n += net_field_put_bytes_head (tmp + n, F_TITLE, title_len);
          memcpy (tmp + n, title, title_len);
          n += title_len;
        }
      if (dispatch != NET_DISPATCH_TASK_DELETED)
        n += net_field_put_int (tmp + n, F_TIMESTAMP, timestamp);
      g_byte_array_append (buf, tmp, n);
    }
  else
    {
      net_encoder_init (&enc, buf);
      net_encoder_put_uint (&enc, F_ID, id);
      net_encoder_put_string (&enc, F_TITLE, title);
      if (dispatch != NET_DISPATCH_TASK_DELETED)
        net_encoder_put_int (&enc, F_TIMESTAMP, timestamp);
    }

  return _net_table_end_append (&self->table, dispatch, id, error);
}

/**
 * net_db_tasks_create:
 * @self: a #NetDbTasks
 * @id: the task id, chosen by the caller (1 or more; 0 is
 *   %NET_ERROR_INVALID_ARGUMENT)
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
 * Renames a task.  An id the state does not hold is
 * %NET_ERROR_NOT_FOUND and logs nothing (checked on the owner thread,
 * where the state is current for the db's own writes).
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
 * Marks a task completed; completing it again only moves updated-at.  An
 * id the state does not hold is %NET_ERROR_NOT_FOUND and logs nothing
 * (checked on the owner thread).
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
 * Deletes a task. Its #NetTask object keeps its last values.  An id the
 * state does not hold is %NET_ERROR_NOT_FOUND and logs nothing (checked
 * on the owner thread).
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

  _net_table_live_prefetch (&self->table, id);
  e = lookup (self, id);
  return e ? _net_table_ref_item (&self->table, e) : NULL;
}

/* Does the title of @e contain @needle (folded)? */
static gboolean
title_contains (TaskEntry  *e,
                const char *needle)
{
  g_autofree char *folded = NULL;
  const char *title;
  char buf[256];
  gsize i;

  /* Plain ASCII folds to lower case (as _net_db_fold_text() does it),
   * here without an allocation. */
  title = e->title;
  for (i = 0; title[i] != '\0' && i < sizeof buf - 1; i++)
    {
      if ((guchar) title[i] >= 0x80)
        break;
      buf[i] = g_ascii_tolower (title[i]);
    }
  if (title[i] == '\0')
    {
      buf[i] = '\0';
      return strstr (buf, needle) != NULL;
    }

  folded = _net_db_fold_text (title);
  return strstr (folded, needle) != NULL;
}

static gboolean
title_matches (gconstpointer entry,
               gconstpointer needle)
{
  return title_contains ((TaskEntry *) entry, needle);
}

/* What a tasks filter asks, as the engine's walk of its ordered indexes:
 * the status is the partition, the title the one check of the tasks' own;
 * @folded_title (NULL: the filter's) is the needle to use. */
static void
query_init (NetDbTasks     *self,
            NetTableWalk   *w,
            NetTasksFilter *filter,
            const char     *folded_title)
{
  _net_table_walk_init (&self->table, w, (NetFilterBase *) filter);
  if (filter == NULL)
    return;
  if (net_tasks_filter_get_status_set (filter))
    w->partitions = 1u << net_tasks_filter_get_status (filter);
  if (folded_title == NULL)
    folded_title = _net_tasks_filter_get_folded_title (filter);
  if (folded_title != NULL)
    {
      w->nothing_else = FALSE;
      w->matches = title_matches;
      w->match_data = folded_title;
    }
}

/* The schema's side of the queries (NetTableSchema). */
static gboolean
tasks_count_fast (gpointer       model,
                  NetFilterBase *filter,
                  guint         *n)
{
  NetTableWalk w;

  query_init (model, &w, (NetTasksFilter *) filter, NULL);
  return _net_table_walk_count_fast (&((NetDbTasks *) model)->table, &w, n);
}

static void
tasks_visit (gpointer           model,
             NetFilterBase     *filter,
             gboolean           ordered,
             guint              skip,
             guint              window,
             NetTableVisitFunc  func,
             gpointer           data)
{
  NetTableWalk w;

  /* Always in order: the indexes keep every order, at no extra cost. */
  query_init (model, &w, (NetTasksFilter *) filter, NULL);
  _net_table_walk (&((NetDbTasks *) model)->table, &w, skip, func, data);
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
  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  return _net_table_find_many (&self->table, (NetFilterBase *) filter);
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
  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  return _net_table_find_first (&self->table, (NetFilterBase *) filter);
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
  g_return_val_if_fail (NET_IS_DB_TASKS (self), 0);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), 0);

  return _net_table_count (&self->table, (NetFilterBase *) filter);
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
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), FALSE);

  return _net_table_exists (&self->table, (NetFilterBase *) filter);
}

/* Live queries ----------------------------------------------------------------- */

typedef struct
{
  NetDbTasks   *self;
  NetTableWalk  w;
  char         *folded_title;   /* a copy: the filter may change under us */
} Matcher;

static gpointer
watch_matcher_new (GObject  *source,
                   GObject  *filter,
                   gboolean *desc)
{
  Matcher *m = g_new0 (Matcher, 1);

  m->self = (NetDbTasks *) source;
  m->folded_title = g_strdup (_net_tasks_filter_get_folded_title ((NetTasksFilter *) filter));
  query_init (m->self, &m->w, (NetTasksFilter *) filter, m->folded_title);
  *desc = m->w.desc;
  return m;
}

static void
watch_matcher_free (gpointer data)
{
  Matcher *m = data;

  g_free (m->folded_title);
  g_free (m);
}

static gboolean
watch_match (GObject  *source,
             gpointer  matcher,
             guint64   id,
             guint64  *key)
{
  Matcher *m = matcher;
  TaskEntry *e = lookup ((NetDbTasks *) source, id);

  if (e == NULL || !_net_table_walk_matches (&m->self->table, &m->w, e))
    return FALSE;
  *key = _net_table_walk_key (&m->w, e);
  return TRUE;
}

typedef struct
{
  const NetTableWalk *w;
  void              (*func) (guint64, guint64, gpointer);
  gpointer            data;
} WatchVisit;

static gboolean
watch_visit_cb (gpointer thing,
                gpointer data)
{
  WatchVisit *v = data;
  TaskEntry *e = thing;

  v->func (e->id, _net_table_walk_key (v->w, e), v->data);
  return TRUE;
}

static void
watch_foreach_match (GObject  *source,
                     gpointer  matcher,
                     void    (*func) (guint64, guint64, gpointer),
                     gpointer  data)
{
  Matcher *m = matcher;
  WatchVisit v = { &m->w, func, data };

  _net_table_walk (&m->self->table, &m->w, 0, watch_visit_cb, &v);
}

static const NetQueryFuncs tasks_query_funcs = {
  .item_type = net_task_get_type,
  .filter_type = net_tasks_filter_get_type,
  .matcher_new = watch_matcher_new,
  .matcher_free = watch_matcher_free,
  .match = watch_match,
  .foreach_match = watch_foreach_match,
  .get_item = _net_table_watch_get_item,
  .get_window = _net_table_watch_get_window,
};

/**
 * net_db_tasks_watch:
 * @self: a #NetDbTasks
 * @filter: (nullable): a #NetTasksFilter, or %NULL for every task by id
 *
 * Makes a live query: a #GListModel of #NetTask whose contents equal
 * net_db_tasks_find_many() of @filter as of its #NetQueryModel:seq,
 * updated from the fold's dispatch with minimal
 * #GListModel::items-changed emissions.  Over a large table the model
 * fills in steps from an idle source: it holds only part of that
 * until #NetQueryModel:pending is 0 (see #NetQueryModel:incremental).
 * Dropping the last reference to it disconnects it.
 *
 * Returns: (transfer full): a new #NetQueryModel
 */
NetQueryModel *
net_db_tasks_watch (NetDbTasks     *self,
                    NetTasksFilter *filter)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  return _net_table_watch (&self->table, &tasks_query_funcs, (NetFilterBase *) filter);
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

  return _net_table_get_applied_seq (&self->table);
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

  return _net_table_get_fold_errors (&self->table);
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

  return self->table.origin;
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
 * folded and its changes delivered.  Cancelling @cancellable answers
 * %G_IO_ERROR_CANCELLED at once (also when it is already cancelled).
 * After close, a seq the state already holds succeeds and a later one
 * fails with %NET_ERROR_CLOSED.
 */
void
net_db_tasks_wait_for_seq_async (NetDbTasks          *self,
                                 guint64              seq,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (NET_IS_DB_TASKS (self));

  _net_table_wait_for_seq_async (&self->table, seq, cancellable, callback, user_data,
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
 * Returns: %TRUE once folded (after close: when the state already
 *   holds @seq); %FALSE with %NET_ERROR_TIMEOUT after @timeout_ms,
 *   %NET_ERROR_CLOSED, or another error
 */
gboolean
net_db_tasks_wait_for_seq (NetDbTasks  *self,
                           guint64      seq,
                           guint        timeout_ms,
                           GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_wait_for_seq (&self->table, seq, timeout_ms, error);
}

/* Snapshots ------------------------------------------------------------------ */

/* The schema's side of snapshots: pending tasks by id, then completed
 * ones (the order of the format). */
static void
tasks_foreach_snapshot_entry (gpointer           model,
                              NetTableEntryFunc  func,
                              gpointer           data)
{
  NetDbTasks *self = model;

  for (guint st = 0; st < 2; st++)
    {
      NetBTreeIter it;

      for (gboolean ok = _net_btree_iter_first (self->table.order[st][KEY_ID], &it); ok;
           ok = _net_btree_iter_next (&it))
        func (_net_btree_iter_value (&it), data);
    }
}

static void
tasks_encode_entry (gpointer    entry,
                    NetEncoder *enc)
{
  TaskEntry *e = entry;

  net_encoder_put_uint (enc, 1, e->id);
  net_encoder_put_string (enc, 2, entry_title (e));
  net_encoder_put_uint (enc, 3, e->status);
  net_encoder_put_int (enc, 4, e->created);
  net_encoder_put_int (enc, 5, e->updated);
}

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
  g_return_val_if_fail (NET_IS_DB_TASKS (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _net_table_snapshot (&self->table);
}

static gboolean
snapshot_invalid (GError     **error,
                  const char  *detail)
{
  return _net_snapshot_invalid (error, "tasks", detail);
}

/* The entries of the records are the restore's arena's, but for a large
 * one. */
static void
task_record_clear (gpointer data)
{
  TaskEntry *e = ((TaskRecord *) data)->entry;

  if (e != NULL)
    _net_arena_free_large (e, ENTRY_SIZE (strlen (e->title)));
}

/* The entry of a restored task, made straight from its record's bytes. */
static TaskEntry *
entry_new_restored (NetArena   *arena,
                    guint64     id,
                    const char *title,
                    gsize       title_len,
                    guint8      status,
                    gint64      created,
                    gint64      updated)
{
  TaskEntry *e = _net_arena_alloc (arena, ENTRY_SIZE (title_len));

  e->id = id;
  e->status = status;
  e->created = created;
  e->updated = updated;
  memcpy (e->title, title, title_len);
  e->title[title_len] = '\0';
  return e;
}

/* The record as tasks_encode_entry() writes it, read in that order with
 * no field loop: its five fields once each, in order, with their wire
 * types, nothing after them.  Anything else (an older or newer writer, a
 * field twice, a long varint, a bad title or status) returns FALSE
 * having made nothing, and decode_task_fields() decides: what this
 * accepts, that would read the same, so both give one result. */
static gboolean
decode_task_fast (const guint8 *p,
                  gsize         len,
                  TaskRecord   *out,
                  NetArena     *arena)
{
  const guint8 *end = p + len;
  guint64 id, title_len, status, created, updated;
  const guint8 *title;

  if (len < 1 || *p++ != NET_CODEC_VERSION)
    return FALSE;

  if (p == end || *p++ != (1 << 3 | NET_WIRE_VARINT) ||
      !net_leb128_get_short (&p, end, &id))
    return FALSE;

  if (p == end || *p++ != (2 << 3 | NET_WIRE_BYTES) ||
      !net_leb128_get_short (&p, end, &title_len) ||
      title_len > (guint64) (end - p))
    return FALSE;
  title = p;
  p += title_len;

  if (p == end || *p++ != (3 << 3 | NET_WIRE_VARINT) ||
      !net_leb128_get_short (&p, end, &status) ||
      status > NET_TASK_STATUS_COMPLETED)
    return FALSE;

  if (p == end || *p++ != (4 << 3 | NET_WIRE_SVARINT) ||
      !net_leb128_get_short (&p, end, &created))
    return FALSE;

  if (p == end || *p++ != (5 << 3 | NET_WIRE_SVARINT) ||
      !net_leb128_get_short (&p, end, &updated) ||
      p != end)
    return FALSE;

  if (!net_text_is_valid (title, title_len))
    return FALSE;

  out->entry = entry_new_restored (arena, id, (const char *) title, title_len, status,
                                   net_zigzag_decode (created), net_zigzag_decode (updated));
  return TRUE;
}

/* Any record, field by field: a field may come in any order or twice (the
 * last one counts), unknown ones are skipped. */
static gboolean
decode_task_fields (const NetField  *outer,
                    TaskRecord      *out,
                    NetArena        *arena,
                    GError         **error)
{
  const char *title = NULL;
  gsize title_len = 0;
  guint64 id = 0, status = 0;
  gint64 created = 0, updated = 0;
  gboolean has_id = FALSE;
  NetDecoder dec;
  NetField f;
  int r;

  if (!net_decoder_init (&dec, outer->bytes, outer->bytes_len, NULL))
    return snapshot_invalid (error, "bad task record");

  while ((r = net_decoder_next (&dec, &f, NULL)) > 0)
    {
      switch (f.field)
        {
        case 1: id = f.uint_value; has_id = f.wire == NET_WIRE_VARINT; break;
        case 2:
          /* Valid UTF-8 without NUL (as net_field_dup_utf8() checks it),
           * copied once, into the entry. */
          if (f.wire == NET_WIRE_BYTES && net_text_is_valid (f.bytes, f.bytes_len))
            {
              title = (const char *) f.bytes;
              title_len = f.bytes_len;
            }
          else
            title = NULL;
          break;
        case 3: status = f.uint_value; break;
        case 4: created = f.int_value; break;
        case 5: updated = f.int_value; break;
        default: break;
        }
    }

  if (r < 0 || !has_id || title == NULL || status > NET_TASK_STATUS_COMPLETED)
    return snapshot_invalid (error, "bad task record");

  out->entry = entry_new_restored (arena, id, title, title_len, status, created, updated);
  return TRUE;
}

static gboolean
decode_task (const NetField  *outer,
             TaskRecord      *out,
             NetArena        *arena,
             GError         **error)
{
  if (outer->wire != NET_WIRE_BYTES)
    return snapshot_invalid (error, "bad task record");

  return decode_task_fast (outer->bytes, outer->bytes_len, out, arena) ||
         decode_task_fields (outer, out, arena, error);
}

static gboolean
tasks_decode_record (const NetField  *field,
                     gpointer         record,
                     NetArena        *arena,
                     GError         **error)
{
  return decode_task (field, record, arena, error);
}

/* The schema's side of a restore (the items that exist carry on). */
static void
tasks_replace_entries (gpointer  model,
                       GArray   *records,
                       NetArena *arena)
{
  NetDbTasks *self = model;
  g_autofree gpointer *entries = g_new (gpointer, MAX (records->len, 1));

  clear_entries (self);
  _net_arena_move (&self->table.arena, arena);
  for (guint i = 0; i < records->len; i++)
    entries[i] = g_steal_pointer (&g_array_index (records, TaskRecord, i).entry);
  _net_table_insert_restored (&self->table, entries, records->len);
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
 * The state is queryable as soon as this returns.  The #NetTask objects of
 * ids the snapshot holds carry on and change in place; the others keep
 * their last values.  Their notifies and #NetDbTasks:applied-seq follow
 * from the next dispatch of the fold, with #NetDbTasks::changed when
 * events after the snapshot were folded.
 *
 * Returns: %TRUE on success; %FALSE with @error set, %NET_ERROR_READ_ONLY
 *   while the database follows a leader (#NetDb:following)
 */
gboolean
net_db_tasks_restore (NetDbTasks  *self,
                      GBytes      *snapshot,
                      GError     **error)
{
  g_return_val_if_fail (NET_IS_DB_TASKS (self), FALSE);
  g_return_val_if_fail (snapshot != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_table_restore (&self->table, snapshot, error);
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

  return _net_table_close (&self->table, error);
}

/* Replication ----------------------------------------------------------------- */

NetFollow *
_net_db_tasks_get_follow (NetDbTasks *self)
{
  return &self->table.follow;
}

NetTable *
_net_db_tasks_get_table (NetDbTasks *self)
{
  return &self->table;
}
