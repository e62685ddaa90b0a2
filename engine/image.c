/*
 * image.c — the initial memory image. When every active data segment has a
 * constant offset and the segments fit in the initial memory, the
 * translator composes them, in order, into one byte image at compile time;
 * instantiating a fresh memory is then one copy instead of a replay of the
 * segments, or, for an image of ZV_IMAGE_MAP_MIN or more, which the object
 * holds on the memory's own pages, one mapping of the cache entry (its
 * pages faulted in as the instance touches them, copied as it writes
 * them; memory.c zv_eng_memory_map_file). Sparse layouts (an image more
 * than twice the data plus 64 KiB) keep the per-segment path, so the image
 * never bloats the object.
 */
#include "engine/internal.h"

#include <string.h>

int zv_eng_image_plan(const zv_val_module *m, zv_eng_image *img)
{
    uint64_t lo = UINT64_MAX, hi = 0, total = 0, limit;
    img->offset = img->size = 0;
    if (m->n_memories == 0)
        return 0;
    limit = (uint64_t)m->memories[0].min * 65536;
    for (uint32_t i = 0; i < m->n_datas; i++) {
        const zv_val_data *d = &m->datas[i];
        uint64_t at;
        if (d->mode != ZV_SEG_ACTIVE)
            continue;
        if (d->offset.kind != ZV_CONST_I32)
            return 0;
        at = (uint32_t)d->offset.bits;
        if (at + d->size_bytes > limit)
            return 0; /* instantiation traps: replay segment by segment */
        total += d->size_bytes;
        if (d->size_bytes == 0)
            continue;
        lo = at < lo ? at : lo;
        hi = at + d->size_bytes > hi ? at + d->size_bytes : hi;
    }
    if (hi == 0) {
        img->offset = img->size = 0;
        return 1;
    }
    if (hi - lo > 2 * total + 65536 || hi - lo > UINT32_MAX)
        return 0; /* sparse, or 4 GiB: not a uint32_t's size */
    img->offset = (uint32_t)lo;
    img->size = (uint32_t)(hi - lo);
    return 1;
}

void zv_eng_image_fill(const zv_val_module *m, const zv_eng_image *img, uint8_t *buf)
{
    for (uint32_t i = 0; i < m->n_datas; i++) {
        const zv_val_data *d = &m->datas[i];
        if (d->mode != ZV_SEG_ACTIVE || d->size_bytes == 0)
            continue;
        memcpy(buf + ((uint32_t)d->offset.bits - img->offset), d->bytes, d->size_bytes);
    }
}
