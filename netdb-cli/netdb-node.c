/* netdb-node.c: `netdb node …`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `keygen` and `id` manage the node's identity (an Ed25519 key file,
 * default $XDG_CONFIG_HOME/netdb/identity); `serve` makes the database the
 * replication leader of its logs for the peers given with --allow (readers)
 * and --allow-writer (writers, which may forward mutations), and
 * `follow` makes a persistent database a follower of one leader.  Both run
 * until SIGINT or SIGTERM, holding the database's write lock; meanwhile the
 * reading commands (get, list, count, watch) of other `netdb` processes
 * open it read-only and see every replicated event as it is appended.
 *
 * Output of serve and follow: one “listening on ADDR as KEY” line on
 * stdout once the node runs (a JSON object with --json), the node's
 * counters on stdout on SIGUSR1 and at exit, and peer and replication
 * events as `netdb: …` lines on stderr.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "netdb-cli.h"
#include "netdb-control.h"

#define CLI_NODE_MODELS (NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES)

/* The leader's well-known port; followers pick any free one, of the
 * leader address's family (a node's socket has one). */
#define CLI_NODE_DEFAULT_SERVE_LISTEN  "0.0.0.0:7420"
#define CLI_NODE_DEFAULT_FOLLOW_LISTEN "0.0.0.0:0"
#define CLI_NODE_DEFAULT_FOLLOW_LISTEN6 "[::]:0"

/* How long a locked database is retried before giving up (1 s). */
#define CLI_NODE_LOCK_ATTEMPTS 20
#define CLI_NODE_LOCK_RETRY_MS 50

/* When a follower that has not reached its leader says what to check. */
#define CLI_NODE_HINT_S 10

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static char      *opt_identity;
static gboolean   opt_force;
static char      *opt_listen;
static char     **opt_allow;
static char     **opt_allow_writer;
static char      *opt_allow_file;
static gboolean   opt_forward_writes;

#define IDENTITY_ENTRY \
  { "identity", 'i', 0, G_OPTION_ARG_FILENAME, &opt_identity, \
    "The node's key file (default: $XDG_CONFIG_HOME/netdb/identity)", "FILE" }

static const GOptionEntry node_id_entries[] = {
  IDENTITY_ENTRY,
  { NULL }
};

static const GOptionEntry node_keygen_entries[] = {
  IDENTITY_ENTRY,
  { "force", 0, 0, G_OPTION_ARG_NONE, &opt_force,
    "Replace an existing key file (its identity is lost)", NULL },
  { NULL }
};

static const GOptionEntry node_serve_entries[] = {
  IDENTITY_ENTRY,
  { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
    "The UDP address to listen on (default: " CLI_NODE_DEFAULT_SERVE_LISTEN
    "; port 0 picks a free one)", "HOST:PORT" },
  { "allow", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &opt_allow,
    "Admit the peer with this public key as a reader: it may follow (repeatable)", "KEY" },
  { "allow-writer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_allow_writer,
    "Admit the peer with this public key as a writer: it may also forward writes "
    "(repeatable)", "KEY" },
  { "allow-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_allow_file,
    "Also admit the peers listed in FILE, one “KEY”, “reader KEY” or “writer KEY” a line; "
    "re-read on SIGHUP", "FILE" },
  { NULL }
};

static const GOptionEntry node_follow_entries[] = {
  IDENTITY_ENTRY,
  { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
    "The UDP address to listen on (default: " CLI_NODE_DEFAULT_FOLLOW_LISTEN
    ", or " CLI_NODE_DEFAULT_FOLLOW_LISTEN6 " for an [IPv6]:PORT ADDR)", "HOST:PORT" },
  { "forward-writes", 'w', 0, G_OPTION_ARG_NONE, &opt_forward_writes,
    "Forward this node's mutations to the leader instead of refusing them", NULL },
  { NULL }
};

void
cli_node_cleanup (void)
{
  g_clear_pointer (&opt_identity, g_free);
  g_clear_pointer (&opt_listen, g_free);
  g_clear_pointer (&opt_allow, g_strfreev);
  g_clear_pointer (&opt_allow_writer, g_strfreev);
  g_clear_pointer (&opt_allow_file, g_free);
}

/* ------------------------------------------------------------------ */
/* Identity                                                            */
/* ------------------------------------------------------------------ */

static char *
cli_identity_path (void)
{
  if (opt_identity != NULL)
    return g_strdup (opt_identity);

  return g_build_filename (g_get_user_config_dir (), "netdb", "identity", NULL);
}

static NetIdentity *
cli_load_identity (GError **error)
{
  g_autofree char *path = cli_identity_path ();
  g_autoptr(GError) local_error = NULL;
  NetIdentity *identity;

  identity = net_identity_load (path, &local_error);
  if (identity == NULL)
    {
      if (g_error_matches (local_error, NET_ERROR, NET_ERROR_NOT_FOUND))
        g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                     "%s; create one with “netdb node keygen%s%s”",
                     local_error->message,
                     opt_identity != NULL ? " --identity " : "",
                     opt_identity != NULL ? opt_identity : "");
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  return identity;
}

/* A public key from the command line, checked before anything is opened. */
static gboolean
cli_check_public_key (const char  *text,
                      const char  *what,
                      GError     **error)
{
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GError) local_error = NULL;

  key = net_identity_public_key_from_string (text, &local_error);
  if (key == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                   "%s: %s", what, local_error->message);
      return FALSE;
    }

  return TRUE;
}

static char *
cli_format_origin (guint64 origin)
{
  return g_strdup_printf ("%016" G_GINT64_MODIFIER "x", origin);
}

static void
cli_print_identity (NetIdentity *identity,
                    const char  *path)
{
  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *origin = cli_format_origin (net_identity_get_origin (identity));

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "public_key");
      json_builder_add_string_value (builder, net_identity_get_public_key (identity));
      json_builder_set_member_name (builder, "origin");
      json_builder_add_string_value (builder, origin);
      json_builder_set_member_name (builder, "path");
      json_builder_add_string_value (builder, path);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    g_print ("%s\n", net_identity_get_public_key (identity));
}

/* After a rename into @dir, so that the new name survives a crash. */
static gboolean
cli_sync_dir (const char  *dir,
              GError     **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  int saved_errno;

  if (fd >= 0 && fsync (fd) == 0)
    {
      close (fd);
      return TRUE;
    }

  saved_errno = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, NET_ERROR, NET_ERROR_IO,
               "cannot sync %s: %s", dir, g_strerror (saved_errno));
  return FALSE;
}

/* Saves @identity over an existing key file: a crash leaves the old
 * file or the new one, never none. */
static gboolean
cli_replace_identity (NetIdentity  *identity,
                      const char   *path,
                      GError      **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_strdup_printf ("%s.new-%08x", path, g_random_int ());

  if (!net_identity_save (identity, tmp, error))
    return FALSE;

  if (g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp);
      g_set_error (error, NET_ERROR, NET_ERROR_IO,
                   "cannot replace %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }

  return cli_sync_dir (dir, error);
}

static int
cmd_node_keygen (CliInvocation  *inv,
                 GError        **error)
{
  g_autofree char *path = cli_identity_path ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(NetIdentity) identity = NULL;
  GStatBuf st;
  gboolean exists = g_lstat (path, &st) == 0;

  if (exists && !opt_force)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                   "%s already exists (public key: run “netdb node id%s%s”); "
                   "pass --force to replace it, which loses that identity",
                   path,
                   opt_identity != NULL ? " --identity " : "",
                   opt_identity != NULL ? opt_identity : "");
      return CLI_EXIT_FAILURE;
    }

  /* The key is a secret: a new directory for it is private too. */
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, NET_ERROR, NET_ERROR_IO, "cannot create %s: %s",
                   dir, g_strerror (saved_errno));
      return CLI_EXIT_FAILURE;
    }

  identity = net_identity_generate ();

  if (exists)
    {
      if (!cli_replace_identity (identity, path, error))
        return CLI_EXIT_FAILURE;
    }
  else if (!net_identity_save (identity, path, error))
    {
      return CLI_EXIT_FAILURE;
    }

  cli_print_identity (identity, path);

  return EXIT_SUCCESS;
}

static int
cmd_node_id (CliInvocation  *inv,
             GError        **error)
{
  g_autofree char *path = cli_identity_path ();
  g_autoptr(NetIdentity) identity = NULL;

  if (!(identity = cli_load_identity (error)))
    return CLI_EXIT_FAILURE;

  cli_print_identity (identity, path);

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* serve and follow                                                    */
/* ------------------------------------------------------------------ */

typedef struct
{
  GMainLoop  *loop;
  NetNode    *node;
  NetDb      *db;
  const char *leader_key;      /* follow only */
  const char *leader_address;
  guint       hint_id;
  GError     *failure;         /* follow-failed: exit 1 with it */
  CliControl *control;         /* other commands' mutations */
  GHashTable *fixed_keys;      /* serve: canonical key → role + 1, from
                                * --allow and --allow-writer */
  GHashTable *file_keys;       /* serve: the same, from --allow-file */
} CliNode;

/* Allow lists ------------------------------------------------------------ */

/* @text as net_node_list_peers() names it, or NULL. */
static char *
cli_canonical_key (const char  *text,
                   GError     **error)
{
  g_autoptr(GBytes) key = net_identity_public_key_from_string (text, error);

  return key != NULL ? net_identity_public_key_to_string (key) : NULL;
}

/* Reads an allow file: one peer a line, “KEY” or “reader KEY” (a reader)
 * or “writer KEY”; blank lines and lines starting with # are skipped.
 * Returns canonical key → role + 1, or NULL with a message naming the
 * line. */
static GHashTable *
cli_read_allow_file (const char  *path,
                     GError     **error)
{
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_auto(GStrv) words = NULL;
      char *line = g_strstrip (lines[i]);
      NetPeerRole role = NET_PEER_ROLE_READER;
      const char *key_text;
      char *key;
      guint n;

      if (*line == '\0' || *line == '#')
        continue;
      words = g_strsplit_set (line, " \t", -1);
      /* Runs of blanks make empty words: drop them. */
      n = 0;
      for (guint k = 0; words[k] != NULL; k++)
        if (*words[k] != '\0')
          words[n++] = words[k];
        else
          g_free (words[k]);
      words[n] = NULL;

      if (n == 1)
        key_text = words[0];
      else if (n == 2 && (g_str_equal (words[0], "reader") || g_str_equal (words[0], "writer")))
        {
          role = g_str_equal (words[0], "writer") ? NET_PEER_ROLE_WRITER : NET_PEER_ROLE_READER;
          key_text = words[1];
        }
      else
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "%s:%u: expected “KEY”, “reader KEY” or “writer KEY”", path, i + 1);
          return NULL;
        }

      key = cli_canonical_key (key_text, &local_error);
      if (key == NULL)
        {
          g_set_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT,
                       "%s:%u: %s", path, i + 1, local_error->message);
          return NULL;
        }
      g_hash_table_replace (keys, key, GINT_TO_POINTER (role + 1));
    }

  return g_steal_pointer (&keys);
}

/* Admits the peers of --allow-file (their role as the file says; a key
 * also given with --allow-writer stays a writer) and removes those that
 * left it, unless the command line names them. */
static gboolean
cli_node_load_allow_file (CliNode  *run,
                          GError  **error)
{
  g_autoptr(GHashTable) keys = cli_read_allow_file (opt_allow_file, error);
  GHashTableIter iter;
  gpointer key, value;

  if (keys == NULL)
    return FALSE;

  g_hash_table_iter_init (&iter, keys);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      NetPeerRole role = GPOINTER_TO_INT (value) - 1;
      gpointer fixed = g_hash_table_lookup (run->fixed_keys, key);

      if (fixed != NULL)
        role = MAX (role, (NetPeerRole) (GPOINTER_TO_INT (fixed) - 1));
      if (!net_node_add_peer_with_role (run->node, key, NULL, role, error))
        return FALSE;
    }

  if (run->file_keys != NULL)
    {
      g_hash_table_iter_init (&iter, run->file_keys);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        {
          gpointer fixed;

          if (g_hash_table_contains (keys, key))
            continue;
          fixed = g_hash_table_lookup (run->fixed_keys, key);
          if (fixed != NULL)
            net_node_add_peer_with_role (run->node, key, NULL, GPOINTER_TO_INT (fixed) - 1, NULL);
          else
            net_node_remove_peer (run->node, key);
        }
    }

  g_clear_pointer (&run->file_keys, g_hash_table_unref);
  run->file_keys = g_steal_pointer (&keys);
  return TRUE;
}

/* SIGHUP: the allow file again, so that a new follower needs no restart. */
static gboolean
cli_node_reload_cb (gpointer user_data)
{
  CliNode *run = user_data;
  g_autoptr(GError) error = NULL;
  guint writers = 0;
  GHashTableIter iter;
  gpointer value;

  if (opt_allow_file == NULL)
    {
      g_printerr ("netdb: SIGHUP: no --allow-file to re-read\n");
      return G_SOURCE_CONTINUE;
    }
  if (!cli_node_load_allow_file (run, &error))
    {
      g_printerr ("netdb: allow list not reloaded (the previous one stays): %s\n",
                  error->message);
      return G_SOURCE_CONTINUE;
    }

  g_hash_table_iter_init (&iter, run->file_keys);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    writers += GPOINTER_TO_INT (value) - 1 == NET_PEER_ROLE_WRITER;
  g_printerr ("netdb: allow list reloaded from %s: %u readers, %u writers\n",
              opt_allow_file, g_hash_table_size (run->file_keys) - writers, writers);
  return G_SOURCE_CONTINUE;
}

static void
cli_node_print_counters (CliNode *run)
{
  g_autoptr(GVariant) counters = net_node_get_counters (run->node);

  /* a{st}, floating */
  g_variant_take_ref (counters);

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "counters");
      json_builder_add_value (builder, json_gvariant_serialize (counters));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    {
      GVariantIter iter;
      const char *name;
      guint64 value;
      int width = 0;

      /* NAME VALUE lines, the values aligned. */
      g_variant_iter_init (&iter, counters);
      while (g_variant_iter_next (&iter, "{&st}", &name, &value))
        width = MAX (width, (int) strlen (name));

      g_variant_iter_init (&iter, counters);
      while (g_variant_iter_next (&iter, "{&st}", &name, &value))
        g_print ("%-*s  %" G_GUINT64_FORMAT "\n", width, name, value);
    }

  fflush (stdout);
}

static void
cli_node_print_listening (CliNode *run)
{
  const char *address = net_node_get_local_address (run->node);
  const char *key = net_identity_get_public_key (net_node_get_identity (run->node));

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "listening");
      json_builder_add_string_value (builder, address);
      json_builder_set_member_name (builder, "public_key");
      json_builder_add_string_value (builder, key);
      if (run->leader_key != NULL)
        {
          json_builder_set_member_name (builder, "leader");
          json_builder_add_string_value (builder, run->leader_key);
          json_builder_set_member_name (builder, "leader_address");
          json_builder_add_string_value (builder, run->leader_address);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    g_print ("listening on %s as %s\n", address, key);

  fflush (stdout);
}

static void
cli_node_peer_up_cb (NetNode    *node,
                     const char *public_key,
                     gpointer    user_data)
{
  g_printerr ("netdb: peer up: %s\n", public_key);
}

static void
cli_node_peer_down_cb (NetNode    *node,
                       const char *public_key,
                       gpointer    user_data)
{
  g_printerr ("netdb: peer down: %s\n", public_key);
}

/* The leader refused a node: say who, and how to admit it. */
static void
cli_node_peer_refused_cb (NetNode    *node,
                          const char *public_key,
                          const char *address,
                          gpointer    user_data)
{
  g_printerr ("netdb: refused a handshake from %s at %s: its key is not allowed; "
              "to admit it, restart with --allow %s (or --allow-writer %s), or add it "
              "to the --allow-file and send SIGHUP\n",
              public_key, address, public_key, public_key);
}

static void
cli_node_forward_failed_cb (NetDb        *db,
                            const GError *error,
                            gpointer      user_data)
{
  g_printerr ("netdb: forward failed: %s\n",
              error != NULL ? error->message : "unknown error");
}

/* The follower's log diverged from the leader's: nothing more will be
 * replicated, so stop and say why. */
static void
cli_node_follow_failed_cb (NetNode      *node,
                           const GError *error,
                           gpointer      user_data)
{
  CliNode *run = user_data;

  if (run->failure == NULL)
    run->failure = g_error_copy (error);
  g_main_loop_quit (run->loop);
}

static gboolean
cli_node_quit_cb (gpointer user_data)
{
  CliNode *run = user_data;

  g_main_loop_quit (run->loop);

  return G_SOURCE_CONTINUE;
}

/* A follower that never reached its leader says what to check, once. */
static gboolean
cli_node_hint_cb (gpointer user_data)
{
  CliNode *run = user_data;

  run->hint_id = 0;
  if (!net_node_is_peer_up (run->node, run->leader_key))
    {
      const char *key = net_identity_get_public_key (net_node_get_identity (run->node));

      g_printerr ("netdb: the leader at %s is not answering this node's handshake "
                  "(%" G_GUINT64_FORMAT " sent): is it running there, and does it admit "
                  "this node's key (netdb node serve --allow %s, or --allow-writer %s to "
                  "forward writes; a leader with --allow-file re-reads it on SIGHUP)?\n",
                  run->leader_address,
                  net_node_get_counter (run->node, "handshakes-initiated"), key, key);
    }

  return G_SOURCE_REMOVE;
}

static gboolean
cli_node_counters_cb (gpointer user_data)
{
  cli_node_print_counters (user_data);

  return G_SOURCE_CONTINUE;
}

/* Opens the database of the global options for writing: a node appends
 * (as a leader, forwarded events; as a follower, replicated ones). */
static NetDb *
cli_node_open_db (GError **error)
{
  g_autofree char *dir = NULL;

  if (opt_memory)
    return net_db_new (NULL, CLI_NODE_MODELS, error);

  dir = cli_get_db_dir ();
  if (!cli_ensure_dir (dir, error))
    return NULL;

  /* A reading command that finds no database creates an empty one, which
   * holds the lock for a moment: wait that out, not a real writer. */
  for (guint attempt = 0; ; attempt++)
    {
      g_autoptr(GError) local_error = NULL;
      NetDb *db = net_db_new (dir, CLI_NODE_MODELS, &local_error);

      if (db != NULL)
        return db;

      if (!g_error_matches (local_error, NET_ERROR, NET_ERROR_LOCKED) ||
          attempt >= CLI_NODE_LOCK_ATTEMPTS)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }

      g_usleep (CLI_NODE_LOCK_RETRY_MS * 1000);
    }
}

/* A persistent database keeps the node's handshake state beside it, so a
 * handshake captured before a restart is refused after it. */
static gboolean
cli_node_use_state (NetNode  *node,
                    NetDb    *db,
                    GError  **error)
{
  g_autofree char *path = NULL;

  if (net_db_get_path (db) == NULL)
    return TRUE;
  path = g_build_filename (net_db_get_path (db), "node-state", NULL);
  return net_node_set_state_file (node, path, error);
}

/* Says where the started node listens, runs it until SIGINT or SIGTERM,
 * printing the counters on SIGUSR1 and at the end, then stops it and
 * closes the database. */
static int
cli_node_run (CliNode  *run,
              GError  **error)
{
  guint ids[4];
  gulong up_id;
  gulong refused_id;
  gulong down_id;
  gulong failed_id;

  up_id = g_signal_connect (run->node, "peer-up", G_CALLBACK (cli_node_peer_up_cb), run);
  down_id = g_signal_connect (run->node, "peer-down", G_CALLBACK (cli_node_peer_down_cb), run);
  failed_id = g_signal_connect (run->node, "follow-failed",
                                G_CALLBACK (cli_node_follow_failed_cb), run);
  refused_id = g_signal_connect (run->node, "peer-refused",
                                 G_CALLBACK (cli_node_peer_refused_cb), run);

  ids[0] = g_unix_signal_add (SIGINT, cli_node_quit_cb, run);
  ids[1] = g_unix_signal_add (SIGTERM, cli_node_quit_cb, run);
  ids[2] = g_unix_signal_add (SIGUSR1, cli_node_counters_cb, run);
  ids[3] = g_unix_signal_add (SIGHUP, cli_node_reload_cb, run);

  /* Other `netdb` commands cannot open the database the node holds: they
   * send their mutations here.  Ready before anything is printed. */
  if (net_db_get_path (run->db) != NULL)
    {
      g_autoptr(GError) control_error = NULL;

      run->control = cli_control_new (net_db_get_path (run->db), run->db, &control_error);
      if (run->control == NULL)
        g_printerr ("netdb: other netdb commands cannot write through this node: %s\n",
                    control_error->message);
    }

  /* The signals are ours before anything is printed: whoever reads the
   * first line may signal us at once. */
  cli_flush_each = TRUE;
  cli_node_print_listening (run);

  if (run->leader_key != NULL)
    run->hint_id = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, CLI_NODE_HINT_S,
                                          cli_node_hint_cb, run, NULL);

  g_main_loop_run (run->loop);

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  g_clear_handle_id (&run->hint_id, g_source_remove);
  g_clear_pointer (&run->control, cli_control_free);

  net_node_stop (run->node);
  g_signal_handler_disconnect (run->node, up_id);
  g_signal_handler_disconnect (run->node, down_id);
  g_signal_handler_disconnect (run->node, failed_id);
  g_signal_handler_disconnect (run->node, refused_id);
  cli_node_print_counters (run);

  /* Closing syncs what was replicated, and writes a checkpoint. */
  if (run->failure != NULL)
    {
      net_db_close (run->db, NULL);
      g_propagate_error (error, g_steal_pointer (&run->failure));
      return CLI_EXIT_FAILURE;
    }
  if (!net_db_close (run->db, error))
    return CLI_EXIT_FAILURE;

  return EXIT_SUCCESS;
}

static int
cmd_node_serve (CliInvocation  *inv,
                GError        **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(NetIdentity) identity = NULL;
  g_autoptr(NetDb) db = NULL;
  g_autoptr(NetNode) node = NULL;
  g_autoptr(GHashTable) fixed_keys = NULL;
  CliNode run = { 0 };
  int status;
  const char *listen = opt_listen != NULL ? opt_listen : CLI_NODE_DEFAULT_SERVE_LISTEN;

  for (guint i = 0; opt_allow != NULL && opt_allow[i] != NULL; i++)
    if (!cli_check_public_key (opt_allow[i], "--allow", error))
      return CLI_EXIT_FAILURE;
  for (guint i = 0; opt_allow_writer != NULL && opt_allow_writer[i] != NULL; i++)
    if (!cli_check_public_key (opt_allow_writer[i], "--allow-writer", error))
      return CLI_EXIT_FAILURE;

  if (!(identity = cli_load_identity (error)))
    return CLI_EXIT_FAILURE;

  if (!(node = net_node_new (identity, listen, error)))
    return CLI_EXIT_FAILURE;

  fixed_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run.fixed_keys = fixed_keys;
  run.node = node;
  for (guint i = 0; opt_allow != NULL && opt_allow[i] != NULL; i++)
    g_hash_table_insert (run.fixed_keys, cli_canonical_key (opt_allow[i], NULL),
                         GINT_TO_POINTER (NET_PEER_ROLE_READER + 1));
  for (guint i = 0; opt_allow_writer != NULL && opt_allow_writer[i] != NULL; i++)
    g_hash_table_replace (run.fixed_keys, cli_canonical_key (opt_allow_writer[i], NULL),
                          GINT_TO_POINTER (NET_PEER_ROLE_WRITER + 1));

  for (guint i = 0; opt_allow != NULL && opt_allow[i] != NULL; i++)
    if (!net_node_add_peer_with_role (node, opt_allow[i], NULL, NET_PEER_ROLE_READER, error))
      {
        g_prefix_error (error, "--allow %s: ", opt_allow[i]);
        return CLI_EXIT_FAILURE;
      }
  /* After the readers: a key given both ways is a writer. */
  for (guint i = 0; opt_allow_writer != NULL && opt_allow_writer[i] != NULL; i++)
    if (!net_node_add_peer_with_role (node, opt_allow_writer[i], NULL, NET_PEER_ROLE_WRITER, error))
      {
        g_prefix_error (error, "--allow-writer %s: ", opt_allow_writer[i]);
        return CLI_EXIT_FAILURE;
      }

  if (opt_allow_file != NULL && !cli_node_load_allow_file (&run, error))
    {
      g_clear_pointer (&run.file_keys, g_hash_table_unref);
      g_prefix_error (error, "--allow-file: ");
      return CLI_EXIT_FAILURE;
    }

  if (!(db = cli_node_open_db (error)))
    {
      g_clear_pointer (&run.file_keys, g_hash_table_unref);
      return CLI_EXIT_FAILURE;
    }

  if (!cli_node_use_state (node, db, error) ||
      !net_node_serve_db (node, db, error) || !net_node_start (node, error))
    {
      g_clear_pointer (&run.file_keys, g_hash_table_unref);
      net_db_close (db, NULL);
      return CLI_EXIT_FAILURE;
    }

  if ((opt_allow == NULL || opt_allow[0] == NULL) &&
      (opt_allow_writer == NULL || opt_allow_writer[0] == NULL) &&
      opt_allow_file == NULL)
    g_printerr ("netdb: no --allow KEY given: no follower can connect\n");

  run.loop = loop;
  run.node = node;
  run.db = db;

  status = cli_node_run (&run, error);
  g_clear_pointer (&run.file_keys, g_hash_table_unref);
  return status;
}

static int
cmd_node_follow (CliInvocation  *inv,
                 GError        **error)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(NetIdentity) identity = NULL;
  g_autoptr(NetDb) db = NULL;
  g_autoptr(NetNode) node = NULL;
  CliNode run = { 0 };
  const char *leader_address = inv->args[0];
  const char *leader_key = inv->args[1];
  const char *listen = opt_listen;
  gulong failed_id;
  int status;

  /* A follower resumes from its own logs after a restart. */
  if (opt_memory)
    {
      g_set_error_literal (error, CLI_USAGE_ERROR, 0,
                           "node follow needs a persistent database (--db DIR "
                           "or the default), not --memory");
      return CLI_EXIT_USAGE;
    }

  if (!cli_check_public_key (leader_key, "leader KEY", error))
    return CLI_EXIT_FAILURE;

  if (listen == NULL)
    listen = leader_address[0] == '[' ? CLI_NODE_DEFAULT_FOLLOW_LISTEN6
                                      : CLI_NODE_DEFAULT_FOLLOW_LISTEN;

  if (!(identity = cli_load_identity (error)))
    return CLI_EXIT_FAILURE;

  if (!(node = net_node_new (identity, listen, error)))
    return CLI_EXIT_FAILURE;

  if (!net_node_add_peer (node, leader_key, leader_address, error))
    return CLI_EXIT_FAILURE;

  if (!(db = cli_node_open_db (error)))
    return CLI_EXIT_FAILURE;

  failed_id = g_signal_connect (db, "forward-failed",
                                G_CALLBACK (cli_node_forward_failed_cb), &run);

  if (!cli_node_use_state (node, db, error) ||
      !net_node_follow_db (node, db, leader_key, opt_forward_writes, error) ||
      !net_node_start (node, error))
    {
      g_signal_handler_disconnect (db, failed_id);
      net_db_close (db, NULL);
      return CLI_EXIT_FAILURE;
    }

  run.loop = loop;
  run.node = node;
  run.db = db;
  run.leader_key = leader_key;
  run.leader_address = leader_address;

  status = cli_node_run (&run, error);
  g_signal_handler_disconnect (db, failed_id);

  return status;
}

/* ------------------------------------------------------------------ */
/* Command table                                                       */
/* ------------------------------------------------------------------ */

#define NODE_RUN_DESCRIPTION \
  "Prints “listening on ADDR as KEY” (with --json, {\"listening\", \"public_key\"})\n" \
  "once the node runs, then runs until SIGINT or SIGTERM (exit status 0).\n" \
  "Peers going up and down are reported on standard error; the node's\n" \
  "counters are printed on SIGUSR1 and at exit (with --json, one\n" \
  "{\"counters\": {…}} object).  The database stays locked for writing while\n" \
  "the node runs; get, list, count and watch still work on it, read-only,\n" \
  "and the commands that change it send their change to the node (through\n" \
  "DIR/node.sock), which applies it, or as a follower forwards it or refuses it."

const CliCommand cli_node_commands[] = {
  { "keygen", NULL, "Create the node's identity key file and print its public key",
    "The key file is written with mode 0600; an existing one is only\n"
    "replaced with --force.  With --json, prints {\"public_key\", \"origin\",\n"
    "\"path\"}.",
    NULL, node_keygen_entries, 0, 0, cmd_node_keygen },
  { "id", NULL, "Print the node's public key",
    "This is the KEY that peers pass to --allow and to node follow.  With\n"
    "--json, prints {\"public_key\", \"origin\", \"path\"}, the origin as 16\n"
    "hex digits.  A key file readable by others is refused.",
    NULL, node_id_entries, 0, 0, cmd_node_id },
  { "serve", NULL, "Serve the database to followers (the replication leader)",
    "Only peers whose public key is given with --allow (readers: they may\n"
    "follow) or --allow-writer (writers: they may also forward writes, each\n"
    "under its own origin) may connect; a refused forward is reported by the\n"
    "follower as “netdb: forward failed: …”.  --allow-file FILE lists more\n"
    "peers, one “KEY”, “reader KEY” or “writer KEY” a line (# starts a\n"
    "comment), and is re-read on SIGHUP: a new follower needs no restart.\n"
    "A node whose key is not admitted is reported once a minute as “netdb:\n"
    "refused a handshake from KEY at ADDR: …”.\n"
    NODE_RUN_DESCRIPTION,
    NULL, node_serve_entries, 0, 0, cmd_node_serve },
  { "follow", "ADDR KEY", "Replicate the database of the leader at ADDR with public key KEY",
    "The database (--db DIR or the default; not --memory) becomes a copy of\n"
    "the leader's: the follower pulls every event it lacks, resumes from its\n"
    "own logs after a restart of either side, and refuses local mutations\n"
    "unless --forward-writes is given, in which case they are sent to the\n"
    "leader (a failure is reported as “netdb: forward failed: …”).  The\n"
    "leader must list this node's key (see node id) with --allow, or with\n"
    "--allow-writer when this node forwards writes; when the leader has not\n"
    "answered after 10 s, a line says the leader is not answering this\n"
    "node's handshake and what to check.\n"
    NODE_RUN_DESCRIPTION,
    NULL, node_follow_entries, 2, 2, cmd_node_follow },
  { NULL }
};
