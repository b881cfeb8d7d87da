/*
 * store: schema, accounts, folders, messages, durability of what was
 * committed, and clear errors for locked and damaged stores.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/core.h"
#include "tern/store.h"
#include "tern/util.h"

static char dir[] = "/tmp/tern-store-XXXXXX";

static int
count_cb(void *arg, const struct store_msg *m)
{
	(*(int *)arg)++;
	return m->uid == 0; /* a UID must always be set */
}

static void
test_basic(void)
{
	struct store *s = NULL;
	struct store_msg m, got;
	struct store_folder *v = NULL;
	struct buf raw;
	char *cause = NULL, flags[8];
	int64_t acct, inbox, arch;
	size_t n = 0;
	int count = 0;

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "home", "pop3", &cause);
	CHECK(acct > 0);
	CHECK(store_account(s, "home", "pop3", &cause) == acct);
	CHECK(store_account_find(s, "nope", &cause) == 0);
	inbox = store_folder(s, acct, "INBOX", 0, &cause);
	CHECK(inbox > 0);
	CHECK(store_folder(s, acct, "Archive", 0, &cause) == 0);
	arch = store_folder(s, acct, "Archive", 1, &cause);
	CHECK(arch > 0 && arch != inbox);

	memset(&m, 0, sizeof m);
	m.folder_id = inbox;
	m.subject = "Hello";
	m.from = "Alice <a@example.net>";
	m.date = 1700000000;
	m.pop3_uidl = "uidl-1";
	CHECK(store_msg_insert(
	          s, &m, "Subject: Hello\r\n\r\nbody\r\n", 24, &cause) == 0);
	CHECK(m.id > 0 && m.uid == (uint32_t)m.id && m.size == 24);
	m.id = 0;
	m.uid = 0;
	m.subject = "Second";
	CHECK(store_msg_insert(s, &m, NULL, 0, &cause) == 0);
	CHECK(m.uid > 0);

	CHECK(store_msg_get(s, inbox, m.uid, &got, &cause) == 1);
	CHECK_STR(got.subject, "Second");
	CHECK(got.has_body == 0);
	store_msg_clear(&got);
	CHECK(store_msg_get(s, inbox, 999999, &got, &cause) == 0);

	buf_init(&raw, 0);
	CHECK(store_msg_raw(s, m.id - 1, &raw, &cause) == 1);
	CHECK(raw.len == 24 && memcmp(raw.data, "Subject: Hello", 14) == 0);
	buf_free(&raw);

	CHECK(store_msg_set_flags(
	          s, m.id, STORE_F_SEEN | STORE_F_FLAGGED, &cause) == 0);
	CHECK(store_msg_get_id(s, m.id, &got, &cause) == 1);
	store_flags_str(got.flags, flags);
	CHECK_STR(flags, "FS");
	store_msg_clear(&got);

	CHECK(store_folder_list(s, acct, &v, &n, &cause) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(v[0].name, "INBOX");
		CHECK(v[0].total == 2 && v[0].unseen == 1);
	}
	store_folder_list_free(v, n);

	CHECK(store_msg_move(s, m.id, arch, &cause) == 0);
	CHECK(store_msg_foreach(s, inbox, count_cb, &count, &cause) == 0);
	CHECK(count == 1);

	CHECK(store_account_quota(s, acct, 100, 1000, &cause) == 0);
	{
		int64_t u, l;

		CHECK(store_account_get_quota(s, acct, &u, &l, &cause) == 0 &&
		    u == 100 && l == 1000);
	}
	store_close(&s);
	CHECK(s == NULL);

	/* Reopen: everything committed is there, the schema is not redone. */
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	CHECK(store_account_find(s, "home", &cause) == acct);
	count = 0;
	CHECK(store_msg_foreach(s, arch, count_cb, &count, &cause) == 0);
	CHECK(count == 1);
	store_close(&s);
}

static void
test_flags(void)
{
	unsigned add = 0, del = 0;
	char out[8];

	CHECK(store_flags_parse("+S -F +T", &add, &del) == 0);
	CHECK(
	    add == (STORE_F_SEEN | STORE_F_DELETED) && del == STORE_F_FLAGGED);
	CHECK(store_flags_parse("+X", &add, &del) == -1);
	store_flags_str(STORE_F_ALL, out);
	CHECK_STR(out, "DFPRST");
	store_flags_str(0, out);
	CHECK_STR(out, "-");
}

static void
test_transactions(void)
{
	struct store *s = NULL;
	struct store_msg m;
	char *cause = NULL;
	int64_t acct, inbox;
	int count = 0;

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "tx", "pop3", &cause);
	inbox = store_folder(s, acct, "INBOX", 1, &cause);
	CHECK(store_begin(s, &cause) == 0);
	memset(&m, 0, sizeof m);
	m.folder_id = inbox;
	CHECK(store_msg_insert(s, &m, "x", 1, &cause) == 0);
	store_rollback(s);
	CHECK(store_msg_foreach(s, inbox, count_cb, &count, &cause) == 0);
	CHECK(count == 0);
	store_close(&s);
}

static void
test_locked(void)
{
	struct store *s = NULL, *s2 = NULL;
	char *cause = NULL;
	sqlite3 *db;
	char *path = xasprintf("%s/tern.db", dir);

	CHECK(store_open(dir, &s, &cause) == 0);
	/* Another process holding the write lock. */
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(
	    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(store_open(dir, &s2, &cause) == 0 || cause != NULL);
	free(cause);
	cause = NULL;
	if (s != NULL) {
		CHECK(store_begin(s, &cause) == -1);
		CHECK(cause != NULL && strstr(cause, "locked") != NULL);
		if (cause)
			printf("# %s\n", cause);
		free(cause);
		cause = NULL;
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	store_close(&s);
	store_close(&s2);
	free(path);
}

static void
test_corrupt(void)
{
	char bad[] = "/tmp/tern-bad-XXXXXX";
	struct store *s = NULL;
	char *cause = NULL, *path;
	int fd;

	CHECK(mkdtemp(bad) != NULL);
	path = xasprintf("%s/tern.db", bad);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(write(fd, "this is not a database, it is a text file....", 46) ==
	    46);
	for (int i = 0; i < 100; i++)
		CHECK(
		    write(fd, "garbage garbage garbage garbage garbage garbag",
		        46) == 46);
	close(fd);
	CHECK(store_open(bad, &s, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "damaged") != NULL);
	if (cause)
		printf("# %s\n", cause);
	free(cause);
	unlink(path);
	free(path);
	rmdir(bad);
}

/* Several terns opening a new store at once: each one migrates or waits. */
static void
test_concurrent_create(void)
{
	char fresh[] = "/tmp/tern-race-XXXXXX";
	pid_t pids[6];
	size_t i;
	int ok = 1, status;
	char *cmd;

	CHECK(mkdtemp(fresh) != NULL);
	for (i = 0; i < TERN_NELEM(pids); i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *s = NULL;
			char *cause = NULL;
			int rc = store_open(fresh, &s, &cause);

			if (rc != 0)
				fprintf(stderr, "# child: %s\n", cause);
			store_close(&s);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < TERN_NELEM(pids); i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
	CHECK(ok);
	cmd = xasprintf("rm -rf %s", fresh);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	free(cmd);
}

/* Keywords: what is an atom, the flags op's argument, applying changes. */
static void
test_keywords(void)
{
	static const char *const good[] = { "$Label1", "work", "a-b_c.d",
		"$Forwarded", "x!#&'+,/:;<=>?@^`|~" };
	static const char *const bad[] = { "", "a b", "(x", "x)", "{x", "x}",
		"50%", "a*", "say\"", "x\\y", "x]", "\\Seen", "bell\a",
		"caf\xc3\xa9", "del\x7f" };
	struct core_flag_change c;
	char *cause = NULL, *s, *kw;
	size_t i;

	for (i = 0; i < TERN_NELEM(good); i++)
		CHECK(core_keyword_check(good[i], NULL) == 0);
	for (i = 0; i < TERN_NELEM(bad); i++) {
		CHECK(core_keyword_check(bad[i], &cause) == -1);
		CHECK(cause != NULL);
		free(cause);
		cause = NULL;
	}
	memset(&c, 0, sizeof c);
	/* The old form still reads as before. */
	CHECK(core_flag_change_parse("+SF -T", &c, NULL) == 0);
	CHECK(c.add == (STORE_F_SEEN | STORE_F_FLAGGED));
	CHECK(c.del == STORE_F_DELETED && c.nkw_add == 0 && c.nkw_del == 0);
	s = core_flag_change_format(&c);
	CHECK_STR(s, "+FS -T");
	free(s);
	core_flag_change_clear(&c);
	CHECK(core_flag_change_parse(
	          "+S +kw:$Label1 -kw:work +kw:Work +kw:$forwarded", &c,
	          NULL) == 0);
	/* The last word on a keyword (any case) wins; $Forwarded is P. */
	CHECK(c.add == (STORE_F_SEEN | STORE_F_PASSED));
	CHECK(c.nkw_add == 2 && c.nkw_del == 0);
	s = core_flag_change_format(&c);
	CHECK_STR(s, "+PS +kw:$Label1 +kw:Work");
	free(s);
	kw = core_keywords_apply("work old", &c);
	CHECK_STR(kw, "work old $Label1");
	free(kw);
	core_flag_change_clear(&c);
	CHECK(core_flag_change_parse("-kw:old -kw:WORK", &c, NULL) == 0);
	kw = core_keywords_apply("work  old keep", &c);
	CHECK_STR(kw, "keep");
	free(kw);
	kw = core_keywords_apply(NULL, &c);
	CHECK_STR(kw, "");
	free(kw);
	core_flag_change_clear(&c);
	/* Refused: bad keywords, unknown letters, empty names. */
	CHECK(core_flag_change_parse("+kw:a(b", &c, &cause) == -1);
	free(cause);
	cause = NULL;
	core_flag_change_clear(&c);
	CHECK(core_flag_change_parse("+kw:", &c, NULL) == -1);
	core_flag_change_clear(&c);
	CHECK(core_flag_change_parse("+X", &c, NULL) == -1);
	core_flag_change_clear(&c);
	for (i = 0; i < CORE_KEYWORD_CHANGES + 1; i++) {
		char w[16];

		snprintf(w, sizeof w, "k%zu", i);
		if (core_flag_change_keyword(&c, 1, w, NULL) != 0)
			break;
	}
	CHECK(i == CORE_KEYWORD_CHANGES);
	core_flag_change_clear(&c);
}

/* Text of one index's CREATE statement, or "" (static buffer). */
static const char *
index_sql(sqlite3 *db, const char *name)
{
	static char out[256];
	sqlite3_stmt *st;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db,
	        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?",
	        -1, &st, NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, sizeof out, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

/*
 * A store made before the UID and date indexes were descending: opening
 * it rebuilds them, and every message is still found by UID and in date
 * order.
 */
static void
test_migrate_desc(void)
{
	char old[] = "/tmp/tern-old-XXXXXX";
	struct store *s = NULL;
	struct store_msg m, got;
	char *cause = NULL, *path, *cmd;
	int64_t acct, inbox, ids[8], keys[8];
	uint32_t uid;
	size_t n = 0;
	sqlite3 *db;

	CHECK(mkdtemp(old) != NULL);
	CHECK(store_open(old, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "work", "imap", &cause);
	inbox = store_folder(s, acct, "INBOX", 1, &cause);
	for (uid = 1; uid <= 300; uid++) {
		memset(&m, 0, sizeof m);
		m.folder_id = inbox;
		m.uid = uid;
		m.uidvalidity = 7;
		m.date = 1700000000 + (int64_t)uid * 60;
		m.subject = "migrated";
		CHECK(store_imap_upsert(s, &m, &cause) == 0);
	}
	store_close(&s);

	/* Back to version 5, as an older tern left it. */
	path = xasprintf("%s/tern.db", old);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(strstr(index_sql(db, "message_by_uid"), "uid DESC") != NULL);
	CHECK(
	    sqlite3_exec(db,
	        "DROP INDEX message_by_uid; DROP INDEX message_by_date;"
	        "CREATE UNIQUE INDEX message_by_uid ON message(folder_id, uid);"
	        "CREATE INDEX message_by_date ON message(folder_id, date, id);"
	        /* and without the pack files of version 8 */
	        "DROP TRIGGER body_unpack; DROP INDEX body_by_pack;"
	        "DROP TABLE pack_free; DROP TABLE pack;"
	        "ALTER TABLE body DROP COLUMN pack_id;"
	        "ALTER TABLE body DROP COLUMN pack_off;"
	        "ALTER TABLE body DROP COLUMN pack_len;"
	        /* and without the send state of version 9 */
	        "ALTER TABLE pending DROP COLUMN state;"
	        "ALTER TABLE pending DROP COLUMN mark;"
	        "ALTER TABLE pending DROP COLUMN msgid;"
	        "ALTER TABLE pending DROP COLUMN placeholder;"
	        /* and without the keywords of version 10 */
	        "ALTER TABLE pending_raw DROP COLUMN keywords;"
	        /* and without the search index of version 11 */
	        "DROP TRIGGER fts_stale; DROP TRIGGER fts_top_gone;"
	        "DROP TRIGGER fts_moved; DROP TRIGGER fts_refiled;"
	        "DROP TABLE fts; DROP TABLE fts_doc;"
	        "DROP TABLE fts_state;"
	        "PRAGMA user_version = 5;",
	        NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	CHECK(store_open(old, &s, &cause) == 0);
	if (s != NULL) {
		CHECK(store_msg_get(s, inbox, 1, &got, &cause) == 1);
		store_msg_clear(&got);
		CHECK(store_msg_get(s, inbox, 300, &got, &cause) == 1 &&
		    got.date == 1700000000 + 300 * 60);
		store_msg_clear(&got);
		/* The newest eight, newest first. */
		CHECK(store_index_ids_before(s, inbox, STORE_SORT_DATE,
		          INT64_MAX, INT64_MAX, 8, ids, keys, &n, &cause) == 0);
		CHECK(n == 8 && keys[0] == 1700000000 + 300 * 60 &&
		    keys[7] == 1700000000 + 293 * 60);
		store_close(&s);
	}
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(strstr(index_sql(db, "message_by_uid"), "uid DESC") != NULL);
	CHECK(strstr(index_sql(db, "message_by_date"), "date DESC") != NULL);
	sqlite3_close(db);
	free(path);
	cmd = xasprintf("rm -rf %s", old);
	CHECK(system(cmd) == 0);
	free(cmd);
}

/*
 * The Message-ID index set aside for a big fetch and built again after:
 * both steps can be repeated, and the index built is the one the
 * schema makes, over the rows stored without it.
 */
static void
test_msgid_index(void)
{
	char d[] = "/tmp/tern-msgid-XXXXXX";
	struct store *s = NULL;
	struct store_msg m;
	char *cause = NULL, *path, *cmd, *made, mid[64];
	int64_t acct, inbox;
	uint32_t uid;
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	CHECK(mkdtemp(d) != NULL);
	CHECK(store_open(d, &s, &cause) == 0);
	if (s == NULL)
		return;
	path = xasprintf("%s/tern.db", d);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	made = xstrdup(index_sql(db, "message_by_msgid"));
	CHECK(strstr(made, "message(message_id)") != NULL);
	acct = store_account(s, "work", "imap", &cause);
	inbox = store_folder(s, acct, "INBOX", 1, &cause);
	CHECK(store_imap_msgid_index(s, 0, &cause) == 0);
	CHECK(store_imap_msgid_index(s, 0, &cause) == 0);
	CHECK(*index_sql(db, "message_by_msgid") == '\0');
	for (uid = 1; uid <= 100; uid++) {
		memset(&m, 0, sizeof m);
		m.folder_id = inbox;
		m.uid = uid;
		m.uidvalidity = 7;
		snprintf(mid, sizeof mid, "<%u.%08x@example.org>", uid,
		    uid * 2654435761u);
		m.message_id = mid;
		CHECK(store_imap_upsert(s, &m, &cause) == 0);
	}
	CHECK(store_imap_msgid_index(s, 1, &cause) == 0);
	CHECK(store_imap_msgid_index(s, 1, &cause) == 0);
	CHECK_STR(index_sql(db, "message_by_msgid"), made);
	CHECK(sqlite3_prepare_v2(db,
	          "SELECT count(*) FROM message INDEXED BY message_by_msgid"
	          " WHERE message_id > ''",
	          -1, &st, NULL) == SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	CHECK(n == 100);
	sqlite3_close(db);
	store_close(&s);
	free(made);
	free(path);
	cmd = xasprintf("rm -rf %s", d);
	CHECK(system(cmd) == 0);
	free(cmd);
}

int
main(void)
{
	char *cmd;

	if (mkdtemp(dir) == NULL)
		return 99;
	test_flags();
	test_keywords();
	test_basic();
	test_transactions();
	test_locked();
	test_corrupt();
	test_concurrent_create();
	test_migrate_desc();
	test_msgid_index();
	cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	free(cmd);
	return test_done();
}
