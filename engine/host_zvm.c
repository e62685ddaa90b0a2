/*
 * host_zvm.c — the `zvm` import namespace: ZeroVM's six calls and read-only
 * access to the manifest's channel list.
 *
 *   pread(desc, buf, size, offset) / pwrite(...): a bad descriptor or a
 *     buffer outside memory is -EINVAL, a negative size -EFAULT, over a
 *     limit -EDQUOT; sequential channels ignore the offset.
 *   jail(buf, size) / unjail(buf, size): make a 64 KiB-aligned range of
 *     linear memory read-only (a later write traps) or writable again.
 *   fork(): the snapshot point: 1 in each record's copy, 0 in a plain
 *     session (the pool's hook decides); exit(code): ends with `code`.
 *   manifest(buf, size): copies the channel list (include/zvm/guest.h) if
 *     it fits and returns the bytes it needs.
 * Results are >= 0 or a negative errno as the guest's C library numbers
 * it (wasi-libc's <errno.h>), so `rc == -EDQUOT` works in guest code.
 */
#include "engine/host_private.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define JAIL_ALIGN 65536u

/* A negative Linux errno as the guest's, negated; a channel used in the
 * wrong direction is EINVAL, as in ZeroVM. */
static uint32_t guest_errno(int64_t rc)
{
    return (uint32_t) - (int32_t)zv_host_errno(rc == -EBADF ? -EINVAL : rc);
}

static uint32_t zvm_rw(zv_ctx *ctx, uint32_t desc, uint32_t buf, uint32_t size, uint64_t offset,
                       int writing)
{
    zv_eng_session *s = zv_host_session(ctx);
    int64_t n;
    if (desc == 0 && !writing && s->read_armed) /* (first-read: the fork point) */
        zv_host_first_read(ctx, s);
    if (desc >= s->cur->n_ch)
        return guest_errno(-EINVAL);
    if ((int32_t)size < 0)
        return guest_errno(-EFAULT);
    if (writing ? !zv_host_mem_r(ctx, buf, size) : !zv_host_mem_w(ctx, buf, size))
        return guest_errno(-EINVAL);
    n = writing ? zv_io_channel_write(zv_host_ring(ctx), &s->cur->ch[desc], ctx->mem + buf, size, (int64_t)offset)
                : zv_io_channel_read(zv_host_ring(ctx), &s->cur->ch[desc], ctx->mem + buf, size, (int64_t)offset);
    if (n == -EINTR) /* the deadline passed while it waited: the request is cancelled */
        zv_eng_trap(ZV_TRAP_TIMEOUT, 0);
    return n >= 0 ? (uint32_t)n : guest_errno(n); /* -EBADF: not that direction: EINVAL */
}

static uint32_t zvm_pread(zv_ctx *ctx, uint32_t desc, uint32_t buf, uint32_t size, uint64_t off)
{
    return zvm_rw(ctx, desc, buf, size, off, 0);
}

static uint32_t zvm_pwrite(zv_ctx *ctx, uint32_t desc, uint32_t buf, uint32_t size, uint64_t off)
{
    return zvm_rw(ctx, desc, buf, size, off, 1);
}

static uint32_t protect(zv_ctx *ctx, uint32_t buf, uint32_t size, int prot)
{
    zv_eng_session *s = zv_host_session(ctx);
    if (buf % JAIL_ALIGN || size % JAIL_ALIGN || size == 0 || !zv_host_mem_r(ctx, buf, size))
        return guest_errno(-EINVAL);
    if (s->n_protects >= ZV_HOST_MAX_PROTECTS)
        return guest_errno(-ENOMEM);
    s->n_protects++;
    if (mprotect(ctx->mem + buf, size, prot) < 0)
        return guest_errno(-ENOMEM);
    for (uint32_t pg = buf / JAIL_ALIGN; pg < (buf + (uint64_t)size) / JAIL_ALIGN; pg++)
        if (prot & PROT_WRITE)
            s->jailed[pg / 64] &= ~(1ull << (pg % 64));
        else
            s->jailed[pg / 64] |= 1ull << (pg % 64);
    if (!(prot & PROT_WRITE))
        ctx->memory->jailed = 1; /* the reset must unseal before it clears */
    return 0;
}

static uint32_t zvm_jail(zv_ctx *ctx, uint32_t buf, uint32_t size)
{
    return protect(ctx, buf, size, PROT_READ);
}

static uint32_t zvm_unjail(zv_ctx *ctx, uint32_t buf, uint32_t size)
{
    return protect(ctx, buf, size, PROT_READ | PROT_WRITE);
}

/* The fork point: 1 in each record's or job's copy, 0 where nothing is
 * forked (a plain session); the pool decides through the session's hook. */
static uint32_t zvm_fork(zv_ctx *ctx)
{
    zv_eng_session *s = zv_host_session(ctx);
    s->read_armed = s->read_point = 0; /* this is the point: a later first read is not */
    return s->fork_hook ? (uint32_t)s->fork_hook(s->fork_arg, ctx, 0) : 0;
}

static void zvm_exit(zv_ctx *ctx, uint32_t code)
{
    (void)ctx;
    zv_eng_trap(ZV_TRAP_EXIT, (int)code);
}

static uint32_t zvm_manifest(zv_ctx *ctx, uint32_t buf, uint32_t size)
{
    zv_eng_session *s = zv_host_session(ctx);
    if (size >= s->cur->blob_len) {
        if (!zv_host_mem_w(ctx, buf, s->cur->blob_len))
            return guest_errno(-EINVAL);
        memcpy(ctx->mem + buf, s->cur->blob, s->cur->blob_len);
    }
    return s->cur->blob_len;
}

static const zv_host_call calls[] = {
    {"pread", (void *)zvm_pread, "iiiI:i"},
    {"pwrite", (void *)zvm_pwrite, "iiiI:i"},
    {"jail", (void *)zvm_jail, "ii:i"},
    {"unjail", (void *)zvm_unjail, "ii:i"},
    {"fork", (void *)zvm_fork, ":i"},
    {"exit", (void *)zvm_exit, "i:"},
    {"manifest", (void *)zvm_manifest, "ii:i"},
};

const zv_host_namespace zv_host_zvm = {"zvm", calls, sizeof calls / sizeof calls[0]};
