/*
 * mbox reading and writing.
 *
 * A message starts after a "From " line that follows a blank line (or
 * starts the file) and looks like a From_ line (it holds a time, hh:mm);
 * it ends before the blank line that precedes the next one. Writers
 * (tern, mutt, Thunderbird, Python) end every message with that blank
 * line, so a file that does not end with one was cut short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/archive.h"
#include "tern/store.h"

static int
is_from(const char *s, size_t len)
{
	return len >= 5 && memcmp(s, "From ", 5) == 0;
}

/* Length of the line at s (with its '\n'), within len. */
static size_t
line_len(const char *s, size_t len)
{
	const char *nl = memchr(s, '\n', len);

	return nl ? (size_t)(nl - s) + 1 : len;
}

void
archive_mbox_quote(struct buf *out, const char *raw, size_t len)
{
	size_t off = 0, n, k;

	while (off < len) {
		n = line_len(raw + off, len - off);
		for (k = 0; k < n && raw[off + k] == '>'; k++)
			;
		if (is_from(raw + off + k, n - k))
			(void)buf_addc(out, '>');
		(void)buf_add(out, raw + off, n);
		off += n;
	}
}

void
archive_mbox_unquote(
    struct buf *out, const char *s, size_t len, enum archive_mbox_kind kind)
{
	size_t off = 0, n, k;

	while (off < len) {
		n = line_len(s + off, len - off);
		for (k = 0; k < n && s[off + k] == '>'; k++)
			;
		if (k > 0 && is_from(s + off + k, n - k) &&
		    (kind == ARCHIVE_MBOXRD || k == 1))
			(void)buf_add(out, s + off + 1, n - 1);
		else
			(void)buf_add(out, s + off, n);
		off += n;
	}
}

void
archive_mbox_status(struct buf *out, unsigned flags, int crlf)
{
	const char *eol = crlf ? "\r\n" : "\n";

	(void)buf_printf(
	    out, "Status: %s%s", flags & STORE_F_SEEN ? "RO" : "O", eol);
	if (flags &
	    (STORE_F_REPLIED | STORE_F_FLAGGED | STORE_F_DRAFT |
	        STORE_F_DELETED | STORE_F_PASSED)) {
		(void)buf_adds(out, "X-Status: ");
		if (flags & STORE_F_REPLIED)
			(void)buf_addc(out, 'A');
		if (flags & STORE_F_FLAGGED)
			(void)buf_addc(out, 'F');
		if (flags & STORE_F_DRAFT)
			(void)buf_addc(out, 'T');
		if (flags & STORE_F_DELETED)
			(void)buf_addc(out, 'D');
		if (flags & STORE_F_PASSED)
			(void)buf_addc(out, 'P');
		(void)buf_adds(out, eol);
	}
}

/* Does the line at s look like a From_ line ("From who date")? */
static int
from_line(const char *s, size_t n)
{
	size_t i;

	if (!is_from(s, n))
		return 0;
	for (i = 5; i + 4 < n; i++) {
		if (s[i] >= '0' && s[i] <= '9' && s[i + 1] >= '0' &&
		    s[i + 1] <= '9' && s[i + 2] == ':' && s[i + 3] >= '0' &&
		    s[i + 3] <= '9')
			return 1;
	}
	return 0;
}

/* The date of a From_ line ("From who Thu Nov 14 22:13:20 2023"), or 0. */
static int64_t
from_date(const char *s, size_t n)
{
	char line[256], *p;
	struct tm tm;

	if (n >= sizeof line)
		return 0;
	memcpy(line, s, n);
	line[n] = '\0';
	if ((p = strchr(line + 5, ' ')) == NULL)
		return 0;
	while (*p == ' ')
		p++;
	memset(&tm, 0, sizeof tm);
	if (strptime(p, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* Is the line starting at off preceded by a blank line (or the start)? */
static int
after_blank(const char *d, size_t off)
{
	if (off == 0)
		return 1;
	if (off >= 2 && d[off - 1] == '\n' && d[off - 2] == '\n')
		return 1;
	return off >= 3 && d[off - 1] == '\n' && d[off - 2] == '\r' &&
	    d[off - 3] == '\n';
}

/* Length of the blank line before off (after_blank(d, off) holds). */
static size_t
blank_len(const char *d, size_t off)
{
	return d[off - 2] == '\n' ? 1 : 2;
}

/*
 * Flags from the header's Status:/X-Status: lines; *skip gets the length
 * of such lines at the very top (where tern writes them).
 */
static unsigned
header_flags(const char *m, size_t len, size_t *skip)
{
	size_t off = 0, n, i;
	unsigned flags = 0;
	int top = 1;

	*skip = 0;
	while (off < len) {
		const char *v = NULL;
		size_t vn = 0;
		int x = 0;

		n = line_len(m + off, len - off);
		if (n == 0 || m[off] == '\n' || (m[off] == '\r' && n == 2))
			break;
		if (n >= 7 && ascii_strncasecmp(m + off, "Status:", 7) == 0)
			v = m + off + 7, vn = n - 7;
		else if (n >= 9 &&
		    ascii_strncasecmp(m + off, "X-Status:", 9) == 0)
			v = m + off + 9, vn = n - 9, x = 1;
		if (v == NULL)
			top = 0;
		for (i = 0; v != NULL && i < vn; i++) {
			switch (v[i]) {
			case 'R':
				flags |= x ? 0 : STORE_F_SEEN;
				break;
			case 'A':
				flags |= x ? STORE_F_REPLIED : 0;
				break;
			case 'F':
				flags |= x ? STORE_F_FLAGGED : 0;
				break;
			case 'T':
				flags |= x ? STORE_F_DRAFT : 0;
				break;
			case 'D':
				flags |= x ? STORE_F_DELETED : 0;
				break;
			case 'P':
				flags |= x ? STORE_F_PASSED : 0;
				break;
			}
		}
		off += n;
		if (top)
			*skip = off;
	}
	return flags;
}

/*
 * Walk the messages; with cb NULL only check the file and count them.
 */
static int
mbox_walk(const char *d, size_t len, enum archive_mbox_kind kind,
    archive_msg_cb cb, void *arg, size_t *count, char **cause)
{
	struct buf msg;
	size_t off, start, n, fl_off = 0, fl_len = 0, nmsg = 0;
	int ret = 0;

	*count = 0;
	if (len == 0)
		return 0;
	if (!is_from(d, len))
		return set_cause(cause,
		    "not an mbox: it does not start with a 'From ' line");
	if (len < 2 || !after_blank(d, len))
		return set_cause(cause,
		    "the mbox is truncated: it does not end with a complete "
		    "message and a blank line");
	buf_init(&msg, 0);
	start = 0;
	for (off = 0; off <= len; off += n) {
		n = off < len ? line_len(d + off, len - off) : 0;
		if (off < len &&
		    !(after_blank(d, off) &&
		        (off == 0 || from_line(d + off, n))))
			continue;
		/* A message ends here (or at the end of the file). */
		if (off > 0) {
			size_t end = off - blank_len(d, off);
			unsigned flags;
			size_t skip;

			if (end <= start) {
				ret = set_cause(cause,
				    "bad mbox: message %zu (at byte %zu) is "
				    "empty",
				    nmsg + 1, fl_off);
				break;
			}
			flags = header_flags(d + start, end - start, &skip);
			/* Nothing but Status: lines: they are the message. */
			if (skip == end - start)
				skip = 0;
			if (memchr(d + start, '\n', end - start) == NULL) {
				ret = set_cause(cause,
				    "bad mbox: message %zu has no header",
				    nmsg + 1);
				break;
			}
			nmsg++;
			if (cb != NULL) {
				buf_reset(&msg);
				archive_mbox_unquote(&msg, d + start + skip,
				    end - start - skip, kind);
				ret = cb(arg, msg.data, msg.len, flags,
				    from_date(d + fl_off, fl_len - 1));
				if (ret != 0)
					break;
			}
		}
		if (off == len)
			break;
		fl_off = off;
		fl_len = n;
		start = off + n;
		if (n == 0)
			break;
	}
	buf_free(&msg);
	*count = nmsg;
	return ret;
}

int
archive_mbox_parse(const char *data, size_t len, enum archive_mbox_kind kind,
    archive_msg_cb cb, void *arg, char **cause)
{
	size_t count;

	if (mbox_walk(data, len, kind, NULL, NULL, &count, cause) != 0)
		return -1;
	return mbox_walk(data, len, kind, cb, arg, &count, cause);
}
