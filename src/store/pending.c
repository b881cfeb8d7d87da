/*
 * The queue of offline operations, replayed by the account's driver.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-private.h"

void
store_pending_clear(struct store_pending *p)
{
	free(p->op);
	free(p->folder);
	free(p->arg);
	memset(p, 0, sizeof *p);
}

void
store_pending_list_free(struct store_pending *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_pending_clear(&v[i]);
	free(v);
}

int
store_pending_add(struct store *s, const struct store_pending *p, char **cause)
{
	static const char q[] =
	    "INSERT INTO pending (account_id, op, folder, uidvalidity, uid,"
	    " arg, created) VALUES (?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->account_id);
	store_bind_text(st, 2, p->op);
	store_bind_text(st, 3, p->folder);
	sqlite3_bind_int64(st, 4, p->uidvalidity);
	sqlite3_bind_int64(st, 5, p->uid);
	store_bind_text(st, 6, p->arg);
	sqlite3_bind_int64(st, 7, p->created ? p->created : time(NULL));
	return store_step_done(s, st, "queueing a change", cause);
}

int
store_pending_list(struct store *s, int64_t account_id,
    struct store_pending **v, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT id, account_id, op, folder, uidvalidity, uid, arg, created"
	    " FROM pending WHERE account_id = ? ORDER BY id";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_pending *p;

		*v = xreallocarray(*v, *n + 1, sizeof **v);
		p = &(*v)[(*n)++];
		p->id = sqlite3_column_int64(st, 0);
		p->account_id = sqlite3_column_int64(st, 1);
		p->op = store_column_text(st, 2);
		p->folder = store_column_text(st, 3);
		p->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
		p->uid = (uint32_t)sqlite3_column_int64(st, 5);
		p->arg = store_column_text(st, 6);
		p->created = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_pending_list_free(*v, *n);
		*v = NULL;
		*n = 0;
		return store_error(s, "reading queued changes", cause);
	}
	return 0;
}

int
store_pending_delete(struct store *s, int64_t id, char **cause)
{
	static const char q[] = "DELETE FROM pending WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "removing a queued change", cause);
}

int64_t
store_pending_count(struct store *s, int64_t account_id, char **cause)
{
	static const char q[] =
	    "SELECT count(*) FROM pending WHERE account_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int64_t n = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_error(s, "counting queued changes", cause);
	sqlite3_reset(st);
	return n;
}
