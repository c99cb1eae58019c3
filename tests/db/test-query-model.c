/* test-query-model.c: live queries (NetQueryModel)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "netdb.h"

/* Records every items-changed as "pos,removed,added;" and replays it onto
 * a mirror array, which must always equal the model (GTK testsuite
 * style). */
typedef struct
{
  GListModel *model;
  GString    *log;
  GPtrArray  *mirror;
  guint       n_items_notifies;
} Recorder;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Recorder   *rec)
{
  g_assert_true (removed > 0 || added > 0);
  g_assert_cmpuint (position + removed, <=, rec->mirror->len);
  g_string_append_printf (rec->log, "%u,%u,%u;", position, removed, added);

  g_ptr_array_remove_range (rec->mirror, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (rec->mirror, position + i, g_list_model_get_item (model, position + i));

  /* The model is in the state the emission describes. */
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, rec->mirror->len);
}

static void
on_n_items (GObject    *model,
            GParamSpec *pspec,
            Recorder   *rec)
{
  rec->n_items_notifies++;
}

static Recorder *
recorder_new (GListModel *model)
{
  Recorder *rec = g_new0 (Recorder, 1);

  rec->model = g_object_ref (model);
  rec->log = g_string_new (NULL);
  rec->mirror = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    g_ptr_array_add (rec->mirror, g_list_model_get_item (model, i));
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), rec);
  g_signal_connect (model, "notify::n-items", G_CALLBACK (on_n_items), rec);
  return rec;
}

static void
recorder_free (Recorder *rec)
{
  g_signal_handlers_disconnect_by_data (rec->model, rec);
  g_object_unref (rec->model);
  g_string_free (rec->log, TRUE);
  g_ptr_array_unref (rec->mirror);
  g_free (rec);
}

/* The changes since the last call, then forgets them. */
static char *
recorder_take (Recorder *rec)
{
  char *log = g_strdup (rec->log->str);

  g_string_truncate (rec->log, 0);
  return log;
}

static void
assert_mirror (Recorder *rec)
{
  g_assert_cmpuint (rec->mirror->len, ==, g_list_model_get_n_items (rec->model));
  for (guint i = 0; i < rec->mirror->len; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (rec->model, i);

      g_assert_true (item == g_ptr_array_index (rec->mirror, i));
    }
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

#define assert_log(rec, expected) G_STMT_START {          \
    g_autofree char *got_ = recorder_take (rec);          \
    g_assert_cmpstr (got_, ==, expected);                 \
    assert_mirror (rec);                                  \
  } G_STMT_END

typedef struct
{
  NetRedex   *redex;
  NetDbTasks *tasks;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->redex = net_redex_new (NULL, &error);
  g_assert_no_error (error);
  f->tasks = net_db_tasks_new (f->redex, NULL, 1, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  net_db_tasks_close (f->tasks, NULL);
  g_clear_object (&f->tasks);
  net_redex_close (f->redex, NULL);
  g_clear_object (&f->redex);
}

static void
create (Fixture    *f,
        guint64     id,
        const char *title,
        gint64      ts)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_db_tasks_create (f->tasks, id, title, ts, &error), >, 0);
  g_assert_no_error (error);
}

static NetTasksFilter *
pending_filter (void)
{
  return g_object_new (NET_TYPE_TASKS_FILTER, "status", NET_TASK_STATUS_PENDING, NULL);
}

static void
test_watch_basics (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(NetTasksFilter) pending = pending_filter ();
  g_autoptr(NetQueryModel) model = net_db_tasks_watch (f->tasks, pending);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetTask) two = NULL;
  Recorder *rec = recorder_new (G_LIST_MODEL (model));
  guint64 seq;
  guint notifies = 0;

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == NET_TYPE_TASK);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_true (net_query_model_get_filter (model) == G_OBJECT (pending));

  /* Into an empty model; nothing before the dispatch. */
  create (f, 1, "one", 100);
  g_assert_cmpstr (rec->log->str, ==, "");
  drain ();
  assert_log (rec, "0,0,1;");
  g_assert_cmpuint (rec->n_items_notifies, ==, 1);

  /* In the middle of a sorted model. */
  create (f, 3, "three", 300);
  drain ();
  assert_log (rec, "1,0,1;");
  create (f, 2, "two", 200);
  drain ();
  assert_log (rec, "1,0,1;");

  /* A rename that keeps the position: only a notify on the item. */
  two = net_db_tasks_get (f->tasks, 2);
  g_signal_connect_swapped (two, "notify::title", G_CALLBACK (g_nullify_pointer), &notifies);
  notifies = 1;
  g_assert_cmpuint (net_db_tasks_rename (f->tasks, 2, "deux", 400, &error), >, 0);
  drain ();
  assert_log (rec, "");
  g_assert_cmpuint (notifies, ==, 0);
  g_assert_cmpstr (net_task_get_title (two), ==, "deux");

  /* Completing leaves the pending watch. */
  seq = net_db_tasks_complete (f->tasks, 1, 500, &error);
  g_assert_no_error (error);
  drain ();
  assert_log (rec, "0,1,0;");
  g_assert_cmpuint (net_query_model_get_seq (model), ==, seq);

  /* Delete. */
  g_assert_cmpuint (net_db_tasks_delete (f->tasks, 3, &error), >, 0);
  drain ();
  assert_log (rec, "1,1,0;");

  /* Out of range. */
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), 1));

  recorder_free (rec);
}

static void
test_watch_move (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(NetTasksFilter) filter = g_object_new (NET_TYPE_TASKS_FILTER,
                                                   "order-by", NET_ORDER_BY_UPDATED_DESC, NULL);
  g_autoptr(NetQueryModel) model = NULL;
  g_autoptr(GError) error = NULL;
  Recorder *rec;

  for (guint i = 1; i <= 5; i++)
    create (f, i, "t", 100 * i);
  drain ();

  model = net_db_tasks_watch (f->tasks, filter);
  rec = recorder_new (G_LIST_MODEL (model));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 5);

  /* Task 2 is at position 3 of [5,4,3,2,1]; renamed now, it goes first. */
  g_assert_cmpuint (net_db_tasks_rename (f->tasks, 2, "moved", 1000, &error), >, 0);
  drain ();
  assert_log (rec, "3,1,0;0,0,1;");

  recorder_free (rec);
}

/* 64 changes in one dispatch: appended in order, they are one range. */
static void
test_watch_batch (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(NetQueryModel) model = net_db_tasks_watch (f->tasks, NULL);
  Recorder *rec = recorder_new (G_LIST_MODEL (model));

  create (f, 1000, "first", 1);
  drain ();
  assert_log (rec, "0,0,1;");

  for (guint i = 0; i < 64; i++)
    create (f, 2000 + i, "batch", 10 + i);
  drain ();
  assert_log (rec, "1,0,64;");
  g_assert_cmpuint (rec->n_items_notifies, ==, 2);

  /* Deleting them again, in order: one range too. */
  for (guint i = 0; i < 64; i++)
    net_db_tasks_delete (f->tasks, 2000 + i, NULL);
  drain ();
  assert_log (rec, "1,64,0;");

  recorder_free (rec);
}

static void
test_watch_filter_change (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(NetTasksFilter) filter = g_object_new (NET_TYPE_TASKS_FILTER, "title-contains", "a", NULL);
  g_autoptr(NetQueryModel) model = NULL;
  Recorder *rec;

  create (f, 1, "apple", 1);
  create (f, 2, "banana", 2);
  create (f, 3, "cherry", 3);
  create (f, 4, "date", 4);
  drain ();

  model = net_db_tasks_watch (f->tasks, filter);
  rec = recorder_new (G_LIST_MODEL (model));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);   /* 1, 2, 4 */

  /* Narrowing: "an" keeps banana only: one range from the first to the
   * last difference. */
  net_tasks_filter_set_title_contains (filter, "an");
  assert_log (rec, "0,3,1;");

  /* A new filter object, as the property. */
  {
    g_autoptr(NetTasksFilter) all = net_tasks_filter_new ();

    g_object_set (model, "filter", all, NULL);
    assert_log (rec, "0,1,4;");
  }

  /* The same selection again: nothing. */
  net_query_model_set_filter (model, NULL);
  assert_log (rec, "");

  recorder_free (rec);
}

static void
test_watch_window (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(NetTasksFilter) filter = g_object_new (NET_TYPE_TASKS_FILTER,
                                                   "offset", 2, "limit", 3, NULL);
  g_autoptr(NetQueryModel) model = NULL;
  Recorder *rec;

  model = net_db_tasks_watch (f->tasks, filter);
  rec = recorder_new (G_LIST_MODEL (model));

  /* Ids 10, 20: still nothing reaches the window. */
  create (f, 10, "t", 1);
  create (f, 20, "t", 1);
  drain ();
  assert_log (rec, "");

  /* 30, 40, 50, 60: the window fills up with 30, 40, 50. */
  for (guint i = 3; i <= 6; i++)
    create (f, i * 10, "t", 1);
  drain ();
  assert_log (rec, "0,0,3;");

  /* 5 goes before the window: 20 enters at the front, then 50 leaves at
   * the end (between the two, the model holds 4 items). */
  create (f, 5, "t", 1);
  drain ();
  assert_log (rec, "0,0,1;3,1,0;");

  /* 25 lands inside [20, 30, 40]: then 40 leaves. */
  create (f, 25, "t", 1);
  drain ();
  assert_log (rec, "1,0,1;3,1,0;");

  /* Removing 25 again: 40 comes back at the end. */
  net_db_tasks_delete (f->tasks, 25, NULL);
  drain ();
  assert_log (rec, "1,1,0;2,0,1;");

  /* Inserted at the window's last place: one emission, (2, 1, 1). */
  create (f, 35, "t", 1);
  drain ();
  assert_log (rec, "2,1,1;");

  /* Past the window: nothing. */
  create (f, 1000, "t", 1);
  drain ();
  assert_log (rec, "");

  recorder_free (rec);
}

/* Checks, at each emission, the title of every item it adds. */
static void
on_items_changed_titles (GListModel *model,
                         guint       position,
                         guint       removed,
                         guint       added,
                         GString    *titles)
{
  for (guint i = 0; i < added; i++)
    {
      g_autoptr(NetTask) task = g_list_model_get_item (model, position + i);

      g_string_append_printf (titles, "%s;", net_task_get_title (task));
    }
}

static void
rename_task (Fixture    *f,
             guint64     id,
             const char *title)
{
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (net_db_tasks_rename (f->tasks, id, title, 0, &error), >, 0);
  g_assert_no_error (error);
}

/* NetQueryModel:report-updates: an in-place change is also (p, 1, 1), for
 * the GtkFilterListModel or GtkSortListModel stacked above. */
static void
test_watch_report_updates (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(NetQueryModel) model = net_db_tasks_watch (f->tasks, NULL);
  g_autoptr(NetTasksFilter) window = g_object_new (NET_TYPE_TASKS_FILTER, "offset", 1, "limit", 2, NULL);
  g_autoptr(NetQueryModel) windowed = net_db_tasks_watch (f->tasks, window);
  g_autoptr(GString) titles = g_string_new (NULL);
  Recorder *rec = recorder_new (G_LIST_MODEL (model));
  Recorder *wrec = recorder_new (G_LIST_MODEL (windowed));
  guint notifies = 0;

  g_assert_false (net_query_model_get_report_updates (model));
  g_signal_connect_swapped (model, "notify::report-updates", G_CALLBACK (g_nullify_pointer), &notifies);
  notifies = 1;
  g_object_set (model, "report-updates", TRUE, NULL);
  g_assert_cmpuint (notifies, ==, 0);
  notifies = 1;
  net_query_model_set_report_updates (model, TRUE);
  g_assert_cmpuint (notifies, ==, 1);   /* no change, no notify */
  net_query_model_set_report_updates (windowed, TRUE);

  for (guint i = 1; i <= 5; i++)
    create (f, i, "t", 10 * i);
  drain ();
  assert_log (rec, "0,0,5;");
  assert_log (wrec, "0,0,2;");

  /* One in place: the item replaced by itself, already holding its new
   * title when the emission comes. */
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed_titles), titles);
  rename_task (f, 3, "three");
  drain ();
  assert_log (rec, "2,1,1;");
  g_assert_cmpstr (titles->str, ==, "three;");
  assert_log (wrec, "1,1,1;");

  /* Neighbours in one dispatch: one emission. */
  rename_task (f, 1, "one");
  rename_task (f, 2, "two");
  drain ();
  assert_log (rec, "0,2,2;");
  /* (Only 2 is in the window [2, 3].) */
  assert_log (wrec, "0,1,1;");

  /* Apart: one each, in the order of the changes. */
  rename_task (f, 4, "four");
  rename_task (f, 2, "deux");
  drain ();
  assert_log (rec, "3,1,1;1,1,1;");
  assert_log (wrec, "0,1,1;");

  /* Next to an insertion in the same dispatch: joined. */
  create (f, 6, "six", 60);
  rename_task (f, 5, "five");
  drain ();
  assert_log (rec, "4,1,2;");
  assert_log (wrec, "");

  /* A delete and an in-place change side by side. */
  net_db_tasks_delete (f->tasks, 6, NULL);
  rename_task (f, 5, "cinq");
  drain ();
  assert_log (rec, "4,2,1;");

  /* Off again: only the item notifies. */
  net_query_model_set_report_updates (model, FALSE);
  rename_task (f, 3, "trois");
  drain ();
  assert_log (rec, "");
  assert_log (wrec, "1,1,1;");

  g_signal_handlers_disconnect_by_data (model, titles);
  recorder_free (wrec);
  recorder_free (rec);
}

static void
test_watch_unref (Fixture       *f,
                  gconstpointer  data)
{
  NetQueryModel *model = net_db_tasks_watch (f->tasks, NULL);
  GWeakRef weak;

  g_weak_ref_init (&weak, model);
  g_object_unref (model);
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);

  /* Mutations after that do not touch it. */
  create (f, 1, "t", 1);
  drain ();
}

static void
test_watch_close_and_restore (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(NetQueryModel) model = net_db_tasks_watch (f->tasks, NULL);
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GError) error = NULL;
  Recorder *rec = recorder_new (G_LIST_MODEL (model));

  create (f, 1, "a", 1);
  create (f, 2, "b", 2);
  drain ();
  assert_log (rec, "0,0,2;");
  snap = net_db_tasks_snapshot (f->tasks, &error);
  g_assert_no_error (error);

  create (f, 3, "c", 3);
  net_db_tasks_delete (f->tasks, 1, NULL);
  drain ();
  assert_log (rec, "2,0,1;0,1,0;");

  /* A restore on the same log replays the events after the snapshot:
   * the same state, nothing to emit. */
  g_assert_true (net_db_tasks_restore (f->tasks, snap, &error));
  g_assert_no_error (error);
  drain ();
  assert_log (rec, "");

  /* The snapshot of another history ({7, 8, 9} at seq 3), then the event
   * after it here (seq 4 deletes 1, which it does not have): the model is
   * recomputed as one range, from the next dispatch. */
  {
    g_autoptr(NetRedex) other_redex = net_redex_new (NULL, &error);
    g_autoptr(NetDbTasks) other = net_db_tasks_new (other_redex, NULL, 2, &error);
    g_autoptr(GBytes) other_snap = NULL;

    for (guint i = 7; i <= 9; i++)
      net_db_tasks_create (other, i, "o", i, &error);
    other_snap = net_db_tasks_snapshot (other, &error);
    g_assert_no_error (error);
    net_db_tasks_close (other, NULL);
    net_redex_close (other_redex, NULL);

    g_assert_true (net_db_tasks_restore (f->tasks, other_snap, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (rec->log->str, ==, "");
    drain ();
    assert_log (rec, "0,2,3;");
  }

  /* Closed: the model keeps its contents. */
  g_assert_true (net_db_tasks_close (f->tasks, &error));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);
  assert_mirror (rec);

  recorder_free (rec);
}

/* Random mutations with several live models of random filters: after
 * every dispatch each equals find_many() of its filter, and replaying its
 * emissions reproduces it. */
static void
test_watch_random (Fixture       *f,
                   gconstpointer  data)
{
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  NetQueryModel *models[6];
  Recorder *recs[6];
  guint n_models = G_N_ELEMENTS (models);
  guint rounds = g_test_slow () ? 400 : 120;
  g_autoptr(GBytes) snap = NULL;

  for (guint m = 0; m < n_models; m++)
    {
      g_autoptr(NetTasksFilter) filter = net_tasks_filter_new ();

      if (m > 0)
        {
          if (g_rand_boolean (rand))
            net_tasks_filter_set_status (filter, g_rand_int_range (rand, 0, 2));
          net_tasks_filter_set_order_by (filter, g_rand_int_range (rand, 0, 6));
          if (m % 2 == 0)
            net_tasks_filter_set_limit (filter, g_rand_int_range (rand, 1, 20));
          if (m % 3 == 0)
            net_tasks_filter_set_offset (filter, g_rand_int_range (rand, 0, 10));
          if (m == 5)
            net_tasks_filter_set_title_contains (filter, "x");
        }
      models[m] = net_db_tasks_watch (f->tasks, filter);
      recs[m] = recorder_new (G_LIST_MODEL (models[m]));
    }

  for (guint round = 0; round < rounds; round++)
    {
      guint n_ops = g_rand_int_range (rand, 1, 40);

      for (guint i = 0; i < n_ops; i++)
        {
          guint64 id = g_rand_int_range (rand, 1, 200);
          gint64 ts = g_rand_int_range (rand, 1, 50);

          switch (g_rand_int_range (rand, 0, 5))
            {
            case 0:
            case 1:
              net_db_tasks_create (f->tasks, id, g_rand_boolean (rand) ? "x" : "y", ts, NULL);
              break;
            case 2:
              net_db_tasks_rename (f->tasks, id, g_rand_boolean (rand) ? "xx" : "yy", ts, NULL);
              break;
            case 3:
              net_db_tasks_complete (f->tasks, id, ts, NULL);
              break;
            default:
              net_db_tasks_delete (f->tasks, id, NULL);
              break;
            }
        }

      /* Now and then a restore (the log replays what followed it). */
      if (round % 10 == 0)
        {
          g_clear_pointer (&snap, g_bytes_unref);
          snap = net_db_tasks_snapshot (f->tasks, NULL);
        }
      else if (g_rand_int_range (rand, 0, 8) == 0)
        {
          g_autoptr(GError) error = NULL;

          g_assert_true (net_db_tasks_restore (f->tasks, snap, &error));
          g_assert_no_error (error);
        }

      /* Now and then a filter changes under a model. */
      if (g_rand_int_range (rand, 0, 10) == 0)
        {
          guint m = g_rand_int_range (rand, 1, n_models);
          NetTasksFilter *filter = (NetTasksFilter *) net_query_model_get_filter (models[m]);

          net_tasks_filter_set_order_by (filter, g_rand_int_range (rand, 0, 6));
        }

      drain ();

      for (guint m = 0; m < n_models; m++)
        {
          g_autoptr(GPtrArray) expected =
            net_db_tasks_find_many (f->tasks, (NetTasksFilter *) net_query_model_get_filter (models[m]));
          g_autofree char *log = recorder_take (recs[m]);

          g_assert_cmpuint (expected->len, ==, g_list_model_get_n_items (G_LIST_MODEL (models[m])));
          for (guint i = 0; i < expected->len; i++)
            {
              g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (models[m]), i);

              g_assert_true (item == g_ptr_array_index (expected, i));
            }
          assert_mirror (recs[m]);
          g_assert_cmpuint (net_query_model_get_seq (models[m]), ==,
                            net_db_tasks_get_applied_seq (f->tasks));
        }
    }

  for (guint m = 0; m < n_models; m++)
    {
      recorder_free (recs[m]);
      g_object_unref (models[m]);
    }
  g_rand_free (rand);
}

static NetDbMemories *
memories_new (NetRedex *redex)
{
  g_autoptr(GError) error = NULL;
  NetDbMemories *memories = net_db_memories_new (redex, NULL, 1, &error);

  g_assert_no_error (error);
  return memories;
}

/* The tag watch. */
static void
test_watch_memories_tag (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(NetDbMemories) memories = memories_new (f->redex);
  g_autoptr(NetMemoriesFilter) urgent = g_object_new (NET_TYPE_MEMORIES_FILTER, "tag", "urgent", NULL);
  g_autoptr(NetQueryModel) model = net_db_memories_watch (memories, urgent);
  const char *none[] = { NULL }, *u[] = { "urgent", NULL }, *wu[] = { "work", "urgent", NULL };
  Recorder *rec = recorder_new (G_LIST_MODEL (model));

  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == NET_TYPE_MEMORY);

  net_db_memories_store (memories, 1, "plain", none, NULL, 1, NULL);
  drain ();
  assert_log (rec, "");

  net_db_memories_store (memories, 2, "on fire", u, NULL, 2, NULL);
  drain ();
  assert_log (rec, "0,0,1;");

  net_db_memories_retag (memories, 1, wu, 3, NULL);
  drain ();
  assert_log (rec, "0,0,1;");

  /* Pinning changes a field, not the position. */
  net_db_memories_pin (memories, 2, 4, NULL);
  drain ();
  assert_log (rec, "");

  net_db_memories_delete (memories, 1, NULL);
  drain ();
  assert_log (rec, "0,1,0;");

  recorder_free (rec);
  net_db_memories_close (memories, NULL);
}

static void
test_watch_memories_random (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(NetDbMemories) memories = memories_new (f->redex);
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  const char *tag_names[] = { "a", "b", "c" };
  NetQueryModel *models[5];
  Recorder *recs[5];
  guint n_models = G_N_ELEMENTS (models);

  for (guint m = 0; m < n_models; m++)
    {
      g_autoptr(NetMemoriesFilter) filter = net_memories_filter_new ();

      if (m == 1)
        net_memories_filter_set_tag (filter, "a");
      if (m == 2)
        net_memories_filter_set_pinned (filter, TRUE);
      if (m == 3)
        {
          const char *any[] = { "b", "c", NULL };

          net_memories_filter_set_any_tags (filter, any);
          net_memories_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_DESC);
          net_memories_filter_set_limit (filter, 7);
        }
      if (m == 4)
        {
          net_memories_filter_set_source (filter, "s1");
          net_memories_filter_set_order_by (filter, NET_ORDER_BY_CREATED_ASC);
          net_memories_filter_set_offset (filter, 3);
        }
      models[m] = net_db_memories_watch (memories, filter);
      recs[m] = recorder_new (G_LIST_MODEL (models[m]));
    }

  for (guint round = 0; round < 100; round++)
    {
      guint n_ops = g_rand_int_range (rand, 1, 30);

      for (guint i = 0; i < n_ops; i++)
        {
          guint64 id = g_rand_int_range (rand, 1, 120);
          gint64 ts = g_rand_int_range (rand, 1, 40);
          const char *tags[3] = { NULL, NULL, NULL };

          for (guint t = 0, k = 0; t < 3; t++)
            if (g_rand_boolean (rand))
              tags[k++] = tag_names[t];
          if (tags[2] != NULL)
            tags[2] = NULL;

          switch (g_rand_int_range (rand, 0, 6))
            {
            case 0:
            case 1:
              net_db_memories_store (memories, id, "m", tags, g_rand_boolean (rand) ? "s1" : "s2", ts, NULL);
              break;
            case 2:
              net_db_memories_retag (memories, id, tags, ts, NULL);
              break;
            case 3:
              net_db_memories_pin (memories, id, ts, NULL);
              break;
            case 4:
              net_db_memories_unpin (memories, id, ts, NULL);
              break;
            default:
              net_db_memories_delete (memories, id, NULL);
              break;
            }
        }
      drain ();

      for (guint m = 0; m < n_models; m++)
        {
          g_autoptr(GPtrArray) expected =
            net_db_memories_find_many (memories, (NetMemoriesFilter *) net_query_model_get_filter (models[m]));
          g_autofree char *log = recorder_take (recs[m]);

          g_assert_cmpuint (expected->len, ==, g_list_model_get_n_items (G_LIST_MODEL (models[m])));
          for (guint i = 0; i < expected->len; i++)
            {
              g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (models[m]), i);

              g_assert_true (item == g_ptr_array_index (expected, i));
            }
          assert_mirror (recs[m]);
        }
    }

  for (guint m = 0; m < n_models; m++)
    {
      recorder_free (recs[m]);
      g_object_unref (models[m]);
    }
  g_rand_free (rand);
  net_db_memories_close (memories, NULL);
}

/* Fills in steps ------------------------------------------------------------- */

/* More than a fill does before watch() returns (8192 entries). */
#define LARGE_N 20000
/* Enough for a fill of many steps on any machine (about 20 on one that
 * fills a million in 250 ms): the 5 ms timeout of the fill test ticks
 * meanwhile. */
#define HUGE_N  200000

static void
populate (Fixture *f,
          guint    n)
{
  for (guint i = 1; i <= n; i++)
    {
      char title[32];

      g_snprintf (title, sizeof title, "task-%u", i);
      /* Created times out of id order, some shared: the ordered walks
       * meet ties. */
      create (f, i, title, 1000 + (gint64) ((i * 7919u) % (n / 2 + 1)));
      if (i % 3 == 0)
        g_assert_cmpuint (net_db_tasks_complete (f->tasks, i, 0, NULL), >, 0);
    }
  drain ();
}

static void
assert_equals_find_many (Fixture       *f,
                         NetQueryModel *model)
{
  g_autoptr(GPtrArray) expected =
    net_db_tasks_find_many (f->tasks, (NetTasksFilter *) net_query_model_get_filter (model));

  g_assert_cmpuint (net_query_model_get_pending (model), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, expected->len);
  for (guint i = 0; i < expected->len; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (model), i);

      g_assert_true (item == g_ptr_array_index (expected, i));
    }
}

static gboolean
fail_on_timeout (gpointer data)
{
  g_error ("timed out waiting for the fill");
  return G_SOURCE_REMOVE;
}

/* Spins the loop until the model is full and every event is delivered. */
static void
wait_filled (NetQueryModel *model)
{
  guint guard = g_timeout_add_seconds (60, fail_on_timeout, NULL);

  while (net_query_model_get_pending (model) > 0)
    g_main_context_iteration (NULL, TRUE);
  drain ();
  g_source_remove (guard);
}

typedef struct
{
  NetQueryModel *model;
  guint          ticks;
  guint          ticks_while_filling;
  guint          pending_notifies;
  guint          pending_at_once;
} Ticker;

static gboolean
ticker_cb (gpointer data)
{
  Ticker *t = data;

  t->ticks++;
  if (net_query_model_get_pending (t->model) > 0)
    t->ticks_while_filling++;
  return G_SOURCE_CONTINUE;
}

/* Dispatched once: what the model still had to examine then. */
static gboolean
once_cb (gpointer data)
{
  Ticker *t = data;

  t->pending_at_once = net_query_model_get_pending (t->model);
  return G_SOURCE_REMOVE;
}

static void
on_pending (GObject    *model,
            GParamSpec *pspec,
            Ticker     *t)
{
  t->pending_notifies++;
}

/* A watch over a large table returns before it is full, the rest fills
 * while a 5 ms timeout on the same loop keeps ticking, and the model ends
 * equal to find_many(). */
static void
test_watch_incremental_fill (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(NetQueryModel) model = NULL;
  Ticker t = { NULL, };
  Recorder *rec;
  guint timeout, pending, n_first;

  populate (f, HUGE_N);

  model = net_db_tasks_watch (f->tasks, NULL);
  t.model = model;
  pending = net_query_model_get_pending (model);
  n_first = g_list_model_get_n_items (G_LIST_MODEL (model));
  g_assert_cmpuint (pending, >, 0);
  g_assert_cmpuint (pending, <=, HUGE_N);
  g_assert_true (net_query_model_get_incremental (model));
  /* The first step's rows are there at once, in order. */
  g_assert_cmpuint (n_first, >, 0);
  g_assert_cmpuint (n_first, <, HUGE_N);
  g_assert_cmpuint (n_first + pending, ==, HUGE_N);
  {
    g_autoptr(NetTask) first = g_list_model_get_item (G_LIST_MODEL (model), 0);

    g_assert_cmpuint (net_task_get_id (first), ==, 1);
  }

  rec = recorder_new (G_LIST_MODEL (model));
  g_signal_connect (model, "notify::pending", G_CALLBACK (on_pending), &t);
  timeout = g_timeout_add (5, ticker_cb, &t);
  /* Any source of the loop runs before the rest of the fill. */
  g_idle_add_full (G_PRIORITY_DEFAULT, once_cb, &t, NULL);
  wait_filled (model);
  g_source_remove (timeout);
  g_assert_cmpuint (t.pending_at_once, >, 0);

  /* The loop ran while the model filled; each step told what it added
   * (appends in id order) and counted down. */
  g_assert_cmpuint (t.ticks_while_filling, >, 0);
  g_assert_cmpuint (t.pending_notifies, >, 1);
  g_assert_cmpuint (rec->mirror->len, ==, HUGE_N);
  g_assert_cmpuint (rec->log->len, >, 0);
  assert_mirror (rec);
  assert_equals_find_many (f, model);

  recorder_free (rec);
}

/* What a script does: a small table is full at once; a large one is full
 * once incremental is turned off. */
static void
test_watch_incremental_sync (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(NetQueryModel) small = NULL;
  g_autoptr(NetQueryModel) large = NULL;
  Recorder *rec;

  populate (f, 8000);
  small = net_db_tasks_watch (f->tasks, NULL);
  g_assert_cmpuint (net_query_model_get_pending (small), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (small)), ==, 8000);

  populate (f, LARGE_N);
  large = net_db_tasks_watch (f->tasks, NULL);
  g_assert_cmpuint (net_query_model_get_pending (large), >, 0);
  rec = recorder_new (G_LIST_MODEL (large));
  g_object_set (large, "incremental", FALSE, NULL);
  g_assert_false (net_query_model_get_incremental (large));
  g_assert_cmpuint (net_query_model_get_pending (large), ==, 0);
  assert_mirror (rec);
  assert_equals_find_many (f, large);

  /* Later fills are whole at once too. */
  {
    g_autoptr(NetTasksFilter) pending = pending_filter ();

    net_query_model_set_filter (large, G_OBJECT (pending));
    g_assert_cmpuint (net_query_model_get_pending (large), ==, 0);
    assert_mirror (rec);
    assert_equals_find_many (f, large);
  }
  recorder_free (rec);
}

typedef struct
{
  Fixture *f;
  GRand   *rand;
  guint    n_ids;
  guint    rounds;
} Mutator;

/* The most rounds of mutations a test makes: a fill ends however slow
 * the machine (valgrind) is. */
#define MAX_MUTATION_ROUNDS 300

/* Between steps: creates (new ids and replacements, with times anywhere
 * in the order), renames, completions and deletes. */
static gboolean
mutate_cb (gpointer data)
{
  Mutator *m = data;

  if (m->rounds >= MAX_MUTATION_ROUNDS)
    return G_SOURCE_CONTINUE;
  m->rounds++;
  for (guint i = 0; i < 20; i++)
    {
      guint64 id = g_rand_int_range (m->rand, 1, m->n_ids + 2000);
      gint64 ts = 1000 + g_rand_int_range (m->rand, 0, m->n_ids);
      NetDbTasks *tasks = m->f->tasks;

      switch (g_rand_int_range (m->rand, 0, 5))
        {
        case 0:
          net_db_tasks_create (tasks, id, g_rand_boolean (m->rand) ? "task-x" : "task-y", ts, NULL);
          break;
        case 1:
          net_db_tasks_rename (tasks, id, g_rand_boolean (m->rand) ? "task-xx" : "renamed", ts, NULL);
          break;
        case 2:
          net_db_tasks_complete (tasks, id, ts, NULL);
          break;
        default:
          net_db_tasks_delete (tasks, id, NULL);
          break;
        }
    }
  return G_SOURCE_CONTINUE;
}

static NetTasksFilter *
random_filter (GRand *rand,
               guint  variant,
               guint  n)
{
  NetTasksFilter *filter = net_tasks_filter_new ();

  switch (variant)
    {
    case 0:
      break;
    case 1:
      net_tasks_filter_set_status (filter, NET_TASK_STATUS_PENDING);
      net_tasks_filter_set_order_by (filter, NET_ORDER_BY_CREATED_DESC);
      break;
    case 2:
      net_tasks_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_ASC);
      net_tasks_filter_set_limit (filter, 50);
      net_tasks_filter_set_offset (filter, 10);
      break;
    case 3:
      net_tasks_filter_set_title_contains (filter, "x");
      net_tasks_filter_set_order_by (filter, NET_ORDER_BY_ID_DESC);
      break;
    case 4:
      /* Bounds on the order key: the walk starts and stops at them. */
      net_tasks_filter_set_order_by (filter, NET_ORDER_BY_CREATED_ASC);
      net_tasks_filter_set_created_after (filter, 1000 + n / 8);
      net_tasks_filter_set_created_before (filter, 1000 + n / 3);
      break;
    default:
      net_tasks_filter_set_order_by (filter, NET_ORDER_BY_CREATED_DESC);
      net_tasks_filter_set_limit (filter, 1 + g_rand_int_range (rand, 0, 200));
      break;
    }
  return filter;
}

/* Mutations and their deliveries between the steps of fills of every
 * kind of filter: the models end equal to find_many(), and replaying
 * their emissions gives the same. */
static void
test_watch_incremental_mutations (Fixture       *f,
                                  gconstpointer  data)
{
  Mutator m = { f, g_rand_new_with_seed (g_test_rand_int ()), LARGE_N, 0 };
  NetQueryModel *models[6];
  Recorder *recs[6];
  guint timeout;
  gboolean filling;

  populate (f, LARGE_N);
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(NetTasksFilter) filter = random_filter (m.rand, i, LARGE_N);

      models[i] = net_db_tasks_watch (f->tasks, filter);
      recs[i] = recorder_new (G_LIST_MODEL (models[i]));
    }
  g_assert_cmpuint (net_query_model_get_pending (models[0]), >, 0);

  /* After each step of the first model (a handler may mutate), and on a
   * timer between any two dispatches. */
  g_signal_connect_swapped (models[0], "notify::pending", G_CALLBACK (mutate_cb), &m);
  timeout = g_timeout_add (1, mutate_cb, &m);
  do
    {
      g_main_context_iteration (NULL, TRUE);
      filling = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (models); i++)
        filling |= net_query_model_get_pending (models[i]) > 0;
    }
  while (filling);
  g_source_remove (timeout);
  drain ();
  g_assert_cmpuint (m.rounds, >, 0);

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      assert_mirror (recs[i]);
      assert_equals_find_many (f, models[i]);
      g_assert_cmpuint (net_query_model_get_seq (models[i]), ==, net_db_tasks_get_applied_seq (f->tasks));
      recorder_free (recs[i]);
      g_assert_finalize_object (models[i]);
    }
  g_rand_free (m.rand);
}

/* A new filter in the middle of a fill restarts it: the same order keeps
 * the rows of before until the walk reaches them, another one empties the
 * model first. */
static void
test_watch_incremental_filter_change (Fixture       *f,
                                      gconstpointer  data)
{
  g_autoptr(NetTasksFilter) filter = net_tasks_filter_new ();
  g_autoptr(NetQueryModel) model = NULL;
  Mutator m = { f, g_rand_new_with_seed (g_test_rand_int ()), LARGE_N, 0 };
  Recorder *rec;
  guint timeout;

  populate (f, LARGE_N);
  model = net_db_tasks_watch (f->tasks, filter);
  rec = recorder_new (G_LIST_MODEL (model));
  timeout = g_timeout_add (1, mutate_cb, &m);

  /* Narrow, widen, reorder and window while it fills. */
  for (guint step = 0; step < 5; step++)
    {
      g_main_context_iteration (NULL, TRUE);
      switch (step)
        {
        case 0:
          net_tasks_filter_set_title_contains (filter, "1");
          break;
        case 1:
          net_tasks_filter_set_title_contains (filter, NULL);
          break;
        case 2:
          net_tasks_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_DESC);
          break;
        case 3:
          net_tasks_filter_set_status (filter, NET_TASK_STATUS_PENDING);
          break;
        default:
          net_tasks_filter_set_limit (filter, 100);
          break;
        }
      /* Each of them walks the whole table again. */
      g_assert_cmpuint (net_query_model_get_pending (model), >, 0);
      assert_mirror (rec);
    }

  wait_filled (model);
  g_source_remove (timeout);
  drain ();
  assert_mirror (rec);
  assert_equals_find_many (f, model);
  recorder_free (rec);
  g_rand_free (m.rand);
}

/* A change of one property of @filter, or a new filter with several. */
static NetTasksFilter *
change_filter (GRand          *rand,
               NetTasksFilter *filter,
               guint           n)
{
  static const char *const needles[] = { NULL, "1", "2", "12", "task-1", "9", "zz" };
  NetTasksFilter *fresh = NULL;
  guint n_changes = 1;

  if (g_rand_int_range (rand, 0, 4) == 0)
    {
      fresh = filter = net_tasks_filter_new ();
      n_changes = g_rand_int_range (rand, 1, 5);
    }
  for (guint i = 0; i < n_changes; i++)
    switch (g_rand_int_range (rand, 0, 8))
      {
      case 0:
        if (g_rand_boolean (rand))
          net_tasks_filter_set_status (filter, g_rand_int_range (rand, 0, 2));
        else
          net_tasks_filter_unset_status (filter);
        break;
      case 1:
      case 2:
        net_tasks_filter_set_title_contains (filter, needles[g_rand_int_range (rand, 0, G_N_ELEMENTS (needles))]);
        break;
      case 3:
        net_tasks_filter_set_order_by (filter, g_rand_int_range (rand, 0, 6));
        break;
      case 4:
        net_tasks_filter_set_limit (filter, g_rand_boolean (rand) ? 0 : g_rand_int_range (rand, 1, n / 2));
        break;
      case 5:
        net_tasks_filter_set_offset (filter, g_rand_boolean (rand) ? 0 : g_rand_int_range (rand, 1, n / 2));
        break;
      case 6:
        net_tasks_filter_set_created_after (filter, g_rand_boolean (rand) ? 0 : 1000 + g_rand_int_range (rand, 0, n / 2));
        break;
      default:
        net_tasks_filter_set_created_before (filter, g_rand_boolean (rand) ? G_MAXINT64
                                                                           : 1000 + g_rand_int_range (rand, 0, n / 2));
        break;
      }
  return fresh;
}

/* Filter changes of every kind (narrow, widen, reorder, the window, the
 * bounds of the order key) over a table with ties in every order: each
 * is at most one emission, exactly the range from the first to the last
 * visible item that differs, so that replayed on the list of before it
 * gives find_many() of the new filter; events delivered after a change
 * apply on top of it. */
static void
test_watch_filter_change_random (Fixture       *f,
                                 gconstpointer  data)
{
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(NetTasksFilter) first = net_tasks_filter_new ();
  g_autoptr(NetQueryModel) model = NULL;
  guint n = 1500;
  guint rounds = g_test_slow () ? 1500 : 300;
  Recorder *rec;

  populate (f, n);
  model = net_db_tasks_watch (f->tasks, first);
  net_query_model_set_incremental (model, FALSE);
  rec = recorder_new (G_LIST_MODEL (model));

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func (g_object_unref);
      NetTasksFilter *filter = (NetTasksFilter *) net_query_model_get_filter (model);
      g_autoptr(NetTasksFilter) fresh = NULL;
      g_autoptr(GPtrArray) expected = NULL;
      g_autofree char *want = NULL;
      guint prefix = 0, suffix = 0;

      for (guint i = 0; i < rec->mirror->len; i++)
        g_ptr_array_add (before, g_object_ref (g_ptr_array_index (rec->mirror, i)));
      fresh = change_filter (rand, filter, n);
      if (fresh != NULL)
        net_query_model_set_filter (model, G_OBJECT (fresh));
      expected = net_db_tasks_find_many (f->tasks, (NetTasksFilter *) net_query_model_get_filter (model));

      while (prefix < before->len && prefix < expected->len &&
             before->pdata[prefix] == expected->pdata[prefix])
        prefix++;
      while (suffix < before->len - prefix && suffix < expected->len - prefix &&
             before->pdata[before->len - 1 - suffix] == expected->pdata[expected->len - 1 - suffix])
        suffix++;
      if (before->len - prefix - suffix > 0 || expected->len - prefix - suffix > 0)
        want = g_strdup_printf ("%u,%u,%u;", prefix, before->len - prefix - suffix,
                                expected->len - prefix - suffix);
      else
        want = g_strdup ("");
      assert_log (rec, want);
      assert_equals_find_many (f, model);

      /* Now and then a few events on top of the new contents. */
      if (round % 4 == 0)
        {
          for (guint i = 0; i < 8; i++)
            {
              guint64 id = g_rand_int_range (rand, 1, n + 1);

              switch (g_rand_int_range (rand, 0, 3))
                {
                case 0:
                  net_db_tasks_rename (f->tasks, id, g_rand_boolean (rand) ? "task-12" : "x",
                                       g_rand_int_range (rand, 1, 3000), NULL);
                  break;
                case 1:
                  net_db_tasks_delete (f->tasks, id, NULL);
                  break;
                default:
                  /* Maybe an id that exists: then nothing. */
                  net_db_tasks_create (f->tasks, n + 1 + g_rand_int_range (rand, 0, n), "task-new",
                                       1000 + g_rand_int_range (rand, 0, n), NULL);
                  break;
                }
            }
          drain ();
          g_free (recorder_take (rec));
          assert_mirror (rec);
          assert_equals_find_many (f, model);
        }
    }

  recorder_free (rec);
  g_rand_free (rand);
}

/* Search as you type over a large table: the rows of before stay until
 * the walk reaches their place, so the view never empties. */
static void
test_watch_incremental_keeps_rows (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(NetTasksFilter) filter = net_tasks_filter_new ();
  g_autoptr(NetQueryModel) model = NULL;
  g_autoptr(NetTask) last = NULL;
  g_autoptr(NetTask) still_last = NULL;
  Recorder *rec;
  guint n_matches;

  populate (f, LARGE_N);
  model = net_db_tasks_watch (f->tasks, filter);
  net_query_model_set_incremental (model, FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, LARGE_N);
  net_query_model_set_incremental (model, TRUE);
  last = g_list_model_get_item (G_LIST_MODEL (model), LARGE_N - 1);
  rec = recorder_new (G_LIST_MODEL (model));

  /* "task-60000" has no 9: it leaves only when the walk gets there. */
  net_tasks_filter_set_title_contains (filter, "9");
  n_matches = net_db_tasks_count (f->tasks, filter);
  g_assert_cmpuint (net_query_model_get_pending (model), >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), >, n_matches);
  still_last = g_list_model_get_item (G_LIST_MODEL (model),
                                      g_list_model_get_n_items (G_LIST_MODEL (model)) - 1);
  g_assert_true (still_last == last);
  assert_mirror (rec);

  wait_filled (model);
  assert_mirror (rec);
  assert_equals_find_many (f, model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n_matches);
  recorder_free (rec);
}

static void
on_closed (GObject    *model,
           GParamSpec *pspec,
           gboolean   *closed)
{
  *closed = TRUE;
}

/* Closing in the middle of a fill: closed is notified, and the fill ends
 * over the last state. */
static void
test_watch_incremental_close (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(NetQueryModel) model = NULL;
  gboolean closed = FALSE;
  Recorder *rec;

  populate (f, LARGE_N);
  model = net_db_tasks_watch (f->tasks, NULL);
  rec = recorder_new (G_LIST_MODEL (model));
  g_signal_connect (model, "notify::closed", G_CALLBACK (on_closed), &closed);
  g_assert_cmpuint (net_query_model_get_pending (model), >, 0);

  g_assert_true (net_db_tasks_close (f->tasks, NULL));
  g_assert_true (closed);
  g_assert_true (net_query_model_get_closed (model));

  wait_filled (model);
  assert_mirror (rec);
  assert_equals_find_many (f, model);
  recorder_free (rec);
}

/* Dropping a model in the middle of a fill stops it: its source goes
 * with it (else the loop would dispatch it for ever). */
static void
test_watch_incremental_finalize (Fixture       *f,
                                 gconstpointer  data)
{
  NetQueryModel *model;
  gboolean idle = FALSE;

  populate (f, LARGE_N);
  model = net_db_tasks_watch (f->tasks, NULL);
  g_assert_cmpuint (net_query_model_get_pending (model), >, 0);
  g_assert_finalize_object (model);

  for (guint i = 0; i < 1000 && !idle; i++)
    idle = !g_main_context_iteration (NULL, FALSE);
  g_assert_true (idle);

  /* The table still takes watches and mutations. */
  create (f, LARGE_N + 1, "after", 1);
  drain ();
  g_assert_cmpuint (net_db_tasks_count (f->tasks, NULL), ==, LARGE_N + 1);
}

/* The memories' fills walk the same way, their set-index filters too. */
typedef struct
{
  NetDbMemories *memories;
  GRand         *rand;
  guint          n_ids;
  guint          rounds;
} MemoriesMutator;

static void
random_tags (GRand       *rand,
             const char **tags)
{
  static const char *names[] = { "a", "b", "c" };
  guint k = 0;

  for (guint t = 0; t < 3 && k < 2; t++)
    if (g_rand_boolean (rand))
      tags[k++] = names[t];
  tags[k] = NULL;
}

static gboolean
mutate_memories_cb (gpointer data)
{
  MemoriesMutator *m = data;

  if (m->rounds >= MAX_MUTATION_ROUNDS)
    return G_SOURCE_CONTINUE;
  m->rounds++;
  for (guint i = 0; i < 20; i++)
    {
      guint64 id = g_rand_int_range (m->rand, 1, m->n_ids + 500);
      gint64 ts = 1000 + g_rand_int_range (m->rand, 0, m->n_ids);
      const char *tags[3];

      random_tags (m->rand, tags);
      switch (g_rand_int_range (m->rand, 0, 6))
        {
        case 0:
        case 1:
          net_db_memories_store (m->memories, id, "m", tags, g_rand_boolean (m->rand) ? "s1" : "s2",
                                 ts, NULL);
          break;
        case 2:
          net_db_memories_retag (m->memories, id, tags, ts, NULL);
          break;
        case 3:
          net_db_memories_pin (m->memories, id, ts, NULL);
          break;
        case 4:
          net_db_memories_unpin (m->memories, id, ts, NULL);
          break;
        default:
          net_db_memories_delete (m->memories, id, NULL);
          break;
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
test_watch_incremental_memories (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(NetDbMemories) memories = memories_new (f->redex);
  MemoriesMutator m = { memories, g_rand_new_with_seed (g_test_rand_int ()), LARGE_N, 0 };
  NetQueryModel *models[4];
  Recorder *recs[4];
  guint timeout;
  gboolean filling;

  for (guint i = 1; i <= m.n_ids; i++)
    {
      const char *tags[3];

      random_tags (m.rand, tags);
      g_assert_cmpuint (net_db_memories_store (memories, i, "m", tags, i % 2 ? "s1" : "s2",
                                               1000 + (gint64) ((i * 7919u) % m.n_ids), NULL), >, 0);
    }
  drain ();

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(NetMemoriesFilter) filter = net_memories_filter_new ();

      if (i == 1)
        net_memories_filter_set_tag (filter, "a");
      if (i == 2)
        {
          net_memories_filter_set_source (filter, "s1");
          net_memories_filter_set_order_by (filter, NET_ORDER_BY_UPDATED_DESC);
          net_memories_filter_set_limit (filter, 30);
        }
      if (i == 3)
        {
          net_memories_filter_set_pinned (filter, TRUE);
          net_memories_filter_set_order_by (filter, NET_ORDER_BY_CREATED_ASC);
        }
      models[i] = net_db_memories_watch (memories, filter);
      recs[i] = recorder_new (G_LIST_MODEL (models[i]));
      g_assert_cmpuint (net_query_model_get_pending (models[i]), >, 0);
    }

  g_signal_connect_swapped (models[0], "notify::pending", G_CALLBACK (mutate_memories_cb), &m);
  timeout = g_timeout_add (1, mutate_memories_cb, &m);
  do
    {
      g_main_context_iteration (NULL, TRUE);
      filling = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (models); i++)
        filling |= net_query_model_get_pending (models[i]) > 0;
    }
  while (filling);
  g_source_remove (timeout);
  drain ();

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(GPtrArray) expected =
        net_db_memories_find_many (memories, (NetMemoriesFilter *) net_query_model_get_filter (models[i]));

      assert_mirror (recs[i]);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (models[i])), ==, expected->len);
      for (guint k = 0; k < expected->len; k++)
        {
          g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (models[i]), k);

          g_assert_true (item == g_ptr_array_index (expected, k));
        }
      recorder_free (recs[i]);
      g_assert_finalize_object (models[i]);
    }
  g_rand_free (m.rand);
  net_db_memories_close (memories, NULL);
}

/* Made with g_object_new() (as a binding may), not by a watch(): empty. */
static void
test_watch_bare (void)
{
  g_autoptr(NetQueryModel) model = g_object_new (NET_TYPE_QUERY_MODEL, NULL);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), 0));
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == G_TYPE_OBJECT);
  g_assert_cmpuint (net_query_model_get_seq (model), ==, 0);
  g_assert_null (net_query_model_get_filter (model));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/db/query-model/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("basics", test_watch_basics);
  ADD ("move", test_watch_move);
  ADD ("batch", test_watch_batch);
  ADD ("filter-change", test_watch_filter_change);
  ADD ("window", test_watch_window);
  ADD ("report-updates", test_watch_report_updates);
  ADD ("unref", test_watch_unref);
  ADD ("close-and-restore", test_watch_close_and_restore);
  ADD ("random", test_watch_random);
  ADD ("memories-tag", test_watch_memories_tag);
  ADD ("memories-random", test_watch_memories_random);
  ADD ("incremental/fill", test_watch_incremental_fill);
  ADD ("incremental/sync", test_watch_incremental_sync);
  ADD ("incremental/mutations", test_watch_incremental_mutations);
  ADD ("incremental/filter-change", test_watch_incremental_filter_change);
  ADD ("incremental/keeps-rows", test_watch_incremental_keeps_rows);
  ADD ("filter-change-random", test_watch_filter_change_random);
  ADD ("incremental/close", test_watch_incremental_close);
  ADD ("incremental/finalize", test_watch_incremental_finalize);
  ADD ("incremental/memories", test_watch_incremental_memories);
  g_test_add_func ("/db/query-model/bare", test_watch_bare);

  return g_test_run ();
}
