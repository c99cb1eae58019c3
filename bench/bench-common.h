/* bench-common.h: what the netdb benchmarks share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Rows of results, runs interleaved over --repeat and reduced to their
 * median, the printed table (workload | netdb | baselines | how many times
 * netdb is better than each baseline | target | the previous figure), the
 * previous figures, the JSON output, the options, header and epilogue
 * every program has (see bench_init() below), and small SQLite helpers.
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
  TARGET_MIN,     /* the netdb figure is at least the target */
  TARGET_MAX,     /* the netdb figure is at most the target */
  TARGET_VS_MIN,  /* how many times netdb is better than the first baseline
                   * (the first ratio column) is at least the target: 0.5
                   * for a size "at most 2x the baseline's" */
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

  /* Options (BENCH_OPTION_*). */
  gboolean            quick;
  gboolean            no_baselines;  /* measure column 0 only */
  gint                repeat;
  char               *dir;           /* --dir, or NULL */
  char               *only_arg;      /* --only, patterns separated by commas */
  char               *json_path;     /* --json, or NULL */
  char               *previous_arg;  /* --previous, or NULL */

  /* State, from bench_start() to bench_finish(). */
  GPtrArray          *rows;          /* Row*, in print order */
  GHashTable         *previous;      /* "id\tfield" -> double*, or NULL */
  char               *previous_path;
  guint               n_errors;
  char              **only;          /* from --only; a program may fill it itself */
  GString            *notes;
  char               *date;          /* of the run, local time */
  char               *cpu;           /* the machine, for the header and the JSON */
  char               *kernel;
} BenchState;

extern BenchState bench;

/* The options every benchmark has, for its GOptionEntry table; their
 * values land in `bench`.  @help and @what are string literals. */
#define BENCH_OPTION_QUICK(help) \
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &bench.quick, help, NULL }
#define BENCH_OPTION_REPEAT(default_repeat) \
  { "repeat", 'r', 0, G_OPTION_ARG_INT, &bench.repeat, \
    "Runs per measurement; the median is reported (default " #default_repeat ")", "N" }
#define BENCH_OPTION_DIR(what) \
  { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &bench.dir, \
    "Where to create " what " (a fresh sub-directory, removed at the end; " \
    "default $TMPDIR or /var/tmp)", "DIR" }
#define BENCH_OPTION_ONLY \
  { "only", 'o', 0, G_OPTION_ARG_STRING, &bench.only_arg, \
    "Only the workloads whose id contains PATTERN, or matches it if it has * or ?; " \
    "several patterns may be separated by commas", "PATTERN" }
#define BENCH_OPTION_NO_BASELINES(help) \
  { "no-baselines", 0, 0, G_OPTION_ARG_NONE, &bench.no_baselines, help, NULL }
/* --json and --previous; @previous_name is the file of the source tree's
 * bench/ folder that holds the figures to compare with. */
#define BENCH_OPTIONS_FIGURES(previous_name) \
  { "json", 'j', 0, G_OPTION_ARG_FILENAME, &bench.json_path, \
    "Also write the figures to FILE (the format of bench/" previous_name ")", "FILE" }, \
  { "previous", 'p', 0, G_OPTION_ARG_FILENAME, &bench.previous_arg, \
    "Figures to compare with (default: bench/" previous_name " in the source tree, " \
    "if present)", "FILE" }

/* The life of a benchmark program:
 *
 *   bench_init()             the description part of `bench`, the default --repeat
 *   bench_parse_options()    FALSE: exit status 2
 *   (its own checks of the options, its scratch directory)
 *   bench_start()            rows, notes, --only, previous figures, machine
 *   bench_print_intro(), bench_print_runs(), (its own header lines),
 *   print_table_header()
 *   (its measurements: row_new(), run_jobs(), row_finish(), note())
 *   bench_finish()           notes, --json, the error count; the exit status
 */
void      bench_init          (const char         *prog,
                               guint               n_impl,
                               const char *const  *impl_names,
                               const char *const  *ratio_names,
                               int                 w_id,
                               gint                repeat);
/* Parses the command line; says why and returns FALSE when it cannot. */
gboolean  bench_parse_options (const GOptionEntry *entries,
                               const char         *parameter_string,
                               const char         *description,
                               int                *argc,
                               char             ***argv);
/* @previous_name: the default of --previous, in the source tree's bench/. */
void      bench_start         (const char         *previous_name);
/* "<prog>: <title>", then the date and the machine. */
void      bench_print_intro   (const char         *title_format,
                               ...) G_GNUC_PRINTF (1, 2);
/* "runs:" the --repeat count, whether --quick shrank the @quick_what,
 * where the previous figures come from. */
void      bench_print_runs    (const char         *quick_what);
/* When no row was made, says that --only left every workload out and
 * returns FALSE. */
gboolean  bench_have_rows     (void);
/* Prints the notes, writes --json, reports the errors and frees the state
 * bench_start() made.  Returns the exit status: 1 if anything failed. */
int       bench_finish        (void);

static inline gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_NSEC_PER_SEC + ts.tv_nsec;
}

/* How long a query cell runs its batches (the notes say so). */
#define QUERY_BUDGET_MS 100

/* Runs operations @first .. @first + @count - 1. */
typedef gboolean (*OpsFunc) (gpointer ctx, guint64 first, guint64 count, GError **error);

/* Runs batches of doubling size until @budget_ms (5 ms with --quick)
 * have passed; the mean ns per operation. */
gboolean  time_ops           (OpsFunc       ops,
                              gpointer      ctx,
                              gint64        budget_ms,
                              double       *ns_per_op,
                              GError      **error);

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

/* Reports @error and marks column @impl of each of @rows failed (every
 * column when @impl is BENCH_ALL_IMPL); NULL rows are skipped. */
#define BENCH_ALL_IMPL G_MAXUINT
void      fail_rows          (Row         **rows,
                              guint         n_rows,
                              guint         impl,
                              const GError *error);
/* A workload that cannot run at all: fail_rows() on every column, then
 * row_finish() of each of @rows. */
void      fail_and_finish_rows (Row         **rows,
                                guint         n_rows,
                                const GError *error);
/* "10k", "1M", "1500": for workload ids. */
char     *size_label         (guint64       n);

/* Helpers of the model benchmarks. */
void         drain_main_context (void);
gboolean     check_count        (const char   *what,
                                 guint64       got,
                                 guint64       expected,
                                 GError      **error);
/* "task-<i>" into @buf (32 bytes). */
const char  *task_title         (char         *buf,
                                 guint64       i);

/* The memory workloads.  Each run is a fresh process of the same program
 * (`PROGRAM --dir DIR --memory-probe SPEC`), so that what earlier
 * workloads freed into malloc's or GLib's caches cannot be reused and hide
 * the growth; the child prints one number, the bytes per record. */

/* Adds @n records to @ctx. */
typedef gboolean (*PopulateFunc) (gpointer ctx, guint64 n, GError **error);

/* The heap growth (mallinfo2: uordblks + hblkhd, every arena and mmap'd
 * block) while @populate adds @n records, the main context drained
 * before and after, divided by @n, minus @minus, into @out: NaN when the
 * heap did not grow (under a sanitizer, malloc is not glibc's). */
gboolean     heap_growth_per_record (PopulateFunc   populate,
                                     gpointer       ctx,
                                     guint64        n,
                                     double         minus,
                                     double        *out,
                                     GError       **error);
/* The parent's side: runs the probe @spec in a fresh process with its
 * scratch directory under @dir, and reads the number it printed into @out. */
gboolean     memory_probe_run   (const char    *dir,
                                 const char    *spec,
                                 double        *out,
                                 GError       **error);

/* bench-collections.c: the "notes" rows of netdb-bench-models, at each of
 * @sizes when @sizes_given, else at 100k (10k with --quick); @root is the
 * scratch directory of the memory probes. */
void         bench_collections  (const guint64 *sizes,
                                 guint          n_sizes,
                                 gboolean       sizes_given,
                                 const char    *root);
/* The child's side of the probe "notes-@impl:@n" (@impl "netdb" or
 * "sqlite"): the bytes per note into @out. */
gboolean     bench_collections_memory_probe (const char  *impl,
                                             guint64      n,
                                             const char  *root,
                                             double      *out,
                                             GError     **error);

G_END_DECLS
