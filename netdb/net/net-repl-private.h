/* net-repl-private.h: log replication between a leader and its followers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The replication half of docs/net-protocol.md (section 4), on top of an
 * abstract link that delivers whole channel messages to and from peers.
 * NetNode is the real link (one encrypted datagram per message); tests
 * use an in-memory one that loses, duplicates and reorders messages.
 *
 * Everything runs on the GMainContext given at creation; the link calls
 * _net_repl_receive(), _net_repl_peer_up() and _net_repl_peer_down() from
 * it, and NetRepl's timers are attached to it.
 */

#pragma once

#include <glib.h>

#include "net-db.h"

G_BEGIN_DECLS

/* Channel message kinds: below 0x20 to a leader, from 0x20 to a follower. */
typedef enum
{
  NET_REPL_SUBSCRIBE        = 0x01,
  NET_REPL_PULL             = 0x02,
  NET_REPL_SNAPSHOT_REQUEST = 0x03,
  NET_REPL_FORWARD          = 0x04,
  NET_REPL_LOGS_REQUEST     = 0x05,
  NET_REPL_TO_FOLLOWER      = 0x20,
  NET_REPL_ANNOUNCE         = 0x21,
  NET_REPL_EVENTS           = 0x22,
  NET_REPL_FRAGMENT         = 0x23,
  NET_REPL_GONE             = 0x24,
  NET_REPL_DIVERGED         = 0x25,
  NET_REPL_SNAPSHOT_INFO    = 0x26,
  NET_REPL_SNAPSHOT_PART    = 0x27,
  NET_REPL_FORWARD_ACK      = 0x28,
  NET_REPL_LOGS             = 0x29,
} NetReplKind;

typedef struct _NetReplLink NetReplLink;

/*
 * A peer is an opaque handle the link owns, stable while the link lives.
 */
struct _NetReplLink
{
  /* Sends one channel message of at most @max_message bytes to @peer.
   * FALSE when it could not be sent now (no session, socket full): the
   * message is lost and the protocol's timers retry, as for a datagram
   * lost on the way. */
  gboolean      (*send)            (NetReplLink   *link,
                                    gpointer       peer,
                                    const guint8  *message,
                                    gsize          len);
  /* The peer's 32-byte Ed25519 public key. */
  const guint8 *(*peer_public_key) (NetReplLink   *link,
                                    gpointer       peer);
  /* Whether the peer is up (a session is established). */
  gboolean      (*peer_is_up)      (NetReplLink   *link,
                                    gpointer       peer);
  gsize          max_message;
  /* Optional: whether the leader appends events that @peer forwards, and
   * the one origin they must carry.  Without it every peer may forward
   * events of any origin (tests' in-memory links). */
  gboolean      (*peer_may_forward) (NetReplLink  *link,
                                     gpointer      peer,
                                     guint64      *origin);
  /* The origin a follower's forwarded events carry (NetNode: its
   * identity's); 0: the database's own origin. */
  guint64        local_origin;
  /* Optional: a follower stopped for good: its log diverged from the
   * leader's (%NET_ERROR_SEQ_MISMATCH), or the leader keeps announcing
   * events it does not send (%NET_ERROR_PROTOCOL).  Called once, from a
   * dispatch of the link (inside _net_repl_receive()); without it
   * NetRepl logs a warning. */
  void          (*follow_failed)   (NetReplLink   *link,
                                    const GError  *error);
};

typedef struct _NetRepl NetRepl;

/* The counters a NetRepl keeps; NetNode adds them to its own. */
typedef struct
{
  guint64 events_sent;          /* leader: events put in EVENTS/FRAGMENT */
  guint64 events_appended;      /* follower: events appended to its logs */
  guint64 events_duplicate;     /* follower: received events it held */
  guint64 pulls_sent;
  guint64 pulls_retried;
  guint64 announces_sent;
  guint64 snapshots_sent;
  guint64 snapshots_restored;
  guint64 forwards_sent;
  guint64 forwards_acked;
  guint64 forwards_failed;
  guint64 forwards_refused;     /* leader: not the peer's role or origin */
  guint64 messages_malformed;   /* channel messages that did not decode */
} NetReplCounters;

/*
 * The leader of @db's logs (its models' and every collection's, opened
 * untyped when the application has not opened one, and those opened
 * later): answers SUBSCRIBE, PULL, SNAPSHOT_REQUEST, FORWARD and
 * LOGS_REQUEST from any peer the link delivers, and announces appends to
 * its subscribed followers.  @db must be open and writable.
 */
NetRepl  *_net_repl_new_leader     (NetDb          *db,
                                    NetReplLink    *link,
                                    GMainContext   *context,
                                    GError        **error);
/*
 * Makes the persistent, writable @db follow @leader: local mutations then
 * fail with %NET_ERROR_READ_ONLY, or are forwarded when @forward_writes.
 * The leader's collections are created and opened untyped as it names
 * them (LOGS).
 * %NET_ERROR_INVALID_ARGUMENT when @db is in memory, read-only, closed or
 * already following.
 */
NetRepl  *_net_repl_new_follower   (NetDb          *db,
                                    NetReplLink    *link,
                                    gpointer        leader,
                                    gboolean        forward_writes,
                                    GMainContext   *context,
                                    GError        **error);
/* Stops: cancels timers, a follower's db leaves the following mode
 * (queued forwards fail with forward-failed). */
void      _net_repl_free           (NetRepl        *repl);

NetDb    *_net_repl_get_db         (NetRepl        *repl);
gboolean  _net_repl_is_leader      (NetRepl        *repl);

void      _net_repl_peer_up        (NetRepl        *repl,
                                    gpointer        peer);
void      _net_repl_peer_down      (NetRepl        *repl,
                                    gpointer        peer);
/* The link forgets @peer (removed from the node): drop every reference. */
void      _net_repl_peer_removed   (NetRepl        *repl,
                                    gpointer        peer);
/* One channel message from @peer (its first byte is the kind).  FALSE
 * when it is malformed (counted in messages_malformed). */
gboolean  _net_repl_receive        (NetRepl        *repl,
                                    gpointer        peer,
                                    const guint8   *message,
                                    gsize           len);

/* The link delivered a batch of messages (one receive of datagrams): a
 * follower appends what the batch brought in order with one write. */
void      _net_repl_receive_done   (NetRepl        *repl);

const NetReplCounters *_net_repl_get_counters (NetRepl *repl);

/* Tests: shorter timers (milliseconds; 0 keeps a value). */
void      _net_repl_set_timing     (NetRepl        *repl,
                                    guint           heartbeat_ms,
                                    guint           pull_timeout_ms,
                                    guint           forward_timeout_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetRepl, _net_repl_free)

G_END_DECLS
