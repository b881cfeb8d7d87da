/*
 * The UIDL state of POP3 accounts: which server messages are stored, kept,
 * or waiting for a DELE that a QUIT has confirmed.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

int
store_pop3_uidl_list(struct store *s, int64_t account_id,
    struct store_pop3_uidl **v, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT uidl, message_id, first_seen, state FROM pop3_uidl"
	    " WHERE account_id = ? ORDER BY uidl";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	struct store_pop3_uidl *r = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			r = xreallocarray(r, cap, sizeof *r);
		}
		r[cnt].uidl = store_column_text(st, 0);
		if (r[cnt].uidl == NULL)
			r[cnt].uidl = xstrdup("");
		r[cnt].message_id = sqlite3_column_int64(st, 1);
		r[cnt].first_seen = sqlite3_column_int64(st, 2);
		r[cnt].state = sqlite3_column_int(st, 3);
		cnt++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_pop3_uidl_list_free(r, cnt);
		return store_error(s, "reading the POP3 UIDL list", cause);
	}
	*v = r;
	*n = cnt;
	return 0;
}

void
store_pop3_uidl_list_free(struct store_pop3_uidl *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].uidl);
	free(v);
}

int
store_pop3_uidl_put(struct store *s, int64_t account_id,
    const struct store_pop3_uidl *u, char **cause)
{
	static const char q[] =
	    "INSERT OR REPLACE INTO pop3_uidl"
	    " (account_id, uidl, message_id, first_seen, state)"
	    " VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, u->uidl);
	if (u->message_id > 0)
		sqlite3_bind_int64(st, 3, u->message_id);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, u->first_seen);
	sqlite3_bind_int(st, 5, u->state);
	return store_step_done(s, st, "recording a POP3 UIDL", cause);
}

int
store_pop3_uidl_set_state(struct store *s, int64_t account_id, const char *uidl,
    int state, char **cause)
{
	static const char q[] = "UPDATE pop3_uidl SET state = ?"
	                        " WHERE account_id = ? AND uidl = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, account_id);
	store_bind_text(st, 3, uidl);
	return store_step_done(s, st, "updating a POP3 UIDL", cause);
}

int
store_pop3_uidl_delete(
    struct store *s, int64_t account_id, const char *uidl, char **cause)
{
	static const char q[] =
	    "DELETE FROM pop3_uidl WHERE account_id = ? AND uidl = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, uidl);
	return store_step_done(s, st, "forgetting a POP3 UIDL", cause);
}
