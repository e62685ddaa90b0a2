/*
 * setjmp.h — setjmp and longjmp for zvm's guests. Debian's wasi-libc has
 * no setjmp.h (clang then finds glibc's and fails on bits/setjmp.h);
 * zvm-cc puts this one first on the path.
 *
 * The compile line does the work: with -mexception-handling -mllvm
 * -wasm-enable-sjlj (zvm-cc adds them) clang 14 turns every setjmp call
 * into saveSetjmp/getTempRet0 and every call that may longjmp into a try
 * that catches the tag __c_longjmp; zvm runs those instructions with the
 * host's own setjmp/longjmp. The runtime functions are in zvm's support
 * library, libzvm-guest.a (guest/setjmp.c), which zvm-cc links.
 *
 * jmp_buf holds the setjmp's number (saveSetjmp writes it, the catch
 * reads it back); the rest is room, so that buffers keep one size if the
 * runtime ever needs more. There is no signal mask to save: sigsetjmp
 * and siglongjmp are setjmp and longjmp.
 */
#ifndef _SETJMP_H
#define _SETJMP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct __zvm_jmp_buf {
    unsigned long __id;
    unsigned long __room[3];
} jmp_buf[1];
typedef jmp_buf sigjmp_buf;

int setjmp(jmp_buf __env) __attribute__((__returns_twice__));
_Noreturn void longjmp(jmp_buf __env, int __val);

/* clang rewrites calls of these two names only */
#define _setjmp(env) setjmp(env)
#define _longjmp(env, val) longjmp(env, val)
#define sigsetjmp(env, savemask) setjmp(env)
#define siglongjmp(env, val) longjmp(env, val)

#ifdef __cplusplus
}
#endif

#endif
