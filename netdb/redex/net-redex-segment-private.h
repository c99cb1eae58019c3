/* net-redex-segment-private.h: one segment file of a persistent log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Segments are not thread-safe: the owning NetRedexFile serializes access
 * to their mutable fields with its mutex.  The fd and the data of a sealed
 * segment never change, so readers may pread() after dropping the mutex as
 * long as they hold a reference.
 */

#pragma once

#include <glib.h>

#include "net-redex-format-private.h"

G_BEGIN_DECLS

typedef struct _NetRedexSegment NetRedexSegment;

/*
 * The offsets of a segment's records while they are in memory (the active
 * segment's, or a sealed one's whose index was rebuilt): 4 bytes each
 * while every offset is below 4 GiB, as in a segment of the usual size (64
 * MiB), 8 bytes from the first one that is not.  The active segment of a
 * large log holds over a million of them, so the array grows like the
 * in-memory log's: doubling while small, then by an eighth (a large
 * array is mmap'd and grows in place).
 */
typedef struct
{
  guint32 *narrow;   /* while every offset fits, else NULL */
  guint64 *wide;     /* once one does not */
  gsize    len;
  gsize    cap;
} NetRedexOffsets;

NetRedexOffsets *_net_redex_offsets_new      (void);
void             _net_redex_offsets_free     (NetRedexOffsets *offsets);
void             _net_redex_offsets_append   (NetRedexOffsets *offsets,
                                              guint64          offset);
/* Keeps the first @len offsets. */
void             _net_redex_offsets_truncate (NetRedexOffsets *offsets,
                                              gsize            len);

static inline guint64
_net_redex_offsets_get (const NetRedexOffsets *offsets,
                        gsize                  index)
{
  return offsets->narrow != NULL ? offsets->narrow[index] : offsets->wide[index];
}

struct _NetRedexSegment
{
  gatomicrefcount  ref_count;
  guint64          base_seq;
  char            *path;
  char            *idx_path;
  int              fd;
  guint            sealed : 1;
  guint            read_only : 1;
  guint            map_checked : 1;
  guint            header_lost : 1;  /* active, header never reached the disk */
  guint            unsure : 1;       /* sealed, but its index was missing */
  guint            never_sealed : 1; /* unsure, and its end is torn */
  guint            preallocated : 1; /* writer: preallocation was tried */
  guint64          count;     /* record slots */
  guint64          length;    /* bytes of records that are valid (end offset) */
  guint64          zeroed_to; /* writer: zeros written (or the file ends) up to here */
  guint64          file_size; /* writer: the file's size, preallocation included */
  gint64           min_ts;
  gint64           max_ts;
  guint            n_bad;     /* damaged records found by the last scan */
  NetRedexOffsets *offsets;   /* NULL while the index is mapped */
  guint8          *map;       /* the .idx file, mapped */
  gsize            map_len;
};

NetRedexSegment *_net_redex_segment_ref            (NetRedexSegment  *self);
void             _net_redex_segment_unref          (NetRedexSegment  *self);
NetRedexSegment *_net_redex_segment_create         (const char       *dir,
                                                    guint64           base_seq,
                                                    GError          **error);
NetRedexSegment *_net_redex_segment_open           (const char       *dir,
                                                    guint64           base_seq,
                                                    gboolean          sealed,
                                                    gboolean          read_only,
                                                    GError          **error);
gboolean         _net_redex_segment_refresh        (NetRedexSegment  *self,
                                                    GError          **error);
gboolean         _net_redex_segment_ensure_index   (NetRedexSegment  *self,
                                                    GError          **error);
guint64          _net_redex_segment_get_offset     (NetRedexSegment  *self,
                                                    guint64           index);
guint64          _net_redex_segment_get_end        (NetRedexSegment  *self,
                                                    guint64           index);
gboolean         _net_redex_segment_preallocate    (NetRedexSegment  *self,
                                                    guint64           size);
gboolean         _net_redex_segment_zero_ahead     (NetRedexSegment  *self,
                                                    guint64           end,
                                                    GError          **error);
gboolean         _net_redex_segment_trim           (NetRedexSegment  *self,
                                                    GError          **error);
gboolean         _net_redex_segment_seal           (NetRedexSegment  *self,
                                                    GError          **error);
gboolean         _net_redex_segment_sync           (NetRedexSegment  *self,
                                                    GError          **error);
void             _net_redex_segment_verify         (NetRedexSegment  *self,
                                                    GPtrArray        *problems,
                                                    GPtrArray        *incomplete);
GBytes          *_net_redex_segment_pread          (NetRedexSegment  *self,
                                                    guint64           offset,
                                                    gsize             len,
                                                    GError          **error);
gboolean         _net_redex_sync_dir               (const char       *dir,
                                                    GError          **error);
gboolean         _net_redex_write_file_atomic      (const char       *dir,
                                                    const char       *file_name,
                                                    GBytes           *contents,
                                                    GError          **error);

G_END_DECLS
