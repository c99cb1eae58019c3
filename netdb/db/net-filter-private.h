/* net-filter-private.h: what a collection reads of a NetFilter
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-filter.h"

G_BEGIN_DECLS

typedef struct
{
  char        *field;
  NetFilterOp  op;
  GValue       value;
  char        *folded;   /* CONTAINS/PREFIX on text: the folded needle */
} NetFilterCondition;

typedef struct
{
  char        *field;
  gboolean     desc;
} NetFilterOrder;

/* NetFilterCondition*, in the order they were added (may be NULL). */
GPtrArray  *_net_filter_get_conditions  (NetFilter  *self);
/* NetFilterOrder*, first key first (may be NULL). */
GPtrArray  *_net_filter_get_orders      (NetFilter  *self);

G_END_DECLS
