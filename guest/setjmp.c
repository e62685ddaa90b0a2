/*
 * setjmp.c — the runtime functions clang 14 calls for setjmp and longjmp
 * with -mexception-handling -mllvm -wasm-enable-sjlj (LLVM's
 * WebAssemblyLowerEmscriptenEHSjLj, wasm-ld imports them from "env"):
 *
 *   at entry of a function that calls setjmp:
 *       table = malloc(40); table[0] = 0; size = 4;
 *   at each setjmp(env), label L (its call site, from 1):
 *       table = saveSetjmp(env, L, table, size); size = getTempRet0();
 *   longjmp(env, val):
 *       __wasm_longjmp(env, val): throw __c_longjmp with &{env, val}
 *   at a catch of __c_longjmp around the calls that may longjmp:
 *       L = testSetjmp(*env, table, size);
 *       L == 0: free(table), __wasm_longjmp(env, val) again (not ours)
 *       else setjmp call site L returns val
 *   at exit: free(table).
 *
 * clang never looks inside the table or at `size` but to pass them back,
 * so both are ours to define. Emscripten's runtime, the model, scans the
 * table for its first free entry at every setjmp and for the id at every
 * longjmp, and adds an entry at every setjmp: N setjmps in one call cost
 * N^2 (25k/50k/100k took 0.32, 1.05 and 4.06 s, issue 28) and N entries.
 * Here:
 * - `size` is 4 + the entries in use, so a setjmp appends in O(1) (the
 *   table's capacity follows from that count: what clang's malloc(40)
 *   holds, then powers of two);
 * - ids grow with every setjmp, so a table is sorted by id and a longjmp
 *   finds its entry by binary search, the latest first (a loop's setjmp
 *   is the one it jumps back to). Ids are compared as offsets from the
 *   table's first one, so the counter may wrap (after 2^32 setjmps; 0 is
 *   skipped: a zeroed jmp_buf matches nothing);
 * - an entry keeps its jmp_buf's address, and a setjmp into a jmp_buf that
 *   already has the table's entry (the loop again) takes that entry over:
 *   a jmp_buf holds its latest setjmp only, so the old one was dead, and
 *   a loop of setjmps keeps one entry instead of growing the table by one
 *   per round (10M rounds: 80 MB). A jmp_buf's old id is looked up, and
 *   trusted only with its address, as it may be garbage.
 *
 * One instance runs one thread: the counter and __wasm_longjmp's
 * arguments are plain statics.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t id, label;
    const void *env;
} entry;

static uint32_t last_id;
static uint32_t temp_ret0;

/* The entries a table with `used` of them in use has room for: what
 * clang's malloc(40) holds, then powers of two. */
static uint32_t capacity(uint32_t used)
{
    if (used <= 40 / sizeof(entry))
        return 40 / sizeof(entry);
    return 2u << (31 - __builtin_clz(used - 1));
}

entry *saveSetjmp(uint32_t *env, uint32_t label, entry *table, uint32_t size);
uint32_t testSetjmp(uint32_t id, const entry *table, uint32_t size);
uint32_t getTempRet0(void);
void setTempRet0(uint32_t value);
_Noreturn void __wasm_longjmp(jmp_buf env, int val);

/* The entry of id in table (used entries), or NULL. */
static const entry *find(uint32_t id, const entry *table, uint32_t used)
{
    uint32_t lo = 0, hi, want;
    if (used == 0 || id == 0)
        return NULL;
    if (table[used - 1].id == id)
        return &table[used - 1];
    want = id - table[0].id;
    hi = used - 1; /* [lo, hi): the entry at hi was checked */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2, at = table[mid].id - table[0].id;
        if (at == want)
            return &table[mid];
        if (at < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

entry *saveSetjmp(uint32_t *env, uint32_t label, entry *table, uint32_t size)
{
    uint32_t used = size - 4;
    entry *e = used && table[used - 1].env == env ? &table[used - 1] /* a loop's */
                                                   : (entry *)find(*env, table, used);
    temp_ret0 = size;
    if (e && e->env == env && e->id == *env) { /* this jmp_buf's: now this setjmp's */
        e->label = label;
        return table;
    }
    if (capacity(used + 1) > capacity(used) &&
        !(table = realloc(table, (size_t)capacity(used + 1) * sizeof *table)))
        abort(); /* as a failed malloc in clang's own prologue would */
    if (++last_id == 0)
        last_id = 1;
    *env = last_id;
    table[used] = (entry){last_id, label, env};
    temp_ret0 = size + 1;
    return table;
}

uint32_t testSetjmp(uint32_t id, const entry *table, uint32_t size)
{
    const entry *e = find(id, table, size - 4);
    return e ? e->label : 0;
}

uint32_t getTempRet0(void) { return temp_ret0; }
void setTempRet0(uint32_t value) { temp_ret0 = value; }

/* What the catch reads: the jmp_buf, then the value setjmp returns. */
static struct {
    void *env;
    int val;
} longjmp_args;

void __wasm_longjmp(jmp_buf env, int val)
{
    longjmp_args.env = env;
    longjmp_args.val = val ? val : 1; /* C11 7.13.2.1: setjmp never returns 0 twice */
    __builtin_wasm_throw(1, &longjmp_args); /* 1: C's tag, __c_longjmp */
    __builtin_unreachable();
}

/* clang turns every longjmp it sees into __wasm_longjmp; this one is for
 * objects built without -wasm-enable-sjlj and for longjmp's address. */
void longjmp(jmp_buf env, int val) { __wasm_longjmp(env, val); }
