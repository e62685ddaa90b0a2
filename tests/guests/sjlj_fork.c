/*
 * sjlj_fork.c — longjmp across a zvm_fork() point (tests/e2e/sjlj.sh):
 * the set-up calls setjmp, then forks inside the protected code, so every
 * record runs inside that try. A record "jump N" longjmps N times back to
 * the set-up's setjmp (through frames with setjmps of their own), "trap"
 * traps inside the try, anything else is answered. Each record must see
 * the same thing from the snapshot: the same counters and the try still
 * entered; --snapshot off runs the set-up per record and must agree.
 */
#include <zvm/guest.h>

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf setup;
static volatile int landings, forked;

static void jump_through(int depth, int value)
{
    jmp_buf own;
    if (setjmp(own))
        abort(); /* never the target */
    if (depth == 0)
        longjmp(setup, value);
    jump_through(depth - 1, value);
}

int main(void)
{
    static char line[256]; /* written after the setjmp: not a local */
    volatile int jumps = 0;
    int r = setjmp(setup);
    if (r == 0) {
        forked = zvm_fork();
    } else {
        landings++;
        printf("landed %d (forked=%d)\n", r, forked);
    }
    if (jumps == 0 && !fgets(line, sizeof line, stdin))
        line[0] = 0;
    if (!strncmp(line, "jump ", 5) && jumps < atoi(line + 5)) {
        jumps++;
        jump_through(jumps * 10, jumps);
    }
    if (!strncmp(line, "trap", 4))
        __builtin_trap();
    printf("record %.*s: %d jumps, %d landings\n", (int)strcspn(line, "\n"), line, jumps,
           landings);
    return 0;
}
