/*
 * gen_loop.c — counted loops for gen_exec.c, of the shapes
 * engine/translate_loop.c copies: a straight-line body of accesses
 * through a counter and two pointers, with base addresses that wrap, run
 * off the memory or go below 0, and every supported back edge. What they
 * load is summed into G_I32, which every export returns.
 */
#include "gen_private.h"

static void get(buf *b, uint32_t l) { put(b, 0x20), put_u32(b, l); }
static void set(buf *b, uint32_t l) { put(b, 0x21), put_u32(b, l); }
static void i32c(buf *b, int64_t v) { put(b, 0x41), put_s64(b, (int32_t)v); }

/* A base address: in page 0, near its end (out of bounds within a few
 * rounds), near 2^32 (wrapping into low memory), near 0 (below 0 with a
 * negative offset), or anything. */
static void base_address(gen *g, int depth)
{
    uint32_t r = rnd(g, 100);
    if (r < 40) {
        gen_expr(g, 'i', depth - 1);
        gen_i32_and(g, 0xffe0);
    } else if (r < 55) {
        i32c(g->b, 0x10000 - rnd(g, 600));
    } else if (r < 70) {
        i32c(g->b, 0xffffff00u + rnd(g, 256));
    } else if (r < 85) {
        i32c(g->b, rnd(g, 64));
    } else {
        gen_expr(g, 'i', depth - 1);
    }
}

/* An address from the counter X and the pointers P, Q. */
static void loop_address(gen *g, uint32_t x, uint32_t p, uint32_t q)
{
    buf *b = g->b;
    switch (rnd(g, 6)) {
    case 0: get(b, p); return;
    case 1: get(b, p), get(b, x), put(b, 0x6a); return;
    case 2: get(b, q), get(b, x), i32c(b, rnd(g, 4)), put(b, 0x74), put(b, 0x6a); return;
    case 3: get(b, p), i32c(b, (int64_t)rnd(g, 33) - 16), put(b, 0x6a); return;
    case 4: get(b, q), get(b, x), i32c(b, 1 + rnd(g, 8)), put(b, 0x6c), put(b, 0x6b); return;
    default: get(b, x); return;
    }
}

/* Under GEN_RAW_NANS: a store of float arithmetic on a load and a load or
 * a constant (often a NaN), f32 or f64, which the fast copy runs in its
 * _v forms (engine/rt_ops.h "NaN results"). */
static void loop_float(gen *g, uint32_t x, uint32_t p, uint32_t q)
{
    static const uint8_t f32_ops[] = {0x92, 0x93, 0x94, 0x95, 0x96, 0x97},
                         f64_ops[] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
    buf *b = g->b;
    int f64 = chance(g, 50);
    loop_address(g, x, p, q);
    loop_address(g, x, p, q);
    put(b, f64 ? 0x2b : 0x2a), put_u32(b, f64 ? 3 : 2), put_u32(b, rnd(g, 16));
    if (chance(g, 50)) {
        loop_address(g, x, p, q);
        put(b, f64 ? 0x2b : 0x2a), put_u32(b, f64 ? 3 : 2), put_u32(b, rnd(g, 16));
    } else {
        gen_const(g, f64 ? 'F' : 'f');
    }
    put(b, (f64 ? f64_ops : f32_ops)[rnd(g, 6)]);
    if (chance(g, 20))
        put(b, f64 ? 0x9f : 0x91); /* sqrt */
    put(b, f64 ? 0x39 : 0x38), put_u32(b, f64 ? 3 : 2), put_u32(b, rnd(g, 16));
}

/* One access of the body: a load summed into G_I32 (or dropped), or a
 * store of the counter. */
static void loop_access(gen *g, uint32_t x, uint32_t p, uint32_t q)
{
    static const uint8_t loads[] = {0x28, 0x29, 0x2b, 0x2d}, stores[] = {0x36, 0x37, 0x39, 0x3a};
    static const uint8_t align[] = {2, 3, 3, 0};
    buf *b = g->b;
    uint32_t k = rnd(g, 4), offset = chance(g, 90) ? rnd(g, 16) : rnd(g, 0x20000);
    int store = chance(g, 40), dead = !store && chance(g, 15);
    if (!store && !dead)
        put(b, 0x23), put_u32(b, G_I32);
    loop_address(g, x, p, q);
    if (store) {
        get(b, x);
        if (k == 1)
            put(b, 0xad); /* i64.extend_i32_u */
        if (k == 2)
            put(b, 0xb8); /* f64.convert_i32_u */
        put(b, stores[k]), put_u32(b, align[k]), put_u32(b, offset);
        return;
    }
    put(b, loads[k]), put_u32(b, align[k]), put_u32(b, offset);
    if (k == 2)
        put(b, 0xbd); /* i64.reinterpret_f64 */
    if (k == 1 || k == 2)
        put(b, 0xa7); /* i32.wrap_i64 */
    if (dead) {
        put(b, 0x1a);
        return;
    }
    put(b, 0x6a), put(b, 0x24), put_u32(b, G_I32);
}

/* A loop of the shapes clang emits for counted loops, always ending
 * within 33 rounds: a straight-line body of accesses through X, P and Q,
 * pointers stepped by constants, and a back edge on the counter X:
 * up to a bound with != or <, down to 0, or down past a bound with >,
 * the bound a constant or a local, first or second. */
void gen_counted_loop(gen *g, int depth)
{
    static const int32_t steps[] = {-8, -4, -1, 1, 4, 8, 16};
    buf *b = g->b;
    uint32_t x = g->counted, p = x + 1, q = x + 2, e = x + 3;
    uint32_t step = 1u << rnd(g, 5), n = 1 + rnd(g, 24), shape = rnd(g, 4), x0, bound;
    int bound_local = chance(g, 60), bound_first = chance(g, 30);
    switch (shape) {
    case 0: /* up, != */
        x0 = rnd(g, 64), bound = x0 + step * n;
        break;
    case 1: /* up, <: sometimes from the bound or past it (one round) */
        x0 = 8 + rnd(g, 56), bound = chance(g, 15) ? x0 - rnd(g, 8) : x0 + 1 + rnd(g, step * n);
        break;
    case 2: /* down to 0 */
        x0 = step * n, bound = 0;
        break;
    default: /* down, >: the bound at least S - 1, so X - S never wraps */
        bound = step - 1 + rnd(g, 40), x0 = bound + 1 + rnd(g, step * n);
    }
    /* the bases first: their expressions may hold counted loops, which
     * use the same four locals */
    base_address(g, depth), base_address(g, depth), set(b, q), set(b, p);
    i32c(b, x0), set(b, x);
    i32c(b, bound), set(b, e);
    put(b, 0x03), put(b, 0x40);
    for (uint32_t i = 1 + rnd(g, 3); i > 0; i--) {
        if (g->raw && chance(g, 40))
            loop_float(g, x, p, q);
        else
            loop_access(g, x, p, q);
    }
    for (uint32_t ptr = p; ptr <= q; ptr++)
        for (int twice = chance(g, 5); chance(g, 40) && twice >= 0; twice--)
            get(b, ptr), i32c(b, steps[rnd(g, 7)]), put(b, 0x6a), set(b, ptr);
    if (shape == 2) {
        get(b, x), i32c(b, -(int64_t)step), put(b, 0x6a), put(b, 0x22), put_u32(b, x);
    } else {
        uint8_t cmp = shape == 0 ? 0x47 : shape == 1 ? 0x49 : 0x4b; /* ne, lt_u, gt_u */
        if (bound_first)
            cmp = cmp == 0x49 ? 0x4b : cmp == 0x4b ? 0x49 : cmp;
        if (bound_first)
            bound_local ? get(b, e) : i32c(b, bound);
        get(b, x), i32c(b, shape < 2 ? (int64_t)step : -(int64_t)step), put(b, 0x6a);
        put(b, 0x22), put_u32(b, x);
        if (!bound_first)
            bound_local ? get(b, e) : i32c(b, bound);
        put(b, cmp);
    }
    put(b, 0x0d), put_u32(b, 0);
    put(b, 0x0b);
}
