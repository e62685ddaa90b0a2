/*
 * host_mem.c — the file system a manifest session or a pool record sees,
 * ZeroVM's ZRT model: a POSIX tree in memory, private to the instance.
 *
 * - The channels appear at their alias paths (/dev/stdin, /dev/input, ...):
 *   opening one gives a channel descriptor, with its limits and counters.
 * - A channel holding a tar image is mounted read-only at a path by the
 *   manifest's `Mount = ALIAS, PATH`. The image is read and parsed (host_tar.c) once,
 *   when the session is made (once per pool worker, not per record), into
 *   nodes that point into the image's bytes; every live tree shares them.
 * - What the program creates lives in memory, counts against the instance's
 *   Memory (with linear memory and tables: the caller passes the room
 *   left), and vanishes with the instance: a reset drops the live tree,
 *   and it is built again, lazily, only when a record touches a path. A
 *   record that touches no file pays nothing.
 * - Listings are sorted by name; timestamps come from the virtual clock
 *   (images keep their archive's times); inode numbers count up from the
 *   tree's build. So every run sees the same.
 *
 * Paths resolve from a directory node and never above it: ".." there, an
 * absolute path or an absolute symlink is WE_PERM, as for host
 * directories; symlinks resolve up to 40 deep (then WE_LOOP).
 */
#include "engine/host_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_HOPS 40
#define MAX_DEPTH 4096     /* directories open at once in one walk */
#define NODE_BYTES 128     /* what a node costs against Memory */

struct zv_mnode {
    uint8_t type;          /* WASI filetype: 2 channel (character device), 3, 4, 7 */
    uint8_t ro;            /* part of a mounted image: never changes */
    int32_t channel;       /* type 2 or a regular channel: its index */
    uint32_t nlink, opens; /* live nodes go when both are 0 */
    uint64_t ino, atim, mtim, ctim;
    struct zv_ment {
        char *name;
        struct zv_mnode *node;
    } *ents;               /* directories: sorted by name; node NULL: removed */
    uint32_t n_ents, cap_ents, n_dead;
    uint8_t *data;         /* files: owned, or the image's bytes (ro) */
    uint64_t size, cap;
    char *target;          /* symlinks */
    struct zv_mnode *prev, *next; /* the live nodes, for the reset */
    struct zv_mnode *clone; /* while cloning: its copy */
};

typedef struct {
    char *path;            /* the mount point */
    zv_mnode *root;        /* the image's root directory (ro) */
} mount;

struct zv_mfs {
    const zv_cfg_manifest *man;
    const zv_io_channel *ch;
    zv_mnode *root;        /* the live tree, NULL until a path is touched */
    zv_mnode *live;        /* every live node */
    zv_mnode *mark;        /* a copy of the live nodes at a fork point, or NULL */
    zv_mnode *mark_root;
    uint64_t mark_bytes, mark_ino;
    uint64_t bytes;        /* what the live tree costs against Memory */
    uint64_t cap;          /* bytes may not pass it (0: no cap, while building) */
    uint64_t next_ino;
    mount *mounts;
    uint32_t n_mounts;
    zv_mnode *image_nodes; /* every image node, to free at the end */
    uint8_t **images;      /* the images' bytes */
    uint32_t n_images;
};

/* ---- nodes ---- */

/* Would `more` bytes pass the cap? */
static int full(const zv_mfs *fs, uint64_t more) { return fs->cap && fs->bytes + more > fs->cap; }

static zv_mnode *node_new(zv_mfs *fs, uint8_t type, uint64_t now)
{
    zv_mnode *n = full(fs, NODE_BYTES) ? NULL : calloc(1, sizeof *n);
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

static void node_free(zv_mfs *fs, zv_mnode *n)
{
    for (uint32_t i = 0; i < n->n_ents; i++) {
        fs->bytes -= strlen(n->ents[i].name) + 1;
        free(n->ents[i].name);
    }
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
static void maybe_free(zv_mfs *fs, zv_mnode *n)
{
    if (!n->ro && !n->nlink && !n->opens)
        node_free(fs, n);
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
static uint32_t find(const zv_mnode *dir, const char *name, size_t len, int *found)
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

static uint32_t n_live(const zv_mnode *dir)
{
    return dir->n_ents - dir->n_dead;
}

/* Drop the removed slots once they are half the directory and no open
 * descriptor holds a cookie into it: deletes stay O(1) amortised. */
static void compact(zv_mfs *fs, zv_mnode *dir)
{
    uint32_t k = 0;
    if (dir->opens || dir->n_dead * 2 <= dir->n_ents)
        return;
    for (uint32_t i = 0; i < dir->n_ents; i++) {
        if (dir->ents[i].node) {
            dir->ents[k++] = dir->ents[i];
        } else {
            fs->bytes -= strlen(dir->ents[i].name) + 1;
            free(dir->ents[i].name);
        }
    }
    dir->n_ents = k;
    dir->n_dead = 0;
}

/* The bytes a new entry of a len-byte name costs dir: the name, and the
 * entry array's growth when it is full. */
static uint64_t ent_room(const zv_mnode *dir, size_t len)
{
    return len + 1 + (dir->n_ents == dir->cap_ents ? dir->cap_ents * sizeof *dir->ents : 0);
}

static uint32_t ent_add(zv_mfs *fs, zv_mnode *dir, const char *name, size_t len, zv_mnode *n)
{
    int found;
    uint32_t at = find(dir, name, len, &found);
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
    compact(fs, dir);
    at = find(dir, name, len, &found);
    if (full(fs, ent_room(dir, len)))
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
    fs->bytes += len + 1; /* names count too */
    memcpy(copy, name, len);
    copy[len] = 0;
    memmove(dir->ents + at + 1, dir->ents + at, (dir->n_ents - at) * sizeof *dir->ents);
    dir->ents[at] = (struct zv_ment){copy, n};
    dir->n_ents++;
    if (!n->ro) /* an image's links do not change */
        n->nlink++;
    return WE_SUCCESS;
}

static void ent_del(zv_mfs *fs, zv_mnode *dir, uint32_t at)
{
    dir->ents[at].node = NULL;
    dir->n_dead++;
    compact(fs, dir);
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
            at = find(dir, path, len, &found);
            if (found) {
                dir = dir->ents[at].node;
                if (dir->type != 3)
                    return NULL;
            } else {
                zv_mnode *d = node_new(fs, 3, now);
                if (!d || ent_add(fs, dir, path, len, d))
                    return NULL;
                dir = d;
            }
        }
        path += len + (end != NULL);
    }
    return dir;
}

/* ---- images (the format: host_tar.c) ---- */

typedef struct {
    zv_mfs *fs;
    zv_mnode *root;
} image;

/* One member into the image's tree. A node that cannot be allocated is
 * left out: the image is then a partial tree (host memory ran out at
 * set-up), never a crash. */
static void add_member(void *arg, zv_tar_member *t)
{
    image *im = arg;
    zv_mfs *fs = im->fs;
    zv_mnode *dir, *n = NULL;
    char *name = t->name, *base;
    if ((base = strrchr(name, '/'))) {
        *base++ = 0;
        dir = mkdirs(fs, im->root, name, t->mtime_ns);
    } else {
        dir = im->root;
        base = name;
    }
    if (dir && t->type == '5') {
        mkdirs(fs, dir, base, t->mtime_ns);
    } else if (dir && *base && strcmp(base, ".")) {
        if ((t->type == '0' || t->type == '\0' || t->type == '7') &&
            (n = node_new(fs, 4, t->mtime_ns))) {
            n->data = (uint8_t *)t->data; /* the image's bytes: no copy */
            n->size = t->size;
        } else if (t->type == '2' && (n = node_new(fs, 7, t->mtime_ns))) {
            n->target = strdup(t->link);
        }
        if (n && ent_add(fs, dir, base, strlen(base), n) == WE_EXIST)
            n->nlink = 0; /* a name twice: the first stays; this one is unreachable */
    }
}

/* Parse `img` into read-only nodes under a new root (on the image list).
 * Returns the root, or NULL with `why` (a malformed archive names its
 * offset). */
static zv_mnode *parse_tar(zv_mfs *fs, const uint8_t *img, uint64_t size, char *why, size_t wn)
{
    image im = {fs, NULL};
    fs->live = fs->image_nodes; /* image nodes go on their own list */
    if (!(im.root = node_new(fs, 3, 0)))
        snprintf(why, wn, "out of memory");
    else if (zv_tar_walk(img, size, add_member, &im, why, wn))
        im.root = NULL;
    for (zv_mnode *n = fs->live; n; n = n->next)
        n->ro = 1;
    fs->image_nodes = fs->live;
    fs->live = NULL;
    fs->bytes = 0; /* images are not the instance's memory */
    return im.root;
}

/* ---- the file system ---- */

int zv_mfs_new(const zv_cfg_manifest *m, const zv_io_channel *ch, zv_mfs **out, char *why,
               size_t wn)
{
    zv_mfs *fs = calloc(1, sizeof *fs);
    int rc = -ENOMEM;
    *out = NULL;
    if (!fs || (m->n_mounts && !(fs->mounts = calloc(m->n_mounts, sizeof *fs->mounts))) ||
        (m->n_mounts && !(fs->images = calloc(m->n_mounts, sizeof *fs->images))))
        goto fail;
    fs->man = m;
    fs->ch = ch;
    for (uint32_t i = 0; i < m->n_mounts; i++) {
        int c = zv_cfg_find_channel(m, m->mounts[i].alias);
        const zv_io_channel *src = c < 0 ? NULL : &ch[c];
        uint8_t *img;
        uint64_t got = 0;
        if (!src || src->kind != ZV_IO_REGULAR || !src->readable) {
            snprintf(why, wn, "Mount = %s: not a readable file channel", m->mounts[i].alias);
            rc = -EINVAL;
            goto fail;
        }
        if (!(img = malloc((size_t)src->size + 1)))
            goto fail;
        fs->images[fs->n_images++] = img;
        while (got < (uint64_t)src->size) { /* once, at set-up: plain reads */
            ssize_t k = pread(src->fd, img + got, (size_t)((uint64_t)src->size - got), (off_t)got);
            if (k <= 0) {
                snprintf(why, wn, "Mount = %s: cannot read the image", m->mounts[i].alias);
                rc = -EIO;
                goto fail;
            }
            got += (uint64_t)k;
        }
        fs->mounts[i].path = m->mounts[i].path;
        if (!(fs->mounts[i].root = parse_tar(fs, img, got, why, wn))) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s", why);
            snprintf(why, wn, "Mount = %s: %s: %s", m->mounts[i].alias, m->channels[c].uri, msg);
            rc = -EINVAL;
            goto fail;
        }
        fs->n_mounts = i + 1;
    }
    *out = fs;
    return 0;
fail:
    if (rc == -ENOMEM)
        snprintf(why, wn, "out of memory");
    zv_mfs_free(fs);
    return rc;
}

static void drop_tree(zv_mfs *fs, zv_mnode **list)
{
    zv_mnode *keep = fs->live;
    fs->live = *list;
    while (fs->live)
        node_free(fs, fs->live);
    *list = NULL;
    fs->live = keep;
}

void zv_mfs_free(zv_mfs *fs)
{
    if (!fs)
        return;
    zv_mfs_reset(fs);
    zv_mfs_unmark(fs);
    for (zv_mnode *n = fs->image_nodes; n; n = n->next)
        n->data = NULL; /* the image's bytes, freed below */
    drop_tree(fs, &fs->image_nodes);
    for (uint32_t i = 0; i < fs->n_images; i++)
        free(fs->images[i]);
    free(fs->images);
    free(fs->mounts);
    free(fs);
}

void zv_mfs_reset(zv_mfs *fs)
{
    if (!fs->root)
        return; /* untouched: nothing to do */
    while (fs->live)
        node_free(fs, fs->live);
    fs->root = NULL;
    fs->bytes = 0;
}

/* The live tree as a record starts with it: the channels at their alias
 * paths, the images at their mount points. */
static int build(zv_mfs *fs, uint64_t now)
{
    fs->cap = 0; /* what every record starts with is not the record's to pay */
    fs->next_ino = 0;
    if (!(fs->root = node_new(fs, 3, now)))
        return -ENOMEM;
    fs->root->nlink = 1;
    for (uint32_t i = 0; i < fs->man->n_channels; i++) {
        const char *alias = fs->man->channels[i].alias, *base = strrchr(alias, '/');
        char dir[4096];
        zv_mnode *d, *n;
        snprintf(dir, sizeof dir, "%.*s", base ? (int)(base - alias) : 0, alias);
        if (!(d = mkdirs(fs, fs->root, dir, now)) || !(n = node_new(fs, 2, now)))
            return -ENOMEM;
        n->channel = (int32_t)i;
        n->type = fs->ch[i].kind == ZV_IO_REGULAR ? 4 : 2;
        n->size = (uint64_t)(fs->ch[i].size > 0 ? fs->ch[i].size : 0);
        if (ent_add(fs, d, base ? base + 1 : alias, strlen(base ? base + 1 : alias), n))
            n->nlink = 0;
    }
    for (uint32_t i = 0; i < fs->n_mounts; i++) { /* the mount point becomes the image */
        const char *p = fs->mounts[i].path, *base = strrchr(p, '/');
        char dir[4096];
        zv_mnode *d;
        int found;
        uint32_t at;
        snprintf(dir, sizeof dir, "%.*s", base ? (int)(base - p) : 0, p);
        if (!base || !base[1]) { /* "/": the image's entries at the root */
            zv_mnode *img = fs->mounts[i].root;
            for (uint32_t k = 0; k < img->n_ents; k++) /* images remove nothing */
                ent_add(fs, fs->root, img->ents[k].name, strlen(img->ents[k].name),
                        img->ents[k].node);
            continue;
        }
        if (!(d = mkdirs(fs, fs->root, dir, now)))
            return -ENOMEM;
        at = find(d, base + 1, strlen(base + 1), &found);
        if (found)
            ent_del(fs, d, at);
        ent_add(fs, d, base + 1, strlen(base + 1), fs->mounts[i].root);
    }
    return 0;
}

/* The live tree, built on first use. */
static zv_mnode *root_of(zv_mfs *fs, uint64_t now)
{
    if (!fs->root && build(fs, now)) {
        zv_mfs_reset(fs);
        while (fs->live) /* a partial build */
            node_free(fs, fs->live);
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
        zv_mnode *c = node_new(fs, n->type, 0);
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
            node_free(fs, fs->live);
        return -ENOMEM;
    }
    fs->root = fs->mark_root->clone;
    fs->bytes = fs->mark_bytes;
    fs->next_ino = fs->mark_ino;
    for (uint32_t i = 0; i < n; i++)
        if (fds[i].kind == ZV_FD_MEM && fds[i].node && !fds[i].node->ro)
            fds[i].node = fds[i].node->clone;
    return 0;
}

/* ---- paths ---- */

typedef struct {
    zv_mnode *parent;      /* the directory the last component is in */
    const char *name;      /* the last component (in `buf`), "." for a directory itself */
    size_t len;
    zv_mnode *node;        /* what it names, or NULL */
    int slash;             /* the path ended in '/' */
    char buf[8192];        /* the path, with symlinks spliced in */
    zv_mnode **stack;      /* the directories walked through (for "..", and rename) */
    uint32_t depth;
} walk;

/* Resolve `path` from `start`. Returns 0 (w filled; node NULL when only
 * the last component is missing) or a WASI errno. */
static uint32_t resolve(zv_mnode *start, const char *path, int follow_last, walk *w,
                        zv_mnode **stack)
{
    size_t at = 0, n = strlen(path);
    int hops = 0;
    if (path[0] == '/')
        return WE_PERM;
    if (!n)
        return WE_NOENT;
    if (n >= sizeof w->buf)
        return WE_NAMETOOLONG;
    memcpy(w->buf, path, n + 1);
    w->stack = stack;
    stack[0] = start;
    w->depth = 0;
    for (;;) {
        char *comp;
        size_t len, next;
        zv_mnode *cur = stack[w->depth], *x;
        int found, last;
        uint32_t i;
        while (w->buf[at] == '/')
            at++;
        comp = w->buf + at;
        len = strcspn(comp, "/");
        next = at + len;
        while (w->buf[next] == '/')
            next++;
        last = w->buf[next] == 0;
        w->slash = last && next > at + len;
        if (cur->type != 3)
            return WE_NOTDIR;
        if (len > 255)
            return WE_NAMETOOLONG;
        if (len == 0 || (len == 1 && comp[0] == '.')) { /* the directory itself */
            if (last) {
                w->parent = cur, w->name = ".", w->len = 1, w->node = cur;
                return 0;
            }
            at = next;
            continue;
        }
        if (len == 2 && comp[0] == '.' && comp[1] == '.') {
            if (w->depth == 0)
                return WE_PERM; /* above where it started */
            w->depth--;
            if (last) {
                w->parent = stack[w->depth], w->name = ".", w->len = 1, w->node = stack[w->depth];
                return 0;
            }
            at = next;
            continue;
        }
        i = find(cur, comp, len, &found);
        x = found ? cur->ents[i].node : NULL;
        if (x && x->type == 7 && (!last || follow_last || w->slash)) { /* splice the target in */
            size_t tl = strlen(x->target), rest = strlen(w->buf + next);
            if (++hops > MAX_HOPS)
                return WE_LOOP;
            if (x->target[0] == '/')
                return WE_PERM;
            if (tl + 1 + rest + 1 + (w->slash ? 1 : 0) > sizeof w->buf)
                return WE_NAMETOOLONG;
            memmove(w->buf + tl + 1, w->buf + next, rest + 1);
            memcpy(w->buf, x->target, tl);
            w->buf[tl] = '/';
            if (!rest && !w->slash)
                w->buf[tl] = 0;
            at = 0;
            continue;
        }
        if (last) {
            w->parent = cur, w->name = comp, w->len = len, w->node = x;
            return 0;
        }
        if (!x)
            return WE_NOENT;
        if (x->type != 3)
            return WE_NOTDIR;
        if (w->depth + 1 >= MAX_DEPTH)
            return WE_NAMETOOLONG;
        stack[++w->depth] = x;
        at = next;
    }
}

/* A walk needs its stack: on the heap, MAX_DEPTH pointers. */
#define WALK(w, start, path, follow)                                                               \
    zv_mnode **stack_ = malloc(MAX_DEPTH * sizeof *stack_);                                        \
    walk *w = malloc(sizeof *w);                                                                   \
    uint32_t rc_ = !stack_ || !w ? WE_NOMEM : resolve(start, path, follow, w, stack_)
#define WALK_DONE(w) (free(stack_), free(w))

/* When a file of `size` bytes may grow to `want`: its capacity, within
 * `room` more bytes of Memory. */
static uint32_t grow(zv_mfs *fs, zv_mnode *n, uint64_t want, uint64_t room)
{
    uint64_t cap = n->cap ? n->cap : 64;
    uint8_t *d;
    if (want <= n->cap)
        return 0;
    while (cap < want)
        cap = cap > UINT64_MAX / 2 ? want : cap * 2;
    if ((cap - n->cap > room || full(fs, cap - n->cap)) &&
        ((cap = want) - n->cap > room || full(fs, cap - n->cap)))
        return WE_NOSPC; /* over Memory, with linear memory and tables */
    if (!(d = realloc(n->data, cap)))
        return WE_NOMEM;
    fs->bytes += cap - n->cap;
    n->data = d;
    n->cap = cap;
    return 0;
}

const uint64_t *zv_mfs_bytes_ref(const zv_mfs *fs) { return &fs->bytes; }

void zv_mfs_limit(zv_mfs *fs, uint64_t room)
{
    fs->cap = fs->bytes + room > fs->bytes ? fs->bytes + room : UINT64_MAX;
}

static void opened(zv_mnode *n, zv_host_fd *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ZV_FD_MEM;
    out->type = n->type;
    out->node = n;
    n->opens++;
}

uint32_t zv_mfs_open(zv_mfs *fs, zv_host_fd *dir, const char *path, uint32_t lookup,
                     uint32_t oflags, uint64_t rights, uint16_t fdflags, uint64_t now,
                     zv_host_fd *out)
{
    int want_w = (rights & (1ull << 6)) || (oflags & 8) || (fdflags & 1);
    zv_mnode *n;
    WALK(w, dir->node, path, lookup & 1);
    if (rc_)
        goto out;
    n = w->node;
    if (!n) {
        if (!(oflags & 1)) {
            rc_ = WE_NOENT;
        } else if (oflags & 2) {
            rc_ = WE_INVAL; /* O_CREAT | O_DIRECTORY, as Linux */
        } else if (w->slash) {
            rc_ = WE_ISDIR;
        } else if (w->parent->ro) {
            rc_ = WE_ROFS;
        } else if (!(n = node_new(fs, 4, now))) {
            rc_ = full(fs, NODE_BYTES) ? WE_NOSPC : WE_NOMEM;
        } else if ((rc_ = ent_add(fs, w->parent, w->name, w->len, n))) {
            node_free(fs, n);
        } else {
            w->parent->mtim = w->parent->ctim = now;
            opened(n, out);
        }
        goto out;
    }
    if ((oflags & 5) == 5) {
        rc_ = WE_EXIST;
    } else if (n->type == 7) {
        rc_ = WE_LOOP; /* a symlink not followed */
    } else if ((oflags & 2) && n->type != 3) {
        rc_ = WE_NOTDIR;
    } else if (n->type == 3 && want_w) {
        rc_ = WE_ISDIR;
    } else if (w->slash && n->type != 3) {
        rc_ = WE_NOTDIR;
    } else if (n->channel >= 0) { /* a channel: its own kind of descriptor */
        const zv_io_channel *c = &fs->ch[n->channel];
        if (((rights & 2) && !c->readable) || ((rights & 64) && !c->writable))
            rc_ = WE_ACCES;
        else { /* O_CREAT and O_TRUNC mean nothing to a channel: fopen("w") works */
            memset(out, 0, sizeof *out);
            out->kind = ZV_FD_CHANNEL;
            out->channel = n->channel;
        }
    } else if (n->ro && want_w) {
        rc_ = WE_ROFS;
    } else {
        if (oflags & 8) { /* truncate */
            n->size = 0;
            n->mtim = n->ctim = now;
        }
        opened(n, out);
        out->flags = fdflags & 1;
    }
out:
    WALK_DONE(w);
    return rc_;
}

void zv_mfs_close(zv_mfs *fs, zv_host_fd *d)
{
    if (d->kind == ZV_FD_MEM && !d->node->ro) {
        d->node->opens--;
        if (d->node->type == 3 && d->node->nlink)
            compact(fs, d->node);
        maybe_free(fs, d->node);
    }
}

uint32_t zv_mfs_mkdir(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now)
{
    zv_mnode *n;
    WALK(w, dir->node, path, 0);
    if (!rc_) {
        if (w->node)
            rc_ = WE_EXIST;
        else if (w->parent->ro)
            rc_ = WE_ROFS;
        else if (!(n = node_new(fs, 3, now)))
            rc_ = full(fs, NODE_BYTES) ? WE_NOSPC : WE_NOMEM;
        else if ((rc_ = ent_add(fs, w->parent, w->name, w->len, n)))
            node_free(fs, n);
        else
            w->parent->mtim = w->parent->ctim = now;
    }
    WALK_DONE(w);
    return rc_;
}

/* Take the entry off its directory; the node goes with its last link. */
static void unlink_entry(zv_mfs *fs, walk *w, uint64_t now)
{
    int found;
    uint32_t at = find(w->parent, w->name, w->len, &found);
    zv_mnode *n = w->node;
    ent_del(fs, w->parent, at);
    w->parent->mtim = w->parent->ctim = now;
    n->nlink--;
    n->ctim = now;
    maybe_free(fs, n);
}

uint32_t zv_mfs_rmdir(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now)
{
    WALK(w, dir->node, path, 0);
    if (!rc_) {
        zv_mnode *n = w->node;
        if (!n)
            rc_ = WE_NOENT;
        else if (n->type != 3)
            rc_ = WE_NOTDIR;
        else if (w->name[0] == '.' && w->len == 1)
            rc_ = n == dir->node ? WE_INVAL : WE_NOTEMPTY; /* "." or a ".." */
        else if (n->ro || w->parent->ro)
            rc_ = n->ro && !w->parent->ro ? WE_BUSY : WE_ROFS; /* a mount point: busy */
        else if (n_live(n))
            rc_ = WE_NOTEMPTY;
        else
            unlink_entry(fs, w, now);
    }
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_unlink(zv_mfs *fs, zv_host_fd *dir, const char *path, uint64_t now)
{
    WALK(w, dir->node, path, 0);
    if (!rc_) {
        zv_mnode *n = w->node;
        if (!n)
            rc_ = WE_NOENT;
        else if (n->type == 3)
            rc_ = WE_ISDIR;
        else if (w->slash)
            rc_ = WE_NOTDIR;
        else if (w->parent->ro)
            rc_ = WE_ROFS;
        else if (n->channel >= 0)
            rc_ = WE_PERM; /* the manifest's channels stay */
        else
            unlink_entry(fs, w, now);
    }
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_rename(zv_mfs *fs, zv_host_fd *d1, const char *p1, zv_host_fd *d2, const char *p2,
                       uint64_t now)
{
    walk *w2 = malloc(sizeof *w2);
    zv_mnode **s2 = malloc(MAX_DEPTH * sizeof *s2);
    zv_mnode *src, *dst;
    WALK(w, d1->node, p1, 0);
    if (!rc_ && (!w2 || !s2))
        rc_ = WE_NOMEM;
    if (!rc_)
        rc_ = resolve(d2->node, p2, 0, w2, s2);
    if (rc_)
        goto out;
    src = w->node, dst = w2->node;
    if (!src) {
        rc_ = WE_NOENT;
    } else if ((w->len == 1 && w->name[0] == '.') || (w2->len == 1 && w2->name[0] == '.')) {
        rc_ = WE_BUSY;
    } else if (w->parent->ro || w2->parent->ro || src->ro) {
        rc_ = src->ro && !w->parent->ro ? WE_BUSY : WE_ROFS;
    } else if (src->channel >= 0) {
        rc_ = WE_PERM;
    } else if ((w->slash || w2->slash) && src->type != 3) {
        rc_ = WE_NOTDIR;
    } else if (dst == src) {
        rc_ = 0; /* the same file: nothing to do */
    } else if (dst && src->type == 3 && dst->type != 3) {
        rc_ = WE_NOTDIR;
    } else if (dst && src->type != 3 && dst->type == 3) {
        rc_ = WE_ISDIR;
    } else if (dst && dst->type == 3 && n_live(dst)) {
        rc_ = WE_NOTEMPTY;
    } else if (dst && (dst->ro || dst->channel >= 0)) {
        rc_ = dst->ro ? WE_BUSY : WE_PERM;
    } else {
        zv_mnode *d2 = w2->parent;
        for (uint32_t i = 0; i <= w2->depth; i++)
            if (s2[i] == src)
                rc_ = WE_INVAL; /* into itself */
        /* room for the new name first: nothing is unlinked if it cannot be
         * added (a target that exists leaves its slot to reuse) */
        if (!rc_ && !dst && full(fs, ent_room(d2, w2->len)))
            rc_ = WE_NOSPC;
        if (!rc_) {
            int found;
            uint32_t at;
            src->nlink++; /* held while it moves */
            unlink_entry(fs, w, now);
            if (dst) {
                at = find(w2->parent, w2->name, w2->len, &found);
                w2->node = w2->parent->ents[at].node;
                unlink_entry(fs, w2, now);
            }
            src->nlink--;
            rc_ = ent_add(fs, w2->parent, w2->name, w2->len, src);
        }
    }
out:
    free(w2);
    free(s2);
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_link(zv_mfs *fs, zv_host_fd *d1, uint32_t lookup, const char *p1, zv_host_fd *d2,
                     const char *p2, uint64_t now)
{
    walk *w2 = malloc(sizeof *w2);
    zv_mnode **s2 = malloc(MAX_DEPTH * sizeof *s2);
    WALK(w, d1->node, p1, lookup & 1);
    if (!rc_ && (!w2 || !s2))
        rc_ = WE_NOMEM;
    if (!rc_)
        rc_ = resolve(d2->node, p2, 0, w2, s2);
    if (!rc_) {
        zv_mnode *src = w->node;
        if (!src)
            rc_ = WE_NOENT;
        else if (w2->node)
            rc_ = WE_EXIST;
        else if (src->type == 3)
            rc_ = WE_PERM; /* no links to directories */
        else if (w->slash || w2->slash)
            rc_ = WE_NOTDIR;
        else if (w2->parent->ro || src->ro || src->channel >= 0)
            rc_ = src->channel >= 0 ? WE_PERM : WE_ROFS;
        else if (!(rc_ = ent_add(fs, w2->parent, w2->name, w2->len, src)))
            src->ctim = w2->parent->mtim = w2->parent->ctim = now;
    }
    free(w2);
    free(s2);
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_symlink(zv_mfs *fs, const char *target, zv_host_fd *dir, const char *path,
                        uint64_t now)
{
    zv_mnode *n;
    if (target[0] == '/')
        return WE_PERM; /* it could never be followed */
    WALK(w, dir->node, path, 0);
    if (!rc_) {
        if (w->node)
            rc_ = WE_EXIST;
        else if (w->slash)
            rc_ = WE_NOENT;
        else if (w->parent->ro)
            rc_ = WE_ROFS;
        else if (!(n = node_new(fs, 7, now)) || !(n->target = strdup(target)))
            rc_ = full(fs, NODE_BYTES) ? WE_NOSPC : WE_NOMEM;
        else if ((rc_ = ent_add(fs, w->parent, w->name, w->len, n)))
            node_free(fs, n);
    }
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_readlink(zv_host_fd *dir, const char *path, const char **target)
{
    WALK(w, dir->node, path, 0);
    if (!rc_) {
        if (!w->node)
            rc_ = WE_NOENT;
        else if (w->node->type != 7)
            rc_ = WE_INVAL;
        else
            *target = w->node->target; /* lives as long as the tree */
    }
    WALK_DONE(w);
    return rc_;
}

static void stat_of(const zv_mfs *fs, const zv_mnode *n, zv_host_stat *st)
{
    memset(st, 0, sizeof *st);
    st->dev = 1;
    st->ino = n->ino;
    st->type = n->type;
    st->nlink = n->ro ? 1 : n->nlink;
    st->size = n->channel >= 0 ? (uint64_t)(fs->ch[n->channel].size > 0 ? fs->ch[n->channel].size : 0)
             : n->type == 7 ? strlen(n->target) : n->size;
    st->atim = n->atim;
    st->mtim = n->mtim;
    st->ctim = n->ctim;
}

uint32_t zv_mfs_stat(zv_mfs *fs, zv_host_fd *dir, uint32_t lookup, const char *path,
                     zv_host_stat *st)
{
    WALK(w, dir->node, path, lookup & 1);
    if (!rc_) {
        if (!w->node)
            rc_ = WE_NOENT;
        else if (w->slash && w->node->type != 3)
            rc_ = WE_NOTDIR;
        else
            stat_of(fs, w->node, st);
    }
    WALK_DONE(w);
    return rc_;
}

void zv_mfs_fstat(zv_mfs *fs, const zv_host_fd *f, zv_host_stat *st) { stat_of(fs, f->node, st); }

/* WASI fstflags: atim 1, atim_now 2, mtim 4, mtim_now 8. */
static uint32_t set_times(zv_mnode *n, uint64_t atim, uint64_t mtim, uint32_t fst, uint64_t now)
{
    if (((fst & 1) && (fst & 2)) || ((fst & 4) && (fst & 8)) || (fst & ~15u))
        return WE_INVAL;
    if (n->ro)
        return WE_ROFS;
    if (fst & 3)
        n->atim = fst & 2 ? now : atim;
    if (fst & 12)
        n->mtim = fst & 8 ? now : mtim;
    n->ctim = now;
    return 0;
}

uint32_t zv_mfs_utimes(zv_host_fd *dir, uint32_t lookup, const char *path, uint64_t atim,
                       uint64_t mtim, uint32_t fst, uint64_t now)
{
    WALK(w, dir->node, path, lookup & 1);
    if (!rc_)
        rc_ = w->node ? set_times(w->node, atim, mtim, fst, now) : WE_NOENT;
    WALK_DONE(w);
    return rc_;
}

uint32_t zv_mfs_futimes(zv_host_fd *f, uint64_t atim, uint64_t mtim, uint32_t fst, uint64_t now)
{
    return set_times(f->node, atim, mtim, fst, now);
}

uint32_t zv_mfs_truncate(zv_mfs *fs, zv_host_fd *f, uint64_t size, uint64_t room, uint64_t now)
{
    zv_mnode *n = f->node;
    uint32_t rc;
    if (n->type != 4)
        return WE_BADF;
    if (n->ro)
        return WE_ROFS;
    if (size > n->size && (rc = grow(fs, n, size, room)))
        return rc == WE_NOSPC ? WE_FBIG : rc;
    if (size > n->size)
        memset(n->data + n->size, 0, size - n->size);
    n->size = size;
    n->mtim = n->ctim = now;
    return 0;
}

/* Read or write a file node at `at` (writes past the end leave zeros
 * between). Returns bytes or a negative WASI errno. */
int64_t zv_mfs_io(zv_mfs *fs, zv_host_fd *f, const struct iovec *v, int n_iov, uint64_t at,
                  int writing, uint64_t room, uint64_t now)
{
    zv_mnode *n = f->node;
    uint64_t total = 0;
    if (n->type == 3)
        return -(int64_t)WE_ISDIR;
    for (int i = 0; i < n_iov; i++)
        total += v[i].iov_len;
    if (!writing) {
        uint64_t left = at < n->size ? n->size - at : 0, done = 0;
        for (int i = 0; i < n_iov && done < left; i++) {
            uint64_t k = v[i].iov_len < left - done ? v[i].iov_len : left - done;
            memcpy(v[i].iov_base, n->data + at + done, k);
            done += k;
        }
        n->atim = now;
        return (int64_t)done;
    }
    if (n->ro)
        return -(int64_t)WE_ROFS;
    if (at > INT64_MAX || total > INT64_MAX - at)
        return -(int64_t)WE_FBIG;
    if (at + total > n->size) {
        uint32_t rc = grow(fs, n, at + total, room);
        if (rc)
            return -(int64_t)rc;
        if (at > n->size)
            memset(n->data + n->size, 0, at - n->size);
    }
    for (int i = 0; i < n_iov; i++) {
        memcpy(n->data + at, v[i].iov_base, v[i].iov_len);
        at += v[i].iov_len;
    }
    if (at > n->size)
        n->size = at;
    n->mtim = n->ctim = now;
    return (int64_t)total;
}

uint64_t zv_mfs_size(const zv_host_fd *f) { return f->node->size; }

uint32_t zv_mfs_readdir(zv_host_fd *f, uint64_t cookie,
                        int (*put)(void *arg, const char *name, size_t len, uint64_t next,
                                   uint64_t ino, uint8_t type),
                        void *arg)
{
    zv_mnode *d = f->node;
    if (d->type != 3)
        return WE_NOTDIR;
    if (cookie == 0 && !put(arg, ".", 1, 1, d->ino, 3))
        return 0;
    if (cookie <= 1 && !put(arg, "..", 2, 2, 0, 3))
        return 0;
    for (uint64_t i = cookie > 2 ? cookie - 2 : 0; i < d->n_ents; i++) {
        const zv_mnode *n = d->ents[i].node;
        if (!n) /* removed during the listing */
            continue;
        if (!put(arg, d->ents[i].name, strlen(d->ents[i].name), i + 3, n->ino, n->type))
            break;
    }
    return 0;
}
