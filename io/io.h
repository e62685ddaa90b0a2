/*
 * io.h — channels and the io_uring rings that drive them.
 *
 * A channel is one manifest Channel line opened on the host: its source
 * (a regular file, a character device or a FIFO), its direction, its
 * limits and counters, its sequential positions and its running etag.
 * Every read and write goes through an io_uring ring owned by the calling
 * thread (one ring per thread, no locks). Limits follow ZeroVM: each call
 * counts one get or put and its bytes; a request larger than what remains
 * is clamped first, and a call over a limit returns -EDQUOT while the
 * instance goes on.
 */
#ifndef ZV_IO_H
#define ZV_IO_H

#include "config/config.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef struct zv_io_ring zv_io_ring;

/* A ring for the calling thread. Returns 0 or -errno. */
int zv_io_ring_new(unsigned entries, zv_io_ring **out);
void zv_io_ring_free(zv_io_ring *r);

/* One read or write through the ring, waiting for its completion.
 * offset -1: the file's current position (devices, FIFOs). Returns bytes
 * or -errno. */
ssize_t zv_io_read(zv_io_ring *r, int fd, void *buf, size_t n, int64_t offset);
ssize_t zv_io_write(zv_io_ring *r, int fd, const void *buf, size_t n, int64_t offset);
ssize_t zv_io_readv(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov, int64_t offset);
/* While *flag is non-zero, a wait that a signal interrupts cancels its
 * request and returns -EINTR (a guest's timeout; the flag is its
 * instance's interruption flag). NULL: waits always go on. */
void zv_io_ring_stop_on(zv_io_ring *r, const volatile uint32_t *flag);
/* The calling thread's wait hook, for a scheduler of instances that wait
 * on each other (zvm job): called with blocked 1 before a wait that has no
 * completion ready, and with 0 when it is over; fd and out (1: a write)
 * say what the request waits on. NULL: none (the default). */
typedef void (*zv_io_wait_hook)(void *arg, int fd, int out, int blocked);
void zv_io_set_wait_hook(zv_io_wait_hook hook, void *arg);
/* Wait until fd is readable (or its writer hung up): 0 or -errno. */
int zv_io_poll_in(zv_io_ring *r, int fd);
/* Asynchronous: start a read (0 or -errno), and wait for the next
 * completion (its result). For readers that keep one read in flight. */
int zv_io_submit_read(zv_io_ring *r, int fd, void *buf, size_t n, int64_t offset);
ssize_t zv_io_wait(zv_io_ring *r);
/* Is a completion waiting (zv_io_wait would not block)? And the ring's
 * descriptor, readable while one is (for poll). */
int zv_io_ready(zv_io_ring *r);
int zv_io_ring_fd(const zv_io_ring *r);
ssize_t zv_io_writev(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov, int64_t offset);
/* A write behind, for regular files: the bytes (up to 256 KiB; a larger
 * write waits) are copied and submitted, and the call returns them all;
 * the completion is taken before the ring's next submission, a short
 * write then finished, so writes stay in order. Writes that come within
 * 1 ms of the last submitted one are gathered, up to 256 KiB, and go as
 * one when the time or the room is up, or another write does not follow
 * them in the same file, at a later write behind or before any other
 * request on the ring. A write behind that failed is returned (-errno) by
 * a write behind on its descriptor once the failure is known, or by
 * zv_io_flush, which writes the gathered writes and waits for the one in
 * flight, then takes the failure of fd, or of any with fd -1; the writes
 * gathered after a failure on the same descriptor are dropped (the file
 * ends where the failure left it). Freeing the ring writes and waits for
 * them too. */
ssize_t zv_io_write_behind(zv_io_ring *r, int fd, const struct iovec *iov, int n_iov,
                           int64_t offset);
int zv_io_flush(zv_io_ring *r, int fd);

enum { ZV_IO_REGULAR = 1, ZV_IO_CHAR = 2, ZV_IO_FIFO = 3, ZV_IO_MEMORY = 4 };

typedef struct zv_io_channel {
    int fd;
    uint8_t kind;      /* ZV_IO_* */
    uint8_t type;      /* ZV_CFG_SEQ_SEQ ... */
    uint8_t readable, writable;
    uint8_t etag;      /* 1: hash the bytes through it */
    uint8_t stream;    /* no positions: a device, FIFO or zvm's own std stream */
    uint8_t tty;       /* a terminal (the guest's isatty() says so) */
    uint8_t behind;    /* writes to a regular file return before they complete
                        * (zv_io_write_behind; its owner waits with zv_io_flush) */
    int lost;          /* such a write that failed after its call returned (-errno) */
    int64_t limits[4]; /* gets, getsize, puts, putsize */
    int64_t counters[4];
    int64_t refused;   /* calls answered -EDQUOT */
    int64_t clamped;   /* writes cut short to the bytes left under a limit */
    int64_t read_pos, write_pos; /* sequential positions (regular files) */
    int64_t write_start; /* write_pos at open (appending channels start at the end) */
    uint8_t fifo_wait;   /* a read FIFO: wait for a writer before the first read */
    int64_t size;      /* bytes of a regular source at open, grows with writes */
    void *sha;         /* running SHA-256 (zv_val_sha256_ctx) when etag */
    const char *alias; /* borrowed from the manifest */
    uint8_t *mem;      /* ZV_IO_MEMORY: the buffer (borrowed) */
    int64_t mem_len, mem_cap; /* bytes to read; room to write */
    int64_t mem_dropped; /* a sink's bytes past mem_cap, taken and not kept */
    uint8_t mem_sink;    /* writes past mem_cap succeed and are dropped (a record's stderr) */
    uint8_t opened;      /* the guest opened it by path in this run (set by the host; a job's
                          * connection that no one opened is reported) */
    uint8_t *ahead;      /* a source read in order: bytes read ahead of the guest, or NULL */
    int64_t ahead_at, ahead_len; /* it holds bytes [ahead_at, ahead_at + ahead_len) */
    int64_t stream_pos;  /* a stream's bytes given to the guest since the open */
} zv_io_channel;

/* Open channel `c` on the host path `path` (already resolved). Regular
 * files that are only written are created and truncated. Returns 0, or
 * -ENOTSUP for a source of an unsupported kind (directory, socket),
 * -EINVAL for all-zero limits, -errno when it cannot be opened; `why`
 * gets a message naming the path and the cause. */
int zv_io_channel_open(const zv_cfg_channel *c, const char *path, zv_io_channel *ch, char *why,
                       size_t why_len);

/* A source read in order (readable, not writable, not random) reads
 * ahead: one submission takes up to 64 KiB, and later calls are served from
 * it (guests' stdio asks for 1 KiB at a time). A call never waits for more
 * bytes of a pipe or device once it has some. Limits and etags count what
 * the guest gets. Closing a stream that is a file (zvm's redirected stdin)
 * moves its position back over the bytes not given; a pipe's are gone, as
 * with any buffered reader. */

/* Read up to `size` bytes at `offset` (ignored by sequential readers).
 * Returns bytes read (0 at the end), -EDQUOT over a limit, -EBADF if the
 * channel is not readable, -EINVAL for a negative offset on a random
 * reader, -EIO. */
int64_t zv_io_channel_read(zv_io_ring *r, zv_io_channel *ch, void *buf, int64_t size,
                           int64_t offset);
/* Write `size` bytes at `offset` (ignored by sequential writers): returns
 * bytes written or the same errors. */
int64_t zv_io_channel_write(zv_io_ring *r, zv_io_channel *ch, const void *buf, int64_t size,
                            int64_t offset);

/* The same over up to ZV_IO_MAX_IOV buffers: one call, one get or put,
 * however many buffers (WASI fd_read/fd_write). */
#define ZV_IO_MAX_IOV 64
int64_t zv_io_channel_readv(zv_io_ring *r, zv_io_channel *ch, const struct iovec *iov, int n_iov,
                            int64_t offset);
int64_t zv_io_channel_writev(zv_io_ring *r, zv_io_channel *ch, const struct iovec *iov, int n_iov,
                             int64_t offset);
/* A channel's writes behind (ch->behind) written and waited for, on ring r
 * (NULL: none): their first failure stays in ch->lost, which is returned
 * (0: none). */
int zv_io_channel_flush(zv_io_ring *r, zv_io_channel *ch);

/* Rebind an open channel to memory (the batch appliance's records): reads
 * come from [buf, buf+len), writes go to [buf, buf+cap) and mem_len counts
 * them. Counters and positions start over; limits, type and etag flag stay.
 * No host source and no ring: an instance's record I/O is memcpy. */
void zv_io_channel_memory(zv_io_channel *ch, void *buf, int64_t len, int64_t cap);
/* The same for a sink (a record's stderr): writes keep their first `cap`
 * bytes and succeed whole, the rest only counted in mem_dropped (the
 * channel's limits still apply). */
void zv_io_channel_memory_sink(zv_io_channel *ch, void *buf, int64_t cap);

/* The pool's input (records.c): records from a file (lines, or len32: a
 * 4-byte little-endian length before each), a directory (one record per
 * regular file, in name order) or "-" (stdin), read through the reader's
 * own io_uring ring with the next chunk prefetched. Records up to
 * max_record bytes come whole; a longer one is skipped and returned with
 * *rec NULL and its length, so the caller can report it and go on. */
typedef struct zv_io_reader zv_io_reader;
int zv_io_reader_open(const char *src, int len32, size_t max_record, zv_io_reader **out,
                      char *why, size_t why_len);
/* The next record: returns 1 and sets *rec and *len (valid until the next
 * call), 0 at the end, or -errno (-EPROTO: a truncated len32 record;
 * -EINVAL: a directory entry that is not a regular file, see
 * zv_io_reader_file). A line keeps its newline. */
int zv_io_reader_next(zv_io_reader *r, const uint8_t **rec, size_t *len);
/* A pipe, FIFO, socket or terminal (not a file or a directory): records
 * come as the writer sends them. zv_io_reader_nonblock makes next return
 * -EAGAIN instead of waiting for bytes that are not there yet (the reader
 * keeps its place, even inside a record), and returns the descriptor to
 * poll for them (its ring's), or -1 for a file or directory, which never
 * wait. */
int zv_io_reader_nonblock(zv_io_reader *r);
/* How far the reader is, as a fraction of its input (0 to 1), or -1 when
 * the input's size is not known (a stream). */
double zv_io_reader_done(const zv_io_reader *r);
/* For a directory: the name of the file read last (for messages), or NULL. */
const char *zv_io_reader_file(const zv_io_reader *r);
void zv_io_reader_free(zv_io_reader *r);

/* ---- Redis Streams (redis*.c): the connector of `zvm consume` ----
 * One blocking connection (hiredis) to the node serving the streams,
 * following Redis Cluster's redirects. Calls return 0 or a count, or
 * -EPIPE (the connection is gone: reconnect and repeat), -EAGAIN (the
 * server is loading its data, busy, or its cluster is moving the slot:
 * wait and repeat), -EACCES (the server refused the password, or wants
 * one), -EPERM (the ACL user lacks a right: `why` names the command),
 * -EINVAL (Redis refused the command; `why` has its text), -EPROTO (an
 * unexpected reply), -ENOMEM. `why` never holds the password. */

/* Where the server is and who we are to it (redis_url.c), from one of
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]   (also without redis://)
 *   rediss://...                                  (TLS)
 *   unix://[[USER]:PASSWORD@]/PATH[?db=N]
 * HOST may be [IPV6]; the port defaults to 6379, DB to 0; USER and
 * PASSWORD may be %XX-encoded. 0, or -EINVAL with why (the URL quoted
 * with its password cut out). */
typedef struct {
    int tls;            /* rediss:// */
    char host[256];     /* TCP: a name or an address ("" for a socket) */
    int port;
    char path[108];     /* unix:// */
    char user[256];     /* "" for the default user */
    char password[1024];
    int has_password;
    unsigned db;
} zv_io_redis_url;
int zv_io_redis_url_parse(const char *url, zv_io_redis_url *u, char *why, size_t n);
/* The URL without its password, for messages: redis://USER@HOST:PORT/DB. */
void zv_io_redis_url_show(const zv_io_redis_url *u, char *out, size_t n);
/* Where the password is in a URL as given: its offset, and *len bytes (0 if none). */
size_t zv_io_redis_url_secret(const char *url, size_t *len);
/* The Redis Cluster slot of a key: CRC16 of its hash tag ({...}) or of it. */
unsigned zv_io_redis_slot(const char *key);

typedef struct {
    const zv_io_redis_url *url;                 /* copied */
    const char *client_name;                    /* CLIENT SETNAME on each connection (spaces
                                                 * and the like as '_'), or NULL */
    const char *ca_file, *cert_file, *key_file; /* rediss:// only: the CAs (NULL: the
                                                 * system's), a client certificate and its key */
} zv_io_redis_opts;
typedef struct zv_io_redis zv_io_redis;
/* Connect, AUTH (USER and PASSWORD, or PASSWORD alone), CLIENT SETNAME,
 * SELECT: 0 with *out, or -errno with why (*out NULL). */
int zv_io_redis_connect(const zv_io_redis_opts *o, zv_io_redis **out, char *why, size_t n);
/* One attempt: the node last used, then the URL's. */
int zv_io_redis_reconnect(zv_io_redis *r, char *why, size_t n);
void zv_io_redis_free(zv_io_redis *r); /* accepts NULL; wipes the password */

/* What Redis Cluster made the connector do so far. */
typedef struct {
    uint64_t moved;    /* MOVED followed: the slot is served elsewhere */
    uint64_t ask;      /* ASK followed: commands sent after ASKING to the importing node */
    uint64_t tryagain; /* TRYAGAIN: the keys were split between two nodes */
    uint64_t noscript; /* NOSCRIPT: a script loaded again where it was missing */
} zv_io_redis_counts;
void zv_io_redis_counts_get(const zv_io_redis *r, zv_io_redis_counts *c);

typedef struct {
    const char *in, *out, *err; /* stream keys */
    const char *group, *consumer;
} zv_io_group;

/* Everything checked before the first read: the three keys in one slot
 * (when the server is a cluster), each a stream or missing (-EINVAL names
 * what it holds), the group (XGROUP CREATE ... 0 MKSTREAM unless it
 * exists), the scripts loaded, and every command the connector sends
 * allowed to this user on these keys (-EPERM naming the first refused).
 * -EAGAIN: repeat later (e.g. the server is loading). */
int zv_io_redis_prepare(zv_io_redis *r, const zv_io_group *g, char *why, size_t n);
/* The rights an ACL user needs besides its keys (e.g. ~{logs}:*): every
 * command the connector sends, checked by zv_io_redis_prepare; and
 * +select with a database other than 0, +asking on Redis Cluster (to
 * follow ASK during a migration; without it the migration is waited out). */
#define ZV_IO_REDIS_ACL                                                                            \
    "+xreadgroup +xack +xadd +xdel +xpending +xrange +xclaim +xinfo|groups +xgroup|create "       \
    "+type +evalsha +script|load +client|setname"

typedef struct {
    const char *id;
    const uint8_t *data; /* the `data` field (valid while its zv_io_entries lives) */
    size_t len;
    int has_data;        /* 0: no `data` field, or the entry was deleted */
    int deleted;         /* 1: deleted from the stream since it was read (still pending) */
    long long deliveries; /* 1 for new entries; see zv_io_redis_deliveries */
} zv_io_entry;
typedef struct zv_io_entries zv_io_entries;
size_t zv_io_entries_count(const zv_io_entries *e); /* accepts NULL */
const zv_io_entry *zv_io_entries_at(const zv_io_entries *e, size_t i);
void zv_io_entries_free(zv_io_entries *e);

/* XREADGROUP of up to `count` entries: new ones (waiting up to block_ms,
 * < 0 not at all) or, with `pending`, this consumer's own pending entries
 * from the start. Returns how many (0: none), *out set when > 0. */
int zv_io_redis_read(zv_io_redis *r, const zv_io_group *g, int pending, unsigned count,
                     int block_ms, zv_io_entries **out, char *why, size_t n);
/* Claim entries idle for min_idle_ms from any consumer, from `cursor`
 * ("0-0" to start; updated, "0-0" again when a round is over), like
 * XAUTOCLAIM but in a script that leaves entries deleted since they were
 * read pending to their consumer and returns them as `deleted` entries
 * (Redis 7's XAUTOCLAIM drops them, and a crash would lose them): the ack
 * step records and acks them. Returns how many. */
int zv_io_redis_claim(zv_io_redis *r, const zv_io_group *g, int64_t min_idle_ms, unsigned count,
                      char cursor[64], zv_io_entries **out, char *why, size_t n);
/* The group's lag: entries not yet delivered plus delivered and not
 * acked (XINFO GROUPS; -1 when Redis cannot say). */
int zv_io_redis_lag(zv_io_redis *r, const zv_io_group *g, long long *lag, char *why, size_t n);
/* Fill the delivery counts of entries this consumer holds (XPENDING). */
int zv_io_redis_deliveries(zv_io_redis *r, const zv_io_group *g, zv_io_entries *e, char *why,
                           size_t n);

/* The ack step, one script call: each result's output (kind 'o': data)
 * or error (kind 'e': cause, detail, data), with its exit code and stderr
 * when they say something, is XADDed, then its input
 * XACKed; an XACK that removed no pending entry (committed before)
 * deletes the entry just written again; kind 's' only acks. Each result
 * is atomic and in order: a write Redis refuses (e.g. OUT retyped, its
 * ids exhausted) returns -EINVAL, `why` naming the stream and Redis'
 * error, with that result and every later one not acked and the earlier
 * ones committed. *written: the entries written, *done: the results
 * committed (also on -EINVAL; n_res on success). */
typedef struct {
    const char *id;
    char kind;
    const char *cause, *detail;
    const void *data;
    size_t len;
    char exit_code[12];      /* the guest's exit code, "" for 0 (then left out) */
    const void *stderr_data; /* its stderr (left out when empty) */
    size_t stderr_len;
} zv_io_result;
int zv_io_redis_commit(zv_io_redis *r, const zv_io_group *g, const zv_io_result *res, size_t n_res,
                       long long *written, size_t *done, char *why, size_t n);

/* Back to its state at open, for the next instance of a pool: positions,
 * counters, refusals and the running etag start over (the source stays). */
void zv_io_channel_rewind(zv_io_channel *ch);

/* A fork point's copy of a channel's state: positions, counters,
 * refusals, size and running etag (the source is not the copy's).
 * zv_io_channel_keep fills `copy` (0 or -ENOMEM); put_back makes `ch`'s
 * state the copy's again, every field but its descriptor and etag
 * buffer, whose bytes are copied (no allocation, no syscall); drop frees
 * the copy's etag buffer. */
int zv_io_channel_keep(const zv_io_channel *ch, zv_io_channel *copy);
void zv_io_channel_put_back(zv_io_channel *ch, const zv_io_channel *copy);
void zv_io_channel_drop(zv_io_channel *copy);

/* Close; with etag on, out gets the SHA-256 of every byte through the
 * channel (reads and writes, in order). Returns 1 if out was filled. */
int zv_io_channel_close(zv_io_channel *ch, uint8_t out[32]);

#endif
