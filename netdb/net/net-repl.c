/* net-repl.c: log replication between a leader and its followers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-repl-private.h"
