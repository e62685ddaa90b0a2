/*
 * translate_loop.c — a second, fast copy of simple counted loops, so that
 * the C compiler can vectorize them.
 *
 * Wasm addresses are 32-bit and wrap, so the translator computes each
 * address in 32 bits. To the C compiler such an address is not an affine
 * function of the loop counter: it might wrap between two iterations, so
 * the accesses cannot be proven contiguous and the loop stays scalar. The
 * same holds for the empty asm that forces every load (rt_ops.h): a loop
 * holding one is never vectorized.
 *
 * The translator therefore emits, for an innermost loop of this shape
 * (clang's rotated counted loop):
 *
 *     loop                        ;; no params, no results
 *       ...straight-line code: no branch, call or memory.grow...
 *       local.get X  i32.const S  i32.add  local.tee X
 *       (i32.const C | local.get E)  (i32.ne | i32.lt_u)  br_if 0
 *     end
 *
 * a guard, then a copy of the body whose memory accesses take 64-bit
 * addresses, then the original loop. The body is interpreted abstractly
 * once (zv_eng_loop_plan): a 32-bit value is "known" when it is congruent
 * mod 2^32 to base + s * X + k, with base a local the loop never writes
 * (or none), s >= 0 and k constants, built from constants, X, invariant
 * locals, i32.add, i32.sub and multiplication or shift by a constant.
 * Every operation involved is a ring operation mod 2^32, so when the
 * integer base + s * X + k lies in [0, 2^32) for every X the loop runs
 * with, the 32-bit value equals it and the 64-bit address is exact.
 *
 * The guard (zv_eng_loop_guard), evaluated at loop entry, proves that:
 *   - X starts below the bound and reaches it without wrapping (for i32.ne,
 *     the distance is a multiple of S), so X stays in [X0, E - 1] in the
 *     body;
 *   - every known access lies inside the memory's current size for every X
 *     in that range: then none can trap, which is what the forcing asm was
 *     for, and nothing in the body can shrink the memory;
 *   - no page of the memory is read-only (zvm.jail), when the body stores.
 * If it fails, the original loop runs, with wasm's wrapping and traps.
 * Accesses whose address is not known stay as they were, asm and all.
 *
 * Rejected: computing addresses in 64 bits everywhere and redoing a
 * wrapped access in the fault handler (it cannot resume the instruction),
 * and mapping the memory twice so that a wrapped address reads the same
 * bytes (one wrap only, and an offset past 4 GiB must still trap). The
 * copy took matmul from 1.39x native to 0.49x (vectorized for AVX2) and
 * the compute geomean from 1.11x to 0.91x (perf/README.md).
 */
#include "engine/internal.h"

#include <inttypes.h>

#define MAX_OPS 512     /* longer bodies are left alone */
#define MAX_DEPTH 64    /* operand stack within the body */
#define MAX_SET 64      /* locals the body writes, tracked */
#define MAX_COEF 65536u /* bounds s and S, so guard arithmetic fits in int64 */
#define MAX_K (INT64_C(1) << 40)

typedef struct {
    uint16_t op;
    uint32_t idx, offset;
    int64_t i64;
    const uint8_t *at; /* where the instruction starts */
} lop;

static const zv_loop_addr unknown = {0, -1, 0, 0, 0};

static zv_loop_addr known(int32_t base, uint64_t s, int64_t k)
{
    zv_loop_addr a = unknown;
    if (s > MAX_COEF || k > MAX_K || k < -MAX_K)
        return a;
    a.known = 1;
    a.base = base;
    a.s = (uint32_t)s;
    a.k = k;
    return a;
}

static int is_const(const zv_loop_addr *a) { return a->known && a->base < 0 && a->s == 0; }

/* Bytes accessed by the loads and stores that have 64-bit-address forms
 * in rt_ops.h (zv_op_<name>_w); 0 for other memory instructions. */
static uint32_t access_bytes(uint16_t op)
{
    switch (op) {
    case ZV_OP_i32_load8_s: case ZV_OP_i32_load8_u: case ZV_OP_i64_load8_s:
    case ZV_OP_i64_load8_u: case ZV_OP_i32_store8: case ZV_OP_i64_store8: return 1;
    case ZV_OP_i32_load16_s: case ZV_OP_i32_load16_u: case ZV_OP_i64_load16_s:
    case ZV_OP_i64_load16_u: case ZV_OP_i32_store16: case ZV_OP_i64_store16: return 2;
    case ZV_OP_i32_load: case ZV_OP_f32_load: case ZV_OP_i64_load32_s: case ZV_OP_i64_load32_u:
    case ZV_OP_i32_store: case ZV_OP_f32_store: case ZV_OP_i64_store32: return 4;
    case ZV_OP_i64_load: case ZV_OP_f64_load: case ZV_OP_i64_store: case ZV_OP_f64_store: return 8;
    case ZV_OP_v128_load: case ZV_OP_v128_store: return 16;
    default: return 0;
    }
}

static int is_store(uint16_t op)
{
    switch (op) {
    case ZV_OP_i32_store: case ZV_OP_i64_store: case ZV_OP_f32_store: case ZV_OP_f64_store:
    case ZV_OP_i32_store8: case ZV_OP_i32_store16: case ZV_OP_i64_store8:
    case ZV_OP_i64_store16: case ZV_OP_i64_store32: case ZV_OP_v128_store:
    case ZV_OP_v128_store8_lane: case ZV_OP_v128_store16_lane: case ZV_OP_v128_store32_lane:
    case ZV_OP_v128_store64_lane:
        return 1;
    default:
        return 0;
    }
}

static zv_loop_addr combine(uint16_t op, const zv_loop_addr *a, const zv_loop_addr *b)
{
    if (!a->known || !b->known)
        return unknown;
    switch (op) {
    case ZV_OP_i32_add:
        if (a->base >= 0 && b->base >= 0)
            return unknown;
        return known(a->base >= 0 ? a->base : b->base, (uint64_t)a->s + b->s, a->k + b->k);
    case ZV_OP_i32_sub:
        return is_const(b) ? known(a->base, a->s, a->k - b->k) : unknown;
    case ZV_OP_i32_mul:
        if (is_const(a)) {
            const zv_loop_addr *t = a;
            a = b;
            b = t;
        }
        if (!is_const(b) || a->base >= 0 || b->k < 0 || b->k > (int64_t)MAX_COEF)
            return unknown;
        return known(-1, (uint64_t)a->s * (uint64_t)b->k, a->k * b->k);
    case ZV_OP_i32_shl:
        if (!is_const(b) || a->base >= 0 || b->k < 0 || b->k > 16)
            return unknown;
        return known(-1, (uint64_t)a->s << b->k, a->k * (INT64_C(1) << b->k));
    default:
        return unknown;
    }
}

/* Decodes the loop body at p up to its `end`: 0 if it is not straight-line
 * code of at most MAX_OPS instructions ending in a single br_if 0. */
static uint32_t decode(const zv_val_module *m, const uint8_t *p, const uint8_t *end, lop *ops)
{
    for (uint32_t n = 0; n < MAX_OPS; n++) {
        zv_val_op op;
        ops[n].at = p;
        if (zv_val_op_next(m->bytes, &p, end, &op, NULL))
            return 0;
        ops[n].op = op.op;
        ops[n].idx = op.idx;
        ops[n].offset = op.offset;
        ops[n].i64 = op.i64;
        switch (op.op) {
        case ZV_OP_end:
            return n + 1;
        case ZV_OP_br_if: /* only as the back edge, just before `end` */
            break;
        case ZV_OP_local_get: case ZV_OP_local_set: case ZV_OP_local_tee:
        case ZV_OP_global_get: case ZV_OP_global_set: case ZV_OP_drop: case ZV_OP_select:
        case ZV_OP_select_t: case ZV_OP_i32_const: case ZV_OP_i64_const:
        case ZV_OP_f32_const: case ZV_OP_f64_const: case ZV_OP_v128_const:
            break;
        default: {
            uint8_t pops[3], push;
            if (op.op == ZV_OP_memory_grow || zv_val_op_sig(op.op, pops, &push) < 0)
                return 0;
        }
        }
        if (n > 0 && ops[n - 1].op == ZV_OP_br_if)
            return 0;
    }
    return 0;
}

/* The counted-loop tail: the last 8 instructions. */
static int match_tail(const lop *o, uint32_t n, const uint8_t *local_types, uint32_t n_locals,
                      zv_loop_plan *pl)
{
    if (n < 8)
        return 0;
    o += n - 8;
    if (o[0].op != ZV_OP_local_get || o[1].op != ZV_OP_i32_const || o[2].op != ZV_OP_i32_add ||
        o[3].op != ZV_OP_local_tee || o[3].idx != o[0].idx ||
        (o[4].op != ZV_OP_i32_const && o[4].op != ZV_OP_local_get) ||
        (o[5].op != ZV_OP_i32_ne && o[5].op != ZV_OP_i32_lt_u) || o[6].op != ZV_OP_br_if ||
        o[6].idx != 0 || o[7].op != ZV_OP_end)
        return 0;
    if (o[0].idx >= n_locals || local_types[o[0].idx] != ZV_I32 || o[1].i64 < 1 ||
        o[1].i64 > (int64_t)MAX_COEF)
        return 0;
    pl->iv = o[0].idx;
    pl->step = (uint32_t)o[1].i64;
    pl->bound_local = o[4].op == ZV_OP_local_get ? (int32_t)o[4].idx : -1;
    pl->bound = (uint32_t)o[4].i64;
    if (pl->bound_local == (int32_t)pl->iv)
        return 0;
    pl->cmp = o[5].op;
    pl->tail = o[0].at;
    return 1;
}

/* Is local l written by the first n instructions? */
static int written(const lop *o, uint32_t n, uint32_t l)
{
    for (uint32_t i = 0; i < n; i++)
        if ((o[i].op == ZV_OP_local_set || o[i].op == ZV_OP_local_tee) && o[i].idx == l)
            return 1;
    return 0;
}

typedef struct {
    zv_loop_addr stack[MAX_DEPTH];
    uint32_t sp;
    uint32_t set_idx[MAX_SET]; /* locals written so far this iteration */
    zv_loop_addr set_val[MAX_SET];
    uint32_t n_set;
} absint;

static int push(absint *s, zv_loop_addr a)
{
    if (s->sp == MAX_DEPTH)
        return -1;
    s->stack[s->sp++] = a;
    return 0;
}

static zv_loop_addr local_value(const absint *s, const lop *o, uint32_t n_body, uint32_t l,
                                const uint8_t *local_types, const zv_loop_plan *pl)
{
    if (local_types[l] != ZV_I32)
        return unknown;
    if (l == pl->iv)
        return known(-1, 1, 0);
    for (uint32_t i = s->n_set; i-- > 0;)
        if (s->set_idx[i] == l)
            return s->set_val[i];
    if (written(o, n_body, l)) /* read before this iteration writes it */
        return unknown;
    return known((int32_t)l, 0, 0);
}

static int set_local(absint *s, uint32_t l, zv_loop_addr a)
{
    for (uint32_t i = 0; i < s->n_set; i++)
        if (s->set_idx[i] == l) {
            s->set_val[i] = a;
            return 0;
        }
    if (s->n_set == MAX_SET)
        return -1;
    s->set_idx[s->n_set] = l;
    s->set_val[s->n_set++] = a;
    return 0;
}

/* One instruction of the body on the abstract stack; -1 to give up. */
static int step(absint *s, const lop *o, uint32_t n_body, uint32_t i, const uint8_t *local_types,
                zv_loop_plan *pl)
{
    const lop *op = &o[i];
    uint8_t pops[3], push_type;
    int n;
    switch (op->op) {
    case ZV_OP_i32_const:
        return push(s, known(-1, 0, (int32_t)op->i64));
    case ZV_OP_i64_const: case ZV_OP_f32_const: case ZV_OP_f64_const: case ZV_OP_v128_const:
    case ZV_OP_global_get:
        return push(s, unknown);
    case ZV_OP_local_get:
        return push(s, local_value(s, o, n_body, op->idx, local_types, pl));
    case ZV_OP_local_set: case ZV_OP_local_tee:
        if (s->sp == 0 || set_local(s, op->idx, s->stack[s->sp - 1]))
            return -1;
        s->sp -= op->op == ZV_OP_local_set;
        return 0;
    case ZV_OP_global_set: case ZV_OP_drop:
        return s->sp == 0 ? -1 : (s->sp--, 0);
    case ZV_OP_select: case ZV_OP_select_t:
        if (s->sp < 3)
            return -1;
        s->sp -= 3;
        return push(s, unknown);
    default:
        break;
    }
    n = zv_val_op_sig(op->op, pops, &push_type);
    if (n < 0 || s->sp < (uint32_t)n)
        return -1;
    s->sp -= (uint32_t)n;
    zv_val_imm imm = zv_val_op_imm(op->op);
    if (imm == ZV_IMM_MEM || imm == ZV_IMM_MEM_LANE) { /* the address is the first operand */
        zv_loop_addr a = unknown;
        uint32_t bytes = access_bytes(op->op);
        if (pl->n_acc == ZV_LOOP_MAX_ACC)
            return -1;
        if (bytes && s->stack[s->sp].known) {
            a = s->stack[s->sp];
            a.end = a.k + op->offset + bytes;
        }
        pl->acc[pl->n_acc++] = a;
        pl->stores |= (uint8_t)is_store(op->op);
    }
    if (!push_type)
        return 0;
    if (n == 2 && push_type == ZV_I32)
        return push(s, combine(op->op, &s->stack[s->sp], &s->stack[s->sp + 1]));
    return push(s, unknown);
}

int zv_eng_loop_plan(const zv_val_module *m, const uint8_t *local_types, uint32_t n_locals,
                     const uint8_t *body, const uint8_t *end, zv_loop_plan *pl)
{
    lop ops[MAX_OPS];
    absint s;
    uint32_t n = decode(m, body, end, ops), n_body, n_known = 0;
    memset(pl, 0, sizeof *pl);
    if (!n || !match_tail(ops, n, local_types, n_locals, pl))
        return 0;
    n_body = n - 8;
    if (written(ops, n_body, pl->iv) ||
        (pl->bound_local >= 0 && written(ops, n, (uint32_t)pl->bound_local)))
        return 0;
    s.sp = 0;
    s.n_set = 0;
    for (uint32_t i = 0; i < n_body; i++)
        if (step(&s, ops, n_body, i, local_types, pl))
            return 0;
    for (uint32_t i = 0; i < pl->n_acc; i++)
        n_known += pl->acc[i].known;
    return n_known > 0;
}

static void bound_expr(char *buf, size_t n, const zv_loop_plan *pl)
{
    if (pl->bound_local >= 0)
        snprintf(buf, n, "(int64_t)L%d", pl->bound_local);
    else
        snprintf(buf, n, "INT64_C(%" PRId64 ")", pl->bound);
}

void zv_eng_loop_guard(FILE *out, const zv_loop_plan *pl, uint32_t label)
{
    char e[32];
    bound_expr(e, sizeof e, pl);
    fprintf(out, "  if ((int64_t)L%u < %s", pl->iv, e);
    if (pl->cmp == ZV_OP_i32_ne)
        fprintf(out, " && (%s - (int64_t)L%u) %% %u == 0", e, pl->iv, pl->step);
    else
        fprintf(out, " && %s + %u <= INT64_C(4294967296)", e, pl->step);
    if (pl->stores)
        fprintf(out, "\n      && !ctx->memory->jailed");
    /* one bound per base and coefficient: the lowest k, the furthest end */
    for (uint32_t i = 0; i < pl->n_acc; i++) {
        const zv_loop_addr *a = &pl->acc[i];
        int64_t lo = a->k, hi = a->end;
        int seen = 0;
        if (!a->known)
            continue;
        for (uint32_t j = 0; j < pl->n_acc && !seen; j++)
            seen = j < i && pl->acc[j].known && pl->acc[j].base == a->base && pl->acc[j].s == a->s;
        if (seen)
            continue;
        for (uint32_t j = i + 1; j < pl->n_acc; j++)
            if (pl->acc[j].known && pl->acc[j].base == a->base && pl->acc[j].s == a->s) {
                lo = pl->acc[j].k < lo ? pl->acc[j].k : lo;
                hi = pl->acc[j].end > hi ? pl->acc[j].end : hi;
            }
        char base[24] = "0";
        if (a->base >= 0)
            snprintf(base, sizeof base, "(int64_t)L%d", a->base);
        fprintf(out, "\n      && %s + %u * (int64_t)L%u + INT64_C(%" PRId64 ") >= 0", base, a->s,
                pl->iv, lo);
        fprintf(out,
                "\n      && %s + %u * (%s - 1) + INT64_C(%" PRId64
                ") <= (int64_t)ctx->memory->size_bytes",
                base, a->s, e, hi);
    }
    fprintf(out, ") {\n  uint64_t X%u = L%u;\nF%u_top:;\n", label, pl->iv, label);
}

void zv_eng_loop_tail(FILE *out, const zv_loop_plan *pl, uint32_t label)
{
    char e[32];
    bound_expr(e, sizeof e, pl);
    fprintf(out, "  X%u += %uu;\n  if ((int64_t)X%u < %s) goto F%u_top;\n", label, pl->step, label,
            e, label);
    fprintf(out, "  L%u = (uint32_t)X%u;\n  goto L%u_end;\n  }\n", pl->iv, label, label);
}

void zv_eng_loop_addr(char *buf, size_t n, const zv_loop_addr *a, uint32_t label)
{
    int len = snprintf(buf, n, "(uint64_t)0");
    if (a->base >= 0)
        len += snprintf(buf + len, n - (size_t)len, " + L%d", a->base);
    if (a->s)
        len += snprintf(buf + len, n - (size_t)len, " + X%u * %uu", label, a->s);
    if (a->k >= 0)
        snprintf(buf + len, n - (size_t)len, " + %" PRIu64 "u", (uint64_t)a->k);
    else
        snprintf(buf + len, n - (size_t)len, " - %" PRIu64 "u", (uint64_t)-a->k);
}
