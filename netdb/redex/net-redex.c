/* net-redex.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "net-error.h"
#include "net-redex-private.h"
#include "net-redex-format-private.h"
#include "net-redex-io-private.h"

/**
 * SECTION:net-redex
 * @title: NetRedex
 * @short_description: a directory of append-only logs
 *
 * A #NetRedex manages the logs of one database directory, or logs held in
 * memory when it has no path.  net_redex_open_file() opens a named log.
 *
 * A directory has at most one writer: net_redex_new() takes an exclusive
 * lock on its `LOCK` file, and a second writer, in this process or
 * another, fails with %NET_ERROR_LOCKED.  Any number of processes may open
 * the directory with net_redex_new_read_only(): they follow the writer's
 * appends live and never modify a file.
 *
 * Directories are created 0700 and files 0600.
 */

/**
 * NetRedex:
 *
 * A directory of append-only logs, or a set of logs in memory.
 */

struct _NetRedex
{
  GObject      parent_instance;

  char        *path;
  char        *logs_dir;
  gboolean     read_only;
  int          lock_fd;
  gboolean     closed;

  GMutex       mutex;
  GHashTable  *files;     /* name → GWeakRef* to a NetRedexFile */
  GPtrArray   *mem_files; /* in memory: the logs themselves, kept alive */
};

G_DEFINE_FINAL_TYPE (NetRedex, net_redex, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_READ_ONLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
net_redex_finalize (GObject *object)
{
  NetRedex *self = (NetRedex *) object;

  /* Persistent logs keep us alive, so none is open here.  In-memory logs
   * stay usable through the handles their users hold. */
  if (self->path != NULL)
    net_redex_close (self, NULL);
  else if (self->lock_fd >= 0)
    net_io_close (self->lock_fd);

  g_clear_pointer (&self->mem_files, g_ptr_array_unref);
  g_clear_pointer (&self->files, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->logs_dir, g_free);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (net_redex_parent_class)->finalize (object);
}

static void
net_redex_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  NetRedex *self = NET_REDEX (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_redex_class_init (NetRedexClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = net_redex_finalize;
  object_class->get_property = net_redex_get_property;

  /**
   * NetRedex:path:
   *
   * The database directory, or %NULL for logs in memory.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedex:read-only:
   *
   * Whether the directory was opened read-only.
   */
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_redex_init (NetRedex *self)
{
  g_mutex_init (&self->mutex);
  self->lock_fd = -1;
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, weak_ref_free);
  self->mem_files = g_ptr_array_new_with_free_func (g_object_unref);
}

static gboolean
take_lock (NetRedex  *self,
           GError   **error)
{
  g_autofree char *lock_path = g_build_filename (self->path, "LOCK", NULL);
  g_autofree char *pid = NULL;
  int fd;

  fd = net_io_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot open %s: %s", lock_path, g_strerror (saved_errno));
      return FALSE;
    }

  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved_errno = errno;
      char buf[32] = { 0 };
      ssize_t n = pread (fd, buf, sizeof buf - 1, 0);

      net_io_close (fd);
      if (saved_errno == EWOULDBLOCK)
        {
          g_strstrip (buf);
          g_set_error (error, NET_ERROR, NET_ERROR_LOCKED,
                       "database %s is locked by another writer%s%s%s (%s); "
                       "open it read-only to follow it",
                       self->path,
                       n > 0 && buf[0] ? " (pid " : "", n > 0 && buf[0] ? buf : "", n > 0 && buf[0] ? ")" : "",
                       lock_path);
        }
      else
        g_set_error (error, NET_ERROR, NET_ERROR_IO,
                     "cannot lock %s: %s", lock_path, g_strerror (saved_errno));
      return FALSE;
    }

  /* The pid only helps the message above; the lock is the flock. */
  pid = g_strdup_printf ("%d\n", (int) getpid ());
  if (net_io_ftruncate (fd, 0) != 0 || net_io_pwrite (fd, pid, strlen (pid), 0) < 0)
    g_debug ("cannot record the pid in %s", lock_path);

  self->lock_fd = fd;
  return TRUE;
}

static NetRedex *
redex_new (const char  *path,
           gboolean     read_only,
           GError     **error)
{
  g_autoptr(NetRedex) self = g_object_new (NET_TYPE_REDEX, NULL);

  self->read_only = read_only;

  if (path == NULL)
    return g_steal_pointer (&self);

  if (*path == '\0')
    {
      g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "the database path is empty");
      return NULL;
    }

  self->path = g_canonicalize_filename (path, NULL);
  self->logs_dir = g_build_filename (self->path, "logs", NULL);

  if (read_only)
    {
      if (!g_file_test (self->path, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                       "database %s does not exist", self->path);
          return NULL;
        }
      return g_steal_pointer (&self);
    }

  /* Every directory entry on the way is durable before the first durable
   * append: a power cut must not lose the database's or logs/'s entry. */
  if (!_net_redex_ensure_dir_durable (self->path, error) ||
      !_net_redex_ensure_dir_durable (self->logs_dir, error))
    return NULL;

  if (!take_lock (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * net_redex_new:
 * @path: (nullable) (type filename): a database directory, created if
 *   needed, or %NULL for logs held in memory
 * @error: return location for a #GError, or %NULL
 *
 * Opens a directory of logs for writing, taking its write lock.
 *
 * Returns: (transfer full): a new #NetRedex, or %NULL with @error set
 *   (%NET_ERROR_LOCKED when another writer has the directory)
 */
NetRedex *
net_redex_new (const char  *path,
               GError     **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return redex_new (path, FALSE, error);
}

/**
 * net_redex_new_read_only:
 * @path: (type filename): an existing database directory
 * @error: return location for a #GError, or %NULL
 *
 * Opens a directory of logs without taking its lock, to read and follow
 * the logs another process writes. Nothing in the directory is modified.
 *
 * Returns: (transfer full): a new #NetRedex, or %NULL with @error set
 */
NetRedex *
net_redex_new_read_only (const char  *path,
                         GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return redex_new (path, TRUE, error);
}

/**
 * net_redex_get_path:
 * @self: a #NetRedex
 *
 * Gets the database directory.
 *
 * Returns: (nullable) (type filename): the directory, or %NULL in memory
 */
const char *
net_redex_get_path (NetRedex *self)
{
  g_return_val_if_fail (NET_IS_REDEX (self), NULL);

  return self->path;
}

/**
 * net_redex_get_read_only:
 * @self: a #NetRedex
 *
 * Gets whether the directory was opened read-only.
 *
 * Returns: %TRUE if read-only
 */
gboolean
net_redex_get_read_only (NetRedex *self)
{
  g_return_val_if_fail (NET_IS_REDEX (self), FALSE);

  return self->read_only;
}

gboolean
_net_redex_check_name (const char  *name,
                       GError     **error)
{
  gsize len = strlen (name);
  const char *seg = name;

  if (len == 0 || len > 255)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "invalid log name “%s”: it must be 1 to 255 bytes long", name);
      return FALSE;
    }

  for (const char *p = name; *p; p++)
    {
      char c = *p;

      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-' || c == '/'))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "invalid log name “%s”: only a-z, 0-9, '.', '_', '-' and '/' are allowed",
                       g_utf8_validate (name, -1, NULL) ? name : "(not UTF-8)");
          return FALSE;
        }
    }

  /* Each '/'-separated segment must be non-empty and not "." or "..". */
  for (const char *p = name;; p++)
    {
      if (*p == '/' || *p == '\0')
        {
          gsize seg_len = p - seg;

          if (seg_len == 0 ||
              (seg_len == 1 && seg[0] == '.') ||
              (seg_len == 2 && seg[0] == '.' && seg[1] == '.'))
            {
              g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                           "invalid log name “%s”: no empty, “.” or “..” segments, "
                           "and no leading or trailing '/'", name);
              return FALSE;
            }
          if (*p == '\0')
            break;
          seg = p + 1;
        }
    }

  return TRUE;
}

/**
 * net_redex_name_is_valid:
 * @name: a log name
 * @error: return location for a #GError, or %NULL
 *
 * Checks a log name: 1 to 255 bytes of `[a-z0-9._/-]`, with no empty,
 * `.` or `..` segments between slashes.
 *
 * Returns: %TRUE if valid; %FALSE with %NET_ERROR_INVALID_ARGUMENT
 */
gboolean
net_redex_name_is_valid (const char  *name,
                         GError     **error)
{
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _net_redex_check_name (name, error);
}

/**
 * net_redex_open_file:
 * @self: a #NetRedex
 * @name: the name of the log
 * @config: (nullable): a #NetRedexConfig, or %NULL for the defaults
 * @error: return location for a #GError, or %NULL
 *
 * Opens (creating it when writable) the log called @name. Opening a name
 * that is already open returns the same #NetRedexFile, and @config is then
 * ignored. A persistent log keeps @self, and so the directory lock, alive;
 * an in-memory log lives as long as @self or a reference to it.
 *
 * Returns: (transfer full): the log, or %NULL with @error set
 */
NetRedexFile *
net_redex_open_file (NetRedex        *self,
                     const char      *name,
                     NetRedexConfig  *config,
                     GError         **error)
{
  g_autofree char *dir = NULL;
  NetRedexFile *file;
  GWeakRef *ref;

  g_return_val_if_fail (NET_IS_REDEX (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (config == NULL || NET_IS_REDEX_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_net_redex_check_name (name, error))
    return NULL;

  g_mutex_lock (&self->mutex);

  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED,
                   "database %s is closed", self->path ? self->path : "(in memory)");
      return NULL;
    }

  ref = g_hash_table_lookup (self->files, name);
  if (ref != NULL)
    {
      file = g_weak_ref_get (ref);
      if (file != NULL && !_net_redex_file_is_closed (file))
        {
          g_mutex_unlock (&self->mutex);
          return file;
        }
      if (file != NULL)
        g_ptr_array_remove (self->mem_files, file);
      g_clear_object (&file);
    }

  if (self->path != NULL)
    {
      g_autofree char *escaped = net_redex_name_to_dir_name (name);

      dir = g_build_filename (self->logs_dir, escaped, NULL);
    }

  file = _net_redex_file_new (self, name, dir, self->path != NULL, self->read_only, config, error);
  if (file != NULL)
    {
      ref = g_new0 (GWeakRef, 1);
      g_weak_ref_init (ref, file);
      g_hash_table_replace (self->files, g_strdup (name), ref);

      /* An in-memory log lives as long as the NetRedex (or a handle). */
      if (self->path == NULL)
        g_ptr_array_add (self->mem_files, g_object_ref (file));
    }

  g_mutex_unlock (&self->mutex);

  return file;
}

void
_net_redex_forget_file (NetRedex     *self,
                        NetRedexFile *file)
{
  const char *name = net_redex_file_get_name (file);
  GWeakRef *ref;

  g_mutex_lock (&self->mutex);
  ref = g_hash_table_lookup (self->files, name);
  if (ref != NULL)
    {
      NetRedexFile *current = g_weak_ref_get (ref);

      /* A disposing file is already invisible to g_weak_ref_get(). */
      if (current == NULL)
        g_hash_table_remove (self->files, name);
      g_clear_object (&current);
    }
  g_mutex_unlock (&self->mutex);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/**
 * net_redex_list_files:
 * @self: a #NetRedex
 * @error: return location for a #GError, or %NULL
 *
 * Lists the logs stored in the directory (for an in-memory #NetRedex, the
 * logs currently open), sorted by name.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, or %NULL
 *   with @error set
 */
char **
net_redex_list_files (NetRedex  *self,
                      GError   **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (NET_IS_REDEX (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (self->path == NULL)
    {
      GHashTableIter iter;
      gpointer key, value;

      g_mutex_lock (&self->mutex);
      g_hash_table_iter_init (&iter, self->files);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          g_autoptr(NetRedexFile) file = g_weak_ref_get (value);

          if (file != NULL && !_net_redex_file_is_closed (file))
            g_ptr_array_add (names, g_strdup (key));
        }
      g_mutex_unlock (&self->mutex);
    }
  else if (g_file_test (self->logs_dir, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = NULL;
      const char *entry;

      dir = g_dir_open (self->logs_dir, 0, error);
      if (dir == NULL)
        {
          if (error && *error)
            {
              (*error)->domain = NET_ERROR;
              (*error)->code = NET_ERROR_IO;
            }
          return NULL;
        }

      while ((entry = g_dir_read_name (dir)))
        {
          g_autofree char *meta_path = g_build_filename (self->logs_dir, entry, "META", NULL);
          g_autofree char *contents = NULL;
          NetRedexMeta meta = { 0 };
          gsize len;

          if (g_file_get_contents (meta_path, &contents, &len, NULL) &&
              net_redex_meta_decode ((const guint8 *) contents, len, &meta))
            g_ptr_array_add (names, meta.name);
        }
    }

  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static GPtrArray *
open_files (NetRedex *self)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_mutex_lock (&self->mutex);
  g_hash_table_iter_init (&iter, self->files);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      NetRedexFile *file = g_weak_ref_get (value);

      if (file != NULL)
        g_ptr_array_add (files, file);
    }
  g_mutex_unlock (&self->mutex);

  return files;
}

/**
 * net_redex_sync:
 * @self: a #NetRedex
 * @error: return location for a #GError, or %NULL
 *
 * Makes every appended event of every open log durable.
 *
 * Returns: %TRUE on success
 */
gboolean
net_redex_sync (NetRedex  *self,
                GError   **error)
{
  g_autoptr(GPtrArray) files = NULL;

  g_return_val_if_fail (NET_IS_REDEX (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  files = open_files (self);
  for (guint i = 0; i < files->len; i++)
    {
      NetRedexFile *file = g_ptr_array_index (files, i);

      if (!_net_redex_file_is_closed (file) && !net_redex_file_sync (file, error))
        return FALSE;
    }

  return TRUE;
}

/**
 * net_redex_close:
 * @self: a #NetRedex
 * @error: return location for a #GError, or %NULL
 *
 * Closes every open log (making it durable) and releases the directory
 * lock. Closing twice is harmless.
 *
 * Returns: %TRUE on success
 */
gboolean
net_redex_close (NetRedex  *self,
                 GError   **error)
{
  g_autoptr(GPtrArray) files = NULL;
  gboolean ok = TRUE;

  g_return_val_if_fail (NET_IS_REDEX (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      return TRUE;
    }
  self->closed = TRUE;
  g_mutex_unlock (&self->mutex);

  files = open_files (self);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (!net_redex_file_close (g_ptr_array_index (files, i), &local_error) && ok)
        {
          ok = FALSE;
          g_propagate_error (error, g_steal_pointer (&local_error));
        }
    }

  if (self->lock_fd >= 0)
    {
      net_io_close (self->lock_fd);
      self->lock_fd = -1;
    }

  return ok;
}
