/*
 * alloc.c — every allocation of validator/ goes through here, so that a
 * test can make the n-th one fail and check that each error path unwinds
 * (STYLE rule 15). The counter is process-wide, atomic, and test-only.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long fail_countdown; /* 0: off; n: the n-th call from now fails */

void zv_val_test_fail_alloc(long n) { atomic_store(&fail_countdown, n > 0 ? n : 0); }

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

void *zv_val_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *zv_val_realloc(void *p, size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    if (size && n > SIZE_MAX / size)
        return NULL;
    return realloc(p, (n * size) != 0 ? n * size : 1);
}
