/* net-redex-event-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-redex-event.h"

G_BEGIN_DECLS

struct _NetRedexEvent
{
  gatomicrefcount  ref_count;
  guint64          seq;
  gint64           timestamp;
  GBytes          *payload;
};

NetRedexEvent *_net_redex_event_new_take (guint64  seq,
                                          gint64   timestamp,
                                          GBytes  *payload);

G_END_DECLS
