/*
 * host_wasi.c — `wasi_snapshot_preview1` over the manifest's channels, so stock
 * wasm32-wasi programs run inside ZeroVM's rules.
 *
 * fds 0-2 are the standard channels; fd 3 is a preopened directory "/dev"
 * and path_open("x") under it opens the channel whose alias is "/dev/x".
 * Reads and writes go to the channel (limits, counters, etags apply, so a
 * guest over a limit sees EDQUOT). Time and randomness are virtual: the
 * clock starts at the manifest's Time and advances 1 µs per reading (and
 * by the requested amount in poll_oneoff), random_get is a stream seeded
 * by Seed. Every guest pointer is checked once, on entry. Calls zvm does
 * not implement return ENOSYS; an import that is not a WASI call at all
 * fails at link time with its name.
 */
#include "engine/host_private.h"

#include <errno.h>
#include <string.h>

#define S(ctx) zv_host_session(ctx)
#define MEM_R(ctx, p, n) zv_host_mem_r(ctx, p, n) /* the host reads there */
#define MEM_W(ctx, p, n) zv_host_mem_w(ctx, p, n) /* the host writes there */

static void put32(zv_ctx *ctx, uint32_t at, uint32_t v) { memcpy(ctx->mem + at, &v, 4); }
static void put64(zv_ctx *ctx, uint32_t at, uint64_t v) { memcpy(ctx->mem + at, &v, 8); }
static uint32_t get32(zv_ctx *ctx, uint32_t at)
{
    uint32_t v;
    memcpy(&v, ctx->mem + at, 4);
    return v;
}

/* ---- args and environment -------------------------------------------------------- */

static uint32_t strings_sizes(zv_ctx *ctx, char *const *v, uint32_t n, uint32_t count_ptr,
                              uint32_t size_ptr)
{
    uint64_t bytes = 0;
    if (!MEM_W(ctx, count_ptr, 4) || !MEM_W(ctx, size_ptr, 4))
        return WE_FAULT;
    for (uint32_t i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    put32(ctx, count_ptr, n);
    put32(ctx, size_ptr, (uint32_t)bytes);
    return WE_SUCCESS;
}

static uint32_t strings_get(zv_ctx *ctx, char *const *v, uint32_t n, uint32_t vec_ptr,
                            uint32_t buf_ptr)
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    if (!MEM_W(ctx, vec_ptr, (uint64_t)n * 4) || !MEM_W(ctx, buf_ptr, bytes))
        return WE_FAULT;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        put32(ctx, vec_ptr + 4 * i, buf_ptr);
        memcpy(ctx->mem + buf_ptr, v[i], len);
        buf_ptr += (uint32_t)len;
    }
    return WE_SUCCESS;
}

static uint32_t wasi_args_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    return strings_sizes(ctx, S(ctx)->man->args, S(ctx)->man->n_args, count, size);
}
static uint32_t wasi_args_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    return strings_get(ctx, S(ctx)->man->args, S(ctx)->man->n_args, vec, buf);
}
static uint32_t wasi_environ_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    return strings_sizes(ctx, S(ctx)->man->env, S(ctx)->man->n_env, count, size);
}
static uint32_t wasi_environ_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    return strings_get(ctx, S(ctx)->man->env, S(ctx)->man->n_env, vec, buf);
}

/* ---- descriptors ------------------------------------------------------------------ */

/* The open descriptor fd, or NULL. */
static zv_host_fd *fd_get(zv_eng_session *s, uint32_t fd)
{
    return fd < s->n_fds && s->fds[fd].channel != -2 ? &s->fds[fd] : NULL;
}

static zv_io_channel *fd_channel(zv_eng_session *s, uint32_t fd, zv_host_fd **d)
{
    *d = fd_get(s, fd);
    return *d && (*d)->channel >= 0 ? &s->ch[(*d)->channel] : NULL;
}

/* Gather or scatter over checked iovecs, as one channel call (one get or
 * put); `at` < 0 uses the fd's position for random channels. */
static uint32_t fd_io(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n_iovs, int64_t at,
                      uint32_t done_ptr, int writing)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(s, fd, &d);
    int random = c && (writing ? c->type & 2 : c->type & 1) && !c->stream;
    struct iovec v[ZV_IO_MAX_IOV];
    uint64_t total = 0;
    int64_t n;
    int use_pos = at < 0; /* fd_read/fd_write move a random channel's position */
    if (!c)
        return d ? WE_ISDIR : WE_BADF;
    if (at >= 0 && !random)
        return WE_SPIPE;
    if (!MEM_R(ctx, iovs, (uint64_t)n_iovs * 8) || !MEM_W(ctx, done_ptr, 4))
        return WE_FAULT;
    if (at < 0)
        at = random ? (int64_t)d->pos : 0;
    if (n_iovs > ZV_IO_MAX_IOV)
        n_iovs = ZV_IO_MAX_IOV; /* a short transfer, as POSIX allows */
    for (uint32_t i = 0; i < n_iovs; i++) {
        uint32_t buf = get32(ctx, iovs + 8 * i), len = get32(ctx, iovs + 8 * i + 4);
        if (writing ? !MEM_R(ctx, buf, len) : !MEM_W(ctx, buf, len))
            return WE_FAULT;
        v[i].iov_base = ctx->mem + buf;
        v[i].iov_len = len;
    }
    n = writing ? zv_io_channel_writev(zv_host_ring(ctx), c, v, (int)n_iovs, at)
                : zv_io_channel_readv(zv_host_ring(ctx), c, v, (int)n_iovs, at);
    if (n == -EINTR) /* the deadline passed while it waited: the request is cancelled */
        zv_eng_trap(ZV_TRAP_TIMEOUT, 0);
    if (n < 0)
        return zv_host_errno(n);
    total = (uint64_t)n;
    if (random && use_pos)
        d->pos += total;
    put32(ctx, done_ptr, (uint32_t)total);
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
    zv_host_fd *d = fd_get(S(ctx), fd);
    if (!d)
        return WE_BADF;
    d->channel = -2;
    return WE_SUCCESS;
}

static uint32_t wasi_fd_seek(zv_ctx *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(s, fd, &d);
    int64_t base, to;
    if (!c)
        return d ? WE_ISDIR : WE_BADF;
    if (c->stream || !(c->type & 3))
        return WE_SPIPE; /* sequential channels have no position to set */
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    base = whence == 0 ? 0 : whence == 1 ? (int64_t)d->pos : whence == 2 ? c->size : -1;
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
    if (!c)
        return d ? WE_ISDIR : WE_BADF;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    put64(ctx, out, c->stream || !(c->type & 3) ? 0 : d->pos);
    return WE_SUCCESS;
}

/* filetype: 2 character device, 3 directory, 4 regular file (WASI `filetype`). */
static uint8_t filetype(const zv_io_channel *c)
{
    return !c ? 3 : c->kind == ZV_IO_REGULAR ? 4 : 2;
}

static uint32_t wasi_fd_fdstat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(S(ctx), fd, &d);
    if (!d)
        return WE_BADF;
    if (!MEM_W(ctx, out, 24))
        return WE_FAULT;
    memset(ctx->mem + out, 0, 24);
    ctx->mem[out] = filetype(c);
    put64(ctx, out + 8, ~0ull); /* rights: checked per call against the channel */
    put64(ctx, out + 16, ~0ull);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_filestat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_host_fd *d;
    zv_io_channel *c = fd_channel(S(ctx), fd, &d);
    if (!d)
        return WE_BADF;
    if (!MEM_W(ctx, out, 64))
        return WE_FAULT;
    memset(ctx->mem + out, 0, 64);
    put64(ctx, out + 8, c ? (uint64_t)(c - S(ctx)->ch) + 1 : 0); /* ino: the channel */
    ctx->mem[out + 16] = filetype(c);
    put64(ctx, out + 24, 1); /* nlink */
    put64(ctx, out + 32, c ? (uint64_t)c->size : 0);
    return WE_SUCCESS;
}

static const char dev_dir[] = "/dev";

static uint32_t wasi_fd_prestat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    zv_host_fd *d = fd_get(S(ctx), fd);
    if (!d || d->channel != -1)
        return WE_BADF;
    if (!MEM_W(ctx, out, 8))
        return WE_FAULT;
    put32(ctx, out, 0); /* preopen type: directory */
    put32(ctx, out + 4, sizeof dev_dir - 1);
    return WE_SUCCESS;
}

static uint32_t wasi_fd_prestat_dir_name(zv_ctx *ctx, uint32_t fd, uint32_t buf, uint32_t len)
{
    zv_host_fd *d = fd_get(S(ctx), fd);
    if (!d || d->channel != -1)
        return WE_BADF;
    if (!MEM_W(ctx, buf, len))
        return WE_FAULT;
    memcpy(ctx->mem + buf, dev_dir, len < sizeof dev_dir - 1 ? len : sizeof dev_dir - 1);
    return WE_SUCCESS;
}

/* path_open under /dev: "x" names the channel "/dev/x". */
static uint32_t wasi_path_open(zv_ctx *ctx, uint32_t dirfd, uint32_t dirflags, uint32_t path,
                               uint32_t path_len, uint32_t oflags, uint64_t rights,
                               uint64_t inheriting, uint32_t fdflags, uint32_t fd_out)
{
    zv_eng_session *s = S(ctx);
    zv_host_fd *d = fd_get(s, dirfd);
    char alias[512];
    int ch;
    (void)dirflags, (void)inheriting, (void)fdflags;
    if (!d || d->channel != -1)
        return d ? WE_NOTDIR : WE_BADF;
    if (!MEM_R(ctx, path, path_len) || !MEM_W(ctx, fd_out, 4))
        return WE_FAULT;
    if (path_len + sizeof dev_dir + 1 > sizeof alias || memchr(ctx->mem + path, 0, path_len))
        return WE_NOENT;
    memcpy(alias, "/dev/", 5);
    memcpy(alias + 5, ctx->mem + path, path_len);
    alias[5 + path_len] = 0;
    if ((ch = zv_cfg_find_channel(s->man, alias)) < 0)
        return WE_NOENT;
    if (oflags & 2) /* O_DIRECTORY */
        return WE_NOTDIR;
    if ((oflags & 5) == 5) /* O_CREAT | O_EXCL on an existing channel */
        return WE_EXIST;
    if (((rights & 2) && !s->ch[ch].readable) || ((rights & 64) && !s->ch[ch].writable))
        return WE_ACCES; /* fd_read = bit 1, fd_write = bit 6 */
    for (uint32_t fd = ZV_HOST_DEV_FD + 1; fd < s->n_fds; fd++) {
        if (s->fds[fd].channel != -2)
            continue;
        s->fds[fd].channel = ch;
        s->fds[fd].pos = 0;
        put32(ctx, fd_out, fd);
        return WE_SUCCESS;
    }
    return WE_MFILE;
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

/* poll_oneoff: clock subscriptions only; the virtual clock jumps to the
 * latest deadline instead of sleeping. Subscriptions are 48 bytes, events
 * 32 (wasi_snapshot_preview1 `subscription`, `event`). */
static uint32_t wasi_poll_oneoff(zv_ctx *ctx, uint32_t in, uint32_t out, uint32_t n,
                                 uint32_t n_out_ptr)
{
    zv_eng_session *s = S(ctx);
    uint64_t wake = s->clock_ns;
    if (n == 0)
        return WE_INVAL;
    if (!MEM_R(ctx, in, (uint64_t)n * 48) || !MEM_W(ctx, out, (uint64_t)n * 32) ||
        !MEM_W(ctx, n_out_ptr, 4))
        return WE_FAULT;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t sub = in + 48 * i, ev = out + 32 * i;
        uint64_t userdata, timeout;
        uint16_t flags;
        memcpy(&userdata, ctx->mem + sub, 8);
        memset(ctx->mem + ev, 0, 32);
        put64(ctx, ev, userdata);
        ctx->mem[ev + 10] = ctx->mem[sub + 8]; /* event type = subscription tag */
        if (ctx->mem[sub + 8] != 0) {          /* not a clock: unsupported */
            ctx->mem[ev + 8] = WE_NOSYS;
            continue;
        }
        memcpy(&timeout, ctx->mem + sub + 24, 8);
        memcpy(&flags, ctx->mem + sub + 40, 2);
        timeout = flags & 1 ? timeout : s->clock_ns + timeout; /* abstime flag */
        if (timeout > wake)
            wake = timeout;
    }
    s->clock_ns = wake;
    put32(ctx, n_out_ptr, n);
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

/* ---- the rest: ENOSYS, one stub per signature ------------------------------------------ */
#define I uint32_t
#define L uint64_t
static I nosys_i(zv_ctx *c, I a) { (void)c, (void)a; return WE_NOSYS; }
static I nosys_ii(zv_ctx *c, I a, I b) { (void)c, (void)a, (void)b; return WE_NOSYS; }
static I nosys_iii(zv_ctx *c, I a, I b, I d) { (void)c, (void)a, (void)b, (void)d; return WE_NOSYS; }
static I nosys_iI(zv_ctx *c, I a, L b) { (void)c, (void)a, (void)b; return WE_NOSYS; }
static I nosys_iII(zv_ctx *c, I a, L b, L d) { (void)c, (void)a, (void)b, (void)d; return WE_NOSYS; }
static I nosys_iIIi(zv_ctx *c, I a, L b, L d, I e)
{
    (void)c, (void)a, (void)b, (void)d, (void)e;
    return WE_NOSYS;
}
static I nosys_iiiIi(zv_ctx *c, I a, I b, I d, L e, I f)
{
    (void)c, (void)a, (void)b, (void)d, (void)e, (void)f;
    return WE_NOSYS;
}
static I nosys_iiiii(zv_ctx *c, I a, I b, I d, I e, I f)
{
    (void)c, (void)a, (void)b, (void)d, (void)e, (void)f;
    return WE_NOSYS;
}
static I nosys_iiiiii(zv_ctx *c, I a, I b, I d, I e, I f, I g)
{
    (void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g;
    return WE_NOSYS;
}
static I nosys_iiiiiii(zv_ctx *c, I a, I b, I d, I e, I f, I g, I h)
{
    (void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g, (void)h;
    return WE_NOSYS;
}
static I nosys_iiiiIIi(zv_ctx *c, I a, I b, I d, I e, L f, L g, I h)
{
    (void)c, (void)a, (void)b, (void)d, (void)e, (void)f, (void)g, (void)h;
    return WE_NOSYS;
}
#undef I
#undef L

/* Every wasi_snapshot_preview1 call: (name, function, "params:results"). */
#define WASI_CALLS(X)                                                                              \
    X(args_get, wasi_args_get, "ii:i")                                                             \
    X(args_sizes_get, wasi_args_sizes_get, "ii:i")                                                 \
    X(environ_get, wasi_environ_get, "ii:i")                                                       \
    X(environ_sizes_get, wasi_environ_sizes_get, "ii:i")                                           \
    X(clock_res_get, wasi_clock_res_get, "ii:i")                                                   \
    X(clock_time_get, wasi_clock_time_get, "iIi:i")                                                \
    X(fd_advise, nosys_iIIi, "iIIi:i")                                                             \
    X(fd_allocate, nosys_iII, "iII:i")                                                             \
    X(fd_close, wasi_fd_close, "i:i")                                                              \
    X(fd_datasync, nosys_i, "i:i")                                                                 \
    X(fd_fdstat_get, wasi_fd_fdstat_get, "ii:i")                                                   \
    X(fd_fdstat_set_flags, nosys_ii, "ii:i")                                                       \
    X(fd_fdstat_set_rights, nosys_iII, "iII:i")                                                    \
    X(fd_filestat_get, wasi_fd_filestat_get, "ii:i")                                               \
    X(fd_filestat_set_size, nosys_iI, "iI:i")                                                      \
    X(fd_filestat_set_times, nosys_iIIi, "iIIi:i")                                                 \
    X(fd_pread, wasi_fd_pread, "iiiIi:i")                                                          \
    X(fd_prestat_get, wasi_fd_prestat_get, "ii:i")                                                 \
    X(fd_prestat_dir_name, wasi_fd_prestat_dir_name, "iii:i")                                      \
    X(fd_pwrite, wasi_fd_pwrite, "iiiIi:i")                                                        \
    X(fd_read, wasi_fd_read, "iiii:i")                                                             \
    X(fd_readdir, nosys_iiiIi, "iiiIi:i")                                                          \
    X(fd_renumber, nosys_ii, "ii:i")                                                               \
    X(fd_seek, wasi_fd_seek, "iIii:i")                                                             \
    X(fd_sync, nosys_i, "i:i")                                                                     \
    X(fd_tell, wasi_fd_tell, "ii:i")                                                               \
    X(fd_write, wasi_fd_write, "iiii:i")                                                           \
    X(path_create_directory, nosys_iii, "iii:i")                                                   \
    X(path_filestat_get, nosys_iiiii, "iiiii:i")                                                   \
    X(path_filestat_set_times, nosys_iiiiIIi, "iiiiIIi:i")                                        \
    X(path_link, nosys_iiiiiii, "iiiiiii:i")                                                       \
    X(path_open, wasi_path_open, "iiiiiIIii:i")                                                    \
    X(path_readlink, nosys_iiiiii, "iiiiii:i")                                                     \
    X(path_remove_directory, nosys_iii, "iii:i")                                                   \
    X(path_rename, nosys_iiiiii, "iiiiii:i")                                                       \
    X(path_symlink, nosys_iiiii, "iiiii:i")                                                        \
    X(path_unlink_file, nosys_iii, "iii:i")                                                        \
    X(poll_oneoff, wasi_poll_oneoff, "iiii:i")                                                     \
    X(proc_exit, wasi_proc_exit, "i:")                                                             \
    X(proc_raise, nosys_i, "i:i")                                                                  \
    X(random_get, wasi_random_get, "ii:i")                                                         \
    X(sched_yield, wasi_sched_yield, ":i")                                                         \
    X(sock_accept, nosys_iii, "iii:i")                                                             \
    X(sock_recv, nosys_iiiiii, "iiiiii:i")                                                         \
    X(sock_send, nosys_iiiii, "iiiii:i")                                                           \
    X(sock_shutdown, nosys_ii, "ii:i")

static const zv_host_call calls[] = {
#define X(name, fn, sig) {#name, (void *)fn, sig},
    WASI_CALLS(X)
#undef X
};

const zv_host_namespace zv_host_wasi = {"wasi_snapshot_preview1", calls,
                                        sizeof calls / sizeof calls[0]};
