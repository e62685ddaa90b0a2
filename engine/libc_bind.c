/*
 * libc_bind.c — recognising wasi-libc's routines in a module (see
 * libc_bind.h). The native equivalents are in rt_libc.h, the wrapper
 * the translator writes in translate.c.
 */
#include "engine/libc_bind.h"

#include <string.h>

const char *const zv_eng_libc_names[ZV_LIBC_COUNT] = {"",       "memcpy", "memmove", "memset",
                                                      "memcmp", "strlen", "memchr"};

/* Bounds on what may be a routine, so that hashing stays linear in the
 * module's size whatever it holds: a body of at most 4 KiB with at most
 * 4 calls, to call-free functions of at most 4 KiB (musl's memmove
 * calls memcpy). */
#define MAX_BODY 4096
#define MAX_CALLS 4

/* 0 and the hash, or -1: fi is imported, too big, or calls what it may
 * not. A call is hashed as its callee's hash, since the callee's index
 * differs from module to module. */
static int hash_func(const zv_val_module *m, uint32_t fi, int may_call, uint8_t out[32])
{
    const zv_val_func *f = &m->funcs[fi];
    const zv_val_functype *ty;
    const uint8_t *p, *end;
    uint32_t counts[2], calls = 0;
    zv_val_sha256_ctx c;
    zv_val_op op;
    if (f->imported || f->code_end - f->locals_offset > MAX_BODY)
        return -1;
    ty = &m->types[f->type_idx];
    counts[0] = ty->n_params, counts[1] = ty->n_results;
    zv_val_sha256_init(&c);
    zv_val_sha256_update(&c, counts, sizeof counts);
    zv_val_sha256_update(&c, ty->params, ty->n_params);
    zv_val_sha256_update(&c, ty->results, ty->n_results);
    zv_val_sha256_update(&c, m->bytes + f->locals_offset, f->code_offset - f->locals_offset);
    p = m->bytes + f->code_offset, end = m->bytes + f->code_end;
    while (p < end) {
        const uint8_t *at = p;
        if (zv_val_op_next(m->bytes, &p, end, &op, NULL))
            return -1;
        if (op.op == ZV_OP_call) {
            static const uint8_t call = 0x10;
            uint8_t h[32];
            if (!may_call || ++calls > MAX_CALLS || hash_func(m, op.idx, 0, h))
                return -1;
            zv_val_sha256_update(&c, &call, 1);
            zv_val_sha256_update(&c, h, sizeof h);
        } else {
            zv_val_sha256_update(&c, at, (size_t)(p - at));
        }
    }
    zv_val_sha256_final(&c, out);
    return 0;
}

int zv_eng_libc_hash(const zv_val_module *m, uint32_t fi, uint8_t out[32])
{
    return hash_func(m, fi, 1, out);
}

/* The routines' types: (i32, i32, i32) -> i32 but strlen's (i32) -> i32 */
static int may_be_routine(const zv_val_module *m, uint32_t fi)
{
    const zv_val_functype *ty = &m->types[m->funcs[fi].type_idx];
    if (ty->n_results != 1 || ty->results[0] != ZV_I32 || (ty->n_params != 3 && ty->n_params != 1))
        return 0;
    for (uint32_t i = 0; i < ty->n_params; i++)
        if (ty->params[i] != ZV_I32)
            return 0;
    return 1;
}

zv_eng_libc_kind zv_eng_libc_routine(const zv_val_module *m, uint32_t fi)
{
    uint8_t h[32];
    if (m->funcs[fi].imported || !may_be_routine(m, fi) || zv_eng_libc_n_refs == 0 ||
        zv_eng_libc_hash(m, fi, h))
        return ZV_LIBC_NONE;
    for (unsigned i = 0; i < zv_eng_libc_n_refs; i++)
        if (!memcmp(h, zv_eng_libc_refs[i].hash, 32))
            return (zv_eng_libc_kind)zv_eng_libc_refs[i].kind;
    return ZV_LIBC_NONE;
}
