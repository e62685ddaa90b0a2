/*
 * cli.h — private to the `zvm` command's files: reading input files and
 * the subcommands. Commands parse flags, call the library through its
 * public headers, print, and choose exit codes; libzvm never does.
 */
#ifndef ZV_CLI_H
#define ZV_CLI_H

#include "engine/engine.h"
#include "io/io.h"
#include "prefork/prefork.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const uint8_t *data;
    size_t size;
} zv_cli_file;

/* The command running ("run", "batch", ...), for messages: main sets it. */
extern const char *zv_cli_current;
/* main's argv, for zv_cli_pool_exec. */
extern char **zv_cli_command_line;
/* "zvm CMD: PATH: msg", or "zvm CMD: msg" when msg starts with "PATH:". */
void zv_cli_file_err(const char *cmd, const char *path, const char *msg);
/* A module that did not load: 2 if its file cannot be read, else 1. */
int zv_cli_load_status(int rc);

/* Map a whole regular file read-only. Returns 0, or prints why and
 * returns 2 (the exit status for an unreadable file). */
int zv_cli_read(const char *path, zv_cli_file *f);
void zv_cli_release(zv_cli_file *f);
/* The first n bytes of a regular file (*got fewer if it is shorter), with
 * zv_cli_read's errors. */
int zv_cli_peek(const char *path, uint8_t *buf, size_t n, size_t *got);

/* ---- the command line (opts.c) ----
 * Each command's options are one table, from which come the parsing,
 * --help and the man pages' OPTIONS. */
typedef struct {
    const char *name;   /* --NAME */
    char letter;        /* -L, or 0 */
    const char *arg;    /* the value's name ("FILE"), NULL for a flag */
    const char *help;   /* what it does, and its default */
} zv_cli_opt;

typedef struct {
    const char *name;     /* "batch" */
    const char *usage;    /* synopsis lines, each after "zvm NAME " */
    const char *summary;  /* a sentence or two */
    const zv_cli_opt *opts; /* ended by a row with a NULL name */
    int program_operand;  /* 1: options end at the first operand (a program) */
    const char *see;      /* a last paragraph of --help, or NULL */
    const char *prog;     /* the program's name when not "zvm NAME" (zvm-bench) */
} zv_cli_cmd;

#define ZV_CLI_HELP 2 /* zv_cli_next printed --help: exit 0 */
typedef struct {
    const zv_cli_cmd *cmd;
    int argc;
    char **argv;
    int i;                  /* the next argument */
    int done;               /* past "--" or the program */
    const zv_cli_opt *opt;  /* the option just read */
    const char *val;        /* its value (NULL for a flag) */
    int n_operands;         /* operands seen: moved to argv[0 .. n_operands) */
} zv_cli_args;

void zv_cli_args_init(zv_cli_args *a, const zv_cli_cmd *cmd, int argc, char **argv);
/* The next option: 1 (a->opt, a->val), 0 at the end of the options
 * (a->i is the program operand, if any), ZV_CLI_HELP after printing
 * --help, -1 after printing a mistake (exit 2). */
int zv_cli_next(zv_cli_args *a);
int zv_cli_is(const zv_cli_args *a, const char *name); /* the option just read is --name? */
/* One line on stderr, "zvm COMMAND: ...": returns -1 (exit 2). */
/* (format: gcc's and clang's check of the arguments against fmt) */
int zv_cli_fail(const zv_cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of the option just read, checked: 0, or -1 after saying why. */
int zv_cli_uint(const zv_cli_args *a, uint64_t min, uint64_t max, uint64_t *out);
int zv_cli_unsigned(const zv_cli_args *a, unsigned min, unsigned max, unsigned *out);
int zv_cli_seconds(const zv_cli_args *a, double *out);
int zv_cli_memory(const zv_cli_args *a, uint64_t *out); /* whole 64 KiB pages */
int zv_cli_choice(const zv_cli_args *a, const char *const *choices, int *out);
void zv_cli_help(const zv_cli_cmd *cmd, FILE *f);
/* Part of the command's man page, in roff: "synopsis", "options" (with
 * the exit status) or "exit". */
void zv_cli_man(const zv_cli_cmd *cmd, const char *part, FILE *f);
/* The name in `names` (NULL-ended) within two edits of `word`, or NULL. */
const char *zv_cli_nearest(const char *word, const char *const *names);

/* ---- what the record commands share (common.c) ---- */
/* A result's status as its cause: "ok", "trap", "timeout", "limit", "exit". */
const char *zv_cli_cause(int status);
/* C-escaped (\n \t \\ \xNN) into out (cap bytes, NUL-ended, cut short if
 * it must be): for one-line error records. Returns the length. */
size_t zv_cli_escape(const void *data, size_t len, char *out, size_t cap);
/* A NULL-ended list of strings (--arg, --env), owned. */
typedef struct {
    char **v;
    size_t n, cap;
} zv_cli_list;
int zv_cli_list_add(zv_cli_list *l, const char *v); /* 0, or -1 out of memory */
/* --env NAME=VALUE, or NAME (this process's value; none if unset). */
int zv_cli_env_add(const zv_cli_args *a, zv_cli_list *l);
void zv_cli_list_free(zv_cli_list *l);

/* The options of the commands that run records (batch, consume,
 * zvm-bench): their rows, shared by the tables, and their parsing. */
#define ZV_CLI_GUEST_OPTS                                                                          \
    {"arg", 0, "VALUE", "append one word to the guest's argv (after argv[0], the module); "       \
                        "repeatable"},                                                            \
    {"env", 0, "NAME[=VALUE]", "set a variable in the guest's environment (NAME alone: its value " \
                               "here); repeatable"},                                              \
    {"dir", 0, "HOST::GUEST", "every record sees the host folder HOST at GUEST, read-only; "    \
                              "repeatable"}
#define ZV_CLI_RECORD_OPTS                                                                         \
    ZV_CLI_GUEST_OPTS,                                                                             \
    {"timeout", 0, "S", "seconds per record (default 10, or the template's Timeout)"},            \
    {"memory", 0, "B", "the guest's memory in bytes, whole 64 KiB pages (default 64 MiB)"},       \
    {"manifest", 0, "TEMPLATE", "a manifest for each record's channels and limits (Program may "  \
                                "be left out; if there, it must be the module)"},                 \
    {"stderr-limit", 0, "B", "bytes of each record's stderr kept with its error; 0 discards it "  \
                             "(default 4096)"},                                                   \
    {"allow-exit-codes", 0, "LIST", "non-zero exit codes that are not errors, e.g. 1,3-5 "        \
                                    "(default: none)"},                                           \
    {"snapshot", 0, "on|off|first-read", "where records start: the guest's zvm_fork() call "     \
                                         "(on, the default), _start (off), or its first read of " \
                                         "stdin (first-read)"},                                   \
    {"progress", 0, NULL, "show a progress line (default: when stderr is a terminal)"},           \
    {"no-progress", 0, NULL, "never show a progress line"},                                       \
    {"stats", 0, "text|json", "the summary's form (default text)"},                               \
    {"stats-file", 0, "FILE", "write the summary there instead of stderr"},                       \
    ZV_CLI_SERVICE_OPTS
/* What a service is watched through (the record commands and daemon mode). */
#define ZV_CLI_SERVICE_OPTS                                                                        \
    {"metrics", 0, "ADDR", "serve Prometheus metrics at http://ADDR/metrics: PORT (loopback), "    \
                           "HOST:PORT or :PORT (every interface) (default: none)"},               \
    {"log-format", 0, "text|json", "stderr's lines: text, or one JSON object per event "          \
                                   "(default text)"},                                \
    ZV_CLI_TRUST_OPT
/* An artifact's trust (run, batch, consume). */
#define ZV_CLI_TRUST_OPT                                                                           \
    {"trust-key", 0, "PUB", "run only artifacts signed by this key (zvm keygen, zvm sign) "       \
                            "(default: artifacts of this user or root)"}
typedef struct {
    zvm_pool_config cfg;
    zv_cli_list args, env, dirs;
    int json, progress;        /* progress: -1 auto (a terminal) */
    const char *stats_path;
    const char *metrics;       /* --metrics ADDR, or NULL */
    int log_given;             /* --log-format was given */
    uint8_t trust_key[32];     /* --trust-key's, when has_trust_key */
    int has_trust_key;
} zv_cli_pool_flags;
/* The option just read, if it is one of these rows: 1 (taken), 0 (not
 * one of them), -1 (a bad value, said). */
int zv_cli_pool_opt(const zv_cli_args *a, zv_cli_pool_flags *p);
/* After the options: the guest's argv[0] (the module), argv and env. */
void zv_cli_pool_flags_end(zv_cli_pool_flags *p, const char *module);
void zv_cli_pool_flags_free(zv_cli_pool_flags *p);

/* What the progress line and the summary show: the pool's counters
 * (prefork.h, zv_pf_counters, their one owner, which the metrics read
 * too), read at one moment, with the latency and the times. */
typedef struct {
    uint64_t records, errors, bytes_out;
    uint64_t by_cause[ZV_PF_CAUSES];
    unsigned workers;
    int forked;                  /* records start from a fork point (a snapshot) */
    double elapsed_s, cpu_s;
    double p50_us, p99_us, p999_us, max_us;
    int consume;                 /* has the two below */
    uint64_t redeliveries;
    int64_t lag;                 /* entries the group has not read or acked (-1: unknown) */
} zv_cli_stats;
/* The pool's counters now, and the time since start_ns (CLOCK_MONOTONIC). */
void zv_cli_stats_read(zv_pf_pool *p, uint64_t start_ns, double cpu_s, zv_cli_stats *st);
double zv_cli_cpu_s(void); /* the process's CPU time so far */
/* The progress line on stderr (a terminal; never with --log-format
 * json); done_frac in (0, 1) adds the percent and the time left. zv_cli_err
 * prints on stderr without landing inside the line (with --log-format
 * json, as an "error" event). */
void zv_cli_progress(const char *cmd, const zv_cli_stats *st, double done_frac, int final);
void zv_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The summary: text (three lines) or one JSON object; on stderr with
 * --log-format json, a "summary" event holding that object. */
void zv_cli_summary(const char *cmd, const zv_cli_stats *st, int json, FILE *f);

/* ---- events (log.c) ---- */
extern int zv_cli_log_json; /* --log-format json */
/* --log-format's value: 0, or -1 after saying why. */
int zv_cli_log_format(const zv_cli_args *a);
/* A field of an event: a string, or raw JSON (a number, an object). */
typedef struct {
    const char *key, *str, *raw;
} zv_cli_kv;
/* One line on stderr: "zvm CMD: message", or with --log-format json one
 * object with the time, the level ("info", "warning", "error"), the
 * command, the event, the message and the fields (kv: ended by a NULL
 * key; may be NULL). */
void zv_cli_event(const char *level, const char *event, const zv_cli_kv *kv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void zv_cli_err_json(const char *text);
void zv_cli_json_string(FILE *f, const char *s);
/* A module's SHA-256 in hex (what metrics and logs name it by). */
void zv_cli_module_id(const zv_eng_module *m, char hex[65]);
/* The "start" event: the module, its hash, the workers, where the metrics
 * are, then `extra` (may be NULL); `what` follows "started" in the text. */
void zv_cli_started(const char *module_path, const zv_eng_module *m, zv_pf_pool *p,
                    const zv_pf_metrics *mx, const zv_cli_kv *extra, const char *what);
/* --trust-key PUB: the key read into key (0), or -1 after saying why. */
int zv_cli_trust_key(const zv_cli_args *a, uint8_t key[32]);
/* Tell the service manager (systemd's $NOTIFY_SOCKET, if set) a state:
 * "READY=1", "STOPPING=1", with "STATUS=..." lines as it likes. */
void zv_cli_notify(const char *state);
/* --metrics ADDR checked (0, or -1 after saying why); the server for the
 * pool (none without addr): 0, or 1 after saying why. */
int zv_cli_metrics_addr(const zv_cli_args *a, const char **out);
int zv_cli_metrics_start(const char *addr, zv_pf_pool *p, zv_pf_metrics **out);

/* ---- outputs (sink.c) ----
 * A buffer of outputs written through io_uring when full or flushed. A
 * regular file is written as PATH.partial, locked while written, and
 * renamed over PATH only when the command succeeded (commit), so a killed
 * or failed run never leaves a plausible short PATH and a second run on
 * the same output is refused; devices, FIFOs, "-" (stdout) and, with
 * `in_place` (a stream's outputs, which must show as they come), files
 * are written directly. NULL path: no sink (fd -1). */
typedef struct {
    zv_io_ring *ring;
    int fd;
    int64_t off;       /* -1 for streams */
    uint8_t *buf;
    size_t len;
    int failed;
    const char *path;  /* renamed from `partial` at the end, or NULL */
    char partial[4200];
} zv_cli_sink;
int zv_cli_sink_open(zv_cli_sink *s, zv_io_ring *ring, const char *path, int in_place, char *why,
                     size_t why_len);
void zv_cli_sink_put(zv_cli_sink *s, const void *data, size_t n);
void zv_cli_sink_flush(zv_cli_sink *s);
void zv_cli_sink_close(zv_cli_sink *s, int commit);

/* Does this program run pools (batch, consume, daemon mode) itself? Not
 * the lean zvm (ZV_CLI_LEAN: main.c), which has no jemalloc for their
 * workers: it calls zv_cli_pool_exec, which execs zvm-pool, beside this
 * program, with main's arguments, and returns only on failure, with the
 * exit status (2) after printing why. */
#ifdef ZV_CLI_LEAN
#define ZV_CLI_POOLS_HERE 0
#else
#define ZV_CLI_POOLS_HERE 1
#endif
int zv_cli_pool_exec(void);
/* The commands, and the tables of their options. */
extern const zv_cli_cmd zv_cli_run_cmd, zv_cli_compile_cmd, zv_cli_validate_cmd, zv_cli_batch_cmd,
    zv_cli_consume_cmd, zv_cli_job_cmd, zv_cli_keygen_cmd, zv_cli_sign_cmd;
int zv_cli_keygen(int argc, char **argv);
int zv_cli_sign(int argc, char **argv);
int zv_cli_run(int argc, char **argv);
int zv_cli_compile(int argc, char **argv);
int zv_cli_validate(int argc, char **argv);
/* ---- the environment (env.c) ----
 * Tiering for a new module (engine.h): tcc now (when it is installed: the
 * engine falls back to gcc without it), gcc -O2 in the background (this
 * binary's `compile`), unless ZVM_CC picks a compiler or ZVM_TIER is 0.
 * A background build that failed before is said once, on stderr.
 * Nothing here looks at the disk: a warm start pays nothing for it. It
 * first checks zvm's variables (zv_cli_env_check): -EINVAL after saying
 * which is bad. */
int zv_cli_tiering(zv_eng_opts *eng, const char *cmd);
int zv_cli_env_check(const char *cmd);
void zv_cli_help_environment(FILE *f);
void zv_cli_man_environment(FILE *f); /* the same, as a man page's ENVIRONMENT */
/* A pool's summary line on the tiers, when some records ran on the
 * baseline build; and how the tiers ended, in words. */
void zv_cli_tiers_line(const zv_pf_pool *p);
const char *zv_cli_tiers_outcome(unsigned on_baseline);
int zv_cli_batch(int argc, char **argv);
int zv_cli_job(int argc, char **argv);
/* zvm job JOB.json (pipeline.c), with zvm job's options */
typedef struct {
    int json;
    unsigned workers;
    uint64_t memory_bytes;
    uint32_t timeout_s;
    const char *outdir, *cache;
} zv_cli_job_flags;
int zv_cli_pipeline(const zv_cli_job_flags *f, const char *path);
int zv_cli_consume(int argc, char **argv);

#endif
