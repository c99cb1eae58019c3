/* test-noise.c: the Noise_IK_25519_ChaChaPoly_SHA256 handshake
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "net-error.h"
#include "net/net-noise-private.h"

#define M1_MAX 512
#define PAYLOAD_MAX 256

static guint8 *
unhex (const char *hex,
       gsize      *len)
{
  gsize n = strlen (hex);
  guint8 *out;

  g_assert_cmpuint (n % 2, ==, 0);
  out = g_malloc0 (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      g_assert_cmpint (hi, >=, 0);
      g_assert_cmpint (lo, >=, 0);
      out[i] = (guint8) (hi << 4 | lo);
    }
  if (len != NULL)
    *len = n / 2;
  return out;
}

static char *
tohex (const guint8 *data,
       gsize         len)
{
  GString *s = g_string_sized_new (2 * len + 1);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static void
assert_hex (const guint8 *data,
            gsize         len,
            const char   *expected)
{
  g_autofree char *hex = tohex (data, len);

  g_assert_cmpstr (hex, ==, expected);
}

/* Keys for one handshake. */
typedef struct
{
  guint8 is[32], ie[32], rs[32], re[32];
  guint8 rs_pub[32];
} Keys;

static void
keys_random (Keys *k)
{
  randombytes_buf (k->is, 32);
  randombytes_buf (k->ie, 32);
  randombytes_buf (k->rs, 32);
  randombytes_buf (k->re, 32);
  _net_noise_public_key (k->rs, k->rs_pub);
}

static NetNoiseHandshake *
new_initiator (const Keys   *k,
               const guint8 *prologue,
               gsize         prologue_len)
{
  NetNoiseHandshake *hs = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR,
                                                    prologue, prologue_len,
                                                    k->is, k->rs_pub);
  _net_noise_handshake_set_ephemeral_for_test (hs, k->ie);
  return hs;
}

static NetNoiseHandshake *
new_responder (const Keys   *k,
               const guint8 *prologue,
               gsize         prologue_len)
{
  NetNoiseHandshake *hs = _net_noise_handshake_new (NET_NOISE_ROLE_RESPONDER,
                                                    prologue, prologue_len,
                                                    k->rs, NULL);
  _net_noise_handshake_set_ephemeral_for_test (hs, k->re);
  return hs;
}

/* HKDF (ck, ikm, 2) is RFC 5869 HKDF-SHA256 with an empty info and 64
 * bytes of output; a 32-byte zero chaining key is HMAC's empty salt.
 * RFC 5869 A.3. */
static void
test_hkdf_rfc5869 (void)
{
  guint8 ck[32] = { 0 };
  guint8 ikm[22];
  guint8 out[64];

  memset (ikm, 0x0b, sizeof ikm);
  _net_noise_hkdf2 (ck, ikm, sizeof ikm, out, out + 32);
  assert_hex (out, 42,
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
              "9d201395faa4b61a96c8");

  /* out1 may be the chaining key itself, as MixKey needs. */
  _net_noise_hkdf2 (ck, ikm, sizeof ikm, ck, out + 32);
  assert_hex (ck, 32,
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
}

static void
test_cipher_nonce (void)
{
  NetNoiseCipherState enc, dec;
  guint8 key[32];
  const guint8 msg[] = "the same plaintext";
  guint8 c1[64], c2[64], p[64];
  gsize n1 = 0, n2 = 0, pn = 0;
  g_autoptr(GError) error = NULL;

  randombytes_buf (key, sizeof key);
  _net_noise_cipher_init (&enc, key);
  _net_noise_cipher_init (&dec, key);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&enc), ==, 0);

  g_assert_true (_net_noise_cipher_encrypt (&enc, NULL, 0, msg, sizeof msg,
                                            c1, sizeof c1, &n1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n1, ==, sizeof msg + NET_NOISE_TAGLEN);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&enc), ==, 1);
  g_assert_true (_net_noise_cipher_encrypt (&enc, NULL, 0, msg, sizeof msg,
                                            c2, sizeof c2, &n2, &error));
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&enc), ==, 2);
  g_assert_cmpuint (n1, ==, n2);
  g_assert_true (memcmp (c1, c2, n1) != 0);

  /* Out of order: c2 is for n = 1. */
  g_assert_false (_net_noise_cipher_decrypt (&dec, NULL, 0, c2, n2,
                                             p, sizeof p, &pn, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
  g_clear_error (&error);
  /* A failed decryption leaves n alone. */
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&dec), ==, 0);
  g_assert_true (_net_noise_cipher_decrypt (&dec, NULL, 0, c1, n1,
                                            p, sizeof p, &pn, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (p, pn, msg, sizeof msg);
  g_assert_true (_net_noise_cipher_decrypt (&dec, NULL, 0, c2, n2,
                                            p, sizeof p, &pn, &error));
  g_assert_cmpmem (p, pn, msg, sizeof msg);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&dec), ==, 2);

  /* The associated data is authenticated. */
  _net_noise_cipher_set_nonce (&enc, 7);
  _net_noise_cipher_set_nonce (&dec, 7);
  g_assert_true (_net_noise_cipher_encrypt (&enc, (const guint8 *) "ad", 2,
                                            msg, sizeof msg, c1, sizeof c1,
                                            &n1, &error));
  g_assert_false (_net_noise_cipher_decrypt (&dec, (const guint8 *) "aD", 2,
                                             c1, n1, p, sizeof p, &pn, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
  g_clear_error (&error);
  g_assert_true (_net_noise_cipher_decrypt (&dec, (const guint8 *) "ad", 2,
                                            c1, n1, p, sizeof p, &pn, &error));

  /* In place. */
  memcpy (c1, msg, sizeof msg);
  g_assert_true (_net_noise_cipher_encrypt (&enc, NULL, 0, c1, sizeof msg,
                                            c1, sizeof c1, &n1, &error));
  g_assert_true (_net_noise_cipher_decrypt (&dec, NULL, 0, c1, n1,
                                            c1, sizeof c1, &pn, &error));
  g_assert_cmpmem (c1, pn, msg, sizeof msg);

  _net_noise_cipher_clear (&enc);
  _net_noise_cipher_clear (&dec);
}

/* n = 2^64-1 is reserved: the last usable nonce is 2^64-2. */
static void
test_cipher_nonce_exhausted (void)
{
  NetNoiseCipherState enc, dec;
  guint8 key[32];
  guint8 c[32], p[32];
  gsize cn = 0, pn = 0;
  g_autoptr(GError) error = NULL;

  randombytes_buf (key, sizeof key);
  _net_noise_cipher_init (&enc, key);
  _net_noise_cipher_init (&dec, key);
  _net_noise_cipher_set_nonce (&enc, G_MAXUINT64 - 1);
  _net_noise_cipher_set_nonce (&dec, G_MAXUINT64 - 1);

  g_assert_true (_net_noise_cipher_encrypt (&enc, NULL, 0, (const guint8 *) "x", 1,
                                            c, sizeof c, &cn, &error));
  g_assert_no_error (error);
  g_assert_true (_net_noise_cipher_decrypt (&dec, NULL, 0, c, cn,
                                            p, sizeof p, &pn, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&enc), ==, G_MAXUINT64);

  g_assert_false (_net_noise_cipher_encrypt (&enc, NULL, 0, (const guint8 *) "x", 1,
                                             c, sizeof c, &cn, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&enc), ==, G_MAXUINT64);
  g_assert_false (_net_noise_cipher_decrypt (&dec, NULL, 0, c, cn,
                                             p, sizeof p, &pn, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_FAILED);
  g_clear_error (&error);
}

static void
test_cipher_lengths (void)
{
  NetNoiseCipherState cs;
  guint8 key[32];
  g_autofree guint8 *big = g_malloc0 (NET_NOISE_MAX_MESSAGE_LEN + 1);
  guint8 small[NET_NOISE_TAGLEN + 4];
  gsize n = 0;
  g_autoptr(GError) error = NULL;

  randombytes_buf (key, sizeof key);
  _net_noise_cipher_init (&cs, key);

  /* Shorter than a tag. */
  for (gsize len = 0; len < NET_NOISE_TAGLEN; len++)
    {
      g_assert_false (_net_noise_cipher_decrypt (&cs, NULL, 0, small, len,
                                                 small, sizeof small, &n, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
      g_clear_error (&error);
    }
  /* Longer than a Noise message. */
  g_assert_false (_net_noise_cipher_decrypt (&cs, NULL, 0, big,
                                             NET_NOISE_MAX_MESSAGE_LEN + 1,
                                             big, NET_NOISE_MAX_MESSAGE_LEN + 1,
                                             &n, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
  g_clear_error (&error);
  /* A plaintext whose ciphertext would be. */
  g_assert_false (_net_noise_cipher_encrypt (&cs, NULL, 0, big,
                                             NET_NOISE_MAX_MESSAGE_LEN - NET_NOISE_TAGLEN + 1,
                                             big, NET_NOISE_MAX_MESSAGE_LEN + 1,
                                             &n, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* An output buffer one byte short. */
  g_assert_false (_net_noise_cipher_encrypt (&cs, NULL, 0, small, 4,
                                             big, NET_NOISE_TAGLEN + 3,
                                             &n, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (_net_noise_cipher_get_nonce (&cs), ==, 0);

  /* The largest one works. */
  g_assert_true (_net_noise_cipher_encrypt (&cs, NULL, 0, big,
                                            NET_NOISE_MAX_MESSAGE_LEN - NET_NOISE_TAGLEN,
                                            big, NET_NOISE_MAX_MESSAGE_LEN,
                                            &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, NET_NOISE_MAX_MESSAGE_LEN);

  /* Without a key, a copy. */
  _net_noise_cipher_init (&cs, NULL);
  g_assert_true (_net_noise_cipher_encrypt (&cs, NULL, 0, (const guint8 *) "abcd", 4,
                                            small, sizeof small, &n, &error));
  g_assert_cmpmem (small, n, "abcd", 4);
  _net_noise_cipher_clear (&cs);
}

/* Runs a whole handshake; returns the transport states and hashes. */
static void
handshake (const Keys          *k,
           const guint8        *payload1,
           gsize                payload1_len,
           const guint8        *payload2,
           gsize                payload2_len,
           GByteArray          *message1,
           GByteArray          *message2,
           NetNoiseCipherState *i_send,
           NetNoiseCipherState *i_recv,
           NetNoiseCipherState *r_send,
           NetNoiseCipherState *r_recv,
           guint8              *i_hash,
           guint8              *r_hash)
{
  const guint8 prologue[] = "netdb test prologue";
  g_autoptr(NetNoiseHandshake) ini = new_initiator (k, prologue, sizeof prologue);
  g_autoptr(NetNoiseHandshake) res = new_responder (k, prologue, sizeof prologue);
  guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
  gsize len = 0, plen = 0;
  guint8 is_pub[32];
  g_autoptr(GError) error = NULL;

  g_assert_null (_net_noise_handshake_get_remote_static (res));
  g_assert_false (_net_noise_handshake_is_finished (ini));

  g_assert_true (_net_noise_handshake_write_message (ini, payload1, payload1_len,
                                                     buf, sizeof buf, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, payload1_len + NET_NOISE_IK_MESSAGE1_OVERHEAD);
  g_byte_array_append (message1, buf, len);

  g_assert_true (_net_noise_handshake_read_message (res, buf, len, payload,
                                                    sizeof payload, &plen, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (payload, plen, payload1, payload1_len);
  _net_noise_public_key (k->is, is_pub);
  g_assert_cmpmem (_net_noise_handshake_get_remote_static (res), 32, is_pub, 32);

  g_assert_true (_net_noise_handshake_write_message (res, payload2, payload2_len,
                                                     buf, sizeof buf, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, payload2_len + NET_NOISE_IK_MESSAGE2_OVERHEAD);
  g_byte_array_append (message2, buf, len);
  g_assert_true (_net_noise_handshake_is_finished (res));

  g_assert_true (_net_noise_handshake_read_message (ini, buf, len, payload,
                                                    sizeof payload, &plen, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (payload, plen, payload2, payload2_len);
  g_assert_true (_net_noise_handshake_is_finished (ini));

  _net_noise_handshake_split (ini, i_send, i_recv, i_hash);
  _net_noise_handshake_split (res, r_send, r_recv, r_hash);
}

/* The Noise_IK_25519_ChaChaPoly_SHA256 vector of cacophony's
 * vectors/cacophony.txt (also produced by python3-dissononce with these
 * keys): two handshake messages, then transport messages alternating,
 * initiator first. */
static void
test_handshake_vector (void)
{
  static const struct {
    const char *payload;
    const char *ciphertext;
  } messages[] = {
    { "4c756477696720766f6e204d69736573",
      "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
      "718da798efbcd91528520204f904b9bd6c7413dccdc214d951e15253e39987f1"
      "8146e8cd0873654207148333479d4d16c289f0294b29960a72f48e0b7bba2e89"
      "083169825e59642148d492020664ccf7" },
    { "4d757272617920526f746862617264",
      "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
      "5361e70b2ed446e6c9ec387d1d6b3b840f194e373979d241b203c4acafccf5" },
    { "462e20412e20486179656b",
      "050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8" },
    { "4361726c204d656e676572",
      "344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667" },
    { "4a65616e2d426170746973746520536179",
      "62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4" },
    { "457567656e2042f6686d20766f6e2042617765726b",
      "029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024" },
  };
  g_autofree guint8 *prologue = NULL;
  g_autofree guint8 *is = unhex ("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1", NULL);
  g_autofree guint8 *ie = unhex ("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a", NULL);
  g_autofree guint8 *rs = unhex ("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893", NULL);
  g_autofree guint8 *re = unhex ("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b", NULL);
  gsize prologue_len = 0;
  guint8 rs_pub[32], hash_i[32], hash_r[32];
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  NetNoiseCipherState i_send, i_recv, r_send, r_recv;
  g_autoptr(GError) error = NULL;

  prologue = unhex ("4a6f686e2047616c74", &prologue_len);
  _net_noise_public_key (rs, rs_pub);
  assert_hex (rs_pub, 32, "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62");

  ini = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, prologue, prologue_len, is, rs_pub);
  res = _net_noise_handshake_new (NET_NOISE_ROLE_RESPONDER, prologue, prologue_len, rs, NULL);
  _net_noise_handshake_set_ephemeral_for_test (ini, ie);
  _net_noise_handshake_set_ephemeral_for_test (res, re);

  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      gboolean from_initiator = i % 2 == 0;
      gsize payload_len = 0, len = 0, plen = 0;
      g_autofree guint8 *payload = unhex (messages[i].payload, &payload_len);
      guint8 buf[M1_MAX], out[PAYLOAD_MAX];

      if (i < 2)
        {
          g_assert_true (_net_noise_handshake_write_message (from_initiator ? ini : res,
                                                             payload, payload_len,
                                                             buf, sizeof buf, &len, &error));
          g_assert_no_error (error);
          assert_hex (buf, len, messages[i].ciphertext);
          g_assert_true (_net_noise_handshake_read_message (from_initiator ? res : ini,
                                                            buf, len, out, sizeof out,
                                                            &plen, &error));
          g_assert_no_error (error);
          g_assert_cmpmem (out, plen, payload, payload_len);
          if (i == 1)
            {
              _net_noise_handshake_split (ini, &i_send, &i_recv, hash_i);
              _net_noise_handshake_split (res, &r_send, &r_recv, hash_r);
              assert_hex (hash_i, 32, "0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7");
              assert_hex (hash_r, 32, "0b0f68fb0c27e03ce9b97565995ed4838cc0581b762ef72b062f6a546419fad7");
            }
        }
      else
        {
          g_assert_true (_net_noise_cipher_encrypt (from_initiator ? &i_send : &r_send,
                                                    NULL, 0, payload, payload_len,
                                                    buf, sizeof buf, &len, &error));
          g_assert_no_error (error);
          assert_hex (buf, len, messages[i].ciphertext);
          g_assert_true (_net_noise_cipher_decrypt (from_initiator ? &r_recv : &i_recv,
                                                    NULL, 0, buf, len, out, sizeof out,
                                                    &plen, &error));
          g_assert_no_error (error);
          g_assert_cmpmem (out, plen, payload, payload_len);
        }
    }

  _net_noise_cipher_clear (&i_send);
  _net_noise_cipher_clear (&i_recv);
  _net_noise_cipher_clear (&r_send);
  _net_noise_cipher_clear (&r_recv);
}

static void
test_handshake_random (void)
{
  for (guint round = 0; round < 20; round++)
    {
      Keys k;
      g_autoptr(NetNoiseHandshake) ini = NULL;
      g_autoptr(NetNoiseHandshake) ini_b = NULL;
      g_autoptr(GByteArray) m1 = g_byte_array_new ();
      g_autoptr(GByteArray) m2 = g_byte_array_new ();
      NetNoiseCipherState i_send, i_recv, r_send, r_recv;
      guint8 hash_i[32], hash_r[32];
      guint8 payload1[PAYLOAD_MAX - 1], payload2[PAYLOAD_MAX - 1];
      gsize payload1_len = g_test_rand_int_range (0, sizeof payload1);
      gsize payload2_len = g_test_rand_int_range (0, sizeof payload2);
      g_autoptr(GError) error = NULL;

      keys_random (&k);
      randombytes_buf (payload1, sizeof payload1);
      randombytes_buf (payload2, sizeof payload2);
      handshake (&k, payload1, payload1_len, payload2, payload2_len, m1, m2,
                 &i_send, &i_recv, &r_send, &r_recv, hash_i, hash_r);
      g_assert_cmpmem (hash_i, 32, hash_r, 32);

      /* Transport, both ways, several messages each. */
      for (guint i = 0; i < 10; i++)
        {
          gboolean from_initiator = g_test_rand_bit ();
          guint8 msg[100], c[200], p[200];
          gsize msg_len = g_test_rand_int_range (0, sizeof msg);
          gsize clen = 0, plen = 0;

          randombytes_buf (msg, sizeof msg);
          g_assert_true (_net_noise_cipher_encrypt (from_initiator ? &i_send : &r_send,
                                                    NULL, 0, msg, msg_len,
                                                    c, sizeof c, &clen, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (clen, ==, msg_len + NET_NOISE_TAGLEN);
          /* A key is for one direction only. */
          {
            NetNoiseCipherState wrong = from_initiator ? i_recv : r_recv;

            _net_noise_cipher_set_nonce (&wrong, _net_noise_cipher_get_nonce (from_initiator ? &r_recv : &i_recv));
            g_assert_false (_net_noise_cipher_decrypt (&wrong, NULL, 0, c, clen,
                                                       p, sizeof p, &plen, &error));
            g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
            g_clear_error (&error);
            _net_noise_cipher_clear (&wrong);
          }
          g_assert_true (_net_noise_cipher_decrypt (from_initiator ? &r_recv : &i_recv,
                                                    NULL, 0, c, clen, p, sizeof p,
                                                    &plen, &error));
          g_assert_no_error (error);
          g_assert_cmpmem (p, plen, msg, msg_len);
        }

      /* Random ephemerals: two handshakes with the same statics differ. */
      ini = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, NULL, 0, k.is, k.rs_pub);
      ini_b = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, NULL, 0, k.is, k.rs_pub);
      {
        guint8 a[M1_MAX], b[M1_MAX];
        gsize alen = 0, blen = 0;

        g_assert_true (_net_noise_handshake_write_message (ini, NULL, 0, a, sizeof a, &alen, &error));
        g_assert_true (_net_noise_handshake_write_message (ini_b, NULL, 0, b, sizeof b, &blen, &error));
        g_assert_cmpuint (alen, ==, blen);
        g_assert_true (memcmp (a, b, alen) != 0);
      }

      _net_noise_cipher_clear (&i_send);
      _net_noise_cipher_clear (&i_recv);
      _net_noise_cipher_clear (&r_send);
      _net_noise_cipher_clear (&r_recv);
    }
}

/* Every single-bit change of message 1 or 2 makes its reader fail. */
static void
test_handshake_tamper (void)
{
  const guint8 payload1[] = "first payload";
  const guint8 payload2[] = "second";
  Keys k;
  g_autoptr(GByteArray) m1 = g_byte_array_new ();
  g_autoptr(GByteArray) m2 = g_byte_array_new ();
  NetNoiseCipherState i_send, i_recv, r_send, r_recv;
  guint8 hash_i[32], hash_r[32];

  keys_random (&k);
  handshake (&k, payload1, sizeof payload1, payload2, sizeof payload2, m1, m2,
             &i_send, &i_recv, &r_send, &r_recv, hash_i, hash_r);

  for (guint i = 0; i < m1->len * 8; i++)
    {
      const guint8 prologue[] = "netdb test prologue";
      g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
      g_autofree guint8 *bad = g_memdup2 (m1->data, m1->len);
      guint8 payload[PAYLOAD_MAX];
      gsize plen = 0;
      g_autoptr(GError) error = NULL;

      bad[i / 8] ^= 1 << (i % 8);
      g_assert_false (_net_noise_handshake_read_message (res, bad, m1->len, payload,
                                                         sizeof payload, &plen, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
      /* Nothing learned from it. */
      g_assert_null (_net_noise_handshake_get_remote_static (res));
      g_assert_false (_net_noise_handshake_is_finished (res));
    }

  for (guint i = 0; i < m2->len * 8; i++)
    {
      const guint8 prologue[] = "netdb test prologue";
      g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
      g_autofree guint8 *bad = g_memdup2 (m2->data, m2->len);
      guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
      gsize len = 0, plen = 0;
      g_autoptr(GError) error = NULL;

      g_assert_true (_net_noise_handshake_write_message (ini, payload1, sizeof payload1,
                                                         buf, sizeof buf, &len, &error));
      g_assert_no_error (error);
      /* The same message as before: the ephemeral is fixed. */
      g_assert_cmpmem (buf, len, m1->data, m1->len);

      bad[i / 8] ^= 1 << (i % 8);
      g_assert_false (_net_noise_handshake_read_message (ini, bad, m2->len, payload,
                                                         sizeof payload, &plen, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
      g_assert_false (_net_noise_handshake_is_finished (ini));

      /* Failed for good: even the genuine message is refused now. */
      g_clear_error (&error);
      g_assert_false (_net_noise_handshake_read_message (ini, m2->data, m2->len, payload,
                                                         sizeof payload, &plen, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
    }

  _net_noise_cipher_clear (&i_send);
  _net_noise_cipher_clear (&i_recv);
  _net_noise_cipher_clear (&r_send);
  _net_noise_cipher_clear (&r_recv);
}

/* An initiator that believes in another responder key, or uses another
 * prologue, is refused at message 1. */
static void
test_handshake_wrong_key (void)
{
  Keys k, other;
  const guint8 prologue[] = "p";
  guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
  gsize len = 0, plen = 0;
  g_autoptr(GError) error = NULL;

  keys_random (&k);
  keys_random (&other);

  {
    g_autoptr(NetNoiseHandshake) ini = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR,
                                                                 prologue, sizeof prologue,
                                                                 k.is, other.rs_pub);
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);

    g_assert_true (_net_noise_handshake_write_message (ini, NULL, 0, buf, sizeof buf, &len, &error));
    g_assert_false (_net_noise_handshake_read_message (res, buf, len, payload, sizeof payload,
                                                       &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
    g_clear_error (&error);
    g_assert_null (_net_noise_handshake_get_remote_static (res));
  }

  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, (const guint8 *) "q", 2);

    g_assert_true (_net_noise_handshake_write_message (ini, NULL, 0, buf, sizeof buf, &len, &error));
    g_assert_false (_net_noise_handshake_read_message (res, buf, len, payload, sizeof payload,
                                                       &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
    g_clear_error (&error);
  }

  /* The responder answers, but the initiator's own key is not the one the
   * responder used for se: message 2 fails.  (A responder with the right
   * static but a changed ephemeral is the same as a tampered message.) */
  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) ini2 = NULL;
    guint8 m1[M1_MAX];
    gsize m1_len = 0;

    /* Another static, the same ephemeral and responder key. */
    memcpy (other.rs_pub, k.rs_pub, 32);
    memcpy (other.ie, k.ie, 32);
    ini2 = new_initiator (&other, prologue, sizeof prologue);

    g_assert_true (_net_noise_handshake_write_message (ini, NULL, 0, m1, sizeof m1, &m1_len, &error));
    g_assert_true (_net_noise_handshake_write_message (ini2, NULL, 0, buf, sizeof buf, &len, &error));
    g_assert_true (_net_noise_handshake_read_message (res, m1, m1_len, payload, sizeof payload,
                                                      &plen, &error));
    g_assert_true (_net_noise_handshake_write_message (res, NULL, 0, buf, sizeof buf, &len, &error));
    g_assert_no_error (error);
    g_assert_false (_net_noise_handshake_read_message (ini2, buf, len, payload, sizeof payload,
                                                       &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
    g_clear_error (&error);
    g_assert_true (_net_noise_handshake_read_message (ini, buf, len, payload, sizeof payload,
                                                      &plen, &error));
    g_assert_no_error (error);
  }
}

/* Short, empty, one byte long or short, overlong, out of turn, and buffers
 * too small: FALSE with an error, never a crash. */
static void
test_handshake_lengths (void)
{
  Keys k;
  g_autoptr(GByteArray) m1 = g_byte_array_new ();
  g_autoptr(GByteArray) m2 = g_byte_array_new ();
  NetNoiseCipherState i_send, i_recv, r_send, r_recv;
  guint8 hash_i[32], hash_r[32];
  const guint8 payload1[] = "0123456789";
  const guint8 payload2[] = "abc";
  g_autofree guint8 *big = g_malloc0 (NET_NOISE_MAX_MESSAGE_LEN + 2);
  const guint8 prologue[] = "netdb test prologue";

  keys_random (&k);
  handshake (&k, payload1, sizeof payload1, payload2, sizeof payload2, m1, m2,
             &i_send, &i_recv, &r_send, &r_recv, hash_i, hash_r);

  /* Message 1 cut anywhere, or one byte longer. */
  for (gsize len = 0; len <= m1->len + 1; len++)
    {
      g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
      g_autofree guint8 *msg = g_malloc0 (m1->len + 1);
      guint8 payload[PAYLOAD_MAX];
      gsize plen = 0;
      g_autoptr(GError) error = NULL;

      if (len == m1->len)
        continue;
      memcpy (msg, m1->data, m1->len);
      g_assert_false (_net_noise_handshake_read_message (res, len == 0 ? NULL : msg, len,
                                                         payload, sizeof payload,
                                                         &plen, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == NET_ERROR);
      if (len < NET_NOISE_IK_MESSAGE1_OVERHEAD)
        g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
      else
        g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
    }

  /* Message 2 likewise. */
  for (gsize len = 0; len <= m2->len + 1; len++)
    {
      g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
      g_autofree guint8 *msg = g_malloc0 (m2->len + 1);
      guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
      gsize blen = 0, plen = 0;
      g_autoptr(GError) error = NULL;

      if (len == m2->len)
        continue;
      memcpy (msg, m2->data, m2->len);
      g_assert_true (_net_noise_handshake_write_message (ini, payload1, sizeof payload1,
                                                         buf, sizeof buf, &blen, &error));
      g_assert_false (_net_noise_handshake_read_message (ini, msg, len,
                                                         payload, sizeof payload,
                                                         &plen, &error));
      if (len < NET_NOISE_IK_MESSAGE2_OVERHEAD)
        g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
      else
        g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
    }

  /* Overlong: more than a Noise message. */
  {
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
    gsize plen = 0;
    g_autoptr(GError) error = NULL;

    memcpy (big, m1->data, m1->len);
    g_assert_false (_net_noise_handshake_read_message (res, big, NET_NOISE_MAX_MESSAGE_LEN + 1,
                                                       big, NET_NOISE_MAX_MESSAGE_LEN + 2,
                                                       &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
  }

  /* A payload buffer too small for the payload. */
  {
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
    guint8 payload[sizeof payload1 - 1];
    gsize plen = 0;
    g_autoptr(GError) error = NULL;

    g_assert_false (_net_noise_handshake_read_message (res, m1->data, m1->len,
                                                       payload, sizeof payload,
                                                       &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  }

  /* Write: an output buffer one byte short; a payload too large. */
  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) ini2 = new_initiator (&k, prologue, sizeof prologue);
    guint8 buf[M1_MAX];
    g_autofree guint8 *out = g_malloc (NET_NOISE_MAX_MESSAGE_LEN + 2);
    gsize len = 0;
    g_autoptr(GError) error = NULL;

    g_assert_false (_net_noise_handshake_write_message (ini, payload1, sizeof payload1, buf,
                                                        sizeof payload1 + NET_NOISE_IK_MESSAGE1_OVERHEAD - 1,
                                                        &len, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (_net_noise_handshake_write_message (ini2, big,
                                                        NET_NOISE_MAX_MESSAGE_LEN - NET_NOISE_IK_MESSAGE1_OVERHEAD + 1,
                                                        out, NET_NOISE_MAX_MESSAGE_LEN + 2,
                                                        &len, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  }

  /* The largest message 1 there can be. */
  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
    g_autofree guint8 *payload = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);
    g_autofree guint8 *out = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);
    gsize len = 0, plen = 0;
    g_autoptr(GError) error = NULL;

    g_assert_true (_net_noise_handshake_write_message (ini, big,
                                                       NET_NOISE_MAX_MESSAGE_LEN - NET_NOISE_IK_MESSAGE1_OVERHEAD,
                                                       out, NET_NOISE_MAX_MESSAGE_LEN,
                                                       &len, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (len, ==, NET_NOISE_MAX_MESSAGE_LEN);
    g_assert_true (_net_noise_handshake_read_message (res, out, len, payload,
                                                      NET_NOISE_MAX_MESSAGE_LEN, &plen, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (plen, ==, NET_NOISE_MAX_MESSAGE_LEN - NET_NOISE_IK_MESSAGE1_OVERHEAD);
  }

  /* Out of turn. */
  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    g_autoptr(NetNoiseHandshake) res = new_responder (&k, prologue, sizeof prologue);
    guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
    gsize len = 0, plen = 0;
    g_autoptr(GError) error = NULL;

    g_assert_false (_net_noise_handshake_read_message (ini, m2->data, m2->len, payload,
                                                       sizeof payload, &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
    g_clear_error (&error);
    g_assert_false (_net_noise_handshake_write_message (res, NULL, 0, buf, sizeof buf,
                                                        &len, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* Finished: no third message either way. */
  {
    g_autoptr(NetNoiseHandshake) ini = new_initiator (&k, prologue, sizeof prologue);
    guint8 buf[M1_MAX], payload[PAYLOAD_MAX];
    gsize len = 0, plen = 0;
    g_autoptr(GError) error = NULL;

    g_assert_true (_net_noise_handshake_write_message (ini, payload1, sizeof payload1,
                                                       buf, sizeof buf, &len, &error));
    g_assert_true (_net_noise_handshake_read_message (ini, m2->data, m2->len, payload,
                                                      sizeof payload, &plen, &error));
    g_assert_no_error (error);
    g_assert_false (_net_noise_handshake_write_message (ini, NULL, 0, buf, sizeof buf,
                                                        &len, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
    g_clear_error (&error);
    g_assert_false (_net_noise_handshake_read_message (ini, m2->data, m2->len, payload,
                                                       sizeof payload, &plen, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
  }

  _net_noise_cipher_clear (&i_send);
  _net_noise_cipher_clear (&i_recv);
  _net_noise_cipher_clear (&r_send);
  _net_noise_cipher_clear (&r_recv);
}

/* An ephemeral of low order makes the DH result all zeros: refused. */
static void
test_handshake_low_order (void)
{
  Keys k;
  g_autoptr(NetNoiseHandshake) res = NULL;
  guint8 msg[NET_NOISE_IK_MESSAGE1_OVERHEAD] = { 0 };
  guint8 payload[8];
  gsize plen = 0;
  g_autoptr(GError) error = NULL;

  keys_random (&k);
  res = new_responder (&k, NULL, 0);
  /* e = 0 (the point of order 4 at u = 0), the rest anything. */
  g_assert_false (_net_noise_handshake_read_message (res, msg, sizeof msg, payload,
                                                     sizeof payload, &plen, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
  g_assert_nonnull (strstr (error->message, "low-order"));
}

static void
test_handshake_preconditions (void)
{
  if (g_test_subprocess ())
    {
      guint8 key[32] = { 1 };

      /* The initiator must know the responder's static key. */
      g_assert_null (_net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, NULL, 0, key, NULL));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*remote_static*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  if (sodium_init () < 0)
    g_error ("sodium_init failed");

  g_test_add_func ("/noise/hkdf/rfc5869", test_hkdf_rfc5869);
  g_test_add_func ("/noise/cipher/nonce", test_cipher_nonce);
  g_test_add_func ("/noise/cipher/nonce-exhausted", test_cipher_nonce_exhausted);
  g_test_add_func ("/noise/cipher/lengths", test_cipher_lengths);
  g_test_add_func ("/noise/handshake/vector", test_handshake_vector);
  g_test_add_func ("/noise/handshake/random", test_handshake_random);
  g_test_add_func ("/noise/handshake/tamper", test_handshake_tamper);
  g_test_add_func ("/noise/handshake/wrong-key", test_handshake_wrong_key);
  g_test_add_func ("/noise/handshake/lengths", test_handshake_lengths);
  g_test_add_func ("/noise/handshake/low-order", test_handshake_low_order);
  g_test_add_func ("/noise/handshake/preconditions", test_handshake_preconditions);

  return g_test_run ();
}
