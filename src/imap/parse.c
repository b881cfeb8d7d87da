/*
 * The IMAP response parser (RFC 9051 / RFC 3501 syntax, read leniently
 * where servers differ: bare LF, several spaces, literal8).
 *
 * One byte at a time through an explicit state machine, except literal
 * data, which is copied in runs. Every state resumes after a partial read,
 * so the caller can feed whatever the socket returned.
 */
#include <stdlib.h>
#include <string.h>

#include "imap-parse.h"
#include "tern/util.h"

enum pstate {
	PS_BETWEEN, /* before a token, or at the end of the line */
	PS_ATOM,
	PS_ATOM_BRACKET, /* inside the [...] of BODY[...] */
	PS_QUOTED,
	PS_QUOTED_ESC,
	PS_LIT8, /* after '~', expecting '{' */
	PS_LIT_SIZE,
	PS_LIT_CLOSE, /* after '+', expecting '}' */
	PS_LIT_CR,
	PS_LIT_LF,
	PS_LIT_DATA,
	PS_TEXT_START, /* after a status word: [code] and text */
	PS_TEXT,
	PS_LF,
	PS_READY,
	PS_FAILED,
};

struct imap_parser {
	struct imap_limits lim;
	enum pstate state;
	struct buf data;
	struct imap_item *items;
	size_t nitems, cap;
	uint32_t *stack; /* open LIST and CODE items */
	size_t depth;
	size_t line; /* bytes outside literals */
	size_t literals; /* literal bytes in this response */
	uint64_t litlen;
	int litdigits;
	struct imap_sink sink; /* sink.data NULL: none */
	int diverting; /* the literal being read goes to the sink */
	size_t cur; /* the item being read */
	int code_seen;
	struct imap_resp resp;
};

struct imap_parser *
imap_parser_new(const struct imap_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof *p);

	p->lim.max_line = 8 * 1024 * 1024;
	p->lim.max_literal = 64 * 1024 * 1024;
	p->lim.max_depth = 64;
	p->lim.max_items = 500000;
	if (limits != NULL) {
		if (limits->max_line)
			p->lim.max_line = limits->max_line;
		if (limits->max_literal)
			p->lim.max_literal = limits->max_literal;
		if (limits->max_depth)
			p->lim.max_depth = limits->max_depth;
		if (limits->max_items)
			p->lim.max_items = limits->max_items;
	}
	buf_init(&p->data, 0);
	p->stack = xreallocarray(NULL, p->lim.max_depth, sizeof *p->stack);
	imap_parser_next(p);
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	buf_free(&p->data);
	free(p->items);
	free(p->stack);
	free(p);
	*pp = NULL;
}

void
imap_parser_next(struct imap_parser *p)
{
	if (p->state == PS_FAILED)
		return;
	/* Give back memory a huge response took, keep the usual size. */
	if (p->data.cap > 1024 * 1024) {
		buf_free(&p->data);
		buf_init(&p->data, 0);
	}
	if (p->cap > 65536) {
		free(p->items);
		p->items = NULL;
		p->cap = 0;
	}
	buf_reset(&p->data);
	p->nitems = 0;
	p->depth = 0;
	p->line = 0;
	p->literals = 0;
	p->code_seen = 0;
	p->diverting = 0;
	p->state = PS_BETWEEN;
	memset(&p->resp, 0, sizeof p->resp);
}

void
imap_parser_set_max_literal(struct imap_parser *p, size_t max)
{
	p->lim.max_literal = max;
}

void
imap_parser_set_sink(struct imap_parser *p, const struct imap_sink *sink)
{
	if (sink != NULL && sink->begin != NULL && sink->data != NULL)
		p->sink = *sink;
	else
		memset(&p->sink, 0, sizeof p->sink);
}

const struct imap_resp *
imap_parser_response(struct imap_parser *p)
{
	if (p->state != PS_READY)
		return NULL;
	p->resp.items = p->items;
	p->resp.nitems = p->nitems;
	p->resp.data = p->data.data;
	return &p->resp;
}

static int
fail(struct imap_parser *p, char **cause, const char *what)
{
	p->state = PS_FAILED;
	return set_cause(cause, "protocol error: %s", what);
}

/* Start an item; -1 when there are too many. */
static int
item_start(struct imap_parser *p, enum imap_item_type type)
{
	struct imap_item *it;

	if (p->nitems >= p->lim.max_items)
		return -1;
	if (p->nitems == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->items = xreallocarray(p->items, p->cap, sizeof *p->items);
	}
	it = &p->items[p->nitems];
	it->type = type;
	it->diverted = 0;
	it->off = p->data.len;
	it->len = 0;
	it->end = (uint32_t)p->nitems + 1;
	p->cur = p->nitems++;
	return 0;
}

static int
is_status(const char *s)
{
	return ascii_strcasecmp(s, "OK") == 0 ||
	    ascii_strcasecmp(s, "NO") == 0 || ascii_strcasecmp(s, "BAD") == 0 ||
	    ascii_strcasecmp(s, "BYE") == 0 ||
	    ascii_strcasecmp(s, "PREAUTH") == 0;
}

/*
 * Close the current string item: NUL-terminate, classify NIL, and see
 * whether a top-level item decides the kind of response or turns the rest
 * of the line into text.
 */
static int
item_end(struct imap_parser *p)
{
	struct imap_item *it = &p->items[p->cur];
	size_t idx = p->cur;

	it->len = p->data.len - it->off;
	if (buf_addc(&p->data, '\0') != 0)
		return -1;
	p->state = PS_BETWEEN;
	if (it->type == IMAP_ATOM && it->len == 3 &&
	    ascii_strcasecmp(p->data.data + it->off, "NIL") == 0)
		it->type = IMAP_NIL;
	if (p->depth != 0)
		return 0;
	if (idx == 0) {
		const char *s = p->data.data + it->off;

		if (it->type != IMAP_ATOM)
			return -1;
		if (strcmp(s, "*") == 0)
			p->resp.kind = IMAP_UNTAGGED;
		else if (strcmp(s, "+") == 0) {
			p->resp.kind = IMAP_CONTINUATION;
			p->state = PS_TEXT_START;
		} else
			p->resp.kind = IMAP_TAGGED;
		return 0;
	}
	if (it->type == IMAP_ATOM &&
	    (idx == 1 ||
	        (idx == 2 && p->resp.kind == IMAP_UNTAGGED &&
	            p->items[1].type == IMAP_ATOM &&
	            strspn(p->data.data + p->items[1].off, "0123456789") ==
	                p->items[1].len)) &&
	    is_status(p->data.data + it->off))
		p->state = PS_TEXT_START;
	return 0;
}

/* Atom characters, and ']' closes a response code unless in BODY[...]. */
static int
atom_char(struct imap_parser *p, unsigned char c)
{
	if (c <= ' ' || c == 0x7f || c == '(' || c == ')' || c == '"')
		return 0;
	if (c == ']' && p->depth > 0 &&
	    p->items[p->stack[p->depth - 1]].type == IMAP_CODE)
		return 0;
	return 1;
}

/*
 * How many bytes from d on continue the current atom, quoted string or
 * text as they are: one tight loop per state, as most of a response's
 * bytes outside literals are in such runs.
 */
static size_t
plain_run(const struct imap_parser *p, const unsigned char *d, size_t len)
{
	size_t j = 0;

	switch (p->state) {
	case PS_ATOM: {
		/* atom_char(), less '[' (which opens BODY[...]). ']' ends
		 * an atom only in a response code; elsewhere close is '(',
		 * which ends it anyway. */
		unsigned char close = p->depth > 0 &&
		        p->items[p->stack[p->depth - 1]].type == IMAP_CODE
		    ? ']'
		    : '(';

		while (j < len && d[j] > ' ' && d[j] != 0x7f && d[j] != '(' &&
		    d[j] != ')' && d[j] != '"' && d[j] != '[' && d[j] != close)
			j++;
		break;
	}
	case PS_QUOTED:
		while (j < len && d[j] != '"' && d[j] != '\\' && d[j] != '\r' &&
		    d[j] != '\n' && d[j] != '\0')
			j++;
		break;
	case PS_TEXT:
		while (j < len && d[j] != '\r' && d[j] != '\n')
			j++;
		break;
	case PS_ATOM_BRACKET: {
		/* BODY[HEADER.FIELDS (...)] repeats a long list each time. */
		const unsigned char *e = memchr(d, ']', len);

		j = e != NULL ? (size_t)(e - d) : len;
		if ((e = memchr(d, '\r', j)) != NULL)
			j = (size_t)(e - d);
		if ((e = memchr(d, '\n', j)) != NULL)
			j = (size_t)(e - d);
		if ((e = memchr(d, '\0', j)) != NULL)
			j = (size_t)(e - d);
		break;
	}
	default:
		break;
	}
	return j;
}

static int
push(struct imap_parser *p, enum imap_item_type type)
{
	if (p->depth >= p->lim.max_depth)
		return -1;
	if (item_start(p, type) != 0)
		return -1;
	p->stack[p->depth++] = (uint32_t)p->cur;
	return 0;
}

/* Close the innermost LIST or CODE; -1 if type is not what is open. */
static int
pop(struct imap_parser *p, enum imap_item_type type)
{
	struct imap_item *it;

	if (p->depth == 0)
		return -1;
	it = &p->items[p->stack[p->depth - 1]];
	if (it->type != type)
		return -1;
	it->end = (uint32_t)p->nitems;
	p->depth--;
	return 0;
}

int
imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
    size_t *used, char **cause)
{
	size_t i = 0;

	*used = 0;
	if (p->state == PS_FAILED)
		return set_cause(cause, "protocol error: parser failed");
	if (p->state == PS_READY)
		return 1;
	while (i < len) {
		unsigned char c = (unsigned char)data[i];

		if (p->state == PS_LIT_DATA) {
			size_t n = len - i;

			if ((uint64_t)n > p->litlen)
				n = (size_t)p->litlen;
			if (p->diverting) {
				if (p->sink.data(
				        p->sink.arg, data + i, n, cause) != 0) {
					p->state = PS_FAILED;
					return -1;
				}
			} else if (buf_add(&p->data, data + i, n) != 0)
				return fail(p, cause, "out of buffer");
			p->litlen -= n;
			i += n;
			if (p->litlen == 0) {
				p->diverting = 0;
				if (item_end(p) != 0)
					return fail(p, cause, "bad literal");
			}
			continue;
		}
		if (p->state == PS_ATOM || p->state == PS_QUOTED ||
		    p->state == PS_TEXT || p->state == PS_ATOM_BRACKET) {
			/* Copy a run of ordinary bytes at once. */
			size_t run = plain_run(
			    p, (const unsigned char *)data + i, len - i);

			if (run > 0) {
				if (p->line + run > p->lim.max_line)
					return fail(
					    p, cause, "response line too long");
				p->line += run;
				if (buf_add(&p->data, data + i, run) != 0)
					return fail(p, cause, "out of buffer");
				i += run;
				continue;
			}
		}
		if (++p->line > p->lim.max_line)
			return fail(p, cause, "response line too long");
		switch (p->state) {
		case PS_BETWEEN:
			if (c == ' ')
				break;
			if (c == '\r' || c == '\n') {
				if (p->depth != 0)
					return fail(p, cause,
					    "line ends inside a list");
				if (p->nitems == 0) {
					/* Tolerate an empty line. */
					p->line = 0;
					break;
				}
				if (c == '\r') {
					p->state = PS_LF;
					break;
				}
				p->state = PS_READY;
				i++;
				goto ready;
			}
			if (p->nitems == 0 && !atom_char(p, c))
				return fail(p, cause, "bad tag");
			if (c == '(') {
				if (push(p, IMAP_LIST) != 0)
					return fail(p, cause,
					    "lists nested too deep or too long");
				break;
			}
			if (c == ')') {
				if (pop(p, IMAP_LIST) != 0)
					return fail(p, cause, "unbalanced ')'");
				break;
			}
			if (c == ']' && p->depth > 0 &&
			    p->items[p->stack[p->depth - 1]].type ==
			        IMAP_CODE) {
				if (pop(p, IMAP_CODE) != 0)
					return fail(p, cause, "bad ']'");
				p->state = PS_TEXT_START;
				break;
			}
			if (c == '"') {
				if (item_start(p, IMAP_STRING) != 0)
					return fail(p, cause, "too many items");
				p->state = PS_QUOTED;
				break;
			}
			if (c == '{' || c == '~') {
				p->litlen = 0;
				p->litdigits = 0;
				p->state = c == '{' ? PS_LIT_SIZE : PS_LIT8;
				break;
			}
			if (!atom_char(p, c))
				return fail(p, cause, "unexpected character");
			if (item_start(p, IMAP_ATOM) != 0)
				return fail(p, cause, "too many items");
			p->state = PS_ATOM;
			continue; /* the same byte, as part of the atom */
		case PS_ATOM:
			if (c == '[') {
				p->state = PS_ATOM_BRACKET;
			} else if (!atom_char(p, c)) {
				if (item_end(p) != 0)
					return fail(p, cause, "bad atom");
				p->line--;
				continue; /* the byte ends the atom */
			}
			if (buf_addc(&p->data, (char)c) != 0)
				return fail(p, cause, "out of buffer");
			break;
		case PS_ATOM_BRACKET:
			if (c == '\r' || c == '\n' || c == '\0')
				return fail(p, cause, "unterminated '['");
			if (c == ']')
				p->state = PS_ATOM;
			if (buf_addc(&p->data, (char)c) != 0)
				return fail(p, cause, "out of buffer");
			break;
		case PS_QUOTED:
			if (c == '\r' || c == '\n' || c == '\0')
				return fail(
				    p, cause, "unterminated quoted string");
			if (c == '\\') {
				p->state = PS_QUOTED_ESC;
				break;
			}
			if (c == '"') {
				if (item_end(p) != 0)
					return fail(p, cause, "bad string");
				break;
			}
			if (buf_addc(&p->data, (char)c) != 0)
				return fail(p, cause, "out of buffer");
			break;
		case PS_QUOTED_ESC:
			if (c == '\r' || c == '\n' || c == '\0')
				return fail(
				    p, cause, "unterminated quoted string");
			if (buf_addc(&p->data, (char)c) != 0)
				return fail(p, cause, "out of buffer");
			p->state = PS_QUOTED;
			break;
		case PS_LIT8:
			if (c != '{')
				return fail(p, cause, "bad literal8");
			p->state = PS_LIT_SIZE;
			break;
		case PS_LIT_SIZE:
			if (c >= '0' && c <= '9') {
				p->litlen =
				    p->litlen * 10 + (uint64_t)(c - '0');
				p->litdigits++;
				if (p->litlen > p->lim.max_literal ||
				    p->litdigits > 20)
					return fail(p, cause,
					    "literal larger than the limit");
				break;
			}
			if (p->litdigits == 0)
				return fail(p, cause, "bad literal size");
			if (c == '+')
				p->state = PS_LIT_CLOSE;
			else if (c == '}')
				p->state = PS_LIT_CR;
			else
				return fail(p, cause, "bad literal size");
			break;
		case PS_LIT_CLOSE:
			if (c != '}')
				return fail(p, cause, "bad literal size");
			p->state = PS_LIT_CR;
			break;
		case PS_LIT_CR:
			if (c == '\r') {
				p->state = PS_LIT_LF;
				break;
			}
			if (c != '\n')
				return fail(
				    p, cause, "no line end after literal size");
			/* FALLTHROUGH */
		case PS_LIT_LF:
			if (c != '\n')
				return fail(
				    p, cause, "no line end after literal size");
			if (p->literals + p->litlen > 2 * p->lim.max_literal)
				return fail(p, cause, "response too large");
			p->literals += (size_t)p->litlen;
			if (item_start(p, IMAP_STRING) != 0)
				return fail(p, cause, "too many items");
			if (p->sink.data != NULL &&
			    p->litlen > p->sink.threshold) {
				/* Too big to keep: it goes to the sink. */
				if (p->sink.begin(
				        p->sink.arg, p->litlen, cause) != 0) {
					p->state = PS_FAILED;
					return -1;
				}
				p->items[p->cur].diverted = 1;
				p->diverting = 1;
			}
			if (p->litlen == 0) {
				if (item_end(p) != 0)
					return fail(p, cause, "bad literal");
			} else
				p->state = PS_LIT_DATA;
			break;
		case PS_TEXT_START:
			if (c == ' ')
				break;
			if (c == '[' && !p->code_seen) {
				p->code_seen = 1;
				if (push(p, IMAP_CODE) != 0)
					return fail(p, cause, "too many items");
				p->state = PS_BETWEEN;
				break;
			}
			if (c == '\r' || c == '\n') {
				p->state = PS_BETWEEN;
				p->line--;
				continue;
			}
			if (item_start(p, IMAP_TEXT) != 0)
				return fail(p, cause, "too many items");
			p->state = PS_TEXT;
			/* FALLTHROUGH */
		case PS_TEXT:
			if (c == '\r' || c == '\n') {
				if (item_end(p) != 0)
					return fail(p, cause, "bad text");
				p->line--;
				continue; /* PS_BETWEEN ends the line */
			}
			if (buf_addc(&p->data, (char)c) != 0)
				return fail(p, cause, "out of buffer");
			break;
		case PS_LF:
			if (c != '\n')
				return fail(p, cause, "CR without LF");
			p->state = PS_READY;
			i++;
			goto ready;
		case PS_LIT_DATA:
		case PS_READY:
		case PS_FAILED:
			break;
		}
		i++;
	}
	*used = i;
	return 0;
ready:
	*used = i;
	return 1;
}

int
imap_num(const struct imap_resp *r, size_t i, uint64_t max, uint64_t *out)
{
	if (i >= r->nitems || r->items[i].type != IMAP_ATOM)
		return -1;
	return parse_uint64(imap_str(r, i), r->items[i].len, max, out);
}

const char *
imap_astr(const struct imap_resp *r, size_t i, size_t *len)
{
	if (i >= r->nitems)
		return NULL;
	switch (r->items[i].type) {
	case IMAP_ATOM:
	case IMAP_STRING:
		if (len != NULL)
			*len = r->items[i].len;
		return imap_str(r, i);
	default:
		if (len != NULL)
			*len = 0;
		return NULL;
	}
}
