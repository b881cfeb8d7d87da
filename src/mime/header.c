/*
 * RFC 5322 header blocks: splitting into fields, unfolding, and the
 * decodings header values need (RFC 2047 encoded words, RFC 2045/2231
 * parameters, message ids).
 *
 * The splitter is one pass over the bytes. It accepts CRLF or LF, an mbox
 * "From " line in front, "Name : value" (obsolete syntax), and raw 8-bit
 * bytes; a line that cannot be a field ends the header, as it does in
 * the mailers that wrote such mail.
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void
mime_header_parse(const char *raw, size_t len, struct mime_header *h)
{
	size_t i = 0, cap = 0;
	struct mime_field *cur = NULL;
	int dropping = 0; /* the current field is one not kept */

	h->v = NULL;
	h->n = 0;
	h->omitted = 0;
	h->body = len;
	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);

		i = nl ? (size_t)(nl - raw) + 1 : len;
	}
	while (i < len) {
		const char *nl = memchr(raw + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - raw) : len;
		size_t ce = e, next = nl ? e + 1 : len, j, colon;

		if (ce > i && raw[ce - 1] == '\r')
			ce--;
		/* A blank (or whitespace-only) line ends the header. */
		for (j = i; j < ce && is_wsp(raw[j]); j++)
			;
		if (j == ce) {
			h->body = next;
			goto out;
		}
		/*
		 * Past the limit the fields are not kept, but the header still
		 * runs to its blank line: its lines are counted, for a note,
		 * never shown as the body.
		 */
		if (i >= MIME_MAX_HEADER) {
			cur = NULL;
			dropping = 1;
		} else if (ce > MIME_MAX_HEADER) {
			/* No field kept reaches past the limit, however long
			 * its line. */
			ce = MIME_MAX_HEADER;
		}
		if (is_wsp(raw[i])) {
			/* A continuation line. */
			if (cur != NULL)
				cur->valuelen = (size_t)(raw + ce - cur->value);
			else if (dropping)
				h->omitted++;
			i = next;
			continue;
		}
		for (colon = i; colon < ce; colon++) {
			unsigned char c = (unsigned char)raw[colon];

			if (c == ':' || c <= ' ' || c >= 0x7f)
				break;
		}
		/* "Name : value" is obsolete syntax but still seen. */
		j = colon;
		while (j < ce && is_wsp(raw[j]))
			j++;
		if (colon == i || j >= ce || raw[j] != ':') {
			/* Not a field: the body starts here. */
			h->body = i;
			goto out;
		}
		cur = NULL;
		dropping = i >= MIME_MAX_HEADER || h->n >= MIME_MAX_FIELDS;
		if (dropping)
			h->omitted++;
		else {
			if (h->n == cap) {
				cap = cap ? cap * 2 : 16;
				h->v = xreallocarray(h->v, cap, sizeof *h->v);
			}
			cur = &h->v[h->n++];
			cur->name = raw + i;
			cur->namelen = colon - i;
			cur->value = raw + j + 1;
			cur->valuelen = ce - (j + 1);
		}
		i = next;
	}
	h->body = len;
out:
	return;
}

void
mime_header_free(struct mime_header *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

const struct mime_field *
mime_header_find(const struct mime_header *h, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->n; i++) {
		if (h->v[i].namelen == n &&
		    ascii_strncasecmp(h->v[i].name, name, n) == 0)
			return &h->v[i];
	}
	return NULL;
}

char *
mime_field_unfold(const struct mime_field *f, size_t *lenp)
{
	char *out = xmalloc(f->valuelen + 1);
	size_t i, o = 0, start;

	if (memchr(f->value, '\n', f->valuelen) == NULL &&
	    memchr(f->value, '\r', f->valuelen) == NULL) {
		/* Not folded, the usual case. */
		memcpy(out, f->value, f->valuelen);
		o = f->valuelen;
	} else {
		for (i = 0; i < f->valuelen; i++) {
			char c = f->value[i];

			if (c == '\r' || c == '\n')
				continue;
			out[o++] = c;
		}
	}
	/* Trim. */
	start = 0;
	while (start < o && is_wsp(out[start]))
		start++;
	while (o > start && is_wsp(out[o - 1]))
		o--;
	if (start > 0)
		memmove(out, out + start, o - start);
	o -= start;
	out[o] = '\0';
	if (lenp != NULL)
		*lenp = o;
	return out;
}

char *
mime_header_get(const struct mime_header *h, const char *name, size_t *lenp)
{
	const struct mime_field *f = mime_header_find(h, name);

	if (f == NULL)
		return NULL;
	return mime_field_unfold(f, lenp);
}

/* Transfer decodings. */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

void
mime_decode_base64_part(
    struct mime_b64 *st, const char *s, size_t len, struct buf *out)
{
	unsigned char tmp[3072];
	size_t i, t = 0;
	uint32_t acc = st->acc;
	int bits = st->bits;

	/*
	 * Skip anything that is not in the alphabet (line breaks, junk,
	 * padding in the middle where two encodings were concatenated) and
	 * keep the bits that are there: that reads broken padding too.
	 */
	for (i = 0; i < len; i++) {
		int v = b64val(s[i]);

		if (v < 0) {
			if (s[i] == '=')
				bits = 0, acc = 0;
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			tmp[t++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			if (t == sizeof tmp) {
				(void)buf_add(out, tmp, t);
				t = 0;
			}
		}
	}
	(void)buf_add(out, tmp, t);
	st->acc = acc;
	st->bits = bits;
}

void
mime_decode_base64(const char *s, size_t len, struct buf *out)
{
	struct mime_b64 st = { 0, 0 };

	mime_decode_base64_part(&st, s, len, out);
}

void
mime_decode_qp(const char *s, size_t len, struct buf *out, int header)
{
	size_t i = 0, start = 0;

	while (i < len) {
		char c = s[i];

		if (c == '_' && header) {
			(void)buf_add(out, s + start, i - start);
			(void)buf_addc(out, ' ');
			start = ++i;
			continue;
		}
		if (c == ' ' || c == '\t') {
			/* Trailing whitespace on a line is padding (RFC 2045). */
			size_t j = i;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (!header &&
			    (j == len || s[j] == '\n' ||
			        (s[j] == '\r' && j + 1 < len &&
			            s[j + 1] == '\n'))) {
				(void)buf_add(out, s + start, i - start);
				start = j;
			}
			i = j;
			continue;
		}
		if (c != '=') {
			i++;
			continue;
		}
		(void)buf_add(out, s + start, i - start);
		if (i + 2 < len && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			(void)buf_addc(out,
			    (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 3;
		} else if (!header) {
			/* A soft break: "=", optional spaces, then EOL. */
			size_t j = i + 1;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < len && s[j] == '\r')
				j++;
			if (j < len && s[j] == '\n')
				i = j + 1;
			else if (j >= len)
				i = len;
			else {
				/* Broken: keep the "=" literally. */
				(void)buf_addc(out, '=');
				i++;
			}
		} else {
			(void)buf_addc(out, '=');
			i++;
		}
		start = i;
	}
	(void)buf_add(out, s + start, i - start);
}

/* RFC 2047. */

struct words {
	struct buf *out;
	struct buf pend; /* decoded bytes of adjacent words, one charset */
	char cs[48];
	struct buf raw; /* undeclared text */
};

static void
words_flush(struct words *w)
{
	if (w->pend.len > 0)
		mime_charset_convert(w->cs, w->pend.data, w->pend.len, w->out);
	buf_reset(&w->pend);
	w->cs[0] = '\0';
	if (w->raw.len > 0)
		mime_charset_convert(NULL, w->raw.data, w->raw.len, w->out);
	buf_reset(&w->raw);
}

/*
 * Try an encoded word "=?charset[*lang]?B|Q?text?=" at s; returns its
 * length and fills cs/enc/text, or 0. The scan stops at the third '?', so
 * repeated attempts stay linear.
 */
static size_t
word_parse(const char *s, size_t len, char *cs, size_t cssize, char *enc,
    const char **text, size_t *textlen)
{
	size_t i = 2, csend, star;

	if (len < 2 || s[0] != '=' || s[1] != '?')
		return 0;
	while (i < len && s[i] != '?' && !is_space(s[i]))
		i++;
	if (i >= len || s[i] != '?' || i == 2)
		return 0;
	csend = i;
	if (i + 2 >= len || s[i + 2] != '?')
		return 0;
	*enc = s[i + 1];
	if (*enc != 'B' && *enc != 'b' && *enc != 'Q' && *enc != 'q')
		return 0;
	i += 3;
	*text = s + i;
	while (i < len && s[i] != '?' && !is_space(s[i]))
		i++;
	if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=')
		return 0;
	*textlen = (size_t)(s + i - *text);
	/* RFC 2231 language: "utf-8*en". */
	for (star = 2; star < csend && s[star] != '*'; star++)
		;
	if (star - 2 >= cssize)
		return 0;
	memcpy(cs, s + 2, star - 2);
	cs[star - 2] = '\0';
	return i + 2;
}

/*
 * Is the text of a word well encoded? A base64 word with characters out
 * of its alphabet, or a Q word with a broken "=XX", would decode to
 * garbage: such a word is shown as it was written.
 */
static int
word_valid(char enc, const char *text, size_t len)
{
	size_t i, pad = 0;

	if (enc == 'B' || enc == 'b') {
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c == '=') {
				pad++;
				continue;
			}
			if (pad > 0 ||
			    !((c >= 'A' && c <= 'Z') ||
			        (c >= 'a' && c <= 'z') ||
			        (c >= '0' && c <= '9') || c == '+' || c == '/'))
				return 0;
		}
		return pad <= 2 && (len - pad) % 4 != 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x21 || c > 0x7e)
			return 0;
		if (c == '=' &&
		    (i + 2 >= len || hexval(text[i + 1]) < 0 ||
		        hexval(text[i + 2]) < 0))
			return 0;
	}
	return 1;
}

void
mime_decode_words(const char *s, size_t len, struct buf *out)
{
	struct words w;
	size_t i = 0, lastword = (size_t)-1;

	/* Most fields hold no encoded word: one conversion, no copies. */
	if (len < 2 || memmem(s, len, "=?", 2) == NULL) {
		mime_charset_convert(NULL, s, len, out);
		return;
	}
	w.out = out;
	buf_init(&w.pend, 0);
	buf_init(&w.raw, 0);
	w.cs[0] = '\0';
	while (i < len) {
		char cs[48], enc;
		const char *text;
		size_t tl, n;

		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    (n = word_parse(s + i, len - i, cs, sizeof cs, &enc, &text,
		         &tl)) != 0 &&
		    word_valid(enc, text, tl)) {
			if (w.raw.len > 0 || ascii_strcasecmp(cs, w.cs) != 0)
				words_flush(&w);
			memcpy(w.cs, cs, sizeof cs);
			if (enc == 'B' || enc == 'b')
				mime_decode_base64(text, tl, &w.pend);
			else
				mime_decode_qp(text, tl, &w.pend, 1);
			i += n;
			lastword = i;
			continue;
		}
		if (is_space(s[i])) {
			size_t j = i;

			while (j < len && is_space(s[j]))
				j++;
			/* Whitespace between two encoded words is dropped. */
			if (lastword == i && j + 1 < len && s[j] == '=' &&
			    s[j + 1] == '?' &&
			    word_parse(s + j, len - j, cs, sizeof cs, &enc,
			        &text, &tl) != 0 &&
			    word_valid(enc, text, tl)) {
				i = j;
				continue;
			}
			if (w.pend.len > 0)
				words_flush(&w);
			(void)buf_add(&w.raw, s + i, j - i);
			i = j;
			continue;
		}
		if (w.pend.len > 0 || w.cs[0] != '\0')
			words_flush(&w);
		{
			/* A run of text up to the next space or '='. */
			size_t j = i + 1;

			while (j < len && s[j] != '=' && !is_space(s[j]))
				j++;
			(void)buf_add(&w.raw, s + i, j - i);
			i = j;
		}
	}
	words_flush(&w);
	buf_free(&w.pend);
	buf_free(&w.raw);
}

char *
mime_decode_header(const char *s, size_t len)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	mime_decode_words(s, len, &b);
	/* Folding leftovers: CR, LF become spaces. */
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '\r' || b.data[i] == '\n')
			b.data[i] = ' ';
	}
	return buf_steal(&b, NULL);
}

/* Message ids. */

void
mime_msgids(const char *s, size_t len, size_t max, struct buf *out)
{
	size_t i = 0, n = 0;

	while (i < len && n < max) {
		const char *lt = memchr(s + i, '<', len - i), *gt;
		size_t a, j;

		if (lt == NULL)
			break;
		a = (size_t)(lt - s);
		gt = memchr(s + a, '>', len - a);
		if (gt == NULL)
			break;
		j = (size_t)(gt - s);
		/* A '<' inside means the first one was junk. */
		{
			const char *lt2 = memchr(s + a + 1, '<', j - a - 1);

			if (lt2 != NULL) {
				i = (size_t)(lt2 - s);
				continue;
			}
		}
		if (j > a + 1) {
			size_t k;
			int ok = 1;

			for (k = a + 1; k < j; k++) {
				if (is_space(s[k]) || s[k] == '\0') {
					ok = 0;
					break;
				}
			}
			if (ok) {
				if (out->len > 0)
					(void)buf_addc(out, ' ');
				mime_utf8_sanitize(out, s + a, j - a + 1);
				n++;
			}
		}
		i = j + 1;
	}
}

/* Parameters (RFC 2045 with RFC 2231 continuations and charsets). */

struct rawparam {
	char *name; /* lower case, without "*N*" */
	int section; /* -1 if not split */
	int ext; /* value is charset'lang'%XX encoded */
	char *value;
	size_t len;
};

static char *
lower_dup(const char *s, size_t n)
{
	char *p = xstrndup(s, n);
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] >= 'A' && p[i] <= 'Z')
			p[i] = (char)(p[i] + 32);
	}
	return p;
}

static void
pct_decode(const char *s, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			(void)buf_addc(out,
			    (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else
			(void)buf_addc(out, s[i]);
	}
}

static int
rawparam_cmp(const void *a, const void *b)
{
	const struct rawparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->section - y->section;
}

static void
params_assemble(struct rawparam *rp, size_t n, struct mime_params *p)
{
	size_t i = 0;

	if (n > 1)
		qsort(rp, n, sizeof *rp, rawparam_cmp);
	while (i < n) {
		size_t j = i, k;
		struct buf bytes, val;
		char *charset = NULL;
		int extended = 0, plain = -1, star = -1;

		while (j < n && strcmp(rp[j].name, rp[i].name) == 0)
			j++;
		/*
		 * Forms for one name: "name" (plain), "name*" (extended),
		 * "name*0", "name*0*", "name*1"... Prefer RFC 2231.
		 */
		for (k = i; k < j; k++) {
			if (rp[k].section == -1 && !rp[k].ext && plain < 0)
				plain = (int)k;
			if (rp[k].section == -1 && rp[k].ext && star < 0)
				star = (int)k;
			if (rp[k].section >= 0)
				extended = 1;
		}
		buf_init(&bytes, 0);
		buf_init(&val, 0);
		if (star >= 0 || extended) {
			int expect = 0;

			for (k = i; k < j; k++) {
				const char *v = rp[k].value;
				size_t vl = rp[k].len;

				if (star >= 0 && (int)k != star)
					continue;
				if (star < 0 && rp[k].section != expect)
					continue;
				expect++;
				if (rp[k].ext && charset == NULL &&
				    (star >= 0 || rp[k].section == 0)) {
					/* charset'language'value */
					const char *q1 = memchr(v, '\'', vl),
					           *q2;

					if (q1 != NULL &&
					    (q2 = memchr(q1 + 1, '\'',
					         vl - (size_t)(q1 + 1 - v))) !=
					        NULL) {
						charset = xstrndup(
						    v, (size_t)(q1 - v));
						vl -= (size_t)(q2 + 1 - v);
						v = q2 + 1;
					}
				}
				if (rp[k].ext)
					pct_decode(v, vl, &bytes);
				else
					(void)buf_add(&bytes, v, vl);
			}
			mime_charset_convert(
			    charset != NULL && *charset ? charset : NULL,
			    bytes.data ? bytes.data : "", bytes.len, &val);
		} else if (plain >= 0) {
			/* Encoded words in a filename are common. */
			mime_decode_words(rp[plain].value, rp[plain].len, &val);
		}
		if (p->n < MIME_MAX_PARAMS) {
			p->v = xreallocarray(p->v, p->n + 1, sizeof *p->v);
			p->v[p->n].name = xstrdup(rp[i].name);
			p->v[p->n].value = buf_steal(&val, NULL);
			p->n++;
		}
		buf_free(&val);
		buf_free(&bytes);
		free(charset);
		i = j;
	}
}

char *
mime_params_value(const char *s, size_t len, size_t *end)
{
	char *out = xmalloc(len + 1);
	size_t i, o = 0;
	int depth = 0;

	/* The leading token, up to ';', whitespace and comments dropped. */
	for (i = 0; i < len && (depth > 0 || s[i] != ';'); i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !is_space(s[i]) && s[i] != '"' &&
		    s[i] != '\0')
			out[o++] = s[i] >= 'A' && s[i] <= 'Z'
			    ? (char)(s[i] + 32)
			    : s[i];
	}
	out[o] = '\0';
	if (end != NULL)
		*end = i;
	return out;
}

/* Past the comment at s[i], nested ones in it; len if it is not closed. */
static size_t
skip_comment(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return i;
}

/*
 * The value at s[*ip] into v: quoted, or a token up to ';'. *ip is left
 * at the ';' that ends it, or at len.
 */
static void
param_value(const char *s, size_t len, size_t *ip, struct buf *v)
{
	size_t i = *ip, a, e;

	if (i < len && s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			(void)buf_addc(v, s[i]);
		}
		if (i < len)
			i++;
		/* Junk after the closing quote, up to ';'. */
		while (i < len && s[i] != ';')
			i++;
	} else {
		/* A token; tolerate spaces in unquoted values. */
		a = i;
		while (i < len && s[i] != ';')
			i++;
		e = i;
		while (e > a && is_space(s[e - 1]))
			e--;
		(void)buf_add(v, s + a, e - a);
	}
	*ip = i;
}

/*
 * r from the name at s (up to '=' or a space) and the value v, taken:
 * "name*N*" is split into the name, its section and whether it is
 * extended.
 */
static void
rawparam_set(struct rawparam *r, const char *s, size_t len, struct buf *v)
{
	size_t nl = 0;
	char *st;

	/* name, name*, name*N, name*N* */
	while (nl < len && s[nl] != '=' && !is_space(s[nl]))
		nl++;
	r->name = lower_dup(s, nl);
	r->section = -1;
	r->ext = 0;
	if ((st = strchr(r->name, '*')) != NULL) {
		size_t sl = strlen(st);

		if (sl > 1 && st[sl - 1] == '*') {
			r->ext = 1;
			st[--sl] = '\0';
		} else if (sl == 1)
			r->ext = 1;
		if (sl > 1) {
			uint64_t sec;

			if (parse_uint64(st + 1, sl - 1, 999, &sec) == 0)
				r->section = (int)sec;
			else
				r->section = 1000;
		}
		*st = '\0';
	}
	r->len = v->len;
	r->value = buf_steal(v, NULL);
}

void
mime_params_parse(const char *s, size_t len, struct mime_params *p)
{
	struct rawparam *rp = NULL;
	size_t nrp = 0, i = 0, a;

	p->v = NULL;
	p->n = 0;
	p->value = mime_params_value(s, len, &i);
	while (i < len && nrp < MIME_MAX_PARAMS * 2) {
		size_t ns, ne;
		struct buf v;

		/* Skip ';', whitespace and comments. */
		while (i < len && (s[i] == ';' || is_space(s[i])))
			i++;
		if (i < len && s[i] == '(') {
			i = skip_comment(s, len, i);
			continue;
		}
		ns = i;
		while (i < len && s[i] != '=' && s[i] != ';')
			i++;
		ne = i;
		while (ne > ns && is_space(s[ne - 1]))
			ne--;
		if (ne == ns) {
			/* "=value" with no name: skip to the next ';'. */
			while (i < len && s[i] != ';')
				i++;
			continue;
		}
		if (i >= len || s[i] != '=')
			continue;
		i++;
		while (i < len && is_space(s[i]))
			i++;
		buf_init(&v, 0);
		param_value(s, len, &i, &v);
		rp = xreallocarray(rp, nrp + 1, sizeof *rp);
		rawparam_set(&rp[nrp++], s + ns, len - ns, &v);
	}
	if (nrp > 0)
		params_assemble(rp, nrp, p);
	for (a = 0; a < nrp; a++) {
		free(rp[a].name);
		free(rp[a].value);
	}
	free(rp);
}

void
mime_params_free(struct mime_params *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].name);
		free(p->v[i].value);
	}
	free(p->v);
	free(p->value);
	p->v = NULL;
	p->value = NULL;
	p->n = 0;
}

const char *
mime_param_get(const struct mime_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	}
	return NULL;
}
