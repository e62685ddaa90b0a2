/*
 * metrics.c — a pool's counters as Prometheus' text format (version
 * 0.0.4) over HTTP at /metrics, served by a thread of its own.
 *
 * Everything shown is read when a scrape comes, from what the pool keeps
 * anyway: its counters (prefork.h, zv_pf_counters: records by cause,
 * output bytes, a consumer's redeliveries and lag, reloads), the workers'
 * latency histograms, their watches (a worker whose watch holds a start
 * time is running an instance) and their threads' CPU clocks. So turning
 * metrics on adds nothing to a record's path: no counter is bumped for
 * them and no clock is read (perf/README.md has the interleaved runs).
 * zvm_instance_cpu_seconds_total is the worker threads' CPU time: they run
 * the instances, and in `zvm batch` with a worker on every core also the
 * reading and writing between batches (a clock per record would cost a
 * system call each: CLOCK_THREAD_CPUTIME_ID has no vDSO path).
 *
 * The server is one thread and one connection at a time, each with a
 * 2-second deadline for its request (a scraper that stalls cannot hold
 * the others off for long), and it answers GET /metrics, 404 for other
 * paths and 405 for other methods. It listens on loopback unless an
 * address says otherwise: metrics tell anyone who can read them how busy
 * the host is and which module runs.
 */
#include "prefork/pool_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_BYTES 8192
#define REQUEST_MS 2000

struct zv_pf_metrics {
    pthread_mutex_t lock; /* guards pool: a scrape holds it while it reads */
    zv_pf_pool *pool;   /* borrowed */
    int lfd, efd;       /* the listener; the stop signal */
    pthread_t thread;
    int started;
    char address[300];  /* where it listens, as HOST:PORT */
};

int zv_pf_metrics_parse(const char *addr, char *host, size_t host_len, char *port,
                        size_t port_len, char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':'), *p;
    size_t hn;
    if (!colon) { /* a port alone: loopback */
        snprintf(host, host_len, "127.0.0.1");
        p = addr;
    } else if (addr[0] == '[') { /* [V6]:PORT */
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "%s: an IPv6 address goes in brackets: [ADDRESS]:PORT", addr);
            return -EINVAL;
        }
        hn = (size_t)(close - addr - 1);
        snprintf(host, host_len, "%.*s", (int)hn, addr + 1);
        p = close + 2;
    } else {
        hn = (size_t)(colon - addr);
        snprintf(host, host_len, "%.*s", (int)hn, addr); /* "" (":PORT"): every interface */
        p = colon + 1;
    }
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 || atoi(p) > 65535) {
        snprintf(err, errlen, "%s: not PORT, HOST:PORT, [IPV6]:PORT or :PORT (a port is 0 to "
                 "65535)", addr);
        return -EINVAL;
    }
    snprintf(port, port_len, "%s", p);
    return 0;
}

/* The listening socket for addr, and where it ended up (port 0 picks). */
static int listen_at(zv_pf_metrics *m, const char *addr, char *err, size_t errlen)
{
    char host[256], port[8], shown[INET6_ADDRSTRLEN];
    struct addrinfo hints = {0}, *ai = NULL;
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int rc, one = 1;
    if ((rc = zv_pf_metrics_parse(addr, host, sizeof host, port, sizeof port, err, errlen)))
        return rc;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai))) {
        snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
        return -EINVAL;
    }
    m->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(m->lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(m->lfd, 64) < 0 ||
        getsockname(m->lfd, (struct sockaddr *)&sa, &len) < 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot listen: %s", addr, strerror(-rc));
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    if (sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, shown, sizeof shown);
        snprintf(m->address, sizeof m->address, "[%s]:%u", shown, ntohs(s6->sin6_port));
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &s4->sin_addr, shown, sizeof shown);
        snprintf(m->address, sizeof m->address, "%s:%u", shown, ntohs(s4->sin_port));
    }
    return 0;
}

/* ---- the page ----------------------------------------------------------------------- */

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, double v)
{
    head(f, name, type, help);
    fprintf(f, "%s %.10g\n", name, v);
}

/* The latency histograms of every worker as one Prometheus histogram: an
 * internal bucket counts below a bound once its upper edge is within it
 * (latency.h's buckets are within 6%). */
static void durations(FILE *f, const zv_pf_pool *p)
{
    static const double bounds_s[] = {1e-6, 2.5e-6, 5e-6,  1e-5,  2.5e-5, 5e-5, 1e-4, 2.5e-4,
                                      5e-4, 1e-3,   2.5e-3, 5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,
                                      0.25, 0.5,    1,      2.5,  5,      10,   30,   60};
    zv_latency_sum *all = calloc(1, sizeof *all);
    uint64_t seen = 0;
    unsigned b = 0;
    if (!all)
        return;
    for (uint32_t k = 0; k < p->n_workers; k++)
        zv_lat_merge(all, &p->w[k].lat);
    head(f, "zvm_record_duration_seconds", "histogram",
         "One record's run on its worker, from its start to its end.");
    for (size_t i = 0; i < sizeof bounds_s / sizeof *bounds_s; i++) {
        uint64_t bound_ns = (uint64_t)(bounds_s[i] * 1e9 + 0.5);
        while (b + 1 < ZV_LAT_BUCKETS && zv_lat_value(b + 1) <= bound_ns)
            seen += all->counts[b++];
        fprintf(f, "zvm_record_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds_s[i],
                (unsigned long long)seen);
    }
    while (b < ZV_LAT_BUCKETS)
        seen += all->counts[b++];
    fprintf(f, "zvm_record_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
               "zvm_record_duration_seconds_sum %.9f\nzvm_record_duration_seconds_count %llu\n",
            (unsigned long long)seen, (double)all->sum_ns / 1e9, (unsigned long long)seen);
    free(all);
}

static double thread_cpu_s(pthread_t t)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &id) || clock_gettime(id, &ts))
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void workers(FILE *f, zv_pf_pool *p)
{
    unsigned running = 0, baseline;
    uint64_t baseline_records;
    double cpu_s = 0;
    for (uint32_t k = 0; k < p->n_workers; k++) {
        zv_pf_watch *w = p->w[k].watch;
        running += atomic_load_explicit(&w->started_ns, memory_order_relaxed) != 0;
        if (atomic_load_explicit(&w->attached, memory_order_acquire))
            cpu_s += thread_cpu_s(w->thread);
    }
    zv_pf_pool_tiers(p, &baseline, &baseline_records);
    one(f, "zvm_instances_running", "gauge", "Instances running now (at most one per worker).",
        running);
    one(f, "zvm_instance_cpu_seconds_total", "counter",
        "CPU time of the worker threads, which run the instances.", cpu_s);
    one(f, "zvm_workers", "gauge", "Worker threads, one instance each.", p->n_workers);
    one(f, "zvm_workers_baseline", "gauge",
        "Workers still on the module's baseline build (tcc) while gcc -O2 builds the optimised "
        "one.", baseline);
    one(f, "zvm_records_baseline_total", "counter", "Records run on a baseline build.",
        (double)baseline_records);
}

static void process(FILE *f)
{
    long pages = 0, resident = 0;
    struct timespec t;
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm) {
        if (fscanf(statm, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(statm);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    one(f, "process_cpu_seconds_total", "counter", "CPU time of the whole process.",
        (double)t.tv_sec + (double)t.tv_nsec / 1e9);
    one(f, "process_resident_memory_bytes", "gauge", "Resident memory of the whole process.",
        (double)resident * (double)sysconf(_SC_PAGESIZE));
}

int zv_pf_metrics_write(zv_pf_pool *p, FILE *f)
{
    zv_pf_counters *c = &p->counters;
    head(f, "zvm_records_total", "counter", "Records that ended, by cause.");
    for (int i = 0; i < ZV_PF_CAUSES; i++)
        fprintf(f, "zvm_records_total{cause=\"%s\"} %llu\n", zv_pf_cause_names[i],
                (unsigned long long)atomic_load(&c->records[i]));
    durations(f, p);
    workers(f, p);
    one(f, "zvm_output_bytes_total", "counter", "Bytes of the records' outputs written.",
        (double)atomic_load(&c->output_bytes));
    head(f, "zvm_module_reloads_total", "counter",
         "Module reloads: done, and refused (the module before runs on).");
    fprintf(f, "zvm_module_reloads_total{result=\"ok\"} %llu\n"
               "zvm_module_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)atomic_load(&c->reloads),
            (unsigned long long)atomic_load(&c->reload_failures));
    if (atomic_load(&c->consumer)) {
        one(f, "zvm_redeliveries_total", "counter",
            "Entries delivered again (claimed from a consumer that stopped, or read again "
            "after a restart).", (double)atomic_load(&c->redeliveries));
        one(f, "zvm_consumer_lag", "gauge",
            "Entries of the stream that the group has not read or not acked (XINFO GROUPS lag "
            "plus pending; -1 when unknown).", (double)atomic_load(&c->lag));
        one(f, "zvm_redis_reconnects_total", "counter", "Connections to Redis lost and made again.",
            (double)atomic_load(&c->reconnects));
    }
    process(f);
    return ferror(f) ? -EIO : 0;
}

/* ---- the server --------------------------------------------------------------------- */

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status, type, len);
    struct pollfd pfd = {fd, POLLOUT, 0};
    size_t done = 0, total = (size_t)n + len;
    while (done < total && poll(&pfd, 1, REQUEST_MS) == 1) {
        ssize_t k = done < (size_t)n ? send(fd, hdr + done, (size_t)n - done, MSG_NOSIGNAL)
                                     : send(fd, body + done - (size_t)n, total - done, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0)
            return;
        done += (size_t)k;
    }
}

/* One connection: its request line within REQUEST_MS, then the answer. */
static void serve_one(zv_pf_metrics *m, int fd)
{
    char req[REQUEST_BYTES + 1], *body = NULL;
    size_t got = 0, len = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (got < REQUEST_BYTES && !memmem(req, got, "\r\n\r\n", 4) && !memmem(req, got, "\n\n", 2)) {
        struct pollfd pfd = {fd, POLLIN, 0};
        long left_ms;
        ssize_t k;
        clock_gettime(CLOCK_MONOTONIC, &t);
        left_ms = REQUEST_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) != 1)
            return; /* too slow: dropped */
        k = recv(fd, req + got, REQUEST_BYTES - got, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0)
            return;
        got += (size_t)k;
    }
    req[got] = 0;
    if (strncmp(req, "GET ", 4)) {
        reply(fd, "405 Method Not Allowed", "text/plain", "GET /metrics\n", 13);
        return;
    }
    if (strncmp(req + 4, "/metrics", 8) || (req[12] != ' ' && req[12] != '?')) {
        reply(fd, "404 Not Found", "text/plain", "zvm serves /metrics\n", 20);
        return;
    }
    {
        FILE *f = open_memstream(&body, &len);
        int rc = -ENOMEM;
        if (f) {
            pthread_mutex_lock(&m->lock);
            rc = zv_pf_metrics_write(m->pool, f);
            pthread_mutex_unlock(&m->lock);
        }
        if (!f || rc || fclose(f)) {
            reply(fd, "500 Internal Server Error", "text/plain", "out of memory\n", 14);
            free(body);
            return;
        }
    }
    reply(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
    free(body);
}

static void *metrics_main(void *arg)
{
    zv_pf_metrics *m = arg;
    for (;;) {
        struct pollfd pfd[2] = {{m->lfd, POLLIN, 0}, {m->efd, POLLIN, 0}};
        int fd;
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break; /* stopping */
        if ((fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
            continue;
        serve_one(m, fd);
        close(fd);
    }
    return NULL;
}

int zv_pf_metrics_start(const char *addr, zv_pf_pool *pool, zv_pf_metrics **out, char *err,
                        size_t errlen)
{
    zv_pf_metrics *m = calloc(1, sizeof *m);
    sigset_t all, old;
    int rc;
    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->pool = pool;
    m->lfd = m->efd = -1;
    pthread_mutex_init(&m->lock, NULL);
    if ((rc = listen_at(m, addr, err, errlen)))
        goto fail;
    if ((m->efd = eventfd(0, EFD_CLOEXEC)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "eventfd: %s", strerror(-rc));
        goto fail;
    }
    /* the process's signals are for its main thread */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = -pthread_create(&m->thread, NULL, metrics_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        snprintf(err, errlen, "cannot start the metrics thread: %s", strerror(-rc));
        goto fail;
    }
    m->started = 1;
    *out = m;
    return 0;
fail:
    zv_pf_metrics_free(m);
    return rc;
}

const char *zv_pf_metrics_address(const zv_pf_metrics *m) { return m ? m->address : ""; }

void zv_pf_metrics_set_pool(zv_pf_metrics *m, zv_pf_pool *pool)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock); /* after this no scrape reads the pool before */
    m->pool = pool;
    pthread_mutex_unlock(&m->lock);
}

void zv_pf_metrics_free(zv_pf_metrics *m)
{
    uint64_t one_ = 1;
    if (!m)
        return;
    if (m->started) {
        if (write(m->efd, &one_, sizeof one_) < 0) { /* cannot fail: a fresh counter */
        }
        pthread_join(m->thread, NULL);
    }
    if (m->lfd >= 0)
        close(m->lfd);
    if (m->efd >= 0)
        close(m->efd);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
