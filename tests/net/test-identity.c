/* test-identity.c: NetIdentity: keys, the key file, public keys as text,
 * origins and the X25519 conversion for the handshake
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "netdb.h"
#include "net-identity-private.h"

/* A fresh directory per test (under the isolated tmp dir). */
static char *
make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("identity-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
write_file (const char   *path,
            const guint8 *data,
            gsize         len,
            int           mode)
{
  g_autoptr(GError) error = NULL;

  g_unlink (path);
  g_file_set_contents_full (path, (const char *) data, len,
                            G_FILE_SET_CONTENTS_NONE, mode, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static guint
count_dir_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
fixed_seed (guint8 *seed)
{
  for (guint i = 0; i < NET_IDENTITY_SEED_SIZE; i++)
    seed[i] = i;
}

/* The key file of the identity with fixed_seed(), built independently from
 * the format described in net-identity.c. */
static char *
expected_key_file (void)
{
  guint8 seed[NET_IDENTITY_SEED_SIZE];
  guint8 pk[crypto_sign_PUBLICKEYBYTES];
  guint8 sk[crypto_sign_SECRETKEYBYTES];
  g_autofree char *seed_b64 = NULL;
  g_autofree char *pk_b64 = NULL;

  fixed_seed (seed);
  crypto_sign_seed_keypair (pk, sk, seed);
  seed_b64 = g_base64_encode (seed, sizeof seed);
  pk_b64 = g_base64_encode (pk, sizeof pk);

  return g_strdup_printf ("netdb-identity 1\nseed %s\npublic %s\n", seed_b64, pk_b64);
}

static void
test_generate (void)
{
  NetIdentity *a = net_identity_generate ();
  NetIdentity *b = net_identity_generate ();
  g_autofree char *prop_key = NULL;
  guint64 prop_origin = 0;
  g_autofree guchar *decoded = NULL;
  gsize decoded_len = 0;

  g_assert_true (NET_IS_IDENTITY (a));
  g_assert_cmpuint (strlen (net_identity_get_public_key (a)), ==, 44);
  g_assert_cmpstr (net_identity_get_public_key (a), !=, net_identity_get_public_key (b));
  g_assert_cmpuint (net_identity_get_origin (a), !=, 0);
  g_assert_cmpuint (net_identity_get_origin (a), !=, net_identity_get_origin (b));

  /* Standard base64 of the raw key. */
  decoded = g_base64_decode (net_identity_get_public_key (a), &decoded_len);
  g_assert_cmpmem (decoded, decoded_len, _net_identity_get_ed25519_public (a), 32);

  g_object_get (a, "public-key", &prop_key, "origin", &prop_origin, NULL);
  g_assert_cmpstr (prop_key, ==, net_identity_get_public_key (a));
  g_assert_cmpuint (prop_origin, ==, net_identity_get_origin (a));

  g_assert_finalize_object (a);
  g_assert_finalize_object (b);
}

static void
test_object_new (void)
{
  /* g_object_new() alone makes a usable, random identity. */
  NetIdentity *a = g_object_new (NET_TYPE_IDENTITY, NULL);
  NetIdentity *b = g_object_new (NET_TYPE_IDENTITY, NULL);

  g_assert_cmpuint (strlen (net_identity_get_public_key (a)), ==, 44);
  g_assert_cmpstr (net_identity_get_public_key (a), !=, net_identity_get_public_key (b));

  g_assert_finalize_object (a);
  g_assert_finalize_object (b);
}

static void
test_round_trip (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "node.key", NULL);
  g_autoptr(GError) error = NULL;
  NetIdentity *saved = net_identity_generate ();
  NetIdentity *loaded;
  GStatBuf st;

  g_assert_true (net_identity_save (saved, path, &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_true (S_ISREG (st.st_mode));
  /* The temporary file is gone. */
  g_assert_cmpuint (count_dir_entries (dir), ==, 1);

  loaded = net_identity_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  g_assert_cmpstr (net_identity_get_public_key (loaded), ==, net_identity_get_public_key (saved));
  g_assert_cmpuint (net_identity_get_origin (loaded), ==, net_identity_get_origin (saved));
  g_assert_cmpmem (_net_identity_get_x25519_secret (loaded), 32,
                   _net_identity_get_x25519_secret (saved), 32);
  g_assert_cmpmem (_net_identity_get_x25519_public (loaded), 32,
                   _net_identity_get_x25519_public (saved), 32);

  g_assert_finalize_object (saved);
  g_assert_finalize_object (loaded);
}

static void
test_save_mode_under_umask (void)
{
  const mode_t masks[] = { 0, 022, 077, 0277 };

  for (guint i = 0; i < G_N_ELEMENTS (masks); i++)
    {
      g_autofree char *dir = make_dir ();
      g_autofree char *path = g_build_filename (dir, "node.key", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(NetIdentity) id = net_identity_generate ();
      g_autoptr(NetIdentity) loaded = NULL;
      mode_t old = umask (masks[i]);
      GStatBuf st;
      gboolean ok;

      ok = net_identity_save (id, path, &error);
      umask (old);
      g_assert_no_error (error);
      g_assert_true (ok);

      g_assert_cmpint (g_stat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0600);

      loaded = net_identity_load (path, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (net_identity_get_public_key (loaded), ==, net_identity_get_public_key (id));
    }
}

static void
test_file_format (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "node.key", NULL);
  g_autofree char *expected = expected_key_file ();
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetIdentity) id = NULL;
  g_autoptr(NetIdentity) loaded = NULL;
  guint8 seed[NET_IDENTITY_SEED_SIZE];
  gsize len;

  fixed_seed (seed);
  id = _net_identity_new_from_seed (seed);

  g_assert_true (net_identity_save (id, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected);
  g_assert_cmpuint (len, ==, 119);

  /* A file written by hand in the documented format loads. */
  g_unlink (path);
  write_file (path, (const guint8 *) expected, strlen (expected), 0600);
  loaded = net_identity_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (net_identity_get_public_key (loaded), ==, net_identity_get_public_key (id));
}

static void
test_save_exists (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "node.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetIdentity) first = net_identity_generate ();
  g_autoptr(NetIdentity) second = net_identity_generate ();
  g_autoptr(NetIdentity) loaded = NULL;

  g_assert_true (net_identity_save (first, path, &error));
  g_assert_no_error (error);

  g_assert_false (net_identity_save (second, path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  /* The first key is intact, and nothing was left behind. */
  loaded = net_identity_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (net_identity_get_public_key (loaded), ==, net_identity_get_public_key (first));
  g_assert_cmpuint (count_dir_entries (dir), ==, 1);

  /* A dangling symlink is not followed or replaced either. */
  {
    g_autofree char *link_path = g_build_filename (dir, "link.key", NULL);
    g_autofree char *target = g_build_filename (dir, "nowhere", NULL);

    g_assert_cmpint (symlink (target, link_path), ==, 0);
    g_assert_false (net_identity_save (second, link_path, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
    g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  }
}

static void
test_save_no_dir (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "missing", "node.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetIdentity) id = net_identity_generate ();

  g_assert_false (net_identity_save (id, path, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "node.key"));
}

static void
test_load_permissions (void)
{
  const int refused[] = { 0644, 0640, 0604, 0660, 0606, 0610, 0601, 0620, 0602, 0666, 0777 };
  const int accepted[] = { 0600, 0400, 0700, 0200 };
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "node.key", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetIdentity) id = net_identity_generate ();

  g_assert_true (net_identity_save (id, path, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *mode_text = g_strdup_printf ("%04o", refused[i]);
      NetIdentity *loaded;

      g_assert_cmpint (g_chmod (path, refused[i]), ==, 0);
      loaded = net_identity_load (path, &error);
      g_assert_null (loaded);
      g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_test_message ("mode %s: %s", mode_text, error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, mode_text));
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_clear_error (&error);
    }

  /* Only the owner's bits: fine, whatever they are (root can read a 0200
   * file; others cannot, so only check the mode is not refused). */
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(NetIdentity) loaded = NULL;

      g_assert_cmpint (g_chmod (path, accepted[i]), ==, 0);
      loaded = net_identity_load (path, &error);
      if (loaded == NULL)
        {
          g_assert_error (error, NET_ERROR, NET_ERROR_IO);
          g_assert_cmpint (accepted[i] & 0400, ==, 0);
          g_clear_error (&error);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (net_identity_get_public_key (loaded), ==, net_identity_get_public_key (id));
    }
}

static void
test_load_missing (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "none.key", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (net_identity_load (path, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_load_not_regular (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *sub = g_build_filename (dir, "dir.key", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.key", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_assert_null (net_identity_load (sub, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* Refused without blocking on the open. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (net_identity_load (fifo, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
assert_load_fails (const char   *path,
                   const guint8 *data,
                   gsize         len)
{
  g_autoptr(GError) error = NULL;
  NetIdentity *loaded;

  write_file (path, data, len, 0600);
  loaded = net_identity_load (path, &error);
  g_assert_null (loaded);
  g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_load_garbage (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "node.key", NULL);
  g_autofree char *valid = expected_key_file ();
  gsize valid_len = strlen (valid);
  g_autofree guint8 *buf = g_malloc (valid_len + 512);
  g_autoptr(GError) error = NULL;
  g_autofree char *big = NULL;

  /* Every truncation of a valid file, the empty file included. */
  for (gsize len = 0; len < valid_len; len++)
    assert_load_fails (path, (const guint8 *) valid, len);

  /* Every single bit flipped: a damaged seed does not become another
   * identity (the public key line no longer matches), and non-canonical
   * base64 is refused. */
  for (gsize i = 0; i < valid_len; i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        memcpy (buf, valid, valid_len);
        buf[i] ^= 1u << bit;
        assert_load_fails (path, buf, valid_len);
      }

  /* Extra bytes after the last line, or a missing final newline. */
  memcpy (buf, valid, valid_len);
  buf[valid_len] = '\n';
  assert_load_fails (path, buf, valid_len + 1);
  memcpy (buf + valid_len, "seed x\n", 7);
  assert_load_fails (path, buf, valid_len + 7);
  assert_load_fails (path, (const guint8 *) valid, valid_len - 1);

  /* Another version. */
  memcpy (buf, valid, valid_len);
  buf[strlen ("netdb-identity ")] = '2';
  write_file (path, buf, valid_len, 0600);
  g_assert_null (net_identity_load (path, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "version 2"));
  g_clear_error (&error);

  /* Too large to be a key file: not read. */
  big = g_strnfill (100000, 'a');
  assert_load_fails (path, (const guint8 *) big, 100000);

  /* Random bytes of random lengths, and random bytes after a valid
   * prefix of random length. */
  for (guint round = 0; round < 2000; round++)
    {
      gsize len = g_test_rand_int_range (0, valid_len + 64);
      gsize keep = round % 2 ? g_test_rand_int_range (0, valid_len) : 0;

      keep = MIN (keep, len);
      memcpy (buf, valid, keep);
      for (gsize i = keep; i < len; i++)
        buf[i] = g_test_rand_int_range (0, 256);
      /* Skip the (practically impossible) exact copy of the valid file. */
      if (len == valid_len && memcmp (buf, valid, valid_len) == 0)
        continue;
      assert_load_fails (path, buf, len);
    }
}

static void
test_public_key_text (void)
{
  g_autoptr(NetIdentity) id = net_identity_generate ();
  const guint8 *raw = _net_identity_get_ed25519_public (id);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GBytes) from_hex = NULL;
  g_autoptr(GBytes) from_upper = NULL;
  g_autoptr(GBytes) from_spaced = NULL;
  g_autofree char *text = NULL;
  g_autofree char *spaced = NULL;
  char hex[65];

  key = net_identity_public_key_from_string (net_identity_get_public_key (id), &error);
  g_assert_no_error (error);
  g_assert_nonnull (key);
  g_assert_cmpmem (g_bytes_get_data (key, NULL), g_bytes_get_size (key), raw, 32);

  text = net_identity_public_key_to_string (key);
  g_assert_cmpstr (text, ==, net_identity_get_public_key (id));

  sodium_bin2hex (hex, sizeof hex, raw, 32);
  from_hex = net_identity_public_key_from_string (hex, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (from_hex, key));

  for (guint i = 0; hex[i]; i++)
    hex[i] = g_ascii_toupper (hex[i]);
  from_upper = net_identity_public_key_from_string (hex, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (from_upper, key));

  spaced = g_strdup_printf ("  %s\n", net_identity_get_public_key (id));
  from_spaced = net_identity_public_key_from_string (spaced, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (from_spaced, key));
}

static void
test_public_key_text_invalid (void)
{
  g_autoptr(NetIdentity) id = net_identity_generate ();
  const char *good = net_identity_get_public_key (id);
  g_autofree char *short_b64 = g_strndup (good, 43);
  g_autofree char *long_b64 = g_strconcat (good, "A", NULL);
  g_autofree char *bad_char = g_strdup (good);
  g_autofree char *inner_space = g_strdup (good);
  g_autofree char *zero_b64 = NULL;
  g_autofree char *long_text = g_strnfill (10000, 'A');
  guint8 zero[32] = { 0 };
  guint8 small_order[32] = { 0 };
  g_autofree char *small_order_b64 = NULL;
  char hex[65];
  const char *invalid[] = {
    "", "   ", "abc", "not a key",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",    /* 63 */
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",   /* g */
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",  /* 65 */
    "\xff\xfe\xfd",
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  };
  guint n = 8;

  bad_char[10] = '*';
  inner_space[20] = ' ';
  zero_b64 = g_base64_encode (zero, sizeof zero);
  /* y = 1: the identity point, of small order. */
  small_order[0] = 1;
  small_order_b64 = g_base64_encode (small_order, sizeof small_order);
  sodium_bin2hex (hex, sizeof hex, zero, sizeof zero);

  invalid[n++] = short_b64;
  invalid[n++] = long_b64;
  invalid[n++] = bad_char;
  invalid[n++] = inner_space;
  invalid[n++] = zero_b64;
  invalid[n++] = small_order_b64;
  invalid[n++] = hex;
  invalid[n++] = long_text;
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (invalid));

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) key = net_identity_public_key_from_string (invalid[i], &error);

      g_assert_null (key);
      g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_assert_cmpuint (strlen (error->message), <, 300);
    }

  /* Random text of key-like lengths never crashes, and anything accepted
   * is a key that converts for the handshake. */
  for (guint round = 0; round < 2000; round++)
    {
      static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n";
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) key = NULL;
      guint len = round % 2 ? 44 : 64;
      char text[80];

      for (guint i = 0; i < len; i++)
        text[i] = alphabet[g_test_rand_int_range (0, sizeof alphabet - 1)];
      text[len] = '\0';

      key = net_identity_public_key_from_string (text, &error);
      if (key == NULL)
        {
          g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
        }
      else
        {
          guint8 x[32];

          g_assert_no_error (error);
          g_assert_cmpuint (g_bytes_get_size (key), ==, 32);
          g_assert_true (_net_identity_ed25519_to_x25519_public (g_bytes_get_data (key, NULL), x));
        }
    }
}

static void
test_origin (void)
{
  guint8 seed[NET_IDENTITY_SEED_SIZE];
  g_autoptr(NetIdentity) a = NULL;
  g_autoptr(NetIdentity) a_again = NULL;
  guint8 hash[16];
  guint64 expected = 0;
  GHashTable *seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  fixed_seed (seed);
  a = _net_identity_new_from_seed (seed);
  a_again = _net_identity_new_from_seed (seed);
  g_assert_cmpuint (net_identity_get_origin (a), ==, net_identity_get_origin (a_again));
  g_assert_cmpstr (net_identity_get_public_key (a), ==, net_identity_get_public_key (a_again));

  /* Computed independently, as documented. */
  crypto_generichash (hash, sizeof hash, _net_identity_get_ed25519_public (a), 32,
                      (const guint8 *) "netdb-origin-key", 16);
  for (guint i = 0; i < 8; i++)
    expected |= (guint64) hash[i] << (8 * i);
  g_assert_cmpuint (expected, !=, 0);
  g_assert_cmpuint (net_identity_get_origin (a), ==, expected);
  g_assert_cmpuint (_net_identity_origin_for_public (_net_identity_get_ed25519_public (a)),
                    ==, expected);

  /* Different identities, different origins. */
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(NetIdentity) id = net_identity_generate ();
      guint64 origin = net_identity_get_origin (id);

      g_assert_cmpuint (origin, !=, 0);
      g_assert_false (g_hash_table_contains (seen, &origin));
      g_hash_table_add (seen, g_memdup2 (&origin, sizeof origin));
    }
  g_hash_table_unref (seen);
}

static void
test_x25519 (void)
{
  g_autoptr(NetIdentity) a = net_identity_generate ();
  g_autoptr(NetIdentity) b = net_identity_generate ();
  guint8 pk[32];
  guint8 sk[32];
  guint8 ab[32];
  guint8 ba[32];
  guint8 expected_sk[32];
  guint8 ed_sk[crypto_sign_SECRETKEYBYTES];
  guint8 ed_pk[32];
  guint8 seed[NET_IDENTITY_SEED_SIZE];
  g_autoptr(NetIdentity) fixed = NULL;

  /* The converted secret's public key is the converted public key. */
  g_assert_cmpint (crypto_scalarmult_base (pk, _net_identity_get_x25519_secret (a)), ==, 0);
  g_assert_cmpmem (pk, 32, _net_identity_get_x25519_public (a), 32);

  /* The public conversion matches libsodium's, also for a peer's key. */
  g_assert_cmpint (crypto_sign_ed25519_pk_to_curve25519 (pk, _net_identity_get_ed25519_public (b)), ==, 0);
  g_assert_cmpmem (pk, 32, _net_identity_get_x25519_public (b), 32);
  g_assert_true (_net_identity_ed25519_to_x25519_public (_net_identity_get_ed25519_public (b), sk));
  g_assert_cmpmem (sk, 32, pk, 32);

  /* Both sides of a DH agree. */
  g_assert_cmpint (crypto_scalarmult (ab, _net_identity_get_x25519_secret (a),
                                      _net_identity_get_x25519_public (b)), ==, 0);
  g_assert_cmpint (crypto_scalarmult (ba, _net_identity_get_x25519_secret (b),
                                      _net_identity_get_x25519_public (a)), ==, 0);
  g_assert_cmpmem (ab, 32, ba, 32);

  /* The secret conversion matches libsodium's from the same seed. */
  fixed_seed (seed);
  fixed = _net_identity_new_from_seed (seed);
  crypto_sign_seed_keypair (ed_pk, ed_sk, seed);
  crypto_sign_ed25519_sk_to_curve25519 (expected_sk, ed_sk);
  g_assert_cmpmem (_net_identity_get_x25519_secret (fixed), 32, expected_sk, 32);
  g_assert_cmpmem (_net_identity_get_ed25519_public (fixed), 32, ed_pk, 32);

  sodium_memzero (expected_sk, sizeof expected_sk);
  sodium_memzero (ed_sk, sizeof ed_sk);
}

static void
test_preconditions (void)
{
  if (g_test_subprocess ())
    {
      net_identity_get_public_key (NULL);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

static void
test_preconditions_to_string (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) bytes = g_bytes_new ("short", 5);

      net_identity_public_key_to_string (bytes);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/net/identity/generate", test_generate);
  g_test_add_func ("/net/identity/object-new", test_object_new);
  g_test_add_func ("/net/identity/save/round-trip", test_round_trip);
  g_test_add_func ("/net/identity/save/umask", test_save_mode_under_umask);
  g_test_add_func ("/net/identity/save/format", test_file_format);
  g_test_add_func ("/net/identity/save/exists", test_save_exists);
  g_test_add_func ("/net/identity/save/no-dir", test_save_no_dir);
  g_test_add_func ("/net/identity/load/permissions", test_load_permissions);
  g_test_add_func ("/net/identity/load/missing", test_load_missing);
  g_test_add_func ("/net/identity/load/not-regular", test_load_not_regular);
  g_test_add_func ("/net/identity/load/garbage", test_load_garbage);
  g_test_add_func ("/net/identity/public-key/text", test_public_key_text);
  g_test_add_func ("/net/identity/public-key/invalid", test_public_key_text_invalid);
  g_test_add_func ("/net/identity/origin", test_origin);
  g_test_add_func ("/net/identity/x25519", test_x25519);
  g_test_add_func ("/net/identity/preconditions/get-public-key", test_preconditions);
  g_test_add_func ("/net/identity/preconditions/to-string", test_preconditions_to_string);

  return g_test_run ();
}
