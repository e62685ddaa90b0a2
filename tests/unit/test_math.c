/*
 * test_math.c — cli/math.c, the exp, log and round that keep libm out of
 * the zvm binary, against glibc's: at most two ulp apart over two million
 * random arguments each (round: identical, sign of zero included), and the
 * special values C requires.
 */
#include "cli/cli.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The distance in ulp between two doubles of the same sign. */
static uint64_t ulps(double a, double b)
{
    int64_t x, y;
    if (a == b || (isnan(a) && isnan(b)))
        return 0;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return (uint64_t)(x > y ? x - y : y - x);
}

Test(math, exp_within_two_ulp)
{
    for (int i = 0; i < 2000000; i++) {
        /* the whole range, subnormal results and overflow included */
        double x = (double)(int64_t)(next() >> 11) / 0x1p53 * 1500 - 750;
        cr_assert_leq(ulps(zv_cli_exp(x), exp(x)), 2, "exp(%a): %a, glibc %a", x, zv_cli_exp(x),
                      exp(x));
    }
}

Test(math, log_within_two_ulp)
{
    for (int i = 0; i < 2000000; i++) {
        uint64_t b = next() & 0x7fffffffffffffffull; /* every positive double, subnormals too */
        double x;
        memcpy(&x, &b, 8);
        if (isnan(x))
            continue;
        cr_assert_leq(ulps(zv_cli_log(x), log(x)), 2, "log(%a): %a, glibc %a", x, zv_cli_log(x),
                      log(x));
    }
}

Test(math, round_is_exact)
{
    for (int i = 0; i < 2000000; i++) {
        double x = ((double)(int64_t)(next() >> 11) / 0x1p53 - 0.5) * (i % 2 ? 1e6 : 8);
        double a = zv_cli_round(x), b = round(x);
        cr_assert(a == b && signbit(a) == signbit(b), "round(%a): %a, glibc %a", x, a, b);
    }
}

Test(math, special_values)
{
    cr_assert(isnan(zv_cli_exp(NAN)));
    cr_assert_eq(zv_cli_exp(INFINITY), INFINITY);
    cr_assert_eq(zv_cli_exp(-INFINITY), 0.0);
    cr_assert_eq(zv_cli_exp(710), INFINITY, "overflow");
    cr_assert_eq(zv_cli_exp(-746), 0.0, "underflow");
    cr_assert_eq(zv_cli_exp(0), 1.0);
    cr_assert(isnan(zv_cli_log(NAN)));
    cr_assert(isnan(zv_cli_log(-1)), "a negative argument");
    cr_assert_eq(zv_cli_log(0), -INFINITY);
    cr_assert_eq(zv_cli_log(-0.0), -INFINITY);
    cr_assert_eq(zv_cli_log(INFINITY), INFINITY);
    cr_assert_eq(zv_cli_log(1), 0.0);
    cr_assert_eq(ulps(zv_cli_log(0x1p-1074), log(0x1p-1074)), 0, "the smallest subnormal");
    cr_assert_eq(zv_cli_round(0.5), 1.0);
    cr_assert_eq(zv_cli_round(-0.5), -1.0);
    cr_assert_eq(zv_cli_round(2.5), 3.0, "halfway: away from zero");
    cr_assert(signbit(zv_cli_round(-0.25)) && zv_cli_round(-0.25) == 0, "-0.25 rounds to -0");
    cr_assert_eq(zv_cli_round(0x1p52 + 1), 0x1p52 + 1);
    cr_assert(isnan(zv_cli_round(NAN)));
    cr_assert_eq(zv_cli_round(-INFINITY), -INFINITY);
}
