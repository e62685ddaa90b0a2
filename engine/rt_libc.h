/*
 * rt_libc.h — the native forms of wasi-libc's memory and string routines
 * that the translator recognised (engine/libc_bind.h), as static inline C.
 * The translator pastes it after rt_ops.h, whose memory helpers it uses
 * (zv_oob, zv_copy_bytes; rt_abi.h's zv_dirty_mark), into each generated file.
 */
#ifndef ZV_RT_LIBC_H
#define ZV_RT_LIBC_H
/* Each one returns 1 with the routine's result in *r when that result is certain:
 * every byte it would read or write is inside the memory, nothing it
 * writes is sealed, and a memcpy's ranges are apart (musl's memcpy copies
 * forward a word at a time: overlapping ranges give bytes memmove would
 * not). Otherwise 0, and the routine's own translation runs, trapping or
 * copying exactly where it would have. memcmp stops at the first
 * difference, so a memcmp whose ranges leave the memory past a difference
 * does not trap: that case also goes to the routine's own code. A fast
 * path has no interruption check: its time is bounded by the memory's
 * size, as a memory.copy's is. */
static inline int zv_lib_memcpy(C *ctx, I d, I s, I n, I *r)
{
    uint64_t size = ctx->memory->size_bytes;
    if (ZV_UNLIKELY(zv_oob(d, n, size) || zv_oob(s, n, size) || ctx->memory->jailed ||
                    ((uint64_t)d < (uint64_t)s + n && (uint64_t)s < (uint64_t)d + n)))
        return 0;
    zv_dirty_mark(ctx->dirty, d, n);
    memcpy(ctx->mem + d, ctx->mem + s, n);
    *r = d;
    return 1;
}
static inline int zv_lib_memmove(C *ctx, I d, I s, I n, I *r)
{
    uint64_t size = ctx->memory->size_bytes;
    if (ZV_UNLIKELY(zv_oob(d, n, size) || zv_oob(s, n, size) || ctx->memory->jailed))
        return 0;
    zv_dirty_mark(ctx->dirty, d, n);
    memmove(ctx->mem + d, ctx->mem + s, n);
    *r = d;
    return 1;
}
static inline int zv_lib_memset(C *ctx, I d, I c, I n, I *r)
{
    if (ZV_UNLIKELY(zv_oob(d, n, ctx->memory->size_bytes) || ctx->memory->jailed))
        return 0;
    zv_dirty_mark(ctx->dirty, d, n);
    memset(ctx->mem + d, (int)(c & 0xff), n);
    *r = d;
    return 1;
}
/* musl's result: the difference of the first bytes that differ, as
 * unsigned chars, or 0. Eight bytes at a time; the first differing byte
 * of two little-endian words is the lowest set byte of their xor. */
static inline int zv_lib_memcmp(C *ctx, I a, I b, I n, I *r)
{
    uint64_t size = ctx->memory->size_bytes;
    const uint8_t *p = ctx->mem + a, *q = ctx->mem + b;
    I i = 0;
    if (ZV_UNLIKELY(zv_oob(a, n, size) || zv_oob(b, n, size)))
        return 0;
    for (; n - i >= 8; i += 8) {
        uint64_t x, y;
        memcpy(&x, p + i, 8);
        memcpy(&y, q + i, 8);
        if (x != y) {
            i += (I)(ZV_CTZ64(x ^ y) >> 3);
            *r = (I)((int32_t)p[i] - (int32_t)q[i]);
            return 1;
        }
    }
    while (i < n && p[i] == q[i])
        i++;
    *r = i == n ? 0 : (I)((int32_t)p[i] - (int32_t)q[i]);
    return 1;
}
/* The first byte equal to c's low byte, or 0 (NULL); musl reads no byte
 * past the one it returns. */
static inline int zv_lib_memchr(C *ctx, I s, I c, I n, I *r)
{
    const uint8_t *z;
    if (ZV_UNLIKELY(zv_oob(s, n, ctx->memory->size_bytes)))
        return 0;
    z = memchr(ctx->mem + s, (int)(c & 0xff), n);
    *r = z ? (I)(z - ctx->mem) : 0;
    return 1;
}
static inline int zv_lib_strlen(C *ctx, I s, I *r)
{
    uint64_t size = ctx->memory->size_bytes;
    const uint8_t *z;
    if (ZV_UNLIKELY(s >= size) || !(z = memchr(ctx->mem + s, 0, (size_t)(size - s))))
        return 0;
    *r = (I)(z - (ctx->mem + s));
    return 1;
}

static inline void zv_memory_init(C *ctx, I seg, I d, I s, I n)
{
    if (zv_oob(d, n, ctx->memory->size_bytes) || zv_oob(s, n, ctx->data_sizes[seg]))
        ZV_TRAP(ctx, ZV_TRAP_MEMORY_OOB);
    zv_dirty_mark(ctx->dirty, d, n);
    if (ZV_UNLIKELY(ctx->memory->jailed))
        zv_copy_bytes(ctx->mem + d, ctx->data_bytes[seg] + s, n);
    else
        memcpy(ctx->mem + d, ctx->data_bytes[seg] + s, n);
}
static inline void zv_data_drop(C *ctx, I seg) { ctx->data_sizes[seg] = 0; }

#endif
