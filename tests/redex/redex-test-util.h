/* redex-test-util.h: helpers shared by the RedEX tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "netdb.h"

G_BEGIN_DECLS

/* Temporary directories. */
char          *redex_test_make_tmpdir         (void);
void           redex_test_rm_rf               (const char     *path);
void           redex_test_copy_dir            (const char     *src,
                                               const char     *dst);

/* Payloads whose contents are a function of (tag, len), so a reader can
 * check them byte-exactly.  The first 8 bytes are @tag (LE). */
GBytes        *redex_test_payload             (guint64         tag,
                                               gsize           len);
guint64        redex_test_payload_tag         (GBytes         *payload);
gboolean       redex_test_payload_is_valid    (GBytes         *payload);

void           redex_test_assert_bytes_equal  (GBytes         *a,
                                               GBytes         *b);
void           redex_test_assert_event        (NetRedexEvent  *event,
                                               guint64         seq,
                                               GBytes         *payload);

/* Main context helpers: every wait is bounded and fails the test instead
 * of hanging. */
void           redex_test_spin                (guint           ms);
#define REDEX_TEST_SPIN_UNTIL(cond, timeout_ms)                                  \
  G_STMT_START {                                                                 \
    gint64 _deadline = g_get_monotonic_time () + (gint64) (timeout_ms) * 1000;   \
    guint _wake = g_timeout_add (5, redex_test_wake_cb, NULL);                   \
    while (!(cond))                                                              \
      {                                                                          \
        if (g_get_monotonic_time () > _deadline)                                 \
          g_error ("%s:%d: timed out after %d ms waiting for: %s",               \
                   __FILE__, __LINE__, (int) (timeout_ms), #cond);               \
        g_main_context_iteration (NULL, TRUE);                                   \
      }                                                                          \
    g_source_remove (_wake);                                                     \
  } G_STMT_END
gboolean       redex_test_wake_cb             (gpointer        data);
/* @seconds of hang detection, times $NETDB_TEST_TIME_FACTOR (a slow
 * build, such as the sanitizers', sets it), in microseconds. */
gint64         redex_test_deadline_usec       (guint           seconds);

/* Waits (iterating the thread-default context) for the next event of
 * @tail, failing the test after @timeout_ms. */
NetRedexEvent *redex_test_tail_next           (NetRedexTail   *tail,
                                               guint           timeout_ms,
                                               GError        **error);
/* Asserts that no next event arrives within @ms. */
void           redex_test_tail_assert_pending (NetRedexTail   *tail,
                                               guint           ms);

/* On-disk helpers. */
char          *redex_test_find_log_dir        (const char     *db_dir,
                                               const char     *name);
GArray        *redex_test_list_bases          (const char     *log_dir,
                                               const char     *suffix);
char          *redex_test_segment_path        (const char     *log_dir,
                                               guint64         base_seq,
                                               const char     *suffix);
goffset        redex_test_file_size           (const char     *path);
void           redex_test_truncate            (const char     *path,
                                               goffset         size);
void           redex_test_flip_bit            (const char     *path,
                                               goffset         offset,
                                               guint           bit);
void           redex_test_append_raw          (const char     *path,
                                               const guint8   *data,
                                               gsize           len);
/* Offsets of the records of a segment file, by walking the headers. */
guint64      redex_test_data_end          (const char *seg_path);
GArray        *redex_test_record_offsets      (const char     *seg_path);

/* A description of every file under @dir (path, size, mode, mtime,
 * SHA-256), to prove that nobody changed anything. */
char          *redex_test_dir_fingerprint     (const char     *dir);

/* Lets warnings through (criticals stay fatal) in tests that damage files
 * on purpose: GTest makes warnings fatal. */
void           redex_test_allow_warnings      (void);

G_END_DECLS
