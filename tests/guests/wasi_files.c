/*
 * wasi_files.c — a stock C program on files, and WASI's corner cases one
 * by one, each the class of a wasi-testsuite failure zvm once had. Run
 * with a preopened directory as "/" (zvm run --dir D::/) and GREETING set;
 * prints "ok NAME" per check and exits 0, or stops at the first failure
 * (assert: a trap, exit 134 + message).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define OK(name) printf("ok %s\n", name)

/* path_open as imported, with the path's length: wasi-libc's takes a C
 * string and so cannot pass a NUL inside. */
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                      int32_t oflags, int64_t base, int64_t inheriting, int32_t fdflags,
                      int32_t fd_out)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")));

static int root_fd(void) /* the preopen named "/" */
{
    for (int fd = 3; fd < 64; fd++) {
        __wasi_prestat_t st;
        char name[8];
        if (__wasi_fd_prestat_get(fd, &st) == 0 && st.u.dir.pr_name_len == 1 &&
            __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, 1) == 0 && name[0] == '/')
            return fd;
    }
    return -1;
}

static void stock_c(void)
{
    FILE *f = fopen("/notes.txt", "w");
    char line[64];
    struct stat st;
    assert(f && fprintf(f, "line one\nline two\n") == 18 && fclose(f) == 0);
    assert((f = fopen("/notes.txt", "r")) && fseek(f, 5, SEEK_SET) == 0 && ftell(f) == 5);
    assert(fgets(line, sizeof line, f) && !strcmp(line, "one\n"));
    fclose(f);
    assert(stat("/notes.txt", &st) == 0 && st.st_size == 18 && S_ISREG(st.st_mode));
    assert(mkdir("/sub", 0755) == 0 && rename("/notes.txt", "/sub/moved.txt") == 0);
    assert(access("/notes.txt", F_OK) != 0 && errno == ENOENT);
    assert(access("/sub/moved.txt", R_OK) == 0);
    assert(unlink("/sub/moved.txt") == 0 && rmdir("/sub") == 0);
    assert(getenv("GREETING") && !strcmp(getenv("GREETING"), "hello world"));
    assert(time(NULL) > 0);
    srand(7);
    (void)rand();
    OK("stock C: fopen fprintf fseek ftell stat mkdir rename unlink rmdir getenv time rand");
}

/* 300 files: the listing has them all once, sorted, "." and ".." first. */
static void listing(void)
{
    char name[32], prev[256] = "";
    DIR *d;
    struct dirent *e;
    int n = 0;
    assert(mkdir("/many", 0755) == 0);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/many/f%03d", i);
        FILE *f = fopen(name, "w");
        assert(f && fclose(f) == 0);
    }
    assert((d = opendir("/many")));
    while ((e = readdir(d))) {
        assert(strcmp(prev, e->d_name) < 0);
        snprintf(prev, sizeof prev, "%s", e->d_name);
        n++;
    }
    closedir(d);
    assert(n == 302);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "/many/f%03d", i);
        assert(unlink(name) == 0);
    }
    assert(rmdir("/many") == 0);
    OK("readdir: 300 files, sorted, each once across buffer refills");
}

/* No path leaves the preopen: "..", a symlink out, an absolute symlink. */
static void escapes(void)
{
    int root = root_fd(), fd;
    assert(root >= 0);
    assert(open("/../outside.txt", O_RDONLY) < 0 && (errno == EPERM || errno == ENOTCAPABLE));
    assert(__wasi_path_open(root, 0, "../outside.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0,
                            &fd) == __WASI_ERRNO_PERM);
    assert(symlink("../..", "/up") == 0);
    assert(open("/up/outside.txt", O_RDONLY) < 0 && (errno == EPERM || errno == ENOTCAPABLE));
    assert(symlink("/etc/passwd", "/abs") < 0 && errno == EPERM);
    assert(unlink("/up") == 0);
    OK("escapes: .., a relative symlink out, an absolute symlink: EPERM");
}

static void hostile_names(void)
{
    int root = root_fd(), fd;
    static char big[1 << 20];
    char path[8192];
    size_t at = 0;
    int depth = 0;
    memset(big, 'n', sizeof big - 1);
    assert(open(big, O_RDONLY) < 0 && errno == ENAMETOOLONG);
    assert(raw_path_open(root, 0, (int32_t)(uintptr_t) "a\0b", 3, 0, 0, 0, 0,
                         (int32_t)(uintptr_t)&fd) == __WASI_ERRNO_INVAL);
    /* deeper and deeper until the path is too long: never a crash */
    path[at++] = '/';
    for (;;) {
        memcpy(path + at, "deep", 5);
        if (mkdir(path, 0755) < 0) {
            assert(errno == ENAMETOOLONG);
            break;
        }
        at += 4;
        path[at++] = '/';
        depth++;
        assert(at < sizeof path - 8);
    }
    assert(depth > 500);
    while (depth--) { /* and back */
        path[at - 1] = 0;
        assert(rmdir(path) == 0);
        at -= 5;
    }
    OK("hostile names: a 1 MiB name, a NUL, nesting to the path limit");
}

static void trailing_slashes_and_dirs(void)
{
    int root = root_fd(), fd;
    __wasi_filesize_t pos;
    FILE *f = fopen("/file", "w");
    assert(f && fclose(f) == 0);
    assert(unlink("/file/") < 0 && errno == ENOTDIR);
    assert(mkdir("/dir", 0755) == 0);
    assert(unlink("/dir") < 0 && errno == EISDIR);
    assert(__wasi_path_open(root, 0, "dir", __WASI_OFLAGS_DIRECTORY,
                            __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0,
                            &fd) == __WASI_ERRNO_ISDIR);
    assert(__wasi_path_open(root, 0, "dir", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd) == 0);
    assert(__wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos) == __WASI_ERRNO_BADF);
    assert(__wasi_fd_close(fd) == 0 && rmdir("/dir/") == 0 && unlink("/file") == 0);
    OK("trailing slashes, unlink of a directory, directories opened to write or seeked");
}

static void descriptors(void)
{
    int fd = open("/rights", O_CREAT | O_RDWR, 0644), fd2;
    __wasi_fdstat_t st;
    char c = 'x';
    __wasi_size_t n;
    __wasi_ciovec_t v = {(const uint8_t *)&c, 1};
    assert(fd >= 0 && write(fd, "abc", 3) == 3);
    /* rights only shrink, and a dropped right is enforced */
    assert(__wasi_fd_fdstat_get(fd, &st) == 0);
    assert(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE,
                                       st.fs_rights_inheriting) == 0);
    assert(__wasi_fd_write(fd, &v, 1, &n) == __WASI_ERRNO_BADF);
    assert(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, st.fs_rights_inheriting) ==
           __WASI_ERRNO_NOTCAPABLE);
    /* renumber moves a descriptor over another, which closes */
    fd2 = open("/rights", O_RDONLY);
    assert(fd2 >= 0 && __wasi_fd_renumber(fd2, fd) == 0);
    assert(__wasi_fd_close(fd2) == __WASI_ERRNO_BADF && read(fd, &c, 1) == 1 && c == 'a');
    assert(__wasi_fd_advise(fd, 0, 3, __WASI_ADVICE_SEQUENTIAL) == 0);
    close(fd);
    /* pwrite on an append-only file works (it writes at the end on Linux) */
    assert((fd = open("/rights", O_WRONLY | O_APPEND)) >= 0 && pwrite(fd, "de", 2, 0) == 2);
    close(fd);
    assert(unlink("/rights") == 0);
    /* sockets: none; a bad descriptor is still EBADF */
    assert(__wasi_sock_shutdown(1, __WASI_SDFLAGS_WR) == __WASI_ERRNO_NOTSOCK);
    assert(__wasi_sock_shutdown(99, __WASI_SDFLAGS_WR) == __WASI_ERRNO_BADF);
    OK("rights, renumber, advise, pwrite with append, sockets");
}

/* poll_oneoff: a ready descriptor fires at once, the clock does not. */
static void poll(void)
{
    __wasi_subscription_t sub[2];
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[0].u.u.clock.timeout = 1000000000;
    sub[1].userdata = 2;
    sub[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    sub[1].u.u.fd_write.file_descriptor = 1;
    assert(__wasi_poll_oneoff(sub, ev, 2, &n) == 0 && n == 1 && ev[0].userdata == 2 &&
           ev[0].error == 0 && ev[0].type == __WASI_EVENTTYPE_FD_WRITE);
    assert(__wasi_poll_oneoff(sub, ev, 1, &n) == 0 && n == 1 && ev[0].userdata == 1);
    OK("poll_oneoff: stdout ready at once; a clock alone fires");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    stock_c();
    listing();
    escapes();
    hostile_names();
    trailing_slashes_and_dirs();
    descriptors();
    poll();
    return 0;
}
