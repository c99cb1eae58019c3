/* net-noise-private.h: the Noise_IK_25519_ChaChaPoly_SHA256 handshake
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The CipherState, SymmetricState and HandshakeState of the Noise Protocol
 * Framework (revision 34), for the one protocol netdb speaks:
 *
 *   IK:
 *     <- s
 *     ...
 *     -> e, es, s, ss
 *     <- e, ee, se
 *
 * built from libsodium (X25519, ChaCha20-Poly1305-IETF, SHA-256,
 * HMAC-SHA256).  Every secret is wiped with sodium_memzero() when it is no
 * longer needed.  Messages are read and written from caller buffers, every
 * length is checked, and a failed read or write leaves the handshake
 * unusable, as the specification asks.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NET_NOISE_PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_SHA256"

#define NET_NOISE_DHLEN    32
#define NET_NOISE_HASHLEN  32
#define NET_NOISE_KEYLEN   32
#define NET_NOISE_TAGLEN   16
/* The largest Noise message, handshake or transport. */
#define NET_NOISE_MAX_MESSAGE_LEN 65535

/* e, encrypted s, the payload's tag */
#define NET_NOISE_IK_MESSAGE1_OVERHEAD (NET_NOISE_DHLEN + NET_NOISE_DHLEN + 2 * NET_NOISE_TAGLEN)
/* e, the payload's tag */
#define NET_NOISE_IK_MESSAGE2_OVERHEAD (NET_NOISE_DHLEN + NET_NOISE_TAGLEN)

/* --- CipherState --------------------------------------------------------- */

typedef struct
{
  guint8   k[NET_NOISE_KEYLEN];
  gboolean has_key;
  guint64  n;
} NetNoiseCipherState;

/* InitializeKey (key): @key may be %NULL for "empty". */
void     _net_noise_cipher_init        (NetNoiseCipherState  *cs,
                                        const guint8         *key);
/* Wipes the key. */
void     _net_noise_cipher_clear       (NetNoiseCipherState  *cs);
void     _net_noise_cipher_set_nonce   (NetNoiseCipherState  *cs,
                                        guint64               n);
guint64  _net_noise_cipher_get_nonce   (const NetNoiseCipherState *cs);

/*
 * EncryptWithAd: writes @plaintext_len + %NET_NOISE_TAGLEN bytes to @out
 * (or @plaintext_len bytes, a copy, while the key is empty) and increments
 * n.  @out may equal @plaintext.  Fails with %NET_ERROR_INVALID_ARGUMENT
 * when @out_size is too small or the result would exceed
 * %NET_NOISE_MAX_MESSAGE_LEN, and with %NET_ERROR_FAILED once n reached
 * 2^64-1 (reserved: the nonce never wraps).
 */
gboolean _net_noise_cipher_encrypt     (NetNoiseCipherState  *cs,
                                        const guint8         *ad,
                                        gsize                 ad_len,
                                        const guint8         *plaintext,
                                        gsize                 plaintext_len,
                                        guint8               *out,
                                        gsize                 out_size,
                                        gsize                *out_len,
                                        GError              **error);
/*
 * DecryptWithAd: the reverse.  %NET_ERROR_AUTH_FAILED when the tag does
 * not verify (n is then left as it was), %NET_ERROR_PROTOCOL when
 * @ciphertext is shorter than a tag or longer than a Noise message.
 */
gboolean _net_noise_cipher_decrypt     (NetNoiseCipherState  *cs,
                                        const guint8         *ad,
                                        gsize                 ad_len,
                                        const guint8         *ciphertext,
                                        gsize                 ciphertext_len,
                                        guint8               *out,
                                        gsize                 out_size,
                                        gsize                *out_len,
                                        GError              **error);

/* --- Primitives, exposed for tests --------------------------------------- */

/* HKDF (chaining_key, input_key_material, 2) of the specification. */
void     _net_noise_hkdf2              (const guint8         *chaining_key,
                                        const guint8         *ikm,
                                        gsize                 ikm_len,
                                        guint8               *out1,
                                        guint8               *out2);
/* The X25519 public key of a 32-byte secret. */
void     _net_noise_public_key         (const guint8         *secret,
                                        guint8               *public_key);

/* --- HandshakeState ------------------------------------------------------ */

typedef enum
{
  NET_NOISE_ROLE_INITIATOR,
  NET_NOISE_ROLE_RESPONDER,
} NetNoiseRole;

typedef struct _NetNoiseHandshake NetNoiseHandshake;

/*
 * Initialize (): @static_secret is this side's X25519 secret (32 bytes);
 * the initiator must pass the responder's static public key as
 * @remote_static, the responder must pass %NULL (it learns the initiator's
 * from message 1).  @prologue may be %NULL when @prologue_len is 0.
 */
NetNoiseHandshake *_net_noise_handshake_new  (NetNoiseRole    role,
                                              const guint8   *prologue,
                                              gsize           prologue_len,
                                              const guint8   *static_secret,
                                              const guint8   *remote_static);
void     _net_noise_handshake_free           (NetNoiseHandshake *hs);
/* An independent copy, secrets included: read a message that may be a
 * forgery on the copy, so a failure leaves the original usable. */
NetNoiseHandshake *_net_noise_handshake_copy (const NetNoiseHandshake *hs);

/* Uses @secret (32 bytes) instead of a random ephemeral: only for test
 * vectors.  Call before the message that sends e. */
void     _net_noise_handshake_set_ephemeral_for_test (NetNoiseHandshake *hs,
                                                      const guint8      *secret);

NetNoiseRole _net_noise_handshake_get_role   (NetNoiseHandshake *hs);

/*
 * WriteMessage (payload, message_buffer): writes the next message into
 * @out (%NET_NOISE_IK_MESSAGE1_OVERHEAD or %NET_NOISE_IK_MESSAGE2_OVERHEAD
 * bytes more than @payload_len).  %NET_ERROR_PROTOCOL when it is not this
 * side's turn or the handshake failed before, %NET_ERROR_INVALID_ARGUMENT
 * when @out_size is too small or the message would be larger than
 * %NET_NOISE_MAX_MESSAGE_LEN.
 */
gboolean _net_noise_handshake_write_message  (NetNoiseHandshake *hs,
                                              const guint8      *payload,
                                              gsize              payload_len,
                                              guint8            *out,
                                              gsize              out_size,
                                              gsize             *out_len,
                                              GError           **error);
/*
 * ReadMessage (message, payload_buffer): %NET_ERROR_PROTOCOL when the
 * message is malformed (too short, too long) or out of turn,
 * %NET_ERROR_AUTH_FAILED when it does not authenticate (wrong keys,
 * prologue, a changed byte) or a DH result is all zeros.  Any failure
 * leaves the handshake unusable.
 */
gboolean _net_noise_handshake_read_message   (NetNoiseHandshake *hs,
                                              const guint8      *message,
                                              gsize              message_len,
                                              guint8            *payload,
                                              gsize              payload_size,
                                              gsize             *payload_len,
                                              GError           **error);

/* The peer's static public key (32 bytes), once known: from the start on
 * the initiator, after message 1 on the responder; %NULL before. */
const guint8 *_net_noise_handshake_get_remote_static (NetNoiseHandshake *hs);

gboolean _net_noise_handshake_is_finished    (NetNoiseHandshake *hs);

/*
 * Split (): after the last message, the transport CipherStates, already
 * assigned to this side's role (the initiator sends with the first one
 * Split() makes, the responder receives with it), and the handshake hash
 * h (%NET_NOISE_HASHLEN bytes).  Wipes the handshake's own secrets; the
 * handshake can only be freed afterwards.
 */
void     _net_noise_handshake_split          (NetNoiseHandshake   *hs,
                                              NetNoiseCipherState *send,
                                              NetNoiseCipherState *recv,
                                              guint8              *handshake_hash);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetNoiseHandshake, _net_noise_handshake_free)

G_END_DECLS
