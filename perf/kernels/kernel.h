/*
 * kernel.h — what every compute kernel in perf/kernels/ shares: the size
 * from argv[1], a deterministic generator for the input, and the one result
 * line. Each kernel is built twice from the same source, natively (gcc -O2)
 * and for wasm32-wasi (clang -O2), and bench_compute.sh checks that both
 * builds print the same line, so the work cannot be dropped and the two
 * builds provably did the same work.
 *
 * The result line is written with fputs, not printf: printf would pull
 * wasi-libc's formatter (about 50 KB of wasm) into every module and add
 * about half a second to every cold `zvm run`, which the perf-smoke test
 * pays once per kernel.
 */
#ifndef ZV_KERNEL_H
#define ZV_KERNEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The problem size: argv[1] as a positive decimal, else default_size. */
static inline uint32_t kernel_size(int argc, char **argv, uint32_t default_size)
{
    char *end;
    unsigned long v;
    if (argc < 2)
        return default_size;
    v = strtoul(argv[1], &end, 10);
    if (*end || v == 0 || v > 0xffffffffu) {
        fputs("usage: KERNEL [SIZE]\n", stderr);
        exit(2);
    }
    return (uint32_t)v;
}

/* xorshift64*: a fast, deterministic generator; the seed must be non-zero. */
static inline uint64_t kernel_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* A uniform double in [-1, 1), exact in both builds (53 random bits). */
static inline double kernel_rand_unit(uint64_t *state)
{
    return (double)(int64_t)(kernel_rand(state) >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
}

/* Mixes one 64-bit value into a running checksum (order-sensitive). */
static inline uint64_t kernel_mix(uint64_t sum, uint64_t v)
{
    sum ^= v + 0x9e3779b97f4a7c15ull + (sum << 6) + (sum >> 2);
    return sum * 0xff51afd7ed558ccdull;
}

/* Prints "NAME n=SIZE checksum=HEX16" on stdout: the line both builds must agree on. */
static inline void kernel_report(const char *name, uint32_t size, uint64_t checksum)
{
    char line[96], *p = line;
    char digits[16];
    int nd = 0;
    for (const char *s = name; *s && p < line + 40; s++)
        *p++ = *s;
    *p++ = ' ', *p++ = 'n', *p++ = '=';
    do
        digits[nd++] = (char)('0' + size % 10);
    while ((size /= 10) != 0);
    while (nd)
        *p++ = digits[--nd];
    for (const char *s = " checksum="; *s; s++)
        *p++ = *s;
    for (int i = 15; i >= 0; i--)
        *p++ = "0123456789abcdef"[(checksum >> (4 * i)) & 15];
    *p++ = '\n';
    *p = 0;
    fputs(line, stdout);
}

#endif
