/*
 * batch.c — `zvm batch`: a stream of records in, one fresh instance per
 * record on every core, the outputs out. A client of the pool in pull
 * mode (prefork.h, zv_pf_pool_run): this file gives it a source (io/'s
 * record reader: io_uring, the next chunk prefetched) and sinks (sink.c).
 *
 * A record that traps, times out, hits a limit or exits with a code not
 * allowed goes to the errors instead of the output, one line
 * `INDEX<TAB>CAUSE<TAB>DETAIL<TAB>STDERR` (its stderr C-escaped), so
 * every record ends up exactly once in one of the two. The lines hold
 * nothing that changes from run to run (no times, workers or tiers), so
 * two runs give the same file. `--only N` runs one record alone and shows
 * everything about it. From a pipe (a stream), records run as they come
 * and their outputs go out within milliseconds.
 */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *module_path, *input, *output, *errors_path;
    zv_cli_pool_flags p;
    int len32;
    int64_t only;               /* --only N, or -1 */
} batch_flags;

static const zv_cli_opt batch_opts[] = {
    {"module", 'm', "M.wasm", "the module each record runs (required)"},
    {"input", 'i', "SRC", "the records: a file, a directory (one record per file) or - (stdin) "
                          "(required)"},
    {"output", 'o', "DST", "the outputs: a file or - (stdout) (required but with --only)"},
    {"errors", 0, "FILE", "failed records, one line each: INDEX, CAUSE, DETAIL, STDERR "
                          "(default: stderr)"},
    {"workers", 0, "N", "worker threads, pinned one per core (default: the cores)"},
    {"records", 0, "lines|len32", "how records are framed (default lines)"},
    {"unordered", 0, NULL, "write outputs as they finish, not in input order"},
    {"only", 0, "N", "run record N alone (0 is the first) and show its stdout, stderr and "
                     "report"},
    {"reset", 0, "auto|memset|madvise", "how memory is cleared between records (default auto)"},
    ZV_CLI_RECORD_OPTS,
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_batch_cmd = {
    "batch",
    "--module M.wasm --input SRC --output DST [OPTIONS]\n"
    "--module M.wasm --input SRC --only N [OPTIONS]",
    "Run one fresh instance of the module per input record, on every core: the record is its "
    "stdin,\nits stdout the output record. A record that traps, times out, hits a limit or "
    "exits with a\ncode not allowed goes to the errors, with its stderr, and not to the output.",
    batch_opts,
    0,
    "Rerun a failed record alone: zvm batch ... --only INDEX. More: man zvm-batch.",
    NULL,
};

static int parse(int argc, char **argv, batch_flags *f)
{
    static const char *const framing[] = {"lines", "len32", NULL},
                             *const resets[] = {"auto", "memset", "madvise", NULL};
    zv_cli_args a;
    uint64_t v;
    int rc;
    f->p.progress = -1;
    f->only = -1;
    zv_cli_args_init(&a, &zv_cli_batch_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        if ((rc = zv_cli_pool_opt(&a, &f->p)))
            ;
        else if (zv_cli_is(&a, "module"))
            f->module_path = a.val;
        else if (zv_cli_is(&a, "input"))
            f->input = a.val;
        else if (zv_cli_is(&a, "output"))
            f->output = a.val;
        else if (zv_cli_is(&a, "errors"))
            f->errors_path = a.val;
        else if (zv_cli_is(&a, "unordered"))
            f->p.cfg.unordered = 1;
        else if (zv_cli_is(&a, "workers"))
            rc = zv_cli_unsigned(&a, 1, 64, &f->p.cfg.workers);
        else if (zv_cli_is(&a, "records"))
            rc = zv_cli_choice(&a, framing, &f->len32);
        else if (zv_cli_is(&a, "reset"))
            rc = zv_cli_choice(&a, resets, &f->p.cfg.reset);
        else if (zv_cli_is(&a, "only") && !(rc = zv_cli_uint(&a, 0, INT64_MAX, &v)))
            f->only = (int64_t)v;
        if (rc < 0)
            return -1;
    }
    if (rc)
        return rc;
    if (a.n_operands)
        return zv_cli_fail(&a, "unexpected operand '%s' (options name the files: see zvm batch "
                           "--help)", argv[0]);
    if (!f->module_path || !f->input || (!f->output && f->only < 0))
        return zv_cli_fail(&a, "--module, --input and --output are required (see zvm batch "
                           "--help)");
    zv_cli_pool_flags_end(&f->p, f->module_path);
    return 0;
}

/* ---- results --------------------------------------------------------------------- */

typedef struct {
    zv_cli_sink out, err;
    zv_pf_counters *counters; /* the pool's: output bytes are counted there */
    int stream;          /* the input is a pipe or socket: outputs go out as they come */
    uint64_t held_ns;    /* when the oldest output not yet written came (0: none) */
} writer;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Without --errors, under --log-format json: a "record_failed" event
 * with the line's fields (its stderr C-escaped: ASCII, so valid JSON). */
static void record_failed(const zvm_result *r, const char *line, size_t n)
{
    char index[24], *esc = NULL;
    const char *p = line;
    for (int tabs = 0; tabs < 3 && (p = memchr(p, '\t', n - (size_t)(p - line))); tabs++)
        p++;
    if (p && (esc = strndup(p, n - 1 - (size_t)(p - line))) == NULL)
        return;
    snprintf(index, sizeof index, "%llu", (unsigned long long)r->tag);
    zv_cli_event("warning", "record_failed",
                 (zv_cli_kv[]){{"index", NULL, index}, {"cause", zv_cli_cause(r->status), NULL},
                               {"detail", r->detail ? r->detail : "", NULL},
                               {"stderr", esc ? esc : "", NULL}, {NULL, NULL, NULL}},
                 "record %s: %s%s%s", index, zv_cli_cause(r->status), r->detail ? ": " : "",
                 r->detail ? r->detail : "");
    free(esc);
}

/* A failed record's line; without --errors it goes to stderr. */
static void error_line(writer *w, const zvm_result *r)
{
    char small[8192], *line = small;
    size_t cap = 600 + 4 * r->stderr_len + 2, n; /* \xNN: 4 bytes a byte at most */
    if (cap > sizeof small && !(line = malloc(cap))) {
        line = small; /* no host memory for a long stderr: it is cut */
        cap = sizeof small;
    }
    n = (size_t)snprintf(line, 600, "%llu\t%s\t%s\t", (unsigned long long)r->tag,
                         zv_cli_cause(r->status), r->detail);
    n += zv_cli_escape(r->stderr_data, r->stderr_len, line + n, cap - n - 1);
    line[n++] = '\n';
    if (w->err.fd >= 0)
        zv_cli_sink_put(&w->err, line, n);
    else if (zv_cli_log_json)
        record_failed(r, line, n);
    else
        zv_cli_err("%.*s", (int)n, line);
    if (line != small)
        free(line);
}

#define STREAM_HOLD_NS 5000000ull /* a streamed output waits at most this long */

/* Write what is held (a stream's source is quiet, or it waited long enough). */
static void writer_flush(writer *w)
{
    zv_cli_sink_flush(&w->out);
    if (w->err.fd >= 0)
        zv_cli_sink_flush(&w->err);
    w->held_ns = 0;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static void write_result(writer *w, const zvm_result *r, int len32)
{
    if (w->stream) { /* what comes from a stream goes out within milliseconds */
        uint64_t t = now_ns();
        if (!w->held_ns)
            w->held_ns = t;
        else if (t - w->held_ns > STREAM_HOLD_NS)
            writer_flush(w);
    }
    if (r->status != ZVM_OK) {
        error_line(w, r);
        return;
    }
    if (len32) {
        uint8_t hdr[4];
        put_u32le(hdr, (uint32_t)r->len);
        zv_cli_sink_put(&w->out, hdr, 4);
    }
    zv_cli_sink_put(&w->out, r->data, r->len);
    zv_pf_bump_by(&w->counters->output_bytes, r->len);
}

/* ---- the run ------------------------------------------------------------------- */

typedef struct {
    batch_flags *f;
    writer w;
    zv_io_reader *rd;
    zv_pf_pool *pool;
    int show_progress;
    uint64_t start_ns;
} job;

static volatile sig_atomic_t reload_asked;

static void on_reload(int sig)
{
    (void)sig;
    reload_asked = 1;
}

static int source(void *arg, const uint8_t **rec, size_t *len)
{
    if (reload_asked)
        return -EINTR; /* a reload: the run ends once every result is out */
    return zv_io_reader_next(((job *)arg)->rd, rec, len);
}

static void put_result(void *arg, const zvm_result *r)
{
    job *j = arg;
    write_result(&j->w, r, j->f->len32);
}

static void tick(void *arg)
{
    job *j = arg;
    zv_cli_stats st;
    zv_cli_stats_read(j->pool, j->start_ns, 0, &st);
    zv_cli_progress("zvm batch", &st, zv_io_reader_done(j->rd), 0);
}

static void flush_stream(void *arg) { writer_flush(&((job *)arg)->w); }

static int input_fd(void *arg) { return zv_io_reader_nonblock(((job *)arg)->rd); }

/* SIGHUP: --module loaded again (validated, compiled) and a pool made for
 * it; the run on the old one has ended with every result out, so the new
 * one goes on from the same input, the counters carried on. A module that
 * does not load, or a pool that does not start, leaves the old one. */
static void reload(job *j, const zv_eng_opts *opts, zv_eng_module **mod, zv_pf_metrics *metrics)
{
    zv_eng_module *m = NULL;
    zv_pf_pool *p = NULL;
    zv_eng_err err = {0};
    char why[600], sha[65];
    reload_asked = 0;
    if (zv_eng_module_load_file(j->f->module_path, opts, &m, NULL, &err) ||
        zv_pf_pool_new(m, &j->f->p.cfg, &p, why, sizeof why)) {
        zv_pf_bump(&j->w.counters->reload_failures);
        zv_cli_event("warning", "reload_failed", (zv_cli_kv[]){{"module", j->f->module_path, NULL},
                                                               {NULL, NULL, NULL}},
                     "reload refused, the module before runs on: %s", m ? why : err.msg);
        zv_eng_module_free(m);
        return;
    }
    zv_pf_counters_carry(zv_pf_pool_counters(p), j->w.counters);
    j->w.counters = zv_pf_pool_counters(p);
    zv_pf_bump(&j->w.counters->reloads);
    zv_pf_metrics_set_pool(metrics, p);
    zv_pf_pool_free(j->pool);
    zv_eng_module_free(*mod);
    j->pool = p;
    *mod = m;
    zv_cli_module_id(m, sha);
    zv_cli_event("info", "reload", (zv_cli_kv[]){{"module", j->f->module_path, NULL},
                                                 {"sha256", sha, NULL}, {NULL, NULL, NULL}},
                 "reloaded %s (sha256 %.12s): new records run it", j->f->module_path, sha);
}

/* The summary on stderr or in --stats-file, as text or JSON. */
static int summary(job *j, double cpu_s)
{
    zv_cli_stats st;
    FILE *f = j->f->p.stats_path ? fopen(j->f->p.stats_path, "w") : stderr;
    zv_cli_stats_read(j->pool, j->start_ns, cpu_s, &st);
    if (!f) {
        zv_cli_err("zvm batch: %s: cannot write the summary: %s\n", j->f->p.stats_path,
                   strerror(errno));
        return 1;
    }
    zv_cli_summary("zvm batch", &st, j->f->p.json, f);
    if (!j->f->p.json && f == stderr)
        zv_cli_tiers_line(j->pool);
    return f != stderr && fclose(f) ? 1 : 0;
}

/* --only N: record N alone, with everything shown. */
static int run_only(job *j)
{
    const uint8_t *rec = NULL;
    size_t len = 0;
    zvm_result r;
    int64_t i = -1;
    int rc;
    while (i < j->f->only && (rc = zv_io_reader_next(j->rd, &rec, &len)) == 1)
        i++;
    if (i < j->f->only) {
        zv_cli_err("zvm batch: %s holds %lld records: there is no record %lld\n", j->f->input,
                   (long long)i + 1, (long long)j->f->only);
        return 2;
    }
    if (!rec) {
        zv_cli_err("zvm batch: record %lld is over the input limit (%zu bytes)\n",
                   (long long)j->f->only, len);
        return 1;
    }
    if ((rc = zv_pf_pool_submit(j->pool, rec, len, (uint64_t)j->f->only)) ||
        (rc = zv_pf_pool_next(j->pool, &r, -1)) != 1) {
        zv_cli_err("zvm batch: cannot run record %lld: %s\n", (long long)j->f->only,
                   strerror(rc < 0 ? -rc : EIO));
        return 1;
    }
    fwrite(r.data, 1, r.len, stdout);
    fflush(stdout);
    fwrite(r.stderr_data, 1, r.stderr_len, stderr);
    fprintf(stderr, "%srecord %lld: %s%s%s, exit code %d, %zu bytes in, %zu bytes out, %zu "
                    "bytes of stderr\n",
            r.stderr_len && ((const char *)r.stderr_data)[r.stderr_len - 1] != '\n' ? "\n" : "",
            (long long)j->f->only, zv_cli_cause(r.status), r.detail ? ": " : "",
            r.detail ? r.detail : "", r.exit_code, len, r.len, r.stderr_len);
    return r.status == ZVM_OK ? 0 : 1;
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
    zv_pf_metrics *metrics = NULL;
    double c0;
    char why[1024];
    int rc, status = 0;

    memset(&f, 0, sizeof f);
    memset(&j, 0, sizeof j);
    j.f = &f;
    j.w.out.fd = j.w.err.fd = -1;
    if ((rc = parse(argc, argv, &f))) {
        status = rc == ZV_CLI_HELP ? 0 : 2;
        goto out;
    }
    opts.policy = &zv_val_default_policy;
    opts.trust_key = f.p.has_trust_key ? f.p.trust_key : NULL;
    if (zv_cli_tiering(&opts, "batch")) {
        status = 2;
        goto out;
    }
    opts.fork_point = f.p.cfg.snapshot == ZVM_SNAPSHOT_FIRST_READ; /* built for it at once */
    if ((rc = zv_eng_module_load_file(f.module_path, &opts, &mod, NULL, &err))) {
        zv_cli_file_err("batch", f.module_path, err.msg);
        status = zv_cli_load_status(rc);
        goto out;
    }
    if ((rc = zv_io_reader_open(f.input, f.len32,
                                f.p.cfg.input_limit ? f.p.cfg.input_limit : ZVM_DEFAULT_RECORD_BYTES,
                                &j.rd, why, sizeof why))) {
        zv_cli_err("zvm batch: %s\n", why);
        status = 2;
        goto out;
    }
    if (f.only >= 0) { /* one record, everything about it */
        f.p.cfg.workers = 1;
        f.p.cfg.keep_output = 1;
    }
    if ((rc = zv_pf_pool_new(mod, &f.p.cfg, &j.pool, why, sizeof why))) {
        zv_cli_err("zvm batch: %s: %s\n", f.module_path, why);
        status = rc == -EINVAL ? 2 : 1;
        goto out;
    }
    if (f.only >= 0) {
        status = run_only(&j);
        goto out;
    }
    if ((rc = zv_io_ring_new(8, &ring))) {
        zv_cli_err("zvm batch: io_uring is not available: %s\n", strerror(-rc));
        status = 1;
        goto out;
    }
    j.w.counters = zv_pf_pool_counters(j.pool);
    if (zv_cli_metrics_start(f.p.metrics, j.pool, &metrics)) {
        status = 1;
        goto out;
    }
    if (f.p.metrics || f.p.log_given) /* a service's start; a plain run says nothing yet */
        zv_cli_started(f.module_path, mod, j.pool, metrics, NULL, "");
    j.w.stream = zv_io_reader_nonblock(j.rd) >= 0;
    if ((rc = zv_cli_sink_open(&j.w.out, ring, f.output, j.w.stream, why, sizeof why)) ||
        (rc = zv_cli_sink_open(&j.w.err, ring, f.errors_path, j.w.stream, why, sizeof why))) {
        zv_cli_err("zvm batch: %s\n", why);
        status = 2;
        goto out;
    }
    c0 = zv_cli_cpu_s();
    j.show_progress = f.p.progress < 0 ? isatty(2) : f.p.progress;
    j.start_ns = now_ns();
    feed = (zv_pf_feed){source, put_result, j.show_progress ? tick : NULL, &j,
                        j.w.stream ? flush_stream : NULL, j.w.stream ? input_fd : NULL, 0};
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_reload;
        sa.sa_flags = SA_RESTART; /* the input's reads go on */
        sigaction(SIGHUP, &sa, NULL);
    }
    rc = zv_pf_pool_run(j.pool, &feed);
    while (rc == -EINTR && reload_asked) {
        writer_flush(&j.w);
        feed.first_index = zv_pf_pool_fed(j.pool);
        reload(&j, &opts, &mod, metrics);
        rc = zv_pf_pool_run(j.pool, &feed);
    }
    if (j.show_progress && !zv_cli_log_json) {
        tick(&j);
        fputc('\n', stderr);
    }
    if (rc < 0) {
        const char *file = zv_io_reader_file(j.rd);
        zv_cli_err("zvm batch: %s%s%s: input stopped: %s\n", f.input, file ? "/" : "",
                   file ? file : "", rc == -EPROTO ? "truncated len32 record at the end"
                                     : rc == -EINVAL && file ? "not a regular file" : strerror(-rc));
        status = 1;
    }
    writer_flush(&j.w);
    if (j.w.out.failed || j.w.err.failed) {
        zv_cli_err("zvm batch: writing the output failed\n");
        status = 1;
    }
    if (status && j.w.out.path)
        zv_cli_err("zvm batch: the outputs so far are in %s\n", j.w.out.partial);
    if (summary(&j, zv_cli_cpu_s() - c0))
        status = 1;
out:
    zv_pf_metrics_free(metrics);
    zv_pf_pool_free(j.pool);
    if (j.w.out.buf)
        zv_cli_sink_close(&j.w.out, status == 0);
    if (j.w.err.buf)
        zv_cli_sink_close(&j.w.err, status == 0);
    zv_io_ring_free(ring);
    zv_io_reader_free(j.rd);
    zv_eng_module_free(mod);
    zv_cli_pool_flags_free(&f.p);
    return status;
}
