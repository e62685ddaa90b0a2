/*
 * job.c — `zvm job SOCKET JOB-MANIFEST`: the client side of daemon mode
 * (anything else, e.g. `zvm job JOB.json`, is a job description:
 * pipeline.c).
 * It sends the job manifest with ZeroVM's framing (8 zero-padded decimal
 * digits, its length, then the text), prints the report the daemon sends
 * back, and exits 0 when a report came, 1 when the daemon hung up without
 * one, 2 when the manifest or the socket cannot be used. The daemon may
 * answer before it has read the whole job (a manifest over its limit):
 * when sending fails, the report may still be there to read.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
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

static int is_json(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && !strcmp(path + n - 5, ".json");
}

int zv_cli_job(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    zv_cli_file f;
    char header[16], buf[65536];
    size_t total = 0;
    int fd, rc, sent_errno;
    if (argc != 2 || !strncmp(argv[0], "--", 2) || is_json(argv[argc - 1]))
        return zv_cli_pipeline(argc, argv); /* a job description */
    if (strlen(argv[0]) >= sizeof sa.sun_path) {
        fprintf(stderr, "%s: a socket path is at most %zu bytes\n", argv[0], sizeof sa.sun_path - 1);
        return 2;
    }
    if ((rc = zv_cli_read(argv[1], &f)))
        return rc;
    if (f.size > 99999999) {
        fprintf(stderr, "%s: too large for a job (8 digits of length)\n", argv[1]);
        zv_cli_release(&f);
        return 2;
    }
    strcpy(sa.sun_path, argv[0]);
    snprintf(header, sizeof header, "%08zu", f.size);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
        zv_cli_release(&f);
        return 2;
    }
    rc = send_all(fd, header, 8) || send_all(fd, f.data, f.size);
    sent_errno = errno;
    zv_cli_release(&f);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        fwrite(buf, 1, (size_t)n, stdout);
        total += (size_t)n;
    }
    close(fd);
    if (!total && rc) {
        fprintf(stderr, "%s: the daemon hung up while the job was sent: %s\n", argv[0],
                strerror(sent_errno));
        return 1;
    }
    if (!total) {
        fprintf(stderr, "%s: the daemon closed the connection without a report\n", argv[0]);
        return 1;
    }
    return fflush(stdout) ? 1 : 0;
}
