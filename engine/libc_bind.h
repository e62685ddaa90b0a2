/*
 * libc_bind.h — wasi-libc's memory and string routines, recognised in a
 * module by their exact code and bound to native equivalents (engine
 * private; libc_bind.c).
 *
 * Debian builds wasi-libc without bulk memory, so the memcpy, memmove,
 * memset, memcmp, strlen and memchr linked into every guest are loops over
 * wasm loads and stores, where a native program calls glibc's vector
 * code (SQLite spends about 15% of its instructions there under zvm).
 * A defined function whose type, locals and instructions hash to those
 * of the build host's wasi-libc routine (the table zvm_libc_refs writes
 * at build time, from the same libc.a guests link) is that routine, so
 * its effect is known exactly; the translator then emits it as a native
 * fast path that runs when the result is certain (everything in bounds,
 * no sealed pages, a memcpy's ranges apart) and the routine's own
 * translation otherwise, which traps where it would have.
 */
#ifndef ZV_ENG_LIBC_BIND_H
#define ZV_ENG_LIBC_BIND_H

#include <stdint.h>

#include "validator/validator.h"

typedef enum {
    ZV_LIBC_NONE = 0,
    ZV_LIBC_MEMCPY,
    ZV_LIBC_MEMMOVE,
    ZV_LIBC_MEMSET,
    ZV_LIBC_MEMCMP,
    ZV_LIBC_STRLEN,
    ZV_LIBC_MEMCHR,
    ZV_LIBC_COUNT
} zv_eng_libc_kind;

/* The routines' C names, by kind ("" for ZV_LIBC_NONE). */
extern const char *const zv_eng_libc_names[ZV_LIBC_COUNT];

/* One routine as the build host's wasi-libc has it. */
typedef struct {
    uint8_t kind; /* zv_eng_libc_kind */
    uint8_t hash[32];
} zv_eng_libc_ref;

/* The table (generated: libc_refs.c in the build tree). */
extern const zv_eng_libc_ref zv_eng_libc_refs[];
extern const unsigned zv_eng_libc_n_refs;

/* SHA-256 of function fi's type (parameters and results), locals and
 * instructions, each call as its callee's hash: what two copies of one
 * routine share. 0, or -1 when fi cannot be a routine (imported, too big,
 * or calling one that calls). */
int zv_eng_libc_hash(const zv_val_module *m, uint32_t fi, uint8_t out[32]);

/* Which routine defined function fi is, or ZV_LIBC_NONE. */
zv_eng_libc_kind zv_eng_libc_routine(const zv_val_module *m, uint32_t fi);

#endif
