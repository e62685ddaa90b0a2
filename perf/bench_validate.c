/*
 * bench_validate.c — zvm's validator against wabt's `wasm-validate` on the
 * same file in the same run. Shared-machine times are noise, so runs are
 * interleaved rounds (order rotated) and only medians and ratios count.
 * Process rows include start-up; each tool's start-up (`--help`) is also
 * measured and subtracted in the "net" rows, and both ratios are labelled.
 * Child CPU time (user + sys) is shown beside wall time: it is less
 * disturbed by other load. Single-threaded throughout.
 *   bench_validate [--runs N] [--zvm PATH] [--wasm-validate PATH] FILE.wasm
 */
#include "validator/validator.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    double wall_ms, cpu_ms;
} sample;

enum { M_WV, M_WV_START, M_ZVM, M_ZVM_START, M_INPROC, N_MEASURES };

static double ms_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double tv_ms(const struct timeval *tv)
{
    return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* Run argv with stdout and stderr on /dev/null. Returns the exit status
 * (or -1 if it could not run) and fills *s with wall and child CPU time. */
static int run(char *const argv[], sample *s)
{
    posix_spawn_file_actions_t fa;
    struct timespec t0, t1;
    struct rusage ru;
    int status = -1, rc;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->wall_ms = ms_between(&t0, &t1);
    s->cpu_ms = tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One in-process validation (and free) of bytes. Returns zv_val_module_new's result. */
static int run_inproc(const uint8_t *bytes, size_t n, sample *s, zv_val_err *err)
{
    struct timespec w0, w1, c0, c1;
    zv_val_module *m = NULL;
    int rc;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    rc = zv_val_module_new(bytes, n, &m, err);
    zv_val_module_free(m);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    s->wall_ms = ms_between(&w0, &w1);
    s->cpu_ms = ms_between(&c0, &c1);
    return rc;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    struct stat st;
    if (!f)
        return NULL;
    if (fstat(fileno(f), &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
        *size = (size_t)st.st_size;
        if (fread(buf, 1, *size, f) != *size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* The code section's size, for the report (0 if absent or unparsable). */
static size_t code_section_bytes(const uint8_t *p, size_t n)
{
    size_t i = 8;
    while (i < n) {
        uint8_t id = p[i++];
        uint64_t size = 0;
        for (unsigned shift = 0; i < n && shift < 35; shift += 7) {
            size |= (uint64_t)(p[i] & 0x7f) << shift;
            if (!(p[i++] & 0x80))
                break;
        }
        if (id == 10)
            return (size_t)size;
        i += (size_t)size;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *t = malloc((size_t)n * sizeof *t), m;
    if (!t)
        return v[0];
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    free(t);
    return m;
}

static void row(const char *name, double wall, double cpu, double mb, double base_total,
                double base_net)
{
    printf("%-36s %9.2f %9.2f %9.1f %8.2fx %8.2fx\n", name, wall, cpu, mb / (wall / 1e3),
           base_total / wall, base_net / wall);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_validate [--runs N] [--zvm PATH] [--wasm-validate PATH] "
                    "FILE.wasm\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL, *zvm = "zvm", *wv = "wasm-validate";
    int runs = 11;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--zvm") && i + 1 < argc)
            zvm = argv[++i];
        else if (!strcmp(argv[i], "--wasm-validate") && i + 1 < argc)
            wv = argv[++i];
        else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else
            path = argv[i];
    }
    if (!path || runs < 1) {
        usage();
        return 2;
    }

    size_t size;
    uint8_t *bytes = slurp(path, &size);
    if (!bytes) {
        fprintf(stderr, "bench_validate: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    char *argv_of[N_MEASURES][5] = {
        [M_WV] = {(char *)wv, (char *)path, NULL},
        [M_WV_START] = {(char *)wv, "--help", NULL},
        [M_ZVM] = {(char *)zvm, "validate", "--no-policy", (char *)path, NULL},
        [M_ZVM_START] = {(char *)zvm, "--help", NULL},
    };
    static const char *const names[N_MEASURES] = {
        [M_WV] = "wasm-validate FILE (process)",
        [M_WV_START] = "wasm-validate --help (start-up)",
        [M_ZVM] = "zvm validate --no-policy (process)",
        [M_ZVM_START] = "zvm --help (start-up)",
        [M_INPROC] = "zv_val_module_new (in-process)",
    };
    double *wall[N_MEASURES], *cpu[N_MEASURES];
    for (int k = 0; k < N_MEASURES; k++) {
        wall[k] = calloc((size_t)runs, sizeof(double));
        cpu[k] = calloc((size_t)runs, sizeof(double));
        if (!wall[k] || !cpu[k]) {
            fprintf(stderr, "bench_validate: out of memory\n");
            return 2;
        }
    }

    /* Warm-up, which also checks that every tool accepts the module. */
    for (int k = 0; k < N_MEASURES; k++) {
        zv_val_err err = {0};
        sample s;
        int rc = k == M_INPROC ? run_inproc(bytes, size, &s, &err) : run(argv_of[k], &s);
        if (rc != 0) {
            if (k == M_INPROC)
                fprintf(stderr, "bench_validate: %s: offset 0x%zx: %s\n", path, err.offset,
                        err.msg);
            else if (rc < 0)
                fprintf(stderr, "bench_validate: `%s %s` did not run or was killed\n",
                        argv_of[k][0], argv_of[k][1]);
            else
                fprintf(stderr, "bench_validate: `%s %s` exited with status %d\n",
                        argv_of[k][0], argv_of[k][1], rc);
            return 1;
        }
    }
    for (int r = 0; r < runs; r++) {
        for (int j = 0; j < N_MEASURES; j++) {
            int k = (r + j) % N_MEASURES; /* rotate the order between rounds */
            zv_val_err err;
            sample s;
            if (k == M_INPROC)
                run_inproc(bytes, size, &s, &err);
            else
                run(argv_of[k], &s);
            wall[k][r] = s.wall_ms;
            cpu[k][r] = s.cpu_ms;
        }
    }

    double w[N_MEASURES], c[N_MEASURES], mb = (double)size / 1e6;
    for (int k = 0; k < N_MEASURES; k++) {
        w[k] = median(wall[k], runs);
        c[k] = median(cpu[k], runs);
    }
    double wv_total = w[M_WV], wv_net = w[M_WV] - w[M_WV_START];
    double zvm_net = w[M_ZVM] - w[M_ZVM_START];
    printf("module: %s, %zu bytes (%.2f MB), code section %zu bytes\n", path, size, mb,
           code_section_bytes(bytes, size));
    printf("%d interleaved rounds; medians; MB/s = module bytes / 1e6 / median wall time\n",
           runs);
    printf("speedup = wasm-validate time / row time: 'total' against its whole process "
           "wall time,\n'net' against that minus its start-up (`wasm-validate --help`)\n\n");
    printf("%-36s %9s %9s %9s %9s %9s\n", "tool", "wall ms", "cpu ms", "MB/s", "vs total",
           "vs net");
    row(names[M_WV], w[M_WV], c[M_WV], mb, wv_total, wv_net);
    printf("%-36s %9.2f %9.2f\n", names[M_WV_START], w[M_WV_START], c[M_WV_START]);
    row("wasm-validate, net of start-up", wv_net, c[M_WV] - c[M_WV_START], mb, wv_total, wv_net);
    row(names[M_ZVM], w[M_ZVM], c[M_ZVM], mb, wv_total, wv_net);
    printf("%-36s %9.2f %9.2f\n", names[M_ZVM_START], w[M_ZVM_START], c[M_ZVM_START]);
    row("zvm validate, net of start-up", zvm_net, c[M_ZVM] - c[M_ZVM_START], mb, wv_total,
        wv_net);
    row(names[M_INPROC], w[M_INPROC], c[M_INPROC], mb, wv_total, wv_net);
    printf("\nprocess vs process (both whole wall time): %.2fx; "
           "in-process vs wasm-validate net: %.2fx\n",
           w[M_WV] / w[M_ZVM], wv_net / w[M_INPROC]);
    printf("the same by CPU time (user + sys, less disturbed by load): %.2fx; %.2fx\n",
           c[M_WV] / c[M_ZVM], (c[M_WV] - c[M_WV_START]) / c[M_INPROC]);
    printf("goal (zvm >= 2x wasm-validate, both process vs process and in-process vs net): %s\n",
           w[M_WV] / w[M_ZVM] >= 2 && wv_net / w[M_INPROC] >= 2 ? "met" : "NOT met");

    for (int k = 0; k < N_MEASURES; k++)
        free(wall[k]), free(cpu[k]);
    free(bytes);
    return 0;
}
