/*
 * pop3: the POP3 account driver (RFC 1939, CAPA and PIPELINING from
 * RFC 2449) and its reply parser.
 *
 * The driver downloads over a connection made by the net module, stores
 * each message in the account's INBOX and deletes it on the server only
 * after the store has committed it (DESIGN.md, data-safety invariants).
 *
 * The reply parser is exported for the unit tests and the fuzzer: it is a
 * push parser fed with bytes as they arrive, in chunks of any size.
 */
#ifndef TERN_POP3_H
#define TERN_POP3_H

#include <stddef.h>

#include "tern/core.h"

extern const struct driver_ops pop3_driver;

/* How the next reply is read, announced for each command sent. */
enum pop3_reply {
	POP3_REPLY_LINE, /* one status line */
	POP3_REPLY_LIST, /* status, then dot-terminated lines (CAPA, UIDL) */
	POP3_REPLY_DATA, /* status, then a dot-terminated message (RETR) */
};

enum pop3_event {
	POP3_EV_OK, /* "+OK text" status line: data is the text */
	POP3_EV_ERR, /* "-ERR text": the reply ends here */
	POP3_EV_LINE, /* a line of a LIST reply, unstuffed, without CRLF */
	POP3_EV_DATA, /* bytes of a DATA reply, unstuffed, CRLF kept */
	POP3_EV_END, /* the terminating dot of a LIST or DATA reply */
};

/* Called for each event; a non-zero return stops pop3_parser_feed. */
typedef int (*pop3_parser_cb)(
    void *arg, enum pop3_event ev, const char *data, size_t len);

#define POP3_PARSER_QUEUE 256

struct pop3_parser {
	size_t line_max; /* longest status or LIST line */
	struct buf line;
	int state; /* private */
	enum pop3_reply queue[POP3_PARSER_QUEUE];
	size_t head, count;
};

void pop3_parser_init(struct pop3_parser *p, size_t line_max);
void pop3_parser_free(struct pop3_parser *p);
/* Announce the reply of a command just sent; -1 if the queue is full. */
int pop3_parser_expect(struct pop3_parser *p, enum pop3_reply kind);
/* Replies still expected (including the one being read). */
size_t pop3_parser_pending(const struct pop3_parser *p);
/*
 * Feed bytes. Returns 0, the callback's non-zero value, or -1 with cause
 * on a protocol error (a line over line_max, a reply nobody asked for, a
 * status that is neither +OK nor -ERR).
 */
int pop3_parser_feed(struct pop3_parser *p, const char *data, size_t len,
    pop3_parser_cb cb, void *arg, char **cause);

/* A UIDL as RFC 1939 allows it: 1 to 70 characters 0x21..0x7e. */
int pop3_uidl_valid(const char *s, size_t len);

#endif
