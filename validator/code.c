/*
 * code.c — type checking of function bodies, in one pass.
 *
 * This is the algorithm of the spec's validation appendix (Wasm core
 * §A.3): an operand stack of value types, where 0 stands for "unknown"
 * after unreachable code, and a control stack of frames. Both stacks live
 * in the checker and are reused for every body of a module, growing
 * geometrically, so checking an instruction never allocates.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define UNKNOWN 0

/* Implementation limit on locals (V8 and SpiderMonkey use the same), so
 * that a hostile body cannot make us allocate gigabytes of local types. */
#define ZV_VAL_MAX_LOCALS 50000

typedef struct {
    uint16_t op;         /* block, loop, if, else, try, catch, catch_all, or 0 for the function */
    uint8_t unreachable; /* the rest of the frame is dead code */
    uint32_t height;     /* operand stack height at entry */
    uint32_t n_params, n_results;
    const uint8_t *params, *results;
} frame;

struct zv_chk {
    uint8_t *vals; /* operand stack of value types */
    uint32_t n_vals, cap_vals;
    frame *ctrls;
    uint32_t n_ctrls, cap_ctrls;
    uint8_t *locals; /* the current function's params then locals */
    uint32_t n_locals, cap_locals;
    uint32_t max_height;
    /* per body: */
    const zv_val_module *m;
    zv_rd rd;
    const uint8_t *at; /* the instruction being checked, for errors */
};

zv_chk *zv_chk_new(void) { return zv_val_calloc(1, sizeof(zv_chk)); }

void zv_chk_free(zv_chk *c)
{
    if (!c)
        return;
    free(c->vals);
    free(c->ctrls);
    free(c->locals);
    free(c);
}

static int grow(void **p, uint32_t *cap, uint64_t need, size_t elem)
{
    uint64_t n = *cap ? *cap : 64;
    void *q;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX || !(q = zv_val_realloc(*p, (size_t)n, elem)))
        return -ENOMEM;
    *p = q;
    *cap = (uint32_t)n;
    return 0;
}

#define FAIL(c, ...) ZV_INVALID(&(c)->rd, (c)->at, __VA_ARGS__)

/* Implementation limit on the operand stack's height: each value costs
 * the translator a C variable, and without a bound a small module of calls
 * to many-result functions could make the checker allocate hundreds of MB. */
#define ZV_VAL_MAX_STACK 65536

static inline int reserve(zv_chk *c, uint32_t k)
{
    if ((uint64_t)c->n_vals + k > ZV_VAL_MAX_STACK)
        return FAIL(c, "operand stack deeper than %u values (implementation limit)",
                    ZV_VAL_MAX_STACK);
    if ((uint64_t)c->n_vals + k > c->cap_vals)
        return grow((void **)&c->vals, &c->cap_vals, (uint64_t)c->n_vals + k, 1);
    return 0;
}

static inline void push(zv_chk *c, uint8_t t) /* after reserve() */
{
    c->vals[c->n_vals++] = t;
    if (c->n_vals > c->max_height)
        c->max_height = c->n_vals;
}

static int mismatch(zv_chk *c, uint8_t want, uint8_t got)
{
    if (!got)
        return FAIL(c, "type mismatch: expected %s but the stack is empty",
                    zv_val_type_name(want));
    return FAIL(c, "type mismatch: expected %s, got %s", zv_val_type_name(want),
                zv_val_type_name(got));
}

/* Pop one operand; `*t` gets its type (UNKNOWN in dead code). */
static inline int pop_any(zv_chk *c, uint8_t *t)
{
    frame *f = &c->ctrls[c->n_ctrls - 1];
    if (c->n_vals == f->height) {
        if (f->unreachable) {
            *t = UNKNOWN;
            return 0;
        }
        return FAIL(c, "type mismatch: operand stack underflow");
    }
    *t = c->vals[--c->n_vals];
    return 0;
}

static inline int pop(zv_chk *c, uint8_t want)
{
    frame *f = &c->ctrls[c->n_ctrls - 1];
    uint8_t t;
    if (c->n_vals == f->height) {
        if (f->unreachable)
            return 0;
        return mismatch(c, want, 0);
    }
    t = c->vals[--c->n_vals];
    if (t != want && t != UNKNOWN && want != UNKNOWN)
        return mismatch(c, want, t);
    return 0;
}

static int pop_n(zv_chk *c, const uint8_t *types, uint32_t n)
{
    int rc;
    for (uint32_t i = n; i-- > 0;)
        if ((rc = pop(c, types[i])))
            return rc;
    return 0;
}

static int push_n(zv_chk *c, const uint8_t *types, uint32_t n)
{
    int rc = reserve(c, n);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        push(c, types[i]);
    return 0;
}

static int push_ctrl(zv_chk *c, uint16_t op, const uint8_t *params, uint32_t n_params,
                     const uint8_t *results, uint32_t n_results)
{
    frame *f;
    int rc;
    if (c->n_ctrls == c->cap_ctrls &&
        (rc = grow((void **)&c->ctrls, &c->cap_ctrls, (uint64_t)c->n_ctrls + 1, sizeof(frame))))
        return rc;
    f = &c->ctrls[c->n_ctrls++];
    f->op = op;
    f->unreachable = 0;
    f->height = c->n_vals;
    f->params = params, f->n_params = n_params;
    f->results = results, f->n_results = n_results;
    return push_n(c, params, n_params);
}

static int pop_ctrl(zv_chk *c, frame *out)
{
    frame *f = &c->ctrls[c->n_ctrls - 1];
    int rc = pop_n(c, f->results, f->n_results);
    if (rc)
        return rc;
    if (c->n_vals != f->height)
        return FAIL(c, "type mismatch: %u values left on the stack at the end of a block",
                    c->n_vals - f->height);
    *out = *f;
    c->n_ctrls--;
    return 0;
}

static void set_unreachable(zv_chk *c)
{
    frame *f = &c->ctrls[c->n_ctrls - 1];
    c->n_vals = f->height;
    f->unreachable = 1;
}

static inline void label_types(const frame *f, const uint8_t **types, uint32_t *n)
{
    if (f->op == ZV_OP_loop)
        *types = f->params, *n = f->n_params;
    else
        *types = f->results, *n = f->n_results;
}

static int label(zv_chk *c, uint32_t depth, const frame **out)
{
    if (depth >= c->n_ctrls)
        return FAIL(c, "unknown label %u", depth);
    *out = &c->ctrls[c->n_ctrls - 1 - depth];
    return 0;
}

/* Static one-type sequences for single-value block types. */
static const uint8_t one_type[256] = {
    [ZV_I32] = ZV_I32, [ZV_I64] = ZV_I64,   [ZV_F32] = ZV_F32,         [ZV_F64] = ZV_F64,
    [ZV_V128] = ZV_V128, [ZV_FUNCREF] = ZV_FUNCREF, [ZV_EXTERNREF] = ZV_EXTERNREF,
};

static int block_sig(zv_chk *c, const zv_val_op *op, const uint8_t **params, uint32_t *np,
                     const uint8_t **results, uint32_t *nr)
{
    *np = *nr = 0;
    *params = *results = NULL;
    if (op->block.kind == 1) {
        *results = &one_type[op->block.value];
        *nr = 1;
    } else if (op->block.kind == 2) {
        const zv_val_functype *ft;
        if (op->block.value >= c->m->n_types)
            return FAIL(c, "unknown type %u", op->block.value);
        ft = &c->m->types[op->block.value];
        *params = ft->params, *np = ft->n_params;
        *results = ft->results, *nr = ft->n_results;
    }
    return 0;
}

static int check_block(zv_chk *c, const zv_val_op *op)
{
    const uint8_t *params, *results;
    uint32_t np, nr;
    int rc;
    if ((rc = block_sig(c, op, &params, &np, &results, &nr)))
        return rc;
    if (op->op == ZV_OP_if_ && (rc = pop(c, ZV_I32)))
        return rc;
    if ((rc = pop_n(c, params, np)))
        return rc;
    return push_ctrl(c, op->op, params, np, results, nr);
}

static int check_end(zv_chk *c)
{
    frame f;
    int rc;
    if ((rc = pop_ctrl(c, &f)))
        return rc;
    if (f.op == ZV_OP_if_) {
        /* `if` without `else` has an implicit empty else branch, which must
         * turn the params into the results (§3.3.8.5). */
        frame g;
        if ((rc = push_ctrl(c, ZV_OP_else_, f.params, f.n_params, f.results, f.n_results)) ||
            (rc = pop_ctrl(c, &g)))
            return rc;
    }
    if (c->n_ctrls == 0)
        return 0; /* the function's end: its results were checked */
    return push_n(c, f.results, f.n_results);
}

static int check_br_table(zv_chk *c, const zv_val_op *op)
{
    const uint8_t *p = op->targets, *types;
    const frame *f;
    uint32_t arity, n;
    int rc;
    if ((rc = pop(c, ZV_I32)))
        return rc;
    /* The default label, which comes after the targets, fixes the arity. */
    for (uint32_t i = 0; i < op->idx; i++)
        zv_val_br_table_next(&p);
    if ((rc = label(c, zv_val_br_table_next(&p), &f)))
        return rc;
    label_types(f, &types, &arity);
    p = op->targets;
    for (uint32_t i = 0; i < op->idx; i++) {
        const uint8_t *t;
        if ((rc = label(c, zv_val_br_table_next(&p), &f)))
            return rc;
        label_types(f, &t, &n);
        if (n != arity)
            return FAIL(c, "type mismatch: br_table targets have different arities");
        /* Pop then push back what was popped (§A.3): real values stay as
         * they were, values taken from a dead-code stack come back unknown. */
        uint32_t height = c->n_vals, n_real, n_unknown;
        if ((rc = pop_n(c, t, n)))
            return rc;
        n_real = height - c->n_vals;
        n_unknown = n - n_real;
        if (n_unknown) {
            if ((rc = reserve(c, n_unknown)))
                return rc;
            memmove(c->vals + c->n_vals + n_unknown, c->vals + c->n_vals, n_real);
            memset(c->vals + c->n_vals, UNKNOWN, n_unknown);
        }
        c->n_vals = height + n_unknown;
    }
    if ((rc = pop_n(c, types, arity)))
        return rc;
    set_unreachable(c);
    return 0;
}

/* ---- exception handling ---------------------------------------------------
 * The proposal's legacy instructions, which clang 14 emits for setjmp and
 * longjmp (-mexception-handling -mllvm -wasm-enable-sjlj), checked as its
 * spec addendum and its test suite have them:
 * - try bt: a block; its frame turns into a catch or catch_all frame at
 *   each catching instruction (like else), and a branch to it leaves the
 *   whole construct (its label takes the try's results);
 * - catch x: after the try body or another catch: the results are
 *   checked as at an end, then the tag's values are the new operands;
 * - catch_all: the same with no operands, after which no catch may come;
 * - delegate l: ends a try that has no catching instruction (as an end
 *   would) and names any enclosing label, the function's included;
 * - throw x: the tag's values, then the rest is unreachable;
 * - rethrow l: l must be a catch or catch_all frame (not a try body:
 *   the exception to rethrow is the one that frame caught). */

static int tag_type(zv_chk *c, uint32_t idx, const zv_val_functype **ft)
{
    if (idx >= c->m->n_tags)
        return FAIL(c, "unknown tag %u", idx);
    *ft = &c->m->types[c->m->tags[idx].type_idx];
    return 0;
}

static int check_exception(zv_chk *c, const zv_val_op *op)
{
    const zv_val_functype *ft = NULL;
    const frame *f;
    frame g;
    uint16_t top = c->ctrls[c->n_ctrls - 1].op;
    int rc;
    switch (op->op) {
    case ZV_OP_catch_: case ZV_OP_catch_all:
        if (top != ZV_OP_try_ && top != ZV_OP_catch_)
            return FAIL(c, "%s without a matching try%s", zv_val_op_name(op->op),
                        top == ZV_OP_catch_all ? ": catch_all ends the catching blocks" : "");
        if (op->op == ZV_OP_catch_ && (rc = tag_type(c, op->idx, &ft)))
            return rc;
        if ((rc = pop_ctrl(c, &g)))
            return rc;
        if (op->op == ZV_OP_catch_all)
            return push_ctrl(c, ZV_OP_catch_all, NULL, 0, g.results, g.n_results);
        return push_ctrl(c, ZV_OP_catch_, ft->params, ft->n_params, g.results, g.n_results);
    case ZV_OP_delegate:
        if (top != ZV_OP_try_)
            return FAIL(c, "delegate without a matching try");
        if ((rc = pop_ctrl(c, &g)))
            return rc;
        if ((rc = label(c, op->idx, &f)))
            return rc;
        return push_n(c, g.results, g.n_results);
    case ZV_OP_throw_:
        if ((rc = tag_type(c, op->idx, &ft)) || (rc = pop_n(c, ft->params, ft->n_params)))
            return rc;
        set_unreachable(c);
        return 0;
    default: /* rethrow */
        if ((rc = label(c, op->idx, &f)))
            return rc;
        if (f->op != ZV_OP_catch_ && f->op != ZV_OP_catch_all)
            return FAIL(c, "invalid rethrow label %u: not a catch block", op->idx);
        set_unreachable(c);
        return 0;
    }
}

static int check_call(zv_chk *c, const zv_val_functype *ft)
{
    int rc = pop_n(c, ft->params, ft->n_params);
    if (rc)
        return rc;
    return push_n(c, ft->results, ft->n_results);
}

/* log2 of the bytes a memory instruction accesses (its natural alignment). */
static uint32_t natural_align(uint16_t op)
{
    switch (op) {
    case ZV_OP_i32_load8_s: case ZV_OP_i32_load8_u: case ZV_OP_i64_load8_s:
    case ZV_OP_i64_load8_u: case ZV_OP_i32_store8: case ZV_OP_i64_store8:
    case ZV_OP_v128_load8_splat: case ZV_OP_v128_load8_lane: case ZV_OP_v128_store8_lane:
        return 0;
    case ZV_OP_i32_load16_s: case ZV_OP_i32_load16_u: case ZV_OP_i64_load16_s:
    case ZV_OP_i64_load16_u: case ZV_OP_i32_store16: case ZV_OP_i64_store16:
    case ZV_OP_v128_load16_splat: case ZV_OP_v128_load16_lane: case ZV_OP_v128_store16_lane:
        return 1;
    case ZV_OP_i32_load: case ZV_OP_f32_load: case ZV_OP_i32_store: case ZV_OP_f32_store:
    case ZV_OP_i64_load32_s: case ZV_OP_i64_load32_u: case ZV_OP_i64_store32:
    case ZV_OP_v128_load32_splat: case ZV_OP_v128_load32_zero: case ZV_OP_v128_load32_lane:
    case ZV_OP_v128_store32_lane:
        return 2;
    case ZV_OP_v128_load: case ZV_OP_v128_store:
        return 4;
    default: /* 64-bit loads and stores, and the 64-bit SIMD loads */
        return 3;
    }
}

/* Lanes of a lane instruction's vector shape. */
static uint32_t lane_count(uint16_t op)
{
    switch (op) {
    case ZV_OP_i8x16_extract_lane_s: case ZV_OP_i8x16_extract_lane_u:
    case ZV_OP_i8x16_replace_lane: case ZV_OP_v128_load8_lane: case ZV_OP_v128_store8_lane:
        return 16;
    case ZV_OP_i16x8_extract_lane_s: case ZV_OP_i16x8_extract_lane_u:
    case ZV_OP_i16x8_replace_lane: case ZV_OP_v128_load16_lane: case ZV_OP_v128_store16_lane:
        return 8;
    case ZV_OP_i32x4_extract_lane: case ZV_OP_i32x4_replace_lane: case ZV_OP_f32x4_extract_lane:
    case ZV_OP_f32x4_replace_lane: case ZV_OP_v128_load32_lane: case ZV_OP_v128_store32_lane:
        return 4;
    default:
        return 2;
    }
}

static int need_memory(zv_chk *c)
{
    if (c->m->n_memories == 0)
        return FAIL(c, "unknown memory 0");
    return 0;
}

static int check_simple(zv_chk *c, const zv_val_op *op, const zv_op_info *info)
{
    const zv_sig_info *s = &zv_sig_table[info->sig];
    int rc;
    switch (info->imm) {
    case ZV_IMM_MEM: case ZV_IMM_MEM_LANE: case ZV_IMM_ZERO: case ZV_IMM_ZERO2:
        if ((rc = need_memory(c)))
            return rc;
        if (info->imm == ZV_IMM_ZERO || info->imm == ZV_IMM_ZERO2)
            break;
        if (op->align > natural_align(op->op))
            return FAIL(c, "alignment must not be larger than natural");
        if (info->imm == ZV_IMM_MEM)
            break;
        /* fall through */
    case ZV_IMM_LANE:
        if (op->lane >= lane_count(op->op))
            return FAIL(c, "invalid lane index %u", op->lane);
        break;
    case ZV_IMM_SHUFFLE:
        for (int i = 0; i < 16; i++)
            if (op->v128[i] >= 32)
                return FAIL(c, "invalid lane index %u", op->v128[i]);
        break;
    default:
        break;
    }
    for (int i = s->n_pops; i-- > 0;)
        if ((rc = pop(c, s->pops[i])))
            return rc;
    if (s->push) {
        if ((rc = reserve(c, 1)))
            return rc;
        push(c, s->push);
    }
    return 0;
}

static int push1(zv_chk *c, uint8_t t)
{
    int rc = reserve(c, 1);
    if (rc == 0)
        push(c, t);
    return rc;
}

static int table_type(zv_chk *c, uint32_t idx, uint8_t *t)
{
    if (idx >= c->m->n_tables)
        return FAIL(c, "unknown table %u", idx);
    *t = c->m->tables[idx].elem_type;
    return 0;
}

static int check_data_idx(zv_chk *c, uint32_t idx)
{
    if (!c->m->has_data_count)
        return ZV_MALFORMED(&c->rd, c->at, "data count section required");
    if (idx >= c->m->n_datas)
        return FAIL(c, "unknown data segment %u", idx);
    return 0;
}

static int check_elem_idx(zv_chk *c, uint32_t idx, uint8_t *t)
{
    if (idx >= c->m->n_elems)
        return FAIL(c, "unknown elem segment %u", idx);
    *t = c->m->elems[idx].elem_type;
    return 0;
}

static int check_variable(zv_chk *c, const zv_val_op *op)
{
    const zv_val_module *m = c->m;
    int rc;
    switch (op->op) {
    case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee: {
        uint8_t t;
        if (op->idx >= c->n_locals)
            return FAIL(c, "unknown local %u", op->idx);
        t = c->locals[op->idx];
        if (op->op == ZV_OP_local_get)
            return push1(c, t);
        if ((rc = pop(c, t)))
            return rc;
        return op->op == ZV_OP_local_tee ? push1(c, t) : 0;
    }
    case ZV_OP_global_get:
        if (op->idx >= m->n_globals)
            return FAIL(c, "unknown global %u", op->idx);
        return push1(c, m->globals[op->idx].type.type);
    default: /* global.set */
        if (op->idx >= m->n_globals)
            return FAIL(c, "unknown global %u", op->idx);
        if (!m->globals[op->idx].type.mutable_)
            return FAIL(c, "global is immutable: global.set of global %u", op->idx);
        return pop(c, m->globals[op->idx].type.type);
    }
}

static int check_table_op(zv_chk *c, const zv_val_op *op)
{
    uint8_t t = 0, t2 = 0; /* set by table_type before use; gcc -O3 cannot tell */
    int rc;
    switch (op->op) {
    case ZV_OP_table_get:
        if ((rc = table_type(c, op->idx, &t)) || (rc = pop(c, ZV_I32)))
            return rc;
        return push1(c, t);
    case ZV_OP_table_set:
        if ((rc = table_type(c, op->idx, &t)) || (rc = pop(c, t)))
            return rc;
        return pop(c, ZV_I32);
    case ZV_OP_table_size:
        if ((rc = table_type(c, op->idx, &t)))
            return rc;
        return push1(c, ZV_I32);
    case ZV_OP_table_grow:
        if ((rc = table_type(c, op->idx, &t)) || (rc = pop(c, ZV_I32)) || (rc = pop(c, t)))
            return rc;
        return push1(c, ZV_I32);
    case ZV_OP_table_fill:
        if ((rc = table_type(c, op->idx, &t)) || (rc = pop(c, ZV_I32)) || (rc = pop(c, t)))
            return rc;
        return pop(c, ZV_I32);
    case ZV_OP_table_copy:
        if ((rc = table_type(c, op->idx, &t)) || (rc = table_type(c, op->idx2, &t2)))
            return rc;
        if (t != t2)
            return FAIL(c, "type mismatch: table.copy between %s and %s tables",
                        zv_val_type_name(t2), zv_val_type_name(t));
        break;
    case ZV_OP_table_init:
        if ((rc = check_elem_idx(c, op->idx, &t2)) || (rc = table_type(c, op->idx2, &t)))
            return rc;
        if (t != t2)
            return FAIL(c, "type mismatch: table.init of a %s table from a %s segment",
                        zv_val_type_name(t), zv_val_type_name(t2));
        break;
    default: /* elem.drop */
        return check_elem_idx(c, op->idx, &t);
    }
    if ((rc = pop(c, ZV_I32)) || (rc = pop(c, ZV_I32)))
        return rc;
    return pop(c, ZV_I32);
}

static int check_ref_or_select(zv_chk *c, const zv_val_op *op)
{
    uint8_t t1, t2;
    int rc;
    switch (op->op) {
    case ZV_OP_ref_null:
        return push1(c, (uint8_t)op->idx);
    case ZV_OP_ref_is_null:
        if ((rc = pop_any(c, &t1)))
            return rc;
        if (t1 != UNKNOWN && !zv_is_ref(t1))
            return FAIL(c, "type mismatch: ref.is_null of %s", zv_val_type_name(t1));
        return push1(c, ZV_I32);
    case ZV_OP_select_t:
        if ((rc = pop(c, ZV_I32)) || (rc = pop(c, (uint8_t)op->idx)) ||
            (rc = pop(c, (uint8_t)op->idx)))
            return rc;
        return push1(c, (uint8_t)op->idx);
    default: /* untyped select: numeric or vector operands only (§3.3.4) */
        if ((rc = pop(c, ZV_I32)) || (rc = pop_any(c, &t1)) || (rc = pop_any(c, &t2)))
            return rc;
        if ((t1 && !zv_is_num_or_vec(t1)) || (t2 && !zv_is_num_or_vec(t2)))
            return FAIL(c, "type mismatch: select without a type needs numeric operands");
        if (t1 && t2 && t1 != t2)
            return FAIL(c, "type mismatch: select of %s and %s", zv_val_type_name(t2),
                        zv_val_type_name(t1));
        return push1(c, t1 ? t1 : t2);
    }
}

static int check_control(zv_chk *c, const zv_val_op *op, const uint8_t *refs)
{
    const zv_val_module *m = c->m;
    const uint8_t *types;
    const frame *f;
    uint32_t n;
    uint8_t t = 0; /* set before use on every path; gcc -O3 cannot tell */
    int rc;
    switch (op->op) {
    case ZV_OP_unreachable:
        set_unreachable(c);
        return 0;
    case ZV_OP_nop:
        return 0;
    case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_: case ZV_OP_try_:
        return check_block(c, op);
    case ZV_OP_catch_: case ZV_OP_catch_all: case ZV_OP_delegate: case ZV_OP_throw_:
    case ZV_OP_rethrow:
        return check_exception(c, op);
    case ZV_OP_else_: {
        frame g;
        if (c->ctrls[c->n_ctrls - 1].op != ZV_OP_if_)
            return FAIL(c, "else without a matching if");
        if ((rc = pop_ctrl(c, &g)))
            return rc;
        return push_ctrl(c, ZV_OP_else_, g.params, g.n_params, g.results, g.n_results);
    }
    case ZV_OP_end:
        return check_end(c);
    case ZV_OP_br: case ZV_OP_br_if:
        if (op->op == ZV_OP_br_if && (rc = pop(c, ZV_I32)))
            return rc;
        if ((rc = label(c, op->idx, &f)))
            return rc;
        label_types(f, &types, &n);
        if ((rc = pop_n(c, types, n)))
            return rc;
        if (op->op == ZV_OP_br_if)
            return push_n(c, types, n);
        set_unreachable(c);
        return 0;
    case ZV_OP_br_table:
        return check_br_table(c, op);
    case ZV_OP_return_:
        if ((rc = pop_n(c, c->ctrls[0].results, c->ctrls[0].n_results)))
            return rc;
        set_unreachable(c);
        return 0;
    case ZV_OP_call:
        if (op->idx >= m->n_funcs)
            return FAIL(c, "unknown function %u", op->idx);
        return check_call(c, &m->types[m->funcs[op->idx].type_idx]);
    case ZV_OP_call_indirect:
        if ((rc = table_type(c, op->idx2, &t)))
            return rc;
        if (t != ZV_FUNCREF)
            return FAIL(c, "type mismatch: call_indirect through a table of %s",
                        zv_val_type_name(t));
        if (op->idx >= m->n_types)
            return FAIL(c, "unknown type %u", op->idx);
        if ((rc = pop(c, ZV_I32)))
            return rc;
        return check_call(c, &m->types[op->idx]);
    case ZV_OP_drop:
        return pop_any(c, &t);
    case ZV_OP_ref_func:
        if (op->idx >= m->n_funcs)
            return FAIL(c, "unknown function %u", op->idx);
        if (!refs[op->idx])
            return FAIL(c, "undeclared function reference %u", op->idx);
        return push1(c, ZV_FUNCREF);
    case ZV_OP_memory_init: case ZV_OP_data_drop:
        if ((rc = check_data_idx(c, op->idx)))
            return rc;
        if (op->op == ZV_OP_data_drop)
            return 0;
        if ((rc = need_memory(c)))
            return rc;
        if ((rc = pop(c, ZV_I32)) || (rc = pop(c, ZV_I32)))
            return rc;
        return pop(c, ZV_I32);
    case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee:
    case ZV_OP_global_get: case ZV_OP_global_set:
        return check_variable(c, op);
    case ZV_OP_table_get: case ZV_OP_table_set: case ZV_OP_table_size: case ZV_OP_table_grow:
    case ZV_OP_table_fill: case ZV_OP_table_copy: case ZV_OP_table_init: case ZV_OP_elem_drop:
        return check_table_op(c, op);
    default:
        return check_ref_or_select(c, op);
    }
}

static int load_locals(zv_chk *c, const zv_val_functype *ft, const zv_val_func *fn)
{
    zv_rd rd = c->rd;
    uint32_t n_decls, total = ft->n_params;
    int rc;
    rd.p = c->rd.base + fn->locals_offset;
    /* Allocate even for 0 locals: memcpy and memset take no NULL pointer,
     * not even for 0 bytes (C11 §7.24.1). */
    if ((!c->locals || (uint64_t)ft->n_params + fn->n_locals > c->cap_locals) &&
        (rc = grow((void **)&c->locals, &c->cap_locals, (uint64_t)ft->n_params + fn->n_locals, 1)))
        return rc;
    memcpy(c->locals, ft->params, ft->n_params);
    if ((rc = zv_rd_u32(&rd, &n_decls)))
        return rc;
    for (uint32_t i = 0; i < n_decls; i++) {
        uint32_t count;
        uint8_t t;
        if ((rc = zv_rd_u32(&rd, &count)) || (rc = zv_rd_valtype(&rd, &t)))
            return rc;
        memset(c->locals + total, t, count);
        total += count;
    }
    c->n_locals = total;
    return 0;
}

int zv_chk_func(zv_chk *c, const zv_val_module *m, uint32_t fi, const uint8_t *refs,
                zv_val_err *err)
{
    const zv_val_func *fn = &m->funcs[fi];
    const zv_val_functype *ft = &m->types[fn->type_idx];
    const uint8_t *p = m->bytes + fn->code_offset, *end = m->bytes + fn->code_end;
    zv_val_op op;
    int rc;

    c->m = m;
    c->rd = (zv_rd){m->bytes, p, end, err};
    c->at = p;
    c->n_vals = c->n_ctrls = 0;
    c->max_height = 0;
    if ((uint64_t)ft->n_params + fn->n_locals > ZV_VAL_MAX_LOCALS)
        return FAIL(c, "too many locals: %llu (the limit is %u)",
                    (unsigned long long)ft->n_params + fn->n_locals, ZV_VAL_MAX_LOCALS);
    if ((rc = load_locals(c, ft, fn)))
        return rc;
    if ((rc = push_ctrl(c, 0, NULL, 0, ft->results, ft->n_results)))
        return rc;
    while (c->n_ctrls > 0) {
        const zv_op_info *info;
        if (p >= end)
            return ZV_MALFORMED(&c->rd, p, "unexpected end of function body: END opcode expected");
        c->at = p;
        if ((rc = zv_val_op_next(m->bytes, &p, end, &op, err)))
            return rc;
        info = &zv_op_table[ZV_OP_INDEX(op.op)];
        rc = info->sig != ZV_SIG_x ? check_simple(c, &op, info) : check_control(c, &op, refs);
        if (rc)
            return rc;
    }
    if (p != end)
        return ZV_MALFORMED(&c->rd, p, "section size mismatch: bytes after the function's end");
    ((zv_val_func *)fn)->max_height = c->max_height;
    return 0;
}
