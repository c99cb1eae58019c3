/* net-tasks-filter.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-enum-types.h"
#include "net-filter-base-private.h"

/**
 * SECTION:net-tasks-filter
 * @title: NetTasksFilter
 * @short_description: which tasks a query returns, and in what order
 *
 * A #NetTasksFilter selects tasks by status, title and time, orders them
 * and cuts a window (@offset, @limit) out of the result.  A new filter
 * selects everything, by id ascending.  Every constraint is a property, so
 * filters can be written inline in every language:
 *
 * |[<!-- language="Python" -->
 * f = Net.TasksFilter(status=Net.TaskStatus.PENDING,
 *                     title_contains="report", limit=50)
 * ]|
 *
 * Setting #NetTasksFilter:status also sets #NetTasksFilter:status-set, as
 * GtkTextTag does for its attributes; net_tasks_filter_unset_status()
 * clears it again.
 *
 * The order, window and time bounds are those of #NetFilterBase, its
 * parent: inclusive, and a lower bound of 0 and an upper bound of
 * %G_MAXINT64 (the defaults) do not constrain.
 *
 * A filter emits #GObject::notify for every property that really changes,
 * so a live query can follow it (search as you type).
 */

/**
 * NetTasksFilter:
 *
 * The selection, order and window of a tasks query.
 */

/* The order, window, time bounds and search text (title-contains) are
 * the base's (NetFilterBase). */
struct _NetTasksFilter
{
  NetFilterBase  parent_instance;

  NetTaskStatus  status;
  guint          status_set : 1;
};

G_DEFINE_FINAL_TYPE (NetTasksFilter, net_tasks_filter, NET_TYPE_FILTER_BASE)

#define BASE(f) ((NetFilterBase *) (f))

enum {
  PROP_0,
  PROP_STATUS,
  PROP_STATUS_SET,
  PROP_TITLE_CONTAINS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
net_tasks_filter_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  NetTasksFilter *self = NET_TASKS_FILTER (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case PROP_STATUS_SET:
      g_value_set_boolean (value, self->status_set);
      break;
    case PROP_TITLE_CONTAINS:
      g_value_set_string (value, _net_filter_base_get_search (BASE (self)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_tasks_filter_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  NetTasksFilter *self = NET_TASKS_FILTER (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      net_tasks_filter_set_status (self, g_value_get_enum (value));
      break;
    case PROP_STATUS_SET:
      if (g_value_get_boolean (value))
        net_tasks_filter_set_status (self, self->status);
      else
        net_tasks_filter_unset_status (self);
      break;
    case PROP_TITLE_CONTAINS:
      net_tasks_filter_set_title_contains (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_tasks_filter_class_init (NetTasksFilterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = net_tasks_filter_get_property;
  object_class->set_property = net_tasks_filter_set_property;

  /* None of the properties is G_PARAM_CONSTRUCT: construction would then
   * set #NetTasksFilter:status to its default and, with it, status-set.
   * Any of them can still be given to g_object_new(). */

  /**
   * NetTasksFilter:status:
   *
   * Only tasks with this status match, if #NetTasksFilter:status-set is
   * %TRUE.  Setting it sets #NetTasksFilter:status-set.
   */
  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       NET_TYPE_TASK_STATUS, NET_TASK_STATUS_PENDING,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:status-set:
   *
   * Whether #NetTasksFilter:status constrains the result.
   */
  properties[PROP_STATUS_SET] =
    g_param_spec_boolean ("status-set", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:title-contains:
   *
   * Only tasks whose title contains this text match, compared without
   * regard to case or Unicode normalization ("ÉCOLE" finds "école").
   * %NULL or empty does not constrain.
   */
  properties[PROP_TITLE_CONTAINS] =
    g_param_spec_string ("title-contains", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_tasks_filter_init (NetTasksFilter *self)
{
  self->status = NET_TASK_STATUS_PENDING;
}

const char *
_net_tasks_filter_get_folded_title (NetTasksFilter *filter)
{
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  return _net_filter_base_get_folded_search (BASE (filter));
}

gboolean
_net_tasks_filter_same_selection (NetTasksFilter *a,
                                  NetTasksFilter *b)
{
  g_autoptr(NetTasksFilter) all = NULL;

  g_return_val_if_fail (a == NULL || NET_IS_TASKS_FILTER (a), FALSE);
  g_return_val_if_fail (b == NULL || NET_IS_TASKS_FILTER (b), FALSE);

  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    {
      all = net_tasks_filter_new ();
      if (a == NULL)
        a = all;
      else
        b = all;
    }

  return a->status_set == b->status_set &&
         (!a->status_set || a->status == b->status) &&
         _net_filter_base_same_selection (BASE (a), BASE (b));
}

void
_net_tasks_filter_get_window (NetTasksFilter *filter,
                              NetOrderBy     *order_by,
                              guint          *offset,
                              guint          *limit)
{
  g_return_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter));

  _net_filter_base_get_window (BASE (filter), order_by, offset, limit);
}

/**
 * net_tasks_filter_new:
 *
 * Creates a filter that selects every task, ordered by id ascending.
 *
 * Returns: (transfer full): a new #NetTasksFilter
 */
NetTasksFilter *
net_tasks_filter_new (void)
{
  return g_object_new (NET_TYPE_TASKS_FILTER, NULL);
}

/**
 * net_tasks_filter_copy:
 * @self: a #NetTasksFilter
 *
 * Copies @self, so that a query can keep a filter that its caller goes on
 * changing.
 *
 * Returns: (transfer full): a new #NetTasksFilter with the same values
 */
NetTasksFilter *
net_tasks_filter_copy (NetTasksFilter *self)
{
  NetTasksFilter *copy;

  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), NULL);

  copy = net_tasks_filter_new ();
  _net_filter_base_copy_into (BASE (self), BASE (copy));
  copy->status = self->status;
  copy->status_set = self->status_set;

  return copy;
}

/**
 * net_tasks_filter_equal:
 * @self: a #NetTasksFilter
 * @other: another #NetTasksFilter
 *
 * Checks whether two filters make the same query: they select the same
 * tasks, in the same order and window.  The status of a filter whose
 * #NetTasksFilter:status-set is %FALSE is not compared, and a %NULL
 * #NetTasksFilter:title-contains equals an empty one.
 *
 * Returns: %TRUE if @self and @other are equivalent
 */
gboolean
net_tasks_filter_equal (NetTasksFilter *self,
                        NetTasksFilter *other)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), FALSE);
  g_return_val_if_fail (NET_IS_TASKS_FILTER (other), FALSE);

  return _net_tasks_filter_same_selection (self, other) &&
         _net_filter_base_same_window (BASE (self), BASE (other));
}

/**
 * net_tasks_filter_get_status:
 * @self: a #NetTasksFilter
 *
 * Gets the status that matching tasks must have, when
 * net_tasks_filter_get_status_set() is %TRUE.
 *
 * Returns: the #NetTaskStatus
 */
NetTaskStatus
net_tasks_filter_get_status (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), NET_TASK_STATUS_PENDING);

  return self->status;
}

/**
 * net_tasks_filter_set_status:
 * @self: a #NetTasksFilter
 * @status: a #NetTaskStatus
 *
 * Makes the filter select only tasks with @status, and sets
 * #NetTasksFilter:status-set.
 */
void
net_tasks_filter_set_status (NetTasksFilter *self,
                             NetTaskStatus   status)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));
  g_return_if_fail (status <= NET_TASK_STATUS_COMPLETED);

  g_object_freeze_notify (G_OBJECT (self));
  if (self->status != status)
    {
      self->status = status;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
    }
  if (!self->status_set)
    {
      self->status_set = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_SET]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/**
 * net_tasks_filter_get_status_set:
 * @self: a #NetTasksFilter
 *
 * Gets whether the filter selects tasks by status.
 *
 * Returns: %TRUE if #NetTasksFilter:status constrains the result
 */
gboolean
net_tasks_filter_get_status_set (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), FALSE);

  return self->status_set;
}

/**
 * net_tasks_filter_unset_status:
 * @self: a #NetTasksFilter
 *
 * Makes the filter select tasks of any status again.
 */
void
net_tasks_filter_unset_status (NetTasksFilter *self)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  if (self->status_set)
    {
      self->status_set = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_SET]);
    }
}

/**
 * net_tasks_filter_get_title_contains:
 * @self: a #NetTasksFilter
 *
 * Gets the text that the titles of matching tasks must contain.
 *
 * Returns: (transfer none) (nullable): the text, or %NULL
 */
const char *
net_tasks_filter_get_title_contains (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), NULL);

  return _net_filter_base_get_search (BASE (self));
}

/**
 * net_tasks_filter_set_title_contains:
 * @self: a #NetTasksFilter
 * @needle: (nullable): the text to search for, or %NULL
 *
 * Makes the filter select only tasks whose title contains @needle,
 * compared without regard to case or Unicode normalization.  %NULL or an
 * empty string selects tasks with any title.
 */
void
net_tasks_filter_set_title_contains (NetTasksFilter *self,
                                     const char     *needle)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  if (_net_filter_base_set_search (BASE (self), needle))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE_CONTAINS]);
}

/**
 * net_tasks_filter_get_created_after:
 * @self: a #NetTasksFilter
 *
 * Gets the inclusive lower bound of the creation time.
 *
 * Returns: microseconds since the Unix epoch, or 0 for no bound
 */
gint64
net_tasks_filter_get_created_after (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), 0);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_CREATED_AFTER);
}

/**
 * net_tasks_filter_set_created_after:
 * @self: a #NetTasksFilter
 * @created_after: microseconds since the Unix epoch, or 0 for no bound
 *
 * Makes the filter select only tasks created at or after @created_after.
 */
void
net_tasks_filter_set_created_after (NetTasksFilter *self,
                                    gint64          created_after)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_CREATED_AFTER, created_after);
}

/**
 * net_tasks_filter_get_created_before:
 * @self: a #NetTasksFilter
 *
 * Gets the inclusive upper bound of the creation time.
 *
 * Returns: microseconds since the Unix epoch, or %G_MAXINT64 for no bound
 */
gint64
net_tasks_filter_get_created_before (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), G_MAXINT64);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_CREATED_BEFORE);
}

/**
 * net_tasks_filter_set_created_before:
 * @self: a #NetTasksFilter
 * @created_before: microseconds since the Unix epoch, or %G_MAXINT64 for no
 *   bound
 *
 * Makes the filter select only tasks created at or before @created_before.
 */
void
net_tasks_filter_set_created_before (NetTasksFilter *self,
                                     gint64          created_before)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_CREATED_BEFORE, created_before);
}

/**
 * net_tasks_filter_get_updated_after:
 * @self: a #NetTasksFilter
 *
 * Gets the inclusive lower bound of the modification time.
 *
 * Returns: microseconds since the Unix epoch, or 0 for no bound
 */
gint64
net_tasks_filter_get_updated_after (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), 0);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_UPDATED_AFTER);
}

/**
 * net_tasks_filter_set_updated_after:
 * @self: a #NetTasksFilter
 * @updated_after: microseconds since the Unix epoch, or 0 for no bound
 *
 * Makes the filter select only tasks last changed at or after
 * @updated_after.
 */
void
net_tasks_filter_set_updated_after (NetTasksFilter *self,
                                    gint64          updated_after)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_UPDATED_AFTER, updated_after);
}

/**
 * net_tasks_filter_get_updated_before:
 * @self: a #NetTasksFilter
 *
 * Gets the inclusive upper bound of the modification time.
 *
 * Returns: microseconds since the Unix epoch, or %G_MAXINT64 for no bound
 */
gint64
net_tasks_filter_get_updated_before (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), G_MAXINT64);

  return _net_filter_base_get_time_bound (BASE (self), NET_FILTER_UPDATED_BEFORE);
}

/**
 * net_tasks_filter_set_updated_before:
 * @self: a #NetTasksFilter
 * @updated_before: microseconds since the Unix epoch, or %G_MAXINT64 for no
 *   bound
 *
 * Makes the filter select only tasks last changed at or before
 * @updated_before.
 */
void
net_tasks_filter_set_updated_before (NetTasksFilter *self,
                                     gint64          updated_before)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_time_bound (BASE (self), NET_FILTER_UPDATED_BEFORE, updated_before);
}

/**
 * net_tasks_filter_get_order_by:
 * @self: a #NetTasksFilter
 *
 * Gets the order of the result.
 *
 * Returns: the #NetOrderBy
 */
NetOrderBy
net_tasks_filter_get_order_by (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), NET_ORDER_BY_ID_ASC);

  return _net_filter_base_get_order_by (BASE (self));
}

/**
 * net_tasks_filter_set_order_by:
 * @self: a #NetTasksFilter
 * @order_by: a #NetOrderBy
 *
 * Sets the order of the result.
 */
void
net_tasks_filter_set_order_by (NetTasksFilter *self,
                               NetOrderBy      order_by)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));
  g_return_if_fail (order_by <= NET_ORDER_BY_UPDATED_DESC);

  _net_filter_base_set_order_by (BASE (self), order_by);
}

/**
 * net_tasks_filter_get_limit:
 * @self: a #NetTasksFilter
 *
 * Gets the largest number of tasks a query returns.
 *
 * Returns: the limit, or 0 for none
 */
guint
net_tasks_filter_get_limit (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), 0);

  return _net_filter_base_get_limit (BASE (self));
}

/**
 * net_tasks_filter_set_limit:
 * @self: a #NetTasksFilter
 * @limit: the largest number of tasks, or 0 for no limit
 *
 * Sets the largest number of tasks a query returns.  Counting queries
 * ignore it.
 */
void
net_tasks_filter_set_limit (NetTasksFilter *self,
                            guint           limit)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_limit (BASE (self), limit);
}

/**
 * net_tasks_filter_get_offset:
 * @self: a #NetTasksFilter
 *
 * Gets how many ordered matches a query skips.
 *
 * Returns: the offset
 */
guint
net_tasks_filter_get_offset (NetTasksFilter *self)
{
  g_return_val_if_fail (NET_IS_TASKS_FILTER (self), 0);

  return _net_filter_base_get_offset (BASE (self));
}

/**
 * net_tasks_filter_set_offset:
 * @self: a #NetTasksFilter
 * @offset: the number of ordered matches to skip
 *
 * Sets how many ordered matches a query skips before the first one it
 * returns.  Counting queries ignore it.
 */
void
net_tasks_filter_set_offset (NetTasksFilter *self,
                             guint           offset)
{
  g_return_if_fail (NET_IS_TASKS_FILTER (self));

  _net_filter_base_set_offset (BASE (self), offset);
}
