/*
 * The POP3 reply parser: a push parser fed with bytes as they arrive.
 *
 * Every command sent announces how its reply is read (pop3_parser_expect),
 * so pipelined replies are told apart by order alone, as RFC 2449 says.
 * Status and list lines are bounded by line_max; a message body is not
 * split into lines at all but streamed through a four-state machine that
 * removes the stuffed dots and finds the terminating ".CRLF", so chunk
 * boundaries may fall anywhere.
 */
#include <string.h>

#include "tern/pop3.h"
#include "tern/util.h"

enum {
	PS_STATUS, /* reading a status line */
	PS_LIST, /* reading the lines of a multi-line reply */
	PS_BOL, /* message data, at the start of a line */
	PS_MID, /* message data, inside a line */
	PS_DOT, /* message data, after a dot at the start of a line */
	PS_DOTCR, /* message data, after ".\r" at the start of a line */
};

void
pop3_parser_init(struct pop3_parser *p, size_t line_max)
{
	memset(p, 0, sizeof *p);
	p->line_max = line_max;
	/* Room for the CRLF besides line_max characters. */
	buf_init(&p->line, line_max + 2);
	p->state = PS_STATUS;
}

void
pop3_parser_free(struct pop3_parser *p)
{
	buf_free(&p->line);
}

int
pop3_parser_expect(struct pop3_parser *p, enum pop3_reply kind)
{
	if (p->count == POP3_PARSER_QUEUE)
		return -1;
	p->queue[(p->head + p->count) % POP3_PARSER_QUEUE] = kind;
	p->count++;
	return 0;
}

size_t
pop3_parser_pending(const struct pop3_parser *p)
{
	return p->count;
}

int
pop3_uidl_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 70)
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* The current reply is complete. */
static void
parser_pop(struct pop3_parser *p)
{
	p->head = (p->head + 1) % POP3_PARSER_QUEUE;
	p->count--;
	p->state = PS_STATUS;
}

static int
parser_status(struct pop3_parser *p, pop3_parser_cb cb, void *arg, char **cause)
{
	enum pop3_reply kind = p->queue[p->head];
	const char *l = p->line.data;
	size_t n = p->line.len;

	if (n >= 3 && memcmp(l, "+OK", 3) == 0 && (n == 3 || l[3] == ' ')) {
		l += n > 3 ? 4 : 3;
		n -= n > 3 ? 4 : 3;
		if (kind == POP3_REPLY_LINE)
			parser_pop(p);
		else
			p->state = kind == POP3_REPLY_LIST ? PS_LIST : PS_BOL;
		return cb(arg, POP3_EV_OK, l, n);
	}
	if (n >= 4 && memcmp(l, "-ERR", 4) == 0 && (n == 4 || l[4] == ' ')) {
		l += n > 4 ? 5 : 4;
		n -= n > 4 ? 5 : 4;
		parser_pop(p);
		return cb(arg, POP3_EV_ERR, l, n);
	}
	return set_cause(
	    cause, "the server sent a reply that is neither +OK nor -ERR");
}

/* One line of a multi-line reply, in p->line without its line end. */
static int
parser_list_line(struct pop3_parser *p, pop3_parser_cb cb, void *arg)
{
	const char *l = p->line.data;
	size_t n = p->line.len;

	if (n == 1 && l[0] == '.') {
		parser_pop(p);
		return cb(arg, POP3_EV_END, NULL, 0);
	}
	if (n > 0 && l[0] == '.') {
		l++;
		n--;
	}
	return cb(arg, POP3_EV_LINE, l, n);
}

/* Accumulate a line; 1 when it is complete (line end stripped), 0 when
 * more is needed. */
static int
parser_take_line(
    struct pop3_parser *p, const char **data, size_t *len, char **cause)
{
	const char *nl = memchr(*data, '\n', *len);
	size_t take = nl != NULL ? (size_t)(nl - *data) + 1 : *len;

	if (buf_add(&p->line, *data, take) != 0)
		return set_cause(cause,
		    "the server sent a line longer than %zu bytes",
		    p->line_max);
	*data += take;
	*len -= take;
	if (nl == NULL)
		return 0;
	p->line.len--; /* the LF */
	if (p->line.len > 0 && p->line.data[p->line.len - 1] == '\r')
		p->line.len--;
	p->line.data[p->line.len] = '\0';
	return 1;
}

int
pop3_parser_feed(struct pop3_parser *p, const char *data, size_t len,
    pop3_parser_cb cb, void *arg, char **cause)
{
	const char *nl;
	size_t take;
	int r;

	while (len > 0) {
		if (p->count == 0)
			return set_cause(cause,
			    "the server sent data that no command asked for");
		switch (p->state) {
		case PS_STATUS:
		case PS_LIST:
			r = parser_take_line(p, &data, &len, cause);
			if (r <= 0) {
				if (r < 0)
					return -1;
				break;
			}
			if (p->state == PS_STATUS)
				r = parser_status(p, cb, arg, cause);
			else
				r = parser_list_line(p, cb, arg);
			buf_reset(&p->line);
			if (r != 0)
				return r;
			break;
		case PS_BOL:
			if (*data == '.') {
				p->state = PS_DOT;
				data++;
				len--;
				break;
			}
			p->state = PS_MID;
			/* FALLTHROUGH */
		case PS_MID:
			/*
			 * Every line up to the next one that starts with a
			 * dot (stuffed, or the end) goes as one event: the
			 * lines between need nothing undone.
			 */
			take = len;
			for (nl = data;
			     (nl = memchr(
			          nl, '\n', len - (size_t)(nl - data))) != NULL;
			     nl++) {
				if (nl + 1 == data + len || nl[1] == '.') {
					take = (size_t)(nl - data) + 1;
					p->state = PS_BOL;
					break;
				}
			}
			r = cb(arg, POP3_EV_DATA, data, take);
			data += take;
			len -= take;
			if (r != 0)
				return r;
			break;
		case PS_DOT:
			if (*data == '\r') {
				p->state = PS_DOTCR;
				data++;
				len--;
			} else if (*data == '\n') {
				data++;
				len--;
				parser_pop(p);
				if ((r = cb(arg, POP3_EV_END, NULL, 0)) != 0)
					return r;
			} else /* a stuffed dot: drop it, keep the rest */
				p->state = PS_MID;
			break;
		case PS_DOTCR:
			if (*data == '\n') {
				data++;
				len--;
				parser_pop(p);
				if ((r = cb(arg, POP3_EV_END, NULL, 0)) != 0)
					return r;
			} else {
				/* ".\r" then more: a line that began with a
				 * stuffed dot and a bare CR. */
				p->state = PS_MID;
				if ((r = cb(arg, POP3_EV_DATA, "\r", 1)) != 0)
					return r;
			}
			break;
		}
	}
	return 0;
}
