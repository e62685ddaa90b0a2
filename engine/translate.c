/*
 * translate.c — WebAssembly to C: the functions' bodies, their control
 * flow. Values and instructions are translate_ops.c's; the module-level
 * output (types, trampolines, data, descriptor) and the split into units
 * are translate_module.c's.
 *
 * Each wasm function becomes a C function taking the instance context
 * first (static; hidden, so that other units can call it, when split).
 * The operand stack is resolved at translation time (translate_ops.c), so
 * gcc sees plain SSA-friendly locals and allocates registers.
 * Blocks become labels and gotos; a branch copies its values down into
 * the target's slots first. Code after an unconditional branch is dead
 * and is skipped until the enclosing `else` or `end`. A counted loop may
 * get a fast copy first (translate_loop.c).
 *
 * The module is trusted: zv_val_module_new accepted it, so decoding
 * cannot fail and types are only asserted.
 */
#include "engine/translate_private.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block's type as params and results (validated code only). */
static void zv_eng_block_sig(const zv_val_module *m, const zv_val_op *op, const uint8_t **params,
                             uint32_t *np, const uint8_t **results, uint32_t *nr);

/* ---- returns and branches ------------------------------------------------- */

/* `return` with the top nr values as the function's results. */
static void emit_return(tr *t, uint32_t nr)
{
    char v[16];
    if (nr == 0) {
        fprintf(t->out, "  return;\n");
    } else if (nr == 1) {
        zv_eng_tr_var(t, t->sp - 1, v);
        fprintf(t->out, "  return %s;\n", v);
    } else {
        fprintf(t->out, "  { zv_res%u r_;", t->m->funcs[t->frames[0].label].type_idx);
        for (uint32_t i = 0; i < nr; i++) {
            zv_eng_tr_var(t, t->sp - nr + i, v);
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
        zv_eng_tr_move_down(t, f->height, f->np);
        fprintf(t->out, "  goto L%u_top;\n", f->label);
    } else {
        zv_eng_tr_move_down(t, f->height, f->nr);
        f->branched = 1;
        fprintf(t->out, "  goto L%u_end;\n", f->label);
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
    /* the copy's memory instructions are matched to the plan's accesses
     * by their order: a mismatch would put a 64-bit address on the wrong
     * access, so it fails the build */
    if (rc == 0 && t->fast_acc != t->plan.n_acc)
        rc = -EINVAL;
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
        zv_eng_tr_var(t, t->sp - 1, c);
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
        fprintf(t->out, "L%u_top:;\n  ZV_ROUND(mem);\n", f->label);
    } else if (op->op == ZV_OP_if_) {
        /* the else branch needs the params the then branch may clobber */
        for (uint32_t i = 0; i < f->np; i++) {
            char v[16];
            zv_eng_tr_var(t, f->height + i, v);
            fprintf(t->out, "  %s P%u_%u = %s;\n", zv_eng_ctype(f->params[i]), f->label, i, v);
        }
        fprintf(t->out, "  if (!%s) goto L%u_else;\n", c, f->label);
    }
    return 0;
}

static void restore_if_params(tr *t, tframe *f)
{
    zv_eng_tr_set_types(t, f->height, f->params, f->np);
    for (uint32_t i = 0; i < f->np; i++) {
        char v[16];
        zv_eng_tr_var(t, f->height + i, v);
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
    zv_eng_tr_set_types(t, f->height, f->results, f->nr);
    t->nf--;
    if (!live)
        t->frames[t->nf - 1].dead = 1;
    return 0;
}

static void emit_br_table(tr *t, const zv_val_op *op)
{
    const uint8_t *p = op->targets;
    char c[16];
    zv_eng_tr_var(t, t->sp - 1, c);
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
        zv_eng_tr_var(t, t->sp - 1, c);
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
        return zv_eng_tr_direct_call(t, op->idx);
    case ZV_OP_call_indirect:
        return zv_eng_tr_indirect_call(t, op);
    case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee:
    case ZV_OP_global_get: case ZV_OP_global_set:
        return zv_eng_tr_variable(t, op);
    case ZV_OP_table_get: case ZV_OP_table_set: case ZV_OP_table_size: case ZV_OP_table_grow:
    case ZV_OP_table_fill: case ZV_OP_table_copy: case ZV_OP_table_init: case ZV_OP_elem_drop:
    case ZV_OP_memory_init: case ZV_OP_data_drop:
        return zv_eng_tr_table_op(t, op);
    case ZV_OP_i32_const: case ZV_OP_i64_const: case ZV_OP_f32_const: case ZV_OP_f64_const:
    case ZV_OP_v128_const:
        return zv_eng_tr_const(t, op);
    default:
        return zv_eng_tr_ref_or_select(t, op);
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
    if (n_pops >= 0)
        return zv_eng_tr_simple(t, op, n_pops, push_type);
    /* every other instruction may use any slot's bits (calls, branches,
     * select): raw slots become canonical first (translate_ops.c "NaN
     * results"), except for pushes and variables, which see to theirs */
    switch (op->op) {
    case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee:
    case ZV_OP_global_get: case ZV_OP_global_set: case ZV_OP_ref_null: case ZV_OP_ref_func:
    case ZV_OP_nop:
        break;
    default:
        if (!is_const(op->op))
            zv_eng_tr_canon_all(t);
    }
    return emit_control(t, op);
}

/* The locals that only ever hold a float an arithmetic instruction made
 * (translate_ops.c "NaN results"): not a parameter, and every local.set
 * and local.tee of it follows such an instruction in the code. Their
 * initial value, 0, is no NaN. */
static int raw_locals(tr *t, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const uint8_t *p = m->bytes + m->funcs[fi].code_offset, *end = m->bytes + m->funcs[fi].code_end;
    uint32_t n_params = m->types[m->funcs[fi].type_idx].n_params;
    uint16_t prev = ZV_OP_nop;
    zv_val_op op;
    free(t->raw_local);
    if (!(t->raw_local = malloc(t->n_locals + 1)))
        return -ENOMEM;
    for (uint32_t i = 0; i < t->n_locals; i++)
        t->raw_local[i] = i >= n_params && (t->locals[i] == ZV_F32 || t->locals[i] == ZV_F64);
    while (p < end && zv_val_op_next(m->bytes, &p, end, &op, NULL) == 0) {
        if ((op.op == ZV_OP_local_set || op.op == ZV_OP_local_tee) && !zv_eng_tr_raw_op(prev))
            t->raw_local[op.idx] = 0;
        prev = op.op;
    }
    return 0;
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
        if (op.op == ZV_OP_end || op.op == ZV_OP_else_)
            zv_eng_tr_canon_all(t); /* the block's results */
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
    if ((rc = raw_locals(t, fi))) {
        free(decls);
        return rc;
    }
    if (!(t->out = open_memstream(&body, &body_len))) {
        free(decls);
        return -ENOMEM;
    }
    rc = translate_body(t, fi);
    fclose(t->out);
    t->out = NULL;
    if (rc == 0) {
        zv_eng_emit_signature(out, m, fi);
        fprintf(out, " {\n");
        fwrite(decls, 1, decls_len, out);
        fprintf(out, "  uint8_t *const mem = ctx->mem;\n  (void)mem;\n");
        if (t->opts->dirty_pages)
            fprintf(out, "  uint8_t *const dirty = ctx->dirty;\n  (void)dirty;\n");
        zv_eng_tr_declare_temps(t, out);
        fprintf(out, "  ZV_ENTER(ctx, %lluu);\n",
                (unsigned long long)(2 * zv_eng_tr_frame_bytes(t) + 256));
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
    free(t.raw);
    free(t.frames);
    free(t.locals);
    free(t.raw_local);
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
