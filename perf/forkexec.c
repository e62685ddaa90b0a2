/*
 * forkexec.c — the fork+exec peer of the batch benchmark: one process per
 * record, the way a shell pipeline or xargs would run a native filter.
 * Each record goes to a fresh process on a pipe; its stdout goes to
 * /dev/null. Prints records per second.
 *
 *   forkexec PROGRAM RECORDS_FILE COUNT
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    char *rec[4096];
    size_t len[4096], n = 0, cap = 0;
    char *line = NULL;
    ssize_t got;
    long count;
    FILE *f;
    struct timespec t0, t1;
    int devnull;
    if (argc != 4 || !(f = fopen(argv[2], "r")) || (count = atol(argv[3])) <= 0) {
        fprintf(stderr, "usage: forkexec PROGRAM RECORDS_FILE COUNT\n");
        return 2;
    }
    while (n < 4096 && (got = getline(&line, &cap, f)) > 0) {
        rec[n] = line;
        len[n++] = (size_t)got;
        line = NULL;
        cap = 0;
    }
    fclose(f);
    if (!n || (devnull = open("/dev/null", O_WRONLY)) < 0)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < count; i++) {
        posix_spawn_file_actions_t fa;
        char *args[] = {argv[1], NULL};
        int p[2], status;
        pid_t pid;
        if (pipe(p) < 0)
            return 1;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[0], 0);
        posix_spawn_file_actions_adddup2(&fa, devnull, 1);
        posix_spawn_file_actions_addclose(&fa, p[1]);
        if (posix_spawn(&pid, argv[1], &fa, NULL, args, environ) != 0)
            return 1;
        posix_spawn_file_actions_destroy(&fa);
        close(p[0]);
        if (write(p[1], rec[i % n], len[i % n]) < 0)
            return 1;
        close(p[1]);
        waitpid(pid, &status, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    {
        double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%ld %.3f %.0f\n", count, s, (double)count / s);
    }
    return 0;
}
