/*
 * HTML to readable text, built in: paragraphs and line breaks, headings,
 * lists (bullets and numbers, nested), block quotes as "> ", preformatted
 * text kept, tables a row per line, images by their alt text, links
 * numbered in the text and listed at the end, entities decoded, scripts,
 * styles and comments dropped.
 *
 * One pass, no tree: a stack of open lists and a quote depth are all the
 * state, both bounded. Paragraph text is collected, then wrapped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

#define HTML_MAX_LISTS 16
#define HTML_MAX_LINKS 1000
#define HTML_MAX_QUOTE 16

struct html {
	struct buf *out;
	unsigned width;
	struct buf para; /* inline text of the current paragraph */
	int space; /* a collapsed space is pending */
	int blank; /* a blank line is wanted before the next block */
	int pre;
	int quote;
	int lists[HTML_MAX_LISTS]; /* 0: bullets, >0: next number */
	int nlists;
	int indent; /* extra indent for list item continuation */
	char *href; /* the open link */
	size_t link_start;
	char **links;
	size_t nlinks;
	int skip; /* inside script/style/title: the tag that ends it */
	char skipname[16];
	size_t start; /* out->len when we began */
	size_t hang; /* width of the list marker starting the paragraph */
};

static void
put_utf8(struct buf *b, uint32_t c)
{
	char s[4];

	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		(void)buf_adds(b, "\xef\xbf\xbd");
		return;
	}
	if (c < 0x80) {
		(void)buf_addc(b, (char)c);
	} else if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		(void)buf_add(b, s, 2);
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		(void)buf_add(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | (c >> 18));
		s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		(void)buf_add(b, s, 4);
	}
}

static const struct {
	const char *name;
	uint32_t c;
} entities[] = {
	{ "amp", '&' },
	{ "lt", '<' },
	{ "gt", '>' },
	{ "quot", '"' },
	{ "apos", '\'' },
	{ "nbsp", 0xa0 },
	{ "copy", 0xa9 },
	{ "reg", 0xae },
	{ "trade", 0x2122 },
	{ "mdash", 0x2014 },
	{ "ndash", 0x2013 },
	{ "hellip", 0x2026 },
	{ "lsquo", 0x2018 },
	{ "rsquo", 0x2019 },
	{ "ldquo", 0x201c },
	{ "rdquo", 0x201d },
	{ "laquo", 0xab },
	{ "raquo", 0xbb },
	{ "bull", 0x2022 },
	{ "middot", 0xb7 },
	{ "euro", 0x20ac },
	{ "pound", 0xa3 },
	{ "yen", 0xa5 },
	{ "cent", 0xa2 },
	{ "deg", 0xb0 },
	{ "times", 0xd7 },
	{ "divide", 0xf7 },
	{ "sect", 0xa7 },
	{ "para", 0xb6 },
	{ "shy", 0xad },
	{ "zwnj", 0x200c },
	{ "zwj", 0x200d },
	{ "iexcl", 0xa1 },
	{ "iquest", 0xbf },
	{ "auml", 0xe4 },
	{ "ouml", 0xf6 },
	{ "uuml", 0xfc },
	{ "Auml", 0xc4 },
	{ "Ouml", 0xd6 },
	{ "Uuml", 0xdc },
	{ "szlig", 0xdf },
	{ "eacute", 0xe9 },
	{ "egrave", 0xe8 },
	{ "ecirc", 0xea },
	{ "Eacute", 0xc9 },
	{ "aacute", 0xe1 },
	{ "agrave", 0xe0 },
	{ "acirc", 0xe2 },
	{ "iacute", 0xed },
	{ "oacute", 0xf3 },
	{ "uacute", 0xfa },
	{ "ntilde", 0xf1 },
	{ "ccedil", 0xe7 },
	{ "aring", 0xe5 },
	{ "oslash", 0xf8 },
	{ "aelig", 0xe6 },
	{ "larr", 0x2190 },
	{ "rarr", 0x2192 },
	{ "uarr", 0x2191 },
	{ "darr", 0x2193 },
	{ "hearts", 0x2665 },
	{ "check", 0x2713 },
};

/* Decode the entity at s (after '&'); returns bytes used, 0 if none. */
static size_t
entity(const char *s, size_t len, struct buf *b)
{
	size_t i = 0, k;
	char name[12];

	if (len > 0 && s[0] == '#') {
		uint32_t c = 0;
		int hex = len > 1 && (s[1] == 'x' || s[1] == 'X');
		size_t d = 0;

		i = hex ? 2 : 1;
		for (; i < len && d < 8; i++, d++) {
			int v;

			if (s[i] >= '0' && s[i] <= '9')
				v = s[i] - '0';
			else if (hex && s[i] >= 'a' && s[i] <= 'f')
				v = s[i] - 'a' + 10;
			else if (hex && s[i] >= 'A' && s[i] <= 'F')
				v = s[i] - 'A' + 10;
			else
				break;
			c = c * (hex ? 16 : 10) + (uint32_t)v;
		}
		if (d == 0)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		/* Windows-1252 numbers are what such pages mean. */
		if (c >= 0x80 && c < 0xa0) {
			struct buf t;
			char ch = (char)c;

			buf_init(&t, 0);
			mime_charset_convert("windows-1252", &ch, 1, &t);
			(void)buf_add(b, t.data, t.len);
			buf_free(&t);
		} else
			put_utf8(b, c);
		return i;
	}
	while (i < len && i < sizeof name - 1 &&
	    ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	        (s[i] >= '0' && s[i] <= '9'))) {
		name[i] = s[i];
		i++;
	}
	name[i] = '\0';
	if (i == 0)
		return 0;
	for (k = 0; k < TERN_NELEM(entities); k++) {
		if (strcmp(name, entities[k].name) == 0) {
			put_utf8(b, entities[k].c);
			if (i < len && s[i] == ';')
				i++;
			return i;
		}
	}
	return 0;
}

static size_t
utf8_columns(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static void
prefix(struct html *h, struct buf *b)
{
	int i;

	for (i = 0; i < h->quote; i++)
		(void)buf_addc(b, '>');
	if (h->quote > 0)
		(void)buf_addc(b, ' ');
	for (i = 0; i < h->indent; i++)
		(void)buf_addc(b, ' ');
}

/* Wrap text at width with the current prefix; words longer stay whole. */
void
mime_wrap(struct buf *out, const char *text, size_t len, unsigned width,
    const char *pfx, size_t pfxlen, size_t hang)
{
	size_t i = 0, col = 0, pcols = utf8_columns(pfx, pfxlen), k;
	int linestart = 1, first = 1;

	while (i < len) {
		size_t j = i, wcols;

		while (j < len && text[j] != ' ')
			j++;
		wcols = utf8_columns(text + i, j - i);
		if (!linestart && width > 0 && col + 1 + wcols > width) {
			(void)buf_addc(out, '\n');
			linestart = 1;
		}
		if (linestart) {
			(void)buf_add(out, pfx, pfxlen);
			col = pcols;
			if (!first) {
				/* Continuation lines of a list item hang. */
				for (k = 0; k < hang; k++)
					(void)buf_addc(out, ' ');
				col += hang;
			}
			linestart = 0;
			first = 0;
		} else {
			(void)buf_addc(out, ' ');
			col++;
		}
		(void)buf_add(out, text + i, j - i);
		col += wcols;
		i = j;
		while (i < len && text[i] == ' ')
			i++;
	}
	if (!linestart)
		(void)buf_addc(out, '\n');
}

static void
flush_para(struct html *h)
{
	struct buf pfx;

	/* Trim the paragraph; nothing to do if it is empty. */
	while (h->para.len > 0 && h->para.data[h->para.len - 1] == ' ')
		h->para.data[--h->para.len] = '\0';
	h->space = 0;
	if (h->para.len == 0)
		return;
	if (h->blank && h->out->len > h->start)
		(void)buf_addc(h->out, '\n');
	h->blank = 0;
	buf_init(&pfx, 0);
	prefix(h, &pfx);
	mime_wrap(h->out, h->para.data, h->para.len, h->width,
	    pfx.data ? pfx.data : "", pfx.len, h->hang);
	h->hang = 0;
	buf_free(&pfx);
	buf_reset(&h->para);
}

static void
add_text(struct html *h, const char *s, size_t len)
{
	size_t i;

	if (h->skip)
		return;
	if (h->pre) {
		for (i = 0; i < len; i++) {
			if (s[i] == '\n') {
				struct buf pfx;

				if (h->blank && h->out->len > h->start)
					(void)buf_addc(h->out, '\n');
				h->blank = 0;
				buf_init(&pfx, 0);
				prefix(h, &pfx);
				(void)buf_add(
				    h->out, pfx.data ? pfx.data : "", pfx.len);
				buf_free(&pfx);
				(void)buf_add(h->out,
				    h->para.data ? h->para.data : "",
				    h->para.len);
				(void)buf_addc(h->out, '\n');
				buf_reset(&h->para);
			} else if (s[i] != '\r')
				(void)buf_addc(&h->para, s[i]);
		}
		return;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			h->space = 1;
			continue;
		}
		if (h->space && h->para.len > 0)
			(void)buf_addc(&h->para, ' ');
		h->space = 0;
		(void)buf_addc(&h->para, c);
	}
}

static void
block(struct html *h, int blank)
{
	if (h->pre && h->para.len > 0) {
		add_text(h, "\n", 1);
	}
	flush_para(h);
	if (blank)
		h->blank = 1;
}

/* The value of attribute name in the tag text [s, s+len), or NULL. */
static char *
attr(const char *s, size_t len, const char *name)
{
	size_t i = 0, nl = strlen(name);

	while (i < len) {
		size_t a, e;

		while (i < len &&
		    (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		        s[i] == '\r' || s[i] == '/'))
			i++;
		a = i;
		while (i < len && s[i] != '=' && s[i] != ' ' && s[i] != '\t' &&
		    s[i] != '\n' && s[i] != '\r' && s[i] != '>')
			i++;
		e = i;
		while (i < len &&
		    (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		        s[i] == '\r'))
			i++;
		if (i < len && s[i] == '=') {
			size_t vs, ve;

			i++;
			while (i < len && (s[i] == ' ' || s[i] == '\t'))
				i++;
			if (i < len && (s[i] == '"' || s[i] == '\'')) {
				char q = s[i++];

				vs = i;
				while (i < len && s[i] != q)
					i++;
				ve = i;
				if (i < len)
					i++;
			} else {
				vs = i;
				while (i < len && s[i] != ' ' && s[i] != '\t' &&
				    s[i] != '\n' && s[i] != '>')
					i++;
				ve = i;
			}
			if (e - a == nl &&
			    ascii_strncasecmp(s + a, name, nl) == 0) {
				struct buf v;
				size_t k;

				buf_init(&v, 0);
				for (k = vs; k < ve; k++) {
					size_t n;

					if (s[k] == '&' &&
					    (n = entity(s + k + 1, ve - k - 1,
					         &v)) > 0) {
						k += n;
						continue;
					}
					(void)buf_addc(&v, s[k]);
				}
				return buf_steal(&v, NULL);
			}
		} else if (e == a)
			i++;
	}
	return NULL;
}

static int
is(const char *name, const char *const *set)
{
	for (; *set != NULL; set++) {
		if (strcmp(name, *set) == 0)
			return 1;
	}
	return 0;
}

static void
tag(struct html *h, const char *name, int close, const char *s, size_t len)
{
	static const char *const blocks[] = { "p", "div", "h1", "h2", "h3",
		"h4", "h5", "h6", "table", "dl", "section", "article", "header",
		"footer", "center", "form", "address", "main", "nav", "aside",
		"figure", "fieldset", NULL };
	static const char *const lines[] = { "tr", "dt", "dd", "caption",
		"thead", "tbody", "tfoot", "option", NULL };
	static const char *const skips[] = { "script", "style", "title",
		"template", "noscript", "xml", "head", NULL };

	if (h->skip) {
		if (close && strcmp(name, h->skipname) == 0)
			h->skip = 0;
		/* <head> holds no text but often no </head> either. */
		if (strcmp(h->skipname, "head") == 0 && !close &&
		    strcmp(name, "body") == 0)
			h->skip = 0;
		return;
	}
	if (!close && is(name, skips)) {
		if (strcmp(name, "head") == 0) {
			/* Only its title, scripts and styles hold text. */
			return;
		}
		h->skip = 1;
		snprintf(h->skipname, sizeof h->skipname, "%s", name);
		return;
	}
	if (strcmp(name, "br") == 0) {
		if (h->pre)
			add_text(h, "\n", 1);
		else
			flush_para(h);
		return;
	}
	if (is(name, blocks)) {
		block(h, 1);
		return;
	}
	if (is(name, lines)) {
		block(h, 0);
		return;
	}
	if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
		if (!close && h->para.len > 0 && !h->skip) {
			/* Cells apart by a tab, whatever the source had. */
			while (h->para.len > 0 &&
			    h->para.data[h->para.len - 1] == ' ')
				h->para.len--;
			(void)buf_addc(&h->para, '\t');
			h->space = 0;
		}
		return;
	}
	if (strcmp(name, "pre") == 0) {
		block(h, 1);
		h->pre = !close;
		return;
	}
	if (strcmp(name, "blockquote") == 0) {
		block(h, 1);
		if (!close && h->quote < HTML_MAX_QUOTE)
			h->quote++;
		else if (close && h->quote > 0)
			h->quote--;
		return;
	}
	if (strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0) {
		/* A blank line around the outermost list only. */
		block(h, close ? h->nlists <= 1 : h->nlists == 0);
		if (!close) {
			if (h->nlists < HTML_MAX_LISTS) {
				char *start = attr(s, len, "start");
				uint64_t v = 1;

				if (start == NULL ||
				    parse_uint64(
				        start, strlen(start), 100000, &v) != 0)
					v = 1;
				free(start);
				h->lists[h->nlists] =
				    name[0] == 'o' ? (int)v : 0;
			}
			h->nlists++;
		} else if (h->nlists > 0)
			h->nlists--;
		h->indent = h->nlists > 0 ? 2 *
		        (h->nlists < HTML_MAX_LISTS ? h->nlists
		                                    : HTML_MAX_LISTS)
		                          : 0;
		return;
	}
	if (strcmp(name, "li") == 0) {
		if (close) {
			block(h, 0);
			return;
		}
		block(h, 0);
		{
			int l = h->nlists > 0
			    ? (h->nlists <= HTML_MAX_LISTS ? h->nlists
			                                   : HTML_MAX_LISTS) -
			        1
			    : -1;
			int saved = h->indent;
			char mark[32];

			if (l >= 0 && h->lists[l] > 0)
				snprintf(
				    mark, sizeof mark, "%d. ", h->lists[l]++);
			else
				snprintf(mark, sizeof mark, "* ");
			/* The marker hangs in the indent. */
			h->indent = saved > 2 ? saved - 2 : 0;
			(void)buf_adds(&h->para, mark);
			h->hang = strlen(mark);
			h->indent = saved;
			h->space = 0;
		}
		return;
	}
	if (strcmp(name, "hr") == 0) {
		block(h, 1);
		add_text(h, "----------", 10);
		block(h, 1);
		return;
	}
	if (strcmp(name, "img") == 0 && !close) {
		char *alt = attr(s, len, "alt");

		if (alt != NULL && *alt != '\0') {
			add_text(h, "[", 1);
			add_text(h, alt, strlen(alt));
			add_text(h, "]", 1);
		}
		free(alt);
		return;
	}
	if (strcmp(name, "a") == 0) {
		if (!close) {
			free(h->href);
			h->href = attr(s, len, "href");
			/* The pending space is not part of the link's text. */
			if (h->space && h->para.len > 0 && !h->pre) {
				(void)buf_addc(&h->para, ' ');
				h->space = 0;
			}
			h->link_start = h->para.len;
			return;
		}
		if (h->href != NULL && *h->href != '\0' && h->href[0] != '#' &&
		    ascii_strncasecmp(h->href, "javascript:", 11) != 0 &&
		    h->nlinks < HTML_MAX_LINKS) {
			size_t tl = h->para.len -
			    (h->link_start <= h->para.len ? h->link_start
			                                  : h->para.len);
			const char *t =
			    h->para.data ? h->para.data + h->para.len - tl : "";
			size_t hl = strlen(h->href);

			/* A link whose text is its address needs no number. */
			if (!(tl == hl && memcmp(t, h->href, hl) == 0) &&
			    !(hl > 7 &&
			        ascii_strncasecmp(h->href, "mailto:", 7) == 0 &&
			        tl == hl - 7 &&
			        memcmp(t, h->href + 7, tl) == 0)) {
				char n[32];

				h->links = xreallocarray(
				    h->links, h->nlinks + 1, sizeof *h->links);
				h->links[h->nlinks++] = h->href;
				h->href = NULL;
				snprintf(n, sizeof n, "[%zu]", h->nlinks);
				h->space = 0;
				(void)buf_adds(&h->para, n);
			}
		}
		free(h->href);
		h->href = NULL;
		return;
	}
}

void
mime_html_to_text(const char *s, size_t len, unsigned width, struct buf *out)
{
	struct html h;
	size_t i = 0, t = 0, k;

	memset(&h, 0, sizeof h);
	h.out = out;
	h.start = out->len;
	h.width = width;
	buf_init(&h.para, 0);
	while (i < len) {
		if (s[i] == '<') {
			size_t j = i + 1, ns, ne;
			char name[16];
			int close = 0;

			add_text(&h, s + t, i - t);
			if (len - j >= 3 && memcmp(s + j, "!--", 3) == 0) {
				/* A comment runs to "-->". */
				const char *e = NULL;
				size_t k2;

				for (k2 = j + 3; k2 + 2 < len; k2++) {
					if (s[k2] == '-' && s[k2 + 1] == '-' &&
					    s[k2 + 2] == '>') {
						e = s + k2;
						break;
					}
				}
				i = e ? (size_t)(e - s) + 3 : len;
				t = i;
				continue;
			}
			if (j < len && s[j] == '/') {
				close = 1;
				j++;
			}
			ns = j;
			while (j < len && j - ns < sizeof name - 1 &&
			    ((s[j] >= 'a' && s[j] <= 'z') ||
			        (s[j] >= 'A' && s[j] <= 'Z') ||
			        (s[j] >= '0' && s[j] <= '9')))
				j++;
			ne = j;
			if (ne == ns &&
			    !(j < len && (s[j] == '!' || s[j] == '?'))) {
				/* "<" that opens no tag is text. */
				add_text(&h, "<", 1);
				i++;
				t = i;
				continue;
			}
			/* To the closing '>', quotes respected. */
			{
				char q = 0;

				while (j < len && (q || s[j] != '>')) {
					if (q && s[j] == q)
						q = 0;
					else if (!q &&
					    (s[j] == '"' || s[j] == '\'') &&
					    s[j - 1] == '=')
						q = s[j];
					j++;
				}
			}
			for (k = 0; k < ne - ns; k++) {
				char c = s[ns + k];

				name[k] =
				    c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
			}
			name[k] = '\0';
			if (k > 0)
				tag(&h, name, close, s + ne, j - ne);
			i = j < len ? j + 1 : len;
			t = i;
			continue;
		}
		if (s[i] == '&' && !h.skip) {
			struct buf e;
			size_t n;

			buf_init(&e, 0);
			if ((n = entity(s + i + 1, len - i - 1, &e)) > 0) {
				add_text(&h, s + t, i - t);
				/* nbsp must not collapse: add it as is. */
				if (h.space && h.para.len > 0 && !h.pre)
					(void)buf_addc(&h.para, ' ');
				h.space = 0;
				if (h.pre)
					add_text(&h, e.data, e.len);
				else
					(void)buf_add(&h.para, e.data, e.len);
				i += 1 + n;
				t = i;
				buf_free(&e);
				continue;
			}
			buf_free(&e);
		}
		i++;
	}
	add_text(&h, s + t, i - t);
	if (h.pre && h.para.len > 0)
		add_text(&h, "\n", 1);
	flush_para(&h);
	if (h.nlinks > 0) {
		(void)buf_addc(out, '\n');
		for (k = 0; k < h.nlinks; k++) {
			(void)buf_printf(out, "[%zu] %s\n", k + 1, h.links[k]);
			free(h.links[k]);
		}
	}
	free(h.links);
	free(h.href);
	buf_free(&h.para);
}
