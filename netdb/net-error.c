/* net-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "net-error.h"

/**
 * SECTION:net-error
 * @title: Errors
 * @short_description: the %NET_ERROR domain
 *
 * Every runtime failure in netdb is reported as a #GError in the
 * %NET_ERROR domain, with a #NetError code and a message that names the
 * file, log or peer involved.
 */

/**
 * net_error_quark:
 *
 * The quark of the %NET_ERROR domain.
 *
 * Returns: the error domain quark
 */
G_DEFINE_QUARK (net-error-quark, net_error)
