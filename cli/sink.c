/*
 * sink.c — where a record command's outputs go (zvm batch): a buffer of
 * 1 MiB written through io_uring when full or flushed. A regular file is
 * written as PATH.partial and renamed at the end; see zv_cli_sink_open.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_BUF (1u << 20)

void zv_cli_sink_flush(zv_cli_sink *s)
{
    const uint8_t *p = s->buf;
    size_t n = s->len;
    while (n && !s->failed) {
        ssize_t k = zv_io_write(s->ring, s->fd, p, n, s->off);
        if (k <= 0) {
            s->failed = 1;
            break;
        }
        p += k, n -= (size_t)k;
        if (s->off >= 0)
            s->off += k;
    }
    s->len = 0;
}

void zv_cli_sink_put(zv_cli_sink *s, const void *data, size_t n)
{
    if (s->len + n > OUT_BUF)
        zv_cli_sink_flush(s);
    if (n > OUT_BUF) { /* a large output goes straight out */
        const uint8_t *saved = s->buf;
        s->buf = (uint8_t *)data;
        s->len = n;
        zv_cli_sink_flush(s);
        s->buf = (uint8_t *)saved;
        return;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

/* A regular file (or a new one) is written as PATH.partial, locked while
 * written, and renamed over PATH only when the batch succeeded: a killed
 * or failed batch never leaves a plausible short PATH, and a second batch
 * on the same output is refused instead of mixing in. Devices, FIFOs and
 * "-" are written directly, and so is a file when the input is a stream
 * (`in_place`: a stream may never end, and its outputs must show). */
int zv_cli_sink_open(zv_cli_sink *s, zv_io_ring *ring, const char *path, int in_place, char *why,
                     size_t why_len)
{
    struct stat st;
    s->ring = ring;
    if (!(s->buf = malloc(OUT_BUF)))
        return -ENOMEM;
    if (!path || !strcmp(path, "-")) {
        s->fd = path ? 1 : -1;
        s->off = -1;
        return 0;
    }
    s->off = 0;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        s->fd = open(path, O_WRONLY | O_CLOEXEC);
        s->off = S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) ? -1 : 0;
    } else {
        snprintf(s->partial, sizeof s->partial, "%s%s", path, in_place ? "" : ".partial");
        s->fd = open(s->partial, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (s->fd >= 0 && flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
            snprintf(why, why_len, "%s is being written by another zvm batch (%s is locked)",
                     path, s->partial);
            close(s->fd);
            s->fd = -1;
            return -EBUSY;
        }
        if (s->fd >= 0 && ftruncate(s->fd, 0) < 0) {
            close(s->fd);
            s->fd = -1;
        }
        s->path = in_place ? NULL : path;
    }
    if (s->fd < 0)
        snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
    return s->fd < 0 ? -errno : 0;
}

/* Flush and close; with `commit`, PATH.partial becomes PATH. */
void zv_cli_sink_close(zv_cli_sink *s, int commit)
{
    if (s->fd >= 0)
        zv_cli_sink_flush(s);
    if (s->path && commit && !s->failed && rename(s->partial, s->path) < 0)
        s->failed = 1;
    if (s->fd > 2)
        close(s->fd);
    free(s->buf);
}
