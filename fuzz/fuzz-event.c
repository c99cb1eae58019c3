/* fuzz-event.c: libFuzzer target for the event and snapshot decoders
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The input is used three ways:
 *
 *  - as an event: net_event_decode(), then the payload codec over the
 *    payload (and over every bytes field, which may be a nested payload),
 *    checking that what decodes re-encodes to the same fields;
 *  - as a record of the `tasks` log of an in-memory NetRedex, folded by a
 *    NetDbTasks, twice: the raw bytes, and the same header and payload with
 *    a checksum that holds (so the model's payload decoder sees every
 *    input, not only those that guess an XXH3); each is folded or counted
 *    in fold-errors, and the state stays consistent and usable;
 *  - as a snapshot given to net_db_tasks_restore(): TRUE, or FALSE with
 *    NET_ERROR_SNAPSHOT_INVALID or NET_ERROR_SNAPSHOT_MISMATCH.
 *
 * Nothing may crash, hang, leak or emit a critical.
 *
 * Built with -DNETDB_FUZZ_EVENT_CORPUS (and without -fsanitize=fuzzer) the
 * file is instead a program that writes the seed corpus into the directory
 * given as its argument:
 *   cc -DNETDB_FUZZ_EVENT_CORPUS fuzz/fuzz-event.c … && ./a.out fuzz/corpus/event
 */

#include "config.h"

#include "fuzz-common.h"

#include <stdint.h>
#include <string.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-tasks-private.h"
#include "net-event-meta-private.h"

#define ORIGIN 7

static guint64
read_u64_le (const guint8 *p)
{
  guint64 v = 0;

  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

/* The payload codec ---------------------------------------------------------- */

static void
check_codec (const guint8 *data,
             gsize         len,
             guint         depth)
{
  g_autoptr(GArray) fields = g_array_new (FALSE, FALSE, sizeof (NetField));
  g_autoptr(GByteArray) again = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  NetDecoder dec;
  NetEncoder enc;
  NetField f;
  guint i = 0;
  int r;

  if (!net_decoder_init (&dec, data, len, &error))
    {
      g_assert (g_error_matches (error, NET_ERROR, NET_ERROR_CORRUPT));
      g_assert (len == 0 || data[0] != NET_CODEC_VERSION);
      return;
    }

  while ((r = net_decoder_next (&dec, &f, &error)) > 0)
    {
      g_autofree char *text = net_field_dup_utf8 (&f, NULL);

      g_assert (f.field > 0);
      g_assert (f.wire == NET_WIRE_VARINT || f.wire == NET_WIRE_SVARINT || f.wire == NET_WIRE_BYTES);
      g_assert (dec.pos <= len);

      if (f.wire == NET_WIRE_BYTES)
        {
          g_assert (f.bytes >= data && f.bytes_len <= len && f.bytes - data <= (gssize) (len - f.bytes_len));
          /* Text is valid UTF-8 without NULs, and nothing else is text. */
          if (text != NULL)
            {
              g_assert (strlen (text) == f.bytes_len);
              g_assert (memcmp (text, f.bytes, f.bytes_len) == 0);
              g_assert (g_utf8_validate (text, -1, NULL));
            }
          else
            g_assert (!g_utf8_validate_len ((const char *) f.bytes, f.bytes_len, NULL));
          /* Snapshot records are nested payloads. */
          if (depth < 2)
            check_codec (f.bytes, f.bytes_len, depth + 1);
        }
      else
        g_assert (text == NULL);

      g_array_append_val (fields, f);
    }

  if (r == 0)
    {
      g_assert_no_error (error);
      g_assert (dec.pos == len);
    }
  else
    {
      g_assert (r == -1);
      g_assert (g_error_matches (error, NET_ERROR, NET_ERROR_CORRUPT));
    }

  /* What was decoded (all of it, or the fields before the damage)
   * re-encodes to the same fields. */
  net_encoder_init (&enc, again);
  for (i = 0; i < fields->len; i++)
    net_encoder_put_field (&enc, &g_array_index (fields, NetField, i));
  g_assert (net_decoder_init (&dec, again->data, again->len, NULL));
  for (i = 0; (r = net_decoder_next (&dec, &f, NULL)) > 0; i++)
    {
      const NetField *o = &g_array_index (fields, NetField, i);

      g_assert (i < fields->len);
      g_assert (f.field == o->field && f.wire == o->wire);
      switch (f.wire)
        {
        case NET_WIRE_VARINT:
          g_assert (f.uint_value == o->uint_value);
          break;
        case NET_WIRE_SVARINT:
          g_assert (f.int_value == o->int_value);
          break;
        case NET_WIRE_BYTES:
        default:
          g_assert (f.bytes_len == o->bytes_len);
          g_assert (f.bytes_len == 0 || memcmp (f.bytes, o->bytes, f.bytes_len) == 0);
          break;
        }
    }
  g_assert (r == 0);
  g_assert (i == fields->len);
}

/* Returns whether @data is an event with a checksum that holds. */
static gboolean
check_event (const guint8 *data,
             gsize         len,
             guint8       *dispatch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  const guint8 *payload = NULL;
  gsize payload_len = 0;
  NetEventMeta meta;

  if (!net_event_decode (data, len, &meta, &payload, &payload_len, &error))
    {
      g_assert (g_error_matches (error, NET_ERROR, NET_ERROR_CORRUPT));
      return FALSE;
    }

  g_assert (len >= NET_EVENT_META_SIZE);
  g_assert (payload == data + NET_EVENT_META_SIZE);
  g_assert (payload_len == len - NET_EVENT_META_SIZE);
  g_assert (meta.flags == 0);

  /* The header has one encoding: what decodes encodes back to the input. */
  again = net_event_encode (&meta, payload, payload_len);
  g_assert (g_bytes_get_size (again) == len);
  g_assert (memcmp (g_bytes_get_data (again, NULL), data, len) == 0);

  check_codec (payload, payload_len, 0);
  *dispatch = meta.dispatch;
  return TRUE;
}

/* The model -------------------------------------------------------------- */

static void
check_consistent (NetDbTasks *tasks)
{
  g_autoptr(NetTasksFilter) pending = net_tasks_filter_new ();
  g_autoptr(NetTasksFilter) completed = net_tasks_filter_new ();
  g_autoptr(GPtrArray) all = net_db_tasks_find_many (tasks, NULL);

  g_assert (net_db_tasks_count (tasks, NULL) == all->len);
  g_assert (net_db_tasks_exists (tasks, NULL) == (all->len > 0));

  for (guint i = 0; i < all->len; i++)
    {
      NetTask *task = g_ptr_array_index (all, i);
      g_autoptr(NetTask) same = net_db_tasks_get (tasks, net_task_get_id (task));

      g_assert (same == task);
      g_assert (i == 0 || net_task_get_id (g_ptr_array_index (all, i - 1)) < net_task_get_id (task));
      g_assert (g_utf8_validate (net_task_get_title (task), -1, NULL));
      g_assert (net_task_get_status (task) == NET_TASK_STATUS_PENDING ||
                net_task_get_status (task) == NET_TASK_STATUS_COMPLETED);
    }

  net_tasks_filter_set_status (pending, NET_TASK_STATUS_PENDING);
  net_tasks_filter_set_status (completed, NET_TASK_STATUS_COMPLETED);
  g_assert (net_db_tasks_count (tasks, pending) + net_db_tasks_count (tasks, completed) == all->len);
}

static void
drain_until (NetDbTasks *tasks,
             guint64     seq)
{
  /* Never blocks: a fold that stops short fails below instead of hanging. */
  for (guint i = 0; i < 1000 && net_db_tasks_get_applied_seq (tasks) < seq; i++)
    g_main_context_iteration (NULL, FALSE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert (net_db_tasks_get_applied_seq (tasks) == seq);
}

/* After a successful restore, or after folding anything: the model works. */
static void
check_usable (NetDbTasks *tasks)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GBytes) again = NULL;
  guint64 applied = net_db_tasks_get_applied_seq (tasks);
  guint64 errors = net_db_tasks_get_fold_errors (tasks);
  guint64 seq;

  check_consistent (tasks);

  /* Two mutations: the seqs go on from the state's, without a gap and
   * without wrapping; 0 only with an error, at the end of the seq space. */
  for (guint i = 0; i < 2; i++)
    {
      seq = net_db_tasks_create (tasks, 1, "one", 100, &error);
      if (seq == 0)
        {
          g_assert (error != NULL);
          g_assert (applied + i >= G_MAXUINT64 - 1);
          return;
        }
      g_assert_no_error (error);
      g_assert (seq == applied + 1 + i);
      g_assert (net_db_tasks_get_applied_seq (tasks) == seq);
    }
  g_assert (net_db_tasks_get_fold_errors (tasks) == errors);
  {
    g_autoptr(NetTask) task = net_db_tasks_get (tasks, 1);

    g_assert (task != NULL);
    g_assert (g_str_equal (net_task_get_title (task), "one"));
    g_assert (net_task_get_status (task) == NET_TASK_STATUS_PENDING);
  }
  check_consistent (tasks);

  /* Snapshot, restore onto the same log: the same snapshot again. */
  snap = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  g_assert (net_db_tasks_restore (tasks, snap, &error));
  g_assert_no_error (error);
  again = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  g_assert (g_bytes_equal (snap, again));
  g_assert (net_db_tasks_get_applied_seq (tasks) == seq);
  drain_until (tasks, seq);
}

static void
fold_input (const guint8 *data,
            gsize         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetDbTasks) tasks = NULL;
  g_autoptr(NetDbTasks) observer = NULL;
  g_autoptr(NetRedexFile) file = NULL;
  g_autoptr(GBytes) raw = g_bytes_new (data, size);
  g_autoptr(GBytes) fixed = NULL;
  g_autoptr(GBytes) snap = NULL;
  g_autoptr(GBytes) observed = NULL;
  guint8 dispatch = 0;
  guint64 seq, last = 0, surely_bad = 0;

  g_assert_no_error (error);
  tasks = net_db_tasks_new (redex, NULL, ORIGIN, &error);
  g_assert_no_error (error);
  file = net_redex_open_file (redex, "tasks", NULL, &error);
  g_assert_no_error (error);

  /* The raw bytes, unless the log refuses them (too large, empty). */
  seq = net_redex_file_append (file, raw, &error);
  if (seq == 0)
    g_clear_error (&error);
  else
    {
      last = seq;
      if (!check_event (data, size, &dispatch) ||
          dispatch < NET_DISPATCH_TASK_CREATED || dispatch > NET_DISPATCH_TASK_DELETED)
        surely_bad++;
    }

  /* The same header and payload, with a checksum that holds. */
  if (size >= NET_EVENT_META_SIZE)
    {
      NetEventMeta meta = { 0 };

      meta.dispatch = data[0];
      meta.origin = read_u64_le (data + 4);
      meta.app_seq = read_u64_le (data + 12);
      fixed = net_event_encode (&meta, data + NET_EVENT_META_SIZE, size - NET_EVENT_META_SIZE);
      g_assert (check_event (g_bytes_get_data (fixed, NULL), size, &dispatch));
      seq = net_redex_file_append (file, fixed, &error);
      g_assert_no_error (error);
      last = seq;
      if (dispatch < NET_DISPATCH_TASK_CREATED || dispatch > NET_DISPATCH_TASK_DELETED)
        surely_bad++;
    }

  /* Folded from the fold source's dispatch, never before. */
  g_assert (net_db_tasks_get_applied_seq (tasks) == 0);
  drain_until (tasks, last);
  g_assert (net_db_tasks_get_fold_errors (tasks) >= surely_bad);
  g_assert (net_db_tasks_get_fold_errors (tasks) <= last);
  check_consistent (tasks);

  /* A second model folds the same log the other way (catching up as it
   * opens) into the same state. */
  observer = net_db_tasks_new (redex, NULL, ORIGIN + 1, &error);
  g_assert_no_error (error);
  snap = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  observed = net_db_tasks_snapshot (observer, &error);
  g_assert_no_error (error);
  g_assert (g_bytes_equal (snap, observed));
  g_clear_object (&observer);

  check_usable (tasks);
  net_db_tasks_close (tasks, NULL);
  net_redex_close (redex, NULL);
}

static void
restore_input (const guint8 *data,
               gsize         size,
               gboolean      onto_a_log)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = net_redex_new (NULL, &error);
  g_autoptr(NetDbTasks) tasks = NULL;
  g_autoptr(GBytes) snap = g_bytes_new (data, size);
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;

  g_assert_no_error (error);
  tasks = net_db_tasks_new (redex, NULL, ORIGIN, &error);
  g_assert_no_error (error);

  /* Events 1-3 in the log, or an empty log. */
  if (onto_a_log)
    {
      net_db_tasks_create (tasks, 1, "one", 100, &error);
      net_db_tasks_create (tasks, 2, "two", 200, &error);
      net_db_tasks_complete (tasks, 2, 300, &error);
      g_assert_no_error (error);
    }
  before = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);

  if (!net_db_tasks_restore (tasks, snap, &error))
    {
      g_assert (g_error_matches (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID) ||
                g_error_matches (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH));
      /* A refused snapshot changes nothing. */
      g_clear_error (&error);
      after = net_db_tasks_snapshot (tasks, &error);
      g_assert_no_error (error);
      g_assert (g_bytes_equal (before, after));
    }
  else
    {
      g_autoptr(GBytes) normal = NULL;
      g_autoptr(NetRedex) other_redex = NULL;
      g_autoptr(NetDbTasks) other = NULL;

      g_assert_no_error (error);
      drain_until (tasks, net_db_tasks_get_applied_seq (tasks));
      check_consistent (tasks);
      {
        g_autoptr(NetRedexFile) file = net_redex_open_file (redex, "tasks", NULL, &error);

        /* Onto a log: it replayed what the log holds after the snapshot;
         * onto an empty log: the log continues after the snapshot. */
        g_assert_no_error (error);
        if (onto_a_log)
          g_assert (net_db_tasks_get_applied_seq (tasks) == 3);
        else
          g_assert (net_redex_file_get_next_seq (file) == net_db_tasks_get_applied_seq (tasks) + 1);
      }

      /* Its snapshot is a fixed point: restored onto a fresh log, it
       * snapshots the same again. */
      normal = net_db_tasks_snapshot (tasks, &error);
      g_assert_no_error (error);
      other_redex = net_redex_new (NULL, &error);
      other = net_db_tasks_new (other_redex, NULL, ORIGIN, &error);
      g_assert_no_error (error);
      g_assert (net_db_tasks_restore (other, normal, &error));
      g_assert_no_error (error);
      after = net_db_tasks_snapshot (other, &error);
      g_assert_no_error (error);
      g_assert (g_bytes_equal (normal, after));
      net_db_tasks_close (other, NULL);
      net_redex_close (other_redex, NULL);

      check_usable (tasks);
    }

  net_db_tasks_close (tasks, NULL);
  net_redex_close (redex, NULL);
}

#ifndef NETDB_FUZZ_EVENT_CORPUS

/* Malformed events make the fold log at debug level; only criticals and
 * warnings matter here (and are fatal). */
static GLogWriterOutput
quiet_writer (GLogLevelFlags   log_level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return g_log_writer_default (log_level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  fuzz_fatal_logs (TRUE);
  g_log_set_writer_func (quiet_writer, NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  guint8 dispatch;

  check_event (data, size, &dispatch);
  check_codec (data, size, 0);
  fold_input (data, size);
  restore_input (data, size, FALSE);
  restore_input (data, size, TRUE);

  return 0;
}

#else /* NETDB_FUZZ_EVENT_CORPUS */

static void
write_seed (const char *dir,
            const char *name,
            GBytes     *bytes)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  guint8 dispatch;

  if (!g_file_set_contents (path, (const char *) data, len, &error))
    g_error ("%s", error->message);

  /* Every seed passes the target's checks. */
  check_event (data, len, &dispatch);
  check_codec (data, len, 0);
  fold_input (data, len);
  restore_input (data, len, FALSE);
  restore_input (data, len, TRUE);
}

static GBytes *
task_event (guint8      dispatch,
            guint64     id,
            const char *title,
            gint64      ts,
            gboolean    extra)
{
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  NetEventMeta meta = { dispatch, 0, 3, 1 };
  NetEncoder enc;

  net_encoder_init (&enc, payload);
  net_encoder_put_uint (&enc, 1, id);
  if (title != NULL)
    net_encoder_put_string (&enc, 2, title);
  if (dispatch != NET_DISPATCH_TASK_DELETED)
    net_encoder_put_int (&enc, 3, ts);
  if (extra)
    {
      net_encoder_put_uint (&enc, 9, 42);
      net_encoder_put_string (&enc, 10, "a field from a newer netdb");
    }
  return net_event_encode (&meta, payload->data, payload->len);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedex) redex = NULL;
  g_autoptr(NetDbTasks) tasks = NULL;
  g_autoptr(GBytes) snap = NULL;
  const char *dir;

  if (argc != 2)
    g_error ("usage: %s DIR", argv[0]);
  dir = argv[1];
  g_mkdir_with_parents (dir, 0755);

  /* Each task event. */
  {
    g_autoptr(GBytes) created = task_event (NET_DISPATCH_TASK_CREATED, 1, "Write the report", 1700000000000000, FALSE);
    g_autoptr(GBytes) renamed = task_event (NET_DISPATCH_TASK_RENAMED, 1, "Straße café ☕", -5, FALSE);
    g_autoptr(GBytes) completed = task_event (NET_DISPATCH_TASK_COMPLETED, 1, NULL, G_MAXINT64, FALSE);
    g_autoptr(GBytes) deleted = task_event (NET_DISPATCH_TASK_DELETED, G_MAXUINT64, NULL, 0, FALSE);
    g_autoptr(GBytes) newer = task_event (NET_DISPATCH_TASK_CREATED, 2, "", G_MININT64, TRUE);

    write_seed (dir, "created.bin", created);
    write_seed (dir, "renamed.bin", renamed);
    write_seed (dir, "completed.bin", completed);
    write_seed (dir, "deleted.bin", deleted);
    write_seed (dir, "created-newer-fields.bin", newer);

    /* Malformed: truncated, a checksum that does not hold, a memory
     * dispatch, a created without title, a codec version from the future. */
    {
      g_autoptr(GBytes) truncated = g_bytes_new_from_bytes (created, 0, g_bytes_get_size (created) - 3);
      gsize len = g_bytes_get_size (renamed);
      guint8 *flipped = g_memdup2 (g_bytes_get_data (renamed, NULL), len);
      g_autoptr(GBytes) bad_sum = NULL;
      g_autoptr(GBytes) memory = task_event (NET_DISPATCH_MEMORY_PINNED, 1, NULL, 5, FALSE);
      g_autoptr(GBytes) untitled = task_event (NET_DISPATCH_TASK_CREATED, 1, NULL, 5, FALSE);
      g_autoptr(GBytes) future = NULL;
      const guint8 v2[] = { 2, 0x08, 0x01 };
      NetEventMeta meta = { NET_DISPATCH_TASK_DELETED, 0, 3, 2 };

      flipped[len - 1] ^= 0x20;
      bad_sum = g_bytes_new_take (flipped, len);
      future = net_event_encode (&meta, v2, sizeof v2);
      write_seed (dir, "bad-truncated.bin", truncated);
      write_seed (dir, "bad-checksum.bin", bad_sum);
      write_seed (dir, "bad-memory-dispatch.bin", memory);
      write_seed (dir, "bad-untitled.bin", untitled);
      write_seed (dir, "bad-codec-version.bin", future);
    }
  }

  /* A snapshot with tasks in both states and two origins. */
  redex = net_redex_new (NULL, &error);
  g_assert_no_error (error);
  tasks = net_db_tasks_new (redex, NULL, ORIGIN, &error);
  g_assert_no_error (error);
  net_db_tasks_create (tasks, 1, "one", 100, &error);
  net_db_tasks_create (tasks, 2, "Ωμέγα", 200, &error);
  net_db_tasks_complete (tasks, 2, 300, &error);
  net_db_tasks_create (tasks, G_MAXUINT64, "last", -1, &error);
  g_assert_no_error (error);
  {
    g_autoptr(NetRedexFile) file = net_redex_open_file (redex, "tasks", NULL, &error);
    g_autoptr(GBytes) foreign = task_event (NET_DISPATCH_TASK_RENAMED, 1, "uno", 400, FALSE);

    net_redex_file_append (file, foreign, &error);
    g_assert_no_error (error);
    net_db_tasks_create (tasks, 3, "three", 500, &error);
    g_assert_no_error (error);
  }
  snap = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  write_seed (dir, "snapshot.bin", snap);
  {
    g_autoptr(NetRedex) empty_redex = net_redex_new (NULL, NULL);
    g_autoptr(NetDbTasks) empty = net_db_tasks_new (empty_redex, NULL, ORIGIN, NULL);
    g_autoptr(GBytes) empty_snap = net_db_tasks_snapshot (empty, NULL);

    write_seed (dir, "snapshot-empty.bin", empty_snap);
  }

  net_db_tasks_close (tasks, NULL);
  net_redex_close (redex, NULL);
  return 0;
}

#endif /* NETDB_FUZZ_EVENT_CORPUS */
