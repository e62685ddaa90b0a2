/*
 * pool_private.h — private to the pool's files: pool.c (workers, setup,
 * the push API: submit/next), pool_feed.c (the pull mode: a source and a
 * sink the pool drives itself). The threads and what each touches are in
 * pool.c's opening comment.
 */
#ifndef ZV_PF_POOL_PRIVATE_H
#define ZV_PF_POOL_PRIVATE_H

#include "cpuset/cpuset.h"
#include "prefork/latency.h"
#include "prefork/prefork.h"
#include "prefork/spsc.h"

#define BATCH_MAX 256
#define BATCH_BYTES (1u << 20)
#define MAX_WORKERS 64
#define MAX_LIMIT (1ull << 30) /* a record's input or output */
#define QUEUE_DEPTH 4 /* batches handed to one worker and not yet collected */

typedef struct {
    uint64_t tag;
    size_t in_off, in_len;
    size_t out_off, out_len;
    size_t err_off, err_len;   /* its stderr, after its stdout in the batch's out */
    int status, exit_code;
    int too_big;       /* over input_limit: not run, a ZVM_LIMIT result */
    const char *detail;
} rec;

typedef struct batch {
    uint64_t seq;
    uint64_t run_ns;   /* how long its worker took */
    uint32_t n;
    uint8_t *in, *out;
    size_t in_len, in_cap, out_len, out_cap;
    rec r[BATCH_MAX];
} batch;

typedef struct {
    zv_pf_pool *p;
    zv_spsc todo, done;
    zv_pf_runner *runner;
    zv_pf_watch *watch;
    uint32_t handed;               /* producer: batches handed to it */
    _Atomic uint32_t finished;     /* the worker: batches it finished */
    _Atomic uint32_t collected;    /* consumer: batches taken back */
    _Atomic uint32_t sleeping, wake; /* the futex protocol */
    _Atomic(zv_eng_module *) mod;  /* the build its runner runs (tiers) */
    _Atomic uint64_t baseline_records; /* records it ran on the baseline build */
    zv_latency lat;
} worker;

struct zv_pf_pool {
    zv_eng_module *mod;
    zv_eng_module *own_mod;  /* the module built for a fork point, when the caller's was not */
    /* tiers: for a baseline module, a thread waits for the optimised build
     * and publishes it; each worker moves to it between batches */
    _Atomic(zv_eng_module *) optimised;
    pthread_t tier_thread;
    int tier_started;
    zv_cfg_manifest *man;
    char **dirs;             /* zvm_pool_config.dirs, copied (man->dirs) */
    char **images;           /* the module's zvm.mount images (man->images) */
    uint64_t timeout_ns, input_limit;
    uint32_t depth, n_workers, n_batches;
    int unordered, reset_how, snapshot;
    size_t stderr_bytes;     /* kept of each record's stderr */
    int keep_output;         /* a failed record's stdout comes back too */
    uint64_t exit_ok[4];     /* exit codes 0-255 that are not errors, one bit each */
    char exit_detail[16];    /* consumer: "exit N" of the result just taken */
    int jobs;                /* records are zv_pf_job pointers (daemon mode) */
    zv_cpu_topology *topo;
    zv_cpu_workers *ws;
    zv_pf_watchdog *wd;
    worker *w;
    batch *batches;
    int efd;
    _Atomic int armed, closed, stop;
    int armed_by_me;         /* consumer: it armed `armed` since the last read of efd */
    _Atomic uint32_t open_n; /* records in the open batch (a hint for the consumer) */
    _Atomic int ready, failed;
    _Atomic int fail_claimed; /* the first failing worker writes fail_rc and fail_msg */
    int fail_rc;
    char fail_msg[512];
    _Atomic uint64_t submitted, returned; /* each has one writer; by cause: counters */
    zv_pf_counters counters; /* the consuming side's (prefork.h) */
    /* the producer's side: under prod_lock (push), or the feed token (pull) */
    pthread_mutex_t prod_lock;
    batch *open;
    batch **free_list;
    uint32_t n_free;
    uint64_t next_seq;
    /* the consumer's side */
    batch **pending; /* ordered: by seq % n_batches; unordered: a FIFO */
    uint64_t want_seq, fifo_head, fifo_tail;
    batch *cur;
    uint32_t cur_i;
    /* pull mode (pool_feed.c) */
    const zv_pf_feed *feed;
    _Atomic int workers_feed;  /* the workers run the feed between batches */
    _Atomic int feeding;       /* the token: held by whoever runs a feed step */
    _Atomic uint32_t feed_state; /* FEED_DONE, FEED_BLOCKED: a futex word (pool_feed.c) */
    const uint8_t *pend;       /* a record read but not yet appended */
    size_t pend_len;
    int feed_eof, feed_err;
    uint64_t feed_index, last_run_ns;
};

/* The producer's side (exclusive: prod_lock or the feed token). Append a
 * record to the open batch; with `eager`, hand the batch on at once when a
 * worker is idle, else only when full. 0, -EAGAIN (no room now), -ENOMEM. */
/* The configuration made real (pool_setup.c): the manifest, argv, folders
 * and images, limits, the worker and batch arrays; p->mod and p->jobs set
 * before. 0, or -errno with err filled. */
int zv_pf_pool_setup(zv_pf_pool *p, const zvm_pool_config *c, char *err, size_t errlen);
int zv_pf_pool_append(zv_pf_pool *p, const void *data, size_t len, uint64_t tag, int eager);
/* Hand the open batch on if it holds records (0 if no queue had room). */
int zv_pf_pool_send(zv_pf_pool *p);
/* The consumer's side: the next result if one is ready (1), else 0. */
int zv_pf_pool_take(zv_pf_pool *p, zvm_result *r);
/* Install the worker's syscall filter on the calling thread (seccomp.c):
 * 0, or -errno. */
int zv_pf_seccomp_worker(void);
/* Workers in pull mode run a feed step between batches (pool_feed.c);
 * when the source waits for bytes (FEED_BLOCKED) they sleep instead of
 * napping for the token. */
enum { FEED_DONE = 1, FEED_BLOCKED = 2 };
int zv_pf_feed_try(zv_pf_pool *p);
/* The consumer's side: make the next finished batch write the eventfd
 * (p->efd), for a thread about to wait on it. */
void zv_pf_pool_arm(zv_pf_pool *p);

#endif
