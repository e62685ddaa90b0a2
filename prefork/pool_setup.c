/*
 * pool_setup.c — a pool's configuration made real (pool.c runs it): the
 * per-instance manifest from the template or the limits, argv and the
 * environment, the records' read-only folders and the module's images,
 * the exit codes that are no error, the worker and batch arrays.
 */
#include "prefork/pool_private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

/* The per-instance manifest: the template's, or one made for the limits.
 * The standard channels are rebound to memory, so their uris are moot;
 * extra template channels may only be read (every instance would write
 * to the same file). For jobs (daemon mode) the template is the daemon's
 * manifest: its set-up writes nothing (writable channels become
 * /dev/null: each job gets its own), and the output buffers only take
 * what a set-up writes (at most 1 GiB of it). */
static int to_dev_null(zv_cfg_channel *c)
{
    char *null = strdup("/dev/null");
    if (!null)
        return -ENOMEM;
    free(c->uri);
    c->uri = null;
    return 0;
}
static int make_manifest(zv_pf_pool *p, const zvm_pool_config *c, uint64_t output_limit,
                         char *err, size_t errlen)
{
    zv_cfg_err cerr = {0};
    if (c->manifest) {
        if ((p->jobs ? zv_cfg_load : zv_cfg_load_template)(c->manifest, &p->man, &cerr)) {
            if (cerr.line)
                snprintf(err, errlen, "%s:%d: %s", c->manifest, cerr.line, cerr.msg);
            else
                snprintf(err, errlen, "%s: %s", c->manifest, cerr.msg);
            return -EINVAL;
        }
        for (int i = 0; i < 3; i++)
            if (to_dev_null(&p->man->channels[i]))
                return -ENOMEM;
        for (uint32_t i = 3; i < p->man->n_channels; i++)
            if (p->man->channels[i].limits[ZV_CFG_PUTS] &&
                p->man->channels[i].limits[ZV_CFG_PUTSIZE] && p->jobs) {
                if (to_dev_null(&p->man->channels[i]))
                    return -ENOMEM;
            } else if (p->man->channels[i].limits[ZV_CFG_PUTS] &&
                       p->man->channels[i].limits[ZV_CFG_PUTSIZE]) {
                snprintf(err, errlen, "%s: channel %s is writable: every instance would write "
                         "to it; pool templates may add only readable channels", c->manifest,
                         p->man->channels[i].alias);
                return -EINVAL;
            }
        for (int i = 1; p->jobs && i < 3; i++)
            if (p->man->channels[i].limits[ZV_CFG_PUTSIZE] > (int64_t)MAX_LIMIT)
                p->man->channels[i].limits[ZV_CFG_PUTSIZE] = (int64_t)MAX_LIMIT;
        if (c->memory_bytes)
            p->man->memory_bytes = c->memory_bytes;
        if (c->output_limit)
            p->man->channels[1].limits[ZV_CFG_PUTSIZE] = (int64_t)output_limit;
        p->timeout_ns = c->timeout_s > 0 ? (uint64_t)(c->timeout_s * 1e9)
                                         : p->man->timeout_s * 1000000000ull;
        return 0;
    } else {
        zv_cfg_instance ci = {0};
        ci.program = "-";
        ci.input = ci.output = ci.errors = "/dev/null";
        ci.memory_bytes = c->memory_bytes ? c->memory_bytes : 64ull << 20;
        ci.timeout_s = c->timeout_s > 0 ? (uint32_t)(c->timeout_s + 0.999) : 10;
        ci.limit_bytes = (int64_t)output_limit;
        p->timeout_ns = (uint64_t)((c->timeout_s > 0 ? c->timeout_s : 10) * 1e9);
        return zv_cfg_for_instance(&ci, &p->man);
    }
}

/* "1,3-5": the exit codes (0-255) that are not errors, besides 0. */
static int parse_exit_codes(zv_pf_pool *p, const char *list, char *err, size_t errlen)
{
    for (const char *s = list; s && *s;) {
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        if (end != s && *end == '-')
            hi = strtol(end + 1, &end, 10);
        if (end == s || !(*end == 0 || (*end == ',' && end[1])) || lo < 0 || hi > 255 || lo > hi) {
            snprintf(err, errlen, "allowed exit codes '%s': a list of codes 0-255 and ranges, "
                     "e.g. 1,3-5", list);
            return -EINVAL;
        }
        for (long k = lo; k <= hi; k++)
            p->exit_ok[k / 64] |= 1ull << (k % 64);
        s = *end ? end + 1 : end;
    }
    return 0;
}

/* argv[0] is the program; then c->args, or the template's own Args after
 * its argv[0]. The environment: the template's Env, then c->env. */
static int set_argv(zv_cfg_manifest *m, const zvm_pool_config *c)
{
    size_t n_args = 0, n_env = 0;
    char **args, **env;
    while (c->args && c->args[n_args])
        n_args++;
    while (c->env && c->env[n_env])
        n_env++;
    if (!c->args && m->n_args > 1)
        n_args = m->n_args - 1;
    if (!(args = calloc(n_args + 2, sizeof *args)) ||
        !(env = calloc(m->n_env + n_env + 1, sizeof *env))) {
        free(args);
        return -ENOMEM;
    }
    args[0] = strdup(c->program ? c->program : "module");
    for (size_t i = 0; i < n_args; i++)
        args[i + 1] = strdup(c->args ? c->args[i] : m->args[i + 1]);
    for (uint32_t i = 0; i < m->n_env; i++)
        env[i] = m->env[i]; /* moved */
    for (size_t i = 0; i < n_env; i++)
        env[m->n_env + i] = strdup(c->env[i]);
    for (uint32_t i = 0; i < m->n_args; i++)
        free(m->args[i]);
    free(m->args);
    free(m->env);
    m->args = args;
    m->n_args = (uint32_t)n_args + 1;
    m->env = env;
    m->n_env += (uint32_t)n_env;
    for (size_t i = 0; i < m->n_args; i++)
        if (!args[i])
            return -ENOMEM;
    for (size_t i = 0; i < m->n_env; i++)
        if (!env[i])
            return -ENOMEM;
    return 0;
}

/* The records' read-only host folders (cfg->dirs, copied). */
static int set_dirs(zv_pf_pool *p, const zvm_pool_config *c)
{
    uint32_t n = 0;
    while (c->dirs && c->dirs[n])
        n++;
    if (!n)
        return 0;
    if (!(p->dirs = calloc(n + 1, sizeof *p->dirs)))
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if (!(p->dirs[i] = strdup(c->dirs[i])))
            return -ENOMEM;
    p->man->dirs = p->dirs;
    p->man->n_dirs = n;
    p->man->dirs_ro = 1;
    return 0;
}

/* The images the module names in its zvm.mount section, mounted in
 * every record's tree (a daemon's jobs have their manifest's Mount). */
static int set_images(zv_pf_pool *p, const zv_eng_module *m, char *err, size_t errlen)
{
    zv_eng_err e = {0};
    int rc = zv_eng_module_mounts(m, &p->images, &e);
    if (rc) {
        snprintf(err, errlen, "%s", e.msg);
        return rc;
    }
    p->man->images = p->images;
    while (p->images && p->images[p->man->n_images])
        p->man->n_images++;
    return 0;
}

/* A template's Program must be the module the pool runs (a Program that
 * was silently ignored misled its users). */
static int same_program(const zv_cfg_manifest *m, const char *template, const char *program,
                        char *err, size_t errlen)
{
    char want[4096], a[PATH_MAX], b[PATH_MAX];
    zv_cfg_resolve(m, m->program, want, sizeof want);
    if (realpath(want, a) && realpath(program, b) && !strcmp(a, b))
        return 0;
    snprintf(err, errlen, "%s: Program = %s, but the module is %s (a template's Program must "
             "name the module)", template, m->program, program);
    return -EINVAL;
}

static int check_config(const zvm_pool_config *c, char *err, size_t errlen)
{
    const char *why = NULL;
    if (c->workers > MAX_WORKERS)
        why = "workers: at most 64";
    else if (c->timeout_s < 0 || c->timeout_s > 1e6)
        why = "timeout_s: 0 to 1000000 seconds";
    else if (c->memory_bytes && (c->memory_bytes % 65536 || c->memory_bytes > (4ull << 30)))
        why = "memory_bytes: whole 64 KiB pages, at most 4 GiB";
    else if (c->input_limit > MAX_LIMIT || c->output_limit > MAX_LIMIT)
        why = "input_limit and output_limit: at most 1 GiB";
    else if (c->reset < 0 || c->reset > 2)
        why = "reset: 0 (auto), 1 (memset) or 2 (madvise)";
    else if (c->snapshot < ZVM_SNAPSHOT_FORK || c->snapshot > ZVM_SNAPSHOT_FIRST_READ)
        why = "snapshot: ZVM_SNAPSHOT_FORK, ZVM_SNAPSHOT_OFF or ZVM_SNAPSHOT_FIRST_READ";
    else if (c->stderr_limit > (int64_t)MAX_LIMIT)
        why = "stderr_limit: at most 1 GiB";
    if (why)
        snprintf(err, errlen, "bad pool configuration: %s", why);
    return why ? -EINVAL : 0;
}

int zv_pf_pool_setup(zv_pf_pool *p, const zvm_pool_config *c, char *err, size_t errlen)
{
    uint64_t out_limit = c->output_limit ? c->output_limit : ZVM_DEFAULT_RECORD_BYTES;
    int rc;
    if ((rc = check_config(c, err, errlen)) ||
        (rc = make_manifest(p, c, out_limit, err, errlen)) ||
        (c->manifest && c->program && p->man->program &&
         (rc = same_program(p->man, c->manifest, c->program, err, errlen))))
        return rc;
    if (!p->jobs && ((rc = set_argv(p->man, c)) || (rc = set_dirs(p, c)))) {
        /* (a daemon's are its manifest's) */
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (!p->jobs && (rc = set_images(p, p->mod, err, errlen)))
        return rc;
    p->input_limit = c->input_limit ? c->input_limit : ZVM_DEFAULT_RECORD_BYTES;
    /* a record the guest could not read whole is over the limit too */
    if ((uint64_t)p->man->channels[0].limits[ZV_CFG_GETSIZE] < p->input_limit)
        p->input_limit = (uint64_t)p->man->channels[0].limits[ZV_CFG_GETSIZE];
    if (p->jobs) /* its records are zv_pf_job pointers */
        p->input_limit = sizeof(zv_pf_job *);
    p->depth = c->depth ? c->depth : 4096;
    p->unordered = c->unordered != 0;
    p->reset_how = c->reset;
    p->snapshot = c->snapshot;
    p->stderr_bytes = c->stderr_limit < 0 ? 0 : c->stderr_limit ? (size_t)c->stderr_limit : 4096;
    p->keep_output = c->keep_output;
    if ((rc = parse_exit_codes(p, c->allow_exit_codes, err, errlen)))
        return rc;
    if ((rc = zv_cpu_topology_load(&p->topo))) {
        snprintf(err, errlen, "cannot read the CPU topology: %s", strerror(-rc));
        return rc;
    }
    p->n_workers = c->workers ? c->workers : (uint32_t)zv_cpu_count_cores(p->topo);
    if (p->n_workers > MAX_WORKERS)
        p->n_workers = MAX_WORKERS;
    p->n_batches = p->n_workers * (QUEUE_DEPTH + 4);
    if (p->n_batches < p->depth / BATCH_MAX + 2 * p->n_workers)
        p->n_batches = p->depth / BATCH_MAX + 2 * p->n_workers;
    p->w = calloc(p->n_workers, sizeof *p->w);
    p->batches = calloc(p->n_batches, sizeof *p->batches);
    p->free_list = calloc(p->n_batches, sizeof *p->free_list);
    p->pending = calloc(p->n_batches, sizeof *p->pending);
    if (!p->w || !p->batches || !p->free_list || !p->pending)
        return -ENOMEM;
    for (uint32_t i = 0; i < p->n_batches; i++)
        p->free_list[p->n_free++] = &p->batches[i];
    if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return -errno;
    if ((rc = zv_pf_watchdog_new(p->n_workers, &p->wd)))
        return rc;
    for (uint32_t k = 0; k < p->n_workers; k++) {
        p->w[k].p = p;
        p->w[k].watch = zv_pf_watchdog_slot(p->wd, k);
    }
    return 0;
}
