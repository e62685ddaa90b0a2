/*
 * snapshot.c — an instance paused at its fork point (zvm_fork), kept so
 * that every record can start from there: linear memory, globals, tables,
 * the segments' dropped states, and the guest's own stack (fiber.c) with
 * the tries it is inside (trap.c "Exceptions").
 *
 * Memory is what costs. Three ways back to the snapshot's bytes, each
 * measured by dirty size in perf/README.md:
 * - dirty cards (the default, ZV_ENG_RESET_AUTO): a module that forks is
 *   compiled with a write barrier, every store marking its 512-byte card
 *   in ctx->dirty (rt_abi.h; the host marks what it writes too); the
 *   restore copies back the marked cards only. The cost is what the
 *   record wrote; no syscall, and pages it only read stay mapped;
 * - copy (ZV_ENG_RESET_MEMSET): memcpy of the whole memory;
 * - madvise (ZV_ENG_RESET_MADVISE): at the snapshot the memory's bytes go
 *   into a memfd mapped privately over the slot; MADV_DONTNEED drops the
 *   record's private copies and each next touch faults the memfd's page
 *   back in.
 * A record that grew the memory moves it to another window (memory.c)
 * with the first two: its dirty cards go back first, so the window left
 * holds the snapshot, and a window that holds it (its tag is the
 * snapshot's id) needs no copy when the memory comes back to it.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct zv_eng_snapshot {
    uint32_t pages;            /* memory size at the fork */
    uint8_t *image;            /* its bytes (for the copy ways back) */
    int memfd;                 /* the same bytes, mapped privately under the memory (madvise) */
    int how;                   /* ZV_ENG_RESET_*: AUTO is the dirty pages */
    uint64_t id;               /* unique in the process: a memory window's tag (memory.c) */
    zv_value *globals;         /* the instance's own globals */
    uint32_t n_globals;
    uint32_t *table_sizes;     /* own tables: size and elements */
    void ***table_elems;
    uint32_t *data_sizes, *elem_sizes;
    uint64_t table_bytes;
    uint8_t *stack;            /* the fiber's used stack and its pointer */
    size_t stack_len;
    void *stack_sp;
    zv_eh_state eh;        /* its tries (in that stack) and their records */
};

static _Atomic uint64_t last_snapshot_id; /* ids from 1: 0 tags no snapshot */

void zv_eng_snapshot_free(zv_eng_snapshot *s)
{
    if (!s)
        return;
    free(s->image);
    if (s->memfd >= 0)
        close(s->memfd);
    free(s->globals);
    for (uint32_t i = 0; s->table_elems && s->table_elems[i]; i++) /* NULL-terminated */
        free(s->table_elems[i]);
    free(s->table_elems);
    free(s->table_sizes);
    free(s->data_sizes);
    free(s->elem_sizes);
    free(s->stack);
    zv_eng_eh_free(&s->eh);
    free(s);
}

/* The memory's bytes; for madvise also into a memfd, mapped privately
 * over the slot's first pages. */
static int take_memory(zv_memory *mem, zv_eng_snapshot *s)
{
    size_t size = mem->size_bytes;
    int rc;
    s->pages = mem->pages;
    if (!size)
        return 0;
    if ((rc = zv_eng_memory_unfile(mem))) /* the memfd below replaces what is mapped */
        return rc;
    if (!(s->image = malloc(size)))
        return -ENOMEM;
    memcpy(s->image, mem->base, size);
    if (s->how != ZV_ENG_RESET_MADVISE)
        return 0;
    if ((s->memfd = memfd_create("zvm-snapshot", MFD_CLOEXEC)) < 0)
        return -errno;
    for (size_t done = 0; done < size;) {
        ssize_t k = write(s->memfd, s->image + done, size - done);
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        done += (size_t)k;
    }
    if (mmap(mem->base, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, s->memfd, 0) ==
        MAP_FAILED)
        return -errno;
    zv_eng_memory_pin(mem);
    return 0;
}

int zv_eng_snapshot_take(zv_eng_instance *inst, int how, zv_eng_snapshot **out)
{
    const zv_val_module *info = inst->mod->info;
    uint32_t n_tables = info->n_tables - info->n_imported_tables;
    zv_eng_snapshot *s = calloc(1, sizeof *s);
    const uint8_t *lo;
    int rc = -ENOMEM;
    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->memfd = -1;
    s->id = atomic_fetch_add(&last_snapshot_id, 1) + 1;
    /* AUTO is the dirty cards when the code marks them, else as memory.c */
    s->how = how != ZV_ENG_RESET_AUTO || inst->dirty ? how
             : inst->own_memory && inst->own_memory->size_bytes > ZV_ENG_RESET_MEMSET_MAX
                 ? ZV_ENG_RESET_MADVISE : ZV_ENG_RESET_MEMSET;
    if (!zv_eng_fiber_paused(inst) || info->n_imported_memories || info->n_imported_tables ||
        (inst->own_memory && inst->own_memory->jailed)) {
        rc = -ENOTSUP; /* paused on its own stack, owning what it uses, nothing sealed */
        goto fail;
    }
    if (inst->own_memory && (rc = take_memory(inst->own_memory, s)))
        goto fail;
    if (inst->dirty) /* clean from here: only what a record writes is marked (a restore
                      * reads the snapshot's cards only, and clears those of grown pages) */
        memset(inst->dirty, 0, (size_t)inst->own_memory->pages * ZV_DIRTY_PER_PAGE);
    rc = -ENOMEM;
    s->n_globals = info->n_globals - info->n_imported_globals;
    if (!(s->globals = calloc(s->n_globals + 1, sizeof *s->globals)) ||
        !(s->table_sizes = calloc(n_tables + 1, sizeof *s->table_sizes)) ||
        !(s->table_elems = calloc(n_tables + 1, sizeof *s->table_elems)) ||
        !(s->data_sizes = calloc(info->n_datas + 1, sizeof *s->data_sizes)) ||
        !(s->elem_sizes = calloc(info->n_elems + 1, sizeof *s->elem_sizes)))
        goto fail;
    memcpy(s->globals, inst->globals, s->n_globals * sizeof *s->globals);
    for (uint32_t i = 0; i < n_tables; i++) {
        zv_table *t = &inst->own_tables[i];
        s->table_sizes[i] = t->size;
        if (!(s->table_elems[i] = malloc(((size_t)t->size + 1) * sizeof(void *))))
            goto fail;
        memcpy(s->table_elems[i], t->elems, (size_t)t->size * sizeof(void *));
    }
    memcpy(s->data_sizes, inst->ctx.data_sizes, info->n_datas * sizeof *s->data_sizes);
    memcpy(s->elem_sizes, inst->ctx.elem_sizes, info->n_elems * sizeof *s->elem_sizes);
    s->table_bytes = inst->table_bytes;
    zv_eng_fiber_stack(inst->fiber, &lo, &s->stack_len, &s->stack_sp);
    if (!(s->stack = malloc(s->stack_len)))
        goto fail;
    zv_eng_fiber_copy(s->stack, lo, s->stack_len);
    if (zv_eng_eh_copy(&s->eh, zv_eng_fiber_eh(inst->fiber)))
        goto fail;
    *out = s;
    return 0;
fail:
    zv_eng_snapshot_free(s);
    return rc;
}

/* Cards [from, to) back from the image. */
static void copy_back(uint8_t *base, const uint8_t *image, uint64_t from, uint64_t to)
{
    memcpy(base + (from << ZV_DIRTY_SHIFT), image + (from << ZV_DIRTY_SHIFT),
           (size_t)(to - from) << ZV_DIRTY_SHIFT);
}

/* Whether the 64 marks at d are all clear: four 16-byte loads ORed
 * (gcc's and clang's vector extension; SSE2's por on x86-64): the scan
 * is most of the restore of a small record in a 16 MiB memory. */
typedef uint64_t zv_marks16 __attribute__((vector_size(16)));
static int clean64(const uint8_t *d)
{
    zv_marks16 a, b, c, e;
    memcpy(&a, d, 16);
    memcpy(&b, d + 16, 16);
    memcpy(&c, d + 32, 16);
    memcpy(&e, d + 48, 16);
    a = (a | b) | (c | e);
    return !(a[0] | a[1]);
}

/* The marked cards back from the image, each run of them in one copy, the
 * marks cleared. The scan skips 64 clean marks at a time: a 16 MiB memory
 * is 512 steps. */
static void restore_dirty(uint8_t *base, uint8_t *dirty, const uint8_t *image, uint64_t cards)
{
    const uint64_t none = UINT64_MAX;
    uint64_t run = none; /* the first card of the run being gathered */
    _Static_assert(ZV_DIRTY_PER_PAGE % 64 == 0, "a memory's marks are whole steps of 64");
    for (uint64_t c = 0; c < cards; c += 64) {
        if (clean64(dirty + c)) {
            if (run != none)
                copy_back(base, image, run, c), run = none;
            continue;
        }
        for (uint64_t k = c; k < c + 64; k++) {
            if (dirty[k] && run == none)
                run = k;
            else if (!dirty[k] && run != none)
                copy_back(base, image, run, k), run = none;
        }
        memset(dirty + c, 0, 64);
    }
    if (run != none)
        copy_back(base, image, run, cards);
}

static int restore_memory(zv_eng_instance *inst, const zv_eng_snapshot *s)
{
    zv_memory *mem = inst->own_memory;
    uint64_t keep = (uint64_t)s->pages * 65536, tag = s->id;
    uint32_t grown = mem->pages > s->pages ? mem->pages - s->pages : 0;
    int rc;
    /* grown pages and seals go as for a fresh instance (their marks too);
     * then the snapshot's pages come back one way or another */
    if (inst->dirty && grown)
        memset(inst->dirty + (keep >> ZV_DIRTY_SHIFT), 0, (size_t)grown * ZV_DIRTY_PER_PAGE);
    if (s->how == ZV_ENG_RESET_MADVISE) {
        if ((rc = zv_eng_memory_shrink(mem, s->pages)))
            return rc;
        return keep && madvise(mem->base, keep, MADV_DONTNEED) < 0 ? -errno : 0;
    }
    /* dirty cards: back before a move, so that the window left holds the
     * snapshot (unsealed first: the restore writes there) */
    if (s->how == ZV_ENG_RESET_AUTO) {
        if ((rc = zv_eng_memory_shrink(mem, mem->pages)))
            return rc;
        restore_dirty(mem->base, inst->dirty, s->image, keep >> ZV_DIRTY_SHIFT);
    }
    if ((rc = zv_eng_memory_recycle(mem, s->pages, &tag)) < 0)
        return rc;
    inst->ctx.mem = mem->base;
    if (s->how != ZV_ENG_RESET_AUTO || (rc == 1 && tag != s->id))
        memcpy(mem->base, s->image, keep);
    return 0;
}

void zv_eng_snapshot_release(zv_eng_instance *inst, const zv_eng_snapshot *s)
{
    zv_eng_instance_release(inst); /* copy: zeros; madvise: the memfd's pages again */
    if (s->how == ZV_ENG_RESET_AUTO && inst->dirty) /* zeros: every card to restore */
        memset(inst->dirty, 1, (size_t)s->pages * ZV_DIRTY_PER_PAGE);
}

int zv_eng_snapshot_restore(zv_eng_instance *inst, const zv_eng_snapshot *s)
{
    const zv_val_module *info = inst->mod->info;
    uint32_t n_tables = info->n_tables - info->n_imported_tables;
    int rc;
    inst->ctx.interrupt = 0;
    if (inst->own_memory && (rc = restore_memory(inst, s)))
        return rc;
    memcpy(inst->globals, s->globals, s->n_globals * sizeof *s->globals);
    for (uint32_t i = 0; i < n_tables; i++) {
        zv_table *t = &inst->own_tables[i];
        /* grown since: the array is at least as large; the slots past the
         * snapshot's size are cleared as the table shrinks back */
        if (t->size > s->table_sizes[i])
            memset(t->elems + s->table_sizes[i], 0,
                   (size_t)(t->size - s->table_sizes[i]) * sizeof(void *));
        memcpy(t->elems, s->table_elems[i], (size_t)s->table_sizes[i] * sizeof(void *));
        t->size = s->table_sizes[i];
    }
    memcpy(inst->ctx.data_sizes, s->data_sizes, info->n_datas * sizeof *s->data_sizes);
    memcpy(inst->ctx.elem_sizes, s->elem_sizes, info->n_elems * sizeof *s->elem_sizes);
    inst->table_bytes = s->table_bytes;
    zv_eng_fiber_restore(inst->fiber, s->stack, s->stack_len, s->stack_sp);
    return zv_eng_eh_copy(zv_eng_fiber_eh(inst->fiber), &s->eh);
}
