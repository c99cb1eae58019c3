/* fuzz-common.h: what every libFuzzer target of netdb sets up
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <signal.h>
#include <stdlib.h>

#include <glib.h>

/* A fatal GLib log message ends in G_BREAKPOINT (SIGTRAP), which libFuzzer
 * does not handle: the process dies without writing the input that did
 * it.  Made an abort, it is a crash libFuzzer reports and saves. */
static void
fuzz_trap_to_abort (int signum)
{
  abort ();
}

/* Makes criticals (and warnings, with @warnings) fatal and reportable. */
static inline void
fuzz_fatal_logs (gboolean warnings)
{
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | (warnings ? G_LOG_LEVEL_WARNING : 0));
  signal (SIGTRAP, fuzz_trap_to_abort);
}
