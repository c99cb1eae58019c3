/* main.c: a GTK 4 to-do list on a netdb live query
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The window shows `net_db_tasks_watch (tasks, status=pending)` in a
 * GtkListView.  The NetQueryModel is a GListModel of NetTask, so it goes
 * straight into a GtkNoSelection: no copying, no refresh.  Adding a task
 * (the entry at the bottom) or completing one (its check button) only
 * appends an event; the row appears or goes away when the fold delivers it.
 * The search entry replaces the model's `filter`, which updates the list
 * with a minimal diff.
 *
 *   netdb-example-tasks            persistent, in $XDG_DATA_HOME/netdb-example-tasks
 *   netdb-example-tasks --memory   in-memory, gone on exit
 *   netdb-example-tasks --self-test
 *       in-memory; drives the window through its own widgets, checks the
 *       list, saves a screenshot to $NETDB_EXAMPLE_SCREENSHOT (default
 *       gtk-tasks.png in the current directory) and exits 0 only if every
 *       check passed.  NETDB_EXAMPLE_SELF_TEST=1 does the same.
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <gtk/gtk.h>
#include <netdb/netdb.h>

#define APP_ID "org.gnome.NetdbExample.Tasks"
#define DB_DIR_NAME "netdb-example-tasks"
#define SELF_TEST_TIMEOUT_USEC (20 * G_USEC_PER_SEC)

typedef struct
{
  GtkApplication *app;
  NetDb          *db;
  NetDbTasks     *tasks;        /* owned by db */
  NetQueryModel  *pending;
  guint64         next_id;

  GtkWidget      *window;
  GtkWidget      *list_view;
  GtkWidget      *new_entry;
  GtkWidget      *search_entry;
  GtkWidget      *count_label;

  gboolean        in_memory;
  gboolean        self_test;
  gboolean        self_test_ok;
  gboolean        self_test_done;
  gboolean        failed;
  GString        *changes;      /* items-changed as seen by the list view */
} TasksApp;

static NetTasksFilter *
pending_filter_new (const char *title_contains)
{
  if (title_contains != NULL && *title_contains == '\0')
    title_contains = NULL;

  return g_object_new (NET_TYPE_TASKS_FILTER,
                       "status", NET_TASK_STATUS_PENDING,
                       "title-contains", title_contains,
                       NULL);
}

/* Ids are the caller's: continue after the highest one in the db. */
static guint64
find_next_id (NetDbTasks *tasks)
{
  g_autoptr(NetTasksFilter) filter = NULL;
  g_autoptr(NetTask) last = NULL;

  filter = g_object_new (NET_TYPE_TASKS_FILTER,
                         "order-by", NET_ORDER_BY_ID_DESC,
                         NULL);
  last = net_db_tasks_find_first (tasks, filter);

  return last != NULL ? net_task_get_id (last) + 1 : 1;
}

static void
show_error (TasksApp     *self,
            const char   *what,
            const GError *error)
{
  g_warning ("%s: %s", what, error->message);
  if (self->window != NULL && !self->self_test)
    {
      GtkWidget *message;

      /* GtkAlertDialog is 4.10; GtkMessageDialog is what 4.8 has. */
      message = gtk_message_dialog_new (GTK_WINDOW (self->window),
                                        GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                        GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE,
                                        "%s", what);
      gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (message),
                                                "%s", error->message);
      g_signal_connect (message, "response", G_CALLBACK (gtk_window_destroy), NULL);
      gtk_window_present (GTK_WINDOW (message));
    }
}

static void
update_count_label (TasksApp *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->pending));
  g_autofree char *text = NULL;

  text = g_strdup_printf (g_dngettext (NULL, "%u pending task", "%u pending tasks", n), n);
  gtk_label_set_text (GTK_LABEL (self->count_label), text);
}

static void
on_n_items_changed (NetQueryModel *model,
                    GParamSpec    *pspec,
                    TasksApp      *self)
{
  update_count_label (self);
}

/* The list rows ---------------------------------------------------------- */

static gboolean
status_to_active (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  g_value_set_boolean (to, g_value_get_enum (from) == NET_TASK_STATUS_COMPLETED);
  return TRUE;
}

static void
on_check_toggled (GtkCheckButton *check,
                  TasksApp       *self)
{
  NetTask *task = g_object_get_data (G_OBJECT (check), "net-task");
  g_autoptr(GError) error = NULL;

  /* Binding a pending task sets active to FALSE: only a tick means "done".
   * Completing is one-way here; the row leaves the pending list once the
   * event is folded. */
  if (task == NULL ||
      !gtk_check_button_get_active (check) ||
      net_task_get_status (task) == NET_TASK_STATUS_COMPLETED)
    return;

  if (net_db_tasks_complete (self->tasks, net_task_get_id (task), 0, &error) == 0 &&
      error != NULL)
    {
      show_error (self, "Could not complete the task", error);
      gtk_check_button_set_active (check, FALSE);
    }
}

static void
setup_row (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           TasksApp                 *self)
{
  GtkWidget *box;
  GtkWidget *check;
  GtkWidget *label;

  /* The list view's "rich-list" style class pads the rows. */
  box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  check = gtk_check_button_new ();
  gtk_widget_set_tooltip_text (check, "Mark as done");
  g_signal_connect (check, "toggled", G_CALLBACK (on_check_toggled), self);
  gtk_box_append (GTK_BOX (box), check);

  label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0f);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_box_append (GTK_BOX (box), label);

  gtk_list_item_set_child (item, box);
}

static void
bind_row (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          TasksApp                 *self)
{
  NetTask *task = gtk_list_item_get_item (item);
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *check = gtk_widget_get_first_child (box);
  GtkWidget *label = gtk_widget_get_next_sibling (check);
  GBinding *title_binding;
  GBinding *status_binding;

  /* Tasks are live: a rename elsewhere shows up through notify::title. */
  title_binding = g_object_bind_property (task, "title", label, "label",
                                          G_BINDING_SYNC_CREATE);
  g_object_set_data (G_OBJECT (check), "net-task", NULL);
  status_binding = g_object_bind_property_full (task, "status", check, "active",
                                                G_BINDING_SYNC_CREATE,
                                                status_to_active, NULL,
                                                NULL, NULL);
  g_object_set_data_full (G_OBJECT (check), "net-task",
                          g_object_ref (task), g_object_unref);

  g_object_set_data (G_OBJECT (item), "title-binding", title_binding);
  g_object_set_data (G_OBJECT (item), "status-binding", status_binding);
}

static void
unbind_row (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            TasksApp                 *self)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GtkWidget *check = gtk_widget_get_first_child (box);
  GBinding *binding;

  binding = g_object_steal_data (G_OBJECT (item), "title-binding");
  if (binding != NULL)
    g_binding_unbind (binding);
  binding = g_object_steal_data (G_OBJECT (item), "status-binding");
  if (binding != NULL)
    g_binding_unbind (binding);

  g_object_set_data (G_OBJECT (check), "net-task", NULL);
}

/* The entries ------------------------------------------------------------ */

static void
on_new_entry_activate (GtkEntry *entry,
                       TasksApp *self)
{
  g_autofree char *title = NULL;
  g_autoptr(GError) error = NULL;

  title = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  if (*title == '\0')
    return;

  if (net_db_tasks_create (self->tasks, self->next_id, title, 0, &error) == 0 &&
      error != NULL)
    {
      show_error (self, "Could not add the task", error);
      return;
    }

  self->next_id++;
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
}

static void
on_search_changed (GtkSearchEntry *entry,
                   TasksApp       *self)
{
  g_autoptr(NetTasksFilter) filter = NULL;

  filter = pending_filter_new (gtk_editable_get_text (GTK_EDITABLE (entry)));
  g_object_set (self->pending, "filter", filter, NULL);
}

static void
on_stop_search (GtkSearchEntry *entry,
                TasksApp       *self)
{
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
}

/* The self-test ---------------------------------------------------------- */

static void
record_items_changed (GListModel *model,
                      guint       position,
                      guint       removed,
                      guint       added,
                      TasksApp   *self)
{
  if (self->changes->len > 0)
    g_string_append_c (self->changes, ' ');
  if (removed > 0)
    g_string_append_printf (self->changes, "-%u", position);
  if (removed > 1)
    g_string_append_printf (self->changes, ":%u", removed);
  if (added > 0)
    g_string_append_printf (self->changes, "+%u", position);
  if (added > 1)
    g_string_append_printf (self->changes, ":%u", added);
}

typedef gboolean (*Condition) (TasksApp *self,
                               gpointer  data);

/* Spins the main context until @condition holds; FALSE on timeout, so a
 * broken app fails the test instead of hanging it. */
static gboolean
wait_until (TasksApp   *self,
            const char *what,
            Condition   condition,
            gpointer    data)
{
  gint64 deadline = g_get_monotonic_time () + SELF_TEST_TIMEOUT_USEC;

  while (!condition (self, data))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_printerr ("self-test: timed out waiting for %s\n", what);
          return FALSE;
        }
      g_main_context_iteration (NULL, TRUE);
    }

  return TRUE;
}

static gboolean
timeout_done (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
is_true (TasksApp *self,
         gpointer  data)
{
  return *(gboolean *) data;
}

/* A short pause, so queued redraws and row recycling happen. */
static void
settle (TasksApp *self,
        guint     ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_done, &done);
  wait_until (self, "a pause", is_true, &done);
}

static GListModel *
list_model (TasksApp *self)
{
  return G_LIST_MODEL (gtk_list_view_get_model (GTK_LIST_VIEW (self->list_view)));
}

static gboolean
has_n_items (TasksApp *self,
             gpointer  data)
{
  return g_list_model_get_n_items (list_model (self)) == GPOINTER_TO_UINT (data);
}

static gboolean
is_mapped (TasksApp *self,
           gpointer  data)
{
  return gtk_widget_get_mapped (self->window);
}

static gboolean
check (TasksApp   *self,
       gboolean    ok,
       const char *what)
{
  g_print ("%s %s\n", ok ? "ok" : "not ok", what);
  if (!ok)
    self->self_test_ok = FALSE;
  return ok;
}

static gboolean
check_n_items (TasksApp   *self,
               guint       expected,
               const char *what)
{
  guint n;

  wait_until (self, what, has_n_items, GUINT_TO_POINTER (expected));
  n = g_list_model_get_n_items (list_model (self));
  if (n != expected)
    g_printerr ("self-test: %s: %u items, expected %u\n", what, n, expected);
  return check (self, n == expected, what);
}

static char *
title_at (TasksApp *self,
          guint     position)
{
  g_autoptr(NetTask) task = g_list_model_get_item (list_model (self), position);

  return task != NULL ? g_strdup (net_task_get_title (task)) : NULL;
}

/* The check button of the row that shows @title, if that row exists. */
static GtkWidget *
find_row_check (GtkWidget  *widget,
                const char *title)
{
  if (GTK_IS_CHECK_BUTTON (widget))
    {
      NetTask *task = g_object_get_data (G_OBJECT (widget), "net-task");

      if (task != NULL && g_strcmp0 (net_task_get_title (task), title) == 0)
        return widget;
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_row_check (child, title);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static gboolean
has_row_for (TasksApp *self,
             gpointer  title)
{
  return find_row_check (self->list_view, title) != NULL;
}

static void
type_new_task (TasksApp   *self,
               const char *title)
{
  gtk_editable_set_text (GTK_EDITABLE (self->new_entry), title);
  g_signal_emit_by_name (self->new_entry, "activate");
}

static gboolean
save_screenshot (TasksApp   *self,
                 const char *path)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int width = gtk_widget_get_width (self->window);
  int height = gtk_widget_get_height (self->window);

  paintable = gtk_widget_paintable_new (self->window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return FALSE;

  renderer = gtk_native_get_renderer (GTK_NATIVE (self->window));
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    return FALSE;

  g_print ("# screenshot (%dx%d, %s) saved to %s\n",
           width, height, G_OBJECT_TYPE_NAME (renderer), path);
  return TRUE;
}

static gboolean
run_self_test (gpointer data)
{
  TasksApp *self = data;
  const char *screenshot = g_getenv ("NETDB_EXAMPLE_SCREENSHOT");
  g_autofree char *title = NULL;
  GtkWidget *row_check;
  guint n_changes;

  self->self_test_ok = TRUE;
  g_signal_connect (list_model (self), "items-changed",
                    G_CALLBACK (record_items_changed), self);

  check (self, wait_until (self, "the window to map", is_mapped, NULL),
         "window is mapped");
  check_n_items (self, 0, "a new in-memory db lists nothing");

  /* Adding through the entry: the row appears once the fold delivers. */
  n_changes = self->changes->len;
  type_new_task (self, "Buy milk");
  check (self, g_list_model_get_n_items (list_model (self)) == 0,
         "the new task is not listed before the fold delivers it");
  check_n_items (self, 1, "activating the entry adds a task");
  check (self, self->changes->len > n_changes, "the list view saw items-changed");
  check (self, g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (self->new_entry)), "") == 0,
         "the entry is cleared after adding");
  title = title_at (self, 0);
  check (self, g_strcmp0 (title, "Buy milk") == 0, "the row holds the typed title");

  type_new_task (self, "Write the quarterly report");
  type_new_task (self, "Walk the dog");
  type_new_task (self, "Call the plumber about the milk-white stain");
  type_new_task (self, "Water the plants");
  check_n_items (self, 5, "four more tasks are listed");

  /* Completing through a row's check button drops it from the pending list. */
  check (self, wait_until (self, "the row of \"Walk the dog\"",
                           has_row_for, (gpointer) "Walk the dog"),
         "the list view made a row for each task");
  row_check = find_row_check (self->list_view, "Walk the dog");
  if (row_check != NULL)
    gtk_check_button_set_active (GTK_CHECK_BUTTON (row_check), TRUE);
  check_n_items (self, 4, "ticking a check button completes the task");

  /* Search-as-you-type replaces the model's filter. */
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "MILK");
  check_n_items (self, 2, "searching \"MILK\" narrows the list (case-insensitive)");
  g_clear_pointer (&title, g_free);
  title = title_at (self, 0);
  check (self, g_strcmp0 (title, "Buy milk") == 0, "the first match is \"Buy milk\"");

  /* A task added while searching shows only if it matches. */
  type_new_task (self, "Pay the gas bill");
  type_new_task (self, "Oat milk for the guests");
  check_n_items (self, 3, "a matching new task joins the search results");

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  check_n_items (self, 6, "clearing the search shows every pending task");

  g_print ("# items-changed seen by the list view: %s\n", self->changes->str);

  settle (self, 300);
  if (screenshot == NULL || *screenshot == '\0')
    screenshot = "gtk-tasks.png";
  check (self, save_screenshot (self, screenshot), "the screenshot is saved");

  g_print ("%s\n", self->self_test_ok ? "# self-test passed" : "# self-test FAILED");
  self->self_test_done = TRUE;
  g_application_quit (G_APPLICATION (self->app));

  return G_SOURCE_REMOVE;
}

/* The application -------------------------------------------------------- */

static gboolean
open_db (TasksApp  *self,
         GError   **error)
{
  g_autofree char *path = NULL;
  g_autoptr(NetTasksFilter) filter = NULL;

  if (!self->in_memory)
    path = g_build_filename (g_get_user_data_dir (), DB_DIR_NAME, NULL);

  self->db = net_db_new (path, NET_DB_MODELS_TASKS, error);
  if (self->db == NULL)
    return FALSE;

  self->tasks = net_db_get_tasks (self->db);
  self->next_id = find_next_id (self->tasks);

  filter = pending_filter_new (NULL);
  self->pending = net_db_tasks_watch (self->tasks, filter);

  return TRUE;
}

static GtkWidget *
build_window (TasksApp *self)
{
  GtkWidget *window;
  GtkWidget *header;
  GtkWidget *box;
  GtkWidget *scrolled;
  GtkWidget *bottom;
  g_autoptr(GtkListItemFactory) factory = NULL;
  GtkNoSelection *selection;

  window = gtk_application_window_new (self->app);
  gtk_window_set_title (GTK_WINDOW (window), "Tasks");
  gtk_window_set_default_size (GTK_WINDOW (window), 420, 480);

  header = gtk_header_bar_new ();
  gtk_window_set_titlebar (GTK_WINDOW (window), header);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_window_set_child (GTK_WINDOW (window), box);

  self->search_entry = gtk_search_entry_new ();
  g_object_set (self->search_entry, "placeholder-text", "Search pending tasks", NULL);
  gtk_widget_set_margin_start (self->search_entry, 12);
  gtk_widget_set_margin_end (self->search_entry, 12);
  gtk_widget_set_margin_top (self->search_entry, 12);
  gtk_widget_set_margin_bottom (self->search_entry, 6);
  g_signal_connect (self->search_entry, "search-changed", G_CALLBACK (on_search_changed), self);
  g_signal_connect (self->search_entry, "stop-search", G_CALLBACK (on_stop_search), self);
  gtk_search_entry_set_key_capture_widget (GTK_SEARCH_ENTRY (self->search_entry), window);
  gtk_box_append (GTK_BOX (box), self->search_entry);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), self);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), self);

  /* The live query is the list view's model: nothing to copy or refresh. */
  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->pending)));
  self->list_view = gtk_list_view_new (GTK_SELECTION_MODEL (selection),
                                       g_steal_pointer (&factory));
  gtk_widget_add_css_class (self->list_view, "rich-list");

  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), self->list_view);
  gtk_box_append (GTK_BOX (box), scrolled);

  bottom = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (bottom, 12);
  gtk_widget_set_margin_end (bottom, 12);
  gtk_widget_set_margin_top (bottom, 6);
  gtk_widget_set_margin_bottom (bottom, 12);
  gtk_box_append (GTK_BOX (box), bottom);

  self->new_entry = gtk_entry_new ();
  gtk_entry_set_placeholder_text (GTK_ENTRY (self->new_entry), "New task…");
  g_signal_connect (self->new_entry, "activate", G_CALLBACK (on_new_entry_activate), self);
  gtk_box_append (GTK_BOX (bottom), self->new_entry);

  self->count_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->count_label), 0.0f);
  gtk_widget_add_css_class (self->count_label, "dim-label");
  gtk_box_append (GTK_BOX (bottom), self->count_label);
  g_signal_connect (self->pending, "notify::n-items", G_CALLBACK (on_n_items_changed), self);
  update_count_label (self);

  return window;
}

static void
on_activate (GApplication *app,
             TasksApp     *self)
{
  g_autoptr(GError) error = NULL;

  if (self->window != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->window));
      return;
    }

  if (!open_db (self, &error))
    {
      g_printerr ("netdb-example-tasks: %s\n", error->message);
      self->failed = TRUE;
      g_application_quit (app);
      return;
    }

  self->window = build_window (self);
  gtk_window_present (GTK_WINDOW (self->window));
  gtk_widget_grab_focus (self->new_entry);

  if (self->self_test)
    g_idle_add (run_self_test, self);
}

static void
on_shutdown (GApplication *app,
             TasksApp     *self)
{
  g_autoptr(GError) error = NULL;

  if (self->pending != NULL)
    g_signal_handlers_disconnect_by_data (self->pending, self);
  if (self->db != NULL && !net_db_close (self->db, &error))
    g_warning ("Could not close the database: %s", error->message);
}

/* Ctrl-C or a logout: quit through the application, so shutdown closes
 * (and checkpoints) the db. */
static gboolean
on_quit_signal (gpointer data)
{
  g_application_quit (G_APPLICATION (data));
  return G_SOURCE_CONTINUE;
}

static int
on_handle_local_options (GApplication *app,
                         GVariantDict *options,
                         TasksApp     *self)
{
  if (g_variant_dict_contains (options, "memory"))
    self->in_memory = TRUE;
  if (g_variant_dict_contains (options, "self-test") ||
      g_strcmp0 (g_getenv ("NETDB_EXAMPLE_SELF_TEST"), "1") == 0)
    self->self_test = TRUE;

  if (self->self_test)
    {
      /* Never touch the user's tasks, nor an already running instance. */
      self->in_memory = TRUE;
      g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
    }

  return -1;
}

int
main (int   argc,
      char *argv[])
{
  static const GOptionEntry entries[] = {
    { "memory", 'm', 0, G_OPTION_ARG_NONE, NULL,
      "Keep the tasks in memory instead of on disk", NULL },
    { "self-test", 0, 0, G_OPTION_ARG_NONE, NULL,
      "Drive the window, check it, save a screenshot and exit", NULL },
    { NULL }
  };
  TasksApp self = { 0 };
  int status;

  self.changes = g_string_new (NULL);
  self.app = gtk_application_new (APP_ID, G_APPLICATION_DEFAULT_FLAGS);
  g_application_add_main_option_entries (G_APPLICATION (self.app), entries);
  g_signal_connect (self.app, "handle-local-options", G_CALLBACK (on_handle_local_options), &self);
  g_signal_connect (self.app, "activate", G_CALLBACK (on_activate), &self);
  g_signal_connect (self.app, "shutdown", G_CALLBACK (on_shutdown), &self);

  g_unix_signal_add (SIGINT, on_quit_signal, self.app);
  g_unix_signal_add (SIGTERM, on_quit_signal, self.app);

  status = g_application_run (G_APPLICATION (self.app), argc, argv);

  if (status == 0 &&
      (self.failed || (self.self_test && !(self.self_test_done && self.self_test_ok))))
    status = EXIT_FAILURE;

  g_clear_object (&self.pending);
  g_clear_object (&self.db);
  g_clear_object (&self.app);
  g_string_free (self.changes, TRUE);

  return status;
}
