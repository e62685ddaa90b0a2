/*
 * prefork.h — the instance pool: what turns a compiled module into
 * millions of fresh instances per second.
 *
 * - Runners (runner.c): one instance, its session and its output buffer,
 *   made once per worker; each record then runs as a fresh instance in
 *   the same slot. zv_pf_runner_run is the per-instance path: no
 *   allocation, no lock, no syscall but the reset's madvise when chosen.
 * - The pool (pool.c): pinned workers (cpuset/), one runner each, fed
 *   batches of records through lock-free queues; results in submit order
 *   or as they finish. The embedding API (include/zvm/zvm.h) is a thin
 *   layer over it, and `zvm batch` and `zvm-bench` are its clients.
 * - The watchdog (watchdog.c): one thread that stops runs past their
 *   deadline, for pools and sessions alike.
 * - Sessions (session.c): one manifest run end to end, as `zvm run`.
 *
 * Functions return 0 or -errno; nothing here prints.
 */
#ifndef ZV_PREFORK_H
#define ZV_PREFORK_H

#include "config/config.h"
#include "engine/engine.h"
#include "engine/host.h"
#include "io/io.h"
#include "include/zvm/zvm.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- the watchdog ---------------------------------------------------------- */

typedef struct zv_pf_watchdog zv_pf_watchdog;

/* One watched guest thread. Its owner announces each run; the watchdog
 * interrupts a run that outlives its limit (engine.h, zv_eng_interrupt). */
typedef struct {
    pthread_t thread;              /* set by zv_pf_watch_attach */
    _Atomic uint64_t started_ns;   /* 0: no run */
    _Atomic uint64_t epoch;        /* the engine's number for the run */
    _Atomic uint64_t limit_ns;
    _Atomic int attached;
} zv_pf_watch;

/* A watchdog over n watches, with its thread started. Returns 0 or -errno. */
int zv_pf_watchdog_new(uint32_t n, zv_pf_watchdog **out);
zv_pf_watch *zv_pf_watchdog_slot(zv_pf_watchdog *wd, uint32_t i);
void zv_pf_watchdog_free(zv_pf_watchdog *wd); /* stops the thread; accepts NULL */
/* From now on every run is past its deadline (shutting a pool down). */
void zv_pf_watchdog_expire(zv_pf_watchdog *wd);

/* On the guest thread: this watch is mine. */
void zv_pf_watch_attach(zv_pf_watch *w);
/* On the guest thread, around each run (a few ns: a clock read, stores).
 * Start returns the time it read (CLOCK_MONOTONIC ns). */
uint64_t zv_pf_watch_start(zv_pf_watch *w, uint64_t limit_ns);
void zv_pf_watch_stop(zv_pf_watch *w);

/* ---- runners ------------------------------------------------------------------ */

typedef struct zv_pf_runner zv_pf_runner;

typedef struct {
    int trap;            /* ZV_TRAP_* that ended the instance, 0 if it ended normally */
    int exit_code;       /* the guest's exit code */
    int64_t refused;     /* channel calls refused over a limit */
    const char *msg;     /* the trap's name, or NULL */
    const uint8_t *out;  /* its stdout: runner-owned, valid until the next run */
    size_t out_len;
    const uint8_t *err;  /* its stderr's first stderr_bytes (zv_pf_runner_opts), the same */
    size_t err_len;
    uint64_t err_dropped; /* stderr bytes past those, not kept */
    uint64_t start_ns;   /* when the run began (CLOCK_MONOTONIC), for latency */
} zv_pf_outcome;

/* A runner for `m` with the manifest's limits; the three standard
 * channels are rebound to memory for each record (the manifest must name
 * an openable source for them, e.g. /dev/null). The module and the
 * manifest are borrowed. Must be made on the thread that runs it (after
 * zv_eng_thread_init), under `watch` (may be NULL: no timeout), which then
 * also covers instantiation and the set-up up to a fork point. Unless
 * `snapshot` is ZVM_SNAPSHOT_OFF, a guest that calls zvm_fork() (or, with
 * ZVM_SNAPSHOT_FIRST_READ, first reads its stdin) runs its set-up here,
 * once, and each record starts from the fork point (runner.c). Returns 0;
 * -ENOENT (no `_start` of type () -> ()), -EINVAL, -EFAULT (instantiation
 * or the set-up trapped: err), -errno. */
typedef struct {
    int reset_how;       /* ZV_ENG_RESET_* */
    int snapshot;        /* ZVM_SNAPSHOT_*: where records start */
    zv_pf_watch *watch;
    uint64_t limit_ns;
    size_t stderr_bytes; /* a record's stderr kept (the rest counted), 0: none */
} zv_pf_runner_opts;
int zv_pf_runner_new(zv_eng_module *m, const zv_cfg_manifest *man, const zv_pf_runner_opts *o,
                     zv_pf_runner **out, zv_eng_err *err);
/* Do its records start from a snapshot of the fork point? */
int zv_pf_runner_forked(const zv_pf_runner *r);
/* One record: a fresh instance with `in` as stdin. Returns 0, or -EFAULT
 * when the instance trapped or timed out (oc->trap). */
int zv_pf_runner_run(zv_pf_runner *r, const void *in, size_t len, zv_pf_outcome *oc);
/* One job of daemon mode: a fresh instance (from the fork point, or from
 * the start) on the job's channels instead of the template's, under the
 * job's own timeout (0: the runner's). Returns as zv_pf_runner_run, with
 * job->cpu_ns filled and oc->out empty. */
typedef struct {
    zv_eng_channels *ch; /* the job's channels, opened (zv_eng_channels_open) */
    uint64_t limit_ns;
    uint64_t cpu_ns;     /* filled: the guest thread's CPU time for the job */
} zv_pf_job;
int zv_pf_runner_run_job(zv_pf_runner *r, zv_pf_job *job, zv_pf_outcome *oc);
/* An idle runner gives its memory pages back; the next run resets as usual. */
void zv_pf_runner_idle(zv_pf_runner *r);
/* Between records: run the next ones on another build of the module (the
 * optimised tier). 0, or -EINVAL when its records start from a fork point
 * (the paused set-up holds frames of the old build: it stays on it). */
int zv_pf_runner_retier(zv_pf_runner *r, zv_eng_module *to);
/* Its memory reservation, for binding to a NUMA node. */
int zv_pf_runner_reservation(zv_pf_runner *r, void **base, size_t *size);
void zv_pf_runner_free(zv_pf_runner *r); /* accepts NULL */

/* ---- the service's counters -------------------------------------------------------- */

/* Why a record ended: a pool's results (ZVM_OK .. ZVM_EXIT, the same
 * numbers), then what a broker's consumer decides before a record runs. */
enum {
    ZV_PF_OK, ZV_PF_TRAP, ZV_PF_TIMEOUT, ZV_PF_LIMIT, ZV_PF_EXIT,
    ZV_PF_POISON, ZV_PF_MALFORMED, ZV_PF_DELETED,
    ZV_PF_CAUSES
};
/* "ok", "trap", ... as metrics, summaries and error records name them. */
extern const char *const zv_pf_cause_names[ZV_PF_CAUSES];

/* One set per pool: the one owner of what the progress line, the summary
 * (--stats), the metrics (zv_pf_metrics) and zvm_pool_stats report.
 * Each counter has one writer at a time: the pool's consuming side (the
 * thread taking results, or the feed's holder in pull mode) counts the
 * results by cause; the command adds what only it knows from that same
 * side (its outputs' bytes, a consumer's redeliveries, lag and
 * reconnections, records it ended before they ran). zv_pf_bump makes each
 * change one plain store, and a reader on any thread sees whole values. */
typedef struct {
    _Atomic uint64_t records[ZV_PF_CAUSES]; /* records that ended, by cause */
    _Atomic uint64_t output_bytes;          /* written to the command's output */
    _Atomic uint64_t redeliveries;          /* broker entries delivered more than once */
    _Atomic int64_t lag;                    /* entries the group has not read or acked (-1:
                                             * unknown) */
    _Atomic uint64_t reconnects;            /* broker connections lost and made again */
    _Atomic uint64_t reloads, reload_failures; /* module reloads done, and refused */
    _Atomic int consumer;                   /* a broker's consumer: lag and redeliveries mean
                                             * something */
} zv_pf_counters;

/* One bump of a counter with a single writer: a plain add, no locked
 * instruction, and readers on other threads see whole values. */
static inline void zv_pf_bump_by(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_release);
}
static inline void zv_pf_bump(_Atomic uint64_t *c) { zv_pf_bump_by(c, 1); }

/* ---- the pool ---------------------------------------------------------------- */

typedef struct zv_pf_pool zv_pf_pool;

/* See zvm.h for the contract; `m` is borrowed and must outlive the pool. */
int zv_pf_pool_new(zv_eng_module *m, const zvm_pool_config *cfg, zv_pf_pool **out, char *err,
                   size_t errlen);
/* With `jobs`, a pool of daemon mode: cfg->manifest is the daemon's, each
 * record is a zv_pf_job pointer (8 bytes) and runs as that job
 * (zv_pf_runner_run_job); the job is the submitter's until its result
 * comes back. */
int zv_pf_pool_new_for(zv_eng_module *m, const zvm_pool_config *cfg, int jobs, zv_pf_pool **out,
                       char *err, size_t errlen);
int zv_pf_pool_submit(zv_pf_pool *p, const void *rec, size_t len, uint64_t tag);
int zv_pf_pool_next(zv_pf_pool *p, zvm_result *r, int timeout_ms);
int zv_pf_pool_fd(zv_pf_pool *p);
void zv_pf_pool_close(zv_pf_pool *p);
void zv_pf_pool_free(zv_pf_pool *p);
void zv_pf_pool_stats(const zv_pf_pool *p, zvm_pool_stats *st);
/* Tiers: the workers still on the module's baseline build (while the
 * optimised one is built), and the records they ran on it. */
void zv_pf_pool_tiers(const zv_pf_pool *p, unsigned *baseline_workers,
                      uint64_t *baseline_records);
/* Do its records start from a fork point? */
int zv_pf_pool_forked(const zv_pf_pool *p);
unsigned zv_pf_pool_workers(const zv_pf_pool *p);
/* Its counters: owned by the pool, valid while it lives. */
zv_pf_counters *zv_pf_pool_counters(zv_pf_pool *p);
/* A reload: `to` (a new pool, nothing taken from it yet) goes on from
 * `from`'s counters, so totals never go back. By the consuming side of
 * both, with nothing of `from`'s in flight. */
void zv_pf_counters_carry(zv_pf_counters *to, const zv_pf_counters *from);

/* ---- metrics (metrics.c) ---------------------------------------------------------- */

/* Prometheus' text format at http://ADDR/metrics, from a thread of its
 * own: the pool's counters, latency histogram, workers and tiers, read at
 * each scrape (nothing is added to a record's path). ADDR is PORT
 * (loopback), HOST:PORT, [IPV6]:PORT or :PORT (every interface); port 0
 * takes a free one (zv_pf_metrics_address says which). The pool is
 * borrowed: free the server first. 0, or -errno with err saying why. */
typedef struct zv_pf_metrics zv_pf_metrics;
int zv_pf_metrics_start(const char *addr, zv_pf_pool *pool, zv_pf_metrics **out, char *err,
                        size_t errlen);
const char *zv_pf_metrics_address(const zv_pf_metrics *m); /* "127.0.0.1:9100" */
/* Serve another pool's numbers from now on (a reload's new pool): when it
 * returns, no scrape reads the one before, which may then be freed. */
void zv_pf_metrics_set_pool(zv_pf_metrics *m, zv_pf_pool *pool);
void zv_pf_metrics_free(zv_pf_metrics *m);                 /* accepts NULL */
/* ADDR's host ("" for every interface) and port, checked: 0 or -EINVAL. */
int zv_pf_metrics_parse(const char *addr, char *host, size_t host_len, char *port,
                        size_t port_len, char *err, size_t errlen);
/* The page itself, into f. 0 or -EIO. */
int zv_pf_metrics_write(zv_pf_pool *p, FILE *f);

/* ---- pull mode ----------------------------------------------------------------- */

/* The pool drives a source and a sink itself: records from `next`
 * (1 and the record, valid until the next call; 0 at the end; -errno),
 * results to `put` in order (or as they finish when unordered), until
 * the source ends and every result is out. When the workers take every
 * core they run these callbacks themselves between their batches, one at
 * a time, so no third thread competes for the cores (measured: 1.8x the
 * rate of one worker with two, against 1.5x with a separate dispatcher);
 * otherwise the calling thread runs them. `tick` (may be NULL) runs on the
 * calling thread about every 250 ms (progress displays). A record over
 * the input limit is not run: its result is ZVM_LIMIT. The callbacks never
 * run concurrently. Don't mix with zv_pf_pool_submit/next. Returns the
 * source's error, or 0. A source that returns an error ends the run once
 * every result is out, and the pool may run again (a reload: -EINTR, then
 * the same pool or another goes on from the same source with
 * first_index = zv_pf_pool_fed). */
typedef struct {
    int (*next)(void *arg, const uint8_t **rec, size_t *len);
    void (*put)(void *arg, const zvm_result *r);
    void (*tick)(void *arg);
    void *arg;
    /* A source that may have nothing yet (a pipe): `next` returns -EAGAIN,
     * the records read so far go to the workers at once, `flush` (may be
     * NULL) runs after the results out by then, and nothing polls: the
     * calling thread waits on `wait_fd(arg)` (readable when `next` may
     * have more) and the workers sleep. NULL: `next` never waits. */
    void (*flush)(void *arg);
    int (*wait_fd)(void *arg);
    uint64_t first_index; /* the first record's index (its result's tag) */
} zv_pf_feed;
int zv_pf_pool_run(zv_pf_pool *p, const zv_pf_feed *feed);
/* Records a run took from its source so far, first_index included. */
uint64_t zv_pf_pool_fed(const zv_pf_pool *p);

/* ---- sessions ------------------------------------------------------------------ */

typedef struct {
    zv_eng_opts eng;           /* cache, compiler, interrupt checks; the policy is zvm's */
    uint64_t timeout_ns;       /* 0: the manifest's Timeout (0 there too: none) */
    const char *invoke;        /* call this export instead of _start */
    char *const *invoke_args;  /* its arguments as text (zv_eng_value_parse) */
    uint32_t n_invoke_args;
    uint32_t n_results;        /* filled: the invoked function's results */
    uint8_t result_types[64];
    zv_value results[64];
    int usage_error;           /* filled: the --invoke arguments do not fit (status says how) */
    int trap;                  /* filled: the trap that ended it (ZV_TRAP_*), or 0 */
    zv_pf_watch *watch;        /* non-NULL: run under this watch of the caller's watchdog */
    zv_eng_module *module;     /* non-NULL: the Program, loaded by the caller (borrowed) */
    zv_io_wait_hook wait_hook; /* set on the guest thread (io.h), with wait_arg */
    void *wait_arg;
    uint8_t *used;             /* non-NULL: filled, one per manifest channel: did the run use
                                * it (zv_eng_session_used)? */
    uint32_t n_strays;         /* filled: devices no one declared (zv_eng_session_strays) */
    char stray[256];           /* filled: the first one's path */
} zv_pf_session_opts;

/* Run the manifest's Program under its rules; fill `rep` as zvm run
 * prints it (rep->etags is allocated: zvm_report_free). The timeout
 * covers instantiation too. Returns 0 with the
 * report filled, whatever the guest did (rep->exit_code), or -ENOMEM. */
int zv_pf_session_run(const zv_cfg_manifest *man, zv_pf_session_opts *o, zvm_report *rep);

/* ---- multi-stage jobs (job.c) --------------------------------------------------- */

typedef struct {
    zv_eng_opts eng;
    unsigned workers;          /* instances computing at once (0: one per core) */
    /* called about every 200 ms while the job runs (may be NULL) */
    void (*progress)(void *arg, uint32_t done, uint32_t running, uint32_t waiting,
                     uint32_t total);
    void *arg;
} zv_pf_job_opts;

/* One instance's line of a job's report. Its status: "ok" (or "ok; ..."
 * with a note: calls refused over a limit, connections it never opened),
 * "exit N" (the guest's non-zero exit), "trap: CAUSE", "timeout",
 * "undeclared device: PATH" (a write under /dev that no connection or
 * device declares), "stopped: the job ended", "not started: the job
 * ended", or why its session could not start (a device that does not
 * open). Anything but "ok" and "ok; ..." is a failure. */
typedef struct {
    char status[512];
    int failed;
    int exited;                /* the guest ended by itself: exit_code is its code */
    int exit_code;
    double cpu_seconds;        /* its guest thread's */
    double wall_seconds;       /* from its start to its end, waits included */
    int64_t bytes_in, bytes_out; /* through all its channels */
} zv_pf_job_inst;

typedef struct {
    zv_pf_job_inst *inst;      /* one per instance, in the description's order */
    uint32_t n;
    uint32_t failed;           /* instances that failed (the one that stopped the job, and
                                * those it stopped or kept from starting) */
    uint32_t culprit;          /* the instance whose failure stopped the job, or UINT32_MAX */
    int exit_code;             /* 0: every instance ended with "ok"; else 1 */
    char status[512];          /* "ok" (or "ok; N instances never opened a connection: ..."),
                                * "NAME: its status" (what stopped the job), "deadlock: ..." */
} zv_pf_job_result;

/* Run the job: pipes made, programs compiled, instances started and
 * stopped as job.c says. Sets the pipes' host_fd in d's manifests. Returns
 * 0 with res filled (zv_pf_job_result_free), or -errno with res->status
 * saying why nothing ran. */
int zv_pf_job_run(zv_cfg_jobdesc *d, const zv_pf_job_opts *o, zv_pf_job_result *res);
void zv_pf_job_result_free(zv_pf_job_result *r);

/* ---- daemon mode ---------------------------------------------------------------- */

typedef struct {
    uint64_t jobs, failed;  /* jobs answered; those whose report is not exit code 0 */
    unsigned workers;
    int forked;             /* jobs start from the fork point */
    /* at the end: the jobs run on the module's baseline build, and the
     * workers still on it (zv_pf_pool_tiers) */
    uint64_t baseline_jobs;
    unsigned baseline_workers;
    char metrics[300];      /* where the metrics are served (HOST:PORT), or "" */
    char sha256[65];        /* the module's, in hex */
} zv_pf_daemon_stats;

typedef struct {
    zv_eng_opts eng;
    const char *manifest_path; /* the daemon's manifest (its pool's template) */
    unsigned workers;          /* 0: one per core */
    int snapshot;              /* ZVM_SNAPSHOT_*: where jobs start */
    int reset_how;             /* ZV_ENG_RESET_* */
    int json;                  /* reports as JSON */
    unsigned socket_mode;      /* 0: 0600 (owner-only) */
    volatile const int *stop;  /* set (by a signal handler): finish running jobs, return */
    /* changed (by a signal handler): load the program again; jobs running
     * finish on the old one, and reloaded(arg, sha256 hex, NULL) or
     * reloaded(arg, NULL, why) says how it went (the old one serves on).
     * NULL: no reloads. */
    volatile const int *reload;
    void (*reloaded)(void *arg, const char *sha256, const char *why);
    const char *metrics;       /* non-NULL: serve metrics there (zv_pf_metrics_start) */
    /* called once the workers reached their fork point and the socket is up */
    void (*ready)(void *arg, const char *socket_path, const zv_pf_daemon_stats *st);
    void *arg;
} zv_pf_daemon_opts;

/* Serve `man`'s Job socket until *o->stop (daemon.c). Returns 0 after a
 * clean stop; else ZeroVM's exit code (2, 8: the program; 4: its set-up
 * trapped; 1: anything else) with `err` saying why. */
int zv_pf_daemon_run(const zv_cfg_manifest *man, const zv_pf_daemon_opts *o,
                     zv_pf_daemon_stats *st, char *err, size_t errlen);

/* For sessions and daemon jobs alike. The manifest's Program, validated
 * and compiled: 0, or ZeroVM's exit code (2 unreadable, 8 invalid) with
 * rep->status (and rep->validator) saying why. */
int zv_pf_load_program(const zv_cfg_manifest *man, const zv_eng_opts *eng, zv_eng_module **out,
                       zvm_report *rep);
/* A run's channel totals into its report: accounting, the note on calls
 * refused over a limit (when rep->exit_code is 0), and the etags, the
 * memory's last (memory_etag may be NULL or ""). 0 or -ENOMEM. */
int zv_pf_report_totals(zvm_report *rep, const zv_eng_totals *t, const char *memory_etag);

#endif
