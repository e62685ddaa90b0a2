/*
 * count.c — grep pipeline, stage 3 of 3. Reads every entry of /dev/in
 * (filter-1..N) to its end, in name order, and writes to /dev/stdout one
 * line "NAME N" per filter, N its number of lines, then "total N". The
 * total equals `grep -c PATTERN` on the log, since split gives every line
 * a newline and each line reaches exactly one filter.
 *
 * Cannot deadlock: count waits only on the filter it is reading, and a
 * filter writes only after split has ended (see split.c and filter.c), so
 * whichever filter count waits on has nothing left to wait for but count.
 */
#include "peers.h"

/* Counts the newlines of the file at path into *n. Returns 0, or -1 after saying why. */
static int count_lines(const char *self, const char *path, unsigned long long *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", self, path, strerror(errno));
        return -1;
    }
    static char chunk[65536]; /* not on the stack: all of wasm32-wasi's is 64 KiB */
    size_t got;
    *n = 0;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        for (const char *p = chunk; (p = memchr(p, '\n', got - (size_t)(p - chunk))); p++)
            (*n)++;
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: %s: read error\n", self, path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "count";
    char **ins = NULL;
    size_t n_ins = 0;
    unsigned long long total = 0, n;
    int status = 1, rc;

    if ((rc = gp_peers("/dev/in", &ins, &n_ins)) < 0) {
        fprintf(stderr, "%s: /dev/in: %s\n", self, strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < n_ins; i++) {
        if (count_lines(self, ins[i], &n) < 0)
            goto out;
        printf("%s %llu\n", ins[i] + strlen("/dev/in/"), n);
        total += n;
    }
    printf("total %llu\n", total);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: /dev/stdout: %s\n", self, strerror(errno));
        goto out;
    }
    status = 0;
out:
    gp_peers_free(ins, n_ins);
    return status;
}
