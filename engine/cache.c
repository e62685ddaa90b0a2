/*
 * cache.c — the code cache: compiled modules on disk, content-addressed,
 * and trusted only when they are provably ours.
 *
 * The key is SHA-256 over the module's SHA-256, the ABI and translator
 * versions, the compiler's identity (resolved path, size, mtime), the
 * optimisation level and the translator options: collision-resistant,
 * because tenants share the cache. Entries are written to a temporary
 * file (mkstemp) and renamed into place, so concurrent writers leave one
 * good entry. What goes into that file, translated and compiled, is
 * cache_build.c's.
 *
 * A cache entry is native code that zvm will dlopen, and dlopen runs an
 * ELF constructor before anything can be checked. So an entry is loaded
 * only when both of these hold:
 * - the folder is ours: the cache folder is owned by the running user and
 *   writable by nobody else, and every folder above it is owned by that
 *   user or root and writable by nobody else, unless it is root's and
 *   sticky (as /tmp): the rule OpenSSH applies to ~/.ssh. Files written by
 *   any other Unix user can then not be there; the entry itself must be a
 *   regular file of ours, opened without following links.
 * - the entry carries our mark: a 40-byte trailer, "ZVMCACH2" and the
 *   HMAC-SHA256 of everything before it under a 32-byte key kept in the
 *   folder (`key`, mode 0600, made from getrandom on first use). A planted
 *   file, even one in a folder that passes the checks (root's, say), fails
 *   without the key; a truncated or corrupted entry fails too and is
 *   rebuilt, never loaded. Once an entry's mark verified, a memo says so
 *   while the file is unchanged (cache_memo.c); a module file's SHA-256
 *   is remembered the same way (zv_eng_cache_source_get).
 *
 * Failed builds. A module the compiler cannot build within its limits
 * fails the same way every time, after up to ZV_ENG_CC_CPU_SECONDS of
 * CPU: tiering would start that build again in the background on every
 * run. So the failure is recorded beside where the entry would be, under
 * the same key: ENTRY.failed.new, with the limits it had and the message.
 * The first load that finds it renames it ENTRY.failed (one rename wins
 * among concurrent loads) and tells its caller once; later loads stay on
 * the baseline build silently, and a build of that entry (zvm compile)
 * reports the failure without running the compiler. Larger limits than
 * those recorded try again; a build that succeeds removes the record.
 * Other failures are not recorded: a compiler that rejects our C is a bug
 * to see every time, and one that could not start, or whose assembler
 * found the disk full, may well succeed next time. The record only ever
 * stops a build, and its message is printed: it is read only from a file
 * of ours, and only printable ASCII of it.
 */
#include "engine/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <spawn.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRAILER_MAGIC "ZVMCACH2"
#define TRAILER_BYTES ZV_ENG_CACHE_MARK_BYTES
#define KEY_BYTES 32
#define ENTRY_HEX 64 /* an entry's name: its key's 32 bytes in hex (entry_path) */

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

/* Folders zvm creates are the user's alone. */
static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int zv_eng_secure_dir(const char *dir, const char *what, int last_mine, zv_eng_err *err)
{
    char real[4096], part[4096];
    uid_t me = geteuid();
    size_t n;
    if (!realpath(dir, real)) {
        snprintf(err->msg, sizeof err->msg, "%s %s: %s", what, dir, strerror(errno));
        return -errno;
    }
    n = strlen(real);
    for (size_t i = 0; i <= n; i++) {
        struct stat st;
        int last = i == n && last_mine, group_other_w;
        if (real[i] != '/' && i != n)
            continue;
        snprintf(part, sizeof part, "%.*s", i ? (int)i : 1, real);
        if (lstat(part, &st) < 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err->msg, sizeof err->msg, "%s %s: %s is not a folder", what, dir, part);
            return -EPERM;
        }
        group_other_w = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
        if (last ? st.st_uid != me || group_other_w
                 : (st.st_uid != me && st.st_uid != 0) ||
                       (group_other_w && !(st.st_uid == 0 && (st.st_mode & S_ISVTX)))) {
            snprintf(err->msg, sizeof err->msg,
                     "%s %s: %s is %s: refusing to load native code from it", what, dir, part,
                     last && st.st_uid != me ? "owned by another user"
                     : group_other_w          ? "writable by other users"
                                              : "owned by another user");
            return -EPERM;
        }
    }
    return 0;
}

/* Is fd a regular file of ours that nobody else may write? */
static int ours(int fd, struct stat *st)
{
    return fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
           !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The folder's key: read, or made once (link() makes the first writer's
 * key the one everybody uses). */
static int load_key(const char *dir, uint8_t key[KEY_BYTES], zv_eng_err *err)
{
    char path[4200], tmp[4300];
    struct stat st;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd;
        snprintf(path, sizeof path, "%s/key", dir);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
            int ok = ours(fd, &st) && !(st.st_mode & 077) && st.st_size == KEY_BYTES &&
                     read(fd, key, KEY_BYTES) == KEY_BYTES;
            close(fd);
            if (ok)
                return 0;
            snprintf(err->msg, sizeof err->msg, "cache key %s is not a 32-byte file that only "
                     "this user can read: refusing the cache", path);
            return -EPERM;
        }
        if (errno != ENOENT)
            break;
        snprintf(tmp, sizeof tmp, "%s/key.XXXXXX", dir);
        if ((fd = mkstemp(tmp)) < 0)
            break;
        if (getrandom(key, KEY_BYTES, 0) != KEY_BYTES || write(fd, key, KEY_BYTES) != KEY_BYTES ||
            fsync(fd) < 0) {
            close(fd);
            unlink(tmp);
            break;
        }
        close(fd);
        if (link(tmp, path) < 0 && errno != EEXIST) {
            unlink(tmp);
            break;
        }
        unlink(tmp); /* ours or a concurrent maker's is in place: read it */
    }
    snprintf(err->msg, sizeof err->msg, "cannot make the cache key in %s: %s", dir,
             strerror(errno));
    return -EIO;
}

int zv_eng_translator_version(void) { return ZV_TRANSLATOR_VERSION; }

const char *zv_eng_cache_cc(const zv_eng_opts *opts)
{
    const char *env = getenv("ZVM_CC");
    if (opts && opts->cc)
        return opts->cc;
    return env && *env ? env : "gcc";
}

int zv_eng_cache_opt_level(const zv_eng_opts *opts) { return opts && opts->fast_compile ? 0 : 2; }

static int entry_path(const zv_val_module *m, const zv_eng_opts *opts, const char *dir,
                      char *path, size_t n, zv_eng_err *err)
{
    char ident[4400], key_text[4600];
    const char *isa = zv_eng_cc_isa();
    uint8_t key[32];
    int rc;
    if ((rc = zv_eng_cc_identity(zv_eng_cache_cc(opts), ident, sizeof ident))) {
        snprintf(err->msg, sizeof err->msg, "no C compiler ('%s' not found): build an "
                 "artifact with zvm compile -o on a build host", zv_eng_cache_cc(opts));
        return rc;
    }
    snprintf(key_text, sizeof key_text,
             "abi=%d translator=%d/%s cc=%s O=%d interrupts=%d dirty=%d isa=%s seg=%d",
             ZV_ABI_VERSION, ZV_TRANSLATOR_VERSION, zv_eng_translator_id, ident,
             zv_eng_cache_opt_level(opts),
             !(opts && opts->no_interrupt_checks),
             zv_eng_build_forks(m, opts), isa ? isa : "-", zv_eng_seg_on());
    {
        zv_val_sha256_ctx h;
        zv_val_sha256_init(&h);
        zv_val_sha256_update(&h, m->sha256, 32);
        zv_val_sha256_update(&h, key_text, strlen(key_text));
        zv_val_sha256_final(&h, key);
    }
    rc = snprintf(path, n, "%s/", dir);
    for (int i = 0; i < 32 && (size_t)rc < n; i++)
        rc += snprintf(path + rc, n - (size_t)rc, "%02x", key[i]);
    snprintf(path + rc, n - (size_t)rc, ".so");
    return 0;
}

static int mac(const uint8_t key[KEY_BYTES], const void *data, size_t n, uint8_t out[32])
{
    zv_val_hmac_sha256(key, KEY_BYTES, data, n, out);
    return 0;
}

/* Compare two marks in constant time: how far they agree says nothing. */
static int same_mark(const uint8_t *a, const uint8_t *b)
{
    volatile uint8_t diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

/* An entry's memo (cache_memo.c): "<entry>.ok" for "<entry>.so". */
static void memo_of(const char *so_path, char *out, size_t n)
{
    snprintf(out, n, "%.*s.ok", (int)(strlen(so_path) - 3), so_path);
}

/* Does fd (at path) hold a complete entry of ours, with our mark? Once
 * the mark verified, a memo says so for as long as the file is unchanged. */
static int entry_ok(int fd, const char *path, const uint8_t key[KEY_BYTES])
{
    static const uint8_t passed[32];
    struct stat st;
    uint8_t digest[32];
    char memo[4400];
    void *p;
    int ok;
    if (!ours(fd, &st) || st.st_size < TRAILER_BYTES + 64)
        return 0;
    memo_of(path, memo, sizeof memo);
    if (zv_eng_memo_get(memo, key, &st, digest))
        return 1;
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return 0;
    {
        const uint8_t *b = p, *t = b + st.st_size - TRAILER_BYTES;
        ok = !memcmp(t, TRAILER_MAGIC, 8) &&
             mac(key, b, (size_t)st.st_size - TRAILER_BYTES, digest) == 0 &&
             same_mark(t + 8, digest);
    }
    munmap(p, (size_t)st.st_size);
    if (ok)
        zv_eng_memo_put(memo, key, &st, passed);
    return ok;
}

static int append_trailer(const char *so_path, const uint8_t key[KEY_BYTES])
{
    uint8_t trailer[TRAILER_BYTES];
    struct stat st;
    int fd = open(so_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW), rc = 0;
    void *p;
    if (fd < 0)
        return -errno;
    if (!ours(fd, &st) || st.st_size == 0) {
        rc = -EIO;
        goto out;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    memcpy(trailer, TRAILER_MAGIC, 8);
    rc = mac(key, p, (size_t)st.st_size, trailer + 8);
    munmap(p, (size_t)st.st_size);
    if (rc == 0 && pwrite(fd, trailer, sizeof trailer, st.st_size) != (ssize_t)sizeof trailer)
        rc = -EIO;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
out:
    close(fd);
    return rc;
}

/* ---- failed builds ---- */

#define FAILED_SEEN ".failed"
#define FAILED_NEW ".failed.new"

/* The failure recorded in `name` if it holds at today's limits: 1 and its
 * code and message (printable ASCII), else 0. */
static int failure_read(const char *name, int *rc, char *msg, size_t n)
{
    char buf[1024], *text;
    unsigned long long cpu_s, mem_mb, now_cpu, now_mem;
    struct stat st;
    ssize_t got;
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), code;
    if (fd < 0)
        return 0;
    got = ours(fd, &st) ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    if (got <= 0)
        return 0;
    buf[got] = 0;
    zv_eng_cc_limits(&now_cpu, &now_mem);
    if (sscanf(buf, "cpu=%llu mem=%llu rc=%d", &cpu_s, &mem_mb, &code) != 3 ||
        code != -E2BIG || cpu_s < now_cpu || mem_mb < now_mem ||
        !(text = strchr(buf, '\n')))
        return 0;
    text++;
    text[strcspn(text, "\n")] = 0;
    for (char *p = text; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    *rc = code;
    snprintf(msg, n, "%s", text);
    return 1;
}

/* Is a failure to build the entry at `path` recorded (and does it still
 * hold)? 1 with its code and err->msg saying so, else 0. With `claim`,
 * *first says whether this call found it unreported (and made it
 * reported). */
static int failure_find(const char *path, int claim, int *first, int *rc, zv_eng_err *err)
{
    char fresh[4400], seen[4400], text[sizeof err->msg];
    const char *at = seen;
    snprintf(fresh, sizeof fresh, "%s" FAILED_NEW, path);
    snprintf(seen, sizeof seen, "%s" FAILED_SEEN, path);
    *first = 0;
    if (failure_read(fresh, rc, text, sizeof text)) {
        if (claim)
            *first = rename(fresh, seen) == 0;
        else
            at = fresh;
    } else if (!failure_read(seen, rc, text, sizeof text)) {
        return 0;
    }
    snprintf(err->msg, sizeof err->msg, "%s (recorded in %s; not tried again unless "
             "ZVM_CC_CPU_SECONDS or ZVM_CC_MEMORY_MB is larger or that file is removed)",
             text, at);
    return 1;
}

/* Record the compiler's verdict on the entry at `path` (best effort: a
 * record lost is a build tried again). */
static void failure_record(const char *path, int rc, const char *msg)
{
    char tmp[4400], name[4400];
    unsigned long long cpu_s, mem_mb;
    int fd = -1, ok;
    FILE *f;
    zv_eng_cc_limits(&cpu_s, &mem_mb);
    /* a temporary name sweep_stale knows, should zvm die before the rename */
    snprintf(tmp, sizeof tmp, "%s.%d.XXXXXX", path, (int)getpid());
    if ((fd = mkstemp(tmp)) < 0)
        return;
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        unlink(tmp);
        return;
    }
    fprintf(f, "cpu=%llu mem=%llu rc=%d\n%s\n", cpu_s, mem_mb, rc, msg);
    snprintf(name, sizeof name, "%s" FAILED_NEW, path);
    ok = fclose(f) == 0 && rename(tmp, name) == 0;
    if (!ok)
        unlink(tmp);
}

static void failure_clear(const char *path)
{
    char name[4400];
    snprintf(name, sizeof name, "%s" FAILED_NEW, path);
    unlink(name);
    snprintf(name, sizeof name, "%s" FAILED_SEEN, path);
    unlink(name);
}

/* Temporary files of builds whose zvm was killed: "<entry>.so.<pid>.XXXXXX"
 * with suffixes. Removed when that pid is gone.
 * Nothing else is: not the C that ZVM_KEEP_C keeps (keep_unit), not a
 * file someone else put there. */
static void sweep_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *p = e->d_name + ENTRY_HEX;
        char path[4400], *end;
        long pid;
        if (strlen(e->d_name) < ENTRY_HEX + 4 ||
            strspn(e->d_name, "0123456789abcdef") != ENTRY_HEX || memcmp(p, ".so.", 4))
            continue;
        pid = strtol(p + 4, &end, 10);
        if (end == p + 4 || *end != '.' || strlen(end + 1) < 6 || pid <= 0 ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
}

/* A module whose code is larger than this is refused before anything is
 * translated: its C (about 25 bytes per byte of code) would fill the disk
 * and the compiler's limits would stop it anyway. perf/gen_module's 9 MB
 * module is well within. */
#define MAX_CODE_BYTES (64u << 20)

/* Translate and compile into temporary names, then rename into place. */
static int build_entry(const zv_val_module *m, const zv_eng_opts *opts, const char *path,
                       const uint8_t key[KEY_BYTES], zv_eng_err *err)
{
    char base[4200], so_path[4300];
    uint64_t code = 0;
    int rc, fd;
    for (uint32_t i = m->n_imported_funcs; i < m->n_funcs; i++)
        code += m->funcs[i].code_end - m->funcs[i].code_offset;
    if (code > MAX_CODE_BYTES) {
        snprintf(err->msg, sizeof err->msg, "too large to compile: %llu MiB of code (at most %u)",
                 (unsigned long long)(code >> 20), MAX_CODE_BYTES >> 20);
        return -E2BIG;
    }
    snprintf(base, sizeof base, "%s.%d.XXXXXX", path, (int)getpid());
    if ((fd = mkstemp(base)) < 0) {
        rc = -errno;
        snprintf(err->msg, sizeof err->msg, "cannot write in the cache folder: %s", strerror(-rc));
        return rc;
    }
    close(fd); /* the name is ours: units and the object are named after it */
    snprintf(so_path, sizeof so_path, "%s.so", base);
    rc = zv_eng_cache_compile(m, opts, base, so_path, path, err);
    if (rc == -E2BIG) /* past the compiler's limits: the same next time */
        failure_record(path, rc, err->msg);
    if (rc == 0) {
        if ((rc = append_trailer(so_path, key)) == 0 && rename(so_path, path) < 0)
            rc = -errno;
        if (rc)
            snprintf(err->msg, sizeof err->msg, "cannot store %s: %s", path, strerror(-rc));
        else
            failure_clear(path); /* one made at smaller limits */
    }
    unlink(so_path);
    unlink(base);
    return rc;
}

/* The folder (made and checked) and its key. */
static int open_folder(const zv_eng_opts *opts, char *dir, size_t dn, uint8_t key[KEY_BYTES],
                       zv_eng_err *err)
{
    int rc;
    if ((rc = cache_dir(opts, dir, dn))) {
        snprintf(err->msg, sizeof err->msg, "no cache folder: set ZVM_CACHE or HOME");
        return rc;
    }
    /* made on first use only */
    if ((rc = zv_eng_secure_dir(dir, "cache folder", 1, err)) == -ENOENT) {
        if ((rc = mkdir_p(dir))) {
            snprintf(err->msg, sizeof err->msg, "cannot create the cache folder %s: %s", dir,
                     strerror(-rc));
            return rc;
        }
        rc = zv_eng_secure_dir(dir, "cache folder", 1, err);
    }
    return rc ? rc : load_key(dir, key, err);
}

/* The folder, its key and m's entry path. */
static int open_cache(const zv_val_module *m, const zv_eng_opts *opts, char *dir, size_t dn,
                      uint8_t key[KEY_BYTES], char *path, size_t n, zv_eng_err *err)
{
    int rc = open_folder(opts, dir, dn, key, err);
    return rc ? rc : entry_path(m, opts, dir, path, n, err);
}

/* The memo of a module file's SHA-256: named by its device and inode. */
static int source_memo(const zv_eng_opts *opts, const struct stat *st, char *path, size_t n,
                       uint8_t key[KEY_BYTES])
{
    const uint64_t id[2] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
    char dir[4096];
    uint8_t h[32];
    zv_eng_err err;
    int k;
    if (open_folder(opts, dir, sizeof dir, key, &err))
        return -1;
    if (zv_val_sha256((const uint8_t *)id, sizeof id, h))
        return -1;
    k = snprintf(path, n, "%s/", dir);
    for (int i = 0; i < 32 && (size_t)k < n; i++)
        k += snprintf(path + k, n - (size_t)k, "%02x", h[i]);
    snprintf(path + k, n - (size_t)k, ".src");
    return 0;
}

int zv_eng_cache_source_get(const zv_eng_opts *opts, const struct stat *st, uint8_t sha[32])
{
    char path[4400];
    uint8_t key[KEY_BYTES];
    int rc = source_memo(opts, st, path, sizeof path, key) == 0 &&
             zv_eng_memo_get(path, key, st, sha);
    explicit_bzero(key, sizeof key);
    return rc;
}

void zv_eng_cache_source_put(const zv_eng_opts *opts, const struct stat *st,
                             const uint8_t sha[32])
{
    char path[4400];
    uint8_t key[KEY_BYTES];
    if (source_memo(opts, st, path, sizeof path, key) == 0)
        zv_eng_memo_put(path, key, st, sha);
    explicit_bzero(key, sizeof key);
}

int zv_eng_cache_find(const zv_val_module *m, const zv_eng_opts *opts, char *path, size_t n,
                      int *fd_out, zv_eng_err *err)
{
    char dir[4096];
    uint8_t key[KEY_BYTES];
    int rc = open_cache(m, opts, dir, sizeof dir, key, path, n, err), fd = -1;
    if (rc == 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        rc = fd >= 0 && entry_ok(fd, path, key);
        if (rc)
            *fd_out = fd;
        else if (fd >= 0)
            close(fd);
    }
    explicit_bzero(key, sizeof key);
    return rc;
}

int zv_eng_cache_get(const zv_val_module *m, const zv_eng_opts *opts, char *path, size_t n,
                     int *cached, int *fd_out, zv_eng_err *err)
{
    char dir[4096];
    uint8_t key[KEY_BYTES];
    int rc, fd, first;
    if ((rc = open_cache(m, opts, dir, sizeof dir, key, path, n, err)))
        goto out;
    *cached = 1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && entry_ok(fd, path, key))
        goto done;
    if (fd >= 0)
        close(fd);
    *cached = 0;
    if (failure_find(path, 0, &first, &rc, err) || (rc = zv_eng_cc_env_check(err)))
        goto out;
    sweep_stale(dir);
    if ((rc = build_entry(m, opts, path, key, err)))
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || !entry_ok(fd, path, key)) {
        if (fd >= 0)
            close(fd);
        snprintf(err->msg, sizeof err->msg, "cache entry %s is unreadable after writing it", path);
        rc = -EIO;
        goto out;
    }
done:
    if (fd_out)
        *fd_out = fd;
    else
        close(fd);
out:
    explicit_bzero(key, sizeof key);
    return rc;
}

/* Tier-up: the module's bytes go to ENTRY.pending (made once: a second
 * load while it builds starts nothing; one older than 10 minutes is a
 * build that died), and a detached `tier_up compile --cache DIR` builds
 * the entry at low priority, then removes the file. Not when that build
 * failed before (failure_find). */
int zv_eng_tier_up(const zv_val_module *m, const zv_eng_opts *opts, zv_eng_err *failed)
{
    char dir[4096], path[4200], pending[4300];
    const char *sh_cmd = "(nice -n 10 \"$0\" compile --cache \"$1\" \"$2\"; rm -f \"$2\") "
                         ">/dev/null 2>&1 </dev/null &";
    char self[4096];
    char *argv[] = {"/bin/sh", "-c", (char *)sh_cmd, self, dir, pending, NULL};
    zv_eng_err err;
    posix_spawnattr_t attr;
    struct stat st;
    pid_t pid;
    int fd, rc, first;
    if (cache_dir(opts, dir, sizeof dir) || entry_path(m, opts, dir, path, sizeof path, &err))
        return -EINVAL;
    if (failure_find(path, 1, &first, &rc, failed)) {
        if (!first)
            failed->msg[0] = 0; /* told before */
        return 1;
    }
    if (!realpath(opts->tier_up, self))
        return -errno;
    snprintf(pending, sizeof pending, "%s.pending", path);
    if (stat(pending, &st) == 0 && time(NULL) - st.st_mtime > 600)
        unlink(pending);
    if ((fd = open(pending, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
        return errno == EEXIST ? 0 : -errno;
    rc = write(fd, m->bytes, m->size_bytes) == (ssize_t)m->size_bytes ? 0 : -EIO;
    close(fd);
    if (rc) {
        unlink(pending);
        return rc;
    }
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    rc = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc) {
        unlink(pending);
        return -rc;
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) /* the shell only starts it */
        ;
    return 0;
}
