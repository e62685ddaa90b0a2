/*
 * records.c — the pool's input: a stream of records from a file
 * (newline-delimited, or len32: a 4-byte little-endian length before each
 * record), from a directory (one record per regular file, in name order),
 * or from stdin. Reads go through the reader's io_uring ring in large
 * chunks, and the next chunk is already being read while the current one
 * is split (double buffering: the prefetch that keeps workers fed).
 *
 * Each buffer is two chunks long: reads land in its upper half, and at the
 * switch the unsplit tail of the other buffer (part of one record, at most
 * a chunk) is copied just below, so every record is contiguous. A record
 * longer than a chunk is gathered in a spill buffer instead, up to the
 * record limit; past it the record is skipped to its end and reported by
 * its length alone (rec NULL), so the caller can account for it and go on.
 *
 * A stream (pipe, socket) is split as its bytes come: a read returns
 * what the writer has sent, and in non-blocking mode a record not yet
 * complete answers -EAGAIN, so the caller can run the records it has
 * while the writer is quiet (`tail -F app.log | zvm batch`).
 */
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_BYTES (4u << 20)

struct zv_io_reader {
    zv_io_ring *ring;
    int fd;          /* file or stdin; -1 for a directory */
    int len32;
    size_t max_record;
    int64_t offset;  /* next file offset to read (-1: a stream) */
    int64_t size;    /* a file's size at open (for zv_io_reader_done) */
    uint8_t *buf[2];
    size_t have[2];  /* bytes in each buffer */
    int cur;         /* buffer being split */
    size_t pos;      /* split position in buf[cur] */
    int inflight;    /* a read into buf[!cur] is under way */
    int eof;
    int nonblock;    /* a stream: -EAGAIN rather than wait for a read */
    int in_big;      /* inside a record longer than a chunk (big_want: its length) */
    uint64_t big_want;
    /* a record longer than a chunk */
    uint8_t *spill;
    size_t spill_len, spill_cap, big_len;
    /* directories */
    char *dir;
    struct dirent **names;
    int n_names, next_name;
    uint8_t *file_buf;
    size_t file_cap;
};

static void submit_read(zv_io_reader *r)
{
    int other = !r->cur;
    if (zv_io_submit_read(r->ring, r->fd, r->buf[other] + CHUNK_BYTES, CHUNK_BYTES, r->offset) == 0)
        r->inflight = 1;
}

/* Wait for the read into the other buffer; returns its byte count. */
static ssize_t wait_read(zv_io_reader *r)
{
    r->inflight = 0;
    return zv_io_wait(r->ring);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *d) { return d->d_name[0] != '.'; }

int zv_io_reader_open(const char *src, int len32, size_t max_record, zv_io_reader **out,
                      char *why, size_t why_len)
{
    zv_io_reader *r = calloc(1, sizeof *r);
    struct stat st;
    int rc;
    *out = NULL;
    if (!r)
        return -ENOMEM;
    r->fd = -1;
    r->len32 = len32;
    r->max_record = max_record;
    if ((rc = zv_io_ring_new(4, &r->ring)) < 0) {
        snprintf(why, why_len, "io_uring is not available: %s", strerror(-rc));
        free(r);
        return rc;
    }
    if (!strcmp(src, "-")) {
        r->fd = 0;
        r->offset = -1;
    } else if (stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
        r->n_names = scandir(src, &r->names, not_dot, by_name);
        if (r->n_names < 0 || !(r->dir = strdup(src))) {
            rc = -errno;
            snprintf(why, why_len, "%s: cannot list: %s", src, strerror(errno));
            goto fail;
        }
        *out = r;
        return 0;
    } else if ((r->fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
        /* O_NONBLOCK: a FIFO without a writer must not hang the open */
        rc = -errno;
        snprintf(why, why_len, "%s: cannot open: %s", src, strerror(errno));
        goto fail;
    } else {
        r->offset = S_ISREG(st.st_mode) ? 0 : -1;
        r->size = S_ISREG(st.st_mode) ? st.st_size : 0;
        fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK); /* reads wait for data */
    }
    if (!(r->buf[0] = malloc(2 * CHUNK_BYTES)) || !(r->buf[1] = malloc(2 * CHUNK_BYTES))) {
        rc = -ENOMEM;
        goto fail;
    }
    r->cur = 1; /* the first read goes into buffer 0; buffer 1 starts empty */
    r->pos = r->have[1] = CHUNK_BYTES;
    submit_read(r);
    *out = r;
    return 0;
fail:
    zv_io_reader_free(r);
    return rc;
}

void zv_io_reader_free(zv_io_reader *r)
{
    if (!r)
        return;
    if (r->inflight)
        wait_read(r);
    zv_io_ring_free(r->ring);
    if (r->fd > 0)
        close(r->fd);
    for (int i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    free(r->dir);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r->spill);
    free(r->file_buf);
    free(r);
}

const char *zv_io_reader_file(const zv_io_reader *r)
{
    return r->dir && r->next_name > 0 ? r->names[r->next_name - 1]->d_name : NULL;
}

/* Next file of a directory, read whole through the ring. Only regular
 * files are records (opened without following links or blocking): a
 * FIFO, device or directory inside is an error naming it. */
static int next_file(zv_io_reader *r, const uint8_t **rec, size_t *len)
{
    char path[4096];
    struct stat st;
    size_t got = 0;
    int fd;
    if (r->next_name >= r->n_names)
        return 0;
    snprintf(path, sizeof path, "%s/%s", r->dir, r->names[r->next_name++]->d_name);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)) < 0 || fstat(fd, &st) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return rc == -ELOOP ? -EINVAL : rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > r->max_record) { /* reported by its size, not read */
        close(fd);
        *rec = NULL;
        *len = (size_t)st.st_size;
        return 1;
    }
    if ((size_t)st.st_size + 1 > r->file_cap) {
        uint8_t *p = realloc(r->file_buf, (size_t)st.st_size + 1);
        if (!p) {
            close(fd);
            return -ENOMEM;
        }
        r->file_buf = p;
        r->file_cap = (size_t)st.st_size + 1;
    }
    while (got < (size_t)st.st_size) { /* a read may return less */
        ssize_t k = zv_io_read(r->ring, fd, r->file_buf + got, (size_t)st.st_size - got,
                               (int64_t)got);
        if (k < 0) {
            close(fd);
            return (int)k;
        }
        if (k == 0)
            break; /* the file shrank meanwhile: what is there is the record */
        got += (size_t)k;
    }
    close(fd);
    *rec = r->file_buf;
    *len = got;
    return 1;
}

/* Bring the next chunk in: the unsplit tail of the current buffer goes
 * just below the new bytes in the buffer the read went into. The caller
 * made sure the tail fits (at most a chunk). */
static int next_chunk(zv_io_reader *r)
{
    int other = !r->cur;
    size_t tail = r->have[r->cur] - r->pos;
    ssize_t got;
    if (r->eof)
        return 0;
again:
    if (r->nonblock && r->inflight && !zv_io_ready(r->ring))
        return -EAGAIN;
    got = r->inflight ? wait_read(r) : 0;
    if (got == -ECANCELED) {
        /* the thread that asked for it ended (a pool's worker fed it, and a
         * reload freed that pool): the kernel cancels such reads, which
         * took nothing; ask again from this one */
        submit_read(r);
        goto again;
    }
    if (got < 0)
        return (int)got;
    if (got == 0)
        r->eof = 1;
    memcpy(r->buf[other] + CHUNK_BYTES - tail, r->buf[r->cur] + r->pos, tail);
    r->pos = CHUNK_BYTES - tail;
    r->have[other] = CHUNK_BYTES + (size_t)got;
    if (r->offset >= 0)
        r->offset += got;
    r->cur = other;
    if (!r->eof) /* prefetch the next chunk while this one is split */
        submit_read(r);
    return 1;
}

/* Take n bytes of the current buffer into the spill (as far as the record
 * limit allows: past it they only count). */
static int spill(zv_io_reader *r, size_t n)
{
    size_t keep = r->big_len + n <= r->max_record ? n : 0;
    if (keep && r->spill_len + keep > r->spill_cap) {
        size_t cap = r->spill_cap ? r->spill_cap : CHUNK_BYTES;
        uint8_t *p;
        while (cap < r->spill_len + keep)
            cap *= 2;
        if (!(p = realloc(r->spill, cap)))
            return -ENOMEM;
        r->spill = p;
        r->spill_cap = cap;
    }
    if (keep)
        memcpy(r->spill + r->spill_len, r->buf[r->cur] + r->pos, keep);
    else
        r->spill_len = 0; /* over the limit: the bytes are dropped */
    r->spill_len += keep;
    r->big_len += n;
    r->pos += n;
    return 0;
}

/* The spilled record as the result (rec NULL when it went over the limit). */
static int spilled(zv_io_reader *r, const uint8_t **rec, size_t *len)
{
    *rec = r->big_len <= r->max_record ? r->spill : NULL;
    *len = r->big_len;
    r->big_len = r->spill_len = 0;
    r->in_big = 0;
    return 1;
}

/* A record longer than what the buffers hold at once: gather it chunk by
 * chunk. `want` is its length (len32), or 0 for a line (up to a newline). */
static int big_record(zv_io_reader *r, uint64_t want, const uint8_t **rec, size_t *len)
{
    r->in_big = 1; /* an -EAGAIN below comes back here (zv_io_reader_next) */
    r->big_want = want;
    for (;;) {
        size_t avail = r->have[r->cur] - r->pos;
        int rc;
        if (want) {
            size_t n = want - r->big_len < avail ? (size_t)(want - r->big_len) : avail;
            if ((rc = spill(r, n)))
                return rc;
            if (r->big_len == want)
                return spilled(r, rec, len);
        } else {
            const uint8_t *nl = memchr(r->buf[r->cur] + r->pos, '\n', avail);
            if ((rc = spill(r, nl ? (size_t)(nl - (r->buf[r->cur] + r->pos)) + 1 : avail)))
                return rc;
            if (nl || r->eof)
                return spilled(r, rec, len);
        }
        if (r->eof)
            return -EPROTO; /* a len32 record cut short by the end */
        if ((rc = next_chunk(r)) < 0)
            return rc;
    }
}

double zv_io_reader_done(const zv_io_reader *r)
{
    if (r->dir)
        return r->n_names ? (double)r->next_name / r->n_names : 1;
    if (r->offset < 0 || r->size <= 0)
        return -1;
    /* the bytes split so far: read, less what the buffers still hold */
    return (double)(r->offset - (int64_t)(r->have[r->cur] - r->pos)) / (double)r->size;
}

int zv_io_reader_nonblock(zv_io_reader *r)
{
    r->nonblock = !r->dir && r->offset < 0;
    return r->nonblock ? zv_io_ring_fd(r->ring) : -1;
}

int zv_io_reader_next(zv_io_reader *r, const uint8_t **rec, size_t *len)
{
    if (r->dir)
        return next_file(r, rec, len);
    if (r->in_big)
        return big_record(r, r->big_want, rec, len);
    for (;;) {
        uint8_t *b = r->buf[r->cur] + r->pos;
        size_t avail = r->have[r->cur] - r->pos;
        int rc;
        if (r->len32 && avail >= 4) {
            uint32_t n = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            if (avail - 4 >= n) {
                *rec = n <= r->max_record ? b + 4 : NULL;
                *len = n;
                r->pos += 4 + (size_t)n;
                return 1;
            }
            if (n > CHUNK_BYTES - 4) { /* cannot be made contiguous here */
                r->pos += 4;
                return big_record(r, n, rec, len);
            }
        } else if (!r->len32 && avail) {
            uint8_t *nl = memchr(b, '\n', avail);
            if (nl || (r->eof && avail)) {
                *len = nl ? (size_t)(nl - b) + 1 : avail;
                *rec = *len <= r->max_record ? b : NULL;
                r->pos += *len;
                return 1;
            }
            if (avail > CHUNK_BYTES) /* a line longer than a chunk */
                return big_record(r, 0, rec, len);
        }
        if (r->eof) /* a partial len32 record at the very end is malformed input */
            return avail ? -EPROTO : 0;
        if ((rc = next_chunk(r)) < 0)
            return rc;
    }
}
