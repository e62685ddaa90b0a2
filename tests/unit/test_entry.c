/*
 * test_entry.c — Criterion suite for engine/translate_entry.c: which
 * functions go without an entry check (on no cycle of calls, entered by
 * direct calls only, no import call, try or throw, a chain below
 * LIGHT_MAX) and how much the checks above them add. That a recursion through unchecked
 * helpers calling the host still ends as "call stack exhausted" is
 * tests/e2e/run.sh's (hostile.wasm recurse-io).
 */
#include "wat.h"

#include "engine/translate_private.h"

/* The plan of a module; its functions' indices are the defined ones. */
static uint32_t *plan_of(const char *wat, zv_val_module **m_out, uint8_t **bytes)
{
    size_t n;
    zv_val_err err = {0};
    uint32_t *plan = NULL;
    *bytes = wat_to_wasm(wat, &n);
    cr_assert_eq(zv_val_module_new(*bytes, n, m_out, &err), 0, "%s", err.msg);
    cr_assert_eq(zv_eng_tr_entry_plan(*m_out, &plan), 0);
    cr_assert_not_null(plan);
    return plan;
}

#define LEAF "(func $leaf (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))"
#define MID  "(func $mid (param i32) (result i32) (call $leaf (local.get 0)))"

Test(entry, functions_on_no_cycle_and_entered_directly_go_unchecked)
{
    zv_val_module *m;
    uint8_t *b;
    uint32_t *plan =
        plan_of("(module (import \"env\" \"f\" (func $imp))"
                "  (table 1 funcref) (elem (i32.const 0) $in_table)"
                "  " LEAF "\n  " MID "  (func $rec (param i32) (result i32)"
                "    (if (result i32) (local.get 0)"
                "      (then (call $rec (i32.sub (local.get 0) (i32.const 1))))"
                "      (else (call $mid (i32.const 0)))))"
                "  (func $a (call $b)) (func $b (call $a))"
                "  (func $in_table (param i32) (result i32) (local.get 0))"
                "  (func (export \"main\") (result i32) (call $imp) (call $rec (i32.const 3)))"
                "  (func $calls_table (result i32) (call_indirect (param i32) (result i32)"
                "    (i32.const 1) (i32.const 0))))",
                &m, &b);
    uint32_t base = m->n_imported_funcs;
    uint64_t leaf = zv_eng_tr_entry_frame_bound(m, base + 0);
    uint64_t mid = zv_eng_tr_entry_frame_bound(m, base + 1);
    cr_assert_eq(plan[0], ZV_ENTRY_UNCHECKED, "a leaf");
    cr_assert_eq(plan[1], ZV_ENTRY_UNCHECKED, "a function calling only a leaf");
    cr_assert_eq(plan[2], mid + leaf, "a recursive function's check adds the chain below it: %u",
                 plan[2]);
    cr_assert_eq(plan[3], 0, "on a cycle");
    cr_assert_eq(plan[4], 0, "on a cycle");
    cr_assert_eq(plan[5], 0, "in a table");
    cr_assert_eq(plan[6], 0, "exported: checks, and calls only checked functions");
    cr_assert_eq(plan[7], ZV_ENTRY_UNCHECKED, "an indirect call goes to a function that checks");
    free(plan);
    zv_val_module_free(m);
    free(b);
}

Test(entry, the_start_a_global_funcref_and_ref_func_check)
{
    zv_val_module *m;
    uint8_t *b;
    uint32_t *plan = plan_of("(module (table 1 funcref)"
                             "  (func $s) (func $g) (func $r) (func $plain)"
                             "  (global funcref (ref.func $g))"
                             "  (elem declare func $r)"
                             "  (func (export \"x\") (drop (ref.func $r)) (call $plain))"
                             "  (start $s))",
                             &m, &b);
    cr_assert_eq(plan[0], 0, "the start");
    cr_assert_eq(plan[1], 0, "a global's funcref");
    cr_assert_eq(plan[2], 0, "declared for ref.func");
    cr_assert_eq(plan[3], ZV_ENTRY_UNCHECKED);
    cr_assert_eq(plan[4], zv_eng_tr_entry_frame_bound(m, 3));
    free(plan);
    zv_val_module_free(m);
    free(b);
}

Test(entry, imports_try_throw_and_passive_segments_check)
{
    zv_val_module *m;
    uint8_t *b;
    uint32_t *plan = plan_of("(module (import \"env\" \"f\" (func $imp)) (tag $t)"
                             "  (func $calls_import (call $imp))"
                             "  (func $with_try (try (do nop) (catch $t)))"
                             "  (func $throws (throw $t))"
                             "  (func $wraps (call $calls_import))"
                             "  (func (export \"e\") (call $wraps))"
                             "  (func $passive) (elem func $passive))",
                             &m, &b);
    uint32_t base = m->n_imported_funcs;
    cr_assert_eq(plan[0], 0, "a host call's caller polls, as before");
    cr_assert_eq(plan[1], 0, "a try");
    cr_assert_eq(plan[2], 0, "a throw");
    cr_assert_eq(plan[3], ZV_ENTRY_UNCHECKED);
    cr_assert_eq(plan[4],
                 zv_eng_tr_entry_frame_bound(m, base + 3) +
                     zv_eng_tr_entry_frame_bound(m, base + 0),
                 "a light function counts a checked callee's frame (gcc may inline it)");
    cr_assert_eq(plan[5], 0, "in a passive segment");
    free(plan);
    zv_val_module_free(m);
    free(b);
}

Test(entry, a_chain_past_the_most_makes_its_head_check)
{
    /* 490 locals: $big alone and with $small within the most, $above
     * past it (the preconditions say so, whatever the bound's formula) */
    char wat[4096];
    int k = snprintf(wat, sizeof wat, "(module (func $big (local");
    for (int i = 0; i < 490; i++)
        k += snprintf(wat + k, sizeof wat - (size_t)k, " v128");
    snprintf(
        wat + k, sizeof wat - (size_t)k,
        "))\n (func $small (call $big)) (func $above (call $small)) (func $top (call $above)))");
    zv_val_module *m;
    uint8_t *b;
    uint32_t *plan = plan_of(wat, &m, &b);
    uint64_t big = zv_eng_tr_entry_frame_bound(m, 0), small = zv_eng_tr_entry_frame_bound(m, 1);
    cr_assert_leq(big + small, ZV_ENTRY_LIGHT_MAX);
    cr_assert_gt(big + small + zv_eng_tr_entry_frame_bound(m, 2), ZV_ENTRY_LIGHT_MAX);
    cr_assert_eq(plan[0], ZV_ENTRY_UNCHECKED);
    cr_assert_eq(plan[1], ZV_ENTRY_UNCHECKED);
    cr_assert_eq(plan[2], big + small, "the head of a chain past the most checks for it");
    cr_assert_eq(plan[3], ZV_ENTRY_UNCHECKED, "above a head that checks, a chain begins again");
    free(plan);
    zv_val_module_free(m);
    free(b);
}

Test(entry, the_translation_checks_where_the_plan_says)
{
    size_t n, c_len = 0;
    char *c = NULL;
    zv_val_err err = {0};
    zv_val_module *m;
    zv_eng_translate_opts opts = {0};
    uint8_t *b =
        wat_to_wasm("(module " LEAF " " MID " (func (export \"f\") (param i32) (result i32)"
                    "   (call $mid (local.get 0))))",
                    &n);
    cr_assert_eq(zv_val_module_new(b, n, &m, &err), 0, "%s", err.msg);
    FILE *out = open_memstream(&c, &c_len);
    cr_assert_eq(zv_eng_translate(m, &opts, out), 0);
    fclose(out);
    const char *f0 = strstr(c, "wf0(zv_ctx *ctx, uint32_t L0) {"), *f1, *f2;
    cr_assert_not_null(f0);
    f1 = strstr(f0, "wf1(zv_ctx *ctx, uint32_t L0) {");
    f2 = f1 ? strstr(f1, "wf2(zv_ctx *ctx, uint32_t L0) {") : NULL;
    cr_assert(f1 && f2);
    cr_assert_gt(strstr(f0, "ZV_ENTER"), f2, "neither the leaf nor its caller checks");
    /* the calls of a function that checks are no tail calls; the others' may be */
    const char *no_tail = strstr(f0, "ZV_NO_TAIL()");
    cr_assert(no_tail && no_tail > f2, "only the export's call keeps its frame");
    unsigned long long bound = 0;
    const char *e = strstr(f2, "ZV_ENTER(ctx, ");
    cr_assert(e && sscanf(e, "ZV_ENTER(ctx, %llu)", &bound) == 1, "the export checks");
    cr_assert_geq(bound,
                  zv_eng_tr_entry_frame_bound(m, 0) + zv_eng_tr_entry_frame_bound(m, 1) + 256);
    free(c);
    zv_val_module_free(m);
    free(b);
}

Test(entry, a_split_build_shares_only_what_another_unit_names)
{
    zv_val_module *m;
    uint8_t *b;
    uint32_t *plan = plan_of("(module (import \"env\" \"f\" (func $imp))"
                             "  (table 1 funcref) (elem (i32.const 0) $in_table)"
                             "  " LEAF "\n  " MID
                             "  (func $in_table (param i32) (result i32) (local.get 0))"
                             "  (func $start) (start $start)"
                             "  (func $main (export \"main\") (result i32)"
                             "    (call $imp) (call $mid (i32.const 1)))"
                             "  (func $last_leaf (param i32) (result i32) (local.get 0))"
                             "  (func (export \"last\") (result i32) (call $last_leaf (i32.const 2))))",
                             &m, &b);
    uint32_t base = m->n_imported_funcs;
    /* unit 0: leaf mid in_table start; unit 1: main last_leaf last */
    uint32_t first[] = {base, base + 4, base + 7};
    uint8_t *shared = NULL;
    cr_assert_eq(zv_eng_tr_shared(m, first, 2, &shared), 0);
    cr_assert_not_null(shared);
    cr_assert_eq(shared[0], 0, "called from its own unit only");
    cr_assert_eq(shared[1], 1, "called from the other unit");
    cr_assert_eq(shared[2], 1, "in a table, which the last unit's descriptor names");
    cr_assert_eq(shared[3], 1, "the start, which the descriptor names");
    cr_assert_eq(shared[4], 0, "exported, but the descriptor is in its own unit");
    cr_assert_eq(shared[5], 0, "called from its own unit only");
    cr_assert_eq(shared[6], 0, "exported from the last unit");
    free(shared);

    /* the descriptor names only funcrefs and the start */
    size_t c_len = 0;
    char *c = NULL;
    zv_eng_translate_opts opts = {0};
    FILE *out = open_memstream(&c, &c_len);
    cr_assert_eq(zv_eng_translate(m, &opts, out), 0);
    fclose(out);
    char want[128];
    snprintf(want, sizeof want, "zv_funcs[] = {0, 0, (void *)wf%u, (void *)wf%u, (void *)wf%u, 0, "
             "(void *)wf%u, 0};", base + 2, base + 3, base + 4, base + 6);
    cr_assert_not_null(strstr(c, want), "%s", want);
    free(c);
    free(plan);
    zv_val_module_free(m);
    free(b);
}
