/*
 * test_host.c — Criterion suites for the host calls (engine/host.h):
 * sessions over a manifest's channels, the zvm namespace and WASI called
 * from a real guest with good and hostile arguments, the zvm.manifest
 * layout the guest reads (include/zvm/guest.h), errno numbers as the guest
 * sees them, and the sources a session refuses.
 */
#include "engine/host.h"
#include "include/zvm/guest.h"
#include "wat.h"

#include <errno.h>
#include <sys/stat.h>

/* Exports that call one host function each with the caller's arguments. */
static const char *const CALLS = "(module\n"
    "  (import \"zvm\" \"pread\" (func $pread (param i32 i32 i32 i64) (result i32)))\n"
    "  (import \"zvm\" \"pwrite\" (func $pwrite (param i32 i32 i32 i64) (result i32)))\n"
    "  (import \"zvm\" \"manifest\" (func $manifest (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
    "    (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 100) \"hello\")\n"
    "  (func (export \"pread\") (param i32 i32 i32) (result i32)\n"
    "    (call $pread (local.get 0) (local.get 1) (local.get 2) (i64.const 0)))\n"
    "  (func (export \"pwrite\") (param i32 i32 i32) (result i32)\n"
    "    (call $pwrite (local.get 0) (local.get 1) (local.get 2) (i64.const 0)))\n"
    "  (func (export \"manifest\") (param i32 i32) (result i32)\n"
    "    (call $manifest (local.get 0) (local.get 1)))\n"
    "  (func (export \"fd_write\") (param i32 i32 i32) (result i32)\n"
    "    (call $fd_write (local.get 0) (local.get 1) (local.get 2) (i32.const 200))))\n";

static char dir[] = "/tmp/zvm-host-XXXXXX";
static zv_eng_module *mod;
static zv_cfg_manifest *man;
static zv_eng_session *session;
static zv_eng_instance *inst;

static void write_text(const char *name, const char *text)
{
    char p[128];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_not_null(f = fopen(p, "w"));
    fputs(text, f);
    fclose(f);
}

static zv_cfg_manifest *parse(const char *text)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err = {0};
    cr_assert_eq(zv_cfg_parse(text, strlen(text), dir, &m, &err), 0, "%s", err.msg);
    return m;
}

static const char *const MANIFEST_TEXT =
    "Version = 20130611\nProgram = x.wasm\nMemory = 65536, 0\nTimeout = 5\n"
    "Channel = in.txt, /dev/stdin, 0, 0, 10, 1000, 0, 0\n"
    "Channel = out.txt, /dev/stdout, 0, 1, 0, 0, 2, 8\n"
    "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 10, 1000\n"
    "Channel = data.txt, /dev/data, 1, 0, 10, 1000, 0, 0\n";

static void setup(void)
{
    zv_eng_err err = {0};
    cr_assert_not_null(mkdtemp(dir));
    write_text("in.txt", "input bytes");
    write_text("data.txt", "random access");
    mod = wat_load(CALLS);
    man = parse(MANIFEST_TEXT);
    cr_assert_eq(zv_eng_session_new(man, &session, &err), 0, "%s", err.msg);
    cr_assert_eq(zv_eng_instance_new(mod, NULL, zv_eng_session_resolve, session, session, &inst,
                                     &err), 0, "%s", err.msg);
}

static void teardown(void)
{
    char cmd[64];
    zv_eng_instance_free(inst);
    zv_eng_session_free(session);
    zv_cfg_free(man);
    zv_eng_module_free(mod);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(host, .init = setup, .fini = teardown);

static int32_t call(const char *name, uint32_t a, uint32_t b, uint32_t c)
{
    zv_eng_extern ext;
    zv_eng_err err = {0};
    zv_value args[3], res[1];
    uint32_t type;
    cr_assert_eq(zv_eng_instance_export(inst, name, strlen(name), &ext, &type), 0);
    args[0].i32 = a, args[1].i32 = b, args[2].i32 = c;
    cr_assert_eq(zv_eng_call(inst, ext.func, type, args, res, &err), 0, "%s trapped", name);
    return (int32_t)res[0].i32;
}

static const uint8_t *guest_memory(void)
{
    const uint8_t *bytes;
    uint64_t size;
    cr_assert_eq(zv_eng_instance_memory(inst, &bytes, &size), 0);
    return bytes;
}

Test(host, zvm_reads_and_writes_channels)
{
    cr_assert_eq(call("pread", 0, 0, 5), 5);
    cr_assert(!memcmp(guest_memory(), "input", 5));
    cr_assert_eq(call("pwrite", 1, 100, 5), 5);
    cr_assert_eq(call("pwrite", 1, 100, 5), 3, "clamped to the 8-byte limit");
    cr_assert_eq(call("pwrite", 1, 100, 5), -19, "over the limit: -EDQUOT as the guest numbers it");
    cr_assert_eq(zv_eng_session_refused(session), 2, "one call cut short, one refused");
}

Test(host, hostile_arguments_get_errors)
{
    cr_assert_eq(call("pread", 99, 0, 5), -28, "a bad descriptor: -EINVAL");
    cr_assert_eq(call("pread", 0, 65534, 5), -28, "a buffer past memory: -EINVAL");
    cr_assert_eq(call("pread", 0, 0xffffffffu, 5), -28, "a buffer that wraps: -EINVAL");
    cr_assert_eq(call("pread", 0, 0, 0x80000000u), -21, "a negative size: -EFAULT");
    cr_assert_eq(call("pwrite", 0, 0, 1), -28, "stdin is not writable: -EINVAL, as ZeroVM");
    cr_assert_eq(call("fd_write", 1, 0xfffffff0u, 1), 21, "an iovec past memory: EFAULT");
    cr_assert_eq(call("fd_write", 77, 0, 1), 8, "a closed descriptor: EBADF");
}

Test(host, the_manifest_layout_the_guest_reads)
{
    const uint8_t *mem;
    struct zvm_raw_header h;
    struct zvm_raw_channel c;
    int32_t need = call("manifest", 0, 0, 0);
    cr_assert_gt(need, (int32_t)(sizeof h + 4 * sizeof c));
    cr_assert_eq(call("manifest", 1024, (uint32_t)need, 0), need);
    mem = guest_memory() + 1024;
    memcpy(&h, mem, sizeof h);
    cr_assert_eq(h.version, 1);
    cr_assert_eq(h.n_channels, 4);
    cr_assert_eq(h.memory_bytes, 65536);
    cr_assert_eq(h.timeout_s, 5);
    memcpy(&c, mem + sizeof h + 3 * sizeof c, sizeof c);
    cr_assert_eq(c.type, 1);
    cr_assert_eq(c.size, 13, "the source's size at start");
    cr_assert_str_eq((const char *)mem + c.alias_offset, "/dev/data");
    cr_assert_eq(call("manifest", 65530, (uint32_t)need, 0), -28, "no room in memory: -EINVAL");
}

Test(host, totals_and_etags)
{
    zv_eng_totals t;
    call("pread", 0, 0, 5);
    call("pwrite", 1, 100, 5);
    cr_assert_eq(zv_eng_session_finish(session, &t), 0);
    cr_assert_eq(t.gets, 1);
    cr_assert_eq(t.get_bytes, 5);
    cr_assert_eq(t.puts, 1);
    cr_assert_eq(t.put_bytes, 5);
    cr_assert_eq(t.n_etags, 1);
    cr_assert_str_eq(t.etags[0].alias, "/dev/stdout");
    /* sha256("hello") */
    cr_assert_str_eq(t.etags[0].hex,
                     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    zv_eng_totals_free(&t);
}

Test(host, refused_sources)
{
    zv_eng_session *s = NULL;
    zv_eng_err err = {0};
    zv_cfg_manifest *m;
    char text[1024];
    snprintf(text, sizeof text, "%s%s", MANIFEST_TEXT, "Channel = ., /dev/dir, 0, 0, 1, 1, 0, 0\n");
    m = parse(text);
    cr_assert_eq(zv_eng_session_new(m, &s, &err), -ENOTSUP, "a directory: ZeroVM's 93");
    cr_assert(strstr(err.msg, "dir") || strstr(err.msg, "directory"), "%s", err.msg);
    zv_cfg_free(m);
    snprintf(text, sizeof text, "%s%s", MANIFEST_TEXT,
             "Channel = nothere/x, /dev/missing, 0, 0, 1, 1, 0, 0\n");
    m = parse(text);
    cr_assert_eq(zv_eng_session_new(m, &s, &err), -ENOENT);
    cr_assert(strstr(err.msg, "nothere"), "the message names the path: %s", err.msg);
    zv_cfg_free(m);
    cr_assert_null(s);
}
