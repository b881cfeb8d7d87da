/*
 * The store's full-text index and its patterns: what a reader sees is
 * found (quoted-printable, base64, Latin-1, KOI8-R, ISO-2022-JP, HTML),
 * folded for case and diacritics, and what no one sees (an attachment's
 * bytes) is not; every operator alone and combined on a fixed folder;
 * an IMAP row indexed by its envelope and then by its body or view;
 * deletes; and the fill of an older store, killed mid-way and resumed.
 */
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/mime.h"
#include "tern/pattern.h"
#include "tern/store.h"
#include "tern/util.h"

/* 2024-07-15 12:00:00 UTC; the tests run in UTC. */
#define NOW 1721044800

static char dir[] = "/tmp/tern-fts-XXXXXX";

static const char m1[] =
    "From: =?ISO-8859-1?Q?H=E9l=E8ne_Dupont?= <helene@example.fr>\r\n"
    "To: bob@example.org\r\n"
    "Cc: carol@example.org\r\n"
    "Subject: Rendez-vous\r\n"
    "Date: Wed, 10 Jan 2024 12:00:00 +0000\r\n"
    "Message-ID: <m1@example.fr>\r\n"
    "List-Id: Team <team.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "A bient=F4t, on se voit =E0 la r=E9union.\r\n";
static const char m2[] =
    "From: Bob <bob@example.org>\r\n"
    "To: alice@example.org\r\n"
    "Subject: =?UTF-8?B?w5xiZXI=?= uns\r\n"
    "Date: Tue, 05 Mar 2024 12:00:00 +0000\r\n"
    "Message-ID: <m2@example.org>\r\n"
    "In-Reply-To: <m1@example.fr>\r\n"
    "References: <m1@example.fr>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
    "\r\n"
    "--xx\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "V2lyIHNwcmVjaGVuIMO8YmVyIGRhcyBQcm9qZWt0Lgo=\r\n"
    "--xx\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"rapport-final.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "Z2VoZWltd29ydA==\r\n"
    "--xx--\r\n";
static const char m3[] =
    "From: =?KOI8-R?B?6dfBzg==?= <ivan@example.ru>\r\n"
    "To: alice@example.org\r\n"
    "Cc: dave@example.org\r\n"
    "Subject: =?KOI8-R?B?99PU0sXewSDawdfU0sE=?=\r\n"
    "Date: Thu, 20 Jun 2024 12:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=koi8-r\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "\xf7\xd3\xd4\xd2\xc5\xde\xc1 \xd7 \xc4\xc5\xd3\xd1\xd4\xd8 "
    "\xde\xc1\xd3\xcf\xd7.\r\n";
static const char m4[] =
    "From: Taro <taro@example.jp>\r\n"
    "To: alice@example.org\r\n"
    "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n"
    "Date: Tue, 02 Jul 2024 12:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=iso-2022-jp\r\n"
    "\r\n"
    "\x1b$BF|K\\8l\x1b(B \x1b$B$N\x1b(B \x1b$B%F%9%H\x1b(B\r\n";
static const char m5_head[] =
    "From: News <news@example.com>\r\n"
    "To: alice@example.org\r\n"
    "Subject: Newsletter\r\n"
    "Date: Wed, 10 Jul 2024 12:00:00 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<html><body><p>Le <b>caf\xc3\xa9</b> est servi</p>\r\n"
    "<!-- ";

static int64_t ids[6];

/* Store raw as a POP3 download does: the envelope parsed, the body packed. */
static int64_t
add(struct store *s, int64_t account, int64_t folder, const char *raw,
    size_t len, unsigned flags)
{
	struct mime_envelope env;
	struct store_msg m;
	char *cause = NULL;
	int rc;

	memset(&env, 0, sizeof env);
	memset(&m, 0, sizeof m);
	mime_envelope_parse(raw, len, &env);
	m.folder_id = folder;
	m.flags = flags;
	m.date = env.date;
	m.from = env.from;
	m.to = env.to;
	m.cc = env.cc;
	m.subject = env.subject;
	m.message_id = env.message_id;
	m.in_reply_to = env.in_reply_to;
	m.refs = env.refs;
	m.content_type = env.content_type;
	m.has_attach = env.has_attach;
	rc = account > 0
	    ? store_msg_insert_packed(s, account, &m, raw, len, &cause)
	    : store_msg_insert(s, &m, raw, len, &cause);
	mime_envelope_clear(&env);
	if (rc != 0) {
		printf("# %s\n", cause);
		free(cause);
		return -1;
	}
	return m.id;
}

/*
 * The messages of scope that match text, as the digits of their place
 * in ids ("" for none, "ERR ..." on an error); static, overwritten.
 */
static const char *
q3(struct store *s, int64_t account, int64_t folder, const char *text)
{
	static char out[64];
	struct pattern *p = NULL;
	int64_t *v = NULL;
	size_t n = 0, i, k, o = 0;
	char *cause = NULL;

	if (pattern_parse(text, NOW, &p, NULL, &cause) != 0 ||
	    store_search(
	        s, account, folder, p, STORE_SORT_DATE, &v, &n, &cause) != 0) {
		snprintf(out, sizeof out, "ERR %s", cause);
		free(cause);
		pattern_free(&p);
		return out;
	}
	for (i = 0; i < n && o + 2 < sizeof out; i++) {
		for (k = 1; k < TERN_NELEM(ids) && ids[k] != v[i]; k++)
			;
		out[o++] = k < TERN_NELEM(ids) ? (char)('0' + k) : '?';
	}
	out[o] = '\0';
	free(v);
	pattern_free(&p);
	return out;
}

static int64_t folder_id;
#define Q(text) q3(s, 0, folder_id, text)

static void
test_patterns(struct store *s, int64_t acct)
{
	struct buf m5;
	int64_t other;
	char *cause = NULL;

	folder_id = store_folder(s, acct, "INBOX", 1, &cause);
	other = store_folder(s, acct, "Other", 1, &cause);
	buf_init(&m5, 0);
	buf_adds(&m5, m5_head);
	while (m5.len < 6000)
		buf_adds(&m5, "padding padding padding ");
	buf_adds(&m5, "-->\r\n</body></html>\r\n");
	ids[1] = add(s, acct, folder_id, m1, sizeof m1 - 1,
	    STORE_F_SEEN | STORE_F_FLAGGED);
	ids[2] = add(s, 0, folder_id, m2, sizeof m2 - 1, 0);
	ids[3] = add(s, acct, folder_id, m3, sizeof m3 - 1,
	    STORE_F_SEEN | STORE_F_DELETED);
	ids[4] = add(s, 0, folder_id, m4, sizeof m4 - 1, 0);
	ids[5] = add(s, acct, folder_id, m5.data, m5.len, STORE_F_SEEN);
	/* Another folder's copy of m1 is found only when it is searched. */
	CHECK(add(s, acct, other, m1, sizeof m1 - 1, 0) > 0);
	buf_free(&m5);
	/* Those of a download (packed) wait for the fill; the others were
	 * indexed as they were stored. */
	CHECK(store_fts_pending(s, &cause) == 4);
	CHECK_STR(q3(s, 0, folder_id, "bientot"), "");
	CHECK_STR(q3(s, 0, folder_id, "~s uber"), "2");
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK(store_fts_pending(s, &cause) == 0);

	/* Folding: case and diacritics, in every script. */
	CHECK_STR(Q("bientot"), "1");
	CHECK_STR(Q("bientôt"), "1");
	CHECK_STR(Q("BIENTÔT"), "1");
	CHECK_STR(Q("uber"), "2");
	CHECK_STR(Q("über"), "2");
	CHECK_STR(Q("ÜBER"), "2");
	CHECK_STR(Q("встреча"), "3");
	CHECK_STR(Q("ВСТРЕЧА"), "3");
	CHECK_STR(Q("часов"), "3");
	CHECK_STR(Q("Hélène"), "1");
	CHECK_STR(Q("helene"), "1");
	CHECK_STR(Q("~b 日本語"), "4");
	CHECK_STR(Q("~s 日本語"), "4");
	CHECK_STR(Q("~b テスト"), "4");
	/* HTML converted; an attachment by its name, never its bytes. */
	CHECK_STR(Q("~b café"), "5");
	CHECK_STR(Q("~b cafe"), "5");
	CHECK_STR(Q("~b servi"), "5");
	CHECK_STR(Q("~b html"), "");
	CHECK_STR(Q("~b rapport"), "2");
	CHECK_STR(Q("~b rapport-final.pdf"), "2");
	CHECK_STR(Q("~b geheimwort"), "");
	CHECK_STR(Q("~B geheimwort"), "");
	CHECK_STR(Q("Z2VoZWltd29ydA"), "");
	/* Phrases and prefixes. */
	CHECK_STR(Q("\"on se voit\""), "1");
	CHECK_STR(Q("\"voit se on\""), "");
	CHECK_STR(Q("~b bient*"), "1");
	CHECK_STR(Q("bien*"), "1");
	CHECK_STR(Q("~b \"se vo*\""), "1");
	CHECK_STR(Q("~s rendez"), "1");
	CHECK_STR(Q("~s \"Über uns\""), "2");
	CHECK_STR(Q("~s \"uns Über\""), "");

	/* Each operator alone. */
	CHECK_STR(Q("~f helene"), "1");
	CHECK_STR(Q("~f example.org"), "2");
	CHECK_STR(Q("~f ivan@example.ru"), "3");
	CHECK_STR(Q("~t bob"), "1");
	CHECK_STR(Q("~t alice"), "2345");
	CHECK_STR(Q("~c carol"), "1");
	CHECK_STR(Q("~c dave"), "3");
	CHECK_STR(Q("~C bob"), "1");
	CHECK_STR(Q("~C dave"), "3");
	CHECK_STR(Q("~C alice"), "2345");
	CHECK_STR(Q("~s uns"), "2");
	CHECK_STR(Q("~s bientot"), "");
	CHECK_STR(Q("~b bientot"), "1");
	CHECK_STR(Q("~b uns"), "");
	CHECK_STR(Q("~B uns"), "2");
	CHECK_STR(Q("~B bientot"), "1");
	CHECK_STR(Q("~h team"), "1");
	CHECK_STR(Q("~h \"List-Id: team\""), "1");
	CHECK_STR(Q("~h \"List-Id: bientot\""), "");
	CHECK_STR(Q("~h subject:uns"), "2");
	CHECK_STR(Q("~h \"From: ivan\""), "3");
	CHECK_STR(Q("~h \"MIME-Version: 1.0\""), "12345");
	CHECK_STR(Q("~x m1@example.fr"), "2");
	CHECK_STR(Q("~x <m1@example.fr>"), "2");
	CHECK_STR(Q("~x m2@"), "");
	CHECK_STR(Q("~d 2024-01-01-2024-03-31"), "12");
	CHECK_STR(Q("~d 2024-06-20"), "3");
	CHECK_STR(Q("~d -2024-03-05"), "12");
	CHECK_STR(Q("~d 2024-07-01-"), "45");
	CHECK_STR(Q("~d <2w"), "45");
	CHECK_STR(Q("~d >1m"), "12");
	CHECK_STR(Q("~F"), "1");
	CHECK_STR(Q("~N"), "24");
	CHECK_STR(Q("~U"), "24");
	CHECK_STR(Q("~R"), "135");
	CHECK_STR(Q("~D"), "3");
	CHECK_STR(Q("~A"), "12345");
	CHECK_STR(Q("~z >4K"), "5");
	CHECK_STR(Q("~z <4K"), "1234");
	CHECK_STR(Q("~z 0-4K"), "1234");
	/* A bare word is from, subject or body, not to or cc. */
	CHECK_STR(Q("ivan"), "3");
	CHECK_STR(Q("carol"), "");
	CHECK_STR(Q("newsletter"), "5");

	/* Combined. */
	CHECK_STR(Q("!~R"), "24");
	CHECK_STR(Q("~R !~D"), "15");
	CHECK_STR(Q("~U | ~F"), "124");
	CHECK_STR(Q("(~f bob | ~f ivan) ~U"), "2");
	CHECK_STR(Q("uber | встреча"), "23");
	CHECK_STR(Q("!(~b bientot | ~s uns)"), "345");
	CHECK_STR(Q("~s uns !~b projekt"), "");
	CHECK_STR(Q("~s uns !~b nothing"), "2");
	CHECK_STR(Q("!~b nothing"), "12345");
	CHECK_STR(Q("~t alice ~d 2024-07-01- !~R"), "4");
	CHECK_STR(Q("~C alice (~z >4K | ~b 日本語)"), "45");
	CHECK_STR(Q("~f helene ~b bientot ~s rendez"), "1");
	CHECK_STR(Q("~b bientot | ~x m1@example.fr"), "12");
	CHECK_STR(Q("~b 'a \"quote'"), "");

	/* A message moved to another folder is found there, by text alone
	 * and with a flag. */
	CHECK(store_msg_move(s, ids[1], other, &cause) == 0);
	CHECK_STR(Q("bientot"), "");
	CHECK_STR(q3(s, 0, other, "bientot"), "1?");
	CHECK_STR(q3(s, 0, other, "bientot ~F"), "1");
	CHECK(store_msg_move(s, ids[1], folder_id, &cause) == 0);
	CHECK_STR(Q("bientot ~F"), "1");
	/* Text alone is in date order too, across folders. */
	CHECK_STR(q3(s, acct, 0, "~t alice"), "2345");

	/* Scopes: the account, every folder. */
	CHECK_STR(q3(s, acct, 0, "bientot"), "1?");
	CHECK_STR(q3(s, 0, 0, "bientot"), "1?");
	CHECK_STR(q3(s, acct + 1000, 0, "bientot"), "");
	CHECK_STR(q3(s, 0, other, "bientot"), "?");
}

static int64_t
count(struct store *s, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *path = xasprintf("%s/tern.db", dir);
	int64_t n = -1;

	(void)s;
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return n;
}

/* An IMAP row: its envelope at once, its body or view when stored. */
static void
test_imap_rows(struct store *s)
{
	struct store_msg m;
	int64_t acct, f, stale0, stale, live;
	char *cause = NULL;

	acct = store_account(s, "work", "imap", &cause);
	f = store_folder(s, acct, "INBOX", 1, &cause);
	memset(&m, 0, sizeof m);
	m.folder_id = f;
	m.uid = 7;
	m.uidvalidity = 1;
	m.subject = "Über den Wolken";
	m.from = "Reinhard <r@example.de>";
	m.message_id = "<wolken@example.de>";
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	m.uid = 8;
	m.subject = "Zweite";
	m.message_id = "<zweite@example.de>";
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	CHECK(store_msg_get(s, f, 7, &m, &cause) == 1);
	ids[1] = m.id;
	store_msg_clear(&m);
	CHECK(store_msg_get(s, f, 8, &m, &cause) == 1);
	ids[2] = m.id;
	store_msg_clear(&m);
	/* The envelopes of an index wait for the fill; until then their
	 * text terms are tried on the envelope as it is (ASCII case
	 * folded, no more), alone and beside other terms. */
	CHECK(store_fts_pending(s, &cause) == 2);
	CHECK_STR(q3(s, 0, f, "~s uber"), "");
	CHECK_STR(q3(s, 0, f, "~f reinhard"), "12");
	CHECK_STR(q3(s, 0, f, "zweite"), "2");
	CHECK_STR(q3(s, 0, f, "ZWEITE !~s wolken"), "2");
	CHECK_STR(q3(s, 0, f, "~b zweite"), "");
	CHECK_STR(q3(s, 0, f, "~s zweite ~A"), "2");
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK(store_fts_pending(s, &cause) == 0);
	CHECK_STR(q3(s, 0, f, "~s uber"), "1");
	CHECK_STR(q3(s, 0, f, "~f reinhard"), "12");
	CHECK_STR(q3(s, 0, f, "grenzenlos"), "");
	/* The upsert of a row it has changes its flags, not its index. */
	m.folder_id = f;
	m.uid = 7;
	m.uidvalidity = 1;
	m.subject = "Über den Wolken";
	m.flags = STORE_F_SEEN;
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	CHECK(count(s, "SELECT count(*) FROM fts_doc") == 2 + 6);
	CHECK(store_fts_stale(s, &stale0, &live, &cause) == 0);
	/* The body downloaded: its text is found, the row still once. */
	CHECK(store_msg_set_raw(s, ids[1],
	          "Subject: x\r\n\r\nDie Freiheit grenzenlos\r\n", 38,
	          &cause) == 0);
	CHECK_STR(q3(s, 0, f, "grenzenlos"), "1");
	CHECK_STR(q3(s, 0, f, "~s uber"), "1");
	CHECK(store_fts_stale(s, &stale, &live, &cause) == 0);
	CHECK(stale == stale0 + 1 && live == 8);
	/* A view (text parts, attachments missing) likewise. */
	CHECK(store_part_set(s, ids[2], STORE_PART_VIEW,
	          "Content-Type: text/plain\r\n\r\nIm Sommer\r\n", 40,
	          &cause) == 0);
	CHECK_STR(q3(s, 0, f, "sommer"), "2");
	CHECK(store_part_set(s, ids[2], "2", "Sommerloch", 10, &cause) == 0);
	CHECK_STR(q3(s, 0, f, "sommerloch"), "");
	/* A UIDVALIDITY change: the body follows its row, and so does its
	 * index. */
	CHECK(store_imap_detach(s, f, &cause) == 0);
	m.folder_id = f;
	m.uid = 70;
	m.uidvalidity = 2;
	m.subject = "Über den Wolken";
	m.message_id = "<wolken@example.de>";
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	CHECK(store_imap_reattach(s, f, &cause) == 0);
	CHECK(store_msg_get(s, f, 70, &m, &cause) == 1);
	ids[3] = m.id;
	store_msg_clear(&m);
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK_STR(q3(s, 0, f, "grenzenlos"), "3");
	CHECK_STR(q3(s, 0, f, "~s uber"), "3");
	CHECK_STR(q3(s, 0, f, "sommer"), "");
	/* Deleted: gone from the index with its row. */
	CHECK(store_msg_delete(s, ids[3], &cause) == 0);
	CHECK_STR(q3(s, 0, f, "grenzenlos"), "");
	CHECK(count(s,
	          "SELECT count(*) FROM fts_doc d WHERE NOT EXISTS"
	          " (SELECT 1 FROM message m WHERE m.id = d.message_id)") == 0);
	/* The highest row deleted: its id comes back for the next row,
	 * which the fill must still see. (Rows 1 and 2 went with the old
	 * UIDVALIDITY.) */
	ids[1] = ids[2] = 0;
	m.folder_id = f;
	m.uid = 71;
	m.uidvalidity = 2;
	m.subject = "Oben";
	m.message_id = "<oben@example.de>";
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK(store_msg_get(s, f, 71, &m, &cause) == 1);
	ids[4] = m.id;
	store_msg_clear(&m);
	CHECK(store_msg_delete(s, ids[4], &cause) == 0);
	m.folder_id = f;
	m.uid = 72;
	m.uidvalidity = 2;
	m.subject = "Wieder oben";
	m.message_id = "<wieder@example.de>";
	CHECK(store_imap_upsert(s, &m, &cause) == 0);
	CHECK(store_msg_get(s, f, 72, &m, &cause) == 1);
	CHECK(m.id == ids[4]);
	store_msg_clear(&m);
	CHECK(store_fts_pending(s, &cause) == 1);
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK_STR(q3(s, 0, f, "wieder"), "4");
	CHECK(store_msg_delete(s, ids[4], &cause) == 0);
	CHECK(store_folder_delete(s, f, &cause) == 0);
	CHECK(count(s, "SELECT count(*) FROM fts_doc") == 6);
	/* Rebuilt: the same answers, nothing stale. */
	CHECK(store_fts_rebuild(s, &cause) == 0);
	CHECK(store_fts_pending(s, &cause) > 0);
	CHECK(store_fts_fill(s, NULL, NULL, &cause) == 0);
	CHECK(store_fts_stale(s, &stale, &live, &cause) == 0);
	CHECK(stale == 0 && live == 6);
	CHECK(store_fts_pending(s, &cause) == 0);
	free(cause);
}

static int
on_word(void *arg, const char *w, size_t len, size_t start, size_t end)
{
	buf_printf(arg, "%.*s:%zu-%zu ", (int)len, w, start, end);
	return 0;
}

/* The index's words of a text, folded, where they are in it. */
static void
test_tokenize(struct store *s)
{
	static const char text[] = "Über uns, BIENTÔT! Встреча";
	struct buf b;
	char *cause = NULL;

	buf_init(&b, 0);
	CHECK(store_fts_tokenize(
	          s, text, sizeof text - 1, on_word, &b, &cause) == 0);
	CHECK_STR(b.data, "uber:0-5 uns:6-9 bientot:11-19 встреча:21-35 ");
	buf_free(&b);
}

struct progress {
	int64_t calls, last, total;
};

static int
on_progress(void *arg, int64_t done, int64_t total)
{
	struct progress *p = arg;

	p->calls++;
	p->last = done;
	p->total = total;
	return 0;
}

/* Back to schema version 10, as a tern before the index left the store. */
static void
unindex(void)
{
	sqlite3 *db = NULL;
	char *path = xasprintf("%s/tern.db", dir);

	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "DROP TRIGGER fts_stale; DROP TRIGGER fts_top_gone;"
	          "DROP TRIGGER fts_moved; DROP TRIGGER fts_refiled;"
	          "DROP TABLE fts; DROP TABLE fts_doc;"
	          "DROP TABLE fts_state; PRAGMA user_version = 10;",
	          NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

/* An older store: indexed by the fill, which a kill does not undo. */
static void
test_fill(void)
{
	struct store *s = NULL;
	struct progress pr = { 0, 0, 0 };
	int64_t acct, f, pending, total;
	char *cause = NULL, raw[200];
	pid_t pid;
	int status, i;

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "old", "pop3", &cause);
	f = store_folder(s, acct, "INBOX", 1, &cause);
	CHECK(store_begin(s, &cause) == 0);
	for (i = 0; i < 1200; i++) {
		int len = snprintf(raw, sizeof raw,
		    "From: sender%d@example.org\r\nSubject: number%d\r\n\r\n"
		    "word%d common\r\n",
		    i, i, i % 10);

		if (add(s, i % 2 ? acct : 0, f, raw, (size_t)len, 0) < 0)
			break;
	}
	CHECK(store_commit(s, &cause) == 0);
	total = store_index_count(s, f, &cause);
	store_close(&s);
	unindex();

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	pending = store_fts_pending(s, &cause);
	CHECK(pending >= total);
	/* Nothing found before the fill; a new message is, at once. */
	CHECK_STR(q3(s, 0, f, "common"), "");
	CHECK(add(s, 0, f, "Subject: fresh\r\n\r\ncommon\r\n", 26, 0) > 0);
	CHECK_STR(q3(s, 0, f, "fresh"), "?");
	store_close(&s);

	/* Killed in its third batch. */
	fflush(stdout);
	if ((pid = fork()) == 0) {
		struct store *c = NULL;

		setenv("TERN_FAULT", "fts-fill:3", 1);
		if (store_open(dir, &c, NULL) == 0)
			store_fts_fill(c, NULL, NULL, NULL);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	/* Two batches of 256 were kept. */
	CHECK(store_fts_pending(s, &cause) == pending - 512);
	CHECK(store_fts_fill(s, on_progress, &pr, &cause) == 0);
	CHECK(
	    pr.calls >= 3 && pr.last == pr.total && pr.total == pending - 512);
	CHECK(store_fts_pending(s, &cause) == 0);
	/* Every message once, and found. */
	CHECK(count(s, "SELECT count(*) FROM fts_doc") ==
	    count(s, "SELECT count(*) FROM message"));
	{
		struct pattern *p = NULL;
		int64_t *v = NULL;
		size_t n = 0;

		CHECK(pattern_parse("common", NOW, &p, NULL, &cause) == 0);
		CHECK(store_search(
		          s, 0, f, p, STORE_SORT_DATE, &v, &n, &cause) == 0);
		CHECK((int64_t)n == total + 1);
		free(v);
		pattern_free(&p);
		CHECK(pattern_parse(
		          "~s number1199 word9", NOW, &p, NULL, &cause) == 0);
		CHECK(store_search(
		          s, 0, f, p, STORE_SORT_DATE, &v, &n, &cause) == 0);
		CHECK(n == 1);
		free(v);
		pattern_free(&p);
	}
	store_close(&s);
	free(cause);
}

int
main(void)
{
	struct store *s = NULL;
	char *cause = NULL, *cmd;
	int64_t acct;

	setenv("TZ", "UTC", 1);
	tzset();
	if (mkdtemp(dir) == NULL)
		return 1;
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s != NULL) {
		acct = store_account(s, "home", "pop3", &cause);
		test_patterns(s, acct);
		test_imap_rows(s);
		test_tokenize(s);
		store_close(&s);
	}
	test_fill();
	free(cause);
	cmd = xasprintf("rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	free(cmd);
	return test_done();
}
