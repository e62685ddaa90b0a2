/*
 * test_module_read.c — a module file read in outline (engine/module_read.c):
 * everything but the code section's contents and the data segments'
 * payloads, at the file's offsets; any shape it does not know read whole;
 * a file shorter than its size an error. A load whose hash the cache
 * remembers reads the outline, runs from its entry, and a fork build of it
 * reads the whole file again and refuses a file changed since.
 */
#include "wat.h"

#include "engine/internal.h"
#include "validator/validator.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNREAD 0xEE
#define WINDOW 32 /* module_read.c reads headers in windows: may be more */

static const char *const M =
    "(module\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 16) \"zvm outline: the active payload, long enough to pass a window\")\n"
    "  (data \"passive payload! and more than a window of it, to be skipped\")\n"
    "  (func (export \"at\") (param i32) (result i32) (i32.load8_u (local.get 0)))\n"
    "  (func (export \"init\") (param i32)\n"
    "    (memory.init 1 (local.get 0) (i32.const 0) (i32.const 16)))\n"
    "  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"big\") (result i32)\n"
    "    (i32.add (i32.add (i32.add (i32.const 1000001) (i32.const 1000002))\n"
    "                      (i32.add (i32.const 1000003) (i32.const 1000004)))\n"
    "             (i32.add (i32.add (i32.const 1000005) (i32.const 1000006))\n"
    "                      (i32.add (i32.const 1000007) (i32.const 1000008))))))\n";

static char dir[64], file[96];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/zvm-outline.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/m.wasm", dir);
}

static void teardown(void)
{
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void put_file(const uint8_t *b, size_t n)
{
    FILE *f = fopen(file, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* The outline of `file` (size n, plus `extra` bytes more than it holds):
 * what zv_eng_read_outline returned; *out: the buffer, UNREAD where not read. */
static int outline(size_t n, size_t extra, uint8_t **out)
{
    int fd = open(file, O_RDONLY), rc;
    cr_assert_geq(fd, 0);
    cr_assert_not_null(*out = malloc(n + extra + 1));
    memset(*out, UNREAD, n + extra + 1);
    rc = zv_eng_read_outline(fd, *out, n + extra);
    close(fd);
    return rc;
}

/* [*off, *off + *len): section `id`'s contents in b (a test's own walk). */
static void section(const uint8_t *b, size_t n, uint8_t id, size_t *off, size_t *len)
{
    for (size_t p = 8; p < n;) {
        uint8_t sid = b[p++];
        size_t size = 0;
        for (int shift = 0;; shift += 7) {
            size |= (size_t)(b[p] & 0x7f) << shift;
            if (!(b[p++] & 0x80))
                break;
        }
        if (sid == id) {
            *off = p, *len = size;
            return;
        }
        p += size;
    }
    cr_assert_fail("no section %u", id);
}

static int within(size_t i, size_t off, size_t len) { return i >= off && i < off + len; }

/* o against the file's b: what was read is the file's; what lies in a
 * skipped range, past the window its header was read with, was not read. */
static void read_but(const uint8_t *o, const uint8_t *b, size_t i, int skipped, const char *what)
{
    if (skipped == 2)
        cr_assert_eq(o[i], UNREAD, "%s: byte %zu was read", what, i);
    else if (skipped == 1)
        cr_assert(o[i] == UNREAD || o[i] == b[i], "%s: byte %zu", what, i);
    else
        cr_assert_eq(o[i], b[i], "%s: byte %zu", what, i);
}

/* 2 when i lies in [off, off + len) past its window, 1 in its window, else 0 */
static int skip_of(size_t i, size_t off, size_t len)
{
    return within(i, off, len) ? 1 + (i >= off + WINDOW) : 0;
}

Test(outline, leaves_out_the_code_and_the_data_payloads_only, .init = setup, .fini = teardown)
{
    size_t n, code, code_len, data, data_len;
    uint8_t *b = wat_to_wasm(M, &n), *o;
    const char *active = "zvm outline: the", *passive = "passive payload!";
    const uint8_t *a = memmem(b, n, active, 16), *p = memmem(b, n, passive, 16);
    zv_val_module *full, *part;
    zv_val_err err = {0};
    size_t unread = 0;
    cr_assert(a && p);
    cr_assert_eq(zv_val_module_new(b, n, &full, &err), 0, "%s", err.msg);
    put_file(b, n);
    section(b, n, 10, &code, &code_len);
    section(b, n, 11, &data, &data_len);
    cr_assert_eq(outline(n, 0, &o), 1);
    cr_assert_gt(code_len, 2 * WINDOW);
    for (size_t i = 0; i < n; i++) {
        int s = skip_of(i, code, code_len) | skip_of(i, (size_t)(a - b), full->datas[0].size_bytes) |
                skip_of(i, (size_t)(p - b), full->datas[1].size_bytes);
        read_but(o, b, i, s, "the module");
        unread += o[i] == UNREAD && o[i] != b[i];
    }
    cr_assert_geq(unread, code_len + 64 - 3 * WINDOW, "code at %zu, data at %zu", code, data);
    /* what instantiation needs decodes from it alike */
    cr_assert_eq(zv_val_module_decode(o, n, full->sha256, 1, &part, &err), 0, "%s", err.msg);
    cr_assert_eq(part->n_funcs, full->n_funcs);
    cr_assert_eq(part->n_exports, full->n_exports);
    cr_assert_eq(part->n_datas, 2);
    for (uint32_t d = 0; d < 2; d++) {
        cr_assert_eq(part->datas[d].mode, full->datas[d].mode);
        cr_assert_eq(part->datas[d].size_bytes, full->datas[d].size_bytes);
        cr_assert_eq(part->datas[d].offset.bits, full->datas[d].offset.bits);
    }
    cr_assert_eq(memcmp(part->sha256, full->sha256, 32), 0);
    cr_assert_eq(part->funcs[0].code_end, 0, "no extents without the code");
    zv_val_module_free(part);
    cr_assert_eq(zv_val_module_decode(o, n, NULL, 1, &part, &err), -EINVAL,
                 "an outline's hash cannot be taken");
    cr_assert_null(part);
    zv_val_module_free(full);
    zv_val_module_free(part);
    free(o);
    free(b);
}

/* One function, `nop`, and the data section given (under 128 bytes: its
 * size in one byte, else two). */
static size_t with_data(uint8_t *out, const uint8_t *data, size_t data_len)
{
    const uint8_t head[] = {0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,    1, 4, 1, 0x60, 0, 0,
                            3,    2,    1,    0,    5, 3, 1, 0, 1, 10, 5, 1, 3, 0, 0x01, 0x0b};
    size_t n = sizeof head;
    memcpy(out, head, n);
    out[n++] = 11;
    if (data_len >= 128)
        out[n++] = (uint8_t)(0x80 | (data_len & 0x7f));
    out[n++] = (uint8_t)(data_len >= 128 ? data_len >> 7 : data_len);
    memcpy(out + n, data, data_len);
    return n + data_len;
}

/* Shapes it does not know are read whole: the section, or the file. */
Test(outline, reads_whole_what_it_does_not_know, .init = setup, .fini = teardown)
{
    static const struct {
        const char *what;
        uint8_t data[16], len;
        int whole_file;
    } cases[] = {
        {"an extended constant", {1, 0, 0x41, 1, 0x41, 2, 0x6a, 0x0b, 2, 'h', 'i'}, 11, 0},
        {"1000 segments in 5 bytes", {0xe8, 0x07, 1, 1, 'x'}, 5, 0},
        {"a payload past the section", {1, 1, 9, 'a', 'b'}, 5, 0},
        {"memory 1", {1, 2, 1, 0x41, 0, 0x0b, 1, 'z'}, 8, 0},
        {"a segment kind 7", {1, 7, 0, 'q'}, 4, 0},
        {"a count cut short", {0x80}, 1, 0},
    };
    uint8_t b[64], *o;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = with_data(b, cases[c].data, cases[c].len), code, code_len;
        put_file(b, n);
        section(b, n, 10, &code, &code_len);
        cr_assert_eq(outline(n, 0, &o), 1, "%s", cases[c].what);
        for (size_t i = 0; i < n; i++)
            read_but(o, b, i, within(i, code, code_len), cases[c].what);
        free(o);
    }
    /* more segments than are worth a read each: the section read whole */
    {
        uint8_t many[1 + 65 * 42], big[sizeof many + 64];
        size_t n, code, code_len;
        many[0] = 65;
        for (int i = 0; i < 65; i++) { /* passive, 40 bytes: past a header's window */
            many[1 + 42 * i] = 1, many[2 + 42 * i] = 40;
            memset(many + 3 + 42 * i, 'a' + i % 26, 40);
        }
        n = with_data(big, many, sizeof many);
        put_file(big, n);
        section(big, n, 10, &code, &code_len);
        cr_assert_eq(outline(n, 0, &o), 1);
        for (size_t i = 0; i < n; i++)
            read_but(o, big, i, within(i, code, code_len), "65 segments");
        free(o);
    }
    /* a section longer than the file: all of it read, as the validator
     * will say why it is malformed */
    size_t n = with_data(b, (const uint8_t[]){0}, 1);
    b[n - 2] = 40;
    put_file(b, n);
    cr_assert_eq(outline(n, 0, &o), 0);
    cr_assert_eq(memcmp(o, b, n), 0);
    free(o);
    put_file(b, 3); /* shorter than the magic */
    cr_assert_eq(outline(3, 0, &o), 0);
    cr_assert_eq(memcmp(o, b, 3), 0);
    free(o);
}

/* A file shorter than the size it had: an error, never zeros taken as bytes. */
Test(outline, a_file_cut_short_is_an_error, .init = setup, .fini = teardown)
{
    size_t n;
    uint8_t *b = wat_to_wasm(M, &n), *o;
    put_file(b, n);
    cr_assert_eq(outline(n, 100, &o), -EIO, "the size it had said 100 bytes more");
    free(o);
    put_file(b, n / 2);
    cr_assert_eq(outline(n, 0, &o), -EIO, "cut in half");
    free(o);
    free(b);
}

/* The module runs: its active segment in memory, its passive one copied
 * by memory.init, its code. */
static void runs(zv_eng_module *m)
{
    zv_eng_instance *inst = NULL;
    zv_eng_err err = {0};
    cr_assert_eq(zv_eng_instance_new(m, NULL, NULL, NULL, NULL, &inst, &err), 0, "%s", err.msg);
    cr_assert_eq(wat_call(inst, "at", 16 + 4, 0), 'o');
    wat_call(inst, "init", 100, 0);
    cr_assert_eq(wat_call(inst, "at", 100 + 8, 0), 'p', "passive payload! at 100");
    cr_assert_eq(wat_call(inst, "add", 40, 2), 42);
    zv_eng_instance_free(inst);
}

/* A load whose hash the cache remembers (a file 2 s old or more) reads
 * the outline; a fork build of it reads the whole file again, and refuses
 * one changed since. */
Test(outline, a_remembered_file_loads_from_its_outline, .init = setup, .fini = teardown)
{
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    zv_eng_module *m = NULL, *fork = NULL;
    size_t n;
    uint8_t *b = wat_to_wasm(M, &n);
    uint8_t *changed = memmem(b, n, "passive payload!", 16);
    char cache[96], cmd[128];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    opts.cache_dir = cache;
    put_file(b, n);
    sleep(3); /* memos are written for files whose ctime is 2 s old or more */
    cr_assert_eq(zv_eng_module_load_file(file, &opts, &m, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(m->outline_fd, -1, "no memo yet: read whole");
    zv_eng_module_free(m);
    cr_assert_eq(zv_eng_module_load_file(file, &opts, &m, NULL, &err), 0, "%s", err.msg);
    cr_assert_geq(m->outline_fd, 0, "the memo's hash: read in outline");
    runs(m);
    cr_assert_eq(zv_eng_module_for_fork(m, &fork, &err), 0, "%s", err.msg);
    cr_assert_eq(fork->outline_fd, -1, "the fork build has the whole bytes");
    cr_assert_eq(memcmp(fork->bytes, b, n), 0);
    runs(fork);
    zv_eng_module_free(fork);
    /* the same size, another payload: not the bytes this module is */
    changed[0] = 'P';
    put_file(b, n);
    cr_assert_eq(zv_eng_module_for_fork(m, &fork, &err), -ESTALE);
    cr_assert_null(fork);
    cr_assert(strstr(err.msg, "changed since it was loaded"), "%s", err.msg);
    zv_eng_module_free(m);
    /* the memo holds, its entry is gone: the rest read, then validated */
    changed[0] = 'p';
    put_file(b, n);
    sleep(3);
    cr_assert_eq(zv_eng_module_load_file(file, &opts, &m, NULL, &err), 0, "%s", err.msg);
    zv_eng_module_free(m); /* (a memo of this stat) */
    snprintf(cmd, sizeof cmd, "rm %s/*.so", cache);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(zv_eng_module_load_file(file, &opts, &m, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(m->outline_fd, -1, "built from the whole");
    cr_assert_eq(memcmp(m->bytes, b, n), 0);
    runs(m);
    zv_eng_module_free(m);
    free(b);
}
