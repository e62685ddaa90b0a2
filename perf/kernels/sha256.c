/*
 * sha256.c — compute kernel: SHA-256 (FIPS 180-4) written out in plain C,
 * no library. Hashes a 1 MiB pseudo-random buffer SIZE times (default
 * 256, so 256 MiB), chaining each digest into the first bytes of the next
 * input so no round can be skipped. Stresses 32-bit rotates, adds and the
 * big-endian loads of the message schedule. Checks the FIPS "abc" test
 * vector first, so a wrong build fails instead of timing garbage.
 */
#include "kernel.h"

#include <string.h>

#define BUF_BYTES (1u << 20)

typedef struct {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t block[64];
    uint32_t used;
} sha256_ctx;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void sha256_init(sha256_ctx *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->n_bytes = 0;
    s->used = 0;
}

static void sha256_update(sha256_ctx *s, const uint8_t *p, size_t n)
{
    s->n_bytes += n;
    while (n > 0) {
        if (s->used == 0 && n >= 64) {
            sha256_block(s->h, p);
            p += 64, n -= 64;
            continue;
        }
        uint32_t take = 64 - s->used < n ? 64 - s->used : (uint32_t)n;
        memcpy(s->block + s->used, p, take);
        s->used += take, p += take, n -= take;
        if (s->used == 64) {
            sha256_block(s->h, s->block);
            s->used = 0;
        }
    }
}

static void sha256_final(sha256_ctx *s, uint8_t out[32])
{
    uint64_t bits = s->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    uint32_t pad_len = (s->used < 56 ? 56 : 120) - s->used;
    for (int i = 0; i < 8; i++)
        pad[pad_len + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_update(s, pad, pad_len + 8);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (uint8_t)(s->h[i] >> (24 - 8 * k));
}

/* FIPS 180-4 example: SHA-256("abc"). */
static int sha256_selftest(void)
{
    static const uint8_t want[8] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea};
    sha256_ctx s;
    uint8_t d[32];
    sha256_init(&s);
    sha256_update(&s, (const uint8_t *)"abc", 3);
    sha256_final(&s, d);
    return memcmp(d, want, sizeof want) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint32_t rounds = kernel_size(argc, argv, 256);
    uint64_t seed = 0x5eed5a256ull, sum = 0;
    uint8_t *buf = malloc(BUF_BYTES), digest[32] = {0};
    if (!buf || sha256_selftest()) {
        fputs("sha256: self-test failed\n", stderr);
        return 1;
    }
    for (uint32_t i = 0; i < BUF_BYTES; i += 8) {
        uint64_t r = kernel_rand(&seed);
        memcpy(buf + i, &r, 8);
    }
    for (uint32_t r = 0; r < rounds; r++) {
        sha256_ctx s;
        memcpy(buf, digest, sizeof digest);
        sha256_init(&s);
        sha256_update(&s, buf, BUF_BYTES - (r & 63)); /* varying tails exercise the padding */
        sha256_final(&s, digest);
    }
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        memcpy(&v, digest + 8 * i, 8);
        sum = kernel_mix(sum, v);
    }
    kernel_report("sha256", rounds, sum);
    free(buf);
    return 0;
}
