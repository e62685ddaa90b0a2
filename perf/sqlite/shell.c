/*
 * shell.c — a small SQLite shell for the large-module benchmark
 * (perf/large.sh): reads SQL from stdin, runs it, prints each row as
 * `|`-separated values. SQLite itself (sqlite3.c) comes from the npm
 * package better-sqlite3 at bench time; it is never committed.
 */
#include "sqlite3.h"

#include <stdio.h>
#include <stdlib.h>

static int print_row(void *arg, int n, char **values, char **names)
{
    (void)arg;
    (void)names;
    for (int i = 0; i < n; i++)
        printf("%s%s", i ? "|" : "", values[i] ? values[i] : "NULL");
    putchar('\n');
    return 0;
}

int main(void)
{
    size_t len = 0, cap = 1 << 16;
    char *sql = malloc(cap), *err = NULL;
    sqlite3 *db;
    size_t got;
    while (sql && (got = fread(sql + len, 1, cap - len - 1, stdin)) > 0)
        if ((len += got) == cap - 1)
            sql = realloc(sql, cap *= 2);
    if (!sql || sqlite3_open(":memory:", &db) != SQLITE_OK) {
        fprintf(stderr, "shell: cannot open a database\n");
        return 1;
    }
    sql[len] = 0;
    if (sqlite3_exec(db, sql, print_row, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "shell: %s\n", err);
        return 1;
    }
    sqlite3_close(db);
    free(sql);
    return 0;
}
