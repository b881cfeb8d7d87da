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

/*
 * Lines to quote are rare: each line's start is looked at, and the runs
 * between the lines that need a '>' are copied whole (an export of a
 * gigabyte went through here a buf_add per line).
 */
void
archive_mbox_quote(struct buf *out, const char *raw, size_t len)
{
	size_t off = 0, start = 0, k;
	const char *nl;

	while (off < len) {
		for (k = off; k < len && raw[k] == '>'; k++)
			;
		if (is_from(raw + k, len - k)) {
			(void)buf_add(out, raw + start, off - start);
			(void)buf_addc(out, '>');
			start = off;
		}
		if ((nl = memchr(raw + k, '\n', len - k)) == NULL)
			break;
		off = (size_t)(nl - raw) + 1;
	}
	(void)buf_add(out, raw + start, len - start);
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

/*
 * tern's own lines at the top of each message it writes, in this order:
 * Status: always; X-Status:, X-Keywords: and X-Tern-Eol: when they say
 * something. A reader takes off that block exactly and nothing more; so
 * that it cannot mistake the message's own first line for one of the
 * optional lines, such a line is also written (empty) when the message
 * starts with a line of that name.
 */
static const char *const block_names[] = {
	"Status: ", "X-Status: ", "X-Keywords: ", "X-Tern-Eol: "
};

/* Does the line at s (n bytes) start with name? */
static int
line_is(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n >= k && memcmp(s, name, k) == 0;
}

void
archive_mbox_head(struct buf *out, const char *raw, size_t len, unsigned flags,
    const char *keywords)
{
	const char *nl = memchr(raw, '\n', len);
	const char *eol =
	    nl != NULL && nl > raw && nl[-1] == '\r' ? "\r\n" : "\n";
	size_t first = len > 0 ? line_len(raw, len) : 0;
	int added = len > 0 && raw[len - 1] != '\n';
	unsigned x = flags &
	    (STORE_F_REPLIED | STORE_F_FLAGGED | STORE_F_DRAFT |
	        STORE_F_DELETED | STORE_F_PASSED);

	(void)buf_printf(
	    out, "Status: %s%s", flags & STORE_F_SEEN ? "RO" : "O", eol);
	if (x || line_is(raw, first, block_names[1])) {
		(void)buf_adds(out, block_names[1]);
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
	if ((keywords != NULL && *keywords != '\0') ||
	    line_is(raw, first, block_names[2]))
		(void)buf_printf(out, "%s%s%s", block_names[2],
		    keywords != NULL ? keywords : "", eol);
	if (added || line_is(raw, first, block_names[3]))
		(void)buf_printf(out, "%s%s%s", block_names[3],
		    added ? "added" : "as-is", eol);
}

void
archive_mbox_tail(struct buf *out, const char *raw, size_t len)
{
	/* mbox needs a line end before the separator; the block says so. */
	if (len > 0 && raw[len - 1] != '\n')
		(void)buf_addc(out, '\n');
	(void)buf_addc(out, '\n');
}

void
archive_mbox_write(struct buf *out, const char *raw, size_t len, unsigned flags,
    const char *keywords)
{
	archive_mbox_head(out, raw, len, flags, keywords);
	archive_mbox_quote(out, raw, len);
	archive_mbox_tail(out, raw, len);
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

/* Flags of a Status: (x 0) or X-Status: (x 1) value. */
static unsigned
status_flags(const char *v, size_t n, int x)
{
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < n; i++) {
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
	return flags;
}

/*
 * Keywords of an X-Keywords: (Dovecot, mutt), Keywords: (RFC 5322) or
 * X-Label: (mutt) value: words separated by commas or white space. A
 * word that is no IMAP keyword is left out.
 */
static void
keyword_words(struct core_flag_change *c, const char *v, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		char *w;

		while (i < n && strchr(", \t\r\n", v[i]) != NULL)
			i++;
		for (j = i; j < n && strchr(", \t\r\n", v[j]) == NULL; j++)
			;
		if (j > i) {
			size_t k;

			w = xstrndup(v + i, j - i);
			/* The first mention keeps its place. */
			for (k = 0; k < c->nkw_add &&
			     ascii_strcasecmp(c->kw_add[k], w) != 0;
			     k++)
				;
			if (k == c->nkw_add && core_keyword_check(w, NULL) == 0)
				(void)core_flag_change_keyword(c, 1, w, NULL);
			free(w);
		}
		i = j;
	}
}

/* What travels with a message in an mbox, read from its header. */
struct meta {
	unsigned flags;
	char *keywords; /* malloc'd, or NULL */
	size_t skip; /* bytes of tern's block at the top */
	int added; /* the block says a final '\n' was added */
};

/*
 * Read the flags and keywords of a message's header: those of tern's
 * block at the top (which is taken off: mt->skip), or without one those
 * of mutt's or Dovecot's lines anywhere in it (which stay, as the
 * message's own).
 */
static void
header_meta(const char *m, size_t len, struct meta *mt)
{
	struct core_flag_change c;
	size_t off = 0, n, k, next = 0, block = 0;
	int top = 1;

	memset(&c, 0, sizeof c);
	memset(mt, 0, sizeof *mt);
	while (off < len) {
		size_t vn, fold;
		const char *v;

		n = line_len(m + off, len - off);
		if (m[off] == '\n' || (m[off] == '\r' && n == 2))
			break;
		/* The field's value runs over its continuation lines. */
		for (fold = off + n;
		     fold < len && (m[fold] == ' ' || m[fold] == '\t');
		     fold += line_len(m + fold, len - fold))
			;
		if (top) {
			/* The block's lines come in order, Status: first. */
			for (k = next; k < TERN_NELEM(block_names); k++) {
				if (line_is(m + off, n, block_names[k]))
					break;
			}
			if (k == TERN_NELEM(block_names) ||
			    (next == 0 && k != 0))
				top = 0;
			else {
				next = k + 1;
				block = off + n;
				if (k == 3)
					mt->added = line_is(
					    m + off, n, "X-Tern-Eol: added");
			}
		}
		v = NULL;
		vn = fold - off;
		/* With tern's block at the top, it alone says (the message's
		 * own lines are its bytes); without, mutt's lines count. */
		if (!top && block > 0)
			;
		else if (vn >= 7 &&
		    ascii_strncasecmp(m + off, "Status:", 7) == 0)
			mt->flags |= status_flags(m + off + 7, n - 7, 0);
		else if (vn >= 9 &&
		    ascii_strncasecmp(m + off, "X-Status:", 9) == 0)
			mt->flags |= status_flags(m + off + 9, n - 9, 1);
		else if (vn >= 11 &&
		    ascii_strncasecmp(m + off, "X-Keywords:", 11) == 0)
			v = m + off + 11, vn -= 11;
		else if (vn >= 9 &&
		    ascii_strncasecmp(m + off, "Keywords:", 9) == 0)
			v = m + off + 9, vn -= 9;
		else if (vn >= 8 &&
		    ascii_strncasecmp(m + off, "X-Label:", 8) == 0)
			v = m + off + 8, vn -= 8;
		if (v != NULL)
			keyword_words(&c, v, vn);
		off = fold;
	}
	mt->skip = block;
	mt->flags |= c.add;
	if (c.nkw_add > 0)
		mt->keywords = core_keywords_apply(NULL, &c);
	core_flag_change_clear(&c);
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
			struct meta mt;

			if (end <= start) {
				ret = set_cause(cause,
				    "bad mbox: message %zu (at byte %zu) is "
				    "empty",
				    nmsg + 1, fl_off);
				break;
			}
			header_meta(d + start, end - start, &mt);
			/* Nothing but tern's lines: they are the message. */
			if (mt.skip == end - start)
				mt.skip = 0, mt.added = 0;
			if (memchr(d + start, '\n', end - start) == NULL) {
				free(mt.keywords);
				ret = set_cause(cause,
				    "bad mbox: message %zu has no header",
				    nmsg + 1);
				break;
			}
			nmsg++;
			if (cb != NULL) {
				struct archive_meta am;

				buf_reset(&msg);
				archive_mbox_unquote(&msg, d + start + mt.skip,
				    end - start - mt.skip, kind);
				/* Only the '\n' the writer said it added. */
				if (mt.added && msg.len > 1 &&
				    msg.data[msg.len - 1] == '\n')
					msg.data[--msg.len] = '\0';
				am.flags = mt.flags;
				am.keywords = mt.keywords;
				am.date = from_date(d + fl_off, fl_len - 1);
				ret = cb(arg, msg.data, msg.len, &am);
			}
			free(mt.keywords);
			if (ret != 0)
				break;
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
