/*
 * cache_memo.c — what a full check of a file found, remembered in the
 * cache folder for as long as the file stays the same file, unchanged.
 *
 * Two checks read a whole file at every start: the SHA-256 of a module
 * read from a file (its cache key) and the HMAC of the cache entry its
 * code is loaded from (cache.c). For CPython (6.5 MB of wasm, a 9 MB
 * entry) they were a third of `zvm run`'s start-up (perf/README.md
 * "Dispatch loops; start-up's checks remembered"). A memo is a record beside the entries:
 * the file's stamp (device, inode, size, mtime, ctime), what the check
 * found, and the HMAC of both and of the record's name under the folder's
 * key. A lookup that finds a record of ours whose MAC holds and whose
 * stamp is the file's now takes the result without reading the file.
 *
 * Why a stamp stands for the bytes: every change to a file's contents
 * (a write, a truncation, another file at the same inode) sets its ctime
 * to the current time, and no call sets a ctime to anything else
 * (utimensat sets mtime and atime only). A record is written only for a
 * file whose ctime was at least MEMO_AGE seconds old when the check read
 * it, so a later change cannot leave the same ctime behind, even at the
 * kernel's coarse clock. That is the kernel's rule for the file systems
 * it keeps itself (zv_eng_memo_fs_ok); a network or FUSE file system
 * reports what its server says, so a module there is hashed every time.
 * Forging a record needs the key, as forging an entry's mark does; root,
 * who could set the clock back, can read the key too. Any failure here
 * only costs a full check.
 */
#include "engine/internal.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define MEMO_MAGIC "ZVMMEMO1"
#define MEMO_AGE 2 /* seconds */
#define STAMP_WORDS 7

typedef struct {
    char magic[8];
    uint64_t stamp[STAMP_WORDS];
    uint8_t found[32];
    uint8_t mac[32];
} memo_record;

static void stamp_of(const struct stat *st, uint64_t out[STAMP_WORDS])
{
    const uint64_t w[STAMP_WORDS] = {
        (uint64_t)st->st_dev,          (uint64_t)st->st_ino,          (uint64_t)st->st_size,
        (uint64_t)st->st_mtim.tv_sec,  (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_ctim.tv_sec,
        (uint64_t)st->st_ctim.tv_nsec,
    };
    memcpy(out, w, sizeof w);
}

/* The MAC of r's fields before it, and of the record's file name. */
static void memo_mac(const char *path, const uint8_t key[32], const memo_record *r, uint8_t out[32])
{
    const char *name = strrchr(path, '/');
    size_t n = strlen(name ? name + 1 : path);
    uint8_t msg[256 + offsetof(memo_record, mac)];
    if (n > 256)
        n = 256;
    memcpy(msg, name ? name + 1 : path, n);
    memcpy(msg + n, r, offsetof(memo_record, mac));
    zv_val_hmac_sha256(key, 32, msg, n + offsetof(memo_record, mac), out);
}

int zv_eng_memo_fs_ok(int fd)
{
    static const unsigned long kept[] = {EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC,
                                         F2FS_SUPER_MAGIC, TMPFS_MAGIC, OVERLAYFS_SUPER_MAGIC};
    struct statfs fs;
    if (fstatfs(fd, &fs))
        return 0;
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        if ((unsigned long)fs.f_type == kept[i])
            return 1;
    return 0;
}

int zv_eng_memo_get(const char *path, const uint8_t key[32], const struct stat *st,
                    uint8_t out[32])
{
    memo_record r;
    uint64_t now[STAMP_WORDS];
    uint8_t mac[32];
    volatile uint8_t diff = 0;
    struct stat rs;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ok;
    if (fd < 0)
        return 0;
    ok = fstat(fd, &rs) == 0 && S_ISREG(rs.st_mode) && rs.st_uid == geteuid() &&
         !(rs.st_mode & 022) && rs.st_size == (off_t)sizeof r &&
         read(fd, &r, sizeof r) == (ssize_t)sizeof r;
    close(fd);
    stamp_of(st, now);
    if (!ok || memcmp(r.magic, MEMO_MAGIC, 8) || memcmp(r.stamp, now, sizeof now))
        return 0;
    memo_mac(path, key, &r, mac);
    for (int i = 0; i < 32; i++) /* constant time: how far they agree says nothing */
        diff |= mac[i] ^ r.mac[i];
    if (diff)
        return 0;
    memcpy(out, r.found, 32);
    return 1;
}

void zv_eng_memo_put(const char *path, const uint8_t key[32], const struct stat *st,
                     const uint8_t found[32])
{
    struct timespec now;
    memo_record r;
    char tmp[4400];
    const char *name = strrchr(path, '/');
    int fd, ok;
    /* a file changed in the last MEMO_AGE seconds could change again with
     * the same ctime; and the temporary name is a build's (cache.c
     * sweep_stale), so that one left by a killed zvm is swept */
    if (clock_gettime(CLOCK_REALTIME, &now) || st->st_ctim.tv_sec > now.tv_sec - MEMO_AGE ||
        !name || strlen(name + 1) < 64 ||
        snprintf(tmp, sizeof tmp, "%.*s.so.%d.XXXXXX", (int)(name + 65 - path), path,
                 (int)getpid()) >= (int)sizeof tmp)
        return;
    memcpy(r.magic, MEMO_MAGIC, 8);
    stamp_of(st, r.stamp);
    memcpy(r.found, found, 32);
    memo_mac(path, key, &r, r.mac);
    if ((fd = mkstemp(tmp)) < 0)
        return;
    ok = write(fd, &r, sizeof r) == (ssize_t)sizeof r;
    if (close(fd) || !ok || rename(tmp, path))
        unlink(tmp);
}
