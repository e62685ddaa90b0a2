/*
 * types.c — the process-wide registry of function signatures. Each distinct
 * signature gets one integer id, so call_indirect compares one word
 * across modules (Wasm core §4.4.8 compares types structurally). A short
 * signature's id is its own encoding (zv_eng_type_code), the same in every
 * process, so the translator writes it into the code as a constant; a
 * longer one gets a small number from the registry, filled when modules
 * load, never on the per-instance path, and guarded by one mutex.
 */
#include "engine/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *sig; /* "params:results" as type bytes */
    size_t len;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *table;         /* open addressing; id = slot's insertion order */
static uint32_t *ids;        /* id of each slot, 0 = empty */
static uint32_t cap, count;  /* guarded by lock */

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static int grow(void)
{
    uint32_t ncap = cap ? cap * 2 : 256;
    entry *nt = calloc(ncap, sizeof *nt);
    uint32_t *nids = calloc(ncap, sizeof *nids);
    if (!nt || !nids) {
        free(nt);
        free(nids);
        return -1;
    }
    for (uint32_t i = 0; i < cap; i++) {
        if (!ids[i])
            continue;
        uint64_t h = hash(table[i].sig, table[i].len) & (ncap - 1);
        while (nids[h])
            h = (h + 1) & (ncap - 1);
        nt[h] = table[i];
        nids[h] = ids[i];
    }
    free(table);
    free(ids);
    table = nt;
    ids = nids;
    cap = ncap;
    return 0;
}

/* Bit 31 set; n_params in bits 0-2 and n_results in bits 3-4, then each
 * type in 3 bits from bit 5 on: at most 7 params, 3 results, 8 types in
 * all. Codes and registry numbers (counted from 1) never meet, and two
 * signatures get the same code only if they are equal. Changing it changes
 * the translator's output: bump ZV_TRANSLATOR_VERSION. */
uint32_t zv_eng_type_code(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                          uint32_t n_results)
{
    static const uint8_t types[] = {ZV_I32, ZV_I64, ZV_F32, ZV_F64, ZV_V128, ZV_FUNCREF,
                                    ZV_EXTERNREF};
    uint32_t code = 1u << 31 | n_params | n_results << 3, bit = 5;
    if (n_params > 7 || n_results > 3 || n_params + n_results > 8)
        return 0;
    for (uint32_t i = 0; i < n_params + n_results; i++, bit += 3) {
        uint8_t t = i < n_params ? params[i] : results[i - n_params];
        uint32_t k = 0;
        while (k < sizeof types && types[k] != t)
            k++;
        if (k == sizeof types)
            return 0;
        code |= (k + 1) << bit;
    }
    return code;
}

uint32_t zv_eng_type_id(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                        uint32_t n_results)
{
    size_t len = (size_t)n_params + 1 + n_results;
    uint32_t id = zv_eng_type_code(params, n_params, results, n_results);
    char *key;
    if (id)
        return id;
    if (!(key = malloc(len)))
        return 0;
    memcpy(key, params, n_params);
    key[n_params] = ':';
    memcpy(key + n_params + 1, results, n_results);
    pthread_mutex_lock(&lock);
    if ((count + 1) * 2 > cap && grow() < 0)
        goto out;
    {
        uint64_t h = hash(key, len) & (cap - 1);
        for (; ids[h]; h = (h + 1) & (cap - 1)) {
            if (table[h].len == len && !memcmp(table[h].sig, key, len)) {
                id = ids[h];
                goto out;
            }
        }
        table[h].sig = key;
        table[h].len = len;
        ids[h] = id = ++count;
        key = NULL; /* the table owns it now */
    }
out:
    pthread_mutex_unlock(&lock);
    free(key);
    return id;
}
