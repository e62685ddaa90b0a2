/*
 * main.c — the `zvm` command: a thin layer over libzvm that turns its
 * error records into messages and exit codes.
 *
 *   zvm validate [--hash] [--no-policy] FILE...
 *     exit 0: all valid; 1: some module malformed or invalid; 2: unreadable.
 *   zvm run ..., zvm compile ...: see run.c; zvm batch: batch.c; zvm job:
 *   job.c; zvm consume: consume.c.
 *
 * Built twice (CMakeLists.txt): zvm-pool with jemalloc, each worker in its
 * own arena, and zvm (ZV_CLI_LEAN) with glibc's malloc and no workers,
 * which runs the pool commands (batch, consume, daemon mode) by exec'ing
 * zvm-pool from its own folder with the same arguments.
 */
#include "cli/cli.h"
#include "validator/validator.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: zvm validate [--hash] [--no-policy] FILE...\n"
               "       zvm run [--report=json] [--cache DIR] MANIFEST\n"
               "       zvm run [--timeout S] [--memory BYTES] [--cache DIR] PROG.wasm [ARGS...]\n"
               "       zvm run [options] --invoke NAME [ARG...] PROG.wasm\n"
               "       zvm run [--workers N] [--socket-mode MODE] [--snapshot on|off] "
               "MANIFEST-WITH-JOB\n"
               "       zvm job SOCKET JOB-MANIFEST\n"
               "       zvm job [--report=json] [--workers N] [--outdir DIR] JOB.json\n"
               "       zvm consume --redis HOST:PORT --stream IN --group G --module M.wasm\n"
               "                   --output-stream OUT [options: zvm consume --help]\n"
               "       zvm compile [--cache DIR] [--stats] FILE.wasm...\n"
               "       zvm batch --module M.wasm --input SRC --output DST [--errors FILE]\n"
               "                 [--workers N] [--timeout S] [--memory B] [--records lines|len32]\n"
               "                 [--unordered] [--manifest TEMPLATE] [--reset auto|memset|madvise]\n"
               "  validate  check WebAssembly modules (core 2.0) and zvm's import policy\n"
               "            --hash: print each valid module's SHA-256;\n"
               "            --no-policy: check the spec rules only, allow any import\n"
               "  run       run a ZeroVM session from a manifest (and print its report),\n"
               "            a wasm32-wasi program, or one exported function\n"
               "            (with Job = PATH: serve jobs on that socket, ZeroVM's daemon mode)\n"
               "  job       send one job to a daemon and print its report, or run a\n"
               "            multi-stage job description (ZeroCloud's servlet JSON)\n"
               "  consume   run one fresh instance per entry of a Redis stream (consumer group)\n"
               "  compile   translate and compile modules into the code cache\n"
               "  batch     run one fresh instance per input record on every core\n");
}

/* A regular file opened for reading: its fd, or -errno (-EINVAL: not a
 * regular file). */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0)
        rc = -errno;
    else if (!S_ISREG(st->st_mode))
        rc = -EINVAL;
    if (rc)
        close(fd);
    return rc ? rc : fd;
}

static int read_failed(const char *path, int rc)
{
    fprintf(stderr, "%s: cannot read: %s\n", path,
            rc == -EINVAL ? "not a regular file" : strerror(-rc));
    return 2;
}

int zv_cli_read(const char *path, zv_cli_file *f)
{
    struct stat st;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return read_failed(path, fd);
    f->size = (size_t)st.st_size;
    f->data = (const uint8_t *)"";
    if (f->size) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int rc = -errno;
            close(fd);
            return read_failed(path, rc);
        }
        f->data = p;
    }
    close(fd);
    return 0;
}

int zv_cli_peek(const char *path, uint8_t *buf, size_t n, size_t *got)
{
    struct stat st;
    ssize_t k;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return read_failed(path, fd);
    while ((k = read(fd, buf, n)) < 0 && errno == EINTR)
        ;
    if (k < 0) {
        int rc = -errno;
        close(fd);
        return read_failed(path, rc);
    }
    close(fd);
    *got = (size_t)k;
    return 0;
}

void zv_cli_release(zv_cli_file *f)
{
    if (f->size)
        munmap((void *)f->data, f->size);
}

static int validate_one(const char *path, int hash, int policy)
{
    zv_val_module *m = NULL;
    zv_val_err err = {0};
    zv_cli_file f;
    int rc, status = 0;
    if (zv_cli_read(path, &f))
        return 2;
    rc = zv_val_module_new(f.data, f.size, &m, &err);
    if (rc == 0 && policy)
        rc = zv_val_check_policy(m, &zv_val_default_policy, &err);
    if (rc == -ENOMEM) {
        fprintf(stderr, "%s: out of memory\n", path);
        status = 2;
    } else if (rc) {
        fprintf(stderr, "%s: offset 0x%04zx: %s: %s\n", path, err.offset,
                err.malformed ? "malformed" : "invalid", err.msg);
        status = 1;
    } else if (hash) {
        for (int i = 0; i < 32; i++)
            printf("%02x", m->sha256[i]);
        printf("  %s\n", path);
    }
    zv_val_module_free(m);
    zv_cli_release(&f);
    return status;
}

static int cmd_validate(int argc, char **argv)
{
    int hash = 0, policy = 1, status = 0, n_files = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--hash"))
            hash = 1;
        else if (!strcmp(argv[i], "--no-policy"))
            policy = 0;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "zvm validate: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    for (int i = 0; i < argc; i++) {
        int s;
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        n_files++;
        s = validate_one(argv[i], hash, policy);
        if (s > status)
            status = s;
    }
    if (!n_files) {
        usage(stderr);
        return 2;
    }
    return status;
}

static char **command_line; /* main's argv: zv_cli_pool_exec runs it again */

int zv_cli_pool_exec(void)
{
    char path[4096], *slash;
    if (!realpath("/proc/self/exe", path) || !(slash = strrchr(path, '/'))) {
        fprintf(stderr, "zvm: cannot find this program's folder: %s\n", strerror(errno));
        return 2;
    }
    if ((size_t)(slash + 1 - path) + sizeof "zvm-pool" > sizeof path) {
        fprintf(stderr, "zvm: the path of %s is too long\n", path);
        return 2;
    }
    strcpy(slash + 1, "zvm-pool");
    execv(path, command_line);
    fprintf(stderr, "zvm: cannot start %s, which runs the pool commands: %s\n", path,
            strerror(errno));
    return 2;
}

int main(int argc, char **argv)
{
    command_line = argv;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!ZV_CLI_POOLS_HERE && (!strcmp(argv[1], "batch") || !strcmp(argv[1], "consume")))
        return zv_cli_pool_exec();
    if (!strcmp(argv[1], "validate"))
        return cmd_validate(argc - 2, argv + 2);
    if (!strcmp(argv[1], "run"))
        return zv_cli_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "compile"))
        return zv_cli_compile(argc - 2, argv + 2);
    if (!strcmp(argv[1], "batch"))
        return zv_cli_batch(argc - 2, argv + 2);
    if (!strcmp(argv[1], "job"))
        return zv_cli_job(argc - 2, argv + 2);
    if (!strcmp(argv[1], "consume"))
        return zv_cli_consume(argc - 2, argv + 2);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "zvm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
