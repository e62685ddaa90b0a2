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
 * memcpy/memmove/memset and libm.
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

#define ZV_ABI_VERSION 4

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
    uint8_t *base;       /* never moves: the slot is reserved whole */
    uint64_t size_bytes; /* accessible bytes = pages * 64 KiB */
    uint32_t pages, max_pages; /* max_pages: the declared maximum, or 65536 */
    uint32_t has_max;
    uint32_t jailed; /* engine-only: some page was made read-only by zvm.jail */
};

/* Calls from generated code into the engine. */
typedef struct zv_host {
    void (*trap)(zv_ctx *ctx, int cause) __attribute__((noreturn));
    uint32_t (*memory_grow)(zv_ctx *ctx, uint32_t delta_pages);
    uint32_t (*table_grow)(zv_ctx *ctx, zv_table *t, void *init, uint32_t delta);
} zv_host;

struct zv_ctx {
    uint8_t *mem;                /* hot: linear memory base (NULL if none) */
    zv_memory *memory;           /* size and limits, shared when imported */
    volatile uint32_t interrupt; /* hot: non-zero stops the guest at a safe point */
    uint32_t pad_;
    uintptr_t stack_limit;       /* hot: a function entered below this is exhaustion (trap.c) */
    uint8_t *dirty;              /* hot: 1 per 4 KiB page written since the last restore,
                                  * in modules compiled with dirty_pages (snapshot.c); or NULL */
    zv_value *globals;           /* globals: defined ones inline in the instance */
    zv_value **global_ptrs;      /* every global's cell (imported ones elsewhere) */
    zv_table **tables;
    zv_func **funcs;             /* every function by index */
    const uint32_t *type_ids;    /* canonical id of each module type */
    const zv_host *host;
    uint32_t *data_sizes;        /* per data segment: length, 0 once dropped */
    const uint8_t *const *data_bytes;
    uint32_t *elem_sizes;        /* per element segment: length, 0 once dropped */
    void **const *elem_items;    /* per element segment: resolved references */
    void *engine;                /* the engine's instance */
};

/* Calls an exported function with arguments and results in arrays. */
typedef void (*zv_trampoline)(zv_ctx *ctx, void *fn, const zv_value *args, zv_value *results);

/* The one symbol a generated shared object exports. */
typedef struct zv_module_desc {
    uint32_t abi_version;
    uint32_t n_funcs;         /* defined functions */
    void *const *funcs;       /* their code, in index order after the imports */
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
