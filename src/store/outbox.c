/*
 * The outbox: messages waiting to be sent, and the states that make
 * sending exactly once (see store.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-private.h"

#define OUTBOX_COLS \
	"id, account_id, state, attempts, last_error, created, sent_at, " \
	"length(raw)"

void
store_outbox_clear(struct store_outbox *o)
{
	free(o->raw);
	free(o->last_error);
	memset(o, 0, sizeof *o);
}

void
store_outbox_list_free(struct store_outbox *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_outbox_clear(&v[i]);
	free(v);
}

const char *
store_outbox_state_name(int state)
{
	static const char *names[] = { "queued", "sending", "sent", "failed",
		"unknown" };

	if (state < 0 || (size_t)state >= TERN_NELEM(names))
		return "?";
	return names[state];
}

int64_t
store_outbox_add(struct store *s, int64_t account_id, const void *raw,
    size_t len, char **cause)
{
	static const char q[] =
	    "INSERT INTO outbox (account_id, raw, state, created)"
	    " VALUES (?, ?, 0, ?)";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_blob64(st, 2, raw, len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time(NULL));
	if (store_step_done(s, st, "queueing a message to send", cause) != 0)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

static void
outbox_row(sqlite3_stmt *st, struct store_outbox *o, int with_raw)
{
	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	o->account_id = sqlite3_column_int64(st, 1);
	o->state = sqlite3_column_int(st, 2);
	o->attempts = sqlite3_column_int(st, 3);
	o->last_error = store_column_text(st, 4);
	o->created = sqlite3_column_int64(st, 5);
	o->sent_at = sqlite3_column_int64(st, 6);
	o->len = (size_t)sqlite3_column_int64(st, 7);
	if (with_raw) {
		const void *p = sqlite3_column_blob(st, 8);

		o->len = (size_t)sqlite3_column_bytes(st, 8);
		o->raw = xmalloc(o->len + 1);
		if (o->len > 0)
			memcpy(o->raw, p, o->len);
		o->raw[o->len] = '\0';
	}
}

int
store_outbox_list(struct store *s, int64_t account_id, int with_raw,
    struct store_outbox **v, size_t *n, char **cause)
{
	static const char q[] = "SELECT " OUTBOX_COLS ", raw FROM outbox"
	                        " WHERE ? = 0 OR account_id = ? ORDER BY id";
	static const char qn[] = "SELECT " OUTBOX_COLS " FROM outbox"
	                         " WHERE ? = 0 OR account_id = ? ORDER BY id";
	sqlite3_stmt *st = store_stmt(s, with_raw ? q : qn, cause);
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	sqlite3_bind_int64(st, 2, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		outbox_row(st, &(*v)[(*n)++], with_raw);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_outbox_list_free(*v, *n);
		*v = NULL;
		*n = 0;
		return store_error(s, "reading the outbox", cause);
	}
	return 0;
}

int
store_outbox_get(
    struct store *s, int64_t id, struct store_outbox *o, char **cause)
{
	static const char q[] =
	    "SELECT " OUTBOX_COLS ", raw FROM outbox WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		outbox_row(st, o, 1);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, "reading the outbox", cause);
}

/* Run an UPDATE; the number of rows changed, or -1. */
static int
update(struct store *s, sqlite3_stmt *st, const char *what, char **cause)
{
	if (store_step_done(s, st, what, cause) != 0)
		return -1;
	return sqlite3_changes(s->db);
}

int
store_outbox_claim(struct store *s, int64_t id, char **cause)
{
	static const char q[] =
	    "UPDATE outbox SET state = 1, attempts = attempts + 1"
	    " WHERE id = ? AND state = 0";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int n;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	/* Committed before any byte goes to the server. */
	if ((n = update(s, st, "claiming a message to send", cause)) < 0)
		return -1;
	return n > 0;
}

int
store_outbox_set_state(
    struct store *s, int64_t id, int state, const char *error, char **cause)
{
	static const char q[] =
	    "UPDATE outbox SET state = ?, last_error = ?,"
	    " sent_at = CASE WHEN ? = 2 THEN ? ELSE sent_at END WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, state);
	store_bind_text(st, 2, error);
	sqlite3_bind_int(st, 3, state);
	sqlite3_bind_int64(st, 4, time(NULL));
	sqlite3_bind_int64(st, 5, id);
	return update(s, st, "updating the outbox", cause) < 0 ? -1 : 0;
}

int
store_outbox_requeue(struct store *s, int64_t id, char **cause)
{
	static const char q[] = "UPDATE outbox SET state = 0"
	                        " WHERE id = ? AND state IN (0, 3, 4)";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int n;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((n = update(s, st, "updating the outbox", cause)) < 0)
		return -1;
	if (n == 0)
		return set_cause(cause,
		    "outbox message %lld is not waiting to be sent again",
		    (long long)id);
	return 0;
}

int
store_outbox_delete(struct store *s, int64_t id, char **cause)
{
	static const char q[] = "DELETE FROM outbox WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "removing from the outbox", cause);
}

int
store_msg_find_msgid(struct store *s, int64_t account_id,
    const char *message_id, int64_t **v, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT message.id FROM message JOIN folder"
	    " ON message.folder_id = folder.id"
	    " WHERE message.message_id = ? AND folder.account_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	store_bind_text(st, 1, message_id);
	sqlite3_bind_int64(st, 2, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < 1000) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		(*v)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(*v);
		*v = NULL;
		*n = 0;
		return store_error(s, "looking up a message id", cause);
	}
	return 0;
}
