/*
 * Folders kept offline (an IMAP account's offline key): which messages
 * of a folder still wait for their body, and how much of a folder the
 * store holds. A message counts as kept when its whole body is stored
 * or its view (STORE_PART_VIEW: the text parts, attachments on demand).
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

int
store_offline_wanted(struct store *s, int64_t folder_id, int64_t since,
    struct store_offline_msg **v, size_t *n, char **cause)
{
	/*
	 * Newest first by UID, which message_by_uid gives without a sort.
	 * A placeholder (a move the server has not confirmed) and a row a
	 * UIDVALIDITY change detached have no UID on the server to ask for.
	 */
	static const char q[] =
	    "SELECT m.uid, m.size FROM message m"
	    " WHERE m.folder_id = ?1 AND m.has_body = 0"
	    " AND m.uid > 0 AND m.uid < ?2"
	    " AND (?3 = 0 OR (CASE WHEN m.internaldate > 0"
	    "  THEN m.internaldate ELSE m.date END) >= ?3)"
	    " AND NOT EXISTS (SELECT 1 FROM part p WHERE p.message_id = m.id"
	    "  AND p.section = '" STORE_PART_VIEW "')"
	    " ORDER BY m.uid DESC";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, STORE_UID_PLACEHOLDER_MIN);
	sqlite3_bind_int64(st, 3, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*v = xreallocarray(*v, cap, sizeof **v);
		}
		(*v)[*n].uid = (uint32_t)sqlite3_column_int64(st, 0);
		(*v)[*n].size = sqlite3_column_int64(st, 1);
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(*v);
		*v = NULL;
		*n = 0;
		return store_error(s, "listing the bodies to keep", cause);
	}
	return 0;
}

int
store_offline_stats(struct store *s, int64_t folder_id,
    struct store_offline_stats *out, char **cause)
{
	/* length() of a blob reads its size, not its pages. */
	static const char q[] =
	    "SELECT count(*),"
	    " coalesce(sum(m.has_body OR EXISTS (SELECT 1 FROM part p"
	    "  WHERE p.message_id = m.id AND p.section = '" STORE_PART_VIEW
	    "')), 0),"
	    " (SELECT coalesce(sum(CASE WHEN b.pack_id IS NULL"
	    "  THEN length(b.raw) ELSE b.pack_len END), 0)"
	    "  FROM body b JOIN message n ON n.id = b.message_id"
	    "  WHERE n.folder_id = ?1),"
	    " (SELECT coalesce(sum(length(p.data)), 0)"
	    "  FROM part p JOIN message n ON n.id = p.message_id"
	    "  WHERE n.folder_id = ?1)"
	    " FROM message m WHERE m.folder_id = ?1";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	memset(out, 0, sizeof *out);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->total = sqlite3_column_int64(st, 0);
		out->kept = sqlite3_column_int64(st, 1);
		out->bytes =
		    sqlite3_column_int64(st, 2) + sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, "counting what is kept offline", cause);
	return 0;
}
