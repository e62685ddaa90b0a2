/*
 * wasm_build.h — test-only helpers to build hostile and invalid modules for
 * the validator's suites (tests/unit/test_validator*.c).
 *
 * Small modules are written as byte arrays: SEC() and BODY() compute each
 * size at compile time and write it as a two-byte LEB128 (legal: §5.2.2
 * allows up to five bytes), so every section up to 16383 bytes can be
 * spelled out inline. Big modules (100000 nested blocks, huge br_tables)
 * go through a growable buffer, `wb`. The *_REJECTS macros assert the
 * return code, the malformed/invalid flag and a substring of the message
 * at the test's own line.
 */
#ifndef ZVM_TESTS_WASM_BUILD_H
#define ZVM_TESTS_WASM_BUILD_H

#include "validator/validator.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00

#define NB(...)      sizeof((const uint8_t[]){__VA_ARGS__})
#define LEB2(n)      (uint8_t)(0x80 | ((n)&0x7f)), (uint8_t)((n) >> 7)
#define SEC(id, ...) (id), LEB2(NB(__VA_ARGS__)), __VA_ARGS__
#define BODY(...)    LEB2(NB(__VA_ARGS__)), __VA_ARGS__

/* Section ids (§5.5.2). */
enum {
    S_CUSTOM = 0,
    S_TYPE,
    S_IMPORT,
    S_FUNC,
    S_TABLE,
    S_MEMORY,
    S_GLOBAL,
    S_EXPORT,
    S_START,
    S_ELEM,
    S_CODE,
    S_DATA,
    S_DATACOUNT,
    S_TAG /* exception handling: between memory and global */
};

/* Validate and free; the error record is filled on failure. */
static inline int wb_validate(const uint8_t *b, size_t n, zv_val_err *err)
{
    zv_val_module *m = NULL;
    int rc = zv_val_module_new(b, n, &m, err);
    cr_assert(rc == 0 ? m != NULL : m == NULL, "*out must be set exactly on success");
    zv_val_module_free(m);
    return rc;
}

/* The error's offset must lie inside the input (or at its end). */
#define ASSERT_REJECTED(rc, err, n, mal, needle)                                                   \
    do {                                                                                           \
        cr_assert_eq((rc), -EINVAL, "expected -EINVAL, got %d", (rc));                             \
        cr_assert_eq((err).malformed, (mal), "wrong malformed flag for \"%s\"", (err).msg);        \
        cr_assert(strstr((err).msg, (needle)), "\"%s\" does not contain \"%s\"", (err).msg,        \
                  (needle));                                                                       \
        cr_assert_leq((err).offset, (n), "offset %zu beyond the %zu input bytes", (err).offset,    \
                      (size_t)(n));                                                                \
    } while (0)

/* REJECTS(malformed, "substring", bytes...): the module must be refused. */
#define REJECTS(mal, needle, ...)                                                                  \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        zv_val_err e_ = {0};                                                                       \
        int rc_ = wb_validate(b_, sizeof b_, &e_);                                                 \
        ASSERT_REJECTED(rc_, e_, sizeof b_, (mal), (needle));                                      \
    } while (0)

#define ACCEPTS(...)                                                                               \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        zv_val_err e_ = {0};                                                                       \
        cr_assert_eq(wb_validate(b_, sizeof b_, &e_), 0, "rejected: %s", e_.msg);                  \
    } while (0)

/* Leak check for the fault-injection sweeps. Under ASan, LeakSanitizer
 * looks for unreachable blocks right now: the report it prints at exit
 * would not fail the test, as Criterion ignores how a finished worker
 * exits. Without ASan it checks nothing; CI runs the unit tests under
 * ASan (.ci/run). */
#if defined(__SANITIZE_ADDRESS__)
#define WB_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WB_HAVE_LSAN 1
#endif
#endif
#ifdef WB_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define ASSERT_NO_LEAKS()                                                                          \
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "LeakSanitizer found leaks, see above")
#else
#define ASSERT_NO_LEAKS() ((void)0)
#endif

/* A growable byte buffer. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} wb;

static inline void wb_put(wb *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        cr_assert_not_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void wb_byte(wb *b, uint8_t v)
{
    wb_put(b, &v, 1);
}

static inline void wb_fill(wb *b, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wb_byte(b, v);
}

static inline void wb_u32(wb *b, uint32_t v) /* unsigned LEB128, minimal */
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        wb_byte(b, byte | (v ? 0x80 : 0));
    } while (v);
}

/* Section `id` holding the bytes of `body`. */
static inline void wb_sec(wb *b, uint8_t id, const wb *body)
{
    wb_byte(b, id);
    wb_u32(b, (uint32_t)body->n);
    wb_put(b, body->p, body->n);
}

static inline void wb_sec_bytes(wb *b, uint8_t id, const uint8_t *body, size_t n)
{
    wb_byte(b, id);
    wb_u32(b, (uint32_t)n);
    wb_put(b, body, n);
}

static inline void wb_free(wb *b)
{
    free(b->p);
    *b = (wb){0};
}

/*
 * The environment that code tests run in, so that a test gives only the
 * body under test:
 *   types   0: [] -> []   1: [i32] -> [i32]   2: [] -> [i32 i32]
 *           3: [i32 i64] -> []   4: [i32] -> []
 *   funcs   0: the body under test, of the given type
 *           1: type 0, declared by element segment 0 (ref.func may name it)
 *           2: type 1, never declared
 *   tables  0: funcref   1: externref           (unless ENV_NO_TABLES)
 *   memory  0: one page                         (unless ENV_NO_MEMORY)
 *   tags    0: []   1: [i32]   2: [i32 i64]
 *   globals 0: immutable i32   1: mutable i32   2: mutable i64
 *   elems   0: passive funcref [1]   1: passive externref [ref.null]
 *   data count 1 (unless ENV_NO_DATACOUNT), data 0: passive "x"
 */
enum { ENV_NO_MEMORY = 1, ENV_NO_TABLES = 2, ENV_NO_DATACOUNT = 4 };

static inline void env_module(wb *out, unsigned flags, uint8_t type, const uint8_t *body,
                              size_t body_n)
{
    /* clang-format off */
    static const uint8_t types[] = {5,
        0x60, 0, 0,             /* 0 */
        0x60, 1, 0x7f, 1, 0x7f, /* 1 */
        0x60, 0, 2, 0x7f, 0x7f, /* 2 */
        0x60, 2, 0x7f, 0x7e, 0, /* 3 */
        0x60, 1, 0x7f, 0};      /* 4 */
    static const uint8_t tables[] = {2, 0x70, 0, 1, 0x6f, 0, 1};
    static const uint8_t memory[] = {1, 0, 1};
    static const uint8_t tags[] = {3, 0, 0, 0, 4, 0, 3};
    static const uint8_t globals[] = {3,
        0x7f, 0, 0x41, 0, 0x0b,
        0x7f, 1, 0x41, 0, 0x0b,
        0x7e, 1, 0x42, 0, 0x0b};
    static const uint8_t elems[] = {2,
        1, 0, 1, 1,                 /* passive, elemkind funcref, [1] */
        5, 0x6f, 1, 0xd0, 0x6f, 0x0b}; /* passive externref, [ref.null] */
    static const uint8_t data[] = {1, 1, 1, 'x'};
    /* clang-format on */
    static const uint8_t other_bodies[] = {2, 0x00, 0x0b, 4, 0x00, 0x20, 0x00, 0x0b};
    const uint8_t funcs[] = {3, type, 0, 1};
    const uint8_t hdr[] = {HDR};
    wb code = {0};

    *out = (wb){0};
    wb_put(out, hdr, sizeof hdr);
    wb_sec_bytes(out, S_TYPE, types, sizeof types);
    wb_sec_bytes(out, S_FUNC, funcs, sizeof funcs);
    if (!(flags & ENV_NO_TABLES))
        wb_sec_bytes(out, S_TABLE, tables, sizeof tables);
    if (!(flags & ENV_NO_MEMORY))
        wb_sec_bytes(out, S_MEMORY, memory, sizeof memory);
    wb_sec_bytes(out, S_TAG, tags, sizeof tags);
    wb_sec_bytes(out, S_GLOBAL, globals, sizeof globals);
    wb_sec_bytes(out, S_ELEM, elems, sizeof elems);
    if (!(flags & ENV_NO_DATACOUNT)) wb_sec_bytes(out, S_DATACOUNT, (const uint8_t[]){1}, 1);
    wb_u32(&code, 3);
    wb_u32(&code, (uint32_t)body_n);
    wb_put(&code, body, body_n);
    wb_put(&code, other_bodies, sizeof other_bodies);
    wb_sec(out, S_CODE, &code);
    wb_sec_bytes(out, S_DATA, data, sizeof data);
    wb_free(&code);
}

static inline int env_validate(unsigned flags, uint8_t type, const uint8_t *body, size_t n,
                               zv_val_err *err, size_t *module_n)
{
    wb m;
    int rc;
    env_module(&m, flags, type, body, n);
    rc = wb_validate(m.p, m.n, err);
    *module_n = m.n;
    wb_free(&m);
    return rc;
}

/* CODE_REJECTS(env flags, type, malformed, "substring", body bytes...): the
 * body bytes start with the locals vector (usually 0x00). */
#define CODE_REJECTS(flags, type, mal, needle, ...)                                                \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        zv_val_err e_ = {0};                                                                       \
        size_t n_;                                                                                 \
        int rc_ = env_validate((flags), (type), b_, sizeof b_, &e_, &n_);                          \
        ASSERT_REJECTED(rc_, e_, n_, (mal), (needle));                                             \
    } while (0)

#define CODE_ACCEPTS(flags, type, ...)                                                             \
    do {                                                                                           \
        static const uint8_t b_[] = {__VA_ARGS__};                                                 \
        zv_val_err e_ = {0};                                                                       \
        size_t n_;                                                                                 \
        cr_assert_eq(env_validate((flags), (type), b_, sizeof b_, &e_, &n_), 0, "rejected: %s",    \
                     e_.msg);                                                                      \
    } while (0)

#endif
