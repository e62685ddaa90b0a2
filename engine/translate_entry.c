/*
 * translate_entry.c — which functions check the stack at entry.
 *
 * The entry check (rt_ops.h ZV_ENTER) keeps a guest's frames above its
 * thread's host headroom. It costs more than its three instructions: a
 * function with a check cannot be shrink-wrapped or split by gcc, so a
 * small one that returns early saves its registers on every call (Lua's
 * `singlematch`: five pushes before the check, none without it). Without
 * any check, Lua's strings.lua ran 8% faster (perf/README.md "Three
 * suspects measured, one kept").
 *
 * The check is needed where the stack can grow without bound, on a cycle
 * of calls, and where a host or an indirect call enters. A function that
 * is on no cycle of direct calls, entered by direct calls only (not
 * exported, not the start, in no table or global: not a funcref), without
 * try or throw, goes unchecked (light) if its callers' checks cover it:
 * every check's bound adds the deepest chain of light functions below it,
 * each counted by a bound on its frame that needs no translation, and the
 * frame of a checked function it calls (which gcc may inline into it, ahead
 * of that check). A cycle through indirect calls passes a funcref, which
 * checks. A chain deeper than ZV_ENTRY_LIGHT_MAX makes its head checked,
 * so a bound grows by at most that.
 *
 * The check is also the interrupt's poll after a signal that landed in host
 * code (engine/trap.c): a function that calls an import keeps it, so a
 * loop of host calls stops at its next one, as before.
 *
 * The same call graph says, for a build split in translation units, which
 * functions another unit calls or names (zv_eng_tr_shared); the others
 * are static, so that gcc sees all their callers.
 */
#include "engine/translate_private.h"

#include <errno.h>
#include <stdlib.h>

/* A bound on a function's C frame from what the validator counted: every
 * local in 16 bytes, every operand stack slot in all six variable
 * classes (48 bytes), doubled, as translate.c bounds it once translated
 * (zv_eng_tr_frame_bytes; try and throw, which add to it, are never light). */
uint64_t zv_eng_tr_entry_frame_bound(const zv_val_module *m, uint32_t fi)
{
    const zv_val_func *f = &m->funcs[fi];
    uint64_t locals = (uint64_t)m->types[f->type_idx].n_params + f->n_locals;
    return 2 * (locals * 16 + (uint64_t)f->max_height * 48) + 256;
}

typedef struct {
    uint32_t n;           /* defined functions */
    uint32_t *first, *to; /* direct calls: callees of d in to[first[d] .. first[d + 1]) */
    uint8_t *pinned;      /* a funcref, calls an import, or has try/throw: always checked */
} call_graph;

/* The direct calls between defined functions, and which functions must
 * check whatever the graph says. */
static int build_graph(const zv_val_module *m, call_graph *g)
{
    uint32_t base = m->n_imported_funcs, n = g->n, k = 0;
    uint64_t edges = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t d = 0; d < n; d++) {
            const uint8_t *p = m->bytes + m->funcs[base + d].code_offset;
            const uint8_t *end = m->bytes + m->funcs[base + d].code_end;
            zv_val_op op;
            if (pass) g->first[d] = k;
            while (p < end && zv_val_op_next(m->bytes, &p, end, &op, NULL) == 0) {
                if (op.op == ZV_OP_call && op.idx >= base) {
                    if (pass)
                        g->to[k++] = op.idx - base;
                    else
                        edges++;
                } else if (op.op == ZV_OP_call || op.op == ZV_OP_try_ || op.op == ZV_OP_throw_ ||
                           op.op == ZV_OP_rethrow || op.op == ZV_OP_delegate) {
                    g->pinned[d] = 1; /* an import (the host's side), try or throw */
                }
            }
        }
        if (pass == 0 && !(g->to = malloc((edges ? edges : 1) * sizeof *g->to))) return -ENOMEM;
    }
    g->first[n] = k;
    for (uint32_t d = 0; d < n; d++)
        g->pinned[d] |= zv_eng_by_address(m, base + d);
    return 0;
}

/* Tarjan's strongly connected components, without recursion (a module's
 * call chains can be as long as it has functions). Components come out
 * callees first; each is handed to `done` with its members. */
typedef struct {
    const call_graph *g;
    uint32_t *index, *low, *stack, *frames, *edge, n_stack;
    uint8_t *on_stack;
} tarjan;

static void components(tarjan *s, void (*done)(void *, const uint32_t *, uint32_t), void *arg)
{
    const call_graph *g = s->g;
    uint32_t next = 1;
    for (uint32_t root = 0; root < g->n; root++) {
        uint32_t depth = 0;
        if (s->index[root]) continue;
        s->frames[depth++] = root;
        s->index[root] = s->low[root] = next++;
        s->edge[root] = g->first[root];
        s->stack[s->n_stack++] = root, s->on_stack[root] = 1;
        while (depth) {
            uint32_t v = s->frames[depth - 1];
            if (s->edge[v] < g->first[v + 1]) {
                uint32_t w = g->to[s->edge[v]++];
                if (!s->index[w]) {
                    s->index[w] = s->low[w] = next++;
                    s->edge[w] = g->first[w];
                    s->stack[s->n_stack++] = w, s->on_stack[w] = 1;
                    s->frames[depth++] = w;
                } else if (s->on_stack[w] && s->index[w] < s->low[v]) {
                    s->low[v] = s->index[w];
                }
                continue;
            }
            if (--depth && s->low[v] < s->low[s->frames[depth - 1]])
                s->low[s->frames[depth - 1]] = s->low[v];
            if (s->low[v] == s->index[v]) {
                uint32_t at = s->n_stack;
                do
                    s->on_stack[s->stack[--at]] = 0;
                while (s->stack[at] != v);
                done(arg, s->stack + at, s->n_stack - at);
                s->n_stack = at;
            }
        }
    }
}

typedef struct {
    const zv_val_module *m;
    const call_graph *g;
    uint64_t *deep; /* a light function's chain: its frame and its deepest light callee's */
    uint32_t *plan;
} planner;

/* The deepest chain of light callees below d (*light), and the largest
 * frame of a checked one (*checked): inlined into d by gcc, that frame is
 * part of d's, ahead of its own check. (Callees in other components are
 * planned already; members of d's own component never count as light.) */
static void callees(const planner *p, uint32_t d, uint64_t *light, uint64_t *checked)
{
    *light = *checked = 0;
    for (uint32_t e = p->g->first[d]; e < p->g->first[d + 1]; e++) {
        uint32_t c = p->g->to[e];
        uint64_t frame = zv_eng_tr_entry_frame_bound(p->m, p->m->n_imported_funcs + c);
        if (p->plan[c] != ZV_ENTRY_UNCHECKED && frame > *checked)
            *checked = frame;
        else if (p->plan[c] == ZV_ENTRY_UNCHECKED && p->deep[c] > *light)
            *light = p->deep[c];
    }
}

static void plan_component(void *arg, const uint32_t *members, uint32_t n)
{
    planner *p = arg;
    const call_graph *g = p->g;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t d = members[k];
        uint64_t light, checked, deep;
        int self = 0;
        for (uint32_t e = g->first[d]; e < g->first[d + 1]; e++)
            self |= g->to[e] == d;
        callees(p, d, &light, &checked);
        deep = zv_eng_tr_entry_frame_bound(p->m, p->m->n_imported_funcs + d) +
               (light > checked ? light : checked);
        if (n == 1 && !self && !g->pinned[d] && deep <= ZV_ENTRY_LIGHT_MAX) {
            p->plan[d] = ZV_ENTRY_UNCHECKED;
            p->deep[d] = deep;
        } else { /* its own check sees its frame, inlined callees' included */
            p->plan[d] = (uint32_t)light; /* at most ZV_ENTRY_LIGHT_MAX */
        }
    }
}

int zv_eng_tr_entry_plan(const zv_val_module *m, uint32_t **out)
{
    uint32_t n = m->n_funcs - m->n_imported_funcs;
    call_graph g = {n, calloc((size_t)n + 1, sizeof(uint32_t)), NULL, calloc(n + 1, 1)};
    tarjan s = {&g,
                calloc(n + 1, sizeof(uint32_t)),
                calloc(n + 1, sizeof(uint32_t)),
                calloc(n + 1, sizeof(uint32_t)),
                calloc(n + 1, sizeof(uint32_t)),
                calloc(n + 1, sizeof(uint32_t)),
                0,
                calloc(n + 1, 1)};
    planner p = {m, &g, calloc(n + 1, sizeof(uint64_t)), calloc(n + 1, sizeof(uint32_t))};
    int rc = g.first && g.pinned && s.index && s.low && s.stack && s.frames && s.edge &&
                     s.on_stack && p.deep && p.plan
                 ? build_graph(m, &g)
                 : -ENOMEM;
    if (rc == 0) components(&s, plan_component, &p);
    free(g.first), free(g.to), free(g.pinned);
    free(s.index), free(s.low), free(s.stack), free(s.frames), free(s.edge), free(s.on_stack);
    free(p.deep);
    if (rc) free(p.plan), p.plan = NULL;
    *out = p.plan;
    return rc;
}

int zv_eng_tr_shared(const zv_val_module *m, const uint32_t *first, uint32_t n_units,
                     uint8_t **out)
{
    uint32_t n = m->n_funcs - m->n_imported_funcs, base = m->n_imported_funcs;
    call_graph g = {n, calloc((size_t)n + 1, sizeof(uint32_t)), NULL, calloc(n + 1, 1)};
    uint32_t *unit = calloc((size_t)n + 1, sizeof *unit);
    uint8_t *shared = calloc(n + 1, 1);
    int rc = g.first && g.pinned && unit && shared ? build_graph(m, &g) : -ENOMEM;
    for (uint32_t k = 0; rc == 0 && k < n_units; k++)
        for (uint32_t f = first[k]; f < first[k + 1]; f++)
            unit[f - base] = k;
    for (uint32_t d = 0; rc == 0 && d < n; d++) {
        /* the descriptor, in the last unit, names these (translate_module.c) */
        if (zv_eng_by_address(m, base + d) && unit[d] != n_units - 1)
            shared[d] = 1;
        for (uint32_t e = g.first[d]; e < g.first[d + 1]; e++)
            if (unit[g.to[e]] != unit[d])
                shared[g.to[e]] = 1;
    }
    free(g.first), free(g.to), free(g.pinned), free(unit);
    if (rc) free(shared), shared = NULL;
    *out = shared;
    return rc;
}
