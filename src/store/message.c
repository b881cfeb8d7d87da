/*
 * Messages, their raw bytes and cached parts.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>

#include "store-private.h"

#define MSG_COLS \
	"id, folder_id, uid, uidvalidity, modseq, flags, keywords, date,    \
	 internaldate, size, from_, to_, cc, subject, message_id,            \
	 in_reply_to, refs, content_type, has_attach, has_body, pop3_uidl,   \
	 fetched_at "

void
store_msg_clear(struct store_msg *m)
{
	free(m->keywords);
	free(m->from);
	free(m->to);
	free(m->cc);
	free(m->subject);
	free(m->message_id);
	free(m->in_reply_to);
	free(m->refs);
	free(m->content_type);
	free(m->pop3_uidl);
	memset(m, 0, sizeof *m);
}

static void
msg_row(sqlite3_stmt *st, struct store_msg *m)
{
	m->id = sqlite3_column_int64(st, 0);
	m->folder_id = sqlite3_column_int64(st, 1);
	m->uid = (uint32_t)sqlite3_column_int64(st, 2);
	m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 4);
	m->flags = (unsigned)sqlite3_column_int(st, 5);
	m->keywords = store_column_text(st, 6);
	m->date = sqlite3_column_int64(st, 7);
	m->internaldate = sqlite3_column_int64(st, 8);
	m->size = sqlite3_column_int64(st, 9);
	m->from = store_column_text(st, 10);
	m->to = store_column_text(st, 11);
	m->cc = store_column_text(st, 12);
	m->subject = store_column_text(st, 13);
	m->message_id = store_column_text(st, 14);
	m->in_reply_to = store_column_text(st, 15);
	m->refs = store_column_text(st, 16);
	m->content_type = store_column_text(st, 17);
	m->has_attach = sqlite3_column_int(st, 18);
	m->has_body = sqlite3_column_int(st, 19);
	m->pop3_uidl = store_column_text(st, 20);
	m->fetched_at = sqlite3_column_int64(st, 21);
}

static int body_put(
    struct store *s, int64_t id, const void *raw, size_t len, char **cause);
static int body_put_packed(struct store *s, int64_t id, int64_t account_id,
    const void *raw, size_t len, char **cause);

/* With pack_account, the body goes to that account's pack file. */
static int
msg_insert(struct store *s, struct store_msg *m, const void *raw, size_t rawlen,
    int64_t pack_account, char **cause)
{
	static const char ins[] =
	    "INSERT INTO message (folder_id, uid, uidvalidity, modseq, flags,"
	    " keywords, date, internaldate, size, from_, to_, cc, subject,"
	    " message_id, in_reply_to, refs, content_type, has_attach,"
	    " has_body, pop3_uidl, fetched_at, id)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	static const char next[] = "SELECT coalesce(max(id), 0) FROM message";
	sqlite3_stmt *st;
	int own_uid = m->uid == 0;
	sqlite3_int64 id = 0;

	if (store_begin(s, cause) != 0)
		return -1;
	if (own_uid) {
		/*
		 * A non-IMAP message gets its row id as UID: the next id,
		 * read and used under the write lock, given to both.
		 */
		if ((st = store_stmt(s, next, cause)) == NULL)
			goto fail;
		if (sqlite3_step(st) != SQLITE_ROW) {
			store_error(s, "storing a message", cause);
			goto fail;
		}
		id = sqlite3_column_int64(st, 0) + 1;
		sqlite3_reset(st);
		if (id > UINT32_MAX) {
			set_cause(
			    cause, "the store has run out of message ids");
			goto fail;
		}
	}
	if ((st = store_stmt(s, ins, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, m->folder_id);
	sqlite3_bind_int64(st, 2, own_uid ? id : (sqlite3_int64)m->uid);
	sqlite3_bind_int64(st, 3, m->uidvalidity);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)m->modseq);
	sqlite3_bind_int(st, 5, (int)m->flags);
	store_bind_text(st, 6, m->keywords);
	sqlite3_bind_int64(st, 7, m->date);
	sqlite3_bind_int64(st, 8, m->internaldate);
	sqlite3_bind_int64(
	    st, 9, raw != NULL ? (sqlite3_int64)rawlen : m->size);
	store_bind_text(st, 10, m->from);
	store_bind_text(st, 11, m->to);
	store_bind_text(st, 12, m->cc);
	store_bind_text(st, 13, m->subject);
	store_bind_text(st, 14, m->message_id);
	store_bind_text(st, 15, m->in_reply_to);
	store_bind_text(st, 16, m->refs);
	store_bind_text(st, 17, m->content_type);
	sqlite3_bind_int(st, 18, m->has_attach);
	sqlite3_bind_int(st, 19, raw != NULL);
	store_bind_text(st, 20, m->pop3_uidl);
	sqlite3_bind_int64(st, 21, m->fetched_at ? m->fetched_at : time(NULL));
	if (own_uid)
		sqlite3_bind_int64(st, 22, id);
	else
		sqlite3_bind_null(st, 22); /* the next row id */
	if (store_step_done(s, st, "storing a message", cause) != 0)
		goto fail;
	m->id = sqlite3_last_insert_rowid(s->db);
	if (own_uid)
		m->uid = (uint32_t)m->id;
	if (raw != NULL) {
		m->size = (int64_t)rawlen;
		m->has_body = 1;
		/* A body of a download in bulk (packed) is left to
		 * store_fts_fill: indexing it here would take four times as
		 * long as the download. One stored by itself is indexed. */
		if ((pack_account != 0
		            ? body_put_packed(
		                  s, m->id, pack_account, raw, rawlen, cause)
		            : body_put(s, m->id, raw, rawlen, cause)) != 0 ||
		    (pack_account == 0 &&
		        store_fts_body(s, m->id, raw, rawlen, 0, cause) != 0))
			goto fail;
	} else if (store_fts_head(s, m, m->id, cause) != 0)
		goto fail;
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return -1;
}

int
store_msg_insert(struct store *s, struct store_msg *m, const void *raw,
    size_t rawlen, char **cause)
{
	return msg_insert(s, m, raw, rawlen, 0, cause);
}

int
store_msg_insert_packed(struct store *s, int64_t account_id,
    struct store_msg *m, const void *raw, size_t rawlen, char **cause)
{
	return msg_insert(
	    s, m, raw, rawlen, account_id > 0 ? account_id : 0, cause);
}

int
store_msg_get(struct store *s, int64_t folder_id, uint32_t uid,
    struct store_msg *m, char **cause)
{
	static const char q[] =
	    "SELECT " MSG_COLS "FROM message WHERE folder_id = ? AND uid = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	memset(m, 0, sizeof *m);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		msg_row(st, m);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, "reading a message", cause);
}

int
store_msg_where(struct store *s, int64_t id, int64_t *folder_id, uint32_t *uid,
    uint32_t *uidvalidity, int *has_body, char **cause)
{
	static const char q[] = "SELECT folder_id, uid, uidvalidity, has_body"
	                        " FROM message WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*folder_id = sqlite3_column_int64(st, 0);
		*uid = (uint32_t)sqlite3_column_int64(st, 1);
		*uidvalidity = (uint32_t)sqlite3_column_int64(st, 2);
		*has_body = sqlite3_column_int(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, "reading a message", cause);
}

int
store_msg_get_id(struct store *s, int64_t id, struct store_msg *m, char **cause)
{
	static const char q[] = "SELECT " MSG_COLS "FROM message WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	memset(m, 0, sizeof *m);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		msg_row(st, m);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, "reading a message", cause);
}

int
store_msg_raw(struct store *s, int64_t id, struct buf *out, char **cause)
{
	return store_msg_raw_upto(s, id, out, 0, cause);
}

int
store_msg_raw_upto(
    struct store *s, int64_t id, struct buf *out, size_t max, char **cause)
{
	static const char q[] = "SELECT raw, pack_id, pack_off, pack_len"
	                        " FROM body WHERE message_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
		int64_t pack = sqlite3_column_int64(st, 1);
		int64_t off = sqlite3_column_int64(st, 2);
		int64_t len = sqlite3_column_int64(st, 3);

		sqlite3_reset(st);
		if (max > 0 && len > (int64_t)max)
			return 2;
		if (store_pack_read(s, pack, off, len, out, cause) != 0)
			return -1;
		return 1;
	}
	if (rc == SQLITE_ROW && max > 0 &&
	    (size_t)sqlite3_column_bytes(st, 0) > max) {
		sqlite3_reset(st);
		return 2;
	}
	if (rc == SQLITE_ROW) {
		if (buf_add(out, sqlite3_column_blob(st, 0),
		        (size_t)sqlite3_column_bytes(st, 0)) != 0) {
			sqlite3_reset(st);
			return set_cause(cause, "a message body is too big");
		}
		found = 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading a message body", cause);
	return found;
}

/* A body of the database, read once into memory of its own size. */
static int
body_read(struct store *s, int64_t id, struct store_body *b, char **cause)
{
	sqlite3_blob *blob = NULL;
	size_t len, done = 0;
	int rc;

	rc = sqlite3_blob_open(s->db, "main", "body", "raw", id, 0, &blob);
	if (rc != SQLITE_OK) {
		sqlite3_blob_close(blob);
		return store_error(s, "reading a message body", cause);
	}
	len = (size_t)sqlite3_blob_bytes(blob);
	b->data = xmalloc(len + 1);
	while (rc == SQLITE_OK && done < len) {
		int n = len - done > (1 << 20) ? 1 << 20 : (int)(len - done);

		rc = sqlite3_blob_read(blob, b->data + done, n, (int)done);
		done += (size_t)n;
	}
	sqlite3_blob_close(blob);
	if (rc != SQLITE_OK) {
		free(b->data);
		b->data = NULL;
		return store_error(s, "reading a message body", cause);
	}
	b->data[len] = '\0';
	b->len = len;
	return 0;
}

int
store_msg_body(struct store *s, int64_t id, struct store_body *b, char **cause)
{
	static const char q[] = "SELECT pack_id, pack_off, pack_len"
	                        " FROM body WHERE message_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int64_t pack = 0, off = 0, len = 0;
	int rc;

	memset(b, 0, sizeof *b);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		pack = sqlite3_column_int64(st, 0);
		off = sqlite3_column_int64(st, 1);
		len = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_error(s, "reading a message body", cause);
	if (pack != 0)
		return store_pack_map(s, pack, off, len, b, cause) == 0 ? 1
		                                                        : -1;
	return body_read(s, id, b, cause) == 0 ? 1 : -1;
}

void
store_body_release(struct store_body *b)
{
	if (b->map != NULL)
		munmap(b->map, b->maplen);
	else
		free(b->data);
	memset(b, 0, sizeof *b);
}

/*
 * The body row alone (the message row says has_body itself). An old row
 * is deleted, not replaced: a REPLACE would not run the trigger that
 * frees its bytes in a pack.
 */
static int
body_put(struct store *s, int64_t id, const void *raw, size_t len, char **cause)
{
	static const char del[] = "DELETE FROM body WHERE message_id = ?";
	static const char q[] =
	    "INSERT INTO body (message_id, raw) VALUES (?, ?)";
	sqlite3_stmt *st = store_stmt(s, del, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_step_done(s, st, "storing a message body", cause) != 0)
		return -1;
	if ((st = store_stmt(s, q, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob64(st, 2, raw, len, SQLITE_STATIC);
	return store_step_done(s, st, "storing a message body", cause);
}

/* The same, the bytes in the account's pack (a new message: no row). */
static int
body_put_packed(struct store *s, int64_t id, int64_t account_id,
    const void *raw, size_t len, char **cause)
{
	static const char q[] = "INSERT INTO body (message_id, raw, pack_id,"
	                        " pack_off, pack_len) VALUES (?, X'', ?, ?, ?)";
	sqlite3_stmt *st;
	int64_t pack, off;

	if (store_pack_append(s, account_id, raw, len, &pack, &off, cause) != 0)
		return -1;
	if ((st = store_stmt(s, q, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, pack);
	sqlite3_bind_int64(st, 3, off);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)len);
	return store_step_done(s, st, "storing a message body", cause);
}

int
store_msg_set_raw(
    struct store *s, int64_t id, const void *raw, size_t len, char **cause)
{
	static const char upd[] =
	    "UPDATE message SET has_body = 1, size = ? WHERE id = ?";
	sqlite3_stmt *st;

	if (store_begin(s, cause) != 0)
		return -1;
	if (body_put(s, id, raw, len, cause) != 0 ||
	    store_fts_body(s, id, raw, len, 0, cause) != 0)
		goto fail;
	if ((st = store_stmt(s, upd, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 2, id);
	if (store_step_done(s, st, "storing a message body", cause) != 0)
		goto fail;
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return -1;
}

/*
 * Claim message id for a body of len bytes: 1 when it had none (the row
 * now says it has), 0 when it is gone or has one already.
 */
static int
body_claim(struct store *s, int64_t id, size_t len, char **cause)
{
	static const char upd[] = "UPDATE message SET has_body = 1, size = ?"
	                          " WHERE id = ? AND has_body = 0";
	static const char del[] = "DELETE FROM body WHERE message_id = ?";
	sqlite3_stmt *st;

	if ((st = store_stmt(s, upd, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 2, id);
	if (store_step_done(s, st, "storing a message body", cause) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 0;
	/* A body row the message row did not own (frees its pack bytes). */
	if ((st = store_stmt(s, del, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_step_done(s, st, "storing a message body", cause) != 0)
		return -1;
	return 1;
}

/* The body row of bytes at (pack, off, len). */
static int
body_row_packed(struct store *s, int64_t id, int64_t pack, int64_t off,
    int64_t len, char **cause)
{
	static const char q[] = "INSERT INTO body (message_id, raw, pack_id,"
	                        " pack_off, pack_len) VALUES (?, X'', ?, ?, ?)";
	sqlite3_stmt *st;

	if ((st = store_stmt(s, q, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, pack);
	sqlite3_bind_int64(st, 3, off);
	sqlite3_bind_int64(st, 4, len);
	return store_step_done(s, st, "storing a message body", cause);
}

int
store_msg_put_packed(struct store *s, int64_t id, int64_t account_id,
    const void *raw, size_t len, char **cause)
{
	int64_t pack, off;
	int rc;

	if (store_begin(s, cause) != 0)
		return -1;
	if ((rc = body_claim(s, id, len, cause)) < 0)
		goto fail;
	if (rc == 1 &&
	    (store_pack_append(s, account_id, raw, len, &pack, &off, cause) !=
	            0 ||
	        body_row_packed(s, id, pack, off, (int64_t)len, cause) != 0 ||
	        store_fts_later(s, id, cause) != 0))
		goto fail;
	if (store_commit(s, cause) != 0)
		return -1;
	return rc;
fail:
	store_rollback(s);
	return -1;
}

int
store_msg_adopt_packed(struct store *s, int64_t id, int64_t account_id,
    const char *path, int64_t len, char **cause)
{
	int64_t pack;
	int rc;

	if (store_begin(s, cause) != 0) {
		(void)unlink(path);
		return -1;
	}
	if ((rc = body_claim(s, id, (size_t)len, cause)) < 0)
		goto fail;
	if (rc == 0)
		(void)unlink(path);
	else if (store_pack_adopt(s, account_id, path, len, &pack, cause) !=
	        0 ||
	    body_row_packed(s, id, pack, 0, len, cause) != 0 ||
	    store_fts_later(s, id, cause) != 0)
		goto fail;
	if (store_commit(s, cause) != 0)
		return -1;
	return rc;
fail:
	(void)unlink(path);
	store_rollback(s);
	return -1;
}

int
store_msg_set_flags(struct store *s, int64_t id, unsigned flags, char **cause)
{
	static const char q[] = "UPDATE message SET flags = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)flags);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "changing flags", cause);
}

int
store_msg_delete(struct store *s, int64_t id, char **cause)
{
	static const char q[] = "DELETE FROM message WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "deleting a message", cause);
}

int
store_msg_move(struct store *s, int64_t id, int64_t folder_id, char **cause)
{
	static const char q[] = "UPDATE message SET folder_id = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "moving a message", cause);
}

int
store_msg_foreach(struct store *s, int64_t folder_id, store_msg_cb cb,
    void *arg, char **cause)
{
	/* Not cached: callbacks may run other statements, even this one. */
	static const char q[] = "SELECT " MSG_COLS "FROM message "
	                        "WHERE folder_id = ? ORDER BY date, uid";
	sqlite3_stmt *st;
	struct store_msg m;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(s->db, q, -1, &st, NULL) != SQLITE_OK)
		return store_error(s, "listing messages", cause);
	sqlite3_bind_int64(st, 1, folder_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		msg_row(st, &m);
		ret = cb(arg, &m);
		store_msg_clear(&m);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_error(s, "listing messages", cause);
	sqlite3_finalize(st);
	return ret;
}

int
store_part_set(struct store *s, int64_t msg_id, const char *section,
    const void *data, size_t len, char **cause)
{
	static const char q[] = "INSERT OR REPLACE INTO part "
	                        "(message_id, section, data) VALUES (?, ?, ?)";
	int view = strcmp(section, STORE_PART_VIEW) == 0;
	sqlite3_stmt *st;

	/* A view holds the text parts: the index takes them from it. */
	if (store_begin(s, cause) != 0)
		return -1;
	if ((st = store_stmt(s, q, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, msg_id);
	store_bind_text(st, 2, section);
	sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
	if (store_step_done(s, st, "storing a message part", cause) != 0 ||
	    (view && store_fts_body(s, msg_id, data, len, 1, cause) != 0))
		goto fail;
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return -1;
}

int
store_part_get(struct store *s, int64_t msg_id, const char *section,
    struct buf *out, char **cause)
{
	static const char q[] =
	    "SELECT data FROM part WHERE message_id = ? AND section = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc, found = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, msg_id);
	store_bind_text(st, 2, section);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		(void)buf_add(out, sqlite3_column_blob(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0));
		found = 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_error(s, "reading a message part", cause);
	return found;
}
