/*
 * The POP3 reply parser: pipelined replies, dot-unstuffing and the
 * terminator, fed whole and in chunks of every size so that each split
 * point of the "need more data" paths is crossed.
 */
#include <stdio.h>
#include <string.h>

#include "tern/pop3.h"
#include "tern/util.h"

#include "../lib/test.h"

/* The events rendered as text: "OK(text) L(line) D(data) E ERR(text)". */
static int
record(void *arg, enum pop3_event ev, const char *data, size_t len)
{
	struct buf *b = arg;

	switch (ev) {
	case POP3_EV_OK:
		buf_printf(b, "OK(%.*s)", (int)len, data);
		break;
	case POP3_EV_ERR:
		buf_printf(b, "ERR(%.*s)", (int)len, data);
		break;
	case POP3_EV_LINE:
		buf_printf(b, "L(%.*s)", (int)len, data);
		break;
	case POP3_EV_DATA:
		/* Chunks of data are joined, so the output does not depend
		 * on where the input was split. */
		if (b->len > 0 && b->data[b->len - 1] == ']') {
			b->len--;
			buf_add(b, data, len);
			buf_addc(b, ']');
		} else {
			buf_adds(b, "D[");
			buf_add(b, data, len);
			buf_addc(b, ']');
		}
		break;
	case POP3_EV_END:
		buf_adds(b, "E");
		break;
	}
	return 0;
}

/*
 * Parse input with the given expected replies, split into chunks of size
 * chunk (0: whole); returns the events, or "FAIL: cause".
 */
static char *
run(const enum pop3_reply *kinds, size_t nkinds, const char *input,
    size_t chunk, size_t line_max)
{
	struct pop3_parser p;
	struct buf out;
	size_t i, len = strlen(input), off;
	char *cause = NULL;

	buf_init(&out, 0);
	buf_adds(&out, "");
	pop3_parser_init(&p, line_max);
	for (i = 0; i < nkinds; i++)
		pop3_parser_expect(&p, kinds[i]);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		if (pop3_parser_feed(
		        &p, input + off, n, record, &out, &cause) != 0) {
			buf_reset(&out);
			buf_printf(&out, "FAIL: %s", cause ? cause : "?");
			free(cause);
			break;
		}
	}
	if (cause == NULL && pop3_parser_pending(&p) != 0)
		buf_printf(&out, " PENDING %zu", pop3_parser_pending(&p));
	pop3_parser_free(&p);
	return buf_steal(&out, NULL);
}

/* The same input in every chunk size must give the same events. */
static void
check_all_chunks(const enum pop3_reply *kinds, size_t nkinds, const char *input,
    const char *want)
{
	size_t chunk, len = strlen(input);
	int bad = 0;

	for (chunk = 0; chunk <= len; chunk++) {
		char *got = run(kinds, nkinds, input, chunk, 100);

		if (strcmp(got, want) != 0) {
			if (!bad)
				printf("# chunk %zu: got %s\n#   want %s\n",
				    chunk, got, want);
			bad = 1;
		}
		free(got);
	}
	CHECK(!bad);
}

int
main(void)
{
	static const enum pop3_reply line1[] = { POP3_REPLY_LINE };
	static const enum pop3_reply pipeline[] = { POP3_REPLY_LIST,
		POP3_REPLY_LIST, POP3_REPLY_DATA, POP3_REPLY_LINE,
		POP3_REPLY_DATA, POP3_REPLY_LINE };
	static const enum pop3_reply data1[] = { POP3_REPLY_DATA };
	char *got;

	/* Status lines. */
	check_all_chunks(line1, 1, "+OK done\r\n", "OK(done)");
	check_all_chunks(line1, 1, "+OK\r\n", "OK()");
	check_all_chunks(
	    line1, 1, "-ERR no such message\r\n", "ERR(no such message)");
	check_all_chunks(line1, 1, "+OK bare LF\n", "OK(bare LF)");

	/* A pipelined session: UIDL, LIST, RETR, DELE, RETR (-ERR), QUIT. */
	check_all_chunks(pipeline, TERN_NELEM(pipeline),
	    "+OK\r\n1 abc\r\n2 def\r\n.\r\n"
	    "+OK 2 messages\r\n1 120\r\n2 7\r\n.\r\n"
	    "+OK 120 octets\r\nSubject: x\r\n\r\n..dot\r\n.\r\n"
	    "+OK deleted\r\n"
	    "-ERR gone\r\n"
	    "+OK bye\r\n",
	    "OK()L(1 abc)L(2 def)E"
	    "OK(2 messages)L(1 120)L(2 7)E"
	    "OK(120 octets)D[Subject: x\r\n\r\n.dot\r\n]E"
	    "OK(deleted)"
	    "ERR(gone)"
	    "OK(bye)");

	/* Dot-unstuffing at every place a line can start. */
	check_all_chunks(data1, 1,
	    "+OK\r\n..\r\n...\r\n.x\r\na.b\r\n\r\n..\r\n.\r\n",
	    "OK()D[.\r\n..\r\nx\r\na.b\r\n\r\n.\r\n]E");
	/* An empty message, and a terminator with a bare LF. */
	check_all_chunks(data1, 1, "+OK\r\n.\r\n", "OK()E");
	check_all_chunks(data1, 1, "+OK\n.\n", "OK()E");
	/* A line beginning ".\r" that is not the end. */
	check_all_chunks(data1, 1, "+OK\r\n.\rx\r\n.\r\n", "OK()D[\rx\r\n]E");
	/* Long body lines are data, not status lines: no line limit. */
	{
		char big[600];

		memset(big, 'a', 300);
		strcpy(big + 300, "\r\n.\r\n");
		memmove(big + 5, big, strlen(big) + 1);
		memcpy(big, "+OK\r\n", 5);
		got = run(data1, 1, big, 7, 100);
		CHECK(strncmp(got, "OK()D[aaaa", 10) == 0);
		CHECK(strlen(got) == 4 + 2 + 300 + 2 + 1 + 1);
		free(got);
	}

	/* Bounded status and listing lines. */
	{
		char l[300];

		strcpy(l, "+OK ");
		memset(l + 4, 'x', 200);
		strcpy(l + 204, "\r\n");
		got = run(line1, 1, l, 0, 100);
		CHECK(strstr(got,
		          "FAIL: the server sent a line longer than "
		          "100 bytes") != NULL);
		free(got);
		got = run(line1, 1, l, 3, 100);
		CHECK(strncmp(got, "FAIL", 4) == 0);
		free(got);
	}
	/* Garbage and replies nobody asked for. */
	got = run(line1, 1, "* OK imap?\r\n", 0, 100);
	CHECK(strncmp(got, "FAIL: the server sent a reply that is neither",
	          45) == 0);
	free(got);
	got = run(line1, 1, "+OK\r\n+OK\r\n", 0, 100);
	CHECK(strstr(got, "no command asked for") != NULL);
	free(got);
	got = run(line1, 1, "+OKAY\r\n", 0, 100);
	CHECK(strncmp(got, "FAIL", 4) == 0);
	free(got);
	/* An unfinished reply is still pending. */
	got = run(data1, 1, "+OK\r\nabc\r\n", 0, 100);
	CHECK_STR(got, "OK()D[abc\r\n] PENDING 1");
	free(got);

	/* UIDL validation (RFC 1939: 1 to 70 characters 0x21..0x7e). */
	CHECK(pop3_uidl_valid("a", 1));
	CHECK(pop3_uidl_valid("~!", 2));
	CHECK(!pop3_uidl_valid("", 0));
	CHECK(!pop3_uidl_valid("a b", 3));
	CHECK(!pop3_uidl_valid("a\x7f", 2));
	CHECK(!pop3_uidl_valid("\xc3\xa9", 2));
	{
		char u[72];

		memset(u, 'u', sizeof u);
		CHECK(pop3_uidl_valid(u, 70));
		CHECK(!pop3_uidl_valid(u, 71));
	}
	return test_done();
}
