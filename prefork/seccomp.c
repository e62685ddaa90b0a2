/*
 * seccomp.c — a worker's syscall filter, installed once its runner is
 * built, for defence in depth: if a guest ever escaped the sandbox into a
 * worker thread, it could only do what a worker does.
 *
 * What the per-record path and its rare branches use, and why:
 *   io_uring_enter             channel I/O (the rings themselves are
 *                              restricted to reads and writes: io/ring.c)
 *   madvise, mprotect          memory reset, memory.grow, zvm.jail
 *   process_madvise            memory reset: the grown pages of a memory's
 *                              pending windows dropped in one call
 *                              (engine/memory.c; its pidfd of this process
 *                              is opened with the first memory, before)
 *   mmap, munmap, mremap, brk  table.grow and output growth (the allocator);
 *                              a worker's first reset of a memory whose image
 *                              was mapped from its cache entry (memory.c)
 *   futex, nanosleep,          idle waits, wake-ups, the pool's eventfd
 *   clock_nanosleep, write,
 *   sched_yield
 *   clock_gettime, getcpu      vDSO fallbacks, the allocator's CPU lookup
 *   rt_sigreturn,              the watchdog's signal and guest traps; a
 *   restart_syscall            nap that a signal interrupted goes on
 *   openat, newfstatat, fstat, the pull mode's feed on a worker: the next
 *   close, read, lseek         file of a directory of records
 *   openat2, getdents64,       a record's read-only --dir (engine/host_dir.c):
 *   readlinkat                 lookups beneath the folder, listings, links
 *                              (its files open O_RDONLY; writes are refused
 *                              before any call)
 *   sysinfo                    glibc's qsort (a listing's sort, above)
 *                              asks sysconf(_SC_PHYS_PAGES) once per
 *                              process, for its first array over 1 KiB
 *   exit, rseq, sigaltstack    the worker's end (its signal stack is
 *                              switched off before it is unmapped)
 *   rt_sigprocmask, tgkill,    abort() after a host bug, so that it dumps
 *   getpid, gettid
 * Anything else kills the process (SECCOMP_RET_KILL_PROCESS): it is an
 * attack or a zvm bug, and either must stop loudly. Not installed when
 * zvm is built with a sanitizer (its runtime makes other calls) or when
 * ZVM_SECCOMP=0 (for measuring its cost: perf/README.md).
 */
#include "prefork/pool_private.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define ZV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ZV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* The sanitizers' runtimes: gcc defines __SANITIZE_ADDRESS__, clang has
 * __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define ZV_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define ZV_SANITIZED 1
#endif
#endif

#if !defined(ZV_SANITIZED) && defined(ZV_AUDIT_ARCH)
static const int allowed[] = {
    SYS_io_uring_enter, SYS_madvise,   SYS_mprotect,   SYS_mmap,          SYS_munmap,
    SYS_mremap,         SYS_brk,       SYS_futex,      SYS_nanosleep,     SYS_clock_nanosleep,
    SYS_write,          SYS_sched_yield, SYS_clock_gettime, SYS_getcpu,   SYS_rt_sigreturn,
    SYS_openat,         SYS_newfstatat, SYS_fstat,     SYS_close,         SYS_read,
    SYS_lseek,          SYS_exit,      SYS_rseq,       SYS_rt_sigprocmask, SYS_tgkill,
    SYS_getpid,         SYS_gettid,    SYS_restart_syscall, SYS_sigaltstack, SYS_openat2,
    SYS_getdents64,     SYS_readlinkat, SYS_sysinfo,  SYS_process_madvise,
};
#endif

int zv_pf_seccomp_worker(void)
{
#if defined(ZV_SANITIZED) || !defined(ZV_AUDIT_ARCH)
    return 0;
#else
    enum { N = sizeof allowed / sizeof *allowed };
    struct sock_filter f[4 + 2 * N + 1];
    struct sock_fprog prog;
    const char *env = getenv("ZVM_SECCOMP");
    size_t k = 0;
    if (env && !strcmp(env, "0"))
        return 0;
    /* a foreign architecture's calls have other numbers: kill */
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ZV_AUDIT_ARCH, 1, 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < N; i++) {
        f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed[i], 0, 1);
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    prog.len = (unsigned short)k;
    prog.filter = f;
    /* this thread only (no TSYNC): the main thread and the watchdog keep
     * their rights; no_new_privs is what lets an unprivileged thread do it */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        return -errno;
    return 0;
#endif
}
