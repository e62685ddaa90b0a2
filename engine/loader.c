/*
 * loader.c — a module from bytes to loaded code: validate, find or build
 * the cache entry, dlopen the entry whose trailer was just verified, and bind
 * the descriptor. The result is immutable and shared by all threads.
 */
#include "engine/internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Spec validation, then the policy if the options give one. decode_only:
 * zv_val_module_decode, with the bytes' SHA-256 if known (sha); 2: of an
 * outline, without the code section. */
static int validate(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                    zv_val_module **out, zv_eng_err *err, int decode_only, const uint8_t *sha)
{
    zv_val_err verr = {0};
    int rc = decode_only ? zv_val_module_decode(bytes, size, sha, decode_only == 2, out, &verr)
                         : zv_val_module_new(bytes, size, out, &verr);
    if (rc == 0 && opts && opts->policy)
        rc = zv_val_check_policy(*out, opts->policy, &verr);
    if (rc == -EINVAL || rc == -EPERM)
        snprintf(err->msg, sizeof err->msg, "offset 0x%04zx: %s: %s", verr.offset,
                 verr.malformed ? "malformed" : "invalid", verr.msg);
    else if (rc)
        snprintf(err->msg, sizeof err->msg, "out of memory");
    return rc;
}

int zv_eng_validate(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                    zv_val_module **out, zv_eng_err *err)
{
    return validate(bytes, size, opts, out, err, 0, NULL);
}

int zv_eng_compile(const uint8_t *bytes, size_t size, const zv_eng_opts *opts, int *cached,
                   char *path_out, size_t path_size, zv_eng_err *err)
{
    zv_val_module *info = NULL;
    int rc = validate(bytes, size, opts, &info, err, 0, NULL);
    if (rc == 0)
        rc = zv_eng_cache_get(info, opts, path_out, path_size, cached, NULL, err);
    zv_val_module_free(info);
    return rc;
}

struct segment_search {
    uintptr_t base, lo, hi; /* the object's load address; the segment found */
    uintptr_t at;           /* in: an address it holds, or 0: the executable one */
    uint64_t off;           /* out: at's offset in the file (bytes mapped from it) */
};

/* The executable segment of the object loaded at `base`, or the one whose
 * file bytes hold `at`. */
static int find_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct segment_search *t = arg;
    (void)size;
    if (info->dlpi_addr != t->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD)
            continue;
        if (t->at ? t->at >= lo && t->at - lo < ph->p_filesz : (ph->p_flags & PF_X) != 0) {
            t->lo = lo;
            t->hi = t->lo + (t->at ? ph->p_filesz : ph->p_memsz);
            t->off = ph->p_offset + (t->at - lo);
            return 1;
        }
    }
    return 1; /* the object, without such a segment */
}

/* A big image laid out on whole pages (translate_module.c) is mapped
 * from the entry by a new memory (instance.c): where it is in fd's file. */
static void image_file(zv_eng_module *m, int fd, uintptr_t base)
{
    const zv_module_desc *d = m->desc;
    uint64_t head = d->image_offset % ZV_IMAGE_PAGE;
    uint64_t len = zv_eng_image_span(d->image_offset, d->image_size);
    struct segment_search t = {base, 0, 0, (uintptr_t)d->image - head, 0};
    if (!d->has_image || d->image_size < ZV_IMAGE_MAP_MIN || t.at % ZV_IMAGE_PAGE ||
        sysconf(_SC_PAGESIZE) != ZV_IMAGE_PAGE || /* (16 or 64 KiB pages: copied) */
        !dl_iterate_phdr(find_segment, &t) || !t.hi || t.off % ZV_IMAGE_PAGE ||
        len > t.hi - t.at)
        return; /* (an entry from tcc, which may place it otherwise: copied) */
    m->image_off = t.off;
    m->image_at = d->image_offset - head;
    m->image_len = len;
    m->image_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* -1: copied */
}

static int bind(zv_eng_module *m, int fd, const char *path, zv_eng_err *err)
{
    const zv_val_module *info = m->info;
    struct stat a, b;
    /* dlopen by path (glibc identifies objects by name, so a /proc/self/fd
     * name would alias), after checking that the path is still the file
     * whose trailer was verified through fd. */
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        snprintf(err->msg, sizeof err->msg, "cache entry %s changed while loading", path);
        return -EAGAIN;
    }
    if (!(m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        snprintf(err->msg, sizeof err->msg, "cannot load %s: %s", path, dlerror());
        return -EIO;
    }
    m->desc = dlsym(m->dl, ZV_DESC_SYMBOL);
    if (!m->desc || m->desc->abi_version != ZV_ABI_VERSION ||
        m->desc->n_funcs != info->n_funcs - info->n_imported_funcs ||
        m->desc->n_types != info->n_types) {
        snprintf(err->msg, sizeof err->msg, "%s does not match this module or zvm version", path);
        return -EIO;
    }
    {
        Dl_info dl;
        struct segment_search t = {0, 0, 0, 0, 0};
        if (dladdr(m->desc, &dl) &&
            (t.base = (uintptr_t)dl.dli_fbase, dl_iterate_phdr(find_segment, &t)) && t.hi &&
            zv_eng_code_register(t.lo, t.hi) == 0)
            m->text_lo = t.lo, m->text_hi = t.hi;
        if (t.base)
            image_file(m, fd, t.base);
    }
    if (!(m->type_ids = calloc(info->n_types + 1, sizeof *m->type_ids)))
        return -ENOMEM;
    for (uint32_t i = 0; i < info->n_types; i++) {
        const zv_val_functype *t = &info->types[i];
        if (!(m->type_ids[i] = zv_eng_type_id(t->params, t->n_params, t->results, t->n_results)))
            return -ENOMEM;
    }
    return 0;
}

/* Every module keeps the options another build of its bytes needs
 * (zv_eng_module_optimised, zv_eng_module_for_fork). */
static int remember_opts(zv_eng_module *m, const zv_eng_opts *opts)
{
    m->forks = zv_eng_build_forks(m->info, opts);
    if (!opts)
        return 0;
    m->fast_compile = opts->fast_compile;
    m->no_interrupt_checks = opts->no_interrupt_checks;
    if ((opts->cache_dir && !(m->cache_dir = strdup(opts->cache_dir))) ||
        (opts->cc && !(m->cc = strdup(opts->cc))))
        return -ENOMEM;
    return 0;
}

/* Start the optimised build in the background, or tell the caller once
 * that it failed before (`file`: the module's, or NULL). */
static void tier_up(const zv_val_module *info, const zv_eng_opts *opts, const char *file)
{
    zv_eng_err failed = {0};
    char msg[sizeof failed.msg + 200];
    /* best effort: without it, the next load builds */
    if (zv_eng_tier_up(info, opts, &failed) != 1 || !failed.msg[0] || !opts->tier_failed)
        return;
    snprintf(msg, sizeof msg, "%s%sits optimised build failed, so it runs from its baseline "
             "build (%s): %s", file ? file : "", file ? ": " : "", opts->baseline_cc, failed.msg);
    opts->tier_failed(opts->tier_failed_arg, msg);
}

/* zv_eng_module_load on bytes the module takes over (malloc'd; freed on
 * failure too): a file is read once, into the buffer the module keeps.
 * `file` (may be NULL) names it in what the caller is told. sha: the
 * bytes' SHA-256 as the cache remembers it for the file (or NULL); else
 * src (or NULL) is the file's stat, the same before and after the read,
 * under which the cache will remember it (zv_eng_cache_source_get).
 * outline_fd: the file, open, when only its outline was read
 * (zv_eng_read_outline): the whole is read if no cache entry is found. */
static int load_adopt(uint8_t *bytes, size_t size, const zv_eng_opts *opts, zv_eng_module **out,
                      int *cached, zv_eng_err *err, const char *file, const struct stat *src,
                      const uint8_t *sha, int outline_fd)
{
    zv_eng_module *m = calloc(1, sizeof *m);
    const zv_eng_opts *used = opts; /* the options of the entry found or made */
    zv_eng_opts base; /* the baseline tier's (used may point here) */
    char path[4200];
    int rc, fd = -1, was_cached = 0;
    *out = NULL;
    if (!m) {
        free(bytes);
        return -ENOMEM;
    }
    m->bytes = bytes;
    m->code_fd = -1;
    m->outline_fd = -1;
    m->image_fd = -1;
    /* A verified cache entry for these bytes is code made from them after
     * they passed validation: only decode what instantiation needs. The
     * module keeps an outline's file, for a build that needs the whole. */
    if (validate(m->bytes, size, opts, &m->info, err, outline_fd >= 0 ? 2 : 1, sha) == 0 &&
        zv_eng_cache_find(m->info, opts, path, sizeof path, &fd, err) == 1 &&
        (outline_fd < 0 || (m->outline_fd = fcntl(outline_fd, F_DUPFD_CLOEXEC, 0)) >= 0)) {
        was_cached = 1;
    } else {
        zv_val_module_free(m->info);
        m->info = NULL;
        if (fd >= 0)
            close(fd);
        fd = -1;
        if (outline_fd >= 0 && (rc = zv_eng_read_whole(outline_fd, m->bytes, size))) {
            snprintf(err->msg, sizeof err->msg, "cannot read: %s", strerror(-rc));
            goto out;
        }
        if ((rc = validate(m->bytes, size, opts, &m->info, err, 0, NULL)))
            goto out;
        base = opts ? *opts : (zv_eng_opts){0};
        base.cc = opts ? opts->baseline_cc : NULL;
        used = opts;
        rc = -ENOENT;
        /* the fast tier now, if tcc is installed (and the background build
         * would make the entry this load looks for: default options); if
         * tcc is missing or fails, gcc builds it as without tiering. Not
         * for a module with a fork point: a pool starts its records from
         * the paused set-up, which holds frames of the code it ran on and
         * so could never move to the optimised build */
        if (base.cc && !base.no_interrupt_checks && !base.fast_compile &&
            !zv_eng_uses_simd(m->info) && !zv_eng_build_forks(m->info, opts)) {
            rc = zv_eng_cache_get(m->info, &base, path, sizeof path, &was_cached, &fd, err);
            used = rc == 0 ? &base : opts;
            if (rc == 0 && opts->tier_up)
                tier_up(m->info, opts, file);
            m->baseline = rc == 0;
        }
        if (rc && rc != -ENOMEM)
            rc = zv_eng_cache_get(m->info, opts, path, sizeof path, &was_cached, &fd, err);
        if (rc)
            goto out;
    }
    /* Two processes loading a new module at once each build its entry, and
     * the second rename replaces the first one's file under its reader:
     * that reader takes the entry now in place (verified again), found
     * with the options of the entry it built. Each retry that fails was
     * another build landing, so 16 tries fail only when 16 builds of this
     * module land during one load. (Before, the loop's condition tested
     * the failed bind's status first, so it never retried: tier.sh.) */
    rc = remember_opts(m, opts);
    for (int tries = 0; rc == 0; tries++) {
        if ((rc = bind(m, fd, path, err)) != -EAGAIN || tries == 16)
            break;
        close(fd);
        fd = -1;
        if (zv_eng_cache_find(m->info, used, path, sizeof path, &fd, err) != 1)
            break; /* rc stays -EAGAIN, err says why */
        rc = 0;
    }
    if (fd >= 0)
        close(fd);
out:
    if (rc) {
        zv_eng_module_free(m);
        return rc;
    }
    if (src && !sha)
        zv_eng_cache_source_put(opts, src, m->info->sha256);
    if (cached)
        *cached = was_cached;
    *out = m;
    return 0;
}

/* A module from an artifact's bytes (taken over, as load_adopt), whose
 * file (fd, at path) was open: checked, trusted (a trust key's signature,
 * else ownership), validated, then its code
 * dlopen'ed from a memfd (artifact.c). No compiler and no cache. */
static int load_artifact(uint8_t *bytes, size_t size, int fd, const char *path,
                         const zv_eng_opts *opts, zv_eng_module **out, zv_eng_err *err)
{
    zv_eng_module *m = calloc(1, sizeof *m);
    zv_eng_code code;
    char so_path[64];
    int rc;
    *out = NULL;
    if (!m) {
        free(bytes);
        return -ENOMEM;
    }
    m->bytes = bytes;
    m->code_fd = -1;
    m->outline_fd = -1;
    m->image_fd = -1;
    if ((rc = zv_eng_artifact_check(bytes, size, &code, err)))
        goto out;
    if (opts && opts->trust_key)
        rc = zv_eng_artifact_signed_by(bytes, &code, opts->trust_key, err);
    else
        rc = zv_eng_artifact_trusted(fd, path, err);
    if (rc)
        goto out;
    if ((rc = zv_eng_code_memfd(&code, so_path, sizeof so_path, err)) < 0)
        goto out;
    m->code_fd = rc;
    /* the module's bytes to the front: the module keeps only them */
    memmove(m->bytes, code.wasm, code.wasm_bytes);
    if ((rc = validate(m->bytes, code.wasm_bytes, opts, &m->info, err, 0, NULL)))
        goto out;
    rc = bind(m, m->code_fd, so_path, err);
out:
    if (rc) {
        zv_eng_module_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int zv_eng_module_load(const uint8_t *bytes, size_t size, const zv_eng_opts *opts,
                       zv_eng_module **out, int *cached, zv_eng_err *err)
{
    uint8_t *copy = malloc(size ? size : 1);
    *out = NULL;
    if (!copy)
        return -ENOMEM;
    zv_eng_prefault(copy, size);
    memcpy(copy, bytes, size);
    return load_adopt(copy, size, opts, out, cached, err, NULL, NULL, NULL, -1);
}

/* The folder of the file a module came from, absolute (the images its
 * zvm.mount section names are there). */
static int module_dir(const char *path, zv_eng_module *m)
{
    char buf[PATH_MAX];
    if (!realpath(path, buf))
        return 0; /* gone since it was read: no folder, so no images */
    *strrchr(buf, '/') = 0;
    return (m->dir = strdup(buf[0] ? buf : "/")) ? 0 : -ENOMEM;
}

int zv_eng_module_load_file(const char *path, const zv_eng_opts *opts, zv_eng_module **out,
                            int *cached, zv_eng_err *err)
{
    struct stat st, after;
    uint8_t *bytes = NULL, sha[32], head[8];
    size_t size;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc, same, memo_fs, known;
    *out = NULL;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EISDIR;
        goto fail;
    }
    size = (size_t)st.st_size;
    if (!(bytes = malloc(size ? size : 1))) {
        rc = -ENOMEM;
        goto fail;
    }
    /* A file whose hash the cache remembers is read in outline: a cache
     * hit needs no more. Where ctimes are the server's, no memo of its
     * hash is asked or made; nor for an artifact, which has no cache. */
    memo_fs = zv_eng_memo_fs_ok(fd);
    known = memo_fs && pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
            !zv_eng_artifact_is(head, sizeof head) && zv_eng_cache_source_get(opts, &st, sha);
    rc = known ? zv_eng_read_outline(fd, bytes, size) : zv_eng_read_whole(fd, bytes, size);
    same = memo_fs && fstat(fd, &after) == 0 && after.st_size == st.st_size &&
           after.st_ctim.tv_sec == st.st_ctim.tv_sec &&
           after.st_ctim.tv_nsec == st.st_ctim.tv_nsec;
    /* changed while it was read: the memo's hash may not be these bytes' */
    if (rc == 1 && !same)
        rc = zv_eng_read_whole(fd, bytes, size);
    if (rc < 0)
        goto fail;
    known = known && same;
    if (zv_eng_artifact_is(bytes, size)) {
        if (cached)
            *cached = 1;
        rc = load_artifact(bytes, size, fd, path, opts, out, err);
    } else {
        rc = load_adopt(bytes, size, opts, out, cached, err, path, same && !known ? &st : NULL,
                        known ? sha : NULL, rc == 1 ? fd : -1);
    }
    close(fd);
    if (rc == 0 && module_dir(path, *out)) {
        zv_eng_module_free(*out);
        *out = NULL;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        rc = -ENOMEM;
    }
    if (rc) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, msg);
    }
    return rc;
fail:
    snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path,
             rc == -EISDIR ? "not a regular file" : strerror(-rc));
    if (fd >= 0)
        close(fd);
    free(bytes);
    return rc;
}

void zv_eng_module_free(zv_eng_module *m)
{
    if (!m)
        return;
    if (m->text_lo)
        zv_eng_code_unregister(m->text_lo);
    if (m->dl)
        dlclose(m->dl);
    if (m->code_fd >= 0)
        close(m->code_fd); /* after dlclose: its name is free again only now */
    if (m->outline_fd >= 0)
        close(m->outline_fd);
    if (m->image_fd >= 0)
        close(m->image_fd);
    zv_val_module_free(m->info);
    free(m->type_ids);
    free(m->bytes);
    free(m->cache_dir);
    free(m->cc);
    free(m->dir);
    free(m);
}

int zv_eng_module_is_baseline(const zv_eng_module *m) { return m->baseline; }

/* Another build of m's bytes (o: its options): from its own bytes, or,
 * when it was read in outline, from its file read again whole and checked
 * against its hash. */
static int load_again(const zv_eng_module *m, const zv_eng_opts *o, zv_eng_module **out,
                      zv_eng_err *err)
{
    size_t size = m->info->size_bytes;
    uint8_t *b, sha[32];
    int rc;
    if (m->outline_fd < 0)
        return zv_eng_module_load(m->bytes, size, o, out, NULL, err);
    *out = NULL;
    if (!(b = malloc(size ? size : 1)))
        return -ENOMEM;
    if ((rc = zv_eng_read_whole(m->outline_fd, b, size)) || (rc = zv_val_sha256(b, size, sha)) ||
        memcmp(sha, m->info->sha256, sizeof sha)) {
        free(b);
        if (rc)
            snprintf(err->msg, sizeof err->msg, "cannot read the module again: %s", strerror(-rc));
        else
            snprintf(err->msg, sizeof err->msg, "the module's file changed since it was loaded");
        return rc ? rc : -ESTALE;
    }
    return load_adopt(b, size, o, out, NULL, err, NULL, NULL, sha, -1);
}

int zv_eng_module_optimised(const zv_eng_module *m, zv_eng_module **out, zv_eng_err *err)
{
    zv_eng_opts o = {0};
    char path[4200], pending[4300];
    int fd = -1, rc;
    o.cache_dir = m->cache_dir;
    o.cc = m->cc;
    o.fast_compile = m->fast_compile;
    o.no_interrupt_checks = m->no_interrupt_checks;
    *out = NULL;
    if ((rc = zv_eng_cache_find(m->info, &o, path, sizeof path, &fd, err)) < 0)
        return rc;
    if (rc == 1) {
        close(fd); /* found: the load checks it again and binds it */
        return load_again(m, &o, out, err);
    }
    snprintf(pending, sizeof pending, "%s.pending", path);
    return access(pending, F_OK) == 0 ? -EINPROGRESS : -ENOENT;
}

const zv_val_module *zv_eng_module_info(const zv_eng_module *m) { return m->info; }

int zv_eng_module_fork_build(const zv_eng_module *m) { return m->forks; }

int zv_eng_module_for_fork(const zv_eng_module *m, zv_eng_module **out, zv_eng_err *err)
{
    zv_eng_opts o = {0};
    o.cache_dir = m->cache_dir;
    o.cc = m->cc;
    o.fast_compile = m->fast_compile;
    o.no_interrupt_checks = m->no_interrupt_checks;
    o.fork_point = 1;
    return load_again(m, &o, out, err);
}
