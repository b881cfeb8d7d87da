/*
 * The outbox: queue, send exactly once, file the Sent copy, mark the
 * original of a reply answered. The states are described in smtp.h and
 * store.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/compose.h"
#include "tern/core.h"
#include "tern/crypto.h"
#include "tern/mime.h"
#include "tern/smtp.h"
#include "tern/util.h"

struct rc_account *
smtp_account_for(struct rc *rc, const char *raw, size_t len)
{
	char *from = compose_header_get(raw, len, "From"), *spec, *own;
	struct rc_account *found = NULL;
	size_t i;

	spec = from != NULL ? compose_addr_spec(from) : NULL;
	for (i = 0; spec != NULL && i < rc->naccounts && found == NULL; i++) {
		if (rc->accounts[i].from == NULL)
			continue;
		own = compose_addr_spec(rc->accounts[i].from);
		if (own != NULL && ascii_strcasecmp(own, spec) == 0)
			found = &rc->accounts[i];
		free(own);
	}
	free(spec);
	free(from);
	return found;
}

static int64_t
account_id(struct tern *t, struct rc_account *a, char **cause)
{
	struct store *s = tern_store(t, cause);

	if (s == NULL)
		return -1;
	return store_account(s, a->name, rc_protocol_name(a->protocol), cause);
}

int64_t
smtp_outbox_queue(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, char **cause)
{
	struct buf full, sendable;
	char **rcpts = NULL;
	int64_t id = -1, acct;

	/* Unbounded here (LF to CRLF can grow it), checked right after. */
	buf_init(&full, 0);
	buf_init(&sendable, 0);
	compose_complete_raw(raw, len, a->from, &full);
	/*
	 * Signed and encrypted here, before anything is stored: the outbox
	 * and the Sent copy hold what is sent, never a clear text that was
	 * meant to be encrypted.
	 */
	{
		struct buf prot;

		buf_init(&prot, 0);
		if (crypto_message(tern_crypto(t), a, CRYPTO_DEFAULT,
		        CRYPTO_DEFAULT, full.data ? full.data : "", full.len,
		        &prot, cause) != 0) {
			buf_free(&prot);
			goto out;
		}
		if (full.data != NULL)
			explicit_bzero(full.data, full.cap);
		buf_free(&full);
		full = prot;
	}
	if (full.len > COMPOSE_MESSAGE_MAX) {
		id = core_refuse(cause, "the message is too large");
		goto out;
	}
	/* Refuse now what could never be sent. */
	if (compose_prepare_raw(
	        full.data, full.len, &sendable, &rcpts, cause) != 0) {
		id = CORE_REFUSED;
		goto out;
	}
	if ((acct = account_id(t, a, cause)) < 0)
		goto out;
	id = store_outbox_add(t->store, acct, full.data, full.len, cause);
out:
	compose_strv_free(rcpts);
	buf_free(&full);
	buf_free(&sendable);
	return id;
}

/* The envelope sender: the account's address, else the message's From. */
static char *
envelope_from(struct rc_account *a, const char *raw, size_t len)
{
	char *from, *spec;

	if (a->from != NULL && (spec = compose_addr_spec(a->from)) != NULL)
		return spec;
	from = compose_header_get(raw, len, "From");
	spec = from != NULL ? compose_addr_spec(from) : NULL;
	free(from);
	return spec != NULL ? spec : xstrdup("");
}

/*
 * Keep a copy in the store's folder (removing outbox row outbox_id, if
 * not 0, in the same transaction); *where says which folder.
 */
static int
copy_local(struct tern *t, struct rc_account *a, const char *folder,
    const char *raw, size_t len, unsigned flags, int64_t outbox_id,
    char **where, char **cause)
{
	struct store *s = t->store;
	struct mime_envelope env;
	struct store_msg m;
	const char *acct_name = a->name;
	int64_t acct;
	int ret = -1;

	memset(&m, 0, sizeof m);
	/*
	 * An IMAP account's folders mirror the server: a copy the server
	 * does not have would not survive its next sync there.
	 */
	if (core_account_remote(a))
		acct_name = TERN_LOCAL_ACCOUNT;
	if (store_begin(s, cause) != 0)
		return -1;
	acct = store_account(s, acct_name,
	    core_account_remote(a) ? "local" : rc_protocol_name(a->protocol),
	    cause);
	if (acct < 0)
		goto out;
	if ((m.folder_id = store_folder(s, acct, folder, 1, cause)) < 0)
		goto out;
	/* Indexed like any message the drivers store. */
	mime_envelope_parse(raw, len, &env);
	m.flags = flags;
	m.internaldate = m.fetched_at = (int64_t)time(NULL);
	core_msg_from_envelope(&m, &env);
	if (m.date == 0)
		m.date = m.internaldate;
	memset(&env, 0, sizeof env); /* m owns the strings now */
	if (store_msg_insert(s, &m, raw, len, cause) != 0)
		goto out;
	/* The copy and the end of the outbox row commit together. */
	if (outbox_id != 0 && store_outbox_delete(s, outbox_id, cause) != 0)
		goto out;
	ret = store_commit(s, cause);
	if (ret == 0)
		*where = xasprintf("%s/%s", acct_name, folder);
out:
	if (ret != 0)
		store_rollback(s);
	store_msg_clear(&m);
	return ret;
}

/*
 * A copy in the account's folder: on the server through the driver's
 * append, else in the store. outbox_id as for copy_local. When the
 * server cannot take it: a Sent copy (outbox_id set) fails, and its
 * outbox row, already "sent", has the copy filed at the next flush; a
 * draft (nothing else holds it) is kept in the store instead.
 */
static int
file_copy(struct tern *t, struct rc_account *a, const char *folder,
    const char *raw, size_t len, unsigned flags, int64_t outbox_id,
    char **where, char **cause)
{
	const struct driver_ops *d = core_driver(a->protocol);
	char *err = NULL;

	*where = NULL;
	if (tern_store(t, cause) == NULL)
		return -1;
	if (d != NULL && d->append != NULL) {
		if (d->append(t, a, folder, raw, len, flags, &err) == 0) {
			*where = xasprintf("%s/%s", a->name, folder);
			return outbox_id != 0
			    ? store_outbox_delete(t->store, outbox_id, cause)
			    : 0;
		}
		if (outbox_id != 0) {
			*cause = err;
			return -1;
		}
		/* The offline fallback: local/Drafts for an IMAP account. */
		tern_warnx("%s: %s; kept in the store instead", a->name, err);
		free(err);
	}
	return copy_local(
	    t, a, folder, raw, len, flags, outbox_id, where, cause);
}

/* The Sent copy of an accepted message, then its outbox row goes. */
static int
file_sent(struct tern *t, struct rc_account *a, const struct store_outbox *o,
    char **where, char **cause)
{
	return file_copy(t, a, a->sent != NULL ? a->sent : "Sent", o->raw,
	    o->len, STORE_F_SEEN, o->id, where, cause);
}

int
smtp_draft_save(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, char **where, char **cause)
{
	return file_copy(t, a, a->drafts != NULL ? a->drafts : "Drafts", raw,
	    len, STORE_F_DRAFT | STORE_F_SEEN, 0, where, cause);
}

/* The original of a reply (by In-Reply-To) gets the answered flag. */
static void
mark_answered(struct tern *t, struct rc_account *a, const char *raw, size_t len,
    int64_t acct)
{
	char *irt = compose_header_get(raw, len, "In-Reply-To");
	int64_t *ids = NULL;
	size_t n = 0, i;
	char *cause = NULL;

	if (irt == NULL)
		return;
	if (store_msg_find_msgid(t->store, acct, irt, &ids, &n, &cause) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct store_msg m;
		struct store_folder f;
		struct folder_ref r;

		if (store_msg_get_id(t->store, ids[i], &m, &cause) != 1)
			continue;
		memset(&f, 0, sizeof f);
		if (store_folder_get(t->store, m.folder_id, &f, &cause) == 0) {
			memset(&r, 0, sizeof r);
			r.account = a;
			r.account_name = a->name;
			r.folder = f.name;
			r.account_id = acct;
			r.folder_id = m.folder_id;
			if (core_flag(t, &r, &m.uid, 1, STORE_F_REPLIED, 0,
			        &cause) != 0) {
				tern_warnx("%s: marking the original answered: "
				           "%s",
				    a->name, cause);
				free(cause);
				cause = NULL;
			}
		}
		store_folder_clear(&f);
		store_msg_clear(&m);
	}
out:
	free(cause);
	free(ids);
	free(irt);
}

static void
report(smtp_outcome_cb cb, void *arg, struct rc_account *a, int64_t id,
    enum smtp_result r, const char *reason, const char *copy,
    const char *copy_error)
{
	struct smtp_outcome o;

	if (cb == NULL)
		return;
	memset(&o, 0, sizeof o);
	o.account = a->name;
	o.id = id;
	o.result = r;
	o.reason = reason;
	o.copy = copy;
	o.copy_error = copy_error;
	cb(arg, &o);
}

/* Send one claimed message; returns its result. */
static enum smtp_result
send_one(struct rc_account *a, struct smtp_params *p,
    const struct store_outbox *o, char **reason)
{
	struct buf data;
	char **rcpts = NULL, *from;
	enum smtp_result r;

	buf_init(&data, 0);
	if (compose_prepare_raw(o->raw, o->len, &data, &rcpts, reason) != 0) {
		buf_free(&data);
		return SMTP_REFUSED;
	}
	from = envelope_from(a, o->raw, o->len);
	r = smtp_send(p, from, rcpts, data.data, data.len, reason);
	free(from);
	compose_strv_free(rcpts);
	buf_free(&data);
	return r;
}

static const char unknown_why[] =
    "interrupted during sending: the server may have accepted it";

struct flush {
	struct tern *t;
	struct rc_account *a;
	int64_t acct;
	struct smtp_params p;
	int have_params;
	smtp_outcome_cb cb;
	void *arg;
};

/*
 * Send one queued message (or file the copy of one accepted earlier).
 * Returns 1 to go on, 0 to stop (the server is away), -1 on a store
 * error.
 */
static int
flush_one(struct flush *f, struct store_outbox *o, char **cause)
{
	struct tern *t = f->t;
	struct rc_account *a = f->a;
	char *reason = NULL, *where = NULL, *err = NULL;
	enum smtp_result r;
	int claimed, ret = -1;

	if (o->state == STORE_OUTBOX_SENT) {
		/* Accepted earlier; only the copy was missing. */
		if (file_sent(t, a, o, &where, &err) != 0)
			report(f->cb, f->arg, a, o->id, SMTP_SENT, NULL, NULL,
			    err);
		else
			report(f->cb, f->arg, a, o->id, SMTP_SENT, NULL, where,
			    NULL);
		ret = 1;
		goto out;
	}
	if (!f->have_params) {
		if (smtp_params_account(a, &f->p, &reason) != 0) {
			report(f->cb, f->arg, a, o->id, SMTP_TEMPFAIL, reason,
			    NULL, NULL);
			ret = store_outbox_set_state(t->store, o->id,
			          STORE_OUTBOX_QUEUED, reason, cause) != 0
			    ? -1
			    : 0;
			goto out;
		}
		f->have_params = 1;
	}
	if ((claimed = store_outbox_claim(t->store, o->id, cause)) <= 0) {
		ret = claimed < 0 ? -1 : 1; /* 0: another tern has it */
		goto out;
	}
	r = send_one(a, &f->p, o, &reason);
	switch (r) {
	case SMTP_SENT:
		if (store_outbox_set_state(
		        t->store, o->id, STORE_OUTBOX_SENT, NULL, cause) != 0)
			goto out;
		mark_answered(t, a, o->raw, o->len, f->acct);
		if (file_sent(t, a, o, &where, &err) != 0)
			report(f->cb, f->arg, a, o->id, r, NULL, NULL, err);
		else
			report(f->cb, f->arg, a, o->id, r, NULL, where, NULL);
		break;
	case SMTP_OFFLINE:
	case SMTP_DEFERRED:
	case SMTP_TEMPFAIL:
		if (store_outbox_set_state(t->store, o->id, STORE_OUTBOX_QUEUED,
		        reason, cause) != 0)
			goto out;
		report(f->cb, f->arg, a, o->id, r, reason, NULL, NULL);
		break;
	case SMTP_REFUSED:
	case SMTP_UNKNOWN:
		if (store_outbox_set_state(t->store, o->id,
		        r == SMTP_REFUSED ? STORE_OUTBOX_FAILED
		                          : STORE_OUTBOX_UNKNOWN,
		        reason, cause) != 0)
			goto out;
		report(f->cb, f->arg, a, o->id, r, reason, NULL, NULL);
		break;
	}
	/* The next message would find the server just as absent. */
	ret = r == SMTP_OFFLINE ? 0 : 1;
out:
	free(reason);
	free(where);
	free(err);
	return ret;
}

int
smtp_outbox_flush(struct tern *t, struct rc_account *a, smtp_outcome_cb cb,
    void *arg, char **cause)
{
	struct store_outbox *v = NULL, o;
	struct flush f;
	size_t n = 0, i;
	int ret = -1, found, go = 1;

	memset(&f, 0, sizeof f);
	f.t = t;
	f.a = a;
	f.cb = cb;
	f.arg = arg;
	if ((f.acct = account_id(t, a, cause)) < 0)
		return -1;
	/* Only the list here: each message's bytes are read when sent. */
	if (store_outbox_list(t->store, f.acct, 0, &v, &n, cause) != 0)
		goto out;
	for (i = 0; i < n && go > 0; i++) {
		if (v[i].state == STORE_OUTBOX_SENDING) {
			/*
			 * Left "sending" by a run that did not finish (or
			 * one still running): it may have been delivered.
			 */
			if (store_outbox_set_state(t->store, v[i].id,
			        STORE_OUTBOX_UNKNOWN, unknown_why, cause) != 0)
				goto out;
			report(cb, arg, a, v[i].id, SMTP_UNKNOWN, unknown_why,
			    NULL, NULL);
			continue;
		}
		if (v[i].state != STORE_OUTBOX_QUEUED &&
		    v[i].state != STORE_OUTBOX_SENT)
			continue;
		if ((found = store_outbox_get(t->store, v[i].id, &o, cause)) <
		    0)
			goto out;
		if (found == 0)
			continue; /* dropped meanwhile */
		go = flush_one(&f, &o, cause);
		store_outbox_clear(&o);
		if (go < 0)
			goto out;
	}
	ret = 0;
out:
	smtp_params_clear(&f.p);
	store_outbox_list_free(v, n);
	return ret;
}
