/*
 * test_prefork.c — Criterion suites for prefork/: the pool through the
 * embedding API (order, unordered, every status, backpressure, bad input
 * and misuse), runners (a fresh instance per record, _start's type), the
 * watchdog, and sessions' reports.
 *
 * The guest is a WASI command written in the text format: it reads its
 * record from stdin (fd_read) and answers on stdout (fd_write) according
 * to the record's first byte: 'T' traps, 'L' spins, 'B' writes more than
 * the output limit, 'C' answers with a counter kept in memory (always 1 in
 * a fresh instance), 'E' exits with code 7, 'S' writes the record to
 * stderr and exits with 9; anything else is echoed.
 */
#include "prefork/pool_private.h"
#include "prefork/prefork.h"
#include "wat.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>

static const char *const FILTER = "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_read\" (func $read (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $write (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
    "  (memory 1)\n"
    "  (global $count (mut i32) (i32.const 0))\n"
    "  (func $out (param $len i32)\n"  /* write [1024, 1024+len) to stdout */
    "    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (local.get $len))\n"
    "    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))\n"
    "  (func $err (param $len i32)\n"  /* the same to stderr */
    "    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (local.get $len))\n"
    "    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))\n"
    "  (func (export \"_start\") (local $n i32)\n"
    "    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 4096))\n"
    "    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
    "    (local.set $n (i32.load (i32.const 16)))\n"
    "    (global.set $count (i32.add (global.get $count) (i32.const 1)))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 84)) (then unreachable))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 76)) (then (loop (br 0))))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 69)) (then (call $exit (i32.const 7))))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 83))\n"
    "      (then (call $err (local.get $n)) (call $exit (i32.const 9))))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 66)) (then (call $out (i32.const 60000)) return))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 67))\n"
    "      (then (i32.store8 (i32.const 1024) (i32.add (i32.const 48) (global.get $count)))\n"
    "            (call $out (i32.const 1)) return))\n"
    "    (call $out (local.get $n))))\n";

static char path[64];
static zvm_module *mod;

static void setup(void)
{
    char err[512];
    snprintf(path, sizeof path, "%s/filter-%d.wasm", test_cache_dir(), (int)getpid());
    mkdir(test_cache_dir(), 0700);
    wat_to_file(FILTER, path);
    cr_assert_eq(zvm_module_load(path, test_cache_dir(), &mod, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    zvm_module_free(mod);
    unlink(path);
}

TestSuite(pool, .init = setup, .fini = teardown, .timeout = 60);

static zvm_pool *new_pool(zvm_pool_config *cfg)
{
    zvm_pool *p = NULL;
    char err[512];
    cr_assert_eq(zvm_pool_new(mod, cfg, &p, err, sizeof err), 0, "%s", err);
    return p;
}

/* Take one result, waiting as long as it takes. */
static zvm_result next(zvm_pool *p)
{
    zvm_result r;
    cr_assert_eq(zvm_pool_next(p, &r, -1), 1);
    return r;
}

/* Take the next result and check it is record k's echo. */
static void expect_echo(zvm_pool *p, int k)
{
    char rec[32];
    zvm_result r = next(p);
    int want = snprintf(rec, sizeof rec, "record %d", k);
    cr_assert_eq(r.tag, (uint64_t)k);
    cr_assert_eq(r.status, ZVM_OK);
    cr_assert_eq(r.len, (size_t)want);
    cr_assert(!memcmp(r.data, rec, r.len));
}

Test(pool, results_come_back_in_submit_order)
{
    zvm_pool_config cfg = {.workers = 2};
    zvm_pool *p = new_pool(&cfg);
    char rec[32];
    int taken = 0, rc;
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(rec, sizeof rec, "record %d", i);
        /* -EAGAIN: the workers' queues are full (slow workers, e.g. under
         * a sanitizer): take a result, as the API asks, and submit again */
        while ((rc = zvm_pool_submit(p, rec, (size_t)n, (uint64_t)i)) == -EAGAIN)
            expect_echo(p, taken++);
        cr_assert_eq(rc, 0);
    }
    zvm_pool_close(p);
    while (taken < 2000)
        expect_echo(p, taken++);
    {
        zvm_result r;
        cr_assert_eq(zvm_pool_next(p, &r, -1), -ENODATA);
    }
    zvm_pool_free(p);
}

Test(pool, every_status_and_fresh_state)
{
    zvm_pool_config cfg = {.workers = 1, .timeout_s = 0.3, .output_limit = 4096};
    zvm_pool *p = new_pool(&cfg);
    const char *recs[] = {"C", "T", "C", "L", "C", "B", "E", "C", "", "hello"};
    zvm_result r;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(zvm_pool_submit(p, recs[i], strlen(recs[i]), (uint64_t)i), 0);
    r = next(p);
    cr_assert(r.status == ZVM_OK && r.len == 1 && *(const char *)r.data == '1');
    r = next(p);
    cr_assert_eq(r.status, ZVM_TRAP);
    cr_assert_str_eq(r.detail, "unreachable");
    r = next(p);
    cr_assert(r.status == ZVM_OK && *(const char *)r.data == '1', "state leaked into a record");
    r = next(p);
    cr_assert_eq(r.status, ZVM_TIMEOUT);
    r = next(p);
    cr_assert(r.status == ZVM_OK && *(const char *)r.data == '1');
    r = next(p);
    cr_assert_eq(r.status, ZVM_LIMIT, "60000 bytes over a 4096-byte output limit");
    r = next(p);
    cr_assert(r.status == ZVM_EXIT && r.exit_code == 7 && r.len == 0, "a non-zero exit fails");
    cr_assert_str_eq(r.detail, "exit 7");
    r = next(p);
    cr_assert(r.status == ZVM_OK && *(const char *)r.data == '1');
    r = next(p);
    cr_assert(r.status == ZVM_OK && r.len == 0, "a zero-length record runs with an empty stdin");
    r = next(p);
    cr_assert(r.status == ZVM_OK && r.len == 5 && !memcmp(r.data, "hello", 5));
    zvm_pool_free(p);
}

Test(pool, stderr_goes_with_the_result_and_exit_codes_fail)
{
    zvm_pool_config cfg = {.workers = 1, .stderr_limit = 8};
    zvm_pool *p = new_pool(&cfg);
    const char *rec = "S: this went to stderr";
    zvm_result r;
    cr_assert_eq(zvm_pool_submit(p, rec, strlen(rec), 0), 0);
    cr_assert_eq(zvm_pool_submit(p, "hello", 5, 1), 0);
    r = next(p);
    cr_assert_eq(r.status, ZVM_EXIT);
    cr_assert_str_eq(r.detail, "exit 9");
    cr_assert_eq(r.len, 0, "a failed record's stdout goes nowhere");
    cr_assert_eq(r.stderr_len, strlen("S: this [zvm: 14 more bytes]"));
    cr_assert(!memcmp(r.stderr_data, "S: this [zvm: 14 more bytes]", r.stderr_len),
              "the first 8 bytes, then the marker: %.*s", (int)r.stderr_len,
              (const char *)r.stderr_data);
    r = next(p);
    cr_assert(r.status == ZVM_OK && r.stderr_len == 0, "the next record's stderr is its own");
    zvm_pool_free(p);

    cfg = (zvm_pool_config){.workers = 1, .allow_exit_codes = "1,8-9", .stderr_limit = -1};
    p = new_pool(&cfg);
    cr_assert_eq(zvm_pool_submit(p, rec, strlen(rec), 0), 0);
    cr_assert_eq(zvm_pool_submit(p, "E", 1, 1), 0);
    r = next(p);
    cr_assert(r.status == ZVM_OK && r.exit_code == 9, "9 is allowed");
    cr_assert_eq(r.stderr_len, 0, "stderr_limit < 0 keeps none");
    r = next(p);
    cr_assert(r.status == ZVM_EXIT && r.exit_code == 7, "7 is not");
    zvm_pool_free(p);
}

Test(pool, a_module_from_bytes_runs_as_from_its_file)
{
    FILE *f = fopen(path, "rb");
    static uint8_t bytes[1 << 16];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    zvm_module *m = NULL;
    zvm_pool *p = NULL;
    zvm_pool_config cfg = {.workers = 1};
    zvm_result r;
    char err[512] = "";
    if (f)
        fclose(f);
    cr_assert(n > 8);
    cr_assert_eq(zvm_module_load_bytes(bytes, n, test_cache_dir(), &m, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(zvm_pool_new(m, &cfg, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(zvm_pool_submit(p, "hello", 5, 1), 0);
    cr_assert_eq(zvm_pool_next(p, &r, -1), 1);
    cr_assert(r.status == ZVM_OK && r.len == 5 && !memcmp(r.data, "hello", 5));
    zvm_pool_free(p);
    zvm_module_free(m);
    m = NULL;
    bytes[0] = 'x';
    cr_assert_eq(zvm_module_load_bytes(bytes, n, test_cache_dir(), &m, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "magic"), "%s", err);
    cr_assert_null(m);
    cr_assert_eq(zvm_module_load_bytes(NULL, 4, NULL, &m, err, sizeof err), -EINVAL);
    cr_assert(strstr(zvm_version(), "."), "a version: %s", zvm_version());
}

Test(pool, bad_exit_code_lists_are_refused)
{
    const char *bad[] = {"x", "1,", "-1", "256", "5-3", "1;2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        zvm_pool_config cfg = {.workers = 1, .allow_exit_codes = bad[i]};
        zvm_pool *p = NULL;
        char err[512] = "";
        cr_assert_eq(zvm_pool_new(mod, &cfg, &p, err, sizeof err), -EINVAL, "%s", bad[i]);
        cr_assert(strstr(err, "exit codes"), "%s", err);
    }
}

Test(pool, unordered_returns_everything_once)
{
    zvm_pool_config cfg = {.workers = 2, .unordered = 1};
    zvm_pool *p = new_pool(&cfg);
    static uint8_t seen[3000];
    zvm_result r;
    int n = 0;
    for (int i = 0; i < 3000; i++) {
        int rc;
        while ((rc = zvm_pool_submit(p, "x", 1, (uint64_t)i)) == -EAGAIN) { /* full: take one */
            cr_assert_eq(zvm_pool_next(p, &r, -1), 1);
            cr_assert(r.tag < 3000 && !seen[r.tag]++, "tag %llu twice", (unsigned long long)r.tag);
            n++;
        }
        cr_assert_eq(rc, 0);
    }
    zvm_pool_close(p);
    while (zvm_pool_next(p, &r, -1) == 1) {
        cr_assert(r.tag < 3000 && !seen[r.tag]++, "tag %llu twice", (unsigned long long)r.tag);
        n++;
    }
    cr_assert_eq(n, 3000);
    zvm_pool_free(p);
}

Test(pool, backpressure_and_misuse)
{
    zvm_pool_config cfg = {.workers = 1, .depth = 8, .input_limit = 100};
    zvm_pool *p = new_pool(&cfg);
    static char big[101];
    zvm_result r;
    int i, rc;
    for (i = 0; (rc = zvm_pool_submit(p, "x", 1, (uint64_t)i)) == 0; i++)
        ;
    cr_assert_eq(rc, -EAGAIN);
    cr_assert_eq(i, 8, "depth 8 takes 8 records, took %d", i);
    cr_assert_eq(zvm_pool_next(p, &r, -1), 1);
    cr_assert_eq(zvm_pool_submit(p, "x", 1, 99), 0, "a result fetched makes room");
    cr_assert_eq(zvm_pool_submit(p, big, sizeof big, 0), -E2BIG);
    cr_assert_eq(zvm_pool_submit(p, NULL, 5, 0), -EINVAL);
    cr_assert_eq(zvm_pool_submit(NULL, "x", 1, 0), -EINVAL);
    cr_assert_eq(zvm_pool_next(NULL, &r, 0), -EINVAL);
    zvm_pool_close(p);
    zvm_pool_close(p); /* twice: harmless */
    cr_assert_eq(zvm_pool_submit(p, "x", 1, 0), -EPIPE);
    zvm_pool_free(p); /* 8 results never fetched: dropped, no leak (ASan) */
    zvm_pool_close(NULL);
    zvm_pool_free(NULL);
}

Test(pool, free_with_records_in_flight)
{
    zvm_pool_config cfg = {.workers = 2, .timeout_s = 30};
    zvm_pool *p = new_pool(&cfg);
    cr_assert_eq(zvm_pool_submit(p, "L", 1, 0), 0); /* spins for up to 30 s */
    for (int i = 1; i < 100; i++)
        cr_assert_eq(zvm_pool_submit(p, "x", 1, (uint64_t)i), 0);
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    zvm_pool_free(p); /* must not wait for the spinning record */
}

Test(pool, the_fd_turns_readable_with_a_result)
{
    zvm_pool_config cfg = {.workers = 1};
    zvm_pool *p = new_pool(&cfg);
    struct pollfd pfd = {zvm_pool_fd(p), POLLIN, 0};
    zvm_result r;
    int got;
    cr_assert_geq(pfd.fd, 0);
    cr_assert_eq(zvm_pool_next(p, &r, 0), 0, "nothing submitted yet");
    cr_assert_eq(zvm_pool_submit(p, "hi", 2, 5), 0);
    if ((got = zvm_pool_next(p, &r, 0)) == 0) { /* not ready at once: the fd says when */
        cr_assert_eq(poll(&pfd, 1, 10000), 1, "the fd never turned readable");
        got = zvm_pool_next(p, &r, 0);
    }
    cr_assert_eq(got, 1);
    cr_assert_eq(r.tag, 5);
    zvm_pool_free(p);
}

Test(pool, bad_configurations)
{
    zvm_pool *p = NULL;
    char err[512];
    zvm_pool_config c1 = {.workers = 65};
    zvm_pool_config c2 = {.memory_bytes = 1000};
    zvm_pool_config c3 = {.reset = 3};
    zvm_pool_config c4 = {.manifest = "/nonexistent/template"};
    cr_assert_eq(zvm_pool_new(mod, &c1, &p, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "workers"), "%s", err);
    cr_assert_eq(zvm_pool_new(mod, &c2, &p, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "memory_bytes"), "%s", err);
    cr_assert_eq(zvm_pool_new(mod, &c3, &p, err, sizeof err), -EINVAL);
    cr_assert_eq(zvm_pool_new(mod, &c4, &p, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "/nonexistent/template"), "%s", err);
    cr_assert_eq(zvm_pool_new(NULL, NULL, &p, err, sizeof err), -EINVAL);
    cr_assert_null(p);
}

Test(pool, stats_count_records_and_errors)
{
    zvm_pool_config cfg = {.workers = 1};
    zvm_pool *p = new_pool(&cfg);
    zvm_pool_stats st;
    zvm_result r;
    cr_assert_eq(zvm_pool_submit(p, "a", 1, 0), 0);
    cr_assert_eq(zvm_pool_submit(p, "T", 1, 1), 0);
    zvm_pool_close(p);
    while (zvm_pool_next(p, &r, -1) == 1)
        ;
    zvm_pool_stats_get(p, &st);
    cr_assert_eq(st.records, 2);
    cr_assert_eq(st.errors, 1);
    cr_assert_eq(st.workers, 1);
    cr_assert(st.p50_us > 0 && st.max_us >= st.p50_us);
    zvm_pool_free(p);
}

/* ---- snapshots (the fork point) ----------------------------------------------------- */

/* A guest with a set-up before zvm.fork: it sets a global and two words of
 * memory (one on a page no record writes), grows memory to 2 pages and
 * fills table slot 1. Each record answers 7 digits of what it starts from
 * (global - 100, word - 5, memory pages, table size, slot 0 set, fork's
 * result, other word - 7) = "0022010" in a fresh copy, then changes the
 * first five; a record "T" traps after changing them. */
static const char *const FORKER = "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_read\" (func $read (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $write (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"zvm\" \"fork\" (func $fork (result i32)))\n"
    "  (memory 1)\n"
    "  (table $t 2 funcref)\n"
    "  (global $g (mut i32) (i32.const 0))\n"
    "  (func $f)\n"
    "  (elem declare func $f)\n"
    "  (func $digit (param $at i32) (param $v i32)\n"
    "    (i32.store8 (i32.add (i32.const 3000) (local.get $at)) (i32.add (i32.const 48) (local.get $v))))\n"
    "  (func (export \"_start\") (local $forked i32)\n"
    "    (global.set $g (i32.const 100))\n"
    "    (i32.store (i32.const 2048) (i32.const 5))\n"
    "    (i32.store (i32.const 40000) (i32.const 7))\n"
    "    (drop (memory.grow (i32.const 1)))\n"
    "    (table.set $t (i32.const 1) (ref.func $f))\n"
    "    (local.set $forked (call $fork))\n"
    "    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 16))\n"
    "    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
    "    (call $digit (i32.const 0) (i32.sub (global.get $g) (i32.const 100)))\n"
    "    (call $digit (i32.const 1) (i32.sub (i32.load (i32.const 2048)) (i32.const 5)))\n"
    "    (call $digit (i32.const 2) (memory.size))\n"
    "    (call $digit (i32.const 3) (table.size $t))\n"
    "    (call $digit (i32.const 4) (i32.eqz (ref.is_null (table.get $t (i32.const 0)))))\n"
    "    (call $digit (i32.const 5) (local.get $forked))\n"
    "    (call $digit (i32.const 6) (i32.sub (i32.load (i32.const 40000)) (i32.const 7)))\n"
    "    (global.set $g (i32.add (global.get $g) (i32.const 1)))\n"
    "    (i32.store (i32.const 2048) (i32.const 9))\n"
    "    (drop (memory.grow (i32.const 3)))\n"
    "    (i32.store (i32.const 70000) (i32.const 1))\n"
    "    (drop (table.grow $t (ref.null func) (i32.const 4)))\n"
    "    (table.set $t (i32.const 0) (ref.func $f))\n"
    "    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 84)) (then unreachable))\n"
    "    (i32.store (i32.const 0) (i32.const 3000)) (i32.store (i32.const 4) (i32.const 7))\n"
    "    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))\n";

static void forker_records(int no_snapshot, int workers)
{
    char err[512], wasm[64];
    zvm_module *fm;
    zvm_pool *p = NULL;
    zvm_pool_config cfg = {.workers = workers, .snapshot = no_snapshot ? ZVM_SNAPSHOT_OFF : 0};
    zvm_result r;
    snprintf(wasm, sizeof wasm, "%s/forker-%d.wasm", test_cache_dir(), (int)getpid());
    wat_to_file(FORKER, wasm);
    cr_assert_eq(zvm_module_load(wasm, test_cache_dir(), &fm, err, sizeof err), 0, "%s", err);
    cr_assert_eq(zvm_pool_new(fm, &cfg, &p, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 300; i++) {
        if (i == 150) { /* idle workers give their pages back: the snapshot must survive */
            for (int k = 0; k < 150; k++)
                cr_assert_eq(zvm_pool_next(p, &r, -1), 1);
            nanosleep(&(struct timespec){0, 100000000}, NULL);
        }
        cr_assert_eq(zvm_pool_submit(p, i % 7 == 3 ? "T" : "x", 1, (uint64_t)i), 0);
    }
    zvm_pool_close(p);
    for (int i = 150; zvm_pool_next(p, &r, -1) == 1; i++) {
        cr_assert_eq(r.tag, (uint64_t)i);
        if (i % 7 == 3) {
            cr_assert_eq(r.status, ZVM_TRAP);
            continue;
        }
        cr_assert_eq(r.status, ZVM_OK, "record %d: %s", i, r.detail ? r.detail : "");
        cr_assert(r.len == 7 && !memcmp(r.data, "0022010", 7),
                  "record %d starts from %.*s, not the fork point's 0022010", i, (int)r.len,
                  (const char *)r.data);
    }
    zvm_pool_free(p);
    zvm_module_free(fm);
    unlink(wasm);
}

Test(snapshot, every_record_starts_from_the_fork_point, .timeout = 60)
{
    forker_records(0, 1);
    forker_records(0, 2);
}

Test(snapshot, the_same_without_snapshots, .timeout = 60) { forker_records(1, 1); }

/* Cards (snapshot.c restores the 512-byte cards a record marked, scanning
 * 64 marks a step): the set-up writes a pattern over [4096, 131072), the
 * end of the memory's two pages (256 cards, four steps); each record
 * answers '1' if it finds the pattern whole, then changes it where a card's
 * edge can be missed: an i64 store across one (4604..4611), a fill and a
 * copy over runs of cards, the host's fd_read of the record (600 bytes at
 * 12000), a fill across steps 0 and 1 (32000..33499), eight whole cards
 * (40960..45055: a word of marks set, then a clear one), the last word of
 * step 1 (its run ends where the clean step 2 begins) and the memory's
 * last word. */
static const char *const CARDS =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_read\" (func $read (param i32 i32 i32 i32) (result "
    "i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $write (param i32 i32 i32 i32) "
    "(result i32)))\n"
    "  (import \"zvm\" \"fork\" (func $fork (result i32)))\n"
    "  (memory 2)\n"
    "  (func $pat (param $i i32) (result i32)\n"
    "    (i32.and (i32.add (i32.mul (local.get $i) (i32.const 7)) (i32.const 3)) (i32.const "
    "255)))\n"
    "  (func (export \"_start\") (local $i i32) (local $ok i32)\n"
    "    (local.set $i (i32.const 4096))\n"
    "    (loop $set (i32.store8 (local.get $i) (call $pat (local.get $i)))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $set (i32.lt_u (local.get $i) (i32.const 131072))))\n"
    "    (drop (call $fork))\n"
    "    (local.set $ok (i32.const 49)) (local.set $i (i32.const 4096))\n"
    "    (loop $check\n"
    "      (if (i32.ne (i32.load8_u (local.get $i)) (call $pat (local.get $i)))\n"
    "        (then (local.set $ok (i32.const 48))))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $check (i32.lt_u (local.get $i) (i32.const 131072))))\n"
    "    (i32.store8 (i32.const 100) (local.get $ok))\n"
    "    (i64.store (i32.const 4604) (i64.const -1))\n"
    "    (memory.fill (i32.const 6000) (i32.const 0) (i32.const 1300))\n"
    "    (memory.copy (i32.const 9000) (i32.const 20000) (i32.const 700))\n"
    "    (i32.store (i32.const 0) (i32.const 12000)) (i32.store (i32.const 4) (i32.const 600))\n"
    "    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
    "    (memory.fill (i32.const 32000) (i32.const 0) (i32.const 1500))\n"
    "    (memory.fill (i32.const 40960) (i32.const 0) (i32.const 4096))\n"
    "    (i32.store (i32.const 65532) (i32.const 0))\n"
    "    (i32.store (i32.const 131068) (i32.const 0))\n"
    "    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1))\n"
    "    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))\n";

Test(snapshot, every_card_a_record_wrote_comes_back, .timeout = 60)
{
    char err[512], wasm[64], rec[600];
    zvm_module *fm;
    zvm_pool *p = NULL;
    zvm_pool_config cfg = {.workers = 1};
    zvm_result r;
    memset(rec, 'z', sizeof rec);
    snprintf(wasm, sizeof wasm, "%s/cards-%d.wasm", test_cache_dir(), (int)getpid());
    wat_to_file(CARDS, wasm);
    cr_assert_eq(zvm_module_load(wasm, test_cache_dir(), &fm, err, sizeof err), 0, "%s", err);
    cr_assert_eq(zvm_pool_new(fm, &cfg, &p, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(zvm_pool_submit(p, rec, sizeof rec, (uint64_t)i), 0);
    zvm_pool_close(p);
    int i = 0;
    for (; zvm_pool_next(p, &r, -1) == 1; i++) {
        cr_assert_eq(r.status, ZVM_OK, "record %d: %s", i, r.detail ? r.detail : "");
        cr_assert(r.len == 1 && *(const char *)r.data == '1',
                  "record %d found the fork point's memory changed", i);
    }
    cr_assert_eq(i, 20);
    zvm_pool_free(p);
    zvm_module_free(fm);
    unlink(wasm);
}

/* ---- runners ------------------------------------------------------------------------- */

Test(runner, start_with_results_is_refused)
{
    zv_eng_module *m = wat_load("(module (func (export \"_start\") (result i32) (i32.const 42)))");
    zv_cfg_instance ci = {0};
    zv_cfg_manifest *man = NULL;
    zv_pf_runner *r = NULL;
    zv_eng_err err = {0};
    ci.program = "-";
    ci.input = ci.output = ci.errors = "/dev/null";
    ci.memory_bytes = 1 << 20;
    ci.timeout_s = 1;
    ci.limit_bytes = 4096;
    cr_assert_eq(zv_cfg_for_instance(&ci, &man), 0);
    zv_eng_thread_init();
    zv_pf_runner_opts ro = {.snapshot = ZVM_SNAPSHOT_FORK};
    cr_assert_eq(zv_pf_runner_new(m, man, &ro, &r, &err), -ENOENT);
    cr_assert(strstr(err.msg, "_start must have type"), "%s", err.msg);
    cr_assert_null(r);
    zv_cfg_free(man);
    zv_eng_module_free(m);
}

/* ---- sessions ------------------------------------------------------------------------- */

Test(session, a_report_for_a_manifest)
{
    char dir[] = "/tmp/zvm-session.XXXXXX", man[128], in[128], out[128], wasm[128];
    zvm_report rep;
    char err[256];
    FILE *f;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(man, sizeof man, "%s/m.manifest", dir);
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(wasm, sizeof wasm, "%s/filter.wasm", dir);
    wat_to_file(FILTER, wasm);
    cr_assert_not_null(f = fopen(in, "w"));
    fputs("session", f);
    fclose(f);
    cr_assert_not_null(f = fopen(man, "w"));
    fprintf(f, "Version = 20130611\nProgram = filter.wasm\nMemory = 1048576, 1\nTimeout = 5\n"
               "Channel = in.txt, /dev/stdin, 0, 1, 10, 1000, 0, 0\n"
               "Channel = out.txt, /dev/stdout, 0, 1, 0, 0, 10, 1000\n"
               "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 10, 1000\n");
    fclose(f);
    setenv("ZVM_CACHE", test_cache_dir(), 1);
    cr_assert_eq(zvm_session_run(man, &rep, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rep.exit_code, 0, "%s", rep.status);
    cr_assert_str_eq(rep.status, "ok");
    cr_assert_eq(rep.gets, 1);
    cr_assert_eq(rep.puts, 1);
    cr_assert_eq(rep.put_bytes, 7);
    cr_assert_eq(rep.n_etags, 3, "stdin, stdout and memory");
    cr_assert_str_eq(rep.etags[2].alias, "memory");
    zvm_report_free(&rep);
    /* a bad manifest: ZeroVM's code in the report */
    cr_assert_not_null(f = fopen(man, "w"));
    fputs("Version = 20130611\nProgram = filter.wasm\n", f);
    fclose(f);
    cr_assert_eq(zvm_session_run(man, &rep, err, sizeof err), 0);
    cr_assert_eq(rep.exit_code, 14, "%s", rep.status);
    zvm_report_free(&rep);
    snprintf(err, sizeof err, "rm -rf %s", dir);
    cr_assert_eq(system(err), 0);
}

/* ---- the workers' syscall filter ------------------------------------------------- */

Test(seccomp, a_worker_may_not_open_a_socket)
{
    pid_t pid = fork();
    int status;
    if (pid == 0) {
        if (zv_pf_seccomp_worker())
            _exit(3);
        (void)!write(-1, "", 0);             /* allowed: returns EBADF */
        syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); /* not on the list */
        _exit(0);
    }
    waitpid(pid, &status, 0);
#if defined(__SANITIZE_ADDRESS__)
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "no filter under a sanitizer");
#else
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
              "status %#x: a socket() from a worker must kill the process", status);
#endif
}

/* zvm_pool_reload: records submitted before run on the module before,
 * those after on the new one, results in submit order; a module that
 * cannot serve is refused and the one before runs on; a second reload
 * waits for the first one's results. */
#define SAYS_V2                                                                                    \
    "(module (import \"wasi_snapshot_preview1\" \"fd_write\"\n"                                 \
    "    (func $w (param i32 i32 i32 i32) (result i32)))\n"                                      \
    "  (memory (export \"memory\") 1)\n"                                                        \
    "  (data (i32.const 8) \"\\10\\00\\00\\00\\02\\00\\00\\00\") (data (i32.const 16) \"v2\")\n" \
    "  (func (export \"_start\")\n"                                                             \
    "    (drop (call $w (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 32)))))\n"

static zvm_module *wat_module(const char *wat, const char *name)
{
    char p[96], err[512];
    zvm_module *m = NULL;
    snprintf(p, sizeof p, "%s/%s-%d.wasm", test_cache_dir(), name, (int)getpid());
    wat_to_file(wat, p);
    cr_assert_eq(zvm_module_load(p, test_cache_dir(), &m, err, sizeof err), 0, "%s", err);
    unlink(p);
    return m;
}

Test(pool, a_reload_runs_new_records_on_the_new_module)
{
    zvm_pool_config cfg = {.workers = 2};
    zvm_pool *p = new_pool(&cfg);
    zvm_module *v2 = wat_module(SAYS_V2, "v2"), *no_start = wat_module("(module (memory 1))", "ns");
    zvm_pool_stats st;
    zvm_result r;
    char err[512] = "", rec[16];
    uint64_t got = 0;
    for (int i = 0; i < 300; i++) {
        if (i == 100) {
            cr_assert_eq(zvm_pool_reload(p, no_start, err, sizeof err), -ENOENT, "%s", err);
            cr_assert_eq(zvm_pool_reload(p, v2, err, sizeof err), 0, "%s", err);
            cr_assert_eq(zvm_pool_reload(p, mod, err, sizeof err), -EBUSY);
        }
        snprintf(rec, sizeof rec, "r%03d", i);
        cr_assert_eq(zvm_pool_submit(p, rec, 4, (uint64_t)i), 0);
    }
    zvm_pool_close(p);
    while (zvm_pool_next(p, &r, -1) == 1) {
        cr_assert_eq(r.tag, got, "in submit order: %llu", (unsigned long long)r.tag);
        snprintf(rec, sizeof rec, "r%03llu", (unsigned long long)r.tag);
        if (r.tag < 100)
            cr_assert(r.status == ZVM_OK && r.len == 4 && !memcmp(r.data, rec, 4), "%llu: before",
                      (unsigned long long)r.tag);
        else
            cr_assert(r.status == ZVM_OK && r.len == 2 && !memcmp(r.data, "v2", 2), "%llu: after",
                      (unsigned long long)r.tag);
        got++;
    }
    cr_assert_eq(got, 300);
    zvm_pool_stats_get(p, &st);
    cr_assert_eq(st.records, 300, "the totals go on: %llu", (unsigned long long)st.records);
    zvm_pool_free(p);
    zvm_module_free(v2);
    zvm_module_free(no_start);
}

/* A thread fetching while another submits and reloads: the fetcher never
 * sees the end before zvm_pool_close, and gets every result in order. */
struct fetcher {
    zvm_pool *p;
    uint64_t got, v2, out_of_order;
};

static void *fetch_all(void *arg)
{
    struct fetcher *f = arg;
    zvm_result r;
    while (zvm_pool_next(f->p, &r, -1) == 1) {
        f->out_of_order += r.tag != f->got;
        f->v2 += r.len == 2 && !memcmp(r.data, "v2", 2);
        f->got++;
    }
    return NULL;
}

Test(pool, a_reload_while_another_thread_fetches)
{
    zvm_pool_config cfg = {.workers = 2};
    struct fetcher f = {new_pool(&cfg), 0, 0, 0};
    zvm_module *v2 = wat_module(SAYS_V2, "v2t");
    pthread_t th;
    char err[512] = "";
    cr_assert_eq(pthread_create(&th, NULL, fetch_all, &f), 0);
    for (int i = 0; i < 2000; i++) {
        int rc;
        if (i == 1000)
            cr_assert_eq(zvm_pool_reload(f.p, v2, err, sizeof err), 0, "%s", err);
        while ((rc = zvm_pool_submit(f.p, "rec", 3, (uint64_t)i)) == -EAGAIN)
            usleep(100);
        cr_assert_eq(rc, 0);
    }
    zvm_pool_close(f.p);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_expect_eq(f.got, 2000);
    cr_expect_eq(f.v2, 1000);
    cr_expect_eq(f.out_of_order, 0);
    zvm_pool_free(f.p);
    zvm_module_free(v2);
}
