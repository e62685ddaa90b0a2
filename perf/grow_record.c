/*
 * grow_record.c — a guest that grows its memory in every record, as
 * pcre2grep does per input (issue 24, item 6): malloc(1 MiB) is past the
 * initial heap (memory.grow), 64 KiB of it are written, 8 bytes printed
 * (so clang cannot drop the allocation). perf/README.md ("Script filters")
 * has how to run it under zvm-bench on 1 and 2 workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char line[4096], *big;
    if (!fgets(line, sizeof line, stdin))
        return 0;
    if (!(big = malloc(1 << 20)))
        return 1;
    memset(big, line[0], 64 * 1024);
    fwrite(big + 100, 1, 8, stdout);
    printf(" %zu\n", strlen(line));
    return 0;
}
