/*
 * env.c — zvm's environment variables, all in one table: what each does,
 * the values it takes, and when it is read. `zvm help environment` prints
 * the table; every command checks the variables that matter to it when it
 * starts, so a bad value is an error rather than a silent default
 * (ZVM_TIER=bogus used to run as if unset). The compiler's variables are
 * read by the engine only when a module must be compiled (engine.h:
 * zv_eng_compile_env), so a run from the cache never trips on them.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name, *values, *help;
} env_var;

static const env_var vars[] = {
    {"ZVM_CACHE", "DIR", "the code cache (default $XDG_CACHE_HOME/zvm, else ~/.cache/zvm)"},
    {"ZVM_TIER", "0 or 1", "1 (the default): a new module runs at once from a tcc build while "
                           "gcc -O2 builds in the background; 0: wait for gcc -O2"},
    {"ZVM_CC", "gcc, clang, tcc or a path", "the C compiler for every build, no tiers (default "
                                            "gcc, and tcc first: ZVM_TIER)"},
    {"ZVM_CC_ISA", "x86-64, x86-64-v2 or x86-64-v3", "the ISA level compiled for (default: the "
                                                     "host's); read when compiling"},
    {"ZVM_CC_CPU_SECONDS", "N > 0", "CPU seconds one compiler run may take (default 300); read "
                                    "when compiling"},
    {"ZVM_CC_MEMORY_MB", "N > 0", "memory one compiler run may take, MiB (default 4096); read "
                                  "when compiling"},
    {"ZVM_CC_UNIT_BYTES", "N > 0", "bytes of C per compiled unit before a module is split "
                                   "(default 1048576); read when compiling"},
    {"ZVM_KEEP_C", "1", "keep the generated C beside the cache entry (HASH.K.c), for reading"},
    {"ZVM_SECCOMP", "0 or 1", "1 (the default): the pool's workers run under a syscall filter; "
                              "0: without, for measuring its cost"},
    {"ZVM_SEG", "0 or 1", "1 (the default where the CPU and kernel allow it): compiled code "
                          "addresses linear memory through the GS segment; 0: through a base "
                          "register, for measuring, and for artifacts that must load on hosts "
                          "without FSGSBASE"},
    {"ZVM_REDIS_PASSWORD", "a password", "zvm consume's Redis password when neither the --redis URL "
                                         "nor --redis-password-file gives one"},
    {NULL, NULL, NULL},
};

void zv_cli_help_environment(FILE *f)
{
    fprintf(f, "zvm's environment variables (a value not listed is an error):\n\n");
    for (const env_var *v = vars; v->name; v++)
        fprintf(f, "  %-20s %s\n  %-20s %s\n\n", v->name, v->values, "", v->help);
}

void zv_cli_man_environment(FILE *f)
{
    fputs(".SH ENVIRONMENT\n", f);
    for (const env_var *v = vars; v->name; v++)
        fprintf(f, ".TP\n.B %s\n%s: %s\n", v->name, v->values, v->help);
}

/* A 0/1 switch: 0 (off), 1 (on) or dflt when unset; -1 for anything else. */
static int flag(const char *name, int dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    return !strcmp(v, "0") ? 0 : !strcmp(v, "1") ? 1 : -1;
}

int zv_cli_env_check(const char *cmd)
{
    static const char *const switches[] = {"ZVM_TIER", "ZVM_SECCOMP", "ZVM_SEG", NULL};
    for (int i = 0; switches[i]; i++)
        if (flag(switches[i], 1) < 0) {
            fprintf(stderr, "zvm %s: %s=%s: must be 0 or 1 (see zvm help environment)\n", cmd,
                    switches[i], getenv(switches[i]));
            return -1;
        }
    return 0;
}

static void tier_failed(void *arg, const char *msg)
{
    (void)arg;
    zv_cli_err("%s\n", msg);
}

int zv_cli_tiering(zv_eng_opts *eng, const char *cmd)
{
    const char *cc = getenv("ZVM_CC");
    if (zv_cli_env_check(cmd))
        return -EINVAL;
    if ((cc && *cc) || flag("ZVM_TIER", 1) == 0)
        return 0;
    eng->baseline_cc = "tcc";
    eng->tier_up = "/proc/self/exe"; /* resolved only when a build starts */
    eng->tier_failed = tier_failed;  /* said once, by the first run to find it */
    return 0;
}
