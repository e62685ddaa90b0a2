/*
 * zvm/zvm.h — embedding zvm: run untrusted WebAssembly (wasm32-wasi
 * commands) as short-lived sandboxes, one fresh instance per record, on
 * pinned worker threads. Link with `pkg-config --cflags --libs zvm`.
 *
 * A module is validated, compiled through the code cache and shared by
 * every pool and thread. A pool runs one fresh instance of it per record:
 * the record is the guest's stdin, its stdout is the result. Results come
 * back in submit order (or as they finish), each with its status.
 *
 * Conventions (as in liburing): functions return 0 (or a count) or a
 * negative errno and never set errno; free functions accept NULL; the
 * library prints nothing and never exits. Structs are growable: a field
 * added later is zero-initialised by old callers and then keeps the old
 * behaviour, so always clear a struct before filling it.
 *
 * Threading: modules are shared freely. For one pool, one thread may call
 * zvm_pool_submit while another calls zvm_pool_next (a queue embedder's
 * two loops); the same call is never made from two threads at once, and
 * zvm_pool_free is called alone.
 *
 * Signals: the library installs handlers for SIGSEGV and SIGBUS (a guest's
 * out-of-bounds access or stack overflow becomes a trap) and for SIGURG
 * (stopping a guest at its timeout), the first time a pool or session
 * starts. A signal that is not the guest's — a fault outside guest code
 * and guest memory, a SIGURG that zvm did not send — is passed to the
 * handler that was installed before zvm's (or to the default action), so
 * an embedder's handlers keep working when installed before the first
 * pool; install them later only if they chain to the previous handler.
 * SIGFPE is not used. The library blocks no signal.
 *
 * Memory: each worker reserves one 8 GiB slot of address space (4 GiB of
 * linear memory and a 4 GiB guard, PROT_NONE until used; no RAM until a
 * guest touches it), so a pool of N workers reserves about 8 GiB * N plus
 * its buffers. Under a `ulimit -v` that forbids it, zvm_pool_new fails
 * with -ENOMEM and says so in `err`.
 */
#ifndef ZVM_ZVM_H
#define ZVM_ZVM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZVM_API_VERSION 1

/* The library's version, "MAJOR.MINOR.PATCH": zvm.pc's Version, the
 * soname's (libzvm.so.MAJOR; libzvm.so.0.MINOR before 1.0) and `zvm
 * --version`'s. A static string: never freed. */
const char *zvm_version(void);

/* The default bound on a record's input and on its output. */
#define ZVM_DEFAULT_RECORD_BYTES (16u << 20)

typedef struct zvm_module zvm_module;
typedef struct zvm_pool zvm_pool;

/* Read, validate (WebAssembly core 2.0 and zvm's import policy) and
 * compile `wasm_path` through the code cache in `cache_dir` (NULL: the
 * default, $ZVM_CACHE, else $XDG_CACHE_HOME/zvm, else ~/.cache/zvm).
 * Returns 0; -ENOENT/-EACCES (cannot read), -EINVAL (malformed or invalid),
 * -EPERM (refused by the policy), -ENOMEM, -EIO (the C compiler failed);
 * `err` (errlen bytes, may be NULL) gets a message naming the file, the
 * offset and the cause. The caller frees *out with zvm_module_free, after
 * every pool using it. */
int zvm_module_load(const char *wasm_path, const char *cache_dir, zvm_module **out, char *err,
                    size_t errlen);
/* The same from `len` bytes in memory (copied: the caller keeps `wasm`),
 * e.g. a module fetched from a store; messages name no file. */
int zvm_module_load_bytes(const void *wasm, size_t len, const char *cache_dir, zvm_module **out,
                          char *err, size_t errlen);
void zvm_module_free(zvm_module *m);

enum { ZVM_SNAPSHOT_FORK = 0, ZVM_SNAPSHOT_OFF = 1, ZVM_SNAPSHOT_FIRST_READ = 2 };

/* Pools: one fresh instance per record on pinned workers. Zero fields take
 * the defaults; a NULL config is all defaults. */
typedef struct zvm_pool_config {
    unsigned workers;      /* 0: one per core */
    double timeout_s;      /* per record, 0: 10 (or the template's Timeout) */
    uint64_t memory_bytes; /* the guest's memory limit, 0: 64 MiB (or the template's Memory) */
    uint64_t input_limit;  /* bytes per record, 0: 16 MiB; larger ones are refused (-E2BIG) */
    uint64_t output_limit; /* stdout bytes per record, 0: 16 MiB; more is a ZVM_LIMIT result */
    const char *manifest;  /* optional template, as zvm batch --manifest: its channels and
                            * limits; non-zero fields above override it */
    int unordered;         /* 0: results in submit order; 1: as they finish */
    unsigned depth;        /* records submitted and not yet returned, 0: 4096 */
    int reset;             /* how memory is cleared between records: 0 auto, 1 memset,
                            * 2 madvise (see `zvm batch --reset`) */
    int snapshot;          /* where records start (zvm batch --snapshot):
                            * ZVM_SNAPSHOT_FORK (0): from the guest's zvm_fork() call;
                            * ZVM_SNAPSHOT_OFF: every record runs from _start (its set-up
                            * again), for comparison: the bytes are the same;
                            * ZVM_SNAPSHOT_FIRST_READ: from its first read of stdin, as if
                            * it called zvm_fork() there (or from zvm_fork() if earlier);
                            * the pool builds the module for it if it was not loaded so */
    const char *program;   /* the module's path: the guest's argv[0] (NULL: "module"), and a
                            * template's Program must name the same file */
    const char *const *args; /* NULL-ended: the guest's argv after argv[0] (a template's
                            * Args when NULL) */
    const char *const *env;  /* NULL-ended "NAME=VALUE": the guest's environment, after a
                            * template's Env */
    int64_t stderr_limit;  /* stderr bytes kept per record (the rest counted and dropped),
                            * 0: 4096, < 0: none */
    const char *allow_exit_codes; /* exit codes that are not errors besides 0, e.g. "1,3-5";
                            * any other non-zero exit is a ZVM_EXIT result */
    int keep_output;       /* 1: a failed record's stdout comes back too (to look at one) */
    const char *const *dirs; /* NULL-ended "HOST::GUEST": host folders every record sees at
                            * GUEST, read-only (records never write the host; wasmtime's
                            * --dir syntax, copied) */
} zvm_pool_config;

/* Start the workers and build one instance on each. Returns 0; -EINVAL (a
 * bad config: `err` says which field), -ENOENT (the module has no _start
 * of type () -> ()), -ENOMEM (including address space: see above),
 * -errno. The module must outlive the pool. */
int zvm_pool_new(zvm_module *m, const zvm_pool_config *cfg, zvm_pool **out, char *err,
                 size_t errlen);

/* Queue one record (copied; len may be 0; rec may be NULL when len is 0).
 * `tag` comes back with its result. Returns 0; -EAGAIN when the pool
 * holds all it can take now (`depth` records not yet returned by
 * zvm_pool_next, or every worker's queue full): fetch a result, then
 * submit again; -E2BIG (over input_limit); -EPIPE (after zvm_pool_close);
 * -EINVAL (NULL pool, or NULL rec with len > 0); -ENOMEM. */
int zvm_pool_submit(zvm_pool *p, const void *rec, size_t len, uint64_t tag);

/* ZVM_EXIT: the guest exited with a code that allow_exit_codes does not
 * allow (detail "exit N"). */
enum { ZVM_OK = 0, ZVM_TRAP = 1, ZVM_TIMEOUT = 2, ZVM_LIMIT = 3, ZVM_EXIT = 4 };

typedef struct zvm_result {
    uint64_t tag;       /* as submitted */
    int status;         /* ZVM_OK, ZVM_TRAP, ZVM_TIMEOUT, ZVM_LIMIT, ZVM_EXIT */
    int exit_code;      /* the guest's exit code (proc_exit), 0 when it returned */
    const char *detail; /* the trap's name, the limit hit or "exit N"; NULL when ZVM_OK */
    const void *data;   /* the guest's stdout (nothing unless ZVM_OK or keep_output) */
    size_t len;
    /* its stderr, whatever the status: the first stderr_limit bytes, then,
     * if more came, a marker "[zvm: N more bytes]" (named so, not `stderr`,
     * which a C library may define as an expression) */
    const void *stderr_data;
    size_t stderr_len;
} zvm_result;           /* data, stderr_data and detail are valid until the next zvm_pool_next */

/* The next result. Returns 1 (a result in *r), 0 (none ready within
 * timeout_ms; 0 does not wait, -1 waits as long as it takes), -ENODATA
 * (the pool is closed and every result has been returned), -EINVAL. A
 * record submitted but still in the submitting thread's current batch is
 * sent to the workers before this waits, so one thread can submit a few
 * records and then wait for them. */
int zvm_pool_next(zvm_pool *p, zvm_result *r, int timeout_ms);

/* A file descriptor that becomes readable when zvm_pool_next has a result
 * after it returned 0 (for epoll/poll loops): call zvm_pool_next until it
 * returns 0, then wait on the descriptor. Owned by the pool (a reload
 * changes it: zvm_pool_reload). */
int zvm_pool_fd(zvm_pool *p);

/* No more submits (they get -EPIPE); records already submitted still run.
 * Calling it twice is harmless. */
void zvm_pool_close(zvm_pool *p);

/* Stops the workers (records in flight are abandoned: the watchdog stops
 * any still running) and frees everything; results not fetched are
 * dropped. */
void zvm_pool_free(zvm_pool *p);

/* A new version of the filter without stopping: a pool for module `m`
 * (loaded with zvm_module_load) is made with the configuration the pool
 * was made with (its strings must still be valid), then the records
 * submitted from now on run on it, while those submitted before finish on
 * the module before; zvm_pool_next returns all of their results first,
 * then frees the pool before. Call it from the thread that submits.
 * Returns 0; -EBUSY while the results of the reload before are still being
 * returned; or the errors of zvm_pool_new, with `err` saying why: the
 * module before runs on. Both modules must outlive the pool. The
 * descriptor of zvm_pool_fd changes: read it again after each
 * zvm_pool_next that returned 0. */
int zvm_pool_reload(zvm_pool *p, zvm_module *m, char *err, size_t errlen);

/* Counters since the pool started, for progress displays and summaries. */
typedef struct zvm_pool_stats {
    uint64_t records;  /* results produced */
    uint64_t errors;   /* of which not ZVM_OK */
    unsigned workers;
    double p50_us, p90_us, p99_us, p999_us, max_us, mean_us; /* one record, start to end */
} zvm_pool_stats;
void zvm_pool_stats_get(const zvm_pool *p, zvm_pool_stats *st);

/* One ZeroVM session from a manifest: the manifest's Program with exactly
 * its channels, memory, timeout, arguments, environment, seed and clock.
 * The report holds what `zvm run MANIFEST` prints. */
typedef struct zvm_report {
    int exit_code;    /* as zvm run: 0 ended normally (whatever the guest returned), 4 trap
                       * or timeout, else ZeroVM's code (14 manifest, 2 no program, 8
                       * invalid program, 12 memory, 22 zero limits, 93 source kind) */
    int validator;    /* 0 valid, 1 invalid */
    int daemon;       /* 0 */
    int user_code;    /* the guest's exit code */
    double cpu_seconds;
    int64_t gets, get_bytes, puts, put_bytes;
    char status[512]; /* "ok", or what ended the session */
    unsigned n_etags;
    struct zvm_etag {
        char *alias;
        char sha256[65];
    } *etags;         /* n_etags of them, the memory's last as "memory"; zvm_report_free */
} zvm_report;

/* Runs the session. Returns 0 when the report is filled (whatever the
 * guest did: see rep->exit_code), or -errno when the manifest could not
 * be read at all; `err` says why. Free the report with zvm_report_free. */
int zvm_session_run(const char *manifest_path, zvm_report *rep, char *err, size_t errlen);
void zvm_report_free(zvm_report *rep);

/* ZeroVM's report text (7 lines) or, with json, one JSON object line. */
int zvm_report_write(const zvm_report *rep, int json, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
