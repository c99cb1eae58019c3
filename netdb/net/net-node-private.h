/* net-node-private.h: NetNode test hooks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "net-node.h"
#include "net-repl-private.h"

G_BEGIN_DECLS

/* Tests: shorter timers (milliseconds; 0 keeps a value).  Defaults 1000,
 * 5000 and 1000.  The grace period of a replaced session is twice the
 * dead interval (10 s by default). */
void      _net_node_set_timing         (NetNode        *self,
                                        guint           keepalive_ms,
                                        guint           dead_ms,
                                        guint           handshake_retry_ms);

/* Tests: the node behaves as under load (cookie replies, mac2 checked)
 * while @under_load is TRUE, whatever its DH bucket holds. */
void      _net_node_set_under_load     (NetNode        *self,
                                        gboolean        under_load);

/* Tests: how long after its confirmation a session this node initiated is
 * renewed (milliseconds, below the 180 s after which a session is
 * rejected).  The default is 120000. */
void      _net_node_set_rekey_interval (NetNode        *self,
                                        guint           rekey_ms);

/* A lossy network between the node and its socket, applied to every
 * datagram the node sends (not to _net_node_send_raw()): each datagram is
 * dropped, sent twice, held back (and sent after the next one, or after a
 * few milliseconds) or has one random bit flipped, with the given
 * probabilities in thousandths.  Counted as "lossy-dropped",
 * "lossy-duplicated", "lossy-reordered" and "lossy-corrupted". */
typedef struct
{
  guint   drop_permille;
  guint   duplicate_permille;
  guint   reorder_permille;
  guint   corrupt_permille;
  guint32 seed;
} NetNodeLossy;

/* @lossy: %NULL turns it off. */
void      _net_node_set_lossy          (NetNode            *self,
                                        const NetNodeLossy *lossy);

/* Called for every datagram just before it goes to the socket (after the
 * lossy wrapper), with its destination.  Return %FALSE to swallow it (it
 * then counts as neither sent nor failed). */
typedef gboolean (*NetNodeSendHook) (NetNode        *node,
                                     GSocketAddress *address,
                                     const guint8   *data,
                                     gsize           len,
                                     gpointer        user_data);

/* @hook: %NULL removes it (and calls @destroy of the previous one). */
void      _net_node_set_send_hook      (NetNode         *self,
                                        NetNodeSendHook  hook,
                                        gpointer         user_data,
                                        GDestroyNotify   destroy);

/* Sends @data as one datagram from the node's socket to @address at once,
 * bypassing sessions, the lossy wrapper and the send hook: replays and
 * forgeries for tests.  Not counted. */
gboolean  _net_node_send_raw           (NetNode         *self,
                                        GSocketAddress  *address,
                                        const guint8    *data,
                                        gsize            len,
                                        GError         **error);

/* Starts a new handshake with the peer now (as a rekey would), whether or
 * not it is up.  FALSE if the peer is unknown, has no address or the node
 * is not running. */
gboolean  _net_node_initiate_handshake (NetNode         *self,
                                        const char      *public_key);

/* Sends one channel message to an up peer as NetReplLink.send does. */
gboolean  _net_node_send_message       (NetNode         *self,
                                        const char      *public_key,
                                        const guint8    *message,
                                        gsize            len);

/* The peer's address as "host:port", or %NULL when unknown (or no peer). */
char     *_net_node_dup_peer_address   (NetNode         *self,
                                        const char      *public_key);

/* The NetRepl of net_node_serve_db() / net_node_follow_db(), or %NULL. */
NetRepl  *_net_node_get_leader_repl    (NetNode         *self);
NetRepl  *_net_node_get_follower_repl  (NetNode         *self);

G_END_DECLS
