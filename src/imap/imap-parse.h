/*
 * The IMAP response parser: a push parser fed bytes in chunks of any size.
 *
 * It keeps only the response being parsed, as a flat array of items in
 * document order (a list item records where its subtree ends) over one
 * byte buffer holding every string. Literals, line length, nesting depth
 * and item count are bounded by struct imap_limits: a violation is a
 * protocol error, never an allocation of what the server claims.
 *
 * After a status word (OK, NO, BAD, BYE, PREAUTH) the parser reads the
 * optional [response code] as items and the rest of the line as one TEXT
 * item, so free text with stray quotes or brackets parses as text.
 */
#ifndef TERN_IMAP_PARSE_H
#define TERN_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tern/util.h"

enum imap_item_type {
	IMAP_ATOM, /* also numbers, flags (\Seen) and BODY[...]<n> */
	IMAP_STRING, /* quoted or literal */
	IMAP_NIL,
	IMAP_LIST, /* ( ... ) */
	IMAP_CODE, /* [ ... ] after a status word */
	IMAP_TEXT, /* the human-readable rest of a status line */
};

struct imap_item {
	enum imap_item_type type;
	/* A literal handed to the sink (imap_parser_set_sink): its bytes
	 * went there, and the item is an empty string. */
	int diverted;
	uint32_t end; /* index past this item and its subtree */
	size_t off; /* into the response's data, NUL-terminated */
	size_t len;
};

enum imap_resp_kind { IMAP_UNTAGGED, IMAP_TAGGED, IMAP_CONTINUATION };

struct imap_resp {
	enum imap_resp_kind kind;
	struct imap_item *items; /* items[0] is the tag, "*" or "+" */
	size_t nitems;
	const char *data;
};

struct imap_limits {
	size_t max_line; /* bytes outside literals in one response */
	size_t max_literal; /* bytes of one literal */
	size_t max_depth; /* nesting of lists */
	size_t max_items; /* items in one response */
};

struct imap_parser;

/* NULL limits: defaults (1 MiB... see imap-parse.c). */
struct imap_parser *imap_parser_new(const struct imap_limits *limits);
void imap_parser_free(struct imap_parser **pp);
/*
 * Feed len bytes. Returns 1 when a whole response is ready (*used says how
 * many bytes were consumed; feed the rest after imap_parser_next()), 0 when
 * all bytes were consumed and more are needed, -1 on a protocol error with
 * cause (the parser stays failed).
 */
int imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
    size_t *used, char **cause);
/* The ready response; valid until imap_parser_next(). */
const struct imap_resp *imap_parser_response(struct imap_parser *p);
/* Change the literal limit for the responses to come. */
void imap_parser_set_max_literal(struct imap_parser *p, size_t max);
/*
 * Where literals too big to keep go: a literal of more than threshold
 * bytes is not buffered but handed to begin (with its size) and then to
 * data piece by piece, as it arrives; the response's item for it is
 * marked diverted. The literal limit still applies. A sink that returns
 * -1 (with cause) fails the parser. NULL sink: every literal is kept.
 */
struct imap_sink {
	int (*begin)(void *arg, uint64_t size, char **cause);
	int (*data)(void *arg, const char *data, size_t len, char **cause);
	void *arg;
	size_t threshold;
};
void imap_parser_set_sink(struct imap_parser *p, const struct imap_sink *sink);
/* Drop the ready response and start on the next one. */
void imap_parser_next(struct imap_parser *p);

/* Accessors. */
static inline const char *
imap_str(const struct imap_resp *r, size_t i)
{
	return r->data + r->items[i].off;
}
/* The index after item i and its subtree. */
static inline size_t
imap_next(const struct imap_resp *r, size_t i)
{
	return r->items[i].end;
}
/* Item i is an atom equal (ASCII case-insensitively) to s. Inline: a
 * FETCH response is matched against several names per item. */
static inline int
imap_is(const struct imap_resp *r, size_t i, const char *s)
{
	size_t n = strlen(s);

	return i < r->nitems && r->items[i].type == IMAP_ATOM &&
	    r->items[i].len == n &&
	    ascii_strncasecmp(imap_str(r, i), s, n) == 0;
}
/* Item i as a number (an atom of digits, at most max); -1 if not. */
int imap_num(const struct imap_resp *r, size_t i, uint64_t max, uint64_t *out);
/* Item i is a string, an atom or NIL (astring/nstring); NULL for NIL. */
const char *imap_astr(const struct imap_resp *r, size_t i, size_t *len);

#endif
