/* net-identity.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <sodium.h>

#include "net-error.h"
#include "net-identity-private.h"
#include "net-redex-io-private.h"

/**
 * SECTION:net-identity
 * @title: NetIdentity
 * @short_description: the Ed25519 keypair of a node
 *
 * A #NetIdentity is the long-term keypair of one netdb node: an Ed25519
 * keypair made by libsodium.  Its public key, as text, is what peers put in
 * their allow-lists; the static X25519 key of the encrypted transport's
 * handshake is converted from it, so the handshake authenticates exactly
 * this key.  The node's origin, the 64-bit number written into the events
 * it creates, is derived from the public key too (see
 * net_identity_get_origin()).
 *
 * net_identity_save() writes the secret key to a file that only its owner
 * can read (mode 0600), and net_identity_load() refuses a key file that
 * anybody else can read or write.  Secret key material is kept in memory
 * allocated with sodium_malloc() (guarded, and locked out of swap where the
 * system allows it) and wiped when the identity is finalized.
 *
 * Public keys as text are the standard base64 alphabet (RFC 4648 §4, with
 * `+`, `/` and `=` padding) of the 32 key bytes: 44 characters, no line
 * breaks.  net_identity_public_key_from_string() also accepts 64 hex
 * digits.
 *
 * A #NetIdentity never changes after it is made, and may be used from any
 * thread.
 */

/**
 * NetIdentity:
 *
 * The Ed25519 keypair of a node.
 */

/* The key file, version 1, is three lines of ASCII, each ending in "\n":
 *
 *   netdb-identity 1
 *   seed <base64 of the 32-byte Ed25519 seed>
 *   public <base64 of the 32-byte Ed25519 public key>
 *
 * base64 is the standard alphabet with padding (44 characters each).  The
 * seed is the secret: libsodium's crypto_sign_seed_keypair() turns it into
 * the keypair.  The public key is redundant and checked on load, so a
 * damaged seed is reported instead of silently becoming another identity.
 * Any other content, including extra whitespace, is refused. */
#define KEY_FILE_MAGIC   "netdb-identity "
#define KEY_FILE_VERSION 1
#define KEY_FILE_SEED    "seed "
#define KEY_FILE_PUBLIC  "public "

/* A version 1 file is 119 bytes; anything much larger is not a key file,
 * and is not read into memory. */
#define KEY_FILE_MAX_SIZE 4096

#define B64_LEN 44   /* base64 of 32 bytes, with padding */
#define B64_BUF (B64_LEN + 1)
#define HEX_LEN 64

G_STATIC_ASSERT (sodium_base64_ENCODED_LEN (32, sodium_base64_VARIANT_ORIGINAL) == B64_BUF);
G_STATIC_ASSERT (crypto_sign_PUBLICKEYBYTES == NET_IDENTITY_PUBLIC_KEY_SIZE);
G_STATIC_ASSERT (crypto_sign_SEEDBYTES == NET_IDENTITY_SEED_SIZE);
G_STATIC_ASSERT (crypto_scalarmult_curve25519_BYTES == NET_IDENTITY_X25519_SIZE);

/* The origin is BLAKE2b-128 of the public key, keyed with these 16 ASCII
 * bytes (no terminating NUL), read as the little-endian u64 of its first 8
 * bytes, with 0 (which means "no origin") replaced by 1.  Changing the key
 * changes every node's origin: it is part of the format. */
#define ORIGIN_KEY     "netdb-origin-key"
#define ORIGIN_KEY_LEN 16
#define ORIGIN_HASH_LEN 16

G_STATIC_ASSERT (sizeof ORIGIN_KEY - 1 == ORIGIN_KEY_LEN);
G_STATIC_ASSERT (ORIGIN_KEY_LEN >= crypto_generichash_KEYBYTES_MIN);
G_STATIC_ASSERT (ORIGIN_HASH_LEN >= crypto_generichash_BYTES_MIN);

/* Everything secret, in one sodium_malloc() block, read-only except while
 * it is being filled. */
typedef struct
{
  guint8 ed25519_secret[crypto_sign_SECRETKEYBYTES];   /* seed || public */
  guint8 x25519_secret[crypto_scalarmult_curve25519_BYTES];
} Secrets;

struct _NetIdentity
{
  GObject  parent_instance;

  Secrets *secrets;
  guint8   ed25519_public[crypto_sign_PUBLICKEYBYTES];
  guint8   x25519_public[crypto_scalarmult_curve25519_BYTES];
  char    *public_key_text;
  guint64  origin;
};

G_DEFINE_FINAL_TYPE (NetIdentity, net_identity, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PUBLIC_KEY,
  PROP_ORIGIN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
_net_identity_init_sodium (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      if (sodium_init () < 0)
        g_error ("libsodium failed to initialise (sodium_init); netdb cannot "
                 "make or use keys without it");
      g_once_init_leave (&initialized, 1);
    }
}

static char *
public_to_base64 (const guint8 *public_key)
{
  char *text = g_malloc (B64_BUF);

  sodium_bin2base64 (text, B64_BUF, public_key, crypto_sign_PUBLICKEYBYTES,
                     sodium_base64_VARIANT_ORIGINAL);
  return text;
}

guint64
_net_identity_origin_for_public (const guint8 *ed25519_public)
{
  guint8 hash[ORIGIN_HASH_LEN];
  guint64 origin = 0;

  g_assert (ed25519_public != NULL);

  crypto_generichash (hash, sizeof hash,
                      ed25519_public, crypto_sign_PUBLICKEYBYTES,
                      (const guint8 *) ORIGIN_KEY, ORIGIN_KEY_LEN);
  for (guint i = 0; i < 8; i++)
    origin |= (guint64) hash[i] << (8 * i);

  return origin != 0 ? origin : 1;
}

gboolean
_net_identity_ed25519_to_x25519_public (const guint8 *ed25519_public,
                                        guint8       *x25519_public)
{
  g_assert (ed25519_public != NULL);
  g_assert (x25519_public != NULL);

  _net_identity_init_sodium ();
  return crypto_sign_ed25519_pk_to_curve25519 (x25519_public, ed25519_public) == 0;
}

/* Replaces the keys of @self by those derived from @seed.  Only while
 * @self is being made: an identity never changes afterwards. */
static void
net_identity_set_seed (NetIdentity  *self,
                       const guint8 *seed)
{
  sodium_mprotect_readwrite (self->secrets);

  crypto_sign_seed_keypair (self->ed25519_public,
                            self->secrets->ed25519_secret, seed);
  crypto_sign_ed25519_sk_to_curve25519 (self->secrets->x25519_secret,
                                        self->secrets->ed25519_secret);

  sodium_mprotect_readonly (self->secrets);

  /* Our own key was just made by libsodium: it always converts. */
  if (!_net_identity_ed25519_to_x25519_public (self->ed25519_public,
                                               self->x25519_public))
    g_assert_not_reached ();

  g_free (self->public_key_text);
  self->public_key_text = public_to_base64 (self->ed25519_public);
  self->origin = _net_identity_origin_for_public (self->ed25519_public);
}

static void
net_identity_finalize (GObject *object)
{
  NetIdentity *self = (NetIdentity *) object;

  sodium_mprotect_readwrite (self->secrets);
  sodium_memzero (self->secrets, sizeof *self->secrets);
  g_clear_pointer (&self->secrets, sodium_free);
  g_clear_pointer (&self->public_key_text, g_free);

  G_OBJECT_CLASS (net_identity_parent_class)->finalize (object);
}

static void
net_identity_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  NetIdentity *self = NET_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_PUBLIC_KEY:
      g_value_set_string (value, net_identity_get_public_key (self));
      break;

    case PROP_ORIGIN:
      g_value_set_uint64 (value, net_identity_get_origin (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_identity_class_init (NetIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  _net_identity_init_sodium ();

  object_class->finalize = net_identity_finalize;
  object_class->get_property = net_identity_get_property;

  /**
   * NetIdentity:public-key:
   *
   * The Ed25519 public key as text: 44 characters of standard base64.
   */
  properties[PROP_PUBLIC_KEY] =
    g_param_spec_string ("public-key", NULL, NULL,
                         NULL,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  /**
   * NetIdentity:origin:
   *
   * The origin derived from the public key; never 0.
   */
  properties[PROP_ORIGIN] =
    g_param_spec_uint64 ("origin", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         (G_PARAM_READABLE |
                          G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

/* A new keypair from a fresh random seed, so that g_object_new() alone also
 * makes a usable identity. */
static void
net_identity_init (NetIdentity *self)
{
  guint8 *seed = sodium_malloc (crypto_sign_SEEDBYTES);

  self->secrets = sodium_malloc (sizeof *self->secrets);
  if (self->secrets == NULL || seed == NULL)
    g_error ("sodium_malloc failed: out of memory for secret keys");

  randombytes_buf (seed, crypto_sign_SEEDBYTES);
  net_identity_set_seed (self, seed);
  sodium_free (seed);   /* wipes it */
}

NetIdentity *
_net_identity_new_from_seed (const guint8 *seed)
{
  NetIdentity *self;

  g_assert (seed != NULL);

  self = g_object_new (NET_TYPE_IDENTITY, NULL);
  net_identity_set_seed (self, seed);
  return self;
}

const guint8 *
_net_identity_get_ed25519_public (NetIdentity *self)
{
  g_assert (NET_IS_IDENTITY (self));

  return self->ed25519_public;
}

const guint8 *
_net_identity_get_x25519_public (NetIdentity *self)
{
  g_assert (NET_IS_IDENTITY (self));

  return self->x25519_public;
}

const guint8 *
_net_identity_get_x25519_secret (NetIdentity *self)
{
  g_assert (NET_IS_IDENTITY (self));

  return self->secrets->x25519_secret;
}

/**
 * net_identity_generate:
 *
 * Makes a new identity with a fresh random Ed25519 keypair.
 *
 * Returns: (transfer full): the new identity
 */
NetIdentity *
net_identity_generate (void)
{
  return g_object_new (NET_TYPE_IDENTITY, NULL);
}

/**
 * net_identity_get_public_key:
 * @self: a #NetIdentity
 *
 * Gets the public key as text, for allow-lists and the command line: the
 * standard base64 of the 32 key bytes (44 characters, with `=` padding and
 * no line break).  net_identity_public_key_from_string() reads it back.
 *
 * Returns: (transfer none): the public key, valid as long as @self
 */
const char *
net_identity_get_public_key (NetIdentity *self)
{
  g_return_val_if_fail (NET_IS_IDENTITY (self), NULL);

  return self->public_key_text;
}

/**
 * net_identity_get_origin:
 * @self: a #NetIdentity
 *
 * Gets the origin of this node: the number that identifies the events it
 * creates.  It is the keyed BLAKE2b hash (16-byte output, keyed with the
 * 16 ASCII bytes `netdb-origin-key`) of the 32-byte public key, read as a
 * little-endian 64-bit number from its first 8 bytes, and is never 0 (a
 * hash of 0 becomes 1).  The same key gives the same origin on every
 * machine and in every release.
 *
 * Returns: the origin, never 0
 */
guint64
net_identity_get_origin (NetIdentity *self)
{
  g_return_val_if_fail (NET_IS_IDENTITY (self), 0);

  return self->origin;
}

/* Writes all of @len bytes, retrying short writes and EINTR. */
static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= n;
    }
  return TRUE;
}

static gboolean
sync_dir (const char  *dir,
          GError     **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot open directory %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  /* Some file systems cannot sync a directory (EINVAL): nothing to do. */
  if (fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;

      close (fd);
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot sync directory %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  close (fd);
  return TRUE;
}

static gboolean
set_exists_error (GError     **error,
                  const char  *path)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
               "%s already exists; an identity file is never overwritten "
               "(remove it first if it really should be replaced)", path);
  return FALSE;
}

/* Moves the complete temporary file @tmp to @path unless @path exists.
 * link() fails atomically if it does; file systems without hard links fall
 * back to a check and a rename(), which a concurrent writer could race. */
static gboolean
publish_no_replace (const char  *tmp,
                    const char  *path,
                    GError     **error)
{
  GStatBuf st;
  int saved_errno;

  if (link (tmp, path) == 0)
    {
      g_unlink (tmp);
      return TRUE;
    }

  saved_errno = errno;
  if (saved_errno == EEXIST)
    return set_exists_error (error, path);

  if (saved_errno != EPERM && saved_errno != ENOTSUP &&
      saved_errno != EOPNOTSUPP && saved_errno != EMLINK)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot create %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  if (g_lstat (path, &st) == 0)
    return set_exists_error (error, path);

  if (g_rename (tmp, path) != 0)
    {
      saved_errno = errno;
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot rename %s to %s: %s", tmp, path, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/**
 * net_identity_save:
 * @self: a #NetIdentity
 * @path: (type filename): where to write the key file
 * @error: return location for a #GError
 *
 * Writes the secret key of @self to a new file at @path, readable and
 * writable only by its owner (mode 0600), atomically: a crash leaves
 * either no file at @path or the complete one, never a partial key.  The
 * file and its directory are synced before this returns.
 *
 * An existing file is never replaced: if @path exists, this fails with
 * %G_IO_ERROR_EXISTS.  Other failures are %NET_ERROR_IO.
 *
 * Returns: %TRUE if the key was saved
 */
gboolean
net_identity_save (NetIdentity  *self,
                   const char   *path,
                   GError      **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *tmp = NULL;
  char *contents;
  gsize len;
  GStatBuf st;
  gboolean ok;
  int fd;
  int saved_errno;

  g_return_val_if_fail (NET_IS_IDENTITY (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Fail before writing anything; publish_no_replace() checks again. */
  if (g_lstat (path, &st) == 0)
    return set_exists_error (error, path);

  dir = g_path_get_dirname (path);
  tmp = g_strconcat (path, ".XXXXXX", NULL);

  /* g_mkstemp_full() opens with O_CREAT | O_EXCL and the given mode. */
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot create a temporary file next to %s: %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  /* The file holds the seed in clear: build it in guarded memory. */
  contents = sodium_malloc (KEY_FILE_MAX_SIZE);
  if (contents == NULL)
    g_error ("sodium_malloc failed: out of memory for secret keys");

  {
    char seed_text[B64_BUF];

    sodium_bin2base64 (seed_text, sizeof seed_text,
                       self->secrets->ed25519_secret, crypto_sign_SEEDBYTES,
                       sodium_base64_VARIANT_ORIGINAL);
    len = g_snprintf (contents, KEY_FILE_MAX_SIZE,
                      KEY_FILE_MAGIC "%d\n"
                      KEY_FILE_SEED "%s\n"
                      KEY_FILE_PUBLIC "%s\n",
                      KEY_FILE_VERSION, seed_text, self->public_key_text);
    sodium_memzero (seed_text, sizeof seed_text);
  }

  /* fchmod: a umask such as 0277 would otherwise leave it 0400, and a
   * consistent mode is easier to audit. */
  ok = fchmod (fd, 0600) == 0 &&
       write_all (fd, (const guint8 *) contents, len) &&
       fsync (fd) == 0;
  saved_errno = errno;
  sodium_free (contents);   /* wipes it */

  if (!ok)
    {
      close (fd);
      g_unlink (tmp);
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot write %s: %s", tmp, g_strerror (saved_errno));
      return FALSE;
    }

  if (close (fd) != 0)
    {
      saved_errno = errno;
      g_unlink (tmp);
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot write %s: %s", tmp, g_strerror (saved_errno));
      return FALSE;
    }

  if (!publish_no_replace (tmp, path, error))
    {
      g_unlink (tmp);
      return FALSE;
    }

  /* The key file's entry, and its folder's (often just created), must
   * survive a power cut. */
  return sync_dir (dir, error) && _net_fsync_parent_dir (dir, error);
}

/* Decodes exactly B64_LEN characters of standard base64 at @text into 32
 * bytes.  libsodium's decoder runs in constant time, which matters for the
 * seed, and refuses non-canonical padding bits; but it takes some bytes
 * above 0x7f for base64 characters, so those are refused first (without a
 * branch per byte, for the same reason). */
static gboolean
decode_base64_32 (const char *text,
                  guint8     *out)
{
  const char *end = NULL;
  size_t out_len = 0;
  guint8 high_bits = 0;

  for (guint i = 0; i < B64_LEN; i++)
    high_bits |= (guint8) text[i];
  if (high_bits & 0x80)
    return FALSE;

  return sodium_base642bin (out, 32, text, B64_LEN, NULL, &out_len, &end,
                            sodium_base64_VARIANT_ORIGINAL) == 0 &&
         out_len == 32 &&
         end == text + B64_LEN;
}

/* If @p starts with @prefix, followed by B64_LEN characters and "\n",
 * returns the start of those characters and moves @p past the line. */
static const char *
take_base64_line (const char **p,
                  const char  *end,
                  const char  *prefix)
{
  gsize prefix_len = strlen (prefix);
  const char *value;

  if ((gsize) (end - *p) < prefix_len + B64_LEN + 1 ||
      memcmp (*p, prefix, prefix_len) != 0 ||
      (*p)[prefix_len + B64_LEN] != '\n')
    return NULL;

  value = *p + prefix_len;
  *p = value + B64_LEN + 1;
  return value;
}

/* Parses a key file of @len bytes at @data into @seed. */
static gboolean
parse_key_file (const char  *path,
                const char  *data,
                gsize        len,
                guint8      *seed,
                GError     **error)
{
  const char *p = data;
  const char *end = data + len;
  const char *seed_text;
  const char *public_text;
  guint8 public_key[crypto_sign_PUBLICKEYBYTES];
  guint8 derived_public[crypto_sign_PUBLICKEYBYTES];
  guint8 *scratch_secret;
  guint64 version = 0;
  const char *nl;

  if (len < strlen (KEY_FILE_MAGIC) ||
      memcmp (data, KEY_FILE_MAGIC, strlen (KEY_FILE_MAGIC)) != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s is not a netdb identity file (it does not start with "
                   "“netdb-identity”)", path);
      return FALSE;
    }
  p += strlen (KEY_FILE_MAGIC);

  nl = memchr (p, '\n', end - p);
  if (nl == NULL || nl == p || nl - p > 9)
    goto malformed;
  for (const char *c = p; c < nl; c++)
    {
      if (!g_ascii_isdigit (*c))
        goto malformed;
      version = version * 10 + (*c - '0');
    }
  if (version != KEY_FILE_VERSION)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s: identity file version %" G_GUINT64_FORMAT " is not "
                   "supported by this netdb (it reads version %d)",
                   path, version, KEY_FILE_VERSION);
      return FALSE;
    }
  p = nl + 1;

  seed_text = take_base64_line (&p, end, KEY_FILE_SEED);
  if (seed_text == NULL)
    goto malformed;
  public_text = take_base64_line (&p, end, KEY_FILE_PUBLIC);
  if (public_text == NULL || p != end)
    goto malformed;

  if (!decode_base64_32 (seed_text, seed) ||
      !decode_base64_32 (public_text, public_key))
    goto malformed;

  scratch_secret = sodium_malloc (crypto_sign_SECRETKEYBYTES);
  if (scratch_secret == NULL)
    g_error ("sodium_malloc failed: out of memory for secret keys");
  crypto_sign_seed_keypair (derived_public, scratch_secret, seed);
  sodium_free (scratch_secret);

  if (memcmp (derived_public, public_key, sizeof public_key) != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s: the public key does not match the secret key; the "
                   "identity file is damaged", path);
      return FALSE;
    }

  return TRUE;

malformed:
  g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
               "%s: malformed identity file (expected the lines "
               "“netdb-identity 1”, “seed <base64>” and “public <base64>”)",
               path);
  return FALSE;
}

/**
 * net_identity_load:
 * @path: (type filename): the key file, as written by net_identity_save()
 * @error: return location for a #GError
 *
 * Reads an identity from a key file.
 *
 * A key file that its group or other users may read or write (any mode
 * bit in 077) is refused with %NET_ERROR_INVALID_ARGUMENT, as is anything
 * but a regular file: `chmod 600` it, and consider the key compromised if
 * others could read it.  A missing file is %NET_ERROR_NOT_FOUND, a file
 * that is not a valid key file (wrong format, version or length, or a
 * public key that does not match the secret) %NET_ERROR_CORRUPT, and a
 * failure to read %NET_ERROR_IO.
 *
 * Returns: (transfer full): the identity, or %NULL with @error set
 */
NetIdentity *
net_identity_load (const char  *path,
                   GError     **error)
{
  struct stat st;
  char *data = NULL;
  guint8 *seed = NULL;
  gsize len = 0;
  int fd;
  NetIdentity *self = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  _net_identity_init_sodium ();

  /* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      if (saved_errno == ENOENT)
        g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                     "no identity file at %s", path);
      else
        g_set_error (error, NET_ERROR, NET_ERROR_IO,
                     "cannot open %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  /* fstat() of the open file, so the checked file is the one read. */
  if (fstat (fd, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot stat %s: %s", path, g_strerror (saved_errno));
      goto out;
    }

  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s is not a regular file", path);
      goto out;
    }

  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s has mode %04o: an identity key file must not be "
                   "readable or writable by group or others; run "
                   "`chmod 600 %s` (and consider the key exposed if others "
                   "could read it)",
                   path, (unsigned) (st.st_mode & 07777), path);
      goto out;
    }

  if (st.st_size > KEY_FILE_MAX_SIZE)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s is not a netdb identity file (%" G_GINT64_FORMAT
                   " bytes is too large)", path, (gint64) st.st_size);
      goto out;
    }

  /* The file holds the seed in clear: read it into guarded memory.  One
   * byte more than the limit shows a file that grew since fstat(). */
  data = sodium_malloc (KEY_FILE_MAX_SIZE + 1);
  seed = sodium_malloc (crypto_sign_SEEDBYTES);
  if (data == NULL || seed == NULL)
    g_error ("sodium_malloc failed: out of memory for secret keys");

  while (len <= KEY_FILE_MAX_SIZE)
    {
      ssize_t n = read (fd, data + len, KEY_FILE_MAX_SIZE + 1 - len);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          g_set_error (error, NET_ERROR, NET_ERROR_IO,
                       "cannot read %s: %s", path, g_strerror (saved_errno));
          goto out;
        }
      if (n == 0)
        break;
      len += n;
    }

  if (len > KEY_FILE_MAX_SIZE)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s is not a netdb identity file (too large)", path);
      goto out;
    }

  if (!parse_key_file (path, data, len, seed, error))
    goto out;

  self = _net_identity_new_from_seed (seed);

out:
  close (fd);
  /* sodium_free() wipes. */
  g_clear_pointer (&data, sodium_free);
  g_clear_pointer (&seed, sodium_free);
  return self;
}

/* Copies @text into @out without surrounding ASCII whitespace; FALSE if
 * what is left does not fit. */
static gboolean
strip_into (const char *text,
            char       *out,
            gsize       out_size)
{
  const char *start = text;
  const char *stop;

  while (g_ascii_isspace (*start))
    start++;
  stop = start + strlen (start);
  while (stop > start && g_ascii_isspace (stop[-1]))
    stop--;

  if ((gsize) (stop - start) >= out_size)
    return FALSE;

  memcpy (out, start, stop - start);
  out[stop - start] = '\0';
  return TRUE;
}

/**
 * net_identity_public_key_from_string:
 * @text: a public key as text
 * @error: return location for a #GError
 *
 * Parses a public key as net_identity_get_public_key() prints it (44
 * characters of standard base64), or as 64 hex digits in either case.
 * Leading and trailing whitespace is ignored.  The key must also be a
 * usable Ed25519 public key: a point of the curve's prime-order subgroup,
 * which excludes the all-zero key and other weak keys.
 *
 * Anything else fails with %NET_ERROR_INVALID_ARGUMENT.
 *
 * Returns: (transfer full): the 32 bytes of the key, or %NULL with @error
 *   set
 */
GBytes *
net_identity_public_key_from_string (const char  *text,
                                     GError     **error)
{
  char stripped[HEX_LEN + 1];
  guint8 key[crypto_sign_PUBLICKEYBYTES];
  guint8 x25519[crypto_scalarmult_curve25519_BYTES];
  gsize len;
  gboolean decoded = FALSE;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  _net_identity_init_sodium ();

  if (strip_into (text, stripped, sizeof stripped))
    {
      len = strlen (stripped);

      if (len == B64_LEN)
        {
          decoded = decode_base64_32 (stripped, key);
        }
      else if (len == HEX_LEN)
        {
          const char *end = NULL;
          size_t key_len = 0;

          decoded = sodium_hex2bin (key, sizeof key, stripped, HEX_LEN,
                                    NULL, &key_len, &end) == 0 &&
                    key_len == sizeof key &&
                    end == stripped + HEX_LEN;
        }
    }

  if (!decoded)
    {
      /* Quote the text only when it is short, printable UTF-8. */
      if (strlen (text) <= 2 * HEX_LEN && g_utf8_validate (text, -1, NULL))
        {
          g_autofree char *escaped = g_strescape (text, NULL);

          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "“%s” is not a public key: expected 44 characters of "
                       "base64 or 64 hex digits", escaped);
        }
      else
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "not a public key: expected 44 characters of base64 "
                       "or 64 hex digits");
        }
      return NULL;
    }

  if (!_net_identity_ed25519_to_x25519_public (key, x25519))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a usable Ed25519 public key (not a point of "
                   "the prime-order subgroup)", stripped);
      return NULL;
    }

  return g_bytes_new (key, sizeof key);
}

/**
 * net_identity_public_key_to_string:
 * @public_key: the 32 bytes of a public key
 *
 * Formats a public key as net_identity_get_public_key() does: 44
 * characters of standard base64.  With net_identity_public_key_from_string()
 * this turns a key given in hex into the usual form.
 *
 * Returns: (transfer full): the public key as text
 */
char *
net_identity_public_key_to_string (GBytes *public_key)
{
  g_return_val_if_fail (public_key != NULL, NULL);
  g_return_val_if_fail (g_bytes_get_size (public_key) == crypto_sign_PUBLICKEYBYTES, NULL);

  return public_to_base64 (g_bytes_get_data (public_key, NULL));
}
