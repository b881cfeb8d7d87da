/*
 * The index line from a format of mutt's kind. A format is checked once
 * (when the rc is read) and written for every line drawn; widths count
 * screen columns, not bytes, so names in any script line up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/compose.h"
#include "tern/indexfmt.h"

/* Widths beyond a screen's are a mistake, not a layout. */
#define INDEXFMT_MAX_WIDTH 1000

struct spec {
	int left; /* '-': pad on the right */
	int min; /* -1: none */
	int max; /* -1: none */
	char code;
};

/* Parse the spec after a '%' at *p; -1 with why. */
static int
spec_parse(const char **p, struct spec *sp, const char **why)
{
	const char *s = *p;

	sp->left = 0;
	sp->min = sp->max = -1;
	if (*s == '-') {
		sp->left = 1;
		s++;
	}
	if (*s >= '0' && *s <= '9') {
		sp->min = 0;
		while (*s >= '0' && *s <= '9') {
			sp->min = sp->min * 10 + (*s++ - '0');
			if (sp->min > INDEXFMT_MAX_WIDTH) {
				*why = "index_format: a width above 1000";
				return -1;
			}
		}
	}
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9')) {
			*why = "index_format: '.' must be followed by a width";
			return -1;
		}
		sp->max = 0;
		while (*s >= '0' && *s <= '9') {
			sp->max = sp->max * 10 + (*s++ - '0');
			if (sp->max > INDEXFMT_MAX_WIDTH) {
				*why = "index_format: a width above 1000";
				return -1;
			}
		}
	}
	if (*s == '\0') {
		*why = "index_format ends inside a % code";
		return -1;
	}
	if (strchr("cdDFnfsZCN%", *s) == NULL) {
		*why = "index_format: unknown % code (known: %c %d %D %F %n "
		       "%f %s %Z %C %N %%)";
		return -1;
	}
	sp->code = *s++;
	*p = s;
	return 0;
}

int
indexfmt_check(const char *fmt, const char **why)
{
	struct spec sp;

	while (*fmt != '\0') {
		if (*fmt++ != '%')
			continue;
		if (spec_parse(&fmt, &sp, why) != 0)
			return -1;
	}
	return 0;
}

void
indexfmt_short_date(int64_t d, time_t now, char *out, size_t len)
{
	time_t tt = (time_t)d;
	struct tm tm, tn;

	if (d <= 0 || localtime_r(&tt, &tm) == NULL ||
	    localtime_r(&now, &tn) == NULL) {
		snprintf(out, len, "%s", "?");
		return;
	}
	if (tm.tm_year == tn.tm_year && tm.tm_yday == tn.tm_yday)
		strftime(out, len, "%H:%M", &tm);
	else if (tm.tm_year == tn.tm_year)
		strftime(out, len, "%b %d", &tm);
	else
		strftime(out, len, "%Y-%m-%d", &tm);
}

void
indexfmt_size(int64_t n, char *out, size_t len)
{
	if (n < 1000)
		snprintf(out, len, "%lld", (long long)n);
	else if (n < 1000 * 1024)
		snprintf(out, len, "%lldK", (long long)((n + 1023) / 1024));
	else
		snprintf(out, len, "%.1fM", (double)n / (1024 * 1024));
}

char *
indexfmt_name(const char *from)
{
	const char *lt;
	size_t a, b;

	if (from == NULL)
		return xstrdup("");
	if ((lt = strchr(from, '<')) == NULL || lt == from)
		return xstrdup(from);
	a = 0;
	b = (size_t)(lt - from);
	while (a < b && (from[a] == ' ' || from[a] == '"'))
		a++;
	while (b > a && (from[b - 1] == ' ' || from[b - 1] == '"'))
		b--;
	if (a == b)
		return xstrdup(from);
	return xstrndup(from + a, b - a);
}

char *
indexfmt_to_name(const char *to)
{
	char *first, *out;

	if (to == NULL || (first = compose_addr_first_name(to)) == NULL)
		return NULL;
	out = xasprintf("To %s", first);
	free(first);
	return out;
}

/* Append s cut to max columns and padded to min, as sp says. */
static void
put_field(struct buf *out, const struct spec *sp, const char *s)
{
	int col, pad;
	size_t end = text_fit(s, strlen(s), sp->max, &col);

	pad = sp->min > col ? sp->min - col : 0;
	if (!sp->left)
		for (int k = 0; k < pad; k++)
			(void)buf_addc(out, ' ');
	(void)buf_add(out, s, end);
	if (sp->left)
		for (int k = 0; k < pad; k++)
			(void)buf_addc(out, ' ');
}

void
indexfmt_line(const char *fmt, const char *date_format,
    const struct indexfmt_row *row, time_t now, struct buf *out)
{
	char tmp[256], *name;
	const char *why;
	struct spec sp;

	while (*fmt != '\0') {
		const char *pct = strchr(fmt, '%');

		if (pct == NULL) {
			(void)buf_adds(out, fmt);
			break;
		}
		(void)buf_add(out, fmt, (size_t)(pct - fmt));
		fmt = pct + 1;
		if (spec_parse(&fmt, &sp, &why) != 0)
			break; /* indexfmt_check said no: nothing more */
		switch (sp.code) {
		case 'c':
			indexfmt_size(row->size, tmp, sizeof tmp);
			put_field(out, &sp, tmp);
			break;
		case 'd':
		case 'D':
			if (date_format == NULL || row->date <= 0)
				indexfmt_short_date(
				    row->date, now, tmp, sizeof tmp);
			else {
				time_t tt = (time_t)row->date;
				struct tm tm;

				if (localtime_r(&tt, &tm) == NULL ||
				    strftime(
				        tmp, sizeof tmp, date_format, &tm) == 0)
					tmp[0] = '\0';
			}
			put_field(out, &sp, tmp);
			break;
		case 'F':
		case 'n':
			name = sp.code == 'F' && row->from_me
			    ? indexfmt_to_name(row->to)
			    : NULL;
			if (name == NULL)
				name = indexfmt_name(row->from);
			put_field(out, &sp, name);
			free(name);
			break;
		case 'f':
			put_field(out, &sp, row->from ? row->from : "");
			break;
		case 's':
			put_field(out, &sp,
			    row->subject ? row->subject : "(no subject)");
			break;
		case 'Z':
			put_field(out, &sp, row->flags ? row->flags : "");
			break;
		case 'C':
			snprintf(tmp, sizeof tmp, "%zu", row->number);
			put_field(out, &sp, tmp);
			break;
		case 'N':
			put_field(out, &sp, "");
			break;
		default:
			put_field(out, &sp, "%");
			break;
		}
	}
}
