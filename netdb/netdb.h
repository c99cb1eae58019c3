/* netdb.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#define NETDB_INSIDE
# include "netdb-version.h"
# include "netdb-version-macros.h"
# include "net-error.h"
# include "net-enum-types.h"
# include "net-redex-event.h"
# include "net-redex-config.h"
# include "net-redex-tail.h"
# include "net-redex-file.h"
# include "net-redex.h"
# include "net-db-types.h"
# include "net-filter-base.h"
# include "net-task.h"
# include "net-memory.h"
# include "net-tasks-filter.h"
# include "net-memories-filter.h"
# include "net-query-model.h"
# include "net-db-tasks.h"
# include "net-db-memories.h"
# include "net-db.h"
# include "net-db-builder.h"
# include "net-record.h"
# include "net-filter.h"
# include "net-collection.h"
# include "net-identity.h"
# include "net-node.h"
#undef NETDB_INSIDE
