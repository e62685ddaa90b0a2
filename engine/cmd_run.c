/*
 * cmd_run.c — `zvm run` and `zvm compile`.
 *
 * `zvm run MANIFEST` is a ZeroVM session: the manifest's Program runs with
 * the manifest's channels, memory, timeout, args, environment, seed and
 * clock, and zvm prints ZeroVM's report. `zvm run PROG.wasm ARGS...` is
 * the same path with a manifest made on the fly (the standard streams
 * passed through, no limits) and the program's exit status instead of a
 * report, like `wasmtime run`; `--invoke NAME ARG...` calls one export.
 *
 * The guest runs on its own thread whose stack has a guard region, so
 * runaway recursion is a trap; a watchdog raises the instance's
 * interruption flag at the deadline and the guest stops at its next safe
 * point.
 */
#include "engine/cmd.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *path;       /* the manifest or the program */
    int is_manifest;
    int usage_error;        /* --invoke with wrong arguments */
    const char *invoke;     /* --invoke NAME */
    char **args;            /* guest argv after the program, or invoke arguments */
    int n_args;
    double timeout_s;       /* 0: none */
    uint64_t memory_bytes;  /* 0: the module's own limit */
    int json;               /* --report=json */
    zv_eng_opts opts;
    zv_cfg_manifest *man;
    zv_eng_module *mod;
    zv_eng_session *session;
    /* the run's outcome */
    int trap, user_code;
    double cpu_s;
    char status[256];
    char memory_etag[65];
    /* watchdog */
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    zv_ctx *running; /* guarded by lock */
    pthread_t guest; /* the thread running it, valid while running */
} run_job;

static void usage(void)
{
    fprintf(stderr, "usage: zvm run [--report=json] [--cache DIR] MANIFEST\n"
                    "       zvm run [--timeout S] [--memory BYTES] [--cache DIR] PROG.wasm [ARGS...]\n"
                    "       zvm run [options] --invoke NAME [ARG...] PROG.wasm\n");
}

/* ---- typed arguments and results (--invoke) ------------------------------------------ */

static int parse_int(const char *s, uint64_t *out, int bits)
{
    char *end;
    int neg = s[0] == '-';
    uint64_t v;
    errno = 0;
    v = strtoull(neg ? s + 1 : s, &end, 0);
    if (errno || *end || end == s || (neg && !s[1]))
        return -1;
    if (bits == 32 && v > (neg ? 0x80000000ull : 0xffffffffull))
        return -1;
    *out = neg ? 0 - v : v;
    return 0;
}

/* Floats: decimal, inf, nan (any sign), or raw bits written 0x... */
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
    if (is32)
        v->f32 = strtof(s, &end);
    else
        v->f64 = strtod(s, &end);
    return *end || end == s ? -1 : 0;
}

/* v128: 0x and 32 hex digits, the most significant first, as printed. */
static int parse_v128(const char *s, zv_value *v)
{
    char half[17];
    char *end;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || strlen(s) != 34 ||
        strspn(s + 2, "0123456789abcdefABCDEF") != 32)
        return -1;
    for (int i = 0; i < 2; i++) {
        memcpy(half, s + 2 + 16 * i, 16);
        half[16] = 0;
        v->v128[1 - i] = strtoull(half, &end, 16);
    }
    return 0;
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
    case ZV_I64: return parse_int(s, &v->i64, 64);
    case ZV_F32: return parse_float(s, v, 1);
    case ZV_F64: return parse_float(s, v, 0);
    case ZV_V128: return parse_v128(s, v);
    default: return -1; /* references cannot be written on a command line */
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
    default: printf("%s:%s\n", zv_val_type_name(type), v->ref ? "non-null" : "null"); break;
    }
}

/* ---- running ------------------------------------------------------------------------------ */

static int call_export(run_job *j, zv_eng_instance *inst, zv_eng_err *err)
{
    const zv_val_module *info = zv_eng_module_info(j->mod);
    const char *name = j->invoke ? j->invoke : "_start";
    zv_value args[64], results[64];
    zv_eng_extern ext;
    uint32_t type_idx = 0;
    const zv_val_functype *ft;
    int rc;
    if (zv_eng_instance_export(inst, name, strlen(name), &ext, &type_idx) ||
        ext.kind != ZV_EXT_FUNC) {
        snprintf(j->status, sizeof j->status, "no exported function \"%s\"", name);
        return -ENOENT;
    }
    ft = &info->types[type_idx];
    if (ft->n_params > 64 || ft->n_results > 64 || (!j->invoke && ft->n_params)) {
        snprintf(j->status, sizeof j->status, "\"%s\" has an unsupported signature", name);
        return -EINVAL;
    }
    if (j->invoke && (uint32_t)j->n_args != ft->n_params) {
        snprintf(j->status, sizeof j->status, "\"%s\" takes %u arguments, %d given", name,
                 ft->n_params, j->n_args);
        j->usage_error = 1;
        return -E2BIG;
    }
    for (uint32_t i = 0; j->invoke && i < ft->n_params; i++)
        if (parse_arg(j->args[i], ft->params[i], &args[i])) {
            snprintf(j->status, sizeof j->status, "argument %u (\"%s\") is not a valid %s", i + 1,
                     j->args[i], zv_val_type_name(ft->params[i]));
            j->usage_error = 1;
            return -E2BIG;
        }
    rc = zv_eng_call(inst, ext.func, type_idx, args, results, err);
    for (uint32_t i = 0; rc == 0 && j->invoke && i < ft->n_results; i++)
        print_result(ft->results[i], &results[i]);
    return rc;
}

static void memory_etag(run_job *j, zv_eng_instance *inst)
{
    zv_ctx *ctx = zv_eng_instance_ctx(inst);
    uint8_t d[32];
    unsigned len = 0;
    if (!j->man->memory_etag || !ctx->memory ||
        !EVP_Digest(ctx->mem, ctx->memory->size_bytes, d, &len, EVP_sha256(), NULL))
        return;
    for (int i = 0; i < 32; i++)
        snprintf(j->memory_etag + 2 * i, 3, "%02x", d[i]);
}

/* The guest thread: instantiate, run, record the outcome. Returns 0 when
 * the guest ran (whatever it did), or -errno when it could not start. */
static int guest_main(void *p)
{
    run_job *j = p;
    zv_eng_limits limits = {(uint32_t)(j->man->memory_bytes / 65536)};
    zv_eng_instance *inst = NULL;
    zv_eng_err err = {0};
    struct timespec t0, t1;
    int rc;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    rc = zv_eng_instance_new(j->mod, &limits, zv_eng_session_resolve, j->session, j->session,
                             &inst, &err);
    if (rc == 0) {
        pthread_mutex_lock(&j->lock);
        j->running = zv_eng_instance_ctx(inst);
        j->guest = pthread_self();
        pthread_mutex_unlock(&j->lock);
        rc = call_export(j, inst, &err);
    }
    if (rc == -EFAULT) { /* trapped, or exited */
        j->trap = err.trap == ZV_TRAP_EXIT ? 0 : err.trap;
        j->user_code = err.trap == ZV_TRAP_EXIT ? err.exit_code : 0;
        if (j->trap)
            snprintf(j->status, sizeof j->status, "%s", zv_eng_trap_name(j->trap));
        rc = 0;
    } else if (rc && !j->status[0]) {
        snprintf(j->status, sizeof j->status, "%s", err.msg);
    }
    if (inst && !j->trap) /* after a trap memory is not defined (rt_abi.h) */
        memory_etag(j, inst);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    j->cpu_s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fflush(stdout);
    pthread_mutex_lock(&j->lock);
    j->running = NULL;
    j->done = 1;
    pthread_cond_signal(&j->done_cv);
    pthread_mutex_unlock(&j->lock);
    zv_eng_instance_free(inst);
    return rc;
}

/* Raises the interruption flag once the deadline passes. */
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
    while (!j->done)
        if (pthread_cond_timedwait(&j->done_cv, &j->lock, &deadline) == ETIMEDOUT)
            break;
    while (!j->done) { /* the instance may not exist yet: keep raising the flag */
        if (j->running) { /* the flag stops polls; the signal stops loops */
            j->running->interrupt = 1;
            pthread_kill(j->guest, ZV_ENG_INTERRUPT_SIGNAL);
        }
        pthread_mutex_unlock(&j->lock);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        pthread_mutex_lock(&j->lock);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

static int run_guest(run_job *j)
{
    pthread_t dog;
    int rc;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->done_cv, NULL);
    if (j->timeout_s > 0)
        pthread_create(&dog, NULL, watchdog, j);
    rc = zv_eng_run_guest_thread(guest_main, j, 8u << 20);
    if (j->timeout_s > 0)
        pthread_join(dog, NULL);
    return rc;
}

/* ---- the report ---------------------------------------------------------------------- */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* ZeroVM's report: validator state, daemon flag, user exit code, etags,
 * accounting, status, an empty line (or one JSON object). */
static void report(run_job *j, const zv_eng_totals *t, int validator_state, int exit_code)
{
    const char *status = j->status[0] ? j->status : "ok";
    if (j->json) {
        printf("{\"validator\": %d, \"daemon\": 0, \"user_code\": %d, \"etags\": {",
               validator_state, j->user_code);
        for (uint32_t i = 0; i < t->n_etags; i++) {
            printf("%s", i ? ", " : "");
            json_str(t->etag_alias[i]);
            printf(": \"%s\"", t->etag_hex[i]);
        }
        if (j->memory_etag[0])
            printf("%s\"memory\": \"%s\"", t->n_etags ? ", " : "", j->memory_etag);
        printf("}, \"accounting\": {\"cpu_seconds\": %.2f, \"gets\": %lld, \"get_bytes\": %lld, "
               "\"puts\": %lld, \"put_bytes\": %lld}, \"status\": ",
               j->cpu_s, (long long)t->gets, (long long)t->get_bytes, (long long)t->puts,
               (long long)t->put_bytes);
        json_str(status);
        printf(", \"exit_code\": %d}\n", exit_code);
        return;
    }
    printf("%d\n0\n%d\n", validator_state, j->user_code);
    for (uint32_t i = 0; i < t->n_etags; i++)
        printf("%s%s %s", i ? " " : "", t->etag_alias[i], t->etag_hex[i]);
    if (j->memory_etag[0])
        printf("%smemory %s", t->n_etags ? " " : "", j->memory_etag);
    if (!t->n_etags && !j->memory_etag[0])
        printf("disabled");
    printf("\n%.2f %lld %lld %lld %lld\n%s\n\n", j->cpu_s, (long long)t->gets,
           (long long)t->get_bytes, (long long)t->puts, (long long)t->put_bytes, status);
}

/* ---- the two entry paths ------------------------------------------------------------------- */

/* Load the program named by the manifest: 2 if missing, 8 if invalid. */
static int load_program(run_job *j, int *validator_state)
{
    char path[4096];
    zv_cmd_file f;
    zv_eng_err err = {0};
    int rc;
    zv_cfg_resolve(j->man, j->man->program, path, sizeof path);
    if (zv_cmd_read(path, &f))
        return ZV_CFG_EXIT_NO_PROGRAM;
    rc = zv_eng_module_load(f.data, f.size, &j->opts, &j->mod, NULL, &err);
    zv_cmd_release(&f);
    if (rc == -EINVAL || rc == -EPERM) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        snprintf(j->status, sizeof j->status, "validation failed: %s", err.msg);
        *validator_state = 1;
        return ZV_CFG_EXIT_INVALID;
    }
    if (rc) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        snprintf(j->status, sizeof j->status, "%s", err.msg);
        return 2;
    }
    return 0;
}

/* Everything after the manifest is known: returns zvm's exit status. */
static int session(run_job *j)
{
    zv_eng_totals totals;
    zv_eng_err err = {0};
    int validator_state = 0, code, rc;
    const zv_val_module *info;
    memset(&totals, 0, sizeof totals);
    if (j->is_manifest)
        j->timeout_s = j->man->timeout_s;
    if ((code = load_program(j, &validator_state)))
        goto report;
    info = zv_eng_module_info(j->mod);
    if (info->n_memories && (uint64_t)info->memories[0].min * 65536 > j->man->memory_bytes) {
        snprintf(j->status, sizeof j->status, "the program needs %llu bytes of memory, Memory "
                 "allows %llu", (unsigned long long)info->memories[0].min * 65536,
                 (unsigned long long)j->man->memory_bytes);
        code = ZV_CFG_EXIT_MEMORY;
        goto report;
    }
    if ((rc = zv_eng_session_new(j->man, &j->session, &err))) {
        snprintf(j->status, sizeof j->status, "%s", err.msg);
        code = rc == -ENOTSUP ? ZV_CFG_EXIT_SOURCE : rc == -EINVAL ? ZV_CFG_EXIT_ZERO_LIMITS
                                                                  : (-rc) & 0xff;
        goto report;
    }
    if ((rc = run_guest(j)) < 0) {
        code = 1;
        goto report;
    }
    code = j->trap ? 4 : j->status[0] ? 1 : 0;
    zv_eng_session_finish(j->session, &totals);
report:
    if (code && code != 4 && !j->is_manifest)
        fprintf(stderr, "%s: %s\n", j->path, j->status);
    if (j->is_manifest)
        report(j, &totals, validator_state, code);
    fflush(stdout);
    return code;
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
        if (!strcmp(o, "--report=json")) {
            j->json = 1;
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
            if (*end || j->memory_bytes < 65536)
                return -1;
        } else if (!strcmp(o, "--cache")) {
            j->opts.cache_dir = val;
        } else if (!strcmp(o, "--invoke")) {
            j->invoke = val;
        } else {
            return -1;
        }
    }
    if (i >= argc)
        return -1;
    if (j->invoke) { /* --invoke NAME ARG... PROG.wasm: the program comes last */
        j->path = argv[argc - 1];
        j->args = argv + i;
        j->n_args = argc - 1 - i;
    } else {
        j->path = argv[i];
        j->args = argv + i + 1;
        j->n_args = argc - i - 1;
    }
    return 0;
}

/* A manifest made on the fly for `zvm run PROG.wasm ARGS...`. */
static void program_manifest(run_job *j, zv_cfg_manifest *m, zv_cfg_channel ch[3], char **argv)
{
    static char *const std[3] = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 3; i++) {
        memset(&ch[i], 0, sizeof ch[i]);
        ch[i].uri = ch[i].alias = std[i];
        for (int k = 0; k < 4; k++)
            ch[i].limits[k] = (i == 0) == (k < 2) ? INT64_MAX : 0;
    }
    argv[0] = (char *)j->path;
    for (int i = 0; !j->invoke && i < j->n_args; i++)
        argv[i + 1] = j->args[i];
    argv[j->invoke ? 1 : j->n_args + 1] = NULL;
    m->program = (char *)j->path;
    m->memory_bytes = j->memory_bytes ? j->memory_bytes : 65536ull * 65536;
    m->timeout_s = 0;
    m->channels = ch;
    m->n_channels = 3;
    m->etag = 0;
    m->args = argv;
    m->n_args = j->invoke ? 1 : (uint32_t)j->n_args + 1;
    m->time_s = 1370908800; /* 2013-06-11, ZeroVM's manifest version */
    m->dir = ".";
}

int zv_cmd_run(int argc, char **argv)
{
    run_job j;
    zv_cmd_file f;
    zv_cfg_err cerr = {0};
    int rc;
    memset(&j, 0, sizeof j);
    j.opts.policy = &zv_val_default_policy;
    if (parse_options(argc, argv, &j)) {
        usage();
        return 2;
    }
    if (zv_cmd_read(j.path, &f))
        return 2;
    j.is_manifest = f.size < 4 || memcmp(f.data, "\0asm", 4);
    zv_cmd_release(&f);
    if (j.is_manifest) {
        if ((rc = zv_cfg_load(j.path, &j.man, &cerr))) {
            if (cerr.line)
                fprintf(stderr, "MANIFEST %d: %s\n", cerr.line, cerr.msg);
            else
                fprintf(stderr, "MANIFEST: %s\n", cerr.msg);
            return cerr.exit_code ? cerr.exit_code : ZV_CFG_EXIT_MANIFEST;
        }
        rc = session(&j);
        zv_cfg_free(j.man);
    } else {
        zv_cfg_manifest m;
        zv_cfg_channel ch[3];
        char **gargv = calloc((size_t)j.n_args + 2, sizeof *gargv);
        if (!gargv)
            return 2;
        program_manifest(&j, &m, ch, gargv);
        j.man = &m;
        rc = session(&j);
        free(gargv);
        if (rc == 4) { /* a trap: 128 + its code, the cause on stderr */
            if (j.invoke)
                printf("trap: %s\n", zv_eng_trap_name(j.trap));
            fprintf(stderr, "%s: trap: %s\n", j.path, zv_eng_trap_name(j.trap));
            rc = 128 + j.trap;
        } else if (rc == 0) {
            rc = j.user_code & 0xff;
        } else if (j.usage_error) {
            rc = 2;
        } else if (rc == ZV_CFG_EXIT_INVALID) {
            rc = 1;
        }
    }
    zv_eng_session_free(j.session);
    zv_eng_module_free(j.mod);
    return rc;
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
