/*
 * The IMAP driver object (driver.h): one session (struct isync) and the
 * fine-grained operations core's replay uses. Each returns an error class:
 * a failure of the connection is DRV_CONN or DRV_PROTO (imap_err), a NO
 * from the server DRV_REFUSED, unless the operation knows better (a
 * folder that is not there, a message that is gone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-sync.h"
#include "tern/driver.h"
#include "tern/oauth.h"
#include "tern/util.h"

struct drv {
	struct isync is; /* first: imap_drv_of() converts back */
};

struct isync *
imap_drv_session(struct drv *d)
{
	return &d->is;
}

struct drv *
imap_drv_of(struct isync *is)
{
	return (struct drv *)is;
}

/* The class of a failure of the session's last call. */
static enum drv_err
fail_class(struct isync *is)
{
	return imap_err(is->c);
}

/* The class of a failed connect: a refused login is no reason to retry. */
static enum drv_err
login_err(int r)
{
	return r == NET_ERR_AUTH || r == OAUTH_LOGIN ? DRV_AUTH : DRV_CONN;
}

static enum drv_err
op_open(struct tern *t, struct rc_account *a, const struct sync_opts *o,
    struct drv **dp, char **err)
{
	struct drv *d = xcalloc(1, sizeof *d);
	int r;

	*dp = NULL;
	if (isync_init(&d->is, t, a, o, err) != 0) {
		isync_clear(&d->is);
		free(d);
		return DRV_STORE;
	}
	if ((r = isync_connect_account(&d->is, err)) != 0) {
		isync_clear(&d->is);
		free(d);
		return login_err(r);
	}
	*dp = d;
	return DRV_OK;
}

static void
op_close(struct drv **dp)
{
	if (*dp == NULL)
		return;
	isync_clear(&(*dp)->is);
	free(*dp);
	*dp = NULL;
}

static enum drv_err
op_reconnect(struct drv *d, char **err)
{
	int r;

	isync_drop_connection(&d->is);
	if ((r = isync_connect_account(&d->is, err)) != 0)
		return login_err(r);
	return DRV_OK;
}

static unsigned
op_caps(struct drv *d)
{
	unsigned caps = 0;

	if (d->is.c->caps & IMAP_CAP_MOVE)
		caps |= DRV_CAN_MOVE;
	if (d->is.c->caps & IMAP_CAP_UIDPLUS)
		caps |= DRV_CAN_UIDPLUS;
	return caps;
}

/* The server's names (and delimiter) for the folders named, once. */
static enum drv_err
listed(struct isync *is, char **err)
{
	if (is->listed)
		return DRV_OK;
	isync_folders_free(is);
	if (imap_simple(is->c, err, "LIST \"\" \"*\"") != 0)
		return fail_class(is);
	is->listed = 1;
	return DRV_OK;
}

/* The LIST entry of folder, or NULL: listed() first. */
static const struct folder_entry *
entry(struct isync *is, const char *folder)
{
	size_t k;

	for (k = 0; k < is->nfolders; k++) {
		if (strcmp(is->folders[k].name, folder) == 0)
			return &is->folders[k];
	}
	return NULL;
}

static enum drv_err
op_select(struct drv *d, const char *folder, uint32_t *uidvalidity,
    uint32_t *uidnext, char **err)
{
	struct isync *is = &d->is;
	enum drv_err e;
	int64_t id;
	int ok;

	if ((e = listed(is, err)) != DRV_OK)
		return e;
	/* Selected already (a find in the folder of the op it serves). */
	if (is->selected != NULL && strcmp(is->selected, folder) == 0)
		goto out;
	/* Flag changes that arrive meanwhile go to the right rows. */
	if ((id = store_folder(is->s, is->account_id, folder, 0, err)) < 0)
		return DRV_STORE;
	if (isync_select_folder(is, folder, id, 0, 0, &ok, err) != 0)
		return fail_class(is);
	if (!ok) {
		set_cause(err, "no folder %s on the server", folder);
		return DRV_BOX_BAD;
	}
out:
	if (uidvalidity != NULL)
		*uidvalidity = is->uidvalidity;
	if (uidnext != NULL)
		*uidnext = is->uidnext;
	return DRV_OK;
}

/* Commit what untagged responses stored while an op ran. */
static enum drv_err
settle(struct isync *is, enum drv_err e, char **err)
{
	if (e == DRV_OK && isync_txn_commit(is, err) != 0)
		return DRV_STORE;
	return e;
}

static enum drv_err
op_has(struct drv *d, uint32_t uid, char **err)
{
	int rc = isync_probe(&d->is, uid, err);

	if (rc < 0)
		return fail_class(&d->is);
	return settle(&d->is, rc ? DRV_OK : DRV_MSG_BAD, err);
}

/* Can s go in a quoted string as it is? */
static int
quotable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

static enum drv_err
op_find(struct drv *d, const char *folder, const struct drv_msgkey *k,
    uint32_t *uid, char **err)
{
	struct isync *is = &d->is;
	struct buf q;
	enum drv_err e;
	size_t i, n = 0;
	char *id = NULL;

	*uid = 0;
	buf_init(&q, 0);
	if (k->message_id != NULL && *k->message_id != '\0') {
		if (!quotable(k->message_id))
			return DRV_MSG_BAD;
		id = imap_quote(k->message_id);
		(void)buf_printf(&q, "HEADER Message-ID %s", id);
		free(id);
	} else if (k->size > 0)
		(void)buf_printf(&q, "LARGER %llu SMALLER %llu",
		    (unsigned long long)k->size - 1,
		    (unsigned long long)k->size + 1);
	else
		return DRV_MSG_BAD; /* nothing to know it by */
	if (k->min_uid > 1)
		(void)buf_printf(&q, " UID %u:*", k->min_uid);
	if ((e = op_select(d, folder, NULL, NULL, err)) != DRV_OK)
		goto out;
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, err, "UID SEARCH %s", q.data) != 0) {
		e = fail_class(is);
		goto out;
	}
	/* "N:*" is the last UID even below N. */
	for (i = 0; i < is->search.n; i++) {
		if (is->search.v[i] >= k->min_uid) {
			*uid = is->search.v[i];
			n++;
		}
	}
	e = n == 0 || (k->unique && n > 1) ? DRV_MSG_BAD : DRV_OK;
	e = settle(is, e, err);
out:
	buf_free(&q);
	return e;
}

/* STORE +FLAGS or -FLAGS of the flag bits in bits on the UIDs of set;
 * 0 or -1. */
static int
store_bits_set(
    struct isync *is, const char *set, char sign, unsigned bits, char **err)
{
	struct buf fl;
	int rc;

	if (bits == 0)
		return 0;
	buf_init(&fl, 0);
	imap_flags_format(&fl, bits);
	rc = imap_simple(
	    is->c, err, "UID STORE %s %cFLAGS.SILENT (%s)", set, sign, fl.data);
	buf_free(&fl);
	return rc;
}

static int
store_bits(struct isync *is, uint32_t uid, char sign, unsigned bits, char **err)
{
	char set[16];

	snprintf(set, sizeof set, "%u", uid);
	return store_bits_set(is, set, sign, bits, err);
}

/*
 * The keywords of c (sign 0: added, 1: removed) on the UIDs of set, which
 * the notes call what. A keyword the folder's PERMANENTFLAGS cannot keep,
 * or a STORE the server refuses, is noted and goes into dropped:
 * retrying would never succeed.
 */
static int
store_keywords(struct isync *is, const char *set, const char *what, int sign,
    const struct core_flag_change *c, struct core_flag_change *dropped,
    char **err)
{
	char *const *v = sign == 0 ? c->kw_add : c->kw_del;
	size_t n = sign == 0 ? c->nkw_add : c->nkw_del, i;
	struct imap_cmd *cmd = NULL;
	struct buf kw;
	int ret = -1;

	buf_init(&kw, 0);
	for (i = 0; i < n; i++) {
		/* Checked again: the queue is a file on disk. */
		if (core_keyword_check(v[i], NULL) != 0)
			continue;
		if (sign == 0 && !isync_perm_keyword(is, v[i])) {
			isync_note(is,
			    "keyword %s dropped: %s cannot keep it "
			    "(PERMANENTFLAGS)",
			    v[i], what);
			if (dropped != NULL)
				(void)core_flag_change_keyword(
				    dropped, 0, v[i], NULL);
			continue;
		}
		(void)buf_printf(&kw, "%s%s", kw.len ? " " : "", v[i]);
	}
	if (kw.len == 0) {
		ret = 0;
		goto out;
	}
	if ((cmd = imap_send(is->c, err, "UID STORE %s %cFLAGS.SILENT (%s)",
	         set, sign == 0 ? '+' : '-', kw.data)) == NULL ||
	    imap_wait(is->c, cmd, err) != 0)
		goto out;
	if (cmd->status != IMAP_OK) {
		isync_note(is, "keywords %s on %s dropped: %s", kw.data, what,
		    cmd->text ? cmd->text : "refused");
		for (i = 0; sign == 0 && dropped != NULL && i < n; i++)
			(void)core_flag_change_keyword(dropped, 0, v[i], NULL);
	}
	ret = 0;
out:
	imap_cmd_free(&cmd);
	buf_free(&kw);
	return ret;
}

/* The flags and keywords of c on the UIDs of set (what, in notes). */
static enum drv_err
set_flags_on(struct isync *is, const char *set, const char *what,
    const struct core_flag_change *c, struct core_flag_change *dropped,
    char **err)
{
	if (store_bits_set(is, set, '+', c->add, err) != 0 ||
	    store_bits_set(is, set, '-', c->del, err) != 0 ||
	    store_keywords(is, set, what, 0, c, dropped, err) != 0 ||
	    store_keywords(is, set, what, 1, c, dropped, err) != 0)
		return fail_class(is);
	return settle(is, DRV_OK, err);
}

static enum drv_err
op_set_flags(struct drv *d, uint32_t uid, const struct core_flag_change *c,
    struct core_flag_change *dropped, char **err)
{
	struct isync *is = &d->is;
	char set[16], *what = xasprintf("%s/%u", is->selected, uid);
	enum drv_err e;

	snprintf(set, sizeof set, "%u", uid);
	e = set_flags_on(is, set, what, c, dropped, err);
	free(what);
	return e;
}

static enum drv_err
op_set_flags_set(struct drv *d, const uint32_t *uids, size_t n,
    const struct core_flag_change *c, struct core_flag_change *dropped,
    char **err)
{
	struct isync *is = &d->is;
	struct buf set;
	char *what = n == 1 ? xasprintf("%s/%u", is->selected, uids[0])
	                    : xasprintf("%zu messages of %s", n, is->selected);
	enum drv_err e;

	buf_init(&set, 0);
	imap_uidset_format(&set, uids, n);
	e = set_flags_on(is, set.data, what, c, dropped, err);
	buf_free(&set);
	free(what);
	return e;
}

static enum drv_err
op_expunge_set(struct drv *d, const uint32_t *uids, size_t n, char **err)
{
	struct isync *is = &d->is;
	struct buf set;
	int rc;

	buf_init(&set, 0);
	imap_uidset_format(&set, uids, n);
	rc = store_bits_set(is, set.data, '+', STORE_F_DELETED, err) != 0 ||
	    imap_simple(is->c, err, "UID EXPUNGE %s", set.data) != 0;
	buf_free(&set);
	return rc ? fail_class(is) : settle(is, DRV_OK, err);
}

static enum drv_err
op_move(struct drv *d, uint32_t uid, const char *folder, int copy,
    uint32_t *newuid, char **err)
{
	struct isync *is = &d->is;
	int native = !copy && (is->c->caps & IMAP_CAP_MOVE);
	enum drv_err e;
	char *q = NULL;

	if (newuid != NULL)
		*newuid = 0;
	if ((e = listed(is, err)) != DRV_OK)
		return e;
	q = isync_wire_quote(is, folder);
	free(is->copyuid);
	is->copyuid = NULL;
	if (isync_copy_or_move(is, uid, q, native ? "MOVE" : "COPY", err) !=
	    0) {
		e = fail_class(is);
		goto out;
	}
	if (newuid != NULL)
		*newuid = imap_last_uid(is->copyuid);
	/* Copied: the source goes as a separate step. */
	if (!copy && !native &&
	    (store_bits(is, uid, '+', STORE_F_DELETED, err) != 0 ||
	        isync_expunge_uid(is, uid, err) < 0)) {
		e = fail_class(is);
		goto out;
	}
	e = settle(is, DRV_OK, err);
out:
	free(q);
	return e;
}

static enum drv_err
op_expunge(struct drv *d, uint32_t uid, char **err)
{
	struct isync *is = &d->is;
	int rc;

	if (uid == 0) {
		if (imap_simple(is->c, err, "EXPUNGE") != 0)
			return fail_class(is);
		return settle(is, DRV_OK, err);
	}
	if (store_bits(is, uid, '+', STORE_F_DELETED, err) != 0 ||
	    (rc = isync_expunge_uid(is, uid, err)) < 0)
		return fail_class(is);
	if (rc == 1)
		return DRV_REFUSED; /* other deleted messages: it waits */
	return settle(is, DRV_OK, err);
}

static enum drv_err
op_append(struct drv *d, const char *folder, const char *raw, size_t len,
    unsigned flags, int64_t when, uint32_t *uid, char **err)
{
	struct isync *is = &d->is;
	enum drv_err e;
	char *q, *why = NULL;
	int rc, attempt;

	if (uid != NULL)
		*uid = 0;
	if ((e = listed(is, err)) != DRV_OK)
		return e;
	q = isync_wire_quote(is, folder);
	for (attempt = 0;; attempt++) {
		rc = imap_append(is->c, q, raw, len, flags, when, uid, &why);
		if (rc <= 0 || attempt > 0 || entry(is, folder) != NULL)
			break;
		/* Refused, and the folder is not there: create it first. */
		free(why);
		why = NULL;
		if (imap_simple(is->c, err, "CREATE %s", q) != 0) {
			e = fail_class(is);
			goto out;
		}
		(void)imap_simple(is->c, NULL, "SUBSCRIBE %s", q);
		isync_folders_free(is);
	}
	if (rc < 0) {
		*err = why;
		why = NULL;
		e = fail_class(is);
	} else if (rc > 0) {
		set_cause(
		    err, "APPEND to %s refused: %s", folder, why ? why : "");
		e = DRV_MSG_BAD;
	} else
		e = settle(is, DRV_OK, err);
out:
	free(why);
	free(q);
	return e;
}

static enum drv_err
op_uidnext(struct drv *d, const char *folder, uint32_t *uidnext, char **err)
{
	struct isync *is = &d->is;
	struct imap_cmd *cmd = NULL;
	const struct folder_entry *f;
	enum drv_err e;
	char *q;

	*uidnext = 0;
	if ((e = listed(is, err)) != DRV_OK)
		return e;
	if ((f = entry(is, folder)) == NULL || f->noselect)
		return DRV_BOX_BAD;
	q = imap_quote(f->wire);
	if ((cmd = imap_send(is->c, err, "STATUS %s (UIDNEXT)", q)) == NULL ||
	    imap_wait(is->c, cmd, err) != 0)
		e = fail_class(is);
	else if (cmd->status != IMAP_OK)
		e = DRV_BOX_BAD;
	else if ((f = entry(is, folder)) != NULL)
		*uidnext = f->uidnext;
	imap_cmd_free(&cmd);
	free(q);
	return e;
}

/* Does the server list folder now? 1, 0, or -1 (connection). */
static int
exists(struct isync *is, const char *folder, char **err)
{
	isync_folders_free(is);
	if (listed(is, err) != DRV_OK)
		return -1;
	return entry(is, folder) != NULL && !entry(is, folder)->noselect;
}

/*
 * A folder command; refused, it is checked whether the change is there
 * already (sent before, its answer lost): want_from and want_to say what
 * "there" means (1 exists, 0 does not, -1 either).
 */
static enum drv_err
folder_cmd(struct isync *is, const char *verb, const char *from, const char *to,
    int want_from, int want_to, char **err)
{
	struct imap_cmd *cmd = NULL;
	char *q1 = NULL, *q2 = NULL;
	enum drv_err e;
	int rc;

	if ((e = listed(is, err)) != DRV_OK)
		return e;
	/* The selected folder may be the one renamed or deleted. */
	free(is->selected);
	is->selected = NULL;
	q1 = isync_wire_quote(is, from);
	q2 = to != NULL ? isync_wire_quote(is, to) : NULL;
	cmd = q2 != NULL ? imap_send(is->c, err, "%s %s %s", verb, q1, q2)
	                 : imap_send(is->c, err, "%s %s", verb, q1);
	if (cmd == NULL || imap_wait(is->c, cmd, err) != 0) {
		e = fail_class(is);
		goto out;
	}
	isync_folders_free(is);
	if (cmd->status == IMAP_OK) {
		if (strcmp(verb, "CREATE") == 0)
			(void)imap_simple(is->c, NULL, "SUBSCRIBE %s", q1);
		e = DRV_OK;
		goto out;
	}
	/* Refused: is the change there already? */
	if ((rc = exists(is, from, err)) >= 0 && rc == want_from && to != NULL)
		rc = exists(is, to, err) == want_to ? want_from : !want_from;
	if (rc < 0)
		e = fail_class(is);
	else if (rc == want_from)
		e = DRV_OK;
	else {
		set_cause(err, "%s %s: %s", verb, from,
		    cmd->text ? cmd->text : "refused");
		e = DRV_REFUSED;
	}
out:
	imap_cmd_free(&cmd);
	free(q1);
	free(q2);
	return e;
}

static enum drv_err
op_folder_create(struct drv *d, const char *name, char **err)
{
	return folder_cmd(&d->is, "CREATE", name, NULL, 1, -1, err);
}

static enum drv_err
op_folder_rename(struct drv *d, const char *from, const char *to, char **err)
{
	return folder_cmd(&d->is, "RENAME", from, to, 0, 1, err);
}

static enum drv_err
op_folder_delete(struct drv *d, const char *name, char **err)
{
	return folder_cmd(&d->is, "DELETE", name, NULL, 0, -1, err);
}

const struct drv_ops imap_drv_ops = {
	.name = "imap",
	.open = op_open,
	.close = op_close,
	.reconnect = op_reconnect,
	.caps = op_caps,
	.select = op_select,
	.has = op_has,
	.find = op_find,
	.set_flags = op_set_flags,
	.set_flags_set = op_set_flags_set,
	.move = op_move,
	.expunge = op_expunge,
	.expunge_set = op_expunge_set,
	.append = op_append,
	.uidnext = op_uidnext,
	.folder_create = op_folder_create,
	.folder_rename = op_folder_rename,
	.folder_delete = op_folder_delete,
};
