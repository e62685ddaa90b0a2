/*
 * ring.c — a thread's io_uring ring. Channel I/O here is synchronous from
 * the guest's point of view (a host call returns its bytes), so each call
 * submits one entry and waits for its completion: one io_uring_enter per
 * call; a write behind (to a regular file) is the exception, its
 * completion taken before the next submission. The record reader builds
 * its prefetch on the same ring.
 *
 * A wait can be stopped: a read from a pipe with no data may block for
 * ever, and a guest's Timeout must still hold. The watchdog's signal
 * interrupts the wait (EINTR); if the ring's stop flag is raised by then,
 * the request is cancelled (IORING_OP_ASYNC_CANCEL) and the call returns
 * -EINTR; otherwise the wait goes on.
 */
#include "io/io.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define LOST_MAX 16 /* descriptors whose failures are kept; nearly full: writes wait */

struct zv_io_ring {
    struct io_uring ring;
    const volatile uint32_t *stop; /* raised: give up waiting (see above) */
    int fd, out;                   /* the request in flight: its descriptor, a write? */
    int reading;                   /* a zv_io_submit_read not yet waited for */
    uint8_t *behind;               /* a write behind's bytes (BEHIND_BYTES), or NULL */
    int behind_fd;                 /* its descriptor while one is in flight, else -1 */
    size_t behind_len;
    int64_t behind_at;
    uint8_t *pend;                 /* writes behind gathered while one is in flight */
    int pend_fd;                   /* their descriptor, or -1: none */
    size_t pend_len;
    int64_t pend_at;               /* where they go (-1: the file's position) */
    uint64_t launched_ns;          /* when the last write behind was submitted */
    struct {
        int fd, err;               /* a descriptor whose write behind failed, and -errno */
    } lost[LOST_MAX];              /* the first failure of each, until it is told */
    uint32_t n_lost;
};

/* The calling thread's wait hook (zv_io_set_wait_hook): NULL nearly always. */
static _Thread_local zv_io_wait_hook tl_hook;
static _Thread_local void *tl_hook_arg;

void zv_io_set_wait_hook(zv_io_wait_hook hook, void *arg)
{
    tl_hook = hook;
    tl_hook_arg = arg;
}

#define REQUEST 1 /* user_data of a request, 2 of its cancellation, 3 of a write behind */
#define BEHIND 3
#define BEHIND_BYTES (256u << 10) /* a larger write waits for its completion */
#define GATHER_NS 1000000u        /* writes behind closer than this to the last are gathered */

/* Work queued on a ring runs in the kernel, out of seccomp's sight, so a
 * ring is restricted from birth (IORING_SETUP_R_DISABLED, then
 * IORING_REGISTER_RESTRICTIONS) to the operations zvm's I/O is made of:
 * reads and writes on descriptors zvm opened, a poll (a FIFO's writer) and
 * the cancellation of its own request. No open, no connect, no splice, no
 * further io_uring_register. */
static int restrict_ring(struct io_uring *ring)
{
    static const uint8_t ops[] = {IORING_OP_READ,     IORING_OP_WRITE,        IORING_OP_READV,
                                  IORING_OP_WRITEV,   IORING_OP_POLL_ADD,     IORING_OP_ASYNC_CANCEL,
                                  IORING_OP_NOP};
    struct io_uring_restriction res[sizeof ops];
    memset(res, 0, sizeof res);
    for (size_t i = 0; i < sizeof ops; i++) {
        res[i].opcode = IORING_RESTRICTION_SQE_OP;
        res[i].sqe_op = ops[i];
    }
    /* the raw syscall: Debian 12's liburing 2.3 declares the two wrappers
     * but its shared library does not export them */
    if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
                (unsigned)sizeof ops) < 0 ||
        syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    return 0;
}

int zv_io_ring_new(unsigned entries, zv_io_ring **out)
{
    zv_io_ring *r = calloc(1, sizeof *r);
    int rc;
    if (!r)
        return -ENOMEM;
    if ((rc = io_uring_queue_init(entries, &r->ring, IORING_SETUP_R_DISABLED)) < 0) {
        free(r);
        return rc;
    }
    if ((rc = restrict_ring(&r->ring)) < 0) {
        io_uring_queue_exit(&r->ring);
        free(r);
        return rc;
    }
    r->behind_fd = r->pend_fd = -1;
    *out = r;
    return 0;
}

static void drain(zv_io_ring *r);

void zv_io_ring_free(zv_io_ring *r)
{
    if (!r)
        return;
    drain(r); /* (a request still queued would be cancelled by the exit) */
    io_uring_queue_exit(&r->ring);
    free(r->behind);
    free(r->pend);
    free(r);
}

void zv_io_ring_stop_on(zv_io_ring *r, const volatile uint32_t *flag) { r->stop = flag; }

/* Cancel the request in flight and take both completions. */
static void cancel(zv_io_ring *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    struct io_uring_cqe *cqe = NULL;
    int seen = 0, rc;
    if (!sqe)
        return;
    io_uring_prep_cancel64(sqe, REQUEST, 0);
    io_uring_sqe_set_data64(sqe, REQUEST + 1);
    io_uring_submit(&r->ring);
    while (seen < 2) { /* the request's completion (-ECANCELED, or done) and the cancel's */
        if ((rc = io_uring_wait_cqe(&r->ring, &cqe)) == -EINTR)
            continue;
        if (rc < 0)
            return;
        seen += cqe->user_data != BEHIND; /* (a write behind's that failed to submit) */
        io_uring_cqe_seen(&r->ring, cqe);
    }
}

static ssize_t wait_plain(zv_io_ring *r);

ssize_t zv_io_wait(zv_io_ring *r)
{
    struct io_uring_cqe *cqe;
    ssize_t res;
    r->reading = 0;
    if (tl_hook && io_uring_peek_cqe(&r->ring, &cqe) != 0) { /* it would block */
        tl_hook(tl_hook_arg, r->fd, r->out, 1);
        res = wait_plain(r);
        tl_hook(tl_hook_arg, r->fd, r->out, 0);
        return res;
    }
    return wait_plain(r);
}

static ssize_t wait_plain(zv_io_ring *r)
{
    struct io_uring_cqe *cqe;
    ssize_t res;
    int rc;
    for (;;) {
        while ((rc = io_uring_wait_cqe(&r->ring, &cqe)) == -EINTR)
            if (r->stop && *r->stop) {
                cancel(r);
                return -EINTR;
            }
        if (rc < 0)
            return rc;
        res = cqe->res;
        if (cqe->user_data != BEHIND) /* (a write behind's that failed to submit: passed over) */
            break;
        io_uring_cqe_seen(&r->ring, cqe);
    }
    io_uring_cqe_seen(&r->ring, cqe);
    return res;
}

int zv_io_ready(zv_io_ring *r)
{
    struct io_uring_cqe *cqe;
    return io_uring_peek_cqe(&r->ring, &cqe) == 0;
}

int zv_io_ring_fd(const zv_io_ring *r) { return r->ring.ring_fd; }

/* ---- writes behind: a write to a regular file is submitted and the
 * call returns; its completion is taken before the ring's next
 * submission. Buffered writes to ext4 cannot be done without blocking, so
 * io_uring hands each to a kernel worker: waiting for it costs two
 * context switches per write (minigzip writing 32 MB in 16 KiB writes:
 * 186 ms waiting for each, 110 ms with writes behind), and even unwaited
 * each write wakes the worker, which sleeps again (two more). So writes
 * that follow the last submitted one by less than GATHER_NS are gathered
 * (up to BEHIND_BYTES, while they continue one another in the same file)
 * and go together: the worker takes 256 KiB at a time from a program that
 * streams its output (perf/README.md "Writes behind, gathered"), and a
 * slower writer's each write goes at once. One write behind is in flight
 * at a time, which keeps the writes in order. Any other request on the
 * ring, zv_io_flush (the guest's fd_sync, the session's end) and freeing
 * the ring write the gathered ones first. */

static ssize_t complete(zv_io_ring *r);

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One write, submitted and waited for (nothing else is in flight). */
static ssize_t write_now(zv_io_ring *r, int fd, const void *buf, size_t n, int64_t offset)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    r->fd = fd, r->out = 1;
    if (!sqe)
        return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, (unsigned)n, (uint64_t)offset);
    io_uring_sqe_set_data64(sqe, REQUEST);
    return complete(r);
}

/* Where the failure kept for fd (any with fd -1) is, or -1. */
static int failure_of(const zv_io_ring *r, int fd)
{
    for (uint32_t i = 0; i < r->n_lost; i++)
        if (fd < 0 || r->lost[i].fd == fd)
            return (int)i;
    return -1;
}

/* That failure, taken: told once; or 0. */
static int take_failure(zv_io_ring *r, int fd)
{
    int i = failure_of(r, fd), err;
    if (i < 0)
        return 0;
    err = r->lost[i].err;
    r->lost[i] = r->lost[--r->n_lost];
    return err;
}

/* The write behind after `res` of its bytes went: the rest written now
 * (a short write goes on from where it stopped); a failure is kept for
 * its descriptor, its first one (writes behind wait while the table is
 * nearly full, so there is room for the one in flight and the gathered). */
static void finish(zv_io_ring *r, ssize_t res)
{
    int fd = r->behind_fd;
    size_t done = 0;
    r->behind_fd = -1;
    while (res > 0 && (done += (size_t)res) < r->behind_len)
        res = write_now(r, fd, r->behind + done, r->behind_len - done,
                        r->behind_at < 0 ? -1 : r->behind_at + (int64_t)done);
    if (res <= 0 && failure_of(r, fd) < 0 && r->n_lost < LOST_MAX)
        r->lost[r->n_lost].fd = fd, r->lost[r->n_lost++].err = res < 0 ? (int)res : -EIO;
}

/* Wait for the write behind in flight, if any, and finish it. */
static void settle(zv_io_ring *r)
{
    struct io_uring_cqe *cqe;
    ssize_t res;
    int rc;
    if (r->behind_fd < 0)
        return;
    while ((rc = io_uring_wait_cqe(&r->ring, &cqe)) == -EINTR) /* a file write: not for long */
        ;
    res = rc;
    if (rc == 0) {
        res = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
    }
    finish(r, res);
}

/* The gathered writes become the write behind in flight, once the one
 * before them is done; dropped if that one failed on their descriptor
 * (the file ends where the failure left it, and the failure is told). */
static void launch(zv_io_ring *r)
{
    struct io_uring_sqe *sqe;
    uint8_t *b = r->behind;
    int rc = -EBUSY;
    settle(r);
    if (r->pend_fd < 0 || failure_of(r, r->pend_fd) >= 0) {
        r->pend_fd = -1, r->pend_len = 0;
        return;
    }
    r->behind = r->pend, r->pend = b;
    r->behind_fd = r->pend_fd, r->behind_len = r->pend_len, r->behind_at = r->pend_at;
    r->pend_fd = -1, r->pend_len = 0;
    if ((sqe = io_uring_get_sqe(&r->ring))) {
        io_uring_prep_write(sqe, r->behind_fd, r->behind, (unsigned)r->behind_len,
                            (uint64_t)r->behind_at);
        io_uring_sqe_set_data64(sqe, BEHIND);
        if ((rc = io_uring_submit(&r->ring)) >= 0) {
            r->launched_ns = now_ns();
            return;
        }
    }
    /* not submitted: a failure (not written again here, since the entry may
     * still go with the next submission; its completion is then passed
     * over: zv_io_wait and cancel take only a request's) */
    finish(r, rc);
}

/* Every write behind done: the one in flight, then the gathered ones. */
static void drain(zv_io_ring *r)
{
    launch(r);
    settle(r);
}

static struct io_uring_sqe *next_sqe(zv_io_ring *r)
{
    drain(r);
    return io_uring_get_sqe(&r->ring);
}

/* Does a write of fd at offset continue the gathered ones? */
static int continues(const zv_io_ring *r, int fd, int64_t offset)
{
    return fd == r->pend_fd && (offset < 0 ? r->pend_at < 0
                                           : r->pend_at >= 0 && offset == r->pend_at +
                                                                           (int64_t)r->pend_len);
}

ssize_t zv_io_write_behind(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov,
                           int64_t offset)
{
    struct io_uring_cqe *cqe;
    size_t len = 0;
    int lost = take_failure(r, fd);
    if (lost) /* an earlier one failed: told once */
        return lost;
    for (int i = 0; i < n_iov; i++)
        len += iov[i].iov_len;
    /* a scheduler's wait hook must see every wait, a read in flight would
     * take the completion, and the failures kept need room for two more:
     * then, and for a large write, it waits */
    if (len > BEHIND_BYTES || tl_hook || r->reading || r->n_lost >= LOST_MAX - 1 ||
        (!r->behind && !(r->behind = malloc(BEHIND_BYTES))) ||
        (!r->pend && !(r->pend = malloc(BEHIND_BYTES))))
        return zv_io_writev(r, fd, iov, n_iov, offset);
    if (r->pend_fd >= 0 && (!continues(r, fd, offset) || r->pend_len + len > BEHIND_BYTES))
        launch(r);
    if (r->pend_fd < 0)
        r->pend_fd = fd, r->pend_at = offset;
    for (int i = 0; i < n_iov; i++) {
        memcpy(r->pend + r->pend_len, iov[i].iov_base, iov[i].iov_len);
        r->pend_len += iov[i].iov_len;
    }
    if (now_ns() - r->launched_ns >= GATHER_NS &&
        (r->behind_fd < 0 || io_uring_peek_cqe(&r->ring, &cqe) == 0)) /* none in flight now */
        launch(r);
    return (ssize_t)len;
}

int zv_io_flush(zv_io_ring *r, int fd)
{
    drain(r);
    return take_failure(r, fd);
}

static ssize_t complete(zv_io_ring *r)
{
    int rc = io_uring_submit(&r->ring);
    return rc < 0 ? rc : zv_io_wait(r);
}

int zv_io_submit_read(zv_io_ring *r, int fd, void *buf, size_t n, int64_t offset)
{
    struct io_uring_sqe *sqe = next_sqe(r);
    r->fd = fd, r->out = 0;
    if (!sqe)
        return -EBUSY;
    io_uring_prep_read(sqe, fd, buf, (unsigned)n, (uint64_t)offset);
    io_uring_sqe_set_data64(sqe, REQUEST);
    if (io_uring_submit(&r->ring) < 0)
        return -EIO;
    r->reading = 1;
    return 0;
}

int zv_io_poll_in(zv_io_ring *r, int fd)
{
    struct io_uring_sqe *sqe = next_sqe(r);
    r->fd = fd, r->out = 0;
    ssize_t rc;
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, REQUEST);
    rc = complete(r);
    return rc < 0 ? (int)rc : 0;
}

ssize_t zv_io_read(zv_io_ring *r, int fd, void *buf, size_t n, int64_t offset)
{
    int rc = zv_io_submit_read(r, fd, buf, n, offset);
    return rc < 0 ? rc : zv_io_wait(r);
}

ssize_t zv_io_write(zv_io_ring *r, int fd, const void *buf, size_t n, int64_t offset)
{
    drain(r);
    return write_now(r, fd, buf, n, offset);
}

ssize_t zv_io_readv(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov, int64_t offset)
{
    struct io_uring_sqe *sqe = next_sqe(r);
    r->fd = fd, r->out = 0;
    if (!sqe)
        return -EBUSY;
    io_uring_prep_readv(sqe, fd, iov, (unsigned)n_iov, (uint64_t)offset);
    io_uring_sqe_set_data64(sqe, REQUEST);
    return complete(r);
}

ssize_t zv_io_writev(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov, int64_t offset)
{
    struct io_uring_sqe *sqe = next_sqe(r);
    r->fd = fd, r->out = 1;
    if (!sqe)
        return -EBUSY;
    io_uring_prep_writev(sqe, fd, iov, (unsigned)n_iov, (uint64_t)offset);
    io_uring_sqe_set_data64(sqe, REQUEST);
    return complete(r);
}
