/* fuzz-datagram.c: libFuzzer target for received datagrams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is used three ways:
 *
 *  - as a datagram received by a node: _net_wire_parse_header(), then by
 *    type _net_wire_initiation_read() (the node is the responder; a mac2
 *    is checked against a fixed cookie), _net_wire_cookie_reply_read()
 *    (the answer to the node's own initiation),
 *    _net_wire_response_read() (on a handshake the node started with a
 *    fixed ephemeral) or _net_wire_open() on a session with fixed keys and
 *    some history in its window.  A drop must leave the window as it was;
 *    a response can only authenticate if it is the real one;
 *  - as the plaintext of a data datagram, sealed and opened again;
 *  - as a script of counters for the replay window, compared with a plain
 *    set of every counter committed.
 *
 * Nothing may crash, leak or emit a critical.
 *
 * Built with -DNETDB_FUZZ_DATAGRAM_CORPUS (and without -fsanitize=fuzzer)
 * the file is instead a program that writes the seed corpus into the
 * directory given as its argument (the fuzz-datagram-corpus target of a
 * fuzzing build):
 *   fuzz-datagram-corpus fuzz/corpus/datagram
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "netdb.h"
#include "net-identity-private.h"
#include "net-wire-private.h"

#define INITIATOR_INDEX 0x01020304u
#define RESPONDER_INDEX 0x0a0b0c0du
#define TIMESTAMP G_GUINT64_CONSTANT (1764124800000000)
/* The counter of the seed data datagrams: the window holds 0 to 99 but
 * every third one. */
#define SEED_COUNTER 100

/* Two nodes that finished a handshake with fixed keys: a initiated, b
 * responded.  The target plays b. */
static NetIdentity *ident_a, *ident_b;
static guint8 eph_a[32], eph_b[32];
static guint8 initiation[NET_WIRE_INITIATION_LEN];
static guint8 response[NET_WIRE_RESPONSE_LEN];
static NetWireKeys keys_a, keys_b;
static guint8 mac1_a[NET_WIRE_MAC1_KEY_LEN], mac1_b[NET_WIRE_MAC1_KEY_LEN];
/* b's cookie for a's address, and the cookie reply carrying it. */
static guint8 cookie_key_b[NET_WIRE_MAC1_KEY_LEN];
static guint8 cookie[NET_WIRE_COOKIE_LEN];
static guint8 cookie_reply[NET_WIRE_COOKIE_REPLY_LEN];
static guint8 initiation_mac2[NET_WIRE_INITIATION_MAC2_LEN];

static NetIdentity *
identity_from_byte (guint8 b)
{
  guint8 seed[NET_IDENTITY_SEED_SIZE];

  memset (seed, b, sizeof seed);
  return _net_identity_new_from_seed (seed);
}

static NetNoiseHandshake *
start_initiation (guint8 *out)
{
  NetNoiseHandshake *hs;

  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (ident_a),
                                   _net_identity_get_x25519_public (ident_b),
                                   _net_identity_get_ed25519_public (ident_a),
                                   INITIATOR_INDEX, TIMESTAMP, eph_a, out, NULL);
  g_assert (hs != NULL);
  return hs;
}

static void
setup (void)
{
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  guint32 si = 0, ri = 0;

  _net_identity_init_sodium ();
  ident_a = identity_from_byte (1);
  ident_b = identity_from_byte (2);
  _net_wire_mac1_key (_net_identity_get_x25519_public (ident_a), mac1_a);
  _net_wire_mac1_key (_net_identity_get_x25519_public (ident_b), mac1_b);
  memset (eph_a, 0x3a, sizeof eph_a);
  memset (eph_b, 0x5b, sizeof eph_b);

  ini = start_initiation (initiation);
  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (ident_b), mac1_b,
                                   initiation, sizeof initiation, &si, NULL, NULL, NULL);
  g_assert (res != NULL);
  g_assert (_net_wire_response_write (res, si, RESPONDER_INDEX, eph_b, response, NULL));
  g_assert (_net_wire_response_read (ini, mac1_a, response, sizeof response, &ri, NULL));
  _net_wire_keys_init (&keys_a, ini, INITIATOR_INDEX, ri);
  _net_wire_keys_init (&keys_b, res, RESPONDER_INDEX, si);

  for (guint64 c = 0; c < SEED_COUNTER; c++)
    if (c % 3 != 0)
      _net_wire_replay_commit (&keys_b.window, c);

  {
    const guint8 secret[NET_WIRE_COOKIE_SECRET_LEN] = { 0x5e };
    const guint8 source[] = { 2, 127, 0, 0, 1, 0x39, 0x30 };
    guint8 nonce[NET_WIRE_COOKIE_NONCE_LEN];

    memset (nonce, 0x0c, sizeof nonce);
    _net_wire_cookie_key (_net_identity_get_x25519_public (ident_b), cookie_key_b);
    _net_wire_cookie_make (secret, source, sizeof source, cookie);
    _net_wire_cookie_reply_write (cookie_key_b, INITIATOR_INDEX,
                                  initiation + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN,
                                  cookie, nonce, cookie_reply);
    memcpy (initiation_mac2, initiation, NET_WIRE_INITIATION_LEN);
    _net_wire_put_mac2 (cookie, initiation_mac2, sizeof initiation_mac2);
  }
}

/* The datagram as b receives it ------------------------------------------- */

static void
receive_initiation (const guint8 *data,
                    gsize         len)
{
  g_autoptr(NetNoiseHandshake) hs = NULL;
  g_autoptr(GError) error = NULL;
  guint8 out[NET_WIRE_RESPONSE_LEN];
  guint32 si = 0;
  guint64 ts = 0;
  NetWireKeys keys;

  /* Only the seed's mac2 is right (the cookie is b's secret). */
  if (_net_wire_check_mac2 (cookie, data, len))
    g_assert (len == NET_WIRE_INITIATION_MAC2_LEN &&
              memcmp (data, initiation_mac2, len) == 0);
  else
    g_assert (len != NET_WIRE_INITIATION_MAC2_LEN ||
              memcmp (data, initiation_mac2, len) != 0);

  /* The Noise part ends at mac1; a mac2 after it is not read there. */
  hs = _net_wire_initiation_read (_net_identity_get_x25519_secret (ident_b), mac1_b,
                                  data, NET_WIRE_INITIATION_LEN, &si, &ts, NULL, &error);
  if (hs == NULL)
    {
      g_assert (error != NULL && error->domain == NET_ERROR);
      g_assert (error->code == NET_ERROR_PROTOCOL || error->code == NET_ERROR_AUTH_FAILED);
      return;
    }

  /* Only a's own initiation can get here (nobody else knows a key b
   * accepts without being a): it is the seed. */
  g_assert (si != 0);
  g_assert (memcmp (_net_noise_handshake_get_remote_static (hs),
                    _net_identity_get_x25519_public (ident_a), 32) == 0);
  g_assert (_net_wire_response_write (hs, si, RESPONDER_INDEX, NULL, out, NULL));
  _net_wire_keys_init (&keys, hs, RESPONDER_INDEX, si);
  _net_wire_keys_clear (&keys);
}

static void
receive_response (const guint8 *data,
                  gsize         len)
{
  g_autoptr(NetNoiseHandshake) hs = NULL;
  g_autoptr(GError) error = NULL;
  guint8 again[NET_WIRE_INITIATION_LEN];
  guint32 ri = 0;
  NetWireKeys keys;

  hs = start_initiation (again);
  g_assert (memcmp (again, initiation, sizeof again) == 0);
  /* As the node reads it: a mac2 after the response is the cookie
   * check's, not the handshake's. */
  if (len == NET_WIRE_RESPONSE_MAC2_LEN)
    len = NET_WIRE_RESPONSE_LEN;
  if (!_net_wire_response_read (hs, mac1_a, data, len, &ri, &error))
    {
      g_assert (error != NULL && error->domain == NET_ERROR);
      g_assert (error->code == NET_ERROR_PROTOCOL || error->code == NET_ERROR_AUTH_FAILED);
      return;
    }

  /* All of it but the receiver index is authenticated or checked. */
  g_assert (len == NET_WIRE_RESPONSE_LEN);
  g_assert (memcmp (data, response, 4) == 0);
  g_assert (memcmp (data + 8, response + 8, len - 8) == 0);
  g_assert (ri == RESPONDER_INDEX);
  _net_wire_keys_init (&keys, hs, INITIATOR_INDEX, ri);
  g_assert (memcmp (keys.send_key, keys_a.send_key, sizeof keys.send_key) == 0);
  g_assert (memcmp (keys.recv_key, keys_a.recv_key, sizeof keys.recv_key) == 0);
  _net_wire_keys_clear (&keys);
}

static void
receive_cookie_reply (const guint8 *data,
                      gsize         len)
{
  guint8 got[NET_WIRE_COOKIE_LEN];

  /* a reads it with the mac1 of its initiation. */
  if (!_net_wire_cookie_reply_read (cookie_key_b,
                                    initiation + NET_WIRE_INITIATION_LEN - NET_WIRE_MAC_LEN,
                                    data, len, got))
    return;

  /* Only b could seal it: nonce and cookie are the seed's. */
  g_assert (len == NET_WIRE_COOKIE_REPLY_LEN);
  g_assert (memcmp (data + NET_WIRE_HEADER_LEN, cookie_reply + NET_WIRE_HEADER_LEN,
                    len - NET_WIRE_HEADER_LEN) == 0);
  g_assert (memcmp (got, cookie, sizeof got) == 0);
}

static void
receive_data (const NetWireHeader *header,
              const guint8        *data,
              gsize                len)
{
  NetWireKeys keys = keys_b;
  guint8 *out = g_malloc (len - NET_WIRE_DATA_OVERHEAD + 1);
  gsize out_len = 0;
  NetWireDrop drop;

  drop = _net_wire_open (&keys, header, data, len, out,
                         len - NET_WIRE_DATA_OVERHEAD, &out_len);
  if (drop == NET_WIRE_OK)
    {
      g_assert (out_len == len - NET_WIRE_DATA_OVERHEAD);
      g_assert (!_net_wire_replay_check (&keys.window, header->counter));
      g_assert (_net_wire_replay_check (&keys_b.window, header->counter));
      /* Opened once, refused after. */
      g_assert (_net_wire_open (&keys, header, data, len, out,
                                len - NET_WIRE_DATA_OVERHEAD, &out_len) == NET_WIRE_DROP_REPLAY);
    }
  else
    {
      g_assert (drop == NET_WIRE_DROP_REPLAY || drop == NET_WIRE_DROP_AUTH);
      g_assert (memcmp (&keys, &keys_b, sizeof keys) == 0);
      if (drop == NET_WIRE_DROP_REPLAY)
        g_assert (!_net_wire_replay_check (&keys_b.window, header->counter));
    }

  _net_wire_keys_clear (&keys);
  g_free (out);
}

static void
receive (const guint8 *data,
         gsize         len,
         gsize         max_datagram)
{
  NetWireHeader header;
  NetWireDrop drop;

  drop = _net_wire_parse_header (data, len, max_datagram, &header);
  if (drop != NET_WIRE_OK)
    {
      g_assert (drop == NET_WIRE_DROP_MALFORMED || drop == NET_WIRE_DROP_TOO_LARGE);
      g_assert ((drop == NET_WIRE_DROP_TOO_LARGE) == (len > max_datagram));
      return;
    }

  g_assert (len <= max_datagram);
  switch (header.type)
    {
    case NET_WIRE_HANDSHAKE_INITIATION:
      g_assert (len == NET_WIRE_INITIATION_LEN || len == NET_WIRE_INITIATION_MAC2_LEN);
      g_assert (header.receiver_index == 0 && header.counter == 0);
      receive_initiation (data, len);
      break;
    case NET_WIRE_HANDSHAKE_RESPONSE:
      g_assert (len == NET_WIRE_RESPONSE_LEN || len == NET_WIRE_RESPONSE_MAC2_LEN);
      g_assert (header.counter == 0);
      /* NetNode would look the receiver index up; here every response
       * goes to the one handshake, to test the rest. */
      receive_response (data, len);
      break;
    case NET_WIRE_COOKIE_REPLY:
      g_assert (len == NET_WIRE_COOKIE_REPLY_LEN);
      g_assert (header.counter == 0);
      receive_cookie_reply (data, len);
      break;
    case NET_WIRE_DATA:
      g_assert (len >= NET_WIRE_DATA_OVERHEAD);
      receive_data (&header, data, len);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* The input as a plaintext ------------------------------------------------ */

static void
seal_and_open (const guint8 *data,
               gsize         len)
{
  NetWireKeys tx = keys_a, rx = keys_b;
  gsize size = len + NET_WIRE_DATA_OVERHEAD;
  guint8 *dgram = g_malloc (size);
  guint8 *plain = g_malloc (len + 1);
  g_autoptr(GError) error = NULL;
  NetWireHeader header;
  gsize dgram_len = 0, plain_len = 0;

  /* Below SEED_COUNTER, some are replays. */
  tx.send_counter = len > 0 ? data[0] : 0;

  g_assert (!_net_wire_seal (&tx, data, len, dgram, size - 1, &dgram_len, &error));
  g_assert (error != NULL && error->code == NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert (tx.send_counter == (len > 0 ? data[0] : 0));

  g_assert (_net_wire_seal (&tx, data, len, dgram, size, &dgram_len, &error));
  g_assert (dgram_len == size);
  if (_net_wire_parse_header (dgram, dgram_len, NET_WIRE_MAX_MAX_DATAGRAM, &header) != NET_WIRE_OK)
    {
      g_assert (dgram_len > NET_WIRE_MAX_MAX_DATAGRAM);
      goto out;
    }
  g_assert (header.type == NET_WIRE_DATA);
  g_assert (header.receiver_index == RESPONDER_INDEX);

  if (header.counter % 3 == 0 || header.counter >= SEED_COUNTER)
    {
      g_assert (_net_wire_open (&rx, &header, dgram, dgram_len, plain, len, &plain_len) == NET_WIRE_OK);
      g_assert (plain_len == len);
      g_assert (len == 0 || memcmp (plain, data, len) == 0);
    }
  else
    {
      g_assert (_net_wire_open (&rx, &header, dgram, dgram_len, plain, len, &plain_len) == NET_WIRE_DROP_REPLAY);
    }

out:
  _net_wire_keys_clear (&tx);
  _net_wire_keys_clear (&rx);
  g_free (dgram);
  g_free (plain);
}

/* The input as counters for the replay window ----------------------------- */

static void
replay_script (const guint8 *data,
               gsize         len)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                      g_free, NULL);
  NetWireReplayWindow w;
  guint64 greatest = 0;
  gboolean any = FALSE;

  _net_wire_replay_init (&w);

  /* Three bytes a step: flags, then a 16-bit offset from the greatest
   * counter, scaled up by a power of 2^8 from the flags. */
  for (gsize i = 0; i + 3 <= len; i += 3)
    {
      guint8 flags = data[i];
      gint64 off = (gint16) (data[i + 1] | data[i + 2] << 8);
      guint shift = 8 * ((flags >> 2) & 7);
      guint64 c;
      gboolean expected;

      if (off >= 0)
        {
          guint64 up = (guint64) off << shift;

          if (shift != 0 && up >> shift != (guint64) off)
            up = G_MAXUINT64;
          c = up > G_MAXUINT64 - greatest ? G_MAXUINT64 : greatest + up;
        }
      else
        {
          guint64 down = (guint64) -off << shift;

          if (shift != 0 && down >> shift != (guint64) -off)
            down = G_MAXUINT64;
          c = down > greatest ? 0 : greatest - down;
        }

      expected = c < NET_WIRE_REJECT_AFTER_MESSAGES &&
                 !g_hash_table_contains (seen, &c) &&
                 (!any || c > greatest || greatest - c < NET_WIRE_REPLAY_WINDOW);
      g_assert (_net_wire_replay_check (&w, c) == expected);

      /* Bit 0: it authenticated. */
      if (expected && (flags & 1))
        {
          guint64 *key = g_new (guint64, 1);

          *key = c;
          g_hash_table_add (seen, key);
          _net_wire_replay_commit (&w, c);
          if (!any || c > greatest)
            greatest = c;
          any = TRUE;
          g_assert (w.top == greatest + 1);
        }
    }
}

#ifndef NETDB_FUZZ_DATAGRAM_CORPUS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (TRUE);
  setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  receive (data, size, NET_WIRE_DEFAULT_MAX_DATAGRAM);
  receive (data, size, NET_WIRE_MAX_MAX_DATAGRAM);
  seal_and_open (data, size);
  replay_script (data, size);
  return 0;
}

#else /* NETDB_FUZZ_DATAGRAM_CORPUS */

static void
write_seed (const char   *dir,
            const char   *name,
            const guint8 *data,
            gsize         len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  if (!g_file_set_contents (path, (const char *) data, len, &error))
    g_error ("%s", error->message);

  /* Every seed passes the target's checks. */
  receive (data, len, NET_WIRE_DEFAULT_MAX_DATAGRAM);
  seal_and_open (data, len);
  replay_script (data, len);
}

static void
write_data_seed (const char *dir,
                 const char *name,
                 const char *plaintext,
                 guint64     counter)
{
  NetWireKeys tx = keys_a;
  guint8 dgram[NET_WIRE_DEFAULT_MAX_DATAGRAM];
  gsize len = 0;

  tx.send_counter = counter;
  if (!_net_wire_seal (&tx, (const guint8 *) plaintext, strlen (plaintext),
                       dgram, sizeof dgram, &len, NULL))
    g_error ("cannot seal the seed %s", name);
  write_seed (dir, name, dgram, len);
  _net_wire_keys_clear (&tx);
}

int
main (int   argc,
      char *argv[])
{
  const guint8 script[] = {
    1, 0, 0,   1, 5, 0,   0, 3, 0,   1, 0xfd, 0xff,   1, 0x00, 0x04,
    1, 0x01, 0xfc,   5, 1, 0,   1, 0xff, 0x7f,   0x1d, 0xff, 0x7f,
  };
  const guint8 junk[] = { 'N', 'd', 1, 3, 0, 0, 0, 0 };

  if (argc != 2)
    g_error ("usage: %s DIRECTORY", argv[0]);
  setup ();

  write_seed (argv[1], "initiation.bin", initiation, sizeof initiation);
  write_seed (argv[1], "response.bin", response, sizeof response);
  write_seed (argv[1], "initiation-mac2.bin", initiation_mac2, sizeof initiation_mac2);
  write_seed (argv[1], "cookie-reply.bin", cookie_reply, sizeof cookie_reply);
  write_data_seed (argv[1], "data.bin", "\x21" "an announcement, say", SEED_COUNTER);
  write_data_seed (argv[1], "data-hole.bin", "\x02 a pull", 33);
  write_data_seed (argv[1], "data-replay.bin", "\x02 a pull", 34);
  write_data_seed (argv[1], "keepalive.bin", "", SEED_COUNTER + 5000);
  write_seed (argv[1], "replay-script.bin", script, sizeof script);
  write_seed (argv[1], "short.bin", junk, sizeof junk);
  return 0;
}

#endif /* NETDB_FUZZ_DATAGRAM_CORPUS */
