/* redex-io-sim.c: a power-loss simulation under the log's file system calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * SIGKILL keeps the page cache; a power cut does not.  Like SQLite's crash
 * VFS, this layer lets every call through to the real file system (so the
 * log works as usual) and also keeps a model of what a strict file system
 * has on stable storage:
 *
 *  - a file's data is durable up to its last fdatasync()/fsync();
 *  - a directory entry (a file or directory created, renamed, unlinked) is
 *    durable once its directory was fsynced, not before, whatever happened
 *    to the file itself;
 *  - everything else is pending, in the order it was done.
 *
 * redex_io_sim_materialize() writes out what the disk could hold after a
 * power cut: the durable state plus a subset of the pending operations
 * (none, all, any subset, or writes torn at 512-byte sectors: a sector
 * reaches the disk whole, holding the writes that touched it up to some
 * moment, and sectors decide apart, so a later write may survive an
 * earlier one).  Syncs are not passed to the disk: the model is the durability.
 *
 * The log is built for it with NET_REDEX_IO_SIM (tests/redex/meson.build),
 * which routes its calls through the table this file replaces.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "redex-io-sim.h"
#include "net-redex-io-private.h"

#define SECTOR 512

typedef struct
{
  gboolean    is_dir;
  GByteArray *durable;   /* files */
} SimNode;

typedef enum
{
  OP_WRITE,
  OP_TRUNCATE,
  OP_CREATE,    /* a file's entry */
  OP_MKDIR,
  OP_RENAME,
  OP_UNLINK,
} OpKind;

typedef struct
{
  OpKind   kind;
  SimNode *node;     /* data ops; CREATE, MKDIR */
  char    *parent;   /* directory ops: the directory whose fsync makes it durable */
  char    *path;
  char    *path2;    /* RENAME: the new name */
  guint64  offset;   /* WRITE; TRUNCATE: the length */
  GBytes  *bytes;    /* WRITE */
} SimOp;

typedef struct
{
  SimNode *node;     /* NULL for a directory */
  char    *path;
} SimFd;

static GMutex      sim_mutex;
static NetRedexIo  sim_real;
static gboolean    sim_active;
static char       *sim_root;
static GPtrArray  *sim_nodes;     /* owns every SimNode */
static GHashTable *sim_current;   /* path → SimNode*, as the real file system */
static GHashTable *sim_durable;   /* path → SimNode*, as stable storage */
static GPtrArray  *sim_pending;   /* SimOp*, in order */
static GHashTable *sim_fds;       /* fd → SimFd* */
static guint       sim_n_ops;
static guint       sim_crash_countdown;
static gboolean    sim_dead;
static guint       sim_failing_syncs;

static void
sim_node_free (SimNode *node)
{
  g_clear_pointer (&node->durable, g_byte_array_unref);
  g_free (node);
}

static SimNode *
sim_node_new (gboolean is_dir)
{
  SimNode *node = g_new0 (SimNode, 1);

  node->is_dir = is_dir;
  if (!is_dir)
    node->durable = g_byte_array_new ();
  g_ptr_array_add (sim_nodes, node);
  return node;
}

static void
sim_op_free (SimOp *op)
{
  g_free (op->parent);
  g_free (op->path);
  g_free (op->path2);
  g_clear_pointer (&op->bytes, g_bytes_unref);
  g_free (op);
}

static void
sim_fd_free (SimFd *f)
{
  g_free (f->path);
  g_free (f);
}

static gboolean
sim_under_root (const char *path)
{
  gsize n = strlen (sim_root);

  return path != NULL && strncmp (path, sim_root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static void
bytes_apply_write (GByteArray   *data,
                   guint64       offset,
                   const guint8 *buf,
                   gsize         len)
{
  if (offset + len > data->len)
    {
      guint old = data->len;

      g_byte_array_set_size (data, offset + len);
      memset (data->data + old, 0, data->len - old);
    }
  memcpy (data->data + offset, buf, len);
}

static void
bytes_apply_truncate (GByteArray *data,
                      guint64     length)
{
  guint old = data->len;

  g_byte_array_set_size (data, length);
  if (length > old)
    memset (data->data + old, 0, length - old);
}

static void
sim_pend (SimOp *op)
{
  g_ptr_array_add (sim_pending, op);
}

/* Counts a mutating call; FALSE once the power is gone. */
static gboolean
sim_tick (void)
{
  if (sim_dead)
    return FALSE;
  sim_n_ops++;
  if (sim_crash_countdown > 0 && --sim_crash_countdown == 0)
    {
      sim_dead = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* The hooks ---------------------------------------------------------------- */

static int
sim_open (const char *path,
          int         flags,
          mode_t      mode)
{
  gboolean creates = (flags & O_CREAT) != 0;
  SimNode *node;
  int fd;

  g_mutex_lock (&sim_mutex);
  if (!sim_under_root (path))
    {
      g_mutex_unlock (&sim_mutex);
      return sim_real.open (path, flags, mode);
    }

  if ((creates || (flags & O_TRUNC)) && !sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }

  fd = sim_real.open (path, flags, mode);
  if (fd < 0)
    {
      g_mutex_unlock (&sim_mutex);
      return fd;
    }

  node = g_hash_table_lookup (sim_current, path);
  if (flags & O_DIRECTORY)
    {
      SimFd *f = g_new0 (SimFd, 1);

      f->path = g_strdup (path);
      g_hash_table_replace (sim_fds, GINT_TO_POINTER (fd), f);
    }
  else
    {
      SimFd *f = g_new0 (SimFd, 1);

      if (node == NULL && creates)
        {
          SimOp *op = g_new0 (SimOp, 1);

          node = sim_node_new (FALSE);
          g_hash_table_replace (sim_current, g_strdup (path), node);
          op->kind = OP_CREATE;
          op->node = node;
          op->parent = g_path_get_dirname (path);
          op->path = g_strdup (path);
          sim_pend (op);
        }
      else if (node != NULL && (flags & O_TRUNC))
        {
          SimOp *op = g_new0 (SimOp, 1);

          op->kind = OP_TRUNCATE;
          op->node = node;
          op->offset = 0;
          sim_pend (op);
        }
      f->node = node;
      f->path = g_strdup (path);
      g_hash_table_replace (sim_fds, GINT_TO_POINTER (fd), f);
    }
  g_mutex_unlock (&sim_mutex);

  return fd;
}

static int
sim_close (int fd)
{
  g_mutex_lock (&sim_mutex);
  g_hash_table_remove (sim_fds, GINT_TO_POINTER (fd));
  g_mutex_unlock (&sim_mutex);
  return sim_real.close (fd);
}

static SimNode *
sim_file_of (int fd)
{
  SimFd *f = g_hash_table_lookup (sim_fds, GINT_TO_POINTER (fd));

  return f != NULL ? f->node : NULL;
}

static void
sim_record_write (SimNode      *node,
                  const guint8 *buf,
                  gsize         len,
                  guint64       offset)
{
  SimOp *op = g_new0 (SimOp, 1);

  op->kind = OP_WRITE;
  op->node = node;
  op->offset = offset;
  op->bytes = g_bytes_new (buf, len);
  sim_pend (op);
}

static ssize_t
sim_pwrite (int         fd,
            const void *buf,
            size_t      len,
            off_t       offset)
{
  SimNode *node;
  ssize_t r;

  g_mutex_lock (&sim_mutex);
  node = sim_file_of (fd);
  if (node != NULL && !sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.pwrite (fd, buf, len, offset);
  if (node != NULL && r > 0)
    sim_record_write (node, buf, r, offset);
  g_mutex_unlock (&sim_mutex);

  return r;
}

static ssize_t
sim_pwritev (int                 fd,
             const struct iovec *iov,
             int                 iovcnt,
             off_t               offset)
{
  SimNode *node;
  ssize_t r;

  g_mutex_lock (&sim_mutex);
  node = sim_file_of (fd);
  if (node != NULL && !sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.pwritev (fd, iov, iovcnt, offset);
  if (node != NULL && r > 0)
    {
      /* One operation: the unit a crash may keep or drop whole. */
      GByteArray *all = g_byte_array_new ();
      gsize left = r;

      for (int i = 0; i < iovcnt && left > 0; i++)
        {
          gsize n = MIN (left, iov[i].iov_len);

          g_byte_array_append (all, iov[i].iov_base, n);
          left -= n;
        }
      sim_record_write (node, all->data, all->len, offset);
      g_byte_array_unref (all);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

static int
sim_ftruncate (int   fd,
               off_t length)
{
  SimNode *node;
  int r;

  g_mutex_lock (&sim_mutex);
  node = sim_file_of (fd);
  if (node != NULL && !sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.ftruncate (fd, length);
  if (node != NULL && r == 0)
    {
      SimOp *op = g_new0 (SimOp, 1);

      op->kind = OP_TRUNCATE;
      op->node = node;
      op->offset = length;
      sim_pend (op);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

/* Allocation that grows the file is a size change, like ftruncate: a
 * crash may keep it or not, and the new space reads as zeros. */
static int
sim_fallocate (int   fd,
               int   mode,
               off_t offset,
               off_t len)
{
  SimNode *node;
  struct stat st;
  int r;

  g_mutex_lock (&sim_mutex);
  node = sim_file_of (fd);
  if (node != NULL && !sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.fallocate (fd, mode, offset, len);
  if (node != NULL && r == 0 && fstat (fd, &st) == 0)
    {
      SimOp *op = g_new0 (SimOp, 1);

      op->kind = OP_TRUNCATE;
      op->node = node;
      op->offset = st.st_size;
      sim_pend (op);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

/* Makes a file's pending data durable, or a directory's pending entries. */
static int
sim_sync (int fd)
{
  SimFd *f;

  g_mutex_lock (&sim_mutex);
  f = g_hash_table_lookup (sim_fds, GINT_TO_POINTER (fd));
  if (f == NULL)
    {
      g_mutex_unlock (&sim_mutex);
      return 0;
    }
  if (!sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }

  /* A file's sync that fails while the power stays on: the kernel marked
   * the pages clean, so what it was to make durable never will be. */
  if (f->node != NULL && sim_failing_syncs > 0)
    {
      sim_failing_syncs--;
      for (guint i = 0; i < sim_pending->len; )
        {
          SimOp *op = g_ptr_array_index (sim_pending, i);

          if (op->node == f->node && (op->kind == OP_WRITE || op->kind == OP_TRUNCATE))
            g_ptr_array_remove_index (sim_pending, i);
          else
            i++;
        }
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }

  for (guint i = 0; i < sim_pending->len; )
    {
      SimOp *op = g_ptr_array_index (sim_pending, i);
      gboolean done = FALSE;

      if (f->node != NULL && op->node == f->node &&
          (op->kind == OP_WRITE || op->kind == OP_TRUNCATE))
        {
          if (op->kind == OP_WRITE)
            bytes_apply_write (f->node->durable, op->offset,
                               g_bytes_get_data (op->bytes, NULL), g_bytes_get_size (op->bytes));
          else
            bytes_apply_truncate (f->node->durable, op->offset);
          done = TRUE;
        }
      else if (f->node == NULL && op->parent != NULL && strcmp (op->parent, f->path) == 0)
        {
          switch (op->kind)
            {
            case OP_CREATE:
            case OP_MKDIR:
              g_hash_table_replace (sim_durable, g_strdup (op->path), op->node);
              break;
            case OP_RENAME:
              {
                SimNode *moved = g_hash_table_lookup (sim_durable, op->path);

                g_hash_table_remove (sim_durable, op->path);
                if (moved != NULL)
                  g_hash_table_replace (sim_durable, g_strdup (op->path2), moved);
                else
                  g_hash_table_remove (sim_durable, op->path2);
              }
              break;
            case OP_UNLINK:
              g_hash_table_remove (sim_durable, op->path);
              break;
            default:
              g_assert_not_reached ();
            }
          done = TRUE;
        }

      if (done)
        g_ptr_array_remove_index (sim_pending, i);
      else
        i++;
    }
  g_mutex_unlock (&sim_mutex);

  return 0;
}

static int
sim_mkdir (const char *path,
           mode_t      mode)
{
  int r;

  g_mutex_lock (&sim_mutex);
  if (!sim_under_root (path))
    {
      g_mutex_unlock (&sim_mutex);
      return sim_real.mkdir (path, mode);
    }
  if (!sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.mkdir (path, mode);
  if (r == 0)
    {
      SimOp *op = g_new0 (SimOp, 1);
      SimNode *node = sim_node_new (TRUE);

      g_hash_table_replace (sim_current, g_strdup (path), node);
      op->kind = OP_MKDIR;
      op->node = node;
      op->parent = g_path_get_dirname (path);
      op->path = g_strdup (path);
      sim_pend (op);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

static int
sim_rename (const char *from,
            const char *to)
{
  int r;

  g_mutex_lock (&sim_mutex);
  if (!sim_under_root (to))
    {
      g_mutex_unlock (&sim_mutex);
      return sim_real.rename (from, to);
    }
  if (!sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.rename (from, to);
  if (r == 0)
    {
      SimOp *op = g_new0 (SimOp, 1);
      SimNode *node = g_hash_table_lookup (sim_current, from);
      g_autofree char *from_dir = g_path_get_dirname (from);

      op->kind = OP_RENAME;
      op->parent = g_path_get_dirname (to);
      g_assert_cmpstr (from_dir, ==, op->parent);
      op->path = g_strdup (from);
      op->path2 = g_strdup (to);
      sim_pend (op);
      g_hash_table_remove (sim_current, from);
      if (node != NULL)
        g_hash_table_replace (sim_current, g_strdup (to), node);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

static int
sim_unlink (const char *path)
{
  int r;

  g_mutex_lock (&sim_mutex);
  if (!sim_under_root (path))
    {
      g_mutex_unlock (&sim_mutex);
      return sim_real.unlink (path);
    }
  if (!sim_tick ())
    {
      g_mutex_unlock (&sim_mutex);
      errno = EIO;
      return -1;
    }
  r = sim_real.unlink (path);
  if (r == 0)
    {
      SimOp *op = g_new0 (SimOp, 1);

      op->kind = OP_UNLINK;
      op->parent = g_path_get_dirname (path);
      op->path = g_strdup (path);
      sim_pend (op);
      g_hash_table_remove (sim_current, path);
    }
  g_mutex_unlock (&sim_mutex);

  return r;
}

/* Setup ---------------------------------------------------------------------- */

static void
sim_scan (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      SimNode *node;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          node = sim_node_new (TRUE);
          sim_scan (path);
        }
      else
        {
          g_autofree char *contents = NULL;
          gsize len = 0;

          g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
          node = sim_node_new (FALSE);
          g_byte_array_append (node->durable, (guint8 *) contents, len);
        }
      g_hash_table_replace (sim_current, g_strdup (path), node);
      g_hash_table_replace (sim_durable, g_strdup (path), node);
    }
}

void
redex_io_sim_start (const char *root)
{
  g_assert_false (sim_active);

  sim_real = _net_redex_io;
  sim_root = g_canonicalize_filename (root, NULL);
  sim_nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) sim_node_free);
  sim_current = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sim_durable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sim_pending = g_ptr_array_new_with_free_func ((GDestroyNotify) sim_op_free);
  sim_fds = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) sim_fd_free);
  sim_n_ops = 0;
  sim_crash_countdown = 0;
  sim_dead = FALSE;
  sim_failing_syncs = 0;
  sim_scan (sim_root);

  _net_redex_io.open = sim_open;
  _net_redex_io.close = sim_close;
  _net_redex_io.pwrite = sim_pwrite;
  _net_redex_io.pwritev = sim_pwritev;
  _net_redex_io.ftruncate = sim_ftruncate;
  _net_redex_io.fdatasync = sim_sync;
  _net_redex_io.fsync = sim_sync;
  _net_redex_io.mkdir = sim_mkdir;
  _net_redex_io.rename = sim_rename;
  _net_redex_io.unlink = sim_unlink;
  _net_redex_io.fallocate = sim_fallocate;
  sim_active = TRUE;
}

void
redex_io_sim_crash_after (guint n_ops)
{
  g_mutex_lock (&sim_mutex);
  sim_crash_countdown = n_ops;
  g_mutex_unlock (&sim_mutex);
}

void
redex_io_sim_fail_syncs (guint n_syncs)
{
  g_mutex_lock (&sim_mutex);
  sim_failing_syncs = n_syncs;
  g_mutex_unlock (&sim_mutex);
}

void
redex_io_sim_crash_now (void)
{
  g_mutex_lock (&sim_mutex);
  sim_dead = TRUE;
  g_mutex_unlock (&sim_mutex);
}

gboolean
redex_io_sim_crashed (void)
{
  gboolean dead;

  g_mutex_lock (&sim_mutex);
  dead = sim_dead;
  g_mutex_unlock (&sim_mutex);
  return dead;
}

guint
redex_io_sim_n_ops (void)
{
  guint n;

  g_mutex_lock (&sim_mutex);
  n = sim_n_ops;
  g_mutex_unlock (&sim_mutex);
  return n;
}

guint
redex_io_sim_n_pending (void)
{
  guint n;

  g_mutex_lock (&sim_mutex);
  n = sim_pending->len;
  g_mutex_unlock (&sim_mutex);
  return n;
}

void
redex_io_sim_stop (void)
{
  g_assert_true (sim_active);

  _net_redex_io = sim_real;
  sim_active = FALSE;
  g_clear_pointer (&sim_fds, g_hash_table_unref);
  g_clear_pointer (&sim_pending, g_ptr_array_unref);
  g_clear_pointer (&sim_durable, g_hash_table_unref);
  g_clear_pointer (&sim_current, g_hash_table_unref);
  g_clear_pointer (&sim_nodes, g_ptr_array_unref);
  g_clear_pointer (&sim_root, g_free);
}

const char *
redex_io_sim_mode_name (SimCrashMode mode)
{
  static const char *names[] = { "drop-all", "keep-all", "subset", "torn" };

  g_assert (mode < SIM_CRASH_N_MODES);
  return names[mode];
}

/* After the power cut -------------------------------------------------------- */

typedef struct
{
  SimNode *node;
  guint64  sector;
} SectorKey;

static guint
sector_key_hash (gconstpointer key)
{
  const SectorKey *k = key;

  return g_direct_hash (k->node) ^ (guint) (k->sector * 2654435761u);
}

static gboolean
sector_key_equal (gconstpointer a,
                  gconstpointer b)
{
  const SectorKey *ka = a, *kb = b;

  return ka->node == kb->node && ka->sector == kb->sector;
}

static GByteArray *
image_data (GHashTable *data,
            SimNode    *node)
{
  GByteArray *bytes = g_hash_table_lookup (data, node);

  if (bytes == NULL)
    {
      bytes = g_byte_array_new ();
      g_byte_array_append (bytes, node->durable->data, node->durable->len);
      g_hash_table_insert (data, node, bytes);
    }
  return bytes;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

void
redex_io_sim_materialize (const char   *out,
                          SimCrashMode  mode,
                          GRand        *rand)
{
  g_autoptr(GHashTable) entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) data = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_byte_array_unref);
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();
  /* SectorKey: the sectors whose later writes never reached the disk. */
  g_autoptr(GHashTable) stopped = g_hash_table_new_full (sector_key_hash, sector_key_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;
  gsize root_len;

  g_mutex_lock (&sim_mutex);
  root_len = strlen (sim_root);

  g_hash_table_iter_init (&iter, sim_durable);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (entries, g_strdup (key), value);

  if (g_getenv ("REDEX_IO_SIM_DEBUG") != NULL)
    {
      g_hash_table_iter_init (&iter, sim_durable);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_printerr ("durable: %s\n", (char *) key);
      for (guint i = 0; i < sim_pending->len; i++)
        {
          SimOp *op = g_ptr_array_index (sim_pending, i);

          g_printerr ("pending: %d %s %s\n", op->kind, op->path ? op->path : "", op->parent ? op->parent : "");
        }
    }

  for (guint i = 0; i < sim_pending->len; i++)
    {
      SimOp *op = g_ptr_array_index (sim_pending, i);

      if (mode == SIM_CRASH_DROP_ALL)
        break;
      /* (A torn write's sectors each decide for themselves, below.) */
      if (mode != SIM_CRASH_KEEP_ALL && !(mode == SIM_CRASH_TORN && op->kind == OP_WRITE) &&
          g_rand_boolean (rand))
        continue;

      switch (op->kind)
        {
        case OP_WRITE:
          {
            GByteArray *bytes = image_data (data, op->node);
            gsize len;
            const guint8 *buf = g_bytes_get_data (op->bytes, &len);

            if (mode != SIM_CRASH_TORN)
              {
                bytes_apply_write (bytes, op->offset, buf, len);
                break;
              }
            /* A sector reaches the disk whole, as the page cache held it at
             * some moment: each sector keeps the writes that touched it up
             * to a point chosen at random, and none after it.  Sectors
             * decide apart, so a later write may survive an earlier one. */
            for (guint64 s = op->offset - op->offset % SECTOR; s < op->offset + len; s += SECTOR)
              {
                guint64 from = MAX (s, op->offset);
                guint64 to = MIN (s + SECTOR, op->offset + len);
                SectorKey sk = { op->node, s / SECTOR };

                if (g_hash_table_contains (stopped, &sk))
                  continue;
                if (g_rand_boolean (rand))
                  bytes_apply_write (bytes, from, buf + (from - op->offset), to - from);
                else
                  g_hash_table_add (stopped, g_memdup2 (&sk, sizeof sk));
              }
          }
          break;

        case OP_TRUNCATE:
          bytes_apply_truncate (image_data (data, op->node), op->offset);
          break;

        case OP_CREATE:
        case OP_MKDIR:
          g_hash_table_replace (entries, g_strdup (op->path), op->node);
          break;

        case OP_RENAME:
          {
            SimNode *moved = g_hash_table_lookup (entries, op->path);

            g_hash_table_remove (entries, op->path);
            if (moved != NULL)
              g_hash_table_replace (entries, g_strdup (op->path2), moved);
          }
          break;

        case OP_UNLINK:
          g_hash_table_remove (entries, op->path);
          break;
        }
    }

  g_assert_cmpint (g_mkdir (out, 0700), ==, 0);

  /* Parents sort before their children. */
  g_hash_table_iter_init (&iter, entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (paths, key);
  g_ptr_array_sort (paths, compare_paths);

  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      SimNode *node = g_hash_table_lookup (entries, path);
      g_autofree char *parent = g_path_get_dirname (path);
      g_autofree char *target = g_strconcat (out, path + root_len, NULL);
      SimNode *parent_node = g_hash_table_lookup (entries, parent);

      /* An entry in a directory whose own entry was lost is lost too. */
      if (strcmp (parent, sim_root) != 0 && (parent_node == NULL || !parent_node->is_dir))
        {
          g_hash_table_remove (entries, path);
          continue;
        }

      if (node->is_dir)
        g_assert_cmpint (g_mkdir (target, 0700), ==, 0);
      else
        {
          GByteArray *bytes = g_hash_table_lookup (data, node);
          g_autoptr(GError) error = NULL;

          if (bytes == NULL)
            bytes = node->durable;
          g_file_set_contents_full (target, (const char *) bytes->data, bytes->len,
                                    G_FILE_SET_CONTENTS_NONE, 0600, &error);
          g_assert_no_error (error);
        }
    }

  g_mutex_unlock (&sim_mutex);
}
