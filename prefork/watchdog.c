/*
 * watchdog.c — one thread that stops guest runs past their deadline, the
 * same for a pool's workers and for a `zvm run` session.
 *
 * Each watched thread publishes its current run: the engine's epoch for it
 * (zv_eng_run_begin), then the start time, with release order. The
 * watchdog reads the start, the epoch, and the start again: if the start
 * changed, the run it read ended and is skipped, so it never pairs an old
 * deadline with a new run. A late interrupt is harmless anyway: the
 * engine drops a signal whose epoch is not the thread's current run.
 * While a run is over its limit the watchdog signals it every
 * millisecond: a signal that lands in a host call only marks the run, and
 * the guest stops at its next function entry that checks (every function
 * that calls the host does: engine/translate_entry.c), or when a signal
 * lands in its code. It wakes every millisecond
 * while some run is on and every 20 ms otherwise; freeing it wakes it at
 * once (a `zvm run` session used to wait up to 20 ms at exit for it).
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct zv_pf_watchdog {
    pthread_t thread;
    pthread_mutex_t mu;    /* only the watchdog's naps and zv_pf_watchdog_free take it */
    pthread_cond_t wake;
    _Atomic int stop;
    _Atomic int expire; /* every run is past its deadline */
    uint32_t n;
    zv_pf_watch *w;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO: no syscall */
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Sleep ns unless zv_pf_watchdog_free says stop. */
static void nap(zv_pf_watchdog *wd, long ns)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += ns;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&wd->mu);
    while (!atomic_load_explicit(&wd->stop, memory_order_acquire) &&
           pthread_cond_timedwait(&wd->wake, &wd->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&wd->mu);
}

static void *watchdog_main(void *p)
{
    zv_pf_watchdog *wd = p;
    while (!atomic_load_explicit(&wd->stop, memory_order_acquire)) {
        uint64_t now = now_ns();
        int busy = 0;
        for (uint32_t i = 0; i < wd->n; i++) {
            zv_pf_watch *w = &wd->w[i];
            uint64_t since = atomic_load_explicit(&w->started_ns, memory_order_acquire), epoch;
            if (!since)
                continue;
            busy = 1;
            epoch = atomic_load_explicit(&w->epoch, memory_order_relaxed);
            if (atomic_load_explicit(&w->started_ns, memory_order_acquire) != since)
                continue; /* that run ended meanwhile */
            if (atomic_load_explicit(&wd->expire, memory_order_relaxed) ||
                (now > since && now - since > atomic_load_explicit(&w->limit_ns, memory_order_relaxed)))
                zv_eng_interrupt(w->thread, epoch);
        }
        nap(wd, busy ? 1000000 : 20000000);
    }
    return NULL;
}

int zv_pf_watchdog_new(uint32_t n, zv_pf_watchdog **out)
{
    zv_pf_watchdog *wd = calloc(1, sizeof *wd);
    int rc;
    *out = NULL;
    if (!wd || !(wd->w = calloc(n ? n : 1, sizeof *wd->w))) {
        free(wd);
        return -ENOMEM;
    }
    wd->n = n;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&wd->mu, NULL);
    if ((rc = pthread_create(&wd->thread, NULL, watchdog_main, wd))) {
        pthread_cond_destroy(&wd->wake);
        pthread_mutex_destroy(&wd->mu);
        free(wd->w);
        free(wd);
        return -rc;
    }
    *out = wd;
    return 0;
}

zv_pf_watch *zv_pf_watchdog_slot(zv_pf_watchdog *wd, uint32_t i) { return &wd->w[i]; }

void zv_pf_watchdog_free(zv_pf_watchdog *wd)
{
    if (!wd)
        return;
    pthread_mutex_lock(&wd->mu);
    atomic_store_explicit(&wd->stop, 1, memory_order_release);
    pthread_cond_signal(&wd->wake);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->wake);
    pthread_mutex_destroy(&wd->mu);
    free(wd->w);
    free(wd);
}

void zv_pf_watchdog_expire(zv_pf_watchdog *wd)
{
    atomic_store_explicit(&wd->expire, 1, memory_order_relaxed);
}

void zv_pf_watch_attach(zv_pf_watch *w)
{
    w->thread = pthread_self();
    atomic_store_explicit(&w->attached, 1, memory_order_release);
}

uint64_t zv_pf_watch_start(zv_pf_watch *w, uint64_t limit_ns)
{
    uint64_t now = now_ns();
    atomic_store_explicit(&w->limit_ns, limit_ns, memory_order_relaxed);
    atomic_store_explicit(&w->epoch, zv_eng_run_begin(), memory_order_relaxed);
    atomic_store_explicit(&w->started_ns, now, memory_order_release);
    return now;
}

void zv_pf_watch_stop(zv_pf_watch *w)
{
    atomic_store_explicit(&w->started_ns, 0, memory_order_release);
    zv_eng_run_end();
}
