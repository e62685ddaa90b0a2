/*
 * sort.c — compute kernel: an in-place quicksort of SIZE pseudo-random
 * 32-bit keys (default 12,000,000), our own code rather than libc's qsort
 * (whose comparator calls would measure the call path, not the sort).
 * Median-of-three pivot, Hoare partition, recursion on the smaller side
 * and a loop on the larger (depth stays O(log n)), insertion sort below 24
 * elements. Stresses data-dependent branches, indexed loads and stores, and
 * calls. The checksum covers every element in order, and the program fails
 * if the result is not sorted.
 */
#include "kernel.h"

#define SMALL 24

static void insertion_sort(uint32_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(uint32_t *a, long i, long j)
{
    uint32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void quick_sort(uint32_t *a, long n)
{
    while (n > SMALL) {
        long mid = n / 2, i = -1, j = n;
        uint32_t pivot;
        /* median of three into a[mid] */
        if (a[mid] < a[0])
            swap(a, mid, 0);
        if (a[n - 1] < a[0])
            swap(a, n - 1, 0);
        if (a[n - 1] < a[mid])
            swap(a, n - 1, mid);
        pivot = a[mid];
        for (;;) { /* Hoare: [0, j] <= pivot <= [j + 1, n) */
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            swap(a, i, j);
        }
        if (j + 1 < n - j - 1) {
            quick_sort(a, j + 1);
            a += j + 1, n -= j + 1;
        } else {
            quick_sort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion_sort(a, n);
}

int main(int argc, char **argv)
{
    uint32_t n = kernel_size(argc, argv, 12000000);
    uint64_t seed = 0x50e7ull, sum = 0;
    uint32_t *a = malloc((size_t)n * sizeof *a);
    if (!a) {
        fputs("sort: out of memory\n", stderr);
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) /* a few duplicates: keys below 2^30 */
        a[i] = (uint32_t)(kernel_rand(&seed) >> 34);
    quick_sort(a, n);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) {
            fputs("sort: result is not sorted\n", stderr);
            return 1;
        }
        sum = kernel_mix(sum, a[i]);
    }
    kernel_report("sort", n, sum);
    free(a);
    return 0;
}
