/*
 * run.c — `zvm run` and `zvm compile`.
 *
 * `zvm run MANIFEST` is a ZeroVM session (prefork/session.c): zvm prints
 * ZeroVM's report and exits with ZeroVM's code. `zvm run PROG.wasm
 * ARGS...` is the same path with a manifest made here from the flags (the
 * standard streams passed through, no limits) and the program's exit
 * status instead of a report, like `wasmtime run`; `--invoke NAME ARG...`
 * calls one export and prints its results. A manifest with `Job = PATH`
 * makes `zvm run` a daemon (prefork/daemon.c) that serves jobs on the
 * Unix socket PATH in the foreground until SIGTERM or SIGINT: running
 * jobs finish, then it prints its own report and exits 0.
 */
#include "cli/cli.h"
#include "prefork/prefork.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct {
    const char *path;       /* the manifest or the program */
    const char *invoke;     /* --invoke NAME */
    char **args;            /* guest argv after the program, or invoke arguments */
    int n_args;
    double timeout_s;       /* 0: none */
    uint64_t memory_bytes;  /* 0: the module's own limit */
    int json;               /* --report=json */
    unsigned workers;       /* daemon mode: --workers N */
    unsigned socket_mode;   /* daemon mode: --socket-mode MODE (octal) */
    int no_snapshot;        /* daemon mode: --snapshot off */
    char *dirs[64];         /* --dir HOST[::GUEST] (wasmtime's syntax) */
    uint32_t n_dirs;
    char *env[257];         /* --env NAME=VALUE, or NAME (its value here); NULL-ended */
    uint32_t n_env;
    zv_eng_opts eng;
} run_flags;

static void usage(void)
{
    fprintf(stderr, "usage: zvm run [--report=json] [--cache DIR] MANIFEST\n"
                    "       zvm run [--report=json] [--workers N] [--socket-mode MODE] "
                    "[--snapshot on|off] MANIFEST-WITH-JOB\n"
                    "       zvm run [--timeout S] [--memory BYTES] [--cache DIR] "
                    "[--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... PROG.wasm [ARGS...]\n"
                    "       zvm run [options] --invoke NAME [ARG...] PROG.wasm\n");
}

static int parse_options(int argc, char **argv, run_flags *f)
{
    int i = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!strcmp(o, "--no-interrupt-checks")) {
            f->eng.no_interrupt_checks = 1;
            continue;
        }
        if (!strcmp(o, "--report=json")) {
            f->json = 1;
            continue;
        }
        if (!val)
            return -1;
        i++;
        if (!strcmp(o, "--timeout")) {
            f->timeout_s = strtod(val, &end);
            if (*end || !(f->timeout_s > 0))
                return -1;
        } else if (!strcmp(o, "--memory")) {
            f->memory_bytes = strtoull(val, &end, 0);
            if (*end || f->memory_bytes < 65536)
                return -1;
        } else if (!strcmp(o, "--workers")) {
            unsigned long n = strtoul(val, &end, 10);
            if (*end || n < 1 || n > 64)
                return -1;
            f->workers = (unsigned)n;
        } else if (!strcmp(o, "--socket-mode")) {
            unsigned long n = strtoul(val, &end, 8);
            if (*end || !*val || n > 0777 || !(n & 0600))
                return -1;
            f->socket_mode = (unsigned)n;
        } else if (!strcmp(o, "--snapshot")) {
            if (strcmp(val, "on") && strcmp(val, "off"))
                return -1;
            f->no_snapshot = !strcmp(val, "off");
        } else if (!strcmp(o, "--cache")) {
            f->eng.cache_dir = val;
        } else if (!strcmp(o, "--dir")) {
            if (f->n_dirs == 64 || !*val)
                return -1;
            f->dirs[f->n_dirs++] = (char *)val;
        } else if (!strcmp(o, "--env")) {
            const char *eq = strchr(val, '='), *host = eq ? NULL : getenv(val);
            char *kv;
            if (f->n_env == 256 || !*val || eq == val)
                return -1;
            if (!eq && !host)
                continue; /* NAME unset here: not passed, as wasmtime */
            if (!(kv = eq ? strdup(val) : malloc(strlen(val) + strlen(host) + 2)))
                return -1;
            if (!eq)
                sprintf(kv, "%s=%s", val, host);
            f->env[f->n_env++] = kv;
        } else if (!strcmp(o, "--invoke")) {
            f->invoke = val;
        } else {
            return -1;
        }
    }
    if (i >= argc)
        return -1;
    if (f->invoke) { /* --invoke NAME ARG... PROG.wasm: the program comes last */
        f->path = argv[argc - 1];
        f->args = argv + i;
        f->n_args = argc - 1 - i;
    } else {
        f->path = argv[i];
        f->args = argv + i + 1;
        f->n_args = argc - i - 1;
    }
    return 0;
}

/* A manifest made on the fly for `zvm run PROG.wasm ARGS...`. */
static void program_manifest(const run_flags *f, zv_cfg_manifest *m, zv_cfg_channel ch[3],
                             char **argv)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 3; i++) {
        memset(&ch[i], 0, sizeof ch[i]);
        ch[i].uri = ch[i].alias = (char *)zv_cfg_std_alias[i];
        for (int k = 0; k < 4; k++)
            ch[i].limits[k] = (i == 0) == (k < 2) ? INT64_MAX : 0;
    }
    argv[0] = (char *)f->path;
    for (int i = 0; !f->invoke && i < f->n_args; i++)
        argv[i + 1] = f->args[i];
    argv[f->invoke ? 1 : f->n_args + 1] = NULL;
    m->program = (char *)f->path;
    m->memory_bytes = f->memory_bytes ? f->memory_bytes : 65536ull * 65536;
    m->channels = ch;
    m->n_channels = 3;
    m->args = argv;
    m->n_args = f->invoke ? 1 : (uint32_t)f->n_args + 1;
    m->env = (char **)f->env; /* NULL-terminated: f->env has room after n_env */
    m->n_env = f->n_env;
    m->dirs = f->dirs;
    m->n_dirs = f->n_dirs;
    m->wasi_only = 1; /* as wasmtime: fd 3 on are the --dir preopens */
    m->time_s = 1370908800; /* 2013-06-11, ZeroVM's manifest version */
    m->dir = ".";
}

/* `zvm run PROG.wasm`: the program's status, or 128 + a trap's code. */
static int run_program(run_flags *f)
{
    zv_cfg_manifest m;
    zv_cfg_channel ch[3];
    zv_pf_session_opts o;
    zvm_report rep;
    char **gargv = calloc((size_t)f->n_args + 2, sizeof *gargv);
    int code;
    if (!gargv)
        return 2;
    memset(&o, 0, sizeof o);
    o.eng = f->eng;
    o.invoke = f->invoke;
    o.invoke_args = f->args;
    o.n_invoke_args = f->invoke ? (uint32_t)f->n_args : 0;
    program_manifest(f, &m, ch, gargv);
    o.timeout_ns = (uint64_t)(f->timeout_s * 1e9); /* fractions allowed: 0 none */
    if (zv_pf_session_run(&m, &o, &rep)) {
        fprintf(stderr, "%s: out of memory\n", f->path);
        free(gargv);
        return 2;
    }
    fflush(stdout);
    code = rep.exit_code;
    if (code == 4) { /* a trap: 128 + its code, the cause on stderr */
        int trap = o.trap;
        if (f->invoke)
            printf("trap: %s\n", zv_eng_trap_name(trap));
        fprintf(stderr, "%s: trap: %s\n", f->path, zv_eng_trap_name(trap));
        code = 128 + trap;
    } else if (code == 0) {
        for (uint32_t i = 0; f->invoke && i < o.n_results; i++) {
            char v[80];
            zv_eng_value_format(o.result_types[i], &o.results[i], v, sizeof v);
            printf("%s\n", v);
        }
        code = rep.user_code & 0xff;
    } else {
        fprintf(stderr, "%s: %s\n", f->path, rep.status);
        code = o.usage_error ? 2 : code == ZV_CFG_EXIT_INVALID ? 1 : code;
    }
    zvm_report_free(&rep);
    free(gargv);
    return code;
}

/* How a pool's tiers ended, for its summary: `on_baseline` workers were
 * still on the baseline build. */
static const char *tiers_outcome(unsigned on_baseline)
{
    return on_baseline ? "the optimised one was not ready by the end"
                       : "then on the optimised one (gcc -O2)";
}

static volatile sig_atomic_t stop_serving;

static void on_stop(int sig)
{
    (void)sig;
    stop_serving = 1;
}

static void daemon_ready(void *arg, const char *path, const zv_pf_daemon_stats *st)
{
    (void)arg;
    fprintf(stderr, "zvm: serving jobs on %s with %u workers, each job from %s "
                    "(SIGTERM: finish running jobs and exit)\n",
            path, st->workers, st->forked ? "the fork point" : "_start");
}

/* `zvm run MANIFEST` with Job: serve until SIGTERM/SIGINT; then the
 * daemon's own report. */
static int run_daemon(run_flags *f, const zv_cfg_manifest *m)
{
    zv_pf_daemon_opts o;
    zv_pf_daemon_stats st;
    zvm_report rep;
    struct sigaction sa;
    char err[512] = "";
    int code;
    memset(&o, 0, sizeof o);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: the daemon's wait wakes up */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a job's reader that hangs up is the job's problem */
    o.eng = f->eng;
    o.manifest_path = f->path;
    o.workers = f->workers;
    o.snapshots = !f->no_snapshot;
    o.json = f->json;
    o.socket_mode = f->socket_mode;
    o.stop = (volatile const int *)&stop_serving;
    o.ready = daemon_ready;
    code = zv_pf_daemon_run(m, &o, &st, err, sizeof err);
    memset(&rep, 0, sizeof rep);
    rep.daemon = 1;
    rep.exit_code = code;
    if (code) {
        fprintf(stderr, "%s: %s\n", f->path, err);
        snprintf(rep.status, sizeof rep.status, "%s", err);
    } else {
        int n = snprintf(rep.status, sizeof rep.status, "ok; %llu jobs served, %llu of them failed",
                         (unsigned long long)st.jobs, (unsigned long long)st.failed);
        if (st.baseline_jobs)
            snprintf(rep.status + n, sizeof rep.status - (size_t)n,
                     "; %llu on the baseline build (tcc), %s", (unsigned long long)st.baseline_jobs,
                     tiers_outcome(st.baseline_workers));
    }
    zvm_report_write(&rep, f->json, stdout);
    fflush(stdout);
    return code;
}

/* `zvm run MANIFEST`: the report on stdout, ZeroVM's exit code. */
static int run_manifest(run_flags *f)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err cerr = {0};
    zv_pf_session_opts o;
    zvm_report rep;
    int code;
    if (zv_cfg_load(f->path, &m, &cerr)) {
        if (cerr.line)
            fprintf(stderr, "%s:%d: %s\n", f->path, cerr.line, cerr.msg);
        else
            fprintf(stderr, "%s: %s\n", f->path, cerr.msg);
        return cerr.exit_code ? cerr.exit_code : ZV_CFG_EXIT_MANIFEST;
    }
    if (m->job) { /* daemon mode is a pool */
        code = ZV_CLI_POOLS_HERE ? run_daemon(f, m) : zv_cli_pool_exec();
        zv_cfg_free(m);
        return code;
    }
    memset(&o, 0, sizeof o);
    o.eng = f->eng;
    if (zv_pf_session_run(m, &o, &rep)) {
        fprintf(stderr, "%s: out of memory\n", f->path);
        zv_cfg_free(m);
        return 2;
    }
    fflush(stdout);
    if (rep.exit_code && rep.exit_code != 4)
        fprintf(stderr, "%s: %s\n", f->path, rep.status);
    zvm_report_write(&rep, f->json, stdout);
    fflush(stdout);
    code = rep.exit_code;
    zvm_report_free(&rep);
    zv_cfg_free(m);
    return code;
}

static void tier_failed(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%s\n", msg);
}

void zv_cli_tiering(zv_eng_opts *eng)
{
    const char *cc = getenv("ZVM_CC"), *tier = getenv("ZVM_TIER");
    if ((cc && *cc) || (tier && !strcmp(tier, "0")))
        return;
    eng->baseline_cc = "tcc";
    eng->tier_up = "/proc/self/exe"; /* resolved only when a build starts */
    eng->tier_failed = tier_failed;  /* said once, by the first run to find it */
}

void zv_cli_tiers_line(const zv_pf_pool *p)
{
    unsigned on_baseline;
    uint64_t baseline_records;
    zv_pf_pool_tiers(p, &on_baseline, &baseline_records);
    if (baseline_records)
        fprintf(stderr, "  tiers: %llu records on the baseline build (tcc), %s\n",
                (unsigned long long)baseline_records, tiers_outcome(on_baseline));
}

int zv_cli_run(int argc, char **argv)
{
    run_flags f;
    uint8_t magic[4];
    size_t got;
    int is_manifest, rc;
    memset(&f, 0, sizeof f);
    zv_cli_tiering(&f.eng);
    if (parse_options(argc, argv, &f)) {
        usage();
        return 2;
    }
    if (zv_cli_peek(f.path, magic, sizeof magic, &got))
        return 2;
    is_manifest = got < 4 || memcmp(magic, "\0asm", 4);
    if (is_manifest && (f.n_dirs || f.n_env)) {
        fprintf(stderr, "zvm run: --dir and --env are for PROG.wasm; a manifest has its channels "
                        "and Env\n");
        rc = 2;
    } else {
        rc = is_manifest ? run_manifest(&f) : run_program(&f);
    }
    for (uint32_t i = 0; i < f.n_env; i++)
        free(f.env[i]);
    return rc;
}

/* zvm compile's view of a build: a progress line on a terminal, and with
 * --stats the figures at the end. */
typedef struct {
    const char *file;
    int tty, built;
    zv_eng_build last;
} compile_ui;

static void compile_progress(void *arg, const zv_eng_build *b)
{
    compile_ui *ui = arg;
    ui->last = *b;
    ui->built = 1;
    if (ui->tty)
        fprintf(stderr, "\r\033[K%s: %u of %u units compiled (%.1f s)", ui->file, b->compiled,
                b->units, b->translate_s + b->compile_s);
}

static void compile_stats(const compile_ui *ui)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("%s: %u unit%s, %.1f MB of C, translated in %.2f s, compiled in %.2f s, largest "
           "compiler process %.0f MB\n", ui->file, ui->last.units, ui->last.units == 1 ? "" : "s",
           (double)ui->last.c_bytes / 1e6, ui->last.translate_s, ui->last.compile_s,
           (double)ru.ru_maxrss / 1024);
}

int zv_cli_compile(int argc, char **argv)
{
    zv_eng_opts opts = {0};
    compile_ui ui = {NULL, isatty(2), 0, {0}};
    int status = 0, n = 0, stats = 0;
    opts.policy = &zv_val_default_policy;
    opts.progress = compile_progress;
    opts.progress_arg = &ui;
    for (int i = 0; i < argc; i++) {
        zv_cli_file f;
        zv_eng_err err = {0};
        char path[4200];
        int cached = 0, rc;
        if (!strcmp(argv[i], "--cache") && i + 1 < argc) {
            opts.cache_dir = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--stats")) {
            stats = 1;
            continue;
        }
        n++;
        if ((rc = zv_cli_read(argv[i], &f))) {
            status = rc > status ? rc : status;
            continue;
        }
        ui.file = argv[i];
        ui.built = 0;
        rc = zv_eng_compile(f.data, f.size, &opts, &cached, path, sizeof path, &err);
        zv_cli_release(&f);
        if (ui.tty && ui.built)
            fprintf(stderr, "\r\033[K");
        if (rc) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            status = status > 1 ? status : 1;
            continue;
        }
        printf("%s: %s %s\n", argv[i], cached ? "cached" : "compiled", path);
        if (stats && ui.built)
            compile_stats(&ui);
    }
    if (!n) {
        fprintf(stderr, "usage: zvm compile [--cache DIR] [--stats] FILE.wasm...\n");
        return 2;
    }
    return status;
}
