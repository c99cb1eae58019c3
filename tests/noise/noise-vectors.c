/* noise-vectors.c: a Noise_IK_25519_ChaChaPoly_SHA256 handshake with fixed
 * keys, every message printed in hex, for test_noise_dissononce.py
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   noise-vectors [--role both|initiator|responder] --init-static HEX
 *                 --init-ephemeral HEX --resp-static HEX
 *                 --resp-ephemeral HEX [--prologue HEX] [--payload1 HEX]
 *                 [--payload2 HEX] [--transport1 HEX] [--transport2 HEX]
 *
 * Output is one "name hex" line per value.  With --role both (the default)
 * this program plays both sides and prints message1, payload1,
 * initiator_static (as the responder learned it), message2, payload2, hash,
 * then for each of three rounds R (0, 1, 2: nonces 0, 1, 2)
 * transport1.R (initiator to responder), transport1_plaintext.R,
 * transport2.R (responder to initiator), transport2_plaintext.R.
 *
 * With --role initiator or responder it plays one side and reads the other
 * side's messages from stdin as "message1 HEX", "message2 HEX",
 * "transport1.R HEX", "transport2.R HEX" lines, in protocol order, printing
 * (and flushing) its own as it goes.  Any failure: a message on stderr
 * and exit status 1.
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "net-error.h"
#include "net/net-noise-private.h"

#define TRANSPORT_ROUNDS 3

typedef struct
{
  GBytes *init_static;
  GBytes *init_ephemeral;
  GBytes *resp_static;
  GBytes *resp_ephemeral;
  GBytes *prologue;
  GBytes *payload1;
  GBytes *payload2;
  GBytes *transport1;
  GBytes *transport2;
} Args;

static GBytes *
unhex (const char  *name,
       const char  *hex,
       GError     **error)
{
  gsize n = strlen (hex);
  g_autofree guint8 *out = NULL;

  if (n % 2 != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s: odd number of hex digits", name);
      return NULL;
    }
  out = g_malloc0 (n / 2 + 1);
  for (gsize i = 0; i < n / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "%s: not hex: %s", name, hex);
          return NULL;
        }
      out[i] = (guint8) (hi << 4 | lo);
    }
  return g_bytes_new_take (g_steal_pointer (&out), n / 2);
}

static void
print_hex (const char   *name,
           const guint8 *data,
           gsize         len)
{
  printf ("%s ", name);
  for (gsize i = 0; i < len; i++)
    printf ("%02x", data[i]);
  printf ("\n");
  fflush (stdout);
}

/* Reads the line "@name HEX" from stdin. */
static GBytes *
read_line (const char  *name,
           GError     **error)
{
  char line[2 * NET_NOISE_MAX_MESSAGE_LEN + 64];
  gsize name_len = strlen (name);

  if (fgets (line, sizeof line, stdin) == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "end of input, expected %s", name);
      return NULL;
    }
  g_strchomp (line);
  if (strncmp (line, name, name_len) != 0 || line[name_len] != ' ')
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "expected a %s line, got: %s", name, line);
      return NULL;
    }
  return unhex (name, line + name_len + 1, error);
}

static const guint8 *
data (GBytes *b,
      gsize  *len)
{
  return g_bytes_get_data (b, len);
}

static gboolean
check_key (const char  *name,
           GBytes      *key,
           GError     **error)
{
  if (key == NULL || g_bytes_get_size (key) != 32)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "--%s: 32 bytes of hex needed", name);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  NetNoiseHandshake  *hs;
  NetNoiseCipherState send;
  NetNoiseCipherState recv;
  guint8              hash[NET_NOISE_HASHLEN];
} Side;

static gboolean
side_write (Side         *side,
            const char   *name,
            GBytes       *payload,
            GBytes      **message,
            GError      **error)
{
  gsize payload_len, len = 0;
  const guint8 *p = data (payload, &payload_len);
  g_autofree guint8 *buf = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);

  if (!_net_noise_handshake_write_message (side->hs, p, payload_len, buf,
                                           NET_NOISE_MAX_MESSAGE_LEN, &len, error))
    return FALSE;
  print_hex (name, buf, len);
  *message = g_bytes_new (buf, len);
  return TRUE;
}

static gboolean
side_read (Side         *side,
           const char   *name,
           GBytes       *message,
           GError      **error)
{
  gsize len, plen = 0;
  const guint8 *m = data (message, &len);
  g_autofree guint8 *payload = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);

  if (!_net_noise_handshake_read_message (side->hs, m, len, payload,
                                          NET_NOISE_MAX_MESSAGE_LEN, &plen, error))
    return FALSE;
  print_hex (name, payload, plen);
  return TRUE;
}

static gboolean
side_send (Side        *side,
           const char  *name,
           GBytes      *plaintext,
           GBytes     **message,
           GError     **error)
{
  gsize len, clen = 0;
  const guint8 *p = data (plaintext, &len);
  g_autofree guint8 *buf = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);

  if (!_net_noise_cipher_encrypt (&side->send, NULL, 0, p, len, buf,
                                  NET_NOISE_MAX_MESSAGE_LEN, &clen, error))
    return FALSE;
  print_hex (name, buf, clen);
  *message = g_bytes_new (buf, clen);
  return TRUE;
}

static gboolean
side_receive (Side        *side,
              const char  *name,
              GBytes      *message,
              GError     **error)
{
  gsize len, plen = 0;
  const guint8 *m = data (message, &len);
  g_autofree guint8 *buf = g_malloc (NET_NOISE_MAX_MESSAGE_LEN);

  if (!_net_noise_cipher_decrypt (&side->recv, NULL, 0, m, len, buf,
                                  NET_NOISE_MAX_MESSAGE_LEN, &plen, error))
    return FALSE;
  print_hex (name, buf, plen);
  return TRUE;
}

static void
side_clear (Side *side)
{
  g_clear_pointer (&side->hs, _net_noise_handshake_free);
  _net_noise_cipher_clear (&side->send);
  _net_noise_cipher_clear (&side->recv);
}

static gboolean
run (const char  *role,
     Args        *a,
     GError     **error)
{
  gboolean both = g_str_equal (role, "both");
  gboolean initiator = both || g_str_equal (role, "initiator");
  gboolean responder = both || g_str_equal (role, "responder");
  Side ini = { 0 }, res = { 0 };
  guint8 resp_public[32];
  gsize prologue_len;
  const guint8 *prologue = data (a->prologue, &prologue_len);
  g_autoptr(GBytes) m1 = NULL;
  g_autoptr(GBytes) m2 = NULL;
  g_autoptr(GBytes) t1 = NULL;
  g_autoptr(GBytes) t2 = NULL;
  gboolean ok = FALSE;

  if (!initiator && !responder)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "--role: both, initiator or responder");
      return FALSE;
    }
  if (!check_key ("resp-static", a->resp_static, error))
    return FALSE;
  if (initiator && (!check_key ("init-static", a->init_static, error) ||
                    !check_key ("init-ephemeral", a->init_ephemeral, error)))
    return FALSE;
  if (responder && !check_key ("resp-ephemeral", a->resp_ephemeral, error))
    return FALSE;

  if (initiator)
    {
      _net_noise_public_key (data (a->resp_static, NULL), resp_public);
      ini.hs = _net_noise_handshake_new (NET_NOISE_ROLE_INITIATOR, prologue, prologue_len,
                                         data (a->init_static, NULL), resp_public);
      _net_noise_handshake_set_ephemeral_for_test (ini.hs, data (a->init_ephemeral, NULL));
    }
  if (responder)
    {
      res.hs = _net_noise_handshake_new (NET_NOISE_ROLE_RESPONDER, prologue, prologue_len,
                                         data (a->resp_static, NULL), NULL);
      _net_noise_handshake_set_ephemeral_for_test (res.hs, data (a->resp_ephemeral, NULL));
    }

  /* -> e, es, s, ss */
  if (initiator && !side_write (&ini, "message1", a->payload1, &m1, error))
    goto out;
  if (!initiator && (m1 = read_line ("message1", error)) == NULL)
    goto out;
  if (responder)
    {
      if (!side_read (&res, "payload1", m1, error))
        goto out;
      print_hex ("initiator_static", _net_noise_handshake_get_remote_static (res.hs), 32);
    }

  /* <- e, ee, se */
  if (responder && !side_write (&res, "message2", a->payload2, &m2, error))
    goto out;
  if (!responder && (m2 = read_line ("message2", error)) == NULL)
    goto out;
  if (initiator && !side_read (&ini, "payload2", m2, error))
    goto out;

  if (initiator)
    _net_noise_handshake_split (ini.hs, &ini.send, &ini.recv, ini.hash);
  if (responder)
    _net_noise_handshake_split (res.hs, &res.send, &res.recv, res.hash);
  if (both && memcmp (ini.hash, res.hash, sizeof ini.hash) != 0)
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_FAILED,
                           "the two sides' handshake hashes differ");
      goto out;
    }
  print_hex ("hash", initiator ? ini.hash : res.hash, NET_NOISE_HASHLEN);

  /* Transport: one message each way per round, initiator first; several
   * rounds so that n goes past 0. */
  for (guint round = 0; round < TRANSPORT_ROUNDS; round++)
    {
      g_autofree char *t1_name = g_strdup_printf ("transport1.%u", round);
      g_autofree char *t1_plain = g_strdup_printf ("transport1_plaintext.%u", round);
      g_autofree char *t2_name = g_strdup_printf ("transport2.%u", round);
      g_autofree char *t2_plain = g_strdup_printf ("transport2_plaintext.%u", round);

      g_clear_pointer (&t1, g_bytes_unref);
      g_clear_pointer (&t2, g_bytes_unref);

      if (initiator && !side_send (&ini, t1_name, a->transport1, &t1, error))
        goto out;
      if (!initiator && (t1 = read_line (t1_name, error)) == NULL)
        goto out;
      if (responder && !side_receive (&res, t1_plain, t1, error))
        goto out;

      if (responder && !side_send (&res, t2_name, a->transport2, &t2, error))
        goto out;
      if (!responder && (t2 = read_line (t2_name, error)) == NULL)
        goto out;
      if (initiator && !side_receive (&ini, t2_plain, t2, error))
        goto out;
    }

  ok = TRUE;

out:
  side_clear (&ini);
  side_clear (&res);
  return ok;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *role = NULL;
  g_autofree char *init_static = NULL, *init_ephemeral = NULL;
  g_autofree char *resp_static = NULL, *resp_ephemeral = NULL;
  g_autofree char *prologue = NULL, *payload1 = NULL, *payload2 = NULL;
  g_autofree char *transport1 = NULL, *transport2 = NULL;
  GOptionEntry entries[] = {
    { "role", 0, 0, G_OPTION_ARG_STRING, &role, "both, initiator or responder", "ROLE" },
    { "init-static", 0, 0, G_OPTION_ARG_STRING, &init_static, "initiator static secret", "HEX" },
    { "init-ephemeral", 0, 0, G_OPTION_ARG_STRING, &init_ephemeral, "initiator ephemeral secret", "HEX" },
    { "resp-static", 0, 0, G_OPTION_ARG_STRING, &resp_static, "responder static secret", "HEX" },
    { "resp-ephemeral", 0, 0, G_OPTION_ARG_STRING, &resp_ephemeral, "responder ephemeral secret", "HEX" },
    { "prologue", 0, 0, G_OPTION_ARG_STRING, &prologue, "prologue", "HEX" },
    { "payload1", 0, 0, G_OPTION_ARG_STRING, &payload1, "payload of message 1", "HEX" },
    { "payload2", 0, 0, G_OPTION_ARG_STRING, &payload2, "payload of message 2", "HEX" },
    { "transport1", 0, 0, G_OPTION_ARG_STRING, &transport1, "initiator-to-responder plaintext", "HEX" },
    { "transport2", 0, 0, G_OPTION_ARG_STRING, &transport2, "responder-to-initiator plaintext", "HEX" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- a Noise IK handshake with fixed keys");
  g_autoptr(GError) error = NULL;
  Args a = { 0 };
  struct { const char *name; char **hex; GBytes **out; } hexes[] = {
    { "init-static", &init_static, &a.init_static },
    { "init-ephemeral", &init_ephemeral, &a.init_ephemeral },
    { "resp-static", &resp_static, &a.resp_static },
    { "resp-ephemeral", &resp_ephemeral, &a.resp_ephemeral },
    { "prologue", &prologue, &a.prologue },
    { "payload1", &payload1, &a.payload1 },
    { "payload2", &payload2, &a.payload2 },
    { "transport1", &transport1, &a.transport1 },
    { "transport2", &transport2, &a.transport2 },
  };
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "noise-vectors: %s\n", error->message);
      return 2;
    }
  if (sodium_init () < 0)
    {
      fprintf (stderr, "noise-vectors: libsodium failed to initialise\n");
      return 2;
    }

  for (guint i = 0; i < G_N_ELEMENTS (hexes); i++)
    {
      *hexes[i].out = unhex (hexes[i].name, *hexes[i].hex ? *hexes[i].hex : "", &error);
      if (*hexes[i].out == NULL)
        {
          fprintf (stderr, "noise-vectors: %s\n", error->message);
          return 2;
        }
    }
  /* Keys that were not given stay empty and are refused where needed. */
  for (guint i = 0; i < 4; i++)
    if (*hexes[i].hex == NULL)
      g_clear_pointer (hexes[i].out, g_bytes_unref);

  ok = run (role ? role : "both", &a, &error);

  for (guint i = 0; i < G_N_ELEMENTS (hexes); i++)
    g_clear_pointer (hexes[i].out, g_bytes_unref);

  if (!ok)
    {
      fprintf (stderr, "noise-vectors: %s\n", error->message);
      return 1;
    }
  return 0;
}
