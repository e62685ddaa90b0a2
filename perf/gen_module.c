/*
 * gen_module.c — writes a large, valid WebAssembly module for the validation
 * benchmark: thousands of functions of compiler-like code (locals, all
 * numeric types, loads and stores, nested block/loop/if, br_if, br_table,
 * call, call_indirect through a table, some SIMD and bulk memory).
 * Valid by construction: each expression is generated for the type its
 * consumer wants; branches only target the void blocks around them.
 * Deterministic: one seeded xorshift, no clock, no libm.
 *   gen_module [--code-bytes N[k|m]] [--seed S] OUT.wasm   (default 8m, 1)
 */
#include "wasm_enc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic randomness ------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) /* uniform-ish in [0, n), n > 0 */
{
    return (uint32_t)((rng_next(&rng_state) >> 11) % n);
}

static int chance(uint32_t percent) { return rnd(100) < percent; }

/* ---- module shape ------------------------------------------------------- */

enum { T_I32, T_I64, T_F32, T_F64, T_V128, N_VT };
static const uint8_t vt_byte[N_VT] = {0x7f, 0x7e, 0x7d, 0x7c, 0x7b};
#define NONE N_VT

/* Function types: params, then '_', then the result (letters i I f F V). */
static const char *type_sigs[] = {
    "_",   "i_i",    "ii_i",   "iii_",  "Ii_I", "ff_f", "Fi_F",   "iFI_",
    "Vi_V", "i_",    "_i",     "iiii_i", "iIfF_F", "ii_",  "iIi_i", "fF_f",
};
#define N_TYPES (sizeof type_sigs / sizeof *type_sigs)

typedef struct {
    int n_params;
    int params[8];
    int result; /* T_* or NONE */
} functype;

static functype types[N_TYPES];

static int letter_type(char c)
{
    switch (c) {
    case 'i': return T_I32;
    case 'I': return T_I64;
    case 'f': return T_F32;
    case 'F': return T_F64;
    default: return T_V128;
    }
}

static void parse_types(void)
{
    for (size_t k = 0; k < N_TYPES; k++) {
        const char *s = type_sigs[k];
        functype *t = &types[k];
        for (; *s != '_'; s++)
            t->params[t->n_params++] = letter_type(*s);
        t->result = s[1] ? letter_type(s[1]) : NONE;
    }
}

/* Imports come first in the function index space, as in a WASI program. */
static const struct {
    const char *name;
    int type;
} imports[] = {{"fd_write", 11}, {"proc_exit", 9}, {"clock_time_get", 14}};
#define N_IMPORTS (sizeof imports / sizeof *imports)

/* Globals: a stack pointer, then one mutable global of each other scalar
 * type (so global t has type t), then an immutable i32. */
static const int global_types[] = {T_I32, T_I64, T_F32, T_F64, T_I32};
#define N_GLOBALS (sizeof global_types / sizeof *global_types)

static uint32_t n_funcs;      /* imported and defined */
static int *func_type;        /* per function index */
static uint32_t *funcs_of[N_TYPES];
static uint32_t n_funcs_of[N_TYPES];
static uint32_t n_table;      /* table entries: every 4th defined function */

/* ---- function bodies ---------------------------------------------------- */

#define MAX_LOCALS 40
#define MAX_NEST 4 /* statement nesting */
#define MAX_DEPTH 4 /* expression depth */

typedef struct {
    buf *b;
    int n_locals;
    int local_type[MAX_LOCALS];
    int of_type[N_VT][MAX_LOCALS];
    int n_of_type[N_VT];
    int labels; /* enclosing void labels (the function's own excluded) */
    int result; /* the function's result type, or NONE */
} fn;

static void gen_expr(fn *f, int t, int depth);
static void gen_stmts(fn *f, int n, int nest);

static void add_local(fn *f, int t)
{
    f->local_type[f->n_locals] = t;
    f->of_type[t][f->n_of_type[t]++] = f->n_locals++;
}

static int pick_local(fn *f, int t) /* -1 if none of that type */
{
    return f->n_of_type[t] ? f->of_type[t][rnd((uint32_t)f->n_of_type[t])] : -1;
}

static void put_f32(buf *b, float v) { put_bytes(b, &v, 4); }
static void put_f64(buf *b, double v) { put_bytes(b, &v, 8); }

static void gen_const(fn *f, int t)
{
    buf *b = f->b;
    switch (t) {
    case T_I32:
        put(b, 0x41);
        /* Mostly small constants, sometimes addresses or masks. */
        put_s64(b, chance(80) ? (int64_t)rnd(256) - 16 : (int32_t)(rnd(1u << 31) * 2));
        break;
    case T_I64:
        put(b, 0x42);
        put_s64(b, chance(80) ? (int64_t)rnd(1024) : (int64_t)rnd(1u << 31) << rnd(32));
        break;
    case T_F32:
        put(b, 0x43);
        put_f32(b, (float)rnd(4096) / 16.0f);
        break;
    case T_F64:
        put(b, 0x44);
        put_f64(b, (double)rnd(1u << 20) / 1024.0);
        break;
    default:
        put_sub(b, 0xfd, 0x0c);
        for (int i = 0; i < 16; i++)
            put(b, (uint8_t)rnd(256));
    }
}

static void gen_leaf(fn *f, int t)
{
    int l = pick_local(f, t);
    if (l >= 0 && chance(70)) {
        put(f->b, 0x20);
        put_u32(f->b, (uint32_t)l);
        return;
    }
    if (t != T_V128 && chance(10)) {
        uint32_t g = t == T_I32 && chance(50) ? N_GLOBALS - 1 : (uint32_t)t;
        put(f->b, 0x23);
        put_u32(f->b, g);
        return;
    }
    gen_const(f, t);
}

/* An address: usually a base local plus a constant, as compilers emit. */
static void gen_addr(fn *f, int depth)
{
    gen_expr(f, T_I32, depth > 1 ? 1 : 0);
}

/* memarg: alignment up to natural (usually natural), then the offset. */
static void put_memarg(fn *f, uint32_t natural)
{
    put_u32(f->b, chance(85) ? natural : rnd(natural + 1));
    put_u32(f->b, chance(50) ? 0 : rnd(4096));
}

typedef struct {
    uint8_t op;
    uint8_t align;
} memop;

/* Loads producing each scalar type: opcode and natural alignment. */
static const memop loads[N_VT][7] = {
    [T_I32] = {{0x28, 2}, {0x28, 2}, {0x28, 2}, {0x2c, 0}, {0x2d, 0}, {0x2e, 1}, {0x2f, 1}},
    [T_I64] = {{0x29, 3}, {0x29, 3}, {0x29, 3}, {0x30, 0}, {0x33, 1}, {0x34, 2}, {0x35, 2}},
    [T_F32] = {{0x2a, 2}, {0x2a, 2}, {0x2a, 2}, {0x2a, 2}, {0x2a, 2}, {0x2a, 2}, {0x2a, 2}},
    [T_F64] = {{0x2b, 3}, {0x2b, 3}, {0x2b, 3}, {0x2b, 3}, {0x2b, 3}, {0x2b, 3}, {0x2b, 3}},
};
static const memop stores[N_VT][4] = {
    [T_I32] = {{0x36, 2}, {0x36, 2}, {0x3a, 0}, {0x3b, 1}},
    [T_I64] = {{0x37, 3}, {0x37, 3}, {0x3c, 0}, {0x3e, 2}},
    [T_F32] = {{0x38, 2}, {0x38, 2}, {0x38, 2}, {0x38, 2}},
    [T_F64] = {{0x39, 3}, {0x39, 3}, {0x39, 3}, {0x39, 3}},
};

static void gen_load(fn *f, int t, int depth)
{
    if (t == T_V128) {
        static const uint16_t vl[][2] = {{0x00, 4}, {0x00, 4}, {0x09, 2}, {0x0a, 3}, {0x05, 3}};
        uint32_t k = rnd(5);
        gen_addr(f, depth);
        put_sub(f->b, 0xfd, vl[k][0]);
        put_memarg(f, vl[k][1]);
        return;
    }
    const memop *m = &loads[t][rnd(7)];
    gen_addr(f, depth);
    put(f->b, m->op);
    put_memarg(f, m->align);
}

/* Arguments of function type `ty`, then the call or call_indirect. */
static void gen_call(fn *f, uint32_t ty, int depth)
{
    const functype *ft = &types[ty];
    for (int i = 0; i < ft->n_params; i++)
        gen_expr(f, ft->params[i], depth - 1);
    if (n_funcs_of[ty] == 0 || chance(15)) {
        gen_expr(f, T_I32, 0); /* the table slot */
        put(f->b, 0x11);
        put_u32(f->b, ty);
        put(f->b, 0x00);
        return;
    }
    put(f->b, 0x10);
    put_u32(f->b, funcs_of[ty][rnd(n_funcs_of[ty])]);
}

static int type_returning(int t) /* a function type whose result is t */
{
    int k;
    do
        k = (int)rnd(N_TYPES);
    while (types[k].result != t);
    return k;
}

/* i32-producing operators that are not plain i32 arithmetic. */
static void gen_i32_other(fn *f, int depth)
{
    buf *b = f->b;
    switch (rnd(20)) {
    case 0: case 1: case 10: case 11: case 12: case 13: /* comparisons of the other types */
        switch (rnd(3)) {
        case 0:
            gen_expr(f, T_I64, depth - 1), gen_expr(f, T_I64, depth - 1);
            put(b, (uint8_t)(0x51 + rnd(10)));
            break;
        case 1:
            gen_expr(f, T_F32, depth - 1), gen_expr(f, T_F32, depth - 1);
            put(b, (uint8_t)(0x5b + rnd(6)));
            break;
        default:
            gen_expr(f, T_F64, depth - 1), gen_expr(f, T_F64, depth - 1);
            put(b, (uint8_t)(0x61 + rnd(6)));
        }
        break;
    case 2:
        gen_expr(f, T_I64, depth - 1);
        put(b, chance(50) ? 0xa7 : 0x50); /* i32.wrap_i64, i64.eqz */
        break;
    case 3:
        gen_expr(f, T_F64, depth - 1);
        put_sub(b, 0xfc, 2 + rnd(2)); /* i32.trunc_sat_f64_s/u */
        break;
    case 4:
        gen_expr(f, T_F32, depth - 1);
        put(b, 0xbc); /* i32.reinterpret_f32 */
        break;
    case 5:
        gen_expr(f, T_I32, depth - 1);
        put(b, (uint8_t)(chance(50) ? 0x45 + 0x22 * rnd(2) : 0xc0 + rnd(2))); /* eqz clz ext */
        break;
    case 6:
        gen_expr(f, T_V128, depth - 1);
        if (chance(50)) {
            put_sub(b, 0xfd, 0x1b); /* i32x4.extract_lane */
            put(b, (uint8_t)rnd(4));
        } else {
            put_sub(b, 0xfd, 0x53); /* v128.any_true */
        }
        break;
    case 7:
        put(b, 0x3f), put(b, 0x00); /* memory.size */
        break;
    case 8: case 9: case 14: case 15:
        gen_expr(f, T_I32, depth - 1);
        put(b, 0x45); /* i32.eqz */
        break;
    default: /* select */
        gen_expr(f, T_I32, depth - 1), gen_expr(f, T_I32, depth - 1);
        gen_expr(f, T_I32, depth - 1);
        put(b, 0x1b);
    }
}

/* Conversions and reinterpretations into t from another type. */
static void gen_convert(fn *f, int t, int depth)
{
    static const struct {
        uint8_t op, from;
    } conv[N_VT][4] = {
        [T_I64] = {{0xac, T_I32}, {0xad, T_I32}, {0xb0, T_F64}, {0xbd, T_F64}},
        [T_F32] = {{0xb2, T_I32}, {0xb4, T_I64}, {0xb6, T_F64}, {0xbe, T_I32}},
        [T_F64] = {{0xb7, T_I32}, {0xb9, T_I64}, {0xbb, T_F32}, {0xbf, T_I64}},
    };
    uint32_t k = rnd(4);
    gen_expr(f, conv[t][k].from, depth - 1);
    put(f->b, conv[t][k].op);
}

static void gen_v128(fn *f, int depth)
{
    static const uint16_t binops[] = {0x4e, 0x50, 0x51, 0x6e, 0x8e, 0xae, 0xb1, 0xb5,
                                      0xce, 0xe4, 0xe6, 0xf0, 0xf2, 0x37, 0x43};
    buf *b = f->b;
    switch (rnd(6)) {
    case 0: case 1: case 2:
        gen_expr(f, T_V128, depth - 1), gen_expr(f, T_V128, depth - 1);
        put_sub(b, 0xfd, binops[rnd(sizeof binops / sizeof *binops)]);
        break;
    case 3: {
        static const struct {
            uint8_t sub, from;
        } splat[] = {{0x0f, T_I32}, {0x11, T_I32}, {0x12, T_I64}, {0x13, T_F32}, {0x14, T_F64}};
        uint32_t k = rnd(5);
        gen_expr(f, splat[k].from, depth - 1);
        put_sub(b, 0xfd, splat[k].sub);
        break;
    }
    case 4:
        gen_expr(f, T_V128, depth - 1), gen_expr(f, T_I32, depth - 1);
        put_sub(b, 0xfd, 0x1c); /* i32x4.replace_lane */
        put(b, (uint8_t)rnd(4));
        break;
    default:
        gen_expr(f, T_V128, depth - 1), gen_expr(f, T_V128, depth - 1);
        put_sub(b, 0xfd, 0x0d); /* i8x16.shuffle */
        for (int i = 0; i < 16; i++)
            put(b, (uint8_t)rnd(32));
    }
}

/* Integer binary operators as offsets from i32.add (0x6a) or i64.add
 * (0x7c), weighted like compiled C: add, and, shifts, sub, mul dominate;
 * division, remainder and rotation are rare. */
static const uint8_t int_binops[] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 7, 7, 7, 7,
    8, 8, 9, 10, 10, 10, 11, 12, 12, 3, 4, 5, 6, 13, 14,
};

/* Unary and binary arithmetic, or a comparison, of scalar type t. */
static void gen_arith(fn *f, int t, int depth)
{
    /* first unary opcode, count; first binary opcode, count */
    static const uint8_t ops[4][4] = {
        [T_I32] = {0x67, 3, 0x6a, 15},
        [T_I64] = {0x79, 3, 0x7c, 15},
        [T_F32] = {0x8b, 7, 0x92, 7},
        [T_F64] = {0x99, 7, 0xa0, 7},
    };
    if (chance(t <= T_I64 ? 3 : 15)) {
        gen_expr(f, t, depth - 1);
        put(f->b, (uint8_t)(ops[t][0] + rnd(ops[t][1])));
        return;
    }
    if (t == T_I32 && chance(8)) {
        gen_expr(f, T_I32, depth - 1);
        put(f->b, 0x45); /* i32.eqz */
        return;
    }
    gen_expr(f, t, depth - 1);
    if (t <= T_I64 && chance(50))
        gen_const(f, t); /* x op constant: the common case */
    else
        gen_expr(f, t, depth - 1);
    if (t == T_I32 && chance(25))
        put(f->b, (uint8_t)(0x46 + rnd(10))); /* comparisons */
    else if (t <= T_I64)
        put(f->b, (uint8_t)(ops[t][2] + int_binops[rnd(sizeof int_binops)]));
    else
        put(f->b, (uint8_t)(ops[t][2] + rnd(ops[t][3])));
}

/* An expression leaving exactly one value of type t. */
static void gen_expr(fn *f, int t, int depth)
{
    uint32_t r;
    int l;
    if (depth <= 0 || chance(25)) {
        gen_leaf(f, t);
        return;
    }
    r = rnd(100);
    if (t == T_V128) {
        if (r < 25)
            gen_load(f, t, depth);
        else if (r < 35)
            gen_call(f, (uint32_t)type_returning(t), depth);
        else
            gen_v128(f, depth);
        return;
    }
    if (r < 45) {
        gen_arith(f, t, depth);
    } else if (r < 65) {
        gen_load(f, t, depth);
    } else if (r < 72) {
        gen_call(f, (uint32_t)type_returning(t), depth);
    } else if (r < 80 && (l = pick_local(f, t)) >= 0) {
        gen_expr(f, t, depth - 1);
        put(f->b, 0x22); /* local.tee */
        put_u32(f->b, (uint32_t)l);
    } else if (r < 84) {
        gen_expr(f, T_I32, depth - 1); /* if (result t) ... else ... end */
        put(f->b, 0x04);
        put(f->b, vt_byte[t]);
        gen_expr(f, t, depth - 1);
        put(f->b, 0x05);
        gen_expr(f, t, depth - 1);
        put(f->b, 0x0b);
    } else if (t == T_I32) {
        gen_i32_other(f, depth);
    } else {
        gen_convert(f, t, depth);
    }
}

static int scalar_type(void) /* weighted like compiled C: mostly i32 */
{
    static const int w[] = {T_I32, T_I32, T_I32, T_I32, T_I32, T_I64, T_I64, T_F32, T_F64, T_V128};
    return w[rnd(10)];
}

static void gen_store(fn *f)
{
    int t = scalar_type();
    gen_addr(f, 2);
    gen_expr(f, t, 1 + (int)rnd(MAX_DEPTH - 1));
    if (t == T_V128) {
        put_sub(f->b, 0xfd, 0x0b);
        put_memarg(f, 4);
        return;
    }
    const memop *m = &stores[t][rnd(4)];
    put(f->b, m->op);
    put_memarg(f, m->align);
}

static void gen_block(fn *f, uint8_t op, int n, int nest)
{
    put(f->b, op);
    put(f->b, 0x40);
    f->labels++;
    gen_stmts(f, n, nest + 1);
}

static void gen_end(fn *f)
{
    put(f->b, 0x0b);
    f->labels--;
}

/* block (loop body; br_if 1 exit; body; br 0) end: a C for-loop. */
static void gen_loop(fn *f, int nest)
{
    gen_block(f, 0x02, 0, nest);
    gen_block(f, 0x03, 1 + (int)rnd(3), nest);
    gen_expr(f, T_I32, 2);
    put(f->b, 0x0d), put_u32(f->b, 1);
    gen_stmts(f, 1 + (int)rnd(3), nest + 2);
    put(f->b, 0x0c), put_u32(f->b, 0);
    gen_end(f);
    gen_end(f);
}

/* A C switch: k nested blocks, br_table picks how many to leave. */
static void gen_switch(fn *f, int nest)
{
    uint32_t k = 2 + rnd(4), n_targets = 2 + rnd(8);
    for (uint32_t i = 0; i < k; i++)
        gen_block(f, 0x02, 0, nest);
    gen_expr(f, T_I32, 2);
    put(f->b, 0x0e);
    put_u32(f->b, n_targets);
    for (uint32_t i = 0; i <= n_targets; i++) /* targets, then the default */
        put_u32(f->b, rnd(k + (f->labels > (int)k ? 1 : 0)));
    for (uint32_t i = 0; i < k; i++) {
        gen_end(f);
        gen_stmts(f, 1 + (int)rnd(2), nest + 1);
    }
}

static void gen_stmt(fn *f, int nest)
{
    buf *b = f->b;
    uint32_t r = rnd(100);
    int l, t;
    if (nest >= MAX_NEST && r >= 50 && r < 75)
        r = rnd(50);
    if (r < 30) {
        t = scalar_type();
        if ((l = pick_local(f, t)) < 0)
            l = pick_local(f, t = T_I32);
        gen_expr(f, t, 1 + (int)rnd(MAX_DEPTH));
        put(b, 0x21);
        put_u32(b, (uint32_t)l);
    } else if (r < 45) {
        gen_store(f);
    } else if (r < 50) {
        uint32_t ty = rnd(N_TYPES);
        gen_call(f, ty, 3);
        if (types[ty].result != NONE)
            put(b, 0x1a); /* drop */
    } else if (r < 60) {
        gen_expr(f, T_I32, 3);
        gen_block(f, 0x04, 1 + (int)rnd(3), nest);
        if (chance(40)) {
            put(b, 0x05);
            gen_stmts(f, 1 + (int)rnd(3), nest + 1);
        }
        gen_end(f);
    } else if (r < 67) {
        gen_block(f, 0x02, 1 + (int)rnd(2), nest);
        gen_expr(f, T_I32, 2);
        put(b, 0x0d), put_u32(b, 0);
        gen_stmts(f, 1 + (int)rnd(2), nest + 1);
        gen_end(f);
    } else if (r < 72) {
        gen_loop(f, nest);
    } else if (r < 75) {
        gen_switch(f, nest);
    } else if (r < 82 && f->labels > 0) {
        gen_expr(f, T_I32, 2);
        put(b, 0x0d), put_u32(b, rnd((uint32_t)f->labels));
    } else if (r < 85) {
        t = (int)rnd(4);
        gen_expr(f, t, 2);
        put(b, 0x24), put_u32(b, (uint32_t)t);
    } else if (r < 87) {
        gen_addr(f, 2), gen_expr(f, T_I32, 1), gen_expr(f, T_I32, 1);
        if (chance(50))
            put_sub(b, 0xfc, 0x0a), put(b, 0), put(b, 0); /* memory.copy */
        else
            put_sub(b, 0xfc, 0x0b), put(b, 0); /* memory.fill */
    } else if (r < 89) {
        gen_expr(f, T_I32, 2); /* if (cond) return value; */
        put(b, 0x04), put(b, 0x40);
        if (f->result != NONE)
            gen_expr(f, f->result, 2);
        put(b, 0x0f), put(b, 0x0b);
    } else {
        t = scalar_type();
        if ((l = pick_local(f, t)) < 0)
            l = pick_local(f, t = T_I32);
        gen_expr(f, t, 2);
        put(b, 0x21);
        put_u32(b, (uint32_t)l);
    }
}

static void gen_stmts(fn *f, int n, int nest)
{
    for (int i = 0; i < n; i++)
        gen_stmt(f, nest);
}

/* One code-section entry for defined function `fi`, about `target` bytes. */
static void gen_body(buf *code, buf *body, uint32_t fi, size_t target)
{
    const functype *ft = &types[func_type[fi]];
    fn f = {.b = body, .result = ft->result};
    uint32_t counts[N_VT], n_decls = 0;

    body->n = 0;
    for (int i = 0; i < ft->n_params; i++)
        add_local(&f, ft->params[i]);
    counts[T_I32] = 2 + rnd(10);
    counts[T_I64] = rnd(4);
    counts[T_F32] = rnd(3);
    counts[T_F64] = rnd(3);
    counts[T_V128] = chance(30) ? 1 + rnd(2) : 0;
    if (ft->result != NONE && counts[ft->result] == 0)
        counts[ft->result] = 1;
    for (int k = 0; k < N_VT; k++)
        n_decls += counts[k] != 0;
    put_u32(body, n_decls);
    for (int k = 0; k < N_VT; k++) {
        if (!counts[k])
            continue;
        put_u32(body, counts[k]);
        put(body, vt_byte[k]);
        for (uint32_t i = 0; i < counts[k]; i++)
            add_local(&f, k);
    }
    if (chance(50)) { /* shadow stack prologue: sp = g0 - frame; g0 = sp */
        int sp = pick_local(&f, T_I32);
        put(body, 0x23), put_u32(body, 0);
        put(body, 0x41), put_s64(body, 16 * (1 + rnd(16)));
        put(body, 0x6b);
        put(body, 0x22), put_u32(body, (uint32_t)sp);
        put(body, 0x24), put_u32(body, 0);
    }
    while (body->n < target)
        gen_stmt(&f, 0);
    if (f.result != NONE)
        gen_expr(&f, f.result, 3);
    put(body, 0x0b);
    put_u32(code, (uint32_t)body->n);
    put_bytes(code, body->p, body->n);
}

/* ---- the module --------------------------------------------------------- */

static void put_functype(buf *s, const functype *t)
{
    put(s, 0x60);
    put_u32(s, (uint32_t)t->n_params);
    for (int i = 0; i < t->n_params; i++)
        put(s, vt_byte[t->params[i]]);
    put_u32(s, t->result != NONE);
    if (t->result != NONE)
        put(s, vt_byte[t->result]);
}

/* Function sizes follow a heavy tail (Pareto, alpha 1.5, capped): many
 * small functions, a few large ones. Returns weights in 1/1000 units. */
static uint32_t size_weight(void)
{
    double u = (double)(rnd(1u << 30) + 1) / (double)(1u << 30); /* (0, 1] */
    /* u^(-1/1.5) = u^(-2/3) without libm (whose last bits may differ
     * between machines): Newton's method for y^3 = 1/u^2, from above. */
    double target = 1.0 / (u * u), y = 1.0;
    for (int i = 0; i < 120; i++)
        y = y - (y * y * y - target) / (3 * y * y);
    return (uint32_t)((y > 200 ? 200 : y) * 1000);
}

static void assign_types(uint32_t n_defined)
{
    n_funcs = (uint32_t)N_IMPORTS + n_defined;
    func_type = calloc(n_funcs, sizeof *func_type);
    for (size_t k = 0; k < N_TYPES; k++) {
        if (!(funcs_of[k] = calloc(n_funcs, sizeof **funcs_of)) || !func_type) {
            fprintf(stderr, "gen_module: out of memory\n");
            exit(2);
        }
    }
    for (uint32_t i = 0; i < n_funcs; i++) {
        int t = i < N_IMPORTS ? imports[i].type : (int)rnd(N_TYPES);
        func_type[i] = t;
        funcs_of[t][n_funcs_of[t]++] = i;
    }
    n_table = (n_defined + 3) / 4; /* entries, at slots 1..n_table */
}

static void gen_module(buf *out, size_t code_target)
{
    static const uint8_t header[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    uint32_t n_defined = (uint32_t)(code_target / 1600 > 8 ? code_target / 1600 : 8);
    buf s = {0}, body = {0};
    uint32_t *weight;
    uint64_t sum = 0;

    parse_types();
    assign_types(n_defined);
    put_bytes(out, header, 8);

    put_u32(&s, (uint32_t)N_TYPES); /* type section */
    for (size_t k = 0; k < N_TYPES; k++)
        put_functype(&s, &types[k]);
    put_section(out, 1, &s);

    put_u32(&s, (uint32_t)N_IMPORTS); /* imports */
    for (size_t i = 0; i < N_IMPORTS; i++) {
        put_name(&s, "wasi_snapshot_preview1");
        put_name(&s, imports[i].name);
        put(&s, 0x00);
        put_u32(&s, (uint32_t)imports[i].type);
    }
    put_section(out, 2, &s);

    put_u32(&s, n_defined); /* function section */
    for (uint32_t i = N_IMPORTS; i < n_funcs; i++)
        put_u32(&s, (uint32_t)func_type[i]);
    put_section(out, 3, &s);

    put_u32(&s, 1), put(&s, 0x70), put(&s, 0x01); /* table: funcref, slot 0 null */
    put_u32(&s, n_table + 1), put_u32(&s, n_table + 1);
    put_section(out, 4, &s);

    put_u32(&s, 1), put(&s, 0x00), put_u32(&s, 17); /* memory: 17 pages, no max */
    put_section(out, 5, &s);

    put_u32(&s, (uint32_t)N_GLOBALS);
    for (size_t g = 0; g < N_GLOBALS; g++) {
        put(&s, vt_byte[global_types[g]]);
        put(&s, g < N_GLOBALS - 1); /* the last one is immutable */
        gen_const(&(fn){.b = &s}, global_types[g]);
        put(&s, 0x0b);
    }
    put_section(out, 6, &s);

    put_u32(&s, 2); /* exports */
    put_name(&s, "memory"), put(&s, 0x02), put_u32(&s, 0);
    put_name(&s, "_start"), put(&s, 0x00), put_u32(&s, funcs_of[0][0]);
    put_section(out, 7, &s);

    put_u32(&s, 1), put_u32(&s, 0); /* elem: active, table 0, at i32.const 1 */
    put(&s, 0x41), put_s64(&s, 1), put(&s, 0x0b);
    put_u32(&s, n_table);
    for (uint32_t i = 0; i < n_table; i++)
        put_u32(&s, (uint32_t)N_IMPORTS + 4 * i);
    put_section(out, 9, &s);

    if (!(weight = calloc(n_defined, sizeof *weight))) {
        fprintf(stderr, "gen_module: out of memory\n");
        exit(2);
    }
    for (uint32_t i = 0; i < n_defined; i++)
        sum += weight[i] = size_weight();
    put_u32(&s, n_defined); /* code */
    for (uint32_t i = 0; i < n_defined; i++)
        gen_body(&s, &body, N_IMPORTS + i, (size_t)((double)code_target * weight[i] / sum));
    fprintf(stderr, "gen_module: %u functions, code section %zu bytes\n", n_defined, s.n);
    put_section(out, 10, &s);

    put_u32(&s, 1), put_u32(&s, 0); /* data: 256 bytes at 1024 */
    put(&s, 0x41), put_s64(&s, 1024), put(&s, 0x0b);
    put_u32(&s, 256);
    for (int i = 0; i < 256; i++)
        put(&s, (uint8_t)rnd(256));
    put_section(out, 11, &s);

    free(weight);
    free(body.p);
    free(s.p);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        v <<= 20, end++;
    if (*end || v == 0 || v > (1ull << 30))
        return -1;
    *out = (size_t)v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: gen_module [--code-bytes N[k|m]] [--seed S] OUT.wasm\n"
                    "  --code-bytes  code section size to reach (default 8m)\n"
                    "  --seed        generator seed (default 1)\n");
}

int main(int argc, char **argv)
{
    size_t code_bytes = 8u << 20;
    unsigned long long seed = 1;
    const char *path = NULL;
    buf out = {0};
    FILE *f;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--code-bytes") && i + 1 < argc) {
            if (parse_size(argv[++i], &code_bytes)) {
                fprintf(stderr, "gen_module: bad size '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (argv[i][0] == '-' || path) {
            usage();
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage();
        return 2;
    }
    rng_state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull; /* never 0 */
    gen_module(&out, code_bytes);
    if (!(f = fopen(path, "wb")) || fwrite(out.p, 1, out.n, f) != out.n || fclose(f)) {
        fprintf(stderr, "gen_module: cannot write %s: %s\n", path, strerror(errno));
        return 2;
    }
    fprintf(stderr, "gen_module: wrote %s, %zu bytes\n", path, out.n);
    free(out.p);
    return 0;
}
