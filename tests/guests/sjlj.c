/*
 * sjlj.c — setjmp and longjmp, case by case; tests/e2e/sjlj.sh checks that
 * zvm's output (built with zvm-cc: the exception handling instructions
 * and libzvm-guest.a) is the native gcc build's, byte for byte. Only
 * behaviour C defines is printed: volatile locals, or locals not changed
 * since their setjmp.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf top;

/* 1. the first return is 0, a longjmp's is its value, and 0 becomes 1 */
static void values(void)
{
    jmp_buf b;
    volatile int round = 0;
    int r = setjmp(b);
    printf("values: round %d got %d\n", round, r);
    if (round < 3) {
        round++;
        longjmp(b, round == 3 ? 0 : round * 10);
    }
}

/* 2. two setjmps in one function: the inner one's handler jumps to the outer */
static void nested(void)
{
    jmp_buf outer, inner;
    volatile int trace = 0;
    int r = setjmp(outer);
    if (r == 0) {
        trace = trace * 10 + 1;
        if (setjmp(inner) == 0) {
            trace = trace * 10 + 2;
            longjmp(inner, 5);
        } else {
            trace = trace * 10 + 3;
            longjmp(outer, 7);
        }
    }
    printf("nested: got %d, trace %d\n", r, trace);
}

/* 3. out of deep recursion, through frames with setjmps of their own */
static int deep(int n, jmp_buf *to)
{
    jmp_buf mine;
    if (setjmp(mine))
        return -1; /* never: nobody jumps to this one */
    if (n == 0)
        longjmp(*to, 1000);
    return deep(n - 1, to) + 1;
}

static void recursion(void)
{
    jmp_buf b;
    int r = setjmp(b);
    if (r == 0)
        printf("recursion: returned %d\n", deep(1000, &b));
    else
        printf("recursion: got %d from 1000 calls down\n", r);
}

/* 4. volatile locals keep what they were set to after the setjmp */
static void locals(void)
{
    jmp_buf b;
    volatile int v = 1;
    volatile double d = 0.5;
    int kept = 42; /* never changed after the setjmp: defined too */
    char *volatile p = NULL;
    if (setjmp(b) == 0) {
        v = 2;
        d *= 3;
        p = malloc(8);
        strcpy(p, "heap");
        longjmp(b, 1);
    }
    printf("locals: v %d d %.2f kept %d p %s\n", v, d, kept, p);
    free(p);
}

/* 5. re-entry: the same jmp_buf, jumped to again and again */
static void reentry(void)
{
    jmp_buf b;
    volatile int n = 0;
    int r = setjmp(b);
    n++;
    if (r < 5)
        longjmp(b, r + 1);
    printf("reentry: %d entries, last %d\n", n, r);
}

/* 6. from a callback, through a function pointer and through libc's qsort */
static jmp_buf cb_buf;
static int cb_calls;
static void cb_throw(int x) { longjmp(cb_buf, x); }
static void cb_keep(int x) { cb_calls += x; }
static int cmp_then_jump(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (++cb_calls == 5)
        longjmp(cb_buf, 99);
    return (x > y) - (x < y);
}

static void callbacks(void)
{
    void (*fns[])(int) = {cb_keep, cb_keep, cb_throw, cb_keep};
    int v[] = {5, 3, 9, 1, 7, 2, 8, 6, 4, 0};
    volatile int i = 0;
    int r;
    if ((r = setjmp(cb_buf)) == 0)
        for (; i < 4; i++)
            fns[i](i + 1);
    printf("callbacks: pointer got %d at %d, calls %d\n", r, i, cb_calls);
    cb_calls = 0;
    if ((r = setjmp(cb_buf)) == 0)
        qsort(v, 10, sizeof v[0], cmp_then_jump);
    printf("callbacks: qsort got %d after %d compares\n", r, cb_calls);
}

/* 7. many setjmps in one call: distinct buffers, then jumps to some */
static void many(void)
{
    enum { N = 20000 };
    jmp_buf *bufs = malloc(N * sizeof *bufs);
    volatile long sum = 0;
    volatile int i;
    for (i = 0; i < N; i++) {
        int r = setjmp(bufs[i]);
        if (r) {
            sum += r;
            break;
        }
    }
    if (sum == 0)
        longjmp(bufs[N / 2], 3); /* to the middle one: the loop ends there */
    printf("many: sum %ld, i %d\n", sum, i);
    /* the same buffer, 100000 times in one call */
    for (i = 0; i < 100000; i++)
        if (setjmp(bufs[0]) == 0)
            longjmp(bufs[0], 1);
        else
            sum++;
    printf("many: sum %ld\n", sum);
    free(bufs);
}

/* 8. a stack of handlers, as Lua's pcall keeps them */
struct handler {
    jmp_buf b;
    struct handler *prev;
};
static struct handler *handlers;

static void raise_error(int code)
{
    if (!handlers) {
        printf("unprotected error %d\n", code);
        exit(1);
    }
    longjmp(handlers->b, code);
}

static int pcall(void (*f)(int), int arg)
{
    struct handler h;
    int r;
    h.prev = handlers;
    handlers = &h;
    r = setjmp(h.b);
    if (r == 0)
        f(arg);
    handlers = h.prev;
    return r;
}

static void fail_at(int depth)
{
    if (depth == 0)
        raise_error(404);
    printf("pcall: inner got %d\n", pcall(fail_at, depth - 1));
    if (depth == 2)
        raise_error(500 + depth);
}

static void protected_calls(void)
{
    printf("pcall: outer got %d\n", pcall(fail_at, 3));
    printf("pcall: ok got %d\n", pcall(cb_keep, 1));
}

/* 9. 10,000 calls deep, a setjmp in each: the bottom jumps to the top,
 * then every level jumps to its caller's */
static int chain(int n, jmp_buf *up)
{
    jmp_buf here;
    int r = setjmp(here);
    if (r)
        return r + 1; /* from below: one more level */
    if (n == 0)
        longjmp(*up, 1);
    longjmp(*up, chain(n - 1, &here));
}

static void ten_thousand(void)
{
    jmp_buf b;
    int r = setjmp(b);
    if (r == 0)
        chain(10000, &b);
    printf("ten thousand: got %d from the top\n", r);
    if ((r = setjmp(b)) == 0)
        deep(10000, &b);
    printf("ten thousand: got %d from the bottom\n", r);
}

/* 10. a jmp_buf on the heap and in a struct, a switch on setjmp */
static void heap_and_switch(void)
{
    struct {
        int tag;
        jmp_buf b;
    } *s = malloc(sizeof *s);
    volatile int seen = 0;
    switch (setjmp(s->b)) {
    case 0:
        seen |= 1;
        longjmp(s->b, 2);
    case 2:
        seen |= 2;
        longjmp(s->b, 3);
    default:
        seen |= 4;
    }
    printf("heap: seen %d\n", seen);
    free(s);
}

/* `sjlj spin`: setjmp and longjmp forever (zvm run --timeout must stop
 * it); `sjlj stray`: a longjmp to a jmp_buf no setjmp filled (zvm: an
 * uncaught exception, a trap) */
static int special(const char *mode)
{
    static jmp_buf b, never;
    volatile unsigned long n = 0;
    if (!strcmp(mode, "spin"))
        for (;;) {
            if (setjmp(b) == 0)
                longjmp(b, 1);
            n++;
        }
    if (!strcmp(mode, "stray"))
        longjmp(never, 1);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return special(argv[1]);
    values();
    nested();
    recursion();
    locals();
    reentry();
    callbacks();
    many();
    protected_calls();
    ten_thousand();
    heap_and_switch();
    if (setjmp(top) == 0)
        longjmp(top, 12);
    printf("done\n");
    return 0;
}
