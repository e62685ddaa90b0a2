/*
 * validator.h — the security gate: decode and validate a WebAssembly core 2.0
 * binary module (and the exception handling instructions clang emits for
 * setjmp/longjmp), check it against a policy, and describe it for the
 * engine.
 *
 * Nothing else in zvm touches untrusted wasm bytes before zv_val_module_new()
 * says yes. Validation is one pass over the bytes; the only allocations are
 * the module description (bounded by the input size, counts are checked
 * against the remaining bytes first) and the type-checker's stacks, which
 * grow geometrically and are reused across function bodies.
 *
 * The instruction decoder (zv_val_op_next) is public so that the translator
 * walks code with exactly the decoder that validated it.
 */
#ifndef ZV_VALIDATOR_H
#define ZV_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

/* Value types, by their binary encoding (Wasm core §5.3.1). */
enum {
    ZV_I32 = 0x7f,
    ZV_I64 = 0x7e,
    ZV_F32 = 0x7d,
    ZV_F64 = 0x7c,
    ZV_V128 = 0x7b,
    ZV_FUNCREF = 0x70,
    ZV_EXTERNREF = 0x6f,
};

/* Extern kinds, by encoding (§5.5.5). */
enum { ZV_EXT_FUNC = 0, ZV_EXT_TABLE = 1, ZV_EXT_MEMORY = 2, ZV_EXT_GLOBAL = 3, ZV_EXT_TAG = 4 };

/* Opcodes. Single-byte opcodes keep their byte; prefixed ones are
 * (prefix << 8 | subopcode), e.g. 0xfc08 memory.init, 0xfd0c v128.const. */
typedef enum {
#define ZV_OP(code, id, name, imm, sig) ZV_OP_##id = code,
#include "opcodes.def"
#undef ZV_OP
} zv_val_opcode;

/* Immediate kinds of instructions (which fields of zv_val_op are set). */
typedef enum {
    ZV_IMM_NONE,
    ZV_IMM_BLOCK,    /* block type in .block */
    ZV_IMM_IDX,      /* one index in .idx (label, func, local, global, table, elem, data) */
    ZV_IMM_IDX2,     /* two indices: .idx, .idx2 (call_indirect type/table, table.copy ...) */
    ZV_IMM_BR_TABLE, /* .idx = number of targets; targets read with zv_val_br_table_next */
    ZV_IMM_MEM,      /* memarg in .align, .offset */
    ZV_IMM_MEM_LANE, /* memarg and .lane */
    ZV_IMM_LANE,     /* .lane */
    ZV_IMM_ZERO,     /* a reserved 0x00 byte (memory index) */
    ZV_IMM_ZERO2,    /* two reserved 0x00 bytes (memory.copy) */
    ZV_IMM_IDX_ZERO, /* .idx then a reserved 0x00 (memory.init) */
    ZV_IMM_I32,      /* .i64 holds the sign-extended value */
    ZV_IMM_I64,
    ZV_IMM_F32, /* .bits32 */
    ZV_IMM_F64, /* .bits64 */
    ZV_IMM_V128, /* .v128 */
    ZV_IMM_SHUFFLE, /* .v128 holds 16 lane indices */
    ZV_IMM_REFTYPE, /* .idx holds the reference type */
    ZV_IMM_SELECT_T, /* typed select: .idx holds the single value type */
} zv_val_imm;

/* Block type: either empty, one value type, or an index into the types. */
typedef struct {
    int32_t kind;   /* 0 = empty, 1 = single value type, 2 = type index */
    uint32_t value; /* the value type or the type index */
} zv_val_blocktype;

/* One decoded instruction. */
typedef struct {
    uint16_t op;     /* zv_val_opcode */
    uint8_t lane;    /* lane index for lane instructions */
    uint32_t idx;    /* first index immediate */
    uint32_t idx2;   /* second index immediate */
    uint32_t align;  /* memarg alignment exponent */
    uint32_t offset; /* memarg offset */
    int64_t i64;     /* integer constants, sign-extended */
    uint32_t bits32; /* f32 constant bits */
    uint64_t bits64; /* f64 constant bits */
    uint8_t v128[16];
    zv_val_blocktype block;
    const uint8_t *targets; /* br_table: first target byte */
} zv_val_op;

/* Error record: filled on failure, never allocated. */
typedef struct {
    size_t offset;  /* byte offset in the module */
    int malformed;  /* 1: binary format error, 0: validation error */
    char msg[192];  /* the cause */
} zv_val_err;

/* Function type; params and results point into the module's storage. */
typedef struct {
    uint32_t n_params, n_results;
    const uint8_t *params, *results;
} zv_val_functype;

typedef struct {
    uint32_t min, max; /* in pages (memory) or elements (table) */
    int has_max;
} zv_val_limits;

typedef struct {
    uint8_t elem_type; /* ZV_FUNCREF or ZV_EXTERNREF */
    zv_val_limits limits;
} zv_val_table;

typedef struct {
    uint8_t type;
    uint8_t mutable_;
} zv_val_globaltype;

/* A decoded constant expression (§3.3.10). */
typedef enum {
    ZV_CONST_I32,
    ZV_CONST_I64,
    ZV_CONST_F32,
    ZV_CONST_F64,
    ZV_CONST_V128,
    ZV_CONST_REF_NULL,
    ZV_CONST_REF_FUNC,
    ZV_CONST_GLOBAL_GET,
} zv_val_const_kind;

typedef struct {
    uint8_t kind;  /* zv_val_const_kind */
    uint8_t type;  /* the value type the expression produces */
    uint32_t idx;  /* function (ref.func) or global (global.get) index */
    uint64_t bits; /* integer or float bits */
    uint8_t v128[16];
} zv_val_const;

typedef struct {
    const char *module, *name; /* not NUL-terminated, see lengths */
    uint32_t module_len, name_len;
    uint8_t kind; /* ZV_EXT_* */
    uint32_t index; /* index within its kind's space */
} zv_val_import;

typedef struct {
    const char *name;
    uint32_t name_len;
    uint8_t kind;
    uint32_t index;
} zv_val_export;

typedef struct {
    zv_val_globaltype type;
    int imported;
    zv_val_const init; /* defined globals only */
} zv_val_global;

/* An exception tag (the exception handling proposal, the instructions
 * clang emits: see code.c): its values are its type's parameters, and
 * the type has no results. */
typedef struct {
    uint32_t type_idx;
    int imported;
} zv_val_tag;

typedef struct {
    uint32_t type_idx;
    int imported;
    /* Defined functions only: */
    uint32_t locals_offset; /* byte offset of the locals declarations */
    uint32_t code_offset;   /* byte offset of the first instruction */
    uint32_t code_end;      /* byte offset just past the final `end` */
    uint32_t n_locals;      /* declared locals, parameters excluded */
    uint32_t max_height;    /* the operand stack's maximum height */
} zv_val_func;

enum { ZV_SEG_ACTIVE = 0, ZV_SEG_PASSIVE = 1, ZV_SEG_DECLARATIVE = 2 };

typedef struct {
    uint8_t mode;       /* ZV_SEG_* */
    uint8_t elem_type;  /* ZV_FUNCREF or ZV_EXTERNREF */
    uint32_t table;     /* active only */
    zv_val_const offset; /* active only */
    uint32_t n_items;
    zv_val_const *items; /* ref.func, ref.null or global.get */
} zv_val_elem;

typedef struct {
    uint8_t mode; /* ZV_SEG_ACTIVE or ZV_SEG_PASSIVE */
    zv_val_const offset;
    const uint8_t *bytes;
    uint32_t size_bytes;
} zv_val_data;

/* The module description. Immutable after zv_val_module_new returns; it
 * borrows the wasm bytes, which must outlive it. */
typedef struct {
    const uint8_t *bytes;
    size_t size_bytes;
    uint8_t sha256[32];

    uint32_t n_types;
    zv_val_functype *types;
    uint32_t n_imports;
    zv_val_import *imports;
    uint32_t n_funcs, n_imported_funcs;
    zv_val_func *funcs;
    uint32_t n_tables, n_imported_tables;
    zv_val_table *tables;
    uint32_t n_memories, n_imported_memories;
    zv_val_limits *memories;
    uint32_t n_globals, n_imported_globals;
    zv_val_global *globals;
    uint32_t n_tags, n_imported_tags;
    zv_val_tag *tags;
    uint32_t n_exports;
    zv_val_export *exports;
    int64_t start; /* function index, or -1 */
    /* C.refs, per function: 1 if a funcref may name it (exported, in an
     * element segment or a constant expression), which ref.func requires */
    uint8_t *refs;
    uint32_t n_elems;
    zv_val_elem *elems;
    uint32_t n_datas;
    zv_val_data *datas;
    int has_data_count;
    /* zvm's custom section `zvm.mount` (the images the module asks to be
     * mounted, engine.h zv_eng_module_mounts): its payload, unchecked, or
     * NULL; n_zvm_mount counts such sections (only one is accepted). */
    const uint8_t *zvm_mount;
    uint32_t zvm_mount_len, n_zvm_mount;
} zv_val_module;

/* Decode and validate `bytes`. Returns 0 and sets *out (free with
 * zv_val_module_free), or a negative errno: -EINVAL with *err filled when
 * the module is malformed or invalid, -ENOMEM when allocation fails.
 * The module borrows `bytes`. */
int zv_val_module_new(const uint8_t *bytes, size_t size_bytes, zv_val_module **out,
                      zv_val_err *err);
/* The same, except that function bodies' instructions are not
 * type-checked (their locals and extents are): only for bytes whose
 * validated native code is in hand, i.e. a verified cache entry keyed by
 * their hash. Never a substitute for zv_val_module_new on new bytes.
 * sha256: the bytes' SHA-256 as the caller knows it for certain (a record
 * of a full hash of the same file, unchanged since), or NULL: hashed.
 * code_absent: the code section's contents were not read either (a module
 * file read in outline, which needs sha256); its functions then have no
 * locals or extents (zv_val_func's last five fields are 0). */
int zv_val_module_decode(const uint8_t *bytes, size_t size_bytes, const uint8_t *sha256,
                         int code_absent, zv_val_module **out, zv_val_err *err);
void zv_val_module_free(zv_val_module *m);

/* Policy: what zvm accepts beyond the spec rules. Pure data. */
typedef struct {
    const char *module; /* import module name */
    const char *name;   /* field name, or NULL for any field of that module */
} zv_val_import_rule;

typedef struct {
    const zv_val_import_rule *imports;
    uint32_t n_imports;
    uint32_t max_memory_pages; /* bound on a memory's initial pages (growth is capped at run time) */
    uint32_t max_table_elems;
    uint32_t max_funcs, max_globals, max_tables, max_data_segments, max_elem_segments, max_tags;
    uint32_t max_exports, max_imports;
} zv_val_policy;

/* SHA-256 (hash.c, our own; the SHA extensions when the CPU has them):
 * the content hash of modules, channel etags, cache marks. One shot
 * (returns 0), or streaming: init, update as often as needed, final. */
int zv_val_sha256(const uint8_t *bytes, size_t n, uint8_t out[32]);
typedef struct {
    uint32_t h[8];
    uint64_t bytes;
    uint32_t n;           /* bytes waiting in buf */
    uint8_t buf[64];
} zv_val_sha256_ctx;
void zv_val_sha256_init(zv_val_sha256_ctx *c);
void zv_val_sha256_update(zv_val_sha256_ctx *c, const void *data, size_t n);
void zv_val_sha256_final(zv_val_sha256_ctx *c, uint8_t out[32]);
/* HMAC-SHA256 (RFC 2104). */
void zv_val_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t n,
                        uint8_t out[32]);
/* Tests: 1 forces the portable code, 0 lets the CPU decide. */
void zv_val_sha256_portable(int on);

/* The most elements a table may have, initially or after table.grow: the
 * default policy's bound and the engine's run-time cap (10M references,
 * 80 MB). */
#define ZV_VAL_MAX_TABLE_ELEMS 10000000u

/* The default: imports only from `zvm` and `wasi_snapshot_preview1`. */
extern const zv_val_policy zv_val_default_policy;

/* Check `m` against `p`. Returns 0, or -EPERM with *err naming the
 * offending import or limit. */
int zv_val_check_policy(const zv_val_module *m, const zv_val_policy *p, zv_val_err *err);

/* Instruction decoding, shared by the validator and the translator.
 * Decodes the instruction at *pos (< end), fills *op and advances *pos.
 * Returns 0, or -EINVAL with *err set for malformed bytes. `base` is the
 * module's first byte, used only for error offsets. */
int zv_val_op_next(const uint8_t *base, const uint8_t **pos, const uint8_t *end, zv_val_op *op,
                   zv_val_err *err);

/* br_table targets: reads one label index at *pos (validated code only). */
uint32_t zv_val_br_table_next(const uint8_t **pos);

/* Opcode metadata, from the opcode table. NULL/NONE for unknown codes. */
const char *zv_val_op_name(uint16_t op);
zv_val_imm zv_val_op_imm(uint16_t op);
/* Plain instructions (numeric, memory, SIMD): fills the operand types
 * popped, bottom first, and the result pushed (0: none); returns the
 * number popped. Returns -1 for instructions typed case by case
 * (control, variables, references, tables, calls). */
int zv_val_op_sig(uint16_t op, uint8_t pops[3], uint8_t *push);

/* Locals of a defined function: calls fn(type, count, arg) per declaration
 * run, in order. Validated modules only. */
void zv_val_func_locals(const zv_val_module *m, uint32_t func,
                        void (*fn)(uint8_t type, uint32_t count, void *arg), void *arg);

/* The name of a value type ("i32", ...). */
const char *zv_val_type_name(uint8_t type);

/* Fault injection for tests: the n-th allocation from now fails
 * (n <= 0 disables). Test-only, process-wide. */
void zv_val_test_fail_alloc(long n);

#endif
