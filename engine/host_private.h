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

/* The errno numbers guests see (wasi_snapshot_preview1 `errno`, which
 * wasi-libc's <errno.h> also uses), with the Linux errno each stands for:
 * one table for both namespaces. WE_SUCCESS is 0. */
#define ZV_HOST_ERRNOS(X)                                                                          \
    X(ACCES, EACCES, 2)                                                                            \
    X(BADF, EBADF, 8)                                                                              \
    X(DQUOT, EDQUOT, 19)                                                                           \
    X(EXIST, EEXIST, 20)                                                                           \
    X(FAULT, EFAULT, 21)                                                                           \
    X(INVAL, EINVAL, 28)                                                                           \
    X(IO, EIO, 29)                                                                                 \
    X(ISDIR, EISDIR, 31)                                                                           \
    X(MFILE, EMFILE, 33)                                                                           \
    X(NOENT, ENOENT, 44)                                                                           \
    X(NOMEM, ENOMEM, 48)                                                                           \
    X(NOSYS, ENOSYS, 52)                                                                           \
    X(NOTDIR, ENOTDIR, 54)                                                                         \
    X(SPIPE, ESPIPE, 70)

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

/* A WASI descriptor: a channel, or the preopened /dev directory. */
typedef struct {
    int32_t channel; /* channel index; -1: the /dev directory; -2: closed */
    uint64_t pos;    /* position for random-access channels */
} zv_host_fd;

struct zv_eng_session {
    const zv_cfg_manifest *man;
    zv_io_ring *ring;
    zv_io_channel *ch;
    uint32_t n_ch;
    zv_host_fd *fds;
    uint32_t n_fds;
    uint64_t clock_ns;  /* virtual clock: the last reading */
    uint64_t rng;       /* random stream state */
    uint8_t *blob;      /* the channel list for zvm.manifest */
    uint32_t blob_len;
    uint32_t n_protects; /* zvm.jail/unjail calls of this run (ZV_HOST_MAX_PROTECTS) */
    uint64_t jailed[65536 / 64]; /* 64 KiB pages sealed by zvm.jail, one bit each */
    zv_io_channel *own_ch; /* while a job's channels are in use (zv_eng_session_use) */
    uint8_t *own_blob;
    uint32_t own_blob_len;
    zv_eng_fork_hook fork_hook; /* zvm.fork's answer (NULL: 0) */
    void *fork_arg;
};

/* The session's own state at a fork point. */
struct zv_eng_session_mark {
    zv_host_fd *fds;
    uint64_t clock_ns, rng;
};

#define ZV_HOST_DEV_FD 3 /* the preopened /dev directory */

/* Each zvm.jail/unjail may split the slot's mapping in two, and the kernel
 * allows 65530 mappings per process (vm.max_map_count): an instance gets
 * this many calls, then -ENOMEM, so no guest can exhaust the process's. */
#define ZV_HOST_MAX_PROTECTS 256

static inline zv_eng_session *zv_host_session(zv_ctx *ctx)
{
    return (zv_eng_session *)zv_eng_caller_user(ctx);
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
    if (ctx->dirty && len) /* the host writes there: a snapshot must restore it */
        memset(ctx->dirty + (ptr >> 12), 1, (size_t)(((ptr + len - 1) >> 12) - (ptr >> 12) + 1));
    return 1;
}

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
