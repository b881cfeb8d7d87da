/*
 * Unit tests of the mime module: envelope, decoding, parsing, rendering,
 * threading, attachments, and random mutation of a corpus of hard mail.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "tern/compose.h"
#include "tern/mime.h"
#include "../lib/test.h"

static void
envelope_of(const char *raw, struct mime_envelope *e)
{
	mime_envelope_parse(raw, strlen(raw), e);
}

static void
test_envelope_basic(void)
{
	struct mime_envelope e;

	envelope_of("From: Alice Example <alice@example.com>\r\n"
	            "To: bob@example.net, \"Carol, C.\" <carol@example.org>\r\n"
	            "Cc: undisclosed-recipients:;\r\n"
	            "Subject: Hello\r\n  world\r\n"
	            "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
	            "Message-ID: <1234@example.com>\r\n"
	            "In-Reply-To: <1000@example.com> (Bob's message)\r\n"
	            "References: <999@example.com>\r\n <1000@example.com>\r\n"
	            "Content-Type: Text/PLAIN; charset=us-ascii\r\n"
	            "\r\n"
	            "Body line\r\n",
	    &e);
	CHECK_STR(e.from, "Alice Example <alice@example.com>");
	CHECK_STR(e.to, "bob@example.net, Carol, C. <carol@example.org>");
	CHECK(e.cc == NULL);
	CHECK_STR(e.subject, "Hello  world");
	CHECK(e.date == 1057049557);
	CHECK_STR(e.message_id, "<1234@example.com>");
	CHECK_STR(e.in_reply_to, "<1000@example.com>");
	CHECK_STR(e.refs, "<999@example.com> <1000@example.com>");
	CHECK_STR(e.content_type, "text/plain");
	CHECK(e.has_attach == 0);
	mime_envelope_clear(&e);
	CHECK(e.from == NULL);
}

static void
test_envelope_header_only_lf(void)
{
	struct mime_envelope e;

	/* As IMAP HEADER.FIELDS returns it: LF here, no body. */
	envelope_of("Subject: =?UTF-8?B?w6lsw6h2ZQ==?= =?UTF-8?Q?_caf=C3=A9?=\n"
	            "From: =?iso-8859-1?q?J=F6rg?= <joerg@example.de>\n"
	            "Content-Type: multipart/mixed; boundary=x\n",
	    &e);
	CHECK_STR(e.subject, "\xc3\xa9l\xc3\xa8ve caf\xc3\xa9");
	CHECK_STR(e.from, "J\xc3\xb6rg <joerg@example.de>");
	CHECK_STR(e.content_type, "multipart/mixed");
	CHECK(e.has_attach == 1);
	CHECK(e.date == 0);
	CHECK(e.message_id == NULL);
	mime_envelope_clear(&e);

	/* Nothing at all. */
	mime_envelope_parse("", 0, &e);
	CHECK(e.from == NULL && e.subject == NULL && e.date == 0);
	CHECK_STR(e.content_type, "text/plain");
	mime_envelope_clear(&e);
	mime_envelope_parse(NULL, 0, &e);
	CHECK(e.from == NULL);
	mime_envelope_clear(&e);
}

static void
test_envelope_8bit_and_obsolete(void)
{
	struct mime_envelope e;

	/* Raw Latin-1 and raw UTF-8 in headers, "Name : value", mbox From. */
	envelope_of("From MAILER-DAEMON Tue Jul  1 10:52:37 2003\n"
	            "Subject : Gr\xfc\xdf"
	            "e\n"
	            "From: J\xc3\xb6rg M\xc3\xbcller <jm@example.de>\n"
	            "Date: 1 Jul 03 10:52 EST\n"
	            "\n",
	    &e);
	CHECK_STR(e.subject,
	    "Gr\xc3\xbc\xc3\x9f"
	    "e");
	CHECK_STR(e.from, "J\xc3\xb6rg M\xc3\xbcller <jm@example.de>");
	CHECK(e.date == 1057074720);
	mime_envelope_clear(&e);

	/* Comments as names, groups, source routes, quoted encoded words. */
	envelope_of("From: joe@example.com (Joe Q. Public)\n"
	            "To: team: a@example.com, \"=?utf-8?q?B=C3=A9a?=\" "
	            "<b@example.com>;, <@route.example:c@example.com>\n"
	            "Cc: \"\\\"Quoted\\\" Name\" <q@example.com>\n\n",
	    &e);
	CHECK_STR(e.from, "Joe Q. Public <joe@example.com>");
	CHECK_STR(e.to,
	    "a@example.com, B\xc3\xa9"
	    "a <b@example.com>, c@example.com");
	CHECK_STR(e.cc, "\"Quoted\" Name <q@example.com>");
	mime_envelope_clear(&e);
}

static void
test_dates(void)
{
	static const struct {
		const char *s;
		long long t;
	} cases[] = {
		{ "Tue, 1 Jul 2003 10:52:37 +0200", 1057049557 },
		{ "Tue, 01 Jul 2003 08:52:37 GMT", 1057049557 },
		{ "Tue,  1 Jul 2003 08:52:37 +0000 (UTC)", 1057049557 },
		{ "1 Jul 2003 10:52:37 +0200 (CEST)", 1057049557 },
		{ "Tue Jul  1 08:52:37 2003", 1057049557 },
		{ "2003-07-01T10:52:37+02:00", 1057049557 },
		{ "2003-07-01 08:52:37Z", 1057049557 },
		{ "Tue, 1 July 2003 10.52.37 +0200", 1057049557 },
		{ "Tuesday, 1-Jul-03 08:52:37 UT", 1057049557 },
		{ "1 Jul 2003 4:52:37 -0400", 1057049557 },
		{ "Tue, 1 Jul 2003 04:52:37 AM EDT", 1057049557 },
		{ "1 Jul 103 08:52:37 GMT", 1057049557 },
		{ "Thu, 1 Jan 1970 00:00:01 +0000", 1 },
		{ "Sat, 29 Feb 2020 23:59:60 +0000", 1583020799 },
		{ "garbage", 0 },
		{ "", 0 },
		{ "32 Jan 2003 10:00 +0000", 0 },
		{ "1 Foo 2003 10:00 +0000", 0 },
		{ "99999999999999999999 Jan 2003", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char hdr[256];
		struct mime_envelope e;

		snprintf(hdr, sizeof hdr, "Date: %s\n\n", cases[i].s);
		envelope_of(hdr, &e);
		if (e.date != cases[i].t)
			printf("# date \"%s\": got %lld, want %lld\n",
			    cases[i].s, (long long)e.date, cases[i].t);
		CHECK(e.date == cases[i].t);
		mime_envelope_clear(&e);
	}
}

static void
test_encoded_words(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		/* adjacent words joined, whitespace between them dropped */
		{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
		{ "=?utf-8?q?a?=\t =?utf-8?q?b?= c", "ab c" },
		/* a character split across two words */
		{ "=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=", "\xc3\xa9\xc3\xa9" },
		{ "=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9" },
		/* mixed charsets, language tag (RFC 2231) */
		{ "=?iso-8859-1*fr?q?=E9t=E9?= =?koi8-r?b?8NLJ18XU?=",
		    "\xc3\xa9t\xc3\xa9\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
		    "\xd1\x82" },
		/* iso-8859-1 that is really windows-1252 */
		{ "=?iso-8859-1?q?=93quoted=94?=",
		    "\xe2\x80\x9cquoted\xe2\x80\x9d" },
		/* an unknown charset: guessed, never dropped */
		{ "=?x-bogus?q?caf=C3=A9?=", "caf\xc3\xa9" },
		{ "=?x-bogus?q?caf=E9?=", "caf\xc3\xa9" },
		/* invalid UTF-8 inside a UTF-8 word becomes U+FFFD */
		{ "=?utf-8?q?a=FFb?=",
		    "a\xef\xbf\xbd"
		    "b" },
		/* broken words stay as text */
		{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
		{ "=?utf-8?z?x?=", "=?utf-8?z?x?=" },
		{ "a =?utf-8?q?b?= c", "a b c" },
		/* a word whose encoding is broken is shown as written */
		{ "=?utf-8?b?Zm9v!!YmFy?=", "=?utf-8?b?Zm9v!!YmFy?=" },
		{ "=?utf-8?b?Zm9vY?=", "=?utf-8?b?Zm9vY?=" },
		{ "=?utf-8?q?caf=E?=", "=?utf-8?q?caf=E?=" },
		{ "Re: =?utf-8?b?w6k=?= =?utf-8?b?!w6k?=",
		    "Re: \xc3\xa9 =?utf-8?b?!w6k?=" },
		/* missing base64 padding */
		{ "=?utf-8?b?w6lsw6h2ZQ?=", "\xc3\xa9l\xc3\xa8ve" },
		/* a NUL decoded from a word is replaced */
		{ "=?utf-8?q?a=00b?=",
		    "a\xef\xbf\xbd"
		    "b" },
		{ "=?shift_jis?b?k/qWe4zq?=",
		    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "=?ks_c_5601-1987?b?x9GxuQ==?=", "\xed\x95\x9c\xea\xb5\xad" },
		{ "=?gb2312?b?1tDOxA==?=", "\xe4\xb8\xad\xe6\x96\x87" },
		{ "=?iso-2022-jp?b?GyRCRnxLXDhsGyhC?=",
		    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char hdr[512];
		struct mime_envelope e;

		snprintf(hdr, sizeof hdr, "Subject: %s\n\n", cases[i].in);
		envelope_of(hdr, &e);
		CHECK_STR(e.subject, cases[i].want);
		mime_envelope_clear(&e);
	}
}

static void
test_envelope_limits(void)
{
	struct mime_envelope e;
	size_t n = 300 * 1024, i;
	char *big = malloc(n + 64);

	/* A huge folded header: bounded, and parsed in one pass. */
	strcpy(big, "Subject: x\n");
	for (i = strlen(big); i < n; i += 2)
		memcpy(big + i, " \n", 2);
	big[n] = '\0';
	mime_envelope_parse(big, n, &e);
	CHECK_STR(e.subject, "x");
	mime_envelope_clear(&e);

	/* Many references: the first and the last ones are kept. */
	{
		char *refs = malloc(200 * 20 + 64);
		size_t o = 0;

		o += (size_t)sprintf(refs + o, "References:");
		for (i = 0; i < 200; i++)
			o += (size_t)sprintf(refs + o, " <%zu@x>", i);
		sprintf(refs + o, "\n\n");
		envelope_of(refs, &e);
		CHECK(e.refs != NULL &&
		    strncmp(e.refs, "<0@x> <137@x>", 13) == 0);
		CHECK(e.refs != NULL && strstr(e.refs, "<199@x>") != NULL);
		CHECK(e.refs != NULL && strstr(e.refs, "<5@x>") == NULL);
		mime_envelope_clear(&e);
		free(refs);
	}
	free(big);
}

/* The corpus of hard messages, in tests/data/mime. */

static char *
corpus_path(const char *name)
{
	return xasprintf("%s/tests/data/mime/%s", TERN_SRCDIR, name);
}

static struct mime_msg *
load(const char *name, struct buf *raw)
{
	char *path = corpus_path(name), *cause = NULL;

	buf_init(raw, 0);
	if (read_file(path, 0, raw, &cause) != 0) {
		printf("# %s\n", cause);
		free(cause);
	}
	free(path);
	return mime_parse(raw->data ? raw->data : "", raw->len);
}

static char *
render(const char *name, const struct mime_render_opts *o)
{
	struct buf raw, out;
	struct mime_msg *m = load(name, &raw);
	char *cause = NULL;

	buf_init(&out, 0);
	if (mime_render(m, o, &out, &cause) != 0) {
		printf("# render %s: %s\n", name, cause);
		free(cause);
	}
	mime_free(&m);
	buf_free(&raw);
	return buf_steal(&out, NULL);
}

/* Valid UTF-8 with no control character but tab and newline. */
static int
clean_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i], n, k;
		unsigned long cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, cp = c & 0x07;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		/* C1 and bidirectional controls must have been made visible. */
		if ((cp >= 0x80 && cp < 0xa0) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069))
			return 0;
		i += n;
	}
	return 1;
}

static int
utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL)
		return 1;
	while (*p != '\0') {
		unsigned n = *p < 0x80           ? 1
		    : (*p >= 0xc2 && *p <= 0xdf) ? 2
		    : (*p >= 0xe0 && *p <= 0xef) ? 3
		    : (*p >= 0xf0 && *p <= 0xf4) ? 4
		                                 : 0;
		unsigned k;

		if (n == 0)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
		}
		p += n;
	}
	return 1;
}

#define HAS(s, sub) CHECK(strstr((s), (sub)) != NULL)
#define HASNT(s, sub) CHECK(strstr((s), (sub)) == NULL)

static void
test_render_corpus(void)
{
	char *t;

	t = render("simple.eml", NULL);
	CHECK_STR(t,
	    "Date: Mon, 3 Mar 2025 12:00:00 +0000\n"
	    "From: Alice <alice@example.com>\n"
	    "To: Bob <bob@example.net>\n"
	    "Subject: Lunch?\n"
	    "\n"
	    "Shall we meet at noon?\n"
	    "\tIndented with a tab.\n");
	free(t);

	t = render("crlf-qp-latin1.eml", NULL);
	HAS(t, "From: Fran\xc3\xa7ois <f@example.fr>\n");
	HAS(t, "Subject: \xe2\x80\x9cSmart\xe2\x80\x9d quotes\n");
	HAS(t,
	    "Caf\xc3\xa9 cr\xc3\xa8me \xe2\x80\x9c"
	    "br\xc3\xbbl\xc3\xa9"
	    "e\xe2\x80\x9d costs 5\xe2\x82\xac.\n");
	HAS(t, "This line is soft broken across two.\n");
	HAS(t, "A broken escape =ZZ stays, and = is an equals sign.\n");
	HAS(t, "Trailing spaces are padding.\n");
	HASNT(t, "\r");
	free(t);

	t = render("alternative.eml", NULL);
	HAS(t, "The plain text version.");
	HASNT(t, "HTML");
	HASNT(t, "multi-part message");
	HASNT(t, "epilogue");
	free(t);

	t = render("html-only.eml", NULL);
	HAS(t,
	    "Welcome\n\nFish & chips <cheap> \xc3\xa9t\xc3\xa9 "
	    "\xe2\x82\xac"
	    "5 \xe2\x98\xba \xe2\x80\x9cquoted\xe2\x80\x9d &bogus; "
	    "caf\xc3\xa9\n");
	HAS(t, "  * First item\n  * Second item\n");
	HAS(t, "  1. One\n  2. Two\n");
	HAS(t, "Read the article[1] or https://example.com/.");
	HASNT(t, "[2]");
	HAS(t, "[1] https://example.com/article\n");
	HAS(t, "> Quoted words\n");
	HAS(t, "  keep   this\n    spacing\n");
	HAS(t, "cell A\tcell B\n");
	HAS(t, "[a picture]");
	HASNT(t, "Hidden title");
	HASNT(t, "alert");
	HASNT(t, "color");
	HASNT(t, "not shown");
	HASNT(t, "<p>");
	free(t);

	t = render("flowed.eml", NULL);
	HAS(t,
	    "This paragraph was written as several lines that end with a "
	    "space, so a\nreader joins them");
	HAS(t, "> A quoted flowed paragraph that also runs over two lines.\n");
	HAS(t, "\n>From here: space-stuffed.\n");
	HAS(t, "\n-- \nSignature line\n");
	free(t);
	{
		struct mime_render_opts o = { 0, NULL, 30, NULL, 0, NULL, NULL,
			0 };

		t = render("flowed.eml", &o);
		HAS(t, "This paragraph was written as\nseveral lines");
		free(t);
	}

	t = render("nested.eml", NULL);
	HAS(t, "Body text of the outer message.\n");
	HASNT(t, "html body");
	HAS(t,
	    "[-- Attachment 2: R\xc3\xa9sum\xc3\xa9 of 2024.pdf "
	    "(application/pdf, 180 B) --]\n");
	HAS(t,
	    "[-- Forwarded message 3 --]\n"
	    "Date: Sun, 2 Mar 2025 09:00:00 -0500\n"
	    "From: Carol <carol@example.org>\n"
	    "To: a@example.com\n"
	    "Subject: Fwd: inner \xc3\xbc"
	    "ber\n\nThe forwarded text.\n");
	HAS(t, "[-- Attachment 3.2: notes.txt (text/plain, 10 B) --]\n");
	free(t);

	t = render("no-boundary-param.eml", NULL);
	HAS(t, "Guessed boundary text.\n");
	HAS(t, "[-- Attachment 2: data.bin (application/octet-stream, 3 B)");
	free(t);
	t = render("no-close-delim.eml", NULL);
	HAS(t, "First part.\n");
	HAS(t, "Last part runs to the end.\n");
	free(t);
	t = render("no-delims.eml", NULL);
	HAS(t, "Just some text where the boundary never shows up.\n");
	free(t);
	t = render("dup-boundary.eml", NULL);
	HAS(t, "Text A.");
	free(t);
	t = render("broken-base64.eml", NULL);
	HAS(t, "Hello, w\xc3\xb6rld!\n");
	HAS(t, "This has no padding");
	free(t);
	t = render("uuencode.eml", NULL);
	HAS(t, "Here is the file:\n");
	HAS(t,
	    "[-- Attachment 1.uu1: hello.txt (application/octet-stream, "
	    "21 B) --]\n");
	HAS(t, "Text after the file.\n");
	HASNT(t, "begin 644");
	free(t);

	t = render("hostile.eml", NULL);
	CHECK(clean_text(t, strlen(t)));
	HAS(t, "From: Evil^[[2J <U+202E> <evil@example.com>\n");
	HAS(t, "Subject: ^[]0;pwned^G title <U+202E>txt.exe\n");
	HAS(t, "Clear screen: ^[[2J and colour ^[[31mred^[[0m.\n");
	HAS(t, "Bidi: <U+202E>override<U+202C> and isolate <U+2066>x<U+2069>.");
	HAS(t, "C1 CSI: <U+009B>31m and a bell ^G and a backspace ^H.\n");
	HAS(t,
	    "[-- Attachment 3: ../../.bashrc^[[0m (application/octet-stream");
	free(t);

	t = render("8bit-headers.eml", NULL);
	HAS(t, "From: J\xc3\xb6rg M\xc3\xbcller <jm@example.de>\n");
	HAS(t, "To: \xc3\xa4rger@example.de\n");
	HAS(t,
	    "Subject: Gr\xc3\xbc\xc3\x9f"
	    "e aus M\xc3\xbcnchen\n");
	HAS(t, "Raw Latin-1 body: M\xc3\xbcnchen.\n");
	free(t);

	t = render("digest.eml", NULL);
	HAS(t,
	    "[-- Forwarded message 1 --]\nFrom: one@example.com\n"
	    "Subject: first digested\n\nFirst.\n");
	HAS(t, "Subject: second digested\n\nSecond.\n");
	free(t);

	t = render("charsets.eml", NULL);
	HAS(t, "unknown charset caf\xc3\xa9\n");
	HAS(t, "\xed\x95\x9c\xea\xb5\xad\n");
	HAS(t, "\xe4\xb8\xad\xe6\x96\x87\n");
	HAS(t, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\n");
	HAS(t, "bad utf-8: \xef\xbf\xbd\xef\xbf\xbd end\n");
	HAS(t, "odd label \xc3\xa9\n");
	free(t);

	t = render("signed.eml", NULL);
	HAS(t,
	    "Signed text.\n[-- Attachment 2: signature.asc "
	    "(application/pgp-signature, 61 B) --]\n");
	free(t);

	t = render("nul-bytes.eml", NULL);
	HAS(t,
	    "Subject: nul\xef\xbf\xbd"
	    "bytes\n");
	HAS(t, "body\xef\xbf\xbdwith NUL\n");
	free(t);

	t = render("text-attachment.eml", NULL);
	HAS(t, "See attached.\n");
	HAS(t, "[-- Attachment 2: log.txt (text/plain, 12 B) --]\n");
	HAS(t, "[-- Attachment 3: data.csv (text/csv, 7 B) --]\n");
	HASNT(t, "attached log");
	free(t);

	t = render("bounce.eml", NULL);
	HAS(t, "could not\nbe delivered to one or more recipients.\n");
	HAS(t, "Final-Recipient: rfc822; nobody@example.net\nAction: failed\n");
	HAS(t, "To: nobody@example.net\nSubject: hello\n");
	HASNT(t, "Attachment");
	free(t);

	t = render("rfc2231-latin1.eml", NULL);
	HAS(t,
	    "[-- Attachment 1: Gr\xc3\xbc\xc3\x9f"
	    "e.txt (application/octet-stream, 4 B) --]\n");
	free(t);

	t = render("deep.eml", NULL);
	HAS(t, "Some parts are not shown");
	CHECK(clean_text(t, strlen(t)));
	free(t);
	t = render("many-parts.eml", NULL);
	HAS(t, "Some parts are not shown");
	HAS(t, "p998.txt");
	HASNT(t, "p999.txt");
	free(t);

	t = render("header-only.eml", NULL);
	CHECK_STR(t, "From: a@example.com\nSubject: only a header\n\n");
	free(t);
	t = render("empty.eml", NULL);
	CHECK(t != NULL && clean_text(t, strlen(t)));
	free(t);
	t = render("garbage.eml", NULL);
	CHECK(clean_text(t, strlen(t)));
	free(t);
}

static char *
render_str(const char *raw, unsigned width)
{
	struct mime_msg *m = mime_parse(raw, strlen(raw));
	struct mime_render_opts o = { 0, NULL, width, NULL, 0, NULL, NULL, 0 };
	struct buf out;

	buf_init(&out, 0);
	(void)mime_render(m, &o, &out, NULL);
	mime_free(&m);
	return buf_steal(&out, NULL);
}

static void
test_html_details(void)
{
	char *t = render_str("Content-Type: text/html\n\n"
	                     "<UL><LI>a<UL><LI>nested one</LI><LI>nested two "
	                     "with a longer text that wraps</LI></UL></LI>"
	                     "<LI>b</LI></UL>Intro<BR/>next<p>x&nbsp;y "
	                     "<a href=\"mailto:x@y.z\">x@y.z</a> "
	                     "<a href=\"https://a.b/?q=1&amp;r=2\">amp</a>"
	                     "<a href=\"javascript:evil()\">js</a>",
	    30);

	/* No header shown: the text starts at once. */
	CHECK(strncmp(t, "  * a\n", 6) == 0);
	HAS(t,
	    "    * nested one\n    * nested two with a longer\n"
	    "      text that wraps\n  * b\n\nIntro\n");
	HAS(t, "Intro\nnext\n\nx\xc2\xa0y x@y.z amp[1]js\n");
	HAS(t, "[1] https://a.b/?q=1&r=2\n");
	HASNT(t, "javascript");
	free(t);
	/* Broken markup: an unclosed tag, a stray '<', an endless comment. */
	t = render_str("Content-Type: text/html\n\n"
	               "1 < 2 and <b>bold<p>para<!-- never closed <p>x",
	    72);
	HAS(t, "1 < 2 and bold\n\npara\n");
	HASNT(t, "never");
	free(t);
}

static void
test_flowed_details(void)
{
	/* delsp=yes: the space before a soft break is not part of the text. */
	char *t = render_str("Content-Type: text/plain; format=flowed; "
	                     "delsp=yes\n\n"
	                     "Spl \nit wo \nrd\n",
	    20);

	CHECK_STR(t, "Split word\n");
	free(t);
	t = render_str("Content-Type: text/plain; format=flowed\n\n"
	               ">> deep \n>> quote\n> one \n> level\n"
	               "\n"
	               "a fixed line that is far longer than the width "
	               "and is not wrapped at all\n",
	    20);
	HAS(t, ">> deep quote\n> one level\n\n");
	HAS(t,
	    "a fixed line that is far longer than the width and is not "
	    "wrapped at all\n");
	free(t);
	/* Quoted-printable soft breaks with spaces before the newline. */
	t = render_str("Content-Transfer-Encoding: quoted-printable\n\n"
	               "soft=  \r\nbreak, =3D, =e9, and =\n",
	    72);
	CHECK_STR(t, "softbreak, =, \xc3\xa9, and \n");
	free(t);
}

static void
test_alternative_details(void)
{
	/* An empty text/plain alternative: the HTML one is shown. */
	char *t = render_str("Content-Type: multipart/alternative; boundary=a\n"
	                     "\n--a\nContent-Type: text/plain\n\n\r\n"
	                     "--a\nContent-Type: text/html\n\n<p>rich</p>\n"
	                     "--a--\n",
	    72);

	CHECK_STR(t, "rich\n");
	free(t);
	/* Neither text: the last alternative (the richest, RFC 2046). */
	t = render_str("Content-Type: multipart/alternative; boundary=a\n"
	               "\n--a\nContent-Type: text/enriched\n\nfirst\n"
	               "--a\nContent-Type: text/x-other\n\nsecond\n"
	               "--a--\n",
	    72);
	CHECK_STR(t, "second\n");
	free(t);
}

static void
test_full_headers(void)
{
	struct mime_render_opts o = { 1, NULL, 0, NULL, 0, NULL, NULL, 0 };
	char *t = render("simple.eml", &o);

	HAS(t, "Message-ID: <simple@example.com>\n");
	HAS(t, "Subject: Lunch?\n");
	free(t);
	t = render("hostile.eml", &o);
	HAS(t, "Content-Type: multipart/mixed; boundary=h\n");
	CHECK(clean_text(t, strlen(t)));
	free(t);
}

/* set headers: the fields named, in that order, named as written. */
static void
test_chosen_headers(void)
{
	static char *const want[] = { "subject", "Message-ID", "From",
		"X-None" };
	struct mime_render_opts o = { 0, NULL, 0, NULL, 0, NULL, want, 4 };
	char *t = render("simple.eml", &o);

	CHECK(t != NULL &&
	    strncmp(t,
	        "subject: Lunch?\nMessage-ID: <simple@example.com>\n"
	        "From: Alice <alice@example.com>\n\n",
	        strlen("subject: Lunch?\nMessage-ID: <simple@example.com>\n"
	               "From: Alice <alice@example.com>\n\n")) == 0);
	CHECK(t != NULL && strstr(t, "Date:") == NULL &&
	    strstr(t, "To:") == NULL && strstr(t, "X-None") == NULL);
	HAS(t, "Shall we meet at noon?");
	free(t);
}

/* Render raw with all header fields (full) or the usual few. */
static char *
render_hdr(const char *raw, int full)
{
	struct mime_msg *m = mime_parse(raw, strlen(raw));
	struct mime_render_opts o = { full, NULL, 72, NULL, 0, NULL, NULL, 0 };
	struct buf out;

	buf_init(&out, 0);
	(void)mime_render(m, &o, &out, NULL);
	mime_free(&m);
	return buf_steal(&out, NULL);
}

static void
test_header_limits(void)
{
	struct buf b;
	size_t late = 0, i;
	char *t, note[128];

	/* A header of more bytes than tern reads (in fewer fields than it
	 * keeps): the lines past the limit are a note, never body text. */
	buf_init(&b, 0);
	(void)buf_adds(&b, "From: Alice <a@example.org>\n");
	for (i = 0; b.len < 300 * 1024; i++) {
		if (b.len >= 256 * 1024)
			late++;
		(void)buf_printf(&b, "X-Pad-%zu: %0290d\n", i, 0);
	}
	(void)buf_adds(&b, "X-Late: folded\n  on two lines\n");
	late += 2;
	(void)buf_adds(&b, "\nthe body\n");
	snprintf(note, sizeof note,
	    "[-- %zu more header lines not shown: the header is larger than "
	    "tern reads --]\n",
	    late);
	t = render_hdr(b.data, 0);
	HAS(t, "From: Alice <a@example.org>\n");
	HAS(t, note);
	HAS(t, "\nthe body\n");
	HASNT(t, "X-Pad-");
	HASNT(t, "X-Late");
	HASNT(t, "on two lines");
	free(t);
	t = render_hdr(b.data, 1);
	HAS(t, "X-Pad-0: ");
	HAS(t, note);
	HAS(t, "\nthe body\n");
	HASNT(t, "X-Late");
	HASNT(t, "on two lines");
	free(t);
	buf_free(&b);

	/* More fields than tern keeps: the same note for the rest. */
	buf_init(&b, 0);
	for (i = 0; i < 1200; i++)
		(void)buf_printf(&b, "X-F%zu: v\n", i);
	(void)buf_adds(&b, "\nbody\n");
	t = render_hdr(b.data, 1);
	HAS(t, "X-F999: v\n");
	HASNT(t, "X-F1000:");
	HAS(t, "[-- 200 more header lines not shown: ");
	HAS(t, "\nbody\n");
	free(t);
	buf_free(&b);

	/* Within the limits, no note. */
	t = render_hdr("Subject: short\n\nbody\n", 1);
	HASNT(t, "not shown");
	free(t);
}

static void
test_html_filter(void)
{
	struct mime_render_opts o = { 0, "tr a-z A-Z", 0, NULL, 0, NULL, NULL,
		0 };
	char *t = render("html-only.eml", &o);

	/* The filter sees the HTML (converted to UTF-8) on stdin. */
	HAS(t, "<H1>WELCOME</H1>");
	free(t);
	o.html_filter = "exit 3";
	t = render("html-only.eml", &o);
	HAS(t, "html_filter failed");
	HAS(t, "Welcome");
	free(t);
	/* What a filter prints is made visible too. */
	o.html_filter = "cat >/dev/null; printf 'x\\033[2Jy\\n'";
	t = render("html-only.eml", &o);
	HAS(t, "x^[[2Jy\n");
	free(t);
	/*
	 * A filter that does not read its input must not hang or kill us
	 * (SIGPIPE): a megabyte of HTML is more than a pipe holds.
	 */
	o.html_filter = "echo early";
	{
		struct buf big;
		struct mime_msg *m;
		size_t i;
		char *cause = NULL;

		buf_init(&big, 0);
		buf_adds(&big, "Content-Type: text/html\n\n");
		for (i = 0; i < 100000; i++)
			buf_adds(&big, "<p>0123456789</p>");
		m = mime_parse(big.data, big.len);
		buf_reset(&big);
		CHECK(mime_render(m, &o, &big, &cause) == 0);
		CHECK(big.data != NULL && strstr(big.data, "early\n") != NULL);
		mime_free(&m);
		buf_free(&big);
	}
}

static void
test_parts_and_attachments(void)
{
	struct buf raw, d;
	struct mime_msg *m = load("nested.eml", &raw);
	const struct mime_attachment *a;
	size_t n = mime_attachments(m, &a);
	long i;

	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(a[0].section, "2");
		CHECK_STR(a[0].filename, "R\xc3\xa9sum\xc3\xa9 of 2024.pdf");
		CHECK_STR(a[0].type, "application/pdf");
		CHECK(a[0].size == 180);
		CHECK_STR(a[1].section, "3.2");
		CHECK_STR(a[1].filename, "notes.txt");
	}
	CHECK((i = mime_part_find(m, "1.2.2")) > 0);
	CHECK_STR(mime_part_at(m, (size_t)i)->type, "image/png");
	CHECK(mime_part_find(m, "9.9") == -1);
	CHECK(mime_part_at(m, 1000) == NULL);
	buf_init(&d, 0);
	i = mime_part_find(m, "3.2");
	CHECK(i > 0 && mime_part_decode(m, (size_t)i, &d, NULL) == 0);
	CHECK_STR(d.data, "inner file");
	buf_free(&d);
	/* A maximum on the output buffer is respected. */
	buf_init(&d, 10);
	i = mime_part_find(m, "2");
	{
		char *cause = NULL;

		CHECK(mime_part_decode(m, (size_t)i, &d, &cause) == -1);
		CHECK(cause != NULL && strstr(cause, "too large") != NULL);
		free(cause);
	}
	buf_free(&d);
	mime_free(&m);
	CHECK(m == NULL);
	buf_free(&raw);

	m = load("many-parts.eml", &raw);
	CHECK(mime_part_count(m) == MIME_MAX_PARTS);
	mime_free(&m);
	buf_free(&raw);

	/* has_attach from the whole message looks at the parts. */
	{
		struct mime_envelope e;

		m = load("text-attachment.eml", &raw);
		mime_free(&m);
		mime_envelope_parse(raw.data, raw.len, &e);
		CHECK(e.has_attach == 1);
		mime_envelope_clear(&e);
		buf_free(&raw);
		m = load("alternative.eml", &raw);
		mime_free(&m);
		mime_envelope_parse(raw.data, raw.len, &e);
		CHECK(e.has_attach == 0);
		mime_envelope_clear(&e);
		buf_free(&raw);
	}
}

static char *
tmpdir(void)
{
	char *d = xasprintf("%s/tern-test-mime-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static void
rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

static void
test_save(void)
{
	struct buf raw, content;
	struct mime_msg *m = load("hostile.eml", &raw);
	char *dir = tmpdir(), *path = NULL, *path2 = NULL, *cause = NULL;
	char *want, *link;
	long i = mime_part_find(m, "3");

	CHECK(dir != NULL && i > 0);
	if (dir == NULL || i <= 0)
		return;
	/* "../../.bashrc ESC[0m": last component, no dot, no ESC. */
	want = xasprintf("%s/bashrc[0m", dir);
	CHECK(mime_attachment_save(m, (size_t)i, dir, &path, &cause) == 0);
	CHECK_STR(path, want);
	buf_init(&content, 0);
	CHECK(path && read_file(path, 0, &content, NULL) == 0);
	CHECK_STR(content.data, "echo pwned\n");
	buf_free(&content);
	/* Never overwritten: a second save gets a new name. */
	CHECK(mime_attachment_save(m, (size_t)i, dir, &path2, &cause) == 0);
	CHECK(path2 != NULL && strcmp(path2, want) != 0);
	CHECK(path2 != NULL && strstr(path2, "/bashrc[0m-1") != NULL);
	free(path2);
	/* Nor followed: a symlink in the way is left alone. */
	link = xasprintf("%s/bashrc[0m-2", dir);
	CHECK(symlink("/nonexistent/target", link) == 0);
	CHECK(mime_attachment_save(m, (size_t)i, dir, &path2, &cause) == 0);
	CHECK(path2 != NULL && strstr(path2, "/bashrc[0m-3") != NULL);
	free(path2);
	free(link);
	free(path);
	free(want);
	/* A name with nothing safe in it gets one made from the section. */
	{
		char *name = mime_attachment_name(m, 1);

		CHECK(
		    name != NULL && *name != '\0' && strchr(name, '/') == NULL);
		free(name);
	}
	mime_free(&m);
	buf_free(&raw);

	/* A bidi override and the path separators go from the name. */
	m = mime_parse("Content-Type: application/x; name=\"a/b\\\\\xe2\x80\xae"
	               "cod.exe\"\n\nx",
	    strlen("Content-Type: application/x; name=\"a/b\\\\\xe2\x80\xae"
	           "cod.exe\"\n\nx"));
	{
		char *name = mime_attachment_name(m, 0);

		CHECK_STR(name, "cod.exe");
		free(name);
	}
	CHECK(mime_attachment_save(m, 0, "/nonexistent/dir", &path, &cause) ==
	    -1);
	CHECK(cause != NULL && strstr(cause, "/nonexistent/dir") != NULL);
	free(cause);
	mime_free(&m);
	rm_rf(dir);
	free(dir);
}

static void
test_mailcap(void)
{
	char *dir = tmpdir(), *mc, *cause = NULL, *out, *pwned;
	struct buf raw, content;
	struct mime_msg *m;
	struct mime_mailcap e;
	FILE *f;
	const char *hostile =
	    "From: a@example.com\n"
	    "Content-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n"
	    "Content-Type: text/x-test\n"
	    "Content-Disposition: attachment; "
	    "filename=\"$(touch PWNED)`touch PWNED`;x.txt\"\n\n"
	    "payload\n"
	    "--b--\n";

	CHECK(dir != NULL);
	if (dir == NULL)
		return;
	mc = xasprintf("%s/mailcap", dir);
	out = xasprintf("%s/copied", dir);
	pwned = xasprintf("%s/PWNED", dir);
	f = fopen(mc, "w");
	fprintf(f,
	    "# comment\n"
	    "text/x-test; false; test=false\n"
	    "text/x-test; cp %%s '%s'; \\\n  needsterminal\n"
	    "image/*; viewer %%s; copiousoutput\n",
	    out);
	fclose(f);
	CHECK(mime_mailcap_find(mc, "text/x-test", &e, &cause) == 1);
	CHECK(e.needsterminal == 1 && e.copiousoutput == 0);
	mime_mailcap_clear(&e);
	CHECK(mime_mailcap_find(mc, "image/png", &e, &cause) == 1);
	CHECK(e.copiousoutput == 1);
	CHECK_STR(e.command, "viewer %s");
	mime_mailcap_clear(&e);
	CHECK(mime_mailcap_find(mc, "audio/ogg", &e, &cause) == 0);

	m = mime_parse(hostile, strlen(hostile));
	/* Run from the directory so a "touch PWNED" would land there. */
	{
		char cwd[4096];

		CHECK(getcwd(cwd, sizeof cwd) != NULL);
		CHECK(chdir(dir) == 0);
		CHECK(mime_attachment_open(m, 1, mc, &cause) == 0);
		CHECK(chdir(cwd) == 0);
	}
	buf_init(&content, 0);
	CHECK(read_file(out, 0, &content, NULL) == 0);
	CHECK_STR(content.data, "payload");
	CHECK(access(pwned, F_OK) != 0);
	buf_free(&content);
	CHECK(mime_attachment_open(m, 0, "/nonexistent", &cause) == -1);
	free(cause);
	mime_free(&m);
	(void)raw;
	free(mc);
	free(out);
	free(pwned);
	rm_rf(dir);
	free(dir);
}

/* Threading. */

static struct mime_thread_msg
tm(const char *id, const char *irt, const char *refs, const char *subj,
    int64_t date)
{
	struct mime_thread_msg m;

	memset(&m, 0, sizeof m);
	m.message_id = id;
	m.in_reply_to = irt;
	m.refs = refs;
	m.subject = subj;
	m.date = date;
	return m;
}

static void
test_thread_small(void)
{
	struct mime_thread_msg v[10];
	size_t n = 0, i;

	/* Given newest first, to show the order comes from the dates. */
	v[n++] = tm("<c@x>", "<b@x>", "<a@x> <b@x>", "Re: hello", 30); /* 0 */
	v[n++] = tm("<b@x>", "<a@x>", "<a@x>", "Re: hello", 20); /* 1 */
	v[n++] = tm("<a@x>", NULL, NULL, "hello", 10); /* 2 */
	/* Parent missing: two replies to <gone@x> share a dummy root. */
	v[n++] = tm("<r1@x>", "<gone@x>", "<gone@x>", "Re: lost", 40); /* 3 */
	v[n++] = tm("<r2@x>", NULL, "<gone@x>", "Re: lost", 50); /* 4 */
	/* No references at all, but a reply subject: joins "hello". */
	v[n++] = tm("<s@x>", NULL, NULL, "RE: Re[2]: hello", 60); /* 5 */
	/* A loop: each claims the other as parent. */
	v[n++] = tm("<l1@x>", "<l2@x>", NULL, "loop", 70); /* 6 */
	v[n++] = tm("<l2@x>", "<l1@x>", NULL, "loop", 80); /* 7 */
	/* A duplicate id and a message without one. */
	v[n++] = tm("<a@x>", NULL, NULL, "dup", 5); /* 8 */
	v[n++] = tm(NULL, NULL, NULL, NULL, 90); /* 9 */
	mime_thread(v, n);
	CHECK(v[2].parent == -1 && v[2].depth == 0);
	CHECK(v[1].parent == 2 && v[1].depth == 1);
	CHECK(v[0].parent == 1 && v[0].depth == 2);
	CHECK(v[5].parent == 2 && v[5].depth == 1);
	CHECK(v[3].parent == -1 && v[4].parent == -1);
	CHECK(v[3].depth == 1 && v[4].depth == 1);
	CHECK(v[4].order == v[3].order + 1);
	CHECK((v[6].parent == 7) != (v[7].parent == 6));
	CHECK(v[8].parent == -1);
	CHECK(v[9].parent == -1);
	/* Display order: thread of <a@x> (date 10) after dup (date 5). */
	CHECK(v[8].order == 0);
	CHECK(v[2].order == 1 && v[1].order == 2 && v[0].order == 3 &&
	    v[5].order == 4);
	/* Threads are numbered in display order; the two replies to the
	 * missing <gone@x> share one though no row of it is at depth 0. */
	CHECK(v[8].thread == 0);
	CHECK(v[2].thread == 1 && v[1].thread == 1 && v[0].thread == 1 &&
	    v[5].thread == 1);
	CHECK(v[3].thread == v[4].thread && v[3].thread > 1);
	CHECK(v[6].thread == v[7].thread && v[6].thread != v[3].thread);
	CHECK(v[9].thread != v[3].thread && v[9].thread != v[6].thread);
	{
		int seen[10] = { 0 }, ok = 1;

		for (i = 0; i < n; i++) {
			if (v[i].order >= n || seen[v[i].order]++)
				ok = 0;
		}
		CHECK(ok);
	}
	mime_thread(v, 0);
}

static void
test_thread_100k(void)
{
	size_t n = 100000, i, bad = 0;
	struct mime_thread_msg *v = calloc(n, sizeof *v);
	char **ids = calloc(n, sizeof *ids), **refs = calloc(n, sizeof *refs);
	size_t *seen = calloc(n, sizeof *seen);
	uint64_t t0, t1;
	unsigned long long r = 42;

	/* Threads of 1 to 40 messages, replies to random earlier ones. */
	for (i = 0; i < n; i++) {
		size_t start = i, parent;
		struct buf b;

		r = r * 6364136223846793005ull + 1442695040888963407ull;
		ids[i] = xasprintf("<m%zu@bench.example>", i);
		v[i].message_id = ids[i];
		v[i].subject = "benchmark";
		v[i].date = (int64_t)i;
		if ((r >> 33) % 8 == 0 || i == 0) {
			v[i].parent = -1;
			continue;
		}
		start = i - 1 - (size_t)((r >> 40) % (i < 40 ? i : 40));
		parent = start;
		buf_init(&b, 0);
		/* References: the parent's own, then the parent. */
		if (refs[parent] != NULL)
			buf_printf(&b, "%s ", refs[parent]);
		buf_adds(&b, ids[parent]);
		refs[i] = buf_steal(&b, NULL);
		if (strlen(refs[i]) > 2000) {
			/* Keep them short like the envelope does. */
			char *cut = xasprintf("%s", ids[parent]);

			free(refs[i]);
			refs[i] = cut;
		}
		v[i].refs = refs[i];
		v[i].in_reply_to = ids[parent];
		v[i].depth = (int)parent; /* expected parent, for checking */
	}
	{
		int *want = calloc(n, sizeof *want);

		for (i = 0; i < n; i++)
			want[i] = v[i].refs ? v[i].depth : -1;
		t0 = now_ms();
		mime_thread(v, n);
		t1 = now_ms();
		for (i = 0; i < n; i++) {
			if (v[i].parent != want[i])
				bad++;
			if (v[i].order >= n || seen[v[i].order]++)
				bad++;
			if (v[i].parent >= 0 &&
			    v[i].depth != v[v[i].parent].depth + 1)
				bad++;
			if (v[i].parent >= 0 &&
			    v[i].order <= v[v[i].parent].order)
				bad++;
		}
		free(want);
	}
	printf("# threading %zu messages: %llu ms\n", n,
	    (unsigned long long)(t1 - t0));
	CHECK(bad == 0);
	for (i = 0; i < n; i++) {
		free(ids[i]);
		free(refs[i]);
	}
	free(ids);
	free(refs);
	free(seen);
	free(v);
}

/*
 * Random mutation of the corpus: flips, insertions of tokens MIME parsers
 * trip on, deletions, truncations, duplications. Every result goes
 * through the envelope, the parser, rendering and part decoding; the
 * output must be clean UTF-8. Deterministic (fixed seed), bounded.
 */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return fuzz_state;
}

static void
mutate(struct buf *b)
{
	static const char *const tokens[] = { "\n--", "\r\n\r\n", "\n\n",
		"=?utf-8?b?", "=?iso-8859-1?q?=E9", "?=", "boundary=", "\"",
		"Content-Type: multipart/mixed; boundary=x\n", "\n--x\n",
		"\n--x--\n", "Content-Transfer-Encoding: base64\n",
		"Content-Transfer-Encoding: quoted-printable\n", "=\n", "=",
		"<", ">", "&#", "&amp", "<script>", "<a href=", "<li>",
		"begin 644 f\n", "\nend\n", "*0*=utf-8''%", "(", ")", "\\",
		"message/rfc822\n\n", "format=flowed", "\x1b[", "\xe2\x80\xae",
		"\xc3", "\0", "\t", " ", ";", ":", "@", ",", "text/html\n\n" };
	size_t op = rnd() % 6, pos = b->len ? rnd() % (b->len + 1) : 0;

	switch (op) {
	case 0: /* flip a byte */
		if (b->len > 0)
			b->data[rnd() % b->len] ^= (char)(1u << (rnd() % 8));
		break;
	case 1: { /* insert a token */
		const char *t = tokens[rnd() % TERN_NELEM(tokens)];
		size_t tl = t[0] == '\0' ? 1 : strlen(t);
		struct buf nb;

		buf_init(&nb, 0);
		buf_add(&nb, b->data, pos);
		buf_add(&nb, t, tl);
		buf_add(&nb, b->data + pos, b->len - pos);
		buf_free(b);
		*b = nb;
		break;
	}
	case 2: /* delete a range */
		if (b->len > 0) {
			size_t n = rnd() % 64;

			if (pos + n > b->len)
				n = b->len - pos;
			memmove(
			    b->data + pos, b->data + pos + n, b->len - pos - n);
			b->len -= n;
		}
		break;
	case 3: /* truncate */
		b->len = pos;
		break;
	case 4: { /* duplicate a chunk */
		size_t n = rnd() % 256, at;
		struct buf nb;

		if (pos + n > b->len)
			n = b->len - pos;
		at = b->len ? rnd() % (b->len + 1) : 0;
		buf_init(&nb, 0);
		buf_add(&nb, b->data, at);
		buf_add(&nb, b->data + pos, n);
		buf_add(&nb, b->data + at, b->len - at);
		buf_free(b);
		*b = nb;
		break;
	}
	default: /* a random byte */
		if (b->len > 0)
			b->data[rnd() % b->len] = (char)rnd();
		break;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

/* Run every entry point on one input; 0 if the output was bad. */
static int
exercise(const char *data, size_t len, unsigned width)
{
	struct mime_envelope e;
	struct mime_msg *m;
	struct mime_render_opts o = { (int)(width & 1), NULL, width, NULL, 0,
		NULL, NULL, 0 };
	const struct mime_attachment *a;
	struct buf out;
	size_t i, n;
	int ok = 1;

	mime_envelope_parse(data, len, &e);
	ok &= utf8_ok(e.from) && utf8_ok(e.to) && utf8_ok(e.cc) &&
	    utf8_ok(e.subject) && utf8_ok(e.message_id) &&
	    utf8_ok(e.in_reply_to) && utf8_ok(e.refs) &&
	    utf8_ok(e.content_type) && e.content_type != NULL;
	if (!ok) {
		printf("# bad envelope: from %d to %d cc %d subject %d ids %d "
		       "%d %d ct %d\n",
		    utf8_ok(e.from), utf8_ok(e.to), utf8_ok(e.cc),
		    utf8_ok(e.subject), utf8_ok(e.message_id),
		    utf8_ok(e.in_reply_to), utf8_ok(e.refs),
		    utf8_ok(e.content_type));
	}
	mime_envelope_clear(&e);
	m = mime_parse(data, len);
	buf_init(&out, 0);
	ok &= mime_render(m, &o, &out, NULL) == 0;
	if (!clean_text(out.data ? out.data : "", out.len)) {
		printf("# bad render\n");
		ok = 0;
	}
	n = mime_attachments(m, &a);
	for (i = 0; i < n; i++) {
		char *name = mime_attachment_name(m, a[i].part);

		ok &= utf8_ok(a[i].filename) && utf8_ok(name) &&
		    strchr(name, '/') == NULL && name[0] != '.';
		free(name);
	}
	for (i = 0; i < mime_part_count(m); i++) {
		buf_reset(&out);
		ok &= mime_part_decode(m, i, &out, NULL) == 0;
	}
	buf_free(&out);
	mime_free(&m);
	return ok;
}

static void
test_fuzz(void)
{
	static const char *const corpus[] = { "simple.eml",
		"crlf-qp-latin1.eml", "alternative.eml", "html-only.eml",
		"flowed.eml", "nested.eml", "no-boundary-param.eml",
		"no-close-delim.eml", "no-delims.eml", "dup-boundary.eml",
		"broken-base64.eml", "uuencode.eml", "hostile.eml",
		"8bit-headers.eml", "deep.eml", "digest.eml", "charsets.eml",
		"signed.eml", "nul-bytes.eml", "header-only.eml", "empty.eml",
		"garbage.eml", "text-attachment.eml", "rfc2231-latin1.eml",
		"bounce.eml" };
	const char *env = getenv("TERN_FUZZ_ITERATIONS");
	size_t iters = env ? strtoul(env, NULL, 10) : 1500, c, k, bad = 0;
	uint64_t t0 = now_ms();

	for (c = 0; c < TERN_NELEM(corpus); c++) {
		struct buf raw;
		struct mime_msg *m = load(corpus[c], &raw);

		mime_free(&m);
		if (!exercise(raw.data ? raw.data : "", raw.len, 72))
			bad++;
		for (k = 0; k < iters; k++) {
			struct buf b;
			size_t nm = 1 + rnd() % 8, j;

			buf_init(&b, 0);
			buf_add(&b, raw.data ? raw.data : "", raw.len);
			for (j = 0; j < nm; j++)
				mutate(&b);
			if (!exercise(b.data ? b.data : "", b.len,
			        (unsigned)(rnd() % 100))) {
				if (bad++ == 0)
					printf("# fuzz: bad output from a "
					       "mutation of %s\n",
					    corpus[c]);
			}
			buf_free(&b);
		}
		buf_free(&raw);
	}
	printf("# fuzz: %zu inputs in %llu ms\n",
	    (iters + 1) * TERN_NELEM(corpus),
	    (unsigned long long)(now_ms() - t0));
	CHECK(bad == 0);
}

/* Linear time: a pathological input must not take quadratic time. */
static void
test_linear(void)
{
	static const char *const units[] = { "=?", "=?a?q?", "--x\n", "<", "(",
		"\"", "&#1", "<a href=", "begin 644 x\n", "\n ", "=\n" };
	size_t u;

	for (u = 0; u < TERN_NELEM(units); u++) {
		size_t ul = strlen(units[u]), n = 2 * 1024 * 1024 / ul, i;
		struct buf b;
		uint64_t t0;

		buf_init(&b, 0);
		buf_adds(&b, "Subject: ");
		for (i = 0; i < n / 2; i++)
			buf_add(&b, units[u], ul);
		buf_adds(&b,
		    "\nContent-Type: multipart/mixed; boundary=x\n"
		    "From: ");
		for (i = 0; i < 1000; i++)
			buf_add(&b, units[u], ul);
		buf_adds(&b, "\n\n--x\nContent-Type: text/html\n\n");
		for (i = 0; i < n / 2; i++)
			buf_add(&b, units[u], ul);
		t0 = now_ms();
		CHECK(exercise(b.data, b.len, 72));
		printf("# %zu bytes of pattern %zu: %llu ms\n", b.len, u,
		    (unsigned long long)(now_ms() - t0));
		buf_free(&b);
	}
}

/* Pieces handed on by mime_part_decode_to: joined, and the largest. */
struct pieces {
	struct buf all;
	size_t max;
};

static int
piece_cb(void *arg, const char *data, size_t len)
{
	struct pieces *p = arg;

	if (len > p->max)
		p->max = len;
	return buf_add(&p->all, data, len);
}

/* The bytes of file k: every byte value, '=' and spaces among them. */
static char *
payload(size_t len, int k)
{
	char *b = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (char)((i * 7 + (size_t)k) % 256);
	return b;
}

static void
qp_encode(struct buf *out, const char *s, size_t len, int breaks)
{
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (breaks && col >= 70) {
			buf_adds(out, "=\r\n");
			col = 0;
		}
		if ((c >= 33 && c <= 126 && c != '=') ||
		    (c == ' ' && i + 1 < len)) {
			buf_addc(out, (char)c);
			col++;
		} else {
			buf_printf(out, "=%02X", c);
			col += 3;
		}
	}
	buf_adds(out, "\r\n");
}

static void
uu_encode(struct buf *out, const char *s, size_t len)
{
	size_t i, j;

	buf_adds(out, "begin 644 f.bin\r\n");
	for (i = 0; i < len; i += 45) {
		size_t n = len - i < 45 ? len - i : 45;

		buf_addc(out, (char)(' ' + n));
		for (j = 0; j < n; j += 3) {
			unsigned char a = (unsigned char)s[i + j];
			unsigned char b =
			    j + 1 < n ? (unsigned char)s[i + j + 1] : 0;
			unsigned char c =
			    j + 2 < n ? (unsigned char)s[i + j + 2] : 0;

			buf_addc(out, (char)(' ' + (a >> 2)));
			buf_addc(
			    out, (char)(' ' + (((a & 3) << 4) | (b >> 4))));
			buf_addc(
			    out, (char)(' ' + (((b & 15) << 2) | (c >> 6))));
			buf_addc(out, (char)(' ' + (c & 63)));
		}
		buf_adds(out, "\r\n");
	}
	buf_adds(out, "`\r\nend\r\n");
}

/*
 * Big parts decoded a piece at a time come out as the bytes encoded, in
 * pieces of about a mebibyte: base64, quoted-printable with line breaks
 * and as one line of megabytes, and uuencode.
 */
static void
test_decode_pieces(void)
{
	static const char *encs[] = { "base64", "quoted-printable",
		"quoted-printable", "x-uuencode" };
	size_t len = 3 * 1024 * 1024 + 12345, k;
	struct buf msg;
	char *files[TERN_NELEM(encs)];
	struct mime_msg *m;

	buf_init(&msg, 0);
	buf_adds(&msg,
	    "Subject: big\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n");
	for (k = 0; k < TERN_NELEM(encs); k++) {
		files[k] = payload(len, (int)k);
		buf_printf(&msg,
		    "--b\r\nContent-Type: application/octet-stream\r\n"
		    "Content-Disposition: attachment; filename=f%zu\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n",
		    k, encs[k]);
		if (k == 0) {
			compose_base64_encode(&msg, files[k], len);
			if (msg.data[msg.len - 1] != '\n')
				buf_adds(&msg, "\r\n");
		} else if (k == 3)
			uu_encode(&msg, files[k], len);
		else
			qp_encode(&msg, files[k], len, k == 1);
	}
	buf_adds(&msg, "--b--\r\n");
	m = mime_parse(msg.data, msg.len);
	for (k = 0; k < TERN_NELEM(encs); k++) {
		char sec[8];
		long i;
		struct pieces p;
		size_t want = len;

		snprintf(sec, sizeof sec, "%zu", k + 2);
		i = mime_part_find(m, sec);
		CHECK(i > 0);
		if (i <= 0)
			continue;
		buf_init(&p.all, 0);
		p.max = 0;
		CHECK(mime_part_decode_to(m, (size_t)i, piece_cb, &p) == 0);
		/* (The line end before a boundary belongs to it.) */
		CHECK(p.all.len == want);
		if (p.all.len != want)
			printf("# part %zu: %zu bytes, not %zu\n", k + 2,
			    p.all.len, want);
		CHECK(
		    p.all.len >= len && memcmp(p.all.data, files[k], len) == 0);
		/* One line of megabytes is cut between its escapes too. */
		CHECK(p.max <= 1024 * 1024 + 4);
		buf_free(&p.all);
		free(files[k]);
	}
	mime_free(&m);
	buf_free(&msg);
}

/* A text of megabytes made visible a piece at a time: no character is
 * cut, every control character still shown. */
static void
test_render_pieces(void)
{
	struct buf msg, want;
	struct pieces p;
	struct mime_msg *m;
	size_t i;

	buf_init(&msg, 0);
	buf_init(&want, 0);
	buf_adds(&msg,
	    "Subject: wide\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n\r\n");
	buf_adds(&want, "Subject: wide\n\n");
	for (i = 0; i < 300000; i++) {
		/* 1, 2, 3 and 4 bytes: every cut lands in some character. */
		buf_adds(&msg, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
		buf_adds(&want, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
		if (i % 50000 == 0) {
			buf_adds(&msg, "\x1b\r\n");
			buf_adds(&want, "^[\n");
		}
	}
	buf_adds(&msg, "\r\n");
	buf_adds(&want, "\n");
	m = mime_parse(msg.data, msg.len);
	buf_init(&p.all, 0);
	p.max = 0;
	CHECK(mime_render_to(m, NULL, piece_cb, &p) == 0);
	CHECK(p.all.len == want.len &&
	    memcmp(p.all.data, want.data, want.len) == 0);
	CHECK(p.max <= 1024 * 1024 + 16);
	buf_free(&p.all);
	mime_free(&m);
	buf_free(&msg);
	buf_free(&want);
}

/*
 * A search index's text: decoded (QP Latin-1, RFC 2047, base64 UTF-8,
 * HTML), the attachment by its name and never its bytes, the header
 * fields but the envelope's and the trace fields.
 */
static void
test_index_text(void)
{
	static const char msg[] =
	    "Received: from relay.example.net by mx\r\n"
	    "From: =?ISO-8859-1?Q?H=E9l=E8ne?= <h@example.org>\r\n"
	    "To: bob@example.org\r\n"
	    "Subject: =?UTF-8?B?w5xiZXI=?= uns\r\n"
	    "List-Id: Tern users <users.tern.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	    "\r\n"
	    "--b1\r\n"
	    "Content-Type: multipart/alternative; boundary=\"b2\"\r\n"
	    "\r\n"
	    "--b2\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "PHA+PGI+VHLDqHM8L2I+IGJpZW4mbmJzcDt2dTwvcD4=\r\n"
	    "--b2--\r\n"
	    "--b1\r\n"
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "A bient=F4t, caf=E9 =E0 l'=E9cole.\r\n"
	    "--b1\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename=\"rapport-2024.pdf\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "c2VjcmV0d29yZGluc2lkZQ==\r\n"
	    "--b1--\r\n";
	struct buf h, b;

	buf_init(&h, 0);
	buf_init(&b, 0);
	mime_index_text(msg, sizeof msg - 1, 0, &h, &b);
	CHECK(strstr(h.data, "List-Id: Tern users <users.tern.example>\n") !=
	    NULL);
	CHECK(strstr(h.data, "MIME-Version: 1.0\n") != NULL);
	CHECK(strstr(h.data, "Received") == NULL);
	CHECK(strstr(h.data, "From:") == NULL);
	CHECK(strstr(h.data, "Subject:") == NULL);
	CHECK(strstr(b.data, "Très bien") != NULL);
	CHECK(strstr(b.data, "A bientôt, café à l'école.") != NULL);
	CHECK(strstr(b.data, "rapport-2024.pdf\n") != NULL);
	CHECK(strstr(b.data, "secretword") == NULL);
	CHECK(strstr(b.data, "[--") == NULL);
	CHECK(strstr(b.data, "Hélène") == NULL); /* the header is apart */
	buf_free(&h);
	buf_free(&b);
}

int
main(void)
{
	test_envelope_basic();
	test_envelope_header_only_lf();
	test_envelope_8bit_and_obsolete();
	test_dates();
	test_encoded_words();
	test_envelope_limits();
	test_render_corpus();
	test_full_headers();
	test_chosen_headers();
	test_header_limits();
	test_html_details();
	test_flowed_details();
	test_alternative_details();
	test_html_filter();
	test_parts_and_attachments();
	test_save();
	test_decode_pieces();
	test_render_pieces();
	test_mailcap();
	test_thread_small();
	test_thread_100k();
	test_fuzz();
	test_linear();
	test_index_text();
	return test_done();
}
