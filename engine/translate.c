/*
 * translate.c — WebAssembly to C: the functions' bodies. The module-level
 * output (types, trampolines, data, descriptor) and the split into units
 * are translate_module.c's.
 *
 * Each wasm function becomes a C function taking the instance context
 * first (static; hidden, so that other units can call it, when split).
 * The operand stack is resolved at translation time: the value at depth
 * k of type t lives in the C variable <t><k> (i3, l0, v2, ...), so gcc
 * sees plain SSA-friendly locals and allocates registers.
 * Blocks become labels and gotos; a branch copies its values down into
 * the target's slots first. Code after an unconditional branch is dead
 * and is skipped until the enclosing `else` or `end`.
 *
 * Simple instructions (the validator's table gives them a signature)
 * become calls of `zv_op_<name>` from rt_ops.h/rt_simd.h, so the
 * translator holds no per-instruction semantics; control, variables,
 * calls, references and tables are emitted here.
 *
 * The module is trusted: zv_val_module_new accepted it, so decoding
 * cannot fail and types are only asserted.
 */
#include "engine/engine.h"
#include "engine/internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint16_t op;        /* block, loop, if_, else_; 0 for the function */
    uint32_t label;     /* numeric label id */
    uint32_t height;    /* stack height below the params */
    uint32_t np, nr;
    const uint8_t *params, *results;
    uint8_t dead;       /* the code now being read in this frame is unreachable */
    uint8_t branched;   /* some branch targets the end label */
    uint8_t then_live;  /* if/else: the then-branch fell through */
} tframe;

typedef struct {
    FILE *out;  /* the function body being written */
    const zv_val_module *m;
    const zv_eng_translate_opts *opts;
    uint8_t *stack; /* value types of the operand stack */
    uint32_t sp, cap;
    tframe *frames;
    uint32_t nf, cap_frames;
    uint32_t max_depth[6]; /* per variable class: deepest slot used + 1 */
    uint32_t next_label;
    uint8_t *locals; /* the current function's local types, params first */
    uint32_t n_locals;
    const uint8_t *pos, *end; /* the code after the instruction being translated */
    zv_loop_plan plan;        /* translate_loop.c */
    uint32_t fast_label;      /* non-zero while writing a loop's fast copy: its label + 1 */
    uint32_t fast_acc;        /* memory instructions written so far in the copy */
} tr;

static int type_class(uint8_t t)
{
    switch (t) {
    case ZV_I32: return 0;
    case ZV_I64: return 1;
    case ZV_F32: return 2;
    case ZV_F64: return 3;
    case ZV_V128: return 4;
    default: return 5; /* references */
    }
}

static const char class_prefix[6] = {'i', 'l', 'f', 'd', 'v', 'r'};
static const char *const class_ctype[6] = {"uint32_t", "uint64_t", "float",
                                           "double",   "zv_v128",  "void *"};
static const char *const class_field[6] = {"i32", "i64", "f32", "f64", "v128", "ref"};

const char *zv_eng_ctype(uint8_t t) { return class_ctype[type_class(t)]; }
const char *zv_eng_value_field(uint8_t t) { return class_field[type_class(t)]; }

/* A block's type as params and results (validated code only). */
static void zv_eng_block_sig(const zv_val_module *m, const zv_val_op *op, const uint8_t **params,
                             uint32_t *np, const uint8_t **results, uint32_t *nr);

/* ---- the compile-time operand stack -------------------------------------- */

static int need(tr *t, uint32_t n)
{
    if (t->sp + n > t->cap) {
        uint32_t cap = t->cap ? t->cap : 64;
        uint8_t *p;
        while (cap < t->sp + n)
            cap *= 2;
        if (!(p = realloc(t->stack, cap)))
            return -ENOMEM;
        t->stack = p;
        t->cap = cap;
    }
    return 0;
}

/* The variable of stack slot k holding a value of type ty, e.g. "i3". */
static void var_typed(tr *t, uint32_t k, uint8_t ty, char buf[16])
{
    int c = type_class(ty);
    snprintf(buf, 16, "%c%u", class_prefix[c], k);
    if (k + 1 > t->max_depth[c])
        t->max_depth[c] = k + 1;
}

/* The variable of stack slot k as the stack now types it. */
static void var(tr *t, uint32_t k, char buf[16]) { var_typed(t, k, t->stack[k], buf); }

static int push(tr *t, uint8_t ty, char buf[16])
{
    int rc = need(t, 1);
    if (rc)
        return rc;
    t->stack[t->sp++] = ty;
    if (buf)
        var(t, t->sp - 1, buf);
    return 0;
}

/* Copy n values from the top of the stack down to slot `to`. */
static void move_down(tr *t, uint32_t to, uint32_t n)
{
    uint32_t from = t->sp - n;
    if (from == to)
        return;
    for (uint32_t i = 0; i < n; i++) {
        char d[16], s[16];
        /* the target slot takes the moved value's type, whatever it holds now */
        var_typed(t, to + i, t->stack[from + i], d);
        var(t, from + i, s);
        fprintf(t->out, "  %s = %s;\n", d, s);
    }
}

/* Set slots [at, at+n) to the given types (after a block or call). */
static int set_types(tr *t, uint32_t at, const uint8_t *types, uint32_t n)
{
    int rc;
    t->sp = at;
    if ((rc = need(t, n)))
        return rc;
    if (n) /* an empty type list may be NULL */
        memcpy(t->stack + at, types, n);
    t->sp = at + n;
    return 0;
}

/* ---- emission helpers ----------------------------------------------------- */

/* `return` with the top nr values as the function's results. */
static void emit_return(tr *t, uint32_t nr)
{
    char v[16];
    if (nr == 0) {
        fprintf(t->out, "  return;\n");
    } else if (nr == 1) {
        var(t, t->sp - 1, v);
        fprintf(t->out, "  return %s;\n", v);
    } else {
        fprintf(t->out, "  { zv_res%u r_;", t->m->funcs[t->frames[0].label].type_idx);
        for (uint32_t i = 0; i < nr; i++) {
            var(t, t->sp - nr + i, v);
            fprintf(t->out, " r_.r%u = %s;", i, v);
        }
        fprintf(t->out, " return r_; }\n");
    }
}

/* Branch to frame f (depth counted from the top): values, then goto. */
static void emit_branch(tr *t, tframe *f)
{
    if (f == &t->frames[0]) {
        emit_return(t, f->nr);
    } else if (f->op == ZV_OP_loop) {
        move_down(t, f->height, f->np);
        fprintf(t->out, "  goto L%u_top;\n", f->label);
    } else {
        move_down(t, f->height, f->nr);
        f->branched = 1;
        fprintf(t->out, "  goto L%u_end;\n", f->label);
    }
}

/* Arguments for a call of type ty: the top n_params slots, comma-separated. */
static void emit_args(tr *t, const zv_val_functype *ty)
{
    for (uint32_t i = 0; i < ty->n_params; i++) {
        char v[16];
        var(t, t->sp - ty->n_params + i, v);
        fprintf(t->out, ", %s", v);
    }
}

/* A call of type type_idx through `fn` with context `ctx`, at most one result. */
static int emit_call(tr *t, uint32_t type_idx, const char *fn, const char *ctx)
{
    const zv_val_functype *ty = &t->m->types[type_idx];
    uint32_t base = t->sp - ty->n_params;
    char v[16];
    int rc;
    fprintf(t->out, "  {");
    if (ty->n_results == 1)
        fprintf(t->out, " %s r_ =", zv_eng_ctype(ty->results[0]));
    fprintf(t->out, " ((zv_ft%u)%s)(%s", type_idx, fn, ctx);
    emit_args(t, ty);
    fprintf(t->out, ");");
    if ((rc = set_types(t, base, ty->results, ty->n_results)))
        return rc;
    if (ty->n_results == 1) {
        var(t, base, v);
        fprintf(t->out, " %s = r_;", v);
    }
    fprintf(t->out, " }\n");
    return 0;
}

static int emit_call_multi(tr *t, uint32_t type_idx, const char *fn, const char *ctx)
{
    const zv_val_functype *ty = &t->m->types[type_idx];
    uint32_t base = t->sp - ty->n_params;
    int rc;
    fprintf(t->out, "  { zv_res%u r_ = ((zv_ft%u)%s)(%s", type_idx, type_idx, fn, ctx);
    emit_args(t, ty);
    fprintf(t->out, ");");
    if ((rc = set_types(t, base, ty->results, ty->n_results)))
        return rc;
    for (uint32_t i = 0; i < ty->n_results; i++) {
        char v[16];
        var(t, base + i, v);
        fprintf(t->out, " %s = r_.r%u;", v, i);
    }
    fprintf(t->out, " }\n");
    return 0;
}

static int call_typed(tr *t, uint32_t type_idx, const char *fn, const char *ctx)
{
    if (t->m->types[type_idx].n_results > 1)
        return emit_call_multi(t, type_idx, fn, ctx);
    return emit_call(t, type_idx, fn, ctx);
}

static int emit_direct_call(tr *t, uint32_t f)
{
    const zv_val_module *m = t->m;
    char fn[64], ctx[64];
    if (f < m->n_imported_funcs) {
        snprintf(fn, sizeof fn, "ctx->funcs[%u]->fn", f);
        snprintf(ctx, sizeof ctx, "ctx->funcs[%u]->ctx", f);
    } else {
        snprintf(fn, sizeof fn, "wf%u", f);
        snprintf(ctx, sizeof ctx, "ctx");
    }
    return call_typed(t, m->funcs[f].type_idx, fn, ctx);
}

static int emit_indirect_call(tr *t, const zv_val_op *op)
{
    char idx[16];
    int rc;
    var(t, t->sp - 1, idx);
    t->sp--;
    fprintf(t->out, "  { zv_func *F_ = zv_indirect(ctx, %u, %s, %u);\n", op->idx2, idx, op->idx);
    rc = call_typed(t, op->idx, "F_->fn", "F_->ctx");
    fprintf(t->out, "  }\n");
    return rc;
}

/* ---- instruction groups --------------------------------------------------- */

static void global_ref(tr *t, uint32_t g, char *buf, size_t n)
{
    const zv_val_module *m = t->m;
    const char *field = zv_eng_value_field(m->globals[g].type.type);
    if (g >= m->n_imported_globals)
        snprintf(buf, n, "ctx->globals[%u].%s", g - m->n_imported_globals, field);
    else
        snprintf(buf, n, "ctx->global_ptrs[%u]->%s", g, field);
}

static int emit_const(tr *t, const zv_val_op *op)
{
    char v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_i32_const:
        if ((rc = push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = %uu;\n", v, (uint32_t)op->i64);
        return 0;
    case ZV_OP_i64_const:
        if ((rc = push(t, ZV_I64, v)))
            return rc;
        fprintf(t->out, "  %s = UINT64_C(%llu);\n", v, (unsigned long long)op->i64);
        return 0;
    case ZV_OP_f32_const:
        if ((rc = push(t, ZV_F32, v)))
            return rc;
        fprintf(t->out, "  %s = zv_f32_bits(%uu);\n", v, op->bits32);
        return 0;
    case ZV_OP_f64_const:
        if ((rc = push(t, ZV_F64, v)))
            return rc;
        fprintf(t->out, "  %s = zv_f64_bits(UINT64_C(%llu));\n", v,
                (unsigned long long)op->bits64);
        return 0;
    default: { /* v128.const */
        uint64_t lo, hi;
        memcpy(&lo, op->v128, 8);
        memcpy(&hi, op->v128 + 8, 8);
        if ((rc = push(t, ZV_V128, v)))
            return rc;
        fprintf(t->out, "  %s = (zv_v128){UINT64_C(%llu), UINT64_C(%llu)};\n", v,
                (unsigned long long)lo, (unsigned long long)hi);
        return 0;
    }
    }
}

/* Bytes a store writes, 0 for any other instruction. */
static unsigned store_bytes(uint16_t op)
{
    switch (op) {
    case ZV_OP_i32_store8: case ZV_OP_i64_store8: case ZV_OP_v128_store8_lane: return 1;
    case ZV_OP_i32_store16: case ZV_OP_i64_store16: case ZV_OP_v128_store16_lane: return 2;
    case ZV_OP_i32_store: case ZV_OP_f32_store: case ZV_OP_i64_store32:
    case ZV_OP_v128_store32_lane: return 4;
    case ZV_OP_i64_store: case ZV_OP_f64_store: case ZV_OP_v128_store64_lane: return 8;
    case ZV_OP_v128_store: return 16;
    default: return 0;
    }
}

/* A plain instruction: dst = zv_op_<name>(ctx, operands..., immediates...). */
static int emit_simple(tr *t, const zv_val_op *op, int n_pops, uint8_t push_type)
{
    const char *name = zv_val_op_name(op->op);
    zv_val_imm imm = zv_val_op_imm(op->op);
    uint32_t base = t->sp - (uint32_t)n_pops;
    char ident[64], v[16];
    int rc;
    char args[3][16];
    snprintf(ident, sizeof ident, "%s", name);
    for (char *p = ident; *p; p++)
        if (*p == '.')
            *p = '_';
    for (int i = 0; i < n_pops; i++)
        var(t, base + (uint32_t)i, args[i]);
    t->sp = base;
    if (push_type) {
        if ((rc = push(t, push_type, v)))
            return rc;
        fprintf(t->out, "  %s = ", v);
    } else {
        fprintf(t->out, "  ");
    }
    if (op->op == ZV_OP_i8x16_shuffle) { /* constant lanes: let the compiler pick */
        fprintf(t->out, "ZV_SHUFFLE16(%s, %s", args[0], args[1]);
        for (int i = 0; i < 16; i++)
            fprintf(t->out, ", %u", op->v128[i]);
        fprintf(t->out, ");\n");
        return 0;
    }
    /* memory instructions take the base the function read once (rt_ops.h);
     * in a loop's fast copy, a known address is 64-bit (translate_loop.c) */
    uint32_t acc = t->fast_acc;
    if (t->fast_label && (imm == ZV_IMM_MEM || imm == ZV_IMM_MEM_LANE) &&
        t->plan.acc[t->fast_acc++].known) {
        char a[96];
        zv_eng_loop_addr(a, sizeof a, &t->plan, acc, t->fast_label - 1);
        fprintf(t->out, "zv_op_%s_w(mem, %s", ident, a);
    } else {
        fprintf(t->out, "zv_op_%s(%s", ident,
                imm == ZV_IMM_MEM || imm == ZV_IMM_MEM_LANE ? "mem" : "ctx");
        if (n_pops > 0)
            fprintf(t->out, ", %s", args[0]);
    }
    for (int i = 1; i < n_pops; i++)
        fprintf(t->out, ", %s", args[i]);
    if (imm == ZV_IMM_MEM || imm == ZV_IMM_MEM_LANE)
        fprintf(t->out, ", %uu", op->offset);
    if (imm == ZV_IMM_MEM_LANE || imm == ZV_IMM_LANE)
        fprintf(t->out, ", %u", op->lane);
    if (imm == ZV_IMM_SHUFFLE) {
        uint64_t lo, hi;
        memcpy(&lo, op->v128, 8);
        memcpy(&hi, op->v128 + 8, 8);
        fprintf(t->out, ", (zv_v128){UINT64_C(%llu), UINT64_C(%llu)}", (unsigned long long)lo,
                (unsigned long long)hi);
    }
    fprintf(t->out, ");\n");
    if (t->opts->dirty_pages && store_bytes(op->op)) /* after the store: it may trap */
        fprintf(t->out, "  ZV_DIRTY(dirty, %s, %uu, %u);\n", args[0], op->offset,
                store_bytes(op->op));
    return 0;
}

static int emit_variable(tr *t, const zv_val_op *op)
{
    char v[16], g[64];
    int rc;
    switch (op->op) {
    case ZV_OP_local_get:
        if ((rc = push(t, t->locals[op->idx], v)))
            return rc;
        fprintf(t->out, "  %s = L%u;\n", v, op->idx);
        return 0;
    case ZV_OP_local_set: case ZV_OP_local_tee:
        var(t, t->sp - 1, v);
        fprintf(t->out, "  L%u = %s;\n", op->idx, v);
        if (op->op == ZV_OP_local_set)
            t->sp--;
        return 0;
    case ZV_OP_global_get:
        global_ref(t, op->idx, g, sizeof g);
        if ((rc = push(t, t->m->globals[op->idx].type.type, v)))
            return rc;
        fprintf(t->out, "  %s = %s;\n", v, g);
        return 0;
    default: /* global.set */
        global_ref(t, op->idx, g, sizeof g);
        var(t, t->sp - 1, v);
        fprintf(t->out, "  %s = %s;\n", g, v);
        t->sp--;
        return 0;
    }
}

/* Operands a, b, c... of the top n slots into names. */
static void top_vars(tr *t, uint32_t n, char (*names)[16])
{
    for (uint32_t i = 0; i < n; i++)
        var(t, t->sp - n + i, names[i]);
}

static int emit_table_op(tr *t, const zv_val_op *op)
{
    char a[3][16], v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_table_get:
        top_vars(t, 1, a);
        t->sp--;
        if ((rc = push(t, t->m->tables[op->idx].elem_type, v)))
            return rc;
        fprintf(t->out, "  %s = zv_table_get(ctx, %u, %s);\n", v, op->idx, a[0]);
        return 0;
    case ZV_OP_table_set:
        top_vars(t, 2, a);
        t->sp -= 2;
        fprintf(t->out, "  zv_table_set(ctx, %u, %s, %s);\n", op->idx, a[0], a[1]);
        return 0;
    case ZV_OP_table_size:
        if ((rc = push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = zv_table_size(ctx, %u);\n", v, op->idx);
        return 0;
    case ZV_OP_table_grow:
        top_vars(t, 2, a);
        t->sp -= 2;
        if ((rc = push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = zv_table_grow(ctx, %u, %s, %s);\n", v, op->idx, a[0], a[1]);
        return 0;
    case ZV_OP_table_fill:
        top_vars(t, 3, a);
        t->sp -= 3;
        fprintf(t->out, "  zv_table_fill(ctx, %u, %s, %s, %s);\n", op->idx, a[0], a[1], a[2]);
        return 0;
    case ZV_OP_table_copy:
        top_vars(t, 3, a);
        t->sp -= 3;
        fprintf(t->out, "  zv_table_copy(ctx, %u, %u, %s, %s, %s);\n", op->idx, op->idx2, a[0],
                a[1], a[2]);
        return 0;
    case ZV_OP_table_init:
        top_vars(t, 3, a);
        t->sp -= 3;
        fprintf(t->out, "  zv_table_init(ctx, %u, %u, %s, %s, %s);\n", op->idx, op->idx2, a[0],
                a[1], a[2]);
        return 0;
    case ZV_OP_elem_drop:
        fprintf(t->out, "  zv_elem_drop(ctx, %u);\n", op->idx);
        return 0;
    case ZV_OP_memory_init:
        top_vars(t, 3, a);
        t->sp -= 3;
        fprintf(t->out, "  zv_memory_init(ctx, %u, %s, %s, %s);\n", op->idx, a[0], a[1], a[2]);
        return 0;
    default: /* data.drop */
        fprintf(t->out, "  zv_data_drop(ctx, %u);\n", op->idx);
        return 0;
    }
}

static int emit_ref_or_select(tr *t, const zv_val_op *op)
{
    char a[3][16], v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_ref_null:
        if ((rc = push(t, (uint8_t)op->idx, v)))
            return rc;
        fprintf(t->out, "  %s = 0;\n", v);
        return 0;
    case ZV_OP_ref_is_null:
        top_vars(t, 1, a);
        t->sp--;
        if ((rc = push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = %s == 0;\n", v, a[0]);
        return 0;
    case ZV_OP_ref_func:
        if ((rc = push(t, ZV_FUNCREF, v)))
            return rc;
        fprintf(t->out, "  %s = ctx->funcs[%u];\n", v, op->idx);
        return 0;
    case ZV_OP_drop:
        t->sp--;
        return 0;
    default: /* select, select_t */
        top_vars(t, 3, a);
        fprintf(t->out, "  %s = %s ? %s : %s;\n", a[0], a[2], a[0], a[1]);
        t->sp -= 2;
        return 0;
    }
}

/* ---- control ---------------------------------------------------------------- */

static int push_frame(tr *t, uint16_t op, const zv_val_op *o)
{
    tframe *f;
    if (t->nf == t->cap_frames) {
        uint32_t cap = t->cap_frames ? t->cap_frames * 2 : 16;
        tframe *p = realloc(t->frames, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        t->frames = p;
        t->cap_frames = cap;
    }
    f = &t->frames[t->nf++];
    memset(f, 0, sizeof *f);
    f->op = op;
    f->label = t->next_label++;
    zv_eng_block_sig(t->m, o, &f->params, &f->np, &f->results, &f->nr);
    f->height = t->sp - f->np;
    return 0;
}

static int emit_op(tr *t, const zv_val_op *op);

/* A counted loop's fast copy, before the loop itself (translate_loop.c):
 * the guard, the loop's code up to its back edge with known addresses in
 * 64 bits, and a back edge that counts the rounds. */
static int emit_fast_copy(tr *t, uint32_t label)
{
    const uint8_t *p = t->pos;
    uint32_t sp = t->sp;
    int rc = 0;
    zv_eng_loop_guard(t->out, &t->plan, label);
    t->fast_label = label + 1;
    t->fast_acc = 0;
    while (rc == 0 && p < t->plan.exit) {
        zv_val_op op;
        rc = zv_val_op_next(t->m->bytes, &p, t->end, &op, NULL);
        assert(rc == 0);
        rc = emit_op(t, &op);
    }
    t->fast_label = 0;
    assert(rc != 0 || t->sp == sp + 1); /* the back edge's condition, unused */
    t->sp = sp;
    zv_eng_loop_tail(t->out, label);
    return rc;
}

static int emit_block(tr *t, const zv_val_op *op)
{
    char c[16];
    int rc;
    if (op->op == ZV_OP_if_) {
        var(t, t->sp - 1, c);
        t->sp--;
    }
    if ((rc = push_frame(t, op->op, op)))
        return rc;
    tframe *f = &t->frames[t->nf - 1];
    if (op->op == ZV_OP_loop) {
        if (f->np == 0 && f->nr == 0 && !t->fast_label &&
            zv_eng_loop_plan(t->m, t->locals, t->n_locals, t->pos, t->end, &t->plan) &&
            (rc = emit_fast_copy(t, f->label)))
            return rc;
        /* no poll here: a spinning loop is stopped by the interrupt signal
         * (trap.c); polls stay at function entries */
        fprintf(t->out, "L%u_top:;\n", f->label);
    } else if (op->op == ZV_OP_if_) {
        /* the else branch needs the params the then branch may clobber */
        for (uint32_t i = 0; i < f->np; i++) {
            char v[16];
            var(t, f->height + i, v);
            fprintf(t->out, "  %s P%u_%u = %s;\n", zv_eng_ctype(f->params[i]), f->label, i, v);
        }
        fprintf(t->out, "  if (!%s) goto L%u_else;\n", c, f->label);
    }
    return 0;
}

static void restore_if_params(tr *t, tframe *f)
{
    set_types(t, f->height, f->params, f->np);
    for (uint32_t i = 0; i < f->np; i++) {
        char v[16];
        var(t, f->height + i, v);
        fprintf(t->out, "  %s = P%u_%u;\n", v, f->label, i);
    }
}

static void emit_else(tr *t)
{
    tframe *f = &t->frames[t->nf - 1];
    f->then_live = !f->dead;
    if (!f->dead)
        fprintf(t->out, "  goto L%u_end;\n", f->label);
    fprintf(t->out, "L%u_else:;\n", f->label);
    f->op = ZV_OP_else_;
    f->dead = 0;
    restore_if_params(t, f);
}

/* `end` of the innermost frame. Returns 1 when the function is complete. */
static int emit_end(tr *t)
{
    tframe *f = &t->frames[t->nf - 1];
    int live = !f->dead;
    if (t->nf == 1) {
        if (live)
            emit_return(t, f->nr);
        return 1;
    }
    if (f->op == ZV_OP_if_) { /* no else: the false path carries the params */
        if (live)
            fprintf(t->out, "  goto L%u_end;\n", f->label);
        fprintf(t->out, "L%u_else:;\n", f->label);
        restore_if_params(t, f);
        live = 1;
    }
    if (f->op == ZV_OP_else_ && f->then_live)
        live = 1;
    if (f->op != ZV_OP_loop && f->branched)
        live = 1;
    fprintf(t->out, "L%u_end:;\n", f->label);
    set_types(t, f->height, f->results, f->nr);
    t->nf--;
    if (!live)
        t->frames[t->nf - 1].dead = 1;
    return 0;
}

static void emit_br_table(tr *t, const zv_val_op *op)
{
    const uint8_t *p = op->targets;
    char c[16];
    var(t, t->sp - 1, c);
    t->sp--;
    fprintf(t->out, "  switch (%s) {\n", c);
    for (uint32_t i = 0; i <= op->idx; i++) {
        uint32_t depth = zv_val_br_table_next(&p);
        if (i < op->idx)
            fprintf(t->out, "  case %u:\n", i);
        else
            fprintf(t->out, "  default:\n");
        emit_branch(t, &t->frames[t->nf - 1 - depth]);
    }
    fprintf(t->out, "  }\n");
}

/* Skip dead code up to the `else` or `end` that closes the current frame. */
static int skip_dead(tr *t, const uint8_t **pos, const uint8_t *end, zv_val_op *op)
{
    uint32_t depth = 0;
    for (;;) {
        int rc = zv_val_op_next(t->m->bytes, pos, end, op, NULL);
        assert(rc == 0);
        (void)rc;
        switch (op->op) {
        case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_:
            depth++;
            break;
        case ZV_OP_else_:
            if (depth == 0)
                return 0;
            break;
        case ZV_OP_end:
            if (depth == 0)
                return 0;
            depth--;
            break;
        default:
            break;
        }
    }
}

static int emit_control(tr *t, const zv_val_op *op)
{
    tframe *top = &t->frames[t->nf - 1];
    char c[16];
    switch (op->op) {
    case ZV_OP_unreachable:
        fprintf(t->out, "  ZV_TRAP(ctx, ZV_TRAP_UNREACHABLE);\n");
        top->dead = 1;
        return 0;
    case ZV_OP_nop:
        return 0;
    case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_:
        return emit_block(t, op);
    case ZV_OP_else_:
        emit_else(t);
        return 0;
    case ZV_OP_br:
        emit_branch(t, &t->frames[t->nf - 1 - op->idx]);
        top->dead = 1;
        return 0;
    case ZV_OP_br_if:
        var(t, t->sp - 1, c);
        t->sp--;
        fprintf(t->out, "  if (%s) {\n", c);
        emit_branch(t, &t->frames[t->nf - 1 - op->idx]);
        fprintf(t->out, "  }\n");
        return 0;
    case ZV_OP_br_table:
        emit_br_table(t, op);
        top->dead = 1;
        return 0;
    case ZV_OP_return_:
        emit_return(t, t->frames[0].nr);
        top->dead = 1;
        return 0;
    case ZV_OP_call:
        return emit_direct_call(t, op->idx);
    case ZV_OP_call_indirect:
        return emit_indirect_call(t, op);
    case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee:
    case ZV_OP_global_get: case ZV_OP_global_set:
        return emit_variable(t, op);
    case ZV_OP_table_get: case ZV_OP_table_set: case ZV_OP_table_size: case ZV_OP_table_grow:
    case ZV_OP_table_fill: case ZV_OP_table_copy: case ZV_OP_table_init: case ZV_OP_elem_drop:
    case ZV_OP_memory_init: case ZV_OP_data_drop:
        return emit_table_op(t, op);
    case ZV_OP_i32_const: case ZV_OP_i64_const: case ZV_OP_f32_const: case ZV_OP_f64_const:
    case ZV_OP_v128_const:
        return emit_const(t, op);
    default:
        return emit_ref_or_select(t, op);
    }
}

/* ---- functions ------------------------------------------------------------------ */

void zv_eng_emit_signature(FILE *out, const zv_val_module *m, uint32_t fi)
{
    const zv_val_functype *ty = &m->types[m->funcs[fi].type_idx];
    if (ty->n_results == 0)
        fprintf(out, "ZV_FN void");
    else if (ty->n_results == 1)
        fprintf(out, "ZV_FN %s", zv_eng_ctype(ty->results[0]));
    else
        fprintf(out, "ZV_FN zv_res%u", m->funcs[fi].type_idx);
    fprintf(out, " wf%u(zv_ctx *ctx", fi);
    for (uint32_t i = 0; i < ty->n_params; i++)
        fprintf(out, ", %s L%u", zv_eng_ctype(ty->params[i]), i);
    fprintf(out, ")");
}

struct local_decl {
    FILE *out;
    uint8_t *types;
    uint32_t next;
};

static void declare_local(uint8_t type, uint32_t count, void *arg)
{
    struct local_decl *d = arg;
    for (uint32_t i = 0; i < count; i++) {
        d->types[d->next] = type;
        fprintf(d->out, "  %s L%u = {0};\n", zv_eng_ctype(type), d->next++);
    }
}

static int is_const(uint16_t op)
{
    return op == ZV_OP_i32_const || op == ZV_OP_i64_const || op == ZV_OP_f32_const ||
           op == ZV_OP_f64_const || op == ZV_OP_v128_const;
}

static int emit_op(tr *t, const zv_val_op *op)
{
    uint8_t pops[3], push_type;
    int n_pops = is_const(op->op) ? -1 : zv_val_op_sig(op->op, pops, &push_type);
    return n_pops >= 0 ? emit_simple(t, op, n_pops, push_type) : emit_control(t, op);
}

static int translate_body(tr *t, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const zv_val_func *fn = &m->funcs[fi];
    const uint8_t *p = m->bytes + fn->code_offset, *end = m->bytes + fn->code_end;
    zv_val_op op;
    zv_val_op first = {0};
    int rc;

    first.block.kind = 2;
    first.block.value = fn->type_idx;
    t->sp = 0;
    t->nf = 0;
    t->end = end;
    if ((rc = push_frame(t, 0, &first)))
        return rc;
    t->frames[0].height = 0;
    t->frames[0].np = 0; /* params are locals, not stack values */
    t->frames[0].label = fi; /* emit_return and local types find the function */
    if (t->opts->interrupt_checks)
        fprintf(t->out, "  ZV_POLL(ctx);\n");
    for (;;) {
        if (t->frames[t->nf - 1].dead) {
            skip_dead(t, &p, end, &op);
        } else {
            rc = zv_val_op_next(m->bytes, &p, end, &op, NULL);
            assert(rc == 0);
        }
        if (op.op == ZV_OP_end) {
            if (emit_end(t))
                return 0;
            continue;
        }
        if (op.op == ZV_OP_else_) {
            emit_else(t);
            continue;
        }
        t->pos = p;
        if ((rc = emit_op(t, &op)))
            return rc;
    }
}

static int translate_func(tr *t, FILE *out, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const zv_val_functype *ty = &m->types[m->funcs[fi].type_idx];
    char *body = NULL, *decls = NULL;
    size_t body_len = 0, decls_len = 0;
    struct local_decl d = {NULL, NULL, ty->n_params};
    int rc;

    memset(t->max_depth, 0, sizeof t->max_depth);
    free(t->locals);
    if (!(t->locals = malloc((size_t)ty->n_params + m->funcs[fi].n_locals + 1)))
        return -ENOMEM;
    memcpy(t->locals, ty->params, ty->n_params);
    t->n_locals = ty->n_params + m->funcs[fi].n_locals;
    d.types = t->locals;
    if (!(d.out = open_memstream(&decls, &decls_len)))
        return -ENOMEM;
    zv_val_func_locals(m, fi, declare_local, &d);
    fclose(d.out);
    if (!(t->out = open_memstream(&body, &body_len))) {
        free(decls);
        return -ENOMEM;
    }
    rc = translate_body(t, fi);
    fclose(t->out);
    t->out = NULL;
    if (rc == 0) {
        /* a bound on the C frame: every local and stack slot spilled, twice
         * over for temporaries, plus saved registers and call arguments */
        static const uint32_t class_bytes[6] = {4, 8, 4, 8, 16, 8};
        uint64_t frame = 0;
        for (uint32_t i = 0; i < ty->n_params + m->funcs[fi].n_locals; i++)
            frame += class_bytes[type_class(t->locals[i])];
        for (int c = 0; c < 6; c++)
            frame += (uint64_t)t->max_depth[c] * class_bytes[c];
        zv_eng_emit_signature(out, m, fi);
        fprintf(out, " {\n");
        fwrite(decls, 1, decls_len, out);
        fprintf(out, "  uint8_t *const mem = ctx->mem;\n  (void)mem;\n");
        if (t->opts->dirty_pages)
            fprintf(out, "  uint8_t *const dirty = ctx->dirty;\n  (void)dirty;\n");
        for (int c = 0; c < 6; c++)
            for (uint32_t k = 0; k < t->max_depth[c]; k++)
                fprintf(out, "  %s %c%u;\n", class_ctype[c], class_prefix[c], k);
        fprintf(out, "  ZV_ENTER(ctx, %lluu);\n", (unsigned long long)(2 * frame + 256));
        fwrite(body, 1, body_len, out);
        fprintf(out, "}\n\n");
    }
    free(decls);
    free(body);
    return rc;
}

/* ---- a unit's functions ---------------------------------------------------------- */

int zv_eng_translate_funcs(const zv_val_module *m, const zv_eng_translate_opts *opts,
                           uint32_t from, uint32_t to, FILE *out)
{
    tr t;
    int rc = 0;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.opts = opts;
    for (uint32_t i = from; i < to && rc == 0; i++)
        rc = translate_func(&t, out, i);
    free(t.stack);
    free(t.frames);
    free(t.locals);
    return rc;
}

static void zv_eng_block_sig(const zv_val_module *m, const zv_val_op *op, const uint8_t **params,
                             uint32_t *np, const uint8_t **results, uint32_t *nr)
{
    static const uint8_t one[256] = {
        [ZV_I32] = ZV_I32,   [ZV_I64] = ZV_I64,         [ZV_F32] = ZV_F32,
        [ZV_F64] = ZV_F64,   [ZV_V128] = ZV_V128,       [ZV_FUNCREF] = ZV_FUNCREF,
        [ZV_EXTERNREF] = ZV_EXTERNREF,
    };
    *params = *results = NULL;
    *np = *nr = 0;
    if (op->block.kind == 1) {
        *results = &one[op->block.value];
        *nr = 1;
    } else if (op->block.kind == 2) {
        const zv_val_functype *ty = &m->types[op->block.value];
        *params = ty->params, *np = ty->n_params;
        *results = ty->results, *nr = ty->n_results;
    }
}
