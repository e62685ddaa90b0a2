/*
 * spec_exec.c — execution conformance against the official core 2.0 suite:
 * module, register, action, assert_return (nan:canonical/arithmetic too),
 * assert_trap, assert_exhaustion, assert_unlinkable, assert_uninstantiable,
 * and the exception handling proposal's assert_exception (an uncaught
 * exception, which zvm reports as that trap), run through the real engine
 * (translator, cc, cache, runtime), with the `spectest` host module.
 *
 * Phase 1 converts every .wast with wast2json and compiles every module at
 * -O0 into a cache, on all cores in parallel; phase 2 replays each file's
 * commands in order on a guest thread (so stack overflow is a trap). Prints
 * each failure as FILE:LINE, then `N passed, N failed, N skipped`. Each
 * instantiation and call has a time limit (the pool's watchdog), so a
 * guest that spins where it should trap fails its own line as a timeout
 * instead of hanging the run.
 *
 * Usage: spec_exec [-O0|-O2] [SPEC_DIR] [FILTER]   (FILTER: only files
 * containing it). -O2 (the default) is the level the cache builds for
 * users; -O0 is the quick level.
 */
#include "engine/engine.h"
#include "prefork/prefork.h"
#include "json.h"
#include "wast.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Far above any command of the suite (each takes well under a second). */
#define CALL_LIMIT_NS (30ull * 1000000000ull)

typedef struct {
    long passed, failed, skipped;
} totals;

typedef struct {
    char name[128];
    zv_eng_instance *inst;
} named;

/* State of one .wast file's run. */
typedef struct {
    const char *file, *dir;
    zv_eng_opts opts;
    totals *t;
    zv_eng_module *mods[4096];
    zv_eng_instance *insts[4096];
    int n_mods, n_insts;
    named names[256], registered[256];
    int n_names, n_registered;
    zv_eng_instance *current;
    zv_pf_watch *watch; /* the time limit of each instantiation and call */
    /* spectest */
    zv_table *table;
    zv_memory *memory;
    zv_value g_i32, g_i64, g_f32, g_f64;
} run;

static void fail(run *r, const spec_json *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(run *r, const spec_json *cmd, const char *fmt, ...)
{
    const spec_json *line = spec_json_get(cmd, "line");
    va_list ap;
    r->t->failed++;
    printf("FAIL %s:%s: %s: ", r->file, line ? line->str : "?", spec_json_str(cmd, "type"));
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* ---- spectest ---------------------------------------------------------------- */
static void print0(zv_ctx *c) { (void)c; }
static void print_i32(zv_ctx *c, uint32_t a) { (void)c, (void)a; }
static void print_i64(zv_ctx *c, uint64_t a) { (void)c, (void)a; }
static void print_f32(zv_ctx *c, float a) { (void)c, (void)a; }
static void print_f64(zv_ctx *c, double a) { (void)c, (void)a; }
static void print_i32_f32(zv_ctx *c, uint32_t a, float b) { (void)c, (void)a, (void)b; }
static void print_f64_f64(zv_ctx *c, double a, double b) { (void)c, (void)a, (void)b; }

static int spectest(run *r, const char *name, zv_eng_extern *out)
{
    static const struct {
        const char *name;
        void *fn;
        const char *sig;
    } funcs[] = {
        {"print", (void *)print0, ":"},
        {"print_i32", (void *)print_i32, "i:"},
        {"print_i64", (void *)print_i64, "I:"},
        {"print_f32", (void *)print_f32, "f:"},
        {"print_f64", (void *)print_f64, "F:"},
        {"print_i32_f32", (void *)print_i32_f32, "if:"},
        {"print_f64_f64", (void *)print_f64_f64, "FF:"},
    };
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        if (strcmp(name, funcs[i].name))
            continue;
        out->kind = ZV_EXT_FUNC;
        out->host_fn = funcs[i].fn;
        out->host_sig = funcs[i].sig;
        return 0;
    }
    out->kind = ZV_EXT_GLOBAL;
    if (!strcmp(name, "global_i32"))
        out->global = &r->g_i32, out->global_type = ZV_I32;
    else if (!strcmp(name, "global_i64"))
        out->global = &r->g_i64, out->global_type = ZV_I64;
    else if (!strcmp(name, "global_f32"))
        out->global = &r->g_f32, out->global_type = ZV_F32;
    else if (!strcmp(name, "global_f64"))
        out->global = &r->g_f64, out->global_type = ZV_F64;
    else if (!strcmp(name, "table"))
        out->kind = ZV_EXT_TABLE, out->table = r->table;
    else if (!strcmp(name, "memory"))
        out->kind = ZV_EXT_MEMORY, out->memory = r->memory;
    else
        return -ENOENT;
    return 0;
}

static zv_eng_instance *find(named *list, int n, const char *name)
{
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(list[i].name, name))
            return list[i].inst;
    return NULL;
}

static int resolve(void *arg, const zv_val_import *im, zv_eng_extern *out)
{
    run *r = arg;
    char mod[256], name[256];
    zv_eng_instance *inst;
    snprintf(mod, sizeof mod, "%.*s", (int)im->module_len, im->module);
    snprintf(name, sizeof name, "%.*s", (int)im->name_len, im->name);
    if (!strcmp(mod, "spectest"))
        return spectest(r, name, out);
    if (!(inst = find(r->registered, r->n_registered, mod)))
        return -ENOENT;
    return zv_eng_instance_export(inst, im->name, im->name_len, out, NULL);
}

/* ---- values ------------------------------------------------------------------- */

static uint8_t type_of(const char *s)
{
    if (!strcmp(s, "i32")) return ZV_I32;
    if (!strcmp(s, "i64")) return ZV_I64;
    if (!strcmp(s, "f32")) return ZV_F32;
    if (!strcmp(s, "f64")) return ZV_F64;
    if (!strcmp(s, "v128")) return ZV_V128;
    if (!strcmp(s, "funcref")) return ZV_FUNCREF;
    if (!strcmp(s, "externref")) return ZV_EXTERNREF;
    return 0;
}

static int lane_bits(const char *lane_type)
{
    return lane_type[1] == '8' ? 8 : lane_type[1] == '1' ? 16 : lane_type[1] == '3' ? 32 : 64;
}

static void put_lane(zv_value *v, int bits, int i, uint64_t x)
{
    uint8_t *b = (uint8_t *)&v->v128;
    memcpy(b + i * bits / 8, &x, (size_t)bits / 8); /* little-endian host */
}

static uint64_t get_lane(const zv_value *v, int bits, int i)
{
    uint64_t x = 0;
    memcpy(&x, (const uint8_t *)&v->v128 + i * bits / 8, (size_t)bits / 8);
    return x;
}

static int parse_value(const spec_json *j, zv_value *v)
{
    const char *type = spec_json_str(j, "type");
    const spec_json *val = spec_json_get(j, "value");
    memset(v, 0, sizeof *v);
    switch (type_of(type ? type : "")) {
    case ZV_I32: case ZV_F32: v->i32 = (uint32_t)strtoull(val->str, NULL, 10); return 0;
    case ZV_I64: case ZV_F64: v->i64 = strtoull(val->str, NULL, 10); return 0;
    case ZV_V128: {
        int bits = lane_bits(spec_json_str(j, "lane_type")), i = 0;
        for (const spec_json *l = val->child; l; l = l->next, i++)
            put_lane(v, bits, i, strtoull(l->str, NULL, 10));
        return 0;
    }
    case ZV_FUNCREF: case ZV_EXTERNREF:
        v->ref = !strcmp(val->str, "null") ? NULL : (void *)(uintptr_t)(strtoull(val->str, NULL, 10) + 1);
        return 0;
    default:
        return -1;
    }
}

/* Does `got` (bits) match the expected float text, NaN patterns included? */
static int float_matches(uint64_t got, const char *want, int bits)
{
    uint64_t exp_mask = bits == 32 ? 0x7f800000u : 0x7ff0000000000000ull;
    uint64_t quiet = bits == 32 ? 0x00400000u : 0x0008000000000000ull;
    uint64_t sign = bits == 32 ? 0x80000000u : 0x8000000000000000ull;
    if (!strcmp(want, "nan:canonical"))
        return (got & ~sign) == (exp_mask | quiet);
    if (!strcmp(want, "nan:arithmetic"))
        return (got & exp_mask) == exp_mask && (got & quiet);
    return got == strtoull(want, NULL, 10);
}

static int value_matches(const spec_json *j, const zv_value *got, char *why, size_t n)
{
    const char *type = spec_json_str(j, "type");
    const spec_json *val = spec_json_get(j, "value");
    switch (type_of(type ? type : "")) {
    case ZV_I32:
        snprintf(why, n, "i32 got 0x%08x want %s", got->i32, val->str);
        return got->i32 == (uint32_t)strtoull(val->str, NULL, 10);
    case ZV_I64:
        snprintf(why, n, "i64 got 0x%016llx want %s", (unsigned long long)got->i64, val->str);
        return got->i64 == strtoull(val->str, NULL, 10);
    case ZV_F32:
        snprintf(why, n, "f32 got 0x%08x want %s", got->i32, val->str);
        return float_matches(got->i32, val->str, 32);
    case ZV_F64:
        snprintf(why, n, "f64 got 0x%016llx want %s", (unsigned long long)got->i64, val->str);
        return float_matches(got->i64, val->str, 64);
    case ZV_V128: {
        const char *lt = spec_json_str(j, "lane_type");
        int bits = lane_bits(lt), i = 0;
        snprintf(why, n, "v128 got %016llx%016llx (%s lanes)",
                 (unsigned long long)got->v128[1], (unsigned long long)got->v128[0], lt);
        for (const spec_json *l = val->child; l; l = l->next, i++) {
            uint64_t x = get_lane(got, bits, i);
            if (lt[0] == 'f' ? !float_matches(x, l->str, bits)
                             : x != (strtoull(l->str, NULL, 10) & (bits == 64 ? ~0ull : (1ull << bits) - 1)))
                return 0;
        }
        return 1;
    }
    case ZV_FUNCREF: case ZV_EXTERNREF:
        snprintf(why, n, "%s got %p want %s", type, got->ref, val->str);
        if (!strcmp(val->str, "null"))
            return got->ref == NULL;
        if (type_of(type) == ZV_FUNCREF)
            return got->ref != NULL;
        return got->ref == (void *)(uintptr_t)(strtoull(val->str, NULL, 10) + 1);
    default:
        snprintf(why, n, "unknown expected type");
        return 0;
    }
}

/* ---- commands ----------------------------------------------------------------- */

static int load(run *r, const char *file, zv_eng_module **out, zv_eng_err *err)
{
    char path[4200];
    size_t size = 0;
    char *bytes;
    int rc;
    snprintf(path, sizeof path, "%s/%s", r->dir, file);
    if (!(bytes = spec_slurp(path, &size))) {
        snprintf(err->msg, sizeof err->msg, "cannot read %s", path);
        return -EIO;
    }
    rc = zv_eng_module_load((const uint8_t *)bytes, size, &r->opts, out, NULL, err);
    free(bytes);
    if (rc == 0 && r->n_mods < 4096)
        r->mods[r->n_mods++] = *out;
    return rc;
}

static int instantiate(run *r, const char *file, zv_eng_instance **out, zv_eng_err *err)
{
    zv_eng_module *m;
    int rc = load(r, file, &m, err);
    *out = NULL;
    if (rc)
        return rc;
    zv_pf_watch_start(r->watch, CALL_LIMIT_NS);
    rc = zv_eng_instance_new(m, NULL, resolve, r, NULL, out, err);
    zv_pf_watch_stop(r->watch);
    if (*out && r->n_insts < 4096)
        r->insts[r->n_insts++] = *out; /* kept: its functions may live in other tables */
    return rc;
}

static zv_eng_instance *target(run *r, const spec_json *action)
{
    const char *name = spec_json_str(action, "module");
    return name ? find(r->names, r->n_names, name) : r->current;
}

/* Perform an invoke or get; results into res (max 64). */
static int perform(run *r, const spec_json *action, zv_value *res, uint32_t *n_res,
                   zv_eng_err *err)
{
    const char *type = spec_json_str(action, "type"), *field = spec_json_str(action, "field");
    const spec_json *field_node = spec_json_get(action, "field");
    zv_eng_instance *inst = target(r, action);
    zv_eng_extern ext;
    uint32_t type_idx = 0;
    if (!inst || zv_eng_instance_export(inst, field, field_node->len, &ext, &type_idx)) {
        snprintf(err->msg, sizeof err->msg, "no export \"%s\"", field);
        return -ENOENT;
    }
    if (!strcmp(type, "get")) {
        res[0] = *ext.global;
        *n_res = 1;
        return 0;
    } else {
        const zv_val_functype *ft = &zv_eng_instance_info(inst)->types[type_idx];
        zv_value args[64];
        int i = 0;
        for (const spec_json *a = spec_json_get(action, "args")->child; a && i < 64; a = a->next)
            parse_value(a, &args[i++]);
        *n_res = ft->n_results;
        memset(res, 0, 64 * sizeof *res);
        zv_pf_watch_start(r->watch, CALL_LIMIT_NS);
        int rc = zv_eng_call(inst, ext.func, type_idx, args, res, err);
        zv_pf_watch_stop(r->watch);
        return rc;
    }
}

static void cmd_assert_return(run *r, const spec_json *cmd)
{
    zv_value res[64];
    uint32_t n = 0, i = 0;
    zv_eng_err err = {0};
    char why[256];
    int rc = perform(r, spec_json_get(cmd, "action"), res, &n, &err);
    if (rc) {
        fail(r, cmd, "%s", err.msg);
        return;
    }
    for (const spec_json *e = spec_json_get(cmd, "expected")->child; e; e = e->next, i++) {
        if (i >= n || !value_matches(e, &res[i], why, sizeof why)) {
            fail(r, cmd, "result %u: %s", i, i >= n ? "missing" : why);
            return;
        }
    }
    r->t->passed++;
}

/* want: 0 any trap (the text names it), else that trap */
static void cmd_assert_trap(run *r, const spec_json *cmd, int want)
{
    zv_value res[64];
    uint32_t n = 0;
    zv_eng_err err = {0};
    int rc = perform(r, spec_json_get(cmd, "action"), res, &n, &err);
    const char *text = want ? zv_eng_trap_name(want) : spec_json_str(cmd, "text");
    if (rc != -EFAULT)
        fail(r, cmd, "expected trap \"%s\", got %s", text, rc ? err.msg : "no trap");
    else if (want && err.trap != want)
        fail(r, cmd, "expected %s, got trap %s", text, err.msg);
    else if (want == ZV_TRAP_EXCEPTION)
        r->t->passed++;
    else if (strncmp(spec_json_str(cmd, "text"), zv_eng_trap_name(err.trap),
                     strlen(zv_eng_trap_name(err.trap))))
        fail(r, cmd, "expected trap \"%s\", got \"%s\"", spec_json_str(cmd, "text"),
             zv_eng_trap_name(err.trap));
    else
        r->t->passed++;
}

static void cmd_module(run *r, const spec_json *cmd)
{
    zv_eng_instance *inst;
    zv_eng_err err = {0};
    const char *name = spec_json_str(cmd, "name");
    int rc = instantiate(r, spec_json_str(cmd, "filename"), &inst, &err);
    if (rc) {
        fail(r, cmd, "%s", err.msg);
        r->current = NULL;
        return;
    }
    r->current = inst;
    if (name && r->n_names < 256) {
        snprintf(r->names[r->n_names].name, sizeof r->names[0].name, "%s", name);
        r->names[r->n_names++].inst = inst;
    }
    r->t->passed++;
}

static void cmd_register(run *r, const spec_json *cmd)
{
    const char *name = spec_json_str(cmd, "name"), *as = spec_json_str(cmd, "as");
    zv_eng_instance *inst = name ? find(r->names, r->n_names, name) : r->current;
    if (!inst || r->n_registered >= 256) {
        fail(r, cmd, "nothing to register");
        return;
    }
    snprintf(r->registered[r->n_registered].name, sizeof r->registered[0].name, "%s", as);
    r->registered[r->n_registered++].inst = inst;
    r->t->passed++;
}

static void cmd_instantiate_fails(run *r, const spec_json *cmd, int want)
{
    zv_eng_instance *inst;
    zv_eng_err err = {0};
    int rc = instantiate(r, spec_json_str(cmd, "filename"), &inst, &err);
    const char *text = spec_json_str(cmd, "text");
    if (rc != want)
        fail(r, cmd, "expected %s, got %s", want == -ENOLINK ? "a link error" : "a trap",
             rc ? err.msg : "success");
    else if (want == -EFAULT && strncmp(text, zv_eng_trap_name(err.trap),
                                        strlen(zv_eng_trap_name(err.trap))))
        fail(r, cmd, "expected trap \"%s\", got \"%s\"", text, zv_eng_trap_name(err.trap));
    else
        r->t->passed++;
}

static void command(run *r, const spec_json *cmd)
{
    const char *type = spec_json_str(cmd, "type");
    zv_value res[64];
    uint32_t n;
    zv_eng_err err = {0};
    if (!strcmp(type, "module"))
        cmd_module(r, cmd);
    else if (!strcmp(type, "register"))
        cmd_register(r, cmd);
    else if (!strcmp(type, "action")) {
        if (perform(r, spec_json_get(cmd, "action"), res, &n, &err))
            fail(r, cmd, "%s", err.msg);
        else
            r->t->passed++;
    } else if (!strcmp(type, "assert_return"))
        cmd_assert_return(r, cmd);
    else if (!strcmp(type, "assert_trap"))
        cmd_assert_trap(r, cmd, 0);
    else if (!strcmp(type, "assert_exhaustion"))
        cmd_assert_trap(r, cmd, ZV_TRAP_EXHAUSTION);
    else if (!strcmp(type, "assert_exception"))
        cmd_assert_trap(r, cmd, ZV_TRAP_EXCEPTION);
    else if (!strcmp(type, "assert_unlinkable"))
        cmd_instantiate_fails(r, cmd, -ENOLINK);
    else if (!strcmp(type, "assert_uninstantiable"))
        cmd_instantiate_fails(r, cmd, -EFAULT);
    /* assert_invalid and assert_malformed: spec_validate's job */
}

/* ---- driver ------------------------------------------------------------------- */

typedef struct {
    const spec_json *doc;
    const char *file, *dir;
    zv_eng_opts *opts;
    totals *t;
    zv_pf_watch *watch;
} file_job;

static int run_file(void *p)
{
    file_job *job = p;
    run *r = calloc(1, sizeof *r);
    const spec_json *cmds = spec_json_get(job->doc, "commands");
    if (!r)
        return -ENOMEM;
    r->file = job->file;
    r->dir = job->dir;
    r->opts = *job->opts;
    r->t = job->t;
    r->watch = job->watch;
    zv_pf_watch_attach(r->watch); /* this guest thread's */
    zv_eng_table_new(ZV_FUNCREF, 10, 20, &r->table);
    r->g_i32.i32 = 666;
    r->g_i64.i64 = 666;
    r->g_f32.f32 = 666.6f;
    r->g_f64.f64 = 666.6;
    zv_eng_memory_new(1, 2, 1, &r->memory);
    for (const spec_json *c = cmds ? cmds->child : NULL; c; c = c->next)
        command(r, c);
    for (int i = 0; i < r->n_insts; i++)
        zv_eng_instance_free(r->insts[i]);
    for (int i = 0; i < r->n_mods; i++)
        zv_eng_module_free(r->mods[i]);
    zv_eng_table_free(r->table);
    zv_eng_memory_free(r->memory);
    free(r);
    return 0;
}

/* Phase 1: fill the cache with every module of every file, in parallel. */
typedef struct {
    char **paths;
    int n;
    int next; /* guarded by lock */
    pthread_mutex_t lock;
    zv_eng_opts *opts;
} precompile;

static void *precompile_worker(void *p)
{
    precompile *pc = p;
    for (;;) {
        int i;
        char *bytes, path[4200];
        size_t size = 0;
        int cached;
        zv_eng_err err = {0};
        pthread_mutex_lock(&pc->lock);
        i = pc->next++;
        pthread_mutex_unlock(&pc->lock);
        if (i >= pc->n)
            return NULL;
        if (!(bytes = spec_slurp(pc->paths[i], &size)))
            continue;
        zv_eng_compile((const uint8_t *)bytes, size, pc->opts, &cached, path, sizeof path, &err);
        free(bytes);
    }
}

static void collect_modules(const spec_json *doc, const char *dir, precompile *pc)
{
    const spec_json *cmds = spec_json_get(doc, "commands");
    for (const spec_json *c = cmds ? cmds->child : NULL; c; c = c->next) {
        const char *type = spec_json_str(c, "type"), *file = spec_json_str(c, "filename");
        char path[4200];
        if (!file || (strcmp(type, "module") && strcmp(type, "assert_unlinkable") &&
                      strcmp(type, "assert_uninstantiable")))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        pc->paths = realloc(pc->paths, (size_t)(pc->n + 1) * sizeof *pc->paths);
        pc->paths[pc->n++] = strdup(path);
    }
}

int main(int argc, char **argv)
{
    int fast = argc > 1 && !strcmp(argv[1], "-O0");
    if (argc > 1 && (fast || !strcmp(argv[1], "-O2")))
        argc--, argv++;
    const char *dir = spec_dir("spec_exec", argc, argv), *filter = argc > 2 ? argv[2] : NULL;
    char tmp[64], cache[128], **names;
    spec_json **docs;
    totals t = {0, 0, 0};
    zv_eng_opts opts = {0};
    precompile pc = {NULL, 0, 0, PTHREAD_MUTEX_INITIALIZER, &opts};
    long n_cpu = sysconf(_SC_NPROCESSORS_ONLN);
    pthread_t th[16];
    zv_pf_watchdog *wd;
    int n = spec_list(dir, &names), n_threads;

    if (n <= 0) {
        fprintf(stderr, "spec_exec: no .wast files in %s\n", dir);
        return 2;
    }
    if (spec_scratch(tmp, sizeof tmp))
        return 2;
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    opts.cache_dir = getenv("ZVM_SPEC_CACHE") ? getenv("ZVM_SPEC_CACHE") : cache;
    opts.fast_compile = fast;
    docs = calloc((size_t)n, sizeof *docs);
    for (int i = 0; i < n; i++) {
        char wast[4096], json[4096];
        size_t size;
        char *text;
        if (filter && !strstr(names[i], filter))
            continue;
        snprintf(wast, sizeof wast, "%s/%s", dir, names[i]);
        snprintf(json, sizeof json, "%s/%.*s.json", tmp, (int)strlen(names[i]) - 5, names[i]);
        if (spec_convert(wast, json) || !(text = spec_slurp(json, &size)) ||
            !(docs[i] = spec_json_parse(text))) {
            printf("FAIL %s: cannot convert with wast2json\n", names[i]);
            t.failed++;
            continue;
        }
        free(text);
        collect_modules(docs[i], tmp, &pc);
    }
    n_threads = n_cpu < 1 ? 1 : n_cpu > 16 ? 16 : (int)n_cpu;
    fprintf(stderr, "spec_exec: compiling %d modules at -O%d on %d threads\n", pc.n,
            fast ? 0 : 2, n_threads);
    for (int i = 0; i < n_threads; i++)
        pthread_create(&th[i], NULL, precompile_worker, &pc);
    for (int i = 0; i < n_threads; i++)
        pthread_join(th[i], NULL);
    if (zv_pf_watchdog_new(1, &wd)) {
        fprintf(stderr, "spec_exec: cannot start the watchdog\n");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        file_job job = {docs[i], names[i], tmp, &opts, &t, zv_pf_watchdog_slot(wd, 0)};
        if (!docs[i])
            continue;
        zv_eng_run_guest_thread(run_file, &job, 8u << 20);
        spec_json_free(docs[i]);
    }
    zv_pf_watchdog_free(wd);
    for (int i = 0; i < pc.n; i++)
        free(pc.paths[i]);
    free(pc.paths);
    free(docs);
    spec_free_names(names, n);
    if (!getenv("ZVM_SPEC_KEEP"))
        spec_scratch_remove(tmp);
    printf("%ld passed, %ld failed, %ld skipped\n", t.passed, t.failed, t.skipped);
    return t.failed ? 1 : 0;
}
