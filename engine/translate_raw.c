/*
 * translate_raw.c — which reads and writes of a float local may carry a
 * raw float (translate_ops.c "NaN results"), for translate.c.
 *
 * A raw float is an arithmetic result whose NaN, if it is one, is not yet
 * canonical: it is checked where its bits can be seen. A local may hold
 * one only if every value that can reach a read of it is raw-safe (an
 * arithmetic result, a constant that canonicalising leaves as it is, or
 * the local's initial 0): a loaded or passed-in NaN must keep its bits.
 * clang reuses one local for values that are never live together (an
 * accumulator of a loop, then a value loaded after it), so the rule holds
 * per web, not per local: the writes that can reach a read, joined with
 * it. One pass over the body follows the structured control flow with,
 * per float local, the node of the value it holds: a write makes a node,
 * and where ways meet (a loop's top, a block's end) a merge node takes the
 * values of every way there as its inputs. Then each read joins its node's
 * web, and a merge that is read, or is the input of one that is, joins
 * its inputs' (a union-find): a value that reaches a meeting point but no
 * read joins nothing. A web is raw when none of its writes is exact; its
 * writes then set the local without a check and its reads give raw slots.
 * Functions with try constructs keep one web per local: a throw can carry
 * any state of the body to a handler.
 *
 * The answers are per instruction, by its end's offset in the body
 * (t->pos while it is translated, in a loop's fast copy too).
 */
#include "engine/translate_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct {
    uint32_t parent; /* union-find over the nodes */
    uint32_t head;   /* a merge's first input edge, or NONE */
    uint8_t exact;   /* a write of an exact value (load, parameter...) */
    uint8_t used;    /* read, or an input of a used merge */
} wnode;

typedef struct {
    uint32_t from, next; /* an input of a merge, and the merge's next edge */
} wedge;

typedef struct {
    wnode *node;
    uint32_t n, cap;
    wedge *edge;
    uint32_t ne, ecap;
    uint32_t n_float; /* float locals: a state is this many nodes */
    int nomem;
} webs;

typedef struct {
    uint16_t op;     /* block, loop, if_, else_, try_; 0: the function */
    uint32_t *at;    /* loop: the merges at its top; if: the state after its condition */
    uint32_t *out;   /* the merges at its end */
    uint8_t dead;    /* the code now being read in it is unreachable */
    uint8_t reached; /* some way reaches its end */
} wframe;

static uint32_t node(webs *w, int exact)
{
    if (zv_eng_tr_room((void **)&w->node, w->n, &w->cap, sizeof *w->node)) {
        w->nomem = 1;
        return 0;
    }
    w->node[w->n] = (wnode){w->n, NONE, (uint8_t)exact, 0};
    return w->n++;
}

/* Each merge of `into` gets the value of the same local in `from`. */
static void inputs(webs *w, const uint32_t *into, const uint32_t *from)
{
    for (uint32_t i = 0; i < w->n_float && !w->nomem; i++) {
        if (zv_eng_tr_room((void **)&w->edge, w->ne, &w->ecap, sizeof *w->edge)) {
            w->nomem = 1;
            return;
        }
        w->edge[w->ne] = (wedge){from[i], w->node[into[i]].head};
        w->node[into[i]].head = w->ne++;
    }
}

/* A state of fresh merges, or a copy of `copy`. */
static uint32_t *state_new(webs *w, const uint32_t *copy)
{
    uint32_t *s = malloc((w->n_float + 1) * sizeof *s);
    w->nomem |= !s;
    for (uint32_t i = 0; s && i < w->n_float; i++)
        s[i] = copy ? copy[i] : node(w, 0);
    return s;
}

static uint32_t find(webs *w, uint32_t x)
{
    while (w->node[x].parent != x)
        x = w->node[x].parent = w->node[w->node[x].parent].parent;
    return x;
}

/* The reads' webs: each used merge joins its inputs, which are used. */
static int join_used(webs *w)
{
    uint32_t *work = malloc((w->n + 1) * sizeof *work), top = 0;
    if (!work)
        return -ENOMEM;
    for (uint32_t i = 0; i < w->n; i++)
        if (w->node[i].used && w->node[i].head != NONE)
            work[top++] = i;
    while (top) {
        uint32_t m = work[--top];
        for (uint32_t e = w->node[m].head; e != NONE; e = w->edge[e].next) {
            uint32_t x = w->edge[e].from, a = find(w, m), b = find(w, x);
            if (a != b) {
                w->node[b].parent = a;
                w->node[a].exact |= w->node[b].exact;
            }
            if (!w->node[x].used) {
                w->node[x].used = 1;
                if (w->node[x].head != NONE)
                    work[top++] = x;
            }
        }
    }
    free(work);
    return 0;
}

/* A branch to frame f: its state becomes an input of the loop's top or
 * of the block's end. */
static void branch(webs *w, wframe *f, const uint32_t *cur)
{
    if (f->op == 0)
        return; /* the function's end: a return */
    inputs(w, f->op == ZV_OP_loop ? f->at : f->out, cur);
    f->reached |= f->op != ZV_OP_loop;
}

/* The pass over the body from `start`: t->raw_node for each read and
 * write of a float local (fidx: its float index, or NONE), with `cur`
 * the state at the start. Returns 0 or -ENOMEM. */
static int follow(tr *t, webs *w, const uint8_t *start, const uint8_t *end, const uint32_t *fidx,
                  uint32_t *cur, int try)
{
    const uint8_t *p = start;
    uint32_t nf = 1, cap = 0;
    int prev_safe = 0;
    wframe *fr = NULL;
    zv_val_op op;
    if (zv_eng_tr_room((void **)&fr, 0, &cap, sizeof *fr))
        return -ENOMEM;
    fr[0] = (wframe){0, NULL, NULL, 0, 0};
    while (!w->nomem && p < end && zv_val_op_next(t->m->bytes, &p, end, &op, NULL) == 0) {
        wframe *top = &fr[nf - 1];
        uint32_t off = (uint32_t)(p - start), f = 0;
        int safe = zv_eng_tr_raw_op(op.op) || zv_eng_tr_canonical_const(&op);
        if (op.op == ZV_OP_local_get || op.op == ZV_OP_local_set || op.op == ZV_OP_local_tee) {
            if ((f = fidx[op.idx]) == NONE) {
                prev_safe = safe;
                continue;
            }
        } else if (try) { /* one web per local: no flow to follow */
            prev_safe = safe;
            continue;
        }
        switch (op.op) {
        case ZV_OP_block: case ZV_OP_loop: case ZV_OP_if_: case ZV_OP_try_:
            if (zv_eng_tr_room((void **)&fr, nf, &cap, sizeof *fr)) {
                w->nomem = 1;
                break;
            }
            top = &fr[nf++];
            *top = (wframe){op.op, NULL, NULL, fr[nf - 2].dead, 0};
            if (op.op == ZV_OP_loop) {
                if ((top->at = state_new(w, NULL))) {
                    inputs(w, top->at, cur);
                    memcpy(cur, top->at, w->n_float * sizeof *cur);
                }
            } else {
                top->out = state_new(w, NULL);
                if (op.op == ZV_OP_if_)
                    top->at = state_new(w, cur);
            }
            break;
        case ZV_OP_else_: /* the then branch ends; the else starts where it did */
            if (!top->dead)
                inputs(w, top->out, cur);
            top->reached |= !top->dead;
            memcpy(cur, top->at, w->n_float * sizeof *cur);
            top->op = ZV_OP_else_;
            top->dead = fr[nf - 2].dead;
            break;
        case ZV_OP_end:
            if (nf == 1)
                break; /* the function's end */
            if (top->op == ZV_OP_loop) { /* its end is its fall-through */
                fr[nf - 2].dead |= top->dead;
            } else {
                if (!top->dead)
                    inputs(w, top->out, cur);
                if (top->op == ZV_OP_if_ && !fr[nf - 2].dead) /* no else: the false way */
                    inputs(w, top->out, top->at);
                top->reached |= !top->dead || (top->op == ZV_OP_if_ && !fr[nf - 2].dead);
                if (top->reached)
                    memcpy(cur, top->out, w->n_float * sizeof *cur);
                else /* nothing reaches the code after it */
                    fr[nf - 2].dead = 1;
            }
            free(top->at);
            free(top->out);
            nf--;
            break;
        case ZV_OP_br: case ZV_OP_br_if:
            branch(w, &fr[nf - 1 - op.idx], cur);
            top->dead |= op.op == ZV_OP_br;
            break;
        case ZV_OP_br_table: {
            const uint8_t *q = op.targets;
            for (uint32_t k = 0; k <= op.idx; k++)
                branch(w, &fr[nf - 1 - zv_val_br_table_next(&q)], cur);
            top->dead = 1;
            break;
        }
        case ZV_OP_return_: case ZV_OP_unreachable: case ZV_OP_throw_: case ZV_OP_rethrow:
            top->dead = 1;
            break;
        case ZV_OP_local_get:
            w->node[cur[f]].used = 1;
            t->raw_node[off] = cur[f] + 1;
            break;
        case ZV_OP_local_set: case ZV_OP_local_tee:
            if (try) { /* one web per local: its initial value's */
                w->node[cur[f]].exact |= !prev_safe;
            } else {
                uint32_t n = node(w, !prev_safe);
                if (w->nomem)
                    break;
                cur[f] = n;
            }
            t->raw_node[off] = cur[f] + 1;
            break;
        default:
            break;
        }
        prev_safe = safe;
    }
    while (nf > 1) {
        nf--;
        free(fr[nf].at);
        free(fr[nf].out);
    }
    free(fr);
    return w->nomem ? -ENOMEM : 0;
}

int zv_eng_tr_raw_webs(tr *t, uint32_t fi)
{
    const zv_val_module *m = t->m;
    const uint8_t *start = m->bytes + m->funcs[fi].code_offset;
    const uint8_t *end = m->bytes + m->funcs[fi].code_end;
    uint32_t n_params = m->types[m->funcs[fi].type_idx].n_params, *fidx, *cur = NULL;
    webs w = {0};
    int rc = -ENOMEM;

    free(t->raw_node);
    free(t->raw_web);
    t->raw_node = NULL;
    t->raw_web = NULL;
    t->code = start;
    if (!(fidx = malloc((t->n_locals + 1) * sizeof *fidx)))
        return -ENOMEM;
    for (uint32_t i = 0; i < t->n_locals; i++)
        fidx[i] = t->locals[i] == ZV_F32 || t->locals[i] == ZV_F64 ? w.n_float++ : NONE;
    if (w.n_float == 0) { /* nothing to ask */
        free(fidx);
        return 0;
    }
    if ((t->raw_node = calloc((size_t)(end - start) + 1, sizeof *t->raw_node)) &&
        (cur = malloc(w.n_float * sizeof *cur))) {
        for (uint32_t i = 0; i < t->n_locals; i++) /* parameters: exact; others start at 0 */
            if (fidx[i] != NONE)
                cur[fidx[i]] = node(&w, i < n_params);
        if (!w.nomem && (rc = follow(t, &w, start, end, fidx, cur, t->has_try)) == 0 &&
            (rc = join_used(&w)) == 0 && !(t->raw_web = malloc(w.n + 1)))
            rc = -ENOMEM;
        for (uint32_t i = 0; rc == 0 && i < w.n; i++)
            t->raw_web[i] = !w.node[find(&w, i)].exact;
    }
    free(cur);
    free(fidx);
    free(w.node);
    free(w.edge);
    return rc;
}

int zv_eng_tr_raw_at(const tr *t)
{
    uint32_t n = t->raw_node ? t->raw_node[t->pos - t->code] : 0;
    return n && t->raw_web[n - 1];
}
