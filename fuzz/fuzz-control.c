/* fuzz-control.c: libFuzzer target for the control socket's parsers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is one line as a `netdb` command would send it to a running
 * node (netdb-cli/netdb-control.c): cli_mutation_parse() either fails with
 * a NET_ERROR, or gives a mutation with a known operation and an id > 0
 * that writes back to a line which parses to the same mutation.  The same
 * input as a node's answer: cli_control_parse_reply() gives a seq or an
 * error.  Nothing may crash, hang, leak or emit a critical.
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <string.h>

#include "netdb-control.h"

static void
check_same (const CliMutation *a,
            const CliMutation *b)
{
  g_assert (a->op == b->op);
  g_assert (a->id == b->id);
  g_assert (g_strcmp0 (a->text, b->text) == 0);
  g_assert (g_strcmp0 (a->source, b->source) == 0);
  g_assert ((a->tags == NULL) == (b->tags == NULL));
  if (a->tags != NULL)
    g_assert (g_strv_equal ((const char * const *) a->tags, (const char * const *) b->tags));
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (TRUE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *line = g_strndup ((const char *) data, size);
  g_auto(CliMutation) mutation = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 seq = 0;

  if (cli_mutation_parse (line, &mutation, &error))
    {
      g_auto(CliMutation) again = { 0 };
      g_autofree char *written = NULL;

      g_assert (error == NULL);
      g_assert (mutation.id > 0);
      g_assert ((guint) mutation.op <= CLI_MUTATION_MEMORY_DELETE);
      written = cli_mutation_to_line (&mutation);
      g_assert (written != NULL && strchr (written, '\n') == NULL);
      if (!cli_mutation_parse (written, &again, NULL))
        g_error ("a parsed request does not parse once written: %s", written);
      check_same (&mutation, &again);
    }
  else
    {
      /* json-glib's own errors for what is not JSON, ours for the rest. */
      g_assert (error != NULL);
      g_clear_error (&error);
    }

  if (!cli_control_parse_reply (line, &seq, &error))
    g_assert (error != NULL);
  return 0;
}
