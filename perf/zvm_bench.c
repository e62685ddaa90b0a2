/*
 * zvm_bench.c — `zvm-bench`, a load generator in the spirit of
 * redis-benchmark: runs a module as fresh instances, one per record,
 * through the same pool as `zvm batch` (prefork/: the same workers,
 * batches, feed, watchdog and limits), and reports instances per second
 * and the latency distribution of one instance.
 *
 *   zvm-bench -m|--module M.wasm [-i|--input RECORD_FILE] [-n|--count N]
 *             [-c|--workers N] [--duration S] [--json] [--api]
 *             [--reset auto|memset|madvise] [--snapshot on|off|first-read]
 *
 * Records are the lines of RECORD_FILE (default: one 100-byte line), used
 * round-robin. Only the records' bytes live here; everything else is the
 * appliance's path. --api drives the pool through the embedding API
 * instead (include/zvm/zvm.h: submit and next on this one thread), as an
 * embedder would.
 */
#include "cli/cli.h"
#include "prefork/prefork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *module_path, *input_path;
    uint64_t count; /* instances in all; 0 with --duration */
    double duration_s;
    int json, api;
    zv_cli_pool_flags p;
    char **records;
    size_t *record_len;
    size_t n_records;
    uint64_t done, traps;
} bench;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO: no syscall */
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int load_records(bench *b)
{
    static char one[101];
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (!b->input_path) {
        memset(one, 'x', 99);
        one[99] = '\n';
        b->records = calloc(1, sizeof *b->records);
        b->record_len = calloc(1, sizeof *b->record_len);
        if (!b->records || !b->record_len)
            return -ENOMEM;
        b->records[0] = one;
        b->record_len[0] = 100;
        b->n_records = 1;
        return 0;
    }
    if (!(f = fopen(b->input_path, "r")))
        return -errno;
    while ((n = getline(&line, &cap, f)) > 0) {
        char **r = realloc(b->records, (b->n_records + 1) * sizeof *b->records);
        size_t *l = r ? realloc(b->record_len, (b->n_records + 1) * sizeof *l) : NULL;
        if (r)
            b->records = r;
        if (!r || !l) {
            free(line);
            fclose(f);
            return -ENOMEM;
        }
        b->record_len = l;
        b->records[b->n_records] = line;
        b->record_len[b->n_records++] = (size_t)n;
        line = NULL;
        cap = 0;
    }
    free(line);
    fclose(f);
    return b->n_records ? 0 : -ENODATA;
}

static void progress(bench *b, uint64_t start, int final)
{
    uint64_t t = now_ns() - start;
    fprintf(stderr, "\r%llu instances, %.0f/s, %llu traps%s", (unsigned long long)b->done,
            t ? (double)b->done * 1e9 / (double)t : 0.0, (unsigned long long)b->traps,
            final ? "\n" : "   ");
}

static void report(bench *b, const zvm_pool_stats *st, uint64_t elapsed_ns, double cpu_s)
{
    double rate = elapsed_ns ? (double)b->done * 1e9 / (double)elapsed_ns : 0;
    double cpu_us = b->done ? cpu_s * 1e6 / (double)b->done : 0;
    if (b->json) {
        printf("{\"module\": \"%s\", \"workers\": %u, \"instances\": %llu, \"traps\": %llu, "
               "\"seconds\": %.3f, \"instances_per_second\": %.0f, \"cpu_us_per_instance\": %.2f, "
               "\"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, "
               "\"max\": %.2f, \"mean\": %.2f}}\n",
               b->module_path, st->workers, (unsigned long long)b->done,
               (unsigned long long)b->traps, elapsed_ns / 1e9, rate, cpu_us, st->p50_us,
               st->p90_us, st->p99_us, st->p999_us, st->max_us, st->mean_us);
        return;
    }
    printf("====== %s ======\n", b->module_path);
    printf("  %llu instances in %.3f s on %u workers, %llu traps\n", (unsigned long long)b->done,
           elapsed_ns / 1e9, st->workers, (unsigned long long)b->traps);
    printf("  %.0f instances per second, %.2f us CPU per instance\n", rate, cpu_us);
    printf("  latency (us): p50 %.2f  p90 %.2f  p99 %.2f  p999 %.2f  max %.2f\n", st->p50_us,
           st->p90_us, st->p99_us, st->p999_us, st->max_us);
}

static const zv_cli_opt bench_opts[] = {
    {"module", 'm', "M.wasm", "the module each instance runs (required)"},
    {"input", 'i', "RECORD_FILE", "records, one per line, used round-robin (default: one 100-byte "
                                  "record)"},
    {"count", 'n', "N", "instances to run (default 100000)"},
    {"duration", 0, "S", "run for this long instead of --count"},
    {"workers", 'c', "N", "worker threads (default: the cores)"},
    ZV_CLI_GUEST_OPTS,
    {"json", 0, NULL, "print the report as one JSON object"},
    {"api", 0, NULL, "drive the pool through the embedding API (zvm.h) on one thread"},
    {"reset", 0, "auto|memset|madvise", "how memory is cleared between instances (default auto)"},
    {"snapshot", 0, "on|off|first-read", "where instances start: the guest's zvm_fork() call "
                                         "(on, the default), _start (off), or its first read of "
                                         "stdin (first-read)"},
    {NULL, 0, NULL, NULL},
};

static const zv_cli_cmd bench_cmd = {
    "bench",
    "--module M.wasm [OPTIONS]",
    "Run a module as fresh instances, one per record, through the same pool as zvm batch, and\n"
    "report instances per second, CPU per instance and the latency distribution.",
    bench_opts,
    0,
    NULL,
    "zvm-bench",
};

static int parse(int argc, char **argv, bench *b)
{
    static const char *const resets[] = {"auto", "memset", "madvise", NULL},
                             *const snaps[] = {"on", "off", "first-read", NULL};
    zv_cli_args a;
    int rc;
    zv_cli_args_init(&a, &bench_cmd, argc - 1, argv + 1);
    while ((rc = zv_cli_next(&a)) == 1) {
        if (zv_cli_is(&a, "module"))
            b->module_path = a.val;
        else if (zv_cli_is(&a, "input"))
            b->input_path = a.val;
        else if (zv_cli_is(&a, "json"))
            b->json = 1;
        else if (zv_cli_is(&a, "api"))
            b->api = 1;
        else if (zv_cli_is(&a, "count"))
            rc = zv_cli_uint(&a, 1, UINT64_MAX / 2, &b->count);
        else if (zv_cli_is(&a, "duration"))
            rc = zv_cli_seconds(&a, &b->duration_s);
        else if (zv_cli_is(&a, "workers"))
            rc = zv_cli_unsigned(&a, 1, 64, &b->p.cfg.workers);
        else if (zv_cli_is(&a, "reset"))
            rc = zv_cli_choice(&a, resets, &b->p.cfg.reset);
        else if (zv_cli_is(&a, "snapshot"))
            rc = zv_cli_choice(&a, snaps, &b->p.cfg.snapshot);
        else if (zv_cli_is(&a, "arg") || zv_cli_is(&a, "env") || zv_cli_is(&a, "dir"))
            rc = zv_cli_pool_opt(&a, &b->p);
        if (rc < 0)
            return -1;
    }
    if (rc)
        return rc;
    if (a.n_operands)
        return zv_cli_fail(&a, "unexpected operand '%s' (see zvm-bench --help)",
                           argv[1]);
    if (!b->module_path)
        return zv_cli_fail(&a, "--module is required (see zvm-bench --help)");
    zv_cli_pool_flags_end(&b->p, b->module_path);
    return 0;
}

/* ---- pull mode: the pool feeds itself ------------------------------------------ */

typedef struct {
    bench *b;
    uint64_t i, deadline;
} feeder;

static int source(void *arg, const uint8_t **rec, size_t *len)
{
    feeder *f = arg;
    size_t k;
    if (f->b->count ? f->i >= f->b->count : (f->i & 255) == 0 && now_ns() >= f->deadline)
        return 0;
    k = (size_t)(f->i++ % f->b->n_records);
    *rec = (const uint8_t *)f->b->records[k];
    *len = f->b->record_len[k];
    return 1;
}

static void sink(void *arg, const zvm_result *r)
{
    bench *b = ((feeder *)arg)->b;
    b->done++;
    b->traps += r->status != ZVM_OK;
}

static uint64_t start_ns;

static void tick(void *arg) { progress(((feeder *)arg)->b, start_ns, 0); }

/* ---- the embedding API: submit and next on this thread ------------------------ */

/* Take every ready result (waiting for the first when `wait`). */
static int drain(bench *b, zvm_pool *p, int wait)
{
    zvm_result r;
    int rc;
    while ((rc = zvm_pool_next(p, &r, wait ? -1 : 0)) == 1) {
        b->done++;
        b->traps += r.status != ZVM_OK;
        wait = 0;
    }
    return rc;
}

static int run_api(bench *b, zvm_pool *pool, uint64_t deadline, int tty)
{
    uint64_t i = 0, last_progress = now_ns();
    int rc = 0;
    while (b->count ? i < b->count : now_ns() < deadline) {
        size_t k = (size_t)(i % b->n_records);
        if ((rc = zvm_pool_submit(pool, b->records[k], b->record_len[k], i)) == -EAGAIN) {
            drain(b, pool, 1);
            continue;
        }
        if (rc) {
            fprintf(stderr, "zvm-bench: submit: %s\n", strerror(-rc));
            return rc;
        }
        i++;
        if ((i & 255) == 0) {
            drain(b, pool, 0);
            if (tty && !b->json && now_ns() - last_progress > 200000000ull) {
                progress(b, start_ns, 0);
                last_progress = now_ns();
            }
        }
    }
    zvm_pool_close(pool);
    while (drain(b, pool, 1) != -ENODATA)
        ;
    return 0;
}

int main(int argc, char **argv)
{
    static bench b;
    zvm_module *mod = NULL;
    zvm_pool *pool = NULL;
    zv_pf_pool *pf = NULL;
    zv_eng_module *emod = NULL;
    zv_eng_opts opts = {0};
    zv_eng_err eerr = {0};
    zvm_pool_stats st;
    uint64_t deadline;
    struct timespec c0, c1;
    char err[1024];
    int rc, tty = isatty(2);

    if (argc == 3 && !strcmp(argv[1], "--man")) { /* a man page's part, for the build */
        zv_cli_man(&bench_cmd, argv[2], stdout);
        return 0;
    }
    if ((rc = parse(argc, argv, &b)))
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (zv_cli_env_check("bench"))
        return 2;
    if (!b.count && !(b.duration_s > 0))
        b.count = 100000;
    if ((rc = load_records(&b))) {
        fprintf(stderr, "zvm-bench: %s: %s\n", b.input_path, strerror(-rc));
        return 2;
    }
    opts.policy = &zv_val_default_policy;
    opts.fork_point = b.p.cfg.snapshot == ZVM_SNAPSHOT_FIRST_READ; /* (the API's pool reloads) */
    rc = b.api ? zvm_module_load(b.module_path, NULL, &mod, err, sizeof err)
               : zv_eng_module_load_file(b.module_path, &opts, &emod, NULL, &eerr);
    if (rc) {
        fprintf(stderr, "zvm-bench: %s\n", b.api ? err : eerr.msg);
        return zv_cli_load_status(rc);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    rc = b.api ? zvm_pool_new(mod, &b.p.cfg, &pool, err, sizeof err)
               : zv_pf_pool_new(emod, &b.p.cfg, &pf, err, sizeof err);
    if (rc) {
        fprintf(stderr, "zvm-bench: %s: %s\n", b.module_path, err);
        return 1;
    }
    start_ns = now_ns();
    deadline = start_ns + (uint64_t)(b.duration_s * 1e9);
    if (b.api) {
        rc = run_api(&b, pool, deadline, tty);
        zvm_pool_stats_get(pool, &st);
    } else {
        feeder f = {&b, 0, deadline};
        zv_pf_feed feed = {.next = source, .put = sink, .tick = tty && !b.json ? tick : NULL, .arg = &f};
        rc = zv_pf_pool_run(pf, &feed);
        zv_pf_pool_stats(pf, &st);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (tty && !b.json)
        progress(&b, start_ns, 1);
    report(&b, &st, now_ns() - start_ns,
           (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
    zvm_pool_free(pool);
    zv_pf_pool_free(pf);
    zvm_module_free(mod);
    zv_eng_module_free(emod);
    return rc ? 1 : 0;
}
