/*
 * pipeline.c — `zvm job [options] JOB.json`: a multi-stage job from a
 * ZeroCloud servlet description (config/jobdesc.c), run by the job runner
 * (prefork/job.c). Prints each instance's report, then the job's line;
 * exits 0 when every instance ended with 0, 1 when one did not or the job
 * was stopped (a trap, a deadlock), 2 for bad usage, 14 for a bad
 * description (nothing started).
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

static void print(const zv_cfg_jobdesc *d, const zv_pf_job_result *r, int json)
{
    if (json) {
        printf("{\"instances\":[");
        for (uint32_t k = 0; k < r->n; k++) {
            printf("%s{\"name\":\"", k ? "," : "");
            json_str(d->inst[k].name);
            printf("\",\"report\":");
            fflush(stdout);
            zvm_report_write(&r->reports[k], 1, stdout);
            printf("}");
        }
        printf("],\"instances_total\":%u,\"failed\":%u,\"exit_code\":%d,\"status\":\"", r->n,
               r->failed, r->exit_code);
        json_str(r->status);
        printf("\"}\n");
        return;
    }
    for (uint32_t k = 0; k < r->n; k++) {
        printf("== %s\n", d->inst[k].name);
        zvm_report_write(&r->reports[k], 0, stdout);
    }
    printf("zvm job: %u instances, %u failed: %s\n", r->n, r->failed, r->status);
}

int zv_cli_pipeline(const zv_cli_job_flags *f, const char *path)
{
    zv_cfg_job_opts co = {f->memory_bytes ? f->memory_bytes : 64ull << 20,
                          f->timeout_s ? f->timeout_s : 60, f->outdir};
    zv_pf_job_opts po;
    zv_cfg_jobdesc *d = NULL;
    zv_cfg_err err;
    zv_pf_job_result res;
    int rc;
    memset(&po, 0, sizeof po);
    po.workers = f->workers;
    po.eng.cache_dir = f->cache;
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
    print(d, &res, f->json);
    rc = res.exit_code;
    zv_pf_job_result_free(&res);
    zv_cfg_jobdesc_free(d);
    return rc;
}
