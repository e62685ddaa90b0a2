/*
 * determinism.c — reads the clock, draws random numbers (rand and
 * getentropy), formats floats and allocates memory; every run with the
 * same manifest must print the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    struct timespec a, b;
    unsigned char bytes[16];
    double acc = 0;
    clock_gettime(CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    getentropy(bytes, sizeof bytes);
    for (int i = 0; i < 1000; i++) {
        double *p = malloc((size_t)(i % 97 + 1) * sizeof *p);
        p[0] = (double)rand() / RAND_MAX;
        acc += p[0] * 1e-3;
        printf("%s%.17g", i % 10 ? " " : "\n", p[0]);
        free(p);
    }
    printf("\nclock %lld.%09ld %lld.%09ld acc %.17g\n", (long long)a.tv_sec, a.tv_nsec,
           (long long)b.tv_sec, b.tv_nsec, acc);
    for (int i = 0; i < 16; i++)
        printf("%02x", bytes[i]);
    printf("\n");
    return 0;
}
