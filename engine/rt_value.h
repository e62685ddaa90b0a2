/*
 * rt_value.h — the part of the generated code's contract that hosts see:
 * a WebAssembly value, the trap causes, and the runtime's object types by
 * name only. engine.h gives these to every user of the engine; rt_abi.h
 * (the layouts) stays inside engine/. The prelude of every generated file
 * starts with this file, so both sides see one definition.
 *
 * GCC vector extensions give the v128 type (gcc and clang support them).
 */
#ifndef ZV_RT_VALUE_H
#define ZV_RT_VALUE_H

#include <stdint.h>

#ifdef __TINYC__ /* tcc ignores vector_size: keep the layout, 16 bytes aligned */
typedef struct {
    uint64_t lo, hi;
} __attribute__((aligned(16))) zv_v128;
#else
typedef uint64_t zv_v128 __attribute__((vector_size(16)));
#endif

typedef union {
    uint32_t i32;
    uint64_t i64;
    float f32;
    double f64;
    zv_v128 v128;
    void *ref;
} zv_value;

/* The runtime's objects; their layouts are engine-private (rt_abi.h). */
typedef struct zv_ctx zv_ctx;         /* an instance as generated code sees it */
typedef struct zv_func zv_func;       /* a function reference */
typedef struct zv_table zv_table;     /* a table */
typedef struct zv_memory zv_memory;   /* a linear memory in its slot */
typedef struct zv_tag zv_tag;         /* an exception tag (exception handling) */

/* Trap causes; the names live in the engine (zv_eng_trap_name). The
 * numbers are part of `zvm run`'s exit status (128 + cause): append only. */
enum {
    ZV_TRAP_NONE = 0,
    ZV_TRAP_UNREACHABLE = 1,
    ZV_TRAP_MEMORY_OOB = 2,
    ZV_TRAP_TABLE_OOB = 3,
    ZV_TRAP_INT_OVERFLOW = 4,
    ZV_TRAP_DIV_ZERO = 5,
    ZV_TRAP_INVALID_CONVERSION = 6,
    ZV_TRAP_INDIRECT_TYPE = 7,
    ZV_TRAP_INDIRECT_NULL = 8,
    ZV_TRAP_INDIRECT_OOB = 9,
    ZV_TRAP_EXHAUSTION = 10,
    ZV_TRAP_TIMEOUT = 11,
    ZV_TRAP_JAILED = 12, /* a write to memory the guest sealed with zvm.jail */
    ZV_TRAP_EXIT = 13,   /* not a fault: the guest asked to end (proc_exit, zvm.exit) */
    ZV_TRAP_HOST = 14,   /* a host call failed in a way the guest cannot handle */
    ZV_TRAP_EXCEPTION = 15, /* an exception (a C longjmp) no try of this run caught */
    ZV_TRAP_COUNT
};

#endif
