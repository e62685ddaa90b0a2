/*
 * session.c — one ZeroVM session end to end, as `zvm run` does it: the
 * manifest's Program is loaded (validated against zvm's policy, compiled
 * through the cache), instantiated against the manifest's channels and
 * run on its own guest thread (whose stack has a guard, so runaway
 * recursion is a trap), under the watchdog from before instantiation to
 * the end, so a start function that spins also meets the Timeout. The
 * outcome is ZeroVM's report, with ZeroVM's exit codes.
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const zv_cfg_manifest *man;
    zv_pf_session_opts *o;
    zvm_report *rep;
    zv_eng_module *mod;
    zv_eng_session *session;
    zv_pf_watch *watch; /* NULL without a timeout */
    int trap;
    char memory_etag[65];
    zv_cfg_manifest with_images; /* a plain WASI run's manifest with the module's images */
    char **images;
} session_run;

static void status(zvm_report *rep, const char *fmt, const char *a, const char *b)
{
    snprintf(rep->status, sizeof rep->status, fmt, a, b);
}

int zv_pf_load_program(const zv_cfg_manifest *man, const zv_eng_opts *eng, zv_eng_module **out,
                       zvm_report *rep)
{
    char path[4096];
    zv_eng_err err = {0};
    zv_eng_opts opts = *eng;
    int rc;
    zv_cfg_resolve(man, man->program, path, sizeof path);
    opts.policy = &zv_val_default_policy;
    rc = zv_eng_module_load_file(path, &opts, out, NULL, &err);
    snprintf(rep->status, sizeof rep->status, "%s", rc ? err.msg : "ok");
    if (rc == -EINVAL || rc == -EPERM) {
        rep->validator = 1;
        return ZV_CFG_EXIT_INVALID;
    }
    return rc ? ZV_CFG_EXIT_NO_PROGRAM : 0;
}

/* _start, or the export to invoke with its arguments typed. */
static int call_export(session_run *s, zv_eng_instance *inst, zv_eng_err *err)
{
    const zv_val_module *info = zv_eng_module_info(s->mod);
    zv_pf_session_opts *o = s->o;
    const char *name = o->invoke ? o->invoke : "_start";
    zv_value args[64];
    zv_eng_extern ext;
    uint32_t type_idx = 0;
    const zv_val_functype *ft;
    if (zv_eng_instance_export(inst, name, strlen(name), &ext, &type_idx) ||
        ext.kind != ZV_EXT_FUNC) {
        status(s->rep, "no exported function \"%s\"%s", name, "");
        return -ENOENT;
    }
    ft = &info->types[type_idx];
    if (ft->n_params > 64 || ft->n_results > 64 || (!o->invoke && (ft->n_params || ft->n_results))) {
        status(s->rep, "\"%s\" has an unsupported signature%s", name, "");
        return -EINVAL;
    }
    if (o->invoke && o->n_invoke_args != ft->n_params) {
        snprintf(s->rep->status, sizeof s->rep->status, "\"%s\" takes %u arguments, %u given",
                 name, ft->n_params, o->n_invoke_args);
        o->usage_error = 1;
        return -E2BIG;
    }
    for (uint32_t i = 0; o->invoke && i < ft->n_params; i++)
        if (zv_eng_value_parse(o->invoke_args[i], ft->params[i], &args[i])) {
            snprintf(s->rep->status, sizeof s->rep->status,
                     "argument %u (\"%s\") is not a valid %s", i + 1, o->invoke_args[i],
                     zv_val_type_name(ft->params[i]));
            o->usage_error = 1;
            return -E2BIG;
        }
    o->n_results = ft->n_results;
    memcpy(o->result_types, ft->results, ft->n_results);
    return zv_eng_call(inst, ext.func, type_idx, args, o->results, err);
}

static void memory_etag(session_run *s, const zv_eng_instance *inst)
{
    const uint8_t *bytes;
    uint64_t size;
    uint8_t d[32];
    if (!s->man->memory_etag || zv_eng_instance_memory(inst, &bytes, &size) ||
        zv_val_sha256(bytes, size, d))
        return;
    for (int i = 0; i < 32; i++)
        snprintf(s->memory_etag + 2 * i, 3, "%02x", d[i]);
}

/* The guest thread: instantiate, run, record the outcome. */
static int guest_main(void *p)
{
    session_run *s = p;
    zv_eng_limits limits = {(uint32_t)(s->man->memory_bytes / 65536), s->man->memory_bytes};
    zv_eng_instance *inst = NULL;
    zv_eng_err err = {0};
    struct timespec t0, t1;
    int rc;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    if (s->o->wait_hook)
        zv_io_set_wait_hook(s->o->wait_hook, s->o->wait_arg);
    if (s->watch) {
        zv_pf_watch_attach(s->watch);
        zv_pf_watch_start(s->watch, s->o->timeout_ns);
    }
    rc = zv_eng_instance_new(s->mod, &limits, zv_eng_session_resolve, s->session, s->session,
                             &inst, &err);
    if (rc == 0)
        rc = call_export(s, inst, &err);
    if (s->watch)
        zv_pf_watch_stop(s->watch);
    if (rc == -EFAULT) { /* trapped, or exited */
        s->trap = err.trap == ZV_TRAP_EXIT ? 0 : err.trap;
        s->rep->user_code = err.trap == ZV_TRAP_EXIT ? err.exit_code : 0;
        if (s->trap)
            snprintf(s->rep->status, sizeof s->rep->status, "%s", zv_eng_trap_name(s->trap));
        rc = 0;
    } else if (rc && !strcmp(s->rep->status, "ok")) {
        snprintf(s->rep->status, sizeof s->rep->status, "%s", err.msg);
    }
    if (inst && !s->trap) /* after a trap memory is not defined (rt_abi.h) */
        memory_etag(s, inst);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    s->rep->cpu_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    zv_eng_instance_free(inst);
    return rc;
}

int zv_pf_report_totals(zvm_report *rep, const zv_eng_totals *t, const char *memory_etag)
{
    uint32_t n = t->n_etags + (memory_etag && memory_etag[0]);
    rep->gets = t->gets;
    rep->get_bytes = t->get_bytes;
    rep->puts = t->puts;
    rep->put_bytes = t->put_bytes;
    if (t->limited && rep->exit_code == 0) /* ZeroVM goes on; the report tells */
        snprintf(rep->status, sizeof rep->status, "ok; %lld channel calls refused or cut "
                 "short by their limits", (long long)t->limited);
    if (t->lost) { /* output lost: the run failed, whatever the guest did */
        char was[sizeof rep->status];
        snprintf(was, sizeof was, "%s", rep->exit_code ? rep->status : "");
        snprintf(rep->status, sizeof rep->status, "%s%schannel %s: a write failed after the guest "
                 "went on: %s", was, was[0] ? "; " : "", t->lost_alias, strerror(t->lost_errno));
        rep->exit_code = rep->exit_code ? rep->exit_code : 1;
    }
    if (!n)
        return 0;
    if (!(rep->etags = calloc(n, sizeof *rep->etags)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const char *alias = i < t->n_etags ? t->etags[i].alias : "memory";
        if (!(rep->etags[i].alias = strdup(alias)))
            return -ENOMEM;
        memcpy(rep->etags[i].sha256, i < t->n_etags ? t->etags[i].hex : memory_etag, 65);
        rep->n_etags = i + 1;
    }
    return 0;
}

/* Everything after the manifest is known: the exit code. */
static int run(session_run *s, zv_pf_watchdog **wd)
{
    const zv_val_module *info;
    zv_eng_err err = {0};
    int rc, code;
    if (s->o->module)
        s->mod = s->o->module;
    else if ((code = zv_pf_load_program(s->man, &s->o->eng, &s->mod, s->rep)))
        return code;
    if (s->man->wasi_only && (rc = zv_eng_module_mounts(s->mod, &s->images, &err))) {
        status(s->rep, "%s: %s", s->man->program, err.msg);
        return rc == -ENOMEM ? 1 : ZV_CFG_EXIT_INVALID;
    }
    if (s->images) {
        s->with_images = *s->man;
        s->with_images.images = s->images;
        while (s->images[s->with_images.n_images])
            s->with_images.n_images++;
        s->man = &s->with_images;
    }
    info = zv_eng_module_info(s->mod);
    if (info->n_memories && (uint64_t)info->memories[0].min * 65536 > s->man->memory_bytes) {
        snprintf(s->rep->status, sizeof s->rep->status, "the program needs %llu bytes of "
                 "memory, Memory allows %llu", (unsigned long long)info->memories[0].min * 65536,
                 (unsigned long long)s->man->memory_bytes);
        return ZV_CFG_EXIT_MEMORY;
    }
    if ((rc = zv_eng_session_new(s->man, &s->session, &err))) {
        snprintf(s->rep->status, sizeof s->rep->status, "%s", err.msg);
        return rc == -ENOTSUP ? ZV_CFG_EXIT_SOURCE
               : rc == -ENOEXEC ? ZV_CFG_EXIT_INVALID /* the module's own image */
               : rc == -EINVAL ? ZV_CFG_EXIT_ZERO_LIMITS : (-rc) & 0xff;
    }
    if (!s->o->timeout_ns)
        s->o->timeout_ns = (uint64_t)s->man->timeout_s * 1000000000ull;
    if (s->o->watch) {
        s->watch = s->o->watch;
    } else if (s->o->timeout_ns) {
        if ((rc = zv_pf_watchdog_new(1, wd))) {
            snprintf(s->rep->status, sizeof s->rep->status, "cannot start the watchdog");
            return 1;
        }
        s->watch = zv_pf_watchdog_slot(*wd, 0);
    }
    if ((rc = zv_eng_run_guest_thread(guest_main, s, 8u << 20)) < 0) {
        if (!strcmp(s->rep->status, "ok"))
            snprintf(s->rep->status, sizeof s->rep->status, "%s", strerror(-rc));
        return 1;
    }
    s->o->trap = s->trap;
    return s->trap ? 4 : strcmp(s->rep->status, "ok") ? 1 : 0;
}

int zv_pf_session_run(const zv_cfg_manifest *man, zv_pf_session_opts *o, zvm_report *rep)
{
    zv_pf_session_opts none;
    session_run s;
    zv_pf_watchdog *wd = NULL;
    zv_eng_totals totals;
    int rc = 0;
    memset(rep, 0, sizeof *rep);
    memset(&s, 0, sizeof s);
    memset(&none, 0, sizeof none);
    memset(&totals, 0, sizeof totals);
    snprintf(rep->status, sizeof rep->status, "ok");
    s.man = man;
    s.o = o ? o : &none;
    s.rep = rep;
    rep->exit_code = run(&s, &wd);
    zv_pf_watchdog_free(wd);
    if (s.session) {
        s.o->n_strays = zv_eng_session_strays(s.session, s.o->stray, sizeof s.o->stray);
        for (uint32_t i = 0; s.o->used && i < man->n_channels; i++)
            s.o->used[i] = (uint8_t)zv_eng_session_used(s.session, i);
        rc = zv_eng_session_finish(s.session, &totals);
        if (rc == 0)
            rc = zv_pf_report_totals(rep, &totals, s.memory_etag);
        zv_eng_totals_free(&totals);
    }
    zv_eng_session_free(s.session);
    zv_eng_mounts_free(s.images);
    if (!s.o->module)
        zv_eng_module_free(s.mod);
    if (rc)
        zvm_report_free(rep);
    return rc;
}
