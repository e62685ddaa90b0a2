/*
 * host_private.h — private to the host call files (host_session.c,
 * host_wasi.c, host_zvm.c): the session behind an instance's host calls,
 * and the one place guest pointers are checked.
 */
#ifndef ZV_ENG_HOST_PRIVATE_H
#define ZV_ENG_HOST_PRIVATE_H

#include "engine/host.h"
#include "engine/internal.h"
#include "io/io.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The errno numbers guests see (wasi_snapshot_preview1 `errno`, which
 * wasi-libc's <errno.h> also uses), with the Linux errno each stands for:
 * one table for both namespaces. WE_SUCCESS is 0. */
#define ZV_HOST_ERRNOS(X)                                                                          \
    X(2BIG, E2BIG, 1)                                                                              \
    X(ACCES, EACCES, 2)                                                                            \
    X(AGAIN, EAGAIN, 6)                                                                            \
    X(BADF, EBADF, 8)                                                                              \
    X(BUSY, EBUSY, 10)                                                                             \
    X(DQUOT, EDQUOT, 19)                                                                           \
    X(EXIST, EEXIST, 20)                                                                           \
    X(FAULT, EFAULT, 21)                                                                           \
    X(FBIG, EFBIG, 22)                                                                             \
    X(ILSEQ, EILSEQ, 25)                                                                           \
    X(INTR, EINTR, 27)                                                                             \
    X(INVAL, EINVAL, 28)                                                                           \
    X(IO, EIO, 29)                                                                                 \
    X(ISDIR, EISDIR, 31)                                                                           \
    X(LOOP, ELOOP, 32)                                                                             \
    X(MFILE, EMFILE, 33)                                                                           \
    X(MLINK, EMLINK, 34)                                                                           \
    X(NAMETOOLONG, ENAMETOOLONG, 37)                                                               \
    X(NFILE, ENFILE, 41)                                                                           \
    X(NODEV, ENODEV, 43)                                                                           \
    X(NOENT, ENOENT, 44)                                                                           \
    X(NOMEM, ENOMEM, 48)                                                                           \
    X(NOSPC, ENOSPC, 51)                                                                           \
    X(NOSYS, ENOSYS, 52)                                                                           \
    X(NOTDIR, ENOTDIR, 54)                                                                         \
    X(NOTEMPTY, ENOTEMPTY, 55)                                                                     \
    X(NOTSOCK, ENOTSOCK, 57)                                                                       \
    X(NOTSUP, EOPNOTSUPP, 58)                                                                      \
    X(NOTTY, ENOTTY, 59)                                                                           \
    X(NXIO, ENXIO, 60)                                                                             \
    X(OVERFLOW, EOVERFLOW, 61)                                                                     \
    X(PERM, EPERM, 63)                                                                             \
    X(PIPE, EPIPE, 64)                                                                             \
    X(ROFS, EROFS, 69)                                                                             \
    X(SPIPE, ESPIPE, 70)                                                                           \
    X(TXTBSY, ETXTBSY, 74)                                                                         \
    X(XDEV, EXDEV, 75)

enum {
    WE_SUCCESS = 0,
#define ZV_HOST_ERRNO_ENUM(name, linux_errno, wasi) WE_##name = wasi,
    ZV_HOST_ERRNOS(ZV_HOST_ERRNO_ENUM)
#undef ZV_HOST_ERRNO_ENUM
};

/* A negative Linux errno as the guest's number (EIO for any other). */
static inline uint32_t zv_host_errno(int64_t rc)
{
    switch (-rc) {
#define ZV_HOST_ERRNO_CASE(name, linux_errno, wasi) case linux_errno: return wasi;
        ZV_HOST_ERRNOS(ZV_HOST_ERRNO_CASE)
#undef ZV_HOST_ERRNO_CASE
    default: return WE_IO;
    }
}

/* WASI's notcapable: a path that would leave its directory. */
#define WE_NOTCAPABLE 76

/* A WASI descriptor: a channel, a node of the in-memory file system
 * (host_mem.c: manifest sessions and pool records), or an object under a
 * preopened host directory (`zvm run --dir`, host_dir.c). */
enum { ZV_FD_CLOSED = 0, ZV_FD_CHANNEL, ZV_FD_MEM, ZV_FD_HOST };
typedef struct zv_mnode zv_mnode;
typedef struct zv_mfs zv_mfs;
typedef struct {
    uint8_t kind;      /* ZV_FD_* */
    uint8_t type;      /* ZV_FD_HOST: the WASI filetype (3 directory, 4 file, ...) */
    uint16_t flags;    /* ZV_FD_HOST: WASI fdflags (1 append, 4 nonblock, ...) */
    int32_t channel;   /* ZV_FD_CHANNEL: its index */
    int host;          /* ZV_FD_HOST: the host descriptor */
    uint8_t ro;        /* ZV_FD_HOST: under a read-only --dir: nothing here changes the host */
    uint8_t shared;    /* ZV_FD_HOST: `host` is not this descriptor's to close: 1 a preopen
                        * (the session's), 2 a file open at a fork point (the mark's) */
    zv_mnode *node;    /* ZV_FD_MEM: the node; NULL for the root before it is built */
    uint64_t pos;      /* position for random-access channels and host files */
    uint64_t rights, inheriting; /* WASI rights: what fdstat says; they only shrink */
    const char *preopen; /* a preopened directory's guest name, or NULL */
} zv_host_fd;

/* The WASI rights a descriptor of filetype `type` may have (host_wasi.c). */
uint64_t zv_host_rights(uint8_t type);
#define ZV_RIGHTS_ALL ((1ull << 30) - 1)

/* What a manifest gives a run, made once per manifest (a session's own,
 * and each daemon job's): its channels as opened, the channel list
 * zvm.manifest copies, and the images its Mount lines name, parsed. A
 * session runs on one set at a time (zv_eng_session_use). */
typedef struct zv_mimages zv_mimages;
struct zv_eng_channels {
    const zv_cfg_manifest *man;
    zv_io_channel *ch;
    uint32_t n_ch;       /* opened */
    uint8_t *blob;       /* the channel list for zvm.manifest */
    uint32_t blob_len;
    zv_mimages *images;  /* NULL: no Mount (or a wasi_only session) */
};

/* argv or the environment, packed once per session (NUL-separated, with
 * each string's offset), so that a record's args_get costs one memcpy. */
typedef struct {
    char *buf;
    uint32_t bytes, n;
    uint32_t *off;
} zv_host_strings;

struct zv_eng_session {
    const zv_cfg_manifest *man;
    zv_host_strings args, env;
    zv_io_ring *ring;
    zv_eng_channels own; /* the manifest's */
    zv_eng_channels *cur; /* in use: &own, or a job's */
    zv_host_fd *dirs;  /* the preopened host directories (--dir), handed out shared */
    char **dir_names;  /* their guest names (the preopens point here) */
    uint32_t n_dirs;
    zv_mfs *mfs;       /* the in-memory file system (not with wasi_only) */
    zv_eng_fork_hook fork_hook; /* zvm.fork's answer (NULL: 0) */
    void *fork_arg;
    uint8_t fork_on_read; /* the first read of stdin is a fork point too (first-read) */
    uint8_t read_armed;   /* this run has not passed it yet (set by each reset) */
    uint8_t read_point;   /* this run's fork point was its first read of stdin */
    /* The run's state: what a run changes, put back by the one restore
     * (host_session.c) to its start or to a fork point. The channels'
     * positions and counters (in cur->ch) and the file tree (mfs) are
     * part of it too. */
    zv_host_fd *fds;
    uint32_t n_fds;    /* grows up to ZV_HOST_MAX_FDS */
    uint32_t fd_high;  /* descriptors at and above are closed (a reset clears below) */
    uint64_t clock_ns;  /* virtual clock: the last reading */
    uint64_t rng;       /* random stream state */
    uint32_t n_protects; /* zvm.jail/unjail calls of this run (ZV_HOST_MAX_PROTECTS) */
    uint32_t n_strays;  /* files made (or tried) under /dev that are no channel */
    char stray[256];    /* the first one's path */
    uint64_t jailed[65536 / 64]; /* 64 KiB pages sealed by zvm.jail, one bit each */
};

#define ZV_HOST_ROOT_FD 3 /* the preopened in-memory "/" (sessions that are not wasi_only) */
#define ZV_HOST_MAX_FDS 4096 /* descriptors per instance; then EMFILE */

/* A free descriptor number (the table grows as needed), or -1 (EMFILE or
 * out of host memory). host_session.c. */
int zv_host_fd_new(zv_eng_session *s);

/* WASI filestat, as the host fills it (host_dir.c). */
typedef struct {
    uint64_t dev, ino, nlink, size, atim, mtim, ctim;
    uint8_t type;
} zv_host_stat;

/* The calls on a preopened host directory's objects (host_dir.c). Paths
 * are NUL-terminated host copies of the guest's, resolved beneath `dir`
 * (never above it: `..`, absolute paths and symlinks that leave it are
 * WE_PERM). Each returns a WASI errno. */
uint32_t zv_hdir_open(zv_host_fd *dir, const char *path, uint32_t lookup, uint32_t oflags,
                      uint64_t rights, uint16_t fdflags, zv_host_fd *out);
uint32_t zv_hdir_mkdir(zv_host_fd *dir, const char *path);
uint32_t zv_hdir_rmdir(zv_host_fd *dir, const char *path);
uint32_t zv_hdir_unlink(zv_host_fd *dir, const char *path);
uint32_t zv_hdir_rename(zv_host_fd *from_dir, const char *from, zv_host_fd *to_dir, const char *to);
uint32_t zv_hdir_link(zv_host_fd *from_dir, uint32_t lookup, const char *from, zv_host_fd *to_dir,
                      const char *to);
uint32_t zv_hdir_symlink(const char *target, zv_host_fd *dir, const char *path);
uint32_t zv_hdir_readlink(zv_host_fd *dir, const char *path, char *buf, size_t cap, size_t *len);
uint32_t zv_hdir_stat(zv_host_fd *dir, uint32_t lookup, const char *path, zv_host_stat *st);
uint32_t zv_hdir_utimes(zv_host_fd *dir, uint32_t lookup, const char *path, uint64_t atim,
                        uint64_t mtim, uint32_t fst);
uint32_t zv_hdir_fstat(zv_host_fd *f, zv_host_stat *st);
uint32_t zv_hdir_futimes(zv_host_fd *f, uint64_t atim, uint64_t mtim, uint32_t fst);
uint32_t zv_hdir_truncate(zv_host_fd *f, uint64_t size);
uint32_t zv_hdir_sync(zv_host_fd *f, int data_only);
uint32_t zv_hdir_advise(zv_host_fd *f, uint64_t off, uint64_t len, uint32_t advice);
uint32_t zv_hdir_allocate(zv_host_fd *f, uint64_t off, uint64_t len);
uint32_t zv_hdir_set_flags(zv_host_fd *f, uint16_t fdflags);
/* Directory entries from index `cookie` on, sorted by name with "." and
 * ".." first: `put` gets each (name, its cookie for the next one, ino,
 * type) until it returns 0 (the guest's buffer is full). */
uint32_t zv_hdir_readdir(zv_host_fd *f, uint64_t cookie,
                         int (*put)(void *arg, const char *name, size_t len, uint64_t next,
                                    uint64_t ino, uint8_t type),
                         void *arg);
/* A member of a tar image (host_tar.c): its path (trailing slashes
 * removed; the caller may cut it), link target, typeflag, data in place
 * and mtime. */
typedef struct {
    char *name;
    const char *link;
    char type;             /* '0' or '\0' file, '5' directory, '2' symlink, ... */
    const uint8_t *data;
    uint64_t size, mtime_ns;
} zv_tar_member;
/* Hand each member of the tar image to each(); 0 at the end block, or
 * -EINVAL with why ("not a tar archive at offset N", "truncated ..."), or
 * -ETIMEDOUT past deadline_ns (CLOCK_MONOTONIC; 0: none). fd: the file
 * img maps, whose headers are read from it (else -1). */
int zv_tar_walk(const uint8_t *img, uint64_t size, int fd, uint64_t deadline_ns,
                void (*each)(void *arg, zv_tar_member *m), void *arg, char *why, size_t wn);

/* The in-memory file system (host_mem.c). The calls mirror zv_hdir_*;
 * `now` is the virtual clock (timestamps), `room` what files may still
 * take of the instance's Memory. */
/* The images m's Mount lines name, read from the channels ch (opened for
 * the manifest `chm`, which a daemon job's are) and parsed, within
 * deadline_ns (CLOCK_MONOTONIC, 0: none). Returns 0 (*out NULL when there
 * is no Mount), -EINVAL (why names the Mount, the source and the cause),
 * -ETIMEDOUT, -EIO or -ENOMEM. Free accepts NULL. */
int zv_mimages_new(const zv_cfg_manifest *m, const zv_cfg_manifest *chm, const zv_io_channel *ch,
                   uint64_t deadline_ns, zv_mimages **out, char *why, size_t n);
void zv_mimages_free(zv_mimages *im);
/* How many images (im may be NULL), and image i's root (read-only) and
 * mount point. */
uint32_t zv_mimages_count(const zv_mimages *im);
zv_mnode *zv_mimages_root(const zv_mimages *im, uint32_t i, const char **path);
/* A file system, and the channel set it shows (its channels at their
 * aliases, its images at their mount points): switched between runs. */
int zv_mfs_new(zv_mfs **out);
void zv_mfs_use(zv_mfs *fs, const zv_eng_channels *set);
void zv_mfs_free(zv_mfs *fs);
void zv_mfs_reset(zv_mfs *fs);          /* a record's end: the tree goes (if it was built) */
zv_mnode *zv_mfs_root(zv_mfs *fs, uint64_t now); /* built on first use; NULL: no memory */
const uint64_t *zv_mfs_bytes_ref(const zv_mfs *fs); /* what the files take now */
void zv_mfs_limit(zv_mfs *fs, uint64_t room); /* what they may still take (for new nodes) */
int zv_mfs_mark(zv_mfs *fs, zv_host_fd *fds, uint32_t n);    /* at a fork point */
int zv_mfs_restore(zv_mfs *fs, zv_host_fd *fds, uint32_t n); /* each record */
void zv_mfs_unmark(zv_mfs *fs);
uint32_t zv_mfs_open(zv_mfs *fs, zv_host_fd *dir, const char *path, uint32_t lookup,
                     uint32_t oflags, uint64_t rights, uint16_t fdflags, uint64_t now,
                     zv_host_fd *out);
void zv_mfs_close(zv_mfs *fs, zv_host_fd *d);
uint32_t zv_mfs_mkdir(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now);
uint32_t zv_mfs_rmdir(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now);
uint32_t zv_mfs_unlink(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now);
uint32_t zv_mfs_rename(zv_mfs *fs, zv_host_fd *d1, const char *p1, zv_host_fd *d2, const char *p2,
                       uint64_t now);
uint32_t zv_mfs_link(zv_mfs *fs, zv_host_fd *d1, uint32_t lookup, const char *p1, zv_host_fd *d2,
                     const char *p2, uint64_t now);
uint32_t zv_mfs_symlink(zv_mfs *fs, const char *target, zv_host_fd *dir, const char *path,
                        uint64_t now);
uint32_t zv_mfs_readlink(zv_host_fd *dir, const char *path, const char **target);
uint32_t zv_mfs_stat(zv_mfs *fs, zv_host_fd *dir, uint32_t lookup, const char *path,
                     zv_host_stat *st);
void zv_mfs_fstat(zv_mfs *fs, const zv_host_fd *f, zv_host_stat *st);
uint32_t zv_mfs_utimes(zv_host_fd *dir, uint32_t lookup, const char *path, uint64_t atim,
                       uint64_t mtim, uint32_t fst, uint64_t now);
uint32_t zv_mfs_futimes(zv_host_fd *f, uint64_t atim, uint64_t mtim, uint32_t fst, uint64_t now);
uint32_t zv_mfs_truncate(zv_mfs *fs, zv_host_fd *f, uint64_t size, uint64_t room, uint64_t now);
/* Bytes moved, or a negative WASI errno. */
int64_t zv_mfs_io(zv_mfs *fs, zv_host_fd *f, const struct iovec *v, int n_iov, uint64_t at,
                  int writing, uint64_t room, uint64_t now);
uint64_t zv_mfs_size(const zv_host_fd *f);
uint32_t zv_mfs_readdir(const zv_mfs *fs, zv_host_fd *f, uint64_t cookie,
                        int (*put)(void *arg, const char *name, size_t len, uint64_t next,
                                   uint64_t ino, uint8_t type),
                        void *arg);

/* Open the preopened directory HOST for the guest name GUEST. */
int zv_hdir_preopen(const char *host, const char *guest, int ro, zv_host_fd *out, char *why,
                    size_t n);

/* Each zvm.jail/unjail may split the slot's mapping in two, and the kernel
 * allows 65530 mappings per process (vm.max_map_count): an instance gets
 * this many calls, then -ENOMEM, so no guest can exhaust the process's. */
#define ZV_HOST_MAX_PROTECTS 256

static inline zv_eng_session *zv_host_session(zv_ctx *ctx)
{
    return (zv_eng_session *)zv_eng_caller_user(ctx);
}

/* A host descriptor's end: its host file is closed unless it is shared
 * (a preopen's or a fork point's, closed by their owner). */
static inline void zv_host_fd_close_host(const zv_host_fd *d)
{
    if (d->kind == ZV_FD_HOST && !d->shared)
        close(d->host);
}

/* --snapshot first-read: a host call that reads stdin through descriptor
 * d (fd_read, fd_pread, poll_oneoff) or channel 0 (zvm.pread) calls this
 * first, before it looks at any channel: the fork hook runs there, as
 * zvm.fork would, and each record resumes here with its stdin bound. */
void zv_host_first_read(zv_ctx *ctx, zv_eng_session *s);
static inline void zv_host_read_probe(zv_ctx *ctx, zv_eng_session *s, const zv_host_fd *d)
{
    if (s->read_armed && d && d->kind == ZV_FD_CHANNEL && d->channel == 0)
        zv_host_first_read(ctx, s);
}

/* The session's ring for a host call of ctx's instance: its waits give up
 * when the instance is interrupted (a timeout), so blocking channel I/O
 * cannot outlive the deadline. */
static inline zv_io_ring *zv_host_ring(zv_ctx *ctx)
{
    zv_eng_session *s = zv_host_session(ctx);
    zv_io_ring_stop_on(s->ring, &ctx->interrupt);
    return s->ring;
}

/* Is [ptr, ptr+len) inside the guest's memory? Every guest pointer and
 * length passes here before the host touches it: zv_host_mem_r for what
 * the host reads, zv_host_mem_w for what it writes, which must also miss
 * the pages the guest sealed with zvm.jail (a host write there would
 * fault inside host code, where unwinding is not safe). */
static inline int zv_host_mem_r(const zv_ctx *ctx, uint32_t ptr, uint64_t len)
{
    return ctx->memory && (uint64_t)ptr + len <= ctx->memory->size_bytes;
}

static inline int zv_host_mem_w(zv_ctx *ctx, uint32_t ptr, uint64_t len)
{
    const zv_eng_session *s = zv_host_session(ctx);
    if (!zv_host_mem_r(ctx, ptr, len))
        return 0;
    if (ctx->memory->jailed && len) /* rare: only after zvm.jail */
        for (uint64_t pg = ptr >> 16; pg <= (ptr + len - 1) >> 16; pg++)
            if (s->jailed[pg / 64] >> (pg % 64) & 1)
                return 0;
    zv_dirty_mark(ctx->dirty, ptr, len); /* the host writes there: a snapshot must restore it */
    return 1;
}

/* The open descriptor fd, or NULL. */
static inline zv_host_fd *zv_host_fd_get(zv_eng_session *s, uint32_t fd)
{
    return fd < s->fd_high && s->fds[fd].kind != ZV_FD_CLOSED ? &s->fds[fd] : NULL;
}

static inline void zv_host_put32(zv_ctx *ctx, uint32_t at, uint32_t v)
{
    memcpy(ctx->mem + at, &v, 4);
}

/* WASI's shared pieces (host_wasi.c): a copy of the in-memory directory
 * descriptor d with its node (the root's is built now; WE_NOMEM without
 * memory) and the in-memory tree's limit set; a filestat at `out`. */
uint32_t zv_host_mem_dir(zv_ctx *ctx, zv_host_fd *d, zv_host_fd *out);
void zv_host_put_stat(zv_ctx *ctx, uint32_t out, const zv_host_stat *st);

/* The path calls (host_wasi_path.c), as wasi_snapshot_preview1 has them. */
uint32_t zv_host_path_open(zv_ctx *ctx, uint32_t dirfd, uint32_t lookup, uint32_t path,
                           uint32_t path_len, uint32_t oflags, uint64_t rights, uint64_t inheriting,
                           uint32_t fdflags, uint32_t fd_out);
uint32_t zv_host_path_create_directory(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t zv_host_path_remove_directory(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t zv_host_path_unlink_file(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t zv_host_path_filestat_get(zv_ctx *ctx, uint32_t fd, uint32_t lookup, uint32_t path,
                                   uint32_t len, uint32_t out);
uint32_t zv_host_path_filestat_set_times(zv_ctx *ctx, uint32_t fd, uint32_t lookup, uint32_t path,
                                         uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst);
uint32_t zv_host_path_readlink(zv_ctx *ctx, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf,
                               uint32_t buf_len, uint32_t used);
uint32_t zv_host_path_rename(zv_ctx *ctx, uint32_t fd1, uint32_t p1, uint32_t l1, uint32_t fd2,
                             uint32_t p2, uint32_t l2);
uint32_t zv_host_path_link(zv_ctx *ctx, uint32_t fd1, uint32_t lookup, uint32_t p1, uint32_t l1,
                           uint32_t fd2, uint32_t p2, uint32_t l2);
uint32_t zv_host_path_symlink(zv_ctx *ctx, uint32_t target, uint32_t target_len, uint32_t fd,
                              uint32_t path, uint32_t len);
uint32_t zv_host_fd_readdir(zv_ctx *ctx, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie,
                            uint32_t used);

/* A host call: its import name, code, and "params:results" signature. */
typedef struct {
    const char *name;
    void *fn;
    const char *sig;
} zv_host_call;

/* A namespace's calls: the two tables (host_wasi.c, host_zvm.c) that
 * host_session.c links imports against. */
typedef struct {
    const char *name;
    const zv_host_call *calls;
    size_t n;
} zv_host_namespace;
extern const zv_host_namespace zv_host_wasi, zv_host_zvm;

#endif
