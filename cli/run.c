/*
 * run.c — `zvm run` and `zvm compile`.
 *
 * `zvm run MANIFEST` is a ZeroVM session (prefork/session.c): zvm prints
 * ZeroVM's report and exits with ZeroVM's code. `zvm run PROG.wasm
 * ARGS...` is the same path with a manifest made here from the flags (the
 * standard streams passed through, no limits) and the program's exit
 * status instead of a report, like `wasmtime run`; `--invoke NAME
 * PROG.wasm ARG...` calls one export and prints its results. A manifest with `Job = PATH`
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
    int json;               /* --report json */
    unsigned workers;       /* daemon mode: --workers N */
    unsigned socket_mode;   /* daemon mode: --socket-mode MODE (octal) */
    int snapshot;           /* daemon mode: --snapshot (ZVM_SNAPSHOT_*) */
    zv_cli_list dirs;       /* --dir HOST[::GUEST[:ro]] (wasmtime's syntax) */
    zv_cli_list env;        /* --env NAME=VALUE, or NAME (its value here) */
    const char *metrics;    /* daemon mode: --metrics ADDR */
    uint8_t trust_key[32];  /* --trust-key's (eng.trust_key points here) */
    zv_eng_opts eng;
} run_flags;

static const zv_cli_opt run_opts[] = {
    {"report", 0, "text|json", "MANIFEST: the report's form on stdout (default text)"},
    {"cache", 0, "DIR", "the code cache (default $ZVM_CACHE, else ~/.cache/zvm)"},
    {"timeout", 0, "S", "PROG.wasm: seconds before it is stopped (default: none)"},
    {"memory", 0, "B", "PROG.wasm: the memory limit in bytes, whole 64 KiB pages (default 4 GiB)"},
    {"dir", 0, "HOST[::GUEST[:ro]]", "PROG.wasm: preopen the host folder HOST as GUEST (default "
                                     "the same name; :ro read-only); repeatable"},
    {"env", 0, "NAME[=VALUE]", "PROG.wasm: set a variable in its environment (NAME alone: its "
                               "value here); repeatable"},
    {"invoke", 0, "NAME", "PROG.wasm: call the export NAME with the arguments after the program "
                          "and print its results"},
    {"workers", 0, "N", "daemon mode (Job =): worker threads (default: the cores)"},
    {"socket-mode", 0, "MODE", "daemon mode: the socket's mode in octal (default 0600)"},
    {"snapshot", 0, "on|off|first-read", "daemon mode: where jobs start: the guest's zvm_fork() "
                                         "call (on, the default), _start (off), or its first "
                                         "read of stdin (first-read)"},
    {"no-interrupt-checks", 0, NULL, "compile without interruption polls (for measuring them; "
                                     "the function entry's stack check is the poll now, so "
                                     "the code is the same)"},
    {"metrics", 0, "ADDR", "daemon mode: serve Prometheus metrics at http://ADDR/metrics: PORT "
                           "(loopback), HOST:PORT or :PORT (every interface) (default: none)"},
    {"log-format", 0, "text|json", "daemon mode: stderr's lines as text, or one JSON object per "
                                   "event (default text)"},
    ZV_CLI_TRUST_OPT,
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_run_cmd = {
    "run",
    "[OPTIONS] MANIFEST\n[OPTIONS] PROG.wasm [ARGS...]\n[OPTIONS] --invoke NAME PROG.wasm [ARGS...]",
    "Run a ZeroVM session from a manifest and print its report, or a wasm32-wasi program with\n"
    "the standard streams passed through, or one exported function. A manifest with Job = PATH\n"
    "serves jobs on that socket (daemon mode). Options end at the manifest or program: what\n"
    "follows is the program's argv.",
    run_opts,
    1,
    "More: man zvm-run.",
    NULL,
};

/* Options, then the manifest or program; the rest is the program's. */
static int parse_options(int argc, char **argv, run_flags *f)
{
    static const char *const forms[] = {"text", "json", NULL}, *const snaps[] = {"on", "off", "first-read", NULL};
    zv_cli_args a;
    uint64_t v;
    int rc;
    zv_cli_args_init(&a, &zv_cli_run_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        if (zv_cli_is(&a, "report"))
            rc = zv_cli_choice(&a, forms, &f->json);
        else if (zv_cli_is(&a, "cache"))
            f->eng.cache_dir = a.val;
        else if (zv_cli_is(&a, "timeout"))
            rc = zv_cli_seconds(&a, &f->timeout_s);
        else if (zv_cli_is(&a, "memory"))
            rc = zv_cli_memory(&a, &f->memory_bytes);
        else if (zv_cli_is(&a, "workers"))
            rc = zv_cli_unsigned(&a, 1, 64, &f->workers);
        else if (zv_cli_is(&a, "snapshot"))
            rc = zv_cli_choice(&a, snaps, &f->snapshot);
        else if (zv_cli_is(&a, "invoke"))
            f->invoke = a.val;
        else if (zv_cli_is(&a, "no-interrupt-checks"))
            f->eng.no_interrupt_checks = 1;
        else if (zv_cli_is(&a, "metrics"))
            rc = zv_cli_metrics_addr(&a, &f->metrics);
        else if (zv_cli_is(&a, "log-format"))
            rc = zv_cli_log_format(&a);
        else if (zv_cli_is(&a, "trust-key") && !(rc = zv_cli_trust_key(&a, f->trust_key)))
            f->eng.trust_key = f->trust_key;
        else if (zv_cli_is(&a, "env"))
            rc = zv_cli_env_add(&a, &f->env);
        else if (zv_cli_is(&a, "dir"))
            rc = !*a.val ? zv_cli_fail(&a, "--dir: an empty folder name")
                 : zv_cli_list_add(&f->dirs, a.val) ? zv_cli_fail(&a, "out of memory") : 0;
        else if (zv_cli_is(&a, "socket-mode")) {
            char *end;
            v = strtoul(a.val, &end, 8);
            if (*end || !*a.val || v > 0777 || !(v & 0600))
                rc = zv_cli_fail(&a, "--socket-mode %s: octal, 0600 at least, 0777 at most", a.val);
            f->socket_mode = (unsigned)v;
        }
        if (rc < 0)
            return -1;
    }
    if (rc)
        return rc;
    if (a.i >= argc)
        return zv_cli_fail(&a, "a MANIFEST or PROG.wasm is required (see zvm run --help)");
    f->path = argv[a.i];
    f->args = argv + a.i + 1;
    f->n_args = argc - a.i - 1;
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
    m->env = f->env.v;
    m->n_env = (uint32_t)f->env.n;
    m->dirs = f->dirs.v;
    m->n_dirs = (uint32_t)f->dirs.n;
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
        zv_cli_file_err("run", f->path, "out of memory");
        free(gargv);
        return 2;
    }
    fflush(stdout);
    code = rep.exit_code;
    if (code == 4) { /* a trap: 128 + its code, the cause on stderr */
        int trap = o.trap;
        if (f->invoke)
            printf("trap: %s\n", zv_eng_trap_name(trap));
        fprintf(stderr, "zvm run: %s: trap: %s\n", f->path, zv_eng_trap_name(trap));
        code = 128 + trap;
    } else if (code == 0) {
        for (uint32_t i = 0; f->invoke && i < o.n_results; i++) {
            char v[80];
            zv_eng_value_format(o.result_types[i], &o.results[i], v, sizeof v);
            printf("%s\n", v);
        }
        code = rep.user_code & 0xff;
    } else {
        zv_cli_file_err("run", f->path, rep.status);
        code = o.usage_error ? 2 : code == ZV_CFG_EXIT_INVALID ? 1 : code;
    }
    zvm_report_free(&rep);
    free(gargv);
    return code;
}

static volatile sig_atomic_t stop_serving, reloads_asked;

static void on_stop(int sig)
{
    (void)sig;
    stop_serving = 1;
}

static void on_reload(int sig)
{
    (void)sig;
    reloads_asked++;
}

static void daemon_reloaded(void *arg, const char *sha256, const char *why)
{
    const char *program = arg;
    if (sha256)
        zv_cli_event("info", "reload", (zv_cli_kv[]){{"module", program, NULL},
                                                     {"sha256", sha256, NULL}, {NULL, NULL, NULL}},
                     "reloaded %s (sha256 %.12s): new jobs run it", program, sha256);
    else
        zv_cli_event("warning", "reload_failed", (zv_cli_kv[]){{"module", program, NULL},
                                                               {NULL, NULL, NULL}},
                     "reload refused, the program before serves on: %s", why);
}

static void daemon_ready(void *arg, const char *path, const zv_pf_daemon_stats *st)
{
    char workers[16], url[400] = "";
    (void)arg;
    snprintf(workers, sizeof workers, "%u", st->workers);
    if (st->metrics[0])
        snprintf(url, sizeof url, "http://%s/metrics", st->metrics);
    zv_cli_event("info", "start",
                 (zv_cli_kv[]){{"socket", path, NULL}, {"sha256", st->sha256, NULL},
                               {"workers", NULL, workers}, {url[0] ? "metrics" : NULL, url, NULL},
                               {NULL, NULL, NULL}},
                 "serving jobs on %s with %u workers, each job from %s (SIGTERM: finish running "
                 "jobs and exit)%s%s", path, st->workers, st->forked ? "the fork point" : "_start",
                 url[0] ? "; metrics at " : "", url);
    zv_cli_notify("READY=1\nSTATUS=serving jobs");
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
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a job's reader that hangs up is the job's problem */
    o.eng = f->eng;
    o.eng.fork_point = f->snapshot == ZVM_SNAPSHOT_FIRST_READ;
    o.manifest_path = f->path;
    o.workers = f->workers;
    o.snapshot = f->snapshot;
    o.json = f->json;
    o.socket_mode = f->socket_mode;
    o.stop = (volatile const int *)&stop_serving;
    o.ready = daemon_ready;
    o.metrics = f->metrics;
    o.reload = (volatile const int *)&reloads_asked;
    o.reloaded = daemon_reloaded;
    o.arg = (void *)m->program;
    code = zv_pf_daemon_run(m, &o, &st, err, sizeof err);
    zv_cli_notify("STOPPING=1");
    memset(&rep, 0, sizeof rep);
    rep.daemon = 1;
    rep.exit_code = code;
    if (code) {
        zv_cli_file_err("run", f->path, err);
        snprintf(rep.status, sizeof rep.status, "%s", err);
    } else {
        int n = snprintf(rep.status, sizeof rep.status, "ok; %llu jobs served, %llu of them failed",
                         (unsigned long long)st.jobs, (unsigned long long)st.failed);
        if (st.baseline_jobs)
            snprintf(rep.status + n, sizeof rep.status - (size_t)n,
                     "; %llu on the baseline build (tcc), %s", (unsigned long long)st.baseline_jobs,
                     zv_cli_tiers_outcome(st.baseline_workers));
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
            fprintf(stderr, "zvm run: %s:%d: %s\n", f->path, cerr.line, cerr.msg);
        else
            zv_cli_file_err("run", f->path, cerr.msg);
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
        zv_cli_file_err("run", f->path, "out of memory");
        zv_cfg_free(m);
        return 2;
    }
    fflush(stdout);
    if (rep.exit_code && rep.exit_code != 4)
        zv_cli_file_err("run", f->path, rep.status);
    zvm_report_write(&rep, f->json, stdout);
    fflush(stdout);
    code = rep.exit_code;
    zvm_report_free(&rep);
    zv_cfg_free(m);
    return code;
}

/* What the file is: 1 a module, 0 a manifest; else it says why (-1). A
 * manifest's first line that is not blank or a comment is Key = Value. */
static int sniff(const char *path)
{
    char head[4096];
    size_t got, i = 0;
    if (zv_cli_peek(path, (uint8_t *)head, sizeof head - 1, &got))
        return -2;
    if ((got >= 4 && !memcmp(head, "\0asm", 4)) || zv_eng_artifact_is(head, got))
        return 1;
    head[got] = 0;
    while (i < got) {
        size_t end = strcspn(head + i, "\n"), k = i;
        while (k < i + end && (head[k] == ' ' || head[k] == '\t' || head[k] == '\r'))
            k++;
        if (k < i + end && head[k] != '#') {
            size_t key = strspn(head + k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
            k += key;
            while (head[k] == ' ' || head[k] == '\t')
                k++;
            if (key && head[k] == '=')
                return 0;
            break;
        }
        i += end + 1;
    }
    fprintf(stderr, "zvm run: %s: not a WebAssembly module (no \\0asm header), not an "
                    "artifact and not a manifest\n", path);
    return -1;
}

int zv_cli_run(int argc, char **argv)
{
    run_flags f;
    int kind, rc;
    memset(&f, 0, sizeof f);
    if ((rc = parse_options(argc, argv, &f))) {
        rc = rc == ZV_CLI_HELP ? 0 : 2;
    } else if (zv_cli_tiering(&f.eng, "run")) {
        rc = 2;
    } else if ((kind = sniff(f.path)) < 0) {
        rc = kind == -2 ? 2 : 1;
    } else if (!kind && (f.dirs.n || f.env.n || f.invoke || f.n_args)) {
        fprintf(stderr, "zvm run: %s: a manifest takes no --dir, --env, --invoke or arguments "
                        "(its channels, Args and Env say them)\n", f.path);
        rc = 2;
    } else {
        rc = kind ? run_program(&f) : run_manifest(&f);
    }
    zv_cli_list_free(&f.env);
    zv_cli_list_free(&f.dirs);
    return rc;
}
