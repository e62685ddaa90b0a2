/*
 * zvm_bench.c — `zvm-bench`, a load generator in the spirit of
 * redis-benchmark: runs a module as fresh instances, one per record, on
 * pinned workers, and reports instances per second and the latency
 * distribution of one instance (record in, output out).
 *
 *   zvm-bench -m M.wasm [-i RECORD_FILE] [-n COUNT] [-c WORKERS]
 *             [--duration S] [--json] [--reset auto|memset|madvise]
 *
 * Records are the lines of RECORD_FILE (default: one 100-byte line),
 * used round-robin. Each worker owns a runner (instance, session, output
 * buffer) and a latency histogram; nothing is shared on the per-instance
 * path but a relaxed atomic counter read by the progress display.
 */
#include "config/config.h"
#include "cpuset/cpuset.h"
#include "engine/engine.h"
#include "engine/latency.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *module_path, *input_path;
    uint64_t count;       /* instances in all; 0 with --duration */
    double duration_s;
    uint32_t workers;
    int json, reset_how;
    zv_eng_module *mod;
    zv_cfg_manifest *man;
    char **records;
    size_t *record_len;
    size_t n_records;
    uint64_t deadline_ns;
    _Atomic uint64_t next;  /* instances handed out (with -n) */
    _Atomic uint64_t done;  /* for the progress display only */
    _Atomic uint64_t traps;
    zv_latency lat[64];     /* one per worker */
    int worker_rc[64];
} bench;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO: no syscall */
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: zvm-bench -m M.wasm [-i RECORD_FILE] [-n COUNT] [-c WORKERS] "
                    "[--duration S] [--json] [--reset auto|memset|madvise]\n");
    return 2;
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
        b->records = realloc(b->records, (b->n_records + 1) * sizeof *b->records);
        b->record_len = realloc(b->record_len, (b->n_records + 1) * sizeof *b->record_len);
        if (!b->records || !b->record_len)
            return -ENOMEM;
        b->records[b->n_records] = line;
        b->record_len[b->n_records++] = (size_t)n;
        line = NULL;
        cap = 0;
    }
    free(line);
    fclose(f);
    return b->n_records ? 0 : -ENODATA;
}

static int worker(zv_cpu_worker *w)
{
    bench *b = zv_cpu_worker_arg(w);
    uint32_t k = zv_cpu_worker_index(w);
    zv_latency *lat = &b->lat[k];
    zv_eng_runner *r;
    zv_eng_err err = {0};
    zv_eng_outcome oc;
    uint64_t i = k;
    int rc;
    zv_eng_thread_init();
    if ((rc = zv_eng_runner_new(b->mod, b->man, b->reset_how, &r, &err))) {
        fprintf(stderr, "zvm-bench: worker %u: %s\n", k, err.msg);
        return rc;
    }
    for (;;) {
        uint64_t t0;
        size_t rec;
        if (b->count) {
            i = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
            if (i >= b->count)
                break;
        } else if ((i & 63) == 0 && now_ns() >= b->deadline_ns) {
            break;
        }
        rec = (size_t)(i % b->n_records);
        t0 = now_ns();
        if (zv_eng_runner_run(r, b->records[rec], b->record_len[rec], &oc))
            atomic_fetch_add_explicit(&b->traps, 1, memory_order_relaxed);
        zv_lat_add(lat, now_ns() - t0);
        atomic_fetch_add_explicit(&b->done, 1, memory_order_relaxed);
        if (!b->count)
            i++;
    }
    zv_eng_runner_free(r);
    return 0;
}

static void progress(bench *b, uint64_t start, int final)
{
    uint64_t done = atomic_load(&b->done), t = now_ns() - start;
    fprintf(stderr, "\r%llu instances, %.0f/s, %llu traps%s", (unsigned long long)done,
            t ? (double)done * 1e9 / (double)t : 0.0, (unsigned long long)atomic_load(&b->traps),
            final ? "\n" : "   ");
}

static void report(bench *b, uint64_t elapsed_ns, double cpu_s)
{
    zv_latency all;
    double rate;
    memset(&all, 0, sizeof all);
    for (uint32_t k = 0; k < b->workers; k++)
        zv_lat_merge(&all, &b->lat[k]);
    rate = elapsed_ns ? (double)all.n * 1e9 / (double)elapsed_ns : 0;
#define US(q) ((double)zv_lat_quantile(&all, q) / 1e3)
    if (b->json) {
        printf("{\"module\": \"%s\", \"workers\": %u, \"instances\": %llu, \"traps\": %llu, "
               "\"seconds\": %.3f, \"instances_per_second\": %.0f, \"cpu_us_per_instance\": %.2f, "
               "\"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, "
               "\"max\": %.2f, \"mean\": %.2f}}\n",
               b->module_path, b->workers, (unsigned long long)all.n,
               (unsigned long long)atomic_load(&b->traps), elapsed_ns / 1e9, rate,
               all.n ? cpu_s * 1e6 / (double)all.n : 0, US(0.5), US(0.9), US(0.99), US(0.999),
               all.max_ns / 1e3, all.n ? (double)all.sum_ns / (double)all.n / 1e3 : 0);
        return;
    }
    printf("====== %s ======\n", b->module_path);
    printf("  %llu instances in %.3f s on %u workers, %llu traps\n", (unsigned long long)all.n,
           elapsed_ns / 1e9, b->workers, (unsigned long long)atomic_load(&b->traps));
    printf("  %.0f instances per second, %.2f us CPU per instance\n", rate,
           all.n ? cpu_s * 1e6 / (double)all.n : 0);
    printf("  latency (us): p50 %.2f  p90 %.2f  p99 %.2f  p999 %.2f  max %.2f\n", US(0.5), US(0.9),
           US(0.99), US(0.999), all.max_ns / 1e3);
#undef US
}

static int parse(int argc, char **argv, bench *b)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--json")) {
            b->json = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(o, "-m"))
            b->module_path = v;
        else if (!strcmp(o, "-i"))
            b->input_path = v;
        else if (!strcmp(o, "-n"))
            b->count = strtoull(v, NULL, 10);
        else if (!strcmp(o, "-c"))
            b->workers = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(o, "--duration"))
            b->duration_s = strtod(v, NULL);
        else if (!strcmp(o, "--reset"))
            b->reset_how = !strcmp(v, "madvise") ? ZV_ENG_RESET_MADVISE
                           : !strcmp(v, "memset") ? ZV_ENG_RESET_MEMSET
                                                  : ZV_ENG_RESET_AUTO;
        else
            return -1;
    }
    return b->module_path ? 0 : -1;
}

int main(int argc, char **argv)
{
    static bench b;
    zv_cpu_topology *topo = NULL;
    zv_cpu_workers *ws = NULL;
    zv_cfg_job job = {0};
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    uint64_t start;
    struct timespec c0, c1;
    FILE *f;
    uint8_t *bytes;
    long size;
    int rc;

    if (parse(argc, argv, &b))
        return usage();
    if (!b.count && !(b.duration_s > 0))
        b.count = 100000;
    if ((rc = load_records(&b))) {
        fprintf(stderr, "zvm-bench: %s: %s\n", b.input_path, strerror(-rc));
        return 2;
    }
    if (!(f = fopen(b.module_path, "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) || !(bytes = malloc((size_t)size + 1)) ||
        fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "zvm-bench: cannot read %s\n", b.module_path);
        return 2;
    }
    fclose(f);
    opts.policy = &zv_val_default_policy;
    if ((rc = zv_eng_module_load(bytes, (size_t)size, &opts, &b.mod, NULL, &err))) {
        fprintf(stderr, "zvm-bench: %s: %s\n", b.module_path, err.msg);
        return 1;
    }
    free(bytes);
    job.program = b.module_path;
    job.input = job.output = job.errors = "/dev/null";
    job.memory_bytes = 64ull << 20;
    job.timeout_s = 10;
    job.limit_bytes = 1 << 20;
    if ((rc = zv_cfg_from_job(&job, &b.man)) || (rc = zv_cpu_topology_load(&topo))) {
        fprintf(stderr, "zvm-bench: setup failed: %s\n", strerror(-rc));
        return 1;
    }
    if (!b.workers)
        b.workers = (uint32_t)zv_cpu_count_cores(topo);
    if (b.workers > 64)
        b.workers = 64;
    start = now_ns();
    b.deadline_ns = start + (uint64_t)(b.duration_s * 1e9);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    if ((rc = zv_cpu_workers_start(topo, b.workers, worker, &b, &ws))) {
        fprintf(stderr, "zvm-bench: cannot start workers: %s\n", strerror(-rc));
        return 1;
    }
    if (isatty(2) && !b.json) {
        uint64_t last = atomic_load(&b.done);
        for (;;) { /* progress until no instance is done for a full tick */
            nanosleep(&(struct timespec){0, 200000000}, NULL);
            progress(&b, start, 0);
            if ((b.count && atomic_load(&b.done) >= b.count) ||
                (!b.count && now_ns() >= b.deadline_ns) || atomic_load(&b.done) == last)
                break;
            last = atomic_load(&b.done);
        }
    }
    rc = zv_cpu_workers_join(ws);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (isatty(2) && !b.json)
        progress(&b, start, 1);
    report(&b, now_ns() - start,
           (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
    zv_cpu_workers_free(ws);
    zv_cpu_topology_free(topo);
    zv_cfg_free(b.man);
    zv_eng_module_free(b.mod);
    return rc ? 1 : 0;
}
