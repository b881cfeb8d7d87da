/*
 * The index line's formatter: mutt's % codes, widths in columns.
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/test.h"
#include "tern/indexfmt.h"
#include "tern/util.h"

static char *
line(const char *fmt, const char *date_format, const struct indexfmt_row *r)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	/* 2024-03-05 12:00 UTC, "today" a year later. */
	indexfmt_line(fmt, date_format, r, (time_t)1741176000, &b);
	s = buf_steal(&b, NULL);
	return s != NULL ? s : xstrdup("");
}

static void
check(const char *fmt, const char *date_format, const struct indexfmt_row *r,
    const char *want)
{
	char *got = line(fmt, date_format, r);

	CHECK_STR(got, want);
	free(got);
}

static void
test_codes(void)
{
	struct indexfmt_row r = { "N!r@", 1709640000, 12345,
		"\"Ann Example\" <ann@example.org>", "Hello there", 7,
		"\"Doe, Jo\" <jo@example.org>, bo@example.org", 0 };

	check("%Z|%F|%s", NULL, &r, "N!r@|Ann Example|Hello there");
	check(
	    "%n %f", NULL, &r, "Ann Example \"Ann Example\" <ann@example.org>");
	check("%c|%4c|%-6c|", NULL, &r, "13K| 13K|13K   |");
	check("[%-8.8F]", NULL, &r, "[Ann Exam]");
	/* One's own mail: %F says whom it went to, %n still who sent it. */
	r.from_me = 1;
	check("%F|%n", NULL, &r, "To Doe, Jo|Ann Example");
	r.to = "bo@example.org";
	check("%F", NULL, &r, "To bo@example.org");
	/* Read as the address parser reads it (the built-in line too): a
	 * group's first member; nobody named, the sender. */
	r.to = "Team: \"Lee, Al\" <al@example.org>, bo@example.org;";
	check("%F", NULL, &r, "To Lee, Al");
	r.to = "undisclosed-recipients:;";
	check("%F", NULL, &r, "Ann Example");
	r.from_me = 0;
	check("[%15F]", NULL, &r, "[    Ann Example]");
	check("[%-15F]", NULL, &r, "[Ann Example    ]");
	check("[%.3s]", NULL, &r, "[Hel]");
	check("%D", "%Y/%m/%d", &r, "2024/03/05");
	check("%d", "%Y", &r, "2024");
	check("%d", NULL, &r, "2024-03-05"); /* another year: the short date */
	check("%C %3C|", NULL, &r, "7   7|");
	check("a%Nb %% 100%%", NULL, &r, "ab % 100%");
	r.subject = NULL;
	r.from = NULL;
	r.size = 999;
	check("%s|%F|%c", NULL, &r, "(no subject)||999");
}

static void
test_wide(void)
{
	/* Widths count columns: a CJK character takes two. */
	struct indexfmt_row r = { "", 0, 0, "日本語のなまえ <x@y>", "é", 1,
		NULL, 0 };

	check("[%-6.6F]", NULL, &r, "[日本語]");
	check("[%-5.5F]", NULL, &r, "[日本 ]");
	check("[%3s]", NULL, &r, "[  é]");
	check("%d", NULL, &r, "?");
}

static void
test_check(void)
{
	const char *why = NULL;

	CHECK(indexfmt_check("%Z %-20.20F %4c %s", &why) == 0);
	CHECK(indexfmt_check("plain", &why) == 0);
	CHECK(indexfmt_check("%q", &why) == -1 && why != NULL &&
	    strstr(why, "unknown") != NULL);
	CHECK(indexfmt_check("%", &why) == -1);
	CHECK(indexfmt_check("%-4.", &why) == -1);
	CHECK(indexfmt_check("%5000s", &why) == -1);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		printf("# no C.UTF-8 locale\n");
	test_codes();
	test_wide();
	test_check();
	return test_done();
}
