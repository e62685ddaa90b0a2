/*
 * translate_private.h — private to translate.c (control flow, functions)
 * and translate_ops.c (values and instructions): the translator's state
 * and what each file calls in the other.
 */
#ifndef ZV_ENG_TRANSLATE_PRIVATE_H
#define ZV_ENG_TRANSLATE_PRIVATE_H

#include "engine/internal.h"

#include <stdio.h>

typedef struct {
    uint16_t op;        /* block, loop, if_, else_, try_, catch_, catch_all; 0: the function */
    uint32_t label;     /* numeric label id */
    uint32_t height;    /* stack height below the params */
    uint32_t np, nr;
    const uint8_t *params, *results;
    uint8_t dead;       /* the code now being read in this frame is unreachable */
    uint8_t branched;   /* some branch targets the end label */
    uint8_t then_live;  /* if/else: the then-branch fell through */
    /* try constructs (translate.c "Exceptions") */
    uint32_t n_try;     /* try constructs among the frames up to this one, itself included */
    int32_t body_try;   /* the innermost frame up to this one that is a try body, or -1 */
    uint32_t eh;        /* a try construct's handler, H<eh>: the constructs outside it */
    uint32_t clauses;   /* a try construct's first catch clause in tr.clauses */
    /* a loop whose rounds begin with a dispatch (translate_dispatch.c):
     * the code position after its br_table; else NULL */
    const uint8_t *dispatch;
} tframe;

/* A set at the top of a dispatch loop's round that the dispatch's targets
 * do instead (translate_dispatch.c): L<local> = a constant or L<src>. */
typedef struct {
    uint32_t local, src;
    uint8_t from_local, is64;
    uint64_t value;
} tdefer;

typedef struct {
    FILE *out;  /* the function body being written */
    const zv_val_module *m;
    const zv_eng_translate_opts *opts;
    uint8_t *stack; /* value types of the operand stack */
    uint8_t *raw;   /* per slot: a float an arithmetic instruction made, whose NaN is not
                     * yet canonical (translate_ops.c "NaN results") */
    /* translate_raw.c: per instruction (by its end's offset from `code`), the
     * node + 1 of a float local's read or write, and per node, whether its
     * web may hold raw floats */
    const uint8_t *code;
    uint32_t *raw_node;
    uint8_t *raw_web;
    uint32_t sp, cap;
    tframe *frames;
    uint32_t nf, cap_frames;
    uint32_t max_depth[6]; /* per variable class: deepest slot used + 1 */
    uint32_t next_label;
    uint8_t *locals; /* the current function's local types, params first */
    uint32_t n_locals;
    const uint8_t *pos, *end; /* the code after the instruction being translated */
    zv_loop_plan plan;        /* translate_loop.c */
    uint32_t fast_label;      /* non-zero while writing a loop's fast copy: its label + 1 */
    uint32_t fast_acc;        /* memory instructions written so far in the copy */
    /* exceptions (translate.c "Exceptions") */
    int64_t *clauses;         /* the open try constructs' catch clauses: tag, or -1: catch_all */
    uint32_t n_clauses, cap_clauses;
    uint32_t max_eh;          /* handlers H0.. the function needs: the deepest try nesting */
    uint32_t max_throw;       /* the most values a throw passes (an array in the frame) */
    uint8_t *vol_local;       /* per local: written inside a try's body, so escaped */
    /* translate_remat.c: per local, the code that computes its value
     * again at each local.get, [from, to); NULL where it is read */
    const uint8_t **remat_from, **remat_to;
    int has_try;              /* the function has a try construct */
    /* translate_dispatch.c: the sets the dispatch being written moves to
     * its targets, and where the instructions it leaves out end */
    tdefer *defer;
    uint32_t n_defer, cap_defer;
    const uint8_t **skip;
    uint32_t n_skip, cap_skip;
    /* and its index (x & fold_mask) + fold_bias when fold_mask: the table
     * takes x & fold_mask */
    uint32_t fold_mask, fold_bias;
    /* or, when spec_load: its index load32(((x & fold_mask) << 2) + spec_base,
     * spec_off) + fold_bias, jumped to by the load's value in the initial
     * memory, checked */
    uint8_t spec_load;
    uint32_t spec_base, spec_off;
    /* the entry plan checks the function (translate_entry.c): none of its
     * calls may become a jump (rt_ops.h ZV_NO_TAIL) */
    uint8_t no_tail;
} tr;

/* translate.c: room in *arr (cap elements of elem bytes) for element n,
 * doubling it when full; 0 or -ENOMEM */
int zv_eng_tr_room(void **arr, uint32_t n, uint32_t *cap, size_t elem);
/* translate_ops.c: the operand stack */
void zv_eng_tr_var(tr *t, uint32_t k, char buf[16]); /* slot k's variable, e.g. "i3" */
int zv_eng_tr_push(tr *t, uint8_t ty, char buf[16]);
void zv_eng_tr_move_down(tr *t, uint32_t to, uint32_t n);
int zv_eng_tr_set_types(tr *t, uint32_t at, const uint8_t *types, uint32_t n);
/* translate_ops.c: NaN results */
int zv_eng_tr_raw_op(uint16_t op);
int zv_eng_tr_canonical_const(const zv_val_op *op);
/* translate_raw.c: the webs of the function's float locals (0 or -ENOMEM),
 * and whether the local.get/set/tee being translated may carry a raw float */
int zv_eng_tr_raw_webs(tr *t, uint32_t fi);
int zv_eng_tr_raw_at(const tr *t);
void zv_eng_tr_canon(tr *t, uint32_t k);
void zv_eng_tr_canon_all(tr *t);
/* translate_ops.c: instructions other than control */
int zv_eng_tr_const(tr *t, const zv_val_op *op);
int zv_eng_tr_simple(tr *t, const zv_val_op *op, int n_pops, uint8_t push_type);
int zv_eng_tr_variable(tr *t, const zv_val_op *op);
int zv_eng_tr_table_op(tr *t, const zv_val_op *op);
int zv_eng_tr_ref_or_select(tr *t, const zv_val_op *op);
int zv_eng_tr_direct_call(tr *t, uint32_t f);
int zv_eng_tr_indirect_call(tr *t, const zv_val_op *op);
/* translate_ops.c: exceptions' values */
int zv_eng_tr_throw(tr *t, uint32_t tag);
int zv_eng_tr_catch_values(tr *t, uint32_t at, uint32_t tag, uint32_t eh);
/* translate_dispatch.c: where the dispatch that a loop starting at t->pos
 * begins with ends (after its br_table), or NULL; and the br_table being
 * translated as a table of label addresses if it ends the innermost
 * loop's dispatch and every target is a plain jump (1), else 0 (the
 * caller writes a switch), or -ENOMEM. */
const uint8_t *zv_eng_tr_dispatch_end(const tr *t);
/* translate_entry.c: the bound on function fi's frame that its callers'
 * checks count if it has none (at least 2 * zv_eng_tr_frame_bytes + 256),
 * and the most a check's bound adds for the light functions below it */
#define ZV_ENTRY_LIGHT_MAX (16u << 10)
uint64_t zv_eng_tr_entry_frame_bound(const zv_val_module *m, uint32_t fi);
int zv_eng_tr_dispatch_table(tr *t, const zv_val_op *op);
/* translate_dispatch.c: the sets of the dispatch starting at t->pos that
 * its targets can do instead (0 or -ENOMEM); whether the instruction
 * ending at p is one of them, left out where it stands */
int zv_eng_tr_dispatch_defer(tr *t);
int zv_eng_tr_dispatch_skips(const tr *t, const uint8_t *p);
/* translate_remat.c: the locals whose value each local.get computes
 * again (0 or -ENOMEM), for the function whose code is [p, end); and
 * translate.c: such a local.get */
int zv_eng_tr_remat_scan(tr *t, const uint8_t *p, const uint8_t *end, uint32_t n_params);
int zv_eng_tr_remat_get(tr *t, uint32_t local);
/* translate_ops.c: the function's stack temporaries, and a bound on its C frame */
void zv_eng_tr_declare_temps(const tr *t, FILE *out);
uint64_t zv_eng_tr_frame_bytes(const tr *t);

#endif
