/*
 * test_loop.c — Criterion suite for engine/translate_loop.c: which loops
 * get a fast copy with 64-bit addresses, and the addresses it computes;
 * and for translate_dispatch.c: which br_tables become a table of label
 * addresses. What the copies and the tables answer is checked
 * by tests/wast/loops.wast and dispatch.wast (CTest wast_O2, wast_tcc).
 */
#include "wat.h"

#include "engine/internal.h"

/* The C of a module of one function, (func (param i32 i32 i32 i32) LOCALS
 * BODY), with one memory; the caller frees it. */
static char *translate_locals(const char *locals, const char *body)
{
    char wat[2048], *c = NULL;
    size_t n, c_len = 0;
    zv_val_module *m;
    zv_val_err err = {0};
    zv_eng_translate_opts opts = {0};
    snprintf(wat, sizeof wat,
             "(module (memory 1) (func (export \"f\") (param i32 i32 i32 i32) %s\n%s))",
             locals, body);
    uint8_t *b = wat_to_wasm(wat, &n);
    cr_assert_eq(zv_val_module_new(b, n, &m, &err), 0, "%s", err.msg);
    FILE *out = open_memstream(&c, &c_len);
    cr_assert_not_null(out);
    cr_assert_eq(zv_eng_translate(m, &opts, out), 0);
    fclose(out);
    zv_val_module_free(m);
    free(b);
    return c;
}

/* The fast copy's label, "\nF<label>_top:;", or NULL. */
static const char *copy_of(const char *c)
{
    for (const char *p = strstr(c, "\nF"); p; p = strstr(p + 1, "\nF")) {
        size_t digits = strspn(p + 2, "0123456789");
        if (digits && !strncmp(p + 2 + digits, "_top:;", 6))
            return p;
    }
    return NULL;
}

/* ... (local i32) BODY */
static char *translate(const char *body) { return translate_locals("(local i32)", body); }

static int copied(const char *c) { return copy_of(c) != NULL; }

/* dst + x := src + x * 2, x += 8 while x != bytes: params dst, src, x, bytes */
#define TAIL(cmp, bound)                                                                           \
    "(br_if 0 (" cmp " (local.tee 2 (i32.add (local.get 2) (i32.const 8))) " bound "))"
#define SCALE_BODY                                                                                 \
    "(f64.store (i32.add (local.get 0) (local.get 2))"                                             \
    "  (f64.mul (f64.load (i32.add (local.get 1) (local.get 2))) (f64.const 2)))"

Test(loop, a_counted_loop_is_copied_with_64_bit_addresses)
{
    char *c = translate("(loop " SCALE_BODY TAIL("i32.ne", "(local.get 3)") ")");
    cr_assert(copied(c), "%s", c);
    /* the addresses: base at entry + 8 per round */
    cr_assert_not_null(strstr(c, "= (uint64_t)(INT64_C(0) + (int64_t)L1 * 1 + (int64_t)L2 * 1);"),
                       "%s", c);
    cr_assert_not_null(strstr(c, "zv_op_f64_load_w(mem, B"), "%s", c);
    cr_assert_not_null(strstr(c, "zv_op_f64_store_w(mem, B"), "%s", c);
    cr_assert_not_null(strstr(c, " * 8u + 0u, 0u)"), "%s", c);
    /* the guard: the counter meets its bound, both lines in the memory */
    cr_assert_not_null(strstr(c, "((int64_t)L3 - (int64_t)L2) % 8 == 0"), "%s", c);
    cr_assert_not_null(strstr(c, "(int64_t)L1 * 1 + (int64_t)L2 * 1 + INT64_C(8) + INT64_C(8) * "
                                 "(N"), "%s", c);
    cr_assert_not_null(strstr(c, "!ctx->memory->jailed"), "%s", c);
    /* the original loop is still there, with its forced loads */
    cr_assert_not_null(strstr(c, "zv_op_f64_load(mem, "), "%s", c);
    free(c);
    c = translate("(loop " SCALE_BODY TAIL("i32.lt_u", "(i32.const 4096)") ")");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, "INT64_C(4096) + 8 <= INT64_C(4294967296)"), "%s", c);
    free(c);
}

Test(loop, the_shapes_of_the_back_edge)
{
    /* counted down to 0 */
    char *c = translate("(loop " SCALE_BODY
                        " (br_if 0 (local.tee 2 (i32.add (local.get 2) (i32.const -8)))))");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, "INT64_C(0) < (int64_t)L2 && ((int64_t)L2 - INT64_C(0)) % 8 == 0"),
                       "%s", c);
    cr_assert_not_null(strstr(c, " - J"), "a stride going down: %s", c);
    free(c);
    /* the bound first */
    c = translate("(loop " SCALE_BODY " (br_if 0 (i32.ne (local.get 3) (local.tee 2 (i32.add "
                  "(local.get 2) (i32.const 8))))))");
    cr_assert(copied(c), "%s", c);
    free(c);
    /* X - 8 > bound: the bound must keep X - 8 from wrapping */
    c = translate("(loop " SCALE_BODY " (br_if 0 (i32.gt_u (local.tee 2 (i32.add (local.get 2) "
                  "(i32.const -8))) (local.get 3))))");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, "(int64_t)L3 < (int64_t)L2 && (int64_t)L3 >= 7"), "%s", c);
    free(c);
}

Test(loop, pointers_that_step_each_round)
{
    /* *dst = *src; dst += 8; src += 8; n -= 1 */
    char *c = translate("(loop (f64.store (local.get 0) (f64.load (local.get 1)))"
                        " (local.set 0 (i32.add (local.get 0) (i32.const 8)))"
                        " (local.set 1 (i32.add (local.get 1) (i32.const 8)))"
                        " (br_if 0 (local.tee 2 (i32.add (local.get 2) (i32.const -1)))))");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, "= (uint64_t)(INT64_C(0) + (int64_t)L0 * 1);"), "%s", c);
    cr_assert_not_null(strstr(c, "= (uint64_t)(INT64_C(0) + (int64_t)L1 * 1);"), "%s", c);
    cr_assert_not_null(strstr(c, " * 8u + 0u, 0u)"), "%s", c);
    free(c);
    /* a pointer written twice is not one */
    c = translate("(loop (f64.store (local.get 0) (f64.const 0))"
                  " (local.set 0 (i32.add (local.get 0) (i32.const 8)))"
                  " (local.set 0 (i32.add (local.get 0) (i32.const 8)))"
                  " (br_if 0 (local.tee 2 (i32.add (local.get 2) (i32.const -1)))))");
    cr_assert(!copied(c), "%s", c);
    free(c);
}

Test(loop, scaled_and_offset_addresses)
{
    /* p = dst + (x << 3); store at p - 8; load at src + x * 8 + 16 */
    char *c = translate("(loop"
                        " (local.set 4 (i32.add (local.get 0) (i32.shl (local.get 2) (i32.const 3))))"
                        " (i32.store (i32.sub (local.get 4) (i32.const 8))"
                        "   (i32.load offset=16 (i32.add (local.get 1) (i32.mul (local.get 2) "
                        "(i32.const 8)))))" TAIL("i32.ne", "(local.get 3)") ")");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, " * 64u - 8u, "), "the store: %s", c);
    cr_assert_not_null(strstr(c, " * 64u + 0u, 16u)"), "the load: %s", c);
    /* the lowest address may not be below 0: k = -8 for the store */
    cr_assert_not_null(strstr(c, "(int64_t)L0 * 1 + (int64_t)L2 * 8 + INT64_C(-8) >= 0"), "%s", c);
    free(c);
}

Test(loop, an_unknown_address_keeps_its_forced_load)
{
    /* the load's address comes from memory: only the store is known */
    char *c = translate("(loop (i32.store (i32.add (local.get 0) (local.get 2))"
                        "  (i32.load (i32.load (i32.add (local.get 1) (local.get 2)))))" TAIL(
                            "i32.ne", "(local.get 3)") ")");
    cr_assert(copied(c), "%s", c);
    cr_assert_not_null(strstr(c, "zv_op_i32_load_w(mem, B"), "%s", c);
    /* the outer load's address is a loaded value: the forced form, but
     * through the base the copy holds (rt_ops.h _b), not GS; the loop
     * itself after the copy keeps the plain form */
    const char *copy = copy_of(c), *loop = strstr(copy, "_top:;\n");
    cr_assert_not_null(loop = loop ? strstr(loop + 1, "_top:;\n") : NULL, "%s", c);
    cr_assert_not_null(strstr(copy, "zv_op_i32_load_b(mem, "), "%s", c);
    cr_assert(strstr(copy, "zv_op_i32_load_b(mem, ") < loop, "%s", c);
    cr_assert_null(strstr(loop, "_b(mem, "), "%s", loop);
    cr_assert_not_null(strstr(loop, "zv_op_i32_load(mem, "), "%s", loop);
    free(c);
}

Test(loop, other_loops_are_left_alone)
{
    static const char *const bodies[] = {
        /* a call in the body */
        "(loop (call 0 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) " SCALE_BODY
        TAIL("i32.ne", "(local.get 3)") ")",
        /* the counter written in the body too */
        "(loop " SCALE_BODY " (local.set 2 (i32.const 0))" TAIL("i32.ne", "(local.get 3)") ")",
        /* the bound written in the body */
        "(loop " SCALE_BODY " (local.set 3 (i32.const 0))" TAIL("i32.ne", "(local.get 3)") ")",
        /* a signed comparison */
        "(loop " SCALE_BODY TAIL("i32.lt_s", "(local.get 3)") ")",
        /* a branch before the tail */
        "(loop (br_if 0 (local.get 0)) " SCALE_BODY TAIL("i32.ne", "(local.get 3)") ")",
        /* a nested block */
        "(loop (block " SCALE_BODY ")" TAIL("i32.ne", "(local.get 3)") ")",
        /* memory.grow */
        "(loop (drop (memory.grow (i32.const 0))) " SCALE_BODY TAIL("i32.ne", "(local.get 3)") ")",
        /* no address is known: dst and src masked */
        "(loop (f64.store (i32.and (local.get 0) (local.get 2)) (f64.load (i32.and (local.get 1) "
        "(local.get 2))))" TAIL("i32.ne", "(local.get 3)") ")",
        /* four locals in one address */
        "(loop (f64.store (i32.add (i32.add (local.get 0) (local.get 1)) (i32.add (local.get 3) "
        "(local.get 2))) (f64.const 0))" TAIL("i32.ne", "(local.get 3)") ")",
        /* counted up to 0 (it must wrap) */
        "(loop " SCALE_BODY " (br_if 0 (local.tee 2 (i32.add (local.get 2) (i32.const 8)))))",
        /* lt_u on a counter going down */
        "(loop " SCALE_BODY " (br_if 0 (i32.lt_u (local.tee 2 (i32.add (local.get 2) "
        "(i32.const -8))) (local.get 3))))",
        /* a local read before the body writes it: last round's value */
        "(loop (f64.store (local.get 4) (f64.const 0)) (local.set 4 (i32.add (local.get 0) "
        "(local.get 2)))" TAIL("i32.ne", "(local.get 3)") ")",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        char *c = translate(bodies[i]);
        cr_assert(!copied(c), "case %zu was copied:\n%s", i, c);
        free(c);
    }
}

/* A dispatch loop (translate_dispatch.c) of n targets: blocks
 * whose handlers go back to the loop, the loop itself (without `valued`)
 * and the default, out of it; PREFIX computes the index. With `valued`,
 * every target carries an i32. */
static char *dispatch(unsigned n, const char *prefix, int valued)
{
    const char *r = valued ? " (result i32)" : "";
    unsigned blocks = valued ? n - 1 : n - 2;
    char body[4096];
    size_t k = (size_t)snprintf(body, sizeof body, "(block $out%s (loop $top", r);
    for (unsigned i = 0; i < blocks; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, " (block $h%u%s", i, r);
    k += (size_t)snprintf(body + k, sizeof body - k, " %s %s (br_table",
                          valued ? "(local.get 1)" : "", prefix);
    for (unsigned i = 0; i < blocks; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, " $h%u", i);
    k += (size_t)snprintf(body + k, sizeof body - k, "%s $out)", valued ? "" : " $top");
    for (unsigned i = 0; i < blocks; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, ")%s (local.set 1 (i32.const %u)) (br $top)",
                              valued ? " (drop)" : "", i);
    snprintf(body + k, sizeof body - k, ")%s)%s", r[0] ? " (i32.const 0)" : "",
             valued ? " (drop)" : "");
    return translate(body);
}

static int jumps_through_table(const char *c)
{
    return strstr(c, "goto *D") && !strstr(c, "switch (");
}

Test(loop, a_dispatch_loop_jumps_through_a_table_of_labels)
{
    char *c = dispatch(12, "(i32.add (local.get 0) (i32.const -1))", 0);
    cr_assert(jumps_through_table(c), "%s", c);
    /* the index clamped to the default's entry, the loop's own label in */
    cr_assert_not_null(strstr(c, " < 11u ? (uint32_t)"), "%s", c);
    cr_assert_not_null(strstr(c, "_top, &&L"), "%s", c);
    free(c);
    c = dispatch(9, "(local.get 0)", 0); /* the fewest: 8 labels and the default */
    cr_assert(jumps_through_table(c), "%s", c);
    free(c);
    /* (x & 15) - 1: 16 entries indexed by x & 15, the first the default's (fold) */
    c = dispatch(12, "(i32.add (i32.and (local.get 0) (i32.const 15)) (i32.const -1))", 0);
    cr_assert(jumps_through_table(c), "%s", c);
    cr_assert_not_null(strstr(c, " & 15u];"), "%s", c);
    cr_assert_null(strstr(c, "4294967295u"), "%s", c);
    cr_assert_not_null(strstr(c, "[] = {\n    &&L1_end, &&L3_end,"), "%s", c);
    free(c);
    /* an index loaded from a table in memory: by x & 7 to the entry the initial
     * word names (no data: 0, the default's), checked against the word loaded */
    c = dispatch(12, "(i32.add (i32.load (i32.add (i32.shl (i32.and (local.get 0) (i32.const 7))"
                     " (i32.const 2)) (i32.const 64))) (i32.const -2))", 0);
    cr_assert_not_null(strstr(c, "s_ = i0 & 7u, v_ = zv_op_i32_load(mem, (s_ << 2) + 64u, 0u);"), "%s",
                       c);
    cr_assert_not_null(strstr(c, "if (ZV_UNLIKELY(v_ != V"), "%s", c);
    cr_assert_not_null(strstr(c, "[] = {\n    0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u};"), "%s", c);
    cr_assert_not_null(strstr(c, "goto *E"), "%s", c);
    free(c);
    /* a byte - 1: 256 entries indexed by it, those past the br_table's the default's */
    c = dispatch(12, "(i32.add (i32.load8_u (local.get 0)) (i32.const -1))", 0);
    cr_assert_not_null(strstr(c, " & 255u];"), "%s", c);
    cr_assert_not_null(strstr(c, "&&L1_end, &&L1_end};"), "%s", c);
    free(c);
}

Test(loop, other_br_tables_stay_a_switch)
{
    static const struct {
        unsigned n;
        const char *prefix;
        int valued;
    } cases[] = {
        {8, "(local.get 0)", 0},                              /* too few targets */
        {12, "(local.get 0)", 1},                             /* targets that carry a value */
        {12, "(i32.add (memory.size) (local.get 0))", 0},     /* not a value instruction */
        {12, "(call 0 (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)) (local.get 0)", 0},
        {12, "(i32.store (local.get 0) (i32.const 0)) (local.get 0)", 0}, /* a store */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *c = dispatch(cases[i].n, cases[i].prefix, cases[i].valued);
        cr_assert(!strstr(c, "goto *"), "case %zu:\n%s", i, c);
        cr_assert_not_null(strstr(c, "switch ("), "case %zu:\n%s", i, c);
        free(c);
    }
}

/* The sets a dispatch's first text does (translate_dispatch.c: constants
 * and copies whose locals nothing later in the text reads or writes, and
 * whose source nothing later writes) are done by each target's entry
 * T<loop>_<target> instead; the others stay before the table (what the
 * answers are: tests/wast/dispatch.wast "run", "run_try"). */
Test(loop, a_dispatch_moves_its_sets_to_its_targets)
{
    char *c = dispatch(12, "(local.set 2 (i32.const 5)) (local.set 3 (local.tee 4 (local.get 0)))"
                           " (local.get 0)", 0);
    const char *top = strstr(c, "_top:;"), *table = strstr(c, "goto *D"), *entry = strstr(c, "\n  T");
    cr_assert(top && table && entry && table < entry, "%s", c);
    cr_assert(!memmem(top, (size_t)(table - top), "  L2 = ", 7), "%s", c);
    cr_assert(!memmem(top, (size_t)(table - top), "  L4 = ", 7), "%s", c);
    cr_assert_not_null(strstr(entry, "L2 = 5u;\n  L4 = L0;\n  L3 = L0;\n  goto L"), "%s", c);
    cr_assert_not_null(strstr(c, "[] = {\n    &&T"), "%s", c);
    free(c);
    static const char *const stay[] = {
        "(local.set 2 (i32.const 5)) (local.get 2)",                      /* read later */
        "(local.set 2 (i32.const 5)) (local.set 2 (i32.add (local.get 0) (local.get 1)))"
        " (local.get 1)", /* written later */
        "(local.set 3 (local.get 0)) (local.set 0 (i32.add (local.get 0) (i32.const 1)))"
        " (local.get 1)", /* its source written later */
        "(local.set 3 (i32.add (local.get 0) (i32.const 1))) (local.get 1)",     /* not a copy */
    };
    for (size_t i = 0; i < sizeof stay / sizeof *stay; i++) {
        c = dispatch(12, stay[i], 0);
        cr_assert(jumps_through_table(c), "case %zu:\n%s", i, c);
        cr_assert_null(strstr(c, "\n  T"), "case %zu:\n%s", i, c);
        free(c);
    }
}

/* An accumulator that starts at a constant (clang's `double s = 0` before
 * a loop) holds raw floats (translate.c locals_of): its set in the loop
 * has no NaN check; one that a payload NaN constant sets keeps the check
 * (what the results are: tests/wast/nans.wast "acc", "payload"). */
Test(loop, an_accumulator_started_at_a_constant_needs_no_nan_check)
{
    static const char *const body =
        "(local.set 5 (f64.const %s))"
        "(loop (local.set 5 (f64.add (local.get 5) (f64.load (local.get 0))))"
        "  (br_if 0 (local.tee 1 (i32.sub (local.get 1) (i32.const 1)))))"
        "(f64.store (local.get 2) (local.get 5))";
    char b[512], *c;
    const char *top;
    snprintf(b, sizeof b, body, "0");
    c = translate_locals("(local i32 f64)", b);
    cr_assert_not_null(top = strstr(c, "_top:;"), "%s", c);
    cr_assert_null(strstr(top, "canon(d0);\n  L5 = d0;"), "%s", top);
    cr_assert_not_null(strstr(top, "zv_f64_canon("), "the store checks: %s", top);
    free(c);
    snprintf(b, sizeof b, body, "nan:0x4");
    c = translate_locals("(local i32 f64)", b);
    cr_assert_not_null(top = strstr(c, "_top:;"), "%s", c);
    cr_assert_not_null(strstr(top, "canon(d0);\n  L5 = d0;"), "%s", top);
    free(c);
    /* the same local later holding a loaded value (translate_raw.c): that
     * web is exact, the accumulator's stays raw */
    snprintf(b, sizeof b, body, "0");
    strcat(b, "(local.set 5 (f64.load (local.get 3))) (f64.store (local.get 2) (local.get 5))");
    c = translate_locals("(local i32 f64)", b);
    cr_assert_not_null(top = strstr(c, "_top:;"), "%s", c);
    cr_assert_null(strstr(top, "canon(d0);\n  L5 = d0;"), "%s", top);
    free(c);
}

/* Appends v as an unsigned LEB128 to b at *n. */
static void leb(uint8_t *b, size_t *n, uint32_t v)
{
    do {
        b[(*n)++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

/* A hostile dispatch: 20,000 nested blocks, a set to move and a br_table
 * over all of them. Its translation is linear in the targets (a quadratic
 * table and a cubic search for the targets' entries took over 300 s on
 * such a 255 KB module); Criterion's timeout fails a return of that. */
Test(loop, a_dispatch_of_many_targets_translates_in_linear_time, .timeout = 60)
{
    enum { N = 20000 };
    size_t cap = 16 * N + 256, n = 0, c_len = 0;
    uint8_t *b = malloc(cap), *body = malloc(cap);
    size_t m = 0;
    char *c = NULL;
    zv_val_module *mod;
    zv_val_err err = {0};
    zv_eng_translate_opts opts = {0};
    cr_assert(b && body);
    body[m++] = 1, body[m++] = 1, body[m++] = 0x7f; /* (local i32) */
    body[m++] = 0x03, body[m++] = 0x40;               /* loop */
    for (uint32_t k = 0; k < N; k++)
        body[m++] = 0x02, body[m++] = 0x40; /* block */
    body[m++] = 0x41, body[m++] = 1, body[m++] = 0x21, body[m++] = 1; /* local.set 1 (i32.const 1) */
    body[m++] = 0x20, body[m++] = 0, body[m++] = 0x0e;                 /* local.get 0; br_table */
    leb(body, &m, N);
    for (uint32_t k = 0; k <= N; k++)
        leb(body, &m, k); /* the blocks, innermost first; the default: the loop */
    for (uint32_t k = 0; k < N; k++) { /* end; return L1 + 1 */
        body[m++] = 0x0b, body[m++] = 0x20, body[m++] = 1, body[m++] = 0x41, body[m++] = 1;
        body[m++] = 0x6a, body[m++] = 0x0f;
    }
    body[m++] = 0x0b, body[m++] = 0x41, body[m++] = 0, body[m++] = 0x0b; /* end loop; 0; end */
    static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 6, 1, 0x60, 1, 0x7f, 1, 0x7f,
                                   3, 2, 1, 0, 10};
    uint8_t *sec = malloc(cap);
    size_t k = 0;
    cr_assert_not_null(sec);
    sec[k++] = 1; /* one body */
    leb(sec, &k, (uint32_t)m);
    memcpy(sec + k, body, m);
    k += m;
    memcpy(b, head, sizeof head);
    n = sizeof head;
    leb(b, &n, (uint32_t)k);
    memcpy(b + n, sec, k);
    n += k;
    free(sec);
    cr_assert_eq(zv_val_module_new(b, n, &mod, &err), 0, "%s", err.msg);
    FILE *out = open_memstream(&c, &c_len);
    cr_assert_not_null(out);
    cr_assert_eq(zv_eng_translate(mod, &opts, out), 0);
    fclose(out);
    cr_assert(jumps_through_table(c));
    cr_assert_not_null(strstr(c, "L1 = 1u;\n  goto L"));
    free(c);
    zv_val_module_free(mod);
    free(body);
    free(b);
}
