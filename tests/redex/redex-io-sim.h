/* redex-io-sim.h: a power-loss simulation under the log's file system calls
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SIM_CRASH_DROP_ALL,   /* only what was synced survives */
  SIM_CRASH_KEEP_ALL,   /* everything written survives (as a SIGKILL) */
  SIM_CRASH_SUBSET,     /* any subset of the unsynced operations, whole */
  SIM_CRASH_TORN,       /* any subset, writes torn at 512-byte sectors */
  SIM_CRASH_N_MODES
} SimCrashMode;

/* Starts recording under @root (which must exist): what is there now
 * counts as durable.  Installs the hooks of the log's write path. */
void     redex_io_sim_start        (const char   *root);
/* After this many more mutating calls (writes, syncs, directory
 * operations) the machine "loses power": the call fails with EIO, and so
 * does every later one until redex_io_sim_stop().  0: never. */
void     redex_io_sim_crash_after  (guint         n_ops);
gboolean redex_io_sim_crashed      (void);
/* The power goes now. */
void     redex_io_sim_crash_now    (void);
/* The next @n_syncs fsync()/fdatasync() of files fail with EIO while the
 * power stays on, and what each was to make durable is lost (the kernel
 * marks the pages clean after a failed writeback). */
void     redex_io_sim_fail_syncs   (guint         n_syncs);
/* Builds in @out (which must not exist) what the disk could hold after a
 * power cut now, according to @mode, choosing with @rand. */
void     redex_io_sim_materialize  (const char   *out,
                                    SimCrashMode  mode,
                                    GRand        *rand);
/* Mutating calls seen since redex_io_sim_start(). */
guint    redex_io_sim_n_ops        (void);
/* Unsynced operations pending now. */
guint    redex_io_sim_n_pending    (void);
/* Stops recording and restores the real calls. */
void     redex_io_sim_stop         (void);

const char *redex_io_sim_mode_name (SimCrashMode  mode);

G_END_DECLS
