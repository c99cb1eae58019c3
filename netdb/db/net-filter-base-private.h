/* net-filter-base-private.h: what every model's filter has
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * NetFilterBase holds, once for every filter type, the parts of a query
 * that do not depend on the model's fields: the order and the window
 * (order-by, limit, offset), the four time bounds and the search text
 * (which each filter names after its field: title-contains,
 * content-contains).  The models and their filters read it through these
 * functions; a NULL filter reads as the defaults (everything, by id).
 */

#pragma once

#include "net-filter-base.h"

G_BEGIN_DECLS

/* The order and window of @filter (which may be NULL). */
void          _net_filter_base_get_window        (NetFilterBase       *filter,
                                                  NetOrderBy          *order_by,
                                                  guint               *offset,
                                                  guint               *limit);
/* Whether @created and @updated lie within the bounds of @filter. */
gboolean      _net_filter_base_in_time           (NetFilterBase       *filter,
                                                  gint64               created,
                                                  gint64               updated);
/* Whether none of the time bounds constrains. */
gboolean      _net_filter_base_time_unbounded    (NetFilterBase       *filter);
void          _net_filter_base_get_time_bounds   (NetFilterBase       *filter,
                                                  gint64              *created_after,
                                                  gint64              *created_before,
                                                  gint64              *updated_after,
                                                  gint64              *updated_before);

/* The search text as set, and folded (_net_db_fold_text(); NULL when it
 * does not constrain). */
const char   *_net_filter_base_get_search        (NetFilterBase       *filter);
const char   *_net_filter_base_get_folded_search (NetFilterBase       *filter);
/* Sets the search text; TRUE when it changed (the subclass then notifies
 * its own property). */
gboolean      _net_filter_base_set_search        (NetFilterBase       *filter,
                                                  const char          *needle);

/* The same selection as far as the base goes (time bounds, folded search). */
gboolean      _net_filter_base_same_selection    (NetFilterBase       *a,
                                                  NetFilterBase       *b);
/* The same order, window and search text as written. */
gboolean      _net_filter_base_same_window       (NetFilterBase       *a,
                                                  NetFilterBase       *b);
/* Copies the base's values of @from into @to (a new filter). */
void          _net_filter_base_copy_into         (NetFilterBase       *from,
                                                  NetFilterBase       *to);

/* The setters behind the properties, for the subclasses' named ones. */
gint64        _net_filter_base_get_time_bound    (NetFilterBase       *filter,
                                                  guint                which);
void          _net_filter_base_set_time_bound    (NetFilterBase       *filter,
                                                  guint                which,
                                                  gint64               value);
NetOrderBy    _net_filter_base_get_order_by      (NetFilterBase       *filter);
void          _net_filter_base_set_order_by      (NetFilterBase       *filter,
                                                  NetOrderBy           order_by);
guint         _net_filter_base_get_limit         (NetFilterBase       *filter);
void          _net_filter_base_set_limit         (NetFilterBase       *filter,
                                                  guint                limit);
guint         _net_filter_base_get_offset        (NetFilterBase       *filter);
void          _net_filter_base_set_offset        (NetFilterBase       *filter,
                                                  guint                offset);

/* @which for the time bounds. */
enum
{
  NET_FILTER_CREATED_AFTER,
  NET_FILTER_CREATED_BEFORE,
  NET_FILTER_UPDATED_AFTER,
  NET_FILTER_UPDATED_BEFORE,
};

G_END_DECLS
