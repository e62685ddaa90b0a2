/*
 * matmul.c — compute kernel: C = A * B for 256 x 256 double matrices in
 * row-major arrays, SIZE times (default 300), i-k-j loop order so the inner
 * loop streams rows of B and C with unit stride. The three matrices take
 * 1.5 MiB, so B stays in the 1 MiB L2 and the kernel measures the
 * generated code rather than memory bandwidth (at 960 x 960, streaming B
 * from L3 hid a 1.5x difference in instruction count completely). After
 * each product one element of C is fed back into A, so no two products
 * are alike. Each element of C is summed over k in the same order in both
 * builds (vectorizing across j does not change it), so the checksum over
 * the bits must match.
 */
#include "kernel.h"

#include <string.h>

#define N 256

static void matmul(uint32_t n, const double *a, const double *b, double *c)
{
    memset(c, 0, (size_t)n * n * sizeof *c);
    for (uint32_t i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (uint32_t k = 0; k < n; k++) {
            const double aik = a[(size_t)i * n + k], *bk = b + (size_t)k * n;
            for (uint32_t j = 0; j < n; j++)
                ci[j] += aik * bk[j];
        }
    }
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int main(int argc, char **argv)
{
    uint32_t reps = kernel_size(argc, argv, 300);
    size_t n2 = (size_t)N * N;
    uint64_t seed = 0x3a7ull, sum = 0;
    double *a = malloc(n2 * sizeof *a), *b = malloc(n2 * sizeof *b), *c = malloc(n2 * sizeof *c);
    if (!a || !b || !c) {
        fputs("matmul: out of memory\n", stderr);
        return 1;
    }
    for (size_t i = 0; i < n2; i++) {
        a[i] = kernel_rand_unit(&seed);
        b[i] = kernel_rand_unit(&seed);
    }
    for (uint32_t r = 0; r < reps; r++) {
        size_t at = (size_t)r * 7919 % n2;
        matmul(N, a, b, c);
        a[at] = c[at] * 0.125;
        sum = kernel_mix(sum, bits(c[n2 - 1 - at]));
    }
    for (size_t i = 0; i < n2; i++)
        sum = kernel_mix(sum, bits(c[i]));
    kernel_report("matmul", reps, sum);
    free(a);
    free(b);
    free(c);
    return 0;
}
