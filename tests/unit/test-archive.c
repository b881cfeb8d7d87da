/*
 * archive: mboxrd quoting both ways, splitting mbox files (mboxrd, mboxo,
 * CRLF, From lines in bodies), refusing truncated and foreign files, and
 * Maildir flags.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/archive.h"
#include "tern/store.h"
#include "tern/util.h"

static char *
quote(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	archive_mbox_quote(&b, s, strlen(s));
	return buf_steal(&b, NULL);
}

static char *
unquote(const char *s, enum archive_mbox_kind kind)
{
	struct buf b;

	buf_init(&b, 0);
	archive_mbox_unquote(&b, s, strlen(s), kind);
	return buf_steal(&b, NULL);
}

static void
test_quoting(void)
{
	static const char *samples[] = {
		"a\nFrom b\n>From c\n>>From d\nFromage\n> From e\n",
		"From start\r\n>From crlf\r\nlast line without newline From",
		"",
		">>>From x",
	};
	char *q, *u;
	size_t i;

	q = quote("a\nFrom b\n>From c\n>>From d\nFromage\n> From e\n");
	CHECK_STR(q, "a\n>From b\n>>From c\n>>>From d\nFromage\n> From e\n");
	free(q);
	u = unquote(">From b\n>>From c\n>>>From d\n", ARCHIVE_MBOXRD);
	CHECK_STR(u, "From b\n>From c\n>>From d\n");
	free(u);
	/* mboxo only ever quoted "From ". */
	u = unquote(">From b\n>>From c\n", ARCHIVE_MBOXO);
	CHECK_STR(u, "From b\n>>From c\n");
	free(u);
	for (i = 0; i < TERN_NELEM(samples); i++) {
		q = quote(samples[i]);
		u = unquote(q, ARCHIVE_MBOXRD);
		CHECK_STR(u, samples[i]);
		free(q);
		free(u);
	}
}

struct seen {
	int n;
	char *msg[8];
	size_t len[8];
	unsigned flags[8];
	char *kw[8];
	int64_t date[8];
};

static int
seen_cb(void *arg, const char *raw, size_t len, const struct archive_meta *m)
{
	struct seen *s = arg;

	if (s->n >= 8)
		return -1;
	s->msg[s->n] = xstrndup(raw, len);
	s->len[s->n] = len;
	s->flags[s->n] = m->flags;
	s->kw[s->n] = m->keywords != NULL ? xstrdup(m->keywords) : NULL;
	s->date[s->n] = m->date;
	s->n++;
	return 0;
}

static void
seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		free(s->msg[i]);
		free(s->kw[i]);
	}
	memset(s, 0, sizeof *s);
}

static int
parse(
    const char *text, enum archive_mbox_kind kind, struct seen *s, char **cause)
{
	memset(s, 0, sizeof *s);
	return archive_mbox_parse(text, strlen(text), kind, seen_cb, s, cause);
}

static void
test_parse(void)
{
	struct seen s;
	char *cause = NULL;
	const char *mbox = "From bob@example.org Tue Nov 14 22:13:20 2023\n"
	                   "Status: RO\nX-Status: AF\n"
	                   "Subject: one\n\nbody\n>From the start\n\n"
	                   "From this line is in a body, it has no time\n\n"
	                   "From MAILER-DAEMON Wed Nov 15 00:00:00 2023\n"
	                   "Subject: two\nStatus: R\n\nsecond\n\n";

	CHECK(parse(mbox, ARCHIVE_MBOXRD, &s, &cause) == 0);
	CHECK(s.n == 2);
	CHECK_STR(s.msg[0],
	    "Subject: one\n\nbody\nFrom the start\n\n"
	    "From this line is in a body, it has no time\n");
	CHECK(s.flags[0] == (STORE_F_SEEN | STORE_F_REPLIED | STORE_F_FLAGGED));
	CHECK(s.date[0] == 1700000000);
	/* mutt's Status: further down is kept, and counts. */
	CHECK_STR(s.msg[1], "Subject: two\nStatus: R\n\nsecond\n");
	CHECK(s.flags[1] == STORE_F_SEEN);
	seen_free(&s);

	/* CRLF messages in an mbox with LF separators, and CRLF mboxes. */
	CHECK(parse("From a Tue Nov 14 22:13:20 2023\nX: 1\r\n\r\nb\r\n\n"
	            "From a Tue Nov 14 22:13:20 2023\r\nX: 2\r\n\r\nc\r\n\r\n",
	          ARCHIVE_MBOXRD, &s, &cause) == 0);
	CHECK(s.n == 2);
	CHECK_STR(s.msg[0], "X: 1\r\n\r\nb\r\n");
	CHECK_STR(s.msg[1], "X: 2\r\n\r\nc\r\n");
	seen_free(&s);

	/* A message of nothing but Status: lines keeps them. */
	CHECK(parse("From a Tue Nov 14 22:13:20 2023\nStatus: RO\n\n",
	          ARCHIVE_MBOXRD, &s, &cause) == 0);
	CHECK(s.n == 1);
	CHECK_STR(s.msg[0], "Status: RO\n");
	seen_free(&s);

	/* An empty file is an empty mbox. */
	CHECK(parse("", ARCHIVE_MBOXRD, &s, &cause) == 0 && s.n == 0);

	CHECK(parse("Subject: not an mbox\n\n", ARCHIVE_MBOXRD, &s, &cause) ==
	    -1);
	CHECK(cause != NULL && strstr(cause, "not an mbox") != NULL);
	free(cause);
	cause = NULL;
	CHECK(s.n == 0);

	/* Cut in the middle: nothing is passed on. */
	CHECK(parse("From a Tue Nov 14 22:13:20 2023\nS: 1\n\nok\n\n"
	            "From a Tue Nov 14 22:13:20 2023\nS: 2\n\ncut in the mid",
	          ARCHIVE_MBOXRD, &s, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "truncated") != NULL);
	CHECK(s.n == 0);
	free(cause);
	cause = NULL;
	CHECK(parse("From a Tue Nov 14 22:13:20 2023\nS: 1\n\nline\n",
	          ARCHIVE_MBOXRD, &s, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(s.n == 0);
}

/* What tern writes, it reads back exactly, flags and keywords included. */
static void
test_round_trip(void)
{
	static const char *bodies[] = {
		"Subject: a\n\nFrom x\n>From y\n>>From z\n",
		"Subject: b\r\n\r\nFrom x\r\n",
		"Subject: c\n\nno final newline",
		"Subject: d\r\n\r\nno final CRLF",
		/* The message's own first lines look like tern's. */
		"X-Status: F\nSubject: e\n\n",
		"X-Keywords: theirs\nSubject: f\n\n",
		"X-Tern-Eol: added\nSubject: g\n\nends\n",
		"Status: RO\nX-Status: A\nSubject: h\n\n",
	};
	static const char *kws[] = { NULL, "$Label1 work", "a", NULL, NULL,
		NULL, "x", NULL };
	unsigned flags[] = { 0, STORE_F_SEEN | STORE_F_DRAFT | STORE_F_PASSED,
		STORE_F_ALL, 0, 0, 0, STORE_F_SEEN, 0 };
	struct buf b;
	struct seen s;
	char *cause = NULL;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < TERN_NELEM(bodies); i++) {
		buf_adds(&b, "From bob@example.org Tue Nov 14 22:13:20 2023\n");
		archive_mbox_write(
		    &b, bodies[i], strlen(bodies[i]), flags[i], kws[i]);
	}
	CHECK(strstr(b.data, "X-Keywords: $Label1 work\r\n") != NULL);
	CHECK(strstr(b.data, "X-Tern-Eol: added\nSubject: c") != NULL);
	memset(&s, 0, sizeof s);
	CHECK(archive_mbox_parse(
	          b.data, b.len, ARCHIVE_MBOXRD, seen_cb, &s, &cause) == 0);
	CHECK(s.n == (int)TERN_NELEM(bodies));
	for (i = 0; i < TERN_NELEM(bodies) && (int)i < s.n; i++) {
		/* Byte for byte: a missing final newline stays missing. */
		CHECK(s.len[i] == strlen(bodies[i]));
		CHECK_STR(s.msg[i], bodies[i]);
		/* tern's block alone says: the message's own lines that
		 * look like it are its bytes, not its flags. */
		CHECK(s.flags[i] == flags[i]);
		if (kws[i] != NULL)
			CHECK(s.kw[i] != NULL && strcmp(s.kw[i], kws[i]) == 0);
		else
			CHECK(s.kw[i] == NULL);
	}
	seen_free(&s);
	buf_free(&b);
}

/* Keywords that mutt, Dovecot and others write, wherever they are. */
static void
test_foreign_keywords(void)
{
	struct seen s;
	char *cause = NULL;
	const char *mbox = "From a Tue Nov 14 22:13:20 2023\n"
	                   "Subject: one\nX-Keywords: $Label1 work\n"
	                   "Keywords: project, Urgent,\n  later\n"
	                   "X-Label: todo\nX-Keywords: work $Forwarded\n"
	                   "Status: RO\n\nbody\n\n";

	CHECK(parse(mbox, ARCHIVE_MBOXRD, &s, &cause) == 0);
	CHECK(s.n == 1);
	CHECK(s.n == 1 && s.kw[0] != NULL &&
	    strcmp(s.kw[0], "$Label1 work project Urgent later todo") == 0);
	CHECK(s.n == 1 && s.flags[0] == (STORE_F_SEEN | STORE_F_PASSED));
	/* Not tern's block: every line stays. */
	CHECK(s.n == 1 && strstr(s.msg[0], "X-Keywords: $Label1 work\n"));
	seen_free(&s);
}

static void
test_maildir_flags(void)
{
	CHECK(archive_maildir_flags("1700000000.M1P2.host:2,FS") ==
	    (STORE_F_FLAGGED | STORE_F_SEEN));
	CHECK(archive_maildir_flags("1700000000.M1P2.host:2,DFPRST") ==
	    STORE_F_ALL);
	CHECK(archive_maildir_flags("1700000000.M1P2.host") == 0);
	CHECK(archive_maildir_flags("1700000000.M1P2.host:1,S") == 0);
	CHECK(archive_maildir_flags("x:2,Sa") == STORE_F_SEEN);
}

/* Dovecot's keyword letters and its dovecot-keywords file. */
static void
test_maildir_keywords(void)
{
	char dir[] = "/tmp/tern-test-XXXXXX", *path, *k;
	struct archive_kwmap map;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	path = xasprintf("%s/dovecot-keywords", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("0 $Label1\n1 work\n3 bad(word\n25 zed\n", f);
	fclose(f);
	archive_kwmap_read(dir, &map);
	k = archive_maildir_keywords("1.M1P2.host:2,FSabdz", &map);
	CHECK(k != NULL && strcmp(k, "$Label1 work zed") == 0);
	free(k);
	k = archive_maildir_keywords("1.M1P2.host:2,S", &map);
	CHECK(k != NULL && *k == '\0');
	free(k);
	CHECK(archive_maildir_keywords("1.M1P2.host", &map) == NULL);
	archive_kwmap_clear(&map);
	unlink(path);
	free(path);
	rmdir(dir);
}

int
main(void)
{
	test_quoting();
	test_parse();
	test_round_trip();
	test_foreign_keywords();
	test_maildir_flags();
	test_maildir_keywords();
	return test_done();
}
