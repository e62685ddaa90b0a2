/*
 * libc_calls.c — wasi-libc's memcpy, memmove, memset, memcmp, strlen and
 * memchr,
 * which zvm binds to native code (engine/libc_bind.h), against the same
 * routines run as wasm (node, in tests/e2e/libc_bind.sh): every size to
 * 70 bytes and some large ones, every alignment to 8, ranges that
 * overlap either way (memcpy's own behaviour there included), results
 * and bytes printed as checksums. argv[1] picks a hostile case instead:
 *   memcpy-oob     a copy whose end is past the memory: traps
 *   memset-oob     the same for memset
 *   memcmp-early   a compare whose ranges leave the memory after their
 *                  first difference: returns it (musl stops there)
 *   memcmp-oob     the same ranges, equal up to the end: traps
 *   strlen-end     a string that runs to the memory's end: traps
 *   memchr-early   a search whose range leaves the memory after the byte
 *                  it finds: returns it
 *   memchr-oob     the same range, the byte not there: traps
 * The calls go through volatile pointers so that clang cannot expand
 * them inline: the routines themselves run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *(*volatile cpy)(void *, const void *, size_t) = memcpy;
static void *(*volatile mov)(void *, const void *, size_t) = memmove;
static void *(*volatile set)(void *, int, size_t) = memset;
static int (*volatile cmp)(const void *, const void *, size_t) = memcmp;
static size_t (*volatile len)(const char *) = strlen;
static void *(*volatile chr)(const void *, int, size_t) = memchr;

static uint8_t buf[1 << 17];

static uint32_t sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void fill(void)
{
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 8));
}

/* The end of the memory: the last byte an address may name. */
static uint8_t *mem_end(void) { return (uint8_t *)(__builtin_wasm_memory_size(0) * 65536); }

static int hostile(const char *what)
{
    uint8_t *end = mem_end();
    if (!strcmp(what, "memcpy-oob")) {
        cpy(end - 8, buf, 16);
        puts("memcpy-oob: no trap");
    } else if (!strcmp(what, "memset-oob")) {
        set(end - 3, 1, 4);
        puts("memset-oob: no trap");
    } else if (!strcmp(what, "memcmp-early")) {
        end[-4] = 1;
        buf[0] = 2;
        printf("memcmp-early: %d\n", cmp(end - 4, buf, 64));
        return 0;
    } else if (!strcmp(what, "memcmp-oob")) {
        memset(end - 4, 7, 4);
        memset(buf, 7, 64);
        printf("memcmp-oob: %d\n", cmp(end - 4, buf, 64));
    } else if (!strcmp(what, "strlen-end")) {
        memset(end - 100, 'x', 100);
        printf("strlen-end: %zu\n", len((const char *)end - 100));
    } else if (!strcmp(what, "memchr-early") || !strcmp(what, "memchr-oob")) {
        memset(end - 64, 'y', 64);
        end[-10] = what[7] == 'e' ? 'x' : 'y';
        uint8_t *at = chr(end - 64, 'x', 100);
        printf("%s: %ld\n", what, at ? (long)(end - at) : -1L);
        return at ? 0 : 1;
    } else {
        fprintf(stderr, "libc_calls: no case %s\n", what);
        return 2;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const size_t big[] = {255, 256, 1000, 4096, 4097, 30000};
    uint32_t h = 0;
    if (argc > 1)
        return hostile(argv[1]);
    for (size_t n = 0; n < 80; n++) {
        size_t size = n < 70 ? n : big[n - 70 < 6 ? n - 70 : 5];
        for (size_t a = 0; a < 8; a++)
            for (size_t b = 0; b < 8; b++) {
                uint8_t *d = buf + 1024 + a, *s = buf + 64000 + b;
                fill();
                h = h * 31 + (uint32_t)((uint8_t *)cpy(d, s, size) - buf);
                h = h * 31 + sum(buf, sizeof buf);
                /* overlapping, forward and backward, through memmove and memcpy */
                h = h * 31 + (uint32_t)((uint8_t *)mov(d + b, d, size) - buf);
                h = h * 31 + (uint32_t)((uint8_t *)mov(d, d + b + 1, size) - buf);
                h = h * 31 + (uint32_t)((uint8_t *)cpy(d + b + 1, d, size) - buf);
                h = h * 31 + (uint32_t)((uint8_t *)cpy(d, d + 3, size) - buf);
                h = h * 31 + sum(buf, sizeof buf);
                set(s, (int)(a * 37 + b - 5), size); /* the fill takes the low byte */
                h = h * 31 + sum(buf, sizeof buf);
                /* compares: equal, and one byte changed at each place */
                fill();
                memcpy(d, s, size);
                h = h * 31 + (uint32_t)cmp(d, s, size);
                for (size_t i = 0; i < size && i < 80; i++) {
                    uint8_t keep = d[i];
                    d[i] = (uint8_t)(keep + 1 + a * 16);
                    h = h * 31 + (uint32_t)cmp(d, s, size);
                    h = h * 31 + (uint32_t)cmp(s, d, size);
                    d[i] = keep;
                }
                /* each byte searched for (the first of its value is found),
                 * and one that is not there; the value's low byte counts */
                for (size_t i = 0; i < size && i < 80; i++) {
                    uint8_t *at = chr(d, d[i] + 256 * (int)a, size);
                    h = h * 31 + (uint32_t)(at ? at - buf : -1);
                }
                h = h * 31 + (uint32_t)(chr(d, 'a' + 1, size) != NULL);
                /* strings of each length */
                memset(d, 'a', size);
                d[size] = 0;
                h = h * 31 + (uint32_t)len((const char *)d);
            }
        printf("%zu %08x\n", size, h);
    }
    return 0;
}
