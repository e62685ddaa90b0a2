/*
 * pipeline.c — `zvm job [options] JOB.json`: a multi-stage job from a
 * ZeroCloud servlet description (config/jobdesc.c), run by the job runner
 * (prefork/job.c). Prints a line per instance under a header of field
 * names (name, exit_code, cpu_seconds, wall_seconds, bytes_in, bytes_out,
 * status), then the job's line; --report=json gives the same fields. Exits
 * 0 when every instance ended "ok", 1 when one did not or the job was
 * stopped (a trap, a non-zero exit, an undeclared device, a deadlock: then
 * also one line on stderr naming it and where its stderr went), 2 for bad
 * usage, 14 for a bad description (nothing started).
 */
#include "cli/cli.h"
#include "prefork/prefork.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void progress(void *arg, uint32_t done, uint32_t running, uint32_t waiting, uint32_t total)
{
    (void)arg;
    fprintf(stderr, "\rzvm job: %u of %u instances done, %u running, %u waiting   ", done, total,
            running, waiting);
}

/* JSON string contents (names and statuses come from our own text, but
 * a status may quote a path). */
static void json_str(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
}

/* One instance's fields, in the text table's order and the JSON's names.
 * The exit code is the guest's, where it ended by itself (else "-",
 * null). */
static void print_json(const zv_cfg_jobdesc *d, const zv_pf_job_result *r)
{
    printf("{\"instances\": [");
    for (uint32_t k = 0; k < r->n; k++) {
        const zv_pf_job_inst *in = &r->inst[k];
        printf("%s{\"name\": \"", k ? ", " : "");
        json_str(d->inst[k].name);
        if (in->exited)
            printf("\", \"exit_code\": %d", in->exit_code);
        else
            printf("\", \"exit_code\": null");
        printf(", \"cpu_seconds\": %.3f, \"wall_seconds\": %.3f, \"bytes_in\": %lld, "
               "\"bytes_out\": %lld, \"status\": \"",
               in->cpu_seconds, in->wall_seconds, (long long)in->bytes_in,
               (long long)in->bytes_out);
        json_str(in->status);
        printf("\"}");
    }
    printf("], \"instances_total\": %u, \"failed\": %u, \"exit_code\": %d, \"status\": \"", r->n,
           r->failed, r->exit_code);
    json_str(r->status);
    printf("\"}\n");
}

/* A table with a header of the JSON's names, the status last (it has
 * blanks), then the job's line. */
static void print_text(const zv_cfg_jobdesc *d, const zv_pf_job_result *r)
{
    int w = 4;
    for (uint32_t k = 0; k < r->n; k++)
        if ((int)strlen(d->inst[k].name) > w)
            w = (int)strlen(d->inst[k].name);
    printf("%-*s  exit_code  cpu_seconds  wall_seconds  bytes_in  bytes_out  status\n", w, "name");
    for (uint32_t k = 0; k < r->n; k++) {
        const zv_pf_job_inst *in = &r->inst[k];
        char code[16] = "-";
        if (in->exited)
            snprintf(code, sizeof code, "%d", in->exit_code);
        printf("%-*s  %9s  %11.3f  %12.3f  %8lld  %9lld  %s\n", w, d->inst[k].name, code,
               in->cpu_seconds, in->wall_seconds, (long long)in->bytes_in,
               (long long)in->bytes_out, in->status);
    }
    printf("zvm job: %u instance%s, %u failed: %s\n", r->n, r->n == 1 ? "" : "s", r->failed, r->status);
}

/* On stderr, when the job failed: its status and where the instance that
 * stopped it wrote its stderr. */
static void say_failure(const char *path, const zv_cfg_jobdesc *d, const zv_pf_job_result *r)
{
    char where[4096];
    if (r->culprit >= r->n) {
        fprintf(stderr, "zvm job: %s: %s\n", path, r->status);
        return;
    }
    const zv_cfg_manifest *m = d->inst[r->culprit].man;
    zv_cfg_resolve(m, m->channels[2].uri, where, sizeof where);
    fprintf(stderr, "zvm job: %s: %s (its stderr: %s)\n", path, r->status, where);
}

int zv_cli_pipeline(const zv_cli_job_flags *f, const char *path)
{
    zv_cfg_job_opts co = {f->memory_bytes ? f->memory_bytes : 64ull << 20,
                          f->timeout_s ? f->timeout_s : 60, f->outdir};
    char cwd[4096], outdir[8192];
    zv_pf_job_opts po;
    zv_cfg_jobdesc *d = NULL;
    zv_cfg_err err;
    zv_pf_job_result res;
    int rc;
    memset(&po, 0, sizeof po);
    po.workers = f->workers;
    po.eng.cache_dir = f->cache;
    if (f->outdir && f->outdir[0] != '/') { /* the description's paths are the JSON's folder's */
        if (!getcwd(cwd, sizeof cwd)) {
            zv_cli_file_err("job", f->outdir, strerror(errno));
            return 1;
        }
        snprintf(outdir, sizeof outdir, "%s/%s", cwd, f->outdir);
        co.outdir = outdir;
    }
    if ((rc = zv_cfg_jobdesc_load(path, &co, &d, &err))) {
        if (err.line)
            fprintf(stderr, "zvm job: %s:%d: %s\n", path, err.line, err.msg);
        else
            zv_cli_file_err("job", path, err.msg);
        return rc == -ENOENT ? 2 : 14;
    }
    signal(SIGPIPE, SIG_IGN); /* a pipe whose reader has ended: EPIPE to the writer */
    if (isatty(2))
        po.progress = progress;
    rc = zv_pf_job_run(d, &po, &res);
    if (po.progress)
        fprintf(stderr, "\r\033[K");
    if (rc) {
        zv_cli_file_err("job", path, res.status);
        zv_cfg_jobdesc_free(d);
        return rc == -EINVAL ? 14 : 1;
    }
    if (f->json)
        print_json(d, &res);
    else
        print_text(d, &res);
    if (res.exit_code)
        say_failure(path, d, &res);
    rc = res.exit_code;
    zv_pf_job_result_free(&res);
    zv_cfg_jobdesc_free(d);
    return fflush(stdout) ? 1 : rc;
}
