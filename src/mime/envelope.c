/*
 * The envelope: the few header fields a message index needs, decoded to
 * UTF-8. It reads a bare header block (IMAP HEADER.FIELDS) as well as a
 * whole message, with CRLF or LF line ends.
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

static char *
addresses(const struct mime_header *h, const char *name)
{
	struct buf b;
	char *v;
	size_t n;

	if ((v = mime_header_get(h, name, &n)) == NULL)
		return NULL;
	buf_init(&b, 0);
	mime_address_list(v, n, &b);
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
first_msgid(const struct mime_header *h, const char *name)
{
	struct buf b;
	char *v;
	size_t n;

	if ((v = mime_header_get(h, name, &n)) == NULL)
		return NULL;
	buf_init(&b, 0);
	mime_msgids(v, n, 1, &b);
	if (b.len == 0 && n > 0 && strcmp(name, "message-id") == 0) {
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

/* "type/subtype" in lower case, or NULL if the value is not one. */
char *
mime_content_type_value(const struct mime_params *p)
{
	const char *slash;

	if (p->value == NULL || (slash = strchr(p->value, '/')) == NULL ||
	    slash == p->value || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL ||
	    !mime_utf8_valid(p->value, strlen(p->value)))
		return NULL;
	return xstrdup(p->value);
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
	struct mime_header h;
	struct mime_params ct;
	char *v;
	size_t n;

	memset(env, 0, sizeof *env);
	if (raw == NULL)
		len = 0;
	mime_header_parse(raw ? raw : "", len, &h);

	if ((v = mime_header_get(&h, "date", &n)) != NULL) {
		env->date = mime_date_parse(v, n);
		free(v);
	}
	env->from = addresses(&h, "from");
	if (env->from == NULL)
		env->from = addresses(&h, "sender");
	env->to = addresses(&h, "to");
	env->cc = addresses(&h, "cc");
	if ((v = mime_header_get(&h, "subject", &n)) != NULL) {
		env->subject = mime_decode_header(v, n);
		free(v);
	}
	env->message_id = first_msgid(&h, "message-id");
	env->in_reply_to = first_msgid(&h, "in-reply-to");
	if ((v = mime_header_get(&h, "references", &n)) != NULL) {
		env->refs = references(v, n);
		free(v);
	}

	if ((v = mime_header_get(&h, "content-type", &n)) != NULL) {
		mime_params_parse(v, n, &ct);
		env->content_type = mime_content_type_value(&ct);
		mime_params_free(&ct);
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
