/*
 * imap: the response parser fed in chunks of every size, with hostile
 * inputs (huge and negative literals, unterminated strings, 10 MB lines,
 * 100,000-deep nesting); modified UTF-7 and UID sets.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/test.h"
#include "src/imap/imap-private.h"
#include "tern/util.h"

/* A response as text: A:atom S:string N L( ... ) C[ ... ] T:text. */
static void
dump(const struct imap_resp *r, size_t from, size_t to, struct buf *out)
{
	size_t i;

	for (i = from; i < to; i = imap_next(r, i)) {
		const struct imap_item *it = &r->items[i];

		if (out->len)
			buf_addc(out, ' ');
		switch (it->type) {
		case IMAP_ATOM:
			buf_printf(out, "A:%s", imap_str(r, i));
			break;
		case IMAP_STRING:
			buf_printf(out, "S:%s", imap_str(r, i));
			break;
		case IMAP_NIL:
			buf_adds(out, "N");
			break;
		case IMAP_TEXT:
			buf_printf(out, "T:%s", imap_str(r, i));
			break;
		case IMAP_LIST:
		case IMAP_CODE:
			buf_adds(out, it->type == IMAP_LIST ? "L(" : "C[");
			dump(r, i + 1, imap_next(r, i), out);
			buf_adds(out, it->type == IMAP_LIST ? " )" : " ]");
			break;
		}
	}
}

/*
 * Feed in in chunks of size chunk; append each response's dump and "|"
 * to out. Returns the number of responses, or -1 on a protocol error.
 */
static int
parse(const char *in, size_t len, size_t chunk, const struct imap_limits *lim,
    struct buf *out)
{
	struct imap_parser *p = imap_parser_new(lim);
	size_t off = 0;
	int n = 0, rc;
	char *cause = NULL;

	while (off < len) {
		size_t want = len - off < chunk ? len - off : chunk, used;

		for (;;) {
			rc = imap_parser_feed(p, in + off, want, &used, &cause);
			if (rc < 0) {
				free(cause);
				imap_parser_free(&p);
				return -1;
			}
			off += used;
			want -= used;
			if (rc == 0)
				break;
			if (out != NULL) {
				struct buf one;

				buf_init(&one, 0);
				dump(imap_parser_response(p), 0,
				    imap_parser_response(p)->nitems, &one);
				buf_adds(out, one.data ? one.data : "");
				buf_adds(out, "|");
				buf_free(&one);
			}
			n++;
			imap_parser_next(p);
			if (want == 0)
				break;
		}
	}
	imap_parser_free(&p);
	return n;
}

static const char good[] =
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] Dovecot ready.\r\n"
    "* CAPABILITY IMAP4rev1 QRESYNC\r\n"
    "* 3 EXISTS\r\n"
    "* OK [PERMANENTFLAGS (\\Answered \\Seen \\*)] Flags \"permitted.\r\n"
    "* LIST (\\HasNoChildren \\Sent) \".\" \"Sent &AOk-\"\r\n"
    "* LIST () NIL INBOX\r\n"
    "* 1 FETCH (UID 7 FLAGS (\\Seen $Label) MODSEQ (12) "
    "BODY[HEADER.FIELDS (DATE FROM)] {14}\r\nFrom: a\r\n\r\n( ) "
    "INTERNALDATE \"17-Jul-1996 02:44:25 -0700\")\r\n"
    "* 2 FETCH (BODY[] {0}\r\n UID 8 X {3+}\r\n\"\\\" Y ~{1}\r\nz)\r\n"
    "* ESEARCH (TAG \"t4\") UID ALL 1:3,7\r\n"
    "* VANISHED (EARLIER) 41,43:116\r\n"
    "* BYE\r\n"
    "+ go ahead [x\r\n"
    "+\r\n"
    "t12 OK [COPYUID 5 1:2 7:8] Done [really] \"odd\r\n"
    "t13 NO no\n"
    "* QUOTA \"User quota\" (STORAGE 10 1048576)\r\n";

static const char good_dump[] =
    "A:* A:OK C[ A:CAPABILITY A:IMAP4rev1 A:LITERAL+ A:IDLE ] "
    "T:Dovecot ready.|"
    "A:* A:CAPABILITY A:IMAP4rev1 A:QRESYNC|"
    "A:* A:3 A:EXISTS|"
    "A:* A:OK C[ A:PERMANENTFLAGS L( A:\\Answered A:\\Seen A:\\* ) ] "
    "T:Flags \"permitted.|"
    "A:* A:LIST L( A:\\HasNoChildren A:\\Sent ) S:. S:Sent &AOk-|"
    "A:* A:LIST L( ) N A:INBOX|"
    "A:* A:1 A:FETCH L( A:UID A:7 A:FLAGS L( A:\\Seen A:$Label ) A:MODSEQ "
    "L( A:12 ) A:BODY[HEADER.FIELDS (DATE FROM)] S:From: a\r\n\r\n( ) "
    "A:INTERNALDATE S:17-Jul-1996 02:44:25 -0700 )|"
    "A:* A:2 A:FETCH L( A:BODY[] S: A:UID A:8 A:X S:\"\\\" A:Y S:z )|"
    "A:* A:ESEARCH L( A:TAG S:t4 ) A:UID A:ALL A:1:3,7|"
    "A:* A:VANISHED L( A:EARLIER ) A:41,43:116|"
    "A:* A:BYE|"
    "A:+ T:go ahead [x|"
    "A:+|"
    "A:t12 A:OK C[ A:COPYUID A:5 A:1:2 A:7:8 ] T:Done [really] \"odd|"
    "A:t13 A:NO T:no|"
    "A:* A:QUOTA S:User quota L( A:STORAGE A:10 A:1048576 )|";

static void
test_good(void)
{
	size_t len = strlen(good), chunk;
	int bad = 0;

	for (chunk = 1; chunk <= len; chunk++) {
		struct buf out;

		buf_init(&out, 0);
		if (parse(good, len, chunk, NULL, &out) != 16 ||
		    out.data == NULL || strcmp(out.data, good_dump) != 0) {
			if (!bad)
				printf("# chunk %zu: %s\n", chunk,
				    out.data ? out.data : "(none)");
			bad++;
		}
		buf_free(&out);
	}
	CHECK(bad == 0);
}

/* Each must fail at every chunk size, and never crash. */
static void
test_hostile_small(void)
{
	static const char *const bad[] = {
		"* 1 FETCH (BODY[] {99999999999999999999}\r\n",
		"* 1 FETCH (BODY[] {18446744073709551616}\r\n",
		"* 1 FETCH (BODY[] {-5}\r\nabc)\r\n",
		"* 1 FETCH (BODY[] {}\r\n)\r\n",
		"* 1 FETCH (BODY[] {5x}\r\n",
		"* 1 FETCH (BODY[] {5}x\r\n",
		"* 1 FETCH (SUBJECT \"unterminated\r\n",
		"* 1 FETCH (SUBJECT \"esc\\\r\n",
		"* 1 FETCH (FLAGS (\\Seen)\r\n",
		"* 1 FETCH (FLAGS (\\Seen)))\r\n",
		"* 1 FETCH (BODY[HEADER\r\n",
		"\"tag\" OK\r\n",
		"* OK [CODE (unclosed] x\r\n",
		"* OK \r\r\n",
		"* 1 FETCH (A \001)\r\n",
		"* LIST ~x\r\n",
	};
	struct imap_limits lim;
	size_t k, chunk;
	int failures = 0;

	memset(&lim, 0, sizeof lim);
	lim.max_literal = 1024 * 1024;
	for (k = 0; k < TERN_NELEM(bad); k++) {
		size_t len = strlen(bad[k]);

		for (chunk = 1; chunk <= len; chunk++) {
			if (parse(bad[k], len, chunk, &lim, NULL) != -1) {
				printf("# accepted: %s (chunk %zu)\n", bad[k],
				    chunk);
				failures++;
				break;
			}
		}
	}
	CHECK(failures == 0);
}

static void
test_hostile_big(void)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 100, 4095, 65536,
		1 << 24 };
	size_t n = 10 * 1024 * 1024, i, k;
	char *s = xmalloc(n + 3);
	struct imap_limits lim;
	int ok;

	/* A 10 MB line. */
	memcpy(s, "* OK ", 5);
	memset(s + 5, 'x', n - 5);
	memcpy(s + n, "\r\n", 3);
	ok = 1;
	for (k = 0; k < TERN_NELEM(chunks); k++)
		ok &= parse(s, n + 2, chunks[k], NULL, NULL) == -1;
	CHECK(ok);
	/* 10 MB of one atom. */
	s[2] = 'Z';
	ok = 1;
	for (k = 0; k < TERN_NELEM(chunks); k++)
		ok &= parse(s, n + 2, chunks[k], NULL, NULL) == -1;
	CHECK(ok);

	/* 100,000-deep nesting, closed or not. */
	memcpy(s, "* X ", 4);
	for (i = 0; i < 100000; i++) {
		s[4 + i] = '(';
		s[4 + 100000 + i] = ')';
	}
	memcpy(s + 4 + 200000, "\r\n", 3);
	ok = 1;
	for (k = 0; k < TERN_NELEM(chunks); k++)
		ok &= parse(s, 200006, chunks[k], NULL, NULL) == -1;
	CHECK(ok);
	/* Within the limit, nesting is fine. */
	strcpy(s, "* X (((((((((())))))))))\r\n");
	CHECK(parse(s, strlen(s), 1, NULL, NULL) == 1);

	/* Many items: bounded too. */
	memset(&lim, 0, sizeof lim);
	lim.max_items = 1000;
	memcpy(s, "* SEARCH", 8);
	for (i = 0; i < 2000; i++)
		memcpy(s + 8 + 2 * i, " 1", 2);
	memcpy(s + 8 + 4000, "\r\n", 3);
	CHECK(parse(s, strlen(s), 3, &lim, NULL) == -1);
	lim.max_items = 5000;
	CHECK(parse(s, strlen(s), 3, &lim, NULL) == 1);

	/* A literal over the limit fails before any of it is read. */
	lim.max_literal = 100;
	CHECK(parse("* 1 FETCH (X {101}\r\n", 20, 1, &lim, NULL) == -1);
	CHECK(parse("* 1 FETCH (X {100}\r\n", 20, 1, &lim, NULL) == 0);

	/* A big literal within the limit arrives in pieces. */
	lim.max_literal = 0;
	n = 5 * 1024 * 1024;
	i = (size_t)snprintf(s, 64, "* 1 FETCH (BODY[] {%zu}\r\n", n);
	memset(s + i, 'b', n);
	memcpy(s + i + n, ")\r\n", 4);
	ok = 1;
	for (k = 3; k < TERN_NELEM(chunks); k++)
		ok &= parse(s, i + n + 3, chunks[k], &lim, NULL) == 1;
	CHECK(ok);
	free(s);
}

static void
test_utf7(void)
{
	char *s;

	s = imap_utf7_encode("Sent é & Co");
	CHECK_STR(s, "Sent &AOk- &- Co");
	free(s);
	s = imap_utf7_decode("Sent &AOk- &- Co");
	CHECK_STR(s, "Sent é & Co");
	free(s);
	s = imap_utf7_encode("日本語");
	CHECK_STR(s, "&ZeVnLIqe-");
	free(s);
	s = imap_utf7_decode("&ZeVnLIqe-");
	CHECK_STR(s, "日本語");
	free(s);
	s = imap_utf7_decode("&2D3eAQ-"); /* a surrogate pair */
	CHECK_STR(s, "\xf0\x9f\x98\x81");
	free(s);
	s = imap_utf7_decode("bad &!!!- &");
	CHECK(s != NULL);
	free(s);
	s = imap_quote("a\"b\\c");
	CHECK_STR(s, "\"a\\\"b\\\\c\"");
	free(s);
	/* tern's '/' is the server's delimiter on the wire, and back. */
	s = imap_name_to_wire("Archive/2024/é", '.', NULL);
	CHECK_STR(s, "Archive.2024.&AOk-");
	free(s);
	s = imap_name_from_wire("Archive.2024.&AOk-", '.', NULL);
	CHECK_STR(s, "Archive/2024/é");
	free(s);
	s = imap_name_to_wire("a/b", '/', NULL);
	CHECK_STR(s, "a/b");
	free(s);
	s = imap_name_from_wire("inbox", '.', NULL);
	CHECK_STR(s, "INBOX");
	free(s);
	s = imap_name_from_wire("INBOX.sub", '.', NULL);
	CHECK_STR(s, "INBOX/sub");
	free(s);
	/* Under a personal namespace prefix (Courier's "INBOX."). */
	s = imap_name_to_wire("Projects/2024", '.', "INBOX.");
	CHECK_STR(s, "INBOX.Projects.2024");
	free(s);
	s = imap_name_to_wire("INBOX", '.', "INBOX.");
	CHECK_STR(s, "INBOX");
	free(s);
	s = imap_name_from_wire("INBOX.Projects.2024", '.', "INBOX.");
	CHECK_STR(s, "Projects/2024");
	free(s);
	s = imap_name_from_wire("INBOX", '.', "INBOX.");
	CHECK_STR(s, "INBOX");
	free(s);
	s = imap_quote("&AOk");
	CHECK_STR(s, "\"&AOk\"");
	free(s);
}

static void
test_uidset(void)
{
	struct imap_uidset s;
	struct buf b;

	memset(&s, 0, sizeof s);
	CHECK(imap_uidset_parse(&s, "1:3,7,10:9", 100) == 0);
	CHECK(s.n == 6 && s.v[0] == 1 && s.v[3] == 7 && s.v[5] == 10);
	buf_init(&b, 0);
	imap_uidset_sort(&s);
	imap_uidset_format(&b, s.v, s.n);
	CHECK_STR(b.data, "1:3,7,9:10");
	buf_free(&b);
	imap_uidset_free(&s);
	CHECK(imap_uidset_parse(&s, "1:4294967295", 0) == -1);
	imap_uidset_free(&s);
	CHECK(imap_uidset_parse(&s, "0", 0) == -1);
	imap_uidset_free(&s);
	CHECK(imap_uidset_parse(&s, "1,,2", 0) == -1);
	imap_uidset_free(&s);
	CHECK(imap_uidset_parse(&s, "99999999999", 0) == -1);
	imap_uidset_free(&s);
	CHECK(imap_uidset_parse(&s, "5:*", 7) == 0 && s.n == 3);
	imap_uidset_free(&s);
}

/* What a literal sink was handed. */
struct sunk {
	int begins;
	uint64_t size;
	struct buf bytes;
	int fail_at; /* fail the data call once this many bytes came */
};

static int
sink_begin(void *arg, uint64_t size, char **cause)
{
	struct sunk *k = arg;

	(void)cause;
	k->begins++;
	k->size = size;
	return 0;
}

static int
sink_data(void *arg, const char *data, size_t len, char **cause)
{
	struct sunk *k = arg;

	buf_add(&k->bytes, data, len);
	if (k->fail_at > 0 && k->bytes.len >= (size_t)k->fail_at) {
		set_cause(cause, "disk full");
		return -1;
	}
	return 0;
}

/*
 * A literal over the threshold goes to the sink, piece by piece, at any
 * chunk size, and the response keeps an empty, diverted item; one at the
 * threshold is kept; the literal limit still holds; a sink that fails
 * fails the parser.
 */
static void
test_sink(void)
{
	static const char in[] = "* 1 FETCH (UID 7 BODY[] {12}\r\n"
	                         "Subject: x\r\n X {4}\r\nabcd)\r\n"
	                         "t1 OK done\r\n";
	size_t len = strlen(in), chunk;
	int bad = 0;

	for (chunk = 1; chunk <= len; chunk++) {
		struct imap_limits lim = { 0, 64, 0, 0 };
		struct imap_parser *p = imap_parser_new(&lim);
		struct sunk k;
		struct imap_sink sk = { sink_begin, sink_data, &k, 4 };
		struct buf out;
		size_t off = 0, used;
		int n = 0, rc;

		memset(&k, 0, sizeof k);
		k.fail_at = 0;
		buf_init(&k.bytes, 0);
		buf_init(&out, 0);
		imap_parser_set_sink(p, &sk);
		while (off < len) {
			size_t want = len - off < chunk ? len - off : chunk;

			rc = imap_parser_feed(p, in + off, want, &used, NULL);
			if (rc < 0)
				break;
			off += used;
			if (rc == 1) {
				const struct imap_resp *r =
				    imap_parser_response(p);

				struct buf one;

				buf_init(&one, 0);
				if (n == 0 && r->nitems > 9 &&
				    r->items[7].diverted &&
				    !r->items[9].diverted)
					buf_adds(&out, "diverted ");
				dump(r, 0, r->nitems, &one);
				buf_adds(&out, one.data);
				buf_adds(&out, "|");
				buf_free(&one);
				n++;
				imap_parser_next(p);
			}
		}
		if (n != 2 || k.begins != 1 || k.size != 12 ||
		    k.bytes.len != 12 ||
		    memcmp(k.bytes.data, "Subject: x\r\n", 12) != 0 ||
		    strcmp(out.data,
		        "diverted A:* A:1 A:FETCH L( A:UID A:7 A:BODY[] S: "
		        "A:X S:abcd )|A:t1 A:OK T:done|") != 0) {
			if (!bad)
				printf("# chunk %zu: %d %s\n", chunk, n,
				    out.data ? out.data : "(none)");
			bad++;
		}
		imap_parser_free(&p);
		buf_free(&k.bytes);
		buf_free(&out);
	}
	CHECK(bad == 0);

	/* Over the literal limit: refused before the sink hears of it. */
	{
		static const char big[] = "* 1 FETCH (BODY[] {65}\r\n";
		struct imap_limits lim = { 0, 64, 0, 0 };
		struct imap_parser *p = imap_parser_new(&lim);
		struct sunk k;
		struct imap_sink sk = { sink_begin, sink_data, &k, 4 };
		char *cause = NULL;
		size_t used;

		memset(&k, 0, sizeof k);
		k.fail_at = 0;
		imap_parser_set_sink(p, &sk);
		CHECK(
		    imap_parser_feed(p, big, strlen(big), &used, &cause) == -1);
		CHECK(k.begins == 0);
		free(cause);
		imap_parser_free(&p);
	}
	/* The sink fails: so does the parser, and it stays failed. */
	{
		struct imap_parser *p = imap_parser_new(NULL);
		struct sunk k;
		struct imap_sink sk = { sink_begin, sink_data, &k, 4 };
		char *cause = NULL;
		size_t used;

		memset(&k, 0, sizeof k);
		k.fail_at = 5;
		buf_init(&k.bytes, 0);
		imap_parser_set_sink(p, &sk);
		CHECK(imap_parser_feed(p, in, len, &used, &cause) == -1);
		CHECK_STR(cause, "disk full");
		free(cause);
		cause = NULL;
		CHECK(imap_parser_feed(p, "x", 1, &used, &cause) == -1);
		free(cause);
		imap_parser_free(&p);
		buf_free(&k.bytes);
	}
}

int
main(void)
{
	test_good();
	test_sink();
	test_hostile_small();
	test_hostile_big();
	test_utf7();
	test_uidset();
	return test_done();
}
