/*
 * gen_private.h — private to the module generator's files: gen_exec.c
 * (the module: types, functions, exports, data), gen_code.c (leaves,
 * expressions and statements) and gen_loop.c (counted loops).
 */
#ifndef ZVM_TESTS_GEN_PRIVATE_H
#define ZVM_TESTS_GEN_PRIVATE_H

#include "gen_exec.h"

enum { MAX_PARAMS = 3, MAX_RESULTS = 2, MAX_EXTRA_LOCALS = 6, MAX_LABELS = 24, FUEL = 1000 };
enum { N_HELPERS = 4, H_CANON32 = 0, H_CANON64 = 1, H_CANONV4 = 2, H_CANONV2 = 3 };
enum { G_FUEL = 0, G_I32, G_I64, G_F32, G_F64, G_V128, G_CONST, N_GLOBALS };
enum { N_TAGS = 4 }; /* exception tags: tag 0 has no values, tag 1 an i32, 2 and 3 random */
#define LETTERS "iIfFV"

typedef struct {
    uint8_t np, nr;
    char p[MAX_PARAMS], r[MAX_RESULTS + 1]; /* type letters; exports add G_I32 */
} sig;

typedef struct {
    uint64_t rng;
    buf *b;
    uint32_t fi;       /* the function being generated */
    uint32_t n_defined; /* helpers + generated functions (the table holds these) */
    sig fsig[64];
    char local[MAX_PARAMS + MAX_EXTRA_LOCALS];
    uint32_t n_locals;
    uint32_t counted; /* the first of 4 i32 locals only counted loops use */
    char label[MAX_LABELS]; /* 0 void, 'L' loop (void), else the result letter */
    char lkind[MAX_LABELS]; /* 't' a try's body, 'c' its catch blocks (rethrow's), else 0 */
    uint32_t n_labels;
    sig tag[N_TAGS];        /* the tags' values (params; no results) */
    int budget;
    int raw, no_simd, eh; /* GEN_RAW_NANS, GEN_NO_SIMD, GEN_EXCEPTIONS */
} gen;

static inline uint32_t rnd(gen *g, uint32_t n) { return (uint32_t)((rng_next(&g->rng) >> 11) % n); }
static inline int chance(gen *g, uint32_t percent) { return rnd(g, 100) < percent; }
/* A value type's letter: v128 only when the module may use SIMD. */
static inline char rnd_type(gen *g) { return LETTERS[rnd(g, g->no_simd ? 4 : 5)]; }

/* gen_code.c */
void gen_load_ops(void); /* the opcode table, once */
uint8_t gen_valtype(char t);
void gen_const(gen *g, char t);
uint32_t gen_nan32(gen *g); /* a NaN's bits: any sign, payload and quiet bit */
uint64_t gen_nan64(gen *g);
void gen_expr(gen *g, char t, int depth); /* a value of type t */
void gen_stmts(gen *g, int n, int depth);
void gen_i32_and(gen *g, uint32_t mask); /* the i32 on the stack, masked */
void gen_push_label(gen *g, char t, char kind);
/* gen_loop.c */
void gen_counted_loop(gen *g, int depth);

#endif
