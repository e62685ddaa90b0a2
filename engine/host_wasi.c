/*
 * host_wasi.c — all of `wasi_snapshot_preview1` over the manifest's
 * channels and the preopened directories, so stock wasm32-wasi programs
 * run inside ZeroVM's rules (the path calls and fd_readdir are in
 * host_wasi_path.c; the call table is here).
 *
 * fds 0-2 are the standard channels. Then either the preopened host
 * directories of `zvm run --dir` (fd 3 on, in order; their calls are in
 * host_dir.c), or fd 3, the in-memory root "/" (host_mem.c) where
 * path_open("dev/x") opens the channel whose alias is "/dev/x". Reads and
 * writes go to the channel (limits, counters, etags apply, so a guest over
 * a limit sees EDQUOT) or to the host file, both through the session's
 * io_uring ring. Time and randomness are virtual: the clock starts at the
 * manifest's Time and advances 1 us per reading (and to the deadline in
 * poll_oneoff), and random_get is a stream seeded by Seed. There are no sockets (sock_* on
 * any descriptor: ENOTSOCK) and no signals (proc_raise: ENOSYS). Every
 * guest pointer is checked once, on entry; errno values follow wasmtime
 * on Linux.
 */
#include "engine/host_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S(ctx) zv_host_session(ctx)
#define MEM_R(ctx, p, n) zv_host_mem_r(ctx, p, n) /* the host reads there */
#define MEM_W(ctx, p, n) zv_host_mem_w(ctx, p, n) /* the host writes there */

static void put64(zv_ctx *ctx, uint32_t at, uint64_t v) { memcpy(ctx->mem + at, &v, 8); }
static uint32_t get32(zv_ctx *ctx, uint32_t at)
{
    uint32_t v;
    memcpy(&v, ctx->mem + at, 4);
    return v;
}

/* ---- args and environment -------------------------------------------------------- */

static uint32_t strings_sizes(zv_ctx *ctx, const zv_host_strings *p, uint32_t count_ptr,
                              uint32_t size_ptr)
{
    if (!MEM_W(ctx, count_ptr, 4) || !MEM_W(ctx, size_ptr, 4))
        return WE_FAULT;
    zv_host_put32(ctx, count_ptr, p->n);
    zv_host_put32(ctx, size_ptr, p->bytes);
    return WE_SUCCESS;
}

static uint32_t strings_get(zv_ctx *ctx, const zv_host_strings *p, uint32_t vec_ptr,
                            uint32_t buf_ptr)
{
    if (!MEM_W(ctx, vec_ptr, (uint64_t)p->n * 4) || !MEM_W(ctx, buf_ptr, p->bytes))
        return WE_FAULT;
    for (uint32_t i = 0; i < p->n; i++)
        zv_host_put32(ctx, vec_ptr + 4 * i, buf_ptr + p->off[i]);
    memcpy(ctx->mem + buf_ptr, p->buf, p->bytes);
    return WE_SUCCESS;
}

static uint32_t wasi_args_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    return strings_sizes(ctx, &S(ctx)->args, count, size);
}
static uint32_t wasi_args_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    return strings_get(ctx, &S(ctx)->args, vec, buf);
}
static uint32_t wasi_environ_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    return strings_sizes(ctx, &S(ctx)->env, count, size);
}
static uint32_t wasi_environ_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    return strings_get(ctx, &S(ctx)->env, vec, buf);
}

/* ---- descriptors ------------------------------------------------------------------ */


static zv_io_channel *fd_channel(zv_eng_session *s, uint32_t fd, zv_host_fd **d)
{
    *d = zv_host_fd_get(s, fd);
    return *d && (*d)->kind == ZV_FD_CHANNEL ? &s->cur->ch[(*d)->channel] : NULL;
}

/* ---- the in-memory file system's share of the instance ---- */

/* The root of the in-memory tree, built on first use (NULL: no memory).
 * From then on the instance's budget counts the files. */
static zv_mnode *mem_root(zv_ctx *ctx)
{
    zv_eng_session *s = S(ctx);
    zv_eng_instance *inst = ctx->engine;
    inst->file_bytes = zv_mfs_bytes_ref(s->mfs);
    return zv_mfs_root(s->mfs, s->clock_ns);
}

static uint64_t mem_room(zv_ctx *ctx);

uint32_t zv_host_mem_dir(zv_ctx *ctx, zv_host_fd *d, zv_host_fd *out)
{
    *out = *d;
    if (!out->node && !(out->node = mem_root(ctx)))
        return WE_NOMEM;
    zv_mfs_limit(S(ctx)->mfs, mem_room(ctx)); /* new names and nodes stay within Memory */
    return 0;
}

/* What in-memory files may still take: the budget less memory, tables and
 * the files already there. */
static uint64_t mem_room(zv_ctx *ctx)
{
    zv_eng_instance *inst = ctx->engine;
    uint64_t used = (ctx->memory ? ctx->memory->size_bytes : 0) + inst->table_bytes +
                    *zv_mfs_bytes_ref(S(ctx)->mfs);
    if (!inst->budget_bytes)
        return UINT64_MAX / 2;
    return used < inst->budget_bytes ? inst->budget_bytes - used : 0;
}

/* Checked iovecs as host buffers (at most ZV_IO_MAX_IOV: a short transfer,
 * as POSIX allows). Returns how many, or -1 (a buffer outside memory). */
static int iovecs(zv_ctx *ctx, uint32_t iovs, uint32_t n_iovs, int writing, struct iovec *v)
{
    if (n_iovs > ZV_IO_MAX_IOV)
        n_iovs = ZV_IO_MAX_IOV;
    for (uint32_t i = 0; i < n_iovs; i++) {
        uint32_t buf = get32(ctx, iovs + 8 * i), len = get32(ctx, iovs + 8 * i + 4);
        if (writing ? !MEM_R(ctx, buf, len) : !MEM_W(ctx, buf, len))
            return -1;
        v[i].iov_base = ctx->mem + buf;
        v[i].iov_len = len;
    }
    return (int)n_iovs;
}

/* A host file's bytes, through the session's ring: at `at`, or at its
 * position (which moves; appends go to the end). */
static int64_t host_io(zv_ctx *ctx, zv_host_fd *d, const struct iovec *v, int n, int64_t at,
                       int writing)
{
    int use_pos = at < 0;
    int64_t r;
    if (d->type == 3)
        return -EISDIR;
    if (use_pos && writing && (d->flags & 1)) { /* append: the end, whatever the position */
        struct stat st;
        if (fstat(d->host, &st) < 0)
            return -errno;
        d->pos = (uint64_t)st.st_size;
    }
    if (use_pos)
        at = (int64_t)d->pos;
    r = writing ? zv_io_writev(zv_host_ring(ctx), d->host, v, n, at)
                : zv_io_readv(zv_host_ring(ctx), d->host, v, n, at);
    if (r > 0 && use_pos)
        d->pos += (uint64_t)r;
    return r;
}

/* Gather or scatter over checked iovecs, as one channel call (one get or
 * put); `at` < 0 uses the fd's position for random channels. */
static uint32_t fd_io(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n_iovs, int64_t at,
                      uint32_t done_ptr, int writing)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d;
    zv_io_channel *c;
    int random;
    if (!writing) /* (first-read: stdin's first read is the fork point; nothing looked up before) */
        zv_host_read_probe(ctx, s, zv_host_fd_get(s, fd));
    c = fd_channel(s, fd, &d);
    random = c && (writing ? c->type & 2 : c->type & 1) && !c->stream;
    struct iovec v[ZV_IO_MAX_IOV];
    int64_t n;
    int use_pos = at < 0, nv; /* fd_read/fd_write move a random channel's position */
    if (!d)
        return WE_BADF;
    if (!c && d->type == 3)
        return WE_ISDIR;
    if (c && at >= 0 && !random)
        return WE_SPIPE;
    if (!MEM_R(ctx, iovs, (uint64_t)n_iovs * 8) || !MEM_W(ctx, done_ptr, 4) ||
        (nv = iovecs(ctx, iovs, n_iovs, writing, v)) < 0)
        return WE_FAULT;
    if (!c) { /* files keep to their rights (fd_read 1 << 1, fd_write 1 << 6) */
        if (!(d->rights & (writing ? 1ull << 6 : 1ull << 1)))
            return WE_BADF;
        if (d->kind == ZV_FD_HOST) {
            n = host_io(ctx, d, v, nv, at, writing);
        } else {
            uint64_t where = use_pos ? (writing && (d->flags & 1) ? zv_mfs_size(d) : d->pos)
                                     : (uint64_t)at;
            n = zv_mfs_io(S(ctx)->mfs, d, v, nv, where, writing, mem_room(ctx), S(ctx)->clock_ns);
            if (n < 0)
                return (uint32_t)-n;
            if (use_pos)
                d->pos = where + (uint64_t)n;
        }
    } else {
        if (at < 0)
            at = random ? (int64_t)d->pos : 0;
        n = writing ? zv_io_channel_writev(zv_host_ring(ctx), c, v, nv, at)
                    : zv_io_channel_readv(zv_host_ring(ctx), c, v, nv, at);
        if (n > 0 && random && use_pos)
            d->pos += (uint64_t)n;
    }
    if (n == -EINTR) /* the deadline passed while it waited: the request is cancelled */
        zv_eng_trap(ZV_TRAP_TIMEOUT, 0);
    if (n < 0)
        return zv_host_errno(n);
    zv_host_put32(ctx, done_ptr, (uint32_t)n);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_write(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t done)
{
    return fd_io(ctx, fd, iovs, n, -1, done, 1);
}
static uint32_t wasi_fd_read(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t done)
{
    return fd_io(ctx, fd, iovs, n, -1, done, 0);
}
static uint32_t wasi_fd_pwrite(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off,
                               uint32_t done)
{
    return off > INT64_MAX ? WE_INVAL : fd_io(ctx, fd, iovs, n, (int64_t)off, done, 1);
}
static uint32_t wasi_fd_pread(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off,
                              uint32_t done)
{
    return off > INT64_MAX ? WE_INVAL : fd_io(ctx, fd, iovs, n, (int64_t)off, done, 0);
}

static uint32_t wasi_fd_close(zv_ctx *ctx, uint32_t fd)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    zv_host_fd_close_host(d);
    if (d->kind == ZV_FD_MEM && d->node)
        zv_mfs_close(S(ctx)->mfs, d);
    memset(d, 0, sizeof *d);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_renumber(zv_ctx *ctx, uint32_t from, uint32_t to)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *a = zv_host_fd_get(s, from), *b = zv_host_fd_get(s, to);
    if (!a || !b)
        return WE_BADF;
    if (a != b) {
        zv_host_fd_close_host(b);
        if (b->kind == ZV_FD_MEM && b->node)
            zv_mfs_close(s->mfs, b);
        *b = *a;
        memset(a, 0, sizeof *a);
    }
    return WE_SUCCESS;
}

static uint32_t wasi_fd_seek(zv_ctx *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(s, fd, &d);
    int64_t base, to, size;
    if (!d)
        return WE_BADF;
    if (!c && d->type == 3)
        return WE_BADF; /* directories have no position (wasmtime: EBADF) */
    if (c && (c->stream || !(c->type & 3)))
        return WE_SPIPE; /* sequential channels have no position to set */
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    if (c) {
        size = c->size;
    } else if (d->kind == ZV_FD_MEM) {
        size = (int64_t)zv_mfs_size(d);
    } else {
        struct stat st;
        if (fstat(d->host, &st) < 0)
            return zv_host_errno(-errno);
        size = st.st_size;
    }
    base = whence == 0 ? 0 : whence == 1 ? (int64_t)d->pos : whence == 2 ? size : -1;
    /* base >= 0, so only a positive delta can overflow */
    if (base < 0 || ((int64_t)off > 0 && base > INT64_MAX - (int64_t)off) ||
        (to = base + (int64_t)off) < 0)
        return WE_INVAL;
    d->pos = (uint64_t)to;
    put64(ctx, out, d->pos);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_tell(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(S(ctx), fd, &d);
    if (!d)
        return WE_BADF;
    if (!c && d->type == 3)
        return WE_BADF;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    put64(ctx, out, c && (c->stream || !(c->type & 3)) ? 0 : d->pos);
    return WE_SUCCESS;
}

/* The WASI filetype of a descriptor: 2 character device, 3 directory,
 * 4 regular file, 7 symlink (WASI `filetype`). */
static uint8_t filetype(zv_eng_session *s, const zv_host_fd *d)
{
    if (d->kind == ZV_FD_CHANNEL)
        return s->cur->ch[d->channel].kind == ZV_IO_REGULAR ? 4 : 2;
    return d->type;
}

#define SEEK_TELL ((1ull << 2) | (1ull << 5))

/* Rights a descriptor of this type can use: all of them, but none of a
 * file's own (read, seek, write, ...) for directories. */
uint64_t zv_host_rights(uint8_t type)
{
    const uint64_t file_only = SEEK_TELL | (1ull << 1) | (1ull << 6) | (1ull << 7) | (1ull << 8) |
                               (1ull << 22) | (1ull << 27);
    return type == 3 ? ZV_RIGHTS_ALL & ~file_only : ZV_RIGHTS_ALL;
}

/* A descriptor's rights before fdstat_set_rights shrinks them: by its type,
 * and a channel on a terminal lacks seek/tell, as wasmtime reports one.
 * isatty() looks for that, and a guest's stdio then writes its output line
 * by line; anywhere else in blocks, as a native program does (a channel
 * that is a pipe, a file or a record's memory). */
static uint64_t first_rights(zv_eng_session *s, const zv_host_fd *d, uint8_t type)
{
    int tty = d->kind == ZV_FD_CHANNEL && s->cur->ch[d->channel].tty;
    return zv_host_rights(type) & ~(tty ? SEEK_TELL : 0);
}

static uint32_t wasi_fd_fdstat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d = zv_host_fd_get(s, fd);
    uint8_t type;
    if (!d)
        return WE_BADF;
    if (!MEM_W(ctx, out, 24))
        return WE_FAULT;
    type = filetype(s, d);
    memset(ctx->mem + out, 0, 24);
    ctx->mem[out] = type;
    memcpy(ctx->mem + out + 2, &d->flags, 2);
    if (!d->rights && !d->inheriting) { /* the standard channels and /dev: by their type */
        d->rights = first_rights(s, d, type);
        d->inheriting = ZV_RIGHTS_ALL;
    }
    put64(ctx, out + 8, d->rights);
    put64(ctx, out + 16, d->inheriting);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_fdstat_set_flags(zv_ctx *ctx, uint32_t fd, uint32_t flags)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    if (flags > 31)
        return WE_INVAL;
    if (d->kind == ZV_FD_MEM && d->type == 4 && !(flags & ~1u)) { /* append on or off */
        d->flags = (uint16_t)flags;
        return WE_SUCCESS;
    }
    return d->kind == ZV_FD_HOST ? zv_hdir_set_flags(d, (uint16_t)flags) : WE_NOTSUP;
}

/* Rights only shrink. */
static uint32_t wasi_fd_fdstat_set_rights(zv_ctx *ctx, uint32_t fd, uint64_t base, uint64_t inh)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d = zv_host_fd_get(s, fd);
    if (!d)
        return WE_BADF;
    if (!d->rights && !d->inheriting) {
        d->rights = first_rights(s, d, filetype(s, d));
        d->inheriting = ZV_RIGHTS_ALL;
    }
    if ((base & ~d->rights) || (inh & ~d->inheriting))
        return WE_NOTCAPABLE;
    d->rights = base;
    d->inheriting = inh;
    return WE_SUCCESS;
}

void zv_host_put_stat(zv_ctx *ctx, uint32_t out, const zv_host_stat *st)
{
    memset(ctx->mem + out, 0, 64);
    put64(ctx, out, st->dev);
    put64(ctx, out + 8, st->ino);
    ctx->mem[out + 16] = st->type;
    put64(ctx, out + 24, st->nlink);
    put64(ctx, out + 32, st->size);
    put64(ctx, out + 40, st->atim);
    put64(ctx, out + 48, st->mtim);
    put64(ctx, out + 56, st->ctim);
}

/* A channel opened as a file: its inode number is its index + 1, times
 * zero: nothing here comes from the host, so every run sees the same. */
static void channel_stat(zv_eng_session *s, const zv_io_channel *c, zv_host_stat *st)
{
    memset(st, 0, sizeof *st);
    st->ino = (uint64_t)(c - s->cur->ch) + 1;
    st->type = c->kind == ZV_IO_REGULAR ? 4 : 2;
    st->nlink = 1;
    st->size = (uint64_t)(c->size > 0 ? c->size : 0);
}

static uint32_t wasi_fd_filestat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(s, fd, &d);
    zv_host_stat st;
    uint32_t rc = 0;
    if (!d)
        return WE_BADF;
    if (!MEM_W(ctx, out, 64))
        return WE_FAULT;
    if (d->kind == ZV_FD_HOST) {
        rc = zv_hdir_fstat(d, &st);
    } else if (c) {
        channel_stat(s, c, &st);
    } else {
        zv_host_fd m;
        if (!(rc = zv_host_mem_dir(ctx, d, &m)))
            zv_mfs_fstat(s->mfs, &m, &st);
    }
    if (!rc)
        zv_host_put_stat(ctx, out, &st);
    return rc;
}

static uint32_t wasi_fd_filestat_set_size(zv_ctx *ctx, uint32_t fd, uint64_t size)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    if (d->kind == ZV_FD_CHANNEL || d->type == 3)
        return d->kind == ZV_FD_CHANNEL ? WE_INVAL : WE_BADF;
    if (d->kind == ZV_FD_MEM)
        return zv_mfs_truncate(S(ctx)->mfs, d, size, mem_room(ctx), S(ctx)->clock_ns);
    return zv_hdir_truncate(d, size);
}

static uint32_t wasi_fd_filestat_set_times(zv_ctx *ctx, uint32_t fd, uint64_t atim, uint64_t mtim,
                                           uint32_t fst)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    if (d->kind == ZV_FD_CHANNEL)
        return fst & ~15u ? WE_INVAL : WE_SUCCESS; /* channels have no times to keep */
    if (d->kind == ZV_FD_MEM) {
        zv_host_fd m;
        uint32_t rc = zv_host_mem_dir(ctx, d, &m);
        return rc ? rc : zv_mfs_futimes(&m, atim, mtim, fst, S(ctx)->clock_ns);
    }
    return zv_hdir_futimes(d, atim, mtim, fst);
}

static uint32_t wasi_fd_advise(zv_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len, uint32_t adv)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    if (d->kind != ZV_FD_HOST)
        return adv > 5 ? WE_INVAL : d->type == 3 ? WE_BADF : WE_SUCCESS;
    return zv_hdir_advise(d, off, len, adv);
}

static uint32_t wasi_fd_allocate(zv_ctx *ctx, uint32_t fd, uint64_t off, uint64_t len)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    return d->kind == ZV_FD_HOST ? zv_hdir_allocate(d, off, len) : WE_NOTSUP;
}

/* A channel's writes behind (io/ring.c) are written and waited for: the
 * guest asked for them to be out (a failure stays on the channel, for the
 * totals, and the call says EIO). */
static uint32_t fd_sync(zv_ctx *ctx, uint32_t fd, int data_only)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d = zv_host_fd_get(s, fd);
    if (!d)
        return WE_BADF;
    if (d->kind == ZV_FD_HOST)
        return zv_hdir_sync(d, data_only);
    if (d->kind != ZV_FD_CHANNEL)
        return WE_SUCCESS;
    return zv_io_channel_flush(zv_host_ring(ctx), &s->cur->ch[d->channel]) ? WE_IO : WE_SUCCESS;
}
static uint32_t wasi_fd_sync(zv_ctx *ctx, uint32_t fd) { return fd_sync(ctx, fd, 0); }
static uint32_t wasi_fd_datasync(zv_ctx *ctx, uint32_t fd) { return fd_sync(ctx, fd, 1); }

static uint32_t wasi_fd_prestat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    if (!d || !d->preopen)
        return WE_BADF;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    zv_host_put32(ctx, out, 0); /* preopen type: directory */
    zv_host_put32(ctx, out + 4, (uint32_t)strlen(d->preopen));
    return WE_SUCCESS;
}

static uint32_t wasi_fd_prestat_dir_name(zv_ctx *ctx, uint32_t fd, uint32_t buf, uint32_t len)
{
    zv_host_fd *d = zv_host_fd_get(S(ctx), fd);
    size_t n;
    if (!d || !d->preopen)
        return WE_BADF;
    if (!MEM_W(ctx, buf, len))
        return WE_FAULT;
    n = strlen(d->preopen);
    if (len < n)
        return WE_NAMETOOLONG;
    memcpy(ctx->mem + buf, d->preopen, n);
    return WE_SUCCESS;
}

/* ---- clock, random, scheduling, exit ----------------------------------------------- */

static uint32_t wasi_clock_time_get(zv_ctx *ctx, uint32_t id, uint64_t precision, uint32_t out)
{
    zv_eng_session *s = S(ctx);
    (void)precision;
    if (id > 3)
        return WE_INVAL;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    s->clock_ns += 1000;
    put64(ctx, out, s->clock_ns);
    return WE_SUCCESS;
}

static uint32_t wasi_clock_res_get(zv_ctx *ctx, uint32_t id, uint32_t out)
{
    if (id > 3)
        return WE_INVAL;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    put64(ctx, out, 1000);
    return WE_SUCCESS;
}

/* When clock subscription `sub` falls due, for a clock that reads `now`. */
static uint64_t due(zv_ctx *ctx, uint32_t sub, uint64_t now)
{
    uint64_t timeout;
    uint16_t flags;
    memcpy(&timeout, ctx->mem + sub + 24, 8);
    memcpy(&flags, ctx->mem + sub + 40, 2);
    return flags & 1 ? timeout : now + timeout > now ? now + timeout : UINT64_MAX; /* abstime */
}

/* poll_oneoff. Channels and files never make a guest wait (their data is
 * there, or their end is), so descriptor subscriptions are ready at once:
 * they fire, with the bytes left to read where that is known, and clocks
 * fire only if already due. With clocks alone, the virtual clock jumps to
 * the earliest deadline instead of sleeping, and the clocks due then fire.
 * Subscriptions are 48 bytes, events 32 (preview1 `subscription`, `event`). */
static uint32_t wasi_poll_oneoff(zv_ctx *ctx, uint32_t in, uint32_t out, uint32_t n,
                                 uint32_t n_out_ptr)
{
    zv_eng_session *s = S(ctx);
    uint64_t now = s->clock_ns, wake = UINT64_MAX;
    uint32_t fired = 0;
    if (n == 0)
        return WE_INVAL;
    if (!MEM_R(ctx, in, (uint64_t)n * 48) || !MEM_W(ctx, out, (uint64_t)n * 32) ||
        !MEM_W(ctx, n_out_ptr, 4))
        return WE_FAULT;
    for (uint32_t i = 0; i < n && s->read_armed; i++) { /* waiting to read stdin is reading it */
        uint32_t fd;
        memcpy(&fd, ctx->mem + in + 48 * i + 16, 4);
        if (ctx->mem[in + 48 * i + 8] == 1)
            zv_host_read_probe(ctx, s, zv_host_fd_get(s, fd));
    }
    for (uint32_t i = 0; i < n; i++) { /* the earliest clock, or now if a descriptor is there */
        uint32_t sub = in + 48 * i;
        uint64_t t = ctx->mem[sub + 8] == 0 ? due(ctx, sub, now) : now;
        wake = t < wake ? t : wake;
    }
    if (wake < now)
        wake = now;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t sub = in + 48 * i, ev = out + 32 * fired;
        uint8_t tag = ctx->mem[sub + 8];
        uint64_t userdata, nbytes = 0;
        uint16_t error = 0;
        memcpy(&userdata, ctx->mem + sub, 8);
        if (tag == 0 && due(ctx, sub, now) > wake)
            continue; /* not due yet */
        if (tag == 1 || tag == 2) {
            uint32_t fd;
            zv_host_fd *d;
            zv_io_channel *c;
            memcpy(&fd, ctx->mem + sub + 16, 4);
            c = fd_channel(s, fd, &d);
            if (!d || d->type == 3)
                error = WE_BADF;
            else if (c && tag == 1 && c->mem)
                nbytes = (uint64_t)(c->mem_len > c->read_pos ? c->mem_len - c->read_pos : 0);
            else if (c && tag == 1 && c->kind == ZV_IO_REGULAR)
                nbytes = (uint64_t)(c->size > c->read_pos ? c->size - c->read_pos : 0);
            else
                nbytes = tag == 1;
        } else if (tag > 2) {
            error = WE_INVAL;
        }
        memset(ctx->mem + ev, 0, 32);
        put64(ctx, ev, userdata);
        memcpy(ctx->mem + ev + 8, &error, 2);
        ctx->mem[ev + 10] = tag;
        put64(ctx, ev + 16, nbytes);
        fired++;
    }
    if (wake != UINT64_MAX)
        s->clock_ns = wake; /* the virtual clock jumps instead of sleeping */
    zv_host_put32(ctx, n_out_ptr, fired);
    return WE_SUCCESS;
}

/* splitmix64: seeded and portable (determinism, not cryptography). */
static uint64_t next_random(zv_eng_session *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t wasi_random_get(zv_ctx *ctx, uint32_t buf, uint32_t len)
{
    zv_eng_session *s = S(ctx);
    if (!MEM_W(ctx, buf, len))
        return WE_FAULT;
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t r = next_random(s);
        memcpy(ctx->mem + buf + i, &r, len - i < 8 ? len - i : 8);
    }
    return WE_SUCCESS;
}

static uint32_t wasi_sched_yield(zv_ctx *ctx)
{
    (void)ctx;
    return WE_SUCCESS;
}

static void wasi_proc_exit(zv_ctx *ctx, uint32_t code)
{
    (void)ctx;
    zv_eng_trap(ZV_TRAP_EXIT, (int)code);
}

/* ---- sockets: there are none, so every descriptor is not one ------------------------ */

static uint32_t not_socket(zv_ctx *ctx, uint32_t fd)
{
    return zv_host_fd_get(S(ctx), fd) ? WE_NOTSOCK : WE_BADF;
}
static uint32_t wasi_sock_accept(zv_ctx *ctx, uint32_t fd, uint32_t flags, uint32_t out)
{
    (void)flags, (void)out;
    return not_socket(ctx, fd);
}
static uint32_t wasi_sock_recv(zv_ctx *ctx, uint32_t fd, uint32_t a, uint32_t b, uint32_t c,
                               uint32_t d, uint32_t e)
{
    (void)a, (void)b, (void)c, (void)d, (void)e;
    return not_socket(ctx, fd);
}
static uint32_t wasi_sock_send(zv_ctx *ctx, uint32_t fd, uint32_t a, uint32_t b, uint32_t c,
                               uint32_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return not_socket(ctx, fd);
}
static uint32_t wasi_sock_shutdown(zv_ctx *ctx, uint32_t fd, uint32_t how)
{
    (void)how;
    return not_socket(ctx, fd);
}

/* No signals inside the sandbox (wasmtime does not raise them either). */
static uint32_t wasi_proc_raise(zv_ctx *ctx, uint32_t sig)
{
    (void)ctx, (void)sig;
    return WE_NOSYS;
}

/* Every wasi_snapshot_preview1 call: (name, function, "params:results"). */
#define WASI_CALLS(X)                                                                              \
    X(args_get, wasi_args_get, "ii:i")                                                             \
    X(args_sizes_get, wasi_args_sizes_get, "ii:i")                                                 \
    X(environ_get, wasi_environ_get, "ii:i")                                                       \
    X(environ_sizes_get, wasi_environ_sizes_get, "ii:i")                                           \
    X(clock_res_get, wasi_clock_res_get, "ii:i")                                                   \
    X(clock_time_get, wasi_clock_time_get, "iIi:i")                                                \
    X(fd_advise, wasi_fd_advise, "iIIi:i")                                                         \
    X(fd_allocate, wasi_fd_allocate, "iII:i")                                                      \
    X(fd_close, wasi_fd_close, "i:i")                                                              \
    X(fd_datasync, wasi_fd_datasync, "i:i")                                                        \
    X(fd_fdstat_get, wasi_fd_fdstat_get, "ii:i")                                                   \
    X(fd_fdstat_set_flags, wasi_fd_fdstat_set_flags, "ii:i")                                       \
    X(fd_fdstat_set_rights, wasi_fd_fdstat_set_rights, "iII:i")                                    \
    X(fd_filestat_get, wasi_fd_filestat_get, "ii:i")                                               \
    X(fd_filestat_set_size, wasi_fd_filestat_set_size, "iI:i")                                     \
    X(fd_filestat_set_times, wasi_fd_filestat_set_times, "iIIi:i")                                 \
    X(fd_pread, wasi_fd_pread, "iiiIi:i")                                                          \
    X(fd_prestat_get, wasi_fd_prestat_get, "ii:i")                                                 \
    X(fd_prestat_dir_name, wasi_fd_prestat_dir_name, "iii:i")                                      \
    X(fd_pwrite, wasi_fd_pwrite, "iiiIi:i")                                                        \
    X(fd_read, wasi_fd_read, "iiii:i")                                                             \
    X(fd_readdir, zv_host_fd_readdir, "iiiIi:i")                                                      \
    X(fd_renumber, wasi_fd_renumber, "ii:i")                                                       \
    X(fd_seek, wasi_fd_seek, "iIii:i")                                                             \
    X(fd_sync, wasi_fd_sync, "i:i")                                                                \
    X(fd_tell, wasi_fd_tell, "ii:i")                                                               \
    X(fd_write, wasi_fd_write, "iiii:i")                                                           \
    X(path_create_directory, zv_host_path_create_directory, "iii:i")                                  \
    X(path_filestat_get, zv_host_path_filestat_get, "iiiii:i")                                        \
    X(path_filestat_set_times, zv_host_path_filestat_set_times, "iiiiIIi:i")                          \
    X(path_link, zv_host_path_link, "iiiiiii:i")                                                      \
    X(path_open, zv_host_path_open, "iiiiiIIii:i")                                                    \
    X(path_readlink, zv_host_path_readlink, "iiiiii:i")                                               \
    X(path_remove_directory, zv_host_path_remove_directory, "iii:i")                                  \
    X(path_rename, zv_host_path_rename, "iiiiii:i")                                                   \
    X(path_symlink, zv_host_path_symlink, "iiiii:i")                                                  \
    X(path_unlink_file, zv_host_path_unlink_file, "iii:i")                                            \
    X(poll_oneoff, wasi_poll_oneoff, "iiii:i")                                                     \
    X(proc_exit, wasi_proc_exit, "i:")                                                             \
    X(proc_raise, wasi_proc_raise, "i:i")                                                          \
    X(random_get, wasi_random_get, "ii:i")                                                         \
    X(sched_yield, wasi_sched_yield, ":i")                                                         \
    X(sock_accept, wasi_sock_accept, "iii:i")                                                      \
    X(sock_recv, wasi_sock_recv, "iiiiii:i")                                                       \
    X(sock_send, wasi_sock_send, "iiiii:i")                                                        \
    X(sock_shutdown, wasi_sock_shutdown, "ii:i")

static const zv_host_call calls[] = {
#define X(name, fn, sig) {#name, (void *)fn, sig},
    WASI_CALLS(X)
#undef X
};

const zv_host_namespace zv_host_wasi = {"wasi_snapshot_preview1", calls,
                                        sizeof calls / sizeof calls[0]};
