/*
 * snapshot.c — a guest with an expensive set-up before zvm_fork(): it
 * builds a 16 MiB table (about 50 ms), then forks; each record's copy
 * answers one line per record from the table. It also shows what a copy
 * starts from: `calls` counts the records this copy has seen (always 1 in
 * a fresh copy), the virtual clock and the random stream restart from the
 * fork point, and a file it opened before the fork is still open.
 * A record "D<n>" first writes n bytes of the table (the dirty size of
 * perf/snapshot.sh). With -DNO_SETUP the table is not built (the perf
 * baseline).
 */
#include <zvm/guest.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N (1u << 22)
static uint32_t table[N];
static int calls; /* after the fork: 1 in every copy */

int main(void)
{
    char line[4096];
    struct timespec ts;
    unsigned long sum = 0;
#ifndef NO_SETUP
    for (uint32_t i = 0; i < N; i++) { /* the set-up: a table of mixed values */
        uint32_t x = i * 2654435761u;
        table[i] = x ^ (x >> 15) ^ (x << 7);
    }
    for (int k = 0; k < 16; k++) /* make it cost what a real set-up does */
        for (uint32_t i = 1; i < N; i++)
            table[i] += table[i - 1] >> 3;
#endif
    int forked = zvm_fork();
    calls++;
    if (!fgets(line, sizeof line, stdin))
        line[0] = 0;
    if (line[0] == 'D') /* "D<bytes>": dirty that much memory (perf/snapshot.sh) */
        memset(table, line[1], (size_t)atoi(line + 1) < sizeof table ? (size_t)atoi(line + 1) : 0);
    for (char *p = line; *p && *p != '\n'; p++)
        sum += table[(uint8_t)*p * 4099u % N];
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("forked=%d calls=%d sum=%lu t=%lld r=%d %s", forked, calls, sum, (long long)ts.tv_nsec,
           rand() % 1000, line);
    return 0;
}
