/*
 * pool.c — the instance pool: records in, one fresh instance each on
 * pinned workers, results out.
 *
 * Records travel in batches (up to 256 records or 1 MiB). The submitting
 * side appends each record to an open batch and hands the batch to the
 * least loaded worker when it is full, or at once when some worker is
 * idle: under light load a record goes alone and its latency is one
 * instance; under heavy load batches fill and the per-record cost of the
 * hand-off vanishes. Each worker owns a runner (runner.c) and two
 * lock-free single-producer single-consumer queues: batches to run, and
 * batches done. The consuming side collects done batches and returns
 * their results one by one, in submit order (batches carry a sequence
 * number) or as they finish. A batch goes back to the free list when its
 * last result has been read.
 *
 * Threads and what they touch:
 * - the submitter: the open batch, the free list and the workers' `todo`
 *   producer ends, under `prod_lock` (uncontended but for flushes from
 *   the consumer: about 25 ns per record);
 * - the consumer: the workers' `done` consumer ends, the reorder buffer,
 *   the current batch;
 * - worker k: its `todo` consumer end and `done` producer end, its runner.
 * Nothing on a worker's per-record path is shared, allocated or locked.
 *
 * Tiers: a module loaded from its baseline build (tcc, while gcc -O2
 * builds the optimised one in the background: engine.h) starts at once;
 * a thread polls the cache for the optimised build (every 50 ms) and
 * publishes it, and each worker moves its instance to it before its next
 * batch (zv_pf_runner_retier: one atomic load per batch until then).
 * Modules with a fork point are never loaded from the baseline (their
 * paused set-up could not move); a runner refuses to move one anyway.
 *
 * Waiting: a worker with nothing to do polls its queue for about 10 ms
 * (20 us naps), gives its pages back, then sleeps on a futex until the
 * submitter wakes it. A consumer with nothing to return arms a flag and
 * waits on an eventfd, which a worker writes only when the flag is armed:
 * no syscall on either side while results flow.
 */
#include "prefork/pool_private.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BATCH_START_BYTES (64u << 10)
#define IDLE_NAPS 500 /* 20 us each: about 10 ms before a worker sleeps */

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void nap(void) { nanosleep(&(struct timespec){0, 20000}, NULL); }

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO: no syscall */
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Room for n more bytes in *buf (cap doubles). 0, or -ENOMEM. */
static int room(uint8_t **buf, size_t *cap, size_t len, size_t n)
{
    size_t want = *cap ? *cap : BATCH_START_BYTES;
    uint8_t *p;
    if (len + n <= *cap)
        return 0;
    while (want < len + n)
        want *= 2;
    if (!(p = realloc(*buf, want)))
        return -ENOMEM;
    *buf = p;
    *cap = want;
    return 0;
}

/* ---- workers ------------------------------------------------------------------ */

static int exit_ok(const zv_pf_pool *p, int code)
{
    return code == 0 || (code > 0 && code < 256 && (p->exit_ok[code / 64] >> (code % 64) & 1));
}

/* A record's stderr goes with its result, whatever its status, after its
 * stdout in the batch's buffer; what was not kept is said by a marker. */
static void keep_stderr(const zv_pf_pool *p, batch *b, rec *r, const zv_pf_outcome *oc)
{
    char mark[48];
    int n = oc->err_dropped && p->stderr_bytes ? snprintf(mark, sizeof mark, "[zvm: %llu more bytes]",
                                       (unsigned long long)oc->err_dropped) : 0;
    r->err_off = b->out_len;
    r->err_len = 0;
    if ((!oc->err_len && !n) || room(&b->out, &b->out_cap, b->out_len, oc->err_len + (size_t)n))
        return; /* (no host memory: the record's result stands without it) */
    memcpy(b->out + b->out_len, oc->err, oc->err_len);
    memcpy(b->out + b->out_len + oc->err_len, mark, (size_t)n);
    r->err_len = oc->err_len + (size_t)n;
    b->out_len += r->err_len;
}

static void run_record(worker *w, batch *b, rec *r)
{
    zv_pf_outcome oc;
    int rc;
    r->out_off = r->err_off = b->out_len;
    r->out_len = r->err_len = 0;
    r->exit_code = 0;
    if (r->too_big) {
        r->status = ZVM_LIMIT;
        r->detail = "the record is larger than the input limit";
        return;
    }
    if (w->p->jobs) { /* the record is a zv_pf_job pointer */
        zv_pf_job *job;
        memcpy(&job, b->in + r->in_off, sizeof job);
        rc = zv_pf_runner_run_job(w->runner, job, &oc);
    } else {
        rc = zv_pf_runner_run(w->runner, b->in + r->in_off, r->in_len, &oc);
    }
    zv_lat_add(&w->lat, now_ns() - oc.start_ns);
    r->exit_code = oc.exit_code;
    r->detail = oc.msg;
    if (rc) {
        r->status = oc.trap == ZV_TRAP_TIMEOUT ? ZVM_TIMEOUT : ZVM_TRAP;
    } else if (oc.refused) {
        r->status = ZVM_LIMIT;
        r->detail = "a channel call was refused or cut short by its limit";
    } else if (!exit_ok(w->p, oc.exit_code)) {
        r->status = ZVM_EXIT; /* its detail is made when it is taken */
    } else {
        r->status = ZVM_OK;
    }
    if ((r->status == ZVM_OK || w->p->keep_output) && oc.out_len) {
        if (room(&b->out, &b->out_cap, b->out_len, oc.out_len)) {
            r->status = ZVM_LIMIT; /* rare: the host is out of memory, not the guest */
            r->detail = "no host memory for the output";
        } else {
            memcpy(b->out + b->out_len, oc.out, oc.out_len);
            r->out_len = oc.out_len;
            b->out_len += oc.out_len;
        }
    }
    keep_stderr(w->p, b, r, &oc);
}

/* Nothing queued: nap, then sleep on the futex. Returns when work may be
 * there (or the pool stops). */
static void idle(worker *w, uint32_t *naps)
{
    uint32_t seq;
    if (++*naps < IDLE_NAPS) {
        nap();
        return;
    }
    if (*naps == IDLE_NAPS)
        zv_pf_runner_idle(w->runner); /* idle slots cost no resident memory */
    seq = atomic_load(&w->wake);
    atomic_store(&w->sleeping, 1);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with hand_off's fence */
    if (zv_spsc_empty(&w->todo) && !atomic_load(&w->p->stop))
        futex_wait(&w->wake, seq);
    atomic_store(&w->sleeping, 0);
}

/* Before a batch on the baseline build: move to the optimised one once it
 * is published (a runner that cannot move stays where it is), else count
 * the batch's records as run on the baseline. */
static void move_tier(worker *w, uint32_t n)
{
    zv_eng_module *opt = atomic_load_explicit(&w->p->optimised, memory_order_acquire);
    if (opt && zv_pf_runner_retier(w->runner, opt) == 0) {
        atomic_store_explicit(&w->mod, opt, memory_order_relaxed);
        return;
    }
    zv_pf_bump_by(&w->baseline_records, n);
}

/* The tier thread: polls the cache until the optimised build is there (or
 * will never be), loads it and publishes it. */
static void *tier_main(void *arg)
{
    zv_pf_pool *p = arg;
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        struct timespec nap50 = {0, 50 * 1000 * 1000};
        zv_eng_module *m;
        zv_eng_err err;
        int rc = zv_eng_module_optimised(p->mod, &m, &err);
        if (rc == 0)
            atomic_store_explicit(&p->optimised, m, memory_order_release);
        if (rc != -EINPROGRESS)
            break;
        nanosleep(&nap50, NULL);
    }
    return NULL;
}

/* A worker could not start: the first one to fail says why, and only
 * then counts itself failed, since zv_pf_pool_new reads the reason once
 * every worker is counted (counted first, a preempted writer left it an
 * rc of 0 and no pool: zvm batch crashed, e2e_hardening check 4). */
static int worker_failed(zv_pf_pool *p, int rc, const char *msg)
{
    if (atomic_fetch_add(&p->fail_claimed, 1) == 0) {
        snprintf(p->fail_msg, sizeof p->fail_msg, "%s", msg);
        p->fail_rc = rc;
    }
    atomic_fetch_add(&p->failed, 1);
    return rc;
}

static int worker_main(zv_cpu_worker *cw)
{
    zv_pf_pool *p = zv_cpu_worker_arg(cw);
    worker *w = &p->w[zv_cpu_worker_index(cw)];
    zv_eng_err err = {0};
    uint32_t naps = 0;
    void *base;
    size_t size;
    batch *b;
    int rc;
    zv_eng_thread_init();
    zv_pf_watch_attach(w->watch);
    /* naps of 20 us, not 20 plus the default 50 us of timer slack: a
     * record handed to a napping worker waits for the nap's end (daemon
     * job round trips to /dev/null, perf/daemon.sh's set-up: p50 183 us
     * with the default slack, 104-126 us with this) */
    prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
    /* the process's stop signals are for the embedder's threads */
    {
        sigset_t stops;
        sigemptyset(&stops);
        sigaddset(&stops, SIGTERM);
        sigaddset(&stops, SIGINT);
        sigaddset(&stops, SIGHUP);
        sigaddset(&stops, SIGQUIT);
        pthread_sigmask(SIG_BLOCK, &stops, NULL);
    }
    zv_pf_runner_opts ro = {p->reset_how, p->snapshot, w->watch, p->timeout_ns, p->stderr_bytes};
    atomic_store_explicit(&w->mod, p->mod, memory_order_relaxed);
    if ((rc = zv_pf_runner_new(p->mod, p->man, &ro, &w->runner, &err)))
        return worker_failed(p, rc, err.msg);
    /* the slot lives on this core's NUMA node: the binding keeps pages
     * faulted in later there (a failure, e.g. -EPERM in a container, only
     * costs locality) */
    if (zv_pf_runner_reservation(w->runner, &base, &size) == 0)
        zv_cpu_bind_memory(zv_cpu_worker_topology(cw), base, size, zv_cpu_worker_place(cw)->numa);
    if ((rc = zv_pf_seccomp_worker())) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot install the workers' syscall filter: %s "
                 "(ZVM_SECCOMP=0 runs without it)", strerror(-rc));
        return worker_failed(p, rc, msg);
    }
    atomic_fetch_add(&p->ready, 1);
    while (!atomic_load_explicit(&p->stop, memory_order_acquire)) {
        uint64_t t0;
        /* in pull mode with a worker on every core, the workers run the
         * feed between their batches, one at a time (pool_feed.c) */
        int feeding = atomic_load_explicit(&p->workers_feed, memory_order_acquire);
        int fed = feeding && zv_pf_feed_try(p);
        if (!(b = zv_spsc_pop(&w->todo))) {
            if (fed)
                continue;
            if (feeding && !(atomic_load_explicit(&p->feed_state, memory_order_acquire) &
                             FEED_BLOCKED))
                nap(); /* no sleeping: the feed token must keep moving */
            else /* a source waiting for bytes: the calling thread waits for them */
                idle(w, &naps);
            continue;
        }
        naps = 0;
        b->out_len = 0;
        if (zv_eng_module_is_baseline(atomic_load_explicit(&w->mod, memory_order_relaxed)))
            move_tier(w, b->n);
        t0 = now_ns();
        for (uint32_t i = 0; i < b->n && !atomic_load_explicit(&p->stop, memory_order_relaxed); i++)
            run_record(w, b, &b->r[i]);
        b->run_ns = now_ns() - t0;
        atomic_fetch_add_explicit(&w->finished, 1, memory_order_release);
        zv_spsc_push(&w->done, b); /* fits: at most QUEUE_DEPTH not collected */
        atomic_thread_fence(memory_order_seq_cst); /* pairs with the consumer's arming */
        if (atomic_load_explicit(&p->armed, memory_order_relaxed) &&
            atomic_exchange(&p->armed, 0)) {
            uint64_t one = 1;
            if (write(p->efd, &one, sizeof one) < 0) { /* cannot fail: the counter never fills */
            }
        }
    }
    return 0;
}

/* ---- the submitting side --------------------------------------------------------- */

static uint32_t load(worker *w)
{
    return w->handed - atomic_load_explicit(&w->collected, memory_order_acquire);
}

static int is_idle(worker *w)
{
    return w->handed == atomic_load_explicit(&w->finished, memory_order_acquire);
}

/* Hand the open batch to the least loaded worker (an idle one first).
 * 1 if it went, 0 if every worker's queue is full. */
static int hand_off(zv_pf_pool *p)
{
    worker *best = NULL;
    for (uint32_t k = 0; k < p->n_workers; k++) {
        worker *w = &p->w[k];
        if (load(w) >= QUEUE_DEPTH)
            continue;
        if (is_idle(w)) {
            best = w;
            break;
        }
        if (!best || load(w) < load(best))
            best = w;
    }
    if (!best)
        return 0;
    p->open->seq = p->next_seq++;
    zv_spsc_push(&best->todo, p->open); /* fits: QUEUE_DEPTH < ZV_SPSC_CAP */
    best->handed++;
    p->open = NULL;
    atomic_store_explicit(&p->open_n, 0, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with idle()'s fence */
    if (atomic_load_explicit(&best->sleeping, memory_order_relaxed)) {
        atomic_fetch_add(&best->wake, 1);
        futex_wake(&best->wake);
    }
    return 1;
}

static int any_idle(zv_pf_pool *p)
{
    for (uint32_t k = 0; k < p->n_workers; k++)
        if (is_idle(&p->w[k]))
            return 1;
    return 0;
}

int zv_pf_pool_send(zv_pf_pool *p)
{
    return p->open && p->open->n ? hand_off(p) : 1;
}

int zv_pf_pool_append(zv_pf_pool *p, const void *data, size_t len, uint64_t tag, int eager)
{
    int too_big = len > p->input_limit;
    batch *b = p->open;
    rec *r;
    if (too_big)
        len = 0;
    if (b && (b->n == BATCH_MAX || b->in_len + len > BATCH_BYTES) && !hand_off(p))
        return -EAGAIN;
    if (!p->open) {
        if (!p->n_free)
            return -EAGAIN;
        b = p->open = p->free_list[--p->n_free];
        b->n = 0;
        b->in_len = 0;
    }
    if (room(&b->in, &b->in_cap, b->in_len, len))
        return -ENOMEM;
    r = &b->r[b->n++];
    r->tag = tag;
    r->in_off = b->in_len;
    r->in_len = len;
    r->too_big = too_big;
    if (len)
        memcpy(b->in + b->in_len, data, len);
    b->in_len += len;
    atomic_store_explicit(&p->open_n, b->n, memory_order_relaxed);
    zv_pf_bump(&p->submitted);
    if (b->n == BATCH_MAX || b->in_len >= BATCH_BYTES || (eager && any_idle(p)))
        hand_off(p); /* when every queue is full the batch stays open */
    return 0;
}

int zv_pf_pool_submit(zv_pf_pool *p, const void *data, size_t len, uint64_t tag)
{
    int rc;
    if (!p || (!data && len))
        return -EINVAL;
    if (atomic_load_explicit(&p->closed, memory_order_acquire))
        return -EPIPE;
    if (len > p->input_limit)
        return -E2BIG;
    if (atomic_load(&p->submitted) - atomic_load(&p->returned) >= p->depth)
        return -EAGAIN;
    pthread_mutex_lock(&p->prod_lock);
    rc = zv_pf_pool_append(p, data, len, tag, 1);
    pthread_mutex_unlock(&p->prod_lock);
    return rc;
}

/* Send the open batch on, if it holds anything. */
static void flush(zv_pf_pool *p)
{
    pthread_mutex_lock(&p->prod_lock);
    zv_pf_pool_send(p);
    pthread_mutex_unlock(&p->prod_lock);
}

void zv_pf_pool_close(zv_pf_pool *p)
{
    if (!p)
        return;
    atomic_store_explicit(&p->closed, 1, memory_order_release);
    flush(p);
    /* a fetcher waiting in zv_pf_pool_next for results that will not come
     * (all were returned) wakes and sees the end; one that arms after this
     * sees `closed` itself (the fences pair) */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange(&p->armed, 0)) {
        uint64_t one = 1;
        if (write(p->efd, &one, sizeof one) < 0) { /* cannot fail: the counter never fills */
        }
    }
}

/* ---- the consuming side ----------------------------------------------------------- */

static void release(zv_pf_pool *p, batch *b)
{
    pthread_mutex_lock(&p->prod_lock);
    p->free_list[p->n_free++] = b;
    pthread_mutex_unlock(&p->prod_lock);
}

static void collect(zv_pf_pool *p)
{
    batch *b;
    for (uint32_t k = 0; k < p->n_workers; k++) {
        worker *w = &p->w[k];
        while ((b = zv_spsc_pop(&w->done))) {
            atomic_fetch_add_explicit(&w->collected, 1, memory_order_release);
            if (p->unordered)
                p->pending[p->fifo_tail++ % p->n_batches] = b;
            else
                p->pending[b->seq % p->n_batches] = b;
        }
    }
}

static batch *next_ready(zv_pf_pool *p)
{
    batch *b;
    if (p->unordered) {
        if (p->fifo_head == p->fifo_tail)
            return NULL;
        return p->pending[p->fifo_head++ % p->n_batches];
    }
    b = p->pending[p->want_seq % p->n_batches];
    if (!b || b->seq != p->want_seq)
        return NULL;
    p->pending[p->want_seq++ % p->n_batches] = NULL;
    return b;
}

int zv_pf_pool_take(zv_pf_pool *p, zvm_result *res)
{
    for (;;) {
        if (p->cur && p->cur_i < p->cur->n) {
            const batch *b = p->cur;
            const rec *r = &b->r[p->cur_i++];
            res->tag = r->tag;
            res->status = r->status;
            res->exit_code = r->exit_code;
            res->detail = r->status == ZVM_OK ? NULL : r->detail;
            if (r->status == ZVM_EXIT) {
                snprintf(p->exit_detail, sizeof p->exit_detail, "exit %d", r->exit_code);
                res->detail = p->exit_detail;
            }
            res->data = b->out + r->out_off;
            res->len = r->out_len;
            res->stderr_data = b->out + r->err_off;
            res->stderr_len = r->err_len;
            zv_pf_bump(&p->counters.records[r->status]); /* ZVM_* are the first causes */
            zv_pf_bump(&p->returned);
            return 1;
        }
        if (p->cur) {
            release(p, p->cur);
            p->cur = NULL;
        }
        collect(p);
        if (!(p->cur = next_ready(p)))
            return 0;
        p->cur_i = 0;
    }
}

/* Arm the flag that makes the next finished batch write the eventfd. A
 * worker that found it armed cleared it and wrote: only then is there a
 * count to read first (so the fd is never left readable for nothing, and
 * no syscall is made while results keep coming). */
void zv_pf_pool_arm(zv_pf_pool *p)
{
    if (p->armed_by_me && !atomic_load(&p->armed)) {
        uint64_t v;
        if (read(p->efd, &v, sizeof v) < 0) { /* EAGAIN: the write has not landed yet */
        }
    }
    p->armed_by_me = 1;
    atomic_store(&p->armed, 1);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with the worker's fence */
}

int zv_pf_pool_next(zv_pf_pool *p, zvm_result *r, int timeout_ms)
{
    if (!p || !r)
        return -EINVAL;
    for (;;) {
        struct pollfd pfd = {p->efd, POLLIN, 0};
        if (zv_pf_pool_take(p, r))
            return 1;
        if (atomic_load_explicit(&p->closed, memory_order_acquire) &&
            atomic_load(&p->returned) == atomic_load(&p->submitted))
            return -ENODATA;
        if (p->open_n) /* records still in the open batch would never come back */
            flush(p);
        zv_pf_pool_arm(p);
        if (zv_pf_pool_take(p, r))
            return 1;
        if (atomic_load_explicit(&p->closed, memory_order_acquire) &&
            atomic_load(&p->returned) == atomic_load(&p->submitted))
            return -ENODATA; /* closed while arming (zv_pf_pool_close) */
        if (timeout_ms == 0 || poll(&pfd, 1, timeout_ms) == 0)
            return 0; /* armed: the fd turns readable with the next result */
    }
}

int zv_pf_pool_fd(zv_pf_pool *p) { return p ? p->efd : -EINVAL; }

int zv_pf_pool_forked(const zv_pf_pool *p) { return zv_pf_runner_forked(p->w[0].runner); }

zv_pf_counters *zv_pf_pool_counters(zv_pf_pool *p) { return &p->counters; }

unsigned zv_pf_pool_workers(const zv_pf_pool *p) { return p->n_workers; }

void zv_pf_counters_carry(zv_pf_counters *to, const zv_pf_counters *from)
{
    for (int i = 0; i < ZV_PF_CAUSES; i++)
        zv_pf_bump_by(&to->records[i], atomic_load(&from->records[i]));
    zv_pf_bump_by(&to->output_bytes, atomic_load(&from->output_bytes));
    zv_pf_bump_by(&to->redeliveries, atomic_load(&from->redeliveries));
    zv_pf_bump_by(&to->reconnects, atomic_load(&from->reconnects));
    zv_pf_bump_by(&to->reloads, atomic_load(&from->reloads));
    zv_pf_bump_by(&to->reload_failures, atomic_load(&from->reload_failures));
    atomic_store(&to->lag, atomic_load(&from->lag));
    atomic_store(&to->consumer, atomic_load(&from->consumer));
}

const char *const zv_pf_cause_names[ZV_PF_CAUSES] = {
    "ok", "trap", "timeout", "limit", "exit", "poison", "malformed", "deleted",
};
_Static_assert((int)ZV_PF_OK == (int)ZVM_OK && (int)ZV_PF_TRAP == (int)ZVM_TRAP &&
                   (int)ZV_PF_TIMEOUT == (int)ZVM_TIMEOUT && (int)ZV_PF_LIMIT == (int)ZVM_LIMIT &&
                   (int)ZV_PF_EXIT == (int)ZVM_EXIT,
               "a result's status is its cause");

void zv_pf_pool_stats(const zv_pf_pool *p, zvm_pool_stats *st)
{
    zv_latency_sum all; /* 8 KiB */
    memset(st, 0, sizeof *st);
    if (!p)
        return;
    memset(&all, 0, sizeof all);
    for (uint32_t k = 0; k < p->n_workers; k++)
        zv_lat_merge(&all, &p->w[k].lat);
    /* what the pool ran, not what a command added; counted at take, as
     * `returned`, and carried over a reload (zvm_pool_reload) */
    for (int c = ZVM_OK; c <= ZVM_EXIT; c++)
        st->records += atomic_load(&p->counters.records[c]);
    st->errors = st->records - atomic_load(&p->counters.records[ZVM_OK]);
    st->workers = p->n_workers;
    st->p50_us = (double)zv_lat_quantile(&all, 0.5) / 1e3;
    st->p90_us = (double)zv_lat_quantile(&all, 0.9) / 1e3;
    st->p99_us = (double)zv_lat_quantile(&all, 0.99) / 1e3;
    st->p999_us = (double)zv_lat_quantile(&all, 0.999) / 1e3;
    st->max_us = (double)all.max_ns / 1e3;
    st->mean_us = all.n ? (double)all.sum_ns / (double)all.n / 1e3 : 0;
}

void zv_pf_pool_tiers(const zv_pf_pool *p, unsigned *baseline_workers,
                      uint64_t *baseline_records)
{
    *baseline_workers = 0;
    *baseline_records = 0;
    for (uint32_t k = 0; p && k < p->n_workers; k++) {
        *baseline_records += atomic_load(&p->w[k].baseline_records);
        *baseline_workers += zv_eng_module_is_baseline(atomic_load(&p->w[k].mod));
    }
}

int zv_pf_pool_new(zv_eng_module *m, const zvm_pool_config *cfg, zv_pf_pool **out, char *err,
                   size_t errlen)
{
    return zv_pf_pool_new_for(m, cfg, 0, out, err, errlen);
}

int zv_pf_pool_new_for(zv_eng_module *m, const zvm_pool_config *cfg, int jobs, zv_pf_pool **out,
                       char *err, size_t errlen)
{
    static const zvm_pool_config defaults;
    zv_pf_pool *p;
    char scratch[8];
    int rc;
    if (!err)
        err = scratch, errlen = sizeof scratch;
    err[0] = 0;
    if (!out || !m)
        return -EINVAL;
    *out = NULL;
    if (!(p = calloc(1, sizeof *p)))
        return -ENOMEM;
    p->mod = m;
    p->jobs = jobs;
    p->efd = -1;
    atomic_store(&p->counters.lag, -1);
    pthread_mutex_init(&p->prod_lock, NULL);
    if ((rc = zv_pf_pool_setup(p, cfg ? cfg : &defaults, err, errlen)))
        goto fail;
    if (p->snapshot == ZVM_SNAPSHOT_FIRST_READ && !zv_eng_module_fork_build(m)) {
        zv_eng_err e = {0}; /* its code must mark dirty pages, and never be the baseline's */
        if ((rc = zv_eng_module_for_fork(m, &p->own_mod, &e))) {
            snprintf(err, errlen, "cannot build the module for first-read snapshots: %s", e.msg);
            goto fail;
        }
        p->mod = p->own_mod;
    }
    if ((rc = zv_cpu_workers_start(p->topo, p->n_workers, worker_main, p, &p->ws))) {
        snprintf(err, errlen, "cannot start %u workers: %s", p->n_workers, strerror(-rc));
        goto fail;
    }
    while (atomic_load(&p->ready) + atomic_load(&p->failed) < (int)p->n_workers)
        nap();
    if (!atomic_load(&p->failed) && zv_eng_module_is_baseline(p->mod))
        p->tier_started = pthread_create(&p->tier_thread, NULL, tier_main, p) == 0;
    if (atomic_load(&p->failed)) {
        rc = p->fail_rc;
        snprintf(err, errlen, "%s%s", p->fail_msg,
                 rc == -ENOMEM ? " (each worker reserves 8 GiB of address space: is `ulimit -v` "
                                 "set?)" : "");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (!err[0])
        snprintf(err, errlen, "%s", strerror(-rc));
    zv_pf_pool_free(p);
    return rc;
}

void zv_pf_pool_free(zv_pf_pool *p)
{
    if (!p)
        return;
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    if (p->wd)
        zv_pf_watchdog_expire(p->wd); /* records still running stop now */
    for (uint32_t k = 0; p->w && k < p->n_workers; k++) {
        atomic_fetch_add(&p->w[k].wake, 1);
        futex_wake(&p->w[k].wake);
    }
    zv_cpu_workers_free(p->ws); /* joins */
    if (p->tier_started)
        pthread_join(p->tier_thread, NULL);
    zv_pf_watchdog_free(p->wd);
    for (uint32_t k = 0; p->w && k < p->n_workers; k++)
        zv_pf_runner_free(p->w[k].runner);
    zv_eng_module_free(atomic_load(&p->optimised)); /* after the instances that ran it */
    zv_eng_module_free(p->own_mod);
    for (uint32_t i = 0; p->dirs && p->dirs[i]; i++)
        free(p->dirs[i]);
    free(p->dirs);
    zv_eng_mounts_free(p->images);
    for (uint32_t i = 0; p->batches && i < p->n_batches; i++) {
        free(p->batches[i].in);
        free(p->batches[i].out);
    }
    if (p->efd >= 0)
        close(p->efd);
    zv_cpu_topology_free(p->topo);
    zv_cfg_free(p->man);
    pthread_mutex_destroy(&p->prod_lock);
    free(p->w);
    free(p->batches);
    free(p->free_list);
    free(p->pending);
    free(p);
}
