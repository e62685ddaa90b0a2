/*
 * daemon_client.c — zvm-daemon-client: drives a daemon (`zvm run` of a
 * manifest with Job = PATH) for the tests and the benchmark.
 *
 *   raw SOCKET FILE          send FILE's bytes as they are (header and all),
 *                            print the answer
 *   hangup SOCKET JOB        send a job and hang up before its report
 *   idle SOCKET N SECONDS    N connections that send nothing (slowloris):
 *                            prints "N open" once all are connected, then
 *                            after SECONDS how many the daemon has closed
 *   many SOCKET JOB N        N connections open at once, each sends JOB;
 *                            then every report is read: prints how many
 *                            came back and how many said "ok"
 *   bench SOCKET JOB N       N round trips one after another (connect, send,
 *                            report back): p50, p99 and mean in us
 *   exec N CMD...            N runs of CMD as a fresh process, the same
 *                            figures (the peer: `zvm run` of a manifest)
 *
 * JOB is a job manifest file; it goes out with ZeroVM's framing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *job;
static size_t job_len;

static void die(const char *what)
{
    fprintf(stderr, "zvm-daemon-client: %s: %s\n", what, strerror(errno));
    exit(2);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        die(path);
    if (!(buf = malloc((size_t)n + 16)) || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die(path);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The job with its 8-digit length in front. */
static void load_job(const char *path)
{
    size_t n;
    char *text = slurp(path, &n);
    if (!(job = malloc(n + 8)))
        die("malloc");
    snprintf(job, 9, "%08zu", n);
    memcpy(job + 8, text, n);
    job_len = n + 8;
    free(text);
}

static int dial(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die(path);
    return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("send");
        p += k;
        n -= (size_t)k;
    }
}

/* Everything until the daemon closes; its length. */
static size_t answer(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + got, cap - 1 - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || (got += (size_t)k) == cap - 1)
            break;
    }
    buf[got] = 0;
    return got;
}

/* The status line of a text report: the sixth. */
static int report_ok(const char *r)
{
    for (int line = 1; line < 6 && r; line++)
        if ((r = strchr(r, '\n')))
            r++;
    return r && !strncmp(r, "ok", 2);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_times(const char *what, uint64_t *t, long n)
{
    double sum = 0;
    qsort(t, (size_t)n, sizeof *t, cmp_u64);
    for (long i = 0; i < n; i++)
        sum += (double)t[i];
    printf("%s: %ld round trips, p50 %.1f us, p99 %.1f us, mean %.1f us\n", what, n,
           (double)t[n / 2] / 1e3, (double)t[n * 99 / 100] / 1e3, sum / (double)n / 1e3);
}

static int many(const char *sock, long n)
{
    static char buf[65536];
    int *fds = calloc((size_t)n, sizeof *fds);
    long ok = 0, back = 0;
    struct rlimit rl;
    if (!fds)
        die("calloc");
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    for (long i = 0; i < n; i++) /* all connected before any job is sent */
        fds[i] = dial(sock);
    for (long i = 0; i < n; i++)
        send_all(fds[i], job, job_len);
    for (long i = 0; i < n; i++) {
        if (answer(fds[i], buf, sizeof buf)) {
            back++;
            ok += report_ok(buf);
        }
        close(fds[i]);
    }
    printf("%ld connections, %ld reports, %ld ok\n", n, back, ok);
    free(fds);
    return back == n && ok == n ? 0 : 1;
}

/* Has the daemon closed fd (end of file, or an error)? */
static int closed_by_peer(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    char c;
    return poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static int idle(const char *sock, long n, long seconds)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    long closed = 0;
    struct rlimit rl;
    uint64_t t0 = now_ns();
    if (!fds)
        die("calloc");
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    for (long i = 0; i < n; i++)
        fds[i] = dial(sock);
    printf("%ld open\n", n);
    fflush(stdout);
    while (now_ns() - t0 < (uint64_t)seconds * 1000000000ull)
        usleep(10000);
    for (long i = 0; i < n; i++) {
        closed += closed_by_peer(fds[i]);
        close(fds[i]);
    }
    printf("%ld idle connections, %ld closed by the daemon within %ld s\n", n, closed, seconds);
    free(fds);
    return 0;
}

static int bench(const char *sock, long n)
{
    static char buf[65536];
    uint64_t *t = calloc((size_t)n, sizeof *t);
    long bad = 0;
    if (!t)
        die("calloc");
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int fd = dial(sock);
        send_all(fd, job, job_len);
        answer(fd, buf, sizeof buf);
        close(fd);
        t[i] = now_ns() - t0;
        bad += !report_ok(buf);
    }
    print_times("daemon job", t, n);
    free(t);
    if (bad)
        printf("%ld reports not ok\n", bad);
    return bad != 0;
}

static int exec_runs(long n, char **cmd)
{
    uint64_t *t = calloc((size_t)n, sizeof *t);
    long bad = 0;
    if (!t)
        die("calloc");
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        int status;
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execvp(cmd[0], cmd);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0)
            die("fork");
        t[i] = now_ns() - t0;
        bad += !WIFEXITED(status) || WEXITSTATUS(status);
    }
    print_times("fresh process", t, n);
    free(t);
    if (bad)
        printf("%ld runs failed\n", bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    static char buf[65536];
    if (argc >= 4 && !strcmp(argv[1], "raw")) {
        int fd = dial(argv[2]);
        job = slurp(argv[3], &job_len);
        send_all(fd, job, job_len);
        shutdown(fd, SHUT_WR);
        answer(fd, buf, sizeof buf);
        fputs(buf, stdout);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "hangup")) {
        int fd = dial(argv[2]);
        load_job(argv[3]);
        send_all(fd, job, job_len);
        close(fd);
        return 0;
    }
    if (argc >= 5 && !strcmp(argv[1], "idle"))
        return idle(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc >= 5 && !strcmp(argv[1], "many")) {
        load_job(argv[3]);
        return many(argv[2], atol(argv[4]));
    }
    if (argc >= 5 && !strcmp(argv[1], "bench")) {
        load_job(argv[3]);
        return bench(argv[2], atol(argv[4]));
    }
    if (argc >= 4 && !strcmp(argv[1], "exec"))
        return exec_runs(atol(argv[2]), argv + 3);
    fprintf(stderr, "usage: zvm-daemon-client raw|hangup SOCKET FILE | many|bench SOCKET JOB N"
                    " | idle SOCKET N SECONDS | exec N CMD...\n");
    return 2;
}
