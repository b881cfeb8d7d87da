/*
 * Lookups for imports: is this message already in the folder?
 */
#include <string.h>

#include "store-private.h"

int
store_msg_find_same(struct store *s, int64_t folder_id, const char *message_id,
    const void *raw, size_t len, char **cause)
{
	static const char q[] = "SELECT m.has_body,"
	                        " tern_body(b.raw, b.pack_id, b.pack_off,"
	                        " b.pack_len) FROM message m"
	                        " LEFT JOIN body b ON b.message_id = m.id"
	                        " WHERE m.folder_id = ? AND m.message_id IS ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc = SQLITE_DONE, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	store_bind_text(st, 2, message_id);
	while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		size_t blen = (size_t)sqlite3_column_bytes(st, 1);

		if (sqlite3_column_int(st, 0) && b != NULL)
			found = blen == len && memcmp(b, raw, len) == 0;
		else
			/* An index entry without its body: the server has
			 * it; the Message-ID is all there is to compare. */
			found = message_id != NULL;
	}
	if (!found && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, "looking for a duplicate", cause);
	}
	sqlite3_reset(st);
	return found;
}

int
store_pending_add_raw(struct store *s, const struct store_pending *p,
    const void *raw, size_t len, unsigned flags, int64_t internaldate,
    const char *message_id, char **cause)
{
	static const char q[] =
	    "INSERT INTO pending_raw (pending_id, raw, flags, internaldate,"
	    " message_id) VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *st;

	if (store_begin(s, cause) != 0)
		return -1;
	if (store_pending_add(s, p, cause) != 0 ||
	    (st = store_stmt(s, q, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(s->db));
	sqlite3_bind_blob64(st, 2, raw, len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)flags);
	sqlite3_bind_int64(st, 4, internaldate);
	store_bind_text(st, 5, message_id);
	if (store_step_done(s, st, "queueing a message", cause) != 0)
		goto fail;
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return -1;
}

int
store_pending_raw(struct store *s, int64_t pending_id, struct buf *out,
    unsigned *flags, int64_t *internaldate, char **cause)
{
	static const char q[] = "SELECT raw, flags, internaldate FROM"
	                        " pending_raw WHERE pending_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc = SQLITE_DONE, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pending_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (buf_add(out, sqlite3_column_blob(st, 0),
		        (size_t)sqlite3_column_bytes(st, 0)) != 0) {
			sqlite3_reset(st);
			return set_cause(cause, "a queued message is too big");
		}
		*flags = (unsigned)sqlite3_column_int(st, 1);
		*internaldate = sqlite3_column_int64(st, 2);
		found = 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading a queued message", cause);
	return found;
}

int
store_pending_find_same(struct store *s, int64_t account_id, const char *folder,
    const char *message_id, const void *raw, size_t len, char **cause)
{
	static const char q[] =
	    "SELECT r.raw FROM pending_raw r JOIN pending p"
	    " ON p.id = r.pending_id WHERE p.account_id = ? AND p.folder = ?"
	    " AND r.message_id IS ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc = SQLITE_DONE, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, folder);
	store_bind_text(st, 3, message_id);
	while (!found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = (size_t)sqlite3_column_bytes(st, 0) == len &&
		    memcmp(sqlite3_column_blob(st, 0), raw, len) == 0;
	}
	if (!found && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, "looking for a duplicate", cause);
	}
	sqlite3_reset(st);
	return found;
}
