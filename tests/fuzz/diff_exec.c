/*
 * diff_exec.c — differential execution: random modules (gen_exec.c) run
 * under zvm, at the level users get (-O2, through the code cache) or any
 * other, and under wabt's interpreter (`wasm-interp --run-all-exports`);
 * every export's results or trap must agree.
 *
 * The exports run in order on one instance on both sides. After a trap,
 * the state of memory is not defined (see engine/rt_abi.h: stores of the
 * trapping function may or may not have landed), so each module is
 * compared up to and including its first trap.
 *
 *   diff_exec [--seed S] [--count N | --minutes M] [-O0|-O2] [--save DIR]
 *             [--tiers CC_A,CC_B]
 *   diff_exec --emit SEED FILE.wasm      (write one module, for debugging)
 *
 * With --tiers A,B zvm is compared with itself instead: the module is
 * built by C compiler A and by C compiler B (tcc, gcc, clang: the tiers
 * and ZVM_CC), and every export's results must have the same bits, NaN
 * payloads included (engine/rt_ops.h "NaN results"), and so must memory
 * and the mutable globals after each call (a hash of both). wasm-interp
 * cannot be the reference there: its NaN payloads are its own. The
 * modules are generated with GEN_RAW_NANS (gen_exec.h), and without SIMD
 * when one side is tcc, so that tcc builds them.
 *
 * With --node the reference is V8 (tests/fuzz/run_exports.cjs prints what
 * wasm-interp would) and the modules have the exception handling
 * instructions (GEN_EXCEPTIONS, gen_exec.h) and no SIMD (JavaScript cannot
 * take a v128). wasm-interp 1.0.32 cannot be the reference for those: its
 * interpreter fails an assertion when an exception lands in a function
 * with locals, which every generated function has. --tiers modules have
 * them too.
 *
 * Prints each divergence with its seed and export (and each module
 * the reference has not finished in 60 s, skipped), a progress line on a
 * terminal, then `N modules, N calls, N traps, N divergences`. Exit 0 when
 * nothing diverged, 1 otherwise, 77 when wasm-interp (node, or a compiler
 * of --tiers) is missing.
 */
#include "engine/engine.h"
#include "gen_exec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    long modules, calls, traps, divergences, skipped;
} totals;

/* Does the reference's trap message (wabt's, or V8's, which names some
 * pairs of traps alike) name zvm's cause? */
static int same_cause(const char *msg, int cause)
{
    static const struct {
        const char *prefix;
        int cause, or_cause;
    } map[] = {
        {"unreachable executed", ZV_TRAP_UNREACHABLE, -1},
        {"out of bounds memory access", ZV_TRAP_MEMORY_OOB, -1},
        {"out of bounds table access", ZV_TRAP_TABLE_OOB, -1},
        {"integer overflow", ZV_TRAP_INT_OVERFLOW, -1},
        {"integer divide by zero", ZV_TRAP_DIV_ZERO, -1},
        {"invalid conversion to integer", ZV_TRAP_INVALID_CONVERSION, -1},
        {"indirect call signature mismatch", ZV_TRAP_INDIRECT_TYPE, -1},
        {"uninitialized table element", ZV_TRAP_INDIRECT_NULL, -1},
        {"undefined table index", ZV_TRAP_INDIRECT_OOB, -1},
        {"call stack exhausted", ZV_TRAP_EXHAUSTION, -1},
        {"uncaught exception", ZV_TRAP_EXCEPTION, -1},
        /* V8 */
        {"unreachable", ZV_TRAP_UNREACHABLE, -1},
        {"memory access out of bounds", ZV_TRAP_MEMORY_OOB, -1},
        {"divide by zero", ZV_TRAP_DIV_ZERO, -1},
        {"remainder by zero", ZV_TRAP_DIV_ZERO, -1},
        {"divide result unrepresentable", ZV_TRAP_INT_OVERFLOW, -1},
        {"float unrepresentable in integer range", ZV_TRAP_INT_OVERFLOW,
         ZV_TRAP_INVALID_CONVERSION},
        {"null function or function signature mismatch", ZV_TRAP_INDIRECT_NULL,
         ZV_TRAP_INDIRECT_TYPE},
        {"table index is out of bounds", ZV_TRAP_INDIRECT_OOB, ZV_TRAP_TABLE_OOB},
        {"Maximum call stack size exceeded", ZV_TRAP_EXHAUSTION, -1},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strncmp(msg, map[i].prefix, strlen(map[i].prefix)))
            return cause == map[i].cause || cause == map[i].or_cause;
    return 0;
}

/* The reference: wasm-interp, or node running run_exports.cjs (--node). */
static int use_node;

/* ---- wabt's side ----------------------------------------------------------- */

/* A module wasm-interp has not finished in this long is skipped: a
 * generator bug must not stall a long session. */
#define WABT_LIMIT_MS 60000

/* Runs the reference on `wasm`; its stdout goes to `out`. Returns its exit
 * status, -1 if it could not run, -2 if it ran past WABT_LIMIT_MS. */
static int run_wabt(const char *wasm, const char *out)
{
    char *wabt[] = {"wasm-interp", "--run-all-exports", (char *)wasm, NULL};
    char *node[] = {"node", ZVM_RUN_EXPORTS_JS, (char *)wasm, NULL};
    char **argv = use_node ? node : wabt;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, rc;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -1;
    for (int waited_ms = 0;; waited_ms += 2) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited_ms >= WABT_LIMIT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- zvm's side -------------------------------------------------------------- */

typedef struct {
    zv_eng_module *mod;
    char (*lines)[512]; /* per export: "name() => ..." as wasm-interp prints it */
    uint32_t n;
    int state;          /* --tiers: each line ends with " state:HASH" after a call */
    char err[512];
} zvm_run;

/* FNV-1a over memory and the exported globals' bits: what a call left. */
static uint64_t state_hash(zv_eng_instance *inst, const zv_val_module *info)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint8_t *mem;
    uint64_t size = 0;
    if (zv_eng_instance_memory(inst, &mem, &size))
        size = 0;
    for (uint64_t i = 0; i < size; i++)
        h = (h ^ mem[i]) * 0x100000001b3ull;
    for (uint32_t i = 0; i < info->n_exports; i++) {
        const zv_val_export *e = &info->exports[i];
        zv_eng_extern ext;
        uint32_t type_idx;
        uint8_t bits[sizeof(zv_value)] = {0};
        if (e->kind != ZV_EXT_GLOBAL ||
            zv_eng_instance_export(inst, e->name, e->name_len, &ext, &type_idx))
            continue;
        memcpy(bits, ext.global, ext.global_type == ZV_V128 ? 16 : ext.global_type == ZV_I32 ||
                                                                     ext.global_type == ZV_F32
                                                                 ? 4
                                                                 : 8);
        for (size_t k = 0; k < sizeof bits; k++)
            h = (h ^ bits[k]) * 0x100000001b3ull;
    }
    return h;
}

static int no_imports(void *arg, const zv_val_import *im, zv_eng_extern *out)
{
    (void)arg, (void)im, (void)out;
    return -ENOENT;
}

static void format_result(char *s, size_t n, uint8_t type, const zv_value *v)
{
    if (type == ZV_I32) {
        snprintf(s, n, "i32:%" PRIu32, v->i32);
    } else if (type == ZV_I64) {
        snprintf(s, n, "i64:%" PRIu64, v->i64);
    } else {
        uint32_t w[4];
        memcpy(w, &v->v128, 16);
        snprintf(s, n, "v128 i32x4:0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32 " 0x%08" PRIx32,
                 w[0], w[1], w[2], w[3]);
    }
}

/* On a guest thread: instantiate, then call every export in order. */
static int zvm_guest(void *p)
{
    zvm_run *z = p;
    const zv_val_module *info = zv_eng_module_info(z->mod);
    zv_eng_instance *inst = NULL;
    zv_eng_err err = {0};
    if (zv_eng_instance_new(z->mod, NULL, no_imports, NULL, NULL, &inst, &err)) {
        snprintf(z->err, sizeof z->err, "instantiation failed: %s", err.msg);
        return -1;
    }
    for (uint32_t i = 0; i < info->n_exports; i++) {
        const zv_val_export *e = &info->exports[i];
        const zv_val_functype *ft;
        zv_eng_extern ext;
        uint32_t type_idx;
        zv_value res[4];
        char *line;
        int len;
        if (e->kind != ZV_EXT_FUNC)
            continue;
        line = z->lines[z->n++];
        len = snprintf(line, 512, "%.*s() =>", (int)e->name_len, e->name);
        zv_eng_instance_export(inst, e->name, e->name_len, &ext, &type_idx);
        ft = &info->types[type_idx];
        memset(&err, 0, sizeof err);
        if (zv_eng_call(inst, ext.func, type_idx, NULL, res, &err)) {
            snprintf(line + len, 512 - (size_t)len, " error: %s", zv_eng_trap_name(err.trap));
            continue;
        }
        for (uint32_t r = 0; r < ft->n_results; r++) {
            char v[128];
            format_result(v, sizeof v, ft->results[r], &res[r]);
            len += snprintf(line + len, 512 - (size_t)len, "%s %s", r ? "," : "", v);
        }
        if (z->state)
            snprintf(line + len, 512 - (size_t)len, " state:%016" PRIx64,
                     state_hash(inst, info));
    }
    zv_eng_instance_free(inst);
    return 0;
}

/* ---- comparison --------------------------------------------------------------- */

static void keep(uint64_t seed, const char *save, const char *wasm)
{
    char cmd[8300];
    if (!save)
        return;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/seed-%" PRIu64 ".wasm'", save, wasm,
             save, seed);
    if (system(cmd) != 0)
        fprintf(stderr, "diff_exec: cannot save the module in %s\n", save);
}

/* Compares wabt's output with zvm's lines up to the first trap. */
static void compare(uint64_t seed, const char *wabt_out, zvm_run *z, totals *t, const char *save,
                    const char *wasm)
{
    FILE *f = fopen(wabt_out, "r");
    char line[4096];
    uint32_t i = 0;
    int diverged = 0;
    while (f && i < z->n && fgets(line, sizeof line, f)) {
        const char *mine = z->lines[i++];
        const char *werr = strstr(line, "=> error: "), *zerr = strstr(mine, "=> error: ");
        line[strcspn(line, "\n")] = 0;
        t->calls++;
        if (werr || zerr) {
            int cause = -1;
            for (int c = 0; zerr && c < ZV_TRAP_COUNT; c++)
                if (!strcmp(zv_eng_trap_name(c), zerr + 10))
                    cause = c;
            int same = werr && zerr && same_cause(werr + 10, cause) &&
                       !strncmp(line, mine, (size_t)(werr - line));
            t->traps++;
            if (!same)
                diverged = 1, printf("DIVERGE seed %" PRIu64 ": %s [%s] zvm [%s]\n", seed,
                                     use_node ? "node" : "wabt", line, mine);
            break;
        }
        if (strcmp(line, mine)) {
            diverged = 1;
            printf("DIVERGE seed %" PRIu64 ": %s [%s] zvm [%s]\n", seed,
                   use_node ? "node" : "wabt", line, mine);
            break;
        }
    }
    if (f)
        fclose(f);
    if (!diverged && i == 0 && z->n > 0) {
        diverged = 1;
        printf("DIVERGE seed %" PRIu64 ": the reference printed nothing\n", seed);
    }
    if (diverged) {
        t->divergences++;
        keep(seed, save, wasm);
    }
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

static int write_file(const char *path, const buf *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b->p, 1, b->n, f) == b->n;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* Loads b with opts and runs every export into z (the caller frees
 * z->lines and z->mod). Returns 0, or -1 with z->err. */
static int run_zvm(const buf *b, const zv_eng_opts *opts, zvm_run *z)
{
    zv_eng_err err = {0};
    int cached;
    if (zv_eng_module_load(b->p, b->n, opts, &z->mod, &cached, &err)) {
        snprintf(z->err, sizeof z->err, "zvm cannot load the module: %s", err.msg);
        return -1;
    }
    z->lines = calloc(zv_eng_module_info(z->mod)->n_exports + 1, sizeof *z->lines);
    return zv_eng_run_guest_thread(zvm_guest, z, 8u << 20) ? -1 : 0;
}

/* --tiers: one module built by cc[0] and by cc[1]; every line must be
 * the same up to and including the first trap (after it, which stores
 * landed is not defined: rt_abi.h), where the state is not compared. */
static void one_tiers(uint64_t seed, const zv_eng_opts *base, const char *const cc[2],
                      const char *tmp, totals *t, const char *save)
{
    char wasm[4200];
    buf b = {0};
    zvm_run z[2] = {{.state = 1}, {.state = 1}};
    int diverged = 0;
    gen_exec_module_ex(seed, GEN_RAW_NANS | GEN_EXCEPTIONS |
                                 (!strcmp(cc[0], "tcc") || !strcmp(cc[1], "tcc") ? GEN_NO_SIMD
                                                                                 : 0),
                       &b);
    snprintf(wasm, sizeof wasm, "%s/m.wasm", tmp);
    if (write_file(wasm, &b)) {
        fprintf(stderr, "diff_exec: cannot write %s\n", wasm);
        exit(2);
    }
    t->modules++;
    for (int k = 0; k < 2 && !diverged; k++) {
        zv_eng_opts opts = *base;
        opts.cc = cc[k];
        if (run_zvm(&b, &opts, &z[k])) {
            printf("DIVERGE seed %" PRIu64 ": %s: %s\n", seed, cc[k], z[k].err);
            diverged = 1;
        }
    }
    for (uint32_t i = 0; !diverged && i < z[0].n; i++) {
        const char *a = z[0].lines[i], *bl = z[1].lines[i];
        const char *trap = strstr(a, "=> error: ");
        t->calls++;
        t->traps += trap != NULL;
        if (i >= z[1].n || strcmp(a, bl)) {
            diverged = 1;
            printf("DIVERGE seed %" PRIu64 ": %s [%s] %s [%s]\n", seed, cc[0], a, cc[1],
                   i < z[1].n ? bl : "");
        }
        if (trap)
            break;
    }
    if (diverged) {
        t->divergences++;
        keep(seed, save, wasm);
    }
    for (int k = 0; k < 2; k++) {
        free(z[k].lines);
        zv_eng_module_free(z[k].mod);
    }
    free(b.p);
    empty_dir(base->cache_dir);
}

/* One module: generate, run on both sides, compare. */
static void one(uint64_t seed, const zv_eng_opts *opts, const char *tmp, totals *t,
                const char *save)
{
    char wasm[4200], out[4200];
    buf b = {0};
    zvm_run z = {0};
    int st;
    gen_exec_module_ex(seed, use_node ? GEN_EXCEPTIONS | GEN_NO_SIMD : 0, &b);
    snprintf(wasm, sizeof wasm, "%s/m.wasm", tmp);
    snprintf(out, sizeof out, "%s/wabt.txt", tmp);
    if (write_file(wasm, &b)) {
        fprintf(stderr, "diff_exec: cannot write %s\n", wasm);
        exit(2);
    }
    t->modules++;
    if ((st = run_wabt(wasm, out)) == -2)
        printf("seed %" PRIu64 ": %s ran past %d s: skipped\n", seed,
               use_node ? "node" : "wasm-interp", WABT_LIMIT_MS / 1000);
    if (run_zvm(&b, opts, &z)) {
        printf("DIVERGE seed %" PRIu64 ": %s\n", seed, z.err);
        t->divergences++;
    } else if (st != 0 && st != 1) {
        t->skipped++; /* the reference itself failed (wasm-interp exits 1 after a trap) */
    } else {
        compare(seed, out, &z, t, save, wasm);
    }
    free(z.lines);
    zv_eng_module_free(z.mod);
    free(b.p);
    empty_dir(opts->cache_dir);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    long count = 0;
    double minutes = 0;
    const char *save = NULL, *tiers[2] = {NULL, NULL};
    static char tiers_arg[256];
    char tmp[] = "/tmp/zvm-diff-exec.XXXXXX", cache[64];
    zv_eng_opts opts = {0};
    totals t = {0};
    struct timespec t0, now;
    int tty = isatty(2);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--minutes") && i + 1 < argc)
            minutes = atof(argv[++i]);
        else if (!strcmp(argv[i], "--save") && i + 1 < argc)
            save = argv[++i];
        else if (!strcmp(argv[i], "--tiers") && i + 1 < argc &&
                 strlen(argv[i + 1]) < sizeof tiers_arg && strchr(argv[i + 1], ',')) {
            snprintf(tiers_arg, sizeof tiers_arg, "%s", argv[++i]);
            tiers[0] = tiers_arg;
            tiers[1] = strchr(tiers_arg, ',') + 1;
            tiers_arg[tiers[1] - tiers_arg - 1] = 0;
        } else if (!strcmp(argv[i], "--node"))
            use_node = 1;
        else if (!strcmp(argv[i], "-O0"))
            opts.fast_compile = 1;
        else if (!strcmp(argv[i], "-O2"))
            opts.fast_compile = 0;
        else if (!strcmp(argv[i], "--emit") && i + 2 < argc) {
            buf b = {0};
            gen_exec_module_ex(strtoull(argv[i + 1], NULL, 0),
                               use_node ? GEN_EXCEPTIONS | GEN_NO_SIMD : 0, &b);
            return write_file(argv[i + 2], &b) ? 2 : 0;
        } else {
            fprintf(stderr, "usage: diff_exec [--seed S] [--count N | --minutes M] [-O0|-O2] "
                            "[--save DIR] [--tiers CC_A,CC_B | --node] | --emit SEED FILE\n");
            return 2;
        }
    }
    for (int k = 0; k < 2 && tiers[0]; k++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", tiers[k]);
        if (strchr(tiers[k], '\'') || system(cmd) != 0) {
            fprintf(stderr, "diff_exec: the C compiler %s is not installed: skipped\n", tiers[k]);
            return 77;
        }
    }
    if (!tiers[0] && !use_node && system("wasm-interp --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "diff_exec: wasm-interp (Debian's wabt) is not installed: skipped\n");
        return 77;
    }
    if (use_node && system("node --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "diff_exec: node (Debian's nodejs) is not installed: skipped\n");
        return 77;
    }
    if (!count && !minutes)
        count = 100;
    if (!mkdtemp(tmp)) {
        perror("diff_exec: mkdtemp");
        return 2;
    }
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    opts.cache_dir = cache;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long k = 0;; k++) {
        double el;
        clock_gettime(CLOCK_MONOTONIC, &now);
        el = (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
        if ((count && k >= count) || (minutes && el >= minutes * 60))
            break;
        if (tiers[0])
            one_tiers(seed + (uint64_t)k, &opts, tiers, tmp, &t, save);
        else
            one(seed + (uint64_t)k, &opts, tmp, &t, save);
        if (tty)
            fprintf(stderr, "\rdiff_exec: %ld modules, %ld calls, %ld divergences, %.0f s ",
                    t.modules, t.calls, t.divergences, el);
        fflush(stdout);
    }
    if (tty)
        fprintf(stderr, "\n");
    empty_dir(cache);
    rmdir(cache);
    empty_dir(tmp);
    rmdir(tmp);
    printf("%ld modules, %ld calls, %ld traps, %ld divergences, %ld skipped (seeds %" PRIu64
           "..%" PRIu64 ", -O%d%s%s%s%s%s)\n",
           t.modules, t.calls, t.traps, t.divergences, t.skipped, seed,
           seed + (uint64_t)t.modules - 1, opts.fast_compile ? 0 : 2, tiers[0] ? ", " : "",
           tiers[0] ? tiers[0] : "", tiers[0] ? " against " : "", tiers[0] ? tiers[1] : "",
           use_node ? ", against node" : "");
    return t.divergences ? 1 : 0;
}
