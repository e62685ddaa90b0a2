/*
 * api.c — the embedding API (include/zvm/zvm.h) over prefork.h and
 * engine.h: modules loaded from files under zvm's policy, pools, sessions
 * and their reports. Nothing here runs guests itself.
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zvm_module {
    zv_eng_module *eng;
};

/* Submits go to pf. After a reload, `draining` is the pool before it,
 * closed, until zvm_pool_next has returned all its results and freed it.
 * zvm_pool_reload (on the thread that submits) sets draining, closes that
 * pool, then sets pf; zvm_pool_next (on the thread that fetches) takes an
 * end of results as the pool's own end only when it is not draining. */
struct zvm_pool {
    zv_pf_pool *_Atomic pf;
    zv_pf_pool *_Atomic draining;
    zvm_pool_config cfg; /* as given (its strings borrowed), for reloads */
};

/* A module from a file (path) or from bytes (path NULL). */
static int load(const char *path, const void *bytes, size_t size, const char *cache_dir,
                zvm_module **out, char *err, size_t errlen)
{
    zv_eng_opts opts = {0};
    zv_eng_err e = {0};
    zvm_module *m;
    int rc;
    if (!out || (!path && !bytes && size))
        return -EINVAL;
    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return -ENOMEM;
    opts.cache_dir = cache_dir;
    opts.policy = &zv_val_default_policy;
    rc = path ? zv_eng_module_load_file(path, &opts, &m->eng, NULL, &e)
              : zv_eng_module_load(bytes ? bytes : (const void *)"", size, &opts, &m->eng, NULL, &e);
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", e.msg);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int zvm_module_load(const char *wasm_path, const char *cache_dir, zvm_module **out, char *err,
                    size_t errlen)
{
    return wasm_path ? load(wasm_path, NULL, 0, cache_dir, out, err, errlen) : -EINVAL;
}

int zvm_module_load_bytes(const void *wasm, size_t len, const char *cache_dir, zvm_module **out,
                          char *err, size_t errlen)
{
    return load(NULL, wasm, len, cache_dir, out, err, errlen);
}

void zvm_module_free(zvm_module *m)
{
    if (!m)
        return;
    zv_eng_module_free(m->eng);
    free(m);
}

int zvm_pool_new(zvm_module *m, const zvm_pool_config *cfg, zvm_pool **out, char *err,
                 size_t errlen)
{
    zvm_pool *p;
    int rc;
    if (!m || !out)
        return -EINVAL;
    *out = NULL;
    if (!(p = calloc(1, sizeof *p)))
        return -ENOMEM;
    zv_pf_pool *pf;
    if ((rc = zv_pf_pool_new(m->eng, cfg, &pf, err, errlen))) {
        free(p);
        return rc;
    }
    p->pf = pf;
    if (cfg)
        p->cfg = *cfg;
    *out = p;
    return 0;
}

int zvm_pool_reload(zvm_pool *p, zvm_module *m, char *err, size_t errlen)
{
    zv_pf_pool *old, *pf;
    int rc;
    if (!p || !m)
        return -EINVAL;
    if (atomic_load(&p->draining)) {
        if (err && errlen)
            snprintf(err, errlen, "the reload before is still returning its results");
        return -EBUSY;
    }
    if ((rc = zv_pf_pool_new(m->eng, &p->cfg, &pf, err, errlen)))
        return rc; /* the module before serves on */
    old = atomic_load(&p->pf);
    atomic_store(&p->draining, old); /* before the close: a fetcher that sees it closed knows why */
    zv_pf_pool_close(old);           /* sends what it holds on */
    atomic_store(&p->pf, pf);
    return 0;
}

int zvm_pool_submit(zvm_pool *p, const void *rec, size_t len, uint64_t tag)
{
    return p ? zv_pf_pool_submit(atomic_load(&p->pf), rec, len, tag) : -EINVAL;
}

int zvm_pool_next(zvm_pool *p, zvm_result *r, int timeout_ms)
{
    if (!p)
        return -EINVAL;
    for (;;) {
        zv_pf_pool *old = atomic_load(&p->draining), *pf;
        int rc;
        if (old) {
            if ((rc = zv_pf_pool_next(old, r, timeout_ms)) != -ENODATA)
                return rc;
            while ((pf = atomic_load(&p->pf)) == old) /* zvm_pool_reload between its stores */
                sched_yield();
            /* every result of the pool before is out: its totals go on in pf */
            zv_pf_counters_carry(zv_pf_pool_counters(pf), zv_pf_pool_counters(old));
            atomic_store(&p->draining, NULL);
            zv_pf_pool_free(old);
            continue;
        }
        pf = atomic_load(&p->pf);
        if ((rc = zv_pf_pool_next(pf, r, timeout_ms)) != -ENODATA || atomic_load(&p->draining) != pf)
            return rc; /* a result, or closed by zvm_pool_close */
        /* closed by a reload: its results are out, the new pool goes on */
    }
}

int zvm_pool_fd(zvm_pool *p)
{
    zv_pf_pool *old;
    if (!p)
        return -EINVAL;
    old = atomic_load(&p->draining);
    return zv_pf_pool_fd(old ? old : atomic_load(&p->pf));
}

void zvm_pool_close(zvm_pool *p)
{
    if (p)
        zv_pf_pool_close(atomic_load(&p->pf));
}

void zvm_pool_free(zvm_pool *p)
{
    if (!p)
        return;
    zv_pf_pool_free(atomic_load(&p->draining));
    zv_pf_pool_free(atomic_load(&p->pf));
    free(p);
}

void zvm_pool_stats_get(const zvm_pool *p, zvm_pool_stats *st)
{
    zv_pf_pool_stats(p ? p->pf : NULL, st); /* an _Atomic read: a load */
}

int zvm_session_run(const char *manifest_path, zvm_report *rep, char *err, size_t errlen)
{
    zv_cfg_manifest *man = NULL;
    zv_cfg_err cerr = {0};
    int rc;
    if (!manifest_path || !rep)
        return -EINVAL;
    memset(rep, 0, sizeof *rep);
    if ((rc = zv_cfg_load(manifest_path, &man, &cerr))) {
        /* a manifest ZeroVM would refuse: a report with its code, as zvm run */
        if (cerr.line)
            snprintf(rep->status, sizeof rep->status, "MANIFEST %d: %s", cerr.line, cerr.msg);
        else
            snprintf(rep->status, sizeof rep->status, "MANIFEST: %s", cerr.msg);
        rep->exit_code = cerr.exit_code ? cerr.exit_code : ZV_CFG_EXIT_MANIFEST;
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", manifest_path, rep->status);
        return rc == -ENOMEM ? rc : 0;
    }
    rc = zv_pf_session_run(man, NULL, rep);
    zv_cfg_free(man);
    return rc;
}

void zvm_report_free(zvm_report *rep)
{
    if (!rep)
        return;
    for (unsigned i = 0; i < rep->n_etags; i++)
        free(rep->etags[i].alias);
    free(rep->etags);
    rep->etags = NULL;
    rep->n_etags = 0;
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

int zvm_report_write(const zvm_report *r, int json, FILE *out)
{
    if (!r || !out)
        return -EINVAL;
    if (json) {
        fprintf(out, "{\"validator\": %d, \"daemon\": %d, \"user_code\": %d, \"etags\": {",
                r->validator, r->daemon, r->user_code);
        for (unsigned i = 0; i < r->n_etags; i++) {
            fprintf(out, "%s", i ? ", " : "");
            json_str(out, r->etags[i].alias);
            fprintf(out, ": \"%s\"", r->etags[i].sha256);
        }
        fprintf(out, "}, \"accounting\": {\"cpu_seconds\": %.2f, \"gets\": %lld, \"get_bytes\": "
                     "%lld, \"puts\": %lld, \"put_bytes\": %lld}, \"status\": ",
                r->cpu_seconds, (long long)r->gets, (long long)r->get_bytes, (long long)r->puts,
                (long long)r->put_bytes);
        json_str(out, r->status);
        fprintf(out, ", \"exit_code\": %d}\n", r->exit_code);
    } else {
        fprintf(out, "%d\n%d\n%d\n", r->validator, r->daemon, r->user_code);
        for (unsigned i = 0; i < r->n_etags; i++)
            fprintf(out, "%s%s %s", i ? " " : "", r->etags[i].alias, r->etags[i].sha256);
        fprintf(out, "%s\n%.2f %lld %lld %lld %lld\n%s\n\n", r->n_etags ? "" : "disabled",
                r->cpu_seconds, (long long)r->gets, (long long)r->get_bytes, (long long)r->puts,
                (long long)r->put_bytes, r->status);
    }
    return ferror(out) ? -EIO : 0;
}

/* ZVM_VERSION_STRING: the project's VERSION (CMakeLists.txt), which also
 * gives the soname and zvm.pc's Version. */
const char *zvm_version(void)
{
    return ZVM_VERSION_STRING;
}
