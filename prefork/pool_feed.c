/*
 * pool_feed.c — the pool's pull mode (zv_pf_pool_run): the pool itself
 * reads records from a source and hands results to a sink, as `zvm batch`
 * and `zvm-bench` want.
 *
 * A feed step fills batches from the source (full ones: up to 256 records
 * or 1 MiB), hands them to the least loaded worker, and passes the
 * finished results to the sink in order. With a worker on every core the
 * workers run the steps themselves between their batches: whoever takes
 * the token (an atomic flag: acquire on taking it, release on giving it
 * back, which hands the producer and consumer ends over) runs one step.
 * Measured on 2 cores: 2 workers reach 1.8x the rate of 1 this way, and
 * 1.5x with a separate dispatcher thread competing for the cores (the
 * numbers that decided it are in perf/README.md). With a core to spare
 * the calling thread runs the steps, sleeping between them a quarter of a
 * batch's run time (20 us to 1 ms).
 *
 * A source that waits for its writer (a pipe: `tail -F log | zvm batch`)
 * says -EAGAIN instead. Then what it gave so far goes to the workers at
 * once (not when a batch is full), the results out by then go to the sink
 * and are flushed, and the pool goes quiet: the workers sleep and the
 * calling thread waits in poll() for the source's bytes or a finished
 * batch (the pool's eventfd), so an idle pool on a quiet pipe uses no CPU.
 */
#include "prefork/pool_private.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>

static void set_state(zv_pf_pool *p, uint32_t bit, int on)
{
    uint32_t was = on ? atomic_fetch_or(&p->feed_state, bit) : atomic_fetch_and(&p->feed_state, ~bit);
    if (!!(was & bit) != on) /* the calling thread waits on the word */
        syscall(SYS_futex, &p->feed_state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* One step: feed, send, take. Returns 1 if anything moved. The caller
 * holds the token (or is the only feeder). */
static int feed_step(zv_pf_pool *p)
{
    const zv_pf_feed *f = p->feed;
    zvm_result r;
    int moved = 0, blocked = 0, rc;
    while (!p->feed_eof) {
        if (!p->pend && (rc = f->next(f->arg, &p->pend, &p->pend_len)) <= 0) {
            p->pend = NULL;
            if (rc == -EAGAIN) { /* the writer is quiet: run what came */
                blocked = 1;
                zv_pf_pool_send(p);
                break;
            }
            p->feed_eof = 1;
            p->feed_err = rc;
            break;
        }
        if ((rc = zv_pf_pool_append(p, p->pend, p->pend_len, p->feed_index, 0)) == -EAGAIN)
            break; /* every queue full: the record waits for the next step */
        if (rc) {
            p->feed_eof = 1;
            p->feed_err = rc;
            break;
        }
        p->pend = NULL;
        p->feed_index++;
        moved = 1;
    }
    if (p->feed_eof)
        zv_pf_pool_send(p);
    while (zv_pf_pool_take(p, &r)) {
        f->put(f->arg, &r);
        p->last_run_ns = p->cur->run_ns;
        moved = 1;
    }
    if (blocked && f->flush)
        f->flush(f->arg);
    set_state(p, FEED_BLOCKED, blocked);
    if (p->feed_eof && !p->open && atomic_load(&p->returned) == atomic_load(&p->submitted))
        set_state(p, FEED_DONE, 1);
    return moved;
}

uint64_t zv_pf_pool_fed(const zv_pf_pool *p) { return p->feed_index; }

int zv_pf_feed_try(zv_pf_pool *p)
{
    int moved;
    if ((atomic_load_explicit(&p->feed_state, memory_order_acquire) & FEED_DONE) ||
        atomic_exchange_explicit(&p->feeding, 1, memory_order_acquire))
        return 0;
    moved = feed_step(p);
    atomic_store_explicit(&p->feeding, 0, memory_order_release);
    return moved;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The source has nothing now: wait for its bytes or a finished batch
 * (armed first, so one that finishes meanwhile still wakes us). */
static void wait_quiet(zv_pf_pool *p)
{
    struct pollfd pfd[2] = {{p->feed->wait_fd(p->feed->arg), POLLIN, 0}, {p->efd, POLLIN, 0}};
    zv_pf_pool_arm(p);
    if (!zv_pf_feed_try(p))
        poll(pfd, 2, 250);
}

int zv_pf_pool_run(zv_pf_pool *p, const zv_pf_feed *feed)
{
    uint64_t last_tick = now_ns();
    int workers_feed;
    uint32_t s;
    if (!p || !feed || !feed->next || !feed->put)
        return -EINVAL;
    p->feed = feed;
    /* a run again after one that ended (nothing in flight): from the top,
     * once a worker still finishing the last step gave the token back */
    while (atomic_load_explicit(&p->feeding, memory_order_acquire))
        nanosleep(&(struct timespec){0, 20000}, NULL);
    p->feed_index = feed->first_index;
    p->feed_eof = 0;
    p->feed_err = 0;
    atomic_store_explicit(&p->closed, 0, memory_order_relaxed);
    atomic_store_explicit(&p->feed_state, 0, memory_order_release);
    /* with a worker on every core the workers feed; this thread only
     * ticks, and waits for a quiet source (futex, poll: no polling) */
    workers_feed = p->n_workers >= (uint32_t)zv_cpu_count_pus(p->topo);
    atomic_store_explicit(&p->workers_feed, workers_feed, memory_order_release);
    /* the first step here: workers asleep since a run before (a reload's)
     * wake up only when it hands them a batch */
    zv_pf_feed_try(p);
    while (!((s = atomic_load_explicit(&p->feed_state, memory_order_acquire)) & FEED_DONE)) {
        if ((s & FEED_BLOCKED) && feed->wait_fd) {
            wait_quiet(p);
        } else if (workers_feed) {
            struct timespec t = {0, 250000000};
            syscall(SYS_futex, &p->feed_state, FUTEX_WAIT_PRIVATE, s, &t, NULL, 0);
        } else if (!zv_pf_feed_try(p)) {
            uint64_t ns = p->last_run_ns / 4;
            nanosleep(&(struct timespec){0, (long)(ns < 20000 ? 20000 : ns > 1000000 ? 1000000 : ns)},
                      NULL);
        }
        if (feed->tick && now_ns() - last_tick > 250000000ull) {
            feed->tick(feed->arg);
            last_tick = now_ns();
        }
    }
    atomic_store_explicit(&p->closed, 1, memory_order_release);
    return p->feed_err;
}
