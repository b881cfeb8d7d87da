/*
 * Internals shared by the files of the store module.
 */
#ifndef TERN_STORE_PRIVATE_H
#define TERN_STORE_PRIVATE_H

#include <sqlite3.h>

#include "tern/store.h"

#define STORE_STMT_CACHE 96

struct store_pack;

struct store {
	sqlite3 *db;
	char *path;
	char *dir; /* of path */
	struct store_pack *pack; /* being appended to (pack.c) */
	/* Packs adopted whole by the open transaction: gone if it rolls
	 * back (pack.c). */
	int64_t *adopted;
	size_t nadopted;
	int swept; /* pack.c: leftovers of dead processes removed */
	int rfd; /* a pack file open for reading, or -1 */
	int64_t rfd_pack; /* ... its pack id */
	int64_t rfd_size; /* ... and its size when last looked at */
	int depth; /* transaction nesting */
	int reading; /* in a read transaction (store_read_begin) */
	int busy; /* the last error: another connection held the lock */
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

/*
 * Pack files (pack.c). store_pack_append puts a body's bytes at the end
 * of the account's pack, inside the open transaction, and says where;
 * store_commit calls store_pack_sync (the bytes synced, the pack's size
 * recorded) before it commits and store_pack_committed after, and a
 * rollback calls store_pack_rolled_back.
 */
int store_pack_append(struct store *s, int64_t account_id, const void *raw,
    size_t len, int64_t *pack_id, int64_t *off, char **cause);
int store_pack_sync(struct store *s, char **cause);
void store_pack_committed(struct store *s);
void store_pack_rolled_back(struct store *s);
/*
 * Make the file at path (len bytes, written whole) a pack of account_id's
 * in the open transaction: synced, renamed packs/N for its new row N.
 */
int store_pack_adopt(struct store *s, int64_t account_id, const char *path,
    int64_t len, int64_t *pack_id, char **cause);
/* Append len bytes at off of pack_id's file to out. */
int store_pack_read(struct store *s, int64_t pack_id, int64_t off, int64_t len,
    struct buf *out, char **cause);
/* Map a body of a pack into b (store_msg_body). */
int store_pack_map(struct store *s, int64_t pack_id, int64_t off, int64_t len,
    struct store_body *b, char **cause);
/* The SQL function tern_body(raw, pack_id, pack_off, pack_len). */
int store_pack_functions(struct store *s);
/* Give freed bodies' space back to the file system (at close). */
void store_pack_reclaim(struct store *s);
/* Close the pack files. */
void store_pack_close(struct store *s);

/*
 * The full-text index (fts.c): its schema (a migration's text), and the
 * calls that index a message in the open transaction.
 */
extern const char store_fts_schema[];
/*
 * Message id has a body now that is not indexed yet: its document (an
 * envelope's) goes, and store_fts_fill will index the body.
 */
int store_fts_later(struct store *s, int64_t id, char **cause);
/*
 * Message id, stored without a body: its envelope (m's strings).
 */
int store_fts_head(
    struct store *s, const struct store_msg *m, int64_t id, char **cause);
/*
 * The message's envelope and raw (or a view's skeleton, view set). A path
 * that stores one message's body or view calls it in the transaction that
 * stores it (msg_insert, store_msg_set_raw, store_part_set); a download
 * in bulk (the packed inserts and puts) calls store_fts_later instead.
 */
int store_fts_body(struct store *s, int64_t id, const void *raw, size_t len,
    int view, char **cause);

#endif
