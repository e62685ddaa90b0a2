/*
 * host_session.c — the host side of one instance: open the manifest's channels
 * in guest order, give them WASI descriptors (0-2 the standard channels,
 * 3 the preopened /dev, others by path_open), seed the virtual clock and
 * the random stream, build the channel list zvm.manifest copies, and at
 * the end close everything and total the accounting and etags.
 */
#include "engine/host_private.h"
#include "include/zvm/guest.h" /* the zvm.manifest layout */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int zv_eng_session_new(const zv_cfg_manifest *m, zv_eng_session **out, zv_eng_err *err)
{
    zv_eng_session *s = calloc(1, sizeof *s);
    int rc = -ENOMEM;
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->man = m;
    s->n_fds = 4 + m->n_dirs + 16;
    s->ch = calloc(m->n_channels + 1, sizeof *s->ch);
    s->fds = calloc(s->n_fds, sizeof *s->fds);
    s->dirs = calloc(m->n_dirs + 1, sizeof *s->dirs);
    if (!s->ch || !s->fds || !s->dirs)
        goto fail;
    for (uint32_t i = 0; i < m->n_dirs; i++) { /* HOST[::GUEST], wasmtime's syntax */
        const char *sep = strstr(m->dirs[i], "::");
        char host[4096];
        snprintf(host, sizeof host, "%.*s", sep ? (int)(sep - m->dirs[i]) : (int)strlen(m->dirs[i]),
                 m->dirs[i]);
        if ((rc = zv_hdir_preopen(host, sep ? sep + 2 : m->dirs[i], &s->dirs[i], err->msg,
                                  sizeof err->msg)))
            goto fail;
        s->n_dirs = i + 1;
    }
    s->fd_high = 3 + (m->wasi_only ? 0 : 1) + m->n_dirs;
    if ((rc = open_channels(m, s->ch, &s->n_ch, err)))
        goto fail;
    if (!m->wasi_only && (rc = zv_mfs_new(m, s->ch, &s->mfs, err->msg, sizeof err->msg)))
        goto fail;
    if ((rc = zv_io_ring_new(8, &s->ring))) {
        snprintf(err->msg, sizeof err->msg, "io_uring is not available: %s", strerror(-rc));
        goto fail;
    }
    zv_eng_session_reset(s);
    if ((rc = build_blob(m, s->ch, &s->blob, &s->blob_len)))
        goto fail;
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
    zv_io_channel_memory(&s->ch[index], buf, len, cap);
}

/* Give back what a descriptor holds on the host. */
static void fd_release(zv_host_fd *d)
{
    if (d->kind == ZV_FD_HOST)
        close(d->host);
    memset(d, 0, sizeof *d);
}

void zv_eng_session_reset(zv_eng_session *s)
{
    /* every channel starts over (0-2 were just rebound by the caller) */
    for (uint32_t i = 3; i < s->n_ch; i++)
        zv_io_channel_rewind(&s->ch[i]);
    /* the descriptors the last run used: the standard channels, then /dev
     * or the preopened directories (each a fresh host descriptor) */
    uint32_t first_dir = s->man->wasi_only ? 3 : 4;
    for (uint32_t i = 0; i < s->fd_high; i++) {
        zv_host_fd *d = &s->fds[i];
        fd_release(d);
        if (i < 3) {
            d->kind = ZV_FD_CHANNEL;
            d->channel = (int32_t)i;
        } else if (!s->man->wasi_only && i == ZV_HOST_ROOT_FD) {
            d->kind = ZV_FD_MEM; /* the in-memory root, built when first used */
            d->type = 3;
            d->preopen = "/";
        } else if (i - first_dir < s->n_dirs) {
            *d = s->dirs[i - first_dir];
            if ((d->host = fcntl(s->dirs[i - first_dir].host, F_DUPFD_CLOEXEC, 0)) < 0)
                memset(d, 0, sizeof *d); /* out of descriptors: not preopened */
        }
    }
    s->fd_high = first_dir + s->n_dirs;
    if (s->mfs)
        zv_mfs_reset(s->mfs); /* a record's files go with it (nothing if it made none) */
    s->clock_ns = s->man->time_s * 1000000000ull;
    s->rng = s->man->seed;
    if (s->n_protects) /* the instance's reset unseals its memory */
        memset(s->jailed, 0, sizeof s->jailed);
    s->n_protects = 0;
}

void zv_eng_session_on_fork(zv_eng_session *s, zv_eng_fork_hook hook, void *arg)
{
    s->fork_hook = hook;
    s->fork_arg = arg;
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
    for (uint32_t i = 0; i < s->fd_high; i++)
        if (s->fds[i].kind == ZV_FD_HOST) { /* not in pools: zvm run has no fork */
            free(m);
            return -ENOTSUP;
        }
    if (!m || !(m->fds = malloc(s->n_fds * sizeof *m->fds))) {
        free(m);
        return -ENOMEM;
    }
    m->n_fds = s->fd_high;
    memcpy(m->fds, s->fds, s->fd_high * sizeof *m->fds);
    if (s->mfs && zv_mfs_mark(s->mfs, m->fds, m->n_fds)) { /* the files at the fork, copied */
        free(m->fds);
        free(m);
        return -ENOMEM;
    }
    m->clock_ns = s->clock_ns;
    m->rng = s->rng;
    *out = m;
    return 0;
}

void zv_eng_session_mark_restore(zv_eng_session *s, const zv_eng_session_mark *m)
{
    for (uint32_t i = m->n_fds; i < s->fd_high; i++) /* opened since the mark */
        memset(&s->fds[i], 0, sizeof s->fds[i]);
    memcpy(s->fds, m->fds, m->n_fds * sizeof *m->fds);
    s->fd_high = m->n_fds;
    if (s->mfs && zv_mfs_restore(s->mfs, s->fds, s->fd_high)) /* no memory: no files */
        for (uint32_t i = 0; i < s->fd_high; i++)
            if (s->fds[i].kind == ZV_FD_MEM && s->fds[i].node)
                memset(&s->fds[i], 0, sizeof s->fds[i]);
    s->clock_ns = m->clock_ns;
    s->rng = m->rng;
}

void zv_eng_session_mark_free(zv_eng_session_mark *m)
{
    if (m)
        free(m->fds);
    free(m);
}

int64_t zv_eng_session_written(const zv_eng_session *s, uint32_t index)
{
    return s->ch[index].mem_len;
}

int64_t zv_eng_session_refused(const zv_eng_session *s)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < s->n_ch; i++)
        n += s->ch[i].refused + s->ch[i].clamped;
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
    rc = finish_channels(s->man, s->ch, s->n_ch, t);
    s->n_ch = 0;
    return rc;
}

/* ---- a job's channels (daemon mode) ---- */

struct zv_eng_channels {
    const zv_cfg_manifest *man;
    zv_io_channel *ch;
    uint32_t n_ch;   /* opened */
    uint8_t *blob;   /* its channel list for zvm.manifest */
    uint32_t blob_len;
};

int zv_eng_channels_open(const zv_cfg_manifest *job, zv_eng_channels **out, zv_eng_err *err)
{
    zv_eng_channels *c = calloc(1, sizeof *c);
    int rc = -ENOMEM;
    *out = NULL;
    if (!c || !(c->ch = calloc(job->n_channels + 1, sizeof *c->ch)))
        goto fail;
    c->man = job;
    if ((rc = open_channels(job, c->ch, &c->n_ch, err)) ||
        (rc = build_blob(job, c->ch, &c->blob, &c->blob_len)))
        goto fail;
    *out = c;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    zv_eng_channels_free(c);
    return rc;
}

void zv_eng_session_use(zv_eng_session *s, zv_eng_channels *c)
{
    if (!s->own_ch) { /* keep the session's own */
        s->own_ch = s->ch;
        s->own_blob = s->blob;
        s->own_blob_len = s->blob_len;
    }
    s->ch = c ? c->ch : s->own_ch;
    s->blob = c ? c->blob : s->own_blob;
    s->blob_len = c ? c->blob_len : s->own_blob_len;
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
    for (uint32_t i = 0; i < c->n_ch; i++) {
        uint8_t digest[32];
        zv_io_channel_close(&c->ch[i], digest);
    }
    free(c->ch);
    free(c->blob);
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
    for (uint32_t i = 0; i < s->n_ch; i++) {
        uint8_t digest[32];
        zv_io_channel_close(&s->ch[i], digest);
    }
    for (uint32_t i = 0; s->fds && i < s->fd_high; i++)
        fd_release(&s->fds[i]);
    for (uint32_t i = 0; i < s->n_dirs; i++)
        close(s->dirs[i].host);
    free(s->dirs);
    zv_mfs_free(s->mfs);
    zv_io_ring_free(s->ring);
    free(s->ch);
    free(s->fds);
    free(s->blob);
    free(s);
}
