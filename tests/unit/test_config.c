/*
 * test_config.c — Criterion suites for config/: every error path with its
 * exit code and line, ZeroVM's ignore rules, base-0 integers, percent
 * decoding, channel order, path resolution, the writer's round trip,
 * zv_cfg_for_instance, hostile text (random bytes, mutations, truncations,
 * huge files) and fault injection on every allocation.
 */
#include "config/config.h"
#include "config/internal.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The four required keys on lines 1-4 and the standard channels on 5-7:
 * a line appended to GOOD is line 8. */
#define V   "Version = 20130611\n"
#define P   "Program = prog.wasm\n"
#define M   "Memory = 65536, 0\n"
#define T   "Timeout = 5\n"
#define CI  "Channel = in.txt, /dev/stdin, 0, 0, 1, 1, 0, 0\n"
#define CO  "Channel = out.txt, /dev/stdout, 0, 0, 0, 0, 1, 1\n"
#define CE  "Channel = /dev/null, /dev/stderr, 0, 0, 0, 0, 1, 1\n"
#define STD CI CO CE
#define GOOD V P M T STD

/* Every key, odd spacing, escapes, unsorted extra channels. */
static const char rich[] =
    "# a ZeroVM manifest with zvm's additions\n"
    "Version = 20130611\n"
    "Program = bin/prog.wasm\n"
    "Memory = 0x1000000, 1\n"
    "Timeout=30\n"
    "Node = 7\n"
    "Job = /jobs/42\n"
    "Seed = 0xdeadbeef\n"
    "Time = 1370908800\n"
    "Args = prog -v a%20b c%3Dd %2C%25\n"
    "Env = HOME /home/user\n"
    "Env = GREETING hello,%20world%3D\n"
    "Channel = data/in.txt, /dev/stdin, 0, 1, 100, 1000, 0, 0\n"
    "Channel = /tmp/log, /dev/zlog, 1, 0, 0, 0, 10, 0x1000\n"
    "Channel = out.txt, /dev/stdout, 0, 1, 0, 0, 100, 1000\n"
    "\tChannel\t=\t/dev/null , /dev/stderr , 0 , 0 , 0 , 0 , 1 , 1 \r\n"
    "Channel = db, /dev/adb, 3, 1, 5, 5, 5, 5\n";

static zv_cfg_manifest *parse_ok_n(const char *text, size_t len)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err = {0};
    int rc = zv_cfg_parse(text, len, "/base", &m, &err);
    cr_assert_eq(rc, 0, "rc %d: line %d: %s", rc, err.line, err.msg);
    cr_assert_not_null(m);
    return m;
}

static zv_cfg_manifest *parse_ok(const char *text) { return parse_ok_n(text, strlen(text)); }

static void expect_error_n(const char *text, size_t len, int code, int line, const char *msg)
{
    zv_cfg_manifest *m = (zv_cfg_manifest *)1;
    zv_cfg_err err = {0};
    int rc = zv_cfg_parse(text, len, "/base", &m, &err);
    cr_assert_eq(rc, -EINVAL, "accepted:\n%.300s", text);
    cr_assert_null(m);
    cr_assert_eq(err.exit_code, code, "exit code %d, expected %d (%s)\n%.300s", err.exit_code,
                 code, err.msg, text);
    cr_assert_eq(err.line, line, "line %d, expected %d (%s)\n%.300s", err.line, line, err.msg,
                 text);
    cr_assert(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
}

static void expect_error(const char *text, int code, int line, const char *msg)
{
    expect_error_n(text, strlen(text), code, line, msg);
}

typedef struct {
    const char *text;
    int code, line;
    const char *msg;
} bad_case;

static void run_cases(const bad_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        expect_error(c[i].text, c[i].code, c[i].line, c[i].msg);
}

#define RUN(cases) run_cases(cases, sizeof cases / sizeof cases[0])

/* Equal as the format sees them: everything but dir and the line numbers. */
static void assert_equal(const zv_cfg_manifest *a, const zv_cfg_manifest *b)
{
    cr_assert_str_eq(a->program, b->program);
    cr_assert_eq(a->memory_bytes, b->memory_bytes);
    cr_assert_eq(a->memory_etag, b->memory_etag);
    cr_assert_eq(a->timeout_s, b->timeout_s);
    cr_assert_eq(a->node, b->node);
    cr_assert((!a->job && !b->job) || (a->job && b->job && !strcmp(a->job, b->job)));
    cr_assert_eq(a->etag, b->etag);
    cr_assert_eq(a->seed, b->seed);
    cr_assert_eq(a->time_s, b->time_s);
    cr_assert_eq(a->n_channels, b->n_channels);
    for (uint32_t i = 0; i < a->n_channels; i++) {
        const zv_cfg_channel *x = &a->channels[i], *y = &b->channels[i];
        cr_assert_str_eq(x->uri, y->uri);
        cr_assert_str_eq(x->alias, y->alias);
        cr_assert_eq(x->type, y->type);
        cr_assert_eq(x->etag, y->etag);
        cr_assert_arr_eq(x->limits, y->limits, sizeof x->limits);
    }
    cr_assert_eq(a->n_args, b->n_args);
    for (uint32_t i = 0; i < a->n_args; i++)
        cr_assert_str_eq(a->args[i], b->args[i]);
    cr_assert_null(b->args[b->n_args]);
    cr_assert_eq(a->n_env, b->n_env);
    for (uint32_t i = 0; i < a->n_env; i++)
        cr_assert_str_eq(a->env[i], b->env[i]);
    cr_assert_null(b->env[b->n_env]);
}

/* Write m, check the text parses back equal, return the text. */
static char *round_trip(const zv_cfg_manifest *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    zv_cfg_manifest *back;
    cr_assert_not_null(f);
    cr_assert_eq(zv_cfg_write(m, f), 0);
    fclose(f);
    back = parse_ok_n(buf, len);
    assert_equal(m, back);
    zv_cfg_free(back);
    return buf;
}

/* ---- what a good manifest gives ---- */

Test(config, parses_every_key)
{
    zv_cfg_manifest *m = parse_ok(rich);
    static const char *const args[] = {"prog", "-v", "a b", "c=d", ",%"};
    cr_assert_str_eq(m->program, "bin/prog.wasm");
    cr_assert_eq(m->memory_bytes, 16u << 20);
    cr_assert_eq(m->memory_etag, 1);
    cr_assert_eq(m->timeout_s, 30);
    cr_assert_eq(m->node, 7);
    cr_assert_str_eq(m->job, "/jobs/42");
    cr_assert_eq(m->etag, 1);
    cr_assert_eq(m->seed, 0xdeadbeef);
    cr_assert_eq(m->time_s, 1370908800);
    cr_assert_eq(m->n_args, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(m->args[i], args[i]);
    cr_assert_null(m->args[5]);
    cr_assert_eq(m->n_env, 2);
    cr_assert_str_eq(m->env[0], "HOME=/home/user");
    cr_assert_str_eq(m->env[1], "GREETING=hello, world=");
    cr_assert_null(m->env[2]);
    cr_assert_str_eq(m->dir, "/base");
    cr_assert_eq(m->n_channels, 5);
    cr_assert_str_eq(m->channels[0].uri, "data/in.txt");
    cr_assert_eq(m->channels[0].etag, 1);
    cr_assert_eq(m->channels[0].limits[ZV_CFG_GETS], 100);
    cr_assert_eq(m->channels[0].limits[ZV_CFG_GETSIZE], 1000);
    cr_assert_eq(m->channels[0].line, 13);
    cr_assert_str_eq(m->channels[2].uri, "/dev/null");
    cr_assert_str_eq(m->channels[2].alias, "/dev/stderr");
    cr_assert_eq(m->channels[2].line, 16);
    cr_assert_eq(m->channels[4].type, ZV_CFG_RND_SEQ);
    cr_assert_eq(m->channels[4].limits[ZV_CFG_PUTSIZE], 4096);
    cr_assert_eq(m->channels[3].type, ZV_CFG_RND_RND);
    zv_cfg_free(m);
}

Test(config, defaults_when_optional_keys_are_absent)
{
    zv_cfg_manifest *m = parse_ok(GOOD);
    cr_assert_eq(m->node, 0);
    cr_assert_null(m->job);
    cr_assert_eq(m->etag, 1);
    cr_assert_eq(m->seed, 0);
    cr_assert_eq(m->time_s, 0);
    cr_assert_eq(m->n_args, 0);
    cr_assert_not_null(m->args);
    cr_assert_null(m->args[0]);
    cr_assert_eq(m->n_env, 0);
    cr_assert_not_null(m->env);
    cr_assert_null(m->env[0]);
    zv_cfg_free(m);
    zv_cfg_free(NULL);
}

Test(config, channels_in_guest_order)
{
    zv_cfg_manifest *m = parse_ok(V P M T "Channel = z, /dev/zz, 0, 0, 1, 1, 0, 0\n" CE
                                          "Channel = b, /dev/b, 0, 0, 1, 1, 0, 0\n" CO
                                          "Channel = a, /dev/a, 0, 0, 1, 1, 0, 0\n"
                                          "Channel = B, /dev/B, 0, 0, 1, 1, 0, 0\n" CI);
    static const char *const order[] = {"/dev/stdin", "/dev/stdout", "/dev/stderr",
                                        "/dev/B",     "/dev/a",      "/dev/b",
                                        "/dev/zz"};
    static const int lines[] = {11, 8, 6, 10, 9, 7, 5};
    cr_assert_eq(m->n_channels, 7);
    for (int i = 0; i < 7; i++) {
        cr_assert_str_eq(m->channels[i].alias, order[i]);
        cr_assert_eq(m->channels[i].line, lines[i]);
        cr_assert_eq(zv_cfg_find_channel(m, order[i]), i);
    }
    cr_assert_eq(zv_cfg_find_channel(m, "/dev/nothing"), -1);
    cr_assert_eq(zv_cfg_find_channel(m, "/dev/std"), -1);
    zv_cfg_free(m);
}

Test(config, etag_zero_turns_every_etag_off)
{
    zv_cfg_manifest *m = parse_ok(V P "Memory = 65536, 1\n" T
                                      "Channel = i, /dev/stdin, 0, 1, 1, 1, 0, 0\n" CO CE
                                      "Etag = 0\n");
    cr_assert_eq(m->etag, 0);
    cr_assert_eq(m->memory_etag, 0);
    cr_assert_eq(m->channels[0].etag, 0);
    zv_cfg_free(m);
    m = parse_ok(V P "Memory = 65536, 1\n" T "Channel = i, /dev/stdin, 0, 1, 1, 1, 0, 0\n" CO CE
                     "Etag = 1\n");
    cr_assert_eq(m->memory_etag, 1);
    cr_assert_eq(m->channels[0].etag, 1);
    zv_cfg_free(m);
}

Test(config, limits_at_their_bounds)
{
    zv_cfg_manifest *m = parse_ok(V P "Memory = 4294967296, 0\n"
                                      "Timeout = 4294967295\n" STD
                                      "Channel = a, /dev/a, 0, 0, 9223372036854775807, 0, 0, 0\n"
                                      "Node = -9223372036854775808\n"
                                      "Seed = 18446744073709551615\n"
                                      "Time = 18446744073\n");
    cr_assert_eq(m->memory_bytes, 1ull << 32);
    cr_assert_eq(m->timeout_s, UINT32_MAX);
    cr_assert_eq(m->channels[3].limits[0], INT64_MAX);
    cr_assert_eq(m->node, INT64_MIN);
    cr_assert_eq(m->seed, UINT64_MAX);
    cr_assert_eq(m->time_s, 18446744073u);
    zv_cfg_free(m);
}

/* ---- ZeroVM's ignore rules and integers ---- */

Test(config, ignores_lines_without_one_equals_sign_and_unknown_keys)
{
    static const char text[] = "just some words\n"
                               "\n"
                               "   \t  \n"
                               "Timeout == 7\n"
                               "Timeout = 7 = 8\n"
                               "Program = a=b.wasm\n"
                               "Bogus = 1\n"
                               "timeout = 9\n"
                               "TIMEOUT = 9\n"
                               " = 5\n"
                               "=\n"
                               "# Timeout = 1\n"
                               "Time out = 1\n"
                               "Channel = x, /dev/x, 0, 0, 1, 1, 0, 0, =\n"
                               "\tTimeout\t=\t5\t\r\n" V P M STD;
    zv_cfg_manifest *m = parse_ok(text);
    cr_assert_eq(m->timeout_s, 5);
    cr_assert_str_eq(m->program, "prog.wasm");
    cr_assert_eq(m->n_channels, 3);
    zv_cfg_free(m);
}

Test(config, ignores_binary_junk_in_unknown_lines)
{
    static const char text[] = "\x01\x02\xff\xfe\n"
                               "Bo\0gus = \0\x80\n"
                               "Timeout\0 = 9\n"
                               "\0\0\0\n" GOOD "\xff = \xff\n";
    zv_cfg_manifest *m = parse_ok_n(text, sizeof text - 1);
    cr_assert_eq(m->timeout_s, 5);
    zv_cfg_free(m);
}

Test(config, reads_integers_base_0)
{
    zv_cfg_manifest *m = parse_ok("Version = 0x1332b33\n" P "Memory = 0X10000, 00\n"
                                  "Timeout = 010\n" STD
                                  "Channel = a, /dev/a, 0x3, 01, 0xA, +10, 0, 0\n"
                                  "Node = -0x10\n"
                                  "Seed = 0xFFFFFFFFFFFFFFFF\n"
                                  "Time = 0000000000000000000000000000000000000000017\n");
    cr_assert_eq(m->memory_bytes, 65536);
    cr_assert_eq(m->timeout_s, 8);
    cr_assert_eq(m->channels[3].type, 3);
    cr_assert_eq(m->channels[3].etag, 1);
    cr_assert_eq(m->channels[3].limits[0], 10);
    cr_assert_eq(m->channels[3].limits[1], 10);
    cr_assert_eq(m->node, -16);
    cr_assert_eq(m->seed, UINT64_MAX);
    cr_assert_eq(m->time_s, 15);
    zv_cfg_free(m);
    m = parse_ok("Version = 0114625463\n" P M T STD "Node = -0\n");
    cr_assert_eq(m->node, 0);
    zv_cfg_free(m);
}

Test(config, rejects_integers_with_trailing_junk)
{
    static const bad_case cases[] = {
        {V P M "Timeout = 5 s\n" STD, 14, 4, "Timeout: '5 s' is not an integer"},
        {V P M "Timeout = 5s\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout = 0x\n" STD, 14, 4, "'0x' is not an integer"},
        {V P M "Timeout = 0xg\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout = 08\n" STD, 14, 4, "'08' is not an integer"},
        {V P M "Timeout = 1.5\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout = 1e3\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout = +\n" STD, 14, 4, "'+' is not an integer"},
        {V P M "Timeout = --1\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout = - 1\n" STD, 14, 4, "not an integer"},
        {V P M "Timeout =\n" STD, 14, 4, "Timeout: '' is not an integer"},
        {V P M "Timeout = 99999999999999999999999x\n" STD, 14, 4, "not an integer"},
        {GOOD "Node = 1O\n", 14, 8, "Node: '1O' is not an integer"},
    };
    RUN(cases);
}

Test(config, percent_decodes_args_and_env)
{
    zv_cfg_manifest *m = parse_ok(GOOD "Args = prog a%20b c%3Dd %2C%25 %41%62%63 %e2%82%ac \t x \n"
                                       "Env = HOME /home/a%20b\n"
                                       "Env = EMPTY\n"
                                       "Env = SP \t  x  y\n"
                                       "Env = PCT %25%3D%2C%0A\n"
                                       "Env = N%41ME raw\n");
    static const char *const args[] = {"prog", "a b", "c=d", ",%", "Abc", "\xe2\x82\xac", "x"};
    static const char *const env[] = {"HOME=/home/a b", "EMPTY=", "SP=x  y", "PCT=%=,\n",
                                      "N%41ME=raw"};
    cr_assert_eq(m->n_args, 7);
    for (int i = 0; i < 7; i++)
        cr_assert_str_eq(m->args[i], args[i]);
    cr_assert_eq(m->n_env, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(m->env[i], env[i]);
    zv_cfg_free(m);
    m = parse_ok(GOOD "Args =\n");
    cr_assert_eq(m->n_args, 0);
    cr_assert_null(m->args[0]);
    zv_cfg_free(m);
}

/* ---- every error, with its exit code and line ---- */

Test(config, rejects_oversized_input)
{
    size_t big = ZV_CFG_MAX_BYTES + 1;
    char *text = malloc(big);
    zv_cfg_manifest *m;
    memset(text, ' ', big);
    memcpy(text, GOOD, strlen(GOOD));
    expect_error_n(text, big, 14, 0, "manifest: 524289 bytes, at most 524288");
    /* One byte less is fine: the padding is one long ignored line. */
    m = parse_ok_n(text, big - 1);
    zv_cfg_free(m);
    free(text);
}

Test(config, rejects_more_than_8192_lines)
{
    size_t n = strlen(GOOD), lines = ZV_CFG_MAX_LINES - 7;
    char *text = malloc(n + lines + 2);
    zv_cfg_manifest *m;
    memcpy(text, GOOD, n);
    memset(text + n, '\n', lines + 1);
    m = parse_ok_n(text, n + lines); /* 8192 lines */
    zv_cfg_free(m);
    text[n + lines] = 'x';           /* 8193, the last without '\n' */
    expect_error_n(text, n + lines + 1, 14, 0, "manifest: more than 8192 lines");
    text[n + lines] = '\n';
    expect_error_n(text, n + lines + 1, 14, 0, "more than 8192 lines");
    free(text);
}

Test(config, missing_required_keys)
{
    static const bad_case cases[] = {
        {P M T STD, 14, 0, "Version: missing"},
        {V M T STD, 14, 0, "Program: missing"},
        {V P T STD, 14, 0, "Memory: missing"},
        {V P M STD, 14, 0, "Timeout: missing"},
        {"", 14, 0, "Version: missing"},
        {V P M T, 14, 0, "Channel: 0 channels, expected at least 3"},
        {V P M T CI, 14, 0, "Channel: 1 channel, expected at least 3"},
        {V P M T CI CO, 14, 0, "Channel: 2 channels, expected at least 3"},
        {V P M T CI CO "Channel = x, /dev/x, 0, 0, 1, 1, 0, 0\n", 14, 0,
         "Channel: /dev/stderr missing"},
        {V P M T CO CE "Channel = x, /dev/x, 0, 0, 1, 1, 0, 0\n", 14, 0,
         "Channel: /dev/stdin missing"},
        {V P M T CI CE "Channel = x, /dev/x, 0, 0, 1, 1, 0, 0\n"
                       "Channel = y, /dev/y, 0, 0, 1, 1, 0, 0\n",
         14, 0, "Channel: /dev/stdout missing"},
    };
    RUN(cases);
}

Test(config, duplicated_keys)
{
    static const bad_case cases[] = {
        {GOOD V, 14, 8, "Version: duplicated (first on line 1)"},
        {GOOD "Program = other.wasm\n", 14, 8, "Program: duplicated (first on line 2)"},
        {GOOD M, 14, 8, "Memory: duplicated (first on line 3)"},
        {GOOD "Timeout = 5\n", 14, 8, "Timeout: duplicated (first on line 4)"},
        {GOOD "Node = 1\nNode = 1\n", 14, 9, "Node: duplicated (first on line 8)"},
        {GOOD "Job = a\nJob = b\n", 14, 9, "Job: duplicated (first on line 8)"},
        {GOOD "Etag = 1\nEtag = 1\n", 14, 9, "Etag: duplicated (first on line 8)"},
        {GOOD "Args = a\nArgs = b\n", 14, 9, "Args: duplicated (first on line 8)"},
        {GOOD "Seed = 1\nSeed = 2\n", 14, 9, "Seed: duplicated (first on line 8)"},
        {GOOD "Time = 1\nTime = 2\n", 14, 9, "Time: duplicated (first on line 8)"},
        /* A bad first occurrence is reported, not the duplicate. */
        {GOOD "Seed = x\nSeed = 2\n", 14, 8, "Seed: 'x' is not an integer"},
        {GOOD "Channel = b, /dev/stdout, 0, 0, 0, 0, 1, 1\n", 14, 8,
         "Channel: duplicated alias (first on line 6)"},
        {GOOD "Channel = x, /dev/x, 0, 0, 1, 1, 0, 0\n"
              "Channel = y, /dev/y, 0, 0, 1, 1, 0, 0\n"
              "Channel = z, /dev/x, 0, 0, 1, 1, 0, 0\n"
              "Channel = w, /dev/y, 0, 0, 1, 1, 0, 0\n",
         14, 10, "Channel: duplicated alias (first on line 8)"},
        {GOOD "Env = A 1\nEnv = AB 2\nEnv = B\nEnv = A 3\n", 14, 11,
         "Env: duplicated variable (first on line 8)"},
        /* The earliest offending line wins, aliases or Env. */
        {GOOD "Env = A 1\nEnv = A 2\nChannel = b, /dev/stdin, 0, 0, 1, 1, 0, 0\n", 14, 9,
         "Env: duplicated variable (first on line 8)"},
        {GOOD "Channel = b, /dev/stdin, 0, 0, 1, 1, 0, 0\nEnv = A 1\nEnv = A 2\n", 14, 8,
         "Channel: duplicated alias (first on line 5)"},
    };
    RUN(cases);
}

Test(config, bad_version_program_timeout)
{
    static const bad_case cases[] = {
        {"Version = 1\n" P M T STD, 14, 1, "Version: '1', expected 20130611"},
        {"Version = 20130612\n" P M T STD, 14, 1, "expected 20130611"},
        {"Version = -20130611\n" P M T STD, 14, 1, "expected 20130611"},
        {"Version = 99999999999999999999999\n" P M T STD, 14, 1, "expected 20130611"},
        {"Version = 2013-06-11\n" P M T STD, 14, 1, "Version: '2013-06-11' is not an integer"},
        {V "Program =\n" M T STD, 14, 2, "Program: empty path"},
        {V "Program = \t \n" M T STD, 14, 2, "Program: empty path"},
        {V P M "Timeout = 0\n" STD, 14, 4, "Timeout: '0' is out of range (1 to 4294967295)"},
        {V P M "Timeout = -1\n" STD, 14, 4, "Timeout: '-1' is out of range"},
        {V P M "Timeout = 4294967296\n" STD, 14, 4, "'4294967296' is out of range"},
        {V P M "Timeout = 99999999999999999999999\n" STD, 14, 4, "is out of range"},
    };
    RUN(cases);
}

Test(config, bad_memory)
{
    static const bad_case cases[] = {
        {V P "Memory = 65536\n" T STD, 14, 3, "Memory: 1 field, expected 2"},
        {V P "Memory = 65536, 0, 1\n" T STD, 14, 3, "Memory: 3 fields, expected 2"},
        {V P "Memory = 64k, 0\n" T STD, 14, 3, "Memory: '64k' is not an integer"},
        {V P "Memory = , 0\n" T STD, 14, 3, "Memory: '' is not an integer"},
        {V P "Memory = 0, 0\n" T STD, 12, 3, "Memory: 0 bytes"},
        {V P "Memory = 65537, 0\n" T STD, 12, 3, "Memory: '65537' is not a multiple of 65536"},
        {V P "Memory = 32768, 0\n" T STD, 12, 3, "not a multiple of 65536"},
        {V P "Memory = 4295032832, 0\n" T STD, 12, 3, "Memory: '4295032832' is above 4 GiB"},
        {V P "Memory = 99999999999999999999999, 0\n" T STD, 12, 3, "is above 4 GiB"},
        {V P "Memory = -65536, 0\n" T STD, 12, 3, "Memory: '-65536' is negative"},
        {V P "Memory = 65536, 2\n" T STD, 14, 3, "Memory: etag '2' is out of range (0 to 1)"},
        {V P "Memory = 65536, -1\n" T STD, 14, 3, "Memory: etag '-1' is negative"},
        {V P "Memory = 65536,\n" T STD, 14, 3, "Memory: etag '' is not an integer"},
    };
    RUN(cases);
}

#define CH(fields) GOOD "Channel = " fields "\n"

Test(config, bad_channels)
{
    static const bad_case cases[] = {
        {CH("a, /dev/a, 0, 0, 1, 1, 0"), 14, 8, "Channel: 7 fields, expected 8"},
        {CH("a, /dev/a, 0, 0, 1, 1, 0, 0, 0"), 14, 8, "Channel: 9 fields, expected 8"},
        {CH("/dev/a"), 14, 8, "Channel: 1 field, expected 8"},
        {CH(""), 14, 8, "Channel: 1 field, expected 8"},
        {CH(",,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,"), 14, 8, "45 fields, expected 8"},
        {CH(", /dev/a, 0, 0, 1, 1, 0, 0"), 14, 8, "Channel: empty uri"},
        {CH("a, , 0, 0, 1, 1, 0, 0"), 14, 8, "Channel: empty alias"},
        {CH("a, /dev/a, 4, 0, 1, 1, 0, 0"), 14, 8, "Channel: type '4' is out of range (0 to 3)"},
        {CH("a, /dev/a, -1, 0, 1, 1, 0, 0"), 14, 8, "Channel: type '-1' is negative"},
        {CH("a, /dev/a, seq, 0, 1, 1, 0, 0"), 14, 8, "Channel: type 'seq' is not an integer"},
        {CH("a, /dev/a, 0, 2, 1, 1, 0, 0"), 14, 8, "Channel: etag '2' is out of range (0 to 1)"},
        {CH("a, /dev/a, 0, -1, 1, 1, 0, 0"), 14, 8, "Channel: etag '-1' is negative"},
        {CH("a, /dev/a, 0, 0, -1, 1, 0, 0"), 14, 8, "Channel: gets '-1' is negative"},
        {CH("a, /dev/a, 0, 0, 1, -1, 0, 0"), 14, 8, "Channel: getsize '-1' is negative"},
        {CH("a, /dev/a, 0, 0, 1, 1, -1, 0"), 14, 8, "Channel: puts '-1' is negative"},
        {CH("a, /dev/a, 0, 0, 1, 1, 0, -0x1"), 14, 8, "Channel: putsize '-0x1' is negative"},
        {CH("a, /dev/a, 0, 0, 1, 1, 0, 9223372036854775808"), 14, 8,
         "Channel: putsize '9223372036854775808' is out of range (0 to 9223372036854775807)"},
        {CH("a, /dev/a, 0, 0, 18446744073709551616, 1, 0, 0"), 14, 8,
         "gets '18446744073709551616' is out"},
        {CH("a, /dev/a, 0, 0, 1, 1x, 0, 0"), 14, 8, "Channel: getsize '1x' is not an integer"},
        {CH("a, /dev/a, 0, 0, 0, 0, 0, 0"), 22, 8, "Channel: all four limits are zero"},
        {CH("a, /dev/a, 3, 1, 0x0, 00, -0, +0"), 22, 8, "all four limits are zero"},
        {V P M T "Channel = in, /dev/stdin, 0, 0, 0, 0, 0, 0\n" CO CE, 22, 5,
         "all four limits are zero"},
    };
    RUN(cases);
}

Test(config, bad_optional_keys)
{
    static const bad_case cases[] = {
        {GOOD "Node = x\n", 14, 8, "Node: 'x' is not an integer"},
        {GOOD "Node = 9223372036854775808\n", 14, 8, "Node: '9223372036854775808' is out of range"},
        {GOOD "Node = -9223372036854775809\n", 14, 8, "is out of range"},
        {GOOD "Job =\n", 14, 8, "Job: empty value"},
        {GOOD "Etag = 2\n", 14, 8, "Etag: '2' is out of range (0 to 1)"},
        {GOOD "Etag = -1\n", 14, 8, "Etag: '-1' is negative"},
        {GOOD "Etag = yes\n", 14, 8, "Etag: 'yes' is not an integer"},
        {GOOD "Args = a%G0\n", 14, 8, "Args: bad escape in 'a%G0'"},
        {GOOD "Args = ok a%4\n", 14, 8, "Args: bad escape in 'a%4'"},
        {GOOD "Args = %\n", 14, 8, "Args: bad escape in '%'"},
        {GOOD "Args = x%00y\n", 14, 8, "Args: %00 in 'x%00y'"},
        {GOOD "Env =\n", 14, 8, "Env: empty value"},
        {GOOD "Env = A %ZZ\n", 14, 8, "Env: bad escape in '%ZZ'"},
        {GOOD "Env = A b%0\n", 14, 8, "Env: bad escape"},
        {GOOD "Env = A %00\n", 14, 8, "Env: %00 in '%00'"},
        {GOOD "Seed = -1\n", 14, 8, "Seed: '-1' is negative"},
        {GOOD "Seed = 18446744073709551616\n", 14, 8,
         "Seed: '18446744073709551616' is out of range"},
        {GOOD "Seed = 0x10000000000000000\n", 14, 8, "is out of range"},
        {GOOD "Time = 18446744074\n", 14, 8, "Time: '18446744074' is out of range"},
        {GOOD "Time = -1\n", 14, 8, "Time: '-1' is negative"},
    };
    RUN(cases);
}

Test(config, nul_bytes_in_a_value_are_an_error)
{
    static const char job[] = GOOD "Job = a\0b\n";
    static const char prog[] = V "Program = a.wasm\0\n" M T STD;
    static const char chan[] = GOOD "Channel = a\0, /dev/a, 0, 0, 1, 1, 0, 0\n";
    expect_error_n(job, sizeof job - 1, 14, 8, "Job: NUL byte in the value");
    expect_error_n(prog, sizeof prog - 1, 14, 2, "Program: NUL byte in the value");
    expect_error_n(chan, sizeof chan - 1, 14, 8, "Channel: NUL byte in the value");
}

Test(config, no_text_is_an_empty_manifest)
{
    zv_cfg_manifest *m = (zv_cfg_manifest *)1;
    zv_cfg_err err;
    cr_assert_eq(zv_cfg_parse(NULL, 0, NULL, &m, &err), -EINVAL);
    cr_assert_null(m);
    cr_assert_str_eq(err.msg, "Version: missing");
    cr_assert_eq(err.line, 0);
}

Test(config, the_first_bad_line_is_reported)
{
    expect_error(GOOD "Seed = -1\nTimeout = 0\nNode = x\n", 14, 8, "Seed");
    expect_error("Timeout = x\n" "Version = 1\n", 14, 1, "Timeout");
}

Test(config, messages_quote_hostile_text_printably)
{
    static const char text[] = GOOD "Node = \x01\x1b[31m\xff"
                                    "0123456789012345678901234567890123456789\n";
    zv_cfg_manifest *m;
    zv_cfg_err err;
    cr_assert_eq(zv_cfg_parse(text, sizeof text - 1, NULL, &m, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "Node: '??[31m?0123456789012345678901234...' is not an integer");
}

/* ---- paths ---- */

Test(config, resolves_relative_paths_against_the_manifest_folder)
{
    zv_cfg_manifest *m = parse_ok(GOOD);
    char out[64], tiny[8];
    zv_cfg_resolve(m, m->program, out, sizeof out);
    cr_assert_str_eq(out, "/base/prog.wasm");
    zv_cfg_resolve(m, m->channels[0].uri, out, sizeof out);
    cr_assert_str_eq(out, "/base/in.txt");
    zv_cfg_resolve(m, m->channels[2].uri, out, sizeof out);
    cr_assert_str_eq(out, "/dev/null");
    zv_cfg_resolve(m, "/abs/x.wasm", out, sizeof out);
    cr_assert_str_eq(out, "/abs/x.wasm");
    zv_cfg_resolve(m, "../up", out, sizeof out);
    cr_assert_str_eq(out, "/base/../up");
    zv_cfg_resolve(m, m->program, tiny, sizeof tiny); /* never a cut path */
    cr_assert_str_eq(tiny, "");
    zv_cfg_resolve(m, m->program, tiny, 0);
    zv_cfg_free(m);

    zv_cfg_err err;
    cr_assert_eq(zv_cfg_parse(GOOD, strlen(GOOD), "/", &m, &err), 0);
    zv_cfg_resolve(m, "prog.wasm", out, sizeof out);
    cr_assert_str_eq(out, "/prog.wasm");
    zv_cfg_free(m);
    cr_assert_eq(zv_cfg_parse(GOOD, strlen(GOOD), NULL, &m, &err), 0);
    cr_assert_str_eq(m->dir, ".");
    zv_cfg_resolve(m, "prog.wasm", out, sizeof out);
    cr_assert_str_eq(out, "prog.wasm");
    zv_cfg_free(m);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/zvm_cfg_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void put_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    fclose(f);
}

Test(config, load_resolves_against_the_files_folder)
{
    char path[128], out[192];
    zv_cfg_manifest *m;
    zv_cfg_err err;
    make_tmpdir();
    snprintf(path, sizeof path, "%s/job.manifest", tmpdir);
    put_file(path, rich, sizeof rich - 1);
    cr_assert_eq(zv_cfg_load(path, &m, &err), 0, "%s", err.msg);
    cr_assert_str_eq(m->dir, tmpdir);
    zv_cfg_resolve(m, m->program, out, sizeof out);
    snprintf(path, sizeof path, "%s/bin/prog.wasm", tmpdir);
    cr_assert_str_eq(out, path);
    zv_cfg_resolve(m, m->channels[0].uri, out, sizeof out);
    snprintf(path, sizeof path, "%s/data/in.txt", tmpdir);
    cr_assert_str_eq(out, path);
    zv_cfg_free(m);

    cr_assert_eq(chdir(tmpdir), 0);
    cr_assert_eq(zv_cfg_load("job.manifest", &m, &err), 0);
    cr_assert_str_eq(m->dir, ".");
    zv_cfg_resolve(m, m->program, out, sizeof out);
    cr_assert_str_eq(out, "bin/prog.wasm");
    zv_cfg_free(m);
    cr_assert_eq(zv_cfg_load("./job.manifest", &m, &err), 0);
    cr_assert_str_eq(m->dir, ".");
    zv_cfg_free(m);
    unlink("job.manifest");
    rmdir(tmpdir);
}

Test(config, load_errors)
{
    char path[128];
    zv_cfg_manifest *m = (zv_cfg_manifest *)1;
    zv_cfg_err err;
    char *big;
    make_tmpdir();
    snprintf(path, sizeof path, "%s/absent.manifest", tmpdir);
    cr_assert_eq(zv_cfg_load(path, &m, &err), -ENOENT);
    cr_assert_null(m);
    cr_assert_eq(err.exit_code, 14);
    cr_assert_eq(err.line, 0);
    cr_assert(strstr(err.msg, "absent.manifest: No such file"), "%s", err.msg);
    cr_assert_eq(zv_cfg_load(tmpdir, &m, &err), -EIO); /* a folder */
    cr_assert(strstr(err.msg, "Is a directory"), "%s", err.msg);
    /* A file over the cap is refused as the parser would refuse it. */
    big = calloc(1, 600000);
    memset(big, '\n', 600000);
    snprintf(path, sizeof path, "%s/big.manifest", tmpdir);
    put_file(path, big, 600000);
    cr_assert_eq(zv_cfg_load(path, &m, &err), -EINVAL);
    cr_assert_eq(err.exit_code, 14);
    cr_assert(strstr(err.msg, "524289 bytes"), "%s", err.msg);
    unlink(path);
    /* A bad manifest file reports its line. */
    snprintf(path, sizeof path, "%s/bad.manifest", tmpdir);
    put_file(path, GOOD "Etag = 3\n", strlen(GOOD) + 9);
    cr_assert_eq(zv_cfg_load(path, &m, &err), -EINVAL);
    cr_assert_eq(err.line, 8);
    unlink(path);
    rmdir(tmpdir);
    free(big);
}

/* ---- the writer ---- */

Test(config, write_round_trips)
{
    zv_cfg_manifest *m = parse_ok(rich);
    char *text = round_trip(m), *again;
    zv_cfg_manifest *back = parse_ok(text);
    again = round_trip(back); /* and the text is a fixed point */
    cr_assert_str_eq(text, again);
    free(text);
    free(again);
    zv_cfg_free(back);
    zv_cfg_free(m);

    m = parse_ok(GOOD "Etag = 0\nEnv = E\nNode = -3\n");
    free(round_trip(m));
    zv_cfg_free(m);
}

Test(config, write_encodes_what_the_parser_would_eat)
{
    static const char *const args[] = {"a b", "tab\there", "=,%", "new\nline", "\x7f\x01",
                                       "\xc3\xa9t\xc3\xa9", "%41", NULL};
    static const char *const env[] = {"A=", "B= lead and trail ", "C==,%\r\n", "D%=x", NULL};
    zv_cfg_manifest m = {0};
    zv_cfg_channel ch[3];
    char *text;
    for (int i = 0; i < 3; i++) {
        ch[i] = (zv_cfg_channel){.uri = (char *)"f", .alias = (char *)zv_cfg_std_alias[i],
                                 .limits = {1, 1, 1, 1}};
    }
    m.program = (char *)"p.wasm";
    m.memory_bytes = 65536;
    m.timeout_s = 1;
    m.channels = ch;
    m.n_channels = 3;
    m.etag = 1;
    m.args = (char **)args;
    m.n_args = 7;
    m.env = (char **)env;
    m.n_env = 4;
    text = round_trip(&m);
    cr_assert(strstr(text, "Args = a%20b tab%09here %3D%2C%25 new%0Aline %7F%01 "
                           "\xc3\xa9t\xc3\xa9 %2541\n"),
              "%s", text);
    cr_assert(strstr(text, "Env = B %20lead%20and%20trail%20\n"), "%s", text);
    free(text);
}

Test(config, write_refuses_what_it_cannot_spell)
{
    static char *const empty_arg[] = {"a", "", NULL};
    static char *const no_eq[] = {"NOEQ", NULL};
    static char *const no_name[] = {"=x", NULL};
    static char *const blank_name[] = {"A B=x", NULL};
    zv_cfg_manifest m = {0};
    zv_cfg_channel ch[3];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int i = 0; i < 3; i++)
        ch[i] = (zv_cfg_channel){.uri = (char *)"f", .alias = (char *)zv_cfg_std_alias[i],
                                 .limits = {1, 1, 1, 1}};
    m = (zv_cfg_manifest){.program = (char *)"p.wasm", .memory_bytes = 65536, .timeout_s = 1,
                          .channels = ch, .n_channels = 3, .etag = 1};
    cr_assert_eq(zv_cfg_write(&m, f), 0);
    static const char *const bad_programs[] = {"", "a=b", " lead", "trail\t", "x\ny", NULL};
    for (int i = 0; bad_programs[i]; i++) {
        zv_cfg_manifest b = m;
        b.program = (char *)bad_programs[i];
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL, "Program '%s'", bad_programs[i]);
        b = m;
        b.job = (char *)bad_programs[i];
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL, "Job '%s'", bad_programs[i]);
    }
    {
        zv_cfg_manifest b = m;
        zv_cfg_channel c2[3] = {ch[0], ch[1], ch[2]};
        b.channels = c2;
        c2[2].alias = (char *)"/dev/a,b";
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
        c2[2].alias = ch[2].alias;
        c2[1].uri = (char *)"x=y";
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
        b = m;
        b.args = (char **)empty_arg, b.n_args = 2;
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
        b = m;
        b.env = (char **)no_eq, b.n_env = 1;
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
        b.env = (char **)no_name;
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
        b.env = (char **)blank_name;
        cr_assert_eq(zv_cfg_write(&b, f), -EINVAL);
    }
    fclose(f);
    free(buf);
}

Test(config, write_reports_io_errors)
{
    zv_cfg_manifest *m = parse_ok(rich);
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        cr_skip_test("no /dev/full");
    cr_assert_eq(zv_cfg_write(m, f), -EIO);
    fclose(f);
    zv_cfg_free(m);
}

/* ---- zv_cfg_for_instance ---- */

Test(config, from_job_builds_one_instance)
{
    static const char *const args[] = {"prog", "two words", "x=y,z%", NULL};
    zv_cfg_instance job = {.program = "/abs/prog.wasm", .input = "in.dat", .output = "out.dat",
                      .errors = "/dev/null", .memory_bytes = 1 << 20, .timeout_s = 9,
                      .limit_bytes = 12345, .args = args, .seed = 77, .time_s = 1000};
    zv_cfg_manifest *m;
    char *text;
    cr_assert_eq(zv_cfg_for_instance(&job, &m), 0);
    cr_assert_str_eq(m->program, "/abs/prog.wasm");
    cr_assert_eq(m->memory_bytes, 1 << 20);
    cr_assert_eq(m->timeout_s, 9);
    cr_assert_eq(m->etag, 1);
    cr_assert_eq(m->seed, 77);
    cr_assert_eq(m->time_s, 1000);
    cr_assert_str_eq(m->dir, ".");
    cr_assert_eq(m->n_args, 3);
    cr_assert_str_eq(m->args[1], "two words");
    cr_assert_null(m->args[3]);
    cr_assert_eq(m->n_env, 0);
    cr_assert_null(m->env[0]);
    cr_assert_eq(m->n_channels, 3);
    static const char *const uri[] = {"in.dat", "out.dat", "/dev/null"};
    for (int i = 0; i < 3; i++) {
        const zv_cfg_channel *c = &m->channels[i];
        int64_t want[4] = {0};
        want[i ? ZV_CFG_PUTS : ZV_CFG_GETS] = INT64_C(1) << 31;
        want[i ? ZV_CFG_PUTSIZE : ZV_CFG_GETSIZE] = 12345;
        cr_assert_str_eq(c->uri, uri[i]);
        cr_assert_str_eq(c->alias, zv_cfg_std_alias[i]);
        cr_assert_eq(c->type, ZV_CFG_SEQ_SEQ);
        cr_assert_eq(c->etag, 0);
        cr_assert_arr_eq(c->limits, want, sizeof want);
    }
    text = round_trip(m);
    cr_assert(strstr(text, "Version = 20130611\n"));
    free(text);
    zv_cfg_free(m);

    job.args = NULL;
    cr_assert_eq(zv_cfg_for_instance(&job, &m), 0);
    cr_assert_eq(m->n_args, 0);
    cr_assert_null(m->args[0]);
    zv_cfg_free(m);
}

/* ---- hostile input ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Parse anything: the result is consistent and, when accepted, the
 * manifest writes and reads back equal. */
/* The same text as a daemon's job: it parses or fails cleanly, and one
 * that parses fits itself. */
static void parse_as_job(const char *text, size_t len)
{
    zv_cfg_manifest *j = NULL;
    zv_cfg_err err;
    int rc = zv_cfg_parse_job(text, len, "d", &j, &err);
    if (rc) {
        cr_assert_eq(rc, -EINVAL);
        cr_assert(err.msg[0]);
        return;
    }
    cr_assert_geq(j->n_channels, 3);
    cr_assert_eq(zv_cfg_job_fits(j, j, &err), 0, "%s", err.msg);
    zv_cfg_free(j);
}

static void parse_anything(const char *text, size_t len)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err;
    int rc = zv_cfg_parse(text, len, "d", &m, &err);
    parse_as_job(text, len);
    if (rc == 0) {
        cr_assert_geq(m->n_channels, 3);
        free(round_trip(m));
        zv_cfg_free(m);
        return;
    }
    cr_assert_eq(rc, -EINVAL);
    cr_assert_null(m);
    cr_assert(err.exit_code == 14 || err.exit_code == 12 || err.exit_code == 22);
    cr_assert(err.line >= 0 && err.line <= ZV_CFG_MAX_LINES);
    cr_assert(err.msg[0]);
    for (const char *c = err.msg; *c; c++)
        cr_assert(*c >= 0x20 && *c < 0x7f, "unprintable message: %s", err.msg);
}

Test(config, random_bytes)
{
    char *buf = malloc(4096);
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = rnd() % 4096;
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)rnd();
        parse_anything(buf, len);
    }
    free(buf);
}

Test(config, random_mutations_of_a_good_manifest)
{
    static const char alphabet[] = "=,%\n \t\r\0-+0x19aFzG/";
    char buf[sizeof rich + 64];
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = sizeof rich - 1;
        memcpy(buf, rich, len);
        for (int k = 1 + (int)(rnd() % 4); k > 0; k--) {
            size_t at = rnd() % len;
            char c = rnd() % 2 ? alphabet[rnd() % (sizeof alphabet - 1)] : (char)rnd();
            switch (rnd() % 3) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* insert */
                if (len + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = c;
                    len++;
                }
            }
        }
        zv_cfg_manifest *m = NULL;
        zv_cfg_err err;
        if (zv_cfg_parse(buf, len, ".", &m, &err) == 0) {
            accepted++;
            zv_cfg_free(m);
        }
        parse_anything(buf, len);
    }
    cr_assert_gt(accepted, 100); /* the mutations reach the deep paths */
}

Test(config, every_truncation)
{
    size_t len = sizeof rich - 1;
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        memcpy(copy, rich, n);
        parse_anything(copy, n);
        free(copy);
    }
}

Test(config, huge_files)
{
    size_t n = 100000 * 45;
    char *text = malloc(n + 64), *p = text;
    /* 100000 empty lines: well under 512 KiB, over 8192 lines. */
    memset(text, '\n', 100000);
    expect_error_n(text, 100000, 14, 0, "more than 8192 lines");
    /* 100000 channels: over the byte cap first. */
    for (int i = 0; i < 100000; i++)
        p += sprintf(p, "Channel = c, /dev/c%06d, 0, 0, 1, 1, 0, 0\n", i);
    expect_error_n(text, (size_t)(p - text), 14, 0, "manifest:");
    free(text);
}

Test(config, thousands_of_channels_and_env)
{
    size_t cap = ZV_CFG_MAX_BYTES;
    char *text = malloc(cap), *p = text;
    zv_cfg_manifest *m;
    int n = 6000;
    p += sprintf(p, "%s", GOOD);
    for (int i = 0; i < n; i++) /* reversed order, so the sort has work */
        p += sprintf(p, "Channel = c, /dev/c%05d, 0, 0, 1, 1, 0, 0\n", n - i);
    for (int i = 0; i < 2000; i++)
        p += sprintf(p, "Env = V%d %d\n", i, i);
    m = parse_ok_n(text, (size_t)(p - text));
    cr_assert_eq(m->n_channels, 3 + (uint32_t)n);
    cr_assert_eq(m->n_env, 2000);
    for (uint32_t i = 4; i < m->n_channels; i++)
        cr_assert_lt(strcmp(m->channels[i - 1].alias, m->channels[i].alias), 0);
    cr_assert_eq(zv_cfg_find_channel(m, "/dev/c06000"), (int)m->n_channels - 1);
    zv_cfg_free(m);
    /* The same alias 6000 times: the second one is the error. */
    p = text + sprintf(text, "%s", GOOD);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "Channel = c, /dev/same, 0, 0, 1, 1, 0, 0\n");
    expect_error_n(text, (size_t)(p - text), 14, 9, "Channel: duplicated alias (first on line 8)");
    free(text);
}

Test(config, long_lines_and_long_numbers)
{
    size_t cap = ZV_CFG_MAX_BYTES;
    char *text = malloc(cap);
    zv_cfg_manifest *m;
    size_t n;
    /* A 500000-digit Timeout: out of range, not slow, not a crash. */
    n = (size_t)sprintf(text, V P M STD "Timeout = 1");
    memset(text + n, '7', 500000);
    expect_error_n(text, n + 500000, 14, 7,
                   "Timeout: '17777777777777777777777777777777...' is out");
    /* 500000 leading zeros: octal 5. */
    n = (size_t)sprintf(text, V P M STD "Timeout = ");
    memset(text + n, '0', 500000);
    text[n + 500000] = '5';
    m = parse_ok_n(text, n + 500001);
    cr_assert_eq(m->timeout_s, 5);
    zv_cfg_free(m);
    /* A 500000-byte Program path and 200000 arguments. */
    n = (size_t)sprintf(text, GOOD "Program2 = x\nArgs =");
    for (int i = 0; i < 200000; i++)
        text[n++] = i % 2 ? 'a' : ' ';
    m = parse_ok_n(text, n);
    cr_assert_eq(m->n_args, 100000);
    zv_cfg_free(m);
    n = (size_t)sprintf(text, V M T STD "Program = ");
    memset(text + n, 'p', 500000);
    m = parse_ok_n(text, n + 500000);
    cr_assert_eq(strlen(m->program), 500000);
    zv_cfg_free(m);
    free(text);
}

/* ---- fault injection: every allocation fails once ---- */

/* Fail allocation 1, 2, ... until the parse succeeds; return how many. */
static int parse_under_faults(const char *text)
{
    for (int k = 1;; k++) {
        zv_cfg_manifest *m = (zv_cfg_manifest *)1;
        zv_cfg_err err;
        zv_cfg_test_fail_alloc(k);
        int rc = zv_cfg_parse(text, strlen(text), "/base", &m, &err);
        zv_cfg_test_fail_alloc(0);
        if (rc == 0) {
            zv_cfg_free(m);
            return k;
        }
        cr_assert_eq(rc, -ENOMEM, "allocation %d: rc %d", k, rc);
        cr_assert_null(m);
        cr_assert_str_eq(err.msg, "manifest: out of memory");
    }
}

Test(config, every_allocation_failure_unwinds)
{
    int k;
    cr_assert_gt(parse_under_faults(rich), 20);
    cr_assert_gt(parse_under_faults(GOOD), 5); /* the default Args and Env arrays */
    for (k = 1;; k++) {
        static const char *const args[] = {"a", "b", NULL};
        zv_cfg_instance job = {.program = "p", .input = "i", .output = "o", .errors = "e",
                          .args = args};
        zv_cfg_manifest *m = (zv_cfg_manifest *)1;
        zv_cfg_test_fail_alloc(k);
        int rc = zv_cfg_for_instance(&job, &m);
        zv_cfg_test_fail_alloc(0);
        if (rc == 0) {
            zv_cfg_free(m);
            break;
        }
        cr_assert_eq(rc, -ENOMEM);
        cr_assert_null(m);
    }
    cr_assert_gt(k, 10);
}

Test(config, load_allocation_failure)
{
    char path[128];
    zv_cfg_manifest *m;
    zv_cfg_err err;
    make_tmpdir();
    snprintf(path, sizeof path, "%s/m", tmpdir);
    put_file(path, GOOD, strlen(GOOD));
    for (int k = 1; k <= 3; k++) {
        zv_cfg_test_fail_alloc(k);
        int rc = zv_cfg_load(path, &m, &err);
        zv_cfg_test_fail_alloc(0);
        cr_assert_eq(rc, -ENOMEM, "allocation %d", k);
        cr_assert(strstr(err.msg, "out of memory") || strstr(err.msg, "Cannot allocate"), "%s",
                  err.msg);
    }
    unlink(path);
    rmdir(tmpdir);
}

/* ---- job manifests (daemon mode) ---- */

static zv_cfg_manifest *parse_job(const char *text)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err = {0};
    int rc = zv_cfg_parse_job(text, strlen(text), "/base", &m, &err);
    cr_assert_eq(rc, 0, "rc %d: line %d: %s", rc, err.line, err.msg);
    return m;
}

Test(config, a_job_needs_only_its_channels)
{
    zv_cfg_manifest *j = parse_job(STD);
    cr_assert_eq(j->n_channels, 3);
    cr_assert_eq(j->timeout_s, 0, "no Timeout: the daemon's");
    cr_assert_null(j->program);
    zv_cfg_free(j);
    /* Version, Program, Memory and Job are ignored, even when they are wrong */
    j = parse_job("Version = 1\nProgram =\nMemory = lots\nJob = \nTimeout = 3\nNode = 4\n" STD);
    cr_assert_null(j->program);
    cr_assert_null(j->job);
    cr_assert_eq(j->memory_bytes, 0);
    cr_assert_eq(j->timeout_s, 3);
    cr_assert_eq(j->node, 4);
    zv_cfg_free(j);
}

Test(config, a_job_is_checked_like_any_manifest)
{
    zv_cfg_manifest *m = NULL;
    zv_cfg_err err;
    cr_assert_eq(zv_cfg_parse_job(CI CO, strlen(CI CO), NULL, &m, &err), -EINVAL);
    cr_assert_str_eq(err.msg, "Channel: 2 channels, expected at least 3");
    cr_assert_eq(zv_cfg_parse_job(STD "Timeout = 0\n", strlen(STD) + 12, NULL, &m, &err), -EINVAL);
    cr_assert_eq(err.line, 4);
    cr_assert_eq(zv_cfg_parse(STD, strlen(STD), NULL, &m, &err), -EINVAL, "not as a session");
    cr_assert_null(m);
}

Test(config, a_job_must_fit_the_daemon)
{
    static const struct {
        const char *job;
        int line;
        const char *msg;
    } cases[] = {
        {STD, 0, "Channel: /dev/rules missing (the daemon's manifest has it on line 8)"},
        {STD "Channel = r, /dev/rules, 1, 0, 10, 100, 0, 0\n", 4,
         "Channel: /dev/rules: type 1, the daemon's is 0"},
        {STD "Channel = r, /dev/rules, 0, 0, 10, 101, 0, 0\n", 4,
         "Channel: /dev/rules: limit 2 is 101, the daemon's is 100"},
        {CI "Channel = out.txt, /dev/stdout, 0, 0, 0, 0, 1, 2\n" CE
            "Channel = r, /dev/rules, 0, 0, 10, 100, 0, 0\n", 2,
         "Channel: /dev/stdout: limit 4 is 2, the daemon's is 1"},
        {STD "Channel = r, /dev/rules, 0, 0, 10, 100, 0, 0\nChannel = x, /dev/x, 0, 0, 1, 1, 0, 0\n",
         5, "Channel: /dev/x: the daemon's manifest has no such channel"},
    };
    zv_cfg_manifest *d = parse_ok(GOOD "Channel = rules.txt, /dev/rules, 0, 0, 10, 100, 0, 0\n");
    zv_cfg_err err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zv_cfg_manifest *j = parse_job(cases[i].job);
        cr_assert_eq(zv_cfg_job_fits(d, j, &err), -EINVAL, "case %zu fits", i);
        cr_assert_str_eq(err.msg, cases[i].msg, "case %zu", i);
        cr_assert_eq(err.line, cases[i].line, "case %zu: line %d", i, err.line);
        cr_assert_eq(err.exit_code, ZV_CFG_EXIT_MANIFEST);
        zv_cfg_free(j);
    }
    {
        /* other sources, tags and order are the job's own */
        zv_cfg_manifest *j = parse_job("Channel = other.txt, /dev/rules, 0, 1, 10, 100, 0, 0\n"
                                       "Channel = a, /dev/stdin, 0, 1, 1, 1, 0, 0\n"
                                       "Channel = b, /dev/stdout, 0, 0, 0, 0, 1, 1\n" CE);
        cr_assert_eq(zv_cfg_job_fits(d, j, &err), 0, "%s", err.msg);
        zv_cfg_free(j);
    }
    zv_cfg_free(d);
}
