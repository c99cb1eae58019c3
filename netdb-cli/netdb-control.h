/* netdb-control.h: mutations, applied here or by the node holding the db
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "netdb-cli.h"

G_BEGIN_DECLS

typedef enum
{
  CLI_MUTATION_TASK_ADD,
  CLI_MUTATION_TASK_RENAME,
  CLI_MUTATION_TASK_COMPLETE,
  CLI_MUTATION_TASK_DELETE,
  CLI_MUTATION_MEMORY_STORE,
  CLI_MUTATION_MEMORY_RETAG,
  CLI_MUTATION_MEMORY_PIN,
  CLI_MUTATION_MEMORY_UNPIN,
  CLI_MUTATION_MEMORY_DELETE,
} CliMutationOp;

/* One mutation of a `netdb tasks|memories` command. */
typedef struct
{
  CliMutationOp   op;
  guint64         id;
  char           *text;     /* a task's title, a memory's content */
  char          **tags;     /* store, retag */
  char           *source;   /* store */
} CliMutation;

void         cli_mutation_clear      (CliMutation        *mutation);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliMutation, cli_mutation_clear)

/* "task" or "memory", and what was done: "added", "pinned", … */
const char  *cli_mutation_noun       (const CliMutation  *mutation);
const char  *cli_mutation_done       (const CliMutation  *mutation);
NetDbModels  cli_mutation_model      (const CliMutation  *mutation);

/* Applies @mutation to @db: the seq of its event; 0 with @error set on
 * failure (NET_ERROR_NOT_FOUND for a change of a missing item); 0 without
 * an error when a follower queued it for its leader. */
/* The request line of a mutation (JSON, no newline), and back: what the
 * node reads from its socket (fuzz/fuzz-control.c). */
char        *cli_mutation_to_line    (const CliMutation  *mutation);
gboolean     cli_mutation_parse      (const char         *line,
                                      CliMutation        *mutation,
                                      GError            **error);
/* A node's answer: the seq, or FALSE with the error it reports (or
 * %NET_ERROR_PROTOCOL for anything else). */
gboolean     cli_control_parse_reply (const char         *line,
                                      guint64            *out_seq,
                                      GError            **error);

guint64      cli_mutation_apply      (const CliMutation  *mutation,
                                      NetDb              *db,
                                      GError            **error);

/* The control socket of a running `netdb node serve|follow`: DIR/node.sock,
 * mode 0600, through which the other `netdb` processes apply their
 * mutations to the database the node holds locked. */
#define CLI_CONTROL_SOCKET_NAME "node.sock"

typedef struct _CliControl CliControl;

/* Listens on the control socket of @dir, applying what it receives to
 * @db.  A stale socket left by a killed node is replaced. */
CliControl  *cli_control_new         (const char         *dir,
                                      NetDb              *db,
                                      GError            **error);
/* Stops listening and removes the socket. */
void         cli_control_free        (CliControl         *control);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliControl, cli_control_free)

typedef enum
{
  CLI_CONTROL_NO_NODE,   /* nothing listens on the control socket */
  CLI_CONTROL_APPLIED,   /* *out_seq is the seq; 0: queued for the leader */
  CLI_CONTROL_FAILED,    /* @error says why */
} CliControlResult;

/* Sends @mutation to the node holding the database in @dir. */
CliControlResult cli_control_send    (const char         *dir,
                                      const CliMutation  *mutation,
                                      guint64            *out_seq,
                                      GError            **error);

G_END_DECLS
