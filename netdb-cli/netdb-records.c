/* netdb-records.c: `netdb collections` and `netdb records …`
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Collections are the records of classes that applications define
 * (DESIGN.md §11).  The command has none of those classes: it opens every
 * collection untyped (NET_TYPE_RECORD), reads each record's fields by name,
 * and takes the fields' stored types from the log's schema
 * (docs/collection-format.md) to convert the values of --where from text.
 *
 * Like the other reading commands, these open the database read-only, so
 * they work next to a writer (an application or a `netdb node`), and
 * `records watch` follows that writer's appends live.  `watch` mirrors the
 * NetQueryModel's items-changed into a GSequence, as `tasks watch` does
 * (netdb-models.c), with one column per field of the collection.
 */

#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib-unix.h>

#include "netdb-cli.h"
/* The stored type of a field: the untyped collection's fields. */
#include "net-collection-internal-private.h"

/* Human output shows at most this many characters of a value, like
 * `log tail`: a 2 MB body would fill the terminal.  --json prints it whole. */
#define CLI_RECORDS_TEXT_MAX 200

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static char    **opt_where;
static char    **opt_order;
static int       opt_limit;
static int       opt_offset;

#define RECORDS_WHERE_ENTRY \
  { "where", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &opt_where, \
    "Only records whose FIELD compares with VALUE: FIELD=VALUE, FIELD!=VALUE, " \
    "FIELD<VALUE, FIELD<=VALUE, FIELD>VALUE, FIELD>=VALUE, FIELD~TEXT (contains), " \
    "FIELD^TEXT (starts with) (repeatable; all must hold)", "COND" }

static const GOptionEntry records_list_entries[] = {
  RECORDS_WHERE_ENTRY,
  { "order", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opt_order,
    "Order by FIELD; a leading - reverses (repeatable: later keys break ties; default: id)", "[-]FIELD" },
  { "limit", 'n', 0, G_OPTION_ARG_INT, &opt_limit,
    "Show at most N records (default: all)", "N" },
  { "offset", 0, 0, G_OPTION_ARG_INT, &opt_offset,
    "Skip the first N records", "N" },
  { NULL }
};

static const GOptionEntry records_count_entries[] = {
  RECORDS_WHERE_ENTRY,
  { NULL }
};

void
cli_records_cleanup (void)
{
  g_clear_pointer (&opt_where, g_strfreev);
  g_clear_pointer (&opt_order, g_strfreev);
}

/* ------------------------------------------------------------------ */
/* Collections and their fields                                        */
/* ------------------------------------------------------------------ */

/* A field of a collection as the command reads it: its name and the type
 * the log stores it as (the newest definition of the name). */
typedef struct
{
  const char   *name;   /* the collection's */
  NetFieldType  type;
} CliField;

/* The collection of a command, opened untyped, and its fields in the
 * order the log defined them. */
typedef struct
{
  NetDb         *db;
  NetCollection *coll;    /* the db's */
  char         **names;   /* of the fields */
  GArray        *fields;  /* CliField */
} CliRecords;

static void
cli_records_clear (CliRecords *records)
{
  g_clear_pointer (&records->fields, g_array_unref);
  g_clear_pointer (&records->names, g_strfreev);
  records->coll = NULL;
  if (records->db != NULL)
    net_db_close (records->db, NULL);
  g_clear_object (&records->db);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliRecords, cli_records_clear)

/* The untyped collection reads each name as its newest stored type; that
 * is in its internal state (net-collection-internal-private.h), as no
 * public function tells it. */
static NetFieldType
cli_records_stored_type (NetCollection *coll,
                         const char    *name)
{
  ClassField *cf = g_hash_table_lookup (coll->fields_by_name, name);

  return cf != NULL ? cf->type : 0;
}

static GArray *
cli_records_fields_of (NetCollection *coll,
                       char          *names[])
{
  GArray *fields = g_array_new (FALSE, TRUE, sizeof (CliField));

  for (guint i = 0; names[i] != NULL; i++)
    {
      CliField field = { names[i], cli_records_stored_type (coll, names[i]) };

      g_array_append_val (fields, field);
    }

  return fields;
}

static char *
cli_records_where (NetDb *db)
{
  const char *path = net_db_get_path (db);

  return path != NULL ? g_strdup (path) : g_strdup ("the in-memory database");
}

/* Opens collection @name of @db, untyped; never creates one. */
static NetCollection *
cli_records_open_collection (NetDb       *db,
                             const char  *name,
                             GError     **error)
{
  g_auto(GStrv) names = net_db_list_collections (db);

  if (!g_strv_contains ((const char * const *) names, name))
    {
      g_autofree char *where = cli_records_where (db);
      g_autofree char *known = g_strjoinv (", ", names);

      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "No collection named “%s” in %s (%s%s)", name, where,
                   names[0] != NULL ? "its collections: " : "it has no collection",
                   known);
      return NULL;
    }

  return net_db_open_collection (db, name, NET_TYPE_RECORD, error);
}

static gboolean
cli_records_open (CliRecords  *records,
                  const char  *name,
                  GError     **error)
{
  if (!(records->db = cli_open_db (CLI_OPEN_READ, NET_DB_MODELS_NONE, error)))
    return FALSE;

  if (!(records->coll = cli_records_open_collection (records->db, name, error)))
    return FALSE;

  records->names = net_collection_list_fields (records->coll);
  records->fields = cli_records_fields_of (records->coll, records->names);

  return TRUE;
}

/* What a field of the command line is: one of the record's own (`id`,
 * `created-at`, `updated-at`, or `created` and `updated` for short), or
 * one of the collection (@type set; an underscore may stand for a dash, as
 * in GObject property names), or neither (an error naming the fields there
 * are).  @name is the field's name as the filter takes it. */
static gboolean
cli_records_lookup_field (CliRecords    *records,
                          const char    *text,
                          const char   **name,
                          NetFieldType  *type,
                          gboolean      *own,
                          GError       **error)
{
  static const char * const own_names[][2] = {
    { "id", "id" },
    { "created-at", "created-at" },
    { "created", "created-at" },
    { "updated-at", "updated-at" },
    { "updated", "updated-at" },
  };
  g_autofree char *dashed = g_strdelimit (g_strdup (text), "_", '-');
  g_autofree char *known = NULL;

  *type = 0;
  *own = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (own_names); i++)
    if (g_str_equal (text, own_names[i][0]) || g_str_equal (dashed, own_names[i][0]))
      {
        *name = own_names[i][1];
        *own = TRUE;
        return TRUE;
      }

  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < records->fields->len; i++)
      {
        const CliField *field = &g_array_index (records->fields, CliField, i);

        if (g_str_equal (field->name, pass == 0 ? text : dashed))
          {
            *name = field->name;
            *type = field->type;
            return TRUE;
          }
      }

  known = g_strjoinv (", ", records->names);
  g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
               "Collection “%s” has no field “%s” (its fields: id, created-at, updated-at%s%s)",
               net_collection_get_name (records->coll), text,
               records->names[0] != NULL ? ", " : "", known);
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Values from the command line                                        */
/* ------------------------------------------------------------------ */

typedef struct
{
  char         *text;    /* the whole condition, for messages */
  char         *field;   /* as given */
  NetFilterOp   op;
  const char   *value;   /* in @text */
} CliCondition;

static void
cli_condition_clear (gpointer data)
{
  CliCondition *cond = data;

  g_free (cond->text);
  g_free (cond->field);
}

/* FIELD OP VALUE: the operator is the first of = ! < > ~ ^, which a field
 * name never holds. */
static gboolean
cli_records_parse_condition (const char    *text,
                             CliCondition  *cond,
                             GError       **error)
{
  const char *op = text + strcspn (text, "=!<>~^");
  const char *value = op + 1;
  g_autofree char *field = NULL;

  if (*op == '\0' || op == text)
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid --where “%s”: expected FIELD=VALUE, FIELD!=VALUE, FIELD<VALUE, "
                   "FIELD<=VALUE, FIELD>VALUE, FIELD>=VALUE, FIELD~TEXT or FIELD^TEXT", text);
      return FALSE;
    }

  switch (*op)
    {
    case '=':
      cond->op = NET_FILTER_OP_EQ;
      break;
    case '!':
      if (op[1] != '=')
        {
          g_set_error (error, CLI_USAGE_ERROR, 0,
                       "Invalid --where “%s”: “!” must be followed by “=”", text);
          return FALSE;
        }
      cond->op = NET_FILTER_OP_NE;
      value++;
      break;
    case '<':
    case '>':
      if (op[1] == '=')
        {
          cond->op = *op == '<' ? NET_FILTER_OP_LE : NET_FILTER_OP_GE;
          value++;
        }
      else
        cond->op = *op == '<' ? NET_FILTER_OP_LT : NET_FILTER_OP_GT;
      break;
    case '~':
      cond->op = NET_FILTER_OP_CONTAINS;
      break;
    case '^':
      cond->op = NET_FILTER_OP_PREFIX;
      break;
    default:
      g_assert_not_reached ();
    }

  field = g_strndup (text, op - text);
  cond->text = g_strdup (text);
  cond->field = g_steal_pointer (&field);
  cond->value = cond->text + (value - text);

  return TRUE;
}

static GDateTime *
cli_records_parse_datetime (const char *text)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc ();
  g_autofree char *midnight = NULL;
  GDateTime *dt;

  if ((dt = g_date_time_new_from_iso8601 (text, utc)) != NULL)
    return dt;

  /* A date alone is its midnight, UTC. */
  midnight = g_strconcat (text, "T00:00:00", NULL);
  return g_date_time_new_from_iso8601 (midnight, utc);
}

static gboolean
cli_records_parse_base64 (const char *text,
                          GBytes    **bytes)
{
  gsize len = strlen (text);
  guchar *data;
  gsize size = 0;

  /* g_base64_decode() takes anything; refuse what is not base64. */
  if (len % 4 != 0 || strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
    return FALSE;
  for (const char *pad = strchr (text, '='); pad != NULL && *pad != '\0'; pad++)
    if (*pad != '=' || pad < text + len - 2)
      return FALSE;

  data = g_base64_decode (text, &size);
  *bytes = g_bytes_new_take (data, size);
  return TRUE;
}

static const char *
cli_records_type_hint (NetFieldType type)
{
  switch (type)
    {
    case NET_FIELD_BOOLEAN: return "true or false";
    case NET_FIELD_INT: return "an integer of 32 bits";
    case NET_FIELD_UINT: return "an integer from 0 to 4294967295";
    case NET_FIELD_INT64: return "an integer of 64 bits";
    case NET_FIELD_UINT64: return "an integer from 0 to 18446744073709551615";
    case NET_FIELD_DOUBLE: return "a number";
    case NET_FIELD_ENUM: return "the enum's value, an integer";
    case NET_FIELD_FLAGS: return "the flags' value, an integer (decimal or 0x hex)";
    case NET_FIELD_BYTES: return "base64";
    case NET_FIELD_DATETIME: return "an ISO 8601 date and time (UTC unless it says), a date, or µs since 1970";
    case NET_FIELD_STRING:
    case NET_FIELD_STRV:
    default: return "text";
    }
}

/* @text as a value of a field stored as @type, for a condition @op;
 * FALSE when it is not one (the caller says so). */
static gboolean
cli_records_parse_value (NetFieldType  type,
                         NetFilterOp   op,
                         const char   *text,
                         GValue       *out)
{
  gint64 i64;
  guint64 u64;

  switch (type)
    {
    case NET_FIELD_BOOLEAN:
      if (g_ascii_strcasecmp (text, "true") == 0 || g_ascii_strcasecmp (text, "yes") == 0 ||
          g_str_equal (text, "1"))
        g_value_set_boolean (g_value_init (out, G_TYPE_BOOLEAN), TRUE);
      else if (g_ascii_strcasecmp (text, "false") == 0 || g_ascii_strcasecmp (text, "no") == 0 ||
               g_str_equal (text, "0"))
        g_value_set_boolean (g_value_init (out, G_TYPE_BOOLEAN), FALSE);
      else
        return FALSE;
      return TRUE;

    case NET_FIELD_INT:
    case NET_FIELD_ENUM:
      if (!g_ascii_string_to_signed (text, 10, G_MININT, G_MAXINT, &i64, NULL))
        return FALSE;
      g_value_set_int (g_value_init (out, G_TYPE_INT), (int) i64);
      return TRUE;

    case NET_FIELD_INT64:
      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &i64, NULL))
        return FALSE;
      g_value_set_int64 (g_value_init (out, G_TYPE_INT64), i64);
      return TRUE;

    case NET_FIELD_UINT:
    case NET_FIELD_FLAGS:
      if (type == NET_FIELD_FLAGS && (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X")))
        {
          if (!g_ascii_string_to_unsigned (text + 2, 16, 0, G_MAXUINT, &u64, NULL))
            return FALSE;
        }
      else if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &u64, NULL))
        return FALSE;
      g_value_set_uint (g_value_init (out, G_TYPE_UINT), (guint) u64);
      return TRUE;

    case NET_FIELD_UINT64:
      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &u64, NULL))
        return FALSE;
      g_value_set_uint64 (g_value_init (out, G_TYPE_UINT64), u64);
      return TRUE;

    case NET_FIELD_DOUBLE:
      {
        char *end = NULL;
        double d;

        if (*text == '\0' || g_ascii_isspace (*text))
          return FALSE;
        d = g_ascii_strtod (text, &end);
        if (*end != '\0' || isnan (d))
          return FALSE;
        g_value_set_double (g_value_init (out, G_TYPE_DOUBLE), d);
        return TRUE;
      }

    case NET_FIELD_STRING:
      if (!g_utf8_validate (text, -1, NULL))
        return FALSE;
      g_value_set_string (g_value_init (out, G_TYPE_STRING), text);
      return TRUE;

    case NET_FIELD_STRV:
      if (!g_utf8_validate (text, -1, NULL))
        return FALSE;
      /* Contains and prefix look for one member; the others compare
       * the whole list, comma-separated. */
      if (op == NET_FILTER_OP_CONTAINS || op == NET_FILTER_OP_PREFIX)
        g_value_set_string (g_value_init (out, G_TYPE_STRING), text);
      else
        g_value_take_boxed (g_value_init (out, G_TYPE_STRV),
                            *text != '\0' ? g_strsplit (text, ",", -1) : g_new0 (char *, 1));
      return TRUE;

    case NET_FIELD_BYTES:
      {
        GBytes *bytes = NULL;

        if (!cli_records_parse_base64 (text, &bytes))
          return FALSE;
        g_value_take_boxed (g_value_init (out, G_TYPE_BYTES), bytes);
        return TRUE;
      }

    case NET_FIELD_DATETIME:
      {
        GDateTime *dt;

        if (g_ascii_string_to_signed (text, 10, G_MININT64 + 1, G_MAXINT64, &i64, NULL))
          {
            g_value_set_int64 (g_value_init (out, G_TYPE_INT64), i64);
            return TRUE;
          }
        if ((dt = cli_records_parse_datetime (text)) == NULL)
          return FALSE;
        g_value_take_boxed (g_value_init (out, G_TYPE_DATE_TIME), dt);
        return TRUE;
      }

    default:
      return FALSE;
    }
}

/* Adds --where @text to @filter, its value converted to the field's
 * type; an error names the field. */
static gboolean
cli_records_add_condition (CliRecords          *records,
                           NetFilter           *filter,
                           const CliCondition  *cond,
                           GError             **error)
{
  g_auto(GValue) value = G_VALUE_INIT;
  const char *name;
  NetFieldType type;
  gboolean own;

  if (!cli_records_lookup_field (records, cond->field, &name, &type, &own, error))
    return FALSE;

  /* The record's own: the id, and the times as datetimes (µs). */
  if (own)
    type = g_str_equal (name, "id") ? NET_FIELD_UINT64 : NET_FIELD_DATETIME;

  if ((cond->op == NET_FILTER_OP_CONTAINS || cond->op == NET_FILTER_OP_PREFIX) &&
      type != NET_FIELD_STRING && type != NET_FIELD_STRV)
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid --where “%s”: %s works on text (string or strv), and field “%s” is %s",
                   cond->text, cond->op == NET_FILTER_OP_CONTAINS ? "~ (contains)" : "^ (starts with)",
                   cond->field, own ? "the record's own" : _net_field_type_name (type));
      return FALSE;
    }

  if (!cli_records_parse_value (type, cond->op, cond->value, &value))
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid --where “%s”: “%s” is not a value of field “%s” (%s: %s)",
                   cond->text, cond->value, cond->field,
                   own ? "the record's own" : _net_field_type_name (type),
                   cli_records_type_hint (type));
      return FALSE;
    }

  net_filter_where (filter, name, cond->op, &value);

  return TRUE;
}

/* The conditions of --where, checked before the database is opened. */
static GArray *
cli_records_parse_conditions (GError **error)
{
  g_autoptr(GArray) conds = g_array_new (FALSE, TRUE, sizeof (CliCondition));

  g_array_set_clear_func (conds, cli_condition_clear);

  for (guint i = 0; opt_where != NULL && opt_where[i] != NULL; i++)
    {
      CliCondition cond = { NULL, };

      if (!cli_records_parse_condition (opt_where[i], &cond, error))
        return NULL;
      g_array_append_val (conds, cond);
    }

  return g_steal_pointer (&conds);
}

static gboolean
cli_records_check_window (gboolean   window,
                          GError   **error)
{
  if (!window)
    return TRUE;

  for (guint i = 0; opt_order != NULL && opt_order[i] != NULL; i++)
    {
      const char *field = opt_order[i][0] == '-' ? opt_order[i] + 1 : opt_order[i];

      if (*field == '\0')
        {
          g_set_error (error, CLI_USAGE_ERROR, 0,
                       "Invalid --order “%s”: expected FIELD or -FIELD", opt_order[i]);
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

  return TRUE;
}

/* The filter of the command-line options, over the open collection. */
static NetFilter *
cli_records_filter (CliRecords  *records,
                    GArray      *conds,
                    gboolean     window,
                    GError     **error)
{
  g_autoptr(NetFilter) filter = net_filter_new ();

  for (guint i = 0; i < conds->len; i++)
    if (!cli_records_add_condition (records, filter, &g_array_index (conds, CliCondition, i), error))
      return NULL;

  if (!window)
    return g_steal_pointer (&filter);

  for (guint i = 0; opt_order != NULL && opt_order[i] != NULL; i++)
    {
      gboolean desc = opt_order[i][0] == '-';
      const char *name;
      NetFieldType type;
      gboolean own;

      if (!cli_records_lookup_field (records, opt_order[i] + (desc ? 1 : 0), &name, &type, &own, error))
        return NULL;
      net_filter_order_by (filter, name, desc);
    }

  g_object_set (filter, "limit", (guint) opt_limit, "offset", (guint) opt_offset, NULL);

  return g_steal_pointer (&filter);
}

/* ------------------------------------------------------------------ */
/* Values to text and JSON                                             */
/* ------------------------------------------------------------------ */

static char *
cli_records_format_double (double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  /* The shortest of %.15g and %.17g that reads back as @d. */
  g_ascii_formatd (buf, sizeof buf, "%.15g", d);
  if (g_ascii_strtod (buf, NULL) != d)
    g_ascii_formatd (buf, sizeof buf, "%.17g", d);

  return g_strdup (buf);
}

static char *
cli_records_format_datetime (GDateTime *dt)
{
  g_autoptr(GDateTime) utc = g_date_time_to_utc (dt);

  return utc != NULL ? g_date_time_format_iso8601 (utc) : g_date_time_format_iso8601 (dt);
}

/* A value as text, whole; NULL for a NULL string, bytes or datetime. */
static char *
cli_records_value_to_text (const GValue *value)
{
  GType type = G_VALUE_TYPE (value);

  if (type == G_TYPE_BOOLEAN)
    return g_strdup (g_value_get_boolean (value) ? "true" : "false");
  if (type == G_TYPE_INT)
    return g_strdup_printf ("%d", g_value_get_int (value));
  if (type == G_TYPE_UINT)
    return g_strdup_printf ("%u", g_value_get_uint (value));
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, g_value_get_int64 (value));
  if (type == G_TYPE_UINT64)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, g_value_get_uint64 (value));
  if (type == G_TYPE_DOUBLE)
    return cli_records_format_double (g_value_get_double (value));
  if (type == G_TYPE_STRING)
    return g_value_dup_string (value);
  if (type == G_TYPE_STRV)
    {
      const char * const *strv = g_value_get_boxed (value);

      return strv != NULL ? g_strjoinv (",", (GStrv) strv) : g_strdup ("");
    }
  if (type == G_TYPE_BYTES)
    {
      GBytes *bytes = g_value_get_boxed (value);
      gsize len = 0;
      const guchar *data;

      if (bytes == NULL)
        return NULL;
      data = g_bytes_get_data (bytes, &len);
      return g_base64_encode (data, len);
    }
  if (type == G_TYPE_DATE_TIME)
    {
      GDateTime *dt = g_value_get_boxed (value);

      return dt != NULL ? cli_records_format_datetime (dt) : NULL;
    }
  if (G_TYPE_IS_ENUM (type))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (type);
      GEnumValue *ev = g_enum_get_value (klass, g_value_get_enum (value));

      return ev != NULL ? g_strdup (ev->value_nick) : g_strdup_printf ("%d", g_value_get_enum (value));
    }
  if (G_TYPE_IS_FLAGS (type))
    {
      g_autoptr(GFlagsClass) klass = g_type_class_ref (type);
      guint flags = g_value_get_flags (value);
      g_autoptr(GString) out = g_string_new (NULL);

      for (guint i = 0; i < klass->n_values; i++)
        if (klass->values[i].value != 0 && (flags & klass->values[i].value) == klass->values[i].value)
          {
            g_string_append_printf (out, "%s%s", out->len > 0 ? "," : "", klass->values[i].value_nick);
            flags &= ~klass->values[i].value;
          }
      if (flags != 0 || out->len == 0)
        g_string_append_printf (out, "%s%u", out->len > 0 ? "," : "", flags);
      return g_string_free (g_steal_pointer (&out), FALSE);
    }

  return g_strdup_value_contents (value);
}

/* Takes @text; one terminal line of at most CLI_RECORDS_TEXT_MAX
 * characters (on a character boundary), saying how much was left out. */
static char *
cli_records_for_display (char *text)
{
  g_autofree char *owned = text;
  g_autofree char *escaped = NULL;
  const char *cut;

  if (text == NULL)
    return g_strdup ("");

  escaped = cli_escape_payload ((const guint8 *) text, strlen (text));
  if (g_utf8_strlen (escaped, -1) <= CLI_RECORDS_TEXT_MAX)
    return g_steal_pointer (&escaped);

  cut = g_utf8_offset_to_pointer (escaped, CLI_RECORDS_TEXT_MAX);
  return g_strdup_printf ("%.*s… (%" G_GSIZE_FORMAT " more bytes; --json prints it whole)",
                          (int) (cut - escaped), escaped, strlen (cut));
}

static JsonNode *
cli_records_value_to_json (const GValue *value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);
  GType type = G_VALUE_TYPE (value);

  if (type == G_TYPE_BOOLEAN)
    json_node_set_boolean (node, g_value_get_boolean (value));
  else if (type == G_TYPE_INT)
    json_node_set_int (node, g_value_get_int (value));
  else if (type == G_TYPE_UINT)
    json_node_set_int (node, g_value_get_uint (value));
  else if (type == G_TYPE_INT64)
    json_node_set_int (node, g_value_get_int64 (value));
  else if (type == G_TYPE_UINT64 && g_value_get_uint64 (value) <= G_MAXINT64)
    json_node_set_int (node, (gint64) g_value_get_uint64 (value));
  else if (type == G_TYPE_DOUBLE && isfinite (g_value_get_double (value)))
    json_node_set_double (node, g_value_get_double (value));
  else if (G_TYPE_IS_ENUM (type))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (type);
      GEnumValue *ev = g_enum_get_value (klass, g_value_get_enum (value));

      if (ev != NULL)
        json_node_set_string (node, ev->value_nick);
      else
        json_node_set_int (node, g_value_get_enum (value));
    }
  else if (G_TYPE_IS_FLAGS (type))
    {
      g_autoptr(GFlagsClass) klass = g_type_class_ref (type);
      g_autoptr(JsonArray) array = json_array_new ();
      guint flags = g_value_get_flags (value);

      for (guint i = 0; i < klass->n_values; i++)
        if (klass->values[i].value != 0 && (flags & klass->values[i].value) == klass->values[i].value)
          {
            json_array_add_string_element (array, klass->values[i].value_nick);
            flags &= ~klass->values[i].value;
          }
      if (flags != 0)
        json_array_add_int_element (array, flags);
      json_node_init_array (node, array);
    }
  else if (type == G_TYPE_STRV)
    {
      const char * const *strv = g_value_get_boxed (value);
      g_autoptr(JsonArray) array = json_array_new ();

      for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
        json_array_add_string_element (array, strv[i]);
      json_node_init_array (node, array);
    }
  else
    {
      /* Strings, bytes (base64), datetimes (ISO 8601), and the numbers
       * JSON cannot hold exactly (a uint64 past 2^63, NaN, infinities)
       * as their text. */
      g_autofree char *text = cli_records_value_to_text (value);

      if (text != NULL)
        json_node_set_string (node, text);
      else
        json_node_init_null (node);
    }

  return node;
}

static char *
cli_records_format_time (gint64 timestamp)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  if (dt == NULL)
    return g_strdup_printf ("@%" G_GINT64_FORMAT, timestamp);

  return g_date_time_format (dt, "%Y-%m-%d %H:%M");
}

/* The cells of a record: id, each field, created, updated. */
static guint
cli_records_n_columns (CliRecords *records)
{
  return records->fields->len + 3;
}

static char **
cli_records_headers (CliRecords *records)
{
  guint n = cli_records_n_columns (records);
  char **headers = g_new0 (char *, n + 1);

  headers[0] = g_strdup ("ID");
  for (guint i = 0; i < records->fields->len; i++)
    headers[i + 1] = g_ascii_strup (g_array_index (records->fields, CliField, i).name, -1);
  headers[n - 2] = g_strdup ("CREATED");
  headers[n - 1] = g_strdup ("UPDATED");

  return headers;
}

static char **
cli_records_row (CliRecords *records,
                 NetRecord  *record)
{
  guint n = cli_records_n_columns (records);
  char **cells = g_new0 (char *, n + 1);

  cells[0] = g_strdup_printf ("%" G_GUINT64_FORMAT, net_record_get_id (record));
  for (guint i = 0; i < records->fields->len; i++)
    {
      g_auto(GValue) value = G_VALUE_INIT;
      const char *name = g_array_index (records->fields, CliField, i).name;

      if (net_record_get_field (record, name, &value))
        cells[i + 1] = cli_records_for_display (cli_records_value_to_text (&value));
      else
        cells[i + 1] = g_strdup ("");
    }
  cells[n - 2] = cli_records_format_time (net_record_get_created_at (record));
  cells[n - 1] = cli_records_format_time (net_record_get_updated_at (record));

  return cells;
}

/* A record as one JSON object: id, created_at and updated_at (µs, as
 * tasks and memories have them), then every field (null when the record
 * has none). */
static JsonNode *
cli_records_to_json (CliRecords *records,
                     NetRecord  *record)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_object_set_int_member (object, "id", (gint64) net_record_get_id (record));
  json_object_set_int_member (object, "created_at", net_record_get_created_at (record));
  json_object_set_int_member (object, "updated_at", net_record_get_updated_at (record));
  for (guint i = 0; i < records->fields->len; i++)
    {
      g_auto(GValue) value = G_VALUE_INIT;
      const char *name = g_array_index (records->fields, CliField, i).name;

      if (net_record_get_field (record, name, &value))
        json_object_set_member (object, name, cli_records_value_to_json (&value));
      else
        json_object_set_null_member (object, name);
    }

  json_node_init_object (node, object);
  return node;
}

/* Aligned columns under a header, “-” for an empty value; the last
 * column is not padded. */
static void
cli_records_print_table (CliRecords *records,
                         GPtrArray  *items)
{
  guint n = cli_records_n_columns (records);
  g_auto(GStrv) headers = cli_records_headers (records);
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autofree const char **cells = g_new0 (const char *, (gsize) items->len * n + 1);

  for (guint i = 0; i < items->len; i++)
    {
      char **row = cli_records_row (records, g_ptr_array_index (items, i));

      for (guint c = 0; c < n; c++)
        {
          /* Many records leave fields empty: a dash keeps the columns. */
          if (row[c][0] == '\0')
            {
              g_free (row[c]);
              row[c] = g_strdup ("-");
            }
          cells[i * n + c] = row[c];
        }
      g_ptr_array_add (rows, row);
    }
  cli_print_aligned ((const char * const *) headers, cells, items->len, n);
}

static void
cli_records_print_items (CliRecords *records,
                         GPtrArray  *items)
{
  if (opt_json)
    {
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);
      g_autoptr(JsonArray) array = json_array_sized_new (items->len);

      for (guint i = 0; i < items->len; i++)
        json_array_add_element (array, cli_records_to_json (records, g_ptr_array_index (items, i)));
      json_node_set_array (root, array);
      cli_print_json (root);
    }
  else
    cli_records_print_table (records, items);
}

/* ------------------------------------------------------------------ */
/* collections                                                         */
/* ------------------------------------------------------------------ */

int
cli_cmd_collections (CliInvocation  *inv,
                     GError        **error)
{
  g_autoptr(NetDb) db = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(JsonArray) array = json_array_new ();
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  int name_width = (int) strlen ("NAME");
  int count_width = (int) strlen ("RECORDS");

  if (!(db = cli_open_db (CLI_OPEN_READ, NET_DB_MODELS_NONE, error)))
    return CLI_EXIT_FAILURE;

  names = net_db_list_collections (db);
  for (guint i = 0; names[i] != NULL; i++)
    {
      NetCollection *coll = net_db_open_collection (db, names[i], NET_TYPE_RECORD, error);
      g_auto(GStrv) fields = NULL;
      g_autoptr(GArray) types = NULL;
      g_autoptr(JsonObject) object = NULL;
      g_autoptr(JsonArray) json_fields = NULL;
      g_autoptr(GString) text = NULL;
      guint count;

      if (coll == NULL)
        {
          g_prefix_error (error, "collection “%s”: ", names[i]);
          net_db_close (db, NULL);
          return CLI_EXIT_FAILURE;
        }

      fields = net_collection_list_fields (coll);
      types = cli_records_fields_of (coll, fields);
      count = net_collection_count (coll, NULL);

      object = json_object_new ();
      json_fields = json_array_new ();
      text = g_string_new (NULL);
      for (guint f = 0; f < types->len; f++)
        {
          const CliField *field = &g_array_index (types, CliField, f);
          g_autoptr(JsonObject) json_field = json_object_new ();

          json_object_set_string_member (json_field, "name", field->name);
          json_object_set_string_member (json_field, "type", _net_field_type_name (field->type));
          json_array_add_object_element (json_fields, g_steal_pointer (&json_field));
          g_string_append_printf (text, "%s%s:%s", f > 0 ? " " : "",
                                  field->name, _net_field_type_name (field->type));
        }
      json_object_set_string_member (object, "name", names[i]);
      json_object_set_int_member (object, "count", count);
      json_object_set_array_member (object, "fields", g_steal_pointer (&json_fields));
      json_array_add_object_element (array, g_steal_pointer (&object));

      {
        char **line = g_new0 (char *, 4);

        line[0] = g_strdup (names[i]);
        line[1] = g_strdup_printf ("%u", count);
        line[2] = g_string_free (g_steal_pointer (&text), FALSE);
        name_width = MAX (name_width, (int) g_utf8_strlen (line[0], -1));
        count_width = MAX (count_width, (int) strlen (line[1]));
        g_ptr_array_add (lines, line);
      }
    }

  if (!net_db_close (db, error))
    return CLI_EXIT_FAILURE;

  if (opt_json)
    {
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);

      json_node_set_array (root, array);
      cli_print_json (root);
    }
  else if (lines->len > 0)
    {
      g_print ("%-*s  %*s  %s\n", name_width, "NAME", count_width, "RECORDS", "FIELDS");
      for (guint i = 0; i < lines->len; i++)
        {
          char **line = g_ptr_array_index (lines, i);
          g_autofree char *row = g_strdup_printf ("%-*s  %*s  %s", name_width, line[0],
                                                  count_width, line[1], line[2]);

          g_strchomp (row);
          g_print ("%s\n", row);
        }
    }

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* records get, list, count                                            */
/* ------------------------------------------------------------------ */

static int
cmd_records_get (CliInvocation  *inv,
                 GError        **error)
{
  g_auto(CliRecords) records = { NULL, };
  g_autoptr(NetRecord) record = NULL;
  g_autoptr(GError) local_error = NULL;
  guint64 id;

  if (!g_ascii_string_to_unsigned (inv->args[1], 10, 0, G_MAXUINT64, &id, &local_error))
    {
      g_set_error (error, CLI_USAGE_ERROR, 0,
                   "Invalid id “%s”: %s", inv->args[1], local_error->message);
      return CLI_EXIT_USAGE;
    }

  if (!cli_records_open (&records, inv->args[0], error))
    return CLI_EXIT_FAILURE;

  record = net_collection_get (records.coll, id);
  if (record == NULL)
    {
      g_set_error (error, NET_ERROR, NET_ERROR_NOT_FOUND,
                   "no record with id %" G_GUINT64_FORMAT " in collection “%s”",
                   id, inv->args[0]);
      return CLI_EXIT_FAILURE;
    }

  if (opt_json)
    {
      g_autoptr(JsonNode) root = cli_records_to_json (&records, record);

      cli_print_json (root);
    }
  else
    {
      /* One “label: value” line per field. */
      g_auto(GStrv) cells = cli_records_row (&records, record);
      guint n = cli_records_n_columns (&records);
      g_autofree const char **labels = g_new0 (const char *, n);
      int width = 0;

      labels[0] = "id";
      for (guint i = 0; i < records.fields->len; i++)
        labels[i + 1] = g_array_index (records.fields, CliField, i).name;
      labels[n - 2] = "created";
      labels[n - 1] = "updated";
      for (guint c = 0; c < n; c++)
        width = MAX (width, (int) g_utf8_strlen (labels[c], -1));
      for (guint c = 0; c < n; c++)
        {
          g_autofree char *line = g_strdup_printf ("%s:%*s %s", labels[c],
                                                   width - (int) g_utf8_strlen (labels[c], -1), "",
                                                   cells[c]);

          g_strchomp (line);
          g_print ("%s\n", line);
        }
    }

  return EXIT_SUCCESS;
}

/* What list, count and watch begin with: the options read, the
 * collection opened and its filter made (@window: with --order, --limit
 * and --offset).  0, or the exit status to return. */
static int
cli_records_query (CliInvocation  *inv,
                   CliRecords     *records,
                   gboolean        window,
                   NetFilter     **filter,
                   GError        **error)
{
  g_autoptr(GArray) conds = NULL;

  if (!(conds = cli_records_parse_conditions (error)) || !cli_records_check_window (window, error))
    return CLI_EXIT_USAGE;
  if (!cli_records_open (records, inv->args[0], error))
    return CLI_EXIT_FAILURE;
  if (!(*filter = cli_records_filter (records, conds, window, error)))
    return CLI_EXIT_FAILURE;
  return 0;
}

static int
cmd_records_list (CliInvocation  *inv,
                  GError        **error)
{
  g_auto(CliRecords) records = { NULL, };
  g_autoptr(NetFilter) filter = NULL;
  g_autoptr(GPtrArray) items = NULL;
  int status;

  if ((status = cli_records_query (inv, &records, TRUE, &filter, error)) != 0)
    return status;

  items = net_collection_find_many (records.coll, filter);
  cli_records_print_items (&records, items);

  return EXIT_SUCCESS;
}

static int
cmd_records_count (CliInvocation  *inv,
                   GError        **error)
{
  g_auto(CliRecords) records = { NULL, };
  g_autoptr(NetFilter) filter = NULL;
  guint count;
  int status;

  if ((status = cli_records_query (inv, &records, FALSE, &filter, error)) != 0)
    return status;

  count = net_collection_count (records.coll, filter);
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

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* records watch                                                       */
/* ------------------------------------------------------------------ */

/* A collection opened for the command as a watch's view. */
static JsonNode *
cli_records_view_to_json (gpointer  data,
                          GObject  *item)
{
  return cli_records_to_json (data, NET_RECORD (item));
}

static char **
cli_records_view_row (gpointer  data,
                      GObject  *item)
{
  return cli_records_row (data, NET_RECORD (item));
}

static void
cli_records_view_print_table (gpointer   data,
                              GPtrArray *items)
{
  cli_records_print_table (data, items);
}

static int
cmd_records_watch (CliInvocation  *inv,
                   GError        **error)
{
  g_auto(CliRecords) records = { NULL, };
  g_autoptr(NetFilter) filter = NULL;
  g_autoptr(NetQueryModel) model = NULL;
  int status;

  if ((status = cli_records_query (inv, &records, TRUE, &filter, error)) != 0)
    return status;

  model = net_collection_watch (records.coll, filter);
  cli_watch_run (&(CliWatchView) { cli_records_view_to_json, cli_records_view_row,
                                   cli_records_view_print_table, &records },
                 model);
  g_clear_object (&model);

  return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Command tables                                                      */
/* ------------------------------------------------------------------ */

#define RECORDS_READ_ONLY_NOTE \
  "The database is opened read-only, so this works next to a writer, and\n" \
  "without the application's record class."

#define RECORDS_WHERE_DESCRIPTION \
  "A --where VALUE is read as the field's stored type (see `netdb\n" \
  "collections`): true/false, integers, numbers, text; strv: one member\n" \
  "for ~ and ^, a comma-separated list otherwise; bytes: base64; datetime,\n" \
  "created-at, updated-at: ISO 8601 (UTC unless it says), a date, or µs\n" \
  "since 1970; enum and flags: their integer value.  FIELD may also be id,\n" \
  "created-at (created) or updated-at (updated).  An unknown collection or\n" \
  "field exits with status 1, a value that is not of the field's type with 2.\n"

const CliCommand cli_records_commands[] = {
  { "list", "NAME", "List the records of collection NAME that match the options",
    RECORDS_WHERE_DESCRIPTION
    "Human output shows at most 200 characters of a value; --json prints\n"
    "each record whole (bytes in base64, datetimes in ISO 8601).\n"
    RECORDS_READ_ONLY_NOTE,
    NULL, records_list_entries, 1, 1, cmd_records_list },
  { "get", "NAME ID", "Show one record of collection NAME",
    RECORDS_READ_ONLY_NOTE, NULL, NULL, 2, 2, cmd_records_get },
  { "count", "NAME", "Count the records of collection NAME that match --where",
    RECORDS_WHERE_DESCRIPTION RECORDS_READ_ONLY_NOTE,
    NULL, records_count_entries, 1, 1, cmd_records_count },
  { "watch", "NAME", "List the matching records, then print every change",
    "Prints the current result, then one line per change as it happens:\n"
    "“+” a record entered the result, “-” one left it, “~” one changed in\n"
    "place, each with the seq of the last event it reflects.  With --json,\n"
    "prints {\"seq\", \"items\"} and then one {\"change\", \"seq\", \"position\",\n"
    "\"item\"} object per line.  Follows other processes' writes until\n"
    "interrupted (SIGINT or SIGTERM, exit status 0).\n"
    RECORDS_WHERE_DESCRIPTION RECORDS_READ_ONLY_NOTE,
    NULL, records_list_entries, 1, 1, cmd_records_watch },
  { NULL }
};
