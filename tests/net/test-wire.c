/* test-wire.c: the datagrams of docs/net-protocol.md sections 1 to 3
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The header and its length checks, the replay window (against a plain
 * set as a reference), the handshake messages between two identities, and
 * data datagrams: every single-bit change of every message is refused.
 */

#include "config.h"

#include <string.h>

#include <sodium.h>

#include "netdb.h"
#include "net-identity-private.h"
#include "net-wire-private.h"

#define INITIATOR_INDEX 0x12345678u
#define RESPONDER_INDEX 0x0badcafeu
#define TIMESTAMP G_GUINT64_CONSTANT (1764124800000000)

/* --- Helpers ------------------------------------------------------------- */

static NetIdentity *
identity_from_byte (guint8 b)
{
  guint8 seed[NET_IDENTITY_SEED_SIZE];

  memset (seed, b, sizeof seed);
  return _net_identity_new_from_seed (seed);
}

static void
fixed_bytes (guint8 *out,
             gsize   len,
             guint8  b)
{
  for (gsize i = 0; i < len; i++)
    out[i] = (guint8) (b + i * 7);
}

/* The mac1 key of messages to @id (a few live at once). */
static const guint8 *
mac1_of (NetIdentity *id)
{
  static guint8 keys[4][NET_WIRE_MAC1_KEY_LEN];
  static guint next;
  guint8 *key = keys[next++ % G_N_ELEMENTS (keys)];

  _net_wire_mac1_key (_net_identity_get_x25519_public (id), key);
  return key;
}

typedef struct
{
  NetIdentity *a;  /* the initiator */
  NetIdentity *b;  /* the responder */
  guint8 eph_a[32];
  guint8 eph_b[32];
  guint8 initiation[NET_WIRE_INITIATION_LEN];
  guint8 response[NET_WIRE_RESPONSE_LEN];
  NetWireKeys keys_a;
  NetWireKeys keys_b;
} Peers;

static void
peers_setup (Peers         *p,
             gconstpointer  data)
{
  p->a = identity_from_byte (1);
  p->b = identity_from_byte (2);
  fixed_bytes (p->eph_a, sizeof p->eph_a, 0x30);
  fixed_bytes (p->eph_b, sizeof p->eph_b, 0x50);
}

static void
peers_teardown (Peers         *p,
                gconstpointer  data)
{
  _net_wire_keys_clear (&p->keys_a);
  _net_wire_keys_clear (&p->keys_b);
  g_clear_object (&p->a);
  g_clear_object (&p->b);
}

/* The initiator's first message, with the fixed ephemeral: the same bytes
 * every time. */
static NetNoiseHandshake *
write_initiation (Peers  *p,
                  guint8 *out)
{
  g_autoptr(GError) error = NULL;
  NetNoiseHandshake *hs;

  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (p->a),
                                   _net_identity_get_x25519_public (p->b),
                                   _net_identity_get_ed25519_public (p->a),
                                   INITIATOR_INDEX, TIMESTAMP, p->eph_a,
                                   out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (hs);
  return hs;
}

/* A whole handshake; fills p->initiation, p->response and both keys. */
static void
handshake (Peers *p)
{
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(GError) error = NULL;
  NetWireHeader header;
  guint32 sender_index = 0, responder_index = 0;
  guint64 timestamp = 0;
  guint8 ed25519[32] = { 0 };

  ini = write_initiation (p, p->initiation);
  g_assert_cmpint (_net_wire_parse_header (p->initiation, sizeof p->initiation,
                                           NET_WIRE_DEFAULT_MAX_DATAGRAM, &header),
                   ==, NET_WIRE_OK);
  g_assert_cmpint (header.type, ==, NET_WIRE_HANDSHAKE_INITIATION);

  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                   p->initiation, sizeof p->initiation,
                                   &sender_index, &timestamp, ed25519, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  g_assert_cmpmem (ed25519, 32, _net_identity_get_ed25519_public (p->a), 32);
  g_assert_cmpuint (sender_index, ==, INITIATOR_INDEX);
  g_assert_cmpuint (timestamp, ==, TIMESTAMP);
  g_assert_cmpmem (_net_noise_handshake_get_remote_static (res), 32,
                   _net_identity_get_x25519_public (p->a), 32);

  g_assert_true (_net_wire_response_write (res, sender_index, RESPONDER_INDEX,
                                           p->eph_b, p->response, &error));
  g_assert_no_error (error);
  g_assert_true (_net_noise_handshake_is_finished (res));
  g_assert_cmpint (_net_wire_parse_header (p->response, sizeof p->response,
                                           NET_WIRE_DEFAULT_MAX_DATAGRAM, &header),
                   ==, NET_WIRE_OK);
  g_assert_cmpint (header.type, ==, NET_WIRE_HANDSHAKE_RESPONSE);
  g_assert_cmpuint (header.receiver_index, ==, INITIATOR_INDEX);

  g_assert_true (_net_wire_response_read (ini, mac1_of (p->a), p->response, sizeof p->response,
                                          &responder_index, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (responder_index, ==, RESPONDER_INDEX);
  g_assert_true (_net_noise_handshake_is_finished (ini));

  _net_wire_keys_init (&p->keys_a, ini, INITIATOR_INDEX, responder_index);
  _net_wire_keys_init (&p->keys_b, res, RESPONDER_INDEX, sender_index);
}

/* What NetNode does with a received data datagram for the session @keys:
 * parse, look the receiver index up, open. */
static NetWireDrop
receive_data (NetWireKeys  *keys,
              const guint8 *data,
              gsize         len,
              guint8       *out,
              gsize         out_size,
              gsize        *out_len)
{
  NetWireHeader header;
  NetWireDrop drop;

  drop = _net_wire_parse_header (data, len, NET_WIRE_DEFAULT_MAX_DATAGRAM, &header);
  if (drop != NET_WIRE_OK)
    return drop;
  if (header.type != NET_WIRE_DATA)
    return NET_WIRE_DROP_MALFORMED;
  if (header.receiver_index != keys->local_index)
    return NET_WIRE_DROP_UNKNOWN_INDEX;
  return _net_wire_open (keys, &header, data, len, out, out_size, out_len);
}

/* --- Header -------------------------------------------------------------- */

static void
test_drop_reason_names (void)
{
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_MALFORMED), ==, "malformed");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_UNKNOWN_INDEX), ==, "unknown-index");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_REPLAY), ==, "replay");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_AUTH), ==, "auth");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_HANDSHAKE_REPLAY), ==, "handshake-replay");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_UNKNOWN_PEER), ==, "unknown-peer");
  g_assert_cmpstr (_net_wire_drop_reason_name (NET_WIRE_DROP_TOO_LARGE), ==, "too-large");
}

static gsize
len_for_type (NetWireType type)
{
  switch (type)
    {
    case NET_WIRE_HANDSHAKE_INITIATION: return NET_WIRE_INITIATION_LEN;
    case NET_WIRE_HANDSHAKE_RESPONSE: return NET_WIRE_RESPONSE_LEN;
    case NET_WIRE_COOKIE_REPLY: return NET_WIRE_COOKIE_REPLY_LEN;
    case NET_WIRE_DATA:
    default: return NET_WIRE_DATA_OVERHEAD + 10;
    }
}

static void
test_header_round_trip (void)
{
  const NetWireHeader headers[] = {
    { NET_WIRE_HANDSHAKE_INITIATION, 0, 0 },
    { NET_WIRE_HANDSHAKE_RESPONSE, 0xdeadbeef, 0 },
    { NET_WIRE_DATA, 1, 0 },
    { NET_WIRE_DATA, 0x01020304, G_GUINT64_CONSTANT (0x0102030405060708) },
    { NET_WIRE_DATA, G_MAXUINT32, NET_WIRE_REJECT_AFTER_MESSAGES - 1 },
  };
  const guint8 expected[NET_WIRE_HEADER_LEN] = {
    'N', 'd', 2, 3, 0x04, 0x03, 0x02, 0x01,
    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      guint8 buf[256] = { 0 };
      gsize len = len_for_type (headers[i].type);
      NetWireHeader parsed = { 0 };

      _net_wire_write_header (buf, &headers[i]);
      g_assert_cmpint (_net_wire_parse_header (buf, len, NET_WIRE_DEFAULT_MAX_DATAGRAM,
                                               &parsed), ==, NET_WIRE_OK);
      g_assert_cmpint (parsed.type, ==, headers[i].type);
      g_assert_cmpuint (parsed.receiver_index, ==, headers[i].receiver_index);
      g_assert_cmpuint (parsed.counter, ==, headers[i].counter);
      if (i == 3)
        g_assert_cmpmem (buf, NET_WIRE_HEADER_LEN, expected, sizeof expected);
    }
}

static NetWireDrop
parse (const guint8 *buf,
       gsize         len,
       gsize         max)
{
  NetWireHeader parsed = { 0 };

  return _net_wire_parse_header (buf, len, max, &parsed);
}

static void
test_header_malformed (void)
{
  guint8 buf[NET_WIRE_MAX_MAX_DATAGRAM + 1] = { 0 };
  const NetWireType types[] = {
    NET_WIRE_HANDSHAKE_INITIATION, NET_WIRE_HANDSHAKE_RESPONSE, NET_WIRE_DATA,
    NET_WIRE_COOKIE_REPLY,
  };

  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      NetWireHeader h = { types[t], types[t] == NET_WIRE_HANDSHAKE_INITIATION ? 0 : 7, 0 };
      gsize len = len_for_type (types[t]);

      memset (buf, 0, 256);
      _net_wire_write_header (buf, &h);
      g_assert_cmpint (parse (buf, len, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==, NET_WIRE_OK);

      /* Each of the magic and the version, and a few other values. */
      for (guint byte = 0; byte < 3; byte++)
        {
          const guint8 wrong[] = { 0, 1, 2, 0x4e, 0x64, 0xff };

          for (gsize w = 0; w < G_N_ELEMENTS (wrong); w++)
            {
              guint8 saved = buf[byte];

              if (wrong[w] == saved)
                continue;
              buf[byte] = wrong[w];
              g_assert_cmpint (parse (buf, len, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==,
                               NET_WIRE_DROP_MALFORMED);
              buf[byte] = saved;
            }
        }

      /* Unknown types. */
      for (guint type = 0; type < 256; type++)
        {
          if (type >= 1 && type <= 4)
            continue;
          buf[3] = (guint8) type;
          g_assert_cmpint (parse (buf, len, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==,
                           NET_WIRE_DROP_MALFORMED);
        }
      buf[3] = (guint8) types[t];

      /* Lengths: handshakes are exact, data has a minimum. */
      for (gsize l = 0; l < 300; l++)
        {
          NetWireDrop expected;

          if (types[t] == NET_WIRE_DATA)
            expected = l >= NET_WIRE_DATA_OVERHEAD ? NET_WIRE_OK : NET_WIRE_DROP_MALFORMED;
          else if (types[t] == NET_WIRE_HANDSHAKE_INITIATION)
            /* With or without a mac2. */
            expected = l == len || l == NET_WIRE_INITIATION_MAC2_LEN ?
                       NET_WIRE_OK : NET_WIRE_DROP_MALFORMED;
          else if (types[t] == NET_WIRE_HANDSHAKE_RESPONSE)
            /* With or without a mac2 too. */
            expected = l == len || l == NET_WIRE_RESPONSE_MAC2_LEN ?
                       NET_WIRE_OK : NET_WIRE_DROP_MALFORMED;
          else
            expected = l == len ? NET_WIRE_OK : NET_WIRE_DROP_MALFORMED;
          g_assert_cmpint (parse (buf, l, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==, expected);
        }
      if (types[t] == NET_WIRE_DATA)
        g_assert_cmpint (parse (buf, NET_WIRE_DATA_OVERHEAD - 1, NET_WIRE_DEFAULT_MAX_DATAGRAM),
                         ==, NET_WIRE_DROP_MALFORMED);
      else
        {
          g_assert_cmpint (parse (buf, len - 1, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==,
                           NET_WIRE_DROP_MALFORMED);
          g_assert_cmpint (parse (buf, len + 1, NET_WIRE_DEFAULT_MAX_DATAGRAM), ==,
                           NET_WIRE_DROP_MALFORMED);
        }

      /* Too large, whatever the type; exactly the maximum is fine. */
      g_assert_cmpint (parse (buf, NET_WIRE_DEFAULT_MAX_DATAGRAM + 1,
                              NET_WIRE_DEFAULT_MAX_DATAGRAM), ==, NET_WIRE_DROP_TOO_LARGE);
      g_assert_cmpint (parse (buf, NET_WIRE_MAX_MAX_DATAGRAM + 1,
                              NET_WIRE_MAX_MAX_DATAGRAM), ==, NET_WIRE_DROP_TOO_LARGE);
      g_assert_cmpint (parse (buf, len, len - 1), ==, NET_WIRE_DROP_TOO_LARGE);
      g_assert_cmpint (parse (buf, len, len), ==, NET_WIRE_OK);
    }

  /* Handshakes: receiver index 0 in an initiation, counter 0 in both. */
  {
    NetWireHeader h = { NET_WIRE_HANDSHAKE_INITIATION, 1, 0 };

    _net_wire_write_header (buf, &h);
    g_assert_cmpint (parse (buf, NET_WIRE_INITIATION_LEN, 1400), ==, NET_WIRE_DROP_MALFORMED);
    h.receiver_index = 0;
    h.counter = 1;
    _net_wire_write_header (buf, &h);
    g_assert_cmpint (parse (buf, NET_WIRE_INITIATION_LEN, 1400), ==, NET_WIRE_DROP_MALFORMED);
    h.type = NET_WIRE_HANDSHAKE_RESPONSE;
    _net_wire_write_header (buf, &h);
    g_assert_cmpint (parse (buf, NET_WIRE_RESPONSE_LEN, 1400), ==, NET_WIRE_DROP_MALFORMED);
    g_assert_cmpint (parse (buf, NET_WIRE_RESPONSE_MAC2_LEN, 1400), ==, NET_WIRE_DROP_MALFORMED);
    h.counter = 0;
    _net_wire_write_header (buf, &h);
    g_assert_cmpint (parse (buf, NET_WIRE_RESPONSE_LEN, 1400), ==, NET_WIRE_OK);
    g_assert_cmpint (parse (buf, NET_WIRE_RESPONSE_MAC2_LEN, 1400), ==, NET_WIRE_OK);
    h.type = NET_WIRE_COOKIE_REPLY;
    h.counter = 1;
    _net_wire_write_header (buf, &h);
    g_assert_cmpint (parse (buf, NET_WIRE_COOKIE_REPLY_LEN, 1400), ==, NET_WIRE_DROP_MALFORMED);
  }

  g_assert_cmpint (parse (NULL, 0, 1400), ==, NET_WIRE_DROP_MALFORMED);
}

/* --- Replay window ------------------------------------------------------- */

/* Check, then commit when the check passed, as _net_wire_open() does. */
static gboolean
accept (NetWireReplayWindow *w,
        guint64              counter)
{
  if (!_net_wire_replay_check (w, counter))
    return FALSE;
  _net_wire_replay_commit (w, counter);
  return TRUE;
}

static void
test_replay_in_order (void)
{
  NetWireReplayWindow w;

  _net_wire_replay_init (&w);
  for (guint64 c = 0; c < 5000; c++)
    {
      g_assert_true (accept (&w, c));
      g_assert_false (_net_wire_replay_check (&w, c));
      g_assert_cmpuint (w.top, ==, c + 1);
    }
  /* Every one of them is now refused. */
  for (guint64 c = 0; c < 5000; c++)
    g_assert_false (_net_wire_replay_check (&w, c));
}

static void
test_replay_out_of_order (void)
{
  NetWireReplayWindow w;

  _net_wire_replay_init (&w);
  g_assert_true (accept (&w, 2000));
  /* The 1024 counters before the newest one inclusive are all tracked. */
  for (guint64 c = 2000 - NET_WIRE_REPLAY_WINDOW + 1; c < 2000; c += 2)
    g_assert_true (accept (&w, c));
  for (guint64 c = 2000 - NET_WIRE_REPLAY_WINDOW + 1; c < 2000; c++)
    g_assert_cmpint (_net_wire_replay_check (&w, c), ==, (2000 - c) % 2 == 0);
  for (guint64 c = 2000 - NET_WIRE_REPLAY_WINDOW + 2; c < 2000; c += 2)
    g_assert_true (accept (&w, c));
  for (guint64 c = 0; c <= 2000; c++)
    g_assert_false (_net_wire_replay_check (&w, c));
  g_assert_true (_net_wire_replay_check (&w, 2001));
  g_assert_cmpuint (w.top, ==, 2001);
}

static void
test_replay_duplicates (void)
{
  NetWireReplayWindow w;
  const guint64 counters[] = { 0, 1, 5, 3, 64, 63, 65, 127, 128, 1000, 999 };

  _net_wire_replay_init (&w);
  for (gsize i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      g_assert_true (accept (&w, counters[i]));
      for (gsize j = 0; j <= i; j++)
        g_assert_false (accept (&w, counters[j]));
    }
  g_assert_true (accept (&w, 2));
  g_assert_true (accept (&w, 4));
}

static void
test_replay_too_old (void)
{
  NetWireReplayWindow w;
  guint64 top = 10000;

  _net_wire_replay_init (&w);
  g_assert_true (accept (&w, top));
  /* top - 1023 is the oldest in the window, top - 1024 is out of it. */
  g_assert_true (_net_wire_replay_check (&w, top - (NET_WIRE_REPLAY_WINDOW - 1)));
  g_assert_false (_net_wire_replay_check (&w, top - NET_WIRE_REPLAY_WINDOW));
  g_assert_false (_net_wire_replay_check (&w, 0));
  g_assert_false (_net_wire_replay_check (&w, top - 5000));

  /* Committing an old counter (the API allows it) changes nothing. */
  {
    NetWireReplayWindow before = w;

    _net_wire_replay_commit (&w, 5);
    g_assert_cmpmem (&w, sizeof w, &before, sizeof before);
  }

  /* A counter sent once the window moved past it is refused. */
  g_assert_true (accept (&w, top + 1));
  g_assert_false (_net_wire_replay_check (&w, top + 1 - NET_WIRE_REPLAY_WINDOW));
  g_assert_true (_net_wire_replay_check (&w, top + 2 - NET_WIRE_REPLAY_WINDOW));
}

static void
test_replay_big_jumps (void)
{
  NetWireReplayWindow w;
  const guint64 jumps[] = { 1, 63, 64, 65, 127, 128, 1023, 1024, 1025, 5000,
                            G_GUINT64_CONSTANT (1) << 40 };
  guint64 c = 0;

  _net_wire_replay_init (&w);
  g_assert_true (accept (&w, 0));
  for (gsize i = 0; i < G_N_ELEMENTS (jumps); i++)
    {
      guint64 prev = c;

      c += jumps[i];
      g_assert_true (accept (&w, c));
      g_assert_false (_net_wire_replay_check (&w, c));
      /* The previous one is still seen while in the window, and too old
       * (refused all the same) after. */
      g_assert_false (_net_wire_replay_check (&w, prev));
      /* Everything between was never seen and is accepted while in the
       * window. */
      for (guint64 k = prev + 1; k < c && k < prev + 2000; k++)
        g_assert_cmpint (_net_wire_replay_check (&w, k), ==,
                         c - k < NET_WIRE_REPLAY_WINDOW);
    }

  /* The last usable counter; nothing past it is ever accepted. */
  c = NET_WIRE_REJECT_AFTER_MESSAGES - 1;
  g_assert_true (accept (&w, c));
  g_assert_false (_net_wire_replay_check (&w, c));
  g_assert_true (_net_wire_replay_check (&w, c - 1));
  g_assert_false (_net_wire_replay_check (&w, NET_WIRE_REJECT_AFTER_MESSAGES));
  g_assert_false (_net_wire_replay_check (&w, G_MAXUINT64));
}

static void
test_replay_check_does_not_commit (void)
{
  NetWireReplayWindow w, before;

  _net_wire_replay_init (&w);
  for (guint64 c = 0; c < 100; c += 3)
    _net_wire_replay_commit (&w, c);
  before = w;
  for (guint64 c = 0; c < 5000; c++)
    (void) _net_wire_replay_check (&w, c);
  (void) _net_wire_replay_check (&w, G_MAXUINT64);
  g_assert_cmpmem (&w, sizeof w, &before, sizeof before);
  /* So a counter checked but not committed is still accepted. */
  g_assert_true (_net_wire_replay_check (&w, 1));
  g_assert_true (accept (&w, 1));
}

/* The window against the simplest model: a set of every committed counter
 * and the rule "new and within 1024 of the greatest". */
static void
test_replay_random (void)
{
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                          g_free, NULL);
      g_autoptr(GRand) rand = g_rand_new_with_seed (round);
      NetWireReplayWindow w;
      guint64 greatest = 0;
      gboolean any = FALSE;

      _net_wire_replay_init (&w);
      for (guint i = 0; i < 20000; i++)
        {
          guint64 c;
          gboolean expected;
          guint r = g_rand_int_range (rand, 0, 100);

          /* Mostly near the top, sometimes far ahead or far behind. */
          if (r < 60)
            c = greatest + g_rand_int_range (rand, 0, 40);
          else if (r < 90)
            c = greatest > 1100 ? greatest - g_rand_int_range (rand, 0, 1100) : (guint64) g_rand_int_range (rand, 0, 1100);
          else if (r < 98)
            c = greatest + g_rand_int_range (rand, 0, 3000);
          else
            c = (guint64) g_rand_int_range (rand, 0, 100000);

          expected = !g_hash_table_contains (seen, &c) &&
                     (!any || c > greatest || greatest - c < NET_WIRE_REPLAY_WINDOW);
          g_assert_cmpint (_net_wire_replay_check (&w, c), ==, expected);

          /* Some pass the check and then fail to authenticate. */
          if (expected && g_rand_int_range (rand, 0, 10) != 0)
            {
              guint64 *key = g_new (guint64, 1);

              *key = c;
              g_hash_table_add (seen, key);
              _net_wire_replay_commit (&w, c);
              if (!any || c > greatest)
                greatest = c;
              any = TRUE;
            }
        }
    }
}

/* --- Handshake ----------------------------------------------------------- */

static void
test_handshake (Peers         *p,
                gconstpointer  data)
{
  guint8 again[NET_WIRE_INITIATION_LEN];
  g_autoptr(NetNoiseHandshake) hs = NULL;

  handshake (p);

  g_assert_cmpmem (p->keys_a.send_key, NET_NOISE_KEYLEN, p->keys_b.recv_key, NET_NOISE_KEYLEN);
  g_assert_cmpmem (p->keys_a.recv_key, NET_NOISE_KEYLEN, p->keys_b.send_key, NET_NOISE_KEYLEN);
  g_assert_true (memcmp (p->keys_a.send_key, p->keys_a.recv_key, NET_NOISE_KEYLEN) != 0);
  g_assert_cmpuint (p->keys_a.local_index, ==, INITIATOR_INDEX);
  g_assert_cmpuint (p->keys_a.remote_index, ==, RESPONDER_INDEX);
  g_assert_cmpuint (p->keys_b.local_index, ==, RESPONDER_INDEX);
  g_assert_cmpuint (p->keys_b.remote_index, ==, INITIATOR_INDEX);
  g_assert_cmpuint (p->keys_a.send_counter, ==, 0);
  g_assert_cmpuint (p->keys_a.window.top, ==, 0);

  /* The fixed layout of the initiation. */
  g_assert_cmpmem (p->initiation, 4, "Nd\2\1", 4);
  g_assert_cmpmem (p->initiation + 4, 12, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
  g_assert_cmpmem (p->initiation + 16, 4, "\x78\x56\x34\x12", 4);
  g_assert_cmpmem (p->response, 16, "Nd\2\2\x78\x56\x34\x12\0\0\0\0\0\0\0\0", 16);

  /* Deterministic with a fixed ephemeral, random without one. */
  hs = write_initiation (p, again);
  g_assert_cmpmem (again, sizeof again, p->initiation, sizeof p->initiation);
  g_clear_pointer (&hs, _net_noise_handshake_free);
  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (p->a),
                                   _net_identity_get_x25519_public (p->b),
                                   _net_identity_get_ed25519_public (p->a),
                                   INITIATOR_INDEX, TIMESTAMP, NULL, again, NULL);
  g_assert_nonnull (hs);
  g_assert_true (memcmp (again + 20, p->initiation + 20, 32) != 0);
}

/* The expected mac1 of @len bytes of @msg (the last 16 are it) to @to,
 * from libsodium directly: BLAKE2b-128 keyed with BLAKE2b-256 ("mac1----"
 * || the receiver's X25519 key). */
static void
expected_mac1 (NetIdentity *to,
               guint8      *msg,
               gsize        len)
{
  guint8 label_key[8 + 32], key[32];

  memcpy (label_key, "mac1----", 8);
  memcpy (label_key + 8, _net_identity_get_x25519_public (to), 32);
  crypto_generichash (key, sizeof key, label_key, sizeof label_key, NULL, 0);
  crypto_generichash (msg + len - 16, 16, msg, len - 16, key, sizeof key);
}

/* The initiation and response are the Noise messages over the protocol's
 * prologue and payloads, byte for byte, each followed by its mac1: built
 * here from net-noise and libsodium alone. */
static void
test_handshake_layout (Peers         *p,
                       gconstpointer  data)
{
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(GError) error = NULL;
  guint8 expected[NET_WIRE_INITIATION_LEN + NET_WIRE_RESPONSE_LEN];
  guint8 payload[8 + 32] = { 0x00, 0x20, 0x0b, 0x50, 0x76, 0x44, 0x06, 0x00 };
  const guint8 index[4] = { 0xfe, 0xca, 0xad, 0x0b };
  gsize n = 0;

  G_STATIC_ASSERT (TIMESTAMP == G_GUINT64_CONSTANT (0x00064476500b2000));
  G_STATIC_ASSERT (NET_WIRE_INITIATION_LEN == 20 + 32 + 48 + 40 + 16 + 16);
  G_STATIC_ASSERT (NET_WIRE_RESPONSE_LEN == 16 + 32 + 4 + 16 + 16);
  memcpy (payload + 8, _net_identity_get_ed25519_public (p->a), 32);
  handshake (p);

  memcpy (expected, "Nd\2\1\0\0\0\0\0\0\0\0\0\0\0\0\x78\x56\x34\x12", 20);
  ini = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, expected, 20,
                                  _net_identity_get_x25519_secret (p->a),
                                  _net_identity_get_x25519_public (p->b));
  _net_noise_handshake_set_ephemeral_for_test (ini, p->eph_a);
  g_assert_true (_net_noise_handshake_write_message (ini, payload, sizeof payload, expected + 20,
                                                     NET_WIRE_INITIATION_LEN - 20 - 16, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, NET_WIRE_INITIATION_LEN - 20 - 16);
  expected_mac1 (p->b, expected, NET_WIRE_INITIATION_LEN);
  g_assert_cmpmem (expected, NET_WIRE_INITIATION_LEN, p->initiation, NET_WIRE_INITIATION_LEN);

  res = _net_noise_handshake_new (NET_NOISE_ROLE_RESPONDER, expected, 20,
                                  _net_identity_get_x25519_secret (p->b), NULL);
  g_assert_true (_net_noise_handshake_read_message (res, expected + 20, NET_WIRE_INITIATION_LEN - 20 - 16,
                                                    expected + NET_WIRE_INITIATION_LEN,
                                                    sizeof payload, &n, &error));
  g_assert_no_error (error);
  memcpy (expected, "Nd\2\2\x78\x56\x34\x12\0\0\0\0\0\0\0\0", 16);
  _net_noise_handshake_set_ephemeral_for_test (res, p->eph_b);
  g_assert_true (_net_noise_handshake_write_message (res, index, sizeof index, expected + 16,
                                                     NET_WIRE_RESPONSE_LEN - 16 - 16, &n, &error));
  g_assert_no_error (error);
  expected_mac1 (p->a, expected, NET_WIRE_RESPONSE_LEN);
  g_assert_cmpmem (expected, NET_WIRE_RESPONSE_LEN, p->response, NET_WIRE_RESPONSE_LEN);
}

/* Without fixed ephemerals, both directions carry data. */
static void
test_handshake_random (Peers         *p,
                       gconstpointer  data)
{
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(GError) error = NULL;
  guint32 si = 0, ri = 0;
  guint64 ts = 0;
  guint8 dgram[64], plain[64];
  gsize len = 0, plen = 0;

  ini = _net_wire_initiation_write (_net_identity_get_x25519_secret (p->a),
                                    _net_identity_get_x25519_public (p->b),
                                    _net_identity_get_ed25519_public (p->a),
                                    7, 8, NULL, p->initiation, &error);
  g_assert_no_error (error);
  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                   p->initiation, sizeof p->initiation, &si, &ts, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (si, ==, 7);
  g_assert_cmpuint (ts, ==, 8);
  g_assert_true (_net_wire_response_write (res, si, 9, NULL, p->response, &error));
  g_assert_no_error (error);
  g_assert_true (_net_wire_response_read (ini, mac1_of (p->a), p->response, sizeof p->response, &ri, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ri, ==, 9);
  _net_wire_keys_init (&p->keys_a, ini, 7, ri);
  _net_wire_keys_init (&p->keys_b, res, 9, si);

  g_assert_true (_net_wire_seal (&p->keys_a, (const guint8 *) "ping", 4,
                                 dgram, sizeof dgram, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, plain, sizeof plain, &plen),
                   ==, NET_WIRE_OK);
  g_assert_cmpmem (plain, plen, "ping", 4);
  g_assert_true (_net_wire_seal (&p->keys_b, (const guint8 *) "pong", 4,
                                 dgram, sizeof dgram, &len, &error));
  g_assert_cmpint (receive_data (&p->keys_a, dgram, len, plain, sizeof plain, &plen),
                   ==, NET_WIRE_OK);
  g_assert_cmpmem (plain, plen, "pong", 4);
}

/* Every single-bit change of the initiation fails to authenticate: the
 * header and sender index too, as they are the prologue. */
static void
test_handshake_tamper_initiation (Peers         *p,
                                  gconstpointer  data)
{
  g_autoptr(NetNoiseHandshake) ini = write_initiation (p, p->initiation);

  for (gsize bit = 0; bit < NET_WIRE_INITIATION_LEN * 8; bit++)
    {
      g_autoptr(NetNoiseHandshake) res = NULL;
      g_autoptr(GError) error = NULL;
      guint8 msg[NET_WIRE_INITIATION_LEN];
      guint32 si = 0;
      guint64 ts = 0;

      memcpy (msg, p->initiation, sizeof msg);
      msg[bit / 8] ^= 1 << (bit % 8);
      res = _net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                       msg, sizeof msg, &si, &ts, NULL, &error);
      g_assert_null (res);
      g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
      g_assert_cmpuint (si, ==, 0);
      g_assert_cmpuint (ts, ==, 0);
    }

  /* Wrong lengths, and a sender index of 0. */
  for (gsize len = 0; len < NET_WIRE_INITIATION_LEN + 2; len++)
    {
      g_autoptr(GError) error = NULL;
      guint8 msg[NET_WIRE_INITIATION_LEN + 2] = { 0 };

      if (len == NET_WIRE_INITIATION_LEN)
        continue;
      memcpy (msg, p->initiation, NET_WIRE_INITIATION_LEN);
      g_assert_null (_net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                                msg, len, NULL, NULL, NULL, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
    }
  {
    g_autoptr(GError) error = NULL;
    guint8 msg[NET_WIRE_INITIATION_LEN];

    memcpy (msg, p->initiation, sizeof msg);
    memset (msg + 16, 0, 4);
    g_assert_null (_net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                              msg, sizeof msg, NULL, NULL, NULL, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
  }

  /* The untouched message still goes through. */
  {
    g_autoptr(NetNoiseHandshake) res = NULL;
    g_autoptr(GError) error = NULL;

    res = _net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                     p->initiation, sizeof p->initiation,
                                     NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (res);
  }
}

/* Every single-bit change of the response is refused: by the header
 * parser, by the lookup of the receiver index (the part of the response
 * the handshake does not cover), or by authentication. */
static void
test_handshake_tamper_response (Peers         *p,
                                gconstpointer  data)
{
  handshake (p);

  for (gsize bit = 0; bit < NET_WIRE_RESPONSE_LEN * 8; bit++)
    {
      g_autoptr(NetNoiseHandshake) ini = write_initiation (p, p->initiation);
      g_autoptr(GError) error = NULL;
      guint8 msg[NET_WIRE_RESPONSE_LEN];
      NetWireHeader header;
      NetWireDrop drop;
      guint32 ri = 0;

      memcpy (msg, p->response, sizeof msg);
      msg[bit / 8] ^= 1 << (bit % 8);

      drop = _net_wire_parse_header (msg, sizeof msg, NET_WIRE_DEFAULT_MAX_DATAGRAM, &header);
      if (bit / 8 < 4 || (bit / 8 >= 8 && bit / 8 < 16))
        {
          /* Refused, or (type 3) another kind of datagram. */
          g_assert_true (drop == NET_WIRE_DROP_MALFORMED ||
                         header.type != NET_WIRE_HANDSHAKE_RESPONSE);
          /* response_read checks the same on its own. */
          g_assert_false (_net_wire_response_read (ini, mac1_of (p->a), msg, sizeof msg, &ri, &error));
          g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
        }
      else if (bit / 8 < 8)
        {
          g_assert_cmpint (drop, ==, NET_WIRE_OK);
          /* It names another handshake. */
          g_assert_cmpuint (header.receiver_index, !=, INITIATOR_INDEX);
        }
      else
        {
          g_assert_cmpint (drop, ==, NET_WIRE_OK);
          g_assert_false (_net_wire_response_read (ini, mac1_of (p->a), msg, sizeof msg, &ri, &error));
          g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
        }
      g_assert_cmpuint (ri, ==, 0);
    }

  /* Wrong lengths, checked before the handshake sees the message: it then
   * still accepts the real one. */
  {
    g_autoptr(NetNoiseHandshake) ini = write_initiation (p, p->initiation);
    guint8 msg[NET_WIRE_RESPONSE_LEN + 2] = { 0 };
    guint32 ri = 0;

    memcpy (msg, p->response, NET_WIRE_RESPONSE_LEN);
    for (gsize len = 0; len < sizeof msg; len++)
      {
        g_autoptr(GError) error = NULL;

        if (len == NET_WIRE_RESPONSE_LEN)
          continue;
        g_assert_false (_net_wire_response_read (ini, mac1_of (p->a), msg, len, &ri, &error));
        g_assert_error (error, NET_ERROR, NET_ERROR_PROTOCOL);
      }
    g_assert_true (_net_wire_response_read (ini, mac1_of (p->a), p->response, sizeof p->response, &ri, NULL));
    g_assert_cmpuint (ri, ==, RESPONDER_INDEX);
  }
}

/* The initiator has the wrong key for the responder: the responder cannot
 * authenticate the initiation.  And a response from another responder than
 * the one the initiator meant fails too. */
static void
test_handshake_wrong_responder (Peers         *p,
                                gconstpointer  data)
{
  g_autoptr(NetIdentity) c = identity_from_byte (3);
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(GError) error = NULL;
  guint32 si = 0, ri = 0;

  /* a believes c is at b's address. */
  ini = _net_wire_initiation_write (_net_identity_get_x25519_secret (p->a),
                                    _net_identity_get_x25519_public (c),
                                    _net_identity_get_ed25519_public (p->a),
                                    INITIATOR_INDEX, TIMESTAMP, NULL,
                                    p->initiation, &error);
  g_assert_no_error (error);
  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (p->b), mac1_of (p->b),
                                   p->initiation, sizeof p->initiation,
                                   &si, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
  g_clear_error (&error);

  /* c itself reads it, but a response made by b for another initiation
   * does not authenticate for a. */
  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (c), mac1_of (c),
                                   p->initiation, sizeof p->initiation,
                                   &si, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  g_clear_pointer (&res, _net_noise_handshake_free);
  handshake (p);
  g_assert_false (_net_wire_response_read (ini, mac1_of (p->a), p->response, sizeof p->response,
                                           &ri, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_AUTH_FAILED);
}

/* --- Transport ----------------------------------------------------------- */

static void
test_data_round_trip (Peers         *p,
                      gconstpointer  data)
{
  guint8 plain[NET_WIRE_DEFAULT_MAX_DATAGRAM], dgram[NET_WIRE_DEFAULT_MAX_DATAGRAM];
  guint8 out[NET_WIRE_DEFAULT_MAX_DATAGRAM];

  handshake (p);
  fixed_bytes (plain, sizeof plain, 9);

  for (gsize n = 0; n <= NET_WIRE_DEFAULT_MAX_DATAGRAM - NET_WIRE_DATA_OVERHEAD; n += 37)
    {
      NetWireKeys *tx = n % 2 ? &p->keys_a : &p->keys_b;
      NetWireKeys *rx = n % 2 ? &p->keys_b : &p->keys_a;
      g_autoptr(GError) error = NULL;
      guint64 counter = tx->send_counter;
      NetWireHeader header;
      gsize len = 0, out_len = 0;

      g_assert_true (_net_wire_seal (tx, plain, n, dgram, sizeof dgram, &len, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (len, ==, n + NET_WIRE_DATA_OVERHEAD);
      g_assert_cmpuint (tx->send_counter, ==, counter + 1);
      g_assert_cmpint (_net_wire_parse_header (dgram, len, NET_WIRE_DEFAULT_MAX_DATAGRAM,
                                               &header), ==, NET_WIRE_OK);
      g_assert_cmpint (header.type, ==, NET_WIRE_DATA);
      g_assert_cmpuint (header.counter, ==, counter);
      g_assert_cmpuint (header.receiver_index, ==, rx->local_index);

      g_assert_cmpint (_net_wire_open (rx, &header, dgram, len, out, sizeof out, &out_len),
                       ==, NET_WIRE_OK);
      g_assert_cmpmem (out, out_len, plain, n);
      g_assert_cmpuint (rx->window.top, ==, counter + 1);

      /* The same datagram again is a replay. */
      g_assert_cmpint (_net_wire_open (rx, &header, dgram, len, out, sizeof out, &out_len),
                       ==, NET_WIRE_DROP_REPLAY);
    }

  /* Sealing in place. */
  {
    gsize len = 0, out_len = 0;

    memcpy (dgram + NET_WIRE_HEADER_LEN, "in place", 8);
    g_assert_true (_net_wire_seal (&p->keys_a, dgram + NET_WIRE_HEADER_LEN, 8,
                                   dgram, sizeof dgram, &len, NULL));
    g_assert_cmpint (receive_data (&p->keys_b, dgram, len, out, sizeof out, &out_len),
                     ==, NET_WIRE_OK);
    g_assert_cmpmem (out, out_len, "in place", 8);
  }
}

/* A data datagram is ChaCha20-Poly1305-IETF with the nonce 4 zero bytes
 * and the counter (LE), the header as associated data: opened here with
 * libsodium alone. */
static void
test_data_layout (void)
{
  NetWireKeys keys = { 0 };
  guint8 dgram[NET_WIRE_DATA_OVERHEAD + 5], plain[5];
  const guint8 nonce[12] = { 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
  unsigned long long mlen = 0;
  gsize len = 0;

  fixed_bytes (keys.send_key, sizeof keys.send_key, 0x11);
  keys.send_counter = G_GUINT64_CONSTANT (0x0102030405060708);
  keys.remote_index = 0xa1b2c3d4;
  g_assert_true (_net_wire_seal (&keys, (const guint8 *) "hello", 5, dgram, sizeof dgram,
                                 &len, NULL));
  g_assert_cmpuint (len, ==, sizeof dgram);
  g_assert_cmpmem (dgram, 16, "Nd\2\3\xd4\xc3\xb2\xa1\x08\x07\x06\x05\x04\x03\x02\x01", 16);
  g_assert_cmpint (crypto_aead_chacha20poly1305_ietf_decrypt (plain, &mlen, NULL,
                                                              dgram + 16, len - 16,
                                                              dgram, 16, nonce,
                                                              keys.send_key), ==, 0);
  g_assert_cmpmem (plain, mlen, "hello", 5);
  _net_wire_keys_clear (&keys);
}

static void
test_data_keepalive (Peers         *p,
                     gconstpointer  data)
{
  guint8 dgram[NET_WIRE_DATA_OVERHEAD];
  gsize len = 0, out_len = 99;

  handshake (p);
  g_assert_true (_net_wire_seal (&p->keys_a, NULL, 0, dgram, sizeof dgram, &len, NULL));
  g_assert_cmpuint (len, ==, NET_WIRE_DATA_OVERHEAD);
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, NULL, 0, &out_len), ==, NET_WIRE_OK);
  g_assert_cmpuint (out_len, ==, 0);
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, NULL, 0, &out_len), ==,
                   NET_WIRE_DROP_REPLAY);

  /* A keepalive is authenticated like anything else. */
  g_assert_true (_net_wire_seal (&p->keys_a, NULL, 0, dgram, sizeof dgram, &len, NULL));
  dgram[NET_WIRE_HEADER_LEN] ^= 1;
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, NULL, 0, &out_len), ==,
                   NET_WIRE_DROP_AUTH);
}

/* Every single-bit change of a data datagram is dropped, and leaves the
 * receiver's window as it was. */
static void
test_data_tamper (Peers         *p,
                  gconstpointer  data)
{
  guint8 dgram[NET_WIRE_DATA_OVERHEAD + 40], out[64];
  gsize len = 0, out_len = 0;

  handshake (p);
  /* Some history in the window, with holes. */
  for (guint i = 0; i < 100; i++)
    {
      g_assert_true (_net_wire_seal (&p->keys_a, (const guint8 *) "x", 1,
                                     dgram, sizeof dgram, &len, NULL));
      if (i % 3 != 0)
        g_assert_cmpint (receive_data (&p->keys_b, dgram, len, out, sizeof out, &out_len),
                         ==, NET_WIRE_OK);
    }
  p->keys_a.send_counter = 51;  /* a hole: counter 51 was lost */
  g_assert_false (_net_wire_replay_check (&p->keys_b.window, 50));
  g_assert_true (_net_wire_replay_check (&p->keys_b.window, 51));
  g_assert_true (_net_wire_seal (&p->keys_a, (const guint8 *) "forty bytes of plaintext for the tamper.", 40,
                                 dgram, sizeof dgram, &len, NULL));
  g_assert_cmpuint (len, ==, sizeof dgram);

  for (gsize bit = 0; bit < len * 8; bit++)
    {
      NetWireReplayWindow before = p->keys_b.window;
      guint8 msg[sizeof dgram];
      NetWireDrop drop;

      memcpy (msg, dgram, len);
      msg[bit / 8] ^= 1 << (bit % 8);
      memset (out, 0xaa, sizeof out);
      drop = receive_data (&p->keys_b, msg, len, out, sizeof out, &out_len);
      g_assert_cmpint (drop, !=, NET_WIRE_OK);
      if (bit / 8 < 4)
        g_assert_cmpint (drop, ==, NET_WIRE_DROP_MALFORMED);
      else if (bit / 8 < 8)
        g_assert_cmpint (drop, ==, NET_WIRE_DROP_UNKNOWN_INDEX);
      else if (bit / 8 >= 16)
        g_assert_cmpint (drop, ==, NET_WIRE_DROP_AUTH);
      else
        /* The counter: a committed one is a replay, the rest fail. */
        g_assert_true (drop == NET_WIRE_DROP_AUTH || drop == NET_WIRE_DROP_REPLAY);
      g_assert_cmpmem (&p->keys_b.window, sizeof before, &before, sizeof before);
    }

  /* Flipping counter bit 0 gives 50, which was committed. */
  {
    guint8 msg[sizeof dgram];

    memcpy (msg, dgram, len);
    msg[8] ^= 1;
    g_assert_cmpint (receive_data (&p->keys_b, msg, len, out, sizeof out, &out_len), ==,
                     NET_WIRE_DROP_REPLAY);
  }

  /* Truncated or extended by a byte, at every length. */
  for (gsize l = 0; l < len; l++)
    {
      NetWireReplayWindow before = p->keys_b.window;
      NetWireDrop drop = receive_data (&p->keys_b, dgram, l, out, sizeof out, &out_len);

      g_assert_cmpint (drop, ==, l < NET_WIRE_DATA_OVERHEAD ? NET_WIRE_DROP_MALFORMED
                                                            : NET_WIRE_DROP_AUTH);
      g_assert_cmpmem (&p->keys_b.window, sizeof before, &before, sizeof before);
    }

  /* Sealed with the wrong key (the receiver's own sending key). */
  {
    NetWireKeys wrong = p->keys_b;
    guint8 msg[sizeof dgram];

    wrong.remote_index = RESPONDER_INDEX;
    wrong.send_counter = 51;
    g_assert_true (_net_wire_seal (&wrong, (const guint8 *) "x", 1, msg, sizeof msg, &len, NULL));
    g_assert_cmpint (receive_data (&p->keys_b, msg, len, out, sizeof out, &out_len), ==,
                     NET_WIRE_DROP_AUTH);
    _net_wire_keys_clear (&wrong);
  }

  /* The untouched datagram still opens, once. */
  len = sizeof dgram;
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, out, sizeof out, &out_len), ==,
                   NET_WIRE_OK);
  g_assert_cmpmem (out, out_len, "forty bytes of plaintext for the tamper.", 40);
  g_assert_cmpint (receive_data (&p->keys_b, dgram, len, out, sizeof out, &out_len), ==,
                   NET_WIRE_DROP_REPLAY);
}

static void
test_data_seal_errors (Peers         *p,
                       gconstpointer  data)
{
  guint8 dgram[NET_WIRE_DATA_OVERHEAD + 8], out[8];
  g_autoptr(GError) error = NULL;
  gsize len = 0, out_len = 0;

  handshake (p);

  /* Too small a buffer: the counter is not used. */
  g_assert_false (_net_wire_seal (&p->keys_a, (const guint8 *) "123456789", 9,
                                  dgram, sizeof dgram, &len, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (_net_wire_seal (&p->keys_a, NULL, 0, dgram, NET_WIRE_DATA_OVERHEAD - 1,
                                  &len, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (p->keys_a.send_counter, ==, 0);

  /* The last counters. */
  p->keys_a.send_counter = NET_WIRE_REJECT_AFTER_MESSAGES - 2;
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (_net_wire_seal (&p->keys_a, (const guint8 *) "last", 4,
                                     dgram, sizeof dgram, &len, &error));
      g_assert_no_error (error);
      g_assert_cmpint (receive_data (&p->keys_b, dgram, len, out, sizeof out, &out_len),
                       ==, NET_WIRE_OK);
      g_assert_cmpmem (out, out_len, "last", 4);
    }
  g_assert_cmpuint (p->keys_a.send_counter, ==, NET_WIRE_REJECT_AFTER_MESSAGES);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_false (_net_wire_seal (&p->keys_a, (const guint8 *) "more", 4,
                                      dgram, sizeof dgram, &len, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_FAILED);
      g_clear_error (&error);
      g_assert_cmpuint (p->keys_a.send_counter, ==, NET_WIRE_REJECT_AFTER_MESSAGES);
    }

  /* A forged datagram with a counter past the limit is refused before any
   * decryption. */
  {
    NetWireHeader h = { NET_WIRE_DATA, RESPONDER_INDEX, NET_WIRE_REJECT_AFTER_MESSAGES };

    _net_wire_write_header (dgram, &h);
    g_assert_cmpint (receive_data (&p->keys_b, dgram, NET_WIRE_DATA_OVERHEAD, out,
                                   sizeof out, &out_len), ==, NET_WIRE_DROP_REPLAY);
  }
}

static void
test_keys_clear (Peers         *p,
                 gconstpointer  data)
{
  const guint8 zero[sizeof (NetWireKeys)] = { 0 };

  handshake (p);
  g_assert_true (memcmp (&p->keys_a, zero, sizeof zero) != 0);
  _net_wire_keys_clear (&p->keys_a);
  g_assert_cmpmem (&p->keys_a, sizeof p->keys_a, zero, sizeof zero);
}

/* --- Cookies ------------------------------------------------------------- */

/* The cookie reply and mac2 against libsodium directly, then tampering:
 * a reply opens only with the responder's key and the mac1 it answers,
 * and a mac2 checks only under the cookie of the address it was made
 * for. */
static void
test_cookie (Peers         *p,
             gconstpointer  data)
{
  const guint8 secret[NET_WIRE_COOKIE_SECRET_LEN] = { 1, 2, 3 };
  const guint8 here[] = { 2, 127, 0, 0, 1, 0x10, 0x27 };
  const guint8 there[] = { 2, 127, 0, 0, 2, 0x10, 0x27 };
  guint8 cookie[NET_WIRE_COOKIE_LEN], other[NET_WIRE_COOKIE_LEN], got[NET_WIRE_COOKIE_LEN];
  guint8 expected[NET_WIRE_COOKIE_LEN];
  guint8 key[NET_WIRE_MAC1_KEY_LEN], wrong_key[NET_WIRE_MAC1_KEY_LEN];
  guint8 nonce[NET_WIRE_COOKIE_NONCE_LEN];
  guint8 reply[NET_WIRE_COOKIE_REPLY_LEN];
  guint8 plain[NET_WIRE_COOKIE_LEN];
  guint8 msg[NET_WIRE_INITIATION_MAC2_LEN];
  guint8 mac[NET_WIRE_MAC_LEN];
  const guint8 *mac1 = p->initiation + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN;
  crypto_generichash_state st;
  NetWireHeader header;
  guint8 wrong_mac1[NET_WIRE_MAC_LEN];

  handshake (p);
  memcpy (wrong_mac1, mac1, sizeof wrong_mac1);
  wrong_mac1[0] ^= 1;

  _net_wire_cookie_make (secret, here, sizeof here, cookie);
  crypto_generichash (expected, sizeof expected, here, sizeof here, secret, sizeof secret);
  g_assert_cmpmem (cookie, sizeof cookie, expected, sizeof expected);
  _net_wire_cookie_make (secret, there, sizeof there, other);
  g_assert_true (memcmp (cookie, other, sizeof cookie) != 0);

  /* The key: BLAKE2b-256 ("cookie--" || the responder's key). */
  _net_wire_cookie_key (_net_identity_get_x25519_public (p->b), key);
  crypto_generichash_init (&st, NULL, 0, sizeof wrong_key);
  crypto_generichash_update (&st, (const guint8 *) "cookie--", 8);
  crypto_generichash_update (&st, _net_identity_get_x25519_public (p->b), 32);
  crypto_generichash_final (&st, wrong_key, sizeof wrong_key);
  g_assert_cmpmem (key, sizeof key, wrong_key, sizeof wrong_key);
  _net_wire_cookie_key (_net_identity_get_x25519_public (p->a), wrong_key);

  memset (nonce, 0x42, sizeof nonce);
  _net_wire_cookie_reply_write (key, 0x01020304, mac1, cookie, nonce, reply);
  g_assert_cmpint (_net_wire_parse_header (reply, sizeof reply, 1400, &header), ==, NET_WIRE_OK);
  g_assert_cmpint (header.type, ==, NET_WIRE_COOKIE_REPLY);
  g_assert_cmpuint (header.receiver_index, ==, 0x01020304);
  g_assert_cmpmem (reply + NET_WIRE_HEADER_LEN, sizeof nonce, nonce, sizeof nonce);
  g_assert_cmpint (crypto_aead_xchacha20poly1305_ietf_decrypt (plain, NULL, NULL,
                                                                reply + NET_WIRE_HEADER_LEN + sizeof nonce,
                                                                NET_WIRE_COOKIE_LEN + NET_WIRE_TAG_LEN,
                                                                mac1, NET_WIRE_MAC_LEN, nonce, key), ==, 0);
  g_assert_cmpmem (plain, sizeof plain, cookie, sizeof cookie);

  g_assert_true (_net_wire_cookie_reply_read (key, mac1, reply, sizeof reply, got));
  g_assert_cmpmem (got, sizeof got, cookie, sizeof cookie);
  g_assert_false (_net_wire_cookie_reply_read (wrong_key, mac1, reply, sizeof reply, got));
  g_assert_false (_net_wire_cookie_reply_read (key, wrong_mac1, reply, sizeof reply, got));
  g_assert_false (_net_wire_cookie_reply_read (key, mac1, reply, sizeof reply - 1, got));
  for (gsize i = NET_WIRE_HEADER_LEN; i < sizeof reply; i++)
    {
      reply[i] ^= 0x01;
      g_assert_false (_net_wire_cookie_reply_read (key, mac1, reply, sizeof reply, got));
      reply[i] ^= 0x01;
    }

  /* mac2: BLAKE2b-128 keyed with the cookie over all before it. */
  memcpy (msg, p->initiation, NET_WIRE_INITIATION_LEN);
  _net_wire_put_mac2 (cookie, msg, sizeof msg);
  crypto_generichash (mac, sizeof mac, msg, NET_WIRE_INITIATION_LEN, cookie, sizeof cookie);
  g_assert_cmpmem (msg + NET_WIRE_INITIATION_LEN, NET_WIRE_MAC_LEN, mac, sizeof mac);
  g_assert_true (_net_wire_check_mac2 (cookie, msg, sizeof msg));
  g_assert_false (_net_wire_check_mac2 (other, msg, sizeof msg));
  g_assert_false (_net_wire_check_mac2 (cookie, msg, NET_WIRE_INITIATION_LEN));
  for (gsize i = 0; i < sizeof msg; i++)
    {
      msg[i] ^= 0x80;
      g_assert_false (_net_wire_check_mac2 (cookie, msg, sizeof msg));
      msg[i] ^= 0x80;
    }

  /* A response carries one the same way (an initiator under load asks
   * its responder for it), and it is read without it. */
  {
    guint8 response[NET_WIRE_RESPONSE_MAC2_LEN];
    const guint8 *response_mac1 = p->response + NET_WIRE_RESPONSE_LEN - NET_WIRE_MAC_LEN;

    memcpy (response, p->response, NET_WIRE_RESPONSE_LEN);
    _net_wire_put_mac2 (cookie, response, sizeof response);
    crypto_generichash (mac, sizeof mac, response, NET_WIRE_RESPONSE_LEN, cookie, sizeof cookie);
    g_assert_cmpmem (response + NET_WIRE_RESPONSE_LEN, NET_WIRE_MAC_LEN, mac, sizeof mac);
    g_assert_cmpint (_net_wire_parse_header (response, sizeof response, 1400, &header), ==, NET_WIRE_OK);
    g_assert_cmpint (header.type, ==, NET_WIRE_HANDSHAKE_RESPONSE);
    g_assert_true (_net_wire_check_mac2 (cookie, response, sizeof response));
    g_assert_false (_net_wire_check_mac2 (other, response, sizeof response));
    g_assert_false (_net_wire_check_mac2 (cookie, response, NET_WIRE_RESPONSE_LEN));
    g_assert_false (_net_wire_check_mac2 (cookie, response, sizeof response - 1));
    for (gsize i = 0; i < sizeof response; i++)
      {
        response[i] ^= 0x80;
        g_assert_false (_net_wire_check_mac2 (cookie, response, sizeof response));
        response[i] ^= 0x80;
      }
    g_assert_true (_net_wire_check_mac1 (mac1_of (p->a), response, NET_WIRE_RESPONSE_LEN));

    /* The cookie reply to a response: sealed with the response's mac1. */
    _net_wire_cookie_key (_net_identity_get_x25519_public (p->a), key);
    _net_wire_cookie_reply_write (key, 0x0a0b0c0d, response_mac1, cookie, NULL, reply);
    g_assert_true (_net_wire_cookie_reply_read (key, response_mac1, reply, sizeof reply, got));
    g_assert_cmpmem (got, sizeof got, cookie, sizeof cookie);
    g_assert_false (_net_wire_cookie_reply_read (key, mac1, reply, sizeof reply, got));
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  _net_identity_init_sodium ();

  g_test_add_func ("/net/wire/drop-reason-names", test_drop_reason_names);
  g_test_add_func ("/net/wire/header/round-trip", test_header_round_trip);
  g_test_add_func ("/net/wire/header/malformed", test_header_malformed);
  g_test_add_func ("/net/wire/replay/in-order", test_replay_in_order);
  g_test_add_func ("/net/wire/replay/out-of-order", test_replay_out_of_order);
  g_test_add_func ("/net/wire/replay/duplicates", test_replay_duplicates);
  g_test_add_func ("/net/wire/replay/too-old", test_replay_too_old);
  g_test_add_func ("/net/wire/replay/big-jumps", test_replay_big_jumps);
  g_test_add_func ("/net/wire/replay/check-does-not-commit", test_replay_check_does_not_commit);
  g_test_add_func ("/net/wire/replay/random", test_replay_random);

#define ADD_PEERS(path, func) \
  g_test_add (path, Peers, NULL, peers_setup, func, peers_teardown)
  ADD_PEERS ("/net/wire/handshake/fixed", test_handshake);
  ADD_PEERS ("/net/wire/handshake/layout", test_handshake_layout);
  ADD_PEERS ("/net/wire/handshake/random", test_handshake_random);
  ADD_PEERS ("/net/wire/handshake/tamper-initiation", test_handshake_tamper_initiation);
  ADD_PEERS ("/net/wire/handshake/tamper-response", test_handshake_tamper_response);
  ADD_PEERS ("/net/wire/handshake/wrong-responder", test_handshake_wrong_responder);
  ADD_PEERS ("/net/wire/data/round-trip", test_data_round_trip);
  g_test_add_func ("/net/wire/data/layout", test_data_layout);
  ADD_PEERS ("/net/wire/data/keepalive", test_data_keepalive);
  ADD_PEERS ("/net/wire/data/tamper", test_data_tamper);
  ADD_PEERS ("/net/wire/data/seal-errors", test_data_seal_errors);
  ADD_PEERS ("/net/wire/keys/clear", test_keys_clear);
  ADD_PEERS ("/net/wire/cookie", test_cookie);
#undef ADD_PEERS

  return g_test_run ();
}
