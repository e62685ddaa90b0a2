/*
 * memory.c — linear memories, one slot each: a 4 GiB reservation for the
 * addressable range plus a 4 GiB guard, all PROT_NONE until memory.grow
 * makes pages accessible. A wasm address is a 32-bit index plus a 32-bit
 * offset, so base + index + offset always lands inside the slot: accesses
 * past the current size fault on PROT_NONE pages and become traps, and the
 * generated code carries no bounds checks. The base never moves, so the
 * generated code may keep it in the context.
 *
 * A small lock-free registry of slot ranges lets the fault handler tell a
 * guest's out-of-bounds access from a real crash.
 */
#include "engine/internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_BYTES 65536ull
#define MAX_SLOTS 8192

static _Atomic(zv_memory *) slots[MAX_SLOTS]; /* live memories; NULL = free entry */

static int slot_register(zv_memory *mem)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *expect = NULL;
        if (atomic_compare_exchange_strong(&slots[i], &expect, mem))
            return 0;
    }
    return -ENOMEM;
}

static void slot_unregister(zv_memory *mem)
{
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *expect = mem;
        if (atomic_compare_exchange_strong(&slots[i], &expect, NULL))
            return;
    }
}

const zv_memory *zv_eng_memory_owner(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    for (int i = 0; i < MAX_SLOTS; i++) {
        zv_memory *m = atomic_load_explicit(&slots[i], memory_order_acquire);
        if (m && a >= (uintptr_t)m->base && a - (uintptr_t)m->base < ZV_ENG_SLOT_BYTES)
            return m;
    }
    return NULL;
}

int zv_eng_memory_new(uint32_t min_pages, uint32_t max_pages, int has_max, zv_memory **out)
{
    zv_memory *mem = calloc(1, sizeof *mem);
    void *base;
    if (!mem)
        return -ENOMEM;
    base = mmap(NULL, ZV_ENG_SLOT_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(mem);
        return -ENOMEM;
    }
    mem->base = base;
    mem->pages = min_pages;
    mem->size_bytes = min_pages * PAGE_BYTES;
    mem->max_pages = has_max ? max_pages : 65536;
    mem->has_max = has_max != 0;
    if ((min_pages && mprotect(base, min_pages * PAGE_BYTES, PROT_READ | PROT_WRITE) < 0) ||
        slot_register(mem) < 0) {
        munmap(base, ZV_ENG_SLOT_BYTES);
        free(mem);
        return -ENOMEM;
    }
    *out = mem;
    return 0;
}

void zv_eng_memory_free(zv_memory *mem)
{
    if (!mem)
        return;
    slot_unregister(mem);
    munmap(mem->base, ZV_ENG_SLOT_BYTES);
    free(mem);
}

/* memory.grow (§4.4.7): the old size in pages, or -1 past the maximum. */
uint32_t zv_eng_memory_grow(zv_memory *mem, uint32_t delta_pages)
{
    uint64_t old = mem->pages, want = old + delta_pages;
    if (want > mem->max_pages || want > 65536)
        return UINT32_MAX;
    if (delta_pages && mprotect(mem->base + old * PAGE_BYTES, delta_pages * PAGE_BYTES,
                                PROT_READ | PROT_WRITE) < 0)
        return UINT32_MAX;
    mem->pages = (uint32_t)want;
    mem->size_bytes = want * PAGE_BYTES;
    return (uint32_t)old;
}

/* Back to `pages` pages: pages grown past them are dropped and sealed
 * again, and pages sealed by zvm.jail are writable again. */
int zv_eng_memory_shrink(zv_memory *mem, uint32_t pages)
{
    uint64_t keep = pages * PAGE_BYTES;
    if (mem->jailed && mprotect(mem->base, keep, PROT_READ | PROT_WRITE) < 0)
        return -errno;
    mem->jailed = 0;
    if (mem->pages > pages) {
        uint64_t extra = mem->size_bytes - keep;
        if (madvise(mem->base + keep, extra, MADV_DONTNEED) < 0 ||
            mprotect(mem->base + keep, extra, PROT_NONE) < 0)
            return -errno;
    }
    mem->pages = pages;
    mem->size_bytes = keep;
    return 0;
}

/* Back to `pages` zeroed pages for the next instance (the slot is reused,
 * never remapped); the kept ones are cleared by `how` (see internal.h). */
int zv_eng_memory_reset(zv_memory *mem, uint32_t pages, int how)
{
    uint64_t keep = pages * PAGE_BYTES;
    int rc;
    if ((rc = zv_eng_memory_shrink(mem, pages)))
        return rc;
    if (how == ZV_ENG_RESET_MADVISE) {
        if (keep && madvise(mem->base, keep, MADV_DONTNEED) < 0)
            return -errno;
    } else {
        memset(mem->base, 0, keep);
    }
    return 0;
}
