/* test-db-tasks-random.c: property-based test of the tasks model
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Thousands of random mutations (creates that replace, renames, completions,
 * deletes, unknown ids, titles with non-ASCII text and case variants,
 * timestamps with ties and extremes) plus events from a "foreign" writer
 * (some of them malformed), snapshots, restores, moves to a fresh log and
 * reopens, on an in-memory and a persistent NetDbTasks.  After every step
 * the model must equal a reference model kept here (DESIGN.md §5), and
 * random filters must give what a brute-force filter and sort of the
 * reference gives.  A second model on the same log (the observer) folds
 * everything through the fold source and must agree too.
 *
 * Every random choice comes from g_test_rand_*(), so a failure reproduces
 * with the --seed printed by `--verbose` (or in the TAP output).  -m slow
 * runs ten times more steps.
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "netdb.h"
#include "net-codec-private.h"
#include "net-db-tasks-private.h"
#include "net-event-meta-private.h"

#define ORIGIN          7
#define OBSERVER_ORIGIN 1234
#define FOREIGN_ORIGIN  99

/* The reference model ------------------------------------------------------ */

typedef struct
{
  guint64        id;
  char          *title;
  NetTaskStatus  status;
  gint64         created;
  gint64         updated;
} RefTask;

enum {
  BIT_TITLE = 1 << 0,
  BIT_STATUS = 1 << 1,
  BIT_CREATED = 1 << 2,
  BIT_UPDATED = 1 << 3,
};

typedef struct _Ctx Ctx;

/* A task object the test keeps alive across steps, to check that queries
 * keep returning it and that it notifies exactly what changed. */
typedef struct
{
  Ctx     *ctx;
  NetTask *task;
  guint    expected;  /* properties changed since the last delivery */
  guint    notified;  /* properties notified since then */
  gulong   handler;
} Held;

typedef struct
{
  guint64  seq;
  guint64  fold_errors;
  GBytes  *bytes;
} Snap;

/* What a "changed" handler saw. */
typedef struct
{
  Ctx     *ctx;
  guint64  delivered;
} Watch;

typedef struct
{
  guint creates, replaces, renames, completes, deletes, unknown, invalid_id, now_ts;
  guint invalid_utf8, foreign, malformed, drains, queries;
  guint snapshots, restores_ok, restores_mismatch, restores_invalid;
  guint moves, reopens, held;
} Stats;

struct _Ctx
{
  gboolean     persistent;
  guint        id_range;

  GPtrArray   *dirs;          /* every directory made, removed at the end */
  char        *dir;           /* the current one, NULL in memory */
  NetRedex    *redex;
  NetDbTasks  *tasks;
  NetDbTasks  *observer;
  Watch        watch;
  Watch        observer_watch;

  GHashTable  *ref;           /* guint64* → RefTask* */
  GHashTable  *held;          /* guint64* → Held* */
  guint64      first_seq;     /* the first seq of the current log */
  guint64      last_seq;      /* the last seq appended (0: none) */
  guint64      own_app_seq;   /* events written by the model */
  guint64      foreign_app_seq;
  guint64      foreign_applied; /* highest app_seq of a folded foreign event */
  guint64      fold_errors;   /* malformed events in the whole history */
  Snap        *base;          /* what the current log continues, or NULL */
  GPtrArray   *snaps;         /* Snap*, all of this history */
  gboolean     lagging;       /* a foreign event is not folded yet */
  gboolean     draining;      /* only then may anything be emitted */

  Stats        stats;
};

static void
ref_task_free (gpointer data)
{
  RefTask *t = data;

  g_free (t->title);
  g_free (t);
}

static void
snap_free (gpointer data)
{
  Snap *s = data;

  g_bytes_unref (s->bytes);
  g_free (s);
}

static guint
prop_bit (const char *name)
{
  if (g_str_equal (name, "title"))
    return BIT_TITLE;
  if (g_str_equal (name, "status"))
    return BIT_STATUS;
  if (g_str_equal (name, "created-at"))
    return BIT_CREATED;
  if (g_str_equal (name, "updated-at"))
    return BIT_UPDATED;
  g_assert_not_reached ();
  return 0;
}

static void
on_task_notify (GObject    *object,
                GParamSpec *pspec,
                gpointer    data)
{
  Held *h = data;

  /* Never from inside a mutation: only from a dispatch of the fold. */
  g_assert_true (h->ctx->draining);
  h->notified |= prop_bit (pspec->name);
}

static void
held_free (gpointer data)
{
  Held *h = data;

  g_signal_handler_disconnect (h->task, h->handler);
  g_object_unref (h->task);
  g_free (h);
}

static void
hold (Ctx     *ctx,
      NetTask *task)
{
  Held *h = g_new0 (Held, 1);
  guint64 *key = g_new (guint64, 1);

  *key = net_task_get_id (task);
  h->ctx = ctx;
  h->task = g_object_ref (task);
  h->handler = g_signal_connect (task, "notify", G_CALLBACK (on_task_notify), h);
  g_hash_table_insert (ctx->held, key, h);
  ctx->stats.held++;
}

static RefTask *
ref_lookup (Ctx     *ctx,
            guint64  id)
{
  return g_hash_table_lookup (ctx->ref, &id);
}

static void
assert_task_equals (NetTask       *task,
                    const RefTask *t)
{
  g_assert_nonnull (task);
  g_assert_cmpuint (net_task_get_id (task), ==, t->id);
  g_assert_cmpstr (net_task_get_title (task), ==, t->title);
  g_assert_cmpint (net_task_get_status (task), ==, t->status);
  g_assert_cmpint (net_task_get_created_at (task), ==, t->created);
  g_assert_cmpint (net_task_get_updated_at (task), ==, t->updated);
}

/* Applies a change to an existing reference task; records what changed
 * for the held object. */
static void
ref_update (Ctx           *ctx,
            RefTask       *t,
            const char    *title,
            NetTaskStatus  status,
            gint64         created,
            gint64         updated)
{
  Held *h = g_hash_table_lookup (ctx->held, &t->id);
  guint bits = 0;

  if (g_strcmp0 (t->title, title) != 0)
    bits |= BIT_TITLE;
  if (t->status != status)
    bits |= BIT_STATUS;
  if (t->created != created)
    bits |= BIT_CREATED;
  if (t->updated != updated)
    bits |= BIT_UPDATED;

  if (title != t->title)
    {
      char *copy = g_strdup (title);

      g_free (t->title);
      t->title = copy;
    }
  t->status = status;
  t->created = created;
  t->updated = updated;

  if (h != NULL)
    h->expected |= bits;
}

/* DESIGN.md §5, applied to the reference.  Returns whether the id existed. */
static gboolean
ref_apply (Ctx         *ctx,
           NetDispatch  dispatch,
           guint64      id,
           const char  *title,
           gint64       ts)
{
  RefTask *t = ref_lookup (ctx, id);

  switch (dispatch)
    {
    case NET_DISPATCH_TASK_CREATED:
      if (t != NULL)
        ref_update (ctx, t, title, NET_TASK_STATUS_PENDING, ts, ts);
      else
        {
          guint64 *key = g_new (guint64, 1);

          t = g_new0 (RefTask, 1);
          t->id = *key = id;
          t->title = g_strdup (title);
          t->status = NET_TASK_STATUS_PENDING;
          t->created = t->updated = ts;
          g_hash_table_insert (ctx->ref, key, t);
          return FALSE;
        }
      break;

    case NET_DISPATCH_TASK_RENAMED:
      if (t != NULL)
        ref_update (ctx, t, title, t->status, t->created, ts);
      break;

    case NET_DISPATCH_TASK_COMPLETED:
      if (t != NULL)
        ref_update (ctx, t, t->title, NET_TASK_STATUS_COMPLETED, t->created, ts);
      break;

    case NET_DISPATCH_TASK_DELETED:
      if (t != NULL)
        {
          Held *h = g_hash_table_lookup (ctx->held, &id);

          /* The object outlives the task with its last values (checked
           * later, once the model folded the delete). */
          if (h != NULL)
            g_hash_table_remove (ctx->held, &id);
          g_hash_table_remove (ctx->ref, &id);
        }
      break;

    default:
      g_assert_not_reached ();
    }

  return t != NULL;
}

/* Text search, written from the spec: case-insensitive and Unicode-aware,
 * compatibility forms folded (NFKC, case fold, NFKC). */
static char *
ref_fold (const char *text)
{
  g_autofree char *nfkc = g_utf8_normalize (text, -1, G_NORMALIZE_ALL_COMPOSE);
  g_autofree char *folded = g_utf8_casefold (nfkc, -1);

  return g_utf8_normalize (folded, -1, G_NORMALIZE_ALL_COMPOSE);
}

typedef struct
{
  gboolean    status_set;
  NetTaskStatus status;
  char       *needle;
  char       *folded_needle;  /* NULL: no constraint */
  gint64      created_after, created_before, updated_after, updated_before;
  NetOrderBy  order;
  guint       limit, offset;
} RefFilter;

static void
ref_filter_clear (RefFilter *rf)
{
  g_free (rf->needle);
  g_free (rf->folded_needle);
}

static gboolean
in_bounds (gint64 v,
           gint64 after,
           gint64 before)
{
  /* Inclusive; 0 and G_MAXINT64 mean unbounded (DESIGN.md §5). */
  return (after == 0 || v >= after) && (before == G_MAXINT64 || v <= before);
}

static gboolean
ref_matches (const RefFilter *rf,
             const RefTask   *t)
{
  if (rf->status_set && t->status != rf->status)
    return FALSE;
  if (!in_bounds (t->created, rf->created_after, rf->created_before))
    return FALSE;
  if (!in_bounds (t->updated, rf->updated_after, rf->updated_before))
    return FALSE;
  if (rf->folded_needle != NULL)
    {
      g_autofree char *hay = ref_fold (t->title);

      if (strstr (hay, rf->folded_needle) == NULL)
        return FALSE;
    }
  return TRUE;
}

static int
ref_compare (gconstpointer a,
             gconstpointer b,
             gpointer      data)
{
  const RefTask *x = *(RefTask * const *) a, *y = *(RefTask * const *) b;
  NetOrderBy order = GPOINTER_TO_INT (data);
  gint64 kx = 0, ky = 0;
  int r;

  if (order == NET_ORDER_BY_CREATED_ASC || order == NET_ORDER_BY_CREATED_DESC)
    kx = x->created, ky = y->created;
  else if (order == NET_ORDER_BY_UPDATED_ASC || order == NET_ORDER_BY_UPDATED_DESC)
    kx = x->updated, ky = y->updated;

  if (kx != ky)
    r = kx < ky ? -1 : 1;
  else if (x->id != y->id)
    r = x->id < y->id ? -1 : 1;
  else
    r = 0;

  if (order == NET_ORDER_BY_ID_DESC || order == NET_ORDER_BY_CREATED_DESC ||
      order == NET_ORDER_BY_UPDATED_DESC)
    r = -r;
  return r;
}

/* Every match of @rf in order, ignoring the window. */
static GPtrArray *
ref_select (Ctx             *ctx,
            const RefFilter *rf)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, ctx->ref);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (ref_matches (rf, value))
      g_ptr_array_add (out, value);
  g_ptr_array_sort_with_data (out, ref_compare, GINT_TO_POINTER (rf->order));
  return out;
}

/* Random inputs ------------------------------------------------------------- */

static const char * const words[] = {
  "task", "Report", "REVIEW", "patch", "a", "A", "",
  "Straße", "STRASSE", "ß", "ẞ",
  "café", "CAFÉ", "cafe\xcc\x81",            /* decomposed é */
  "Ωμέγα", "ΣΊΣΥΦΟΣ", "σίσυφος",
  "ǅemal", "\xef\xac\x81le",                 /* "ﬁle", a ligature */
  "\xe2\x84\xaa" "elvin",                    /* KELVIN SIGN */
  "İstanbul", "ıi", "日本語", "\xf0\x9f\x93\x9d note",
  /* Compatibility twins: NFKC makes each pair equal. */
  "Ⅻ", "xii", "①②", "12", "ｆｕｌｌ", "FULL", "㎏", "kg",
};

static const gint64 ts_extremes[] = {
  G_MININT64, G_MININT64 + 1, -1000000, -2, -1, 1, 2,
  1700000000000000, G_MAXINT64 - 1, G_MAXINT64,
};

static const guint64 id_extremes[] = {
  0, 1, G_MAXINT64, (guint64) G_MAXINT64 + 1, (guint64) G_MAXINT64 + 2,
  G_MAXUINT64 - 1, G_MAXUINT64, (G_GUINT64_CONSTANT (1) << 53) + 1,
};

static gint32
rnd (gint32 n)
{
  return g_test_rand_int_range (0, n);
}

static guint64
random_id (Ctx *ctx)
{
  if (ctx->id_range > 16 && rnd (10) == 0)
    return id_extremes[rnd (G_N_ELEMENTS (id_extremes))];
  return rnd (ctx->id_range);
}

/* Mostly a few values (ties), sometimes extremes; 0 (now) is picked by
 * the caller. */
static gint64
random_ts (void)
{
  if (rnd (5) == 0)
    return ts_extremes[rnd (G_N_ELEMENTS (ts_extremes))];
  return 1 + rnd (24);
}

static char *
random_case (const char *s)
{
  switch (rnd (6))
    {
    case 0:
      return g_utf8_strup (s, -1);
    case 1:
      return g_utf8_strdown (s, -1);
    case 2:
      return g_ascii_strup (s, -1);
    case 3:
      {
        GString *out = g_string_new (NULL);
        gboolean up = g_test_rand_bit ();

        for (const char *p = s; *p; p = g_utf8_next_char (p))
          {
            gunichar c = g_utf8_get_char (p);

            g_string_append_unichar (out, up ? g_unichar_toupper (c) : g_unichar_tolower (c));
            up = !up;
          }
        return g_string_free (out, FALSE);
      }
    default:
      return g_strdup (s);
    }
}

static char *
random_title (void)
{
  GString *s = g_string_new (NULL);
  guint n = rnd (4);
  g_autofree char *plain = NULL;

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (s, rnd (4) ? " " : "");
      g_string_append (s, words[rnd (G_N_ELEMENTS (words))]);
    }
  if (rnd (8) == 0)
    g_string_append_printf (s, " #%d", rnd (100));
  plain = g_string_free (s, FALSE);
  return random_case (plain);
}

/* A substring of @text, by characters. */
static char *
random_fragment (const char *text)
{
  glong len = g_utf8_strlen (text, -1);
  glong start, n;

  if (len == 0)
    return g_strdup ("");
  start = rnd (len);
  n = 1 + rnd (MIN (4, len - start));
  return g_utf8_substring (text, start, start + n);
}

static GPtrArray *
ref_tasks (Ctx *ctx)
{
  GPtrArray *all = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, ctx->ref);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (all, value);
  /* Hash order is not seeded by g_test_rand: sort for reproducibility. */
  g_ptr_array_sort_with_data (all, ref_compare, GINT_TO_POINTER (NET_ORDER_BY_ID_ASC));
  return all;
}

static const RefTask *
random_ref_task (Ctx *ctx)
{
  g_autoptr(GPtrArray) all = ref_tasks (ctx);

  return all->len ? g_ptr_array_index (all, rnd (all->len)) : NULL;
}

static gint64
random_bound (Ctx     *ctx,
              gboolean created,
              gint64   unbounded)
{
  const RefTask *t;
  gint64 v;

  switch (rnd (6))
    {
    case 0:
    case 1:
      return unbounded;
    case 2:
      /* Exactly an existing value, or next to it: the edges are inclusive. */
      t = random_ref_task (ctx);
      if (t == NULL)
        return unbounded;
      v = created ? t->created : t->updated;
      if (v > G_MININT64 && v < G_MAXINT64)
        v += rnd (3) - 1;
      return v;
    case 3:
      return ts_extremes[rnd (G_N_ELEMENTS (ts_extremes))];
    default:
      return 1 + rnd (26);
    }
}

static NetTasksFilter *
random_filter (Ctx       *ctx,
               RefFilter *rf)
{
  NetTasksFilter *filter;

  memset (rf, 0, sizeof *rf);
  rf->created_before = rf->updated_before = G_MAXINT64;

  if (rnd (2))
    {
      rf->status_set = TRUE;
      rf->status = rnd (2) ? NET_TASK_STATUS_PENDING : NET_TASK_STATUS_COMPLETED;
    }
  if (rnd (3) == 0)
    {
      const RefTask *t = random_ref_task (ctx);
      g_autofree char *frag = NULL;

      if (t != NULL && rnd (3))
        frag = random_fragment (t->title);
      else
        frag = g_strdup (words[rnd (G_N_ELEMENTS (words))]);
      rf->needle = random_case (frag);
      if (rf->needle[0] != '\0')
        rf->folded_needle = ref_fold (rf->needle);
    }
  if (rnd (3) == 0)
    rf->created_after = random_bound (ctx, TRUE, 0);
  if (rnd (3) == 0)
    rf->created_before = random_bound (ctx, TRUE, G_MAXINT64);
  if (rnd (3) == 0)
    rf->updated_after = random_bound (ctx, FALSE, 0);
  if (rnd (3) == 0)
    rf->updated_before = random_bound (ctx, FALSE, G_MAXINT64);
  rf->order = rnd (6);
  if (rnd (2))
    rf->limit = rnd (3) ? (guint) (1 + rnd (5)) : G_MAXUINT;
  if (rnd (3) == 0)
    rf->offset = rnd (3) ? (guint) rnd (6) : G_MAXUINT;

  /* Both ways of building one: construct properties and setters. */
  if (rnd (2))
    {
      filter = g_object_new (NET_TYPE_TASKS_FILTER,
                             "title-contains", rf->needle,
                             "created-after", rf->created_after,
                             "created-before", rf->created_before,
                             "updated-after", rf->updated_after,
                             "updated-before", rf->updated_before,
                             "order-by", rf->order,
                             "limit", rf->limit,
                             "offset", rf->offset,
                             NULL);
      if (rf->status_set)
        g_object_set (filter, "status", rf->status, NULL);
    }
  else
    {
      filter = net_tasks_filter_new ();
      /* Set then unset: unset must clear the constraint. */
      net_tasks_filter_set_status (filter, rnd (2));
      if (rf->status_set)
        net_tasks_filter_set_status (filter, rf->status);
      else
        net_tasks_filter_unset_status (filter);
      net_tasks_filter_set_title_contains (filter, rf->needle);
      net_tasks_filter_set_created_after (filter, rf->created_after);
      net_tasks_filter_set_created_before (filter, rf->created_before);
      net_tasks_filter_set_updated_after (filter, rf->updated_after);
      net_tasks_filter_set_updated_before (filter, rf->updated_before);
      net_tasks_filter_set_order_by (filter, rf->order);
      net_tasks_filter_set_limit (filter, rf->limit);
      net_tasks_filter_set_offset (filter, rf->offset);
    }
  g_assert_cmpint (net_tasks_filter_get_status_set (filter), ==, rf->status_set);

  return filter;
}

/* Checks ------------------------------------------------------------------- */

/* Items are unique: one object per id, whichever query returned it. */
static void
check_identity (Ctx        *ctx,
                NetDbTasks *tasks,
                GHashTable *seen,
                NetTask    *task)
{
  guint64 id = net_task_get_id (task);
  Held *h = tasks == ctx->tasks ? g_hash_table_lookup (ctx->held, &id) : NULL;
  NetTask *other = g_hash_table_lookup (seen, &id);

  if (h != NULL)
    g_assert_true (h->task == task);
  if (other != NULL)
    g_assert_true (other == task);
  else
    {
      guint64 *key = g_new (guint64, 1);

      *key = id;
      g_hash_table_insert (seen, key, task);
    }
}

static void
check_query (Ctx        *ctx,
             NetDbTasks *tasks,
             GHashTable *seen)
{
  RefFilter rf;
  g_autoptr(NetTasksFilter) filter = random_filter (ctx, &rf);
  g_autoptr(GPtrArray) expected = ref_select (ctx, &rf);
  g_autoptr(GPtrArray) got = net_db_tasks_find_many (tasks, filter);
  g_autoptr(NetTask) first = net_db_tasks_find_first (tasks, filter);
  guint start = MIN (rf.offset, expected->len);
  guint n = expected->len - start;

  if (rf.limit != 0)
    n = MIN (n, rf.limit);

  if (got->len != n)
    g_error ("filter (status %d/%d, title “%s”, created %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
             ", updated %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ", order %d, offset %u, limit %u):"
             " %u tasks, expected %u",
             rf.status_set, rf.status, rf.needle ? rf.needle : "(null)",
             rf.created_after, rf.created_before, rf.updated_after, rf.updated_before,
             rf.order, rf.offset, rf.limit, got->len, n);
  for (guint i = 0; i < n; i++)
    {
      NetTask *task = g_ptr_array_index (got, i);

      assert_task_equals (task, g_ptr_array_index (expected, start + i));
      check_identity (ctx, tasks, seen, task);
    }

  g_assert_cmpuint (net_db_tasks_count (tasks, filter), ==, expected->len);
  g_assert_cmpint (net_db_tasks_exists (tasks, filter), ==, expected->len > 0);
  if (start < expected->len)
    {
      assert_task_equals (first, g_ptr_array_index (expected, start));
      check_identity (ctx, tasks, seen, first);
    }
  else
    g_assert_null (first);

  ref_filter_clear (&rf);
  ctx->stats.queries++;
}

/* The whole state of @tasks against the reference. */
static void
check_state (Ctx        *ctx,
             NetDbTasks *tasks,
             guint       n_queries,
             gboolean    may_hold)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GPtrArray) all = ref_tasks (ctx);
  g_autoptr(GPtrArray) got = net_db_tasks_find_many (tasks, NULL);

  g_assert_cmpuint (net_db_tasks_get_applied_seq (tasks), ==, ctx->last_seq);
  g_assert_cmpuint (net_db_tasks_count (tasks, NULL), ==, all->len);
  g_assert_cmpint (net_db_tasks_exists (tasks, NULL), ==, all->len > 0);
  g_assert_cmpuint (got->len, ==, all->len);
  for (guint i = 0; i < all->len; i++)
    {
      const RefTask *t = g_ptr_array_index (all, i);
      g_autoptr(NetTask) task = net_db_tasks_get (tasks, t->id);

      assert_task_equals (task, t);
      check_identity (ctx, tasks, seen, task);
      g_assert_true (g_ptr_array_index (got, i) == (gpointer) task);
      if (may_hold && !g_hash_table_contains (ctx->held, &t->id) && rnd (4) == 0)
        hold (ctx, task);
    }

  /* Ids that are not there. */
  for (guint i = 0; i < 3; i++)
    {
      guint64 id = random_id (ctx);

      if (ref_lookup (ctx, id) == NULL)
        g_assert_null (net_db_tasks_get (tasks, id));
    }

  for (guint i = 0; i < n_queries; i++)
    check_query (ctx, tasks, seen);

  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (tasks, ORIGIN), ==, ctx->own_app_seq);
  g_assert_cmpuint (_net_db_tasks_get_origin_app_seq (tasks, FOREIGN_ORIGIN), ==, ctx->foreign_applied);
}

static void
on_changed (NetDbTasks *tasks,
            guint64     first,
            guint64     last,
            gpointer    data)
{
  Watch *w = data;

  /* From a dispatch only, contiguous batches, never past what is folded. */
  g_assert_true (w->ctx->draining);
  g_assert_cmpuint (first, ==, w->delivered + 1);
  g_assert_cmpuint (last, >=, first);
  g_assert_cmpuint (last, <=, net_db_tasks_get_applied_seq (tasks));
  w->delivered = last;
}

/* Runs the fold sources, then checks what they delivered. */
static void
drain (Ctx *ctx)
{
  GHashTableIter iter;
  gpointer value;

  ctx->draining = TRUE;
  if (rnd (4) == 0)
    {
      g_autoptr(GError) error = NULL;

      /* The blocking wait iterates the owner context as well. */
      g_assert_true (net_db_tasks_wait_for_seq (ctx->observer, ctx->last_seq, 5000, &error));
      g_assert_no_error (error);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ctx->draining = FALSE;
  ctx->lagging = FALSE;
  ctx->stats.drains++;

  g_assert_cmpuint (ctx->watch.delivered, ==, ctx->last_seq);
  g_assert_cmpuint (ctx->observer_watch.delivered, ==, ctx->last_seq);

  g_hash_table_iter_init (&iter, ctx->held);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Held *h = value;

      if (h->notified != h->expected)
        g_error ("task %" G_GUINT64_FORMAT ": notified 0x%x, expected 0x%x",
                 net_task_get_id (h->task), h->notified, h->expected);
      h->notified = h->expected = 0;
    }

  g_assert_cmpuint (net_db_tasks_get_fold_errors (ctx->tasks), ==, ctx->fold_errors);
  g_assert_cmpuint (net_db_tasks_get_fold_errors (ctx->observer), ==, ctx->fold_errors);
  check_state (ctx, ctx->observer, 1, FALSE);
  /* Nothing is pending now: a good time to start watching objects. */
  check_state (ctx, ctx->tasks, 1, TRUE);
}

/* Opening and closing ------------------------------------------------------ */

static NetDbTasks *
open_model (Ctx    *ctx,
            guint64 origin,
            Watch  *watch)
{
  g_autoptr(GError) error = NULL;
  NetDbTasks *tasks;

  tasks = net_db_tasks_new (ctx->redex, NULL, origin, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tasks);
  if (ctx->base != NULL)
    {
      g_assert_true (net_db_tasks_restore (tasks, ctx->base->bytes, &error));
      g_assert_no_error (error);
    }
  watch->ctx = ctx;
  watch->delivered = ctx->first_seq - 1;
  g_signal_connect (tasks, "changed", G_CALLBACK (on_changed), watch);
  return tasks;
}

static void
open_models (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;

  ctx->redex = net_redex_new (ctx->dir, &error);
  g_assert_no_error (error);
  ctx->tasks = open_model (ctx, ORIGIN, &ctx->watch);
  ctx->observer = open_model (ctx, OBSERVER_ORIGIN, &ctx->observer_watch);
}

static void
close_models (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;

  drain (ctx);
  g_hash_table_remove_all (ctx->held);

  g_assert_true (net_db_tasks_close (ctx->tasks, &error));
  g_assert_no_error (error);
  g_assert_true (net_db_tasks_close (ctx->observer, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (ctx->tasks);
  g_assert_finalize_object (ctx->observer);
  ctx->tasks = ctx->observer = NULL;
  g_assert_true (net_redex_close (ctx->redex, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (ctx->redex);
  ctx->redex = NULL;
}

static char *
make_dir (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("netdb-tasks-random-XXXXXX", &error);

  g_assert_no_error (error);
  g_ptr_array_add (ctx->dirs, dir);
  return g_build_filename (dir, "db", NULL);
}

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

/* Steps -------------------------------------------------------------------- */

static void
step_mutation (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *title = NULL;
  NetDispatch dispatch;
  guint64 id = random_id (ctx);
  gint64 ts = rnd (25) == 0 ? 0 : random_ts ();
  gint64 before, after;
  guint64 seq;
  gboolean existed;
  int r = rnd (100);

  if (r < 35)
    dispatch = NET_DISPATCH_TASK_CREATED;
  else if (r < 57)
    dispatch = NET_DISPATCH_TASK_RENAMED;
  else if (r < 80)
    dispatch = NET_DISPATCH_TASK_COMPLETED;
  else
    dispatch = NET_DISPATCH_TASK_DELETED;

  if (dispatch == NET_DISPATCH_TASK_CREATED || dispatch == NET_DISPATCH_TASK_RENAMED)
    {
      if (rnd (150) == 0)
        {
          /* Invalid UTF-8: refused, no seq used, nothing changes. */
          const char *bad = rnd (2) ? "bad \xff title" : "\xc3";

          seq = dispatch == NET_DISPATCH_TASK_CREATED
                  ? net_db_tasks_create (ctx->tasks, id, bad, ts, &error)
                  : net_db_tasks_rename (ctx->tasks, id, bad, ts, &error);
          g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
          g_assert_cmpuint (seq, ==, 0);
          ctx->stats.invalid_utf8++;
          return;
        }
      title = random_title ();
    }

  before = g_get_real_time ();
  switch (dispatch)
    {
    case NET_DISPATCH_TASK_CREATED:
      seq = net_db_tasks_create (ctx->tasks, id, title, ts, &error);
      break;
    case NET_DISPATCH_TASK_RENAMED:
      seq = net_db_tasks_rename (ctx->tasks, id, title, ts, &error);
      break;
    case NET_DISPATCH_TASK_COMPLETED:
      seq = net_db_tasks_complete (ctx->tasks, id, ts, &error);
      break;
    case NET_DISPATCH_TASK_DELETED:
    default:
      seq = net_db_tasks_delete (ctx->tasks, id, &error);
      break;
    }
  after = g_get_real_time ();

  /* Id 0 is refused; so is a change of an id the state does not hold (it
   * folds what the log holds first, foreign events too): nothing is
   * logged. */
  if (id == 0)
    {
      g_assert_error (error, NET_ERROR, NET_ERROR_INVALID_ARGUMENT);
      g_assert_cmpuint (seq, ==, 0);
      ctx->stats.invalid_id++;
      return;
    }
  if (dispatch != NET_DISPATCH_TASK_CREATED && ref_lookup (ctx, id) == NULL)
    {
      g_assert_error (error, NET_ERROR, NET_ERROR_NOT_FOUND);
      g_assert_cmpuint (seq, ==, 0);
      g_assert_cmpuint (net_db_tasks_get_applied_seq (ctx->tasks), ==, ctx->last_seq);
      ctx->lagging = FALSE;
      ctx->stats.unknown++;
      return;
    }
  g_assert_no_error (error);

  /* Seqs rise by one, with no gap; read-your-writes folds it (and any
   * foreign event before it) before the call returns. */
  g_assert_cmpuint (seq, ==, ctx->last_seq + 1);
  ctx->last_seq = seq;
  ctx->own_app_seq++;
  ctx->lagging = FALSE;
  g_assert_cmpuint (net_db_tasks_get_applied_seq (ctx->tasks), ==, seq);

  if (ts == 0 && dispatch != NET_DISPATCH_TASK_DELETED)
    {
      g_autoptr(NetTask) task = net_db_tasks_get (ctx->tasks, id);

      /* "Now": whatever the model stamped, within the call. */
      if (task != NULL)
        {
          ts = net_task_get_updated_at (task);
          g_assert_cmpint (ts, >=, before);
          g_assert_cmpint (ts, <=, after);
        }
      ctx->stats.now_ts++;
    }

  {
    Held *h = g_hash_table_lookup (ctx->held, &id);
    g_autoptr(NetTask) gone = h && dispatch == NET_DISPATCH_TASK_DELETED ? g_object_ref (h->task) : NULL;
    RefTask last = { 0 };

    if (gone != NULL)
      {
        RefTask *t = ref_lookup (ctx, id);

        last = *t;
        last.title = g_strdup (t->title);
      }

    existed = ref_apply (ctx, dispatch, id, title, ts);

    /* A deleted item keeps its last values. */
    if (gone != NULL)
      {
        assert_task_equals (gone, &last);
        g_free (last.title);
      }
  }

  switch (dispatch)
    {
    case NET_DISPATCH_TASK_CREATED:
      if (existed)
        ctx->stats.replaces++;
      else
        ctx->stats.creates++;
      break;
    case NET_DISPATCH_TASK_RENAMED:
      ctx->stats.renames++;
      break;
    case NET_DISPATCH_TASK_COMPLETED:
      ctx->stats.completes++;
      break;
    case NET_DISPATCH_TASK_DELETED:
    default:
      ctx->stats.deletes++;
      break;
    }
  g_assert_true (existed || dispatch == NET_DISPATCH_TASK_CREATED);
}

typedef struct
{
  NetRedexFile *file;
  GBytes       *event;
  guint64       seq;
} AppendData;

static gpointer
append_thread (gpointer data)
{
  AppendData *ad = data;

  ad->seq = net_redex_file_append (ad->file, ad->event, NULL);
  return NULL;
}

/* An event from another writer appended to the log directly: valid ones
 * (with fields this version does not know) are folded by the next dispatch
 * or local mutation; malformed ones are counted and skipped. */
static void
step_foreign (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(NetRedexFile) file = net_redex_open_file (ctx->redex, "tasks", NULL, &error);
  g_autoptr(GByteArray) payload = g_byte_array_new ();
  g_autoptr(GBytes) event = NULL;
  g_autofree char *title = random_title ();
  NetEventMeta meta = { 0 };
  NetDispatch dispatch = NET_DISPATCH_TASK_CREATED + rnd (4);
  guint64 id = random_id (ctx);
  gint64 ts = random_ts ();
  gboolean malformed = rnd (3) == 0;
  guint kind = rnd (9);
  NetEncoder enc;
  AppendData ad;

  g_assert_no_error (error);

  meta.dispatch = dispatch;
  meta.origin = FOREIGN_ORIGIN;
  meta.app_seq = ++ctx->foreign_app_seq;

  net_encoder_init (&enc, payload);
  if (malformed && kind == 0)
    net_encoder_put_int (&enc, 1, (gint64) id);       /* id of the wrong type */
  else
    net_encoder_put_uint (&enc, 1, id);
  if (rnd (2))
    net_encoder_put_uint (&enc, 9, rnd (1000));       /* unknown fields */
  if (malformed && kind == 1)
    net_encoder_put_bytes (&enc, 2, (const guint8 *) "x\xff", 2);
  else if (dispatch == NET_DISPATCH_TASK_CREATED || dispatch == NET_DISPATCH_TASK_RENAMED)
    {
      if (!(malformed && kind == 2))
        net_encoder_put_string (&enc, 2, title);
    }
  if (dispatch != NET_DISPATCH_TASK_DELETED)
    net_encoder_put_int (&enc, 3, ts);
  if (rnd (2))
    net_encoder_put_string (&enc, 12, "from the future");

  if (malformed)
    switch (kind)
      {
      case 0: case 1:
        break;
      case 2:
        if (dispatch != NET_DISPATCH_TASK_CREATED && dispatch != NET_DISPATCH_TASK_RENAMED)
          meta.dispatch = NET_DISPATCH_MEMORY_PINNED;
        break;
      case 3:
        meta.dispatch = NET_DISPATCH_APPLICATION + rnd (0x80);
        break;
      case 4:
        payload->data[0] = 2;                   /* a version from the future */
        break;
      case 5:
        g_byte_array_set_size (payload, payload->len - 1);   /* truncated */
        break;
      case 6:
        g_byte_array_append (payload, (const guint8 *) "\x07", 1);  /* field 0 */
        break;
      default:
        break;
      }

  event = net_event_encode (&meta, payload->data, payload->len);
  if (malformed && kind == 7)
    {
      /* A checksum that does not hold. */
      gsize len;
      guint8 *bytes = g_bytes_unref_to_data (g_steal_pointer (&event), &len);

      bytes[rnd (len)] ^= 1 << rnd (8);
      event = g_bytes_new_take (bytes, len);
    }
  else if (malformed && kind == 8)
    {
      g_clear_pointer (&event, g_bytes_unref);
      event = g_bytes_new (payload->data, MIN (payload->len, NET_EVENT_META_SIZE - 1));
    }

  ad.file = file;
  ad.event = event;
  if (rnd (4) == 0)
    g_thread_join (g_thread_new ("foreign", append_thread, &ad));
  else
    append_thread (&ad);
  g_assert_cmpuint (ad.seq, ==, ctx->last_seq + 1);
  ctx->last_seq = ad.seq;

  /* Nothing is folded outside the owner context's dispatch. */
  if (ctx->lagging)
    g_assert_cmpuint (net_db_tasks_get_applied_seq (ctx->tasks), <, ad.seq - 1);
  else
    g_assert_cmpuint (net_db_tasks_get_applied_seq (ctx->tasks), ==, ad.seq - 1);
  ctx->lagging = TRUE;

  if (malformed)
    {
      ctx->fold_errors++;
      ctx->stats.malformed++;
    }
  else
    {
      ref_apply (ctx, dispatch, id, title, ts);
      ctx->foreign_applied = meta.app_seq;
      ctx->stats.foreign++;
    }
}

static Snap *
take_snapshot (Ctx        *ctx,
               NetDbTasks *tasks)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) again = NULL;
  Snap *snap = g_new0 (Snap, 1);

  snap->bytes = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  snap->seq = ctx->last_seq;
  snap->fold_errors = ctx->fold_errors;

  /* Deterministic. */
  again = net_db_tasks_snapshot (tasks, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (snap->bytes, again));

  return snap;
}

static void
forget_held (Ctx *ctx)
{
  /* A restore replaces the task objects. */
  g_hash_table_remove_all (ctx->held);
}

static void
step_snapshot (Ctx *ctx)
{
  drain (ctx);
  g_ptr_array_add (ctx->snaps, take_snapshot (ctx, ctx->tasks));
  if (ctx->snaps->len > 8)
    g_ptr_array_remove_index (ctx->snaps, 1 + rnd (ctx->snaps->len - 1));
  ctx->stats.snapshots++;
}

/* Restores a snapshot of this history, or a broken one. */
static void
step_restore (Ctx *ctx)
{
  g_autoptr(GError) error = NULL;
  NetDbTasks *target = rnd (4) == 0 ? ctx->observer : ctx->tasks;
  Watch *watch = target == ctx->tasks ? &ctx->watch : &ctx->observer_watch;
  Snap *snap = g_ptr_array_index (ctx->snaps, rnd (2) ? ctx->snaps->len - 1 : (guint) rnd (ctx->snaps->len));
  gboolean ok;

  drain (ctx);

  if (rnd (5) == 0)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (snap->bytes, &len);
      g_autoptr(GByteArray) broken = g_byte_array_new ();
      g_autoptr(GBytes) bytes = NULL;

      g_byte_array_append (broken, data, len);
      switch (rnd (3))
        {
        case 0:
          broken->data[0] = 0x7f;   /* unknown format version */
          break;
        case 1:
          g_byte_array_append (broken, (const guint8 *) "\x07", 1);
          break;
        default:
          g_byte_array_set_size (broken, len - 1);
          break;
        }
      bytes = g_byte_array_free_to_bytes (g_steal_pointer (&broken));
      g_assert_false (net_db_tasks_restore (target, bytes, &error));
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_INVALID);
      ctx->stats.restores_invalid++;
      /* Nothing changed, not even the objects. */
      check_state (ctx, target, 2, FALSE);
      return;
    }

  ok = net_db_tasks_restore (target, snap->bytes, &error);

  /* The log must still hold every event after the snapshot's. */
  if (snap->seq + 1 < ctx->first_seq)
    {
      g_assert_error (error, NET_ERROR, NET_ERROR_SNAPSHOT_MISMATCH);
      g_assert_false (ok);
      ctx->stats.restores_mismatch++;
      check_state (ctx, target, 2, FALSE);
      return;
    }

  g_assert_no_error (error);
  g_assert_true (ok);
  ctx->stats.restores_ok++;
  watch->delivered = snap->seq;
  if (target == ctx->tasks)
    forget_held (ctx);
  check_state (ctx, target, 2, FALSE);
  drain (ctx);
}

/* Moves to a fresh log that continues after a snapshot of this one. */
static void
step_move (Ctx *ctx)
{
  Snap *snap;

  /* Sometimes a snapshot one event short of the move's: the new log lacks
   * exactly that event, so restoring it must fail. */
  if (rnd (2))
    {
      step_snapshot (ctx);
      step_mutation (ctx);
    }
  drain (ctx);
  snap = take_snapshot (ctx, ctx->tasks);
  g_ptr_array_add (ctx->snaps, snap);
  close_models (ctx);

  if (ctx->persistent)
    {
      g_free (ctx->dir);
      ctx->dir = make_dir (ctx);
    }
  g_clear_pointer (&ctx->base, snap_free);
  ctx->base = g_memdup2 (snap, sizeof *snap);
  g_bytes_ref (snap->bytes);
  ctx->first_seq = snap->seq + 1;
  open_models (ctx);
  ctx->stats.moves++;

  check_state (ctx, ctx->tasks, 2, FALSE);
  drain (ctx);
}

/* Persistent: close and reopen the directory.  In memory: a new observer
 * that folds the log from its start. */
static void
step_reopen (Ctx *ctx)
{
  if (ctx->persistent)
    {
      close_models (ctx);
      open_models (ctx);
    }
  else
    {
      /* Closing a model would close the shared log: just drop it. */
      drain (ctx);
      g_assert_finalize_object (ctx->observer);
      ctx->observer = open_model (ctx, OBSERVER_ORIGIN, &ctx->observer_watch);
    }
  ctx->stats.reopens++;
  check_state (ctx, ctx->tasks, 2, FALSE);
  drain (ctx);
}

/* The run ---------------------------------------------------------------- */

typedef struct
{
  gboolean persistent;
  guint    id_range;
  guint    steps;
} Params;

static void
run (gconstpointer data)
{
  const Params *p = data;
  guint steps = p->steps * (g_test_slow () ? 10 : 1);
  Ctx *ctx = g_new0 (Ctx, 1);
  Stats *s = &ctx->stats;

  ctx->persistent = p->persistent;
  ctx->id_range = p->id_range;
  ctx->dirs = g_ptr_array_new_with_free_func (g_free);
  ctx->ref = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, ref_task_free);
  ctx->held = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, held_free);
  ctx->snaps = g_ptr_array_new_with_free_func (snap_free);
  ctx->first_seq = 1;
  if (ctx->persistent)
    ctx->dir = make_dir (ctx);

  open_models (ctx);
  /* The snapshot of a fresh model: at seq 0, it replays the whole log. */
  g_ptr_array_add (ctx->snaps, take_snapshot (ctx, ctx->tasks));

  for (guint i = 0; i < steps; i++)
    {
      int r = rnd (1000);

      if (r < 880)
        step_mutation (ctx);
      else if (r < 950)
        step_foreign (ctx);
      else if (r < 970)
        step_snapshot (ctx);
      else if (r < 990)
        step_restore (ctx);
      else if (r < 995)
        step_move (ctx);
      else
        step_reopen (ctx);

      if (!ctx->lagging)
        check_state (ctx, ctx->tasks, 3, FALSE);
      if (rnd (3) == 0)
        drain (ctx);
    }

  drain (ctx);
  check_state (ctx, ctx->tasks, 20, FALSE);

  g_test_message ("%u steps, %u tasks at the end: %u creates, %u replaces, %u renames, "
                  "%u completes, %u deletes, %u refused for unknown ids, %u for id 0, %u stamped now, "
                  "%u invalid UTF-8, %u foreign events, %u malformed, %u drains, %u queries, "
                  "%u snapshots, restores %u ok / %u mismatch / %u invalid, %u moves, "
                  "%u reopens, %u objects held",
                  steps, g_hash_table_size (ctx->ref), s->creates, s->replaces, s->renames,
                  s->completes, s->deletes, s->unknown, s->invalid_id, s->now_ts, s->invalid_utf8,
                  s->foreign, s->malformed, s->drains, s->queries, s->snapshots,
                  s->restores_ok, s->restores_mismatch, s->restores_invalid, s->moves,
                  s->reopens, s->held);

  /* The walk must have gone where it was meant to. */
  g_assert_cmpuint (s->replaces, >, 0);
  g_assert_cmpuint (s->unknown, >, 0);
  g_assert_cmpuint (s->malformed, >, 0);
  g_assert_cmpuint (s->restores_ok, >, 0);
  g_assert_cmpuint (s->moves, >, 0);
  g_assert_cmpuint (s->reopens, >, 0);

  close_models (ctx);
  for (guint i = 0; i < ctx->dirs->len; i++)
    rm_rf (g_ptr_array_index (ctx->dirs, i));
  g_ptr_array_unref (ctx->dirs);
  g_free (ctx->dir);
  g_hash_table_unref (ctx->held);
  g_hash_table_unref (ctx->ref);
  g_ptr_array_unref (ctx->snaps);
  g_clear_pointer (&ctx->base, snap_free);
  g_free (ctx);
}

int
main (int   argc,
      char *argv[])
{
  static const Params memory_narrow = { FALSE, 8, 15000 };
  static const Params memory_wide = { FALSE, 48, 15000 };
  static const Params persistent_narrow = { TRUE, 8, 10000 };
  static const Params persistent_wide = { TRUE, 48, 10000 };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_data_func ("/db/tasks/random/memory/narrow-ids", &memory_narrow, run);
  g_test_add_data_func ("/db/tasks/random/memory/wide-ids", &memory_wide, run);
  g_test_add_data_func ("/db/tasks/random/persistent/narrow-ids", &persistent_narrow, run);
  g_test_add_data_func ("/db/tasks/random/persistent/wide-ids", &persistent_wide, run);

  return g_test_run ();
}
