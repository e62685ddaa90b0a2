/*
 * gen_exec.c — random valid modules for differential execution: the
 * module (types, functions, tables, globals, exports, data) here, the
 * functions' code in gen_code.c and gen_loop.c.
 *
 * Code is generated top-down for the type its consumer wants, and every
 * plain instruction comes from the validator's opcode table
 * (validator/opcodes.def), so the whole numeric and SIMD instruction set is
 * covered without a list here. Control (blocks, loops, if, br_if,
 * br_table, return), calls, call_indirect, locals, globals, memory (with
 * in-bounds, boundary and out-of-bounds addresses), bulk memory, tables
 * and references are emitted by hand, and so are counted loops of the
 * shapes engine/translate_loop.c copies, with addresses that wrap, run off
 * the memory or go below 0, and (GEN_EXCEPTIONS) the exception handling
 * instructions (try with catch, catch_all or delegate, throw, rethrow)
 * over four tags. Every export also returns G_I32, into which those loops
 * sum what they load.
 *
 * What makes the results comparable across engines:
 * - Termination: one fuel global, reset by every export; each loop
 *   iteration and each call spends one unit, and a function entered with
 *   no fuel returns zeros (a counted loop ends within 33 rounds instead). Calls only go to lower-numbered functions, and
 *   call_indirect only reaches lower table slots, so there is no recursion.
 * - NaN bits: the spec leaves NaN payloads and signs open. Every
 *   float-producing instruction's result goes through a helper that turns
 *   any NaN into the canonical one, except under "nanbits", which keeps
 *   only the bits the spec fixes (exponent and quiet bit) of an unhelped
 *   result, so that quieting is still tested.
 * - Exports take no parameters and return f32/f64 as their bits.
 */
#include "gen_private.h"

#include <string.h>

static void random_sig(gen *g, sig *s)
{
    s->np = (uint8_t)rnd(g, MAX_PARAMS + 1);
    s->nr = (uint8_t)(chance(g, 15) ? 2 : chance(g, 75) ? 1 : 0);
    for (int i = 0; i < s->np; i++)
        s->p[i] = rnd_type(g);
    for (int i = 0; i < s->nr; i++)
        s->r[i] = rnd_type(g);
}

static void put_sig(buf *s, const sig *t)
{
    put(s, 0x60);
    put_u32(s, t->np);
    for (int i = 0; i < t->np; i++)
        put(s, gen_valtype(t->p[i]));
    put_u32(s, t->nr);
    for (int i = 0; i < t->nr; i++)
        put(s, gen_valtype(t->r[i]));
}

/* The canonicalising helpers: x if x == x, else the canonical NaN.
 * Without SIMD, the v128 ones are scalar copies (nothing calls them). */
static void helper_body(const gen *g, buf *body, int h)
{
    static const uint8_t canon32[] = {0x20, 0x00, 0x43, 0x00, 0x00, 0xc0, 0x7f, 0x20,
                                      0x00, 0x20, 0x00, 0x5b, 0x1b, 0x0b};
    static const uint8_t canon64[] = {0x20, 0x00, 0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f,
                                      0x20, 0x00, 0x20, 0x00, 0x61, 0x1b, 0x0b};
    buf code = {0};
    put(&code, 0); /* no locals */
    if (g->no_simd && h >= H_CANONV4)
        h -= H_CANONV4;
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

/* A zero of type t. */
static void put_zero(buf *code, char t)
{
    uint8_t zeros[16] = {0};
    switch (t) {
    case 'i': put(code, 0x41), put(code, 0); break;
    case 'I': put(code, 0x42), put(code, 0); break;
    case 'f': put(code, 0x43), put_bytes(code, zeros, 4); break;
    case 'F': put(code, 0x44), put_bytes(code, zeros, 8); break;
    default: put_sub(code, 0xfd, 0x0c), put_bytes(code, zeros, 16);
    }
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
        char t = rnd_type(g);
        g->local[g->n_locals++] = t;
        put_u32(&code, 1);
        put(&code, gen_valtype(t));
    }
    g->counted = g->n_locals; /* not in g->local: no other statement touches them */
    put_u32(&code, 4);
    put(&code, 0x7f);
    /* no fuel: return zeros; else spend one */
    put(&code, 0x23), put_u32(&code, G_FUEL), put(&code, 0x45), put(&code, 0x04), put(&code, 0x40);
    for (int i = 0; i < s->nr; i++)
        put_zero(&code, s->r[i]);
    put(&code, 0x0f), put(&code, 0x0b);
    put(&code, 0x23), put_u32(&code, G_FUEL), put(&code, 0x41), put_s64(&code, 1), put(&code, 0x6b);
    put(&code, 0x24), put_u32(&code, G_FUEL);
    gen_stmts(g, 2 + (int)rnd(g, 8), 4);
    for (int i = 0; i < s->nr; i++)
        gen_expr(g, s->r[i], 4);
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
        put_u32(&code, 1), put(&code, gen_valtype(s->r[i]));
    put(&code, 0x41), put_s64(&code, FUEL), put(&code, 0x24), put_u32(&code, G_FUEL);
    for (int i = 0; i < s->np; i++)
        gen_const(g, s->p[i]);
    if (!g->eh || chance(g, 50)) {
        put(&code, 0x10), put_u32(&code, f);
    } else { /* an exception f throws becomes zeros: the export goes on to the next */
        put(&code, 0x06), put_u32(&code, f); /* try (type f): the arguments are its params */
        put(&code, 0x10), put_u32(&code, f);
        put(&code, 0x19);
        for (int i = 0; i < s->nr; i++)
            put_zero(&code, s->r[i]);
        put(&code, 0x0b);
    }
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

void gen_exec_module(uint64_t seed, buf *out) { gen_exec_module_ex(seed, 0, out); }

void gen_exec_module_ex(uint64_t seed, unsigned flags, buf *out)
{
    static const char helper_sigs[2][N_HELPERS] = {{'f', 'F', 'V', 'V'}, {'f', 'F', 'f', 'F'}};
    static const uint8_t header[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    gen g;
    buf s = {0};
    uint32_t n_gen, n_wrap, wrapped[64];
    gen_load_ops();
    memset(&g, 0, sizeof g);
    g.raw = !!(flags & GEN_RAW_NANS);
    g.no_simd = !!(flags & GEN_NO_SIMD);
    g.eh = !!(flags & GEN_EXCEPTIONS);
    g.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    n_gen = 3 + rnd(&g, 8);
    n_wrap = n_gen + rnd(&g, n_gen + 1);
    g.n_defined = N_HELPERS + n_gen;
    for (int h = 0; h < N_HELPERS; h++) {
        g.fsig[h].np = g.fsig[h].nr = 1;
        g.fsig[h].p[0] = g.fsig[h].r[0] = helper_sigs[g.no_simd][h];
    }
    for (uint32_t f = N_HELPERS; f < g.n_defined; f++)
        random_sig(&g, &g.fsig[f]);
    g.tag[1].np = 1, g.tag[1].p[0] = 'i';
    for (int k = 2; g.eh && k < N_TAGS; k++) {
        g.tag[k].np = (uint8_t)(1 + rnd(&g, MAX_PARAMS));
        for (int i = 0; i < g.tag[k].np; i++)
            g.tag[k].p[i] = rnd_type(&g);
    }
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
    /* types: one per function, type i is function i's; then the tags' */
    put_u32(&s, g.n_defined + n_wrap + (g.eh ? N_TAGS : 0));
    for (uint32_t f = 0; f < g.n_defined + n_wrap; f++)
        put_sig(&s, &g.fsig[f]);
    for (int k = 0; g.eh && k < N_TAGS; k++)
        put_sig(&s, &g.tag[k]);
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
    if (g.eh) {
        put_u32(&s, N_TAGS); /* tags: an exception each (attribute 0) */
        for (uint32_t k = 0; k < N_TAGS; k++)
            put(&s, 0), put_u32(&s, g.n_defined + n_wrap + k);
        put_section(out, 13, &s);
    }
    /* globals: fuel, one mutable of each type, an immutable i32 */
    put_u32(&s, N_GLOBALS);
    for (int i = 0; i < N_GLOBALS; i++) {
        char t = i == G_FUEL || i == G_CONST ? 'i' : i == G_V128 && g.no_simd ? 'I' : LETTERS[i - 1];
        g.b = &s;
        put(&s, gen_valtype(t));
        put(&s, i != G_CONST);
        gen_const(&g, t);
        put(&s, 0x0b);
    }
    put_section(out, 6, &s);
    put_u32(&s, n_wrap + (g.raw ? G_CONST - G_I32 : 0));
    for (uint32_t w = 0; w < n_wrap; w++) {
        char name[16];
        snprintf(name, sizeof name, "w%u", w);
        put_name(&s, name);
        put(&s, 0x00);
        put_u32(&s, g.n_defined + w);
    }
    for (uint32_t i = G_I32; g.raw && i < G_CONST; i++) { /* their bits are compared */
        char name[16];
        snprintf(name, sizeof name, "g%u", i);
        put_name(&s, name);
        put(&s, 0x03);
        put_u32(&s, i);
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
            helper_body(&g, &s, (int)f);
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
