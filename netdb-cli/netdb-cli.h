/* netdb-cli.h: what the parts of the `netdb` command share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include <netdb/netdb.h>

G_BEGIN_DECLS

#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE   2

/* Usage errors exit with status 2 and a hint to --help. */
#define CLI_USAGE_ERROR (cli_usage_error_quark ())
GQuark cli_usage_error_quark (void);

typedef struct _CliCommand CliCommand;

/* One run of a leaf command. */
typedef struct
{
  const CliCommand  *command;
  const char        *path;   /* "netdb log tail", for messages */
  char             **args;   /* positional arguments */
  guint              n_args;
} CliInvocation;

/* Returns the exit status; sets @error (and returns non-zero) on failure. */
typedef int (*CliCommandFunc) (CliInvocation  *inv,
                               GError        **error);

struct _CliCommand
{
  const char          *name;
  const char          *parameters;  /* positional arguments, for --help */
  const char          *summary;
  const char          *description; /* optional, shown after the options */
  const CliCommand    *subcommands; /* NULL-terminated; NULL for a leaf */
  const GOptionEntry  *options;     /* leaf only; may be NULL */
  guint                min_args;
  guint                max_args;    /* G_MAXUINT: unlimited */
  CliCommandFunc       run;         /* leaf only */
};

typedef enum
{
  CLI_OPEN_WRITE,
  CLI_OPEN_READ,
} CliOpenMode;

/* Global options, accepted at every level. */
extern char     *opt_db;
extern gboolean  opt_memory;
extern gboolean  opt_json;

/* Flush after every result, so that a reader of a pipe sees each event as
 * soon as it happens (set while following). */
extern gboolean  cli_flush_each;

char     *cli_get_db_dir     (void);
gboolean  cli_ensure_dir     (const char    *dir,
                              GError       **error);
void      cli_print_json     (JsonNode      *node);
char     *cli_escape_payload (const guint8  *data,
                              gsize          len);
guint64   cli_parse_seq      (const char    *text,
                              const char    *what,
                              GError       **error);

/* netdb-models.c: tasks, memories and snapshot commands */
extern const CliCommand cli_tasks_commands[];
extern const CliCommand cli_memories_commands[];
extern const CliCommand cli_snapshot_commands[];

void      cli_models_cleanup (void);

/* Prints @n_rows rows of @n cells (@cells, row after row) in aligned
 * columns under @headers; the last column is not padded. */
void      cli_print_aligned  (const char * const *headers,
                              const char * const *cells,
                              guint               n_rows,
                              guint               n);

/* Opens the database of the global options: read-only (creating an empty
 * one on first use) or for writing. */
NetDb    *cli_open_db        (CliOpenMode    mode,
                              NetDbModels    models,
                              GError       **error);

/*
 * `tasks watch`, `memories watch` and `records watch`: prints the model's
 * rows, then every change (one line per row and fold dispatch), until
 * SIGINT or SIGTERM.  The view says how a row prints: as JSON (transfer
 * full), as its human cells (a new GStrv), and the first rows' table.
 */
typedef struct
{
  JsonNode *(*to_json)     (gpointer   data,
                            GObject   *item);
  char    **(*row)         (gpointer   data,
                            GObject   *item);
  void      (*print_table) (gpointer   data,
                            GPtrArray *items);
  gpointer    data;
} CliWatchView;

void      cli_watch_run      (const CliWatchView *view,
                              NetQueryModel      *model);

/* netdb-records.c: collections and records commands */
extern const CliCommand cli_records_commands[];

int       cli_cmd_collections (CliInvocation  *inv,
                               GError        **error);

void      cli_records_cleanup (void);

/* netdb-node.c: node commands */
extern const CliCommand cli_node_commands[];

void      cli_node_cleanup   (void);

G_END_DECLS
