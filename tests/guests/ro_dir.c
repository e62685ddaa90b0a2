/*
 * ro_dir.c — a filter that reads a rules file from a host folder seen at
 * /data (`--dir HOST::/data`, read-only in pools, `:ro` in zvm run).
 * Before its first read of stdin it opens /data/rules.txt and reads its
 * first line (so under --snapshot first-read the file is open at the fork
 * point, and every record reads on from the same position); then for
 * each line it prints the rest of the rules file, a listing of /data and
 * what each way of changing the host answered (errno names: EROFS when
 * read-only). With the argument "write" it writes /data/made.txt and
 * removes it again (a writable --dir in zvm run).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *why(int rc) /* the errno of a call, as its name */
{
    return rc == 0 ? "ok" : errno == EROFS ? "EROFS" : errno == ENOENT ? "ENOENT"
         : errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" : strerror(errno);
}

static void changes(int write_ok)
{
    FILE *f = fopen("/data/made.txt", "w");
    int fd;
    printf("create=%s", f ? "ok" : why(-1));
    if (f) {
        fputs("made by a guest\n", f);
        fclose(f);
    }
    fd = open("/data/rules.txt", O_WRONLY | O_APPEND);
    printf(" append=%s", fd >= 0 ? "ok" : why(-1));
    if (fd >= 0)
        close(fd);
    printf(" trunc=%s", why(truncate(write_ok ? "/data/made.txt" : "/data/rules.txt", 0)));
    printf(" mkdir=%s", why(mkdir("/data/sub", 0755)));
    printf(" rename=%s", why(rename("/data/rules.txt", "/data/moved.txt")));
    printf(" symlink=%s", why(symlink("rules.txt", "/data/link")));
    if (write_ok) { /* put the folder back as it was */
        rename("/data/moved.txt", "/data/rules.txt");
        rmdir("/data/sub");
        unlink("/data/link");
        printf(" unlink=%s\n", why(unlink("/data/made.txt")));
    } else {
        printf(" unlink=%s\n", why(unlink("/data/rules.txt")));
    }
}

int main(int argc, char **argv)
{
    char first[256] = "", line[4096], rest[4096];
    int write_ok = argc > 1 && !strcmp(argv[1], "write");
    int rules = open("/data/rules.txt", O_RDONLY);
    size_t k = 0;
    if (rules < 0) {
        printf("no /data/rules.txt: %s\n", strerror(errno));
        return 1;
    }
    while (k < sizeof first - 1 && read(rules, first + k, 1) == 1 && first[k++] != '\n')
        ; /* its first line, byte by byte: the descriptor's position is just past it */
    while (fgets(line, sizeof line, stdin)) {
        ssize_t got = read(rules, rest, sizeof rest - 1);
        size_t n = got < 0 ? 0 : (size_t)got;
        DIR *d = opendir("/data");
        struct dirent *e;
        rest[n] = 0;
        printf("record %sfirst rule %srest %zu bytes: %s", line, first, n, rest);
        printf("listing:");
        while (d && (e = readdir(d)))
            if (e->d_name[0] != '.')
                printf(" %s", e->d_name);
        if (d)
            closedir(d);
        printf("\n");
        changes(write_ok);
    }
    return 0;
}
