/*
 * arena_none.c — the `zvm` command's arena.h: no allocator arenas. That
 * binary runs no workers (its pool commands exec zvm-pool), so starting
 * one here is refused rather than run without the worker's own arena.
 */
#include "cpuset/arena.h"

#include <errno.h>

int zv_cpu_own_arena(unsigned *arena)
{
    *arena = 0;
    return -ENOSYS;
}
