/* netdb-control.c: mutations, applied here or by the node holding the db
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A running `netdb node serve|follow` holds its database's write lock, so
 * `netdb tasks add` cannot open it.  Instead the node listens on a Unix
 * socket in the database directory, and the command sends it the
 * mutation: the node applies it to the database it holds (a leader
 * appends and replicates it; a follower with --forward-writes queues it
 * for its leader; any other follower refuses it, read-only), makes it
 * durable and answers.
 *
 * The exchange is one line each way, both JSON objects:
 *
 *   → {"op": "task.add", "id": 7, "text": "…", "tags": […], "source": "…"}
 *   ← {"seq": 42}              (0: queued for the leader)
 *   ← {"error": {"domain": "net-error-quark", "code": 2, "message": "…"}}
 *
 * Only the user who runs the node may talk to it: the socket has mode
 * 0600, and both ends check the other's credentials.
 */

#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "netdb-control.h"

/* A request is one mutation: its text is bounded by the largest event. */
#define CLI_CONTROL_MAX_LINE (4 * 1024 * 1024)
/* How long a command waits for the node (which syncs before answering). */
#define CLI_CONTROL_TIMEOUT_S 60

/* Mutations --------------------------------------------------------------------- */

static const struct
{
  const char  *name;
  const char  *done;
  gboolean     is_task;
  gboolean     has_text;
} ops[] = {
  [CLI_MUTATION_TASK_ADD]       = { "task.add", "added", TRUE, TRUE },
  [CLI_MUTATION_TASK_RENAME]    = { "task.rename", "renamed", TRUE, TRUE },
  [CLI_MUTATION_TASK_COMPLETE]  = { "task.complete", "completed", TRUE, FALSE },
  [CLI_MUTATION_TASK_DELETE]    = { "task.delete", "deleted", TRUE, FALSE },
  [CLI_MUTATION_MEMORY_STORE]   = { "memory.store", "stored", FALSE, TRUE },
  [CLI_MUTATION_MEMORY_RETAG]   = { "memory.retag", "retagged", FALSE, FALSE },
  [CLI_MUTATION_MEMORY_PIN]     = { "memory.pin", "pinned", FALSE, FALSE },
  [CLI_MUTATION_MEMORY_UNPIN]   = { "memory.unpin", "unpinned", FALSE, FALSE },
  [CLI_MUTATION_MEMORY_DELETE]  = { "memory.delete", "deleted", FALSE, FALSE },
};

void
cli_mutation_clear (CliMutation *mutation)
{
  g_clear_pointer (&mutation->text, g_free);
  g_clear_pointer (&mutation->tags, g_strfreev);
  g_clear_pointer (&mutation->source, g_free);
}

const char *
cli_mutation_noun (const CliMutation *mutation)
{
  return ops[mutation->op].is_task ? "task" : "memory";
}

const char *
cli_mutation_done (const CliMutation *mutation)
{
  return ops[mutation->op].done;
}

NetDbModels
cli_mutation_model (const CliMutation *mutation)
{
  return ops[mutation->op].is_task ? NET_DB_MODELS_TASKS : NET_DB_MODELS_MEMORIES;
}

static gboolean
cli_mutation_exists (const CliMutation *mutation,
                     NetDb             *db)
{
  if (ops[mutation->op].is_task)
    {
      g_autoptr(NetTask) task = net_db_tasks_get (net_db_get_tasks (db), mutation->id);

      return task != NULL;
    }
  else
    {
      g_autoptr(NetMemory) memory = net_db_memories_get (net_db_get_memories (db), mutation->id);

      return memory != NULL;
    }
}

guint64
cli_mutation_apply (const CliMutation  *mutation,
                    NetDb              *db,
                    GError            **error)
{
  NetDbTasks *tasks = net_db_get_tasks (db);
  NetDbMemories *memories = net_db_get_memories (db);
  const char * const *tags = (const char * const *) mutation->tags;

  if ((ops[mutation->op].is_task ? (gpointer) tasks : (gpointer) memories) == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "the database has no %s model", ops[mutation->op].is_task ? "tasks" : "memories");
      return 0;
    }

  if (mutation->op != CLI_MUTATION_TASK_ADD && mutation->op != CLI_MUTATION_MEMORY_STORE &&
      !cli_mutation_exists (mutation, db))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "no %s with id %" G_GUINT64_FORMAT, cli_mutation_noun (mutation), mutation->id);
      return 0;
    }

  switch (mutation->op)
    {
    case CLI_MUTATION_TASK_ADD:
      return net_db_tasks_create (tasks, mutation->id, mutation->text, 0, error);
    case CLI_MUTATION_TASK_RENAME:
      return net_db_tasks_rename (tasks, mutation->id, mutation->text, 0, error);
    case CLI_MUTATION_TASK_COMPLETE:
      return net_db_tasks_complete (tasks, mutation->id, 0, error);
    case CLI_MUTATION_TASK_DELETE:
      return net_db_tasks_delete (tasks, mutation->id, error);
    case CLI_MUTATION_MEMORY_STORE:
      return net_db_memories_store (memories, mutation->id, mutation->text, tags,
                                    mutation->source, 0, error);
    case CLI_MUTATION_MEMORY_RETAG:
      return net_db_memories_retag (memories, mutation->id, tags, 0, error);
    case CLI_MUTATION_MEMORY_PIN:
      return net_db_memories_pin (memories, mutation->id, 0, error);
    case CLI_MUTATION_MEMORY_UNPIN:
      return net_db_memories_unpin (memories, mutation->id, 0, error);
    case CLI_MUTATION_MEMORY_DELETE:
      return net_db_memories_delete (memories, mutation->id, error);
    default:
      g_assert_not_reached ();
    }
}

char *
cli_mutation_to_line (const CliMutation *mutation)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "op");
  json_builder_add_string_value (builder, ops[mutation->op].name);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, (gint64) mutation->id);
  if (mutation->text != NULL)
    {
      json_builder_set_member_name (builder, "text");
      json_builder_add_string_value (builder, mutation->text);
    }
  if (mutation->tags != NULL)
    {
      json_builder_set_member_name (builder, "tags");
      json_builder_begin_array (builder);
      for (guint i = 0; mutation->tags[i] != NULL; i++)
        json_builder_add_string_value (builder, mutation->tags[i]);
      json_builder_end_array (builder);
    }
  if (mutation->source != NULL)
    {
      json_builder_set_member_name (builder, "source");
      json_builder_add_string_value (builder, mutation->source);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

gboolean
cli_mutation_parse (const char   *line,
                    CliMutation  *mutation,
                    GError      **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  JsonNode *node;
  const char *name;
  gint64 id;

  memset (mutation, 0, sizeof *mutation);

  if (!json_parser_load_from_data (parser, line, -1, error))
    return FALSE;

  /* An empty line parses, to no root at all. */
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;
  object = json_node_get_object (node);

  node = json_object_get_member (object, "op");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    goto invalid;
  name = json_node_get_string (node);
  for (mutation->op = 0; mutation->op < G_N_ELEMENTS (ops); mutation->op++)
    if (g_str_equal (name, ops[mutation->op].name))
      break;
  if (mutation->op == G_N_ELEMENTS (ops))
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "unknown operation “%s”", name);
      return FALSE;
    }

  node = json_object_get_member (object, "id");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (id = json_node_get_int (node)) <= 0)
    goto invalid;
  mutation->id = (guint64) id;

  node = json_object_get_member (object, "text");
  if (node != NULL && json_node_get_value_type (node) != G_TYPE_STRING)
    goto invalid;
  if (ops[mutation->op].has_text && node == NULL)
    goto invalid;
  if (node != NULL)
    mutation->text = json_node_dup_string (node);

  node = json_object_get_member (object, "source");
  if (node != NULL && json_node_get_value_type (node) != G_TYPE_STRING)
    goto invalid;
  if (node != NULL)
    mutation->source = json_node_dup_string (node);

  node = json_object_get_member (object, "tags");
  if (node != NULL)
    {
      g_autoptr(GStrvBuilder) tags = g_strv_builder_new ();
      JsonArray *array;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        goto invalid;
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *tag = json_array_get_element (array, i);

          if (json_node_get_value_type (tag) != G_TYPE_STRING)
            goto invalid;
          g_strv_builder_add (tags, json_node_get_string (tag));
        }
      mutation->tags = g_strv_builder_end (tags);
    }

  return TRUE;

invalid:
  cli_mutation_clear (mutation);
  g_set_error_literal (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "malformed request");
  return FALSE;
}

/* The socket ---------------------------------------------------------------------- */

static char *
cli_control_path (const char *dir)
{
  return g_build_filename (dir, CLI_CONTROL_SOCKET_NAME, NULL);
}

static GSocketAddress *
cli_control_address (const char  *dir,
                     GError     **error)
{
  g_autofree char *path = cli_control_path (dir);

  /* sun_path has room for this many bytes and the NUL. */
  if (strlen (path) >= sizeof (((struct sockaddr_un *) NULL)->sun_path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   "%s is too long a path for a socket", path);
      return NULL;
    }

  return g_unix_socket_address_new (path);
}

/* Whether the other end of @socket runs as this user. */
static gboolean
cli_control_check_peer (GSocket  *socket,
                        GError  **error)
{
  g_autoptr(GCredentials) credentials = g_socket_get_credentials (socket, error);
  uid_t uid;

  if (credentials == NULL)
    return FALSE;

  uid = g_credentials_get_unix_user (credentials, error);
  if (uid == (uid_t) -1)
    return FALSE;

  if (uid != getuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "the other end of the control socket runs as user %u, not %u",
                   (guint) uid, (guint) getuid ());
      return FALSE;
    }

  return TRUE;
}

static char *
cli_control_reply (guint64       seq,
                   const GError *error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  if (error != NULL)
    {
      json_builder_set_member_name (builder, "error");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "domain");
      json_builder_add_string_value (builder, g_quark_to_string (error->domain));
      json_builder_set_member_name (builder, "code");
      json_builder_add_int_value (builder, error->code);
      json_builder_set_member_name (builder, "message");
      json_builder_add_string_value (builder, error->message);
      json_builder_end_object (builder);
    }
  else
    {
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) seq);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);

  return g_strconcat (text, "\n", NULL);
}

/* Server ------------------------------------------------------------------------- */

struct _CliControl
{
  GSocketService *service;
  NetDb          *db;          /* owned */
  char           *path;
  GCancellable   *cancellable;
  guint           n_pending;   /* connections not finished yet */
};

typedef struct
{
  CliControl        *control;
  GSocketConnection *connection;
  GByteArray        *line;
  char              *reply;
  guint8             buffer[4096];
} CliControlClient;

static void
cli_control_client_free (CliControlClient *client)
{
  client->control->n_pending--;
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_object_unref (client->connection);
  g_byte_array_unref (client->line);
  g_free (client->reply);
  g_free (client);
}

static void
cli_control_written_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  CliControlClient *client = user_data;

  /* The client may have gone; there is nobody left to tell. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  cli_control_client_free (client);
}

static void
cli_control_answer (CliControlClient *client,
                    guint64           seq,
                    const GError     *error)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (client->connection));

  client->reply = cli_control_reply (seq, error);
  g_output_stream_write_all_async (out, client->reply, strlen (client->reply),
                                   G_PRIORITY_DEFAULT, client->control->cancellable,
                                   cli_control_written_cb, client);
}

static void
cli_control_handle (CliControlClient *client)
{
  g_auto(CliMutation) mutation = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 seq = 0;

  g_byte_array_append (client->line, (const guint8 *) "", 1);
  if (!cli_mutation_parse ((const char *) client->line->data, &mutation, &error))
    {
      cli_control_answer (client, 0, error);
      return;
    }

  seq = cli_mutation_apply (&mutation, client->control->db, &error);
  /* The command that opens the database itself reports an event only once
   * it is durable (closing syncs): so does this. */
  if (seq != 0 && !net_db_sync (client->control->db, &error))
    g_prefix_error (&error, "%s %" G_GUINT64_FORMAT " was logged (seq %" G_GUINT64_FORMAT
                    ") but not made durable: ", cli_mutation_noun (&mutation),
                    mutation.id, seq);

  cli_control_answer (client, seq, error);
}

static void
cli_control_read_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  CliControlClient *client = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, &error);
  const guint8 *newline;

  if (n <= 0)
    {
      /* Gone before its request was complete, or we are stopping. */
      cli_control_client_free (client);
      return;
    }

  newline = memchr (client->buffer, '\n', n);
  g_byte_array_append (client->line, client->buffer,
                       newline != NULL ? (guint) (newline - client->buffer) : (guint) n);

  if (client->line->len > CLI_CONTROL_MAX_LINE)
    {
      g_set_error (&error, NET_ERROR, NET_ERROR_PAYLOAD_TOO_LARGE,
                   "request larger than %u bytes", CLI_CONTROL_MAX_LINE);
      cli_control_answer (client, 0, error);
      return;
    }

  if (newline != NULL)
    {
      cli_control_handle (client);
      return;
    }

  g_input_stream_read_async (G_INPUT_STREAM (object), client->buffer, sizeof client->buffer,
                             G_PRIORITY_DEFAULT, client->control->cancellable,
                             cli_control_read_cb, client);
}

static gboolean
cli_control_incoming_cb (GSocketService    *service,
                         GSocketConnection *connection,
                         GObject           *source_object,
                         gpointer           user_data)
{
  CliControl *control = user_data;
  CliControlClient *client;
  g_autoptr(GError) error = NULL;

  if (!cli_control_check_peer (g_socket_connection_get_socket (connection), &error))
    {
      g_printerr ("netdb: control socket: %s\n", error->message);
      return TRUE;
    }

  client = g_new0 (CliControlClient, 1);
  client->control = control;
  client->connection = g_object_ref (connection);
  client->line = g_byte_array_new ();
  control->n_pending++;

  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             client->buffer, sizeof client->buffer,
                             G_PRIORITY_DEFAULT, control->cancellable,
                             cli_control_read_cb, client);

  return TRUE;
}

CliControl *
cli_control_new (const char  *dir,
                 NetDb       *db,
                 GError     **error)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *path = cli_control_path (dir);
  CliControl *control;
  GStatBuf st;

  if (!(address = cli_control_address (dir, error)))
    return NULL;

  /* Only a killed node leaves one behind: the caller holds the lock. */
  if (g_lstat (path, &st) == 0 && S_ISSOCK (st.st_mode))
    g_unlink (path);

  control = g_new0 (CliControl, 1);
  control->service = g_socket_service_new ();
  control->db = g_object_ref (db);
  control->cancellable = g_cancellable_new ();
  control->path = g_steal_pointer (&path);

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (control->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, error))
    {
      g_clear_pointer (&control->path, g_free);
      cli_control_free (control);
      return NULL;
    }

  if (g_chmod (control->path, 0600) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot restrict %s to its owner: %s", control->path,
                   g_strerror (saved_errno));
      cli_control_free (control);
      return NULL;
    }

  g_signal_connect (control->service, "incoming",
                    G_CALLBACK (cli_control_incoming_cb), control);
  g_socket_service_start (control->service);

  return control;
}

void
cli_control_free (CliControl *control)
{
  g_socket_service_stop (control->service);
  g_socket_listener_close (G_SOCKET_LISTENER (control->service));
  if (control->path != NULL)
    g_unlink (control->path);

  /* Let the exchanges in progress see the cancellation and end. */
  g_cancellable_cancel (control->cancellable);
  while (control->n_pending > 0)
    g_main_context_iteration (NULL, TRUE);

  g_signal_handlers_disconnect_by_data (control->service, control);
  g_object_unref (control->service);
  g_object_unref (control->cancellable);
  g_object_unref (control->db);
  g_free (control->path);
  g_free (control);
}

/* Client ------------------------------------------------------------------------- */

gboolean
cli_control_parse_reply (const char  *line,
                         guint64     *out_seq,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *object;
  JsonNode *node;

  if (!json_parser_load_from_data (parser, line, -1, NULL))
    goto invalid;
  /* An empty line parses, to no root at all. */
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    goto invalid;
  object = json_node_get_object (node);

  node = json_object_get_member (object, "error");
  if (node != NULL)
    {
      JsonObject *e;
      JsonNode *domain, *code, *message;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        goto invalid;
      /* Each member must be a value of its type: json-glib's getters are
       * programmer-error checks (criticals) on anything else. */
      e = json_node_get_object (node);
      domain = json_object_get_member (e, "domain");
      code = json_object_get_member (e, "code");
      message = json_object_get_member (e, "message");
      if (domain == NULL || json_node_get_value_type (domain) != G_TYPE_STRING ||
          code == NULL || json_node_get_value_type (code) != G_TYPE_INT64 ||
          message == NULL || json_node_get_value_type (message) != G_TYPE_STRING)
        goto invalid;
      g_set_error_literal (error, g_quark_from_string (json_node_get_string (domain)),
                           (int) json_node_get_int (code), json_node_get_string (message));
      return FALSE;
    }

  node = json_object_get_member (object, "seq");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < 0)
    goto invalid;
  *out_seq = (guint64) json_node_get_int (node);

  return TRUE;

invalid:
  g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                       "the node answered something that is not a reply");
  return FALSE;
}

CliControlResult
cli_control_send (const char         *dir,
                  const CliMutation  *mutation,
                  guint64            *out_seq,
                  GError            **error)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *request = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autofree char *line = NULL;
  gsize sent = 0;

  if (!(address = cli_control_address (dir, NULL)))
    return CLI_CONTROL_NO_NODE;

  if (!(socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                               G_SOCKET_PROTOCOL_DEFAULT, error)))
    return CLI_CONTROL_FAILED;
  g_socket_set_timeout (socket, CLI_CONTROL_TIMEOUT_S);

  if (!g_socket_connect (socket, address, NULL, &local_error))
    {
      /* No socket, or one that a killed node left behind. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ||
          g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
        return CLI_CONTROL_NO_NODE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                  "cannot reach the node holding %s: ", dir);
      return CLI_CONTROL_FAILED;
    }

  if (!cli_control_check_peer (socket, error))
    return CLI_CONTROL_FAILED;

  line = cli_mutation_to_line (mutation);
  request = g_strconcat (line, "\n", NULL);
  while (sent < strlen (request))
    {
      gssize n = g_socket_send (socket, request + sent, strlen (request) - sent, NULL, error);

      if (n < 0)
        goto failed;
      sent += n;
    }

  while (strchr (reply->str, '\n') == NULL)
    {
      char buffer[1024];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, error);

      if (n < 0)
        goto failed;
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                       "the node holding %s closed the connection without an answer",
                       dir);
          return CLI_CONTROL_FAILED;
        }
      g_string_append_len (reply, buffer, n);
      if (reply->len > CLI_CONTROL_MAX_LINE)
        {
          g_set_error_literal (error, NET_ERROR, NET_ERROR_PROTOCOL,
                               "the node's answer is too long");
          return CLI_CONTROL_FAILED;
        }
    }

  *strchr (reply->str, '\n') = '\0';
  if (!cli_control_parse_reply (reply->str, out_seq, error))
    return CLI_CONTROL_FAILED;

  return CLI_CONTROL_APPLIED;

failed:
  g_prefix_error (error, "talking to the node holding %s: ", dir);
  return CLI_CONTROL_FAILED;
}
