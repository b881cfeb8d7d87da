/*
 * Bodies on demand: a whole message, what showing it needs (a view), or
 * one part, each on a connection kept for the next download.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/mime.h"
#include "tern/store.h"
#include "tern/util.h"

/*
 * Connect for a stored message m: its folder f selected, and the same
 * UIDVALIDITY as when it was indexed.
 */
static int
fetch_open(struct isync *is, int64_t msg_id, struct store_msg *m,
    struct store_folder *f, char **cause)
{
	int ok, found;

	if ((found = store_msg_get_id(is->s, msg_id, m, cause)) < 0)
		return -1;
	if (found == 0)
		return set_cause(cause, "no such message in the store");
	if (store_folder_get(is->s, m->folder_id, f, cause) != 0)
		return -1;
	isync_kept_take(is);
	if (is->c == NULL && isync_connect_account(is, cause) != 0)
		return -1;
	if (isync_learn_delim(is, cause) != 0)
		return -1;
	/* Still selected on a kept connection: its UIDVALIDITY holds. */
	ok = is->selected != NULL && is->folder_id == f->id &&
	    strcmp(is->selected, f->name) == 0;
	if (!ok &&
	    isync_select_folder(is, f->name, f->id, 0, 0, &ok, cause) != 0)
		return -1;
	if (!ok)
		return set_cause(cause, "%s: cannot open folder %s: %s",
		    is->c->peer, f->name, is->notes.data ? is->notes.data : "");
	if ((m->uidvalidity ? m->uidvalidity : f->uidvalidity) !=
	    is->uidvalidity)
		return set_cause(cause,
		    "%s: the folder %s was recreated on the "
		    "server; run tern sync",
		    is->c->peer, f->name);
	return 0;
}

static int
gone(struct isync *is, const struct store_msg *m, const struct store_folder *f,
    char **cause)
{
	return set_cause(cause,
	    "%s: message %u is no longer in %s; run tern "
	    "sync",
	    is->c->peer, m->uid, f->name);
}

/* Opening a message marks it seen on the server too. */
static int
fetch_seen(struct isync *is, const struct store_msg *m, char **cause)
{
	if (m->flags & STORE_F_SEEN)
		return 0;
	return imap_simple(
	    is->c, cause, "UID STORE %u +FLAGS.SILENT (\\Seen)", m->uid);
}

/* The whole message into message.raw, on an open connection; seen:
 * marked seen too, in the store and on the server. */
/* What a body fetch collects: the bytes of one UID. */
struct body_fetch {
	uint32_t uid;
	struct buf body;
	int got;
};

static int
body_fetch(void *arg, const struct imap_resp *r, char **cause)
{
	struct body_fetch *b = arg;
	struct fetch_items fi;
	const char *data;
	size_t len = 0;

	if (isync_fetch_items(r, &fi) != 0 || fi.uid != b->uid || fi.body == 0)
		return 0;
	buf_reset(&b->body);
	if ((data = imap_astr(r, fi.body, &len)) != NULL)
		(void)buf_add(&b->body, data, len);
	b->got = 1;
	return 0;
}

static int
fetch_whole(struct isync *is, const struct store_msg *m,
    const struct store_folder *f, int seen, char **cause)
{
	struct body_fetch b;
	int ret = -1;

	memset(&b, 0, sizeof b);
	b.uid = m->uid;
	buf_init(&b.body, 0);
	imap_allow_bodies(is->c, 1);
	if (imap_simple_fetch(is->c, body_fetch, &b, cause,
	        "UID FETCH %u (UID BODY.PEEK[])", m->uid) != 0)
		goto out;
	imap_allow_bodies(is->c, 0);
	if (!b.got) {
		gone(is, m, f, cause);
		goto out;
	}
	if (store_begin(is->s, cause) != 0)
		goto out;
	if (store_msg_set_raw(is->s, m->id, b.body.data, b.body.len, cause) !=
	        0 ||
	    (seen &&
	        store_msg_set_flags(
	            is->s, m->id, m->flags | STORE_F_SEEN, cause) != 0)) {
		store_rollback(is->s);
		goto out;
	}
	if (store_commit(is->s, cause) != 0)
		goto out;
	ret = seen ? fetch_seen(is, m, cause) : 0;
out:
	buf_free(&b.body);
	return ret;
}

/* What a view fetch collects: the structure and sections of one UID. */
struct view_fetch {
	uint32_t uid;
	struct imap_view *view;
};

static int
view_fetch(void *arg, const struct imap_resp *r, char **cause)
{
	struct view_fetch *v = arg;
	struct fetch_items fi;

	if (isync_fetch_items(r, &fi) != 0 || fi.uid != v->uid)
		return 0;
	return imap_view_on_fetch(v->view, r, fi.list, cause);
}

/* A download's session: the message, its folder, the connection. */
struct fetch_ctx {
	struct isync is;
	struct store_msg m;
	struct store_folder f;
};

/* Connect for message msg_id, its folder selected: 0, or -1 with cause. */
static int
fetch_begin(struct fetch_ctx *x, struct tern *t, struct rc_account *a,
    int64_t msg_id, char **cause)
{
	memset(&x->m, 0, sizeof x->m);
	memset(&x->f, 0, sizeof x->f);
	if (isync_init(&x->is, t, a, NULL, cause) != 0)
		return -1;
	return fetch_open(&x->is, msg_id, &x->m, &x->f, cause);
}

/*
 * End a download that returns ret: its connection is kept for the next
 * one when it went well. *reused: the connection was a kept one.
 */
static int
fetch_end(struct fetch_ctx *x, int ret, int *reused)
{
	if (ret == 0)
		x->is.keep = 1;
	store_msg_clear(&x->m);
	store_folder_clear(&x->f);
	*reused = x->is.reused;
	isync_clear(&x->is);
	return ret;
}

/*
 * A download the driver was asked for: the whole message (seen: marked
 * seen too), what showing it needs, or one part (section).
 */
struct fetch_req {
	int64_t msg_id;
	int seen;
	const char *section;
};

static int
fetch_once(struct tern *t, struct rc_account *a, const struct fetch_req *req,
    int *reused, char **cause)
{
	struct fetch_ctx x;
	int ret = -1;

	*reused = 0;
	if (fetch_begin(&x, t, a, req->msg_id, cause) != 0 ||
	    fetch_whole(&x.is, &x.m, &x.f, req->seen, cause) != 0)
		goto out;
	ret = 0;
out:
	return fetch_end(&x, ret, reused);
}

/*
 * What showing a message needs (body.c): BODYSTRUCTURE and the header,
 * then in one command every part's own header and the text parts shown,
 * kept as the skeleton in the part table ("VIEW"). A structure the
 * server gets wrong falls back to the whole message.
 */
int
isync_view(struct isync *is, const struct store_msg *m,
    const struct store_folder *f, int seen, char **cause)
{
	struct view_fetch v = { 0, NULL };
	struct buf items, skel;
	int ret = -1;

	buf_init(&items, 0);
	buf_init(&skel, 0);
	v.uid = m->uid;
	v.view = imap_view_new();
	imap_allow_bodies(is->c, 1);
	if (imap_simple_fetch(is->c, view_fetch, &v, cause,
	        "UID FETCH %u (UID BODYSTRUCTURE BODY.PEEK[HEADER])",
	        m->uid) != 0)
		goto out;
	if (imap_view_get(v.view, "HEADER") == NULL &&
	    !imap_view_ready(v.view) && imap_view_error(v.view) == NULL) {
		ret = 1;
		goto out;
	}
	if (!imap_view_ready(v.view) ||
	    imap_view_get(v.view, "HEADER") == NULL) {
		/* A structure we cannot trust: the exact bytes instead. */
		ret = seen ? fetch_whole(is, m, f, 1, cause)
		           : isync_bodies(is, &m->uid, 1, cause);
		goto out;
	}
	imap_view_items(v.view, &items);
	if (items.len > 0 &&
	    imap_simple_fetch(is->c, view_fetch, &v, cause,
	        "UID FETCH %u (UID%s)", m->uid, items.data) != 0)
		goto out;
	imap_allow_bodies(is->c, 0);
	if (imap_view_skeleton(v.view, &skel, cause) != 0)
		goto out;
	if (store_begin(is->s, cause) != 0)
		goto out;
	if (store_part_set(is->s, m->id, STORE_PART_VIEW, skel.data, skel.len,
	        cause) != 0 ||
	    (seen &&
	        store_msg_set_flags(
	            is->s, m->id, m->flags | STORE_F_SEEN, cause) != 0)) {
		store_rollback(is->s);
		goto out;
	}
	if (store_commit(is->s, cause) != 0 ||
	    (seen && fetch_seen(is, m, cause) != 0))
		goto out;
	ret = 0;
out:
	if (is->c != NULL)
		imap_allow_bodies(is->c, 0);
	imap_view_free(&v.view);
	buf_free(&items);
	buf_free(&skel);
	return ret;
}

/* The view on a connection of its own, for the message opened. */
static int
fetch_view_once(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause)
{
	struct fetch_ctx x;
	int ret = -1, rc;

	*reused = 0;
	if (fetch_begin(&x, t, a, req->msg_id, cause) != 0)
		goto out;
	if ((rc = isync_view(&x.is, &x.m, &x.f, 1, cause)) == 1)
		gone(&x.is, &x.m, &x.f, cause);
	else if (rc != 0 && imap_err(x.is.c) == DRV_PROTO) {
		/*
		 * A reply the parser refuses (a structure nested deeper
		 * than it reads): the whole message on a new connection,
		 * parsed here, where its parts are within limits.
		 */
		free(*cause);
		*cause = NULL;
		isync_drop_connection(&x.is);
		store_msg_clear(&x.m);
		store_folder_clear(&x.f);
		if (fetch_open(&x.is, req->msg_id, &x.m, &x.f, cause) == 0)
			ret = fetch_whole(&x.is, &x.m, &x.f, 1, cause);
	} else
		ret = rc;
out:
	return fetch_end(&x, ret, reused);
}

/* One part alone (an attachment being saved or opened). */
static int
fetch_part_once(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause)
{
	const char *section = req->section;
	struct fetch_ctx x;
	struct view_fetch v = { 0, NULL };
	const struct buf *b;
	size_t k, len = strlen(section);
	int ret = -1;

	*reused = 0;
	/* It goes into a command: digits and dots only. */
	for (k = 0; k < len; k++) {
		if ((section[k] < '0' || section[k] > '9') &&
		    (section[k] != '.' || k == 0 || k + 1 == len ||
		        section[k - 1] == '.'))
			break;
	}
	if (len == 0 || len > 64 || k < len)
		return set_cause(
		    cause, "'%s' is not a part of a message", section);
	if (fetch_begin(&x, t, a, req->msg_id, cause) != 0)
		goto out;
	v.uid = x.m.uid;
	v.view = imap_view_new();
	imap_allow_bodies(x.is.c, 1);
	if (imap_simple_fetch(x.is.c, view_fetch, &v, cause,
	        "UID FETCH %u (UID BODY.PEEK[%s])", x.m.uid, section) != 0)
		goto out;
	imap_allow_bodies(x.is.c, 0);
	if ((b = imap_view_get(v.view, section)) == NULL) {
		gone(&x.is, &x.m, &x.f, cause);
		goto out;
	}
	if (store_part_set(x.is.s, x.m.id, section, b->data ? b->data : "",
	        b->len, cause) != 0)
		goto out;
	ret = 0;
out:
	imap_view_free(&v.view);
	return fetch_end(&x, ret, reused);
}

/*
 * A kept connection can look good and still be gone: a server that closed
 * it an instant ago, a BYE still inside a TLS record, a firewall that
 * dropped it unseen. A download that failed on one is tried once more on
 * a new connection; everything a download stores can be stored again.
 */
typedef int fetch_fn(struct tern *t, struct rc_account *a,
    const struct fetch_req *req, int *reused, char **cause);

static int
fetch_retrying(fetch_fn *once, struct tern *t, struct rc_account *a,
    const struct fetch_req *req, char **cause)
{
	int reused, ret = once(t, a, req, &reused, cause);

	if (ret != 0 && reused) {
		if (cause != NULL) {
			free(*cause);
			*cause = NULL;
		}
		ret = once(t, a, req, &reused, cause);
	}
	return ret;
}

int
imap_fetch(struct tern *t, struct rc_account *a, int64_t msg_id, int seen,
    char **cause)
{
	struct fetch_req req = { msg_id, seen, NULL };

	return fetch_retrying(fetch_once, t, a, &req, cause);
}

int
imap_fetch_view(
    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause)
{
	struct fetch_req req = { msg_id, 1, NULL };

	return fetch_retrying(fetch_view_once, t, a, &req, cause);
}

int
imap_fetch_part(struct tern *t, struct rc_account *a, int64_t msg_id,
    const char *section, char **cause)
{
	struct fetch_req req = { msg_id, 0, section };

	return fetch_retrying(fetch_part_once, t, a, &req, cause);
}
