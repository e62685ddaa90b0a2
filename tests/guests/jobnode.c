/*
 * jobnode.c — one node of the end-to-end job tests (zvm job), its role in
 * argv[1]:
 *   id      print argv[0], the environment's ROLE, and the names in /dev/in
 *           and /dev/out
 *   fan     copy /dev/stdin (if any) to every /dev/out/<name>, each line
 *           prefixed with argv[0]
 *   gather  read every /dev/in/<name> in name order to the end, print
 *           "<name>: <bytes> bytes" and the bytes themselves
 *   relay   like gather, but to every /dev/out/<name>, then "<argv[0]>: end"
 *   sum     like gather, but print one line: the sum of the numbers read
 *   wait    read /dev/in first, then write: two of them wait on each other
 *   cat     copy /dev/stdin to /dev/stdout, each line prefixed with argv[0]
 *   trap    reach unreachable
 *   pump M  write M MiB to every /dev/out/<name>
 *   number  print the number in argv[0] and send it to every /dev/out/<name>
 *   drain   read every /dev/in/<name> and print the byte count
 *   fail N [WHO]  say so on stderr, then exit N; with WHO, only the
 *           instance argv[0] = WHO fails, the others drain
 *   typo    copy /dev/stdin to /dev/out/nope (a connection no one declared)
 *   say     a line on stderr, then copy like fan
 *   null    write a line to /dev/null, then copy like fan
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char buf[1 << 16];

static int names(const char *dir, char out[][64], int cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && n < cap)
            snprintf(out[n++], 64, "%s", e->d_name);
    if (d)
        closedir(d);
    return n;
}

static char in[1024][64], out[1024][64];

int main(int argc, char **argv)
{
    const char *role = argc > 1 ? argv[1] : "id";
    int n_in = names("/dev/in", in, 1024), n_out = names("/dev/out", out, 1024);
    char path[128];
    if (!strcmp(role, "fail") && argc > 3 && strcmp(argv[0], argv[3]))
        role = "drain";
    if (!strcmp(role, "null")) {
        FILE *f = fopen("/dev/null", "w");
        if (f)
            fputs("gone\n", f), fclose(f);
        role = "fan";
    }
    if (!strcmp(role, "say"))
        fprintf(stderr, "%s: a line on stderr\n", argv[0]), role = "fan";
    if (!strcmp(role, "id")) {
        printf("%s ROLE=%s in:", argv[0], getenv("ROLE") ? getenv("ROLE") : "-");
        for (int i = 0; i < n_in; i++)
            printf(" %s", in[i]);
        printf(" out:");
        for (int i = 0; i < n_out; i++)
            printf(" %s", out[i]);
        printf("\n");
    } else if (!strcmp(role, "fan")) {
        FILE *f[1024];
        for (int i = 0; i < n_out; i++) {
            snprintf(path, sizeof path, "/dev/out/%s", out[i]);
            f[i] = fopen(path, "w");
        }
        while (fgets(buf, sizeof buf, stdin))
            for (int i = 0; i < n_out; i++)
                fprintf(f[i], "%s: %s", argv[0], buf);
        for (int i = 0; i < n_out; i++)
            fprintf(f[i], "%s: end\n", argv[0]), fclose(f[i]);
    } else if (!strcmp(role, "gather") || !strcmp(role, "sum") || !strcmp(role, "drain") ||
               !strcmp(role, "relay")) {
        long long total = 0, bytes = 0;
        FILE *o[1024];
        for (int i = 0; !strcmp(role, "relay") && i < n_out; i++) {
            snprintf(path, sizeof path, "/dev/out/%s", out[i]);
            o[i] = fopen(path, "w");
        }
        for (int i = 0; i < n_in; i++) {
            size_t k;
            long long mine = 0;
            FILE *f;
            snprintf(path, sizeof path, "/dev/in/%s", in[i]);
            f = fopen(path, "r");
            if (!strcmp(role, "sum")) {
                long long v;
                while (f && fscanf(f, "%lld", &v) == 1)
                    total += v;
            } else {
                while (f && (k = fread(buf, 1, sizeof buf, f)) > 0) {
                    mine += (long long)k;
                    if (!strcmp(role, "gather"))
                        fwrite(buf, 1, k, stdout);
                    for (int j = 0; !strcmp(role, "relay") && j < n_out; j++)
                        fwrite(buf, 1, k, o[j]);
                }
                bytes += mine;
            }
            if (f)
                fclose(f);
        }
        for (int j = 0; !strcmp(role, "relay") && j < n_out; j++)
            fprintf(o[j], "%s: end\n", argv[0]), fclose(o[j]);
        if (!strcmp(role, "sum"))
            printf("%lld\n", total);
        else
            printf("%s: %lld bytes from %d inputs\n", argv[0], bytes, n_in);
    } else if (!strcmp(role, "wait")) {
        snprintf(path, sizeof path, "/dev/in/%s", in[0]);
        FILE *f = fopen(path, "r");
        size_t k = fread(buf, 1, 1, f);
        snprintf(path, sizeof path, "/dev/out/%s", out[0]);
        f = fopen(path, "w");
        fprintf(f, "%zu\n", k);
    } else if (!strcmp(role, "cat")) {
        while (fgets(buf, sizeof buf, stdin))
            printf("%s: %s", argv[0], buf);
    } else if (!strcmp(role, "fail")) {
        int code = argc > 2 ? atoi(argv[2]) : 1;
        fprintf(stderr, "%s: failing with %d\n", argv[0], code);
        return code;
    } else if (!strcmp(role, "typo")) {
        FILE *f = fopen("/dev/out/nope", "w");
        while (f && fgets(buf, sizeof buf, stdin))
            fputs(buf, f);
        if (f)
            fclose(f);
    } else if (!strcmp(role, "trap")) {
        __builtin_trap();
    } else if (!strcmp(role, "pump")) {
        long mib = argc > 2 ? atol(argv[2]) : 1;
        memset(buf, 'x', sizeof buf);
        for (int i = 0; i < n_out; i++) {
            snprintf(path, sizeof path, "/dev/out/%s", out[i]);
            FILE *f = fopen(path, "w");
            setvbuf(f, NULL, _IONBF, 0);
            for (long m = 0; m < mib * 16; m++)
                fwrite(buf, 1, sizeof buf, f);
            fclose(f);
        }
    } else if (!strcmp(role, "number")) {
        printf("%d\n", atoi(argv[0] + strcspn(argv[0], "0123456789")));
        for (int i = 0; i < n_out; i++) {
            snprintf(path, sizeof path, "/dev/out/%s", out[i]);
            FILE *f = fopen(path, "w");
            fprintf(f, "%d\n", atoi(argv[0] + strcspn(argv[0], "0123456789")));
            fclose(f);
        }
    }
    return 0;
}
