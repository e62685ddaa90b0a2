/*
 * backend_cc.c — the compile backend: the system C compiler turns the
 * translator's C into a shared object. gcc -O2 is the default; the flags
 * keep IEEE semantics exact (-frounding-math, -fsignaling-nans, no
 * contraction into FMA), keep recursion real so that a runaway guest hits
 * the stack guard (-fno-optimize-sibling-calls), and make every large frame
 * probe its pages so that it cannot jump over the guard
 * (-fstack-clash-protection).
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

int zv_eng_cc_compile(const char *cc, int opt_level, const char *c_path, const char *so_path,
                      zv_eng_err *err)
{
    char opt[8], log_path[4200];
    char *argv[] = {(char *)cc, opt, CC_FLAGS, "-o", (char *)so_path, (char *)c_path, "-lm", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, rc;

    snprintf(opt, sizeof opt, "-O%d", opt_level);
    snprintf(log_path, sizeof log_path, "%s.log", so_path);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    rc = posix_spawnp(&pid, cc, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "cannot run the C compiler '%s': %s", cc,
                 strerror(rc));
        return -rc;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char first[300] = "";
        FILE *f = fopen(log_path, "r");
        if (f) { /* the first error line says most */
            char line[300];
            while (fgets(line, sizeof line, f))
                if (strstr(line, "error")) {
                    snprintf(first, sizeof first, "%s", line);
                    break;
                }
            fclose(f);
        }
        first[strcspn(first, "\n")] = 0;
        snprintf(err->msg, sizeof err->msg, "the C compiler failed on %s: %s", c_path, first);
        unlink(log_path);
        return -EIO;
    }
    unlink(log_path);
    return 0;
}
