/* net-wire.c: the datagrams of docs/net-protocol.md
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Sections 1 to 3 of the protocol: the header, the two handshake messages
 * around the Noise IK handshake of net-noise.c, data datagrams and their
 * replay window.  Sealing and opening run for every datagram, so they
 * allocate nothing and call libsodium's AEAD directly rather than going
 * through a NetNoiseCipherState (whose nonce is implicit; ours travels in
 * the header).
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "net-error.h"
#include "net-wire-private.h"

G_STATIC_ASSERT (NET_WIRE_INITIATION_LEN == 172);
G_STATIC_ASSERT (NET_WIRE_RESPONSE_LEN == 84);
G_STATIC_ASSERT (NET_WIRE_REPLAY_WINDOW % 64 == 0);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_ABYTES == NET_WIRE_TAG_LEN);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_KEYBYTES == NET_NOISE_KEYLEN);

#define MAGIC0 0x4e /* 'N' */
#define MAGIC1 0x64 /* 'd' */

/* The initiation's header and sender index: the prologue of both sides. */
#define PROLOGUE_LEN (NET_WIRE_HEADER_LEN + 4)

#define REPLAY_WORDS (NET_WIRE_REPLAY_WINDOW / 64)

static const char * const drop_reason_names[NET_WIRE_N_DROP_REASONS] = {
  [NET_WIRE_OK] = "ok",
  [NET_WIRE_DROP_MALFORMED] = "malformed",
  [NET_WIRE_DROP_UNKNOWN_INDEX] = "unknown-index",
  [NET_WIRE_DROP_REPLAY] = "replay",
  [NET_WIRE_DROP_AUTH] = "auth",
  [NET_WIRE_DROP_HANDSHAKE_REPLAY] = "handshake-replay",
  [NET_WIRE_DROP_UNKNOWN_PEER] = "unknown-peer",
  [NET_WIRE_DROP_TOO_LARGE] = "too-large",
  [NET_WIRE_DROP_MAC] = "mac",
};

const char *
_net_wire_drop_reason_name (NetWireDrop reason)
{
  g_return_val_if_fail ((guint) reason < NET_WIRE_N_DROP_REASONS, NULL);

  return drop_reason_names[reason];
}

/* --- Little-endian integers ---------------------------------------------- */

static inline void
put_u32 (guint8  *p,
         guint32  v)
{
  for (guint i = 0; i < 4; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static inline void
put_u64 (guint8  *p,
         guint64  v)
{
  for (guint i = 0; i < 8; i++)
    p[i] = (guint8) (v >> (8 * i));
}

static inline guint32
get_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 |
         (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static inline guint64
get_u64 (const guint8 *p)
{
  return (guint64) get_u32 (p) | (guint64) get_u32 (p + 4) << 32;
}

/* --- Header -------------------------------------------------------------- */

void
_net_wire_write_header (guint8              *out,
                        const NetWireHeader *header)
{
  g_assert (out != NULL);
  g_assert (header != NULL);

  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = NET_WIRE_VERSION;
  out[3] = (guint8) header->type;
  put_u32 (out + 4, header->receiver_index);
  put_u64 (out + 8, header->counter);
}

NetWireDrop
_net_wire_parse_header (const guint8  *data,
                        gsize          len,
                        gsize          max_datagram,
                        NetWireHeader *header)
{
  NetWireHeader h;

  g_return_val_if_fail (data != NULL || len == 0, NET_WIRE_DROP_MALFORMED);
  g_return_val_if_fail (header != NULL, NET_WIRE_DROP_MALFORMED);

  /* First, so that oversized datagrams are counted as such whatever they
   * hold: the node's limit is what the counter is about. */
  if (len > max_datagram)
    return NET_WIRE_DROP_TOO_LARGE;

  if (len < NET_WIRE_HEADER_LEN ||
      data[0] != MAGIC0 || data[1] != MAGIC1 ||
      data[2] != NET_WIRE_VERSION)
    return NET_WIRE_DROP_MALFORMED;

  h.type = (NetWireType) data[3];
  h.receiver_index = get_u32 (data + 4);
  h.counter = get_u64 (data + 8);

  switch (h.type)
    {
    case NET_WIRE_HANDSHAKE_INITIATION:
      /* No session exists yet, so the receiver index is 0; handshakes
       * carry no counter. */
      if ((len != NET_WIRE_INITIATION_LEN && len != NET_WIRE_INITIATION_MAC2_LEN) ||
          h.receiver_index != 0 || h.counter != 0)
        return NET_WIRE_DROP_MALFORMED;
      break;

    case NET_WIRE_HANDSHAKE_RESPONSE:
      if ((len != NET_WIRE_RESPONSE_LEN && len != NET_WIRE_RESPONSE_MAC2_LEN) ||
          h.counter != 0)
        return NET_WIRE_DROP_MALFORMED;
      break;

    case NET_WIRE_COOKIE_REPLY:
      if (len != NET_WIRE_COOKIE_REPLY_LEN || h.counter != 0)
        return NET_WIRE_DROP_MALFORMED;
      break;

    case NET_WIRE_DATA:
      if (len < NET_WIRE_DATA_OVERHEAD)
        return NET_WIRE_DROP_MALFORMED;
      break;

    default:
      return NET_WIRE_DROP_MALFORMED;
    }

  *header = h;
  return NET_WIRE_OK;
}

/* --- Replay window ------------------------------------------------------- */

/*
 * The window is a 1024-bit shift register: bit i (word i / 64, bit i % 64)
 * says whether counter top - 1 - i was committed.  Unlike the ring of
 * RFC 6479 it holds exactly NET_WIRE_REPLAY_WINDOW counters; advancing
 * shifts 16 words, which costs next to nothing next to the AEAD.
 */

void
_net_wire_replay_init (NetWireReplayWindow *window)
{
  g_assert (window != NULL);

  memset (window, 0, sizeof *window);
}

gboolean
_net_wire_replay_check (const NetWireReplayWindow *window,
                        guint64                    counter)
{
  guint64 i;

  g_assert (window != NULL);

  /* A sender never uses these, and refusing them keeps top + 1 from
   * overflowing. */
  if (counter >= NET_WIRE_REJECT_AFTER_MESSAGES)
    return FALSE;
  if (counter >= window->top)
    return TRUE;

  i = window->top - 1 - counter;
  if (i >= NET_WIRE_REPLAY_WINDOW)
    return FALSE;  /* too old to tell */

  return (window->bits[i / 64] & (G_GUINT64_CONSTANT (1) << (i % 64))) == 0;
}

/* Moves every bit @shift places towards the old end, dropping those that
 * fall off it. */
static void
replay_shift (NetWireReplayWindow *window,
              guint64              shift)
{
  guint words, bits;

  if (shift >= NET_WIRE_REPLAY_WINDOW)
    {
      memset (window->bits, 0, sizeof window->bits);
      return;
    }

  words = (guint) (shift / 64);
  bits = (guint) (shift % 64);

  for (int w = REPLAY_WORDS - 1; w >= 0; w--)
    {
      int src = w - (int) words;
      guint64 v = 0;

      if (src >= 0)
        {
          v = window->bits[src] << bits;
          /* A shift by 64 is undefined, hence the test. */
          if (bits != 0 && src >= 1)
            v |= window->bits[src - 1] >> (64 - bits);
        }
      window->bits[w] = v;
    }
}

void
_net_wire_replay_commit (NetWireReplayWindow *window,
                         guint64              counter)
{
  guint64 i;

  g_assert (window != NULL);
  g_return_if_fail (counter < NET_WIRE_REJECT_AFTER_MESSAGES);

  if (counter >= window->top)
    {
      replay_shift (window, counter + 1 - window->top);
      window->top = counter + 1;
      window->bits[0] |= 1;
      return;
    }

  i = window->top - 1 - counter;
  if (i < NET_WIRE_REPLAY_WINDOW)
    window->bits[i / 64] |= G_GUINT64_CONSTANT (1) << (i % 64);
}

/* --- Handshake ---------------------------------------------------------- */

#define MAC1_LABEL "mac1----"

void
_net_wire_mac1_key (const guint8 *x25519_public,
                    guint8       *key)
{
  crypto_generichash_state st;

  g_return_if_fail (x25519_public != NULL);
  g_return_if_fail (key != NULL);

  crypto_generichash_init (&st, NULL, 0, NET_WIRE_MAC1_KEY_LEN);
  crypto_generichash_update (&st, (const guint8 *) MAC1_LABEL, strlen (MAC1_LABEL));
  crypto_generichash_update (&st, x25519_public, NET_NOISE_DHLEN);
  crypto_generichash_final (&st, key, NET_WIRE_MAC1_KEY_LEN);
}

static void
wire_put_mac1 (const guint8 *receiver_x25519,
               guint8       *data,
               gsize         len)
{
  guint8 key[NET_WIRE_MAC1_KEY_LEN];

  _net_wire_mac1_key (receiver_x25519, key);
  crypto_generichash (data + len - NET_WIRE_MAC_LEN, NET_WIRE_MAC_LEN,
                      data, len - NET_WIRE_MAC_LEN, key, sizeof key);
}

gboolean
_net_wire_check_mac1 (const guint8 *mac1_key,
                      const guint8 *data,
                      gsize         len)
{
  guint8 mac[NET_WIRE_MAC_LEN];

  g_return_val_if_fail (mac1_key != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len < NET_WIRE_HEADER_LEN + NET_WIRE_MAC_LEN)
    return FALSE;
  crypto_generichash (mac, sizeof mac, data, len - NET_WIRE_MAC_LEN,
                      mac1_key, NET_WIRE_MAC1_KEY_LEN);
  return sodium_memcmp (mac, data + len - NET_WIRE_MAC_LEN, sizeof mac) == 0;
}

/* --- Cookies ------------------------------------------------------------ */

#define COOKIE_LABEL "cookie--"

G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == NET_WIRE_COOKIE_NONCE_LEN);
G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_ABYTES == NET_WIRE_TAG_LEN);
G_STATIC_ASSERT (crypto_aead_xchacha20poly1305_ietf_KEYBYTES == NET_WIRE_MAC1_KEY_LEN);

void
_net_wire_cookie_make (const guint8 *secret,
                       const guint8 *source,
                       gsize         source_len,
                       guint8       *cookie)
{
  g_return_if_fail (secret != NULL);
  g_return_if_fail (source != NULL || source_len == 0);
  g_return_if_fail (cookie != NULL);

  crypto_generichash (cookie, NET_WIRE_COOKIE_LEN, source, source_len,
                      secret, NET_WIRE_COOKIE_SECRET_LEN);
}

void
_net_wire_cookie_key (const guint8 *x25519_public,
                      guint8       *key)
{
  crypto_generichash_state st;

  g_return_if_fail (x25519_public != NULL);
  g_return_if_fail (key != NULL);

  crypto_generichash_init (&st, NULL, 0, NET_WIRE_MAC1_KEY_LEN);
  crypto_generichash_update (&st, (const guint8 *) COOKIE_LABEL, strlen (COOKIE_LABEL));
  crypto_generichash_update (&st, x25519_public, NET_NOISE_DHLEN);
  crypto_generichash_final (&st, key, NET_WIRE_MAC1_KEY_LEN);
}

void
_net_wire_cookie_reply_write (const guint8 *cookie_key,
                              guint32       receiver_index,
                              const guint8 *mac1,
                              const guint8 *cookie,
                              const guint8 *nonce,
                              guint8       *out)
{
  NetWireHeader header = { NET_WIRE_COOKIE_REPLY, receiver_index, 0 };
  guint8 *out_nonce = out + NET_WIRE_HEADER_LEN;

  g_return_if_fail (cookie_key != NULL);
  g_return_if_fail (mac1 != NULL);
  g_return_if_fail (cookie != NULL);
  g_return_if_fail (out != NULL);

  _net_wire_write_header (out, &header);
  if (nonce != NULL)
    memcpy (out_nonce, nonce, NET_WIRE_COOKIE_NONCE_LEN);
  else
    randombytes_buf (out_nonce, NET_WIRE_COOKIE_NONCE_LEN);
  crypto_aead_xchacha20poly1305_ietf_encrypt (out_nonce + NET_WIRE_COOKIE_NONCE_LEN, NULL,
                                              cookie, NET_WIRE_COOKIE_LEN,
                                              mac1, NET_WIRE_MAC_LEN,
                                              NULL, out_nonce, cookie_key);
}

gboolean
_net_wire_cookie_reply_read (const guint8 *cookie_key,
                             const guint8 *mac1,
                             const guint8 *data,
                             gsize         len,
                             guint8       *cookie)
{
  const guint8 *nonce = data + NET_WIRE_HEADER_LEN;

  g_return_val_if_fail (cookie_key != NULL, FALSE);
  g_return_val_if_fail (mac1 != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (cookie != NULL, FALSE);

  if (len != NET_WIRE_COOKIE_REPLY_LEN)
    return FALSE;
  return crypto_aead_xchacha20poly1305_ietf_decrypt (cookie, NULL, NULL,
                                                     nonce + NET_WIRE_COOKIE_NONCE_LEN,
                                                     NET_WIRE_COOKIE_LEN + NET_WIRE_TAG_LEN,
                                                     mac1, NET_WIRE_MAC_LEN,
                                                     nonce, cookie_key) == 0;
}

void
_net_wire_put_mac2 (const guint8 *cookie,
                    guint8       *data,
                    gsize         len)
{
  g_return_if_fail (cookie != NULL);
  g_return_if_fail (data != NULL);
  g_return_if_fail (len == NET_WIRE_INITIATION_MAC2_LEN || len == NET_WIRE_RESPONSE_MAC2_LEN);

  crypto_generichash (data + len - NET_WIRE_MAC_LEN, NET_WIRE_MAC_LEN,
                      data, len - NET_WIRE_MAC_LEN, cookie, NET_WIRE_COOKIE_LEN);
}

gboolean
_net_wire_check_mac2 (const guint8 *cookie,
                      const guint8 *data,
                      gsize         len)
{
  guint8 mac[NET_WIRE_MAC_LEN];

  g_return_val_if_fail (cookie != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len != NET_WIRE_INITIATION_MAC2_LEN && len != NET_WIRE_RESPONSE_MAC2_LEN)
    return FALSE;
  crypto_generichash (mac, sizeof mac, data, len - NET_WIRE_MAC_LEN,
                      cookie, NET_WIRE_COOKIE_LEN);
  return sodium_memcmp (mac, data + len - NET_WIRE_MAC_LEN, sizeof mac) == 0;
}

NetNoiseHandshake *
_net_wire_initiation_write (const guint8  *static_secret,
                            const guint8  *remote_static,
                            const guint8  *ed25519_public,
                            guint32        sender_index,
                            guint64        timestamp,
                            const guint8  *ephemeral_for_test,
                            guint8        *out,
                            GError       **error)
{
  g_autoptr(NetNoiseHandshake) hs = NULL;
  NetWireHeader header = { NET_WIRE_HANDSHAKE_INITIATION, 0, 0 };
  guint8 payload[NET_WIRE_INITIATION_PAYLOAD_LEN];
  gsize n = 0;

  g_return_val_if_fail (static_secret != NULL, NULL);
  g_return_val_if_fail (remote_static != NULL, NULL);
  g_return_val_if_fail (ed25519_public != NULL, NULL);
  g_return_val_if_fail (sender_index != 0, NULL);
  g_return_val_if_fail (out != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  _net_wire_write_header (out, &header);
  put_u32 (out + NET_WIRE_HEADER_LEN, sender_index);

  hs = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, out, PROLOGUE_LEN,
                                 static_secret, remote_static);
  if (ephemeral_for_test != NULL)
    _net_noise_handshake_set_ephemeral_for_test (hs, ephemeral_for_test);

  put_u64 (payload, timestamp);
  memcpy (payload + 8, ed25519_public, 32);
  if (!_net_noise_handshake_write_message (hs, payload, sizeof payload,
                                           out + PROLOGUE_LEN,
                                           NET_WIRE_INITIATION_LEN - PROLOGUE_LEN - NET_WIRE_MAC_LEN,
                                           &n, error))
    return NULL;
  g_assert (n == NET_WIRE_INITIATION_LEN - PROLOGUE_LEN - NET_WIRE_MAC_LEN);
  wire_put_mac1 (remote_static, out, NET_WIRE_INITIATION_LEN);

  return g_steal_pointer (&hs);
}

NetNoiseHandshake *
_net_wire_initiation_read (const guint8  *static_secret,
                           const guint8  *mac1_key,
                           const guint8  *data,
                           gsize          len,
                           guint32       *sender_index,
                           guint64       *timestamp,
                           guint8        *ed25519_public,
                           GError       **error)
{
  g_autoptr(NetNoiseHandshake) hs = NULL;
  guint8 payload[NET_WIRE_INITIATION_PAYLOAD_LEN];
  guint8 converted[NET_NOISE_DHLEN];
  gsize payload_len = 0;
  guint32 index;

  g_return_val_if_fail (static_secret != NULL, NULL);
  g_return_val_if_fail (mac1_key != NULL, NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The header itself is not checked again: it is the prologue, so any
   * change to it fails the handshake's authentication. */
  if (len != NET_WIRE_INITIATION_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "handshake initiation of %" G_GSIZE_FORMAT " bytes "
                   "instead of %d", len, NET_WIRE_INITIATION_LEN);
      return NULL;
    }

  index = get_u32 (data + NET_WIRE_HEADER_LEN);
  if (index == 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                           "handshake initiation with sender index 0");
      return NULL;
    }

  /* Before any Diffie-Hellman. */
  if (!_net_wire_check_mac1 (mac1_key, data, len))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_AUTH_FAILED,
                           "handshake initiation with a wrong mac1");
      return NULL;
    }

  hs = _net_noise_handshake_new (NET_NOISE_ROLE_RESPONDER, data, PROLOGUE_LEN,
                                 static_secret, NULL);
  if (!_net_noise_handshake_read_message (hs, data + PROLOGUE_LEN,
                                          len - PROLOGUE_LEN - NET_WIRE_MAC_LEN,
                                          payload, sizeof payload,
                                          &payload_len, error))
    return NULL;
  /* The length was exact, so the payload is too. */
  g_assert (payload_len == sizeof payload);

  /* The Ed25519 key must be the identity the handshake authenticated. */
  if (crypto_sign_ed25519_pk_to_curve25519 (converted, payload + 8) != 0 ||
      sodium_memcmp (converted, _net_noise_handshake_get_remote_static (hs),
                     sizeof converted) != 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_AUTH_FAILED,
                           "handshake initiation whose Ed25519 key is not "
                           "its static key");
      return NULL;
    }

  if (sender_index != NULL)
    *sender_index = index;
  if (timestamp != NULL)
    *timestamp = get_u64 (payload);
  if (ed25519_public != NULL)
    memcpy (ed25519_public, payload + 8, 32);

  return g_steal_pointer (&hs);
}

gboolean
_net_wire_response_write (NetNoiseHandshake  *hs,
                          guint32             initiator_index,
                          guint32             responder_index,
                          const guint8       *ephemeral_for_test,
                          guint8             *out,
                          GError            **error)
{
  NetWireHeader header = { NET_WIRE_HANDSHAKE_RESPONSE, initiator_index, 0 };
  guint8 payload[4];
  gsize n = 0;

  g_return_val_if_fail (hs != NULL, FALSE);
  g_return_val_if_fail (_net_noise_handshake_get_role (hs) == NET_NOISE_ROLE_RESPONDER, FALSE);
  g_return_val_if_fail (_net_noise_handshake_get_remote_static (hs) != NULL, FALSE);
  g_return_val_if_fail (responder_index != 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _net_wire_write_header (out, &header);

  if (ephemeral_for_test != NULL)
    _net_noise_handshake_set_ephemeral_for_test (hs, ephemeral_for_test);

  put_u32 (payload, responder_index);
  if (!_net_noise_handshake_write_message (hs, payload, sizeof payload,
                                           out + NET_WIRE_HEADER_LEN,
                                           NET_WIRE_RESPONSE_LEN - NET_WIRE_HEADER_LEN - NET_WIRE_MAC_LEN,
                                           &n, error))
    return FALSE;
  g_assert (n == NET_WIRE_RESPONSE_LEN - NET_WIRE_HEADER_LEN - NET_WIRE_MAC_LEN);
  wire_put_mac1 (_net_noise_handshake_get_remote_static (hs), out, NET_WIRE_RESPONSE_LEN);

  return TRUE;
}

gboolean
_net_wire_response_read (NetNoiseHandshake  *hs,
                         const guint8       *mac1_key,
                         const guint8       *data,
                         gsize               len,
                         guint32            *responder_index,
                         GError            **error)
{
  guint8 payload[4];
  gsize payload_len = 0;
  guint32 index;

  g_return_val_if_fail (hs != NULL, FALSE);
  g_return_val_if_fail (_net_noise_handshake_get_role (hs) == NET_NOISE_ROLE_INITIATOR, FALSE);
  g_return_val_if_fail (mac1_key != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The response's header is not in the prologue, so its fixed fields are
   * checked here (its receiver index is what found @hs).  Checked before
   * Noise sees anything, so that junk does not spoil the handshake. */
  if (len != NET_WIRE_RESPONSE_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "handshake response of %" G_GSIZE_FORMAT " bytes "
                   "instead of %d", len, NET_WIRE_RESPONSE_LEN);
      return FALSE;
    }
  if (data[0] != MAGIC0 || data[1] != MAGIC1 ||
      data[2] != NET_WIRE_VERSION ||
      data[3] != NET_WIRE_HANDSHAKE_RESPONSE ||
      get_u64 (data + 8) != 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                           "handshake response with a malformed header");
      return FALSE;
    }
  if (!_net_wire_check_mac1 (mac1_key, data, len))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_AUTH_FAILED,
                           "handshake response with a wrong mac1");
      return FALSE;
    }

  if (!_net_noise_handshake_read_message (hs, data + NET_WIRE_HEADER_LEN,
                                          len - NET_WIRE_HEADER_LEN - NET_WIRE_MAC_LEN,
                                          payload, sizeof payload,
                                          &payload_len, error))
    return FALSE;
  g_assert (payload_len == sizeof payload);

  index = get_u32 (payload);
  if (index == 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                           "handshake response with sender index 0");
      return FALSE;
    }

  if (responder_index != NULL)
    *responder_index = index;
  return TRUE;
}

/* --- Transport ----------------------------------------------------------- */

void
_net_wire_keys_init (NetWireKeys       *keys,
                     NetNoiseHandshake *hs,
                     guint32            local_index,
                     guint32            remote_index)
{
  NetNoiseCipherState send, recv;
  guint8 hash[NET_NOISE_HASHLEN];

  g_assert (keys != NULL);
  g_assert (hs != NULL);
  g_assert (_net_noise_handshake_is_finished (hs));

  _net_noise_handshake_split (hs, &send, &recv, hash);
  g_assert (send.has_key && recv.has_key);

  memcpy (keys->send_key, send.k, NET_NOISE_KEYLEN);
  memcpy (keys->recv_key, recv.k, NET_NOISE_KEYLEN);
  keys->send_counter = 0;
  _net_wire_replay_init (&keys->window);
  keys->local_index = local_index;
  keys->remote_index = remote_index;

  _net_noise_cipher_clear (&send);
  _net_noise_cipher_clear (&recv);
  sodium_memzero (hash, sizeof hash);
}

void
_net_wire_keys_clear (NetWireKeys *keys)
{
  g_assert (keys != NULL);

  sodium_memzero (keys, sizeof *keys);
}

static inline void
make_nonce (guint8  nonce[12],
            guint64 counter)
{
  memset (nonce, 0, 4);
  put_u64 (nonce + 4, counter);
}

gboolean
_net_wire_seal (NetWireKeys   *keys,
                const guint8  *plaintext,
                gsize          plaintext_len,
                guint8        *out,
                gsize          out_size,
                gsize         *out_len,
                GError       **error)
{
  NetWireHeader header;
  guint8 nonce[12];
  unsigned long long clen = 0;

  g_assert (keys != NULL);
  g_assert (plaintext != NULL || plaintext_len == 0);
  g_assert (out != NULL);

  if (plaintext_len > out_size ||
      out_size - plaintext_len < NET_WIRE_DATA_OVERHEAD)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "a data datagram of %" G_GSIZE_FORMAT " bytes of "
                   "plaintext does not fit in %" G_GSIZE_FORMAT " bytes",
                   plaintext_len, out_size);
      return FALSE;
    }
  if (keys->send_counter >= NET_WIRE_REJECT_AFTER_MESSAGES)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_FAILED,
                           "the session's counters are used up: "
                           "it needs a new handshake");
      return FALSE;
    }

  header.type = NET_WIRE_DATA;
  header.receiver_index = keys->remote_index;
  header.counter = keys->send_counter;
  _net_wire_write_header (out, &header);
  make_nonce (nonce, header.counter);

  /* libsodium allows @plaintext to be out + NET_WIRE_HEADER_LEN. */
  crypto_aead_chacha20poly1305_ietf_encrypt (out + NET_WIRE_HEADER_LEN, &clen,
                                             plaintext, plaintext_len,
                                             out, NET_WIRE_HEADER_LEN,
                                             NULL, nonce, keys->send_key);
  g_assert (clen == plaintext_len + NET_WIRE_TAG_LEN);

  /* Never again, whatever becomes of this datagram. */
  keys->send_counter++;
  if (out_len != NULL)
    *out_len = plaintext_len + NET_WIRE_DATA_OVERHEAD;
  return TRUE;
}

NetWireDrop
_net_wire_open (NetWireKeys         *keys,
                const NetWireHeader *header,
                const guint8        *data,
                gsize                len,
                guint8              *out,
                gsize                out_size,
                gsize               *out_len)
{
  guint8 nonce[12];
  unsigned long long mlen = 0;

  g_assert (keys != NULL);
  g_assert (header != NULL);
  g_assert (data != NULL || len == 0);

  if (header->type != NET_WIRE_DATA || len < NET_WIRE_DATA_OVERHEAD)
    return NET_WIRE_DROP_MALFORMED;
  g_return_val_if_fail (out != NULL || len == NET_WIRE_DATA_OVERHEAD,
                        NET_WIRE_DROP_MALFORMED);
  g_return_val_if_fail (out_size >= len - NET_WIRE_DATA_OVERHEAD,
                        NET_WIRE_DROP_MALFORMED);

  if (!_net_wire_replay_check (&keys->window, header->counter))
    return NET_WIRE_DROP_REPLAY;

  make_nonce (nonce, header->counter);
  if (crypto_aead_chacha20poly1305_ietf_decrypt (out, &mlen, NULL,
                                                 data + NET_WIRE_HEADER_LEN,
                                                 len - NET_WIRE_HEADER_LEN,
                                                 data, NET_WIRE_HEADER_LEN,
                                                 nonce, keys->recv_key) != 0)
    return NET_WIRE_DROP_AUTH;
  g_assert (mlen == len - NET_WIRE_DATA_OVERHEAD);

  _net_wire_replay_commit (&keys->window, header->counter);
  if (out_len != NULL)
    *out_len = (gsize) mlen;
  return NET_WIRE_OK;
}
