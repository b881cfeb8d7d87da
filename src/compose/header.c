/*
 * Header fields: reading the few an original message contributes to a
 * reply or forward, decoding RFC 2047 words, parsing address lists, and
 * writing fields encoded and folded.
 *
 * Writing works on tokens that must not be split (words, encoded words,
 * "<addr>"), joined by single spaces and folded before a token that would
 * pass column 78. Control characters in a value become spaces, so no
 * value can start a new field.
 */
#include <stdlib.h>
#include <string.h>

#include "compose-private.h"
#include "tern/mime.h"

/* RFC 2047 says 75; mail in the wild is longer, but not this long. */
#define ENCODED_WORD_MAX 2048

int
compose_has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	}
	return 0;
}

size_t
compose_header_end(const char *raw, size_t len)
{
	size_t i = 0;

	/* The body starts after the first empty line. */
	while (i < len) {
		if (raw[i] == '\n')
			return i + 1;
		if (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')
			return i + 2;
		while (i < len && raw[i] != '\n')
			i++;
		if (i < len)
			i++;
	}
	return len;
}

void
compose_add_crlf(struct buf *out, const char *s, size_t len)
{
	size_t i = 0, run;

	while (i < len) {
		/* Copy the run up to the next line end in one go. */
		for (run = i; run < len && s[run] != '\r' && s[run] != '\n';
		     run++)
			;
		buf_add(out, s + i, run - i);
		if (run == len)
			break;
		if (s[run] == '\r' && run + 1 < len && s[run + 1] == '\n')
			run++;
		buf_add(out, "\r\n", 2);
		i = run + 1;
	}
}

char *
compose_header_get(const char *raw, size_t len, const char *name)
{
	size_t nlen = strlen(name), i = 0, end, start;
	struct buf b;

	end = compose_header_end(raw, len);
	if (end > COMPOSE_HEADER_MAX)
		end = COMPOSE_HEADER_MAX;
	while (i < end) {
		start = i;
		while (i < end && raw[i] != '\n')
			i++;
		if (i < end)
			i++;
		if (i - start <= nlen ||
		    ascii_strncasecmp(raw + start, name, nlen) != 0)
			continue;
		start += nlen;
		while (start < i && (raw[start] == ' ' || raw[start] == '\t'))
			start++;
		if (start >= i || raw[start] != ':')
			continue;
		start++;
		/* The value and its continuation lines, unfolded. */
		buf_init(&b, COMPOSE_HEADER_MAX);
		for (;;) {
			size_t e = i;

			while (e > start &&
			    (raw[e - 1] == '\n' || raw[e - 1] == '\r'))
				e--;
			buf_add(&b, raw + start, e - start);
			if (i >= end || (raw[i] != ' ' && raw[i] != '\t'))
				break;
			start = i;
			while (i < end && raw[i] != '\n')
				i++;
			if (i < end)
				i++;
		}
		/* Trim. */
		start = 0;
		while (start < b.len &&
		    (b.data[start] == ' ' || b.data[start] == '\t'))
			start++;
		while (b.len > start &&
		    (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
			b.data[--b.len] = '\0';
		{
			char *v = xstrndup(b.data + start, b.len - start);

			buf_free(&b);
			return v;
		}
	}
	return NULL;
}

char *
compose_header_decode(const char *value)
{
	char *d = mime_decode_header(value, strlen(value));
	char *v = text_visible_dup(d);

	free(d);
	return v;
}

/* Addresses. */

/* Copy s[0..len) without comments and with quoted strings unquoted. */
static char *
addr_clean(const char *s, size_t len, char **comment)
{
	struct buf b, c;
	size_t i;
	int depth = 0, quoted = 0;
	char *v;

	buf_init(&b, 0);
	buf_init(&c, 0);
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (quoted) {
			if (ch == '\\' && i + 1 < len)
				buf_addc(&b, s[++i]);
			else if (ch == '"')
				quoted = 0;
			else
				buf_addc(&b, ch);
		} else if (depth > 0) {
			if (ch == '\\' && i + 1 < len)
				buf_addc(&c, s[++i]);
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			else
				buf_addc(&c, ch);
		} else if (ch == '"')
			quoted = 1;
		else if (ch == '(')
			depth = 1;
		else
			buf_addc(&b, ch);
	}
	/* Trim and collapse white space. */
	v = xmalloc(b.len + 1);
	{
		size_t j = 0, k;
		int space = 0;

		for (k = 0; k < b.len; k++) {
			char ch = b.data[k];

			if (ch == ' ' || ch == '\t' || ch == '\r' ||
			    ch == '\n') {
				space = j > 0;
				continue;
			}
			if (space)
				v[j++] = ' ';
			space = 0;
			v[j++] = ch;
		}
		v[j] = '\0';
	}
	if (comment != NULL)
		*comment = c.len > 0 ? xstrdup(c.data) : NULL;
	buf_free(&b);
	buf_free(&c);
	return v;
}

static void
addr_one(const char *s, size_t len, struct compose_addr **v, size_t *n)
{
	size_t i, lt = len, gt = len;
	int quoted = 0, depth = 0;
	char *name = NULL, *spec, *comment = NULL;

	for (i = 0; i < len; i++) {
		if (quoted) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				quoted = 0;
		} else if (depth > 0) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
		} else if (s[i] == '"')
			quoted = 1;
		else if (s[i] == '(')
			depth = 1;
		else if (s[i] == '<' && lt == len)
			lt = i;
		else if (s[i] == '>' && lt != len && gt == len)
			gt = i;
	}
	if (lt != len) {
		name = addr_clean(s, lt, NULL);
		spec = addr_clean(
		    s + lt + 1, (gt == len ? len : gt) - lt - 1, NULL);
	} else {
		spec = addr_clean(s, len, &comment);
		name = comment;
	}
	if (name != NULL && *name == '\0') {
		free(name);
		name = NULL;
	}
	/* White space inside an addr-spec is never meant. */
	if (*spec == '\0' || strpbrk(spec, " \t") != NULL) {
		free(name);
		free(spec);
		return;
	}
	if (*n >= COMPOSE_ADDR_MAX) {
		free(name);
		free(spec);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[*n].name = name;
	(*v)[*n].spec = spec;
	(*n)++;
}

void
compose_addr_parse(const char *list, struct compose_addr **v, size_t *n)
{
	size_t i, start = 0, len;
	int quoted = 0, depth = 0, angle = 0;

	*v = NULL;
	*n = 0;
	if (list == NULL)
		return;
	len = strlen(list);
	for (i = 0; i <= len; i++) {
		char ch = i < len ? list[i] : ',';

		if (quoted) {
			if (ch == '\\' && i + 1 < len)
				i++;
			else if (ch == '"')
				quoted = 0;
			continue;
		}
		if (depth > 0) {
			if (ch == '\\' && i + 1 < len)
				i++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			continue;
		}
		if (ch == '"')
			quoted = 1;
		else if (ch == '(')
			depth = 1;
		else if (ch == '<')
			angle = 1;
		else if (ch == '>')
			angle = 0;
		else if (ch == ':' && !angle) {
			/* "group: a, b;" -- the group's name is not an
			 * address. */
			start = i + 1;
		} else if ((ch == ',' || ch == ';') && !angle) {
			if (i > start)
				addr_one(list + start, i - start, v, n);
			start = i + 1;
		}
	}
}

void
compose_addr_free(struct compose_addr *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].spec);
	}
	free(v);
}

char *
compose_addr_format(const char *name, const char *spec)
{
	struct buf b;
	const char *p;

	if (name == NULL || *name == '\0')
		return xstrdup(spec);
	if (strpbrk(name, "()<>[]:;@\\,.\"") == NULL)
		return xasprintf("%s <%s>", name, spec);
	buf_init(&b, 0);
	buf_addc(&b, '"');
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	buf_printf(&b, "\" <%s>", spec);
	return buf_steal(&b, NULL);
}

char **
compose_addr_list(const char *list)
{
	struct compose_addr *v;
	char **out;
	size_t n, i;

	compose_addr_parse(list, &v, &n);
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++) {
		out[i] = v[i].spec;
		v[i].spec = NULL;
	}
	compose_addr_free(v, n);
	return out;
}

char *
compose_addr_first_name(const char *list)
{
	struct compose_addr *v;
	char *name = NULL;
	size_t n;

	compose_addr_parse(list, &v, &n);
	if (n > 0 && v[0].name != NULL && v[0].name[0] != '\0')
		name = xstrdup(v[0].name);
	else if (n > 0 && v[0].spec != NULL)
		name = xstrdup(v[0].spec);
	compose_addr_free(v, n);
	return name;
}

char *
compose_addr_spec(const char *address)
{
	char **v = compose_addr_list(address);
	char *spec = v[0] != NULL ? xstrdup(v[0]) : NULL;

	compose_strv_free(v);
	return spec;
}

void
compose_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Writing. */

struct tokens {
	char **v;
	size_t n;
};

static void
tok_add(struct tokens *t, char *s)
{
	t->v = xreallocarray(t->v, t->n + 1, sizeof *t->v);
	t->v[t->n++] = s;
}

/* Length of the UTF-8 sequence that starts with byte c. */
static size_t
utf8_seqlen(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * Encoded words for s, each at most 75 characters: 45 bytes of text make
 * 60 of base64, and a UTF-8 sequence is never split between two words.
 */
static void
tok_encode(struct tokens *t, const char *s, size_t len)
{
	size_t i = 0, chunk, sl;
	struct buf b;

	while (i < len) {
		chunk = 0;
		while (i + chunk < len) {
			sl = utf8_seqlen((unsigned char)s[i + chunk]);
			if (chunk + sl > 45)
				break;
			chunk += sl;
		}
		if (chunk == 0)
			chunk = len - i < 45 ? len - i : 45;
		if (i + chunk > len)
			chunk = len - i;
		buf_init(&b, 0);
		buf_adds(&b, "=?utf-8?B?");
		compose_base64_encode(&b, s + i, chunk);
		buf_adds(&b, "?=");
		tok_add(t, buf_steal(&b, NULL));
		i += chunk;
	}
}

/* A word needs encoding for 8-bit bytes, length or a look of "=?". */
static int
word_needs_encoding(const char *w, size_t len)
{
	return compose_has_8bit(w, len) || len > 76 ||
	    (len >= 2 && memmem(w, len, "=?", 2) != NULL);
}

/*
 * Unstructured text: words as they are, runs of words that need encoding
 * as encoded words (with the spaces between them inside).
 */
static void
tok_text(struct tokens *t, const char *s)
{
	char *clean = xstrdup(s), *p, **words = NULL;
	size_t nw = 0, i, j;

	for (p = clean; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	for (p = strtok(clean, " "); p != NULL; p = strtok(NULL, " ")) {
		words = xreallocarray(words, nw + 1, sizeof *words);
		words[nw++] = p;
	}
	for (i = 0; i < nw; i = j) {
		if (!word_needs_encoding(words[i], strlen(words[i]))) {
			tok_add(t, xstrdup(words[i]));
			j = i + 1;
			continue;
		}
		{
			struct buf run;

			buf_init(&run, 0);
			for (j = i; j < nw &&
			     word_needs_encoding(words[j], strlen(words[j]));
			     j++) {
				if (j > i)
					buf_addc(&run, ' ');
				buf_adds(&run, words[j]);
			}
			tok_encode(t, run.data, run.len);
			buf_free(&run);
		}
	}
	free(words);
	free(clean);
}

static void
tok_addresses(struct tokens *t, const char *list)
{
	struct compose_addr *v;
	size_t n, i;
	char *last;

	compose_addr_parse(list, &v, &n);
	for (i = 0; i < n; i++) {
		const char *name = v[i].name;

		if (name != NULL) {
			for (char *p = v[i].name; *p != '\0'; p++) {
				if ((unsigned char)*p < 0x20 || *p == 0x7f)
					*p = ' ';
			}
			if (compose_has_8bit(name, strlen(name)))
				tok_encode(t, name, strlen(name));
			else if (strpbrk(name, "()<>[]:;@\\,.\"") != NULL) {
				char *q = compose_addr_format(name, "x");

				/* The quoted string, without " <x>". */
				q[strlen(q) - 4] = '\0';
				tok_add(t, q);
			} else
				tok_text(t, name);
			tok_add(t, xasprintf("<%s>", v[i].spec));
		} else
			tok_add(t, xstrdup(v[i].spec));
		if (i + 1 < n) {
			last = t->v[t->n - 1];
			t->v[t->n - 1] = xasprintf("%s,", last);
			free(last);
		}
	}
	compose_addr_free(v, n);
}

void
compose_header_add(
    struct buf *out, const char *name, const char *value, int addresses)
{
	struct tokens t = { NULL, 0 };
	size_t col, i, len;

	if (addresses)
		tok_addresses(&t, value);
	else
		tok_text(&t, value);
	buf_printf(out, "%s:", name);
	col = strlen(name) + 1;
	for (i = 0; i < t.n; i++) {
		len = strlen(t.v[i]);
		if (i > 0 && col + 1 + len > 78) {
			buf_adds(out, "\r\n");
			col = 0;
		}
		buf_addc(out, ' ');
		buf_adds(out, t.v[i]);
		col += 1 + len;
		free(t.v[i]);
	}
	buf_adds(out, "\r\n");
	free(t.v);
}
