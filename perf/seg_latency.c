/*
 * seg_latency.c — what a load through the GS segment costs on this CPU,
 * against the base register the generated code would otherwise keep
 * (engine/seg.c; perf/README.md "Loads through GS on an Intel Xeon").
 *
 * A chain of dependent 32-bit loads walks a cycle of offsets in a 4 KiB
 * table (L1-resident), each load's address being the previous load's
 * value: the time per load is the load-to-use latency of the addressing
 * form, `%gs:(%reg)` as the generated code's accesses (and `%gs:(%reg32)`,
 * the 32-bit address form gcc may pick), against `(%base,%index)` as with
 * ZVM_SEG=0, `(%base,%index)` with the base read first from `%gs:-8`
 * (a word before the table holds it: that read depends on nothing, so it
 * is off the chain; perf/README.md "Loop invariants where they are used"
 * says what generated code made of it), and a native program's
 * `mov (%reg),%reg` through a table of pointers. Prints ns per load for
 * each and the ratio of GS to base; exits 77 (skipped) where user code
 * may not write the GS base (no FSGSBASE in AT_HWCAP2) or off x86-64.
 *
 *   build/perf/seg_latency [LOADS]      (default 200000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <sys/auxv.h>

#define TABLE 1024u /* entries: 4 KiB */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ns per load of a chain of n loads through GS from offset 0 */
static double chase_gs(long n, uint32_t *end)
{
    uint64_t p = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        __asm__ volatile("movl %%gs:(%0), %k0" : "+r"(p));
    *end = (uint32_t)p;
    return (now_s() - t0) / (double)n * 1e9;
}

/* the same chain through GS with a 32-bit address (the 0x67 prefix) */
static double chase_gs32(long n, uint32_t *end)
{
    uint64_t p = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        __asm__ volatile("movl %%gs:(%k0), %k0" : "+r"(p));
    *end = (uint32_t)p;
    return (now_s() - t0) / (double)n * 1e9;
}

/* the chain through a base read each time from the word before the table */
static double chase_gs_base(long n, uint32_t *end)
{
    uint64_t p = 0, b;
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        __asm__ volatile("movq %%gs:-8, %1\n\tmovl (%1,%0), %k0" : "+r"(p), "=&r"(b));
    *end = (uint32_t)p;
    return (now_s() - t0) / (double)n * 1e9;
}

/* a native program's chain: each entry the address of the next */
static double chase_native(uintptr_t *ptrs, long n)
{
    uintptr_t p = (uintptr_t)ptrs;
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        __asm__ volatile("mov (%0), %0" : "+r"(p));
    return p ? (now_s() - t0) / (double)n * 1e9 : 0;
}

/* the same chain through a base register and an index */
static double chase_base(const uint32_t *table, long n, uint32_t *end)
{
    uint64_t p = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        __asm__ volatile("movl (%1,%0), %k0" : "+r"(p) : "r"(table));
    *end = (uint32_t)p;
    return (now_s() - t0) / (double)n * 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000000L;
    /* the table after a page whose last word holds the table's address */
    uint8_t *page = aligned_alloc(4096, 4096 + TABLE * sizeof(uint32_t));
    uint32_t *table = page ? (uint32_t *)(page + 4096) : NULL, a, b, c, d;
    uintptr_t *ptrs = aligned_alloc(4096, TABLE * sizeof *ptrs);
    double gs = 1e9, gs32 = 1e9, base = 1e9, gs_base = 1e9, native = 1e9;
    if (n <= 0 || !table || !ptrs) {
        fprintf(stderr, "usage: %s [LOADS > 0]\n", argv[0]);
        return 2;
    }
    if (!(getauxval(AT_HWCAP2) & 2)) { /* HWCAP2_FSGSBASE */
        printf("seg_latency: no FSGSBASE here (zvm keeps a base register): skipped\n");
        return 77;
    }
    for (uint32_t i = 0; i < TABLE; i++) { /* i -> 7i + 1 mod TABLE: one cycle */
        table[i] = (uint32_t)((i * 7u + 1u) % TABLE * sizeof *table);
        ptrs[i] = (uintptr_t)&ptrs[(i * 7u + 1u) % TABLE];
    }
    ((uint32_t **)table)[-1] = table;
    __asm__ volatile("wrgsbase %0" ::"r"((uintptr_t)table) : "memory");
    for (int round = 0; round < 3; round++) { /* the smallest of 3, interleaved */
        double g = chase_gs(n, &a), g32 = chase_gs32(n, &c), r = chase_base(table, n, &b);
        double nat = chase_native(ptrs, n), gb = chase_gs_base(n, &d);
        gs = g < gs ? g : gs;
        gs_base = gb < gs_base ? gb : gs_base;
        gs32 = g32 < gs32 ? g32 : gs32;
        base = r < base ? r : base;
        native = nat < native ? nat : native;
        if (a != b || c != b || d != b) {
            fprintf(stderr, "seg_latency: the chains ended apart (%u, %u, %u, %u)\n", a, c, d, b);
            return 1;
        }
    }
    __asm__ volatile("wrgsbase %0" ::"r"((uintptr_t)0) : "memory");
    printf("dependent loads, smallest of 3 rounds of %ld:\n", n);
    printf("  %%gs:(%%reg)        %.3f ns a load\n", gs);
    printf("  %%gs:(%%reg32)      %.3f ns a load\n", gs32);
    printf("  (%%base,%%index)    %.3f ns a load\n", base);
    printf("  %%gs:-8, (b,index) %.3f ns a load\n", gs_base);
    printf("  native (%%reg)     %.3f ns a load\n", native);
    printf("  GS / base          %.2fx\n", gs / base);
    free(page);
    free(ptrs);
    return 0;
}
#else
int main(void)
{
    printf("seg_latency: x86-64 only: skipped\n");
    return 77;
}
#endif
