/*
 * config.h — the manifest (ZeroVM format, version 20130611): parse, check,
 * write. One `Key = Value` per line, keys case-sensitive, whitespace
 * trimmed; a line with no `=` or more than one `=`, or an unknown key, is
 * ignored. Integers are read base-0 (decimal, 0x, octal) and trailing junk
 * is an error. Every error names the manifest line and key and carries
 * ZeroVM's exit code.
 *
 * Keys: Version (= 20130611, required), Program (required), Memory =
 * bytes, etag (required), Timeout (seconds >= 1, required), Channel = uri,
 * alias, type, etag, gets, getsize, puts, putsize (at least the three
 * standard channels), Node, Job, Etag (optional); zvm's additions: Args,
 * Env (may repeat), Seed, Time, Mount = ALIAS, PATH (may repeat: the tar
 * image in channel ALIAS appears read-only at the absolute PATH of the
 * guest's in-memory file system, as ZRT's fstab did).
 */
#ifndef ZV_CONFIG_H
#define ZV_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* ZeroVM's exit codes for a session that cannot start. */
enum {
    ZV_CFG_EXIT_MANIFEST = 14,    /* missing/duplicated key, bad value, bad channel */
    ZV_CFG_EXIT_NO_PROGRAM = 2,   /* Program file missing (checked by the caller) */
    ZV_CFG_EXIT_INVALID = 8,      /* Program fails validation (checked by the caller) */
    ZV_CFG_EXIT_MEMORY = 12,      /* bad Memory size */
    ZV_CFG_EXIT_ZERO_LIMITS = 22, /* a channel whose four limits are all zero */
    ZV_CFG_EXIT_SOURCE = 93,      /* a channel source of an unsupported kind (caller) */
};

/* The standard channels' aliases, in guest order: /dev/stdin, /dev/stdout,
 * /dev/stderr. */
extern const char *const zv_cfg_std_alias[3];

/* Limits and counters are indexed alike. */
enum { ZV_CFG_GETS = 0, ZV_CFG_GETSIZE = 1, ZV_CFG_PUTS = 2, ZV_CFG_PUTSIZE = 3 };

/* Channel types: bit 0 = random read, bit 1 = random write. */
enum {
    ZV_CFG_SEQ_SEQ = 0,   /* sequential read, sequential write */
    ZV_CFG_RND_SEQ = 1,   /* random read, sequential write (append) */
    ZV_CFG_SEQ_RND = 2,   /* sequential read, random write */
    ZV_CFG_RND_RND = 3,   /* random read, random write */
};

typedef struct {
    char *uri;         /* the host source: a path (relative to the manifest's folder) */
    char *alias;       /* the name the guest sees, e.g. /dev/stdin */
    int type;          /* ZV_CFG_SEQ_SEQ .. ZV_CFG_RND_RND */
    int etag;          /* 1: report the SHA-256 of the bytes through it */
    int64_t limits[4]; /* gets, getsize, puts, putsize */
    int line;          /* manifest line it came from */
    int host_fd;       /* > 2: share this open descriptor instead of opening uri
                        * (zvm job's pipes; set after parsing, never from text) */
} zv_cfg_channel;

typedef struct {
    char *alias;            /* a readable channel holding a tar image */
    char *path;             /* where it appears: absolute, normalised (no "." or "..") */
    int line;
} zv_cfg_mount;

typedef struct {
    char *program;          /* path of the .wasm, as written */
    uint64_t memory_bytes;  /* Memory: the guest's memory limit */
    int memory_etag;
    uint32_t timeout_s;
    /* Channels in guest order: /dev/stdin, /dev/stdout, /dev/stderr,
     * then the rest sorted by alias. */
    zv_cfg_channel *channels;
    uint32_t n_channels;
    int64_t node;           /* Node, 0 when absent */
    char *job;              /* Job, NULL when absent */
    int etag;               /* Etag, 1 when absent: 0 turns every etag off */
    char **args;            /* Args: the guest's argv (NULL-terminated) */
    uint32_t n_args;
    char **env;             /* Env: "NAME=value" strings (NULL-terminated) */
    uint32_t n_env;
    uint64_t seed;          /* Seed of the random stream, 0 when absent */
    uint64_t time_s;        /* Time: the virtual clock's start (Unix seconds) */
    zv_cfg_mount *mounts;   /* Mount lines, in order */
    uint32_t n_mounts;
    char *dir;              /* folder of the manifest file ("." for text) */
    /* Host directories preopened for the guest, "HOST[::GUEST[:ro]]" as
     * wasmtime's --dir (":ro": read-only): set by `zvm run PROG.wasm` and
     * by pools (zvm_pool_config.dirs), never by a manifest (borrowed;
     * zv_cfg_free leaves them). */
    char *const *dirs;
    uint32_t n_dirs;
    int dirs_ro;            /* every one read-only, ":ro" or not (pool records) */
    /* Tar images mounted read-only, "HOSTFILE::GUESTDIR": the module's
     * own (engine.h zv_eng_module_mounts), set by `zvm run PROG.wasm`
     * and pools, never by a manifest (borrowed, as dirs). */
    char *const *images;
    uint32_t n_images;
    int wasi_only;          /* a plain WASI run: the preopens are the dirs alone, no /dev */
} zv_cfg_manifest;

typedef struct {
    int exit_code;  /* ZV_CFG_EXIT_* */
    int line;       /* 1-based manifest line, 0 when not about one line */
    char msg[256];  /* "FILE:<line>: <key>: <cause>" is built from these */
} zv_cfg_err;

/* Parse and check manifest text (len bytes, need not be NUL-terminated).
 * `dir` is the folder relative channel paths and Program resolve against
 * (copied; NULL means "."). Returns 0 and *out (free with zv_cfg_free), or
 * -EINVAL with *err filled, or -ENOMEM. In *out, args and env are never
 * NULL (n_args may be 0: Args is the whole argv, as written), and with
 * Etag = 0 every channel etag and memory_etag is already 0. */
int zv_cfg_parse(const char *text, size_t len, const char *dir, zv_cfg_manifest **out,
                 zv_cfg_err *err);
/* A job manifest (daemon mode): the same format, but Version, Program and
 * Memory are ignored (the daemon's count) and Timeout may be left out
 * (timeout_s 0: the daemon's). Only channels, their tags, Timeout and Node
 * are a job's own. */
int zv_cfg_parse_job(const char *text, size_t len, const char *dir, zv_cfg_manifest **out,
                     zv_cfg_err *err);
/* Does a job's manifest fit the daemon's? Every channel must be there
 * with the same alias, type and limits, and no other. Returns 0, or
 * -EINVAL with err naming the job's line and the difference. */
int zv_cfg_job_fits(const zv_cfg_manifest *daemon, const zv_cfg_manifest *job, zv_cfg_err *err);
/* Read and parse a manifest file; Program and channel paths resolve
 * against its folder. -ENOENT/-EIO with err->msg when unreadable. */
int zv_cfg_load(const char *path, zv_cfg_manifest **out, zv_cfg_err *err);
/* The same for a pool's template (zvm batch --manifest): Program may be
 * left out (program NULL), as the module is named on its own. */
int zv_cfg_load_template(const char *path, zv_cfg_manifest **out, zv_cfg_err *err);
void zv_cfg_free(zv_cfg_manifest *m);

/* Resolve `path` against m->dir into out (absolute paths unchanged). A
 * result that does not fit in n bytes comes back as "", never cut. */
void zv_cfg_resolve(const zv_cfg_manifest *m, const char *path, char *out, size_t n);

/* Index of the channel with this alias, or -1. */
int zv_cfg_find_channel(const zv_cfg_manifest *m, const char *alias);

/* The writer: the manifest as text that zv_cfg_parse reads back to an
 * equal manifest. Returns 0, -EIO, or -EINVAL (nothing written) for a
 * manifest the format cannot spell: an empty Args element, an Env entry
 * without "NAME=", or a Program, Job, uri or alias that is empty, holds
 * '=' or a newline (or ',' in a channel field), or starts or ends blank. */
int zv_cfg_write(const zv_cfg_manifest *m, FILE *out);

/* An instance description, for the pool and the tests: the manifest for
 * one instance of `program` with stdin from `input`, stdout to `output`,
 * stderr to `errors`, each limited to `limit_bytes` and 2^31 calls.
 * Returns 0, -ENOMEM. */
typedef struct {
    const char *program;
    const char *input, *output, *errors;
    uint64_t memory_bytes;
    uint32_t timeout_s;
    int64_t limit_bytes;
    const char *const *args; /* NULL-terminated, or NULL */
    uint64_t seed, time_s;
} zv_cfg_instance;
int zv_cfg_for_instance(const zv_cfg_instance *job, zv_cfg_manifest **out);

/* ---- job descriptions (jobdesc.c): `zvm job JOB.json` ----
 * ZeroCloud's servlet format, local subset: a list of nodes, each with
 * name, exec {path, name, args, env}, devices [{name, path}], count,
 * connect, and zvm's memory and timeout. Every node becomes instances
 * ("map-1" ... or the node's name alone), each with its own parsed
 * manifest; each connection between two instances is a pipe, seen as
 * /dev/out/<to> by the writer and /dev/in/<from> by the reader (channels
 * with uri ZV_CFG_PIPE_URI: the runner sets their host_fd). */
#define ZV_CFG_PIPE_URI      "(pipe)"
#define ZV_CFG_JOB_MAX_BYTES (4 * 1024 * 1024)
#define ZV_CFG_JOB_MAX_PIPES 65536
#define ZV_CFG_JOB_PIPE_BYTES (256 * 1024) /* a pipe's buffer: taken from its writer's memory */

typedef struct {
    char *name;             /* "reduce-3", or the node's name when it has one instance */
    uint32_t node;          /* index into nodes */
    zv_cfg_manifest *man;   /* its session */
} zv_cfg_job_instance;

typedef struct {
    uint32_t from, to;      /* instance indexes */
} zv_cfg_job_pipe;

typedef struct {
    char **nodes;           /* node names, in the description's order */
    uint32_t n_nodes;
    zv_cfg_job_instance *inst; /* node by node, each node's in name order */
    uint32_t n_inst;
    zv_cfg_job_pipe *pipes;
    uint32_t n_pipes;
} zv_cfg_jobdesc;

typedef struct {
    uint64_t memory_bytes;  /* a node's memory unless it says */
    uint32_t timeout_s;     /* a node's timeout unless it says */
    const char *outdir;     /* writable devices without a path, and stderr when a node lists
                             * none: NULL is out/ beside the JSON (a relative one is too) */
} zv_cfg_job_opts;

/* Read, check and expand JOB.json (wildcards are matched against the
 * file system now). Returns 0 and *out (zv_cfg_jobdesc_free), or -EINVAL
 * with err->msg naming the JSON path and the cause (err->line: the line
 * in the JSON, 0 when none), -ENOENT, -ENOMEM. */
int zv_cfg_jobdesc_load(const char *path, const zv_cfg_job_opts *o, zv_cfg_jobdesc **out,
                        zv_cfg_err *err);
void zv_cfg_jobdesc_free(zv_cfg_jobdesc *j);

#endif
