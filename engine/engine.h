/*
 * engine.h — the engine's contract: load a module (validate, then compile
 * through the code cache, then dlopen), instantiate it against imports,
 * call its functions with traps turned into error records.
 *
 * A loaded module is immutable and shared by every thread. An instance is
 * used by one thread at a time. Traps unwind through a per-thread frame set
 * up by zv_eng_call; faults in a memory's guard region or in a guest
 * stack's guard become traps, any other fault is a real crash.
 */
#ifndef ZV_ENGINE_H
#define ZV_ENGINE_H

#include "config/config.h"
#include "engine/rt_abi.h"
#include "validator/validator.h"

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

typedef struct {
    int trap;      /* ZV_TRAP_* when a call or instantiation trapped, else 0 */
    int exit_code; /* with ZV_TRAP_EXIT: the guest's exit code */
    char msg[512]; /* what went wrong, with the file/import/offset it concerns */
} zv_eng_err;

typedef struct {
    const char *cache_dir;  /* NULL: $ZVM_CACHE, else $XDG_CACHE_HOME/zvm, else ~/.cache/zvm */
    const char *cc;         /* NULL: $ZVM_CC, else "gcc" */
    int fast_compile;       /* 1: -O0, quick to build and slow to run (spec tests) */
    int no_interrupt_checks; /* 1: no safe-point polls (timeouts cannot stop loops) */
    const zv_val_policy *policy; /* checked after validation, before compiling; NULL: none */
} zv_eng_opts;

/* Options of the translator itself (part of the cache key). */
typedef struct {
    int interrupt_checks;
} zv_eng_translate_opts;

typedef struct zv_eng_module zv_eng_module;
typedef struct zv_eng_instance zv_eng_instance;

/* Validate `bytes` (spec rules only; apply a policy before if you need
 * one), then find the compiled code in the cache or compile it. The
 * module copies `bytes`. *cached tells whether the cache had it. */
int zv_eng_module_load(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                       zv_eng_module **out, int *cached, zv_eng_err *err);
void zv_eng_module_free(zv_eng_module *m);
const zv_val_module *zv_eng_module_info(const zv_eng_module *m);

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
} zv_eng_extern;

/* Resolves one import; returns 0 and fills *out, or -ENOENT. */
typedef int (*zv_eng_resolver)(void *arg, const zv_val_import *im, zv_eng_extern *out);

/* Link, allocate memory and tables, run element and data initialisation
 * and the start function. Returns 0; -ENOLINK (link error, err->msg);
 * -EFAULT (a trap, err->trap); -ENOMEM. On -EFAULT the writes already made
 * to imported tables and memories stay, as the spec requires. */
typedef struct {
    uint32_t max_memory_pages; /* 0: the module's own maximum */
} zv_eng_limits;
int zv_eng_instance_new(zv_eng_module *m, const zv_eng_limits *limits, zv_eng_resolver resolve,
                        void *arg, void *user, zv_eng_instance **out, zv_eng_err *err);
void zv_eng_instance_free(zv_eng_instance *inst);

/* Reuse: return the instance to its state right after instantiation, in
 * place and without allocating (the batch appliance's per-instance path).
 * `how` says how the kept memory pages are cleared: ZV_ENG_RESET_MEMSET
 * (pages stay resident), ZV_ENG_RESET_MADVISE (the kernel hands zero pages
 * back on first touch), or ZV_ENG_RESET_AUTO: memset up to
 * ZV_ENG_RESET_MEMSET_MAX bytes of initial memory, madvise above
 * (measured crossover, perf/README.md). Returns 0, -EFAULT (the start
 * function trapped), -ENOTSUP (the instance imports a memory or table),
 * -errno. */
enum { ZV_ENG_RESET_AUTO = 0, ZV_ENG_RESET_MEMSET = 1, ZV_ENG_RESET_MADVISE = 2 };
#define ZV_ENG_RESET_MEMSET_MAX (512u << 10)
int zv_eng_instance_reset(zv_eng_instance *inst, int how, zv_eng_err *err);
zv_ctx *zv_eng_instance_ctx(zv_eng_instance *inst);
const zv_val_module *zv_eng_instance_info(const zv_eng_instance *inst);
void *zv_eng_instance_user(zv_eng_instance *inst);

/* Look up an export by name (name_len bytes, may hold NULs). Returns 0
 * or -ENOENT; *type_idx gets a function's module type index. */
int zv_eng_instance_export(zv_eng_instance *inst, const char *name, size_t name_len,
                           zv_eng_extern *out, uint32_t *type_idx);

/* Call function `f` whose type is module type `type_idx` of inst's module.
 * Returns 0, or -EFAULT with err->trap set. */
int zv_eng_call(zv_eng_instance *inst, zv_func *f, uint32_t type_idx, const zv_value *args,
                zv_value *results, zv_eng_err *err);

/* Interrupting a guest: raise its context's `interrupt` flag, then send
 * this signal to the thread running it (pthread_kill): loops carry no
 * polls, the signal stops a guest spinning in its own code. */
#define ZV_ENG_INTERRUPT_SIGNAL SIGURG

/* Trap from inside a host function: unwinds to the zv_eng_call frame. */
__attribute__((noreturn)) void zv_eng_trap(int cause, int exit_code);

/* The name of a trap cause, e.g. "integer divide by zero". */
const char *zv_eng_trap_name(int cause);

/* Runs fn(arg) on a new thread whose stack has a guard region, so guest
 * stack overflow becomes an exhaustion trap. Returns fn's result. */
int zv_eng_run_guest_thread(int (*fn)(void *), void *arg, size_t stack_bytes);

/* A linear memory in its own slot (for hosts that export one, like the
 * spec tests' `spectest`). max_pages: the maximum, 65536 for none. */
int zv_eng_memory_new(uint32_t min_pages, uint32_t max_pages, zv_memory **out);
void zv_eng_memory_free(zv_memory *mem);

/* A session (session.c): the host side of one instance run under a
 * manifest: its channels (opened, with limits and etags), its ring, the
 * WASI descriptor table, args, environment, virtual clock and random
 * stream. Pass it as the instance's user pointer and zv_eng_session_resolve
 * as the resolver: it links `zvm` and `wasi_snapshot_preview1` imports. */
typedef struct zv_eng_session zv_eng_session;

/* Open the manifest's channels (paths resolve against its folder).
 * Returns 0; -ENOTSUP (unsupported source kind, ZeroVM exit 93), -EINVAL
 * (all-zero limits, exit 22), -errno (cannot open); err->msg says which. */
int zv_eng_session_new(const zv_cfg_manifest *m, zv_eng_session **out, zv_eng_err *err);
int zv_eng_session_resolve(void *session, const zv_val_import *im, zv_eng_extern *out);

/* End of session: close the channels and total their accounting. */
typedef struct {
    int64_t gets, get_bytes, puts, put_bytes;
    uint32_t n_etags;
    const char *etag_alias[64];
    char etag_hex[64][65];
} zv_eng_totals;
void zv_eng_session_finish(zv_eng_session *s, zv_eng_totals *t);
void zv_eng_session_free(zv_eng_session *s);

/* Reuse for the batch appliance (no allocation, no syscall): rebind channel
 * `index` to a memory buffer (see zv_io_channel_memory), and start the
 * descriptors, clock and random stream over for the next instance. */
void zv_eng_session_bind(zv_eng_session *s, uint32_t index, void *buf, int64_t len, int64_t cap);
void zv_eng_session_reset(zv_eng_session *s);
/* Bytes written to memory channel `index`; calls refused over a limit. */
int64_t zv_eng_session_written(const zv_eng_session *s, uint32_t index);
int64_t zv_eng_session_refused(const zv_eng_session *s);

/* Runners (runner.c): the batch appliance's per-instance path. One runner
 * per worker thread; each run is a fresh instance of the module in the
 * same slot with `in` as its stdin. The manifest gives the limits and must
 * name /dev/null (or any openable source) for the three standard channels:
 * they are rebound to memory. */
typedef struct zv_eng_runner zv_eng_runner;
typedef struct {
    int trap;            /* ZV_TRAP_* that ended the instance, 0 if it ended normally */
    int exit_code;       /* the guest's exit code */
    int64_t refused;     /* channel calls refused over a limit */
    const char *msg;     /* the trap's name, or NULL */
    const uint8_t *out;  /* its stdout: runner-owned, valid until the next run */
    size_t out_len;
} zv_eng_outcome;
int zv_eng_runner_new(zv_eng_module *m, const zv_cfg_manifest *man, int reset_how,
                      zv_eng_runner **out, zv_eng_err *err);
/* Returns 0, or -EFAULT when the instance trapped (oc->trap). Must run on a
 * thread that called zv_eng_thread_init (or a guest thread). */
int zv_eng_runner_run(zv_eng_runner *r, const void *in, size_t len, zv_eng_outcome *oc);
zv_ctx *zv_eng_runner_ctx(zv_eng_runner *r); /* for the watchdog's interrupt flag */
/* An idle runner gives its memory pages back (madvise); the next run resets
 * the instance as usual. Idle slots then cost no resident memory. */
void zv_eng_runner_idle(zv_eng_runner *r);
void zv_eng_runner_free(zv_eng_runner *r);

/* Make the calling thread (e.g. a pinned worker) ready to run guests: its
 * own stack's guard region counts as stack exhaustion. Returns 0. */
int zv_eng_thread_init(void);

/* Canonical id of a function signature given as "params:results". */
uint32_t zv_eng_type_id(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                        uint32_t n_results);


#endif
