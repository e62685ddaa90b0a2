/*
 * rt_simd.h — the 128-bit SIMD instructions (Wasm core §4.3.x vector
 * numerics), pasted after rt_ops.h into generated code. Lane-wise
 * operators use GCC vector extensions directly, so gcc emits SSE; the
 * irregular ones are lane loops that gcc vectorises where it can. Integer
 * arithmetic runs on unsigned lanes so wrap-around is defined C.
 */
#ifndef ZV_RT_SIMD_H
#define ZV_RT_SIMD_H
#ifndef __TINYC__

typedef uint64_t zv_u64x2 __attribute__((vector_size(16)));

#define ZV_VOP(name, VT, op)                                                                       \
    static inline V zv_op_##name(C *ctx, V a, V b)                                                 \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (V)((VT)a op(VT) b);                                                                \
    }
#define ZV_VLANES2(name, VT, RT, N, expr)                                                          \
    static inline V zv_op_##name(C *ctx, V va, V vb)                                               \
    {                                                                                              \
        VT a = (VT)va, b = (VT)vb;                                                                 \
        RT r;                                                                                      \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++)                                                                \
            r[i] = (expr);                                                                         \
        return (V)r;                                                                               \
    }
#define ZV_VLANES1(name, VT, RT, N, expr)                                                          \
    static inline V zv_op_##name(C *ctx, V va)                                                     \
    {                                                                                              \
        VT a = (VT)va;                                                                             \
        RT r;                                                                                      \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++)                                                                \
            r[i] = (expr);                                                                         \
        return (V)r;                                                                               \
    }

/* ---- loads and stores -------------------------------------------------- */
#define ZV_LOAD_EXT(name, ST, N, RT)                                                               \
    static inline V zv_op_##name(uint8_t *mem, I addr, I off)                                            \
    {                                                                                              \
        ST s[N];                                                                                   \
        uint64_t w;                                                                                \
        RT r;                                                                                      \
        ZV_GUEST_GET(w, mem, addr, off);                                                           \
        memcpy(s, &w, sizeof s);                                                                   \
        for (int i = 0; i < N; i++)                                                                \
            r[i] = s[i];                                                                           \
        ZV_KEEP_VEC(r);                                                                            \
        return (V)r;                                                                               \
    }
ZV_LOAD_EXT(v128_load8x8_s, int8_t, 8, zv_i16x8)
ZV_LOAD_EXT(v128_load8x8_u, uint8_t, 8, zv_u16x8)
ZV_LOAD_EXT(v128_load16x4_s, int16_t, 4, zv_i32x4)
ZV_LOAD_EXT(v128_load16x4_u, uint16_t, 4, zv_u32x4)
ZV_LOAD_EXT(v128_load32x2_s, int32_t, 2, zv_i64x2)
ZV_LOAD_EXT(v128_load32x2_u, uint32_t, 2, zv_u64x2)
#define ZV_LOAD_SPLAT(name, ST, N, RT)                                                             \
    static inline V zv_op_##name(uint8_t *mem, I addr, I off)                                            \
    {                                                                                              \
        ST s;                                                                                      \
        RT r;                                                                                      \
        ZV_GUEST_GET(s, mem, addr, off);                                                          \
        ZV_KEEP_INT(s);                                                                            \
        for (int i = 0; i < N; i++)                                                                \
            r[i] = s;                                                                              \
        return (V)r;                                                                               \
    }
ZV_LOAD_SPLAT(v128_load8_splat, uint8_t, 16, zv_u8x16)
ZV_LOAD_SPLAT(v128_load16_splat, uint16_t, 8, zv_u16x8)
ZV_LOAD_SPLAT(v128_load32_splat, uint32_t, 4, zv_u32x4)
ZV_LOAD_SPLAT(v128_load64_splat, uint64_t, 2, zv_u64x2)

#define ZV_LOAD_ZERO(name, ST, RT)                                                                 \
    static inline V zv_op_##name(uint8_t *mem, I addr, I off)                                            \
    {                                                                                              \
        ST s;                                                                                      \
        RT r = {0};                                                                                \
        ZV_GUEST_GET(s, mem, addr, off);                                                          \
        ZV_KEEP_INT(s);                                                                            \
        r[0] = s;                                                                                  \
        return (V)r;                                                                               \
    }
ZV_LOAD_ZERO(v128_load32_zero, uint32_t, zv_u32x4)
ZV_LOAD_ZERO(v128_load64_zero, uint64_t, zv_u64x2)

#define ZV_LANE_MEM(sz, ST, VT)                                                                    \
    static inline V zv_op_v128_load##sz##_lane(uint8_t *mem, I addr, V v, I off, I lane)                \
    {                                                                                              \
        VT r = (VT)v;                                                                              \
        ST s;                                                                                      \
        ZV_GUEST_GET(s, mem, addr, off);                                                          \
        ZV_KEEP_INT(s);                                                                            \
        r[lane] = s;                                                                               \
        return (V)r;                                                                               \
    }                                                                                              \
    static inline void zv_op_v128_store##sz##_lane(uint8_t *mem, I addr, V v, I off, I lane)             \
    {                                                                                              \
        ST s = ((VT)v)[lane];                                                                      \
        ZV_GUEST_PUT(mem, addr, off, s);                                                          \
    }
ZV_LANE_MEM(8, uint8_t, zv_u8x16)
ZV_LANE_MEM(16, uint16_t, zv_u16x8)
ZV_LANE_MEM(32, uint32_t, zv_u32x4)
ZV_LANE_MEM(64, uint64_t, zv_u64x2)

/* ---- splat, lanes, shuffles ------------------------------------------- */
#define ZV_SPLAT(name, A, VT, N)                                                                   \
    static inline V zv_op_##name(C *ctx, A x)                                                      \
    {                                                                                              \
        VT r;                                                                                      \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++)                                                                \
            r[i] = x;                                                                              \
        return (V)r;                                                                               \
    }
ZV_SPLAT(i8x16_splat, I, zv_u8x16, 16)
ZV_SPLAT(i16x8_splat, I, zv_u16x8, 8)
ZV_SPLAT(i32x4_splat, I, zv_u32x4, 4)
ZV_SPLAT(i64x2_splat, L, zv_u64x2, 2)
ZV_SPLAT(f32x4_splat, F, zv_f32x4, 4)
ZV_SPLAT(f64x2_splat, D, zv_f64x2, 2)

#define ZV_EXTRACT(name, R, VT, conv)                                                              \
    static inline R zv_op_##name(C *ctx, V v, I lane)                                              \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (R)conv((VT)v)[lane];                                                               \
    }
#define ZV_REPLACE(name, A, VT)                                                                    \
    static inline V zv_op_##name(C *ctx, V v, A x, I lane)                                         \
    {                                                                                              \
        VT r = (VT)v;                                                                              \
        (void)ctx;                                                                                 \
        r[lane] = x;                                                                               \
        return (V)r;                                                                               \
    }
ZV_EXTRACT(i8x16_extract_lane_s, I, zv_i8x16, (int32_t))
ZV_EXTRACT(i8x16_extract_lane_u, I, zv_u8x16, )
ZV_REPLACE(i8x16_replace_lane, I, zv_u8x16)
ZV_EXTRACT(i16x8_extract_lane_s, I, zv_i16x8, (int32_t))
ZV_EXTRACT(i16x8_extract_lane_u, I, zv_u16x8, )
ZV_REPLACE(i16x8_replace_lane, I, zv_u16x8)
ZV_EXTRACT(i32x4_extract_lane, I, zv_u32x4, )
ZV_REPLACE(i32x4_replace_lane, I, zv_u32x4)
ZV_EXTRACT(i64x2_extract_lane, L, zv_u64x2, )
ZV_REPLACE(i64x2_replace_lane, L, zv_u64x2)
ZV_EXTRACT(f32x4_extract_lane, F, zv_f32x4, )
ZV_REPLACE(f32x4_replace_lane, F, zv_f32x4)
ZV_EXTRACT(f64x2_extract_lane, D, zv_f64x2, )
ZV_REPLACE(f64x2_replace_lane, D, zv_f64x2)

/* i8x16.shuffle with its constant lanes: the translator emits
 * ZV_SHUFFLE16 so the compiler picks pshufb/punpck/shufps; compiler
 * builtins (gcc and clang spell them differently). */
#if defined(__clang__)
#define ZV_SHUFFLE16(a, b, ...) ((V)__builtin_shufflevector((zv_u8x16)(a), (zv_u8x16)(b), __VA_ARGS__))
#else
#define ZV_SHUFFLE16(a, b, ...) ((V)__builtin_shuffle((zv_u8x16)(a), (zv_u8x16)(b), (zv_u8x16){__VA_ARGS__}))
#endif

ZV_VLANES2(i8x16_swizzle, zv_u8x16, zv_u8x16, 16, b[i] < 16 ? a[b[i]] : 0)

/* ---- bitwise ------------------------------------------------------------ */
static inline V zv_op_v128_not(C *ctx, V a) { (void)ctx; return ~a; }
ZV_VOP(v128_and, V, &)
ZV_VOP(v128_or, V, |)
ZV_VOP(v128_xor, V, ^)
static inline V zv_op_v128_andnot(C *ctx, V a, V b) { (void)ctx; return a & ~b; }
static inline V zv_op_v128_bitselect(C *ctx, V a, V b, V c)
{
    (void)ctx;
    return (a & c) | (b & ~c);
}
static inline I zv_op_v128_any_true(C *ctx, V a) { (void)ctx; return (a[0] | a[1]) != 0; }

#define ZV_ALL_TRUE_BITMASK(p, VT, N)                                                              \
    static inline I zv_op_##p##_all_true(C *ctx, V v)                                              \
    {                                                                                              \
        VT a = (VT)v;                                                                              \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++)                                                                \
            if (a[i] == 0)                                                                         \
                return 0;                                                                          \
        return 1;                                                                                  \
    }                                                                                              \
    static inline I zv_op_##p##_bitmask(C *ctx, V v)                                               \
    {                                                                                              \
        VT a = (VT)v;                                                                              \
        I r = 0;                                                                                   \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++)                                                                \
            r |= (I)(a[i] < 0) << i;                                                               \
        return r;                                                                                  \
    }
ZV_ALL_TRUE_BITMASK(i8x16, zv_i8x16, 16)
ZV_ALL_TRUE_BITMASK(i16x8, zv_i16x8, 8)
ZV_ALL_TRUE_BITMASK(i32x4, zv_i32x4, 4)
ZV_ALL_TRUE_BITMASK(i64x2, zv_i64x2, 2)

/* ---- comparisons: all-ones lanes for true ---------------------------- */
#define ZV_ICMPS(p, SV, UV)                                                                        \
    ZV_VOP(p##_eq, SV, ==)                                                                         \
    ZV_VOP(p##_ne, SV, !=)                                                                         \
    ZV_VOP(p##_lt_s, SV, <)                                                                        \
    ZV_VOP(p##_lt_u, UV, <)                                                                        \
    ZV_VOP(p##_gt_s, SV, >)                                                                        \
    ZV_VOP(p##_gt_u, UV, >)                                                                        \
    ZV_VOP(p##_le_s, SV, <=)                                                                       \
    ZV_VOP(p##_le_u, UV, <=)                                                                       \
    ZV_VOP(p##_ge_s, SV, >=)                                                                       \
    ZV_VOP(p##_ge_u, UV, >=)
ZV_ICMPS(i8x16, zv_i8x16, zv_u8x16)
ZV_ICMPS(i16x8, zv_i16x8, zv_u16x8)
ZV_ICMPS(i32x4, zv_i32x4, zv_u32x4)
ZV_VOP(i64x2_eq, zv_i64x2, ==)
ZV_VOP(i64x2_ne, zv_i64x2, !=)
ZV_VOP(i64x2_lt_s, zv_i64x2, <)
ZV_VOP(i64x2_gt_s, zv_i64x2, >)
ZV_VOP(i64x2_le_s, zv_i64x2, <=)
ZV_VOP(i64x2_ge_s, zv_i64x2, >=)
#define ZV_FCMPS(p, FV)                                                                            \
    ZV_VOP(p##_eq, FV, ==)                                                                         \
    ZV_VOP(p##_ne, FV, !=)                                                                         \
    ZV_VOP(p##_lt, FV, <)                                                                          \
    ZV_VOP(p##_gt, FV, >)                                                                          \
    ZV_VOP(p##_le, FV, <=)                                                                         \
    ZV_VOP(p##_ge, FV, >=)
ZV_FCMPS(f32x4, zv_f32x4)
ZV_FCMPS(f64x2, zv_f64x2)

/* ---- integer arithmetic ------------------------------------------------ */
static inline int32_t zv_sat(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

#define ZV_IARITH(p, SV, UV, N, BITS)                                                              \
    ZV_VOP(p##_add, UV, +)                                                                         \
    ZV_VOP(p##_sub, UV, -)                                                                         \
    ZV_VLANES1(p##_neg, UV, UV, N, 0 - a[i])                                                       \
    ZV_VLANES1(p##_abs, SV, UV, N, a[i] < 0 ? 0 - (uint64_t)a[i] : (uint64_t)a[i])                        \
    static inline V zv_op_##p##_shl(C *ctx, V a, I s)                                              \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (V)((UV)a << (s & (BITS - 1)));                                                     \
    }                                                                                              \
    static inline V zv_op_##p##_shr_s(C *ctx, V a, I s)                                            \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (V)((SV)a >> (s & (BITS - 1)));                                                     \
    }                                                                                              \
    static inline V zv_op_##p##_shr_u(C *ctx, V a, I s)                                            \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (V)((UV)a >> (s & (BITS - 1)));                                                     \
    }
ZV_IARITH(i8x16, zv_i8x16, zv_u8x16, 16, 8)
ZV_IARITH(i16x8, zv_i16x8, zv_u16x8, 8, 16)
ZV_IARITH(i32x4, zv_i32x4, zv_u32x4, 4, 32)
ZV_IARITH(i64x2, zv_i64x2, zv_u64x2, 2, 64)
ZV_VOP(i16x8_mul, zv_u16x8, *)
ZV_VOP(i32x4_mul, zv_u32x4, *)
ZV_VOP(i64x2_mul, zv_u64x2, *)
ZV_VLANES1(i8x16_popcnt, zv_u8x16, zv_u8x16, 16, __builtin_popcount(a[i]))

#define ZV_MINMAX_AVG(p, SV, UV, N)                                                                \
    ZV_VLANES2(p##_min_s, SV, SV, N, a[i] < b[i] ? a[i] : b[i])                                    \
    ZV_VLANES2(p##_min_u, UV, UV, N, a[i] < b[i] ? a[i] : b[i])                                    \
    ZV_VLANES2(p##_max_s, SV, SV, N, a[i] > b[i] ? a[i] : b[i])                                    \
    ZV_VLANES2(p##_max_u, UV, UV, N, a[i] > b[i] ? a[i] : b[i])
ZV_MINMAX_AVG(i8x16, zv_i8x16, zv_u8x16, 16)
ZV_MINMAX_AVG(i16x8, zv_i16x8, zv_u16x8, 8)
ZV_MINMAX_AVG(i32x4, zv_i32x4, zv_u32x4, 4)
ZV_VLANES2(i8x16_avgr_u, zv_u8x16, zv_u8x16, 16, ((uint32_t)a[i] + b[i] + 1) >> 1)
ZV_VLANES2(i16x8_avgr_u, zv_u16x8, zv_u16x8, 8, ((uint32_t)a[i] + b[i] + 1) >> 1)

ZV_VLANES2(i8x16_add_sat_s, zv_i8x16, zv_i8x16, 16, zv_sat((int32_t)a[i] + b[i], -128, 127))
ZV_VLANES2(i8x16_add_sat_u, zv_u8x16, zv_u8x16, 16, zv_sat((int32_t)a[i] + b[i], 0, 255))
ZV_VLANES2(i8x16_sub_sat_s, zv_i8x16, zv_i8x16, 16, zv_sat((int32_t)a[i] - b[i], -128, 127))
ZV_VLANES2(i8x16_sub_sat_u, zv_u8x16, zv_u8x16, 16, zv_sat((int32_t)a[i] - b[i], 0, 255))
ZV_VLANES2(i16x8_add_sat_s, zv_i16x8, zv_i16x8, 8, zv_sat((int32_t)a[i] + b[i], -32768, 32767))
ZV_VLANES2(i16x8_add_sat_u, zv_u16x8, zv_u16x8, 8, zv_sat((int32_t)a[i] + b[i], 0, 65535))
ZV_VLANES2(i16x8_sub_sat_s, zv_i16x8, zv_i16x8, 8, zv_sat((int32_t)a[i] - b[i], -32768, 32767))
ZV_VLANES2(i16x8_sub_sat_u, zv_u16x8, zv_u16x8, 8, zv_sat((int32_t)a[i] - b[i], 0, 65535))
ZV_VLANES2(i16x8_q15mulr_sat_s, zv_i16x8, zv_i16x8, 8,
           zv_sat(((int32_t)a[i] * b[i] + 0x4000) >> 15, -32768, 32767))

/* narrow: a's lanes then b's, saturated (signed input) */
#define ZV_NARROW(name, SV, RT, N, lo, hi)                                                         \
    static inline V zv_op_##name(C *ctx, V va, V vb)                                               \
    {                                                                                              \
        SV a = (SV)va, b = (SV)vb;                                                                 \
        RT r;                                                                                      \
        (void)ctx;                                                                                 \
        for (int i = 0; i < N; i++) {                                                              \
            r[i] = zv_sat(a[i], lo, hi);                                                           \
            r[i + N] = zv_sat(b[i], lo, hi);                                                       \
        }                                                                                          \
        return (V)r;                                                                               \
    }
ZV_NARROW(i8x16_narrow_i16x8_s, zv_i16x8, zv_i8x16, 8, -128, 127)
ZV_NARROW(i8x16_narrow_i16x8_u, zv_i16x8, zv_u8x16, 8, 0, 255)
ZV_NARROW(i16x8_narrow_i32x4_s, zv_i32x4, zv_i16x8, 4, -32768, 32767)
ZV_NARROW(i16x8_narrow_i32x4_u, zv_i32x4, zv_u16x8, 4, 0, 65535)

/* widening: extend, extmul, extadd_pairwise */
#define ZV_WIDEN(p, src, SV, UV, RS, RU, SS, SU, N)                                                \
    ZV_VLANES1(p##_extend_low_##src##_s, SV, RS, N, a[i])                                          \
    ZV_VLANES1(p##_extend_high_##src##_s, SV, RS, N, a[i + N])                                     \
    ZV_VLANES1(p##_extend_low_##src##_u, UV, RU, N, a[i])                                          \
    ZV_VLANES1(p##_extend_high_##src##_u, UV, RU, N, a[i + N])                                     \
    ZV_VLANES2(p##_extmul_low_##src##_s, SV, RS, N, (SS)a[i] * (SS)b[i])                           \
    ZV_VLANES2(p##_extmul_high_##src##_s, SV, RS, N, (SS)a[i + N] * (SS)b[i + N])                  \
    ZV_VLANES2(p##_extmul_low_##src##_u, UV, RU, N, (SU)a[i] * (SU)b[i])                           \
    ZV_VLANES2(p##_extmul_high_##src##_u, UV, RU, N, (SU)a[i + N] * (SU)b[i + N])
ZV_WIDEN(i16x8, i8x16, zv_i8x16, zv_u8x16, zv_i16x8, zv_u16x8, int32_t, uint32_t, 8)
ZV_WIDEN(i32x4, i16x8, zv_i16x8, zv_u16x8, zv_i32x4, zv_u32x4, int32_t, uint32_t, 4)
ZV_WIDEN(i64x2, i32x4, zv_i32x4, zv_u32x4, zv_i64x2, zv_u64x2, int64_t, uint64_t, 2)
ZV_VLANES1(i16x8_extadd_pairwise_i8x16_s, zv_i8x16, zv_i16x8, 8, a[2 * i] + a[2 * i + 1])
ZV_VLANES1(i16x8_extadd_pairwise_i8x16_u, zv_u8x16, zv_u16x8, 8, a[2 * i] + a[2 * i + 1])
ZV_VLANES1(i32x4_extadd_pairwise_i16x8_s, zv_i16x8, zv_i32x4, 4, a[2 * i] + a[2 * i + 1])
ZV_VLANES1(i32x4_extadd_pairwise_i16x8_u, zv_u16x8, zv_u32x4, 4, a[2 * i] + a[2 * i + 1])
ZV_VLANES2(i32x4_dot_i16x8_s, zv_i16x8, zv_u32x4, 4,
           (uint32_t)((int32_t)a[2 * i] * b[2 * i]) + (uint32_t)((int32_t)a[2 * i + 1] * b[2 * i + 1]))

/* ---- floating point ------------------------------------------------------ */
/* NaN lanes of arithmetic results become the positive canonical NaN
 * (rt_ops.h "NaN results"): a compare and a blend on the whole vector,
 * or zv_f32_canon_v per lane in lane loops (gcc vectorizes either).
 * pmin/pmax select an operand as it is, so they keep its bits (§4.3.4.x
 * fpmin: b < a ? b : a). */
#define ZV_VCANON(FV, IV, NAN)                                                                     \
    static inline V zv_canon_##FV(FV r)                                                            \
    {                                                                                              \
        IV ok = r == r, nan = (IV){0} + (NAN);                                                     \
        return (V)(((IV)r & ok) | (nan & ~ok));                                                    \
    }
ZV_VCANON(zv_f32x4, zv_i32x4, (int32_t)ZV_NAN32)
ZV_VCANON(zv_f64x2, zv_i64x2, (int64_t)ZV_NAN64)
#define ZV_FVOP(name, FV, op)                                                                      \
    static inline V zv_op_##name(C *ctx, V a, V b)                                                 \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return zv_canon_##FV((FV)a op(FV) b);                                                      \
    }
#define ZV_FARITH(p, FV, N, s, BT, SIGN, bits, frombits, sfx)                                      \
    ZV_FVOP(p##_add, FV, +)                                                                        \
    ZV_FVOP(p##_sub, FV, -)                                                                        \
    ZV_FVOP(p##_mul, FV, *)                                                                        \
    ZV_FVOP(p##_div, FV, /)                                                                        \
    ZV_VLANES1(p##_abs, FV, FV, N, frombits(bits(a[i]) & ~SIGN))                                   \
    ZV_VLANES1(p##_neg, FV, FV, N, frombits(bits(a[i]) ^ SIGN))                                    \
    ZV_VLANES1(p##_sqrt, FV, FV, N, zv_##s##_canon_v(sqrt##sfx(a[i])))                             \
    ZV_VLANES1(p##_ceil, FV, FV, N, zv_##s##_canon_v(ceil##sfx(a[i])))                             \
    ZV_VLANES1(p##_floor, FV, FV, N, zv_##s##_canon_v(floor##sfx(a[i])))                           \
    ZV_VLANES1(p##_trunc, FV, FV, N, zv_##s##_canon_v(trunc##sfx(a[i])))                           \
    ZV_VLANES1(p##_nearest, FV, FV, N, zv_##s##_canon_v(nearbyint##sfx(a[i])))                     \
    ZV_VLANES2(p##_min, FV, FV, N, zv_##s##_min(a[i], b[i]))                                       \
    ZV_VLANES2(p##_max, FV, FV, N, zv_##s##_max(a[i], b[i]))                                       \
    ZV_VLANES2(p##_pmin, FV, FV, N, b[i] < a[i] ? b[i] : a[i])                                     \
    ZV_VLANES2(p##_pmax, FV, FV, N, a[i] < b[i] ? b[i] : a[i])
ZV_FARITH(f32x4, zv_f32x4, 4, f32, uint32_t, 0x80000000u, zv_bits_f32, zv_f32_bits, f)
ZV_FARITH(f64x2, zv_f64x2, 2, f64, uint64_t, 0x8000000000000000ull, zv_bits_f64, zv_f64_bits, )

ZV_VLANES1(f32x4_convert_i32x4_s, zv_i32x4, zv_f32x4, 4, (float)a[i])
ZV_VLANES1(f32x4_convert_i32x4_u, zv_u32x4, zv_f32x4, 4, (float)a[i])
ZV_VLANES1(f64x2_convert_low_i32x4_s, zv_i32x4, zv_f64x2, 2, (double)a[i])
ZV_VLANES1(f64x2_convert_low_i32x4_u, zv_u32x4, zv_f64x2, 2, (double)a[i])
ZV_VLANES1(i32x4_trunc_sat_f32x4_s, zv_f32x4, zv_u32x4, 4, zv_sat_i32_trunc_sat_f32_s(a[i]))
ZV_VLANES1(i32x4_trunc_sat_f32x4_u, zv_f32x4, zv_u32x4, 4, zv_sat_i32_trunc_sat_f32_u(a[i]))
static inline V zv_op_i32x4_trunc_sat_f64x2_s_zero(C *ctx, V v)
{
    zv_f64x2 a = (zv_f64x2)v;
    zv_u32x4 r = {zv_sat_i32_trunc_sat_f64_s(a[0]), zv_sat_i32_trunc_sat_f64_s(a[1]), 0, 0};
    (void)ctx;
    return (V)r;
}
static inline V zv_op_i32x4_trunc_sat_f64x2_u_zero(C *ctx, V v)
{
    zv_f64x2 a = (zv_f64x2)v;
    zv_u32x4 r = {zv_sat_i32_trunc_sat_f64_u(a[0]), zv_sat_i32_trunc_sat_f64_u(a[1]), 0, 0};
    (void)ctx;
    return (V)r;
}
static inline V zv_op_f32x4_demote_f64x2_zero(C *ctx, V v)
{
    zv_f64x2 a = (zv_f64x2)v;
    zv_f32x4 r = {zv_f32_canon_v((float)a[0]), zv_f32_canon_v((float)a[1]), 0, 0};
    (void)ctx;
    return (V)r;
}
static inline V zv_op_f64x2_promote_low_f32x4(C *ctx, V v)
{
    zv_f32x4 a = (zv_f32x4)v;
    zv_f64x2 r = {zv_f64_canon_v(a[0]), zv_f64_canon_v(a[1])};
    (void)ctx;
    return (V)r;
}

#endif /* __TINYC__ */
#endif
