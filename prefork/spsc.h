/*
 * spsc.h — a bounded single-producer single-consumer queue of pointers:
 * how the pool hands batches to a worker and gets
 * them back. Lock-free: the producer owns `tail`, the consumer owns
 * `head`; each publishes its index with a release store and reads the
 * other's with an acquire load, which orders the slot's contents.
 */
#ifndef ZV_PF_SPSC_H
#define ZV_PF_SPSC_H

#include <stdatomic.h>
#include <stddef.h>

#define ZV_SPSC_CAP 64 /* a power of two */

typedef struct {
    _Alignas(64) _Atomic size_t head; /* consumer side, own cache line */
    _Alignas(64) _Atomic size_t tail; /* producer side */
    void *slots[ZV_SPSC_CAP];
} zv_spsc;

static inline int zv_spsc_push(zv_spsc *q, void *p)
{
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (t - atomic_load_explicit(&q->head, memory_order_acquire) == ZV_SPSC_CAP)
        return 0; /* full */
    q->slots[t % ZV_SPSC_CAP] = p;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return 1;
}

/* By the consumer: nothing to pop now. */
static inline int zv_spsc_empty(zv_spsc *q)
{
    return atomic_load_explicit(&q->head, memory_order_relaxed) ==
           atomic_load_explicit(&q->tail, memory_order_acquire);
}

static inline void *zv_spsc_pop(zv_spsc *q)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    void *p;
    if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
        return NULL; /* empty */
    p = q->slots[h % ZV_SPSC_CAP];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return p;
}

#endif
