/*
 * Postponed drafts: kept in the store at once (a local write, so the
 * keyboard never waits for a server), then uploaded to the server's
 * Drafts by whoever talks to it next: the account's worker in the
 * full-screen client, or tern sync.
 *
 * Exactly once: each draft is claimed (committed) before its APPEND and
 * removed from the store after the server's OK. A claimed draft found
 * again (a crash, or a connection lost before the answer) is appended
 * with CORE_APPEND_ONCE: the driver first looks for its Message-ID in
 * the folder and does not store it twice. Two terns uploading the same
 * retried draft at the same moment could still both store it; a
 * duplicate draft is the worst case, never a lost one.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/compose.h"
#include "tern/core.h"
#include "tern/smtp.h"
#include "tern/util.h"

static const char *
drafts_folder(const struct rc_account *a)
{
	return a->drafts != NULL ? a->drafts : "Drafts";
}

int
smtp_draft_postpone(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, int *queued, char **where, char **cause)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct store *s;
	char *msgid = NULL;
	int64_t acct;
	int ret = -1;

	*queued = 0;
	*where = NULL;
	/* Where the store is the only copy: there at once. */
	if (d == NULL || d->append == NULL)
		return smtp_draft_save(t, a, raw, len, where, cause);
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	acct = store_account(s, a->name, rc_protocol_name(a->protocol), cause);
	if (acct < 0)
		return -1;
	msgid = compose_header_get(raw, len, "Message-ID");
	if (store_draft_add(
	        s, acct, drafts_folder(a), raw, len, msgid, cause) != 0)
		goto out;
	*queued = 1;
	*where = xasprintf("%s/%s", a->name, drafts_folder(a));
	ret = 0;
out:
	free(msgid);
	return ret;
}

static void
report(smtp_draft_cb cb, void *arg, struct rc_account *a, int64_t id,
    const char *where, const char *reason)
{
	struct smtp_draft_outcome o;

	if (cb == NULL)
		return;
	memset(&o, 0, sizeof o);
	o.account = a->name;
	o.id = id;
	o.where = where;
	o.reason = reason;
	cb(arg, &o);
}

/*
 * Upload one queued draft. Returns 1 to go on (uploaded, or refused by
 * the server: it stays, and the next one may still fit), 0 to stop (no
 * answer from the server; it stays), -1 on a store error.
 */
static int
flush_one(struct tern *t, struct rc_account *a, const struct driver_ops *d,
    const struct store_pending *p, smtp_draft_cb cb, void *arg, char **cause)
{
	struct store *s = t->store;
	struct buf raw;
	unsigned flags = 0;
	int64_t when = 0;
	char *err = NULL, *where = NULL;
	int found, first, r, ret = -1;

	buf_init(&raw, 0);
	if ((found = store_pending_raw(s, p->id, &raw, &flags, &when, cause)) <
	    0)
		goto out;
	if (found == 0) {
		ret = 1; /* uploaded meanwhile by another tern */
		goto out;
	}
	if ((first = store_draft_claim(s, p->id, cause)) < 0)
		goto out;
	if (!first)
		flags |= CORE_APPEND_ONCE;
	if ((r = d->append(t, a, p->folder ? p->folder : drafts_folder(a),
	         raw.data, raw.len, flags, &err)) != 0) {
		report(cb, arg, a, p->id, NULL, err ? err : "not uploaded");
		ret = r > 0; /* refused, not unreachable: try the next one */
		goto out;
	}
	tern_fault("draft-after-append");
	if (store_pending_delete(s, p->id, cause) != 0)
		goto out;
	where = xasprintf(
	    "%s/%s", a->name, p->folder ? p->folder : drafts_folder(a));
	report(cb, arg, a, p->id, where, NULL);
	ret = 1;
out:
	free(err);
	free(where);
	buf_free(&raw);
	return ret;
}

int
smtp_drafts_flush(struct tern *t, struct rc_account *a, smtp_draft_cb cb,
    void *arg, char **cause)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct store_pending *v = NULL;
	struct store *s;
	size_t n = 0, i;
	int64_t acct;
	int ret = -1, go = 1;

	if (d == NULL || d->append == NULL)
		return 0;
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if ((acct = store_account_find(s, a->name, cause)) <= 0)
		return acct < 0 ? -1 : 0;
	if (store_pending_list(s, acct, &v, &n, cause) != 0)
		return -1;
	for (i = 0; i < n && go > 0; i++) {
		if (v[i].op != STORE_OP_DRAFT)
			continue;
		if ((go = flush_one(t, a, d, &v[i], cb, arg, cause)) < 0)
			goto out;
	}
	ret = 0;
out:
	store_pending_list_free(v, n);
	return ret;
}
