/* fuzz-handshake.c: libFuzzer target for the handshake messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two nodes with fixed keys and fixed ephemerals, so the real initiation
 * and response are the same bytes every run.  The first input byte picks:
 *
 *  0  the real initiation with the edits the rest of the input describes,
 *     given to the responder;
 *  1  the same for the real response, given to the initiator;
 *  2  the rest of the input as an initiation;
 *  3  the rest of the input as a response;
 *  4  a whole handshake with the indexes, timestamp and ephemerals the
 *     input gives, then a data datagram each way.
 *
 * A message authenticates exactly when it is the real one (for a response,
 * but for its receiver index, which only routes it); when it does, the
 * handshake goes on to matching transport keys.  Nothing may crash, leak or
 * emit a critical.
 *
 * Built with -DNETDB_FUZZ_HANDSHAKE_CORPUS (and without -fsanitize=fuzzer)
 * the file is instead a program that writes the seed corpus into the
 * directory given as its argument (the fuzz-handshake-corpus target of a
 * fuzzing build):
 *   fuzz-handshake-corpus fuzz/corpus/handshake
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
/* Room for edits that lengthen a message. */
#define MAX_MESSAGE 256

enum
{
  MODE_EDIT_INITIATION,
  MODE_EDIT_RESPONSE,
  MODE_RAW_INITIATION,
  MODE_RAW_RESPONSE,
  MODE_FIELDS,
  N_MODES
};

static NetIdentity *ident_a, *ident_b;
static guint8 eph_a[32], eph_b[32];
static guint8 initiation[NET_WIRE_INITIATION_LEN];
static guint8 response[NET_WIRE_RESPONSE_LEN];
static NetWireKeys keys_a, keys_b;
static guint8 mac1_a[NET_WIRE_MAC1_KEY_LEN], mac1_b[NET_WIRE_MAC1_KEY_LEN];

static NetIdentity *
identity_from_byte (guint8 b)
{
  guint8 seed[NET_IDENTITY_SEED_SIZE];

  memset (seed, b, sizeof seed);
  return _net_identity_new_from_seed (seed);
}

static NetNoiseHandshake *
start_initiation (void)
{
  guint8 out[NET_WIRE_INITIATION_LEN];
  NetNoiseHandshake *hs;

  hs = _net_wire_initiation_write (_net_identity_get_x25519_secret (ident_a),
                                   _net_identity_get_x25519_public (ident_b),
                                   _net_identity_get_ed25519_public (ident_a),
                                   INITIATOR_INDEX, TIMESTAMP, eph_a, out, NULL);
  g_assert (hs != NULL);
  g_assert (memcmp (out, initiation, sizeof out) == 0);
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

  ini = _net_wire_initiation_write (_net_identity_get_x25519_secret (ident_a),
                                    _net_identity_get_x25519_public (ident_b),
                                    _net_identity_get_ed25519_public (ident_a),
                                    INITIATOR_INDEX, TIMESTAMP, eph_a, initiation, NULL);
  g_assert (ini != NULL);
  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (ident_b), mac1_b,
                                   initiation, sizeof initiation, &si, NULL, NULL, NULL);
  g_assert (res != NULL);
  g_assert (_net_wire_response_write (res, si, RESPONDER_INDEX, eph_b, response, NULL));
  g_assert (_net_wire_response_read (ini, mac1_a, response, sizeof response, &ri, NULL));
  _net_wire_keys_init (&keys_a, ini, INITIATOR_INDEX, ri);
  _net_wire_keys_init (&keys_b, res, RESPONDER_INDEX, si);
}

/* One data datagram from @tx to @rx, with @plaintext. */
static void
send_data (NetWireKeys  *tx,
           NetWireKeys  *rx,
           const guint8 *plaintext,
           gsize         len)
{
  guint8 dgram[NET_WIRE_DEFAULT_MAX_DATAGRAM], out[NET_WIRE_DEFAULT_MAX_DATAGRAM];
  NetWireHeader header;
  gsize dgram_len = 0, out_len = 0;

  len = MIN (len, sizeof dgram - NET_WIRE_DATA_OVERHEAD);
  g_assert (_net_wire_seal (tx, plaintext, len, dgram, sizeof dgram, &dgram_len, NULL));
  g_assert (_net_wire_parse_header (dgram, dgram_len, NET_WIRE_DEFAULT_MAX_DATAGRAM,
                                    &header) == NET_WIRE_OK);
  g_assert (header.receiver_index == rx->local_index);
  g_assert (_net_wire_open (rx, &header, dgram, dgram_len, out, sizeof out,
                            &out_len) == NET_WIRE_OK);
  g_assert (out_len == len && (len == 0 || memcmp (out, plaintext, len) == 0));
  g_assert (_net_wire_open (rx, &header, dgram, dgram_len, out, sizeof out,
                            &out_len) == NET_WIRE_DROP_REPLAY);
}

static void
check_error (const GError *error)
{
  g_assert (error != NULL && error->domain == NET_ERROR);
  g_assert (error->code == NET_ERROR_PROTOCOL || error->code == NET_ERROR_AUTH_FAILED);
}

/* The responder, given @msg. */
static void
respond (const guint8 *msg,
         gsize         len)
{
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(GError) error = NULL;
  guint8 out[NET_WIRE_RESPONSE_LEN];
  gboolean real = len == sizeof initiation && memcmp (msg, initiation, len) == 0;
  guint32 si = 0, ri = 0;
  guint64 ts = 0;
  NetWireKeys ka, kb;

  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (ident_b), mac1_b,
                                   msg, len, &si, &ts, NULL, &error);
  g_assert ((res != NULL) == real);
  if (res == NULL)
    {
      check_error (error);
      g_assert (si == 0 && ts == 0);
      return;
    }

  g_assert (si == INITIATOR_INDEX && ts == TIMESTAMP);
  g_assert (_net_wire_response_write (res, si, RESPONDER_INDEX, eph_b, out, NULL));
  g_assert (memcmp (out, response, sizeof out) == 0);

  ini = start_initiation ();
  g_assert (_net_wire_response_read (ini, mac1_a, out, sizeof out, &ri, NULL));
  _net_wire_keys_init (&ka, ini, INITIATOR_INDEX, ri);
  _net_wire_keys_init (&kb, res, RESPONDER_INDEX, si);
  g_assert (memcmp (&ka, &keys_a, sizeof ka) == 0);
  g_assert (memcmp (&kb, &keys_b, sizeof kb) == 0);
  _net_wire_keys_clear (&ka);
  _net_wire_keys_clear (&kb);
}

/* The initiator, given @msg as the response to the real initiation. */
static void
initiate (const guint8 *msg,
          gsize         len)
{
  g_autoptr(NetNoiseHandshake) ini = start_initiation ();
  g_autoptr(GError) error = NULL;
  /* mac1 covers the receiver index too: only the response itself. */
  gboolean real = len == sizeof response && memcmp (msg, response, len) == 0;
  guint32 ri = 0;
  NetWireKeys ka;

  if (!_net_wire_response_read (ini, mac1_a, msg, len, &ri, &error))
    {
      g_assert (!real);
      check_error (error);
      g_assert (ri == 0);
      return;
    }

  g_assert (real);
  g_assert (ri == RESPONDER_INDEX);
  g_assert (_net_noise_handshake_is_finished (ini));
  _net_wire_keys_init (&ka, ini, INITIATOR_INDEX, ri);
  g_assert (memcmp (&ka, &keys_a, sizeof ka) == 0);
  _net_wire_keys_clear (&ka);
}

/* Applies the edits of @ops (three bytes each: what, where, value) to the
 * @len bytes of @msg; returns the new length. */
static gsize
edit (guint8       *msg,
      gsize         len,
      const guint8 *ops,
      gsize         ops_len)
{
  for (gsize i = 0; i + 3 <= ops_len; i += 3)
    {
      guint8 what = ops[i] % 8, where = ops[i + 1], value = ops[i + 2];

      if (what <= 3 && len > 0)
        msg[where % len] ^= value;
      else if (what <= 5 && len > 0)
        msg[where % len] = value;
      else if (what == 6)
        len = MIN (len, where);
      else if (what == 7 && len < MAX_MESSAGE)
        msg[len++] = value;
    }
  return len;
}

static guint32
get_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

/* A handshake with the input's fields, random-looking keys included. */
static void
handshake_with_fields (const guint8 *data,
                       gsize         len)
{
  g_autoptr(NetNoiseHandshake) ini = NULL;
  g_autoptr(NetNoiseHandshake) res = NULL;
  g_autoptr(GError) error = NULL;
  guint8 in[4 + 8 + 4 + 32 + 32] = { 0 };
  guint8 m1[NET_WIRE_INITIATION_LEN], m2[NET_WIRE_RESPONSE_LEN];
  guint32 sender_index, responder_index, si = 0, ri = 0;
  guint64 timestamp, ts = 0;
  NetWireHeader header;
  NetWireKeys ka, kb;

  memcpy (in, data, MIN (len, sizeof in));
  sender_index = get_u32 (in);
  timestamp = (guint64) get_u32 (in + 4) | (guint64) get_u32 (in + 8) << 32;
  responder_index = get_u32 (in + 12);
  /* Indexes are never 0. */
  sender_index = sender_index != 0 ? sender_index : 1;
  responder_index = responder_index != 0 ? responder_index : 1;

  ini = _net_wire_initiation_write (_net_identity_get_x25519_secret (ident_a),
                                    _net_identity_get_x25519_public (ident_b),
                                    _net_identity_get_ed25519_public (ident_a),
                                    sender_index, timestamp, in + 16, m1, &error);
  g_assert (ini != NULL);
  g_assert (_net_wire_parse_header (m1, sizeof m1, NET_WIRE_MIN_MAX_DATAGRAM,
                                    &header) == NET_WIRE_OK);
  g_assert (header.type == NET_WIRE_HANDSHAKE_INITIATION);

  res = _net_wire_initiation_read (_net_identity_get_x25519_secret (ident_b), mac1_b,
                                   m1, sizeof m1, &si, &ts, NULL, &error);
  g_assert (res != NULL);
  g_assert (si == sender_index && ts == timestamp);

  g_assert (_net_wire_response_write (res, si, responder_index, in + 48, m2, &error));
  g_assert (_net_wire_parse_header (m2, sizeof m2, NET_WIRE_MIN_MAX_DATAGRAM,
                                    &header) == NET_WIRE_OK);
  g_assert (header.type == NET_WIRE_HANDSHAKE_RESPONSE);
  g_assert (header.receiver_index == sender_index);
  g_assert (_net_wire_response_read (ini, mac1_a, m2, sizeof m2, &ri, &error));
  g_assert (ri == responder_index);

  _net_wire_keys_init (&ka, ini, sender_index, ri);
  _net_wire_keys_init (&kb, res, responder_index, si);
  g_assert (memcmp (ka.send_key, kb.recv_key, sizeof ka.send_key) == 0);
  g_assert (memcmp (ka.recv_key, kb.send_key, sizeof ka.recv_key) == 0);

  len = len > sizeof in ? len - sizeof in : 0;
  send_data (&ka, &kb, data + sizeof in, len);
  send_data (&kb, &ka, data + sizeof in, len);
  send_data (&ka, &kb, NULL, 0);
  _net_wire_keys_clear (&ka);
  _net_wire_keys_clear (&kb);
}

static void
run (const guint8 *data,
     gsize         size)
{
  guint8 msg[MAX_MESSAGE];
  gsize len;

  if (size == 0)
    return;

  switch (data[0] % N_MODES)
    {
    case MODE_EDIT_INITIATION:
      memcpy (msg, initiation, sizeof initiation);
      len = edit (msg, sizeof initiation, data + 1, size - 1);
      respond (msg, len);
      break;
    case MODE_EDIT_RESPONSE:
      memcpy (msg, response, sizeof response);
      len = edit (msg, sizeof response, data + 1, size - 1);
      initiate (msg, len);
      break;
    case MODE_RAW_INITIATION:
      respond (data + 1, size - 1);
      break;
    case MODE_RAW_RESPONSE:
      initiate (data + 1, size - 1);
      break;
    case MODE_FIELDS:
    default:
      handshake_with_fields (data + 1, size - 1);
      break;
    }
}

#ifndef NETDB_FUZZ_HANDSHAKE_CORPUS

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
  run (data, size);
  return 0;
}

#else /* NETDB_FUZZ_HANDSHAKE_CORPUS */

static void
write_seed (const char   *dir,
            const char   *name,
            guint8        mode,
            const guint8 *data,
            gsize         len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *seed = g_malloc (len + 1);

  seed[0] = mode;
  if (len > 0)
    memcpy (seed + 1, data, len);
  if (!g_file_set_contents (path, (const char *) seed, len + 1, &error))
    g_error ("%s", error->message);

  /* Every seed passes the target's checks. */
  run (seed, len + 1);
}

int
main (int   argc,
      char *argv[])
{
  /* flip a bit of e; set the type; truncate; append */
  const guint8 edits[] = { 0, 20, 0x01 };
  const guint8 edits_header[] = { 4, 3, 2, 0, 4, 0x80 };
  const guint8 edits_length[] = { 6, 67, 0 };
  const guint8 edits_append[] = { 7, 0, 0xaa };
  /* only the receiver index: still authenticates */
  const guint8 edits_index[] = { 0, 4, 0xff, 4, 7, 0 };
  guint8 fields[4 + 8 + 4 + 32 + 32 + 6];

  if (argc != 2)
    g_error ("usage: %s DIRECTORY", argv[0]);
  setup ();

  for (gsize i = 0; i < sizeof fields; i++)
    fields[i] = (guint8) (i * 37 + 11);
  memcpy (fields + sizeof fields - 6, "\x21hello", 6);

  write_seed (argv[1], "initiation.bin", MODE_EDIT_INITIATION, NULL, 0);
  write_seed (argv[1], "initiation-flip.bin", MODE_EDIT_INITIATION, edits, sizeof edits);
  write_seed (argv[1], "initiation-header.bin", MODE_EDIT_INITIATION, edits_header, sizeof edits_header);
  write_seed (argv[1], "initiation-append.bin", MODE_EDIT_INITIATION, edits_append, sizeof edits_append);
  write_seed (argv[1], "response.bin", MODE_EDIT_RESPONSE, NULL, 0);
  write_seed (argv[1], "response-flip.bin", MODE_EDIT_RESPONSE, edits, sizeof edits);
  write_seed (argv[1], "response-index.bin", MODE_EDIT_RESPONSE, edits_index, sizeof edits_index);
  write_seed (argv[1], "response-short.bin", MODE_EDIT_RESPONSE, edits_length, sizeof edits_length);
  write_seed (argv[1], "raw-initiation.bin", MODE_RAW_INITIATION, initiation, sizeof initiation);
  write_seed (argv[1], "raw-response.bin", MODE_RAW_RESPONSE, response, sizeof response);
  write_seed (argv[1], "fields.bin", MODE_FIELDS, fields, sizeof fields);
  return 0;
}

#endif /* NETDB_FUZZ_HANDSHAKE_CORPUS */
