/*
 * filter.c — grep pipeline, stage 2 of 3. Keeps the lines of its single
 * input (/dev/in/split) that contain PATTERN, argv[1], as a fixed string
 * (exec.args in grep.json; args split on whitespace, so PATTERN has none),
 * and sends them to its single output (/dev/out/count).
 *
 * Kept lines are held in memory until the input ends, and only then
 * written: that is what makes the pipeline deadlock-free (see split.c).
 * A filter never waits on count while split still has lines for it, so
 * split always finishes; afterwards count reads the filters one by one,
 * and each waits only on count. The price is memory for the kept lines
 * (about 2 KB of sample.log's 34 ERROR lines).
 */
#define _GNU_SOURCE /* memmem: a line may hold NUL bytes */
#include "peers.h"

/* Returns the only entry of dir in *path, or -1 after saying why. */
static int filter_peer(const char *self, const char *dir, char **path)
{
    char **v = NULL;
    size_t n = 0;
    int rc = gp_peers(dir, &v, &n);
    if (rc < 0 || n != 1) {
        fprintf(stderr, "%s: %s: %s\n", self, dir,
                rc < 0 ? strerror(-rc) : "want exactly one entry");
        gp_peers_free(v, n);
        return -1;
    }
    *path = v[0];
    free(v);
    return 0;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "filter";
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATTERN\n", self);
        return 2;
    }
    const char *pattern = argv[1];
    size_t pattern_len = strlen(pattern);
    char *in_path = NULL, *out_path = NULL, *line = NULL, *kept = NULL;
    size_t cap = 0, kept_len = 0, kept_cap = 0;
    ssize_t len;
    FILE *in = NULL, *out = NULL;
    int status = 1;

    if (filter_peer(self, "/dev/in", &in_path) < 0 || filter_peer(self, "/dev/out", &out_path) < 0)
        goto out;
    if (!(in = fopen(in_path, "r"))) {
        fprintf(stderr, "%s: %s: %s\n", self, in_path, strerror(errno));
        goto out;
    }
    while ((len = getline(&line, &cap, in)) > 0) {
        if (!memmem(line, (size_t)len, pattern, pattern_len))
            continue;
        if (kept_cap - kept_len < (size_t)len) {
            size_t c = kept_cap ? kept_cap : 4096;
            while (c - kept_len < (size_t)len)
                c *= 2;
            char *k = realloc(kept, c);
            if (!k) {
                fprintf(stderr, "%s: out of memory (%zu bytes of kept lines)\n", self, c);
                goto out;
            }
            kept = k;
            kept_cap = c;
        }
        memcpy(kept + kept_len, line, (size_t)len);
        kept_len += (size_t)len;
    }
    if (ferror(in)) {
        fprintf(stderr, "%s: %s: read error\n", self, in_path);
        goto out;
    }
    if (!(out = fopen(out_path, "w")) || (kept_len && fwrite(kept, 1, kept_len, out) != kept_len)) {
        fprintf(stderr, "%s: %s: %s\n", self, out_path, strerror(errno));
        goto out;
    }
    int closed = fclose(out);
    out = NULL;
    if (closed != 0) {
        fprintf(stderr, "%s: %s: write error\n", self, out_path);
        goto out;
    }
    status = 0;
out:
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    free(in_path);
    free(out_path);
    free(line);
    free(kept);
    return status;
}
