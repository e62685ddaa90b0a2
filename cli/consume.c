/*
 * consume.c — `zvm consume`: records from a Redis stream through a
 * consumer group, one fresh instance each on the pool, results back to
 * Redis with exactly-once output (io/redis.c has the connector and the
 * atomic ack script).
 *
 *   zvm consume --redis URL --stream IN --group G [--consumer NAME]
 *               --module M.wasm --output-stream OUT [--errors-stream ERR]
 *               [--redis-password-file F] [--redis-cacert F --redis-cert F --redis-key F]
 *               [--workers N] [--manifest TEMPLATE] [--timeout S] [--memory B]
 *               [--claim-idle MS] [--max-deliveries N] [--count N] [--pipeline N]
 *               [--skip-empty] [--snapshot on|off|first-read] [--drain]
 *
 * The loop, on one thread (the pool's workers run the records):
 * - read: first this consumer's own pending entries (XREADGROUP from 0: a
 *   restart under the same name resumes at once), then entries idle for
 *   --claim-idle in dead consumers' lists (a claim script, at start and
 *   every half --claim-idle), then new ones (XREADGROUP >), up to
 *   --pipeline reads of --count entries in the pool at once;
 * - each entry is a record (its `data` field) submitted to the pool, or
 *   at once an error: `deleted` (deleted from the stream while pending),
 *   `malformed` (no data), `poison` (delivered more than --max-deliveries
 *   times);
 * - results come back as they finish; every pass commits all that are
 *   ready with one script call per 64 MiB: output to OUT, errors to ERR,
 *   the input acked once its result is written. A write Redis refuses
 *   (OUT or ERR retyped, ids exhausted) is fatal: exit 1, the rest pending.
 * The password comes from the URL, --redis-password-file or
 * ZVM_REDIS_PASSWORD (in that order; the URL's and the file's together
 * are refused), and is overwritten in argv once read, so `ps` shows
 * stars. Before the first read every right the ACL user needs is checked
 * (io.h: zv_io_redis_prepare).
 * A lost connection is retried with backoff (0.1 s doubling to 5 s; a
 * password or a right refused is fatal, not retried); nothing is lost:
 * uncommitted results are committed again (the script keeps only what it
 * acks) and entries read but not seen come back through the pending list. SIGTERM/SIGINT stop reading, finish and
 * commit what is in flight, and exit 0.
 */
#include "cli/consume_private.h"
#include "io/io.h"
#include "prefork/prefork.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COMMIT_BYTES (64u << 20) /* per script call: far below Redis's 512 MB bulk cap */


/* One read's entries and their results, until all are committed. */
typedef struct {
    zv_io_entries *e;     /* NULL: a free slot */
    zv_io_result *res;
    uint8_t **outs;       /* each result's output and stderr, copied */
    uint8_t *state;       /* each result: 0 running, READY, COMMITTED */
    size_t n, committed;  /* entries; results committed */
} batch;

enum { READY = 1, COMMITTED = 2 };

typedef struct {
    consume_flags *f;
    zv_io_redis *r;
    zv_io_group g;
    zv_pf_pool *pool;
    zv_eng_module *mod;         /* the pool's module (a reload replaces both) */
    const zv_eng_opts *opts;    /* what it was loaded with */
    zv_pf_metrics *metrics;     /* or NULL */
    batch b[MAX_PIPELINE];
    unsigned n_batches;         /* slots in use: reads not yet all committed */
    size_t n_ready;             /* results ready and not committed */
    uint64_t in_pool;           /* records submitted, results not yet taken */
    int recover;                /* read this consumer's pending entries first */
    uint64_t next_claim_ns;
    char cursor[64];
    zv_pf_counters *counters;   /* the pool's: records by cause, redeliveries, lag */
    uint64_t written, start_ns, next_lag_ns;
    uint64_t commit_ns, commits, read_ns, reads; /* time in the ack step and in reads */
    int show_progress;
} consumer;

static volatile sig_atomic_t stopping, reload_asked;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void on_reload(int sig)
{
    (void)sig;
    reload_asked = 1;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ---- Redis calls, retried across reconnects ------------------------------------------ */

/* A Redis error on stderr, with where to look when it is a setting. */
static void redis_err(const char *why, int rc)
{
    zv_cli_err("zvm consume: %s%s\n", why,
               rc == -EACCES ? " (the password comes from the --redis URL, "
                               "--redis-password-file or ZVM_REDIS_PASSWORD)"
               : rc == -EPERM ? " (zvm consume needs its three keys, e.g. ~{logs}:*, and the rights "
                                ZV_IO_REDIS_ACL ")"
                              : "");
}

/* After a lost connection: reconnect with backoff until it works (or
 * we are stopping and nothing needs committing). 0, or -EPIPE. */
static int reconnect(consumer *c, const char *why)
{
    uint64_t wait_ms = 100;
    char msg[512];
    zv_cli_event("warning", "connection_lost", NULL, "%s; reconnecting", why);
    for (;;) {
        nanosleep(&(struct timespec){(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000},
                  NULL);
        int rc = zv_io_redis_reconnect(c->r, msg, sizeof msg);
        if (rc == 0)
            break;
        if (rc == -EACCES || rc == -EPERM || rc == -EINVAL) { /* a setting: retrying won't help */
            redis_err(msg, rc);
            return rc;
        }
        if (stopping && !c->n_batches)
            return -EPIPE;
        wait_ms = wait_ms * 2 > 5000 ? 5000 : wait_ms * 2;
    }
    zv_pf_bump(&c->counters->reconnects);
    zv_cli_event("info", "connection_regained", NULL, "reconnected to Redis");
    c->recover = 1; /* a read whose reply was lost is in the pending list */
    return 0;
}

/* A failed call: -EPIPE reconnects, -EAGAIN waits a little (then 1:
 * repeat the call); anything else is fatal (printed; the caller stops). */
static int retry(consumer *c, int rc, const char *why)
{
    if (rc == -EPIPE) {
        int again = reconnect(c, why);
        return again == 0 ? 1 : again;
    }
    if (rc == -EAGAIN) { /* e.g. LOADING after a restart */
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        return 1;
    }
    if (why[0])
        redis_err(why, rc);
    else
        zv_cli_err("zvm consume: %s\n", strerror(-rc));
    return rc;
}

/* ---- reading -------------------------------------------------------------------- */

/* A result that is an error: one the pool gave (counted there), or one
 * decided here before the record ran (counted here, as `early`). */
static void put_error(consumer *c, batch *b, size_t i, const char *cause, const char *detail)
{
    const zv_io_entry *x = zv_io_entries_at(b->e, i);
    b->res[i] = (zv_io_result){.id = x->id, .kind = 'e', .cause = cause, .detail = detail,
                               .data = x->data, .len = x->len};
    b->state[i] = READY;
    c->n_ready++;
}

static void put_early(consumer *c, batch *b, size_t i, int cause, const char *detail)
{
    zv_pf_bump(&c->counters->records[cause]);
    put_error(c, b, i, zv_pf_cause_names[cause], detail);
    if (cause == ZV_PF_POISON) {
        const zv_io_entry *x = zv_io_entries_at(b->e, i);
        char n[24];
        snprintf(n, sizeof n, "%lld", (long long)x->deliveries);
        zv_cli_event("warning", "poison",
                     (zv_cli_kv[]){{"id", x->id, NULL}, {"stream", c->f->stream, NULL},
                                   {"deliveries", NULL, n}, {NULL, NULL, NULL}},
                     "entry %s of %s is poison: delivered %s times, more than --max-deliveries; "
                     "it goes to %s", x->id, c->f->stream, n, c->f->err);
    }
}

/* Submit a read's entries; a full pool gives its results back first. */
static int take_results(consumer *c, int wait_ms);

static int submit(consumer *c, unsigned slot)
{
    batch *b = &c->b[slot];
    for (size_t i = 0; i < b->n; i++) {
        const zv_io_entry *x = zv_io_entries_at(b->e, i);
        int rc;
        if (x->deliveries > 1)
            zv_pf_bump(&c->counters->redeliveries);
        if (x->deleted) {
            put_early(c, b, i, ZV_PF_DELETED, "the entry was deleted from the stream while pending");
            continue;
        }
        if (!x->has_data) {
            put_early(c, b, i, ZV_PF_MALFORMED, "the entry has no data field");
            continue;
        }
        if (x->deliveries > c->f->max_deliveries) {
            put_early(c, b, i, ZV_PF_POISON, "delivered more than --max-deliveries times");
            continue;
        }
        while ((rc = zv_pf_pool_submit(c->pool, x->data, x->len, (uint64_t)slot << 32 | i)) ==
               -EAGAIN)
            if ((rc = take_results(c, -1)) < 0)
                return rc;
        if (rc == -E2BIG) {
            put_early(c, b, i, ZV_PF_LIMIT, "the record is larger than the input limit");
            continue;
        }
        if (rc)
            return rc;
        c->in_pool++;
    }
    return 0;
}

/* One read: pending, claimed or new entries, into the next slot.
 * Returns the entries read (0: none now), or -errno. */
static int read_some(consumer *c)
{
    unsigned slot = 0;
    batch *b;
    zv_io_entries *e = NULL;
    char why[512] = "";
    int rc, claimed = 0, pending = c->recover;
    uint64_t t0 = now_ns();
    for (;;) {
        if (pending)
            rc = zv_io_redis_read(c->r, &c->g, 1, c->f->count, -1, &e, why, sizeof why);
        else if ((claimed = c->f->claim_idle_ms && now_ns() >= c->next_claim_ns))
            rc = zv_io_redis_claim(c->r, &c->g, c->f->claim_idle_ms, c->f->count, c->cursor, &e,
                                   why, sizeof why);
        else /* block only when nothing is in flight, and never past a stop */
            rc = zv_io_redis_read(c->r, &c->g, 0, c->f->count,
                                  c->n_batches || c->f->drain ? -1 : 1000, &e, why, sizeof why);
        if (rc > 0 && (pending || claimed)) {
            int drc = zv_io_redis_deliveries(c->r, &c->g, e, why, sizeof why);
            rc = drc ? drc : rc;
        }
        if (rc >= 0 || (rc = retry(c, rc, why)) != 1)
            break;
        zv_io_entries_free(e);
        e = NULL;
        pending = c->recover;
    }
    if (rc != 0 || c->n_batches) { /* not a wait for new entries */
        c->read_ns += now_ns() - t0;
        c->reads++;
    }
    if (rc <= 0) {
        zv_io_entries_free(e);
        if (pending && rc == 0)
            c->recover = 0; /* the pending list is done: on to new entries */
        if (claimed && (rc == 0 || !strcmp(c->cursor, "0-0"))) {
            strcpy(c->cursor, "0-0"); /* a round is over: the next one later */
            c->next_claim_ns = now_ns() + (uint64_t)c->f->claim_idle_ms * 500000ull;
        }
        return rc == 0 && (claimed || pending) ? read_some(c) : rc; /* on to the next kind */
    }
    if (claimed && !strcmp(c->cursor, "0-0"))
        c->next_claim_ns = now_ns() + (uint64_t)c->f->claim_idle_ms * 500000ull;
    while (c->b[slot].e) /* a free slot: there are more than --pipeline */
        slot++;
    b = &c->b[slot];
    b->e = e;
    b->n = zv_io_entries_count(e);
    b->committed = 0;
    b->res = calloc(b->n, sizeof *b->res);
    b->outs = calloc(b->n, sizeof *b->outs);
    b->state = calloc(b->n, 1);
    if (!b->res || !b->outs || !b->state)
        return -ENOMEM;
    c->n_batches++;
    if ((rc = submit(c, slot)))
        return rc;
    return (int)b->n;
}

/* ---- results and commits ---------------------------------------------------------- */

static void free_batch(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->outs[i]);
    free(b->outs);
    free(b->res);
    free(b->state);
    zv_io_entries_free(b->e);
    memset(b, 0, sizeof *b);
}

/* The first m ready results, in the order commit_ready lists them, are
 * committed: count them and free the reads that are all committed. */
static void mark_committed(consumer *c, size_t m)
{
    for (unsigned k = 0; k < MAX_PIPELINE; k++) {
        batch *b = &c->b[k];
        for (size_t i = 0; b->e && i < b->n && m; i++)
            if (b->state[i] == READY) {
                b->state[i] = COMMITTED;
                b->committed++;
                c->n_ready--;
                m--;
            }
        if (b->e && b->committed == b->n) {
            free_batch(b);
            c->n_batches--;
        }
    }
}

/* Commit every ready result, one script call per COMMIT_BYTES, whatever
 * its read (a slow record holds back no other: results come as they
 * finish), and free the reads that are all committed. A write Redis
 * refuses is fatal: what was committed before it counts, the rest stays
 * pending in Redis. */
static int commit_ready(consumer *c)
{
    zv_io_result *list;
    size_t n = 0, from = 0, done = 0;
    int rc = 0;
    if (!c->n_ready)
        return 0;
    if (!(list = malloc(c->n_ready * sizeof *list)))
        return -ENOMEM;
    for (unsigned k = 0; k < MAX_PIPELINE; k++)
        for (size_t i = 0; c->b[k].e && i < c->b[k].n; i++)
            if (c->b[k].state[i] == READY)
                list[n++] = c->b[k].res[i];
    while (from < n && !rc) {
        size_t to = from, bytes = 0;
        long long written = 0;
        char why[512] = "";
        uint64_t t0 = now_ns();
        while (to < n && (to == from || bytes + list[to].len < COMMIT_BYTES))
            bytes += list[to++].len;
        while ((rc = zv_io_redis_commit(c->r, &c->g, list + from, to - from, &written, &done,
                                        why, sizeof why)) < 0 &&
               (rc = retry(c, rc, why)) == 1)
            ;
        c->commit_ns += now_ns() - t0;
        c->commits++;
        c->written += (uint64_t)written;
        from += done;
    }
    free(list);
    mark_committed(c, from);
    return rc < 0 ? rc : 0;
}

/* A result into its read's slot. Its output, stderr and (for an exit)
 * its detail are copied into one buffer: the pool's are valid only until
 * the next result, and commits come later. */
static void put_result(consumer *c, const zvm_result *r)
{
    batch *b = &c->b[r->tag >> 32];
    size_t i = (uint32_t)r->tag, keep = r->status == ZVM_OK ? r->len : 0;
    const zv_io_entry *x = zv_io_entries_at(b->e, i);
    zv_io_result *res = &b->res[i];
    uint8_t *copy = malloc(keep + r->stderr_len + 24);
    char *detail = copy ? (char *)copy + keep + r->stderr_len : NULL;
    c->in_pool--;
    if (!copy) {
        put_error(c, b, i, "limit", "no host memory for the output");
        return;
    }
    b->outs[i] = copy;
    memcpy(copy, r->data, keep);
    memcpy(copy + keep, r->stderr_data, r->stderr_len);
    snprintf(detail, 24, "%s", r->detail ? r->detail : "");
    if (r->status != ZVM_OK)
        put_error(c, b, i, zv_cli_cause(r->status),
                  r->status == ZVM_EXIT ? detail : r->detail ? r->detail : zv_cli_cause(r->status));
    else if (!r->len && !r->exit_code && !r->stderr_len && c->f->skip_empty)
        *res = (zv_io_result){.id = x->id, .kind = 's'};
    else
        *res = (zv_io_result){.id = x->id, .kind = 'o', .data = copy, .len = keep};
    if (r->exit_code)
        snprintf(res->exit_code, sizeof res->exit_code, "%d", r->exit_code);
    res->stderr_data = copy + keep;
    res->stderr_len = r->stderr_len;
    if (res->kind != 'e') { /* (put_error made it ready) */
        b->state[i] = READY;
        c->n_ready++;
    }
}

/* Take what results are ready (waiting up to wait_ms for the first when
 * asked), then commit what is complete. */
static int take_results(consumer *c, int wait_ms)
{
    zvm_result r;
    int got;
    while (c->in_pool && (got = zv_pf_pool_next(c->pool, &r, wait_ms)) == 1) {
        put_result(c, &r);
        wait_ms = 0;
    }
    return commit_ready(c);
}

static void progress(consumer *c)
{
    zv_cli_stats st;
    if (!c->show_progress)
        return;
    zv_cli_stats_read(c->pool, c->start_ns, 0, &st);
    zv_cli_progress("zvm consume", &st, -1, 0);
}

/* What Redis Cluster (or a restarted server) made the connector do, if anything. */
static void redirects_line(consumer *c, FILE *f)
{
    zv_io_redis_counts k;
    zv_io_redis_counts_get(c->r, &k);
    if (k.moved || k.ask || k.tryagain || k.noscript)
        fprintf(f, "  redirects and retries: %llu MOVED, %llu ASK, %llu TRYAGAIN, %llu NOSCRIPT "
                   "(scripts loaded again)\n",
                (unsigned long long)k.moved, (unsigned long long)k.ask,
                (unsigned long long)k.tryagain, (unsigned long long)k.noscript);
}

/* The summary on stderr or in --stats-file, as text or JSON. */
static int summary(consumer *c, double cpu_s)
{
    zv_cli_stats st;
    char why[256];
    long long lag = -1;
    FILE *f = c->f->p.stats_path ? fopen(c->f->p.stats_path, "w") : stderr;
    if (c->show_progress && !zv_cli_log_json)
        fputc('\n', stderr);
    if (zv_io_redis_lag(c->r, &c->g, &lag, why, sizeof why) == 0)
        atomic_store(&c->counters->lag, lag);
    zv_cli_stats_read(c->pool, c->start_ns, cpu_s, &st);
    if (!f) {
        zv_cli_err("zvm consume: %s: cannot write the summary: %s\n", c->f->p.stats_path,
                   strerror(errno));
        return 1;
    }
    if (c->f->p.json || (zv_cli_log_json && f == stderr)) {
        zv_cli_summary("zvm consume", &st, 1, f);
    } else {
        fprintf(f, "zvm consume: %llu records (%llu errors, %llu redelivered), %llu entries "
                   "written, as consumer %s\n",
                (unsigned long long)st.records, (unsigned long long)st.errors,
                (unsigned long long)st.redeliveries, (unsigned long long)c->written,
                c->f->consumer);
        if (st.records)
            fprintf(f, "  ack step: %llu calls, %.2f us per record; reads: %llu, %.2f us per "
                       "record\n",
                    (unsigned long long)c->commits, (double)c->commit_ns / 1e3 / (double)st.records,
                    (unsigned long long)c->reads, (double)c->read_ns / 1e3 / (double)st.records);
        redirects_line(c, f);
        if (f == stderr)
            zv_cli_tiers_line(c->pool);
    }
    return f != stderr && fclose(f) ? 1 : 0;
}

/* The group's lag for the metrics, every LAG_EVERY_NS (one XINFO GROUPS). */
#define LAG_EVERY_NS 5000000000ull
static void refresh_lag(consumer *c)
{
    char why[256];
    long long lag;
    if (now_ns() < c->next_lag_ns)
        return;
    c->next_lag_ns = now_ns() + LAG_EVERY_NS;
    if (zv_io_redis_lag(c->r, &c->g, &lag, why, sizeof why) == 0)
        atomic_store(&c->counters->lag, lag);
}

/* SIGHUP: load --module again (validated and compiled first) into a new
 * pool; the records in flight finish on the old one, which is then freed,
 * and the counters go on from where they were. A module that does not
 * load, or a pool that does not start, leaves the old one running and
 * says why. The reading pauses while the in-flight records drain (at most
 * --pipeline reads of --count entries); nothing is read twice or lost:
 * entries are acknowledged as always, after their results are written. */
static int reload(consumer *c)
{
    zv_eng_module *m = NULL;
    zv_pf_pool *p = NULL, *old = c->pool;
    zv_eng_err err = {0};
    char why[600], sha[65];
    int rc;
    reload_asked = 0;
    if ((rc = zv_eng_module_load_file(c->f->module_path, c->opts, &m, NULL, &err)) ||
        (rc = zv_pf_pool_new(m, &c->f->p.cfg, &p, why, sizeof why))) {
        zv_pf_bump(&c->counters->reload_failures);
        zv_cli_event("warning", "reload_failed", (zv_cli_kv[]){{"module", c->f->module_path, NULL},
                                                               {NULL, NULL, NULL}},
                     "reload refused, the module before runs on: %s", m ? why : err.msg);
        zv_eng_module_free(m);
        return 0;
    }
    while (c->in_pool)
        if ((rc = take_results(c, -1)) < 0)
            break;
    if (rc < 0) {
        zv_pf_pool_free(p);
        zv_eng_module_free(m);
        return rc;
    }
    zv_pf_counters_carry(zv_pf_pool_counters(p), c->counters);
    c->counters = zv_pf_pool_counters(p);
    zv_pf_bump(&c->counters->reloads);
    zv_pf_metrics_set_pool(c->metrics, p);
    c->pool = p;
    zv_pf_pool_free(old);
    zv_eng_module_free(c->mod);
    c->mod = m;
    zv_cli_module_id(m, sha);
    zv_cli_event("info", "reload", (zv_cli_kv[]){{"module", c->f->module_path, NULL},
                                                 {"sha256", sha, NULL}, {NULL, NULL, NULL}},
                 "reloaded %s (sha256 %.12s): new records run it", c->f->module_path, sha);
    return 0;
}

static int run(consumer *c)
{
    uint64_t last_progress = 0;
    int rc = 0, said_stop = 0;
    for (;;) {
        int got = 0, dry = 0; /* dry: a read found nothing */
        if (stopping && !said_stop) {
            said_stop = 1;
            zv_cli_notify("STOPPING=1");
            zv_cli_event("info", "stop", NULL, "stopping on a signal: no more reads; the %llu "
                         "records in flight finish and are committed",
                         (unsigned long long)c->in_pool);
        }
        if (stopping && !c->n_batches)
            break;
        if (reload_asked && !stopping && (rc = reload(c)) < 0)
            return rc;
        /* read ahead while there is room; the pending list only once
         * nothing of ours is in flight (it would list those too) */
        while (!stopping && c->n_batches < c->f->pipeline && !(c->recover && c->n_batches) &&
               !dry && (got = read_some(c)) >= 0)
            dry = got == 0;
        if (got < 0)
            return got;
        if ((rc = take_results(c, c->in_pool ? 50 : 0)) < 0)
            return rc;
        if (now_ns() - last_progress > 250000000ull) {
            progress(c);
            last_progress = now_ns();
        }
        refresh_lag(c);
        if (c->f->drain && dry && !c->n_batches && !c->recover) {
            zv_cli_event("info", "stop", NULL, "stopping: the stream has nothing more for this "
                         "consumer (--drain)");
            break;
        }
    }
    return 0;
}

int zv_cli_consume(int argc, char **argv)
{
    consume_flags f;
    consumer c;
    zv_eng_module *m = NULL;
    zv_eng_opts opts = {0};
    zv_eng_err eerr = {0};
    zv_io_redis_opts ropts;
    zv_pf_metrics *metrics = NULL;
    char why[512] = "", name[300], err_stream[1024];
    struct sigaction sa;
    double timeout_ms, c0;
    int rc, status = 1;
    memset(&f, 0, sizeof f);
    memset(&c, 0, sizeof c);
    f.claim_idle_ms = 30000;
    f.max_deliveries = 5;
    f.count = 256;
    f.pipeline = 4;
    f.p.progress = -1;
    f.p.cfg.unordered = 1; /* results as they finish: a slow record holds back no other */
    if ((rc = zv_cli_consume_parse(argc, argv, &f))) {
        status = rc == ZV_CLI_HELP ? 0 : 2;
        goto out;
    }
    timeout_ms = (f.p.cfg.timeout_s > 0 ? f.p.cfg.timeout_s : 10) * 1000;
    if (f.claim_idle_ms && (double)f.claim_idle_ms <= timeout_ms) {
        zv_cli_err("zvm consume: --claim-idle %lld ms must exceed the record timeout "
                        "(%.0f ms), or records still running would be claimed by others\n",
                f.claim_idle_ms, timeout_ms);
        status = 2;
        goto out;
    }
    if (!f.p.cfg.workers) { /* this thread talks to Redis all the time: leave it a core
                           * (measured with perf/consume.sh: 300k/s with 1 worker on
                           * 2 cores, 190k/s with 2) */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        f.p.cfg.workers = cores > 2 ? (unsigned)(cores - 1) : 1;
    }
    if (!f.consumer) { /* HOSTNAME-PID: unique, but a restart gets a new name (README) */
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(name, sizeof name, "%s-%d", host, (int)getpid());
        f.consumer = name;
    }
    if (!f.err) {
        snprintf(err_stream, sizeof err_stream, "%s.errors", f.stream);
        f.err = err_stream;
    }
    opts.policy = &zv_val_default_policy;
    opts.trust_key = f.p.has_trust_key ? f.p.trust_key : NULL;
    if (zv_cli_tiering(&opts, "consume")) { /* the pool moves to the gcc build between records */
        status = 2;
        goto out;
    }
    c.f = &f;
    c.g = (zv_io_group){f.stream, f.out, f.err, f.group, f.consumer};
    c.recover = 1;
    strcpy(c.cursor, "0-0");
    c.show_progress = f.p.progress < 0 ? isatty(2) : f.p.progress;
    signal(SIGPIPE, SIG_IGN); /* a server that goes away is a lost connection, not our end */
    opts.fork_point = f.p.cfg.snapshot == ZVM_SNAPSHOT_FIRST_READ;
    if ((rc = zv_eng_module_load_file(f.module_path, &opts, &m, NULL, &eerr))) {
        zv_cli_file_err("consume", f.module_path, eerr.msg);
        status = zv_cli_load_status(rc);
        goto out;
    }
    c.mod = m; /* a reload replaces it: freed as c.mod */
    c.opts = &opts;
    ropts = (zv_io_redis_opts){&f.url, f.consumer, f.cacert, f.cert, f.key};
    if ((rc = zv_io_redis_connect(&ropts, &c.r, why, sizeof why))) {
        redis_err(why, rc);
        goto out;
    }
    while ((rc = zv_io_redis_prepare(c.r, &c.g, why, sizeof why)) == -EAGAIN)
        nanosleep(&(struct timespec){0, 100000000}, NULL); /* e.g. still loading */
    if (rc) {
        if (why[0])
            redis_err(why, rc);
        else
            zv_cli_err("zvm consume: Redis: %s\n", strerror(-rc));
        goto out;
    }
    if ((rc = zv_pf_pool_new(m, &f.p.cfg, &c.pool, why, sizeof why))) {
        zv_cli_file_err("consume", f.module_path, why);
        status = rc == -EINVAL ? 2 : 1;
        goto out;
    }
    c.counters = zv_pf_pool_counters(c.pool);
    atomic_store(&c.counters->consumer, 1);
    if (zv_cli_metrics_start(f.p.metrics, c.pool, &metrics))
        goto out;
    c.metrics = metrics;
    {
        char server[600];
        zv_io_redis_url_show(&f.url, server, sizeof server);
        zv_cli_started(f.module_path, m, c.pool, metrics,
                       (zv_cli_kv[]){{"redis", server, NULL}, {"stream", f.stream, NULL},
                                     {"group", f.group, NULL}, {"consumer", f.consumer, NULL},
                                     {NULL, NULL, NULL}}, "");
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, NULL);
    zv_cli_notify("READY=1\nSTATUS=consuming"); /* the pool is up and Redis answered */
    c.start_ns = now_ns();
    c0 = zv_cli_cpu_s();
    rc = run(&c);
    status = summary(&c, zv_cli_cpu_s() - c0) || rc ? 1 : 0;
out:
    for (unsigned k = 0; k < MAX_PIPELINE; k++)
        free_batch(&c.b[k]);
    zv_pf_metrics_free(metrics);
    zv_pf_pool_free(c.pool);
    zv_eng_module_free(c.mod);
    zv_io_redis_free(c.r);
    explicit_bzero(f.url.password, sizeof f.url.password);
    zv_cli_pool_flags_free(&f.p);
    return status;
}
