/*
 * The queue of offline operations, replayed by the account's driver.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-private.h"

static const char *const op_names[STORE_OP_NKINDS] = {
	[STORE_OP_UNKNOWN] = "?",
	[STORE_OP_FLAGS] = "flags",
	[STORE_OP_MOVE] = "move",
	[STORE_OP_COPY] = "copy",
	[STORE_OP_EXPUNGE] = "expunge",
	[STORE_OP_CREATE] = "create",
	[STORE_OP_RENAME] = "rename",
	[STORE_OP_DELETE] = "delete",
	[STORE_OP_TOLOCAL] = "tolocal",
	[STORE_OP_TOLOCAL_COPY] = "tolocal-copy",
	[STORE_OP_APPEND] = "append",
	[STORE_OP_APPEND_MOVE] = "append-move",
	[STORE_OP_DRAFT] = "draft",
};

const char *
store_op_name(enum store_op op)
{
	if ((unsigned)op >= STORE_OP_NKINDS)
		op = STORE_OP_UNKNOWN;
	return op_names[op];
}

enum store_op
store_op_from_name(const char *name)
{
	unsigned i;

	for (i = 1; name != NULL && i < STORE_OP_NKINDS; i++) {
		if (strcmp(op_names[i], name) == 0)
			return (enum store_op)i;
	}
	return STORE_OP_UNKNOWN;
}

void
store_pending_clear(struct store_pending *p)
{
	free(p->folder);
	free(p->arg);
	free(p->msgid);
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
	    " arg, created, msgid, placeholder)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st;

	/* Only kinds this tern replays are queued. */
	if (p->op <= STORE_OP_UNKNOWN || p->op >= STORE_OP_NKINDS)
		return set_cause(cause, "queueing a change of no known kind");
	if ((st = store_stmt(s, q, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->account_id);
	store_bind_text(st, 2, store_op_name(p->op));
	store_bind_text(st, 3, p->folder);
	sqlite3_bind_int64(st, 4, p->uidvalidity);
	sqlite3_bind_int64(st, 5, p->uid);
	store_bind_text(st, 6, p->arg);
	sqlite3_bind_int64(st, 7, p->created ? p->created : time(NULL));
	store_bind_text(st, 8, p->msgid);
	sqlite3_bind_int64(st, 9, p->placeholder);
	return store_step_done(s, st, "queueing a change", cause);
}

int
store_pending_list(struct store *s, int64_t account_id,
    struct store_pending **v, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT id, account_id, op, folder, uidvalidity, uid, arg, created,"
	    " state, mark, msgid, placeholder FROM pending WHERE account_id = ?"
	    " ORDER BY id";
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
		p->op = store_op_from_name(
		    (const char *)sqlite3_column_text(st, 2));
		p->folder = store_column_text(st, 3);
		p->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
		p->uid = (uint32_t)sqlite3_column_int64(st, 5);
		p->arg = store_column_text(st, 6);
		p->created = sqlite3_column_int64(st, 7);
		p->state = (int)sqlite3_column_int64(st, 8);
		p->mark = (uint32_t)sqlite3_column_int64(st, 9);
		p->msgid = store_column_text(st, 10);
		p->placeholder = (uint32_t)sqlite3_column_int64(st, 11);
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

int
store_pending_set_state(
    struct store *s, int64_t id, int state, uint32_t mark, char **cause)
{
	static const char q[] =
	    "UPDATE pending SET state = ?, mark = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, mark);
	sqlite3_bind_int64(st, 3, id);
	return store_step_done(s, st, "marking a queued change", cause);
}

int
store_pending_set_uid(struct store *s, int64_t id, uint32_t uidvalidity,
    uint32_t uid, char **cause)
{
	static const char q[] =
	    "UPDATE pending SET uidvalidity = ?, uid = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uidvalidity);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, id);
	return store_step_done(s, st, "re-mapping a queued change", cause);
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
