/*
 * log.c — what the commands say on stderr as they run: one line per
 * event (start, a connection lost and regained, a poison entry, a
 * reload, a stop, an error), as text for a terminal or, with
 * `--log-format json`, as one JSON object per line for journald, Loki
 * or whatever collects a service's logs:
 *
 *   {"time": "2026-12-06T10:00:00.123Z", "level": "info", "command": "consume",
 *    "event": "start", "message": "...", ...fields}
 *
 * In JSON every line a command writes on stderr is such an object: its
 * errors (zv_cli_err) become "error" events and the summary a "summary"
 * event, and there is no progress line (it is for a person at a terminal,
 * and it is never drawn when stderr is not one).
 *
 * Under systemd (Type=notify) the service manager hears of readiness and
 * of the stop through $NOTIFY_SOCKET: one datagram per state, written
 * here directly (sd_notify's protocol) rather than through libsystemd,
 * which Debian ships only as a shared library while libzvm links
 * statically.
 */
#include "cli/cli.h"

#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int zv_cli_log_json;

int zv_cli_log_format(const zv_cli_args *a)
{
    static const char *const forms[] = {"text", "json", NULL};
    return zv_cli_choice(a, forms, &zv_cli_log_json);
}

void zv_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* The line's head: time, level, command, event, message. */
static void json_head(FILE *f, const char *level, const char *event, const char *msg)
{
    struct timespec t;
    struct tm tm;
    char when[40];
    clock_gettime(CLOCK_REALTIME, &t);
    gmtime_r(&t.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(f, "{\"time\": \"%s.%03ldZ\", \"level\": \"%s\", \"command\": ", when,
            t.tv_nsec / 1000000, level);
    zv_cli_json_string(f, zv_cli_current);
    fprintf(f, ", \"event\": \"%s\", \"message\": ", event);
    zv_cli_json_string(f, msg);
}

void zv_cli_event(const char *level, const char *event, const zv_cli_kv *kv, const char *fmt, ...)
{
    char msg[2048], *line = NULL;
    size_t len = 0;
    va_list ap;
    FILE *f;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!zv_cli_log_json) {
        zv_cli_err("zvm %s: %s\n", zv_cli_current, msg);
        return;
    }
    /* one write, so that lines from two threads never interleave */
    if (!(f = open_memstream(&line, &len)))
        return;
    json_head(f, level, event, msg);
    for (; kv && kv->key; kv++) {
        fprintf(f, ", \"%s\": ", kv->key);
        if (kv->raw)
            fputs(kv->raw, f);
        else
            zv_cli_json_string(f, kv->str ? kv->str : "");
    }
    fputs("}\n", f);
    if (fclose(f) == 0)
        fwrite(line, 1, len, stderr);
    free(line);
}

/* zv_cli_err's text as an "error" event: its "zvm CMD: " and its newline go. */
void zv_cli_err_json(const char *text)
{
    char prefix[64];
    size_t n = (size_t)snprintf(prefix, sizeof prefix, "zvm %s: ", zv_cli_current), len;
    char msg[4096];
    if (!strncmp(text, prefix, n))
        text += n;
    snprintf(msg, sizeof msg, "%s", text);
    len = strlen(msg);
    while (len && msg[len - 1] == '\n')
        msg[--len] = 0;
    zv_cli_event("error", "error", NULL, "%s", msg);
}

void zv_cli_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = path ? strlen(path) : 0;
    socklen_t len;
    int fd;
    if (!n || n >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
        return; /* not under a service manager that asked */
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* the abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return;
    /* best effort, as sd_notify: a manager that does not listen changes nothing here */
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
    }
    close(fd);
}
