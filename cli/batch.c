/*
 * batch.c — `zvm batch`: a stream of records in, one fresh instance per
 * record on every core, the outputs out. A client of the pool
 * (include/zvm/zvm.h): this file reads records (io/: through io_uring,
 * the next chunk prefetched), submits them, and writes the results.
 *
 *   zvm batch --module M.wasm --input SRC --output DST [--errors FILE]
 *             [--workers N] [--timeout S] [--memory B] [--records lines|len32]
 *             [--unordered] [--manifest TEMPLATE] [--reset auto|memset|madvise]
 *
 * One thread: submit records until the pool is full, then take results
 * (waiting for the first), write them, and go on. Outputs are gathered in
 * a 1 MiB buffer and written through io_uring. A record that traps, times
 * out or hits a limit goes to the errors file instead of the output
 * (`INDEX<TAB>CAUSE<TAB>STATUS`), so every record ends up exactly once in
 * one of the two.
 */
#include "cli/cli.h"
#include "include/zvm/zvm.h"
#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_BUF (1u << 20)

typedef struct {
    const char *module_path, *input, *output, *errors_path;
    zvm_pool_config cfg;
    int len32;
} batch_flags;

typedef struct {
    zv_io_ring *ring;
    int fd;
    int64_t off; /* -1 for streams */
    uint8_t *buf;
    size_t len;
    int failed;
} sink;

typedef struct {
    sink out, err;
    uint64_t errors, bytes_out;
    int tty;
    uint64_t start_ns, last_progress_ns;
} writer;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int usage(void)
{
    fprintf(stderr, "usage: zvm batch --module M.wasm --input SRC --output DST [--errors FILE]\n"
                    "                 [--workers N] [--timeout S] [--memory B] "
                    "[--records lines|len32]\n"
                    "                 [--unordered] [--manifest TEMPLATE] "
                    "[--reset auto|memset|madvise]\n"
                    "  SRC: a file of records, a directory (one record per file) or - (stdin)\n"
                    "  DST: a file or - (stdout)\n");
    return 2;
}

static int parse_reset(const char *v)
{
    return !strcmp(v, "auto") ? 0 : !strcmp(v, "memset") ? 1 : !strcmp(v, "madvise") ? 2 : -1;
}

static int parse(int argc, char **argv, batch_flags *f)
{
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(o, "--unordered")) {
            f->cfg.unordered = 1;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(o, "--module")) f->module_path = v;
        else if (!strcmp(o, "--input")) f->input = v;
        else if (!strcmp(o, "--output")) f->output = v;
        else if (!strcmp(o, "--errors")) f->errors_path = v;
        else if (!strcmp(o, "--manifest")) f->cfg.manifest = v;
        else if (!strcmp(o, "--workers")) f->cfg.workers = (unsigned)strtoul(v, &end, 10);
        else if (!strcmp(o, "--timeout")) f->cfg.timeout_s = strtod(v, &end);
        else if (!strcmp(o, "--memory")) f->cfg.memory_bytes = strtoull(v, &end, 0);
        else if (!strcmp(o, "--reset")) {
            if ((f->cfg.reset = parse_reset(v)) < 0)
                return -1;
        } else if (!strcmp(o, "--records")) {
            if (strcmp(v, "lines") && strcmp(v, "len32"))
                return -1;
            f->len32 = !strcmp(v, "len32");
        } else
            return -1;
        if (end && *end)
            return -1;
    }
    return f->module_path && f->input && f->output ? 0 : -1;
}

/* ---- output ------------------------------------------------------------------------ */

static void sink_flush(sink *s)
{
    const uint8_t *p = s->buf;
    size_t n = s->len;
    while (n && !s->failed) {
        ssize_t k = zv_io_write(s->ring, s->fd, p, n, s->off);
        if (k <= 0) {
            s->failed = 1;
            break;
        }
        p += k, n -= (size_t)k;
        if (s->off >= 0)
            s->off += k;
    }
    s->len = 0;
}

static void sink_put(sink *s, const void *data, size_t n)
{
    if (s->len + n > OUT_BUF)
        sink_flush(s);
    if (n > OUT_BUF) { /* a large output goes straight out */
        const uint8_t *saved = s->buf;
        s->buf = (uint8_t *)data;
        s->len = n;
        sink_flush(s);
        s->buf = (uint8_t *)saved;
        return;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

static int sink_open(sink *s, zv_io_ring *ring, const char *path)
{
    s->ring = ring;
    if (!(s->buf = malloc(OUT_BUF)))
        return -ENOMEM;
    if (!path || !strcmp(path, "-")) {
        s->fd = path ? 1 : -1;
        s->off = -1;
        return 0;
    }
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    s->off = 0;
    return s->fd < 0 ? -errno : 0;
}

static void sink_close(sink *s)
{
    if (s->fd >= 0)
        sink_flush(s);
    if (s->fd > 2)
        close(s->fd);
    free(s->buf);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* An error line; without --errors it goes to stderr. */
static void error_line(writer *w, uint64_t index, const char *cause, const char *detail)
{
    char line[600];
    int n = snprintf(line, sizeof line, "%llu\t%s\t%s\n", (unsigned long long)index, cause, detail);
    w->errors++;
    if (w->err.fd >= 0)
        sink_put(&w->err, line, (size_t)n);
    else
        fputs(line, stderr);
}

static void write_result(writer *w, const zvm_result *r, int len32)
{
    static const char *const cause[] = {"ok", "trap", "timeout", "limit"};
    if (r->status != ZVM_OK) {
        error_line(w, r->tag, cause[r->status], r->detail);
        return;
    }
    if (len32) {
        uint8_t hdr[4];
        put_u32le(hdr, (uint32_t)r->len);
        sink_put(&w->out, hdr, 4);
    }
    sink_put(&w->out, r->data, r->len);
    w->bytes_out += r->len;
}

static void progress(writer *w, zvm_pool *pool, int final)
{
    zvm_pool_stats st;
    uint64_t t = now_ns() - w->start_ns;
    zvm_pool_stats_get(pool, &st);
    fprintf(stderr, "\rzvm batch: %llu records, %.0f/s, %llu errors%s",
            (unsigned long long)st.records, t ? (double)st.records * 1e9 / (double)t : 0.0,
            (unsigned long long)w->errors, final ? "\n" : "   ");
    w->last_progress_ns = now_ns();
}

/* ---- the loop ----------------------------------------------------------------------- */

/* Take every result ready (waiting for the first when `wait`); 0, or
 * -ENODATA once the closed pool has returned everything. */
static int drain(zvm_pool *pool, writer *w, int len32, int wait)
{
    zvm_result r;
    int rc;
    if (wait) { /* what is gathered goes out before a wait */
        sink_flush(&w->out);
        if (w->err.fd >= 0)
            sink_flush(&w->err);
    }
    while ((rc = zvm_pool_next(pool, &r, wait ? -1 : 0)) == 1) {
        write_result(w, &r, len32);
        wait = 0;
    }
    if (w->tty && now_ns() - w->last_progress_ns > 250000000ull)
        progress(w, pool, 0);
    return rc == -ENODATA ? rc : 0;
}

/* Feed every record to the pool; returns the reader's error (0 at its end). */
static int feed(zvm_pool *pool, zv_io_reader *rd, writer *w, const batch_flags *f,
                uint64_t *n_records)
{
    const uint8_t *rec;
    size_t len;
    int rc;
    while ((rc = zv_io_reader_next(rd, &rec, &len)) > 0) {
        int s;
        while ((s = zvm_pool_submit(pool, rec, len, *n_records)) == -EAGAIN)
            drain(pool, w, f->len32, 1);
        if (s == -E2BIG) {
            char why[80];
            snprintf(why, sizeof why, "the record is larger than the input limit");
            error_line(w, *n_records, "limit", why);
        } else if (s) {
            return s;
        }
        ++*n_records;
        drain(pool, w, f->len32, 0);
    }
    return rc;
}

static void summary(zvm_pool *pool, writer *w, uint64_t n_records, uint64_t elapsed, double cpu_s)
{
    zvm_pool_stats st;
    zvm_pool_stats_get(pool, &st);
    st.records = n_records; /* records refused at submit are counted too */
    fprintf(stderr,
            "zvm batch: %llu records, %llu errors, %llu output bytes in %.3f s on %u workers\n"
            "  %.0f instances per second, %.2f us CPU per instance\n"
            "  latency (us): p50 %.2f  p99 %.2f  p999 %.2f  max %.2f\n",
            (unsigned long long)st.records, (unsigned long long)w->errors,
            (unsigned long long)w->bytes_out, elapsed / 1e9, st.workers,
            elapsed ? (double)st.records * 1e9 / (double)elapsed : 0.0,
            st.records ? cpu_s * 1e6 / (double)st.records : 0.0, st.p50_us, st.p99_us,
            st.p999_us, st.max_us);
}

int zv_cli_batch(int argc, char **argv)
{
    batch_flags f;
    writer w;
    zvm_module *mod = NULL;
    zvm_pool *pool = NULL;
    zv_io_reader *rd = NULL;
    zv_io_ring *ring = NULL;
    struct timespec c0, c1;
    char why[1024];
    uint64_t n_records = 0;
    int rc, status = 0;

    memset(&f, 0, sizeof f);
    memset(&w, 0, sizeof w);
    w.out.fd = w.err.fd = -1;
    if (parse(argc, argv, &f))
        return usage();
    if ((rc = zvm_module_load(f.module_path, NULL, &mod, why, sizeof why))) {
        fprintf(stderr, "%s\n", why);
        return rc == -ENOENT || rc == -EACCES || rc == -EISDIR ? 2 : 1;
    }
    if ((rc = zv_io_reader_open(f.input, f.len32, &rd, why, sizeof why))) {
        fprintf(stderr, "zvm batch: %s\n", why);
        status = 2;
        goto out;
    }
    if ((rc = zv_io_ring_new(8, &ring)) || (rc = sink_open(&w.out, ring, f.output)) ||
        (rc = sink_open(&w.err, ring, f.errors_path))) {
        fprintf(stderr, "zvm batch: cannot write %s: %s\n",
                w.out.fd < 0 ? f.output : f.errors_path, strerror(-rc));
        status = 2;
        goto out;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    if ((rc = zvm_pool_new(mod, &f.cfg, &pool, why, sizeof why))) {
        fprintf(stderr, "zvm batch: %s: %s\n", f.module_path, why);
        status = rc == -EINVAL && !f.cfg.manifest ? 2 : 1;
        goto out;
    }
    w.tty = isatty(2);
    w.start_ns = w.last_progress_ns = now_ns();
    rc = feed(pool, rd, &w, &f, &n_records);
    zvm_pool_close(pool);
    while (drain(pool, &w, f.len32, 1) != -ENODATA)
        ;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (w.tty)
        progress(&w, pool, 1);
    if (rc < 0) {
        fprintf(stderr, "zvm batch: %s: input stopped after record %llu: %s\n", f.input,
                (unsigned long long)n_records,
                rc == -E2BIG ? "a record is larger than 4 MiB"
                : rc == -EPROTO ? "truncated len32 record at the end" : strerror(-rc));
        status = 1;
    }
    sink_flush(&w.out);
    if (w.err.fd >= 0)
        sink_flush(&w.err);
    if (w.out.failed || w.err.failed) {
        fprintf(stderr, "zvm batch: writing the output failed\n");
        status = 1;
    }
    summary(pool, &w, n_records, now_ns() - w.start_ns,
            (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
out:
    zvm_pool_free(pool);
    sink_close(&w.out);
    sink_close(&w.err);
    zv_io_ring_free(ring);
    zv_io_reader_free(rd);
    zvm_module_free(mod);
    return status;
}
