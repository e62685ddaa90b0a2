/*
 * module_read.c — a module file's bytes into a buffer of the file's size,
 * whole or in outline. The outline is every section but the code
 * section's contents and the data segments' payloads: a load whose cache
 * entry is found never reads those (the entry holds the code and the
 * memory image). What is skipped is never written, so a big buffer's
 * pages there (fresh from mmap, as glibc gives buffers of 128 KiB or more
 * at first) are never faulted in. Offsets stay the file's, so the same
 * buffer can be filled whole later.
 */
#include "engine/internal.h"

#include <errno.h>
#include <unistd.h>

#define WINDOW 32 /* a section's or a data segment's header fits (else: read whole) */
#define MAX_SEGMENTS 64

static int read_at(int fd, uint8_t *buf, uint64_t off, uint64_t len)
{
    zv_eng_prefault(buf + off, len); /* (it decides from how many pages it pays) */
    while (len) {
        ssize_t k = pread(fd, buf + off, len, (off_t)off);
        if (k <= 0)
            return k < 0 ? -errno : -EIO; /* shorter than its stat said */
        off += (uint64_t)k;
        len -= (uint64_t)k;
    }
    return 0;
}

int zv_eng_read_whole(int fd, uint8_t *buf, size_t size) { return read_at(fd, buf, 0, size); }

/* An unsigned LEB128 of at most 5 bytes at *p, before end: 0, or -1. */
static int leb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 35 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

/* [pos, end) read up to WINDOW bytes: *p and *w bound what was read. */
static int window(int fd, uint8_t *buf, uint64_t pos, uint64_t end, const uint8_t **p,
                  const uint8_t **w)
{
    uint64_t len = end - pos < WINDOW ? end - pos : WINDOW;
    *p = buf + pos;
    *w = *p + len;
    return read_at(fd, buf, pos, len);
}

/* The data section at [off, end): each segment's header read alone, its
 * payload skipped. 0, 1 when a header is not one clang writes (flags,
 * memory 0, `i32.const n` or `global.get g`, size) or there are more than
 * MAX_SEGMENTS (a read each would cost more than the section), or -errno. */
static int data_headers(int fd, uint8_t *buf, uint64_t off, uint64_t end)
{
    const uint8_t *p, *w;
    uint64_t count, n, v;
    int rc = window(fd, buf, off, end, &p, &w);
    if (rc || leb(&p, w, &count) || count > MAX_SEGMENTS)
        return rc ? rc : 1;
    for (uint64_t i = 0; i < count; i++) { /* each takes 2 bytes or more: ends by `end` */
        if ((rc = window(fd, buf, (uint64_t)(p - buf), end, &p, &w)))
            return rc;
        if (leb(&p, w, &n) || n > 2 || (n == 2 && (leb(&p, w, &v) || v)))
            return 1;
        if (n != 1) { /* active: its offset's expression */
            uint8_t op = p < w ? *p++ : 0;
            if ((op != 0x41 && op != 0x23) || leb(&p, w, &v) || p >= w || *p++ != 0x0b)
                return 1;
        }
        if (leb(&p, w, &n) || n > end - (uint64_t)(p - buf))
            return 1;
        p += n;
    }
    return p == buf + end ? 0 : 1;
}

int zv_eng_read_outline(int fd, uint8_t *buf, size_t size)
{
    uint64_t pos = 8, id, len;
    int rc = read_at(fd, buf, 0, size < 8 ? size : 8);
    while (rc == 0 && pos < size) {
        uint64_t hlen = size - pos < 6 ? size - pos : 6;
        const uint8_t *p = buf + pos + 1;
        if ((rc = read_at(fd, buf, pos, hlen)))
            break;
        id = buf[pos];
        if (leb(&p, buf + pos + hlen, &len) || len > size - (uint64_t)(p - buf))
            break; /* malformed: the validator says how, on the whole file */
        pos = (uint64_t)(p - buf);
        if (id != 10 && (id != 11 || (rc = data_headers(fd, buf, pos, pos + len)) == 1))
            rc = read_at(fd, buf, pos, len); /* (the code section is skipped) */
        pos += len;
    }
    if (rc < 0)
        return rc;
    return pos == size ? 1 : zv_eng_read_whole(fd, buf, size); /* 0: read whole, or -errno */
}
