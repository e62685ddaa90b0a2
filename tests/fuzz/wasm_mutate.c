/*
 * wasm_mutate.c — a tiny deterministic mutator for the differential check
 * (diff_wabt.sh): the same seed and inputs always give the same outputs,
 * so a disagreement found in CI can be reproduced byte for byte.
 *
 *   wasm_mutate SEED N OUTDIR FILE...
 * writes OUTDIR/mut-<k>.wasm for k < N, each a copy of one input (picked
 * by the PRNG) with 1 to 3 edits: bit flips, "interesting" bytes (end,
 * block types, value types, LEB128 continuation), byte insertions and
 * deletions, and small chunk copies. Edits stay past the 8-byte header,
 * where a change says something about the validator, not just the magic.
 * Not libFuzzer: the fuzzer's corpus is not stable across runs, this is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 8
#define MAX_FILE_BYTES (1u << 20) /* inputs above this are skipped */

static uint64_t rng_state;

/* splitmix64: tiny, seedable with any value, good enough for picking bytes. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

static const uint8_t interesting[] = {
    0x00, 0x01, 0x02, 0x0b, /* end */ 0x05, /* else */ 0x40, /* empty block type */
    0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, /* value types */
    0x80, 0xff, 0x1a, /* drop */ 0x1b, /* select */ 0x20, /* local.get */
    0x41, /* i32.const */ 0x0c, /* br */ 0x0e, /* br_table */ 0xfc, 0xfd, 0x10, /* call */
};

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

/* One edit at a random position past the header. In-place edits are
 * weighted up (8 in 10): an insertion or a deletion breaks the enclosing
 * section's size, which mostly tests the size check. */
static void mutate_once(buf *m)
{
    size_t span = m->n > HEADER_BYTES ? m->n - HEADER_BYTES : 0;
    size_t at = HEADER_BYTES + below(span), r = below(10);
    if (span == 0)
        return;
    if (r < 3) { /* flip one bit */
        m->b[at] ^= (uint8_t)(1u << below(8));
    } else if (r < 6) { /* an interesting byte */
        m->b[at] = interesting[below(sizeof interesting)];
    } else if (r < 7) { /* a random byte */
        m->b[at] = (uint8_t)rng();
    } else if (r < 8) { /* a copy of up to 8 bytes from elsewhere */
        size_t from = HEADER_BYTES + below(span), len = 1 + below(8);
        if (len > m->n - at)
            len = m->n - at;
        if (len > m->n - from)
            len = m->n - from;
        memmove(m->b + at, m->b + from, len);
    } else if (r < 9) { /* insert an interesting or random byte */
        if (m->n == m->cap)
            return;
        memmove(m->b + at + 1, m->b + at, m->n - at);
        m->b[at] = below(2) ? interesting[below(sizeof interesting)] : (uint8_t)rng();
        m->n++;
    } else { /* delete one byte */
        memmove(m->b + at, m->b + at + 1, m->n - at - 1);
        m->n--;
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    if (!f)
        return NULL;
    b = malloc(MAX_FILE_BYTES);
    *n = b ? fread(b, 1, MAX_FILE_BYTES, f) : 0;
    if (b && (ferror(f) || !feof(f))) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    char path[4096];
    long n_out;
    int n_in, status = 0;
    if (argc < 5) {
        fprintf(stderr, "usage: wasm_mutate SEED N OUTDIR FILE...\n");
        return 2;
    }
    rng_state = strtoull(argv[1], NULL, 0);
    n_out = strtol(argv[2], NULL, 0);
    n_in = argc - 4;
    for (long k = 0; k < n_out; k++) {
        const char *in = argv[4 + below((size_t)n_in)];
        buf m = {NULL, 0, 0};
        FILE *f;
        size_t n_edits = 1 + below(3);
        if (!(m.b = slurp(in, &m.n))) {
            fprintf(stderr, "wasm_mutate: cannot read %s (or above %u bytes)\n", in,
                    MAX_FILE_BYTES);
            status = 2;
            continue;
        }
        m.cap = MAX_FILE_BYTES;
        for (size_t e = 0; e < n_edits; e++)
            mutate_once(&m);
        snprintf(path, sizeof path, "%s/mut-%05ld.wasm", argv[3], k);
        if (!(f = fopen(path, "wb")) || fwrite(m.b, 1, m.n, f) != m.n || fclose(f)) {
            fprintf(stderr, "wasm_mutate: cannot write %s\n", path);
            free(m.b);
            return 2;
        }
        free(m.b);
    }
    return status;
}
