/*
 * runner.c — the per-instance path of the batch appliance: one runner per
 * worker owns one instance, one session and the worker's output buffer,
 * made once; each record then runs as a fresh instance in the same slot.
 *
 * zv_eng_runner_run is the hot path: bind the record as stdin and the
 * output buffer as stdout (memory channels, no syscall), reset the session
 * and the instance (see zv_eng_instance_reset: no allocation; the memory
 * reset's madvise is its only syscall, when that strategy is chosen), call
 * _start under the worker's trap frame. No locks: nothing here is shared.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zv_eng_runner {
    zv_eng_module *mod;
    zv_eng_session *session;
    zv_eng_instance *inst;
    zv_func *start;
    uint32_t start_type;
    int reset_how;
    int fresh;      /* the instance has not run since it was made or reset */
    uint8_t *out;   /* stdout of the current record */
    uint8_t *err;   /* stderr of the current record (kept for diagnostics) */
    int64_t out_cap, err_cap;
};

int zv_eng_runner_new(zv_eng_module *m, const zv_cfg_manifest *man, int reset_how,
                      zv_eng_runner **out, zv_eng_err *err)
{
    zv_eng_runner *r = calloc(1, sizeof *r);
    zv_eng_limits limits = {(uint32_t)(man->memory_bytes / 65536)};
    zv_eng_extern ext;
    int rc;
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->mod = m;
    r->reset_how = reset_how;
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
    rc = zv_eng_instance_new(m, &limits, zv_eng_session_resolve, r->session, r->session, &r->inst,
                             err);
    if (rc)
        goto fail;
    if (zv_eng_instance_export(r->inst, "_start", 6, &ext, &r->start_type) ||
        ext.kind != ZV_EXT_FUNC) {
        snprintf(err->msg, sizeof err->msg, "the module exports no _start function");
        rc = -ENOENT;
        goto fail;
    }
    r->start = ext.func;
    r->fresh = 1;
    *out = r;
    return 0;
fail:
    zv_eng_runner_free(r);
    return rc;
}

void zv_eng_runner_free(zv_eng_runner *r)
{
    if (!r)
        return;
    zv_eng_instance_free(r->inst);
    zv_eng_session_free(r->session);
    free(r->out);
    free(r->err);
    free(r);
}

int zv_eng_runner_run(zv_eng_runner *r, const void *in, size_t len, zv_eng_outcome *oc)
{
    zv_eng_err err;
    int rc;
    oc->trap = 0;
    oc->exit_code = 0;
    oc->refused = 0;
    oc->msg = NULL;
    zv_eng_session_bind(r->session, 0, (void *)in, (int64_t)len, 0);
    zv_eng_session_bind(r->session, 1, r->out, 0, r->out_cap);
    zv_eng_session_bind(r->session, 2, r->err, 0, r->err_cap);
    zv_eng_session_reset(r->session);
    err.trap = 0;
    if (!r->fresh && (rc = zv_eng_instance_reset(r->inst, r->reset_how, &err))) {
        oc->trap = rc == -EFAULT ? err.trap : ZV_TRAP_HOST;
        goto out;
    }
    r->fresh = 0;
    rc = zv_eng_call(r->inst, r->start, r->start_type, NULL, NULL, &err);
    if (rc == -EFAULT && err.trap == ZV_TRAP_EXIT)
        oc->exit_code = err.exit_code;
    else if (rc == -EFAULT)
        oc->trap = err.trap;
    else if (rc)
        oc->trap = ZV_TRAP_HOST;
out:
    oc->msg = oc->trap ? zv_eng_trap_name(oc->trap) : NULL;
    oc->refused = zv_eng_session_refused(r->session);
    oc->out = r->out;
    oc->out_len = (size_t)zv_eng_session_written(r->session, 1);
    return oc->trap ? -EFAULT : 0;
}

zv_ctx *zv_eng_runner_ctx(zv_eng_runner *r) { return zv_eng_instance_ctx(r->inst); }

void zv_eng_runner_idle(zv_eng_runner *r)
{
    zv_ctx *ctx = zv_eng_instance_ctx(r->inst);
    if (r->fresh || !ctx->memory)
        return;
    /* contents are dropped: the next run must reset, which !fresh ensures */
    zv_eng_memory_reset(ctx->memory, ctx->memory->pages, ZV_ENG_RESET_MADVISE);
}
