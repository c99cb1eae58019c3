/* netdb-models.c: `netdb tasks …`, `netdb memories …` and `netdb snapshot …`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Commands that change something open the database for writing (taking its
 * lock) and close it, which makes their events durable.  Commands that only
 * read (get, list, count, watch, snapshot save) open it read-only, so they
 * work next to a writer, and `watch` follows that writer's appends live.
 *
 * `watch` never re-runs its query: it mirrors the NetQueryModel's
 * items-changed emissions into a GSequence (so a removed row can still be
 * printed) and reports field changes from the items' notify, batching the
 * output of one fold dispatch into one write.
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "netdb-cli.h"
#include "netdb-control.h"

#define CLI_MAX_COLUMNS 8

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/* Filters (list, count, watch) */
static char     *opt_status;
static char     *opt_search;
static char     *opt_order;
static int       opt_limit;
static int       opt_offset;
static char     *opt_tag;
static char    **opt_any_tags;
static char    **opt_all_tags;
static char     *opt_source;
static gboolean  opt_pinned;
static gboolean  opt_unpinned;

/* memories store / retag */
static char    **opt_tags;

#define TASKS_QUERY_ENTRIES \
  { "status", 0, 0, G_OPTION_ARG_STRING, &opt_status, \
    "Only tasks with this status: pending or completed", "STATUS" }, \
  { "search", 's', 0, G_OPTION_ARG_STRING, &opt_search, \
    "Only tasks whose title contains TEXT (case-insensitive)", "TEXT" }, \
  { "title-contains", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_search, \
    "Same as --search", "TEXT" }

#define MEMORIES_QUERY_ENTRIES \
  { "tag", 0, 0, G_OPTION_ARG_STRING, &opt_tag, \
    "Only memories with this tag", "TAG" }, \
  { "any-tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_any_tags, \
    "Only memories with at least one of these tags (repeatable)", "TAG" }, \
  { "all-tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_all_tags, \
    "Only memories with all of these tags (repeatable)", "TAG" }, \
  { "source", 0, 0, G_OPTION_ARG_STRING, &opt_source, \
    "Only memories from this source", "SOURCE" }, \
  { "pinned", 0, 0, G_OPTION_ARG_NONE, &opt_pinned, \
    "Only pinned memories", NULL }, \
  { "unpinned", 0, 0, G_OPTION_ARG_NONE, &opt_unpinned, \
    "Only memories that are not pinned", NULL }, \
  { "search", 's', 0, G_OPTION_ARG_STRING, &opt_search, \
    "Only memories whose content contains TEXT (case-insensitive)", "TEXT" }, \
  { "content-contains", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &opt_search, \
    "Same as --search", "TEXT" }

#define WINDOW_ENTRIES \
  { "order", 'o', 0, G_OPTION_ARG_STRING, &opt_order, \
    "Order by id, created or updated; a leading - reverses (default: id)", "ORDER" }, \
  { "limit", 'n', 0, G_OPTION_ARG_INT, &opt_limit, \
    "Show at most N items (default: all)", "N" }, \
  { "offset", 0, 0, G_OPTION_ARG_INT, &opt_offset, \
    "Skip the first N items", "N" }

static const GOptionEntry tasks_list_entries[] = {
  TASKS_QUERY_ENTRIES,
  WINDOW_ENTRIES,
  { NULL }
};

static const GOptionEntry tasks_count_entries[] = {
  TASKS_QUERY_ENTRIES,
  { NULL }
};

static const GOptionEntry memories_list_entries[] = {
  MEMORIES_QUERY_ENTRIES,
  WINDOW_ENTRIES,
  { NULL }
};

static const GOptionEntry memories_count_entries[] = {
  MEMORIES_QUERY_ENTRIES,
  { NULL }
};

static const GOptionEntry memories_store_entries[] = {
  { "tag", 't', 0, G_OPTION_ARG_STRING_ARRAY, &opt_tags,
    "Tag the memory (repeatable; order is kept)", "TAG" },
  { "source", 0, 0, G_OPTION_ARG_STRING, &opt_source,
    "Where the memory comes from", "SOURCE" },
  { NULL }
};

static const GOptionEntry memories_retag_entries[] = {
  { "tag", 't', 0, G_OPTION_ARG_STRING_ARRAY, &opt_tags,
    "The new tags (repeatable; none removes every tag)", "TAG" },
  { NULL }
};

void
cli_models_cleanup (void)
{
  g_clear_pointer (&opt_status, g_free);
  g_clear_pointer (&opt_search, g_free);
  g_clear_pointer (&opt_order, g_free);
  g_clear_pointer (&opt_tag, g_free);
  g_clear_pointer (&opt_any_tags, g_strfreev);
  g_clear_pointer (&opt_all_tags, g_strfreev);
  g_clear_pointer (&opt_source, g_free);
  g_clear_pointer (&opt_tags, g_strfreev);
}

/* ------------------------------------------------------------------ */
/* Opening the database                                                */
/* ------------------------------------------------------------------ */

/* Shared with netdb-records.c (netdb-cli.h). */
NetDb *
cli_open_db (CliOpenMode   mode,
             NetDbModels   models,
             GError      **error)
{
  g_autofree char *dir = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) init_error = NULL;
  g_autoptr(NetDb) init = NULL;
  NetDb *db;

  if (opt_memory)
    return net_db_new (NULL, models, error);

  dir = cli_get_db_dir ();

  if (mode == CLI_OPEN_WRITE)
    {
      if (!cli_ensure_dir (dir, error))
        return NULL;
      return net_db_new (dir, models, error);
    }

  db = net_db_open_read_only (dir, models, &local_error);
  if (db != NULL)
    return db;

  if (!g_error_matches (local_error, NET_ERROR, NET_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  /* First use (of the directory, or of this model): create it empty so
   * that a reader has something to follow. */
  if (!cli_ensure_dir (dir, error))
    return NULL;

  init = net_db_new (dir, models, &init_error);
  if (init == NULL || !net_db_close (init, &init_error))
    {
      /* Locked: a writer without this model; what is missing says more. */
      if (g_error_matches (init_error, NET_ERROR, NET_ERROR_LOCKED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_propagate_error (error, g_steal_pointer (&init_error));
      return NULL;
    }

  return net_db_open_read_only (dir, models, error);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

static gboolean
cli_parse_id (const char  *text,
              guint64     *id,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, id, &local_error))
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid id “%s”: %s", text, local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
cli_parse_window (GObject  *filter,
                  GError  **error)
{
  static const struct {
    const char *name;
    NetOrderBy  order;
  } orders[] = {
    { "id", NET_ORDER_BY_ID_ASC },
    { "-id", NET_ORDER_BY_ID_DESC },
    { "created", NET_ORDER_BY_CREATED_ASC },
    { "-created", NET_ORDER_BY_CREATED_DESC },
    { "updated", NET_ORDER_BY_UPDATED_ASC },
    { "-updated", NET_ORDER_BY_UPDATED_DESC },
  };

  if (opt_order != NULL)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (orders) && !found; i++)
        if (g_str_equal (opt_order, orders[i].name))
          {
            g_object_set (filter, "order-by", orders[i].order, NULL);
            found = TRUE;
          }

      if (!found)
        {
          g_set_error (error, CLI_USAGE_ERROR, 0,
                       "Invalid --order “%s”: expected id, -id, created, "
                       "-created, updated or -updated", opt_order);
          return FALSE;
        }
    }

  if (opt_limit < 0 || opt_offset < 0)
    {
      g_set_error (error, CLI_USAGE_ERROR, 0, "Invalid --%s %d: must not be negative",
                   opt_limit < 0 ? "limit" : "offset",
                   opt_limit < 0 ? opt_limit : opt_offset);
      return FALSE;
    }

  g_object_set (filter, "limit", (guint) opt_limit, "offset", (guint) opt_offset, NULL);

  return TRUE;
}

static NetTasksFilter *
cli_tasks_filter (GError **error)
{
  g_autoptr(NetTasksFilter) filter = net_tasks_filter_new ();

  if (opt_status != NULL)
    {
      if (g_str_equal (opt_status, "pending"))
        net_tasks_filter_set_status (filter, NET_TASK_STATUS_PENDING);
      else if (g_str_equal (opt_status, "completed"))
        net_tasks_filter_set_status (filter, NET_TASK_STATUS_COMPLETED);
      else
        {
          g_set_error (error, CLI_USAGE_ERROR, 0,
                       "Invalid --status “%s”: expected pending or completed",
                       opt_status);
          return NULL;
        }
    }

  if (opt_search != NULL)
    net_tasks_filter_set_title_contains (filter, opt_search);

  if (!cli_parse_window (G_OBJECT (filter), error))
    return NULL;

  return g_steal_pointer (&filter);
}

static NetMemoriesFilter *
cli_memories_filter (GError **error)
{
  g_autoptr(NetMemoriesFilter) filter = net_memories_filter_new ();

  if (opt_pinned && opt_unpinned)
    {
      g_set_error_literal (error, CLI_USAGE_ERROR, 0,
                           "--pinned and --unpinned cannot be used together");
      return NULL;
    }

  if (opt_pinned || opt_unpinned)
    net_memories_filter_set_pinned (filter, opt_pinned);
  if (opt_tag != NULL)
    net_memories_filter_set_tag (filter, opt_tag);
  if (opt_any_tags != NULL)
    net_memories_filter_set_any_tags (filter, (const char * const *) opt_any_tags);
  if (opt_all_tags != NULL)
    net_memories_filter_set_all_tags (filter, (const char * const *) opt_all_tags);
  if (opt_source != NULL)
    net_memories_filter_set_source (filter, opt_source);
  if (opt_search != NULL)
    net_memories_filter_set_content_contains (filter, opt_search);

  if (!cli_parse_window (G_OBJECT (filter), error))
    return NULL;

  return g_steal_pointer (&filter);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* One kind of item: how it is shown, and how it is queried. */
typedef struct
{
  const char          *noun;      /* "task", for messages */
  const char          *plural;    /* "tasks": also the model's name */
  guint                n_columns;
  const char * const  *headers;   /* also the labels of `get` */
  /* Fills n_columns newly allocated cells. */
  void               (*row)     (GObject  *item,
                                 char    **cells);
  JsonNode          *(*to_json) (GObject  *item);

  NetDbModels          model;
  /* The filter of the command-line options; NULL with a usage error. */
  GObject           *(*filter)    (GError  **error);
  GObject           *(*get)       (NetDb    *db,
                                   guint64   id);
  GPtrArray         *(*find_many) (NetDb    *db,
                                   GObject  *filter);
  guint              (*count)     (NetDb    *db,
                                   GObject  *filter);
  NetQueryModel     *(*watch)     (NetDb    *db,
                                   GObject  *filter);
} CliItemKind;

static GObject *
cli_task_filter (GError **error)
{
  return (GObject *) cli_tasks_filter (error);
}

static GObject *
cli_task_get (NetDb   *db,
              guint64  id)
{
  return (GObject *) net_db_tasks_get (net_db_get_tasks (db), id);
}

static GPtrArray *
cli_task_find_many (NetDb   *db,
                    GObject *filter)
{
  return net_db_tasks_find_many (net_db_get_tasks (db), (NetTasksFilter *) filter);
}

static guint
cli_task_count (NetDb   *db,
                GObject *filter)
{
  return net_db_tasks_count (net_db_get_tasks (db), (NetTasksFilter *) filter);
}

static NetQueryModel *
cli_task_watch (NetDb   *db,
                GObject *filter)
{
  return net_db_tasks_watch (net_db_get_tasks (db), (NetTasksFilter *) filter);
}

static GObject *
cli_memory_filter (GError **error)
{
  return (GObject *) cli_memories_filter (error);
}

static GObject *
cli_memory_get (NetDb   *db,
                guint64  id)
{
  return (GObject *) net_db_memories_get (net_db_get_memories (db), id);
}

static GPtrArray *
cli_memory_find_many (NetDb   *db,
                      GObject *filter)
{
  return net_db_memories_find_many (net_db_get_memories (db), (NetMemoriesFilter *) filter);
}

static guint
cli_memory_count (NetDb   *db,
                  GObject *filter)
{
  return net_db_memories_count (net_db_get_memories (db), (NetMemoriesFilter *) filter);
}

static NetQueryModel *
cli_memory_watch (NetDb   *db,
                  GObject *filter)
{
  return net_db_memories_watch (net_db_get_memories (db), (NetMemoriesFilter *) filter);
}

static char *
cli_format_time (gint64 timestamp)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  if (dt == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, timestamp);

  return g_date_time_format (dt, "%Y-%m-%d %H:%M");
}

/* Text from the database as one terminal line. */
static char *
cli_escape (const char *text)
{
  if (text == NULL)
    return g_strdup ("");

  return cli_escape_payload ((const guint8 *) text, strlen (text));
}

static void
cli_json_add_string_or_null (JsonBuilder *builder,
                             const char  *name,
                             const char  *value)
{
  json_builder_set_member_name (builder, name);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static const char * const task_headers[] = {
  "ID", "STATUS", "TITLE", "CREATED", "UPDATED",
};

static const char *
cli_task_status_name (NetTaskStatus status)
{
  return status == NET_TASK_STATUS_COMPLETED ? "completed" : "pending";
}

static void
cli_task_row (GObject  *item,
              char    **cells)
{
  NetTask *task = NET_TASK (item);

  cells[0] = g_strdup_printf ("%" G_GUINT64_FORMAT, net_task_get_id (task));
  cells[1] = g_strdup (cli_task_status_name (net_task_get_status (task)));
  cells[2] = cli_escape (net_task_get_title (task));
  cells[3] = cli_format_time (net_task_get_created_at (task));
  cells[4] = cli_format_time (net_task_get_updated_at (task));
}

static JsonNode *
cli_task_to_json (GObject *item)
{
  NetTask *task = NET_TASK (item);
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, (gint64) net_task_get_id (task));
  json_builder_set_member_name (builder, "title");
  json_builder_add_string_value (builder, net_task_get_title (task));
  json_builder_set_member_name (builder, "status");
  json_builder_add_string_value (builder, cli_task_status_name (net_task_get_status (task)));
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, net_task_get_created_at (task));
  json_builder_set_member_name (builder, "updated_at");
  json_builder_add_int_value (builder, net_task_get_updated_at (task));
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static const CliItemKind task_kind = {
  "task", "tasks", G_N_ELEMENTS (task_headers), task_headers, cli_task_row, cli_task_to_json,
  NET_DB_MODELS_TASKS, cli_task_filter, cli_task_get, cli_task_find_many, cli_task_count,
  cli_task_watch,
};

static const char * const memory_headers[] = {
  "ID", "PINNED", "TAGS", "SOURCE", "CREATED", "UPDATED", "CONTENT",
};

static void
cli_memory_row (GObject  *item,
                char    **cells)
{
  NetMemory *memory = NET_MEMORY (item);
  const char * const *tags = net_memory_get_tags (memory);
  g_autofree char *joined = tags != NULL ? g_strjoinv (",", (GStrv) tags) : g_strdup ("");

  cells[0] = g_strdup_printf ("%" G_GUINT64_FORMAT, net_memory_get_id (memory));
  cells[1] = g_strdup (net_memory_get_pinned (memory) ? "yes" : "no");
  cells[2] = cli_escape (joined);
  cells[3] = cli_escape (net_memory_get_source (memory));
  cells[4] = cli_format_time (net_memory_get_created_at (memory));
  cells[5] = cli_format_time (net_memory_get_updated_at (memory));
  cells[6] = cli_escape (net_memory_get_content (memory));
}

static JsonNode *
cli_memory_to_json (GObject *item)
{
  NetMemory *memory = NET_MEMORY (item);
  const char * const *tags = net_memory_get_tags (memory);
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, (gint64) net_memory_get_id (memory));
  json_builder_set_member_name (builder, "content");
  json_builder_add_string_value (builder, net_memory_get_content (memory));
  json_builder_set_member_name (builder, "tags");
  json_builder_begin_array (builder);
  for (guint i = 0; tags != NULL && tags[i] != NULL; i++)
    json_builder_add_string_value (builder, tags[i]);
  json_builder_end_array (builder);
  cli_json_add_string_or_null (builder, "source", net_memory_get_source (memory));
  json_builder_set_member_name (builder, "pinned");
  json_builder_add_boolean_value (builder, net_memory_get_pinned (memory));
  json_builder_set_member_name (builder, "created_at");
  json_builder_add_int_value (builder, net_memory_get_created_at (memory));
  json_builder_set_member_name (builder, "updated_at");
  json_builder_add_int_value (builder, net_memory_get_updated_at (memory));
  json_builder_end_object (builder);

  return json_builder_get_root (builder);
}

static const CliItemKind memory_kind = {
  "memory", "memories", G_N_ELEMENTS (memory_headers), memory_headers, cli_memory_row, cli_memory_to_json,
  NET_DB_MODELS_MEMORIES, cli_memory_filter, cli_memory_get, cli_memory_find_many,
  cli_memory_count, cli_memory_watch,
};

/* Every model, once: what handles "each model of the database" loops over
 * this list. */
static const CliItemKind * const cli_kinds[] = { &task_kind, &memory_kind };

static void
cli_row_free (char     **cells,
              guint      n)
{
  for (guint i = 0; i < n; i++)
    g_free (cells[i]);
}

void
cli_print_aligned (const char * const *headers,
                   const char * const *cells,
                   guint               n_rows,
                   guint               n)
{
  g_autofree int *widths = g_new0 (int, n);
  g_autoptr(GString) line = g_string_new (NULL);

  for (guint c = 0; c < n; c++)
    widths[c] = (int) g_utf8_strlen (headers[c], -1);
  for (guint i = 0; i < n_rows; i++)
    for (guint c = 0; c < n; c++)
      widths[c] = MAX (widths[c], (int) g_utf8_strlen (cells[i * n + c], -1));

  for (guint i = 0; i <= n_rows; i++)
    {
      const char * const *row = i == 0 ? headers : &cells[(i - 1) * n];

      g_string_truncate (line, 0);
      for (guint c = 0; c < n; c++)
        {
          g_string_append (line, row[c]);
          if (c + 1 < n)
            {
              for (glong w = g_utf8_strlen (row[c], -1); w < widths[c]; w++)
                g_string_append_c (line, ' ');
              g_string_append (line, "  ");
            }
        }
      /* Trailing blanks of an empty last column help nobody. */
      while (line->len > 0 && line->str[line->len - 1] == ' ')
        g_string_truncate (line, line->len - 1);
      g_print ("%s\n", line->str);
    }
}

/* Aligned columns under a header; the last column is not padded. */
static void
cli_print_table (const CliItemKind *kind,
                 GPtrArray         *items)
{
  guint n = kind->n_columns;
  g_autofree char **cells = g_new0 (char *, (gsize) items->len * n + 1);

  for (guint i = 0; i < items->len; i++)
    kind->row (g_ptr_array_index (items, i), &cells[i * n]);
  cli_print_aligned (kind->headers, (const char * const *) cells, items->len, n);
  for (guint i = 0; i < items->len; i++)
    cli_row_free (&cells[i * n], n);
}

static void
cli_print_items (const CliItemKind *kind,
                 GPtrArray         *items)
{
  if (opt_json)
    {
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);
      g_autoptr(JsonArray) array = json_array_sized_new (items->len);

      for (guint i = 0; i < items->len; i++)
        json_array_add_element (array, kind->to_json (g_ptr_array_index (items, i)));
      json_node_set_array (root, array);
      cli_print_json (root);
    }
  else
    cli_print_table (kind, items);
}

/* `get`: one “label  value” line per field. */
static void
cli_print_item (const CliItemKind *kind,
                GObject           *item)
{
  if (opt_json)
    {
      g_autoptr(JsonNode) root = kind->to_json (item);

      cli_print_json (root);
    }
  else
    {
      char *cells[CLI_MAX_COLUMNS] = { NULL };
      int width = 0;

      kind->row (item, cells);
      for (guint c = 0; c < kind->n_columns; c++)
        width = MAX (width, (int) strlen (kind->headers[c]));
      for (guint c = 0; c < kind->n_columns; c++)
        {
          g_autofree char *label = g_ascii_strdown (kind->headers[c], -1);

          g_print ("%s:%*s %s\n", label, width - (int) strlen (label), "", cells[c]);
        }
      cli_row_free (cells, kind->n_columns);
    }
}

static void
cli_print_count (guint count)
{
  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "count");
      json_builder_add_int_value (builder, count);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    g_print ("%u\n", count);
}

/* A mutation's result: its seq; 0 when a follower forwarded it to its
 * leader (it gets a seq there). */
static void
cli_print_mutation (const CliItemKind *kind,
                    guint64            id,
                    const char        *done,
                    guint64            seq)
{
  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seq");
      if (seq != 0)
        json_builder_add_int_value (builder, (gint64) seq);
      else
        json_builder_add_null_value (builder);
      if (seq == 0)
        {
          json_builder_set_member_name (builder, "forwarded");
          json_builder_add_boolean_value (builder, TRUE);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else if (seq != 0)
    g_print ("%s %" G_GUINT64_FORMAT " %s (seq %" G_GUINT64_FORMAT ")\n",
             kind->noun, id, done, seq);
  else
    g_print ("%s %" G_GUINT64_FORMAT " %s (forwarded to the leader)\n",
             kind->noun, id, done);
}

static void
cli_set_missing (GError            **error,
                 const CliItemKind  *kind,
                 guint64             id)
{
  g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
               "no %s with id %" G_GUINT64_FORMAT, kind->noun, id);
}

/* ------------------------------------------------------------------ */
/* watch                                                               */
/* ------------------------------------------------------------------ */

typedef struct
{
  char      op;        /* '+', '-' or '~' */
  guint     position;
  GObject  *item;      /* owned */
} CliChange;

typedef struct
{
  const CliWatchView *view;
  NetQueryModel     *model;
  GMainLoop         *loop;
  GSequence         *mirror;         /* the rows as last reported; refs */
  GHashTable        *iters;          /* item → its GSequenceIter in mirror */
  GArray            *pending;        /* CliChange, not printed yet */
  GHashTable        *pending_items;  /* item → 1 + index of its '+' or '~' */
  guint              flush_id;
} CliWatch;

static void
cli_change_clear (gpointer data)
{
  CliChange *change = data;

  g_clear_object (&change->item);
}

static void
cli_watch_print_change (CliWatch        *watch,
                        const CliChange *change,
                        guint64          seq)
{
  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "change");
      json_builder_add_string_value (builder,
                                     change->op == '+' ? "added" :
                                     change->op == '-' ? "removed" : "changed");
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) seq);
      json_builder_set_member_name (builder, "position");
      json_builder_add_int_value (builder, change->position);
      json_builder_set_member_name (builder, "item");
      json_builder_add_value (builder, watch->view->to_json (watch->view->data, change->item));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    {
      g_auto(GStrv) cells = watch->view->row (watch->view->data, change->item);
      g_autoptr(GString) line = g_string_new (NULL);

      g_string_append_printf (line, "%c seq %" G_GUINT64_FORMAT, change->op, seq);
      for (guint c = 0; cells[c] != NULL; c++)
        {
          g_string_append (line, "  ");
          g_string_append (line, cells[c][0] != '\0' ? cells[c] : "-");
        }
      g_print ("%s\n", line->str);
    }
}

/* Prints what one fold dispatch changed, after it: the model's seq is
 * then the seq of its last event. */
static gboolean
cli_watch_flush_cb (gpointer user_data)
{
  CliWatch *watch = user_data;
  guint64 seq = net_query_model_get_seq (watch->model);

  watch->flush_id = 0;

  for (guint i = 0; i < watch->pending->len; i++)
    {
      const CliChange *change = &g_array_index (watch->pending, CliChange, i);

      if (change->op != 0)
        cli_watch_print_change (watch, change, seq);
    }
  g_array_set_size (watch->pending, 0);
  g_hash_table_remove_all (watch->pending_items);
  fflush (stdout);

  return G_SOURCE_REMOVE;
}

static void
cli_watch_queue (CliWatch *watch,
                 char      op,
                 guint     position,
                 GObject  *item)
{
  CliChange change = { op, position, g_object_ref (item) };
  gpointer index;

  /* A row that leaves needs no “changed” line just before. */
  if (op == '-' &&
      g_hash_table_steal_extended (watch->pending_items, item, NULL, &index))
    {
      CliChange *earlier = &g_array_index (watch->pending, CliChange,
                                           GPOINTER_TO_UINT (index) - 1);

      if (earlier->op == '~')
        earlier->op = 0;
    }

  g_array_append_val (watch->pending, change);
  if (op != '-')
    g_hash_table_insert (watch->pending_items, item,
                         GUINT_TO_POINTER (watch->pending->len));

  /* Above the fold source's priority: runs right after its dispatch. */
  if (watch->flush_id == 0)
    watch->flush_id = g_idle_add_full (G_PRIORITY_HIGH, cli_watch_flush_cb, watch, NULL);
}

static void
cli_watch_item_notify_cb (GObject    *item,
                          GParamSpec *pspec,
                          gpointer    user_data)
{
  CliWatch *watch = user_data;
  GSequenceIter *iter;

  /* One line per item and dispatch, however many fields changed. */
  if (g_hash_table_contains (watch->pending_items, item))
    return;

  iter = g_hash_table_lookup (watch->iters, item);
  if (iter == NULL)
    return;

  cli_watch_queue (watch, '~', (guint) g_sequence_iter_get_position (iter), item);
}

static void
cli_watch_insert (CliWatch      *watch,
                  GSequenceIter *before,
                  GObject       *item)
{
  GSequenceIter *iter = g_sequence_insert_before (before, g_object_ref (item));

  g_hash_table_insert (watch->iters, item, iter);
  g_signal_connect (item, "notify", G_CALLBACK (cli_watch_item_notify_cb), watch);
}

static void
cli_watch_items_changed_cb (GListModel *model,
                            guint       position,
                            guint       removed,
                            guint       added,
                            gpointer    user_data)
{
  CliWatch *watch = user_data;
  GSequenceIter *iter = g_sequence_get_iter_at_pos (watch->mirror, (int) position);

  for (guint i = 0; i < removed; i++)
    {
      g_autoptr(GObject) item = g_object_ref (g_sequence_get (iter));
      GSequenceIter *next = g_sequence_iter_next (iter);

      g_signal_handlers_disconnect_by_data (item, watch);
      g_hash_table_remove (watch->iters, item);
      g_sequence_remove (iter);
      cli_watch_queue (watch, '-', position, item);
      iter = next;
    }

  for (guint i = 0; i < added; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (model, position + i);

      cli_watch_insert (watch, iter, item);
      cli_watch_queue (watch, '+', position + i, item);
    }
}

static gboolean
cli_watch_signal_cb (gpointer user_data)
{
  CliWatch *watch = user_data;

  g_main_loop_quit (watch->loop);

  return G_SOURCE_CONTINUE;
}

static void
cli_watch_print_initial (CliWatch *watch)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new ();
  guint64 seq = net_query_model_get_seq (watch->model);

  for (GSequenceIter *it = g_sequence_get_begin_iter (watch->mirror);
       !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    g_ptr_array_add (items, g_sequence_get (it));

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) seq);
      json_builder_set_member_name (builder, "items");
      json_builder_begin_array (builder);
      for (guint i = 0; i < items->len; i++)
        json_builder_add_value (builder, watch->view->to_json (watch->view->data,
                                                               g_ptr_array_index (items, i)));
      json_builder_end_array (builder);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    {
      watch->view->print_table (watch->view->data, items);
      g_print ("-- seq %" G_GUINT64_FORMAT ": watching for changes "
               "(+ added, - removed, ~ changed); interrupt to stop\n", seq);
    }

  fflush (stdout);
}

/* Prints the model's rows, then every change, until SIGINT or SIGTERM. */
void
cli_watch_run (const CliWatchView *view,
               NetQueryModel      *model)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GSequence) mirror = g_sequence_new (g_object_unref);
  g_autoptr(GHashTable) iters = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) pending_items = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) pending = g_array_new (FALSE, FALSE, sizeof (CliChange));
  CliWatch watch = { view, model, loop, mirror, iters, pending, pending_items, 0 };
  GSequenceIter *end = g_sequence_get_end_iter (mirror);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (model));
  guint sigint_id;
  guint sigterm_id;
  gulong changed_id;

  g_array_set_clear_func (pending, cli_change_clear);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (model), i);

      cli_watch_insert (&watch, end, item);
    }

  /* The signals are ours before anything is printed: whoever reads the
   * first line may stop us at once. */
  sigint_id = g_unix_signal_add (SIGINT, cli_watch_signal_cb, &watch);
  sigterm_id = g_unix_signal_add (SIGTERM, cli_watch_signal_cb, &watch);

  cli_watch_print_initial (&watch);

  changed_id = g_signal_connect (model, "items-changed",
                                 G_CALLBACK (cli_watch_items_changed_cb), &watch);

  g_main_loop_run (loop);

  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_signal_handler_disconnect (model, changed_id);

  /* What was seen before the signal is still reported. */
  if (watch.flush_id != 0)
    {
      g_source_remove (watch.flush_id);
      cli_watch_flush_cb (&watch);
    }

  for (GSequenceIter *it = g_sequence_get_begin_iter (mirror);
       !g_sequence_iter_is_end (it);
       it = g_sequence_iter_next (it))
    g_signal_handlers_disconnect_by_data (g_sequence_get (it), &watch);
}

/* A model's kind as a watch's view. */
static JsonNode *
cli_kind_view_to_json (gpointer  data,
                       GObject  *item)
{
  const CliItemKind *kind = data;

  return kind->to_json (item);
}

static char **
cli_kind_view_row (gpointer  data,
                   GObject  *item)
{
  const CliItemKind *kind = data;
  char **cells = g_new0 (char *, kind->n_columns + 1);

  kind->row (item, cells);
  return cells;
}

static void
cli_kind_view_print_table (gpointer   data,
                           GPtrArray *items)
{
  cli_print_table (data, items);
}

/* ------------------------------------------------------------------ */
/* tasks                                                               */
/* ------------------------------------------------------------------ */

/* After a mutation (@seq 0: it failed, @error is set): closes the
 * database, which makes the event durable, and says what was done. */
static int
cli_finish_mutation (NetDb              *db,
                     const CliItemKind  *kind,
                     guint64             id,
                     const char         *done,
                     guint64             seq,
                     GError            **error)
{
  if (seq == 0)
    {
      net_db_close (db, NULL);
      return CLI_EXIT_FAILURE;
    }

  if (!net_db_close (db, error))
    return CLI_EXIT_FAILURE;

  cli_print_mutation (kind, id, done, seq);

  return EXIT_SUCCESS;
}

/* A mutation of the database of the global options: applied here, or,
 * when a running `netdb node` holds the database, sent to it. */
static int
cli_mutate (const CliItemKind  *kind,
            CliMutation        *mutation,
            GError            **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GError) open_error = NULL;
  g_autofree char *dir = NULL;
  guint64 seq = 0;

  if (!(db = cli_open_db (CLI_OPEN_WRITE, cli_mutation_model (mutation), &open_error)))
    {
      if (!g_error_matches (open_error, NET_ERROR, NET_ERROR_LOCKED))
        {
          g_propagate_error (error, g_steal_pointer (&open_error));
          return CLI_EXIT_FAILURE;
        }

      dir = cli_get_db_dir ();
      switch (cli_control_send (dir, mutation, &seq, error))
        {
        case CLI_CONTROL_NO_NODE:
          /* Held by something other than a node: nothing to do. */
          g_propagate_error (error, g_steal_pointer (&open_error));
          return CLI_EXIT_FAILURE;
        case CLI_CONTROL_FAILED:
          return CLI_EXIT_FAILURE;
        case CLI_CONTROL_APPLIED:
          cli_print_mutation (kind, mutation->id, cli_mutation_done (mutation), seq);
          return EXIT_SUCCESS;
        default:
          g_assert_not_reached ();
        }
    }

  seq = cli_mutation_apply (mutation, db, error);

  return cli_finish_mutation (db, kind, mutation->id, cli_mutation_done (mutation), seq, error);
}

static int
cli_tasks_mutate (CliInvocation    *inv,
                  CliMutationOp     op,
                  GError          **error)
{
  g_auto(CliMutation) mutation = { .op = op };

  if (!cli_parse_id (inv->args[0], &mutation.id, error))
    return CLI_EXIT_USAGE;
  if (op == CLI_MUTATION_TASK_ADD || op == CLI_MUTATION_TASK_RENAME)
    mutation.text = g_strdup (inv->args[1]);

  return cli_mutate (&task_kind, &mutation, error);
}

static int
cmd_tasks_add (CliInvocation  *inv,
               GError        **error)
{
  return cli_tasks_mutate (inv, CLI_MUTATION_TASK_ADD, error);
}

static int
cmd_tasks_rename (CliInvocation  *inv,
                  GError        **error)
{
  return cli_tasks_mutate (inv, CLI_MUTATION_TASK_RENAME, error);
}

static int
cmd_tasks_complete (CliInvocation  *inv,
                    GError        **error)
{
  return cli_tasks_mutate (inv, CLI_MUTATION_TASK_COMPLETE, error);
}

static int
cmd_tasks_delete (CliInvocation  *inv,
                  GError        **error)
{
  return cli_tasks_mutate (inv, CLI_MUTATION_TASK_DELETE, error);
}

/* get, list, count and watch, for either kind. */
static int
cli_kind_get (const CliItemKind  *kind,
              CliInvocation      *inv,
              GError            **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GObject) item = NULL;
  guint64 id;

  if (!cli_parse_id (inv->args[0], &id, error))
    return CLI_EXIT_USAGE;

  if (!(db = cli_open_db (CLI_OPEN_READ, kind->model, error)))
    return CLI_EXIT_FAILURE;

  item = kind->get (db, id);
  net_db_close (db, NULL);
  if (item == NULL)
    {
      cli_set_missing (error, kind, id);
      return CLI_EXIT_FAILURE;
    }

  cli_print_item (kind, item);

  return EXIT_SUCCESS;
}

static int
cli_kind_list (const CliItemKind  *kind,
               GError            **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GObject) filter = NULL;
  g_autoptr(GPtrArray) items = NULL;

  if (!(filter = kind->filter (error)))
    return CLI_EXIT_USAGE;

  if (!(db = cli_open_db (CLI_OPEN_READ, kind->model, error)))
    return CLI_EXIT_FAILURE;

  items = kind->find_many (db, filter);
  net_db_close (db, NULL);
  cli_print_items (kind, items);

  return EXIT_SUCCESS;
}

static int
cli_kind_count (const CliItemKind  *kind,
                GError            **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GObject) filter = NULL;
  guint count;

  if (!(filter = kind->filter (error)))
    return CLI_EXIT_USAGE;

  if (!(db = cli_open_db (CLI_OPEN_READ, kind->model, error)))
    return CLI_EXIT_FAILURE;

  count = kind->count (db, filter);
  net_db_close (db, NULL);
  cli_print_count (count);

  return EXIT_SUCCESS;
}

static int
cli_kind_watch (const CliItemKind  *kind,
                GError            **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GObject) filter = NULL;
  g_autoptr(NetQueryModel) model = NULL;

  if (!(filter = kind->filter (error)))
    return CLI_EXIT_USAGE;

  if (!(db = cli_open_db (CLI_OPEN_READ, kind->model, error)))
    return CLI_EXIT_FAILURE;

  model = kind->watch (db, filter);
  cli_watch_run (&(CliWatchView) { cli_kind_view_to_json, cli_kind_view_row,
                                   cli_kind_view_print_table, (gpointer) kind },
                 model);
  g_clear_object (&model);

  if (!net_db_close (db, error))
    return CLI_EXIT_FAILURE;

  return EXIT_SUCCESS;
}

static int
cmd_tasks_get (CliInvocation  *inv,
               GError        **error)
{
  return cli_kind_get (&task_kind, inv, error);
}

static int
cmd_tasks_list (CliInvocation  *inv,
                GError        **error)
{
  return cli_kind_list (&task_kind, error);
}

static int
cmd_tasks_count (CliInvocation  *inv,
                 GError        **error)
{
  return cli_kind_count (&task_kind, error);
}

static int
cmd_tasks_watch (CliInvocation  *inv,
                 GError        **error)
{
  return cli_kind_watch (&task_kind, error);
}

/* ------------------------------------------------------------------ */
/* memories                                                            */
/* ------------------------------------------------------------------ */

static int
cli_memories_mutate (CliInvocation  *inv,
                     CliMutationOp   op,
                     GError        **error)
{
  g_auto(CliMutation) mutation = { .op = op };

  if (!cli_parse_id (inv->args[0], &mutation.id, error))
    return CLI_EXIT_USAGE;
  if (op == CLI_MUTATION_MEMORY_STORE)
    {
      mutation.text = g_strdup (inv->args[1]);
      mutation.source = g_strdup (opt_source);
    }
  if (op == CLI_MUTATION_MEMORY_STORE || op == CLI_MUTATION_MEMORY_RETAG)
    mutation.tags = g_strdupv (opt_tags);

  return cli_mutate (&memory_kind, &mutation, error);
}

static int
cmd_memories_store (CliInvocation  *inv,
                    GError        **error)
{
  return cli_memories_mutate (inv, CLI_MUTATION_MEMORY_STORE, error);
}

static int
cmd_memories_retag (CliInvocation  *inv,
                    GError        **error)
{
  return cli_memories_mutate (inv, CLI_MUTATION_MEMORY_RETAG, error);
}

static int
cmd_memories_pin (CliInvocation  *inv,
                  GError        **error)
{
  return cli_memories_mutate (inv, CLI_MUTATION_MEMORY_PIN, error);
}

static int
cmd_memories_unpin (CliInvocation  *inv,
                    GError        **error)
{
  return cli_memories_mutate (inv, CLI_MUTATION_MEMORY_UNPIN, error);
}

static int
cmd_memories_delete (CliInvocation  *inv,
                     GError        **error)
{
  return cli_memories_mutate (inv, CLI_MUTATION_MEMORY_DELETE, error);
}

static int
cmd_memories_get (CliInvocation  *inv,
                  GError        **error)
{
  return cli_kind_get (&memory_kind, inv, error);
}

static int
cmd_memories_list (CliInvocation  *inv,
                   GError        **error)
{
  return cli_kind_list (&memory_kind, error);
}

static int
cmd_memories_count (CliInvocation  *inv,
                    GError        **error)
{
  return cli_kind_count (&memory_kind, error);
}

static int
cmd_memories_watch (CliInvocation  *inv,
                    GError        **error)
{
  return cli_kind_watch (&memory_kind, error);
}

/* ------------------------------------------------------------------ */
/* snapshot                                                            */
/* ------------------------------------------------------------------ */

#define CLI_ALL_MODELS (NET_DB_MODELS_TASKS | NET_DB_MODELS_MEMORIES)

static int
cmd_snapshot_save (CliInvocation  *inv,
                   GError        **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GBytes) snapshot = NULL;
  const char *file = inv->args[0];
  gsize size;

  if (!(db = cli_open_db (CLI_OPEN_READ, CLI_ALL_MODELS, error)))
    return CLI_EXIT_FAILURE;

  snapshot = net_db_snapshot (db, error);
  net_db_close (db, NULL);
  if (snapshot == NULL)
    return CLI_EXIT_FAILURE;

  size = g_bytes_get_size (snapshot);
  /* A snapshot holds the whole database: as private as its files. */
  if (!g_file_set_contents_full (file, g_bytes_get_data (snapshot, NULL), size,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return CLI_EXIT_FAILURE;

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "file");
      json_builder_add_string_value (builder, file);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, (gint64) size);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    g_print ("saved a snapshot of %" G_GSIZE_FORMAT " bytes to %s\n", size, file);

  return EXIT_SUCCESS;
}

static gboolean
cli_dir_is_empty (const char  *path,
                  gboolean    *exists,
                  GError     **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;

  dir = g_dir_open (path, 0, &local_error);
  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          *exists = FALSE;
          return TRUE;
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  *exists = TRUE;
  if (g_dir_read_name (dir) != NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_FAILED,
                   "%s is not empty: a snapshot is restored into a new or "
                   "empty database directory (choose one with --db DIR)", path);
      return FALSE;
    }

  return TRUE;
}

static int
cmd_snapshot_restore (CliInvocation  *inv,
                      GError        **error)
{
  g_autoptr(NetDb) db = NULL;
  g_autoptr(GBytes) snapshot = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *data = NULL;
  const char *file = inv->args[0];
  gboolean existed = FALSE;
  gsize size = 0;
  guint counts[G_N_ELEMENTS (cli_kinds)];

  if (!g_file_get_contents (file, &data, &size, error))
    return CLI_EXIT_FAILURE;
  snapshot = g_bytes_new_take (g_steal_pointer (&data), size);

  if (!opt_memory)
    {
      dir = cli_get_db_dir ();
      if (!cli_dir_is_empty (dir, &existed, error) || !cli_ensure_dir (dir, error))
        return CLI_EXIT_FAILURE;
    }

  db = net_db_open_from_snapshot (snapshot, dir, CLI_ALL_MODELS, error);
  if (db == NULL)
    {
      g_prefix_error (error, "%s: ", file);
      /* Leave no trace of a failed restore; rmdir only removes it empty. */
      if (dir != NULL && !existed)
        g_rmdir (dir);
      return CLI_EXIT_FAILURE;
    }

  for (guint k = 0; k < G_N_ELEMENTS (cli_kinds); k++)
    counts[k] = cli_kinds[k]->count (db, NULL);

  if (!net_db_close (db, error))
    return CLI_EXIT_FAILURE;

  if (opt_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (builder);
      cli_json_add_string_or_null (builder, "path", dir);
      for (guint k = 0; k < G_N_ELEMENTS (cli_kinds); k++)
        {
          json_builder_set_member_name (builder, cli_kinds[k]->plural);
          json_builder_add_int_value (builder, counts[k]);
        }
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      cli_print_json (root);
    }
  else
    {
      g_autoptr(GString) what = g_string_new (NULL);

      /* "2 tasks and 1 memory" */
      for (guint k = 0; k < G_N_ELEMENTS (cli_kinds); k++)
        g_string_append_printf (what, "%s%u %s",
                                k == 0 ? "" : k + 1 == G_N_ELEMENTS (cli_kinds) ? " and " : ", ",
                                counts[k], counts[k] == 1 ? cli_kinds[k]->noun : cli_kinds[k]->plural);
      g_print ("restored %s into %s\n", what->str, dir != NULL ? dir : "an in-memory database");
    }

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Command tables                                                      */
/* ------------------------------------------------------------------ */

#define READ_ONLY_NOTE "The database is opened read-only, so this works next to a writer."

#define WATCH_DESCRIPTION \
  "Prints the current result, then one line per change as it happens:\n" \
  "“+” an item entered the result, “-” one left it, “~” one changed in\n" \
  "place, each with the seq of the last event it reflects.  With --json,\n" \
  "prints {\"seq\", \"items\"} and then one {\"change\", \"seq\", \"position\",\n" \
  "\"item\"} object per line.  Follows other processes' writes until\n" \
  "interrupted (SIGINT or SIGTERM, exit status 0).\n" READ_ONLY_NOTE

const CliCommand cli_tasks_commands[] = {
  { "add", "ID TITLE", "Add a task, or replace the task with this id",
    "Replacing resets the status to pending and the creation time.",
    NULL, NULL, 2, 2, cmd_tasks_add },
  { "rename", "ID TITLE", "Change the title of a task",
    NULL, NULL, NULL, 2, 2, cmd_tasks_rename },
  { "complete", "ID", "Mark a task completed",
    NULL, NULL, NULL, 1, 1, cmd_tasks_complete },
  { "delete", "ID", "Delete a task",
    NULL, NULL, NULL, 1, 1, cmd_tasks_delete },
  { "get", "ID", "Show one task",
    READ_ONLY_NOTE, NULL, NULL, 1, 1, cmd_tasks_get },
  { "list", NULL, "List the tasks that match the filter options",
    READ_ONLY_NOTE, NULL, tasks_list_entries, 0, 0, cmd_tasks_list },
  { "count", NULL, "Count the tasks that match the filter options",
    READ_ONLY_NOTE, NULL, tasks_count_entries, 0, 0, cmd_tasks_count },
  { "watch", NULL, "List the matching tasks, then print every change",
    WATCH_DESCRIPTION, NULL, tasks_list_entries, 0, 0, cmd_tasks_watch },
  { NULL }
};

const CliCommand cli_memories_commands[] = {
  { "store", "ID CONTENT", "Store a memory, or update the memory with this id",
    "Updating keeps the memory's pinned state and creation time.",
    NULL, memories_store_entries, 2, 2, cmd_memories_store },
  { "retag", "ID", "Replace the tags of a memory",
    NULL, NULL, memories_retag_entries, 1, 1, cmd_memories_retag },
  { "pin", "ID", "Pin a memory",
    NULL, NULL, NULL, 1, 1, cmd_memories_pin },
  { "unpin", "ID", "Unpin a memory",
    NULL, NULL, NULL, 1, 1, cmd_memories_unpin },
  { "delete", "ID", "Delete a memory",
    NULL, NULL, NULL, 1, 1, cmd_memories_delete },
  { "get", "ID", "Show one memory",
    READ_ONLY_NOTE, NULL, NULL, 1, 1, cmd_memories_get },
  { "list", NULL, "List the memories that match the filter options",
    READ_ONLY_NOTE, NULL, memories_list_entries, 0, 0, cmd_memories_list },
  { "count", NULL, "Count the memories that match the filter options",
    READ_ONLY_NOTE, NULL, memories_count_entries, 0, 0, cmd_memories_count },
  { "watch", NULL, "List the matching memories, then print every change",
    WATCH_DESCRIPTION, NULL, memories_list_entries, 0, 0, cmd_memories_watch },
  { NULL }
};

const CliCommand cli_snapshot_commands[] = {
  { "save", "FILE", "Write a snapshot of every model to FILE",
    "The snapshot is one compressed, checksummed file (mode 0600).\n" READ_ONLY_NOTE,
    NULL, NULL, 1, 1, cmd_snapshot_save },
  { "restore", "FILE", "Create a database from a snapshot FILE",
    "Restores into the database directory (--db DIR or the default), which\n"
    "must not exist yet or be empty.  A corrupt or truncated FILE is refused.",
    NULL, NULL, 1, 1, cmd_snapshot_restore },
  { NULL }
};
