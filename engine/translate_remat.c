/*
 * translate_remat.c — loop invariants computed again where they are used,
 * for translate.c.
 *
 * clang hoists a loop's invariant arithmetic out of the loop (LICM) before
 * it lowers to wasm, where each hoisted value becomes a local set before
 * the loop. gcc then sees a value live across the whole loop and every
 * call in it, and keeps it in a callee-saved register or on the stack: in
 * CPython's regex engine, `sre_ucs1_charset` computes six values from its
 * character at entry (1 << ch, ch >> 8, ch > 255, ...), which took the
 * last callee-saved registers and three stack slots on every call, where
 * the native gcc build, given the source's expressions in the loop's
 * cases, computes each where it is needed (perf/README.md "Loop
 * invariants where they are used").
 *
 * A local qualifies when the function sets it once, in its entry's
 * straight-line code (before any block, loop, if, try or branch; a call,
 * load or store there may trap or throw, but then nothing after it runs),
 * from at most REMAT_MAX_OPS cheap integer instructions that cannot trap
 * and read only constants and parameters the function never sets, and
 * nothing reads it before that set. Its value is then the same
 * everywhere after the set, and each local.get of it translates those
 * instructions again (zv_eng_tr_remat_get); the set stays, so any text
 * that names the local still reads the right value, and gcc deletes it
 * when nothing does.
 */
#include "engine/translate_private.h"

#include <errno.h>
#include <stdlib.h>

#define REMAT_MAX_OPS 8
#define REMAT_STACK 32

typedef struct {
    const uint8_t *from; /* the first instruction of the value's code */
    uint32_t n_ops;      /* its instructions */
    int pure;            /* constants, unset parameters and integer operators only */
} slot;

static int is_int(uint8_t ty) { return ty == ZV_I32 || ty == ZV_I64; }

/* Pops of a cheap integer operator that cannot trap, or -1: not a
 * division (it traps) and not a multiplication (three cycles where the
 * others take one: kept where it was computed). */
static int pure_pops(uint16_t code)
{
    uint8_t pops[3], push;
    int n;
    switch (code) {
    case ZV_OP_i32_div_s: case ZV_OP_i32_div_u: case ZV_OP_i32_rem_s: case ZV_OP_i32_rem_u:
    case ZV_OP_i64_div_s: case ZV_OP_i64_div_u: case ZV_OP_i64_rem_s: case ZV_OP_i64_rem_u:
    case ZV_OP_i32_mul: case ZV_OP_i64_mul:
        return -1;
    default:
        break;
    }
    n = zv_val_op_sig(code, pops, &push);
    if (n < 0 || zv_val_op_imm(code) != ZV_IMM_NONE || !is_int(push))
        return -1;
    for (int i = 0; i < n; i++)
        if (!is_int(pops[i]))
            return -1;
    return n;
}

/* The values on the stack below an instruction that is no pure operator:
 * each one's code would take that instruction in if computed again. */
static void taint(slot *st, uint32_t sp)
{
    for (uint32_t k = 0; k < sp; k++)
        st[k].pure = 0;
}

/* Pops of an instruction that does not branch and that the scan follows
 * (an operator, a load, a store, a direct or indirect call, global.get or
 * .set, drop), and in *push its results; -1 for any other. */
static int simple_pops(const tr *t, const zv_val_op *op, uint32_t *push)
{
    const zv_val_functype *ty;
    uint8_t pops[3], one;
    int n;
    switch (op->op) {
    case ZV_OP_call: case ZV_OP_call_indirect:
        ty = &t->m->types[op->op == ZV_OP_call ? t->m->funcs[op->idx].type_idx : op->idx];
        *push = ty->n_results;
        return (int)ty->n_params + (op->op == ZV_OP_call_indirect);
    case ZV_OP_global_get:
        *push = 1;
        return 0;
    case ZV_OP_global_set: case ZV_OP_drop:
        *push = 0;
        return 1;
    default:
        n = zv_val_op_sig(op->op, pops, &one);
        *push = one != 0;
        return n;
    }
}

/* The locals of the function whose body is [p, end) that each local.get
 * may compute again: t->remat_from/to[x] set for those, NULL elsewhere. */
int zv_eng_tr_remat_scan(tr *t, const uint8_t *p, const uint8_t *end, uint32_t n_params)
{
    const zv_val_module *m = t->m;
    uint8_t *sets = calloc(t->n_locals + 1, 1), *read = calloc(t->n_locals + 1, 1);
    const uint8_t *q;
    slot st[REMAT_STACK];
    uint32_t sp = 0;
    zv_val_op op;
    int rc = 0;
    free(t->remat_from);
    free(t->remat_to);
    t->remat_from = calloc(t->n_locals + 1, sizeof *t->remat_from);
    t->remat_to = calloc(t->n_locals + 1, sizeof *t->remat_to);
    if (!sets || !read || !t->remat_from || !t->remat_to) {
        rc = -ENOMEM;
        goto out;
    }
    for (q = p; q < end && zv_val_op_next(m->bytes, &q, end, &op, NULL) == 0;)
        if ((op.op == ZV_OP_local_set || op.op == ZV_OP_local_tee) && sets[op.idx] < 2)
            sets[op.idx]++;
    /* the entry's straight-line code, its stack of values followed */
    for (q = p; q < end && sp < REMAT_STACK;) {
        const uint8_t *at = q;
        uint32_t push;
        int n;
        if (zv_val_op_next(m->bytes, &q, end, &op, NULL))
            break;
        if (op.op == ZV_OP_local_get) {
            read[op.idx] = 1;
            int pure = op.idx < n_params && !sets[op.idx] && is_int(t->locals[op.idx]);
            st[sp++] = (slot){at, 1, pure};
        } else if (op.op == ZV_OP_i32_const || op.op == ZV_OP_i64_const) {
            st[sp++] = (slot){at, 1, 1};
        } else if (op.op == ZV_OP_local_set && sp > 0) {
            slot v = st[--sp];
            uint32_t x = op.idx;
            if (v.pure && v.n_ops <= REMAT_MAX_OPS && x >= n_params && sets[x] == 1 && !read[x] &&
                is_int(t->locals[x])) {
                t->remat_from[x] = v.from;
                t->remat_to[x] = at;
            }
            taint(st, sp);
        } else if (op.op == ZV_OP_local_tee && sp > 0) { /* clang's frame: sp = tee(sp - n) */
            taint(st, sp);
        } else if ((n = simple_pops(t, &op, &push)) >= 0 && (uint32_t)n <= sp) {
            /* an operator (pure if it and its operands are), a load, a
             * store or a call: a trap or a throw leaves the function, so
             * the code after it still runs only after the code before it */
            slot v = {n ? st[sp - (uint32_t)n].from : at, 1, pure_pops(op.op) >= 0};
            for (uint32_t k = sp - (uint32_t)n; k < sp; k++)
                v.n_ops += st[k].n_ops, v.pure &= st[k].pure;
            sp -= (uint32_t)n;
            if (!v.pure)
                taint(st, sp);
            for (uint32_t k = 0; k < push && sp < REMAT_STACK; k++)
                st[sp++] = k ? (slot){at, 1, 0} : v;
        } else {
            break; /* a construct, a branch: the straight-line entry ends */
        }
    }
out:
    free(sets);
    free(read);
    return rc;
}
