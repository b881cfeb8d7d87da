/*
 * Postponed drafts waiting for the server: "draft" pending operations
 * whose bytes live in pending_raw (store.h describes the op).
 */
#include <string.h>

#include "store-private.h"

int
store_draft_add(struct store *s, int64_t account_id, const char *folder,
    const void *raw, size_t len, const char *message_id, char **cause)
{
	struct store_pending p;

	memset(&p, 0, sizeof p);
	p.account_id = account_id;
	p.op = STORE_OP_DRAFT;
	p.folder = (char *)folder;
	return store_pending_add_raw(s, &p, raw, len,
	    STORE_F_DRAFT | STORE_F_SEEN, NULL, 0, message_id, cause);
}

int
store_draft_claim(struct store *s, int64_t id, char **cause)
{
	static const char q[] =
	    "UPDATE pending SET arg = '" STORE_DRAFT_TRIED
	    "' WHERE id = ? AND op = 'draft' AND arg IS NULL";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_step_done(s, st, "claiming a draft", cause) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}
