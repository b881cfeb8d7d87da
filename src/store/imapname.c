/*
 * The server's own spelling of an IMAP folder's name (folder.imap_name,
 * schema version 4): names learned from LIST go back on the wire exactly
 * as the server sent them.
 */
#include <stdlib.h>

#include "store-private.h"

int
store_folder_set_imap_name(
    struct store *s, int64_t folder_id, const char *wire, char **cause)
{
	static const char q[] = "UPDATE folder SET imap_name = ? WHERE id = ?"
	                        " AND imap_name IS NOT ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, wire);
	sqlite3_bind_int64(st, 2, folder_id);
	store_bind_text(st, 3, wire);
	return store_step_done(s, st, "updating a folder", cause);
}

int
store_folder_imap_name(struct store *s, int64_t account_id, const char *name,
    char **wire, char **cause)
{
	static const char q[] = "SELECT imap_name FROM folder"
	                        " WHERE account_id = ? AND name = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*wire = NULL;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, name);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*wire = store_column_text(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading a folder", cause);
	return *wire != NULL ? 1 : 0;
}
