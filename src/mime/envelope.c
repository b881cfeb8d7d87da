/*
 * The envelope: the few header fields a message index needs, decoded to
 * UTF-8. It reads a bare header block (IMAP HEADER.FIELDS) as well as a
 * whole message, with CRLF or LF line ends.
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

/* The fields the envelope reads, found in one pass over the header. */
enum {
	F_DATE,
	F_FROM,
	F_SENDER,
	F_TO,
	F_CC,
	F_SUBJECT,
	F_MESSAGE_ID,
	F_IN_REPLY_TO,
	F_REFERENCES,
	F_CONTENT_TYPE,
	F_COUNT
};

static const struct {
	const char *name;
	size_t len;
} fields[F_COUNT] = {
	{ "date", 4 },
	{ "from", 4 },
	{ "sender", 6 },
	{ "to", 2 },
	{ "cc", 2 },
	{ "subject", 7 },
	{ "message-id", 10 },
	{ "in-reply-to", 11 },
	{ "references", 10 },
	{ "content-type", 12 },
};

static void
find_fields(const struct mime_header *h, const struct mime_field **f)
{
	size_t i, k, left = F_COUNT;

	memset(f, 0, F_COUNT * sizeof *f);
	for (i = 0; i < h->n && left > 0; i++) {
		const struct mime_field *v = &h->v[i];

		for (k = 0; k < F_COUNT; k++) {
			if (f[k] == NULL && v->namelen == fields[k].len &&
			    (v->name[0] | 0x20) == fields[k].name[0] &&
			    ascii_strncasecmp(
			        v->name, fields[k].name, v->namelen) == 0) {
				f[k] = v;
				left--;
				break;
			}
		}
	}
}

static char *
addresses(struct mime_mailbox *m, const struct mime_field *f)
{
	struct buf b;
	char *v;
	size_t n;

	if (f == NULL)
		return NULL;
	v = mime_field_unfold(f, &n);
	buf_init(&b, 0);
	mime_address_list_with(m, v, n, &b);
	free(v);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* Keep the first and the last max-1 ids: the ends are what threading uses. */
static char *
references(const char *s, size_t len)
{
	struct buf all, out;
	size_t count = 0, i, skip, seen = 0;
	char *p, *save = NULL, *tok;

	buf_init(&all, 0);
	mime_msgids(s, len, SIZE_MAX, &all);
	if (all.len == 0) {
		buf_free(&all);
		return NULL;
	}
	for (i = 0; i < all.len; i++)
		count += all.data[i] == ' ';
	count++;
	if (count <= MIME_MAX_REFS)
		return buf_steal(&all, NULL);
	skip = count - MIME_MAX_REFS;
	buf_init(&out, 0);
	p = all.data;
	for (tok = strtok_r(p, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save), seen++) {
		if (seen >= 1 && seen <= skip)
			continue;
		if (out.len > 0)
			(void)buf_addc(&out, ' ');
		(void)buf_adds(&out, tok);
	}
	buf_free(&all);
	return buf_steal(&out, NULL);
}

static char *
first_msgid(const struct mime_field *f, int is_message_id)
{
	struct buf b;
	char *v;
	size_t n;

	if (f == NULL)
		return NULL;
	v = mime_field_unfold(f, &n);
	buf_init(&b, 0);
	mime_msgids(v, n, 1, &b);
	if (b.len == 0 && n > 0 && is_message_id) {
		/* No brackets: keep what is there, it still identifies. */
		mime_utf8_sanitize(&b, v, n);
	}
	free(v);
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* value if it is "type/subtype" (in lower case), else NULL; takes value. */
static char *
content_type(char *value)
{
	const char *slash;

	if (value == NULL || (slash = strchr(value, '/')) == NULL ||
	    slash == value || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL ||
	    !mime_utf8_valid(value, strlen(value))) {
		free(value);
		return NULL;
	}
	return value;
}

/* "type/subtype" in lower case, or NULL if the value is not one. */
char *
mime_content_type_value(const struct mime_params *p)
{
	return content_type(p->value ? xstrdup(p->value) : NULL);
}

int
mime_has_attachment(const char *raw, size_t len, const struct mime_header *h,
    const char *content_type)
{
	struct mime_params cd;
	char *v;
	size_t n;
	int r = 0;

	if (strncmp(content_type, "multipart/", 10) == 0 && h->body < len) {
		/* The whole message is here: look at what it shows. */
		struct mime_msg *m = mime_parse(raw, len);

		for (n = 0; n < m->n && !r; n++)
			r = m->parts[n].role == ROLE_ATTACHMENT;
		mime_free(&m);
		return r;
	}
	if (strcmp(content_type, "multipart/mixed") == 0)
		return 1;
	if (strncmp(content_type, "application/", 12) == 0 ||
	    strncmp(content_type, "image/", 6) == 0 ||
	    strncmp(content_type, "audio/", 6) == 0 ||
	    strncmp(content_type, "video/", 6) == 0)
		return 1;
	if ((v = mime_header_get(h, "content-disposition", &n)) != NULL) {
		mime_params_parse(v, n, &cd);
		r = cd.value != NULL && strcmp(cd.value, "attachment") == 0;
		mime_params_free(&cd);
		free(v);
	}
	return r;
}

void
mime_envelope_parse(const char *raw, size_t len, struct mime_envelope *env)
{
	const struct mime_field *f[F_COUNT];
	struct mime_mailbox mb;
	struct mime_header h;
	char *v;
	size_t n;

	memset(env, 0, sizeof *env);
	if (raw == NULL)
		len = 0;
	mime_header_parse(raw ? raw : "", len, &h);
	find_fields(&h, f);

	if (f[F_DATE] != NULL) {
		v = mime_field_unfold(f[F_DATE], &n);
		env->date = mime_date_parse(v, n);
		free(v);
	}
	mime_mailbox_init(&mb);
	env->from = addresses(&mb, f[F_FROM]);
	if (env->from == NULL)
		env->from = addresses(&mb, f[F_SENDER]);
	env->to = addresses(&mb, f[F_TO]);
	env->cc = addresses(&mb, f[F_CC]);
	mime_mailbox_free(&mb);
	if (f[F_SUBJECT] != NULL) {
		v = mime_field_unfold(f[F_SUBJECT], &n);
		env->subject = mime_decode_header(v, n);
		free(v);
	}
	env->message_id = first_msgid(f[F_MESSAGE_ID], 1);
	env->in_reply_to = first_msgid(f[F_IN_REPLY_TO], 0);
	if (f[F_REFERENCES] != NULL) {
		v = mime_field_unfold(f[F_REFERENCES], &n);
		env->refs = references(v, n);
		free(v);
	}

	if (f[F_CONTENT_TYPE] != NULL) {
		/* The parameters are of no use to the index. */
		v = mime_field_unfold(f[F_CONTENT_TYPE], &n);
		env->content_type = content_type(mime_params_value(v, n, NULL));
		free(v);
	}
	if (env->content_type == NULL)
		env->content_type = xstrdup("text/plain");
	env->has_attach =
	    mime_has_attachment(raw ? raw : "", len, &h, env->content_type);
	mime_header_free(&h);
}

void
mime_envelope_clear(struct mime_envelope *env)
{
	free(env->from);
	free(env->to);
	free(env->cc);
	free(env->subject);
	free(env->message_id);
	free(env->in_reply_to);
	free(env->refs);
	free(env->content_type);
	memset(env, 0, sizeof *env);
}
