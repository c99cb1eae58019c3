/* net-node.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <sodium.h>

#include "net-error.h"
#include "net-identity-private.h"
#include "net-node-private.h"
#include "net-repl-private.h"
#include "net-wire-private.h"

/**
 * SECTION:net-node
 * @title: NetNode
 * @short_description: an encrypted UDP endpoint that replicates databases
 *
 * A #NetNode is one netdb node on the network: a UDP socket, the
 * #NetIdentity that authenticates it, and an allow-list of peers, each
 * named by its public key.  Nodes talk the protocol of
 * `docs/net-protocol.md`: a Noise_IK_25519_ChaChaPoly_SHA256 handshake
 * that authenticates both identities in one round trip, then
 * ChaCha20-Poly1305 datagrams with a replay window.  Only peers in the
 * allow-list are admitted; a peer added with an address is one this node
 * connects to, a peer added without one may connect to this node, and its
 * address is learnt from the datagrams that authenticate.
 *
 * A peer is up (#NetNode::peer-up) once a session with it is established
 * and confirmed; the node keeps idle sessions alive with keepalives,
 * renews their keys every two minutes, and reports a peer down
 * (#NetNode::peer-down) when nothing authenticated arrived from it for the
 * dead interval (5 seconds), after which it handshakes again if it knows
 * the peer's address.
 *
 * On top of the sessions, a node replicates databases:
 * net_node_serve_db() makes it the leader of a #NetDb's logs, and
 * net_node_follow_db() makes a local #NetDb follow a leader peer.
 *
 * Everything happens on the thread-default #GMainContext of the thread
 * that called net_node_new() (the owner context): the socket and the
 * timers are sources attached to it once net_node_start() is called, and
 * signals are emitted there.  A node never blocks: a datagram that the
 * socket cannot take at once is dropped (and counted), and the protocol's
 * timers send again.
 *
 * net_node_get_counter() and net_node_get_counters() report what the node
 * did: datagrams and bytes sent and received, handshakes, keepalives, and
 * every dropped datagram by the reason it was dropped.
 *
 * |[<!-- language="C" -->
 * g_autoptr(NetIdentity) identity = net_identity_load ("node.key", &error);
 * g_autoptr(NetNode) node = net_node_new (identity, "0.0.0.0:7000", &error);
 *
 * net_node_add_peer (node, follower_public_key, NULL, &error);
 * net_node_serve_db (node, db, &error);
 * net_node_start (node, &error);
 * ]|
 */

/**
 * NetNode:
 *
 * An encrypted UDP endpoint with an allow-list of peers.
 */

#define RECV_BATCH          32
#define SEND_BATCH          32
#define MAX_RECV_PER_DISPATCH 256
#define SOCKET_BUFFER_SIZE  (4 * 1024 * 1024)

#define DEFAULT_KEEPALIVE_MS 1000
#define DEFAULT_DEAD_MS      5000
#define DEFAULT_RETRY_MS     1000

/* docs/net-protocol.md, section 2 */
#define REKEY_AFTER_US   (120 * G_USEC_PER_SEC)
#define REJECT_AFTER_US  (180 * G_USEC_PER_SEC)
#define REKEY_AFTER_MESSAGES (G_GUINT64_CONSTANT (1) << 60)
/* How long a datagram held back by the lossy wrapper waits at most. */
#define LOSSY_HOLD_US    (5 * 1000)
/* The ephemeral keys of the last initiations that authenticated: an exact
 * replay of one is dropped before any Diffie-Hellman.  Older replays are
 * still refused by their timestamp, at the cost of the DH. */
#define RECENT_EPHEMERALS 4096
/* A refused key is reported at most once a minute, for at most this many
 * keys at a time (an attacker has as many keys as it likes). */
#define REFUSED_REPORT_US (60 * G_USEC_PER_SEC)
#define REFUSED_KEYS_MAX  256
/* An address a peer's datagrams came from but that has not proven it
 * receives (docs/net-protocol.md, section 3): at most this many bytes go
 * there until the peer echoes a challenge sent there.  A spoofed source
 * address gets that much, never a whole catch-up. */
#define PATH_BUDGET       (16 * 1024)
#define PATH_TOKEN_LEN    8
/* Handshake messages that reach the Noise read (each costs two or three
 * X25519) at most this many a second on average, in bursts of at most
 * DH_BURST: a flood from someone who knows our public key costs the loop
 * a bounded share of its time.  A few peers renew their sessions every
 * two minutes; what is refused here is retried by its sender. */
#define DH_PER_SECOND     200
#define DH_BURST          64
/* Cookies (WireGuard's, docs/net-protocol.md section 2): the node is under
 * load from when its DH bucket falls below half until a second after.
 * Under load a handshake message without a valid mac2 (an initiation, or
 * a response to our own initiation) gets a cookie reply instead of a
 * read, and those with one are limited per source address,
 * SOURCE_PER_SECOND in bursts of SOURCE_BURST, for at most SOURCES_MAX
 * addresses at a time.  The secret cookies derive from is renewed every
 * COOKIE_SECRET_US; an initiator uses a cookie that long at most. */
#define UNDER_LOAD_US     (1 * G_USEC_PER_SEC)
#define COOKIE_SECRET_US  (120 * G_USEC_PER_SEC)
#define SOURCE_PER_SECOND 5
#define SOURCE_BURST      5
#define SOURCES_MAX       4096

/* Node messages inside data datagrams, beside the replication ones. */
#define NODE_PATH_CHALLENGE 0xf0
#define NODE_PATH_RESPONSE  0xf1

typedef struct
{
  NetWireKeys keys;
  gboolean    initiator;
  gint64      started;    /* monotonic µs: our initiation, or theirs arrived */
  gint64      confirmed;  /* when it authenticated a datagram; 0: pending */
  gint64      last_recv;  /* the last datagram that authenticated on it */
  gint64      demoted;    /* when it stopped being the current session */
  gint64      expires;    /* pending or previous: dropped then */
  GSocketAddress *hello_from;  /* responder: where the initiation came from */
  /* Responder: the response sent for it, sent once more (with a mac2)
   * when the initiator, under load, answers it with a cookie reply. */
  guint8          response[NET_WIRE_RESPONSE_MAC2_LEN];
  gboolean        response_resent;
} Session;

typedef struct _Peer Peer;

struct _Peer
{
  guint              ref_count;
  gboolean           removed;
  guint8             ed25519[NET_IDENTITY_PUBLIC_KEY_SIZE];
  guint8             x25519[NET_IDENTITY_X25519_SIZE];
  char              *key_text;
  GSocketAddress    *address;           /* NULL: not known yet */
  gboolean           validated;         /* address proved it receives */
  gsize              path_budget;       /* bytes it may still get if not */
  guint8             path_token[PATH_TOKEN_LEN];
  gint64             challenge_sent;
  NetPeerRole        role;
  guint64            origin;            /* derived from ed25519 */

  /* Our handshake in flight, as initiator. */
  NetNoiseHandshake *hs;
  guint32            hs_index;
  gint64             hs_started;
  gint64             next_initiation;   /* 0: initiate as soon as needed */
  guint8             hs_mac1[NET_WIRE_MAC_LEN];  /* of our last initiation */
  /* The last cookie the peer sent us (in answer to an initiation or a
   * response of ours): our handshake messages to it carry a mac2 made
   * with it until it ages. */
  guint8             cookie[NET_WIRE_COOKIE_LEN];
  gint64             cookie_received;   /* 0: none */

  Session           *current;           /* confirmed: we send on it */
  Session           *previous;          /* receive only, until it expires */
  Session           *pending;           /* responder: waits for confirmation */

  guint64            last_timestamp;    /* greatest initiation timestamp accepted */
  gint64             last_received;     /* last datagram that authenticated */
  gint64             last_sent;         /* last data datagram sent */
  gboolean           up;
  gboolean           announced_up;      /* what peer-up/peer-down last said */
};

typedef struct
{
  guint64 datagrams_sent;
  guint64 datagrams_received;
  guint64 bytes_sent;
  guint64 bytes_received;
  guint64 handshakes_initiated;
  guint64 handshakes_completed;
  guint64 handshakes_read;
  guint64 keepalives_sent;
  guint64 send_failed;
  guint64 path_challenges_sent;
  guint64 path_validated;
  guint64 path_budget_dropped;
  guint64 dropped_busy;
  guint64 cookie_replies_sent;
  guint64 cookie_replies_received;
  guint64 dropped_no_service;
  guint64 dropped_malformed_message;
  guint64 lossy_dropped;
  guint64 lossy_duplicated;
  guint64 lossy_reordered;
  guint64 lossy_corrupted;
  guint64 dropped[NET_WIRE_N_DROP_REASONS];
} Counters;

static const struct
{
  const char *name;
  gsize       offset;
} node_counters[] = {
  { "datagrams-sent", G_STRUCT_OFFSET (Counters, datagrams_sent) },
  { "datagrams-received", G_STRUCT_OFFSET (Counters, datagrams_received) },
  { "bytes-sent", G_STRUCT_OFFSET (Counters, bytes_sent) },
  { "bytes-received", G_STRUCT_OFFSET (Counters, bytes_received) },
  { "handshakes-initiated", G_STRUCT_OFFSET (Counters, handshakes_initiated) },
  { "handshakes-completed", G_STRUCT_OFFSET (Counters, handshakes_completed) },
  { "handshakes-read", G_STRUCT_OFFSET (Counters, handshakes_read) },
  { "keepalives-sent", G_STRUCT_OFFSET (Counters, keepalives_sent) },
  { "send-failed", G_STRUCT_OFFSET (Counters, send_failed) },
  { "path-challenges-sent", G_STRUCT_OFFSET (Counters, path_challenges_sent) },
  { "path-validated", G_STRUCT_OFFSET (Counters, path_validated) },
  { "path-budget-dropped", G_STRUCT_OFFSET (Counters, path_budget_dropped) },
  { "dropped-busy", G_STRUCT_OFFSET (Counters, dropped_busy) },
  { "cookie-replies-sent", G_STRUCT_OFFSET (Counters, cookie_replies_sent) },
  { "cookie-replies-received", G_STRUCT_OFFSET (Counters, cookie_replies_received) },
  { "dropped-no-service", G_STRUCT_OFFSET (Counters, dropped_no_service) },
  { "dropped-malformed-message", G_STRUCT_OFFSET (Counters, dropped_malformed_message) },
  { "lossy-dropped", G_STRUCT_OFFSET (Counters, lossy_dropped) },
  { "lossy-duplicated", G_STRUCT_OFFSET (Counters, lossy_duplicated) },
  { "lossy-reordered", G_STRUCT_OFFSET (Counters, lossy_reordered) },
  { "lossy-corrupted", G_STRUCT_OFFSET (Counters, lossy_corrupted) },
};

static const struct
{
  const char *name;
  gsize       offset;
} repl_counters[] = {
  { "repl-events-sent", G_STRUCT_OFFSET (NetReplCounters, events_sent) },
  { "repl-events-appended", G_STRUCT_OFFSET (NetReplCounters, events_appended) },
  { "repl-events-duplicate", G_STRUCT_OFFSET (NetReplCounters, events_duplicate) },
  { "repl-pulls-sent", G_STRUCT_OFFSET (NetReplCounters, pulls_sent) },
  { "repl-pulls-retried", G_STRUCT_OFFSET (NetReplCounters, pulls_retried) },
  { "repl-announces-sent", G_STRUCT_OFFSET (NetReplCounters, announces_sent) },
  { "repl-snapshots-sent", G_STRUCT_OFFSET (NetReplCounters, snapshots_sent) },
  { "repl-snapshots-restored", G_STRUCT_OFFSET (NetReplCounters, snapshots_restored) },
  { "repl-forwards-sent", G_STRUCT_OFFSET (NetReplCounters, forwards_sent) },
  { "repl-forwards-acked", G_STRUCT_OFFSET (NetReplCounters, forwards_acked) },
  { "repl-forwards-failed", G_STRUCT_OFFSET (NetReplCounters, forwards_failed) },
  { "repl-forwards-refused", G_STRUCT_OFFSET (NetReplCounters, forwards_refused) },
  { "repl-messages-malformed", G_STRUCT_OFFSET (NetReplCounters, messages_malformed) },
};

struct _NetNode
{
  GObject          parent_instance;

  /* node_from_link() finds the node from it. */
  NetReplLink      link;

  NetIdentity     *identity;
  char            *listen_address;
  GMainContext    *context;
  GSocket         *socket;
  GSocketFamily    family;
  gboolean         dual_stack;   /* bound to [::]: reaches IPv4 too */
  char            *local_address;
  guint            max_datagram;
  gboolean         running;

  GSource         *socket_source;
  GSource         *timer_source;
  GSource         *flush_source;
  guint            in_dispatch;

  GPtrArray       *peers;      /* Peer, a reference each */
  GHashTable      *indexes;    /* local index → Peer (borrowed) */
  guint64          last_timestamp;
  guint8           mac1_key[NET_WIRE_MAC1_KEY_LEN];  /* of our own key */
  double           dh_tokens;       /* DH_PER_SECOND bucket */
  gint64           dh_refilled;
  gint64           under_load_until;
  gboolean         force_under_load;  /* tests */
  guint8           cookie_key[NET_WIRE_MAC1_KEY_LEN];  /* replies to us */
  /* The nonce of our next cookie reply: random at start, then counted
   * up, never twice under cookie_key (a getrandom() per reply would be
   * the dearest step of the path a flood takes). */
  guint8           cookie_nonce[NET_WIRE_COOKIE_NONCE_LEN];
  guint8           cookie_secret[NET_WIRE_COOKIE_SECRET_LEN];
  gint64           cookie_secret_made;  /* 0: none yet */
  GHashTable      *sources;  /* address bytes (GBytes) → SourceBucket */

  /* Replays: the ephemerals of recent authenticated initiations. */
  GHashTable      *ephemerals;     /* GBytes (32) → itself */
  GBytes         **ephemeral_ring; /* RECENT_EPHEMERALS, oldest overwritten */
  guint            ephemeral_next;

  /* Handshake anti-replay across restarts: key text → the greatest
   * initiation timestamp accepted (guint64 *), saved to state_file. */
  char            *state_file;
  GHashTable      *timestamps;

  /* Refused keys: key text → gint64 monotonic time of the last report. */
  GHashTable      *refused_reported;
  GPtrArray       *refused_pending;  /* RefusedReport, emitted after work */

  NetRepl         *leader;
  NetRepl         *follower;
  GError          *follow_error;   /* to emit as follow-failed */

  gint64           keepalive_us;
  gint64           dead_us;
  gint64           retry_us;
  gint64           grace_us;   /* twice the dead interval: 10 s by default */
  gint64           rekey_us;   /* REKEY_AFTER_US, shorter in tests */

  /* Receiving: RECV_BATCH slots of recv_slot bytes. */
  guint8          *recv_data;
  gsize            recv_slot;
  GInputVector     recv_vecs[RECV_BATCH];
  GInputMessage    recv_msgs[RECV_BATCH];
  GSocketAddress  *recv_addrs[RECV_BATCH];
  guint8          *plain;      /* NET_WIRE_MAX_MAX_DATAGRAM */

  /* Sending: datagrams queued during a dispatch, SEND_BATCH slots. */
  guint8          *send_data;
  gsize            send_slot;
  GOutputVector    send_vecs[SEND_BATCH];
  GOutputMessage   send_msgs[SEND_BATCH];
  GSocketAddress  *send_addrs[SEND_BATCH];
  guint            n_send;
  guint8          *scratch;    /* NET_WIRE_MAX_MAX_DATAGRAM */
  guint8          *sealed;     /* NET_WIRE_MAX_MAX_DATAGRAM */

  Counters         counters;

  gboolean         lossy_on;
  NetNodeLossy     lossy;
  GRand           *lossy_rand;
  guint8          *held;
  gsize            held_len;
  GSocketAddress  *held_address;
  gint64           held_until;

  NetNodeSendHook  send_hook;
  gpointer         send_hook_data;
  GDestroyNotify   send_hook_destroy;
};

static void net_node_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (NetNode, net_node, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      net_node_initable_iface_init))

enum {
  PROP_0,
  PROP_IDENTITY,
  PROP_LISTEN_ADDRESS,
  PROP_LOCAL_ADDRESS,
  PROP_RUNNING,
  PROP_MAX_DATAGRAM,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  PEER_UP,
  PEER_DOWN,
  FOLLOW_FAILED,
  PEER_REFUSED,
  N_SIGNALS
};

typedef struct
{
  char *key_text;
  char *address;
} RefusedReport;

static void
refused_report_free (RefusedReport *r)
{
  g_free (r->key_text);
  g_free (r->address);
  g_free (r);
}

static guint signals[N_SIGNALS];

static void node_flush (NetNode *self);
static gboolean node_add_peer (NetNode *self, const char *public_key, const char *address,
                               NetPeerRole role, gboolean set_role, GError **error);
static void node_reschedule (NetNode *self);
static void node_after_work (NetNode *self);

/* --- Addresses ----------------------------------------------------------- */

static char *
format_address (GSocketAddress *address)
{
  GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS (address);
  GInetAddress *ia = g_inet_socket_address_get_address (isa);
  g_autofree char *ip = g_inet_address_to_string (ia);
  guint port = g_inet_socket_address_get_port (isa);

  if (g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", ip, port);
  return g_strdup_printf ("%s:%u", ip, port);
}

static gboolean
address_equal (GSocketAddress *a,
               GSocketAddress *b)
{
  GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (a);
  GInetSocketAddress *ib = G_INET_SOCKET_ADDRESS (b);

  return g_inet_socket_address_get_port (ia) == g_inet_socket_address_get_port (ib) &&
         g_inet_address_equal (g_inet_socket_address_get_address (ia),
                               g_inet_socket_address_get_address (ib));
}

static gboolean
set_address_error (GError     **error,
                   const char  *what,
                   const char  *text,
                   const char  *why)
{
  g_autofree char *escaped = g_strescape (text, NULL);

  g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
               "%s “%s” is not usable: %s (expected host:port, such as "
               "127.0.0.1:7000, [::1]:7000 or example.org:7000)",
               what, escaped, why);
  return FALSE;
}

/* ::ffff:a.b.c.d, how a dual-stack IPv6 socket reaches an IPv4 host. */
static GInetAddress *
map_ipv4 (GInetAddress *ipv4)
{
  guint8 bytes[16] = { [10] = 0xff, [11] = 0xff };

  memcpy (bytes + 12, g_inet_address_to_bytes (ipv4), 4);
  return g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
}

/*
 * Parses "host:port" or "[ipv6]:port"; the host is an IP literal or a name
 * resolved now (blocking).  With @family other than
 * G_SOCKET_FAMILY_INVALID, a resolved name gives an address of that
 * family, and a literal of another family is refused; except that with
 * @dual_stack an IPv4 address is mapped into IPv6.
 */
static GSocketAddress *
parse_address (const char     *text,
               const char     *what,
               gboolean        port_zero_ok,
               GSocketFamily   family,
               gboolean        dual_stack,
               GError        **error)
{
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) ia = NULL;
  const char *port_text;
  guint64 port = 0;
  char *end = NULL;

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');

      if (close == NULL || close[1] != ':')
        {
          set_address_error (error, what, text, "no “]:port” after the IPv6 address");
          return NULL;
        }
      host = g_strndup (text + 1, close - text - 1);
      port_text = close + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');

      if (colon == NULL)
        {
          set_address_error (error, what, text, "no port");
          return NULL;
        }
      host = g_strndup (text, colon - text);
      if (strchr (host, ':') != NULL)
        {
          set_address_error (error, what, text,
                             "an IPv6 address must be written in brackets");
          return NULL;
        }
      port_text = colon + 1;
    }

  if (host[0] == '\0')
    {
      set_address_error (error, what, text, "no host");
      return NULL;
    }

  if (!g_ascii_isdigit (port_text[0]) ||
      (port = g_ascii_strtoull (port_text, &end, 10), *end != '\0') ||
      port > 65535)
    {
      set_address_error (error, what, text, "the port is not a number from 0 to 65535");
      return NULL;
    }
  if (port == 0 && !port_zero_ok)
    {
      set_address_error (error, what, text, "port 0");
      return NULL;
    }

  ia = g_inet_address_new_from_string (host);
  if (ia == NULL)
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();
      g_autoptr(GError) local_error = NULL;
      GList *list;

      list = g_resolver_lookup_by_name (resolver, host, NULL, &local_error);
      if (list == NULL)
        {
          g_autofree char *why = g_strdup_printf ("cannot resolve “%s”: %s",
                                                  host, local_error->message);
          set_address_error (error, what, text, why);
          return NULL;
        }
      for (GList *l = list; l != NULL; l = l->next)
        {
          if (family == G_SOCKET_FAMILY_INVALID ||
              g_inet_address_get_family (l->data) == family)
            {
              ia = g_object_ref (l->data);
              break;
            }
        }
      for (GList *l = list; ia == NULL && dual_stack && l != NULL; l = l->next)
        {
          if (g_inet_address_get_family (l->data) == G_SOCKET_FAMILY_IPV4)
            ia = map_ipv4 (l->data);
        }
      g_resolver_free_addresses (list);
      if (ia == NULL)
        {
          set_address_error (error, what, text,
                             family == G_SOCKET_FAMILY_IPV6 ?
                             "it has no IPv6 address, and the node listens on IPv6" :
                             "it has no IPv4 address, and the node listens on IPv4");
          return NULL;
        }
    }
  else if (dual_stack && family == G_SOCKET_FAMILY_IPV6 &&
           g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV4)
    {
      GInetAddress *mapped = map_ipv4 (ia);

      g_object_unref (ia);
      ia = mapped;
    }
  else if (family != G_SOCKET_FAMILY_INVALID &&
           g_inet_address_get_family (ia) != family)
    {
      set_address_error (error, what, text,
                         family == G_SOCKET_FAMILY_IPV6 ?
                         "it is IPv4, and the node listens on IPv6" :
                         "it is IPv6, and the node listens on IPv4");
      return NULL;
    }

  return g_inet_socket_address_new (ia, (guint16) port);
}

/* --- Peers, sessions and indexes ----------------------------------------- */

static Peer *
peer_ref (Peer *peer)
{
  peer->ref_count++;
  return peer;
}

static void
peer_unref (Peer *peer)
{
  if (--peer->ref_count > 0)
    return;

  g_assert (peer->hs == NULL);
  g_assert (peer->current == NULL && peer->previous == NULL && peer->pending == NULL);
  g_clear_object (&peer->address);
  g_free (peer->key_text);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_unref)

static NetNode *
node_from_link (NetReplLink *link)
{
  return (NetNode *) ((guint8 *) link - G_STRUCT_OFFSET (NetNode, link));
}

static guint32
node_new_index (NetNode *self,
                Peer    *peer)
{
  guint32 index;

  do
    index = randombytes_random ();
  while (index == 0 || g_hash_table_contains (self->indexes, GUINT_TO_POINTER (index)));

  g_hash_table_insert (self->indexes, GUINT_TO_POINTER (index), peer);
  return index;
}

static void
node_drop_index (NetNode *self,
                 guint32  index)
{
  if (index != 0)
    g_hash_table_remove (self->indexes, GUINT_TO_POINTER (index));
}

static void
node_clear_session (NetNode  *self,
                    Session **session)
{
  Session *s = g_steal_pointer (session);

  if (s == NULL)
    return;
  node_drop_index (self, s->keys.local_index);
  _net_wire_keys_clear (&s->keys);
  g_clear_object (&s->hello_from);
  g_free (s);
}

static void
node_clear_handshake (NetNode *self,
                      Peer    *peer)
{
  node_drop_index (self, peer->hs_index);
  peer->hs_index = 0;
  g_clear_pointer (&peer->hs, _net_noise_handshake_free);
}

static void
peer_update_up (Peer *peer)
{
  peer->up = peer->current != NULL;
}

/* Forgets every session and handshake of @peer; it is down afterwards
 * (announced later by node_announce()). */
static void
node_drop_sessions (NetNode *self,
                    Peer    *peer,
                    gboolean including_pending)
{
  node_clear_handshake (self, peer);
  node_clear_session (self, &peer->current);
  node_clear_session (self, &peer->previous);
  if (including_pending)
    node_clear_session (self, &peer->pending);
  peer->next_initiation = 0;
  peer_update_up (peer);
}

static Peer *
node_find_peer (NetNode    *self,
                const char *public_key)
{
  g_autoptr(GBytes) key = net_identity_public_key_from_string (public_key, NULL);

  if (key == NULL)
    return NULL;

  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (memcmp (peer->ed25519, g_bytes_get_data (key, NULL), sizeof peer->ed25519) == 0)
        return peer;
    }
  return NULL;
}

static Peer *
node_find_peer_by_x25519 (NetNode      *self,
                          const guint8 *x25519)
{
  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (sodium_memcmp (peer->x25519, x25519, sizeof peer->x25519) == 0)
        return peer;
    }
  return NULL;
}

/* Whether @session, one of two overlapping handshakes with @peer, is the
 * one both sides keep: the one initiated by the smaller public key.  Both
 * sides decide alike, so they end up sending on the same session. */
static gboolean
node_session_wins (NetNode *self,
                   Peer    *peer,
                   Session *session)
{
  int cmp = memcmp (_net_identity_get_ed25519_public (self->identity),
                    peer->ed25519, sizeof peer->ed25519);

  return session->initiator ? cmp < 0 : cmp > 0;
}

static void
node_set_previous (NetNode *self,
                   Peer    *peer,
                   Session *session,
                   gint64   now)
{
  if (peer->previous != session)
    node_clear_session (self, &peer->previous);
  peer->previous = session;
  session->demoted = now;
  session->expires = now + self->grace_us;
}

/*
 * @session authenticated: it replaces the current session, which stays
 * for receiving for the grace period.  When both sides initiated at once
 * (@session's handshake started before the current one was confirmed),
 * both sides keep the same one of the two.
 */
static void
node_promote (NetNode *self,
              Peer    *peer,
              Session *session,
              gint64   now)
{
  Session *current = peer->current;

  session->confirmed = now;
  session->last_recv = now;
  self->counters.handshakes_completed++;

  if (current != NULL &&
      session->started < current->confirmed &&
      !node_session_wins (self, peer, session))
    {
      node_set_previous (self, peer, session, now);
    }
  else
    {
      if (current != NULL)
        node_set_previous (self, peer, current, now);
      peer->current = session;
    }

  peer->last_received = now;
  peer_update_up (peer);
}

/* --- Sending ------------------------------------------------------------- */

static void
node_ensure_send_buffers (NetNode *self)
{
  g_assert (self->n_send == 0);

  if (self->send_slot == self->max_datagram)
    return;

  g_free (self->send_data);
  self->send_slot = self->max_datagram;
  self->send_data = g_malloc (SEND_BATCH * self->send_slot);
}

static void
node_count_sent (NetNode *self,
                 gsize    len)
{
  self->counters.datagrams_sent++;
  self->counters.bytes_sent += len;
}

/* Sends the queued datagrams with as few system calls as possible.  A
 * full socket buffer loses the rest (counted as send-failed): the
 * protocol sends again, and a node never blocks. */
static void
node_flush (NetNode *self)
{
  guint i = 0;

  while (i < self->n_send)
    {
      g_autoptr(GError) error = NULL;
      gint n;

      n = g_socket_send_messages (self->socket, self->send_msgs + i,
                                  self->n_send - i, 0, NULL, &error);
      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ||
              g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
            {
              self->counters.send_failed += self->n_send - i;
              break;
            }
          /* This destination failed (unreachable, …): skip it. */
          g_debug ("NetNode %s: cannot send a datagram: %s",
                   self->local_address, error->message);
          self->counters.send_failed++;
          i++;
          continue;
        }

      for (gint k = 0; k < n; k++)
        node_count_sent (self, self->send_vecs[i + k].size);
      i += n;
    }

  for (guint k = 0; k < self->n_send; k++)
    g_clear_object (&self->send_addrs[k]);
  self->n_send = 0;

  if (self->flush_source != NULL)
    g_source_set_ready_time (self->flush_source, -1);
}

/* Queues one datagram as it goes on the wire (after the lossy wrapper). */
static void
node_queue_wire (NetNode        *self,
                 GSocketAddress *address,
                 const guint8   *data,
                 gsize           len)
{
  guint8 *slot;

  if (self->send_hook != NULL &&
      !self->send_hook (self, address, data, len, self->send_hook_data))
    return;

  if (self->n_send == SEND_BATCH || (self->n_send > 0 && len > self->send_slot))
    node_flush (self);
  if (self->n_send == 0)
    node_ensure_send_buffers (self);
  if (len > self->send_slot)
    {
      /* Only raw test datagrams can be larger than max-datagram. */
      self->counters.send_failed++;
      return;
    }

  slot = self->send_data + self->n_send * self->send_slot;
  memcpy (slot, data, len);
  self->send_vecs[self->n_send].buffer = slot;
  self->send_vecs[self->n_send].size = len;
  self->send_addrs[self->n_send] = g_object_ref (address);
  self->send_msgs[self->n_send] = (GOutputMessage) {
    .address = address,
    .vectors = &self->send_vecs[self->n_send],
    .num_vectors = 1,
  };
  self->n_send++;

  /* Outside of our own dispatch (a NetRepl timer sent a message): flush
   * from the next main loop iteration, together with whatever else is
   * sent until then. */
  if (self->in_dispatch == 0 && self->flush_source != NULL)
    g_source_set_ready_time (self->flush_source, 0);
  else if (self->in_dispatch == 0)
    node_flush (self);
}

static void
node_release_held (NetNode *self)
{
  g_autoptr(GSocketAddress) address = g_steal_pointer (&self->held_address);
  g_autofree guint8 *held = g_steal_pointer (&self->held);

  if (held != NULL)
    node_queue_wire (self, address, held, self->held_len);
  self->held_until = 0;
}

/* Queues one datagram, through the lossy wrapper when it is on. */
static void
node_queue_datagram (NetNode        *self,
                     GSocketAddress *address,
                     const guint8   *data,
                     gsize           len)
{
  guint32 roll;

  if (!self->lossy_on)
    {
      node_queue_wire (self, address, data, len);
      return;
    }

  roll = g_rand_int_range (self->lossy_rand, 0, 1000);
  if (roll < self->lossy.drop_permille)
    {
      self->counters.lossy_dropped++;
      return;
    }

  if ((guint32) g_rand_int_range (self->lossy_rand, 0, 1000) < self->lossy.corrupt_permille &&
      len > 0)
    {
      guint bit = g_rand_int_range (self->lossy_rand, 0, (gint32) (len * 8));

      memcpy (self->scratch, data, len);
      self->scratch[bit / 8] ^= 1 << (bit % 8);
      data = self->scratch;
      self->counters.lossy_corrupted++;
    }

  if ((guint32) g_rand_int_range (self->lossy_rand, 0, 1000) < self->lossy.reorder_permille)
    {
      /* Hold it back: it goes after the next datagram, or soon. */
      node_release_held (self);
      self->held = g_memdup2 (data, len);
      self->held_len = len;
      self->held_address = g_object_ref (address);
      self->held_until = g_get_monotonic_time () + LOSSY_HOLD_US;
      self->counters.lossy_reordered++;
      node_reschedule (self);
      return;
    }

  node_queue_wire (self, address, data, len);
  if ((guint32) g_rand_int_range (self->lossy_rand, 0, 1000) < self->lossy.duplicate_permille)
    {
      node_queue_wire (self, address, data, len);
      self->counters.lossy_duplicated++;
    }
  node_release_held (self);
}

/* Seals @message (empty: a keepalive) on @peer's current session and
 * queues it. */
static gboolean
node_send_data_unbudgeted (NetNode      *self,
                           Peer         *peer,
                           const guint8 *message,
                           gsize         len)
{
  g_autoptr(GError) error = NULL;
  guint8 *out;
  gsize out_len = 0;

  if (peer->current == NULL || peer->address == NULL)
    return FALSE;
  if (len + NET_WIRE_DATA_OVERHEAD > self->max_datagram)
    return FALSE;

  /* Not into self->scratch: the lossy wrapper copies into that one. */
  out = self->sealed;
  if (!_net_wire_seal (&peer->current->keys, message, len,
                       out, NET_WIRE_MAX_MAX_DATAGRAM, &out_len, &error))
    {
      /* The counters of this key are used up: drop the session. */
      g_debug ("NetNode %s: cannot seal for %s: %s",
               self->local_address, peer->key_text, error->message);
      node_clear_session (self, &peer->current);
      peer_update_up (peer);
      return FALSE;
    }

  peer->last_sent = g_get_monotonic_time ();
  node_queue_datagram (self, peer->address, out, out_len);
  return TRUE;
}

/* What a peer's address gets: all of it once validated, else what is left
 * of its budget (the replication timers retry what is refused here). */
static gboolean
node_send_data (NetNode      *self,
                Peer         *peer,
                const guint8 *message,
                gsize         len)
{
  gsize cost = len + NET_WIRE_DATA_OVERHEAD;

  if (!peer->validated && peer->address != NULL)
    {
      if (cost > peer->path_budget)
        {
          self->counters.path_budget_dropped++;
          return FALSE;
        }
      if (!node_send_data_unbudgeted (self, peer, message, len))
        return FALSE;
      peer->path_budget -= cost;
      return TRUE;
    }
  return node_send_data_unbudgeted (self, peer, message, len);
}

/* Asks the peer's (new) address to prove it receives: a fresh token, to
 * be echoed from there. */
static void
node_send_path_challenge (NetNode *self,
                          Peer    *peer,
                          gint64   now)
{
  guint8 msg[1 + PATH_TOKEN_LEN];

  if (peer->current == NULL || peer->address == NULL)
    return;
  msg[0] = NODE_PATH_CHALLENGE;
  memcpy (msg + 1, peer->path_token, PATH_TOKEN_LEN);
  peer->challenge_sent = now;
  /* Budgeted too: an address that never answers gets a bounded number. */
  if (node_send_data (self, peer, msg, sizeof msg))
    self->counters.path_challenges_sent++;
}

/* @peer's datagrams now come from @address: it gets a small budget there
 * until it echoes a challenge, unless @proven. */
static void
node_set_peer_address (NetNode        *self,
                       Peer           *peer,
                       GSocketAddress *address,
                       gboolean        proven,
                       gint64          now)
{
  if (peer->address != NULL && address_equal (peer->address, address))
    {
      if (proven && !peer->validated)
        {
          peer->validated = TRUE;
          self->counters.path_validated++;
        }
      return;
    }
  g_set_object (&peer->address, address);
  peer->validated = proven;
  if (proven)
    {
      self->counters.path_validated++;
      return;
    }
  peer->path_budget = PATH_BUDGET;
  randombytes_buf (peer->path_token, sizeof peer->path_token);
  node_send_path_challenge (self, peer, now);
}

/* A node message (a path challenge or its echo) from @peer at @from. */
static void
node_handle_path (NetNode        *self,
                  Peer           *peer,
                  const guint8   *message,
                  gsize           len,
                  GSocketAddress *from)
{
  if (len != 1 + PATH_TOKEN_LEN)
    {
      self->counters.dropped_malformed_message++;
      return;
    }
  if (message[0] == NODE_PATH_CHALLENGE)
    {
      guint8 echo[1 + PATH_TOKEN_LEN];

      /* Echoed to where we send anyway; tiny, so not budgeted. */
      echo[0] = NODE_PATH_RESPONSE;
      memcpy (echo + 1, message + 1, PATH_TOKEN_LEN);
      node_send_data_unbudgeted (self, peer, echo, sizeof echo);
      return;
    }
  /* The echo proves the address it came from receives what we send
   * there only when it is the challenged address. */
  if (!peer->validated && peer->address != NULL && address_equal (peer->address, from) &&
      sodium_memcmp (message + 1, peer->path_token, PATH_TOKEN_LEN) == 0)
    {
      peer->validated = TRUE;
      self->counters.path_validated++;
    }
}

static void
node_send_keepalive (NetNode *self,
                     Peer    *peer)
{
  /* Even when it cannot be sent: the timer must not fire again at once. */
  peer->last_sent = g_get_monotonic_time ();
  if (node_send_data (self, peer, NULL, 0))
    self->counters.keepalives_sent++;
}

/* --- Handshakes ---------------------------------------------------------- */

static gint64
node_jittered_retry (NetNode *self)
{
  gint64 spread = self->retry_us / 5;

  return self->retry_us - spread / 2 + randombytes_uniform ((guint32) MIN (spread, G_MAXUINT32) + 1);
}

/* The peer, under load, told us a cookie lately: a handshake message to
 * it (@len bytes up to its mac1, with room for a mac2 after) proves with
 * a mac2 that we receive at our address, so that the peer reads it.
 * Returns the length to send. */
static gsize
peer_put_mac2 (Peer   *peer,
               guint8 *data,
               gsize   len,
               gint64  now)
{
  if (peer->cookie_received == 0 || now - peer->cookie_received >= COOKIE_SECRET_US)
    return len;
  _net_wire_put_mac2 (peer->cookie, data, len + NET_WIRE_MAC_LEN);
  return len + NET_WIRE_MAC_LEN;
}

/* Sends a fresh initiation to @peer (a fresh ephemeral, index and
 * timestamp), forgetting any earlier attempt. */
static void
node_initiate (NetNode *self,
               Peer    *peer,
               gint64   now)
{
  g_autoptr(GError) error = NULL;
  guint8 out[NET_WIRE_INITIATION_MAC2_LEN];
  gsize len = NET_WIRE_INITIATION_LEN;
  NetNoiseHandshake *hs;
  guint32 index;
  guint64 timestamp;

  node_clear_handshake (self, peer);
  peer->next_initiation = now + node_jittered_retry (self);

  if (peer->address == NULL)
    return;

  index = node_new_index (self, peer);
  timestamp = MAX ((guint64) g_get_real_time (), self->last_timestamp + 1);
  self->last_timestamp = timestamp;

  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (self->identity),
                                   peer->x25519,
                                   _net_identity_get_ed25519_public (self->identity),
                                   index, timestamp, NULL, out, &error);
  if (hs == NULL)
    {
      g_warning ("NetNode %s: cannot write a handshake initiation for %s: %s",
                 self->local_address, peer->key_text, error->message);
      node_drop_index (self, index);
      return;
    }

  peer->hs = hs;
  peer->hs_index = index;
  peer->hs_started = now;
  memcpy (peer->hs_mac1, out + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN, NET_WIRE_MAC_LEN);
  len = peer_put_mac2 (peer, out, len, now);
  self->counters.handshakes_initiated++;
  node_queue_datagram (self, peer->address, out, len);
}

/* Whether we should be handshaking with @peer: it is not up, or the
 * session we initiated is due for renewal. */
static gboolean
peer_needs_handshake (NetNode *self,
                      Peer    *peer,
                      gint64   now)
{
  if (peer->address == NULL)
    return FALSE;
  if (peer->current == NULL)
    return TRUE;
  return peer->current->initiator &&
         (now - peer->current->confirmed >= self->rekey_us ||
          peer->current->keys.send_counter >= REKEY_AFTER_MESSAGES);
}

static void
node_count_drop (NetNode     *self,
                 NetWireDrop  reason)
{
  g_assert (reason > NET_WIRE_OK && reason < NET_WIRE_N_DROP_REASONS);
  self->counters.dropped[reason]++;
}

/* The state file: one “KEY TIMESTAMP” line per peer, the greatest
 * initiation timestamp accepted from it, so that an initiation captured
 * before a restart is refused after it too. */
static gboolean
node_write_state (NetNode  *self,
                  GError  **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, self->timestamps);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (text, "%s %" G_GUINT64_FORMAT "\n",
                            (const char *) key, *(guint64 *) value);
  return g_file_set_contents_full (self->state_file, text->str, text->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static void
node_save_timestamp (NetNode *self,
                     Peer    *peer)
{
  g_autoptr(GError) error = NULL;

  g_hash_table_replace (self->timestamps, g_strdup (peer->key_text),
                        g_memdup2 (&peer->last_timestamp, sizeof peer->last_timestamp));
  if (self->state_file != NULL && !node_write_state (self, &error))
    g_warning ("NetNode %s: cannot save the handshake state to %s: %s",
               self->local_address, self->state_file, error->message);
}

/* Whether a handshake message may cost a Diffie-Hellman now: a token
 * bucket of DH_PER_SECOND, DH_BURST deep. */
static gboolean
node_take_dh_token (NetNode *self)
{
  gint64 now = g_get_monotonic_time ();

  self->dh_tokens = MIN ((double) DH_BURST,
                         self->dh_tokens + (now - self->dh_refilled) * DH_PER_SECOND / 1e6);
  self->dh_refilled = now;
  if (self->dh_tokens < 1)
    {
      self->counters.dropped_busy++;
      return FALSE;
    }
  self->dh_tokens -= 1;
  return TRUE;
}

/* Whether @ephemeral began an initiation that authenticated lately. */
static gboolean
node_ephemeral_seen (NetNode      *self,
                     const guint8 *ephemeral)
{
  g_autoptr(GBytes) key = g_bytes_new_static (ephemeral, NET_NOISE_DHLEN);

  return g_hash_table_contains (self->ephemerals, key);
}

static void
node_remember_ephemeral (NetNode      *self,
                         const guint8 *ephemeral)
{
  GBytes *key = g_bytes_new (ephemeral, NET_NOISE_DHLEN);
  GBytes **slot = &self->ephemeral_ring[self->ephemeral_next];

  if (g_hash_table_contains (self->ephemerals, key))
    {
      g_bytes_unref (key);
      return;
    }
  if (*slot != NULL)
    g_hash_table_remove (self->ephemerals, *slot);
  *slot = key;
  g_hash_table_add (self->ephemerals, g_bytes_ref (key));
  self->ephemeral_next = (self->ephemeral_next + 1) % RECENT_EPHEMERALS;
}

/* A key not in the allow-list completed message 1: report it, once a
 * minute per key (after this piece of work, as NetNode::peer-refused). */
static void
node_report_refused (NetNode        *self,
                     const guint8   *ed25519,
                     GSocketAddress *from)
{
  g_autoptr(GBytes) key = g_bytes_new (ed25519, NET_IDENTITY_PUBLIC_KEY_SIZE);
  g_autofree char *text = net_identity_public_key_to_string (key);
  gint64 now = g_get_monotonic_time ();
  gpointer last;
  RefusedReport *r;

  if (g_hash_table_lookup_extended (self->refused_reported, text, NULL, &last) &&
      now - *(gint64 *) last < REFUSED_REPORT_US)
    return;

  /* Bounded: forget the reports older than the interval, or all of them. */
  if (g_hash_table_size (self->refused_reported) >= REFUSED_KEYS_MAX)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->refused_reported);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (now - *(gint64 *) value >= REFUSED_REPORT_US)
          g_hash_table_iter_remove (&iter);
      if (g_hash_table_size (self->refused_reported) >= REFUSED_KEYS_MAX)
        return;
    }
  g_hash_table_replace (self->refused_reported, g_strdup (text), g_memdup2 (&now, sizeof now));

  r = g_new0 (RefusedReport, 1);
  r->key_text = g_steal_pointer (&text);
  r->address = format_address (from);
  g_ptr_array_add (self->refused_pending, r);
}

typedef struct
{
  double tokens;
  gint64 refilled;
} SourceBucket;

/* Whether the node is under load: its DH bucket fell below half less than
 * UNDER_LOAD_US ago. */
static gboolean
node_under_load (NetNode *self,
                 gint64   now)
{
  double tokens = MIN ((double) DH_BURST,
                       self->dh_tokens + (now - self->dh_refilled) * DH_PER_SECOND / 1e6);

  if (tokens < DH_BURST / 2)
    self->under_load_until = now + UNDER_LOAD_US;
  return self->force_under_load || now < self->under_load_until;
}

/* The bytes a cookie binds: the address family, the IP and the port. */
static GBytes *
source_bytes (GSocketAddress *from)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (from);
  GInetAddress *ip = g_inet_socket_address_get_address (inet);
  guint8 buf[1 + 16 + 2];
  gsize n = g_inet_address_get_native_size (ip);
  guint16 port = g_inet_socket_address_get_port (inet);

  g_assert (n <= 16);
  buf[0] = (guint8) g_inet_address_get_family (ip);
  memcpy (buf + 1, g_inet_address_to_bytes (ip), n);
  buf[1 + n] = port & 0xff;
  buf[2 + n] = port >> 8;
  return g_bytes_new (buf, n + 3);
}

/* The cookie of @source now: the secret is renewed every two minutes. */
static void
node_cookie_for (NetNode *self,
                 GBytes  *source,
                 gint64   now,
                 guint8  *cookie)
{
  gsize n;
  const guint8 *bytes = g_bytes_get_data (source, &n);

  if (self->cookie_secret_made == 0 || now - self->cookie_secret_made >= COOKIE_SECRET_US)
    {
      randombytes_buf (self->cookie_secret, sizeof self->cookie_secret);
      self->cookie_secret_made = now;
    }
  _net_wire_cookie_make (self->cookie_secret, bytes, n, cookie);
}

/* Under load, initiations with a valid mac2 are still limited per source
 * address: a host that receives at its address cannot take the whole
 * DH budget either. */
static gboolean
node_take_source_token (NetNode *self,
                        GBytes  *source,
                        gint64   now)
{
  SourceBucket *b = g_hash_table_lookup (self->sources, source);

  if (b == NULL)
    {
      /* Bounded: an attacker with many addresses only resets them all. */
      if (g_hash_table_size (self->sources) >= SOURCES_MAX)
        g_hash_table_remove_all (self->sources);
      b = g_new0 (SourceBucket, 1);
      b->tokens = SOURCE_BURST;
      b->refilled = now;
      g_hash_table_insert (self->sources, g_bytes_ref (source), b);
    }
  b->tokens = MIN ((double) SOURCE_BURST,
                   b->tokens + (now - b->refilled) * SOURCE_PER_SECOND / 1e6);
  b->refilled = now;
  if (b->tokens < 1)
    return FALSE;
  b->tokens -= 1;
  return TRUE;
}

/* Under load: answers a handshake message whose mac2 is missing or wrong
 * with a cookie reply, or limits one with a valid mac2 per source
 * address.  @data is an initiation, or a response to our own initiation
 * (WireGuard lets both sides ask for a cookie): @msg_len bytes up to its
 * mac1, @len with its mac2 if any; @initiator_index names the handshake
 * in the reply.  Returns whether the message may go on to the DH
 * bucket. */
static gboolean
node_check_load (NetNode        *self,
                 const guint8   *data,
                 gsize           msg_len,
                 gsize           len,
                 guint32         initiator_index,
                 GSocketAddress *from)
{
  g_autoptr(GBytes) source = NULL;
  guint8 cookie[NET_WIRE_COOKIE_LEN];
  guint8 reply[NET_WIRE_COOKIE_REPLY_LEN];
  gint64 now = g_get_monotonic_time ();
  const guint8 *mac1 = data + msg_len - NET_WIRE_MAC_LEN;

  if (!node_under_load (self, now))
    return TRUE;

  source = source_bytes (from);
  node_cookie_for (self, source, now, cookie);
  if (_net_wire_check_mac2 (cookie, data, len))
    {
      sodium_memzero (cookie, sizeof cookie);
      if (node_take_source_token (self, source, now))
        return TRUE;
      self->counters.dropped_busy++;
      return FALSE;
    }

  /* Unread, as when the bucket is empty, but answered with what it takes
   * to be read: the cookie of the source address, sealed under a key of
   * our public key (which the sender knows) with its mac1 as associated
   * data.  Only who receives at that address gets it. */
  self->counters.dropped_busy++;
  sodium_increment (self->cookie_nonce, sizeof self->cookie_nonce);
  _net_wire_cookie_reply_write (self->cookie_key, initiator_index, mac1, cookie,
                                self->cookie_nonce, reply);
  sodium_memzero (cookie, sizeof cookie);
  self->counters.cookie_replies_sent++;
  node_queue_datagram (self, from, reply, sizeof reply);
  return FALSE;
}

static void
node_handle_initiation (NetNode             *self,
                        const NetWireHeader *header,
                        const guint8        *data,
                        gsize                len,
                        GSocketAddress      *from)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetNoiseHandshake) hs = NULL;
  guint8 ed25519[NET_IDENTITY_PUBLIC_KEY_SIZE];
  const guint8 *ephemeral = data + NET_WIRE_INITIATION_EPHEMERAL_OFFSET;
  guint32 sender_index = 0;
  guint64 timestamp = 0;
  Session *session;
  Peer *peer;
  gint64 now;

  if (header->receiver_index != 0 || header->counter != 0)
    {
      node_count_drop (self, NET_WIRE_DROP_MALFORMED);
      return;
    }

  /* The cheap checks first: whoever does not know our public key, or
   * replays an initiation that authenticated lately, costs a hash or a
   * lookup, never a Diffie-Hellman. */
  if (!_net_wire_check_mac1 (self->mac1_key, data, NET_WIRE_INITIATION_LEN))
    {
      node_count_drop (self, NET_WIRE_DROP_MAC);
      return;
    }
  if (node_ephemeral_seen (self, ephemeral))
    {
      node_count_drop (self, NET_WIRE_DROP_HANDSHAKE_REPLAY);
      return;
    }

  if (!node_check_load (self, data, NET_WIRE_INITIATION_LEN, len,
                        data[16] | (data[17] << 8) | (data[18] << 16) |
                        ((guint32) data[19] << 24),
                        from))
    return;
  if (!node_take_dh_token (self))
    return;
  self->counters.handshakes_read++;
  /* Read without its mac2, if any: mac1 ends the Noise part. */
  hs = _net_wire_initiation_read (_net_identity_get_x25519_secret (self->identity),
                                  self->mac1_key, data, NET_WIRE_INITIATION_LEN,
                                  &sender_index, &timestamp,
                                  ed25519, &error);
  if (hs == NULL)
    {
      node_count_drop (self, g_error_matches (error, NET_ERROR, NET_ERROR_AUTH_FAILED) ?
                             NET_WIRE_DROP_AUTH : NET_WIRE_DROP_MALFORMED);
      return;
    }

  peer = node_find_peer_by_x25519 (self, _net_noise_handshake_get_remote_static (hs));
  if (peer == NULL)
    {
      node_count_drop (self, NET_WIRE_DROP_UNKNOWN_PEER);
      node_report_refused (self, ed25519, from);
      return;
    }

  /* It authenticated: a replay of it is refused before any DH from now
   * on (whether it is accepted below or is itself a late replay). */
  node_remember_ephemeral (self, ephemeral);

  if (timestamp <= peer->last_timestamp)
    {
      node_count_drop (self, NET_WIRE_DROP_HANDSHAKE_REPLAY);
      return;
    }

  session = g_new0 (Session, 1);
  session->keys.local_index = node_new_index (self, peer);
  if (!_net_wire_response_write (hs, sender_index, session->keys.local_index,
                                 NULL, session->response, &error))
    {
      g_warning ("NetNode %s: cannot write a handshake response for %s: %s",
                 self->local_address, peer->key_text, error->message);
      node_clear_session (self, &session);
      return;
    }

  peer->last_timestamp = timestamp;
  node_save_timestamp (self, peer);
  now = g_get_monotonic_time ();
  _net_wire_keys_init (&session->keys, hs, session->keys.local_index, sender_index);
  session->initiator = FALSE;
  session->started = now;
  session->expires = now + self->grace_us;
  session->hello_from = g_object_ref (from);

  node_clear_session (self, &peer->pending);
  peer->pending = session;

  /* The address is learnt only from the data datagram that confirms the
   * session: an initiation proves nothing about where it came from. */
  node_queue_datagram (self, from, session->response,
                       peer_put_mac2 (peer, session->response, NET_WIRE_RESPONSE_LEN, now));
}

static void
node_handle_response (NetNode             *self,
                      const NetWireHeader *header,
                      const guint8        *data,
                      gsize                len,
                      GSocketAddress      *from)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetNoiseHandshake) attempt = NULL;
  guint32 responder_index = 0;
  Session *session;
  Peer *peer;
  gint64 now;

  if (header->counter != 0)
    {
      node_count_drop (self, NET_WIRE_DROP_MALFORMED);
      return;
    }

  peer = g_hash_table_lookup (self->indexes, GUINT_TO_POINTER (header->receiver_index));
  if (peer == NULL || peer->hs == NULL || peer->hs_index != header->receiver_index)
    {
      node_count_drop (self, NET_WIRE_DROP_UNKNOWN_INDEX);
      return;
    }

  /* The response is read on a copy: the initiator's index travels in
   * clear, so anyone who sees the initiation can answer it with junk.  A
   * response that fails leaves the handshake waiting for the genuine one
   * until its own retry timer replaces it.  mac1 ends the Noise part; a
   * mac2 after it is looked at only under load. */
  if (!_net_wire_check_mac1 (self->mac1_key, data, NET_WIRE_RESPONSE_LEN))
    {
      node_count_drop (self, NET_WIRE_DROP_MAC);
      return;
    }

  /* Junk responses cost a DH each as well: under load, only a response
   * from an address that proved it receives is read.  The genuine
   * responder gets a cookie reply and sends its response again with a
   * mac2, so our handshake in flight still completes. */
  if (!node_check_load (self, data, NET_WIRE_RESPONSE_LEN, len, header->receiver_index, from))
    return;
  if (!node_take_dh_token (self))
    return;
  self->counters.handshakes_read++;
  attempt = _net_noise_handshake_copy (peer->hs);
  if (!_net_wire_response_read (attempt, self->mac1_key, data, NET_WIRE_RESPONSE_LEN,
                                &responder_index, &error))
    {
      node_count_drop (self, g_error_matches (error, NET_ERROR, NET_ERROR_AUTH_FAILED) ?
                             NET_WIRE_DROP_AUTH : NET_WIRE_DROP_MALFORMED);
      return;
    }

  now = g_get_monotonic_time ();
  session = g_new0 (Session, 1);
  _net_wire_keys_init (&session->keys, attempt, peer->hs_index, responder_index);
  session->initiator = TRUE;
  session->started = peer->hs_started;
  /* The index now belongs to the session. */
  peer->hs_index = 0;
  g_clear_pointer (&peer->hs, _net_noise_handshake_free);
  peer->next_initiation = 0;

  node_promote (self, peer, session, now);
  /* Our initiation went to peer->address, and the answer proves it got
   * there; another source address has proven nothing yet. */
  node_set_peer_address (self, peer, from,
                         peer->address != NULL && address_equal (peer->address, from), now);

  /* Key confirmation for the responder. */
  node_send_keepalive (self, peer);
}

/* The peer whose pending session (we answered its initiation) the
 * initiator's index @initiator_index names, or NULL.  A scan: peers are
 * few, and a cookie reply costs its sender as much. */
static Peer *
node_find_pending_by_initiator (NetNode *self,
                                guint32  initiator_index)
{
  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (peer->pending != NULL && peer->pending->keys.remote_index == initiator_index)
        return peer;
    }
  return NULL;
}

/* Opens the cookie reply @data from @peer, sealed with the mac1 @mac1 of
 * our message it answers, and keeps the cookie: our next handshake
 * messages to that peer carry a mac2 made with it. */
static gboolean
node_take_cookie (NetNode      *self,
                  Peer         *peer,
                  const guint8 *mac1,
                  const guint8 *data,
                  gsize         len)
{
  guint8 key[NET_WIRE_MAC1_KEY_LEN];
  guint8 cookie[NET_WIRE_COOKIE_LEN];

  _net_wire_cookie_key (peer->x25519, key);
  if (!_net_wire_cookie_reply_read (key, mac1, data, len, cookie))
    return FALSE;
  memcpy (peer->cookie, cookie, sizeof cookie);
  sodium_memzero (cookie, sizeof cookie);
  peer->cookie_received = g_get_monotonic_time ();
  self->counters.cookie_replies_received++;
  return TRUE;
}

/* A peer under load answered a handshake message of ours with a cookie.
 * Its receiver index is the initiator's index of that handshake: ours
 * when it answers our initiation (the next initiation carries a mac2),
 * the peer's when it answers our response to its initiation: we send
 * that response once more, with a mac2, so that its handshake in flight
 * completes without waiting for its retry. */
static void
node_handle_cookie_reply (NetNode             *self,
                          const NetWireHeader *header,
                          const guint8        *data,
                          gsize                len)
{
  gboolean known = FALSE;
  Session *session;
  Peer *peer;
  gint64 now;

  peer = g_hash_table_lookup (self->indexes, GUINT_TO_POINTER (header->receiver_index));
  if (peer != NULL && peer->hs != NULL && peer->hs_index == header->receiver_index)
    {
      known = TRUE;
      if (node_take_cookie (self, peer, peer->hs_mac1, data, len))
        return;
    }

  /* Indexes are chosen by each side alone: the peer's may equal one of
   * ours, so this is tried too when the above did not authenticate. */
  peer = node_find_pending_by_initiator (self, header->receiver_index);
  if (peer != NULL)
    {
      session = peer->pending;
      known = TRUE;
      if (node_take_cookie (self, peer,
                            session->response + NET_WIRE_RESPONSE_LEN - NET_WIRE_MAC_LEN,
                            data, len))
        {
          /* Once: a replayed cookie reply gets nothing more. */
          if (!session->response_resent)
            {
              session->response_resent = TRUE;
              now = g_get_monotonic_time ();
              node_queue_datagram (self, session->hello_from, session->response,
                                   peer_put_mac2 (peer, session->response,
                                                  NET_WIRE_RESPONSE_LEN, now));
            }
          return;
        }
    }

  node_count_drop (self, known ? NET_WIRE_DROP_AUTH : NET_WIRE_DROP_UNKNOWN_INDEX);
}

static void
node_dispatch_message (NetNode      *self,
                       Peer         *peer,
                       const guint8 *message,
                       gsize         len)
{
  NetRepl *repl = message[0] < NET_REPL_TO_FOLLOWER ? self->leader : self->follower;
  g_autoptr(Peer) hold = NULL;

  if (repl == NULL)
    {
      self->counters.dropped_no_service++;
      return;
    }

  hold = peer_ref (peer);
  if (!_net_repl_receive (repl, peer, message, len))
    self->counters.dropped_malformed_message++;
}

static void
node_handle_data (NetNode             *self,
                  const NetWireHeader *header,
                  const guint8        *data,
                  gsize                len,
                  GSocketAddress      *from)
{
  Session *session = NULL;
  NetWireDrop drop;
  gsize plain_len = 0;
  Peer *peer;
  gint64 now;

  peer = g_hash_table_lookup (self->indexes, GUINT_TO_POINTER (header->receiver_index));
  if (peer != NULL)
    {
      if (peer->current != NULL && peer->current->keys.local_index == header->receiver_index)
        session = peer->current;
      else if (peer->previous != NULL && peer->previous->keys.local_index == header->receiver_index)
        session = peer->previous;
      else if (peer->pending != NULL && peer->pending->keys.local_index == header->receiver_index)
        session = peer->pending;
    }
  if (session == NULL)
    {
      node_count_drop (self, NET_WIRE_DROP_UNKNOWN_INDEX);
      return;
    }

  drop = _net_wire_open (&session->keys, header, data, len,
                         self->plain, NET_WIRE_MAX_MAX_DATAGRAM, &plain_len);
  if (drop != NET_WIRE_OK)
    {
      node_count_drop (self, drop);
      return;
    }

  now = g_get_monotonic_time ();
  session->last_recv = now;
  peer->last_received = now;

  if (session == peer->pending)
    {
      /* Key confirmation from where the initiation came from: the
       * response we sent there arrived, the address receives. */
      gboolean proven = session->hello_from != NULL && address_equal (session->hello_from, from);

      peer->pending = NULL;
      session->expires = 0;
      node_promote (self, peer, session, now);
      node_set_peer_address (self, peer, from, proven, now);
    }
  /* Roaming: the peer is where its authenticated datagrams come from, but
   * a new address gets a small budget until it proves it receives. */
  else if (peer->address == NULL || !address_equal (peer->address, from))
    node_set_peer_address (self, peer, from, FALSE, now);

  else if (session == peer->previous)
    {
      Session *current = peer->current;

      /* Still in use by the peer: keep it.  If the peer keeps sending
       * on it and nothing on the current one, the two sides chose
       * differently; the side with the greater key follows. */
      session->expires = MAX (session->expires, now + self->grace_us);
      if (current != NULL &&
          current->last_recv <= session->demoted &&
          now - session->demoted >= 2 * self->keepalive_us &&
          memcmp (_net_identity_get_ed25519_public (self->identity),
                  peer->ed25519, sizeof peer->ed25519) > 0)
        {
          peer->current = session;
          session->expires = 0;
          node_set_previous (self, peer, current, now);
        }
    }

  if (plain_len > 0 &&
      (self->plain[0] == NODE_PATH_CHALLENGE || self->plain[0] == NODE_PATH_RESPONSE))
    node_handle_path (self, peer, self->plain, plain_len, from);
  else if (plain_len > 0)
    node_dispatch_message (self, peer, self->plain, plain_len);
}

static void
node_handle_datagram (NetNode        *self,
                      const guint8   *data,
                      gsize           len,
                      GSocketAddress *from)
{
  NetWireHeader header;
  NetWireDrop drop;

  self->counters.datagrams_received++;
  self->counters.bytes_received += len;

  if (from == NULL || !G_IS_INET_SOCKET_ADDRESS (from))
    {
      node_count_drop (self, NET_WIRE_DROP_MALFORMED);
      return;
    }

  drop = _net_wire_parse_header (data, len, self->max_datagram, &header);
  if (drop != NET_WIRE_OK)
    {
      node_count_drop (self, drop);
      return;
    }

  switch (header.type)
    {
    case NET_WIRE_HANDSHAKE_INITIATION:
      node_handle_initiation (self, &header, data, len, from);
      break;

    case NET_WIRE_HANDSHAKE_RESPONSE:
      node_handle_response (self, &header, data, len, from);
      break;

    case NET_WIRE_DATA:
      node_handle_data (self, &header, data, len, from);
      break;

    case NET_WIRE_COOKIE_REPLY:
      node_handle_cookie_reply (self, &header, data, len);
      break;

    default:
      node_count_drop (self, NET_WIRE_DROP_MALFORMED);
      break;
    }
}

/* --- Up and down --------------------------------------------------------- */

/* Emits peer-up / peer-down (and tells the NetRepls) for every peer whose
 * state changed since the last announcement.  Called after the work of a
 * dispatch, never while it iterates peers or sessions: handlers may call
 * back into the node. */
static void
node_announce (NetNode *self)
{
  g_autoptr(GPtrArray) changed = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_unref);

  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (peer->up != peer->announced_up)
        g_ptr_array_add (changed, peer_ref (peer));
    }

  for (guint i = 0; i < changed->len; i++)
    {
      Peer *peer = g_ptr_array_index (changed, i);
      g_autofree char *key_text = NULL;

      if (peer->removed || peer->up == peer->announced_up)
        continue;

      peer->announced_up = peer->up;
      key_text = g_strdup (peer->key_text);
      if (peer->up)
        {
          g_debug ("NetNode %s: peer %s is up", self->local_address, key_text);
          if (self->leader != NULL)
            _net_repl_peer_up (self->leader, peer);
          if (self->follower != NULL && !peer->removed)
            _net_repl_peer_up (self->follower, peer);
          if (!peer->removed)
            g_signal_emit (self, signals[PEER_UP], 0, key_text);
        }
      else
        {
          g_debug ("NetNode %s: peer %s is down", self->local_address, key_text);
          if (self->leader != NULL)
            _net_repl_peer_down (self->leader, peer);
          if (self->follower != NULL && !peer->removed)
            _net_repl_peer_down (self->follower, peer);
          if (!peer->removed)
            g_signal_emit (self, signals[PEER_DOWN], 0, key_text);
        }
    }
}

/* --- Timers -------------------------------------------------------------- */

static gint64
peer_next_deadline (NetNode *self,
                    Peer    *peer,
                    gint64   now)
{
  gint64 next = G_MAXINT64;

  if (peer_needs_handshake (self, peer, now))
    next = MIN (next, peer->next_initiation);
  else if (peer->hs != NULL)
    next = MIN (next, peer->next_initiation);

  if (peer->current != NULL)
    {
      next = MIN (next, peer->last_sent + self->keepalive_us);
      next = MIN (next, peer->last_received + self->dead_us);
      next = MIN (next, peer->current->confirmed + REJECT_AFTER_US);
      if (peer->current->initiator && peer->address != NULL)
        next = MIN (next, peer->current->confirmed + self->rekey_us);
    }
  if (peer->previous != NULL)
    next = MIN (next, peer->previous->expires);
  if (peer->pending != NULL)
    next = MIN (next, peer->pending->expires);
  if (peer->current != NULL && !peer->validated && peer->address != NULL)
    next = MIN (next, peer->challenge_sent + self->retry_us);

  return next;
}

static void
node_reschedule (NetNode *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;

  if (self->timer_source == NULL)
    return;

  for (guint i = 0; i < self->peers->len; i++)
    next = MIN (next, peer_next_deadline (self, g_ptr_array_index (self->peers, i), now));
  if (self->held != NULL)
    next = MIN (next, self->held_until);

  g_source_set_ready_time (self->timer_source, next == G_MAXINT64 ? -1 : MAX (next, 0));
}

static void
node_tick_peer (NetNode *self,
                Peer    *peer,
                gint64   now)
{
  if (peer->pending != NULL && now >= peer->pending->expires)
    node_clear_session (self, &peer->pending);
  if (peer->previous != NULL && now >= peer->previous->expires)
    node_clear_session (self, &peer->previous);

  if (peer->current != NULL &&
      (now - peer->last_received >= self->dead_us ||
       now - peer->current->confirmed >= REJECT_AFTER_US))
    {
      g_debug ("NetNode %s: nothing from %s for %" G_GINT64_FORMAT " ms",
               self->local_address, peer->key_text, (now - peer->last_received) / 1000);
      node_drop_sessions (self, peer, FALSE);
    }

  if (peer_needs_handshake (self, peer, now))
    {
      if (peer->next_initiation == 0 || now >= peer->next_initiation)
        node_initiate (self, peer, now);
    }
  else if (peer->hs != NULL && now >= peer->next_initiation)
    {
      node_clear_handshake (self, peer);
      peer->next_initiation = 0;
    }

  if (peer->current != NULL && !peer->validated && peer->address != NULL &&
      now - peer->challenge_sent >= self->retry_us)
    node_send_path_challenge (self, peer, now);

  if (peer->current != NULL && now - peer->last_sent >= self->keepalive_us)
    node_send_keepalive (self, peer);
}

static void
node_tick (NetNode *self)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < self->peers->len; i++)
    node_tick_peer (self, g_ptr_array_index (self->peers, i), now);

  if (self->held != NULL && now >= self->held_until)
    node_release_held (self);
}

/* The end of every piece of work: tell about peers that went up or down,
 * send what was queued, and set the timer to the next deadline. */
static void
node_after_work (NetNode *self)
{
  if (self->refused_pending->len > 0)
    {
      g_autoptr(GPtrArray) reports = g_steal_pointer (&self->refused_pending);

      self->refused_pending = g_ptr_array_new_with_free_func ((GDestroyNotify) refused_report_free);
      g_object_ref (self);
      for (guint i = 0; i < reports->len; i++)
        {
          RefusedReport *r = g_ptr_array_index (reports, i);

          g_signal_emit (self, signals[PEER_REFUSED], 0, r->key_text, r->address);
        }
      g_object_unref (self);
    }
  node_announce (self);
  if (self->follow_error != NULL)
    {
      g_autoptr(GError) error = g_steal_pointer (&self->follow_error);

      g_signal_emit (self, signals[FOLLOW_FAILED], 0, error);
    }
  node_flush (self);
  node_reschedule (self);
}

static gboolean
timer_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  g_source_set_ready_time (source, -1);
  return callback (user_data);
}

static GSourceFuncs timer_source_funcs = {
  .dispatch = timer_source_dispatch,
};

static gboolean
on_timer (gpointer user_data)
{
  g_autoptr(NetNode) self = g_object_ref (user_data);

  self->in_dispatch++;
  node_tick (self);
  self->in_dispatch--;
  node_after_work (self);

  return G_SOURCE_CONTINUE;
}

static gboolean
on_flush (gpointer user_data)
{
  NetNode *self = user_data;

  node_flush (self);
  return G_SOURCE_CONTINUE;
}

static void
node_ensure_recv_buffers (NetNode *self)
{
  /* One byte more than the largest accepted datagram shows a larger one
   * as too large instead of truncating it silently. */
  gsize slot = self->max_datagram + 1;

  if (self->recv_slot == slot)
    return;

  g_free (self->recv_data);
  self->recv_slot = slot;
  self->recv_data = g_malloc (RECV_BATCH * slot);
  for (guint i = 0; i < RECV_BATCH; i++)
    {
      self->recv_vecs[i].buffer = self->recv_data + i * slot;
      self->recv_vecs[i].size = slot;
      self->recv_msgs[i] = (GInputMessage) {
        .address = &self->recv_addrs[i],
        .vectors = &self->recv_vecs[i],
        .num_vectors = 1,
      };
    }
}

static gboolean
on_socket_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  g_autoptr(NetNode) self = g_object_ref (user_data);
  guint total = 0;

  self->in_dispatch++;
  node_ensure_recv_buffers (self);

  while (self->running && total < MAX_RECV_PER_DISPATCH)
    {
      g_autoptr(GError) error = NULL;
      gint n;

      for (guint i = 0; i < RECV_BATCH; i++)
        {
          self->recv_msgs[i].bytes_received = 0;
          self->recv_msgs[i].flags = 0;
        }

      n = g_socket_receive_messages (self->socket, self->recv_msgs, RECV_BATCH,
                                     0, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_debug ("NetNode %s: receive: %s", self->local_address, error->message);
          break;
        }

      for (gint i = 0; i < n; i++)
        {
          if (self->running)
            node_handle_datagram (self, self->recv_vecs[i].buffer,
                                  self->recv_msgs[i].bytes_received,
                                  self->recv_addrs[i]);
          g_clear_object (&self->recv_addrs[i]);
        }
      total += n;

      /* Fewer than asked for: the socket is drained. */
      if (n < RECV_BATCH)
        break;
    }

  /* The follower appends what this batch brought with one write. */
  if (self->follower != NULL)
    _net_repl_receive_done (self->follower);

  self->in_dispatch--;
  node_after_work (self);

  return G_SOURCE_CONTINUE;
}

/* --- The link ------------------------------------------------------------ */

static gboolean
link_send (NetReplLink  *link,
           gpointer      peer_handle,
           const guint8 *message,
           gsize         len)
{
  NetNode *self = node_from_link (link);
  Peer *peer = peer_handle;

  g_return_val_if_fail (len > 0, FALSE);

  if (peer->removed || !self->running || !peer->up)
    return FALSE;
  if (len > self->link.max_message)
    {
      g_critical ("NetNode: a channel message of %" G_GSIZE_FORMAT " bytes is "
                  "larger than the maximum of %" G_GSIZE_FORMAT,
                  len, self->link.max_message);
      return FALSE;
    }

  return node_send_data (self, peer, message, len);
}

/* Emitted from node_after_work(), once the received batch is handled:
 * a handler may stop the node. */
static void
link_follow_failed (NetReplLink  *link,
                    const GError *error)
{
  NetNode *self = node_from_link (link);

  if (self->follow_error == NULL)
    self->follow_error = g_error_copy (error);
}

static const guint8 *
link_peer_public_key (NetReplLink *link,
                      gpointer     peer_handle)
{
  Peer *peer = peer_handle;

  return peer->ed25519;
}

static gboolean
link_peer_may_forward (NetReplLink *link,
                       gpointer     peer_handle,
                       guint64     *origin)
{
  Peer *peer = peer_handle;

  *origin = peer->origin;
  return peer->role == NET_PEER_ROLE_WRITER;
}

static gboolean
link_peer_is_up (NetReplLink *link,
                 gpointer     peer_handle)
{
  Peer *peer = peer_handle;

  return !peer->removed && peer->up;
}

/* --- GObject ------------------------------------------------------------- */

static void
net_node_dispose (GObject *object)
{
  NetNode *self = (NetNode *) object;

  if (self->running)
    net_node_stop (self);

  g_clear_pointer (&self->follower, _net_repl_free);
  g_clear_pointer (&self->leader, _net_repl_free);

  if (self->peers != NULL)
    {
      for (guint i = 0; i < self->peers->len; i++)
        {
          Peer *peer = g_ptr_array_index (self->peers, i);

          node_drop_sessions (self, peer, TRUE);
          peer->removed = TRUE;
        }
      g_ptr_array_set_size (self->peers, 0);
    }

  _net_node_set_send_hook (self, NULL, NULL, NULL);
  g_clear_object (&self->socket);

  G_OBJECT_CLASS (net_node_parent_class)->dispose (object);
}

static void
net_node_finalize (GObject *object)
{
  NetNode *self = (NetNode *) object;

  g_clear_pointer (&self->peers, g_ptr_array_unref);
  g_clear_pointer (&self->indexes, g_hash_table_unref);
  g_clear_pointer (&self->ephemerals, g_hash_table_unref);
  if (self->ephemeral_ring != NULL)
    for (guint i = 0; i < RECENT_EPHEMERALS; i++)
      g_clear_pointer (&self->ephemeral_ring[i], g_bytes_unref);
  g_clear_pointer (&self->ephemeral_ring, g_free);
  g_clear_pointer (&self->refused_reported, g_hash_table_unref);
  g_clear_pointer (&self->sources, g_hash_table_unref);
  g_clear_pointer (&self->timestamps, g_hash_table_unref);
  g_clear_pointer (&self->state_file, g_free);
  g_clear_pointer (&self->refused_pending, g_ptr_array_unref);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_pointer (&self->listen_address, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_clear_pointer (&self->recv_data, g_free);
  g_clear_pointer (&self->send_data, g_free);
  g_clear_pointer (&self->plain, g_free);
  g_clear_pointer (&self->scratch, g_free);
  g_clear_pointer (&self->sealed, g_free);
  g_clear_pointer (&self->lossy_rand, g_rand_free);
  g_clear_pointer (&self->held, g_free);
  g_clear_object (&self->held_address);
  g_clear_error (&self->follow_error);

  G_OBJECT_CLASS (net_node_parent_class)->finalize (object);
}

static void
net_node_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  NetNode *self = NET_NODE (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;

    case PROP_LISTEN_ADDRESS:
      g_value_set_string (value, self->listen_address);
      break;

    case PROP_LOCAL_ADDRESS:
      g_value_set_string (value, self->local_address);
      break;

    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;

    case PROP_MAX_DATAGRAM:
      g_value_set_uint (value, self->max_datagram);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_node_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  NetNode *self = NET_NODE (object);

  switch (prop_id)
    {
    case PROP_IDENTITY:
      self->identity = g_value_dup_object (value);
      break;

    case PROP_LISTEN_ADDRESS:
      self->listen_address = g_value_dup_string (value);
      break;

    case PROP_MAX_DATAGRAM:
      net_node_set_max_datagram (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_node_class_init (NetNodeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _net_identity_init_sodium ();

  object_class->dispose = net_node_dispose;
  object_class->finalize = net_node_finalize;
  object_class->get_property = net_node_get_property;
  object_class->set_property = net_node_set_property;

  /**
   * NetNode:identity:
   *
   * The identity that authenticates this node to its peers.
   */
  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         NET_TYPE_IDENTITY,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * NetNode:listen-address:
   *
   * The address the socket is bound to, as given to net_node_new():
   * "host:port", with an IPv6 address in brackets ("[::1]:7000").  Port
   * 0 picks a free port; #NetNode:local-address tells which.
   */
  properties[PROP_LISTEN_ADDRESS] =
    g_param_spec_string ("listen-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE |
                          G_PARAM_CONSTRUCT_ONLY |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * NetNode:local-address:
   *
   * The address the socket is bound to, with the port it actually got:
   * "127.0.0.1:40123" or "[::1]:40123".
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_string ("local-address", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * NetNode:running:
   *
   * Whether the node is started: it receives datagrams and keeps
   * sessions with its peers.
   */
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE |
                           G_PARAM_EXPLICIT_NOTIFY |
                           G_PARAM_STATIC_STRINGS));

  /**
   * NetNode:max-datagram:
   *
   * The largest datagram the node sends or accepts, in bytes, from 256 to
   * 65507; 1400 by default, which fits the usual path MTU.  Peers must
   * agree on it.
   */
  properties[PROP_MAX_DATAGRAM] =
    g_param_spec_uint ("max-datagram", NULL, NULL,
                       NET_WIRE_MIN_MAX_DATAGRAM, NET_WIRE_MAX_MAX_DATAGRAM,
                       NET_WIRE_DEFAULT_MAX_DATAGRAM,
                       (G_PARAM_READWRITE |
                        G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * NetNode::peer-up:
   * @self: the #NetNode
   * @public_key: the peer's public key, as text
   *
   * Emitted on the owner context when a session with a peer is
   * established: both sides authenticated each other, and messages flow.
   */
  signals[PEER_UP] =
    g_signal_new ("peer-up",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NetNode::peer-down:
   * @self: the #NetNode
   * @public_key: the peer's public key, as text
   *
   * Emitted on the owner context when a peer that was up is not any
   * more: nothing authenticated came from it for the dead interval, the
   * node was stopped, or the peer was removed.
   */
  signals[PEER_DOWN] =
    g_signal_new ("peer-down",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * NetNode::follow-failed:
   * @self: the #NetNode
   * @error: what went wrong
   *
   * Emitted on the owner context, once, when the database given to
   * net_node_follow_db() stops following its leader for good: its log
   * holds events the leader does not (the two diverged), so no event of
   * the leader is appended any more.  @error is a %NET_ERROR_SEQ_MISMATCH
   * that names the log and the seq; or a %NET_ERROR_PROTOCOL when the
   * leader keeps announcing events it does not send.
   */
  signals[FOLLOW_FAILED] =
    g_signal_new ("follow-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * NetNode::peer-refused:
   * @self: the #NetNode
   * @public_key: the public key of the node that was refused, as text
   * @address: where its handshake came from, "host:port"
   *
   * Emitted on the owner context when a node whose key is not in the
   * allow-list completed a handshake initiation (so the key is its own):
   * it gets no answer.  Admit it with net_node_add_peer() if it should
   * connect.  Emitted at most once a minute per key; the refusals are
   * counted as "dropped-unknown-peer" all the same.
   */
  signals[PEER_REFUSED] =
    g_signal_new ("peer-refused",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void
net_node_init (NetNode *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->max_datagram = NET_WIRE_DEFAULT_MAX_DATAGRAM;
  self->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_unref);
  self->indexes = g_hash_table_new (NULL, NULL);
  self->keepalive_us = DEFAULT_KEEPALIVE_MS * 1000;
  self->dead_us = DEFAULT_DEAD_MS * 1000;
  self->retry_us = DEFAULT_RETRY_MS * 1000;
  self->grace_us = 2 * self->dead_us;
  self->rekey_us = REKEY_AFTER_US;
  self->plain = g_malloc (NET_WIRE_MAX_MAX_DATAGRAM);
  self->scratch = g_malloc (NET_WIRE_MAX_MAX_DATAGRAM);
  self->sealed = g_malloc (NET_WIRE_MAX_MAX_DATAGRAM);

  self->dh_tokens = DH_BURST;
  self->dh_refilled = g_get_monotonic_time ();
  self->ephemerals = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                            (GDestroyNotify) g_bytes_unref, NULL);
  self->ephemeral_ring = g_new0 (GBytes *, RECENT_EPHEMERALS);
  self->refused_reported = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->sources = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify) g_bytes_unref, g_free);
  self->timestamps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->refused_pending = g_ptr_array_new_with_free_func ((GDestroyNotify) refused_report_free);

  self->link.send = link_send;
  self->link.peer_public_key = link_peer_public_key;
  self->link.peer_is_up = link_peer_is_up;
  self->link.peer_may_forward = link_peer_may_forward;
  self->link.follow_failed = link_follow_failed;
  self->link.max_message = self->max_datagram - NET_WIRE_DATA_OVERHEAD;
}

static gboolean
net_node_initable_init (GInitable     *initable,
                        GCancellable  *cancellable,
                        GError       **error)
{
  NetNode *self = NET_NODE (initable);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->socket != NULL)
    return TRUE;

  /* Issue 14, item 2: a cancellable taken is honoured. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (self->identity == NULL)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "a NetNode needs an identity");
      return FALSE;
    }
  _net_wire_mac1_key (_net_identity_get_x25519_public (self->identity), self->mac1_key);
  _net_wire_cookie_key (_net_identity_get_x25519_public (self->identity), self->cookie_key);
  randombytes_buf (self->cookie_nonce, sizeof self->cookie_nonce);
  /* What we forward as a follower carries the origin of our key. */
  self->link.local_origin = net_identity_get_origin (self->identity);
  if (self->listen_address == NULL)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "a NetNode needs a listen address");
      return FALSE;
    }

  address = parse_address (self->listen_address, "listen address", TRUE,
                           G_SOCKET_FAMILY_INVALID, FALSE, error);
  if (address == NULL)
    return FALSE;

  self->family = g_socket_address_get_family (address);
  self->socket = g_socket_new (self->family, G_SOCKET_TYPE_DATAGRAM,
                               G_SOCKET_PROTOCOL_UDP, &local_error);
  if (self->socket == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot make a UDP socket for %s: %s",
                   self->listen_address, local_error->message);
      return FALSE;
    }
  g_socket_set_blocking (self->socket, FALSE);

  /* Bursts of replication datagrams: room for a few thousand. */
  g_socket_set_option (self->socket, SOL_SOCKET, SO_RCVBUF, SOCKET_BUFFER_SIZE, NULL);
  g_socket_set_option (self->socket, SOL_SOCKET, SO_SNDBUF, SOCKET_BUFFER_SIZE, NULL);

  /* [::] takes IPv4 as well, whatever the system's default. */
  if (self->family == G_SOCKET_FAMILY_IPV6 &&
      g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address))))
    self->dual_stack = g_socket_set_option (self->socket, IPPROTO_IPV6, IPV6_V6ONLY, 0, NULL);

  if (!g_socket_bind (self->socket, address, FALSE, &local_error))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot listen on %s: %s",
                   self->listen_address, local_error->message);
      g_clear_object (&self->socket);
      return FALSE;
    }

  local = g_socket_get_local_address (self->socket, &local_error);
  if (local == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot get the address of the socket on %s: %s",
                   self->listen_address, local_error->message);
      g_clear_object (&self->socket);
      return FALSE;
    }
  self->local_address = format_address (local);

  return TRUE;
}

static void
net_node_initable_iface_init (GInitableIface *iface)
{
  iface->init = net_node_initable_init;
}

/* --- Public API ---------------------------------------------------------- */

/**
 * net_node_new:
 * @identity: the node's identity
 * @listen_address: where to listen: "host:port", such as "0.0.0.0:7000",
 *   "127.0.0.1:0" or "[::1]:7000"; port 0 picks a free port
 * @error: return location for a #GError
 *
 * Makes a node and binds its UDP socket at once (a host name is resolved
 * now, blocking).  The node does nothing on the network until
 * net_node_start().  Its owner context is the thread-default
 * #GMainContext of the calling thread.
 *
 * A malformed address fails with %NET_ERROR_INVALID_ARGUMENT, a socket
 * that cannot be bound (the port is taken, the address is not local) with
 * %NET_ERROR_IO.
 *
 * Returns: (transfer full): the new node, or %NULL with @error set
 */
NetNode *
net_node_new (NetIdentity  *identity,
              const char   *listen_address,
              GError      **error)
{
  g_return_val_if_fail (NET_IS_IDENTITY (identity), NULL);
  g_return_val_if_fail (listen_address != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (NET_TYPE_NODE, NULL, error,
                         "identity", identity,
                         "listen-address", listen_address,
                         NULL);
}

/**
 * net_node_get_identity:
 * @self: a #NetNode
 *
 * Gets the identity of the node.
 *
 * Returns: (transfer none): the identity
 */
NetIdentity *
net_node_get_identity (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  return self->identity;
}

/**
 * net_node_get_local_address:
 * @self: a #NetNode
 *
 * Gets the address the node's socket is bound to, with its actual port:
 * "127.0.0.1:40123", or "[::1]:40123" for IPv6.  Peers use it in
 * net_node_add_peer().
 *
 * Returns: (transfer none) (nullable): the local address, or %NULL if the
 *   node failed to initialise
 */
const char *
net_node_get_local_address (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  return self->local_address;
}

/**
 * net_node_get_running:
 * @self: a #NetNode
 *
 * Gets whether the node is started.
 *
 * Returns: %TRUE between net_node_start() and net_node_stop()
 */
gboolean
net_node_get_running (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), FALSE);

  return self->running;
}

/**
 * net_node_get_max_datagram:
 * @self: a #NetNode
 *
 * Gets the largest datagram the node sends or accepts.
 *
 * Returns: the #NetNode:max-datagram, in bytes
 */
guint
net_node_get_max_datagram (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), 0);

  return self->max_datagram;
}

/**
 * net_node_set_max_datagram:
 * @self: a #NetNode
 * @max_datagram: the largest datagram in bytes, from 256 to 65507
 *
 * Sets the largest datagram the node sends or accepts.  Every node of a
 * cluster should use the same value; set it before net_node_serve_db()
 * and net_node_follow_db().
 */
void
net_node_set_max_datagram (NetNode *self,
                           guint    max_datagram)
{
  g_return_if_fail (NET_IS_NODE (self));
  g_return_if_fail (max_datagram >= NET_WIRE_MIN_MAX_DATAGRAM);
  g_return_if_fail (max_datagram <= NET_WIRE_MAX_MAX_DATAGRAM);

  if (self->max_datagram == max_datagram)
    return;

  if (self->socket != NULL)
    node_flush (self);
  self->max_datagram = max_datagram;
  self->link.max_message = max_datagram - NET_WIRE_DATA_OVERHEAD;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_DATAGRAM]);
}

/* A node made with g_object_new() but never g_initable_init()ed (as
 * PyGObject and gjs do with Net.Node(...)) has no socket. */
static gboolean
node_check_initialized (NetNode  *self,
                        GError  **error)
{
  if (self->socket != NULL)
    return TRUE;
  g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "the node is not initialised: create it with "
                       "net_node_new(), or call g_initable_init() on it");
  return FALSE;
}

/**
 * net_node_add_peer:
 * @self: a #NetNode
 * @public_key: the peer's public key, as net_identity_get_public_key()
 *   prints it (or 64 hex digits)
 * @address: (nullable): the peer's address, "host:port", or %NULL
 * @error: return location for a #GError
 *
 * Admits a peer: only peers added here may establish a session with this
 * node.  With an @address, this node connects to the peer (a host name is
 * resolved now, blocking); without one, it waits for the peer to connect,
 * and learns its address then.  Adding a known peer again updates its
 * address (when @address is not %NULL).
 *
 * A malformed key or address, the node's own key, or an address of
 * another family than the node's socket fail with
 * %NET_ERROR_INVALID_ARGUMENT; a node that listens on "[::]" reaches
 * IPv4 addresses too.
 *
 * A new peer is admitted as a reader (%NET_PEER_ROLE_READER): it may
 * follow, and its forwarded writes are refused; a known peer keeps its
 * role.  Use net_node_add_peer_with_role() to admit a writer.
 *
 * Returns: %TRUE if the peer was added
 */
gboolean
net_node_add_peer (NetNode     *self,
                   const char  *public_key,
                   const char  *address,
                   GError     **error)
{
  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return node_add_peer (self, public_key, address, NET_PEER_ROLE_READER, FALSE, error);
}

/**
 * net_node_add_peer_with_role:
 * @self: a #NetNode
 * @public_key: the peer's Ed25519 public key, as net_identity_get_public_key()
 *   prints it (or 64 hex digits)
 * @address: (nullable): the peer's address, "host:port", or %NULL
 * @role: what the peer may do
 * @error: return location for a #GError
 *
 * Admits a peer as net_node_add_peer() does, with @role: a
 * %NET_PEER_ROLE_WRITER may forward writes to the database this node
 * serves, each carrying the peer's own origin (the one
 * net_identity_get_origin() gives for its key); a %NET_PEER_ROLE_READER
 * may only follow.  A forward the role does not allow, or of another
 * origin, is refused: the follower reports it through #NetDb::forward-failed
 * and this node counts it as "repl-forwards-refused".  Adding a known peer
 * again sets its role.
 *
 * Returns: %TRUE if the peer was added
 */
gboolean
net_node_add_peer_with_role (NetNode     *self,
                             const char  *public_key,
                             const char  *address,
                             NetPeerRole  role,
                             GError     **error)
{
  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);
  g_return_val_if_fail (role == NET_PEER_ROLE_READER || role == NET_PEER_ROLE_WRITER, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return node_add_peer (self, public_key, address, role, TRUE, error);
}

static gboolean
node_add_peer (NetNode     *self,
               const char  *public_key,
               const char  *address,
               NetPeerRole  role,
               gboolean     set_role,
               GError     **error)
{
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GSocketAddress) peer_address = NULL;
  Peer *peer;

  if (!node_check_initialized (self, error))
    return FALSE;

  key = net_identity_public_key_from_string (public_key, error);
  if (key == NULL)
    return FALSE;

  if (memcmp (g_bytes_get_data (key, NULL),
              _net_identity_get_ed25519_public (self->identity),
              NET_IDENTITY_PUBLIC_KEY_SIZE) == 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s is this node's own public key; a node cannot be its "
                   "own peer", net_identity_get_public_key (self->identity));
      return FALSE;
    }

  if (address != NULL)
    {
      peer_address = parse_address (address, "peer address", FALSE,
                                    self->family, self->dual_stack, error);
      if (peer_address == NULL)
        return FALSE;
    }

  peer = node_find_peer (self, public_key);
  if (peer == NULL)
    {
      peer = g_new0 (Peer, 1);
      peer->ref_count = 1;
      memcpy (peer->ed25519, g_bytes_get_data (key, NULL), sizeof peer->ed25519);
      /* net_identity_public_key_from_string() checked that it converts. */
      if (!_net_identity_ed25519_to_x25519_public (peer->ed25519, peer->x25519))
        g_assert_not_reached ();
      peer->key_text = net_identity_public_key_to_string (key);
      peer->origin = _net_identity_origin_for_public (peer->ed25519);
      peer->role = NET_PEER_ROLE_READER;
      {
        guint64 *saved = g_hash_table_lookup (self->timestamps, peer->key_text);

        peer->last_timestamp = saved != NULL ? *saved : 0;
      }
      g_ptr_array_add (self->peers, peer);
    }
  if (set_role)
    peer->role = role;

  if (peer_address != NULL)
    {
      gboolean moved = peer->address != NULL && !address_equal (peer->address, peer_address);

      g_set_object (&peer->address, peer_address);
      /* Configured: trusted to be the peer's. */
      peer->validated = TRUE;
      self->in_dispatch++;
      /* A peer that moved starts over at its new address: datagrams of
       * the old sessions still on their way would otherwise
       * authenticate and take the old address back. */
      if (moved)
        node_drop_sessions (self, peer, TRUE);
      if (self->running && peer->current == NULL)
        node_initiate (self, peer, g_get_monotonic_time ());
      self->in_dispatch--;
      node_after_work (self);
    }

  return TRUE;
}

/**
 * net_node_remove_peer:
 * @self: a #NetNode
 * @public_key: the peer's public key, as text
 *
 * Removes a peer from the allow-list and drops its sessions.  If it was
 * up, #NetNode::peer-down is emitted.
 *
 * Returns: %TRUE if the peer was known
 */
gboolean
net_node_remove_peer (NetNode    *self,
                      const char *public_key)
{
  g_autoptr(Peer) peer = NULL;
  Peer *found;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);

  found = node_find_peer (self, public_key);
  if (found == NULL)
    return FALSE;

  peer = peer_ref (found);
  node_drop_sessions (self, peer, TRUE);
  g_ptr_array_remove (self->peers, peer);

  /* peer-down first, while the peer still counts as known. */
  if (peer->announced_up)
    {
      g_autofree char *key_text = g_strdup (peer->key_text);

      peer->announced_up = FALSE;
      if (self->leader != NULL)
        _net_repl_peer_down (self->leader, peer);
      if (self->follower != NULL)
        _net_repl_peer_down (self->follower, peer);
      g_signal_emit (self, signals[PEER_DOWN], 0, key_text);
    }

  peer->removed = TRUE;
  if (self->leader != NULL)
    _net_repl_peer_removed (self->leader, peer);
  if (self->follower != NULL)
    _net_repl_peer_removed (self->follower, peer);

  node_flush (self);
  node_reschedule (self);
  return TRUE;
}

/**
 * net_node_list_peers:
 * @self: a #NetNode
 *
 * Lists the public keys of the peers in the allow-list, in the order they
 * were added.
 *
 * Returns: (transfer full) (array zero-terminated=1): the public keys, as
 *   text
 */
char **
net_node_list_peers (NetNode *self)
{
  GStrvBuilder *builder;
  char **keys;

  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->peers->len; i++)
    g_strv_builder_add (builder, ((Peer *) g_ptr_array_index (self->peers, i))->key_text);
  keys = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return keys;
}

/**
 * net_node_is_peer_up:
 * @self: a #NetNode
 * @public_key: the peer's public key, as text
 *
 * Gets whether a session with the peer is established.
 *
 * Returns: %TRUE if the peer is known and up
 */
gboolean
net_node_is_peer_up (NetNode    *self,
                     const char *public_key)
{
  Peer *peer;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (public_key != NULL, FALSE);

  peer = node_find_peer (self, public_key);
  return peer != NULL && peer->up;
}

/**
 * net_node_set_state_file:
 * @self: a #NetNode
 * @path: (type filename): a file for the node's handshake state
 * @error: return location for a #GError
 *
 * Keeps, in @path, the newest handshake timestamp accepted from each peer
 * (written before the handshake is answered, with mode 0600), and reads
 * it now: a handshake initiation captured before a restart of this node
 * is then refused after it, as it is while the node runs (it counts as
 * "dropped-handshake-replay").  Without a state file that protection
 * lasts only as long as the node.  A missing file is an empty state; an
 * unreadable or malformed one fails with %NET_ERROR_IO or
 * %NET_ERROR_CORRUPT.
 *
 * Returns: %TRUE if the state was read
 */
gboolean
net_node_set_state_file (NetNode     *self,
                         const char  *path,
                         GError     **error)
{
  g_autoptr(GHashTable) timestamps = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  timestamps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot read the node state %s: %s",
                       path, local_error->message);
          return FALSE;
        }
      contents = g_strdup ("");
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autoptr(GBytes) key = NULL;
      guint64 ts;

      if (lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], " ", 3);
      if (g_strv_length (fields) != 2 ||
          (key = net_identity_public_key_from_string (fields[0], NULL)) == NULL ||
          !g_ascii_string_to_unsigned (fields[1], 10, 1, G_MAXUINT64, &ts, NULL))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                       "node state %s: line %u is not “KEY TIMESTAMP”", path, i + 1);
          return FALSE;
        }
      g_hash_table_replace (timestamps, net_identity_public_key_to_string (key),
                            g_memdup2 (&ts, sizeof ts));
    }

  g_free (self->state_file);
  self->state_file = g_strdup (path);
  g_hash_table_unref (self->timestamps);
  self->timestamps = g_steal_pointer (&timestamps);

  /* Peers added already learn their saved timestamps. */
  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);
      guint64 *saved = g_hash_table_lookup (self->timestamps, peer->key_text);

      if (saved != NULL)
        peer->last_timestamp = MAX (peer->last_timestamp, *saved);
    }
  return TRUE;
}

/**
 * net_node_start:
 * @self: a #NetNode
 * @error: return location for a #GError
 *
 * Starts the node: it receives datagrams on its owner context, connects to
 * the peers with an address and keeps sessions alive.  Starting a running
 * node does nothing.
 *
 * Returns: %TRUE if the node runs
 */
gboolean
net_node_start (NetNode  *self,
                GError  **error)
{
  gint64 now;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!node_check_initialized (self, error))
    return FALSE;

  if (self->running)
    return TRUE;

  self->socket_source = g_socket_create_source (self->socket, G_IO_IN, NULL);
  g_source_set_callback (self->socket_source, G_SOURCE_FUNC (on_socket_ready), self, NULL);
  g_source_set_static_name (self->socket_source, "NetNode socket");
  g_source_attach (self->socket_source, self->context);

  self->timer_source = g_source_new (&timer_source_funcs, sizeof (GSource));
  g_source_set_callback (self->timer_source, on_timer, self, NULL);
  g_source_set_static_name (self->timer_source, "NetNode timers");
  g_source_attach (self->timer_source, self->context);

  self->flush_source = g_source_new (&timer_source_funcs, sizeof (GSource));
  g_source_set_callback (self->flush_source, on_flush, self, NULL);
  g_source_set_static_name (self->flush_source, "NetNode flush");
  g_source_attach (self->flush_source, self->context);

  self->running = TRUE;

  now = g_get_monotonic_time ();
  self->in_dispatch++;
  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (peer->address != NULL)
        node_initiate (self, peer, now);
    }
  self->in_dispatch--;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  node_after_work (self);
  return TRUE;
}

static void
destroy_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/**
 * net_node_stop:
 * @self: a #NetNode
 *
 * Stops the node: it detaches its sources from the owner context and
 * drops every session, emitting #NetNode::peer-down for the peers that
 * were up.  The socket stays bound, and net_node_start() starts again.
 * Stopping a node that does not run does nothing.
 */
void
net_node_stop (NetNode *self)
{
  g_return_if_fail (NET_IS_NODE (self));

  if (!self->running)
    return;

  node_flush (self);
  g_clear_pointer (&self->held, g_free);
  g_clear_object (&self->held_address);

  destroy_source (&self->socket_source);
  destroy_source (&self->timer_source);
  destroy_source (&self->flush_source);
  self->running = FALSE;

  for (guint i = 0; i < self->peers->len; i++)
    node_drop_sessions (self, g_ptr_array_index (self->peers, i), TRUE);

  node_announce (self);
  /* A handler may have sent something (nothing can be up, but be safe). */
  node_flush (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* Tells a new NetRepl about the peers that are up already. */
static void
node_repl_catch_up (NetNode *self,
                    NetRepl *repl)
{
  g_autoptr(GPtrArray) up = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_unref);

  for (guint i = 0; i < self->peers->len; i++)
    {
      Peer *peer = g_ptr_array_index (self->peers, i);

      if (peer->announced_up)
        g_ptr_array_add (up, peer_ref (peer));
    }
  self->in_dispatch++;
  for (guint i = 0; i < up->len; i++)
    {
      Peer *peer = g_ptr_array_index (up, i);

      if (!peer->removed && peer->announced_up)
        _net_repl_peer_up (repl, peer);
    }
  self->in_dispatch--;
  node_flush (self);
}

/**
 * net_node_serve_db:
 * @self: a #NetNode
 * @db: an open, writable database
 * @error: return location for a #GError
 *
 * Makes this node the replication leader of @db's logs: peers that follow
 * it (net_node_follow_db() on their side) receive its events, and may
 * forward writes to it.  The logs are those of its models and of every
 * collection of @db, whether this process opened it or not, including
 * those opened while the node serves it (a database has at most 254
 * replicated collections; a warning names any other).  A node serves at
 * most one database; a second one fails with %NET_ERROR_INVALID_ARGUMENT.
 *
 * Returns: %TRUE if the database is served
 */
gboolean
net_node_serve_db (NetNode  *self,
                   NetDb    *db,
                   GError  **error)
{
  NetRepl *repl;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (NET_IS_DB (db), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->leader != NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "node %s already serves a database; a node serves at "
                   "most one", self->local_address);
      return FALSE;
    }

  repl = _net_repl_new_leader (db, &self->link, self->context, error);
  if (repl == NULL)
    return FALSE;

  self->leader = repl;
  node_repl_catch_up (self, repl);
  return TRUE;
}

/**
 * net_node_follow_db:
 * @self: a #NetNode
 * @db: a persistent, writable database
 * @leader_public_key: the public key of the peer that serves the
 *   database
 * @forward_writes: whether local mutations of @db are forwarded to the
 *   leader (otherwise they fail with %NET_ERROR_READ_ONLY)
 * @error: return location for a #GError
 *
 * Makes @db follow the database that the peer @leader_public_key serves:
 * while the leader is up, its events are pulled and appended to @db's
 * logs, and @db's models fold them as usual.  The leader's collections
 * are replicated too: one that @db does not have is created, and one the
 * application has not opened is folded without its class until
 * net_db_open_collection() opens it with its class, from that state.
 * Mutations of @db's collections are refused or forwarded like the
 * models'.  The leader must have been
 * added with net_node_add_peer() (%NET_ERROR_NOT_FOUND otherwise).  A node
 * follows at most one database (%NET_ERROR_INVALID_ARGUMENT for a second
 * one, or for a @db that is in memory, read-only or closed).
 *
 * Returns: %TRUE if @db follows the leader
 */
gboolean
net_node_follow_db (NetNode     *self,
                    NetDb       *db,
                    const char  *leader_public_key,
                    gboolean     forward_writes,
                    GError     **error)
{
  NetRepl *repl;
  Peer *leader;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (NET_IS_DB (db), FALSE);
  g_return_val_if_fail (leader_public_key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->follower != NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "node %s already follows a database; a node follows at "
                   "most one", self->local_address);
      return FALSE;
    }

  leader = node_find_peer (self, leader_public_key);
  if (leader == NULL)
    {
      g_autofree char *escaped = g_strescape (leader_public_key, NULL);

      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "the leader “%s” is not a peer of node %s; add it with "
                   "net_node_add_peer() first", escaped, self->local_address);
      return FALSE;
    }

  repl = _net_repl_new_follower (db, &self->link, leader, forward_writes,
                                 self->context, error);
  if (repl == NULL)
    return FALSE;

  self->follower = repl;
  node_repl_catch_up (self, repl);
  return TRUE;
}

static const char *
drop_counter_name (NetWireDrop reason,
                   char       *buf,
                   gsize       size)
{
  g_snprintf (buf, size, "dropped-%s", _net_wire_drop_reason_name (reason));
  return buf;
}

static guint64
node_repl_counter (NetNode *self,
                   gsize    offset)
{
  guint64 total = 0;

  if (self->leader != NULL)
    total += G_STRUCT_MEMBER (guint64, _net_repl_get_counters (self->leader), offset);
  if (self->follower != NULL)
    total += G_STRUCT_MEMBER (guint64, _net_repl_get_counters (self->follower), offset);
  return total;
}

/**
 * net_node_get_counter:
 * @self: a #NetNode
 * @name: the counter's name, such as "datagrams-sent"
 *
 * Gets one counter of net_node_get_counters().
 *
 * Returns: the counter's value; 0 for an unknown name
 */
guint64
net_node_get_counter (NetNode    *self,
                      const char *name)
{
  g_return_val_if_fail (NET_IS_NODE (self), 0);
  g_return_val_if_fail (name != NULL, 0);

  for (guint i = 0; i < G_N_ELEMENTS (node_counters); i++)
    if (strcmp (name, node_counters[i].name) == 0)
      return G_STRUCT_MEMBER (guint64, &self->counters, node_counters[i].offset);

  for (guint i = 0; i < G_N_ELEMENTS (repl_counters); i++)
    if (strcmp (name, repl_counters[i].name) == 0)
      return node_repl_counter (self, repl_counters[i].offset);

  if (g_str_has_prefix (name, "dropped-"))
    {
      for (NetWireDrop r = NET_WIRE_OK + 1; r < NET_WIRE_N_DROP_REASONS; r++)
        {
          char buf[64];

          if (strcmp (name, drop_counter_name (r, buf, sizeof buf)) == 0)
            return self->counters.dropped[r];
        }
    }

  return 0;
}

/**
 * net_node_get_counters:
 * @self: a #NetNode
 *
 * Gets every counter of the node, by name:
 *
 * - "datagrams-sent", "datagrams-received", "bytes-sent",
 *   "bytes-received": what went through the socket;
 * - "handshakes-initiated", "handshakes-completed" (sessions
 *   established, in either role), "keepalives-sent";
 * - "send-failed": datagrams the socket did not take (its buffer was
 *   full, or the destination unreachable);
 * - "dropped-malformed", "dropped-unknown-index", "dropped-replay",
 *   "dropped-auth", "dropped-handshake-replay", "dropped-unknown-peer",
 *   "dropped-too-large", "dropped-mac": received datagrams dropped, by
 *   reason;
 * - "handshakes-read": handshake messages that reached the Noise read
 *   (each costs Diffie-Hellman operations); "dropped-busy": handshake
 *   messages refused unread under load (the node reads at most 200 a
 *   second);
 * - "cookie-replies-sent": handshake messages (initiations, and
 *   responses to this node's initiations) answered with a cookie reply
 *   under load (counted in "dropped-busy" too), "cookie-replies-received":
 *   cookies this node got and puts in a mac2 (docs/net-protocol.md);
 * - "dropped-no-service" (a message for a database this node neither
 *   serves nor follows), "dropped-malformed-message" (a replication
 *   message that did not decode);
 * - "repl-events-sent", "repl-events-appended" and the other counters
 *   of replication, summed over the served and the followed database;
 * - "lossy-dropped", "lossy-duplicated", "lossy-reordered",
 *   "lossy-corrupted": the damage done by the test suite's simulated
 *   network, always 0 otherwise.
 *
 * Returns: (transfer full): a #GVariant of type `a{st}`
 */
GVariant *
net_node_get_counters (NetNode *self)
{
  GVariantBuilder builder;

  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{st}"));
  for (guint i = 0; i < G_N_ELEMENTS (node_counters); i++)
    g_variant_builder_add (&builder, "{st}", node_counters[i].name,
                           G_STRUCT_MEMBER (guint64, &self->counters, node_counters[i].offset));
  for (NetWireDrop r = NET_WIRE_OK + 1; r < NET_WIRE_N_DROP_REASONS; r++)
    {
      char buf[64];

      g_variant_builder_add (&builder, "{st}", drop_counter_name (r, buf, sizeof buf),
                             self->counters.dropped[r]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (repl_counters); i++)
    g_variant_builder_add (&builder, "{st}", repl_counters[i].name,
                           node_repl_counter (self, repl_counters[i].offset));

  /* Not floating: a binding (Vala) would otherwise never sink it. */
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

/* --- Test hooks ---------------------------------------------------------- */

void
_net_node_set_under_load (NetNode  *self,
                          gboolean  under_load)
{
  g_return_if_fail (NET_IS_NODE (self));

  self->force_under_load = under_load;
}

void
_net_node_set_timing (NetNode *self,
                      guint    keepalive_ms,
                      guint    dead_ms,
                      guint    handshake_retry_ms)
{
  g_return_if_fail (NET_IS_NODE (self));

  if (keepalive_ms != 0)
    self->keepalive_us = (gint64) keepalive_ms * 1000;
  if (dead_ms != 0)
    {
      self->dead_us = (gint64) dead_ms * 1000;
      self->grace_us = 2 * self->dead_us;
    }
  if (handshake_retry_ms != 0)
    self->retry_us = (gint64) handshake_retry_ms * 1000;
  node_reschedule (self);
}

void
_net_node_set_rekey_interval (NetNode *self,
                              guint    rekey_ms)
{
  g_return_if_fail (NET_IS_NODE (self));
  /* A session is rejected after REJECT_AFTER_US: renew it before that. */
  g_return_if_fail (rekey_ms > 0 && (gint64) rekey_ms * 1000 < REJECT_AFTER_US);

  self->rekey_us = (gint64) rekey_ms * 1000;
  node_reschedule (self);
}

void
_net_node_set_lossy (NetNode            *self,
                     const NetNodeLossy *lossy)
{
  g_return_if_fail (NET_IS_NODE (self));

  g_clear_pointer (&self->lossy_rand, g_rand_free);
  self->lossy_on = lossy != NULL;
  if (lossy != NULL)
    {
      self->lossy = *lossy;
      self->lossy_rand = g_rand_new_with_seed (lossy->seed);
    }
  else
    {
      if (self->socket != NULL)
        {
          node_release_held (self);
          node_flush (self);
        }
    }
}

void
_net_node_set_send_hook (NetNode         *self,
                         NetNodeSendHook  hook,
                         gpointer         user_data,
                         GDestroyNotify   destroy)
{
  GDestroyNotify old_destroy = self->send_hook_destroy;
  gpointer old_data = self->send_hook_data;

  g_return_if_fail (NET_IS_NODE (self));

  self->send_hook = hook;
  self->send_hook_data = user_data;
  self->send_hook_destroy = destroy;
  if (old_destroy != NULL)
    old_destroy (old_data);
}

gboolean
_net_node_send_raw (NetNode         *self,
                    GSocketAddress  *address,
                    const guint8    *data,
                    gsize            len,
                    GError         **error)
{
  gssize n;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (self->socket != NULL, FALSE);

  n = g_socket_send_to (self->socket, address, (const char *) data, len, NULL, error);
  return n >= 0;
}

gboolean
_net_node_initiate_handshake (NetNode    *self,
                              const char *public_key)
{
  Peer *peer;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);

  peer = node_find_peer (self, public_key);
  if (peer == NULL || peer->address == NULL || !self->running)
    return FALSE;

  self->in_dispatch++;
  node_initiate (self, peer, g_get_monotonic_time ());
  self->in_dispatch--;
  node_after_work (self);
  return TRUE;
}

gboolean
_net_node_send_message (NetNode      *self,
                        const char   *public_key,
                        const guint8 *message,
                        gsize         len)
{
  gboolean sent;
  Peer *peer;

  g_return_val_if_fail (NET_IS_NODE (self), FALSE);

  peer = node_find_peer (self, public_key);
  if (peer == NULL)
    return FALSE;

  sent = link_send (&self->link, peer, message, len);
  node_flush (self);
  return sent;
}

char *
_net_node_dup_peer_address (NetNode    *self,
                            const char *public_key)
{
  Peer *peer;

  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  peer = node_find_peer (self, public_key);
  if (peer == NULL || peer->address == NULL)
    return NULL;
  return format_address (peer->address);
}

NetRepl *
_net_node_get_leader_repl (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  return self->leader;
}

NetRepl *
_net_node_get_follower_repl (NetNode *self)
{
  g_return_val_if_fail (NET_IS_NODE (self), NULL);

  return self->follower;
}
