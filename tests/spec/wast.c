/*
 * wast.c — helpers shared by the spec runners (see wast.h).
 */
#include "wast.h"

#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *spec_dir(const char *prog, int argc, char **argv)
{
    const char *env = getenv("ZVM_SPEC_DIR"), *req = getenv("ZVM_REQUIRE_SPEC");
    const char *dir = env && *env ? env : ZVM_DEFAULT_SPEC_DIR;
    int required = req && !strcmp(req, "1"), n;
    char **names;
    if (argc > 1)
        return argv[1];
    if ((n = spec_list(dir, &names)) >= 0)
        spec_free_names(names, n);
    if (n > 0)
        return dir;
    fprintf(stderr, "%s: spec suite not found at %s: " SPEC_WHERE "; %s\n", prog, dir,
            required ? "failed (ZVM_REQUIRE_SPEC=1)" : "skipped");
    exit(required ? 2 : SPEC_SKIPPED);
}

static int wast_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 5 && !strcmp(d->d_name + n - 5, ".wast");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int spec_list(const char *dir, char ***names)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, wast_filter, by_name);
    if (n < 0)
        return -1;
    *names = calloc((size_t)n + 1, sizeof **names);
    for (int i = 0; i < n; i++) {
        if (*names)
            (*names)[i] = strdup(ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return *names ? n : -1;
}

void spec_free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int spec_convert(const char *wast, const char *json)
{
    /* the exception handling proposal's text: zvm accepts the form clang
     * emits for setjmp (tests/wast/exceptions*.wast); no core file
     * converts differently with it */
    char *argv[] = {"wast2json", "--enable-exceptions", (char *)wast, "-o", (char *)json, NULL};
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, "wast2json", NULL, NULL, argv, environ) != 0)
        return -1;
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

char *spec_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = 0;
            *size = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

int spec_scratch(char *out, size_t n)
{
    snprintf(out, n, "/tmp/zvm-spec-XXXXXX");
    return mkdtemp(out) ? 0 : -1;
}

void spec_scratch_remove(const char *dir)
{
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &status, 0);
}
