/*
 * Charsets: everything becomes UTF-8 through iconv, with the aliases real
 * mail needs (a declared ISO-8859-1 is nearly always windows-1252, a GB2312
 * is GB18030, a ks_c_5601-1987 is CP949...). A byte that does not convert
 * becomes U+FFFD: nothing is dropped silently.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

#define REPLACEMENT "\xef\xbf\xbd"

size_t
mime_utf8_seq(const unsigned char *s, size_t len)
{
	uint32_t cp;

	return utf8_decode(s, len, &cp);
}

int
mime_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len, 0);
}

void
mime_utf8_sanitize(struct buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, n;

	while (i < len) {
		if (p[i] != 0 && p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] != 0 && (n = mime_utf8_seq(p + i, len - i)) != 0) {
			i += n;
			continue;
		}
		(void)buf_add(out, s + start, i - start);
		(void)buf_adds(out, REPLACEMENT);
		i++;
		start = i;
	}
	(void)buf_add(out, s + start, i - start);
}

/* Labels seen in mail, mapped to what iconv should really use. */
static const struct {
	const char *label;
	const char *iconv;
} aliases[] = {
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "iso8859-1", "WINDOWS-1252" },
	{ "iso_8859-1", "WINDOWS-1252" },
	{ "iso-latin-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "latin-1", "WINDOWS-1252" },
	{ "l1", "WINDOWS-1252" },
	{ "cp819", "WINDOWS-1252" },
	{ "ibm819", "WINDOWS-1252" },
	{ "8859-1", "WINDOWS-1252" },
	{ "iso-8859-9", "WINDOWS-1254" },
	{ "latin5", "WINDOWS-1254" },
	{ "iso-8859-11", "CP874" },
	{ "tis-620", "CP874" },
	{ "windows-874", "CP874" },
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "ks_c_5601-1989", "CP949" },
	{ "euc-kr", "CP949" },
	{ "korean", "CP949" },
	{ "gb2312", "GB18030" },
	{ "gb_2312-80", "GB18030" },
	{ "csgb2312", "GB18030" },
	{ "gbk", "GB18030" },
	{ "x-gbk", "GB18030" },
	{ "cp936", "GB18030" },
	{ "chinese", "GB18030" },
	{ "euc-cn", "GB18030" },
	{ "shift_jis", "CP932" },
	{ "shift-jis", "CP932" },
	{ "sjis", "CP932" },
	{ "x-sjis", "CP932" },
	{ "ms_kanji", "CP932" },
	{ "windows-31j", "CP932" },
	{ "csshiftjis", "CP932" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "iso-8859-6-i", "ISO-8859-6" },
	{ "big5", "BIG5-HKSCS" },
	{ "x-x-big5", "BIG5-HKSCS" },
	{ "cn-big5", "BIG5-HKSCS" },
	{ "unicode-1-1-utf-7", "UTF-7" },
	{ "x-mac-roman", "MACINTOSH" },
	{ "mac", "MACINTOSH" },
	{ "utf-16", "UTF-16" },
};

/* Labels that say nothing: guess (UTF-8 if valid, else windows-1252). */
static const char *const unknown_labels[] = {
	"unknown",
	"unknown-8bit",
	"x-unknown",
	"x-user-defined",
	"default",
	"charset",
	"8bit",
	"none",
};

static void
convert_iconv(iconv_t cd, const char *s, size_t len, struct buf *out)
{
	char obuf[4096];
	char *in = (char *)s, *o;
	size_t inleft = len, oleft;

	while (inleft > 0) {
		size_t r;

		o = obuf;
		oleft = sizeof obuf;
		r = iconv(cd, &in, &inleft, &o, &oleft);
		mime_utf8_sanitize(out, obuf, (size_t)(o - obuf));
		if (r != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		/* EILSEQ, or EINVAL at the end: mark the byte and go on. */
		(void)buf_adds(out, REPLACEMENT);
		in++;
		inleft--;
		(void)iconv(cd, NULL, NULL, NULL, NULL);
	}
	o = obuf;
	oleft = sizeof obuf;
	(void)iconv(cd, NULL, NULL, &o, &oleft);
	mime_utf8_sanitize(out, obuf, (size_t)(o - obuf));
}

static void
convert_named(const char *name, const char *s, size_t len, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", name);

	if (cd == (iconv_t)-1) {
		mime_utf8_sanitize(out, s, len);
		return;
	}
	convert_iconv(cd, s, len, out);
	iconv_close(cd);
}

/* Undeclared or unknown: UTF-8 if it is UTF-8, else windows-1252. */
static void
convert_guess(const char *s, size_t len, struct buf *out)
{
	if (mime_utf8_valid(s, len))
		(void)buf_add(out, s, len);
	else
		convert_named("WINDOWS-1252", s, len, out);
}

static int
all_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\0')
			return 0;
	}
	return 1;
}

void
mime_charset_convert(
    const char *charset, const char *s, size_t len, struct buf *out)
{
	char name[48];
	size_t i, n;

	if (len == 0)
		return;
	if (charset == NULL || all_ascii(s, len)) {
		/*
		 * Plain ASCII is the same in every charset tern meets, except
		 * the 7-bit ones (UTF-7, ISO-2022-*), which must be decoded.
		 */
		if (charset == NULL ||
		    (ascii_strncasecmp(charset, "utf-7", 5) != 0 &&
		        ascii_strncasecmp(charset, "iso-2022", 8) != 0 &&
		        ascii_strncasecmp(charset, "unicode-1-1-utf-7", 17) !=
		            0 &&
		        ascii_strncasecmp(charset, "hz", 2) != 0)) {
			convert_guess(s, len, out);
			return;
		}
	}
	/* Only a plain label reaches iconv: no "//TRANSLIT" and the like. */
	n = strlen(charset);
	while (n > 0 && (charset[n - 1] == ' ' || charset[n - 1] == '\t'))
		n--;
	while (n > 0 && (*charset == ' ' || *charset == '\t')) {
		charset++;
		n--;
	}
	if (n == 0 || n >= sizeof name) {
		convert_guess(s, len, out);
		return;
	}
	for (i = 0; i < n; i++) {
		char c = charset[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '-' || c == '_' || c == '.' || c == ':' ||
		        c == '+')) {
			convert_guess(s, len, out);
			return;
		}
		name[i] = c;
	}
	name[n] = '\0';
	if (strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0) {
		mime_utf8_sanitize(out, s, len);
		return;
	}
	if (strcmp(name, "us-ascii") == 0 || strcmp(name, "ascii") == 0 ||
	    strcmp(name, "ansi_x3.4-1968") == 0 || strcmp(name, "646") == 0) {
		/* 8-bit text labelled ASCII: usually UTF-8, else Latin. */
		convert_guess(s, len, out);
		return;
	}
	for (i = 0; i < TERN_NELEM(unknown_labels); i++) {
		if (strcmp(name, unknown_labels[i]) == 0) {
			convert_guess(s, len, out);
			return;
		}
	}
	for (i = 0; i < TERN_NELEM(aliases); i++) {
		if (strcmp(name, aliases[i].label) == 0) {
			convert_named(aliases[i].iconv, s, len, out);
			return;
		}
	}
	{
		iconv_t cd = iconv_open("UTF-8", name);

		if (cd == (iconv_t)-1) {
			convert_guess(s, len, out);
			return;
		}
		convert_iconv(cd, s, len, out);
		iconv_close(cd);
	}
}
