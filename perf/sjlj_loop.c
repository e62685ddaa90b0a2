/*
 * sjlj_loop.c — setjmp/longjmp in a loop, for perf/bench_sjlj.sh: N rounds
 * of one of two shapes, built natively (gcc -O2) and by zvm-cc (-O2):
 *   flat: one function's loop, setjmp then a call that longjmps back (the
 *         setjmps of one call: clang's runtime keeps one table for them);
 *   call: a call per round to a function that setjmps and calls one that
 *         longjmps (Lua's pcall and error: a table per call).
 * Prints the rounds that landed, so that no build can drop the work. The
 * timing is the script's, from outside: a guest's clock is virtual.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf flat_buf;

__attribute__((noinline)) static void jump(jmp_buf b, int v) { longjmp(b, v); }

__attribute__((noinline)) static int protected_call(long i)
{
    jmp_buf b;
    if (setjmp(b) == 0) {
        jump(b, (int)(i & 7) + 1);
        return 0;
    }
    return 1;
}

/* The counters need no volatile (gcc's -Wclobbered notwithstanding): C
 * leaves indeterminate only the locals changed between a setjmp and its
 * longjmp, and these change after the landing, before the next setjmp. */
__attribute__((noinline)) static long flat(long n)
{
    long landed = 0;
    for (long i = 0; i < n; i++) {
        if (setjmp(flat_buf) == 0)
            jump(flat_buf, 1);
        landed++;
    }
    return landed;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 100000;
    long landed = 0;
    if (argc > 1 && !strcmp(argv[1], "call")) {
        for (long i = 0; i < n; i++)
            landed += protected_call(i);
    } else {
        landed = flat(n);
    }
    printf("%ld\n", landed);
    return 0;
}
