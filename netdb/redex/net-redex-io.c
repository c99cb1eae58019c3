/* net-redex-io.c: durable directory entries
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A new file or directory survives a power cut only once the directory
 * that holds its entry was fsynced; fsyncing the new directory itself is
 * not enough on a strict file system.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "net-error.h"
#include "net-redex-io-private.h"

#ifdef NET_REDEX_IO_SIM
static int
io_open_real (const char *path,
              int         flags,
              mode_t      mode)
{
  return open (path, flags, mode);
}

NetRedexIo _net_redex_io = {
  io_open_real, close, pwrite, pwritev, ftruncate, fdatasync, fsync, mkdir, rename, unlink, fallocate,
};
#endif

static gboolean
fsync_dir (const char  *dir,
           GError     **error)
{
  int fd = net_io_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  /* A parent we may not read (mode 0711) cannot be synced by us; that
   * must not keep the database from opening. */
  if (fd < 0 && (errno == EACCES || errno == EPERM))
    {
      g_debug ("cannot open %s to sync it: %s", dir, g_strerror (errno));
      return TRUE;
    }

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot open directory %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  if (net_io_fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;

      net_io_close (fd);
      g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot sync directory %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  net_io_close (fd);
  return TRUE;
}

/*
 * _net_fsync_parent_dir:
 * @path: a file or directory
 *
 * Makes the entry of @path in its parent directory durable: fsyncs the
 * parent.  For a file or directory just created or renamed into place.
 */
gboolean
_net_fsync_parent_dir (const char  *path,
                       GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (path);

  return fsync_dir (parent, error);
}

/*
 * _net_redex_ensure_dir_durable:
 * @path: an absolute directory path
 *
 * Creates @path (mode 0700) and whichever of its parents are missing, and
 * makes every entry on the way durable: each directory created here is
 * fsynced in its parent, and so is @path itself even when it existed, since
 * whoever created it (the CLI, an application) may not have synced it.
 */
gboolean
_net_redex_ensure_dir_durable (const char  *path,
                               GError     **error)
{
  g_autofree char *parent = NULL;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return _net_fsync_parent_dir (path, error);

  parent = g_path_get_dirname (path);
  if (g_strcmp0 (parent, path) != 0 && !g_file_test (parent, G_FILE_TEST_IS_DIR) &&
      !_net_redex_ensure_dir_durable (parent, error))
    return FALSE;

  if (net_io_mkdir (path, 0700) != 0 && errno != EEXIST)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot create %s: %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  return fsync_dir (parent, error);
}
