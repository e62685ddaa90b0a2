/*
 * topology.c — hwloc's view of the machine, boiled down at load time to
 * one table: every PU as a zv_cpu_place, in the order workers take them
 * (the rule is in cpuset.h). Planning is then a copy, binding a lookup.
 *
 * Rejected: hwloc_distrib(), which splits n items into contiguous blocks
 * of the tree (4 workers on 2 packages: 0-1 on package 0, 2-3 on package
 * 1), so a worker's place depends on n. A fixed order makes every plan a
 * prefix of a longer one: workers 0 and 1 are on different packages
 * whatever n is, and worker k keeps its PU when workers are added.
 */
#include "cpuset/cpuset.h"

#include <errno.h>
#include <hwloc.h>
#include <stdlib.h>

struct zv_cpu_topology {
    hwloc_topology_t hw;
    int synthetic;        /* 1: binding is a checked no-op */
    int n_cores, n_pus, n_numa;
    zv_cpu_place *order;  /* n_pus places in plan order; .worker unset */
};

/* A PU with its sort key: rank in core, core's rank in domain, domain's
 * rank in package, package. */
typedef struct {
    int key[4];
    zv_cpu_place place;
} ranked_pu;

typedef struct {
    int package, numa; /* identify the domain */
    int n_cores;       /* cores seen so far: the next core's rank */
} domain;

/* The first NUMA node (logical order) whose CPUs include the PU. */
static hwloc_obj_t numa_of(hwloc_topology_t hw, hwloc_obj_t pu)
{
    hwloc_obj_t n = NULL;
    while ((n = hwloc_get_next_obj_by_type(hw, HWLOC_OBJ_NUMANODE, n)))
        if (hwloc_bitmap_isset(n->cpuset, pu->os_index))
            return n;
    return NULL;
}

static int cmp_ranked(const void *a, const void *b)
{
    const ranked_pu *x = a, *y = b;
    for (int i = 0; i < 4; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i] ? -1 : 1;
    return 0;
}

/* Rank every PU. PUs come in logical (tree) order, so a core's PUs are
 * adjacent; domains are looked up linearly (a handful per machine). */
static int build_order(zv_cpu_topology *t)
{
    int n = t->n_pus, n_domains = 0, core = -1, rc = -ENOMEM;
    ranked_pu *r = calloc((size_t)n, sizeof *r);
    domain *d = calloc((size_t)n, sizeof *d);
    hwloc_obj_t prev_core = NULL;
    if (!r || !d || !(t->order = calloc((size_t)n, sizeof *t->order)))
        goto out;
    for (int i = 0; i < n; i++) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PU, (unsigned)i);
        hwloc_obj_t c = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_CORE, pu);
        hwloc_obj_t pk = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, pu);
        hwloc_obj_t nm = numa_of(t->hw, pu);
        int package = pk ? (int)pk->logical_index : -1, numa = nm ? (int)nm->os_index : -1, k;
        if (!c)
            c = pu; /* no cores reported: each PU is one */
        for (k = 0; k < n_domains; k++)
            if (d[k].package == package && d[k].numa == numa)
                break;
        if (k == n_domains)
            d[n_domains++] = (domain){.package = package, .numa = numa};
        for (int j = 0; j < k; j++)
            r[i].key[2] += d[j].package == package; /* the domain's rank in its package */
        if (c != prev_core) {
            core++;
            d[k].n_cores++;
            r[i].key[0] = 0;
        } else {
            r[i].key[0] = r[i - 1].key[0] + 1;
        }
        prev_core = c;
        r[i].key[1] = d[k].n_cores - 1;
        r[i].key[3] = package;
        r[i].place = (zv_cpu_place){
            .core = core, .pu_os = (int)pu->os_index, .numa = numa, .package = package};
    }
    t->n_cores = core + 1;
    qsort(r, (size_t)n, sizeof *r, cmp_ranked); /* keys are unique: a total order */
    for (int i = 0; i < n; i++)
        t->order[i] = r[i].place;
    rc = 0;
out:
    free(r);
    free(d);
    return rc;
}

/* Shared tail of both constructors: hw is initialised and configured. */
static int finish(hwloc_topology_t hw, int synthetic, zv_cpu_topology **out)
{
    zv_cpu_topology *t = calloc(1, sizeof *t);
    int rc;
    if (!t) {
        hwloc_topology_destroy(hw);
        return -ENOMEM;
    }
    t->hw = hw;
    t->synthetic = synthetic;
    if (hwloc_topology_load(hw) < 0) {
        rc = errno ? -errno : -EINVAL;
        goto err;
    }
    /* Workers read the topology concurrently: settle hwloc's lazy caches now. */
    if (hwloc_topology_refresh(hw) < 0) {
        rc = errno ? -errno : -EINVAL;
        goto err;
    }
    t->n_pus = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_PU);
    t->n_numa = hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_NUMANODE);
    if (t->n_pus < 1 || t->n_numa < 1) {
        rc = -ENODEV;
        goto err;
    }
    if ((rc = build_order(t)) < 0)
        goto err;
    *out = t;
    return 0;
err:
    zv_cpu_topology_free(t);
    return rc;
}

int zv_cpu_topology_load(zv_cpu_topology **out)
{
    hwloc_topology_t hw;
    if (hwloc_topology_init(&hw) < 0)
        return -ENOMEM;
    /* Only the PUs we may run on; never rebind the caller while probing
     * (an embedder may have threads of its own). */
    if (hwloc_topology_set_flags(hw, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM |
                                         HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING |
                                         HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING) < 0) {
        int rc = -errno;
        hwloc_topology_destroy(hw);
        return rc;
    }
    return finish(hw, 0, out);
}

int zv_cpu_topology_synthetic(const char *desc, zv_cpu_topology **out)
{
    hwloc_topology_t hw;
    if (!desc)
        return -EINVAL;
    if (hwloc_topology_init(&hw) < 0)
        return -ENOMEM;
    if (hwloc_topology_set_synthetic(hw, desc) < 0) {
        hwloc_topology_destroy(hw);
        return -EINVAL;
    }
    return finish(hw, 1, out);
}

void zv_cpu_topology_free(zv_cpu_topology *t)
{
    if (!t)
        return;
    hwloc_topology_destroy(t->hw);
    free(t->order);
    free(t);
}

int zv_cpu_count_cores(const zv_cpu_topology *t) { return t->n_cores; }
int zv_cpu_count_pus(const zv_cpu_topology *t) { return t->n_pus; }
int zv_cpu_count_numa(const zv_cpu_topology *t) { return t->n_numa; }

int zv_cpu_plan(const zv_cpu_topology *t, uint32_t n_workers, zv_cpu_place *out)
{
    if (!t || !out || n_workers > INT32_MAX)
        return -EINVAL;
    if (n_workers == 0)
        n_workers = (uint32_t)t->n_cores;
    for (uint32_t i = 0; i < n_workers; i++) {
        out[i] = t->order[i % (uint32_t)t->n_pus];
        out[i].worker = i;
    }
    return (int)n_workers;
}

int zv_cpu_pin_self(const zv_cpu_topology *t, const zv_cpu_place *p)
{
    hwloc_obj_t pu;
    if (!t || !p || p->pu_os < 0 ||
        !(pu = hwloc_get_pu_obj_by_os_index(t->hw, (unsigned)p->pu_os)))
        return -EINVAL;
    if (t->synthetic)
        return 0;
    if (hwloc_set_cpubind(t->hw, pu->cpuset, HWLOC_CPUBIND_THREAD) < 0)
        return errno ? -errno : -EINVAL;
    return 0;
}

int zv_cpu_bind_memory(const zv_cpu_topology *t, void *addr, size_t len, int numa)
{
    hwloc_obj_t node;
    if (!t || numa < 0 || !(node = hwloc_get_numanode_obj_by_os_index(t->hw, (unsigned)numa)))
        return -EINVAL;
    if (t->synthetic || t->n_numa == 1 || len == 0)
        return 0;
    if (hwloc_set_area_membind(t->hw, addr, len, node->nodeset, HWLOC_MEMBIND_BIND,
                               HWLOC_MEMBIND_BYNODESET) < 0)
        return errno ? -errno : -EINVAL;
    return 0;
}
