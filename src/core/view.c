/*
 * Showing a message, shared by the pager and tern cat.
 *
 * The exact bytes win when the store has them. Otherwise an IMAP message
 * may have a view: its header, structure and text parts (the driver's
 * fetch_view), with each attachment downloaded alone when it is saved or
 * opened (fetch_part) and kept in the part table, so everything once
 * opened stays readable offline.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/mime.h"
#include "tern/util.h"

int
core_view_part_load(
    struct store *s, int64_t msg_id, struct mime_msg *m, size_t i, char **cause)
{
	const struct mime_part *p = mime_part_at(m, i);
	struct buf b;
	int r;

	if (p == NULL || !p->missing)
		return 1;
	if (p->remote_section == NULL)
		return 0;
	buf_init(&b, 0);
	r = store_part_get(s, msg_id, p->remote_section, &b, cause);
	if (r == 1 &&
	    mime_part_fill(m, i, b.data ? b.data : "", b.len, cause) != 0)
		r = -1;
	buf_free(&b);
	return r;
}

static void
body_release(void *arg)
{
	struct store_body *b = arg;

	store_body_release(b);
	free(b);
}

int
core_view_load(struct store *s, int64_t msg_id, size_t max,
    struct mime_msg **mp, char **cause)
{
	struct store_body *body = xcalloc(1, sizeof *body);
	struct buf b;
	size_t i;
	int r;

	*mp = NULL;
	buf_init(&b, max);
	/* The stored bytes are parsed where they are: no copy of a big
	 * message. */
	if ((r = store_msg_body(s, msg_id, body, cause)) == 1) {
		if (max != 0 && body->len > max) {
			r = set_cause(cause,
			    "the message is too big to show (%zu bytes)",
			    body->len);
			body_release(body);
		} else
			*mp = mime_parse_owned(
			    body->data, body->len, body_release, body);
		goto out;
	}
	free(body);
	if (r < 0)
		goto out;
	if ((r = store_part_get(s, msg_id, STORE_PART_VIEW, &b, cause)) != 1)
		goto out;
	*mp = mime_parse_view(b.data ? b.data : "", b.len);
	for (i = 0; i < mime_part_count(*mp); i++) {
		if (core_view_part_load(s, msg_id, *mp, i, cause) < 0) {
			mime_free(mp);
			r = -1;
			goto out;
		}
	}
out:
	buf_free(&b);
	return r;
}

int
core_view_fetch(
    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct store *s;
	struct store_msg m;
	int r, ret = -1;

	if (d == NULL || d->fetch == NULL)
		return set_cause(
		    cause, "account %s cannot download bodies", a->name);
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	memset(&m, 0, sizeof m);
	if ((r = store_msg_get_id(s, msg_id, &m, cause)) <= 0) {
		if (r == 0)
			set_cause(cause, "no such message in the store");
		goto out;
	}
	if (d->fetch_view != NULL && m.size >= CORE_VIEW_WHOLE)
		ret = d->fetch_view(t, a, msg_id, cause);
	else
		ret = d->fetch(t, a, msg_id, 1, cause);
out:
	store_msg_clear(&m);
	return ret;
}

int
core_view_part(struct tern *t, struct rc_account *a, int64_t msg_id,
    struct mime_msg *m, size_t i, char **cause)
{
	const struct mime_part *p = mime_part_at(m, i);
	const struct driver_ops *d;
	struct store *s;
	int r;

	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if ((r = core_view_part_load(s, msg_id, m, i, cause)) != 0)
		return r < 0 ? -1 : 0;
	if (p->remote_section == NULL)
		return set_cause(
		    cause, "part %s cannot be downloaded", p->section);
	d = a != NULL ? core_driver(a->protocol) : NULL;
	if (d == NULL || d->fetch_part == NULL)
		return set_cause(
		    cause, "part %s is not downloaded", p->section);
	if (d->fetch_part(t, a, msg_id, p->remote_section, cause) != 0)
		return -1;
	if ((r = core_view_part_load(s, msg_id, m, i, cause)) < 0)
		return -1;
	if (r == 0)
		return set_cause(
		    cause, "part %s could not be downloaded", p->section);
	return 0;
}
