/*
 * artifact.c — compiled code that ships: `zvm compile -o FILE.zvmc` puts
 * a module's bytes and its native code in one file that a host without a
 * C compiler can run.
 *
 * Layout (little-endian; the header is fixed so that what the loader
 * checks is at known offsets):
 *
 *   0    8  magic "\x7fZVMC\r\n\x1a" (a text tool that rewrites line ends
 *           breaks it, as PNG's does)
 *   8    4  format version (ARTIFACT_FORMAT)
 *   12   4  ABI version of the generated code (ZV_ABI_VERSION)
 *   16   4  translator version (ZV_TRANSLATOR_VERSION)
 *   20   4  flags: bit 0 the code has interruption checks; bit 1 it
 *           addresses memory through GS (engine/seg.c: the loading host
 *           must let user code write the GS base)
 *   24  16  machine ("x86_64"), NUL-padded
 *   40  16  ISA level compiled for ("x86-64-v2"; "" on other machines)
 *   56   8  module bytes (W)
 *   64   8  shared object bytes (S)
 *   72  56  zero
 *   128  W  the module (.wasm)
 *   ..   S  the shared object, as the code cache holds it without its mark
 *   ..  40  "ZVMCEND1" and SHA-256 of everything before
 *   .. 104  optional: a signature block (artifact_sign.c, `zvm sign`)
 *
 * What is refused, each with its own message, before anything is
 * dlopen'ed: a file shorter or longer than its header says (truncated), a
 * digest that does not match (tampered or corrupted), another format,
 * ABI or translator version (made by another zvm: compile it again), and
 * another machine or an ISA level above this host's. The digest only
 * catches damage: trust comes from who could have written the file (the
 * loader's rule, as the code cache's: owned by the running user or root,
 * writable by nobody else, in a folder chain nobody else can write).
 *
 * The shared object is loaded from a memfd (no folder needs to be
 * writable: a service may run with a read-only file system), by its
 * /proc/self/fd name. glibc knows an object by that name, so the memfd
 * stays open while the object is loaded (engine/loader.c): no later memfd
 * can take the same number and be mistaken for it.
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARTIFACT_MAGIC "\x7fZVMC\r\n\x1a"
#define ARTIFACT_FORMAT 1
#define HEADER_BYTES 128
#define END_MAGIC "ZVMCEND1"
#define END_BYTES 40

#if defined(__x86_64__)
#define MACHINE "x86_64"
#elif defined(__aarch64__)
#define MACHINE "aarch64"
#else
#define MACHINE "unknown"
#endif

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

int zv_eng_artifact_is(const void *head, size_t n)
{
    return n >= 8 && !memcmp(head, ARTIFACT_MAGIC, 8);
}

/* "x86-64", "x86-64-v2", "x86-64-v3" as 1, 2, 3; anything else 0. */
static int isa_level(const char *s)
{
    if (!strcmp(s, "x86-64"))
        return 1;
    if (!strcmp(s, "x86-64-v2"))
        return 2;
    if (!strcmp(s, "x86-64-v3"))
        return 3;
    return 0;
}

/* A header's text field (16 bytes, NUL-padded), as a string. */
static void field(const uint8_t *p, char out[17])
{
    memcpy(out, p, 16);
    out[16] = 0;
}

int zv_eng_artifact_check(const uint8_t *b, size_t n, zv_eng_code *code, zv_eng_err *err)
{
    char machine[17], isa[17];
    const char *host = zv_eng_host_isa();
    uint64_t w, s;
    uint8_t digest[32];
    if (n < HEADER_BYTES || !zv_eng_artifact_is(b, n)) {
        snprintf(err->msg, sizeof err->msg, "truncated artifact: %zu bytes, shorter than its "
                 "%d-byte header", n, HEADER_BYTES);
        return -EINVAL;
    }
    if (get32(b + 8) != ARTIFACT_FORMAT) {
        snprintf(err->msg, sizeof err->msg, "wrong version: artifact format %u, this zvm reads "
                 "format %d (make it again with this zvm's compile -o)", get32(b + 8),
                 ARTIFACT_FORMAT);
        return -EINVAL;
    }
    w = get64(b + 56), s = get64(b + 64);
    code->sig = NULL;
    if (w <= n && s <= n && HEADER_BYTES + w + s + END_BYTES + ZV_ENG_SIG_BYTES == n &&
        !memcmp(b + n - ZV_ENG_SIG_BYTES, ZV_ENG_SIG_MAGIC, 8)) {
        code->sig = b + n - ZV_ENG_SIG_BYTES; /* signed (zvm sign): checked by the loader */
        n -= ZV_ENG_SIG_BYTES;
    }
    code->signed_bytes = n;
    if (w > n || s > n || HEADER_BYTES + w + s + END_BYTES > n) { /* (no overflow: n is small) */
        snprintf(err->msg, sizeof err->msg, "truncated artifact: %zu bytes, fewer than its "
                 "header says", n);
        return -EINVAL;
    }
    if (HEADER_BYTES + w + s + END_BYTES < n) {
        snprintf(err->msg, sizeof err->msg, "tampered artifact: %zu bytes, %llu more than its "
                 "header says", n, (unsigned long long)(n - (HEADER_BYTES + w + s + END_BYTES)));
        return -EINVAL;
    }
    zv_val_sha256(b, n - END_BYTES, digest);
    if (memcmp(b + n - END_BYTES, END_MAGIC, 8) || memcmp(b + n - 32, digest, 32)) {
        snprintf(err->msg, sizeof err->msg, "tampered artifact: its SHA-256 does not match its "
                 "bytes (changed or damaged after zvm compile -o wrote it)");
        return -EINVAL;
    }
    if (get32(b + 12) != ZV_ABI_VERSION || get32(b + 16) != ZV_TRANSLATOR_VERSION) {
        snprintf(err->msg, sizeof err->msg, "wrong version: made by a zvm with code ABI %u and "
                 "translator %u, this zvm has ABI %d and translator %d (make it again with this "
                 "zvm's compile -o)", get32(b + 12), get32(b + 16), ZV_ABI_VERSION,
                 ZV_TRANSLATOR_VERSION);
        return -EINVAL;
    }
    field(b + 24, machine);
    field(b + 40, isa);
    if (strcmp(machine, MACHINE) ||
        (host && isa_level(isa) == 0) || (host && isa_level(isa) > isa_level(host))) {
        snprintf(err->msg, sizeof err->msg, "wrong ISA: built for %s%s%s, this host is %s%s%s "
                 "(build it with ZVM_CC_ISA set to the fleet's lowest level)", machine,
                 isa[0] ? " " : "", isa, MACHINE, host ? " " : "", host ? host : "");
        return -ENOEXEC;
    }
    if ((get32(b + 20) & 2) && !zv_eng_seg_on()) {
        snprintf(err->msg, sizeof err->msg, "wrong ISA: built to address memory through GS, "
                 "which this host does not (no FSGSBASE, or ZVM_SEG=0): build it with ZVM_SEG=0 "
                 "for hosts without FSGSBASE");
        return -ENOEXEC;
    }
    code->wasm = b + HEADER_BYTES;
    code->wasm_bytes = w;
    code->so = b + HEADER_BYTES + w;
    code->so_bytes = s;
    code->interrupt_checks = get32(b + 20) & 1;
    return 0;
}

int zv_eng_artifact_trusted(int fd, const char *path, zv_eng_err *err)
{
    char real[4096], *slash;
    struct stat st;
    uid_t me = geteuid();
    if (fstat(fd, &st) < 0 || !realpath(path, real)) {
        snprintf(err->msg, sizeof err->msg, "cannot check who may write it: %s", strerror(errno));
        return -errno;
    }
    if (st.st_uid != me && st.st_uid != 0) {
        snprintf(err->msg, sizeof err->msg, "untrusted artifact: owned by uid %u, not by this "
                 "user (%u) or root: refusing to load its native code", (unsigned)st.st_uid,
                 (unsigned)me);
        return -EPERM;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err->msg, sizeof err->msg, "untrusted artifact: writable by other users (mode "
                 "%03o): refusing to load its native code", (unsigned)(st.st_mode & 0777));
        return -EPERM;
    }
    /* the folder the file really is in (a link elsewhere is judged there) */
    slash = strrchr(real, '/');
    slash[slash == real] = 0;
    return zv_eng_secure_dir(real, "artifact folder", 0, err);
}

int zv_eng_code_memfd(const zv_eng_code *code, char *path, size_t n, zv_eng_err *err)
{
    size_t done = 0;
    int fd = memfd_create("zvm-artifact", MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "memfd_create: %s", strerror(errno));
        return -errno;
    }
    while (done < code->so_bytes) {
        ssize_t k = write(fd, code->so + done, code->so_bytes - done);
        if (k <= 0) {
            int rc = k < 0 ? -errno : -EIO;
            snprintf(err->msg, sizeof err->msg, "cannot write the code to a memfd: %s",
                     strerror(-rc));
            close(fd);
            return rc;
        }
        done += (size_t)k;
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

/* The verified cache entry's code (without its mark), mapped: 0 or -errno. */
static int entry_code(int fd, const uint8_t **so, size_t *so_bytes, size_t *mapped)
{
    struct stat st;
    void *p;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((size_t)st.st_size <= ZV_ENG_CACHE_MARK_BYTES)
        return -EIO;
    if ((p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        return -errno;
    *so = p;
    *so_bytes = (size_t)st.st_size - ZV_ENG_CACHE_MARK_BYTES;
    *mapped = (size_t)st.st_size;
    return 0;
}

/* Write all of buf to fd: 0 or -errno. */
static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* The artifact into out_path (a temporary file renamed into place). */
static int write_file(const char *out_path, const uint8_t *hdr, const uint8_t *wasm, size_t w,
                      const uint8_t *so, size_t s, zv_eng_err *err)
{
    char tmp[4200];
    uint8_t end[END_BYTES];
    zv_val_sha256_ctx h;
    int fd, rc;
    zv_val_sha256_init(&h);
    zv_val_sha256_update(&h, hdr, HEADER_BYTES);
    zv_val_sha256_update(&h, wasm, w);
    zv_val_sha256_update(&h, so, s);
    memcpy(end, END_MAGIC, 8);
    zv_val_sha256_final(&h, end + 8);
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", out_path);
    if ((fd = mkstemp(tmp)) < 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot write: %s", out_path, strerror(errno));
        return -errno;
    }
    {
        mode_t mask = umask(0);
        umask(mask);
        rc = fchmod(fd, 0644 & ~mask) < 0 ? -errno : 0; /* mkstemp made it 0600 */
    }
    if (!rc && !(rc = write_all(fd, hdr, HEADER_BYTES)) && !(rc = write_all(fd, wasm, w)) &&
        !(rc = write_all(fd, so, s)) && !(rc = write_all(fd, end, END_BYTES)))
        rc = fsync(fd) < 0 ? -errno : 0;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, out_path) < 0)
        rc = -errno;
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot write: %s", out_path, strerror(-rc));
        unlink(tmp);
    }
    return rc;
}

int zv_eng_artifact_write(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                          const char *out_path, int *cached, zv_eng_err *err)
{
    zv_val_module *info = NULL;
    uint8_t hdr[HEADER_BYTES] = {0};
    const uint8_t *so = NULL;
    const char *isa = zv_eng_cc_isa();
    size_t so_bytes = 0, mapped = 0;
    char entry[4200];
    int fd = -1, rc;
    if ((rc = zv_eng_validate(bytes, size, opts, &info, err)) ||
        (rc = zv_eng_cache_get(info, opts, entry, sizeof entry, cached, &fd, err)))
        goto out;
    if ((rc = entry_code(fd, &so, &so_bytes, &mapped))) {
        snprintf(err->msg, sizeof err->msg, "cache entry %s: cannot read: %s", entry,
                 strerror(-rc));
        goto out;
    }
    memcpy(hdr, ARTIFACT_MAGIC, 8);
    put32(hdr + 8, ARTIFACT_FORMAT);
    put32(hdr + 12, ZV_ABI_VERSION);
    put32(hdr + 16, ZV_TRANSLATOR_VERSION);
    put32(hdr + 20, (uint32_t)!(opts && opts->no_interrupt_checks) | (uint32_t)zv_eng_seg_on() << 1);
    memcpy(hdr + 24, MACHINE, strlen(MACHINE));
    if (isa)
        memcpy(hdr + 40, isa, strlen(isa));
    put64(hdr + 56, size);
    put64(hdr + 64, so_bytes);
    rc = write_file(out_path, hdr, bytes, size, so, so_bytes, err);
out:
    if (mapped)
        munmap((void *)so, mapped);
    if (fd >= 0)
        close(fd);
    zv_val_module_free(info);
    return rc;
}
