/*
 * channels.c — exercises the `zvm` host calls through zvm/guest.h, one
 * scenario per argv[1], printing what it sees so the end-to-end test can
 * compare:
 *   manifest   the channel list (alias, type, limits)
 *   copy       stdin to stdout through zvm_pread/zvm_pwrite
 *   random     random reads and writes on the "/dev/data" channel
 *   limits     calls until the limits say -EDQUOT (zvm calls and WASI)
 *   hostile    bad descriptors, buffers and sizes
 *   jail       jail a page, then write to it (must trap)
 *   exit       zvm_exit(7) from deep inside
 *   take N     one read(2) of N bytes from stdin, written to stdout
 *   tty        isatty() of fds 0, 1 and 2
 *   sync N     N writes of 1 KiB to stdout, fsync, then a loop without
 *              end and without I/O (the test looks at stdout meanwhile,
 *              then stops it)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zvm/guest.h>

static char buf[65536];
static char page[2 * 65536] __attribute__((aligned(65536)));

static int find(const char *alias)
{
    const struct UserManifest *m = MANIFEST;
    for (int i = 0; m && i < m->channels_count; i++)
        if (!strcmp(m->channels[i].name, alias))
            return i;
    return -1;
}

static int show_manifest(void)
{
    const struct UserManifest *m = MANIFEST;
    printf("memory %llu timeout %u channels %d\n", (unsigned long long)m->mem_size, m->timeout,
           m->channels_count);
    for (int i = 0; i < m->channels_count; i++)
        printf("%d %s type %d limits %lld %lld %lld %lld\n", i, m->channels[i].name,
               (int)m->channels[i].type, (long long)m->channels[i].limits[0],
               (long long)m->channels[i].limits[1], (long long)m->channels[i].limits[2],
               (long long)m->channels[i].limits[3]);
    return 0;
}

static int copy(void)
{
    int32_t n;
    while ((n = zvm_pread(0, buf, sizeof buf, 0)) > 0)
        if (zvm_pwrite(1, buf, n, 0) != n)
            return 3;
    return n < 0 ? 4 : 0;
}

static int random_access(void)
{
    int d = find("/dev/data");
    char b[8] = {0};
    if (d < 0)
        return 5;
    /* the data channel is type 3: read and write at any offset */
    printf("read@4 %d ", (int)zvm_pread(d, b, 4, 4));
    printf("[%.4s]\n", b);
    printf("write@2 %d\n", (int)zvm_pwrite(d, "XY", 2, 2));
    memset(b, 0, sizeof b);
    printf("read@0 %d [%.6s]\n", (int)zvm_pread(d, b, 6, 0), b);
    return 0;
}

static int limits(void)
{
    int out = find("/dev/limited");
    int32_t rc;
    int calls = 0;
    /* /dev/limited allows 3 puts and 10 bytes: clamped, then -EDQUOT */
    while ((rc = zvm_pwrite(out, "abcdef", 6, 0)) >= 0) {
        printf("put %d -> %d\n", ++calls, (int)rc);
    }
    printf("then %d (EDQUOT is %d)\n", (int)rc, EDQUOT);
    /* WASI read on stdin, whose limits are 2 gets: the third read fails */
    for (int i = 0; i < 3; i++) {
        ssize_t n = read(0, buf, 4);
        printf("read %d -> %d%s\n", i + 1, (int)n, n < 0 && errno == EDQUOT ? " EDQUOT" : "");
    }
    fflush(stdout);
    return 0;
}

static int hostile(void)
{
    printf("bad desc %d\n", (int)zvm_pread(99, buf, 1, 0));
    printf("negative desc %d\n", (int)zvm_pwrite(-1, buf, 1, 0));
    printf("negative size %d\n", (int)zvm_pread(0, buf, -5, 0));
    printf("buffer past memory %d\n", (int)zvm_pread(0, (void *)0xfffff000u, 4096, 0));
    printf("write to stdin %d\n", (int)zvm_pwrite(0, buf, 1, 0));
    printf("misaligned jail %d\n", (int)zvm_jail(page + 1, 65536));
    printf("jail past memory %d\n", (int)zvm_jail((void *)0xffff0000u, 65536));
    printf("fork %d\n", (int)zvm_fork());
    return 0;
}

static int jail(void)
{
    volatile char *p = page + 65536 - ((unsigned long)page % 65536);
    p[0] = 1;
    printf("jail %d\n", (int)zvm_jail((const void *)p, 65536));
    printf("read after jail %d\n", p[0]);
    fflush(stdout);
    p[1] = 2; /* traps */
    printf("not reached\n");
    return 0;
}

static void deep(int n)
{
    if (n == 0)
        zvm_exit(7);
    deep(n - 1);
    printf("not reached\n");
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "manifest"))
        return show_manifest();
    if (!strcmp(what, "copy"))
        return copy();
    if (!strcmp(what, "random"))
        return random_access();
    if (!strcmp(what, "limits"))
        return limits();
    if (!strcmp(what, "hostile"))
        return hostile();
    if (!strcmp(what, "jail"))
        return jail();
    if (!strcmp(what, "take") && argc > 2) {
        int want = atoi(argv[2]), n;
        n = (int)read(0, buf, want < (int)sizeof buf ? (size_t)want : sizeof buf);
        return n < 0 || write(1, buf, (size_t)n) != n ? 3 : 0;
    }
    if (!strcmp(what, "tty")) {
        printf("isatty %d %d %d\n", isatty(0), isatty(1), isatty(2));
        return 0;
    }
    if (!strcmp(what, "sync") && argc > 2) {
        static volatile unsigned spin;
        memset(buf, 's', 1024);
        for (int i = atoi(argv[2]); i > 0; i--)
            if (write(1, buf, 1024) != 1024)
                return 3;
        if (fsync(1))
            return 4;
        for (;;)
            spin++;
    }
    if (!strcmp(what, "exit")) {
        deep(10);
        return 1;
    }
    fprintf(stderr, "usage: channels manifest|copy|random|limits|hostile|jail|exit|take N|tty|sync N\n");
    return 2;
}
