/* net-tasks-filter.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-enum-types.h"

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
 * The time bounds are inclusive.  A lower bound of 0 and an upper bound of
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

struct _NetTasksFilter
{
  GObject        parent_instance;

  char          *title_contains;
  char          *folded_title;     /* NULL when it does not constrain */
  gint64         created_after;
  gint64         created_before;
  gint64         updated_after;
  gint64         updated_before;
  NetTaskStatus  status;
  NetOrderBy     order_by;
  guint          limit;
  guint          offset;
  guint          status_set : 1;
};

G_DEFINE_FINAL_TYPE (NetTasksFilter, net_tasks_filter, G_TYPE_OBJECT)

/* Whether @self selects by status alone (or not at all), so that a
 * counter answers; no allocation, for count() on a hot path. */
gboolean
_net_tasks_filter_is_status_only (NetTasksFilter *self)
{
  return self->folded_title == NULL &&
         self->created_after == 0 && self->created_before == G_MAXINT64 &&
         self->updated_after == 0 && self->updated_before == G_MAXINT64;
}

enum {
  PROP_0,
  PROP_STATUS,
  PROP_STATUS_SET,
  PROP_TITLE_CONTAINS,
  PROP_CREATED_AFTER,
  PROP_CREATED_BEFORE,
  PROP_UPDATED_AFTER,
  PROP_UPDATED_BEFORE,
  PROP_ORDER_BY,
  PROP_LIMIT,
  PROP_OFFSET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_time_bound (NetTasksFilter *self,
                gint64         *field,
                gint64          value,
                guint           prop_id)
{
  if (*field != value)
    {
      *field = value;
      g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
    }
}

static inline gboolean
in_bounds (gint64 value,
           gint64 after,
           gint64 before)
{
  /* 0 is "no lower bound", so items stamped before the epoch still match
   * an unbounded filter. */
  return (after == 0 || value >= after) && value <= before;
}

static void
net_tasks_filter_finalize (GObject *object)
{
  NetTasksFilter *self = (NetTasksFilter *) object;

  g_clear_pointer (&self->title_contains, g_free);
  g_clear_pointer (&self->folded_title, g_free);

  G_OBJECT_CLASS (net_tasks_filter_parent_class)->finalize (object);
}

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
      g_value_set_string (value, self->title_contains);
      break;
    case PROP_CREATED_AFTER:
      g_value_set_int64 (value, self->created_after);
      break;
    case PROP_CREATED_BEFORE:
      g_value_set_int64 (value, self->created_before);
      break;
    case PROP_UPDATED_AFTER:
      g_value_set_int64 (value, self->updated_after);
      break;
    case PROP_UPDATED_BEFORE:
      g_value_set_int64 (value, self->updated_before);
      break;
    case PROP_ORDER_BY:
      g_value_set_enum (value, self->order_by);
      break;
    case PROP_LIMIT:
      g_value_set_uint (value, self->limit);
      break;
    case PROP_OFFSET:
      g_value_set_uint (value, self->offset);
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
    case PROP_CREATED_AFTER:
      net_tasks_filter_set_created_after (self, g_value_get_int64 (value));
      break;
    case PROP_CREATED_BEFORE:
      net_tasks_filter_set_created_before (self, g_value_get_int64 (value));
      break;
    case PROP_UPDATED_AFTER:
      net_tasks_filter_set_updated_after (self, g_value_get_int64 (value));
      break;
    case PROP_UPDATED_BEFORE:
      net_tasks_filter_set_updated_before (self, g_value_get_int64 (value));
      break;
    case PROP_ORDER_BY:
      net_tasks_filter_set_order_by (self, g_value_get_enum (value));
      break;
    case PROP_LIMIT:
      net_tasks_filter_set_limit (self, g_value_get_uint (value));
      break;
    case PROP_OFFSET:
      net_tasks_filter_set_offset (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_tasks_filter_class_init (NetTasksFilterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_tasks_filter_finalize;
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

  /**
   * NetTasksFilter:created-after:
   *
   * Only tasks created at or after this time (µs since the Unix epoch)
   * match; 0 does not constrain.
   */
  properties[PROP_CREATED_AFTER] =
    g_param_spec_int64 ("created-after", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:created-before:
   *
   * Only tasks created at or before this time (µs since the Unix epoch)
   * match; %G_MAXINT64 does not constrain.
   */
  properties[PROP_CREATED_BEFORE] =
    g_param_spec_int64 ("created-before", NULL, NULL,
                        G_MININT64, G_MAXINT64, G_MAXINT64,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:updated-after:
   *
   * Only tasks last changed at or after this time (µs since the Unix
   * epoch) match; 0 does not constrain.
   */
  properties[PROP_UPDATED_AFTER] =
    g_param_spec_int64 ("updated-after", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:updated-before:
   *
   * Only tasks last changed at or before this time (µs since the Unix
   * epoch) match; %G_MAXINT64 does not constrain.
   */
  properties[PROP_UPDATED_BEFORE] =
    g_param_spec_int64 ("updated-before", NULL, NULL,
                        G_MININT64, G_MAXINT64, G_MAXINT64,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:order-by:
   *
   * The order of the result.
   */
  properties[PROP_ORDER_BY] =
    g_param_spec_enum ("order-by", NULL, NULL,
                       NET_TYPE_ORDER_BY, NET_ORDER_BY_ID_ASC,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:limit:
   *
   * The largest number of tasks returned; 0 means no limit.
   */
  properties[PROP_LIMIT] =
    g_param_spec_uint ("limit", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetTasksFilter:offset:
   *
   * How many of the ordered matches are skipped before the first one
   * returned.
   */
  properties[PROP_OFFSET] =
    g_param_spec_uint ("offset", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_tasks_filter_init (NetTasksFilter *self)
{
  self->status = NET_TASK_STATUS_PENDING;
  self->created_after = 0;
  self->created_before = G_MAXINT64;
  self->updated_after = 0;
  self->updated_before = G_MAXINT64;
  self->order_by = NET_ORDER_BY_ID_ASC;
}

gboolean
_net_tasks_filter_matches (NetTasksFilter *filter,
                           NetTask        *task)
{
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), FALSE);
  g_return_val_if_fail (NET_IS_TASK (task), FALSE);

  if (filter == NULL)
    return TRUE;

  if (filter->status_set && net_task_get_status (task) != filter->status)
    return FALSE;
  if (!in_bounds (net_task_get_created_at (task), filter->created_after, filter->created_before))
    return FALSE;
  if (!in_bounds (net_task_get_updated_at (task), filter->updated_after, filter->updated_before))
    return FALSE;
  if (filter->folded_title != NULL &&
      strstr (_net_task_get_folded_title (task), filter->folded_title) == NULL)
    return FALSE;

  return TRUE;
}

const char *
_net_tasks_filter_get_folded_title (NetTasksFilter *filter)
{
  g_return_val_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter), NULL);

  return filter != NULL ? filter->folded_title : NULL;
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
         g_strcmp0 (a->folded_title, b->folded_title) == 0 &&
         a->created_after == b->created_after &&
         a->created_before == b->created_before &&
         a->updated_after == b->updated_after &&
         a->updated_before == b->updated_before;
}

void
_net_tasks_filter_get_window (NetTasksFilter *filter,
                              NetOrderBy     *order_by,
                              guint          *offset,
                              guint          *limit)
{
  g_return_if_fail (filter == NULL || NET_IS_TASKS_FILTER (filter));

  if (order_by != NULL)
    *order_by = filter != NULL ? filter->order_by : NET_ORDER_BY_ID_ASC;
  if (offset != NULL)
    *offset = filter != NULL ? filter->offset : 0;
  if (limit != NULL)
    *limit = filter != NULL ? filter->limit : 0;
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
  copy->title_contains = g_strdup (self->title_contains);
  copy->folded_title = g_strdup (self->folded_title);
  copy->created_after = self->created_after;
  copy->created_before = self->created_before;
  copy->updated_after = self->updated_after;
  copy->updated_before = self->updated_before;
  copy->status = self->status;
  copy->status_set = self->status_set;
  copy->order_by = self->order_by;
  copy->limit = self->limit;
  copy->offset = self->offset;

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

  /* The folded needle decides the selection; the raw text is compared
   * too, so that "Report" and "report" are different filters. */
  return _net_tasks_filter_same_selection (self, other) &&
         g_strcmp0 (self->folded_title != NULL ? self->title_contains : NULL,
                    other->folded_title != NULL ? other->title_contains : NULL) == 0 &&
         self->order_by == other->order_by &&
         self->limit == other->limit &&
         self->offset == other->offset;
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

  return self->title_contains;
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

  if (g_strcmp0 (self->title_contains, needle) == 0)
    return;

  g_free (self->title_contains);
  self->title_contains = g_strdup (needle);
  g_clear_pointer (&self->folded_title, g_free);
  if (needle != NULL && needle[0] != '\0')
    self->folded_title = _net_db_fold_text (needle);

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

  return self->created_after;
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

  set_time_bound (self, &self->created_after, created_after, PROP_CREATED_AFTER);
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

  return self->created_before;
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

  set_time_bound (self, &self->created_before, created_before, PROP_CREATED_BEFORE);
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

  return self->updated_after;
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

  set_time_bound (self, &self->updated_after, updated_after, PROP_UPDATED_AFTER);
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

  return self->updated_before;
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

  set_time_bound (self, &self->updated_before, updated_before, PROP_UPDATED_BEFORE);
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

  return self->order_by;
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

  if (self->order_by != order_by)
    {
      self->order_by = order_by;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ORDER_BY]);
    }
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

  return self->limit;
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

  if (self->limit != limit)
    {
      self->limit = limit;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIMIT]);
    }
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

  return self->offset;
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

  if (self->offset != offset)
    {
      self->offset = offset;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OFFSET]);
    }
}
