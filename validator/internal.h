/*
 * internal.h — private to validator/: the byte reader, LEB128 decoding,
 * error reporting and the one allocation entry point.
 *
 * The reader never reads past `end`; every multi-byte read checks the
 * remaining length first. LEB128 decoding has a one-byte fast path because
 * most indices and small constants fit in 7 bits.
 */
#ifndef ZV_VAL_INTERNAL_H
#define ZV_VAL_INTERNAL_H

#include "validator.h"

#include <errno.h>
#include <stdarg.h>

typedef struct {
    const uint8_t *base; /* the module's first byte: offsets count from here */
    const uint8_t *p;    /* next byte to read */
    const uint8_t *end;  /* one past the last readable byte */
    zv_val_err *err;
} zv_rd;

/* Fill *err (at byte `at`) and return -EINVAL. The attribute (gcc and
 * clang) checks the format string against its arguments. */
int zv_val_fail(zv_val_err *err, const uint8_t *base, const uint8_t *at, int malformed,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The comma expressions let the compiler see that errors are non-zero. */
#define ZV_MALFORMED(rd, at, ...) (zv_val_fail((rd)->err, (rd)->base, (at), 1, __VA_ARGS__), -EINVAL)
#define ZV_INVALID(rd, at, ...) (zv_val_fail((rd)->err, (rd)->base, (at), 0, __VA_ARGS__), -EINVAL)

/* Simple instruction signatures: X(id, n_pops, pop0, pop1, pop2, push).
 * Pops are listed bottom to top; push 0 means no result. */
#define ZV_SIGS(X) \
    X(x, 0, 0, 0, 0, 0) \
    X(FF_F, 2, ZV_F64, ZV_F64, 0, ZV_F64) \
    X(FF_i, 2, ZV_F64, ZV_F64, 0, ZV_I32) \
    X(F_F, 1, ZV_F64, 0, 0, ZV_F64) \
    X(F_I, 1, ZV_F64, 0, 0, ZV_I64) \
    X(F_V, 1, ZV_F64, 0, 0, ZV_V128) \
    X(F_f, 1, ZV_F64, 0, 0, ZV_F32) \
    X(F_i, 1, ZV_F64, 0, 0, ZV_I32) \
    X(II_I, 2, ZV_I64, ZV_I64, 0, ZV_I64) \
    X(II_i, 2, ZV_I64, ZV_I64, 0, ZV_I32) \
    X(I_F, 1, ZV_I64, 0, 0, ZV_F64) \
    X(I_I, 1, ZV_I64, 0, 0, ZV_I64) \
    X(I_V, 1, ZV_I64, 0, 0, ZV_V128) \
    X(I_f, 1, ZV_I64, 0, 0, ZV_F32) \
    X(I_i, 1, ZV_I64, 0, 0, ZV_I32) \
    X(VF_V, 2, ZV_V128, ZV_F64, 0, ZV_V128) \
    X(VI_V, 2, ZV_V128, ZV_I64, 0, ZV_V128) \
    X(VVV_V, 3, ZV_V128, ZV_V128, ZV_V128, ZV_V128) \
    X(VV_V, 2, ZV_V128, ZV_V128, 0, ZV_V128) \
    X(V_F, 1, ZV_V128, 0, 0, ZV_F64) \
    X(V_I, 1, ZV_V128, 0, 0, ZV_I64) \
    X(V_V, 1, ZV_V128, 0, 0, ZV_V128) \
    X(V_f, 1, ZV_V128, 0, 0, ZV_F32) \
    X(V_i, 1, ZV_V128, 0, 0, ZV_I32) \
    X(Vf_V, 2, ZV_V128, ZV_F32, 0, ZV_V128) \
    X(Vi_V, 2, ZV_V128, ZV_I32, 0, ZV_V128) \
    X(_F, 0, 0, 0, 0, ZV_F64) \
    X(_I, 0, 0, 0, 0, ZV_I64) \
    X(_V, 0, 0, 0, 0, ZV_V128) \
    X(_f, 0, 0, 0, 0, ZV_F32) \
    X(_i, 0, 0, 0, 0, ZV_I32) \
    X(f_F, 1, ZV_F32, 0, 0, ZV_F64) \
    X(f_I, 1, ZV_F32, 0, 0, ZV_I64) \
    X(f_V, 1, ZV_F32, 0, 0, ZV_V128) \
    X(f_f, 1, ZV_F32, 0, 0, ZV_F32) \
    X(f_i, 1, ZV_F32, 0, 0, ZV_I32) \
    X(ff_f, 2, ZV_F32, ZV_F32, 0, ZV_F32) \
    X(ff_i, 2, ZV_F32, ZV_F32, 0, ZV_I32) \
    X(iF_, 2, ZV_I32, ZV_F64, 0, 0) \
    X(iI_, 2, ZV_I32, ZV_I64, 0, 0) \
    X(iV_, 2, ZV_I32, ZV_V128, 0, 0) \
    X(iV_V, 2, ZV_I32, ZV_V128, 0, ZV_V128) \
    X(i_F, 1, ZV_I32, 0, 0, ZV_F64) \
    X(i_I, 1, ZV_I32, 0, 0, ZV_I64) \
    X(i_V, 1, ZV_I32, 0, 0, ZV_V128) \
    X(i_f, 1, ZV_I32, 0, 0, ZV_F32) \
    X(i_i, 1, ZV_I32, 0, 0, ZV_I32) \
    X(if_, 2, ZV_I32, ZV_F32, 0, 0) \
    X(ii_, 2, ZV_I32, ZV_I32, 0, 0) \
    X(ii_i, 2, ZV_I32, ZV_I32, 0, ZV_I32) \
    X(iii_, 3, ZV_I32, ZV_I32, ZV_I32, 0)

enum {
#define X(id, n, a, b, c, r) ZV_SIG_##id,
    ZV_SIGS(X)
#undef X
};

/* Opcode metadata, indexed by zv_op_index(). */
typedef struct {
    const char *name; /* NULL: not an instruction of core 2.0 */
    uint8_t imm;      /* zv_val_imm */
    uint8_t sig;      /* ZV_SIG_* */
} zv_op_info;

#define ZV_OP_INDEX_MAX 544
/* 0x00-0xff, then 0xfc00-0xfc1f, then 0xfd00-0xfdff. */
#define ZV_OP_INDEX(code)                                                                          \
    ((code) < 0x100 ? (code) : ((code) >> 8) == 0xfc ? 256 + ((code)&0x1f) : 288 + ((code)&0xff))

extern const zv_op_info zv_op_table[ZV_OP_INDEX_MAX];

typedef struct {
    uint8_t n_pops, pops[3], push;
} zv_sig_info;
extern const zv_sig_info zv_sig_table[];

int zv_rd_u32_slow(zv_rd *rd, uint32_t *out);
int zv_rd_s32(zv_rd *rd, int32_t *out);
int zv_rd_s33(zv_rd *rd, int64_t *out);
int zv_rd_s64(zv_rd *rd, int64_t *out);

static inline int zv_rd_byte(zv_rd *rd, uint8_t *out)
{
    if (rd->p >= rd->end)
        return ZV_MALFORMED(rd, rd->p, "unexpected end");
    *out = *rd->p++;
    return 0;
}

/* Unsigned LEB128, at most 5 bytes, unused high bits zero (§5.2.2). */
static inline int zv_rd_u32(zv_rd *rd, uint32_t *out)
{
    if (rd->p < rd->end && *rd->p < 0x80) {
        *out = *rd->p++;
        return 0;
    }
    return zv_rd_u32_slow(rd, out);
}

static inline int zv_rd_bytes(zv_rd *rd, size_t n, const uint8_t **out)
{
    if ((size_t)(rd->end - rd->p) < n)
        return ZV_MALFORMED(rd, rd->p, "unexpected end");
    *out = rd->p;
    rd->p += n;
    return 0;
}

/* A vector count, checked against the bytes left: each element takes at
 * least `min_elem_bytes`, so allocations stay bounded by the input size. */
int zv_rd_count(zv_rd *rd, uint32_t min_elem_bytes, uint32_t *out);

/* A name: u32 length then UTF-8 bytes (§5.2.4). */
int zv_rd_name(zv_rd *rd, const char **s, uint32_t *len);

int zv_val_utf8_valid(const uint8_t *s, size_t n);

/* The one allocation entry point (fault injection for tests). */
void *zv_val_calloc(size_t n, size_t size);
void *zv_val_realloc(void *p, size_t n, size_t size);

static inline int zv_is_num_or_vec(uint8_t t)
{
    return t == ZV_I32 || t == ZV_I64 || t == ZV_F32 || t == ZV_F64 || t == ZV_V128;
}
static inline int zv_is_ref(uint8_t t) { return t == ZV_FUNCREF || t == ZV_EXTERNREF; }
static inline int zv_is_valtype(uint8_t t) { return zv_is_num_or_vec(t) || zv_is_ref(t); }

int zv_rd_valtype(zv_rd *rd, uint8_t *out);
int zv_rd_reftype(zv_rd *rd, uint8_t *out);

/* Function body type checking (code.c). The checker keeps its stacks across
 * bodies; create once per module validation. */
typedef struct zv_chk zv_chk;
zv_chk *zv_chk_new(void);
void zv_chk_free(zv_chk *c);
/* Validate the body of defined function `fi` (its offsets already set).
 * `refs` marks function indices that ref.func may name (C.refs). */
int zv_chk_func(zv_chk *c, const zv_val_module *m, uint32_t fi, const uint8_t *refs,
                zv_val_err *err);

#endif
