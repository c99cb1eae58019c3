/* test-redex-crash.c: writers killed with SIGKILL at random moments
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The test binary doubles as the writer: with --child-writer it appends to
 * a log as fast as it can and reports on stdout, one line per event, every
 * seq it knows to be durable ("D <seq> <tag>"); the payload of an event is
 * a function of its tag, and the tag names the writer cycle.  The parent
 * kills it at a random moment, reopens the directory and checks that every
 * reported event is there byte-exact, that the log holds only well-formed
 * events in writing order, and that no seq is ever handed out twice.
 *
 * The "big-batches" variant appends only batches of 64 payloads of 8–24
 * KiB (about 1 MiB, one pwritev() the kernel may stop between pages) and
 * checks that every batch is in the log whole or not at all.
 *
 * The parent aims those kills at a batch's write, which the child announces
 * ("B") just before it starts.
 *
 * Cycles per variant: 5 by default (10 for big-batches); with -m slow,
 * $NETDB_SLOW_CYCLES (default 100).
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "redex-test-util.h"

#define LOG_NAME "crash/log"

typedef struct
{
  const char     *name;
  NetFsyncPolicy  policy;
  guint           param;
  guint           threads;
  guint64         segment_size;
  guint64         max_events;
  gboolean        big_batches;
} Variant;

#define BIG_BATCH 64

static const Variant variants[] = {
  { "never",          NET_FSYNC_POLICY_NEVER,    0, 1, 256 * 1024, 50000 },
  { "every-n",        NET_FSYNC_POLICY_EVERY_N,  8, 1, 256 * 1024, 50000 },
  { "interval",       NET_FSYNC_POLICY_INTERVAL, 5, 1, 256 * 1024, 50000 },
  { "always",         NET_FSYNC_POLICY_ALWAYS,   0, 1, 256 * 1024, 50000 },
  { "always-threads", NET_FSYNC_POLICY_ALWAYS,   0, 4, 256 * 1024, 50000 },
  { "retention",      NET_FSYNC_POLICY_NEVER,    0, 1,  16 * 1024,  3000 },
  { "big-batches",    NET_FSYNC_POLICY_NEVER,    0, 1, 4 * 1024 * 1024, 2048, TRUE },
};

static NetRedexConfig *
variant_config (const Variant *v)
{
  NetRedexConfig *config = net_redex_config_new ();

  net_redex_config_set_fsync_policy (config, v->policy, v->param);
  net_redex_config_set_segment_size (config, v->segment_size);
  net_redex_config_set_retention_max_events (config, v->max_events);
  return config;
}

#define TAG(cycle, thread, n) (((guint64) (cycle) << 40) | ((guint64) (thread) << 32) | (guint64) (n))
#define TAG_CYCLE(tag)        ((guint) ((tag) >> 40))
#define TAG_THREAD(tag)       ((guint) (((tag) >> 32) & 0xff))
#define TAG_N(tag)            ((guint32) (tag))
/* In TAG_N: the event is one of a big batch, BIG_BATCH events a batch. */
#define TAG_BIG               (G_GUINT64_CONSTANT (1) << 31)
#define TAG_BIG_BATCH(tag)    ((TAG_N (tag) & ~(guint32) TAG_BIG) / BIG_BATCH)
#define TAG_BIG_INDEX(tag)    ((TAG_N (tag) & ~(guint32) TAG_BIG) % BIG_BATCH)

static gsize
len_for_tag (guint64 tag)
{
  guint64 h = tag * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);

  if (tag & TAG_BIG)
    return 8 * 1024 + (h >> 20) % (16 * 1024 + 1);
  /* Mostly small, now and then a few KiB, so that writes can tear. */
  if ((h >> 60) == 0)
    return 12 + (h >> 20) % 6000;
  return 12 + (h >> 20) % 400;
}

/* ------------------------------------------------------------------ */
/* Child side                                                          */

static void G_GNUC_PRINTF (1, 2)
child_say (const char *format,
           ...)
{
  char line[256];
  va_list args;
  int len;
  gsize done = 0;

  va_start (args, format);
  len = g_vsnprintf (line, sizeof line - 1, format, args);
  va_end (args);
  g_assert (len > 0 && (gsize) len < sizeof line - 1);
  line[len++] = '\n';

  /* A line is far below PIPE_BUF: one write, never torn or interleaved. */
  while (done < (gsize) len)
    {
      ssize_t r = write (STDOUT_FILENO, line + done, len - done);

      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        _exit (3);
      done += r;
    }
}

typedef struct
{
  guint64 seq;
  guint64 tag;
} Pending;

typedef struct
{
  NetRedexFile  *file;
  const Variant *variant;
  guint          cycle;
  guint          thread;
  GArray        *pending;   /* appended, not yet known durable */
} Writer;

static void
writer_report_upto (Writer  *w,
                    guint64  durable)
{
  guint i;

  for (i = 0; i < w->pending->len; i++)
    {
      Pending *p = &g_array_index (w->pending, Pending, i);

      if (p->seq > durable)
        break;
      child_say ("D %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, p->seq, p->tag);
    }
  g_array_remove_range (w->pending, 0, i);
}

static G_GNUC_NORETURN void
writer_fail (const char *what,
             GError     *error)
{
  child_say ("ERR %s: %s", what, error ? error->message : "no error set");
  _exit (2);
}

static gpointer
writer_loop (gpointer data)
{
  Writer *w = data;
  GRand *rand = g_rand_new ();
  guint32 n = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      guint r = g_rand_int_range (rand, 0, 100);

      if (w->variant->big_batches)
        {
          /* About 1 MiB in one pwritev(); a sync now and then. */
          GBytes *batch[BIG_BATCH];
          guint64 first;

          for (guint i = 0; i < BIG_BATCH; i++)
            batch[i] = redex_test_payload (TAG (w->cycle, w->thread, TAG_BIG | (n + i)),
                                           len_for_tag (TAG (w->cycle, w->thread, TAG_BIG | (n + i))));
          child_say ("B");
          first = net_redex_file_append_batch (w->file, batch, BIG_BATCH, &error);
          if (first == 0)
            writer_fail ("append_batch", error);
          for (guint i = 0; i < BIG_BATCH; i++)
            {
              Pending p = { first + i, TAG (w->cycle, w->thread, TAG_BIG | (n + i)) };

              g_array_append_val (w->pending, p);
              g_bytes_unref (batch[i]);
            }
          n += BIG_BATCH;
          if (r < 10)
            {
              if (!net_redex_file_sync (w->file, &error))
                writer_fail ("sync", error);
              writer_report_upto (w, G_MAXUINT64);
            }
          continue;
        }

      if (r < 15)
        {
          /* A batch, written with one write(). */
          guint count = g_rand_int_range (rand, 2, 25);
          GBytes *batch[25];
          guint64 first;

          for (guint i = 0; i < count; i++)
            {
              guint64 tag = TAG (w->cycle, w->thread, n + i);
              batch[i] = redex_test_payload (tag, len_for_tag (tag));
            }
          first = net_redex_file_append_batch (w->file, batch, count, &error);
          if (first == 0)
            writer_fail ("append_batch", error);
          for (guint i = 0; i < count; i++)
            {
              Pending p = { first + i, TAG (w->cycle, w->thread, n + i) };

              g_array_append_val (w->pending, p);
              g_bytes_unref (batch[i]);
            }
          n += count;
        }
      else if (r < 22 && w->variant->policy == NET_FSYNC_POLICY_NEVER)
        {
          guint64 tag = TAG (w->cycle, w->thread, n++);
          g_autoptr(GBytes) payload = redex_test_payload (tag, len_for_tag (tag));
          guint64 seq = net_redex_file_append_durable (w->file, payload, &error);
          Pending p = { seq, tag };

          if (seq == 0)
            writer_fail ("append_durable", error);
          g_array_append_val (w->pending, p);
          /* Everything up to it is durable too. */
          writer_report_upto (w, seq);
        }
      else if (r < 25 && w->variant->policy == NET_FSYNC_POLICY_NEVER)
        {
          if (!net_redex_file_sync (w->file, &error))
            writer_fail ("sync", error);
          writer_report_upto (w, G_MAXUINT64);
        }
      else
        {
          guint64 tag = TAG (w->cycle, w->thread, n++);
          g_autoptr(GBytes) payload = redex_test_payload (tag, len_for_tag (tag));
          guint64 seq = net_redex_file_append (w->file, payload, &error);
          Pending p = { seq, tag };

          if (seq == 0)
            writer_fail ("append", error);
          g_array_append_val (w->pending, p);
        }

      if (w->variant->policy == NET_FSYNC_POLICY_ALWAYS)
        writer_report_upto (w, G_MAXUINT64);
      else
        writer_report_upto (w, net_redex_file_get_durable_seq (w->file));

      if (w->variant->policy == NET_FSYNC_POLICY_NEVER && g_rand_int_range (rand, 0, 4) == 0)
        g_usleep (g_rand_int_range (rand, 0, 400));
    }

  return NULL;
}

static int
child_writer (const char *dir,
              const char *variant_name,
              const char *cycle_str)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexConfig) config = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  const Variant *v = NULL;
  guint cycle = atoi (cycle_str);
  Writer writers[8];

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    if (strcmp (variants[i].name, variant_name) == 0)
      v = &variants[i];
  if (v == NULL)
    return 4;

  config = variant_config (v);
  redex = net_redex_new (dir, &error);
  if (redex == NULL)
    writer_fail ("open", error);
  file = net_redex_open_file (redex, LOG_NAME, config, &error);
  if (file == NULL)
    writer_fail ("open_file", error);

  child_say ("START %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT,
             net_redex_file_get_next_seq (file), net_redex_file_get_first_seq (file));

  for (guint t = 0; t < v->threads; t++)
    {
      writers[t] = (Writer) {
        .file = file,
        .variant = v,
        .cycle = cycle,
        .thread = t,
        .pending = g_array_new (FALSE, FALSE, sizeof (Pending)),
      };
      if (t > 0)
        g_thread_new ("writer", writer_loop, &writers[t]);
    }
  writer_loop (&writers[0]);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side                                                         */

typedef struct
{
  GAsyncQueue *lines;
  GSubprocess *proc;
} Reader;

static gpointer
read_thread (gpointer data)
{
  Reader *r = data;
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (r->proc));

  for (;;)
    {
      char *text = g_data_input_stream_read_line (in, NULL, NULL, NULL);

      g_async_queue_push (r->lines, text != NULL ? text : g_strdup (""));
      if (text == NULL)
        break;
    }
  return NULL;
}

typedef struct
{
  const Variant *variant;
  char          *dir;
  GHashTable    *durable;       /* seq → tag, every event reported durable */
  guint64        max_durable;
  guint64        last_first;
  guint          n_reported;
  guint          n_killed_before_start;
} Campaign;

/* Handles one line of the child; returns FALSE at EOF. */
static gboolean
campaign_line (Campaign   *c,
               const char *text,
               guint       cycle,
               gboolean   *started)
{
  guint64 a, b;
  int end = 0;

  if (text[0] == '\0')
    return FALSE;

  /* A big batch is about to be written. */
  if (strcmp (text, "B") == 0)
    return TRUE;

  if (sscanf (text, "D %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "%n", &a, &b, &end) == 2 &&
      text[end] == '\0')
    {
      gpointer old;

      g_assert_cmpuint (TAG_CYCLE (b), ==, cycle);
      if (g_hash_table_lookup_extended (c->durable, &a, NULL, &old))
        {
          if (*(guint64 *) old != b)
            g_error ("cycle %u: seq %" G_GUINT64_FORMAT " was durable with tag %" G_GINT64_MODIFIER
                     "x and was handed out again (tag %" G_GINT64_MODIFIER "x)",
                     cycle, a, *(guint64 *) old, b);
          return TRUE;
        }
      g_hash_table_insert (c->durable, g_memdup2 (&a, sizeof a), g_memdup2 (&b, sizeof b));
      c->max_durable = MAX (c->max_durable, a);
      c->n_reported++;
      return TRUE;
    }

  if (sscanf (text, "START %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "%n", &a, &b, &end) == 2 &&
      text[end] == '\0')
    {
      /* The new writer's first seq is above every durable one. */
      if (a <= c->max_durable)
        g_error ("cycle %u: the writer starts at seq %" G_GUINT64_FORMAT
                 " but seq %" G_GUINT64_FORMAT " was durable", cycle, a, c->max_durable);
      g_assert_cmpuint (b, >=, c->last_first);
      *started = TRUE;
      return TRUE;
    }

  g_error ("cycle %u: the writer said: %s", cycle, text);
  return FALSE;
}

static void
verify_dir (Campaign *c,
            guint     cycle,
            gboolean  read_only)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(NetRedexConfig) config = variant_config (c->variant);
  g_autoptr(GPtrArray) all = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint64 first, next;
  guint64 last_tag_per_thread[8] = { 0, };
  gboolean seen_thread[8] = { 0, };
  guint last_cycle = 0;
  guint64 batch_tag = 0;   /* the first event of the big batch being read */
  guint batch_seen = 0;

  redex = read_only ? net_redex_new_read_only (c->dir, &error) : net_redex_new (c->dir, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, read_only ? NULL : config, &error);
  g_assert_no_error (error);

  first = net_redex_file_get_first_seq (file);
  next = net_redex_file_get_next_seq (file);

  if (next <= c->max_durable)
    g_error ("cycle %u: next seq %" G_GUINT64_FORMAT " after the crash, but seq %" G_GUINT64_FORMAT
             " was reported durable", cycle, next, c->max_durable);
  /* Evicted data never comes back. */
  g_assert_cmpuint (first, >=, c->last_first);
  if (c->variant->max_events > 0 && !read_only)
    {
      g_assert_true (net_redex_file_sweep_retention (file, NULL, &error));
      g_assert_no_error (error);
      first = net_redex_file_get_first_seq (file);
    }
  c->last_first = MAX (c->last_first, first);

  /* Every event reported durable is there, byte-exact. */
  g_hash_table_iter_init (&iter, c->durable);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint64 seq = *(guint64 *) key;
      guint64 tag = *(guint64 *) value;
      g_autoptr(NetRedexEvent) event = net_redex_file_read_one (file, seq, &error);

      if (seq < first)
        {
          g_assert_null (event);
          g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
          g_clear_error (&error);
          g_hash_table_iter_remove (&iter);
          continue;
        }
      if (event == NULL)
        g_error ("cycle %u (%s): durable seq %" G_GUINT64_FORMAT " (cycle %u) is lost: %s",
                 cycle, read_only ? "read-only" : "writer", seq, TAG_CYCLE (tag), error->message);
      {
        g_autoptr(GBytes) expected = redex_test_payload (tag, len_for_tag (tag));
        redex_test_assert_event (event, seq, expected);
      }
    }

  /* The whole log is well-formed events, in writing order. */
  all = net_redex_file_read_range (file, first, next, &error);
  if (all == NULL)
    g_error ("cycle %u: reading the log after the crash: %s", cycle, error->message);
  g_assert_cmpuint (all->len, ==, next - first);
  for (guint i = 0; i < all->len; i++)
    {
      NetRedexEvent *e = all->pdata[i];
      GBytes *payload = net_redex_event_get_payload (e);
      guint64 tag;
      guint t;

      g_assert_cmpuint (net_redex_event_get_seq (e), ==, first + i);
      if (!redex_test_payload_is_valid (payload))
        g_error ("cycle %u: seq %" G_GUINT64_FORMAT " holds a payload no writer wrote",
                 cycle, first + i);
      tag = redex_test_payload_tag (payload);
      g_assert_cmpuint (g_bytes_get_size (payload), ==, len_for_tag (tag));
      g_assert_cmpuint (TAG_CYCLE (tag), <=, cycle);
      g_assert_cmpuint (TAG_CYCLE (tag), >=, last_cycle);
      if (TAG_CYCLE (tag) != last_cycle)
        memset (seen_thread, 0, sizeof seen_thread);
      last_cycle = TAG_CYCLE (tag);
      t = TAG_THREAD (tag);
      g_assert_cmpuint (t, <, G_N_ELEMENTS (seen_thread));
      /* One thread's events are in the order it appended them. */
      if (seen_thread[t])
        g_assert_cmpuint (TAG_N (tag), >, TAG_N (last_tag_per_thread[t]));
      seen_thread[t] = TRUE;
      last_tag_per_thread[t] = tag;

      /* A batch is whole or absent: the events of one follow each other,
       * from its first to its last. */
      if (c->variant->big_batches)
        {
          g_assert_true (tag & TAG_BIG);
          if (batch_seen > 0 && (TAG_CYCLE (tag) != TAG_CYCLE (batch_tag) ||
                                 TAG_BIG_BATCH (tag) != TAG_BIG_BATCH (batch_tag)))
            g_error ("cycle %u (%s): only %u of the %u events of a batch (cycle %u) are in the log, "
                     "the next event (seq %" G_GUINT64_FORMAT ") is of another batch",
                     cycle, read_only ? "read-only" : "writer", batch_seen, BIG_BATCH,
                     TAG_CYCLE (batch_tag), first + i);
          if (TAG_BIG_INDEX (tag) != batch_seen)
            g_error ("cycle %u (%s): seq %" G_GUINT64_FORMAT " is event %u of its batch, expected %u",
                     cycle, read_only ? "read-only" : "writer", first + i,
                     (guint) TAG_BIG_INDEX (tag), batch_seen);
          if (batch_seen == 0)
            batch_tag = tag;
          batch_seen = (batch_seen + 1) % BIG_BATCH;
        }
    }
  if (batch_seen != 0)
    g_error ("cycle %u (%s): only %u of the %u events of the last batch (cycle %u) are in the log",
             cycle, read_only ? "read-only" : "writer", batch_seen, BIG_BATCH, TAG_CYCLE (batch_tag));

  {
    g_auto(GStrv) problems = net_redex_file_verify (file, &error);

    g_assert_no_error (error);
    if (g_strv_length (problems) != 0)
      g_error ("cycle %u: verify after recovery: %s", cycle, problems[0]);
  }

  g_assert_true (net_redex_close (redex, &error));
  g_assert_no_error (error);
}

static guint
n_cycles (const Variant *v)
{
  const char *env = g_getenv ("NETDB_SLOW_CYCLES");

  if (!g_test_slow ())
    return v->big_batches ? 10 : 5;
  if (env != NULL && atoi (env) > 0)
    return atoi (env);
  return 100;
}

static void
test_crash (gconstpointer data)
{
  const Variant *v = data;
  g_autofree char *tmp = redex_test_make_tmpdir ();
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  Campaign c = { 0, };
  guint cycles = n_cycles (v);

  c.variant = v;
  c.dir = g_build_filename (tmp, "db", NULL);
  c.durable = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_assert_nonnull (self);

  for (guint cycle = 1; cycle <= cycles; cycle++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *cycle_str = g_strdup_printf ("%u", cycle);
      Reader r = { g_async_queue_new_full (g_free), NULL };
      GThread *thread;
      gboolean started = FALSE;
      gint64 kill_at;
      char *text;

      r.proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                                 self, "--child-writer", c.dir, v->name, cycle_str, NULL);
      g_assert_no_error (error);
      thread = g_thread_new ("crash-reader", read_thread, &r);

      /* Kill at a random moment, sometimes during the child's own
       * recovery, mostly while it appends. */
      kill_at = g_get_monotonic_time () +
                (g_test_rand_int_range (0, 8) == 0 ? g_test_rand_int_range (0, 15)
                                                   : g_test_rand_int_range (20, 250)) * 1000;
      for (;;)
        {
          gint64 left = kill_at - g_get_monotonic_time ();

          if (left <= 0)
            break;
          text = g_async_queue_timeout_pop (r.lines, left);
          if (text == NULL)
            break;
          if (!campaign_line (&c, text, cycle, &started))
            {
              g_free (text);
              g_error ("cycle %u: the writer exited before it was killed", cycle);
            }
          g_free (text);
        }

      /* Big batches: aim the kill at a batch's write, which the writer
       * announces just before it starts ("B"). */
      if (v->big_batches && started)
        {
          gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

          while ((text = g_async_queue_timeout_pop (r.lines, MAX (deadline - g_get_monotonic_time (), 1))) != NULL)
            {
              gboolean batch = text[0] == 'B';

              if (!campaign_line (&c, text, cycle, &started))
                {
                  g_free (text);
                  g_error ("cycle %u: the writer exited before it was killed", cycle);
                }
              g_free (text);
              if (batch)
                {
                  g_usleep (g_test_rand_int_range (0, 1500));
                  break;
                }
            }
        }
      g_subprocess_send_signal (r.proc, SIGKILL);

      /* Everything it wrote before dying counts. */
      while ((text = g_async_queue_pop (r.lines)) != NULL)
        {
          gboolean more = campaign_line (&c, text, cycle, &started);

          g_free (text);
          if (!more)
            break;
        }
      g_thread_join (thread);
      g_subprocess_wait (r.proc, NULL, NULL);
      g_assert_true (g_subprocess_get_if_signaled (r.proc));
      g_assert_cmpint (g_subprocess_get_term_sig (r.proc), ==, SIGKILL);
      g_clear_object (&r.proc);
      g_async_queue_unref (r.lines);
      if (!started)
        c.n_killed_before_start++;

      /* A read-only look first (it must cope with the torn state and
       * change nothing), then the writer's recovery. */
      if (cycle % 2 == 0 && c.max_durable > 0)
        {
          g_autofree char *before = redex_test_dir_fingerprint (c.dir);
          g_autofree char *after = NULL;

          verify_dir (&c, cycle, TRUE);
          after = redex_test_dir_fingerprint (c.dir);
          g_assert_cmpstr (before, ==, after);
        }
      verify_dir (&c, cycle, FALSE);
    }

  g_test_message ("%s: %u cycles, %u durable events reported, %u kills before START, last durable seq %"
                  G_GUINT64_FORMAT, v->name, cycles, c.n_reported, c.n_killed_before_start, c.max_durable);
  /* The campaign did something. */
  g_assert_cmpuint (c.n_reported, >, 0);

  g_hash_table_unref (c.durable);
  redex_test_rm_rf (tmp);
  g_free (c.dir);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 5 && strcmp (argv[1], "--child-writer") == 0)
    return child_writer (argv[2], argv[3], argv[4]);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      g_autofree char *path = g_strdup_printf ("/redex/crash/%s", variants[i].name);
      g_test_add_data_func (path, &variants[i], test_crash);
    }

  return g_test_run ();
}
