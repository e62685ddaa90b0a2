/*
 * bytetable.c — compute kernel (held back, issue 27): the simplest loops
 * over bytes, each round a load from a 256-entry table indexed by the
 * data, as byte classifiers, translators and table-driven checksums have
 * them: a sum of weights, an in-place translation, and a hash whose next
 * index depends on the last value (a chain no vectorizer breaks), over a
 * 1 MiB buffer SIZE times (default 300), the loops both inline and in
 * functions that take a pointer and a length.
 */
#include "kernel.h"

#define BUF (1u << 20)

static uint32_t weight[256], mix[256];
static uint8_t map[256];

__attribute__((noinline)) static uint32_t chain(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h >> 3) + mix[p[i] ^ (h & 0xff)];
    return h;
}

__attribute__((noinline)) static size_t classify(const uint8_t *p, size_t n, const uint8_t *cls)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += cls[p[i]];
    return c;
}

int main(int argc, char **argv)
{
    uint32_t reps = kernel_size(argc, argv, 300), h = 1;
    uint64_t seed = 0xb7e7ab1eull, sum = 0;
    static uint8_t cls[256];
    uint8_t *buf = malloc(BUF);
    char line[80];
    if (!buf) {
        fputs("bytetable: out of memory\n", stderr);
        return 1;
    }
    for (uint32_t i = 0; i < 256; i++) {
        weight[i] = (uint32_t)(kernel_rand(&seed) >> 40);
        mix[i] = (uint32_t)(kernel_rand(&seed) >> 32);
        map[i] = (uint8_t)(kernel_rand(&seed) >> 56);
        cls[i] = i % 3 == 0;
    }
    for (uint32_t i = 0; i < BUF; i++)
        buf[i] = (uint8_t)(kernel_rand(&seed) >> 56);
    for (uint32_t r = 0; r < reps; r++) {
        uint32_t s = 0;
        for (uint32_t i = 0; i < BUF; i++)
            s += weight[buf[i]];
        for (uint32_t i = 0; i < BUF; i++)
            buf[i] = map[buf[i]];
        h = chain(buf, BUF - (r & 7), h);
        sum += s + classify(buf + (r & 7), BUF - 8, cls);
    }
    snprintf(line, sizeof line, "bytetable %u %llu\n", h, (unsigned long long)sum);
    fputs(line, stdout);
    return 0;
}
