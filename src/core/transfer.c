/*
 * Moves and copies between accounts.
 *
 * The rule everywhere: a message is removed from where it was only once
 * its new copy is durable. A store-only account (local, POP3) holds the
 * exact bytes, so a move between two of them is a row changing folder.
 * IMAP to store: the body is downloaded if needed, the copy committed,
 * and only then is the server copy flagged \Deleted and that UID alone
 * queued for expunge. Store to IMAP: an APPEND is queued, and the store
 * copy is deleted by the driver once the server accepted the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/util.h"

static int
queue(struct store *s, int64_t account_id, enum store_op op, const char *folder,
    uint32_t uidvalidity, uint32_t uid, const char *arg, char **cause)
{
	struct store_pending p;

	memset(&p, 0, sizeof p);
	p.account_id = account_id;
	p.op = op;
	p.folder = (char *)folder;
	p.uidvalidity = uidvalidity;
	p.uid = uid;
	p.arg = (char *)arg;
	return store_pending_add(s, &p, cause);
}

/*
 * Queue m (a store-only message) for APPEND to to's IMAP folder
 * target_id, and show a copy there at once under a placeholder UID, which
 * the replay gives the server's (APPENDUID) or removes for the next sync
 * to index.
 */
static int
queue_append(struct store *s, const struct folder_ref *to, int64_t target_id,
    const struct store_msg *m, int keep, char **cause)
{
	struct store_pending p;
	int64_t id = 0;
	int ret = -1;

	memset(&p, 0, sizeof p);
	p.account_id = to->account_id;
	p.op = keep ? STORE_OP_APPEND : STORE_OP_APPEND_MOVE;
	p.folder = to->folder;
	p.arg = xasprintf("%lld", (long long)m->id);
	p.msgid = m->message_id;
	if (m->has_body &&
	    (core_msg_copy(s, m, target_id, 0, 1, &id, cause) != 0 ||
	        store_imap_move_placeholder(
	            s, id, target_id, &p.placeholder, cause) != 0))
		goto out;
	ret = store_pending_add(s, &p, cause);
out:
	free(p.arg);
	return ret;
}

/* One message from an IMAP folder to a store-only folder. */
static int
imap_to_store(struct tern *t, struct store *s, const struct folder_ref *from,
    struct store_msg *m, int64_t target, const char *target_spec, int keep,
    int *queued, char **cause)
{
	const struct driver_ops *d = core_driver(from->account->protocol);
	char *fcause = NULL;
	int64_t fid;
	uint32_t uid, uidvalidity;
	int found = m->has_body, ret = -1;

	if (!found && d != NULL && d->fetch != NULL) {
		/* Outside our transaction: the driver commits what it got. */
		if (d->fetch(t, from->account, m->id, 0, &fcause) == 0 &&
		    store_msg_where(
		        s, m->id, &fid, &uid, &uidvalidity, &found, cause) < 0)
			return -1;
		free(fcause);
	}
	if (store_begin(s, cause) != 0)
		return -1;
	if (found == 0) {
		/* Offline: the whole transfer waits for the next sync. */
		if (queue(s, from->account_id,
		        keep ? STORE_OP_TOLOCAL_COPY : STORE_OP_TOLOCAL,
		        from->folder, m->uidvalidity, m->uid, target_spec,
		        cause) != 0)
			goto fail;
		(*queued)++;
	} else {
		if (core_msg_copy(s, m, target, 0, 1, NULL, cause) != 0)
			goto fail;
		/*
		 * The copy commits with the queued removal; the server acts
		 * on it only at replay, long after the copy is durable.
		 */
		if (!keep &&
		    (queue(s, from->account_id, STORE_OP_FLAGS, from->folder,
		         m->uidvalidity, m->uid, "+T", cause) != 0 ||
		        queue(s, from->account_id, STORE_OP_EXPUNGE,
		            from->folder, m->uidvalidity, m->uid, NULL,
		            cause) != 0 ||
		        store_msg_delete(s, m->id, cause) != 0))
			goto fail;
	}
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return ret;
}

/* Is an "append-move" of message row idarg queued? 1, 0, or -1. */
static int
queued_move(
    struct store *s, int64_t account_id, const char *idarg, char **cause)
{
	struct store_pending *v;
	size_t n, i;
	int found = 0;

	if (store_pending_list(s, account_id, &v, &n, cause) != 0)
		return -1;
	for (i = 0; i < n && !found; i++) {
		found = v[i].op == STORE_OP_APPEND_MOVE && v[i].arg != NULL &&
		    strcmp(v[i].arg, idarg) == 0;
	}
	store_pending_list_free(v, n);
	return found;
}

/*
 * The bodies of many messages of from that the store lacks, all at once
 * when the driver can (one at a time otherwise, in imap_to_store). A
 * failure is not one: what is still missing is queued for the next sync.
 */
static int
fetch_ahead(struct tern *t, struct store *s, const struct folder_ref *from,
    const uint32_t *uids, size_t n, char **cause)
{
	const struct driver_ops *d = core_driver(from->account->protocol);
	struct store_msg m;
	int64_t *ids;
	size_t i, k = 0;
	char *fcause = NULL;
	int found;

	if (n < 2 || d == NULL || d->fetch_many == NULL)
		return 0;
	ids = xreallocarray(NULL, n, sizeof *ids);
	for (i = 0; i < n; i++) {
		if ((found = store_msg_get(
		         s, from->folder_id, uids[i], &m, cause)) < 0) {
			free(ids);
			return -1;
		}
		if (found == 1 && !m.has_body)
			ids[k++] = m.id;
		if (found == 1)
			store_msg_clear(&m);
	}
	if (k > 0)
		(void)d->fetch_many(t, from->account, ids, k, &fcause);
	free(fcause);
	free(ids);
	return 0;
}

/* From an IMAP folder, one message at a time, the bodies fetched ahead. */
static int
from_remote(struct tern *t, struct store *s, const struct folder_ref *from,
    const uint32_t *uids, size_t n, int64_t target, const char *target_spec,
    int keep, int *queued, char **cause)
{
	struct store_msg m;
	size_t i;
	int found;

	if (fetch_ahead(t, s, from, uids, n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((found = store_msg_get(
		         s, from->folder_id, uids[i], &m, cause)) <= 0) {
			if (found == 0)
				set_cause(
				    cause, "message %u vanished", uids[i]);
			return -1;
		}
		found = imap_to_store(
		    t, s, from, &m, target, target_spec, keep, queued, cause);
		store_msg_clear(&m);
		if (found != 0)
			return -1;
	}
	return 0;
}

/*
 * From a store-only folder, in one transaction: to an IMAP folder queued
 * (the source of a move goes once the server has it), else moved or
 * copied here.
 */
static int
from_store(struct tern *t, struct store *s, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const struct folder_ref *to, int64_t target,
    int keep, int *queued, char **cause)
{
	int remote = core_account_remote(to->account);
	struct store_msg m;
	char *idarg;
	size_t i;
	int found = -1, refused = 0;

	if (store_begin(s, cause) != 0)
		return -1;
	/* A new IMAP folder is made on the server before anything goes in. */
	if (remote && to->folder_id == 0 &&
	    core_folder_create(t, to, cause) != 0)
		goto fail;
	if (remote &&
	    (target = store_folder(s, to->account_id, to->folder, 1, cause)) <
	        0)
		goto fail;
	for (i = 0; i < n; i++) {
		if (store_msg_get(s, from->folder_id, uids[i], &m, cause) != 1)
			goto fail;
		if (remote) {
			idarg = xasprintf("%lld", (long long)m.id);
			found = keep
			    ? 0
			    : queued_move(s, to->account_id, idarg, cause);
			free(idarg);
			if (found > 0)
				refused = found = core_refuse(cause,
				    "message %u is already queued to move to "
				    "%s",
				    m.uid, to->account_name);
			if (found == 0)
				found = queue_append(
				    s, to, target, &m, keep, cause);
			(*queued)++;
		} else if (keep)
			found = core_msg_copy(s, &m, target, 0, 1, NULL, cause);
		else
			found = store_msg_move(s, m.id, target, cause);
		store_msg_clear(&m);
		if (found != 0)
			goto fail;
	}
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return refused ? CORE_REFUSED : -1;
}

int
core_transfer(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const struct folder_ref *to, int keep,
    char **note, char **cause)
{
	struct store *s;
	struct store_msg m;
	char *target_spec = NULL;
	int64_t target = 0;
	size_t i;
	int found, queued = 0, ret = -1;

	if (note != NULL)
		*note = NULL;
	if (from->folder == NULL || to->folder == NULL)
		return core_refuse(cause, "name folders as ACCOUNT/FOLDER");
	if (from->folder_id == 0)
		return core_refuse(cause, "no folder '%s' in account %s",
		    from->folder, from->account_name);
	if (from->account_id == to->account_id)
		return keep ? core_copy(t, from, uids, n, to->folder, cause)
		            : core_move(t, from, uids, n, to->folder, cause);
	if (core_account_remote(from->account) &&
	    core_account_remote(to->account))
		return core_refuse(cause,
		    "moving between two IMAP accounts is not supported; "
		    "move to a local folder first");
	if (core_folder_name_check(to->folder, cause) != 0)
		return CORE_REFUSED;
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if (!core_account_remote(to->account) &&
	    (target = store_folder(s, to->account_id, to->folder, 1, cause)) <
	        0)
		return -1;
	target_spec = xasprintf("%s/%s", to->account_name, to->folder);
	/* Check every UID first, so a typo changes nothing. */
	for (i = 0; i < n; i++) {
		if ((found = store_msg_get(
		         s, from->folder_id, uids[i], &m, cause)) < 0)
			goto out;
		store_msg_clear(&m);
		if (found == 0) {
			ret = core_refuse(cause, "no message %u in %s/%s",
			    uids[i], from->account_name, from->folder);
			goto out;
		}
	}
	if (core_account_remote(from->account))
		ret = from_remote(t, s, from, uids, n, target, target_spec,
		    keep, &queued, cause);
	else
		ret = from_store(
		    t, s, from, uids, n, to, target, keep, &queued, cause);
out:
	if (ret == 0 && queued > 0 && note != NULL)
		*note = xasprintf("%d message%s queued for %s at the next sync",
		    queued, queued == 1 ? "" : "s", target_spec);
	free(target_spec);
	return ret;
}

/*
 * Finish one queued "tolocal" op: 2 done (the op is gone with it), 0
 * nothing left to do (delete the op), 1 keep it (offline), -1 error.
 */
static int
replay_tolocal(struct tern *t, struct store *s, struct rc_account *a,
    int64_t account_id, const struct store_pending *p, char **cause)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct folder_ref from, to;
	struct store_msg m;
	char *fcause = NULL;
	int found, ret = -1;

	memset(&from, 0, sizeof from);
	memset(&to, 0, sizeof to);
	from.account = a;
	from.account_name = a->name;
	from.account_id = account_id;
	from.folder = xstrdup(p->folder ? p->folder : "");
	if ((from.folder_id =
	            store_folder(s, account_id, from.folder, 0, cause)) < 0)
		goto out;
	found = from.folder_id == 0
	    ? 0
	    : store_msg_get(s, from.folder_id, p->uid, &m, cause);
	if (found < 0)
		goto out;
	/* Gone, or the folder was recreated: nothing left to move. */
	if (found == 0 ||
	    (p->uidvalidity != 0 && m.uidvalidity != p->uidvalidity)) {
		if (found)
			store_msg_clear(&m);
		ret = 0;
		goto out;
	}
	if (!m.has_body &&
	    (d == NULL || d->fetch == NULL ||
	        d->fetch(t, a, m.id, 0, &fcause) != 0)) {
		free(fcause);
		store_msg_clear(&m);
		ret = 1;
		goto out;
	}
	store_msg_clear(&m);
	if (p->arg == NULL || folder_ref_parse(t, p->arg, &to, cause) != 0)
		goto out;
	/* The copy and the end of the op commit together. */
	if (store_begin(s, cause) != 0)
		goto out;
	if (core_transfer(t, &from, &p->uid, 1, &to,
	        p->op == STORE_OP_TOLOCAL_COPY, NULL, cause) != 0 ||
	    store_pending_delete(s, p->id, cause) != 0) {
		store_rollback(s);
		goto out;
	}
	ret = store_commit(s, cause) == 0 ? 2 : -1;
out:
	folder_ref_clear(&from);
	folder_ref_clear(&to);
	return ret;
}

int
core_transfer_replay(struct tern *t, struct rc_account *a, char **cause)
{
	struct store_pending *v = NULL;
	struct store *s;
	int64_t account_id;
	size_t n = 0, i;
	int ret = -1, rc;

	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	account_id =
	    store_account(s, a->name, rc_protocol_name(a->protocol), cause);
	if (account_id < 0 ||
	    store_pending_list(s, account_id, &v, &n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i].op != STORE_OP_TOLOCAL &&
		    v[i].op != STORE_OP_TOLOCAL_COPY)
			continue;
		rc = replay_tolocal(t, s, a, account_id, &v[i], cause);
		if (rc < 0)
			goto out;
		if (rc == 1)
			break; /* offline: the rest waits too */
		if (rc == 0 && store_pending_delete(s, v[i].id, cause) != 0)
			goto out;
	}
	ret = 0;
out:
	store_pending_list_free(v, n);
	return ret;
}
