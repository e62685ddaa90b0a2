/*
 * host_dir.c — WASI's path and file calls on a preopened host directory
 * (`zvm run --dir HOST[::GUEST]`): a declared window onto the host. File
 * contents go through the session's io_uring ring (host_wasi.c); the
 * metadata calls here are plain syscalls, because io_uring has none for
 * them: openat2, mkdirat, unlinkat, renameat, linkat, symlinkat,
 * readlinkat, fstatat/fstat, utimensat/futimens, ftruncate, fsync,
 * fdatasync, posix_fadvise, fallocate, fcntl, getdents64, lseek, close.
 * `zvm run` sessions are not pool workers, so the workers' seccomp filter
 * does not meet them.
 *
 * No path leaves its directory: every lookup is openat2 with
 * RESOLVE_BENEATH (Linux 5.6), so `..` above the start, an absolute path
 * or an absolute symlink fails in the kernel (EXDEV, which the guest sees
 * as WE_PERM, as wasmtime reports it), and magic links (/proc) are
 * refused. A call that works on the last component (mkdir, unlink, ...)
 * first opens the component's parent that way, then names the last
 * component relative to it; a last component of ".." is checked the same
 * way before the call.
 *
 * A read-only --dir (`zvm run --dir HOST::GUEST:ro`, and every --dir of
 * a pool's records: records never write the host) is refused here, once
 * for every call that would change the host: an open for writing,
 * creating or truncating, and mkdir, rmdir, unlink, rename, link,
 * symlink, the times, truncate and allocate say EROFS. Its files are
 * opened O_RDONLY, so a write through one fails in the kernel too.
 *
 * Determinism covers the contents of a --dir, not its metadata: inode
 * numbers, times and listing order come from the host (listings are sorted
 * by name here, so at least the order is stable).
 */
#include "engine/host_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RESOLVE (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
#define LOOKUP_FOLLOW 1u /* WASI lookupflags: symlink_follow */

/* A Linux errno as WASI's; EXDEV from a lookup is an escape. */
static uint32_t err(int e) { return zv_host_errno(-e); }
static uint32_t lookup_err(int e) { return e == EXDEV ? WE_PERM : err(e); }

/* errno as WASI's, after closing fd. */
static uint32_t close_err(int fd)
{
    int e = errno;
    close(fd);
    return err(e);
}

static int openat2_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE};
    if (flags & O_CREAT)
        how.mode = 0666;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Split `path` into its parent (opened beneath dir, O_PATH) and its last
 * component (a pointer into path, trailing slashes kept: the kernel then
 * says ENOTDIR where POSIX does). Returns 0 or a WASI errno; *parent must
 * be closed by the caller when it is not dir->host. */
static uint32_t parent_of(zv_host_fd *dir, const char *path, int *parent, const char **last)
{
    size_t n = strlen(path), end = n;
    char buf[PATH_MAX];
    if (!n)
        return WE_NOENT;
    while (end > 1 && path[end - 1] == '/')
        end--; /* trailing slashes belong to the last component */
    while (end > 0 && path[end - 1] != '/')
        end--;
    *last = path + end;
    if (path[0] == '/')
        return WE_PERM; /* absolute: not beneath anything */
    if (end == 0) {
        *parent = dir->host;
    } else {
        if (end >= sizeof buf)
            return WE_NAMETOOLONG;
        memcpy(buf, path, end);
        buf[end] = 0;
        if ((*parent = openat2_beneath(dir->host, buf, O_PATH | O_DIRECTORY)) < 0)
            return lookup_err(errno);
    }
    /* ".." names the parent's parent: it must still be beneath dir */
    if (!strncmp(*last, "..", 2) && ((*last)[2] == 0 || (*last)[2] == '/')) {
        int probe = openat2_beneath(dir->host, path, O_PATH);
        if (probe < 0) {
            if (*parent != dir->host)
                close(*parent);
            return lookup_err(errno);
        }
        close(probe);
    }
    return 0;
}

static void parent_done(zv_host_fd *dir, int parent)
{
    if (parent != dir->host)
        close(parent);
}

static uint8_t wasi_type(mode_t m)
{
    return S_ISDIR(m) ? 3 : S_ISREG(m) ? 4 : S_ISLNK(m) ? 7 : S_ISCHR(m) ? 2 : S_ISBLK(m) ? 1
         : S_ISSOCK(m) ? 6 : 0;
}

static uint64_t ns(struct timespec t) { return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec; }

static void to_stat(const struct stat *st, zv_host_stat *out)
{
    out->dev = st->st_dev;
    out->ino = st->st_ino;
    out->nlink = st->st_nlink;
    out->size = (uint64_t)st->st_size;
    out->atim = ns(st->st_atim);
    out->mtim = ns(st->st_mtim);
    out->ctim = ns(st->st_ctim);
    out->type = wasi_type(st->st_mode);
}

int zv_hdir_preopen(const char *host, const char *guest, int ro, zv_host_fd *out, char *why,
                    size_t n)
{
    int fd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "--dir %s: %s", host, strerror(errno));
        return -errno;
    }
    memset(out, 0, sizeof *out);
    out->kind = ZV_FD_HOST;
    out->type = 3;
    out->host = fd;
    out->ro = ro != 0;
    out->preopen = guest;
    out->rights = zv_host_rights(3);
    out->inheriting = ZV_RIGHTS_ALL;
    return 0;
}

/* WASI oflags and fdflags. */
enum { O_CREAT_W = 1, O_DIRECTORY_W = 2, O_EXCL_W = 4, O_TRUNC_W = 8 };
enum { FD_APPEND = 1, FD_DSYNC = 2, FD_NONBLOCK = 4, FD_RSYNC = 8, FD_SYNC = 16 };
/* WASI rights that need the file open for reading or for writing. */
#define RIGHTS_READ ((1ull << 1) | (1ull << 14))
#define RIGHTS_WRITE ((1ull << 6) | (1ull << 8) | (1ull << 22))

uint32_t zv_hdir_open(zv_host_fd *dir, const char *path, uint32_t lookup, uint32_t oflags,
                      uint64_t rights, uint16_t fdflags, zv_host_fd *out)
{
    /* a directory opens to read unless fd_write is asked for (then EISDIR,
     * as on Linux); a file as its rights say */
    int want_w = oflags & O_DIRECTORY_W ? (rights & (1ull << 6)) != 0
                                         : (rights & RIGHTS_WRITE) || (oflags & O_TRUNC_W) ||
                                               (fdflags & FD_APPEND);
    int want_r = (rights & RIGHTS_READ) || !want_w;
    int flags = want_w ? (want_r ? O_RDWR : O_WRONLY) : O_RDONLY, fd;
    struct stat st;
    if (path[0] == '/')
        return WE_PERM;
    if (dir->ro && (want_w || (oflags & O_CREAT_W)))
        return WE_ROFS;
    if (oflags & O_CREAT_W)
        flags |= O_CREAT;
    if (oflags & O_EXCL_W)
        flags |= O_EXCL;
    if (oflags & O_TRUNC_W)
        flags |= O_TRUNC;
    if (oflags & O_DIRECTORY_W)
        flags |= O_DIRECTORY;
    if (!(lookup & LOOKUP_FOLLOW))
        flags |= O_NOFOLLOW;
    if (fdflags & FD_APPEND)
        flags |= O_APPEND;
    if (fdflags & FD_NONBLOCK)
        flags |= O_NONBLOCK;
    if (fdflags & (FD_SYNC | FD_RSYNC))
        flags |= O_SYNC;
    else if (fdflags & FD_DSYNC)
        flags |= O_DSYNC;
    fd = openat2_beneath(dir->host, path, flags);
    if (fd < 0 && errno == EISDIR && !(oflags & (O_CREAT_W | O_TRUNC_W)) &&
        !(fdflags & FD_APPEND) && !(rights & (1ull << 6))) /* a directory, opened to read */
        fd = openat2_beneath(dir->host, path, (flags & ~(O_WRONLY | O_RDWR)) | O_RDONLY);
    if (fd < 0)
        return lookup_err(errno);
    if (fstat(fd, &st) < 0)
        return close_err(fd);
    memset(out, 0, sizeof *out);
    out->kind = ZV_FD_HOST;
    out->ro = dir->ro;
    out->type = wasi_type(st.st_mode);
    out->flags = fdflags & (FD_APPEND | FD_DSYNC | FD_NONBLOCK | FD_RSYNC | FD_SYNC);
    out->host = fd;
    return 0;
}

/* A call on the last component of `path`, relative to its parent. */
#define ON_LAST(dir, path, call)                                                                   \
    do {                                                                                           \
        int parent_;                                                                               \
        const char *last_;                                                                         \
        uint32_t rc_ = (dir)->ro ? WE_ROFS : parent_of(dir, path, &parent_, &last_);               \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
        rc_ = (call(parent_, last_)) < 0 ? err(errno) : 0;                                         \
        parent_done(dir, parent_);                                                                 \
        return rc_;                                                                                \
    } while (0)

static int do_mkdir(int p, const char *name) { return mkdirat(p, name, 0777); }
static int do_rmdir(int p, const char *name) { return unlinkat(p, name, AT_REMOVEDIR); }

static int do_unlink(int p, const char *name)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '/') { /* "file/": POSIX says ENOTDIR, a directory EISDIR */
        struct stat st;
        if (fstatat(p, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            return -1;
        errno = S_ISDIR(st.st_mode) ? EISDIR : ENOTDIR;
        return -1;
    }
    return unlinkat(p, name, 0);
}

uint32_t zv_hdir_mkdir(zv_host_fd *dir, const char *path) { ON_LAST(dir, path, do_mkdir); }
uint32_t zv_hdir_rmdir(zv_host_fd *dir, const char *path) { ON_LAST(dir, path, do_rmdir); }
uint32_t zv_hdir_unlink(zv_host_fd *dir, const char *path) { ON_LAST(dir, path, do_unlink); }

/* Two paths, each relative to its own parent. */
static uint32_t two(zv_host_fd *d1, const char *p1, zv_host_fd *d2, const char *p2, int *a,
                    const char **l1, int *b, const char **l2)
{
    uint32_t rc = d1->ro || d2->ro ? WE_ROFS : parent_of(d1, p1, a, l1);
    if (rc)
        return rc;
    if ((rc = parent_of(d2, p2, b, l2)))
        parent_done(d1, *a);
    return rc;
}

uint32_t zv_hdir_rename(zv_host_fd *from_dir, const char *from, zv_host_fd *to_dir, const char *to)
{
    int a, b;
    const char *l1, *l2;
    uint32_t rc = two(from_dir, from, to_dir, to, &a, &l1, &b, &l2);
    if (rc)
        return rc;
    rc = renameat(a, l1, b, l2) < 0 ? err(errno) : 0;
    parent_done(from_dir, a);
    parent_done(to_dir, b);
    return rc;
}

uint32_t zv_hdir_link(zv_host_fd *from_dir, uint32_t lookup, const char *from, zv_host_fd *to_dir,
                      const char *to)
{
    int a, b;
    const char *l1, *l2;
    uint32_t rc;
    if (lookup & LOOKUP_FOLLOW)
        return WE_INVAL; /* following would leave the directory through a symlink */
    if ((rc = two(from_dir, from, to_dir, to, &a, &l1, &b, &l2)))
        return rc;
    rc = linkat(a, l1, b, l2, 0) < 0 ? err(errno) : 0;
    parent_done(from_dir, a);
    parent_done(to_dir, b);
    return rc;
}

uint32_t zv_hdir_symlink(const char *target, zv_host_fd *dir, const char *path)
{
    int parent;
    const char *last;
    uint32_t rc;
    if (target[0] == '/')
        return WE_PERM; /* it could never be followed */
    if (dir->ro)
        return WE_ROFS;
    if ((rc = parent_of(dir, path, &parent, &last)))
        return rc;
    rc = symlinkat(target, parent, last) < 0 ? err(errno) : 0;
    parent_done(dir, parent);
    return rc;
}

uint32_t zv_hdir_readlink(zv_host_fd *dir, const char *path, char *buf, size_t cap, size_t *len)
{
    int parent;
    const char *last;
    ssize_t n;
    uint32_t rc = parent_of(dir, path, &parent, &last);
    if (rc)
        return rc;
    n = readlinkat(parent, last, buf, cap);
    rc = n < 0 ? err(errno) : 0;
    parent_done(dir, parent);
    *len = n < 0 ? 0 : (size_t)n;
    return rc;
}

uint32_t zv_hdir_stat(zv_host_fd *dir, uint32_t lookup, const char *path, zv_host_stat *out)
{
    struct stat st;
    int fd;
    if (path[0] == '/')
        return WE_PERM;
    fd = openat2_beneath(dir->host, path, O_PATH | (lookup & LOOKUP_FOLLOW ? 0 : O_NOFOLLOW));
    if (fd < 0)
        return lookup_err(errno);
    if (fstat(fd, &st) < 0)
        return close_err(fd);
    close(fd);
    to_stat(&st, out);
    return 0;
}

/* WASI fstflags: atim 1, atim_now 2, mtim 4, mtim_now 8. */
static uint32_t times_of(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec t[2])
{
    if (((fst & 1) && (fst & 2)) || ((fst & 4) && (fst & 8)) || (fst & ~15u))
        return WE_INVAL;
    t[0] = fst & 2 ? (struct timespec){0, UTIME_NOW}
         : fst & 1 ? (struct timespec){(time_t)(atim / 1000000000ull), (long)(atim % 1000000000ull)}
                   : (struct timespec){0, UTIME_OMIT};
    t[1] = fst & 8 ? (struct timespec){0, UTIME_NOW}
         : fst & 4 ? (struct timespec){(time_t)(mtim / 1000000000ull), (long)(mtim % 1000000000ull)}
                   : (struct timespec){0, UTIME_OMIT};
    return 0;
}

uint32_t zv_hdir_utimes(zv_host_fd *dir, uint32_t lookup, const char *path, uint64_t atim,
                        uint64_t mtim, uint32_t fst)
{
    struct timespec t[2];
    int parent;
    const char *last;
    uint32_t rc = dir->ro ? WE_ROFS : times_of(atim, mtim, fst, t);
    if (rc || (rc = parent_of(dir, path, &parent, &last)))
        return rc;
    if (lookup & LOOKUP_FOLLOW) { /* the target, found beneath dir */
        int fd = openat2_beneath(dir->host, path, O_PATH);
        char proc[64];
        rc = fd < 0 ? lookup_err(errno) : 0;
        if (fd >= 0) {
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
            rc = utimensat(AT_FDCWD, proc, t, 0) < 0 ? err(errno) : 0;
            close(fd);
        }
    } else {
        rc = utimensat(parent, last, t, AT_SYMLINK_NOFOLLOW) < 0 ? err(errno) : 0;
    }
    parent_done(dir, parent);
    return rc;
}

uint32_t zv_hdir_fstat(zv_host_fd *f, zv_host_stat *out)
{
    struct stat st;
    if (fstat(f->host, &st) < 0)
        return err(errno);
    to_stat(&st, out);
    return 0;
}

uint32_t zv_hdir_futimes(zv_host_fd *f, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    struct timespec t[2];
    uint32_t rc = f->ro ? WE_ROFS : times_of(atim, mtim, fst, t);
    return rc ? rc : futimens(f->host, t) < 0 ? err(errno) : 0;
}

uint32_t zv_hdir_truncate(zv_host_fd *f, uint64_t size)
{
    if (f->ro)
        return WE_ROFS;
    if (size > INT64_MAX)
        return WE_INVAL;
    return ftruncate(f->host, (off_t)size) < 0 ? err(errno) : 0;
}

uint32_t zv_hdir_sync(zv_host_fd *f, int data_only)
{
    return (data_only ? fdatasync(f->host) : fsync(f->host)) < 0 ? err(errno) : 0;
}

uint32_t zv_hdir_advise(zv_host_fd *f, uint64_t off, uint64_t len, uint32_t advice)
{
    static const int adv[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                              POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
    if (advice > 5 || off > INT64_MAX || len > INT64_MAX)
        return WE_INVAL;
    if (f->type == 3)
        return WE_BADF;
    int rc = posix_fadvise(f->host, (off_t)off, (off_t)len, adv[advice]);
    return rc ? err(rc) : 0;
}

uint32_t zv_hdir_allocate(zv_host_fd *f, uint64_t off, uint64_t len)
{
    (void)off, (void)len;
    return f->type == 3 ? WE_BADF : WE_NOTSUP; /* as wasmtime: preview1 allocate is gone */
}

uint32_t zv_hdir_set_flags(zv_host_fd *f, uint16_t fdflags)
{
    int fl;
    if (fdflags & (FD_DSYNC | FD_RSYNC | FD_SYNC))
        return WE_NOTSUP; /* Linux cannot change them on an open file */
    if (f->ro && (fdflags & FD_APPEND))
        return WE_ROFS;
    if (!f->shared) { /* (a shared host file is every run's: its flags stay here only) */
        if ((fl = fcntl(f->host, F_GETFL)) < 0)
            return err(errno);
        fl = (fl & ~(O_APPEND | O_NONBLOCK)) | (fdflags & FD_APPEND ? O_APPEND : 0) |
             (fdflags & FD_NONBLOCK ? O_NONBLOCK : 0);
        if (fcntl(f->host, F_SETFL, fl) < 0)
            return err(errno);
    }
    f->flags = (uint16_t)((f->flags & ~(FD_APPEND | FD_NONBLOCK)) |
                          (fdflags & (FD_APPEND | FD_NONBLOCK)));
    return 0;
}

/* ---- listings ---- */

typedef struct {
    char *name;
    uint64_t ino;
    uint8_t type;
} dent;

static int dent_cmp(const void *a, const void *b)
{
    return strcmp(((const dent *)a)->name, ((const dent *)b)->name);
}

static uint8_t dtype(unsigned char t)
{
    return t == DT_DIR ? 3 : t == DT_REG ? 4 : t == DT_LNK ? 7 : t == DT_CHR ? 2 : t == DT_BLK ? 1
         : t == DT_SOCK ? 6 : 0;
}

uint32_t zv_hdir_readdir(zv_host_fd *f, uint64_t cookie,
                         int (*put)(void *arg, const char *name, size_t len, uint64_t next,
                                    uint64_t ino, uint8_t type),
                         void *arg)
{
    char buf[16384];
    dent *v = NULL;
    size_t n = 0, cap = 0;
    uint32_t rc = 0;
    int fd;
    if (f->type != 3)
        return WE_NOTDIR;
    if ((fd = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err(errno);
    for (;;) { /* the whole directory, then sorted: stable cookies */
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (got <= 0) {
            rc = got < 0 ? err(errno) : 0;
            break;
        }
        for (long at = 0; at < got;) {
            struct {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *e = (void *)(buf + at);
            if (n == cap) {
                dent *nv = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
                if (!nv) {
                    rc = WE_NOMEM;
                    goto out;
                }
                v = nv;
            }
            if (!(v[n].name = strdup(e->name))) {
                rc = WE_NOMEM;
                goto out;
            }
            v[n].ino = e->ino;
            v[n++].type = dtype(e->type);
            at += e->reclen;
        }
    }
    if (n > 1)
        qsort(v, n, sizeof *v, dent_cmp); /* "." and ".." sort first */
    for (uint64_t i = cookie; !rc && i < n; i++)
        if (!put(arg, v[i].name, strlen(v[i].name), i + 1, v[i].ino, v[i].type))
            break;
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    close(fd);
    return rc;
}
