/* netdb.c: the `netdb` command
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `netdb [--db DIR | --memory] [--json] COMMAND …`
 *
 * Commands form a tree (a table of #CliCommand per level): inner nodes only
 * dispatch, leaves parse their own options and run.  Every level accepts the
 * global options and --help, so `netdb log tail demo --json` and
 * `netdb --json log tail demo` mean the same thing.  New command groups
 * (tasks, memories, snapshot, node, records) are one more table each.
 *
 * Exit status: 0 on success, 1 on a runtime failure (reported as
 * `netdb: <message>` on stderr) or when `log verify` finds problems, 2 on a
 * usage error, 3 when `log verify` finds no damage but a log ends with an
 * incomplete write (a torn last record or batch the next writer truncates).
 */

#include "config.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "netdb-cli.h"
#include "net-event-meta-private.h"
#include "net-redex-private.h"

/* How many events one read or append batch handles, to bound memory. */
#define CLI_BATCH_EVENTS 1024
#define CLI_BATCH_BYTES  (4 * 1024 * 1024)

G_DEFINE_QUARK (netdb-cli-usage-error-quark, cli_usage_error)

/* Global options, accepted at every level. */
char            *opt_db;
gboolean         opt_memory;
gboolean         opt_json;
static gboolean  opt_version;

gboolean         cli_flush_each;

static const GOptionEntry global_entries[] = {
  { "db", 'd', 0, G_OPTION_ARG_FILENAME, &opt_db,
    "Database directory (default: $XDG_DATA_HOME/netdb)", "DIR" },
  { "memory", 'm', 0, G_OPTION_ARG_NONE, &opt_memory,
    "Use a fresh in-memory database that is discarded on exit", NULL },
  { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json,
    "Print one JSON document per result", NULL },
  { NULL }
};

static const GOptionEntry version_entries[] = {
  { "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
    "Print the version and exit", NULL },
  { NULL }
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

char *
cli_get_db_dir (void)
{
  if (opt_db != NULL)
    return g_strdup (opt_db);

  return g_build_filename (g_get_user_data_dir (), "netdb", NULL);
}

gboolean
cli_ensure_dir (const char  *dir,
                GError     **error)
{
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "Cannot create database directory %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  return TRUE;
}

/*
 * Opens the database named by the global options.  Commands that only read
 * open it read-only, so they work while another process (an application,
 * or `netdb log append` in another terminal) holds the write lock, and they
 * never repair or otherwise modify what they look at.
 */
static NetRedex *
cli_open_redex (CliOpenMode   mode,
                GError      **error)
{
  g_autofree char *dir = NULL;

  if (opt_memory)
    return net_redex_new (NULL, error);

  dir = cli_get_db_dir ();

  if (mode == CLI_OPEN_READ && !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(NetRedex) init = NULL;

      /* First use: create an empty database so that readers can follow it. */
      if (!cli_ensure_dir (dir, error))
        return NULL;
      if (!(init = net_redex_new (dir, error)) ||
          !net_redex_close (init, error))
        return NULL;
    }
  else if (mode == CLI_OPEN_WRITE && !cli_ensure_dir (dir, error))
    {
      return NULL;
    }

  if (mode == CLI_OPEN_READ)
    return net_redex_new_read_only (dir, error);
  else
    return net_redex_new (dir, error);
}

static gboolean
cli_has_log (NetRedex    *redex,
             const char  *name,
             GError     **error)
{
  g_auto(GStrv) names = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!net_redex_name_is_valid (name, error))
    return FALSE;

  names = net_redex_list_files (redex, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  if (names == NULL || !g_strv_contains ((const char * const *) names, name))
    {
      const char *where = net_redex_get_path (redex);

      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "No log named “%s” in %s", name,
                   where != NULL ? where : "the in-memory database");
      return FALSE;
    }

  return TRUE;
}

/* Opens an existing log; never creates one. */
static NetRedexFile *
cli_open_existing_log (NetRedex    *redex,
                       const char  *name,
                       GError     **error)
{
  if (!cli_has_log (redex, name, error))
    return NULL;

  return net_redex_open_file (redex, name, NULL, error);
}

void
cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
  if (cli_flush_each)
    fflush (stdout);
}

static char *
cli_format_timestamp (gint64 timestamp)
{
  g_autoptr(GDateTime) utc = NULL;
  g_autoptr(GDateTime) dt = NULL;

  utc = g_date_time_new_from_unix_utc (timestamp / G_USEC_PER_SEC);
  if (utc == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, timestamp);

  dt = g_date_time_add (utc, timestamp % G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, timestamp);

  return g_date_time_format_iso8601 (dt);
}

/* A payload as one line of text: UTF-8 is printed as is, except that
 * control characters, backslashes and invalid bytes are escaped. */
char *
cli_escape_payload (const guint8 *data,
                    gsize         len)
{
  GString *out = g_string_sized_new (len + 1);
  const char *p = (const char *) data;
  const char *end = p + len;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guint) (guchar) *p);
          p++;
          continue;
        }

      switch (c)
        {
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\x%02x", (guint) c);
          else
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
        }

      p = g_utf8_next_char (p);
    }

  return g_string_free (out, FALSE);
}

/* Human output shows at most this many characters of an event: a 2 MB
 * title would fill the terminal.  --json prints events whole. */
#define CLI_EVENT_TEXT_MAX 200

/* Takes @text; returns it cut to CLI_EVENT_TEXT_MAX characters (on a
 * character boundary), saying how much was left out. */
static char *
cli_truncate_for_display (char *text)
{
  const char *cut;
  g_autofree char *owned = text;

  if (g_utf8_strlen (text, -1) <= CLI_EVENT_TEXT_MAX)
    return g_steal_pointer (&owned);

  cut = g_utf8_offset_to_pointer (text, CLI_EVENT_TEXT_MAX);
  return g_strdup_printf ("%.*s… (%" G_GSIZE_FORMAT " more bytes; --json prints it whole)",
                          (int) (cut - text), text, strlen (cut));
}

static void
cli_print_event (const char          *log_name,
                 const NetRedexEvent *event)
{
  GBytes *payload = net_redex_event_get_payload (event);
  g_autofree char *when = cli_format_timestamp (net_redex_event_get_timestamp (event));
  gsize len = 0;
  const guint8 *data = payload != NULL ? g_bytes_get_data (payload, &len) : NULL;

  /* An empty payload may come back as NULL; keep NULL away from memchr(). */
  if (data == NULL || len == 0)
    {
      data = (const guint8 *) "";
      len = 0;
    }

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "log");
      json_builder_add_string_value (builder, log_name);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) net_redex_event_get_seq (event));
      json_builder_set_member_name (builder, "timestamp");
      json_builder_add_int_value (builder, net_redex_event_get_timestamp (event));
      json_builder_set_member_name (builder, "time");
      json_builder_add_string_value (builder, when);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) len);
      {
        g_autofree char *summary = net_event_describe (data, len);

        if (summary != NULL)
          {
            json_builder_set_member_name (builder, "summary");
            json_builder_add_string_value (builder, summary);
          }
      }
      if (g_utf8_validate_len ((const char *) data, len, NULL) &&
          memchr (data, '\0', len) == NULL)
        {
          g_autofree char *text = g_strndup ((const char *) data, len);

          json_builder_set_member_name (builder, "payload");
          json_builder_add_string_value (builder, text);
        }
      else
        {
          g_autofree char *b64 = g_base64_encode (data, len);

          json_builder_set_member_name (builder, "payload_base64");
          json_builder_add_string_value (builder, b64);
        }
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    {
      /* A model's event is decoded; any other payload printed as text. */
      g_autofree char *summary = net_event_describe (data, len);
      g_autofree char *text = cli_truncate_for_display (summary != NULL ? g_steal_pointer (&summary)
                                                                         : cli_escape_payload (data, len));

      g_print ("%" G_GUINT64_FORMAT "  %s  %5" G_GSIZE_FORMAT " B  %s\n",
               net_redex_event_get_seq (event), when, len, text);
      if (cli_flush_each)
        fflush (stdout);
    }
}

guint64
cli_parse_seq (const char  *text,
               const char  *what,
               GError     **error)
{
  guint64 value = 0;
  g_autoptr(GError) local_error = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &value, &local_error))
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid %s “%s”: %s", what, text, local_error->message);
      return 0;
    }

  return value;
}

/* ------------------------------------------------------------------ */
/* log list                                                            */
/* ------------------------------------------------------------------ */

static int
cmd_log_list (CliInvocation  *inv,
              GError        **error)
{
  g_autoptr(NetRedex) redex = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GError) local_error = NULL;
  int name_width = (int) strlen ("NAME");

  if (!(redex = cli_open_redex (CLI_OPEN_READ, error)))
    return CLI_EXIT_FAILURE;

  names = net_redex_list_files (redex, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return CLI_EXIT_FAILURE;
    }

  files = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      NetRedexFile *file = net_redex_open_file (redex, names[i], NULL, error);

      if (file == NULL)
        return CLI_EXIT_FAILURE;
      g_ptr_array_add (files, file);
      name_width = MAX (name_width, (int) strlen (names[i]));
    }

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < files->len; i++)
        {
          NetRedexFile *file = g_ptr_array_index (files, i);

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, net_redex_file_get_name (file));
          json_builder_set_member_name (builder, "first_seq");
          json_builder_add_int_value (builder, (gint64) net_redex_file_get_first_seq (file));
          json_builder_set_member_name (builder, "next_seq");
          json_builder_add_int_value (builder, (gint64) net_redex_file_get_next_seq (file));
          json_builder_set_member_name (builder, "length");
          json_builder_add_int_value (builder, (gint64) net_redex_file_get_length (file));
          json_builder_end_object (builder);
        }
      json_builder_end_array (builder);

      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else if (files->len > 0)
    {
      g_print ("%-*s  %12s  %12s  %12s\n", name_width, "NAME", "FIRST", "NEXT", "LENGTH");
      for (guint i = 0; i < files->len; i++)
        {
          NetRedexFile *file = g_ptr_array_index (files, i);

          g_print ("%-*s  %12" G_GUINT64_FORMAT "  %12" G_GUINT64_FORMAT "  %12" G_GUINT64_FORMAT "\n",
                   name_width, net_redex_file_get_name (file),
                   net_redex_file_get_first_seq (file),
                   net_redex_file_get_next_seq (file),
                   net_redex_file_get_length (file));
        }
    }

  g_clear_pointer (&files, g_ptr_array_unref);
  if (!net_redex_close (redex, error))
    return CLI_EXIT_FAILURE;

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* log append                                                          */
/* ------------------------------------------------------------------ */

typedef struct
{
  NetRedexFile *file;
  GPtrArray    *pending;       /* GBytes */
  gsize         pending_bytes;
  guint64       first_seq;     /* 0: nothing appended yet */
  guint64       last_seq;
} CliAppender;

static gboolean
cli_appender_flush (CliAppender  *app,
                    GError      **error)
{
  guint64 seq;

  if (app->pending->len == 0)
    return TRUE;

  seq = net_redex_file_append_batch (app->file,
                                     (GBytes **) app->pending->pdata,
                                     app->pending->len,
                                     error);
  if (seq == 0)
    return FALSE;

  if (app->first_seq == 0)
    app->first_seq = seq;
  app->last_seq = seq + app->pending->len - 1;

  g_ptr_array_set_size (app->pending, 0);
  app->pending_bytes = 0;

  return TRUE;
}

static gboolean
cli_appender_add (CliAppender  *app,
                  GBytes       *payload,
                  GError      **error)
{
  g_ptr_array_add (app->pending, payload);
  app->pending_bytes += g_bytes_get_size (payload);

  if (app->pending->len >= CLI_BATCH_EVENTS || app->pending_bytes >= CLI_BATCH_BYTES)
    return cli_appender_flush (app, error);

  return TRUE;
}

static gboolean
cli_append_stdin (CliAppender  *app,
                  GError      **error)
{
  g_autoptr(GInputStream) raw = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (raw);

  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);

  for (;;)
    {
      g_autoptr(GError) local_error = NULL;
      gsize len = 0;
      char *line = g_data_input_stream_read_line (in, &len, NULL, &local_error);

      if (line == NULL)
        {
          if (local_error != NULL)
            {
              g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                          "Cannot read standard input: ");
              return FALSE;
            }
          break;
        }

      if (!cli_appender_add (app, g_bytes_new_take (line, len), error))
        return FALSE;
    }

  return TRUE;
}

static int
cmd_log_append (CliInvocation  *inv,
                GError        **error)
{
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GPtrArray) pending = NULL;
  const char *name = inv->args[0];
  CliAppender app = { 0 };
  gboolean ok;
  guint64 count;

  if (!net_redex_name_is_valid (name, error))
    return CLI_EXIT_FAILURE;

  if (!(redex = cli_open_redex (CLI_OPEN_WRITE, error)))
    return CLI_EXIT_FAILURE;

  if (!(file = net_redex_open_file (redex, name, NULL, error)))
    return CLI_EXIT_FAILURE;

  pending = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  app.file = file;
  app.pending = pending;

  if (inv->n_args > 1)
    {
      /* Every TEXT argument is one event; they are appended all or nothing. */
      for (guint i = 1; i < inv->n_args; i++)
        g_ptr_array_add (pending, g_bytes_new (inv->args[i], strlen (inv->args[i])));
      ok = cli_appender_flush (&app, error);
    }
  else
    {
      /* Every line of standard input is one event, appended in batches. */
      ok = cli_append_stdin (&app, error) && cli_appender_flush (&app, error);
    }

  if (!ok)
    {
      if (app.first_seq != 0)
        g_prefix_error (error,
                        "%s: appended seqs %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT
                        " before failing: ",
                        name, app.first_seq, app.last_seq);
      return CLI_EXIT_FAILURE;
    }

  /* Closing makes the appended events durable. */
  g_clear_object (&file);
  if (!net_redex_close (redex, error))
    return CLI_EXIT_FAILURE;

  count = app.first_seq == 0 ? 0 : app.last_seq - app.first_seq + 1;

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "log");
      json_builder_add_string_value (builder, name);
      json_builder_set_member_name (builder, "first_seq");
      json_builder_add_int_value (builder, (gint64) app.first_seq);
      json_builder_set_member_name (builder, "last_seq");
      json_builder_add_int_value (builder, (gint64) app.last_seq);
      json_builder_set_member_name (builder, "count");
      json_builder_add_int_value (builder, (gint64) count);
      json_builder_end_object (builder);

      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else if (count == 0)
    g_print ("%s: nothing to append\n", name);
  else if (count == 1)
    g_print ("%s: appended seq %" G_GUINT64_FORMAT "\n", name, app.first_seq);
  else
    g_print ("%s: appended seqs %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT
             " (%" G_GUINT64_FORMAT " events)\n",
             name, app.first_seq, app.last_seq, count);

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* log tail                                                            */
/* ------------------------------------------------------------------ */

static char     *opt_tail_from;
static gboolean  opt_tail_follow;

static const GOptionEntry log_tail_entries[] = {
  { "from", 0, 0, G_OPTION_ARG_STRING, &opt_tail_from,
    "Start at this sequence number (default: the oldest retained event)", "SEQ" },
  { "follow", 'f', 0, G_OPTION_ARG_NONE, &opt_tail_follow,
    "Keep printing new events as they are appended, until interrupted", NULL },
  { NULL }
};

typedef struct
{
  GMainLoop    *loop;
  NetRedexTail *tail;
  const char   *name;
  GCancellable *cancellable;
  GError       *error;
  gboolean      pending;
} CliFollow;

static void cli_follow_next (CliFollow *follow);

static void
cli_follow_next_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  CliFollow *follow = user_data;
  g_autoptr(NetRedexEvent) event = NULL;
  g_autoptr(GError) local_error = NULL;

  follow->pending = FALSE;

  event = net_redex_tail_next_finish (NET_REDEX_TAIL (object), result, &local_error);
  if (event == NULL)
    {
      /* Cancellation is how a signal stops us; it is not a failure. */
      if (!g_cancellable_is_cancelled (follow->cancellable) && follow->error == NULL)
        follow->error = g_steal_pointer (&local_error);
      g_main_loop_quit (follow->loop);
      return;
    }

  cli_print_event (follow->name, event);

  if (!g_cancellable_is_cancelled (follow->cancellable))
    cli_follow_next (follow);
}

static void
cli_follow_next (CliFollow *follow)
{
  follow->pending = TRUE;
  net_redex_tail_next_async (follow->tail, follow->cancellable,
                             cli_follow_next_cb, follow);
}

static gboolean
cli_follow_signal_cb (gpointer user_data)
{
  CliFollow *follow = user_data;

  g_cancellable_cancel (follow->cancellable);
  g_main_loop_quit (follow->loop);

  return G_SOURCE_CONTINUE;
}

static gboolean
cli_follow_timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;

  return G_SOURCE_REMOVE;
}

static gboolean
cli_tail_follow (NetRedexFile  *file,
                 guint64        from_seq,
                 GError       **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(NetRedexTail) tail = net_redex_file_tail (file, from_seq);
  CliFollow follow = { 0 };
  guint sigint_id;
  guint sigterm_id;
  gboolean timed_out = FALSE;
  guint timeout_id;

  follow.loop = loop;
  follow.tail = tail;
  follow.name = net_redex_file_get_name (file);
  follow.cancellable = cancellable;
  cli_flush_each = TRUE;

  sigint_id = g_unix_signal_add (SIGINT, cli_follow_signal_cb, &follow);
  sigterm_id = g_unix_signal_add (SIGTERM, cli_follow_signal_cb, &follow);

  cli_follow_next (&follow);
  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);

  /* Let a pending next_async() finish (it was cancelled, or the tail is
   * closed now), so nothing is left referencing @follow; but never hang
   * on the way out. */
  g_cancellable_cancel (cancellable);
  net_redex_tail_close (tail);
  timeout_id = g_timeout_add_seconds (2, cli_follow_timeout_cb, &timed_out);
  while (follow.pending && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (timeout_id);

  if (follow.error != NULL)
    {
      g_propagate_error (error, follow.error);
      return FALSE;
    }

  return TRUE;
}

static gboolean
cli_tail_history (NetRedexFile  *file,
                  guint64        from_seq,
                  GError       **error)
{
  const char *name = net_redex_file_get_name (file);
  guint64 end_seq = net_redex_file_get_next_seq (file);
  guint64 seq = from_seq;

  while (seq < end_seq)
    {
      guint64 batch_end = MIN (end_seq, seq + CLI_BATCH_EVENTS);
      g_autoptr(GPtrArray) events = net_redex_file_read_range (file, seq, batch_end, error);

      if (events == NULL)
        return FALSE;
      if (events->len == 0)
        break;

      for (guint i = 0; i < events->len; i++)
        cli_print_event (name, g_ptr_array_index (events, i));

      seq = net_redex_event_get_seq (g_ptr_array_index (events, events->len - 1)) + 1;
    }

  return TRUE;
}

static int
cmd_log_tail (CliInvocation  *inv,
              GError        **error)
{
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  const char *name = inv->args[0];
  guint64 from_seq = 0;
  gboolean ok;

  if (opt_tail_from != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      from_seq = cli_parse_seq (opt_tail_from, "--from", &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return CLI_EXIT_USAGE;
        }
    }

  if (!(redex = cli_open_redex (CLI_OPEN_READ, error)))
    return CLI_EXIT_FAILURE;

  if (!(file = cli_open_existing_log (redex, name, error)))
    return CLI_EXIT_FAILURE;

  /* 0 means “from the oldest retained event”. */
  if (from_seq == 0)
    from_seq = net_redex_file_get_first_seq (file);
  if (from_seq == 0)
    from_seq = net_redex_file_get_next_seq (file);

  if (opt_tail_follow)
    ok = cli_tail_follow (file, from_seq, error);
  else
    ok = cli_tail_history (file, from_seq, error);

  g_clear_object (&file);
  if (!ok)
    return CLI_EXIT_FAILURE;

  if (!net_redex_close (redex, error))
    return CLI_EXIT_FAILURE;

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* log verify                                                          */
/* ------------------------------------------------------------------ */

/* `log verify`: no damage, but a log ends with an incomplete write. */
#define CLI_EXIT_INCOMPLETE 3

static int
cmd_log_verify (CliInvocation  *inv,
                GError        **error)
{
  g_autoptr(NetRedex) redex = NULL;
  g_auto(GStrv) names = NULL;
  guint n_problems = 0;
  guint n_incomplete = 0;
  guint n_logs = 0;

  if (!(redex = cli_open_redex (CLI_OPEN_READ, error)))
    return CLI_EXIT_FAILURE;

  if (inv->n_args > 0)
    {
      if (!cli_has_log (redex, inv->args[0], error))
        return CLI_EXIT_FAILURE;
      names = g_new0 (char *, 2);
      names[0] = g_strdup (inv->args[0]);
    }
  else
    {
      g_autoptr(GError) local_error = NULL;

      names = net_redex_list_files (redex, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return CLI_EXIT_FAILURE;
        }
    }

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr(NetRedexFile) file = NULL;
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GPtrArray) incomplete = g_ptr_array_new_with_free_func (g_free);
      g_autoptr(GError) local_error = NULL;
      guint n;

      if (!(file = net_redex_open_file (redex, names[i], NULL, error)))
        return CLI_EXIT_FAILURE;

      /* What a crash left at the end of the log (read-only, we do not
       * truncate it) is reported apart from damage. */
      if (!_net_redex_file_verify_full (file, problems, incomplete, &local_error))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                      "%s: ", names[i]);
          return CLI_EXIT_FAILURE;
        }

      n = problems->len;
      n_problems += n;
      n_incomplete += incomplete->len;
      n_logs++;

      if (opt_json)
        {
          g_autoptr(JsonBuilder) builder = json_builder_new ();
          g_autoptr(JsonNode) root = NULL;

          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "log");
          json_builder_add_string_value (builder, names[i]);
          json_builder_set_member_name (builder, "ok");
          json_builder_add_boolean_value (builder, n == 0 && incomplete->len == 0);
          json_builder_set_member_name (builder, "problems");
          json_builder_begin_array (builder);
          for (guint j = 0; j < n; j++)
            json_builder_add_string_value (builder, g_ptr_array_index (problems, j));
          json_builder_end_array (builder);
          json_builder_set_member_name (builder, "incomplete");
          json_builder_begin_array (builder);
          for (guint j = 0; j < incomplete->len; j++)
            json_builder_add_string_value (builder, g_ptr_array_index (incomplete, j));
          json_builder_end_array (builder);
          json_builder_end_object (builder);

          root = json_builder_get_root (builder);
          cli_print_json (root);
        }
      else if (n == 0 && incomplete->len == 0)
        {
          g_print ("%s: ok\n", names[i]);
        }
      else
        {
          for (guint j = 0; j < n; j++)
            g_print ("%s: %s\n", names[i], (char *) g_ptr_array_index (problems, j));
          for (guint j = 0; j < incomplete->len; j++)
            g_print ("%s: %s\n", names[i], (char *) g_ptr_array_index (incomplete, j));
        }
    }

  if (!net_redex_close (redex, error))
    return CLI_EXIT_FAILURE;

  if (!opt_json)
    {
      if (n_problems > 0)
        g_printerr ("netdb: %u problem%s found in %u log%s\n",
                    n_problems, n_problems == 1 ? "" : "s",
                    n_logs, n_logs == 1 ? "" : "s");
      else if (n_incomplete > 0)
        g_printerr ("netdb: %u log%s end%s with an incomplete write (a crash or a writer at work)\n",
                    n_incomplete, n_incomplete == 1 ? "" : "s", n_incomplete == 1 ? "s" : "");
      fflush (stdout);
    }

  /* Damage wins over an incomplete end. */
  if (n_problems > 0)
    return CLI_EXIT_FAILURE;
  return n_incomplete > 0 ? CLI_EXIT_INCOMPLETE : EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Command tables                                                      */
/* ------------------------------------------------------------------ */

static const CliCommand log_commands[] = {
  { "list", NULL, "List the logs with their first seq, next seq and length",
    NULL, NULL, NULL, 0, 0, cmd_log_list },
  { "append", "NAME [TEXT…]", "Append events to a log (created if needed)",
    "Each TEXT argument becomes one event, and all of them are appended\n"
    "atomically.  Without TEXT, every line read from standard input becomes\n"
    "one event (without its newline).  Prints the sequence numbers assigned.",
    NULL, NULL, 1, G_MAXUINT, cmd_log_append },
  { "tail", "NAME", "Print the events of a log",
    "Prints the retained events from --from (default: the oldest) to the end.\n"
    "With --follow, keeps printing events as they are appended, also by other\n"
    "processes, until interrupted (SIGINT or SIGTERM, exit status 0).\n"
    "The database is opened read-only.",
    NULL, log_tail_entries, 1, 1, cmd_log_tail },
  { "verify", "[NAME]", "Check the checksums and structure of one or all logs",
    "Prints every problem found and exits with status 1 if there is any.\n"
    "A log that ends with an incomplete write (a torn last record or batch,\n"
    "which the next writer truncates) is reported too, with status 3 when\n"
    "nothing is damaged.\n"
    "The database is opened read-only, so nothing is repaired.",
    NULL, NULL, 0, 1, cmd_log_verify },
  { NULL }
};

static const CliCommand root_commands[] = {
  { "tasks", "COMMAND", "Add, change, query and watch tasks",
    NULL, cli_tasks_commands, NULL, 0, 0, NULL },
  { "memories", "COMMAND", "Store, tag, pin, query and watch memories",
    NULL, cli_memories_commands, NULL, 0, 0, NULL },
  { "collections", NULL, "List the collections with their record counts and fields",
    "Prints each collection's name, how many records it holds, and its fields\n"
    "with the types the log stores them as (read without the application's\n"
    "class).  The database is opened read-only.",
    NULL, NULL, 0, 0, cli_cmd_collections },
  { "records", "COMMAND", "Query and watch the records of any collection",
    NULL, cli_records_commands, NULL, 0, 0, NULL },
  { "snapshot", "COMMAND", "Save a database to a file, or restore one from it",
    NULL, cli_snapshot_commands, NULL, 0, 0, NULL },
  { "log", "COMMAND", "Inspect and write the raw event logs (RedEX)",
    NULL, log_commands, NULL, 0, 0, NULL },
  { "node", "COMMAND", "Replicate a database between nodes: keys, serve, follow",
    NULL, cli_node_commands, NULL, 0, 0, NULL },
  { NULL }
};

static const CliCommand root_command = {
  "netdb", "COMMAND", "Query and modify a netdb database",
  NULL, root_commands, NULL, 0, 0, NULL,
};

/* ------------------------------------------------------------------ */
/* Dispatch                                                            */
/* ------------------------------------------------------------------ */

static char *
cli_subcommands_summary (const CliCommand *command)
{
  GString *summary = g_string_new (command->summary);
  int width = 0;

  for (const CliCommand *sub = command->subcommands; sub->name != NULL; sub++)
    width = MAX (width, (int) strlen (sub->name));

  g_string_append (summary, "\n\nCommands:");
  for (const CliCommand *sub = command->subcommands; sub->name != NULL; sub++)
    g_string_append_printf (summary, "\n  %-*s  %s", width, sub->name, sub->summary);

  return g_string_free (summary, FALSE);
}

static GOptionContext *
cli_context_new (const CliCommand *command)
{
  GOptionContext *context;
  g_autofree char *summary = NULL;

  context = g_option_context_new (command->parameters);
  g_option_context_set_help_enabled (context, TRUE);

  if (command->subcommands != NULL)
    {
      summary = cli_subcommands_summary (command);
      /* Options after the command name belong to the command. */
      g_option_context_set_strict_posix (context, TRUE);
    }

  g_option_context_set_summary (context, summary != NULL ? summary : command->summary);
  if (command->description != NULL)
    g_option_context_set_description (context, command->description);

  /* The global options are shown (and accepted) at every level. */
  if (command->options != NULL)
    g_option_context_add_main_entries (context, command->options, NULL);
  g_option_context_add_main_entries (context, global_entries, NULL);
  if (command == &root_command)
    g_option_context_add_main_entries (context, version_entries, NULL);

  return context;
}

static int
cli_usage_failed (const char *path,
                  GError     *error)
{
  g_printerr ("netdb: %s\n", error->message);
  g_printerr ("Try “%s --help” for more information.\n", path);

  return CLI_EXIT_USAGE;
}

static int
cli_run_leaf (const CliCommand  *command,
              const char        *path,
              GStrv              args)
{
  g_autoptr(GError) error = NULL;
  CliInvocation inv = { 0 };
  guint n_args = g_strv_length (args);
  int status;

  if (opt_db != NULL && opt_memory)
    {
      g_set_error_literal (&error, CLI_USAGE_ERROR, 0,
                           "--db and --memory cannot be used together");
      return cli_usage_failed (path, error);
    }

  if (n_args < command->min_args)
    {
      g_set_error (&error, CLI_USAGE_ERROR, 0, "Missing argument: %s",
                   command->parameters);
      return cli_usage_failed (path, error);
    }

  if (n_args > command->max_args)
    {
      g_set_error (&error, CLI_USAGE_ERROR, 0, "Unexpected argument “%s”",
                   args[command->max_args]);
      return cli_usage_failed (path, error);
    }

  inv.command = command;
  inv.path = path;
  inv.args = args;
  inv.n_args = n_args;

  status = command->run (&inv, &error);

  if (error != NULL)
    {
      if (error->domain == CLI_USAGE_ERROR)
        return cli_usage_failed (path, error);

      g_printerr ("netdb: %s\n", error->message);
      return status != EXIT_SUCCESS ? status : CLI_EXIT_FAILURE;
    }

  return status;
}

/* @argv[0] is the name of @command. */
static int
cli_dispatch (const CliCommand  *command,
              const char        *path,
              GStrv              argv)
{
  g_autoptr(GOptionContext) context = cli_context_new (command);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) rest = NULL;
  const CliCommand *sub;
  g_autofree char *sub_path = NULL;

  /* GOption prints “Usage: <prgname> [OPTION…] <parameters>”. */
  g_set_prgname (path);

  if (command->subcommands == NULL)
    {
      const GOptionEntry remaining[] = {
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &rest, NULL, NULL },
        { NULL }
      };

      g_option_context_add_main_entries (context, remaining, NULL);
    }

  if (!g_option_context_parse_strv (context, &argv, &error))
    {
      g_set_prgname ("netdb");
      return cli_usage_failed (path, error);
    }
  g_set_prgname ("netdb");

  if (opt_version)
    {
      g_print ("netdb %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  if (command->subcommands == NULL)
    {
      if (rest == NULL)
        rest = g_new0 (char *, 1);
      return cli_run_leaf (command, path, rest);
    }

  if (argv[1] == NULL)
    {
      g_set_error_literal (&error, CLI_USAGE_ERROR, 0, "Missing command");
      return cli_usage_failed (path, error);
    }

  for (sub = command->subcommands; sub->name != NULL; sub++)
    if (g_str_equal (sub->name, argv[1]))
      break;

  if (sub->name == NULL)
    {
      g_set_error (&error, CLI_USAGE_ERROR, 0, "Unknown command “%s”", argv[1]);
      return cli_usage_failed (path, error);
    }

  sub_path = g_strconcat (path, " ", sub->name, NULL);

  return cli_dispatch (sub, sub_path, argv + 1);
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) args = NULL;
  int status;

  setlocale (LC_ALL, "");
  g_set_prgname ("netdb");

  args = g_new0 (char *, argc + 1);
  for (int i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);

  status = cli_dispatch (&root_command, "netdb", args);

  g_clear_pointer (&opt_db, g_free);
  g_clear_pointer (&opt_tail_from, g_free);
  cli_models_cleanup ();
  cli_records_cleanup ();
  cli_node_cleanup ();

  return status;
}
