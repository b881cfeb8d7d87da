/*
 * pattern: mutt's search patterns, parsed into a tree that the store
 * answers with its full-text index and ordinary columns (store_search)
 * and that an IMAP server answers as UID SEARCH keys (pattern_imap).
 *
 * The language, a subset of mutt's:
 *
 *	~f TEXT  From		~t TEXT  To		~c TEXT  Cc
 *	~C TEXT  To or Cc	~s TEXT  Subject	~b TEXT  body
 *	~B TEXT  whole message	~h TEXT  header (~h "List-Id: tern")
 *	~x TEXT  References or In-Reply-To
 *	~d DATES date sent: 2024-01-01-2024-06-30, 2024-01-01- (on or
 *		after), -2024-06-30 (up to), 2024-03-05 (that day),
 *		<2w (younger than), >1m (older than), =3d (that day);
 *		units d w m y
 *	~z SIZE  size: <10K, >1M, 10K-20K, 5K- (K and M are binary)
 *	~F flagged  ~N new (unread: tern keeps no \Recent)  ~U unread
 *	~R read  ~D deleted  ~A all
 *	!P not,  P Q and,  P | Q or,  ( P )
 *	WORD     a bare word: ~f WORD | ~s WORD | ~b WORD
 *
 * TEXT is a word or a quoted string ("..." or '...', backslash quotes
 * the next character): its words are matched as a phrase, case and
 * diacritics folded; a trailing * makes the last word a prefix. A word
 * ends at white space, '(', ')' or '|'. '!' binds tightest, then
 * juxtaposition, then '|'.
 *
 * Trees and strings returned belong to the caller.
 */
#ifndef TERN_PATTERN_H
#define TERN_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#include "tern/util.h"

enum pattern_op {
	PATTERN_AND, /* a b */
	PATTERN_OR, /* a | b */
	PATTERN_NOT, /* !a */
	/* Text: text, phrase words as given; prefix with a trailing '*'. */
	PATTERN_WORD, /* a bare word: from, subject or body */
	PATTERN_FROM,
	PATTERN_TO,
	PATTERN_CC,
	PATTERN_TOCC,
	PATTERN_SUBJECT,
	PATTERN_BODY,
	PATTERN_WHOLE, /* ~B: headers and body */
	PATTERN_HEADER, /* field: the header's name, or NULL for any */
	PATTERN_REFS,
	/* Ranges: [min, max], bounds included. */
	PATTERN_DATE, /* seconds since the epoch */
	PATTERN_SIZE, /* bytes */
	/* Flags: no argument. */
	PATTERN_FLAGGED,
	PATTERN_NEW,
	PATTERN_UNREAD,
	PATTERN_READ,
	PATTERN_DELETED,
	PATTERN_ALL,
};

/* No bound: min is PATTERN_NONE or max is PATTERN_NONE. */
#define PATTERN_NONE INT64_MIN

struct pattern {
	enum pattern_op op;
	size_t col; /* where it starts in the pattern, 1-based characters */
	struct pattern *a, *b; /* AND, OR: both; NOT: a */
	char *text; /* the text operators' words (unquoted), else NULL */
	char *field; /* PATTERN_HEADER: the field name, or NULL */
	int prefix; /* the last word is a prefix (it ended in '*') */
	int64_t min, max; /* PATTERN_DATE, PATTERN_SIZE */
};

/*
 * Parse text. now is the time relative dates count from (0: the clock);
 * dates are in local time. On error, -1 with cause "column N: what is
 * wrong" and *col (when not NULL) the 1-based character column.
 */
int pattern_parse(const char *text, int64_t now, struct pattern **p,
    size_t *col, char **cause);
void pattern_free(struct pattern **p);

/* Is op one of the text operators (it has text)? */
int pattern_is_text(enum pattern_op op);
/*
 * The tree in a canonical, fully parenthesised form, for tests and
 * traces: "(and (from \"alice\") (not (flag F)))". Malloc'd.
 */
char *pattern_dump(const struct pattern *p);
/*
 * The distinct words of the positive text terms (not under a '!'), for
 * highlighting what matched; the last word of a prefix term ends in
 * '*'. *v is NULL-terminated, it and each string malloc'd.
 */
void pattern_words(const struct pattern *p, char ***v, size_t *n);
void pattern_words_free(char **v);

/*
 * IMAP SEARCH keys for a pattern (RFC 3501 section 6.4.4), without the
 * "UID SEARCH" and CHARSET in front. A string that is not plain ASCII, or
 * holds a quote or a backslash, is sent as a literal: keys then holds
 * "{N}\r\n" (or "{N+}\r\n" with literal_plus) and the bytes, lits the
 * offset in keys just after each such "\r\n", where a sender without
 * LITERAL+ waits for the server's continuation, and utf8 says that
 * CHARSET UTF-8 is due. Dates go as SENTSINCE and SENTBEFORE (the Date:
 * header, as ~d means and the store keeps), in local time.
 */
struct pattern_imap {
	struct buf keys;
	size_t *lits;
	size_t nlits;
	int utf8;
};
/*
 * -1 with cause when the server cannot answer the pattern as the store
 * would (a ~h without a field name).
 */
int pattern_imap(const struct pattern *p, int literal_plus,
    struct pattern_imap *out, char **cause);
void pattern_imap_clear(struct pattern_imap *out);

#endif
