/*
 * runner.c — the per-instance path: one runner per worker owns one
 * instance, one session and the worker's output buffer, made once; each
 * record then runs as a fresh instance in the same slot.
 *
 * Two ways to start a record (DESIGN: "What a record starts from"):
 * - from the start: the instance is reset (zv_eng_instance_reset: memory
 *   cleared and the data image copied, globals, tables and segments
 *   re-initialised) and `_start` runs;
 * - from the fork point: a guest that calls zvm_fork() once its set-up is
 *   done runs that set-up once, here, at the runner's creation, on its own
 *   stack (a fiber); at the fork it pauses and the runner takes a snapshot
 *   (engine/snapshot.c). Each record then restores the snapshot (memory by
 *   copy or by dropping the pages it touched) and resumes the guest, whose
 *   zvm_fork() returns 1.
 * With --snapshot first-read (ZVM_SNAPSHOT_FIRST_READ) the guest's first
 * read of stdin is its fork point too (the session's probe calls on_fork
 * there, engine/host.h), so an interpreter that loads its script and then
 * reads lines forks without a patch; the pool loads such a module built
 * for fork points (dirty pages, never the baseline tier).
 * Before the fork the guest sees an empty stdin and its output is
 * discarded; at the fork the record's channels are bound. Without
 * snapshots (a module that does not fork, --snapshot off) the same holds
 * from the start, so a record's bytes are the same either way.
 *
 * zv_pf_runner_run is the hot path: no allocation, no lock, no syscall but
 * the reset's madvise when chosen, all inside one watched run so the
 * watchdog can stop it. Nothing here is shared.
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FROM_START, FROM_FORK };

struct zv_pf_runner {
    zv_eng_module *mod;
    zv_eng_session *session;
    zv_eng_instance *inst;
    zv_func *start;
    uint32_t start_type;
    int reset_how;
    int fresh;           /* the instance has not run since it was made or reset */
    int has_start;       /* the module has a start function (it runs at each reset) */
    int forks;           /* the guest has a fork point: it imports zvm.fork, or first-read */
    int first_read;      /* its first read of stdin is one (ZVM_SNAPSHOT_FIRST_READ) */
    int calls_fork;      /* it imports zvm.fork */
    int mode;            /* FROM_START or FROM_FORK */
    int in_record;       /* the current run has passed its fork point */
    int preparing;       /* the run up to the fork point, once, for the snapshot */
    const void *in;      /* the current record (bound at the fork) */
    size_t in_len;
    zv_eng_channels *job; /* or the current job's channels (daemon mode) */
    zv_eng_snapshot *snap;
    zv_eng_session_mark *mark;
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

static int imports_fork(const zv_val_module *info)
{
    for (uint32_t i = 0; i < info->n_imports; i++) {
        const zv_val_import *im = &info->imports[i];
        if (im->module_len == 3 && !memcmp(im->module, "zvm", 3) && im->name_len == 4 &&
            !memcmp(im->name, "fork", 4))
            return 1;
    }
    return 0;
}

/* The session's own channels, the standard ones bound to `in` and the
 * runner's buffers. */
static void bind_std(zv_pf_runner *r, const void *in, size_t len)
{
    zv_eng_session_use(r->session, NULL);
    zv_eng_session_bind(r->session, 0, (void *)in, (int64_t)len, 0);
    zv_eng_session_bind(r->session, 1, r->out, 0, r->out_cap);
    zv_eng_session_bind_sink(r->session, 2, r->err, r->err_cap);
}

/* The record's channels, or the job's (the rest of the run's state is
 * the caller's: zv_eng_session_reset or _restore). */
static void bind_record(zv_pf_runner *r)
{
    if (r->job)
        zv_eng_session_use(r->session, r->job);
    else
        bind_std(r, r->in, r->in_len);
}

/* zvm.fork, or the first read of stdin, for the guests of this runner. */
static int on_fork(void *arg, zv_ctx *caller, int first_read)
{
    zv_pf_runner *r = arg;
    if (r->in_record)
        return 1; /* a second call in a record: still its copy */
    /* the preparing run pauses here; each record resumes a copy of this
     * frame, with its channels already bound (from_fork) */
    if (r->preparing && zv_eng_fork_pause(caller))
        return 1;
    /* from the start: the set-up is done, the record begins; after a
     * first read, what the set-up wrote stays (as the session's mark
     * keeps it for records from the snapshot) */
    if (first_read && !r->job)
        zv_eng_session_bind(r->session, 0, (void *)r->in, (int64_t)r->in_len, 0);
    else
        bind_record(r);
    r->in_record = 1;
    return 1;
}

/* The preparing run: _start up to its fork point, once; then the
 * snapshot, unless snapshots are off. Without a fork point (or fibers)
 * records run from the start. A guest that imports zvm.fork and ends
 * without calling it does not fork: its records are bound from the start
 * (else they would never see their input). So does one that ends or
 * traps before its first read under first-read: each record then traps
 * as it would under --snapshot off; a set-up before zvm_fork() that traps
 * stops the pool instead. The set-up sees the same
 * channels and bytes in every record, so this run says what every
 * record's would do: --snapshot off asks too, to give the same bytes. */
static int prepare(zv_pf_runner *r, int snapshots, zv_eng_err *err)
{
    int rc;
    bind_std(r, "", 0);
    zv_eng_session_reset(r->session);
    if (r->watch)
        zv_pf_watch_start(r->watch, r->limit_ns);
    r->preparing = 1;
    rc = zv_eng_fiber_call(r->inst, r->start, r->start_type, err);
    r->preparing = 0;
    if (r->watch)
        zv_pf_watch_stop(r->watch);
    if (rc == -ENOTSUP)
        return 0; /* no fibers on this ISA: from the start */
    r->fresh = 0;
    if (rc == -EFAULT && (err->trap == ZV_TRAP_EXIT || !r->calls_fork))
        rc = 0; /* it ended (exit, or a trap before its first read) without forking */
    if (rc == -EFAULT) {
        snprintf(err->msg, sizeof err->msg, "the guest's set-up (before %s) ended with: %s",
                 r->first_read ? "zvm_fork or its first read of stdin" : "zvm_fork",
                 zv_eng_trap_name(err->trap));
        return rc;
    }
    if (rc == 0)
        r->forks = 0; /* it finished without forking: from the start, bound */
    if (rc != 1 || !snapshots)
        return rc == 1 ? 0 : rc; /* (a paused guest without a snapshot is reset for each record) */
    if ((rc = zv_eng_snapshot_take(r->inst, r->reset_how, &r->snap)) ||
        (rc = zv_eng_session_mark_take(r->session, &r->mark))) {
        snprintf(err->msg, sizeof err->msg, "cannot snapshot the fork point: %s", strerror(-rc));
        return rc;
    }
    r->mode = FROM_FORK;
    return 0;
}

int zv_pf_runner_new(zv_eng_module *m, const zv_cfg_manifest *man, const zv_pf_runner_opts *o,
                     zv_pf_runner **out, zv_eng_err *err)
{
    zv_pf_runner *r = calloc(1, sizeof *r);
    zv_eng_limits limits = {(uint32_t)(man->memory_bytes / 65536), man->memory_bytes};
    int rc;
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->mod = m;
    r->reset_how = o->reset_how;
    r->watch = o->watch;
    r->limit_ns = o->limit_ns;
    r->out_cap = man->channels[1].limits[ZV_CFG_PUTSIZE];
    r->err_cap = (int64_t)o->stderr_bytes; /* the rest of stderr is counted, not kept */
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
    r->first_read = o->snapshot == ZVM_SNAPSHOT_FIRST_READ;
    r->calls_fork = imports_fork(zv_eng_module_info(m));
    r->forks = r->calls_fork || r->first_read;
    if (r->forks)
        zv_eng_session_on_fork(r->session, on_fork, r);
    zv_eng_session_fork_on_read(r->session, r->first_read);
    bind_std(r, "", 0);
    zv_eng_session_reset(r->session);
    if (r->watch)
        zv_pf_watch_start(r->watch, r->limit_ns);
    rc = zv_eng_instance_new(m, &limits, zv_eng_session_resolve, r->session, r->session, &r->inst,
                             err);
    if (r->watch)
        zv_pf_watch_stop(r->watch);
    if (rc == -EFAULT)
        snprintf(err->msg, sizeof err->msg, "instantiation trapped: %s", zv_eng_trap_name(err->trap));
    if (rc || (rc = find_start(r, err)))
        goto fail;
    r->fresh = 1;
    if (r->forks && (rc = prepare(r, o->snapshot != ZVM_SNAPSHOT_OFF, err)))
        goto fail;
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
    zv_eng_instance_free(r->inst); /* before its snapshot: memory is mapped from it */
    zv_eng_snapshot_free(r->snap);
    zv_eng_session_mark_free(r->mark);
    zv_eng_session_free(r->session);
    free(r->out);
    free(r->err);
    free(r);
}

/* From the fork point: the snapshot back, the record bound, resume. */
static int from_fork(zv_pf_runner *r, zv_eng_err *err)
{
    int rc;
    if ((rc = zv_eng_snapshot_restore(r->inst, r->snap)))
        return rc;
    bind_record(r);
    zv_eng_session_restore(r->session, r->mark);
    r->in_record = 1;
    return zv_eng_fiber_resume(r->inst, err);
}

/* From the start: reset, and _start (the record is bound at once, or at
 * the fork point for a guest that has one). */
static int from_start(zv_pf_runner *r, zv_eng_err *err)
{
    int rc;
    if (!r->fresh) {
        if (r->has_start) { /* the start function runs at the reset, on an empty stdin */
            bind_std(r, "", 0);
            zv_eng_session_reset(r->session);
        }
        if ((rc = zv_eng_instance_reset(r->inst, r->reset_how, err)))
            return rc;
    }
    r->fresh = 0;
    if (r->forks) { /* the set-up first: the record is bound at its fork point */
        bind_std(r, "", 0);
        r->in_record = 0;
    } else {
        bind_record(r);
    }
    zv_eng_session_reset(r->session);
    return zv_eng_call(r->inst, r->start, r->start_type, NULL, NULL, err);
}

static int run(zv_pf_runner *r, zv_pf_outcome *oc)
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
    rc = r->mode == FROM_FORK ? from_fork(r, &err) : from_start(r, &err);
    if (rc == -EFAULT && err.trap == ZV_TRAP_EXIT)
        oc->exit_code = err.exit_code;
    else if (rc == -EFAULT)
        oc->trap = err.trap;
    else if (rc < 0)
        oc->trap = ZV_TRAP_HOST;
    if (r->watch)
        zv_pf_watch_stop(r->watch);
    oc->msg = oc->trap ? zv_eng_trap_name(oc->trap) : NULL;
    oc->refused = zv_eng_session_refused(r->session);
    zv_eng_session_use(r->session, NULL); /* a job's channels are the daemon's to close */
    oc->out = r->out;
    oc->out_len = r->job ? 0 : (size_t)zv_eng_session_written(r->session, 1);
    oc->err = r->err;
    oc->err_len = r->job ? 0 : (size_t)zv_eng_session_written(r->session, 2);
    oc->err_dropped = r->job ? 0 : zv_eng_session_dropped(r->session, 2);
    return oc->trap ? -EFAULT : 0;
}

int zv_pf_runner_run(zv_pf_runner *r, const void *in, size_t len, zv_pf_outcome *oc)
{
    r->in = in;
    r->in_len = len;
    r->job = NULL;
    return run(r, oc);
}

int zv_pf_runner_run_job(zv_pf_runner *r, zv_pf_job *job, zv_pf_outcome *oc)
{
    struct timespec t0, t1;
    uint64_t limit = r->limit_ns;
    int rc;
    r->job = job->ch;
    if (job->limit_ns)
        r->limit_ns = job->limit_ns;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    rc = run(r, oc);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    r->limit_ns = limit;
    r->job = NULL;
    job->cpu_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec -
                  (uint64_t)t0.tv_nsec;
    return rc;
}

void zv_pf_runner_idle(zv_pf_runner *r)
{
    if (r->fresh)
        return;
    if (r->mode == FROM_FORK) /* the next restore brings back the whole snapshot */
        zv_eng_snapshot_release(r->inst, r->snap);
    else
        zv_eng_instance_release(r->inst); /* dropped: the next run resets */
}

int zv_pf_runner_reservation(zv_pf_runner *r, void **base, size_t *size)
{
    return zv_eng_instance_reservation(r->inst, base, size);
}

int zv_pf_runner_forked(const zv_pf_runner *r) { return r->mode == FROM_FORK; }

int zv_pf_runner_retier(zv_pf_runner *r, zv_eng_module *to)
{
    int rc = r->mode == FROM_FORK ? -EINVAL : zv_eng_instance_retier(r->inst, to);
    if (rc == 0)
        r->mod = to;
    return rc;
}
