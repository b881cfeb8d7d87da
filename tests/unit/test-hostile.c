/*
 * Hostile input across the modules that exist: the envelope parser on
 * pathological headers (bounded in time: a budget a quadratic algorithm
 * could not meet, generous enough for a sanitizer build on a busy CI
 * machine), inputs the fuzzers once found, and text_visible on everything
 * a terminal can be attacked with.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/mime.h"
#include "tern/util.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse b as a header; the seconds it took. */
static double
parse_time(struct buf *b, struct mime_envelope *e)
{
	double t0 = now();

	mime_envelope_parse(b->data, b->len, e);
	return now() - t0;
}

static void
test_param_loops(void)
{
	/* A '=' without a name made the parameter loop spin for ever. */
	static const char *cases[] = {
		"Content-Type: text/plain; =x\n\n",
		"Content-Type: text/plain;=\n\n",
		"Content-Type: multipart/mixed; = ; =; boundary=b\n\n",
		"Content-Type: a/b; (c\n\n",
		"Content-Type: a/b; x*0*=utf-8''%; x*1=\"\n\n",
		"Content-Disposition: attachment; =; filename=x\n\n",
	};
	size_t i;

	for (i = 0; i < TERN_NELEM(cases); i++) {
		struct mime_envelope e;

		alarm(10);
		mime_envelope_parse(cases[i], strlen(cases[i]), &e);
		alarm(0);
		CHECK(e.content_type != NULL);
		mime_envelope_clear(&e);
	}
}

static void
test_pathological_headers(void)
{
	struct mime_envelope e;
	struct buf b;
	double t;
	size_t i;

	alarm(120);
	/* 100,000 header fields: parsed to the end (a hang is the alarm's
	 * to catch; the time is printed, not judged, as a loaded machine or
	 * the sanitizers make it what they will). */
	buf_init(&b, 0);
	buf_adds(&b, "Subject: first\r\n");
	for (i = 0; i < 100000; i++)
		buf_printf(&b, "X-Field-%zu: value\r\n", i);
	buf_adds(&b, "Content-Type: text/html\r\n\r\nbody");
	t = parse_time(&b, &e);
	printf("# 100,000 fields: %.3f s\n", t);
	CHECK(e.subject != NULL && strcmp(e.subject, "first") == 0);
	/* Fields past the 1000 kept are not read. */
	CHECK(e.content_type != NULL &&
	    strcmp(e.content_type, "text/plain") == 0);
	mime_envelope_clear(&e);
	buf_free(&b);

	/* A 10 MB header line. */
	buf_init(&b, 0);
	buf_adds(&b, "Subject: ");
	for (i = 0; i < 10 * 1024 * 1024 / 8; i++)
		buf_adds(&b, "abcdefgh");
	buf_adds(&b, "\r\nFrom: a@b\r\n\r\n");
	t = parse_time(&b, &e);
	printf("# a 10 MB line: %.3f s\n", t);
	CHECK(t < 30);
	/* The field is cut at the header limit, not kept whole. */
	CHECK(e.subject != NULL && strlen(e.subject) <= 256 * 1024);
	mime_envelope_clear(&e);
	buf_free(&b);

	/* Runs of ';', ',' and '<' in addresses, a million each. */
	{
		static const char *runs[] = { ";", ",", "<", "\"", "(", "a," };
		size_t r;

		for (r = 0; r < TERN_NELEM(runs); r++) {
			struct buf run;

			buf_init(&run, 0);
			for (i = 0; i < 1024 * 1024 / strlen(runs[r]); i++)
				buf_adds(&run, runs[r]);
			buf_init(&b, 0);
			buf_adds(&b, "To: ");
			buf_add(&b, run.data, run.len);
			buf_adds(&b, "\r\nFrom: ");
			buf_add(&b, run.data, run.len);
			buf_adds(&b, "\r\n\r\n");
			buf_free(&run);
			t = parse_time(&b, &e);
			printf("# a million '%s' in To and From: %.3f s\n",
			    runs[r], t);
			CHECK(t < 20);
			mime_envelope_clear(&e);
			buf_free(&b);
		}
	}

	/* 100,000 encoded words and 100,000 parameters. */
	buf_init(&b, 0);
	buf_adds(&b, "Subject: ");
	for (i = 0; i < 100000; i++)
		buf_adds(&b, "=?utf-8?q?a=C3=A9?= ");
	buf_adds(&b, "\r\nContent-Type: text/plain");
	for (i = 0; i < 100000; i++)
		buf_printf(&b, "; p*%zu*=x", i);
	buf_adds(&b, "\r\n\r\n");
	t = parse_time(&b, &e);
	printf("# 100,000 encoded words and parameters: %.3f s\n", t);
	CHECK(t < 10);
	CHECK_STR(e.content_type, "text/plain");
	mime_envelope_clear(&e);
	buf_free(&b);
	alarm(0);
}

static void
test_visible(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "\x1b[31mred", "^[[31mred" },
		{ "\xc2\x9b"
		  "2J",
		    "<U+009B>2J" },
		{ "\xe2\x80\xae"
		  "exe.txt",
		    "<U+202E>exe.txt" },
		{ "a\rb\nc\td\x7f", "a^Mb^Jc\td^?" },
		{ "\xff\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
	};
	size_t i;

	for (i = 0; i < TERN_NELEM(cases); i++) {
		char *v = text_visible_dup(cases[i].in);

		CHECK_STR(v, cases[i].want);
		free(v);
	}
}

static void
test_empty_buffers(void)
{
	struct mime_envelope e;
	struct buf b;
	char *p;
	size_t len = 1;

	/* An empty buffer handed out is "", NUL-terminated (the envelope of
	 * an empty Subject at the end of the input read past its end). */
	buf_init(&b, 0);
	p = buf_steal(&b, &len);
	CHECK(p != NULL && p[0] == '\0' && len == 0);
	free(p);
	mime_envelope_parse("F:\r\nSubject:", 12, &e);
	CHECK(e.subject == NULL || strlen(e.subject) == 0);
	mime_envelope_clear(&e);
}

/* A bounded buffer stops at its limit, one byte or many at a time. */
static void
test_buffer_limit(void)
{
	struct buf b;
	size_t i;
	int refused = 0;

	buf_init(&b, 16);
	for (i = 0; i < 100; i++)
		refused += buf_addc(&b, 'x') != 0;
	CHECK(b.len == 16 && refused == 84 && b.data[16] == '\0');
	CHECK(buf_add(&b, "y", 1) != 0 && b.len == 16);
	buf_reset(&b);
	CHECK(buf_add(&b, "0123456789abcdef", 16) == 0);
	CHECK(buf_addc(&b, 'z') != 0 && b.len == 16);
	buf_free(&b);
	/* Without a limit it grows past its first allocation. */
	buf_init(&b, 0);
	for (i = 0; i < 1000; i++)
		CHECK(buf_addc(&b, (char)('a' + i % 26)) == 0);
	CHECK(b.len == 1000 && b.data[999] == 'a' + 999 % 26);
	buf_free(&b);
}

int
main(void)
{
	/* A hang is a failure: SIGALRM ends the program. */
	signal(SIGALRM, SIG_DFL);
	test_param_loops();
	test_pathological_headers();
	test_visible();
	test_empty_buffers();
	test_buffer_limit();
	return test_done();
}
