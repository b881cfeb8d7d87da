/*
 * compose: header encoding and folding, transfer encodings chosen by
 * content, RFC 2231 parameters, address lists, drafts, replies and
 * forwards, and whole messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/compose.h"
#include "tern/util.h"

/* Every line of s (CRLF ended) is at most max characters. */
static int
lines_within(const char *s, size_t max)
{
	const char *p = s, *e;

	while (*p != '\0') {
		e = strstr(p, "\r\n");
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) > max)
			return 0;
		p = *e ? e + 2 : e;
	}
	return 1;
}

/* The value of "Name: value" after unfolding, decoded. */
static char *
unfold_decode(const char *field)
{
	char *v = compose_header_get(field, strlen(field), "Subject");
	char *d;

	if (v == NULL)
		v = compose_header_get(field, strlen(field), "To");
	d = v != NULL ? compose_header_decode(v) : NULL;
	free(v);
	return d;
}

static void
test_header_encoding(void)
{
	struct buf b;
	char *d;
	const char *long_utf8 =
	    "Réunion de l'équipe — ordre du jour très détaillé pour la "
	    "semaine prochaine, avec des points à voir ensemble 日本語のテキスト";

	buf_init(&b, 0);
	compose_header_add(&b, "Subject", "plain ascii subject", 0);
	CHECK_STR(b.data, "Subject: plain ascii subject\r\n");

	buf_reset(&b);
	compose_header_add(&b, "Subject", "Grüße aus Köln", 0);
	CHECK(strstr(b.data, "=?utf-8?B?") != NULL);
	CHECK(strncmp(b.data, "Subject: =?utf-8?B?", 19) == 0);
	CHECK(!strchr(b.data, 0xc3));
	d = unfold_decode(b.data);
	CHECK_STR(d, "Grüße aus Köln");
	free(d);

	/* ASCII words stay readable around an encoded run. */
	buf_reset(&b);
	compose_header_add(&b, "Subject", "Re: café meeting", 0);
	CHECK(strncmp(b.data, "Subject: Re: =?utf-8?B?", 23) == 0);
	CHECK(strstr(b.data, " meeting\r\n") != NULL);
	d = unfold_decode(b.data);
	CHECK_STR(d, "Re: café meeting");
	free(d);

	/* Long: folded within 78 columns, encoded words within 75. */
	buf_reset(&b);
	compose_header_add(&b, "Subject", long_utf8, 0);
	CHECK(lines_within(b.data, 78));
	CHECK(strstr(b.data, "\r\n ") != NULL);
	d = unfold_decode(b.data);
	CHECK_STR(d, long_utf8);
	free(d);

	buf_reset(&b);
	compose_header_add(&b, "Subject",
	    "a long plain subject line that goes on and on and on past the "
	    "seventy eight column limit of a header line",
	    0);
	CHECK(lines_within(b.data, 78));
	d = unfold_decode(b.data);
	CHECK_STR(d,
	    "a long plain subject line that goes on and on and on past the "
	    "seventy eight column limit of a header line");
	free(d);

	/* No value can start a new field. */
	buf_reset(&b);
	compose_header_add(&b, "Subject", "hi\r\nBcc: evil@example.org", 0);
	CHECK_STR(b.data, "Subject: hi Bcc: evil@example.org\r\n");

	/* Addresses: names encoded or quoted, addr-specs as they are. */
	buf_reset(&b);
	compose_header_add(&b, "To",
	    "José Núñez <jose@example.org>, \"Doe, John\" <john@example.org>,"
	    " plain@example.org",
	    1);
	CHECK(strstr(b.data, "<jose@example.org>,") != NULL);
	CHECK(strstr(b.data, "\"Doe, John\"") != NULL);
	CHECK(strstr(b.data, " plain@example.org\r\n") != NULL);
	CHECK(strstr(b.data, "=?utf-8?B?") != NULL);
	CHECK(lines_within(b.data, 78));
	d = unfold_decode(b.data);
	CHECK_STR(d,
	    "José Núñez <jose@example.org>, \"Doe, John\" "
	    "<john@example.org>, plain@example.org");
	free(d);
	buf_free(&b);

	/* Decoding: Q and B, other charsets, space between words. */
	d = compose_header_decode("=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6k=?=");
	CHECK_STR(d, "caféé");
	free(d);
	d = compose_header_decode("=?utf-8?q?a_b?= c");
	CHECK_STR(d, "a b c");
	free(d);
	d = compose_header_decode("bell\a here");
	CHECK_STR(d, "bell^G here");
	free(d);
}

static void
test_addresses(void)
{
	char **v, *s;

	v = compose_addr_list("A <a@x.org>, \"B, C\" <b@x.org>, c@x.org (Cee),"
	                      " undisclosed: d@x.org, e@x.org;");
	CHECK_STR(v[0], "a@x.org");
	CHECK_STR(v[1], "b@x.org");
	CHECK_STR(v[2], "c@x.org");
	CHECK_STR(v[3], "d@x.org");
	CHECK_STR(v[4], "e@x.org");
	CHECK(v[5] == NULL);
	compose_strv_free(v);
	v = compose_addr_list("");
	CHECK(v[0] == NULL);
	compose_strv_free(v);
	s = compose_addr_spec("\"Alice Example\" <alice@example.com>");
	CHECK_STR(s, "alice@example.com");
	free(s);
	/* As the index compares a From with the accounts' own. */
	s = compose_addr_spec("Ann <Ann@Example.org>");
	CHECK_STR(s, "Ann@Example.org");
	free(s);
	s = compose_addr_spec(" bo@example.org");
	CHECK_STR(s, "bo@example.org");
	free(s);
}

static void
test_encodings(void)
{
	struct buf b;
	char longline[1200];

	CHECK_STR(compose_text_encoding("hello\nworld\n", 12), "7bit");
	CHECK_STR(compose_text_encoding("h\xc3\xa9llo\n", 7), "8bit");
	memset(longline, 'a', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	CHECK_STR(compose_text_encoding(longline, strlen(longline)),
	    "quoted-printable");
	CHECK_STR(compose_text_encoding("bare\rcr", 7), "quoted-printable");
	/* Latin-1 is not UTF-8: never sent as 8bit. */
	CHECK_STR(
	    compose_text_encoding("caf\xe9 au lait\n", 13), "quoted-printable");
	CHECK_STR(
	    compose_text_encoding("\xe6\x97\xa5\x01\xe6\x9c\xac", 7), "base64");

	buf_init(&b, 0);
	compose_qp_encode(&b, "a=b \xc3\xa9 end \n", 12);
	CHECK_STR(b.data, "a=3Db =C3=A9 end=20\r\n");
	buf_reset(&b);
	compose_qp_encode(&b, longline, 200);
	CHECK(lines_within(b.data, 76));
	CHECK(strstr(b.data, "=\r\n") != NULL);
	buf_reset(&b);
	compose_base64_encode(&b, "Man", 3);
	CHECK_STR(b.data, "TWFu");
	buf_reset(&b);
	compose_base64_encode(&b, "Ma", 2);
	CHECK_STR(b.data, "TWE=");
	buf_reset(&b);
	compose_base64_encode(&b, "M", 1);
	CHECK_STR(b.data, "TQ==");
	buf_free(&b);

	CHECK_STR(
	    compose_guess_type("x.bin", "%PDF-1.4\n", 9), "application/pdf");
	CHECK_STR(compose_guess_type("photo", "\x89PNG\r\n\x1a\n\0\0", 10),
	    "image/png");
	CHECK_STR(compose_guess_type("notes.txt", "hello\n", 6), "text/plain");
	CHECK_STR(compose_guess_type("page.html", "<html>\n", 7), "text/html");
	CHECK_STR(compose_guess_type("fake.txt", "\0\1\2\3", 4),
	    "application/octet-stream");
	CHECK_STR(compose_guess_type("report.docx", "PK\x03\x04zz", 6),
	    "application/"
	    "vnd.openxmlformats-officedocument.wordprocessingml.document");
}

static void
test_rfc2231(void)
{
	struct buf b;
	char name[200];
	size_t i;

	buf_init(&b, 0);
	compose_param_add(&b, "filename", "report.pdf");
	CHECK_STR(b.data, ";\r\n filename=\"report.pdf\"");
	buf_reset(&b);
	compose_param_add(&b, "filename", "a \"b\".txt");
	CHECK_STR(b.data, ";\r\n filename=\"a \\\"b\\\".txt\"");
	buf_reset(&b);
	compose_param_add(&b, "filename", "résumé.pdf");
	CHECK_STR(b.data, ";\r\n filename*=utf-8''r%C3%A9sum%C3%A9.pdf");
	/* Long names are split, never inside a %XX. */
	buf_reset(&b);
	name[0] = '\0';
	for (i = 0; i < 12; i++)
		strcat(name, "日本");
	strcat(name, ".txt");
	compose_param_add(&b, "filename", name);
	CHECK(strstr(b.data, "filename*0*=utf-8''%E6%97%A5") != NULL);
	CHECK(strstr(b.data, "filename*1*=") != NULL);
	CHECK(strstr(b.data, "filename*=") == NULL);
	CHECK(lines_within(b.data, 78));
	{
		/* Each segment ends on a whole %XX. */
		const char *p = b.data;
		int ok = 1;

		while ((p = strstr(p, "*=")) != NULL) {
			const char *e = strstr(p, ";\r\n");
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len >= 1 && p[len - 1] == '%')
				ok = 0;
			if (len >= 2 && p[len - 2] == '%')
				ok = 0;
			p += 2;
		}
		CHECK(ok);
	}
	buf_free(&b);
}

static const char original[] =
    "From: =?utf-8?q?Bob_M=C3=BCller?= <bob@example.org>\r\n"
    "To: Alice <alice@example.net>, carol@example.org\r\n"
    "Cc: dave@example.org, alice@example.net\r\n"
    "Subject: Re: RE: lunch\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <m2@example.org>\r\n"
    "References: <m0@example.org>\r\n"
    " <m1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"XX\"\r\n"
    "\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Caf=E9 at noon?\r\n"
    "> earlier\r\n"
    "--XX\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>html</p>\r\n"
    "--XX--\r\n";

static void
test_reply_forward(void)
{
	struct compose c;

	compose_init(&c);
	compose_reply(
	    &c, original, strlen(original), "Alice <alice@example.net>", 0);
	CHECK_STR(c.to, "Bob Müller <bob@example.org>");
	CHECK(c.cc == NULL);
	CHECK_STR(c.subject, "Re: lunch");
	CHECK_STR(c.in_reply_to, "<m2@example.org>");
	CHECK_STR(
	    c.references, "<m0@example.org> <m1@example.org> <m2@example.org>");
	CHECK(strstr(c.body,
	          "On Tue, 14 Nov 2023 22:13:20 +0000, Bob "
	          "Müller wrote:\n") != NULL);
	CHECK(strstr(c.body, "> Café at noon?\n>> earlier\n") != NULL);
	CHECK(strstr(c.body, "html") == NULL);

	compose_reply(
	    &c, original, strlen(original), "Alice <alice@example.net>", 1);
	CHECK_STR(c.to, "Bob Müller <bob@example.org>, carol@example.org");
	CHECK_STR(c.cc, "dave@example.org");

	compose_forward(
	    &c, original, strlen(original), "Alice <alice@example.net>", 0);
	CHECK_STR(c.subject, "Fwd: Re: RE: lunch");
	CHECK(strstr(c.body,
	          "---------- Forwarded message ----------\n"
	          "From: Bob Müller <bob@example.org>\n") != NULL);
	CHECK(strstr(c.body, "Café at noon?") != NULL);
	CHECK(c.fwd_raw == NULL);

	/* HTML-only mail is quoted as text. */
	{
		const char *html =
		    "From: b@x.org\r\nSubject: h\r\n"
		    "Content-Type: text/html; charset=utf-8\r\n\r\n"
		    "<p>Caf\xc3\xa9 <b>bold</b></p>\r\n";

		compose_reply(&c, html, strlen(html), NULL, 0);
		CHECK(strstr(c.body, "> Café bold\n") != NULL);
		CHECK(strstr(c.body, "<p>") == NULL);
	}
	compose_forward(&c, original, strlen(original), NULL, 1);
	CHECK(c.fwd_raw != NULL && c.fwd_len == strlen(original));
	compose_clear(&c);
}

static int
is_list(const char *addr, void *arg)
{
	return strcmp(addr, (const char *)arg) == 0;
}

static void
test_signature_and_lists(void)
{
	const char *post =
	    "From: Bob <bob@example.org>\r\n"
	    "To: dev@lists.example.org\r\n"
	    "Cc: carol@example.org\r\n"
	    "Subject: patch\r\n"
	    "List-Post: <mailto:dev@lists.example.org?subject=help>\r\n"
	    "Message-ID: <p1@example.org>\r\n\r\n"
	    "Looks good.\r\n\r\n-- \r\nBob, who signs\r\nevery mail\r\n";
	const char *nopost = "From: Bob <bob@example.org>\r\n"
	                     "To: Dev <dev@lists.example.org>\r\n"
	                     "Subject: patch\r\n\r\nHi\r\n";
	struct compose c;
	char *a;

	compose_init(&c);
	/* A new message: the signature under "-- ". */
	compose_new(&c, "Alice <alice@example.net>");
	compose_signature(&c, "Alice\nhttps://alice.example.net");
	CHECK_STR(c.body, "\n-- \nAlice\nhttps://alice.example.net\n");
	/* A file that has its own separator does not get a second. */
	compose_new(&c, NULL);
	compose_signature(&c, "-- \nA.\n");
	CHECK_STR(c.body, "\n-- \nA.\n");

	/* A reply quotes the text, not the original's signature. */
	compose_reply(&c, post, strlen(post), "Alice <alice@example.net>", 0);
	CHECK(strstr(c.body, "> Looks good.\n") != NULL);
	CHECK(strstr(c.body, "Bob, who signs") == NULL);
	CHECK(strstr(c.body, "> -- ") == NULL);
	compose_signature(&c, "Alice\n");
	CHECK(strstr(c.body, "> Looks good.\n>\n\n-- \nAlice\n") != NULL);

	/* Reply to list: List-Post's address, nothing else. */
	a = compose_list_post(post, strlen(post));
	CHECK_STR(a, "dev@lists.example.org");
	free(a);
	CHECK(compose_list_post(nopost, strlen(nopost)) == NULL);
	CHECK(compose_reply_list(&c, post, strlen(post),
	          "Alice <alice@example.net>", NULL, NULL) == 0);
	CHECK_STR(c.to, "dev@lists.example.org");
	CHECK(c.cc == NULL);
	CHECK_STR(c.subject, "Re: patch");
	CHECK_STR(c.in_reply_to, "<p1@example.org>");
	/* Without List-Post: a To or Cc address known as a list. */
	CHECK(compose_reply_list(&c, nopost, strlen(nopost), NULL, is_list,
	          (void *)"nobody@example.org") == -1);
	CHECK(compose_reply_list(&c, nopost, strlen(nopost), NULL, is_list,
	          (void *)"dev@lists.example.org") == 0);
	CHECK_STR(c.to, "dev@lists.example.org");
	compose_clear(&c);
}

static void
test_recall(void)
{
	struct compose c, r;
	struct buf out;

	compose_init(&c);
	compose_init(&r);
	buf_init(&out, 0);
	compose_new(&c, "Alice Ünal <alice@example.net>");
	c.to = xstrdup("bob@example.org");
	c.bcc = xstrdup("eve@example.org");
	c.subject = xstrdup("Café plans");
	c.in_reply_to = xstrdup("<m1@example.org>");
	c.references = xstrdup("<m0@example.org> <m1@example.org>");
	free(c.body);
	c.body = xstrdup("Half written.\n\n-- \nAlice\n");
	CHECK(compose_build(&c, 1700000000, COMPOSE_DRAFT, &out, NULL, NULL) ==
	    0);
	compose_recall(&r, out.data, out.len);
	CHECK_STR(r.from, "Alice Ünal <alice@example.net>");
	CHECK_STR(r.to, "bob@example.org");
	CHECK_STR(r.bcc, "eve@example.org");
	CHECK_STR(r.subject, "Café plans");
	CHECK_STR(r.in_reply_to, "<m1@example.org>");
	CHECK_STR(r.references, "<m0@example.org> <m1@example.org>");
	CHECK(strstr(r.body, "Half written.\n\n-- \nAlice") != NULL);
	buf_free(&out);
	compose_clear(&c);
	compose_clear(&r);
}

/* The bytes of a file (malloc'd, NUL ended), or NULL. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = xmalloc(65536);

	*len = f != NULL ? fread(data, 1, 65535, f) : 0;
	data[*len] = '\0';
	if (f == NULL) {
		free(data);
		return NULL;
	}
	fclose(f);
	return data;
}

/*
 * A draft postponed with two files and a forwarded message comes back
 * whole: its text alone as the body, each file with its name and bytes,
 * the forward as it was; built again, it is the same message.
 */
static void
test_recall_attachments(void)
{
	static const char inner_msg[] = "From: c@example.org\r\n"
	                                "Subject: inner\r\n\r\ninner body\r\n";
	static const char bin[] = "PDF\0\1\2\377 binary";
	char dir[] = "/tmp/tern-recall-XXXXXX", src[] = "/tmp/tern-src-XXXXXX";
	char *a, *b, *data, *cause = NULL;
	struct compose c, r, r2;
	struct buf out, again;
	size_t len;
	FILE *f;

	compose_init(&c);
	compose_init(&r);
	compose_init(&r2);
	buf_init(&out, 0);
	buf_init(&again, 0);
	CHECK(mkdtemp(dir) != NULL && mkdtemp(src) != NULL);
	a = xasprintf("%s/report.pdf", src);
	b = xasprintf("%s/notes ä.txt", src);
	f = fopen(a, "wb");
	fwrite(bin, 1, sizeof bin - 1, f);
	fclose(f);
	f = fopen(b, "wb");
	fputs("plain notes\n", f);
	fclose(f);
	compose_forward(&c, inner_msg, strlen(inner_msg), "a@example.org", 1);
	c.to = xstrdup("b@example.org");
	free(c.body);
	c.body = xstrdup("Half written.\n");
	compose_attach_add(&c, a);
	compose_attach_add(&c, b);
	CHECK(compose_build(&c, 1700000000, COMPOSE_DRAFT, &out, NULL, NULL) ==
	    0);
	compose_recall(&r, out.data, out.len);
	CHECK_STR(r.body, "Half written.\n");
	CHECK(compose_recall_attachments(&r, out.data, out.len, dir, &cause) ==
	    3);
	CHECK(r.nattach == 2 && r.fwd_raw != NULL && r.nfwd_more == 0);
	if (r.nattach == 2) {
		CHECK_STR(strrchr(r.attach[0], '/') + 1, "report.pdf");
		CHECK_STR(strrchr(r.attach[1], '/') + 1, "notes ä.txt");
		CHECK(strncmp(r.attach[0], dir, strlen(dir)) == 0);
		data = slurp(r.attach[0], &len);
		CHECK(data != NULL && len == sizeof bin - 1 &&
		    memcmp(data, bin, len) == 0);
		free(data);
		data = slurp(r.attach[1], &len);
		CHECK(data != NULL && strcmp(data, "plain notes\n") == 0);
		free(data);
	}
	CHECK(r.fwd_raw != NULL && r.fwd_len == strlen(inner_msg) &&
	    memcmp(r.fwd_raw, inner_msg, r.fwd_len) == 0);
	/* Postponed again and recalled again: nothing gained or lost. */
	CHECK(compose_build(
	          &r, 1700000000, COMPOSE_DRAFT, &again, NULL, NULL) == 0);
	compose_recall(&r2, again.data, again.len);
	CHECK_STR(r2.body, "Half written.\n");
	/* A draft of one part has nothing to take back. */
	CHECK(compose_recall_attachments(
	          &r2, "Subject: x\n\nbody\n", 17, dir, &cause) == 0);
	unlink(a);
	unlink(b);
	rmdir(src);
	for (size_t i = 0; i < r.nattach; i++)
		unlink(r.attach[i]);
	rmdir(dir);
	free(a);
	free(b);
	buf_free(&out);
	buf_free(&again);
	compose_clear(&c);
	compose_clear(&r);
	compose_clear(&r2);
}

static void
test_draft(void)
{
	struct compose c;
	struct buf b;
	char *cause = NULL, path[] = "/tmp/tern-attach-XXXXXX";
	const char *draft;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write_all(fd, "attached\n", 9) == 0);
	close(fd);

	compose_init(&c);
	compose_reply(
	    &c, original, strlen(original), "Alice <alice@example.net>", 0);
	buf_init(&b, 0);
	compose_draft_write(&c, &b);
	CHECK(strncmp(b.data, "From: Alice <alice@example.net>\nTo: Bob", 39) ==
	    0);
	buf_free(&b);

	draft = NULL;
	{
		char *d = xasprintf("From: Alice <alice@example.net>\n"
		                    "To: x@example.org,\n  y@example.org\n"
		                    "Cc:\n"
		                    "Bcc: z@example.org\n"
		                    "Subject: edited\n"
		                    "Attach: %s\n"
		                    "X-Mood: fine\n"
		                    "\n"
		                    "new body\n",
		    path);

		CHECK(compose_draft_parse(&c, d, strlen(d), &cause) == 0);
		free(d);
	}
	CHECK_STR(c.to, "x@example.org, y@example.org");
	CHECK(c.cc == NULL);
	CHECK_STR(c.bcc, "z@example.org");
	CHECK_STR(c.subject, "edited");
	CHECK(c.nattach == 1);
	CHECK(c.nextra == 1);
	CHECK_STR(c.body, "new body\n");
	/* Kept from the reply though the draft does not show them. */
	CHECK_STR(c.in_reply_to, "<m2@example.org>");

	draft = "To: a@example.org\nnot a header\n\nbody\n";
	CHECK(compose_draft_parse(&c, draft, strlen(draft), &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "not a header") != NULL);
	free(cause);
	cause = NULL;
	/* A failed parse changes nothing. */
	CHECK_STR(c.subject, "edited");

	draft = "To: a@example.org\nAttach: /nonexistent/file\n\nbody\n";
	CHECK(compose_draft_parse(&c, draft, strlen(draft), &cause) == -1);
	free(cause);
	cause = NULL;
	compose_clear(&c);
	unlink(path);
}

static void
test_build(void)
{
	struct compose c;
	struct buf b, sent;
	char **rcpts = NULL, *cause = NULL, path[] = "/tmp/tern-ätt-XXXXXX";
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write_all(fd, "%PDF-1.4\n\0binary", 16) == 0);
	close(fd);

	compose_init(&c);
	compose_new(&c, "Alice Ünïcode <alice@example.net>");
	c.to = xstrdup("bob@example.org");
	c.bcc = xstrdup("Carol <carol@example.org>");
	c.subject = xstrdup("Grüße");
	free(c.body);
	c.body = xstrdup("Hällo\n.\nFrom here\n");
	buf_init(&b, 0);
	CHECK(compose_build(&c, 1700000000, 0, &b, &rcpts, &cause) == 0);
	CHECK(rcpts != NULL && rcpts[0] && rcpts[1] && !rcpts[2]);
	if (rcpts != NULL && rcpts[0] && rcpts[1]) {
		CHECK_STR(rcpts[0], "bob@example.org");
		CHECK_STR(rcpts[1], "carol@example.org");
	}
	compose_strv_free(rcpts);
	CHECK(strstr(b.data, "Bcc") == NULL);
	CHECK(strstr(b.data, "carol") == NULL);
	CHECK(strstr(b.data, "\r\nMessage-ID: <") != NULL);
	CHECK(strstr(b.data, "@example.net>\r\n") != NULL);
	CHECK(strncmp(b.data, "Date: ", 6) == 0);
	CHECK(strstr(b.data, "Content-Transfer-Encoding: 8bit\r\n") != NULL);
	CHECK(strstr(b.data, "MIME-Version: 1.0\r\n") != NULL);
	CHECK(lines_within(b.data, 998));

	/* Kept in the outbox copy, stripped again before sending. */
	CHECK(compose_build(
	          &c, 1700000000, COMPOSE_KEEP_BCC, &b, NULL, &cause) == 0);
	CHECK(strstr(b.data, "\r\nBcc: Carol <carol@example.org>\r\n") != NULL);
	buf_init(&sent, 0);
	rcpts = NULL;
	CHECK(compose_prepare_raw(b.data, b.len, &sent, &rcpts, &cause) == 0);
	CHECK(strstr(sent.data, "Bcc") == NULL);
	CHECK(rcpts != NULL && rcpts[1] != NULL &&
	    strcmp(rcpts[1], "carol@example.org") == 0);
	compose_strv_free(rcpts);
	buf_free(&sent);

	compose_attach_add(&c, path);
	CHECK(compose_build(&c, 1700000000, 0, &b, NULL, &cause) == 0);
	CHECK(strstr(b.data, "Content-Type: multipart/mixed;") != NULL);
	CHECK(strstr(b.data, "Content-Type: application/pdf") != NULL);
	CHECK(strstr(b.data, "filename*=utf-8''tern-%C3%A4tt-") != NULL);
	CHECK(strstr(b.data,
	          "Content-Transfer-Encoding: base64\r\n\r\n"
	          "JVBERi0xLjQKAGJpbmFyeQ==\r\n") != NULL);
	CHECK(lines_within(b.data, 78));

	/* Nobody to send to, or an address tern cannot use. */
	free(c.to);
	free(c.bcc);
	c.to = c.bcc = NULL;
	CHECK(compose_build(&c, 0, 0, &b, NULL, &cause) == -1);
	free(cause);
	cause = NULL;
	/* A draft may have no recipient yet. */
	CHECK(compose_build(&c, 0, COMPOSE_DRAFT, &b, NULL, &cause) == 0);
	c.to = xstrdup("nodomain");
	CHECK(compose_build(&c, 0, 0, &b, NULL, &cause) == -1);
	free(cause);
	cause = NULL;
	buf_free(&b);
	compose_clear(&c);
	unlink(path);
}

static void
test_complete(void)
{
	struct buf b;
	const char *raw = "To: bob@example.org\nSubject: x\n\nbody\n";
	char date[64];

	buf_init(&b, 0);
	compose_complete_raw(raw, strlen(raw), "Alice <alice@example.net>", &b);
	CHECK(strncmp(b.data,
	          "From: Alice <alice@example.net>\r\nDate: ", 39) == 0);
	CHECK(strstr(b.data, "Message-ID: <") != NULL);
	CHECK(strstr(b.data, "\r\n\r\nbody\r\n") != NULL);
	buf_free(&b);
	setenv("TZ", "UTC", 1);
	compose_date(1700000000, date, sizeof date);
	CHECK_STR(date, "Tue, 14 Nov 2023 22:13:20 +0000");
}

/* Hostile originals: deep nesting, endless encoded-word openers, noise. */
static void
test_hostile(void)
{
	struct compose c;
	struct buf b, out;
	char **rcpts = NULL, *cause = NULL;
	uint64_t x = 42;
	size_t i, k, prepared = 0;
	int bad_reply = 0, bad_forward = 0, bad_draft = 0, bad_prepare = 0;

	buf_init(&b, 0);
	for (i = 0; i < 200; i++)
		buf_printf(&b,
		    "Content-Type: multipart/mixed; boundary=\"b%zu\"\n\n--b%zu\n",
		    i, i);
	buf_adds(&b, "Content-Type: text/plain\n\ndeep\n");
	compose_init(&c);
	compose_reply(&c, b.data, b.len, "a@x.org", 1);
	CHECK(c.body != NULL && strstr(c.body, " wrote:\n") != NULL);

	buf_reset(&b);
	buf_adds(&b, "Subject: ");
	for (i = 0; i < 100000; i++)
		buf_adds(&b, "=?a?q?");
	buf_adds(&b, "\nFrom: \"\\\n\n");
	/* A hang is a failure (the alarm kills the test), a slow run under
	 * the sanitizers is not; what the reply says is checked. */
	alarm(120);
	compose_reply(&c, b.data, b.len, NULL, 1);
	CHECK(c.subject != NULL && strncmp(c.subject, "Re: =?a?q?", 10) == 0);
	/* Kept as written, up to the header limit (256 KiB) and no more. */
	CHECK(c.subject != NULL && strlen(c.subject) > 4 + 200 * 1024 &&
	    strlen(c.subject) <= 4 + 256 * 1024);
	compose_forward(&c, b.data, b.len, NULL, 0);
	CHECK(c.subject != NULL && strncmp(c.subject, "Fwd: =?a?q?", 11) == 0);
	CHECK(c.body != NULL && strstr(c.body, "=?a?q?=?a?q?") != NULL);

	/* Noise through every parser: no crash, no hang. */
	for (k = 0; k < 300; k++) {
		buf_reset(&b);
		buf_adds(&b, k % 2 ? "To: a@b.c\n" : "");
		for (i = 0; i < 400; i++) {
			static const char alphabet[] =
			    "=?<>\"(),:;@\\ \t\r\n-abQB\x80\xff";

			x = x * 6364136223846793005ULL + 1;
			buf_addc(
			    &b, alphabet[(x >> 33) % (sizeof alphabet - 1)]);
		}
		/* Each parser gives a whole answer or a reason. */
		compose_reply(&c, b.data, b.len, "a@b.c", 1);
		if (c.subject == NULL || strncmp(c.subject, "Re:", 3) != 0 ||
		    c.body == NULL)
			bad_reply++;
		compose_forward(&c, b.data, b.len, NULL, 0);
		if (c.subject == NULL || strncmp(c.subject, "Fwd:", 4) != 0 ||
		    c.body == NULL)
			bad_forward++;
		if (compose_draft_parse(&c, b.data, b.len, &cause) != 0) {
			if (cause == NULL || *cause == '\0')
				bad_draft++;
			free(cause);
			cause = NULL;
		}
		buf_init(&out, 0);
		if (compose_prepare_raw(b.data, b.len, &out, &rcpts, &cause) ==
		    0) {
			if (rcpts == NULL || rcpts[0] == NULL || out.len == 0)
				bad_prepare++;
			else
				prepared++;
			compose_strv_free(rcpts);
		} else {
			if (cause == NULL || *cause == '\0')
				bad_prepare++;
			free(cause);
		}
		cause = NULL;
		rcpts = NULL;
		buf_free(&out);
	}
	alarm(0);
	CHECK(bad_reply == 0);
	CHECK(bad_forward == 0);
	CHECK(bad_draft == 0);
	CHECK(bad_prepare == 0);
	/* The noise with a To line in front has recipients. */
	printf("# %zu of 300 noisy messages prepared\n", prepared);
	CHECK(prepared > 0);
	compose_clear(&c);
	buf_free(&b);
}

int
main(void)
{
	test_header_encoding();
	test_addresses();
	test_encodings();
	test_rfc2231();
	test_reply_forward();
	test_signature_and_lists();
	test_recall();
	test_recall_attachments();
	test_draft();
	test_build();
	test_complete();
	test_hostile();
	return test_done();
}
