/* net-noise.c: the Noise_IK_25519_ChaChaPoly_SHA256 handshake
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Follows the Noise Protocol Framework, revision 34, section by section:
 * 5.1 CipherState, 5.2 SymmetricState, 5.3 HandshakeState, 4 the crypto
 * functions (X25519, ChaChaPoly, SHA256 with its HMAC-based HKDF).
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "net-error.h"
#include "net-noise-private.h"

G_STATIC_ASSERT (crypto_scalarmult_BYTES == NET_NOISE_DHLEN);
G_STATIC_ASSERT (crypto_scalarmult_SCALARBYTES == NET_NOISE_DHLEN);
G_STATIC_ASSERT (crypto_hash_sha256_BYTES == NET_NOISE_HASHLEN);
G_STATIC_ASSERT (crypto_auth_hmacsha256_BYTES == NET_NOISE_HASHLEN);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_KEYBYTES == NET_NOISE_KEYLEN);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_ABYTES == NET_NOISE_TAGLEN);
G_STATIC_ASSERT (crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
G_STATIC_ASSERT (sizeof (NET_NOISE_PROTOCOL_NAME) - 1 <= NET_NOISE_HASHLEN);

/* 2^64-1 is reserved: once n reaches it, the CipherState is spent. */
#define NONCE_RESERVED G_MAXUINT64

/* --- Crypto functions ---------------------------------------------------- */

static void
ensure_sodium (void)
{
  /* sodium_init () is idempotent and thread-safe; < 0 is fatal. */
  if (sodium_init () < 0)
    g_error ("libsodium failed to initialise");
}

/* ChaChaPoly: 32 bits of zeros, then n as 64-bit little endian. */
static void
format_nonce (guint64 n,
              guint8  nonce[12])
{
  memset (nonce, 0, 4);
  for (guint i = 0; i < 8; i++)
    nonce[4 + i] = (guint8) (n >> (8 * i));
}

static void
hmac_sha256 (const guint8 *key,
             const guint8 *data1,
             gsize         data1_len,
             const guint8 *data2,
             gsize         data2_len,
             guint8        out[NET_NOISE_HASHLEN])
{
  crypto_auth_hmacsha256_state st;

  crypto_auth_hmacsha256_init (&st, key, NET_NOISE_HASHLEN);
  crypto_auth_hmacsha256_update (&st, data1, data1_len);
  if (data2_len > 0)
    crypto_auth_hmacsha256_update (&st, data2, data2_len);
  crypto_auth_hmacsha256_final (&st, out);
  sodium_memzero (&st, sizeof st);
}

void
_net_noise_hkdf2 (const guint8 *chaining_key,
                  const guint8 *ikm,
                  gsize         ikm_len,
                  guint8       *out1,
                  guint8       *out2)
{
  guint8 temp_key[NET_NOISE_HASHLEN];
  guint8 t1[NET_NOISE_HASHLEN];
  static const guint8 one = 0x01, two = 0x02;

  hmac_sha256 (chaining_key, ikm, ikm_len, NULL, 0, temp_key);
  hmac_sha256 (temp_key, &one, 1, NULL, 0, t1);
  /* out1 may alias chaining_key or out2's source: write it last. */
  hmac_sha256 (temp_key, t1, sizeof t1, &two, 1, out2);
  memcpy (out1, t1, sizeof t1);

  sodium_memzero (temp_key, sizeof temp_key);
  sodium_memzero (t1, sizeof t1);
}

void
_net_noise_public_key (const guint8 *secret,
                       guint8       *public_key)
{
  ensure_sodium ();
  /* Only fails for a low-order result, which a clamped scalar times the
   * base point never is. */
  if (crypto_scalarmult_base (public_key, secret) != 0)
    g_assert_not_reached ();
}

/* DH (key_pair, public_key); an all-zero result (a low-order public key)
 * is refused, as section 12.1 allows. */
static gboolean
dh (const guint8  *secret,
    const guint8  *public_key,
    guint8         out[NET_NOISE_DHLEN],
    GError       **error)
{
  if (crypto_scalarmult (out, secret, public_key) != 0)
    {
      sodium_memzero (out, NET_NOISE_DHLEN);
      g_set_error_literal (error, NET_ERROR, NET_ERROR_AUTH_FAILED,
                           "the peer sent a low-order key "
                           "(the Diffie-Hellman result is all zeros)");
      return FALSE;
    }
  return TRUE;
}

/* --- CipherState --------------------------------------------------------- */

void
_net_noise_cipher_init (NetNoiseCipherState *cs,
                        const guint8        *key)
{
  g_assert (cs != NULL);

  if (key != NULL)
    {
      memmove (cs->k, key, NET_NOISE_KEYLEN);
      cs->has_key = TRUE;
    }
  else
    {
      sodium_memzero (cs->k, sizeof cs->k);
      cs->has_key = FALSE;
    }
  cs->n = 0;
}

void
_net_noise_cipher_clear (NetNoiseCipherState *cs)
{
  sodium_memzero (cs, sizeof *cs);
}

void
_net_noise_cipher_set_nonce (NetNoiseCipherState *cs,
                             guint64              n)
{
  cs->n = n;
}

guint64
_net_noise_cipher_get_nonce (const NetNoiseCipherState *cs)
{
  return cs->n;
}

gboolean
_net_noise_cipher_encrypt (NetNoiseCipherState  *cs,
                           const guint8         *ad,
                           gsize                 ad_len,
                           const guint8         *plaintext,
                           gsize                 plaintext_len,
                           guint8               *out,
                           gsize                 out_size,
                           gsize                *out_len,
                           GError              **error)
{
  guint8 nonce[12];
  unsigned long long clen = 0;
  gsize need;

  g_assert (cs != NULL);
  g_assert (plaintext != NULL || plaintext_len == 0);
  g_assert (ad != NULL || ad_len == 0);

  need = plaintext_len + (cs->has_key ? NET_NOISE_TAGLEN : 0);
  if (plaintext_len > NET_NOISE_MAX_MESSAGE_LEN || need > NET_NOISE_MAX_MESSAGE_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%" G_GSIZE_FORMAT " bytes of plaintext do not fit "
                   "a %u-byte message", plaintext_len,
                   (guint) NET_NOISE_MAX_MESSAGE_LEN);
      return FALSE;
    }
  if (need > out_size)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "output buffer of %" G_GSIZE_FORMAT " bytes, "
                   "%" G_GSIZE_FORMAT " needed", out_size, need);
      return FALSE;
    }

  if (!cs->has_key)
    {
      if (plaintext_len > 0)
        memmove (out, plaintext, plaintext_len);
      *out_len = plaintext_len;
      return TRUE;
    }

  if (cs->n == NONCE_RESERVED)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_FAILED,
                           "the nonce is exhausted; the key must "
                           "not be used any more");
      return FALSE;
    }

  format_nonce (cs->n, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt (out, &clen,
                                             plaintext, plaintext_len,
                                             ad, ad_len, NULL, nonce, cs->k);
  g_assert (clen == need);
  cs->n++;
  *out_len = need;
  return TRUE;
}

gboolean
_net_noise_cipher_decrypt (NetNoiseCipherState  *cs,
                           const guint8         *ad,
                           gsize                 ad_len,
                           const guint8         *ciphertext,
                           gsize                 ciphertext_len,
                           guint8               *out,
                           gsize                 out_size,
                           gsize                *out_len,
                           GError              **error)
{
  guint8 nonce[12];
  unsigned long long mlen = 0;
  gsize need;

  g_assert (cs != NULL);
  g_assert (ciphertext != NULL || ciphertext_len == 0);
  g_assert (ad != NULL || ad_len == 0);

  if (ciphertext_len > NET_NOISE_MAX_MESSAGE_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "a %" G_GSIZE_FORMAT "-byte ciphertext is longer "
                   "than a Noise message", ciphertext_len);
      return FALSE;
    }

  if (!cs->has_key)
    {
      if (ciphertext_len > out_size)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "output buffer of %" G_GSIZE_FORMAT " bytes, "
                       "%" G_GSIZE_FORMAT " needed", out_size, ciphertext_len);
          return FALSE;
        }
      if (ciphertext_len > 0)
        memmove (out, ciphertext, ciphertext_len);
      *out_len = ciphertext_len;
      return TRUE;
    }

  if (ciphertext_len < NET_NOISE_TAGLEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "a %" G_GSIZE_FORMAT "-byte ciphertext is shorter "
                   "than its %u-byte tag", ciphertext_len,
                   (guint) NET_NOISE_TAGLEN);
      return FALSE;
    }
  need = ciphertext_len - NET_NOISE_TAGLEN;
  if (need > out_size)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "output buffer of %" G_GSIZE_FORMAT " bytes, "
                   "%" G_GSIZE_FORMAT " needed", out_size, need);
      return FALSE;
    }
  if (cs->n == NONCE_RESERVED)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_FAILED,
                           "the nonce is exhausted; the key must "
                           "not be used any more");
      return FALSE;
    }

  format_nonce (cs->n, nonce);
  if (crypto_aead_chacha20poly1305_ietf_decrypt (out, &mlen, NULL,
                                                 ciphertext, ciphertext_len,
                                                 ad, ad_len, nonce, cs->k) != 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_AUTH_FAILED,
                           "the message failed authentication (wrong key, "
                           "prologue or nonce, or changed in transit)");
      return FALSE;
    }
  g_assert (mlen == need);
  cs->n++;
  *out_len = need;
  return TRUE;
}

/* --- SymmetricState ------------------------------------------------------ */

typedef struct
{
  NetNoiseCipherState cs;
  guint8 ck[NET_NOISE_HASHLEN];
  guint8 h[NET_NOISE_HASHLEN];
} NetNoiseSymmetricState;

static void
symmetric_init (NetNoiseSymmetricState *ss,
                const char             *protocol_name)
{
  gsize len = strlen (protocol_name);

  /* A name of HASHLEN bytes or less is padded with zeros, a longer one
   * hashed. */
  memset (ss->h, 0, sizeof ss->h);
  if (len <= NET_NOISE_HASHLEN)
    memcpy (ss->h, protocol_name, len);
  else
    crypto_hash_sha256 (ss->h, (const guint8 *) protocol_name, len);
  memcpy (ss->ck, ss->h, sizeof ss->ck);
  _net_noise_cipher_init (&ss->cs, NULL);
}

static void
symmetric_mix_key (NetNoiseSymmetricState *ss,
                   const guint8           *ikm,
                   gsize                   ikm_len)
{
  guint8 temp_k[NET_NOISE_HASHLEN];

  _net_noise_hkdf2 (ss->ck, ikm, ikm_len, ss->ck, temp_k);
  /* HASHLEN is 32: no truncation. */
  _net_noise_cipher_init (&ss->cs, temp_k);
  sodium_memzero (temp_k, sizeof temp_k);
}

static void
symmetric_mix_hash (NetNoiseSymmetricState *ss,
                    const guint8           *data,
                    gsize                   data_len)
{
  crypto_hash_sha256_state st;

  crypto_hash_sha256_init (&st);
  crypto_hash_sha256_update (&st, ss->h, sizeof ss->h);
  crypto_hash_sha256_update (&st, data, data_len);
  crypto_hash_sha256_final (&st, ss->h);
  sodium_memzero (&st, sizeof st);
}

/* EncryptAndHash: h is the associated data. */
static gboolean
symmetric_encrypt_and_hash (NetNoiseSymmetricState  *ss,
                            const guint8            *plaintext,
                            gsize                    plaintext_len,
                            guint8                  *out,
                            gsize                    out_size,
                            gsize                   *out_len,
                            GError                 **error)
{
  if (!_net_noise_cipher_encrypt (&ss->cs, ss->h, sizeof ss->h,
                                  plaintext, plaintext_len,
                                  out, out_size, out_len, error))
    return FALSE;
  symmetric_mix_hash (ss, out, *out_len);
  return TRUE;
}

static gboolean
symmetric_decrypt_and_hash (NetNoiseSymmetricState  *ss,
                            const guint8            *ciphertext,
                            gsize                    ciphertext_len,
                            guint8                  *out,
                            gsize                    out_size,
                            gsize                   *out_len,
                            GError                 **error)
{
  if (!_net_noise_cipher_decrypt (&ss->cs, ss->h, sizeof ss->h,
                                  ciphertext, ciphertext_len,
                                  out, out_size, out_len, error))
    return FALSE;
  symmetric_mix_hash (ss, ciphertext, ciphertext_len);
  return TRUE;
}

static void
symmetric_split (NetNoiseSymmetricState *ss,
                 NetNoiseCipherState    *c1,
                 NetNoiseCipherState    *c2)
{
  guint8 temp_k1[NET_NOISE_HASHLEN];
  guint8 temp_k2[NET_NOISE_HASHLEN];

  _net_noise_hkdf2 (ss->ck, NULL, 0, temp_k1, temp_k2);
  _net_noise_cipher_init (c1, temp_k1);
  _net_noise_cipher_init (c2, temp_k2);
  sodium_memzero (temp_k1, sizeof temp_k1);
  sodium_memzero (temp_k2, sizeof temp_k2);
}

/* --- HandshakeState ------------------------------------------------------ */

typedef enum
{
  TOKEN_END = 0,
  TOKEN_E,
  TOKEN_S,
  TOKEN_EE,
  TOKEN_ES,
  TOKEN_SE,
  TOKEN_SS,
} Token;

/* IK: -> e, es, s, ss   <- e, ee, se  (the pre-message <- s is in new ()) */
static const Token ik_messages[2][5] = {
  { TOKEN_E, TOKEN_ES, TOKEN_S, TOKEN_SS, TOKEN_END },
  { TOKEN_E, TOKEN_EE, TOKEN_SE, TOKEN_END },
};

struct _NetNoiseHandshake
{
  NetNoiseSymmetricState ss;

  NetNoiseRole role;
  guint        message_index;   /* the next of ik_messages */
  gboolean     failed;
  gboolean     split;

  guint8   s[NET_NOISE_DHLEN];          /* static secret */
  guint8   s_pub[NET_NOISE_DHLEN];
  guint8   e[NET_NOISE_DHLEN];          /* ephemeral secret */
  guint8   e_pub[NET_NOISE_DHLEN];
  gboolean has_e;
  gboolean fixed_e;                     /* set for a test vector */
  guint8   rs[NET_NOISE_DHLEN];
  gboolean has_rs;
  guint8   re[NET_NOISE_DHLEN];
  gboolean has_re;
};

NetNoiseHandshake *
_net_noise_handshake_new (NetNoiseRole  role,
                          const guint8 *prologue,
                          gsize         prologue_len,
                          const guint8 *static_secret,
                          const guint8 *remote_static)
{
  NetNoiseHandshake *hs;

  g_return_val_if_fail (role == NET_NOISE_ROLE_INITIATOR ||
                        role == NET_NOISE_ROLE_RESPONDER, NULL);
  g_return_val_if_fail (prologue != NULL || prologue_len == 0, NULL);
  g_return_val_if_fail (static_secret != NULL, NULL);
  /* IK: the initiator knows the responder's static key beforehand, the
   * responder learns the initiator's from message 1. */
  g_return_val_if_fail ((role == NET_NOISE_ROLE_INITIATOR) == (remote_static != NULL), NULL);

  ensure_sodium ();

  hs = g_new0 (NetNoiseHandshake, 1);
  hs->role = role;

  memcpy (hs->s, static_secret, NET_NOISE_DHLEN);
  _net_noise_public_key (hs->s, hs->s_pub);
  if (remote_static != NULL)
    {
      memcpy (hs->rs, remote_static, NET_NOISE_DHLEN);
      hs->has_rs = TRUE;
    }

  symmetric_init (&hs->ss, NET_NOISE_PROTOCOL_NAME);
  symmetric_mix_hash (&hs->ss, prologue, prologue_len);

  /* The pre-message "<- s": the responder's static public key. */
  if (role == NET_NOISE_ROLE_INITIATOR)
    symmetric_mix_hash (&hs->ss, hs->rs, sizeof hs->rs);
  else
    symmetric_mix_hash (&hs->ss, hs->s_pub, sizeof hs->s_pub);

  return hs;
}

void
_net_noise_handshake_free (NetNoiseHandshake *hs)
{
  if (hs == NULL)
    return;
  sodium_memzero (hs, sizeof *hs);
  g_free (hs);
}

NetNoiseHandshake *
_net_noise_handshake_copy (const NetNoiseHandshake *hs)
{
  g_return_val_if_fail (hs != NULL, NULL);

  /* Plain data: the copy owns its own secrets and is wiped on free. */
  return g_memdup2 (hs, sizeof *hs);
}

void
_net_noise_handshake_set_ephemeral_for_test (NetNoiseHandshake *hs,
                                             const guint8      *secret)
{
  g_return_if_fail (hs != NULL);
  g_return_if_fail (secret != NULL);
  g_return_if_fail (!hs->has_e);

  memcpy (hs->e, secret, NET_NOISE_DHLEN);
  hs->fixed_e = TRUE;
}

NetNoiseRole
_net_noise_handshake_get_role (NetNoiseHandshake *hs)
{
  return hs->role;
}

const guint8 *
_net_noise_handshake_get_remote_static (NetNoiseHandshake *hs)
{
  g_return_val_if_fail (hs != NULL, NULL);

  return hs->has_rs ? hs->rs : NULL;
}

gboolean
_net_noise_handshake_is_finished (NetNoiseHandshake *hs)
{
  g_return_val_if_fail (hs != NULL, FALSE);

  return !hs->failed && hs->message_index == G_N_ELEMENTS (ik_messages);
}

/* The initiator writes messages 0, 2, …; the responder 1, 3, … */
static gboolean
check_turn (NetNoiseHandshake  *hs,
            gboolean            writing,
            GError            **error)
{
  gboolean initiator_turn = hs->message_index % 2 == 0;
  gboolean my_turn = (hs->role == NET_NOISE_ROLE_INITIATOR) == initiator_turn;

  if (hs->failed)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                           "Noise handshake: an earlier message failed; "
                           "start a new handshake");
      return FALSE;
    }
  if (hs->message_index >= G_N_ELEMENTS (ik_messages))
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                           "Noise handshake: already finished");
      return FALSE;
    }
  if (writing != my_turn)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "Noise handshake: message %u is the %s's to %s",
                   hs->message_index + 1,
                   hs->role == NET_NOISE_ROLE_INITIATOR ? "initiator" : "responder",
                   writing ? "read" : "write");
      return FALSE;
    }
  return TRUE;
}

/* The DH of a token: es is DH (e, rs) for the initiator and DH (s, re) for
 * the responder, se the other way round. */
static gboolean
mix_dh (NetNoiseHandshake  *hs,
        Token               token,
        GError            **error)
{
  gboolean initiator = hs->role == NET_NOISE_ROLE_INITIATOR;
  const guint8 *secret = NULL;
  const guint8 *public_key = NULL;
  guint8 shared[NET_NOISE_DHLEN];

  switch (token)
    {
    case TOKEN_EE:
      secret = hs->e;
      public_key = hs->re;
      g_assert (hs->has_e && hs->has_re);
      break;
    case TOKEN_ES:
      secret = initiator ? hs->e : hs->s;
      public_key = initiator ? hs->rs : hs->re;
      g_assert (initiator ? (hs->has_e && hs->has_rs) : hs->has_re);
      break;
    case TOKEN_SE:
      secret = initiator ? hs->s : hs->e;
      public_key = initiator ? hs->re : hs->rs;
      g_assert (initiator ? hs->has_re : (hs->has_e && hs->has_rs));
      break;
    case TOKEN_SS:
      secret = hs->s;
      public_key = hs->rs;
      g_assert (hs->has_rs);
      break;
    case TOKEN_END:
    case TOKEN_E:
    case TOKEN_S:
    default:
      g_assert_not_reached ();
    }

  if (!dh (secret, public_key, shared, error))
    return FALSE;
  symmetric_mix_key (&hs->ss, shared, sizeof shared);
  sodium_memzero (shared, sizeof shared);
  return TRUE;
}

/* How many bytes the tokens of @message add before the payload's
 * ciphertext; the payload's tag comes on top. */
static gsize
tokens_overhead (NetNoiseHandshake *hs,
                 const Token       *tokens)
{
  gsize len = 0;
  gboolean has_key = hs->ss.cs.has_key;

  for (; *tokens != TOKEN_END; tokens++)
    {
      if (*tokens == TOKEN_E)
        len += NET_NOISE_DHLEN;
      else if (*tokens == TOKEN_S)
        len += NET_NOISE_DHLEN + (has_key ? NET_NOISE_TAGLEN : 0);
      else
        has_key = TRUE;   /* any DH token calls MixKey */
    }
  return len + (has_key ? NET_NOISE_TAGLEN : 0);
}

gboolean
_net_noise_handshake_write_message (NetNoiseHandshake  *hs,
                                    const guint8       *payload,
                                    gsize               payload_len,
                                    guint8             *out,
                                    gsize               out_size,
                                    gsize              *out_len,
                                    GError            **error)
{
  const Token *tokens;
  gsize need, pos = 0, n = 0;

  g_return_val_if_fail (hs != NULL, FALSE);
  g_return_val_if_fail (payload != NULL || payload_len == 0, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (out_len != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_turn (hs, TRUE, error))
    return FALSE;

  tokens = ik_messages[hs->message_index];
  need = tokens_overhead (hs, tokens);
  if (payload_len > NET_NOISE_MAX_MESSAGE_LEN - need)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "Noise handshake: a %" G_GSIZE_FORMAT "-byte payload "
                   "does not fit a %u-byte message", payload_len,
                   (guint) NET_NOISE_MAX_MESSAGE_LEN);
      return FALSE;
    }
  need += payload_len;
  if (need > out_size)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "Noise handshake: output buffer of %" G_GSIZE_FORMAT
                   " bytes, %" G_GSIZE_FORMAT " needed", out_size, need);
      return FALSE;
    }

  for (; *tokens != TOKEN_END; tokens++)
    {
      switch (*tokens)
        {
        case TOKEN_E:
          g_assert (!hs->has_e);
          if (!hs->fixed_e)
            randombytes_buf (hs->e, sizeof hs->e);
          _net_noise_public_key (hs->e, hs->e_pub);
          hs->has_e = TRUE;
          memcpy (out + pos, hs->e_pub, NET_NOISE_DHLEN);
          pos += NET_NOISE_DHLEN;
          symmetric_mix_hash (&hs->ss, hs->e_pub, sizeof hs->e_pub);
          break;

        case TOKEN_S:
          if (!symmetric_encrypt_and_hash (&hs->ss, hs->s_pub, sizeof hs->s_pub,
                                           out + pos, out_size - pos, &n, error))
            goto failed;
          pos += n;
          break;

        case TOKEN_EE:
        case TOKEN_ES:
        case TOKEN_SE:
        case TOKEN_SS:
          if (!mix_dh (hs, *tokens, error))
            goto failed;
          break;

        case TOKEN_END:
        default:
          g_assert_not_reached ();
        }
    }

  if (!symmetric_encrypt_and_hash (&hs->ss, payload, payload_len,
                                   out + pos, out_size - pos, &n, error))
    goto failed;
  pos += n;
  g_assert (pos == need);

  hs->message_index++;
  *out_len = pos;
  return TRUE;

failed:
  hs->failed = TRUE;
  sodium_memzero (out, out_size);
  return FALSE;
}

gboolean
_net_noise_handshake_read_message (NetNoiseHandshake  *hs,
                                   const guint8       *message,
                                   gsize               message_len,
                                   guint8             *payload,
                                   gsize               payload_size,
                                   gsize              *payload_len,
                                   GError            **error)
{
  const Token *tokens;
  gsize overhead, pos = 0, n = 0;

  g_return_val_if_fail (hs != NULL, FALSE);
  g_return_val_if_fail (message != NULL || message_len == 0, FALSE);
  g_return_val_if_fail (payload != NULL || payload_size == 0, FALSE);
  g_return_val_if_fail (payload_len != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_turn (hs, FALSE, error))
    return FALSE;

  tokens = ik_messages[hs->message_index];
  overhead = tokens_overhead (hs, tokens);

  if (message_len > NET_NOISE_MAX_MESSAGE_LEN)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "%" G_GSIZE_FORMAT " bytes, more than the %u a Noise "
                   "message may have", message_len,
                   (guint) NET_NOISE_MAX_MESSAGE_LEN);
      goto failed;
    }
  if (message_len < overhead)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_PROTOCOL,
                   "%" G_GSIZE_FORMAT " bytes, at least %" G_GSIZE_FORMAT
                   " expected", message_len, overhead);
      goto failed;
    }
  if (message_len - overhead > payload_size)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "payload buffer of %" G_GSIZE_FORMAT
                   " bytes, %" G_GSIZE_FORMAT " needed",
                   payload_size, message_len - overhead);
      goto failed;
    }

  for (; *tokens != TOKEN_END; tokens++)
    {
      switch (*tokens)
        {
        case TOKEN_E:
          g_assert (!hs->has_re);
          memcpy (hs->re, message + pos, NET_NOISE_DHLEN);
          hs->has_re = TRUE;
          pos += NET_NOISE_DHLEN;
          symmetric_mix_hash (&hs->ss, hs->re, sizeof hs->re);
          break;

        case TOKEN_S:
          {
            gsize len = NET_NOISE_DHLEN + (hs->ss.cs.has_key ? NET_NOISE_TAGLEN : 0);
            guint8 rs[NET_NOISE_DHLEN];

            g_assert (!hs->has_rs);
            if (!symmetric_decrypt_and_hash (&hs->ss, message + pos, len,
                                             rs, sizeof rs, &n, error))
              goto failed;
            g_assert (n == NET_NOISE_DHLEN);
            memcpy (hs->rs, rs, sizeof rs);
            hs->has_rs = TRUE;
            pos += len;
          }
          break;

        case TOKEN_EE:
        case TOKEN_ES:
        case TOKEN_SE:
        case TOKEN_SS:
          if (!mix_dh (hs, *tokens, error))
            goto failed;
          break;

        case TOKEN_END:
        default:
          g_assert_not_reached ();
        }
    }

  if (!symmetric_decrypt_and_hash (&hs->ss, message + pos, message_len - pos,
                                   payload, payload_size, &n, error))
    goto failed;
  g_assert (n == message_len - overhead);

  hs->message_index++;
  *payload_len = n;
  return TRUE;

failed:
  if (error != NULL && *error != NULL)
    g_prefix_error (error, "Noise handshake message %u: ",
                    hs->message_index + 1);
  hs->failed = TRUE;
  /* A half-learned peer key must not be mistaken for an authenticated one. */
  hs->has_rs = hs->role == NET_NOISE_ROLE_INITIATOR;
  if (payload_size > 0)
    sodium_memzero (payload, payload_size);
  return FALSE;
}

void
_net_noise_handshake_split (NetNoiseHandshake   *hs,
                            NetNoiseCipherState *send,
                            NetNoiseCipherState *recv,
                            guint8              *handshake_hash)
{
  NetNoiseCipherState c1, c2;

  g_return_if_fail (hs != NULL);
  g_return_if_fail (send != NULL && recv != NULL);
  g_return_if_fail (_net_noise_handshake_is_finished (hs));
  g_return_if_fail (!hs->split);

  symmetric_split (&hs->ss, &c1, &c2);
  if (hs->role == NET_NOISE_ROLE_INITIATOR)
    {
      *send = c1;
      *recv = c2;
    }
  else
    {
      *send = c2;
      *recv = c1;
    }
  if (handshake_hash != NULL)
    memcpy (handshake_hash, hs->ss.h, NET_NOISE_HASHLEN);

  /* The handshake's keys are of no further use. */
  sodium_memzero (&c1, sizeof c1);
  sodium_memzero (&c2, sizeof c2);
  sodium_memzero (hs->ss.ck, sizeof hs->ss.ck);
  _net_noise_cipher_clear (&hs->ss.cs);
  sodium_memzero (hs->s, sizeof hs->s);
  sodium_memzero (hs->e, sizeof hs->e);
  hs->split = TRUE;
}
