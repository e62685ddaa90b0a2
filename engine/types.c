/*
 * types.c — the process-wide registry of function signatures. Each distinct
 * signature gets one small integer id, so call_indirect compares one word
 * across modules (Wasm core §4.4.8 compares types structurally). Filled
 * when modules load, never on the per-instance path; guarded by one mutex.
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

uint32_t zv_eng_type_id(const uint8_t *params, uint32_t n_params, const uint8_t *results,
                        uint32_t n_results)
{
    size_t len = (size_t)n_params + 1 + n_results;
    char *key = malloc(len);
    uint32_t id = 0;
    if (!key)
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
