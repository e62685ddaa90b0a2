/*
 * map.c — word count, stage 1 of 3 (wordcount.json: map -> reduce -> merge).
 * Reads its text file on /dev/stdin and splits it on ' ' and '\n' only,
 * exactly as `tr -s ' ' '\n' | grep -v '^$'` does: tabs and punctuation
 * belong to the word, empty words are dropped, words have no length limit.
 * A hash table combines repeats, then word w goes to reducer
 * FNV-1a-32(w) % R as a record "COUNT WORD\n", where R is the number of
 * entries of /dev/out and reducer i is the i-th name in sorted order.
 *
 * Cannot deadlock: a map reads nothing from the job, so it can only wait on
 * a full pipe to a reducer, and every reducer reads all of /dev/in/map-* to
 * the end in the same name order. Once maps 1..k-1 have exited, each
 * reducer drains what they left and then reads map k to its end, so map k
 * never waits for good and exits; by induction all maps finish, for any
 * number of maps and reducers. The records are built in memory (the
 * combiner needs the whole file anyway) and each reducer's share is
 * written at the end, reducers in name order.
 */
#include "wordcount.h"

/* Counts the words of stdin into t. Returns 0, or -1 on a read error. */
static int map_count(wc_table *t)
{
    static char chunk[65536]; /* not on the stack: all of wasm32-wasi's is 64 KiB */
    wc_buf word = {0};
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        for (size_t i = 0; i < n; i++) {
            size_t j = i;
            while (j < n && chunk[j] != ' ' && chunk[j] != '\n')
                j++;
            wc_buf_put(&word, chunk + i, j - i);
            if (j == n)
                break; /* the word may go on in the next chunk */
            if (word.len) {
                wc_table_add(t, word.data, word.len, 1);
                word.len = 0;
            }
            i = j;
        }
    }
    if (word.len) /* the last word of a file without a final newline */
        wc_table_add(t, word.data, word.len, 1);
    wc_buf_free(&word);
    return ferror(stdin) ? -1 : 0;
}

/*
 * Writes share[r] to /dev/out/NAMES[r] for each of the n reducers, in
 * order, even after a failure. Returns 0, or -1 after saying why.
 */
static int map_send(const char *self, char **names, const wc_buf *share, size_t n)
{
    int rc = 0;
    for (size_t r = 0; r < n; r++) {
        char *path = wc_path("/dev/out", names[r]);
        FILE *f = fopen(path, "w");
        int ok = f && (!share[r].len || fwrite(share[r].data, 1, share[r].len, f) == share[r].len);
        if (f && fclose(f) != 0)
            ok = 0;
        if (!ok) {
            fprintf(stderr, "%s: %s: %s\n", self, path, strerror(errno));
            rc = -1;
        }
        free(path);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? argv[0] : "map";
    wc_table words = {0};
    char **reducers = NULL;
    size_t n_reducers = 0;
    wc_buf *share = NULL;
    int status = 1, rc;

    if (map_count(&words) < 0) {
        fprintf(stderr, "%s: /dev/stdin: read error\n", self);
        goto out;
    }
    if ((rc = wc_names("/dev/out", &reducers, &n_reducers)) < 0 || n_reducers == 0) {
        fprintf(stderr, "%s: /dev/out: %s\n", self,
                rc < 0 ? strerror(-rc) : "no reducer connected");
        goto out;
    }
    share = wc_realloc(NULL, n_reducers * sizeof *share);
    memset(share, 0, n_reducers * sizeof *share);
    for (size_t i = 0; i < words.cap; i++) {
        const wc_entry *e = &words.slots[i];
        if (e->word)
            wc_record_put(&share[e->hash % n_reducers], e->count, e->word, e->len);
    }
    wc_table_free(&words); /* the shares hold copies: peak memory is about twice the records */
    if (map_send(self, reducers, share, n_reducers) == 0)
        status = 0;
out:
    for (size_t r = 0; share && r < n_reducers; r++)
        wc_buf_free(&share[r]);
    free(share);
    wc_table_free(&words);
    wc_names_free(reducers, n_reducers);
    return status;
}
