/*
 * indexfmt: the index line as mutt's index_format writes it.
 *
 *	%[-][MIN][.MAX]CODE
 *
 * CODE: c size, d and D the date (strftime of date_format in local time,
 * or the short date of the built-in line when there is none), n the
 * sender's name, F the same, or "To" and the first recipient's name for
 * mail from one's own address, f the sender as written, s the subject, Z
 * the flags, C the message's number in the view, N the score (nothing:
 * tern keeps none), % a percent sign. MIN pads to that many columns (on
 * the left, or on the right with '-'), MAX cuts to that many.
 */
#ifndef TERN_INDEXFMT_H
#define TERN_INDEXFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tern/util.h"

/* What one index line shows; every string may be NULL. */
struct indexfmt_row {
	const char *flags; /* %Z, as the built-in line shows them */
	int64_t date; /* seconds since the epoch; <= 0: unknown */
	int64_t size;
	const char *from;
	const char *subject; /* with the thread's tree in front */
	size_t number; /* 1 for the first line of the view */
	const char *to; /* the recipients, for %F of one's own mail */
	int from_me; /* sent from one of one's own addresses */
};

/* 0 if fmt is a format indexfmt_line can write, else -1 with why. */
int indexfmt_check(const char *fmt, const char **why);
/*
 * Append the line for row to out. date_format NULL: the short date; now
 * tells what is today. fmt must have passed indexfmt_check.
 */
void indexfmt_line(const char *fmt, const char *date_format,
    const struct indexfmt_row *row, time_t now, struct buf *out);
/* The short date: HH:MM today, "Mon DD" this year, YYYY-MM-DD before. */
void indexfmt_short_date(int64_t d, time_t now, char *out, size_t len);
/* A size as the index shows it: 512, 12K, 3.4M. */
void indexfmt_size(int64_t n, char *out, size_t len);
/* The display name of an address ("Name <a@b>" -> Name), malloc'd. */
char *indexfmt_name(const char *from);
/* One's own mail: "To" and the first recipient's name (malloc'd), or
 * NULL when to names nobody. */
char *indexfmt_to_name(const char *to);

#endif
