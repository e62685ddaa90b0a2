/*
 * seg.c — the linear memory's base in the GS segment register.
 *
 * On x86-64 the generated code can address linear memory through GS
 * (rt_ops.h ZV_GUEST_GET): each access is `%gs:(address)`, so no register
 * holds the base (perf/README.md "Linear memory through the GS segment").
 * The base is
 * the thread's GS base, written by each entry into generated code
 * (zv_eng_guarded) and put back when it leaves, so host code and an
 * instance run inside another's host call each see their own.
 *
 * That needs the FSGSBASE instructions in user mode (the CPU's flag and
 * Linux 5.9 or later, which says so in AT_HWCAP2); without them the build
 * keeps a base register (a syscall per entry would cost more than it
 * saves). glibc on x86-64 keeps its thread pointer in FS and never uses
 * GS. ZVM_SEG=0 turns it off, for measuring.
 *
 * gcc 12 drops the segment prefix of an access at a constant address of
 * 2 GiB or more when it picks the one x86-64 form with a 64-bit absolute
 * address (`movabs 0x80000000,%eax`): the access would reach the host's
 * own address space. rt_ops.h hides such constants from it, and every
 * build that uses GS is disassembled (zv_eng_seg_code_safe) before the
 * cache takes it: one with such an access is built again with a base
 * register (cache.c), as is one that crashes the compiler.
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

int zv_eng_seg_on(void)
{
#if defined(__x86_64__)
    static int on = -1; /* a race only computes the same value twice */
    if (on < 0) {
        const char *v = getenv("ZVM_SEG");
        on = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) && !(v && !strcmp(v, "0"));
    }
    return on;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
uintptr_t zv_eng_seg_enter(const void *base)
{
    uintptr_t prev;
    if (!zv_eng_seg_on())
        return 0;
    /* the assembler's mnemonics: no -mfsgsbase needed for the intrinsics */
    __asm__ volatile("rdgsbase %0" : "=r"(prev));
    __asm__ volatile("wrgsbase %0" ::"r"((uintptr_t)base) : "memory");
    return prev;
}

void zv_eng_seg_leave(uintptr_t prev)
{
    if (zv_eng_seg_on())
        __asm__ volatile("wrgsbase %0" ::"r"(prev) : "memory");
}
#else
uintptr_t zv_eng_seg_enter(const void *base)
{
    (void)base;
    return 0;
}
void zv_eng_seg_leave(uintptr_t prev) { (void)prev; }
#endif

/* Is this objdump line (AT&T syntax) a `movabs` to or from a 64-bit
 * absolute address with no segment, e.g. "movabs 0xffffff73,%eax" or
 * "movabs %eax,0x80000000"? ("movabs $0x1,%rax" is an immediate, and
 * "movabs %gs:0x...,%eax" has its segment.) */
static int bare_moffs(const char *line)
{
    const char *p = strstr(line, "movabs");
    if (!p)
        return 0;
    p += strspn(p + 6, "bwlq") + 6;
    p += strspn(p, " \t");
    if (*p == '%' && strncmp(p, "%gs:", 4)) /* a register first: the address is second */
        p = strchr(p, ',') ? strchr(p, ',') + 1 : p;
    return !strncmp(p, "0x", 2);
}

int zv_eng_seg_code_safe(const char *so_path)
{
    int fd[2], status, bare = 0;
    char *line = NULL;
    size_t cap = 0;
    FILE *f;
    pid_t pid;
    if (pipe2(fd, O_CLOEXEC) < 0)
        return 0;
    if ((pid = fork()) == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(fd[1], 1);
        if (null >= 0)
            dup2(null, 2);
        execlp("objdump", "objdump", "-d", "--no-show-raw-insn", so_path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0 || !(f = fdopen(fd[0], "r"))) {
        close(fd[0]);
        if (pid > 0)
            waitpid(pid, NULL, 0);
        return 0;
    }
    while (getline(&line, &cap, f) >= 0)
        bare |= bare_moffs(line);
    free(line);
    fclose(f);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 0;
    return !bare && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
