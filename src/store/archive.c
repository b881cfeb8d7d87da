/*
 * Lookups for imports: is this message already in the folder?
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

/*
 * The same message: the same bytes but for CRLF against LF and one final
 * line end. What an mbox writer or a copy through mutt changes, nothing
 * a reader sees.
 */
static int
same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	for (;;) {
		/* A '\r' before a '\n' does not count. */
		if (i + 1 < alen && a[i] == '\r' && a[i + 1] == '\n')
			i++;
		if (j + 1 < blen && b[j] == '\r' && b[j + 1] == '\n')
			j++;
		if (i == alen || j == blen)
			break;
		if (a[i] != b[j])
			return 0;
		i++;
		j++;
	}
	/* What is left of either is at most one line end. */
	if (i < alen && a[i] == '\n')
		i++;
	else if (i + 1 < alen && a[i] == '\r' && a[i + 1] == '\n')
		i += 2;
	if (j < blen && b[j] == '\n')
		j++;
	else if (j + 1 < blen && b[j] == '\r' && b[j + 1] == '\n')
		j += 2;
	return i == alen && j == blen;
}

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
			found = same_bytes(b, blen, raw, len);
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
    const void *raw, size_t len, unsigned flags, const char *keywords,
    int64_t internaldate, const char *message_id, char **cause)
{
	static const char q[] =
	    "INSERT INTO pending_raw (pending_id, raw, flags, internaldate,"
	    " message_id, keywords) VALUES (?, ?, ?, ?, ?, ?)";
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
	store_bind_text(st, 6, keywords != NULL && *keywords ? keywords : NULL);
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
store_pending_raw_keywords(
    struct store *s, int64_t pending_id, char **keywords, char **cause)
{
	static const char q[] =
	    "SELECT keywords FROM pending_raw WHERE pending_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*keywords = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, pending_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*keywords = store_column_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading a queued message", cause);
	return rc == SQLITE_ROW;
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
		found = same_bytes(sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0), raw, len);
	}
	if (!found && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, "looking for a duplicate", cause);
	}
	sqlite3_reset(st);
	return found;
}
