/* net-redex-file.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "net-error.h"
#include "net-owner-private.h"
#include "net-pages-private.h"
#include "net-redex-private.h"
#include "net-redex-io-private.h"
#include "net-redex-segment-private.h"

/**
 * SECTION:net-redex-file
 * @title: NetRedexFile
 * @short_description: one append-only log
 *
 * A #NetRedexFile is one named, append-only log of a #NetRedex.  Every
 * event gets the next sequence number: they start at 1 and rise by one
 * without gaps; 0 means "none" everywhere in the API.  A sequence number
 * that was durable is never handed out again, not even after every event
 * was evicted.
 *
 * Appends and reads are safe from any thread.  A persistent log keeps its
 * records in segment files and reads payloads from disk; only the offsets
 * of the records are held in memory.
 *
 * A log opened through a read-only #NetRedex follows the appends of the
 * process that writes it: the owner #GMainContext of the log (the
 * thread-default one when it was opened) watches the directory and picks up
 * new records, so tails and reads see them.
 */

/**
 * NetRedexFile:
 *
 * One named, append-only log.
 */

/* Events fetched by a tail in one go. */
#define TAIL_FETCH_MAX 256
/* Payload bytes read with one pread() by read_range(). */
#define READ_SPAN_MAX (1024 * 1024)
/* How often a read-only log looks for changes when no file monitor event
 * arrives (a fallback for file systems without inotify). */
#define FOLLOW_POLL_MS 500

typedef struct
{
  guint64  seq;
  GTask   *task;
  GSource *cancel_source;   /* in the task's context, or NULL */
} DurableWaiter;

struct _NetRedexFile
{
  GObject          parent_instance;

  NetRedex        *redex;     /* keeps the directory lock while open */
  char            *name;
  char            *dir;       /* NULL in memory */
  NetRedexLimits   limits;
  guint            persistent : 1;
  guint            read_only : 1;

  GMutex           mutex;
  GCond            sync_cond;
  GCond            worker_cond;

  gboolean         closed;
  gboolean         broken;
  guint64          first_seq;
  guint64          next_seq;
  guint64          durable_seq;
  gint64           last_ts;

  /* In memory: the records, packed into chunks (MemChunk), and the offset
   * of each in its chunk: mem_offs[i] is seq events_base + i; the first
   * events_head were evicted, until the array is compacted.  A record is
   * its payload length and timestamp (varints) and its payload, whose
   * first bytes may be packed against the chunk's (MEM_PREFIX); reads
   * hand out views of the chunk (copies of packed records), so an append
   * allocates nothing but now and then a chunk. */
  GPtrArray       *chunks;      /* MemChunk*, in seq order */
  guint32         *mem_offs;
  gsize            mem_len;     /* of mem_offs, evicted ones included */
  gsize            mem_cap;
  guint64          events_base;
  gsize            events_head;
  guint64          mem_bytes;
  gsize            next_chunk_size;

  /* On disk. */
  GPtrArray       *segments;
  guint64          disk_bytes;
  GByteArray      *scratch;
  guint64          unsynced;
  gboolean         syncing;
  gint64           last_sync_time;
  GQueue           durable_waiters;
  GThread         *worker;
  gboolean         worker_quit;
  guint64          durable_requested;
  GPtrArray       *unsealed;   /* rolled, not yet synced and indexed */
  gboolean         dir_dirty;   /* a segment was created since the last sync */
  GError          *sync_error;  /* sticky: a failed fsync */
  gboolean         sync_held;   /* tests: the worker starts no round */
  guint64          writeback_from;

  GPtrArray       *tails;
  GPtrArray       *watches;     /* RedexWatch: GSources woken on changes */
  guint64          restarts;    /* resets made, or (read-only) seen */

  /* Following another process's writes. */
  GFileMonitor    *monitor;
  GSource         *poll_source;
};

G_DEFINE_FINAL_TYPE (NetRedexFile, net_redex_file, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_READ_ONLY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean follow_refresh_locked (NetRedexFile *self);
static gboolean write_meta_floor_locked (NetRedexFile  *self,
                                         guint64        first_seq,
                                         guint64        next_seq_floor,
                                         GError       **error);
static gboolean disk_sweep_locked     (NetRedexFile  *self,
                                       guint64       *out_evicted,
                                       GError       **error);

static inline NetRedexSegment *
active_segment (NetRedexFile *self)
{
  g_assert (self->segments->len > 0);
  return g_ptr_array_index (self->segments, self->segments->len - 1);
}

static gboolean
check_writable_locked (NetRedexFile  *self,
                       GError       **error)
{
  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED,
                   "log “%s” is closed", self->name);
      return FALSE;
    }
  if (self->read_only)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_READ_ONLY,
                   "log “%s” is open read-only", self->name);
      return FALSE;
    }
  if (self->broken)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "log “%s” refuses writes after a write it could not roll back; reopen it",
                   self->name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_open_locked (NetRedexFile  *self,
                   GError       **error)
{
  if (self->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED,
                   "log “%s” is closed", self->name);
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  GSource  *source;
  gboolean  armed;
} RedexWatch;

static void
redex_watch_free (gpointer data)
{
  RedexWatch *w = data;

  g_source_unref (w->source);
  g_free (w);
}

/* A watch is woken once, then stays quiet until its owner re-arms it
 * (each wake-up costs a write to the main context's eventfd). */
static void
wake_watches_locked (NetRedexFile *self)
{
  for (guint i = 0; i < self->watches->len; i++)
    {
      RedexWatch *w = g_ptr_array_index (self->watches, i);

      if (w->armed)
        {
          w->armed = FALSE;
          g_source_set_ready_time (w->source, 0);
        }
    }
}

/* Tails: lag accounting and wake-ups.  Called with the mutex held. */
static void
notify_tails_locked (NetRedexFile *self)
{
  wake_watches_locked (self);

  for (guint i = 0; i < self->tails->len; i++)
    {
      NetRedexTail *tail = g_ptr_array_index (self->tails, i);
      guint64 base = MAX (tail->cursor, tail->live_start);

      if (!tail->lagged && self->next_seq > base &&
          self->next_seq - base > self->limits.tail_buffer)
        tail->lagged = TRUE;

      if (tail->waiting)
        {
          tail->waiting = FALSE;
          _net_redex_tail_wake (tail);
        }
    }
}

static void
wake_all_tails_locked (NetRedexFile *self)
{
  wake_watches_locked (self);

  for (guint i = 0; i < self->tails->len; i++)
    {
      NetRedexTail *tail = g_ptr_array_index (self->tails, i);

      tail->waiting = FALSE;
      _net_redex_tail_wake (tail);
    }
}

/* Durability ------------------------------------------------------------ */

static void
durable_waiter_free (DurableWaiter *w)
{
  if (w->cancel_source != NULL)
    {
      g_source_destroy (w->cancel_source);
      g_source_unref (w->cancel_source);
    }
  g_object_unref (w->task);
  g_free (w);
}

static void
complete_waiters (GPtrArray    *done,
                  const GError *error)
{
  if (done == NULL)
    return;

  for (guint i = 0; i < done->len; i++)
    {
      DurableWaiter *w = g_ptr_array_index (done, i);

      if (error != NULL)
        g_task_return_error (w->task, g_error_copy (error));
      else
        g_task_return_boolean (w->task, TRUE);
      durable_waiter_free (w);
    }
}

/*
 * A durable-append waiter was cancelled: in the task's context, so that
 * the source may go away here.  Whoever takes the waiter off the queue
 * (this, or the worker once the event is durable) completes the task.
 */
static gboolean
append_durable_cancelled_cb (GCancellable *cancellable,
                             gpointer      user_data)
{
  GTask *task = user_data;
  NetRedexFile *self = g_task_get_source_object (task);
  DurableWaiter *found = NULL;

  g_mutex_lock (&self->mutex);
  for (GList *l = self->durable_waiters.head; l != NULL; l = l->next)
    {
      DurableWaiter *w = l->data;

      if (w->task == task)
        {
          found = w;
          g_queue_delete_link (&self->durable_waiters, l);
          break;
        }
    }
  g_mutex_unlock (&self->mutex);

  if (found != NULL)
    {
      g_task_return_new_error (found->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "waiting for log “%s” to be durable was cancelled; the event stays appended",
                               self->name);
      durable_waiter_free (found);
    }

  return G_SOURCE_REMOVE;
}

static void
collect_waiters_locked (NetRedexFile  *self,
                        GPtrArray    **done,
                        gboolean       all)
{
  GList *l = self->durable_waiters.head;

  while (l != NULL)
    {
      GList *next = l->next;
      DurableWaiter *w = l->data;

      if (all || w->seq <= self->durable_seq)
        {
          if (*done == NULL)
            *done = g_ptr_array_new ();
          g_ptr_array_add (*done, w);
          g_queue_delete_link (&self->durable_waiters, l);
        }
      l = next;
    }
}

/*
 * Durability is the worker thread's job: it alone calls fdatasync(), for
 * everything appended so far, so concurrent waiters share one (group
 * commit) and appenders never block on the disk while holding the mutex.
 * A round also finishes the segments rolled since the last one (sync, then
 * their index) and syncs the directory when a segment was created.
 */
static void
sync_round_locked (NetRedexFile  *self,
                   GPtrArray    **done)
{
  g_autoptr(GPtrArray) segs = g_ptr_array_new_with_free_func ((GDestroyNotify) _net_redex_segment_unref);
  g_autoptr(GError) error = NULL;
  guint64 upto = self->next_seq - 1;
  gboolean dir = self->dir_dirty;
  guint n_unsealed = self->unsealed->len;
  gboolean ok = TRUE;

  for (guint i = 0; i < n_unsealed; i++)
    g_ptr_array_add (segs, _net_redex_segment_ref (g_ptr_array_index (self->unsealed, i)));
  if (self->segments->len > 0)
    g_ptr_array_add (segs, _net_redex_segment_ref (active_segment (self)));
  self->dir_dirty = FALSE;
  self->syncing = TRUE;

  g_mutex_unlock (&self->mutex);

  /* Sealed segments get their index only once their data is durable. */
  for (guint i = 0; ok && i < segs->len; i++)
    {
      if (i < n_unsealed)
        ok = _net_redex_segment_seal (g_ptr_array_index (segs, i), &error);
      else
        ok = _net_redex_segment_sync (g_ptr_array_index (segs, i), &error);
    }
  if (ok && dir)
    ok = _net_redex_sync_dir (self->dir, &error);

  g_mutex_lock (&self->mutex);

  self->syncing = FALSE;
  if (ok)
    {
      if (upto > self->durable_seq)
        self->durable_seq = upto;
      self->unsynced = 0;
      self->last_sync_time = g_get_monotonic_time ();
      for (guint i = 0; i < n_unsealed; i++)
        ((NetRedexSegment *) g_ptr_array_index (self->unsealed, i))->sealed = TRUE;
      g_ptr_array_remove_range (self->unsealed, 0, n_unsealed);
      if (n_unsealed > 0 &&
          (self->limits.retention_max_events || self->limits.retention_max_bytes ||
           self->limits.retention_max_age))
        {
          g_autoptr(GError) sweep_error = NULL;

          if (!disk_sweep_locked (self, NULL, &sweep_error))
            g_warning ("log “%s”: retention sweep failed: %s", self->name, sweep_error->message);
        }
    }
  else
    {
      /* After a failed fsync the kernel may have dropped the dirty pages:
       * nothing written since the last good sync is safe, so the log
       * refuses writes from now on. */
      g_warning ("log “%s”: %s", self->name, error->message);
      self->broken = TRUE;
      self->dir_dirty |= dir;
      if (self->sync_error == NULL)
        self->sync_error = g_steal_pointer (&error);
    }

  collect_waiters_locked (self, done, self->sync_error != NULL);
  g_cond_broadcast (&self->sync_cond);
}

static gboolean
sync_work_pending_locked (NetRedexFile *self)
{
  return self->durable_requested > self->durable_seq ||
         !g_queue_is_empty (&self->durable_waiters) ||
         self->unsealed->len > 0 ||
         self->dir_dirty;
}

static gpointer
sync_worker (gpointer data)
{
  NetRedexFile *self = data;

  g_mutex_lock (&self->mutex);

  while (!self->worker_quit)
    {
      g_autoptr(GPtrArray) done = NULL;

      if (self->sync_error != NULL)
        {
          collect_waiters_locked (self, &done, TRUE);
          g_cond_broadcast (&self->sync_cond);
          /* Nothing will be synced any more: sleep until a new waiter or
           * close, instead of spinning with the mutex held (which kept
           * close() from ever taking it). */
          if (done == NULL)
            g_cond_wait (&self->worker_cond, &self->mutex);
        }
      else if (sync_work_pending_locked (self) && !self->sync_held)
        {
          /* Let appenders that are about to wait join this round. */
          g_mutex_unlock (&self->mutex);
          g_thread_yield ();
          g_mutex_lock (&self->mutex);
          sync_round_locked (self, &done);
        }
      else if (self->limits.fsync_policy == NET_FSYNC_POLICY_INTERVAL &&
               self->durable_seq + 1 < self->next_seq)
        {
          gint64 deadline = self->last_sync_time + (gint64) MAX (self->limits.fsync_param, 1) * 1000;

          if (g_get_monotonic_time () < deadline)
            g_cond_wait_until (&self->worker_cond, &self->mutex, deadline);
          else
            sync_round_locked (self, &done);
        }
      else
        g_cond_wait (&self->worker_cond, &self->mutex);

      if (done != NULL)
        {
          g_autoptr(GError) error = self->sync_error ? g_error_copy (self->sync_error) : NULL;

          g_mutex_unlock (&self->mutex);
          complete_waiters (done, error);
          g_mutex_lock (&self->mutex);
        }
    }

  g_mutex_unlock (&self->mutex);

  return NULL;
}

static void
ensure_worker_locked (NetRedexFile *self)
{
  if (self->worker == NULL)
    {
      g_autofree char *name = g_strdup_printf ("netdb-sync-%.6s", self->name);

      self->last_sync_time = g_get_monotonic_time ();
      self->worker = g_thread_new (name, sync_worker, self);
    }
  g_cond_signal (&self->worker_cond);
}

/* Waits until every event up to @target is durable. */
static gboolean
wait_durable_locked (NetRedexFile  *self,
                     guint64        target,
                     GError       **error)
{
  if (!self->persistent || self->read_only)
    return TRUE;

  while (self->durable_seq < target || self->unsealed->len > 0 || self->dir_dirty)
    {
      if (self->sync_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->sync_error));
          return FALSE;
        }
      if (target > self->durable_requested)
        self->durable_requested = target;
      ensure_worker_locked (self);
      g_cond_wait (&self->sync_cond, &self->mutex);
      /* Retention may have lowered what there is to wait for. */
      target = MIN (target, self->next_seq - 1);
    }

  return TRUE;
}

/* Appending ------------------------------------------------------------- */

static gboolean
pwritev_all (int           fd,
             struct iovec *iov,
             int           iovcnt,
             guint64       offset)
{
  while (iovcnt > 0)
    {
      ssize_t r = net_io_pwritev (fd, iov, iovcnt, offset);

      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }

      offset += r;
      while (iovcnt > 0 && (size_t) r >= iov->iov_len)
        {
          r -= iov->iov_len;
          iov++;
          iovcnt--;
        }
      if (iovcnt > 0)
        {
          iov->iov_base = (guint8 *) iov->iov_base + r;
          iov->iov_len -= r;
        }
    }

  return TRUE;
}

static gboolean
roll_locked (NetRedexFile  *self,
             GError       **error)
{
  NetRedexSegment *seg;

  /* The new segment takes appends at once; the worker makes the old one
   * durable and writes its index, outside the mutex.  The old one ends at
   * its data before the new one exists. */
  if (!_net_redex_segment_trim (active_segment (self), error))
    return FALSE;
  seg = _net_redex_segment_create (self->dir, self->next_seq, error);
  if (seg == NULL)
    return FALSE;

  g_ptr_array_add (self->unsealed, _net_redex_segment_ref (active_segment (self)));
  g_ptr_array_add (self->segments, seg);
  self->disk_bytes += seg->length;
  self->dir_dirty = TRUE;
  self->writeback_from = seg->length;
  ensure_worker_locked (self);

  return TRUE;
}

/*
 * One pwritev() for the whole batch, rolled back if it fails.  Every record
 * but the last is marked "REC+", so that a crash in the middle of the write
 * leaves a batch that recovery drops whole (net-redex-format-private.h).
 */
static gboolean
disk_append_locked (NetRedexFile       *self,
                    const NetRedexSpan *payloads,
                    const gint64  *timestamps,
                    guint          n,
                    gint64         now,
                    GError       **error)
{
  NetRedexSegment *active = active_segment (self);
  guint64 total = 0;
  guint64 offset;
  guint8 *headers;
  gboolean ok;

  for (guint i = 0; i < n; i++)
    total += NET_REDEX_REC_HEADER_SIZE + payloads[i].len;

  if (active->count > 0 && active->length + total > self->limits.segment_size)
    {
      if (!roll_locked (self, error))
        return FALSE;
      active = active_segment (self);
    }

  offset = active->length;

  /* The first append to a segment allocates all of it; every append finds
   * its blocks written beforehand, so that a durable append's fdatasync
   * changes no metadata (no size change, no extent to convert). */
  if (!active->preallocated)
    {
      active->preallocated = TRUE;
      _net_redex_segment_preallocate (active, self->limits.segment_size);
    }
  if (!_net_redex_segment_zero_ahead (active, offset + total, error))
    return FALSE;

  /* Copying small records into one buffer beats a long iovec; large
   * payloads are written from where they are. */
  if (total > 256 * 1024 && (gsize) n * 2 <= IOV_MAX)
    {
      struct iovec *iov = g_newa (struct iovec, (gsize) n * 2);

      g_byte_array_set_size (self->scratch, (gsize) n * NET_REDEX_REC_HEADER_SIZE);
      headers = self->scratch->data;
      for (guint i = 0; i < n; i++)
        {
          gsize len = payloads[i].len;
          const guint8 *data = payloads[i].data;
          gint64 ts = timestamps ? timestamps[i] : now;

          net_redex_record_encode_header_full (headers + (gsize) i * NET_REDEX_REC_HEADER_SIZE,
                                               self->next_seq + i, ts, data, len, i + 1 < n);
          iov[2 * i].iov_base = headers + (gsize) i * NET_REDEX_REC_HEADER_SIZE;
          iov[2 * i].iov_len = NET_REDEX_REC_HEADER_SIZE;
          iov[2 * i + 1].iov_base = (gpointer) data;
          iov[2 * i + 1].iov_len = len;
        }
      ok = pwritev_all (active->fd, iov, n * 2, offset);
    }
  else
    {
      struct iovec iov;
      gsize p = 0;

      g_byte_array_set_size (self->scratch, total);
      headers = self->scratch->data;
      for (guint i = 0; i < n; i++)
        {
          gsize len = payloads[i].len;
          const guint8 *data = payloads[i].data;
          gint64 ts = timestamps ? timestamps[i] : now;

          net_redex_record_encode_header_full (headers + p, self->next_seq + i, ts, data, len, i + 1 < n);
          if (len > 0)
            memcpy (headers + p + NET_REDEX_REC_HEADER_SIZE, data, len);
          p += NET_REDEX_REC_HEADER_SIZE + len;
        }
      iov.iov_base = headers;
      iov.iov_len = total;
      ok = pwritev_all (active->fd, &iov, 1, offset);
    }

  if (self->scratch->len > 1024 * 1024)
    {
      g_byte_array_unref (self->scratch);
      self->scratch = g_byte_array_new ();
    }

  if (!ok)
    {
      int saved_errno = errno;

      if (net_io_ftruncate (active->fd, offset) != 0)
        self->broken = TRUE;
      active->file_size = active->zeroed_to = offset;

      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot append to %s: %s", active->path, g_strerror (saved_errno));
      return FALSE;
    }

  for (guint i = 0; i < n; i++)
    {
      gint64 ts = timestamps ? timestamps[i] : now;

      _net_redex_offsets_append (active->offsets, offset);
      offset += NET_REDEX_REC_HEADER_SIZE + payloads[i].len;
      active->min_ts = MIN (active->min_ts, ts);
      active->max_ts = MAX (active->max_ts, ts);
    }
  active->count += n;
  active->length = offset;
  self->disk_bytes += total;

  /* Start writeback early so that sealing a segment (or any later fsync)
   * finds little dirty data. */
  if (offset - self->writeback_from >= 8 * 1024 * 1024)
    {
      sync_file_range (active->fd, self->writeback_from, offset - self->writeback_from,
                       SYNC_FILE_RANGE_WRITE);
      self->writeback_from = offset;
    }

  return TRUE;
}

/* The in-memory records ---------------------------------------------------- */

/* The first bytes of the first record of a chunk (when it has that many)
 * are its prefix; each later record stores only those of its own first
 * bytes that differ, after a mask of which they are.  Payloads of one log
 * tend to start alike (a model event's header: its origin, the high bytes
 * of its app_seq), so this keeps a few of its 20 bytes. */
#define MEM_PREFIX 20

/* A block of records.  The log holds a reference to each of its chunks,
 * and each view a read handed out holds one to its own: eviction drops
 * the log's, and a chunk lives as long as a view of it. */
typedef struct
{
  gatomicrefcount  ref_count;
  guint64          first_seq;   /* of its first record */
  guint32          n;           /* records */
  guint32          len;         /* bytes used */
  guint32          size;        /* bytes of data[] */
  gint64           base_ts;     /* timestamps are stored relative to it */
  gint64          *window_ts;   /* a large chunk's: see below; else NULL */
  guint32          n_windows;   /* of window_ts set */
  gboolean         has_prefix;
  guint8           prefix[MEM_PREFIX];
  guint8           data[];
} MemChunk;

/* The first chunk of a log is small (many logs hold few events); each next
 * one is twice as large, up to this: a chunk no larger keeps the deltas of
 * its timestamps to its base_ts short (two bytes each at a million records
 * a second, where 1 MiB chunks took three). */
#define MEM_CHUNK_MIN  (4 * 1024)
#define MEM_CHUNK_MAX  (64 * 1024)

/*
 * A log that holds MEM_LARGE_AFTER chunks of MEM_CHUNK_MAX (2 MiB) takes
 * large ones, of 2 MiB in a huge page (_net_pages_alloc_huge()): a
 * million events touch 20 000 fewer pages, and a first touch costs
 * microseconds in a virtual machine.  A large chunk keeps its timestamps
 * short as the small ones do: a record's is relative to the first
 * timestamp of its 64 KiB window of data (window_ts, after its data).
 * Not where retention keeps the log's bytes below
 * MEM_LARGE_RETENTION_MIN: a chunk lives until its last record is
 * evicted.
 */
#define MEM_LARGE_AFTER         32
#define MEM_LARGE_RETENTION_MIN ((guint64) 64 * 1024 * 1024)
#define MEM_WINDOW_SHIFT        16
#define MEM_LARGE_WINDOWS       32
/* A large chunk's data: the block less its header, its windows' first
 * timestamps and room to align them. */
#define MEM_LARGE_SIZE \
  ((NET_PAGES_HUGE_BLOCK - G_STRUCT_OFFSET (MemChunk, data) - (MEM_LARGE_WINDOWS + 1) * sizeof (gint64)) & ~(gsize) 7)
G_STATIC_ASSERT (MEM_LARGE_SIZE <= (gsize) MEM_LARGE_WINDOWS << MEM_WINDOW_SHIFT);
G_STATIC_ASSERT (MEM_LARGE_SIZE > (gsize) (MEM_LARGE_WINDOWS - 1) << MEM_WINDOW_SHIFT);
/* A record's header at most: two 10-byte varints, and a packed prefix's
 * mask (3 bytes). */
#define MEM_REC_HEADER_MAX 24

static MemChunk *
mem_chunk_ref (MemChunk *chunk)
{
  g_atomic_ref_count_inc (&chunk->ref_count);
  return chunk;
}

static void
mem_chunk_unref (gpointer data)
{
  MemChunk *chunk = data;

  if (!g_atomic_ref_count_dec (&chunk->ref_count))
    return;
  if (chunk->window_ts != NULL)
    _net_pages_free_huge (chunk);
  else
    g_free (chunk);
}

static inline guint8 *
mem_put_varint (guint8  *p,
                guint64  v)
{
  while (v >= 0x80)
    {
      *p++ = (guint8) (v | 0x80);
      v >>= 7;
    }
  *p++ = (guint8) v;
  return p;
}

static inline const guint8 *
mem_get_varint (const guint8 *p,
                guint64      *out)
{
  guint64 v = 0;
  guint shift = 0;

  while (*p & 0x80)
    {
      v |= (guint64) (*p++ & 0x7f) << shift;
      shift += 7;
    }
  *out = v | (guint64) *p++ << shift;
  return p;
}

/* The record at @offset of @chunk: its payload length and timestamp, and
 * where its stored bytes start; *@packed when they begin with a prefix
 * mask (mem_unpack()). */
static inline const guint8 *
mem_record (const MemChunk *chunk,
            guint32         offset,
            gsize          *payload_len,
            gint64         *timestamp,
            gboolean       *packed)
{
  const guint8 *p = chunk->data + offset;
  guint64 len, zz;

  p = mem_get_varint (p, &len);
  p = mem_get_varint (p, &zz);
  *payload_len = len >> 1;
  *packed = len & 1;
  *timestamp = (chunk->window_ts != NULL ? chunk->window_ts[offset >> MEM_WINDOW_SHIFT] : chunk->base_ts) +
               (gint64) ((zz >> 1) ^ (~(zz & 1) + 1));
  return p;
}

/* Writes the @len bytes of payload of a packed record, whose stored bytes
 * are at @p, to @out; returns where its stored bytes end. */
static inline const guint8 *
mem_unpack_to (const MemChunk *chunk,
               const guint8   *p,
               gsize           len,
               guint8         *out)
{
  guint64 mask;

  p = mem_get_varint (p, &mask);
  memcpy (out, chunk->prefix, MEM_PREFIX);
  for (; mask != 0; mask &= mask - 1)
    out[__builtin_ctzll (mask)] = *p++;
  memcpy (out + MEM_PREFIX, p, len - MEM_PREFIX);
  return p + (len - MEM_PREFIX);
}

/* The payload of a packed record, whose stored bytes are at @p. */
static guint8 *
mem_unpack (const MemChunk *chunk,
            const guint8   *p,
            gsize           len)
{
  guint8 *out = g_malloc (len);

  mem_unpack_to (chunk, p, len, out);
  return out;
}

/* The chunk holding @seq (retained), by its index in chunks. */
static guint
mem_chunk_index (NetRedexFile *self,
                 guint64       seq)
{
  guint lo = 0, hi = self->chunks->len;

  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;

      if (((MemChunk *) g_ptr_array_index (self->chunks, mid))->first_seq <= seq)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

/* Appends one record (seq next_seq + the records appended before it in
 * this call: the caller moves next_seq). */
static void
mem_append_locked (NetRedexFile *self,
                   guint64       seq,
                   const guint8 *payload,
                   gsize         len,
                   gint64        ts)
{
  MemChunk *chunk = self->chunks->len > 0 ? g_ptr_array_index (self->chunks, self->chunks->len - 1) : NULL;
  guint8 *p;
  guint64 zz;

  gint64 base;

  if (chunk == NULL || (gsize) chunk->size - chunk->len < len + MEM_REC_HEADER_MAX)
    {
      gsize size = MAX (self->next_chunk_size, len + MEM_REC_HEADER_MAX);
      gboolean large = size == MEM_CHUNK_MAX && self->chunks->len >= MEM_LARGE_AFTER &&
                       (self->limits.retention_max_bytes == 0 ||
                        self->limits.retention_max_bytes >= MEM_LARGE_RETENTION_MIN);

      g_assert (size <= G_MAXUINT32);
      if (large)
        {
          size = MEM_LARGE_SIZE;
          chunk = _net_pages_alloc_huge ();
          chunk->window_ts = (gint64 *) (((guintptr) (chunk->data + size) + 7) & ~(guintptr) 7);
        }
      else
        {
          chunk = g_malloc (G_STRUCT_OFFSET (MemChunk, data) + size);
          chunk->window_ts = NULL;
        }
      g_atomic_ref_count_init (&chunk->ref_count);
      chunk->first_seq = seq;
      chunk->n = 0;
      chunk->len = 0;
      chunk->size = (guint32) size;
      chunk->base_ts = ts;
      chunk->n_windows = 0;
      chunk->has_prefix = FALSE;
      g_ptr_array_add (self->chunks, chunk);
      self->next_chunk_size = MIN (self->next_chunk_size * 2, MEM_CHUNK_MAX);
    }

  if (self->mem_len == self->mem_cap)
    {
      /* Doubling while small (a realloc copies it), then by an eighth: a
       * large array is mmap'd and grows in place (mremap), and wastes at
       * most a ninth of it, where doubling wasted up to half. */
      self->mem_cap = self->mem_cap < 65536 ? MAX (self->mem_cap * 2, 256)
                                            : self->mem_cap + self->mem_cap / 8;
      self->mem_offs = g_renew (guint32, self->mem_offs, self->mem_cap);
    }
  self->mem_offs[self->mem_len++] = chunk->len;

  base = chunk->base_ts;
  if (chunk->window_ts != NULL)
    {
      guint32 w = chunk->len >> MEM_WINDOW_SHIFT;

      /* A window a record spans from before it is never any record's. */
      while (chunk->n_windows <= w)
        chunk->window_ts[chunk->n_windows++] = ts;
      base = chunk->window_ts[w];
    }
  zz = ((guint64) (ts - base) << 1) ^ (guint64) ((ts - base) >> 63);
  p = chunk->data + chunk->len;
  if (chunk->has_prefix && len >= MEM_PREFIX)
    {
      guint64 mask = 0;

      /* Word by word (8, 8 and 4 bytes): the words' XOR, its nonzero
       * bytes marked by their high bit, the marks gathered into the top
       * byte by a multiply. */
      G_STATIC_ASSERT (MEM_PREFIX == 20);
      for (guint w = 0; w < MEM_PREFIX; w += 8)
        {
          guint64 x;

          if (w < 16)
            {
              guint64 a, b;

              memcpy (&a, payload + w, 8);
              memcpy (&b, chunk->prefix + w, 8);
              x = GUINT64_FROM_LE (a ^ b);
            }
          else
            {
              guint32 a, b;

              memcpy (&a, payload + w, 4);
              memcpy (&b, chunk->prefix + w, 4);
              x = GUINT32_FROM_LE (a ^ b);
            }
          x = (((x & G_GUINT64_CONSTANT (0x7f7f7f7f7f7f7f7f)) + G_GUINT64_CONSTANT (0x7f7f7f7f7f7f7f7f)) | x) &
              G_GUINT64_CONSTANT (0x8080808080808080);
          mask |= ((x >> 7) * G_GUINT64_CONSTANT (0x0102040810204080)) >> 56 << w;
        }
      p = mem_put_varint (p, (guint64) len << 1 | 1);
      p = mem_put_varint (p, zz);
      p = mem_put_varint (p, mask);
      for (guint64 m = mask; m != 0; m &= m - 1)
        *p++ = payload[__builtin_ctzll (m)];
      memcpy (p, payload + MEM_PREFIX, len - MEM_PREFIX);
      p += len - MEM_PREFIX;
    }
  else
    {
      if (!chunk->has_prefix && len >= MEM_PREFIX)
        {
          memcpy (chunk->prefix, payload, MEM_PREFIX);
          chunk->has_prefix = TRUE;
        }
      p = mem_put_varint (p, (guint64) len << 1);
      p = mem_put_varint (p, zz);
      if (len > 0)
        memcpy (p, payload, len);
      p += len;
    }
  chunk->len = (guint32) (p - chunk->data);
  chunk->n++;
  self->mem_bytes += len + NET_REDEX_REC_HEADER_SIZE;
}

/* Forgets every record; the next one has seq @next_seq. */
static void
mem_clear_locked (NetRedexFile *self,
                  guint64       next_seq)
{
  g_ptr_array_set_size (self->chunks, 0);
  g_clear_pointer (&self->mem_offs, g_free);
  self->mem_len = self->mem_cap = 0;
  self->events_head = 0;
  self->events_base = next_seq;
  self->mem_bytes = 0;
  self->next_chunk_size = MEM_CHUNK_MIN;
}

static void
mem_compact_locked (NetRedexFile *self)
{
  /* Chunks whose every record was evicted. */
  while (self->chunks->len > 1)
    {
      MemChunk *second = g_ptr_array_index (self->chunks, 1);

      if (second->first_seq > self->first_seq)
        break;
      g_ptr_array_remove_index (self->chunks, 0);
    }
  if (self->chunks->len == 1 && self->first_seq == self->next_seq)
    g_ptr_array_set_size (self->chunks, 0);

  if (self->events_head > 1024 && self->events_head > self->mem_len / 2)
    {
      memmove (self->mem_offs, self->mem_offs + self->events_head,
               (self->mem_len - self->events_head) * sizeof (guint32));
      self->mem_len -= self->events_head;
      self->events_base += self->events_head;
      self->events_head = 0;
      if (self->mem_cap > 256 && self->mem_len < self->mem_cap / 4)
        {
          self->mem_cap /= 2;
          self->mem_offs = g_renew (guint32, self->mem_offs, self->mem_cap);
        }
    }
}

static guint64
mem_sweep_locked (NetRedexFile *self,
                  gint64        now)
{
  guint64 len = self->next_seq - self->first_seq;
  guint64 k = 0;
  guint ci = 0;

  if (self->limits.retention_max_events && len > self->limits.retention_max_events)
    k = len - self->limits.retention_max_events;

  /* Drop the first k, then keep dropping while bytes or age demand it. */
  for (guint64 i = 0; i < len; i++)
    {
      guint64 seq = self->first_seq;
      MemChunk *chunk;
      gsize payload_len;
      gint64 ts;
      gboolean packed;

      while (ci + 1 < self->chunks->len &&
             ((MemChunk *) g_ptr_array_index (self->chunks, ci + 1))->first_seq <= seq)
        ci++;
      chunk = g_ptr_array_index (self->chunks, ci);
      mem_record (chunk, self->mem_offs[seq - self->events_base], &payload_len, &ts, &packed);

      if (i >= k &&
          !(self->limits.retention_max_bytes && self->mem_bytes > self->limits.retention_max_bytes) &&
          !(self->limits.retention_max_age && ts < now - self->limits.retention_max_age))
        break;

      self->mem_bytes -= payload_len + NET_REDEX_REC_HEADER_SIZE;
      self->events_head++;
      self->first_seq++;
    }

  mem_compact_locked (self);

  return self->first_seq - (self->next_seq - len);
}

/* The events @start .. @end - 1 (retained) into @result, as views. */
static void
mem_read_locked (NetRedexFile *self,
                 guint64       start,
                 guint64       end,
                 GPtrArray    *result)
{
  guint ci = mem_chunk_index (self, start);
  MemChunk *chunk = g_ptr_array_index (self->chunks, ci);

  for (guint64 s = start; s < end; s++)
    {
      const guint8 *payload;
      gsize payload_len;
      gint64 ts;
      gboolean packed;
      GBytes *bytes;

      while (s >= chunk->first_seq + chunk->n)
        chunk = g_ptr_array_index (self->chunks, ++ci);
      payload = mem_record (chunk, self->mem_offs[s - self->events_base], &payload_len, &ts, &packed);
      if (packed)
        bytes = g_bytes_new_take (mem_unpack (chunk, payload, payload_len), payload_len);
      else
        bytes = g_bytes_new_with_free_func (payload, payload_len, mem_chunk_unref, mem_chunk_ref (chunk));
      g_ptr_array_add (result, _net_redex_event_new_take (s, ts, bytes));
    }
}

guint64
_net_redex_file_append_full (NetRedexFile  *self,
                             GBytes       **payloads,
                             const gint64  *timestamps,
                             guint          n,
                             guint64        expected_seq,
                             GError       **error)
{
  g_autofree NetRedexSpan *spans = g_new (NetRedexSpan, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    spans[i].data = g_bytes_get_data (payloads[i], &spans[i].len);
  return _net_redex_file_append_spans (self, spans, timestamps, n, expected_seq, error);
}

static guint64
append_one (NetRedexFile  *self,
            GBytes        *payload,
            guint64        expected_seq,
            GError       **error)
{
  NetRedexSpan span;

  span.data = g_bytes_get_data (payload, &span.len);
  return _net_redex_file_append_spans (self, &span, NULL, 1, expected_seq, error);
}

guint64
_net_redex_file_append_data (NetRedexFile  *self,
                             const guint8  *data,
                             gsize          len,
                             GError       **error)
{
  NetRedexSpan span = { data, len };

  return _net_redex_file_append_spans (self, &span, NULL, 1, 0, error);
}

guint64
_net_redex_file_append_spans (NetRedexFile        *self,
                              const NetRedexSpan  *payloads,
                              const gint64        *timestamps,
                              guint                n,
                              guint64              expected_seq,
                              GError             **error)
{
  g_autoptr(GError) sync_error = NULL;
  guint64 first;
  gint64 now;
  gboolean ok = TRUE;

  g_assert (n > 0);

  g_mutex_lock (&self->mutex);

  if (!check_writable_locked (self, error))
    goto fail;

  if (expected_seq != 0 && expected_seq != self->next_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH,
                   "log “%s”: expected next seq %" G_GUINT64_FORMAT ", the log is at %" G_GUINT64_FORMAT,
                   self->name, expected_seq, self->next_seq);
      goto fail;
    }

  /* Seq 0 means "none" and next_seq - 1 must not wrap: the last seq a
   * log can hand out is G_MAXUINT64 - 1. */
  if (n > G_MAXUINT64 - self->next_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                   "log “%s”: no sequence numbers left after %" G_GUINT64_FORMAT,
                   self->name, self->next_seq - 1);
      goto fail;
    }

  for (guint i = 0; i < n; i++)
    {
      gsize size = payloads[i].len;

      if (size > self->limits.max_payload)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE,
                       "log “%s”: payload of %" G_GSIZE_FORMAT " bytes is larger than the maximum of %u bytes",
                       self->name, size, self->limits.max_payload);
          goto fail;
        }
    }

  /* Timestamps never go backwards within a log, so age-based retention
   * can rely on their order.  (Read once: MAX() evaluates an argument
   * twice, and a clock read is the dearest part of a small append.) */
  now = g_get_real_time ();
  now = MAX (now, self->last_ts);
  first = self->next_seq;

  if (self->persistent)
    {
      if (!disk_append_locked (self, payloads, timestamps, n, now, error))
        goto fail;
    }
  else
    {
      for (guint i = 0; i < n; i++)
        mem_append_locked (self, first + i, payloads[i].data, payloads[i].len,
                           timestamps ? timestamps[i] : now);
    }

  self->next_seq += n;
  self->last_ts = timestamps ? MAX (self->last_ts, timestamps[n - 1]) : now;

  if (!self->persistent)
    {
      self->durable_seq = self->next_seq - 1;
      if (self->limits.retention_max_events || self->limits.retention_max_bytes ||
          self->limits.retention_max_age)
        mem_sweep_locked (self, now);
    }

  if (self->tails->len > 0 || self->watches->len > 0)
    notify_tails_locked (self);

  if (self->persistent)
    {
      switch (self->limits.fsync_policy)
        {
        case NET_FSYNC_POLICY_EVERY_N:
          self->unsynced += n;
          if (self->unsynced >= MAX (self->limits.fsync_param, 1))
            ok = wait_durable_locked (self, self->next_seq - 1, &sync_error);
          break;

        case NET_FSYNC_POLICY_ALWAYS:
          ok = wait_durable_locked (self, first + n - 1, &sync_error);
          break;

        case NET_FSYNC_POLICY_INTERVAL:
          if (self->worker == NULL)
            ensure_worker_locked (self);
          break;

        case NET_FSYNC_POLICY_NEVER:
        default:
          break;
        }
    }

  g_mutex_unlock (&self->mutex);

  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&sync_error));
      return 0;
    }

  return first;

fail:
  g_mutex_unlock (&self->mutex);
  return 0;
}

/* Reading --------------------------------------------------------------- */

/*
 * With @partial_ok, a damaged record ends the result instead of failing it
 * when events before it were read: a tail then delivers those and fails
 * at the damaged one on its next fetch.
 */
static gboolean
disk_read_locked (NetRedexFile  *self,
                  guint64        start,
                  guint64        end,
                  gboolean       partial_ok,
                  GPtrArray     *result,
                  GError       **error)
{
  while (start < end)
    {
      g_autoptr(GBytes) span = NULL;
      g_autofree guint64 *offs = NULL;
      NetRedexSegment *seg = NULL;
      guint lo = 0, hi = self->segments->len;
      guint64 idx, n, span_start, span_end;
      const guint8 *data;

      /* The last segment starting at or below @start. */
      while (hi - lo > 1)
        {
          guint mid = (lo + hi) / 2;

          if (((NetRedexSegment *) g_ptr_array_index (self->segments, mid))->base_seq <= start)
            lo = mid;
          else
            hi = mid;
        }
      seg = g_ptr_array_index (self->segments, lo);
      g_assert (seg->base_seq <= start && start < seg->base_seq + seg->count);

      if (!_net_redex_segment_ensure_index (seg, error))
        return FALSE;

      idx = start - seg->base_seq;
      n = MIN (end, seg->base_seq + seg->count) - start;

      /* Cap the bytes of one pread(), but always take one record. */
      span_start = _net_redex_segment_get_offset (seg, idx);
      offs = g_new (guint64, MIN (n, 65536) + 1);
      offs[0] = span_start;
      for (guint64 i = 0; i < n && i < 65536; i++)
        {
          guint64 rec_end = _net_redex_segment_get_end (seg, idx + i);

          if (i > 0 && rec_end - span_start > READ_SPAN_MAX)
            {
              n = i;
              break;
            }
          offs[i + 1] = rec_end;
          if (i + 1 == 65536)
            n = i + 1;
        }
      span_end = offs[n];

      _net_redex_segment_ref (seg);
      g_mutex_unlock (&self->mutex);

      span = _net_redex_segment_pread (seg, span_start, span_end - span_start, error);
      data = span ? g_bytes_get_data (span, NULL) : NULL;

      for (guint64 i = 0; span != NULL && i < n; i++)
        {
          NetRedexRecordHeader header;
          gsize rec_off = offs[i] - span_start;
          gsize rec_len = offs[i + 1] - offs[i];
          g_autofree char *base = NULL;

          if (net_redex_record_decode (data + rec_off, rec_len, start + i, &header) == NET_REDEX_RECORD_OK &&
              header.payload_len + NET_REDEX_REC_HEADER_SIZE == rec_len)
            {
              GBytes *payload = g_bytes_new_from_bytes (span, rec_off + NET_REDEX_REC_HEADER_SIZE,
                                                        header.payload_len);

              g_ptr_array_add (result, _net_redex_event_new_take (start + i, header.timestamp, payload));
              continue;
            }

          if (partial_ok && result->len > 0)
            {
              n = i;
              end = start + i;
              break;
            }

          base = g_path_get_basename (seg->path);
          g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                       "log “%s”, segment %s: record seq %" G_GUINT64_FORMAT
                       " at offset %" G_GUINT64_FORMAT " is damaged (checksum mismatch)",
                       self->name, base, start + i, offs[i]);
          g_clear_pointer (&span, g_bytes_unref);
        }

      _net_redex_segment_unref (seg);
      g_mutex_lock (&self->mutex);

      if (span == NULL)
        return FALSE;

      start += n;

      if (self->closed)
        break;

      /* Retention moved the floor past what we read meanwhile: the result
       * must stay one contiguous run, so start over from the new floor. */
      if (start < self->first_seq)
        {
          g_ptr_array_set_size (result, 0);
          start = self->first_seq;
        }
      end = MIN (end, self->next_seq);
    }

  return TRUE;
}

static GPtrArray *
read_range_locked (NetRedexFile  *self,
                   guint64        start,
                   guint64        end,
                   gboolean       partial_ok,
                   GError       **error)
{
  g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);

  if (!check_open_locked (self, error))
    return NULL;

  start = MAX (start, self->first_seq);
  end = MIN (end, self->next_seq);

  if (start >= end)
    return g_steal_pointer (&result);

  if (!self->persistent)
    {
      mem_read_locked (self, start, end, result);
      return g_steal_pointer (&result);
    }

  if (!disk_read_locked (self, start, end, partial_ok, result, error))
    return NULL;

  return g_steal_pointer (&result);
}

/* A run of records of one in-memory chunk that a visit walks. */
typedef struct
{
  MemChunk *chunk;   /* a reference */
  guint32   offset;  /* of its first record */
  guint64   seq;     /* of its first record */
  guint64   n;
} MemRun;

/* The payloads of a visit that fit this, unpacked, need no allocation. */
#define VISIT_SCRATCH 256

/*
 * Calls @func on each of the events [@start, @end) that the log retains,
 * in order, with the log unlocked (as read_range() would hand them out),
 * without a NetRedexEvent or a GBytes per event: an in-memory log's are
 * read from its chunks, which the visit holds meanwhile.  The data
 * passed to @func is valid during the call only.
 */
gboolean
_net_redex_file_visit_range (NetRedexFile      *self,
                             guint64            start,
                             guint64            end,
                             NetRedexVisitFunc  func,
                             gpointer           user_data,
                             GError           **error)
{
  MemRun stack_runs[16];
  MemRun *runs = stack_runs;
  guint n_runs = 0;
  guint8 stack_scratch[VISIT_SCRATCH];
  guint8 *heap_scratch = NULL;
  gsize heap_size = 0;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);

  if (self->persistent)
    {
      g_autoptr(GPtrArray) events = read_range_locked (self, start, end, FALSE, error);

      g_mutex_unlock (&self->mutex);
      if (events == NULL)
        return FALSE;
      for (guint i = 0; i < events->len; i++)
        {
          NetRedexEvent *event = g_ptr_array_index (events, i);
          gsize len;
          const guint8 *data = g_bytes_get_data (net_redex_event_get_payload (event), &len);

          func (net_redex_event_get_seq (event), net_redex_event_get_timestamp (event),
                data, len, user_data);
        }
      return TRUE;
    }

  if (!check_open_locked (self, error))
    {
      g_mutex_unlock (&self->mutex);
      return FALSE;
    }

  start = MAX (start, self->first_seq);
  end = MIN (end, self->next_seq);

  if (start < end)
    {
      guint first_ci = mem_chunk_index (self, start);
      guint last_ci = mem_chunk_index (self, end - 1);

      if (last_ci - first_ci + 1 > G_N_ELEMENTS (stack_runs))
        runs = g_new (MemRun, last_ci - first_ci + 1);
      for (guint ci = first_ci; ci <= last_ci; ci++)
        {
          MemChunk *chunk = g_ptr_array_index (self->chunks, ci);
          guint64 s = MAX (start, chunk->first_seq);
          guint64 e = MIN (end, chunk->first_seq + chunk->n);

          if (s >= e)
            continue;
          runs[n_runs].chunk = mem_chunk_ref (chunk);
          runs[n_runs].offset = self->mem_offs[s - self->events_base];
          runs[n_runs].seq = s;
          runs[n_runs].n = e - s;
          n_runs++;
        }
    }

  g_mutex_unlock (&self->mutex);

  /* The records of a chunk follow one another, and those read do not
   * change: an append only adds after them. */
  for (guint r = 0; r < n_runs; r++)
    {
      MemChunk *chunk = runs[r].chunk;
      guint32 offset = runs[r].offset;

      for (guint64 i = 0; i < runs[r].n; i++)
        {
          const guint8 *p;
          gsize len;
          gint64 ts;
          gboolean packed;

          p = mem_record (chunk, offset, &len, &ts, &packed);
          if (packed)
            {
              guint8 *out = stack_scratch;

              if (len > sizeof stack_scratch)
                {
                  if (len > heap_size)
                    {
                      g_free (heap_scratch);
                      heap_size = MAX (len, heap_size * 2);
                      heap_scratch = g_malloc (heap_size);
                    }
                  out = heap_scratch;
                }
              offset = (guint32) (mem_unpack_to (chunk, p, len, out) - chunk->data);
              func (runs[r].seq + i, ts, out, len, user_data);
            }
          else
            {
              offset = (guint32) (p + len - chunk->data);
              func (runs[r].seq + i, ts, p, len, user_data);
            }
        }
      mem_chunk_unref (chunk);
    }

  g_free (heap_scratch);
  if (runs != stack_runs)
    g_free (runs);

  return TRUE;
}

GPtrArray *
_net_redex_file_tail_fetch (NetRedexFile  *self,
                            NetRedexTail  *tail,
                            guint          max_events,
                            gboolean       arm,
                            GError       **error)
{
  g_autoptr(GPtrArray) events = NULL;
  guint64 cursor;

  g_mutex_lock (&self->mutex);

  if (self->closed || tail->closed)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CLOSED,
                   "log “%s” is closed", self->name);
      goto out;
    }

  if (tail->lagged)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_LAGGED,
                   "tail of log “%s” fell more than %u events behind at seq %" G_GUINT64_FORMAT,
                   self->name, self->limits.tail_buffer, tail->cursor);
      goto out;
    }

  cursor = tail->cursor;
  if (cursor < self->first_seq)
    {
      tail->lagged = TRUE;
      g_set_error (error, NET_ERROR, NET_ERROR_LAGGED,
                   "log “%s”: events from seq %" G_GUINT64_FORMAT " were evicted; the oldest retained is %" G_GUINT64_FORMAT,
                   self->name, cursor, self->first_seq);
      goto out;
    }

  if (cursor >= self->next_seq)
    {
      if (arm)
        tail->waiting = TRUE;
      events = g_ptr_array_new_with_free_func ((GDestroyNotify) net_redex_event_unref);
      goto out;
    }

  events = read_range_locked (self, cursor, cursor + max_events, TRUE, error);
  if (events == NULL)
    goto out;

  if (events->len == 0 ||
      net_redex_event_get_seq (g_ptr_array_index (events, 0)) != cursor)
    {
      tail->lagged = TRUE;
      g_clear_pointer (&events, g_ptr_array_unref);
      g_set_error (error, NET_ERROR, NET_ERROR_LAGGED,
                   "log “%s”: events from seq %" G_GUINT64_FORMAT " were evicted while reading them",
                   self->name, cursor);
      goto out;
    }

  tail->cursor = cursor + events->len;
  tail->waiting = FALSE;

out:
  g_mutex_unlock (&self->mutex);
  return g_steal_pointer (&events);
}

void
_net_redex_file_remove_tail (NetRedexFile *self,
                             NetRedexTail *tail)
{
  g_mutex_lock (&self->mutex);
  g_ptr_array_remove_fast (self->tails, tail);
  g_mutex_unlock (&self->mutex);
}

/*
 * For the fold: @source gets g_source_set_ready_time (source, 0) when the
 * log changes (appends, also those another process made, eviction, close),
 * from whichever thread made the change, once per arming.
 */
void
_net_redex_file_add_watch (NetRedexFile *self,
                           GSource      *source)
{
  RedexWatch *w = g_new0 (RedexWatch, 1);

  w->source = g_source_ref (source);
  w->armed = TRUE;

  g_mutex_lock (&self->mutex);
  g_ptr_array_add (self->watches, w);
  g_mutex_unlock (&self->mutex);
}

void
_net_redex_file_remove_watch (NetRedexFile *self,
                              GSource      *source)
{
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->watches->len; i++)
    {
      RedexWatch *w = g_ptr_array_index (self->watches, i);

      if (w->source == source)
        {
          g_ptr_array_remove_index_fast (self->watches, i);
          break;
        }
    }
  g_mutex_unlock (&self->mutex);
}

/*
 * Re-arms the watch of @source, unless the log already holds events after
 * @seen_seq (or was closed): then returns FALSE and the caller goes on
 * reading instead of waiting.
 */
gboolean
_net_redex_file_arm_watch (NetRedexFile *self,
                           GSource      *source,
                           guint64       seen_seq)
{
  gboolean armed = FALSE;

  g_mutex_lock (&self->mutex);
  if (!self->closed && self->next_seq - 1 <= seen_seq)
    {
      for (guint i = 0; i < self->watches->len; i++)
        {
          RedexWatch *w = g_ptr_array_index (self->watches, i);

          if (w->source == source)
            w->armed = armed = TRUE;
        }
    }
  g_mutex_unlock (&self->mutex);

  return armed;
}

void
_net_redex_file_close_tail (NetRedexFile *self,
                            NetRedexTail *tail)
{
  g_mutex_lock (&self->mutex);
  tail->closed = TRUE;
  tail->waiting = FALSE;
  g_mutex_unlock (&self->mutex);
}

/* Retention ------------------------------------------------------------- */

static gboolean
write_meta_locked (NetRedexFile  *self,
                   guint64        first_seq,
                   GError       **error)
{
  return write_meta_floor_locked (self, first_seq, self->next_seq, error);
}

static gboolean
write_meta_floor_locked (NetRedexFile  *self,
                         guint64        first_seq,
                         guint64        next_seq_floor,
                         GError       **error)
{
  NetRedexMeta meta = { first_seq, next_seq_floor, self->name };
  g_autoptr(GBytes) bytes = net_redex_meta_encode (&meta);

  return _net_redex_write_file_atomic (self->dir, "META", bytes, error);
}

/*
 * Evicts on disk first and in memory second: the new floor is persisted in
 * META before any segment is unlinked, and open removes segments below the
 * floor, so a crash at any point leaves disk and memory in agreement.
 */
static gboolean
disk_sweep_locked (NetRedexFile  *self,
                   guint64       *out_evicted,
                   GError       **error)
{
  guint64 new_floor = self->first_seq;
  guint64 total = self->disk_bytes;
  gint64 now = g_get_real_time ();
  guint n_drop = 0;

  if (self->limits.retention_max_events &&
      self->next_seq - self->first_seq > self->limits.retention_max_events)
    new_floor = self->next_seq - self->limits.retention_max_events;

  for (guint i = 0; i + 1 < self->segments->len; i++)
    {
      NetRedexSegment *seg = g_ptr_array_index (self->segments, i);
      NetRedexSegment *next = g_ptr_array_index (self->segments, i + 1);
      gboolean drop = FALSE;

      /* Not yet durable and indexed: the worker sweeps again after it. */
      if (!seg->sealed)
        break;

      if (self->limits.retention_max_bytes && total > self->limits.retention_max_bytes)
        drop = TRUE;
      if (self->limits.retention_max_age && seg->max_ts < now - self->limits.retention_max_age)
        drop = TRUE;
      if (!drop)
        break;

      total -= seg->length;
      new_floor = MAX (new_floor, next->base_seq);
    }

  if (out_evicted)
    *out_evicted = 0;

  if (new_floor <= self->first_seq)
    return TRUE;

  /* The next-seq floor covers what is durable, not what a power cut may
   * still take: were it above the surviving records, a reopen would leave
   * a gap of seqs no segment holds. */
  if (!write_meta_floor_locked (self, new_floor, MIN (self->next_seq, self->durable_seq + 1), error))
    return FALSE;

  while (n_drop + 1 < self->segments->len &&
         ((NetRedexSegment *) g_ptr_array_index (self->segments, n_drop + 1))->base_seq <= new_floor)
    {
      NetRedexSegment *seg = g_ptr_array_index (self->segments, n_drop);

      net_io_unlink (seg->idx_path);
      net_io_unlink (seg->path);
      self->disk_bytes -= seg->length;
      n_drop++;
    }
  if (n_drop > 0)
    {
      g_ptr_array_remove_range (self->segments, 0, n_drop);
      if (!_net_redex_sync_dir (self->dir, error))
        return FALSE;
    }

  if (out_evicted)
    *out_evicted = new_floor - self->first_seq;
  self->first_seq = new_floor;

  wake_all_tails_locked (self);

  return TRUE;
}

/* Opening --------------------------------------------------------------- */

static int
compare_u64 (gconstpointer a,
             gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

static GArray *
list_segment_bases (NetRedexFile  *self,
                    GError       **error)
{
  g_autoptr(GArray) bases = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GDir) d = NULL;
  const char *entry;

  d = g_dir_open (self->dir, 0, error);
  if (d == NULL)
    {
      if (error && *error)
        {
          (*error)->domain = NET_ERROR;
          (*error)->code = NET_ERROR_IO;
        }
      return NULL;
    }

  while ((entry = g_dir_read_name (d)))
    {
      guint64 base;

      if (net_redex_segment_file_parse (entry, ".seg", &base))
        g_array_append_val (bases, base);
      else if (!self->read_only && g_str_has_suffix (entry, ".tmp"))
        {
          g_autofree char *path = g_build_filename (self->dir, entry, NULL);

          /* Left by a crash in the middle of an atomic replace. */
          net_io_unlink (path);
        }
    }

  g_array_sort (bases, compare_u64);

  return g_steal_pointer (&bases);
}

static gboolean
read_meta (NetRedexFile  *self,
           NetRedexMeta  *meta,
           gboolean      *found,
           GError       **error)
{
  g_autofree char *path = g_build_filename (self->dir, "META", NULL);
  g_autofree char *contents = NULL;
  gsize len;

  *found = FALSE;
  if (!g_file_get_contents (path, &contents, &len, NULL))
    return TRUE;

  if (!net_redex_meta_decode ((const guint8 *) contents, len, meta))
    {
      g_warning ("%s is damaged; using the segments alone", path);
      return TRUE;
    }

  if (g_strcmp0 (meta->name, self->name) != 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                   "%s belongs to log “%s”, not “%s”", path, meta->name, self->name);
      g_clear_pointer (&meta->name, g_free);
      return FALSE;
    }

  g_clear_pointer (&meta->name, g_free);
  *found = TRUE;
  return TRUE;
}

/*
 * Whether a segment after the @i-th has its index: sealing goes in order and
 * writes an index only once the segment is durable, so then the @i-th was
 * sealed too, and damage in it is not what a power cut left (someone removed
 * its index): its slots stay, nothing later is dropped.
 */
static gboolean
later_segment_sealed (NetRedexFile *self,
                      GArray       *bases,
                      guint         i)
{
  for (guint j = i + 1; j + 1 < bases->len; j++)
    {
      g_autofree char *idx_name = net_redex_segment_file_name (g_array_index (bases, guint64, j), ".idx");
      g_autofree char *idx_path = g_build_filename (self->dir, idx_name, NULL);

      if (g_file_test (idx_path, G_FILE_TEST_EXISTS))
        return TRUE;
    }
  return FALSE;
}

static gboolean
load_segments_locked (NetRedexFile  *self,
                      guint64        floor,
                      GError       **error)
{
  g_autoptr(GArray) bases = list_segment_bases (self, error);
  guint first = 0;

  if (bases == NULL)
    return FALSE;

  /* Segments wholly below the persisted floor were evicted; a crash may
   * have left them behind. */
  while (first + 1 < bases->len && g_array_index (bases, guint64, first + 1) <= floor)
    {
      if (!self->read_only)
        {
          g_autofree char *seg = net_redex_segment_file_name (g_array_index (bases, guint64, first), ".seg");
          g_autofree char *idx = net_redex_segment_file_name (g_array_index (bases, guint64, first), ".idx");
          g_autofree char *seg_path = g_build_filename (self->dir, seg, NULL);
          g_autofree char *idx_path = g_build_filename (self->dir, idx, NULL);

          net_io_unlink (idx_path);
          net_io_unlink (seg_path);
        }
      first++;
    }

  for (guint i = first; i < bases->len; i++)
    {
      guint64 base = g_array_index (bases, guint64, i);
      gboolean sealed = i + 1 < bases->len;
      NetRedexSegment *seg;

      seg = _net_redex_segment_open (self->dir, base, sealed, self->read_only, error);
      if (seg == NULL)
        return FALSE;

      /* A power cut before its sealing finished: nothing from here on was
       * ever durable.  The log ends in this segment; the later ones go. */
      if ((seg->never_sealed ||
           (sealed && seg->unsure && seg->n_bad == 0 &&
            seg->count < g_array_index (bases, guint64, i + 1) - base)) &&
          !later_segment_sealed (self, bases, i))
        {
          g_debug ("%s: never sealed, the log ends in it", seg->path);
          _net_redex_segment_unref (seg);
          for (guint j = i + 1; !self->read_only && j < bases->len; j++)
            {
              g_autofree char *seg_name = net_redex_segment_file_name (g_array_index (bases, guint64, j), ".seg");
              g_autofree char *idx_name = net_redex_segment_file_name (g_array_index (bases, guint64, j), ".idx");
              g_autofree char *seg_path = g_build_filename (self->dir, seg_name, NULL);
              g_autofree char *idx_path = g_build_filename (self->dir, idx_name, NULL);

              net_io_unlink (idx_path);
              net_io_unlink (seg_path);
            }
          if (!self->read_only && i + 1 < bases->len && !_net_redex_sync_dir (self->dir, error))
            return FALSE;
          seg = _net_redex_segment_open (self->dir, base, FALSE, self->read_only, error);
          if (seg == NULL)
            return FALSE;
          g_ptr_array_add (self->segments, seg);
          self->disk_bytes += seg->length;
          self->last_ts = MAX (self->last_ts, seg->max_ts);
          break;
        }

      if (sealed)
        {
          guint64 expected = g_array_index (bases, guint64, i + 1) - base;

          if (seg->count != expected && seg->offsets == NULL)
            {
              /* The index disagrees with the file names: rebuild it. */
              munmap (seg->map, seg->map_len);
              seg->map = NULL;
              seg->map_checked = TRUE;
              _net_redex_segment_unref (seg);
              seg = _net_redex_segment_open (self->dir, base, FALSE, TRUE, error);
              if (seg == NULL)
                return FALSE;
              seg->sealed = TRUE;
            }

          if (seg->count > expected)
            {
              g_set_error (error, NET_ERROR, NET_ERROR_CORRUPT,
                           "%s holds %" G_GUINT64_FORMAT " records but the next segment starts at seq %" G_GUINT64_FORMAT,
                           seg->path, seg->count, base + expected);
              _net_redex_segment_unref (seg);
              return FALSE;
            }

          /* Records lost at the end of a sealed segment stay damaged
           * slots, so every later seq keeps its place. */
          while (seg->count < expected)
            {
              _net_redex_offsets_append (seg->offsets, seg->length);
              seg->count++;
              seg->n_bad++;
            }
        }

      g_ptr_array_add (self->segments, seg);
      self->disk_bytes += seg->length;
      self->last_ts = MAX (self->last_ts, seg->max_ts);
    }

  return TRUE;
}

static gboolean
open_disk (NetRedexFile  *self,
           GError       **error)
{
  NetRedexMeta meta = { 1, 1, NULL };
  gboolean found = FALSE;
  guint64 next;

  if (self->read_only)
    {
      if (!g_file_test (self->dir, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                       "log “%s” does not exist (no %s)", self->name, self->dir);
          return FALSE;
        }
    }
  /* The log's entry in logs/ must be durable before any of its events
   * is acknowledged as durable. */
  else if (!_net_redex_ensure_dir_durable (self->dir, error))
    return FALSE;

  if (!read_meta (self, &meta, &found, error))
    return FALSE;

  if (!load_segments_locked (self, meta.first_seq, error))
    return FALSE;

  if (self->segments->len == 0)
    {
      guint64 base = MAX (meta.first_seq, meta.next_seq_floor);

      if (self->read_only)
        {
          self->first_seq = self->next_seq = base;
          self->durable_seq = base - 1;
          return TRUE;
        }

      if (!found && !write_meta_locked (self, 1, error))
        return FALSE;

      {
        NetRedexSegment *first = _net_redex_segment_create (self->dir, base, error);

        /* A NULL in the array would be unreffed by the cleanup. */
        if (first == NULL)
          return FALSE;
        g_ptr_array_add (self->segments, first);
      }
      if (!_net_redex_segment_sync (active_segment (self), error))
        {
          g_ptr_array_set_size (self->segments, 0);
          return FALSE;
        }
      self->disk_bytes += active_segment (self)->length;
      if (!_net_redex_sync_dir (self->dir, error))
        return FALSE;
    }

  next = active_segment (self)->base_seq + active_segment (self)->count;

  /* Never hand out a seq that was durable before: if the newest records
   * are gone (a segment removed by hand), continue above the floor. */
  if (!self->read_only && meta.next_seq_floor > next)
    {
      NetRedexSegment *seg;

      self->next_seq = next;
      if (active_segment (self)->count > 0)
        {
          if (!_net_redex_segment_seal (active_segment (self), error))
            return FALSE;
          active_segment (self)->sealed = TRUE;
        }
      if (active_segment (self)->count == 0)
        {
          NetRedexSegment *empty = active_segment (self);

          net_io_unlink (empty->path);
          self->disk_bytes -= empty->length;
          g_ptr_array_remove_index (self->segments, self->segments->len - 1);
        }
      seg = _net_redex_segment_create (self->dir, meta.next_seq_floor, error);
      if (seg == NULL || !_net_redex_segment_sync (seg, error))
        {
          g_clear_pointer (&seg, _net_redex_segment_unref);
          return FALSE;
        }
      g_ptr_array_add (self->segments, seg);
      self->disk_bytes += seg->length;
      next = meta.next_seq_floor;
      if (!_net_redex_sync_dir (self->dir, error))
        return FALSE;
    }

  self->next_seq = next;
  self->first_seq = MIN (MAX (meta.first_seq,
                              ((NetRedexSegment *) g_ptr_array_index (self->segments, 0))->base_seq),
                         next);
  self->durable_seq = next - 1;

  return TRUE;
}

/*
 * For restoring a snapshot whose last event is @next_seq - 1 onto a log
 * that holds no events: the log continues at @next_seq, so that the
 * events after the snapshot get the seqs the fold expects.  Never moves
 * backwards.
 */
gboolean
_net_redex_file_restart_at (NetRedexFile  *self,
                            guint64        next_seq,
                            GError       **error)
{
  gboolean ok = TRUE;

  g_mutex_lock (&self->mutex);

  if (!check_writable_locked (self, error))
    {
      ok = FALSE;
      goto out;
    }

  if (self->next_seq != self->first_seq || next_seq < self->next_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH,
                   "log “%s” cannot restart at seq %" G_GUINT64_FORMAT
                   ": it holds events %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT,
                   self->name, next_seq, self->first_seq, self->next_seq - 1);
      ok = FALSE;
      goto out;
    }

  if (next_seq == self->next_seq)
    goto out;

  if (self->persistent)
    {
      NetRedexSegment *seg;

      /* Wait for pending seals, then replace the (empty) active segment. */
      if (!wait_durable_locked (self, self->next_seq - 1, error))
        {
          ok = FALSE;
          goto out;
        }

      self->next_seq = next_seq;
      if (!write_meta_locked (self, next_seq, error))
        {
          ok = FALSE;
          goto out;
        }

      seg = _net_redex_segment_create (self->dir, next_seq, error);
      if (seg == NULL || !_net_redex_segment_sync (seg, error))
        {
          g_clear_pointer (&seg, _net_redex_segment_unref);
          ok = FALSE;
          goto out;
        }

      if (active_segment (self)->count == 0)
        {
          NetRedexSegment *empty = active_segment (self);

          net_io_unlink (empty->idx_path);
          net_io_unlink (empty->path);
          self->disk_bytes -= empty->length;
          g_ptr_array_remove_index (self->segments, self->segments->len - 1);
        }
      g_ptr_array_add (self->segments, seg);
      self->disk_bytes += seg->length;
      self->writeback_from = seg->length;

      if (!_net_redex_sync_dir (self->dir, error))
        {
          ok = FALSE;
          goto out;
        }
    }
  else
    {
      mem_clear_locked (self, next_seq);
      self->next_seq = next_seq;
    }

  self->first_seq = next_seq;
  self->durable_seq = next_seq - 1;
  self->restarts++;

out:
  g_mutex_unlock (&self->mutex);
  return ok;
}

/*
 * Drops every event of the log and restarts it at @next_seq, which must
 * not be below its next seq (a seq is never handed out twice): a follower
 * that re-bootstraps from a leader's snapshot replaces its log with the
 * leader's history after the snapshot.
 *
 * On disk the new floor is persisted in META first, then the segments are
 * unlinked and a fresh one is created; open removes segments wholly below
 * the floor and continues above it, so a crash at any point leaves either
 * an empty log at @next_seq or (before META) the old one.
 */
gboolean
_net_redex_file_reset (NetRedexFile  *self,
                       guint64        next_seq,
                       GError       **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (next_seq >= 1, FALSE);

  g_mutex_lock (&self->mutex);

  if (!check_writable_locked (self, error))
    {
      ok = FALSE;
      goto out;
    }

  if (next_seq < self->next_seq)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_SEQ_MISMATCH,
                   "log “%s” cannot restart at seq %" G_GUINT64_FORMAT
                   ": seqs up to %" G_GUINT64_FORMAT " were handed out",
                   self->name, next_seq, self->next_seq - 1);
      ok = FALSE;
      goto out;
    }

  if (self->persistent)
    {
      guint64 old_next = self->next_seq;
      NetRedexSegment *seg;

      /* No seal or sync round may be running on the segments we drop. */
      if (!wait_durable_locked (self, self->next_seq - 1, error))
        {
          ok = FALSE;
          goto out;
        }
      while (self->syncing)
        g_cond_wait (&self->sync_cond, &self->mutex);

      self->next_seq = next_seq;
      if (!write_meta_locked (self, next_seq, error))
        {
          self->next_seq = old_next;
          ok = FALSE;
          goto out;
        }

      for (guint i = 0; i < self->segments->len; i++)
        {
          NetRedexSegment *old = g_ptr_array_index (self->segments, i);

          net_io_unlink (old->idx_path);
          net_io_unlink (old->path);
        }
      g_ptr_array_set_size (self->segments, 0);
      self->disk_bytes = 0;
      self->unsynced = 0;

      /* From here on the log is empty at @next_seq whatever happens: open
       * makes the segment should this fail. */
      self->first_seq = next_seq;
      self->durable_seq = next_seq - 1;

      seg = _net_redex_segment_create (self->dir, next_seq, error);
      if (seg == NULL || !_net_redex_segment_sync (seg, error))
        {
          g_clear_pointer (&seg, _net_redex_segment_unref);
          self->broken = TRUE;
          ok = FALSE;
          goto out;
        }
      g_ptr_array_add (self->segments, seg);
      self->disk_bytes = seg->length;
      self->writeback_from = seg->length;

      if (!_net_redex_sync_dir (self->dir, error))
        {
          self->broken = TRUE;
          ok = FALSE;
          goto out;
        }
    }
  else
    {
      mem_clear_locked (self, next_seq);
      self->next_seq = next_seq;
      self->first_seq = next_seq;
      self->durable_seq = next_seq - 1;
    }

  /* Tails behind the new floor learn they lagged; folds re-read. */
  self->restarts++;
  wake_all_tails_locked (self);

out:
  g_mutex_unlock (&self->mutex);
  return ok;
}

/*
 * How many times the log restarted: it was reset or restarted further on
 * (_net_redex_file_reset(), _net_redex_file_restart_at()), or, read-only,
 * it no longer continued what this reader held (the writer reset it, or
 * evicted events the reader had not reached).  A fold compares it with
 * what it saw: its events may belong to a history the log dropped.
 */
guint64
_net_redex_file_get_restarts (NetRedexFile *self)
{
  guint64 restarts;

  g_mutex_lock (&self->mutex);
  restarts = self->restarts;
  g_mutex_unlock (&self->mutex);

  return restarts;
}

/* Following a writer in another process ---------------------------------- */

/* Whether the writer unlinked @seg: it dropped the whole log (a reset),
 * or evicted a segment this reader had not finished. */
static gboolean
segment_unlinked (NetRedexSegment *seg)
{
  struct stat st;

  return fstat (seg->fd, &st) == 0 && st.st_nlink == 0;
}

static gboolean
follow_refresh_locked (NetRedexFile *self)
{
  g_autoptr(GError) error = NULL;
  guint64 old_next = self->next_seq;
  guint64 old_first = self->first_seq;
  NetRedexMeta meta = { 1, 1, NULL };
  gboolean found = FALSE;
  gboolean restarted = FALSE;

  if (self->closed)
    return FALSE;

  if (!read_meta (self, &meta, &found, NULL))
    found = FALSE;

  /* The log no longer continues what we hold: the writer reset it past
   * our tail (META's floor is beyond it), or dropped the segment we
   * follow (a reset at our very tail leaves nothing else to see).  The
   * old segments stay readable through their fds, so forget them and
   * load the log afresh. */
  if ((found && meta.first_seq > self->next_seq) ||
      (self->segments->len > 0 && segment_unlinked (active_segment (self))))
    {
      g_ptr_array_set_size (self->segments, 0);
      self->disk_bytes = 0;
      self->first_seq = found ? meta.first_seq : 1;
      self->next_seq = found ? MAX (meta.first_seq, meta.next_seq_floor) : 1;
      self->restarts++;
      restarted = TRUE;
    }
  else if (found && meta.first_seq > self->first_seq)
    self->first_seq = meta.first_seq;

  if (self->segments->len == 0)
    {
      if (!load_segments_locked (self, self->first_seq, &error))
        {
          g_ptr_array_set_size (self->segments, 0);
          self->disk_bytes = 0;
          g_debug ("log “%s”: %s", self->name, error->message);
          g_clear_error (&error);
        }
      if (self->segments->len > 0)
        self->first_seq = MAX (self->first_seq,
                               ((NetRedexSegment *) g_ptr_array_index (self->segments, 0))->base_seq);
    }

  /* Between a reset's unlinks and its new segment there is none: the
   * next change brings it. */
  for (; self->segments->len > 0;)
    {
      NetRedexSegment *active = active_segment (self);
      g_autofree char *next_name = NULL;
      g_autofree char *next_path = NULL;
      NetRedexSegment *seg;
      guint64 next;

      if (!_net_redex_segment_refresh (active, &error))
        {
          g_debug ("log “%s”: %s", self->name, error->message);
          break;
        }
      next = active->base_seq + active->count;
      if (next > self->next_seq)
        self->next_seq = next;

      /* An empty segment (a reset's, or one just rolled to) is followed
       * by none: the file named after its next seq is itself. */
      if (active->count == 0)
        break;

      next_name = net_redex_segment_file_name (next, ".seg");
      next_path = g_build_filename (self->dir, next_name, NULL);
      if (!g_file_test (next_path, G_FILE_TEST_EXISTS))
        break;

      /* The writer sealed the active segment and started the next. */
      if (!_net_redex_segment_refresh (active, &error))
        break;
      if (active->base_seq + active->count != next)
        continue;
      seg = _net_redex_segment_open (self->dir, next, FALSE, TRUE, &error);
      if (seg == NULL)
        break;
      active->sealed = TRUE;
      g_ptr_array_add (self->segments, seg);
    }

  self->first_seq = MIN (self->first_seq, self->next_seq);

  /* Forget segments the writer evicted. */
  while (self->segments->len > 1 &&
         ((NetRedexSegment *) g_ptr_array_index (self->segments, 1))->base_seq <= self->first_seq)
    g_ptr_array_remove_index (self->segments, 0);

  self->durable_seq = self->next_seq - 1;

  if (restarted || self->next_seq != old_next || self->first_seq != old_first)
    {
      notify_tails_locked (self);
      if (restarted || self->first_seq != old_first)
        wake_all_tails_locked (self);
      return TRUE;
    }

  return FALSE;
}

static void
on_dir_changed (GFileMonitor      *monitor,
                GFile             *file,
                GFile             *other_file,
                GFileMonitorEvent  event_type,
                gpointer           user_data)
{
  NetRedexFile *self = user_data;

  g_mutex_lock (&self->mutex);
  follow_refresh_locked (self);
  g_mutex_unlock (&self->mutex);
}

static gboolean
on_follow_poll (gpointer user_data)
{
  NetRedexFile *self = user_data;

  g_mutex_lock (&self->mutex);
  follow_refresh_locked (self);
  g_mutex_unlock (&self->mutex);

  return G_SOURCE_CONTINUE;
}

/* On the owner thread: the monitor reports in the thread-default context
 * of the thread that creates it. */
static void
start_monitor (gpointer data,
               gpointer unused)
{
  NetRedexFile *self = data;
  g_autoptr(GFile) dir = NULL;
  g_autoptr(GError) error = NULL;

  if (self->poll_source == NULL || g_source_is_destroyed (self->poll_source))
    return;  /* stopped meanwhile */

  dir = g_file_new_for_path (self->dir);
  self->monitor = g_file_monitor_directory (dir, G_FILE_MONITOR_NONE, NULL, &error);
  if (self->monitor != NULL)
    {
      g_file_monitor_set_rate_limit (self->monitor, 10);
      g_signal_connect (self->monitor, "changed", G_CALLBACK (on_dir_changed), self);
    }
  else
    g_debug ("cannot monitor %s, polling: %s", self->dir, error->message);
}

/* @monitor: FALSE polls only (tests). */
static void
start_following (NetRedexFile *self,
                 gboolean      monitor,
                 guint         poll_ms)
{
  g_autoptr(GMainContext) context = _net_owner_context_ref ();

  self->poll_source = g_timeout_source_new (poll_ms);
  g_source_set_static_name (self->poll_source, "[netdb] follow log");
  g_source_set_callback (self->poll_source, on_follow_poll, self, NULL);
  _net_owner_attach (self->poll_source, context);

  if (monitor)
    _net_owner_defer (start_monitor, g_object_ref (self), g_object_unref);
}

static void
stop_following (NetRedexFile *self)
{
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->monitor, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  if (self->poll_source != NULL)
    {
      g_source_destroy (self->poll_source);
      g_clear_pointer (&self->poll_source, g_source_unref);
    }
}

/*
 * _net_redex_file_follow_by_polling:
 * @interval_ms: how often to look, > 0
 *
 * Tests: a read-only log stops watching its directory with a file monitor
 * and follows its writer by polling alone, every @interval_ms, as it does
 * on a file system without inotify.  Call it on the thread that opened
 * the log.
 */
void
_net_redex_file_follow_by_polling (NetRedexFile *self,
                                   guint         interval_ms)
{
  g_return_if_fail (NET_IS_REDEX_FILE (self));
  g_return_if_fail (self->persistent && self->read_only);
  g_return_if_fail (interval_ms > 0);

  if (_net_redex_file_is_closed (self))
    return;

  stop_following (self);
  start_following (self, FALSE, interval_ms);
}

/* GObject --------------------------------------------------------------- */

static void
net_redex_file_dispose (GObject *object)
{
  NetRedexFile *self = (NetRedexFile *) object;

  net_redex_file_close (self, NULL);

  if (self->redex != NULL)
    {
      _net_redex_forget_file (self->redex, self);
      g_clear_object (&self->redex);
    }

  G_OBJECT_CLASS (net_redex_file_parent_class)->dispose (object);
}

static void
net_redex_file_finalize (GObject *object)
{
  NetRedexFile *self = (NetRedexFile *) object;

  g_clear_pointer (&self->chunks, g_ptr_array_unref);
  g_clear_pointer (&self->mem_offs, g_free);
  g_clear_pointer (&self->segments, g_ptr_array_unref);
  g_clear_pointer (&self->scratch, g_byte_array_unref);
  g_clear_pointer (&self->unsealed, g_ptr_array_unref);
  g_clear_error (&self->sync_error);
  g_clear_pointer (&self->tails, g_ptr_array_unref);
  g_clear_pointer (&self->watches, g_ptr_array_unref);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->dir, g_free);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->sync_cond);
  g_cond_clear (&self->worker_cond);

  G_OBJECT_CLASS (net_redex_file_parent_class)->finalize (object);
}

static void
net_redex_file_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  NetRedexFile *self = NET_REDEX_FILE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
net_redex_file_class_init (NetRedexFileClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = net_redex_file_dispose;
  object_class->finalize = net_redex_file_finalize;
  object_class->get_property = net_redex_file_get_property;

  /**
   * NetRedexFile:name:
   *
   * The name of the log.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * NetRedexFile:read-only:
   *
   * Whether the log was opened read-only.
   */
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
net_redex_file_init (NetRedexFile *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->sync_cond);
  g_cond_init (&self->worker_cond);
  g_queue_init (&self->durable_waiters);
  self->tails = g_ptr_array_new ();
  self->watches = g_ptr_array_new_with_free_func (redex_watch_free);
  self->unsealed = g_ptr_array_new_with_free_func ((GDestroyNotify) _net_redex_segment_unref);
  self->first_seq = 1;
  self->next_seq = 1;
}

NetRedexFile *
_net_redex_file_new (NetRedex        *redex,
                     const char      *name,
                     const char      *dir,
                     gboolean         persistent,
                     gboolean         read_only,
                     NetRedexConfig  *config,
                     GError         **error)
{
  g_autoptr(NetRedexFile) self = g_object_new (NET_TYPE_REDEX_FILE, NULL);

  self->name = g_strdup (name);
  self->dir = g_strdup (dir);
  self->persistent = persistent;
  self->read_only = read_only;
  _net_redex_config_get_limits (config, &self->limits);

  if (!persistent)
    {
      self->chunks = g_ptr_array_new_with_free_func (mem_chunk_unref);
      mem_clear_locked (self, 1);
    }
  else
    {
      self->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) _net_redex_segment_unref);
      self->scratch = g_byte_array_new ();

      if (!open_disk (self, error))
        {
          self->closed = TRUE;
          return NULL;
        }

      if (read_only)
        start_following (self, TRUE, FOLLOW_POLL_MS);
    }

  /* A persistent log keeps its directory locked while it lives.  An
   * in-memory log is owned by its NetRedex instead (see open_file). */
  if (persistent)
    self->redex = g_object_ref (redex);

  return g_steal_pointer (&self);
}

gboolean
_net_redex_file_is_closed (NetRedexFile *self)
{
  gboolean closed;

  g_mutex_lock (&self->mutex);
  closed = self->closed;
  g_mutex_unlock (&self->mutex);

  return closed;
}

/* Public API ------------------------------------------------------------ */

/**
 * net_redex_file_get_name:
 * @self: a #NetRedexFile
 *
 * Gets the name the log was opened with.
 *
 * Returns: the name
 */
const char *
net_redex_file_get_name (NetRedexFile *self)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), NULL);

  return self->name;
}

/**
 * net_redex_file_get_read_only:
 * @self: a #NetRedexFile
 *
 * Gets whether the log was opened read-only.
 *
 * Returns: %TRUE for a read-only log
 */
gboolean
net_redex_file_get_read_only (NetRedexFile *self)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);

  return self->read_only;
}

static guint64
locked_get (NetRedexFile  *self,
            const guint64 *field)
{
  guint64 v;

  g_mutex_lock (&self->mutex);
  v = *field;
  g_mutex_unlock (&self->mutex);

  return v;
}

/**
 * net_redex_file_get_next_seq:
 * @self: a #NetRedexFile
 *
 * Gets the sequence number the next append will get.
 *
 * Returns: the next sequence number (1 for an empty log)
 */
guint64
net_redex_file_get_next_seq (NetRedexFile *self)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);

  return locked_get (self, &self->next_seq);
}

/**
 * net_redex_file_get_first_seq:
 * @self: a #NetRedexFile
 *
 * Gets the sequence number of the oldest retained event. When the log
 * holds no events this equals net_redex_file_get_next_seq().
 *
 * Returns: the lowest retained sequence number
 */
guint64
net_redex_file_get_first_seq (NetRedexFile *self)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);

  return locked_get (self, &self->first_seq);
}

/**
 * net_redex_file_get_durable_seq:
 * @self: a #NetRedexFile
 *
 * Gets the highest sequence number known to be on stable storage. For an
 * in-memory log that is the last appended one.
 *
 * Returns: the last durable sequence number, or 0 for none
 */
guint64
net_redex_file_get_durable_seq (NetRedexFile *self)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);

  return locked_get (self, &self->durable_seq);
}

/**
 * net_redex_file_get_length:
 * @self: a #NetRedexFile
 *
 * Gets the number of retained events.
 *
 * Returns: the number of events
 */
guint64
net_redex_file_get_length (NetRedexFile *self)
{
  guint64 v;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);

  g_mutex_lock (&self->mutex);
  v = self->next_seq - self->first_seq;
  g_mutex_unlock (&self->mutex);

  return v;
}

/**
 * net_redex_file_append:
 * @self: a #NetRedexFile
 * @payload: the payload
 * @error: return location for a #GError, or %NULL
 *
 * Appends one event. Safe from any thread.
 *
 * Returns: the sequence number of the event, or 0 with @error set
 */
guint64
net_redex_file_append (NetRedexFile  *self,
                       GBytes        *payload,
                       GError       **error)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);
  g_return_val_if_fail (payload != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  return append_one (self, payload, 0, error);
}

/**
 * net_redex_file_append_batch:
 * @self: a #NetRedexFile
 * @payloads: (array length=n_payloads): the payloads
 * @n_payloads: the number of payloads, at least 1
 * @error: return location for a #GError, or %NULL
 *
 * Appends several events at once, with consecutive sequence numbers and
 * one write: either all of them are appended or none, also across a crash
 * or a power cut (recovery keeps a batch whole or drops it whole).
 *
 * Returns: the sequence number of the first event, or 0 with @error set
 */
guint64
net_redex_file_append_batch (NetRedexFile  *self,
                             GBytes       **payloads,
                             guint          n_payloads,
                             GError       **error)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);
  g_return_val_if_fail (payloads != NULL, 0);
  g_return_val_if_fail (n_payloads > 0, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  for (guint i = 0; i < n_payloads; i++)
    g_return_val_if_fail (payloads[i] != NULL, 0);

  return _net_redex_file_append_full (self, payloads, NULL, n_payloads, 0, error);
}

/**
 * net_redex_file_append_if_next_seq:
 * @self: a #NetRedexFile
 * @expected_seq: the sequence number the event must get
 * @payload: the payload
 * @error: return location for a #GError, or %NULL
 *
 * Appends one event only if it gets @expected_seq (optimistic concurrency,
 * as replication uses it).
 *
 * Returns: %TRUE if appended; %FALSE with %NET_ERROR_SEQ_MISMATCH when the
 *   log is at another sequence number, or another error
 */
gboolean
net_redex_file_append_if_next_seq (NetRedexFile  *self,
                                   guint64        expected_seq,
                                   GBytes        *payload,
                                   GError       **error)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (expected_seq > 0, FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return append_one (self, payload, expected_seq, error) != 0;
}

/**
 * net_redex_file_append_events:
 * @self: a #NetRedexFile
 * @events: (element-type NetRedexEvent): events with consecutive sequence
 *   numbers, the first being the log's next one
 * @error: return location for a #GError, or %NULL
 *
 * Appends events copied from another log, keeping their sequence numbers
 * and timestamps (replication). All or nothing.
 *
 * Returns: %TRUE if appended; %FALSE with %NET_ERROR_SEQ_MISMATCH when
 *   the first event is not the log's next sequence number, or another error
 */
gboolean
net_redex_file_append_events (NetRedexFile  *self,
                              GPtrArray     *events,
                              GError       **error)
{
  g_autofree GBytes **payloads = NULL;
  g_autofree gint64 *timestamps = NULL;
  guint64 first;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (events != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (events->len == 0)
    return TRUE;

  payloads = g_new (GBytes *, events->len);
  timestamps = g_new (gint64, events->len);
  first = net_redex_event_get_seq (g_ptr_array_index (events, 0));

  for (guint i = 0; i < events->len; i++)
    {
      NetRedexEvent *ev = g_ptr_array_index (events, i);

      if (ev->seq != first + i)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "events to append must have consecutive seqs; seq %" G_GUINT64_FORMAT
                       " follows %" G_GUINT64_FORMAT,
                       ev->seq, first + i - 1);
          return FALSE;
        }
      payloads[i] = ev->payload;
      timestamps[i] = ev->timestamp;
    }

  return _net_redex_file_append_full (self, payloads, timestamps, events->len, first, error) != 0;
}

/**
 * net_redex_file_append_durable:
 * @self: a #NetRedexFile
 * @payload: the payload
 * @error: return location for a #GError, or %NULL
 *
 * Appends one event and returns once it is on stable storage, whatever
 * the fsync policy. Concurrent callers share fsyncs (group commit). This
 * blocks; use net_redex_file_append_durable_async() on a main loop.
 *
 * Returns: the sequence number of the event, or 0 with @error set
 */
guint64
net_redex_file_append_durable (NetRedexFile  *self,
                               GBytes        *payload,
                               GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  guint64 seq;
  gboolean ok;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);
  g_return_val_if_fail (payload != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  seq = append_one (self, payload, 0, error);
  if (seq == 0)
    return 0;

  g_mutex_lock (&self->mutex);
  ok = wait_durable_locked (self, seq, &local_error);
  g_mutex_unlock (&self->mutex);

  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return 0;
    }

  return seq;
}

/**
 * net_redex_file_append_durable_async:
 * @self: a #NetRedexFile
 * @payload: the payload
 * @cancellable: (nullable): a #GCancellable, or %NULL
 * @callback: (scope async): called once the event is durable
 * @user_data: data for @callback
 *
 * Appends one event at once (later appends get later sequence numbers)
 * and calls @callback in the thread-default main context of the caller
 * once it is on stable storage. Concurrent waiters share fsyncs, done by a
 * background thread.
 *
 * With @cancellable already cancelled, nothing is appended and @callback
 * gets %G_IO_ERROR_CANCELLED. Cancelling later stops the wait at once
 * (%G_IO_ERROR_CANCELLED): the event stays appended and becomes durable
 * with the next sync.
 */
void
net_redex_file_append_durable_async (NetRedexFile        *self,
                                     GBytes              *payload,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  guint64 *seq;

  g_return_if_fail (NET_IS_REDEX_FILE (self));
  g_return_if_fail (payload != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, net_redex_file_append_durable_async);
  g_task_set_check_cancellable (task, FALSE);

  seq = g_new (guint64, 1);
  g_task_set_task_data (task, seq, g_free);

  /* Cancelled already: nothing is appended. */
  if (g_task_return_error_if_cancelled (task))
    return;

  *seq = append_one (self, payload, 0, &error);
  if (*seq == 0)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_mutex_lock (&self->mutex);
  if (self->durable_seq >= *seq || !self->persistent)
    {
      g_mutex_unlock (&self->mutex);
      g_task_return_boolean (task, TRUE);
      return;
    }
  else
    {
      DurableWaiter *w = g_new (DurableWaiter, 1);

      w->seq = *seq;
      w->task = g_steal_pointer (&task);
      w->cancel_source = NULL;
      if (cancellable != NULL)
        {
          w->cancel_source = g_cancellable_source_new (cancellable);
          g_source_set_static_name (w->cancel_source, "[netdb] durable append cancelled");
          g_source_set_priority (w->cancel_source, G_PRIORITY_DEFAULT);
          g_source_set_callback (w->cancel_source, G_SOURCE_FUNC (append_durable_cancelled_cb),
                                 g_object_ref (w->task), g_object_unref);
          g_source_attach (w->cancel_source, g_task_get_context (w->task));
        }
      g_queue_push_tail (&self->durable_waiters, w);
      if (*seq > self->durable_requested)
        self->durable_requested = *seq;
      ensure_worker_locked (self);
    }
  g_mutex_unlock (&self->mutex);
}

/**
 * net_redex_file_append_durable_finish:
 * @self: a #NetRedexFile
 * @result: the #GAsyncResult
 * @error: return location for a #GError, or %NULL
 *
 * Completes net_redex_file_append_durable_async().
 *
 * Returns: the sequence number of the durable event, or 0 with @error set
 */
guint64
net_redex_file_append_durable_finish (NetRedexFile  *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (NET_IS_REDEX_FILE (self), 0);
  g_return_val_if_fail (g_task_is_valid (result, self), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == net_redex_file_append_durable_async, 0);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return 0;

  return *(guint64 *) g_task_get_task_data (G_TASK (result));
}

/**
 * net_redex_file_read_one:
 * @self: a #NetRedexFile
 * @seq: a sequence number
 * @error: return location for a #GError, or %NULL
 *
 * Reads one event.
 *
 * Returns: (transfer full): the event, or %NULL with %NET_ERROR_NOT_FOUND
 *   when @seq is not retained or not written yet, %NET_ERROR_CORRUPT when
 *   the record fails its checksum, or another error
 */
NetRedexEvent *
net_redex_file_read_one (NetRedexFile  *self,
                         guint64        seq,
                         GError       **error)
{
  g_autoptr(GPtrArray) events = NULL;
  guint64 first, next;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->mutex);
  first = self->first_seq;
  next = self->next_seq;
  events = seq > 0 ? read_range_locked (self, seq, seq + 1, FALSE, error) : NULL;
  g_mutex_unlock (&self->mutex);

  if (seq > 0 && events == NULL)
    return NULL;

  if (events == NULL || events->len == 0)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "log “%s” has no event %" G_GUINT64_FORMAT " (it holds %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT ")",
                   self->name, seq, first, next - 1);
      return NULL;
    }

  return net_redex_event_ref (g_ptr_array_index (events, 0));
}

/**
 * net_redex_file_read_range:
 * @self: a #NetRedexFile
 * @start_seq: the first sequence number to read
 * @end_seq: the sequence number to stop before
 * @error: return location for a #GError, or %NULL
 *
 * Reads the retained events in [@start_seq, @end_seq). The range is
 * clipped to the retained events, so the result may start later than
 * @start_seq (check the first event's sequence number) or be empty.
 *
 * Returns: (transfer container) (element-type NetRedexEvent): the events,
 *   or %NULL with @error set (%NET_ERROR_CORRUPT for a damaged record)
 */
GPtrArray *
net_redex_file_read_range (NetRedexFile  *self,
                           guint64        start_seq,
                           guint64        end_seq,
                           GError       **error)
{
  GPtrArray *events;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_mutex_lock (&self->mutex);
  events = read_range_locked (self, start_seq, end_seq, FALSE, error);
  g_mutex_unlock (&self->mutex);

  return events;
}

/**
 * net_redex_file_tail:
 * @self: a #NetRedexFile
 * @from_seq: the first sequence number to deliver, or 0 for the oldest
 *   retained event
 *
 * Creates a tail: a reader that yields the retained events from
 * @from_seq, then every event appended later, in order, with no gap and
 * no duplicate at the hand-over. The tail belongs to the thread-default
 * main context of the caller.
 *
 * Returns: (transfer full): a new #NetRedexTail
 */
NetRedexTail *
net_redex_file_tail (NetRedexFile *self,
                     guint64       from_seq)
{
  NetRedexTail *tail;
  guint64 next;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), NULL);

  g_mutex_lock (&self->mutex);
  next = self->next_seq;
  if (from_seq == 0)
    from_seq = self->first_seq;
  tail = _net_redex_tail_new (self, from_seq, next);
  g_ptr_array_add (self->tails, tail);
  g_mutex_unlock (&self->mutex);

  return tail;
}

/**
 * net_redex_file_sync:
 * @self: a #NetRedexFile
 * @error: return location for a #GError, or %NULL
 *
 * Makes every appended event durable.
 *
 * Returns: %TRUE on success
 */
gboolean
net_redex_file_sync (NetRedexFile  *self,
                     GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  ok = check_open_locked (self, error);
  if (ok)
    ok = wait_durable_locked (self, self->next_seq - 1, error);
  g_mutex_unlock (&self->mutex);

  return ok;
}

/**
 * net_redex_file_sweep_retention:
 * @self: a #NetRedexFile
 * @out_evicted: (out) (optional): the number of events evicted
 * @error: return location for a #GError, or %NULL
 *
 * Applies the retention limits of the log's config now, after waiting
 * for segments that are being sealed. Persistent logs also do this in the
 * background whenever a sealed segment was made durable, in-memory logs
 * on every append.
 *
 * Returns: %TRUE on success
 */
gboolean
net_redex_file_sweep_retention (NetRedexFile  *self,
                                guint64       *out_evicted,
                                GError       **error)
{
  gboolean ok;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (out_evicted)
    *out_evicted = 0;

  g_mutex_lock (&self->mutex);
  ok = check_writable_locked (self, error);
  /* Rolled segments become evictable once the worker has sealed them (and
   * it sweeps then too): count whatever this call's wait evicted. */
  if (ok && self->persistent)
    {
      guint64 before = self->first_seq;

      ok = wait_durable_locked (self, self->next_seq - 1, error) &&
           disk_sweep_locked (self, NULL, error);
      if (ok && out_evicted)
        *out_evicted = self->first_seq - before;
    }
  else if (ok)
    {
      guint64 n = mem_sweep_locked (self, g_get_real_time ());

      if (out_evicted)
        *out_evicted = n;
      if (n > 0)
        wake_all_tails_locked (self);
    }
  g_mutex_unlock (&self->mutex);

  return ok;
}

/**
 * net_redex_file_verify:
 * @self: a #NetRedexFile
 * @error: return location for a #GError, or %NULL
 *
 * Reads every segment of the log and checks every record and index.
 *
 * What a crash leaves at the end of the log of a writer that is gone (a
 * torn last record, or a batch without its last record) is no problem: the
 * next writer truncates it, and none of it was acknowledged as durable.
 * `netdb log verify` reports it apart, with its own exit status.
 *
 * Returns: (transfer full) (array zero-terminated=1): one line per
 *   problem found, naming the segment file and offset (empty when the log
 *   is sound), or %NULL with @error set
 */
char **
net_redex_file_verify (NetRedexFile  *self,
                       GError       **error)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_net_redex_file_verify_full (self, problems, NULL, error))
    return NULL;

  g_ptr_array_add (problems, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&problems), FALSE);
}

/*
 * Like net_redex_file_verify(), and adds to @incomplete (when not %NULL)
 * what a crash left at the end of the active segment that this reader, not
 * being the writer, did not truncate: a torn last record or a batch without
 * its last record.  That is no damage, but `netdb log verify` says so.
 */
/* For tests: while held, the sync worker starts no round, so durable
 * waiters stay waiting. */
void
_net_redex_file_hold_sync (NetRedexFile *self,
                           gboolean      hold)
{
  g_mutex_lock (&self->mutex);
  self->sync_held = hold;
  g_cond_broadcast (&self->worker_cond);
  g_mutex_unlock (&self->mutex);
}

gboolean
_net_redex_file_verify_full (NetRedexFile  *self,
                             GPtrArray     *problems,
                             GPtrArray     *incomplete,
                             GError       **error)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);

  g_mutex_lock (&self->mutex);
  if (!check_open_locked (self, error))
    {
      g_mutex_unlock (&self->mutex);
      return FALSE;
    }

  for (guint i = 0; self->persistent && i < self->segments->len; i++)
    {
      NetRedexSegment *seg = g_ptr_array_index (self->segments, i);
      g_autoptr(GError) local_error = NULL;

      if (!_net_redex_segment_ensure_index (seg, &local_error))
        g_ptr_array_add (problems, g_strdup (local_error->message));
      _net_redex_segment_verify (seg, problems, notes);
    }
  g_mutex_unlock (&self->mutex);

  for (guint i = 0; incomplete != NULL && i < notes->len; i++)
    g_ptr_array_add (incomplete, g_strdup (g_ptr_array_index (notes, i)));

  return TRUE;
}

/**
 * net_redex_file_close:
 * @self: a #NetRedexFile
 * @error: return location for a #GError, or %NULL
 *
 * Makes everything durable and closes the log. Later appends and reads
 * fail with %NET_ERROR_CLOSED, and tails end with it. Closing twice is
 * harmless.
 *
 * Returns: %TRUE on success; %FALSE if the final sync failed
 */
gboolean
net_redex_file_close (NetRedexFile  *self,
                      GError       **error)
{
  g_autoptr(GPtrArray) failed = NULL;
  g_autoptr(GError) closed_error = NULL;
  NetRedex *redex = NULL;
  GThread *worker;
  gboolean ok = TRUE;

  g_return_val_if_fail (NET_IS_REDEX_FILE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&self->mutex);
  if (self->closed)
    {
      g_mutex_unlock (&self->mutex);
      return TRUE;
    }

  /* After a failed sync this fails with its error unless every event was
   * durable before it: a later sync succeeding (the trim's, below) would
   * not bring back what the kernel dropped. */
  if (self->persistent && !self->read_only)
    ok = wait_durable_locked (self, self->next_seq - 1, error);

  self->closed = TRUE;
  self->worker_quit = TRUE;
  g_cond_broadcast (&self->worker_cond);
  collect_waiters_locked (self, &failed, TRUE);
  wake_all_tails_locked (self);
  worker = g_steal_pointer (&self->worker);
  g_mutex_unlock (&self->mutex);

  if (worker != NULL)
    g_thread_join (worker);

  closed_error = g_error_new (NET_ERROR, NET_ERROR_CLOSED, "log “%s” was closed", self->name);
  complete_waiters (failed, closed_error);

  stop_following (self);

  g_mutex_lock (&self->mutex);
  /* A log nobody writes ends at its data: the active segment gives back
   * its preallocated rest (the next writer allocates it again). */
  if (ok && self->persistent && !self->read_only && self->segments != NULL &&
      self->segments->len > 0 && active_segment (self)->file_size > active_segment (self)->length)
    ok = _net_redex_segment_trim (active_segment (self), error) &&
         _net_redex_segment_sync (active_segment (self), error);
  if (self->segments != NULL)
    g_ptr_array_set_size (self->segments, 0);
  /* A closed log must not keep the directory locked: whoever still holds
   * this object holds nothing on disk. */
  if (self->persistent)
    redex = g_steal_pointer (&self->redex);
  g_mutex_unlock (&self->mutex);

  g_clear_object (&redex);

  return ok;
}
