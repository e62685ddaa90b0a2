/*
 * job.c — `zvm job`: with one operand, JOB.json, a job description
 * (pipeline.c); with two, SOCKET JOB-MANIFEST, the client side of daemon
 * mode.
 * It sends the job manifest with ZeroVM's framing (8 zero-padded decimal
 * digits, its length, then the text), prints the report the daemon sends
 * back, and exits 0 when the job ended well, 1 when it failed (the
 * report's status is then said on stderr) or the daemon hung up without a
 * report, 2 when the manifest or the socket cannot be used. The daemon may
 * answer before it has read the whole job (a manifest over its limit):
 * when sending fails, the report may still be there to read.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static const zv_cli_opt job_opts[] = {
    {"report", 0, "text|json", "JOB.json: the reports' form (default text)"},
    {"workers", 0, "N", "JOB.json: instances running at once (default: the cores)"},
    {"memory", 0, "B", "JOB.json: an instance's memory when its node says none (default 64 MiB)"},
    {"timeout", 0, "S", "JOB.json: an instance's timeout when its node says none, whole seconds "
                        "(default 60)"},
    {"outdir", 0, "DIR", "JOB.json: where devices without a path, and stderr unless listed, "
                         "go as INSTANCE.DEVICE (default out/ beside the JSON)"},
    {"cache", 0, "DIR", "the code cache (default $ZVM_CACHE, else ~/.cache/zvm)"},
    {NULL, 0, NULL, NULL},
};

const zv_cli_cmd zv_cli_job_cmd = {
    "job",
    "[OPTIONS] JOB.json\nSOCKET JOB-MANIFEST",
    "Run a multi-stage job description (ZeroCloud's servlet JSON: a MapReduce or a pipeline of\n"
    "filters on one machine), or send one job to a daemon (zvm run of a manifest with Job =)\n"
    "and print its report.",
    job_opts,
    0,
    "More: man zvm-job.",
    NULL,
};

/* The report's status line (text: the 6th; JSON: "status"), into buf;
 * 1 if it is "ok" or "ok; ...". */
static int report_ok(const char *rep, size_t n, char *buf, size_t cap)
{
    const char *s = rep, *end = rep + n, *q;
    buf[0] = 0;
    if (n && rep[0] == '{') { /* JSON: "status": "..." */
        if ((q = strstr(rep, "\"status\": \"")))
            snprintf(buf, cap, "%.*s", (int)strcspn(q + 11, "\""), q + 11);
    } else {
        for (int line = 1; line < 6 && s < end; line++)
            s = (q = memchr(s, '\n', (size_t)(end - s))) ? q + 1 : end;
        snprintf(buf, cap, "%.*s", (int)strcspn(s, "\n"), s);
    }
    return !strcmp(buf, "ok") || !strncmp(buf, "ok;", 3);
}

static int send_job(const char *sock, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    zv_cli_file f;
    char header[16], buf[65536], status[600];
    char *rep = NULL;
    size_t total = 0;
    FILE *mem;
    int fd, rc, sent_errno;
    if (strlen(sock) >= sizeof sa.sun_path) {
        fprintf(stderr, "zvm job: %s: a socket path is at most %zu bytes\n", sock,
                sizeof sa.sun_path - 1);
        return 2;
    }
    if ((rc = zv_cli_read(path, &f)))
        return rc;
    if (f.size > 99999999) {
        fprintf(stderr, "zvm job: %s: too large for a job (8 digits of length)\n", path);
        zv_cli_release(&f);
        return 2;
    }
    strcpy(sa.sun_path, sock);
    snprintf(header, sizeof header, "%08zu", f.size);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "zvm job: %s: %s\n", sock, strerror(errno));
        zv_cli_release(&f);
        return 2;
    }
    rc = send_all(fd, header, 8) || send_all(fd, f.data, f.size);
    sent_errno = errno;
    zv_cli_release(&f);
    if (!(mem = open_memstream(&rep, &total))) {
        close(fd);
        return 1;
    }
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        fwrite(buf, 1, (size_t)n, mem);
    }
    close(fd);
    fclose(mem);
    fwrite(rep, 1, total, stdout);
    if (!total && rc) {
        fprintf(stderr, "zvm job: %s: the daemon hung up while the job was sent: %s\n", sock,
                strerror(sent_errno));
        rc = 1;
    } else if (!total) {
        fprintf(stderr, "zvm job: %s: the daemon closed the connection without a report\n", sock);
        rc = 1;
    } else if (!report_ok(rep, total, status, sizeof status)) {
        fprintf(stderr, "zvm job: %s: the job failed: %s\n", path, status);
        rc = 1;
    } else {
        rc = 0;
    }
    free(rep);
    return fflush(stdout) ? 1 : rc;
}

int zv_cli_job(int argc, char **argv)
{
    static const char *const forms[] = {"text", "json", NULL};
    zv_cli_job_flags f;
    zv_cli_args a;
    uint64_t v;
    int rc;
    memset(&f, 0, sizeof f);
    zv_cli_args_init(&a, &zv_cli_job_cmd, argc, argv);
    while ((rc = zv_cli_next(&a)) == 1) {
        if (zv_cli_is(&a, "report"))
            rc = zv_cli_choice(&a, forms, &f.json);
        else if (zv_cli_is(&a, "workers"))
            rc = zv_cli_unsigned(&a, 1, 1024, &f.workers);
        else if (zv_cli_is(&a, "memory"))
            rc = zv_cli_memory(&a, &f.memory_bytes);
        else if (zv_cli_is(&a, "timeout") && !(rc = zv_cli_uint(&a, 1, 86400 * 365, &v)))
            f.timeout_s = (uint32_t)v;
        else if (zv_cli_is(&a, "outdir"))
            f.outdir = a.val;
        else if (zv_cli_is(&a, "cache"))
            f.cache = a.val;
        if (rc < 0)
            return 2;
    }
    if (rc)
        return rc == ZV_CLI_HELP ? 0 : 2;
    if (zv_cli_env_check("job"))
        return 2;
    if (a.n_operands == 1)
        return zv_cli_pipeline(&f, argv[0]);
    if (a.n_operands == 2 && a.i == 2) /* (no option) */
        return send_job(argv[0], argv[1]);
    zv_cli_fail(&a, "JOB.json, or SOCKET JOB-MANIFEST with no option (see zvm job --help)");
    return 2;
}
