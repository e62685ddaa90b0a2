/*
 * host_wasi_path.c — the path half of `wasi_snapshot_preview1`
 * (host_wasi.c has the rest and the call table): path_open and the other
 * path_* calls, and fd_readdir, on a preopened host directory (host_dir.c)
 * or the in-memory tree (host_mem.c). A guest's path is checked once, on
 * entry: its bytes in memory, no NUL, at most PATH_CAP bytes.
 */
#include "engine/host_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define S(ctx) zv_host_session(ctx)
#define MEM_R(ctx, p, n) zv_host_mem_r(ctx, p, n) /* the host reads there */
#define MEM_W(ctx, p, n) zv_host_mem_w(ctx, p, n) /* the host writes there */

/* ---- directories and paths ------------------------------------------------------------ */

/* The guest's path as a host string: WE_SUCCESS, WE_FAULT, WE_INVAL (a
 * NUL inside) or WE_NAMETOOLONG. */
static uint32_t guest_path(zv_ctx *ctx, uint32_t ptr, uint32_t len, char *out, size_t cap)
{
    if (!MEM_R(ctx, ptr, len))
        return WE_FAULT;
    if (len >= cap)
        return WE_NAMETOOLONG;
    if (memchr(ctx->mem + ptr, 0, len))
        return WE_INVAL;
    memcpy(out, ctx->mem + ptr, len);
    out[len] = 0;
    return WE_SUCCESS;
}

#define PATH_CAP 4096

/* A directory descriptor and its path, checked. An in-memory directory
 * comes back as a copy with its node (the root's built now). */
static uint32_t dir_path(zv_ctx *ctx, uint32_t fd, uint32_t ptr, uint32_t len, zv_host_fd *d,
                         char *path)
{
    zv_host_fd *f = zv_host_fd_get(S(ctx), fd);
    uint32_t rc;
    if (!f)
        return WE_BADF;
    if (f->type != 3)
        return WE_NOTDIR;
    if ((rc = guest_path(ctx, ptr, len, path, PATH_CAP)))
        return rc;
    return f->kind == ZV_FD_MEM ? zv_host_mem_dir(ctx, f, d) : (*d = *f, 0);
}

/* An open to create or write under /dev, from the root, that found no
 * channel (zv_eng_session_strays): counted, the first one's path kept.
 * /dev/null is no stray: who writes there means the bytes to vanish (and
 * in memory they do). */
static void note_stray(zv_eng_session *s, const zv_host_fd *dir, const char *path)
{
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (!dir->preopen || strcmp(dir->preopen, "/") || strncmp(path, "dev/", 4) ||
        !strcmp(path, "dev/null"))
        return;
    if (!s->n_strays++)
        snprintf(s->stray, sizeof s->stray, "/%s", path);
}

/* path_open: beneath a preopened host directory, or in the in-memory
 * tree (where a channel's alias opens the channel). */
uint32_t zv_host_path_open(zv_ctx *ctx, uint32_t dirfd, uint32_t lookup, uint32_t path,
                               uint32_t path_len, uint32_t oflags, uint64_t rights,
                               uint64_t inheriting, uint32_t fdflags, uint32_t fd_out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd d, opened;
    char p[PATH_CAP];
    uint32_t rc = dir_path(ctx, dirfd, path, path_len, &d, p);
    int fd;
    if (rc)
        return rc;
    if (!MEM_W(ctx, fd_out, 4))
        return WE_FAULT;
    if (oflags > 15 || fdflags > 31)
        return WE_INVAL;
    /* the directory's rights: create (1 << 10) and truncate (1 << 19) */
    if (((oflags & 1) && !(d.rights & (1ull << 10)) && d.rights) ||
        ((oflags & 8) && !(d.rights & (1ull << 19)) && d.rights))
        return WE_NOTCAPABLE;
    rc = d.kind == ZV_FD_HOST
             ? zv_hdir_open(&d, p, lookup, oflags, rights, (uint16_t)fdflags, &opened)
             : zv_mfs_open(s->mfs, &d, p, lookup, oflags, rights, (uint16_t)fdflags, s->clock_ns,
                           &opened);
    if (d.kind == ZV_FD_MEM && ((oflags & 1) || (rights & (1ull << 6))) && !(oflags & 2) &&
        (rc || opened.kind != ZV_FD_CHANNEL)) /* made or written: a device no one declared? */
        note_stray(s, &d, p);
    if (rc)
        return rc;
    if (opened.kind == ZV_FD_CHANNEL)
        s->cur->ch[opened.channel].opened = 1;
    if (opened.kind != ZV_FD_CHANNEL) {
        opened.rights = rights & zv_host_rights(opened.type);
        opened.inheriting = inheriting;
    }
    if ((fd = zv_host_fd_new(s)) < 0) {
        if (opened.kind == ZV_FD_HOST)
            close(opened.host);
        if (opened.kind == ZV_FD_MEM)
            zv_mfs_close(s->mfs, &opened);
        return WE_MFILE;
    }
    s->fds[fd] = opened;
    zv_host_put32(ctx, fd_out, (uint32_t)fd);
    return WE_SUCCESS;
}

/* One path call on a directory descriptor: the host's or the memory's. */
#define PATH_CALL(ctx, fd, ptr, len, host_call, mem_call)                                         \
    do {                                                                                           \
        zv_host_fd d_;                                                                             \
        char p_[PATH_CAP];                                                                         \
        uint32_t rc_ = dir_path(ctx, fd, ptr, len, &d_, p_);                                       \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        return d_.kind == ZV_FD_HOST ? host_call : mem_call;                                       \
    } while (0)

uint32_t zv_host_path_create_directory(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    PATH_CALL(ctx, fd, path, len, zv_hdir_mkdir(&d_, p_),
              zv_mfs_mkdir(S(ctx)->mfs, &d_, p_, S(ctx)->clock_ns));
}
uint32_t zv_host_path_remove_directory(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    PATH_CALL(ctx, fd, path, len, zv_hdir_rmdir(&d_, p_),
              zv_mfs_rmdir(S(ctx)->mfs, &d_, p_, S(ctx)->clock_ns));
}
uint32_t zv_host_path_unlink_file(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    PATH_CALL(ctx, fd, path, len, zv_hdir_unlink(&d_, p_),
              zv_mfs_unlink(S(ctx)->mfs, &d_, p_, S(ctx)->clock_ns));
}

uint32_t zv_host_path_filestat_get(zv_ctx *ctx, uint32_t fd, uint32_t lookup, uint32_t path,
                                       uint32_t len, uint32_t out)
{
    zv_host_fd d;
    zv_host_stat st;
    char p[PATH_CAP];
    uint32_t rc = dir_path(ctx, fd, path, len, &d, p);
    if (rc)
        return rc;
    if (!MEM_W(ctx, out, 64))
        return WE_FAULT;
    rc = d.kind == ZV_FD_HOST ? zv_hdir_stat(&d, lookup, p, &st)
                              : zv_mfs_stat(S(ctx)->mfs, &d, lookup, p, &st);
    if (!rc)
        zv_host_put_stat(ctx, out, &st);
    return rc;
}

uint32_t zv_host_path_filestat_set_times(zv_ctx *ctx, uint32_t fd, uint32_t lookup,
                                             uint32_t path, uint32_t len, uint64_t atim,
                                             uint64_t mtim, uint32_t fst)
{
    PATH_CALL(ctx, fd, path, len, zv_hdir_utimes(&d_, lookup, p_, atim, mtim, fst),
              zv_mfs_utimes(&d_, lookup, p_, atim, mtim, fst, S(ctx)->clock_ns));
}

uint32_t zv_host_path_readlink(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len,
                                   uint32_t buf, uint32_t buf_len, uint32_t used)
{
    zv_host_fd d;
    char p[PATH_CAP], target[PATH_CAP];
    const char *t = target;
    size_t n = 0;
    uint32_t rc = dir_path(ctx, fd, path, len, &d, p);
    if (rc)
        return rc;
    if (!MEM_W(ctx, buf, buf_len) || !MEM_W(ctx, used, 4))
        return WE_FAULT;
    if (d.kind == ZV_FD_HOST)
        rc = zv_hdir_readlink(&d, p, target, sizeof target, &n);
    else if (!(rc = zv_mfs_readlink(&d, p, &t)))
        n = strlen(t);
    if (rc)
        return rc;
    if (n > buf_len)
        n = buf_len; /* cut, as readlink(2) */
    memcpy(ctx->mem + buf, t, n);
    zv_host_put32(ctx, used, (uint32_t)n);
    return WE_SUCCESS;
}

/* Two directories and two paths, checked; both of one kind. */
static uint32_t two_paths(zv_ctx *ctx, uint32_t fd1, uint32_t p1, uint32_t l1, uint32_t fd2,
                          uint32_t p2, uint32_t l2, zv_host_fd *d1, char *a, zv_host_fd *d2,
                          char *b)
{
    uint32_t rc = dir_path(ctx, fd1, p1, l1, d1, a);
    if (rc || (rc = dir_path(ctx, fd2, p2, l2, d2, b)))
        return rc;
    return d1->kind == d2->kind ? WE_SUCCESS : WE_XDEV;
}

uint32_t zv_host_path_rename(zv_ctx *ctx, uint32_t fd1, uint32_t p1, uint32_t l1, uint32_t fd2,
                                 uint32_t p2, uint32_t l2)
{
    zv_host_fd d1, d2;
    char a[PATH_CAP], b[PATH_CAP];
    uint32_t rc = two_paths(ctx, fd1, p1, l1, fd2, p2, l2, &d1, a, &d2, b);
    if (rc)
        return rc;
    return d1.kind == ZV_FD_HOST ? zv_hdir_rename(&d1, a, &d2, b)
                                 : zv_mfs_rename(S(ctx)->mfs, &d1, a, &d2, b, S(ctx)->clock_ns);
}

uint32_t zv_host_path_link(zv_ctx *ctx, uint32_t fd1, uint32_t lookup, uint32_t p1,
                               uint32_t l1, uint32_t fd2, uint32_t p2, uint32_t l2)
{
    zv_host_fd d1, d2;
    char a[PATH_CAP], b[PATH_CAP];
    uint32_t rc = two_paths(ctx, fd1, p1, l1, fd2, p2, l2, &d1, a, &d2, b);
    if (rc)
        return rc;
    return d1.kind == ZV_FD_HOST
               ? zv_hdir_link(&d1, lookup, a, &d2, b)
               : zv_mfs_link(S(ctx)->mfs, &d1, lookup, a, &d2, b, S(ctx)->clock_ns);
}

uint32_t zv_host_path_symlink(zv_ctx *ctx, uint32_t target, uint32_t target_len, uint32_t fd,
                                  uint32_t path, uint32_t len)
{
    char t[PATH_CAP];
    uint32_t rc = guest_path(ctx, target, target_len, t, sizeof t);
    if (rc)
        return rc;
    PATH_CALL(ctx, fd, path, len, zv_hdir_symlink(t, &d_, p_),
              zv_mfs_symlink(S(ctx)->mfs, t, &d_, p_, S(ctx)->clock_ns));
}

/* fd_readdir: entries packed as WASI dirents (24-byte header, then the
 * name), the last one cut when the buffer is full (the guest then sees
 * used == len and asks again from the cookie it had). */
typedef struct {
    zv_ctx *ctx;
    uint32_t buf, len, used;
} dirent_sink;

static int put_dirent(void *arg, const char *name, size_t n, uint64_t next, uint64_t ino,
                      uint8_t type)
{
    dirent_sink *k = arg;
    uint8_t head[24];
    uint32_t nl = (uint32_t)n, room;
    memset(head, 0, sizeof head);
    memcpy(head, &next, 8);
    memcpy(head + 8, &ino, 8);
    memcpy(head + 16, &nl, 4);
    head[20] = type;
    room = k->len - k->used;
    memcpy(k->ctx->mem + k->buf + k->used, head, room < 24 ? room : 24);
    k->used += room < 24 ? room : 24;
    room = k->len - k->used;
    memcpy(k->ctx->mem + k->buf + k->used, name, room < nl ? room : nl);
    k->used += room < nl ? room : nl;
    return k->used < k->len;
}

uint32_t zv_host_fd_readdir(zv_ctx *ctx, uint32_t fd, uint32_t buf, uint32_t len,
                                uint64_t cookie, uint32_t used)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d = zv_host_fd_get(s, fd);
    dirent_sink k = {ctx, buf, len, 0};
    uint32_t rc = 0;
    if (!d)
        return WE_BADF;
    if (!MEM_W(ctx, buf, len) || !MEM_W(ctx, used, 4))
        return WE_FAULT;
    if (d->type != 3)
        return WE_NOTDIR;
    if (d->kind == ZV_FD_HOST) {
        rc = zv_hdir_readdir(d, cookie, put_dirent, &k);
    } else {
        zv_host_fd m;
        if (!(rc = zv_host_mem_dir(ctx, d, &m)))
            rc = zv_mfs_readdir(s->mfs, &m, cookie, put_dirent, &k);
    }
    if (!rc)
        zv_host_put32(ctx, used, k.used);
    return rc;
}
