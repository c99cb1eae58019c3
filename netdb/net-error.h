/* net-error.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(NETDB_INSIDE) && !defined(NETDB_COMPILATION)
# error "Only <netdb/netdb.h> can be included directly."
#endif

#include <glib.h>

#include "netdb-version-macros.h"

G_BEGIN_DECLS

/**
 * NET_ERROR:
 *
 * The error domain of every #GError that netdb reports.
 */
#define NET_ERROR (net_error_quark ())

/**
 * NetError:
 * @NET_ERROR_FAILED: an unspecified failure
 * @NET_ERROR_INVALID_ARGUMENT: an argument was malformed (a log name, a
 *   title that is not UTF-8, …)
 * @NET_ERROR_NOT_FOUND: the requested item or event does not exist
 * @NET_ERROR_CLOSED: the object was closed
 * @NET_ERROR_IO: reading or writing a file failed
 * @NET_ERROR_CORRUPT: stored data failed its checksum or is malformed
 * @NET_ERROR_LOCKED: another process holds the write lock of a database
 *   directory
 * @NET_ERROR_PAYLOAD_TOO_LARGE: a payload is larger than the configured
 *   maximum
 * @NET_ERROR_LAGGED: a reader asked for events that were evicted, or fell
 *   further behind than its buffer allows
 * @NET_ERROR_SEQ_MISMATCH: a conditional append found another next sequence
 *   number than the expected one
 * @NET_ERROR_SNAPSHOT_INVALID: a snapshot is corrupt, truncated or not a
 *   snapshot
 * @NET_ERROR_SNAPSHOT_MISMATCH: a snapshot does not fit the log it is
 *   restored onto
 * @NET_ERROR_READ_ONLY: the object was opened read-only
 * @NET_ERROR_NOT_LEADER: the operation needs the replication leader
 * @NET_ERROR_TIMEOUT: a wait timed out
 * @NET_ERROR_AUTH_FAILED: a peer failed authentication
 * @NET_ERROR_PROTOCOL: a peer violated the protocol
 * @NET_ERROR_EXISTS: the target already exists (a database directory that
 *   holds another history than the snapshot restored into it, a record
 *   id a collection already holds).  Since: 0.2
 * @NET_ERROR_SCHEMA_MISMATCH: a field of a record class has a type that the
 *   values its collection's log stores cannot become; the message names
 *   the field.  Since: 0.2
 *
 * Error codes in the %NET_ERROR domain.
 */
typedef enum
{
  NET_ERROR_FAILED,
  NET_ERROR_INVALID_ARGUMENT,
  NET_ERROR_NOT_FOUND,
  NET_ERROR_CLOSED,
  NET_ERROR_IO,
  NET_ERROR_CORRUPT,
  NET_ERROR_LOCKED,
  NET_ERROR_PAYLOAD_TOO_LARGE,
  NET_ERROR_LAGGED,
  NET_ERROR_SEQ_MISMATCH,
  NET_ERROR_SNAPSHOT_INVALID,
  NET_ERROR_SNAPSHOT_MISMATCH,
  NET_ERROR_READ_ONLY,
  NET_ERROR_NOT_LEADER,
  NET_ERROR_TIMEOUT,
  NET_ERROR_AUTH_FAILED,
  NET_ERROR_PROTOCOL,
  NET_ERROR_EXISTS,
  NET_ERROR_SCHEMA_MISMATCH,
} NetError;

NET_AVAILABLE_IN_ALL
GQuark net_error_quark (void);

G_END_DECLS
