/* net-redex-io-private.h: the file system calls of the log's write path
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every call that changes a file or a directory of a persistent log goes
 * through these names.  A normal build maps them to the system calls
 * themselves: they cost nothing.  Built with NET_REDEX_IO_SIM (only the
 * power-loss simulation of the tests is), they go through a table that the
 * test replaces to record what was written and synced, and to build what a
 * power cut could leave on disk (tests/redex/redex-io-sim.c).
 */

#pragma once

#include <glib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

G_BEGIN_DECLS

#ifdef NET_REDEX_IO_SIM

typedef struct
{
  int     (*open)      (const char *path, int flags, mode_t mode);
  int     (*close)     (int fd);
  ssize_t (*pwrite)    (int fd, const void *buf, size_t len, off_t offset);
  ssize_t (*pwritev)   (int fd, const struct iovec *iov, int iovcnt, off_t offset);
  int     (*ftruncate) (int fd, off_t length);
  int     (*fdatasync) (int fd);
  int     (*fsync)     (int fd);
  int     (*mkdir)     (const char *path, mode_t mode);
  int     (*rename)    (const char *from, const char *to);
  int     (*unlink)    (const char *path);
  int     (*fallocate) (int fd, int mode, off_t offset, off_t len);
} NetRedexIo;

extern NetRedexIo _net_redex_io;

# define net_io_open(p, f, m)        (_net_redex_io.open ((p), (f), (m)))
# define net_io_close(fd)            (_net_redex_io.close ((fd)))
# define net_io_pwrite(fd, b, l, o)  (_net_redex_io.pwrite ((fd), (b), (l), (o)))
# define net_io_pwritev(fd, v, n, o) (_net_redex_io.pwritev ((fd), (v), (n), (o)))
# define net_io_ftruncate(fd, l)     (_net_redex_io.ftruncate ((fd), (l)))
# define net_io_fdatasync(fd)        (_net_redex_io.fdatasync ((fd)))
# define net_io_fsync(fd)            (_net_redex_io.fsync ((fd)))
# define net_io_mkdir(p, m)          (_net_redex_io.mkdir ((p), (m)))
# define net_io_rename(a, b)         (_net_redex_io.rename ((a), (b)))
# define net_io_unlink(p)            (_net_redex_io.unlink ((p)))
# define net_io_fallocate(fd, m, o, l) (_net_redex_io.fallocate ((fd), (m), (o), (l)))

#else

# define net_io_open(p, f, m)        open ((p), (f), (m))
# define net_io_close(fd)            close ((fd))
# define net_io_pwrite(fd, b, l, o)  pwrite ((fd), (b), (l), (o))
# define net_io_pwritev(fd, v, n, o) pwritev ((fd), (v), (n), (o))
# define net_io_ftruncate(fd, l)     ftruncate ((fd), (l))
# define net_io_fdatasync(fd)        fdatasync ((fd))
# define net_io_fsync(fd)            fsync ((fd))
# define net_io_mkdir(p, m)          mkdir ((p), (m))
# define net_io_rename(a, b)         rename ((a), (b))
# define net_io_unlink(p)            unlink ((p))
# define net_io_fallocate(fd, m, o, l) fallocate ((fd), (m), (o), (l))

#endif

gboolean _net_redex_ensure_dir_durable (const char  *path,
                                        GError     **error);
gboolean _net_fsync_parent_dir         (const char  *path,
                                        GError     **error);

G_END_DECLS
