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
 * or the byte, with no add and no clamp (fold); an index loaded from a
 * table in memory (Lua's) jumps by what the initial memory holds there,
 * checked against the word loaded (speculate). CPython's dispatch went from 21 instructions to 7
 * (perf/README.md "A dispatch as short as a computed goto").
 */
#include "engine/translate_private.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

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
    uint32_t idx, offset;
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

static int is_mask(uint32_t m) { return m && !(m & (m + 1)) && m < DISPATCH_MAX_FOLD; }

/* An index loaded from a table in memory, load32(((x & M) << 2) + B) + c
 * (Lua's `disptab`, the label numbers of clang's lowering of its computed
 * goto): the jump goes by x & M to the entry that the initial memory's
 * word there names, once the word loaded is checked to be that one, so
 * the jump waits for x, not for the load (else, the table by the value). */
static int speculate(tr *t, const hop *h, uint32_t n, uint32_t k, uint32_t c)
{
    const hop *q = h + (k < 7 ? 0 : k - 7);
    int rc = 0;
    if (k < 7 || q[0].op != ZV_OP_i32_const || q[1].op != ZV_OP_i32_and ||
        q[2].op != ZV_OP_i32_const || q[2].i64 != 2 || q[3].op != ZV_OP_i32_shl ||
        q[4].op != ZV_OP_i32_const || q[5].op != ZV_OP_i32_add || q[6].op != ZV_OP_i32_load ||
        !is_mask((uint32_t)q[0].i64))
        return 0;
    for (uint32_t j = 1; j < n - (k - 7); j++)
        if (q[j].gap)
            return 0;
    for (uint32_t j = k - 7; rc == 0 && j < n; j++)
        rc = skip(t, h[j].end);
    t->fold_mask = (uint32_t)q[0].i64;
    t->fold_bias = c;
    t->spec_load = 1;
    t->spec_base = (uint32_t)q[4].i64;
    t->spec_off = q[6].offset;
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
    if ((rc = speculate(t, h, n, k, c)) || t->spec_load)
        return rc;
    if (k >= 2 && h[k - 2].op == ZV_OP_i32_const && h[k - 1].op == ZV_OP_i32_and && !h[k - 1].gap)
        m = (uint32_t)h[k - 2].i64;
    else if (k >= 1 && h[k - 1].op == ZV_OP_i32_load8_u)
        m = 255;
    if (!is_mask(m) || (k < n && h[k].gap))
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
        h[n++] = (hop){op.op, gap, op.idx, op.offset, op.i64, p};
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

int zv_eng_tr_dispatch_skips(const tr *t, const uint8_t *p)
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

/* The word at address a of the initial memory (the active data segments
 * at constant offsets, later ones over earlier ones; 0 elsewhere). */
static uint32_t init_word(const zv_val_module *m, uint64_t a)
{
    uint32_t w = 0;
    for (uint32_t s = 0; s < m->n_datas; s++) {
        const zv_val_data *d = &m->datas[s];
        uint64_t at = d->offset.bits & 0xffffffffu;
        for (uint32_t b = 0; b < 4; b++)
            if (d->mode == ZV_SEG_ACTIVE && d->offset.kind == ZV_CONST_I32 && a + b >= at &&
                a + b - at < d->size_bytes)
                w = (w & ~(0xffu << 8 * b)) | (uint32_t)d->bytes[a + b - at] << 8 * b;
    }
    return w;
}

/* Table <name><lab>'s entry e: the br_table's entry k, the default's (at
 * n_last) beyond its end, whose frame depth[] gives; with sets to do, the
 * target's entry T<loop>_<target>. */
static void entry(tr *t, const uint32_t *depth, uint32_t n_last, uint32_t lab, uint32_t e,
                  uint32_t k)
{
    tframe *f = &t->frames[t->nf - 1 - depth[k < n_last ? k : n_last]];
    fprintf(t->out, "%s%s", e ? "," : "", e % 8 ? " " : "\n    ");
    if (t->n_defer)
        fprintf(t->out, "&&T%u_%u", lab, f->label);
    else
        fprintf(t->out, "&&L%u_%s", f->label, end_of(f));
    f->branched |= f->op != ZV_OP_loop;
}

/* The jump of a speculated load (speculate): by x & M to the entry its
 * initial word names, else by the word loaded. */
static void emit_speculated(tr *t, const uint32_t *depth, uint32_t n_last, uint32_t lab,
                            const char *x)
{
    uint32_t m = t->fold_mask, c = t->fold_bias, word[DISPATCH_MAX_FOLD];
    for (uint32_t e = 0; e <= m; e++)
        word[e] = init_word(t->m, (uint64_t)t->spec_base + 4 * e + t->spec_off);
    fprintf(t->out, "  { static void *const D%u[] = {", lab);
    for (uint32_t e = 0; e <= n_last; e++)
        entry(t, depth, n_last, lab, e, e);
    fprintf(t->out, "};\n    static void *const E%u[] = {", lab);
    for (uint32_t e = 0; e <= m; e++)
        entry(t, depth, n_last, lab, e, word[e] + c);
    fprintf(t->out, "};\n    static const uint32_t V%u[] = {", lab);
    for (uint32_t e = 0; e <= m; e++)
        fprintf(t->out, "%s%s%uu", e ? "," : "", e % 8 ? " " : "\n    ", word[e]);
    fprintf(t->out, "};\n    uint32_t s_ = %s & %uu, v_ = zv_op_i32_load(mem, (s_ << 2) + %uu, %uu);\n",
            x, m, t->spec_base, t->spec_off);
    fprintf(t->out, "    if (ZV_UNLIKELY(v_ != V%u[s_])) {\n      v_ += %uu;\n"
                    "      goto *D%u[v_ < %uu ? v_ : %uu];\n    }\n    goto *E%u[s_];\n",
            lab, c, lab, n_last, n_last, lab);
}

/* The br_table being translated (its index on the stack, t->pos after
 * it), which ends the dispatch of loop frame i and whose entries' depths
 * are depth[], as a table of label addresses if every target is a plain
 * jump; else 0. `mark` (a byte per frame, zero) finds the targets that need an
 * entry T<loop>_<target>, written innermost first, once each. */
static int table(tr *t, const zv_val_op *op, uint32_t i, const uint32_t *depth, uint8_t *mark)
{
    uint32_t n_try = t->frames[t->nf - 1].n_try, lab;
    uint32_t n = t->fold_mask ? t->fold_mask + 1 : op->idx + 1;
    char c[16];
    for (uint32_t k = 0; k <= op->idx; k++) {
        uint32_t fi = t->nf - 1 - depth[k];
        const tframe *f = &t->frames[fi];
        if (fi == 0 || (f->op == ZV_OP_loop ? f->np : f->nr) ||
            (f->op == ZV_OP_loop ? f->n_try : t->frames[fi - 1].n_try) != n_try)
            return 0;
        mark[fi] = 1;
    }
    lab = t->frames[i].label;
    zv_eng_tr_var(t, t->sp - 1, c);
    t->sp--;
    if (t->spec_load) {
        emit_speculated(t, depth, op->idx, lab, c);
    } else {
        fprintf(t->out, "  { static void *const D%u[] = {", lab);
        for (uint32_t e = 0; e < n; e++)
            entry(t, depth, op->idx, lab, e, t->fold_mask ? e + t->fold_bias : e);
        if (t->fold_mask) /* (the mask is the header's own: gcc drops this one) */
            fprintf(t->out, "};\n    goto *D%u[%s & %uu];\n", lab, c, t->fold_mask);
        else
            fprintf(t->out, "};\n    goto *D%u[(uint32_t)%s < %uu ? (uint32_t)%s : %uu];\n", lab,
                    c, op->idx, c, op->idx);
    }
    for (uint32_t fi = t->nf - 1; t->n_defer && fi > 0; fi--) {
        if (!mark[fi])
            continue;
        fprintf(t->out, "  T%u_%u:;\n", lab, t->frames[fi].label);
        emit_defers(t);
        fprintf(t->out, "  goto L%u_%s;\n", t->frames[fi].label, end_of(&t->frames[fi]));
    }
    fprintf(t->out, "  }\n");
    return 1;
}

/* The br_table that ends a dispatch's first text: a table of labels if
 * it can be (1), else (0) the switch that follows has the left-out text
 * (the load, the add) and the moved sets first; or -ENOMEM. */
int zv_eng_tr_dispatch_table(tr *t, const zv_val_op *op)
{
    uint32_t i = t->nf - 1, *depth = NULL;
    uint8_t *mark = NULL;
    const uint8_t *p = op->targets;
    char c[16];
    int done = 0;
    while (i > 0 && t->frames[i].op == ZV_OP_block)
        i--;
    if (t->frames[i].op == ZV_OP_loop && t->frames[i].dispatch == t->pos) {
        depth = malloc(((size_t)op->idx + 1) * sizeof *depth);
        mark = calloc(t->nf, 1);
        for (uint32_t k = 0; depth && k <= op->idx; k++)
            depth[k] = zv_val_br_table_next(&p);
        done = depth && mark ? table(t, op, i, depth, mark) : -ENOMEM;
    }
    if (done == 0) {
        zv_eng_tr_var(t, t->sp - 1, c);
        if (t->spec_load)
            fprintf(t->out, "  %s = zv_op_i32_load(mem, ((%s & %uu) << 2) + %uu, %uu);\n", c, c,
                    t->fold_mask, t->spec_base, t->spec_off);
        if (t->fold_mask)
            fprintf(t->out, "  %s += %uu;\n", c, t->fold_bias);
        emit_defers(t);
    }
    t->n_defer = t->n_skip = t->fold_mask = t->spec_load = 0;
    free(depth);
    free(mark);
    return done;
}
