/*
 * host.h — sessions: the host side of an instance run under a manifest.
 * A session owns the manifest's channels (opened, with limits, counters
 * and etags), its io_uring ring, the WASI descriptor table, the arguments
 * and environment, the virtual clock and the random stream. Pass it as the
 * instance's user pointer and zv_eng_session_resolve as the resolver: it
 * links the `zvm` and `wasi_snapshot_preview1` imports (host_zvm.c,
 * host_wasi.c). These files are the only ones in engine/ that know io/
 * and config/.
 */
#ifndef ZV_ENG_HOST_H
#define ZV_ENG_HOST_H

#include "config/config.h"
#include "engine/engine.h"

typedef struct zv_eng_session zv_eng_session;

/* Open the manifest's channels (paths resolve against its folder) and
 * parse the images it mounts, within its Timeout. The manifest is
 * borrowed and must outlive the session. Returns 0; -ENOTSUP (unsupported
 * source kind, ZeroVM exit 93), -EINVAL (all-zero limits or a bad image,
 * exit 22), -ETIMEDOUT (an image took longer than Timeout), -errno (cannot
 * open); err->msg says which. */
int zv_eng_session_new(const zv_cfg_manifest *m, zv_eng_session **out, zv_eng_err *err);
int zv_eng_session_resolve(void *session, const zv_val_import *im, zv_eng_extern *out);

/* zvm.fork returns what the hook returns (no hook: 0, nothing is forked).
 * The pool's runner sets one (prefork/runner.c). first_read: the point is
 * the guest's first read of stdin (zv_eng_session_fork_on_read), not a
 * zvm.fork call. */
typedef int (*zv_eng_fork_hook)(void *arg, zv_ctx *caller, int first_read);
void zv_eng_session_on_fork(zv_eng_session *s, zv_eng_fork_hook hook, void *arg);
/* With `on`, the guest's first read of its stdin in a run (fd_read or
 * fd_pread of a descriptor on channel 0, a poll_oneoff that waits to read
 * one, zvm.pread of channel 0) calls the hook first, exactly as zvm.fork
 * there would (--snapshot first-read); a zvm.fork call before it is the
 * point instead. Each zv_eng_session_reset arms it again; a restore is
 * past it. Before the point stdin is what the caller bound (the pool: an
 * empty stream, as before zvm_fork()). A mark taken at such a point keeps
 * stdout and stderr as they were too (what the set-up wrote stays the
 * start of every record's output, as in a run from _start), if the
 * restore is on the same channel set. */
void zv_eng_session_fork_on_read(zv_eng_session *s, int on);

/* A run's state (descriptors, the channels' positions and counters, the
 * in-memory files, virtual clock, random stream, sealed pages) has one
 * owner, the session, and one way back for every path (pool records,
 * snapshots, daemon jobs): zv_eng_session_reset puts it back to its start
 * (channels as opened, no files but the mounted images, the manifest's
 * clock and seed), zv_eng_session_restore to a fork point taken with
 * zv_eng_session_mark_take. The standard channels (0-2) are the caller's
 * to bind first; channels of a set other than the mark's (a daemon job's)
 * start as opened. Neither allocates but to copy the fork point's files.
 * Files open under a --dir at the fork point are kept (their host files
 * dup'ed into the mark, each record reading at its own position: a
 * pool's dirs are read-only); the preopens are the session's and every
 * run shares them, so neither takes a syscall. Take returns 0 or -ENOMEM;
 * free accepts NULL. */
typedef struct zv_eng_session_mark zv_eng_session_mark;
int zv_eng_session_mark_take(const zv_eng_session *s, zv_eng_session_mark **out);
void zv_eng_session_restore(zv_eng_session *s, const zv_eng_session_mark *m);
void zv_eng_session_reset(zv_eng_session *s);
void zv_eng_session_mark_free(zv_eng_session_mark *m);

/* Every host call a guest may import: its namespace, name and signature
 * ("params:results" in letters i I f F). For documentation and tests. */
void zv_eng_host_calls(void (*fn)(void *arg, const char *ns, const char *name, const char *sig),
                       void *arg);

/* End of session: close the channels and total their accounting; every
 * channel with its etag flag gets its etag (t->etags is allocated:
 * zv_eng_totals_free). Returns 0 or -ENOMEM. */
typedef struct {
    int64_t gets, get_bytes, puts, put_bytes;
    int64_t limited; /* calls refused or cut short by a limit */
    int64_t lost;    /* channels whose write failed after the guest went on */
    const char *lost_alias; /* the first of them (borrowed), and its errno */
    int lost_errno;
    uint32_t n_etags;
    struct zv_eng_etag {
        const char *alias; /* borrowed from the manifest */
        char hex[65];
    } *etags;
} zv_eng_totals;
int zv_eng_session_finish(zv_eng_session *s, zv_eng_totals *t);
void zv_eng_totals_free(zv_eng_totals *t);
void zv_eng_session_free(zv_eng_session *s); /* accepts NULL */

/* A job's channels (daemon mode): the job manifest's channels, opened on
 * the calling thread with its rights, and the images the daemon's Mount
 * lines name in them (parsed within the job's Timeout), for one run of a
 * session in place of the session's own. The job must fit the daemon's
 * manifest (zv_cfg_job_fits); both are borrowed. Open returns 0 or -errno
 * as zv_eng_session_new. zv_eng_session_use switches a session to c's
 * channels and images, or back to its own with NULL. Finish closes them
 * with totals and etags as zv_eng_session_finish. */
typedef struct zv_eng_channels zv_eng_channels;
int zv_eng_channels_open(const zv_cfg_manifest *daemon, const zv_cfg_manifest *job,
                         zv_eng_channels **out, zv_eng_err *err);
void zv_eng_session_use(zv_eng_session *s, zv_eng_channels *c);
int zv_eng_channels_finish(zv_eng_channels *c, zv_eng_totals *t);
void zv_eng_channels_free(zv_eng_channels *c); /* accepts NULL */

/* Reuse for the pool (no allocation, no syscall): rebind channel `index`
 * to a memory buffer (see zv_io_channel_memory). */
void zv_eng_session_bind(zv_eng_session *s, uint32_t index, void *buf, int64_t len, int64_t cap);
/* The same for a sink that keeps its first `cap` bytes and drops the rest
 * (zv_io_channel_memory_sink): zv_eng_session_dropped counts those. */
void zv_eng_session_bind_sink(zv_eng_session *s, uint32_t index, void *buf, int64_t cap);
int64_t zv_eng_session_dropped(const zv_eng_session *s, uint32_t index);
/* Bytes written to memory channel `index`; calls refused over a limit or
 * cut short by one (either makes a pool record ZVM_LIMIT). */
int64_t zv_eng_session_written(const zv_eng_session *s, uint32_t index);
int64_t zv_eng_session_refused(const zv_eng_session *s);
/* Did this run use channel `index`: open it by path, or read or write it
 * by number? (zvm job reports a connection no instance used.) */
int zv_eng_session_used(const zv_eng_session *s, uint32_t index);
/* /dev is the channels' folder: a file this run made or wrote there that
 * is no channel (or tried to, where its folder is missing) is a device no
 * manifest declared, e.g. a typo'd /dev/out/NAME; its bytes reach no one.
 * /dev/null is not counted.
 * Returns how many such opens, the first one's path in `first` ("" for
 * none; cut to cap bytes). Paths opened from the root (as wasi-libc opens
 * every path) are seen; an open relative to a directory descriptor inside
 * /dev is not. */
uint32_t zv_eng_session_strays(const zv_eng_session *s, char *first, size_t cap);

#endif
