/*
 * engine.h — the engine's contract: load a module (validate, then compile
 * through the code cache, then dlopen), instantiate it against imports,
 * call its functions with traps turned into error records, and stop a
 * running guest from another thread.
 *
 * A loaded module is immutable and shared by every thread. An instance is
 * used by one thread at a time. Traps unwind through a per-thread frame set
 * up by zv_eng_call; faults in a memory's guard region or in a guest
 * stack's guard become traps; any other fault goes to the handler that was
 * installed before zvm's (see "Signals" below). The layout of an instance
 * (zv_ctx, its memory slot) is private to engine/. The host calls that
 * link an instance to a manifest's channels are in engine/host.h.
 */
#ifndef ZV_ENGINE_H
#define ZV_ENGINE_H

#include "engine/rt_value.h"
#include "validator/validator.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    int trap;      /* ZV_TRAP_* when a call or instantiation trapped, else 0 */
    int exit_code; /* with ZV_TRAP_EXIT: the guest's exit code */
    char msg[512]; /* what went wrong, with the file/import/offset it concerns */
} zv_eng_err;

/* How a build goes (zv_eng_opts.progress). */
typedef struct {
    unsigned units, compiled;      /* translation units, and how many are compiled */
    uint64_t c_bytes;              /* generated C */
    double translate_s, compile_s; /* so far */
} zv_eng_build;

typedef struct {
    const char *cache_dir;  /* NULL: $ZVM_CACHE, else $XDG_CACHE_HOME/zvm, else ~/.cache/zvm */
    const char *cc;         /* NULL: $ZVM_CC, else "gcc" */
    int fast_compile;       /* 1: -O0, quick to build and slow to run (spec tests) */
    int no_interrupt_checks; /* kept for measuring: the entry poll is the stack check now
                              * (rt_ops.h ZV_ENTER), so the code is the same */
    const zv_val_policy *policy; /* checked after validation, before compiling; NULL: none */
    /* An artifact must be signed by this Ed25519 public key (32 bytes,
     * borrowed), which replaces the ownership rule; NULL: ownership. */
    const uint8_t *trust_key;
    /* Tiering: a module with no entry for cc (no SIMD, no zvm.fork) is built with
     * baseline_cc (e.g. "tcc": tens of milliseconds) and runs at once, and
     * `tier_up compile --cache DIR` (the zvm binary) builds the cc entry in
     * the background for the next load; tier_up is resolved (realpath) in
     * the loading process, so "/proc/self/exe" names the zvm that loads.
     * NULL: off. */
    const char *baseline_cc;
    const char *tier_up;
    /* Called in the loading thread when that background build failed
     * before (too large for the compiler's limits) and is not tried again
     * (the cache records it): only by the first load that finds the
     * failure, later ones run from the baseline build silently. msg
     * starts with the module's file when it was loaded from one. NULL:
     * nobody is told. */
    void (*tier_failed)(void *arg, const char *msg);
    void *tier_failed_arg;
    /* Called when a build has translated the module (compiled = 0) and
     * as each unit compiles, in the caller's thread. NULL: none. */
    void (*progress)(void *arg, const zv_eng_build *b);
    void *progress_arg;
    /* 1: build the module for a fork point whether or not it imports
     * zvm.fork (a pool with --snapshot first-read): its code marks the
     * pages it writes (dirty_pages) and it is never the baseline build,
     * whose paused set-up could not move to the optimised one. */
    int fork_point;
} zv_eng_opts;

/* Options of the translator itself (part of the cache key). */
typedef struct {
    int interrupt_checks; /* unused: the entry check polls (rt_ops.h ZV_ENTER) */
    int dirty_pages; /* every store marks its card in ctx->dirty (modules that fork) */
    /* 1: memory through a base register even where the engine keeps the
     * GS base at the memory (seg.c): the build again after the compiler
     * crashed on the GS one, or left an access without its segment */
    int no_seg;
    /* each function's entry check (internal.h zv_eng_tr_entry_plan), or
     * NULL: the translator makes it */
    const uint32_t *entry_plan;
    /* a build in several units: per defined function (by index after the
     * imports), 1 when another unit names it (internal.h zv_eng_tr_shared);
     * the others are static. NULL: every function is shared */
    const uint8_t *shared;
} zv_eng_translate_opts;

typedef struct zv_eng_module zv_eng_module;
typedef struct zv_eng_instance zv_eng_instance;

/* Validate `bytes` (spec rules, then opts->policy if given), then find the
 * compiled code in the cache or compile it. The module copies `bytes`.
 * *cached (may be NULL) tells whether the cache had it. Returns 0,
 * -EINVAL/-EPERM (invalid, or refused by the policy: err->msg), -ENOMEM,
 * -errno (cache or compiler). The caller frees *out with
 * zv_eng_module_free. */
int zv_eng_module_load(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                       zv_eng_module **out, int *cached, zv_eng_err *err);
/* The same from a file; every message starts with the path. -errno when
 * it cannot be read (-EISDIR for anything but a regular file). */
int zv_eng_module_load_file(const char *path, const zv_eng_opts *opts, zv_eng_module **out,
                            int *cached, zv_eng_err *err);
void zv_eng_module_free(zv_eng_module *m); /* accepts NULL; after every instance is freed */
/* Tiers. A module loaded from its baseline build (opts->baseline_cc, while
 * the optimised one is built in the background) answers 1 here;
 * zv_eng_module_optimised then loads the optimised build of the same
 * bytes from the cache, with the options m was loaded with, and never
 * compiles: 0 and *out, -EINPROGRESS while the build is under way,
 * -ENOENT when there is none and none is coming, or another -errno. */
int zv_eng_module_is_baseline(const zv_eng_module *m);
int zv_eng_module_optimised(const zv_eng_module *m, zv_eng_module **out, zv_eng_err *err);
const zv_val_module *zv_eng_module_info(const zv_eng_module *m);
/* The tar images the module asks to have mounted read-only, from its
 * custom section `zvm.mount`: UTF-8 lines `IMAGE GUESTDIR`, IMAGE a file
 * name (no '/') beside the module's file, GUESTDIR absolute and
 * normalised; at most 16. Returns 0 and *out NULL-ended
 * "HOSTFILE::GUESTDIR" strings for zv_cfg_manifest.images (free with
 * zv_eng_mounts_free; *out NULL when there is no such section), or
 * -ENOEXEC (a broken module, not a bad option) with err naming the line
 * and the cause (also for a module with two such sections, or one with
 * the section loaded from memory), or -ENOMEM. A session or pool whose
 * module's image is missing or malformed fails with -ENOEXEC too. */
int zv_eng_module_mounts(const zv_eng_module *m, char ***out, zv_eng_err *err);
void zv_eng_mounts_free(char **v);
/* Built for a fork point (it imports zvm.fork, or was loaded with
 * opts->fork_point)? zv_eng_module_for_fork loads the same bytes so built,
 * with the options m was loaded with (cache, compiler), compiling if the
 * cache has no such entry: 0 and *out (the caller frees it), or as
 * zv_eng_module_load. */
int zv_eng_module_fork_build(const zv_eng_module *m);
int zv_eng_module_for_fork(const zv_eng_module *m, zv_eng_module **out, zv_eng_err *err);

/* Artifacts (artifact.c): a module with its native code in one file, for
 * hosts without a compiler. zv_eng_module_load_file loads one wherever it
 * loads a .wasm: refused (-EINVAL truncated, tampered or of another
 * version; -ENOEXEC for another ISA; -EPERM when someone other than this
 * user or root could have written it) before anything is dlopen'ed.
 * Is this the start of one (8 bytes are enough)? */
int zv_eng_artifact_is(const void *head, size_t n);
/* Validate and compile `bytes` (through the cache, as zv_eng_compile) and
 * write the artifact to out_path (a temporary file renamed into place,
 * mode 0644 less the umask). 0, or -errno with err->msg. */
int zv_eng_artifact_write(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                          const char *out_path, int *cached, zv_eng_err *err);

/* Signatures (artifact_sign.c, Ed25519 through libcrypto). A new key
 * pair in two new files (the private one mode 0600); sign the artifact at
 * path in place (a signature there is replaced); read a public key file
 * for zv_eng_opts.trust_key. Each 0, or -errno with err->msg (-ENOSYS:
 * no libcrypto). */
int zv_eng_keygen(const char *private_path, const char *public_path, zv_eng_err *err);
int zv_eng_artifact_sign(const char *path, const char *private_path, zv_eng_err *err);
int zv_eng_trust_key_read(const char *public_path, uint8_t key[32], zv_eng_err *err);

/* Compile into the cache without loading (zvm compile). */
int zv_eng_compile(const uint8_t *bytes, size_t size, const zv_eng_opts *opts, int *cached,
                   char *path_out, size_t path_size, zv_eng_err *err);

/* The C source for a validated module (for debugging and tests). */
int zv_eng_translate(const zv_val_module *m, const zv_eng_translate_opts *opts, FILE *out);

/* Something an instance imports or exports. */
typedef struct {
    uint8_t kind;       /* ZV_EXT_* */
    zv_func *func;      /* an existing function (another instance's) */
    void *host_fn;      /* or a host function: fn(zv_ctx *caller, args...) */
    const char *host_sig; /* its type as "params:results" letters, e.g. "ii:i" */
    zv_table *table;
    zv_memory *memory;
    zv_value *global;
    uint8_t global_type, global_mutable;
    zv_tag *tag; /* an exception tag (another instance's) */
} zv_eng_extern;

/* Resolves one import; returns 0 and fills *out, or -ENOENT. */
typedef int (*zv_eng_resolver)(void *arg, const zv_val_import *im, zv_eng_extern *out);

/* Link, allocate memory and tables, run element and data initialisation
 * and the start function. Returns 0; -ENOLINK (link error, err->msg);
 * -EFAULT (a trap, err->trap; *out is set, its functions may sit in
 * imported tables); -E2BIG (the initial memory exceeds the limit);
 * -ENOMEM. On -EFAULT the writes already made to imported tables and
 * memories stay, as the spec requires. `user` is kept for host calls
 * (zv_eng_instance_user). */
typedef struct {
    uint32_t max_memory_pages; /* 0: the module's own maximum */
    uint64_t budget_bytes;     /* 0: none; else its own memory and its own tables' slots
                                * (8 bytes each) together stay within this (the manifest's
                                * Memory): memory.grow and table.grow fail past it */
} zv_eng_limits;
int zv_eng_instance_new(zv_eng_module *m, const zv_eng_limits *limits, zv_eng_resolver resolve,
                        void *arg, void *user, zv_eng_instance **out, zv_eng_err *err);
void zv_eng_instance_free(zv_eng_instance *inst); /* accepts NULL */

/* Reuse: return the instance to its state right after instantiation, in
 * place and without allocating (the pool's per-instance path). `how` says
 * how the kept memory pages are cleared: ZV_ENG_RESET_MEMSET (pages stay
 * resident), ZV_ENG_RESET_MADVISE (the kernel hands zero pages back on
 * first touch), or ZV_ENG_RESET_AUTO: memset up to ZV_ENG_RESET_MEMSET_MAX
 * bytes of initial memory, madvise above (measured crossover,
 * perf/README.md). Returns 0, -EFAULT (the start function trapped),
 * -ENOTSUP (the instance imports a memory or table), -errno. */
enum { ZV_ENG_RESET_AUTO = 0, ZV_ENG_RESET_MEMSET = 1, ZV_ENG_RESET_MADVISE = 2 };
#define ZV_ENG_RESET_MEMSET_MAX (512u << 10)
int zv_eng_instance_reset(zv_eng_instance *inst, int how, zv_eng_err *err);
/* Move an instance that is not running (no call, no paused fiber) to
 * another build of its module (the same bytes, e.g. the optimised tier):
 * its state stays, its functions' code is the new build's. 0, or -EINVAL
 * (another module, or a paused fiber holds frames of the old code). The
 * old module must outlive nothing of the instance afterwards. */
int zv_eng_instance_retier(zv_eng_instance *inst, zv_eng_module *to);
/* An idle instance gives its memory pages back (madvise); it must be reset
 * before it runs again. */
void zv_eng_instance_release(zv_eng_instance *inst);
const zv_val_module *zv_eng_instance_info(const zv_eng_instance *inst);
void *zv_eng_instance_user(zv_eng_instance *inst);
/* The user pointer of the instance a host function was called from. */
void *zv_eng_caller_user(zv_ctx *caller);
/* Its own linear memory: the accessible bytes (for etags), and the whole
 * reservation (for NUMA binding). Returns 0, or -ENOENT without one. */
int zv_eng_instance_memory(const zv_eng_instance *inst, const uint8_t **bytes, uint64_t *size);
int zv_eng_instance_reservation(const zv_eng_instance *inst, void **base, size_t *size);

/* Look up an export by name (name_len bytes, may hold NULs). Returns 0
 * or -ENOENT; *type_idx gets a function's module type index. */
int zv_eng_instance_export(zv_eng_instance *inst, const char *name, size_t name_len,
                           zv_eng_extern *out, uint32_t *type_idx);

/* Call function `f` whose type is module type `type_idx` of inst's module.
 * Returns 0, or -EFAULT with err->trap set. */
int zv_eng_call(zv_eng_instance *inst, zv_func *f, uint32_t type_idx, const zv_value *args,
                zv_value *results, zv_eng_err *err);

/* Fork points (zvm_fork) and snapshots. zv_eng_fiber_call runs f (of type
 * () -> ()) on a stack of the instance's own, where the guest may pause:
 * it returns 1 when a host function called zv_eng_fork_pause (the guest
 * is paused in the middle of its run), 0 when f returned, -EFAULT on a
 * trap, -ENOTSUP on an ISA without fibers (x86-64 has them).
 * zv_eng_fork_pause, from a host function: pauses the guest if it runs on
 * its fiber and returns 1 when it is resumed; 0 at once otherwise (nothing
 * is forked). zv_eng_fiber_resume continues a paused guest, same results.
 * A snapshot, taken while paused, is the instance at that point: memory,
 * globals, tables, segments and the guest's stack; restoring it makes the
 * instance paused there again, for zv_eng_fiber_resume. `how` picks the
 * way memory comes back (snapshot.c): ZV_ENG_RESET_AUTO the pages the
 * record wrote, MEMSET a copy of all, MADVISE dropped private pages. The snapshot belongs to the instance it was taken
 * from (its memory is mapped from it): free the instance first. */
typedef struct zv_eng_snapshot zv_eng_snapshot;
int zv_eng_fiber_call(zv_eng_instance *inst, zv_func *f, uint32_t type_idx, zv_eng_err *err);
int zv_eng_fiber_resume(zv_eng_instance *inst, zv_eng_err *err);
int zv_eng_fork_pause(zv_ctx *caller);
int zv_eng_snapshot_take(zv_eng_instance *inst, int how, zv_eng_snapshot **out);
int zv_eng_snapshot_restore(zv_eng_instance *inst, const zv_eng_snapshot *s);
/* An idle instance gives its memory pages back (zv_eng_instance_release)
 * such that the next restore still brings the whole snapshot back. */
void zv_eng_snapshot_release(zv_eng_instance *inst, const zv_eng_snapshot *s);
void zv_eng_snapshot_free(zv_eng_snapshot *s);

/* Interruption (timeouts). A guest thread numbers its runs: a run is
 * whatever the thread does between zv_eng_run_begin and zv_eng_run_end
 * (instantiating, calling, resetting). zv_eng_interrupt(thread, epoch),
 * from any thread, stops that run at once if it is in generated code, or
 * at the next checked function entry if it is in a host call (every
 * function that calls the host checks); a run that already
 * ended, or a later run of the same thread, is not touched, so a late
 * watchdog cannot stop the wrong record. It sends the thread
 * ZV_ENG_INTERRUPT_SIGNAL with the epoch (pthread_sigqueue), which the
 * thread itself checks: call it again every millisecond or so until the
 * run ends (a signal that lands in host code only marks the run).
 * Returns 0 or -errno (ESRCH: the thread is gone). */
#define ZV_ENG_INTERRUPT_SIGNAL SIGURG
uint64_t zv_eng_run_begin(void);
void zv_eng_run_end(void);
int zv_eng_interrupt(pthread_t thread, uint64_t epoch);

/* Trap from inside a host function: unwinds to the zv_eng_call frame. */
__attribute__((noreturn)) void zv_eng_trap(int cause, int exit_code);

/* The translator's ABI version (ZV_TRANSLATOR_VERSION): part of every cache
 * key, and of `zvm --version`. */
int zv_eng_translator_version(void);

/* The name of a trap cause, e.g. "integer divide by zero". */
const char *zv_eng_trap_name(int cause);

/* Signals. The engine installs handlers for SIGSEGV and SIGBUS (guest
 * out-of-bounds accesses, guest stack overflow) and for
 * ZV_ENG_INTERRUPT_SIGNAL, once, the first time a thread is made ready to
 * run guests. A signal that is not the guest's (a fault outside generated
 * code and guest memory, an interrupt signal that zvm did not queue) goes
 * to the handler installed before, as it would have without zvm: embedders
 * install theirs first, or chain to zvm's. SIGFPE is not used: divisions
 * are checked before they run. A fault inside host code on a guest stack's
 * guard is a host bug: the process aborts with a message. */

/* Runs fn(arg) on a stack of stack_bytes with a guard region below it, so
 * guest stack overflow becomes an exhaustion trap: on the calling thread
 * (a context switch), or on a new thread in sanitizer builds. Returns
 * fn's result. */
int zv_eng_run_guest_thread(int (*fn)(void *), void *arg, size_t stack_bytes);

/* Make the calling thread (e.g. a pinned worker) ready to run guests: its
 * own stack's guard region counts as stack exhaustion, and zvm's signal
 * handlers are put back on top if someone replaced them since (the
 * replaced ones are chained). Returns 0. */
int zv_eng_thread_init(void);

/* Tables and memories made by a host (the spec tests' `spectest`), to be
 * imported by instances. max: the maximum (65536 pages / UINT32_MAX
 * elements when has_max is 0). Return 0 or -ENOMEM. */
int zv_eng_memory_new(uint32_t min_pages, uint32_t max_pages, int has_max, zv_memory **out);
void zv_eng_memory_free(zv_memory *mem);
int zv_eng_table_new(uint8_t elem_type, uint32_t min, uint32_t max, zv_table **out);
void zv_eng_table_free(zv_table *t);

/* A value as text, as `zvm run --invoke` reads and prints it: integers
 * decimal or 0x hex (negative allowed); floats decimal, inf, nan or raw
 * bits 0x...; v128 0x and 32 hex digits, most significant first. Parse
 * returns 0 or -EINVAL; format writes "TYPE:0xBITS" (references
 * "funcref:null"/"non-null") and returns its length. */
int zv_eng_value_parse(const char *s, uint8_t type, zv_value *v);
int zv_eng_value_format(uint8_t type, const zv_value *v, char *buf, size_t n);

/* Canonical id of a function signature: its code if it has one (at most
 * 7 params, 3 results, 8 types: the same in every process, 0 for longer
 * ones), else a number from the process's registry. */
uint32_t zv_eng_type_id(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                        uint32_t n_results);
uint32_t zv_eng_type_code(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                          uint32_t n_results);

#endif
