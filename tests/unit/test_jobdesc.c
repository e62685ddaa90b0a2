/*
 * test_jobdesc.c — Criterion suites for config/json.c and
 * config/jobdesc.c: JSON values and escapes, syntax errors with line and
 * column, hostile nesting, random bytes and mutations, fault injection on
 * every allocation; job descriptions: instance names, pipes, the
 * instances' manifests (argv, env, devices, /dev/in and /dev/out), and
 * wildcards matched in bytewise order.
 */
#include "config/config.h"
#include "config/internal.h"
#include "config/json.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse(const char *text, zv_json *v, char *why)
{
    return zv_json_parse(text, strlen(text), v, why, 200);
}

Test(json, values_and_escapes)
{
    zv_json v;
    char why[200];
    cr_assert_eq(parse("{\"a\": [1, -2.5e3, true, false, null], \"s\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t"
                       "\\u00e9\\ud83d\\ude00\"}",
                       &v, why),
                 0, "%s", why);
    const zv_json *a = zv_json_get(&v, "a"), *s = zv_json_get(&v, "s");
    cr_assert_eq(a->type, ZV_JSON_ARR);
    cr_assert_eq(a->n, 5);
    cr_assert(a->items[0].integer && a->items[0].num == 1);
    cr_assert(!a->items[1].integer && a->items[1].num == -2500);
    cr_assert_eq(a->items[2].type, ZV_JSON_BOOL);
    cr_assert_eq(a->items[4].type, ZV_JSON_NULL);
    cr_assert_str_eq(s->str, "\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_null(zv_json_get(&v, "missing"));
    zv_json_free(&v);
}

Test(json, errors_name_line_and_column)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"[1,\n 2,,3]", "line 2, column 4: not a value"},
        {"{\"a\": 1 \"b\": 2}", "line 1, column 9: expected ',' or '}'"},
        {"[\"\\ud800\"]", "lone surrogate"},
        {"[\"\\udc00\"]", "lone surrogate"},
        {"[\"a\tb\"]", "control character"},
        {"[\"\\u0000\"]", "NUL"},
        {"[\"\\x\"]", "unknown escape"},
        {"[01]", "leading zero"},
        {"[1.2.3]", "malformed number"},
        {"[1] 2", "text after the end"},
        {"{\"a\": 1, \"a\": 2}", "appears twice"},
        {"[\"open", "not closed"},
        {"", "ends where a value should be"},
        {"{\"a\" 1}", "expected ':'"},
        {"{1: 2}", "member name in quotes"},
        {"[tru]", "not a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_json v;
        char why[200] = "";
        cr_assert_eq(parse(cases[i].text, &v, why), -EINVAL, "case %zu", i);
        cr_assert(strstr(why, cases[i].why), "case %zu: got \"%s\"", i, why);
    }
}

Test(json, nesting_is_capped)
{
    char deep[400], why[200];
    zv_json v;
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = 0;
    cr_assert_eq(parse(deep, &v, why), 0, "%s", why);
    zv_json_free(&v);
    memset(deep, '[', 200);
    memset(deep + 200, ']', 199);
    deep[399] = 0;
    cr_assert_eq(parse(deep, &v, why), -EINVAL);
    cr_assert(strstr(why, "nested more than 64"), "%s", why);
}

Test(json, random_bytes_and_mutations_never_crash)
{
    static const char good[] =
        "[{\"name\": \"a\", \"exec\": {\"path\": \"x.wasm\", \"args\": \"1 2\","
        " \"env\": {\"K\": \"\\u00e9\"}}, \"count\": 3, \"connect\": [\"a\"]}]";
    char buf[sizeof good];
    srand(7);
    for (int round = 0; round < 20000; round++) {
        zv_json v;
        char why[200];
        size_t n = sizeof good - 1;
        memcpy(buf, good, n);
        if (round % 2) {
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)(rand() % 256);
        } else {
            for (int k = 0; k < 1 + rand() % 4; k++)
                buf[rand() % n] = "[]{}\",:\\u0 e1-"[rand() % 15];
        }
        if (zv_json_parse(buf, (size_t)(rand() % (int)(n + 1)), &v, why, sizeof why) == 0)
            zv_json_free(&v);
    }
}

Test(json, every_allocation_can_fail)
{
    static const char text[] =
        "{\"a\": [1, {\"b\": \"a long enough string to grow\"}], \"c\": [[], {}]}";
    for (long n = 1; n < 100; n++) {
        zv_json v;
        char why[200];
        zv_cfg_test_fail_alloc(n);
        int rc = zv_json_parse(text, sizeof text - 1, &v, why, sizeof why);
        zv_cfg_test_fail_alloc(0);
        cr_assert(rc == 0 || rc == -ENOMEM, "allocation %ld: %d", n, rc);
        if (rc == 0) {
            zv_json_free(&v);
            break;
        }
    }
}

/* ---- job descriptions ---- */

static char dir[64];

static void in_scratch(void)
{
    snprintf(dir, sizeof dir, "/tmp/zvm_jobdesc_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void gone(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void put_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, zv_cfg_jobdesc **j, zv_cfg_err *err)
{
    char path[256];
    zv_cfg_job_opts o = {4 << 20, 5, NULL};
    put_file("job.json", text);
    snprintf(path, sizeof path, "%s/job.json", dir);
    return zv_cfg_jobdesc_load(path, &o, j, err);
}

static int has(const zv_cfg_manifest *m, const char *alias)
{
    return zv_cfg_find_channel(m, alias) >= 0;
}

TestSuite(jobdesc, .init = in_scratch, .fini = gone);

Test(jobdesc, names_pipes_and_manifests)
{
    zv_cfg_jobdesc *j;
    zv_cfg_err err;
    int rc =
        load("[{\"name\": \"map\", \"exec\": {\"path\": \"m.wasm\", \"args\": \" a%b  c,d=e \","
             "  \"env\": {\"K\": \"v w\"}}, \"count\": 3, \"connect\": [\"red\", \"map\"],"
             "  \"devices\": [{\"name\": \"stderr\"}]},"
             " {\"name\": \"red\", \"exec\": {\"path\": \"r.wasm\", \"name\": \"R\"}, \"count\": 2,"
             "  \"memory\": 131072, \"timeout\": 9}]",
             &j, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(j->n_inst, 5);
    cr_assert_str_eq(j->inst[0].name, "map-1");
    cr_assert_str_eq(j->inst[4].name, "red-2");
    cr_assert_eq(j->n_pipes, 3 * 2 + 3 * 2); /* map to red, and map to the other maps */
    const zv_cfg_manifest *m = j->inst[1].man, *r = j->inst[3].man;
    cr_assert(has(m, "/dev/out/red-1") && has(m, "/dev/out/red-2") && has(m, "/dev/out/map-1") &&
              has(m, "/dev/out/map-3") && has(m, "/dev/in/map-1") && !has(m, "/dev/out/map-2"));
    cr_assert(has(r, "/dev/in/map-1") && has(r, "/dev/in/map-3") && !has(r, "/dev/out/map-1"));
    cr_assert_eq(m->n_args, 3);
    cr_assert_str_eq(m->args[0], "map-2");
    cr_assert_str_eq(m->args[1], "a%b");
    cr_assert_str_eq(m->args[2], "c,d=e");
    cr_assert_str_eq(m->env[0], "K=v w");
    cr_assert_str_eq(r->args[0], "R");
    cr_assert_eq(r->memory_bytes, 131072);
    cr_assert_eq(r->timeout_s, 9);
    cr_assert_eq(m->memory_bytes, (4 << 20) - 4 * ZV_CFG_JOB_PIPE_BYTES, "4 pipes out");
    /* stderr, listed without a path or not at all, is kept beside the JSON
     * (out/, resolved against its folder once: it was DIR/DIR/out) */
    char path[4096], want[4096];
    int e = zv_cfg_find_channel(m, "/dev/stderr");
    cr_assert_str_eq(m->channels[e].uri, "out/map-2.stderr");
    zv_cfg_resolve(m, m->channels[e].uri, path, sizeof path);
    snprintf(want, sizeof want, "%s/out/map-2.stderr", dir);
    cr_assert_str_eq(path, want);
    e = zv_cfg_find_channel(r, "/dev/stderr");
    cr_assert_str_eq(r->channels[e].uri, "out/red-1.stderr");
    cr_assert(r->channels[e].limits[ZV_CFG_PUTS] > 0);
    cr_assert_str_eq(r->channels[zv_cfg_find_channel(r, "/dev/stdout")].uri, "/dev/null");
    e = zv_cfg_find_channel(m, "/dev/in/map-1");
    cr_assert_str_eq(m->channels[e].uri, ZV_CFG_PIPE_URI);
    cr_assert_eq(m->channels[e].host_fd, 0);
    zv_cfg_jobdesc_free(j);
}

Test(jobdesc, wildcards_in_bytewise_order)
{
    zv_cfg_jobdesc *j;
    zv_cfg_err err;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/in", dir);
    mkdir(sub, 0755);
    put_file("in/p_b.txt", "");
    put_file("in/p_B.txt", "");
    put_file("in/p_a.txt", "");
    put_file("in/q_a.txt", "");
    put_file("in/p_.txt", "");
    cr_assert_eq(
        load("[{\"name\": \"w\", \"exec\": {\"path\": \"w.wasm\"}, \"count\": 7, \"devices\": ["
             "{\"name\": \"stdin\", \"path\": \"in/p_*.txt\"},"
             "{\"name\": \"output\", \"path\": \"out/r_*.txt\"}]}]",
             &j, &err),
        0, "%s", err.msg);
    cr_assert_eq(j->n_inst, 4, "count is ignored with a wildcard");
    const char *want[] = {"", "B", "a", "b"};
    for (int i = 0; i < 4; i++) {
        const zv_cfg_manifest *m = j->inst[i].man;
        char in[64], out[64];
        snprintf(in, sizeof in, "in/p_%s.txt", want[i]);
        snprintf(out, sizeof out, "out/r_%s.txt", want[i]);
        cr_assert_str_eq(m->channels[zv_cfg_find_channel(m, "/dev/stdin")].uri, in);
        cr_assert_str_eq(m->channels[zv_cfg_find_channel(m, "/dev/output")].uri, out);
    }
    zv_cfg_jobdesc_free(j);
}

/* A matched text goes into writable paths: with "..", "." (or a '/') the
 * path "*" "/count.txt" would climb out of the job's folder or name a
 * folder. Refused, naming the node, the file and the text. */
Test(jobdesc, a_matched_text_never_climbs)
{
    static const struct {
        const char *file, *text;
    } cases[] = {{"in/log_...txt", ".."}, {"in/log_..txt", "."}};
    char sub[128];
    snprintf(sub, sizeof sub, "%s/in", dir);
    mkdir(sub, 0755);
    put_file("in/log_a.txt", "");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_cfg_jobdesc *j = NULL;
        zv_cfg_err err;
        char want[128];
        put_file(cases[i].file, "");
        cr_assert_eq(load("[{\"name\": \"w\", \"exec\": {\"path\": \"w.wasm\"},\n"
                          " \"devices\": [{\"name\": \"stdin\", \"path\": \"in/log_*.txt\"},"
                          "{\"name\": \"stdout\", \"path\": \"*/count.txt\"}]}]",
                          &j, &err),
                     -EINVAL, "case %zu: accepted", i);
        cr_assert_null(j);
        snprintf(want, sizeof want, "\"%s\" matches \"in/log_*.txt\" with \"%s\"",
                 cases[i].file + 3, cases[i].text);
        cr_assert(strstr(err.msg, "$[0] (w).devices (stdin)") && strstr(err.msg, want),
                  "case %zu: got \"%s\"", i, err.msg);
        cr_assert_eq(err.line, 1);
        snprintf(sub, sizeof sub, "%s/%s", dir, cases[i].file);
        unlink(sub);
    }
}

Test(jobdesc, errors_name_the_json_path)
{
    static const struct {
        const char *text, *why;
        int line;
    } cases[] = {
        {"[{\"name\": \"a\",\n \"exec\": {\"path\": \"x\", \"args\": 3}}]",
         "$[0] (a).exec.args: a number, expected a string", 2},
        {"[{\"name\": \"a-b\", \"exec\": {\"path\": \"x\"}}]", "letters, digits and '_' only", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"count\": 0}]",
         "$[0] (a).count: expected a whole number", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"count\": 2.5}]",
         "count: expected a whole", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"devices\": [{\"name\": \"stdin\"}]}]",
         "the readable device stdin needs a path", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"devices\": [{\"name\": \"stdout\", "
         "\"path\": \"a*b*\"}]}]",
         "more than one '*'", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x,y\"}}]", "holds ','", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"connect\": [\"a\", \"a\"], \"count\": "
         "2}]",
         "listed twice", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"devices\": [{\"name\": \"stdout\"}, "
         "{\"name\": \"stdout\"}]}]",
         "given twice", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\", \"env\": {\"A B\": \"1\"}}}]",
         "exec.env: \"A B\"", 1},
        {"[]", "the job has no nodes", 1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"count\": 200000}]", "from 1 to 100000",
         1},
        {"[{\"name\": \"a\", \"exec\": {\"path\": \"x\"}, \"count\": 17, \"connect\": [\"a\"]}]",
         "memory 4194304 is too small for 16 pipes of 256 KiB", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_cfg_jobdesc *j = NULL;
        zv_cfg_err err;
        cr_assert_eq(load(cases[i].text, &j, &err), -EINVAL, "case %zu", i);
        cr_assert_null(j);
        cr_assert(strstr(err.msg, cases[i].why), "case %zu: got \"%s\"", i, err.msg);
        cr_assert_eq(err.line, cases[i].line, "case %zu: line %d", i, err.line);
    }
}

Test(jobdesc, every_allocation_can_fail)
{
    static const char text[] =
        "[{\"name\": \"a\", \"exec\": {\"path\": \"x\", \"args\": \"1 2\", \"env\": "
        "{\"K\": \"v\"}}, \"count\": 2, \"connect\": [\"b\", \"a\"], \"devices\": "
        "[{\"name\": \"stderr\"}]}, {\"name\": \"b\", \"exec\": {\"path\": \"y\"}}]";
    int done = 0;
    for (long n = 1; n < 2000 && !done; n++) {
        zv_cfg_jobdesc *j = NULL;
        zv_cfg_err err;
        char path[256];
        zv_cfg_job_opts o = {1 << 20, 5, NULL};
        put_file("job.json", text);
        snprintf(path, sizeof path, "%s/job.json", dir);
        zv_cfg_test_fail_alloc(n);
        int rc = zv_cfg_jobdesc_load(path, &o, &j, &err);
        zv_cfg_test_fail_alloc(0);
        cr_assert(rc == 0 || rc == -ENOMEM, "allocation %ld: %d %s", n, rc, err.msg);
        done = rc == 0;
        zv_cfg_jobdesc_free(j);
    }
    cr_assert(done);
}
