/*
 * backend_cc.c — the compile backend: the system C compiler turns the
 * translator's C into a shared object. gcc -O2 is the default; the flags
 * keep IEEE semantics exact (-frounding-math, -fsignaling-nans, no
 * contraction into FMA), make every large frame probe its pages so that it
 * cannot jump over the guard (-fstack-clash-protection), and call the C
 * library through the GOT, bound at load, not through PLT stubs (-fno-plt:
 * one jump less a call of memcpy, memmove, memset or memchr by the bound
 * wasi-libc routines). Calls may become jumps: those that recursion can
 * pass cannot (rt_ops.h ZV_NO_TAIL). The compiler runs bounded (see the nanny
 * below): a module that would take more is "too large to compile". A
 * large module comes as several translation units: they compile side by
 * side, each under the same bounds, and are linked at the end. gcc and
 * clang build for the host's x86-64 level (zv_eng_cc_isa, in the cache
 * key).
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <sys/platform/x86.h> /* glibc's record of the CPU's features: no cpuid */
#endif

#define CC_FLAGS                                                                                   \
    "-std=gnu11", "-fPIC", "-fvisibility=hidden", "-fno-strict-aliasing",                          \
        "-frounding-math", "-fsignaling-nans", "-ffp-contract=off", "-fno-math-errno",             \
        "-fstack-clash-protection", "-fno-plt", "-w", "-Werror=implicit-function-declaration"

/* Find `cc` on PATH (or take it as a path). */
static int find_cc(const char *cc, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (strchr(cc, '/')) {
        snprintf(out, n, "%s", cc);
        return access(out, X_OK) == 0 ? 0 : -ENOENT;
    }
    while (path && *path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, n, "%.*s/%s", (int)len, path, cc);
        if (access(out, X_OK) == 0)
            return 0;
        path = colon ? colon + 1 : NULL;
    }
    return -ENOENT;
}

int zv_eng_cc_identity(const char *cc, char *out, size_t n)
{
    char path[4096], real[4096];
    struct stat st;
    int rc = find_cc(cc, path, sizeof path);
    if (rc)
        return rc;
    if (!realpath(path, real) || stat(real, &st) < 0)
        return -errno;
    snprintf(out, n, "%s:%lld:%lld", real, (long long)st.st_size, (long long)st.st_mtime);
    return 0;
}

/* The compiler runs under a nanny: a child in its own process group that
 * dies with zvm (PR_SET_PDEATHSIG) and then kills the whole group, so no
 * cc1 outlives a killed zvm; the compiler itself runs with limits on CPU
 * time and address space, so no module can take the machine. */
static void nanny_exit(int sig)
{
    (void)sig;
    kill(0, SIGKILL); /* the group: the compiler, its cc1, as, ld, and the nanny */
}

static void limit(int what, rlim_t n)
{
    struct rlimit r = {n, n};
    setrlimit(what, &r);
}

/* The host's x86-64 micro-architecture level (psABI): every feature of
 * the level must be there. */
const char *zv_eng_host_isa(void)
{
#if defined(__x86_64__)
    int v2 = CPU_FEATURE_ACTIVE(CMPXCHG16B) && CPU_FEATURE_ACTIVE(LAHF64_SAHF64) &&
             CPU_FEATURE_ACTIVE(POPCNT) && CPU_FEATURE_ACTIVE(SSE3) &&
             CPU_FEATURE_ACTIVE(SSE4_1) && CPU_FEATURE_ACTIVE(SSE4_2) && CPU_FEATURE_ACTIVE(SSSE3);
    int v3 = v2 && CPU_FEATURE_ACTIVE(AVX) && CPU_FEATURE_ACTIVE(AVX2) &&
             CPU_FEATURE_ACTIVE(BMI1) && CPU_FEATURE_ACTIVE(BMI2) && CPU_FEATURE_ACTIVE(F16C) &&
             CPU_FEATURE_ACTIVE(FMA) && CPU_FEATURE_ACTIVE(LZCNT) && CPU_FEATURE_ACTIVE(MOVBE) &&
             CPU_FEATURE_ACTIVE(OSXSAVE);
    return v3 ? "x86-64-v3" : v2 ? "x86-64-v2" : "x86-64";
#else
    return NULL;
#endif
}

const char *zv_eng_cc_isa(void)
{
    const char *v = getenv("ZVM_CC_ISA");
    if (v && (!strcmp(v, "x86-64") || !strcmp(v, "x86-64-v2") || !strcmp(v, "x86-64-v3")))
        return v;
    return zv_eng_host_isa();
}

unsigned long long zv_eng_env_number(const char *name, unsigned long long dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    return v && *v && !*end && n ? n : dflt;
}

int zv_eng_cc_env_check(zv_eng_err *err)
{
    static const char *const numbers[] = {"ZVM_CC_CPU_SECONDS", "ZVM_CC_MEMORY_MB",
                                          "ZVM_CC_UNIT_BYTES", NULL};
    const char *v = getenv("ZVM_CC_ISA");
    if (v && *v && strcmp(v, "x86-64") && strcmp(v, "x86-64-v2") && strcmp(v, "x86-64-v3")) {
        snprintf(err->msg, sizeof err->msg, "ZVM_CC_ISA=%s: one of x86-64, x86-64-v2, x86-64-v3 "
                 "(see zvm help environment)", v);
        return -EINVAL;
    }
    for (int i = 0; numbers[i]; i++)
        if ((v = getenv(numbers[i])) && *v &&
            (strspn(v, "0123456789") != strlen(v) || !zv_eng_env_number(numbers[i], 0))) {
            snprintf(err->msg, sizeof err->msg, "%s=%s: not a positive number (see zvm help "
                     "environment)", numbers[i], v);
            return -EINVAL;
        }
    return 0;
}

void zv_eng_cc_limits(unsigned long long *cpu_s, unsigned long long *mem_mb)
{
    *cpu_s = zv_eng_env_number("ZVM_CC_CPU_SECONDS", ZV_ENG_CC_CPU_SECONDS);
    *mem_mb = zv_eng_env_number("ZVM_CC_MEMORY_MB", ZV_ENG_CC_MEMORY_MB);
}

/* In the forked child: never returns (getenv was read before the fork). */
static void nanny(pid_t zvm, char *const argv[], int log_fd, rlim_t cpu_s, rlim_t mem_bytes)
{
    pid_t pid;
    int status;
    setpgid(0, 0);
    signal(SIGTERM, nanny_exit);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != zvm) /* zvm died before the line above */
        _exit(127);
    if ((pid = fork()) == 0) {
        dup2(log_fd, 2);
        limit(RLIMIT_CPU, cpu_s);
        limit(RLIMIT_AS, mem_bytes);
        limit(RLIMIT_FSIZE, mem_bytes);
        execvp(argv[0], argv);
        _exit(126);
    }
    while (pid > 0 && waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            _exit(125);
    if (pid < 0)
        _exit(124);
    if (WIFSIGNALED(status))
        _exit(WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL ? 123 : 122);
    _exit(WEXITSTATUS(status));
}

/* The first line of the log that says "error", for the message. */
static void first_error(const char *log_path, char *out, size_t n)
{
    FILE *f = fopen(log_path, "r");
    char line[300];
    out[0] = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "error") || strstr(line, "memory exhausted") ||
            strstr(line, "terminated program")) {
            snprintf(out, n, "%s", line);
            break;
        }
    if (f)
        fclose(f);
    out[strcspn(out, "\n")] = 0;
}

#define MAX_HEAD 24 /* the compiler, -O, -march, CC_FLAGS, branch alignment, cost model, cselim,
                     * goto duplication, inlining */

/* One compiler process under its nanny: started, then finished. */
typedef struct {
    pid_t pid;
    char log[4400];
    const char *input; /* for messages */
} cc_job;

static int cc_start(cc_job *j, char *const argv[], const char *input, rlim_t cpu_s,
                    rlim_t mem_bytes, zv_eng_err *err)
{
    pid_t me = getpid();
    int log_fd;
    j->input = input;
    snprintf(j->log, sizeof j->log, "%s.log", input);
    log_fd = open(j->log, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", j->log, strerror(errno));
        return -errno;
    }
    if ((j->pid = fork()) == 0)
        nanny(me, argv, log_fd, cpu_s, mem_bytes);
    close(log_fd);
    if (j->pid < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot run the C compiler '%s': %s", argv[0],
                 strerror(errno));
        unlink(j->log);
        return -errno;
    }
    return 0;
}

/* The nanny's exit status (a failure if it cannot be had). */
static int cc_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 1 << 8;
    return status;
}

/* The job's end as the nanny reported it in `status`: 0, or with the cause
 * in err->msg -E2BIG (past the limits) or -EIO (anything else). */
static int cc_finish(cc_job *j, int status, const char *cc, rlim_t cpu_s, rlim_t mem_bytes,
                     zv_eng_err *err)
{
    char first[300];
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 122;
    first_error(j->log, first, sizeof first);
    unlink(j->log);
    if (code == 0)
        return 0;
    /* past a limit, cc1 is killed (SIGXCPU, or ENOMEM) and gcc reports it */
    if (code == 123 || strstr(first, "memory exhausted") || strstr(first, "out of memory") ||
        strstr(first, "terminated program")) {
        snprintf(err->msg, sizeof err->msg, "too large to compile: the C compiler went over its "
                 "limits (%llu s of CPU, %llu MiB of memory) on %s", (unsigned long long)cpu_s,
                 (unsigned long long)(mem_bytes >> 20), j->input);
        return -E2BIG;
    }
    if (code == 126)
        snprintf(err->msg, sizeof err->msg, "cannot run the C compiler '%s'", cc);
    else
        snprintf(err->msg, sizeof err->msg, "the C compiler failed on %s: %s", j->input, first);
    return -EIO;
}

/* Compiles at once: the CPUs zvm may use, and no more than the available
 * memory holds at every compile's limit, so a build never needs more
 * memory than the machine has. */
static unsigned cc_jobs(unsigned units, rlim_t mem_bytes)
{
    cpu_set_t set;
    unsigned cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
    unsigned long long avail_kb = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned fit;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &avail_kb) == 1)
            break;
    if (f)
        fclose(f);
    fit = avail_kb ? (unsigned)((avail_kb << 10) / mem_bytes) : 1;
    cpus = cpus < fit ? cpus : fit;
    cpus = cpus < units ? cpus : units;
    return cpus ? cpus : 1;
}

/* Runs the compiles of units [0, n), at most `jobs` at a time, waiting
 * for them in the order they started (only for our own children: the
 * process embedding libzvm may have others); the first failure stops the
 * rest. */
static int cc_run_units(const char *cc, char **head, unsigned n_head, char *const *c_paths,
                        char **o_paths, unsigned n, rlim_t cpu_s, rlim_t mem_bytes,
                        void (*on_unit)(void *), void *arg, zv_eng_err *err)
{
    unsigned jobs = cc_jobs(n, mem_bytes), next = 0, done = 0;
    cc_job *j = calloc(n, sizeof *j);
    int rc = j ? 0 : -ENOMEM, status;
    while (rc == 0 && done < n) {
        if (next < n && next - done < jobs) {
            char *argv[MAX_HEAD + 5] = {0}, *tail[] = {"-c", "-o", o_paths[next], c_paths[next]};
            memcpy(argv, head, n_head * sizeof *argv);
            memcpy(argv + n_head, tail, sizeof tail);
            if ((rc = cc_start(&j[next], argv, c_paths[next], cpu_s, mem_bytes, err)) == 0)
                next++;
            continue;
        }
        status = cc_wait(j[done].pid);
        j[done].pid = 0;
        rc = cc_finish(&j[done++], status, cc, cpu_s, mem_bytes, err);
        if (rc == 0 && on_unit)
            on_unit(arg);
    }
    for (; j && done < next; done++) { /* after a failure: stop the rest */
        kill(j[done].pid, SIGTERM);
        cc_wait(j[done].pid);
        unlink(j[done].log);
    }
    free(j);
    return rc;
}

/* The compiler, the level, the ISA and the flags every compile shares. */
static unsigned cc_head(char **head, const char *cc, char *opt, char *march)
{
    char *flags[] = {CC_FLAGS};
    unsigned n = 0;
    head[n++] = (char *)cc;
    head[n++] = opt;
    if (march[0])
        head[n++] = march;
    for (size_t k = 0; k < sizeof flags / sizeof *flags; k++)
        head[n++] = flags[k];
    return n;
}

int zv_eng_cc_is_tcc(const char *cc)
{
    const char *base = strrchr(cc, '/');
    return !strcmp(base ? base + 1 : cc, "tcc");
}

int zv_eng_cc_build(const char *cc, int opt_level, char *const *c_paths, unsigned n,
                    const char *so_path, void (*on_unit)(void *arg), void *arg,
                    zv_eng_err *err)
{
    char opt[8], march[32] = "", *head[MAX_HEAD];
    const char *isa = zv_eng_cc_isa();
    unsigned long long cpu_limit, mem_mb;
    char **argv = calloc(n + MAX_HEAD + 8, sizeof *argv), **o_paths = calloc(n, sizeof *o_paths);
    int rc = argv && o_paths ? 0 : -ENOMEM;
    unsigned n_head, a;
    rlim_t cpu_s, mem_bytes;

    zv_eng_cc_limits(&cpu_limit, &mem_mb);
    cpu_s = (rlim_t)cpu_limit;
    mem_bytes = (rlim_t)mem_mb << 20;
    snprintf(opt, sizeof opt, "-O%d", opt_level);
    /* gcc and clang make code for the host's ISA level (it is in the cache
     * key); tcc has one code generator */
    if (isa && !zv_eng_cc_is_tcc(cc))
        snprintf(march, sizeof march, "-march=%s", isa);
    n_head = cc_head(head, cc, opt, march);
    /* gcc: no branch crosses or ends on a 32-byte boundary. Where a hot
     * loop's branches fall decided between 1.4 and 2.4 s for matmul, from
     * build to build (perf/README.md "Branch placement") */
    if (isa && !zv_eng_cc_is_tcc(cc) && !strstr(cc, "clang"))
        head[n_head++] = "-Wa,-mbranches-within-32B-boundaries";
    /* gcc -O2 vectorizes only loops that need no run-time check; a loop's
     * fast copy (translate_loop.c) needs one for aliasing, as everything
     * is in one memory. clang's default model allows it already. */
    if (!zv_eng_cc_is_tcc(cc) && !strstr(cc, "clang"))
        head[n_head++] = "-fvect-cost-model=cheap";
    /* gcc 12's conditional store elimination makes a PHI of two __seg_gs
     * stores to one address that its forwprop pass then crashes on
     * (internal compiler error: CPython's module, a store before an `if`
     * and another inside it). Code that addresses memory through GS
     * (seg.c) is built without that pass. */
    if (zv_eng_seg_on() && !zv_eng_cc_is_tcc(cc) && !strstr(cc, "clang"))
        head[n_head++] = "-fno-tree-cselim";
    /* gcc copies a block that ends in a `goto *` into the blocks that
     * jump to it, after register allocation, if it has at most this many
     * instructions (default 8): an interpreter's dispatch
     * (translate_dispatch.c) is more, with the moves of its loop's values */
    if (!zv_eng_cc_is_tcc(cc) && !strstr(cc, "clang"))
        head[n_head++] = "--param=max-goto-duplication-insns=40";
    /* gcc -O2 inlines a function of at most 15 instructions unless its
     * source said `inline` (then 70). The guest's source said it for its
     * small helpers, but wasm does not keep the word: every function is
     * taken as inline-declared (perf/README.md "Tail calls and inlining") */
    if (!zv_eng_cc_is_tcc(cc) && !strstr(cc, "clang"))
        head[n_head++] = "--param=max-inline-insns-auto=70";
    for (unsigned k = 0; rc == 0 && n > 1 && k < n; k++)
        if (asprintf(&o_paths[k], "%s.o", c_paths[k]) < 0)
            o_paths[k] = NULL, rc = -ENOMEM;
    if (rc == 0 && n > 1)
        rc = cc_run_units(cc, head, n_head, c_paths, o_paths, n, cpu_s, mem_bytes, on_unit, arg,
                          err);
    if (rc == 0) { /* one unit: compiled and linked at once; more: linked */
        cc_job link;
        memcpy(argv, head, n_head * sizeof *argv);
        a = n_head;
        argv[a++] = "-shared";
        argv[a++] = "-o";
        argv[a++] = (char *)so_path;
        for (unsigned k = 0; k < n; k++)
            argv[a++] = n > 1 ? o_paths[k] : c_paths[k];
        argv[a++] = "-lm";
        if ((rc = cc_start(&link, argv, n > 1 ? so_path : c_paths[0], cpu_s, mem_bytes,
                           err)) == 0)
            rc = cc_finish(&link, cc_wait(link.pid), cc, cpu_s, mem_bytes, err);
        if (rc == 0 && n == 1 && on_unit)
            on_unit(arg);
    }
    for (unsigned k = 0; o_paths && k < n; k++) {
        if (o_paths[k])
            unlink(o_paths[k]);
        free(o_paths[k]);
    }
    free(o_paths);
    free(argv);
    return rc;
}
