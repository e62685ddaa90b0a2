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
 *
 * What the dispatch does before its jump is done on every round, so it
 * is made as short as a computed goto's natively: the sets that the
 * targets can do instead move there (zv_eng_tr_dispatch_defer), and an
 * index (x & mask) + c, or a byte + c, becomes a table indexed by x & mask
 * or the byte, with no add and no clamp (fold). CPython's dispatch went from 21 instructions to 7
 * (perf/README.md "A dispatch as short as a computed goto").
 */
#include "engine/translate_private.h"

#include <assert.h>
#include <stdio.h>

#define DISPATCH_MAX_OPS 24
#define DISPATCH_MIN_TARGETS 8
#define DISPATCH_MAX_FOLD 1024 /* entries of a table indexed by x & mask */

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

/* One instruction of a dispatch's first text: `gap` when a block opens
 * before it (so no value crosses from the one before). */
typedef struct {
    uint16_t op;
    uint8_t gap;
    uint32_t idx;
    int64_t i64;
    const uint8_t *end;
} hop;

static int is_int_local(const tr *t, uint32_t x)
{
    return t->locals[x] == ZV_I32 || t->locals[x] == ZV_I64;
}

/* Whether an instruction after a set may not move past: it reads or
 * writes one of the set's locals, or writes its source. */
static int crosses(const hop *h, uint32_t from, uint32_t to, const hop *later)
{
    int rw = later->op == ZV_OP_local_get || later->op == ZV_OP_local_set ||
             later->op == ZV_OP_local_tee;
    if (!rw)
        return 0;
    if (h[from].op == ZV_OP_local_get && later->op != ZV_OP_local_get &&
        later->idx == h[from].idx)
        return 1;
    for (uint32_t k = from + 1; k <= to; k++)
        if (later->idx == h[k].idx)
            return 1;
    return 0;
}

static int skip(tr *t, const uint8_t *end)
{
    int rc = zv_eng_tr_room((void **)&t->skip, t->n_skip, &t->cap_skip, sizeof *t->skip);
    if (rc == 0)
        t->skip[t->n_skip++] = end;
    return rc;
}

/* An index whose range the table can cover, (x & M) + C with M + 1 a
 * power of two (CPython's opcode - 1) or a byte load + C (SQLite's
 * opcode): the table takes x & M (or the byte: M = 255) and has M + 1
 * entries, the one of j that of j + C, so the add and the clamp go. */
static int fold(tr *t, const hop *h, uint32_t n)
{
    uint32_t k = n, m = 0, c = 0;
    int rc;
    if (k >= 2 && h[k - 2].op == ZV_OP_i32_const && h[k - 1].op == ZV_OP_i32_add && !h[k - 1].gap)
        c = (uint32_t)h[k - 2].i64, k -= 2;
    if (k >= 2 && h[k - 2].op == ZV_OP_i32_const && h[k - 1].op == ZV_OP_i32_and && !h[k - 1].gap)
        m = (uint32_t)h[k - 2].i64;
    else if (k >= 1 && h[k - 1].op == ZV_OP_i32_load8_u)
        m = 255;
    if (m == 0 || (m & (m + 1)) || m >= DISPATCH_MAX_FOLD || (k < n && h[k].gap))
        return 0;
    if (k < n && ((rc = skip(t, h[n - 2].end)) || (rc = skip(t, h[n - 1].end))))
        return rc;
    t->fold_mask = m;
    t->fold_bias = c;
    return 0;
}

/* A clang loop's rounds set locals to constants or to copies of others
 * (a φ whose value every handler's jump back gives alike) before the
 * br_table: C moves on every dispatch, where most handlers overwrite the
 * local before they read it. A set whose locals nothing later in the first
 * text reads or writes, and whose source nothing later writes, is done by
 * each target's own entry instead (zv_eng_tr_dispatch_table), where gcc
 * drops those whose local that handler never reads. */
int zv_eng_tr_dispatch_defer(tr *t)
{
    hop h[DISPATCH_MAX_OPS]; /* zv_eng_tr_dispatch_end counted them */
    uint32_t n = 0;
    uint8_t gap = 0;
    const uint8_t *p = t->pos;
    zv_val_op op;
    while (zv_val_op_next(t->m->bytes, &p, t->end, &op, NULL) == 0 && op.op != ZV_OP_br_table) {
        if (op.op == ZV_OP_block) {
            gap = 1;
            continue;
        }
        assert(n < DISPATCH_MAX_OPS);
        h[n++] = (hop){op.op, gap, op.idx, op.i64, p};
        gap = 0;
    }
    for (uint32_t j = 0, e; j < n; j = e + 1) {
        uint16_t o = h[j].op;
        int ok = o == ZV_OP_i32_const || o == ZV_OP_i64_const ||
                 (o == ZV_OP_local_get && is_int_local(t, h[j].idx));
        for (e = j + 1; ok && e < n && !h[e].gap && h[e].op == ZV_OP_local_tee; e++)
            ;
        if (!ok || e >= n || h[e].gap || h[e].op != ZV_OP_local_set) {
            e = j;
            continue;
        }
        for (uint32_t k = e + 1; ok && k < n; k++)
            ok = !crosses(h, j, e, &h[k]);
        for (uint32_t k = j + 1; ok && k <= e; k++)
            ok = is_int_local(t, h[k].idx);
        if (!ok) {
            e = j;
            continue;
        }
        for (uint32_t k = j; k <= e; k++) {
            int rc = skip(t, h[k].end);
            if (rc)
                return rc;
            if (k == j)
                continue;
            if ((rc = zv_eng_tr_room((void **)&t->defer, t->n_defer, &t->cap_defer,
                                     sizeof *t->defer)))
                return rc;
            t->defer[t->n_defer++] = (tdefer){h[k].idx, h[j].idx, o == ZV_OP_local_get,
                                              t->locals[h[k].idx] == ZV_I64, (uint64_t)h[j].i64};
        }
    }
    return fold(t, h, n);
}

int zv_eng_tr_dispatch_skips(tr *t, const uint8_t *p)
{
    for (uint32_t k = 0; k < t->n_skip; k++)
        if (t->skip[k] == p)
            return 1;
    return 0;
}

static void emit_defers(tr *t)
{
    for (uint32_t k = 0; k < t->n_defer; k++) {
        const tdefer *d = &t->defer[k];
        if (d->from_local)
            fprintf(t->out, "  L%u = L%u;\n", d->local, d->src);
        else if (d->is64)
            fprintf(t->out, "  L%u = UINT64_C(%llu);\n", d->local, (unsigned long long)d->value);
        else
            fprintf(t->out, "  L%u = %uu;\n", d->local, (uint32_t)d->value);
    }
}

static const char *end_of(const tframe *f)
{
    return f->op == ZV_OP_loop ? "top" : "end";
}

/* The depth that the br_table's entry k (op->idx: the default) targets. */
static uint32_t depth_at(const zv_val_op *op, uint32_t k)
{
    const uint8_t *p = op->targets;
    uint32_t d = 0;
    for (uint32_t j = 0; j <= k; j++)
        d = zv_val_br_table_next(&p);
    return d;
}

/* The br_table being translated (its index on the stack, t->pos after
 * it) as a table of label addresses, if it is the innermost loop's
 * dispatch and every target a plain jump; else 0. With sets to do, each
 * target's entry T<loop>_<target> does them and goes on. */
static int table(tr *t, const zv_val_op *op)
{
    uint32_t i = t->nf - 1, n_try = t->frames[t->nf - 1].n_try, lab;
    uint32_t n = t->fold_mask ? t->fold_mask + 1 : op->idx + 1;
    char c[16];
    while (i > 0 && t->frames[i].op == ZV_OP_block)
        i--;
    if (t->frames[i].op != ZV_OP_loop || t->frames[i].dispatch != t->pos)
        return 0;
    for (uint32_t k = 0; k <= op->idx; k++) {
        uint32_t fi = t->nf - 1 - depth_at(op, k);
        const tframe *f = &t->frames[fi];
        if (fi == 0 || (f->op == ZV_OP_loop ? f->np : f->nr) ||
            (f->op == ZV_OP_loop ? f->n_try : t->frames[fi - 1].n_try) != n_try)
            return 0;
    }
    lab = t->frames[i].label;
    zv_eng_tr_var(t, t->sp - 1, c);
    t->sp--;
    fprintf(t->out, "  { static void *const D%u[] = {", lab);
    for (uint32_t e = 0; e < n; e++) {
        uint32_t k = t->fold_mask ? e + t->fold_bias : e;
        tframe *f = &t->frames[t->nf - 1 - depth_at(op, k < op->idx ? k : op->idx)];
        fprintf(t->out, "%s%s", e ? "," : "", e % 8 ? " " : "\n    ");
        if (t->n_defer)
            fprintf(t->out, "&&T%u_%u", lab, f->label);
        else
            fprintf(t->out, "&&L%u_%s", f->label, end_of(f));
        f->branched |= f->op != ZV_OP_loop;
    }
    if (t->fold_mask) /* (the mask is the header's own: gcc drops this one) */
        fprintf(t->out, "};\n    goto *D%u[%s & %uu];\n", lab, c, t->fold_mask);
    else
        fprintf(t->out, "};\n    goto *D%u[(uint32_t)%s < %uu ? (uint32_t)%s : %uu];\n", lab, c,
                op->idx, c, op->idx);
    for (uint32_t fi = t->nf - 1; t->n_defer && fi > 0; fi--) {
        uint32_t k = 0;
        while (k <= op->idx && depth_at(op, k) != t->nf - 1 - fi)
            k++;
        if (k > op->idx)
            continue;
        fprintf(t->out, "  T%u_%u:;\n", lab, t->frames[fi].label);
        emit_defers(t);
        fprintf(t->out, "  goto L%u_%s;\n", t->frames[fi].label, end_of(&t->frames[fi]));
    }
    fprintf(t->out, "  }\n");
    return 1;
}

/* The br_table that ends a dispatch's first text: a table of labels if
 * it can be, else (0) the switch that follows has the moved sets first. */
int zv_eng_tr_dispatch_table(tr *t, const zv_val_op *op)
{
    int done = table(t, op);
    char c[16];
    if (!done && t->fold_mask) {
        zv_eng_tr_var(t, t->sp - 1, c);
        fprintf(t->out, "  %s += %uu;\n", c, t->fold_bias);
    }
    if (!done)
        emit_defers(t);
    t->n_defer = t->n_skip = t->fold_mask = 0;
    return done;
}
