/*
 * records.c — the batch appliance's test filter: one record on stdin, its
 * output on stdout; hostile records misbehave on purpose.
 *   TRAP   traps (unreachable)         LOOP   spins until the timeout
 *   OOB    loads past the memory       BIG    writes past the output limit
 *   GROW   grows memory and writes there, then answers normally
 *   STATE  prints how often this instance ran: always 1 in a fresh instance
 *   other  the record upper-cased
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int runs; /* static state: a fresh instance starts at 0 */
#ifdef RECORDS_BIGMEM
static char pad[2 << 20]; /* initial memory above the memset threshold */
#endif
static volatile int sink;

int main(void)
{
    char rec[4096];
    ssize_t n = read(0, rec, sizeof rec - 1);
    if (n < 0)
        return 3;
    rec[n] = 0;
    runs++;
#ifdef RECORDS_BIGMEM
    pad[runs * 4096] = 1;
    runs += pad[4096] - 1; /* still 1 in a fresh instance */
#endif
    if (!strncmp(rec, "TRAP", 4))
        __builtin_trap();
    if (!strncmp(rec, "LOOP", 4))
        for (;;)
            sink++;
    if (!strncmp(rec, "OOB", 3))
        return *(volatile int *)(uintptr_t)0xfffffff0u;
    if (!strncmp(rec, "BIG", 3)) {
        static char big[8192];
        memset(big, 'b', sizeof big);
        fwrite(big, 1, sizeof big, stdout);
        return 0;
    }
    if (!strncmp(rec, "GROW", 4)) {
        int old = __builtin_wasm_memory_grow(0, 100);
        char *p = (char *)(uintptr_t)(old * 65536);
        if (old < 0)
            return 4;
        memset(p, 'g', 100 * 65536);
        printf("GROWN %d\n", (int)__builtin_wasm_memory_size(0) - old);
        return 0;
    }
    if (!strncmp(rec, "STATE", 5)) {
        printf("STATE %d\n", runs);
        return 0;
    }
    for (ssize_t i = 0; i < n; i++)
        rec[i] = (char)toupper((unsigned char)rec[i]);
    fwrite(rec, 1, (size_t)n, stdout);
    return 0;
}
