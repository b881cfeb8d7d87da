/*
 * Small string, file and time helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "tern/util.h"

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int
ascii_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int ca = ascii_lower((unsigned char)*a);
		int cb = ascii_lower((unsigned char)*b);

		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			break;
	}
	return 0;
}

int
ascii_strcasecmp(const char *a, const char *b)
{
	return ascii_strncasecmp(a, b, SIZE_MAX);
}

int
parse_uint64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int
utf8_valid(const char *s, size_t len, int nul_ok)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		uint64_t w;

		/* Eight ASCII bytes at a time, none of them NUL. */
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080u) == 0 &&
			    (nul_ok ||
			        ((w - 0x0101010101010101u) & ~w &
			            0x8080808080808080u) == 0)) {
				i += 8;
				continue;
			}
		}
		if (p[i] < 0x80) {
			if (p[i] == 0 && !nul_ok)
				return 0;
			i++;
			continue;
		}
		if ((n = utf8_decode(p + i, len - i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static int
is_bidi_control(uint32_t c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

void
text_visible(struct buf *out, const char *s, size_t len, int keep_newline)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n, run;

		/* Printable ASCII, the most of most text, a run at a time. */
		for (run = i; run < len &&
		     ((p[run] >= 0x20 && p[run] < 0x7f) || p[run] == '\t' ||
		         (p[run] == '\n' && keep_newline));
		     run++)
			;
		if (run > i) {
			(void)buf_add(out, p + i, run - i);
			i = run;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			(void)buf_adds(out, "\xef\xbf\xbd"); /* U+FFFD */
			i++;
			continue;
		}
		if (cp == '\t' || (cp == '\n' && keep_newline))
			(void)buf_addc(out, (char)cp);
		else if (cp == 0x1b)
			(void)buf_adds(out, "^[");
		else if (cp < 0x20)
			(void)buf_printf(out, "^%c", (char)(cp + '@'));
		else if (cp == 0x7f)
			(void)buf_adds(out, "^?");
		else if ((cp >= 0x80 && cp < 0xa0) || is_bidi_control(cp))
			(void)buf_printf(out, "<U+%04X>", (unsigned)cp);
		else
			(void)buf_add(out, p + i, n);
		i += n;
	}
}

char *
text_visible_dup(const char *s)
{
	struct buf b;

	buf_init(&b, 0);
	text_visible(&b, s, strlen(s), 0);
	return buf_steal(&b, NULL);
}

size_t
text_char(const char *s, size_t len, mbstate_t *mbs, wchar_t *wc, int *cols)
{
	size_t r = mbrtowc(wc, s, len, mbs);

	if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
		/* Decoding starts again at the next byte. */
		memset(mbs, 0, sizeof *mbs);
		*wc = L'?';
		*cols = 1;
		return 1;
	}
	if ((*cols = wcwidth(*wc)) < 0)
		*cols = 1;
	return r;
}

size_t
text_fit(const char *s, size_t len, int width, int *cols)
{
	mbstate_t mbs;
	size_t i = 0;
	int col = 0;

	memset(&mbs, 0, sizeof mbs);
	while (i < len) {
		wchar_t wc;
		int cw;
		size_t r = text_char(s + i, len - i, &mbs, &wc, &cw);

		if (width >= 0 && col + cw > width)
			break;
		col += cw;
		i += r;
	}
	if (cols != NULL)
		*cols = col;
	return i;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
read_file(const char *path, size_t max, struct buf *out, char **cause)
{
	char tmp[65536];
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_cause(cause, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_cause(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if ((max != 0 && out->len + (size_t)n > max) ||
		    buf_add(out, tmp, (size_t)n) != 0) {
			set_cause(cause, "%s: file too large", path);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
mkdir_p(const char *path, mode_t mode, char **cause)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				rc = set_cause(cause, "cannot create %s: %s", p,
				    strerror(errno));
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return rc;
}

void
format_size(int64_t n, int compact, char *out, size_t len)
{
	static const char *const iec[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	static const char *const shortu[] = { "", "K", "M", "G", "T" };
	double v = n < 0 ? 0 : (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < TERN_NELEM(iec)) {
		v /= 1024;
		u++;
	}
	/* One decimal while it says something: 4.2 MiB, but 42 MiB, 1 GiB. */
	snprintf(out, len,
	    u > 0 && v < 10 && v != (double)(int64_t)v ? "%.1f%s%s"
	                                               : "%.0f%s%s",
	    v, compact ? "" : " ", compact ? shortu[u] : iec[u]);
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
