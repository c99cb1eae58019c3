/* net-redex-segment.c: one segment file of a persistent log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "net-error.h"
#include "net-redex-io-private.h"
#include "net-redex-segment-private.h"

/* How far past a damaged record recovery looks for the seq that follows. */
#define RESYNC_MAX_SEQS 65536

/* Scanning the active segment reads this much first, and twice as much
 * each time the records go on past what was read. */
#define SCAN_CHUNK (64 * 1024)

/* A writer writes zeros this far ahead of its appends into the space it
 * preallocated, so that an append finds its blocks allocated and written:
 * its fdatasync then writes data only, no metadata. */
#define ZERO_AHEAD (1024 * 1024)

NetRedexSegment *
_net_redex_segment_ref (NetRedexSegment *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

NetRedexOffsets *
_net_redex_offsets_new (void)
{
  return g_new0 (NetRedexOffsets, 1);
}

void
_net_redex_offsets_free (NetRedexOffsets *offsets)
{
  g_free (offsets->narrow);
  g_free (offsets->wide);
  g_free (offsets);
}

void
_net_redex_offsets_append (NetRedexOffsets *offsets,
                           guint64          offset)
{
  if (offsets->len == offsets->cap)
    {
      offsets->cap = offsets->cap < 65536 ? MAX (offsets->cap * 2, 256)
                                          : offsets->cap + offsets->cap / 8;
      if (offsets->wide != NULL)
        offsets->wide = g_renew (guint64, offsets->wide, offsets->cap);
      else
        offsets->narrow = g_renew (guint32, offsets->narrow, offsets->cap);
    }

  if (offsets->wide == NULL && offset > G_MAXUINT32)
    {
      /* The first offset past 4 GiB: every offset takes 8 bytes now. */
      offsets->wide = g_new (guint64, offsets->cap);
      for (gsize i = 0; i < offsets->len; i++)
        offsets->wide[i] = offsets->narrow[i];
      g_clear_pointer (&offsets->narrow, g_free);
    }

  if (offsets->wide != NULL)
    offsets->wide[offsets->len++] = offset;
  else
    offsets->narrow[offsets->len++] = (guint32) offset;
}

void
_net_redex_offsets_truncate (NetRedexOffsets *offsets,
                             gsize            len)
{
  g_assert (len <= offsets->len);
  offsets->len = len;
}

void
_net_redex_segment_unref (NetRedexSegment *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;

  if (self->map != NULL)
    munmap (self->map, self->map_len);
  if (self->fd >= 0)
    net_io_close (self->fd);
  g_clear_pointer (&self->offsets, _net_redex_offsets_free);
  g_free (self->path);
  g_free (self->idx_path);
  g_free (self);
}

static NetRedexSegment *
segment_new (const char *dir,
             guint64     base_seq)
{
  NetRedexSegment *self = g_new0 (NetRedexSegment, 1);
  g_autofree char *seg_name = net_redex_segment_file_name (base_seq, ".seg");
  g_autofree char *idx_name = net_redex_segment_file_name (base_seq, ".idx");

  g_atomic_ref_count_init (&self->ref_count);
  self->base_seq = base_seq;
  self->path = g_build_filename (dir, seg_name, NULL);
  self->idx_path = g_build_filename (dir, idx_name, NULL);
  self->fd = -1;
  self->min_ts = G_MAXINT64;
  self->max_ts = G_MININT64;

  return self;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetRedexSegment, _net_redex_segment_unref)

static gboolean
set_errno_error (GError     **error,
                 int          saved_errno,
                 const char  *what,
                 const char  *path)
{
  g_set_error (error, NET_ERROR, NET_ERROR_IO,
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
pread_all (int      fd,
           guint8  *buf,
           gsize    len,
           guint64  offset,
           gsize   *n_read)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t r = pread (fd, buf + done, len - done, offset + done);

      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      if (r == 0)
        break;
      done += r;
    }

  *n_read = done;
  return TRUE;
}

static gboolean
pwrite_all (int           fd,
            const guint8 *buf,
            gsize         len,
            guint64       offset)
{
  gsize done = 0;

  while (done < len)
    {
      ssize_t r = net_io_pwrite (fd, buf + done, len - done, offset + done);

      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      done += r;
    }

  return TRUE;
}

gboolean
_net_redex_sync_dir (const char  *dir,
                     GError     **error)
{
  int fd = net_io_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return set_errno_error (error, errno, "cannot open directory", dir);

  if (net_io_fsync (fd) != 0 && errno != EINVAL)
    {
      int saved_errno = errno;

      net_io_close (fd);
      return set_errno_error (error, saved_errno, "cannot sync directory", dir);
    }

  net_io_close (fd);
  return TRUE;
}

gboolean
_net_redex_write_file_atomic (const char  *dir,
                              const char  *file_name,
                              GBytes      *contents,
                              GError     **error)
{
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (contents, &len);
  int fd;

  fd = net_io_open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", tmp);

  if (!pwrite_all (fd, data, len, 0) || net_io_fdatasync (fd) != 0)
    {
      int saved_errno = errno;

      net_io_close (fd);
      net_io_unlink (tmp);
      return set_errno_error (error, saved_errno, "cannot write", tmp);
    }
  net_io_close (fd);

  if (net_io_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      net_io_unlink (tmp);
      return set_errno_error (error, saved_errno, "cannot rename to", path);
    }

  return _net_redex_sync_dir (dir, error);
}

GBytes *
_net_redex_segment_pread (NetRedexSegment  *self,
                          guint64           offset,
                          gsize             len,
                          GError          **error)
{
  guint8 *buf = g_malloc (MAX (len, 1));
  gsize n_read = 0;

  if (!pread_all (self->fd, buf, len, offset, &n_read))
    {
      int saved_errno = errno;

      g_free (buf);
      set_errno_error (error, saved_errno, "cannot read", self->path);
      return NULL;
    }

  if (n_read != len)
    {
      g_free (buf);
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s: file ends at offset %" G_GUINT64_FORMAT
                   ", before the record its index points to",
                   self->path, offset + n_read);
      return NULL;
    }

  return g_bytes_new_take (buf, len);
}

/*
 * Walks the records in @data (which starts at file offset @base_offset),
 * appending their offsets.  A record that fails its checksum is kept as a
 * damaged slot when a valid record with a later seq follows it; otherwise
 * it is where the valid data ends (a torn tail, or a record still being
 * written when another process is the writer).
 *
 * A batch counts only once its last record is there: when the data ends
 * inside a batch, everything from the batch's first record on is left out,
 * so recovery truncates it whole and a follower sees it only once the
 * writer has written all of it.
 */
static void
segment_scan (NetRedexSegment *self,
              const guint8    *data,
              gsize            len,
              guint64          base_offset,
              gboolean         partial)
{
  guint64 next_seq = self->base_seq + self->count;
  gsize p = 0;
  /* Where the last complete batch ended. */
  guint64 done_count = self->count;
  guint64 done_length = self->length;
  gint64 done_min_ts = self->min_ts;
  gint64 done_max_ts = self->max_ts;
  guint done_bad = self->n_bad;
  gboolean in_batch = FALSE;

  while (p < len)
    {
      NetRedexRecordHeader header;
      NetRedexRecordStatus status;
      guint64 found_seq = 0;
      gsize r;

      status = net_redex_record_decode (data + p, len - p, next_seq, &header);
      if (status == NET_REDEX_RECORD_OK)
        {
          guint64 off = base_offset + p;

          _net_redex_offsets_append (self->offsets, off);
          self->min_ts = MIN (self->min_ts, header.timestamp);
          self->max_ts = MAX (self->max_ts, header.timestamp);
          self->count++;
          next_seq++;
          p += NET_REDEX_REC_HEADER_SIZE + header.payload_len;
          self->length = base_offset + p;
          in_batch = header.more;
          if (!in_batch)
            {
              done_count = self->count;
              done_length = self->length;
              done_min_ts = self->min_ts;
              done_max_ts = self->max_ts;
              done_bad = self->n_bad;
            }
          continue;
        }

      /* The file goes on past @data: read more before judging. */
      if (partial && status == NET_REDEX_RECORD_INCOMPLETE)
        break;

      r = net_redex_record_resync (data, len, p, next_seq + 1,
                                   next_seq + RESYNC_MAX_SEQS, &found_seq);
      if (r == 0)
        break;
      /* A hole a power cut left in the active segment (or one whose
       * sealing may never have finished): the end. */
      if ((!self->sealed || self->unsure) && net_redex_damage_is_torn (data, base_offset, p, r))
        break;

      /* Damaged records between p and r: keep their slots so every later
       * seq stays at its place; reading them reports the damage. */
      for (guint64 s = next_seq; s < found_seq; s++)
        {
          guint64 off = base_offset + p;

          _net_redex_offsets_append (self->offsets, off);
          self->count++;
          self->n_bad++;
        }
      next_seq = found_seq;
      p = r;
      self->length = base_offset + p;
    }

  if (in_batch)
    {
      g_debug ("%s: leaving out an incomplete batch of %" G_GUINT64_FORMAT " records at offset %" G_GUINT64_FORMAT,
               self->path, self->count - done_count, done_length);
      _net_redex_offsets_truncate (self->offsets, self->offsets->len - (self->count - done_count));
      self->count = done_count;
      self->length = done_length;
      self->min_ts = done_min_ts;
      self->max_ts = done_max_ts;
      self->n_bad = done_bad;
    }
}

static guint8 *
read_whole (int       fd,
            guint64   from,
            guint64   to,
            gsize    *len)
{
  gsize n = to - from;
  guint8 *buf = g_malloc (MAX (n, 1));

  if (!pread_all (fd, buf, n, from, len))
    {
      g_free (buf);
      return NULL;
    }

  return buf;
}

static gboolean
region_is_zero (const guint8 *data,
                gsize         len)
{
  for (gsize i = 0; i < len; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

/*
 * Scans the records from ->length to @file_size.  The active segment may
 * be preallocated: past its data end it holds zeros, which are "not yet
 * written" (the end of the log), never damage.  So that opening or
 * following it does not read the whole preallocated space, it is read in
 * growing chunks, and the scan stops where the records stop and only
 * zeros (at least a sector of them) follow.  A sealed segment is read
 * whole, as its damage must be told from its end.
 */
static gboolean
segment_scan_file (NetRedexSegment *self,
                   guint64          file_size)
{
  gboolean may_stop = !self->sealed || self->unsure;
  guint64 chunk = SCAN_CHUNK;

  while (self->length < file_size)
    {
      g_autofree guint8 *data = NULL;
      guint64 from = self->length;
      guint64 to = may_stop ? MIN (file_size, from + chunk) : file_size;
      gsize len = 0;
      gsize p;

      data = read_whole (self->fd, from, to, &len);
      if (data == NULL)
        return FALSE;

      segment_scan (self, data, len, from, from + len < file_size);
      if (from + len < to || to == file_size)
        break;

      p = self->length - from;
      if (len - p >= NET_REDEX_SECTOR_SIZE && region_is_zero (data + p, len - p))
        break;
      chunk *= 2;
    }

  return TRUE;
}

static gboolean
segment_map_index (NetRedexSegment *self,
                   guint64          file_size)
{
  NetRedexIndexHeader header;
  guint8 raw[NET_REDEX_IDX_HEADER_SIZE];
  struct stat st;
  gsize n_read;
  void *map;
  int fd;

  fd = open (self->idx_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;

  if (fstat (fd, &st) != 0 ||
      !pread_all (fd, raw, sizeof raw, 0, &n_read) ||
      !net_redex_index_header_decode (raw, n_read, &header) ||
      header.base_seq != self->base_seq ||
      header.segment_length != file_size ||
      (guint64) st.st_size != NET_REDEX_IDX_HEADER_SIZE + header.count * 8)
    {
      close (fd);
      return FALSE;
    }

  map = mmap (NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  close (fd);
  if (map == MAP_FAILED)
    return FALSE;

  self->map = map;
  self->map_len = st.st_size;
  self->map_checked = FALSE;
  self->count = header.count;
  self->length = header.segment_length;
  self->min_ts = header.min_timestamp;
  self->max_ts = header.max_timestamp;

  return TRUE;
}

static gboolean
segment_write_index (NetRedexSegment  *self,
                     GError          **error)
{
  NetRedexIndexHeader header = {
    .base_seq = self->base_seq,
    .count = self->count,
    .segment_length = self->length,
    .min_timestamp = self->min_ts,
    .max_timestamp = self->max_ts,
  };
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dir = g_path_get_dirname (self->idx_path);
  g_autofree char *base = g_path_get_basename (self->idx_path);

  g_assert (self->offsets != NULL);

  bytes = net_redex_index_encode (&header, self->offsets->narrow, self->offsets->wide);
  return _net_redex_write_file_atomic (dir, base, bytes, error);
}

static gboolean
segment_header_is_hole (const guint8 *data)
{
  for (guint i = 0; i < NET_REDEX_SEG_HEADER_SIZE; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

/* Reads the whole segment and rebuilds its offsets. */
static gboolean
segment_rescan (NetRedexSegment  *self,
                guint64           file_size,
                GError          **error)
{
  g_autofree guint8 *data = NULL;
  guint64 base_seq = 0;
  gsize len = 0;

  g_clear_pointer (&self->offsets, _net_redex_offsets_free);
  self->offsets = _net_redex_offsets_new ();
  self->count = 0;
  self->n_bad = 0;
  self->min_ts = G_MAXINT64;
  self->max_ts = G_MININT64;
  self->length = NET_REDEX_SEG_HEADER_SIZE;

  data = read_whole (self->fd, 0, MIN (file_size, NET_REDEX_SEG_HEADER_SIZE), &len);
  if (data == NULL)
    return set_errno_error (error, errno, "cannot read", self->path);

  if (len < NET_REDEX_SEG_HEADER_SIZE)
    {
      /* A segment whose creation was cut short holds nothing. */
      if (self->unsure)
        self->header_lost = TRUE;
      else if (self->sealed)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                       "%s: sealed segment is only %" G_GSIZE_FORMAT " bytes long",
                       self->path, len);
          return FALSE;
        }
      return TRUE;
    }

  if (!net_redex_segment_header_decode (data, len, &base_seq))
    {
      /* A new segment whose header a power cut lost (zeros where it
       * was): nothing in it was synced, since a sync covers the header. */
      if ((!self->sealed || self->unsure) && segment_header_is_hole (data))
        {
          self->header_lost = TRUE;
          return TRUE;
        }
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s: not a netdb log segment (bad header)", self->path);
      return FALSE;
    }

  if (base_seq != self->base_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s: header says the segment starts at seq %" G_GUINT64_FORMAT,
                   self->path, base_seq);
      return FALSE;
    }

  if (!segment_scan_file (self, file_size))
    return set_errno_error (error, errno, "cannot read", self->path);

  return TRUE;
}

NetRedexSegment *
_net_redex_segment_create (const char  *dir,
                           guint64      base_seq,
                           GError     **error)
{
  g_autoptr(NetRedexSegment) self = segment_new (dir, base_seq);
  guint8 header[NET_REDEX_SEG_HEADER_SIZE];

  self->fd = net_io_open (self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (self->fd < 0)
    {
      set_errno_error (error, errno, "cannot create", self->path);
      return NULL;
    }

  /* Made durable by the caller's next sync, with the directory. */
  net_redex_segment_header_encode (header, base_seq);
  if (!pwrite_all (self->fd, header, sizeof header, 0))
    {
      set_errno_error (error, errno, "cannot write", self->path);
      net_io_unlink (self->path);
      return NULL;
    }

  self->offsets = _net_redex_offsets_new ();
  self->length = NET_REDEX_SEG_HEADER_SIZE;
  self->zeroed_to = NET_REDEX_SEG_HEADER_SIZE;
  self->file_size = NET_REDEX_SEG_HEADER_SIZE;

  return g_steal_pointer (&self);
}

/*
 * _net_redex_segment_preallocate:
 * @size: the segment's size
 *
 * Allocates the active segment's space up to @size at once (its size on
 * disk becomes @size), so that appends neither grow the file nor allocate
 * blocks.  Where the file system cannot (tmpfs, some others), appends grow
 * the file as they did: returns %FALSE, which is no error.
 */
gboolean
_net_redex_segment_preallocate (NetRedexSegment *self,
                                guint64          size)
{
  int r;

  if (size <= self->file_size)
    return TRUE;

  do
    r = net_io_fallocate (self->fd, 0, 0, size);
  while (r != 0 && errno == EINTR);

  if (r != 0)
    {
      g_debug ("%s: cannot preallocate %" G_GUINT64_FORMAT " bytes: %s",
               self->path, size, g_strerror (errno));
      return FALSE;
    }

  self->file_size = size;
  return TRUE;
}

/*
 * _net_redex_segment_zero_ahead:
 * @end: where the data about to be appended ends
 *
 * Before an append: writes zeros into the preallocated space past the data
 * end, a chunk ahead of @end, so that the append overwrites written blocks
 * (a preallocated block is "unwritten" until then, and the fdatasync after
 * the first write to it must journal that).  The zeros are "not yet
 * written" to every reader and to recovery.
 */
gboolean
_net_redex_segment_zero_ahead (NetRedexSegment  *self,
                               guint64           end,
                               GError          **error)
{
  static const guint8 zeros[64 * 1024];
  struct iovec iov[ZERO_AHEAD / sizeof zeros];
  guint64 from = MAX (self->zeroed_to, self->length);
  guint64 to;

  if (end <= self->zeroed_to)
    return TRUE;

  to = MIN (MAX (end, from) + ZERO_AHEAD, self->file_size);
  while (from < to)
    {
      guint n = 0;
      gsize total = 0;
      ssize_t r;

      while (n < G_N_ELEMENTS (iov) && from + total < to)
        {
          iov[n].iov_base = (gpointer) zeros;
          iov[n].iov_len = MIN (sizeof zeros, to - from - total);
          total += iov[n].iov_len;
          n++;
        }

      r = net_io_pwritev (self->fd, iov, n, from);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return set_errno_error (error, r < 0 ? errno : ENOSPC, "cannot write to", self->path);
      from += r;
    }

  self->zeroed_to = MAX (self->zeroed_to, to);
  return TRUE;
}

/*
 * Appends may write batch marks, which a version 1 segment cannot hold: its
 * header becomes version 2 first (one sector, synced before any append).
 */
static gboolean
segment_upgrade_header (NetRedexSegment  *self,
                        GError          **error)
{
  guint8 header[NET_REDEX_SEG_HEADER_SIZE];
  gsize n_read = 0;

  if (!pread_all (self->fd, header, sizeof header, 0, &n_read))
    return set_errno_error (error, errno, "cannot read", self->path);
  if (n_read != sizeof header ||
      net_redex_segment_header_version (header) == NET_REDEX_SEG_VERSION)
    return TRUE;

  net_redex_segment_header_encode (header, self->base_seq);
  if (!pwrite_all (self->fd, header, sizeof header, 0) || net_io_fdatasync (self->fd) != 0)
    return set_errno_error (error, errno, "cannot upgrade the header of", self->path);

  return TRUE;
}

/*
 * Opens an existing segment.  A sealed one uses its index file when that
 * is valid, so opening does not read its data; otherwise (and for the
 * active segment) the data is scanned.  A writer truncates a torn tail of
 * the active segment and fsyncs the truncation.
 */
NetRedexSegment *
_net_redex_segment_open (const char  *dir,
                         guint64      base_seq,
                         gboolean     sealed,
                         gboolean     read_only,
                         GError     **error)
{
  g_autoptr(NetRedexSegment) self = segment_new (dir, base_seq);
  struct stat st;

  self->sealed = sealed;
  self->read_only = read_only;

  self->fd = net_io_open (self->path, (sealed || read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0);
  if (self->fd < 0)
    {
      set_errno_error (error, errno, "cannot open", self->path);
      return NULL;
    }

  if (fstat (self->fd, &st) != 0)
    {
      set_errno_error (error, errno, "cannot stat", self->path);
      return NULL;
    }

  if (sealed && segment_map_index (self, st.st_size))
    return g_steal_pointer (&self);

  /* Sealing writes the index only once the segment is durable: without
   * one, the segment may never have been synced. */
  self->unsure = sealed;
  if (!segment_rescan (self, st.st_size, error))
    return NULL;

  /* ... and its end is torn: it never was.  The log ends in it (the
   * caller reopens it as the active segment). */
  if (sealed && (self->header_lost || self->length < (guint64) st.st_size))
    {
      self->never_sealed = TRUE;
      return g_steal_pointer (&self);
    }

  if (read_only)
    return g_steal_pointer (&self);

  if (sealed)
    {
      /* The index was lost (a crash right after sealing): write it again. */
      if (self->n_bad == 0 && self->length == (guint64) st.st_size)
        {
          g_autoptr(GError) local_error = NULL;

          if (!segment_write_index (self, &local_error))
            g_warning ("%s", local_error->message);
        }
      return g_steal_pointer (&self);
    }

  /* An index left from an earlier seal (the segments after this one were
   * dropped by a recovery) must be gone for good before anything is
   * appended here: found after a power cut, it would make this segment
   * "sealed" with fewer records, its later ones damaged slots before the
   * next segment, instead of the end of the log. */
  if (g_file_test (self->idx_path, G_FILE_TEST_EXISTS))
    {
      if (net_io_unlink (self->idx_path) != 0 && errno != ENOENT)
        {
          set_errno_error (error, errno, "cannot remove", self->idx_path);
          return NULL;
        }
      if (!_net_redex_sync_dir (dir, error))
        return NULL;
    }

  if ((guint64) st.st_size >= NET_REDEX_SEG_HEADER_SIZE && !self->header_lost &&
      !segment_upgrade_header (self, error))
    return NULL;

  if ((guint64) st.st_size < NET_REDEX_SEG_HEADER_SIZE || self->header_lost)
    {
      guint8 header[NET_REDEX_SEG_HEADER_SIZE];

      net_redex_segment_header_encode (header, base_seq);
      if (net_io_ftruncate (self->fd, 0) != 0 ||
          !pwrite_all (self->fd, header, sizeof header, 0) ||
          net_io_fdatasync (self->fd) != 0)
        {
          set_errno_error (error, errno, "cannot repair", self->path);
          return NULL;
        }
      self->header_lost = FALSE;
    }
  else if (self->length < (guint64) st.st_size)
    {
      g_debug ("%s: dropping a torn tail of %" G_GUINT64_FORMAT " bytes at offset %" G_GUINT64_FORMAT,
               self->path, (guint64) st.st_size - self->length, self->length);
      if (net_io_ftruncate (self->fd, self->length) != 0)
        {
          set_errno_error (error, errno, "cannot truncate the torn tail of", self->path);
          return NULL;
        }
    }

  /* Appends go on from the data end; the file ends there too (the caller
   * preallocates again). */
  self->file_size = self->zeroed_to = MAX (self->length, (guint64) NET_REDEX_SEG_HEADER_SIZE);
  if (fstat (self->fd, &st) == 0)
    self->file_size = self->zeroed_to = st.st_size;

  /* What survived the crash is durable from now on. */
  if (net_io_fdatasync (self->fd) != 0)
    {
      set_errno_error (error, errno, "cannot sync", self->path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

/*
 * For a reader that follows another process's writes: picks up the records
 * appended since the last look.  A half-written record is not an error, it
 * is simply not there yet.
 */
gboolean
_net_redex_segment_refresh (NetRedexSegment  *self,
                            GError          **error)
{
  struct stat st;

  g_assert (self->offsets != NULL);

  if (fstat (self->fd, &st) != 0)
    return set_errno_error (error, errno, "cannot stat", self->path);

  if ((guint64) st.st_size <= self->length)
    return TRUE;

  if (self->length < NET_REDEX_SEG_HEADER_SIZE)
    self->length = NET_REDEX_SEG_HEADER_SIZE;

  if (!segment_scan_file (self, st.st_size))
    return set_errno_error (error, errno, "cannot read", self->path);

  return TRUE;
}

/*
 * The index of a sealed segment is mapped without being read at open; the
 * first use checks it, and rebuilds it from the data if it is damaged.
 */
gboolean
_net_redex_segment_ensure_index (NetRedexSegment  *self,
                                 GError          **error)
{
  NetRedexIndexHeader header;

  if (self->offsets != NULL || self->map_checked)
    return TRUE;

  if (net_redex_index_header_decode (self->map, self->map_len, &header) &&
      net_redex_index_offsets_valid (&header, self->map + NET_REDEX_IDX_HEADER_SIZE,
                                     self->map_len - NET_REDEX_IDX_HEADER_SIZE))
    {
      self->map_checked = TRUE;
      return TRUE;
    }

  g_warning ("%s: index is damaged, rebuilding it from the segment", self->idx_path);

  munmap (self->map, self->map_len);
  self->map = NULL;
  self->map_len = 0;

  if (!segment_rescan (self, self->length, error))
    return FALSE;

  if (!self->read_only && self->n_bad == 0)
    {
      g_autoptr(GError) local_error = NULL;

      if (!segment_write_index (self, &local_error))
        g_warning ("%s", local_error->message);
    }

  return TRUE;
}

guint64
_net_redex_segment_get_offset (NetRedexSegment *self,
                               guint64          index)
{
  g_assert (index < self->count);

  if (self->offsets != NULL)
    return _net_redex_offsets_get (self->offsets, index);

  return net_redex_read_u64 (self->map + NET_REDEX_IDX_HEADER_SIZE + index * 8);
}

/* Where the record at @index ends: the next one's offset, or the end. */
guint64
_net_redex_segment_get_end (NetRedexSegment *self,
                            guint64          index)
{
  if (index + 1 < self->count)
    return _net_redex_segment_get_offset (self, index + 1);
  return self->length;
}

gboolean
_net_redex_segment_sync (NetRedexSegment  *self,
                         GError          **error)
{
  if (net_io_fdatasync (self->fd) != 0)
    return set_errno_error (error, errno, "cannot sync", self->path);
  return TRUE;
}

/*
 * _net_redex_segment_trim:
 *
 * A segment that is no longer the active one ends at its data: its
 * preallocated rest goes as soon as the writer rolls, before the next
 * segment exists, since readers (and recovery) take the size of a segment
 * that has a successor as its data end (and the index checks it).  The
 * seal's sync makes the new size durable with the data.
 */
gboolean
_net_redex_segment_trim (NetRedexSegment  *self,
                         GError          **error)
{
  if (self->file_size > self->length)
    {
      if (net_io_ftruncate (self->fd, self->length) != 0)
        return set_errno_error (error, errno, "cannot truncate", self->path);
      self->file_size = self->zeroed_to = self->length;
    }

  return TRUE;
}

gboolean
_net_redex_segment_seal (NetRedexSegment  *self,
                         GError          **error)
{
  if (!_net_redex_segment_trim (self, error) ||
      !_net_redex_segment_sync (self, error))
    return FALSE;

  /* The caller sets ->sealed under its lock. */
  return self->n_bad > 0 || segment_write_index (self, error);
}

static char *
incomplete_batch_note (const char *name,
                       gsize       offset,
                       guint64     first,
                       guint64     last,
                       gsize       n_bytes)
{
  return g_strdup_printf ("%s at offset %" G_GSIZE_FORMAT ": the last batch is incomplete (seqs %"
                          G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " without its last record, %"
                          G_GSIZE_FORMAT " bytes; the next writer truncates it)",
                          name, offset, first, last, n_bytes);
}

/*
 * Reads the whole segment and reports every damaged record in @problems.
 * What a crash leaves at the end of the active segment (a torn last record,
 * or a batch without its last record) is no damage: the next writer
 * truncates it.  When this reader did not truncate it itself (it is not
 * the writer), it goes to @incomplete instead.
 */
void
_net_redex_segment_verify (NetRedexSegment *self,
                           GPtrArray       *problems,
                           GPtrArray       *incomplete)
{
  g_autofree guint8 *data = NULL;
  g_autofree char *name = g_path_get_basename (self->path);
  struct stat st;
  guint64 base_seq = 0;
  guint64 next_seq;
  gsize len = 0;
  gsize p;
  gsize batch_start = 0;
  guint64 batch_first = 0;

  if (fstat (self->fd, &st) != 0 ||
      (data = read_whole (self->fd, 0, st.st_size, &len)) == NULL)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s: cannot read: %s", name, g_strerror (errno)));
      return;
    }

  if (len < NET_REDEX_SEG_HEADER_SIZE)
    {
      if (self->sealed)
        g_ptr_array_add (problems, g_strdup_printf ("%s: sealed segment is truncated to %" G_GSIZE_FORMAT " bytes", name, len));
      return;
    }

  if (!net_redex_segment_header_decode (data, len, &base_seq) || base_seq != self->base_seq)
    {
      if (!self->sealed && self->read_only && segment_header_is_hole (data))
        g_ptr_array_add (incomplete,
                         g_strdup_printf ("%s: the segment's header never reached the disk (%" G_GSIZE_FORMAT
                                          " bytes; the next writer truncates them)", name, len));
      else
        g_ptr_array_add (problems, g_strdup_printf ("%s: bad segment header at offset 0", name));
      return;
    }

  next_seq = self->base_seq;
  p = NET_REDEX_SEG_HEADER_SIZE;
  while (p < len)
    {
      NetRedexRecordHeader header;
      NetRedexRecordStatus status;
      guint64 found_seq = 0;
      gsize r;

      status = net_redex_record_decode (data + p, len - p, next_seq, &header);
      if (status == NET_REDEX_RECORD_OK)
        {
          if (self->count > next_seq - self->base_seq &&
              (self->offsets != NULL || self->map_checked || self->map != NULL) &&
              _net_redex_segment_get_offset (self, next_seq - self->base_seq) != p)
            g_ptr_array_add (problems,
                             g_strdup_printf ("%s: index puts seq %" G_GUINT64_FORMAT
                                              " at offset %" G_GUINT64_FORMAT ", the record is at %" G_GSIZE_FORMAT,
                                              name, next_seq,
                                              _net_redex_segment_get_offset (self, next_seq - self->base_seq), p));
          if (header.more && batch_first == 0)
            {
              batch_start = p;
              batch_first = next_seq;
            }
          else if (!header.more)
            batch_first = 0;
          p += NET_REDEX_REC_HEADER_SIZE + header.payload_len;
          next_seq++;
          continue;
        }

      /* Preallocated space the writer has not reached yet. */
      if (!self->sealed && region_is_zero (data + p, len - p))
        break;

      r = net_redex_record_resync (data, len, p, next_seq + 1, next_seq + RESYNC_MAX_SEQS, &found_seq);
      if (r != 0 && !self->sealed && net_redex_damage_is_torn (data, 0, p, r))
        r = 0;   /* a power cut's hole: the rest is a torn tail */
      if (r == 0)
        {
          gboolean crash_tail = !self->sealed && self->read_only;

          if (batch_first != 0 && crash_tail)
            g_ptr_array_add (incomplete,
                             incomplete_batch_note (name, batch_start, batch_first, next_seq - 1, len - batch_start));
          else if (crash_tail)
            g_ptr_array_add (incomplete,
                             g_strdup_printf ("%s at offset %" G_GSIZE_FORMAT ": the last record is incomplete (%"
                                              G_GSIZE_FORMAT " bytes; the next writer truncates it)",
                                              name, p, len - p));
          else
            g_ptr_array_add (problems,
                             g_strdup_printf ("%s: record seq %" G_GUINT64_FORMAT " at offset %" G_GSIZE_FORMAT
                                              " is %s; %" G_GSIZE_FORMAT " bytes to the end of the file are unreadable",
                                              name, next_seq, p,
                                              status == NET_REDEX_RECORD_INCOMPLETE ? "incomplete" : "damaged (checksum mismatch)",
                                              len - p));
          batch_first = 0;
          break;
        }

      for (guint64 s = next_seq; s < found_seq; s++)
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s: record seq %" G_GUINT64_FORMAT " at offset %" G_GSIZE_FORMAT
                                          " is damaged (checksum mismatch)",
                                          name, s, p));
      next_seq = found_seq;
      p = r;
    }

  /* Every record is whole but the batch's last one was never written. */
  if (batch_first != 0)
    {
      if (!self->sealed && self->read_only)
        g_ptr_array_add (incomplete,
                         incomplete_batch_note (name, batch_start, batch_first, next_seq - 1, len - batch_start));
      else
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s: the batch that starts with seq %" G_GUINT64_FORMAT
                                          " at offset %" G_GSIZE_FORMAT " has no last record",
                                          name, batch_first, batch_start));
    }
}
