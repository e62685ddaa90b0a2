/*
 * trap.c — traps: how a fault or an explicit trap in guest code unwinds
 * back to the host, per thread; and interruption.
 *
 * zv_eng_call pushes a frame (a sigjmp_buf) on this thread's chain; the
 * generated code's explicit traps and the fault handler both siglongjmp to
 * the innermost frame. The handler runs on an alternate signal stack
 * (guest stack overflow leaves no room on the guest stack) and with
 * SA_NODEFER, so sigsetjmp need not save the signal mask: no syscall on
 * the call path. A fault is a trap only when it hits a memory slot or the
 * guard below a guest stack made by zv_eng_run_guest_thread; any other
 * fault goes to the handler installed before zvm's.
 *
 * Interruption is per thread and per run: zv_eng_run_begin numbers the
 * thread's run (an epoch), and zv_eng_interrupt queues the interrupt
 * signal with that epoch. The target thread checks the epoch in its own
 * handler, so a signal meant for an earlier run (the watchdog was late,
 * the record already ended) is ignored without any cross-thread race; a
 * matching one raises the running instance's flag and, in generated code,
 * unwinds at once.
 */
#include "engine/internal.h"

#include <errno.h>
#include <pthread.h>
#if defined(__SANITIZE_ADDRESS__)
#define ZV_TRAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZV_TRAP_ASAN 1
#endif
#endif
#ifdef ZV_TRAP_ASAN
#include <sanitizer/asan_interface.h>
#define ASAN_NO_RETURN() __asan_handle_no_return()
#else
#define ASAN_NO_RETURN() ((void)0)
#endif
#include <setjmp.h>
#include <stdatomic.h>
#include <ucontext.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct zv_eng_trap_frame {
    sigjmp_buf jb;
    struct zv_eng_trap_frame *prev;
    volatile int cause, exit_code;
    zv_eh_state own; /* a plain run's tries and caught exceptions */
    zv_eh_state *eh; /* the state in use: own, or a fiber's (zv_eng_eh_bind) */
} zv_eng_trap_frame;

/* The names are the spec's trap texts (what its assert_trap expects). */
/* Per-thread, by nature: each thread has its own chain, guard and stack. */
static _Thread_local zv_eng_trap_frame *tl_frame;
static _Thread_local zv_ctx *tl_ctx; /* the running instance's: its flag and stack limit */
static _Thread_local uintptr_t tl_guard_lo, tl_guard_hi;
static _Thread_local void *tl_altstack;
static _Thread_local uint64_t tl_epoch;            /* this thread's current run */
static _Thread_local volatile sig_atomic_t tl_pending; /* that run was interrupted */

/* zvm's interrupt signals carry the epoch with this bit set, so a queued
 * signal from anyone else is told apart and passed on. */
#define EPOCH_MARK (1ull << 63)

/* The handlers that were installed before zvm's, for what is not ours. */
static struct sigaction prev_segv, prev_bus, prev_urg;

#define ALTSTACK_BYTES (64 * 1024)
#define GUARD_BYTES (256 * 1024)
/* Stack kept for host code below the guest's deepest frame (rt_ops.h's
 * ZV_ENTER): WASI calls, the io_uring submission, memcpy and libm need a
 * few KiB; glibc's own functions at most tens. */
#define HOST_HEADROOM (128 * 1024)

static const char *const trap_names[ZV_TRAP_COUNT] = {
    [ZV_TRAP_NONE] = "none",
    [ZV_TRAP_UNREACHABLE] = "unreachable",
    [ZV_TRAP_MEMORY_OOB] = "out of bounds memory access",
    [ZV_TRAP_TABLE_OOB] = "out of bounds table access",
    [ZV_TRAP_INT_OVERFLOW] = "integer overflow",
    [ZV_TRAP_DIV_ZERO] = "integer divide by zero",
    [ZV_TRAP_INVALID_CONVERSION] = "invalid conversion to integer",
    [ZV_TRAP_INDIRECT_TYPE] = "indirect call type mismatch",
    [ZV_TRAP_INDIRECT_NULL] = "uninitialized element",
    [ZV_TRAP_INDIRECT_OOB] = "undefined element",
    [ZV_TRAP_JAILED] = "write to jailed memory",
    [ZV_TRAP_EXHAUSTION] = "call stack exhausted",
    [ZV_TRAP_TIMEOUT] = "timeout",
    [ZV_TRAP_EXIT] = "exit",
    [ZV_TRAP_HOST] = "host error",
    [ZV_TRAP_EXCEPTION] = "uncaught exception",
};

const char *zv_eng_trap_name(int cause)
{
    return cause >= 0 && cause < ZV_TRAP_COUNT ? trap_names[cause] : "unknown trap";
}

void zv_eng_trap(int cause, int exit_code)
{
    zv_eng_trap_frame *f = tl_frame;
    if (!f)
        abort(); /* a trap outside zv_eng_call is an engine bug */
    f->cause = cause;
    f->exit_code = exit_code;
    siglongjmp(f->jb, 1);
}

/* ---- Exceptions ------------------------------------------------------------
 * The exception handling proposal's instructions, as clang emits them for
 * setjmp/longjmp (a try around the code after each setjmp, a catch of the
 * tag __c_longjmp, a throw in __wasm_longjmp), become the host C's own
 * setjmp/longjmp (translate.c "Exceptions"): a try costs a
 * __builtin_setjmp (tcc and clang: _setjmp) and a few stores, plus a call
 * here for the outermost try of a function call, a throw one call and a
 * longjmp, and code without tries nothing. A loop of setjmp+longjmp pairs
 * runs in about 2.5x its native time (perf/README.md "setjmp/longjmp"),
 * most of it clang's own lowering (saveSetjmp, testSetjmp, getTempRet0 and
 * their table on every round). Rejected: a flag tested after every call
 * (Emscripten's way, and binaryen's Asyncify: 14-23% on every call of
 * every function, issue 28), and C++ unwinding (the generated code has no
 * unwind tables, and tcc makes none).
 *
 * Each run (a trap frame) has a chain of handlers, innermost first: a
 * handler lives in its function's frame, is entered at its try and left
 * when the code leaves the construct, and a throw takes the innermost one
 * out of the chain and longjmps to it. The chain belongs to the run, not
 * the instance, so an exception crosses calls between instances as the
 * spec says, and never a host frame: a run's chain ends at its trap frame,
 * and a throw with no handler left ends the run as a trap ("uncaught
 * exception"), as does a trap inside a try (traps are not exceptions).
 * A guest on a fiber keeps its chain in the fiber (zv_eng_eh_bind), so a
 * try entered before zvm_fork() catches what a record throws after it:
 * the handler's jmp_buf is on the fiber's stack, which the snapshot
 * restores at the same address.
 *
 * A caught exception's record (tag, values) must outlive the landing, for
 * rethrow and delegate, until its construct is left; constructs nest, so
 * the records form a stack in one buffer per chain: a handler notes the
 * stack's length when entered, a landing puts the exception there, and
 * leaving cuts the stack back. At most ZV_ENG_EXN_MAX bytes are held at
 * once (an exception is 16 bytes and 16 per value: C's longjmp holds 32);
 * past that a throw traps as call stack exhaustion, as the guest's frames
 * holding them would. */
#define ZV_ENG_EXN_MAX (4u << 20)

/* A buffer kept per thread for the next plain run's records, so that a
 * record's run does not allocate (it goes with the thread). */
static _Thread_local uint8_t *tl_spare;
static _Thread_local uint64_t tl_spare_cap;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_key_new(void) { pthread_key_create(&spare_key, free); }

static int eh_grow(zv_eh_state *s, uint64_t need)
{
    uint64_t cap = s->cap ? s->cap : 1024;
    uint8_t *b;
    if (need > ZV_ENG_EXN_MAX)
        return -ENOMEM;
    if (!s->buf && tl_spare && tl_spare_cap >= need) {
        s->buf = tl_spare, s->cap = tl_spare_cap;
        tl_spare = NULL;
        pthread_setspecific(spare_key, NULL);
        return 0;
    }
    while (cap < need)
        cap *= 2;
    if (!(b = realloc(s->buf, (size_t)cap)))
        return -ENOMEM;
    s->buf = b, s->cap = cap;
    return 0;
}

/* A plain run's buffer goes back to the thread, or is freed. */
static void eh_release(zv_eh_state *s)
{
    if (!s->buf)
        return;
    pthread_once(&spare_once, spare_key_new);
    if (!tl_spare) {
        tl_spare = s->buf, tl_spare_cap = s->cap;
        pthread_setspecific(spare_key, tl_spare);
    } else {
        free(s->buf);
    }
    *s = (zv_eh_state){0};
}

void zv_eng_eh_free(zv_eh_state *s)
{
    if (s)
        free(s->buf);
}

int zv_eng_eh_copy(zv_eh_state *dst, const zv_eh_state *src)
{
    int rc;
    if (src->len > dst->cap && (rc = eh_grow(dst, src->len)))
        return rc;
    if (src->len)
        memcpy(dst->buf, src->buf, (size_t)src->len);
    dst->len = src->len;
    dst->head = src->head;
    return 0;
}

void zv_eng_eh_bind(zv_eh_state *s)
{
    if (!tl_frame)
        abort(); /* only inside a run */
    tl_frame->eh = s;
}

static zv_eh_state *eh_state(void)
{
    if (!tl_frame)
        abort(); /* generated code runs only inside zv_eng_guarded */
    return tl_frame->eh;
}

/* A function's outermost try (rt_ops.h ZV_TRY; the ones inside it are
 * entered by the generated code, ZV_TRY_IN, as is every leave). */
void zv_eng_eh_enter(zv_ctx *ctx, zv_eh *h, void (*jump)(zv_eh *h))
{
    zv_eh_state *s = eh_state();
    (void)ctx;
    h->jump = jump;
    h->st = s;
    h->prev = s->head;
    h->depth = s->len;
    s->head = h;
}

/* Where an exception of `size` bytes goes: the innermost handler's
 * first record, the buffer grown if need be. A throw with no handler left
 * ends the run (an uncaught exception), as does an interrupted run: a
 * loop of throws runs mostly here and in longjmp, where the interrupt
 * signal only marks the run (on_interrupt). */
static inline __attribute__((always_inline)) zv_exn *slot(zv_eh_state *s, uint64_t size)
{
    zv_eh *h = s->head;
    if (__builtin_expect(tl_pending || (tl_ctx && tl_ctx->interrupt), 0))
        zv_eng_trap(ZV_TRAP_TIMEOUT, 0);
    if (__builtin_expect(!h, 0))
        zv_eng_trap(ZV_TRAP_EXCEPTION, 0);
    if (__builtin_expect(h->depth + size > s->cap, 0) && eh_grow(s, h->depth + size))
        zv_eng_trap(ZV_TRAP_EXHAUSTION, 0);
    return (zv_exn *)(s->buf + h->depth);
}

/* Hand the record at x to the innermost handler: it leaves the chain,
 * and its _setjmp or __builtin_setjmp returns 1. */
__attribute__((noreturn)) static void land(zv_eh_state *s, zv_exn *x)
{
    zv_eh *h = s->head;
    s->len = h->depth + x->size_bytes;
    h->exn = x;
    s->head = h->prev;
    if (!h->jump)
        longjmp(h->jb, 1);
    /* the frames between are ours (the throw call) and the guest's:
     * AddressSanitizer must forget the first, as its longjmp interceptor
     * would have it do */
    ASAN_NO_RETURN();
    h->jump(h);
    __builtin_unreachable(); /* it jumps */
}

void zv_eng_eh_throw(zv_ctx *ctx, const zv_tag *tag, const zv_value *vals, uint32_t n)
{
    zv_eh_state *s = eh_state();
    uint64_t size = sizeof(zv_exn) + (uint64_t)n * sizeof(zv_value);
    zv_exn *x = slot(s, size);
    (void)ctx;
    x->tag = tag;
    x->n_vals = n;
    x->size_bytes = (uint32_t)size;
    /* vals may be unaligned (tcc's stack arrays); one value, the common
     * case (C's longjmp), is copied inline */
    if (n == 1)
        memcpy(x->vals, vals, sizeof *vals);
    else if (n)
        memcpy(x->vals, vals, (size_t)n * sizeof *vals);
    land(s, x);
}

/* The record h's catch holds, to the innermost handler (below it in the
 * buffer, or above it when a try inside the catch block catches it). */
__attribute__((noreturn)) static void again(zv_eh_state *s, const zv_eh *h)
{
    uint32_t size = ((const zv_exn *)(s->buf + h->depth))->size_bytes;
    zv_exn *x = slot(s, size); /* may move the buffer: the record is found again */
    memmove(x, s->buf + h->depth, size);
    land(s, x);
}

void zv_eng_eh_rethrow(zv_ctx *ctx, const zv_eh *h)
{
    (void)ctx;
    again(eh_state(), h);
}

void zv_eng_eh_delegate(zv_ctx *ctx, const zv_eh *h, zv_eh *to)
{
    zv_eh_state *s = eh_state();
    (void)ctx;
    s->head = to;
    again(s, h);
}

/* Pass a signal that is not the guest's to the handler installed before
 * zvm's. A fault left to the default action (or ignored, which the kernel
 * does not allow for a real fault) restores it and returns: the faulting
 * instruction runs again and the process dies as it would without zvm. */
static void chain(int sig, siginfo_t *si, void *uc, const struct sigaction *prev)
{
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction)
            prev->sa_sigaction(sig, si, uc);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else if (sig != ZV_ENG_INTERRUPT_SIGNAL) {
        signal(sig, SIG_DFL);
    }
}

static int in_generated_code(uintptr_t pc);

/* The interrupted program counter, from the signal's machine context
 * (glibc's layouts for x86-64 and AArch64 Linux). */
static uintptr_t pc_of(void *ucv)
{
    ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
    return (uintptr_t)uc->uc_mcontext.pc;
#endif
}

/* A fault of host code on a guest's stack guard or memory: the host may
 * hold a lock or a half-made structure (a realloc inside jemalloc, say),
 * so unwinding would leave it broken. The checks at guest function entry
 * (ZV_ENTER) and at host calls (zv_host_mem_w) exist so that this cannot
 * happen; if it does, it is a zvm bug, and the process stops loudly. */
static void host_bug(const char *what)
{
    static const char head[] = "zvm: fatal: ";
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, what, strlen(what));
    abort();
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    zv_eng_trap_frame *f = tl_frame;
    const zv_memory *mem;
    if (f && a >= tl_guard_lo && a < tl_guard_hi) {
        if (!in_generated_code(pc_of(uc)))
            host_bug("stack overflow in host code, below a guest's frame\n");
        zv_eng_trap(ZV_TRAP_EXHAUSTION, 0);
    }
    if (f && (mem = zv_eng_memory_owner(si->si_addr))) {
        if (!in_generated_code(pc_of(uc)))
            host_bug("host code faulted on a guest's memory\n");
        /* inside the accessible size, only a jailed page can fault */
        zv_eng_trap(a - (uintptr_t)mem->base < mem->size_bytes ? ZV_TRAP_JAILED
                                                                : ZV_TRAP_MEMORY_OOB,
                    0);
    }
    chain(sig, si, uc, sig == SIGBUS ? &prev_bus : &prev_segv);
}

/* Generated code's text ranges: [lo, hi) pairs, 0 = free entry. */
#define MAX_CODE 4096
static _Atomic(uintptr_t) code_lo[MAX_CODE], code_hi[MAX_CODE];

int zv_eng_code_register(uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < MAX_CODE; i++) {
        uintptr_t expect = 0;
        if (atomic_compare_exchange_strong(&code_lo[i], &expect, lo)) {
            atomic_store(&code_hi[i], hi);
            return 0;
        }
    }
    return -ENOMEM;
}

void zv_eng_code_unregister(uintptr_t lo)
{
    for (int i = 0; i < MAX_CODE; i++) {
        uintptr_t expect = lo;
        if (atomic_load(&code_lo[i]) == lo) {
            atomic_store(&code_hi[i], 0);
            atomic_compare_exchange_strong(&code_lo[i], &expect, 0);
            return;
        }
    }
}

static int in_generated_code(uintptr_t pc)
{
    for (int i = 0; i < MAX_CODE; i++) {
        uintptr_t lo = atomic_load_explicit(&code_lo[i], memory_order_relaxed);
        if (lo && pc >= lo && pc < atomic_load_explicit(&code_hi[i], memory_order_relaxed))
            return 1;
    }
    return 0;
}

/* An interrupt raises the instance's flag and its stack limit past any
 * stack pointer, so the next function entry's one check (rt_ops.h
 * ZV_ENTER; a function that calls the host has one: translate_entry.c) fails and its slow path reads the flag: one compare a call
 * instead of two (zv_eng_guarded sets the limit back for each call). */
static void raise_interrupt(zv_ctx *ctx)
{
    ctx->interrupt = 1;
    ctx->stack_limit = ZV_STACK_LIMIT_INTERRUPTED;
}

/* The interrupt signal: loops have no polls, so a watchdog signals the
 * thread. If the signal is for this thread's current run, it marks the run
 * and raises the running instance's flag; then, if the thread is inside
 * generated code, nothing there holds a lock or a half-made host
 * structure, and the guest unwinds at once. Anywhere else (a host call,
 * libc, instantiation before the start function) the signal only
 * returns, and the poll at the next function entry that has one (every
 * function that calls the host) stops the guest
 * (zv_eng_call raises the flag of a run marked before it began). The
 * program counter comes from the signal's machine context: REG_RIP is
 * x86-64 Linux (glibc). */
static void on_interrupt(int sig, siginfo_t *si, void *ucv)
{
    uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    if (si->si_code != SI_QUEUE || !(v & EPOCH_MARK)) {
        chain(sig, si, ucv, &prev_urg);
        return;
    }
    if ((v & ~EPOCH_MARK) != tl_epoch)
        return; /* meant for a run that has ended */
    tl_pending = 1;
    if (tl_ctx)
        raise_interrupt(tl_ctx);
    if (tl_frame && tl_ctx && in_generated_code(pc_of(ucv)))
        zv_eng_trap(ZV_TRAP_TIMEOUT, 0);
}

uint64_t zv_eng_run_begin(void)
{
    tl_pending = 0;
    return ++tl_epoch;
}

void zv_eng_run_end(void)
{
    ++tl_epoch; /* a late signal for the run that ended now misses */
    tl_pending = 0;
}

int zv_eng_interrupt(pthread_t thread, uint64_t epoch)
{
    union sigval v;
    v.sival_ptr = (void *)(uintptr_t)(epoch | EPOCH_MARK);
    return -pthread_sigqueue(thread, ZV_ENG_INTERRUPT_SIGNAL, v);
}

static pthread_once_t signals_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t signals_lock = PTHREAD_MUTEX_INITIALIZER;

/* Make `handler` sig's handler unless it is already, keeping the one it
 * replaces for chain(): if someone installed theirs after zvm's (a fuzzer,
 * an embedder that does not chain), zvm's goes back on top of it. */
static void install_one(int sig, void (*handler)(int, siginfo_t *, void *), int flags,
                        struct sigaction *prev)
{
    struct sigaction sa, cur;
    if (sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
        cur.sa_sigaction == handler)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, prev);
}

static void install(void)
{
    pthread_mutex_lock(&signals_lock);
    install_one(SIGSEGV, on_fault, SA_SIGINFO | SA_ONSTACK | SA_NODEFER, &prev_segv);
    install_one(SIGBUS, on_fault, SA_SIGINFO | SA_ONSTACK | SA_NODEFER, &prev_bus);
    install_one(ZV_ENG_INTERRUPT_SIGNAL, on_interrupt,
                SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART, &prev_urg);
    pthread_mutex_unlock(&signals_lock);
}

/* Once, on the call path; thread set-ups check again (zv_eng_thread_init). */
static void zv_eng_signals_init(void) { pthread_once(&signals_once, install); }

/* A thread's signal stack goes with the thread (zvm job starts a thread
 * per instance: they must not pile up). */
static pthread_key_t altstack_key;
static pthread_once_t altstack_once = PTHREAD_ONCE_INIT;

static void altstack_free(void *mem)
{
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(mem, ALTSTACK_BYTES);
}

static void altstack_key_new(void) { pthread_key_create(&altstack_key, altstack_free); }

/* The alternate signal stack of this thread, made once. */
static int ensure_altstack(void)
{
    stack_t ss;
    if (tl_altstack)
        return 0;
    pthread_once(&altstack_once, altstack_key_new);
    tl_altstack = mmap(NULL, ALTSTACK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (tl_altstack == MAP_FAILED) {
        tl_altstack = NULL;
        return -ENOMEM;
    }
    pthread_setspecific(altstack_key, tl_altstack);
    ss.ss_sp = tl_altstack;
    ss.ss_size = ALTSTACK_BYTES;
    ss.ss_flags = 0;
    return sigaltstack(&ss, NULL) < 0 ? -errno : 0;
}

int zv_eng_guarded(zv_ctx *ctx, uintptr_t guard_lo, uintptr_t guard_hi, int (*body)(void *),
                   void *arg, zv_eng_err *err)
{
    zv_eng_trap_frame fr;
    uintptr_t prev_lo = tl_guard_lo, prev_hi = tl_guard_hi;
    zv_ctx *prev_ctx;
    uintptr_t prev_seg;
    int rc;
    zv_eng_signals_init();
    if ((rc = ensure_altstack()))
        return rc;
    prev_ctx = tl_ctx;
    if (guard_hi) /* another stack: an instance's fiber */
        tl_guard_lo = guard_lo, tl_guard_hi = guard_hi;
    fr.prev = tl_frame;
    fr.cause = 0;
    fr.exit_code = 0;
    fr.own = (zv_eh_state){0};
    fr.eh = &fr.own;
    tl_frame = &fr;
    tl_ctx = ctx;
    /* the stack the guest runs on, for its functions' entry check (ZV_ENTER) */
    ctx->stack_limit = tl_guard_hi ? tl_guard_hi + HOST_HEADROOM : 0;
    /* the flag is this run's: raised if the run was interrupted before
     * this call began, lowered if an earlier run's timeout left it up */
    ctx->interrupt = 0;
    atomic_signal_fence(memory_order_seq_cst); /* a signal from here on raises them again */
    if (tl_pending)
        raise_interrupt(ctx);
    prev_seg = zv_eng_seg_enter(ctx->mem);
    if (sigsetjmp(fr.jb, 0) == 0) {
        rc = body(arg);
        zv_eng_seg_leave(prev_seg);
        eh_release(&fr.own);
        tl_frame = fr.prev;
        tl_ctx = prev_ctx;
        tl_guard_lo = prev_lo, tl_guard_hi = prev_hi;
        return rc;
    }
    /* through tl_frame, which is &fr: the run changed fr.own after sigsetjmp */
    zv_eng_seg_leave(prev_seg);
    eh_release(&tl_frame->own);
    tl_frame = fr.prev;
    tl_ctx = prev_ctx;
    tl_guard_lo = prev_lo, tl_guard_hi = prev_hi;
    err->trap = fr.cause;
    err->exit_code = fr.exit_code;
    /* strcpy, not snprintf: proc_exit ends every WASI program this way, so
     * this is on the per-instance path (the names are short constants) */
    strcpy(err->msg, zv_eng_trap_name(fr.cause));
    return -EFAULT;
}

struct plain_call {
    const zv_module_desc *desc;
    zv_func *f;
    uint32_t type_idx;
    const zv_value *args;
    zv_value *results;
};

static int plain_call(void *p)
{
    struct plain_call *c = p;
    c->desc->trampolines[c->type_idx](c->f->ctx, c->f->fn, c->args, c->results);
    return 0;
}

int zv_eng_call(zv_eng_instance *inst, zv_func *f, uint32_t type_idx, const zv_value *args,
                zv_value *results, zv_eng_err *err)
{
    struct plain_call c = {inst->mod->desc, f, type_idx, args, results};
    return zv_eng_guarded(f->ctx, 0, 0, plain_call, &c, err);
}

int zv_eng_thread_init(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size, guard = 0;
    zv_eng_signals_init();
    install(); /* still zvm's? (a handler installed since may have replaced it) */
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return -EINVAL;
    pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_getguardsize(&attr, &guard);
    pthread_attr_destroy(&attr);
    if (guard < 4096)
        guard = 4096;
    /* glibc puts a thread's guard right below its usable stack */
    tl_guard_lo = (uintptr_t)lo - guard;
    tl_guard_hi = (uintptr_t)lo;
    return ensure_altstack();
}

/* The guest stack on the calling thread (a context switch: no thread to
 * create, join and unmap; perf/startup.sh measured 100 us of a 1.6 ms
 * `zvm run`). Sanitizer builds keep a thread: ASan does not follow
 * makecontext's stacks. */
#if defined(__SANITIZE_ADDRESS__)
#define ZV_GUEST_ON_CALLER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZV_GUEST_ON_CALLER 0
#endif
#endif
#ifndef ZV_GUEST_ON_CALLER
#define ZV_GUEST_ON_CALLER 1
#endif

struct guest_thread {
    int (*fn)(void *);
    void *arg;
    uintptr_t guard_lo, guard_hi;
    int result;
};

#if !ZV_GUEST_ON_CALLER
static void *guest_main(void *p)
{
    struct guest_thread *g = p;
    tl_guard_lo = g->guard_lo;
    tl_guard_hi = g->guard_hi;
    g->result = g->fn(g->arg);
    return NULL;
}
#endif

#if ZV_GUEST_ON_CALLER
static _Thread_local struct guest_thread *tl_guest;

static void guest_entry(void)
{
    struct guest_thread *g = tl_guest;
    g->result = g->fn(g->arg);
}

static int run_here(struct guest_thread *g, uint8_t *stack, size_t stack_bytes)
{
    ucontext_t here, guest;
    uintptr_t lo = tl_guard_lo, hi = tl_guard_hi;
    struct guest_thread *outer = tl_guest;
    int rc;
    if ((rc = ensure_altstack()))
        return -rc;
    if (getcontext(&guest) < 0)
        return errno;
    guest.uc_stack.ss_sp = stack;
    guest.uc_stack.ss_size = stack_bytes;
    guest.uc_link = &here;
    makecontext(&guest, guest_entry, 0);
    tl_guest = g;
    tl_guard_lo = g->guard_lo;
    tl_guard_hi = g->guard_hi;
    rc = swapcontext(&here, &guest) < 0 ? errno : 0;
    tl_guard_lo = lo, tl_guard_hi = hi;
    tl_guest = outer;
    return rc;
}
#endif

int zv_eng_run_guest_thread(int (*fn)(void *), void *arg, size_t stack_bytes)
{
    struct guest_thread g = {fn, arg, 0, 0, 0};
    pthread_attr_t attr;
    pthread_t th;
    uint8_t *mem;
    int rc;
    zv_eng_signals_init();
    mem = mmap(NULL, stack_bytes + GUARD_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    if (mprotect(mem + GUARD_BYTES, stack_bytes, PROT_READ | PROT_WRITE) < 0) {
        munmap(mem, stack_bytes + GUARD_BYTES);
        return -ENOMEM;
    }
    g.guard_lo = (uintptr_t)mem;
    g.guard_hi = (uintptr_t)mem + GUARD_BYTES;
#if ZV_GUEST_ON_CALLER
    rc = run_here(&g, mem + GUARD_BYTES, stack_bytes);
    (void)attr, (void)th;
#else
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, mem + GUARD_BYTES, stack_bytes);
    rc = pthread_create(&th, &attr, guest_main, &g);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        pthread_join(th, NULL);
#endif
    munmap(mem, stack_bytes + GUARD_BYTES);
    return rc ? -rc : g.result;
}
