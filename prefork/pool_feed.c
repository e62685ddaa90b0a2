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
 */
#include "prefork/pool_private.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

/* One step: feed, send, take. Returns 1 if anything moved. The caller
 * holds the token (or is the only feeder). */
static int feed_step(zv_pf_pool *p)
{
    const zv_pf_feed *f = p->feed;
    zvm_result r;
    int moved = 0, rc;
    while (!p->feed_eof) {
        if (!p->pend && (rc = f->next(f->arg, &p->pend, &p->pend_len)) <= 0) {
            p->pend = NULL;
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
    if (p->feed_eof && !p->open && atomic_load(&p->returned) == atomic_load(&p->submitted)) {
        atomic_store_explicit(&p->feed_done, 1, memory_order_release);
        syscall(SYS_futex, &p->feed_done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    return moved;
}

int zv_pf_feed_try(zv_pf_pool *p)
{
    int moved;
    if (atomic_load_explicit(&p->feed_done, memory_order_acquire) ||
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

int zv_pf_pool_run(zv_pf_pool *p, const zv_pf_feed *feed)
{
    uint64_t last_tick = now_ns();
    if (!p || !feed || !feed->next || !feed->put)
        return -EINVAL;
    p->feed = feed;
    if (p->n_workers >= (uint32_t)zv_cpu_count_pus(p->topo)) {
        /* the workers feed; this thread only ticks (futex: no polling) */
        atomic_store_explicit(&p->workers_feed, 1, memory_order_release);
        while (!atomic_load_explicit(&p->feed_done, memory_order_acquire)) {
            struct timespec t = {0, 250000000};
            syscall(SYS_futex, &p->feed_done, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
            if (feed->tick)
                feed->tick(feed->arg);
        }
    } else {
        while (!atomic_load_explicit(&p->feed_done, memory_order_acquire)) {
            if (!feed_step(p)) {
                uint64_t ns = p->last_run_ns / 4;
                nanosleep(&(struct timespec){0, (long)(ns < 20000 ? 20000 : ns > 1000000 ? 1000000
                                                                                         : ns)},
                          NULL);
            }
            if (feed->tick && now_ns() - last_tick > 250000000ull) {
                feed->tick(feed->arg);
                last_tick = now_ns();
            }
        }
    }
    atomic_store_explicit(&p->closed, 1, memory_order_release);
    return p->feed_err;
}
