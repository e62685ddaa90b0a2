/*
 * test_validator_full.c — one realistic module that uses every section and
 * every kind of element segment, put through the hostile sweeps: cut at
 * every byte, every byte replaced by every other value, and every
 * allocation failed in turn (STYLE rule 15, with the unit tests run under
 * ASan/LSan by CI to catch what a failed allocation would leak).
 */
#include "wasm_build.h"

#include <openssl/evp.h>

#define ZVM_NAME 0x03, 'z', 'v', 'm'
#define WASI_NAME                                                                                  \
    0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a', 'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e',     \
        'v', 'i', 'e', 'w', '1'
#define V128_CONST 0xfd, 0x0c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

/*
 * Index spaces: funcs 0 (import "zvm" "f"), 1 (start), 2 ("main"), 3;
 * tables 0 (import, funcref), 1 (funcref), 2 (externref); memory 0;
 * globals 0 (import, i32), 1..8; data 0 (active), 1 (passive).
 */
/* clang-format off */
static const uint8_t full[] = {
    HDR,
    SEC(S_CUSTOM, 0x04, 'n', 'o', 't', 'e', 0x01, 0x02, 0x03),
    SEC(S_TYPE, 0x04,
        0x60, 0x00, 0x00,             /* 0: [] -> [] */
        0x60, 0x01, 0x7f, 0x01, 0x7f, /* 1: [i32] -> [i32] */
        0x60, 0x02, 0x7f, 0x7e, 0x00, /* 2: [i32 i64] -> [] */
        0x60, 0x00, 0x02, 0x7f, 0x7f), /* 3: [] -> [i32 i32] */
    SEC(S_IMPORT, 0x03,
        ZVM_NAME, 0x01, 'f', 0x00, 0x01,
        ZVM_NAME, 0x01, 't', 0x01, 0x70, 0x00, 0x01,
        WASI_NAME, 0x01, 'g', 0x03, 0x7f, 0x00),
    SEC(S_FUNC, 0x03, 0x00, 0x01, 0x02),
    SEC(S_TABLE, 0x02, 0x70, 0x01, 0x02, 0x0a, 0x6f, 0x00, 0x01),
    SEC(S_MEMORY, 0x01, 0x01, 0x01, 0x02),
    SEC(S_GLOBAL, 0x08,
        0x7f, 0x01, 0x41, 0x00, 0x0b,
        0x7e, 0x00, 0x42, 0x7f, 0x0b,
        0x7d, 0x00, 0x43, 0x00, 0x00, 0x80, 0x3f, 0x0b,
        0x7c, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x0b,
        0x70, 0x00, 0xd2, 0x02, 0x0b,
        0x7f, 0x00, 0x23, 0x00, 0x0b,
        0x7b, 0x00, V128_CONST, 0x0b,
        0x6f, 0x00, 0xd0, 0x6f, 0x0b),
    SEC(S_EXPORT, 0x04,
        0x04, 'm', 'a', 'i', 'n', 0x00, 0x02,
        0x03, 'm', 'e', 'm', 0x02, 0x00,
        0x03, 't', 'a', 'b', 0x01, 0x01,
        0x01, 'g', 0x03, 0x01),
    SEC(S_START, 0x01),
    SEC(S_ELEM, 0x08,
        0x00, 0x41, 0x00, 0x0b, 0x02, 0x01, 0x02,             /* active, table 0 */
        0x01, 0x00, 0x01, 0x02,                               /* passive */
        0x02, 0x01, 0x41, 0x00, 0x0b, 0x00, 0x01, 0x01,       /* active, table 1 */
        0x03, 0x00, 0x01, 0x03,                               /* declarative */
        0x04, 0x41, 0x01, 0x0b, 0x02, 0xd2, 0x01, 0x0b, 0xd0, 0x70, 0x0b, /* exprs */
        0x05, 0x6f, 0x01, 0xd0, 0x6f, 0x0b,                   /* passive externref */
        0x06, 0x02, 0x41, 0x00, 0x0b, 0x6f, 0x01, 0xd0, 0x6f, 0x0b, /* table 2 */
        0x07, 0x70, 0x01, 0xd2, 0x03, 0x0b),                  /* declarative exprs */
    SEC(S_DATACOUNT, 0x02),
    SEC(S_CODE, 0x03,
        BODY(0x00, 0x0b),
        BODY(0x01, 0x01, 0x7e,
             0x02, 0x7f, 0x41, 0x07, 0x20, 0x00, 0x0e, 0x01, 0x00, 0x01, 0x0b,
             0x04, 0x7f, 0x41, 0x01, 0x05, 0x20, 0x00, 0x10, 0x00, 0x0b,
             0x03, 0x40, 0x0b, 0x1a,
             0x42, 0x05, 0x21, 0x01,
             0x41, 0x00, 0x41, 0x00, 0x41, 0x01, 0xfc, 0x08, 0x01, 0x00,
             0xfc, 0x09, 0x01,
             0x41, 0x00, 0x28, 0x02, 0x00, 0x41, 0x00, 0x11, 0x01, 0x00, 0x1a,
             0xd2, 0x03, 0x1a,
             0x41, 0x00, 0x25, 0x00, 0x1a,
             0xfc, 0x10, 0x02, 0x1a,
             0x41, 0x00, 0x41, 0x00, 0x41, 0x01, 0xfc, 0x0c, 0x01, 0x00,
             0xfc, 0x0d, 0x01,
             0x23, 0x01, 0x24, 0x01,
             V128_CONST, 0xfd, 0x15, 0x00, 0x1a,
             0x3f, 0x00, 0x40, 0x00, 0x1a,
             0x02, 0x03, 0x41, 0x01, 0x41, 0x02, 0x0b, 0x6a, 0x1a,
             0x20, 0x00, 0x42, 0x00, 0x10, 0x03,
             0x20, 0x00, 0x0b),
        BODY(0x00, 0x20, 0x00, 0x1a, 0x20, 0x01, 0x1a, 0x0b)),
    SEC(S_DATA, 0x02, 0x00, 0x41, 0x00, 0x0b, 0x02, 'h', 'i', 0x01, 0x03, 'x', 'y', 'z'),
    SEC(S_CUSTOM, 0x04, 't', 'a', 'i', 'l', 0x00),
};
/* clang-format on */

static void count_locals(uint8_t type, uint32_t count, void *arg)
{
    uint32_t *seen = arg;
    cr_assert_eq(type, ZV_I64);
    *seen += count;
}

Test(full, is_valid_and_described)
{
    zv_val_err err = {0};
    zv_val_module *m;
    uint8_t want[32];
    unsigned len = 0;
    uint32_t n_locals = 0;
    cr_assert_eq(zv_val_module_new(full, sizeof full, &m, &err), 0, "%s at 0x%zx", err.msg,
                 err.offset);
    cr_assert_eq(m->n_types, 4);
    cr_assert_eq(m->n_imports, 3);
    cr_assert_eq(m->n_funcs, 4);
    cr_assert_eq(m->n_imported_funcs, 1);
    cr_assert_eq(m->n_tables, 3);
    cr_assert_eq(m->n_imported_tables, 1);
    cr_assert_eq(m->tables[2].elem_type, ZV_EXTERNREF);
    cr_assert_eq(m->n_memories, 1);
    cr_assert(m->memories[0].has_max && m->memories[0].max == 2);
    cr_assert_eq(m->n_globals, 9);
    cr_assert_eq(m->globals[5].init.kind, ZV_CONST_REF_FUNC);
    cr_assert_eq(m->globals[6].init.kind, ZV_CONST_GLOBAL_GET);
    cr_assert_eq(m->globals[7].init.v128[15], 16);
    cr_assert_eq(m->n_exports, 4);
    cr_assert_eq(m->start, 1);
    cr_assert_eq(m->n_elems, 8);
    cr_assert_eq(m->elems[1].mode, ZV_SEG_PASSIVE);
    cr_assert_eq(m->elems[2].table, 1);
    cr_assert_eq(m->elems[3].mode, ZV_SEG_DECLARATIVE);
    cr_assert_eq(m->elems[4].n_items, 2);
    cr_assert_eq(m->elems[4].items[1].kind, ZV_CONST_REF_NULL);
    cr_assert_eq(m->elems[6].elem_type, ZV_EXTERNREF);
    cr_assert(m->has_data_count);
    cr_assert_eq(m->n_datas, 2);
    cr_assert_eq(m->datas[1].mode, ZV_SEG_PASSIVE);
    cr_assert_eq(m->datas[1].size_bytes, 3);
    cr_assert_eq(memcmp(m->datas[1].bytes, "xyz", 3), 0);
    for (uint32_t f = 1; f < 4; f++) {
        cr_assert_lt(m->funcs[f].code_offset, m->funcs[f].code_end);
        cr_assert_eq(full[m->funcs[f].code_end - 1], 0x0b);
    }
    cr_assert_eq(m->funcs[2].max_height, 3);
    zv_val_func_locals(m, 2, count_locals, &n_locals);
    cr_assert_eq(n_locals, 1);
    cr_assert(EVP_Digest(full, sizeof full, want, &len, EVP_sha256(), NULL));
    cr_assert_eq(memcmp(m->sha256, want, 32), 0);
    cr_assert_eq(zv_val_check_policy(m, &zv_val_default_policy, &err), 0, "%s", err.msg);
    zv_val_module_free(m);
}

/* Offsets where a section ends: a prefix cut there is a sequence of whole
 * sections. Returns how many were written to `ends`. */
static size_t section_ends(const uint8_t *b, size_t n, size_t *ends, size_t max)
{
    size_t at = 8, k = 0;
    ends[k++] = at;
    while (at < n && k < max) {
        uint32_t size = 0;
        unsigned shift = 0;
        at++; /* id */
        do
            size |= (uint32_t)(b[at] & 0x7f) << shift, shift += 7;
        while (b[at++] & 0x80);
        at += size;
        ends[k++] = at;
    }
    cr_assert_eq(at, n, "the module's own framing is broken");
    return k;
}

Test(full, every_truncation_is_rejected_cleanly)
{
    size_t ends[32], n_ends = section_ends(full, sizeof full, ends, 32), n_whole = 0;
    for (size_t n = 0; n < sizeof full; n++) {
        zv_val_err err = {0};
        int rc = wb_validate(full, n, &err), at_end = 0;
        for (size_t k = 0; k < n_ends; k++)
            at_end |= ends[k] == n;
        if (at_end) {
            cr_assert(rc == 0 || rc == -EINVAL, "prefix of %zu bytes: rc %d", n, rc);
            n_whole += rc == 0;
            continue;
        }
        /* cut inside the header or a section: always a format error, and
         * one of these four */
        cr_assert_eq(rc, -EINVAL, "prefix of %zu bytes was accepted", n);
        cr_assert_eq(err.malformed, 1, "prefix of %zu bytes: %s", n, err.msg);
        cr_assert(strstr(err.msg, "magic header not detected") ||
                      strstr(err.msg, "unknown binary version") ||
                      strstr(err.msg, "unexpected end") || strstr(err.msg, "length out of bounds"),
                  "prefix of %zu bytes: %s", n, err.msg);
        cr_assert_leq(err.offset, n);
    }
    /* valid prefixes: the header alone, + custom, + types, + imports, and
     * all but the trailing custom section */
    cr_assert_eq(n_whole, 5);
}

/* Every byte after the header, replaced by each of the other 255 values:
 * the validator must answer 0 or -EINVAL with a message and an offset
 * inside the input (and, under ASan, touch nothing outside it). */
Test(full, every_single_byte_mutation_is_handled)
{
    uint8_t *b = malloc(sizeof full);
    size_t n_accepted = 0, n_rejected = 0;
    cr_assert_not_null(b);
    memcpy(b, full, sizeof full);
    for (size_t i = 8; i < sizeof full; i++) {
        for (unsigned v = 0; v < 256; v++) {
            zv_val_err err = {0};
            int rc;
            if (v == full[i])
                continue;
            b[i] = (uint8_t)v;
            rc = wb_validate(b, sizeof full, &err);
            if (rc == 0) {
                n_accepted++;
                continue;
            }
            cr_assert_eq(rc, -EINVAL, "byte %zu = 0x%02x: rc %d", i, v, rc);
            cr_assert(err.msg[0] && memchr(err.msg, 0, sizeof err.msg), "byte %zu = 0x%02x", i, v);
            cr_assert_leq(err.offset, sizeof full, "byte %zu = 0x%02x: %s", i, v, err.msg);
            n_rejected++;
        }
        b[i] = full[i];
    }
    free(b);
    cr_assert_gt(n_accepted, 0);
    cr_assert_gt(n_rejected, n_accepted);
    ASSERT_NO_LEAKS();
}

/* Fail the 1st, 2nd, ... allocation until validation gets through: each
 * must come back as -ENOMEM with nothing leaked, and the first run with no
 * failure must give the same module. */
static long fail_each_allocation(const uint8_t *b, size_t n, int want_rc)
{
    long k;
    for (k = 1;; k++) {
        zv_val_err err = {0};
        zv_val_module *m = NULL;
        int rc;
        cr_assert_lt(k, 10000, "no end to the allocations");
        zv_val_test_fail_alloc(k);
        rc = zv_val_module_new(b, n, &m, &err);
        zv_val_test_fail_alloc(0);
        if (rc == -ENOMEM) {
            cr_assert_null(m, "allocation %ld: a module on failure", k);
            continue;
        }
        cr_assert_eq(rc, want_rc, "allocation %ld: rc %d (%s)", k, rc, err.msg);
        if (rc == 0) {
            cr_assert_eq(m->n_elems, 8);
            cr_assert_eq(m->elems[7].items[0].idx, 3);
        }
        zv_val_module_free(m);
        return k - 1;
    }
}

Test(full, every_allocation_failure_unwinds)
{
    long n_allocs = fail_each_allocation(full, sizeof full, 0);
    /* module, types, imports, 3 grown spaces, funcs, tables, memory,
     * globals, C.refs, exports and their set, elems and 8 item arrays,
     * checker and its stacks, data: a change here means an allocation site
     * appeared or went away */
    cr_assert_geq(n_allocs, 20, "only %ld allocations", n_allocs);
    ASSERT_NO_LEAKS();
}

Test(full, allocation_failures_on_the_way_to_an_error)
{
    /* the full module with the last data segment's kind set to 3: every
     * allocation happens, then the data section fails */
    uint8_t b[sizeof full];
    const uint8_t *xyz = memmem(full, sizeof full, "xyz", 3);
    long n_allocs;
    cr_assert_not_null(xyz);
    memcpy(b, full, sizeof b);
    b[xyz - full - 2] = 0x03;
    n_allocs = fail_each_allocation(b, sizeof b, -EINVAL);
    cr_assert_geq(n_allocs, 20, "only %ld allocations", n_allocs);
    ASSERT_NO_LEAKS();
}

/* Fails each allocation in turn while validating `body` in the code
 * environment; returns how many allocations it took. */
static long fail_each_allocation_env(const uint8_t *body, size_t body_n)
{
    long k;
    for (k = 1;; k++) {
        zv_val_err err = {0};
        size_t n;
        int rc;
        cr_assert_lt(k, 1000, "no end to the allocations");
        zv_val_test_fail_alloc(k);
        rc = env_validate(0, 0, body, body_n, &err, &n);
        zv_val_test_fail_alloc(0);
        if (rc == 0)
            return k - 1;
        cr_assert_eq(rc, -ENOMEM, "allocation %ld: %s", k, err.msg);
    }
}

Test(full, allocation_failures_in_a_deep_body)
{
    /* the checker's stacks grow several times: 5000 values under 5000
     * nested blocks */
    wb body = {0};
    wb_byte(&body, 0x00);
    for (int i = 0; i < 5000; i++)
        wb_put(&body, (const uint8_t[]){0x41, 0x00}, 2);
    for (int i = 0; i < 5000; i++)
        wb_put(&body, (const uint8_t[]){0x02, 0x40}, 2);
    wb_fill(&body, 0x0b, 5000);
    wb_fill(&body, 0x1a, 5000);
    wb_byte(&body, 0x0b);
    cr_assert_gt(fail_each_allocation_env(body.p, body.n), 10);
    wb_free(&body);
    ASSERT_NO_LEAKS();
}

Test(full, allocation_failures_where_the_stack_first_grows)
{
    /* the operand stack's first allocation, made by each way of pushing:
     * a multi-value block end, a br_table in dead code, a typed select,
     * a call, a local */
    static const uint8_t block_end[] = {0x00, 0x02, 0x02, 0x00, 0x0b, 0x1a, 0x1a, 0x0b};
    static const uint8_t br_table[] = {0x00, 0x02, 0x7f, 0x00, 0x0e, 0x01,
                                       0x00, 0x00, 0x0b, 0x1a, 0x0b};
    static const uint8_t select_t[] = {0x00, 0x00, 0x1c, 0x01, 0x7f, 0x1a, 0x0b};
    static const uint8_t local[] = {0x01, 0x01, 0x7f, 0x20, 0x00, 0x1a, 0x0b};
    static const uint8_t simple[] = {0x00, 0x41, 0x00, 0x1a, 0x0b};
    cr_assert_gt(fail_each_allocation_env(block_end, sizeof block_end), 5);
    cr_assert_gt(fail_each_allocation_env(br_table, sizeof br_table), 5);
    cr_assert_gt(fail_each_allocation_env(select_t, sizeof select_t), 5);
    cr_assert_gt(fail_each_allocation_env(local, sizeof local), 5);
    cr_assert_gt(fail_each_allocation_env(simple, sizeof simple), 5);
    ASSERT_NO_LEAKS();
}

/* Our SHA-256 and HMAC (hash.c) against OpenSSL's, both of our block
 * functions, every length up to 300 and in uneven streaming pieces. */
#include <openssl/hmac.h>

static void check_hash(const uint8_t *data, size_t n)
{
    uint8_t ours[32], ref[32], piecewise[32];
    unsigned len = 0;
    zv_val_sha256_ctx c;
    cr_assert_eq(zv_val_sha256(data, n, ours), 0);
    cr_assert(EVP_Digest(data, n, ref, &len, EVP_sha256(), NULL));
    cr_assert_eq(memcmp(ours, ref, 32), 0, "length %zu", n);
    zv_val_sha256_init(&c);
    for (size_t at = 0, step = 1; at < n; at += step, step = step * 3 % 97 + 1)
        zv_val_sha256_update(&c, data + at, at + step > n ? n - at : step);
    zv_val_sha256_final(&c, piecewise);
    cr_assert_eq(memcmp(piecewise, ref, 32), 0, "length %zu in pieces", n);
    for (size_t k = 0; k < 100; k += 33) {
        zv_val_hmac_sha256(data, k < n ? k : n, data, n, ours);
        cr_assert(HMAC(EVP_sha256(), data, (int)(k < n ? k : n), data, n, ref, &len));
        cr_assert_eq(memcmp(ours, ref, 32), 0, "hmac, key %zu, length %zu", k, n);
    }
}

Test(hash, sha256_and_hmac_match_openssl)
{
    static uint8_t data[70000];
    uint8_t d[32];
    srand(3);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)rand();
    /* FIPS 180-4's "abc" */
    zv_val_sha256((const uint8_t *)"abc", 3, d);
    cr_assert_eq(d[0], 0xba);
    cr_assert_eq(d[31], 0xad);
    for (int portable = 1; portable >= 0; portable--) {
        zv_val_sha256_portable(portable);
        for (size_t n = 0; n <= 300; n++)
            check_hash(data, n);
        check_hash(data, sizeof data);
    }
    zv_val_sha256_portable(0);
}
