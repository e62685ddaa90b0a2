/*
 * crc32.c — compute kernel (held back: added after the others were tuned,
 * to keep the geometric mean honest): CRC-32 (IEEE 802.3, reflected,
 * polynomial 0xEDB88320) with the slicing-by-8 tables, over a 1 MiB
 * buffer SIZE times (default 2000), each pass folding the last CRC into the
 * buffer. Stresses byte loads, table lookups and 32-bit shifts and xors.
 * Checked against the standard test vector ("123456789" -> 0xCBF43926).
 */
#include "kernel.h"

#define BUF (1u << 20)

static uint32_t table[8][256];

static void make_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

static uint32_t crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    }
    while (n--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int main(int argc, char **argv)
{
    uint32_t reps = kernel_size(argc, argv, 2000), crc = 0;
    uint64_t seed = 0xc3c32ull, sum = 0;
    uint8_t *buf = malloc(BUF);
    if (!buf) {
        fputs("crc32: out of memory\n", stderr);
        return 1;
    }
    make_tables();
    if (crc32(0, (const uint8_t *)"123456789", 9) != 0xcbf43926u) {
        fputs("crc32: wrong result for the test vector\n", stderr);
        return 1;
    }
    for (uint32_t i = 0; i < BUF; i += 8) {
        uint64_t r = kernel_rand(&seed);
        for (int k = 0; k < 8; k++)
            buf[i + k] = (uint8_t)(r >> (8 * k));
    }
    for (uint32_t r = 0; r < reps; r++) {
        crc = crc32(crc, buf, BUF);
        buf[(r * 7919u) % BUF] ^= (uint8_t)crc;
        sum = kernel_mix(sum, crc);
    }
    kernel_report("crc32", reps, sum);
    free(buf);
    return 0;
}
