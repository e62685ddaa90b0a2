/*
 * translate_dispatch.c — interpreters' dispatch loops, for translate.c.
 *
 * An interpreter's dispatch in wasm is a loop whose rounds begin with a
 * few value instructions and one br_table over the handlers, each of
 * which branches back to the loop: clang lowers a computed goto so. As a
 * C switch, every opcode goes through one shared indirect jump, which a
 * predictor with little history cannot tell apart by handler (this
 * machine's could: Lua's fib gained 4.5%, CPython nothing; perf/README.md
 * "Dispatch loops; start-up's checks remembered"). Such a br_table becomes
 * a table of label addresses and one `goto *` (gcc's labels as values)
 * with its index clamped to the default's entry: one basic block, which
 * gcc copies into each handler's jump back after register allocation
 * (its computed-goto duplication, backend_cc.c's max-goto-duplication-
 * insns), so every handler ends in its own indirect jump, as a computed
 * goto's do natively. Only that br_table, and only when each target is a
 * plain jump (no values, no try construct left, not the function's end):
 * gcc makes every address-taken label a successor of every `goto *` in
 * the function, so one per function keeps the graph a switch's.
 */
#include "engine/translate_private.h"

#include <stdio.h>

#define DISPATCH_MAX_OPS 24
#define DISPATCH_MIN_TARGETS 8

/* Where a dispatch starting at t->pos ends (after its br_table), or
 * NULL: blocks without params, and value instructions (locals, globals,
 * loads, constants, numeric) that cannot branch, before the br_table. */
const uint8_t *zv_eng_tr_dispatch_end(const tr *t)
{
    const uint8_t *p = t->pos;
    uint32_t n = 0;
    zv_val_op op;
    while (zv_val_op_next(t->m->bytes, &p, t->end, &op, NULL) == 0) {
        if (op.op == ZV_OP_br_table)
            return op.idx >= DISPATCH_MIN_TARGETS ? p : NULL;
        if (op.op == ZV_OP_block && op.block.kind != 2)
            continue;
        if (++n > DISPATCH_MAX_OPS)
            return NULL;
        if (!(op.op == ZV_OP_nop || op.op == ZV_OP_drop || op.op == ZV_OP_select ||
              (op.op >= ZV_OP_local_get && op.op <= ZV_OP_global_set) ||
              (op.op >= ZV_OP_i32_load && op.op <= ZV_OP_i64_load32_u) ||
              (op.op >= ZV_OP_i32_const && op.op <= ZV_OP_i64_extend32_s)))
            return NULL;
    }
    return NULL;
}

/* The br_table being translated (its index on the stack, t->pos after
 * it) as a table of label addresses, if it is the innermost loop's
 * dispatch and every target a plain jump; else 0. */
int zv_eng_tr_dispatch_table(tr *t, const zv_val_op *op)
{
    uint32_t i = t->nf - 1, n_try = t->frames[t->nf - 1].n_try;
    const uint8_t *p = op->targets;
    char c[16];
    while (i > 0 && t->frames[i].op == ZV_OP_block)
        i--;
    if (t->frames[i].op != ZV_OP_loop || t->frames[i].dispatch != t->pos)
        return 0;
    for (uint32_t k = 0; k <= op->idx; k++) {
        uint32_t fi = t->nf - 1 - zv_val_br_table_next(&p);
        const tframe *f = &t->frames[fi];
        if (fi == 0 || (f->op == ZV_OP_loop ? f->np : f->nr) ||
            (f->op == ZV_OP_loop ? f->n_try : t->frames[fi - 1].n_try) != n_try)
            return 0;
    }
    zv_eng_tr_var(t, t->sp - 1, c);
    t->sp--;
    fprintf(t->out, "  { static void *const D%u[] = {", t->frames[i].label);
    p = op->targets;
    for (uint32_t k = 0; k <= op->idx; k++) {
        tframe *f = &t->frames[t->nf - 1 - zv_val_br_table_next(&p)];
        fprintf(t->out, "%s%s&&L%u_%s", k ? "," : "", k % 8 ? " " : "\n    ", f->label,
                f->op == ZV_OP_loop ? "top" : "end");
        f->branched |= f->op != ZV_OP_loop;
    }
    fprintf(t->out, "};\n    goto *D%u[(uint32_t)%s < %uu ? (uint32_t)%s : %uu]; }\n",
            t->frames[i].label, c, op->idx, c, op->idx);
    return 1;
}
