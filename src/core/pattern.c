/*
 * The pattern language's parser: recursive descent over the text, one
 * function per level of precedence ('|', juxtaposition, '!' and
 * parentheses, then the operators). Every node keeps the column it
 * starts at, and every error names the column of what is wrong, so the
 * user is shown where and not just that.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/pattern.h"

/* Deeper nesting than this is refused, not recursed into. */
#define PATTERN_MAX_DEPTH 64

struct parser {
	const char *s;
	size_t pos;
	int64_t now;
	int depth;
	size_t errpos; /* byte offset of the error */
	char *err;
};

static struct pattern *parse_or(struct parser *p);

/* The 1-based character column of byte offset off. */
static size_t
column(const char *s, size_t off)
{
	size_t i, col = 1;

	for (i = 0; i < off && s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	}
	return col;
}

static struct pattern *fail(struct parser *p, size_t at, const char *fmt, ...)
    TERN_PRINTF(3, 4);

static struct pattern *
fail(struct parser *p, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (p->err == NULL) {
		va_start(ap, fmt);
		p->err = xvasprintf(fmt, ap);
		va_end(ap);
		p->errpos = at;
	}
	return NULL;
}

static struct pattern *
node(enum pattern_op op, size_t at, struct pattern *a, struct pattern *b)
{
	struct pattern *n = xcalloc(1, sizeof *n);

	n->op = op;
	n->col = at; /* a byte offset until pattern_parse makes it a column */
	n->a = a;
	n->b = b;
	n->min = n->max = PATTERN_NONE;
	return n;
}

void
pattern_free(struct pattern **pp)
{
	struct pattern *n = *pp;

	if (n == NULL)
		return;
	pattern_free(&n->a);
	pattern_free(&n->b);
	free(n->text);
	free(n->field);
	free(n);
	*pp = NULL;
}

int
pattern_is_text(enum pattern_op op)
{
	return op >= PATTERN_WORD && op <= PATTERN_REFS;
}

static void
skip_space(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	    p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
		p->pos++;
}

/* Does a word end before c? */
static int
word_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '(' || c == ')' || c == '|';
}

/* Does text hold something the index has words for? */
static int
has_word(const char *t)
{
	for (; *t != '\0'; t++) {
		if (isalnum((unsigned char)*t) || (unsigned char)*t >= 0x80)
			return 1;
	}
	return 0;
}

/*
 * One argument: a quoted string or a word, backslash quoting the next
 * character. *prefix when it ends in an unquoted '*' (dropped).
 * NULL with the error set when there is none.
 */
static char *
argument(struct parser *p, const char *what, size_t opat, int *prefix)
{
	struct buf b;
	size_t start;
	char q;

	*prefix = 0;
	skip_space(p);
	start = p->pos;
	if (word_end(p->s[p->pos])) {
		fail(p, opat, "%s needs an argument", what);
		return NULL;
	}
	buf_init(&b, 0);
	if (p->s[p->pos] == '"' || p->s[p->pos] == '\'') {
		q = p->s[p->pos++];
		while (p->s[p->pos] != q) {
			if (p->s[p->pos] == '\\' && p->s[p->pos + 1] != '\0')
				p->pos++;
			else if (p->s[p->pos] == '\0') {
				buf_free(&b);
				fail(p, start, "the quote is not closed");
				return NULL;
			}
			buf_addc(&b, p->s[p->pos++]);
		}
		p->pos++;
		if (b.len > 0 && b.data[b.len - 1] == '*') {
			b.data[--b.len] = '\0';
			*prefix = 1;
		}
		if (p->s[p->pos] == '*') {
			p->pos++;
			*prefix = 1;
		}
		if (!word_end(p->s[p->pos])) {
			buf_free(&b);
			fail(p, p->pos,
			    "a space or an operator must follow "
			    "the closing quote");
			return NULL;
		}
	} else {
		while (!word_end(p->s[p->pos])) {
			if (p->s[p->pos] == '\\' && p->s[p->pos + 1] != '\0') {
				p->pos++;
				buf_addc(&b, p->s[p->pos++]);
				continue;
			}
			if (p->s[p->pos] == '*' && word_end(p->s[p->pos + 1])) {
				*prefix = 1;
				p->pos++;
				break;
			}
			buf_addc(&b, p->s[p->pos++]);
		}
	}
	if (b.data == NULL)
		buf_addc(&b, '\0');
	return buf_steal(&b, NULL);
}

/* A text operator's node, its text checked. */
static struct pattern *
text_node(struct parser *p, enum pattern_op op, const char *what, size_t at)
{
	struct pattern *n;
	size_t argat;
	char *t, *colon, *v;
	int prefix;

	skip_space(p);
	argat = p->pos;
	if ((t = argument(p, what, at, &prefix)) == NULL)
		return NULL;
	n = node(op, at, NULL, NULL);
	n->prefix = prefix;
	if (op == PATTERN_HEADER && (colon = strchr(t, ':')) != NULL &&
	    colon > t) {
		/* "Name: value": the field name is up to the colon. */
		for (v = t; v < colon; v++) {
			if (*v <= ' ' || *v >= 0x7f)
				break;
		}
		if (v == colon) {
			n->field = xstrndup(t, (size_t)(colon - t));
			for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
				;
			n->text = xstrdup(v);
			free(t);
			if (*n->text != '\0' && !has_word(n->text)) {
				pattern_free(&n);
				return fail(p, argat,
				    "%s: no letters or digits to search for",
				    what);
			}
			return n;
		}
	}
	n->text = t;
	if (!has_word(t)) {
		pattern_free(&n);
		return fail(
		    p, argat, "%s: no letters or digits to search for", what);
	}
	return n;
}

/* Local midnight of a calendar day; -1 if the day does not exist. */
static int64_t
day_start(int y, int m, int d)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;
	return (int64_t)t;
}

/* The local midnight that starts the day after the one t is in. */
static int64_t
next_day(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	tm.tm_mday++;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* The local midnight that starts the day t is in. */
static int64_t
this_day(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* "YYYY-MM-DD" at s: its local midnight and length, or -1. */
static int64_t
iso_date(const char *s, size_t *len)
{
	int y, m, d;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || !isdigit((unsigned char)s[3]) ||
	    s[4] != '-' || !isdigit((unsigned char)s[5]) ||
	    !isdigit((unsigned char)s[6]) || s[7] != '-' ||
	    !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9]))
		return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	*len = 10;
	return day_start(y, m, d);
}

/* now moved back by n units (d w m y) in local time; -1 on a bad unit. */
static int64_t
ago(int64_t now, uint64_t n, char unit)
{
	struct tm tm;
	time_t t = (time_t)now;

	localtime_r(&t, &tm);
	switch (unit) {
	case 'd':
		tm.tm_mday -= (int)n;
		break;
	case 'w':
		tm.tm_mday -= (int)n * 7;
		break;
	case 'm':
		tm.tm_mon -= (int)n;
		break;
	case 'y':
		tm.tm_year -= (int)n;
		break;
	default:
		return -1;
	}
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static struct pattern *
date_node(struct parser *p, size_t at)
{
	static const char usage[] =
	    "~d takes YYYY-MM-DD, a range A-B (either end may be left "
	    "out), or <N, >N, =N with a unit d, w, m or y";
	struct pattern *n;
	size_t argat, len;
	uint64_t num;
	char *t, *e;
	int prefix;
	int64_t t0, t1;

	skip_space(p);
	argat = p->pos;
	if ((t = argument(p, "~d", at, &prefix)) == NULL)
		return NULL;
	n = node(PATTERN_DATE, at, NULL, NULL);
	if (prefix)
		goto bad;
	if (t[0] == '<' || t[0] == '>' || t[0] == '=') {
		len = strlen(t);
		if (len < 3 ||
		    parse_uint64(t + 1, len - 2, 100000, &num) != 0 ||
		    (t0 = ago(p->now, num, t[len - 1])) < 0)
			goto bad;
		if (t[0] == '<')
			n->min = t0;
		else if (t[0] == '>')
			n->max = t0;
		else {
			n->min = this_day(t0);
			n->max = next_day(t0) - 1;
		}
		free(t);
		return n;
	}
	e = t;
	if (*e != '-') {
		if ((t0 = iso_date(e, &len)) < 0)
			goto bad;
		e += len;
		n->min = t0;
		if (*e == '\0') {
			n->max = next_day(t0) - 1;
			free(t);
			return n;
		}
	}
	if (*e++ != '-')
		goto bad;
	if (*e != '\0') {
		if ((t1 = iso_date(e, &len)) < 0 || e[len] != '\0')
			goto bad;
		n->max = next_day(t1) - 1;
	}
	if (n->min == PATTERN_NONE && n->max == PATTERN_NONE)
		goto bad;
	if (n->min != PATTERN_NONE && n->max != PATTERN_NONE &&
	    n->min > n->max) {
		free(t);
		pattern_free(&n);
		return fail(p, argat, "~d: the range ends before it starts");
	}
	free(t);
	return n;
bad:
	free(t);
	pattern_free(&n);
	return fail(p, argat, "%s", usage);
}

/* "10", "10K", "2M" at s (up to a '-' or the end): bytes, or -1. */
static int64_t
size_value(const char *s, size_t len)
{
	uint64_t v, mult = 1;

	if (len > 0 && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		mult = 1024;
	else if (len > 0 && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		mult = 1024 * 1024;
	if (mult != 1)
		len--;
	if (len == 0 || parse_uint64(s, len, (uint64_t)1 << 40, &v) != 0)
		return -1;
	return (int64_t)(v * mult);
}

static struct pattern *
size_node(struct parser *p, size_t at)
{
	struct pattern *n;
	size_t argat;
	const char *dash;
	char *t;
	int prefix;
	int64_t v;

	skip_space(p);
	argat = p->pos;
	if ((t = argument(p, "~z", at, &prefix)) == NULL)
		return NULL;
	n = node(PATTERN_SIZE, at, NULL, NULL);
	if (prefix)
		goto bad;
	if (t[0] == '<' || t[0] == '>') {
		if ((v = size_value(t + 1, strlen(t + 1))) < 0)
			goto bad;
		if (t[0] == '<') {
			if (v == 0)
				goto bad;
			n->max = v - 1;
		} else
			n->min = v + 1;
	} else if ((dash = strchr(t, '-')) != NULL) {
		if (dash > t &&
		    (n->min = size_value(t, (size_t)(dash - t))) < 0)
			goto bad;
		if (dash[1] != '\0' &&
		    (n->max = size_value(dash + 1, strlen(dash + 1))) < 0)
			goto bad;
		if (dash == t && dash[1] == '\0')
			goto bad;
		if (n->min != PATTERN_NONE && n->max != PATTERN_NONE &&
		    n->min > n->max) {
			free(t);
			pattern_free(&n);
			return fail(
			    p, argat, "~z: the range ends before it starts");
		}
	} else {
		if ((v = size_value(t, strlen(t))) < 0)
			goto bad;
		n->min = n->max = v;
	}
	free(t);
	return n;
bad:
	free(t);
	pattern_free(&n);
	return fail(p, argat,
	    "~z takes a size (10, 10K, 2M), <SIZE, >SIZE or a range A-B");
}

/* ~X and what it takes. */
static struct pattern *
parse_operator(struct parser *p)
{
	static const struct {
		char c;
		enum pattern_op op;
	} ops[] = {
		{ 'f', PATTERN_FROM },
		{ 't', PATTERN_TO },
		{ 'c', PATTERN_CC },
		{ 'C', PATTERN_TOCC },
		{ 's', PATTERN_SUBJECT },
		{ 'b', PATTERN_BODY },
		{ 'B', PATTERN_WHOLE },
		{ 'h', PATTERN_HEADER },
		{ 'x', PATTERN_REFS },
		{ 'd', PATTERN_DATE },
		{ 'z', PATTERN_SIZE },
		{ 'F', PATTERN_FLAGGED },
		{ 'N', PATTERN_NEW },
		{ 'U', PATTERN_UNREAD },
		{ 'R', PATTERN_READ },
		{ 'D', PATTERN_DELETED },
		{ 'A', PATTERN_ALL },
	};
	size_t at = p->pos, i;
	char c = p->s[p->pos + 1], what[3] = { '~', c, '\0' };

	if (word_end(c))
		return fail(p, at, "~ must be followed by an operator letter");
	for (i = 0; i < TERN_NELEM(ops); i++) {
		if (ops[i].c == c)
			break;
	}
	if (i == TERN_NELEM(ops)) {
		if ((unsigned char)c >= 0x80)
			return fail(p, at, "unknown operator after ~");
		return fail(p, at, "unknown operator ~%c", c);
	}
	p->pos += 2;
	if (pattern_is_text(ops[i].op))
		return text_node(p, ops[i].op, what, at);
	if (ops[i].op == PATTERN_DATE)
		return date_node(p, at);
	if (ops[i].op == PATTERN_SIZE)
		return size_node(p, at);
	if (!word_end(p->s[p->pos]))
		return fail(p, p->pos, "%s takes no argument", what);
	return node(ops[i].op, at, NULL, NULL);
}

/* '!' P, '(' P ')', an operator, or a bare word. */
static struct pattern *
parse_unary(struct parser *p)
{
	struct pattern *n;
	size_t at;

	skip_space(p);
	at = p->pos;
	switch (p->s[p->pos]) {
	case '\0':
		return fail(p, at, "a pattern is missing at the end");
	case '|':
		return fail(p, at, "| needs a pattern on each side");
	case ')':
		return fail(p, at, "unexpected )");
	case '!':
		p->pos++;
		skip_space(p);
		if (p->s[p->pos] == '\0' || p->s[p->pos] == '|' ||
		    p->s[p->pos] == ')')
			return fail(p, at, "! needs a pattern after it");
		if (++p->depth > PATTERN_MAX_DEPTH)
			return fail(p, at, "the pattern is nested too deeply");
		n = parse_unary(p);
		p->depth--;
		return n == NULL ? NULL : node(PATTERN_NOT, at, n, NULL);
	case '(':
		p->pos++;
		skip_space(p);
		if (p->s[p->pos] == ')')
			return fail(p, p->pos, "empty parentheses");
		if (++p->depth > PATTERN_MAX_DEPTH)
			return fail(p, at, "the pattern is nested too deeply");
		if ((n = parse_or(p)) == NULL)
			return NULL;
		p->depth--;
		skip_space(p);
		if (p->s[p->pos] != ')') {
			pattern_free(&n);
			return fail(p, at, "( is not closed");
		}
		p->pos++;
		return n;
	case '~':
		return parse_operator(p);
	default:
		return text_node(p, PATTERN_WORD, "the word", at);
	}
}

/* Juxtaposition: P Q ... until '|', ')' or the end. */
static struct pattern *
parse_and(struct parser *p)
{
	struct pattern *l, *r;
	size_t at;

	if ((l = parse_unary(p)) == NULL)
		return NULL;
	for (;;) {
		skip_space(p);
		at = p->pos;
		if (p->s[at] == '\0' || p->s[at] == '|' || p->s[at] == ')')
			return l;
		if ((r = parse_unary(p)) == NULL) {
			pattern_free(&l);
			return NULL;
		}
		l = node(PATTERN_AND, l->col, l, r);
	}
}

static struct pattern *
parse_or(struct parser *p)
{
	struct pattern *l, *r;
	size_t at;

	if ((l = parse_and(p)) == NULL)
		return NULL;
	for (;;) {
		skip_space(p);
		at = p->pos;
		if (p->s[at] != '|')
			return l;
		p->pos++;
		skip_space(p);
		if (p->s[p->pos] == '\0' || p->s[p->pos] == '|' ||
		    p->s[p->pos] == ')') {
			pattern_free(&l);
			return fail(p, at, "| needs a pattern on each side");
		}
		if ((r = parse_and(p)) == NULL) {
			pattern_free(&l);
			return NULL;
		}
		l = node(PATTERN_OR, l->col, l, r);
	}
}

/* Byte offsets to columns, once the whole tree is made. */
static void
set_columns(struct pattern *n, const char *s)
{
	if (n == NULL)
		return;
	n->col = column(s, n->col);
	set_columns(n->a, s);
	set_columns(n->b, s);
}

int
pattern_parse(const char *text, int64_t now, struct pattern **out, size_t *col,
    char **cause)
{
	struct parser p;
	struct pattern *n = NULL;
	size_t c;

	memset(&p, 0, sizeof p);
	p.s = text;
	p.now = now != 0 ? now : (int64_t)time(NULL);
	*out = NULL;
	skip_space(&p);
	if (text[p.pos] == '\0')
		fail(&p, 0, "the pattern is empty");
	else if ((n = parse_or(&p)) != NULL) {
		skip_space(&p);
		if (text[p.pos] == ')')
			fail(&p, p.pos, "unexpected )");
	}
	if (p.err != NULL) {
		pattern_free(&n);
		c = column(text, p.errpos);
		if (col != NULL)
			*col = c;
		set_cause(cause, "column %zu: %s", c, p.err);
		free(p.err);
		return -1;
	}
	set_columns(n, text);
	*out = n;
	return 0;
}

static const char *const op_names[] = {
	[PATTERN_AND] = "and",
	[PATTERN_OR] = "or",
	[PATTERN_NOT] = "not",
	[PATTERN_WORD] = "word",
	[PATTERN_FROM] = "from",
	[PATTERN_TO] = "to",
	[PATTERN_CC] = "cc",
	[PATTERN_TOCC] = "tocc",
	[PATTERN_SUBJECT] = "subject",
	[PATTERN_BODY] = "body",
	[PATTERN_WHOLE] = "whole",
	[PATTERN_HEADER] = "header",
	[PATTERN_REFS] = "refs",
	[PATTERN_DATE] = "date",
	[PATTERN_SIZE] = "size",
	[PATTERN_FLAGGED] = "flagged",
	[PATTERN_NEW] = "new",
	[PATTERN_UNREAD] = "unread",
	[PATTERN_READ] = "read",
	[PATTERN_DELETED] = "deleted",
	[PATTERN_ALL] = "all",
};

static void
dump_bound(struct buf *b, int64_t v)
{
	if (v == PATTERN_NONE)
		buf_adds(b, " -");
	else
		buf_printf(b, " %lld", (long long)v);
}

static void
dump(const struct pattern *n, struct buf *b)
{
	buf_printf(b, "(%s", op_names[n->op]);
	if (n->field != NULL)
		buf_printf(b, " %s:", n->field);
	if (n->text != NULL)
		buf_printf(b, " \"%s%s\"", n->text, n->prefix ? "*" : "");
	if (n->op == PATTERN_DATE || n->op == PATTERN_SIZE) {
		dump_bound(b, n->min);
		dump_bound(b, n->max);
	}
	if (n->a != NULL) {
		buf_addc(b, ' ');
		dump(n->a, b);
	}
	if (n->b != NULL) {
		buf_addc(b, ' ');
		dump(n->b, b);
	}
	buf_addc(b, ')');
}

char *
pattern_dump(const struct pattern *p)
{
	struct buf b;

	buf_init(&b, 0);
	dump(p, &b);
	return buf_steal(&b, NULL);
}

static void add_words(const char *t, int prefix, char ***v, size_t *len);

static void
words(const struct pattern *n, int negated, char ***v, size_t *len)
{
	if (n == NULL)
		return;
	if (n->op == PATTERN_NOT) {
		words(n->a, !negated, v, len);
		return;
	}
	words(n->a, negated, v, len);
	words(n->b, negated, v, len);
	if (negated || n->text == NULL || n->op == PATTERN_REFS)
		return;
	if (n->field != NULL)
		add_words(n->field, 0, v, len);
	add_words(n->text, n->prefix, v, len);
}

/* The words of t (the last one marked '*' with prefix) into *v. */
static void
add_words(const char *t, int prefix, char ***v, size_t *len)
{
	const char *e;
	size_t i;
	char *w;

	for (; *t != '\0'; t = e) {
		while (*t != '\0' && !isalnum((unsigned char)*t) &&
		    (unsigned char)*t < 0x80)
			t++;
		for (e = t; *e != '\0' &&
		     (isalnum((unsigned char)*e) || (unsigned char)*e >= 0x80);
		     e++)
			;
		if (e == t)
			continue;
		w = xstrndup(t, (size_t)(e - t));
		if (prefix && *e == '\0') {
			char *pw = xasprintf("%s*", w);

			free(w);
			w = pw;
		}
		for (i = 0; i < *len && strcmp((*v)[i], w) != 0; i++)
			;
		if (i < *len) {
			free(w);
			continue;
		}
		*v = xreallocarray(*v, *len + 2, sizeof **v);
		(*v)[(*len)++] = w;
		(*v)[*len] = NULL;
	}
}

void
pattern_words(const struct pattern *p, char ***v, size_t *n)
{
	*v = xcalloc(1, sizeof **v);
	*n = 0;
	words(p, 0, v, n);
}

void
pattern_words_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
