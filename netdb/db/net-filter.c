/* net-filter.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-enum-types.h"
#include "net-filter-base-private.h"
#include "net-filter-private.h"

/**
 * SECTION:net-filter
 * @title: NetFilter
 * @short_description: a query of a collection
 *
 * #NetFilter selects and orders the records of a #NetCollection:
 * conditions on fields, all of which must hold (net_filter_where()), the
 * order keys (net_filter_order_by()), and the window of #NetFilterBase
 * (#NetFilterBase:limit, #NetFilterBase:offset) and its time bounds.
 * `id`, `created-at` and `updated-at` can be used like fields.
 *
 * |[<!-- language="C" -->
 * g_auto(GValue) yes = G_VALUE_INIT;
 * g_autoptr(NetFilter) filter = net_filter_new ();
 *
 * g_value_set_boolean (g_value_init (&yes, G_TYPE_BOOLEAN), TRUE);
 * net_filter_order_by (net_filter_where (filter, "starred", NET_FILTER_OP_EQ, &yes),
 *                      "due", TRUE);
 * g_object_set (filter, "limit", 50, NULL);
 * ]|
 *
 * Values are compared as the field's type: numbers by value (an int
 * field against a double value too), strings bytewise for the order
 * operators, and without regard to case, Unicode-aware (NFKC and case
 * folding, as the tasks' search), for %NET_FILTER_OP_CONTAINS and
 * %NET_FILTER_OP_PREFIX.  A %NULL string, strv, #GBytes or #GDateTime
 * sorts before every other value.  A condition whose value cannot be
 * compared with the field (a string against a number) matches nothing,
 * and so does a condition on a field that the collection does not have.
 *
 * Order keys sort one after the other; records that tie on every key
 * are ordered by id, ascending unless the first key is descending.
 * Without a key, #NetFilterBase:order-by applies.
 *
 * A filter that changes emits #NetFilter::changed and notifies
 * #NetFilter:revision, so a live query over it (net_collection_watch())
 * updates by the smallest difference: search as you type.
 *
 * Since: 0.2
 */

/**
 * NetFilter:
 *
 * Conditions, order keys and a window over the records of a collection.
 *
 * Since: 0.2
 */

struct _NetFilter
{
  NetFilterBase  parent_instance;

  GPtrArray     *conditions;   /* NetFilterCondition* */
  GPtrArray     *orders;       /* NetFilterOrder* */
  guint          revision;
};

G_DEFINE_FINAL_TYPE (NetFilter, net_filter, NET_TYPE_FILTER_BASE)

enum {
  PROP_0,
  PROP_REVISION,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
condition_free (gpointer data)
{
  NetFilterCondition *c = data;

  g_free (c->field);
  g_value_unset (&c->value);
  g_free (c->folded);
  g_free (c);
}

static void
order_free (gpointer data)
{
  NetFilterOrder *o = data;

  g_free (o->field);
  g_free (o);
}

static void
net_filter_finalize (GObject *object)
{
  NetFilter *self = (NetFilter *) object;

  g_clear_pointer (&self->conditions, g_ptr_array_unref);
  g_clear_pointer (&self->orders, g_ptr_array_unref);

  G_OBJECT_CLASS (net_filter_parent_class)->finalize (object);
}

static void
net_filter_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  NetFilter *self = NET_FILTER (object);

  switch (prop_id)
    {
    case PROP_REVISION:
      g_value_set_uint (value, self->revision);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_filter_class_init (NetFilterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_filter_finalize;
  object_class->get_property = net_filter_get_property;

  /**
   * NetFilter:revision:
   *
   * A counter that grows on every change of the conditions or the order
   * keys (the window and time bounds are properties of their own).
   *
   * Since: 0.2
   */
  properties[PROP_REVISION] =
    g_param_spec_uint ("revision", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetFilter::changed:
   * @self: the filter
   *
   * Emitted after the conditions or the order keys changed.
   *
   * Since: 0.2
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
net_filter_init (NetFilter *self)
{
  self->conditions = g_ptr_array_new_with_free_func (condition_free);
  self->orders = g_ptr_array_new_with_free_func (order_free);
}

static void
net_filter_changed (NetFilter *self)
{
  self->revision++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REVISION]);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* The engine walks an order by id, created-at or updated-at alone without
 * sorting: such a key becomes the base's order-by. */
static void
net_filter_sync_base_order (NetFilter *self)
{
  NetOrderBy order = NET_ORDER_BY_ID_ASC;

  if (self->orders->len == 1)
    {
      NetFilterOrder *o = g_ptr_array_index (self->orders, 0);

      if (g_str_equal (o->field, "id"))
        order = o->desc ? NET_ORDER_BY_ID_DESC : NET_ORDER_BY_ID_ASC;
      else if (g_str_equal (o->field, "created-at"))
        order = o->desc ? NET_ORDER_BY_CREATED_DESC : NET_ORDER_BY_CREATED_ASC;
      else if (g_str_equal (o->field, "updated-at"))
        order = o->desc ? NET_ORDER_BY_UPDATED_DESC : NET_ORDER_BY_UPDATED_ASC;
    }
  if (self->orders->len > 0)
    _net_filter_base_set_order_by (NET_FILTER_BASE (self), order);
}

/**
 * net_filter_new:
 *
 * Makes a filter that selects every record, by id.
 *
 * Returns: (transfer full): a new #NetFilter
 *
 * Since: 0.2
 */
NetFilter *
net_filter_new (void)
{
  return g_object_new (NET_TYPE_FILTER, NULL);
}

/**
 * net_filter_where:
 * @self: a #NetFilter
 * @field: the name of a field, or `id`, `created-at`, `updated-at`
 * @op: how to compare
 * @value: the value to compare with (copied)
 *
 * Adds a condition: the records selected must have @field compare with
 * @value as @op says.  All conditions must hold.
 *
 * Returns: (transfer none): @self, for chaining
 *
 * Since: 0.2
 */
NetFilter *
net_filter_where (NetFilter    *self,
                  const char   *field,
                  NetFilterOp   op,
                  const GValue *value)
{
  NetFilterCondition *c;

  g_return_val_if_fail (NET_IS_FILTER (self), NULL);
  g_return_val_if_fail (field != NULL, NULL);
  g_return_val_if_fail (op <= NET_FILTER_OP_PREFIX, NULL);
  g_return_val_if_fail (G_IS_VALUE (value), NULL);

  c = g_new0 (NetFilterCondition, 1);
  c->field = g_strdup (field);
  c->op = op;
  g_value_init (&c->value, G_VALUE_TYPE (value));
  g_value_copy (value, &c->value);
  if ((op == NET_FILTER_OP_CONTAINS || op == NET_FILTER_OP_PREFIX) &&
      G_VALUE_HOLDS_STRING (value) && g_value_get_string (value) != NULL)
    c->folded = _net_db_fold_text (g_value_get_string (value));
  g_ptr_array_add (self->conditions, c);
  net_filter_changed (self);
  return self;
}

/**
 * net_filter_order_by:
 * @self: a #NetFilter
 * @field: the name of a field, or `id`, `created-at`, `updated-at`
 * @descending: whether larger values come first
 *
 * Adds an order key after those already added.
 *
 * Returns: (transfer none): @self, for chaining
 *
 * Since: 0.2
 */
NetFilter *
net_filter_order_by (NetFilter  *self,
                     const char *field,
                     gboolean    descending)
{
  NetFilterOrder *o;

  g_return_val_if_fail (NET_IS_FILTER (self), NULL);
  g_return_val_if_fail (field != NULL, NULL);

  o = g_new0 (NetFilterOrder, 1);
  o->field = g_strdup (field);
  o->desc = !!descending;
  g_ptr_array_add (self->orders, o);
  net_filter_sync_base_order (self);
  net_filter_changed (self);
  return self;
}

/**
 * net_filter_clear:
 * @self: a #NetFilter
 *
 * Removes every condition and order key (the window and the time bounds
 * stay).
 *
 * Since: 0.2
 */
void
net_filter_clear (NetFilter *self)
{
  g_return_if_fail (NET_IS_FILTER (self));

  if (self->conditions->len == 0 && self->orders->len == 0)
    return;
  g_ptr_array_set_size (self->conditions, 0);
  if (self->orders->len > 0)
    {
      g_ptr_array_set_size (self->orders, 0);
      _net_filter_base_set_order_by (NET_FILTER_BASE (self), NET_ORDER_BY_ID_ASC);
    }
  net_filter_changed (self);
}

/**
 * net_filter_get_revision:
 * @self: a #NetFilter
 *
 * Gets #NetFilter:revision.
 *
 * Returns: the number of changes of the conditions and order keys so far
 *
 * Since: 0.2
 */
guint
net_filter_get_revision (NetFilter *self)
{
  g_return_val_if_fail (NET_IS_FILTER (self), 0);

  return self->revision;
}

GPtrArray *
_net_filter_get_conditions (NetFilter *self)
{
  return self != NULL ? self->conditions : NULL;
}

GPtrArray *
_net_filter_get_orders (NetFilter *self)
{
  return self != NULL ? self->orders : NULL;
}
