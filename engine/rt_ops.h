/*
 * rt_ops.h — the semantics of every simple WebAssembly instruction, as
 * static inline C. The translator pastes it after rt_abi.h into each
 * generated file and emits `zv_op_<name>(ctx, operands..., immediates...)`
 * for every instruction the validator's table gives a plain signature, so
 * the per-instruction logic lives here, once (Wasm core §4.3 numerics).
 *
 * Memory accesses are base + 32-bit index + offset with no check: the
 * slot's guard region turns out-of-bounds into a fault. Traps that the
 * spec requires explicitly (division, conversion) call ctx->host->trap.
 * Floats keep exact IEEE behaviour: compile with -frounding-math and
 * -fsignaling-nans, never -ffast-math. GCC vector extensions give SIMD.
 */
#ifndef ZV_RT_OPS_H
#define ZV_RT_OPS_H

#if defined(ZV_SEG_HOST) && defined(__SEG_GS) && !defined(__TINYC__) && !defined(ZV_SEG_NO_GS)
#define ZV_SEG 1 /* linear memory is the GS segment (engine/seg.c) */
#endif

#include <math.h>
#include <string.h>

#ifdef __TINYC__
/* tcc (the fast compiler: cache.c sends it modules without SIMD) has no
 * __builtin_expect or bit-count builtins, and copies through memcpy call
 * into libc, where a fault on the guard would be a host fault: linear
 * memory is read and written through typed pointers (unaligned access is
 * fine on x86-64). */
#define ZV_UNLIKELY(x) (x)
#define ZV_LIKELY(x) (x)
#define ZV_COLD
static inline int zv_clz64(uint64_t x)
{
    int n = 0;
    for (uint64_t bit = 1ull << 63; bit && !(x & bit); bit >>= 1)
        n++;
    return n;
}
static inline int zv_ctz64(uint64_t x)
{
    int n = 0;
    while (n < 64 && !(x & 1ull << n))
        n++;
    return n;
}
static inline int zv_popcnt64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}
#define ZV_CLZ32(x) (zv_clz64((uint32_t)(x)) - 32)
#define ZV_CLZ64(x) zv_clz64(x)
#define ZV_CTZ32(x) zv_ctz64((uint32_t)(x))
#define ZV_CTZ64(x) zv_ctz64(x)
#define ZV_POPCNT32(x) zv_popcnt64((uint32_t)(x))
#define ZV_POPCNT64(x) zv_popcnt64(x)
#define ZV_MEM_GET(v, p) ((v) = *(__typeof__(v) *)(p))
#define ZV_MEM_PUT(p, v) (*(__typeof__(v) *)(p) = (v))
#else
#define ZV_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ZV_LIKELY(x) __builtin_expect(!!(x), 1)
/* A function out of the hot path (a wasi-libc routine's own code, run
 * when its native form cannot be: libc_bind.h): kept out of line, so the
 * fast path needs no saved registers. gcc and clang attributes. */
#define ZV_COLD __attribute__((noinline, cold))
#define ZV_CLZ32(x) __builtin_clz(x)
#define ZV_CLZ64(x) __builtin_clzll(x)
#define ZV_CTZ32(x) __builtin_ctz(x)
#define ZV_CTZ64(x) __builtin_ctzll(x)
#define ZV_POPCNT32(x) __builtin_popcount(x)
#define ZV_POPCNT64(x) __builtin_popcountll(x)
#define ZV_MEM_GET(v, p) memcpy(&(v), (p), sizeof(v))
#define ZV_MEM_PUT(p, v) memcpy((p), &(v), sizeof(v))
#endif
#define ZV_TRAP(ctx, cause) (ctx)->host->trap((ctx), (cause))
/* Function entry: the guest's stack ends ZV_HOST_HEADROOM above the guard
 * of its thread's stack (ctx->stack_limit, set by zv_eng_call). A frame
 * that would reach below it is exhaustion now, while the guest is in its
 * own code, so every host call it makes (WASI, memory.grow, memcpy, libm)
 * has that much room: host code never overflows, and never has to be
 * unwound from (engine/trap.c). `frame` is the translator's bound on the
 * function's own frame, a decimal literal of at most 2^30: the asm takes
 * the frame's lowest address in one instruction (x86-64: lea from the
 * stack pointer), and the compare reads the limit from memory, so the
 * check is three instructions where `sp < limit + frame` was five.
 * The same compare is the interruption poll: an interrupt raises the limit
 * to ZV_STACK_LIMIT_INTERRUPTED (trap.c raise_interrupt), so the slow path
 * tells the two apart by the flag. A separate poll of the flag cost three
 * instructions a call (perf/README.md "Real programs (issue 27)"). */
#if defined(__x86_64__)
#define ZV_FRAME_LOW(low, frame) __asm__("lea -" #frame "(%%rsp), %0" : "=r"(low))
#else
#define ZV_FRAME_LOW(low, frame)                                                                   \
    do {                                                                                           \
        __asm__("mov %0, sp" : "=r"(low));                                                         \
        (low) -= (frame);                                                                          \
    } while (0)
#endif
#define ZV_ENTER(ctx, frame)                                                                       \
    do {                                                                                           \
        uintptr_t low_;                                                                            \
        ZV_FRAME_LOW(low_, frame);                                                                 \
        if (ZV_UNLIKELY(low_ < (ctx)->stack_limit))                                                \
            ZV_TRAP(ctx, (ctx)->interrupt ? ZV_TRAP_TIMEOUT : ZV_TRAP_EXHAUSTION);                 \
    } while (0)
/* After each call in a function that the entry plan checks (one that a
 * recursion, a funcref or the host can reach: translate_entry.c; not one
 * that checks only for its own large frame, which is on no cycle): an
 * empty asm that the call cannot pass, so the call is no tail call and the
 * function's frame stays while its callee runs, inlined or not. Every
 * cycle of calls passes such a function, so a runaway recursion grows the
 * stack until a check stops it, as Wasm requires, while the C compiler may
 * still turn the other functions' calls into jumps (backend_cc.c). tcc
 * makes no tail calls. */
#if defined(__TINYC__)
#define ZV_NO_TAIL() ((void)0)
#else
#define ZV_NO_TAIL() __asm__ volatile("")
#endif
/* A try (translate.c "Exceptions"): its handler is entered in the run's
 * chain, then set here, in the function's own frame: gcc's
 * __builtin_setjmp (a few stores, no call: 8 ns a setjmp and longjmp
 * against 19 for the C library's, which saves and checks more than a
 * throw needs; gcc treats the function as one that calls setjmp), or the
 * host C's _setjmp for clang and tcc. A throw comes back from it with 1
 * (trap.c land), and the function goes to the try's dispatch.
 * The outermost try of a function call asks the engine for the run's
 * chain; a try inside another takes it from that one's handler, and
 * leaving a try needs no call: a longjmp-heavy loop crosses two or three
 * tries per round (issue 28's 3x budget). */
#if defined(__TINYC__) || defined(__clang__)
/* clang's __builtin_setjmp is not one for its optimizer (a function that
 * calls it does not expose a second return the way one calling _setjmp
 * does): its code read stale frame slots after a landing (diff_exec
 * --tiers gcc,clang, seeds 6, 34 and 41). The C library's _setjmp it
 * knows, and tcc has nothing else. */
#define ZV_EH_JUMP 0 /* the engine longjmps */
#define ZV_SETJMP(h) _setjmp((h).jb)
#else
/* A throw lands through this, built by the compiler that built the
 * __builtin_setjmp (the buffer's layout is the compiler's). */
static __attribute__((noreturn, noinline, unused)) void zv_eh_jump(zv_eh *h)
{
    __builtin_longjmp((void **)h->jb, 1);
}
#define ZV_EH_JUMP zv_eh_jump
#define ZV_SETJMP(h) __builtin_setjmp((void **)(h).jb)
#endif
#define ZV_TRY(ctx, h, label)                                                                      \
    do {                                                                                           \
        (ctx)->host->eh_enter((ctx), &(h), ZV_EH_JUMP);                                            \
        if (ZV_SETJMP(h))                                                                          \
            goto label;                                                                            \
    } while (0)
#define ZV_TRY_IN(h, outer, label)                                                                 \
    do {                                                                                           \
        (h).jump = ZV_EH_JUMP;                                                                     \
        (h).st = (outer).st;                                                                       \
        (h).prev = (h).st->head;                                                                   \
        (h).depth = (h).st->len;                                                                   \
        (h).st->head = &(h);                                                                       \
        if (ZV_SETJMP(h))                                                                          \
            goto label;                                                                            \
    } while (0)
/* A local that some try's body writes (translate.c "Exceptions"): C
 * keeps the value of such a local across a longjmp only if it lives in
 * memory when the throw leaves (a call: a throw is one) and is read from
 * memory after the landing. Its address goes where the compiler cannot
 * follow it, so it does both, at calls only (volatile would cost a load
 * or store at every access). tcc keeps every local in memory. */
#if defined(__TINYC__)
#define ZV_ESCAPE(v) ((void)&(v))
#else
#define ZV_ESCAPE(v) __asm__ volatile("" ::"r"(&(v)) : "memory")
#endif
/* Leave a try's construct, and the ones inside it: the chain and the
 * records back to what they were when it was entered. */
#define ZV_LEAVE(h) ((h).st->head = (h).prev, (h).st->len = (h).depth)
/* The exception a handler caught: the engine wrote it after the _setjmp,
 * so it is read through a volatile access (C keeps no other promise for
 * a local changed between _setjmp and longjmp). */
#define ZV_CAUGHT(h) (((volatile zv_eh *)&(h))->exn)
/* Loads and stores take the memory base, not the context: the translator
 * reads ctx->mem once per function into a local (the base never moves
 * while an instance runs), so gcc need not reload it after every store
 * through linear memory. */
#define ZV_ADDR(mem, a, off) ((mem) + (uint64_t)(a) + (uint64_t)(off))
/* A guest access: v from or to the address a + off of linear memory. */
#if defined(ZV_SEG)
/* The memory base is the thread's GS base (zv_eng_guarded sets it), so an
 * access needs no base register: gcc's named address space __seg_gs (a
 * gcc extension, x86-64 only; the engine asks for it only where the CPU
 * and kernel let user code write the GS base). The typedef lowers the
 * alignment to 1 byte: wasm accesses need no alignment.
 * gcc 12 drops the segment of an access at a constant address of 2 GiB
 * or more (engine/seg.c), so such a constant passes through an empty asm:
 * the address is in a register, `%gs:(%reg)`. (A constant that gcc finds
 * only later is caught by the disassembly of the build.) */
#define ZV_SEG_EA(ea, a, off)                                                                      \
    uint64_t ea = (uint64_t)(a) + (uint64_t)(off);                                                 \
    if (__builtin_constant_p(ea) && ea >= UINT64_C(0x80000000))                                    \
    __asm__("" : "+r"(ea))
#define ZV_GUEST_GET(v, mem, a, off)                                                               \
    do {                                                                                           \
        typedef __typeof__(v) __attribute__((aligned(1))) zv_unaligned_;                          \
        ZV_SEG_EA(ea_, a, off);                                                                    \
        (void)(mem);                                                                               \
        (v) = *(const __seg_gs zv_unaligned_ *)ea_;                                                \
    } while (0)
#define ZV_GUEST_PUT(mem, a, off, v)                                                               \
    do {                                                                                           \
        typedef __typeof__(v) __attribute__((aligned(1))) zv_unaligned_;                           \
        ZV_SEG_EA(ea_, a, off);                                                                    \
        (void)(mem);                                                                               \
        *(__seg_gs zv_unaligned_ *)ea_ = (v);                                                      \
    } while (0)
#else
#define ZV_GUEST_GET(v, mem, a, off) ZV_MEM_GET(v, ZV_ADDR(mem, a, off))
#define ZV_GUEST_PUT(mem, a, off, v) ZV_MEM_PUT(ZV_ADDR(mem, a, off), v)
#endif
/* Where the engine keeps the GS base at the running instance's memory
 * (ZV_SEG_HOST), a call into another instance (an import, call_indirect)
 * runs on the callee's memory and the caller's comes back after it, and a
 * throw that lands here may come from another instance's code. Every
 * build does this, with or without __seg_gs (tcc's code may call gcc's).
 * The bytes are `wrgsbase %rax` (no assembler of the three needs to know
 * the mnemonic); the memory clobber keeps guest accesses on their side. */
#if defined(ZV_SEG_HOST)
static inline void zv_seg_set(const void *base)
{
    __asm__ volatile(".byte 0xf3, 0x48, 0x0f, 0xae, 0xd8" ::"a"(base) : "memory");
}
#define ZV_SEG_IN(ctx, c)                                                                          \
    do {                                                                                           \
        if (ZV_UNLIKELY((c) != (ctx)))                                                             \
            zv_seg_set((c)->mem);                                                                  \
    } while (0)
#define ZV_SEG_OUT(ctx, c)                                                                         \
    do {                                                                                           \
        if (ZV_UNLIKELY((c) != (ctx)))                                                             \
            zv_seg_set((ctx)->mem);                                                                \
    } while (0)
#define ZV_SEG_LAND(ctx) zv_seg_set((ctx)->mem)
#else
#define ZV_SEG_IN(ctx, c) ((void)0)
#define ZV_SEG_OUT(ctx, c) ((void)0)
#define ZV_SEG_LAND(ctx) ((void)0)
#endif

typedef int8_t zv_i8x16 __attribute__((vector_size(16)));
typedef uint8_t zv_u8x16 __attribute__((vector_size(16)));
typedef int16_t zv_i16x8 __attribute__((vector_size(16)));
typedef uint16_t zv_u16x8 __attribute__((vector_size(16)));
typedef int32_t zv_i32x4 __attribute__((vector_size(16)));
typedef uint32_t zv_u32x4 __attribute__((vector_size(16)));
typedef int64_t zv_i64x2 __attribute__((vector_size(16)));
typedef float zv_f32x4 __attribute__((vector_size(16)));
typedef double zv_f64x2 __attribute__((vector_size(16)));

typedef zv_ctx C;
typedef uint32_t I;
typedef uint64_t L;
typedef float F;
typedef double D;
typedef zv_v128 V;

static inline F zv_f32_bits(uint32_t b) { F f; memcpy(&f, &b, 4); return f; }
static inline D zv_f64_bits(uint64_t b) { D d; memcpy(&d, &b, 8); return d; }
static inline uint32_t zv_bits_f32(F f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static inline uint64_t zv_bits_f64(D d) { uint64_t b; memcpy(&b, &d, 8); return b; }

/* ---- memory ---------------------------------------------------------- */
/* Every executed load happens, even when its value is unused, so that an
 * out-of-bounds load faults on the guard (Wasm core §4.4.7). C lets gcc and
 * clang delete a load whose value is dead, so each loaded value passes
 * through an empty asm that needs it in a register: the load must be done.
 * The asm has no memory clobber, so stores and other loads still move
 * around it; what that means after a trap is in rt_abi.h. Cost measured in
 * perf/README.md ("Loads that trap"). Register classes are per ISA:
 * general-purpose for integers, vector for floats and v128. */
#if defined(__x86_64__)
#if defined(__TINYC__) /* tcc keeps every load it is given: nothing to force */
#define ZV_KEEP_INT(v) ((void)(v))
#define ZV_KEEP_VEC(v) ((void)(v))
#else
#define ZV_KEEP_INT(v) __asm__ volatile("" ::"r"(v))
#define ZV_KEEP_VEC(v) __asm__ volatile("" ::"x"(v))
#endif
#elif defined(__aarch64__)
#define ZV_KEEP_INT(v) __asm__ volatile("" ::"r"(v))
#define ZV_KEEP_VEC(v) __asm__ volatile("" ::"w"(v))
#else
#error "zvm's generated code targets x86-64 and AArch64"
#endif

/* Every round of a loop starts with ZV_ROUND: an asm that reads the whole
 * slot (the 8 GiB an address and an offset can reach), emits nothing and
 * clobbers nothing. Every store is then observed by the next round or by
 * the return, so the C compiler cannot delete one as dead in a loop that
 * it proves never ends: such a loop's out-of-bounds store must trap, not
 * spin until the timeout. (Loops that end, and code outside loops, need
 * nothing: their stores are seen when the function returns, traps or
 * calls.) A fast copy (translate_loop.c) has none, since its guard proved
 * it ends: an asm in a loop keeps it from being vectorized. */
#if defined(__TINYC__) /* tcc deletes no stores */
#define ZV_ROUND(mem) ((void)(mem))
#elif defined(ZV_SEG)
#define ZV_ROUND(mem) __asm__ volatile("" ::"m"(*(const __seg_gs uint8_t(*)[UINT64_C(1) << 33])0))
#else
#define ZV_ROUND(mem) __asm__ volatile("" ::"m"(*(const uint8_t(*)[UINT64_C(1) << 33])(mem)))
#endif

/* The _w forms take a 64-bit address that a loop's guard proved exact and
 * in bounds (translate_loop.c): such a load cannot trap, so it needs no
 * forcing, and the C compiler may vectorize the loop around it. The _b
 * forms are the plain ones through the base register even where the rest
 * uses GS: the other accesses of a fast copy, whose base is in a register
 * for the _w forms anyway (a table lookup's load through GS takes 2.0 ns
 * in a dependent chain on an Intel Xeon, through the base 1.4 ns:
 * perf/seg_latency.c). */
#define ZV_LOAD(name, T, R, conv, KEEP)                                                            \
    static inline R zv_op_##name(uint8_t *mem, I a, I off)                                         \
    {                                                                                              \
        T v;                                                                                       \
        ZV_GUEST_GET(v, mem, a, off);                                                              \
        KEEP(v);                                                                                   \
        return (R)conv v;                                                                          \
    }                                                                                              \
    static inline R zv_op_##name##_w(uint8_t *mem, uint64_t a, I off)                              \
    {                                                                                              \
        T v;                                                                                       \
        ZV_MEM_GET(v, mem + a + off);                                                              \
        return (R)conv v;                                                                          \
    }                                                                                              \
    static inline R zv_op_##name##_b(uint8_t *mem, I a, I off)                                     \
    {                                                                                              \
        T v;                                                                                       \
        ZV_MEM_GET(v, ZV_ADDR(mem, a, off));                                                       \
        KEEP(v);                                                                                   \
        return (R)conv v;                                                                          \
    }
ZV_LOAD(i32_load, uint32_t, I, , ZV_KEEP_INT)
ZV_LOAD(i64_load, uint64_t, L, , ZV_KEEP_INT)
ZV_LOAD(f32_load, float, F, , ZV_KEEP_VEC)
ZV_LOAD(f64_load, double, D, , ZV_KEEP_VEC)
ZV_LOAD(i32_load8_s, int8_t, I, (int32_t), ZV_KEEP_INT)
ZV_LOAD(i32_load8_u, uint8_t, I, , ZV_KEEP_INT)
ZV_LOAD(i32_load16_s, int16_t, I, (int32_t), ZV_KEEP_INT)
ZV_LOAD(i32_load16_u, uint16_t, I, , ZV_KEEP_INT)
ZV_LOAD(i64_load8_s, int8_t, L, (int64_t), ZV_KEEP_INT)
ZV_LOAD(i64_load8_u, uint8_t, L, , ZV_KEEP_INT)
ZV_LOAD(i64_load16_s, int16_t, L, (int64_t), ZV_KEEP_INT)
ZV_LOAD(i64_load16_u, uint16_t, L, , ZV_KEEP_INT)
ZV_LOAD(i64_load32_s, int32_t, L, (int64_t), ZV_KEEP_INT)
ZV_LOAD(i64_load32_u, uint32_t, L, , ZV_KEEP_INT)
ZV_LOAD(v128_load, V, V, , ZV_KEEP_VEC)

#define ZV_STORE(name, T, A)                                                                       \
    static inline void zv_op_##name(uint8_t *mem, I a, A v, I off)                                 \
    {                                                                                              \
        T t = (T)v;                                                                                \
        ZV_GUEST_PUT(mem, a, off, t);                                                              \
    }                                                                                              \
    static inline void zv_op_##name##_w(uint8_t *mem, uint64_t a, A v, I off)                      \
    {                                                                                              \
        T t = (T)v;                                                                                \
        ZV_MEM_PUT(mem + a + off, t);                                                              \
    }                                                                                              \
    static inline void zv_op_##name##_b(uint8_t *mem, I a, A v, I off)                             \
    {                                                                                              \
        T t = (T)v;                                                                                \
        ZV_MEM_PUT(ZV_ADDR(mem, a, off), t);                                                       \
    }
ZV_STORE(i32_store, uint32_t, I)
ZV_STORE(i64_store, uint64_t, L)
ZV_STORE(f32_store, float, F)
ZV_STORE(f64_store, double, D)
ZV_STORE(i32_store8, uint8_t, I)
ZV_STORE(i32_store16, uint16_t, I)
ZV_STORE(i64_store8, uint8_t, L)
ZV_STORE(i64_store16, uint16_t, L)
ZV_STORE(i64_store32, uint32_t, L)
ZV_STORE(v128_store, V, V)

/* The write barrier of modules that fork (snapshot.c restores only the
 * cards marked, rt_abi.h): after a store of n bytes at a + off, both cards
 * it may touch; the store trapped already if the address is past the
 * memory. */
#define ZV_DIRTY(dirty, a, off, n)                                                                 \
    do {                                                                                           \
        uint64_t e_ = (uint64_t)(a) + (uint64_t)(off);                                             \
        (dirty)[e_ >> ZV_DIRTY_SHIFT] = 1;                                                         \
        (dirty)[(e_ + (n)-1) >> ZV_DIRTY_SHIFT] = 1;                                               \
    } while (0)

static inline I zv_op_memory_size(C *ctx) { return ctx->memory->pages; }
static inline I zv_op_memory_grow(C *ctx, I d) { return ctx->host->memory_grow(ctx, d); }

/* Bulk memory (§4.4.7): bounds are checked before anything is written.
 * When the guest has sealed pages (zvm.jail), a write there must fault in
 * generated code, not inside libc: the copy is then a byte loop here,
 * through a volatile pointer so that the compiler keeps it a loop. */
static inline int zv_oob(uint64_t at, uint64_t n, uint64_t size) { return at + n > size; }
static inline void zv_copy_bytes(uint8_t *d, const uint8_t *s, I n)
{
    volatile uint8_t *vd = d;
    if (d <= s)
        for (I i = 0; i < n; i++)
            vd[i] = s[i];
    else
        for (I i = n; i-- > 0;)
            vd[i] = s[i];
}
static inline void zv_op_memory_fill(C *ctx, I d, I v, I n)
{
    if (zv_oob(d, n, ctx->memory->size_bytes))
        ZV_TRAP(ctx, ZV_TRAP_MEMORY_OOB);
    zv_dirty_mark(ctx->dirty, d, n);
    if (ZV_UNLIKELY(ctx->memory->jailed)) {
        volatile uint8_t *p = ctx->mem + d;
        for (I i = 0; i < n; i++)
            p[i] = (uint8_t)v;
        return;
    }
    memset(ctx->mem + d, (int)(v & 0xff), n);
}
static inline void zv_op_memory_copy(C *ctx, I d, I s, I n)
{
    uint64_t size = ctx->memory->size_bytes;
    if (zv_oob(d, n, size) || zv_oob(s, n, size))
        ZV_TRAP(ctx, ZV_TRAP_MEMORY_OOB);
    zv_dirty_mark(ctx->dirty, d, n);
    if (ZV_UNLIKELY(ctx->memory->jailed))
        zv_copy_bytes(ctx->mem + d, ctx->mem + s, n);
    else
        memmove(ctx->mem + d, ctx->mem + s, n);
}
/* ---- tables (§4.4.6) --------------------------------------------------- */
static inline void *zv_table_get(C *ctx, I t, I i)
{
    zv_table *tab = ctx->tables[t];
    if (i >= tab->size)
        ZV_TRAP(ctx, ZV_TRAP_TABLE_OOB);
    return tab->elems[i];
}
static inline void zv_table_set(C *ctx, I t, I i, void *v)
{
    zv_table *tab = ctx->tables[t];
    if (i >= tab->size)
        ZV_TRAP(ctx, ZV_TRAP_TABLE_OOB);
    tab->elems[i] = v;
}
static inline I zv_table_size(C *ctx, I t) { return ctx->tables[t]->size; }
static inline I zv_table_grow(C *ctx, I t, void *v, I n)
{
    return ctx->host->table_grow(ctx, ctx->tables[t], v, n);
}
static inline void zv_table_fill(C *ctx, I t, I i, void *v, I n)
{
    zv_table *tab = ctx->tables[t];
    if (zv_oob(i, n, tab->size))
        ZV_TRAP(ctx, ZV_TRAP_TABLE_OOB);
    for (I k = 0; k < n; k++)
        tab->elems[i + k] = v;
}
static inline void zv_table_copy(C *ctx, I td, I ts, I d, I s, I n)
{
    zv_table *dst = ctx->tables[td], *src = ctx->tables[ts];
    if (zv_oob(d, n, dst->size) || zv_oob(s, n, src->size))
        ZV_TRAP(ctx, ZV_TRAP_TABLE_OOB);
    memmove(dst->elems + d, src->elems + s, (size_t)n * sizeof(void *));
}
static inline void zv_table_init(C *ctx, I seg, I t, I d, I s, I n)
{
    zv_table *tab = ctx->tables[t];
    if (zv_oob(d, n, tab->size) || zv_oob(s, n, ctx->elem_sizes[seg]))
        ZV_TRAP(ctx, ZV_TRAP_TABLE_OOB);
    memcpy(tab->elems + d, ctx->elem_items[seg] + s, (size_t)n * sizeof(void *));
}
static inline void zv_elem_drop(C *ctx, I seg) { ctx->elem_sizes[seg] = 0; }

/* call_indirect (§4.4.8) through table tab (&ctx->table0 or
 * ctx->tables[t]): bounds, null, then the canonical type id, `want` (a
 * constant for a type with a code, types.c, else ctx->type_ids[type
 * index]). */
static inline zv_func *zv_indirect(C *ctx, zv_table *tab, I i, I want)
{
    zv_func *f;
    if (i >= tab->size)
        ZV_TRAP(ctx, ZV_TRAP_INDIRECT_OOB);
    f = (zv_func *)tab->elems[i];
    if (!f)
        ZV_TRAP(ctx, ZV_TRAP_INDIRECT_NULL);
    if (f->type_id != want)
        ZV_TRAP(ctx, ZV_TRAP_INDIRECT_TYPE);
    return f;
}

/* ---- integers ---------------------------------------------------------- */
#define ZV_BIN(name, T, expr)                                                                      \
    static inline T zv_op_##name(C *ctx, T a, T b)                                                 \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (T)(expr);                                                                          \
    }
#define ZV_UN(name, R, T, expr)                                                                    \
    static inline R zv_op_##name(C *ctx, T a)                                                      \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (R)(expr);                                                                          \
    }
#define ZV_CMP(name, T, expr)                                                                      \
    static inline I zv_op_##name(C *ctx, T a, T b)                                                 \
    {                                                                                              \
        (void)ctx;                                                                                 \
        return (expr) ? 1u : 0u;                                                                   \
    }

#define ZV_INT_OPS(p, T, S, BITS)                                                                  \
    ZV_UN(p##_eqz, I, T, a == 0)                                                                   \
    ZV_CMP(p##_eq, T, a == b)                                                                      \
    ZV_CMP(p##_ne, T, a != b)                                                                      \
    ZV_CMP(p##_lt_s, T, (S)a < (S)b)                                                               \
    ZV_CMP(p##_lt_u, T, a < b)                                                                     \
    ZV_CMP(p##_gt_s, T, (S)a > (S)b)                                                               \
    ZV_CMP(p##_gt_u, T, a > b)                                                                     \
    ZV_CMP(p##_le_s, T, (S)a <= (S)b)                                                              \
    ZV_CMP(p##_le_u, T, a <= b)                                                                    \
    ZV_CMP(p##_ge_s, T, (S)a >= (S)b)                                                              \
    ZV_CMP(p##_ge_u, T, a >= b)                                                                    \
    ZV_UN(p##_clz, T, T, a ? (BITS == 32 ? ZV_CLZ32((I)a) : ZV_CLZ64(a)) : BITS)                   \
    ZV_UN(p##_ctz, T, T, a ? (BITS == 32 ? ZV_CTZ32((I)a) : ZV_CTZ64(a)) : BITS)                   \
    ZV_UN(p##_popcnt, T, T, BITS == 32 ? ZV_POPCNT32((I)a) : ZV_POPCNT64(a))                       \
    ZV_BIN(p##_add, T, a + b)                                                                      \
    ZV_BIN(p##_sub, T, a - b)                                                                      \
    ZV_BIN(p##_mul, T, a * b)                                                                      \
    ZV_BIN(p##_and, T, a & b)                                                                      \
    ZV_BIN(p##_or, T, a | b)                                                                       \
    ZV_BIN(p##_xor, T, a ^ b)                                                                      \
    ZV_BIN(p##_shl, T, a << (b & (BITS - 1)))                                                      \
    ZV_BIN(p##_shr_s, T, (S)a >> (b & (BITS - 1)))                                                 \
    ZV_BIN(p##_shr_u, T, a >> (b & (BITS - 1)))                                                    \
    ZV_BIN(p##_rotl, T, (a << (b & (BITS - 1))) | (a >> ((BITS - (b & (BITS - 1))) & (BITS - 1)))) \
    ZV_BIN(p##_rotr, T, (a >> (b & (BITS - 1))) | (a << ((BITS - (b & (BITS - 1))) & (BITS - 1)))) \
    static inline T zv_op_##p##_div_s(C *ctx, T a, T b)                                            \
    {                                                                                              \
        if (ZV_UNLIKELY(b == 0))                                                                   \
            ZV_TRAP(ctx, ZV_TRAP_DIV_ZERO);                                                        \
        if (ZV_UNLIKELY(a == (T)1 << (BITS - 1) && b == (T)-1))                                    \
            ZV_TRAP(ctx, ZV_TRAP_INT_OVERFLOW);                                                    \
        return (T)((S)a / (S)b);                                                                   \
    }                                                                                              \
    static inline T zv_op_##p##_div_u(C *ctx, T a, T b)                                            \
    {                                                                                              \
        if (ZV_UNLIKELY(b == 0))                                                                   \
            ZV_TRAP(ctx, ZV_TRAP_DIV_ZERO);                                                        \
        return a / b;                                                                              \
    }                                                                                              \
    static inline T zv_op_##p##_rem_s(C *ctx, T a, T b)                                            \
    {                                                                                              \
        if (ZV_UNLIKELY(b == 0))                                                                   \
            ZV_TRAP(ctx, ZV_TRAP_DIV_ZERO);                                                        \
        if (ZV_UNLIKELY(b == (T)-1))                                                               \
            return 0; /* also avoids INT_MIN % -1, undefined in C */                               \
        return (T)((S)a % (S)b);                                                                   \
    }                                                                                              \
    static inline T zv_op_##p##_rem_u(C *ctx, T a, T b)                                            \
    {                                                                                              \
        if (ZV_UNLIKELY(b == 0))                                                                   \
            ZV_TRAP(ctx, ZV_TRAP_DIV_ZERO);                                                        \
        return a % b;                                                                              \
    }

ZV_INT_OPS(i32, I, int32_t, 32)
ZV_INT_OPS(i64, L, int64_t, 64)

ZV_UN(i32_extend8_s, I, I, (int32_t)(int8_t)a)
ZV_UN(i32_extend16_s, I, I, (int32_t)(int16_t)a)
ZV_UN(i64_extend8_s, L, L, (int64_t)(int8_t)a)
ZV_UN(i64_extend16_s, L, L, (int64_t)(int16_t)a)
ZV_UN(i64_extend32_s, L, L, (int64_t)(int32_t)a)
ZV_UN(i32_wrap_i64, I, L, (uint32_t)a)
ZV_UN(i64_extend_i32_s, L, I, (int64_t)(int32_t)a)
ZV_UN(i64_extend_i32_u, L, I, a)

/* ---- floats ------------------------------------------------------------ */
/* NaN results. Every arithmetic instruction whose result is a NaN gives
 * the positive canonical NaN (ZV_NAN32, ZV_NAN64): the spec lets it be any
 * arithmetic NaN (Wasm core §4.3.3, nans_N), and the C compilers pick
 * differently. x86 passes on the first operand's payload, and tcc and gcc
 * order operands differently (f32.min of nan:0x400001 and nan:0x400002 was
 * 0x7fc00001 under tcc, 0x7fc00002 under gcc); a NaN made from numbers
 * (0/0) is negative at run time but positive where gcc folded it. One
 * answer is the only way every tier and every machine gives the same
 * bytes; the positive canonical NaN is the one of the spec's deterministic
 * profile (Wasm 3.0). Bitwise instructions (neg, abs, copysign, reinterpret,
 * loads, stores, select, locals, globals, pmin/pmax) keep the exact bits.
 *
 * The translator checks a result where its bits can be seen, not after
 * each instruction (translate_ops.c "NaN results"): the scalar arithmetic
 * ops below (add, sub, mul, div, sqrt, ceil, floor, trunc, nearest,
 * demote, promote) give a raw NaN, and the generated code passes the value
 * through zv_f32_canon before a store, a reinterpret, a call... min and max
 * give the canonical NaN themselves. Two forms of the check:
 * zv_f32_canon, a compare and a branch the CPU predicts, off the value's
 * dependency chain (the empty asm on the NaN side keeps gcc from making it
 * a select, which it does through an integer register: movd, cmovp, movd
 * on the chain); zv_f32_canon_v, a select, which gcc vectorizes as a
 * compare and a blend, for loops' fast copies (translate_loop.c), where an
 * asm would keep the loop scalar. SIMD results are checked at once, with
 * the blend (rt_simd.h). */
#define ZV_NAN32 0x7fc00000u
#define ZV_NAN64 UINT64_C(0x7ff8000000000000)
static inline F zv_f32_canon(F r)
{
    if (ZV_UNLIKELY(r != r)) {
        r = zv_f32_bits(ZV_NAN32);
        ZV_KEEP_VEC(r);
    }
    return r;
}
static inline D zv_f64_canon(D r)
{
    if (ZV_UNLIKELY(r != r)) {
        r = zv_f64_bits(ZV_NAN64);
        ZV_KEEP_VEC(r);
    }
    return r;
}
static inline F zv_f32_canon_v(F r) { return r != r ? zv_f32_bits(ZV_NAN32) : r; }
static inline D zv_f64_canon_v(D r) { return r != r ? zv_f64_bits(ZV_NAN64) : r; }

/* min/max (§4.3.3): NaN if either is NaN; -0 is less than +0. */
#define ZV_FMINMAX(p, T, BT, bits, NAN)                                                            \
    static inline T zv_##p##_min(T a, T b)                                                         \
    {                                                                                              \
        if (a != a || b != b)                                                                      \
            return zv_##p##_bits(NAN);                                                             \
        if (a == b) {                                                                              \
            BT x = bits(a) | bits(b);                                                              \
            T r;                                                                                   \
            memcpy(&r, &x, sizeof r);                                                              \
            return r;                                                                              \
        }                                                                                          \
        return a < b ? a : b;                                                                      \
    }                                                                                              \
    static inline T zv_##p##_max(T a, T b)                                                         \
    {                                                                                              \
        if (a != a || b != b)                                                                      \
            return zv_##p##_bits(NAN);                                                             \
        if (a == b) {                                                                              \
            BT x = bits(a) & bits(b);                                                              \
            T r;                                                                                   \
            memcpy(&r, &x, sizeof r);                                                              \
            return r;                                                                              \
        }                                                                                          \
        return a > b ? a : b;                                                                      \
    }
ZV_FMINMAX(f32, F, uint32_t, zv_bits_f32, ZV_NAN32)
ZV_FMINMAX(f64, D, uint64_t, zv_bits_f64, ZV_NAN64)

#define ZV_FLOAT_OPS(p, T, BT, bits, frombits, SIGN, sfx)                                          \
    ZV_CMP(p##_eq, T, a == b)                                                                      \
    ZV_CMP(p##_ne, T, a != b)                                                                      \
    ZV_CMP(p##_lt, T, a < b)                                                                       \
    ZV_CMP(p##_gt, T, a > b)                                                                       \
    ZV_CMP(p##_le, T, a <= b)                                                                      \
    ZV_CMP(p##_ge, T, a >= b)                                                                      \
    ZV_UN(p##_abs, T, T, frombits(bits(a) & ~SIGN))                                                \
    ZV_UN(p##_neg, T, T, frombits(bits(a) ^ SIGN))                                                 \
    ZV_UN(p##_ceil, T, T, ceil##sfx(a))                                                            \
    ZV_UN(p##_floor, T, T, floor##sfx(a))                                                          \
    ZV_UN(p##_trunc, T, T, trunc##sfx(a))                                                          \
    ZV_UN(p##_nearest, T, T, nearbyint##sfx(a))                                                    \
    ZV_UN(p##_sqrt, T, T, sqrt##sfx(a))                                                            \
    ZV_BIN(p##_add, T, a + b)                                                                      \
    ZV_BIN(p##_sub, T, a - b)                                                                      \
    ZV_BIN(p##_mul, T, a * b)                                                                      \
    ZV_BIN(p##_div, T, a / b)                                                                      \
    ZV_BIN(p##_min, T, zv_##p##_min(a, b))                                                         \
    ZV_BIN(p##_max, T, zv_##p##_max(a, b))                                                         \
    ZV_BIN(p##_copysign, T, frombits((bits(a) & ~SIGN) | (bits(b) & SIGN)))

ZV_FLOAT_OPS(f32, F, uint32_t, zv_bits_f32, zv_f32_bits, 0x80000000u, f)
ZV_FLOAT_OPS(f64, D, uint64_t, zv_bits_f64, zv_f64_bits, 0x8000000000000000ull, )

/* Float to integer (§4.3.4): NaN is an invalid conversion, values whose
 * truncation does not fit are an overflow. Bounds are exact floats. */
#define ZV_TRUNC(name, R, SR, T, lo, hi)                                                           \
    static inline R zv_op_##name(C *ctx, T a)                                                      \
    {                                                                                              \
        if (ZV_UNLIKELY(a != a))                                                                   \
            ZV_TRAP(ctx, ZV_TRAP_INVALID_CONVERSION);                                              \
        if (ZV_UNLIKELY(!(a > (lo) && a < (hi))))                                                  \
            ZV_TRAP(ctx, ZV_TRAP_INT_OVERFLOW);                                                    \
        return (R)(SR)a;                                                                           \
    }
ZV_TRUNC(i32_trunc_f32_s, I, int32_t, F, -2147483904.0f, 2147483648.0f)
ZV_TRUNC(i32_trunc_f32_u, I, uint32_t, F, -1.0f, 4294967296.0f)
ZV_TRUNC(i32_trunc_f64_s, I, int32_t, D, -2147483649.0, 2147483648.0)
ZV_TRUNC(i32_trunc_f64_u, I, uint32_t, D, -1.0, 4294967296.0)
ZV_TRUNC(i64_trunc_f32_s, L, int64_t, F, -9223373136366403584.0f, 9223372036854775808.0f)
ZV_TRUNC(i64_trunc_f32_u, L, uint64_t, F, -1.0f, 18446744073709551616.0f)
ZV_TRUNC(i64_trunc_f64_s, L, int64_t, D, -9223372036854777856.0, 9223372036854775808.0)
ZV_TRUNC(i64_trunc_f64_u, L, uint64_t, D, -1.0, 18446744073709551616.0)

#define ZV_TRUNC_SAT(name, R, SR, T, lo, hi, minv, maxv)                                           \
    static inline R zv_sat_##name(T a)                                                             \
    {                                                                                              \
        if (a != a)                                                                                \
            return 0;                                                                              \
        if (!(a > (lo)))                                                                           \
            return (R)(minv);                                                                      \
        if (!(a < (hi)))                                                                           \
            return (R)(maxv);                                                                      \
        return (R)(SR)a;                                                                           \
    }                                                                                              \
    ZV_UN(name, R, T, zv_sat_##name(a))
ZV_TRUNC_SAT(i32_trunc_sat_f32_s, I, int32_t, F, -2147483904.0f, 2147483648.0f, INT32_MIN,
             INT32_MAX)
ZV_TRUNC_SAT(i32_trunc_sat_f32_u, I, uint32_t, F, -1.0f, 4294967296.0f, 0, UINT32_MAX)
ZV_TRUNC_SAT(i32_trunc_sat_f64_s, I, int32_t, D, -2147483649.0, 2147483648.0, INT32_MIN,
             INT32_MAX)
ZV_TRUNC_SAT(i32_trunc_sat_f64_u, I, uint32_t, D, -1.0, 4294967296.0, 0, UINT32_MAX)
ZV_TRUNC_SAT(i64_trunc_sat_f32_s, L, int64_t, F, -9223373136366403584.0f, 9223372036854775808.0f,
             INT64_MIN, INT64_MAX)
ZV_TRUNC_SAT(i64_trunc_sat_f32_u, L, uint64_t, F, -1.0f, 18446744073709551616.0f, 0, UINT64_MAX)
ZV_TRUNC_SAT(i64_trunc_sat_f64_s, L, int64_t, D, -9223372036854777856.0, 9223372036854775808.0,
             INT64_MIN, INT64_MAX)
ZV_TRUNC_SAT(i64_trunc_sat_f64_u, L, uint64_t, D, -1.0, 18446744073709551616.0, 0, UINT64_MAX)

ZV_UN(f32_convert_i32_s, F, I, (float)(int32_t)a)
ZV_UN(f32_convert_i32_u, F, I, (float)a)
ZV_UN(f32_convert_i64_s, F, L, (float)(int64_t)a)
ZV_UN(f32_convert_i64_u, F, L, (float)a)
ZV_UN(f32_demote_f64, F, D, (float)a)
ZV_UN(f64_convert_i32_s, D, I, (double)(int32_t)a)
ZV_UN(f64_convert_i32_u, D, I, (double)a)
ZV_UN(f64_convert_i64_s, D, L, (double)(int64_t)a)
ZV_UN(f64_convert_i64_u, D, L, (double)a)
ZV_UN(f64_promote_f32, D, F, (double)a)
ZV_UN(i32_reinterpret_f32, I, F, zv_bits_f32(a))
ZV_UN(i64_reinterpret_f64, L, D, zv_bits_f64(a))
ZV_UN(f32_reinterpret_i32, F, I, zv_f32_bits(a))
ZV_UN(f64_reinterpret_i64, D, L, zv_f64_bits(a))

#endif
