/*
 * reuse.c — one guest for every way zvm reuses a run (tests/e2e/reuse.sh):
 * a plain session, batch records with --snapshot off and on, and daemon
 * jobs must print the same bytes. argv[1] says what to do, argv[2]
 * "fork" puts a set-up (which prints nothing) before zvm_fork():
 *   chan   read /dev/rules 4 bytes at a time, 3 times (its gets limit
 *          is 2), the first in the set-up when forking
 *   chan2  the same, 2 times (within the limit)
 *   stat   stat, fstat and zvm.manifest of /dev/input; with fork the
 *          set-up builds the file tree first
 *   image  list the image mounted at /img and print its files; with
 *          fork the set-up lists it first
 *   write  write to every writable channel: /dev/out (sequential),
 *          /dev/rout (random: pwrite), /dev/null (a device), stderr
 * Every mode then echoes its stdin. And modes that are not about reuse:
 *   args   print argc, each argument and the environment
 *   lines  each stdin line "CODE TEXT": TEXT to stderr (\t and \n
 *          escaped as in C), "out CODE" to stdout, then exit CODE
 *          ("trap": unreachable)
 *   hog KIND  make file system objects of one kind until the file
 *          system says no: file (empty, long names), dir, symlink (long
 *          targets), link (hard links), data (one file's bytes)
 */
#include <zvm/guest.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show_read(int fd, const char *when)
{
    char buf[8] = {0};
    ssize_t n = read(fd, buf, 4);
    if (n < 0)
        printf("%s: %s\n", when, strerror(errno));
    else
        printf("%s: %zd \"%.*s\"\n", when, n, (int)n, buf);
}

static void chan(int forking, int reads)
{
    int fd = open("/dev/rules", O_RDONLY);
    char setup[8] = {0};
    ssize_t n = -1;
    if (forking) { /* the set-up reads the first 4 bytes, prints nothing */
        n = read(fd, setup, 4);
        zvm_fork();
        printf("set-up read: %zd \"%.*s\"\n", n, n > 0 ? (int)n : 0, setup);
    } else {
        show_read(fd, "first");
    }
    show_read(fd, "second");
    if (reads > 2)
        show_read(fd, "third");
}

static const char *type_of(mode_t m)
{
    return S_ISREG(m) ? "file" : S_ISCHR(m) ? "chardev" : S_ISDIR(m) ? "dir" : "other";
}

static void stat_input(int forking)
{
    struct stat st;
    int fd;
    if (forking) {
        stat("/dev/input", &st); /* the tree is built now, at the set-up */
        zvm_fork();
    }
    if (stat("/dev/input", &st) == 0)
        printf("stat: %lld %s\n", (long long)st.st_size, type_of(st.st_mode));
    else
        printf("stat: %s\n", strerror(errno));
    fd = open("/dev/input", O_RDONLY);
    if (fd >= 0 && fstat(fd, &st) == 0)
        printf("fstat: %lld %s\n", (long long)st.st_size, type_of(st.st_mode));
    for (int i = 0; MANIFEST && i < MANIFEST->channels_count; i++)
        if (!strcmp(MANIFEST->channels[i].name, "/dev/input"))
            printf("manifest: %lld\n", (long long)MANIFEST->channels[i].size);
}

static void list(const char *dir, int print)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0 && print)
        printf("%s: %s\n", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        char path[512], buf[256];
        FILE *f;
        if (print && names[i]->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            f = fopen(path, "r");
            printf("%s:", path);
            while (f && fgets(buf, sizeof buf, f))
                printf(" %s", buf);
            printf("\n");
            if (f)
                fclose(f);
        }
        free(names[i]);
    }
    if (n >= 0)
        free(names);
}

static void image(int forking)
{
    if (forking) {
        list("/img", 0);
        zvm_fork();
    }
    list("/img", 1);
}

static void write_all(int forking)
{
    int out = open("/dev/out", O_WRONLY), rout = open("/dev/rout", O_WRONLY),
        null = open("/dev/null", O_WRONLY);
    if (forking)
        zvm_fork();
    printf("out: %zd\n", write(out, "sequential\n", 11));
    printf("rout: %zd %zd\n", pwrite(rout, "at 8\n", 5, 8), pwrite(rout, "at 0", 4, 0));
    printf("null: %zd\n", write(null, "gone\n", 5));
    fprintf(stderr, "to stderr\n");
}

static void hog(const char *kind)
{
    char name[300], target[1001];
    long n = 0;
    int rc = 0, fd = open("/hog", O_CREAT | O_WRONLY, 0644);
    static char block[65536];
    memset(target, 't', 1000);
    target[1000] = 0;
    for (; rc == 0 && n < 10000000; n++) {
        snprintf(name, sizeof name, "/%0200ld", n);
        if (!strcmp(kind, "file"))
            rc = (fd = open(name, O_CREAT | O_WRONLY, 0644)) < 0 ? -1 : close(fd);
        else if (!strcmp(kind, "dir"))
            rc = mkdir(name, 0755);
        else if (!strcmp(kind, "symlink"))
            rc = symlink(target, name);
        else if (!strcmp(kind, "link"))
            rc = link("/hog", name);
        else
            rc = write(fd, block, sizeof block) == (ssize_t)sizeof block ? 0 : -1;
    }
    printf("%s: %s after %ld\n", kind, rc ? strerror(errno) : "no error", n);
}

extern char **environ;

static int lines(void)
{
    static char line[65536];
    int code = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *text = strchr(line, ' ');
        if (!strncmp(line, "trap", 4))
            __builtin_trap();
        code = atoi(line);
        for (char *p = text ? text + 1 : line + strlen(line); *p && *p != '\n'; p++)
            if (p[0] == '\\' && (p[1] == 'n' || p[1] == 't'))
                fputc(*++p == 'n' ? '\n' : '\t', stderr);
            else
                fputc(*p, stderr);
        printf("out %d\n", code);
    }
    return code;
}

int main(int argc, char **argv)
{
    int forking = argc > 2 && !strcmp(argv[2], "fork");
    char line[256];
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "chan") || !strcmp(mode, "chan2"))
        chan(forking, mode[4] ? 2 : 3);
    else if (!strcmp(mode, "stat"))
        stat_input(forking);
    else if (!strcmp(mode, "image"))
        image(forking);
    else if (!strcmp(mode, "write"))
        write_all(forking);
    else if (!strcmp(mode, "hog") && argc > 2)
        hog(argv[2]);
    else if (!strcmp(mode, "lines"))
        return lines();
    else if (!strcmp(mode, "args")) {
        printf("argc %d\n", argc);
        for (int i = 0; i < argc; i++)
            printf("argv[%d] %s\n", i, argv[i]);
        for (char **e = environ; *e; e++)
            printf("env %s\n", *e);
        return 0;
    }
    else
        printf("unknown mode '%s'\n", mode);
    while (fgets(line, sizeof line, stdin))
        printf("stdin: %s", line);
    return 0;
}
