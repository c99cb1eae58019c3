/* net-filter-base.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "net-db-items-private.h"
#include "net-enum-types.h"
#include "net-filter-base-private.h"

/**
 * SECTION:net-filter-base
 * @title: NetFilterBase
 * @short_description: what the filters of every model have
 *
 * #NetFilterBase is the abstract parent of #NetTasksFilter and
 * #NetMemoriesFilter, and the type of #NetQueryModel:filter.  It holds
 * what a query has whatever its model: the order (#NetFilterBase:order-by),
 * the window (#NetFilterBase:limit, #NetFilterBase:offset) and the
 * inclusive time bounds (#NetFilterBase:created-after,
 * #NetFilterBase:created-before, #NetFilterBase:updated-after,
 * #NetFilterBase:updated-before: 0 and %G_MAXINT64, the defaults, do not
 * constrain).  Each filter adds the fields of its model, and names its
 * search text after the field it searches.
 *
 * Like every filter, it emits #GObject::notify for every property that
 * really changes, so a live query can follow it.
 *
 * #NetTasksFilter and #NetMemoriesFilter derive from it since 0.2; their
 * properties, functions and defaults are unchanged.
 */

/**
 * NetFilterBase:
 *
 * The order, window and time bounds of a query.
 *
 * Since: 0.2
 */

typedef struct
{
  char       *search;
  char       *folded_search;   /* NULL when it does not constrain */
  gint64      bounds[4];       /* NET_FILTER_CREATED_AFTER, ... */
  NetOrderBy  order_by;
  guint       limit;
  guint       offset;
} NetFilterBasePrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (NetFilterBase, net_filter_base, G_TYPE_OBJECT)

enum {
  PROP_0,
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

static const gint64 bound_defaults[4] = { 0, G_MAXINT64, 0, G_MAXINT64 };

static inline NetFilterBasePrivate *
priv (NetFilterBase *filter)
{
  return net_filter_base_get_instance_private (filter);
}

static void
net_filter_base_finalize (GObject *object)
{
  NetFilterBasePrivate *p = priv (NET_FILTER_BASE (object));

  g_clear_pointer (&p->search, g_free);
  g_clear_pointer (&p->folded_search, g_free);

  G_OBJECT_CLASS (net_filter_base_parent_class)->finalize (object);
}

static void
net_filter_base_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  NetFilterBasePrivate *p = priv (NET_FILTER_BASE (object));

  switch (prop_id)
    {
    case PROP_CREATED_AFTER:
    case PROP_CREATED_BEFORE:
    case PROP_UPDATED_AFTER:
    case PROP_UPDATED_BEFORE:
      g_value_set_int64 (value, p->bounds[prop_id - PROP_CREATED_AFTER]);
      break;
    case PROP_ORDER_BY:
      g_value_set_enum (value, p->order_by);
      break;
    case PROP_LIMIT:
      g_value_set_uint (value, p->limit);
      break;
    case PROP_OFFSET:
      g_value_set_uint (value, p->offset);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_filter_base_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  NetFilterBase *self = NET_FILTER_BASE (object);

  switch (prop_id)
    {
    case PROP_CREATED_AFTER:
    case PROP_CREATED_BEFORE:
    case PROP_UPDATED_AFTER:
    case PROP_UPDATED_BEFORE:
      _net_filter_base_set_time_bound (self, prop_id - PROP_CREATED_AFTER, g_value_get_int64 (value));
      break;
    case PROP_ORDER_BY:
      _net_filter_base_set_order_by (self, g_value_get_enum (value));
      break;
    case PROP_LIMIT:
      _net_filter_base_set_limit (self, g_value_get_uint (value));
      break;
    case PROP_OFFSET:
      _net_filter_base_set_offset (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_filter_base_class_init (NetFilterBaseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_filter_base_finalize;
  object_class->get_property = net_filter_base_get_property;
  object_class->set_property = net_filter_base_set_property;

  /**
   * NetFilterBase:created-after:
   *
   * Only items created at or after this time (µs since the Unix epoch)
   * match; 0 does not constrain.
   */
  properties[PROP_CREATED_AFTER] =
    g_param_spec_int64 ("created-after", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:created-before:
   *
   * Only items created at or before this time (µs since the Unix epoch)
   * match; %G_MAXINT64 does not constrain.
   */
  properties[PROP_CREATED_BEFORE] =
    g_param_spec_int64 ("created-before", NULL, NULL,
                        G_MININT64, G_MAXINT64, G_MAXINT64,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:updated-after:
   *
   * Only items last changed at or after this time (µs since the Unix
   * epoch) match; 0 does not constrain.
   */
  properties[PROP_UPDATED_AFTER] =
    g_param_spec_int64 ("updated-after", NULL, NULL,
                        G_MININT64, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:updated-before:
   *
   * Only items last changed at or before this time (µs since the Unix
   * epoch) match; %G_MAXINT64 does not constrain.
   */
  properties[PROP_UPDATED_BEFORE] =
    g_param_spec_int64 ("updated-before", NULL, NULL,
                        G_MININT64, G_MAXINT64, G_MAXINT64,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:order-by:
   *
   * The order of the result (ties broken by id).
   */
  properties[PROP_ORDER_BY] =
    g_param_spec_enum ("order-by", NULL, NULL,
                       NET_TYPE_ORDER_BY, NET_ORDER_BY_ID_ASC,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:limit:
   *
   * The largest number of items returned; 0 means no limit.  Counting
   * queries ignore it.
   */
  properties[PROP_LIMIT] =
    g_param_spec_uint ("limit", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * NetFilterBase:offset:
   *
   * How many of the ordered matches are skipped before the first one
   * returned.  Counting queries ignore it.
   */
  properties[PROP_OFFSET] =
    g_param_spec_uint ("offset", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_filter_base_init (NetFilterBase *self)
{
  NetFilterBasePrivate *p = priv (self);

  memcpy (p->bounds, bound_defaults, sizeof p->bounds);
  p->order_by = NET_ORDER_BY_ID_ASC;
}

/* Internal API ----------------------------------------------------------------- */

void
_net_filter_base_get_window (NetFilterBase *filter,
                             NetOrderBy    *order_by,
                             guint         *offset,
                             guint         *limit)
{
  NetFilterBasePrivate *p = filter != NULL ? priv (filter) : NULL;

  if (order_by != NULL)
    *order_by = p != NULL ? p->order_by : NET_ORDER_BY_ID_ASC;
  if (offset != NULL)
    *offset = p != NULL ? p->offset : 0;
  if (limit != NULL)
    *limit = p != NULL ? p->limit : 0;
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

gboolean
_net_filter_base_in_time (NetFilterBase *filter,
                          gint64         created,
                          gint64         updated)
{
  NetFilterBasePrivate *p;

  if (filter == NULL)
    return TRUE;
  p = priv (filter);
  return in_bounds (created, p->bounds[NET_FILTER_CREATED_AFTER], p->bounds[NET_FILTER_CREATED_BEFORE]) &&
         in_bounds (updated, p->bounds[NET_FILTER_UPDATED_AFTER], p->bounds[NET_FILTER_UPDATED_BEFORE]);
}

gboolean
_net_filter_base_time_unbounded (NetFilterBase *filter)
{
  return filter == NULL || memcmp (priv (filter)->bounds, bound_defaults, sizeof bound_defaults) == 0;
}

void
_net_filter_base_get_time_bounds (NetFilterBase *filter,
                                  gint64        *created_after,
                                  gint64        *created_before,
                                  gint64        *updated_after,
                                  gint64        *updated_before)
{
  const gint64 *b = filter != NULL ? priv (filter)->bounds : bound_defaults;

  *created_after = b[NET_FILTER_CREATED_AFTER];
  *created_before = b[NET_FILTER_CREATED_BEFORE];
  *updated_after = b[NET_FILTER_UPDATED_AFTER];
  *updated_before = b[NET_FILTER_UPDATED_BEFORE];
}

const char *
_net_filter_base_get_search (NetFilterBase *filter)
{
  return filter != NULL ? priv (filter)->search : NULL;
}

const char *
_net_filter_base_get_folded_search (NetFilterBase *filter)
{
  return filter != NULL ? priv (filter)->folded_search : NULL;
}

gboolean
_net_filter_base_set_search (NetFilterBase *filter,
                             const char    *needle)
{
  NetFilterBasePrivate *p = priv (filter);

  if (g_strcmp0 (p->search, needle) == 0)
    return FALSE;

  g_free (p->search);
  p->search = g_strdup (needle);
  g_clear_pointer (&p->folded_search, g_free);
  if (needle != NULL && needle[0] != '\0')
    p->folded_search = _net_db_fold_text (needle);
  return TRUE;
}

gboolean
_net_filter_base_same_selection (NetFilterBase *a,
                                 NetFilterBase *b)
{
  const gint64 *ba = a != NULL ? priv (a)->bounds : bound_defaults;
  const gint64 *bb = b != NULL ? priv (b)->bounds : bound_defaults;

  return memcmp (ba, bb, sizeof bound_defaults) == 0 &&
         g_strcmp0 (_net_filter_base_get_folded_search (a), _net_filter_base_get_folded_search (b)) == 0;
}

gboolean
_net_filter_base_same_window (NetFilterBase *a,
                              NetFilterBase *b)
{
  NetFilterBasePrivate *pa = priv (a);
  NetFilterBasePrivate *pb = priv (b);

  /* The folded needle decides the selection; the raw text is compared
   * too, so that "Report" and "report" are different filters. */
  return g_strcmp0 (pa->folded_search != NULL ? pa->search : NULL,
                    pb->folded_search != NULL ? pb->search : NULL) == 0 &&
         pa->order_by == pb->order_by &&
         pa->limit == pb->limit &&
         pa->offset == pb->offset;
}

void
_net_filter_base_copy_into (NetFilterBase *from,
                            NetFilterBase *to)
{
  NetFilterBasePrivate *pf = priv (from);
  NetFilterBasePrivate *pt = priv (to);

  g_free (pt->search);
  g_free (pt->folded_search);
  pt->search = g_strdup (pf->search);
  pt->folded_search = g_strdup (pf->folded_search);
  memcpy (pt->bounds, pf->bounds, sizeof pt->bounds);
  pt->order_by = pf->order_by;
  pt->limit = pf->limit;
  pt->offset = pf->offset;
}

gint64
_net_filter_base_get_time_bound (NetFilterBase *filter,
                                 guint          which)
{
  g_return_val_if_fail (which <= NET_FILTER_UPDATED_BEFORE, 0);

  return priv (filter)->bounds[which];
}

void
_net_filter_base_set_time_bound (NetFilterBase *filter,
                                 guint          which,
                                 gint64         value)
{
  NetFilterBasePrivate *p = priv (filter);

  g_return_if_fail (which <= NET_FILTER_UPDATED_BEFORE);

  if (p->bounds[which] != value)
    {
      p->bounds[which] = value;
      g_object_notify_by_pspec (G_OBJECT (filter), properties[PROP_CREATED_AFTER + which]);
    }
}

NetOrderBy
_net_filter_base_get_order_by (NetFilterBase *filter)
{
  return priv (filter)->order_by;
}

void
_net_filter_base_set_order_by (NetFilterBase *filter,
                               NetOrderBy     order_by)
{
  NetFilterBasePrivate *p = priv (filter);

  g_return_if_fail (order_by <= NET_ORDER_BY_UPDATED_DESC);

  if (p->order_by != order_by)
    {
      p->order_by = order_by;
      g_object_notify_by_pspec (G_OBJECT (filter), properties[PROP_ORDER_BY]);
    }
}

guint
_net_filter_base_get_limit (NetFilterBase *filter)
{
  return priv (filter)->limit;
}

void
_net_filter_base_set_limit (NetFilterBase *filter,
                            guint          limit)
{
  NetFilterBasePrivate *p = priv (filter);

  if (p->limit != limit)
    {
      p->limit = limit;
      g_object_notify_by_pspec (G_OBJECT (filter), properties[PROP_LIMIT]);
    }
}

guint
_net_filter_base_get_offset (NetFilterBase *filter)
{
  return priv (filter)->offset;
}

void
_net_filter_base_set_offset (NetFilterBase *filter,
                             guint          offset)
{
  NetFilterBasePrivate *p = priv (filter);

  if (p->offset != offset)
    {
      p->offset = offset;
      g_object_notify_by_pspec (G_OBJECT (filter), properties[PROP_OFFSET]);
    }
}
