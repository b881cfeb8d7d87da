/*
 * Internals shared by the files of the store module.
 */
#ifndef TERN_STORE_PRIVATE_H
#define TERN_STORE_PRIVATE_H

#include <sqlite3.h>

#include "tern/store.h"

#define STORE_STMT_CACHE 96

struct store {
	sqlite3 *db;
	char *path;
	int depth; /* transaction nesting */
	struct {
		const char *sql; /* compared by address: string literals */
		sqlite3_stmt *st;
	} cache[STORE_STMT_CACHE];
	size_t ncache;
};

/*
 * A prepared statement for sql (a string literal), reset and with its
 * bindings cleared, or NULL with cause.
 */
sqlite3_stmt *store_stmt(struct store *s, const char *sql, char **cause);
/* Set cause from the database's last error, prefixed with what; -1. */
int store_error(struct store *s, const char *what, char **cause);
/* Run a statement that returns no rows; 0 or -1 with cause. */
int store_step_done(
    struct store *s, sqlite3_stmt *st, const char *what, char **cause);
/* Bind a string, or NULL. */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
/*
 * The same without a copy: v must stay unchanged until the statement has
 * been stepped and every parameter bound again (hot inserts).
 */
void store_bind_text_static(sqlite3_stmt *st, int i, const char *v);
/* A malloc'd copy of a text column, or NULL. */
char *store_column_text(sqlite3_stmt *st, int i);

#endif
