/*
 * common.c — what the record commands (batch, consume, zvm-bench) share:
 * the causes of a failed record and their text, stderr escaped for a
 * one-line error, `--arg`/`--env` lists, the progress line on a terminal
 * (which an error line never lands inside) and the summary as text or
 * JSON, from one set of counters (zv_cli_stats). And what every command
 * needs: reading a file, a message that names its file once, and the
 * exec of zvm-pool for the pool commands.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *zv_cli_cause(int status)
{
    return status >= 0 && status < ZV_PF_CAUSES ? zv_pf_cause_names[status] : "error";
}

size_t zv_cli_escape(const void *data, size_t len, char *out, size_t cap)
{
    const unsigned char *p = data;
    size_t n = 0;
    if (!cap)
        return 0;
    for (size_t i = 0; i < len && n + 5 < cap; i++) {
        unsigned char c = p[i];
        if (c == '\n' || c == '\t' || c == '\\')
            n += (size_t)snprintf(out + n, cap - n, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : '\\');
        else if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    out[n] = 0;
    return n;
}

int zv_cli_list_add(zv_cli_list *l, const char *v)
{
    char **p;
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        if (!(p = realloc(l->v, cap * sizeof *p)))
            return -1;
        l->v = p;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(v)))
        return -1;
    l->v[++l->n] = NULL;
    return 0;
}

int zv_cli_env_add(const zv_cli_args *a, zv_cli_list *l)
{
    const char *eq = strchr(a->val, '='), *host;
    char *kv;
    int rc;
    if (!*a->val || eq == a->val)
        return zv_cli_fail(a, "--env %s: NAME=VALUE or NAME", a->val);
    if (eq)
        return zv_cli_list_add(l, a->val) ? zv_cli_fail(a, "out of memory") : 0;
    if (!(host = getenv(a->val)))
        return 0; /* NAME unset here: not passed, as wasmtime */
    if (!(kv = malloc(strlen(a->val) + strlen(host) + 2)))
        return zv_cli_fail(a, "out of memory");
    sprintf(kv, "%s=%s", a->val, host);
    rc = zv_cli_list_add(l, kv);
    free(kv);
    return rc ? zv_cli_fail(a, "out of memory") : 0;
}

void zv_cli_list_free(zv_cli_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* --dir HOST::GUEST for records: both named (read-only whatever it says). */
static int dir_add(const zv_cli_args *a, zv_cli_list *l)
{
    const char *sep = strstr(a->val, "::");
    if (!sep || sep == a->val || !sep[2])
        return zv_cli_fail(a, "--dir %s: HOST::GUEST, e.g. scripts::/scripts", a->val);
    return zv_cli_list_add(l, a->val) ? zv_cli_fail(a, "out of memory") : 0;
}

int zv_cli_pool_opt(const zv_cli_args *a, zv_cli_pool_flags *p)
{
    static const char *const snaps[] = {"on", "off", "first-read", NULL}, *const forms[] = {"text", "json", NULL};
    uint64_t v;
    int rc = 0;
    if (zv_cli_is(a, "arg"))
        rc = zv_cli_list_add(&p->args, a->val) ? zv_cli_fail(a, "out of memory") : 0;
    else if (zv_cli_is(a, "env"))
        rc = zv_cli_env_add(a, &p->env);
    else if (zv_cli_is(a, "dir")) /* (the pool opens it, or says why not) */
        rc = dir_add(a, &p->dirs);
    else if (zv_cli_is(a, "timeout"))
        rc = zv_cli_seconds(a, &p->cfg.timeout_s);
    else if (zv_cli_is(a, "memory"))
        rc = zv_cli_memory(a, &p->cfg.memory_bytes);
    else if (zv_cli_is(a, "manifest"))
        p->cfg.manifest = a->val;
    else if (zv_cli_is(a, "allow-exit-codes"))
        p->cfg.allow_exit_codes = a->val;
    else if (zv_cli_is(a, "snapshot"))
        rc = zv_cli_choice(a, snaps, &p->cfg.snapshot);
    else if (zv_cli_is(a, "progress") || zv_cli_is(a, "no-progress"))
        p->progress = zv_cli_is(a, "progress");
    else if (zv_cli_is(a, "stats"))
        rc = zv_cli_choice(a, forms, &p->json);
    else if (zv_cli_is(a, "stats-file"))
        p->stats_path = a->val;
    else if (zv_cli_is(a, "metrics"))
        rc = zv_cli_metrics_addr(a, &p->metrics);
    else if (zv_cli_is(a, "log-format"))
        rc = zv_cli_log_format(a), p->log_given = 1;
    else if (zv_cli_is(a, "trust-key"))
        rc = zv_cli_trust_key(a, p->trust_key), p->has_trust_key = 1;
    else if (zv_cli_is(a, "stderr-limit")) {
        if (!(rc = zv_cli_uint(a, 0, 1 << 30, &v)))
            p->cfg.stderr_limit = v ? (int64_t)v : -1; /* 0 discards: -1 in the config */
    } else
        return 0;
    return rc < 0 ? -1 : 1;
}

void zv_cli_pool_flags_end(zv_cli_pool_flags *p, const char *module)
{
    p->cfg.program = module;
    p->cfg.args = p->args.n ? (const char *const *)p->args.v : NULL;
    p->cfg.env = (const char *const *)p->env.v;
    p->cfg.dirs = (const char *const *)p->dirs.v;
}

void zv_cli_pool_flags_free(zv_cli_pool_flags *p)
{
    zv_cli_list_free(&p->args);
    zv_cli_list_free(&p->env);
    zv_cli_list_free(&p->dirs);
}

/* ---- progress and summary ------------------------------------------------------ */

static int line_shown; /* a progress line is on the terminal: errors clear it first */

void zv_cli_progress(const char *cmd, const zv_cli_stats *st, double done_frac, int final)
{
    char eta[64] = "";
    if (zv_cli_log_json)
        return; /* a line for a person at a terminal */
    if (done_frac > 0.001 && done_frac < 1 && st->elapsed_s > 1)
        snprintf(eta, sizeof eta, ", %.0f%%, %.0f s left", done_frac * 100,
                 st->elapsed_s * (1 - done_frac) / done_frac);
    fprintf(stderr, "\r\033[K%s: %llu records, %.0f/s, %llu errors%s%s", cmd,
            (unsigned long long)st->records,
            st->elapsed_s > 0 ? (double)st->records / st->elapsed_s : 0.0,
            (unsigned long long)st->errors, eta, final ? "\n" : "");
    line_shown = !final;
}

void zv_cli_stats_read(zv_pf_pool *p, uint64_t start_ns, double cpu_s, zv_cli_stats *st)
{
    zv_pf_counters *c = zv_pf_pool_counters(p);
    zvm_pool_stats ps;
    struct timespec t;
    zv_pf_pool_stats(p, &ps);
    clock_gettime(CLOCK_MONOTONIC, &t);
    memset(st, 0, sizeof *st);
    st->workers = ps.workers;
    st->forked = zv_pf_pool_forked(p);
    st->elapsed_s = ((double)t.tv_sec * 1e9 + (double)t.tv_nsec - (double)start_ns) / 1e9;
    st->cpu_s = cpu_s;
    st->p50_us = ps.p50_us, st->p99_us = ps.p99_us, st->p999_us = ps.p999_us;
    st->max_us = ps.max_us;
    for (int i = 0; i < ZV_PF_CAUSES; i++) {
        st->by_cause[i] = atomic_load(&c->records[i]);
        st->records += st->by_cause[i];
    }
    st->errors = st->records - st->by_cause[ZV_PF_OK];
    st->bytes_out = atomic_load(&c->output_bytes);
    st->consume = atomic_load(&c->consumer);
    st->redeliveries = atomic_load(&c->redeliveries);
    st->lag = atomic_load(&c->lag);
}

double zv_cli_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void zv_cli_err(const char *fmt, ...)
{
    va_list ap;
    if (zv_cli_log_json) {
        char text[4096];
        va_start(ap, fmt);
        vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
        zv_cli_err_json(text);
        return;
    }
    if (line_shown)
        fputs("\r\033[K", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void json_num(FILE *f, const char *name, double v, int last)
{
    fprintf(f, "\"%s\": %.6g%s", name, v, last ? "" : ", ");
}

static void summary_json(const char *cmd, const zv_cli_stats *st, FILE *f)
{
    double rate = st->elapsed_s > 0 ? (double)st->records / st->elapsed_s : 0;
    double cpu_us = st->records ? st->cpu_s * 1e6 / (double)st->records : 0;
    fprintf(f, "{\"command\": \"%s\", \"records\": %llu, \"errors\": %llu, \"by_cause\": {", cmd,
            (unsigned long long)st->records, (unsigned long long)st->errors);
    for (int c = 0; c < ZV_PF_CAUSES; c++)
        fprintf(f, "%s\"%s\": %llu", c ? ", " : "", zv_pf_cause_names[c],
                (unsigned long long)st->by_cause[c]);
    fprintf(f, "}, \"output_bytes\": %llu, \"workers\": %u, \"start\": \"%s\", ",
            (unsigned long long)st->bytes_out, st->workers, st->forked ? "fork point" : "_start");
    json_num(f, "seconds", st->elapsed_s, 0);
    json_num(f, "records_per_second", rate, 0);
    json_num(f, "cpu_us_per_record", cpu_us, 0);
    fprintf(f, "\"latency_us\": {");
    json_num(f, "p50", st->p50_us, 0);
    json_num(f, "p99", st->p99_us, 0);
    json_num(f, "p999", st->p999_us, 0);
    json_num(f, "max", st->max_us, 1);
    fprintf(f, "}");
    if (st->consume)
        fprintf(f, ", \"redeliveries\": %llu, \"lag\": %lld", (unsigned long long)st->redeliveries,
                (long long)st->lag);
    fprintf(f, "}");
}

void zv_cli_summary(const char *cmd, const zv_cli_stats *st, int json, FILE *f)
{
    double rate = st->elapsed_s > 0 ? (double)st->records / st->elapsed_s : 0;
    double cpu_us = st->records ? st->cpu_s * 1e6 / (double)st->records : 0;
    if (zv_cli_log_json && f == stderr) { /* a "summary" event holding the object */
        char *obj = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&obj, &len);
        if (m) {
            summary_json(cmd, st, m);
            if (fclose(m) == 0)
                zv_cli_event("info", "summary", (zv_cli_kv[]){{"stats", NULL, obj}, {NULL, NULL, NULL}},
                             "%llu records, %llu errors in %.3f s", (unsigned long long)st->records,
                             (unsigned long long)st->errors, st->elapsed_s);
            free(obj);
        }
        return;
    }
    if (json) {
        summary_json(cmd, st, f);
        fputc('\n', f);
        return;
    }
    fprintf(f, "%s: %llu records, %llu errors, %llu output bytes in %.3f s on %u workers\n"
               "  %.0f instances per second, %.2f us CPU per instance\n"
               "  latency (us): p50 %.2f  p99 %.2f  p999 %.2f  max %.2f\n",
            cmd, (unsigned long long)st->records, (unsigned long long)st->errors,
            (unsigned long long)st->bytes_out, st->elapsed_s, st->workers, rate, cpu_us,
            st->p50_us, st->p99_us, st->p999_us, st->max_us);
}

void zv_cli_module_id(const zv_eng_module *m, char hex[65])
{
    const uint8_t *h = zv_eng_module_info(m)->sha256;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

void zv_cli_started(const char *module_path, const zv_eng_module *m, zv_pf_pool *p,
                    const zv_pf_metrics *mx, const zv_cli_kv *extra, const char *what)
{
    char sha[65], workers[16], url[400] = "";
    zv_cli_kv kv[16];
    size_t n = 0;
    zv_cli_module_id(m, sha);
    snprintf(workers, sizeof workers, "%u", zv_pf_pool_workers(p));
    if (mx)
        snprintf(url, sizeof url, "http://%s/metrics", zv_pf_metrics_address(mx));
    kv[n++] = (zv_cli_kv){"module", module_path, NULL};
    kv[n++] = (zv_cli_kv){"sha256", sha, NULL};
    kv[n++] = (zv_cli_kv){"workers", NULL, workers};
    if (mx)
        kv[n++] = (zv_cli_kv){"metrics", url, NULL};
    for (; extra && extra->key && n < 15; extra++)
        kv[n++] = *extra;
    kv[n] = (zv_cli_kv){NULL, NULL, NULL};
    zv_cli_event("info", "start", kv, "started%s: %s (sha256 %.12s) on %s workers%s%s", what,
                 module_path, sha, workers, mx ? "; metrics at " : "", url);
}

int zv_cli_trust_key(const zv_cli_args *a, uint8_t key[32])
{
    zv_eng_err err = {0};
    if (zv_eng_trust_key_read(a->val, key, &err))
        return zv_cli_fail(a, "--trust-key %s", err.msg);
    return 0;
}

int zv_cli_metrics_addr(const zv_cli_args *a, const char **out)
{
    char host[256], port[8], why[400];
    if (zv_pf_metrics_parse(a->val, host, sizeof host, port, sizeof port, why, sizeof why))
        return zv_cli_fail(a, "--metrics %s", why);
    *out = a->val;
    return 0;
}

int zv_cli_metrics_start(const char *addr, zv_pf_pool *p, zv_pf_metrics **out)
{
    char why[512];
    *out = NULL;
    if (!addr)
        return 0;
    if (zv_pf_metrics_start(addr, p, out, why, sizeof why)) {
        zv_cli_err("zvm %s: --metrics %s\n", zv_cli_current, why);
        return 1;
    }
    return 0;
}

/* ---- files and messages ----------------------------------------------------------- */

/* A regular file opened for reading: its fd, or -errno (-EINVAL: not a
 * regular file). */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0)
        rc = -errno;
    else if (!S_ISREG(st->st_mode))
        rc = -EINVAL;
    if (rc)
        close(fd);
    return rc ? rc : fd;
}

static int read_failed(const char *path, int rc)
{
    zv_cli_err("zvm %s: %s: cannot read: %s\n", zv_cli_current, path,
               rc == -EINVAL ? "not a regular file" : strerror(-rc));
    return 2;
}

int zv_cli_read(const char *path, zv_cli_file *f)
{
    struct stat st;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return read_failed(path, fd);
    f->size = (size_t)st.st_size;
    f->data = (const uint8_t *)"";
    if (f->size) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int rc = -errno;
            close(fd);
            return read_failed(path, rc);
        }
        f->data = p;
    }
    close(fd);
    return 0;
}

int zv_cli_peek(const char *path, uint8_t *buf, size_t n, size_t *got)
{
    struct stat st;
    ssize_t k;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return read_failed(path, fd);
    while ((k = read(fd, buf, n)) < 0 && errno == EINTR)
        ;
    if (k < 0) {
        int rc = -errno;
        close(fd);
        return read_failed(path, rc);
    }
    close(fd);
    *got = (size_t)k;
    return 0;
}

void zv_cli_release(zv_cli_file *f)
{
    if (f->size)
        munmap((void *)f->data, f->size);
}


void zv_cli_file_err(const char *cmd, const char *path, const char *msg)
{
    size_t n = strlen(path);
    if (!strncmp(msg, path, n) && msg[n] == ':') /* the library named it already */
        zv_cli_err("zvm %s: %s\n", cmd, msg);
    else
        zv_cli_err("zvm %s: %s: %s\n", cmd, path, msg);
}

int zv_cli_load_status(int rc)
{
    return rc == -ENOENT || rc == -EACCES || rc == -EISDIR ? 2 : 1;
}

const char *zv_cli_tiers_outcome(unsigned on_baseline)
{
    return on_baseline ? "the optimised one was not ready by the end"
                       : "then on the optimised one (gcc -O2)";
}

void zv_cli_tiers_line(const zv_pf_pool *p)
{
    unsigned on_baseline;
    uint64_t baseline_records;
    zv_pf_pool_tiers(p, &on_baseline, &baseline_records);
    if (baseline_records)
        zv_cli_err("  tiers: %llu records on the baseline build (tcc), %s\n",
                   (unsigned long long)baseline_records, zv_cli_tiers_outcome(on_baseline));
}

char **zv_cli_command_line; /* main's argv: zv_cli_pool_exec runs it again */
const char *zv_cli_current = "";

int zv_cli_pool_exec(void)
{
    char path[4096], *slash;
    if (!realpath("/proc/self/exe", path) || !(slash = strrchr(path, '/'))) {
        fprintf(stderr, "zvm: cannot find this program's folder: %s\n", strerror(errno));
        return 2;
    }
    if ((size_t)(slash + 1 - path) + sizeof "zvm-pool" > sizeof path) {
        fprintf(stderr, "zvm: the path of %s is too long\n", path);
        return 2;
    }
    strcpy(slash + 1, "zvm-pool");
    execv(path, zv_cli_command_line);
    fprintf(stderr, "zvm: cannot start %s, which runs the pool commands: %s\n", path,
            strerror(errno));
    return 2;
}

