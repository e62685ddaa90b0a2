/*
 * cache_build.c — what a cache entry is made of: the module translated
 * into units of C (translate_module.c) and compiled into one object by the
 * system compiler (backend_cc.c), with the build's progress; once more
 * with a base register where gcc crashed on the GS build. cache.c names
 * the entry, stores it and remembers builds that failed.
 */
#include "engine/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void local_v128(uint8_t type, uint32_t count, void *arg)
{
    if (type == ZV_V128 && count)
        *(int *)arg = 1;
}

/* Does m use v128 anywhere: a type, a global, a local, a SIMD instruction? */
int zv_eng_uses_simd(const zv_val_module *m)
{
    int found = 0;
    for (uint32_t i = 0; i < m->n_types; i++) {
        const zv_val_functype *t = &m->types[i];
        for (uint32_t k = 0; k < t->n_params + t->n_results; k++)
            found |= (k < t->n_params ? t->params[k] : t->results[k - t->n_params]) == ZV_V128;
    }
    for (uint32_t i = 0; i < m->n_globals; i++)
        found |= m->globals[i].type.type == ZV_V128;
    for (uint32_t f = m->n_imported_funcs; f < m->n_funcs && !found; f++) {
        const uint8_t *p = m->bytes + m->funcs[f].code_offset;
        const uint8_t *end = m->bytes + m->funcs[f].code_end;
        zv_val_op op;
        zv_val_err verr;
        zv_val_func_locals(m, f, local_v128, &found);
        while (!found && p < end && zv_val_op_next(m->bytes, &p, end, &op, &verr) == 0)
            found = op.op >> 8 == 0xfd;
    }
    return found;
}

/* tcc (a fast baseline compiler) builds the generated C of modules without
 * SIMD; it has no vector types, so those go to gcc. */
static const char *compiler_for(const zv_val_module *m, const zv_eng_opts *opts)
{
    const char *cc = zv_eng_cache_cc(opts);
    return zv_eng_cc_is_tcc(cc) && zv_eng_uses_simd(m) ? "gcc" : cc;
}

/* Wasm code per translation unit: about 2 MB of C, which gcc -O2 compiles
 * in a few hundred MB (perf/README.md "Large modules"); smaller modules
 * are one unit. $ZVM_CC_UNIT_BYTES changes it (tests split small modules). */
#define UNIT_CODE_BYTES (256u << 10)

/* Unit k's C in "<base>.<k>.c" (gcc picks the language from the suffix). */
static int write_unit(const zv_val_module *m, const zv_eng_translate_opts *topts,
                      const zv_eng_unit *u, const char *c_path, uint64_t *bytes)
{
    int fd = open(c_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600), rc;
    FILE *f;
    if (fd < 0)
        return -errno;
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        return -ENOMEM;
    }
    rc = zv_eng_translate_unit(m, topts, u, f);
    *bytes += (uint64_t)ftello(f);
    if (fclose(f) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}

/* The build's progress, for opts->progress. */
typedef struct {
    const zv_eng_opts *opts;
    zv_eng_build b;
    struct timespec t0;
} build_progress;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void unit_done(void *arg)
{
    build_progress *p = arg;
    p->b.compiled++;
    p->b.compile_s = since(&p->t0) - p->b.translate_s;
    p->opts->progress(p->opts->progress_arg, &p->b);
}

/* ZVM_KEEP_C: unit k's C, made under a temporary name, as
 * "<entry's name without .so>.<k>.c" next to the entry, which
 * sweep_stale never takes (a failed build keeps its C too). */
static void keep_unit(const char *path, uint32_t k, const char *c_path)
{
    char kept[4400];
    size_t n = strlen(path);
    assert(n > 3 && !strcmp(path + n - 3, ".so"));
    snprintf(kept, sizeof kept, "%.*s.%u.c", (int)(n - 3), path, k);
    if (rename(c_path, kept) < 0)
        unlink(c_path);
}

int zv_eng_cache_compile(const zv_val_module *m, const zv_eng_opts *opts, const char *base,
                         const char *so_path, const char *path, zv_eng_err *err)
{
    zv_eng_translate_opts topts = {!(opts && opts->no_interrupt_checks),
                                   zv_eng_build_forks(m, opts), 0, NULL, NULL};
    uint32_t *plan = NULL;
    uint8_t *shared = NULL;
    uint64_t unit_code = zv_eng_env_number("ZVM_CC_UNIT_BYTES", UNIT_CODE_BYTES);
    uint32_t *first = calloc((size_t)m->n_funcs - m->n_imported_funcs + 2, sizeof *first);
    uint32_t n = first ? zv_eng_translate_split(m, unit_code, first) : 0;
    char **c_paths = NULL;
    int rc = 0;
    build_progress pr = {opts, {0}, {0}};
    clock_gettime(CLOCK_MONOTONIC, &pr.t0);
    if (!first || !(c_paths = calloc(n, sizeof *c_paths)) || zv_eng_tr_entry_plan(m, &plan) ||
        (n > 1 && zv_eng_tr_shared(m, first, n, &shared)))
        rc = -ENOMEM;
    topts.entry_plan = plan;
    topts.shared = shared;
    for (uint32_t k = 0; rc == 0 && k < n; k++)
        if (asprintf(&c_paths[k], "%s.%u.c", base, k) < 0)
            c_paths[k] = NULL, rc = -ENOMEM;
    if (rc)
        snprintf(err->msg, sizeof err->msg, "translation failed: %s", strerror(ENOMEM));
    while (rc == 0) {
        pr.b.c_bytes = 0, pr.b.compiled = 0;
        for (uint32_t k = 0; rc == 0 && k < n; k++) {
            zv_eng_unit u = {first[k], first[k + 1], n > 1, k == n - 1};
            unlink(c_paths[k]); /* the first try's */
            if ((rc = write_unit(m, &topts, &u, c_paths[k], &pr.b.c_bytes)))
                snprintf(err->msg, sizeof err->msg, "translation failed: %s", strerror(-rc));
        }
        pr.b.units = n;
        pr.b.translate_s = since(&pr.t0);
        if (rc == 0 && opts && opts->progress)
            opts->progress(opts->progress_arg, &pr.b);
        if (rc)
            break;
        rc = zv_eng_cc_build(compiler_for(m, opts), zv_eng_cache_opt_level(opts), c_paths, n,
                             so_path, opts && opts->progress ? unit_done : NULL, &pr, err);
        /* code that reaches memory through GS, which crashed the compiler
         * or has an access without its segment (gcc 12 bugs: seg.c):
         * once more with a base register, which runs under the engine's
         * GS discipline as well (tcc's code never uses GS) */
        if (!zv_eng_seg_on() || topts.no_seg || zv_eng_cc_is_tcc(compiler_for(m, opts)))
            break;
        if (rc ? !strstr(err->msg, "internal compiler error") : zv_eng_seg_code_safe(so_path))
            break;
        unlink(so_path);
        topts.no_seg = 1, rc = 0;
    }
    for (uint32_t k = 0; c_paths && k < n; k++) {
        if (c_paths[k] && getenv("ZVM_KEEP_C"))
            keep_unit(path, k, c_paths[k]);
        else if (c_paths[k])
            unlink(c_paths[k]);
        free(c_paths[k]);
    }
    free(c_paths);
    free(first);
    free(plan);
    free(shared);
    return rc;
}
