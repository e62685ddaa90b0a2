/*
 * host_mem.c — the file system a manifest session or a pool record sees,
 * ZeroVM's ZRT model: a POSIX tree in memory, private to the instance.
 *
 * - The channels appear at their alias paths (/dev/stdin, /dev/input, ...):
 *   opening one gives a channel descriptor, with its limits and counters.
 * - A channel holding a tar image is mounted read-only at a path by the
 *   manifest's `Mount = ALIAS, PATH`. The image is read and parsed
 *   (host_tar.c) once per channel set (a session's, once per pool worker;
 *   each daemon job's), into nodes that point into the image's bytes;
 *   every live tree shares them. Members are sorted before they go in, so
 *   each directory takes its entries in order (an append each: 200,000
 *   members in reverse order took 7.6-11.7 s inserted one by one, with a
 *   memmove each); a member whose path climbs (`..`) is left out, as GNU
 *   tar leaves it out.
 * - What the program creates lives in memory, counts against the instance's
 *   Memory (with linear memory and tables: the caller passes the room
 *   left), and vanishes with the instance: a reset drops the live tree,
 *   and it is built again, lazily, only when a record touches a path. A
 *   record that touches no file pays nothing.
 * - Listings are sorted by name; timestamps come from the virtual clock
 *   (images keep their archive's times); inode numbers count up from the
 *   tree's build. So every run sees the same.
 *
 * This file keeps the tree (nodes, sorted entries, images, the copy at a
 * fork point); the calls by path and by descriptor are host_mem_path.c's.
 */
#include "engine/host_mem_private.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- nodes ---- */

/* Would `more` bytes pass the cap? */
int zv_mfs_full(const zv_mfs *fs, uint64_t more) { return fs->cap && fs->bytes + more > fs->cap; }

zv_mnode *zv_mnode_new(zv_mfs *fs, uint8_t type, uint64_t now)
{
    zv_mnode *n = zv_mfs_full(fs, NODE_BYTES) ? NULL : calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->type = type;
    n->channel = -1;
    n->ino = ++fs->next_ino;
    n->atim = n->mtim = n->ctim = now;
    n->next = fs->live;
    if (fs->live)
        fs->live->prev = n;
    fs->live = n;
    fs->bytes += NODE_BYTES;
    return n;
}

void zv_mnode_free(zv_mfs *fs, zv_mnode *n)
{
    for (uint32_t i = 0; i < n->n_ents; i++) {
        fs->bytes -= NAME_BYTES(strlen(n->ents[i].name));
        free(n->ents[i].name);
    }
    if (n->target)
        fs->bytes -= NAME_BYTES(strlen(n->target));
    free(n->ents);
    free(n->data);
    free(n->target);
    fs->bytes -= NODE_BYTES + n->cap + n->cap_ents * sizeof *n->ents;
    if (n->prev)
        n->prev->next = n->next;
    else
        fs->live = n->next;
    if (n->next)
        n->next->prev = n->prev;
    free(n);
}

/* A live node no name and no descriptor holds any more goes. */
void zv_mnode_maybe_free(zv_mfs *fs, zv_mnode *n)
{
    if (!n->ro && !n->nlink && !n->opens)
        zv_mnode_free(fs, n);
}

static int ent_cmp(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : an < bn ? -1 : an > bn;
}

/* Index of `name` in dir, or where it would go (*found 0): a removed
 * entry keeps its slot, so a listing's cookies (slot numbers) stay valid
 * while entries go. */
uint32_t zv_mnode_find(const zv_mnode *dir, const char *name, size_t len, int *found)
{
    uint32_t lo = 0, hi = dir->n_ents;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int c = ent_cmp(name, len, dir->ents[mid].name);
        if (!c) {
            *found = dir->ents[mid].node != NULL;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = 0;
    return lo;
}

uint32_t zv_mnode_n_live(const zv_mnode *dir)
{
    return dir->n_ents - dir->n_dead;
}

/* Drop the removed slots once they are half the directory and no open
 * descriptor holds a cookie into it: deletes stay O(1) amortised. */
void zv_mnode_compact(zv_mfs *fs, zv_mnode *dir)
{
    uint32_t k = 0;
    if (dir->opens || dir->n_dead * 2 <= dir->n_ents)
        return;
    for (uint32_t i = 0; i < dir->n_ents; i++) {
        if (dir->ents[i].node) {
            dir->ents[k++] = dir->ents[i];
        } else {
            fs->bytes -= NAME_BYTES(strlen(dir->ents[i].name));
            free(dir->ents[i].name);
        }
    }
    dir->n_ents = k;
    dir->n_dead = 0;
}

/* The bytes a new entry of a len-byte name costs dir: the name, and the
 * entry array's growth when it is full. */
uint64_t zv_mnode_ent_room(const zv_mnode *dir, size_t len)
{
    return NAME_BYTES(len) + (dir->n_ents == dir->cap_ents ? dir->cap_ents * sizeof *dir->ents : 0);
}

uint32_t zv_mnode_ent_add(zv_mfs *fs, zv_mnode *dir, const char *name, size_t len, zv_mnode *n)
{
    int found;
    uint32_t at = zv_mnode_find(dir, name, len, &found);
    char *copy;
    if (found)
        return WE_EXIST;
    if (at < dir->n_ents && !ent_cmp(name, len, dir->ents[at].name)) { /* its old slot */
        dir->ents[at].node = n;
        dir->n_dead--;
        if (!n->ro)
            n->nlink++;
        return WE_SUCCESS;
    }
    zv_mnode_compact(fs, dir);
    at = zv_mnode_find(dir, name, len, &found);
    if (zv_mfs_full(fs, zv_mnode_ent_room(dir, len)))
        return WE_NOSPC;
    if (dir->n_ents == dir->cap_ents) {
        uint32_t cap = dir->cap_ents ? dir->cap_ents * 2 : 8;
        struct zv_ment *v = realloc(dir->ents, cap * sizeof *v);
        if (!v)
            return WE_NOMEM;
        fs->bytes += (cap - dir->cap_ents) * sizeof *v;
        dir->ents = v;
        dir->cap_ents = cap;
    }
    if (!(copy = malloc(len + 1)))
        return WE_NOMEM;
    fs->bytes += NAME_BYTES(len); /* names count too */
    memcpy(copy, name, len);
    copy[len] = 0;
    memmove(dir->ents + at + 1, dir->ents + at, (dir->n_ents - at) * sizeof *dir->ents);
    dir->ents[at] = (struct zv_ment){copy, n};
    dir->n_ents++;
    if (!n->ro) /* an image's links do not change */
        n->nlink++;
    return WE_SUCCESS;
}

void zv_mnode_ent_del(zv_mfs *fs, zv_mnode *dir, uint32_t at)
{
    dir->ents[at].node = NULL;
    dir->n_dead++;
    zv_mnode_compact(fs, dir);
}

/* The directory at a slash-separated path from `dir`, made as needed (the
 * build of the live tree and of images). */
static zv_mnode *mkdirs(zv_mfs *fs, zv_mnode *dir, const char *path, uint64_t now)
{
    while (*path) {
        const char *end = strchr(path, '/');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        int found;
        uint32_t at;
        if (len && !(len == 1 && path[0] == '.')) {
            at = zv_mnode_find(dir, path, len, &found);
            if (found) {
                dir = dir->ents[at].node;
                if (dir->type != 3)
                    return NULL;
            } else {
                zv_mnode *d = zv_mnode_new(fs, 3, now);
                if (!d || zv_mnode_ent_add(fs, dir, path, len, d))
                    return NULL;
                dir = d;
            }
        }
        path += len + (end != NULL);
    }
    return dir;
}

/* ---- images (the format: host_tar.c) ---- */

/* The members of one image, collected then sorted: names live in one
 * buffer (offsets, since it grows). */
typedef struct {
    uint64_t name, link;   /* offsets into names */
    char *path;            /* the name, once names stops moving */
    uint64_t index;        /* archive order: the first of two equal names stays */
    const uint8_t *data;
    uint64_t size, mtime_ns;
    char type;
} member;

typedef struct {
    member *v;
    size_t n, cap;
    char *names;
    uint64_t names_len, names_cap;
    int failed;            /* out of host memory */
} members;

static int64_t keep_str(members *ms, const char *str, size_t len)
{
    if (ms->names_len + len + 1 > ms->names_cap) {
        uint64_t cap = ms->names_cap ? ms->names_cap * 2 : 4096;
        char *v;
        while (cap < ms->names_len + len + 1)
            cap *= 2;
        if (!(v = realloc(ms->names, cap)))
            return -1;
        ms->names = v;
        ms->names_cap = cap;
    }
    memcpy(ms->names + ms->names_len, str, len);
    ms->names[ms->names_len + len] = 0;
    ms->names_len += len + 1;
    return (int64_t)(ms->names_len - len - 1);
}

/* The member's path without empty and "." components; 0 if a component is
 * "..", or nothing is left. */
static size_t clean_path(const char *in, char *out)
{
    size_t n = 0;
    while (*in) {
        size_t len = strcspn(in, "/");
        if (len == 2 && in[0] == '.' && in[1] == '.')
            return 0;
        if (len && !(len == 1 && in[0] == '.')) {
            if (n)
                out[n++] = '/';
            memcpy(out + n, in, len);
            n += len;
        }
        in += len + (in[len] == '/');
    }
    out[n] = 0;
    return n;
}

static void collect(void *arg, zv_tar_member *t)
{
    members *ms = arg;
    char path[4096];
    size_t len = clean_path(t->name, path);
    int64_t name, link;
    if (!len || ms->failed)
        return; /* no name, or one that climbs: left out */
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? ms->cap * 2 : 256;
        member *v = realloc(ms->v, cap * sizeof *v);
        if (!v) {
            ms->failed = 1;
            return;
        }
        ms->v = v;
        ms->cap = cap;
    }
    if ((name = keep_str(ms, path, len)) < 0 || (link = keep_str(ms, t->link, strlen(t->link))) < 0) {
        ms->failed = 1;
        return;
    }
    ms->v[ms->n] = (member){(uint64_t)name, (uint64_t)link, NULL, ms->n, t->data, t->size,
                            t->mtime_ns, t->type};
    ms->n++;
}

/* Paths compared component by component ('/' below every other byte), so
 * that sorted members reach each directory in its entries' order. */
static int member_cmp(const void *a, const void *b)
{
    const member *x = a, *y = b;
    const unsigned char *p = (const unsigned char *)x->path, *q = (const unsigned char *)y->path;
    for (;; p++, q++) {
        int c = *p == '/' ? 1 : *p ? *p + 1 : 0, d = *q == '/' ? 1 : *q ? *q + 1 : 0;
        if (c != d)
            return c - d;
        if (!c)
            return x->index < y->index ? -1 : x->index > y->index;
    }
}

/* One member into the image's tree. A node that cannot be allocated is
 * left out: the image is then a partial tree (host memory ran out at
 * set-up), never a crash. */
static void add_member(zv_mfs *fs, zv_mnode *root, const members *ms, const member *t)
{
    char *name = t->path, *base = strrchr(name, '/');
    zv_mnode *dir = root, *n = NULL;
    if (base) {
        *base++ = 0;
        dir = mkdirs(fs, root, name, t->mtime_ns);
    } else {
        base = name;
    }
    if (dir && t->type == '5') {
        mkdirs(fs, dir, base, t->mtime_ns);
    } else if (dir) {
        if ((t->type == '0' || t->type == '\0' || t->type == '7') &&
            (n = zv_mnode_new(fs, 4, t->mtime_ns))) {
            n->data = (uint8_t *)t->data; /* the image's bytes: no copy */
            n->size = t->size;
        } else if (t->type == '2' && (n = zv_mnode_new(fs, 7, t->mtime_ns))) {
            n->target = strdup(ms->names + t->link);
        }
        if (n && zv_mnode_ent_add(fs, dir, base, strlen(base), n) == WE_EXIST)
            n->nlink = 0; /* a name twice: the first stays; this one is unreachable */
    }
}

/* Parse `img` into read-only nodes of fs (the images' arena) under a new
 * root. Returns the root, or NULL with `why` (a malformed archive names
 * its offset). */
static zv_mnode *parse_tar(zv_mfs *fs, const uint8_t *img, uint64_t size, int fd,
                           uint64_t deadline_ns, int *rc, char *why, size_t wn)
{
    members ms = {0};
    zv_mnode *root = zv_mnode_new(fs, 3, 0);
    *rc = -ENOMEM;
    if (root && !(*rc = zv_tar_walk(img, size, fd, deadline_ns, collect, &ms, why, wn)) && ms.failed)
        *rc = -ENOMEM;
    if (!*rc) {
        for (size_t i = 0; i < ms.n; i++)
            ms.v[i].path = ms.names + ms.v[i].name;
        qsort(ms.v, ms.n, sizeof *ms.v, member_cmp);
        for (size_t i = 0; i < ms.n; i++)
            add_member(fs, root, &ms, &ms.v[i]);
    }
    if (*rc == -ENOMEM)
        snprintf(why, wn, "out of memory");
    free(ms.v);
    free(ms.names);
    return *rc ? NULL : root;
}

/* Read an image's `size` bytes from fd (once, at set-up: plain reads). */
static int read_image(int fd, uint64_t size, uint8_t **out)
{
    uint64_t got = 0;
    if (!(*out = malloc((size_t)size + 1)))
        return -ENOMEM;
    while (got < size) {
        ssize_t k = pread(fd, *out + got, (size_t)(size - got), (off_t)got);
        if (k <= 0)
            return -EIO;
        got += (uint64_t)k;
    }
    return 0;
}

/* Mount i's source: the channel its Mount line names (m->mounts), read
 * into memory, or the file of a module's image (m->images,
 * "HOSTFILE::GUESTDIR"), mapped (*mapped: its length) as a shared
 * library is, for a start-up that neither zeroes nor copies it: its
 * bytes, size, name for messages and mount point; *map_fd: the file
 * mapped, open, for the caller to close (its tar headers are read from it). */
static int image_source(const zv_cfg_manifest *m, const zv_cfg_manifest *chm,
                        const zv_io_channel *ch, uint32_t i, uint8_t **bytes, uint64_t *size,
                        uint64_t *mapped, int *map_fd, char *name, size_t nn, const char **path,
                        char *why, size_t wn)
{
    struct stat st;
    const char *sep;
    int fd, rc;
    if (i < m->n_mounts) {
        int c = zv_cfg_find_channel(chm, m->mounts[i].alias);
        const zv_io_channel *src = c < 0 ? NULL : &ch[c];
        if (!src || src->kind != ZV_IO_REGULAR || !src->readable) {
            snprintf(why, wn, "Mount = %s: not a readable file channel", m->mounts[i].alias);
            return -EINVAL;
        }
        snprintf(name, nn, "Mount = %s: %s", m->mounts[i].alias, chm->channels[c].uri);
        *path = m->mounts[i].path;
        *size = (uint64_t)src->size;
        return read_image(src->fd, *size, bytes);
    }
    sep = strstr(m->images[i - m->n_mounts], "::");
    snprintf(name, nn, "%.*s", (int)(sep - m->images[i - m->n_mounts]), m->images[i - m->n_mounts]);
    *path = sep + 2;
    if ((fd = open(name, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
        !S_ISREG(st.st_mode)) {
        rc = fd < 0 ? -errno : -EINVAL;
        snprintf(why, wn, "the module's image %s: %s", name,
                 fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *size = (uint64_t)st.st_size;
    if (*size) {
        void *at = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
        rc = at == MAP_FAILED ? -errno : 0;
        if (rc == 0)
            *bytes = at, *mapped = *size, *map_fd = fd, fd = -1;
    } else {
        rc = read_image(fd, 0, bytes);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

int zv_mimages_new(const zv_cfg_manifest *m, const zv_cfg_manifest *chm, const zv_io_channel *ch,
                   uint64_t deadline_ns, zv_mimages **out, char *why, size_t wn)
{
    uint32_t total = m->n_mounts + m->n_images;
    zv_mimages *im;
    int rc = -ENOMEM;
    *out = NULL;
    if (!total)
        return 0;
    if (!(im = calloc(1, sizeof *im)) || !(im->mounts = calloc(total, sizeof *im->mounts)) ||
        !(im->bytes = calloc(total, sizeof *im->bytes)) ||
        !(im->mapped = calloc(total, sizeof *im->mapped)))
        goto fail;
    for (uint32_t i = 0; i < total; i++) {
        char name[4400], msg[300];
        const char *path = NULL;
        uint64_t size = 0;
        int fd = -1;
        why[0] = 0;
        rc = image_source(m, chm, ch, i, &im->bytes[im->n_bytes], &size,
                          &im->mapped[im->n_bytes], &fd, name, sizeof name, &path, why, wn);
        im->n_bytes += im->bytes[im->n_bytes] != NULL;
        if (rc == 0 && !(im->mounts[i].root = parse_tar(&im->arena, im->bytes[i], size, fd,
                                                         deadline_ns, &rc, msg, sizeof msg)))
            snprintf(why, wn, "%s: %s", name, msg);
        else if (rc && !why[0])
            snprintf(why, wn, "%s: cannot read the image", name);
        if (fd >= 0)
            close(fd);
        if (rc && rc != -ENOMEM && i >= m->n_mounts)
            rc = -ENOEXEC; /* the module's own image: the module is what is broken */
        if (rc)
            goto fail;
        im->mounts[i].path = path;
        im->n_mounts = i + 1;
    }
    for (zv_mnode *n = im->arena.live; n; n = n->next)
        n->ro = 1;
    *out = im;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(why, wn, "out of memory");
    zv_mimages_free(im);
    return rc;
}

uint32_t zv_mimages_count(const zv_mimages *im) { return im ? im->n_mounts : 0; }

zv_mnode *zv_mimages_root(const zv_mimages *im, uint32_t i, const char **path)
{
    *path = im->mounts[i].path;
    return im->mounts[i].root;
}

void zv_mimages_free(zv_mimages *im)
{
    if (!im)
        return;
    for (zv_mnode *n = im->arena.live; n; n = n->next)
        n->data = NULL; /* the image's bytes, freed below */
    while (im->arena.live)
        zv_mnode_free(&im->arena, im->arena.live);
    for (uint32_t i = 0; i < im->n_bytes; i++)
        if (im->mapped[i])
            munmap(im->bytes[i], (size_t)im->mapped[i]);
        else
            free(im->bytes[i]);
    free(im->bytes);
    free(im->mapped);
    free(im->mounts);
    free(im);
}

/* ---- the file system ---- */

int zv_mfs_new(zv_mfs **out)
{
    return (*out = calloc(1, sizeof **out)) ? 0 : -ENOMEM;
}

static void drop_tree(zv_mfs *fs, zv_mnode **list)
{
    zv_mnode *keep = fs->live;
    uint64_t bytes = fs->bytes;
    fs->live = *list;
    while (fs->live)
        zv_mnode_free(fs, fs->live);
    *list = NULL;
    fs->live = keep;
    fs->bytes = bytes;
}

void zv_mfs_free(zv_mfs *fs)
{
    if (!fs)
        return;
    zv_mfs_reset(fs);
    zv_mfs_unmark(fs);
    free(fs);
}

void zv_mfs_reset(zv_mfs *fs)
{
    if (!fs->root)
        return; /* untouched: nothing to do */
    while (fs->live)
        zv_mnode_free(fs, fs->live);
    fs->root = NULL;
    fs->bytes = 0;
}

/* Put image i's tree at its mount point in the live tree, or take it off
 * (undo): the mount point's entry, or for "/" the image's entries at the
 * root. */
static int mount_image(zv_mfs *fs, const mount *mt, int undo, uint64_t now)
{
    const char *p = mt->path, *base = strrchr(p, '/');
    char dir[4096];
    zv_mnode *d;
    int found;
    uint32_t at;
    if (!base || !base[1]) { /* "/": the image's entries at the root */
        for (uint32_t k = 0; k < mt->root->n_ents; k++) { /* images remove nothing */
            const struct zv_ment *e = &mt->root->ents[k];
            at = zv_mnode_find(fs->root, e->name, strlen(e->name), &found);
            if (undo && found && fs->root->ents[at].node == e->node)
                zv_mnode_ent_del(fs, fs->root, at);
            else if (!undo)
                zv_mnode_ent_add(fs, fs->root, e->name, strlen(e->name), e->node);
        }
        return 0;
    }
    snprintf(dir, sizeof dir, "%.*s", (int)(base - p), p);
    if (!(d = mkdirs(fs, fs->root, dir, now)))
        return -ENOMEM;
    at = zv_mnode_find(d, base + 1, strlen(base + 1), &found);
    if (found && (!undo || d->ents[at].node == mt->root))
        zv_mnode_ent_del(fs, d, at);
    if (!undo)
        zv_mnode_ent_add(fs, d, base + 1, strlen(base + 1), mt->root);
    return 0;
}

/* A built tree that had `from`'s images mounted gets fs->images' instead
 * (a daemon job's replace the daemon's; descriptors open on the old ones
 * keep them, as open files do). */
static void remount(zv_mfs *fs, const zv_mimages *from)
{
    uint64_t cap = fs->cap;
    if (!fs->root || from == fs->images)
        return;
    fs->cap = 0; /* the tree as it starts is not the run's to pay */
    for (uint32_t i = 0; from && i < from->n_mounts; i++)
        mount_image(fs, &from->mounts[i], 1, 0);
    for (uint32_t i = 0; fs->images && i < fs->images->n_mounts; i++)
        mount_image(fs, &fs->images->mounts[i], 0, 0);
    fs->cap = cap;
}

void zv_mfs_use(zv_mfs *fs, const zv_eng_channels *set)
{
    const zv_mimages *from = fs->images;
    fs->man = set->man;
    fs->ch = set->ch;
    fs->images = set->images;
    remount(fs, from);
}

/* The live tree as a record starts with it: the channels at their alias
 * paths, the images at their mount points. */
static int build(zv_mfs *fs, uint64_t now)
{
    fs->cap = 0; /* what every record starts with is not the record's to pay */
    fs->next_ino = 0;
    if (!(fs->root = zv_mnode_new(fs, 3, now)))
        return -ENOMEM;
    fs->root->nlink = 1;
    for (uint32_t i = 0; i < fs->man->n_channels; i++) {
        const char *alias = fs->man->channels[i].alias, *base = strrchr(alias, '/');
        char dir[4096];
        zv_mnode *d, *n;
        snprintf(dir, sizeof dir, "%.*s", base ? (int)(base - alias) : 0, alias);
        if (!(d = mkdirs(fs, fs->root, dir, now)) || !(n = zv_mnode_new(fs, 2, now)))
            return -ENOMEM;
        n->channel = (int32_t)i; /* its type and size: the channel's (zv_mnode_type) */
        if (zv_mnode_ent_add(fs, d, base ? base + 1 : alias, strlen(base ? base + 1 : alias), n))
            n->nlink = 0;
    }
    for (uint32_t i = 0; fs->images && i < fs->images->n_mounts; i++)
        if (mount_image(fs, &fs->images->mounts[i], 0, now))
            return -ENOMEM;
    return 0;
}

/* The live tree, built on first use. */
static zv_mnode *root_of(zv_mfs *fs, uint64_t now)
{
    if (!fs->root && build(fs, now)) {
        zv_mfs_reset(fs);
        while (fs->live) /* a partial build */
            zv_mnode_free(fs, fs->live);
        return NULL;
    }
    return fs->root;
}

zv_mnode *zv_mfs_root(zv_mfs *fs, uint64_t now) { return root_of(fs, now); }

/* ---- fork points: a copy of the live tree, and back ---- */

/* Copy the live nodes of `list` onto a new list; ents follow (image nodes
 * are shared). Each original's ->clone is its copy. */
static int clone_list(zv_mfs *fs, zv_mnode *list, zv_mnode **out)
{
    zv_mnode *keep = fs->live;
    uint64_t bytes = fs->bytes, ino = fs->next_ino, cap = fs->cap;
    int rc = 0;
    fs->live = NULL;
    fs->cap = 0;
    for (zv_mnode *n = list; n; n = n->next) {
        zv_mnode *c = zv_mnode_new(fs, n->type, 0);
        if (!c || (n->n_ents && !(c->ents = calloc(n->cap_ents, sizeof *c->ents))) ||
            (n->cap && !(c->data = malloc(n->cap))) || (n->target && !(c->target = strdup(n->target)))) {
            rc = -ENOMEM;
            break;
        }
        c->channel = n->channel;
        c->nlink = n->nlink;
        c->opens = n->opens;
        c->ino = n->ino;
        c->atim = n->atim, c->mtim = n->mtim, c->ctim = n->ctim;
        c->cap_ents = n->n_ents ? n->cap_ents : 0;
        c->n_dead = n->n_dead;
        c->size = n->size;
        c->cap = n->cap;
        if (n->cap)
            memcpy(c->data, n->data, n->size);
        n->clone = c;
    }
    for (zv_mnode *n = list; !rc && n; n = n->next) {
        zv_mnode *c = n->clone;
        for (uint32_t i = 0; i < n->n_ents; i++) {
            zv_mnode *t = n->ents[i].node;
            if (!(c->ents[i].name = strdup(n->ents[i].name))) {
                rc = -ENOMEM;
                break;
            }
            c->ents[i].node = !t || t->ro ? t : t->clone;
            c->n_ents = i + 1;
        }
    }
    *out = fs->live;
    fs->live = keep;
    fs->bytes = bytes;
    fs->next_ino = ino;
    fs->cap = cap;
    return rc;
}

int zv_mfs_mark(zv_mfs *fs, zv_host_fd *fds, uint32_t n)
{
    int rc;
    zv_mfs_unmark(fs);
    if (!fs->root)
        return 0; /* untouched at the fork: records start untouched */
    if ((rc = clone_list(fs, fs->live, &fs->mark))) {
        drop_tree(fs, &fs->mark);
        return rc;
    }
    fs->mark_root = fs->root->clone;
    fs->mark_images = fs->images;
    fs->mark_bytes = fs->bytes;
    fs->mark_ino = fs->next_ino;
    for (uint32_t i = 0; i < n; i++) /* the mark's descriptors name the mark's nodes */
        if (fds[i].kind == ZV_FD_MEM && fds[i].node && !fds[i].node->ro)
            fds[i].node = fds[i].node->clone;
    return 0;
}

void zv_mfs_unmark(zv_mfs *fs)
{
    drop_tree(fs, &fs->mark);
    fs->mark_root = NULL;
}

int zv_mfs_restore(zv_mfs *fs, zv_host_fd *fds, uint32_t n)
{
    zv_mnode *copy;
    int rc;
    zv_mfs_reset(fs);
    if (!fs->mark)
        return 0;
    rc = clone_list(fs, fs->mark, &copy); /* not into fs->live: clone_list puts that back */
    fs->live = copy;
    if (rc) {
        while (fs->live)
            zv_mnode_free(fs, fs->live);
        return -ENOMEM;
    }
    fs->root = fs->mark_root->clone;
    fs->bytes = fs->mark_bytes;
    fs->next_ino = fs->mark_ino;
    for (uint32_t i = 0; i < n; i++)
        if (fds[i].kind == ZV_FD_MEM && fds[i].node && !fds[i].node->ro)
            fds[i].node = fds[i].node->clone;
    remount(fs, fs->mark_images);
    return 0;
}
