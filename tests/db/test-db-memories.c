/* test-db-memories.c: the memories model, its fold, its indexes and queries
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-items-private.h"
#include "net-db-memories-private.h"
#include "net-event-meta-private.h"
#include "net-table-private.h"

typedef struct
{
  char          *dir;   /* NULL: in memory */
  NetRedex      *redex;
  NetDbMemories *memories;
} Fixture;

static void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *entry;

  if (dir != NULL)
    while ((entry = g_dir_read_name (dir)))
      {
        g_autofree char *child = g_build_filename (path, entry, NULL);

        rm_rf (child);
      }
  g_remove (path);
}

static void
open_model (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->redex = net_redex_new (f->dir, &error);
  g_assert_no_error (error);
  f->memories = net_db_memories_new (f->redex, NULL, 7, &error);
  g_assert_no_error (error);
}

static void
close_model (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_db_memories_close (f->memories, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (f->memories);
  f->memories = NULL;
  g_assert_true (net_redex_close (f->redex, &error));
  g_assert_finalize_object (f->redex);
  f->redex = NULL;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  if (GPOINTER_TO_INT (data))
    f->dir = g_dir_make_tmp ("netdb-memories-XXXXXX", NULL);
  open_model (f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (f->memories != NULL)
    close_model (f);
  if (f->dir != NULL)
    rm_rf (f->dir);
  g_free (f->dir);
}

/* Lets the fold's dispatch run (deliveries are never synchronous). */
static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
ids (GPtrArray *items)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < items->len; i++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i ? "," : "",
                            net_memory_get_id (g_ptr_array_index (items, i)));
  return g_string_free (s, FALSE);
}

static void
assert_ids (NetDbMemories     *memories,
            NetMemoriesFilter *filter,
            const char        *expected)
{
  g_autoptr(GPtrArray) items = net_db_memories_find_many (memories, filter);
  g_autofree char *got = ids (items);

  g_assert_cmpstr (got, ==, expected);
}

static char *
joined_tags (NetMemory *memory)
{
  return g_strjoinv (",", (char **) net_memory_get_tags (memory));
}

static void
assert_tags (NetMemory  *memory,
             const char *expected)
{
  g_autofree char *got = joined_tags (memory);

  g_assert_cmpstr (got, ==, expected);
}

static guint64
store (NetDbMemories *memories,
       guint64        id,
       const char    *content,
       const char    *tags,   /* comma-separated, or NULL */
       const char    *source,
       gint64         ts)
{
  g_auto(GStrv) tagv = tags != NULL ? g_strsplit (tags, ",", -1) : NULL;
  g_autoptr(GError) error = NULL;
  guint64 seq;

  seq = net_db_memories_store (memories, id, content, (const char * const *) tagv, source, ts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, >, 0);
  return seq;
}

static guint64
retag (NetDbMemories *memories,
       guint64        id,
       const char    *tags,
       gint64         ts)
{
  g_auto(GStrv) tagv = tags != NULL ? g_strsplit (tags, ",", -1) : NULL;
  g_autoptr(GError) error = NULL;
  guint64 seq;

  seq = net_db_memories_retag (memories, id, (const char * const *) tagv, ts, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, >, 0);
  return seq;
}

static void
test_basic (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetMemory) first = NULL;
  g_autoptr(NetMemory) second = NULL;
  guint64 seq;

  g_assert_cmpuint (store (f->memories, 1, "The deploy key rotates on Mondays", "ops,keys", "alice", 1000), ==, 1);
  g_assert_cmpuint (store (f->memories, 2, "Lunch at noon", NULL, NULL, 2000), ==, 2);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 2, 3000, &error), ==, 3);
  g_assert_no_error (error);

  /* Read-your-writes: no main loop iteration was needed. */
  g_assert_cmpuint (net_db_memories_count (f->memories, NULL), ==, 2);
  g_assert_true (net_db_memories_exists (f->memories, NULL));
  first = net_db_memories_get (f->memories, 1);
  second = net_db_memories_get (f->memories, 2);
  g_assert_nonnull (first);
  g_assert_cmpuint (net_memory_get_id (first), ==, 1);
  g_assert_cmpstr (net_memory_get_content (first), ==, "The deploy key rotates on Mondays");
  assert_tags (first, "ops,keys");
  g_assert_cmpstr (net_memory_get_source (first), ==, "alice");
  g_assert_cmpint (net_memory_get_created_at (first), ==, 1000);
  g_assert_cmpint (net_memory_get_updated_at (first), ==, 1000);
  g_assert_false (net_memory_get_pinned (first));
  assert_tags (second, "");
  g_assert_null (net_memory_get_source (second));
  g_assert_true (net_memory_get_pinned (second));
  g_assert_cmpint (net_memory_get_created_at (second), ==, 2000);
  g_assert_cmpint (net_memory_get_updated_at (second), ==, 3000);

  /* Items are unique: every query returns the same object. */
  {
    g_autoptr(GPtrArray) all = net_db_memories_find_many (f->memories, NULL);
    g_autoptr(NetMemory) top = net_db_memories_find_first (f->memories, NULL);

    g_assert_cmpuint (all->len, ==, 2);
    g_assert_true (g_ptr_array_index (all, 0) == (gpointer) first);
    g_assert_true (g_ptr_array_index (all, 1) == (gpointer) second);
    g_assert_true (top == first);
  }

  /* Unpin moves updated-at too. */
  g_assert_cmpuint (net_db_memories_unpin (f->memories, 2, 4000, &error), ==, 4);
  g_assert_false (net_memory_get_pinned (second));
  g_assert_cmpint (net_memory_get_updated_at (second), ==, 4000);

  seq = net_db_memories_delete (f->memories, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, 5);
  assert_ids (f->memories, NULL, "2");
  g_assert_null (net_db_memories_get (f->memories, 1));
  /* A deleted item keeps its last values. */
  g_assert_cmpstr (net_memory_get_content (first), ==, "The deploy key rotates on Mondays");
  assert_tags (first, "ops,keys");

  /* Its tag and source are gone from the indexes. */
  {
    g_autoptr(NetMemoriesFilter) ops = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "ops", NULL);
    g_autoptr(NetMemoriesFilter) alice = g_object_new (NET_TYPE_MEMORIES_FILTER, "source", "alice", NULL);

    g_assert_cmpuint (net_db_memories_count (f->memories, ops), ==, 0);
    g_assert_false (net_db_memories_exists (f->memories, alice));
    assert_ids (f->memories, ops, "");
  }

  drain ();
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 5);
  g_assert_cmpuint (net_db_memories_get_fold_errors (f->memories), ==, 0);
  g_assert_cmpuint (net_db_memories_get_origin (f->memories), ==, 7);
}

/* The scenario. */
static void
test_scenario (Fixture       *f,
               gconstpointer  data)
{
  const char *design_todo[] = { "design", "todo", NULL };
  const char *work_meetings[] = { "work", "meetings", NULL };
  g_autoptr(NetMemoriesFilter) filter = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(NetMemory) first = NULL;

  store (f->memories, 1, "Fire in the datacenter", "work,notes", "alice", 100);
  store (f->memories, 2, "Buy milk and eggs", "personal,todo", "alice", 200);
  store (f->memories, 3, "Sketch the new logo", "work,design", "bob", 300);
  retag (f->memories, 1, "work,meetings", 400);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 3, 500, &error), ==, 5);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 1, 600, &error), ==, 6);
  g_assert_no_error (error);

  first = net_db_memories_get (f->memories, 1);
  assert_tags (first, "work,meetings");
  g_assert_cmpint (net_memory_get_updated_at (first), ==, 600);
  g_assert_cmpint (net_memory_get_created_at (first), ==, 100);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "work", NULL);
  assert_ids (f->memories, filter, "1,3");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 2);
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "any-tags", design_todo, NULL);
  assert_ids (f->memories, filter, "2,3");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 2);
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "all-tags", work_meetings, NULL);
  assert_ids (f->memories, filter, "1");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  assert_ids (f->memories, filter, "1,3");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 2);
  net_memories_filter_set_pinned (filter, FALSE);
  assert_ids (f->memories, filter, "2");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "source", "bob", NULL);
  assert_ids (f->memories, filter, "3");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  net_memories_filter_set_source (filter, "alice");
  assert_ids (f->memories, filter, "1,2");
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "content-contains", "DATACENTER", NULL);
  assert_ids (f->memories, filter, "1");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  net_memories_filter_set_content_contains (filter, "unicorn");
  assert_ids (f->memories, filter, "");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 0);
  g_assert_false (net_db_memories_exists (f->memories, filter));
  g_clear_object (&filter);

  /* The retag dropped "notes" from the index. */
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "notes", NULL);
  assert_ids (f->memories, filter, "");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 0);
  g_clear_object (&filter);

  /* Constraints combine: work, pinned, from alice, newest update first. */
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER,
                         "tag", "work", "pinned", TRUE, "source", "alice", NULL);
  assert_ids (f->memories, filter, "1");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  g_clear_object (&filter);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER,
                         "any-tags", design_todo, "order-by", NET_ORDER_BY_UPDATED_DESC, NULL);
  assert_ids (f->memories, filter, "3,2");
  g_clear_object (&filter);
}

static void
test_persistence (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  g_autoptr(NetMemoriesFilter) work = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "work", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetMemory) memory = NULL;
  guint64 seq;

  store (f->memories, 10, "persist me", "work,notes", "alice", 100);
  store (f->memories, 11, "and me", "home", NULL, 200);
  net_db_memories_pin (f->memories, 10, 300, &error);
  retag (f->memories, 11, "work,later", 400);
  g_assert_no_error (error);

  close_model (f);
  open_model (f);

  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 4);
  g_assert_cmpuint (net_db_memories_count (f->memories, NULL), ==, 2);
  memory = net_db_memories_get (f->memories, 10);
  g_assert_nonnull (memory);
  g_assert_cmpstr (net_memory_get_content (memory), ==, "persist me");
  assert_tags (memory, "work,notes");
  g_assert_cmpstr (net_memory_get_source (memory), ==, "alice");
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_cmpint (net_memory_get_created_at (memory), ==, 100);
  g_assert_cmpint (net_memory_get_updated_at (memory), ==, 300);
  g_clear_object (&memory);
  memory = net_db_memories_get (f->memories, 11);
  assert_tags (memory, "work,later");
  g_assert_null (net_memory_get_source (memory));
  g_assert_false (net_memory_get_pinned (memory));
  assert_ids (f->memories, pinned, "10");
  assert_ids (f->memories, work, "10,11");

  /* The per-origin counter continues too. */
  g_assert_cmpuint (_net_db_memories_get_origin_app_seq (f->memories, 7), ==, 4);
  seq = store (f->memories, 12, "next", NULL, NULL, 500);
  g_assert_cmpuint (seq, ==, 5);
  drain ();
  g_assert_cmpuint (_net_db_memories_get_origin_app_seq (f->memories, 7), ==, 5);
}

/* Storing an existing id replaces content, tags and source but keeps the
 * pinned state and created-at. */
static void
test_store_again (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(NetMemoriesFilter) filter = NULL;
  g_autoptr(NetMemory) memory = NULL;

  store (f->memories, 1, "one", "a,b", "alice", 100);
  net_db_memories_pin (f->memories, 1, 200, NULL);
  memory = net_db_memories_get (f->memories, 1);

  store (f->memories, 1, "uno", "c,c,b", NULL, 300);
  g_assert_true (memory == net_db_memories_find_first (f->memories, NULL));
  g_object_unref (memory); /* find_first's reference */
  g_assert_cmpstr (net_memory_get_content (memory), ==, "uno");
  /* A repeated tag is kept once, first occurrence first. */
  assert_tags (memory, "c,b");
  g_assert_null (net_memory_get_source (memory));
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_cmpint (net_memory_get_created_at (memory), ==, 100);
  g_assert_cmpint (net_memory_get_updated_at (memory), ==, 300);
  g_assert_cmpuint (net_db_memories_count (f->memories, NULL), ==, 1);

  /* The indexes followed. */
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "a", NULL);
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 0);
  net_memories_filter_set_tag (filter, "c");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  g_clear_object (&filter);
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "source", "alice", NULL);
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 0);
  /* "" is the memories without a source. */
  net_memories_filter_set_source (filter, "");
  assert_ids (f->memories, filter, "1");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
  g_clear_object (&filter);
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  assert_ids (f->memories, filter, "1");

  /* Retag to nothing. */
  retag (f->memories, 1, NULL, 400);
  assert_tags (memory, "");
  g_assert_cmpint (net_memory_get_updated_at (memory), ==, 400);
}

static void
test_unknown_ids (Fixture       *f,
                  gconstpointer  data)
{
  const char *tags[] = { "x", NULL };
  const char *empty[] = { "x", "", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(NetMemoriesFilter) x = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "x", NULL);
  g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);

  /* Issue 14: NOT_FOUND on the db that makes the call, nothing logged;
   * id 0 and an empty tag are invalid. */
  store (f->memories, 1, "one", NULL, NULL, 100);
  g_assert_cmpuint (net_db_memories_retag (f->memories, 99, tags, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 99, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_unpin (f->memories, 98, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_delete (f->memories, 99, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (f->memories, 0, "zero", NULL, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (f->memories, 2, "two", empty, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_retag (f->memories, 1, empty, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_ids (f->memories, NULL, "1");
  g_assert_null (net_db_memories_get (f->memories, 99));
  g_assert_cmpuint (net_db_memories_count (f->memories, x), ==, 0);
  g_assert_cmpuint (net_db_memories_count (f->memories, pinned), ==, 0);
  drain ();
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 1);
  g_assert_cmpuint (net_db_memories_get_fold_errors (f->memories), ==, 0);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 1, 0, &error), ==, 2);
  g_assert_no_error (error);
}

static void
append_raw (NetRedex   *redex,
            const void *data,
            gsize       len)
{
  g_autoptr(NetRedexFile) file = net_redex_open_file (redex, "memories", NULL, NULL);
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_redex_file_append (file, bytes, &error), >, 0);
  g_assert_no_error (error);
}

static void
append_event (NetRedex     *redex,
              guint8        dispatch,
              guint64       app_seq,
              const guint8 *payload,
              gsize         len)
{
  NetEventMeta meta = { dispatch, 0, 5, app_seq };
  g_autoptr(GBytes) event = net_event_encode (&meta, payload, len);

  append_raw (redex, g_bytes_get_data (event, NULL), g_bytes_get_size (event));
}

static void
test_corrupt_event (Fixture       *f,
                    gconstpointer  data)
{
  const guint8 truncated[] = { 1, 0x08 };
  const guint8 pin_1[] = { 1, 0x08, 0x01 };
  const guint8 no_content[] = { 1, 0x08, 0x05 };                 /* stored: id 5 only */
  const guint8 bad_tag[] = { 1, 0x08, 0x01, 0x22, 0x01, 0xff };  /* retag 1 with "\xff" */
  const guint8 bad_ts[] = { 1, 0x08, 0x01, 0x18, 0x02 };         /* ts as a plain varint */
  g_autoptr(NetMemory) memory = NULL;
  g_autoptr(GError) error = NULL;

  store (f->memories, 1, "before", "a", NULL, 100);

  /* Garbage, a truncated payload, a task event, a stored without its
   * content, a tag that is not UTF-8, a timestamp of the wrong type: each
   * skipped and counted. */
  append_raw (f->redex, "not an event", 12);
  append_event (f->redex, NET_DISPATCH_MEMORY_STORED, 1, truncated, sizeof truncated);
  append_event (f->redex, NET_DISPATCH_TASK_COMPLETED, 2, pin_1, sizeof pin_1);
  append_event (f->redex, NET_DISPATCH_MEMORY_STORED, 3, no_content, sizeof no_content);
  append_event (f->redex, NET_DISPATCH_MEMORY_RETAGGED, 4, bad_tag, sizeof bad_tag);
  append_event (f->redex, NET_DISPATCH_MEMORY_PINNED, 5, bad_ts, sizeof bad_ts);
  /* And one good event written by hand: pin 1. */
  append_event (f->redex, NET_DISPATCH_MEMORY_PINNED, 6, pin_1, sizeof pin_1);

  store (f->memories, 2, "after", NULL, NULL, 200);
  g_assert_no_error (error);
  drain ();

  assert_ids (f->memories, NULL, "1,2");
  memory = net_db_memories_get (f->memories, 1);
  assert_tags (memory, "a");
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_cmpuint (net_db_memories_get_fold_errors (f->memories), ==, 6);
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 9);
  g_assert_cmpuint (_net_db_memories_get_origin_app_seq (f->memories, 5), ==, 6);
}

/* A raw stored event (origin 5): @id, @content (any bytes), @ts. */
static void
append_stored (NetRedex   *redex,
               guint64     app_seq,
               guint64     id,
               const char *content,
               gint64      ts)
{
  guint8 payload[128];
  gsize n = 0, len = strlen (content);

  payload[n++] = NET_CODEC_VERSION;
  n += net_field_put_uint (payload + n, 1, id);
  n += net_field_put_bytes_head (payload + n, 2, len);
  memcpy (payload + n, content, len);
  n += len;
  n += net_field_put_int (payload + n, 3, ts);
  append_event (redex, NET_DISPATCH_MEMORY_STORED, app_seq, payload, n);
}

/* The apply of a store takes what the store encoded only for its own
 * payload: events the fold meets first (the log's, folded as the store
 * catches up) are decoded and checked, even when they are the same size
 * and differ in one byte. */
static void
test_own_event_catch_up (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(NetMemory) memory = NULL;

  /* Not folded yet when the stores append after them. */
  append_stored (f->redex, 1, 3, "x\xff", 100);
  store (f->memories, 3, "xy", NULL, NULL, 100);
  append_stored (f->redex, 2, 5, "ab", 200);
  store (f->memories, 6, "cd", NULL, NULL, 200);

  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 4);
  g_assert_cmpuint (net_db_memories_get_fold_errors (f->memories), ==, 1);
  assert_ids (f->memories, NULL, "3,5,6");
  memory = net_db_memories_get (f->memories, 3);
  g_assert_cmpstr (net_memory_get_content (memory), ==, "xy");
  g_clear_object (&memory);
  memory = net_db_memories_get (f->memories, 5);
  g_assert_cmpstr (net_memory_get_content (memory), ==, "ab");
  g_clear_object (&memory);
  memory = net_db_memories_get (f->memories, 6);
  g_assert_cmpstr (net_memory_get_content (memory), ==, "cd");
}

/* Each memory of @a equal in @b. */
static void
assert_same_memories (NetDbMemories *a,
                      NetDbMemories *b)
{
  g_autoptr(GPtrArray) all_a = net_db_memories_find_many (a, NULL);
  g_autoptr(GPtrArray) all_b = net_db_memories_find_many (b, NULL);

  g_assert_cmpuint (all_a->len, ==, all_b->len);
  for (guint i = 0; i < all_a->len; i++)
    {
      NetMemory *ma = g_ptr_array_index (all_a, i), *mb = g_ptr_array_index (all_b, i);
      g_autofree char *tags_a = joined_tags (ma);
      g_autofree char *tags_b = joined_tags (mb);

      g_assert_cmpuint (net_memory_get_id (ma), ==, net_memory_get_id (mb));
      g_assert_cmpstr (net_memory_get_content (ma), ==, net_memory_get_content (mb));
      g_assert_cmpstr (tags_a, ==, tags_b);
      g_assert_cmpstr (net_memory_get_source (ma), ==, net_memory_get_source (mb));
      g_assert_cmpint (net_memory_get_created_at (ma), ==, net_memory_get_created_at (mb));
      g_assert_cmpint (net_memory_get_updated_at (ma), ==, net_memory_get_updated_at (mb));
      g_assert_cmpint (net_memory_get_pinned (ma), ==, net_memory_get_pinned (mb));
    }
}

/* The state a store leaves (from what it encoded) is the state the fold
 * of its logged event makes, for payloads built on the stack or not and
 * for few or many tags, repeated ones too. */
static void
test_own_event_as_logged (Fixture       *f,
                          gconstpointer  data)
{
  const char *eight[] = { "a", "b", "c", "a", "d", "e", "f", "g", NULL };
  const char *twelve[] = { "t1", "t2", "t3", "t4", "t5", "t1", "t6", "t7", "t8", "t9", "t10", "t2", NULL };
  g_autofree char *long_text = g_strnfill (700, 'w');
  g_autoptr(NetDbMemories) other = NULL;
  g_autoptr(NetMemory) memory = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "one", eight, "src", 10, &error), >, 0);
  g_assert_cmpuint (net_db_memories_store (f->memories, 2, long_text, twelve, long_text, 20, &error), >, 0);
  g_assert_cmpuint (net_db_memories_store (f->memories, 3, "three", NULL, NULL, 30, &error), >, 0);
  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "une", twelve, NULL, 40, &error), >, 0);
  g_assert_cmpuint (net_db_memories_retag (f->memories, 3, eight, 50, &error), >, 0);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 2, 60, &error), >, 0);
  g_assert_cmpuint (net_db_memories_store (f->memories, 4, "four", NULL, NULL, 70, &error), >, 0);
  g_assert_cmpuint (net_db_memories_delete (f->memories, 4, &error), >, 0);
  g_assert_no_error (error);

  memory = net_db_memories_get (f->memories, 1);
  assert_tags (memory, "t1,t2,t3,t4,t5,t6,t7,t8,t9,t10");
  g_assert_null (net_memory_get_source (memory));
  g_clear_object (&memory);
  memory = net_db_memories_get (f->memories, 3);
  assert_tags (memory, "a,b,c,d,e,f,g");

  /* A second model folds the same log from its bytes. */
  other = net_db_memories_new (f->redex, NULL, 8, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_memories_get_fold_errors (other), ==, 0);
  assert_same_memories (f->memories, other);
  g_assert_true (net_db_memories_close (other, &error));
  g_assert_no_error (error);
}

static void
test_snapshot (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  g_autoptr(NetMemoriesFilter) b = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "b", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetMemory) memory = NULL;
  guint64 seq;

  empty = net_db_memories_snapshot (f->memories, &error);
  g_assert_no_error (error);

  store (f->memories, 1, "one", "a,b", "alice", 100);
  store (f->memories, 2, "two", "b", NULL, 200);
  net_db_memories_pin (f->memories, 2, 300, &error);
  g_assert_no_error (error);
  snap = net_db_memories_snapshot (f->memories, &error);
  g_assert_no_error (error);

  /* Restore on the same log: equal state, and the next store continues. */
  g_assert_true (net_db_memories_restore (f->memories, snap, &error));
  g_assert_no_error (error);
  assert_ids (f->memories, NULL, "1,2");
  assert_ids (f->memories, pinned, "2");
  assert_ids (f->memories, b, "1,2");
  memory = net_db_memories_get (f->memories, 1);
  assert_tags (memory, "a,b");
  g_assert_cmpstr (net_memory_get_source (memory), ==, "alice");
  g_clear_object (&memory);
  memory = net_db_memories_get (f->memories, 2);
  g_assert_null (net_memory_get_source (memory));
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_cmpint (net_memory_get_created_at (memory), ==, 200);
  g_assert_cmpint (net_memory_get_updated_at (memory), ==, 300);
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 3);
  seq = store (f->memories, 3, "three", "b", NULL, 400);
  g_assert_cmpuint (seq, ==, 4);
  assert_ids (f->memories, b, "1,2,3");

  /* A snapshot taken before event 4 replays it. */
  g_assert_true (net_db_memories_restore (f->memories, snap, &error));
  assert_ids (f->memories, NULL, "1,2,3");

  /* The snapshot of a fresh model is one at seq 0: replays everything. */
  g_assert_true (net_db_memories_restore (f->memories, empty, &error));
  g_assert_no_error (error);
  assert_ids (f->memories, NULL, "1,2,3");
  assert_ids (f->memories, pinned, "2");

  /* Garbage is refused, state untouched. */
  {
    g_autoptr(GBytes) junk = g_bytes_new_static ("\x01\x0f\xff", 3);
    g_autoptr(GBytes) version = g_bytes_new_static ("\x02", 1);

    g_assert_false (net_db_memories_restore (f->memories, junk, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
    g_clear_error (&error);
    g_assert_false (net_db_memories_restore (f->memories, version, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
    g_clear_error (&error);
    assert_ids (f->memories, NULL, "1,2,3");
  }

  /* So is every truncation of a real one. */
  {
    gsize len;
    const guint8 *bytes = g_bytes_get_data (snap, &len);

    for (gsize cut = 0; cut < len; cut++)
      {
        g_autoptr(GBytes) part = g_bytes_new (bytes, cut);

        if (net_db_memories_restore (f->memories, part, &error))
          continue; /* a cut between records is a valid, smaller snapshot */
        g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
        g_clear_error (&error);
      }
  }
}

/* @text as a bytes field, each \001 in it a NUL. */
static void
put_text (NetEncoder *enc,
          guint       field,
          const char *text)
{
  g_autofree char *copy = g_strdup (text);
  gsize len = strlen (copy);

  for (char *c = copy; *c; c++)
    if (*c == '\001')
      *c = '\0';
  net_encoder_put_bytes (enc, field, (const guint8 *) copy, len);
}

/* A memory record of the fields @order lists, as an item of @snap:
 * 'i' the id, 'c' the content, 'C' another content before it, 'B' a
 * content that is not UTF-8 before it, 'r' the
 * created time, 't' each tag of @tags (comma-separated), 's' the source,
 * 'S' another source before it, 'u' the updated time, 'p' pinned, 'x' an
 * unknown field.  A \001 in a text is written as a NUL. */
static void
put_memory_record (GByteArray *snap,
                   const char *order,
                   guint64     id,
                   const char *content,
                   const char *tags,
                   const char *source,
                   gint64      created,
                   gint64      updated,
                   guint64     pinned)
{
  g_autoptr(GByteArray) rec = g_byte_array_new ();
  g_autoptr(GByteArray) item = g_byte_array_new ();
  g_auto(GStrv) tagv = g_strsplit (tags, ",", -1);
  NetEncoder sub, enc;

  net_encoder_init (&sub, rec);
  for (const char *c = order; *c; c++)
    switch (*c)
      {
      case 'i': net_encoder_put_uint (&sub, 1, id); break;
      case 'c': put_text (&sub, 2, content); break;
      case 'C': net_encoder_put_string (&sub, 2, "not this content"); break;
      case 'B': net_encoder_put_string (&sub, 2, "bad \377 content"); break;
      case 'r': net_encoder_put_int (&sub, 3, created); break;
      case 't':
        for (guint k = 0; tagv[k] != NULL; k++)
          if (*tagv[k] != '\0')
            put_text (&sub, 4, tagv[k]);
        break;
      case 's': put_text (&sub, 5, source); break;
      case 'S': net_encoder_put_string (&sub, 5, "not this source"); break;
      case 'u': net_encoder_put_int (&sub, 6, updated); break;
      case 'p': net_encoder_put_uint (&sub, 7, pinned); break;
      case 'x': net_encoder_put_string (&sub, 15, "a newer writer's"); break;
      default: g_assert_not_reached ();
      }
  net_encoder_init (&enc, item);
  net_encoder_put_bytes (&enc, NET_SNAPSHOT_ITEM, rec->data, rec->len);
  g_byte_array_append (snap, item->data + 1, item->len - 1);
}

/* The records of a snapshot, however their fields come (the writer's
 * order, another, unknown fields, a text twice, a tag repeated, many
 * tags), restore to exactly their values and indexes; a bad one is
 * refused, the state left as it was. */
static void
test_snapshot_record_forms (Fixture       *f,
                            gconstpointer  data)
{
  static const struct {
    const char *order;
    guint64     id;
    const char *content;
    const char *tags;      /* as written */
    const char *expected;  /* as kept: each once, the first */
    const char *source;    /* NULL: none */
    gint64      created, updated;
    gboolean    pinned;
  } cases[] = {
    { "icrtsup", 1, "one", "a,b", "a,b", "alice", 100, 150, TRUE },
    { "pustrci", 2, "two", "b", "b", "bob", 200, 250, FALSE },
    { "icrtup", 3, "no source", "", "", NULL, 300, 350, FALSE },
    { "ixcrtsupx", 4, "unknown fields", "c", "c", "", -1, 1, TRUE },
    { "iCcrtSsup", 5, "the last content", "a", "a", "the last source", 500, 550, FALSE },
    { "icrtsup", 6, "a tag twice", "a,b,a,c,b", "a,b,c", "s", 600, 650, FALSE },
    { "icrtsup", 7, "nine tags", "t1,t2,t3,t4,t5,t6,t7,t8,t9", "t1,t2,t3,t4,t5,t6,t7,t8,t9", "s",
      G_MININT64, G_MAXINT64, TRUE },
    { "icrtsup", 8, "twenty tags, some twice",
      "u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12,u13,u14,u15,u16,u17,u18,u3,u19,u20,u1",
      "u1,u2,u3,u4,u5,u6,u7,u8,u9,u10,u11,u12,u13,u14,u15,u16,u17,u18,u19,u20", "s", 800, 850, FALSE },
    { "tctrtiup", 9, "tags thrice, around", "x,y", "x,y", NULL, 900, 950, FALSE },
    { "icrup", 10, "ünïcödé ✓", "", "", NULL, 1000, 1050, TRUE },
    /* Past 127 bytes (two-byte lengths), long texts, not all ASCII. */
    { "icrtsup", 11, "a content long enough that its length takes two bytes and the record "
                     "more than one hundred and twenty-seven: ünïcödé ✓ at the end",
      "a tag longer than eight bytes,x,a tag longer than eight bytes", "a tag longer than eight bytes,x",
      "a source longer than eight bytes", G_GINT64_CONSTANT (1796000000000000),
      G_GINT64_CONSTANT (-1796000000123456), TRUE },
    { "icrtsup", 12, "eight tags", "1,2,3,4,5,6,7,8", "1,2,3,4,5,6,7,8", "s", 1200, 1250, FALSE },
    /* The writer's fields, then the content again: the last one counts. */
    { "iCrtsupc", 13, "the content after the others", "a", "a", "s", 1300, 1350, FALSE },
  };
  g_autoptr(GByteArray) snap = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  NetEncoder enc;

  net_encoder_init (&enc, snap);
  net_encoder_put_uint (&enc, NET_SNAPSHOT_APPLIED_SEQ, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    put_memory_record (snap, cases[i].order, cases[i].id, cases[i].content, cases[i].tags,
                       cases[i].source != NULL ? cases[i].source : "",
                       cases[i].created, cases[i].updated, cases[i].pinned);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&snap));

  g_assert_true (net_db_memories_restore (f->memories, bytes, &error));
  g_assert_no_error (error);
  assert_ids (f->memories, NULL, "1,2,3,4,5,6,7,8,9,10,11,12,13");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(NetMemory) m = net_db_memories_get (f->memories, cases[i].id);
      g_autofree char *tags = NULL;

      g_assert_nonnull (m);
      g_assert_cmpstr (net_memory_get_content (m), ==, cases[i].content);
      tags = g_strjoinv (",", (char **) net_memory_get_tags (m));
      g_assert_cmpstr (tags, ==, cases[i].expected);
      g_assert_cmpstr (net_memory_get_source (m), ==, cases[i].source);
      g_assert_cmpint (net_memory_get_created_at (m), ==, cases[i].created);
      g_assert_cmpint (net_memory_get_updated_at (m), ==, cases[i].updated);
      g_assert_cmpint (net_memory_get_pinned (m), ==, cases[i].pinned);
    }

  /* The indexes of tags, sources and pins hold them too. */
  {
    g_autoptr(NetMemoriesFilter) a = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "a", NULL);
    g_autoptr(NetMemoriesFilter) u20 = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "u20", NULL);
    g_autoptr(NetMemoriesFilter) t9 = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "t9", NULL);
    g_autoptr(NetMemoriesFilter) last = g_object_new (NET_TYPE_MEMORIES_FILTER,
                                                      "source", "the last source", NULL);
    g_autoptr(NetMemoriesFilter) not_last = g_object_new (NET_TYPE_MEMORIES_FILTER,
                                                          "source", "not this source", NULL);
    g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);

    assert_ids (f->memories, a, "1,5,6,13");
    assert_ids (f->memories, u20, "8");
    assert_ids (f->memories, t9, "7");
    assert_ids (f->memories, last, "5");
    assert_ids (f->memories, not_last, "");
    assert_ids (f->memories, pinned, "1,4,7,10,11");

    /* A memory whose tags came twice leaves each tag's index whole when
     * it is retagged and deleted. */
    {
      const char * const just_c[] = { "c", NULL };
      g_autoptr(NetMemoriesFilter) b = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "b", NULL);
      g_autoptr(NetMemoriesFilter) c = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "c", NULL);

      g_assert_cmpuint (net_db_memories_retag (f->memories, 6, just_c, 660, &error), >, 0);
      g_assert_no_error (error);
      g_assert_cmpuint (net_db_memories_retag (f->memories, 8, just_c, 860, &error), >, 0);
      g_assert_no_error (error);
      assert_ids (f->memories, a, "1,5,13");
      assert_ids (f->memories, b, "1,2");
      assert_ids (f->memories, c, "4,6,8");
      g_assert_cmpuint (net_db_memories_delete (f->memories, 6, &error), >, 0);
      g_assert_no_error (error);
      assert_ids (f->memories, c, "4,8");
      assert_ids (f->memories, u20, "");
    }
  }

  /* Bad records: refused as a whole, the state kept. */
  {
    static const struct {
      const char *order;
      const char *content;
      const char *tags;
      guint64     pinned;
    } bad[] = {
      { "crtsup", "no id", "a", FALSE },
      { "irtsup", "no content", "a", FALSE },
      { "icrtsup", "bad \377 content", "a", FALSE },
      { "icrtsup", "bad tag", "ok,bad \377", FALSE },
      { "iBcrtsup", "good content after a bad one", "a", FALSE },
      { "icrtsup", "pinned twice over", "a", 2 },
      { "icrtsup", "a content with a NUL\001 in it", "a", FALSE },
      { "icrtsup", "a NUL in a tag", "a,b\001c", FALSE },
      { "icrtsup", "a bad tag of many", "1,2,3,4,5,6,7,8,9,\377", FALSE },
      { "icrtsup", "a bad long content, then \377", "a", FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GByteArray) b = g_byte_array_new ();
        g_autoptr(GBytes) bb = NULL;

        net_encoder_init (&enc, b);
        net_encoder_put_uint (&enc, NET_SNAPSHOT_APPLIED_SEQ, 0);
        put_memory_record (b, "icrtsup", 20, "good", "g", "s", 1, 2, FALSE);
        put_memory_record (b, bad[i].order, 21, bad[i].content, bad[i].tags, "s", 1, 2,
                           bad[i].pinned);
        bb = g_byte_array_free_to_bytes (g_steal_pointer (&b));
        g_assert_false (net_db_memories_restore (f->memories, bb, &error));
        g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
        g_assert_nonnull (strstr (error->message, "bad memory record"));
        g_clear_error (&error);
        assert_ids (f->memories, NULL, "1,2,3,4,5,7,8,9,10,11,12,13");
      }
  }
}

/* Restoring onto an empty log: the log continues after the snapshot, and
 * the next event is folded. */
static void
test_snapshot_empty_log (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(NetRedex) other_redex = NULL;
  g_autoptr(NetDbMemories) other = NULL;
  g_autoptr(NetMemoriesFilter) pinned = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", TRUE, NULL);
  char *other_dir = NULL;
  guint64 seq;

  store (f->memories, 1, "one", "a", NULL, 100);
  store (f->memories, 2, "two", "b", NULL, 200);
  net_db_memories_pin (f->memories, 1, 300, &error);
  g_assert_no_error (error);
  snap = net_db_memories_snapshot (f->memories, &error);

  if (f->dir != NULL)
    other_dir = g_dir_make_tmp ("netdb-memories-XXXXXX", NULL);
  other_redex = net_redex_new (other_dir, &error);
  other = net_db_memories_new (other_redex, NULL, 9, &error);
  g_assert_no_error (error);

  g_assert_true (net_db_memories_restore (other, snap, &error));
  g_assert_no_error (error);
  assert_ids (other, NULL, "1,2");
  assert_ids (other, pinned, "1");
  g_assert_cmpuint (net_db_memories_get_applied_seq (other), ==, 3);

  seq = store (other, 3, "three", NULL, NULL, 400);
  g_assert_cmpuint (seq, ==, 4);
  assert_ids (other, NULL, "1,2,3");
  drain ();
  assert_ids (other, NULL, "1,2,3");
  g_assert_cmpuint (net_db_memories_get_applied_seq (other), ==, 4);

  if (other_dir != NULL)
    {
      /* And it survives a reopen. */
      net_db_memories_close (other, NULL);
      g_clear_object (&other);
      net_redex_close (other_redex, NULL);
      g_clear_object (&other_redex);
      other_redex = net_redex_new (other_dir, &error);
      other = net_db_memories_new (other_redex, NULL, 9, &error);
      g_assert_no_error (error);
      /* The log holds only event 4: a fresh open folds what it has. */
      assert_ids (other, NULL, "3");
      g_assert_true (net_db_memories_restore (other, snap, &error));
      g_assert_no_error (error);
      assert_ids (other, NULL, "1,2,3");
      net_db_memories_close (other, NULL);
      g_clear_object (&other);
      g_clear_object (&other_redex);
      rm_rf (other_dir);
      g_free (other_dir);
    }

  /* A log that ends before the snapshot's seq does not fit it. */
  {
    g_autoptr(NetRedex) short_redex = net_redex_new (NULL, NULL);
    g_autoptr(NetDbMemories) short_memories = net_db_memories_new (short_redex, NULL, 1, NULL);

    store (short_memories, 1, "only", NULL, NULL, 1);
    g_assert_false (net_db_memories_restore (short_memories, snap, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH);
    g_clear_error (&error);
    /* State untouched. */
    assert_ids (short_memories, NULL, "1");
  }
}

static void
test_closed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  store (f->memories, 1, "one", "a", NULL, 0);
  g_assert_true (net_db_memories_close (f->memories, &error));
  g_assert_true (net_db_memories_close (f->memories, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_memories_store (f->memories, 2, "two", NULL, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_retag (f->memories, 1, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 1, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_unpin (f->memories, 1, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_delete (f->memories, 1, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);
  {
    g_autoptr(GBytes) snap = net_db_memories_snapshot (f->memories, NULL);

    g_assert_false (net_db_memories_restore (f->memories, snap, &error));
    g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
    g_clear_error (&error);
  }
  g_assert_false (net_db_memories_wait_for_seq (f->memories, 5, 1000, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_CLOSED);
  g_clear_error (&error);

  /* Queries on the last state keep working. */
  assert_ids (f->memories, NULL, "1");
  g_assert_cmpuint (net_db_memories_count (f->memories, NULL), ==, 1);
}

static void
test_invalid_utf8 (Fixture       *f,
                   gconstpointer  data)
{
  const char *bad_tags[] = { "fine", "bad \xff tag", NULL };
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "bad \xff content", NULL, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "fine", bad_tags, NULL, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "fine", NULL, "\xc3", 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_retag (f->memories, 1, bad_tags, 0, &error), ==, 0);
  g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (net_db_memories_count (f->memories, NULL), ==, 0);
  /* Nothing was logged. */
  g_assert_cmpuint (store (f->memories, 1, "fine", "ok", NULL, 0), ==, 1);
}

/* The engine's set index (by tag, by source) against a plain count per
 * key: sets made on first use, found again, dropped when they empty, in
 * any order (the removal of a set moves the ones after it in its probe
 * run back) and through the index's growth. */
#define N_ENTRIES 400

static void
test_set_index (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  NetTableSetIndex *index = _net_table_set_index_new (NULL);
  guint counts[300] = { 0 };
  NetTableEntry *entries = g_new0 (NetTableEntry, N_ENTRIES);
  NetTableSetMember *members = g_new0 (NetTableSetMember, N_ENTRIES);
  guint *keys = g_new0 (guint, N_ENTRIES);

  for (guint i = 0; i < N_ENTRIES; i++)
    entries[i].id = i + 1;

  for (guint round = 0; round < 20000; round++)
    {
      guint i = g_rand_int_range (rand, 0, N_ENTRIES);

      if (members[i].set == NULL)
        {
          char key[16];

          /* Few keys at first, then many: the index grows and empties. */
          keys[i] = g_rand_int_range (rand, 0, round < 10000 ? 300 : 7);
          g_snprintf (key, sizeof key, "k%u", keys[i]);
          _net_table_set_add (&members[i], _net_table_set_index_lookup (index, key, TRUE), &entries[i]);
          counts[keys[i]]++;
        }
      else
        {
          _net_table_set_drop (&members[i], &entries[i], index);
          counts[keys[i]]--;
        }

      if (round % 7 == 0)
        {
          guint n_sets = 0;

          for (guint k = 0; k < G_N_ELEMENTS (counts); k++)
            {
              char key[16];
              NetTableSet *set;

              g_snprintf (key, sizeof key, "k%u", k);
              set = _net_table_set_index_lookup (index, key, FALSE);
              if (counts[k] == 0)
                g_assert_null (set);
              else
                {
                  g_assert_nonnull (set);
                  g_assert_cmpstr (set->key, ==, key);
                  g_assert_cmpuint (set->len, ==, counts[k]);
                  n_sets++;
                }
            }
          g_assert_cmpuint (_net_table_set_index_size (index), ==, n_sets);
        }
    }

  for (guint i = 0; i < N_ENTRIES; i++)
    _net_table_set_drop (&members[i], &entries[i], index);
  g_assert_cmpuint (_net_table_set_index_size (index), ==, 0);
  _net_table_set_index_free (index);
  g_free (keys);
  g_free (members);
  g_free (entries);
}
#undef N_ENTRIES

static void
test_preconditions (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(NetRedex) redex = net_redex_new (NULL, NULL);
      g_autoptr(NetDbMemories) memories = net_db_memories_new (redex, NULL, 1, NULL);

      g_assert_cmpuint (net_db_memories_store (memories, 1, NULL, NULL, NULL, 0, NULL), ==, 0);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*content != NULL*");
}

static void
on_notify_record (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    data)
{
  g_string_append_printf (data, "%s;", pspec->name);
}

static void
on_changed_record (NetDbMemories *memories,
                   guint64        first,
                   guint64        last,
                   gpointer       data)
{
  g_string_append_printf (data, "changed %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ";", first, last);
}

static int
compare_strs (gconstpointer a,
              gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The notifies of @log sorted (their order among themselves is GLib's),
 * then what followed them. */
static void
assert_log (GString    *log,
            const char *notifies,
            const char *then)
{
  g_auto(GStrv) parts = g_strsplit (log->str, ";", -1);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) rest = g_string_new (NULL);
  g_autofree char *sorted = NULL;

  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (parts[i][0] == '\0')
        continue;
      if (g_str_has_prefix (parts[i], "changed "))
        g_string_append_printf (rest, "%s;", parts[i]);
      else
        {
          g_assert_cmpuint (rest->len, ==, 0); /* every notify comes before changed */
          g_ptr_array_add (names, parts[i]);
        }
    }
  g_ptr_array_sort (names, compare_strs);
  g_ptr_array_add (names, NULL);
  sorted = g_strjoinv (",", (char **) names->pdata);
  g_assert_cmpstr (sorted, ==, notifies);
  g_assert_cmpstr (rest->str, ==, then);
  g_string_truncate (log, 0);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *n)
{
  (*n)++;
}

/* The cache of recent items, for memories: two queries in one burst
 * return the same objects, a cached one changes in place, a held one is
 * notified after the cache let go, and once idle nothing is left that
 * nobody holds (the same engine as the tasks'). */
static void
test_items_recent (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(NetMemoriesFilter) alpha = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "alpha", NULL);
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(NetMemory) held = NULL;
  NetTable *table = _net_db_memories_get_table (f->memories);
  NetMemory *memory, *weak;
  guint notified = 0;

  for (guint64 id = 1; id <= 20; id++)
    store (f->memories, id, "m", id % 2 ? "alpha" : "beta", NULL, 1000);
  drain ();

  found = net_db_memories_find_many (f->memories, alpha);
  g_assert_cmpuint (found->len, ==, 10);
  weak = g_ptr_array_index (found, 3);
  g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  g_clear_pointer (&found, g_ptr_array_unref);
  g_assert_nonnull (weak);
  retag (f->memories, 7, "alpha,gamma", 2000);
  assert_tags (weak, "alpha,gamma");
  memory = net_db_memories_get (f->memories, 7);
  g_assert_true (memory == weak);
  g_object_unref (memory);
  g_assert_cmpuint (table->recent->len, ==, 10);

  held = net_db_memories_get (f->memories, 9);
  g_signal_connect (held, "notify::pinned", G_CALLBACK (count_notify), &notified);
  drain ();
  g_assert_null (weak);
  g_assert_cmpuint (table->recent->len, ==, 0);
  g_assert_cmpuint (_net_table_n_live_items (table), ==, 1);
  g_assert_cmpuint (net_db_memories_pin (f->memories, 9, 3000, NULL), >, 0);
  drain ();
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (net_memory_get_pinned (held));
  g_signal_handlers_disconnect_by_data (held, &notified);
}

/* An item lives while someone holds it, and is then gone: the entry is
 * all a memory costs.  While it lives it is the one item of its id and
 * changes in place; a deleted one keeps its last values. */
static void
test_items_released (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(NetMemoriesFilter) ops = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "OPS", NULL);
  g_autoptr(NetMemory) held = NULL;
  g_autoptr(NetMemory) again = NULL;
  NetMemory *memory, *weak;

  store (f->memories, 1, "Rotate the key", "ops,ops,keys", "alice", 1000);
  store (f->memories, 2, "Lunch", NULL, NULL, 1000);

  memory = net_db_memories_get (f->memories, 1);
  weak = memory;
  g_object_add_weak_pointer (G_OBJECT (memory), (gpointer *) &weak);
  g_object_unref (memory);
  /* The cache of recent items lets go of it once the loop is idle. */
  g_assert_nonnull (weak);
  again = net_db_memories_get (f->memories, 1);
  g_assert_true (again == weak);
  g_clear_object (&again);
  drain ();
  g_assert_null (weak);

  {
    g_autoptr(GPtrArray) found = net_db_memories_find_many (f->memories, ops);

    g_assert_cmpuint (found->len, ==, 1);
    weak = g_ptr_array_index (found, 0);
    g_object_add_weak_pointer (G_OBJECT (weak), (gpointer *) &weak);
  }
  drain ();
  g_assert_null (weak);

  /* A new item has the current values (the tags without duplicates). */
  retag (f->memories, 1, "ops,deploy,deploy", 2000);
  held = net_db_memories_get (f->memories, 1);
  assert_tags (held, "ops,deploy");
  g_assert_cmpstr (net_memory_get_source (held), ==, "alice");
  g_assert_cmpint (net_memory_get_updated_at (held), ==, 2000);

  /* Held, it is the one item of its id and changes in place. */
  g_assert_cmpuint (net_db_memories_pin (f->memories, 1, 3000, NULL), >, 0);
  g_assert_true (net_memory_get_pinned (held));
  store (f->memories, 1, "Rotate the keys weekly", "keys", NULL, 4000);
  g_assert_cmpstr (net_memory_get_content (held), ==, "Rotate the keys weekly");
  assert_tags (held, "keys");
  g_assert_null (net_memory_get_source (held));
  g_assert_cmpint (net_memory_get_created_at (held), ==, 1000);
  again = net_db_memories_get (f->memories, 1);
  g_assert_true (again == held);
  g_clear_object (&again);
  g_assert_cmpuint (net_db_memories_count (f->memories, ops), ==, 0);
  drain ();

  /* Deleted, it keeps its last values; the id stored again is a new item. */
  g_assert_cmpuint (net_db_memories_delete (f->memories, 1, NULL), >, 0);
  store (f->memories, 1, "Another", "x", NULL, 5000);
  again = net_db_memories_get (f->memories, 1);
  g_assert_true (again != held);
  g_assert_cmpstr (net_memory_get_content (held), ==, "Rotate the keys weekly");
  g_assert_cmpstr (net_memory_get_content (again), ==, "Another");
  drain ();
}

/* Read-your-writes changes the item at once; its notify, and the model's
 * changed signal, come from the next dispatch, never from inside the
 * mutation. */
static void
test_notify_deferred (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(NetMemory) memory = NULL;

  store (f->memories, 1, "one", "a", NULL, 100);
  drain ();
  memory = net_db_memories_get (f->memories, 1);
  g_signal_connect (memory, "notify", G_CALLBACK (on_notify_record), log);
  g_signal_connect (f->memories, "changed", G_CALLBACK (on_changed_record), log);

  retag (f->memories, 1, "a,b", 200);
  assert_tags (memory, "a,b");
  g_assert_cmpstr (log->str, ==, "");
  drain ();
  assert_log (log, "tags,updated-at", "changed 2-2;");

  net_db_memories_pin (f->memories, 1, 300, NULL);
  net_db_memories_unpin (f->memories, 1, 300, NULL);
  store (f->memories, 1, "uno", "a,b", NULL, 300);
  g_assert_cmpstr (log->str, ==, "");
  drain ();
  /* Pinned changed and changed back: still notified, once. */
  assert_log (log, "content,pinned,updated-at", "changed 3-5;");

  /* A memory changed, then deleted before the dispatch, still notifies
   * (nobody else holds it here but the test). */
  store (f->memories, 2, "two", NULL, NULL, 400);
  {
    g_autoptr(NetMemory) two = net_db_memories_get (f->memories, 2);

    drain ();
    g_signal_connect (two, "notify", G_CALLBACK (on_notify_record), log);
    g_string_truncate (log, 0);
    net_db_memories_pin (f->memories, 2, 500, NULL);
    net_db_memories_delete (f->memories, 2, NULL);
    drain ();
    assert_log (log, "pinned,updated-at", "changed 7-8;");
    g_signal_handlers_disconnect_by_data (two, log);
  }

  g_signal_handlers_disconnect_by_data (memory, log);
  g_signal_handlers_disconnect_by_data (f->memories, log);
}

/* Changed and deleted before the dispatch, with no reference left
 * anywhere: the pending notify must not touch a freed object. */
static void
test_delete_pending (Fixture       *f,
                     gconstpointer  data)
{
  store (f->memories, 1, "one", "a", NULL, 100);
  drain ();
  retag (f->memories, 1, "b", 200);
  net_db_memories_delete (f->memories, 1, NULL);
  drain ();
  assert_ids (f->memories, NULL, "");
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 3);
}

static void
test_windows (Fixture       *f,
              gconstpointer  data)
{
  const char *odd_or_big[] = { "odd", "big", NULL };
  g_autoptr(NetMemoriesFilter) filter = NULL;
  g_autoptr(NetMemory) top = NULL;

  /* created = 100·i; updated runs the other way for the odd ones. */
  for (guint i = 1; i <= 10; i++)
    {
      g_autofree char *content = g_strdup_printf ("memory %u", i);
      GString *tags = g_string_new ("all");

      if (i % 2)
        g_string_append (tags, ",odd");
      if (i > 6)
        g_string_append (tags, ",big");
      store (f->memories, i, content, tags->str, i <= 5 ? "low" : "high", 100 * i);
      g_string_free (tags, TRUE);
    }
  for (guint i = 1; i <= 10; i += 2)
    net_db_memories_pin (f->memories, i, 10000 - i, NULL);

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER,
                         "order-by", NET_ORDER_BY_CREATED_DESC, "limit", 3, NULL);
  assert_ids (f->memories, filter, "10,9,8");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 10);
  net_memories_filter_set_offset (filter, 8);
  assert_ids (f->memories, filter, "2,1");
  net_memories_filter_set_offset (filter, 10);
  assert_ids (f->memories, filter, "");
  g_assert_true (net_db_memories_exists (f->memories, filter));
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 10);

  /* Through the tag index, in every order. */
  net_memories_filter_set_tag (filter, "odd");
  net_memories_filter_set_offset (filter, 1);
  assert_ids (f->memories, filter, "7,5,3");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 5);
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_ASC);
  /* updated: 9991 (9), 9993 (7), 9995 (5), 9997 (3), 9999 (1) */
  assert_ids (f->memories, filter, "7,5,3");
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_DESC);
  assert_ids (f->memories, filter, "3,5,7");
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_ID_DESC);
  assert_ids (f->memories, filter, "7,5,3");
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_ID_ASC);
  net_memories_filter_set_limit (filter, 0);
  assert_ids (f->memories, filter, "3,5,7,9");
  top = net_db_memories_find_first (f->memories, filter);
  g_assert_cmpuint (net_memory_get_id (top), ==, 3);
  g_clear_object (&top);

  /* The union of two tags, windowed. */
  net_memories_filter_set_tag (filter, NULL);
  net_memories_filter_set_any_tags (filter, odd_or_big);
  net_memories_filter_set_offset (filter, 0);
  assert_ids (f->memories, filter, "1,3,5,7,8,9,10");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 7);
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_CREATED_DESC);
  net_memories_filter_set_limit (filter, 2);
  net_memories_filter_set_offset (filter, 1);
  assert_ids (f->memories, filter, "9,8");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 7);

  /* A source and a time bound. */
  g_clear_object (&filter);
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER,
                         "source", "high", "created-after", (gint64) 700,
                         "created-before", (gint64) 900,
                         "order-by", NET_ORDER_BY_CREATED_DESC, NULL);
  assert_ids (f->memories, filter, "9,8,7");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 3);
  net_memories_filter_set_pinned (filter, TRUE);
  assert_ids (f->memories, filter, "9,7");
  net_memories_filter_set_pinned (filter, FALSE);
  assert_ids (f->memories, filter, "8");
  g_assert_cmpuint (net_db_memories_count (f->memories, filter), ==, 1);
}

static void
on_wait_done (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (net_db_memories_wait_for_seq_finish (NET_DB_MEMORIES (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static void
test_wait (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  net_db_memories_wait_for_seq_async (f->memories, 2, NULL, on_wait_done, &done);
  store (f->memories, 1, "one", NULL, NULL, 0);
  g_main_context_iteration (NULL, FALSE);
  g_assert_false (done);
  store (f->memories, 2, "two", NULL, NULL, 0);
  /* Never completed synchronously. */
  g_assert_false (done);
  while (!done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done);

  g_assert_true (net_db_memories_wait_for_seq (f->memories, 2, 1000, &error));
  g_assert_no_error (error);
  g_assert_false (net_db_memories_wait_for_seq (f->memories, 10, 50, &error));
  g_assert_error (error, NET_ERROR, NET_ERROR_TIMEOUT);
}

typedef struct
{
  NetDbMemories *memories;
  guint          n;
} ThreadData;

static gpointer
writer_thread (gpointer data)
{
  ThreadData *td = data;
  const char *tags[] = { "thread", NULL };

  for (guint i = 0; i < td->n; i++)
    {
      g_autofree char *content = g_strdup_printf ("from a thread %u", i);

      g_assert_cmpuint (net_db_memories_store (td->memories, 1000 + i, content, tags, NULL, 0, NULL), >, 0);
    }
  return NULL;
}

static void
on_changed_record_thread (NetDbMemories *memories,
                          guint64        first,
                          guint64        last,
                          gpointer       data)
{
  GThread **seen = data;

  *seen = g_thread_self ();
}

static void
test_other_thread (Fixture       *f,
                   gconstpointer  data)
{
  ThreadData td = { f->memories, 300 };
  g_autoptr(NetMemoriesFilter) thread_tag = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "thread", NULL);
  GThread *seen = NULL;
  GThread *thread;
  g_autoptr(GError) error = NULL;

  drain ();
  g_signal_connect (f->memories, "changed", G_CALLBACK (on_changed_record_thread), &seen);

  thread = g_thread_new ("writer", writer_thread, &td);
  g_thread_join (thread);

  /* Nothing is folded outside the owner context... */
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 0);
  g_assert_null (seen);

  /* ...and everything once it runs. */
  g_assert_true (net_db_memories_wait_for_seq (f->memories, 300, 5000, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (net_db_memories_count (f->memories, thread_tag), ==, 300);
  g_assert_true (seen == g_thread_self ());

  g_assert_cmpuint (net_db_memories_store (f->memories, 1, "local", NULL, NULL, 0, &error), ==, 301);
  g_signal_handlers_disconnect_by_data (f->memories, &seen);
}

static void
on_changed_restore (NetDbMemories *memories,
                    guint64        first,
                    guint64        last,
                    gpointer       data)
{
  GBytes **snap = data;
  g_autoptr(GError) error = NULL;

  if (*snap == NULL)
    return;
  g_assert_true (net_db_memories_restore (memories, *snap, &error));
  g_assert_no_error (error);
  g_clear_pointer (snap, g_bytes_unref);
}

/* A handler may restore (replacing the fold) from inside a delivery. */
static void
test_restore_in_handler (Fixture       *f,
                         gconstpointer  data)
{
  GBytes *snap = NULL;
  gulong id;

  store (f->memories, 1, "one", NULL, NULL, 100);
  drain ();
  snap = net_db_memories_snapshot (f->memories, NULL);
  id = g_signal_connect (f->memories, "changed", G_CALLBACK (on_changed_restore), &snap);
  store (f->memories, 2, "two", NULL, NULL, 200);
  drain ();
  g_assert_null (snap);
  store (f->memories, 3, "three", NULL, NULL, 300);
  drain ();
  assert_ids (f->memories, NULL, "1,2,3");
  g_assert_cmpuint (net_db_memories_get_applied_seq (f->memories), ==, 3);
  g_signal_handler_disconnect (f->memories, id);
}

/* Randomized: the model against a reference written here. ----------------- */

typedef struct
{
  guint64  id;
  char    *content;
  GStrv    tags;      /* unique, in order */
  char    *source;
  gint64   created;
  gint64   updated;
  gboolean pinned;
} RefMemory;

static void
ref_memory_free (gpointer data)
{
  RefMemory *r = data;

  g_free (r->content);
  g_strfreev (r->tags);
  g_free (r->source);
  g_free (r);
}

static const char *pool_tags[] = { "work", "home", "urgent", "idea", "read", "Work", "" };
static const char *pool_sources[] = { "alice", "bob", "carol", "" };
static const char *pool_words[] = { "alpha", "Beta", "GAMMA", "delta", "fire", "Datacenter", "milk" };

static GStrv
random_tags (GRand *rand)
{
  guint n = g_rand_int_range (rand, 0, 4);
  GStrv tags = g_new0 (char *, n + 1);

  for (guint i = 0; i < n; i++)
    tags[i] = g_strdup (pool_tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_tags))]);
  return tags;
}

/* @tags without repeats, first occurrence first. */
static GStrv
unique (char **tags)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; tags != NULL && tags[i] != NULL; i++)
    {
      gboolean dup = FALSE;

      for (guint j = 0; j < out->len; j++)
        dup = dup || strcmp (g_ptr_array_index (out, j), tags[i]) == 0;
      if (!dup)
        g_ptr_array_add (out, g_strdup (tags[i]));
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (out, FALSE);
}

static gboolean
ref_has_tag (RefMemory  *r,
             const char *tag)
{
  /* Tags match case-insensitively; the pool is ASCII. */
  for (guint i = 0; r->tags[i] != NULL; i++)
    if (g_ascii_strcasecmp (r->tags[i], tag) == 0)
      return TRUE;
  return FALSE;
}

/* An empty tag is refused (issue 14). */
static gboolean
has_empty_tag (char **tags)
{
  for (guint i = 0; tags[i] != NULL; i++)
    if (tags[i][0] == '\0')
      return TRUE;
  return FALSE;
}

/* A mutation's outcome: a seq, or NOT_FOUND (nothing logged) for an id
 * the state does not hold, INVALID_ARGUMENT for an empty tag. */
static void
assert_outcome (guint64   seq,
                GError  **error,
                gboolean  exists,
                gboolean  invalid)
{
  if (invalid)
    {
      g_assert_cmpuint (seq, ==, 0);
      g_assert_error (*error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_clear_error (error);
    }
  else if (!exists)
    {
      g_assert_cmpuint (seq, ==, 0);
      g_assert_error (*error, NET_ERROR, NET_ERROR_NOT_FOUND);
      g_clear_error (error);
    }
  else
    {
      g_assert_no_error (*error);
      g_assert_cmpuint (seq, >, 0);
    }
}

/* Contents are ASCII, where the library's folding is plain lowering. */
static gboolean
ref_matches (RefMemory         *r,
             NetMemoriesFilter *filter)
{
  const char *tag = net_memories_filter_get_tag (filter);
  const char * const *any = net_memories_filter_get_any_tags (filter);
  const char * const *all = net_memories_filter_get_all_tags (filter);
  const char *source = net_memories_filter_get_source (filter);
  const char *needle = net_memories_filter_get_content_contains (filter);
  gint64 ca = net_memories_filter_get_created_after (filter);
  gint64 cb = net_memories_filter_get_created_before (filter);
  gint64 ua = net_memories_filter_get_updated_after (filter);
  gint64 ub = net_memories_filter_get_updated_before (filter);

  if (tag != NULL && !ref_has_tag (r, tag))
    return FALSE;
  if (any != NULL && any[0] != NULL)
    {
      gboolean found = FALSE;

      for (guint i = 0; any[i] != NULL; i++)
        found = found || ref_has_tag (r, any[i]);
      if (!found)
        return FALSE;
    }
  for (guint i = 0; all != NULL && all[i] != NULL; i++)
    if (!ref_has_tag (r, all[i]))
      return FALSE;
  if (source != NULL && strcmp (source, r->source != NULL ? r->source : "") != 0)
    return FALSE;
  if (net_memories_filter_get_pinned_set (filter) &&
      !net_memories_filter_get_pinned (filter) != !r->pinned)
    return FALSE;
  if ((ca != 0 && r->created < ca) || r->created > cb)
    return FALSE;
  if ((ua != 0 && r->updated < ua) || r->updated > ub)
    return FALSE;
  if (needle != NULL && needle[0] != '\0')
    {
      g_autofree char *hay = g_ascii_strdown (r->content, -1);
      g_autofree char *low = g_ascii_strdown (needle, -1);

      if (strstr (hay, low) == NULL)
        return FALSE;
    }
  return TRUE;
}

static int
ref_compare (gconstpointer a,
             gconstpointer b,
             gpointer      data)
{
  const RefMemory *x = *(RefMemory * const *) a, *y = *(RefMemory * const *) b;
  NetOrderBy order = GPOINTER_TO_INT (data);
  gint64 kx = 0, ky = 0;
  int r;

  if (order == NET_ORDER_BY_CREATED_ASC || order == NET_ORDER_BY_CREATED_DESC)
    kx = x->created, ky = y->created;
  else if (order == NET_ORDER_BY_UPDATED_ASC || order == NET_ORDER_BY_UPDATED_DESC)
    kx = x->updated, ky = y->updated;
  r = kx < ky ? -1 : kx > ky ? 1 : x->id < y->id ? -1 : x->id > y->id;
  if (order == NET_ORDER_BY_ID_DESC || order == NET_ORDER_BY_CREATED_DESC ||
      order == NET_ORDER_BY_UPDATED_DESC)
    r = -r;
  return r;
}

/* "id,id,…" of what @filter selects from @ref, in its order and window;
 * @n_matches gets the count without the window. */
static char *
ref_query (GHashTable        *ref,
           NetMemoriesFilter *filter,
           guint             *n_matches)
{
  g_autoptr(GPtrArray) matches = g_ptr_array_new ();
  GString *s = g_string_new (NULL);
  guint offset = net_memories_filter_get_offset (filter);
  guint limit = net_memories_filter_get_limit (filter);
  GHashTableIter iter;
  gpointer value;
  guint taken = 0;

  g_hash_table_iter_init (&iter, ref);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (ref_matches (value, filter))
      g_ptr_array_add (matches, value);
  g_ptr_array_sort_with_data (matches, ref_compare,
                              GINT_TO_POINTER (net_memories_filter_get_order_by (filter)));
  *n_matches = matches->len;

  for (guint i = offset; i < matches->len && (limit == 0 || taken < limit); i++, taken++)
    g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, taken ? "," : "",
                            ((RefMemory *) g_ptr_array_index (matches, i))->id);
  return g_string_free (s, FALSE);
}

static NetMemoriesFilter *
random_filter (GRand *rand)
{
  NetMemoriesFilter *filter = net_memories_filter_new ();

  /* Each constraint on about a third of the filters, so that they combine. */
  if (g_rand_int_range (rand, 0, 3) == 0)
    net_memories_filter_set_tag (filter, pool_tags[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_tags))]);
  if (g_rand_int_range (rand, 0, 3) == 0)
    {
      g_auto(GStrv) tags = random_tags (rand);

      net_memories_filter_set_any_tags (filter, (const char * const *) tags);
    }
  if (g_rand_int_range (rand, 0, 4) == 0)
    {
      g_auto(GStrv) tags = random_tags (rand);

      net_memories_filter_set_all_tags (filter, (const char * const *) tags);
    }
  if (g_rand_int_range (rand, 0, 4) == 0)
    net_memories_filter_set_source (filter, pool_sources[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_sources))]);
  if (g_rand_int_range (rand, 0, 3) == 0)
    net_memories_filter_set_pinned (filter, g_rand_boolean (rand));
  if (g_rand_int_range (rand, 0, 5) == 0)
    net_memories_filter_set_content_contains (filter, pool_words[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_words))]);
  if (g_rand_int_range (rand, 0, 5) == 0)
    net_memories_filter_set_created_after (filter, g_rand_int_range (rand, 1, 500));
  if (g_rand_int_range (rand, 0, 5) == 0)
    net_memories_filter_set_created_before (filter, g_rand_int_range (rand, 1, 500));
  if (g_rand_int_range (rand, 0, 5) == 0)
    net_memories_filter_set_updated_after (filter, g_rand_int_range (rand, 1, 500));
  if (g_rand_int_range (rand, 0, 5) == 0)
    net_memories_filter_set_updated_before (filter, g_rand_int_range (rand, 1, 500));
  net_memories_filter_set_order_by (filter, g_rand_int_range (rand, NET_ORDER_BY_ID_ASC, NET_ORDER_BY_UPDATED_DESC + 1));
  if (g_rand_boolean (rand))
    net_memories_filter_set_limit (filter, g_rand_int_range (rand, 1, 6));
  if (g_rand_int_range (rand, 0, 3) == 0)
    net_memories_filter_set_offset (filter, g_rand_int_range (rand, 0, 10));

  return filter;
}

static void
check_against_ref (NetDbMemories *memories,
                   GHashTable    *ref,
                   GRand         *rand,
                   guint          n_filters)
{
  g_assert_cmpuint (net_db_memories_count (memories, NULL), ==, g_hash_table_size (ref));

  for (guint i = 0; i < n_filters; i++)
    {
      g_autoptr(NetMemoriesFilter) filter = random_filter (rand);
      g_autoptr(GPtrArray) got = net_db_memories_find_many (memories, filter);
      g_autoptr(NetMemory) first = net_db_memories_find_first (memories, filter);
      g_autofree char *got_ids = ids (got);
      guint n_matches;
      g_autofree char *want_ids = ref_query (ref, filter, &n_matches);

      if (g_strcmp0 (got_ids, want_ids) != 0)
        {
          g_autofree char *tag = g_strdup (net_memories_filter_get_tag (filter));

          g_test_message ("filter: tag=%s any=%p all=%p source=%s pinned-set=%d pinned=%d content=%s "
                          "order=%d limit=%u offset=%u",
                          tag, (gpointer) net_memories_filter_get_any_tags (filter),
                          (gpointer) net_memories_filter_get_all_tags (filter),
                          net_memories_filter_get_source (filter),
                          net_memories_filter_get_pinned_set (filter),
                          net_memories_filter_get_pinned (filter),
                          net_memories_filter_get_content_contains (filter),
                          net_memories_filter_get_order_by (filter),
                          net_memories_filter_get_limit (filter),
                          net_memories_filter_get_offset (filter));
        }
      g_assert_cmpstr (got_ids, ==, want_ids);
      g_assert_cmpuint (net_db_memories_count (memories, filter), ==, n_matches);
      g_assert_cmpint (net_db_memories_exists (memories, filter), ==, n_matches > 0);
      if (got->len > 0)
        g_assert_true (first == g_ptr_array_index (got, 0));
      else
        g_assert_null (first);
    }
}

/* Every memory of the model equals its reference, field by field. */
static void
check_items (NetDbMemories *memories,
             GHashTable    *ref)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, ref);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      RefMemory *r = value;
      g_autoptr(NetMemory) m = net_db_memories_get (memories, r->id);

      g_assert_nonnull (m);
      g_assert_cmpstr (net_memory_get_content (m), ==, r->content);
      g_assert_true (g_strv_equal (net_memory_get_tags (m), (const char * const *) r->tags));
      g_assert_cmpstr (net_memory_get_source (m), ==, r->source);
      g_assert_cmpint (net_memory_get_created_at (m), ==, r->created);
      g_assert_cmpint (net_memory_get_updated_at (m), ==, r->updated);
      g_assert_cmpint (net_memory_get_pinned (m), ==, r->pinned);
    }
}

/* The live queries of the random walk: each equals the oracle's answer
 * for its filter once delivered (issue 15: the oracle covers the live
 * queries too). */
#define N_LIVE 4

static void
check_live (NetQueryModel **live,
            GHashTable     *ref)
{
  for (guint m = 0; m < N_LIVE; m++)
    {
      GListModel *list = G_LIST_MODEL (live[m]);
      g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(NetMemoriesFilter) all = net_memories_filter_new ();
      NetMemoriesFilter *filter = (NetMemoriesFilter *) net_query_model_get_filter (live[m]);
      g_autofree char *got = NULL;
      g_autofree char *want = NULL;
      guint n_matches;

      for (guint i = 0; i < g_list_model_get_n_items (list); i++)
        g_ptr_array_add (items, g_list_model_get_item (list, i));
      got = ids (items);
      want = ref_query (ref, filter != NULL ? filter : all, &n_matches);
      g_assert_cmpstr (got, ==, want);
    }
}

static void
test_random (Fixture       *f,
             gconstpointer  data)
{
  NetQueryModel *live[N_LIVE];
  g_autoptr(GHashTable) ref = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, ref_memory_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(GError) error = NULL;
  guint n_ops = g_test_slow () ? 20000 : 3000;

  for (guint m = 0; m < N_LIVE; m++)
    {
      g_autoptr(NetMemoriesFilter) filter = random_filter (rand);

      live[m] = net_db_memories_watch (f->memories, m == 0 ? NULL : filter);
    }

  for (guint op = 0; op < n_ops; op++)
    {
      guint64 id = g_rand_int_range (rand, 1, 60);
      gint64 ts = g_rand_int_range (rand, 1, 500);
      RefMemory *r = g_hash_table_lookup (ref, &id);
      guint kind = g_rand_int_range (rand, 0, 10);

      if (kind < 4)
        {
          g_autofree char *content = g_strdup_printf ("%s %s %u",
                                                      pool_words[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_words))],
                                                      pool_words[g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_words))],
                                                      op);
          g_auto(GStrv) tags = random_tags (rand);
          guint s = g_rand_int_range (rand, 0, G_N_ELEMENTS (pool_sources) + 1);
          const char *source = s < G_N_ELEMENTS (pool_sources) ? pool_sources[s] : NULL;

          assert_outcome (net_db_memories_store (f->memories, id, content,
                                                 (const char * const *) tags, source, ts, &error),
                          &error, TRUE, has_empty_tag (tags));
          if (has_empty_tag (tags))
            continue;
          if (r == NULL)
            {
              r = g_new0 (RefMemory, 1);
              r->id = id;
              r->created = ts;
              g_hash_table_insert (ref, &r->id, r);
            }
          else
            {
              g_free (r->content);
              g_strfreev (r->tags);
              g_free (r->source);
            }
          r->content = g_steal_pointer (&content);
          r->tags = unique (tags);
          r->source = g_strdup (source);
          r->updated = ts;
        }
      else if (kind < 6)
        {
          g_auto(GStrv) tags = random_tags (rand);

          assert_outcome (net_db_memories_retag (f->memories, id, (const char * const *) tags, ts, &error),
                          &error, r != NULL, has_empty_tag (tags));
          if (r != NULL && !has_empty_tag (tags))
            {
              g_strfreev (r->tags);
              r->tags = unique (tags);
              r->updated = ts;
            }
        }
      else if (kind < 8)
        {
          gboolean pin = kind == 6;

          if (pin)
            assert_outcome (net_db_memories_pin (f->memories, id, ts, &error), &error, r != NULL, FALSE);
          else
            assert_outcome (net_db_memories_unpin (f->memories, id, ts, &error), &error, r != NULL, FALSE);
          if (r != NULL)
            {
              r->pinned = pin;
              r->updated = ts;
            }
        }
      else if (kind == 8)
        {
          assert_outcome (net_db_memories_delete (f->memories, id, &error), &error, r != NULL, FALSE);
          g_hash_table_remove (ref, &id);
        }
      else
        check_against_ref (f->memories, ref, rand, 5);
      g_assert_no_error (error);

      if (op % 500 == 0)
        {
          drain ();
          check_live (live, ref);
          /* Search as you type: a live query gets a new filter. */
          {
            g_autoptr(NetMemoriesFilter) filter = random_filter (rand);

            net_query_model_set_filter (live[1 + op / 500 % (N_LIVE - 1)], G_OBJECT (filter));
            check_live (live, ref);
          }
        }
    }

  drain ();
  check_items (f->memories, ref);
  check_against_ref (f->memories, ref, rand, 500);
  check_live (live, ref);
  for (guint m = 0; m < N_LIVE; m++)
    g_object_unref (live[m]);

  /* A snapshot folds back to the same state, in a fresh model too. */
  {
    g_autoptr(GBytes) snap = net_db_memories_snapshot (f->memories, &error);
    g_autoptr(NetRedex) other_redex = net_redex_new (NULL, NULL);
    g_autoptr(NetDbMemories) other = net_db_memories_new (other_redex, NULL, 9, &error);

    g_assert_no_error (error);
    g_assert_true (net_db_memories_restore (other, snap, &error));
    g_assert_no_error (error);
    check_items (other, ref);
    check_against_ref (other, ref, rand, 200);
  }

  /* And so does the log, reopened. */
  if (f->dir != NULL)
    {
      close_model (f);
      open_model (f);
      check_items (f->memories, ref);
      check_against_ref (f->memories, ref, rand, 200);
    }
}

/* Many memories, few tagged: limited, ordered queries in every order
 * through the indexes, against brute force over find_many (NULL). */
static void
test_large (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  const char *common[] = { "common", NULL };
  const char *both[] = { "common", "rare", NULL };
  g_autoptr(GPtrArray) all = NULL;

  for (guint i = 1; i <= 2000; i++)
    {
      g_autofree char *content = g_strdup_printf ("memory %u", i);
      const char * const *tags = i % 97 == 0 ? both : i % 3 == 0 ? common : NULL;

      net_db_memories_store (f->memories, i, content, tags, i % 2 ? "odd" : NULL,
                             g_rand_int_range (rand, 1, 300), NULL);
      if (i % 5 == 0)
        net_db_memories_pin (f->memories, i, g_rand_int_range (rand, 1, 300), NULL);
    }
  all = net_db_memories_find_many (f->memories, NULL);

  for (NetOrderBy order = NET_ORDER_BY_ID_ASC; order <= NET_ORDER_BY_UPDATED_DESC; order++)
    for (guint which = 0; which < 5; which++)
      {
        g_autoptr(NetMemoriesFilter) filter = net_memories_filter_new ();
        g_autoptr(NetMemoriesFilter) unwindowed = NULL;
        g_autoptr(GPtrArray) expected = g_ptr_array_new ();
        g_autoptr(GPtrArray) got = NULL;

        switch (which)
          {
          case 0: net_memories_filter_set_tag (filter, "rare"); break;
          case 1: net_memories_filter_set_tag (filter, "common"); break;
          case 2: net_memories_filter_set_any_tags (filter, both); break;
          case 3: net_memories_filter_set_pinned (filter, TRUE); break;
          default: net_memories_filter_set_source (filter, "odd"); break;
          }
        net_memories_filter_set_order_by (filter, order);
        unwindowed = net_memories_filter_copy (filter);
        net_memories_filter_set_limit (filter, 7);
        net_memories_filter_set_offset (filter, 3);

        for (guint i = 0; i < all->len; i++)
          {
            NetMemory *m = g_ptr_array_index (all, i);
            gboolean in;

            switch (which)
              {
              case 0: in = net_memory_has_tag (m, "rare"); break;
              case 1: in = net_memory_has_tag (m, "common"); break;
              case 2: in = net_memory_has_tag (m, "rare") || net_memory_has_tag (m, "common"); break;
              case 3: in = net_memory_get_pinned (m); break;
              default: in = g_strcmp0 (net_memory_get_source (m), "odd") == 0; break;
              }
            if (in)
              g_ptr_array_add (expected, m);
          }
        g_assert_cmpuint (net_db_memories_count (f->memories, unwindowed), ==, expected->len);
        got = net_db_memories_find_many (f->memories, filter);
        g_assert_cmpuint (got->len, ==, MIN (7, expected->len > 3 ? expected->len - 3 : 0));
        /* In order, each from the expected set. */
        for (guint i = 0; i < got->len; i++)
          {
            g_assert_true (g_ptr_array_find (expected, g_ptr_array_index (got, i), NULL));
            if (i > 0)
              g_assert_cmpint (_net_memory_compare (order, g_ptr_array_index (got, i - 1),
                                                    g_ptr_array_index (got, i)), <, 0);
          }
      }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/db/memories/memory/" path, Fixture, GINT_TO_POINTER (0), fixture_setup, func, fixture_teardown); \
  g_test_add ("/db/memories/persistent/" path, Fixture, GINT_TO_POINTER (1), fixture_setup, func, fixture_teardown)

  ADD ("basic", test_basic);
  ADD ("scenario", test_scenario);
  ADD ("store-again", test_store_again);
  ADD ("unknown-ids", test_unknown_ids);
  ADD ("corrupt-event", test_corrupt_event);
  ADD ("own-event-catch-up", test_own_event_catch_up);
  ADD ("own-event-as-logged", test_own_event_as_logged);
  ADD ("snapshot", test_snapshot);
  ADD ("snapshot-record-forms", test_snapshot_record_forms);
  ADD ("snapshot-empty-log", test_snapshot_empty_log);
  ADD ("closed", test_closed);
  ADD ("invalid-utf8", test_invalid_utf8);
  ADD ("notify-deferred", test_notify_deferred);
  ADD ("items-released", test_items_released);
  ADD ("items-recent", test_items_recent);
  ADD ("delete-pending", test_delete_pending);
  ADD ("windows", test_windows);
  ADD ("wait", test_wait);
  ADD ("other-thread", test_other_thread);
  ADD ("restore-in-handler", test_restore_in_handler);
  ADD ("random", test_random);
  ADD ("large", test_large);
  g_test_add ("/db/memories/persistent/persistence", Fixture, GINT_TO_POINTER (1),
              fixture_setup, test_persistence, fixture_teardown);
  g_test_add_func ("/db/memories/preconditions", test_preconditions);
  g_test_add_func ("/db/memories/set-index", test_set_index);

  return g_test_run ();
}
