/*
 * Queries for the full-screen client's index. A 100,000-message folder is
 * shown by listing its ids once (8 bytes each) and loading only the rows
 * on screen, so memory and time do not grow with what is off screen.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

#define IDS_SELECT "SELECT id FROM message WHERE folder_id = ?1"
#define IDS_MATCH \
	" AND (from_ LIKE ?2 ESCAPE '\\' OR subject LIKE ?2 ESCAPE '\\'" \
	" OR to_ LIKE ?2 ESCAPE '\\' OR cc LIKE ?2 ESCAPE '\\'" \
	" OR id IN (SELECT message_id FROM body WHERE CAST(tern_body(raw," \
	" pack_id, pack_off, pack_len) AS TEXT)" \
	" LIKE ?2 ESCAPE '\\')" \
	" OR id IN (SELECT message_id FROM part WHERE section = '" STORE_PART_VIEW \
	"' AND CAST(data AS TEXT) LIKE ?2 ESCAPE '\\'))"

/*
 * Indexed by [match][sort]; literals, as the statement cache wants. Ties
 * go in the order the messages came into the folder: by UID (the row id
 * for local and POP3 folders; an IMAP sync stores the newest first, so
 * its row ids run the other way), as tern ls lists them.
 */
static const char *const ids_sql[2][4] = {
	{
	    IDS_SELECT " ORDER BY date, uid",
	    IDS_SELECT " ORDER BY from_ COLLATE NOCASE, uid",
	    IDS_SELECT " ORDER BY subject COLLATE NOCASE, uid",
	    IDS_SELECT " ORDER BY size, uid",
	},
	{
	    IDS_SELECT IDS_MATCH " ORDER BY date, uid",
	    IDS_SELECT IDS_MATCH " ORDER BY from_ COLLATE NOCASE, uid",
	    IDS_SELECT IDS_MATCH " ORDER BY subject COLLATE NOCASE, uid",
	    IDS_SELECT IDS_MATCH " ORDER BY size, uid",
	},
};

void
store_index_row_clear(struct store_index_row *r)
{
	free(r->from);
	free(r->to);
	free(r->cc);
	free(r->subject);
	memset(r, 0, sizeof *r);
}

/* "%text%" with LIKE's wildcards in text escaped. */
static char *
like_pattern(const char *match)
{
	struct buf b;

	buf_init(&b, 0);
	buf_addc(&b, '%');
	for (; *match != '\0'; match++) {
		if (*match == '%' || *match == '_' || *match == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *match);
	}
	buf_addc(&b, '%');
	return buf_steal(&b, NULL);
}

int
store_index_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    const char *match, int64_t **ids, size_t *n, char **cause)
{
	sqlite3_stmt *st;
	int64_t *v = NULL;
	size_t nv = 0, cap = 0;
	char *pat = NULL;
	int rc, ret = -1;

	if ((unsigned)sort > STORE_SORT_SIZE)
		sort = STORE_SORT_DATE;
	if ((st = store_stmt(s, ids_sql[match != NULL][sort], cause)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, folder_id);
	if (match != NULL) {
		pat = like_pattern(match);
		sqlite3_bind_text(st, 2, pat, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nv == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[nv++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		store_error(s, "listing the folder", cause);
		goto out;
	}
	*ids = v;
	*n = nv;
	v = NULL;
	ret = 0;
out:
	if (st != NULL)
		sqlite3_reset(st);
	free(v);
	free(pat);
	return ret;
}

int64_t
store_index_count(struct store *s, int64_t folder_id, char **cause)
{
	static const char sql[] =
	    "SELECT count(*) FROM message WHERE folder_id = ?";
	sqlite3_stmt *st;
	int64_t n = -1;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_error(s, "counting messages", cause);
	sqlite3_reset(st);
	return n;
}

int64_t
store_index_newest(struct store *s, char **cause)
{
	static const char sql[] = "SELECT max(id) FROM message";
	sqlite3_stmt *st;
	int64_t n = -1;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0); /* NULL: 0 */
	else
		store_error(s, "reading the newest message", cause);
	sqlite3_reset(st);
	return n;
}

int64_t
store_index_count_new(struct store *s, int64_t folder_id, int64_t after,
    int64_t upto, char **cause)
{
	/*
	 * A range of rowids: only the new rows are read. The '+' keeps the
	 * planner (without statistics) from walking the whole folder's
	 * index instead.
	 */
	static const char sql[] =
	    "SELECT count(*) FROM message"
	    " WHERE id > ? AND id <= ? AND +folder_id = ?";
	sqlite3_stmt *st;
	int64_t n = -1;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, upto);
	sqlite3_bind_int64(st, 3, folder_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else
		store_error(s, "counting new messages", cause);
	sqlite3_reset(st);
	return n;
}

/* Up to max rows of folder_id by sql (?2 key, ?3 id, ?4 max). */
static int
ids_by(struct store *s, const char *sql, int64_t folder_id, int64_t key,
    int64_t id, size_t max, int64_t *ids, int64_t *keys, size_t *n,
    char **cause)
{
	sqlite3_stmt *st;
	size_t got = 0;
	int rc = SQLITE_DONE;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, key);
	sqlite3_bind_int64(st, 3, id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while (got < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ids[got] = sqlite3_column_int64(st, 0);
		keys[got++] = sqlite3_column_int64(st, 1);
	}
	if (got < max && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, "listing the folder", cause);
	}
	sqlite3_reset(st);
	*n = got;
	return 0;
}

int
store_index_ids_before(struct store *s, int64_t folder_id, enum store_sort sort,
    int64_t key, int64_t id, size_t max, int64_t *ids, int64_t *keys, size_t *n,
    char **cause)
{
	static const char by_date[] =
	    "SELECT id, date FROM message WHERE folder_id = ?1"
	    " AND (date, uid) < (?2, (SELECT uid FROM message WHERE id = ?3))"
	    " ORDER BY date DESC, uid DESC LIMIT ?4";
	static const char by_size[] =
	    "SELECT id, size FROM message WHERE folder_id = ?1"
	    " AND (size, uid) < (?2, (SELECT uid FROM message WHERE id = ?3))"
	    " ORDER BY size DESC, uid DESC LIMIT ?4";

	return ids_by(s, sort == STORE_SORT_SIZE ? by_size : by_date, folder_id,
	    key, id, max, ids, keys, n, cause);
}

int
store_index_ids_after(struct store *s, int64_t folder_id, enum store_sort sort,
    int64_t key, int64_t id, size_t max, int64_t *ids, int64_t *keys, size_t *n,
    char **cause)
{
	static const char by_date[] =
	    "SELECT id, date FROM message WHERE folder_id = ?1"
	    " AND (date, uid) > (?2, (SELECT uid FROM message WHERE id = ?3))"
	    " ORDER BY date, uid LIMIT ?4";
	static const char by_size[] =
	    "SELECT id, size FROM message WHERE folder_id = ?1"
	    " AND (size, uid) > (?2, (SELECT uid FROM message WHERE id = ?3))"
	    " ORDER BY size, uid LIMIT ?4";

	return ids_by(s, sort == STORE_SORT_SIZE ? by_size : by_date, folder_id,
	    key, id, max, ids, keys, n, cause);
}

int
store_index_row(
    struct store *s, int64_t id, struct store_index_row *r, char **cause)
{
	static const char sql[] =
	    "SELECT id, uid, flags, date, internaldate, size, has_attach,"
	    " has_body, from_, subject, to_, cc FROM message WHERE id = ?";
	sqlite3_stmt *st;
	int rc;

	memset(r, 0, sizeof *r);
	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(st, 0);
		r->uid = (uint32_t)sqlite3_column_int64(st, 1);
		r->flags = (unsigned)sqlite3_column_int(st, 2);
		r->date = sqlite3_column_int64(st, 3);
		if (r->date == 0)
			r->date = sqlite3_column_int64(st, 4);
		r->size = sqlite3_column_int64(st, 5);
		r->has_attach = sqlite3_column_int(st, 6);
		r->has_body = sqlite3_column_int(st, 7);
		r->from = store_column_text(st, 8);
		r->subject = store_column_text(st, 9);
		r->to = store_column_text(st, 10);
		r->cc = store_column_text(st, 11);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_error(s, "reading a message", cause);
}

int
store_index_thread_rows(struct store *s, int64_t folder_id,
    struct store_thread_row **v, char **pool, size_t *n, char **cause)
{
	static const char sql[] =
	    "SELECT id, date, message_id, in_reply_to, refs, subject"
	    " FROM message WHERE folder_id = ? ORDER BY date, uid";
	sqlite3_stmt *st;
	struct store_thread_row *rv = NULL;
	size_t nr = 0, cap = 0, i, k, len, *off = NULL;
	struct buf b;
	int rc;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	/* The strings go into one block as offsets (+1, 0 for none), made
	 * pointers once the block stops moving. */
	buf_init(&b, 0);
	sqlite3_bind_int64(st, 1, folder_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (nr == cap) {
			cap = cap ? cap * 2 : 1024;
			rv = xreallocarray(rv, cap, sizeof *rv);
			off = xreallocarray(off, cap, 4 * sizeof *off);
		}
		rv[nr].id = sqlite3_column_int64(st, 0);
		rv[nr].date = sqlite3_column_int64(st, 1);
		for (k = 0; k < 4; k++) {
			const unsigned char *t = sqlite3_column_text(st, 2 + k);

			off[nr * 4 + k] = 0;
			if (t == NULL)
				continue;
			off[nr * 4 + k] = b.len + 1;
			buf_add(&b, t,
			    (size_t)sqlite3_column_bytes(st, 2 + (int)k) + 1);
		}
		nr++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(rv);
		free(off);
		buf_free(&b);
		return store_error(s, "threading the folder", cause);
	}
	/* The block as long as it is, not as the doubling left it: a big
	 * folder's is tens of megabytes. */
	len = b.len;
	*pool = xreallocarray(buf_steal(&b, NULL), len + 1, 1);
	for (i = 0; i < nr; i++) {
		const char **f[4] = { &rv[i].message_id, &rv[i].in_reply_to,
			&rv[i].refs, &rv[i].subject };

		for (k = 0; k < 4; k++)
			*f[k] =
			    off[i * 4 + k] ? *pool + off[i * 4 + k] - 1 : NULL;
	}
	free(off);
	*v = rv;
	*n = nr;
	return 0;
}

int
store_account_list(
    struct store *s, struct store_account_info **v, size_t *n, char **cause)
{
	static const char sql[] =
	    "SELECT id, name, protocol FROM account ORDER BY id";
	sqlite3_stmt *st;
	struct store_account_info *av = NULL;
	size_t na = 0;
	int rc;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		av = xreallocarray(av, na + 1, sizeof *av);
		av[na].id = sqlite3_column_int64(st, 0);
		av[na].name = store_column_text(st, 1);
		av[na].protocol = store_column_text(st, 2);
		na++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_account_list_free(av, na);
		return store_error(s, "listing accounts", cause);
	}
	*v = av;
	*n = na;
	return 0;
}

void
store_account_list_free(struct store_account_info *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].protocol);
	}
	free(v);
}

int64_t
store_data_version(struct store *s)
{
	static const char sql[] = "PRAGMA data_version";
	sqlite3_stmt *st;
	int64_t v = -1;

	if ((st = store_stmt(s, sql, NULL)) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int
store_index_folder_names(struct store *s, int64_t account_id,
    struct store_folder **v, size_t *n, char **cause)
{
	static const char sql[] =
	    "SELECT id, name, special FROM folder WHERE account_id = ?"
	    " ORDER BY name <> 'INBOX', name";
	sqlite3_stmt *st;
	struct store_folder *fv = NULL;
	size_t nf = 0;
	int rc;

	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fv = xreallocarray(fv, nf + 1, sizeof *fv);
		memset(&fv[nf], 0, sizeof fv[nf]);
		fv[nf].id = sqlite3_column_int64(st, 0);
		fv[nf].account_id = account_id;
		fv[nf].name = store_column_text(st, 1);
		fv[nf].special = store_column_text(st, 2);
		fv[nf].total = fv[nf].unseen = -1;
		nf++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_folder_list_free(fv, nf);
		return store_error(s, "listing folders", cause);
	}
	*v = fv;
	*n = nf;
	return 0;
}

int
store_index_folder_counts(struct store *s, int64_t folder_id, int64_t *total,
    int64_t *unseen, char **cause)
{
	static const char sql[] =
	    "SELECT count(*) FROM message WHERE folder_id = ?1 AND"
	    " (flags & 16) = 0";
	sqlite3_stmt *st;
	int rc;

	if ((*total = store_index_count(s, folder_id, cause)) < 0)
		return -1;
	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	rc = sqlite3_step(st);
	*unseen = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_error(s, "counting unread messages", cause);
	return 0;
}
