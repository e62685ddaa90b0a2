/*
 * translate_loop.c — a second, fast copy of simple counted loops, so that
 * the C compiler can vectorize them.
 *
 * Wasm addresses are 32-bit and wrap, so the translator computes each
 * address in 32 bits. To the C compiler such an address is not an affine
 * function of the loop's round: it might wrap between two rounds, so the
 * accesses cannot be proven contiguous and the loop stays scalar. The same
 * holds for the empty asm that forces every load (rt_ops.h): a loop
 * holding one is never vectorized.
 *
 * The translator therefore gives an innermost loop whose body is
 * straight-line code (no branch, call or memory.grow) and whose back edge
 * is a counter X stepped by a constant and compared with a constant or a
 * local the loop never writes (the shapes clang emits):
 *
 *     local.get X  i32.const S  i32.add  local.tee X  BOUND  CMP  br_if 0
 *     BOUND  local.get X  i32.const S  i32.add  local.tee X  CMP  br_if 0
 *     local.get X  i32.const -S  i32.add  local.tee X  br_if 0
 *
 * (CMP i32.ne, i32.lt_u or i32.gt_u) a guard, then a copy of the loop,
 * then the original. The guard proves that X reaches its bound without
 * wrapping, so the loop runs exactly N rounds, N computed there; the copy
 * counts its rounds j in 64 bits and leaves after N, everything else in it
 * being the original code, except memory accesses whose address is known.
 *
 * Known addresses come from an abstract interpretation of the body
 * (zv_eng_loop_plan): a 32-bit value is known when it is congruent mod
 * 2^32 to sum(coef * local at loop entry) + s * j + k. Locals the loop
 * never writes are such terms; so is X (X0 + S * j), and so is a local P
 * whose one write in the body is P = P + c (P0 + c * j, and + c once
 * written); then constants, i32.add, i32.sub, and multiplication or shift
 * by a constant. All of them are ring operations mod 2^32, so when the
 * integer lies in [0, 2^32) for every j < N the 32-bit value equals it,
 * and its 64-bit address, base + s * j + k with the base taken at entry,
 * is exact. The guard checks that each known access lies inside the
 * memory's current size for j = 0 and j = N - 1 (the ends of a line):
 * then none can trap, which is what the forcing asm was for, and nothing
 * in the body can shrink the memory; and that no page is read-only
 * (zvm.jail) when the body stores. If the guard fails, the original loop
 * runs, with wasm's wrapping and traps. Accesses whose address is not
 * known stay as they were, asm and all.
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
#define MAX_STEP 65536  /* |S|, |c|, and constant factors */
#define MAX_COEF 65536  /* |coef| of a term */
#define MAX_S (INT64_C(1) << 20) /* |s|: s * N stays far inside int64 */
#define MAX_K (INT64_C(1) << 40)
/* The guard's sums in the generated C: up to ZV_LOOP_TERMS locals (below
 * 2^32) times a coefficient, s times a round count (below 2^32), k, and an
 * access's offset and width (end): all far inside int64. */
_Static_assert(ZV_LOOP_TERMS * ((int64_t)MAX_COEF << 32) + (MAX_S << 32) + MAX_K + (INT64_C(1) << 33) <
                   INT64_C(1) << 62,
               "the guard's arithmetic fits in int64");

typedef struct {
    uint16_t op;
    uint32_t idx, offset;
    int64_t i64;
    const uint8_t *at; /* where the instruction starts */
} lop;

static const zv_loop_addr unknown = {0};

static int64_t mag(int64_t v) { return v < 0 ? -v : v; }

/* a with its bounds checked: unknown past them */
static zv_loop_addr checked(zv_loop_addr a)
{
    if (!a.known || mag(a.s) > MAX_S || mag(a.k) > MAX_K)
        return unknown;
    for (int i = 0; i < a.nt; i++)
        if (mag(a.t[i].coef) > MAX_COEF)
            return unknown;
    return a;
}

static zv_loop_addr constant(int64_t k)
{
    zv_loop_addr a = unknown;
    a.known = 1;
    a.k = k;
    return a;
}

/* local l at loop entry, plus s per round */
static zv_loop_addr term(uint32_t l, int64_t s)
{
    zv_loop_addr a = constant(0);
    a.nt = 1;
    a.t[0].local = l;
    a.t[0].coef = 1;
    a.s = s;
    return a;
}

static int is_const(const zv_loop_addr *a) { return a->known && a->nt == 0 && a->s == 0; }

static zv_loop_addr scale(zv_loop_addr a, int64_t c)
{
    int nt = 0;
    for (int i = 0; i < a.nt; i++)
        if (a.t[i].coef * c != 0)
            a.t[nt].local = a.t[i].local, a.t[nt++].coef = a.t[i].coef * c;
    a.nt = (uint8_t)nt;
    a.s *= c;
    a.k *= c;
    return checked(a);
}

/* a + b: terms merged, kept in local order */
static zv_loop_addr add(const zv_loop_addr *a, const zv_loop_addr *b)
{
    zv_loop_addr r = constant(a->k + b->k);
    int i = 0, j = 0;
    r.s = a->s + b->s;
    while (i < a->nt || j < b->nt) {
        zv_loop_term t;
        if (j == b->nt || (i < a->nt && a->t[i].local < b->t[j].local))
            t = a->t[i++];
        else if (i == a->nt || b->t[j].local < a->t[i].local)
            t = b->t[j++];
        else
            t = a->t[i++], t.coef += b->t[j++].coef;
        if (t.coef == 0)
            continue;
        if (r.nt == ZV_LOOP_TERMS)
            return unknown;
        r.t[r.nt++] = t;
    }
    return checked(r);
}

static zv_loop_addr combine(uint16_t op, zv_loop_addr a, zv_loop_addr b)
{
    if (!a.known || !b.known)
        return unknown;
    switch (op) {
    case ZV_OP_i32_add:
        return add(&a, &b);
    case ZV_OP_i32_sub:
        b = scale(b, -1);
        return b.known ? add(&a, &b) : unknown;
    case ZV_OP_i32_mul:
        if (is_const(&a) && !is_const(&b)) {
            zv_loop_addr t = a;
            a = b;
            b = t;
        }
        return is_const(&b) && mag(b.k) <= MAX_STEP ? scale(a, b.k) : unknown;
    case ZV_OP_i32_shl:
        return is_const(&b) && b.k >= 0 && b.k <= 16 ? scale(a, INT64_C(1) << b.k) : unknown;
    default:
        return unknown;
    }
}

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

/* The body may hold any instruction with a plain signature but
 * memory.grow (the others: calls, control, tables, memory.init, have
 * none; the exception handling ones are control, so a copy never throws
 * or catches). Sound for the instructions there are now; a new one must
 * be judged here before it can reach a copy, hence the count. */
enum {
    N_OPCODES = 0
#define ZV_OP(code, id, name, imm, sig) +1
#include "validator/opcodes.def"
#undef ZV_OP
};
_Static_assert(N_OPCODES == 443, "a new instruction: may a counted loop's body hold it (decode)?");

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

static int is_i32_local(const lop *o, uint16_t op, const uint8_t *types, uint32_t n_locals)
{
    return o->op == op && o->idx < n_locals && types[o->idx] == ZV_I32;
}

/* X's step: the `local.get X, i32.const S, i32.add, local.tee X` at o. */
static int step_of(const lop *o, const uint8_t *types, uint32_t n_locals, int32_t *step)
{
    if (!is_i32_local(&o[0], ZV_OP_local_get, types, n_locals) || o[1].op != ZV_OP_i32_const ||
        o[2].op != ZV_OP_i32_add || o[3].op != ZV_OP_local_tee || o[3].idx != o[0].idx ||
        o[1].i64 == 0 || mag(o[1].i64) > MAX_STEP)
        return 0;
    *step = (int32_t)o[1].i64;
    return 1;
}

static int bound_of(const lop *o, zv_loop_plan *pl)
{
    if (o->op != ZV_OP_i32_const && o->op != ZV_OP_local_get)
        return 0;
    pl->bound_local = o->op == ZV_OP_local_get ? (int32_t)o->idx : -1;
    pl->bound = (uint32_t)o->i64;
    return 1;
}

/* The back edge: returns where the counter's part starts (the tail), or 0. */
static uint32_t match_tail(const lop *o, uint32_t n, const uint8_t *types, uint32_t n_locals,
                           zv_loop_plan *pl)
{
    uint16_t cmp;
    if (n < 6 || o[n - 1].op != ZV_OP_end || o[n - 2].op != ZV_OP_br_if || o[n - 2].idx != 0)
        return 0;
    pl->exit = o[n - 2].at;
    if (step_of(&o[n - 6], types, n_locals, &pl->step) && pl->step < 0) {
        pl->iv = o[n - 6].idx; /* X += -S; br_if: on while X != 0 */
        pl->bound_local = -1;
        pl->bound = 0;
        pl->rel = 'N';
        return n - 6;
    }
    if (n < 8)
        return 0;
    cmp = o[n - 3].op;
    if (cmp != ZV_OP_i32_ne && cmp != ZV_OP_i32_lt_u && cmp != ZV_OP_i32_gt_u)
        return 0;
    if (step_of(&o[n - 8], types, n_locals, &pl->step) && bound_of(&o[n - 4], pl)) {
        pl->iv = o[n - 8].idx; /* X += S; X CMP BOUND */
        pl->rel = cmp == ZV_OP_i32_ne ? 'N' : cmp == ZV_OP_i32_lt_u ? 'L' : 'G';
    } else if (step_of(&o[n - 7], types, n_locals, &pl->step) && bound_of(&o[n - 8], pl)) {
        pl->iv = o[n - 7].idx; /* BOUND CMP (X += S) */
        pl->rel = cmp == ZV_OP_i32_ne ? 'N' : cmp == ZV_OP_i32_lt_u ? 'G' : 'L';
    } else {
        return 0;
    }
    if ((pl->rel == 'L' && pl->step < 0) || (pl->rel == 'G' && pl->step > 0) ||
        pl->bound_local == (int32_t)pl->iv)
        return 0;
    return n - 8;
}

/* Writes of local l among the first n instructions. */
static unsigned writes(const lop *o, uint32_t n, uint32_t l)
{
    unsigned w = 0;
    for (uint32_t i = 0; i < n; i++)
        w += (o[i].op == ZV_OP_local_set || o[i].op == ZV_OP_local_tee) && o[i].idx == l;
    return w;
}

typedef struct {
    uint32_t local;
    unsigned writes;
    int32_t step; /* its write is local.get P, i32.const c, i32.add, local.set|tee P: c */
} written_local;

typedef struct {
    zv_loop_addr stack[MAX_DEPTH];
    uint32_t sp;
    uint32_t set_idx[MAX_SET]; /* locals written so far this round */
    zv_loop_addr set_val[MAX_SET];
    uint32_t n_set;
    written_local w[MAX_SET]; /* every local the body writes */
    uint32_t n_w;
    const uint8_t *types;
} absint;

/* The locals the first n instructions write, with the step of those that
 * step by a constant: -1 if there are more than MAX_SET. */
static int find_writes(absint *s, const lop *o, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = 0;
        if (o[i].op != ZV_OP_local_set && o[i].op != ZV_OP_local_tee)
            continue;
        while (k < s->n_w && s->w[k].local != o[i].idx)
            k++;
        if (k == s->n_w) {
            if (s->n_w == MAX_SET)
                return -1;
            s->w[s->n_w++] = (written_local){o[i].idx, 0, 0};
        }
        s->w[k].step = i >= 3 && o[i - 3].op == ZV_OP_local_get && o[i - 3].idx == o[i].idx &&
                               o[i - 2].op == ZV_OP_i32_const && o[i - 1].op == ZV_OP_i32_add &&
                               mag(o[i - 2].i64) <= MAX_STEP
                           ? (int32_t)o[i - 2].i64
                           : 0;
        s->w[k].writes++;
    }
    return 0;
}

static int push(absint *s, zv_loop_addr a)
{
    if (s->sp == MAX_DEPTH)
        return -1;
    s->stack[s->sp++] = a;
    return 0;
}

static zv_loop_addr local_value(const absint *s, uint32_t l, const zv_loop_plan *pl)
{
    if (s->types[l] != ZV_I32)
        return unknown;
    if (l == pl->iv)
        return term(l, pl->step);
    for (uint32_t i = s->n_set; i-- > 0;)
        if (s->set_idx[i] == l)
            return s->set_val[i];
    for (uint32_t i = 0; i < s->n_w; i++)
        if (s->w[i].local == l) /* P0 + c * j until this round writes it, or last round's */
            return s->w[i].writes == 1 && s->w[i].step ? term(l, s->w[i].step) : unknown;
    return term(l, 0); /* the loop never writes it */
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
static int step(absint *s, const lop *op, zv_loop_plan *pl)
{
    uint8_t pops[3], push_type;
    int n;
    switch (op->op) {
    case ZV_OP_i32_const:
        return push(s, constant((int32_t)op->i64));
    case ZV_OP_i64_const: case ZV_OP_f32_const: case ZV_OP_f64_const: case ZV_OP_v128_const:
    case ZV_OP_global_get:
        return push(s, unknown);
    case ZV_OP_local_get:
        return push(s, local_value(s, op->idx, pl));
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
        return push(s, combine(op->op, s->stack[s->sp], s->stack[s->sp + 1]));
    return push(s, unknown);
}

int zv_eng_loop_plan(const zv_val_module *m, const uint8_t *local_types, uint32_t n_locals,
                     const uint8_t *body, const uint8_t *end, zv_loop_plan *pl)
{
    lop ops[MAX_OPS];
    absint s;
    uint32_t n = decode(m, body, end, ops), n_body, n_known = 0;
    memset(pl, 0, sizeof *pl);
    if (!n || !(n_body = match_tail(ops, n, local_types, n_locals, pl)))
        return 0;
    /* the counter is written only by its step, the bound never */
    if (writes(ops, n, pl->iv) != 1 ||
        (pl->bound_local >= 0 && writes(ops, n, (uint32_t)pl->bound_local)))
        return 0;
    memset(&s, 0, sizeof s);
    s.types = local_types;
    if (find_writes(&s, ops, n_body))
        return 0;
    for (uint32_t i = 0; i < n_body; i++)
        if (step(&s, &ops[i], pl))
            return 0;
    for (uint32_t i = 0; i < pl->n_acc; i++)
        n_known += pl->acc[i].known;
    return n_known > 0;
}

/* ---- the C ------------------------------------------------------------------------- */

/* sum(coef * local) as int64 C, from the locals' current values */
static void base_expr(char *buf, size_t n, const zv_loop_addr *a)
{
    int len = snprintf(buf, n, "INT64_C(0)");
    for (int i = 0; i < a->nt && len > 0 && (size_t)len < n; i++)
        len += snprintf(buf + len, n - (size_t)len, " + (int64_t)L%u * %" PRId64, a->t[i].local,
                        a->t[i].coef);
}

static int same_line(const zv_loop_addr *a, const zv_loop_addr *b)
{
    if (!a->known || !b->known || a->nt != b->nt || a->s != b->s)
        return 0;
    for (int i = 0; i < a->nt; i++)
        if (a->t[i].local != b->t[i].local || a->t[i].coef != b->t[i].coef)
            return 0;
    return 1;
}

/* The guard's bounds: per line (terms and s alike), the lowest k at its
 * lowest round and the furthest end at its highest. */
static void emit_bounds(FILE *out, const zv_loop_plan *pl, uint32_t label)
{
    for (uint32_t i = 0; i < pl->n_acc; i++) {
        const zv_loop_addr *a = &pl->acc[i];
        int64_t lo = a->k, hi = a->end;
        int seen = 0;
        char base[160];
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = same_line(&pl->acc[j], a);
        if (!a->known || seen)
            continue;
        for (uint32_t j = i + 1; j < pl->n_acc; j++)
            if (same_line(&pl->acc[j], a)) {
                lo = pl->acc[j].k < lo ? pl->acc[j].k : lo;
                hi = pl->acc[j].end > hi ? pl->acc[j].end : hi;
            }
        base_expr(base, sizeof base, a);
        fprintf(out, "\n      && %s + INT64_C(%" PRId64 ")", base, lo);
        if (a->s < 0)
            fprintf(out, " + INT64_C(%" PRId64 ") * (N%u - 1)", a->s, label);
        fprintf(out, " >= 0\n      && %s + INT64_C(%" PRId64 ")", base, hi);
        if (a->s > 0)
            fprintf(out, " + INT64_C(%" PRId64 ") * (N%u - 1)", a->s, label);
        /* a memory has at most 65536 pages (memory.c), so an access that
         * ends inside it starts below 2^32: its address did not wrap */
        fprintf(out, " <= (int64_t)ctx->memory->size_bytes");
    }
}

void zv_eng_loop_guard(FILE *out, const zv_loop_plan *pl, uint32_t label)
{
    char e[32], x[24];
    int64_t st = mag(pl->step);
    if (pl->bound_local >= 0)
        snprintf(e, sizeof e, "(int64_t)L%d", pl->bound_local);
    else
        snprintf(e, sizeof e, "INT64_C(%" PRId64 ")", pl->bound);
    snprintf(x, sizeof x, "(int64_t)L%u", pl->iv);
    /* the rounds, and the conditions under which the loop runs exactly
     * that many: X never wraps before it leaves */
    /* counting up, X goes from below E to E; down, from above; the
     * distance is a multiple of S for !=, else rounded up */
    const char *hi = pl->step > 0 ? e : x, *lo = pl->step > 0 ? x : e;
    fprintf(out, "  {\n  int64_t N%u = (%s - %s + %" PRId64 ") / %" PRId64 ";\n", label, hi, lo,
            pl->rel == 'N' ? 0 : st - 1, st);
    fprintf(out, "  if (%s < %s", lo, hi);
    if (pl->rel == 'N')
        fprintf(out, " && (%s - %s) %% %" PRId64 " == 0", hi, lo, st);
    else if (pl->step > 0) /* the last X + S below 2^32 */
        fprintf(out, " && %s + %" PRId64 " <= INT64_C(4294967296)", e, st);
    else /* the last X - S at least 0 */
        fprintf(out, " && %s >= %" PRId64, e, st - 1);
    if (pl->stores)
        fprintf(out, "\n      && !ctx->memory->jailed");
    emit_bounds(out, pl, label);
    fprintf(out, ") {\n");
    for (uint32_t i = 0; i < pl->n_acc; i++)
        if (pl->acc[i].known) {
            char base[160];
            base_expr(base, sizeof base, &pl->acc[i]);
            fprintf(out, "  const uint64_t B%u_%u = (uint64_t)(%s);\n", label, i, base);
        }
    fprintf(out, "  uint64_t J%u = 0;\nF%u_top:;\n", label, label);
}

void zv_eng_loop_tail(FILE *out, uint32_t label)
{
    fprintf(out, "  if (++J%u < (uint64_t)N%u) goto F%u_top;\n  goto L%u_end;\n  }\n  }\n",
            label, label, label, label);
}

void zv_eng_loop_addr(char *buf, size_t n, const zv_loop_plan *pl, uint32_t i, uint32_t label)
{
    const zv_loop_addr *a = &pl->acc[i];
    int len = snprintf(buf, n, "B%u_%u", label, i);
    if (a->s)
        len += snprintf(buf + len, n - (size_t)len, " %c J%u * %" PRIu64 "u",
                        a->s < 0 ? '-' : '+', label, (uint64_t)mag(a->s));
    snprintf(buf + len, n - (size_t)len, " %c %" PRIu64 "u", a->k < 0 ? '-' : '+',
             (uint64_t)mag(a->k));
}
