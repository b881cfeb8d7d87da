/*
 * Unit tests of the mime module: envelope, decoding, parsing, rendering,
 * threading, attachments, and random mutation of a corpus of hard mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main(void)
{
	test_envelope_basic();
	test_envelope_header_only_lf();
	test_envelope_8bit_and_obsolete();
	test_dates();
	test_encoded_words();
	test_envelope_limits();
	return test_done();
}
