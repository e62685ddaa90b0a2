/*
 * strsearch.c — compute kernel: substring search, our own
 * Boyer-Moore-Horspool (not libc's strstr or memmem). The text is SIZE MiB
 * (default 40) of words over a 16-letter alphabet; 32 patterns of 4 to 19
 * bytes are each counted over the whole text, half cut from the text (they
 * occur) and half random (they mostly do not). Stresses byte loads, a
 * 256-entry skip table and unpredictable branches. The checksum covers
 * every pattern's match count and the sum of its match positions.
 */
#include "kernel.h"

#include <string.h>

#define N_PATTERNS 32
#define MAX_PATTERN 19

/* Counts the occurrences of pat (overlapping ones too) in text. */
static uint64_t horspool_count(const uint8_t *text, size_t n, const uint8_t *pat, size_t m,
                               uint64_t *pos_sum)
{
    size_t skip[256], i = 0;
    uint64_t count = 0;
    if (m == 0 || m > n)
        return 0;
    for (int c = 0; c < 256; c++)
        skip[c] = m;
    for (size_t k = 0; k + 1 < m; k++)
        skip[pat[k]] = m - 1 - k;
    while (i + m <= n) {
        uint8_t last = text[i + m - 1];
        if (last == pat[m - 1]) {
            size_t k = 0;
            while (k + 1 < m && text[i + k] == pat[k])
                k++;
            if (k + 1 >= m) {
                count++;
                *pos_sum += i;
            }
        }
        i += skip[last];
    }
    return count;
}

/* Words of 1 to 8 letters from a-p, skewed towards the first letters. */
static void make_text(uint8_t *text, size_t n, uint64_t *seed)
{
    size_t i = 0;
    while (i < n) {
        uint64_t r = kernel_rand(seed);
        uint32_t len = 1 + (uint32_t)(r & 7);
        r >>= 3;
        for (uint32_t k = 0; k < len && i < n; k++, r >>= 5) {
            uint32_t v = (uint32_t)(r & 31);
            text[i++] = (uint8_t)('a' + (v < 16 ? v : v - 16) / (v < 16 ? 2 : 1));
        }
        if (i < n)
            text[i++] = ' ';
    }
}

int main(int argc, char **argv)
{
    uint32_t mib = kernel_size(argc, argv, 40);
    size_t n = (size_t)mib << 20;
    uint64_t seed = 0x7e47ull, sum = 0;
    uint8_t *text = malloc(n), pats[N_PATTERNS][MAX_PATTERN];
    if (!text || mib > 1024) {
        fputs("strsearch: out of memory\n", stderr);
        return 1;
    }
    make_text(text, n, &seed);
    for (int p = 0; p < N_PATTERNS; p++) {
        size_t m = 4 + (size_t)(kernel_rand(&seed) % (MAX_PATTERN - 3));
        if (p % 2 == 0) {
            size_t at = (size_t)(kernel_rand(&seed) % (n - MAX_PATTERN));
            memcpy(pats[p], text + at, m);
        } else {
            for (size_t k = 0; k < m; k++)
                pats[p][k] = (uint8_t)('a' + kernel_rand(&seed) % 16);
        }
        uint64_t pos_sum = 0, count = horspool_count(text, n, pats[p], m, &pos_sum);
        sum = kernel_mix(kernel_mix(sum, count), pos_sum);
    }
    kernel_report("strsearch", mib, sum);
    free(text);
    return 0;
}
