/*
 * test_engine.c — Criterion suites for engine/: loading, calling, traps
 * (each cause, and faults that are not the guest's, which must reach the
 * handler installed before zvm's), exceptions (caught, uncaught, a loop of
 * throws interrupted), interruption by epoch (a late interrupt must not
 * stop a later run; one before a call stops it at entry), host-made tables and memories, values as text, large
 * modules split into translation units, and the check that finds an
 * access without its segment in a GS build (seg.c).
 */
#include "wat.h"

#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const M = "(module\n"
    "  (memory (export \"memory\") 1 4)\n"
    "  (data (i32.const 8) \"zvm!\")\n"
    "  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"div\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))\n"
    "  (func (export \"load\") (param i32) (result i32) (i32.load (local.get 0)))\n"
    "  (func (export \"store\") (param i32 i32) (i32.store (local.get 0) (local.get 1)))\n"
    "  (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0)))\n"
    "  (func (export \"spin\") (loop (br 0)))\n"
    "  (tag $e (param i32))\n"
    "  (func $throw (param i32) (throw $e (local.get 0)))\n"
    "  (func (export \"caught\") (param i32 i32) (result i32)\n"
    "    (try (result i32) (do (call $throw (local.get 0)) (i32.const 0))\n"
    "      (catch $e (i32.add (local.get 1)))))\n"
    "  (func (export \"uncaught\") (param i32 i32) (result i32)\n"
    "    (try (result i32) (do (call $throw (local.get 0)) (i32.const 0)) (catch_all (rethrow 0))))\n"
    "  (func (export \"throwspin\") (loop (try (do (call $throw (i32.const 1))) (catch $e (drop)))\n"
    "    (br 0)))\n"
    "  (func $r (export \"recurse\") (call $r))\n"
    "  (func (export \"unreachable\") unreachable))\n";

static zv_eng_module *mod;
static zv_eng_instance *inst;

static void setup(void)
{
    zv_eng_err err = {0};
    mod = wat_load(M);
    cr_assert_eq(zv_eng_instance_new(mod, NULL, NULL, NULL, NULL, &inst, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    zv_eng_instance_free(inst);
    zv_eng_module_free(mod);
}

TestSuite(engine, .init = setup, .fini = teardown);

/* Calls export `name` with up to two i32 arguments; returns the trap (0). */
static int call(const char *name, uint32_t a, uint32_t b, uint32_t *result)
{
    zv_eng_extern ext;
    zv_eng_err err = {0};
    zv_value args[2], res[1];
    uint32_t type;
    int rc;
    cr_assert_eq(zv_eng_instance_export(inst, name, strlen(name), &ext, &type), 0);
    args[0].i32 = a;
    args[1].i32 = b;
    rc = zv_eng_call(inst, ext.func, type, args, res, &err);
    if (rc == 0 && result)
        *result = res[0].i32;
    cr_assert(rc == 0 || (rc == -EFAULT && err.trap), "a failed call must be a trap");
    return rc ? err.trap : 0;
}

Test(engine, calls_and_results)
{
    uint32_t r = 0;
    cr_assert_eq(call("add", 40, 2, &r), 0);
    cr_assert_eq(r, 42);
    cr_assert_eq(call("load", 8, 0, &r), 0);
    cr_assert_eq(r, 0x216d767a, "the data segment is in memory: %08x", r);
}

Test(engine, each_trap_has_its_cause)
{
    cr_assert_eq(call("div", 1, 0, NULL), ZV_TRAP_DIV_ZERO);
    cr_assert_eq(call("div", 0x80000000u, (uint32_t)-1, NULL), ZV_TRAP_INT_OVERFLOW);
    cr_assert_eq(call("load", 65534, 0, NULL), ZV_TRAP_MEMORY_OOB);
    cr_assert_eq(call("unreachable", 0, 0, NULL), ZV_TRAP_UNREACHABLE);
    cr_assert_str_eq(zv_eng_trap_name(ZV_TRAP_MEMORY_OOB), "out of bounds memory access");
    cr_assert_str_eq(zv_eng_trap_name(99), "unknown trap");
}

/* Exceptions (trap.c "Exceptions"): one that leaves the run is a trap of
 * its own, and the run after it starts with no tries; under
 * AddressSanitizer (CI) this also checks the longjmp of a throw. */
Test(engine, exceptions_caught_and_uncaught)
{
    uint32_t r = 0;
    cr_assert_eq(call("caught", 40, 2, &r), 0);
    cr_assert_eq(r, 42);
    cr_assert_eq(call("uncaught", 40, 2, NULL), ZV_TRAP_EXCEPTION);
    cr_assert_str_eq(zv_eng_trap_name(ZV_TRAP_EXCEPTION), "uncaught exception");
    cr_assert_eq(call("caught", 1, 2, &r), 0);
    cr_assert_eq(r, 3);
}

static int recurse_on_guest_thread(void *arg)
{
    (void)arg;
    return call("recurse", 0, 0, NULL);
}

Test(engine, stack_overflow_is_a_trap_on_a_guest_thread)
{
    cr_assert_eq(zv_eng_run_guest_thread(recurse_on_guest_thread, NULL, 1 << 20),
                 ZV_TRAP_EXHAUSTION);
}

Test(engine, memory_grows_up_to_its_maximum)
{
    uint32_t r = 0;
    const uint8_t *bytes;
    uint64_t size;
    cr_assert_eq(call("grow", 3, 0, &r), 0);
    cr_assert_eq(r, 1);
    cr_assert_eq(call("grow", 1, 0, &r), 0);
    cr_assert_eq(r, UINT32_MAX, "past the declared maximum: -1");
    cr_assert_eq(zv_eng_instance_memory(inst, &bytes, &size), 0);
    cr_assert_eq(size, 4 * 65536);
    cr_assert_eq(call("load", 4 * 65536 - 4, 0, &r), 0, "the grown pages are usable");
}

Test(engine, reset_restores_the_initial_state)
{
    zv_eng_err err = {0};
    uint32_t r = 0;
    const uint8_t *bytes;
    uint64_t size;
    cr_assert_eq(call("grow", 2, 0, &r), 0);
    cr_assert_eq(zv_eng_instance_reset(inst, ZV_ENG_RESET_MEMSET, &err), 0);
    cr_assert_eq(zv_eng_instance_memory(inst, &bytes, &size), 0);
    cr_assert_eq(size, 65536, "back to the initial pages");
    cr_assert_eq(call("load", 65536, 0, NULL), ZV_TRAP_MEMORY_OOB);
    cr_assert_eq(call("load", 8, 0, &r), 0);
    cr_assert_eq(r, 0x216d767a, "the data image is back");
}

/* A reset moves the memory to another window and leaves the one it left
 * pending, taken back in batches (engine/memory.c): with memset when it
 * grew, with madvise always. Across more resets than there are windows,
 * with growths of varying size, every instance finds its initial page
 * zeroed, grown pages zeroed (nothing of an earlier instance in that
 * window), and a trap just past its size, whatever the window's last
 * instance grew to. */
static void resets_across_windows(int how)
{
    zv_eng_err err = {0};
    uint32_t r = 0;
    void *base, *first = NULL;
    size_t size;
    int moves = 0;
    for (uint32_t i = 0; i < 50; i++) {
        uint32_t grow = 1 + i * 7 % 3, at;
        cr_assert_eq(call("load", 65536, 0, NULL), ZV_TRAP_MEMORY_OOB, "instance %u: one page", i);
        cr_assert_eq(call("load", 4, 0, &r), 0);
        cr_assert_eq(r, 0, "instance %u: its initial page zeroed", i);
        cr_assert_eq(call("load", 8, 0, &r), 0);
        cr_assert_eq(r, 0x216d767a, "instance %u: its data image", i);
        cr_assert_eq(call("grow", grow, 0, &r), 0);
        cr_assert_eq(r, 1, "instance %u: grown from one page", i);
        for (uint32_t p = 1; p <= grow; p++) {
            at = p * 65536 + 4;
            cr_assert_eq(call("load", at, 0, &r), 0);
            cr_assert_eq(r, 0, "instance %u: grown page %u zeroed", i, p);
            cr_assert_eq(call("store", at, 0xdead0000u + i, NULL), 0);
        }
        cr_assert_eq(call("load", (grow + 1) * 65536, 0, NULL), ZV_TRAP_MEMORY_OOB,
                     "instance %u: past %u pages", i, grow + 1);
        cr_assert_eq(call("store", 4, 0xbeef, NULL), 0);
        cr_assert_eq(call("store", 8, 0xbeef, NULL), 0);
        cr_assert_eq(zv_eng_instance_reset(inst, how, &err), 0, "%s", err.msg);
        cr_assert_eq(zv_eng_instance_reservation(inst, &base, &size), 0);
        moves += first && base != first;
        first = first ? first : base;
    }
    cr_assert_gt(moves, 0, "the memory moved to other windows");
}

Test(engine, resets_after_growth_seal_and_zero_every_window)
{
    resets_across_windows(ZV_ENG_RESET_MEMSET);
}

Test(engine, madvise_resets_drop_and_seal_every_window)
{
    resets_across_windows(ZV_ENG_RESET_MADVISE);
}

/* ---- interruption ------------------------------------------------------------------ */

typedef struct {
    const char *name; /* the spinning export: "spin" unless set */
    pthread_t thread;
    _Atomic uint64_t epoch;
    _Atomic int started, stopped;
    int trap, next;
    uint32_t loaded;
} spinner;

static int spin_run(void *p)
{
    spinner *s = p;
    s->thread = pthread_self();
    atomic_store(&s->epoch, zv_eng_run_begin());
    atomic_store(&s->started, 1);
    s->trap = call(s->name ? s->name : "spin", 0, 0, NULL);
    atomic_store(&s->stopped, 1);
    zv_eng_run_end();
    zv_eng_run_begin(); /* the next run on the same instance is not interrupted */
    s->next = call("load", 8, 0, &s->loaded);
    zv_eng_run_end();
    return 0;
}

static void *spin_thread(void *p)
{
    zv_eng_run_guest_thread(spin_run, p, 1 << 20);
    return NULL;
}

Test(engine, interrupt_stops_a_spinning_guest, .timeout = 20)
{
    spinner s = {0};
    pthread_t th;
    pthread_create(&th, NULL, spin_thread, &s);
    while (!atomic_load(&s.started))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    /* an older epoch is ignored: the guest keeps spinning */
    cr_assert_eq(zv_eng_interrupt(s.thread, atomic_load(&s.epoch) - 1), 0);
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    cr_assert_eq(s.trap, 0, "a stale interrupt stopped the run");
    cr_assert_eq(zv_eng_interrupt(s.thread, atomic_load(&s.epoch)), 0);
    pthread_join(th, NULL);
    cr_assert_eq(s.trap, ZV_TRAP_TIMEOUT);
    cr_assert_eq(s.next, 0, "the next run trapped too: %d", s.next);
    cr_assert_eq(s.loaded, 0x216d767a);
}

/* A loop of throws spends most of its time in the engine's throw and its
 * longjmp, where the signal only marks the run: the next throw stops it. */
Test(engine, interrupt_stops_a_loop_of_throws, .timeout = 20)
{
    spinner s = {.name = "throwspin"};
    pthread_t th;
    pthread_create(&th, NULL, spin_thread, &s);
    while (!atomic_load(&s.started))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    nanosleep(&(struct timespec){0, 20000000}, NULL);
    for (int i = 0; i < 1000 && !atomic_load(&s.stopped); i++) { /* as the watchdog */
        cr_assert_eq(zv_eng_interrupt(s.thread, atomic_load(&s.epoch)), 0);
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    pthread_join(th, NULL);
    cr_assert_eq(s.trap, ZV_TRAP_TIMEOUT);
    cr_assert_eq(s.next, 0, "the next run trapped too: %d", s.next);
}

/* An interrupt that came while the guest was out of its code (here: before
 * the call began) stops it at the next function entry, where the stack
 * check is also the poll (rt_ops.h ZV_ENTER): a timeout, not exhaustion;
 * the next run's limit is the stack's again. */
Test(engine, interrupt_before_a_call_stops_it_at_entry)
{
    uint32_t r = 0;
    uint64_t epoch;
    cr_assert_eq(call("add", 1, 2, NULL), 0); /* the signal handlers are installed */
    epoch = zv_eng_run_begin();
    cr_assert_eq(zv_eng_interrupt(pthread_self(), epoch), 0);
    cr_assert_eq(call("add", 1, 2, NULL), ZV_TRAP_TIMEOUT);
    zv_eng_run_end();
    zv_eng_run_begin();
    cr_assert_eq(call("add", 40, 2, &r), 0);
    cr_assert_eq(r, 42);
    zv_eng_run_end();
}

/* ---- faults that are not the guest's reach the handler installed first ---------- */

static void embedder_handler(int sig) { _exit(40 + sig % 2); }

/* A host bug: a write through a null pointer that the compiler cannot see. */
static void host_bug(void)
{
    static volatile uintptr_t addr = 16;
    *(volatile int *)addr = 1;
}

Test(engine, a_host_fault_goes_to_the_embedders_handler)
{
    pid_t pid = fork();
    int status;
    if (pid == 0) {
        signal(SIGSEGV, embedder_handler); /* installed before zvm's */
        zv_eng_thread_init();               /* installs zvm's */
        cr_assert_eq(call("add", 1, 2, NULL), 0);
        host_bug(); /* not a guest trap */
        _exit(0);
    }
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 40 + SIGSEGV % 2,
              "status %#x: the embedder's handler did not run", status);
}

Test(engine, a_host_fault_without_a_handler_still_crashes)
{
    pid_t pid = fork();
    int status;
    if (pid == 0) {
        zv_eng_thread_init();
        host_bug();
        _exit(0);
    }
    waitpid(pid, &status, 0);
    /* the default action, or (under AddressSanitizer) the sanitizer's
     * handler, which was installed before zvm's: either way it ends */
    cr_assert((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
                  (WIFEXITED(status) && WEXITSTATUS(status) != 0),
              "status %#x: the fault was swallowed", status);
}

static _Atomic int foreign_urg;
static void urg_handler(int sig) { (void)sig, atomic_store(&foreign_urg, 1); }

Test(engine, a_foreign_interrupt_signal_is_passed_on)
{
    pid_t pid = fork();
    int status;
    if (pid == 0) {
        signal(ZV_ENG_INTERRUPT_SIGNAL, urg_handler);
        zv_eng_thread_init();
        raise(ZV_ENG_INTERRUPT_SIGNAL); /* not queued by zvm */
        _exit(atomic_load(&foreign_urg) ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the embedder's SIGURG was swallowed");
}

/* ---- host-made objects, values --------------------------------------------------------- */

Test(engine, host_tables_and_memories)
{
    zv_table *t = NULL;
    zv_memory *m = NULL;
    cr_assert_eq(zv_eng_table_new(ZV_FUNCREF, 10, 20, &t), 0);
    cr_assert_eq(zv_eng_memory_new(1, 2, 1, &m), 0);
    cr_assert_neq(zv_eng_table_new(ZV_FUNCREF, ZV_VAL_MAX_TABLE_ELEMS + 1, UINT32_MAX, &t), 0);
    zv_eng_table_free(t);
    zv_eng_memory_free(m);
    zv_eng_table_free(NULL);
    zv_eng_memory_free(NULL);
}

Test(engine, values_as_text)
{
    zv_value v;
    char buf[80];
    cr_assert_eq(zv_eng_value_parse("-1", ZV_I32, &v), 0);
    cr_assert_eq(v.i32, 0xffffffffu);
    cr_assert_eq(zv_eng_value_parse("4294967296", ZV_I32, &v), -EINVAL, "over 32 bits");
    cr_assert_eq(zv_eng_value_parse("0x7fa00000", ZV_F32, &v), 0);
    zv_eng_value_format(ZV_F32, &v, buf, sizeof buf);
    cr_assert_str_eq(buf, "f32:0x7fa00000", "raw float bits round-trip");
    cr_assert_eq(zv_eng_value_parse("0x000102030405060708090a0b0c0d0e0f", ZV_V128, &v), 0);
    zv_eng_value_format(ZV_V128, &v, buf, sizeof buf);
    cr_assert_str_eq(buf, "v128:0x000102030405060708090a0b0c0d0e0f");
    cr_assert_eq(zv_eng_value_parse("0x01", ZV_V128, &v), -EINVAL, "v128 needs 32 digits");
    cr_assert_eq(zv_eng_value_parse("1.5x", ZV_F64, &v), -EINVAL);
    cr_assert_eq(zv_eng_value_parse("x", ZV_FUNCREF, &v), -EINVAL);
}

/* Translation units: every function in exactly one unit, in order, none
 * cut, each unit within the size unless one function alone is larger. */
static void check_split(const zv_val_module *m, uint64_t limit, uint32_t want)
{
    uint32_t first[16], n = zv_eng_translate_split(m, limit, first);
    cr_assert_eq(n, want, "%u units at %llu bytes, want %u", n, (unsigned long long)limit, want);
    cr_assert_eq(first[0], m->n_imported_funcs);
    cr_assert_eq(first[n], m->n_funcs);
    for (uint32_t k = 0; k < n; k++) {
        uint64_t code = 0;
        cr_assert_lt(first[k], first[k + 1], "unit %u is empty", k);
        for (uint32_t i = first[k]; i < first[k + 1]; i++)
            code += m->funcs[i].code_end - m->funcs[i].code_offset;
        cr_assert(code <= limit || first[k + 1] == first[k] + 1, "unit %u: %llu bytes", k,
                  (unsigned long long)code);
    }
}

Test(engine, functions_split_into_units)
{
    const zv_val_module *m = zv_eng_module_info(mod);
    uint32_t n_def = m->n_funcs - m->n_imported_funcs;
    uint64_t all = 0;
    for (uint32_t i = m->n_imported_funcs; i < m->n_funcs; i++)
        all += m->funcs[i].code_end - m->funcs[i].code_offset;
    check_split(m, 1, n_def);
    check_split(m, 1u << 30, 1);
    check_split(m, all, 1);
    check_split(m, all - 1, 2);
}

/* The same module built from one-function units, each compiled on its
 * own and linked: the same answers, traps and stack guard. */
static void setup_split(void)
{
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    char dir[] = "/tmp/zvm-split.XXXXXX", cmd[64];
    size_t n;
    uint8_t *b = wat_to_wasm(M, &n);
    cr_assert_not_null(mkdtemp(dir));
    opts.cache_dir = dir;
    setenv("ZVM_CC_UNIT_BYTES", "1", 1);
    cr_assert_eq(zv_eng_module_load(b, n, &opts, &mod, NULL, &err), 0, "load: %s", err.msg);
    unsetenv("ZVM_CC_UNIT_BYTES");
    free(b);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(zv_eng_instance_new(mod, NULL, NULL, NULL, NULL, &inst, &err), 0, "%s", err.msg);
}

Test(split, units_run_alike, .init = setup_split, .fini = teardown)
{
    uint32_t r = 0;
    cr_assert_eq(call("add", 40, 2, &r), 0);
    cr_assert_eq(r, 42);
    cr_assert_eq(call("load", 8, 0, &r), 0);
    cr_assert_eq(r, 0x216d767a, "the data segment (in the last unit) is in memory: %08x", r);
    cr_assert_eq(call("div", 1, 0, NULL), ZV_TRAP_DIV_ZERO);
    cr_assert_eq(zv_eng_run_guest_thread(recurse_on_guest_thread, NULL, 1 << 20),
                 ZV_TRAP_EXHAUSTION);
}

/* Tiers: an instance moves to another build of its module (here -O0) and
 * keeps its state; another module is refused. */
Test(engine, instance_moves_to_another_build)
{
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    zv_eng_module *o0 = NULL, *other;
    size_t n;
    uint8_t *b = wat_to_wasm(M, &n);
    uint32_t r = 0;
    opts.cache_dir = test_cache_dir();
    opts.fast_compile = 1;
    cr_assert_eq(zv_eng_module_load(b, n, &opts, &o0, NULL, &err), 0, "load: %s", err.msg);
    free(b);
    cr_assert_eq(call("grow", 1, 0, &r), 0);
    cr_assert_eq(zv_eng_instance_retier(inst, o0), 0);
    cr_assert_eq(call("grow", 0, 0, &r), 0);
    cr_assert_eq(r, 2, "the grown memory stays: %u pages", r);
    cr_assert_eq(call("add", 40, 2, &r), 0);
    cr_assert_eq(r, 42);
    cr_assert_eq(call("div", 1, 0, NULL), ZV_TRAP_DIV_ZERO, "traps in the new build's code");
    other = wat_load("(module (func (export \"f\")))");
    cr_assert_eq(zv_eng_instance_retier(inst, other), -EINVAL, "another module's build");
    cr_assert_eq(zv_eng_instance_retier(inst, mod), 0, "and back");
    zv_eng_instance_free(inst);
    inst = NULL;
    zv_eng_module_free(other);
    zv_eng_module_free(o0);
}

/* seg.c's check of a GS build: an access at a 64-bit absolute address
 * without a segment (gcc 12's bug: `movabs` in either direction) is
 * found; an immediate `movabs` and one with its %gs prefix are not. */
static int seg_safe_with(const char *insn)
{
    char dir[] = "/tmp/zvm-seg.XXXXXX", c[64], so[64], cmd[256];
    FILE *f;
    int safe;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(c, sizeof c, "%s/a.c", dir);
    snprintf(so, sizeof so, "%s/a.so", dir);
    cr_assert_not_null(f = fopen(c, "w"));
    fprintf(f, "void f(void) { __asm__ volatile(\"%s\" ::: \"rax\"); }\n", insn);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o %s %s", so, c);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    safe = zv_eng_seg_code_safe(so);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    return safe;
}

Test(seg, bare_absolute_accesses_are_found)
{
    cr_assert_eq(seg_safe_with("movabs 0x80000000, %%eax"), 0, "a load without its segment");
    cr_assert_eq(seg_safe_with("movabs %%al, 0xffffff73"), 0, "a store without its segment");
    cr_assert_eq(seg_safe_with("movabs $0x80000000, %%rax"), 1, "an immediate is no access");
    cr_assert_eq(seg_safe_with("movabs %%gs:0x80000000, %%eax"), 1, "a load with its segment");
    cr_assert_eq(seg_safe_with("nop"), 1, "no movabs at all");
    cr_assert_eq(zv_eng_seg_code_safe("/nonexistent/a.so"), 0, "what cannot be read is unsafe");
}

/* ---- signature ids: codes for short signatures, the registry for long ---- */

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

Test(types, codes_are_distinct_and_ids_structural)
{
    static const uint8_t v[] = {ZV_I32, ZV_I64, ZV_F32, ZV_F64, ZV_V128, ZV_FUNCREF, ZV_EXTERNREF};
    static uint32_t seen[22800];
    uint32_t n = 0;
    uint8_t p[8], r[3];
    /* every signature of up to 3 params and 2 results: 22,800 distinct codes */
    for (uint32_t np = 0; np <= 3; np++)
        for (uint32_t nr = 0; nr <= 2; nr++)
            for (uint32_t k = 0, total = 1; k < total; k++) {
                uint32_t x = k;
                total = 1;
                for (uint32_t i = 0; i < np + nr; i++)
                    total *= 7;
                for (uint32_t i = 0; i < np + nr; i++, x /= 7)
                    *(i < np ? &p[i] : &r[i - np]) = v[x % 7];
                uint32_t code = zv_eng_type_code(p, np, r, nr);
                cr_assert(code >> 31, "a code has bit 31");
                cr_assert_eq(zv_eng_type_id(p, np, r, nr), code, "a short signature's id is its code");
                seen[n++] = code;
            }
    cr_assert_eq(n, 22800);
    qsort(seen, n, sizeof *seen, by_u32);
    for (uint32_t i = 1; i < n; i++)
        cr_assert_neq(seen[i - 1], seen[i], "two signatures share the code %#x", seen[i]);
    /* at the edges: 7 params and 1 result have a code, 8 and 1 or 4 results not */
    memset(p, ZV_F64, sizeof p);
    memset(r, ZV_I32, sizeof r);
    cr_assert_neq(zv_eng_type_code(p, 7, r, 1), 0);
    cr_assert_neq(zv_eng_type_code(p, 5, r, 3), 0);
    cr_assert_eq(zv_eng_type_code(p, 8, r, 1), 0);
    cr_assert_eq(zv_eng_type_code(p, 6, r, 3), 0);
    uint8_t r4[4] = {ZV_I32, ZV_I32, ZV_I32, ZV_I32};
    cr_assert_eq(zv_eng_type_code(p, 0, r4, 4), 0);
    /* long ones come from the registry: small numbers, equal for equal signatures */
    uint32_t a = zv_eng_type_id(p, 8, r, 1), b = zv_eng_type_id(p, 8, r, 1);
    uint32_t c = zv_eng_type_id(p, 8, r, 2);
    cr_assert(a && !(a >> 31), "a registry id never looks like a code");
    cr_assert_eq(a, b);
    cr_assert_neq(a, c);
}

/* Memos (cache_memo.c) stand only where the kernel keeps ctimes. */
Test(memo, only_file_systems_whose_ctimes_the_kernel_keeps)
{
    char path[] = "/tmp/zvm-memo-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    cr_assert(zv_eng_memo_fs_ok(fd), "a file in /tmp (a local disk or tmpfs)");
    close(fd);
    fd = open("/proc/self/stat", O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert(!zv_eng_memo_fs_ok(fd), "procfs reports what it computes");
    close(fd);
}

/* Whether each 4 KiB page of [p, p + n) is present (mincore). */
static unsigned present(const uint8_t *p, size_t n)
{
    unsigned char v[256];
    unsigned k = 0;
    cr_assert_leq(n / 4096, sizeof v);
    cr_assert_eq(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < n / 4096; i++)
        k += v[i] & 1;
    return k;
}

/* zv_eng_prefault (memory.c) makes the whole pages of a range of 4 pages
 * or more present in one call, leaves their bytes and the partial pages at
 * its ends alone, and does nothing to a smaller range. */
Test(memory, prefault_makes_a_big_range_present)
{
    const size_t n = 1 << 20;
    uint8_t *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    if (sysconf(_SC_PAGESIZE) != 4096)
        cr_skip_test("written for 4 KiB pages");
#ifdef MADV_POPULATE_WRITE
    if (madvise(p, 4096, MADV_POPULATE_WRITE) < 0 && errno == EINVAL)
        cr_skip_test("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+)");
    madvise(p, 4096, MADV_DONTNEED);
#else
    cr_skip_test("built without MADV_POPULATE_WRITE");
#endif
    cr_assert_eq(present(p, n), 0);
    zv_eng_prefault(p + 100, n - 200);
    cr_assert_eq(present(p, n), n / 4096 - 2, "all but the partial pages at the ends");
    cr_assert_eq(present(p, 4096) + present(p + n - 4096, 4096), 0);
    for (size_t i = 0; i < n; i += 4096)
        cr_assert_eq(p[i], 0);
    madvise(p, n, MADV_DONTNEED);
    zv_eng_prefault(p, 4 * 4096 - 1);
    cr_assert_eq(present(p, n), 0, "3 whole pages: faults cost no more than the call");
    zv_eng_prefault(p, 4 * 4096);
    cr_assert_eq(present(p, n), 4);
    munmap(p, n);
}
