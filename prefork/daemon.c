/*
 * daemon.c — ZeroVM's daemon mode: `zvm run` of a manifest with
 * `Job = PATH` runs the guest's set-up once per worker (up to zvm_fork())
 * and then serves jobs on the Unix socket PATH, each from the snapshot.
 *
 * The framing is ZeroVM's. A client connects and sends 8 ASCII digits,
 * the length of its job manifest in decimal ("00000123" is 123), then the
 * manifest. The job takes its channels' sources and tags, Timeout and Node
 * from it (zv_cfg_parse_job); its channels must fit the daemon's
 * (zv_cfg_job_fits). The job's report comes back on the connection, which
 * the daemon then closes.
 *
 * One thread (the caller's) does all socket work with epoll and never
 * blocks: it reads manifests, checks them, opens each job's channel
 * sources with the daemon's rights, hands the job to the pool (a pool of
 * jobs: pool.c, zv_pf_pool_new_for) and writes reports back. The workers
 * only run guests, under their syscall filter. A job's way through:
 * HEADER -> MANIFEST -> QUEUED (checked, waiting for room in the pool)
 * -> RUNNING -> WRITING -> DRAINING -> closed. A malformed or unfitting
 * job, or one whose sources cannot be opened, gets a report with ZeroVM's
 * exit code in its user-code line and the cause as its status; the daemon
 * goes on. A client that hangs up mid-job loses its report and nothing
 * else.
 *
 * Idle clients cannot starve the others (slowloris). The connection table
 * is a quarter of the descriptor limit (the rest is for the jobs'
 * channels). A client has FRAME_TIMEOUT_S from connecting to send its
 * whole frame, and is dropped then; when the table is full, or the
 * process is out of descriptors, a new connection takes the slot of the
 * oldest one that is not a job yet (still sending its frame, or draining
 * after its report), as a real server's accept loop does; only when every
 * slot holds a job does the daemon stop accepting until one ends. Both
 * kinds wait on a list in the order they entered their phase, so their
 * deadlines are in order too: expiring and evicting look only at the
 * oldest, never at the whole table (65536 slots).
 *
 * After its report a connection is shut for writing and what the client
 * still sends is read and dropped (up to MAX_DRAIN_BYTES, for
 * DRAIN_TIMEOUT_S), then it is closed: a socket closed with unread bytes
 * resets the connection, and a client still sending a frame the daemon
 * refused early (a bad header, a manifest over the limit) would get an
 * error instead of its report.
 *
 * Per job the daemon allocates (the parsed manifest, its channels, the
 * report) and makes the syscalls that opening sources and answering on
 * a socket need; the guest's run itself is the pool's per-instance path.
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FRAME_TIMEOUT_S 3            /* from connecting to the whole frame read */
#define DRAIN_TIMEOUT_S 2            /* after the report, what the client still sends */
#define MAX_DRAIN_BYTES (1u << 20)   /* ... up to this much: a refused frame and more */
#define MAX_JOB_BYTES (512u * 1024) /* a manifest's size limit (config/) */
#define TAG_LISTEN UINT64_MAX
#define TAG_POOL (UINT64_MAX - 1)

enum { C_FREE, C_HEADER, C_MANIFEST, C_QUEUED, C_RUNNING, C_WRITING, C_DRAINING };

typedef struct conn conn;

/* Connections in the order they entered their phase: checked jobs
 * waiting for room in the pool, and (so by deadline) those sending their
 * frame and those draining after their report. */
typedef struct {
    conn *oldest, *newest;
} conn_list;

struct conn {
    int fd;
    int state;              /* C_* */
    uint32_t gen;           /* bumped at each reuse of the slot: results match it */
    char header[8];
    size_t got, want;       /* bytes of the header, then of the manifest; drained */
    char *text;             /* the job manifest */
    uint64_t deadline_ns;   /* the frame must be in, or the drain over, by then */
    zv_cfg_manifest *job;
    zv_pf_job pj;           /* pj.ch: its channels, while queued or running */
    char *report;
    size_t report_len, sent;
    conn_list *list;        /* the list it waits on (NULL: none) */
    conn *older, *newer;    /* its neighbours there */
    conn *next;             /* the free list */
};

typedef struct {
    const zv_cfg_manifest *man;
    const zv_pf_daemon_opts *o;
    zv_pf_daemon_stats *st;
    zv_pf_pool *pool;
    int ep, lfd;
    conn *conns;
    uint32_t n_conns;
    conn *free_conns;
    conn_list queue;        /* C_QUEUED, in the order they came */
    conn_list framing;      /* C_HEADER and C_MANIFEST, oldest first */
    conn_list draining;     /* C_DRAINING, oldest first */
    uint64_t in_pool;       /* jobs submitted and not yet back */
    uint32_t open_conns;
    char path[4096];        /* the socket: Job, against the manifest's folder */
    int listening;          /* the listener is in the epoll set */
    zv_eng_module *mod;     /* the pool's (a reload replaces both) */
    zvm_pool_config cfg;    /* what the pool was made with */
    zv_pf_metrics *metrics; /* or NULL */
    int holding;            /* a reload drains the pool: no job goes in */
    int reloads_seen;       /* *o->reload when last looked at */
} daemon_t;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t tag_of(const daemon_t *d, const conn *c)
{
    return (uint64_t)c->gen << 32 | (uint64_t)(c - d->conns);
}

static void listen_on(daemon_t *d, int on)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = TAG_LISTEN}};
    if (d->lfd < 0 || d->listening == on)
        return;
    epoll_ctl(d->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, d->lfd, &ev);
    d->listening = on;
}

static void list_add(conn_list *l, conn *c)
{
    c->list = l;
    c->older = l->newest;
    c->newer = NULL;
    if (l->newest)
        l->newest->newer = c;
    else
        l->oldest = c;
    l->newest = c;
}

static void list_del(conn *c)
{
    conn_list *l = c->list;
    if (!l)
        return;
    if (c->older)
        c->older->newer = c->newer;
    else
        l->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        l->newest = c->older;
    c->list = NULL;
    c->older = c->newer = NULL;
}

static void conn_close(daemon_t *d, conn *c)
{
    uint32_t gen = c->gen;
    list_del(c);
    close(c->fd); /* leaves the epoll set with it */
    free(c->text);
    free(c->report);
    zv_cfg_free(c->job);
    zv_eng_channels_free(c->pj.ch);
    memset(c, 0, offsetof(conn, next));
    c->gen = gen; /* an event of this batch for the closed fd must not match the slot's next use */
    c->fd = -1;
    c->next = d->free_conns;
    d->free_conns = c;
    d->open_conns--;
    if (d->lfd >= 0 && !d->listening) /* room again after EMFILE or a full table */
        listen_on(d, 1);
}

/* After the report: read and drop what the client still sends until it
 * closes its end, MAX_DRAIN_BYTES have come or the drain's deadline
 * (expire) passes; then close. */
static void conn_drain(daemon_t *d, conn *c)
{
    char sink[16384];
    for (;;) {
        ssize_t n = recv(c->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0 || (c->got += (size_t)n) > MAX_DRAIN_BYTES)
            break;
    }
    conn_close(d, c);
}

static void conn_drain_start(daemon_t *d, conn *c)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = tag_of(d, c)}};
    shutdown(c->fd, SHUT_WR); /* the client reads the report to its end */
    c->state = C_DRAINING;
    c->got = 0;
    c->deadline_ns = now_ns() + DRAIN_TIMEOUT_S * 1000000000ull;
    list_add(&d->draining, c);
    if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        conn_close(d, c);
    else
        conn_drain(d, c);
}

/* Send what is left of the report; drain when it is all out, close when
 * the client is gone. */
static void conn_write(daemon_t *d, conn *c)
{
    while (c->sent < c->report_len) {
        ssize_t n = send(c->fd, c->report + c->sent, c->report_len - c->sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct epoll_event ev = {EPOLLOUT, {.u64 = tag_of(d, c)}};
            if (epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
                return;
        }
        if (n <= 0) {
            conn_close(d, c); /* the client hung up: its report is lost, nothing else */
            return;
        }
        c->sent += (size_t)n;
    }
    conn_drain_start(d, c);
}

/* The report as the daemon writes it, then on its way. */
static void conn_answer(daemon_t *d, conn *c, zvm_report *rep)
{
    FILE *f = open_memstream(&c->report, &c->report_len);
    rep->daemon = 1;
    if (!f || zvm_report_write(rep, d->o->json, f) || fclose(f)) {
        free(c->report);
        c->report = NULL; /* out of memory: the client sees the connection close */
        c->report_len = 0;
    }
    zvm_report_free(rep);
    if (rep->exit_code)
        d->st->failed++;
    d->st->jobs++;
    list_del(c); /* off the queue or the frame's deadline while its report goes out */
    c->state = C_WRITING;
    c->sent = 0;
    {
        struct epoll_event ev = {0, {.u64 = tag_of(d, c)}};
        epoll_ctl(d->ep, EPOLL_CTL_MOD, c->fd, &ev); /* nothing more to read */
    }
    conn_write(d, c);
}

/* A job that cannot run: ZeroVM's code for the cause, and the cause. */
static void conn_refuse(daemon_t *d, conn *c, int code, const char *fmt, const char *a, int line)
{
    zvm_report rep;
    zv_pf_bump(&zv_pf_pool_counters(d->pool)->records[ZV_PF_MALFORMED]); /* never ran */
    memset(&rep, 0, sizeof rep);
    rep.exit_code = code;
    rep.user_code = code;
    if (line)
        snprintf(rep.status, sizeof rep.status, "job manifest line %d: %s", line, a);
    else
        snprintf(rep.status, sizeof rep.status, fmt, a);
    conn_answer(d, c, &rep);
}

/* The whole manifest is in: parse and check it, then queue the job. */
static void conn_check(daemon_t *d, conn *c)
{
    zv_cfg_err err;
    list_del(c); /* the frame is in: no longer subject to its deadline */
    if (zv_cfg_parse_job(c->text, c->want, d->man->dir, &c->job, &err) ||
        zv_cfg_job_fits(d->man, c->job, &err)) {
        conn_refuse(d, c, err.exit_code ? err.exit_code : ZV_CFG_EXIT_MANIFEST, "job manifest: %s",
                    err.msg, err.line);
        return;
    }
    c->state = C_QUEUED;
    list_add(&d->queue, c);
}

/* Readable: the 8-digit length, then the manifest. */
static void conn_read(daemon_t *d, conn *c)
{
    for (;;) {
        char *dst = c->state == C_HEADER ? c->header + c->got : c->text + c->got;
        size_t room = (c->state == C_HEADER ? sizeof c->header : c->want) - c->got;
        ssize_t n = recv(c->fd, dst, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* gone before its job was in: nothing to answer */
            conn_close(d, c);
            return;
        }
        c->got += (size_t)n;
        if ((size_t)n < room)
            continue;
        if (c->state == C_MANIFEST) {
            conn_check(d, c);
            return;
        }
        c->want = 0;
        for (int i = 0; i < 8; i++) {
            if (c->header[i] < '0' || c->header[i] > '9') {
                char shown[40];
                for (int k = 0; k < 8; k++)
                    shown[k] = c->header[k] >= 0x20 && c->header[k] < 0x7f ? c->header[k] : '?';
                shown[8] = 0;
                conn_refuse(d, c, ZV_CFG_EXIT_MANIFEST, "job header \"%s\": not 8 decimal "
                            "digits (the manifest's length, zero-padded)", shown, 0);
                return;
            }
            c->want = c->want * 10 + (size_t)(c->header[i] - '0');
        }
        if (c->want == 0 || c->want > MAX_JOB_BYTES) {
            char why[80];
            snprintf(why, sizeof why, "job manifest of %zu bytes: 1 to %u allowed", c->want,
                     MAX_JOB_BYTES);
            conn_refuse(d, c, ZV_CFG_EXIT_MANIFEST, "%s", why, 0);
            return;
        }
        if (!(c->text = malloc(c->want))) {
            conn_refuse(d, c, ZV_CFG_EXIT_MANIFEST, "%s", "no memory for the job manifest", 0);
            return;
        }
        c->state = C_MANIFEST;
        c->got = 0;
    }
}

/* Room for a new connection: close the oldest draining one, else the
 * oldest still sending its frame (it had the most time). 0 when every
 * connection holds a job. */
static int evict_one(daemon_t *d)
{
    conn *c = d->draining.oldest ? d->draining.oldest : d->framing.oldest;
    if (!c)
        return 0;
    conn_close(d, c);
    return 1;
}

static void accept_all(daemon_t *d)
{
    for (;;) {
        int fd;
        conn *c;
        if (!d->free_conns && !d->framing.oldest && !d->draining.oldest) {
            listen_on(d, 0); /* every slot holds a job: back when one ends */
            return;
        }
        if ((fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (evict_one(d))
                    continue; /* a descriptor back: try again */
                listen_on(d, 0); /* back when a connection closes */
            }
            return; /* EAGAIN, or a client already gone */
        }
        if (!d->free_conns)
            evict_one(d); /* succeeds: checked above */
        c = d->free_conns;
        d->free_conns = c->next;
        c->fd = fd;
        c->gen++;
        c->state = C_HEADER;
        c->got = 0;
        c->deadline_ns = now_ns() + FRAME_TIMEOUT_S * 1000000000ull;
        list_add(&d->framing, c);
        d->open_conns++;
        {
            struct epoll_event ev = {EPOLLIN, {.u64 = tag_of(d, c)}};
            if (epoll_ctl(d->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                conn_close(d, c);
        }
    }
}

/* Hand queued jobs to the pool while it has room; each one's sources are
 * opened now, with the daemon's rights. */
static void submit_queued(daemon_t *d)
{
    conn *c;
    while (!d->holding && (c = d->queue.oldest)) {
        zv_pf_job *pj = &c->pj;
        int rc;
        if (!pj->ch) {
            zv_eng_err err = {0};
            if ((rc = zv_eng_channels_open(d->man, c->job, &pj->ch, &err))) {
                conn_refuse(d, c, rc == -ENOTSUP ? ZV_CFG_EXIT_SOURCE
                                  : rc == -EINVAL ? ZV_CFG_EXIT_ZERO_LIMITS : (-rc) & 0xff,
                            "%s", err.msg, 0);
                continue;
            }
            pj->limit_ns = (uint64_t)c->job->timeout_s * 1000000000ull;
        }
        if ((rc = zv_pf_pool_submit(d->pool, &pj, sizeof pj, tag_of(d, c))) == -EAGAIN)
            return; /* full: again when results come back */
        list_del(c);
        if (rc) {
            conn_refuse(d, c, 1, "cannot queue the job: %s", strerror(-rc), 0);
            continue;
        }
        c->state = C_RUNNING;
        d->in_pool++;
    }
}

/* A finished job: close its channels (totals, etags), and answer. */
static void job_done(daemon_t *d, const zvm_result *r)
{
    conn *c = &d->conns[(uint32_t)r->tag];
    zv_eng_totals t;
    zvm_report rep;
    d->in_pool--;
    if (c->state != C_RUNNING || c->gen != (uint32_t)(r->tag >> 32))
        return; /* cannot happen: a running job's slot is not reused */
    memset(&rep, 0, sizeof rep);
    rep.exit_code = r->status == ZVM_OK || r->status == ZVM_LIMIT ? 0 : 4;
    rep.user_code = r->exit_code;
    rep.cpu_seconds = (double)c->pj.cpu_ns / 1e9;
    snprintf(rep.status, sizeof rep.status, "%s", rep.exit_code ? r->detail : "ok");
    if (zv_eng_channels_finish(c->pj.ch, &t) || zv_pf_report_totals(&rep, &t, NULL))
        snprintf(rep.status, sizeof rep.status, "out of memory for the report");
    zv_eng_totals_free(&t);
    zv_eng_channels_free(c->pj.ch);
    c->pj.ch = NULL;
    conn_answer(d, c, &rep);
}

/* Results out, queued jobs in, until neither moves. The last look at the
 * pool (zv_pf_pool_next) sends on a partly filled batch and arms its fd
 * for the next result. */
static void pump(daemon_t *d)
{
    zvm_result r;
    int moved;
    do {
        moved = 0;
        submit_queued(d);
        /* even with nothing in the pool: the call also consumes the fd's
         * last wake-up, which would otherwise keep epoll returning */
        while (zv_pf_pool_next(d->pool, &r, 0) == 1) {
            job_done(d, &r);
            moved = 1;
        }
    } while (moved && d->queue.oldest);
}

/* Drop clients that have not sent their frame in time, and end drains
 * past their deadline; when stopping, every one of both. The lists are in
 * deadline order: only the expired are looked at. */
static void expire(daemon_t *d, int stopping)
{
    uint64_t now = now_ns();
    conn_list *lists[] = {&d->framing, &d->draining};
    for (int i = 0; i < 2; i++)
        while (lists[i]->oldest && (stopping || now > lists[i]->oldest->deadline_ns))
            conn_close(d, lists[i]->oldest);
}

/* The listening socket at PATH, owner-only unless mode widens it. A
 * socket left by a daemon that is gone is replaced; a live one, or
 * anything that is not a socket, is an error. */
static int make_socket(const char *path, unsigned mode, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    mode_t old;
    int fd, rc;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "Job = %s: a socket path is at most %zu bytes", path,
                 sizeof sa.sun_path - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "Job = %s: exists and is not a socket", path);
            close(fd);
            return -EEXIST;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno == EAGAIN) {
            snprintf(err, errlen, "Job = %s: another daemon is serving there", path);
            close(fd);
            return -EADDRINUSE;
        }
        close(fd);
        unlink(path); /* stale: its daemon is gone */
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
            return -errno;
    }
    old = umask(0177); /* born owner-only: no window where others may connect */
    rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || (mode && chmod(path, mode) < 0) || listen(fd, 4096) < 0) {
        rc = -errno;
        snprintf(err, errlen, "Job = %s: %s", path, strerror(-rc));
        close(fd);
        return rc;
    }
    return fd;
}

/* Enough descriptors for every connection and its job's channels. */
static uint32_t raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 256;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur > 4u * 65536 ? 65536 : (uint32_t)(rl.rlim_cur / 4);
}

/* A reload (o->reload moved): the program loaded again and a pool made
 * for it before anything switches; then the jobs in the pool finish on
 * the old one (queued jobs wait), and the new pool takes over with the
 * counters carried on. A program that does not load, or a pool that does
 * not start, leaves the old one serving. o->reloaded hears either way. */
static void reload(daemon_t *d)
{
    zv_eng_module *mod = NULL;
    zv_pf_pool *p = NULL, *old = d->pool;
    struct epoll_event pev = {EPOLLIN, {.u64 = TAG_POOL}};
    zvm_report rep;
    zvm_result r;
    char why[600];
    memset(&rep, 0, sizeof rep);
    if (zv_pf_load_program(d->man, &d->o->eng, &mod, &rep) ||
        zv_pf_pool_new_for(mod, &d->cfg, 1, &p, why, sizeof why)) {
        zv_pf_bump(&zv_pf_pool_counters(old)->reload_failures);
        if (d->o->reloaded)
            d->o->reloaded(d->o->arg, NULL, mod ? why : rep.status);
        zv_eng_module_free(mod);
        return;
    }
    d->holding = 1;
    while (d->in_pool && zv_pf_pool_next(old, &r, -1) == 1)
        job_done(d, &r);
    d->holding = 0;
    epoll_ctl(d->ep, EPOLL_CTL_DEL, zv_pf_pool_fd(old), NULL);
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, zv_pf_pool_fd(p), &pev) < 0) { /* cannot fail: a new fd */
    }
    zv_pf_counters_carry(zv_pf_pool_counters(p), zv_pf_pool_counters(old));
    zv_pf_bump(&zv_pf_pool_counters(p)->reloads);
    zv_pf_metrics_set_pool(d->metrics, p);
    d->pool = p;
    zv_pf_pool_free(old);
    zv_eng_module_free(d->mod);
    d->mod = mod;
    for (int i = 0; i < 32; i++)
        snprintf(d->st->sha256 + 2 * i, 3, "%02x", zv_eng_module_info(mod)->sha256[i]);
    if (d->o->reloaded)
        d->o->reloaded(d->o->arg, d->st->sha256, NULL);
}

static int serve(daemon_t *d)
{
    struct epoll_event evs[256];
    struct epoll_event pev = {EPOLLIN, {.u64 = TAG_POOL}};
    int stopping = 0;
    if (epoll_ctl(d->ep, EPOLL_CTL_ADD, zv_pf_pool_fd(d->pool), &pev) < 0)
        return -errno;
    listen_on(d, 1);
    while (!stopping || d->in_pool || d->queue.oldest || d->open_conns) {
        int n;
        if (!stopping && *d->o->stop) {
            stopping = 1; /* no new jobs; those running finish */
            listen_on(d, 0);
            close(d->lfd);
            d->lfd = -1;
            unlink(d->path);
        }
        if (!stopping && d->o->reload && *d->o->reload != d->reloads_seen) {
            d->reloads_seen = *d->o->reload;
            reload(d);
        }
        n = epoll_wait(d->ep, evs, 256, 250);
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            conn *c;
            if (tag == TAG_LISTEN) {
                accept_all(d);
                continue;
            }
            if (tag == TAG_POOL)
                continue; /* drained below */
            c = &d->conns[(uint32_t)tag];
            if (c->gen != (uint32_t)(tag >> 32))
                continue;
            if (c->state == C_HEADER || c->state == C_MANIFEST)
                conn_read(d, c);
            else if (c->state == C_WRITING)
                conn_write(d, c);
            else if (c->state == C_DRAINING)
                conn_drain(d, c);
        }
        pump(d);
        /* the wait above is at most 250 ms: deadlines hold within that;
         * when stopping, nobody waits on a frame or a drain */
        expire(d, stopping);
    }
    return 0;
}

int zv_pf_daemon_run(const zv_cfg_manifest *man, const zv_pf_daemon_opts *o,
                     zv_pf_daemon_stats *st, char *err, size_t errlen)
{
    daemon_t d;
    zvm_report rep;
    int rc;
    memset(&d, 0, sizeof d);
    memset(st, 0, sizeof *st);
    memset(&rep, 0, sizeof rep);
    d.man = man;
    d.o = o;
    d.st = st;
    d.lfd = d.ep = -1;
    zv_cfg_resolve(man, man->job, d.path, sizeof d.path);
    if ((rc = zv_pf_load_program(man, &o->eng, &d.mod, &rep))) {
        snprintf(err, errlen, "%s", rep.status);
        return rc;
    }
    d.cfg.workers = o->workers;
    d.cfg.manifest = o->manifest_path;
    d.cfg.snapshot = o->snapshot;
    d.cfg.reset = o->reset_how;
    d.reloads_seen = o->reload ? *o->reload : 0;
    if ((rc = zv_pf_pool_new_for(d.mod, &d.cfg, 1, &d.pool, err, errlen))) {
        rc = rc == -EFAULT ? 4 : 1;
        goto out;
    }
    st->forked = zv_pf_pool_forked(d.pool);
    for (int i = 0; i < 32; i++)
        snprintf(st->sha256 + 2 * i, 3, "%02x", zv_eng_module_info(d.mod)->sha256[i]);
    if (o->metrics && zv_pf_metrics_start(o->metrics, d.pool, &d.metrics, err, errlen)) {
        rc = 1;
        goto out;
    }
    if (d.metrics)
        snprintf(st->metrics, sizeof st->metrics, "%s", zv_pf_metrics_address(d.metrics));
    {
        zvm_pool_stats ps;
        zv_pf_pool_stats(d.pool, &ps);
        st->workers = ps.workers;
    }
    d.n_conns = raise_fd_limit();
    if (!(d.conns = calloc(d.n_conns, sizeof *d.conns))) {
        rc = 1;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (uint32_t i = d.n_conns; i-- > 0;) {
        d.conns[i].fd = -1;
        d.conns[i].next = d.free_conns;
        d.free_conns = &d.conns[i];
    }
    if ((d.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (d.lfd = make_socket(d.path, o->socket_mode, err, errlen)) < 0) {
        if (d.ep < 0)
            snprintf(err, errlen, "epoll: %s", strerror(errno));
        d.lfd = -1;
        rc = 1;
        goto out;
    }
    if (o->ready)
        o->ready(o->arg, d.path, st);
    if ((rc = serve(&d))) {
        snprintf(err, errlen, "the daemon's loop failed: %s", strerror(-rc));
        rc = 1;
    }
out:
    zv_pf_metrics_free(d.metrics);
    if (d.pool)
        zv_pf_pool_tiers(d.pool, &st->baseline_workers, &st->baseline_jobs);
    zv_pf_pool_free(d.pool); /* first: no worker may still use a job's channels */
    if (d.lfd >= 0) {
        close(d.lfd);
        unlink(d.path);
    }
    d.lfd = -1;
    for (uint32_t i = 0; d.conns && i < d.n_conns; i++)
        if (d.conns[i].fd >= 0)
            conn_close(&d, &d.conns[i]);
    if (d.ep >= 0)
        close(d.ep);
    free(d.conns);
    zv_eng_module_free(d.mod);
    return rc;
}
