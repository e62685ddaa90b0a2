/*
 * arena.h — cpuset's private seam to the allocator: a worker's own
 * allocator arena. Two builds of it: arena_jemalloc.c (a fresh jemalloc
 * arena bound to the calling thread: every pool process, libzvm, the
 * tests) and arena_none.c (the `zvm` command, which runs no workers: it
 * execs zvm-pool for the pool commands, so a single `zvm run` pays
 * nothing for jemalloc).
 */
#ifndef ZV_CPUSET_ARENA_H
#define ZV_CPUSET_ARENA_H

/* A fresh arena for the calling thread, its number in *arena. Returns 0
 * or a negative errno. */
int zv_cpu_own_arena(unsigned *arena);

#endif
