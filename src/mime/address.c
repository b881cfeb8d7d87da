/*
 * Address lists (RFC 5322 section 3.4 and the obsolete forms): display
 * names as phrases or quoted strings (with encoded words inside either),
 * comments ("addr (Name)"), groups ("team: a, b;"), source routes.
 *
 * One pass with a small state per mailbox; comments nest with a counter,
 * not recursion. The output is for people: "Name <addr>" or "addr".
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

void
mime_mailbox_init(struct mime_mailbox *m)
{
	buf_init(&m->phrase, 0);
	buf_init(&m->angle, 0);
	buf_init(&m->comment, 0);
	buf_init(&m->name, 0);
	buf_init(&m->addr, 0);
	buf_init(&m->tmp, 0);
	m->has_angle = 0;
	m->quoted = 0;
}

static void
mb_reset(struct mime_mailbox *m)
{
	buf_reset(&m->phrase);
	buf_reset(&m->angle);
	buf_reset(&m->comment);
	m->has_angle = 0;
	m->quoted = 0;
}

void
mime_mailbox_free(struct mime_mailbox *m)
{
	buf_free(&m->phrase);
	buf_free(&m->angle);
	buf_free(&m->comment);
	buf_free(&m->name);
	buf_free(&m->addr);
	buf_free(&m->tmp);
}

/* Bytes dropped inside <...>, and its end. */
static int
angle_skip(char c)
{
	return c == '>' || c == '"' || c == ' ' || c == '\t' || c == '\r' ||
	    c == '\n';
}

/* Bytes mime_address_list looks at between words. */
static int
special(char c)
{
	switch (c) {
	case '"':
	case '(':
	case '<':
	case ',':
	case ':':
	case ';':
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return 1;
	default:
		return 0;
	}
}

static void
phrase_space(struct mime_mailbox *m)
{
	if (m->phrase.len > 0 && m->phrase.data[m->phrase.len - 1] != ' ')
		(void)buf_addc(&m->phrase, ' ');
}

static void
trim(struct buf *b)
{
	size_t s = 0;

	while (b->len > 0 &&
	    (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
		b->data[--b->len] = '\0';
	while (s < b->len && (b->data[s] == ' ' || b->data[s] == '\t'))
		s++;
	buf_consume(b, s);
}

/* Decode in into out (empty), line ends as spaces, trimmed. */
static void
decode_into(struct buf *out, const struct buf *in)
{
	size_t i;

	mime_decode_words(in->data ? in->data : "", in->len, out);
	for (i = 0; i < out->len; i++) {
		if (out->data[i] == '\r' || out->data[i] == '\n')
			out->data[i] = ' ';
	}
	trim(out);
}

static void
mb_emit(struct mime_mailbox *m, struct buf *out)
{
	struct buf *name = &m->name, *addr = &m->addr;

	buf_reset(name);
	buf_reset(addr);
	trim(&m->phrase);
	trim(&m->comment);
	if (m->has_angle) {
		/* Drop an obsolete source route: <@a,@b:user@host>. */
		const char *a = m->angle.data ? m->angle.data : "";
		const char *colon = strrchr(a, ':');

		if (*a == '@' && colon != NULL)
			a = colon + 1;
		mime_charset_convert(NULL, a, strlen(a), addr);
		decode_into(name, m->phrase.len ? &m->phrase : &m->comment);
	} else if (m->phrase.len > 0 && !m->quoted &&
	    memchr(m->phrase.data, '@', m->phrase.len) != NULL) {
		/* A bare addr-spec, perhaps with spaces: "joe @ example.com". */
		const char *t;
		size_t i;

		buf_reset(&m->tmp);
		for (i = 0; i < m->phrase.len; i++) {
			if (m->phrase.data[i] != ' ')
				(void)buf_addc(&m->tmp, m->phrase.data[i]);
		}
		t = m->tmp.data ? m->tmp.data : "";
		mime_charset_convert(NULL, t, strlen(t), addr);
		decode_into(name, &m->comment);
	} else {
		/* No address at all: keep whatever words there are. */
		decode_into(name, m->phrase.len ? &m->phrase : &m->comment);
	}
	/* A display name equal to the address adds nothing. */
	if (name->len > 0 && addr->len > 0 &&
	    strcmp(name->data, addr->data) == 0)
		buf_reset(name);
	if (name->len > 0 || addr->len > 0) {
		if (out->len > 0)
			(void)buf_add(out, ", ", 2);
		if (name->len > 0 && addr->len > 0) {
			(void)buf_add(out, name->data, name->len);
			(void)buf_add(out, " <", 2);
			(void)buf_add(out, addr->data, addr->len);
			(void)buf_addc(out, '>');
		} else if (addr->len > 0)
			(void)buf_add(out, addr->data, addr->len);
		else
			(void)buf_add(out, name->data, name->len);
	}
	mb_reset(m);
}

void
mime_address_list(const char *s, size_t len, struct buf *out)
{
	struct mime_mailbox m;

	mime_mailbox_init(&m);
	mime_address_list_with(&m, s, len, out);
	mime_mailbox_free(&m);
}

void
mime_address_list_with(
    struct mime_mailbox *mb, const char *s, size_t len, struct buf *out)
{
	struct mime_mailbox m = *mb;
	size_t i = 0;
	int ingroup = 0;

	mb_reset(&m);
	while (i < len) {
		char c = s[i];

		if (c == '"') {
			phrase_space(&m);
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] != '\r' && s[i] != '\n')
					(void)buf_addc(&m.phrase, s[i]);
			}
			m.quoted = 1;
			i++;
			continue;
		}
		if (c == '(') {
			int depth = 0;
			int first = m.comment.len == 0;

			for (; i < len; i++) {
				if (s[i] == '\\' && i + 1 < len) {
					i++;
					if (first)
						(void)buf_addc(
						    &m.comment, s[i]);
					continue;
				}
				if (s[i] == '(') {
					if (depth++ == 0)
						continue;
				} else if (s[i] == ')') {
					if (--depth == 0)
						break;
				}
				if (first)
					(void)buf_addc(&m.comment, s[i]);
			}
			i++;
			continue;
		}
		if (c == '<') {
			m.has_angle = 1;
			buf_reset(&m.angle);
			for (i++; i < len && s[i] != '>';) {
				size_t j = i;

				while (j < len && !angle_skip(s[j]))
					j++;
				(void)buf_add(&m.angle, s + i, j - i);
				if (j < len && s[j] != '>')
					j++;
				i = j;
			}
			i++;
			continue;
		}
		if (c == ',') {
			mb_emit(&m, out);
			i++;
			continue;
		}
		if (c == ':' && !m.has_angle && !ingroup) {
			/* The group's name is not an address. */
			mb_reset(&m);
			ingroup = 1;
			i++;
			continue;
		}
		if (c == ';' && ingroup) {
			mb_emit(&m, out);
			ingroup = 0;
			i++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			phrase_space(&m);
			i++;
			continue;
		}
		if (m.has_angle) {
			/* Junk after <addr>: ignore it. */
			i++;
			continue;
		}
		{
			/* A run of word characters. */
			size_t j = i + 1;

			while (j < len && !special(s[j]))
				j++;
			(void)buf_add(&m.phrase, s + i, j - i);
			i = j;
		}
	}
	mb_emit(&m, out);
	*mb = m;
}
