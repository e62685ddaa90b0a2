/*
 * workers.c — one pinned thread per planned place. Each thread sets
 * itself up (pin, then its own jemalloc arena, so the arena's metadata is
 * first touched on its own NUMA node) and reports to a start gate; the
 * starter opens the gate only when every worker is set up, so a failure
 * to pin or to get an arena fails zv_cpu_workers_start and no fn runs.
 * The gate's lock is taken once per worker at start, never afterwards.
 * Worker records are cache-line aligned: each thread writes its own.
 */
#include "cpuset/cpuset.h"
#include "cpuset/arena.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GATE_WAIT = 0, GATE_GO = 1, GATE_ABORT = 2 };

struct zv_cpu_worker {
    _Alignas(64) uint32_t index;
    zv_cpu_place place;
    unsigned arena;      /* jemalloc arena, set by the worker before the gate */
    int rc;              /* set-up error, then fn's result; read after join */
    pthread_t thread;
    zv_cpu_workers *set;
};

struct zv_cpu_workers {
    const zv_cpu_topology *t; /* borrowed */
    int (*fn)(zv_cpu_worker *w);
    void *arg;                /* borrowed */
    uint32_t n, n_started;    /* threads created (all joined when joined) */
    int joined;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t n_ready;         /* guarded by lock */
    int gate;                 /* GATE_*, guarded by lock */
    zv_cpu_worker *w;         /* n records, 64-byte aligned */
};

static void *worker_main(void *p)
{
    zv_cpu_worker *w = p;
    zv_cpu_workers *ws = w->set;
    char name[16];
    int rc = zv_cpu_pin_self(ws->t, &w->place), gate;
    if (rc == 0)
        rc = zv_cpu_own_arena(&w->arena);
    w->rc = rc;
    snprintf(name, sizeof name, "zvm-w%u", w->index);
    (void)pthread_setname_np(pthread_self(), name); /* cosmetic: top -H, gdb */

    pthread_mutex_lock(&ws->lock);
    ws->n_ready++;
    pthread_cond_broadcast(&ws->cond);
    while (ws->gate == GATE_WAIT)
        pthread_cond_wait(&ws->cond, &ws->lock);
    gate = ws->gate;
    pthread_mutex_unlock(&ws->lock);

    if (gate == GATE_GO)
        w->rc = ws->fn(w);
    return NULL;
}

/* Open or abort the gate, then (on abort) reap what was started. */
static int open_gate(zv_cpu_workers *ws, int rc)
{
    pthread_mutex_lock(&ws->lock);
    while (rc == 0 && ws->n_ready < ws->n)
        pthread_cond_wait(&ws->cond, &ws->lock);
    for (uint32_t i = 0; rc == 0 && i < ws->n; i++)
        rc = ws->w[i].rc;
    ws->gate = rc ? GATE_ABORT : GATE_GO;
    pthread_cond_broadcast(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
    return rc;
}

int zv_cpu_workers_start(const zv_cpu_topology *t, uint32_t n, int (*fn)(zv_cpu_worker *w),
                         void *arg, zv_cpu_workers **out)
{
    zv_cpu_workers *ws;
    zv_cpu_place *plan = NULL;
    size_t bytes;
    int rc;
    if (!t || !fn || !out || n > INT32_MAX)
        return -EINVAL;
    if (n == 0)
        n = (uint32_t)zv_cpu_count_cores(t);
    if (!(ws = calloc(1, sizeof *ws)))
        return -ENOMEM;
    *ws = (zv_cpu_workers){.t = t, .fn = fn, .arg = arg, .n = n};
    pthread_mutex_init(&ws->lock, NULL);
    pthread_cond_init(&ws->cond, NULL);
    bytes = (size_t)n * sizeof *ws->w; /* a multiple of 64: the struct is aligned */
    if (!(ws->w = aligned_alloc(64, bytes)) || !(plan = calloc(n, sizeof *plan))) {
        rc = -ENOMEM;
        goto out;
    }
    memset(ws->w, 0, bytes);
    rc = zv_cpu_plan(t, n, plan);
    assert(rc == (int)n);
    rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        ws->w[i] = (zv_cpu_worker){.index = i, .place = plan[i], .set = ws};
        rc = -pthread_create(&ws->w[i].thread, NULL, worker_main, &ws->w[i]);
        if (rc == 0)
            ws->n_started++;
    }
    rc = open_gate(ws, rc);
out:
    free(plan);
    if (rc) {
        zv_cpu_workers_free(ws); /* joins the started threads, which saw the abort */
        return rc;
    }
    *out = ws;
    return 0;
}

int zv_cpu_workers_join(zv_cpu_workers *ws)
{
    int rc = 0;
    for (uint32_t i = 0; i < ws->n_started; i++) {
        if (!ws->joined)
            pthread_join(ws->w[i].thread, NULL);
        if (rc == 0)
            rc = ws->w[i].rc;
    }
    ws->joined = 1;
    return rc;
}

void zv_cpu_workers_free(zv_cpu_workers *ws)
{
    if (!ws)
        return;
    if (ws->w)
        zv_cpu_workers_join(ws);
    pthread_cond_destroy(&ws->cond);
    pthread_mutex_destroy(&ws->lock);
    free(ws->w);
    free(ws);
}

uint32_t zv_cpu_worker_index(const zv_cpu_worker *w) { return w->index; }
const zv_cpu_place *zv_cpu_worker_place(const zv_cpu_worker *w) { return &w->place; }
void *zv_cpu_worker_arg(const zv_cpu_worker *w) { return w->set->arg; }
unsigned zv_cpu_worker_arena(const zv_cpu_worker *w) { return w->arena; }
const zv_cpu_topology *zv_cpu_worker_topology(const zv_cpu_worker *w) { return w->set->t; }
