/*
 * cache.c — the code cache: compiled modules on disk, content-addressed.
 *
 * The key is SHA-256 over the module's SHA-256, the ABI and translator
 * versions, the compiler's identity (resolved path, size, mtime), the
 * optimisation level and the translator options: collision-resistant,
 * because tenants share the cache. An entry is the shared object followed
 * by a 40-byte trailer: "ZVMCACHE" and the SHA-256 of everything before
 * it. Entries are written to a temporary file and renamed into place, so
 * concurrent writers leave one good entry; a truncated or corrupted entry
 * fails its trailer check and is rebuilt, never loaded.
 */
#include "engine/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRAILER_MAGIC "ZVMCACHE"
#define TRAILER_BYTES 40

static int cache_dir(const zv_eng_opts *opts, char *out, size_t n)
{
    const char *env;
    if (opts && opts->cache_dir)
        snprintf(out, n, "%s", opts->cache_dir);
    else if ((env = getenv("ZVM_CACHE")) && *env)
        snprintf(out, n, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        snprintf(out, n, "%s/zvm", env);
    else if ((env = getenv("HOME")) && *env)
        snprintf(out, n, "%s/.cache/zvm", env);
    else
        return -ENOENT;
    return 0;
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static const char *cc_name(const zv_eng_opts *opts)
{
    const char *env = getenv("ZVM_CC");
    if (opts && opts->cc)
        return opts->cc;
    return env && *env ? env : "gcc";
}

static int opt_level(const zv_eng_opts *opts) { return opts && opts->fast_compile ? 0 : 2; }

static int entry_path(const zv_val_module *m, const zv_eng_opts *opts, char *path, size_t n,
                      zv_eng_err *err)
{
    char dir[4096], ident[4400], key_text[4600];
    uint8_t key[32];
    unsigned len = 0;
    int rc;
    if ((rc = cache_dir(opts, dir, sizeof dir))) {
        snprintf(err->msg, sizeof err->msg, "no cache folder: set ZVM_CACHE or HOME");
        return rc;
    }
    if ((rc = zv_eng_cc_identity(cc_name(opts), ident, sizeof ident))) {
        snprintf(err->msg, sizeof err->msg, "C compiler '%s' not found on PATH", cc_name(opts));
        return rc;
    }
    snprintf(key_text, sizeof key_text, "abi=%d translator=%d cc=%s O=%d interrupts=%d",
             ZV_ABI_VERSION, ZV_TRANSLATOR_VERSION, ident, opt_level(opts),
             !(opts && opts->no_interrupt_checks));
    {
        EVP_MD_CTX *h = EVP_MD_CTX_new();
        if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL) ||
            !EVP_DigestUpdate(h, m->sha256, 32) ||
            !EVP_DigestUpdate(h, key_text, strlen(key_text)) || !EVP_DigestFinal_ex(h, key, &len)) {
            EVP_MD_CTX_free(h);
            return -ENOMEM;
        }
        EVP_MD_CTX_free(h);
    }
    if ((rc = mkdir_p(dir))) {
        snprintf(err->msg, sizeof err->msg, "cannot create the cache folder %s: %s", dir,
                 strerror(-rc));
        return rc;
    }
    rc = snprintf(path, n, "%s/", dir);
    for (int i = 0; i < 32 && (size_t)rc < n; i++)
        rc += snprintf(path + rc, n - (size_t)rc, "%02x", key[i]);
    snprintf(path + rc, n - (size_t)rc, ".so");
    return 0;
}

/* Does fd hold a complete entry? Checks the trailer against the contents. */
static int entry_ok(int fd)
{
    struct stat st;
    uint8_t digest[32];
    unsigned len = 0;
    void *p;
    int ok;
    if (fstat(fd, &st) < 0 || st.st_size < TRAILER_BYTES + 64)
        return 0;
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return 0;
    {
        const uint8_t *b = p, *t = b + st.st_size - TRAILER_BYTES;
        ok = !memcmp(t, TRAILER_MAGIC, 8) &&
             EVP_Digest(b, (size_t)st.st_size - TRAILER_BYTES, digest, &len, EVP_sha256(), NULL) &&
             !memcmp(t + 8, digest, 32);
    }
    munmap(p, (size_t)st.st_size);
    return ok;
}

static int append_trailer(const char *so_path)
{
    uint8_t trailer[TRAILER_BYTES];
    unsigned len = 0;
    struct stat st;
    int fd = open(so_path, O_RDWR | O_CLOEXEC), rc = 0;
    void *p;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || st.st_size == 0) {
        rc = -EIO;
        goto out;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    memcpy(trailer, TRAILER_MAGIC, 8);
    if (!EVP_Digest(p, (size_t)st.st_size, trailer + 8, &len, EVP_sha256(), NULL))
        rc = -ENOMEM;
    munmap(p, (size_t)st.st_size);
    if (rc == 0 && pwrite(fd, trailer, sizeof trailer, st.st_size) != (ssize_t)sizeof trailer)
        rc = -EIO;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
out:
    close(fd);
    return rc;
}

/* Translate and compile into a temporary name, then rename into place. */
static int build_entry(const zv_val_module *m, const zv_eng_opts *opts, const char *path,
                       zv_eng_err *err)
{
    zv_eng_translate_opts topts = {!(opts && opts->no_interrupt_checks)};
    char c_path[4200], so_path[4200];
    FILE *f;
    int rc, fd;
    snprintf(c_path, sizeof c_path, "%s.%d.XXXXXX", path, (int)getpid());
    if ((fd = mkstemp(c_path)) < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot write in the cache folder: %s",
                 strerror(errno));
        return -errno;
    }
    snprintf(so_path, sizeof so_path, "%s.so", c_path);
    rc = -EIO;
    if ((f = fdopen(fd, "w"))) {
        rc = zv_eng_translate(m, &topts, f);
        if (fclose(f) != 0 && rc == 0)
            rc = -EIO;
    } else {
        close(fd);
    }
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "translation failed: %s", strerror(-rc));
        goto out;
    }
    /* gcc picks the language from the suffix: give it a .c name */
    {
        char c_named[4300];
        snprintf(c_named, sizeof c_named, "%s.c", c_path);
        if (rename(c_path, c_named) < 0) {
            rc = -errno;
            goto out;
        }
        snprintf(c_path, sizeof c_path, "%s", c_named);
    }
    if ((rc = zv_eng_cc_compile(cc_name(opts), opt_level(opts), c_path, so_path, err)))
        goto out;
    if ((rc = append_trailer(so_path)) == 0 && rename(so_path, path) < 0)
        rc = -errno;
    if (rc)
        snprintf(err->msg, sizeof err->msg, "cannot store %s: %s", path, strerror(-rc));
out:
    if (!getenv("ZVM_KEEP_C"))
        unlink(c_path);
    unlink(so_path);
    return rc;
}

int zv_eng_cache_get(const zv_val_module *m, const zv_eng_opts *opts, char *path, size_t n,
                     int *cached, int *fd_out, zv_eng_err *err)
{
    int rc, fd;
    if ((rc = entry_path(m, opts, path, n, err)))
        return rc;
    *cached = 1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && entry_ok(fd))
        goto done;
    if (fd >= 0)
        close(fd);
    *cached = 0;
    if ((rc = build_entry(m, opts, path, err)))
        return rc;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !entry_ok(fd)) {
        if (fd >= 0)
            close(fd);
        snprintf(err->msg, sizeof err->msg, "cache entry %s is unreadable after writing it", path);
        return -EIO;
    }
done:
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
    return 0;
}
