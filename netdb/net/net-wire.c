/* net-wire.c: the datagrams of docs/net-protocol.md
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-wire-private.h"
