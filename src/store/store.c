/*
 * Opening the store, the statement cache, transactions and accounts.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-private.h"

int store_migrate(struct store *s, char **cause);

int
store_error(struct store *s, const char *what, char **cause)
{
	int code = sqlite3_errcode(s->db);

	s->busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return set_cause(cause,
		    "%s: the store %s is locked by another tern; try again when "
		    "it has finished",
		    what, s->path);
	if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
		return set_cause(cause,
		    "%s: the store %s is damaged or not a tern store (%s); move "
		    "it aside and sync again",
		    what, s->path, sqlite3_errmsg(s->db));
	if (code == SQLITE_FULL || code == SQLITE_IOERR)
		return set_cause(cause,
		    "%s: cannot write the store %s: %s (is the disk full?)",
		    what, s->path, sqlite3_errmsg(s->db));
	if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN ||
	    code == SQLITE_PERM)
		return set_cause(cause,
		    "%s: cannot write the store %s: %s; check that you own it "
		    "and its directory",
		    what, s->path, sqlite3_errmsg(s->db));
	return set_cause(
	    cause, "%s: store error: %s", what, sqlite3_errmsg(s->db));
}

sqlite3_stmt *
store_stmt(struct store *s, const char *sql, char **cause)
{
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < s->ncache; i++) {
		if (s->cache[i].sql == sql) {
			st = s->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	        NULL) != SQLITE_OK) {
		store_error(s, "preparing a statement", cause);
		return NULL;
	}
	if (s->ncache < STORE_STMT_CACHE) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].st = st;
		s->ncache++;
	} else {
		/* Full: replace the oldest entry. */
		sqlite3_finalize(s->cache[0].st);
		memmove(&s->cache[0], &s->cache[1],
		    (STORE_STMT_CACHE - 1) * sizeof s->cache[0]);
		s->cache[STORE_STMT_CACHE - 1].sql = sql;
		s->cache[STORE_STMT_CACHE - 1].st = st;
	}
	return st;
}

int
store_step_done(
    struct store *s, sqlite3_stmt *st, const char *what, char **cause)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_error(s, what, cause);
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return 0;
}

void
store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void
store_bind_text_static(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

char *
store_column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

/*
 * Before SQLite's first use: no memory statistics, which would take a
 * global mutex on every allocation of every connection.
 *
 * A statement inside a transaction that may fail half-way (a multi-row
 * insert, anything under a foreign key) keeps a statement journal of the
 * pages it changes, and past 64 KiB SQLite spills it to a temporary file:
 * a 100,000-message header sync made 190,000 write calls to /var/tmp for
 * journals thrown away a moment later. Up to STMT_SPILL it stays in
 * memory; a statement bigger than that (purging a huge folder) still
 * spills.
 */
#define STMT_SPILL (8 << 20)

/*
 * One tern at a time opens the store: several switching a new file to WAL
 * at once could each hold a lock another waits for, until SQLite's busy
 * timeout gave up on one of them ("locked by another tern"). The lock is
 * held only while the store is opened and its schema brought up to date;
 * a lock that cannot be had (a read-only directory, a tern hung for
 * OPEN_LOCK_MS) is done without, as before.
 */
#define OPEN_LOCK_MS 30000

static int
open_lock(const char *dir)
{
	char *path = xasprintf("%s/tern.db-open", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	uint64_t start = now_ms();

	free(path);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    now_ms() - start > OPEN_LOCK_MS) {
			close(fd);
			return -1;
		}
		usleep(10000);
	}
	return fd;
}

static void
store_init_once(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, STMT_SPILL);
}

int
store_open(const char *dir, struct store **sp, char **cause)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	struct store *s;
	char *err = NULL;
	int rc, tries, lockfd;

	if (mkdir_p(dir, 0700, cause) != 0)
		return -1;
	(void)pthread_once(&once, store_init_once);
	lockfd = open_lock(dir);
	s = xcalloc(1, sizeof *s);
	s->rfd = -1;
	s->dir = xstrdup(dir);
	s->path = xasprintf("%s/tern.db", dir);
	rc = sqlite3_open_v2(s->path, &s->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		set_cause(cause, "cannot open the store %s: %s", s->path,
		    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	(void)chmod(s->path, 0600);
	sqlite3_busy_timeout(s->db, STORE_BUSY_WAIT_MS);
	sqlite3_extended_result_codes(s->db, 0);
	/*
	 * WAL lets the full-screen client read while a sync writes;
	 * synchronous=FULL makes every commit durable before it returns,
	 * which the POP3 engine relies on before it sends DELE.
	 */
	rc = sqlite3_exec(s->db,
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = OFF;",
	    NULL, NULL, &err);
	/*
	 * Switching a new database to WAL needs it to itself, and SQLite
	 * answers BUSY at once, without the busy handler, when another tern
	 * is opening it too: retry within the usual five seconds.
	 */
	for (tries = 0; rc == SQLITE_OK && tries < 100; tries++) {
		rc = sqlite3_exec(
		    s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
			break;
		usleep(50000);
	}
	if (rc != SQLITE_OK) {
		sqlite3_free(err);
		store_error(s, "opening", cause);
		goto fail;
	}
	if (store_pack_functions(s) != SQLITE_OK) {
		store_error(s, "opening", cause);
		goto fail;
	}
	if (store_migrate(s, cause) != 0)
		goto fail;
	*sp = s;
	if (lockfd >= 0)
		close(lockfd);
	return 0;
fail:
	store_close(&s);
	if (lockfd >= 0)
		close(lockfd);
	return -1;
}

void
store_close(struct store **sp)
{
	struct store *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	if (s->db != NULL) {
		store_rollback(s);
		store_pack_reclaim(s);
	}
	store_pack_close(s);
	for (i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->dir);
	free(s->path);
	free(s);
	*sp = NULL;
}

int
store_cache_writes(struct store *s, int on, char **cause)
{
	if (sqlite3_exec(s->db,
	        on ? "PRAGMA synchronous = NORMAL"
	           : "PRAGMA synchronous = FULL",
	        NULL, NULL, NULL) != SQLITE_OK)
		return store_error(s, "setting how commits are synced", cause);
	return 0;
}

void
store_set_busy_wait(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

int
store_busy(struct store *s)
{
	return s->busy;
}

int
store_read_begin(struct store *s, char **cause)
{
	if (s->depth > 0)
		return 0; /* already in one */
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return store_error(s, "starting to read", cause);
	s->reading = 1;
	return 0;
}

void
store_read_end(struct store *s)
{
	if (!s->reading)
		return;
	s->reading = 0;
	(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

int
store_in_txn(struct store *s)
{
	return s->depth > 0;
}

int
store_begin(struct store *s, char **cause)
{
	if (s->depth++ > 0)
		return 0;
	s->busy = 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		s->depth = 0;
		return store_error(s, "starting a transaction", cause);
	}
	return 0;
}

int
store_commit(struct store *s, char **cause)
{
	if (s->depth == 0 || --s->depth > 0)
		return 0;
	/* Bodies in a pack are on the disk before the rows that name them. */
	if (store_pack_sync(s, cause) != 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		store_pack_rolled_back(s);
		return -1;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_error(s, "committing", cause);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		store_pack_rolled_back(s);
		return -1;
	}
	store_pack_committed(s);
	return 0;
}

void
store_rollback(struct store *s)
{
	if (s->depth == 0)
		return;
	s->depth = 0;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	store_pack_rolled_back(s);
}

int64_t
store_account_find(struct store *s, const char *name, char **cause)
{
	static const char sql[] = "SELECT id FROM account WHERE name = ?";
	sqlite3_stmt *st = store_stmt(s, sql, cause);
	int64_t id = 0;
	int rc;

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		id = store_error(s, "looking up an account", cause);
	sqlite3_reset(st);
	return id;
}

int64_t
store_account(
    struct store *s, const char *name, const char *protocol, char **cause)
{
	static const char sql[] =
	    "INSERT INTO account (name, protocol) VALUES (?, ?)";
	sqlite3_stmt *st;
	int64_t id = store_account_find(s, name, cause);

	if (id != 0)
		return id;
	if ((st = store_stmt(s, sql, cause)) == NULL)
		return -1;
	store_bind_text(st, 1, name);
	store_bind_text(st, 2, protocol);
	if (store_step_done(s, st, "adding an account", cause) != 0)
		return -1;
	id = sqlite3_last_insert_rowid(s->db);
	/* Every account has an INBOX. */
	if (store_folder(s, id, "INBOX", 1, cause) < 0)
		return -1;
	return id;
}

int
store_account_quota(struct store *s, int64_t account_id, int64_t used,
    int64_t limit, char **cause)
{
	static const char sql[] =
	    "UPDATE account SET quota_used = ?, quota_limit = ? WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, cause);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, used);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, account_id);
	return store_step_done(s, st, "storing the quota", cause);
}

int
store_account_get_quota(struct store *s, int64_t account_id, int64_t *used,
    int64_t *limit, char **cause)
{
	static const char sql[] =
	    "SELECT quota_used, quota_limit FROM account WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, cause);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account_id);
	*used = *limit = -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL) {
		*used = sqlite3_column_int64(st, 0);
		*limit = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_reset(st);
		return store_error(s, "reading the quota", cause);
	}
	sqlite3_reset(st);
	return 0;
}

void
store_flags_str(unsigned flags, char *out)
{
	static const char letters[] = "DFPRST";
	size_t i, n = 0;

	for (i = 0; i < 6; i++) {
		if (flags & (1u << i))
			out[n++] = letters[i];
	}
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
}

int
store_flags_parse(const char *spec, unsigned *add, unsigned *del)
{
	static const char letters[] = "DFPRST";
	unsigned *target = add;
	const char *p;

	for (p = spec; *p != '\0'; p++) {
		const char *l;

		if (*p == '+')
			target = add;
		else if (*p == '-')
			target = del;
		else if (*p == ' ')
			continue;
		else if ((l = strchr(letters, *p)) != NULL)
			*target |= 1u << (l - letters);
		else
			return -1;
	}
	return 0;
}
