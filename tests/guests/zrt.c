/*
 * zrt.c — a stock C program on ZeroVM's in-memory file system (ZRT's
 * model): what argv[1] asks for, printed so the end-to-end test can
 * compare.
 *   session  read files of the tar image mounted at /data, list it, make
 *            /tmp/work files (fopen, fprintf, fseek, rename, unlink,
 *            mkdir, stat), copy /dev/input to /dev/output through a file,
 *            try to leave the tree
 *   fill     write a file until the Memory limit refuses (ENOSPC), then
 *            files until none fits; a rename that needs room then fails
 *            and keeps the file
 *   many     100000 files in one directory, listed, then removed while
 *            listed
 *   record   (no argv: a batch record) "W name" writes /tmp/name, "R
 *            name" reads it back (in a fresh instance: not there); "A"
 *            appends to /tmp/setup.txt, made before zvm_fork(), and prints
 *            it (every record sees it as the set-up left it)
 */
#include <zvm/guest.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void cat(const char *path)
{
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("%s: %s\n", path, strerror(errno));
        return;
    }
    while (fgets(buf, sizeof buf, f))
        printf("%s: %s", path, buf);
    fclose(f);
}

static void list(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    printf("ls %s:", path);
    while (d && (e = readdir(d)))
        printf(" %s", e->d_name);
    printf("%s\n", d ? "" : " (cannot open)");
    if (d)
        closedir(d);
}

static int session(void)
{
    struct stat st;
    FILE *f;
    char buf[256];
    size_t n;
    cat("/data/greeting.txt");
    cat("/data/sub/nested.txt");
    list("/data");
    list("/data/sub");
    list("/dev");
    printf("write into the image: %s\n",
           open("/data/new.txt", O_CREAT | O_WRONLY, 0644) < 0 ? strerror(errno) : "allowed!");
    printf("mkdir /tmp/work: %d\n", mkdir("/tmp", 0755) | mkdir("/tmp/work", 0755));
    f = fopen("/tmp/work/a.txt", "w");
    fprintf(f, "first line\nsecond line\n");
    fclose(f);
    f = fopen("/tmp/work/a.txt", "r+");
    fseek(f, 6, SEEK_SET);
    fputs("LINE", f);
    fclose(f);
    cat("/tmp/work/a.txt");
    stat("/tmp/work/a.txt", &st);
    printf("size %lld mtime %lld.%09ld ino %llu\n", (long long)st.st_size,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
    printf("rename: %d, old gone: %d\n", rename("/tmp/work/a.txt", "/tmp/work/b.txt"),
           access("/tmp/work/a.txt", F_OK) < 0 && errno == ENOENT);
    /* the input channel through a file to the output channel */
    f = fopen("/dev/input", "r");
    n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    f = fopen("/tmp/work/copy", "w");
    fwrite(buf, 1, n, f);
    fclose(f);
    f = fopen("/tmp/work/copy", "r");
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen("/dev/output", "w");
    fwrite(buf, 1, n, f);
    fclose(f);
    list("/tmp/work");
    printf("unlink: %d %d, rmdir: %d\n", unlink("/tmp/work/b.txt"), unlink("/tmp/work/copy"),
           rmdir("/tmp/work"));
    printf("escape: %s\n", open("/../etc/passwd", O_RDONLY) < 0 ? strerror(errno) : "open!");
    printf("unlink a channel: %s\n", unlink("/dev/input") < 0 ? strerror(errno) : "done!");
    return 0;
}

static int fill(void)
{
    static char chunk[65536];
    FILE *f = fopen("/keep", "w");
    long total = 0;
    fclose(f);
    f = fopen("/big", "w");
    setvbuf(f, NULL, _IONBF, 0);
    memset(chunk, 'x', sizeof chunk);
    while (fwrite(chunk, 1, sizeof chunk, f) == sizeof chunk)
        total += sizeof chunk;
    printf("wrote %ld KiB, then: %s\n", total / 1024, strerror(errno));
    for (int i = 0; i < 100000; i++) { /* fill what is left: files and names need room too */
        char name[32];
        int fd;
        snprintf(name, sizeof name, "/small%d", i);
        if ((fd = open(name, O_CREAT | O_WRONLY, 0644)) < 0)
            break;
        close(fd);
    }
    char to[256] = "/"; /* a name longer than what a new file takes: there is no room for it */
    memset(to + 1, 'n', 250);
    printf("rename when full: %s, the file kept: %d\n",
           rename("/keep", to) < 0 ? strerror(errno) : "done",
           access("/keep", F_OK) == 0 || access(to, F_OK) == 0);
    fclose(f);
    printf("after unlink: %d\n", unlink("/big"));
    f = fopen("/again", "w"); /* the room is back */
    printf("write again: %zu\n", fwrite(chunk, 1, sizeof chunk, f));
    fclose(f);
    return 0;
}

static int many(void)
{
    char name[64];
    DIR *d;
    struct dirent *e;
    int n = 0;
    mkdir("/many", 0755);
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof name, "/many/f%06d", i);
        int fd = open(name, O_CREAT | O_WRONLY, 0644);
        if (fd < 0) {
            printf("file %d: %s\n", i, strerror(errno));
            return 1;
        }
        close(fd);
    }
    d = opendir("/many");
    while (readdir(d))
        n++;
    closedir(d);
    printf("100000 files: %d entries listed\n", n);
    d = opendir("/many"); /* remove each as it is listed, as rm -r does */
    n = 0;
    while ((e = readdir(d))) {
        snprintf(name, sizeof name, "/many/%s", e->d_name);
        n += e->d_name[0] != '.' && unlink(name) == 0;
    }
    closedir(d);
    printf("removed while listing: %d, rmdir %d\n", n, rmdir("/many"));
    return 0;
}

static int record(void)
{
    char line[256], path[300], buf[64];
    FILE *f;
    mkdir("/tmp", 0755); /* the set-up: a file every record starts with */
    f = fopen("/tmp/setup.txt", "w");
    fputs("made before the fork", f);
    fclose(f);
    zvm_fork();
    if (!fgets(line, sizeof line, stdin))
        return 0;
    if (line[0] == 'A') {
        f = fopen("/tmp/setup.txt", "a");
        fputs("+record", f);
        fclose(f);
        cat("/tmp/setup.txt");
        printf("\n");
        return 0;
    }
    line[strcspn(line, "\n")] = 0;
    snprintf(path, sizeof path, "/tmp/%s", line + 2);
    if (line[0] == 'W') {
        f = fopen(path, "w");
        fprintf(f, "written by this record");
        fclose(f);
        printf("wrote %s\n", path);
    } else {
        f = fopen(path, "r");
        printf("%s: %s\n", path, f && fgets(buf, sizeof buf, f) ? buf : strerror(errno));
        if (f)
            fclose(f);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "session"))
        return session();
    if (argc > 1 && !strcmp(argv[1], "fill"))
        return fill();
    if (argc > 1 && !strcmp(argv[1], "many"))
        return many();
    return record();
}
