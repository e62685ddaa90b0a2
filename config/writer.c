/*
 * writer.c — the manifest as text, and the manifest for one job.
 *
 * zv_cfg_write is zv_cfg_parse's inverse: numbers in decimal, and Args and
 * Env values percent-encoded wherever a byte would be trimmed, split on,
 * or taken for syntax (blanks and controls, '=', ',', '%'). The strings
 * that the parser does not decode (Program, Job, channel uri and alias,
 * Env names) are written as they are, so one the parser could not give
 * back (empty, holding '=' or a newline, blank at an edge, ',' in a
 * channel field) is refused with -EINVAL rather than written wrong.
 */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A string that reads back as itself as a whole value (or channel field). */
static int plain(const char *s, int in_channel)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || zv_cfg_blank((unsigned char)s[0]) || zv_cfg_blank((unsigned char)s[n - 1]))
        return 0;
    return !strpbrk(s, in_channel ? "=\n," : "=\n");
}

static int env_name_ok(const char *s)
{
    const char *eq = s ? strchr(s, '=') : NULL;
    if (!eq || eq == s)
        return 0;
    for (const char *c = s; c < eq; c++)
        if (zv_cfg_blank((unsigned char)*c) || *c == '\n')
            return 0;
    return 1;
}

static int writable(const zv_cfg_manifest *m)
{
    if (!plain(m->program, 0) || (m->job && !plain(m->job, 0)))
        return 0;
    for (uint32_t i = 0; i < m->n_channels; i++)
        if (!plain(m->channels[i].uri, 1) || !plain(m->channels[i].alias, 1))
            return 0;
    for (uint32_t i = 0; i < m->n_args; i++)
        if (!m->args[i][0])
            return 0; /* an empty argument has no spelling */
    for (uint32_t i = 0; i < m->n_env; i++)
        if (!env_name_ok(m->env[i]))
            return 0;
    for (uint32_t i = 0; i < m->n_mounts; i++)
        if (!plain(m->mounts[i].alias, 1) || !plain(m->mounts[i].path, 1))
            return 0;
    return 1;
}

static void put_encoded(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '%' || c == '=' || c == ',')
            fprintf(out, "%%%02X", c);
        else
            putc(c, out);
    }
}

int zv_cfg_write(const zv_cfg_manifest *m, FILE *out)
{
    if (!writable(m))
        return -EINVAL;
    fprintf(out, "Version = %d\nProgram = %s\n", ZV_CFG_VERSION, m->program);
    fprintf(out, "Memory = %" PRIu64 ", %d\nTimeout = %" PRIu32 "\nEtag = %d\n", m->memory_bytes,
            m->memory_etag, m->timeout_s, m->etag);
    if (m->node)
        fprintf(out, "Node = %" PRId64 "\n", m->node);
    if (m->job)
        fprintf(out, "Job = %s\n", m->job);
    if (m->seed)
        fprintf(out, "Seed = %" PRIu64 "\n", m->seed);
    if (m->time_s)
        fprintf(out, "Time = %" PRIu64 "\n", m->time_s);
    if (m->n_args) {
        fputs("Args =", out);
        for (uint32_t i = 0; i < m->n_args; i++) {
            putc(' ', out);
            put_encoded(out, m->args[i]);
        }
        putc('\n', out);
    }
    for (uint32_t i = 0; i < m->n_env; i++) {
        const char *eq = strchr(m->env[i], '=');
        fprintf(out, "Env = %.*s ", (int)(eq - m->env[i]), m->env[i]);
        put_encoded(out, eq + 1);
        putc('\n', out);
    }
    for (uint32_t i = 0; i < m->n_mounts; i++)
        fprintf(out, "Mount = %s, %s\n", m->mounts[i].alias, m->mounts[i].path);
    for (uint32_t i = 0; i < m->n_channels; i++) {
        const zv_cfg_channel *c = &m->channels[i];
        fprintf(out, "Channel = %s, %s, %d, %d", c->uri, c->alias, c->type, c->etag);
        for (int k = 0; k < 4; k++)
            fprintf(out, ", %" PRId64, c->limits[k]);
        putc('\n', out);
    }
    return fflush(out) || ferror(out) ? -EIO : 0;
}

static char *dup(const char *s)
{
    assert(s);
    return zv_cfg_strndup(s, strlen(s));
}

/* stdin reads `input`; stdout and stderr write theirs; no etags. */
static int job_channels(const zv_cfg_instance *job, zv_cfg_manifest *m)
{
    const char *uri[3] = {job->input, job->output, job->errors};
    if (!(m->channels = zv_cfg_calloc(3, sizeof *m->channels)))
        return -ENOMEM;
    for (int i = 0; i < 3; i++) {
        zv_cfg_channel *c = &m->channels[m->n_channels++];
        int at = i == 0 ? ZV_CFG_GETS : ZV_CFG_PUTS;
        c->type = ZV_CFG_SEQ_SEQ;
        c->limits[at] = INT64_C(1) << 31;
        c->limits[at + 1] = job->limit_bytes;
        if (!(c->uri = dup(uri[i])) || !(c->alias = dup(zv_cfg_std_alias[i])))
            return -ENOMEM;
    }
    return 0;
}

int zv_cfg_for_instance(const zv_cfg_instance *job, zv_cfg_manifest **out)
{
    zv_cfg_manifest *m = zv_cfg_calloc(1, sizeof *m);
    uint32_t n = 0;
    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->memory_bytes = job->memory_bytes;
    m->timeout_s = job->timeout_s;
    m->etag = 1;
    m->seed = job->seed;
    m->time_s = job->time_s;
    while (job->args && job->args[n])
        n++;
    if (!(m->program = dup(job->program)) || !(m->dir = dup(".")) || job_channels(job, m) ||
        !(m->args = zv_cfg_calloc(n + 1, sizeof *m->args)) ||
        !(m->env = zv_cfg_calloc(1, sizeof *m->env)))
        goto fail;
    for (; m->n_args < n; m->n_args++)
        if (!(m->args[m->n_args] = dup(job->args[m->n_args])))
            goto fail;
    *out = m;
    return 0;
fail:
    zv_cfg_free(m);
    return -ENOMEM;
}
