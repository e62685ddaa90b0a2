/*
 * cmd_run.c — `zvm run` and `zvm compile`: a wasm32-wasi command run like
 * `wasmtime run` (standard streams passed through, the program's exit
 * status), or one exported function called with typed arguments.
 *
 * The guest runs on its own thread whose stack has a guard region, so
 * runaway recursion is a trap; a watchdog thread raises the instance's
 * interruption flag at the deadline, and the guest stops at its next safe
 * point. Exit status: the program's own, 1 for a bad module or link error,
 * 2 for an unreadable file or bad usage, 128 + the trap code on a trap.
 */
#include "engine/cmd.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *path;
    const char *invoke;   /* --invoke NAME, or NULL for _start */
    char **args;          /* guest argv (after the program) or invoke arguments */
    int n_args;
    double timeout_s;     /* 0: none */
    uint64_t memory_bytes; /* 0: the module's own limit */
    zv_eng_opts opts;
    /* filled while running */
    zv_eng_module *mod;
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    zv_ctx *running; /* guarded by lock: the instance the watchdog may interrupt */
    int status;
} run_job;

static void usage(void)
{
    fprintf(stderr, "usage: zvm run [--timeout SECONDS] [--memory BYTES] [--cache DIR] PROG.wasm "
                    "[ARGS...]\n"
                    "       zvm run [options] --invoke NAME [ARG...] PROG.wasm\n");
}

/* ---- arguments and results ------------------------------------------------------ */

static int parse_int(const char *s, uint64_t *out, int bits)
{
    char *end;
    int neg = s[0] == '-';
    uint64_t v;
    errno = 0;
    v = strtoull(neg ? s + 1 : s, &end, 0);
    if (errno || *end || end == s)
        return -1;
    if (bits == 32 && v > (neg ? 0x80000000ull : 0xffffffffull))
        return -1;
    *out = neg ? 0 - v : v;
    return 0;
}

/* Floats: decimal, inf, nan (any sign), or raw bits as 0x... */
static int parse_float(const char *s, zv_value *v, int is32)
{
    char *end;
    uint64_t bits;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (parse_int(s, &bits, is32 ? 32 : 64))
            return -1;
        if (is32)
            v->i32 = (uint32_t)bits;
        else
            v->i64 = bits;
        return 0;
    }
    errno = 0;
    if (is32)
        v->f32 = strtof(s, &end);
    else
        v->f64 = strtod(s, &end);
    return *end || end == s ? -1 : 0;
}

static int parse_arg(const char *s, uint8_t type, zv_value *v)
{
    uint64_t x;
    memset(v, 0, sizeof *v);
    switch (type) {
    case ZV_I32:
        if (parse_int(s, &x, 32))
            return -1;
        v->i32 = (uint32_t)x;
        return 0;
    case ZV_I64:
        return parse_int(s, &v->i64, 64);
    case ZV_F32:
        return parse_float(s, v, 1);
    case ZV_F64:
        return parse_float(s, v, 0);
    default:
        return -1; /* v128 and references cannot be written on a command line */
    }
}

static void print_result(uint8_t type, const zv_value *v)
{
    switch (type) {
    case ZV_I32: printf("i32:0x%08x\n", v->i32); break;
    case ZV_I64: printf("i64:0x%016llx\n", (unsigned long long)v->i64); break;
    case ZV_F32: printf("f32:0x%08x\n", v->i32); break;
    case ZV_F64: printf("f64:0x%016llx\n", (unsigned long long)v->i64); break;
    case ZV_V128:
        printf("v128:0x%016llx%016llx\n", (unsigned long long)v->v128[1],
               (unsigned long long)v->v128[0]);
        break;
    default: printf("%s:%p\n", zv_val_type_name(type), v->ref); break;
    }
}

/* ---- running ------------------------------------------------------------------------ */

static int trapped(run_job *j, const zv_eng_err *err)
{
    if (err->trap == ZV_TRAP_EXIT)
        return err->exit_code & 0xff;
    fprintf(stderr, "%s: trap: %s\n", j->path, zv_eng_trap_name(err->trap));
    return 128 + err->trap;
}

static int call_export(run_job *j, zv_eng_instance *inst)
{
    const zv_val_module *info = zv_eng_module_info(j->mod);
    const char *name = j->invoke ? j->invoke : "_start";
    zv_value args[64], results[64];
    zv_eng_extern ext;
    zv_eng_err err = {0};
    uint32_t type_idx = 0;
    const zv_val_functype *ft;
    if (zv_eng_instance_export(inst, name, strlen(name), &ext, &type_idx) ||
        ext.kind != ZV_EXT_FUNC) {
        fprintf(stderr, "%s: no exported function \"%s\"\n", j->path, name);
        return 1;
    }
    ft = &info->types[type_idx];
    if (j->invoke && (uint32_t)j->n_args != ft->n_params) {
        fprintf(stderr, "%s: \"%s\" takes %u arguments, %d given\n", j->path, name, ft->n_params,
                j->n_args);
        return 2;
    }
    if (ft->n_params > 64 || ft->n_results > 64 || (!j->invoke && ft->n_params)) {
        fprintf(stderr, "%s: \"%s\" has an unsupported signature\n", j->path, name);
        return 1;
    }
    for (uint32_t i = 0; j->invoke && i < ft->n_params; i++)
        if (parse_arg(j->args[i], ft->params[i], &args[i])) {
            fprintf(stderr, "%s: argument %u (\"%s\") is not a valid %s\n", j->path, i + 1,
                    j->args[i], zv_val_type_name(ft->params[i]));
            return 2;
        }
    if (zv_eng_call(inst, ext.func, type_idx, args, results, &err)) {
        if (j->invoke && err.trap != ZV_TRAP_EXIT)
            printf("trap: %s\n", zv_eng_trap_name(err.trap));
        return trapped(j, &err);
    }
    for (uint32_t i = 0; j->invoke && i < ft->n_results; i++)
        print_result(ft->results[i], &results[i]);
    return 0;
}

static int guest_main(void *p)
{
    run_job *j = p;
    zv_eng_wasi wasi;
    zv_eng_limits limits = {(uint32_t)(j->memory_bytes / 65536)};
    zv_eng_instance *inst = NULL;
    zv_eng_err err = {0};
    char *argv0 = (char *)j->path;
    int rc;
    memset(&wasi, 0, sizeof wasi);
    wasi.argc = j->invoke ? 1 : j->n_args + 1;
    wasi.argv = j->invoke ? &argv0 : j->args - 1; /* args[-1] is the program path */
    wasi.fds[0] = 0, wasi.fds[1] = 1, wasi.fds[2] = 2;
    wasi.clock_ns = 1370908800ull * 1000000000ull; /* 2013-06-11, ZeroVM's manifest version */
    wasi.rng_state = 0x5a564d;
    if (j->memory_bytes && limits.max_memory_pages == 0)
        limits.max_memory_pages = 1; /* under one page: allow nothing more than one */
    rc = zv_eng_instance_new(j->mod, &limits, zv_eng_wasi_resolve, NULL, &wasi, &inst, &err);
    if (rc == -EFAULT) {
        rc = trapped(j, &err);
    } else if (rc) {
        fprintf(stderr, "%s: %s\n", j->path, err.msg);
        rc = 1;
    } else {
        pthread_mutex_lock(&j->lock);
        j->running = zv_eng_instance_ctx(inst);
        pthread_mutex_unlock(&j->lock);
        rc = call_export(j, inst);
    }
    fflush(stdout);
    pthread_mutex_lock(&j->lock);
    j->running = NULL;
    j->done = 1;
    pthread_cond_signal(&j->done_cv);
    pthread_mutex_unlock(&j->lock);
    zv_eng_instance_free(inst);
    return rc;
}

/* Raises the interruption flag when the deadline passes first. */
static void *watchdog(void *p)
{
    run_job *j = p;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)j->timeout_s;
    deadline.tv_nsec += (long)((j->timeout_s - floor(j->timeout_s)) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&j->lock);
    while (!j->done) {
        if (pthread_cond_timedwait(&j->done_cv, &j->lock, &deadline) == ETIMEDOUT) {
            /* interrupt is volatile; the guest polls it at safe points */
            while (!j->done) {
                if (j->running)
                    j->running->interrupt = 1;
                pthread_mutex_unlock(&j->lock);
                nanosleep(&(struct timespec){0, 1000000}, NULL);
                pthread_mutex_lock(&j->lock);
            }
        }
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

static int parse_options(int argc, char **argv, run_job *j)
{
    int i = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (!strcmp(o, "--no-interrupt-checks")) {
            j->opts.no_interrupt_checks = 1;
            continue;
        }
        if (!val)
            return -1;
        i++;
        if (!strcmp(o, "--timeout")) {
            j->timeout_s = strtod(val, &end);
            if (*end || !(j->timeout_s > 0))
                return -1;
        } else if (!strcmp(o, "--memory")) {
            j->memory_bytes = strtoull(val, &end, 0);
            if (*end)
                return -1;
        } else if (!strcmp(o, "--cache")) {
            j->opts.cache_dir = val;
        } else if (!strcmp(o, "--invoke")) {
            j->invoke = val;
        } else {
            return -1;
        }
    }
    if (j->invoke) { /* --invoke NAME ARG... PROG.wasm: the program comes last */
        if (i >= argc)
            return -1;
        j->path = argv[argc - 1];
        j->args = argv + i;
        j->n_args = argc - 1 - i;
    } else {
        if (i >= argc)
            return -1;
        j->path = argv[i];
        j->args = argv + i + 1;
        j->n_args = argc - i - 1;
    }
    return 0;
}

int zv_cmd_run(int argc, char **argv)
{
    run_job j;
    zv_cmd_file f;
    zv_eng_err err = {0};
    pthread_t dog;
    int rc;
    memset(&j, 0, sizeof j);
    j.opts.policy = &zv_val_default_policy;
    if (parse_options(argc, argv, &j)) {
        usage();
        return 2;
    }
    if ((rc = zv_cmd_read(j.path, &f)))
        return rc;
    rc = zv_eng_module_load(f.data, f.size, &j.opts, &j.mod, NULL, &err);
    zv_cmd_release(&f);
    if (rc) {
        fprintf(stderr, "%s: %s\n", j.path, err.msg);
        return rc == -EINVAL || rc == -EPERM ? 1 : 2;
    }
    pthread_mutex_init(&j.lock, NULL);
    pthread_cond_init(&j.done_cv, NULL);
    if (j.timeout_s > 0)
        pthread_create(&dog, NULL, watchdog, &j);
    rc = zv_eng_run_guest_thread(guest_main, &j, 8u << 20);
    if (j.timeout_s > 0)
        pthread_join(dog, NULL);
    zv_eng_module_free(j.mod);
    return rc < 0 ? 2 : rc;
}

int zv_cmd_compile(int argc, char **argv)
{
    zv_eng_opts opts = {0};
    int status = 0, n = 0;
    opts.policy = &zv_val_default_policy;
    for (int i = 0; i < argc; i++) {
        zv_cmd_file f;
        zv_eng_err err = {0};
        char path[4200];
        int cached = 0, rc;
        if (!strcmp(argv[i], "--cache") && i + 1 < argc) {
            opts.cache_dir = argv[++i];
            continue;
        }
        n++;
        if ((rc = zv_cmd_read(argv[i], &f))) {
            status = rc > status ? rc : status;
            continue;
        }
        rc = zv_eng_compile(f.data, f.size, &opts, &cached, path, sizeof path, &err);
        zv_cmd_release(&f);
        if (rc) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            status = status > 1 ? status : 1;
            continue;
        }
        printf("%s: %s %s\n", argv[i], cached ? "cached" : "compiled", path);
    }
    if (!n) {
        fprintf(stderr, "usage: zvm compile [--cache DIR] FILE.wasm...\n");
        return 2;
    }
    return status;
}
