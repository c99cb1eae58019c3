/* net-task.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-db-items-private.h"
#include "net-enum-types.h"

/**
 * SECTION:net-task
 * @title: NetTask
 * @short_description: one task of a #NetDbTasks model
 *
 * A #NetTask is a live view of one task.  There is at most one #NetTask
 * object per task id while anyone holds it, and every query returns that
 * object (the model made it for the first query that returned the task,
 * keeps it until its main context is idle, and makes a new one after the
 * last reference is gone).  When the task is renamed or completed, its properties change
 * and #GObject::notify is emitted on the thread-default main context of
 * the model that owns it, from a dispatch of that model's fold (never from
 * inside the call that made the change).  A deleted task keeps its last
 * values.
 *
 * All properties are read-only: tasks are changed through the model.
 */

/**
 * NetTask:
 *
 * One task: a live object, changed in place by the model that owns it.
 */

struct _NetTask
{
  GObject        parent_instance;

  /* Its model's registry of items (net-table-private.h).  Next to the
   * reference count: a query that returns an existing task reads both
   * and nothing else of it. */
  NetTableItemLink link;

  char          *title;
  char          *folded_title;   /* lazily, NULL until asked for */
  gint64         created_at;
  gint64         updated_at;
  NetTaskStatus  status;

  /* Bit (1 << PROP_x) for every property changed since the last flush. */
  guint          pending_notify;
};

G_DEFINE_FINAL_TYPE (NetTask, net_task, G_TYPE_OBJECT)

/* The tasks model finds the link right after the GObject (its schema's
 * link_offset, in net-db-tasks.c). */
G_STATIC_ASSERT (G_STRUCT_OFFSET (NetTask, link) == sizeof (GObject));

enum {
  PROP_0,
  PROP_ID,
  PROP_TITLE,
  PROP_STATUS,
  PROP_CREATED_AT,
  PROP_UPDATED_AT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_STATIC_ASSERT (N_PROPS <= 32);

char *
_net_db_fold_text (const char *text)
{
  g_autofree char *valid = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *folded = NULL;
  const char *p;

  g_return_val_if_fail (text != NULL, NULL);

  /* Plain ASCII is stable under NFKC and folds to lower case: the common
   * case costs one pass and one allocation. */
  for (p = text; *p != '\0'; p++)
    {
      if ((guchar) *p >= 0x80)
        break;
    }
  if (*p == '\0')
    return g_ascii_strdown (text, -1);

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);

  /* NFKC (G_NORMALIZE_ALL_COMPOSE; plain G_NORMALIZE_ALL is NFKD) first,
   * so compatibility forms and decomposed accents fold like their
   * canonical forms; again after case folding, which can leave a string
   * that is not normalized.  Composed, not decomposed: with NFKD "cafe"
   * would find "café" but not "cafés". */
  normalized = g_utf8_normalize (text, -1, G_NORMALIZE_ALL_COMPOSE);
  folded = g_utf8_casefold (normalized, -1);
  return g_utf8_normalize (folded, -1, G_NORMALIZE_ALL_COMPOSE);
}

static void
net_task_dispose (GObject *object)
{
  NetTask *self = (NetTask *) object;
  _net_table_item_link_release (&self->link);

  G_OBJECT_CLASS (net_task_parent_class)->dispose (object);
}

NetTableItemLink *
_net_task_get_link (NetTask *self)
{
  return &self->link;
}

static void
net_task_finalize (GObject *object)
{
  NetTask *self = (NetTask *) object;

  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->folded_title, g_free);

  G_OBJECT_CLASS (net_task_parent_class)->finalize (object);
}

static void
net_task_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  NetTask *self = NET_TASK (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_uint64 (value, net_task_get_id (self));
      break;
    case PROP_TITLE:
      g_value_set_string (value, net_task_get_title (self));
      break;
    case PROP_STATUS:
      g_value_set_enum (value, net_task_get_status (self));
      break;
    case PROP_CREATED_AT:
      g_value_set_int64 (value, net_task_get_created_at (self));
      break;
    case PROP_UPDATED_AT:
      g_value_set_int64 (value, net_task_get_updated_at (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_task_class_init (NetTaskClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_task_dispose;
  object_class->finalize = net_task_finalize;
  object_class->get_property = net_task_get_property;

  /**
   * NetTask:id:
   *
   * The id of the task, chosen by whoever created it.
   */
  properties[PROP_ID] =
    g_param_spec_uint64 ("id", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTask:title:
   *
   * The title of the task, valid UTF-8.
   */
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL,
                         "",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTask:status:
   *
   * Whether the task is pending or completed.
   */
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       NET_TYPE_TASK_STATUS, NET_TASK_STATUS_PENDING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTask:created-at:
   *
   * When the task was created, in microseconds since the Unix epoch.
   */
  properties[PROP_CREATED_AT] =
    g_param_spec_int64 ("created-at", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTask:updated-at:
   *
   * When the task last changed, in microseconds since the Unix epoch.
   */
  properties[PROP_UPDATED_AT] =
    g_param_spec_int64 ("updated-at", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_task_init (NetTask *self)
{
  self->status = NET_TASK_STATUS_PENDING;
}

NetTask *
_net_task_new (guint64        id,
               const char    *title,
               NetTaskStatus  status,
               gint64         created_at,
               gint64         updated_at)
{
  NetTask *self;

  g_return_val_if_fail (title != NULL, NULL);
  g_return_val_if_fail (status <= NET_TASK_STATUS_COMPLETED, NULL);

  self = g_object_new (NET_TYPE_TASK, NULL);
  self->link.id = id;
  self->title = g_strdup (title);
  self->status = status;
  self->created_at = created_at;
  self->updated_at = updated_at;

  return self;
}

void
_net_task_update (NetTask       *self,
                  const char    *title,
                  NetTaskStatus  status,
                  gint64         created_at,
                  gint64         updated_at)
{
  g_return_if_fail (NET_IS_TASK (self));
  g_return_if_fail (title != NULL);
  g_return_if_fail (status <= NET_TASK_STATUS_COMPLETED);

  if (g_strcmp0 (self->title, title) != 0)
    {
      g_free (self->title);
      self->title = g_strdup (title);
      g_clear_pointer (&self->folded_title, g_free);
      self->pending_notify |= 1u << PROP_TITLE;
    }
  if (self->status != status)
    {
      self->status = status;
      self->pending_notify |= 1u << PROP_STATUS;
    }
  if (self->created_at != created_at)
    {
      self->created_at = created_at;
      self->pending_notify |= 1u << PROP_CREATED_AT;
    }
  if (self->updated_at != updated_at)
    {
      self->updated_at = updated_at;
      self->pending_notify |= 1u << PROP_UPDATED_AT;
    }
}

gboolean
_net_task_has_pending_notify (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), FALSE);

  return self->pending_notify != 0;
}

void
_net_task_flush_notify (NetTask *self)
{
  guint pending;

  g_return_if_fail (NET_IS_TASK (self));

  /* Cleared first: a handler may update the task again and queue another
   * flush. */
  pending = self->pending_notify;
  self->pending_notify = 0;
  if (pending == 0)
    return;

  g_object_ref (self);
  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = PROP_0 + 1; i < N_PROPS; i++)
    {
      if (pending & (1u << i))
        g_object_notify_by_pspec (G_OBJECT (self), properties[i]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  g_object_unref (self);
}

const char *
_net_task_get_folded_title (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), NULL);

  if (self->folded_title == NULL)
    self->folded_title = _net_db_fold_text (net_task_get_title (self));

  return self->folded_title;
}

int
_net_task_compare (NetOrderBy  order,
                   NetTask    *a,
                   NetTask    *b)
{
  /* Hot path of sorting: no type checks. */
  g_assert (a != NULL);
  g_assert (b != NULL);

  return _net_db_order_compare (order,
                                a->link.id, a->created_at, a->updated_at,
                                b->link.id, b->created_at, b->updated_at);
}

/**
 * net_task_get_id:
 * @self: a #NetTask
 *
 * Gets the id of the task.
 *
 * Returns: the id
 */
guint64
net_task_get_id (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), 0);

  return self->link.id;
}

/**
 * net_task_get_title:
 * @self: a #NetTask
 *
 * Gets the title of the task.
 *
 * Returns: (transfer none): the title; it is freed when the task is renamed
 *   (copy it to keep it)
 */
const char *
net_task_get_title (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), NULL);

  return self->title != NULL ? self->title : "";
}

/**
 * net_task_get_status:
 * @self: a #NetTask
 *
 * Gets whether the task is pending or completed.
 *
 * Returns: the #NetTaskStatus
 */
NetTaskStatus
net_task_get_status (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), NET_TASK_STATUS_PENDING);

  return self->status;
}

/**
 * net_task_get_created_at:
 * @self: a #NetTask
 *
 * Gets when the task was created.
 *
 * Returns: microseconds since the Unix epoch
 */
gint64
net_task_get_created_at (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), 0);

  return self->created_at;
}

/**
 * net_task_get_updated_at:
 * @self: a #NetTask
 *
 * Gets when the task last changed.
 *
 * Returns: microseconds since the Unix epoch
 */
gint64
net_task_get_updated_at (NetTask *self)
{
  g_return_val_if_fail (NET_IS_TASK (self), 0);

  return self->updated_at;
}
