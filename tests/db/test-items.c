/* test-items.c: NetTask, NetMemory and their filters, without a database:
 * properties, pending notifications, Unicode search, matching and order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "netdb.h"
#include "net-db-items-private.h"

/* Notification recording.  GLib does not promise in which order a thawed
 * object emits its queued notifications, so the names are sorted: the
 * result is "a;b;" for one notify of a and one of b. */

static void
record_notify (GObject    *object,
               GParamSpec *pspec,
               GString    *log)
{
  g_string_append_printf (log, "%s;", pspec->name);
}

static GString *
watch_notify (gpointer object)
{
  GString *log = g_string_new (NULL);

  g_signal_connect (object, "notify", G_CALLBACK (record_notify), log);
  return log;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Returns the recorded names sorted, and clears the log. */
static char *
take_notify (GString *log)
{
  g_auto(GStrv) names = g_strsplit (log->str, ";", -1);
  guint n = g_strv_length (names);
  GString *out = g_string_new (NULL);

  /* The last element is the empty string after the final ';'. */
  if (n > 0)
    n--;
  qsort (names, n, sizeof (char *), compare_strings);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (out, "%s;", names[i]);

  g_string_truncate (log, 0);
  return g_string_free (out, FALSE);
}

#define assert_notify(log, expected)                 \
  G_STMT_START {                                     \
    g_autofree char *_got = take_notify (log);       \
    g_assert_cmpstr (_got, ==, (expected));          \
  } G_STMT_END

static void
free_log (GString *log)
{
  g_string_free (log, TRUE);
}

/* Folding */

static void
test_fold_text (void)
{
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "", "" },
    { "Fire in the DataCenter", "fire in the datacenter" },
    { "ÉCOLE", "école" },
    { "E\xcc\x81" "cole", "école" },       /* decomposed É folds like the composed one */
    { "Straße", "strasse" },               /* full case folding */
    { "\xef\xac\x81le", "file" },          /* U+FB01 LATIN SMALL LIGATURE FI: NFKC */
    { "\xe2\x84\xaa" "elvin", "kelvin" },  /* U+212A KELVIN SIGN */
    { "ΣΊΣΥΦΟΣ", "σίσυφοσ" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *folded = _net_db_fold_text (cases[i].in);

      g_assert_cmpstr (folded, ==, cases[i].out);
    }
}

static void
test_fold_text_invalid (void)
{
  g_autofree char *folded = _net_db_fold_text ("Ab\xff\xfe" "Cé");

  /* Repaired, then folded: never NULL, always valid. */
  g_assert_nonnull (folded);
  g_assert_true (g_utf8_validate (folded, -1, NULL));
  g_assert_true (g_str_has_prefix (folded, "ab"));
  g_assert_true (g_str_has_suffix (folded, "cé"));
}

/* NetTask */

static void
test_task_basic (void)
{
  NetTask *task = _net_task_new (42, "Write the report", NET_TASK_STATUS_COMPLETED, 1000, 2000);
  g_autofree char *title = NULL;
  guint64 id;
  NetTaskStatus status;
  gint64 created, updated;

  g_assert_true (NET_IS_TASK (task));
  g_assert_cmpuint (net_task_get_id (task), ==, 42);
  g_assert_cmpstr (net_task_get_title (task), ==, "Write the report");
  g_assert_cmpint (net_task_get_status (task), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (net_task_get_created_at (task), ==, 1000);
  g_assert_cmpint (net_task_get_updated_at (task), ==, 2000);
  g_assert_false (_net_task_has_pending_notify (task));

  g_object_get (task,
                "id", &id,
                "title", &title,
                "status", &status,
                "created-at", &created,
                "updated-at", &updated,
                NULL);
  g_assert_cmpuint (id, ==, 42);
  g_assert_cmpstr (title, ==, "Write the report");
  g_assert_cmpint (status, ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpint (created, ==, 1000);
  g_assert_cmpint (updated, ==, 2000);

  g_assert_finalize_object (task);
}

static void
test_task_properties_read_only (void)
{
  GObjectClass *klass = g_type_class_ref (NET_TYPE_TASK);
  const char *names[] = { "id", "title", "status", "created-at", "updated-at" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, names[i]);

      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_READABLE);
      g_assert_false (pspec->flags & G_PARAM_WRITABLE);
    }
  g_assert_true (G_PARAM_SPEC_VALUE_TYPE (g_object_class_find_property (klass, "status")) == NET_TYPE_TASK_STATUS);
  g_type_class_unref (klass);
}

static void
test_task_pending_notify (void)
{
  NetTask *task = _net_task_new (1, "a", NET_TASK_STATUS_PENDING, 10, 10);
  GString *log = watch_notify (task);

  /* Nothing changes: nothing pending. */
  _net_task_update (task, "a", NET_TASK_STATUS_PENDING, 10, 10);
  g_assert_false (_net_task_has_pending_notify (task));
  _net_task_flush_notify (task);
  assert_notify (log, "");

  /* A rename: the values change at once, the signal waits for the flush. */
  _net_task_update (task, "b", NET_TASK_STATUS_PENDING, 10, 20);
  g_assert_cmpstr (net_task_get_title (task), ==, "b");
  g_assert_cmpint (net_task_get_updated_at (task), ==, 20);
  g_assert_true (_net_task_has_pending_notify (task));
  assert_notify (log, "");

  /* Another change before the flush: each property still once. */
  _net_task_update (task, "c", NET_TASK_STATUS_COMPLETED, 10, 30);
  assert_notify (log, "");
  _net_task_flush_notify (task);
  assert_notify (log, "status;title;updated-at;");
  g_assert_false (_net_task_has_pending_notify (task));

  /* A second flush has nothing left to say. */
  _net_task_flush_notify (task);
  assert_notify (log, "");

  /* Re-creation resets created-at too. */
  _net_task_update (task, "c", NET_TASK_STATUS_PENDING, 40, 40);
  _net_task_flush_notify (task);
  assert_notify (log, "created-at;status;updated-at;");

  /* Changed and changed back before the flush: notified once, harmless. */
  _net_task_update (task, "x", NET_TASK_STATUS_PENDING, 40, 40);
  _net_task_update (task, "c", NET_TASK_STATUS_PENDING, 40, 40);
  _net_task_flush_notify (task);
  assert_notify (log, "title;");

  g_signal_handlers_disconnect_by_data (task, log);
  free_log (log);
  g_assert_finalize_object (task);
}

static void
reupdate_in_handler (NetTask    *task,
                     GParamSpec *pspec,
                     GString    *log)
{
  g_string_append_printf (log, "%s;", pspec->name);
  if (g_str_equal (pspec->name, "title") && g_str_equal (net_task_get_title (task), "b"))
    _net_task_update (task, "c", net_task_get_status (task), 1, 1);
}

static void
test_task_flush_reentrant (void)
{
  NetTask *task = _net_task_new (1, "a", NET_TASK_STATUS_PENDING, 1, 1);
  GString *log = g_string_new (NULL);

  g_signal_connect (task, "notify", G_CALLBACK (reupdate_in_handler), log);
  _net_task_update (task, "b", NET_TASK_STATUS_PENDING, 1, 1);
  _net_task_flush_notify (task);
  /* The handler's update is pending for the next flush, not lost. */
  assert_notify (log, "title;");
  g_assert_true (_net_task_has_pending_notify (task));
  _net_task_flush_notify (task);
  assert_notify (log, "title;");
  g_assert_cmpstr (net_task_get_title (task), ==, "c");

  g_signal_handlers_disconnect_by_data (task, log);
  free_log (log);
  g_assert_finalize_object (task);
}

static void
test_task_folded_title (void)
{
  NetTask *task = _net_task_new (1, "Fire in the DATACENTER", NET_TASK_STATUS_PENDING, 1, 1);
  const char *folded;

  folded = _net_task_get_folded_title (task);
  g_assert_cmpstr (folded, ==, "fire in the datacenter");
  /* Cached: the same string until the title changes. */
  g_assert_true (_net_task_get_folded_title (task) == folded);
  _net_task_update (task, "Fire in the DATACENTER", NET_TASK_STATUS_COMPLETED, 1, 2);
  g_assert_true (_net_task_get_folded_title (task) == folded);

  _net_task_update (task, "ÉCOLE", NET_TASK_STATUS_COMPLETED, 1, 3);
  g_assert_cmpstr (_net_task_get_folded_title (task), ==, "école");

  g_assert_finalize_object (task);
}

/* Order: four items with ties on every time key.
 *
 *   id  created  updated
 *    1      100      300
 *    2      100      200
 *    3       50      300
 *    4      200      200
 */
static const struct {
  guint64 id;
  gint64  created;
  gint64  updated;
} order_items[] = {
  { 3, 50, 300 },   /* deliberately not in id order */
  { 1, 100, 300 },
  { 4, 200, 200 },
  { 2, 100, 200 },
};

static const struct {
  NetOrderBy order;
  guint64    ids[4];
} order_expected[] = {
  { NET_ORDER_BY_ID_ASC,       { 1, 2, 3, 4 } },
  { NET_ORDER_BY_ID_DESC,      { 4, 3, 2, 1 } },
  { NET_ORDER_BY_CREATED_ASC,  { 3, 1, 2, 4 } },
  { NET_ORDER_BY_CREATED_DESC, { 4, 2, 1, 3 } },
  { NET_ORDER_BY_UPDATED_ASC,  { 2, 4, 1, 3 } },
  { NET_ORDER_BY_UPDATED_DESC, { 3, 1, 4, 2 } },
};

static int
task_sort_func (gconstpointer a,
                gconstpointer b,
                gpointer      data)
{
  return _net_task_compare (GPOINTER_TO_INT (data),
                            *(NetTask * const *) a, *(NetTask * const *) b);
}

static int
memory_sort_func (gconstpointer a,
                  gconstpointer b,
                  gpointer      data)
{
  return _net_memory_compare (GPOINTER_TO_INT (data),
                              *(NetMemory * const *) a, *(NetMemory * const *) b);
}

static void
test_task_compare (void)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < G_N_ELEMENTS (order_items); i++)
    g_ptr_array_add (tasks, _net_task_new (order_items[i].id, "t", NET_TASK_STATUS_PENDING,
                                           order_items[i].created, order_items[i].updated));

  for (guint o = 0; o < G_N_ELEMENTS (order_expected); o++)
    {
      NetOrderBy order = order_expected[o].order;

      g_ptr_array_sort_with_data (tasks, task_sort_func, GINT_TO_POINTER (order));
      for (guint i = 0; i < tasks->len; i++)
        g_assert_cmpuint (net_task_get_id (g_ptr_array_index (tasks, i)), ==, order_expected[o].ids[i]);

      /* A total order: only an item equals itself, and swapping the
       * arguments flips the sign. */
      for (guint i = 0; i < tasks->len; i++)
        for (guint j = 0; j < tasks->len; j++)
          {
            NetTask *a = g_ptr_array_index (tasks, i);
            NetTask *b = g_ptr_array_index (tasks, j);
            int ab = _net_task_compare (order, a, b);
            int ba = _net_task_compare (order, b, a);

            if (i == j)
              g_assert_cmpint (ab, ==, 0);
            else
              {
                g_assert_cmpint (ab, !=, 0);
                g_assert_cmpint ((ab < 0), ==, (ba > 0));
                g_assert_cmpint ((ab < 0), ==, (i < j));
              }
          }
    }
}

static void
test_order_compare_values (void)
{
  /* The value form agrees with the item form and lets a model compare an
   * old key. */
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_CREATED_ASC, 1, 5, 0, 2, 5, 0), <, 0);
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_CREATED_DESC, 1, 5, 0, 2, 5, 0), >, 0);
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_UPDATED_DESC, 1, 0, 9, 2, 0, 5), <, 0);
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_ID_DESC, 7, 0, 0, 7, 0, 0), ==, 0);
  /* Extremes do not overflow. */
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_CREATED_ASC, 1, G_MININT64, 0, 2, G_MAXINT64, 0), <, 0);
  g_assert_cmpint (_net_db_order_compare (NET_ORDER_BY_ID_ASC, G_MAXUINT64, 0, 0, 0, 0, 0), >, 0);
}

/* NetMemory */

static void
test_memory_basic (void)
{
  const char *tags[] = { "work", "urgent", "work", "home", "urgent", NULL };
  const char *expected[] = { "work", "urgent", "home", NULL };
  NetMemory *memory = _net_memory_new (7, "Call Bob", tags, "phone", 100, 200, TRUE);
  g_auto(GStrv) prop_tags = NULL;
  g_autofree char *content = NULL;
  g_autofree char *source = NULL;
  gboolean pinned;
  guint64 id;

  g_assert_cmpuint (net_memory_get_id (memory), ==, 7);
  g_assert_cmpstr (net_memory_get_content (memory), ==, "Call Bob");
  g_assert_cmpstrv (net_memory_get_tags (memory), expected);
  g_assert_cmpstr (net_memory_get_source (memory), ==, "phone");
  g_assert_cmpint (net_memory_get_created_at (memory), ==, 100);
  g_assert_cmpint (net_memory_get_updated_at (memory), ==, 200);
  g_assert_true (net_memory_get_pinned (memory));
  g_assert_true (net_memory_has_tag (memory, "home"));
  /* Tags match as search text does: case-insensitively (issue 14). */
  g_assert_true (net_memory_has_tag (memory, "Home"));
  g_assert_true (net_memory_has_tag (memory, "HOME"));
  g_assert_false (net_memory_has_tag (memory, "hom"));
  g_assert_false (net_memory_has_tag (memory, ""));

  g_object_get (memory,
                "id", &id,
                "content", &content,
                "tags", &prop_tags,
                "source", &source,
                "pinned", &pinned,
                NULL);
  g_assert_cmpuint (id, ==, 7);
  g_assert_cmpstr (content, ==, "Call Bob");
  g_assert_cmpstrv (prop_tags, expected);
  g_assert_cmpstr (source, ==, "phone");
  g_assert_true (pinned);

  g_assert_finalize_object (memory);
}

static void
test_memory_no_tags (void)
{
  const char *empty[] = { NULL };
  NetMemory *memory = _net_memory_new (1, "", NULL, NULL, 0, 0, FALSE);
  NetMemory *other = _net_memory_new (2, "x", empty, NULL, 0, 0, FALSE);

  g_assert_nonnull (net_memory_get_tags (memory));
  g_assert_null (net_memory_get_tags (memory)[0]);
  g_assert_null (net_memory_get_tags (other)[0]);
  g_assert_null (net_memory_get_source (memory));
  g_assert_cmpstr (net_memory_get_content (memory), ==, "");
  g_assert_false (net_memory_get_pinned (memory));

  g_assert_finalize_object (memory);
  g_assert_finalize_object (other);
}

static void
test_memory_many_tags (void)
{
  g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func (g_free);
  NetMemory *memory;
  const char * const *got;

  /* Past the linear-dedup threshold: 40 tags, each given three times. */
  for (guint round = 0; round < 3; round++)
    for (guint i = 0; i < 40; i++)
      g_ptr_array_add (tags, g_strdup_printf ("t%u", i));
  g_ptr_array_add (tags, NULL);

  memory = _net_memory_new (1, "x", (const char * const *) tags->pdata, NULL, 0, 0, FALSE);
  got = net_memory_get_tags (memory);
  g_assert_cmpuint (g_strv_length ((char **) got), ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *want = g_strdup_printf ("t%u", i);

      g_assert_cmpstr (got[i], ==, want);
    }
  g_assert_finalize_object (memory);
}

static void
test_memory_pending_notify (void)
{
  const char *ab[] = { "a", "b", NULL };
  const char *ab_dup[] = { "a", "b", "a", NULL };
  const char *ba[] = { "b", "a", NULL };
  NetMemory *memory = _net_memory_new (1, "text", ab, "src", 10, 10, FALSE);
  GString *log = watch_notify (memory);

  /* Same values (duplicates removed first): nothing pending. */
  _net_memory_update (memory, "text", ab_dup, "src", 10, 10, FALSE);
  g_assert_false (_net_memory_has_pending_notify (memory));

  /* Retag: order matters. */
  _net_memory_update (memory, "text", ba, "src", 10, 20, FALSE);
  assert_notify (log, "");
  g_assert_true (_net_memory_has_pending_notify (memory));
  _net_memory_flush_notify (memory);
  assert_notify (log, "tags;updated-at;");

  /* Pin. */
  _net_memory_update (memory, "text", ba, "src", 10, 30, TRUE);
  _net_memory_flush_notify (memory);
  assert_notify (log, "pinned;updated-at;");

  /* Store again: new content and source, source may become NULL. */
  _net_memory_update (memory, "Text", ba, NULL, 10, 40, TRUE);
  g_assert_cmpstr (_net_memory_get_folded_content (memory), ==, "text");
  _net_memory_flush_notify (memory);
  assert_notify (log, "content;source;updated-at;");
  g_assert_null (net_memory_get_source (memory));

  /* Everything at once. */
  _net_memory_update (memory, "other", NULL, "s", 1, 2, FALSE);
  _net_memory_flush_notify (memory);
  assert_notify (log, "content;created-at;pinned;source;tags;updated-at;");
  g_assert_null (net_memory_get_tags (memory)[0]);

  _net_memory_flush_notify (memory);
  assert_notify (log, "");

  g_signal_handlers_disconnect_by_data (memory, log);
  free_log (log);
  g_assert_finalize_object (memory);
}

static void
test_memory_folded_content (void)
{
  NetMemory *memory = _net_memory_new (1, "Une ÉCOLE", NULL, NULL, 0, 0, FALSE);
  const char *folded = _net_memory_get_folded_content (memory);

  g_assert_cmpstr (folded, ==, "une école");
  g_assert_true (_net_memory_get_folded_content (memory) == folded);
  _net_memory_update (memory, "Une ÉCOLE", NULL, NULL, 0, 0, TRUE);
  g_assert_true (_net_memory_get_folded_content (memory) == folded);
  g_assert_finalize_object (memory);
}

static void
test_memory_compare (void)
{
  g_autoptr(GPtrArray) memories = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < G_N_ELEMENTS (order_items); i++)
    g_ptr_array_add (memories, _net_memory_new (order_items[i].id, "m", NULL, NULL,
                                                order_items[i].created, order_items[i].updated,
                                                FALSE));

  for (guint o = 0; o < G_N_ELEMENTS (order_expected); o++)
    {
      g_ptr_array_sort_with_data (memories, memory_sort_func,
                                  GINT_TO_POINTER (order_expected[o].order));
      for (guint i = 0; i < memories->len; i++)
        g_assert_cmpuint (net_memory_get_id (g_ptr_array_index (memories, i)), ==,
                          order_expected[o].ids[i]);
    }
}

/* NetTasksFilter */

static NetTask *
make_task (guint64       id,
           const char   *title,
           NetTaskStatus status,
           gint64        created,
           gint64        updated)
{
  return _net_task_new (id, title, status, created, updated);
}

/* Whether the engine (what every query runs) selects @task for @filter: a
 * model holding only a task with @task's values answers exists().  The
 * library has no other matcher of tasks (issue 15). */
static gboolean
engine_matches (NetTasksFilter *filter,
                NetTask        *task)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetDbTasks) tasks = net_db_tasks_new (redex, NULL, 1, &error);
  guint64 id = net_task_get_id (task);
  const char *title = net_task_get_title (task);
  gint64 created = net_task_get_created_at (task);
  gint64 updated = net_task_get_updated_at (task);

  g_assert_no_error (error);
  g_assert_cmpuint (net_db_tasks_create (tasks, id, title, created, &error), >, 0);
  if (net_task_get_status (task) == NET_TASK_STATUS_COMPLETED)
    g_assert_cmpuint (net_db_tasks_complete (tasks, id, updated, &error), >, 0);
  else if (updated != created)
    g_assert_cmpuint (net_db_tasks_rename (tasks, id, title, updated, &error), >, 0);
  g_assert_no_error (error);

  return net_db_tasks_exists (tasks, filter);
}

static void
test_tasks_filter_defaults (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  NetTaskStatus status;
  gboolean status_set;
  g_autofree char *title = NULL;
  gint64 ca, cb, ua, ub;
  NetOrderBy order;
  guint limit, offset;

  g_object_get (filter,
                "status", &status,
                "status-set", &status_set,
                "title-contains", &title,
                "created-after", &ca,
                "created-before", &cb,
                "updated-after", &ua,
                "updated-before", &ub,
                "order-by", &order,
                "limit", &limit,
                "offset", &offset,
                NULL);
  g_assert_cmpint (status, ==, NET_TASK_STATUS_PENDING);
  g_assert_false (status_set);
  g_assert_null (title);
  g_assert_cmpint (ca, ==, 0);
  g_assert_cmpint (cb, ==, G_MAXINT64);
  g_assert_cmpint (ua, ==, 0);
  g_assert_cmpint (ub, ==, G_MAXINT64);
  g_assert_cmpint (order, ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (limit, ==, 0);
  g_assert_cmpuint (offset, ==, 0);

  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_PENDING);
  g_assert_false (net_tasks_filter_get_status_set (filter));
  g_assert_null (net_tasks_filter_get_title_contains (filter));
  g_assert_cmpint (net_tasks_filter_get_created_after (filter), ==, 0);
  g_assert_cmpint (net_tasks_filter_get_created_before (filter), ==, G_MAXINT64);
  g_assert_cmpint (net_tasks_filter_get_updated_after (filter), ==, 0);
  g_assert_cmpint (net_tasks_filter_get_updated_before (filter), ==, G_MAXINT64);
  g_assert_cmpint (net_tasks_filter_get_order_by (filter), ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (net_tasks_filter_get_limit (filter), ==, 0);
  g_assert_cmpuint (net_tasks_filter_get_offset (filter), ==, 0);
  g_assert_null (_net_tasks_filter_get_folded_title (filter));

  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_status_set (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  GString *log = watch_notify (filter);

  /* Setting the default value still sets status-set. */
  net_tasks_filter_set_status (filter, NET_TASK_STATUS_PENDING);
  g_assert_true (net_tasks_filter_get_status_set (filter));
  assert_notify (log, "status-set;");

  net_tasks_filter_set_status (filter, NET_TASK_STATUS_COMPLETED);
  assert_notify (log, "status;");
  net_tasks_filter_set_status (filter, NET_TASK_STATUS_COMPLETED);
  assert_notify (log, "");

  /* Unsetting keeps the value. */
  net_tasks_filter_unset_status (filter);
  g_assert_false (net_tasks_filter_get_status_set (filter));
  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_COMPLETED);
  assert_notify (log, "status-set;");
  net_tasks_filter_unset_status (filter);
  assert_notify (log, "");

  /* Through properties. */
  g_object_set (filter, "status", NET_TASK_STATUS_PENDING, NULL);
  assert_notify (log, "status;status-set;");
  g_object_set (filter, "status-set", FALSE, NULL);
  assert_notify (log, "status-set;");
  g_object_set (filter, "status-set", TRUE, NULL);
  assert_notify (log, "status-set;");
  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_PENDING);

  g_signal_handlers_disconnect_by_data (filter, log);
  free_log (log);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_construct (void)
{
  NetTasksFilter *filter;

  /* Only an explicitly given status sets status-set. */
  filter = g_object_new (NET_TYPE_TASKS_FILTER, "limit", 50, NULL);
  g_assert_false (net_tasks_filter_get_status_set (filter));
  g_assert_cmpuint (net_tasks_filter_get_limit (filter), ==, 50);
  g_assert_finalize_object (filter);

  filter = g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING, "limit", 50, NULL);
  g_assert_true (net_tasks_filter_get_status_set (filter));
  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_PENDING);
  g_assert_finalize_object (filter);

  filter = g_object_new (NET_TYPE_TASKS_FILTER,
                         "status", NET_TASK_STATUS_COMPLETED,
                         "title-contains", "Report",
                         "created-after", (gint64) 10,
                         "created-before", (gint64) 20,
                         "updated-after", (gint64) 30,
                         "updated-before", (gint64) 40,
                         "order-by", NET_ORDER_BY_UPDATED_DESC,
                         "limit", 5,
                         "offset", 2,
                         NULL);
  g_assert_true (net_tasks_filter_get_status_set (filter));
  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpstr (net_tasks_filter_get_title_contains (filter), ==, "Report");
  g_assert_cmpstr (_net_tasks_filter_get_folded_title (filter), ==, "report");
  g_assert_cmpint (net_tasks_filter_get_created_after (filter), ==, 10);
  g_assert_cmpint (net_tasks_filter_get_created_before (filter), ==, 20);
  g_assert_cmpint (net_tasks_filter_get_updated_after (filter), ==, 30);
  g_assert_cmpint (net_tasks_filter_get_updated_before (filter), ==, 40);
  g_assert_cmpint (net_tasks_filter_get_order_by (filter), ==, NET_ORDER_BY_UPDATED_DESC);
  g_assert_cmpuint (net_tasks_filter_get_limit (filter), ==, 5);
  g_assert_cmpuint (net_tasks_filter_get_offset (filter), ==, 2);
  g_assert_finalize_object (filter);

  /* status-set alone turns on the default status. */
  filter = g_object_new (NET_TYPE_TASKS_FILTER, "status-set", TRUE, NULL);
  g_assert_true (net_tasks_filter_get_status_set (filter));
  g_assert_cmpint (net_tasks_filter_get_status (filter), ==, NET_TASK_STATUS_PENDING);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_notify (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  GString *log = watch_notify (filter);

  net_tasks_filter_set_title_contains (filter, "x");
  net_tasks_filter_set_title_contains (filter, "x");
  assert_notify (log, "title-contains;");
  net_tasks_filter_set_title_contains (filter, NULL);
  net_tasks_filter_set_title_contains (filter, NULL);
  assert_notify (log, "title-contains;");

  net_tasks_filter_set_created_after (filter, 1);
  net_tasks_filter_set_created_after (filter, 1);
  net_tasks_filter_set_created_before (filter, 2);
  net_tasks_filter_set_created_before (filter, 2);
  net_tasks_filter_set_updated_after (filter, 3);
  net_tasks_filter_set_updated_after (filter, 3);
  net_tasks_filter_set_updated_before (filter, 4);
  net_tasks_filter_set_updated_before (filter, 4);
  assert_notify (log, "created-after;created-before;updated-after;updated-before;");

  net_tasks_filter_set_order_by (filter, NET_ORDER_BY_ID_DESC);
  net_tasks_filter_set_order_by (filter, NET_ORDER_BY_ID_DESC);
  net_tasks_filter_set_limit (filter, 9);
  net_tasks_filter_set_limit (filter, 9);
  net_tasks_filter_set_offset (filter, 8);
  net_tasks_filter_set_offset (filter, 8);
  assert_notify (log, "limit;offset;order-by;");

  /* Through g_object_set, unchanged values stay quiet too. */
  g_object_set (filter, "limit", 9, "offset", 8, "order-by", NET_ORDER_BY_ID_DESC, NULL);
  assert_notify (log, "");

  g_signal_handlers_disconnect_by_data (filter, log);
  free_log (log);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_match_status (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  NetTask *pending = make_task (1, "a", NET_TASK_STATUS_PENDING, 1, 1);
  NetTask *done = make_task (2, "b", NET_TASK_STATUS_COMPLETED, 1, 1);

  g_assert_true (engine_matches (NULL, pending));
  g_assert_true (engine_matches (NULL, done));
  g_assert_true (engine_matches (filter, pending));
  g_assert_true (engine_matches (filter, done));

  net_tasks_filter_set_status (filter, NET_TASK_STATUS_PENDING);
  g_assert_true (engine_matches (filter, pending));
  g_assert_false (engine_matches (filter, done));

  net_tasks_filter_set_status (filter, NET_TASK_STATUS_COMPLETED);
  g_assert_false (engine_matches (filter, pending));
  g_assert_true (engine_matches (filter, done));

  net_tasks_filter_unset_status (filter);
  g_assert_true (engine_matches (filter, pending));
  g_assert_true (engine_matches (filter, done));

  /* Order and window do not affect matching. */
  net_tasks_filter_set_limit (filter, 1);
  net_tasks_filter_set_offset (filter, 5);
  net_tasks_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_DESC);
  g_assert_true (engine_matches (filter, pending));

  g_assert_finalize_object (pending);
  g_assert_finalize_object (done);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_match_title (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  NetTask *fire = make_task (1, "Fire in the datacenter", NET_TASK_STATUS_PENDING, 1, 1);
  NetTask *ecole = make_task (2, "Inscription à l'école", NET_TASK_STATUS_PENDING, 1, 1);
  NetTask *strasse = make_task (3, "Hauptstraße 5", NET_TASK_STATUS_PENDING, 1, 1);

  net_tasks_filter_set_title_contains (filter, "DATACENTER");
  g_assert_true (engine_matches (filter, fire));
  g_assert_false (engine_matches (filter, ecole));

  net_tasks_filter_set_title_contains (filter, "ÉCOLE");
  g_assert_false (engine_matches (filter, fire));
  g_assert_true (engine_matches (filter, ecole));

  /* A decomposed needle finds the composed title. */
  net_tasks_filter_set_title_contains (filter, "E\xcc\x81" "cole");
  g_assert_true (engine_matches (filter, ecole));

  /* An unaccented needle does not find the accented letter. */
  net_tasks_filter_set_title_contains (filter, "ecole");
  g_assert_false (engine_matches (filter, ecole));

  net_tasks_filter_set_title_contains (filter, "STRASSE");
  g_assert_true (engine_matches (filter, strasse));

  net_tasks_filter_set_title_contains (filter, "unicorn");
  g_assert_false (engine_matches (filter, fire));
  g_assert_false (engine_matches (filter, ecole));
  g_assert_false (engine_matches (filter, strasse));

  /* Empty and NULL do not constrain. */
  net_tasks_filter_set_title_contains (filter, "");
  g_assert_null (_net_tasks_filter_get_folded_title (filter));
  g_assert_true (engine_matches (filter, fire));
  net_tasks_filter_set_title_contains (filter, NULL);
  g_assert_true (engine_matches (filter, ecole));

  /* A rename changes the answer (the folded title is recomputed). */
  net_tasks_filter_set_title_contains (filter, "fire");
  g_assert_true (engine_matches (filter, fire));
  _net_task_update (fire, "Flood in the datacenter", NET_TASK_STATUS_PENDING, 1, 2);
  g_assert_false (engine_matches (filter, fire));

  g_assert_finalize_object (fire);
  g_assert_finalize_object (ecole);
  g_assert_finalize_object (strasse);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_match_time (void)
{
  NetTasksFilter *filter = net_tasks_filter_new ();
  /* created 100, updated 200 */
  NetTask *task = make_task (1, "t", NET_TASK_STATUS_PENDING, 100, 200);
  NetTask *old = make_task (2, "t", NET_TASK_STATUS_PENDING, -5, -5);

  /* Unbounded filters match even timestamps before the epoch. */
  g_assert_true (engine_matches (filter, old));

  /* Bounds are inclusive. */
  net_tasks_filter_set_created_after (filter, 100);
  g_assert_true (engine_matches (filter, task));
  g_assert_false (engine_matches (filter, old));
  net_tasks_filter_set_created_after (filter, 101);
  g_assert_false (engine_matches (filter, task));
  net_tasks_filter_set_created_after (filter, 0);

  net_tasks_filter_set_created_before (filter, 100);
  g_assert_true (engine_matches (filter, task));
  net_tasks_filter_set_created_before (filter, 99);
  g_assert_false (engine_matches (filter, task));
  g_assert_true (engine_matches (filter, old));
  net_tasks_filter_set_created_before (filter, G_MAXINT64);

  net_tasks_filter_set_updated_after (filter, 200);
  g_assert_true (engine_matches (filter, task));
  net_tasks_filter_set_updated_after (filter, 201);
  g_assert_false (engine_matches (filter, task));
  net_tasks_filter_set_updated_after (filter, 0);

  net_tasks_filter_set_updated_before (filter, 200);
  g_assert_true (engine_matches (filter, task));
  net_tasks_filter_set_updated_before (filter, 199);
  g_assert_false (engine_matches (filter, task));
  net_tasks_filter_set_updated_before (filter, G_MAXINT64);

  /* A one-point window on each key. */
  g_object_set (filter,
                "created-after", (gint64) 100, "created-before", (gint64) 100,
                "updated-after", (gint64) 200, "updated-before", (gint64) 200,
                NULL);
  g_assert_true (engine_matches (filter, task));
  /* Swapped created/updated keys must not match. */
  g_object_set (filter,
                "created-after", (gint64) 200, "created-before", (gint64) 200,
                "updated-after", (gint64) 100, "updated-before", (gint64) 100,
                NULL);
  g_assert_false (engine_matches (filter, task));

  g_assert_finalize_object (task);
  g_assert_finalize_object (old);
  g_assert_finalize_object (filter);
}

static void
test_tasks_filter_copy_equal (void)
{
  NetTasksFilter *a = net_tasks_filter_new ();
  NetTasksFilter *b;
  NetOrderBy order;
  guint offset, limit;

  g_object_set (a,
                "status", NET_TASK_STATUS_COMPLETED,
                "title-contains", "Report",
                "created-after", (gint64) 1,
                "updated-before", (gint64) 99,
                "order-by", NET_ORDER_BY_CREATED_DESC,
                "limit", 10,
                "offset", 3,
                NULL);
  b = net_tasks_filter_copy (a);
  g_assert_true (net_tasks_filter_equal (a, b));
  g_assert_true (net_tasks_filter_get_status_set (b));
  g_assert_cmpint (net_tasks_filter_get_status (b), ==, NET_TASK_STATUS_COMPLETED);
  g_assert_cmpstr (net_tasks_filter_get_title_contains (b), ==, "Report");
  g_assert_cmpstr (_net_tasks_filter_get_folded_title (b), ==, "report");
  g_assert_cmpint (net_tasks_filter_get_created_after (b), ==, 1);
  g_assert_cmpint (net_tasks_filter_get_updated_before (b), ==, 99);
  g_assert_cmpint (net_tasks_filter_get_order_by (b), ==, NET_ORDER_BY_CREATED_DESC);
  g_assert_cmpuint (net_tasks_filter_get_limit (b), ==, 10);
  g_assert_cmpuint (net_tasks_filter_get_offset (b), ==, 3);

  /* The window changes the query but not the selection. */
  net_tasks_filter_set_limit (b, 11);
  g_assert_false (net_tasks_filter_equal (a, b));
  g_assert_true (_net_tasks_filter_same_selection (a, b));
  net_tasks_filter_set_limit (b, 10);
  net_tasks_filter_set_order_by (b, NET_ORDER_BY_ID_ASC);
  g_assert_false (net_tasks_filter_equal (a, b));
  g_assert_true (_net_tasks_filter_same_selection (a, b));
  net_tasks_filter_set_order_by (b, NET_ORDER_BY_CREATED_DESC);

  /* Case differences select the same tasks but are different filters. */
  net_tasks_filter_set_title_contains (b, "REPORT");
  g_assert_false (net_tasks_filter_equal (a, b));
  g_assert_true (_net_tasks_filter_same_selection (a, b));
  net_tasks_filter_set_title_contains (b, "Report");
  g_assert_true (net_tasks_filter_equal (a, b));

  /* The status only counts while it is set. */
  net_tasks_filter_set_status (b, NET_TASK_STATUS_PENDING);
  g_assert_false (_net_tasks_filter_same_selection (a, b));
  net_tasks_filter_unset_status (a);
  net_tasks_filter_unset_status (b);
  g_assert_true (net_tasks_filter_equal (a, b));

  net_tasks_filter_set_created_after (b, 2);
  g_assert_false (_net_tasks_filter_same_selection (a, b));
  g_object_unref (b);

  /* NULL is the everything filter; "" equals NULL. */
  b = net_tasks_filter_new ();
  g_assert_true (_net_tasks_filter_same_selection (NULL, b));
  g_assert_true (_net_tasks_filter_same_selection (b, NULL));
  g_assert_true (_net_tasks_filter_same_selection (NULL, NULL));
  g_assert_false (_net_tasks_filter_same_selection (a, NULL));
  net_tasks_filter_set_title_contains (b, "");
  g_assert_true (_net_tasks_filter_same_selection (NULL, b));
  {
    g_autoptr(NetTasksFilter) fresh = net_tasks_filter_new ();

    g_assert_true (net_tasks_filter_equal (b, fresh));
  }

  _net_tasks_filter_get_window (NULL, &order, &offset, &limit);
  g_assert_cmpint (order, ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (offset, ==, 0);
  g_assert_cmpuint (limit, ==, 0);
  _net_tasks_filter_get_window (a, &order, &offset, &limit);
  g_assert_cmpint (order, ==, NET_ORDER_BY_CREATED_DESC);
  g_assert_cmpuint (offset, ==, 3);
  g_assert_cmpuint (limit, ==, 10);
  _net_tasks_filter_get_window (a, NULL, NULL, NULL);

  g_assert_finalize_object (b);
  g_assert_finalize_object (a);
}

/* NetMemoriesFilter */

static void
test_memories_filter_defaults (void)
{
  NetMemoriesFilter *filter = net_memories_filter_new ();
  g_autofree char *source = NULL;
  g_autofree char *content = NULL;
  g_autofree char *tag = NULL;
  g_auto(GStrv) any = NULL;
  g_auto(GStrv) all = NULL;
  gboolean pinned, pinned_set;
  gint64 ca, cb, ua, ub;
  NetOrderBy order;
  guint limit, offset;

  g_object_get (filter,
                "source", &source,
                "content-contains", &content,
                "tag", &tag,
                "any-tags", &any,
                "all-tags", &all,
                "pinned", &pinned,
                "pinned-set", &pinned_set,
                "created-after", &ca,
                "created-before", &cb,
                "updated-after", &ua,
                "updated-before", &ub,
                "order-by", &order,
                "limit", &limit,
                "offset", &offset,
                NULL);
  g_assert_null (source);
  g_assert_null (content);
  g_assert_null (tag);
  g_assert_null (any);
  g_assert_null (all);
  g_assert_false (pinned);
  g_assert_false (pinned_set);
  g_assert_cmpint (ca, ==, 0);
  g_assert_cmpint (cb, ==, G_MAXINT64);
  g_assert_cmpint (ua, ==, 0);
  g_assert_cmpint (ub, ==, G_MAXINT64);
  g_assert_cmpint (order, ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (limit, ==, 0);
  g_assert_cmpuint (offset, ==, 0);

  g_assert_null (net_memories_filter_get_source (filter));
  g_assert_null (net_memories_filter_get_content_contains (filter));
  g_assert_null (net_memories_filter_get_tag (filter));
  g_assert_null (net_memories_filter_get_any_tags (filter));
  g_assert_null (net_memories_filter_get_all_tags (filter));
  g_assert_false (net_memories_filter_get_pinned (filter));
  g_assert_false (net_memories_filter_get_pinned_set (filter));
  g_assert_cmpint (net_memories_filter_get_created_after (filter), ==, 0);
  g_assert_cmpint (net_memories_filter_get_created_before (filter), ==, G_MAXINT64);
  g_assert_cmpint (net_memories_filter_get_updated_after (filter), ==, 0);
  g_assert_cmpint (net_memories_filter_get_updated_before (filter), ==, G_MAXINT64);
  g_assert_cmpint (net_memories_filter_get_order_by (filter), ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (net_memories_filter_get_limit (filter), ==, 0);
  g_assert_cmpuint (net_memories_filter_get_offset (filter), ==, 0);
  g_assert_null (_net_memories_filter_get_folded_content (filter));

  g_assert_finalize_object (filter);
}

static void
test_memories_filter_pinned_set (void)
{
  NetMemoriesFilter *filter;
  GString *log;

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "limit", 3, NULL);
  g_assert_false (net_memories_filter_get_pinned_set (filter));
  g_assert_finalize_object (filter);

  /* Even FALSE, the default, sets pinned-set when given. */
  filter = g_object_new (NET_TYPE_MEMORIES_FILTER, "pinned", FALSE, NULL);
  g_assert_true (net_memories_filter_get_pinned_set (filter));
  g_assert_false (net_memories_filter_get_pinned (filter));
  g_assert_finalize_object (filter);

  filter = net_memories_filter_new ();
  log = watch_notify (filter);
  net_memories_filter_set_pinned (filter, TRUE);
  assert_notify (log, "pinned;pinned-set;");
  net_memories_filter_set_pinned (filter, 2);   /* any true value is TRUE */
  assert_notify (log, "");
  net_memories_filter_unset_pinned (filter);
  assert_notify (log, "pinned-set;");
  g_assert_true (net_memories_filter_get_pinned (filter));
  g_object_set (filter, "pinned-set", TRUE, NULL);
  assert_notify (log, "pinned-set;");
  g_object_set (filter, "pinned-set", FALSE, NULL);
  assert_notify (log, "pinned-set;");

  g_signal_handlers_disconnect_by_data (filter, log);
  free_log (log);
  g_assert_finalize_object (filter);
}

/* The models skip per-item checks when the filter is one index set. */
static void
test_memories_filter_single_index (void)
{
  const char *one[] = { "a", NULL }, *two[] = { "a", "b", NULL };
  struct {
    const char *props;
    gboolean    single;
  } cases[] = {
    { "", FALSE },
    { "tag", TRUE },
    { "source", TRUE },
    { "pinned", TRUE },
    { "unpinned", FALSE },
    { "all1", TRUE },
    { "all2", FALSE },
    { "any1", FALSE },
    { "tag,source", FALSE },
    { "tag,content", FALSE },
    { "tag,created", FALSE },
    { "tag,updated", FALSE },
  };

  g_assert_false (_net_memories_filter_is_single_index (NULL));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(NetMemoriesFilter) f = net_memories_filter_new ();
      g_auto(GStrv) props = g_strsplit (cases[i].props, ",", -1);

      for (guint j = 0; props[j] != NULL; j++)
        {
          const char *p = props[j];

          if (g_str_equal (p, "tag"))
            net_memories_filter_set_tag (f, "a");
          else if (g_str_equal (p, "source"))
            net_memories_filter_set_source (f, "alice");
          else if (g_str_equal (p, "pinned"))
            net_memories_filter_set_pinned (f, TRUE);
          else if (g_str_equal (p, "unpinned"))
            net_memories_filter_set_pinned (f, FALSE);
          else if (g_str_equal (p, "all1"))
            net_memories_filter_set_all_tags (f, one);
          else if (g_str_equal (p, "all2"))
            net_memories_filter_set_all_tags (f, two);
          else if (g_str_equal (p, "any1"))
            net_memories_filter_set_any_tags (f, one);
          else if (g_str_equal (p, "content"))
            net_memories_filter_set_content_contains (f, "x");
          else if (g_str_equal (p, "created"))
            net_memories_filter_set_created_after (f, 5);
          else if (g_str_equal (p, "updated"))
            net_memories_filter_set_updated_before (f, 5);
          else
            g_assert_not_reached ();
        }

      g_assert_cmpint (_net_memories_filter_is_single_index (f), ==, cases[i].single);
    }
}

static void
test_memories_filter_construct_notify (void)
{
  const char *any[] = { "a", "b", NULL };
  const char *all[] = { "c", NULL };
  const char *empty[] = { NULL };
  NetMemoriesFilter *filter;
  GString *log;

  filter = g_object_new (NET_TYPE_MEMORIES_FILTER,
                         "source", "phone",
                         "content-contains", "Bob",
                         "tag", "work",
                         "any-tags", any,
                         "all-tags", all,
                         "pinned", TRUE,
                         "created-after", (gint64) 1,
                         "created-before", (gint64) 2,
                         "updated-after", (gint64) 3,
                         "updated-before", (gint64) 4,
                         "order-by", NET_ORDER_BY_UPDATED_ASC,
                         "limit", 7,
                         "offset", 8,
                         NULL);
  g_assert_cmpstr (net_memories_filter_get_source (filter), ==, "phone");
  g_assert_cmpstr (net_memories_filter_get_content_contains (filter), ==, "Bob");
  g_assert_cmpstr (_net_memories_filter_get_folded_content (filter), ==, "bob");
  g_assert_cmpstr (net_memories_filter_get_tag (filter), ==, "work");
  g_assert_cmpstrv (net_memories_filter_get_any_tags (filter), any);
  g_assert_cmpstrv (net_memories_filter_get_all_tags (filter), all);
  g_assert_true (net_memories_filter_get_pinned (filter));
  g_assert_true (net_memories_filter_get_pinned_set (filter));
  g_assert_cmpint (net_memories_filter_get_created_after (filter), ==, 1);
  g_assert_cmpint (net_memories_filter_get_created_before (filter), ==, 2);
  g_assert_cmpint (net_memories_filter_get_updated_after (filter), ==, 3);
  g_assert_cmpint (net_memories_filter_get_updated_before (filter), ==, 4);
  g_assert_cmpint (net_memories_filter_get_order_by (filter), ==, NET_ORDER_BY_UPDATED_ASC);
  g_assert_cmpuint (net_memories_filter_get_limit (filter), ==, 7);
  g_assert_cmpuint (net_memories_filter_get_offset (filter), ==, 8);

  log = watch_notify (filter);
  /* Same values: quiet. */
  g_object_set (filter,
                "source", "phone", "content-contains", "Bob", "tag", "work",
                "any-tags", any, "all-tags", all, "pinned", TRUE,
                "created-after", (gint64) 1, "created-before", (gint64) 2,
                "updated-after", (gint64) 3, "updated-before", (gint64) 4,
                "order-by", NET_ORDER_BY_UPDATED_ASC, "limit", 7, "offset", 8,
                NULL);
  assert_notify (log, "");

  /* An empty list is stored as NULL: clearing twice notifies once. */
  net_memories_filter_set_any_tags (filter, empty);
  g_assert_null (net_memories_filter_get_any_tags (filter));
  net_memories_filter_set_any_tags (filter, NULL);
  net_memories_filter_set_all_tags (filter, NULL);
  net_memories_filter_set_all_tags (filter, empty);
  assert_notify (log, "all-tags;any-tags;");

  net_memories_filter_set_source (filter, NULL);
  net_memories_filter_set_content_contains (filter, NULL);
  net_memories_filter_set_tag (filter, NULL);
  net_memories_filter_set_created_after (filter, 0);
  net_memories_filter_set_created_before (filter, G_MAXINT64);
  net_memories_filter_set_updated_after (filter, 0);
  net_memories_filter_set_updated_before (filter, G_MAXINT64);
  net_memories_filter_set_order_by (filter, NET_ORDER_BY_ID_ASC);
  net_memories_filter_set_limit (filter, 0);
  net_memories_filter_set_offset (filter, 0);
  assert_notify (log, "content-contains;created-after;created-before;limit;offset;order-by;"
                      "source;tag;updated-after;updated-before;");

  g_signal_handlers_disconnect_by_data (filter, log);
  free_log (log);
  g_assert_finalize_object (filter);
}

static void
test_memories_filter_match_fields (void)
{
  const char *tags1[] = { "work", "urgent", NULL };
  NetMemoriesFilter *filter = net_memories_filter_new ();
  NetMemory *m1 = _net_memory_new (1, "Call Bob about the DATACENTER", tags1, "phone", 100, 200, TRUE);
  NetMemory *m2 = _net_memory_new (2, "Une école à Paris", NULL, NULL, 300, 400, FALSE);

  g_assert_true (_net_memories_filter_matches (NULL, m1));
  g_assert_true (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));

  /* Source: exact; a memory without source has the source "". */
  net_memories_filter_set_source (filter, "phone");
  g_assert_true (_net_memories_filter_matches (filter, m1));
  g_assert_false (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_source (filter, "Phone");
  g_assert_false (_net_memories_filter_matches (filter, m1));
  net_memories_filter_set_source (filter, "");
  g_assert_false (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_source (filter, NULL);

  /* Content: folded like titles. */
  net_memories_filter_set_content_contains (filter, "datacenter");
  g_assert_true (_net_memories_filter_matches (filter, m1));
  g_assert_false (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_content_contains (filter, "ÉCOLE");
  g_assert_false (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_content_contains (filter, "unicorn");
  g_assert_false (_net_memories_filter_matches (filter, m1));
  g_assert_false (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_content_contains (filter, "");
  g_assert_true (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));

  /* Pinned. */
  net_memories_filter_set_pinned (filter, TRUE);
  g_assert_true (_net_memories_filter_matches (filter, m1));
  g_assert_false (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_pinned (filter, FALSE);
  g_assert_false (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_unset_pinned (filter);
  g_assert_true (_net_memories_filter_matches (filter, m1));

  /* Time bounds, inclusive. */
  net_memories_filter_set_created_after (filter, 100);
  g_assert_true (_net_memories_filter_matches (filter, m1));
  net_memories_filter_set_created_after (filter, 101);
  g_assert_false (_net_memories_filter_matches (filter, m1));
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_created_after (filter, 0);
  net_memories_filter_set_created_before (filter, 300);
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_created_before (filter, 299);
  g_assert_false (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_created_before (filter, G_MAXINT64);
  net_memories_filter_set_updated_after (filter, 200);
  g_assert_true (_net_memories_filter_matches (filter, m1));
  net_memories_filter_set_updated_after (filter, 201);
  g_assert_false (_net_memories_filter_matches (filter, m1));
  net_memories_filter_set_updated_after (filter, 0);
  net_memories_filter_set_updated_before (filter, 400);
  g_assert_true (_net_memories_filter_matches (filter, m2));
  net_memories_filter_set_updated_before (filter, 399);
  g_assert_false (_net_memories_filter_matches (filter, m2));
  g_assert_true (_net_memories_filter_matches (filter, m1));
  net_memories_filter_set_updated_before (filter, G_MAXINT64);

  g_assert_finalize_object (m1);
  g_assert_finalize_object (m2);
  g_assert_finalize_object (filter);
}

static void
test_memories_filter_match_tags (void)
{
  const char *t_work_urgent[] = { "work", "urgent", NULL };
  const char *t_home[] = { "home", NULL };
  const char *q_work[] = { "work", NULL };
  const char *q_work_home[] = { "work", "home", NULL };
  const char *q_urgent_work[] = { "urgent", "work", NULL };
  const char *q_nothing[] = { "nothing", NULL };
  const char *q_empty[] = { NULL };
  NetMemoriesFilter *filter = net_memories_filter_new ();
  NetMemory *work = _net_memory_new (1, "a", t_work_urgent, NULL, 1, 1, FALSE);
  NetMemory *home = _net_memory_new (2, "b", t_home, NULL, 1, 1, FALSE);
  NetMemory *none = _net_memory_new (3, "c", NULL, NULL, 1, 1, FALSE);

  /* tag: membership. */
  net_memories_filter_set_tag (filter, "urgent");
  g_assert_true (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));
  g_assert_false (_net_memories_filter_matches (filter, none));
  /* Tags match case-insensitively, as search text does (issue 14). */
  net_memories_filter_set_tag (filter, "URGENT");
  g_assert_true (_net_memories_filter_matches (filter, work));
  net_memories_filter_set_tag (filter, "urgen");
  g_assert_false (_net_memories_filter_matches (filter, work));
  net_memories_filter_set_tag (filter, NULL);
  g_assert_true (_net_memories_filter_matches (filter, none));

  /* any-tags: OR. */
  net_memories_filter_set_any_tags (filter, q_work_home);
  g_assert_true (_net_memories_filter_matches (filter, work));
  g_assert_true (_net_memories_filter_matches (filter, home));
  g_assert_false (_net_memories_filter_matches (filter, none));
  net_memories_filter_set_any_tags (filter, q_nothing);
  g_assert_false (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));
  net_memories_filter_set_any_tags (filter, q_empty);
  g_assert_true (_net_memories_filter_matches (filter, none));
  net_memories_filter_set_any_tags (filter, NULL);
  g_assert_true (_net_memories_filter_matches (filter, none));

  /* all-tags: AND, in any order. */
  net_memories_filter_set_all_tags (filter, q_urgent_work);
  g_assert_true (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));
  g_assert_false (_net_memories_filter_matches (filter, none));
  net_memories_filter_set_all_tags (filter, q_work_home);
  g_assert_false (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));
  net_memories_filter_set_all_tags (filter, q_empty);
  g_assert_true (_net_memories_filter_matches (filter, none));
  g_assert_true (_net_memories_filter_matches (filter, work));

  /* The constraints combine with AND. */
  net_memories_filter_set_tag (filter, "urgent");
  net_memories_filter_set_any_tags (filter, q_work_home);
  net_memories_filter_set_all_tags (filter, q_work);
  g_assert_true (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));
  net_memories_filter_set_tag (filter, "home");
  g_assert_false (_net_memories_filter_matches (filter, work));
  g_assert_false (_net_memories_filter_matches (filter, home));

  /* A retag changes the answer. */
  _net_memory_update (home, "b", q_work_home, NULL, 1, 2, FALSE);
  g_assert_true (_net_memories_filter_matches (filter, home));

  g_assert_finalize_object (work);
  g_assert_finalize_object (home);
  g_assert_finalize_object (none);
  g_assert_finalize_object (filter);
}

static void
test_memories_filter_copy_equal (void)
{
  const char *any[] = { "a", "b", NULL };
  const char *any2[] = { "b", "a", NULL };
  const char *all[] = { "c", NULL };
  const char *empty[] = { NULL };
  NetMemoriesFilter *a = g_object_new (NET_TYPE_MEMORIES_FILTER,
                                       "source", "s",
                                       "content-contains", "Text",
                                       "tag", "t",
                                       "any-tags", any,
                                       "all-tags", all,
                                       "pinned", TRUE,
                                       "updated-after", (gint64) 5,
                                       "order-by", NET_ORDER_BY_UPDATED_DESC,
                                       "limit", 4,
                                       "offset", 1,
                                       NULL);
  NetMemoriesFilter *b = net_memories_filter_copy (a);
  NetOrderBy order;
  guint offset, limit;

  g_assert_true (net_memories_filter_equal (a, b));
  g_assert_cmpstr (net_memories_filter_get_source (b), ==, "s");
  g_assert_cmpstr (_net_memories_filter_get_folded_content (b), ==, "text");
  g_assert_cmpstrv (net_memories_filter_get_any_tags (b), any);
  g_assert_cmpstrv (net_memories_filter_get_all_tags (b), all);
  g_assert_true (net_memories_filter_get_pinned_set (b));
  g_assert_cmpint (net_memories_filter_get_updated_after (b), ==, 5);

  net_memories_filter_set_offset (b, 2);
  g_assert_false (net_memories_filter_equal (a, b));
  g_assert_true (_net_memories_filter_same_selection (a, b));
  net_memories_filter_set_offset (b, 1);

  net_memories_filter_set_any_tags (b, any2);
  g_assert_false (_net_memories_filter_same_selection (a, b));
  net_memories_filter_set_any_tags (b, any);
  net_memories_filter_set_all_tags (b, empty);
  g_assert_false (_net_memories_filter_same_selection (a, b));
  net_memories_filter_set_all_tags (b, all);
  net_memories_filter_set_pinned (b, FALSE);
  g_assert_false (_net_memories_filter_same_selection (a, b));
  net_memories_filter_unset_pinned (a);
  net_memories_filter_unset_pinned (b);
  g_assert_true (net_memories_filter_equal (a, b));
  net_memories_filter_set_content_contains (b, "TEXT");
  g_assert_false (net_memories_filter_equal (a, b));
  g_assert_true (_net_memories_filter_same_selection (a, b));
  g_object_unref (b);

  b = net_memories_filter_new ();
  g_assert_true (_net_memories_filter_same_selection (NULL, b));
  g_assert_false (_net_memories_filter_same_selection (a, NULL));
  net_memories_filter_set_any_tags (b, empty);
  net_memories_filter_set_content_contains (b, "");
  g_assert_true (_net_memories_filter_same_selection (b, NULL));

  _net_memories_filter_get_window (a, &order, &offset, &limit);
  g_assert_cmpint (order, ==, NET_ORDER_BY_UPDATED_DESC);
  g_assert_cmpuint (offset, ==, 1);
  g_assert_cmpuint (limit, ==, 4);
  _net_memories_filter_get_window (NULL, &order, &offset, &limit);
  g_assert_cmpint (order, ==, NET_ORDER_BY_ID_ASC);
  g_assert_cmpuint (offset, ==, 0);
  g_assert_cmpuint (limit, ==, 0);

  g_assert_finalize_object (b);
  g_assert_finalize_object (a);
}

static void
test_enum_types (void)
{
  GEnumClass *klass = g_type_class_ref (NET_TYPE_ORDER_BY);

  g_assert_cmpuint (klass->n_values, ==, 6);
  g_assert_cmpstr (g_enum_get_value (klass, NET_ORDER_BY_UPDATED_DESC)->value_nick, ==, "updated-desc");
  g_type_class_unref (klass);

  klass = g_type_class_ref (NET_TYPE_TASK_STATUS);
  g_assert_cmpuint (klass->n_values, ==, 2);
  g_assert_cmpstr (g_enum_get_value (klass, NET_TASK_STATUS_COMPLETED)->value_nick, ==, "completed");
  g_type_class_unref (klass);
}

/* Preconditions: each runs in a subprocess that must die on a critical. */

typedef void (*PreconditionFunc) (void);

static void pre_task_new_null_title (void) { _net_task_new (1, NULL, NET_TASK_STATUS_PENDING, 0, 0); }
static void pre_task_new_bad_status (void) { _net_task_new (1, "t", (NetTaskStatus) 7, 0, 0); }
static void pre_task_update_null (void) { _net_task_update (NULL, "t", NET_TASK_STATUS_PENDING, 0, 0); }
static void pre_task_update_null_title (void) { g_autoptr(NetTask) t = _net_task_new (1, "t", NET_TASK_STATUS_PENDING, 0, 0); _net_task_update (t, NULL, NET_TASK_STATUS_PENDING, 0, 0); }
static void pre_task_flush_null (void) { _net_task_flush_notify (NULL); }
static void pre_task_folded_null (void) { _net_task_get_folded_title (NULL); }
static void pre_task_get_id_null (void) { net_task_get_id (NULL); }
static void pre_task_get_title_null (void) { net_task_get_title (NULL); }
static void pre_task_get_status_null (void) { net_task_get_status (NULL); }
static void pre_task_get_created_null (void) { net_task_get_created_at (NULL); }
static void pre_task_get_updated_null (void) { net_task_get_updated_at (NULL); }
static void pre_task_get_title_wrong_type (void) { g_autoptr(NetTasksFilter) f = net_tasks_filter_new (); net_task_get_title ((NetTask *) f); }
static void pre_memory_new_null_content (void) { _net_memory_new (1, NULL, NULL, NULL, 0, 0, FALSE); }
static void pre_memory_update_null (void) { _net_memory_update (NULL, "c", NULL, NULL, 0, 0, FALSE); }
static void pre_memory_flush_null (void) { _net_memory_flush_notify (NULL); }
static void pre_memory_get_tags_null (void) { net_memory_get_tags (NULL); }
static void pre_memory_get_content_null (void) { net_memory_get_content (NULL); }
static void pre_memory_get_source_null (void) { net_memory_get_source (NULL); }
static void pre_memory_get_pinned_null (void) { net_memory_get_pinned (NULL); }
static void pre_memory_has_tag_null (void) { net_memory_has_tag (NULL, "a"); }
static void pre_memory_has_tag_null_tag (void) { g_autoptr(NetMemory) m = _net_memory_new (1, "c", NULL, NULL, 0, 0, FALSE); net_memory_has_tag (m, NULL); }
static void pre_tasks_filter_copy_null (void) { net_tasks_filter_copy (NULL); }
static void pre_tasks_filter_equal_null (void) { g_autoptr(NetTasksFilter) f = net_tasks_filter_new (); net_tasks_filter_equal (f, NULL); }
static void pre_tasks_filter_set_status_null (void) { net_tasks_filter_set_status (NULL, NET_TASK_STATUS_PENDING); }
static void pre_tasks_filter_set_status_bad (void) { g_autoptr(NetTasksFilter) f = net_tasks_filter_new (); net_tasks_filter_set_status (f, (NetTaskStatus) 9); }
static void pre_tasks_filter_unset_status_null (void) { net_tasks_filter_unset_status (NULL); }
static void pre_tasks_filter_set_title_null (void) { net_tasks_filter_set_title_contains (NULL, "x"); }
static void pre_tasks_filter_set_order_bad (void) { g_autoptr(NetTasksFilter) f = net_tasks_filter_new (); net_tasks_filter_set_order_by (f, (NetOrderBy) 42); }
static void pre_tasks_filter_set_limit_null (void) { net_tasks_filter_set_limit (NULL, 1); }
static void pre_tasks_filter_get_limit_null (void) { net_tasks_filter_get_limit (NULL); }
static void pre_tasks_filter_matches_null_task (void) { engine_matches (NULL, NULL); }
static void pre_tasks_filter_matches_wrong_filter (void) { g_autoptr(NetTask) t = _net_task_new (1, "t", NET_TASK_STATUS_PENDING, 0, 0); engine_matches ((NetTasksFilter *) t, t); }
static void pre_memories_filter_copy_null (void) { net_memories_filter_copy (NULL); }
static void pre_memories_filter_equal_null (void) { net_memories_filter_equal (NULL, NULL); }
static void pre_memories_filter_set_source_null (void) { net_memories_filter_set_source (NULL, "s"); }
static void pre_memories_filter_set_any_null (void) { net_memories_filter_set_any_tags (NULL, NULL); }
static void pre_memories_filter_set_all_null (void) { net_memories_filter_set_all_tags (NULL, NULL); }
static void pre_memories_filter_set_pinned_null (void) { net_memories_filter_set_pinned (NULL, TRUE); }
static void pre_memories_filter_set_order_bad (void) { g_autoptr(NetMemoriesFilter) f = net_memories_filter_new (); net_memories_filter_set_order_by (f, (NetOrderBy) 6); }
static void pre_memories_filter_matches_null (void) { _net_memories_filter_matches (NULL, NULL); }
static void pre_fold_null (void) { _net_db_fold_text (NULL); }

static const struct {
  const char       *name;
  PreconditionFunc  func;
} preconditions[] = {
  { "task-new-null-title", pre_task_new_null_title },
  { "task-new-bad-status", pre_task_new_bad_status },
  { "task-update-null", pre_task_update_null },
  { "task-update-null-title", pre_task_update_null_title },
  { "task-flush-null", pre_task_flush_null },
  { "task-folded-title-null", pre_task_folded_null },
  { "task-get-id-null", pre_task_get_id_null },
  { "task-get-title-null", pre_task_get_title_null },
  { "task-get-status-null", pre_task_get_status_null },
  { "task-get-created-at-null", pre_task_get_created_null },
  { "task-get-updated-at-null", pre_task_get_updated_null },
  { "task-get-title-wrong-type", pre_task_get_title_wrong_type },
  { "memory-new-null-content", pre_memory_new_null_content },
  { "memory-update-null", pre_memory_update_null },
  { "memory-flush-null", pre_memory_flush_null },
  { "memory-get-tags-null", pre_memory_get_tags_null },
  { "memory-get-content-null", pre_memory_get_content_null },
  { "memory-get-source-null", pre_memory_get_source_null },
  { "memory-get-pinned-null", pre_memory_get_pinned_null },
  { "memory-has-tag-null", pre_memory_has_tag_null },
  { "memory-has-tag-null-tag", pre_memory_has_tag_null_tag },
  { "tasks-filter-copy-null", pre_tasks_filter_copy_null },
  { "tasks-filter-equal-null", pre_tasks_filter_equal_null },
  { "tasks-filter-set-status-null", pre_tasks_filter_set_status_null },
  { "tasks-filter-set-status-invalid", pre_tasks_filter_set_status_bad },
  { "tasks-filter-unset-status-null", pre_tasks_filter_unset_status_null },
  { "tasks-filter-set-title-contains-null", pre_tasks_filter_set_title_null },
  { "tasks-filter-set-order-by-invalid", pre_tasks_filter_set_order_bad },
  { "tasks-filter-set-limit-null", pre_tasks_filter_set_limit_null },
  { "tasks-filter-get-limit-null", pre_tasks_filter_get_limit_null },
  { "tasks-filter-matches-null-task", pre_tasks_filter_matches_null_task },
  { "tasks-filter-matches-wrong-filter", pre_tasks_filter_matches_wrong_filter },
  { "memories-filter-copy-null", pre_memories_filter_copy_null },
  { "memories-filter-equal-null", pre_memories_filter_equal_null },
  { "memories-filter-set-source-null", pre_memories_filter_set_source_null },
  { "memories-filter-set-any-tags-null", pre_memories_filter_set_any_null },
  { "memories-filter-set-all-tags-null", pre_memories_filter_set_all_null },
  { "memories-filter-set-pinned-null", pre_memories_filter_set_pinned_null },
  { "memories-filter-set-order-by-invalid", pre_memories_filter_set_order_bad },
  { "memories-filter-matches-null", pre_memories_filter_matches_null },
  { "fold-text-null", pre_fold_null },
};

static void
test_precondition (gconstpointer data)
{
  guint i = GPOINTER_TO_UINT (data);

  if (g_test_subprocess ())
    {
      preconditions[i].func ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/db/items/fold/text", test_fold_text);
  g_test_add_func ("/db/items/fold/invalid-utf8", test_fold_text_invalid);
  g_test_add_func ("/db/items/enums", test_enum_types);
  g_test_add_func ("/db/items/order/values", test_order_compare_values);

  g_test_add_func ("/db/items/task/basic", test_task_basic);
  g_test_add_func ("/db/items/task/read-only", test_task_properties_read_only);
  g_test_add_func ("/db/items/task/pending-notify", test_task_pending_notify);
  g_test_add_func ("/db/items/task/flush-reentrant", test_task_flush_reentrant);
  g_test_add_func ("/db/items/task/folded-title", test_task_folded_title);
  g_test_add_func ("/db/items/task/compare", test_task_compare);

  g_test_add_func ("/db/items/memory/basic", test_memory_basic);
  g_test_add_func ("/db/items/memory/no-tags", test_memory_no_tags);
  g_test_add_func ("/db/items/memory/many-tags", test_memory_many_tags);
  g_test_add_func ("/db/items/memory/pending-notify", test_memory_pending_notify);
  g_test_add_func ("/db/items/memory/folded-content", test_memory_folded_content);
  g_test_add_func ("/db/items/memory/compare", test_memory_compare);

  g_test_add_func ("/db/items/tasks-filter/defaults", test_tasks_filter_defaults);
  g_test_add_func ("/db/items/tasks-filter/status-set", test_tasks_filter_status_set);
  g_test_add_func ("/db/items/tasks-filter/construct", test_tasks_filter_construct);
  g_test_add_func ("/db/items/tasks-filter/notify", test_tasks_filter_notify);
  g_test_add_func ("/db/items/tasks-filter/match/status", test_tasks_filter_match_status);
  g_test_add_func ("/db/items/tasks-filter/match/title", test_tasks_filter_match_title);
  g_test_add_func ("/db/items/tasks-filter/match/time", test_tasks_filter_match_time);
  g_test_add_func ("/db/items/tasks-filter/copy-equal", test_tasks_filter_copy_equal);

  g_test_add_func ("/db/items/memories-filter/defaults", test_memories_filter_defaults);
  g_test_add_func ("/db/items/memories-filter/pinned-set", test_memories_filter_pinned_set);
  g_test_add_func ("/db/items/memories-filter/single-index", test_memories_filter_single_index);
  g_test_add_func ("/db/items/memories-filter/construct-notify", test_memories_filter_construct_notify);
  g_test_add_func ("/db/items/memories-filter/match/fields", test_memories_filter_match_fields);
  g_test_add_func ("/db/items/memories-filter/match/tags", test_memories_filter_match_tags);
  g_test_add_func ("/db/items/memories-filter/copy-equal", test_memories_filter_copy_equal);

  for (guint i = 0; i < G_N_ELEMENTS (preconditions); i++)
    {
      g_autofree char *path = g_strdup_printf ("/db/items/preconditions/%s", preconditions[i].name);
      g_test_add_data_func (path, GUINT_TO_POINTER (i), test_precondition);
    }

  return g_test_run ();
}
