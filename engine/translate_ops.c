/*
 * translate_ops.c — WebAssembly to C: values and instructions. The
 * compile-time operand stack (the value at depth k of type t lives in the
 * C variable <t><k>: i3, l0, v2, ...), constants, plain instructions (calls
 * of `zv_op_<name>` from rt_ops.h/rt_simd.h, with 64-bit addresses in a
 * loop's fast copy), variables, calls, tables and references. Control flow
 * and whole functions are translate.c's; what the two share is in
 * translate_private.h.
 */
#include "engine/translate_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
        if (!(p = realloc(t->raw, cap)))
            return -ENOMEM;
        t->raw = p;
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
void zv_eng_tr_var(tr *t, uint32_t k, char buf[16]) { var_typed(t, k, t->stack[k], buf); }

int zv_eng_tr_push(tr *t, uint8_t ty, char buf[16])
{
    int rc = need(t, 1);
    if (rc)
        return rc;
    t->raw[t->sp] = 0;
    t->stack[t->sp++] = ty;
    if (buf)
        zv_eng_tr_var(t, t->sp - 1, buf);
    return 0;
}

/* Copy n values from the top of the stack down to slot `to`. */
void zv_eng_tr_move_down(tr *t, uint32_t to, uint32_t n)
{
    uint32_t from = t->sp - n;
    if (from == to)
        return;
    for (uint32_t i = 0; i < n; i++) {
        char d[16], s[16];
        /* the target slot takes the moved value's type, whatever it holds now */
        var_typed(t, to + i, t->stack[from + i], d);
        zv_eng_tr_var(t, from + i, s);
        fprintf(t->out, "  %s = %s;\n", d, s);
    }
}

/* Set slots [at, at+n) to the given types (after a block or call). */
int zv_eng_tr_set_types(tr *t, uint32_t at, const uint8_t *types, uint32_t n)
{
    int rc;
    t->sp = at;
    if ((rc = need(t, n)))
        return rc;
    if (n) { /* an empty type list may be NULL */
        memcpy(t->stack + at, types, n);
        memset(t->raw + at, 0, n);
    }
    t->sp = at + n;
    return 0;
}

/* ---- calls ------------------------------------------------------------------ */

/* Arguments for a call of type ty: the top n_params slots, comma-separated. */
static void emit_args(tr *t, const zv_val_functype *ty)
{
    for (uint32_t i = 0; i < ty->n_params; i++) {
        char v[16];
        zv_eng_tr_var(t, t->sp - ty->n_params + i, v);
        fprintf(t->out, ", %s", v);
    }
}

/* The call itself, a block: ((zv_ftT)fn)(callee, args) into r_, then ZV_NO_TAIL. */
static void emit_invoke(tr *t, uint32_t type_idx, const char *fn, const char *callee)
{
    const zv_val_functype *ty = &t->m->types[type_idx];
    fprintf(t->out, " {%s((zv_ft%u)%s)(%s", ty->n_results ? " r_ = " : " ", type_idx, fn, callee);
    emit_args(t, ty);
    fprintf(t->out, ");%s }", t->no_tail ? " ZV_NO_TAIL();" : "");
}

/* A call of type type_idx through `fn` with context `ctx`. One that may
 * enter another instance (an import, call_indirect: ctx is not "ctx")
 * calls with the caller's own context when the callee's is the same, and
 * otherwise runs on the callee's memory, the caller's coming back after
 * it (rt_ops.h ZV_SEG_IN): two calls, so that the common one keeps no
 * value across the call for the comparison after it. */
static int call_typed(tr *t, uint32_t type_idx, const char *fn, const char *ctx)
{
    const zv_val_functype *ty = &t->m->types[type_idx];
    uint32_t base = t->sp - ty->n_params;
    int rc;
    fprintf(t->out, "  {");
    if (ty->n_results == 1)
        fprintf(t->out, " %s r_;", zv_eng_ctype(ty->results[0]));
    else if (ty->n_results > 1)
        fprintf(t->out, " zv_res%u r_;", type_idx);
    if (strcmp(ctx, "ctx")) {
        fprintf(t->out, " C *c_ = %s;\n  if (ZV_LIKELY(c_ == ctx))", ctx);
        emit_invoke(t, type_idx, fn, "ctx");
        fprintf(t->out, "\n  else { ZV_SEG_IN(ctx, c_);");
        emit_invoke(t, type_idx, fn, "c_");
        fprintf(t->out, " ZV_SEG_OUT(ctx, c_); }\n ");
    } else {
        emit_invoke(t, type_idx, fn, "ctx");
    }
    if ((rc = zv_eng_tr_set_types(t, base, ty->results, ty->n_results)))
        return rc;
    for (uint32_t i = 0; i < ty->n_results; i++) {
        char v[16];
        zv_eng_tr_var(t, base + i, v);
        if (ty->n_results == 1)
            fprintf(t->out, " %s = r_;", v);
        else
            fprintf(t->out, " %s = r_.r%u;", v, i);
    }
    fprintf(t->out, "%s }\n", t->opts->dirty_pages ? " mem = ctx->mem;" : "");
    return 0;
}

int zv_eng_tr_direct_call(tr *t, uint32_t f)
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

int zv_eng_tr_indirect_call(tr *t, const zv_val_op *op)
{
    const zv_val_functype *ty = &t->m->types[op->idx];
    uint32_t code = zv_eng_type_code(ty->params, ty->n_params, ty->results, ty->n_results);
    char idx[16], want[48], tab[48];
    int rc;
    if (zv_eng_has_table0(t->m) && op->idx2 == t->m->n_imported_tables)
        snprintf(tab, sizeof tab, "&ctx->table0");
    else
        snprintf(tab, sizeof tab, "ctx->tables[%u]", op->idx2);
    zv_eng_tr_var(t, t->sp - 1, idx);
    t->sp--;
    if (code)
        snprintf(want, sizeof want, "%#xu", code);
    else
        snprintf(want, sizeof want, "ctx->type_ids[%u]", op->idx);
    fprintf(t->out, "  { zv_func *F_ = zv_indirect(ctx, %s, %s, %s);\n", tab, idx, want);
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

int zv_eng_tr_const(tr *t, const zv_val_op *op)
{
    char v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_i32_const:
        if ((rc = zv_eng_tr_push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = %uu;\n", v, (uint32_t)op->i64);
        return 0;
    case ZV_OP_i64_const:
        if ((rc = zv_eng_tr_push(t, ZV_I64, v)))
            return rc;
        fprintf(t->out, "  %s = UINT64_C(%llu);\n", v, (unsigned long long)op->i64);
        return 0;
    case ZV_OP_f32_const:
        if ((rc = zv_eng_tr_push(t, ZV_F32, v)))
            return rc;
        fprintf(t->out, "  %s = zv_f32_bits(%uu);\n", v, op->bits32);
        return 0;
    case ZV_OP_f64_const:
        if ((rc = zv_eng_tr_push(t, ZV_F64, v)))
            return rc;
        fprintf(t->out, "  %s = zv_f64_bits(UINT64_C(%llu));\n", v,
                (unsigned long long)op->bits64);
        return 0;
    default: { /* v128.const */
        uint64_t lo, hi;
        memcpy(&lo, op->v128, 8);
        memcpy(&hi, op->v128 + 8, 8);
        if ((rc = zv_eng_tr_push(t, ZV_V128, v)))
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

/* ---- NaN results ------------------------------------------------------------
 * Every arithmetic float result that is a NaN must be the canonical one
 * (rt_ops.h "NaN results"), but checking after every instruction cost
 * nbody 1.9x and matmul 1.6x (perf/README.md "NaN results"). Only a bitwise
 * use can see a NaN's bits, so the check moves there: an arithmetic
 * instruction (zv_eng_tr_raw_op) leaves a raw result, its slot marked
 * raw, and the slot is canonicalised when anything but another arithmetic
 * instruction, a comparison or a truncation (whose results do not depend
 * on a NaN's bits) uses it: a store, a reinterpret, neg, abs, copysign, a
 * call, a branch, a block's end, select, global.set, local.set. A local's
 * web (translate_raw.c) whose every write follows an arithmetic
 * instruction, or a constant that is no NaN or the canonical one, may hold
 * a raw float: setting it costs nothing and local.get gives a raw slot.
 * A raw value's NaN-ness and any non-NaN value are exact IEEE results on
 * every compiler (-frounding-math, no contraction); only a NaN's bits
 * vary, and no one sees them before the check. SIMD results are canonical
 * at once (rt_simd.h). */

/* Scalar float arithmetic whose NaN result is raw (rt_ops.h). */
int zv_eng_tr_raw_op(uint16_t op)
{
    switch (op) {
    case ZV_OP_f32_add: case ZV_OP_f32_sub: case ZV_OP_f32_mul: case ZV_OP_f32_div:
    case ZV_OP_f32_sqrt: case ZV_OP_f32_ceil: case ZV_OP_f32_floor: case ZV_OP_f32_trunc:
    case ZV_OP_f32_nearest:
    case ZV_OP_f64_add: case ZV_OP_f64_sub: case ZV_OP_f64_mul: case ZV_OP_f64_div:
    case ZV_OP_f64_sqrt: case ZV_OP_f64_ceil: case ZV_OP_f64_floor: case ZV_OP_f64_trunc:
    case ZV_OP_f64_nearest:
    case ZV_OP_f32_demote_f64: case ZV_OP_f64_promote_f32: return 1;
    default: return 0;
    }
}

/* A float constant that canonicalising leaves as it is: a number, or the
 * canonical NaN itself (rt_ops.h ZV_NAN32, ZV_NAN64). */
int zv_eng_tr_canonical_const(const zv_val_op *op)
{
    if (op->op == ZV_OP_f32_const)
        return (op->bits32 & 0x7fffffffu) <= 0x7f800000u || op->bits32 == 0x7fc00000u;
    if (op->op == ZV_OP_f64_const)
        return (op->bits64 & ~(UINT64_C(1) << 63)) <= UINT64_C(0x7ff0000000000000) ||
               op->bits64 == UINT64_C(0x7ff8000000000000);
    return 0;
}

/* Instructions whose result does not depend on the bits of a NaN operand:
 * arithmetic (a NaN in, a NaN out), min/max (canonical), comparisons, and
 * truncations to integers (a trap or 0). */
static int nan_blind(uint16_t op)
{
    if (zv_eng_tr_raw_op(op))
        return 1;
    switch (op) {
    case ZV_OP_f32_min: case ZV_OP_f32_max: case ZV_OP_f64_min: case ZV_OP_f64_max:
    case ZV_OP_f32_eq: case ZV_OP_f32_ne: case ZV_OP_f32_lt: case ZV_OP_f32_gt:
    case ZV_OP_f32_le: case ZV_OP_f32_ge:
    case ZV_OP_f64_eq: case ZV_OP_f64_ne: case ZV_OP_f64_lt: case ZV_OP_f64_gt:
    case ZV_OP_f64_le: case ZV_OP_f64_ge:
    case ZV_OP_i32_trunc_f32_s: case ZV_OP_i32_trunc_f32_u: case ZV_OP_i32_trunc_f64_s:
    case ZV_OP_i32_trunc_f64_u: case ZV_OP_i64_trunc_f32_s: case ZV_OP_i64_trunc_f32_u:
    case ZV_OP_i64_trunc_f64_s: case ZV_OP_i64_trunc_f64_u:
    case ZV_OP_i32_trunc_sat_f32_s: case ZV_OP_i32_trunc_sat_f32_u:
    case ZV_OP_i32_trunc_sat_f64_s: case ZV_OP_i32_trunc_sat_f64_u:
    case ZV_OP_i64_trunc_sat_f32_s: case ZV_OP_i64_trunc_sat_f32_u:
    case ZV_OP_i64_trunc_sat_f64_s: case ZV_OP_i64_trunc_sat_f64_u: return 1;
    default: return 0;
    }
}

/* Canonicalise slot k if it is raw: a branch in straight code, a select in
 * a loop's fast copy, which gcc vectorizes (rt_ops.h). */
void zv_eng_tr_canon(tr *t, uint32_t k)
{
    char v[16];
    if (!t->raw[k])
        return;
    zv_eng_tr_var(t, k, v);
    fprintf(t->out, "  %s = zv_%s_canon%s(%s);\n", v, t->stack[k] == ZV_F32 ? "f32" : "f64",
            t->fast_label ? "_v" : "", v);
    t->raw[k] = 0;
}

void zv_eng_tr_canon_all(tr *t)
{
    for (uint32_t k = 0; k < t->sp; k++)
        zv_eng_tr_canon(t, k);
}

/* A plain instruction: dst = zv_op_<name>(ctx, operands..., immediates...). */
int zv_eng_tr_simple(tr *t, const zv_val_op *op, int n_pops, uint8_t push_type)
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
    for (int i = 0; i < n_pops && !nan_blind(op->op); i++)
        zv_eng_tr_canon(t, base + (uint32_t)i);
    for (int i = 0; i < n_pops; i++)
        zv_eng_tr_var(t, base + (uint32_t)i, args[i]);
    t->sp = base;
    if (push_type) {
        if ((rc = zv_eng_tr_push(t, push_type, v)))
            return rc;
        t->raw[t->sp - 1] = (uint8_t)zv_eng_tr_raw_op(op->op);
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
        t->fast_acc++ < t->plan.n_acc && t->plan.acc[acc].known) {
        char a[96];
        zv_eng_loop_addr(a, sizeof a, &t->plan, acc, t->fast_label - 1);
        fprintf(t->out, "zv_op_%s_w(mem, %s", ident, a);
    } else {
        /* the copy's other accesses through that base too (rt_ops.h _b) */
        int base = t->fast_label && op->op >= ZV_OP_i32_load && op->op <= ZV_OP_i64_store32;
        fprintf(t->out, "zv_op_%s%s(%s", ident, base ? "_b" : "",
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

int zv_eng_tr_variable(tr *t, const zv_val_op *op)
{
    char v[16], g[64];
    int rc;
    switch (op->op) {
    case ZV_OP_local_get:
        if (t->remat_from && t->remat_from[op->idx])
            return zv_eng_tr_remat_get(t, op->idx);
        if ((rc = zv_eng_tr_push(t, t->locals[op->idx], v)))
            return rc;
        t->raw[t->sp - 1] = (uint8_t)zv_eng_tr_raw_at(t);
        fprintf(t->out, "  %s = L%u;\n", v, op->idx);
        return 0;
    case ZV_OP_local_set: case ZV_OP_local_tee:
        if (!zv_eng_tr_raw_at(t))
            zv_eng_tr_canon(t, t->sp - 1);
        zv_eng_tr_var(t, t->sp - 1, v);
        fprintf(t->out, "  L%u = %s;\n", op->idx, v);
        if (op->op == ZV_OP_local_set)
            t->sp--;
        return 0;
    case ZV_OP_global_get:
        global_ref(t, op->idx, g, sizeof g);
        if ((rc = zv_eng_tr_push(t, t->m->globals[op->idx].type.type, v)))
            return rc;
        fprintf(t->out, "  %s = %s;\n", v, g);
        return 0;
    default: /* global.set */
        zv_eng_tr_canon(t, t->sp - 1);
        global_ref(t, op->idx, g, sizeof g);
        zv_eng_tr_var(t, t->sp - 1, v);
        fprintf(t->out, "  %s = %s;\n", g, v);
        t->sp--;
        return 0;
    }
}

/* Operands a, b, c... of the top n slots into names. */
static void top_vars(tr *t, uint32_t n, char (*names)[16])
{
    for (uint32_t i = 0; i < n; i++)
        zv_eng_tr_var(t, t->sp - n + i, names[i]);
}

int zv_eng_tr_table_op(tr *t, const zv_val_op *op)
{
    char a[3][16], v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_table_get:
        top_vars(t, 1, a);
        t->sp--;
        if ((rc = zv_eng_tr_push(t, t->m->tables[op->idx].elem_type, v)))
            return rc;
        fprintf(t->out, "  %s = zv_table_get(ctx, %u, %s);\n", v, op->idx, a[0]);
        return 0;
    case ZV_OP_table_set:
        top_vars(t, 2, a);
        t->sp -= 2;
        fprintf(t->out, "  zv_table_set(ctx, %u, %s, %s);\n", op->idx, a[0], a[1]);
        return 0;
    case ZV_OP_table_size:
        if ((rc = zv_eng_tr_push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = zv_table_size(ctx, %u);\n", v, op->idx);
        return 0;
    case ZV_OP_table_grow:
        top_vars(t, 2, a);
        t->sp -= 2;
        if ((rc = zv_eng_tr_push(t, ZV_I32, v)))
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

int zv_eng_tr_ref_or_select(tr *t, const zv_val_op *op)
{
    char a[3][16], v[16];
    int rc;
    switch (op->op) {
    case ZV_OP_ref_null:
        if ((rc = zv_eng_tr_push(t, (uint8_t)op->idx, v)))
            return rc;
        fprintf(t->out, "  %s = 0;\n", v);
        return 0;
    case ZV_OP_ref_is_null:
        top_vars(t, 1, a);
        t->sp--;
        if ((rc = zv_eng_tr_push(t, ZV_I32, v)))
            return rc;
        fprintf(t->out, "  %s = %s == 0;\n", v, a[0]);
        return 0;
    case ZV_OP_ref_func:
        if ((rc = zv_eng_tr_push(t, ZV_FUNCREF, v)))
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

/* ---- exceptions' values ------------------------------------------------------ */

/* throw: the tag's values, from the top of the stack, in an array the
 * engine copies (translate.c "Exceptions"). */
int zv_eng_tr_throw(tr *t, uint32_t tag)
{
    const zv_val_functype *ty = &t->m->types[t->m->tags[tag].type_idx];
    uint32_t n = ty->n_params, base = t->sp - n;
    if (n == 0) {
        fprintf(t->out, "  ctx->host->eh_throw(ctx, ctx->tags[%u], 0, 0);\n", tag);
        return 0;
    }
    if (n > t->max_throw)
        t->max_throw = n;
    fprintf(t->out, "  { zv_value a_[%u];", n);
    for (uint32_t i = 0; i < n; i++) {
        char v[16];
        zv_eng_tr_var(t, base + i, v);
        fprintf(t->out, " a_[%u].%s = %s;", i, zv_eng_value_field(ty->params[i]), v);
    }
    fprintf(t->out, " ctx->host->eh_throw(ctx, ctx->tags[%u], a_, %u); }\n", tag, n);
    t->sp = base;
    return 0;
}

/* A catch of `tag` (or catch_all, tag UINT32_MAX): the stack at `at` gets
 * the values of the exception handler H<eh> caught. */
int zv_eng_tr_catch_values(tr *t, uint32_t at, uint32_t tag, uint32_t eh)
{
    const zv_val_functype *ty =
        tag == UINT32_MAX ? NULL : &t->m->types[t->m->tags[tag].type_idx];
    int rc = zv_eng_tr_set_types(t, at, ty ? ty->params : NULL, ty ? ty->n_params : 0);
    for (uint32_t i = 0; rc == 0 && ty && i < ty->n_params; i++) {
        char v[16];
        zv_eng_tr_var(t, at + i, v);
        fprintf(t->out, "  %s = ZV_CAUGHT(H%u)->vals[%u].%s;\n", v, eh, i,
                zv_eng_value_field(ty->params[i]));
    }
    return rc;
}

/* ---- the function's frame ---------------------------------------------------- */

uint64_t zv_eng_tr_frame_bytes(const tr *t)
{
    /* a bound on the C frame: every local and stack slot spilled, twice
     * over for temporaries, plus saved registers and call arguments, the
     * try handlers and a throw's values */
    static const uint32_t class_bytes[6] = {4, 8, 4, 8, 16, 8};
    uint64_t frame = 0;
    for (uint32_t i = 0; i < t->n_locals; i++)
        frame += class_bytes[type_class(t->locals[i])];
    for (int c = 0; c < 6; c++)
        frame += (uint64_t)t->max_depth[c] * class_bytes[c];
    return frame + (uint64_t)t->max_eh * sizeof(zv_eh) + (uint64_t)t->max_throw * 16;
}

void zv_eng_tr_declare_temps(const tr *t, FILE *out)
{
    for (int c = 0; c < 6; c++)
        for (uint32_t k = 0; k < t->max_depth[c]; k++)
            fprintf(out, "  %s %c%u;\n", class_ctype[c], class_prefix[c], k);
    for (uint32_t k = 0; k < t->max_eh; k++)
        fprintf(out, "  zv_eh H%u;\n", k);
}
