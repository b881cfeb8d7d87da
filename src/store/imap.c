/*
 * What the IMAP driver needs beyond the generic message calls: the UID
 * map of a folder, upserts keyed by (folder, UID), flag updates by UID,
 * and the rebuild of a folder whose UIDVALIDITY changed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-private.h"

int
store_imap_uids(
    struct store *s, int64_t folder_id, uint32_t **v, size_t *n, char **cause)
{
	/* Not the placeholders: the replay settles those, and a sync that
	 * took them for expunged would hide a copy or move still queued. */
	static const char q[] = "SELECT uid FROM message WHERE folder_id = ?"
	                        " AND uid > 0 AND uid < ? ORDER BY uid";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	size_t cap = 0;
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, STORE_UID_PLACEHOLDER_MIN);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*v = xreallocarray(*v, cap, sizeof **v);
		}
		(*v)[(*n)++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(*v);
		*v = NULL;
		*n = 0;
		return store_error(s, "reading UIDs", cause);
	}
	return 0;
}

int
store_imap_bodiless(struct store *s, int64_t folder_id, uint32_t **uids,
    int64_t **ids, int64_t **sizes, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT uid, id, size FROM message WHERE folder_id = ?"
	    " AND uid > 0 AND has_body = 0 ORDER BY uid";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	size_t cap = 0;
	int rc;

	*uids = NULL;
	*ids = *sizes = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*uids = xreallocarray(*uids, cap, sizeof **uids);
			*ids = xreallocarray(*ids, cap, sizeof **ids);
			*sizes = xreallocarray(*sizes, cap, sizeof **sizes);
		}
		(*uids)[*n] = (uint32_t)sqlite3_column_int64(st, 0);
		(*ids)[*n] = sqlite3_column_int64(st, 1);
		(*sizes)[*n] = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(*uids);
		free(*ids);
		free(*sizes);
		*uids = NULL;
		*ids = *sizes = NULL;
		*n = 0;
		return store_error(s, "reading UIDs", cause);
	}
	return 0;
}

#define UPSERT_COLS \
	"INSERT INTO message (folder_id, uid, uidvalidity, modseq, flags," \
	" keywords, date, internaldate, size, from_, to_, cc, subject," \
	" message_id, in_reply_to, refs, content_type, has_attach," \
	" fetched_at) VALUES "
#define UPSERT_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define UPSERT_ROW4 UPSERT_ROW "," UPSERT_ROW "," UPSERT_ROW "," UPSERT_ROW
#define UPSERT_ROW16 UPSERT_ROW4 "," UPSERT_ROW4 "," UPSERT_ROW4 "," UPSERT_ROW4
#define UPSERT_CONFLICT \
	" ON CONFLICT (folder_id, uid) DO UPDATE SET" \
	" uidvalidity = excluded.uidvalidity, modseq = excluded.modseq," \
	" flags = excluded.flags, keywords = excluded.keywords"
#define UPSERT_PARAMS 19

/* Bind m as the row that starts at parameter base + 1. */
static void
upsert_bind(
    sqlite3_stmt *st, int base, const struct store_msg *m, sqlite3_int64 now)
{
	sqlite3_bind_int64(st, base + 1, m->folder_id);
	sqlite3_bind_int64(st, base + 2, m->uid);
	sqlite3_bind_int64(st, base + 3, m->uidvalidity);
	sqlite3_bind_int64(st, base + 4, (sqlite3_int64)m->modseq);
	sqlite3_bind_int(st, base + 5, (int)m->flags);
	store_bind_text_static(st, base + 6, m->keywords);
	sqlite3_bind_int64(st, base + 7, m->date);
	sqlite3_bind_int64(st, base + 8, m->internaldate);
	sqlite3_bind_int64(st, base + 9, m->size);
	store_bind_text_static(st, base + 10, m->from);
	store_bind_text_static(st, base + 11, m->to);
	store_bind_text_static(st, base + 12, m->cc);
	store_bind_text_static(st, base + 13, m->subject);
	store_bind_text_static(st, base + 14, m->message_id);
	store_bind_text_static(st, base + 15, m->in_reply_to);
	store_bind_text_static(st, base + 16, m->refs);
	store_bind_text_static(st, base + 17, m->content_type);
	sqlite3_bind_int(st, base + 18, m->has_attach);
	sqlite3_bind_int64(st, base + 19, now);
}

int
store_imap_upsert(struct store *s, struct store_msg *m, char **cause)
{
	return store_imap_upsert_rows(s, &m, 1, cause);
}

int
store_imap_upsert_rows(
    struct store *s, struct store_msg *const *m, size_t n, char **cause)
{
	static const char one[] = UPSERT_COLS UPSERT_ROW UPSERT_CONFLICT;
	static const char many[] = UPSERT_COLS UPSERT_ROW16 UPSERT_CONFLICT;
	sqlite3_int64 now = time(NULL);
	sqlite3_stmt *st;
	size_t i = 0, k;

	/*
	 * Sixteen rows to a statement: the statement's own cost (cursors
	 * opened and closed, the halt) is paid once for all of them, which
	 * is a quarter of the time of a header sync's inserts.
	 */
	for (; n - i >= STORE_UPSERT_ROWS; i += STORE_UPSERT_ROWS) {
		if ((st = store_stmt(s, many, cause)) == NULL)
			return -1;
		for (k = 0; k < STORE_UPSERT_ROWS; k++)
			upsert_bind(st, (int)k * UPSERT_PARAMS, m[i + k], now);
		if (store_step_done(s, st, "storing messages", cause) != 0)
			return -1;
	}
	for (; i < n; i++) {
		if ((st = store_stmt(s, one, cause)) == NULL)
			return -1;
		upsert_bind(st, 0, m[i], now);
		if (store_step_done(s, st, "storing a message", cause) != 0)
			return -1;
	}
	return 0;
}

int
store_imap_set_flags(struct store *s, int64_t folder_id, uint32_t uid,
    unsigned flags, const char *keywords, uint64_t modseq, char **cause)
{
	/* Only a row that changes is written, and counted. */
	static const char q[] =
	    "UPDATE message SET flags = (flags & ~63) | ?1, keywords = ?2,"
	    " modseq = max(modseq, ?3) WHERE folder_id = ?4 AND uid = ?5"
	    " AND ((flags & 63) != ?1 OR keywords IS NOT ?2 OR modseq < ?3)";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, (int)(flags & STORE_F_ALL));
	store_bind_text(st, 2, keywords);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)modseq);
	sqlite3_bind_int64(st, 4, folder_id);
	sqlite3_bind_int64(st, 5, uid);
	if (store_step_done(s, st, "changing flags", cause) != 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

int64_t
store_imap_delete_uid(
    struct store *s, int64_t folder_id, uint32_t uid, char **cause)
{
	static const char q[] =
	    "DELETE FROM message WHERE folder_id = ? AND uid = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	if (store_step_done(s, st, "removing a message", cause) != 0)
		return -1;
	return sqlite3_changes(s->db);
}

int
store_imap_placeholder(
    struct store *s, int64_t folder_id, uint32_t *uid, char **cause)
{
	static const char pick[] =
	    "SELECT min(uid) FROM message WHERE folder_id = ? AND uid >= ?";
	sqlite3_stmt *st = store_stmt(s, pick, cause);
	int64_t low = (int64_t)STORE_UID_PLACEHOLDER_MAX + 1;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, STORE_UID_PLACEHOLDER_MIN);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		low = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (low <= STORE_UID_PLACEHOLDER_MIN)
		return set_cause(
		    cause, "too many messages moved or copied offline");
	*uid = (uint32_t)(low - 1);
	return 0;
}

int
store_imap_move_placeholder(
    struct store *s, int64_t id, int64_t folder_id, uint32_t *uid, char **cause)
{
	static const char move[] = "UPDATE message SET folder_id = ?, uid = ?,"
	                           " uidvalidity = 0 WHERE id = ?";
	sqlite3_stmt *st;

	if (store_imap_placeholder(s, folder_id, uid, cause) != 0 ||
	    (st = store_stmt(s, move, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, *uid);
	sqlite3_bind_int64(st, 3, id);
	return store_step_done(s, st, "moving a message", cause);
}

int
store_imap_set_uid(struct store *s, int64_t folder_id, uint32_t old_uid,
    uint32_t uid, uint32_t uidvalidity, char **cause)
{
	static const char q[] =
	    "UPDATE OR IGNORE message SET uid = ?, uidvalidity = ?"
	    " WHERE folder_id = ? AND uid = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uid);
	sqlite3_bind_int64(st, 2, uidvalidity);
	sqlite3_bind_int64(st, 3, folder_id);
	sqlite3_bind_int64(st, 4, old_uid);
	return store_step_done(s, st, "renumbering a message", cause);
}

int
store_imap_detach(struct store *s, int64_t folder_id, char **cause)
{
	/* A placeholder names no UID of the old folder: a copy or move
	 * still queued, which the replay settles. */
	static const char q[] = "UPDATE message SET uid = -id"
	                        " WHERE folder_id = ? AND uid > 0 AND uid < ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, STORE_UID_PLACEHOLDER_MIN);
	return store_step_done(s, st, "detaching a folder's UIDs", cause);
}

int
store_imap_msgid_index(struct store *s, int on, char **cause)
{
	static const char drop[] = "DROP INDEX IF EXISTS message_by_msgid";
	static const char make[] = "CREATE INDEX IF NOT EXISTS message_by_msgid"
	                           " ON message(message_id)";

	if (store_begin(s, cause) != 0)
		return -1;
	if (sqlite3_exec(s->db, on ? make : drop, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		store_error(s,
		    on ? "indexing Message-IDs"
		       : "setting the Message-ID index aside",
		    cause);
		store_rollback(s);
		return -1;
	}
	return store_commit(s, cause);
}

int
store_imap_reattach(struct store *s, int64_t folder_id, char **cause)
{
	/* Pairs (old row with a body, new row) whose Message-ID occurs once
	 * among the old rows and once among the new ones. */
	static const char pairs[] =
	    "CREATE TEMP TABLE IF NOT EXISTS imap_pairs (old INTEGER,"
	    " new INTEGER);"
	    "DELETE FROM imap_pairs;";
	static const char fill[] =
	    "INSERT INTO imap_pairs SELECT o.id, n.id FROM message o"
	    " JOIN message n ON n.folder_id = o.folder_id"
	    "  AND n.message_id = o.message_id AND n.uid > 0"
	    " WHERE o.folder_id = ? AND o.uid < 0 AND o.has_body = 1"
	    "  AND o.message_id IS NOT NULL"
	    "  AND (SELECT count(*) FROM message x WHERE x.folder_id ="
	    "   o.folder_id AND x.message_id = o.message_id) = 2";
	static const char body[] =
	    "UPDATE body SET message_id = (SELECT new FROM imap_pairs"
	    " WHERE old = body.message_id)"
	    " WHERE message_id IN (SELECT old FROM imap_pairs)";
	static const char part[] =
	    "UPDATE part SET message_id = (SELECT new FROM imap_pairs"
	    " WHERE old = part.message_id)"
	    " WHERE message_id IN (SELECT old FROM imap_pairs)";
	static const char flag[] = "UPDATE message SET has_body = 1"
	                           " WHERE id IN (SELECT new FROM imap_pairs)";
	static const char drop[] =
	    "DELETE FROM message WHERE folder_id = ? AND uid < 0";
	sqlite3_stmt *st;
	char *err = NULL;

	if (store_begin(s, cause) != 0)
		return -1;
	if (sqlite3_exec(s->db, pairs, NULL, NULL, &err) != SQLITE_OK) {
		set_cause(cause, "%s: %s", s->path, err ? err : "error");
		sqlite3_free(err);
		goto fail;
	}
	if ((st = store_stmt(s, fill, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	if (store_step_done(s, st, "re-attaching bodies", cause) != 0)
		goto fail;
	if ((st = store_stmt(s, body, cause)) == NULL ||
	    store_step_done(s, st, "re-attaching bodies", cause) != 0)
		goto fail;
	if ((st = store_stmt(s, part, cause)) == NULL ||
	    store_step_done(s, st, "re-attaching bodies", cause) != 0)
		goto fail;
	if ((st = store_stmt(s, flag, cause)) == NULL ||
	    store_step_done(s, st, "re-attaching bodies", cause) != 0)
		goto fail;
	if ((st = store_stmt(s, drop, cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	if (store_step_done(s, st, "re-attaching bodies", cause) != 0)
		goto fail;
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return -1;
}

int
store_imap_folder_state(struct store *s, int64_t folder_id,
    uint32_t *uidvalidity, uint32_t *uidnext, uint64_t *highestmodseq,
    char **cause)
{
	static const char q[] = "SELECT uidvalidity, uidnext, highestmodseq"
	                        " FROM folder WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*uidvalidity = (uint32_t)sqlite3_column_int64(st, 0);
		*uidnext = (uint32_t)sqlite3_column_int64(st, 1);
		*highestmodseq = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return set_cause(cause, "no such folder");
	if (rc != SQLITE_ROW)
		return store_error(s, "reading a folder", cause);
	return 0;
}

int
store_imap_folders(struct store *s, int64_t account_id, int64_t **ids,
    char ***names, size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT id, name FROM folder WHERE account_id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*ids = NULL;
	*names = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = xreallocarray(*ids, *n + 1, sizeof **ids);
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*ids)[*n] = sqlite3_column_int64(st, 0);
		(*names)[*n] = store_column_text(st, 1);
		if ((*names)[*n] == NULL)
			(*names)[*n] = xstrdup("");
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_error(s, "listing folders", cause);
	return 0;
}
