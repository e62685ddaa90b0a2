/*
 * fuzz_host.c — libFuzzer target for the host calls (WASI and zvm): a
 * guest that turns its input into host calls with arbitrary arguments,
 * run as one pool record per input (the runner: reset, channels rebound,
 * a template's file channels rewound), with the host code instrumented
 * (ZVM_FUZZ build: ASan, UBSan, coverage). A crash, a sanitizer report, a
 * hang (libFuzzer's -timeout) or a leak is a finding.
 *
 * The guest is built here from the host's own list of calls
 * (zv_eng_host_calls): _start reads its stdin (the fuzz input) into
 * memory, then reads it as ops of 73 bytes: a selector byte, then nine
 * 8-byte argument slots; op k calls import (selector % n) with the slots
 * as its parameters (i32 ones take the low half). Pointers and lengths are
 * therefore anything at all, which is the point; the ops' results go back
 * into memory, so later ops can use them.
 *
 *   tests/fuzz/run.sh SECONDS fuzz_host
 */
#include "engine/host.h"
#include "prefork/prefork.h"
#include "wasm_enc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OP_BYTES 73
#define IN_AT 4096    /* where the input lands in guest memory */
#define IN_MAX 65536

typedef struct {
    const char *ns[64], *name[64], *sig[64];
    uint32_t n;
} imports;

static void add_import(void *arg, const char *ns, const char *name, const char *sig)
{
    imports *im = arg;
    if (im->n < 64) {
        im->ns[im->n] = ns, im->name[im->n] = name, im->sig[im->n] = sig;
        im->n++;
    }
}

static uint8_t valtype(char c) { return c == 'i' ? 0x7f : c == 'I' ? 0x7e : c == 'f' ? 0x7d : 0x7c; }

/* One case of the dispatch: load the nine slots as parameters, call, keep
 * the result at 0..7 (so it shows in memory later). */
static void put_case(buf *b, uint32_t import, const char *sig)
{
    static const uint8_t loads[] = {['i'] = 0x28, ['I'] = 0x29, ['f'] = 0x2a, ['F'] = 0x2b};
    uint32_t k = 0;
    const char *p;
    for (p = sig; *p != ':'; p++, k++) {
        put(b, 0x20), put_u32(b, 0); /* local.get $p (the op's address) */
        put(b, loads[(unsigned char)*p]), put_u32(b, 0), put_u32(b, 1 + 8 * k);
    }
    put(b, 0x10), put_u32(b, import);
    if (p[1]) { /* the result: stored at 0 */
        put(b, 0x21), put_u32(b, p[1] == 'I' ? 2 : 1); /* local.set $r32 / $r64 */
        put(b, 0x41), put_s64(b, 0);
        put(b, 0x20), put_u32(b, p[1] == 'I' ? 2 : 1);
        put(b, p[1] == 'I' ? 0x37 : 0x36), put_u32(b, 0), put_u32(b, 0);
    }
}

/* The guest module, as bytes. */
static void build_guest(const imports *im, buf *out)
{
    static const uint8_t header[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    buf s = {0}, code = {0};
    uint32_t n = im->n;
    put_bytes(out, header, sizeof header);
    put_u32(&s, n + 1); /* types: one per import, then _start's */
    for (uint32_t i = 0; i < n; i++) {
        const char *p = strchr(im->sig[i], ':');
        put(&s, 0x60);
        put_u32(&s, (uint32_t)(p - im->sig[i]));
        for (const char *q = im->sig[i]; q < p; q++)
            put(&s, valtype(*q));
        put_u32(&s, p[1] ? 1 : 0);
        if (p[1])
            put(&s, valtype(p[1]));
    }
    put(&s, 0x60), put(&s, 0), put(&s, 0);
    put_section(out, 1, &s);
    put_u32(&s, n);
    for (uint32_t i = 0; i < n; i++) {
        put_name(&s, im->ns[i]);
        put_name(&s, im->name[i]);
        put(&s, 0x00), put_u32(&s, i);
    }
    put_section(out, 2, &s);
    put_u32(&s, 1), put_u32(&s, n);
    put_section(out, 3, &s);
    put_u32(&s, 1), put(&s, 1), put_u32(&s, 2), put_u32(&s, 4); /* memory 2 4 */
    put_section(out, 5, &s);
    put_u32(&s, 1), put_name(&s, "_start"), put(&s, 0x00), put_u32(&s, n);
    put_section(out, 7, &s);
    /* _start: locals 0 $p (the op's address), 1 $r32, 2 $r64, 3 $end */
    put_u32(&code, 3);
    put_u32(&code, 2), put(&code, 0x7f);
    put_u32(&code, 1), put(&code, 0x7e);
    put_u32(&code, 1), put(&code, 0x7f);
    /* iovec {IN_AT, IN_MAX} at 16; fd_read(0, 16, 1, 24); $end = IN_AT + n */
    put(&code, 0x41), put_s64(&code, 16), put(&code, 0x41), put_s64(&code, IN_AT);
    put(&code, 0x36), put_u32(&code, 0), put_u32(&code, 0);
    put(&code, 0x41), put_s64(&code, 20), put(&code, 0x41), put_s64(&code, IN_MAX);
    put(&code, 0x36), put_u32(&code, 0), put_u32(&code, 0);
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(im->name[i], "fd_read") && !strcmp(im->ns[i], "wasi_snapshot_preview1")) {
            put(&code, 0x41), put_s64(&code, 0), put(&code, 0x41), put_s64(&code, 16);
            put(&code, 0x41), put_s64(&code, 1), put(&code, 0x41), put_s64(&code, 24);
            put(&code, 0x10), put_u32(&code, i), put(&code, 0x1a);
        }
    put(&code, 0x41), put_s64(&code, IN_AT), put(&code, 0x21), put_u32(&code, 0);
    put(&code, 0x41), put_s64(&code, IN_AT), put(&code, 0x41), put_s64(&code, 24);
    put(&code, 0x28), put_u32(&code, 0), put_u32(&code, 0), put(&code, 0x6a);
    put(&code, 0x21), put_u32(&code, 3);
    /* block $done loop $top: if $p + OP > $end: break; switch; $p += OP */
    put(&code, 0x02), put(&code, 0x40), put(&code, 0x03), put(&code, 0x40);
    put(&code, 0x20), put_u32(&code, 0), put(&code, 0x41), put_s64(&code, OP_BYTES);
    put(&code, 0x6a), put(&code, 0x20), put_u32(&code, 3), put(&code, 0x4b); /* i32.gt_u */
    put(&code, 0x0d), put_u32(&code, 1);
    put(&code, 0x02), put(&code, 0x40); /* block $next */
    for (uint32_t i = 0; i < n; i++)
        put(&code, 0x02), put(&code, 0x40);
    put(&code, 0x20), put_u32(&code, 0), put(&code, 0x2d), put_u32(&code, 0), put_u32(&code, 0);
    put(&code, 0x41), put_s64(&code, n), put(&code, 0x70); /* selector % n */
    put(&code, 0x0e), put_u32(&code, n - 1);
    for (uint32_t i = 0; i < n; i++)
        put_u32(&code, i);
    for (uint32_t i = 0; i < n; i++) {
        put(&code, 0x0b); /* the end of case i's block: its code follows */
        put_case(&code, i, im->sig[i]);
        put(&code, 0x0c), put_u32(&code, n - 1 - i); /* br $next */
    }
    put(&code, 0x0b); /* $next */
    put(&code, 0x20), put_u32(&code, 0), put(&code, 0x41), put_s64(&code, OP_BYTES);
    put(&code, 0x6a), put(&code, 0x21), put_u32(&code, 0);
    put(&code, 0x0c), put_u32(&code, 0); /* br $top */
    put(&code, 0x0b), put(&code, 0x0b), put(&code, 0x0b);
    put_u32(&s, 1), put_u32(&s, (uint32_t)code.n), put_bytes(&s, code.p, code.n);
    put_section(out, 10, &s);
    free(s.p);
    free(code.p);
}

static zv_pf_runner *runner;

/* The template: the standard channels (rebound per record) and two files,
 * one read at random, one written at random, both rewound per record. */
static zv_cfg_manifest *template(const char *dir)
{
    char text[2048], path[512];
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err = {0};
    FILE *f;
    snprintf(path, sizeof path, "%s/data.txt", dir);
    if ((f = fopen(path, "w"))) {
        fputs("0123456789abcdefghijklmnopqrstuvwxyz", f);
        fclose(f);
    }
    snprintf(text, sizeof text,
             "Version = 20130611\nProgram = -\nMemory = 262144, 0\nTimeout = 1\n"
             "Channel = /dev/null, /dev/stdin, 0, 0, 100, 100000, 0, 0\n"
             "Channel = /dev/null, /dev/stdout, 0, 0, 0, 0, 100, 4096\n"
             "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 100, 4096\n"
             "Channel = data.txt, /dev/data, 1, 1, 100, 4096, 0, 0\n"
             "Channel = log.txt, /dev/log, 3, 1, 100, 4096, 100, 4096\n"
             "Channel = /dev/null, /dev/null, 0, 0, 100, 4096, 100, 4096\n"
             "Args = fuzz %%20arg\nEnv = K v\n");
    return zv_cfg_parse(text, strlen(text), dir, &m, &err) ? NULL : m;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char dir[] = "/tmp/zvm-fuzz-host.XXXXXX";
    imports im = {0};
    buf wasm = {0};
    zv_eng_opts opts = {0};
    zv_eng_err err = {0};
    zv_eng_module *mod = NULL;
    zv_cfg_manifest *man;
    char cache[128];
    (void)argc, (void)argv;
    if (!mkdtemp(dir))
        abort();
    snprintf(cache, sizeof cache, "%s/cache", dir);
    zv_eng_host_calls(add_import, &im);
    build_guest(&im, &wasm);
    opts.cache_dir = cache;
    if (zv_eng_module_load(wasm.p, wasm.n, &opts, &mod, NULL, &err) || !(man = template(dir))) {
        fprintf(stderr, "fuzz_host: setup: %s\n", err.msg);
        abort();
    }
    zv_eng_thread_init();
    zv_pf_runner_opts ro = {ZV_ENG_RESET_AUTO, 1, NULL, 0};
    if (zv_pf_runner_new(mod, man, &ro, &runner, &err)) {
        fprintf(stderr, "fuzz_host: runner: %s\n", err.msg);
        abort();
    }
    free(wasm.p);
    return 0; /* module, manifest and runner live as long as the process */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int first = 1;
    zv_pf_outcome oc;
    if (first) /* libFuzzer installs its SIGSEGV handler after Initialize: zvm's on top */
        zv_eng_thread_init(), first = 0;
    zv_pf_runner_run(runner, data, size, &oc); /* whatever the guest did: no host harm */
    return 0;
}
