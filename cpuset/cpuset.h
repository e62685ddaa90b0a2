/*
 * cpuset.h — the machine's topology (hwloc), where each worker goes, and
 * the worker threads themselves: one per core, pinned, each with its own
 * jemalloc arena. The batch appliance starts the workers once; each then
 * reserves its slot pool, binds it to its NUMA node and opens its own
 * io_uring ring, so nothing on the per-instance path is shared.
 *
 * A topology is either this machine's or a synthetic one (an hwloc
 * synthetic description such as "pack:2 numa:1 core:2 pu:1"). A synthetic
 * topology plans exactly like a real one, but binding through it is a
 * checked no-op: it validates the place or node and returns 0 without
 * touching this machine's threads or memory, so the workers and the
 * appliance can be tested on any machine.
 *
 * Functions return 0 (or a count) or a negative errno; nothing prints.
 */
#ifndef ZV_CPUSET_H
#define ZV_CPUSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct zv_cpu_topology zv_cpu_topology;
typedef struct zv_cpu_workers zv_cpu_workers;
typedef struct zv_cpu_worker zv_cpu_worker;

/* This machine, restricted to the PUs the process may run on (its cgroup
 * cpuset and its affinity mask, e.g. from taskset). The caller frees *out
 * with zv_cpu_topology_free. Returns 0, -ENOMEM or hwloc's -errno. */
int zv_cpu_topology_load(zv_cpu_topology **out);
/* A synthetic machine from an hwloc synthetic description (borrowed).
 * Returns 0 or -EINVAL for a description hwloc rejects. */
int zv_cpu_topology_synthetic(const char *desc, zv_cpu_topology **out);
/* Accepts NULL. The topology must outlive every workers set using it. */
void zv_cpu_topology_free(zv_cpu_topology *t);

/* Physical cores (a machine that reports no cores counts each PU as one),
 * processing units (hardware threads), NUMA nodes. All >= 1. */
int zv_cpu_count_cores(const zv_cpu_topology *t);
int zv_cpu_count_pus(const zv_cpu_topology *t);
int zv_cpu_count_numa(const zv_cpu_topology *t);

/* Where one worker runs. */
typedef struct {
    uint32_t worker; /* its index, 0..n-1 */
    int core;        /* the core, 0..count_cores-1 in hwloc's logical order */
    int pu_os;       /* the PU it is pinned to: the OS cpu number (sched_getcpu) */
    int numa;        /* the NUMA node holding that PU: OS node number, -1 if none */
    int package;     /* the package (socket), logical index, -1 if none */
} zv_cpu_place;

/* Plan n_workers places into out (room for n_workers, or count_cores
 * when n_workers is 0, which means one worker per core). Returns the
 * number of places written, or -EINVAL.
 *
 * The rule: every PU gets a rank, and worker i takes the PU of rank
 * i mod count_pus. PUs are ranked by, in order of priority,
 *   1. the PU's rank inside its core (all first PUs, then all second
 *      hyperthreads, ...), so two workers never share a core while a
 *      core is free;
 *   2. the core's rank inside its domain (its package and NUMA node);
 *   3. the domain's rank inside its package;
 *   4. the package.
 * Consecutive workers therefore alternate packages, then NUMA nodes
 * within a package, then cores: 2 workers on 2 packages land on
 * different packages. More workers than cores wrap onto the second PU of
 * each core in the same order, and more workers than PUs wrap again onto
 * the first. The plan depends on the topology only (deterministic), and
 * the plan for n workers is the first n places of the plan for more. */
int zv_cpu_plan(const zv_cpu_topology *t, uint32_t n_workers, zv_cpu_place *out);

/* Bind the calling thread to p->pu_os. Returns 0, -EINVAL for a PU not in
 * t, or hwloc's -errno. On a synthetic topology: 0, nothing bound. */
int zv_cpu_pin_self(const zv_cpu_topology *t, const zv_cpu_place *p);

/* Bind the pages of [addr, addr+len) to NUMA node `numa` (OS number, as
 * in zv_cpu_place): pages touched later are placed there. Call it on a
 * fresh reservation, before touching it: pages already present are not
 * moved. Returns 0, -EINVAL for a node not in t, or -errno (e.g. -EPERM
 * where a container forbids mbind). With one NUMA node, or on a synthetic
 * topology, it checks `numa` and returns 0 without a system call. */
int zv_cpu_bind_memory(const zv_cpu_topology *t, void *addr, size_t len, int numa);

/* Start n pinned worker threads (0: one per core) placed by zv_cpu_plan.
 * Each thread pins itself, then creates its own jemalloc arena and makes
 * it the thread's arena (so the arena's own metadata is NUMA-local), then
 * calls fn(w). fn returns 0 or -errno. t and arg are borrowed and must
 * outlive the set. Returns 0 once every worker has pinned itself and has
 * its arena; if any could not, none runs fn and the first error (lowest
 * index) is returned. The caller frees *out with zv_cpu_workers_free.
 *
 * Arenas are not destroyed when a worker ends: memory a worker handed to
 * others must stay valid. jemalloc allows a few thousand arenas, so start
 * workers once per process, not per job. In a build where jemalloc is not
 * the process's malloc (e.g. under ASan) the arenas exist but malloc does
 * not use them. The lean `zvm` command has no jemalloc (arena_none.c):
 * there it fails with -ENOSYS, and no fn runs. */
int zv_cpu_workers_start(const zv_cpu_topology *t, uint32_t n, int (*fn)(zv_cpu_worker *w),
                         void *arg, zv_cpu_workers **out);
/* Wait for every worker; returns the first nonzero result of fn (lowest
 * index), or 0. Calling it again returns the same. */
int zv_cpu_workers_join(zv_cpu_workers *ws);
/* Joins first if needed. Accepts NULL. */
void zv_cpu_workers_free(zv_cpu_workers *ws);

/* For fn, about its own worker; valid while the set lives. */
uint32_t zv_cpu_worker_index(const zv_cpu_worker *w);
const zv_cpu_place *zv_cpu_worker_place(const zv_cpu_worker *w);
void *zv_cpu_worker_arg(const zv_cpu_worker *w);
unsigned zv_cpu_worker_arena(const zv_cpu_worker *w);            /* jemalloc arena index */
const zv_cpu_topology *zv_cpu_worker_topology(const zv_cpu_worker *w);

#endif
