/*
 * gen_code.c — the random functions' code for gen_exec.c: leaves,
 * expressions and statements, every plain instruction taken from the
 * validator's opcode table (validator/opcodes.def), and the exception
 * handling instructions. Counted loops are gen_loop.c's.
 */
#include "gen_private.h"

#include "validator/validator.h"

#include <string.h>

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

static int letter_index(char t)
{
    const char *p = t ? strchr(LETTERS, t) : NULL;
    return p ? (int)(p - LETTERS) : 5;
}

uint8_t gen_valtype(char t)
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
void gen_load_ops(void)
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

uint32_t gen_nan32(gen *g)
{
    uint32_t payload = (uint32_t)rng_next(&g->rng) & 0x7fffffu;
    return (chance(g, 50) ? 0xff800000u : 0x7f800000u) | (payload ? payload : 1);
}

uint64_t gen_nan64(gen *g)
{
    uint64_t payload = rng_next(&g->rng) & 0xfffffffffffffull;
    return (chance(g, 50) ? 0xfff0000000000000ull : 0x7ff0000000000000ull) |
           (payload ? payload : 1);
}

/* Under GEN_RAW_NANS a quarter of the constants are NaNs of any bits
 * (floats, and integers that reinterprets turn into floats). */
static uint32_t const32(gen *g) { return g->raw && chance(g, 25) ? gen_nan32(g) : interesting32(g); }
static uint64_t const64(gen *g) { return g->raw && chance(g, 25) ? gen_nan64(g) : interesting64(g); }

void gen_const(gen *g, char t)
{
    buf *b = g->b;
    switch (t) {
    case 'i': put(b, 0x41); put_s64(b, (int32_t)const32(g)); return;
    case 'I': put(b, 0x42); put_s64(b, (int64_t)const64(g)); return;
    case 'f': {
        uint32_t x = const32(g);
        put(b, 0x43);
        put_bytes(b, &x, 4);
        return;
    }
    case 'F': {
        uint64_t x = const64(g);
        put(b, 0x44);
        put_bytes(b, &x, 8);
        return;
    }
    default: {
        put_sub(b, 0xfd, 0x0c);
        if (chance(g, 50)) { /* one interesting lane value, splatted by hand */
            uint32_t x = const32(g);
            for (int i = 0; i < 4; i++)
                put_bytes(b, &x, 4);
        } else if (g->raw && chance(g, 30)) { /* four lanes of their own */
            for (int i = 0; i < 4; i++) {
                uint32_t x = const32(g);
                put_bytes(b, &x, 4);
            }
        } else {
            for (int i = 0; i < 2; i++) {
                uint64_t x = const64(g);
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
        gen_const(g, t);
    }
}

/* ---- expressions ------------------------------------------------------- */


void gen_i32_and(gen *g, uint32_t mask)
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
        gen_expr(g, 'i', depth - 1);
        gen_i32_and(g, 0xffe0);
    } else if (r < 96) {
        gen_expr(g, 'i', depth - 1);
        gen_i32_and(g, 0x3ffe0);
    } else if (r < 98) {
        put(g->b, 0x41);
        put_s64(g->b, (int32_t)(0x10000 - rnd(g, 24)));
    } else if (r < 99) {
        gen_expr(g, 'i', depth - 1);
    } else {
        gen_expr(g, 'i', depth - 1);
        gen_i32_and(g, 0xff);
        *offset = 0xfffffff0u + rnd(g, 16);
    }
}

/* A small i32 (a length or a page count): anything, masked. */
static void small(gen *g, int depth, uint32_t mask)
{
    gen_expr(g, 'i', depth - 1);
    gen_i32_and(g, chance(g, 98) ? mask : 0xffffffffu);
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
            gen_expr(g, o->pops[i], depth - 1);
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
    if (canon && !g->raw && (h = canon_helper(o)) >= 0) {
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

static int uses_v128(const opdesc *o)
{
    return o->push == 'V' || memchr(o->pops, 'V', o->n_pops);
}

static const opdesc *pick_op(gen *g, char push)
{
    int k = letter_index(push);
    const opdesc *o;
    if (!n_by_push[k])
        return NULL;
    do
        o = &ops[by_push[k][rnd(g, n_by_push[k])]];
    while ((traps_often(o) && chance(g, 75)) || (g->no_simd && uses_v128(o)));
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
    if (t == 'i')
        put(g->b, 0xbc); /* i32.reinterpret_f32 */
    if (t == 'I')
        put(g->b, 0xbd); /* i64.reinterpret_f64 */
    if (g->raw) /* zvm against itself: every bit is compared */
        return 0;
    if (t == 'i') {
        gen_i32_and(g, 0x7fc00000);
    } else if (t == 'I') {
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

static void block_type(gen *g, char t) { put(g->b, t ? gen_valtype(t) : 0x40); }

void gen_push_label(gen *g, char t, char kind)
{
    g->lkind[g->n_labels] = kind;
    g->label[g->n_labels++] = t;
}

static void push_label(gen *g, char t) { gen_push_label(g, t, 0); }

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
        gen_expr(g, s->p[i], depth - 1);
    if (chance(g, 75)) {
        put(g->b, 0x10);
        put_u32(g->b, f);
        return;
    }
    switch (rnd(g, 20)) {
    case 0:
        gen_expr(g, 'i', depth - 1);
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

/* ---- exceptions ------------------------------------------------------------
 * The exception handling instructions clang emits for setjmp/longjmp
 * (try, catch, catch_all, throw, rethrow, delegate), with the module's
 * tags (gen_exec.c), under GEN_EXCEPTIONS. A throw is taken a quarter of
 * the time, so that most calls still run to their end; one that no try
 * catches ends the export with an uncaught exception on both sides. */

/* cond is on the stack: nonzero a quarter of the time */
static void rarely(gen *g) { gen_i32_and(g, 3), put(g->b, 0x45); }

/* The values of tag k, just caught: into locals of their types, or dropped. */
static void catch_values(gen *g, uint32_t k)
{
    for (int i = g->tag[k].np - 1; i >= 0; i--) {
        int l = pick_local(g, g->tag[k].p[i]);
        if (l >= 0 && chance(g, 60))
            put(g->b, 0x21), put_u32(g->b, (uint32_t)l);
        else
            put(g->b, 0x1a);
    }
}

/* if (rarely) throw k(values) */
static void throw_stmt(gen *g, int depth)
{
    uint32_t k = rnd(g, N_TAGS);
    gen_expr(g, 'i', depth - 1);
    rarely(g);
    put(g->b, 0x04), put(g->b, 0x40);
    push_label(g, 0);
    for (int i = 0; i < g->tag[k].np; i++)
        gen_expr(g, g->tag[k].p[i], depth - 1);
    put(g->b, 0x08), put_u32(g->b, k);
    put(g->b, 0x0b);
    g->n_labels--;
}

/* if (rarely) rethrow what an enclosing catch block caught */
static void rethrow_stmt(gen *g, int depth)
{
    uint32_t c[MAX_LABELS], n = 0, i;
    for (i = 0; i < g->n_labels; i++)
        if (g->lkind[i] == 'c')
            c[n++] = i;
    if (!n)
        return;
    i = c[rnd(g, n)];
    gen_expr(g, 'i', depth - 1);
    rarely(g);
    put(g->b, 0x04), put(g->b, 0x40);
    push_label(g, 0);
    put(g->b, 0x09), put_u32(g->b, g->n_labels - 1 - i);
    put(g->b, 0x0b);
    g->n_labels--;
}

/* try (result t, or void when t is 0): a body, then catches of random
 * tags, catch_all, or (void only) delegate to any enclosing label, the
 * function's included. Each clause yields t. */
static void try_block(gen *g, char t, int depth)
{
    buf *b = g->b;
    uint32_t n_catch = rnd(g, 3);
    int all = chance(g, 40), delegate = !t && !n_catch && !all && chance(g, 50);
    if (t && !n_catch && !all)
        n_catch = 1;
    put(b, 0x06);
    block_type(g, t);
    gen_push_label(g, t, 't');
    gen_stmts(g, 1 + (int)rnd(g, 4), depth - 1);
    if (t)
        gen_expr(g, t, depth - 1);
    if (delegate) {
        g->n_labels--;
        put(b, 0x18), put_u32(b, rnd(g, g->n_labels + 1));
        return;
    }
    g->lkind[g->n_labels - 1] = 'c';
    for (uint32_t i = 0; i < n_catch; i++) {
        uint32_t k = rnd(g, N_TAGS);
        put(b, 0x07), put_u32(b, k);
        catch_values(g, k);
        gen_stmts(g, (int)rnd(g, 3), depth - 1);
        if (chance(g, 30))
            rethrow_stmt(g, depth);
        if (t)
            gen_expr(g, t, depth - 1);
    }
    if (all) {
        put(b, 0x19);
        gen_stmts(g, (int)rnd(g, 3), depth - 1);
        if (t)
            gen_expr(g, t, depth - 1);
    }
    put(b, 0x0b);
    g->n_labels--;
}

void gen_expr(gen *g, char t, int depth)
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
        gen_expr(g, t, depth - 1);
        gen_expr(g, t, depth - 1);
        gen_expr(g, 'i', depth - 1);
        if (t == 'V' || chance(g, 30)) {
            put(g->b, 0x1c);
            put(g->b, 1);
            put(g->b, gen_valtype(t));
        } else {
            put(g->b, 0x1b);
        }
        return;
    case 10: /* block with a result; its body may branch out with a value */
        put(g->b, 0x02);
        block_type(g, t);
        push_label(g, t);
        gen_stmts(g, (int)rnd(g, 3), depth - 1);
        gen_expr(g, t, depth - 1);
        put(g->b, 0x0b);
        g->n_labels--;
        return;
    case 11:
        gen_expr(g, 'i', depth - 1);
        put(g->b, 0x04);
        block_type(g, t);
        push_label(g, t);
        gen_expr(g, t, depth - 1);
        put(g->b, 0x05);
        gen_expr(g, t, depth - 1);
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
            gen_expr(g, t, depth - 1);
            put(g->b, 0x22);
            put_u32(g->b, (uint32_t)f);
            return;
        }
        break;
    case 16:
        if (g->eh) {
            try_block(g, t, depth);
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
        gen_expr(g, t, depth - 1);
    gen_expr(g, 'i', depth - 1);
    put(g->b, 0x0d);
    put_u32(g->b, k);
    if (t && t != 'L')
        put(g->b, 0x1a);
}

/* if (cond) { br_table over void labels } */
static void br_table(gen *g, int depth)
{
    uint32_t targets[8], n = 0;
    gen_expr(g, 'i', depth - 1);
    put(g->b, 0x04);
    put(g->b, 0x40);
    push_label(g, 0);
    for (uint32_t i = 0; i < g->n_labels && n < 8; i++)
        if (!g->label[i] || g->label[i] == 'L')
            targets[n++] = g->n_labels - 1 - i;
    gen_expr(g, 'i', depth - 1);
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
    gen_stmts(g, 1 + (int)rnd(g, 4), depth - 1);
    gen_expr(g, 'i', depth - 1);
    put(b, 0x0d), put_u32(b, 0);
    put(b, 0x0b);
    put(b, 0x0b);
    g->n_labels -= 2;
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
    char t = rnd_type(g);
    int f;
    if (g->budget <= 0 || depth <= 0)
        return;
    g->budget--;
    switch (rnd(g, g->eh ? 29 : 23)) { /* 23-28: exceptions */
    case 0: case 1: case 2:
        if ((f = pick_local(g, t)) >= 0) {
            gen_expr(g, t, depth);
            put(b, 0x21), put_u32(b, (uint32_t)f);
        }
        return;
    case 3:
        gen_expr(g, t, depth);
        put(b, 0x24), put_u32(b, global_of(t));
        return;
    case 4: case 5: case 6: /* stores, memory.fill, memory.copy */
        if ((o = pick_op(g, 0)))
            emit_plain(g, o, depth, 1);
        return;
    case 7:
        gen_expr(g, t, depth);
        put(b, 0x1a);
        return;
    case 8:
        gen_expr(g, 'i', depth - 1);
        put(b, 0x04), put(b, 0x40);
        push_label(g, 0);
        gen_stmts(g, 1 + (int)rnd(g, 3), depth - 1);
        if (chance(g, 50)) {
            put(b, 0x05);
            gen_stmts(g, 1 + (int)rnd(g, 3), depth - 1);
        }
        put(b, 0x0b);
        g->n_labels--;
        return;
    case 9:
        put(b, 0x02), put(b, 0x40);
        push_label(g, 0);
        gen_stmts(g, 1 + (int)rnd(g, 4), depth - 1);
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
        gen_expr(g, 'i', depth - 1);
        put(b, 0x04), put(b, 0x40);
        push_label(g, 0);
        for (int i = 0; i < s->nr; i++)
            gen_expr(g, s->r[i], depth - 1);
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
        gen_counted_loop(g, depth);
        return;
    case 23:
        try_block(g, 0, depth);
        return;
    case 24: case 25: case 26:
        throw_stmt(g, depth);
        return;
    case 27: case 28:
        rethrow_stmt(g, depth);
        return;
    case 20:
        if (chance(g, 10)) { /* if (cond) unreachable */
            gen_expr(g, 'i', depth - 1);
            put(b, 0x04), put(b, 0x40), put(b, 0x00), put(b, 0x0b);
        }
        return;
    default:
        if (t != 'f' && t != 'F' && nanbits(g, t, depth) == 0)
            put(b, 0x1a);
        return;
    }
}

void gen_stmts(gen *g, int n, int depth)
{
    for (int i = 0; i < n; i++)
        stmt(g, depth);
}
