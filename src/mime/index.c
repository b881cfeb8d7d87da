/*
 * The text of a message for a search index: what a reader sees of it,
 * decoded to UTF-8, and nothing of the attachments' bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

/*
 * Fields the index leaves out: the envelope's own (indexed apart), the
 * ones of a view's making, and machine-made trace and signature data,
 * which would be most of the index's words and never searched.
 */
static int
skipped(const char *name, size_t len)
{
	static const char *const names[] = { "from", "to", "cc", "subject",
		"received", "dkim-signature", "domainkey-signature", "arc-seal",
		"arc-message-signature", "arc-authentication-results",
		"authentication-results", "received-spf", "x-received",
		"x-google-dkim-signature", "x-gm-message-state",
		"x-google-smtp-source", "x-ms-exchange-", "x-forefront-",
		"x-microsoft-antispam", MIME_VIEW_FIELD };
	size_t i, nl;

	for (i = 0; i < TERN_NELEM(names); i++) {
		nl = strlen(names[i]);
		/* A name ending in '-' is a prefix. */
		if (names[i][nl - 1] == '-' ? len >= nl : len == nl) {
			if (ascii_strncasecmp(name, names[i], nl) == 0)
				return 1;
		}
	}
	return 0;
}

struct bounded {
	struct buf *out;
	size_t room;
};

/* As much of the text as there is room for, ending at a character. */
static int
add_text(void *arg, const char *data, size_t len)
{
	struct bounded *b = arg;

	if (len > b->room) {
		len = b->room;
		while (len > 0 && ((unsigned char)data[len] & 0xc0) == 0x80)
			len--;
	}
	if (buf_add(b->out, data, len) != 0)
		return -1;
	b->room -= len;
	return b->room == 0;
}

void
mime_index_text(
    const char *raw, size_t len, int view, struct buf *header, struct buf *body)
{
	struct mime_render_opts o;
	struct mime_header h;
	struct mime_msg *m;
	struct bounded b = { body, MIME_INDEX_MAX };
	size_t i, vl;
	char *v, *d;

	mime_header_parse(raw, len, &h);
	for (i = 0; i < h.n; i++) {
		if (skipped(h.v[i].name, h.v[i].namelen))
			continue;
		v = mime_field_unfold(&h.v[i], &vl);
		d = mime_decode_header(v, vl);
		if (header->len + h.v[i].namelen + strlen(d) + 3 <=
		    MIME_INDEX_MAX) {
			mime_utf8_sanitize(header, h.v[i].name, h.v[i].namelen);
			(void)buf_adds(header, ": ");
			(void)buf_adds(header, d);
			(void)buf_addc(header, '\n');
		}
		free(d);
		free(v);
	}
	mime_header_free(&h);
	memset(&o, 0, sizeof o);
	o.index = 1;
	o.width = 1000; /* words are words: no need to wrap */
	m = view ? mime_parse_view(raw, len) : mime_parse(raw, len);
	/* Past the limit the rest is left out. */
	(void)mime_render_to(m, &o, add_text, &b);
	mime_free(&m);
}
