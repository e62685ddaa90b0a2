/*
 * test_libc_bind.c — Criterion suite for engine/libc_bind.c: wasi-libc's
 * routines are recognised in the build's reference module (the one the
 * table was made from), and nothing else is: other code, other types,
 * calls that would make hashing unbounded (recursion, calls that call,
 * too many calls, too big a body). What the bound routines compute is
 * checked against V8 by tests/e2e/libc_bind.sh.
 */
#include "wat.h"

#include "engine/libc_bind.h"

static zv_val_module *load(const uint8_t *b, size_t n)
{
    zv_val_module *m;
    zv_val_err err = {0};
    cr_assert_eq(zv_val_module_new(b, n, &m, &err), 0, "%s", err.msg);
    return m;
}

Test(libc_bind, the_reference_routines_are_recognised)
{
    FILE *f = fopen(ZVM_LIBC_REF, "rb");
    static uint8_t b[1 << 20];
    size_t n;
    cr_assert_not_null(f, "%s", ZVM_LIBC_REF);
    n = fread(b, 1, sizeof b, f);
    fclose(f);
    zv_val_module *m = load(b, n);
    cr_assert_eq(zv_eng_libc_n_refs, ZV_LIBC_COUNT - 1, "Debian's wasi-libc has all six");
    for (int k = 1; k < ZV_LIBC_COUNT; k++) {
        uint32_t i;
        for (i = 0; i < m->n_exports; i++)
            if (m->exports[i].name_len == strlen(zv_eng_libc_names[k]) &&
                !memcmp(m->exports[i].name, zv_eng_libc_names[k], m->exports[i].name_len))
                break;
        cr_assert_lt(i, m->n_exports, "%s exported", zv_eng_libc_names[k]);
        cr_expect_eq(zv_eng_libc_routine(m, m->exports[i].index), k, "%s",
                     zv_eng_libc_names[k]);
    }
    zv_val_module_free(m);
}

/* Each function of `wat` is no routine. */
static void none_of(const char *wat)
{
    size_t n;
    uint8_t *b = wat_to_wasm(wat, &n);
    zv_val_module *m = load(b, n);
    for (uint32_t fi = 0; fi < m->n_funcs; fi++)
        cr_expect_eq(zv_eng_libc_routine(m, fi), ZV_LIBC_NONE, "function %u", fi);
    zv_val_module_free(m);
    free(b);
}

Test(libc_bind, other_code_is_no_routine)
{
    none_of("(module (memory 1)"
            " (func (param i32 i32 i32) (result i32) local.get 0)"
            " (func (param i32) (result i32) local.get 0 i32.load8_u)"
            " (func (param i64 i32 i32) (result i32) i32.const 0))");
}

/* zv_eng_libc_hash of each defined function of `wat`, against `want`
 * (0: hashed, -1: cannot be a routine). */
static void hashes(const char *wat, const int *want)
{
    size_t n;
    uint8_t h[32], *b = wat_to_wasm(wat, &n);
    zv_val_module *m = load(b, n);
    for (uint32_t fi = m->n_imported_funcs, k = 0; fi < m->n_funcs; fi++, k++)
        cr_expect_eq(zv_eng_libc_hash(m, fi, h), want[k], "function %u", fi);
    zv_val_module_free(m);
    free(b);
}

Test(libc_bind, hostile_calls_end_the_hash)
{
    /* itself; a leaf; a call to a leaf (as memmove calls memcpy); a call to
     * one that calls; four calls; five calls; a call to an import */
    static const int want[] = {-1, 0, 0, -1, 0, -1, -1};
    hashes("(module (import \"env\" \"f\" (func $imp (param i32) (result i32))) (memory 1)"
           " (func $self (param i32 i32 i32) (result i32)"
           "   local.get 0 local.get 1 local.get 2 call $self)"
           " (func $leaf (param i32) (result i32) local.get 0)"
           " (func $mid (param i32) (result i32) local.get 0 call $leaf)"
           " (func (param i32 i32 i32) (result i32) local.get 0 call $mid)"
           " (func (param i32) (result i32) local.get 0 call $leaf call $leaf call $leaf"
           "   call $leaf)"
           " (func (param i32) (result i32) local.get 0 call $leaf call $leaf call $leaf"
           "   call $leaf call $leaf)"
           " (func (param i32) (result i32) local.get 0 call $imp))",
           want);
}

Test(libc_bind, a_big_body_is_not_hashed)
{
    static char wat[65536];
    static const int want[] = {0, -1};
    size_t at = (size_t)snprintf(wat, sizeof wat, "(module (memory 1)"
                                 " (func (param i32) (result i32) i32.const 1 drop local.get 0)"
                                 " (func (param i32) (result i32)");
    for (int i = 0; i < 1500; i++) /* 3 to 4 bytes each: over 4 KiB */
        at += (size_t)snprintf(wat + at, sizeof wat - at, " i32.const %d drop", 1000 + i);
    snprintf(wat + at, sizeof wat - at, " local.get 0))");
    hashes(wat, want);
}
