/*
 * test_remat.c — Criterion suite for engine/translate_remat.c: which
 * locals each local.get computes again (set once in the entry's
 * straight-line code from cheap integer instructions over constants and
 * parameters the function never sets, and not read before), the ones
 * that must not be (a set parameter, two sets, a read first, a set after
 * a block, a load, a division, a multiplication, a global, a float, a
 * side effect inside the expression, a tee, too many instructions), and
 * that code using such locals computes what it did, in a loop's fast copy
 * and in a catch too.
 */
#include "wat.h"

#include "engine/translate_private.h"

#define I ZV_I32

/* Whether each local of the module's only function, whose local types
 * are `types` (params first, n_params of them), is computed again:
 * want[x] is 1 where it must be. */
static void expect(const char *wat, const uint8_t *types, uint32_t n_locals, uint32_t n_params,
                   const int *want)
{
    size_t n;
    zv_val_err err = {0};
    zv_val_module *m;
    uint8_t *b = wat_to_wasm(wat, &n);
    tr t;
    cr_assert_eq(zv_val_module_new(b, n, &m, &err), 0, "%s", err.msg);
    const zv_val_func *f = &m->funcs[m->n_funcs - 1];
    memset(&t, 0, sizeof t);
    t.m = m;
    t.locals = (uint8_t *)types;
    t.n_locals = n_locals;
    cr_assert_eq(zv_eng_tr_remat_scan(&t, m->bytes + f->code_offset, m->bytes + f->code_end,
                                      n_params),
                 0);
    for (uint32_t x = 0; x < n_locals; x++) {
        cr_assert_eq(t.remat_from[x] != NULL, want[x] != 0, "local %u: %s", x,
                     want[x] ? "should be computed again" : "must be kept");
        cr_assert_eq(t.remat_to[x] != NULL, want[x] != 0, "local %u's end", x);
    }
    free(t.remat_from);
    free(t.remat_to);
    zv_val_module_free(m);
    free(b);
}

/* CPython's sre_ucs1_charset in small: values of the character hoisted
 * before the loop, after clang's frame set-up and a call */
#define CHARSET                                                                                    \
    "(module (global $sp (mut i32) (i32.const 1024)) (memory 1)"                                 \
    " (func $g (param i32) (result i32) (local.get 0))"                                           \
    " (func (export \"f\") (param i32 i32) (result i32) (local i32 i32 i32 i32 i32)"              \
    "  (global.set $sp (local.tee 2 (i32.sub (global.get $sp) (i32.const 16))))"                 \
    "  (drop (call $g (local.get 0)))"                                                            \
    "  (local.set 3 (i32.shl (i32.const 1) (local.get 1)))"                                       \
    "  (local.set 4 (i32.shl (i32.shr_u (local.get 1) (i32.const 5)) (i32.const 2)))"             \
    "  (local.set 5 (i32.gt_u (local.get 1) (i32.const 255)))"                                    \
    "  (local.set 6 (i32.const 7))"                                                               \
    "  (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))"                              \
    "   (br_if $l (i32.and (i32.and (local.get 3) (local.get 4)) (local.get 5))))"               \
    "  (i32.add (i32.add (local.get 3) (local.get 4)) (i32.add (local.get 5) (local.get 6))))"   \
    " )"

Test(remat, the_invariants_set_at_entry_are_computed_where_used)
{
    const uint8_t types[7] = {I, I, I, I, I, I, I};
    const int want[7] = {0, 0, 0, 1, 1, 1, 1}; /* 2 is the tee; 0 is set in the loop */
    expect(CHARSET, types, 7, 2, want);
}

Test(remat, locals_that_must_be_kept)
{
    const uint8_t types[8] = {I, I, I, I, I, I, I, I};
    const int want[8] = {0};
    expect("(module (global $g (mut i32) (i32.const 0)) (memory 1)"
           " (func (param i32 i32) (local i32 i32 i32 i32 i32 i32)"
           /* 2: over parameter 1, which the function sets later */
           "  (local.set 2 (i32.add (local.get 1) (i32.const 1)))"
           /* 3: set twice */
           "  (local.set 3 (i32.const 1)) (local.set 3 (i32.const 2))"
           /* 4: read before its set */
           "  (drop (local.get 4)) (local.set 4 (i32.const 3))"
           /* 5: a load; 6: a division; 7: a global */
           "  (local.set 5 (i32.load (local.get 0)))"
           "  (local.set 6 (i32.div_u (local.get 0) (i32.const 3)))"
           "  (local.set 7 (i32.add (global.get $g) (local.get 0)))"
           "  (local.set 1 (i32.const 0))"
           "  (drop (i32.add (local.get 2) (local.get 3)))"
           "  (drop (i32.add (local.get 4) (local.get 5)))"
           "  (drop (i32.add (local.get 6) (local.get 7)))))",
           types, 8, 2, want);
}

Test(remat, a_side_effect_inside_the_value_keeps_it)
{
    const uint8_t types[6] = {I, I, I, I, I, I};
    const int want[6] = {0, 0, 0, 0, 0, 1};
    expect("(module (global $g (mut i32) (i32.const 0)) (func $h)"
           " (func (param i32 i32) (local i32 i32 i32 i32)"
           /* 2: a global.set between its operands; 3: a call between them */
           "  local.get 1 (global.set $g (i32.const 5)) i32.const 8 i32.shr_u local.set 2"
           "  local.get 1 call $h i32.const 8 i32.shr_u local.set 3"
           /* 4: a multiplication (kept where it was computed) */
           "  (local.set 4 (i32.mul (local.get 1) (i32.const 3)))"
           /* 5: fine, and 64-bit */
           "  (local.set 5 (i32.wrap_i64 (i64.shl (i64.extend_i32_u (local.get 1)) (i64.const 3))))"
           "  (drop (i32.add (i32.add (local.get 2) (local.get 3))"
           "   (i32.add (local.get 4) (local.get 5))))))",
           types, 6, 2, want);
}

Test(remat, only_the_straight_line_entry_and_short_values)
{
    const uint8_t types[6] = {I, I, I, I, I, ZV_F32};
    const int want[6] = {0, 0, 0, 0, 0, 0};
    expect("(module (func (param i32 i32) (local i32 i32 i32 f32)"
           /* 2: a tee is its only set */
           "  (drop (local.tee 2 (i32.const 1)))"
           /* 3: nine instructions */
           "  (local.set 3 (i32.add (i32.add (i32.add (local.get 0) (i32.const 1))"
           "   (i32.add (local.get 0) (i32.const 2))) (i32.const 3)))"
           /* 5: a float */
           "  (local.set 5 (f32.convert_i32_u (local.get 0)))"
           /* 4: after a block */
           "  (block (br_if 0 (local.get 0)))"
           "  (local.set 4 (i32.const 4))"
           "  (drop (i32.add (i32.add (local.get 2) (local.get 3)) (local.get 4)))))",
           types, 6, 2, want);
}

/* Export f of a new instance of `wat` called with (a, b): its result. */
static uint32_t run(const char *wat, uint32_t a, uint32_t b)
{
    zv_eng_module *mod = wat_load(wat);
    zv_eng_instance *inst;
    zv_eng_err err = {0};
    zv_eng_extern ext;
    zv_value args[2] = {{.i32 = a}, {.i32 = b}}, res[1];
    uint32_t type;
    cr_assert_eq(zv_eng_instance_new(mod, NULL, NULL, NULL, NULL, &inst, &err), 0, "%s", err.msg);
    cr_assert_eq(zv_eng_instance_export(inst, "f", 1, &ext, &type), 0);
    cr_assert_eq(zv_eng_call(inst, ext.func, type, args, res, &err), 0, "%s", err.msg);
    zv_eng_instance_free(inst);
    zv_eng_module_free(mod);
    return res[0].i32;
}

/* The code computes what it did before: the loop and the result use the
 * locals computed again (run through the cache's -O2 build). */
Test(remat, code_using_them_computes_the_same)
{
    for (uint32_t ch = 0; ch < 600; ch += 37) {
        uint32_t want = (1u << (ch & 31)) + ((ch >> 5) << 2) + (ch > 255) + 7;
        uint32_t got = run(CHARSET, 5, ch);
        cr_assert_eq(got, want, "ch %u: %u, not %u", ch, got, want);
    }
}

/* ... in a counted byte loop (it gets a fast copy, translate_loop.c), a
 * second loop and a catch: mem[i] += 2k + 3 for i < n (n > 0), then the
 * sum of the bytes plus what the catch adds (2k + 3 twice) */
Test(remat, in_a_fast_copy_and_a_catch)
{
    const char *wat =
        "(module (memory 1) (tag $e (param i32))"
        " (func (export \"f\") (param $n i32) (param $k i32) (result i32)"
        "  (local $inv i32) (local $i i32) (local $s i32)"
        "  (local.set $inv (i32.add (i32.shl (local.get $k) (i32.const 1)) (i32.const 3)))"
        "  (loop $l"
        "   (i32.store8 (local.get $i) (i32.add (i32.load8_u (local.get $i)) (local.get $inv)))"
        "   (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))"
        "    (local.get $n))))"
        "  (local.set $i (i32.const 0))"
        "  (block $out (loop $l (br_if $out (i32.ge_u (local.get $i) (local.get $n)))"
        "   (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))"
        "   (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))"
        "  (i32.add (local.get $s) (try (result i32) (do (throw $e (local.get $inv)))"
        "   (catch $e (i32.add (local.get $inv)))))))";
    for (uint32_t k = 0; k < 200; k += 23) {
        uint32_t inv = 2 * k + 3, want = 1000 * (inv & 255) + 2 * inv, got = run(wat, 1000, k);
        cr_assert_eq(got, want, "k %u: %u, not %u", k, got, want);
    }
}
