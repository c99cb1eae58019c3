/* bench-common.c: what the netdb benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bench-common.h"
#include "net-pages-private.h"

#if defined (__GLIBC__) && defined (__GLIBC_MINOR__)
# if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)
#  define HAVE_MALLINFO2 1
# endif
#endif

#define W_CELL  17
#define W_RATIO 8
#define W_TGT   16

BenchState bench;

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

double
median (GArray *samples)
{
  GArray *copy;
  double m;

  if (samples->len == 0)
    return NAN;
  copy = g_array_copy (samples);
  g_array_sort (copy, compare_double);
  if (copy->len % 2 == 1)
    m = g_array_index (copy, double, copy->len / 2);
  else
    m = (g_array_index (copy, double, copy->len / 2 - 1) +
         g_array_index (copy, double, copy->len / 2)) / 2;
  g_array_unref (copy);
  return m;
}

/* Nearest-rank percentile of sorted values. */
double
percentile (const gint64 *sorted, gsize n, double pct)
{
  gsize rank;

  if (n == 0)
    return NAN;
  rank = (gsize) ((pct / 100.0) * (double) n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return (double) sorted[rank - 1];
}

double
rate (guint64 events, gint64 elapsed_ns)
{
  return (double) events * 1e9 / (double) MAX (elapsed_ns, 1);
}

/* ------------------------------------------------------------------ */
/* Scratch files                                                      */

gboolean
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
               "%s %s: %s", what, path, g_strerror (errsv));
  return FALSE;
}

static int
rm_rf_cb (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (remove (path) != 0 && errno != ENOENT)
    g_printerr ("%s: cannot remove %s: %s\n", bench.prog, path, g_strerror (errno));
  return 0;
}

void
rm_rf (const char *path)
{
  if (path == NULL)
    return;
  nftw (path, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *
make_root (const char *dir, GError **error)
{
  const char *base = dir != NULL ? dir : g_getenv ("TMPDIR");
  char *name, *tmpl;

  if (base == NULL || *base == '\0')
    base = "/var/tmp";
  if (g_mkdir_with_parents (base, 0700) != 0)
    {
      set_errno_error (error, errno, "mkdir", base);
      return NULL;
    }
  name = g_strdup_printf ("%s-XXXXXX", bench.prog);
  tmpl = g_build_filename (base, name, NULL);
  g_free (name);
  if (g_mkdtemp (tmpl) == NULL)
    {
      set_errno_error (error, errno, "mkdtemp", tmpl);
      g_free (tmpl);
      return NULL;
    }
  return tmpl;
}

/* ------------------------------------------------------------------ */
/* SQLite helpers                                                     */

gboolean
sq_error (sqlite3 *db, GError **error, const char *what)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "sqlite %s: %s",
               what, db != NULL ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

gboolean
sq_exec (sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "sqlite %s: %s", sql,
                   msg != NULL ? msg : "?");
      sqlite3_free (msg);
      return FALSE;
    }
  return TRUE;
}

sqlite3 *
sq_open (const char *path, const char *setup_sql, GError **error)
{
  sqlite3 *db = NULL;

  if (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    {
      sq_error (db, error, "open");
      sqlite3_close (db);
      return NULL;
    }
  if (setup_sql != NULL && !sq_exec (db, setup_sql, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

sqlite3_stmt *
sq_prepare (sqlite3 *db, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      sq_error (db, error, sql);
      return NULL;
    }
  return stmt;
}

gboolean
sq_step_done (sqlite3 *db, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);

  sqlite3_reset (stmt);
  if (rc != SQLITE_DONE)
    return sq_error (db, error, "step");
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Rows, measuring, printing                                          */

gboolean
want (const char *id)
{
  guint i;

  if (bench.only == NULL)
    return TRUE;
  for (i = 0; bench.only[i] != NULL; i++)
    {
      const char *pat = bench.only[i];

      if (*pat == '\0')
        continue;
      if (strpbrk (pat, "*?") != NULL ? g_pattern_match_simple (pat, id) : strstr (id, pat) != NULL)
        return TRUE;
    }
  return FALSE;
}

Row *
row_new (const char *id, Kind kind, gboolean show_ns)
{
  Row *row;
  guint i;

  if (!want (id))
    return NULL;
  row = g_new0 (Row, 1);
  row->id = g_strdup (id);
  row->kind = kind;
  row->show_ns = show_ns;
  for (i = 0; i < BENCH_MAX_IMPL; i++)
    row->v[i] = NAN;
  return row;
}

void
row_set_target (Row *row, TargetKind kind, double target)
{
  if (row == NULL)
    return;
  row->target_kind = kind;
  row->target = target;
}

void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->id);
  g_free (row);
}

gboolean
any_row (Row **rows, guint n_rows)
{
  guint k;

  for (k = 0; k < n_rows; k++)
    if (rows[k] != NULL)
      return TRUE;
  return FALSE;
}

/* Runs each job --repeat times, interleaved (job 1, job 2, ..., job 1,
 * job 2, ...) so that a slow patch of the machine hits every column
 * alike.  The k-th output of a job goes to its @rows[k], column @impl,
 * as the median over the runs. */
void
run_jobs (const Job *jobs, guint n_jobs)
{
  GArray *samples[8][MAX_OUT];
  gboolean active[8];
  gboolean failed[8];
  guint j, k;
  gint r;

  g_assert (n_jobs <= G_N_ELEMENTS (active));
  for (j = 0; j < n_jobs; j++)
    {
      g_assert (jobs[j].n_rows <= MAX_OUT);
      active[j] = any_row (jobs[j].rows, jobs[j].n_rows) &&
                  !(bench.no_baselines && jobs[j].impl != 0);
      failed[j] = FALSE;
      for (k = 0; k < MAX_OUT; k++)
        samples[j][k] = g_array_new (FALSE, FALSE, sizeof (double));
    }

  for (r = 0; r < bench.repeat; r++)
    for (j = 0; j < n_jobs; j++)
      {
        double out[MAX_OUT];
        GError *error = NULL;

        if (!active[j] || failed[j])
          continue;
        for (k = 0; k < MAX_OUT; k++)
          out[k] = NAN;
        if (!jobs[j].func (jobs[j].data, out, &error))
          {
            const char *id = NULL;

            for (k = 0; k < jobs[j].n_rows && id == NULL; k++)
              if (jobs[j].rows[k] != NULL)
                id = jobs[j].rows[k]->id;
            g_printerr ("%s: %s [%s]: %s\n", bench.prog, id, bench.impl_names[jobs[j].impl],
                        error != NULL ? error->message : "failed without an error");
            g_clear_error (&error);
            bench.n_errors++;
            failed[j] = TRUE;
            continue;
          }
        for (k = 0; k < jobs[j].n_rows; k++)
          g_array_append_val (samples[j][k], out[k]);
      }

  for (j = 0; j < n_jobs; j++)
    {
      for (k = 0; k < jobs[j].n_rows; k++)
        {
          Row *row = jobs[j].rows[k];

          if (row != NULL && active[j])
            {
              row->v[jobs[j].impl] = failed[j] ? NAN : median (samples[j][k]);
              row->failed[jobs[j].impl] = failed[j];
            }
        }
      for (k = 0; k < MAX_OUT; k++)
        g_array_unref (samples[j][k]);
    }
}

static char *
fmt_rate (double v)
{
  if (v >= 1e6)
    return g_strdup_printf ("%.2fM/s", v / 1e6);
  if (v >= 1e4)
    return g_strdup_printf ("%.1fk/s", v / 1e3);
  if (v >= 1e3)
    return g_strdup_printf ("%.2fk/s", v / 1e3);
  return g_strdup_printf ("%.0f/s", v);
}

static char *
fmt_ns (double v)
{
  if (v < 1e3)
    return g_strdup_printf ("%.0fns", v);
  if (v < 1e4)
    return g_strdup_printf ("%.2fus", v / 1e3);
  if (v < 1e6)
    return g_strdup_printf ("%.1fus", v / 1e3);
  return g_strdup_printf ("%.2fms", v / 1e6);
}

char *
fmt_value (Kind kind, double v, gboolean show_ns)
{
  char *a, *b, *s;

  if (isnan (v))
    return g_strdup ("-");
  switch (kind)
    {
    case KIND_RATE:
      a = fmt_rate (v);
      if (!show_ns || v <= 0)
        return a;
      b = fmt_ns (1e9 / v);
      s = g_strdup_printf ("%s %s", a, b);
      g_free (a);
      g_free (b);
      return s;
    case KIND_NS:
      return fmt_ns (v);
    case KIND_MS:
      if (v < 1)
        return g_strdup_printf ("%.3fms", v);
      if (v < 100)
        return g_strdup_printf ("%.2fms", v);
      return g_strdup_printf ("%.0fms", v);
    case KIND_BYTES:
      return g_strdup_printf ("%.0fB", v);
    case KIND_MBPS:
      return g_strdup_printf (v < 100 ? "%.1fMB/s" : "%.0fMB/s", v);
    }
  return g_strdup ("?");
}

/* How many times netdb is better than @base (> 1: netdb is better). */
static double
better_factor (Kind kind, double netdb, double base)
{
  if (isnan (netdb) || isnan (base) || netdb <= 0 || base <= 0)
    return NAN;
  return kind == KIND_RATE || kind == KIND_MBPS ? netdb / base : base / netdb;
}

static double
previous_value (const char *id, const char *field)
{
  char *key;
  double *v;

  if (bench.previous == NULL)
    return NAN;
  key = g_strdup_printf ("%s\t%s", id, field);
  v = g_hash_table_lookup (bench.previous, key);
  g_free (key);
  return v != NULL ? *v : NAN;
}

void
print_table_header (void)
{
  int width = bench.w_id + 2 + W_TGT + 24;
  guint i;

  g_print ("\n%-*s", bench.w_id, "workload");
  for (i = 0; i < bench.n_impl; i++)
    g_print (" %-*s", W_CELL, bench.impl_names[i]);
  for (i = 0; i + 1 < bench.n_impl; i++)
    g_print (" %*s", W_RATIO, bench.ratio_names[i]);
  g_print ("  %-*s %s\n", W_TGT, "target", bench.previous != NULL ? "previous netdb (change)" : "");

  width += (int) bench.n_impl * (W_CELL + 1) + ((int) bench.n_impl - 1) * (W_RATIO + 1);
  for (i = 0; i < (guint) width; i++)
    g_print ("-");
  g_print ("\n");
}

void
row_finish (Row *row)
{
  GString *line;
  char *target = NULL;
  char *prev = NULL;
  double prev_v;
  guint i;

  if (row == NULL)
    return;

  line = g_string_new (NULL);
  g_string_append_printf (line, "%-*s", bench.w_id, row->id);
  for (i = 0; i < bench.n_impl; i++)
    {
      char *cell = row->failed[i] ? g_strdup ("ERROR") : fmt_value (row->kind, row->v[i], row->show_ns);

      g_string_append_printf (line, " %-*s", W_CELL, cell);
      g_free (cell);
    }

  for (i = 1; i < bench.n_impl; i++)
    {
      double f = better_factor (row->kind, row->v[0], row->v[i]);
      char ratio[32];

      if (isnan (f))
        g_strlcpy (ratio, "-", sizeof ratio);
      else
        g_snprintf (ratio, sizeof ratio, f < 10 ? "%.2fx" : "%.0fx", f);
      g_string_append_printf (line, " %*s", W_RATIO, ratio);
    }

  if (row->target_kind == TARGET_VS_MIN && bench.n_impl > 1)
    {
      /* Said of the netdb figure: "<=2x sqlite" for a better factor of at
       * least 0.5 on a lower-is-better figure. */
      double f = better_factor (row->kind, row->v[0], row->v[1]);
      gboolean higher_better = row->kind == KIND_RATE || row->kind == KIND_MBPS;

      target = g_strdup_printf ("%s%gx %s%s", higher_better ? ">=" : "<=",
                                higher_better ? row->target : 1 / row->target,
                                bench.impl_names[1],
                                isnan (f) ? "" : f >= row->target ? " ok" : " MISS");
    }
  else if (row->target_kind == TARGET_MIN || row->target_kind == TARGET_MAX)
    {
      char *t = fmt_value (row->kind, row->target, FALSE);
      const char *verdict = "";

      if (!isnan (row->v[0]))
        {
          gboolean pass = row->target_kind == TARGET_MIN
                            ? row->v[0] >= row->target
                            : row->v[0] <= row->target;
          verdict = pass ? " ok" : " MISS";
        }
      target = g_strdup_printf ("%s%s%s", row->target_kind == TARGET_MIN ? ">=" : "<=", t, verdict);
      g_free (t);
    }

  prev_v = previous_value (row->id, "netdb");
  if (!isnan (prev_v))
    {
      char *p = fmt_value (row->kind, prev_v, FALSE);

      if (prev_v > 0 && !isnan (row->v[0]))
        prev = g_strdup_printf ("%s (%+.0f%%)", p, (row->v[0] / prev_v - 1) * 100);
      else
        prev = g_strdup (p);
      g_free (p);
    }

  g_print ("%s  %-*s %s\n", line->str, W_TGT, target != NULL ? target : "", prev != NULL ? prev : "");

  g_string_free (line, TRUE);
  g_free (target);
  g_free (prev);
  g_ptr_array_add (bench.rows, row);
}

void
note (const char *text)
{
  g_string_append_printf (bench.notes, " - %s\n", text);
}

void
fail_rows (Row          **rows,
           guint          n_rows,
           guint          impl,
           const GError  *error)
{
  g_printerr ("%s: %s\n", bench.prog, error->message);
  bench.n_errors++;
  for (guint i = 0; i < n_rows; i++)
    if (rows[i] != NULL)
      for (guint k = 0; k < bench.n_impl; k++)
        if (impl == BENCH_ALL_IMPL || impl == k)
          rows[i]->failed[k] = TRUE;
}

void
fail_and_finish_rows (Row          **rows,
                      guint          n_rows,
                      const GError  *error)
{
  fail_rows (rows, n_rows, BENCH_ALL_IMPL, error);
  for (guint i = 0; i < n_rows; i++)
    row_finish (rows[i]);
}

char *
size_label (guint64 n)
{
  if (n >= 1000000 && n % 1000000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "M", n / 1000000);
  if (n >= 1000 && n % 1000 == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "k", n / 1000);
  return g_strdup_printf ("%" G_GUINT64_FORMAT, n);
}

/* ------------------------------------------------------------------ */
/* Previous figures: a tiny JSON reader for our own output            */

typedef struct
{
  const char *p;
  const char *end;
} JsonCursor;

static void
json_ws (JsonCursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static char *
json_string (JsonCursor *c)
{
  GString *s;

  json_ws (c);
  if (c->p >= c->end || *c->p != '"')
    return NULL;
  c->p++;
  s = g_string_new (NULL);
  while (c->p < c->end && *c->p != '"')
    {
      if (*c->p == '\\' && c->p + 1 < c->end)
        {
          c->p++;
          switch (*c->p)
            {
            case 'n': g_string_append_c (s, '\n'); break;
            case 't': g_string_append_c (s, '\t'); break;
            case 'r': g_string_append_c (s, '\r'); break;
            case 'b': g_string_append_c (s, '\b'); break;
            case 'f': g_string_append_c (s, '\f'); break;
            case 'u':
              g_string_append_c (s, '?');
              c->p += MIN (4, c->end - c->p - 1);
              break;
            default: g_string_append_c (s, *c->p); break;
            }
          c->p++;
        }
      else
        g_string_append_c (s, *c->p++);
    }
  if (c->p >= c->end)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  c->p++;
  return g_string_free (s, FALSE);
}

/* Parses one value; records every number under its path (keys joined
 * by tabs) in @out. */
static gboolean
json_value (JsonCursor *c, const char *path, GHashTable *out, guint depth)
{
  json_ws (c);
  if (c->p >= c->end || depth > 32)
    return FALSE;

  if (*c->p == '{' || *c->p == '[')
    {
      gboolean object = *c->p == '{';
      char close_ch = object ? '}' : ']';
      guint index_ = 0;

      c->p++;
      json_ws (c);
      if (c->p < c->end && *c->p == close_ch)
        {
          c->p++;
          return TRUE;
        }
      for (;;)
        {
          char *key = object ? json_string (c) : g_strdup_printf ("%u", index_++);
          char *sub;
          gboolean ok;

          if (key == NULL)
            return FALSE;
          if (object)
            {
              json_ws (c);
              if (c->p >= c->end || *c->p != ':')
                {
                  g_free (key);
                  return FALSE;
                }
              c->p++;
            }
          sub = *path ? g_strconcat (path, "\t", key, NULL) : g_strdup (key);
          ok = json_value (c, sub, out, depth + 1);
          g_free (sub);
          g_free (key);
          if (!ok)
            return FALSE;
          json_ws (c);
          if (c->p < c->end && *c->p == ',')
            {
              c->p++;
              continue;
            }
          if (c->p < c->end && *c->p == close_ch)
            {
              c->p++;
              return TRUE;
            }
          return FALSE;
        }
    }
  if (*c->p == '"')
    {
      char *s = json_string (c);
      gboolean ok = s != NULL;

      g_free (s);
      return ok;
    }
  if (c->end - c->p >= 4 && (strncmp (c->p, "true", 4) == 0 || strncmp (c->p, "null", 4) == 0))
    {
      c->p += 4;
      return TRUE;
    }
  if (c->end - c->p >= 5 && strncmp (c->p, "false", 5) == 0)
    {
      c->p += 5;
      return TRUE;
    }
  {
    char buf[64];
    gsize n = 0;
    char *endp;
    double v;

    while (c->p + n < c->end && n < sizeof buf - 1 && strchr ("+-0123456789.eE", c->p[n]) != NULL)
      n++;
    if (n == 0)
      return FALSE;
    memcpy (buf, c->p, n);
    buf[n] = '\0';
    v = g_ascii_strtod (buf, &endp);
    if (*endp != '\0')
      return FALSE;
    c->p += n;
    g_hash_table_insert (out, g_strdup (path), g_memdup2 (&v, sizeof v));
    return TRUE;
  }
}

/* @explicit_path, or @default_path when it is NULL (a missing default is
 * fine). */
static void
load_previous (const char *explicit_path,
               const char *default_path)
{
  char *path = g_strdup (explicit_path != NULL ? explicit_path : default_path);
  char *contents = NULL;
  gsize len = 0;
  GError *error = NULL;
  GHashTable *all;
  GHashTableIter iter;
  gpointer key, value;
  JsonCursor c;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      if (explicit_path != NULL)
        {
          g_printerr ("%s: %s\n", bench.prog, error->message);
          bench.n_errors++;
        }
      g_clear_error (&error);
      g_free (path);
      return;
    }

  all = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  c.p = contents;
  c.end = contents + len;
  if (!json_value (&c, "", all, 0))
    {
      g_printerr ("%s: %s: not valid JSON, ignored\n", bench.prog, path);
      g_hash_table_unref (all);
      g_free (contents);
      g_free (path);
      return;
    }

  /* Keep "results\t<id>\t<field>" as "<id>\t<field>". */
  bench.previous = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_iter_init (&iter, all);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (g_str_has_prefix (key, "results\t"))
      {
        g_hash_table_iter_steal (&iter);
        g_hash_table_insert (bench.previous, g_strdup ((char *) key + strlen ("results\t")), value);
        g_free (key);
      }
  g_hash_table_unref (all);
  bench.previous_path = path;
  g_free (contents);
}

/* ------------------------------------------------------------------ */
/* Machine description, JSON output                                   */

static char *
cpu_model (void)
{
  char *contents = NULL;
  char *model = NULL;
  char **lines;
  guint i;

  if (!g_file_get_contents ("/proc/cpuinfo", &contents, NULL, NULL))
    return g_strdup ("unknown CPU");
  lines = g_strsplit (contents, "\n", -1);
  for (i = 0; lines[i] != NULL && model == NULL; i++)
    if (g_str_has_prefix (lines[i], "model name"))
      {
        const char *colon = strchr (lines[i], ':');

        if (colon != NULL)
          model = g_strstrip (g_strdup (colon + 1));
      }
  g_strfreev (lines);
  g_free (contents);
  return model != NULL ? model : g_strdup ("unknown CPU");
}

static void
json_put_string (GString *s, const char *str)
{
  const char *p;

  g_string_append_c (s, '"');
  for (p = str; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (s, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

static void
json_put_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (isnan (v) || isinf (v))
    g_string_append (s, "null");
  else
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
}

static gboolean
write_json (const char *path, GError **error)
{
  /* Indexed by Kind. */
  static const char *const units[] = { "events/s", "ns", "ms", "bytes", "MB/s" };
  GString *s = g_string_new ("{\n  \"format\": 1,\n  \"date\": ");
  gboolean ok;
  guint i, k;

  json_put_string (s, bench.date);
  g_string_append (s, ",\n  \"machine\": { \"nproc\": ");
  g_string_append_printf (s, "%u", g_get_num_processors ());
  g_string_append (s, ", \"kernel\": ");
  json_put_string (s, bench.kernel);
  g_string_append (s, ", \"cpu\": ");
  json_put_string (s, bench.cpu);
  g_string_append (s, ", \"sqlite\": ");
  json_put_string (s, sqlite3_libversion ());
  g_string_append_printf (s, " },\n  \"repeat\": %d,\n  \"quick\": %s,\n  \"results\": {",
                          bench.repeat, bench.quick ? "true" : "false");

  for (i = 0; i < bench.rows->len; i++)
    {
      Row *row = g_ptr_array_index (bench.rows, i);

      g_string_append (s, i > 0 ? ",\n    " : "\n    ");
      json_put_string (s, row->id);
      g_string_append (s, ": { \"unit\": ");
      g_assert (row->kind < G_N_ELEMENTS (units));
      json_put_string (s, units[row->kind]);
      for (k = 0; k < bench.n_impl; k++)
        {
          g_string_append_printf (s, ", \"%s\": ", bench.impl_names[k]);
          json_put_number (s, row->v[k]);
        }
      if (row->target_kind != TARGET_NONE)
        {
          static const char *const names[] = {
            [TARGET_MIN] = "min", [TARGET_MAX] = "max", [TARGET_VS_MIN] = "vs_min",
          };

          g_string_append_printf (s, ", \"target_%s\": ", names[row->target_kind]);
          json_put_number (s, row->target);
        }
      g_string_append (s, " }");
    }
  g_string_append (s, "\n  }\n}\n");

  ok = g_file_set_contents (path, s->str, (gssize) s->len, error);
  g_string_free (s, TRUE);
  return ok;
}

/* ------------------------------------------------------------------ */
/* The life of a program                                              */

void
bench_init (const char         *prog,
            guint               n_impl,
            const char *const  *impl_names,
            const char *const  *ratio_names,
            int                 w_id,
            gint                repeat)
{
  g_assert (n_impl >= 1 && n_impl <= BENCH_MAX_IMPL);

  bench.prog = prog;
  bench.n_impl = n_impl;
  bench.impl_names = impl_names;
  bench.ratio_names = ratio_names;
  bench.w_id = w_id;
  bench.repeat = repeat;
}

gboolean
bench_parse_options (const GOptionEntry   *entries,
                     const char           *parameter_string,
                     const char           *description,
                     int                  *argc,
                     char               ***argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (parameter_string);
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_description (octx, description);
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      g_printerr ("%s: %s\n", bench.prog, error->message);
      return FALSE;
    }
  return TRUE;
}

void
bench_start (const char *previous_name)
{
  g_autofree char *default_previous = NULL;
  g_autoptr(GDateTime) now = NULL;
  struct utsname uts;

  bench.rows = g_ptr_array_new_with_free_func (row_free);
  bench.notes = g_string_new (NULL);
  if (bench.only_arg != NULL)
    bench.only = g_strsplit (bench.only_arg, ",", -1);

  default_previous = g_build_filename (NETDB_BENCH_SRCDIR, previous_name, NULL);
  load_previous (bench.previous_arg, default_previous);

  now = g_date_time_new_now_local ();
  bench.date = g_date_time_format (now, "%Y-%m-%d %H:%M:%S %z");
  bench.cpu = cpu_model ();
  bench.kernel = uname (&uts) == 0 ? g_strdup_printf ("%s %s %s", uts.sysname, uts.release, uts.machine)
                                   : g_strdup ("unknown");
}

void
bench_print_intro (const char *title_format,
                   ...)
{
  g_autofree char *title = NULL;
  va_list args;

  va_start (args, title_format);
  title = g_strdup_vprintf (title_format, args);
  va_end (args);

  g_print ("%s: %s\n", bench.prog, title);
  g_print ("date:    %s\n", bench.date);
  g_print ("machine: %s, %u CPUs, %s\n", bench.cpu, g_get_num_processors (), bench.kernel);
}

void
bench_print_runs (const char *quick_what)
{
  g_print ("runs:    median of %d", bench.repeat);
  if (bench.quick)
    g_print (", QUICK %s (smoke test, not figures)", quick_what);
  if (bench.previous_path != NULL)
    g_print ("; previous figures from %s", bench.previous_path);
  g_print ("\n");
}

gboolean
bench_have_rows (void)
{
  if (bench.rows->len > 0)
    return TRUE;
  g_print ("(no workload matches --only %s)\n", bench.only_arg);
  return FALSE;
}

int
bench_finish (void)
{
  int status;

  g_print ("\nnotes:\n%s", bench.notes->str);

  if (bench.json_path != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!write_json (bench.json_path, &error))
        {
          g_printerr ("%s: %s\n", bench.prog, error->message);
          bench.n_errors++;
        }
      else
        g_print ("\nwrote %s\n", bench.json_path);
    }

  if (bench.n_errors > 0)
    g_printerr ("%s: %u error(s)\n", bench.prog, bench.n_errors);
  status = bench.n_errors > 0 ? 1 : 0;

  g_clear_pointer (&bench.rows, g_ptr_array_unref);
  if (bench.notes != NULL)
    g_string_free (g_steal_pointer (&bench.notes), TRUE);
  g_clear_pointer (&bench.only, g_strfreev);
  g_clear_pointer (&bench.previous, g_hash_table_unref);
  g_clear_pointer (&bench.previous_path, g_free);
  g_clear_pointer (&bench.date, g_free);
  g_clear_pointer (&bench.cpu, g_free);
  g_clear_pointer (&bench.kernel, g_free);
  return status;
}

/* Lets the models deliver what they folded (notifies, ::changed, live
 * queries), as an application's main loop would. */
void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

gboolean
check_count (const char  *what,
             guint64      got,
             guint64      expected,
             GError     **error)
{
  if (got != expected)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%s: got %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   what, got, expected);
      return FALSE;
    }
  return TRUE;
}

/* Heap bytes in use: every malloc arena plus mmap'd blocks (mallinfo2;
 * the resident set where there is none), and netdb's huge-page blocks,
 * which are mappings of their own (net-pages-private.h).  GLib 2.74's
 * slice allocator takes its pages from malloc, so it is counted too. */
static gint64
heap_in_use (void)
{
#ifdef HAVE_MALLINFO2
  struct mallinfo2 mi = mallinfo2 ();

  return (gint64) (mi.uordblks + mi.hblkhd + _net_pages_get_mapped ());
#else
  /* The resident set, a coarser stand-in. */
  long pages = 0, resident = 0;
  FILE *f = fopen ("/proc/self/statm", "r");

  if (f != NULL)
    {
      if (fscanf (f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
      fclose (f);
    }
  return (gint64) resident * sysconf (_SC_PAGESIZE);
#endif
}

gboolean
heap_growth_per_record (PopulateFunc   populate,
                        gpointer       ctx,
                        guint64        n,
                        double         minus,
                        double        *out,
                        GError       **error)
{
  gint64 before, after;

  drain_main_context ();
  before = heap_in_use ();
  if (!populate (ctx, n, error))
    return FALSE;
  drain_main_context ();
  after = heap_in_use ();
  *out = after > before ? (double) (after - before) / (double) n - minus : NAN;
  return TRUE;
}

gboolean
memory_probe_run (const char  *dir,
                  const char  *spec,
                  double      *out,
                  GError     **error)
{
  char *self = g_file_read_link ("/proc/self/exe", error);
  char *argv[] = { self, (char *) "--dir", (char *) dir, (char *) "--memory-probe", (char *) spec, NULL };
  char *child_out = NULL, *child_err = NULL, *end = NULL;
  int status = 0;
  gboolean ok = FALSE;

  if (self == NULL)
    goto out;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &child_out, &child_err, &status, error))
    goto out;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the memory probe failed: %s",
                   child_err != NULL ? g_strstrip (child_err) : "");
      goto out;
    }
  *out = g_ascii_strtod (child_out, &end);
  if (end == child_out)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the memory probe printed “%s”",
                   g_strstrip (child_out));
      goto out;
    }
  ok = TRUE;

out:
  g_free (self);
  g_free (child_out);
  g_free (child_err);
  return ok;
}

const char *
task_title (char    *buf,
            guint64  i)
{
  g_snprintf (buf, 32, "task-%" G_GUINT64_FORMAT, i);
  return buf;
}

gboolean
time_ops (OpsFunc   ops,
          gpointer  ctx,
          gint64    budget_ms,
          double   *ns_per_op,
          GError  **error)
{
  gint64 budget = (bench.quick ? 5 : budget_ms) * G_GINT64_CONSTANT (1000000);
  guint64 done = 0, batch = 1;
  gint64 t0, elapsed;

  t0 = now_ns ();
  for (;;)
    {
      if (!ops (ctx, done, batch, error))
        return FALSE;
      done += batch;
      elapsed = now_ns () - t0;
      if (elapsed >= budget)
        break;
      batch *= 2;
    }
  *ns_per_op = (double) elapsed / (double) done;
  return TRUE;
}
