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
 *
 * Exceptions (the proposal's try, catch, catch_all, throw, rethrow and
 * delegate, which clang emits for setjmp/longjmp; the engine's side is
 * trap.c "Exceptions"). A try construct gets a handler H<k> in the
 * function's frame (k: the try constructs around it), entered at the try
 * and set with a setjmp (rt_ops.h ZV_TRY, ZV_TRY_IN); a throw longjmps
 * back there, and the code goes to the construct's dispatch, written at
 * its end once all its clauses are known, which compares the caught tag
 * with each catch's and goes to that clause, to catch_all, or rethrows.
 * Every way out of a construct leaves its handler (ZV_LEAVE): the end of
 * its body or of a clause, and a branch or return out of it (which leaves
 * the outermost construct it crosses, and with it every one inside).
 * delegate's dispatch hands the exception to the handler of the first try
 * body at or outside its label, or out of the function. C keeps a local
 * across a longjmp only if it was not written since the setjmp or lives
 * in memory where the throw's call left it, so the locals written inside
 * some try's body (a pre-pass, locals_of) have their address escape
 * (ZV_ESCAPE); the stack slots below a try are never written inside it,
 * and the ones above get their values again in a catch.
 */
#include "engine/libc_bind.h"
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

/* Leaving the frames from index `from` up (a branch or return out of
 * them): the outermost try construct among them is left, and with it the
 * ones inside (the constructs below `from` are n_try of frame from - 1,
 * so that one is H<that count>). */
static void leave_from(tr *t, uint32_t from)
{
    uint32_t outside = from ? t->frames[from - 1].n_try : 0;
    if (t->frames[t->nf - 1].n_try > outside)
        fprintf(t->out, "  ZV_LEAVE(H%u);\n", outside);
}

/* Branch to frame f (depth counted from the top): values, then goto. */
static void emit_branch(tr *t, tframe *f)
{
    uint32_t fi = (uint32_t)(f - t->frames);
    leave_from(t, f->op == ZV_OP_loop ? fi + 1 : fi);
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

/* Room for one more element in *arr (n in use, *cap allocated). */
int zv_eng_tr_room(void **arr, uint32_t n, uint32_t *cap, size_t elem)
{
    uint32_t c = *cap ? *cap * 2 : 16;
    void *p;
    if (n < *cap)
        return 0;
    if (!(p = realloc(*arr, c * elem)))
        return -ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

static int push_frame(tr *t, uint16_t op, const zv_val_op *o)
{
    tframe *f;
    int rc;
    if ((rc = zv_eng_tr_room((void **)&t->frames, t->nf, &t->cap_frames, sizeof *t->frames)))
        return rc;
    f = &t->frames[t->nf++];
    memset(f, 0, sizeof *f);
    f->op = op;
    f->label = t->next_label++;
    zv_eng_block_sig(t->m, o, &f->params, &f->np, &f->results, &f->nr);
    f->height = t->sp - f->np;
    f->n_try = t->nf > 1 ? f[-1].n_try : 0;
    f->body_try = t->nf > 1 ? f[-1].body_try : -1;
    if (op == ZV_OP_try_) {
        f->eh = f->n_try++;
        f->body_try = (int32_t)(t->nf - 1);
        f->clauses = t->n_clauses;
        if (f->n_try > t->max_eh)
            t->max_eh = f->n_try;
    }
    return 0;
}

static int emit_op(tr *t, const zv_val_op *op);

/* The instructions in [p, to) translated again where the translation
 * stands (t->pos back where it was after). */
static int emit_again(tr *t, const uint8_t *p, const uint8_t *to)
{
    const uint8_t *at = t->pos;
    int rc = 0;
    while (rc == 0 && p < to) {
        zv_val_op op;
        rc = zv_val_op_next(t->m->bytes, &p, t->end, &op, NULL);
        assert(rc == 0);
        t->pos = p; /* translate_raw.c's answers are by position */
        rc = emit_op(t, &op);
    }
    t->pos = at;
    return rc;
}

/* A counted loop's fast copy, before the loop itself (translate_loop.c):
 * the guard, the loop's code up to its back edge with known addresses in
 * 64 bits, and a back edge that counts the rounds. */
static int emit_fast_copy(tr *t, uint32_t label)
{
    uint32_t sp = t->sp;
    int rc;
    zv_eng_loop_guard(t->out, &t->plan, label);
    t->fast_label = label + 1;
    t->fast_acc = 0;
    rc = emit_again(t, t->pos, t->plan.exit);
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

int zv_eng_tr_remat_get(tr *t, uint32_t local)
{
    return emit_again(t, t->remat_from[local], t->remat_to[local]);
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
        if (!t->fast_label)
            f->dispatch = zv_eng_tr_dispatch_end(t);
        if (f->dispatch && (rc = zv_eng_tr_dispatch_defer(t)))
            return rc;
        fprintf(t->out, "L%u_top:;\n  ZV_ROUND(mem);\n", f->label);
    } else if (op->op == ZV_OP_try_ && f->eh == 0) {
        fprintf(t->out, "  ZV_TRY(ctx, H0, L%u_disp);\n", f->label);
    } else if (op->op == ZV_OP_try_) { /* inside another: that one's chain */
        fprintf(t->out, "  ZV_TRY_IN(H%u, H%u, L%u_disp);\n", f->eh, f->eh - 1, f->label);
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

/* ---- exceptions ---------------------------------------------------------------- */

/* The end of a try body or of a catch clause: if it runs to its end, the
 * construct is left and its end reached. */
static void end_clause(tr *t, tframe *f)
{
    if (f->dead)
        return;
    fprintf(t->out, "  ZV_LEAVE(H%u);\n  goto L%u_end;\n", f->eh, f->label);
    f->branched = 1;
}

/* A try construct's dispatch, where a throw into its body lands: the
 * catch clauses in order, then catch_all, else the exception goes on
 * outward. For try-delegate, it goes to the handler of the delegate's
 * label or of the first try body outside it, if that frame (`target`,
 * the frame just outside the label) has one, else out of the function:
 * to the handler that was innermost when its outermost try was entered. */
static void emit_dispatch(tr *t, tframe *f, const tframe *target)
{
    int has_all = 0;
    fprintf(t->out, "L%u_disp:; ZV_SEG_LAND(ctx);%s\n", f->label,
            t->opts->dirty_pages ? " mem = ctx->mem;" : "");
    for (uint32_t i = f->clauses; i < t->n_clauses; i++) {
        if (t->clauses[i] < 0) {
            fprintf(t->out, "  goto L%u_c%u;\n", f->label, i - f->clauses);
            has_all = 1;
        } else {
            fprintf(t->out, "  if (ZV_CAUGHT(H%u)->tag == ctx->tags[%u]) goto L%u_c%u;\n", f->eh,
                    (uint32_t)t->clauses[i], f->label, i - f->clauses);
        }
    }
    if (target && target->body_try >= 0)
        fprintf(t->out, "  ctx->host->eh_delegate(ctx, &H%u, &H%u);\n", f->eh,
                t->frames[target->body_try].eh);
    else if (target)
        fprintf(t->out, "  ctx->host->eh_delegate(ctx, &H%u, H0.prev);\n", f->eh);
    else if (!has_all)
        fprintf(t->out, "  ctx->host->eh_rethrow(ctx, &H%u);\n", f->eh);
    t->n_clauses = f->clauses;
}

/* catch or catch_all: the clause before it ends, and this one begins with
 * the caught exception's values. */
static int emit_catch(tr *t, const zv_val_op *op)
{
    tframe *f = &t->frames[t->nf - 1];
    uint32_t tag = op->op == ZV_OP_catch_ ? op->idx : UINT32_MAX;
    int rc;
    end_clause(t, f);
    if ((rc = zv_eng_tr_room((void **)&t->clauses, t->n_clauses, &t->cap_clauses, sizeof *t->clauses)))
        return rc;
    fprintf(t->out, "L%u_c%u:;\n", f->label, t->n_clauses - f->clauses);
    t->clauses[t->n_clauses++] = tag == UINT32_MAX ? -1 : (int64_t)tag;
    f->op = op->op;
    f->dead = 0;
    f->body_try = t->nf > 1 ? f[-1].body_try : -1; /* no longer a try body */
    return zv_eng_tr_catch_values(t, f->height, tag, f->eh);
}

/* delegate: the try's body ends as at an `end`, and its dispatch sends
 * what it caught to the label's handler. */
static void emit_delegate(tr *t, const zv_val_op *op)
{
    tframe *f = &t->frames[t->nf - 1];
    int live;
    end_clause(t, f);
    emit_dispatch(t, f, &t->frames[t->nf - 2 - op->idx]);
    fprintf(t->out, "L%u_end:;\n", f->label);
    live = f->branched;
    zv_eng_tr_set_types(t, f->height, f->results, f->nr);
    t->nf--;
    if (!live)
        t->frames[t->nf - 1].dead = 1;
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
    if (f->op == ZV_OP_try_ || f->op == ZV_OP_catch_ || f->op == ZV_OP_catch_all) {
        end_clause(t, f);
        emit_dispatch(t, f, 0);
    }
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

/* Skip dead code up to the `else`, `end`, catch or delegate that closes
 * the current frame or its clause. */
static int skip_dead(tr *t, const uint8_t **pos, const uint8_t *end, zv_val_op *op)
{
    uint32_t depth = 0;
    for (;;) {
        int rc = zv_val_op_next(t->m->bytes, pos, end, op, NULL);
        assert(rc == 0);
        (void)rc;
        switch (op->op) {
        case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_: case ZV_OP_try_:
            depth++;
            break;
        case ZV_OP_else_: case ZV_OP_catch_: case ZV_OP_catch_all:
            if (depth == 0)
                return 0;
            break;
        case ZV_OP_end: case ZV_OP_delegate:
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
    case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_: case ZV_OP_try_:
        return emit_block(t, op);
    case ZV_OP_else_:
        emit_else(t);
        return 0;
    case ZV_OP_throw_:
        top->dead = 1;
        return zv_eng_tr_throw(t, op->idx);
    case ZV_OP_rethrow:
        fprintf(t->out, "  ctx->host->eh_rethrow(ctx, &H%u);\n",
                t->frames[t->nf - 1 - op->idx].eh);
        top->dead = 1;
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
    case ZV_OP_br_table: {
        int done = zv_eng_tr_dispatch_table(t, op);
        if (done < 0)
            return done;
        if (!done)
            emit_br_table(t, op);
        top->dead = 1;
        return 0;
    }
    case ZV_OP_return_:
        leave_from(t, 0);
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

/* STORAGE RESULT wfFI[SUFFIX](zv_ctx *ctx, PARAMS) */
static void emit_named(FILE *out, const zv_val_module *m, uint32_t fi, const char *storage,
                       const char *suffix)
{
    const zv_val_functype *ty = &m->types[m->funcs[fi].type_idx];
    if (ty->n_results == 0)
        fprintf(out, "%s void", storage);
    else if (ty->n_results == 1)
        fprintf(out, "%s %s", storage, zv_eng_ctype(ty->results[0]));
    else
        fprintf(out, "%s zv_res%u", storage, m->funcs[fi].type_idx);
    fprintf(out, " wf%u%s(zv_ctx *ctx", fi, suffix);
    for (uint32_t i = 0; i < ty->n_params; i++)
        fprintf(out, ", %s L%u", zv_eng_ctype(ty->params[i]), i);
    fprintf(out, ")");
}

void zv_eng_emit_signature(FILE *out, const zv_val_module *m, const zv_eng_translate_opts *opts,
                           uint32_t fi)
{
    int local = opts->shared && !opts->shared[fi - m->n_imported_funcs];
    emit_named(out, m, fi, local ? "static" : "ZV_FN", "");
}

/* A wasi-libc routine (libc_bind.h): its own translation is wfFI_wasm,
 * and wfFI tries the native form (rt_libc.h) first. Their types are
 * (i32, i32, i32) -> i32 and strlen's (i32) -> i32. */
static void emit_libc_wrapper(FILE *out, const zv_val_module *m,
                              const zv_eng_translate_opts *opts, uint32_t fi,
                              zv_eng_libc_kind kind)
{
    const char *args = kind == ZV_LIBC_STRLEN ? "L0" : "L0, L1, L2";
    zv_eng_emit_signature(out, m, opts, fi);
    fprintf(out, " {\n  uint32_t r;\n  if (zv_lib_%s(ctx, %s, &r))\n    return r;\n"
                 "  return wf%u_wasm(ctx, %s);\n}\n\n",
            zv_eng_libc_names[kind], args, fi, args);
}

struct local_types {
    uint8_t *types;
    uint32_t next;
};

static void local_type(uint8_t type, uint32_t count, void *arg)
{
    struct local_types *d = arg;
    for (uint32_t i = 0; i < count; i++)
        d->types[d->next++] = type;
}

/* The locals' declarations, then the escape of those a try's body
 * writes ("Exceptions" above). */
static void declare_locals(const tr *t, FILE *out, uint32_t n_params)
{
    for (uint32_t i = n_params; i < t->n_locals; i++)
        fprintf(out, "  %s L%u = {0};\n", zv_eng_ctype(t->locals[i]), i);
    for (uint32_t i = 0; i < t->n_locals; i++)
        if (t->vol_local[i])
            fprintf(out, "  ZV_ESCAPE(L%u);\n", i);
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

/* vol_local, and has_try, from one pass over the code: the locals written inside some
 * try's body (between the try and its first catch, catch_all, delegate or
 * end, nested code included), which must live in memory to keep their
 * value across the longjmp of a throw ("Exceptions" above). `body` holds,
 * per open block, whether it is a try body. (Which float locals may hold
 * raw floats is translate_raw.c's.) */
static int locals_of(tr *t, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const uint8_t *p = m->bytes + m->funcs[fi].code_offset, *end = m->bytes + m->funcs[fi].code_end;
    uint32_t depth = 0, in_body = 0, cap = 0;
    uint8_t *body = NULL;
    zv_val_op op;
    free(t->vol_local);
    t->has_try = 0;
    if (!(t->vol_local = calloc(t->n_locals + 1, 1)))
        return -ENOMEM;
    while (p < end && zv_val_op_next(m->bytes, &p, end, &op, NULL) == 0) {
        switch (op.op) {
        case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_: case ZV_OP_try_:
            if (depth == cap) {
                uint8_t *b = realloc(body, cap = cap ? 2 * cap : 64);
                if (!b) {
                    free(body);
                    return -ENOMEM;
                }
                body = b;
            }
            body[depth++] = op.op == ZV_OP_try_;
            t->has_try |= op.op == ZV_OP_try_;
            in_body += op.op == ZV_OP_try_;
            break;
        case ZV_OP_catch_: case ZV_OP_catch_all: case ZV_OP_end: case ZV_OP_delegate:
            if (depth == 0) /* the function's end */
                break;
            in_body -= body[depth - 1];
            body[depth - 1] = 0;
            if (op.op == ZV_OP_end || op.op == ZV_OP_delegate)
                depth--;
            break;
        case ZV_OP_local_set: case ZV_OP_local_tee:
            if (in_body)
                t->vol_local[op.idx] = 1;
            break;
        default:
            break;
        }
    }
    free(body);
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
    t->n_skip = t->n_defer = t->fold_mask = t->spec_load = 0;
    t->end = end;
    if ((rc = push_frame(t, 0, &first)))
        return rc;
    t->frames[0].height = 0;
    t->frames[0].np = 0; /* params are locals, not stack values */
    t->frames[0].label = fi; /* emit_return and local types find the function */
    if ((rc = zv_eng_tr_remat_scan(t, p, end, m->types[fn->type_idx].n_params)))
        return rc;
    for (;;) {
        if (t->frames[t->nf - 1].dead) {
            skip_dead(t, &p, end, &op);
        } else {
            rc = zv_val_op_next(m->bytes, &p, end, &op, NULL);
            assert(rc == 0);
        }
        if (op.op == ZV_OP_end || op.op == ZV_OP_else_ || op.op == ZV_OP_catch_ ||
            op.op == ZV_OP_catch_all || op.op == ZV_OP_delegate)
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
        if (op.op == ZV_OP_catch_ || op.op == ZV_OP_catch_all) {
            if ((rc = emit_catch(t, &op)))
                return rc;
            continue;
        }
        if (op.op == ZV_OP_delegate) {
            emit_delegate(t, &op);
            continue;
        }
        t->pos = p;
        if (t->n_skip && zv_eng_tr_dispatch_skips(t, p))
            continue; /* a set that the dispatch's targets do */
        if ((rc = emit_op(t, &op)))
            return rc;
    }
}

static int translate_func(tr *t, FILE *out, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const zv_val_functype *ty = &m->types[m->funcs[fi].type_idx];
    char *body = NULL;
    size_t body_len = 0;
    struct local_types d = {NULL, ty->n_params};
    uint64_t frame;
    uint32_t plan;
    int rc;

    memset(t->max_depth, 0, sizeof t->max_depth);
    t->max_eh = t->max_throw = 0;
    free(t->locals);
    if (!(t->locals = malloc((size_t)ty->n_params + m->funcs[fi].n_locals + 1)))
        return -ENOMEM;
    memcpy(t->locals, ty->params, ty->n_params);
    t->n_locals = ty->n_params + m->funcs[fi].n_locals;
    d.types = t->locals;
    zv_val_func_locals(m, fi, local_type, &d);
    if ((rc = locals_of(t, fi)) || (rc = zv_eng_tr_raw_webs(t, fi)))
        return rc;
    if (!(t->out = open_memstream(&body, &body_len)))
        return -ENOMEM;
    t->no_tail = t->opts->entry_plan[fi - m->n_imported_funcs] != ZV_ENTRY_UNCHECKED;
    rc = translate_body(t, fi);
    fclose(t->out);
    t->out = NULL;
    if (rc == 0) {
        zv_eng_libc_kind libc = zv_eng_libc_routine(m, fi);
        if (libc != ZV_LIBC_NONE)
            emit_named(out, m, fi, "static ZV_COLD", "_wasm");
        else
            zv_eng_emit_signature(out, m, t->opts, fi);
        fprintf(out, " {\n");
        declare_locals(t, out, ty->n_params);
        /* a build for a fork point reads the base again after each call and
         * where a throw lands: a snapshot's record may resume in another of
         * the memory's windows (memory.c), and these frames were paused */
        fprintf(out, "  uint8_t *%smem = ctx->mem;\n  (void)mem;\n",
                t->opts->dirty_pages ? "" : "const ");
        if (t->opts->dirty_pages)
            fprintf(out, "  uint8_t *const dirty = ctx->dirty;\n  (void)dirty;\n");
        zv_eng_tr_declare_temps(t, out);
        /* (a frame past 2^30 bytes is exhaustion on any stack: the bound
         * stays an asm displacement, rt_ops.h ZV_ENTER) */
        frame = 2 * zv_eng_tr_frame_bytes(t) + 256;
        plan = t->opts->entry_plan[fi - m->n_imported_funcs];
        /* a light function is within its callers' checks (translate_entry.c;
         * were its frame ever past the bound they count, it checks itself
         * and the light chain below it) */
        if (plan == ZV_ENTRY_UNCHECKED && frame > zv_eng_tr_entry_frame_bound(m, fi))
            plan = ZV_ENTRY_LIGHT_MAX;
        if (plan != ZV_ENTRY_UNCHECKED) {
            frame += plan;
            fprintf(out, "  ZV_ENTER(ctx, %llu);\n",
                    (unsigned long long)(frame < (1ull << 30) ? frame : 1ull << 30));
        }
        fwrite(body, 1, body_len, out);
        fprintf(out, "}\n\n");
        if (libc != ZV_LIBC_NONE)
            emit_libc_wrapper(out, m, t->opts, fi, libc);
    }
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
    free(t.remat_from);
    free(t.remat_to);
    free(t.frames);
    free(t.locals);
    free(t.raw_node);
    free(t.raw_web);
    free(t.vol_local);
    free(t.clauses);
    free(t.defer);
    free(t.skip);
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
