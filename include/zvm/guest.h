/*
 * zvm/guest.h — the C API for programs that run inside zvm, mirroring
 * ZeroVM's: zvm_pread, zvm_pwrite, zvm_jail, zvm_unjail, zvm_fork,
 * zvm_exit and MANIFEST. Build guests with `zvm-cc` (clang
 * --target=wasm32-wasi with this header on the path); stock wasi-libc
 * calls (printf, fopen on a channel alias, ...) work alongside.
 *
 * Channels are numbered in manifest order: 0 stdin, 1 stdout, 2 stderr,
 * then the others sorted by alias. Results are >= 0 or a negative errno
 * from <errno.h> (-EINVAL bad descriptor or buffer, -EFAULT negative size,
 * -EDQUOT over a limit).
 */
#ifndef ZVM_GUEST_H
#define ZVM_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The raw layout zvm.manifest copies (version 1): a header, the channel
 * records, then the NUL-terminated aliases (offsets from the start). The
 * host (engine/host_session.c) builds it from these same structs; the
 * assertions hold on wasm32 and on the host, so the two agree. */
struct zvm_raw_header {
    uint32_t version, n_channels;
    uint64_t memory_bytes;
    uint32_t timeout_s, reserved;
};
struct zvm_raw_channel {
    int64_t limits[4]; /* gets, getsize, puts, putsize */
    int64_t size;
    int32_t type;
    uint32_t alias_offset;
};
_Static_assert(sizeof(struct zvm_raw_header) == 24 &&
                   offsetof(struct zvm_raw_header, memory_bytes) == 8 &&
                   offsetof(struct zvm_raw_header, timeout_s) == 16,
               "zvm.manifest header layout");
_Static_assert(sizeof(struct zvm_raw_channel) == 48 &&
                   offsetof(struct zvm_raw_channel, size) == 32 &&
                   offsetof(struct zvm_raw_channel, type) == 40 &&
                   offsetof(struct zvm_raw_channel, alias_offset) == 44,
               "zvm.manifest channel layout");

#if defined(__wasm__) /* the rest is for guests */

#define ZVM_IMPORT(name) __attribute__((import_module("zvm"), import_name(name)))

ZVM_IMPORT("pread") int32_t zvm_pread(int32_t desc, void *buf, int32_t size, int64_t offset);
ZVM_IMPORT("pwrite") int32_t zvm_pwrite(int32_t desc, const void *buf, int32_t size, int64_t offset);
/* Seal [buf, buf+size) read-only; both 64 KiB-aligned. A later write traps. */
ZVM_IMPORT("jail") int32_t zvm_jail(const void *buf, int32_t size);
ZVM_IMPORT("unjail") int32_t zvm_unjail(const void *buf, int32_t size);
/*
 * The fork point. Call it once the set-up is done. Where zvm forks (each
 * record of zvm batch, the pool API and zvm-bench; each job of daemon mode)
 * everything before the call runs once per worker, and every record resumes
 * here as a fresh copy of that state with its own channels bound: it returns
 * 1 (also with --snapshot off, where each record re-runs the set-up, so
 * that the output is the same). In a plain zvm run nothing is forked: it
 * returns 0 and the program simply goes on. Before the fork the guest sees the
 * template's channels: in batch its stdin is empty and what it writes is
 * discarded. Unflushed stdio buffers are memory, so they belong to the
 * snapshot: fflush() what must not be replayed in every copy, and do not
 * leave input half-read in a FILE buffer. The virtual clock and the random
 * stream restart from their values at the call in every copy.
 */
ZVM_IMPORT("fork") int32_t zvm_fork(void);
ZVM_IMPORT("exit") __attribute__((noreturn)) void zvm_exit(int32_t code);
/* Copies the raw channel list if `size` is enough; returns the size needed. */
ZVM_IMPORT("manifest") int32_t zvm_manifest_raw(void *buf, int32_t size);

enum ZVMChannelType { SGetSPut = 0, RGetSPut = 1, SGetRPut = 2, RGetRPut = 3 };
enum { GetsLimit = 0, GetSizeLimit = 1, PutsLimit = 2, PutSizeLimit = 3, LimitsNumber = 4 };

struct ZVMChannel {
    int64_t limits[LimitsNumber];
    int64_t size;              /* the source's size at start (regular files) */
    enum ZVMChannelType type;
    const char *name;          /* the alias, e.g. "/dev/stdin" */
};

struct UserManifest {
    uint64_t mem_size;         /* Memory */
    uint32_t timeout;          /* Timeout, seconds */
    int32_t channels_count;
    struct ZVMChannel *channels;
};

/* The manifest, read once and kept (NULL if it cannot be read). */
static inline const struct UserManifest *zvm_user_manifest(void)
{
    static struct UserManifest m;
    static char *raw;
    int32_t need;
    if (raw)
        return &m;
    need = zvm_manifest_raw(0, 0);
    if (need <= 0 || !(raw = (char *)malloc((size_t)need)))
        return 0;
    zvm_manifest_raw(raw, need);
    {
        const struct zvm_raw_header *h = (const struct zvm_raw_header *)raw;
        const struct zvm_raw_channel *c = (const struct zvm_raw_channel *)(h + 1);
        m.mem_size = h->memory_bytes;
        m.timeout = h->timeout_s;
        m.channels_count = (int32_t)h->n_channels;
        m.channels = (struct ZVMChannel *)calloc(h->n_channels + 1, sizeof *m.channels);
        for (uint32_t i = 0; m.channels && i < h->n_channels; i++) {
            for (int k = 0; k < 4; k++)
                m.channels[i].limits[k] = c[i].limits[k];
            m.channels[i].size = c[i].size;
            m.channels[i].type = (enum ZVMChannelType)c[i].type;
            m.channels[i].name = raw + c[i].alias_offset;
        }
    }
    return &m;
}

#define MANIFEST (zvm_user_manifest())

#endif /* __wasm__ */

#endif
