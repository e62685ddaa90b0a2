/*
 * grow_every.c — a guest that grows its memory in every record, for the
 * memory windows (engine/memory.c): a table set up before its first read
 * of stdin (the fork point under --snapshot first-read) must be intact in
 * every record, pages it grows must read zero, and a load just past its
 * size must trap, whichever window the record runs in.
 *   OOB ...  grows, then loads just past its memory (a trap)
 *   other    grows by 1 + (length % 3) pages, checks, writes there and
 *            over part of the table, and prints what it found
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char table[256 << 10]; /* 64 pages of 4 KiB in the snapshot */

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 1); }

int main(void)
{
    char rec[256];
    size_t bad = 0, nonzero = 0;
    uint32_t grow, old;
    volatile unsigned char *grown;
    ssize_t n;
    for (size_t i = 0; i < sizeof table; i++)
        table[i] = pattern(i);
    if ((n = read(0, rec, sizeof rec - 1)) < 0)
        return 3;
    rec[n] = 0;
    for (size_t i = 0; i < sizeof table; i++)
        bad += table[i] != pattern(i);
    grow = 1 + (uint32_t)n % 3;
    if ((old = (uint32_t)__builtin_wasm_memory_grow(0, grow)) == UINT32_MAX)
        return 4;
    grown = (volatile unsigned char *)(uintptr_t)(old * 65536u);
    for (size_t i = 0; i < grow * 65536u; i += 512) {
        nonzero += grown[i] != 0;
        grown[i] = 0xee;
    }
    memset(table + ((size_t)n * 4096) % (sizeof table - 8192), 0, 8192);
    if (!strncmp(rec, "OOB", 3))
        return *(volatile int *)(uintptr_t)((old + grow) * 65536u);
    printf("grew %u pages: table %zu bad, grown %zu nonzero\n", grow, bad, nonzero);
    return 0;
}
