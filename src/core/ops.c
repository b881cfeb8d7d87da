/*
 * Flags and keywords, move and purge: applied to the store at once, and for IMAP
 * accounts queued for the server, all in one transaction so a failure
 * changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/util.h"

static int
need_folder(const struct folder_ref *r, char **cause)
{
	if (r->folder == NULL)
		return core_refuse(cause, "name a folder: ACCOUNT/FOLDER");
	if (r->folder_id == 0)
		return core_refuse(cause, "no folder '%s' in account %s",
		    r->folder, r->account_name);
	return 0;
}

static int
queue(struct store *s, const struct folder_ref *r, enum store_op op,
    const char *folder, const struct store_msg *m, const char *arg,
    char **cause)
{
	struct store_pending p;

	memset(&p, 0, sizeof p);
	p.account_id = r->account_id;
	p.op = op;
	p.folder = (char *)folder;
	p.uidvalidity = m != NULL ? m->uidvalidity : 0;
	p.uid = m != NULL ? m->uid : 0;
	p.arg = (char *)arg;
	p.msgid = m != NULL ? m->message_id : NULL;
	return store_pending_add(s, &p, cause);
}

static int
queue_move(struct store *s, const struct folder_ref *r, enum store_op op,
    const struct store_msg *m, const char *to, uint32_t placeholder,
    char **cause)
{
	struct store_pending p;

	memset(&p, 0, sizeof p);
	p.account_id = r->account_id;
	p.op = op;
	p.folder = r->folder;
	p.uidvalidity = m->uidvalidity;
	p.uid = m->uid;
	p.arg = (char *)to;
	p.msgid = m->message_id;
	p.placeholder = placeholder;
	return store_pending_add(s, &p, cause);
}

int
core_flag(struct tern *t, const struct folder_ref *r, const uint32_t *uids,
    size_t n, unsigned add, unsigned del, char **cause)
{
	struct core_flag_change c;

	memset(&c, 0, sizeof c);
	c.add = add;
	c.del = del;
	return core_flag_change(t, r, uids, n, &c, cause);
}

int
core_flag_change(struct tern *t, const struct folder_ref *r,
    const uint32_t *uids, size_t n, const struct core_flag_change *c,
    char **cause)
{
	struct store *s;
	struct store_msg m;
	char *arg = NULL, *kw = NULL;
	int keywords = c->nkw_add + c->nkw_del > 0;
	size_t i;
	int found, ret = -1;

	if ((found = need_folder(r, cause)) != 0)
		return found;
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	arg = core_flag_change_format(c);
	if (store_begin(s, cause) != 0)
		goto fail_nobegin;
	for (i = 0; i < n; i++) {
		found = store_msg_get(s, r->folder_id, uids[i], &m, cause);
		if (found < 0)
			goto fail;
		if (found == 0) {
			ret = core_refuse(cause, "no message %u in %s/%s",
			    uids[i], r->account_name, r->folder);
			goto fail;
		}
		if (keywords)
			kw = core_keywords_apply(m.keywords, c);
		if (store_msg_set_flags(
		        s, m.id, (m.flags | c->add) & ~c->del, cause) != 0 ||
		    (keywords &&
		        store_msg_set_keywords(s, m.id, kw, cause) != 0) ||
		    (core_account_remote(r->account) &&
		        queue(s, r, STORE_OP_FLAGS, r->folder, &m, arg,
		            cause) != 0)) {
			store_msg_clear(&m);
			goto fail;
		}
		free(kw);
		kw = NULL;
		store_msg_clear(&m);
	}
	if (store_commit(s, cause) != 0)
		goto fail_nobegin;
	free(arg);
	return 0;
fail:
	store_rollback(s);
fail_nobegin:
	free(kw);
	free(arg);
	return ret;
}

int
core_msg_copy(struct store *s, const struct store_msg *m, int64_t folder_id,
    uint32_t uid, int need_body, int64_t *new_id, char **cause)
{
	struct store_msg c = *m;
	struct buf raw;
	int found, ret = -1;

	buf_init(&raw, 0);
	if ((found = store_msg_raw(s, m->id, &raw, cause)) < 0)
		goto out;
	if (found == 0 && need_body) {
		set_cause(cause, "message %u has no stored body", m->uid);
		goto out;
	}
	c.id = 0;
	c.folder_id = folder_id;
	c.uid = uid;
	c.uidvalidity = 0;
	c.modseq = 0;
	c.flags &= STORE_F_ALL;
	c.pop3_uidl = NULL;
	c.fetched_at = 0;
	ret = store_msg_insert(
	    s, &c, found ? raw.data : NULL, found ? raw.len : 0, cause);
	if (ret == 0 && new_id != NULL)
		*new_id = c.id;
out:
	buf_free(&raw);
	return ret;
}

/*
 * Copy one message within its account: a store-only account gets a new
 * row with the same bytes; an IMAP account shows the copy in the target
 * at once under a placeholder UID (with the body when it is stored) and
 * queues a "copy" for the server.
 */
static int
copy_one(struct store *s, const struct folder_ref *from,
    const struct store_msg *m, int64_t target, const char *to_folder,
    char **cause)
{
	uint32_t placeholder = 0;

	if (!core_account_remote(from->account))
		return core_msg_copy(s, m, target, 0, 1, NULL, cause);
	if (store_imap_placeholder(s, target, &placeholder, cause) != 0 ||
	    core_msg_copy(s, m, target, placeholder, 0, NULL, cause) != 0)
		return -1;
	return queue_move(
	    s, from, STORE_OP_COPY, m, to_folder, placeholder, cause);
}

/* A move within the account: IMAP shows the message in the target at
 * once under a placeholder UID, which the replay gives the server's
 * (COPYUID) or the next sync indexes it there. */
static int
move_one(struct store *s, const struct folder_ref *from,
    const struct store_msg *m, int64_t target, const char *to_folder,
    char **cause)
{
	uint32_t placeholder;

	if (!core_account_remote(from->account))
		return store_msg_move(s, m->id, target, cause);
	if (store_imap_move_placeholder(
	        s, m->id, target, &placeholder, cause) != 0)
		return -1;
	return queue_move(
	    s, from, STORE_OP_MOVE, m, to_folder, placeholder, cause);
}

/* core_move (keep 0) and core_copy: all or nothing. */
static int
relocate(struct tern *t, const struct folder_ref *from, const uint32_t *uids,
    size_t n, const char *to_folder, int keep, char **cause)
{
	struct store *s;
	struct store_msg m;
	int64_t target;
	size_t i;
	int found, ret = -1;

	if ((found = need_folder(from, cause)) != 0)
		return found;
	if (core_folder_name_check(to_folder, cause) != 0)
		return CORE_REFUSED;
	if (strcmp(from->folder, to_folder) == 0)
		return core_refuse(
		    cause, "%s is already in %s", "the message", to_folder);
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if (store_begin(s, cause) != 0)
		return -1;
	target = store_folder(s, from->account_id, to_folder, 1, cause);
	if (target < 0)
		goto fail;
	for (i = 0; i < n; i++) {
		found = store_msg_get(s, from->folder_id, uids[i], &m, cause);
		if (found < 0)
			goto fail;
		if (found == 0) {
			ret = core_refuse(cause, "no message %u in %s/%s",
			    uids[i], from->account_name, from->folder);
			goto fail;
		}
		found = keep ? copy_one(s, from, &m, target, to_folder, cause)
		             : move_one(s, from, &m, target, to_folder, cause);
		store_msg_clear(&m);
		if (found != 0)
			goto fail;
	}
	return store_commit(s, cause);
fail:
	store_rollback(s);
	return ret;
}

int
core_move(struct tern *t, const struct folder_ref *from, const uint32_t *uids,
    size_t n, const char *to_folder, char **cause)
{
	return relocate(t, from, uids, n, to_folder, 0, cause);
}

int
core_copy(struct tern *t, const struct folder_ref *from, const uint32_t *uids,
    size_t n, const char *to_folder, char **cause)
{
	return relocate(t, from, uids, n, to_folder, 1, cause);
}

struct purge_list {
	int64_t *ids;
	uint32_t *uids;
	uint32_t *uidvalidity;
	size_t n;
};

static int
purge_collect(void *arg, const struct store_msg *m)
{
	struct purge_list *l = arg;

	if (m->flags & STORE_F_DELETED) {
		l->ids = xreallocarray(l->ids, l->n + 1, sizeof *l->ids);
		l->uids = xreallocarray(l->uids, l->n + 1, sizeof *l->uids);
		l->uidvalidity = xreallocarray(
		    l->uidvalidity, l->n + 1, sizeof *l->uidvalidity);
		l->ids[l->n] = m->id;
		l->uids[l->n] = m->uid;
		l->uidvalidity[l->n] = m->uidvalidity;
		l->n++;
	}
	return 0;
}

int
core_purge(struct tern *t, const struct folder_ref *r, char **cause)
{
	struct purge_list l = { NULL, NULL, NULL, 0 };
	struct store *s;
	size_t i;
	int ret = -1;

	if ((ret = need_folder(r, cause)) != 0)
		return ret;
	ret = -1;
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if (store_begin(s, cause) != 0)
		return -1;
	if (store_msg_foreach(s, r->folder_id, purge_collect, &l, cause) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (core_account_remote(r->account)) {
			struct store_msg m;

			memset(&m, 0, sizeof m);
			m.uid = l.uids[i];
			m.uidvalidity = l.uidvalidity[i];
			if (queue(s, r, STORE_OP_EXPUNGE, r->folder, &m, NULL,
			        cause) != 0)
				goto out;
		}
		if (store_msg_delete(s, l.ids[i], cause) != 0)
			goto out;
	}
	ret = store_commit(s, cause);
out:
	if (ret != 0)
		store_rollback(s);
	free(l.ids);
	free(l.uids);
	free(l.uidvalidity);
	return ret;
}

int
core_move_to(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const char *target, int keep, char **note,
    char **cause)
{
	struct folder_ref to;
	const char *slash = strchr(target, '/');
	char *acct;
	int other = 0, status;

	if (note != NULL)
		*note = NULL;
	if (slash != NULL) {
		acct = xstrndup(target, (size_t)(slash - target));
		if (strcmp(acct, from->account_name) == 0)
			target = slash + 1;
		else if (rc_find_account(t->rc, acct) != NULL ||
		    strcmp(acct, TERN_LOCAL_ACCOUNT) == 0)
			other = 1;
		free(acct);
	}
	if (other) {
		if ((status = folder_ref_parse(t, target, &to, cause)) != 0)
			return status;
		status = core_exit_status(
		    core_transfer(t, from, uids, n, &to, keep, note, cause));
		folder_ref_clear(&to);
		return status;
	}
	if (*target == '\0') {
		set_cause(cause, "no target folder");
		return TERN_EXIT_USAGE;
	}
	if (keep)
		return core_exit_status(
		    core_copy(t, from, uids, n, target, cause));
	return core_exit_status(core_move(t, from, uids, n, target, cause));
}
