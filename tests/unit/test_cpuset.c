/*
 * test_cpuset.c — cpuset/: placement on synthetic hwloc topologies, whose
 * PU, core, NUMA and package numbers follow from the description (OS
 * numbers equal logical ones), so every expected plan below is written
 * out by hand from the rule in cpuset.h. Binding through a synthetic
 * topology must leave this machine alone; the real machine is used for
 * pinning (skipped with fewer than 2 PUs) and for per-worker arenas.
 */
#include "cpuset/cpuset.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The three machines, with where PU p lives in each. */
#define TWO_PACKS "pack:2 numa:1 core:2 pu:1"  /* 4 cores, numa = package = p/2 */
#define HYPER "pack:1 core:4 pu:2"             /* 4 cores of 2 PUs, core = p/2 */
#define TWO_NUMA "pack:2 numa:2 core:2 pu:2"   /* core p/2, numa p/4, package p/8 */

typedef struct {
    const char *desc;
    int pus_per_core, pus_per_numa, pus_per_package;
} machine;

static const machine machines[] = {
    {TWO_PACKS, 1, 2, 2},
    {HYPER, 2, 8, 8},
    {TWO_NUMA, 2, 4, 8},
};

static zv_cpu_topology *synthetic(const char *desc)
{
    zv_cpu_topology *t = NULL;
    int rc = zv_cpu_topology_synthetic(desc, &t);
    cr_assert_eq(rc, 0, "%s: %d", desc, rc);
    return t;
}

/* Plan n workers on desc and compare the PUs with `pus` (n of them). */
static void expect_pus(const char *desc, uint32_t n, const int *pus, int n_pus)
{
    zv_cpu_topology *t = synthetic(desc);
    zv_cpu_place p[64];
    int got = zv_cpu_plan(t, n, p);
    cr_assert_eq(got, n_pus, "%s n=%u: %d places", desc, n, got);
    for (int i = 0; i < n_pus; i++) {
        cr_expect_eq(p[i].worker, (uint32_t)i);
        cr_expect_eq(p[i].pu_os, pus[i], "%s n=%u worker %d: PU %d, want %d", desc, n, i,
                     p[i].pu_os, pus[i]);
    }
    zv_cpu_topology_free(t);
}

Test(cpuset, counts)
{
    static const int want[][3] = {{4, 4, 2}, {4, 8, 1}, {8, 16, 4}}; /* cores, PUs, nodes */
    for (int m = 0; m < 3; m++) {
        zv_cpu_topology *t = synthetic(machines[m].desc);
        cr_expect_eq(zv_cpu_count_cores(t), want[m][0], "%s", machines[m].desc);
        cr_expect_eq(zv_cpu_count_pus(t), want[m][1], "%s", machines[m].desc);
        cr_expect_eq(zv_cpu_count_numa(t), want[m][2], "%s", machines[m].desc);
        zv_cpu_topology_free(t);
    }
}

Test(cpuset, real_machine_counts)
{
    zv_cpu_topology *t = NULL;
    cr_assert_eq(zv_cpu_topology_load(&t), 0);
    cr_expect_geq(zv_cpu_count_cores(t), 1);
    cr_expect_geq(zv_cpu_count_pus(t), zv_cpu_count_cores(t));
    cr_expect_geq(zv_cpu_count_numa(t), 1);
    zv_cpu_topology_free(t);
    zv_cpu_topology_free(NULL);
}

Test(cpuset, bad_descriptions)
{
    zv_cpu_topology *t = NULL;
    cr_expect_eq(zv_cpu_topology_synthetic("bogus", &t), -EINVAL);
    cr_expect_eq(zv_cpu_topology_synthetic("pack:2 core:0", &t), -EINVAL);
    cr_expect_eq(zv_cpu_topology_synthetic(NULL, &t), -EINVAL);
    cr_expect_null(t);
}

/* Cores in order 0, 2, 1, 3: packages alternate. */
Test(cpuset, plan_two_packages)
{
    expect_pus(TWO_PACKS, 1, (int[]){0}, 1);
    expect_pus(TWO_PACKS, 2, (int[]){0, 2}, 2);
    expect_pus(TWO_PACKS, 4, (int[]){0, 2, 1, 3}, 4);
    expect_pus(TWO_PACKS, 8, (int[]){0, 2, 1, 3, 0, 2, 1, 3}, 8);
    expect_pus(TWO_PACKS, 0, (int[]){0, 2, 1, 3}, 4);
}

/* First PUs of the 4 cores, then their hyperthread siblings. */
Test(cpuset, plan_hyperthreads)
{
    expect_pus(HYPER, 1, (int[]){0}, 1);
    expect_pus(HYPER, 2, (int[]){0, 2}, 2);
    expect_pus(HYPER, 4, (int[]){0, 2, 4, 6}, 4);
    expect_pus(HYPER, 8, (int[]){0, 2, 4, 6, 1, 3, 5, 7}, 8);
    expect_pus(HYPER, 9, (int[]){0, 2, 4, 6, 1, 3, 5, 7, 0}, 9);
    expect_pus(HYPER, 0, (int[]){0, 2, 4, 6}, 4);
}

/* Packages alternate, then the NUMA nodes of a package, then cores:
 * nodes 0, 2, 1, 3 for the first four workers. */
Test(cpuset, plan_two_numa_per_package)
{
    static const int all[] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15, 0};
    expect_pus(TWO_NUMA, 1, all, 1);
    expect_pus(TWO_NUMA, 2, all, 2);
    expect_pus(TWO_NUMA, 4, all, 4);
    expect_pus(TWO_NUMA, 8, all, 8);
    expect_pus(TWO_NUMA, 17, all, 17);
    expect_pus(TWO_NUMA, 0, all, 8);
}

Test(cpuset, two_workers_land_apart)
{
    const char *descs[] = {TWO_PACKS, TWO_NUMA};
    for (int m = 0; m < 2; m++) {
        zv_cpu_topology *t = synthetic(descs[m]);
        zv_cpu_place p[2];
        cr_assert_eq(zv_cpu_plan(t, 2, p), 2);
        cr_expect_neq(p[0].package, p[1].package, "%s", descs[m]);
        cr_expect_neq(p[0].numa, p[1].numa, "%s", descs[m]);
        zv_cpu_topology_free(t);
    }
}

/* For every n up to twice the PUs: the first min(n, cores) workers are on
 * distinct cores, the first min(n, PUs) on distinct PUs. */
Test(cpuset, no_shared_core_while_one_is_free)
{
    for (int m = 0; m < 3; m++) {
        zv_cpu_topology *t = synthetic(machines[m].desc);
        int cores = zv_cpu_count_cores(t), pus = zv_cpu_count_pus(t);
        for (int n = 1; n <= 2 * pus; n++) {
            zv_cpu_place p[64];
            int core_used[64] = {0}, pu_used[64] = {0};
            cr_assert_eq(zv_cpu_plan(t, (uint32_t)n, p), n);
            for (int i = 0; i < n; i++) {
                if (i < cores)
                    cr_expect_eq(core_used[p[i].core]++, 0, "%s n=%d: core %d twice",
                                 machines[m].desc, n, p[i].core);
                if (i < pus)
                    cr_expect_eq(pu_used[p[i].pu_os]++, 0, "%s n=%d: PU %d twice",
                                 machines[m].desc, n, p[i].pu_os);
            }
        }
        zv_cpu_topology_free(t);
    }
}

/* Every place's core, NUMA node and package are the ones holding its PU. */
Test(cpuset, place_fields_match_the_pu)
{
    for (int m = 0; m < 3; m++) {
        const machine *mc = &machines[m];
        zv_cpu_topology *t = synthetic(mc->desc);
        zv_cpu_place p[64];
        int n = zv_cpu_plan(t, (uint32_t)zv_cpu_count_pus(t), p);
        for (int i = 0; i < n; i++) {
            int pu = p[i].pu_os;
            cr_expect_eq(p[i].core, pu / mc->pus_per_core, "%s PU %d", mc->desc, pu);
            cr_expect_eq(p[i].numa, pu / mc->pus_per_numa, "%s PU %d", mc->desc, pu);
            cr_expect_eq(p[i].package, pu / mc->pus_per_package, "%s PU %d", mc->desc, pu);
        }
        zv_cpu_topology_free(t);
    }
}

Test(cpuset, plan_is_deterministic)
{
    for (int m = 0; m < 3; m++) {
        zv_cpu_topology *a = synthetic(machines[m].desc), *b = synthetic(machines[m].desc);
        zv_cpu_place pa[40], pb[40], pc[40];
        cr_assert_eq(zv_cpu_plan(a, 40, pa), 40);
        cr_assert_eq(zv_cpu_plan(b, 40, pb), 40);
        cr_assert_eq(zv_cpu_plan(a, 40, pc), 40);
        cr_expect_eq(memcmp(pa, pb, sizeof pa), 0, "%s: two loads differ", machines[m].desc);
        cr_expect_eq(memcmp(pa, pc, sizeof pa), 0, "%s: two plans differ", machines[m].desc);
        for (uint32_t n = 1; n < 40; n++) { /* each plan is a prefix of a longer one */
            cr_assert_eq(zv_cpu_plan(a, n, pc), (int)n);
            cr_expect_eq(memcmp(pa, pc, n * sizeof *pc), 0, "%s: plan %u", machines[m].desc, n);
        }
        zv_cpu_topology_free(a);
        zv_cpu_topology_free(b);
    }
}

Test(cpuset, plan_rejects_bad_arguments)
{
    zv_cpu_topology *t = synthetic(TWO_PACKS);
    zv_cpu_place p[1];
    cr_expect_eq(zv_cpu_plan(t, 1, NULL), -EINVAL);
    cr_expect_eq(zv_cpu_plan(NULL, 1, p), -EINVAL);
    cr_expect_eq(zv_cpu_plan(t, UINT32_MAX, p), -EINVAL);
    zv_cpu_topology_free(t);
}

/* Pinning through a synthetic topology checks the PU, binds nothing. */
Test(cpuset, synthetic_pin_leaves_the_thread_alone)
{
    zv_cpu_topology *t = synthetic(TWO_NUMA);
    zv_cpu_place p[16];
    cpu_set_t before, after;
    cr_assert_eq(zv_cpu_plan(t, 16, p), 16);
    cr_assert_eq(sched_getaffinity(0, sizeof before, &before), 0);
    for (int i = 0; i < 16; i++)
        cr_expect_eq(zv_cpu_pin_self(t, &p[i]), 0);
    cr_assert_eq(sched_getaffinity(0, sizeof after, &after), 0);
    cr_expect(CPU_EQUAL(&before, &after), "a synthetic pin changed this thread's affinity");
    p[0].pu_os = 16;
    cr_expect_eq(zv_cpu_pin_self(t, &p[0]), -EINVAL);
    p[0].pu_os = -1;
    cr_expect_eq(zv_cpu_pin_self(t, &p[0]), -EINVAL);
    zv_cpu_topology_free(t);
}

Test(cpuset, bind_memory_checks_the_node)
{
    zv_cpu_topology *t = synthetic(TWO_NUMA);
    char buf[64];
    for (int numa = 0; numa < 4; numa++)
        cr_expect_eq(zv_cpu_bind_memory(t, buf, sizeof buf, numa), 0);
    cr_expect_eq(zv_cpu_bind_memory(t, buf, sizeof buf, 4), -EINVAL);
    cr_expect_eq(zv_cpu_bind_memory(t, buf, sizeof buf, -1), -EINVAL);
    zv_cpu_topology_free(t);
}

/* A slot-pool-like reservation bound to worker 0's node on this machine. */
Test(cpuset, bind_memory_real_reservation)
{
    zv_cpu_topology *t = NULL;
    zv_cpu_place p[1];
    size_t len = 64u << 20;
    void *pool = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    int rc;
    cr_assert_neq(pool, MAP_FAILED);
    cr_assert_eq(zv_cpu_topology_load(&t), 0);
    cr_assert_eq(zv_cpu_plan(t, 1, p), 1);
    rc = zv_cpu_bind_memory(t, pool, len, p[0].numa);
    if (rc == -EPERM && zv_cpu_count_numa(t) > 1)
        cr_skip_test("mbind forbidden here (container?)");
    cr_expect_eq(rc, 0, "bind to node %d: %d", p[0].numa, rc);
    cr_expect_eq(zv_cpu_bind_memory(t, pool, len, 1 << 20), -EINVAL);
    munmap(pool, len);
    zv_cpu_topology_free(t);
}

/* What each worker saw from the inside. */
typedef struct {
    int ran, cpu, single_cpu;
    uint32_t index;
    zv_cpu_place place;
    unsigned arena, thread_arena, lookup_arena;
    void *arg;
    const zv_cpu_topology *t;
} seen;

typedef struct {
    seen s[64];
} record;

static int observe(zv_cpu_worker *w)
{
    record *r = zv_cpu_worker_arg(w);
    seen *s = &r->s[zv_cpu_worker_index(w)];
    cpu_set_t mask;
    size_t len = sizeof s->thread_arena;
    void *p = mallocx(256, 0); /* jemalloc's own entry point, even under ASan */
    s->ran = 1;
    s->index = zv_cpu_worker_index(w);
    s->cpu = sched_getcpu();
    s->single_cpu = sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) == 1 : 0;
    s->place = *zv_cpu_worker_place(w);
    s->arena = zv_cpu_worker_arena(w);
    s->arg = zv_cpu_worker_arg(w);
    s->t = zv_cpu_worker_topology(w);
    if (mallctl("thread.arena", &s->thread_arena, &len, NULL, 0) != 0)
        s->thread_arena = ~0u;
    len = sizeof s->lookup_arena;
    if (!p || mallctl("arenas.lookup", &s->lookup_arena, &len, &p, sizeof p) != 0)
        s->lookup_arena = ~0u;
    dallocx(p, 0);
    return 0;
}

/* Every worker ran with its own arena, used by its allocations, and saw
 * its planned place. */
static void check_seen(const zv_cpu_topology *t, const record *r, uint32_t n)
{
    zv_cpu_place plan[64];
    cr_assert_eq(zv_cpu_plan(t, n, plan), (int)n);
    for (uint32_t i = 0; i < n; i++) {
        const seen *s = &r->s[i];
        cr_assert(s->ran, "worker %u did not run", i);
        cr_expect_eq(s->index, i);
        cr_expect_eq(memcmp(&s->place, &plan[i], sizeof plan[i]), 0, "worker %u: place", i);
        cr_expect_eq(s->arg, (void *)r);
        cr_expect_eq(s->t, t);
        cr_expect_eq(s->thread_arena, s->arena, "worker %u: thread.arena %u, own %u", i,
                     s->thread_arena, s->arena);
        cr_expect_eq(s->lookup_arena, s->arena, "worker %u: allocated in arena %u", i,
                     s->lookup_arena);
        for (uint32_t j = 0; j < i; j++)
            cr_expect_neq(s->arena, r->s[j].arena, "workers %u and %u share arena", j, i);
    }
}

Test(cpuset, workers_pinned_on_this_machine)
{
    zv_cpu_topology *t = NULL;
    zv_cpu_workers *ws = NULL;
    record *r = calloc(1, sizeof *r);
    cr_assert_eq(zv_cpu_topology_load(&t), 0);
    if (zv_cpu_count_pus(t) < 2)
        cr_skip_test("needs 2 PUs, this process may use %d", zv_cpu_count_pus(t));
    cr_assert_eq(zv_cpu_workers_start(t, 2, observe, r, &ws), 0);
    cr_assert_eq(zv_cpu_workers_join(ws), 0);
    check_seen(t, r, 2);
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(r->s[i].cpu, r->s[i].place.pu_os, "worker %d ran on cpu %d, planned %d", i,
                     r->s[i].cpu, r->s[i].place.pu_os);
        cr_expect(r->s[i].single_cpu, "worker %d may run on more than one cpu", i);
    }
    cr_expect_neq(r->s[0].place.pu_os, r->s[1].place.pu_os);
    zv_cpu_workers_free(ws);
    zv_cpu_topology_free(t);
    free(r);
}

/* One per core on a synthetic 8-core machine: runs anywhere, since
 * pinning is a no-op there. */
Test(cpuset, workers_one_per_core_synthetic)
{
    zv_cpu_topology *t = synthetic(TWO_NUMA);
    zv_cpu_workers *ws = NULL;
    record *r = calloc(1, sizeof *r);
    cr_assert_eq(zv_cpu_workers_start(t, 0, observe, r, &ws), 0);
    cr_assert_eq(zv_cpu_workers_join(ws), 0);
    check_seen(t, r, 8);
    cr_expect_not(r->s[8].ran, "a ninth worker ran");
    zv_cpu_workers_free(ws);
    zv_cpu_topology_free(t);
    free(r);
}

static int fail_some(zv_cpu_worker *w)
{
    static const int result[] = {0, -EIO, 0, -ENOSPC};
    return result[zv_cpu_worker_index(w)];
}

Test(cpuset, join_returns_the_first_failure)
{
    zv_cpu_topology *t = synthetic(TWO_PACKS);
    zv_cpu_workers *ws = NULL;
    cr_assert_eq(zv_cpu_workers_start(t, 4, fail_some, NULL, &ws), 0);
    cr_expect_eq(zv_cpu_workers_join(ws), -EIO);
    cr_expect_eq(zv_cpu_workers_join(ws), -EIO);
    zv_cpu_workers_free(ws);
    zv_cpu_workers_free(NULL);
    zv_cpu_topology_free(t);
}

Test(cpuset, workers_start_rejects_bad_arguments)
{
    zv_cpu_topology *t = synthetic(TWO_PACKS);
    zv_cpu_workers *ws = NULL;
    cr_expect_eq(zv_cpu_workers_start(t, 2, NULL, NULL, &ws), -EINVAL);
    cr_expect_eq(zv_cpu_workers_start(NULL, 2, fail_some, NULL, &ws), -EINVAL);
    cr_expect_eq(zv_cpu_workers_start(t, 2, fail_some, NULL, NULL), -EINVAL);
    cr_expect_null(ws);
    zv_cpu_topology_free(t);
}
