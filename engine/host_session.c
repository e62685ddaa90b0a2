/*
 * host_session.c — the host side of one instance: open the manifest's channels
 * in guest order, give them WASI descriptors (0-2 the standard channels,
 * 3 the preopened /dev, others by path_open), seed the virtual clock and
 * the random stream, build the channel list zvm.manifest copies, and at
 * the end close everything and total the accounting and etags.
 *
 * A run's state has one owner and one way back (DESIGN: "What a record
 * starts from"): put_back() makes the descriptors, the channels' positions
 * and counters, the file tree, the clock, the random stream and the
 * sealed pages what they were at the start (zv_eng_session_reset) or at a
 * fork point (zv_eng_session_restore), for the pool's records, snapshots
 * and daemon jobs alike. What the manifest gives (channels, the channel
 * list, images) is a channel set, rebuilt for each daemon job.
 */
#include "engine/host_private.h"
#include "include/zvm/guest.h" /* the zvm.manifest layout */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The channel list zvm.manifest copies: m's channels as opened in ch. */
static int build_blob(const zv_cfg_manifest *m, const zv_io_channel *ch, uint8_t **blob,
                      uint32_t *blob_len)
{
    size_t len = sizeof(struct zvm_raw_header) + m->n_channels * sizeof(struct zvm_raw_channel), at;
    struct zvm_raw_header h = {1, m->n_channels, m->memory_bytes, m->timeout_s, 0};
    for (uint32_t i = 0; i < m->n_channels; i++)
        len += strlen(m->channels[i].alias) + 1;
    if (len > UINT32_MAX || !(*blob = calloc(1, len)))
        return -ENOMEM;
    memcpy(*blob, &h, sizeof h);
    at = sizeof h + m->n_channels * sizeof(struct zvm_raw_channel);
    for (uint32_t i = 0; i < m->n_channels; i++) {
        struct zvm_raw_channel c;
        size_t n = strlen(m->channels[i].alias) + 1;
        memcpy(c.limits, m->channels[i].limits, sizeof c.limits);
        c.size = ch[i].size;
        c.type = m->channels[i].type;
        c.alias_offset = (uint32_t)at;
        memcpy(*blob + sizeof h + i * sizeof c, &c, sizeof c);
        memcpy(*blob + at, m->channels[i].alias, n);
        at += n;
    }
    *blob_len = (uint32_t)len;
    return 0;
}

/* Open m's channels into ch (n_open counts those opened). */
static int open_channels(const zv_cfg_manifest *m, zv_io_channel *ch, uint32_t *n_open,
                         zv_eng_err *err)
{
    int rc;
    for (uint32_t i = 0; i < m->n_channels; i++)
        ch[i].fd = -1;
    for (uint32_t i = 0; i < m->n_channels; i++) {
        char path[4096];
        zv_cfg_resolve(m, m->channels[i].uri, path, sizeof path);
        if ((rc = zv_io_channel_open(&m->channels[i], path, &ch[i], err->msg, sizeof err->msg)))
            return rc;
        *n_open = i + 1;
    }
    return 0;
}

static uint64_t deadline_of(const zv_cfg_manifest *m)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return m->timeout_s ? (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec +
                              (uint64_t)m->timeout_s * 1000000000ull
                        : 0;
}

/* A channel set: chm's channels, the images m's Mount lines name in them
 * (read and parsed within chm's Timeout: set-up is bounded like a run). */
static int set_open(const zv_cfg_manifest *m, const zv_cfg_manifest *chm, zv_eng_channels *c,
                    zv_eng_err *err)
{
    int rc = -ENOMEM;
    c->man = chm;
    if (!(c->ch = calloc(chm->n_channels + 1, sizeof *c->ch)))
        goto fail;
    if ((rc = open_channels(chm, c->ch, &c->n_ch, err)) ||
        (rc = zv_mimages_new(m, chm, c->ch, deadline_of(chm), &c->images, err->msg,
                             sizeof err->msg)) ||
        (rc = build_blob(chm, c->ch, &c->blob, &c->blob_len)))
        goto fail;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    return rc;
}

static void set_close(zv_eng_channels *c)
{
    for (uint32_t i = 0; i < c->n_ch; i++) {
        uint8_t digest[32];
        zv_io_channel_close(&c->ch[i], digest);
    }
    c->n_ch = 0;
    free(c->ch);
    free(c->blob);
    zv_mimages_free(c->images);
    c->ch = NULL;
    c->blob = NULL;
    c->images = NULL;
}

static int pack(zv_host_strings *p, char *const *v, uint32_t n)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    if (bytes > UINT32_MAX || !(p->buf = malloc(bytes + 1)) || !(p->off = calloc(n + 1, 4)))
        return -ENOMEM;
    p->n = n;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        p->off[i] = p->bytes;
        memcpy(p->buf + p->bytes, v[i], len);
        p->bytes += (uint32_t)len;
    }
    return 0;
}

int zv_eng_session_new(const zv_cfg_manifest *m, zv_eng_session **out, zv_eng_err *err)
{
    zv_eng_session *s = calloc(1, sizeof *s);
    int rc = -ENOMEM;
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->man = m;
    s->cur = &s->own;
    s->n_fds = 4 + m->n_dirs + m->n_images + 16;
    s->fds = calloc(s->n_fds, sizeof *s->fds);
    s->dirs = calloc(m->n_dirs + 1, sizeof *s->dirs);
    s->dir_names = calloc(m->n_dirs + 1, sizeof *s->dir_names);
    if (!s->fds || !s->dirs || !s->dir_names || pack(&s->args, m->args, m->n_args) ||
        pack(&s->env, m->env, m->n_env))
        goto fail;
    for (uint32_t i = 0; i < m->n_dirs; i++) { /* HOST[::GUEST[:ro]], wasmtime's syntax */
        const char *sep = strstr(m->dirs[i], "::");
        char host[4096], *guest;
        size_t n;
        int ro = m->dirs_ro;
        snprintf(host, sizeof host, "%.*s", sep ? (int)(sep - m->dirs[i]) : (int)strlen(m->dirs[i]),
                 m->dirs[i]);
        if (!(guest = s->dir_names[i] = strdup(sep ? sep + 2 : m->dirs[i])))
            goto fail;
        if (sep && (n = strlen(guest)) > 3 && !strcmp(guest + n - 3, ":ro"))
            guest[n - 3] = 0, ro = 1;
        if ((rc = zv_hdir_preopen(host, guest, ro, &s->dirs[i], err->msg, sizeof err->msg)))
            goto fail;
        s->n_dirs = i + 1;
    }
    if ((rc = set_open(m, m, &s->own, err)) ||
        ((!m->wasi_only || m->n_images) && (rc = zv_mfs_new(&s->mfs))))
        goto fail;
    if ((rc = zv_io_ring_new(8, &s->ring))) {
        snprintf(err->msg, sizeof err->msg, "io_uring is not available: %s", strerror(-rc));
        goto fail;
    }
    for (uint32_t i = 0; i < s->own.n_ch; i++) /* (a job's channels wait for each write) */
        s->own.ch[i].behind = 1;
    if (s->mfs)
        zv_mfs_use(s->mfs, s->cur);
    zv_eng_session_reset(s);
    *out = s;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    zv_eng_session_free(s);
    return rc;
}

void zv_eng_session_bind(zv_eng_session *s, uint32_t index, void *buf, int64_t len, int64_t cap)
{
    zv_io_channel_memory(&s->cur->ch[index], buf, len, cap);
}

void zv_eng_session_bind_sink(zv_eng_session *s, uint32_t index, void *buf, int64_t cap)
{
    zv_io_channel_memory_sink(&s->cur->ch[index], buf, cap);
}

int64_t zv_eng_session_dropped(const zv_eng_session *s, uint32_t index)
{
    return s->cur->ch[index].mem_dropped;
}

/* Give back what a descriptor holds on the host. */
static void fd_release(zv_host_fd *d)
{
    zv_host_fd_close_host(d);
    memset(d, 0, sizeof *d);
}

/* The session's own state at a fork point: the descriptors (their file
 * nodes are the file system's copy, zv_mfs_mark), the channels past the
 * standard three as they were on the set in use, the clock and the
 * random stream. */
struct zv_eng_session_mark {
    zv_host_fd *fds;
    uint32_t n_fds;
    const zv_eng_channels *set;
    zv_io_channel *ch;
    uint32_t n_ch;
    uint64_t clock_ns, rng;
    uint32_t n_strays;
    char stray[256];
    int std_kept; /* taken at a first read: stdout and stderr come back too */
};

/* The descriptors a run starts with: the standard channels, then /dev or
 * the preopened directories (each a fresh host descriptor), then in a
 * plain WASI run the module's images, each preopened at its mount point
 * (elsewhere they are in the in-memory tree under /). */
static void start_fds(zv_eng_session *s)
{
    uint32_t first_dir = s->man->wasi_only ? 3 : 4;
    uint32_t n_images = s->man->wasi_only ? zv_mimages_count(s->cur->images) : 0;
    for (uint32_t i = 0; i < n_images; i++) {
        zv_host_fd *d = &s->fds[first_dir + s->n_dirs + i];
        d->kind = ZV_FD_MEM;
        d->type = 3; /* its node is read-only and the session's: never freed by a run */
        d->node = zv_mimages_root(s->cur->images, i, &d->preopen);
    }
    for (uint32_t i = 0; i < first_dir + s->n_dirs; i++) {
        zv_host_fd *d = &s->fds[i];
        if (i < 3) {
            d->kind = ZV_FD_CHANNEL;
            d->channel = (int32_t)i;
        } else if (!s->man->wasi_only && i == ZV_HOST_ROOT_FD) {
            d->kind = ZV_FD_MEM; /* the in-memory root, built when first used */
            d->type = 3;
            d->preopen = "/";
        } else {
            *d = s->dirs[i - first_dir]; /* its host file is the session's: no syscall */
            d->shared = 1;
        }
    }
    s->fd_high = first_dir + s->n_dirs + n_images;
}

/* Everything a run changed back to the mark m, or to the start (m NULL).
 * The standard channels are the caller's (bound before). */
static void put_back(zv_eng_session *s, const zv_eng_session_mark *m)
{
    uint32_t first = m && m->set == s->cur && m->std_kept ? 1 : 3;
    for (uint32_t i = first; i < s->cur->n_ch; i++) /* a job's channels are its own: as opened */
        if (m && m->set == s->cur)
            zv_io_channel_put_back(&s->cur->ch[i], &m->ch[i]);
        else
            zv_io_channel_rewind(&s->cur->ch[i]);
    for (uint32_t i = 0; i < s->fd_high; i++)
        fd_release(&s->fds[i]);
    if (m) {
        memcpy(s->fds, m->fds, m->n_fds * sizeof *m->fds);
        s->fd_high = m->n_fds;
    } else {
        start_fds(s);
    }
    if (s->mfs && !m)
        zv_mfs_reset(s->mfs); /* a record's files go with it (nothing if it made none) */
    else if (s->mfs && zv_mfs_restore(s->mfs, s->fds, s->fd_high)) /* no memory: no files */
        for (uint32_t i = 0; i < s->fd_high; i++)
            if (s->fds[i].kind == ZV_FD_MEM && s->fds[i].node)
                memset(&s->fds[i], 0, sizeof s->fds[i]);
    s->clock_ns = m ? m->clock_ns : s->man->time_s * 1000000000ull;
    s->rng = m ? m->rng : s->man->seed;
    s->n_strays = m ? m->n_strays : 0;
    memcpy(s->stray, m ? m->stray : "", m ? sizeof s->stray : 1);
    s->read_armed = !m && s->fork_on_read; /* a fork point is past the first read */
    s->read_point = m && m->std_kept;
    if (s->n_protects) /* the instance's reset unseals its memory (a fork point has none) */
        memset(s->jailed, 0, sizeof s->jailed);
    s->n_protects = 0;
}

void zv_eng_session_reset(zv_eng_session *s) { put_back(s, NULL); }

void zv_eng_session_restore(zv_eng_session *s, const zv_eng_session_mark *m) { put_back(s, m); }

void zv_eng_session_on_fork(zv_eng_session *s, zv_eng_fork_hook hook, void *arg)
{
    s->fork_hook = hook;
    s->fork_arg = arg;
}

void zv_eng_session_fork_on_read(zv_eng_session *s, int on)
{
    s->fork_on_read = s->read_armed = on != 0;
}

void zv_host_first_read(zv_ctx *ctx, zv_eng_session *s)
{
    s->read_armed = 0;
    s->read_point = 1;
    if (s->fork_hook)
        s->fork_hook(s->fork_arg, ctx, 1); /* a record resumes here, its stdin bound */
}

int zv_host_fd_new(zv_eng_session *s)
{
    uint32_t fd = 3;
    while (fd < s->n_fds && s->fds[fd].kind != ZV_FD_CLOSED)
        fd++;
    if (fd == s->n_fds) {
        uint32_t n = s->n_fds * 2 > ZV_HOST_MAX_FDS ? ZV_HOST_MAX_FDS : s->n_fds * 2;
        zv_host_fd *v = n > s->n_fds ? realloc(s->fds, n * sizeof *v) : NULL;
        if (!v)
            return -1;
        memset(v + s->n_fds, 0, (n - s->n_fds) * sizeof *v);
        s->fds = v;
        s->n_fds = n;
    }
    if (fd >= s->fd_high)
        s->fd_high = fd + 1;
    return (int)fd;
}

int zv_eng_session_mark_take(const zv_eng_session *s, zv_eng_session_mark **out)
{
    zv_eng_session_mark *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->set = s->cur;
    m->std_kept = s->read_point;
    m->clock_ns = s->clock_ns;
    m->rng = s->rng;
    m->n_strays = s->n_strays;
    memcpy(m->stray, s->stray, sizeof m->stray);
    if (!(m->fds = malloc(s->n_fds * sizeof *m->fds)) ||
        !(m->ch = calloc(s->cur->n_ch + 1, sizeof *m->ch)))
        goto nomem;
    m->n_fds = s->fd_high;
    memcpy(m->fds, s->fds, s->fd_high * sizeof *m->fds);
    for (uint32_t i = 0; i < m->n_fds; i++) /* a file open under a --dir: the mark's own */
        if (m->fds[i].kind == ZV_FD_HOST && !m->fds[i].shared) {
            if ((m->fds[i].host = fcntl(s->fds[i].host, F_DUPFD_CLOEXEC, 0)) < 0) {
                m->fds[i].kind = ZV_FD_CLOSED;
                goto nomem;
            }
            m->fds[i].shared = 2; /* records read it at their own positions (pos) */
        }
    for (uint32_t i = 0; i < s->cur->n_ch; i++, m->n_ch = i)
        if (zv_io_channel_keep(&s->cur->ch[i], &m->ch[i]))
            goto nomem;
    if (s->mfs && zv_mfs_mark(s->mfs, m->fds, m->n_fds)) /* the files at the fork, copied */
        goto nomem;
    *out = m;
    return 0;
nomem:
    zv_eng_session_mark_free(m);
    return -ENOMEM;
}

void zv_eng_session_mark_free(zv_eng_session_mark *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n_ch; i++)
        zv_io_channel_drop(&m->ch[i]);
    free(m->ch);
    for (uint32_t i = 0; m->fds && i < m->n_fds; i++)
        if (m->fds[i].kind == ZV_FD_HOST && m->fds[i].shared == 2)
            close(m->fds[i].host);
    free(m->fds);
    free(m);
}

int64_t zv_eng_session_written(const zv_eng_session *s, uint32_t index)
{
    return s->cur->ch[index].mem_len;
}

int zv_eng_session_used(const zv_eng_session *s, uint32_t index)
{
    const zv_io_channel *c = &s->cur->ch[index];
    return c->opened || c->counters[ZV_CFG_GETS] || c->counters[ZV_CFG_PUTS] || c->refused;
}

uint32_t zv_eng_session_strays(const zv_eng_session *s, char *first, size_t cap)
{
    if (cap)
        snprintf(first, cap, "%s", s->stray);
    return s->n_strays;
}

int64_t zv_eng_session_refused(const zv_eng_session *s)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < s->cur->n_ch; i++)
        n += s->cur->ch[i].refused + s->cur->ch[i].clamped;
    return n;
}

static const zv_host_namespace *const namespaces[] = {&zv_host_zvm, &zv_host_wasi};

int zv_eng_session_resolve(void *session, const zv_val_import *im, zv_eng_extern *out)
{
    (void)session;
    for (size_t k = 0; k < sizeof namespaces / sizeof *namespaces; k++) {
        const zv_host_namespace *ns = namespaces[k];
        if (im->module_len != strlen(ns->name) || memcmp(im->module, ns->name, im->module_len))
            continue;
        for (size_t i = 0; i < ns->n; i++) {
            const zv_host_call *c = &ns->calls[i];
            if (strlen(c->name) != im->name_len || memcmp(c->name, im->name, im->name_len))
                continue;
            out->kind = ZV_EXT_FUNC;
            out->host_fn = c->fn;
            out->host_sig = c->sig;
            return 0;
        }
    }
    return -ENOENT;
}

void zv_eng_host_calls(void (*fn)(void *arg, const char *ns, const char *name, const char *sig),
                       void *arg)
{
    for (size_t k = 0; k < sizeof namespaces / sizeof *namespaces; k++)
        for (size_t i = 0; i < namespaces[k]->n; i++)
            fn(arg, namespaces[k]->name, namespaces[k]->calls[i].name, namespaces[k]->calls[i].sig);
}

static void hex(const uint8_t d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Wait for the writes behind of c's channels: a failure the guest was not
 * told of stays on its channel, for the totals. */
static void take_lost(zv_io_ring *r, zv_eng_channels *c)
{
    for (uint32_t i = 0; i < c->n_ch; i++) /* (even one that failed: its gathered writes) */
        zv_io_channel_flush(r, &c->ch[i]);
}

/* Close n channels: their totals, and etags where asked (m->etag). */
static int finish_channels(const zv_cfg_manifest *m, zv_io_channel *ch, uint32_t n,
                           zv_eng_totals *t)
{
    int rc = 0;
    memset(t, 0, sizeof *t);
    if (m->etag && n && !(t->etags = calloc(n, sizeof *t->etags)))
        rc = -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        zv_io_channel *c = &ch[i];
        uint8_t digest[32];
        t->gets += c->counters[ZV_CFG_GETS];
        t->get_bytes += c->counters[ZV_CFG_GETSIZE];
        t->puts += c->counters[ZV_CFG_PUTS];
        t->put_bytes += c->counters[ZV_CFG_PUTSIZE];
        t->limited += c->refused + c->clamped;
        if (c->lost && !t->lost++) {
            t->lost_alias = c->alias;
            t->lost_errno = -c->lost;
        }
        if (zv_io_channel_close(c, digest) && t->etags) {
            t->etags[t->n_etags].alias = c->alias;
            hex(digest, t->etags[t->n_etags++].hex);
        }
    }
    return rc;
}

int zv_eng_session_finish(zv_eng_session *s, zv_eng_totals *t)
{
    int rc;
    zv_eng_session_use(s, NULL);
    take_lost(s->ring, &s->own);
    rc = finish_channels(s->man, s->own.ch, s->own.n_ch, t);
    s->own.n_ch = 0;
    return rc;
}

/* ---- a job's channels (daemon mode) ---- */

int zv_eng_channels_open(const zv_cfg_manifest *daemon, const zv_cfg_manifest *job,
                         zv_eng_channels **out, zv_eng_err *err)
{
    zv_eng_channels *c = calloc(1, sizeof *c);
    int rc;
    *out = NULL;
    if (!c) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return -ENOMEM;
    }
    if ((rc = set_open(daemon, job, c, err))) {
        zv_eng_channels_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void zv_eng_session_use(zv_eng_session *s, zv_eng_channels *c)
{
    if (s->cur == (c ? c : &s->own))
        return; /* the pool's records: twice a record, nothing to do */
    take_lost(s->ring, s->cur);
    s->cur = c ? c : &s->own;
    if (s->mfs)
        zv_mfs_use(s->mfs, s->cur);
}

int zv_eng_channels_finish(zv_eng_channels *c, zv_eng_totals *t)
{
    int rc = finish_channels(c->man, c->ch, c->n_ch, t);
    c->n_ch = 0;
    return rc;
}

void zv_eng_channels_free(zv_eng_channels *c)
{
    if (!c)
        return;
    set_close(c);
    free(c);
}

void zv_eng_totals_free(zv_eng_totals *t)
{
    free(t->etags);
    t->etags = NULL;
    t->n_etags = 0;
}

void zv_eng_session_free(zv_eng_session *s)
{
    if (!s)
        return;
    zv_eng_session_use(s, NULL);
    for (uint32_t i = 0; s->fds && i < s->fd_high; i++)
        fd_release(&s->fds[i]);
    for (uint32_t i = 0; i < s->n_dirs; i++)
        close(s->dirs[i].host);
    for (uint32_t i = 0; s->dir_names && i < s->man->n_dirs; i++)
        free(s->dir_names[i]);
    free(s->dir_names);
    free(s->dirs);
    zv_mfs_free(s->mfs); /* before the images its tree points into */
    set_close(&s->own);
    zv_io_ring_free(s->ring);
    free(s->fds);
    free(s->args.buf);
    free(s->args.off);
    free(s->env.buf);
    free(s->env.off);
    free(s);
}
