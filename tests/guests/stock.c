/*
 * stock.c — a stock C program, nothing zvm-specific: fopen on a channel
 * alias, printf, malloc, qsort, time and rand. It must run unchanged, and
 * give the same bytes on every run (the clock and rand are deterministic).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    FILE *in = fopen("/dev/input", "r");
    FILE *out = fopen("/dev/output", "w");
    char line[256];
    int *v, n = 0, cap = 16;
    time_t now = time(NULL);
    if (!in || !out) {
        perror("fopen");
        return 1;
    }
    v = malloc(cap * sizeof *v);
    while (fgets(line, sizeof line, in)) {
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        v[n++] = atoi(line);
    }
    qsort(v, n, sizeof *v, by_value);
    for (int i = 0; i < n; i++)
        fprintf(out, "%d\n", v[i]);
    srand((unsigned)now);
    printf("sorted %d numbers; time %lld; rand %d %d; pi %.6f\n", n, (long long)now, rand() % 1000,
           rand() % 1000, 3.14159265358979);
    fclose(out);
    free(v);
    return 0;
}
