/*
 * backend_cc.c — the compile backend: the system C compiler turns the
 * translator's C into a shared object. gcc -O2 is the default; the flags
 * keep IEEE semantics exact (-frounding-math, -fsignaling-nans, no
 * contraction into FMA), keep recursion real so that a runaway guest hits
 * the stack guard (-fno-optimize-sibling-calls), and make every large frame
 * probe its pages so that it cannot jump over the guard
 * (-fstack-clash-protection). The compiler runs bounded (see the nanny
 * below): a module that would take more is "too large to compile".
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CC_FLAGS                                                                                   \
    "-std=gnu11", "-fPIC", "-shared", "-fvisibility=hidden", "-fno-strict-aliasing",               \
        "-frounding-math", "-fsignaling-nans", "-ffp-contract=off", "-fno-math-errno",             \
        "-fno-optimize-sibling-calls", "-fstack-clash-protection", "-w",                          \
        "-Werror=implicit-function-declaration"

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

/* A limit from the environment, else the default. */
static rlim_t env_limit(const char *name, rlim_t dflt)
{
    const char *v = getenv(name);
    char *end;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    return v && *v && !*end && n ? (rlim_t)n : dflt;
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

int zv_eng_cc_compile(const char *cc, int opt_level, const char *c_path, const char *so_path,
                      zv_eng_err *err)
{
    char opt[8], log_path[4400], first[300];
    char *argv[] = {(char *)cc, opt, CC_FLAGS, "-o", (char *)so_path, (char *)c_path, "-lm", NULL};
    pid_t pid, me = getpid();
    int status, log_fd, code;
    rlim_t cpu_s = env_limit("ZVM_CC_CPU_SECONDS", ZV_ENG_CC_CPU_SECONDS);
    rlim_t mem_bytes = env_limit("ZVM_CC_MEMORY_MB", ZV_ENG_CC_MEMORY_MB) << 20;

    snprintf(opt, sizeof opt, "-O%d", opt_level);
    snprintf(log_path, sizeof log_path, "%s.log", so_path);
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write %s: %s", log_path, strerror(errno));
        return -errno;
    }
    if ((pid = fork()) == 0)
        nanny(me, argv, log_fd, cpu_s, mem_bytes);
    close(log_fd);
    if (pid < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot run the C compiler '%s': %s", cc,
                 strerror(errno));
        unlink(log_path);
        return -errno;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 122;
    first_error(log_path, first, sizeof first);
    unlink(log_path);
    if (code == 0)
        return 0;
    /* past a limit, cc1 is killed (SIGXCPU, or ENOMEM) and gcc reports it */
    if (code == 123 || strstr(first, "memory exhausted") || strstr(first, "out of memory") ||
        strstr(first, "terminated program"))
        snprintf(err->msg, sizeof err->msg, "too large to compile: the C compiler went over its "
                 "limits (%llu s of CPU, %llu MiB of memory) on %s", (unsigned long long)cpu_s,
                 (unsigned long long)(mem_bytes >> 20), c_path);
    else if (code == 126)
        snprintf(err->msg, sizeof err->msg, "cannot run the C compiler '%s'", cc);
    else
        snprintf(err->msg, sizeof err->msg, "the C compiler failed on %s: %s", c_path, first);
    return -EIO;
}
