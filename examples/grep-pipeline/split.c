/*
 * split.c — grep pipeline, stage 1 of 3 (grep.json: split -> filter x4 ->
 * count). Reads the log on /dev/stdin and deals its lines round robin to
 * the N entries of /dev/out (filter-1..N, sorted by name): line k, counting
 * from 0, goes to the (k % N)-th. A last line without a newline gets one,
 * so every filter sees whole lines. Streams; lines have no length limit.
 *
 * Cannot deadlock: split waits only on a full pipe to a filter, and every
 * filter reads split to its end without waiting on anyone else, because it
 * holds what it keeps and writes nothing before its input has ended (see
 * filter.c). Rejected: filters that stream to count. Count reads filter-1
 * to its end first; filter-2 fills its pipe to count and stops reading;
 * split blocks writing to filter-2; filter-1 waits for split: a cycle.
 */
#include "peers.h"

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "split";
    char **outs = NULL;
    size_t n_outs = 0;
    FILE **f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = 1, rc;

    if ((rc = gp_peers("/dev/out", &outs, &n_outs)) < 0 || n_outs == 0) {
        fprintf(stderr, "%s: /dev/out: %s\n", self, rc < 0 ? strerror(-rc) : "no filter connected");
        goto out;
    }
    if (!(f = calloc(n_outs, sizeof *f)))
        goto nomem;
    for (size_t i = 0; i < n_outs; i++) {
        if (!(f[i] = fopen(outs[i], "w"))) {
            fprintf(stderr, "%s: %s: %s\n", self, outs[i], strerror(errno));
            goto out;
        }
    }
    for (unsigned long long k = 0; (len = getline(&line, &cap, stdin)) > 0; k++) {
        FILE *o = f[k % n_outs];
        fwrite(line, 1, (size_t)len, o);
        if (line[len - 1] != '\n')
            putc('\n', o);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "%s: /dev/stdin: read error\n", self);
        goto out;
    }
    status = 0;
    for (size_t i = 0; i < n_outs; i++) {
        int failed = ferror(f[i]) | fclose(f[i]);
        f[i] = NULL;
        if (failed) {
            fprintf(stderr, "%s: %s: write error\n", self, outs[i]);
            status = 1;
        }
    }
    goto out;
nomem:
    fprintf(stderr, "%s: out of memory\n", self);
out:
    for (size_t i = 0; f && i < n_outs; i++)
        if (f[i])
            fclose(f[i]);
    free(f);
    free(line);
    gp_peers_free(outs, n_outs);
    return status;
}
