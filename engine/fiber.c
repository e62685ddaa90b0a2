/*
 * fiber.c — an instance's own stack, on which its guest can pause.
 *
 * Snapshots (zvm_fork) must keep the guest's call stack as it is at the
 * fork: the generated code's frames are native frames. So a guest that
 * may fork runs on a stack of its instance's (a fiber: 8 MiB reserved, a
 * 256 KiB guard below, pages only when touched), entered and left with a
 * context switch of a few instructions; zv_eng_fork_pause switches back
 * to the host in the middle of the guest, and zv_eng_fiber_resume
 * switches in again. Because the fiber's frames never point into the
 * host's stack (the host's side of each switch is saved in the fiber
 * object), a copy of the fiber's used stack and its saved stack pointer
 * is a complete picture of the paused guest: snapshot.c copies it out at
 * the fork and back in for each record.
 *
 * The switch saves the callee-saved registers of the System V x86-64 ABI
 * on the stack being left and loads them from the one entered (written in
 * assembly: C cannot name the stack pointer). Traps are unchanged: the
 * trap frame is on the host's stack (zv_eng_guarded), and siglongjmp from
 * the fiber lands there, abandoning the fiber. The guest's exception
 * handlers (trap.c "Exceptions") live in its frames, on the fiber: the
 * fiber keeps their chain across pauses, and a snapshot copies it. Other ISAs: no fibers yet,
 * so zvm_fork() returns 0 there and each record runs from _start.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* AddressSanitizer must be told of each switch between stacks, or it
 * takes the fiber's frames for the thread's (and its no-return handling
 * on a trap for a wild jump). gcc defines __SANITIZE_ADDRESS__, clang has
 * __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define ZV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZV_ASAN 1
#endif
#endif
#ifdef ZV_ASAN
#include <sanitizer/common_interface_defs.h>
#define ASAN_START(fake, bottom, size) __sanitizer_start_switch_fiber(fake, bottom, size)
#define ASAN_FINISH(fake, bottom, size) __sanitizer_finish_switch_fiber(fake, bottom, size)
#else
#define ASAN_START(fake, bottom, size) ((void)0)
#define ASAN_FINISH(fake, bottom, size) ((void)0)
#endif

#define FIBER_STACK (8u << 20)
#define FIBER_GUARD (256u << 10)

enum { IDLE, RUNNING, PAUSED, DONE };

struct zv_eng_fiber {
    uint8_t *map;          /* guard, then the stack */
    uintptr_t top;         /* the stack's highest address, 16-aligned */
    void *sp;              /* the fiber's stack pointer while it is not running */
    void *host_sp;         /* the host's while the fiber runs */
    int state;
    zv_ctx *ctx;
    void *fn;
    zv_trampoline tramp;
    void *host_fake, *fiber_fake; /* ASan's bookkeeping of each side, unused otherwise */
    const void *host_bottom;
    size_t host_size;
    zv_eh_state eh;    /* the guest's tries and caught exceptions, across pauses */
};

#if defined(__x86_64__)
/* zv_fiber_switch(void **save, void *load): push the callee-saved
 * registers, save the stack pointer in *save, take `load` as the stack
 * pointer, pop its registers and return into it. zv_fiber_start is where a
 * new fiber's first switch returns to: its fiber object is in r12. */
__asm__(".text\n"
        ".globl zv_fiber_switch\n"
        ".hidden zv_fiber_switch\n"
        ".type zv_fiber_switch, @function\n"
        "zv_fiber_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size zv_fiber_switch, .-zv_fiber_switch\n"
        ".type zv_fiber_start, @function\n"
        "zv_fiber_start:\n"
        "  movq %r12, %rdi\n"
        "  call zv_fiber_main\n"
        "  ud2\n"
        ".size zv_fiber_start, .-zv_fiber_start\n");
void zv_fiber_switch(void **save, void *load) __attribute__((visibility("hidden")));
void zv_fiber_start(void) __attribute__((visibility("hidden")));
void zv_fiber_main(zv_eng_fiber *f) __attribute__((visibility("hidden"), noreturn));
#define HAVE_FIBERS 1
#endif

#ifdef HAVE_FIBERS
/* The bottom of every fiber: run the guest's function, then go back. */
void zv_fiber_main(zv_eng_fiber *f)
{
    ASAN_FINISH(NULL, &f->host_bottom, &f->host_size);
    f->tramp(f->ctx, f->fn, NULL, NULL);
    f->state = DONE;
    ASAN_START(NULL, f->host_bottom, f->host_size); /* NULL: this stack is done */
    zv_fiber_switch(&f->sp, f->host_sp);
    abort(); /* a finished fiber is never switched to */
}
#endif

static int fiber_new(zv_eng_fiber **out)
{
    zv_eng_fiber *f = calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->map = mmap(NULL, FIBER_GUARD + FIBER_STACK, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (f->map == MAP_FAILED ||
        mprotect(f->map + FIBER_GUARD, FIBER_STACK, PROT_READ | PROT_WRITE) < 0) {
        if (f->map != MAP_FAILED)
            munmap(f->map, FIBER_GUARD + FIBER_STACK);
        free(f);
        return -ENOMEM;
    }
    f->top = ((uintptr_t)f->map + FIBER_GUARD + FIBER_STACK) & ~(uintptr_t)15;
    *out = f;
    return 0;
}

void zv_eng_fiber_free(zv_eng_fiber *f)
{
    if (!f)
        return;
    munmap(f->map, FIBER_GUARD + FIBER_STACK);
    zv_eng_eh_free(&f->eh);
    free(f);
}

/* Into the fiber until it pauses, finishes or traps (the caller's
 * zv_eng_guarded catches traps). */
static int enter(void *p)
{
#ifdef HAVE_FIBERS
    zv_eng_fiber *f = p;
    f->state = RUNNING;
    zv_eng_eh_bind(&f->eh); /* its tries, entered before a pause too */
    ASAN_START(&f->host_fake, f->map + FIBER_GUARD, FIBER_STACK);
    zv_fiber_switch(&f->host_sp, f->sp);
    ASAN_FINISH(f->host_fake, NULL, NULL);
    return f->state == PAUSED ? 1 : 0;
#else
    (void)p;
    return -ENOTSUP;
#endif
}

static int run(zv_eng_instance *inst, zv_eng_err *err)
{
    zv_eng_fiber *f = inst->fiber;
    int rc = zv_eng_guarded(f->ctx, (uintptr_t)f->map, (uintptr_t)f->map + FIBER_GUARD, enter, f,
                            err);
    if (rc < 0) {
        f->state = IDLE; /* trapped: the fiber's stack is abandoned */
        ASAN_START(NULL, f->host_bottom, f->host_size); /* back on the host's, by longjmp */
        ASAN_FINISH(f->host_fake, NULL, NULL);
    }
    return rc;
}

int zv_eng_fiber_call(zv_eng_instance *inst, zv_func *fn, uint32_t type_idx, zv_eng_err *err)
{
#ifdef HAVE_FIBERS
    zv_eng_fiber *f;
    uintptr_t *sp;
    int rc;
    if (!inst->fiber && (rc = fiber_new(&inst->fiber)))
        return rc;
    f = inst->fiber;
    f->ctx = fn->ctx;
    f->fn = fn->fn;
    f->eh.head = NULL; /* a new run: a trapped one's tries are gone */
    f->eh.len = 0;
    f->tramp = inst->mod->desc->trampolines[type_idx];
    /* the first switch pops six registers (r12 = the fiber) and returns
     * into zv_fiber_start, with the stack 16-aligned for its call */
    sp = (uintptr_t *)f->top - 7;
    memset(sp, 0, 7 * sizeof *sp);
    sp[3] = (uintptr_t)f;                 /* r12 (popped r15, r14, r13, r12, ...) */
    sp[6] = (uintptr_t)zv_fiber_start;    /* the return address */
    f->sp = sp;
    return run(inst, err);
#else
    (void)inst, (void)fn, (void)type_idx, (void)err;
    return -ENOTSUP;
#endif
}

int zv_eng_fiber_resume(zv_eng_instance *inst, zv_eng_err *err)
{
    if (!inst->fiber || inst->fiber->state != PAUSED)
        return -EINVAL;
    return run(inst, err);
}

int zv_eng_fork_pause(zv_ctx *caller)
{
#ifdef HAVE_FIBERS
    zv_eng_instance *inst = caller->engine;
    zv_eng_fiber *f = inst->fiber;
    uintptr_t here = (uintptr_t)&f;
    if (!f || f->state != RUNNING || here < (uintptr_t)f->map || here >= f->top)
        return 0; /* not on its fiber: nothing is forked */
    f->state = PAUSED;
    ASAN_START(&f->fiber_fake, f->host_bottom, f->host_size);
    zv_fiber_switch(&f->sp, f->host_sp);
    ASAN_FINISH(f->fiber_fake, &f->host_bottom, &f->host_size);
    return 1; /* resumed: a copy of the fork point, for one record */
#else
    (void)caller;
    return 0;
#endif
}

int zv_eng_fiber_paused(const zv_eng_instance *inst)
{
    return inst->fiber && inst->fiber->state == PAUSED;
}

/* The paused fiber's used stack: [*lo, top) and its saved pointer. */
void zv_eng_fiber_stack(const zv_eng_fiber *f, const uint8_t **lo, size_t *len, void **sp)
{
    *lo = f->sp;
    *len = f->top - (uintptr_t)f->sp;
    *sp = f->sp;
}

/* A paused stack holds the host frames' AddressSanitizer redzones, which
 * a checked copy reports as overflows: under ASan the copy is an
 * unchecked word loop (volatile, so it is not turned back into memcpy,
 * which ASan intercepts). Stacks are 16-byte aligned, so whole words. */
#ifdef ZV_ASAN
__attribute__((no_sanitize_address)) void zv_eng_fiber_copy(void *dst, const void *src, size_t n)
{
    volatile uint64_t *d = dst;
    const volatile uint64_t *s = src;
    for (size_t i = 0; i < n / 8; i++)
        d[i] = s[i];
}
#else
void zv_eng_fiber_copy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
#endif

zv_eh_state *zv_eng_fiber_eh(zv_eng_fiber *f) { return &f->eh; }

void zv_eng_fiber_restore(zv_eng_fiber *f, const uint8_t *bytes, size_t len, void *sp)
{
    zv_eng_fiber_copy(sp, bytes, len);
    f->sp = sp;
    f->state = PAUSED;
}
