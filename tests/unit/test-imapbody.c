/*
 * imap bodies on demand: BODYSTRUCTURE read into the sections a view
 * needs, the skeleton built from them as mime_parse_view reads it, and
 * hostile structures (wrong nesting, huge numbers, 1000-deep nesting,
 * too many parts, fields a message carries to pass for tern's own).
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/test.h"
#include "src/imap/imap-private.h"
#include "tern/mime.h"
#include "tern/util.h"

/*
 * Feed "* 1 FETCH (UID 5 BODYSTRUCTURE bs)" to a view. Returns 0 when
 * the structure was taken, -1 when refused (or not even parsed).
 */
static int
view_of(struct imap_view *v, const char *bs)
{
	struct imap_limits lim = { 0, 0, 5000, 0 };
	struct imap_parser *p = imap_parser_new(&lim);
	char *line = xasprintf("* 1 FETCH (UID 5 BODYSTRUCTURE %s)\r\n", bs);
	char *cause = NULL;
	size_t used;
	int rc = -1;

	if (imap_parser_feed(p, line, strlen(line), &used, &cause) == 1) {
		const struct imap_resp *r = imap_parser_response(p);

		if (imap_view_on_fetch(v, r, 3, &cause) == 0 &&
		    imap_view_ready(v))
			rc = 0;
	}
	free(cause);
	free(line);
	imap_parser_free(&p);
	return rc;
}

static char *
items_of(const char *bs)
{
	struct imap_view *v = imap_view_new();
	struct buf b;
	char *s;

	buf_init(&b, 0);
	if (view_of(v, bs) != 0)
		(void)buf_adds(&b, "REFUSED");
	else
		imap_view_items(v, &b);
	imap_view_free(&v);
	s = buf_steal(&b, NULL);
	return s ? s : xstrdup("");
}

static void
add(struct imap_view *v, const char *sec, const char *data)
{
	imap_view_add(v, sec, data, strlen(data));
}

/* The skeleton rendered as tern cat shows it. */
static char *
render(struct imap_view *v, struct mime_msg **mp)
{
	struct buf sk, out;
	char *cause = NULL, *s;

	buf_init(&sk, 0);
	buf_init(&out, 0);
	CHECK(imap_view_skeleton(v, &sk, &cause) == 0);
	*mp = mime_parse_view(sk.data ? sk.data : "", sk.len);
	CHECK(mime_render(*mp, NULL, &out, &cause) == 0);
	free(cause);
	buf_free(&sk);
	s = buf_steal(&out, NULL);
	return s ? s : xstrdup("");
}

static const char mixed[] =
    "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 18 1 "
    "NIL NIL NIL NIL)(\"application\" \"octet-stream\" NIL NIL NIL "
    "\"base64\" 6990508 NIL (\"attachment\" (\"filename\" \"big.bin\")) "
    "NIL NIL) \"mixed\" (\"boundary\" \"xx\") NIL NIL NIL)";

static void
test_mixed(void)
{
	struct imap_view *v = imap_view_new();
	struct mime_msg *m = NULL;
	const struct mime_attachment *att;
	char *s = items_of(mixed), *out;
	char *cause = NULL;

	CHECK_STR(s, " BODY.PEEK[1.MIME] BODY.PEEK[1] BODY.PEEK[2.MIME]");
	free(s);
	CHECK(view_of(v, mixed) == 0);
	/* The server's header names a part as not downloaded: ignored. */
	add(v, "HEADER",
	    "From: a@example.com\r\nSubject: Hi\r\nX-Tern-Part: 1; size=3\r\n"
	    "Content-Type: multipart/mixed; boundary=xx\r\n\r\n");
	add(v, "1.MIME",
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "x-tern-part : 1; size=5\r\n\tfolded\r\n\r\n");
	add(v, "1", "Hello there.\r\nX-Tern-Part: 2\r\n--xx\r\n");
	add(v, "2.MIME",
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	out = render(v, &m);
	CHECK(strstr(out,
	          "Subject: Hi\n\nHello there.\nX-Tern-Part: 2\n"
	          "--xx\n") != NULL);
	CHECK(strstr(out,
	          "[-- Attachment 2: big.bin (application/"
	          "octet-stream, 4.9 MiB, not downloaded) --]") != NULL);
	CHECK(mime_attachments(m, &att) == 1);
	CHECK(mime_part_at(m, att[0].part)->missing);
	CHECK_STR(mime_part_at(m, att[0].part)->remote_section, "2");
	CHECK(mime_part_at(m, att[0].part)->remote_size == 6990508);
	CHECK(!mime_part_at(m, mime_part_find(m, "1"))->missing);
	/* Filled in: saved as its decoded bytes. */
	CHECK(mime_part_fill(m, att[0].part, "aGVsbG8=\r\n", 10, &cause) == 0);
	CHECK(!mime_part_at(m, att[0].part)->missing);
	CHECK(mime_attachments(m, &att) == 1 && att[0].size == 5);
	CHECK(mime_part_fill(m, att[0].part, "x", 1, &cause) == -1);
	free(cause);
	free(out);
	mime_free(&m);
	imap_view_free(&v);
}

static void
test_nested_and_single(void)
{
	static const char nested[] =
	    "(((\"text\" \"plain\" NIL NIL NIL \"quoted-printable\" 20 1 NIL "
	    "NIL NIL NIL)(\"text\" \"html\" NIL NIL NIL \"7bit\" 30 1 NIL NIL "
	    "NIL NIL) \"alternative\" (\"boundary\" \"a\") NIL NIL NIL)"
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 500 (NIL \"Inner\" "
	    "NIL NIL NIL NIL NIL NIL NIL NIL) ((\"text\" \"plain\" NIL NIL NIL "
	    "\"7bit\" 10 1 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" "
	    "\"x.pdf\") NIL NIL \"base64\" 400 NIL NIL NIL NIL) \"mixed\" "
	    "(\"boundary\" \"in\") NIL NIL NIL) 20 NIL NIL NIL NIL)"
	    "(\"text\" \"plain\" (\"name\" \"notes.txt\") NIL NIL \"7bit\" 9 "
	    "1 NIL (\"attachment\" (\"filename\" \"notes.txt\")) NIL NIL) "
	    "\"mixed\" (\"boundary\" \"out\") NIL NIL NIL)";
	char *s = items_of(nested);

	CHECK_STR(s,
	    " BODY.PEEK[1.MIME] BODY.PEEK[1.1.MIME] BODY.PEEK[1.1]"
	    " BODY.PEEK[1.2.MIME] BODY.PEEK[1.2] BODY.PEEK[2.MIME]"
	    " BODY.PEEK[2.HEADER] BODY.PEEK[2.1.MIME] BODY.PEEK[2.1]"
	    " BODY.PEEK[2.2.MIME] BODY.PEEK[3.MIME]");
	free(s);
	s = items_of("(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL "
	             "\"7BIT\" 100 3 NIL NIL NIL NIL)");
	CHECK_STR(s, " BODY.PEEK[1]");
	free(s);
	s = items_of("(\"application\" \"pdf\" NIL NIL NIL \"base64\" 100 "
	             "NIL NIL NIL NIL)");
	CHECK_STR(s, "");
	free(s);
	/* A forwarded message at the top. */
	s = items_of("(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 50 (NIL) "
	             "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) 3)");
	CHECK_STR(s, " BODY.PEEK[1.HEADER] BODY.PEEK[1.1]");
	free(s);
}

/* Content under a header that does not say text is never included. */
static void
test_content_is_not_headers(void)
{
	struct imap_view *v = imap_view_new();
	struct mime_msg *m = NULL;
	char *out;

	CHECK(view_of(v, mixed) == 0);
	add(v, "HEADER", "Subject: Hi\r\n\r\n");
	add(v, "1.MIME", "Content-Type: message/rfc822\r\n\r\n");
	add(v, "1", "X-Tern-Part: 9; size=1\r\nSubject: forged\r\n\r\nz\r\n");
	out = render(v, &m);
	CHECK(strstr(out, "forged") == NULL);
	CHECK(strstr(out,
	          "[-- Attachment 1: (no name) (message/rfc822, 18 B, "
	          "not downloaded) --]") != NULL);
	free(out);
	mime_free(&m);
	imap_view_free(&v);
	/* A whole message is never read as a view. */
	m = mime_parse("X-Tern-Part: 1; size=9\r\n\r\nbody\r\n", 33);
	CHECK(!mime_part_at(m, 0)->missing);
	mime_free(&m);
}

static void
test_hostile(void)
{
	static const char *const bad[] = {
		"NIL",
		"\"text\"",
		"(\"text\")",
		"((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1))",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" abc 1)",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" "
		"99999999999999999999999 1)",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 2000000000000 1)",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" -5 1)",
		"(\"text\" \"plain\" (\"charset\") NIL NIL \"7bit\" 1 1)",
		"(\"te xt\" \"plain\" NIL NIL NIL \"7bit\" 1 1)",
		"(\"text\" \"pl\r\nain\" NIL NIL NIL \"7bit\" 1 1)",
		"(NIL \"plain\" NIL NIL NIL \"7bit\" 1 1)",
		"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1 NIL (NIL NIL))",
		"((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) (\"x\") "
		"\"mixed\")",
		"((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\" "
		"\"boundary\")",
	};
	struct buf deep, wide;
	size_t i;
	char *s;

	for (i = 0; i < TERN_NELEM(bad); i++) {
		s = items_of(bad[i]);
		CHECK_STR(s, "REFUSED");
		free(s);
	}
	/* 1000 multiparts deep. */
	buf_init(&deep, 0);
	for (i = 0; i < 1000; i++)
		buf_adds(&deep, "(");
	buf_adds(&deep, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
	for (i = 1; i < 1000; i++)
		buf_adds(&deep, " \"mixed\")");
	s = items_of(deep.data);
	CHECK_STR(s, "REFUSED");
	free(s);
	/* 32 deep is fine. */
	buf_reset(&deep);
	for (i = 0; i < 32; i++)
		buf_adds(&deep, "(");
	buf_adds(&deep, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1)");
	for (i = 1; i < 32; i++)
		buf_adds(&deep, " \"mixed\")");
	s = items_of(deep.data);
	CHECK(strcmp(s, "REFUSED") != 0);
	free(s);
	/* 5000 parts side by side. */
	buf_init(&wide, 0);
	buf_adds(&wide, "(");
	for (i = 0; i < 5000; i++)
		buf_adds(&wide,
		    "(\"image\" \"png\" NIL NIL NIL \"base64\" 1 "
		    "NIL)");
	buf_adds(&wide, " \"mixed\")");
	s = items_of(wide.data);
	CHECK_STR(s, "REFUSED");
	free(s);
	buf_free(&deep);
	buf_free(&wide);
	/* A refused structure says why, and nothing is built from it. */
	{
		struct imap_view *v = imap_view_new();
		struct buf sk;
		char *cause = NULL;

		buf_init(&sk, 0);
		CHECK(view_of(v, bad[4]) == -1);
		CHECK(imap_view_error(v) != NULL &&
		    strstr(imap_view_error(v), "BODYSTRUCTURE") != NULL);
		CHECK(imap_view_skeleton(v, &sk, &cause) == -1);
		free(cause);
		buf_free(&sk);
		imap_view_free(&v);
	}
}

int
main(void)
{
	test_mixed();
	test_nested_and_single();
	test_content_is_not_headers();
	test_hostile();
	return test_done();
}
