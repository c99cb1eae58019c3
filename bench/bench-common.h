/* bench-common.h: what the netdb benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Rows of results, runs interleaved over --repeat and reduced to their
 * median, the printed table (workload | netdb | baselines | how many times
 * netdb is better than each baseline | target | the previous figure), the
 * previous figures, the JSON output, and small SQLite helpers.  Each
 * program fills in the description part of `bench` before printing
 * anything.
 */

#pragma once

#include <time.h>

#include <gio/gio.h>
#include <sqlite3.h>

G_BEGIN_DECLS

#ifndef G_NSEC_PER_SEC
# define G_NSEC_PER_SEC G_GINT64_CONSTANT (1000000000)
#endif

#define BENCH_MAX_IMPL 3   /* columns of figures; column 0 is netdb */
#define MAX_OUT        4   /* rows one measurement can fill */

typedef enum
{
  KIND_RATE,   /* events per second, higher is better */
  KIND_NS,     /* nanoseconds, lower is better */
  KIND_MS,     /* milliseconds, lower is better */
  KIND_BYTES,  /* bytes, lower is better */
  KIND_MBPS,   /* megabytes (10^6) per second, higher is better */
} Kind;

typedef enum
{
  TARGET_NONE,
  TARGET_MIN,
  TARGET_MAX,
} TargetKind;

typedef struct
{
  char       *id;
  Kind        kind;
  gboolean    show_ns;
  double      v[BENCH_MAX_IMPL];
  gboolean    failed[BENCH_MAX_IMPL];
  TargetKind  target_kind;
  double      target;
} Row;

typedef gboolean (*MeasureFunc) (gpointer data, double *out, GError **error);

typedef struct
{
  Row         **rows;
  guint         n_rows;
  guint         impl;
  MeasureFunc   func;
  gpointer      data;
} Job;

typedef struct
{
  /* Set by the program before it prints or measures anything. */
  const char         *prog;          /* "netdb-bench", to prefix messages */
  guint               n_impl;        /* columns of figures, at most BENCH_MAX_IMPL */
  const char *const  *impl_names;    /* their headers and JSON keys; [0] is netdb */
  const char *const  *ratio_names;   /* n_impl - 1 headers: "vs sql", ... */
  int                 w_id;          /* width of the workload column */

  /* Options. */
  gboolean            quick;
  gboolean            no_baselines;  /* measure column 0 only */
  gint                repeat;

  /* State. */
  GPtrArray          *rows;          /* Row*, in print order */
  GHashTable         *previous;      /* "id\tfield" -> double*, or NULL */
  char               *previous_path;
  guint               n_errors;
  char              **only;
  GString            *notes;
} BenchState;

extern BenchState bench;

static inline gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_NSEC_PER_SEC + ts.tv_nsec;
}

int       compare_double     (gconstpointer a,
                              gconstpointer b);
int       compare_i64        (gconstpointer a,
                              gconstpointer b);
double    median             (GArray       *samples);
double    percentile         (const gint64 *sorted,
                              gsize         n,
                              double        pct);
double    rate               (guint64       events,
                              gint64        elapsed_ns);

gboolean  set_errno_error    (GError      **error,
                              int           errsv,
                              const char   *what,
                              const char   *path);
/* Removes @path and everything under it; NULL is ignored. */
void      rm_rf              (const char   *path);
/* A fresh directory "<prog>-XXXXXX" under @dir (default $TMPDIR, or
 * /var/tmp). */
char     *make_root          (const char   *dir,
                              GError      **error);

gboolean  sq_error           (sqlite3      *db,
                              GError      **error,
                              const char   *what);
gboolean  sq_exec            (sqlite3      *db,
                              const char   *sql,
                              GError      **error);
sqlite3  *sq_open            (const char   *path,
                              const char   *setup_sql,
                              GError      **error);
sqlite3_stmt *sq_prepare     (sqlite3      *db,
                              const char   *sql,
                              GError      **error);
gboolean  sq_step_done       (sqlite3      *db,
                              sqlite3_stmt *stmt,
                              GError      **error);

/* Rows: NULL (and so skipped everywhere) when --only leaves @id out. */
gboolean  want               (const char   *id);
Row      *row_new            (const char   *id,
                              Kind          kind,
                              gboolean      show_ns);
void      row_set_target     (Row          *row,
                              TargetKind    kind,
                              double        target);
void      row_free           (gpointer      data);
gboolean  any_row            (Row         **rows,
                              guint         n_rows);
void      run_jobs           (const Job    *jobs,
                              guint         n_jobs);
char     *fmt_value          (Kind          kind,
                              double        v,
                              gboolean      show_ns);
void      print_table_header (void);
/* Prints @row and keeps it for the JSON output; NULL is ignored. */
void      row_finish         (Row          *row);
void      note               (const char   *text);

/* @path, or @default_path when it is NULL (a missing default is fine). */
void      load_previous      (const char   *path,
                              const char   *default_path);
char     *cpu_model          (void);
gboolean  write_json         (const char   *path,
                              const char   *date,
                              const char   *cpu,
                              const char   *kernel,
                              GError      **error);

/* Helpers of the model benchmarks. */
void         drain_main_context (void);
gboolean     check_count        (const char   *what,
                                 guint64       got,
                                 guint64       expected,
                                 GError      **error);
/* "task-<i>" into @buf (32 bytes). */
const char  *task_title         (char         *buf,
                                 guint64       i);

G_END_DECLS
