/*
 * job.c — multi-stage jobs (`zvm job JOB.json`): the instances of a job
 * description run as sessions, connected by pipes.
 *
 * Transport: each connection between two instances is a kernel pipe
 * of ZV_CFG_JOB_PIPE_BYTES (256 KiB moved 2 GiB as fast as 1 MiB did, and
 * 1.4x faster than the default 64 KiB), bounded and streaming; its buffer
 * counts against the writer's Memory (jobdesc.c); the writer's
 * channel /dev/out/<to> and the reader's /dev/in/<from> share its ends
 * (zv_cfg_channel.host_fd), and their I/O goes through the instance's
 * io_uring ring like any channel. The runner keeps its own copy of both
 * ends until the instance on that side has ended, so a reader sees
 * end-of-file exactly when its writer has exited, and a writer never
 * meets a reader that has not started yet. A pipe is a byte stream with
 * one writer and one reader, so any stream transport (a socket, a Redis
 * stream) could carry it between hosts.
 *
 * Scheduling: every instance has a thread of its own (the guest runs on
 * it; see session.c), but at most `workers` instances run at once: an
 * instance holds a run token, gives it back while it waits on a channel
 * (the io wait hook) and takes one again when its wait is over; instances
 * back from a wait go before instances not yet started. So a job of 1000
 * instances runs on 2 cores with 2 of them computing at any moment and the
 * rest parked in the kernel, and a pipeline whose stages wait on each
 * other still makes progress.
 *
 * Ends: when every started instance waits, none could be woken (a poll of
 * each one's descriptor says none is ready; checked twice, 50 ms apart)
 * and none is left to start, the job is deadlocked: the runner follows
 * "waits on" from pipe to pipe, names the cycle, and stops the job. An
 * instance that does not end "ok" also stops the job: a trap, a timeout, a
 * device that does not open, a guest's exit code other than 0, or a write
 * under /dev that no connection or device declares (its bytes reach no
 * one: a typo'd /dev/out/NAME). The watchdog interrupts every running
 * instance, none is started, and the job's status names the instance and
 * its cause ("reduce-2: exit 3", "map-1: trap: unreachable").
 *
 * Reported, not failed: a connection an instance never opened (nor read
 * or wrote by number). Nothing written into it was lost, and a router may
 * have had nothing for that peer; the instance's status and the job's say
 * which ("ok; never opened: /dev/out/reduce-2").
 */
#include "prefork/prefork.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { PENDING, RUNNING, DONE };

typedef struct job job;

typedef struct {
    job *j;
    uint32_t index;
    pthread_t thread;
    int state, has_token, blocked, fd, out;
    int stopped;       /* running when the job was stopped */
    uint32_t unopened; /* its connections it never opened (a note when it ends well) */
    zv_pf_job_inst res;
} inst;

struct job {
    zv_cfg_jobdesc *d;
    const zv_pf_job_opts *o;
    inst *in;
    int (*ends)[2];           /* per pipe: read and write end held by the runner (-1: closed) */
    ino_t *ino;               /* per pipe: its inode, to know what a wait waits on */
    dev_t pipe_dev;           /* the pipes' file system (pipefs) */
    zv_eng_module **mods;     /* per instance: its program (shared between instances) */
    uint32_t *ended, n_ended; /* instances whose threads are over, not joined yet */
    uint8_t *owned;           /* per instance: mods[k] is freed with it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t tokens, waking, live, blocked, done;
    uint64_t progress; /* waits that ended */
    int aborted;
    uint32_t culprit; /* the instance that ended the job, or UINT32_MAX */
    char why[512];
    zv_pf_watchdog *wd;
};

static void stop_job(job *j, uint32_t culprit, const char *why)
{
    if (j->aborted) return;
    j->aborted = 1;
    j->culprit = culprit;
    for (uint32_t k = 0; k < j->d->n_inst; k++)
        j->in[k].stopped = j->in[k].state == RUNNING && k != culprit;
    snprintf(j->why, sizeof j->why, "%s", why);
    zv_pf_watchdog_expire(j->wd);
    pthread_cond_broadcast(&j->cv);
}

/* The io wait hook on each instance's guest thread. */
static void on_wait(void *arg, int fd, int out, int blocked)
{
    inst *i = arg;
    job *j = i->j;
    pthread_mutex_lock(&j->mu);
    if (blocked) {
        i->blocked = 1, i->fd = fd, i->out = out;
        j->blocked++;
        if (i->has_token) {
            i->has_token = 0;
            j->tokens++;
        }
    } else {
        i->blocked = 0;
        j->blocked--;
        j->progress++;
        j->waking++;
        while (!j->tokens && !j->aborted)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->tokens) {
            j->tokens--;
            i->has_token = 1;
        }
        j->waking--;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void close_end(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static int status_ok(const char *s)
{
    return !strcmp(s, "ok") || !strncmp(s, "ok;", 3);
}

/* Append to a status, cut at its end. */
static void add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    if (len < cap) vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

/* The connections (pipe channels) it never used, as a note: the first
 * few by alias, then how many more. */
static void note_unopened(inst *i, const zv_cfg_manifest *m, const uint8_t *used)
{
    zv_pf_job_inst *r = &i->res;
    for (uint32_t c = 0; c < m->n_channels; c++) {
        if (used[c] || strcmp(m->channels[c].uri, ZV_CFG_PIPE_URI)) continue;
        if (i->unopened < 4)
            add(r->status, sizeof r->status, "%s%s", i->unopened ? ", " : "; never opened: ",
                m->channels[c].alias);
        i->unopened++;
    }
    if (i->unopened > 4) add(r->status, sizeof r->status, " and %u more", i->unopened - 4);
}

/* Its line of the report (prefork.h: zv_pf_job_inst) from its session's. */
static void describe(inst *i, const zv_cfg_manifest *m, const zv_pf_session_opts *so,
                     const zvm_report *rep)
{
    zv_pf_job_inst *r = &i->res;
    r->cpu_seconds = rep->cpu_seconds;
    r->bytes_in = rep->get_bytes;
    r->bytes_out = rep->put_bytes;
    r->exited = rep->exit_code == 0;
    r->exit_code = rep->user_code;
    if (so->trap == ZV_TRAP_TIMEOUT)
        snprintf(r->status, sizeof r->status, "timeout");
    else if (so->trap)
        snprintf(r->status, sizeof r->status, "trap: %s", rep->status);
    else if (!rep->exit_code && rep->user_code)
        snprintf(r->status, sizeof r->status, "exit %d", rep->user_code);
    else
        snprintf(r->status, sizeof r->status, "%s", rep->status);
    r->failed = !status_ok(r->status);
    if (so->n_strays) { /* its bytes went nowhere: the job fails */
        if (!r->failed) r->status[0] = 0;
        add(r->status, sizeof r->status, "%sundeclared device: %s", r->failed ? "; " : "",
            so->stray);
        if (so->n_strays > 1) add(r->status, sizeof r->status, " and %u more", so->n_strays - 1);
        r->failed = 1;
    } else if (!r->failed && so->used) {
        note_unopened(i, m, so->used);
    }
}

static void *inst_main(void *p)
{
    inst *i = p;
    job *j = i->j;
    const zv_cfg_manifest *m = j->d->inst[i->index].man;
    zv_pf_session_opts so;
    zvm_report rep;
    struct timespec t0, t1;
    memset(&so, 0, sizeof so);
    so.eng = j->o->eng;
    so.watch = zv_pf_watchdog_slot(j->wd, i->index);
    so.module = j->mods[i->index];
    so.wait_hook = on_wait;
    so.wait_arg = i;
    so.used = calloc(m->n_channels ? m->n_channels : 1, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!so.used || zv_pf_session_run(m, &so, &rep)) {
        memset(&rep, 0, sizeof rep);
        rep.exit_code = 1;
        snprintf(rep.status, sizeof rep.status, "out of memory");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    describe(i, m, &so, &rep);
    i->res.wall_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    zvm_report_free(&rep);
    free(so.used);
    pthread_mutex_lock(&j->mu);
    for (uint32_t k = 0; k < j->d->n_pipes; k++) { /* its side of each pipe is over */
        if (j->d->pipes[k].from == i->index) close_end(&j->ends[k][1]);
        if (j->d->pipes[k].to == i->index) close_end(&j->ends[k][0]);
    }
    i->state = DONE;
    j->live--;
    j->done++;
    j->ended[j->n_ended++] = i->index;
    if (i->has_token) j->tokens++;
    i->has_token = 0;
    if (i->res.failed && !j->aborted) {
        char why[sizeof j->why];
        snprintf(why, sizeof why, "%s: %s", j->d->inst[i->index].name, i->res.status);
        stop_job(j, i->index, why);
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Under the lock, with every live instance waiting: can any wait end? */
static int any_ready(job *j)
{
    for (uint32_t k = 0; k < j->d->n_inst; k++) {
        inst *i = &j->in[k];
        struct pollfd pfd = {i->fd, (short)(i->out ? POLLOUT : POLLIN), 0};
        if (i->state == RUNNING && i->blocked && poll(&pfd, 1, 0) != 0) return 1;
    }
    return 0;
}

/* The job pipe that fd is, or -1 (a device: data may still come from
 * outside the job, so its wait is no deadlock). */
static int64_t pipe_of(const job *j, int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == j->pipe_dev)
        for (uint32_t p = 0; p < j->d->n_pipes; p++)
            if (j->ino[p] == st.st_ino) return p;
    return -1;
}

/* Under the lock: does every waiting instance wait on one of the job's
 * own pipes? */
static int all_wait_inside(const job *j)
{
    for (uint32_t k = 0; k < j->d->n_inst; k++)
        if (j->in[k].state == RUNNING && j->in[k].blocked && pipe_of(j, j->in[k].fd) < 0) return 0;
    return 1;
}

/* Under the lock: the instance that waiting instance k waits on. */
static uint32_t waits_on(const job *j, uint32_t k)
{
    int64_t p = pipe_of(j, j->in[k].fd);
    return p < 0 ? UINT32_MAX : j->in[k].out ? j->d->pipes[p].to : j->d->pipes[p].from;
}

/* Under the lock, every instance waiting on a pipe: "a waits on b waits
 * on a". From any instance, n steps of "waits on" end inside the cycle,
 * which is named from its first instance. */
static void name_cycle(const job *j, char *out, size_t cap)
{
    uint32_t n = j->d->n_inst, at = 0, start;
    size_t len = (size_t)snprintf(out, cap, "deadlock: ");
    while (at < n && !(j->in[at].state == RUNNING && j->in[at].blocked))
        at++;
    for (uint32_t step = 0; step < n && at < n; step++)
        at = waits_on(j, at);
    start = at; /* named from its first instance in the description's order */
    for (uint32_t k = at < n ? waits_on(j, at) : n; k < n && k != at; k = waits_on(j, k))
        start = k < start ? k : start;
    at = start;
    while (at < n && len < cap) {
        len += (size_t)snprintf(out + len, cap - len, "%s waits on ", j->d->inst[at].name);
        if ((at = waits_on(j, at)) == start) break;
    }
    if (len < cap) snprintf(out + len, cap - len, "%s", start < n ? j->d->inst[start].name : "?");
}

/* mkdir -p of the folder a writable device's file goes in. */
static int make_parents(const char *path, char *why, size_t wn)
{
    char dir[4096];
    if (!path[0]) { /* zv_cfg_resolve gives "" for what does not fit */
        snprintf(why, wn, "a path longer than %zu bytes", sizeof dir - 1);
        return -ENAMETOOLONG;
    }
    snprintf(dir, sizeof dir, "%s", path);
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            snprintf(why, wn, "cannot make the folder %s: %s", dir, strerror(errno));
            return -errno;
        }
        *s = '/';
    }
    return 0;
}

static int setup(job *j, char *why, size_t wn)
{
    zvm_report rep;
    struct rlimit rl;
    uint64_t need = 4ull * j->d->n_pipes + 8ull * j->d->n_inst + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur) {
        snprintf(why, wn, "the job needs about %llu descriptors, the limit is %llu (ulimit -n)",
                 (unsigned long long)need, (unsigned long long)rl.rlim_cur);
        return -EMFILE;
    }
    /* each program loaded once (validated, compiled or taken from the
     * cache), before anything starts or is made; its instances share it */
    for (uint32_t k = 0; k < j->d->n_inst; k++) {
        const zv_cfg_manifest *m = j->d->inst[k].man;
        for (uint32_t e = 0; e < k && !j->mods[k]; e++)
            if (!strcmp(j->d->inst[e].man->program, m->program)) j->mods[k] = j->mods[e];
        if (j->mods[k]) continue;
        memset(&rep, 0, sizeof rep);
        if (zv_pf_load_program(m, &j->o->eng, &j->mods[k], &rep)) {
            snprintf(why, wn, "%s: %s", j->d->inst[k].name, rep.status); /* names the file */
            return -EINVAL;
        }
        j->owned[k] = 1;
    }
    for (uint32_t p = 0; p < j->d->n_pipes; p++) {
        const zv_cfg_job_pipe *pp = &j->d->pipes[p];
        char alias[256];
        struct stat st;
        int c;
        if (pipe2(j->ends[p], O_CLOEXEC) < 0) {
            snprintf(why, wn, "cannot make a pipe: %s", strerror(errno));
            return -errno;
        }
        fcntl(j->ends[p][1], F_SETPIPE_SZ, ZV_CFG_JOB_PIPE_BYTES); /* else the default 64 KiB */
        fstat(j->ends[p][0], &st);
        j->ino[p] = st.st_ino;
        j->pipe_dev = st.st_dev;
        snprintf(alias, sizeof alias, "/dev/out/%s", j->d->inst[pp->to].name);
        c = zv_cfg_find_channel(j->d->inst[pp->from].man, alias);
        j->d->inst[pp->from].man->channels[c].host_fd = j->ends[p][1];
        snprintf(alias, sizeof alias, "/dev/in/%s", j->d->inst[pp->from].name);
        c = zv_cfg_find_channel(j->d->inst[pp->to].man, alias);
        j->d->inst[pp->to].man->channels[c].host_fd = j->ends[p][0];
    }
    for (uint32_t k = 0; k < j->d->n_inst; k++) {
        const zv_cfg_manifest *m = j->d->inst[k].man;
        for (uint32_t c = 0; c < m->n_channels; c++) {
            char path[4096];
            const zv_cfg_channel *ch = &m->channels[c];
            int rc;
            if (ch->host_fd || !ch->limits[ZV_CFG_PUTS]) continue;
            zv_cfg_resolve(m, ch->uri, path, sizeof path);
            if ((rc = make_parents(path, why, wn))) return rc;
        }
    }
    return 0;
}

static void start(job *j, inst *i)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1u << 20);
    i->state = RUNNING;
    i->has_token = 1;
    j->tokens--;
    j->live++;
    if (pthread_create(&i->thread, &attr, inst_main, i)) {
        i->state = DONE;
        i->has_token = 0;
        j->tokens++;
        j->live--;
        j->done++;
        i->res.failed = 1;
        snprintf(i->res.status, sizeof i->res.status, "cannot start a thread");
        stop_job(j, i->index, "cannot start a thread for an instance");
    }
    pthread_attr_destroy(&attr);
}

static void run(job *j)
{
    uint32_t next = 0, n = j->d->n_inst, suspect = 0;
    uint64_t seen_progress = 0;
    struct timespec last = {0, 0};
    pthread_mutex_lock(&j->mu);
    while (j->done < n || j->n_ended) {
        struct timespec now, until;
        if (j->n_ended) { /* its thread has left the lock for good: join it now, not at the end */
            pthread_join(j->in[j->ended[--j->n_ended]].thread, NULL);
            continue;
        }
        if (!j->aborted && next < n && j->tokens && !j->waking) {
            start(j, &j->in[next++]);
            continue;
        }
        if (j->aborted && next < n) { /* never started */
            for (; next < n; next++, j->done++) {
                j->in[next].state = DONE;
                j->in[next].res.failed = 1;
                snprintf(j->in[next].res.status, sizeof j->in[next].res.status,
                         "not started: the job ended");
            }
            continue;
        }
        if (!j->aborted && next == n && j->live && j->blocked == j->live && !j->waking &&
            all_wait_inside(j) && !any_ready(j)) {
            if (suspect && seen_progress == j->progress) {
                char why[400];
                name_cycle(j, why, sizeof why);
                stop_job(j, UINT32_MAX, why);
                continue;
            }
            suspect = 1;
            seen_progress = j->progress;
        } else {
            suspect = 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (j->o->progress &&
            (now.tv_sec - last.tv_sec) * 1000000000ll + now.tv_nsec - last.tv_nsec > 200000000ll) {
            j->o->progress(j->o->arg, j->done, j->live - j->blocked, j->blocked, n);
            last = now;
        }
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&j->cv, &j->mu, &until);
    }
    pthread_mutex_unlock(&j->mu);
}

/* A job that ended well: "ok; N instances never opened a connection:
 * a, b, c, d and 2 more". */
static void note_job(const job *j, char *status, size_t cap)
{
    uint32_t n = 0;
    for (uint32_t k = 0; k < j->d->n_inst; k++)
        n += j->in[k].unopened != 0;
    if (n) add(status, cap, "; %u instance%s never opened a connection: ", n, n > 1 ? "s" : "");
    for (uint32_t k = 0, shown = 0; n && k < j->d->n_inst && shown < 4; k++)
        if (j->in[k].unopened)
            add(status, cap, "%s%s", shown++ ? ", " : "", j->d->inst[k].name);
    if (n > 4) add(status, cap, " and %u more", n - 4);
}

int zv_pf_job_run(zv_cfg_jobdesc *d, const zv_pf_job_opts *o, zv_pf_job_result *res)
{
    job j;
    int rc;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(res, 0, sizeof *res);
    memset(&j, 0, sizeof j);
    j.d = d;
    j.o = o;
    j.culprit = UINT32_MAX;
    j.tokens = o->workers ? o->workers : (uint32_t)(cores > 0 ? cores : 1);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    j.in = calloc(d->n_inst, sizeof *j.in);
    j.ends = calloc(d->n_pipes ? d->n_pipes : 1, sizeof *j.ends);
    j.ino = calloc(d->n_pipes ? d->n_pipes : 1, sizeof *j.ino);
    j.mods = calloc(d->n_inst, sizeof *j.mods);
    j.owned = calloc(d->n_inst, 1);
    j.ended = calloc(d->n_inst, sizeof *j.ended);
    if (!j.in || !j.ends || !j.ino || !j.mods || !j.owned || !j.ended) {
        rc = -ENOMEM;
        snprintf(res->status, sizeof res->status, "out of memory");
        goto out;
    }
    for (uint32_t p = 0; p < d->n_pipes; p++)
        j.ends[p][0] = j.ends[p][1] = -1;
    for (uint32_t k = 0; k < d->n_inst; k++)
        j.in[k] = (inst){.j = &j, .index = k, .fd = -1};
    if ((rc = zv_pf_watchdog_new(d->n_inst, &j.wd))) {
        snprintf(res->status, sizeof res->status, "cannot start the watchdog");
        goto out;
    }
    if ((rc = setup(&j, res->status, sizeof res->status))) goto out;
    run(&j);
    if (!(res->inst = calloc(d->n_inst, sizeof *res->inst))) {
        rc = -ENOMEM;
        snprintf(res->status, sizeof res->status, "out of memory");
        goto out;
    }
    res->n = d->n_inst;
    res->culprit = j.culprit;
    for (uint32_t k = 0; k < d->n_inst; k++) {
        inst *i = &j.in[k];
        if (i->stopped) { /* interrupted, or it ended as the job stopped: not whole either way */
            snprintf(i->res.status, sizeof i->res.status, "stopped: the job ended");
            i->res.failed = 1;
            i->res.exited = 0;
        }
        res->failed += i->res.failed;
        res->inst[k] = i->res;
    }
    res->exit_code = j.aborted || res->failed ? 1 : 0;
    snprintf(res->status, sizeof res->status, "%s", j.aborted ? j.why : "ok");
    if (!j.aborted) /* which instances left connections unopened (their lines say which) */
        note_job(&j, res->status, sizeof res->status);
out:
    zv_pf_watchdog_free(j.wd);
    for (uint32_t p = 0; j.ends && p < d->n_pipes; p++) {
        close_end(&j.ends[p][0]);
        close_end(&j.ends[p][1]);
    }
    for (uint32_t k = 0; j.mods && j.owned && k < d->n_inst; k++)
        if (j.owned[k]) zv_eng_module_free(j.mods[k]);
    free(j.in);
    free(j.ends);
    free(j.ino);
    free(j.mods);
    free(j.owned);
    free(j.ended);
    pthread_mutex_destroy(&j.mu);
    pthread_cond_destroy(&j.cv);
    return rc;
}

void zv_pf_job_result_free(zv_pf_job_result *r)
{
    free(r->inst);
    memset(r, 0, sizeof *r);
}
