/*
 * gen_exec.c — random valid modules for differential execution.
 *
 * Code is generated top-down for the type its consumer wants, and every
 * plain instruction comes from the validator's opcode table
 * (validator/opcodes.def), so the whole numeric and SIMD instruction set is
 * covered without a list here. Control (blocks, loops, if, br_if,
 * br_table, return), calls, call_indirect, locals, globals, memory (with
 * in-bounds, boundary and out-of-bounds addresses), bulk memory, tables
 * and references are emitted by hand, and so are counted loops of the
 * shapes engine/translate_loop.c copies, with addresses that wrap, run off
 * the memory or go below 0. Every export also returns G_I32, into which
 * those loops sum what they load.
 *
 * What makes the results comparable across engines:
 * - Termination: one fuel global, reset by every export; each loop
 *   iteration and each call spends one unit, and a function entered with
 *   no fuel returns zeros. Calls only go to lower-numbered functions, and
 *   call_indirect only reaches lower table slots, so there is no recursion.
 * - NaN bits: the spec leaves NaN payloads and signs open. Every
 *   float-producing instruction's result goes through a helper that turns
 *   any NaN into the canonical one, except under "nanbits", which keeps
 *   only the bits the spec fixes (exponent and quiet bit) of an unhelped
 *   result, so that quieting is still tested.
 * - Exports take no parameters and return f32/f64 as their bits.
 */
#include "gen_exec.h"

#include "validator/validator.h"

#include <string.h>

enum { MAX_PARAMS = 3, MAX_RESULTS = 2, MAX_EXTRA_LOCALS = 6, MAX_LABELS = 24, FUEL = 1000 };
enum { N_HELPERS = 4, H_CANON32 = 0, H_CANON64 = 1, H_CANONV4 = 2, H_CANONV2 = 3 };
enum { G_FUEL = 0, G_I32, G_I64, G_F32, G_F64, G_V128, G_CONST, N_GLOBALS };
#define LETTERS "iIfFV"

typedef struct {
    uint8_t np, nr;
    char p[MAX_PARAMS], r[MAX_RESULTS + 1]; /* type letters; exports add G_I32 */
} sig;

/* One plain instruction of the opcode table. */
typedef struct {
    const char *name;
    uint16_t code;
    uint8_t imm;
    char pops[4];
    uint8_t n_pops;
    char push; /* a type letter, or 0 */
    uint8_t lanes;
} opdesc;

static opdesc ops[512];
static uint32_t n_ops;
static uint16_t by_push[6][256]; /* per result letter (and 0 last): op indices */
static uint32_t n_by_push[6];

typedef struct {
    uint64_t rng;
    buf *b;
    uint32_t fi;       /* the function being generated */
    uint32_t n_defined; /* helpers + generated functions (the table holds these) */
    sig fsig[64];
    char local[MAX_PARAMS + MAX_EXTRA_LOCALS];
    uint32_t n_locals;
    uint32_t counted; /* the first of 4 i32 locals only counted loops use */
    char label[MAX_LABELS]; /* 0 void, 'L' loop (void), else the result letter */
    uint32_t n_labels;
    int budget;
} gen;

static uint32_t rnd(gen *g, uint32_t n) { return (uint32_t)((rng_next(&g->rng) >> 11) % n); }
static int chance(gen *g, uint32_t percent) { return rnd(g, 100) < percent; }

static int letter_index(char t)
{
    const char *p = t ? strchr(LETTERS, t) : NULL;
    return p ? (int)(p - LETTERS) : 5;
}

static uint8_t valtype(char t)
{
    static const uint8_t bytes[] = {0x7f, 0x7e, 0x7d, 0x7c, 0x7b};
    return bytes[letter_index(t)];
}

static uint8_t lanes_of(const char *name)
{
    static const struct {
        const char *prefix;
        uint8_t lanes;
    } shapes[] = {{"v128.load8_", 16}, {"v128.store8_", 16}, {"v128.load16_", 8},
                  {"v128.store16_", 8}, {"v128.load32_", 4}, {"v128.store32_", 4},
                  {"v128.load64_", 2}, {"v128.store64_", 2}, {"i8x16", 16},
                  {"i16x8", 8},        {"i32x4", 4},         {"f32x4", 4},
                  {"i64x2", 2},        {"f64x2", 2}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        if (!strncmp(name, shapes[i].prefix, strlen(shapes[i].prefix)))
            return shapes[i].lanes;
    return 0;
}

/* The plain instructions, from the one opcode table. Constants are made
 * here with chosen values; 'x' rows are control and are emitted by hand. */
static void load_ops(void)
{
    static const struct {
        const char *name, *sig;
        uint16_t code;
        uint8_t imm;
    } table[] = {
#define ZV_OP(code, id, name, imm, sig) {name, #sig, code, ZV_IMM_##imm},
#include "validator/opcodes.def"
#undef ZV_OP
    };
    if (n_ops)
        return;
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        opdesc *o = &ops[n_ops];
        const char *s = table[i].sig;
        uint8_t imm = table[i].imm;
        if (!strcmp(s, "x") || imm == ZV_IMM_I32 || imm == ZV_IMM_I64 || imm == ZV_IMM_F32 ||
            imm == ZV_IMM_F64 || imm == ZV_IMM_V128)
            continue;
        memset(o, 0, sizeof *o);
        o->name = table[i].name;
        o->code = table[i].code;
        o->imm = imm;
        for (; *s != '_'; s++)
            o->pops[o->n_pops++] = *s;
        o->push = s[1];
        o->lanes = lanes_of(o->name);
        by_push[letter_index(o->push)][n_by_push[letter_index(o->push)]++] = (uint16_t)n_ops;
        n_ops++;
    }
}

/* ---- leaves ------------------------------------------------------------- */

static void put_op(buf *b, uint16_t code)
{
    if (code >> 8)
        put_sub(b, (uint8_t)(code >> 8), code & 0xff);
    else
        put(b, (uint8_t)code);
}

static uint32_t interesting32(gen *g)
{
    static const uint32_t v[] = {0,          1,          2,          7,          0xffffffff,
                                 0x80000000, 0x7fffffff, 0xfffffffe, 0x10000,    0xffff,
                                 0x7fc00000, 0x7fa00000, 0xffc00000, 0x7f800000, 0xff800000,
                                 0x3f800000, 0x80000000, 0x00000001, 0x4f000000, 0xcf000000,
                                 0x4f800000, 0x5f000000, 0x5f800000, 0x7f7fffff, 0x3f000000};
    return chance(g, 60) ? v[rnd(g, sizeof v / sizeof *v)] : (uint32_t)rng_next(&g->rng);
}

static uint64_t interesting64(gen *g)
{
    static const uint64_t v[] = {0,
                                 1,
                                 0xffffffffffffffffull,
                                 0x8000000000000000ull,
                                 0x7fffffffffffffffull,
                                 0xffffffffull,
                                 0x100000000ull,
                                 0x7ff8000000000000ull,
                                 0x7ff4000000000000ull,
                                 0xfff8000000000000ull,
                                 0x7ff0000000000000ull,
                                 0xfff0000000000000ull,
                                 0x3ff0000000000000ull,
                                 0x41e0000000000000ull,
                                 0xc1e0000000200000ull,
                                 0x41f0000000000000ull,
                                 0x43e0000000000000ull,
                                 0x43f0000000000000ull,
                                 0x0000000000000001ull,
                                 0x3fe0000000000000ull,
                                 0x4330000000000000ull};
    return chance(g, 60) ? v[rnd(g, sizeof v / sizeof *v)] : rng_next(&g->rng);
}

static void emit_const(gen *g, char t)
{
    buf *b = g->b;
    switch (t) {
    case 'i': put(b, 0x41); put_s64(b, (int32_t)interesting32(g)); return;
    case 'I': put(b, 0x42); put_s64(b, (int64_t)interesting64(g)); return;
    case 'f': {
        uint32_t x = interesting32(g);
        put(b, 0x43);
        put_bytes(b, &x, 4);
        return;
    }
    case 'F': {
        uint64_t x = interesting64(g);
        put(b, 0x44);
        put_bytes(b, &x, 8);
        return;
    }
    default: {
        put_sub(b, 0xfd, 0x0c);
        if (chance(g, 50)) { /* one interesting lane value, splatted by hand */
            uint32_t x = interesting32(g);
            for (int i = 0; i < 4; i++)
                put_bytes(b, &x, 4);
        } else {
            for (int i = 0; i < 2; i++) {
                uint64_t x = interesting64(g);
                put_bytes(b, &x, 8);
            }
        }
    }
    }
}

static int pick_local(gen *g, char t)
{
    uint32_t idx[MAX_PARAMS + MAX_EXTRA_LOCALS], n = 0;
    for (uint32_t i = 0; i < g->n_locals; i++)
        if (g->local[i] == t)
            idx[n++] = i;
    return n ? (int)idx[rnd(g, n)] : -1;
}

static uint32_t global_of(char t)
{
    static const uint32_t g[] = {G_I32, G_I64, G_F32, G_F64, G_V128};
    return g[letter_index(t)];
}

static void leaf(gen *g, char t)
{
    int l = pick_local(g, t);
    uint32_t r = rnd(g, 10);
    if (l >= 0 && r < 5) {
        put(g->b, 0x20);
        put_u32(g->b, (uint32_t)l);
    } else if (r < 7) {
        put(g->b, 0x23);
        put_u32(g->b, t == 'i' && chance(g, 30) ? G_CONST : global_of(t));
    } else {
        emit_const(g, t);
    }
}

/* ---- expressions ------------------------------------------------------- */

static void expr(gen *g, char t, int depth);
static void stmts(gen *g, int n, int depth);

static void i32_and(gen *g, uint32_t mask)
{
    put(g->b, 0x41);
    put_s64(g->b, (int32_t)mask);
    put(g->b, 0x71);
}

/* A memory address: mostly in page 0 (never out of bounds), sometimes in
 * pages 1-3 (in bounds once memory has grown), near the end of page 0,
 * or anything at all; the memarg offset is usually small. */
static void address(gen *g, int depth, uint32_t *offset)
{
    uint32_t r = rnd(g, 100);
    *offset = rnd(g, 16);
    if (r < 92) {
        expr(g, 'i', depth - 1);
        i32_and(g, 0xffe0);
    } else if (r < 96) {
        expr(g, 'i', depth - 1);
        i32_and(g, 0x3ffe0);
    } else if (r < 98) {
        put(g->b, 0x41);
        put_s64(g->b, (int32_t)(0x10000 - rnd(g, 24)));
    } else if (r < 99) {
        expr(g, 'i', depth - 1);
    } else {
        expr(g, 'i', depth - 1);
        i32_and(g, 0xff);
        *offset = 0xfffffff0u + rnd(g, 16);
    }
}

/* A small i32 (a length or a page count): anything, masked. */
static void small(gen *g, int depth, uint32_t mask)
{
    expr(g, 'i', depth - 1);
    i32_and(g, chance(g, 98) ? mask : 0xffffffffu);
}

static int is_bulk(const opdesc *o)
{
    return o->imm == ZV_IMM_ZERO || o->imm == ZV_IMM_ZERO2;
}

/* A NaN in the result of `o` is left open by the spec unless `o` is a
 * float instruction; those results go through a canonicalising helper. */
static int canon_helper(const opdesc *o)
{
    if (o->push == 'f')
        return H_CANON32;
    if (o->push == 'F')
        return H_CANON64;
    if (o->push == 'V' && !strncmp(o->name, "f32x4", 5))
        return H_CANONV4;
    if (o->push == 'V' && !strncmp(o->name, "f64x2", 5))
        return H_CANONV2;
    return -1;
}

static void emit_plain(gen *g, const opdesc *o, int depth, int canon)
{
    uint32_t offset = 0;
    int h;
    for (int i = 0; i < o->n_pops; i++) {
        int is_addr = i == 0 && (o->imm == ZV_IMM_MEM || o->imm == ZV_IMM_MEM_LANE);
        if (is_addr)
            address(g, depth, &offset);
        else if (is_bulk(o) && o->n_pops == 1) /* memory.grow: a page or none */
            small(g, depth, 1);
        else if (is_bulk(o) && i == 0)
            address(g, depth, &offset);
        else if (is_bulk(o) && i == 2)
            small(g, depth, 0x1ff);
        else if (is_bulk(o) && i == 1 && o->imm == ZV_IMM_ZERO2)
            address(g, depth, &offset);
        else
            expr(g, o->pops[i], depth - 1);
    }
    put_op(g->b, o->code);
    switch (o->imm) {
    case ZV_IMM_MEM: case ZV_IMM_MEM_LANE:
        put_u32(g->b, 0);
        put_u32(g->b, offset);
        if (o->imm == ZV_IMM_MEM_LANE)
            put(g->b, (uint8_t)rnd(g, o->lanes));
        break;
    case ZV_IMM_LANE:
        put(g->b, (uint8_t)rnd(g, o->lanes));
        break;
    case ZV_IMM_ZERO:
        put(g->b, 0);
        break;
    case ZV_IMM_ZERO2:
        put(g->b, 0);
        put(g->b, 0);
        break;
    case ZV_IMM_SHUFFLE:
        for (int i = 0; i < 16; i++)
            put(g->b, (uint8_t)rnd(g, 32));
        break;
    default:
        break;
    }
    if (canon && (h = canon_helper(o)) >= 0) {
        put(g->b, 0x10);
        put_u32(g->b, (uint32_t)h);
    }
}

/* Integer division and float-to-integer truncation trap on many random
 * operands; they are picked less often so that most calls run to the end. */
static int traps_often(const opdesc *o)
{
    return strstr(o->name, ".div_") || strstr(o->name, ".rem_") ||
           (strstr(o->name, ".trunc_f") && !strstr(o->name, "_sat_"));
}

static const opdesc *pick_op(gen *g, char push)
{
    int k = letter_index(push);
    const opdesc *o;
    if (!n_by_push[k])
        return NULL;
    do
        o = &ops[by_push[k][rnd(g, n_by_push[k])]];
    while (traps_often(o) && chance(g, 75));
    return o;
}

/* The bits of a float result that the spec fixes: for a NaN, the exponent
 * and the quiet bit (arithmetic NaN, Wasm core §4.3.3). */
static int nanbits(gen *g, char t, int depth)
{
    const opdesc *o;
    int tries = 0;
    char want = t == 'i' ? 'f' : t == 'I' ? 'F' : 'V';
    do
        o = pick_op(g, want);
    while (o && t == 'V' && canon_helper(o) < 0 && ++tries < 64);
    if (!o || (t == 'V' && canon_helper(o) < 0))
        return -1;
    emit_plain(g, o, depth, 0);
    if (t == 'i') {
        put(g->b, 0xbc); /* i32.reinterpret_f32 */
        i32_and(g, 0x7fc00000);
    } else if (t == 'I') {
        put(g->b, 0xbd); /* i64.reinterpret_f64 */
        put(g->b, 0x42);
        put_s64(g->b, 0x7ff8000000000000ll);
        put(g->b, 0x83);
    } else {
        int f32 = canon_helper(o) == H_CANONV4;
        put_sub(g->b, 0xfd, 0x0c);
        for (int i = 0; i < (f32 ? 4 : 2); i++) {
            uint32_t m32 = 0x7fc00000;
            uint64_t m64 = 0x7ff8000000000000ull;
            put_bytes(g->b, f32 ? (void *)&m32 : (void *)&m64, f32 ? 4 : 8);
        }
        put_sub(g->b, 0xfd, 0x4e); /* v128.and */
    }
    return 0;
}

static void block_type(gen *g, char t) { put(g->b, t ? valtype(t) : 0x40); }

static void push_label(gen *g, char t) { g->label[g->n_labels++] = t; }

/* A function below the current one with exactly the results `want`
 * (NULL: any results); returns its index or -1. */
static int callee(gen *g, const char *want, uint32_t n_want)
{
    uint32_t cand[64], n = 0;
    for (uint32_t f = N_HELPERS; f < g->fi; f++) {
        const sig *s = &g->fsig[f];
        if (!want || (s->nr == n_want && !memcmp(s->r, want, n_want)))
            cand[n++] = f;
    }
    return n ? (int)cand[rnd(g, n)] : -1;
}

/* Arguments, then a call or call_indirect of f. The slot of
 * call_indirect is usually f's own; sometimes another lower slot (maybe of
 * another type), a null slot or one past the table. */
static void call(gen *g, uint32_t f, int depth, uint32_t type_idx)
{
    const sig *s = &g->fsig[f];
    for (int i = 0; i < s->np; i++)
        expr(g, s->p[i], depth - 1);
    if (chance(g, 75)) {
        put(g->b, 0x10);
        put_u32(g->b, f);
        return;
    }
    switch (rnd(g, 20)) {
    case 0:
        expr(g, 'i', depth - 1);
        put(g->b, 0x41);
        put_s64(g->b, g->fi);
        put(g->b, 0x70); /* i32.rem_u */
        break;
    case 1:
        put(g->b, 0x41);
        put_s64(g->b, g->n_defined + rnd(g, 2)); /* the two null slots */
        break;
    case 2:
        put(g->b, 0x41);
        put_s64(g->b, g->n_defined + 2 + rnd(g, 100));
        break;
    default:
        put(g->b, 0x41);
        put_s64(g->b, f);
    }
    put(g->b, 0x11);
    put_u32(g->b, type_idx);
    put(g->b, 0x00);
}

static uint32_t type_of_func(uint32_t f) { return f; } /* type i is function i's */

static void expr(gen *g, char t, int depth)
{
    const opdesc *o;
    int f;
    if (depth <= 0 || g->budget <= 0) {
        leaf(g, t);
        return;
    }
    g->budget--;
    switch (rnd(g, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
        if ((o = pick_op(g, t))) {
            emit_plain(g, o, depth, 1);
            return;
        }
        break;
    case 8:
        if (t != 'f' && t != 'F' && nanbits(g, t, depth) == 0)
            return;
        break;
    case 9: /* select, typed or not */
        expr(g, t, depth - 1);
        expr(g, t, depth - 1);
        expr(g, 'i', depth - 1);
        if (t == 'V' || chance(g, 30)) {
            put(g->b, 0x1c);
            put(g->b, 1);
            put(g->b, valtype(t));
        } else {
            put(g->b, 0x1b);
        }
        return;
    case 10: /* block with a result; its body may branch out with a value */
        put(g->b, 0x02);
        block_type(g, t);
        push_label(g, t);
        stmts(g, (int)rnd(g, 3), depth - 1);
        expr(g, t, depth - 1);
        put(g->b, 0x0b);
        g->n_labels--;
        return;
    case 11:
        expr(g, 'i', depth - 1);
        put(g->b, 0x04);
        block_type(g, t);
        push_label(g, t);
        expr(g, t, depth - 1);
        put(g->b, 0x05);
        expr(g, t, depth - 1);
        put(g->b, 0x0b);
        g->n_labels--;
        return;
    case 12: case 13:
        if ((f = callee(g, &t, 1)) >= 0) {
            call(g, (uint32_t)f, depth, type_of_func((uint32_t)f));
            return;
        }
        break;
    case 14:
        if ((f = pick_local(g, t)) >= 0) {
            expr(g, t, depth - 1);
            put(g->b, 0x22);
            put_u32(g->b, (uint32_t)f);
            return;
        }
        break;
    case 15:
        if (t == 'i') { /* references: a slot of table 1 is null or not */
            if (chance(g, 50)) {
                small(g, depth, 1);
                put(g->b, 0x25);
                put_u32(g->b, 1);
            } else if (chance(g, 50)) {
                put(g->b, 0xd2);
                put_u32(g->b, rnd(g, g->n_defined));
            } else {
                put(g->b, 0xd0);
                put(g->b, 0x70);
            }
            put(g->b, 0xd1);
            return;
        }
        break;
    default:
        break;
    }
    leaf(g, t);
}

/* ---- statements --------------------------------------------------------- */

/* A branch to an enclosing label, if any: br_if with a value when the
 * label has a result (the value stays when the branch is not taken). */
static void branch(gen *g, int depth)
{
    uint32_t i, k;
    char t;
    if (!g->n_labels)
        return;
    i = rnd(g, g->n_labels);
    k = g->n_labels - 1 - i;
    t = g->label[i];
    if (t && t != 'L')
        expr(g, t, depth - 1);
    expr(g, 'i', depth - 1);
    put(g->b, 0x0d);
    put_u32(g->b, k);
    if (t && t != 'L')
        put(g->b, 0x1a);
}

/* if (cond) { br_table over void labels } */
static void br_table(gen *g, int depth)
{
    uint32_t targets[8], n = 0;
    expr(g, 'i', depth - 1);
    put(g->b, 0x04);
    put(g->b, 0x40);
    push_label(g, 0);
    for (uint32_t i = 0; i < g->n_labels && n < 8; i++)
        if (!g->label[i] || g->label[i] == 'L')
            targets[n++] = g->n_labels - 1 - i;
    expr(g, 'i', depth - 1);
    put(g->b, 0x0e);
    put_u32(g->b, n - 1);
    for (uint32_t i = 0; i < n; i++)
        put_u32(g->b, targets[rnd(g, n)]);
    put(g->b, 0x0b);
    g->n_labels--;
}

/* block { loop { if !fuel break; fuel--; body; br_if continue } } */
static void loop(gen *g, int depth)
{
    buf *b = g->b;
    put(b, 0x02), put(b, 0x40);
    push_label(g, 0);
    put(b, 0x03), put(b, 0x40);
    push_label(g, 'L');
    put(b, 0x23), put_u32(b, G_FUEL), put(b, 0x45), put(b, 0x0d), put_u32(b, 1);
    put(b, 0x23), put_u32(b, G_FUEL), put(b, 0x41), put_s64(b, 1), put(b, 0x6b);
    put(b, 0x24), put_u32(b, G_FUEL);
    stmts(g, 1 + (int)rnd(g, 4), depth - 1);
    expr(g, 'i', depth - 1);
    put(b, 0x0d), put_u32(b, 0);
    put(b, 0x0b);
    put(b, 0x0b);
    g->n_labels -= 2;
}

/* ---- counted loops (engine/translate_loop.c copies them) ------------------ */

static void get(buf *b, uint32_t l) { put(b, 0x20), put_u32(b, l); }
static void set(buf *b, uint32_t l) { put(b, 0x21), put_u32(b, l); }
static void i32c(buf *b, int64_t v) { put(b, 0x41), put_s64(b, (int32_t)v); }

/* A base address: in page 0, near its end (out of bounds within a few
 * rounds), near 2^32 (wrapping into low memory), near 0 (below 0 with a
 * negative offset), or anything. */
static void base_address(gen *g, int depth)
{
    uint32_t r = rnd(g, 100);
    if (r < 40) {
        expr(g, 'i', depth - 1);
        i32_and(g, 0xffe0);
    } else if (r < 55) {
        i32c(g->b, 0x10000 - rnd(g, 600));
    } else if (r < 70) {
        i32c(g->b, 0xffffff00u + rnd(g, 256));
    } else if (r < 85) {
        i32c(g->b, rnd(g, 64));
    } else {
        expr(g, 'i', depth - 1);
    }
}

/* An address from the counter X and the pointers P, Q. */
static void loop_address(gen *g, uint32_t x, uint32_t p, uint32_t q)
{
    buf *b = g->b;
    switch (rnd(g, 6)) {
    case 0: get(b, p); return;
    case 1: get(b, p), get(b, x), put(b, 0x6a); return;
    case 2: get(b, q), get(b, x), i32c(b, rnd(g, 4)), put(b, 0x74), put(b, 0x6a); return;
    case 3: get(b, p), i32c(b, (int64_t)rnd(g, 33) - 16), put(b, 0x6a); return;
    case 4: get(b, q), get(b, x), i32c(b, 1 + rnd(g, 8)), put(b, 0x6c), put(b, 0x6b); return;
    default: get(b, x); return;
    }
}

/* One access of the body: a load summed into G_I32 (or dropped), or a
 * store of the counter. */
static void loop_access(gen *g, uint32_t x, uint32_t p, uint32_t q)
{
    static const uint8_t loads[] = {0x28, 0x29, 0x2b, 0x2d}, stores[] = {0x36, 0x37, 0x39, 0x3a};
    static const uint8_t align[] = {2, 3, 3, 0};
    buf *b = g->b;
    uint32_t k = rnd(g, 4), offset = chance(g, 90) ? rnd(g, 16) : rnd(g, 0x20000);
    int store = chance(g, 40), dead = !store && chance(g, 15);
    if (!store && !dead)
        put(b, 0x23), put_u32(b, G_I32);
    loop_address(g, x, p, q);
    if (store) {
        get(b, x);
        if (k == 1)
            put(b, 0xad); /* i64.extend_i32_u */
        if (k == 2)
            put(b, 0xb8); /* f64.convert_i32_u */
        put(b, stores[k]), put_u32(b, align[k]), put_u32(b, offset);
        return;
    }
    put(b, loads[k]), put_u32(b, align[k]), put_u32(b, offset);
    if (k == 2)
        put(b, 0xbd); /* i64.reinterpret_f64 */
    if (k == 1 || k == 2)
        put(b, 0xa7); /* i32.wrap_i64 */
    if (dead) {
        put(b, 0x1a);
        return;
    }
    put(b, 0x6a), put(b, 0x24), put_u32(b, G_I32);
}

/* A loop of the shapes clang emits for counted loops, always ending
 * within 33 rounds: a straight-line body of accesses through X, P and Q,
 * pointers stepped by constants, and a back edge on the counter X:
 * up to a bound with != or <, down to 0, or down past a bound with >,
 * the bound a constant or a local, first or second. */
static void counted_loop(gen *g, int depth)
{
    static const int32_t steps[] = {-8, -4, -1, 1, 4, 8, 16};
    buf *b = g->b;
    uint32_t x = g->counted, p = x + 1, q = x + 2, e = x + 3;
    uint32_t step = 1u << rnd(g, 5), n = 1 + rnd(g, 24), shape = rnd(g, 4), x0, bound;
    int bound_local = chance(g, 60), bound_first = chance(g, 30);
    switch (shape) {
    case 0: /* up, != */
        x0 = rnd(g, 64), bound = x0 + step * n;
        break;
    case 1: /* up, <: sometimes from the bound or past it (one round) */
        x0 = 8 + rnd(g, 56), bound = chance(g, 15) ? x0 - rnd(g, 8) : x0 + 1 + rnd(g, step * n);
        break;
    case 2: /* down to 0 */
        x0 = step * n, bound = 0;
        break;
    default: /* down, >: the bound at least S - 1, so X - S never wraps */
        bound = step - 1 + rnd(g, 40), x0 = bound + 1 + rnd(g, step * n);
    }
    /* the bases first: their expressions may hold counted loops, which
     * use the same four locals */
    base_address(g, depth), base_address(g, depth), set(b, q), set(b, p);
    i32c(b, x0), set(b, x);
    i32c(b, bound), set(b, e);
    put(b, 0x03), put(b, 0x40);
    for (uint32_t i = 1 + rnd(g, 3); i > 0; i--)
        loop_access(g, x, p, q);
    for (uint32_t ptr = p; ptr <= q; ptr++)
        for (int twice = chance(g, 5); chance(g, 40) && twice >= 0; twice--)
            get(b, ptr), i32c(b, steps[rnd(g, 7)]), put(b, 0x6a), set(b, ptr);
    if (shape == 2) {
        get(b, x), i32c(b, -(int64_t)step), put(b, 0x6a), put(b, 0x22), put_u32(b, x);
    } else {
        uint8_t cmp = shape == 0 ? 0x47 : shape == 1 ? 0x49 : 0x4b; /* ne, lt_u, gt_u */
        if (bound_first)
            cmp = cmp == 0x49 ? 0x4b : cmp == 0x4b ? 0x49 : cmp;
        if (bound_first)
            bound_local ? get(b, e) : i32c(b, bound);
        get(b, x), i32c(b, shape < 2 ? (int64_t)step : -(int64_t)step), put(b, 0x6a);
        put(b, 0x22), put_u32(b, x);
        if (!bound_first)
            bound_local ? get(b, e) : i32c(b, bound);
        put(b, cmp);
    }
    put(b, 0x0d), put_u32(b, 0);
    put(b, 0x0b);
}

static void drop_results(gen *g, uint32_t f)
{
    for (int i = 0; i < g->fsig[f].nr; i++)
        put(g->b, 0x1a);
}

static void table_stmt(gen *g, int depth)
{
    buf *b = g->b;
    switch (rnd(g, 4)) {
    case 0: /* table.set 1 */
        small(g, depth, 1);
        put(b, 0xd2), put_u32(b, rnd(g, g->n_defined));
        put(b, 0x26), put_u32(b, 1);
        return;
    case 1: /* table.grow 1 */
        put(b, 0xd0), put(b, 0x70);
        small(g, depth, 3);
        put_sub(b, 0xfc, 0x0f), put_u32(b, 1);
        put(b, 0x1a);
        return;
    case 2: /* table.fill 1 */
        small(g, depth, 1);
        put(b, 0xd0), put(b, 0x70);
        small(g, depth, 1);
        put_sub(b, 0xfc, 0x11), put_u32(b, 1);
        return;
    default: /* table.size 1 */
        put_sub(b, 0xfc, 0x10), put_u32(b, 1);
        put(b, 0x1a);
    }
}

static void stmt(gen *g, int depth)
{
    buf *b = g->b;
    const opdesc *o;
    char t = LETTERS[rnd(g, 5)];
    int f;
    if (g->budget <= 0 || depth <= 0)
        return;
    g->budget--;
    switch (rnd(g, 23)) {
    case 0: case 1: case 2:
        if ((f = pick_local(g, t)) >= 0) {
            expr(g, t, depth);
            put(b, 0x21), put_u32(b, (uint32_t)f);
        }
        return;
    case 3:
        expr(g, t, depth);
        put(b, 0x24), put_u32(b, global_of(t));
        return;
    case 4: case 5: case 6: /* stores, memory.fill, memory.copy */
        if ((o = pick_op(g, 0)))
            emit_plain(g, o, depth, 1);
        return;
    case 7:
        expr(g, t, depth);
        put(b, 0x1a);
        return;
    case 8:
        expr(g, 'i', depth - 1);
        put(b, 0x04), put(b, 0x40);
        push_label(g, 0);
        stmts(g, 1 + (int)rnd(g, 3), depth - 1);
        if (chance(g, 50)) {
            put(b, 0x05);
            stmts(g, 1 + (int)rnd(g, 3), depth - 1);
        }
        put(b, 0x0b);
        g->n_labels--;
        return;
    case 9:
        put(b, 0x02), put(b, 0x40);
        push_label(g, 0);
        stmts(g, 1 + (int)rnd(g, 4), depth - 1);
        put(b, 0x0b);
        g->n_labels--;
        return;
    case 10: case 11:
        loop(g, depth);
        return;
    case 12: case 13:
        branch(g, depth);
        return;
    case 14:
        br_table(g, depth);
        return;
    case 15: { /* if (cond) return results */
        const sig *s = &g->fsig[g->fi];
        expr(g, 'i', depth - 1);
        put(b, 0x04), put(b, 0x40);
        push_label(g, 0);
        for (int i = 0; i < s->nr; i++)
            expr(g, s->r[i], depth - 1);
        put(b, 0x0f);
        put(b, 0x0b);
        g->n_labels--;
        return;
    }
    case 16: case 17:
        if ((f = callee(g, NULL, 0)) >= 0) {
            call(g, (uint32_t)f, depth, type_of_func((uint32_t)f));
            drop_results(g, (uint32_t)f);
        }
        return;
    case 18: /* memory.init of the passive or the active segment, data.drop */
        if (chance(g, 95)) { /* segment 0 is active, so dropped: mostly 1 */
            uint32_t offset;
            address(g, depth, &offset);
            small(g, depth, 0xf);
            small(g, depth, 0xf);
            put_sub(b, 0xfc, 0x08), put_u32(b, chance(g, 90)), put(b, 0);
        } else {
            put_sub(b, 0xfc, 0x09), put_u32(b, chance(g, 20));
        }
        return;
    case 19:
        table_stmt(g, depth);
        return;
    case 21:
        counted_loop(g, depth);
        return;
    case 20:
        if (chance(g, 10)) { /* if (cond) unreachable */
            expr(g, 'i', depth - 1);
            put(b, 0x04), put(b, 0x40), put(b, 0x00), put(b, 0x0b);
        }
        return;
    default:
        if (t != 'f' && t != 'F' && nanbits(g, t, depth) == 0)
            put(b, 0x1a);
        return;
    }
}

static void stmts(gen *g, int n, int depth)
{
    for (int i = 0; i < n; i++)
        stmt(g, depth);
}

/* ---- functions and module ------------------------------------------------ */

static void random_sig(gen *g, sig *s)
{
    s->np = (uint8_t)rnd(g, MAX_PARAMS + 1);
    s->nr = (uint8_t)(chance(g, 15) ? 2 : chance(g, 75) ? 1 : 0);
    for (int i = 0; i < s->np; i++)
        s->p[i] = LETTERS[rnd(g, 5)];
    for (int i = 0; i < s->nr; i++)
        s->r[i] = LETTERS[rnd(g, 5)];
}

static void put_sig(buf *s, const sig *t)
{
    put(s, 0x60);
    put_u32(s, t->np);
    for (int i = 0; i < t->np; i++)
        put(s, valtype(t->p[i]));
    put_u32(s, t->nr);
    for (int i = 0; i < t->nr; i++)
        put(s, valtype(t->r[i]));
}

/* The canonicalising helpers: x if x == x, else the canonical NaN. */
static void helper_body(buf *body, int h)
{
    static const uint8_t canon32[] = {0x20, 0x00, 0x43, 0x00, 0x00, 0xc0, 0x7f, 0x20,
                                      0x00, 0x20, 0x00, 0x5b, 0x1b, 0x0b};
    static const uint8_t canon64[] = {0x20, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f,
                                      0x20, 0x00, 0x20, 0x00, 0x61, 0x1b, 0x0b};
    buf code = {0};
    put(&code, 0); /* no locals */
    if (h == H_CANON32) {
        put_bytes(&code, canon32, sizeof canon32);
    } else if (h == H_CANON64) {
        put_bytes(&code, canon64, sizeof canon64);
    } else { /* bitselect(x, canonical NaNs, x == x lane-wise) */
        int f32 = h == H_CANONV4;
        put(&code, 0x20), put(&code, 0);
        put_sub(&code, 0xfd, 0x0c);
        for (int i = 0; i < (f32 ? 4 : 2); i++) {
            uint32_t n32 = 0x7fc00000;
            uint64_t n64 = 0x7ff8000000000000ull;
            put_bytes(&code, f32 ? (void *)&n32 : (void *)&n64, f32 ? 4 : 8);
        }
        put(&code, 0x20), put(&code, 0);
        put(&code, 0x20), put(&code, 0);
        put_sub(&code, 0xfd, f32 ? 0x41 : 0x47); /* f32x4.eq / f64x2.eq */
        put_sub(&code, 0xfd, 0x52);              /* v128.bitselect */
        put(&code, 0x0b);
    }
    put_u32(body, (uint32_t)code.n);
    put_bytes(body, code.p, code.n);
    free(code.p);
}

static void func_body(gen *g, buf *section)
{
    const sig *s = &g->fsig[g->fi];
    buf code = {0};
    uint32_t n_extra = rnd(g, MAX_EXTRA_LOCALS + 1);
    g->b = &code;
    g->n_locals = 0;
    g->n_labels = 0;
    g->budget = 40 + (int)rnd(g, 160);
    for (int i = 0; i < s->np; i++)
        g->local[g->n_locals++] = s->p[i];
    put_u32(&code, n_extra + 1);
    for (uint32_t i = 0; i < n_extra; i++) {
        char t = LETTERS[rnd(g, 5)];
        g->local[g->n_locals++] = t;
        put_u32(&code, 1);
        put(&code, valtype(t));
    }
    g->counted = g->n_locals; /* not in g->local: no other statement touches them */
    put_u32(&code, 4);
    put(&code, 0x7f);
    /* no fuel: return zeros; else spend one */
    put(&code, 0x23), put_u32(&code, G_FUEL), put(&code, 0x45), put(&code, 0x04), put(&code, 0x40);
    for (int i = 0; i < s->nr; i++) {
        uint8_t zeros[16] = {0};
        switch (s->r[i]) {
        case 'i': put(&code, 0x41), put(&code, 0); break;
        case 'I': put(&code, 0x42), put(&code, 0); break;
        case 'f': put(&code, 0x43), put_bytes(&code, zeros, 4); break;
        case 'F': put(&code, 0x44), put_bytes(&code, zeros, 8); break;
        default: put_sub(&code, 0xfd, 0x0c), put_bytes(&code, zeros, 16);
        }
    }
    put(&code, 0x0f), put(&code, 0x0b);
    put(&code, 0x23), put_u32(&code, G_FUEL), put(&code, 0x41), put_s64(&code, 1), put(&code, 0x6b);
    put(&code, 0x24), put_u32(&code, G_FUEL);
    stmts(g, 2 + (int)rnd(g, 8), 4);
    for (int i = 0; i < s->nr; i++)
        expr(g, s->r[i], 4);
    put(&code, 0x0b);
    put_u32(section, (uint32_t)code.n);
    put_bytes(section, code.p, code.n);
    free(code.p);
}

/* An export: set the fuel, call f with constants, results as bits. */
static void wrapper_body(gen *g, uint32_t f, buf *section)
{
    const sig *s = &g->fsig[f];
    buf code = {0};
    g->b = &code;
    put_u32(&code, s->nr); /* one local per result, to convert in order */
    for (int i = 0; i < s->nr; i++)
        put_u32(&code, 1), put(&code, valtype(s->r[i]));
    put(&code, 0x41), put_s64(&code, FUEL), put(&code, 0x24), put_u32(&code, G_FUEL);
    for (int i = 0; i < s->np; i++)
        emit_const(g, s->p[i]);
    put(&code, 0x10), put_u32(&code, f);
    for (int i = s->nr - 1; i >= 0; i--)
        put(&code, 0x21), put_u32(&code, (uint32_t)i);
    for (int i = 0; i < s->nr; i++) {
        put(&code, 0x20), put_u32(&code, (uint32_t)i);
        if (s->r[i] == 'f')
            put(&code, 0xbc);
        if (s->r[i] == 'F')
            put(&code, 0xbd);
    }
    put(&code, 0x23), put_u32(&code, G_I32);
    put(&code, 0x0b);
    put_u32(section, (uint32_t)code.n);
    put_bytes(section, code.p, code.n);
    free(code.p);
}

static char bits_type(char t) { return t == 'f' ? 'i' : t == 'F' ? 'I' : t; }

void gen_exec_module(uint64_t seed, buf *out)
{
    static const char helper_sigs[N_HELPERS] = {'f', 'F', 'V', 'V'};
    static const uint8_t header[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    gen g;
    buf s = {0};
    uint32_t n_gen, n_wrap, wrapped[64];
    load_ops();
    memset(&g, 0, sizeof g);
    g.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    n_gen = 3 + rnd(&g, 8);
    n_wrap = n_gen + rnd(&g, n_gen + 1);
    g.n_defined = N_HELPERS + n_gen;
    for (int h = 0; h < N_HELPERS; h++) {
        g.fsig[h].np = g.fsig[h].nr = 1;
        g.fsig[h].p[0] = g.fsig[h].r[0] = helper_sigs[h];
    }
    for (uint32_t f = N_HELPERS; f < g.n_defined; f++)
        random_sig(&g, &g.fsig[f]);
    for (uint32_t w = 0; w < n_wrap; w++) {
        sig *ws = &g.fsig[g.n_defined + w];
        wrapped[w] = N_HELPERS + (w < n_gen ? w : rnd(&g, n_gen));
        ws->np = 0;
        ws->nr = g.fsig[wrapped[w]].nr;
        for (int i = 0; i < ws->nr; i++)
            ws->r[i] = bits_type(g.fsig[wrapped[w]].r[i]);
        ws->r[ws->nr++] = 'i'; /* G_I32, where counted loops sum what they load */
    }
    put_bytes(out, header, sizeof header);
    /* types: one per function, type i is function i's */
    put_u32(&s, g.n_defined + n_wrap);
    for (uint32_t f = 0; f < g.n_defined + n_wrap; f++)
        put_sig(&s, &g.fsig[f]);
    put_section(out, 1, &s);
    put_u32(&s, g.n_defined + n_wrap);
    for (uint32_t f = 0; f < g.n_defined + n_wrap; f++)
        put_u32(&s, f);
    put_section(out, 3, &s);
    /* tables: 0 holds every defined function then two null slots; 1 is
     * for table instructions */
    put_u32(&s, 2);
    put(&s, 0x70), put(&s, 1), put_u32(&s, g.n_defined + 2), put_u32(&s, g.n_defined + 2);
    put(&s, 0x70), put(&s, 1), put_u32(&s, 2), put_u32(&s, 6);
    put_section(out, 4, &s);
    put_u32(&s, 1);
    put(&s, 1), put_u32(&s, 1), put_u32(&s, 4);
    put_section(out, 5, &s);
    /* globals: fuel, one mutable of each type, an immutable i32 */
    put_u32(&s, N_GLOBALS);
    for (int i = 0; i < N_GLOBALS; i++) {
        char t = i == G_FUEL || i == G_CONST ? 'i' : LETTERS[i - 1];
        g.b = &s;
        put(&s, valtype(t));
        put(&s, i != G_CONST);
        emit_const(&g, t);
        put(&s, 0x0b);
    }
    put_section(out, 6, &s);
    put_u32(&s, n_wrap);
    for (uint32_t w = 0; w < n_wrap; w++) {
        char name[16];
        snprintf(name, sizeof name, "w%u", w);
        put_name(&s, name);
        put(&s, 0x00);
        put_u32(&s, g.n_defined + w);
    }
    put_section(out, 7, &s);
    put_u32(&s, 1); /* elements: table 0 from slot 0 */
    put(&s, 0x00), put(&s, 0x41), put(&s, 0x00), put(&s, 0x0b);
    put_u32(&s, g.n_defined);
    for (uint32_t f = 0; f < g.n_defined; f++)
        put_u32(&s, f);
    put_section(out, 9, &s);
    put_u32(&s, 2);
    put_section(out, 12, &s); /* data count */
    put_u32(&s, g.n_defined + n_wrap);
    for (uint32_t f = 0; f < g.n_defined; f++) {
        g.fi = f;
        if (f < N_HELPERS)
            helper_body(&s, (int)f);
        else
            func_body(&g, &s);
    }
    for (uint32_t w = 0; w < n_wrap; w++)
        wrapper_body(&g, wrapped[w], &s);
    put_section(out, 10, &s);
    /* data: 48 bytes active at 16, 32 passive */
    put_u32(&s, 2);
    put(&s, 0x00), put(&s, 0x41), put_s64(&s, 16), put(&s, 0x0b), put_u32(&s, 48);
    for (int i = 0; i < 48; i++)
        put(&s, (uint8_t)rnd(&g, 256));
    put(&s, 0x01), put_u32(&s, 32);
    for (int i = 0; i < 32; i++)
        put(&s, (uint8_t)rnd(&g, 256));
    put_section(out, 11, &s);
    free(s.p);
}
