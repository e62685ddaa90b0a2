/*
 * batch.c — `zvm batch`: a stream of records in, one fresh instance per
 * record on every core, the outputs out. A client of the pool in pull
 * mode (prefork.h, zv_pf_pool_run): this file gives it a source (io/'s
 * record reader: io_uring, the next chunk prefetched) and a sink (results
 * gathered in a 1 MiB buffer, written through io_uring).
 *
 *   zvm batch --module M.wasm --input SRC --output DST [--errors FILE]
 *             [--workers N] [--timeout S] [--memory B] [--records lines|len32]
 *             [--unordered] [--manifest TEMPLATE] [--reset auto|memset|madvise]
 *             [--snapshot on|off]
 *
 * A record that traps, times out or hits a limit goes to the errors file
 * instead of the output (`INDEX<TAB>CAUSE<TAB>STATUS`), so every record
 * ends up exactly once in one of the two.
 */
#include "cli/cli.h"
#include "io/io.h"
#include "prefork/prefork.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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
    const char *path;  /* a regular file: written as PATH.partial, renamed at the end */
    char partial[4200];
} sink;

typedef struct {
    sink out, err;
    uint64_t errors, bytes_out;
    int tty;
    uint64_t start_ns;
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
                    "                 [--snapshot on|off]\n"
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
        } else if (!strcmp(o, "--snapshot")) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                return -1;
            f->cfg.no_snapshot = !strcmp(v, "off");
        } else if (!strcmp(o, "--records")) {
            if (strcmp(v, "lines") && strcmp(v, "len32"))
                return -1;
            f->len32 = !strcmp(v, "len32");
        } else
            return -1;
        if (end && *end)
            return -1;
    }
    if (f->cfg.memory_bytes && (f->cfg.memory_bytes < 65536 || f->cfg.memory_bytes % 65536))
        return -1; /* whole 64 KiB pages, as a manifest's Memory */
    if (f->cfg.timeout_s < 0)
        return -1;
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

/* A regular file (or a new one) is written as PATH.partial, locked while
 * written, and renamed over PATH only when the batch succeeded: a killed
 * or failed batch never leaves a plausible short PATH, and a second batch
 * on the same output is refused instead of mixing in. Devices, FIFOs and
 * "-" are written directly. */
static int sink_open(sink *s, zv_io_ring *ring, const char *path, char *why, size_t why_len)
{
    struct stat st;
    s->ring = ring;
    if (!(s->buf = malloc(OUT_BUF)))
        return -ENOMEM;
    if (!path || !strcmp(path, "-")) {
        s->fd = path ? 1 : -1;
        s->off = -1;
        return 0;
    }
    s->off = 0;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        s->fd = open(path, O_WRONLY | O_CLOEXEC);
        s->off = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ? -1 : 0;
    } else {
        snprintf(s->partial, sizeof s->partial, "%s.partial", path);
        s->fd = open(s->partial, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (s->fd >= 0 && flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
            snprintf(why, why_len, "%s is being written by another zvm batch (%s is locked)",
                     path, s->partial);
            close(s->fd);
            s->fd = -1;
            return -EBUSY;
        }
        if (s->fd >= 0 && ftruncate(s->fd, 0) < 0) {
            close(s->fd);
            s->fd = -1;
        }
        s->path = path;
    }
    if (s->fd < 0)
        snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
    return s->fd < 0 ? -errno : 0;
}

/* Flush and close; with `commit`, PATH.partial becomes PATH. */
static void sink_close(sink *s, int commit)
{
    if (s->fd >= 0)
        sink_flush(s);
    if (s->path && commit && !s->failed && rename(s->partial, s->path) < 0)
        s->failed = 1;
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

typedef struct {
    writer w;
    zv_io_reader *rd;
    zv_pf_pool *pool;
    int len32;
} job;

static int source(void *arg, const uint8_t **rec, size_t *len)
{
    return zv_io_reader_next(((job *)arg)->rd, rec, len);
}

static void put_result(void *arg, const zvm_result *r)
{
    job *j = arg;
    write_result(&j->w, r, j->len32);
}

static void progress(job *j, int final)
{
    zvm_pool_stats st;
    uint64_t t = now_ns() - j->w.start_ns;
    zv_pf_pool_stats(j->pool, &st);
    fprintf(stderr, "\rzvm batch: %llu records, %.0f/s, %llu errors%s",
            (unsigned long long)st.records, t ? (double)st.records * 1e9 / (double)t : 0.0,
            (unsigned long long)st.errors, final ? "\n" : "   ");
}

static void tick(void *arg) { progress(arg, 0); }

static void summary(job *j, uint64_t elapsed, double cpu_s)
{
    zvm_pool_stats st;
    zv_pf_pool_stats(j->pool, &st);
    fprintf(stderr,
            "zvm batch: %llu records, %llu errors, %llu output bytes in %.3f s on %u workers\n"
            "  %.0f instances per second, %.2f us CPU per instance\n"
            "  latency (us): p50 %.2f  p99 %.2f  p999 %.2f  max %.2f\n",
            (unsigned long long)st.records, (unsigned long long)j->w.errors,
            (unsigned long long)j->w.bytes_out, elapsed / 1e9, st.workers,
            elapsed ? (double)st.records * 1e9 / (double)elapsed : 0.0,
            st.records ? cpu_s * 1e6 / (double)st.records : 0.0, st.p50_us, st.p99_us,
            st.p999_us, st.max_us);
    zv_cli_tiers_line(j->pool);
}

int zv_cli_batch(int argc, char **argv)
{
    batch_flags f;
    job j;
    zv_eng_module *mod = NULL;
    zv_io_ring *ring = NULL;
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    zv_pf_feed feed;
    struct timespec c0, c1;
    char why[1024];
    int rc, status = 0;

    memset(&f, 0, sizeof f);
    memset(&j, 0, sizeof j);
    j.w.out.fd = j.w.err.fd = -1;
    if (parse(argc, argv, &f))
        return usage();
    opts.policy = &zv_val_default_policy;
    zv_cli_tiering(&opts);
    if ((rc = zv_eng_module_load_file(f.module_path, &opts, &mod, NULL, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return rc == -ENOENT || rc == -EACCES || rc == -EISDIR ? 2 : 1;
    }
    j.len32 = f.len32;
    if ((rc = zv_io_reader_open(f.input, f.len32,
                                f.cfg.input_limit ? f.cfg.input_limit : ZVM_DEFAULT_RECORD_BYTES,
                                &j.rd, why, sizeof why))) {
        fprintf(stderr, "zvm batch: %s\n", why);
        status = 2;
        goto out;
    }
    if ((rc = zv_io_ring_new(8, &ring))) {
        fprintf(stderr, "zvm batch: io_uring is not available: %s\n", strerror(-rc));
        status = 1;
        goto out;
    }
    if ((rc = sink_open(&j.w.out, ring, f.output, why, sizeof why)) ||
        (rc = sink_open(&j.w.err, ring, f.errors_path, why, sizeof why))) {
        fprintf(stderr, "zvm batch: %s\n", why);
        status = 2;
        goto out;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    if ((rc = zv_pf_pool_new(mod, &f.cfg, &j.pool, why, sizeof why))) {
        fprintf(stderr, "zvm batch: %s: %s\n", f.module_path, why);
        status = 1;
        goto out;
    }
    j.w.tty = isatty(2);
    j.w.start_ns = now_ns();
    feed = (zv_pf_feed){source, put_result, j.w.tty ? tick : NULL, &j};
    rc = zv_pf_pool_run(j.pool, &feed);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    if (j.w.tty)
        progress(&j, 1);
    if (rc < 0) {
        const char *file = zv_io_reader_file(j.rd);
        fprintf(stderr, "zvm batch: %s%s%s: input stopped: %s\n", f.input, file ? "/" : "",
                file ? file : "", rc == -EPROTO ? "truncated len32 record at the end"
                                  : rc == -EINVAL && file ? "not a regular file" : strerror(-rc));
        status = 1;
    }
    sink_flush(&j.w.out);
    if (j.w.err.fd >= 0)
        sink_flush(&j.w.err);
    if (j.w.out.failed || j.w.err.failed) {
        fprintf(stderr, "zvm batch: writing the output failed\n");
        status = 1;
    }
    if (status && j.w.out.path)
        fprintf(stderr, "zvm batch: the outputs so far are in %s\n", j.w.out.partial);
    summary(&j, now_ns() - j.w.start_ns,
            (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
out:
    zv_pf_pool_free(j.pool);
    sink_close(&j.w.out, status == 0);
    sink_close(&j.w.err, status == 0);
    zv_io_ring_free(ring);
    zv_io_reader_free(j.rd);
    zv_eng_module_free(mod);
    return status;
}
