/* net-db-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "net-db.h"
#include "net-redex-config.h"

G_BEGIN_DECLS

/* What a NetDb is opened with; NetDbBuilder fills it in. */
typedef struct
{
  const char      *path;        /* NULL: in memory */
  NetDbModels      models;
  guint64          origin;      /* 0: the stored one, or a new random one */
  NetRedexConfig  *config;      /* nullable */
  gboolean         read_only;
  GBytes          *snapshot;    /* nullable: a bundle to restore */
} NetDbOptions;

NetDb   *_net_db_open                     (const NetDbOptions  *options,
                                           GError             **error);
/* Events the open folded from the logs (those after the checkpoint or
 * snapshot it restored, or all of them). */
guint64  _net_db_get_events_folded        (NetDb               *self);
/* Tests: whether close writes a checkpoint (the default, when persistent
 * and writable). */
void     _net_db_set_checkpoint_on_close  (NetDb               *self,
                                           gboolean             checkpoint_on_close);

G_END_DECLS
