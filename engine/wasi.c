/*
 * wasi.c — the `wasi_snapshot_preview1` calls a stock wasm32-wasi program
 * needs, as host functions over the instance's standard descriptors.
 *
 * Every guest pointer and length is checked here, once, against the
 * memory's current size before use (a hostile value gets EFAULT, never a
 * host fault). Time and randomness are virtual: the clock starts at a
 * fixed instant and advances a fixed step per reading, and random_get is a
 * seeded stream, so a run is a pure function of its inputs.
 */
#include "engine/internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* WASI errno values (wasi_snapshot_preview1 `errno`). */
enum {
    WE_OK = 0,
    WE_EBADF = 8,
    WE_EFAULT = 21,
    WE_EINVAL = 28,
    WE_EIO = 29,
    WE_ENOSYS = 52,
    WE_ESPIPE = 70,
};

static zv_eng_wasi *state(zv_ctx *ctx) { return zv_eng_instance_user(ctx->engine); }

/* Is [ptr, ptr+len) inside the memory? The one check for guest pointers. */
static int in_memory(zv_ctx *ctx, uint32_t ptr, uint64_t len)
{
    return ctx->memory && (uint64_t)ptr + len <= ctx->memory->size_bytes;
}

static void put32(zv_ctx *ctx, uint32_t at, uint32_t v) { memcpy(ctx->mem + at, &v, 4); }
static void put64(zv_ctx *ctx, uint32_t at, uint64_t v) { memcpy(ctx->mem + at, &v, 8); }
static uint32_t get32(zv_ctx *ctx, uint32_t at)
{
    uint32_t v;
    memcpy(&v, ctx->mem + at, 4);
    return v;
}

/* args_* and environ_*: a vector of pointers, then the NUL-terminated strings. */
static uint32_t strings_sizes(zv_ctx *ctx, int n, char *const *v, uint32_t count_ptr,
                              uint32_t size_ptr)
{
    uint64_t bytes = 0;
    if (!in_memory(ctx, count_ptr, 4) || !in_memory(ctx, size_ptr, 4))
        return WE_EFAULT;
    for (int i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    put32(ctx, count_ptr, (uint32_t)n);
    put32(ctx, size_ptr, (uint32_t)bytes);
    return WE_OK;
}

static uint32_t strings_get(zv_ctx *ctx, int n, char *const *v, uint32_t vec_ptr,
                            uint32_t buf_ptr)
{
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++)
        bytes += strlen(v[i]) + 1;
    if (!in_memory(ctx, vec_ptr, (uint64_t)n * 4) || !in_memory(ctx, buf_ptr, bytes))
        return WE_EFAULT;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        put32(ctx, vec_ptr + 4u * (uint32_t)i, buf_ptr);
        memcpy(ctx->mem + buf_ptr, v[i], len);
        buf_ptr += (uint32_t)len;
    }
    return WE_OK;
}

static uint32_t wasi_args_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    zv_eng_wasi *w = state(ctx);
    return strings_sizes(ctx, w->argc, w->argv, count, size);
}
static uint32_t wasi_args_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    zv_eng_wasi *w = state(ctx);
    return strings_get(ctx, w->argc, w->argv, vec, buf);
}
static uint32_t wasi_environ_sizes_get(zv_ctx *ctx, uint32_t count, uint32_t size)
{
    zv_eng_wasi *w = state(ctx);
    return strings_sizes(ctx, w->envc, w->envp, count, size);
}
static uint32_t wasi_environ_get(zv_ctx *ctx, uint32_t vec, uint32_t buf)
{
    zv_eng_wasi *w = state(ctx);
    return strings_get(ctx, w->envc, w->envp, vec, buf);
}

static int host_fd(zv_eng_wasi *w, uint32_t fd)
{
    return fd < 3 ? w->fds[fd] : -1;
}

/* fd_read/fd_write: scatter/gather over checked iovecs. */
static uint32_t fd_rw(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n_iovs, uint32_t done_ptr,
                      int writing)
{
    int h = host_fd(state(ctx), fd);
    uint64_t total = 0;
    if (h < 0)
        return WE_EBADF;
    if (!in_memory(ctx, iovs, (uint64_t)n_iovs * 8) || !in_memory(ctx, done_ptr, 4))
        return WE_EFAULT;
    for (uint32_t i = 0; i < n_iovs; i++) {
        uint32_t buf = get32(ctx, iovs + 8 * i), len = get32(ctx, iovs + 8 * i + 4);
        ssize_t n;
        if (!in_memory(ctx, buf, len))
            return WE_EFAULT;
        do
            n = writing ? write(h, ctx->mem + buf, len) : read(h, ctx->mem + buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return total ? (put32(ctx, done_ptr, (uint32_t)total), WE_OK) : WE_EIO;
        total += (uint64_t)n;
        if ((uint32_t)n < len)
            break;
    }
    put32(ctx, done_ptr, (uint32_t)total);
    return WE_OK;
}

static uint32_t wasi_fd_write(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t done)
{
    return fd_rw(ctx, fd, iovs, n, done, 1);
}
static uint32_t wasi_fd_read(zv_ctx *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t done)
{
    return fd_rw(ctx, fd, iovs, n, done, 0);
}

static uint32_t wasi_fd_close(zv_ctx *ctx, uint32_t fd)
{
    return host_fd(state(ctx), fd) < 0 ? WE_EBADF : WE_OK;
}

static uint32_t wasi_fd_seek(zv_ctx *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    (void)off, (void)whence, (void)out;
    return host_fd(state(ctx), fd) < 0 ? WE_EBADF : WE_ESPIPE;
}

/* fdstat: filetype character device, no flags, all rights. */
static uint32_t wasi_fd_fdstat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    if (host_fd(state(ctx), fd) < 0)
        return WE_EBADF;
    if (!in_memory(ctx, out, 24))
        return WE_EFAULT;
    memset(ctx->mem + out, 0, 24);
    ctx->mem[out] = 2; /* character_device */
    put64(ctx, out + 8, ~0ull);
    put64(ctx, out + 16, ~0ull);
    return WE_OK;
}

static uint32_t wasi_fd_prestat_get(zv_ctx *ctx, uint32_t fd, uint32_t out)
{
    (void)ctx, (void)fd, (void)out;
    return WE_EBADF; /* no preopened directories */
}

static uint32_t wasi_fd_prestat_dir_name(zv_ctx *ctx, uint32_t fd, uint32_t buf, uint32_t len)
{
    (void)ctx, (void)fd, (void)buf, (void)len;
    return WE_EBADF;
}

/* Virtual time: starts at w->clock_ns and advances 1 µs per reading. */
static uint32_t wasi_clock_time_get(zv_ctx *ctx, uint32_t id, uint64_t precision, uint32_t out)
{
    zv_eng_wasi *w = state(ctx);
    (void)precision;
    if (id > 3)
        return WE_EINVAL;
    if (!in_memory(ctx, out, 8))
        return WE_EFAULT;
    w->clock_ns += 1000;
    put64(ctx, out, w->clock_ns);
    return WE_OK;
}

static uint32_t wasi_clock_res_get(zv_ctx *ctx, uint32_t id, uint32_t out)
{
    if (id > 3)
        return WE_EINVAL;
    if (!in_memory(ctx, out, 8))
        return WE_EFAULT;
    put64(ctx, out, 1000);
    return WE_OK;
}

/* splitmix64: a seeded, portable stream (determinism, not cryptography). */
static uint64_t next_random(zv_eng_wasi *w)
{
    uint64_t z = (w->rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t wasi_random_get(zv_ctx *ctx, uint32_t buf, uint32_t len)
{
    zv_eng_wasi *w = state(ctx);
    if (!in_memory(ctx, buf, len))
        return WE_EFAULT;
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t r = next_random(w);
        memcpy(ctx->mem + buf + i, &r, len - i < 8 ? len - i : 8);
    }
    return WE_OK;
}

static uint32_t wasi_sched_yield(zv_ctx *ctx)
{
    (void)ctx;
    return WE_OK;
}

static void wasi_proc_exit(zv_ctx *ctx, uint32_t code)
{
    (void)ctx;
    zv_eng_trap(ZV_TRAP_EXIT, (int)code);
}

static const struct {
    const char *name;
    void *fn;
    const char *sig;
} calls[] = {
    {"args_get", (void *)wasi_args_get, "ii:i"},
    {"args_sizes_get", (void *)wasi_args_sizes_get, "ii:i"},
    {"environ_get", (void *)wasi_environ_get, "ii:i"},
    {"environ_sizes_get", (void *)wasi_environ_sizes_get, "ii:i"},
    {"fd_write", (void *)wasi_fd_write, "iiii:i"},
    {"fd_read", (void *)wasi_fd_read, "iiii:i"},
    {"fd_close", (void *)wasi_fd_close, "i:i"},
    {"fd_seek", (void *)wasi_fd_seek, "iIii:i"},
    {"fd_fdstat_get", (void *)wasi_fd_fdstat_get, "ii:i"},
    {"fd_prestat_get", (void *)wasi_fd_prestat_get, "ii:i"},
    {"fd_prestat_dir_name", (void *)wasi_fd_prestat_dir_name, "iii:i"},
    {"clock_time_get", (void *)wasi_clock_time_get, "iIi:i"},
    {"clock_res_get", (void *)wasi_clock_res_get, "ii:i"},
    {"random_get", (void *)wasi_random_get, "ii:i"},
    {"sched_yield", (void *)wasi_sched_yield, ":i"},
    {"proc_exit", (void *)wasi_proc_exit, "i:"},
};

int zv_eng_wasi_resolve(void *arg, const zv_val_import *im, zv_eng_extern *out)
{
    static const char ns[] = "wasi_snapshot_preview1";
    (void)arg;
    if (im->module_len != sizeof ns - 1 || memcmp(im->module, ns, sizeof ns - 1))
        return -ENOENT;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        if (strlen(calls[i].name) != im->name_len ||
            memcmp(calls[i].name, im->name, im->name_len))
            continue;
        out->kind = ZV_EXT_FUNC;
        out->host_fn = calls[i].fn;
        out->host_sig = calls[i].sig;
        return 0;
    }
    return -ENOENT;
}
