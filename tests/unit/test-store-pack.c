/*
 * store: bodies in pack files. Written, read back, searched and found as
 * duplicates; what a rollback or a crashed writer leaves behind is cut
 * off; a deleted body's space is given back, and an empty pack removed.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/store.h"
#include "tern/util.h"

static char dir[] = "/tmp/tern-pack-XXXXXX";

/* A message of len bytes whose text says which it is. */
static char *
body(int n, size_t len)
{
	char *b = xmalloc(len + 1);
	int k = snprintf(b, len + 1,
	    "Subject: pack %d\r\nMessage-ID: <p%d@x>\r\n\r\nword%dword ", n, n,
	    n);
	size_t i;

	for (i = (size_t)k; i < len; i++)
		b[i] = (char)('a' + (i + (size_t)n) % 26);
	b[len] = '\0';
	return b;
}

static int64_t
insert(struct store *s, int64_t acct, int64_t folder, int n, const char *raw,
    size_t len)
{
	struct store_msg m;
	char *cause = NULL, mid[32];

	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	snprintf(mid, sizeof mid, "<p%d@x>", n);
	m.message_id = mid;
	m.subject = "pack";
	m.date = 1700000000 + n;
	if (store_msg_insert_packed(s, acct, &m, raw, len, &cause) != 0) {
		printf("# %s\n", cause);
		free(cause);
		return -1;
	}
	return m.id;
}

/* Both ways of reading a body give raw: copied, and mapped. */
static int
same(struct store *s, int64_t id, const char *raw, size_t len)
{
	struct store_body sb;
	struct buf b;
	char *cause = NULL;
	int ok;

	buf_init(&b, 0);
	ok = store_msg_raw(s, id, &b, &cause) == 1 && b.len == len &&
	    memcmp(b.data, raw, len) == 0;
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	cause = NULL;
	buf_free(&b);
	if (store_msg_body(s, id, &sb, &cause) == 1) {
		ok = ok && sb.len == len && memcmp(sb.data, raw, len) == 0 &&
		    sb.data[len] == '\0';
		store_body_release(&sb);
	} else
		ok = 0;
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	return ok;
}

/*
 * A body mapped from its pack, at every alignment around a page end, and
 * one from the database, each with the '\0' after it; the mapping stays
 * good after the store is closed.
 */
static void
test_body(void)
{
	char d[] = "/tmp/tern-body-XXXXXX", *cause = NULL, *cmd;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE),
	       lens[] = { 1, pg - 1, pg, pg + 1, 3 * pg - 7 };
	struct store_body sb[TERN_NELEM(lens) + 1];
	char *b[TERN_NELEM(lens) + 1];
	int64_t ids[TERN_NELEM(lens) + 1], acct, folder;
	struct store_msg m;
	struct store *s = NULL;
	size_t i, n = TERN_NELEM(lens);

	CHECK(mkdtemp(d) != NULL);
	CHECK(store_open(d, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "home", "pop3", &cause);
	folder = store_folder(s, acct, "INBOX", 1, &cause);
	CHECK(store_begin(s, &cause) == 0);
	for (i = 0; i < n; i++) {
		b[i] = body((int)i, lens[i] + 40);
		ids[i] = insert(s, acct, folder, (int)i, b[i], lens[i] + 40);
	}
	CHECK(store_commit(s, &cause) == 0);
	b[n] = body(99, 100000);
	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	CHECK(store_msg_insert(s, &m, b[n], 100000, &cause) == 0);
	ids[n] = m.id;
	for (i = 0; i <= n; i++)
		CHECK(store_msg_body(s, ids[i], &sb[i], &cause) == 1);
	store_close(&s);
	for (i = 0; i <= n; i++) {
		size_t len = i < n ? lens[i] + 40 : 100000;

		CHECK(sb[i].len == len && memcmp(sb[i].data, b[i], len) == 0 &&
		    sb[i].data[len] == '\0');
		CHECK((sb[i].map != NULL) == (i < n));
		store_body_release(&sb[i]);
		CHECK(sb[i].data == NULL);
		free(b[i]);
	}
	cmd = xasprintf("rm -rf %s", d);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	free(cmd);
}

static int64_t
file_size(int64_t pack, blkcnt_t *blocks)
{
	char *path = xasprintf("%s/packs/%lld", dir, (long long)pack);
	struct stat sb;
	int rc = stat(path, &sb);

	free(path);
	if (rc != 0)
		return -1;
	if (blocks != NULL)
		*blocks = sb.st_blocks;
	return sb.st_size;
}

/* One integer the database says, read from outside the store. */
static int64_t
sql_int(const char *sql)
{
	char *path = xasprintf("%s/tern.db", dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	free(path);
	return v;
}

static void
sql_exec(const char *sql)
{
	char *path = xasprintf("%s/tern.db", dir);
	sqlite3 *db;

	CHECK(sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

static void
test_pack(void)
{
	struct store *s = NULL;
	char *cause = NULL, *b[6], *path;
	size_t len[6] = { 300, 5000, 3u << 20, 70000, 2000, 65536 };
	int64_t acct, other, inbox, oinbox, id[6], *ids = NULL, size;
	blkcnt_t before, after;
	size_t n = 0, i;
	FILE *f;

	for (i = 0; i < 6; i++)
		b[i] = body((int)i + 1, len[i]);
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "home", "pop3", &cause);
	other = store_account(s, "work", "pop3", &cause);
	inbox = store_folder(s, acct, "INBOX", 1, &cause);
	oinbox = store_folder(s, other, "INBOX", 1, &cause);

	/* Three in one transaction, the big one straight to the file. */
	CHECK(store_begin(s, &cause) == 0);
	for (i = 0; i < 3; i++)
		id[i] = insert(s, acct, inbox, (int)i + 1, b[i], len[i]);
	CHECK(store_commit(s, &cause) == 0);
	size = (int64_t)(len[0] + len[1] + len[2]);
	CHECK(file_size(1, NULL) == size);
	CHECK(sql_int("SELECT size FROM pack WHERE id = 1") == size);
	CHECK(sql_int("SELECT count(*) FROM body WHERE pack_id = 1 AND"
	              " length(raw) = 0") == 3);
	for (i = 0; i < 3; i++)
		CHECK(same(s, id[i], b[i], len[i]));
	/* Searched and found as a duplicate like any body. */
	CHECK(store_index_ids(s, inbox, STORE_SORT_DATE, "word2word", &ids, &n,
	          &cause) == 0);
	CHECK(n == 1 && ids[0] == id[1]);
	free(ids);
	CHECK(
	    store_msg_find_same(s, inbox, "<p3@x>", b[2], len[2], &cause) == 1);
	CHECK(
	    store_msg_find_same(s, inbox, "<p3@x>", b[1], len[1], &cause) == 0);

	/* A rollback leaves the pack as committed. */
	CHECK(store_begin(s, &cause) == 0);
	CHECK(insert(s, acct, inbox, 4, b[3], len[3]) > 0);
	store_rollback(s);
	CHECK(file_size(1, NULL) == size);
	/* ... and one in a new pack takes the file with it. */
	CHECK(store_begin(s, &cause) == 0);
	CHECK(insert(s, other, oinbox, 4, b[3], len[3]) > 0);
	CHECK(file_size(2, NULL) >= 0);
	store_rollback(s);
	CHECK(file_size(2, NULL) == -1);
	CHECK(sql_int("SELECT count(*) FROM pack") == 1);
	store_close(&s);

	/* A writer killed before its commit left bytes past the end. */
	path = xasprintf("%s/packs/1", dir);
	CHECK((f = fopen(path, "a")) != NULL && fputs("torn", f) >= 0 &&
	    fclose(f) == 0);
	free(path);
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	id[3] = insert(s, acct, inbox, 4, b[3], len[3]);
	size += (int64_t)len[3];
	CHECK(file_size(1, NULL) == size);
	CHECK(same(s, id[3], b[3], len[3]));
	CHECK(sql_int("SELECT pack_off FROM body WHERE pack_len = 70000") ==
	    size - (int64_t)len[3]);

	/* Deleted: the bytes are punched out at close, the others stay. */
	(void)file_size(1, &before);
	CHECK(store_msg_delete(s, id[2], &cause) == 0);
	CHECK(sql_int("SELECT count(*) FROM pack_free") == 1);
	store_close(&s);
	CHECK(sql_int("SELECT count(*) FROM pack_free") == 0);
	(void)file_size(1, &after);
	CHECK(after < before - (blkcnt_t)(len[2] / 512) / 2);
	CHECK(file_size(1, NULL) == size);
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	CHECK(same(s, id[0], b[0], len[0]));
	CHECK(same(s, id[1], b[1], len[1]));
	CHECK(same(s, id[3], b[3], len[3]));

	/* Full (as if): the next body starts pack 2, and pack 1, emptied,
	 * goes. The newest pack stays even when empty: it is appended to. */
	sql_exec("UPDATE pack SET size = 1 << 40 WHERE id = 1");
	id[4] = insert(s, acct, inbox, 5, b[4], len[4]);
	CHECK(sql_int("SELECT pack_id FROM body WHERE pack_len = 2000") == 2);
	CHECK(same(s, id[4], b[4], len[4]));
	CHECK(store_msg_delete(s, id[0], &cause) == 0);
	CHECK(store_msg_delete(s, id[1], &cause) == 0);
	CHECK(store_msg_delete(s, id[3], &cause) == 0);
	CHECK(store_msg_delete(s, id[4], &cause) == 0);
	store_close(&s);
	CHECK(file_size(1, NULL) == -1);
	CHECK(sql_int("SELECT count(*) FROM pack") == 1);
	CHECK(file_size(2, NULL) == (int64_t)len[4]);

	/* A pack file gone: a clear error, not a wrong body. */
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	id[5] = insert(s, acct, inbox, 6, b[5], len[5]);
	path = xasprintf("%s/packs/2", dir);
	CHECK(truncate(path, 100) == 0);
	free(path);
	{
		struct buf got;

		buf_init(&got, 0);
		CHECK(store_msg_raw(s, id[5], &got, &cause) == -1);
		CHECK(cause != NULL && strstr(cause, "packs/2 ends") != NULL);
		free(cause);
		cause = NULL;
		/* A damaged row that claims a petabyte: refused, nothing
		 * allocated for it. */
		sql_exec("UPDATE body SET pack_len = 1 << 50 WHERE pack_id = 1"
		         " OR pack_id = 2");
		CHECK(store_msg_raw(s, id[5], &got, &cause) == -1);
		CHECK(cause != NULL && strstr(cause, "ends at byte") != NULL);
		free(cause);
		cause = NULL;
		buf_free(&got);
	}
	/* ... and no place for more: the next body starts a new pack, as
	 * it does when the file was removed. */
	id[0] = insert(s, acct, inbox, 1, b[0], len[0]);
	CHECK(sql_int("SELECT max(pack_id) FROM body") == 3);
	CHECK(same(s, id[0], b[0], len[0]));
	path = xasprintf("%s/packs/3", dir);
	CHECK(unlink(path) == 0);
	free(path);
	id[1] = insert(s, acct, inbox, 2, b[1], len[1]);
	CHECK(sql_int("SELECT max(pack_id) FROM body") == 4);
	CHECK(same(s, id[1], b[1], len[1]));
	store_close(&s);
	for (i = 0; i < 6; i++)
		free(b[i]);
}

/* An IMAP index row: uid, arrived at t, size bytes on the server. */
static int64_t
imap_row(struct store *s, int64_t folder, uint32_t uid, int64_t t, int64_t size)
{
	struct store_msg m;
	char *cause = NULL;
	int64_t id;

	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	m.uid = uid;
	m.uidvalidity = 7;
	m.internaldate = t;
	m.size = size;
	if (store_imap_upsert(s, &m, &cause) != 0 ||
	    store_msg_get(s, folder, uid, &m, &cause) != 1) {
		printf("# %s\n", cause ? cause : "not stored");
		free(cause);
		return -1;
	}
	id = m.id;
	store_msg_clear(&m);
	return id;
}

/*
 * Folders kept offline: which messages still need a body (newest first,
 * by age, neither whole nor as a view, never a placeholder), how much a
 * folder keeps, and an expunged message takes its body, parts and pack
 * bytes with it.
 */
static void
test_offline(void)
{
	char d[] = "/tmp/tern-offline-XXXXXX", *cause = NULL, *cmd, *b;
	struct store *s = NULL;
	struct store_offline_msg *v = NULL;
	struct store_offline_stats st;
	int64_t acct, box, id[6], now = 1700000000, day = 86400;
	size_t n = 0, blen = 200000;
	uint32_t ph = 0;
	char *packpath;
	struct stat sb;
	blkcnt_t before;

	if (mkdtemp(d) == NULL) {
		CHECK(0);
		return;
	}
	b = body(9, blen);
	CHECK(store_open(d, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "work", "imap", &cause);
	box = store_folder(s, acct, "INBOX", 1, &cause);
	id[0] = imap_row(s, box, 1, now - 40 * day, 100);
	id[1] = imap_row(s, box, 2, now - 20 * day, 5000);
	id[2] = imap_row(s, box, 3, now - 2 * day, 300);
	id[3] = imap_row(s, box, 5, now - day, 20000000);
	id[4] = imap_row(s, box, 4, 0, 400); /* no date at all */
	CHECK(store_offline_wanted(s, box, 0, &v, &n, &cause) == 0);
	CHECK(n == 5 && v[0].uid == 5 && v[1].uid == 4 && v[4].uid == 1);
	CHECK(n == 5 && v[0].size == 20000000);
	free(v);
	/* The last 30 days: neither the old one nor the one with no date. */
	CHECK(
	    store_offline_wanted(s, box, now - 30 * day, &v, &n, &cause) == 0);
	CHECK(n == 3 && v[0].uid == 5 && v[1].uid == 3 && v[2].uid == 2);
	free(v);

	/* Kept whole (a pack, as a bulk download keeps it), kept as a
	 * view: no longer wanted. A placeholder UID is never asked for. */
	CHECK(store_begin(s, &cause) == 0);
	CHECK(store_msg_delete(s, id[4], &cause) == 0);
	{
		struct store_msg m;

		memset(&m, 0, sizeof m);
		m.folder_id = box;
		m.uid = 4;
		m.internaldate = now;
		CHECK(
		    store_msg_insert_packed(s, acct, &m, b, blen, &cause) == 0);
		id[4] = m.id;
	}
	CHECK(store_commit(s, &cause) == 0);
	CHECK(store_part_set(
	          s, id[3], STORE_PART_VIEW, "skeleton", 8, &cause) == 0);
	CHECK(store_part_set(s, id[3], "2", "attachment", 10, &cause) == 0);
	CHECK(store_msg_set_raw(
	          s, id[0], "Subject: x\r\n\r\nold", 17, &cause) == 0);
	CHECK(store_imap_move_placeholder(s, id[1], box, &ph, &cause) == 0);
	CHECK(ph >= STORE_UID_PLACEHOLDER_MIN);
	CHECK(store_offline_wanted(s, box, 0, &v, &n, &cause) == 0);
	CHECK(n == 1 && v[0].uid == 3);
	free(v);
	CHECK(store_offline_stats(s, box, &st, &cause) == 0);
	CHECK(st.total == 5 && st.kept == 3);
	CHECK(st.bytes == (int64_t)blen + 17 + 8 + 10);

	/* Expunged on the server: the sync deletes the rows, and with them
	 * the body, the parts and (at close) the bytes in the pack. */
	packpath = xasprintf("%s/packs/1", d);
	CHECK(stat(packpath, &sb) == 0);
	before = sb.st_blocks;
	CHECK(store_begin(s, &cause) == 0);
	CHECK(store_imap_delete_uid(s, box, 4, &cause) == 1);
	CHECK(store_imap_delete_uid(s, box, 5, &cause) == 1);
	CHECK(store_commit(s, &cause) == 0);
	CHECK(store_offline_stats(s, box, &st, &cause) == 0);
	CHECK(st.total == 3 && st.kept == 1 && st.bytes == 17);
	{
		struct buf got;

		buf_init(&got, 0);
		CHECK(store_part_get(s, id[3], "2", &got, &cause) == 0);
		CHECK(store_msg_raw(s, id[4], &got, &cause) == 0);
		buf_free(&got);
	}
	store_close(&s);
	CHECK(stat(packpath, &sb) == 0);
	CHECK(sb.st_blocks < before - (blkcnt_t)(blen / 512) / 2);
	free(packpath);
	free(b);
	cmd = xasprintf("rm -rf %s", d);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	free(cmd);
}

int
main(void)
{
	char *cmd;

	if (mkdtemp(dir) == NULL)
		return 99;
	test_pack();
	test_body();
	test_offline();
	cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cleanup failed\n");
	free(cmd);
	return test_done();
}
