/*
 * Lookups for imports: is this message already in the folder?
 */
#include <string.h>

#include "store-private.h"

int
store_msg_find_same(struct store *s, int64_t folder_id, const char *message_id,
    const void *raw, size_t len, char **cause)
{
	static const char q[] = "SELECT m.has_body, b.raw FROM message m"
	                        " LEFT JOIN body b ON b.message_id = m.id"
	                        " WHERE m.folder_id = ? AND m.message_id IS ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc, found = 0;

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
