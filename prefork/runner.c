/*
 * runner.c — the per-instance path: one runner per worker owns one
 * instance, one session and the worker's output buffer, made once; each
 * record then runs as a fresh instance in the same slot.
 *
 * zv_pf_runner_run is the hot path: bind the record as stdin and the
 * output buffer as stdout (memory channels, no syscall), reset the session
 * and the instance (zv_eng_instance_reset: no allocation; the memory
 * reset's madvise is its only syscall, when that strategy is chosen), call
 * _start under the worker's trap frame, all inside one watched run so the
 * watchdog can stop it. No locks: nothing here is shared.
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zv_pf_runner {
    zv_eng_module *mod;
    zv_eng_session *session;
    zv_eng_instance *inst;
    zv_func *start;
    uint32_t start_type;
    int reset_how;
    int fresh;           /* the instance has not run since it was made or reset */
    int has_start;       /* the module has a start function (it runs at each reset) */
    zv_pf_watch *watch;  /* NULL: no deadline */
    uint64_t limit_ns;
    uint8_t *out;        /* stdout of the current record */
    uint8_t *err;        /* stderr of the current record (kept for diagnostics) */
    int64_t out_cap, err_cap;
};

/* _start must take and return nothing: anything else cannot be called as
 * a command (and would read arguments that are not there). */
static int find_start(zv_pf_runner *r, zv_eng_err *err)
{
    const zv_val_module *info = zv_eng_instance_info(r->inst);
    zv_eng_extern ext;
    if (zv_eng_instance_export(r->inst, "_start", 6, &ext, &r->start_type) ||
        ext.kind != ZV_EXT_FUNC) {
        snprintf(err->msg, sizeof err->msg, "the module exports no _start function");
        return -ENOENT;
    }
    if (info->types[r->start_type].n_params || info->types[r->start_type].n_results) {
        snprintf(err->msg, sizeof err->msg, "_start must have type () -> (), not %u parameters "
                 "and %u results", info->types[r->start_type].n_params,
                 info->types[r->start_type].n_results);
        return -ENOENT;
    }
    r->start = ext.func;
    return 0;
}

/* Bind the standard channels to `in` and the runner's buffers, and start
 * the session's descriptors, clock and random stream over. */
static void bind_std(zv_pf_runner *r, const void *in, size_t len)
{
    zv_eng_session_bind(r->session, 0, (void *)in, (int64_t)len, 0);
    zv_eng_session_bind(r->session, 1, r->out, 0, r->out_cap);
    zv_eng_session_bind(r->session, 2, r->err, 0, r->err_cap);
    zv_eng_session_reset(r->session);
}

int zv_pf_runner_new(zv_eng_module *m, const zv_cfg_manifest *man, int reset_how,
                     zv_pf_watch *watch, uint64_t limit_ns, zv_pf_runner **out, zv_eng_err *err)
{
    zv_pf_runner *r = calloc(1, sizeof *r);
    zv_eng_limits limits = {(uint32_t)(man->memory_bytes / 65536), man->memory_bytes};
    int rc;
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->mod = m;
    r->reset_how = reset_how;
    r->watch = watch;
    r->limit_ns = limit_ns;
    r->out_cap = man->channels[1].limits[ZV_CFG_PUTSIZE];
    r->err_cap = man->channels[2].limits[ZV_CFG_PUTSIZE];
    if (r->out_cap > (1 << 30) || r->err_cap > (1 << 30)) {
        snprintf(err->msg, sizeof err->msg, "output limits above 1 GiB per record");
        rc = -EINVAL;
        goto fail;
    }
    r->out = malloc((size_t)r->out_cap + 1);
    r->err = malloc((size_t)r->err_cap + 1);
    if (!r->out || !r->err) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = zv_eng_session_new(man, &r->session, err)))
        goto fail;
    /* every instantiation is alike, the first and each reset: a start
     * function sees an empty stdin, its output is discarded, and the
     * deadline covers it */
    r->has_start = zv_eng_module_info(m)->start >= 0;
    bind_std(r, "", 0);
    if (watch)
        zv_pf_watch_start(watch, limit_ns);
    rc = zv_eng_instance_new(m, &limits, zv_eng_session_resolve, r->session, r->session, &r->inst,
                             err);
    if (watch)
        zv_pf_watch_stop(watch);
    if (rc == -EFAULT)
        snprintf(err->msg, sizeof err->msg, "instantiation trapped: %s", zv_eng_trap_name(err->trap));
    if (rc || (rc = find_start(r, err)))
        goto fail;
    r->fresh = 1;
    *out = r;
    return 0;
fail:
    zv_pf_runner_free(r);
    return rc;
}

void zv_pf_runner_free(zv_pf_runner *r)
{
    if (!r)
        return;
    zv_eng_instance_free(r->inst);
    zv_eng_session_free(r->session);
    free(r->out);
    free(r->err);
    free(r);
}

int zv_pf_runner_run(zv_pf_runner *r, const void *in, size_t len, zv_pf_outcome *oc)
{
    zv_eng_err err;
    int rc;
    oc->trap = 0;
    oc->exit_code = 0;
    oc->refused = 0;
    oc->msg = NULL;
    err.trap = 0;
    if (r->watch) {
        oc->start_ns = zv_pf_watch_start(r->watch, r->limit_ns);
    } else {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        oc->start_ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
    }
    if (!r->fresh) {
        if (r->has_start)
            bind_std(r, "", 0);
        if ((rc = zv_eng_instance_reset(r->inst, r->reset_how, &err))) {
            oc->trap = rc == -EFAULT ? err.trap : ZV_TRAP_HOST;
            goto out;
        }
    }
    r->fresh = 0;
    bind_std(r, in, len);
    rc = zv_eng_call(r->inst, r->start, r->start_type, NULL, NULL, &err);
    if (rc == -EFAULT && err.trap == ZV_TRAP_EXIT)
        oc->exit_code = err.exit_code;
    else if (rc == -EFAULT)
        oc->trap = err.trap;
    else if (rc)
        oc->trap = ZV_TRAP_HOST;
out:
    if (r->watch)
        zv_pf_watch_stop(r->watch);
    oc->msg = oc->trap ? zv_eng_trap_name(oc->trap) : NULL;
    oc->refused = zv_eng_session_refused(r->session);
    oc->out = r->out;
    oc->out_len = (size_t)zv_eng_session_written(r->session, 1);
    return oc->trap ? -EFAULT : 0;
}

void zv_pf_runner_idle(zv_pf_runner *r)
{
    if (r->fresh)
        return;
    zv_eng_instance_release(r->inst); /* dropped: the next run resets, which !fresh ensures */
}

int zv_pf_runner_reservation(zv_pf_runner *r, void **base, size_t *size)
{
    return zv_eng_instance_reservation(r->inst, base, size);
}
