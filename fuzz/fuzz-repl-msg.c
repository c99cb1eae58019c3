/* fuzz-repl-msg.c: libFuzzer target for the replication message decoders
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A leader (an in-memory db holding a few tasks and memories, and a
 * collection) and a
 * follower (a persistent db in a scratch directory, forwarding writes)
 * behind an in-memory link that accepts every message and delivers none.
 * The input's first byte picks who receives the rest as one channel
 * message from its peer (docs/net-protocol.md, section 4):
 * _net_repl_receive() decodes it, checks every length and answers or
 * appends as the protocol says.  Nothing may crash, hang, leak or emit a
 * warning or a critical; what does not decode is counted.
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-repl-private.h"

#define MAX_MESSAGE (1400 - 32)

typedef struct
{
  NetReplLink link;   /* first */
  guint8      key[32];
  guint64     sent;
} FakeNode;

static FakeNode leader_node, follower_node;
static NetDb *leader_db, *follower_db;
static NetRepl *leader, *follower;

static gboolean
fake_send (NetReplLink  *link,
           gpointer      peer,
           const guint8 *message,
           gsize         len)
{
  g_assert (len > 0 && len <= MAX_MESSAGE);
  ((FakeNode *) link)->sent += len;
  return TRUE;
}

static const guint8 *
fake_peer_public_key (NetReplLink *link,
                      gpointer     peer)
{
  return ((FakeNode *) peer)->key;
}

static gboolean
fake_peer_is_up (NetReplLink *link,
                 gpointer     peer)
{
  return TRUE;
}

static void
fake_follow_failed (NetReplLink  *link,
                    const GError *error)
{
  /* A follower whose leader says impossible things stops: expected. */
}

static void
fake_init (FakeNode *n,
           guint8    b)
{
  n->link.send = fake_send;
  n->link.peer_public_key = fake_peer_public_key;
  n->link.peer_is_up = fake_peer_is_up;
  n->link.follow_failed = fake_follow_failed;
  n->link.max_message = MAX_MESSAGE;
  memset (n->key, b, sizeof n->key);
}

static void
setup (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("fuzz-repl-msg-XXXXXX", &error);
  g_autofree char *path = NULL;

  g_assert_no_error (error);
  path = g_build_filename (dir, "follower", NULL);
  fake_init (&leader_node, 1);
  fake_init (&follower_node, 2);

  leader_db = net_db_new (NULL, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);
  for (guint i = 1; i <= 40; i++)
    {
      g_autofree char *title = g_strdup_printf ("task %u", i);
      const char *tags[] = { "t", NULL };

      net_db_tasks_create (net_db_get_tasks (leader_db), i, title, i, &error);
      g_assert_no_error (error);
      net_db_memories_store (net_db_get_memories (leader_db), i, title, tags, "fuzz", i, &error);
      g_assert_no_error (error);
    }
  /* A collection, so that LOGS_REQUEST and LOGS have a log to name. */
  net_db_open_collection (leader_db, "fuzzy", NET_TYPE_RECORD, &error);
  g_assert_no_error (error);
  follower_db = net_db_new (path, NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES, &error);
  g_assert_no_error (error);

  leader = _net_repl_new_leader (leader_db, &leader_node.link, g_main_context_default (), &error);
  g_assert_no_error (error);
  follower = _net_repl_new_follower (follower_db, &follower_node.link, &leader_node, TRUE,
                                     g_main_context_default (), &error);
  g_assert_no_error (error);
  _net_repl_peer_up (leader, &follower_node);
  _net_repl_peer_up (follower, &leader_node);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (TRUE);
  setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const NetReplCounters *k;
  guint64 malformed;
  gboolean ok;

  if (size < 2 || size - 1 > MAX_MESSAGE)
    return 0;

  if (data[0] & 1)
    {
      k = _net_repl_get_counters (follower);
      malformed = k->messages_malformed;
      ok = _net_repl_receive (follower, &leader_node, data + 1, size - 1);
      _net_repl_receive_done (follower);
    }
  else
    {
      k = _net_repl_get_counters (leader);
      malformed = k->messages_malformed;
      ok = _net_repl_receive (leader, &follower_node, data + 1, size - 1);
    }
  /* What does not decode is counted, and only that. */
  g_assert (ok || k->messages_malformed == malformed + 1);
  g_assert (!ok || k->messages_malformed == malformed);

  /* Let the answers' timers and the follower's appends run a little. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
