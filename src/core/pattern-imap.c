/*
 * A pattern as IMAP SEARCH keys (RFC 3501 6.4.4). Keys in a row are
 * and-ed; OR and NOT take one key each, so a conjunction under them is
 * put in parentheses. The server matches substrings where the store
 * matches words: the server's answer is a superset for text, which is
 * what a search of bodies the store never saw wants.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/pattern.h"

struct emit {
	struct pattern_imap *out;
	int literal_plus;
	char *err;
};

/* A string: quoted when it is plain ASCII, else a literal. */
static void
astring(struct emit *e, const char *s)
{
	struct buf *b = &e->out->keys;
	const char *c;
	int plain = 1;

	for (c = s; *c != '\0'; c++) {
		if ((unsigned char)*c >= 0x80)
			e->out->utf8 = 1;
		if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20 ||
		    *c == '"' || *c == '\\' || *c == 0x7f)
			plain = 0;
	}
	if (plain) {
		buf_printf(b, "\"%s\"", s);
		return;
	}
	buf_printf(b, "{%zu%s}\r\n", strlen(s), e->literal_plus ? "+" : "");
	e->out->lits = xreallocarray(
	    e->out->lits, e->out->nlits + 1, sizeof *e->out->lits);
	e->out->lits[e->out->nlits++] = b->len;
	buf_adds(b, s);
}

/* KEY "text", the key a literal word. */
static void
text_key(struct emit *e, const char *key, const char *text)
{
	buf_adds(&e->out->keys, key);
	buf_addc(&e->out->keys, ' ');
	astring(e, text);
}

/* An IMAP date (1-Jan-2024) of the local day t is in. */
static void
date(struct emit *e, const char *key, int64_t t)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	buf_printf(&e->out->keys, "%s %d-%s-%d", key, tm.tm_mday,
	    mon[tm.tm_mon], tm.tm_year + 1900);
}

/* Noon of the local day after the one t is in. */
static int64_t
day_after(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	localtime_r(&tt, &tm);
	tm.tm_mday++;
	tm.tm_hour = 12;
	tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* How many keys n's translation is, in a row (1 when it is a single key). */
static int
keys_in_row(const struct pattern *n)
{
	switch (n->op) {
	case PATTERN_AND:
		return keys_in_row(n->a) + keys_in_row(n->b);
	case PATTERN_DATE:
		return n->min != PATTERN_NONE && n->max != PATTERN_NONE ? 2 : 1;
	case PATTERN_SIZE:
		return n->min != PATTERN_NONE && n->min > 0 &&
		        n->max != PATTERN_NONE
		    ? 2
		    : 1;
	default:
		return 1;
	}
}

static void emit(struct emit *e, const struct pattern *n, int single);

static void
emit_or(struct emit *e, const char *key1, const char *key2, const char *text)
{
	buf_adds(&e->out->keys, "OR ");
	text_key(e, key1, text);
	buf_addc(&e->out->keys, ' ');
	text_key(e, key2, text);
}

/*
 * The key of an operator on text: a word, an address field, the
 * subject, the body, a header or the references.
 */
static void
emit_text(struct emit *e, const struct pattern *n)
{
	struct buf *b = &e->out->keys;

	switch (n->op) {
	case PATTERN_WORD:
		buf_adds(b, "OR ");
		emit_or(e, "FROM", "SUBJECT", n->text);
		buf_addc(b, ' ');
		text_key(e, "BODY", n->text);
		break;
	case PATTERN_FROM:
		text_key(e, "FROM", n->text);
		break;
	case PATTERN_TO:
		text_key(e, "TO", n->text);
		break;
	case PATTERN_CC:
		text_key(e, "CC", n->text);
		break;
	case PATTERN_TOCC:
		emit_or(e, "TO", "CC", n->text);
		break;
	case PATTERN_SUBJECT:
		text_key(e, "SUBJECT", n->text);
		break;
	case PATTERN_BODY:
		text_key(e, "BODY", n->text);
		break;
	case PATTERN_WHOLE:
		text_key(e, "TEXT", n->text);
		break;
	case PATTERN_HEADER:
		if (n->field == NULL) {
			if (e->err == NULL)
				e->err = xstrdup(
				    "~h without a field name (~h \"Name: "
				    "text\") has no IMAP SEARCH key");
			buf_adds(b, "ALL");
			break;
		}
		buf_adds(b, "HEADER ");
		astring(e, n->field);
		buf_addc(b, ' ');
		astring(e, n->text);
		break;
	case PATTERN_REFS:
		buf_adds(b, "OR HEADER References ");
		astring(e, n->text);
		buf_adds(b, " HEADER In-Reply-To ");
		astring(e, n->text);
		break;
	default:
		break; /* not text: emit_key's */
	}
}

/* n's keys, without the parentheses emit() may put around them. */
static void
emit_key(struct emit *e, const struct pattern *n)
{
	struct buf *b = &e->out->keys;
	int any = 0;

	switch (n->op) {
	case PATTERN_AND:
		emit(e, n->a, 0);
		buf_addc(b, ' ');
		emit(e, n->b, 0);
		break;
	case PATTERN_OR:
		buf_adds(b, "OR ");
		emit(e, n->a, 1);
		buf_addc(b, ' ');
		emit(e, n->b, 1);
		break;
	case PATTERN_NOT:
		buf_adds(b, "NOT ");
		emit(e, n->a, 1);
		break;
	case PATTERN_WORD:
	case PATTERN_FROM:
	case PATTERN_TO:
	case PATTERN_CC:
	case PATTERN_TOCC:
	case PATTERN_SUBJECT:
	case PATTERN_BODY:
	case PATTERN_WHOLE:
	case PATTERN_HEADER:
	case PATTERN_REFS:
		emit_text(e, n);
		break;
	case PATTERN_DATE:
		if (n->min != PATTERN_NONE) {
			date(e, "SENTSINCE", n->min);
			any = 1;
		}
		if (n->max != PATTERN_NONE) {
			if (any)
				buf_addc(b, ' ');
			/* BEFORE excludes its day: the day after max's. */
			date(e, "SENTBEFORE", day_after(n->max));
		}
		break;
	case PATTERN_SIZE:
		if (n->min != PATTERN_NONE && n->min > 0) {
			buf_printf(b, "LARGER %lld", (long long)n->min - 1);
			any = 1;
		}
		if (n->max != PATTERN_NONE)
			buf_printf(b, "%sSMALLER %lld", any ? " " : "",
			    (long long)n->max + 1);
		else if (!any)
			buf_adds(b, "ALL");
		break;
	case PATTERN_FLAGGED:
		buf_adds(b, "FLAGGED");
		break;
	case PATTERN_NEW: /* tern keeps no \Recent: new is unread */
	case PATTERN_UNREAD:
		buf_adds(b, "UNSEEN");
		break;
	case PATTERN_READ:
		buf_adds(b, "SEEN");
		break;
	case PATTERN_DELETED:
		buf_adds(b, "DELETED");
		break;
	case PATTERN_ALL:
		buf_adds(b, "ALL");
		break;
	}
}

/* n's keys; with single, as one key (in parentheses if they are more). */
static void
emit(struct emit *e, const struct pattern *n, int single)
{
	int paren = single && keys_in_row(n) > 1;

	if (paren)
		buf_addc(&e->out->keys, '(');
	emit_key(e, n);
	if (paren)
		buf_addc(&e->out->keys, ')');
}

int
pattern_imap(const struct pattern *p, int literal_plus,
    struct pattern_imap *out, char **cause)
{
	struct emit e;

	memset(out, 0, sizeof *out);
	buf_init(&out->keys, 0);
	e.out = out;
	e.literal_plus = literal_plus;
	e.err = NULL;
	emit(&e, p, 0);
	if (e.err != NULL) {
		set_cause(cause, "%s", e.err);
		free(e.err);
		pattern_imap_clear(out);
		return -1;
	}
	return 0;
}

void
pattern_imap_clear(struct pattern_imap *out)
{
	buf_free(&out->keys);
	free(out->lits);
	memset(out, 0, sizeof *out);
}
