/*
 * The full-text index: SQLite's FTS5 over what a reader sees of each
 * message (mime_index_text), with case and diacritics folded in every
 * script (unicode61, remove_diacritics 2).
 *
 * The table is contentless: it holds the index alone, not a second copy
 * of the text, which keeps it to a fraction of the bodies' size. SQLite
 * 3.40 cannot delete a row from a contentless table without being given
 * its words again, so a document is never deleted: fts_doc maps each
 * message to its one live document, and a message deleted or indexed
 * anew leaves its old document unmapped, found by no search, counted as
 * stale. Document ids only go up (AUTOINCREMENT), so a stale document's
 * words never come back under another message. store_fts_fill rebuilds
 * the index once most of it is stale.
 *
 * Who writes what: a body is indexed in the transaction that stores it
 * (store_fts_body: message.c, for POP3, IMAP bodies one at a time or in
 * bulk, imports), and so is a message stored without one by a local
 * copy (store_fts_head); the foreign key drops the mapping with the
 * message; a trigger follows a body that moves to another row (an IMAP
 * folder whose UIDVALIDITY changed), another a message that moves to
 * another folder.
 *
 * The envelopes of an IMAP folder's index are not indexed as its rows
 * are stored: at 10 µs a row that would be half again the time of a
 * first sync. store_fts_fill indexes them afterwards (the client's
 * worker after each sync, tern search before it searches), as it does
 * a store made before the index: every message above a high-water mark
 * that has no document, in batches that each commit the mark with
 * them, so a kill at any point loses nothing done. Row ids are reused
 * when the highest rows are deleted, so deleting one above what is left
 * lowers the mark to it.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"
#include "tern/mime.h"

/* A message to index per statement of the fill, and bytes per commit. */
#define FILL_BATCH 256
#define FILL_BYTES (32u << 20)

const char store_fts_schema[] =
    "CREATE TABLE fts_doc ("
    "  docid INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  message_id INTEGER NOT NULL UNIQUE"
    "    REFERENCES message(id) ON DELETE CASCADE,"
    "  body INTEGER NOT NULL DEFAULT 0,"
    /* the message's, so that a search of text alone needs no row of
     * message per match */
    "  folder_id INTEGER NOT NULL DEFAULT 0,"
    "  date INTEGER NOT NULL DEFAULT 0);"
    "CREATE VIRTUAL TABLE fts USING fts5(from_, to_, cc, subject, header,"
    "  body, content='', columnsize=0,"
    "  tokenize='unicode61 remove_diacritics 2');"
    /* filled: every message up to this id is indexed; stale: documents
     * no message maps to any more. */
    "CREATE TABLE fts_state (name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO fts_state VALUES ('filled', 0), ('stale', 0);"
    "CREATE TRIGGER fts_top_gone AFTER DELETE ON message"
    "  WHEN old.id > coalesce((SELECT max(id) FROM message), 0) BEGIN"
    "  UPDATE fts_state SET value = min(value,"
    "    coalesce((SELECT max(id) FROM message), 0))"
    "    WHERE name = 'filled';"
    "  END;"
    "CREATE TRIGGER fts_stale AFTER DELETE ON fts_doc BEGIN"
    "  UPDATE fts_state SET value = value + 1 WHERE name = 'stale';"
    "  END;"
    "CREATE TRIGGER fts_moved AFTER UPDATE OF message_id ON body BEGIN"
    "  DELETE FROM fts_doc WHERE message_id = new.message_id;"
    "  UPDATE fts_doc SET message_id = new.message_id,"
    "    folder_id = (SELECT folder_id FROM message"
    "      WHERE id = new.message_id),"
    "    date = (SELECT date FROM message WHERE id = new.message_id)"
    "    WHERE message_id = old.message_id;"
    "  END;"
    "CREATE TRIGGER fts_refiled AFTER UPDATE OF folder_id ON message BEGIN"
    "  UPDATE fts_doc SET folder_id = new.folder_id"
    "    WHERE message_id = new.id;"
    "  END;";

/*
 * A new document for message id (its old one, if any, goes stale): its
 * envelope, and header and body text as given (NULL: none).
 *
 * Every statement here is a plain single-row INSERT on purpose: FTS5
 * (3.40) writes its pending words out as a new segment at each
 * statement savepoint, which a trigger or an INSERT ... SELECT opens
 * for every row; that made an insert five times slower and the index
 * a heap of tiny segments to merge.
 */
static int
put_doc(struct store *s, int64_t id, int64_t folder_id, int64_t date,
    const char *from, const char *to, const char *cc, const char *subject,
    const char *header, const char *body, char **cause)
{
	static const char has[] = "SELECT 1 FROM fts_doc WHERE message_id = ?";
	static const char del[] = "DELETE FROM fts_doc WHERE message_id = ?";
	static const char map[] = "INSERT INTO fts_doc (message_id, body,"
	                          " folder_id, date) VALUES (?, ?, ?, ?)";
	static const char ins[] =
	    "INSERT INTO fts (rowid, from_, to_, cc, subject, header, body)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)";
	static const char mark[] = "UPDATE fts_state SET value = ?1"
	                           " WHERE name = 'filled' AND value = ?1 - 1";
	sqlite3_stmt *st;
	int64_t docid;
	int rc;

	/*
	 * An envelope alone is indexed only for a message without one; a
	 * body's document replaces one only when there is one (the DELETE
	 * runs a trigger, which costs even when nothing is deleted).
	 */
	if (body != NULL) {
		if ((st = store_stmt(s, has, cause)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_error(s, "indexing a message", cause);
		if (rc == SQLITE_ROW) {
			if ((st = store_stmt(s, del, cause)) == NULL)
				return -1;
			sqlite3_bind_int64(st, 1, id);
			if (store_step_done(
			        s, st, "indexing a message", cause) != 0)
				return -1;
		}
	}
	if ((st = store_stmt(s, map, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, body != NULL);
	sqlite3_bind_int64(st, 3, folder_id);
	sqlite3_bind_int64(st, 4, date);
	if (store_step_done(s, st, "indexing a message", cause) != 0)
		return -1;
	docid = sqlite3_last_insert_rowid(s->db);
	if ((st = store_stmt(s, ins, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, docid);
	store_bind_text_static(st, 2, from);
	store_bind_text_static(st, 3, to);
	store_bind_text_static(st, 4, cc);
	store_bind_text_static(st, 5, subject);
	store_bind_text_static(st, 6, header);
	store_bind_text_static(st, 7, body);
	if (store_step_done(s, st, "indexing a message", cause) != 0)
		return -1;
	/* The next message past the mark: the mark follows, so that a store
	 * whose messages all come with their bodies is never "pending". */
	if ((st = store_stmt(s, mark, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "indexing a message", cause);
}

/* The same with the envelope read from the message's row. */
static int
put_doc_row(struct store *s, int64_t id, const char *header, const char *body,
    char **cause)
{
	static const char q[] =
	    "SELECT from_, to_, cc, subject, folder_id, date"
	    " FROM message WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	char *v[4] = { NULL, NULL, NULL, NULL };
	int64_t folder_id = 0, date = 0;
	int rc, i, ret;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < 4; i++)
			v[i] = store_column_text(st, i);
		folder_id = sqlite3_column_int64(st, 4);
		date = sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "indexing a message", cause);
	ret = put_doc(s, id, folder_id, date, v[0], v[1], v[2], v[3], header,
	    body, cause);
	for (i = 0; i < 4; i++)
		free(v[i]);
	return ret;
}

int
store_fts_head(
    struct store *s, const struct store_msg *m, int64_t id, char **cause)
{
	return put_doc(s, id, m->folder_id, m->date, m->from, m->to, m->cc,
	    m->subject, NULL, NULL, cause);
}

int
store_fts_later(struct store *s, int64_t id, char **cause)
{
	static const char has[] = "SELECT 1 FROM fts_doc WHERE message_id = ?";
	static const char del[] = "DELETE FROM fts_doc WHERE message_id = ?";
	static const char mark[] = "UPDATE fts_state SET value = ?1 - 1"
	                           " WHERE name = 'filled' AND value >= ?1";
	sqlite3_stmt *st;
	int rc;

	/* Mostly there is nothing to forget: no DELETE (it runs a trigger)
	 * and no write at all then. */
	if ((st = store_stmt(s, has, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		goto lower;
	if (rc != SQLITE_ROW)
		return store_error(s, "indexing a message", cause);
	if ((st = store_stmt(s, del, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_step_done(s, st, "indexing a message", cause) != 0)
		return -1;
lower:
	if ((st = store_stmt(s, mark, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "indexing a message", cause);
}

int
store_fts_body(struct store *s, int64_t id, const void *raw, size_t len,
    int view, char **cause)
{
	struct buf h, b;
	int ret;

	buf_init(&h, 0);
	buf_init(&b, 0);
	mime_index_text(raw, len, view, &h, &b);
	ret = put_doc_row(
	    s, id, h.data ? h.data : "", b.data ? b.data : "", cause);
	buf_free(&h);
	buf_free(&b);
	return ret;
}

int
store_fts_has_body(struct store *s, int64_t id, char **cause)
{
	static const char q[] = "SELECT body FROM fts_doc WHERE message_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc, body = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		body = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading the search index", cause);
	return body;
}

static int
state_get(struct store *s, const char *name, int64_t *v, char **cause)
{
	static const char q[] = "SELECT value FROM fts_state WHERE name = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading the search index", cause);
	return 0;
}

static int
state_set(struct store *s, const char *name, int64_t v, char **cause)
{
	static const char q[] = "UPDATE fts_state SET value = ? WHERE name = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, v);
	store_bind_text(st, 2, name);
	return store_step_done(s, st, "updating the search index", cause);
}

int64_t
store_fts_pending(struct store *s, char **cause)
{
	static const char q[] =
	    "SELECT count(*) FROM message m WHERE m.id > ? AND NOT EXISTS"
	    " (SELECT 1 FROM fts_doc d WHERE d.message_id = m.id)";
	sqlite3_stmt *st;
	int64_t filled, n = -1;

	if (state_get(s, "filled", &filled, cause) != 0)
		return -1;
	if ((st = store_stmt(s, q, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, filled);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_error(s, "reading the search index", cause);
	sqlite3_reset(st);
	return n;
}

int
store_fts_stale(struct store *s, int64_t *stale, int64_t *live, char **cause)
{
	static const char q[] = "SELECT count(*) FROM fts_doc";
	sqlite3_stmt *st;

	if (state_get(s, "stale", stale, cause) != 0 ||
	    (st = store_stmt(s, q, cause)) == NULL)
		return -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_error(s, "reading the search index", cause);
	}
	*live = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int
store_fts_rebuild(struct store *s, char **cause)
{
	static const char all[] = "INSERT INTO fts (fts) VALUES ('delete-all')";
	static const char unmap[] = "DELETE FROM fts_doc";
	sqlite3_stmt *st;

	if (store_begin(s, cause) != 0)
		return -1;
	if ((st = store_stmt(s, all, cause)) == NULL ||
	    store_step_done(s, st, "emptying the search index", cause) != 0 ||
	    (st = store_stmt(s, unmap, cause)) == NULL ||
	    store_step_done(s, st, "emptying the search index", cause) != 0 ||
	    state_set(s, "stale", 0, cause) != 0 ||
	    state_set(s, "filled", 0, cause) != 0) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, cause);
}

/* Index message id as it is stored now: its body, its view, or neither. */
static int
index_one(
    struct store *s, int64_t id, int has_body, size_t *bytes, char **cause)
{
	struct store_body b;
	struct buf view;
	int found, ret;

	if (has_body) {
		if ((found = store_msg_body(s, id, &b, cause)) < 0)
			return -1;
		if (found) {
			*bytes += b.len;
			ret = store_fts_body(s, id, b.data, b.len, 0, cause);
			store_body_release(&b);
			return ret;
		}
	}
	buf_init(&view, 0);
	if ((found = store_part_get(s, id, STORE_PART_VIEW, &view, cause)) < 0)
		return -1;
	if (found) {
		*bytes += view.len;
		ret = store_fts_body(
		    s, id, view.data ? view.data : "", view.len, 1, cause);
	} else
		ret = put_doc_row(s, id, NULL, NULL, cause);
	buf_free(&view);
	return ret;
}

/*
 * One batch: the messages above the high-water mark that have no
 * document yet, indexed, and the mark moved past them, in one commit.
 * *done gets how many it indexed; 1 when the fill is complete.
 */
static int
fill_batch(struct store *s, int64_t *done, char **cause)
{
	/* The messages that lack a document, above the mark. */
	static const char q[] =
	    "SELECT m.id, m.has_body FROM message m WHERE m.id > ? AND NOT"
	    " EXISTS (SELECT 1 FROM fts_doc d WHERE d.message_id = m.id)"
	    " ORDER BY m.id LIMIT ?";
	static const char top[] = "SELECT coalesce(max(id), 0) FROM message";
	struct {
		int64_t id;
		int body;
	} v[FILL_BATCH];
	sqlite3_stmt *st;
	int64_t filled, mark;
	size_t n = 0, i, bytes = 0;
	int rc, complete;

	*done = 0;
	if (store_begin(s, cause) != 0)
		return -1;
	if (state_get(s, "filled", &filled, cause) != 0)
		goto fail;
	if ((st = store_stmt(s, q, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, filled);
	sqlite3_bind_int(st, 2, FILL_BATCH);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v[n].id = sqlite3_column_int64(st, 0);
		v[n++].body = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_error(s, "filling the search index", cause);
		goto fail;
	}
	complete = n < FILL_BATCH;
	for (i = 0; i < n; i++) {
		if (index_one(s, v[i].id, v[i].body, &bytes, cause) != 0)
			goto fail;
		/* Many big bodies: commit them, to keep the WAL small. */
		if (bytes >= FILL_BYTES && i + 1 < n) {
			complete = 0;
			i++;
			break;
		}
	}
	/* Done: past every message there is (those above the last one
	 * indexed were indexed as they were stored). */
	mark = n > 0 ? v[i - 1].id : filled;
	if (complete) {
		if ((st = store_stmt(s, top, cause)) == NULL)
			goto fail;
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			mark = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			store_error(s, "filling the search index", cause);
			goto fail;
		}
	}
	tern_fault("fts-fill");
	if (state_set(s, "filled", mark, cause) != 0)
		goto fail;
	if (store_commit(s, cause) != 0)
		return -1;
	*done = (int64_t)i;
	return complete;
fail:
	store_rollback(s);
	return -1;
}

int
store_fts_fill(struct store *s, store_fts_progress cb, void *arg, char **cause)
{
	int64_t total, done = 0, n, stale, live;
	int rc;

	if (store_fts_stale(s, &stale, &live, cause) != 0)
		return -1;
	/* Mostly stale: cheaper to index again than to carry. */
	if (stale > 10000 && stale > live && store_fts_rebuild(s, cause) != 0)
		return -1;
	if ((total = store_fts_pending(s, cause)) < 0)
		return -1;
	while ((rc = fill_batch(s, &n, cause)) == 0) {
		done += n;
		if (cb != NULL && cb(arg, done < total ? done : total, total))
			return 0;
	}
	if (rc < 0)
		return -1;
	if (cb != NULL && total > 0)
		(void)cb(arg, total, total);
	return 0;
}

/* FTS5's own API, from the connection (the documented fts5(?) call). */
static fts5_api *
fts5_api_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
		(void)sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return api;
}

struct token_ctx {
	store_token_cb cb;
	void *arg;
};

static int
on_token(void *arg, int flags, const char *tok, int ntok, int start, int end)
{
	struct token_ctx *c = arg;

	(void)flags;
	return c->cb(c->arg, tok, (size_t)ntok, (size_t)start, (size_t)end) == 0
	    ? SQLITE_OK
	    : SQLITE_DONE;
}

int
store_fts_tokenize(struct store *s, const char *text, size_t len,
    store_token_cb cb, void *arg, char **cause)
{
	static const char *const args[] = { "remove_diacritics", "2" };
	struct token_ctx c = { cb, arg };
	fts5_tokenizer tk;
	Fts5Tokenizer *t = NULL;
	fts5_api *api;
	void *ud = NULL;
	int rc;

	if (len > INT32_MAX)
		len = INT32_MAX;
	if ((api = fts5_api_of(s->db)) == NULL ||
	    api->xFindTokenizer(api, "unicode61", &ud, &tk) != SQLITE_OK ||
	    tk.xCreate(ud, (const char **)args, 2, &t) != SQLITE_OK)
		return set_cause(cause, "the search index's words: no FTS5");
	rc = tk.xTokenize(
	    t, &c, FTS5_TOKENIZE_DOCUMENT, text, (int)len, on_token);
	tk.xDelete(t);
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		return set_cause(
		    cause, "the search index's words: %s", sqlite3_errstr(rc));
	return 0;
}
