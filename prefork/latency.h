/*
 * latency.h — a latency histogram per worker: log-linear buckets (16 per
 * power of two, so percentiles are within 6%), fixed size, no allocation.
 * One writer (its worker) and any number of readers (progress displays,
 * summaries): the writer bumps each counter with a relaxed load and store
 * (a plain add on x86-64, no locked instruction), and readers see each
 * counter whole.
 */
#ifndef ZV_PF_LATENCY_H
#define ZV_PF_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define ZV_LAT_SUB 16
#define ZV_LAT_BUCKETS (64 * ZV_LAT_SUB)

typedef struct {
    _Atomic uint64_t counts[ZV_LAT_BUCKETS];
    _Atomic uint64_t n, max_ns, sum_ns;
} zv_latency;

/* A plain snapshot, for merging and quantiles. */
typedef struct {
    uint64_t counts[ZV_LAT_BUCKETS];
    uint64_t n, max_ns, sum_ns;
} zv_latency_sum;

static inline unsigned zv_lat_bucket(uint64_t ns)
{
    unsigned msb, sub;
    if (ns < ZV_LAT_SUB)
        return (unsigned)ns;
    msb = 63u - (unsigned)__builtin_clzll(ns); /* gcc/clang builtin: the top set bit */
    sub = (unsigned)(ns >> (msb - 4)) & (ZV_LAT_SUB - 1);
    return (msb - 3) * ZV_LAT_SUB + sub;
}

/* The smallest value that falls in bucket b (its lower edge). */
static inline uint64_t zv_lat_value(unsigned b)
{
    unsigned msb = b / ZV_LAT_SUB + 3, sub = b % ZV_LAT_SUB;
    if (b < ZV_LAT_SUB)
        return b;
    return ((uint64_t)(ZV_LAT_SUB + sub)) << (msb - 4);
}

static inline void zv_lat_bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

/* By the histogram's one writer. */
static inline void zv_lat_add(zv_latency *h, uint64_t ns)
{
    zv_lat_bump(&h->counts[zv_lat_bucket(ns)], 1);
    zv_lat_bump(&h->n, 1);
    zv_lat_bump(&h->sum_ns, ns);
    if (ns > atomic_load_explicit(&h->max_ns, memory_order_relaxed))
        atomic_store_explicit(&h->max_ns, ns, memory_order_relaxed);
}

/* By anyone: add h's current counts into `into`. */
static inline void zv_lat_merge(zv_latency_sum *into, const zv_latency *h)
{
    uint64_t max = atomic_load_explicit(&h->max_ns, memory_order_relaxed);
    for (unsigned i = 0; i < ZV_LAT_BUCKETS; i++)
        into->counts[i] += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
    into->n += atomic_load_explicit(&h->n, memory_order_relaxed);
    into->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
    if (max > into->max_ns)
        into->max_ns = max;
}

/* The q-quantile (0 < q <= 1), as its bucket's lower edge. */
static inline uint64_t zv_lat_quantile(const zv_latency_sum *h, double q)
{
    uint64_t want = (uint64_t)(q * (double)h->n + 0.5), seen = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < ZV_LAT_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= want)
            return zv_lat_value(i);
    }
    return h->max_ns;
}

#endif
