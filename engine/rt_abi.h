/*
 * rt_abi.h — the contract between the engine and the code it generates.
 * The translator pastes this file at the top of every generated C file, and
 * the engine includes it, so both sides see one definition. Changing
 * anything here changes ZV_ABI_VERSION, which is part of the cache key.
 *
 * The instance context's hot fields come first (memory base, memory object,
 * interruption flag); the generated code reaches everything else (globals,
 * tables, functions, host calls) through the context, never through a
 * symbol, so the shared object has no undefined symbols besides
 * memcpy/memmove/memset and libm (and _setjmp, built by clang or tcc: a
 * try's handler must be set in its own function's frame, so it cannot be
 * a call through the context; gcc uses its __builtin_setjmp).
 *
 * GCC vector extensions give the v128 type (gcc and clang support them).
 *
 * Memory effects and traps. The generated code is plain C: the compiler
 * may reorder, merge or delete loads and stores of linear memory, globals
 * and tables between two calls, as long as a single thread cannot tell.
 * What is guaranteed, at every optimisation level and with every compiler:
 * - every executed load and store happens (rt_ops.h keeps loads whose
 *   value is unused), so an out-of-bounds access always traps;
 * - everything a guest did before a call (a host call such as a channel
 *   write, proc_exit, or a call through a function pointer) is done when
 *   the call starts, in program order: outputs and exit codes are exact;
 * - after a trap, what the trapping function stored since its last call
 *   may or may not be in memory, globals and tables. So the state of an
 *   instance after a trap is undefined: zvm reports no memory etag for a
 *   session that trapped, and never runs a trapped instance again without
 *   resetting it.
 */
#ifndef ZV_RT_ABI_H
#define ZV_RT_ABI_H

#include "engine/rt_value.h" /* the prelude pastes rt_value.h first */

#include <setjmp.h>
#include <string.h>

#define ZV_ABI_VERSION 8

/* The dirty map of modules that fork (zv_ctx.dirty, snapshot.c): a byte
 * per 512-byte card of linear memory, 1 where the record wrote since the
 * last restore. A card, not a page: an interpreter's record writes a few
 * bytes (reference counts, list heads) on many pages, and the restore
 * copies back the cards marked (perf/README.md "Snapshots by card"). */
#define ZV_DIRTY_SHIFT 9
#define ZV_DIRTY_PER_PAGE (UINT32_C(65536) >> ZV_DIRTY_SHIFT) /* per 64 KiB wasm page */
static inline void zv_dirty_mark(uint8_t *dirty, uint64_t at, uint64_t n)
{
    if (dirty && n)
        memset(dirty + (at >> ZV_DIRTY_SHIFT), 1,
               (size_t)(((at + n - 1) >> ZV_DIRTY_SHIFT) - (at >> ZV_DIRTY_SHIFT) + 1));
}

/* A function reference: the code, its canonical type, and the instance it
 * belongs to (which may differ from the caller's). */
struct zv_func {
    void *fn;
    uint32_t type_id;
    zv_ctx *ctx;
};

struct zv_table {
    void **elems; /* zv_func* for funcref tables, opaque for externref */
    uint32_t size, max;
    uint8_t elem_type;
};

struct zv_memory {
    uint8_t *base;       /* never moves while an instance runs (memory.c) */
    uint64_t size_bytes; /* accessible bytes = pages * 64 KiB */
    uint32_t pages, max_pages; /* max_pages: the declared maximum, or 65536 */
    uint32_t has_max;
    uint32_t jailed; /* engine-only: some page was made read-only by zvm.jail */
};

/* An exception tag: its identity is its address (an imported tag is the
 * exporter's object), its type the values an exception carries. */
struct zv_tag {
    uint32_t type_id;
};

/* Exceptions (the exception handling proposal, as clang emits it for
 * setjmp/longjmp; trap.c "Exceptions" has the design). Each try the
 * generated code enters gets a handler in its function's frame, linked
 * by the engine into the run's chain; a throw longjmps to the innermost
 * one, which has its exception as a record that stays until the
 * construct is left (rethrow reads it). */
typedef struct zv_exn {
    const zv_tag *tag;
    uint32_t n_vals;
    uint32_t size_bytes; /* the whole record, a multiple of 16 */
    zv_value vals[];     /* the tag type's parameters */
} zv_exn;

typedef struct zv_eh zv_eh;

/* A run's chain of handlers and the records its catch blocks hold (the
 * engine's, per run or per fiber; generated code enters nested tries and
 * leaves every try itself, rt_ops.h ZV_TRY_IN and ZV_LEAVE). */
typedef struct zv_eh_state {
    zv_eh *head;      /* the innermost try being run, NULL: none */
    uint8_t *buf;     /* the records, in nesting order */
    uint64_t len, cap;
} zv_eh_state;

struct zv_eh {
    jmp_buf jb;          /* where a throw lands: __builtin_setjmp's 5 words, or _setjmp's */
    /* the jump there, built with the module (rt_ops.h zv_eh_jump) when jb
     * is a __builtin_setjmp's; NULL: jb is _setjmp's, the engine longjmps */
    void (*jump)(zv_eh *h);
    zv_eh_state *st;     /* the run's state it was entered in */
    zv_eh *prev;         /* the handler that was innermost at entry */
    uint64_t depth;      /* bytes of the records held when it was entered */
    const zv_exn *exn;   /* engine: at a landing, the exception caught */
};

/* Calls from generated code into the engine. */
typedef struct zv_host {
    void (*trap)(zv_ctx *ctx, int cause) __attribute__((noreturn));
    uint32_t (*memory_grow)(zv_ctx *ctx, uint32_t delta_pages);
    uint32_t (*table_grow)(zv_ctx *ctx, zv_table *t, void *init, uint32_t delta);
    /* a function's outermost try: enter its handler in the run's chain */
    void (*eh_enter)(zv_ctx *ctx, zv_eh *h, void (*jump)(zv_eh *h));
    /* throw; rethrow what h caught; delegate it to the handler `to`
     * (NULL: out of this run's tries, an uncaught exception) */
    void (*eh_throw)(zv_ctx *ctx, const zv_tag *tag, const zv_value *vals, uint32_t n)
        __attribute__((noreturn));
    void (*eh_rethrow)(zv_ctx *ctx, const zv_eh *h) __attribute__((noreturn));
    void (*eh_delegate)(zv_ctx *ctx, const zv_eh *h, zv_eh *to) __attribute__((noreturn));
} zv_host;

struct zv_ctx {
    uint8_t *mem;                /* hot: linear memory base (NULL if none) */
    zv_memory *memory;           /* size and limits, shared when imported */
    volatile uint32_t interrupt; /* hot: non-zero stops the guest at a safe point */
    uint32_t pad_;
    uintptr_t stack_limit;       /* hot: a function entered below this is exhaustion, or an
                                  * interrupt when it is ZV_STACK_LIMIT_INTERRUPTED (trap.c) */
    uint8_t *dirty;              /* hot: 1 per card written since the last restore
                                  * (ZV_DIRTY_SHIFT), in modules built with dirty_pages; or NULL */
    zv_value *globals;           /* globals: defined ones inline in the instance */
    zv_value **global_ptrs;      /* every global's cell (imported ones elsewhere) */
    zv_table **tables;
    zv_func **funcs;             /* every function by index */
    zv_tag **tags;               /* every tag by index (imported ones the exporter's) */
    const uint32_t *type_ids;    /* canonical id of each module type */
    const zv_host *host;
    uint32_t *data_sizes;        /* per data segment: length, 0 once dropped */
    const uint8_t *const *data_bytes;
    uint32_t *elem_sizes;        /* per element segment: length, 0 once dropped */
    void **const *elem_items;    /* per element segment: resolved references */
    void *engine;                /* the engine's instance */
    /* A module that defines one table has it here (clang's modules: the
     * indirect function table), so call_indirect reaches its slots with
     * one load from ctx where ctx->tables[t] takes two more, ahead of
     * the slot's load and the call (rt_ops.h zv_indirect). */
    zv_table table0;
};

/* The stack limit of an interrupted run: above every stack pointer, so a
 * function's entry check (rt_ops.h ZV_ENTER) is also its interruption poll. */
#define ZV_STACK_LIMIT_INTERRUPTED (UINTPTR_MAX >> 1)

/* Calls an exported function with arguments and results in arrays. */
typedef void (*zv_trampoline)(zv_ctx *ctx, void *fn, const zv_value *args, zv_value *results);

/* The one symbol a generated shared object exports. */
typedef struct zv_module_desc {
    uint32_t abi_version;
    uint32_t n_funcs;         /* defined functions */
    void *const *funcs;       /* their code, in index order after the imports; NULL for
                               * one that no funcref names and is not the start */
    uint32_t n_types;
    const zv_trampoline *trampolines; /* per module type */
    /* The initial memory image: active data segments with constant offsets,
     * composed at compile time; has_image is 0 when segments must be
     * applied one by one (an offset read from an imported global). */
    uint32_t has_image;
    uint32_t image_offset;
    uint32_t image_size;
    const uint8_t *image;
    const uint8_t *const *data; /* bytes of every data segment */
} zv_module_desc;

#define ZV_DESC_SYMBOL "zvm_module_desc"

#endif
