/*
 * channel.c — one manifest channel on the host (ZeroVM semantics).
 *
 * Types: bit 0 of the type makes reads random (at the caller's offset),
 * bit 1 makes writes random; otherwise a channel keeps its own read and
 * write positions. Devices, FIFOs and zvm's own standard streams are
 * streams: they always read and write at the current position. Limits are checked before the call and
 * the request is clamped to what remains, so a call never goes over.
 */
#include "io/io.h"
#include "validator/validator.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IO_BYTES (1 << 30) /* one call moves at most 1 GiB */
#define AHEAD_BYTES (64 << 10)  /* a source's read-ahead (io.h) */

/* zvm's own standard streams: /dev/stdin is fd 0 and so on. Opening the
 * path again would give a second file position (and O_TRUNC a redirected
 * stdout), so they are duplicated instead and used as streams. */
static int std_fd(const char *path)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(path, zv_cfg_std_alias[i]))
            return i;
    return -1;
}

/* Is path (or what it resolves to) in the host's process or kernel state:
 * /proc (e.g. /proc/self/mem), /sys, or the /dev/fd links into it? */
static int host_internals(const char *path)
{
    static const char *const refused[] = {"/proc", "/sys", "/dev/fd"};
    char real[4096];
    const char *both[2] = {path, realpath(path, real) ? real : path};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
            size_t n = strlen(refused[i]);
            if (!strncmp(both[k], refused[i], n) && (both[k][n] == '/' || !both[k][n]))
                return 1;
        }
    return 0;
}

/* The end of both opens: the read-ahead of a source read in order (none
 * if there is no memory for it: only slower), and the etag's hash. */
static int open_etag(const zv_cfg_channel *c, zv_io_channel *ch)
{
    zv_val_sha256_ctx *sha;
    if (ch->readable && !ch->writable && (ch->stream || !(ch->type & 1)))
        ch->ahead = malloc(AHEAD_BYTES);
    if (!c->etag)
        return 0;
    if (!(sha = malloc(sizeof *sha))) {
        close(ch->fd);
        ch->fd = -1;
        free(ch->ahead);
        ch->ahead = NULL;
        return -ENOMEM;
    }
    zv_val_sha256_init(sha);
    ch->sha = sha;
    ch->etag = 1;
    return 0;
}

/* A descriptor the caller opened (a pipe between two instances): a copy
 * of it, used as a stream. */
static int open_shared(const zv_cfg_channel *c, zv_io_channel *ch, char *why, size_t why_len)
{
    if ((ch->fd = fcntl(c->host_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        int e = errno;
        snprintf(why, why_len, "channel %s: cannot share its pipe: %s", c->alias, strerror(e));
        return -e;
    }
    ch->kind = ZV_IO_FIFO;
    ch->stream = 1;
    return open_etag(c, ch);
}

int zv_io_channel_open(const zv_cfg_channel *c, const char *path, zv_io_channel *ch, char *why,
                       size_t why_len)
{
    struct stat st;
    int flags;
    memset(ch, 0, sizeof *ch);
    ch->fd = -1;
    ch->type = (uint8_t)c->type;
    ch->alias = c->alias;
    memcpy(ch->limits, c->limits, sizeof ch->limits);
    ch->readable = c->limits[ZV_CFG_GETS] > 0 && c->limits[ZV_CFG_GETSIZE] > 0;
    ch->writable = c->limits[ZV_CFG_PUTS] > 0 && c->limits[ZV_CFG_PUTSIZE] > 0;
    if (!c->limits[0] && !c->limits[1] && !c->limits[2] && !c->limits[3]) {
        snprintf(why, why_len, "channel %s: all four limits are zero", c->alias);
        return -EINVAL;
    }
    if (c->host_fd > 2) /* a pipe of zvm job's: shared, never opened by path */
        return open_shared(c, ch, why, why_len);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) &&
        !S_ISFIFO(st.st_mode)) {
        snprintf(why, why_len, "channel %s: %s is a %s, an unsupported source", c->alias, path,
                 S_ISDIR(st.st_mode) ? "directory" : S_ISSOCK(st.st_mode) ? "socket" : "special file");
        return -ENOTSUP;
    }
    if (std_fd(path) < 0 && host_internals(path)) {
        snprintf(why, why_len, "channel %s: %s is inside /proc, /sys or /dev/fd: refused (a "
                 "guest must not reach the host's process and kernel state)", c->alias, path);
        return -ENOTSUP;
    }
    flags = ch->readable && ch->writable ? O_RDWR | O_CREAT : ch->writable ? O_WRONLY | O_CREAT
                                                                           : O_RDONLY;
    if (ch->writable && !ch->readable)
        flags |= O_TRUNC;
    ch->fd = std_fd(path);
    if (ch->fd >= 0)
        ch->fd = fcntl(ch->fd, F_DUPFD_CLOEXEC, 3); /* zvm's own stream, shared position */
    else /* non-blocking: opening a FIFO must not wait for its other end */
        ch->fd = open(path, flags | O_CLOEXEC | O_NONBLOCK, 0644);
    if (ch->fd >= 0 && std_fd(path) < 0)
        fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) & ~O_NONBLOCK);
    if (ch->fd < 0 || fstat(ch->fd, &st) < 0) {
        int e = errno;
        snprintf(why, why_len, "channel %s: cannot open %s: %s", c->alias, path,
                 e == ENXIO ? "a FIFO with no reader" : strerror(e));
        if (ch->fd >= 0)
            close(ch->fd);
        ch->fd = -1;
        return -e;
    }
    ch->kind = S_ISREG(st.st_mode) ? ZV_IO_REGULAR : S_ISCHR(st.st_mode) ? ZV_IO_CHAR : ZV_IO_FIFO;
    /* a FIFO read before any writer came would see its end: wait for one first */
    ch->fifo_wait = ch->kind == ZV_IO_FIFO && ch->readable && std_fd(path) < 0;
    ch->stream = ch->kind != ZV_IO_REGULAR || std_fd(path) >= 0;
    ch->tty = ch->kind == ZV_IO_CHAR && isatty(ch->fd);
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        snprintf(why, why_len, "channel %s: %s is an unsupported source", c->alias, path);
        close(ch->fd);
        ch->fd = -1;
        return -ENOTSUP;
    }
    if (!ch->stream) {
        ch->size = st.st_size;
        ch->write_pos = ch->readable ? st.st_size : 0; /* sequential writes append */
        ch->write_start = ch->write_pos;
    }
    return open_etag(c, ch);
}

/* Check the call and byte limits of one direction; clamp *size. */
static int64_t admit(zv_io_channel *ch, int calls, int bytes, int64_t *size)
{
    int64_t left = ch->limits[bytes] - ch->counters[bytes];
    if (ch->counters[calls] >= ch->limits[calls] || left <= 0) {
        ch->refused++;
        return -EDQUOT;
    }
    if (*size > left) { /* a short read is normal; a short write loses output */
        *size = left;
        ch->clamped += bytes == ZV_CFG_PUTSIZE;
    }
    if (*size > MAX_IO_BYTES)
        *size = MAX_IO_BYTES;
    return 0;
}

/* Copy iov into out, cut to `size` bytes in total; returns the count. */
static int clamp_iov(const struct iovec *iov, int n, int64_t size, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < n && size > 0; i++) {
        out[k] = iov[i];
        if ((int64_t)out[k].iov_len > size)
            out[k].iov_len = (size_t)size;
        size -= (int64_t)out[k].iov_len;
        k++;
    }
    return k;
}

static int64_t iov_total(const struct iovec *iov, int n)
{
    int64_t t = 0;
    for (int i = 0; i < n; i++)
        t += (int64_t)iov[i].iov_len;
    return t;
}

/* Count one call and its bytes; hash the bytes moved, in order. */
static void account(zv_io_channel *ch, int calls, int bytes, const struct iovec *iov, int n,
                    int64_t moved)
{
    ch->counters[calls]++;
    ch->counters[bytes] += moved;
    for (int i = 0; ch->etag && i < n && moved > 0; i++) {
        size_t len = (int64_t)iov[i].iov_len < moved ? iov[i].iov_len : (size_t)moved;
        zv_val_sha256_update(ch->sha, iov[i].iov_base, len);
        moved -= (int64_t)len;
    }
}

void zv_io_channel_memory(zv_io_channel *ch, void *buf, int64_t len, int64_t cap)
{
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    free(ch->ahead);
    ch->ahead = NULL;
    ch->kind = ZV_IO_MEMORY;
    ch->stream = ch->tty = 0;
    ch->mem = buf;
    ch->mem_len = len;
    ch->mem_cap = cap;
    ch->mem_dropped = 0;
    ch->mem_sink = 0;
    ch->size = len;
    ch->read_pos = ch->write_pos = 0;
    ch->refused = ch->clamped = 0;
    ch->opened = 0;
    memset(ch->counters, 0, sizeof ch->counters);
}

void zv_io_channel_memory_sink(zv_io_channel *ch, void *buf, int64_t cap)
{
    zv_io_channel_memory(ch, buf, 0, cap);
    ch->mem_sink = 1;
}

void zv_io_channel_rewind(zv_io_channel *ch)
{
    ch->read_pos = 0;
    ch->write_pos = ch->write_start;
    ch->refused = ch->clamped = 0;
    ch->opened = 0;
    memset(ch->counters, 0, sizeof ch->counters);
    if (ch->sha)
        zv_val_sha256_init(ch->sha);
}

int zv_io_channel_keep(const zv_io_channel *ch, zv_io_channel *copy)
{
    *copy = *ch;
    copy->fd = -1;
    copy->ahead = NULL; /* (put_back keeps the channel's own) */
    if (ch->sha && !(copy->sha = malloc(sizeof(zv_val_sha256_ctx))))
        return -ENOMEM;
    if (ch->sha)
        memcpy(copy->sha, ch->sha, sizeof(zv_val_sha256_ctx));
    return 0;
}

void zv_io_channel_put_back(zv_io_channel *ch, const zv_io_channel *copy)
{
    zv_io_channel live = *ch;
    *ch = *copy; /* whole, so that a field added later is put back too */
    ch->fd = live.fd;
    ch->sha = live.sha;
    /* what was read ahead is still the source's bytes at the same offsets,
     * and a stream's bytes already taken do not come again */
    ch->ahead = live.ahead;
    ch->ahead_at = live.ahead_at;
    ch->ahead_len = live.ahead_len;
    ch->stream_pos = live.stream_pos;
    if (ch->sha)
        memcpy(ch->sha, copy->sha, sizeof(zv_val_sha256_ctx));
}

void zv_io_channel_drop(zv_io_channel *copy)
{
    free(copy->sha);
    copy->sha = NULL;
}

/* Memory channels: the same positions and limits, memcpy for the I/O. A
 * write past the end zero-fills the gap, as a file would read it: the
 * buffer is reused from record to record, and a gap must never show what
 * an earlier record wrote. A write cut short by the buffer's end counts as
 * clamped. */
static int64_t memory_io(zv_io_channel *ch, const struct iovec *v, int n, int64_t at, int writing)
{
    int64_t done = 0, want = iov_total(v, n);
    if (writing && at > ch->mem_len)
        memset(ch->mem + ch->mem_len, 0, (size_t)((at < ch->mem_cap ? at : ch->mem_cap) - ch->mem_len));
    for (int i = 0; i < n; i++) {
        int64_t room = (writing ? ch->mem_cap : ch->mem_len) - (at + done);
        int64_t k = (int64_t)v[i].iov_len < room ? (int64_t)v[i].iov_len : room;
        if (room <= 0)
            break; /* (an empty buffer is skipped, not the end) */
        if (writing)
            memcpy(ch->mem + at + done, v[i].iov_base, (size_t)k);
        else
            memcpy(v[i].iov_base, ch->mem + at + done, (size_t)k);
        done += k;
    }
    if (writing && done && at + done > ch->mem_len) /* (a sink past its end keeps nothing) */
        ch->mem_len = at + done;
    if (writing && done < want && ch->mem_sink) { /* kept what fits: the rest is dropped */
        ch->mem_dropped += want - done;
        return want;
    }
    if (writing && done < want)
        ch->clamped++;
    return done;
}

/* Copy `len` bytes from src into v, starting `skip` bytes into it. */
static void iov_put(const struct iovec *v, int n, int64_t skip, const uint8_t *src, int64_t len)
{
    for (int i = 0; i < n && len > 0; i++) {
        int64_t room = (int64_t)v[i].iov_len - skip, k;
        if (room <= 0) {
            skip -= (int64_t)v[i].iov_len;
            continue;
        }
        k = room < len ? room : len;
        memcpy((uint8_t *)v[i].iov_base + skip, src, (size_t)k);
        src += k, len -= k, skip = 0;
    }
}

/* v without its first `skip` bytes, in out; returns the count. */
static int iov_skip(const struct iovec *v, int n, int64_t skip, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        if ((int64_t)v[i].iov_len <= skip) {
            skip -= (int64_t)v[i].iov_len;
            continue;
        }
        out[k].iov_base = (uint8_t *)v[i].iov_base + skip;
        out[k++].iov_len = v[i].iov_len - (size_t)skip;
        skip = 0;
    }
    return k;
}

/* Up to `want` bytes the read-ahead holds at the source's offset `pos`,
 * into v from its byte `skip` on; returns how many. */
static int64_t take_ahead(const zv_io_channel *ch, const struct iovec *v, int n, int64_t skip,
                          int64_t pos, int64_t want)
{
    int64_t off = pos - ch->ahead_at, k = ch->ahead_len - off;
    if (off < 0 || k <= 0)
        return 0;
    k = k < want ? k : want;
    iov_put(v, n, skip, ch->ahead + off, k);
    return k;
}

/* A read of `size` bytes (> 0) into v through the read-ahead: what it
 * holds at the reader's position, then at most one submission, straight
 * into v when what is left is a whole read-ahead or more, else into the
 * buffer. A pipe or device that gave some bytes is not asked again (it
 * may make the call wait). */
static int64_t ahead_read(zv_io_ring *r, zv_io_channel *ch, const struct iovec *v, int n,
                          int64_t size)
{
    int64_t pos = ch->stream ? ch->stream_pos : ch->read_pos, rc;
    int64_t done = take_ahead(ch, v, n, 0, pos, size);
    if (done < size && (!done || ch->kind == ZV_IO_REGULAR)) {
        int64_t at = ch->stream ? -1 : pos + done;
        if (size - done >= AHEAD_BYTES) {
            struct iovec rest[ZV_IO_MAX_IOV];
            if ((rc = zv_io_readv(r, ch->fd, rest, iov_skip(v, n, done, rest), at)) > 0)
                done += rc;
        } else if ((rc = zv_io_read(r, ch->fd, ch->ahead, AHEAD_BYTES, at)) > 0) {
            ch->ahead_at = pos + done;
            ch->ahead_len = rc;
            done += take_ahead(ch, v, n, done, pos + done, size - done);
        }
        if (rc < 0 && !done)
            return rc;
    }
    if (ch->stream)
        ch->stream_pos += done;
    return done;
}

int64_t zv_io_channel_readv(zv_io_ring *r, zv_io_channel *ch, const struct iovec *iov, int n_iov,
                            int64_t offset)
{
    int random = (ch->type & 1) && !ch->stream;
    struct iovec v[ZV_IO_MAX_IOV];
    int64_t size = iov_total(iov, n_iov), at, rc;
    int n;
    if (!ch->readable)
        return -EBADF;
    if (n_iov < 0 || n_iov > ZV_IO_MAX_IOV || size < 0 || (random && offset < 0))
        return -EINVAL;
    if ((rc = admit(ch, ZV_CFG_GETS, ZV_CFG_GETSIZE, &size)))
        return rc;
    n = clamp_iov(iov, n_iov, size, v);
    at = ch->stream ? -1 : random ? offset : ch->read_pos;
    if (ch->fifo_wait && size) {
        if ((rc = zv_io_poll_in(r, ch->fd)) < 0)
            return rc == -EINTR ? -EINTR : -EIO;
        ch->fifo_wait = 0;
    }
    if (ch->kind == ZV_IO_MEMORY)
        rc = memory_io(ch, v, n, at, 0);
    else if (!size)
        rc = 0;
    else
        rc = ch->ahead ? ahead_read(r, ch, v, n, size) : zv_io_readv(r, ch->fd, v, n, at);
    if (rc < 0)
        return rc == -EFAULT || rc == -EINTR ? rc : -EIO;
    if (!random && !ch->stream)
        ch->read_pos += rc;
    account(ch, ZV_CFG_GETS, ZV_CFG_GETSIZE, v, n, rc);
    return rc;
}

int64_t zv_io_channel_writev(zv_io_ring *r, zv_io_channel *ch, const struct iovec *iov, int n_iov,
                             int64_t offset)
{
    int random = (ch->type & 2) && !ch->stream;
    struct iovec v[ZV_IO_MAX_IOV], rest[ZV_IO_MAX_IOV];
    int64_t size = iov_total(iov, n_iov), at, done = 0, rc;
    int n;
    if (!ch->writable)
        return -EBADF;
    if (n_iov < 0 || n_iov > ZV_IO_MAX_IOV || size < 0 || (random && offset < 0))
        return -EINVAL;
    if ((rc = admit(ch, ZV_CFG_PUTS, ZV_CFG_PUTSIZE, &size)))
        return rc;
    n = clamp_iov(iov, n_iov, size, v);
    at = ch->stream ? -1 : random ? offset : ch->write_pos;
    if (ch->kind == ZV_IO_MEMORY)
        done = memory_io(ch, v, n, at, 1);
    while (ch->kind != ZV_IO_MEMORY && done < size) { /* devices and FIFOs may take less per call */
        int k = iov_skip(v, n, done, rest); /* what has not gone out yet */
        int64_t to = at < 0 ? -1 : at + done;
        rc = ch->behind && ch->kind == ZV_IO_REGULAR ? zv_io_write_behind(r, ch->fd, rest, k, to)
                                                     : zv_io_writev(r, ch->fd, rest, k, to);
        if (rc <= 0) {
            if (done)
                break;
            return rc == -EFAULT || rc == -EINTR ? rc : -EIO;
        }
        done += rc;
    }
    if (!random && !ch->stream)
        ch->write_pos += done;
    if (!ch->stream && at + done > ch->size)
        ch->size = at + done;
    account(ch, ZV_CFG_PUTS, ZV_CFG_PUTSIZE, v, n, done); /* (it hashes done bytes of v) */
    return done;
}

int64_t zv_io_channel_read(zv_io_ring *r, zv_io_channel *ch, void *buf, int64_t size,
                           int64_t offset)
{
    struct iovec v = {buf, size < 0 ? 0 : (size_t)size};
    return size < 0 ? -EINVAL : zv_io_channel_readv(r, ch, &v, 1, offset);
}

int64_t zv_io_channel_write(zv_io_ring *r, zv_io_channel *ch, const void *buf, int64_t size,
                            int64_t offset)
{
    struct iovec v = {(void *)buf, size < 0 ? 0 : (size_t)size};
    return size < 0 ? -EINVAL : zv_io_channel_writev(r, ch, &v, 1, offset);
}

int zv_io_channel_flush(zv_io_ring *r, zv_io_channel *ch)
{
    if (r && ch->behind && ch->fd >= 0) {
        int lost = zv_io_flush(r, ch->fd);
        if (!ch->lost)
            ch->lost = lost;
    }
    return ch->lost;
}

int zv_io_channel_close(zv_io_channel *ch, uint8_t out[32])
{
    int filled = 0;
    int64_t unread = ch->ahead ? ch->ahead_at + ch->ahead_len - ch->stream_pos : 0;
    if (ch->stream && ch->kind == ZV_IO_REGULAR && unread > 0) /* give them back (io.h) */
        lseek(ch->fd, -unread, SEEK_CUR); /* (if it fails, they stay read) */
    free(ch->ahead);
    ch->ahead = NULL;
    if (ch->sha) {
        zv_val_sha256_final(ch->sha, out);
        filled = 1;
        free(ch->sha);
        ch->sha = NULL;
    }
    if (ch->fd >= 0)
        close(ch->fd);
    ch->fd = -1;
    return filled;
}
