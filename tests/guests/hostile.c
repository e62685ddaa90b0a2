/* hostile.c — misbehaving guests, one per argv[1]: each must end with its
 * named trap while the host goes on.
 *   loop       spins forever (stopped by --timeout)
 *   oob        loads far beyond the memory
 *   recurse    recurses without bound
 *   recurse-io recurses without bound, each level calling the host below
 *              two helper frames
 *   divzero    divides by zero
 *   grow       grows memory past the limit, then touches the last page
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int sink;

/* No address-taken locals, so no frame on the shadow stack in linear
 * memory: the recursion exhausts the native stack, not the memory. */
static int recurse(int n)
{
    sink++;
    return recurse(n + 1) + sink;
}

/* A recursion whose every level calls down a chain of small helpers that
 * no cycle passes (so their entries have no stack check: translate_entry.c)
 * towards a host call: the recursion still ends as exhaustion, at its own
 * check, and the host call at the deepest level runs. (The helpers' frames
 * are far smaller than the host's headroom, so this does not prove that
 * the recursion's bound counts them: test_entry does.) */
__attribute__((noinline)) static int io_leaf(int n)
{
    return (int)write(2, "", (size_t)(n & 0)); /* fd_write, of nothing */
}
__attribute__((noinline)) static int io_mid(int n) { return io_leaf(n + 1) + (int)sink; }
static int recurse_io(int n)
{
    sink += io_mid(n);
    return recurse_io(n + 1) + sink;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    if (!strcmp(what, "loop"))
        for (;;)
            sink++;
    if (!strcmp(what, "oob")) {
        volatile uint32_t addr = 0xfffffff0u;
        return *(volatile int *)(uintptr_t)addr;
    }
    if (!strcmp(what, "recurse"))
        return recurse(0);
    if (!strcmp(what, "recurse-io"))
        return recurse_io(0);
    if (!strcmp(what, "divzero")) {
        volatile int seven = 7, zero = 0; /* volatile: a real i32.div_s */
        return seven / zero;
    }
    if (!strcmp(what, "grow")) {
        /* 1 GiB in one step: past any sane --memory limit, so it fails */
        int old = __builtin_wasm_memory_grow(0, 16384);
        printf("memory.grow returned %d\n", old);
        fflush(stdout);
        volatile char *last = (volatile char *)(uintptr_t)(__builtin_wasm_memory_size(0) * 65536u);
        return last[0]; /* one byte past the end: out of bounds */
    }
    fprintf(stderr, "usage: hostile loop|oob|recurse|recurse-io|divzero|grow\n");
    return 2;
}
