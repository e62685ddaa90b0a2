/*
 * wasm_enc.h — a growable byte buffer with the WebAssembly binary
 * encodings (LEB128, names, prefixed opcodes, sections) and a seeded
 * xorshift generator: what the module generators share (perf/gen_module.c,
 * tests/fuzz/gen_exec.c). Test and benchmark code only: out of memory
 * ends the program.
 */
#ifndef ZVM_TESTS_WASM_ENC_H
#define ZVM_TESTS_WASM_ENC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static inline void reserve(buf *b, size_t k)
{
    if (b->n + k <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + k)
        cap *= 2;
    if (!(b->p = realloc(b->p, cap))) {
        fprintf(stderr, "wasm_enc: out of memory\n");
        exit(2);
    }
    b->cap = cap;
}

static inline void put(buf *b, uint8_t x)
{
    reserve(b, 1);
    b->p[b->n++] = x;
}

static inline void put_bytes(buf *b, const void *s, size_t k)
{
    reserve(b, k);
    memcpy(b->p + b->n, s, k);
    b->n += k;
}

static inline void put_u32(buf *b, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put(b, byte | (v ? 0x80 : 0));
    } while (v);
}

static inline void put_s64(buf *b, int64_t v)
{
    for (;;) {
        uint8_t byte = v & 0x7f;
        v >>= 7; /* arithmetic shift on every compiler we target */
        if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40))) {
            put(b, byte);
            return;
        }
        put(b, byte | 0x80);
    }
}

static inline void put_name(buf *b, const char *s)
{
    put_u32(b, (uint32_t)strlen(s));
    put_bytes(b, s, strlen(s));
}

/* A prefixed instruction: 0xfc or 0xfd, then the subopcode as a u32. */
static inline void put_sub(buf *b, uint8_t prefix, uint32_t sub)
{
    put(b, prefix);
    put_u32(b, sub);
}

/* Section `id` with the contents of `s` (which is then emptied). */
static inline void put_section(buf *out, uint8_t id, buf *s)
{
    put(out, id);
    put_u32(out, (uint32_t)s->n);
    put_bytes(out, s->p, s->n);
    s->n = 0;
}

/* xorshift64: deterministic for a seed, no libc state. */
static inline uint64_t rng_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

#endif
