/*
 * fuzz_tar.c — the tar reader against hostile images: each input is a
 * session's mounted image, parsed as zvm parses it (zv_eng_session_new,
 * within the manifest's Timeout), then every node of the tree the guest
 * would see is visited and every file read. A crash, a sanitizer report,
 * a hang or a leak is a finding.
 *
 * Two builds of this file:
 * - with ZVM_FUZZ=ON (clang, libFuzzer): `tests/fuzz/run.sh SECONDS
 *   fuzz_tar`;
 * - in every build, fuzz_tar_replay (ZV_FUZZ_REPLAY): CTest's fixed run,
 *   the seeds below (valid archives of every member kind, pax and GNU
 *   long names, and the review's hostile ones) and a fixed number of
 *   their mutations from a fixed seed. It fails when an input takes more
 *   than 2 s (the parse is linear in the image's size: these are at most
 *   a few MB), and prints how many inputs ran.
 */
#include "engine/host_mem_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char image_path[64];
static zv_cfg_manifest *man;

static int setup(void)
{
    zv_cfg_err err;
    char text[1024];
    int fd;
    snprintf(image_path, sizeof image_path, "/tmp/zvm-fuzz-tar.XXXXXX");
    if ((fd = mkstemp(image_path)) < 0)
        return -1;
    close(fd);
    snprintf(text, sizeof text,
             "Version = 20130611\nProgram = x.wasm\nMemory = 67108864, 0\nTimeout = 5\n"
             "Mount = /dev/image, /img\n"
             "Channel = /dev/null, /dev/stdin, 0, 0, 1, 1, 0, 0\n"
             "Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 1, 1\n"
             "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1, 1\n"
             "Channel = %s, /dev/image, 1, 0, 1, 1073741824, 0, 0\n", image_path);
    return zv_cfg_parse(text, strlen(text), "/", &man, &err);
}

/* Visit every node under n (directories may share image nodes: depth-bounded). */
static uint64_t visit(const zv_mnode *n, int depth)
{
    uint64_t sum = n->size + n->type;
    if (depth > 64)
        return sum;
    for (uint64_t i = 0; n->type == 4 && n->data && i < n->size; i += 4096)
        sum += n->data[i];
    if (n->type == 7 && n->target)
        sum += strlen(n->target);
    for (uint32_t i = 0; n->type == 3 && i < n->n_ents; i++)
        if (n->ents[i].node)
            sum += strlen(n->ents[i].name) + visit(n->ents[i].node, depth + 1);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static volatile uint64_t sink;
    zv_eng_session *s;
    zv_eng_err err;
    FILE *f;
    if (!man && setup())
        abort();
    if (!(f = fopen(image_path, "wb")) || fwrite(data, 1, size, f) != size || fclose(f))
        abort();
    if (zv_eng_session_new(man, &s, &err) == 0) {
        zv_mnode *root = zv_mfs_root(s->mfs, 0);
        if (root)
            sink += visit(root, 0);
        zv_eng_session_free(s);
    }
    return 0;
}

#ifdef ZV_FUZZ_REPLAY
/* ---- the fixed run ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* One member: a ustar header with its checksum, the data, padding. */
static void member(buf *b, const char *name, char type, const char *data, const char *link)
{
    uint8_t h[512] = {0}, pad[512] = {0};
    size_t len = data ? strlen(data) : 0;
    unsigned sum = 0;
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "0000644");
    snprintf((char *)h + 124, 12, "%011zo", len);
    snprintf((char *)h + 136, 12, "%011o", 1234567u);
    memset(h + 148, ' ', 8);
    h[156] = (uint8_t)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    put(b, h, 512);
    if (len)
        put(b, data, len);
    put(b, pad, (512 - len % 512) % 512);
}

static void end(buf *b)
{
    static const uint8_t zero[1024];
    put(b, zero, sizeof zero);
}

/* A pax record "LEN key=value\n", LEN counting itself. */
static void pax_rec(char *out, size_t cap, const char *key, const char *value)
{
    size_t body = 1 + strlen(key) + 1 + strlen(value) + 1, len = body + 1;
    while (snprintf(NULL, 0, "%zu", len) + body != len)
        len++;
    snprintf(out, cap, "%zu %s=%s\n", len, key, value);
}

/* The seeds: every kind of member, long names both ways, and the
 * review's hostile images. */
static int seed(int k, buf *b)
{
    char name[200], pax[256];
    b->n = 0;
    switch (k) {
    case 0: /* files, folders, a symlink, a name twice */
        member(b, "a.txt", '0', "hello\n", NULL);
        member(b, "dir/", '5', NULL, NULL);
        member(b, "dir/b.txt", '0', "nested\n", NULL);
        member(b, "dir/deep/c.txt", '0', "made on the way\n", NULL);
        member(b, "link", '2', NULL, "dir/b.txt");
        member(b, "a.txt", '0', "second\n", NULL);
        end(b);
        return 1;
    case 1: /* a pax path and linkpath, a GNU long name */
        pax_rec(pax, 128, "path", "pax/with/long/name.txt");
        pax_rec(pax + strlen(pax), 128, "linkpath", "a.txt");
        member(b, "pax", 'x', pax, NULL);
        member(b, "short", '2', NULL, "x");
        member(b, "././@LongLink", 'L', "gnu/long/name/that/is/long.txt", NULL);
        member(b, "short2", '0', "gnu\n", NULL);
        end(b);
        return 1;
    case 2: /* a pax length that wraps around 2^64 */
        member(b, "pax", 'x', "20 path=aaaaaaaaaaa\n18446744073709551596 path=x\n", NULL);
        member(b, "file.txt", '0', "hello\n", NULL);
        end(b);
        return 1;
    case 3: /* names that climb, empty and "." components */
        member(b, "../escape.txt", '0', "x\n", NULL);
        member(b, "a/../../b.txt", '0', "x\n", NULL);
        member(b, ".//./ok.txt", '0', "ok\n", NULL);
        member(b, "/abs.txt", '0', "abs\n", NULL);
        end(b);
        return 1;
    case 4: /* members in reverse name order, in two folders */
        for (int i = 3000; i > 0; i--) {
            snprintf(name, sizeof name, "%s/f%05d", i % 2 ? "odd" : "even", i);
            member(b, name, '0', NULL, NULL);
        }
        end(b);
        return 1;
    case 5: /* a file where a folder must go, and the other way */
        member(b, "x", '0', "file\n", NULL);
        member(b, "x/y", '0', "under a file\n", NULL);
        member(b, "d/e", '0', "e\n", NULL);
        member(b, "d", '0', "a file named like a folder\n", NULL);
        end(b);
        return 1;
    default:
        return 0;
    }
}

/* A mutation of b: flip, overwrite with digits (lengths), splice, cut. */
static void mutate(buf *b, uint64_t *rng)
{
    int n = 1 + (int)(*rng % 4);
    while (n-- > 0 && b->n) {
        *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
        size_t at = (size_t)(*rng >> 8) % b->n;
        switch (*rng % 5) {
        case 0: b->p[at] ^= (uint8_t)(1u << (*rng >> 40) % 8); break;
        case 1: b->p[at] = (uint8_t)('0' + (*rng >> 32) % 10); break;
        case 2: b->p[at] = (uint8_t)(*rng >> 48); break;
        case 3: b->n = at + 1; break;
        default: memmove(b->p + at, b->p + (at + 512) % b->n, b->n - at > 64 ? 64 : b->n - at);
        }
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int per_seed = argc > 1 ? atoi(argv[1]) : 300, runs = 0, slow = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    buf b = {0}, m = {0};
    for (int k = 0; seed(k, &b); k++) {
        for (int i = 0; i <= per_seed; i++) {
            double t0;
            m.n = 0;
            put(&m, b.p, b.n);
            if (i)
                mutate(&m, &rng);
            t0 = now_s();
            LLVMFuzzerTestOneInput(m.p, m.n);
            if (now_s() - t0 > 2.0) {
                fprintf(stderr, "FAIL: seed %d mutation %d took %.1f s\n", k, i, now_s() - t0);
                slow++;
            }
            runs++;
        }
    }
    unlink(image_path);
    zv_cfg_free(man);
    free(b.p);
    free(m.p);
    printf("fuzz_tar_replay: %d inputs, %d too slow\n", runs, slow);
    return slow ? 1 : 0;
}
#endif
