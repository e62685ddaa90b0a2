/*
 * libc_jail.c — wasi-libc's memcpy and memset (bound to native code,
 * engine/libc_bind.h) on sealed pages (zvm_jail): a copy or fill into
 * them traps, as the routine's own stores would; a copy out of them
 * works. Prints "copied N" then traps in the case argv[1] names
 * ("memcpy" or "memset"), or exits 0 after the copy out ("read").
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zvm/guest.h>

static void *(*volatile cpy)(void *, const void *, size_t) = memcpy;
static void *(*volatile set)(void *, int, size_t) = memset;

static _Alignas(65536) uint8_t sealed[65536];
static uint8_t out[257]; /* and its NUL */

int main(int argc, char **argv)
{
    memset(sealed, 'z', 256);
    if (argc != 2 || zvm_jail(sealed, sizeof sealed) != 0) {
        fputs("usage: libc_jail memcpy|memset|read (and zvm_jail must work)\n", stderr);
        return 2;
    }
    cpy(out, sealed, 256);
    printf("copied %zu: %s\n", strspn((const char *)out, "z"), out[255] == 'z' ? "ok" : "wrong");
    fflush(stdout);
    if (!strcmp(argv[1], "memcpy"))
        cpy(sealed + 100, out, 16);
    else if (!strcmp(argv[1], "memset"))
        set(sealed + 100, 0, 16);
    else
        return 0;
    puts("wrote to sealed pages: no trap");
    return 1;
}
