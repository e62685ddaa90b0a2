/*
 * latency.h — a latency histogram for the commands that run many
 * instances (`zvm batch`, `zvm-bench`): log-linear buckets (16 per power
 * of two, so percentiles are within 6%), fixed size, no allocation, one
 * per worker, merged at the end.
 */
#ifndef ZV_LATENCY_H
#define ZV_LATENCY_H

#include <stdint.h>
#include <string.h>

#define ZV_LAT_SUB 16
#define ZV_LAT_BUCKETS (64 * ZV_LAT_SUB)

typedef struct {
    uint64_t counts[ZV_LAT_BUCKETS];
    uint64_t n, max_ns, sum_ns;
} zv_latency;

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

static inline void zv_lat_add(zv_latency *h, uint64_t ns)
{
    h->counts[zv_lat_bucket(ns)]++;
    h->n++;
    h->sum_ns += ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

static inline void zv_lat_merge(zv_latency *into, const zv_latency *h)
{
    for (unsigned i = 0; i < ZV_LAT_BUCKETS; i++)
        into->counts[i] += h->counts[i];
    into->n += h->n;
    into->sum_ns += h->sum_ns;
    if (h->max_ns > into->max_ns)
        into->max_ns = h->max_ns;
}

/* The q-quantile (0 < q <= 1), as its bucket's lower edge. */
static inline uint64_t zv_lat_quantile(const zv_latency *h, double q)
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
