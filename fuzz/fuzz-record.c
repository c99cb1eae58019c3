/* fuzz-record.c: libFuzzer target for a collection's log
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is a log of the collection "notes": a run of events, each
 *
 *   u8 head, u16 length (little-endian), length bytes
 *
 * where a head below 0x80 makes the bytes the payload of a record event
 * (dispatch inserted, updated or deleted by head % 3; the fuzzer's own
 * schema definitions, field numbers and values), and a head of 0x80 or
 * more appends the bytes as they are (an event envelope of any kind).
 * The log is then:
 *
 *  - described event by event (net_event_describe(), what `netdb log
 *    tail` prints);
 *  - opened untyped: it opens, or fails with a NET_ERROR; every record and
 *    field reads, a query on a field of the first record (equality and
 *    order) agrees with a plain scan, indexes may be added (or refused
 *    with a NET_ERROR), and the collection's snapshot restores into a
 *    fresh log to the same records;
 *  - opened with a record class (FuzzNote: string, boolean, int64, double,
 *    strv, GDateTime, GBytes): the same count, or a NET_ERROR (a schema
 *    mismatch);
 *  - written to: an insert and an update of a new record work on top of
 *    whatever the log held, and a live model sees them.
 *
 * Nothing may crash, hang, leak or emit a critical.
 *
 * Built with -DNETDB_FUZZ_RECORD_CORPUS (and without -fsanitize=fuzzer)
 * the file is instead a program that writes the seed corpus (logs written
 * by real collections) into the directory given as its argument.
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netdb.h"
#include "net-collection-private.h"
#include "net-event-meta-private.h"

#define ORIGIN 7
#define LOG_NAME NET_COLLECTION_LOG_PREFIX "notes"

/* FuzzNote ------------------------------------------------------------------- */

enum {
  NOTE_PROP_0,
  NOTE_PROP_TITLE,
  NOTE_PROP_STARRED,
  NOTE_PROP_BIG,
  NOTE_PROP_SCORE,
  NOTE_PROP_TAGS,
  NOTE_PROP_DUE,
  NOTE_PROP_BLOB,
  NOTE_N_PROPS
};

#define FUZZ_TYPE_NOTE (fuzz_note_get_type ())
G_DECLARE_FINAL_TYPE (FuzzNote, fuzz_note, FUZZ, NOTE, NetRecord)

struct _FuzzNote
{
  NetRecord parent_instance;
  GValue    values[NOTE_N_PROPS];
};

G_DEFINE_FINAL_TYPE (FuzzNote, fuzz_note, NET_TYPE_RECORD)

static void
fuzz_note_finalize (GObject *object)
{
  FuzzNote *self = FUZZ_NOTE (object);

  for (guint i = 1; i < NOTE_N_PROPS; i++)
    g_value_unset (&self->values[i]);
  G_OBJECT_CLASS (fuzz_note_parent_class)->finalize (object);
}

static void
fuzz_note_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  g_value_copy (&FUZZ_NOTE (object)->values[prop_id], value);
}

static void
fuzz_note_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  FuzzNote *self = FUZZ_NOTE (object);

  g_value_unset (&self->values[prop_id]);
  g_value_init (&self->values[prop_id], G_VALUE_TYPE (value));
  g_value_copy (value, &self->values[prop_id]);
}

static void
fuzz_note_class_init (FuzzNoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = fuzz_note_finalize;
  object_class->get_property = fuzz_note_get_property;
  object_class->set_property = fuzz_note_set_property;

  g_object_class_install_property (object_class, NOTE_PROP_TITLE,
                                   g_param_spec_string ("title", NULL, NULL, NULL, rw));
  g_object_class_install_property (object_class, NOTE_PROP_STARRED,
                                   g_param_spec_boolean ("starred", NULL, NULL, FALSE, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BIG,
                                   g_param_spec_int64 ("big", NULL, NULL, G_MININT64, G_MAXINT64, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_SCORE,
                                   g_param_spec_double ("score", NULL, NULL, -G_MAXDOUBLE, G_MAXDOUBLE, 0, rw));
  g_object_class_install_property (object_class, NOTE_PROP_TAGS,
                                   g_param_spec_boxed ("tags", NULL, NULL, G_TYPE_STRV, rw));
  g_object_class_install_property (object_class, NOTE_PROP_DUE,
                                   g_param_spec_boxed ("due", NULL, NULL, G_TYPE_DATE_TIME, rw));
  g_object_class_install_property (object_class, NOTE_PROP_BLOB,
                                   g_param_spec_boxed ("blob", NULL, NULL, G_TYPE_BYTES, rw));
}

static void
fuzz_note_init (FuzzNote *self)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (self);

  for (guint i = 1; i < NOTE_N_PROPS; i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, i == NOTE_PROP_TITLE ? "title" :
                                                               i == NOTE_PROP_STARRED ? "starred" :
                                                               i == NOTE_PROP_BIG ? "big" :
                                                               i == NOTE_PROP_SCORE ? "score" :
                                                               i == NOTE_PROP_TAGS ? "tags" :
                                                               i == NOTE_PROP_DUE ? "due" : "blob");

      g_value_init (&self->values[i], pspec->value_type);
      g_param_value_set_default (pspec, &self->values[i]);
    }
}

/* The checks ---------------------------------------------------------------- */

static void
check_error (const GError *error)
{
  g_assert_nonnull (error);
  g_assert_true (error->domain == NET_ERROR);
}

static void
read_fields (NetRecord *record)
{
  g_auto(GStrv) fields = net_record_list_fields (record);

  for (guint i = 0; fields != NULL && fields[i] != NULL; i++)
    {
      g_auto(GValue) v = G_VALUE_INIT;

      g_assert_true (net_record_get_field (record, fields[i], &v));
    }
}

/* A query on the first field of the first record (equality, and an
 * order on it) answers the same with an ordered index as without. */
static void
check_query (NetCollection *coll,
             GPtrArray     *all)
{
  g_autoptr(NetFilter) filter = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_auto(GStrv) fields = NULL;
  g_auto(GValue) v = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  if (all->len == 0)
    return;
  fields = net_record_list_fields (g_ptr_array_index (all, 0));
  if (fields == NULL || fields[0] == NULL ||
      !net_record_get_field (g_ptr_array_index (all, 0), fields[0], &v))
    return;

  filter = net_filter_new ();
  net_filter_where (filter, fields[0], NET_FILTER_OP_EQ, &v);
  net_filter_order_by (filter, fields[0], TRUE);
  got = net_collection_find_many (coll, filter);
  g_assert_cmpuint (got->len, <=, all->len);
  g_assert_cmpuint (net_collection_count (coll, filter), ==, got->len);

  /* With an ordered index, the same answer. */
  if (net_collection_add_index (coll, fields[0], NET_INDEX_ORDERED, &error))
    {
      g_autoptr(GPtrArray) indexed = net_collection_find_many (coll, filter);

      g_assert_cmpuint (indexed->len, ==, got->len);
      for (guint i = 0; i < got->len; i++)
        g_assert_true (g_ptr_array_index (indexed, i) == g_ptr_array_index (got, i));
    }
  else
    check_error (error);
}

static void
check_snapshot (NetCollection *coll,
                guint          n)
{
  g_autoptr(GBytes) snapshot = _net_collection_snapshot (coll);
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetCollection) copy = NULL;

  g_assert_no_error (error);
  copy = _net_collection_open (redex, NULL, ORIGIN, "notes", NET_TYPE_RECORD, snapshot, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (net_collection_count (copy, NULL), ==, n);
  g_assert_true (_net_collection_close (copy, NULL));
  net_redex_close (redex, NULL);
}

/* Returns the collection, open (an in-memory log lives as long as it is
 * open). */
static NetCollection *
check_untyped (NetRedex *redex,
               guint    *n_out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetCollection) coll = _net_collection_open (redex, NULL, ORIGIN, "notes", NET_TYPE_RECORD,
                                                        NULL, &error);
  g_autoptr(GPtrArray) all = NULL;

  *n_out = G_MAXUINT;
  if (coll == NULL)
    {
      check_error (error);
      return NULL;
    }

  all = net_collection_find_many (coll, NULL);
  g_assert_cmpuint (net_collection_count (coll, NULL), ==, all->len);
  g_assert_true (net_collection_exists (coll, NULL) == (all->len > 0));
  for (guint i = 0; i < all->len; i++)
    {
      NetRecord *record = g_ptr_array_index (all, i);
      g_autoptr(NetRecord) again = net_collection_get (coll, net_record_get_id (record));

      g_assert_true (again == record);
      read_fields (record);
    }
  check_query (coll, all);
  check_snapshot (coll, all->len);
  *n_out = all->len;
  return g_steal_pointer (&coll);
}

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  guint      *n_changes)
{
  g_assert_true (removed > 0 || added > 0);
  (*n_changes)++;
}

static void
check_typed (NetRedex *redex,
             guint     n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetCollection) coll = _net_collection_open (redex, NULL, ORIGIN, "notes", FUZZ_TYPE_NOTE,
                                                        NULL, &error);
  g_autoptr(FuzzNote) note = NULL;
  g_autoptr(NetQueryModel) model = NULL;
  g_autoptr(GPtrArray) all = NULL;
  guint n_changes = 0;
  guint64 seq;

  if (coll == NULL)
    {
      check_error (error);
      return;
    }
  if (n != G_MAXUINT)
    g_assert_cmpuint (net_collection_count (coll, NULL), ==, n);
  all = net_collection_find_many (coll, NULL);
  for (guint i = 0; i < all->len; i++)
    {
      g_autofree char *title = NULL;
      g_auto(GStrv) tags = NULL;
      g_autoptr(GDateTime) due = NULL;
      g_autoptr(GBytes) blob = NULL;

      g_assert_true (FUZZ_IS_NOTE (g_ptr_array_index (all, i)));
      g_object_get (g_ptr_array_index (all, i), "title", &title, "tags", &tags, "due", &due,
                    "blob", &blob, NULL);
      if (title != NULL)
        g_assert_true (g_utf8_validate (title, -1, NULL));
    }

  /* Writing on top of whatever the log held. */
  model = net_collection_watch (coll, NULL);
  net_query_model_set_incremental (model, FALSE);
  g_signal_connect (model, "items-changed", G_CALLBACK (on_items_changed), &n_changes);
  note = g_object_new (FUZZ_TYPE_NOTE, "title", "fuzz", "starred", TRUE, NULL);
  seq = net_collection_insert (coll, NET_RECORD (note), &error);
  if (seq == 0)
    {
      /* (A log whose writer must refuse more: it says so.) */
      check_error (error);
      return;
    }
  seq = net_collection_update (coll, net_record_get_id (NET_RECORD (note)), &error,
                               "title", "fuzzed", "big", (gint64) 42, NULL);
  g_assert_no_error (error);
  g_assert_true (net_collection_wait_for_seq (coll, seq, 5000, &error));
  g_assert_no_error (error);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (n_changes, >=, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, net_collection_count (coll, NULL));
  g_assert_true (_net_collection_close (coll, NULL));
}

static void
run_log (const guint8 *data,
         gsize         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(NetCollection) untyped = NULL;
  guint64 app_seq = 0;
  gsize p = 0;
  guint n;

  g_assert_no_error (error);
  file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_assert_no_error (error);

  while (p + 3 <= size)
    {
      guint8 head = data[p];
      gsize len = MIN ((gsize) (data[p + 1] | data[p + 2] << 8), size - p - 3);
      const guint8 *bytes = data + p + 3;
      g_autoptr(GBytes) event = NULL;
      g_autofree char *line = NULL;

      p += 3 + len;
      if (head >= 0x80)
        event = g_bytes_new (bytes, len);
      else
        {
          NetEventMeta meta = {
            .dispatch = NET_DISPATCH_RECORD_INSERTED + head % 3,
            .flags = 0,
            .origin = ORIGIN,
            .app_seq = ++app_seq,
          };

          event = net_event_encode (&meta, bytes, len);
        }
      line = net_event_describe (g_bytes_get_data (event, NULL), g_bytes_get_size (event));
      if (net_redex_file_append (file, event, &error) == 0)
        {
          /* The log's own limits (an empty or oversized event). */
          check_error (error);
          g_clear_error (&error);
        }
    }

  untyped = check_untyped (redex, &n);
  check_typed (redex, n);
  if (untyped != NULL)
    g_assert_true (_net_collection_close (untyped, NULL));
  net_redex_close (redex, NULL);
}

#ifndef NETDB_FUZZ_RECORD_CORPUS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (FALSE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  run_log (data, size);
  return 0;
}

#else /* NETDB_FUZZ_RECORD_CORPUS */

/* Writes the log of @coll in the input format. */
static void
write_seed (const char *dir,
            const char *name,
            NetRedex   *redex)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (redex, LOG_NAME, NULL, &error);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_no_error (error);
  events = net_redex_file_read_range (file, net_redex_file_get_first_seq (file),
                                      net_redex_file_get_next_seq (file), &error);
  g_assert_no_error (error);
  for (guint i = 0; i < events->len; i++)
    {
      GBytes *bytes = net_redex_event_get_payload (g_ptr_array_index (events, i));
      NetEventMeta meta;
      const guint8 *payload;
      gsize payload_len;
      guint8 head[3];

      g_assert_true (net_event_decode (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                       &meta, &payload, &payload_len, NULL));
      head[0] = meta.dispatch - NET_DISPATCH_RECORD_INSERTED;
      head[1] = payload_len & 0xff;
      head[2] = payload_len >> 8;
      g_byte_array_append (out, head, 3);
      g_byte_array_append (out, payload, payload_len);
    }
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetCollection) coll = NULL;
  g_autoptr(GDateTime) due = g_date_time_new_from_unix_utc (1700000000);
  g_autoptr(GBytes) blob = g_bytes_new_static ("\x01\x02\x03", 3);
  const char *tags[] = { "home", "été", NULL };
  guint64 ids[4];

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s CORPUS-DIR\n", argv[0]);
      return 2;
    }

  g_assert_no_error (error);
  coll = _net_collection_open (redex, NULL, ORIGIN, "notes", FUZZ_TYPE_NOTE, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *title = g_strdup_printf ("note %u", i);
      g_autoptr(FuzzNote) note = g_object_new (FUZZ_TYPE_NOTE, "title", title, "starred", i % 2 == 0,
                                               "big", (gint64) i * 1000, "score", i / 3.0,
                                               "tags", tags, "due", due, "blob", blob, NULL);

      net_collection_insert (coll, NET_RECORD (note), &error);
      g_assert_no_error (error);
      ids[i] = net_record_get_id (NET_RECORD (note));
    }
  write_seed (argv[1], "inserts", redex);
  net_collection_update (coll, ids[1], &error, "title", "renamed", "starred", TRUE, NULL);
  g_assert_no_error (error);
  net_collection_update (coll, ids[2], &error, "tags", NULL, "score", -1.5, NULL);
  g_assert_no_error (error);
  net_collection_delete (coll, ids[3], &error);
  g_assert_no_error (error);
  write_seed (argv[1], "updates", redex);
  g_assert_true (_net_collection_close (coll, NULL));
  return 0;
}

#endif /* NETDB_FUZZ_RECORD_CORPUS */
