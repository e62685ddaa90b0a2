/*
 * host_mem_private.h — what host_mem.c (the tree: nodes, directory
 * entries, images, the fork-point copy) and host_mem_path.c (the calls by
 * path and by descriptor) share about the in-memory file system.
 */
#ifndef ZV_HOST_MEM_PRIVATE_H
#define ZV_HOST_MEM_PRIVATE_H

#include "engine/host_private.h"

#define MAX_HOPS 40
#define MAX_DEPTH 4096     /* directories open at once in one walk */

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

/* What the host holds for what a guest makes, as Memory counts it: the
 * allocator's chunk (glibc's: the request and 8 bytes of header, in
 * 16-byte steps, 32 at least; jemalloc's classes are no larger), so that
 * a million one-byte names cost what they take. */
#define ZV_MFS_CHUNK(bytes) ((bytes) + 8 < 32 ? 32 : ((uint64_t)(bytes) + 8 + 15) / 16 * 16)
#define NODE_BYTES ZV_MFS_CHUNK(sizeof(struct zv_mnode))
#define NAME_BYTES(len) ZV_MFS_CHUNK((uint64_t)(len) + 1) /* a name or a symlink's target */

typedef struct {
    const char *path;      /* the mount point */
    zv_mnode *root;        /* the image's root directory (ro) */
} mount;

struct zv_mfs {
    const zv_cfg_manifest *man; /* the channel set in use (zv_mfs_use) */
    const zv_io_channel *ch;
    const zv_mimages *images;
    zv_mnode *root;        /* the live tree, NULL until a path is touched */
    zv_mnode *live;        /* every live node */
    zv_mnode *mark;        /* a copy of the live nodes at a fork point, or NULL */
    zv_mnode *mark_root;
    const zv_mimages *mark_images; /* the images mounted in the mark */
    uint64_t mark_bytes, mark_ino;
    uint64_t bytes;        /* what the live tree costs against Memory */
    uint64_t cap;          /* bytes may not pass it (0: no cap, while building) */
    uint64_t next_ino;
};

/* Parsed images (host_mem.c): their nodes are allocated through `arena`,
 * a file system of their own that only holds them. */
struct zv_mimages {
    zv_mfs arena;
    mount *mounts;
    uint32_t n_mounts;
    uint8_t **bytes;       /* the images' bytes, which file nodes point into */
    uint64_t *mapped;      /* each one's mapped length (a module's image), or 0 (malloc) */
    uint32_t n_bytes;
};

/* A node's file type: a channel's follows the channel set in use (a
 * daemon job's file where the daemon has a device). */
static inline uint8_t zv_mnode_type(const zv_mfs *fs, const zv_mnode *n)
{
    return n->channel < 0 ? n->type : fs->ch[n->channel].kind == ZV_IO_REGULAR ? 4 : 2;
}

/* host_mem.c: nodes and directory entries, shared with the path calls. */
int zv_mfs_full(const zv_mfs *fs, uint64_t more); /* would `more` bytes pass the cap? */
zv_mnode *zv_mnode_new(zv_mfs *fs, uint8_t type, uint64_t now);
void zv_mnode_free(zv_mfs *fs, zv_mnode *n);
void zv_mnode_maybe_free(zv_mfs *fs, zv_mnode *n); /* when no name and no descriptor holds it */
uint32_t zv_mnode_find(const zv_mnode *dir, const char *name, size_t len, int *found);
uint32_t zv_mnode_n_live(const zv_mnode *dir);
void zv_mnode_compact(zv_mfs *fs, zv_mnode *dir);
uint64_t zv_mnode_ent_room(const zv_mnode *dir, size_t len);
uint32_t zv_mnode_ent_add(zv_mfs *fs, zv_mnode *dir, const char *name, size_t len, zv_mnode *n);
void zv_mnode_ent_del(zv_mfs *fs, zv_mnode *dir, uint32_t at);

#endif
