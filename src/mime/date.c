/*
 * Dates: RFC 5322 ("Tue, 1 Jul 2003 10:52:37 +0200") and the forms real
 * mail carries: obsolete zone names, two- and three-digit years, missing
 * seconds or zone, comments, asctime ("Tue Jul  1 10:52:37 2003"), ISO 8601
 * ("2003-07-01T10:52:37Z"), dotted times, "+02:00" zones.
 *
 * The text is cut into tokens and each is recognised by its shape, so the
 * order of the parts does not matter. Only the first 256 bytes count.
 */
#include <string.h>

#include "mime-private.h"

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec" };

static const struct {
	const char *name;
	int minutes;
} zones[] = {
	{ "ut", 0 },
	{ "utc", 0 },
	{ "gmt", 0 },
	{ "z", 0 },
	{ "wet", 0 },
	{ "est", -300 },
	{ "edt", -240 },
	{ "cst", -360 },
	{ "cdt", -300 },
	{ "mst", -420 },
	{ "mdt", -360 },
	{ "pst", -480 },
	{ "pdt", -420 },
	{ "akst", -540 },
	{ "akdt", -480 },
	{ "hst", -600 },
	{ "bst", 60 },
	{ "cet", 60 },
	{ "met", 60 },
	{ "mez", 60 },
	{ "cest", 120 },
	{ "mest", 120 },
	{ "mesz", 120 },
	{ "eet", 120 },
	{ "eest", 180 },
	{ "msk", 180 },
	{ "ist", 330 },
	{ "jst", 540 },
	{ "kst", 540 },
	{ "hkt", 480 },
	{ "aest", 600 },
	{ "aedt", 660 },
	{ "nzst", 720 },
	{ "nzdt", 780 },
};

/* Weekday names say nothing the date does not: skipped before the zones. */
static int
is_weekday(const char *w)
{
	static const char days[] = "montuewedthufrisatsun";
	size_t i;

	for (i = 0; i + 3 <= sizeof days - 1; i += 3) {
		if (memcmp(w, days + i, 3) == 0)
			return 1;
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Read up to 9 digits; returns the count. */
static size_t
read_num(const char *s, size_t len, size_t i, long *v)
{
	size_t n = 0;

	*v = 0;
	while (i + n < len && is_digit(s[i + n]) && n < 9) {
		*v = *v * 10 + (s[i + n] - '0');
		n++;
	}
	while (i + n < len && is_digit(s[i + n]))
		n++; /* absurdly long numbers: skip the rest */
	return n;
}

int64_t
mime_date_parse(const char *s, size_t len)
{
	long day = -1, mon = -1, year = -1, hh = -1, mm = 0, ss = 0;
	long zone = 0, v;
	int have_zone = 0, pm = -1;
	size_t i = 0, n;
	int depth = 0;

	if (len > 256)
		len = 256;
	while (i < len) {
		char c = s[i];

		if (c == '(') {
			depth++;
			i++;
			continue;
		}
		if (c == ')') {
			if (depth > 0)
				depth--;
			i++;
			continue;
		}
		if (depth > 0) {
			i++;
			continue;
		}
		if ((c == '+' || c == '-') && hh >= 0 && !have_zone &&
		    i + 1 < len && is_digit(s[i + 1])) {
			/* +hhmm, +hh:mm, +hh */
			long zh, zm = 0;

			n = read_num(s, len, i + 1, &v);
			if (n == 4) {
				zh = v / 100;
				zm = v % 100;
			} else if (n <= 2) {
				zh = v;
				if (i + 1 + n + 2 < len &&
				    s[i + 1 + n] == ':' &&
				    read_num(s, len, i + 2 + n, &zm) == 2)
					n += 3;
				else
					zm = 0;
			} else {
				i += 1 + n;
				continue;
			}
			if (zh <= 14 && zm < 60) {
				zone = (zh * 60 + zm) * (c == '-' ? -1 : 1);
				have_zone = 1;
			}
			i += 1 + n;
			continue;
		}
		if (is_alpha(c)) {
			char w[8];
			size_t k = 0, t;

			while (i < len && is_alpha(s[i])) {
				if (k < sizeof w - 1)
					w[k++] = (char)(s[i] | 0x20);
				i++;
			}
			w[k] = '\0';
			if (k >= 3 && mon < 0) {
				for (t = 0; t < 12; t++) {
					if (memcmp(w, months[t], 3) == 0) {
						mon = (long)t + 1;
						break;
					}
				}
				if (mon >= 0)
					continue;
			}
			if (k == 3 && is_weekday(w))
				continue;
			if (strcmp(w, "am") == 0 || strcmp(w, "pm") == 0) {
				pm = w[0] == 'p';
				continue;
			}
			if (strcmp(w, "t") == 0)
				continue;
			if (!have_zone) {
				for (t = 0; t < TERN_NELEM(zones); t++) {
					if (strcmp(w, zones[t].name) == 0) {
						zone = zones[t].minutes;
						have_zone = 1;
						break;
					}
				}
			}
			continue;
		}
		if (is_digit(c)) {
			n = read_num(s, len, i, &v);
			if (i + n < len &&
			    (s[i + n] == ':' || s[i + n] == '.') && hh < 0 &&
			    n <= 2 && i + n + 1 < len &&
			    is_digit(s[i + n + 1]) &&
			    (s[i + n] == ':' || day >= 0)) {
				/* A time: h:m[:s], or h.m.s after the date. */
				char sep = s[i + n];
				long a, b = 0;
				size_t n2, n3 = 0;

				n2 = read_num(s, len, i + n + 1, &a);
				if (i + n + 1 + n2 + 1 < len &&
				    s[i + n + 1 + n2] == sep &&
				    is_digit(s[i + n + 2 + n2]))
					n3 = 1 +
					    read_num(
					        s, len, i + n + 2 + n2, &b);
				if (sep == '.' && n3 > 0 && b > 99) {
					/* d.m.yyyy, not a time */
					if (day < 0 && v >= 1 && v <= 31 &&
					    a >= 1 && a <= 12) {
						day = v;
						mon = a;
						year = b;
					}
				} else {
					hh = v;
					mm = a;
					ss = b;
				}
				i += n + 1 + n2 + n3;
				continue;
			}
			if (n == 4 && i + n < len && s[i + n] == '-' &&
			    year < 0) {
				/* ISO 8601: yyyy-mm-dd */
				long a, b;
				size_t n2 = read_num(s, len, i + 5, &a), n3 = 0;

				year = v;
				if (n2 > 0 && i + 5 + n2 < len &&
				    s[i + 5 + n2] == '-') {
					n3 = read_num(s, len, i + 6 + n2, &b);
					if (n3 > 0) {
						mon = a;
						day = b;
						n3++;
					}
				}
				i += n + 1 + n2 + n3;
				continue;
			}
			if (n >= 3 && year < 0)
				year = v < 1000 ? v + 1900 : v;
			else if (n <= 2 && day < 0)
				day = v;
			else if (n <= 2 && year < 0)
				year = v < 50 ? v + 2000 : v + 1900;
			i += n;
			continue;
		}
		i++;
	}
	if (pm >= 0 && hh >= 1 && hh <= 12) {
		if (pm && hh < 12)
			hh += 12;
		else if (!pm && hh == 12)
			hh = 0;
	}
	if (hh < 0)
		hh = 0;
	if (ss == 60)
		ss = 59;
	if (day < 1 || day > 31 || mon < 1 || mon > 12 || year < 1900 ||
	    year > 9999 || hh > 23 || mm > 59 || ss > 59)
		return 0;
	return days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
	    hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
}
