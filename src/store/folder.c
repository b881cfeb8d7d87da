/*
 * Folders in the store.
 */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

void
store_folder_clear(struct store_folder *f)
{
	free(f->name);
	free(f->special);
	memset(f, 0, sizeof *f);
}

void
store_folder_list_free(struct store_folder *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_folder_clear(&v[i]);
	free(v);
}

int64_t
store_folder(struct store *s, int64_t account_id, const char *name, int create,
    char **cause)
{
	static const char q[] =
	    "SELECT id FROM folder WHERE account_id = ? AND name = ?";
	static const char ins[] =
	    "INSERT INTO folder (account_id, name) VALUES (?, ?)";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int64_t id = 0;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		id = store_error(s, "looking up a folder", cause);
	sqlite3_reset(st);
	if (id != 0 || !create)
		return id;
	if ((st = store_stmt(s, ins, cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	store_bind_text(st, 2, name);
	if (store_step_done(s, st, "creating a folder", cause) != 0)
		return -1;
	return sqlite3_last_insert_rowid(s->db);
}

#define FOLDER_COLS \
	"f.id, f.account_id, f.name, f.special, f.uidvalidity, f.uidnext,   \
	 f.highestmodseq,                                                    \
	 (SELECT count(*) FROM message m WHERE m.folder_id = f.id),          \
	 (SELECT count(*) FROM message m WHERE m.folder_id = f.id            \
	      AND (m.flags & 16) = 0) "

static void
folder_row(sqlite3_stmt *st, struct store_folder *f)
{
	f->id = sqlite3_column_int64(st, 0);
	f->account_id = sqlite3_column_int64(st, 1);
	f->name = store_column_text(st, 2);
	f->special = store_column_text(st, 3);
	f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 4);
	f->uidnext = (uint32_t)sqlite3_column_int64(st, 5);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(st, 6);
	f->total = sqlite3_column_int64(st, 7);
	f->unseen = sqlite3_column_int64(st, 8);
}

int
store_folder_get(
    struct store *s, int64_t folder_id, struct store_folder *f, char **cause)
{
	static const char q[] =
	    "SELECT " FOLDER_COLS "FROM folder f WHERE f.id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	memset(f, 0, sizeof *f);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		folder_row(st, f);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return set_cause(cause, "no such folder");
	if (rc != SQLITE_ROW)
		return store_error(s, "reading a folder", cause);
	return 0;
}

int
store_folder_list(struct store *s, int64_t account_id, struct store_folder **v,
    size_t *n, char **cause)
{
	static const char q[] =
	    "SELECT " FOLDER_COLS "FROM folder f WHERE f.account_id = ? "
	    "ORDER BY f.name <> 'INBOX', f.name";
	sqlite3_stmt *st = store_stmt(s, q, cause);
	int rc;

	*v = NULL;
	*n = 0;
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		folder_row(st, &(*v)[*n]);
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_folder_list_free(*v, *n);
		*v = NULL;
		*n = 0;
		return store_error(s, "listing folders", cause);
	}
	return 0;
}

int
store_folder_rename(
    struct store *s, int64_t folder_id, const char *name, char **cause)
{
	static const char q[] = "UPDATE folder SET name = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, folder_id);
	return store_step_done(s, st, "renaming a folder", cause);
}

int
store_folder_delete(struct store *s, int64_t folder_id, char **cause)
{
	static const char q[] = "DELETE FROM folder WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, folder_id);
	return store_step_done(s, st, "deleting a folder", cause);
}

int
store_folder_set_imap(struct store *s, int64_t folder_id, uint32_t uidvalidity,
    uint32_t uidnext, uint64_t highestmodseq, char **cause)
{
	static const char q[] = "UPDATE folder SET uidvalidity = ?, "
	                        "uidnext = ?, highestmodseq = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, uidvalidity);
	sqlite3_bind_int64(st, 2, uidnext);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)highestmodseq);
	sqlite3_bind_int64(st, 4, folder_id);
	return store_step_done(s, st, "updating a folder", cause);
}

int
store_folder_set_special(
    struct store *s, int64_t folder_id, const char *special, char **cause)
{
	static const char q[] = "UPDATE folder SET special = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, q, cause);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, special);
	sqlite3_bind_int64(st, 2, folder_id);
	return store_step_done(s, st, "updating a folder", cause);
}
