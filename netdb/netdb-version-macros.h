/* netdb-version-macros.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib.h>

#include "netdb-version.h"

#ifndef _NET_EXTERN
# define _NET_EXTERN __attribute__((visibility("default"))) extern
#endif

#define NET_AVAILABLE_IN_ALL _NET_EXTERN
#define NET_AVAILABLE_IN_1_0 _NET_EXTERN
