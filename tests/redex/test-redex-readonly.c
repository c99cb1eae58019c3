/* test-redex-readonly.c: the write lock, and read-only openers in this and
 * in other processes following a writer live
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test binary doubles as the other process: run with --child-reader
 * DIR NAME it opens DIR read-only, prints the history of NAME and then
 * every event it sees, one line each, until its stdin is closed; with
 * --child-lock DIR it tries to become the writer of DIR.
 */

#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>

#include "redex-test-util.h"
#include "net-redex-format-private.h"
#include "net-redex-private.h"

#define LOG_NAME "shared/log"
#define SEG_SIZE 4096

/* ------------------------------------------------------------------ */
/* Child side                                                          */

static void G_GNUC_PRINTF (1, 2)
child_say (const char *format,
           ...)
{
  g_autofree char *line = NULL;
  va_list args;
  gsize done = 0, len;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  line = g_realloc (line, strlen (line) + 2);
  strcat (line, "\n");
  len = strlen (line);

  /* One write per line, so the parent never sees half a line from a
   * line that was complete. */
  while (done < len)
    {
      ssize_t r = write (STDOUT_FILENO, line + done, len - done);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        _exit (3);
      done += r;
    }
}

static char *
hex (GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GString *s = g_string_sized_new (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

typedef struct
{
  GMainLoop    *loop;
  NetRedexTail *tail;
  gboolean      failed;
} ChildState;

static void
child_next_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  ChildState *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexEvent) event = net_redex_tail_next_finish (NET_REDEX_TAIL (object), result, &error);

  if (event == NULL)
    {
      /* CLOSED is expected while we shut down. */
      if (!state->failed && !g_main_loop_is_running (state->loop))
        return;
      child_say ("ERR %d %s", error->code, error->message);
      state->failed = TRUE;
      return;
    }

  {
    g_autofree char *h = hex (net_redex_event_get_payload (event));
    child_say ("EV %" G_GUINT64_FORMAT " %s", net_redex_event_get_seq (event), h);
  }
  net_redex_tail_next_async (state->tail, NULL, child_next_cb, state);
}

static void
child_stdin_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  ChildState *state = user_data;
  GBytes *bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, NULL);

  /* Any input or EOF means: stop. */
  g_clear_pointer (&bytes, g_bytes_unref);
  g_main_loop_quit (state->loop);
}

static int
child_reader (const char *dir,
              const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) history = NULL;
  g_autoptr(GInputStream) in = NULL;
  ChildState state = { 0, };
  guint64 first, next;

  redex = net_redex_new_read_only (dir, &error);
  if (redex == NULL)
    {
      child_say ("ERR %d %s", error->code, error->message);
      return 1;
    }
  file = net_redex_open_file (redex, name, NULL, &error);
  if (file == NULL)
    {
      child_say ("ERR %d %s", error->code, error->message);
      return 1;
    }

  first = net_redex_file_get_first_seq (file);
  next = net_redex_file_get_next_seq (file);
  history = net_redex_file_read_range (file, first, next, &error);
  if (history == NULL)
    {
      child_say ("ERR %d %s", error->code, error->message);
      return 1;
    }
  for (guint i = 0; i < history->len; i++)
    {
      g_autofree char *h = hex (net_redex_event_get_payload (history->pdata[i]));
      child_say ("HIST %" G_GUINT64_FORMAT " %s", net_redex_event_get_seq (history->pdata[i]), h);
    }
  child_say ("READY %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, first, next);

  state.loop = g_main_loop_new (NULL, FALSE);
  state.tail = net_redex_file_tail (file, next);
  net_redex_tail_next_async (state.tail, NULL, child_next_cb, &state);

  in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_input_stream_read_bytes_async (in, 1, G_PRIORITY_DEFAULT, NULL, child_stdin_cb, &state);

  g_main_loop_run (state.loop);

  if (!net_redex_close (redex, &error))
    child_say ("ERR %d %s", error->code, error->message);
  /* Let the tail's CLOSED completion run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&state.tail);
  g_main_loop_unref (state.loop);
  child_say ("BYE");
  return 0;
}

static int
child_lock (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (dir, &error);

  if (redex != NULL)
    child_say ("OK");
  else if (g_error_matches (error, NET_ERROR, NET_ERROR_LOCKED))
    child_say ("LOCKED %s", error->message);
  else
    child_say ("ERR %d %s", error->code, error->message);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side                                                         */

typedef struct
{
  char   *text;
  gint64  time;  /* monotonic, when it was read */
} Line;

static void
line_free (Line *line)
{
  g_free (line->text);
  g_free (line);
}

typedef struct
{
  GSubprocess  *proc;
  GAsyncQueue  *lines;
  GThread      *thread;
  char         *label;
} Child;

static gpointer
child_read_thread (gpointer data)
{
  Child *c = data;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (c->proc));

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      char *text = g_data_input_stream_read_line (in, NULL, NULL, &error);
      Line *line = g_new0 (Line, 1);

      line->time = g_get_monotonic_time ();
      line->text = text != NULL ? text : g_strdup ("EOF");
      g_async_queue_push (c->lines, line);
      if (text == NULL)
        break;
    }
  return NULL;
}

static Child *
child_spawn (const char *label,
             const char *mode,
             const char *arg1,
             const char *arg2)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  Child *c = g_new0 (Child, 1);

  g_assert_no_error (error);
  c->label = g_strdup (label);
  c->lines = g_async_queue_new_full ((GDestroyNotify) line_free);
  c->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                              self, mode, arg1, arg2, NULL);
  g_assert_no_error (error);
  c->thread = g_thread_new ("child-reader", child_read_thread, c);
  return c;
}

/* The next line, or fails the test after @timeout_ms. */
static Line *
child_expect_line (Child *c,
                   guint  timeout_ms)
{
  Line *line = g_async_queue_timeout_pop (c->lines, (guint64) timeout_ms * 1000);

  if (line == NULL)
    g_error ("%s: no output within %u ms", c->label, timeout_ms);
  if (g_str_has_prefix (line->text, "ERR "))
    g_error ("%s reported an error: %s", c->label, line->text);
  if (strcmp (line->text, "EOF") == 0)
    g_error ("%s exited unexpectedly", c->label);
  return line;
}

static void
child_assert_silent (Child *c)
{
  Line *line = g_async_queue_try_pop (c->lines);

  if (line != NULL)
    g_error ("%s printed \"%.80s\" when nothing was expected", c->label, line->text);
}

static void
child_finish (Child *c)
{
  g_autoptr(GError) error = NULL;
  gboolean bye = FALSE;

  if (c->proc == NULL)
    return;

  g_output_stream_close (g_subprocess_get_stdin_pipe (c->proc), NULL, NULL);
  for (;;)
    {
      Line *line = g_async_queue_timeout_pop (c->lines, 10 * G_USEC_PER_SEC);

      if (line == NULL)
        g_error ("%s did not exit", c->label);
      if (strcmp (line->text, "EOF") == 0)
        {
          line_free (line);
          break;
        }
      if (g_str_has_prefix (line->text, "ERR "))
        g_error ("%s reported an error: %s", c->label, line->text);
      if (strcmp (line->text, "BYE") == 0)
        bye = TRUE;
      line_free (line);
    }
  g_subprocess_wait_check (c->proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (bye);
  g_thread_join (c->thread);
  g_clear_object (&c->proc);
}

static void
child_free (Child *c)
{
  if (c->proc != NULL)
    {
      g_subprocess_force_exit (c->proc);
      g_subprocess_wait (c->proc, NULL, NULL);
      g_thread_join (c->thread);
      g_clear_object (&c->proc);
    }
  g_async_queue_unref (c->lines);
  g_free (c->label);
  g_free (c);
}

static gsize
len_for (guint64 seq)
{
  return 60 + (seq * 13) % 90;
}

static void
expect_event_line (Child      *c,
                   const char *kind,
                   guint64     seq,
                   guint       timeout_ms,
                   gint64     *out_time)
{
  Line *line = child_expect_line (c, timeout_ms);
  g_autoptr(GBytes) p = redex_test_payload (seq, len_for (seq));
  g_autofree char *h = hex (p);
  g_autofree char *want = g_strdup_printf ("%s %" G_GUINT64_FORMAT " %s", kind, seq, h);

  if (strcmp (line->text, want) != 0)
    g_error ("%s: expected \"%.60s…\", got \"%.60s…\"", c->label, want, line->text);
  if (out_time != NULL)
    *out_time = line->time;
  line_free (line);
}

static void
expect_history (Child   *c,
                guint64  first,
                guint64  next)
{
  g_autofree char *ready = g_strdup_printf ("READY %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, first, next);
  Line *line;

  for (guint64 s = first; s < next; s++)
    expect_event_line (c, "HIST", s, 10000, NULL);
  line = child_expect_line (c, 10000);
  g_assert_cmpstr (line->text, ==, ready);
  line_free (line);
}

static guint64
append_one (NetRedexFile *file)
{
  g_autoptr(GError) error = NULL;
  guint64 seq = net_redex_file_get_next_seq (file);
  g_autoptr(GBytes) p = redex_test_payload (seq, len_for (seq));

  g_assert_cmpuint (net_redex_file_append (file, p, &error), ==, seq);
  g_assert_no_error (error);
  return seq;
}

static gint
cmp_gint64 (gconstpointer a,
            gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static char *
last_segment (const char *log_dir)
{
  g_autoptr(GArray) segs = redex_test_list_bases (log_dir, ".seg");

  g_assert_cmpuint (segs->len, >, 0);
  return redex_test_segment_path (log_dir, g_array_index (segs, guint64, segs->len - 1), ".seg");
}

static void
assert_fingerprint_stable (const char *dir,
                           const char *before,
                           const char *what)
{
  g_autofree char *now = redex_test_dir_fingerprint (dir);

  if (strcmp (before, now) != 0)
    g_error ("%s: the files changed.\nbefore:\n%s\nafter:\n%s", what, before, now);
}

static void
test_other_process (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "db", NULL);
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autofree char *log_dir = NULL;
  g_autofree char *f_before = NULL;
  NetRedex *writer;
  NetRedexFile *file;
  Child *reader, *late;
  guint64 next;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  writer = net_redex_new (dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (writer, LOG_NAME, config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 60; i++)
    append_one (file);
  g_assert_true (net_redex_file_sync (file, &error));
  g_assert_no_error (error);

  /* A missing index tempts a reader to write one. */
  log_dir = redex_test_find_log_dir (dir, LOG_NAME);
  {
    g_autoptr(GArray) idxs = redex_test_list_bases (log_dir, ".idx");
    g_autofree char *idx = NULL;

    g_assert_cmpuint (idxs->len, >, 1);
    idx = redex_test_segment_path (log_dir, g_array_index (idxs, guint64, 0), ".idx");
    g_assert_cmpint (g_unlink (idx), ==, 0);
  }

  f_before = redex_test_dir_fingerprint (dir);
  reader = child_spawn ("reader", "--child-reader", dir, LOG_NAME);
  expect_history (reader, 1, 61);
  g_usleep (300 * 1000);
  assert_fingerprint_stable (dir, f_before, "opening read-only in another process");
  child_assert_silent (reader);

  /* Live appends, one at a time. */
  for (guint i = 0; i < 20; i++)
    {
      guint64 seq = append_one (file);
      gint64 t0 = g_get_monotonic_time (), t1 = 0, latency;

      expect_event_line (reader, "EV", seq, 10000, &t1);
      latency = t1 - t0;
      g_array_append_val (latencies, latency);
      g_usleep (g_test_rand_int_range (5, 60) * 1000);
    }
  g_array_sort (latencies, cmp_gint64);
  {
    GString *s = g_string_new ("latencies (µs):");

    for (guint i = 0; i < latencies->len; i++)
      g_string_append_printf (s, " %" G_GINT64_FORMAT, g_array_index (latencies, gint64, i));
    g_test_message ("%s", s->str);
    g_string_free (s, TRUE);
  }
  /* The median, so that one scheduling hiccup on a loaded machine does not
   * fail the test, while a coalescing file monitor (800 ms by default)
   * does. */
  if (g_array_index (latencies, gint64, latencies->len / 2) >= 100 * 1000)
    g_error ("median latency of a read-only follower is %" G_GINT64_FORMAT " µs, above 100 ms",
             g_array_index (latencies, gint64, latencies->len / 2));

  /* A batch that spans several segments. */
  {
    GBytes *batch[80];
    guint64 first = net_redex_file_get_next_seq (file);

    for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
      batch[i] = redex_test_payload (first + i, len_for (first + i));
    g_assert_cmpuint (net_redex_file_append_batch (file, batch, G_N_ELEMENTS (batch), &error), ==, first);
    g_assert_no_error (error);
    for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
      g_bytes_unref (batch[i]);
    for (guint i = 0; i < G_N_ELEMENTS (batch); i++)
      expect_event_line (reader, "EV", first + i, 10000, NULL);
  }

  /* A record written in pieces, as a writer killed mid-write (or just
   * slow) leaves it: readers must wait for it, not report it, not fail. */
  next = net_redex_file_get_next_seq (file);
  g_object_unref (file);
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  g_clear_object (&writer);
  {
    g_autofree char *seg = last_segment (log_dir);
    g_autoptr(GBytes) p = redex_test_payload (next, len_for (next));
    gsize plen = g_bytes_get_size (p);
    g_autofree guint8 *rec = g_malloc (NET_REDEX_REC_HEADER_SIZE + plen);
    g_autofree char *f_partial = NULL;
    gsize pieces[] = { 0, 20, NET_REDEX_REC_HEADER_SIZE + 10, NET_REDEX_REC_HEADER_SIZE + plen - 1,
                       NET_REDEX_REC_HEADER_SIZE + plen };

    net_redex_record_encode_header (rec, next, g_get_real_time (), g_bytes_get_data (p, NULL), plen);
    memcpy (rec + NET_REDEX_REC_HEADER_SIZE, g_bytes_get_data (p, NULL), plen);

    for (guint i = 0; i + 2 < G_N_ELEMENTS (pieces); i++)
      {
        redex_test_append_raw (seg, rec + pieces[i], pieces[i + 1] - pieces[i]);
        f_partial = redex_test_dir_fingerprint (dir);
        g_usleep (250 * 1000);
        child_assert_silent (reader);
        assert_fingerprint_stable (dir, f_partial, "a reader saw a half-written record");
        g_clear_pointer (&f_partial, g_free);
      }

    /* A reader that opens now does not see it either, and changes
     * nothing (no truncation of what looks like a torn tail). */
    f_partial = redex_test_dir_fingerprint (dir);
    late = child_spawn ("late reader", "--child-reader", dir, LOG_NAME);
    expect_history (late, 1, next);
    g_usleep (250 * 1000);
    child_assert_silent (late);
    child_assert_silent (reader);
    assert_fingerprint_stable (dir, f_partial, "a read-only open with a half-written record");

    /* Completed: both deliver it, byte-exact. */
    redex_test_append_raw (seg, rec + pieces[G_N_ELEMENTS (pieces) - 2],
                           pieces[G_N_ELEMENTS (pieces) - 1] - pieces[G_N_ELEMENTS (pieces) - 2]);
    expect_event_line (reader, "EV", next, 10000, NULL);
    expect_event_line (late, "EV", next, 10000, NULL);
  }

  /* The writer comes back, finds the completed record, and goes on. */
  writer = net_redex_new (dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (writer, LOG_NAME, config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_next_seq (file), ==, next + 1);
  {
    g_autoptr(NetRedexEvent) e = net_redex_file_read_one (file, next, &error);
    g_autoptr(GBytes) p = redex_test_payload (next, len_for (next));

    g_assert_no_error (error);
    redex_test_assert_event (e, next, p);
  }
  for (guint i = 0; i < 3; i++)
    {
      guint64 seq = append_one (file);

      expect_event_line (reader, "EV", seq, 10000, NULL);
      expect_event_line (late, "EV", seq, 10000, NULL);
    }
  g_object_unref (file);
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  g_clear_object (&writer);

  /* Closing the readers changes nothing either. */
  g_clear_pointer (&f_before, g_free);
  f_before = redex_test_dir_fingerprint (dir);
  g_usleep (100 * 1000);
  child_assert_silent (reader);
  child_assert_silent (late);
  child_finish (reader);
  child_finish (late);
  assert_fingerprint_stable (dir, f_before, "closing read-only openers");

  child_free (reader);
  child_free (late);
  redex_test_rm_rf (tmp);
}

static void
test_locked_other_process (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) writer = net_redex_new (tmp, &error);
  Child *c;
  Line *line;

  g_assert_no_error (error);

  c = child_spawn ("locker", "--child-lock", tmp, NULL);
  line = child_expect_line (c, 10000);
  if (!g_str_has_prefix (line->text, "LOCKED "))
    g_error ("a second writer in another process got: %s", line->text);
  if (strstr (line->text, tmp) == NULL)
    g_error ("the LOCKED message does not name %s: %s", tmp, line->text);
  line_free (line);
  line = g_async_queue_timeout_pop (c->lines, 10 * G_USEC_PER_SEC);
  g_assert_nonnull (line);
  g_assert_cmpstr (line->text, ==, "EOF");
  line_free (line);
  g_subprocess_wait (c->proc, NULL, NULL);
  g_thread_join (c->thread);
  g_clear_object (&c->proc);
  child_free (c);

  /* Released when the writer closes. */
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  c = child_spawn ("locker", "--child-lock", tmp, NULL);
  line = child_expect_line (c, 10000);
  g_assert_cmpstr (line->text, ==, "OK");
  line_free (line);
  g_subprocess_wait (c->proc, NULL, NULL);
  g_thread_join (c->thread);
  g_clear_object (&c->proc);
  child_free (c);

  redex_test_rm_rf (tmp);
}

/* A writer of LOG_NAME in @dir holding @n events (segments of SEG_SIZE). */
static NetRedexFile *
open_writer (const char  *dir,
             guint        n,
             NetRedex   **out_writer)
{
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  NetRedexFile *wfile;

  net_redex_config_set_segment_size (config, SEG_SIZE);
  *out_writer = net_redex_new (dir, &error);
  g_assert_no_error (error);
  wfile = net_redex_open_file (*out_writer, LOG_NAME, config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    append_one (wfile);
  return wfile;
}

/* A read-only reader of LOG_NAME in @dir. */
static NetRedexFile *
open_reader (const char  *dir,
             NetRedex   **out_reader)
{
  g_autoptr(GError) error = NULL;
  NetRedexFile *rfile;

  *out_reader = net_redex_new_read_only (dir, &error);
  g_assert_no_error (error);
  rfile = net_redex_open_file (*out_reader, LOG_NAME, NULL, &error);
  g_assert_no_error (error);
  return rfile;
}

/* In the same process: the monitor runs in this thread's context. */
static void
test_same_process (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) writer = NULL;
  g_autoptr(NetRedex) reader = NULL;
  g_autoptr(NetRedexFile) wfile = NULL;
  g_autoptr(NetRedexFile) rfile = NULL;
  g_autoptr(NetRedexTail) tail = NULL;

  wfile = open_writer (tmp, 10, &writer);

  rfile = open_reader (tmp, &reader);
  g_assert_true (net_redex_file_get_read_only (rfile));
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 11);
  for (guint64 s = 1; s <= 10; s++)
    {
      g_autoptr(NetRedexEvent) e = net_redex_file_read_one (rfile, s, &error);
      g_autoptr(GBytes) p = redex_test_payload (s, len_for (s));

      g_assert_no_error (error);
      redex_test_assert_event (e, s, p);
    }

  tail = net_redex_file_tail (rfile, 11);
  for (guint i = 0; i < 200; i++)
    append_one (wfile);
  for (guint64 s = 11; s <= 210; s++)
    {
      g_autoptr(NetRedexEvent) e = redex_test_tail_next (tail, 10000, &error);
      g_autoptr(GBytes) p = redex_test_payload (s, len_for (s));

      g_assert_no_error (error);
      redex_test_assert_event (e, s, p);
    }
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_next_seq (rfile) == 211, 5000);
  {
    g_autoptr(NetRedexEvent) e = net_redex_file_read_one (rfile, 150, &error);
    g_autoptr(GBytes) p = redex_test_payload (150, len_for (150));

    g_assert_no_error (error);
    redex_test_assert_event (e, 150, p);
  }

  /* The writer closing is not an error for the reader's tail. */
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  redex_test_tail_assert_pending (tail, 100);

  g_assert_true (net_redex_close (reader, &error));
  g_assert_no_error (error);
  g_clear_object (&tail);
  redex_test_rm_rf (tmp);
}

/* Reads every event of @rfile and checks each against the payload the
 * writer appended as that seq. */
static void
assert_holds (NetRedexFile *rfile,
              guint64       first,
              guint64       next)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) events = NULL;

  g_assert_cmpuint (net_redex_file_get_first_seq (rfile), ==, first);
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, next);
  events = net_redex_file_read_range (rfile, 1, G_MAXUINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, next - first);
  for (guint i = 0; i < events->len; i++)
    {
      g_autoptr(GBytes) p = redex_test_payload (first + i, len_for (first + i));

      redex_test_assert_event (g_ptr_array_index (events, i), first + i, p);
    }
}

/* On a file system without inotify a reader follows its writer by polling
 * alone: with the file monitor off, nothing arrives until a poll looks. */
static void
test_polling (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) writer = NULL;
  g_autoptr(NetRedex) reader = NULL;
  g_autoptr(NetRedexFile) wfile = NULL;
  g_autoptr(NetRedexFile) rfile = NULL;
  g_autoptr(NetRedexTail) tail = NULL;
  guint64 s = 11;

  wfile = open_writer (tmp, 10, &writer);

  rfile = open_reader (tmp, &reader);
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 11);
  tail = net_redex_file_tail (rfile, 11);

  /* An hour between polls: the reader does not notice the append. */
  _net_redex_file_follow_by_polling (rfile, 3600 * 1000);
  append_one (wfile);
  redex_test_tail_assert_pending (tail, 300);
  g_assert_cmpuint (net_redex_file_get_next_seq (rfile), ==, 11);

  /* Polling often, it follows appends one by one and in batches, across
   * the segments the writer rolls to, and wakes its tail. */
  _net_redex_file_follow_by_polling (rfile, 20);
  for (guint round = 0; round < 4; round++)
    {
      guint n = round % 2 == 0 ? 1 : 80;

      if (round > 0)
        for (guint i = 0; i < n; i++)
          append_one (wfile);
      for (guint64 next = net_redex_file_get_next_seq (wfile); s < next; s++)
        {
          g_autoptr(NetRedexEvent) e = redex_test_tail_next (tail, 10000, &error);
          g_autoptr(GBytes) p = redex_test_payload (s, len_for (s));

          g_assert_no_error (error);
          redex_test_assert_event (e, s, p);
        }
    }
  g_assert_cmpuint (s, ==, 173);
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_next_seq (rfile) == 173, 10000);
  assert_holds (rfile, 1, 173);
  {
    g_autoptr(GArray) segs = NULL;
    g_autofree char *log_dir = redex_test_find_log_dir (tmp, LOG_NAME);

    segs = redex_test_list_bases (log_dir, ".seg");
    g_assert_cmpuint (segs->len, >, 2);
  }

  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  g_assert_true (net_redex_close (reader, &error));
  g_assert_no_error (error);
  g_clear_object (&tail);
  redex_test_rm_rf (tmp);
}

static gboolean
watch_cb (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/*
 * The writer drops its whole log and restarts it further on (a follower
 * re-bootstrapped from its leader's snapshot): a reader opened before
 * notices, forgets the unlinked segments, holds the new log and follows
 * it, and says so to its tails (those behind the new floor lag) and
 * watches.
 */
static void
test_reset (void)
{
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autoptr(NetRedexConfig) config = net_redex_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) writer = NULL;
  g_autoptr(NetRedex) reader = NULL;
  g_autoptr(NetRedexFile) wfile = NULL;
  g_autoptr(NetRedexFile) rfile = NULL;
  g_autoptr(NetRedexTail) live = NULL;
  g_autoptr(NetRedexTail) after = NULL;
  g_autoptr(NetRedexEvent) event = NULL;
  g_autoptr(GSource) watch = NULL;
  g_autofree char *log_dir = NULL;
  guint wakes = 0;

  /* The reopen at the end uses the same segment size. */
  net_redex_config_set_segment_size (config, SEG_SIZE);
  wfile = open_writer (tmp, 100, &writer);
  log_dir = redex_test_find_log_dir (tmp, LOG_NAME);
  {
    g_autoptr(GArray) segs = redex_test_list_bases (log_dir, ".seg");

    g_assert_cmpuint (segs->len, >, 2);
  }

  rfile = open_reader (tmp, &reader);
  assert_holds (rfile, 1, 101);
  g_assert_cmpuint (_net_redex_file_get_restarts (rfile), ==, 0);
  live = net_redex_file_tail (rfile, 101);
  redex_test_tail_assert_pending (live, 50);

  watch = g_timeout_source_new_seconds (3600);
  g_source_set_callback (watch, watch_cb, &wakes, NULL);
  g_source_attach (watch, NULL);
  _net_redex_file_add_watch (rfile, watch);

  g_assert_true (_net_redex_file_reset (wfile, 500, &error));
  g_assert_no_error (error);
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_first_seq (rfile) == 500, 10000);
  assert_holds (rfile, 500, 500);
  g_assert_cmpuint (_net_redex_file_get_restarts (rfile), ==, 1);
  REDEX_TEST_SPIN_UNTIL (wakes > 0, 10000);
  event = net_redex_file_read_one (rfile, 50, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_assert_null (event);
  g_clear_error (&error);
  /* The tail waited for 101, which will never come. */
  event = redex_test_tail_next (live, 10000, &error);
  g_assert_error (error, NET_ERROR, NET_ERROR_LAGGED);
  g_assert_null (event);
  g_clear_error (&error);

  /* It follows the restarted log, across segments named after the new
   * seqs. */
  after = net_redex_file_tail (rfile, 500);
  for (guint i = 0; i < 150; i++)
    append_one (wfile);
  for (guint64 s = 500; s < 650; s++)
    {
      g_autoptr(NetRedexEvent) e = redex_test_tail_next (after, 10000, &error);
      g_autoptr(GBytes) p = redex_test_payload (s, len_for (s));

      g_assert_no_error (error);
      redex_test_assert_event (e, s, p);
    }
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_next_seq (rfile) == 650, 10000);
  assert_holds (rfile, 500, 650);
  g_assert_cmpuint (_net_redex_file_get_restarts (rfile), ==, 1);

  /* A reset right at the reader's tail leaves no gap to notice: the
   * unlinked active segment tells. */
  wakes = 0;
  g_assert_true (_net_redex_file_arm_watch (rfile, watch, 649));
  g_assert_true (_net_redex_file_reset (wfile, 650, &error));
  g_assert_no_error (error);
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_first_seq (rfile) == 650, 10000);
  assert_holds (rfile, 650, 650);
  g_assert_cmpuint (_net_redex_file_get_restarts (rfile), ==, 2);
  REDEX_TEST_SPIN_UNTIL (wakes > 0, 10000);
  for (guint i = 0; i < 5; i++)
    append_one (wfile);
  REDEX_TEST_SPIN_UNTIL (net_redex_file_get_next_seq (rfile) == 655, 10000);
  assert_holds (rfile, 650, 655);
  for (guint64 s = 650; s < 655; s++)
    {
      g_autoptr(NetRedexEvent) e = redex_test_tail_next (after, 10000, &error);
      g_autoptr(GBytes) p = redex_test_payload (s, len_for (s));

      g_assert_no_error (error);
      redex_test_assert_event (e, s, p);
    }

  /* Nothing the reader did touched the directory; a reopen agrees. */
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  g_clear_object (&wfile);
  g_clear_object (&writer);
  writer = net_redex_new (tmp, &error);
  g_assert_no_error (error);
  wfile = net_redex_open_file (writer, LOG_NAME, config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_redex_file_get_first_seq (wfile), ==, 650);
  g_assert_cmpuint (net_redex_file_get_next_seq (wfile), ==, 655);

  _net_redex_file_remove_watch (rfile, watch);
  g_source_destroy (watch);
  g_assert_true (net_redex_close (reader, &error));
  g_assert_no_error (error);
  g_assert_true (net_redex_close (writer, &error));
  g_assert_no_error (error);
  g_clear_object (&live);
  g_clear_object (&after);
  redex_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && strcmp (argv[1], "--child-reader") == 0)
    return child_reader (argv[2], argv[3]);
  if (argc == 3 && strcmp (argv[1], "--child-lock") == 0)
    return child_lock (argv[2]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/redex/readonly/same-process", test_same_process);
  g_test_add_func ("/redex/readonly/other-process", test_other_process);
  g_test_add_func ("/redex/readonly/locked-other-process", test_locked_other_process);
  g_test_add_func ("/redex/readonly/reset", test_reset);
  g_test_add_func ("/redex/readonly/polling", test_polling);

  return g_test_run ();
}
