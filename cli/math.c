/*
 * math.c — exp, log and round for the zvm binary, so that it does not load
 * libm. The only callers are in the jemalloc that `zvm` links statically
 * (its heap profiler's sampling, which runs only when a user turns it on
 * with MALLOC_CONF); mapping and relocating libm for them cost about 80 us
 * of every warm `zvm run` (perf/README.md "Start-up"). Accurate to within
 * two ulp of glibc's (tests/unit/test_math.c compares them); NaNs,
 * infinities, zeros, overflow and underflow as C requires. Built with
 * ZV_CLI_LIBM (the zvm binary only) they are the process's exp, log and
 * round.
 */
#include "cli/cli.h"

#include <stdint.h>
#include <string.h>

static const double ln2_hi = 6.93147180369123816490e-01; /* the top 32 bits of ln 2 */
static const double ln2_lo = 1.90821492927058770002e-10; /* ln 2 - ln2_hi */

static uint64_t bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static double of_bits(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* 2^k for -1022 <= k <= 1023. */
static double pow2(int k) { return of_bits((uint64_t)(k + 1023) << 52); }

double zv_cli_round(double x)
{
    double t;
    if (!(x > -0x1p52 && x < 0x1p52)) /* integral already, an infinity or NaN */
        return x;
    t = (double)(int64_t)x; /* towards zero; x - t is exact */
    if (x - t >= 0.5)
        t += 1.0;
    else if (t - x >= 0.5)
        t -= 1.0;
    return t == 0 ? (x < 0 ? -0.0 : 0.0) : t;
}

double zv_cli_exp(double x)
{
    /* 1/i! for i = 0..13: e^r's Taylor series; past r^13 the terms are
     * below 1e-17 for |r| <= ln 2 / 2 */
    static const double inv_fact[14] = {
        1.0,           1.0,            1.0 / 2,         1.0 / 6,          1.0 / 24,
        1.0 / 120,     1.0 / 720,      1.0 / 5040,      1.0 / 40320,      1.0 / 362880,
        1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
    double k, r, p;
    int n;
    if (x != x)
        return x;
    if (x > 709.782712893384)
        return 0x1p1023 * 2.0; /* +inf, raising overflow */
    if (x < -745.1332191019412)
        return 0x1p-1022 * 0x1p-1022; /* +0, raising underflow */
    /* x = n ln 2 + r, |r| <= ln 2 / 2 (Cody and Waite's two-part ln 2) */
    k = zv_cli_round(x * 1.44269504088896340736);
    n = (int)k;
    r = (x - k * ln2_hi) - k * ln2_lo;
    p = inv_fact[13];
    for (int i = 12; i >= 0; i--)
        p = p * r + inv_fact[i];
    /* times 2^n, in two steps where 2^n alone is not a normal number */
    if (n > 1023)
        return p * pow2(1023) * pow2(n - 1023);
    if (n < -1022)
        return p * pow2(-1022) * pow2(n + 1022);
    return p * pow2(n);
}

double zv_cli_log(double x)
{
    uint64_t u = bits_of(x);
    double m, s, s2, tail;
    int e;
    if (x != x || x == 1.0 / 0.0)
        return x;
    if (x == 0)
        return -1.0 / 0.0; /* -inf, raising divide-by-zero */
    if (x < 0)
        return (x - x) / (x - x); /* NaN, raising invalid */
    e = 0;
    if (!(u >> 52)) { /* subnormal: scale into the normal range */
        x *= 0x1p54;
        e = -54;
        u = bits_of(x);
    }
    e += (int)(u >> 52) - 1023;
    m = of_bits((u & 0xfffffffffffffull) | 0x3ff0000000000000ull); /* [1, 2) */
    if (m > 1.41421356237309504880) {
        m *= 0.5;
        e++;
    }
    /* log m = 2 atanh s = 2 s + 2 s (s^2/3 + s^4/5 + ...), s = (m-1)/(m+1),
     * |s| <= 0.1716: to s^21 the rest is below 1e-17; the small terms are
     * summed first (Horner), and 2 s is added last */
    s = (m - 1) / (m + 1);
    s2 = s * s;
    tail = 1.0 / 21;
    for (int i = 19; i >= 3; i -= 2)
        tail = tail * s2 + 1.0 / i;
    tail *= s2 * s;
    return (double)e * ln2_hi + (2 * s + (2 * tail + (double)e * ln2_lo));
}

#ifdef ZV_CLI_LIBM
double exp(double x);
double log(double x);
double round(double x);
double exp(double x) { return zv_cli_exp(x); }
double log(double x) { return zv_cli_log(x); }
double round(double x) { return zv_cli_round(x); }
#endif
