/*
 * arena_jemalloc.c — a worker's own jemalloc arena (arena.h).
 */
#include "cpuset/arena.h"

#include <jemalloc/jemalloc.h>

int zv_cpu_own_arena(unsigned *arena)
{
    size_t len = sizeof *arena;
    int rc = mallctl("arenas.create", arena, &len, NULL, 0); /* a positive errno */
    if (rc == 0)
        rc = mallctl("thread.arena", NULL, NULL, arena, sizeof *arena);
    return -rc;
}
