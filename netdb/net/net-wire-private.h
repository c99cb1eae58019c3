/* net-wire-private.h: the datagrams of docs/net-protocol.md
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Pure functions over caller buffers, no sockets and no clocks, so they can
 * be tested and fuzzed alone: the 16-byte header, the two handshake
 * messages (a Noise IK handshake with the prologue, timestamp and indexes
 * the protocol adds), sealing and opening data datagrams, and the
 * 1024-entry replay window.  NetNode owns the state machine around them.
 */

#pragma once

#include <glib.h>

#include "net-noise-private.h"

G_BEGIN_DECLS

/* Version 2: the initiation carries the initiator's Ed25519 key, and both
 * handshake messages end in a mac1 (docs/net-protocol.md, section 2). */
#define NET_WIRE_VERSION                2
#define NET_WIRE_HEADER_LEN             16
#define NET_WIRE_TAG_LEN                16
#define NET_WIRE_MAC_LEN                16
#define NET_WIRE_MAC1_KEY_LEN           32
#define NET_WIRE_DEFAULT_MAX_DATAGRAM   1400
#define NET_WIRE_MIN_MAX_DATAGRAM       256
#define NET_WIRE_MAX_MAX_DATAGRAM       65507
/* The initiation's payload: u64 timestamp, the initiator's Ed25519 key */
#define NET_WIRE_INITIATION_PAYLOAD_LEN (8 + 32)
/* header, sender index, e, encrypted s, encrypted payload, mac1 */
#define NET_WIRE_INITIATION_LEN   (NET_WIRE_HEADER_LEN + 4 + NET_NOISE_IK_MESSAGE1_OVERHEAD + \
                                   NET_WIRE_INITIATION_PAYLOAD_LEN + NET_WIRE_MAC_LEN)
/* Where the initiation's ephemeral key is, in clear. */
#define NET_WIRE_INITIATION_EPHEMERAL_OFFSET (NET_WIRE_HEADER_LEN + 4)
/* header, e, encrypted u32 sender index, mac1 */
#define NET_WIRE_RESPONSE_LEN     (NET_WIRE_HEADER_LEN + NET_NOISE_IK_MESSAGE2_OVERHEAD + 4 + \
                                   NET_WIRE_MAC_LEN)
/* Either handshake message may carry a mac2 after its mac1 (its sender
 * holds a cookie from its receiver). */
#define NET_WIRE_INITIATION_MAC2_LEN (NET_WIRE_INITIATION_LEN + NET_WIRE_MAC_LEN)
#define NET_WIRE_RESPONSE_MAC2_LEN (NET_WIRE_RESPONSE_LEN + NET_WIRE_MAC_LEN)
#define NET_WIRE_COOKIE_LEN       16
#define NET_WIRE_COOKIE_SECRET_LEN 32
#define NET_WIRE_COOKIE_NONCE_LEN 24
/* header, nonce, encrypted cookie */
#define NET_WIRE_COOKIE_REPLY_LEN (NET_WIRE_HEADER_LEN + NET_WIRE_COOKIE_NONCE_LEN + \
                                   NET_WIRE_COOKIE_LEN + NET_WIRE_TAG_LEN)
#define NET_WIRE_DATA_OVERHEAD    (NET_WIRE_HEADER_LEN + NET_WIRE_TAG_LEN)
#define NET_WIRE_REPLAY_WINDOW    1024
/* Counters at or past this are never used (the key must be renewed). */
#define NET_WIRE_REJECT_AFTER_MESSAGES (G_MAXUINT64 - (1 << 13))

typedef enum
{
  NET_WIRE_HANDSHAKE_INITIATION = 1,
  NET_WIRE_HANDSHAKE_RESPONSE = 2,
  NET_WIRE_DATA = 3,
  NET_WIRE_COOKIE_REPLY = 4,
} NetWireType;

typedef struct
{
  NetWireType type;
  guint32     receiver_index;
  guint64     counter;
} NetWireHeader;

/* Why a received datagram was dropped; NetNode counts each reason. */
typedef enum
{
  NET_WIRE_OK = 0,
  NET_WIRE_DROP_MALFORMED,         /* magic, version, type or a length */
  NET_WIRE_DROP_UNKNOWN_INDEX,     /* no session or handshake has it */
  NET_WIRE_DROP_REPLAY,            /* counter seen or too old */
  NET_WIRE_DROP_AUTH,              /* did not authenticate */
  NET_WIRE_DROP_HANDSHAKE_REPLAY,  /* initiation timestamp not newer */
  NET_WIRE_DROP_UNKNOWN_PEER,      /* static key not in the allow-list */
  NET_WIRE_DROP_TOO_LARGE,         /* longer than the node's maximum */
  NET_WIRE_DROP_MAC,               /* a handshake whose mac1 is wrong */
  NET_WIRE_N_DROP_REASONS
} NetWireDrop;

/* "malformed", "unknown-index", …: the counter suffix of @reason. */
const char *_net_wire_drop_reason_name (NetWireDrop reason);

/* --- Header -------------------------------------------------------------- */

void         _net_wire_write_header    (guint8              *out,
                                        const NetWireHeader *header);
/*
 * Checks the magic, the version, the type and that @len is exactly
 * right for the type (NET_WIRE_INITIATION_LEN or, with a mac2,
 * NET_WIRE_INITIATION_MAC2_LEN; NET_WIRE_RESPONSE_LEN or
 * NET_WIRE_RESPONSE_MAC2_LEN; NET_WIRE_COOKIE_REPLY_LEN; at least NET_WIRE_DATA_OVERHEAD for data)
 * and at most @max_datagram.
 * Returns NET_WIRE_OK and fills @header, or NET_WIRE_DROP_MALFORMED /
 * NET_WIRE_DROP_TOO_LARGE.
 */
NetWireDrop  _net_wire_parse_header    (const guint8        *data,
                                        gsize                len,
                                        gsize                max_datagram,
                                        NetWireHeader       *header);

/* --- Replay window (RFC 6479 style) --------------------------------------- */

typedef struct
{
  guint64 top;       /* greatest counter committed + 1; 0: none yet */
  guint64 bits[NET_WIRE_REPLAY_WINDOW / 64];
} NetWireReplayWindow;

void         _net_wire_replay_init     (NetWireReplayWindow       *window);
/* TRUE when @counter was not committed yet and is not older than the
 * window; changes nothing. */
gboolean     _net_wire_replay_check    (const NetWireReplayWindow *window,
                                        guint64                    counter);
/* Marks @counter as seen; call only after it authenticated. */
void         _net_wire_replay_commit   (NetWireReplayWindow       *window,
                                        guint64                    counter);

/* --- Handshake ---------------------------------------------------------- */

/*
 * mac1, as WireGuard's: the last NET_WIRE_MAC_LEN bytes of each handshake
 * message are a keyed BLAKE2b-128 of everything before them, keyed with
 * BLAKE2b-256 ("mac1----" || the receiver's X25519 public key).  A
 * receiver checks it before any Diffie-Hellman: a datagram from someone
 * who does not know its key costs one hash.
 */
void         _net_wire_mac1_key        (const guint8        *x25519_public,
                                        guint8              *key);
/* Whether the mac1 of the handshake message @data (its whole length)
 * verifies under @mac1_key (of the receiver's own public key). */
gboolean     _net_wire_check_mac1      (const guint8        *mac1_key,
                                        const guint8        *data,
                                        gsize                len);

/*
 * Cookies (WireGuard's, docs/net-protocol.md section 2): a node under
 * load answers a handshake message (an initiation, or a response to its
 * own initiation) without a valid mac2 with a cookie reply instead of
 * reading it.  The cookie is a keyed BLAKE2b-128 of the message's source
 * address (@source, @source_len bytes) under a secret the node renews
 * every two minutes.
 */
void         _net_wire_cookie_make     (const guint8        *secret,
                                        const guint8        *source,
                                        gsize                source_len,
                                        guint8              *cookie);
/* The key a node seals its cookie replies with, derived from its own
 * public key (which its peers know): BLAKE2b-256 ("cookie--" ||
 * @x25519_public). */
void         _net_wire_cookie_key      (const guint8        *x25519_public,
                                        guint8              *key);
/* Writes a cookie reply (NET_WIRE_COOKIE_REPLY_LEN bytes) to @out:
 * @cookie sealed with XChaCha20-Poly1305 under @cookie_key (of the
 * sender's own public key), @nonce (NET_WIRE_COOKIE_NONCE_LEN bytes, never
 * used twice with that key; NULL: a random one) and the mac1 of the
 * message it answers (@mac1, 16 bytes) as associated data.  @receiver_index is the initiator's index of that handshake: the
 * sender index of an initiation, the receiver index of a response. */
void         _net_wire_cookie_reply_write (const guint8     *cookie_key,
                                           guint32           receiver_index,
                                           const guint8     *mac1,
                                           const guint8     *cookie,
                                           const guint8     *nonce,
                                           guint8           *out);
/* Opens a cookie reply of exactly NET_WIRE_COOKIE_REPLY_LEN bytes (the
 * header already parsed) under @cookie_key (of its sender's key) with
 * the mac1 of the handshake message it answers; FALSE when it does not
 * authenticate.  Fills @cookie. */
gboolean     _net_wire_cookie_reply_read  (const guint8     *cookie_key,
                                           const guint8     *mac1,
                                           const guint8     *data,
                                           gsize             len,
                                           guint8           *cookie);
/* mac2 over a handshake message of NET_WIRE_INITIATION_MAC2_LEN or
 * NET_WIRE_RESPONSE_MAC2_LEN bytes: its last NET_WIRE_MAC_LEN bytes are a
 * BLAKE2b-128 keyed with @cookie of the bytes before them (mac1
 * included).  Put writes it, check verifies it (FALSE for any other
 * length: a message without mac2). */
void         _net_wire_put_mac2        (const guint8        *cookie,
                                        guint8              *data,
                                        gsize                len);
gboolean     _net_wire_check_mac2      (const guint8        *cookie,
                                        const guint8        *data,
                                        gsize                len);

/*
 * Initiator: starts a handshake with @remote_static (X25519, 32 bytes) and
 * writes the initiation (NET_WIRE_INITIATION_LEN bytes) into @out; its
 * payload carries @ed25519_public, the initiator's identity, so that a
 * responder can name a key it refuses.  The returned handshake waits for
 * the response.  @ephemeral_for_test is NULL except in tests (a fixed
 * ephemeral secret).
 */
NetNoiseHandshake *_net_wire_initiation_write (const guint8  *static_secret,
                                               const guint8  *remote_static,
                                               const guint8  *ed25519_public,
                                               guint32        sender_index,
                                               guint64        timestamp,
                                               const guint8  *ephemeral_for_test,
                                               guint8        *out,
                                               GError       **error);
/*
 * Responder: reads an initiation of exactly NET_WIRE_INITIATION_LEN bytes
 * (the header already parsed) whose mac1 verifies under @mac1_key (the
 * key of the responder's own public key).  Returns the handshake (its
 * remote static, the initiator's X25519 key, is then known: check the
 * allow-list and the timestamp before answering), the initiator's sender
 * index, timestamp and Ed25519 key (@ed25519_public, 32 bytes, may be
 * NULL; it converts to the remote static, or the read fails).  NULL with
 * %NET_ERROR_PROTOCOL / %NET_ERROR_AUTH_FAILED otherwise.
 */
NetNoiseHandshake *_net_wire_initiation_read  (const guint8  *static_secret,
                                               const guint8  *mac1_key,
                                               const guint8  *data,
                                               gsize          len,
                                               guint32       *sender_index,
                                               guint64       *timestamp,
                                               guint8        *ed25519_public,
                                               GError       **error);
/* Responder: writes the response (NET_WIRE_RESPONSE_LEN bytes) to @out,
 * its mac1 keyed with the initiator's key; the handshake is then finished
 * (split it). */
gboolean     _net_wire_response_write  (NetNoiseHandshake   *hs,
                                        guint32              initiator_index,
                                        guint32              responder_index,
                                        const guint8        *ephemeral_for_test,
                                        guint8              *out,
                                        GError             **error);
/* Initiator: reads a response of exactly NET_WIRE_RESPONSE_LEN bytes whose
 * mac1 verifies under @mac1_key (of the initiator's own public key); the
 * handshake is then finished.  Fills @responder_index.  A failure leaves
 * @hs unusable: read a copy when the response may be forged. */
gboolean     _net_wire_response_read   (NetNoiseHandshake   *hs,
                                        const guint8        *mac1_key,
                                        const guint8        *data,
                                        gsize                len,
                                        guint32             *responder_index,
                                        GError             **error);

/* --- Transport ----------------------------------------------------------- */

/* The keys of one session, from a finished handshake. */
typedef struct
{
  guint8               send_key[NET_NOISE_KEYLEN];
  guint8               recv_key[NET_NOISE_KEYLEN];
  guint64              send_counter;   /* next counter to send */
  NetWireReplayWindow  window;
  guint32              local_index;    /* we receive with it */
  guint32              remote_index;   /* we send with it */
} NetWireKeys;

/* Splits the finished @hs into @keys for its role, and frees nothing. */
void         _net_wire_keys_init       (NetWireKeys         *keys,
                                        NetNoiseHandshake   *hs,
                                        guint32              local_index,
                                        guint32              remote_index);
/* Wipes the keys. */
void         _net_wire_keys_clear      (NetWireKeys         *keys);

/*
 * Seals @plaintext (may be empty: a keepalive) into a data datagram of
 * @plaintext_len + NET_WIRE_DATA_OVERHEAD bytes in @out, with the next
 * counter.  FALSE with %NET_ERROR_INVALID_ARGUMENT when @out_size is too
 * small, %NET_ERROR_FAILED when the counters are used up.
 */
gboolean     _net_wire_seal            (NetWireKeys         *keys,
                                        const guint8        *plaintext,
                                        gsize                plaintext_len,
                                        guint8              *out,
                                        gsize                out_size,
                                        gsize               *out_len,
                                        GError             **error);
/*
 * Opens a data datagram whose header was parsed into @header (its
 * receiver index selected @keys): replay check, decryption with the header
 * as associated data, then the window commit.  Writes the plaintext
 * (len - NET_WIRE_DATA_OVERHEAD bytes) to @out.  Returns NET_WIRE_OK,
 * NET_WIRE_DROP_REPLAY or NET_WIRE_DROP_AUTH; on a drop nothing changes.
 */
NetWireDrop  _net_wire_open            (NetWireKeys         *keys,
                                        const NetWireHeader *header,
                                        const guint8        *data,
                                        gsize                len,
                                        guint8              *out,
                                        gsize                out_size,
                                        gsize               *out_len);

G_END_DECLS
