/*
 * test_io.c — Criterion suites for io/: channels over the io_uring ring.
 * Each channel type's positions, limits (clamping, then -EDQUOT), etags,
 * and the sources that are refused (directories, all-zero limits).
 */
#include "io/io.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static zv_io_ring *ring;
static char dir[] = "/tmp/zvm-io-XXXXXX";

static void setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(zv_io_ring_new(8, &ring), 0);
}

static void teardown(void)
{
    char cmd[64];
    zv_io_ring_free(ring);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(io, .init = setup, .fini = teardown);

static void path_of(const char *name, char *out, size_t n) { snprintf(out, n, "%s/%s", dir, name); }

static void write_file(const char *name, const char *text)
{
    char p[256];
    FILE *f;
    path_of(name, p, sizeof p);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void read_file(const char *name, char *out, size_t n)
{
    char p[256];
    FILE *f;
    size_t got;
    path_of(name, p, sizeof p);
    f = fopen(p, "r");
    cr_assert_not_null(f);
    got = fread(out, 1, n - 1, f);
    out[got] = 0;
    fclose(f);
}

static void open_channel(const char *name, int type, int64_t gets, int64_t getsize, int64_t puts,
                         int64_t putsize, int etag, zv_io_channel *ch)
{
    zv_cfg_channel c = {0};
    char p[256], why[256];
    path_of(name, p, sizeof p);
    c.uri = p;
    c.alias = "/dev/test";
    c.type = type;
    c.etag = etag;
    c.limits[0] = gets, c.limits[1] = getsize, c.limits[2] = puts, c.limits[3] = putsize;
    cr_assert_eq(zv_io_channel_open(&c, p, ch, why, sizeof why), 0, "%s", why);
}

Test(io, sequential_read_ignores_offsets)
{
    zv_io_channel ch;
    char b[8] = {0};
    write_file("in", "0123456789");
    open_channel("in", ZV_CFG_SEQ_SEQ, 10, 100, 0, 0, 0, &ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 4, 6), 4);
    cr_assert_str_eq(b, "0123");
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 4, 0), 4);
    cr_assert_str_eq(b, "4567");
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 8, 0), 2);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 8, 0), 0, "end of the source");
    cr_assert_eq(ch.counters[ZV_CFG_GETS], 4);
    cr_assert_eq(ch.counters[ZV_CFG_GETSIZE], 10);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

Test(io, random_read_and_write_use_offsets)
{
    zv_io_channel ch;
    char b[8] = {0}, all[32];
    write_file("rw", "0123456789");
    open_channel("rw", ZV_CFG_RND_RND, 10, 100, 10, 100, 0, &ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 3, 5), 3);
    cr_assert_str_eq(b, "567");
    cr_assert_eq(zv_io_channel_write(ring, &ch, "ab", 2, 8), 2);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 3, -1), -EINVAL, "negative offset");
    zv_io_channel_close(&ch, (uint8_t[32]){0});
    read_file("rw", all, sizeof all);
    cr_assert_str_eq(all, "01234567ab");
}

Test(io, sequential_write_appends_after_existing_data)
{
    zv_io_channel ch;
    char all[32];
    write_file("app", "xyz");
    open_channel("app", ZV_CFG_RND_SEQ, 10, 100, 10, 100, 0, &ch);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "12", 2, 0), 2);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "34", 2, 0), 2);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
    read_file("app", all, sizeof all);
    cr_assert_str_eq(all, "xyz1234");
}

Test(io, write_only_file_is_created_and_truncated)
{
    zv_io_channel ch;
    char all[32];
    write_file("out", "old contents");
    open_channel("out", ZV_CFG_SEQ_SEQ, 0, 0, 10, 100, 0, &ch);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "new", 3, 0), 3);
    cr_assert_eq(zv_io_channel_read(ring, &ch, all, 3, 0), -EBADF, "not readable");
    zv_io_channel_close(&ch, (uint8_t[32]){0});
    read_file("out", all, sizeof all);
    cr_assert_str_eq(all, "new");
}

Test(io, byte_limit_clamps_then_refuses)
{
    zv_io_channel ch;
    open_channel("lim", ZV_CFG_SEQ_SEQ, 0, 0, 100, 10, 0, &ch);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "abcdef", 6, 0), 6);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "abcdef", 6, 0), 4, "clamped to what remains");
    cr_assert_eq(zv_io_channel_write(ring, &ch, "a", 1, 0), -EDQUOT);
    cr_assert_eq(ch.counters[ZV_CFG_PUTS], 2, "a refused call is not counted");
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

Test(io, call_limit_refuses)
{
    zv_io_channel ch;
    char b[4];
    write_file("calls", "0123456789");
    open_channel("calls", ZV_CFG_SEQ_SEQ, 2, 100, 0, 0, 0, &ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 1, 0), 1);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 1, 0), 1);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 1, 0), -EDQUOT);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

Test(io, etag_hashes_every_byte_in_order)
{
    zv_io_channel ch;
    uint8_t got[32], want[32];
    char b[16];
    write_file("tag", "hello ");
    open_channel("tag", ZV_CFG_RND_SEQ, 10, 100, 10, 100, 1, &ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 6, 0), 6);
    cr_assert_eq(zv_io_channel_write(ring, &ch, "world", 5, 0), 5);
    cr_assert_eq(zv_io_channel_close(&ch, got), 1);
    SHA256((const unsigned char *)"hello world", 11, want);
    cr_assert_arr_eq(got, want, 32);
}

Test(io, refuses_directories_and_zero_limits)
{
    zv_cfg_channel c = {0};
    zv_io_channel ch;
    char why[256];
    c.uri = dir;
    c.alias = "/dev/dir";
    c.limits[0] = c.limits[1] = 1;
    cr_assert_eq(zv_io_channel_open(&c, dir, &ch, why, sizeof why), -ENOTSUP);
    cr_assert(strstr(why, "directory"), "%s", why);
    c.limits[0] = c.limits[1] = 0;
    cr_assert_eq(zv_io_channel_open(&c, "/dev/null", &ch, why, sizeof why), -EINVAL);
    c.limits[0] = c.limits[1] = 1;
    cr_assert_eq(zv_io_channel_open(&c, "/nonexistent/x", &ch, why, sizeof why), -ENOENT);
}

Test(io, character_device_is_a_stream)
{
    zv_io_channel ch;
    zv_cfg_channel c = {0};
    char why[256], b[8];
    c.uri = "/dev/zero";
    c.alias = "/dev/zero";
    c.type = ZV_CFG_RND_RND;
    c.limits[0] = c.limits[1] = 100;
    cr_assert_eq(zv_io_channel_open(&c, "/dev/zero", &ch, why, sizeof why), 0, "%s", why);
    cr_assert_eq(ch.stream, 1);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 8, 12345), 8, "offset ignored on a device");
    cr_assert_eq(b[7], 0);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

/* ---- read-ahead: sources read in order take 64 KiB per submission ---- */

/* A 200 KiB file of numbered lines, and its bytes in want. */
static size_t numbered_file(const char *name, char *want, size_t cap)
{
    size_t n = 0;
    while (n + 16 < cap)
        n += (size_t)snprintf(want + n, cap - n, "line %09zu\n", n / 15);
    want[n] = 0;
    write_file(name, want);
    return n;
}

Test(io, read_ahead_gives_a_file_whole_in_any_pieces)
{
    static char want[200 << 10], got[200 << 10];
    size_t n = numbered_file("big", want, sizeof want), at = 0;
    const size_t pieces[] = {10, 1000, 100 << 10, 3, 70 << 10, 1 << 20};
    int calls = 0;
    zv_io_channel ch;
    open_channel("big", ZV_CFG_SEQ_SEQ, 1000, 1 << 30, 0, 0, 1, &ch);
    cr_assert_not_null(ch.ahead, "a sequential source reads ahead");
    for (int i = 0; at < n; i = (i + 1) % 6, calls++) {
        size_t k = pieces[i] < sizeof got - at ? pieces[i] : sizeof got - at;
        int64_t r = zv_io_channel_read(ring, &ch, got + at, (int64_t)k, 0);
        cr_assert_gt(r, 0, "at %zu", at);
        cr_assert_eq((size_t)r, k < n - at ? k : n - at, "a file's read is whole until its end");
        at += (size_t)r;
    }
    cr_assert_eq(zv_io_channel_read(ring, &ch, got, 10, 0), 0, "the end");
    cr_assert_arr_eq(got, want, n);
    cr_assert_eq(ch.counters[ZV_CFG_GETS], calls + 1, "the guest's calls are counted");
    cr_assert_eq(ch.counters[ZV_CFG_GETSIZE], (int64_t)n, "and the bytes it got");
    uint8_t tag[32], sha[32];
    cr_assert_eq(zv_io_channel_close(&ch, tag), 1);
    SHA256((const unsigned char *)want, n, sha);
    cr_assert_arr_eq(tag, sha, 32, "the etag hashes what the guest got");
}

Test(io, read_ahead_follows_put_back_and_rewind)
{
    static char want[200 << 10];
    char b[32] = {0};
    zv_io_channel ch, mark;
    numbered_file("mark", want, sizeof want);
    open_channel("mark", ZV_CFG_SEQ_SEQ, 1000, 1 << 30, 0, 0, 0, &ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 20, 0), 20);
    cr_assert_eq(zv_io_channel_keep(&ch, &mark), 0);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 30, 0), 30);
    cr_assert_arr_eq(b, want + 20, 30);
    zv_io_channel_put_back(&ch, &mark);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 30, 0), 30);
    cr_assert_arr_eq(b, want + 20, 30, "from the mark again");
    for (int i = 0; i < 7; i++) /* past what the first fill held */
        cr_assert_eq(zv_io_channel_read(ring, &ch, want + 1000, 20000, 0), 20000);
    zv_io_channel_put_back(&ch, &mark);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 30, 0), 30);
    cr_assert_arr_eq(b, want + 20, 30, "from the mark after a later fill");
    zv_io_channel_rewind(&ch);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 15, 0), 15);
    cr_assert_arr_eq(b, "line 000000000\n", 15, "rewound to the start");
    zv_io_channel_drop(&mark);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

/* A pipe read ahead: a call that got bytes does not wait for more, and the
 * bytes read ahead come before what the writer sends later. */
Test(io, read_ahead_of_a_pipe_never_waits, .timeout = 10)
{
    int p[2];
    char b[64] = {0};
    zv_cfg_channel c = {0};
    zv_io_channel ch;
    char why[256];
    cr_assert_eq(pipe(p), 0);
    c.alias = "/dev/pipe";
    c.host_fd = p[0];
    c.limits[0] = c.limits[1] = 100;
    cr_assert_eq(zv_io_channel_open(&c, "", &ch, why, sizeof why), 0, "%s", why);
    close(p[0]);
    cr_assert_not_null(ch.ahead);
    cr_assert_eq(write(p[1], "abcdefgh", 8), 8);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 2, 0), 2);
    cr_assert_eq(write(p[1], "XY", 2), 2);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 60, 0), 6, "what it holds, without waiting");
    cr_assert_str_eq(b, "cdefgh");
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 60, 0), 2);
    cr_assert_eq(memcmp(b, "XY", 2), 0);
    close(p[1]);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 60, 0), 0, "the writer is gone");
    zv_io_channel_close(&ch, (uint8_t[32]){0});
}

/* zvm's own stdin redirected from a file: closing gives back the bytes read
 * ahead and not taken, so the next reader of the file starts right after
 * what the guest took. */
Test(io, read_ahead_of_stdin_gives_back_what_it_did_not_give)
{
    static char want[200 << 10];
    char p[256], why[256], b[16];
    zv_cfg_channel c = {0};
    zv_io_channel ch;
    int saved = dup(0), f;
    numbered_file("stdin", want, sizeof want);
    path_of("stdin", p, sizeof p);
    cr_assert_geq(f = open(p, O_RDONLY), 0);
    cr_assert_eq(dup2(f, 0), 0);
    close(f);
    c.alias = "/dev/stdin";
    c.limits[0] = c.limits[1] = 100;
    cr_assert_eq(zv_io_channel_open(&c, zv_cfg_std_alias[0], &ch, why, sizeof why), 0, "%s", why);
    cr_assert(ch.stream && ch.ahead);
    cr_assert_eq(zv_io_channel_read(ring, &ch, b, 10, 0), 10);
    cr_assert_gt(lseek(0, 0, SEEK_CUR), 10, "read ahead");
    zv_io_channel_close(&ch, (uint8_t[32]){0});
    cr_assert_eq(lseek(0, 0, SEEK_CUR), 10, "given back");
    dup2(saved, 0);
    close(saved);
}

/* ---- writes behind: regular files' writes return before they complete ---- */

/* The file at path holds exactly want[0, n). */
static void holds(const char *path, const char *want, size_t n)
{
    static char got[4 << 20];
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(read(fd, got, sizeof got), (ssize_t)n, "%s", path);
    close(fd);
    cr_assert_arr_eq(got, want, n, "%s", path);
}

/* Writes behind of every size (past 256 KiB they wait), reads on the same
 * ring between them: the file holds every byte in order. */
Test(io, writes_behind_stay_in_order)
{
    static char want[3 << 20], chunk[400 << 10];
    char p[256], b[8];
    size_t n = 0;
    int fd;
    write_file("src", "0123456789");
    path_of("src", p, sizeof p);
    int src = open(p, O_RDONLY);
    path_of("behind", p, sizeof p);
    cr_assert_geq(fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    for (unsigned i = 0; n + sizeof chunk < sizeof want; i++) {
        size_t k = i % 7 == 6 ? sizeof chunk : 1 + (i * 7919u) % 5000;
        struct iovec v[2] = {{chunk, k / 2}, {chunk + k / 2, k - k / 2}};
        memset(chunk, 'a' + i % 26, k);
        cr_assert_eq(zv_io_write_behind(ring, fd, v, 2, -1), (ssize_t)k);
        memcpy(want + n, chunk, k);
        n += k;
        cr_assert_eq(zv_io_read(ring, src, b, 4, i % 5), 4, "a read between writes behind");
        cr_assert_eq(b[0], '0' + (char)(i % 5));
    }
    cr_assert_eq(zv_io_flush(ring, fd), 0);
    close(fd);
    close(src);
    holds(p, want, n);
}

/* Writes behind with no other request between them are gathered while
 * one is in flight: small and large ones, in runs to three files in turn,
 * two at their positions and one at offsets that go on or jump ahead.
 * Each file holds every byte where it was written. */
Test(io, gathered_writes_behind_land_where_they_were_written)
{
    static char want[3][4 << 20], chunk[300 << 10];
    size_t n[3] = {0};
    int fd[3];
    char p[3][256];
    for (int f = 0; f < 3; f++) {
        path_of(f == 0 ? "gather_a" : f == 1 ? "gather_b" : "gather_c", p[f], sizeof p[f]);
        cr_assert_geq(fd[f] = open(p[f], O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    }
    for (unsigned i = 0; n[0] + sizeof chunk < sizeof want[0] &&
                         n[1] + 2 * sizeof chunk < sizeof want[1] &&
                         n[2] + sizeof chunk < sizeof want[2]; i++) {
        size_t k = i % 53 == 52 ? 200 << 10 : i % 97 == 96 ? sizeof chunk : 1 + (i * 7919u) % 9000;
        struct iovec v[2] = {{chunk, k / 3}, {chunk + k / 3, k - k / 3}};
        int f = i % 12 < 5 ? 0 : i % 12 < 8 ? 1 : 2; /* runs of 5, 3 and 4 */
        int64_t at = -1;
        memset(chunk, 'a' + i % 26, k);
        if (f == 1) { /* at an offset: the next byte, or 100 past it (a hole: zeros) */
            n[1] += i % 36 == 6 ? 100 : 0;
            at = (int64_t)n[1];
        }
        cr_assert_eq(zv_io_write_behind(ring, fd[f], v, 2, at), (ssize_t)k);
        memcpy(want[f] + n[f], chunk, k);
        n[f] += k;
    }
    for (int f = 0; f < 3; f++) {
        cr_assert_eq(zv_io_flush(ring, fd[f]), 0);
        close(fd[f]);
        holds(p[f], want[f], n[f]);
    }
}

/* A pipe's reader that starts late: the first write stays in flight. */
typedef struct {
    int fd;
    char *got;
    size_t n;
} late_reader;

static void *read_late(void *arg)
{
    late_reader *lr = arg;
    ssize_t k;
    nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    while ((k = read(lr->fd, lr->got + lr->n, 4096)) > 0)
        lr->n += (size_t)k;
    return NULL;
}

/* While one write behind is in flight (100 KiB into a pipe nobody reads
 * for 100 ms), the next ones are gathered, up to 256 KiB, and go in
 * order once it is done. */
Test(io, writes_behind_gather_while_one_is_in_flight, .timeout = 30)
{
    static char want[2 << 20], got[2 << 20], chunk[100 << 10];
    late_reader lr = {-1, got, 0};
    pthread_t t;
    size_t n = 0;
    int p[2];
    cr_assert_eq(pipe(p), 0);
    lr.fd = p[0];
    cr_assert_eq(pthread_create(&t, NULL, read_late, &lr), 0);
    for (unsigned i = 0; n + sizeof chunk < sizeof want; i++) {
        size_t k = i == 0 ? sizeof chunk : 1 + (i * 7919u) % 7000;
        struct iovec v = {chunk, k};
        memset(chunk, 'a' + i % 26, k);
        cr_assert_eq(zv_io_write_behind(ring, p[1], &v, 1, -1), (ssize_t)k);
        memcpy(want + n, chunk, k);
        n += k;
    }
    cr_assert_eq(zv_io_flush(ring, p[1]), 0);
    close(p[1]);
    pthread_join(t, NULL);
    close(p[0]);
    cr_assert_eq(lr.n, n);
    cr_assert_arr_eq(got, want, n);
}

/* A write behind that fails (a descriptor open only for reading) is told
 * once: by a write behind on it after the failure is known (a request on
 * the ring waited for it: here another descriptor's flush), or by
 * zv_io_flush. */
Test(io, a_failed_write_behind_is_told_once)
{
    char p[256];
    struct iovec v = {"abc", 3};
    int fd;
    write_file("ro", "x");
    path_of("ro", p, sizeof p);
    cr_assert_geq(fd = open(p, O_RDONLY), 0);
    cr_assert_eq(zv_io_write_behind(ring, fd, &v, 1, -1), 3, "taken");
    cr_assert_eq(zv_io_flush(ring, 99), 0, "waits for it, but does not take it");
    cr_assert_eq(zv_io_write_behind(ring, fd, &v, 1, -1), -EBADF, "the first one's failure");
    cr_assert_eq(zv_io_write_behind(ring, fd, &v, 1, -1), 3);
    cr_assert_eq(zv_io_flush(ring, 99), 0, "another descriptor's flush does not take it");
    cr_assert_eq(zv_io_flush(ring, fd), -EBADF);
    cr_assert_eq(zv_io_flush(ring, fd), 0, "told once");
    close(fd);
}

/* Two descriptors whose writes behind fail, one in flight and one
 * gathered behind it: each failure is kept and told once, on its own. */
Test(io, failures_of_two_descriptors_are_each_told)
{
    char p[256];
    struct iovec v = {"abc", 3};
    int a, b;
    write_file("ro2", "x");
    path_of("ro2", p, sizeof p);
    cr_assert_geq(a = open(p, O_RDONLY), 0);
    cr_assert_geq(b = open(p, O_RDONLY), 0);
    cr_assert_eq(zv_io_write_behind(ring, a, &v, 1, -1), 3, "in flight");
    cr_assert_eq(zv_io_write_behind(ring, b, &v, 1, -1), 3, "gathered, or in flight after a's");
    cr_assert_eq(zv_io_flush(ring, 99), 0, "both written: neither is 99's");
    cr_assert_eq(zv_io_flush(ring, b), -EBADF);
    cr_assert_eq(zv_io_flush(ring, a), -EBADF);
    cr_assert_eq(zv_io_flush(ring, a), 0, "told once");
    cr_assert_eq(zv_io_flush(ring, b), 0, "told once");
    close(a);
    close(b);
}

/* A channel's writes behind: freeing the ring waits for the one in flight. */
Test(io, freeing_the_ring_waits_for_a_write_behind)
{
    zv_io_ring *own;
    zv_io_channel ch;
    char all[64];
    cr_assert_eq(zv_io_ring_new(8, &own), 0);
    open_channel("late", ZV_CFG_SEQ_SEQ, 0, 0, 10, 100, 0, &ch);
    ch.behind = 1;
    cr_assert_eq(zv_io_channel_write(own, &ch, "first ", 6, 0), 6);
    cr_assert_eq(zv_io_channel_write(own, &ch, "second", 6, 0), 6);
    zv_io_ring_free(own);
    zv_io_channel_close(&ch, (uint8_t[32]){0});
    read_file("late", all, sizeof all);
    cr_assert_str_eq(all, "first second");
}

/* ---- the Redis connector: URLs, slots (the server itself: tests/e2e/consume*.sh) ---- */

Test(redis, urls_in_every_form)
{
    static const struct {
        const char *url, *host, *path, *user, *password;
        int port, tls, has_password;
        unsigned db;
    } cases[] = {
        {"localhost", "localhost", "", "", "", 6379, 0, 0, 0},
        {"127.0.0.1:7000", "127.0.0.1", "", "", "", 7000, 0, 0, 0},
        {":secret@127.0.0.1:7000", "127.0.0.1", "", "", "secret", 7000, 0, 1, 0},
        {"redis://h", "h", "", "", "", 6379, 0, 0, 0},
        {"redis://:secret@h:1234/3", "h", "", "", "secret", 1234, 0, 1, 3},
        {"redis://worker:p%40ss%3Aw@h", "h", "", "worker", "p@ss:w", 6379, 0, 1, 0},
        {"redis://worker:pa@ss@h:99", "h", "", "worker", "pa@ss", 99, 0, 1, 0},
        {"redis://worker@h", "h", "", "worker", "", 6379, 0, 0, 0},
        {"redis://h?db=5", "h", "", "", "", 6379, 0, 0, 5},
        {"redis://h/", "h", "", "", "", 6379, 0, 0, 0},
        {"rediss://u:p@h:6380/1", "h", "", "u", "p", 6380, 1, 1, 1},
        {"redis://[::1]:7000/2", "::1", "", "", "", 7000, 0, 0, 2},
        {"[::1]", "::1", "", "", "", 6379, 0, 0, 0},
        {"unix:///run/redis.sock?db=4", "", "/run/redis.sock", "", "", 0, 0, 0, 4},
        {"unix://u:p@/run/r.sock", "", "/run/r.sock", "u", "p", 0, 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_io_redis_url u;
        char why[512] = "";
        cr_assert_eq(zv_io_redis_url_parse(cases[i].url, &u, why, sizeof why), 0, "%s: %s",
                     cases[i].url, why);
        cr_assert_str_eq(u.host, cases[i].host, "%s", cases[i].url);
        cr_assert_str_eq(u.path, cases[i].path, "%s", cases[i].url);
        cr_assert_str_eq(u.user, cases[i].user, "%s", cases[i].url);
        cr_assert_str_eq(u.password, cases[i].password, "%s", cases[i].url);
        cr_assert_eq(u.has_password, cases[i].has_password, "%s", cases[i].url);
        cr_assert_eq(u.port, cases[i].port, "%s", cases[i].url);
        cr_assert_eq(u.tls, cases[i].tls, "%s", cases[i].url);
        cr_assert_eq(u.db, cases[i].db, "%s", cases[i].url);
    }
}

Test(redis, bad_urls_are_refused_with_the_cause_and_never_the_password)
{
    static const struct {
        const char *url, *msg;
    } cases[] = {
        {"", "no host"},
        {":6379", "no host"},
        {"http://h", "unknown scheme"},
        {"localhost:", "bad port"},
        {"localhost:0", "bad port"},
        {"localhost:65536", "bad port"},
        {"localhost:63x9", "bad port"},
        {"redis://:hunter2@h:99999", "bad port"},
        {"::1:6379", "in brackets"},
        {"[::1:6379", "closing ']'"},
        {"redis://h/x", "bad database"},
        {"redis://h/1?db=2", "given twice"},
        {"redis://h?foo=1", "unknown parameter"},
        {"redis://user:hunter2%zz@h", "malformed"},
        {"unix:///", "no socket path"},
        {"unix://relative.sock", "expected unix:///PATH"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_io_redis_url u;
        char why[512] = "";
        cr_assert_eq(zv_io_redis_url_parse(cases[i].url, &u, why, sizeof why), -EINVAL, "%s",
                     cases[i].url);
        cr_assert(strstr(why, cases[i].msg), "%s: %s", cases[i].url, why);
        cr_assert_null(strstr(why, "hunter2"), "%s", why);
    }
    {
        char long_host[400], why[512];
        zv_io_redis_url u;
        memset(long_host, 'h', sizeof long_host);
        strcpy(long_host + 380, ":6379");
        cr_assert_eq(zv_io_redis_url_parse(long_host, &u, why, sizeof why), -EINVAL);
        cr_assert(strstr(why, "longer than 255"), "%s", why);
    }
}

Test(redis, urls_are_shown_without_their_password)
{
    static const struct {
        const char *url, *shown;
        size_t off, len; /* where the password is in url */
    } cases[] = {
        {"redis://w:hunter2@h:7/2", "redis://w@h:7/2", 10, 7},
        {":hunter2@h", "redis://h:6379", 1, 7},
        {"rediss://[::1]", "rediss://[::1]:6379", 0, 0},
        {"unix://w:hunter2@/p?db=4", "unix://w@/p?db=4", 9, 7},
        {"h:1", "redis://h:1", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_io_redis_url u;
        char why[512] = "", shown[600];
        size_t len, off = zv_io_redis_url_secret(cases[i].url, &len);
        cr_assert_eq(zv_io_redis_url_parse(cases[i].url, &u, why, sizeof why), 0, "%s", why);
        zv_io_redis_url_show(&u, shown, sizeof shown);
        cr_assert_str_eq(shown, cases[i].shown);
        cr_assert_eq(len, cases[i].len, "%s", cases[i].url);
        cr_assert_eq(off, cases[i].off, "%s", cases[i].url);
    }
}

Test(redis, cluster_slots_follow_hash_tags)
{
    /* the values of CLUSTER KEYSLOT on redis-server 7.0 */
    static const struct {
        const char *key;
        unsigned slot;
    } cases[] = {
        {"123456789", 12739}, {"foo", 12182},          {"{logs}:in", 15859},
        {"{user1000}.following", 3443}, {"foo{}{bar}", 8363}, {"foo{{bar}}zap", 4015},
        {"foo{bar}{zap}", 5061}, {"{a}:in", 15495}, {"a:out", 2346},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        cr_assert_eq(zv_io_redis_slot(cases[i].key), cases[i].slot, "%s", cases[i].key);
}

Test(redis, connecting_fails_with_the_cause)
{
    static const struct {
        const char *url, *ca, *msg;
        int rc;
    } cases[] = {
        {"127.0.0.1:1", NULL, "cannot connect to Redis at redis://127.0.0.1:1", -EPIPE},
        {"redis://worker@127.0.0.1:1", NULL, "user worker needs a password", -EACCES},
        {"rediss://127.0.0.1:1", "/nonexistent/ca.pem", "CA certificates /nonexistent/ca.pem",
         -EINVAL},
        {"rediss://127.0.0.1:1", NULL, "cannot connect to Redis at rediss://127.0.0.1:1", -EPIPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_io_redis_url u;
        zv_io_redis *r = (zv_io_redis *)1;
        char why[512] = "";
        zv_io_redis_opts o = {&u, "c", cases[i].ca, NULL, NULL};
        cr_assert_eq(zv_io_redis_url_parse(cases[i].url, &u, why, sizeof why), 0);
        cr_assert_eq(zv_io_redis_connect(&o, &r, why, sizeof why), cases[i].rc, "%s: %s",
                     cases[i].url, why);
        cr_assert_null(r);
        cr_assert(strstr(why, cases[i].msg), "%s: %s", cases[i].url, why);
    }
}
