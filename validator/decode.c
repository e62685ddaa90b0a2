/*
 * decode.c — one instruction at a time, from bytes to zv_val_op.
 *
 * The opcode table (opcodes.def) is data: it gives each instruction its
 * name, its immediate kind and, for the simple ones, its signature. The
 * decoder only checks the binary format (§5.4); typing is code.c's job.
 * The translator calls the same function, so what was validated is exactly
 * what gets translated.
 */
#include "internal.h"

#include <string.h>

const zv_op_info zv_op_table[ZV_OP_INDEX_MAX] = {
#define ZV_OP(code, id, name, imm, sig) [ZV_OP_INDEX(code)] = {name, ZV_IMM_##imm, ZV_SIG_##sig},
#include "opcodes.def"
#undef ZV_OP
};

const zv_sig_info zv_sig_table[] = {
#define X(id, n, a, b, c, r) {n, {a, b, c}, r},
    ZV_SIGS(X)
#undef X
};

static int op_index(uint32_t code)
{
    if (code < 0x100)
        return (int)code;
    if ((code >> 8) == 0xfc && (code & 0xff) < 0x20)
        return ZV_OP_INDEX(code);
    if ((code >> 8) == 0xfd)
        return ZV_OP_INDEX(code);
    return -1;
}

const char *zv_val_op_name(uint16_t op)
{
    int i = op_index(op);
    return i < 0 ? NULL : zv_op_table[i].name;
}

zv_val_imm zv_val_op_imm(uint16_t op)
{
    int i = op_index(op);
    return i < 0 ? ZV_IMM_NONE : (zv_val_imm)zv_op_table[i].imm;
}

int zv_val_op_sig(uint16_t op, uint8_t pops[3], uint8_t *push)
{
    int i = op_index(op);
    const zv_sig_info *s;
    if (i < 0 || !zv_op_table[i].name || zv_op_table[i].sig == ZV_SIG_x)
        return -1;
    s = &zv_sig_table[zv_op_table[i].sig];
    memcpy(pops, s->pops, 3);
    *push = s->push;
    return s->n_pops;
}

/* Name the proposal an opcode belongs to, for a helpful rejection. */
static const char *unsupported_feature(uint32_t prefix, uint32_t sub)
{
    if (prefix == 0xfe)
        return "threads";
    if (prefix == 0xfb)
        return "garbage collection";
    if (prefix == 0xfd && sub >= 0x100)
        return "relaxed SIMD";
    if (prefix == 0xfc && sub >= 0x12)
        return "memory64, multi-memory or wide arithmetic"; /* post-2.0 0xfc opcodes */
    switch (prefix) {
    case 0x0a: case 0x1f: /* throw_ref, try_table: clang 14 emits neither */
        return "exception handling (exnref: throw_ref, try_table)";
    case 0x12: case 0x13:
        return "tail calls";
    case 0x14: case 0x15: case 0xd3: case 0xd4: case 0xd5: case 0xd6:
        return "typed function references";
    default:
        return NULL;
    }
}

static int read_block_type(zv_rd *rd, zv_val_op *op)
{
    const uint8_t *at = rd->p;
    int64_t v;
    int rc;
    if (rd->p < rd->end) {
        uint8_t b = *rd->p;
        if (b == 0x40) {
            rd->p++;
            op->block.kind = 0;
            return 0;
        }
        if (zv_is_valtype(b)) {
            rd->p++;
            op->block.kind = 1;
            op->block.value = b;
            return 0;
        }
    }
    if ((rc = zv_rd_s33(rd, &v)))
        return rc;
    if (v < 0)
        return ZV_MALFORMED(rd, at, "malformed block type");
    op->block.kind = 2;
    op->block.value = (uint32_t)v;
    return 0;
}

static int read_zero(zv_rd *rd)
{
    const uint8_t *at = rd->p;
    uint8_t b;
    int rc = zv_rd_byte(rd, &b);
    if (rc)
        return rc;
    if (b != 0)
        return ZV_MALFORMED(rd, at, "zero byte expected (multiple memories are not supported)");
    return 0;
}

static int read_br_table(zv_rd *rd, zv_val_op *op)
{
    uint32_t n, label;
    int rc;
    if ((rc = zv_rd_count(rd, 1, &n)))
        return rc;
    op->idx = n;
    op->targets = rd->p;
    for (uint64_t i = 0; i <= n; i++) /* the targets, then the default */
        if ((rc = zv_rd_u32(rd, &label)))
            return rc;
    return 0;
}

static int read_imm(zv_rd *rd, zv_val_op *op, zv_val_imm imm)
{
    const uint8_t *bytes;
    int32_t v32;
    int rc = 0;
    switch (imm) {
    case ZV_IMM_NONE:
        return 0;
    case ZV_IMM_BLOCK:
        return read_block_type(rd, op);
    case ZV_IMM_IDX:
        return zv_rd_u32(rd, &op->idx);
    case ZV_IMM_IDX2:
        if ((rc = zv_rd_u32(rd, &op->idx)))
            return rc;
        return zv_rd_u32(rd, &op->idx2);
    case ZV_IMM_BR_TABLE:
        return read_br_table(rd, op);
    case ZV_IMM_MEM:
    case ZV_IMM_MEM_LANE:
        if ((rc = zv_rd_u32(rd, &op->align)) || (rc = zv_rd_u32(rd, &op->offset)))
            return rc;
        if (imm == ZV_IMM_MEM)
            return 0;
        /* fall through */
    case ZV_IMM_LANE:
        return zv_rd_byte(rd, &op->lane);
    case ZV_IMM_ZERO:
        return read_zero(rd);
    case ZV_IMM_ZERO2:
        if ((rc = read_zero(rd)))
            return rc;
        return read_zero(rd);
    case ZV_IMM_IDX_ZERO:
        if ((rc = zv_rd_u32(rd, &op->idx)))
            return rc;
        return read_zero(rd);
    case ZV_IMM_I32:
        if ((rc = zv_rd_s32(rd, &v32)))
            return rc;
        op->i64 = v32;
        return 0;
    case ZV_IMM_I64:
        return zv_rd_s64(rd, &op->i64);
    case ZV_IMM_F32:
        if ((rc = zv_rd_bytes(rd, 4, &bytes)))
            return rc;
        memcpy(&op->bits32, bytes, 4); /* wasm and x86-64 are little-endian */
        return 0;
    case ZV_IMM_F64:
        if ((rc = zv_rd_bytes(rd, 8, &bytes)))
            return rc;
        memcpy(&op->bits64, bytes, 8);
        return 0;
    case ZV_IMM_V128:
    case ZV_IMM_SHUFFLE:
        if ((rc = zv_rd_bytes(rd, 16, &bytes)))
            return rc;
        memcpy(op->v128, bytes, 16);
        return 0;
    case ZV_IMM_REFTYPE: {
        uint8_t t;
        if ((rc = zv_rd_reftype(rd, &t)))
            return rc;
        op->idx = t;
        return 0;
    }
    case ZV_IMM_SELECT_T: {
        const uint8_t *at = rd->p;
        uint8_t t;
        if ((rc = zv_rd_u32(rd, &op->idx)))
            return rc;
        if (op->idx != 1)
            return ZV_INVALID(rd, at, "invalid result arity: typed select takes exactly one type");
        if ((rc = zv_rd_valtype(rd, &t)))
            return rc;
        op->idx = t;
        return 0;
    }
    }
    return rc;
}

int zv_val_op_next(const uint8_t *base, const uint8_t **pos, const uint8_t *end, zv_val_op *op,
                   zv_val_err *err)
{
    zv_rd rd = {base, *pos, end, err};
    const uint8_t *at = rd.p;
    uint32_t code, sub = 0;
    uint8_t b;
    int rc, i;

    if ((rc = zv_rd_byte(&rd, &b)))
        return rc;
    code = b;
    if (b == 0xfc || b == 0xfd || b == 0xfe || b == 0xfb) {
        if ((rc = zv_rd_u32(&rd, &sub)))
            return rc;
        code = sub < 0x100 ? (uint32_t)b << 8 | sub : 0xffffffff;
    }
    i = code == 0xffffffff ? -1 : op_index(code);
    if (i < 0 || !zv_op_table[i].name) {
        const char *feature = unsupported_feature(b, sub);
        if (feature)
            return ZV_MALFORMED(&rd, at, "illegal opcode 0x%02x%s: the %s proposal is not supported",
                                b, b >= 0xfb ? " (prefixed)" : "", feature);
        return ZV_MALFORMED(&rd, at, "illegal opcode 0x%02x 0x%x", b, sub);
    }
    op->op = (uint16_t)code;
    if ((rc = read_imm(&rd, op, (zv_val_imm)zv_op_table[i].imm)))
        return rc;
    *pos = rd.p;
    return 0;
}

uint32_t zv_val_br_table_next(const uint8_t **pos)
{
    uint32_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = *(*pos)++;
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}
