/*
 * hwloc_dl.c — hwloc, loaded when first used. zvm is not linked against
 * libhwloc: these definitions of the twelve hwloc functions that
 * topology.c calls (directly or through hwloc.h's inline helpers) open
 * libhwloc.so.15 (hwloc 2.x's ABI) with dlopen on the first call and
 * forward to it. A `zvm run` or `zvm job` never places workers, so it
 * never pays for loading and relocating hwloc, libudev and libstdc++
 * (perf/startup.sh measures it); the pool loads it once at set-up.
 */
#include <hwloc.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define HWLOC_SONAME "libhwloc.so.15"

/* Each forwarded function: its name, result, parameters and arguments. */
#define HWLOC_CALLS(X)                                                                             \
    X(int, hwloc_topology_init, (hwloc_topology_t * t), (t))                                       \
    X(int, hwloc_topology_load, (hwloc_topology_t t), (t))                                         \
    X(int, hwloc_topology_set_flags, (hwloc_topology_t t, unsigned long f), (t, f))                \
    X(int, hwloc_topology_set_synthetic, (hwloc_topology_t t, const char *d), (t, d))              \
    X(int, hwloc_topology_refresh, (hwloc_topology_t t), (t))                                      \
    X(int, hwloc_get_type_depth, (hwloc_topology_t t, hwloc_obj_type_t ty), (t, ty))               \
    X(unsigned, hwloc_get_nbobjs_by_depth, (hwloc_topology_t t, int d), (t, d))                    \
    X(hwloc_obj_t, hwloc_get_obj_by_depth, (hwloc_topology_t t, int d, unsigned i), (t, d, i))     \
    X(int, hwloc_set_cpubind, (hwloc_topology_t t, hwloc_const_cpuset_t s, int f), (t, s, f))      \
    X(int, hwloc_set_area_membind,                                                                 \
      (hwloc_topology_t t, const void *a, size_t n, hwloc_const_bitmap_t s,                        \
       hwloc_membind_policy_t p, int f),                                                           \
      (t, a, n, s, p, f))                                                                          \
    X(int, hwloc_bitmap_isset, (hwloc_const_bitmap_t b, unsigned i), (b, i))

static struct {
#define FIELD(ret, name, params, args) ret(*name) params;
    HWLOC_CALLS(FIELD)
#undef FIELD
    void (*hwloc_topology_destroy)(hwloc_topology_t t);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = dlopen(HWLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "zvm: cannot load hwloc: %s\n", dlerror());
        abort();
    }
#define RESOLVE(ret, name, params, args)                                                           \
    if (!(*(void **)&fn.name = dlsym(lib, #name))) {                                               \
        fprintf(stderr, "zvm: %s has no %s\n", HWLOC_SONAME, #name);                               \
        abort();                                                                                   \
    }
    HWLOC_CALLS(RESOLVE)
    RESOLVE(void, hwloc_topology_destroy, , )
#undef RESOLVE
}

#define FORWARD(ret, name, params, args)                                                           \
    ret name params                                                                                \
    {                                                                                              \
        pthread_once(&once, load);                                                                 \
        return fn.name args;                                                                       \
    }
HWLOC_CALLS(FORWARD)

void hwloc_topology_destroy(hwloc_topology_t t)
{
    pthread_once(&once, load);
    fn.hwloc_topology_destroy(t);
}
