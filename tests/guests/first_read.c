/*
 * first_read.c — an unmodified filter for --snapshot first-read: no
 * zvm_fork(), an expensive set-up (a 4 MiB table, about 6 ms, and a
 * file written to the in-memory file system), then a loop that reads
 * stdin line by line, as an interpreter reading its input would. Its
 * first read is the fork point: each record's copy starts there, so
 * `lines` counts this record's lines only, the clock and the random
 * stream restart from the point, and the file made in the set-up is
 * there in every record. It prints what it saw before the point on
 * stderr (discarded in batch) and asks stdin's type first (allowed
 * before the point: it reads nothing).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N (1u << 20)
static uint32_t table[N];

int main(void)
{
    char line[4096], note[64] = "";
    int lines = 0;
    FILE *f;
    for (uint32_t i = 0; i < N; i++) { /* the set-up */
        uint32_t x = i * 2654435761u;
        table[i] = x ^ (x >> 15) ^ (x << 7);
    }
    for (int k = 0; k < 8; k++)
        for (uint32_t i = 1; i < N; i++)
            table[i] += table[i - 1] >> 3;
    if ((f = fopen("/tmp-note", "w"))) {
        fputs("made before the point", f);
        fclose(f);
    }
    fprintf(stderr, "set-up done, stdin is a tty: %d\n", isatty(0));
    while (fgets(line, sizeof line, stdin)) {
        struct timespec ts;
        unsigned long sum = 0;
        lines++;
        if (!strncmp(line, "TRAP", 4))
            __builtin_trap();
        if (!strncmp(line, "GROW", 4) && !malloc(8u << 20)) /* memory grown in a record */
            return 3;
        if (!strncmp(line, "EXIT", 4))
            exit(atoi(line + 4));
        if ((f = fopen("/tmp-note", "r"))) {
            if (!fgets(note, sizeof note, f))
                note[0] = 0;
            fclose(f);
        }
        for (char *p = line; *p && *p != '\n'; p++)
            sum += table[(uint8_t)*p * 4099u % N];
        clock_gettime(CLOCK_REALTIME, &ts);
        printf("lines=%d sum=%lu t=%lld r=%d note=%s %s", lines, sum, (long long)ts.tv_nsec,
               rand() % 1000, note, line);
    }
    return 0;
}
