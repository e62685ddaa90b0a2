/*
 * host_mem_path.c — the in-memory file system's calls (host_mem.c has the
 * tree): paths, opening, reading and writing, listings, links, renames,
 * metadata.
 *
 * Paths resolve from a directory node and never above it: ".." there, an
 * absolute path or an absolute symlink is WE_PERM, as for host
 * directories; symlinks resolve up to 40 deep (then WE_LOOP).
 */
#include "engine/host_mem_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        i = zv_mnode_find(cur, comp, len, &found);
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
    if ((cap - n->cap > room || zv_mfs_full(fs, cap - n->cap)) &&
        ((cap = want) - n->cap > room || zv_mfs_full(fs, cap - n->cap)))
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
        } else if (!(n = zv_mnode_new(fs, 4, now))) {
            rc_ = zv_mfs_full(fs, NODE_BYTES) ? WE_NOSPC : WE_NOMEM;
        } else if ((rc_ = zv_mnode_ent_add(fs, w->parent, w->name, w->len, n))) {
            zv_mnode_free(fs, n);
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
            zv_mnode_compact(fs, d->node);
        zv_mnode_maybe_free(fs, d->node);
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
        else if (!(n = zv_mnode_new(fs, 3, now)))
            rc_ = zv_mfs_full(fs, NODE_BYTES) ? WE_NOSPC : WE_NOMEM;
        else if ((rc_ = zv_mnode_ent_add(fs, w->parent, w->name, w->len, n)))
            zv_mnode_free(fs, n);
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
    uint32_t at = zv_mnode_find(w->parent, w->name, w->len, &found);
    zv_mnode *n = w->node;
    zv_mnode_ent_del(fs, w->parent, at);
    w->parent->mtim = w->parent->ctim = now;
    n->nlink--;
    n->ctim = now;
    zv_mnode_maybe_free(fs, n);
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
        else if (zv_mnode_n_live(n))
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
    } else if (dst && dst->type == 3 && zv_mnode_n_live(dst)) {
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
        if (!rc_ && !dst && zv_mfs_full(fs, zv_mnode_ent_room(d2, w2->len)))
            rc_ = WE_NOSPC;
        if (!rc_) {
            int found;
            uint32_t at;
            src->nlink++; /* held while it moves */
            unlink_entry(fs, w, now);
            if (dst) {
                at = zv_mnode_find(w2->parent, w2->name, w2->len, &found);
                w2->node = w2->parent->ents[at].node;
                unlink_entry(fs, w2, now);
            }
            src->nlink--;
            rc_ = zv_mnode_ent_add(fs, w2->parent, w2->name, w2->len, src);
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
        else if (!(rc_ = zv_mnode_ent_add(fs, w2->parent, w2->name, w2->len, src)))
            src->ctim = w2->parent->mtim = w2->parent->ctim = now;
    }
    free(w2);
    free(s2);
    WALK_DONE(w);
    return rc_;
}

/* Give the new node n its target and w's name (n goes if either fails). */
static uint32_t add_symlink(zv_mfs *fs, walk *w, zv_mnode *n, const char *target)
{
    uint32_t rc = WE_NOMEM;
    if ((n->target = strdup(target))) {
        fs->bytes += NAME_BYTES(strlen(target)); /* zv_mnode_free takes it back */
        rc = zv_mnode_ent_add(fs, w->parent, w->name, w->len, n);
    }
    if (rc)
        zv_mnode_free(fs, n);
    return rc;
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
        else if (zv_mfs_full(fs, NODE_BYTES + NAME_BYTES(strlen(target))))
            rc_ = WE_NOSPC; /* the target is held too */
        else if (!(n = zv_mnode_new(fs, 7, now)))
            rc_ = WE_NOMEM;
        else
            rc_ = add_symlink(fs, w, n, target);
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
    st->type = zv_mnode_type(fs, n);
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

uint32_t zv_mfs_readdir(const zv_mfs *fs, zv_host_fd *f, uint64_t cookie,
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
        if (!put(arg, d->ents[i].name, strlen(d->ents[i].name), i + 3, n->ino,
                 zv_mnode_type(fs, n)))
            break;
    }
    return 0;
}
