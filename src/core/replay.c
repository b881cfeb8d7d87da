/*
 * The replay of the offline queue, written once against the driver
 * object (driver.h) so that every protocol shares one set of rules:
 *
 * - Ops go in queue order; each leaves the queue only once the server
 *   confirmed it (a lost answer leaves it queued, and it is sent again).
 * - Kinds that are not idempotent (an APPEND, a COPY, a move done as
 *   COPY) are committed as STORE_PENDING_SENDING, with the target's
 *   UIDNEXT, before they go out. A row found in that state is first
 *   looked for on the server (drv find: Message-ID, else size and date,
 *   from that UIDNEXT on); if it is there, it is not sent again.
 * - A lost connection reopens the driver and tries the same op again, a
 *   bounded number of times in a row. A refusal keeps the op queued with
 *   a note and the queue goes on. An op that can never apply (its message
 *   or folder is gone) is dropped with a note.
 * - A run of the same flag change (no keywords), or of expunges, on UIDs
 *   of one folder goes as one command with a UID set, when the driver
 *   can: tagging 5,000 messages and deleting them must not cost 5,000
 *   round trips. Both are idempotent, so a batch whose answer was lost
 *   is simply sent again.
 * - After a UIDVALIDITY change, an op is re-mapped to the message with the
 *   same Message-ID when there is exactly one; the others are counted in
 *   one summary note, not one note each.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/driver.h"
#include "tern/mime.h"
#include "tern/util.h"

/* What became of one op. */
enum outcome {
	R_DONE, /* confirmed: off the queue */
	R_DROP, /* can never apply: off the queue, with a note */
	R_KEEP, /* refused or waiting: stays queued */
	R_FAIL, /* stop: *err says why, rp->fail its class */
	R_SINGLE /* a batch that must go one op at a time */
};

/*
 * Most ops in one command: a run of flag changes or expunges of one
 * folder becomes one UID STORE or UID EXPUNGE of a UID set. Scattered
 * UIDs keep the command line of a batch under 8 KB.
 */
#define REPLAY_BATCH_MAX 500

struct replay {
	struct tern *t;
	struct rc_account *a;
	const struct drv_ops *ops;
	struct drv **dp;
	const struct sync_opts *o;
	struct store *s;
	int64_t account_id;
	struct drv_replay_stats *st;
	char *selected; /* the folder selected on *dp */
	uint32_t uidvalidity;
	enum drv_err fail;
	struct buf lost; /* ops lost to UIDVALIDITY changes, for one note */
	struct store_pending *v; /* the queue being replayed */
	size_t n;
};

static const char *const err_names[DRV_NERR] = {
	[DRV_OK] = "ok",
	[DRV_MSG_BAD] = "message refused or gone",
	[DRV_BOX_BAD] = "folder missing",
	[DRV_REFUSED] = "refused by the server",
	[DRV_CONN] = "connection lost",
	[DRV_PROTO] = "unreadable reply",
	[DRV_AUTH] = "login refused",
	[DRV_STORE] = "store failure",
};

const char *
drv_err_name(enum drv_err e)
{
	return (unsigned)e < DRV_NERR ? err_names[e] : "unknown error";
}

int
drv_err_transient(enum drv_err e)
{
	return e == DRV_CONN;
}

static void rnote(struct replay *rp, const char *fmt, ...) TERN_PRINTF(2, 3);

static void
rnote(struct replay *rp, const char *fmt, ...)
{
	va_list ap;
	char *s, *v;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	v = text_visible_dup(s);
	if (rp->o != NULL && rp->o->note != NULL)
		rp->o->note(rp->o->arg, rp->a->name, v);
	else
		tern_warnx("%s: %s", rp->a->name, v);
	free(v);
	free(s);
}

/* Fail the replay with class e; err has the reason. */
static enum outcome
stop(struct replay *rp, enum drv_err e)
{
	rp->fail = e;
	return R_FAIL;
}

/* A driver call's result as the op's outcome, for the classes alike. */
static enum outcome
after(struct replay *rp, const struct store_pending *p, enum drv_err e,
    char **err)
{
	switch (e) {
	case DRV_OK:
		return R_DONE;
	case DRV_MSG_BAD:
	case DRV_BOX_BAD:
		rnote(rp, "%s %s/%u dropped: %s", store_op_name(p->op),
		    p->folder ? p->folder : "", p->uid,
		    *err ? *err : drv_err_name(e));
		free(*err);
		*err = NULL;
		return R_DROP;
	case DRV_REFUSED:
		rnote(rp, "%s %s/%u kept queued: %s", store_op_name(p->op),
		    p->folder ? p->folder : "", p->uid,
		    *err ? *err : drv_err_name(e));
		free(*err);
		*err = NULL;
		return R_KEEP;
	default:
		return stop(rp, e);
	}
}

static void
forget_selected(struct replay *rp)
{
	free(rp->selected);
	rp->selected = NULL;
	rp->uidvalidity = 0;
}

/* Select folder unless it is selected already. */
static enum drv_err
select_folder(struct replay *rp, const char *folder, char **err)
{
	enum drv_err e;

	if (rp->selected != NULL && strcmp(rp->selected, folder) == 0)
		return DRV_OK;
	forget_selected(rp);
	e = rp->ops->select(*rp->dp, folder, &rp->uidvalidity, NULL, err);
	if (e == DRV_OK)
		rp->selected = xstrdup(folder);
	return e;
}

/*
 * The UID op p names, in the selected folder as it is now: re-mapped by
 * Message-ID after a UIDVALIDITY change. R_DONE with *uid, R_DROP when it
 * is gone or lost (counted), or R_FAIL.
 */
static enum outcome
current_uid(
    struct replay *rp, struct store_pending *p, uint32_t *uid, char **err)
{
	struct drv_msgkey k;
	enum drv_err e;

	*uid = p->uid;
	if (p->uidvalidity == 0 || p->uidvalidity == rp->uidvalidity)
		goto check;
	memset(&k, 0, sizeof k);
	k.message_id = p->msgid;
	k.unique = 1;
	e = DRV_MSG_BAD;
	if (p->msgid != NULL && *p->msgid != '\0')
		e = rp->ops->find(*rp->dp, p->folder, &k, uid, err);
	if (e == DRV_MSG_BAD) {
		free(*err);
		*err = NULL;
		/* One note for them all, naming the first few. */
		if (rp->st->lost++ < 5)
			(void)buf_printf(&rp->lost, "%s%s %s/%u",
			    rp->lost.len ? ", " : "", store_op_name(p->op),
			    p->folder, p->uid);
		return R_DROP;
	}
	if (e != DRV_OK)
		return stop(rp, e);
	if (store_pending_set_uid(rp->s, p->id, rp->uidvalidity, *uid, err) !=
	    0)
		return stop(rp, DRV_STORE);
	p->uidvalidity = rp->uidvalidity;
	p->uid = *uid;
	rp->st->remapped++;
check:
	e = rp->ops->has(*rp->dp, *uid, err);
	if (e == DRV_MSG_BAD) {
		free(*err);
		*err = NULL;
		/* An expunge of a message that is gone is done. */
		if (p->op != STORE_OP_EXPUNGE)
			rnote(rp, "%s %s/%u dropped: the message is gone",
			    store_op_name(p->op), p->folder, p->uid);
		return R_DROP;
	}
	return e == DRV_OK ? R_DONE : stop(rp, e);
}

/* Take keywords the server will not keep off the stored message. */
static int
keywords_undo(struct replay *rp, const struct store_pending *p,
    const struct core_flag_change *undo, char **err)
{
	struct store_msg m;
	int64_t fid;
	char *kw;
	int found, ret = -1;

	memset(&m, 0, sizeof m);
	if ((fid = store_folder(rp->s, rp->account_id, p->folder, 0, err)) < 0)
		return -1;
	if (fid == 0)
		return 0;
	if ((found = store_msg_get(rp->s, fid, p->uid, &m, err)) < 0)
		return -1;
	ret = 0;
	if (found) {
		kw = core_keywords_apply(m.keywords, undo);
		ret = store_msg_set_keywords(rp->s, m.id, kw, err);
		free(kw);
	}
	store_msg_clear(&m);
	return ret;
}

static enum outcome
op_flags(struct replay *rp, struct store_pending *p, char **err)
{
	struct core_flag_change fc, dropped;
	enum outcome out;
	enum drv_err e;
	uint32_t uid;

	memset(&fc, 0, sizeof fc);
	memset(&dropped, 0, sizeof dropped);
	if (p->arg == NULL || core_flag_change_parse(p->arg, &fc, NULL) != 0) {
		rnote(rp, "flags %s/%u dropped: unreadable change '%s'",
		    p->folder, p->uid, p->arg ? p->arg : "");
		return R_DROP;
	}
	if ((out = current_uid(rp, p, &uid, err)) != R_DONE)
		goto out;
	e = rp->ops->set_flags(*rp->dp, uid, &fc, &dropped, err);
	if ((out = after(rp, p, e, err)) == R_DONE && dropped.nkw_del > 0 &&
	    keywords_undo(rp, p, &dropped, err) != 0)
		out = stop(rp, DRV_STORE);
out:
	core_flag_change_clear(&fc);
	core_flag_change_clear(&dropped);
	return out;
}

/* Mark p as being sent, with the UIDNEXT of folder, before it is. */
static enum outcome
mark_sending(
    struct replay *rp, struct store_pending *p, const char *folder, char **err)
{
	uint32_t next = 0;
	enum drv_err e;

	e = rp->ops->uidnext(*rp->dp, folder, &next, err);
	if (e == DRV_BOX_BAD) {
		free(*err);
		*err = NULL;
		next = 1; /* created by the command: anything in it is new */
	} else if (e != DRV_OK)
		return stop(rp, e);
	if (store_pending_set_state(
	        rp->s, p->id, STORE_PENDING_SENDING, next, err) != 0)
		return stop(rp, DRV_STORE);
	p->state = STORE_PENDING_SENDING;
	p->mark = next;
	return R_DONE;
}

/*
 * Is the message of a SENDING op already in folder? R_DONE yes, R_KEEP
 * no (send it), R_FAIL.
 */
static enum outcome
already_there(struct replay *rp, const struct store_pending *p,
    const char *folder, const struct drv_msgkey *k0, uint32_t *found,
    char **err)
{
	struct drv_msgkey k = *k0;
	enum drv_err e;
	uint32_t uid = 0;

	if (p->state != STORE_PENDING_SENDING)
		return R_KEEP;
	k.min_uid = p->mark;
	e = rp->ops->find(*rp->dp, folder, &k, &uid, err);
	/* Selecting another folder may have happened. */
	forget_selected(rp);
	if (e == DRV_MSG_BAD || e == DRV_BOX_BAD) {
		free(*err);
		*err = NULL;
		return R_KEEP;
	}
	if (found != NULL)
		*found = uid;
	return e == DRV_OK ? R_DONE : stop(rp, e);
}

/*
 * A move or an APPEND shown in its target folder under a placeholder UID
 * (core_move, core_transfer) is settled once the op is off the queue:
 * the server's UID when it said (COPYUID, APPENDUID), else the row goes
 * and the next sync indexes the message.
 */
/*
 * Ops queued after a move or copy that name its placeholder in folder (a
 * flag changed on the message where it was moved to) name the server's
 * UID now, in the queue and in the list being replayed.
 */
static int
remap_later(struct replay *rp, const char *folder, uint32_t placeholder,
    uint32_t uid, char **err)
{
	struct store_pending *q;
	size_t k;

	for (k = 0; k < rp->n; k++) {
		q = &rp->v[k];
		if (q->uid != placeholder || q->uidvalidity != 0 ||
		    q->folder == NULL || strcmp(q->folder, folder) != 0)
			continue;
		if (store_pending_set_uid(rp->s, q->id, 0, uid, err) != 0)
			return -1;
		q->uid = uid;
	}
	return 0;
}

static enum outcome
settle_placeholder(struct replay *rp, const struct store_pending *p,
    const char *folder, enum outcome out, uint32_t newuid, char **err)
{
	int64_t fid;

	if ((out != R_DONE && out != R_DROP) || p->placeholder == 0 ||
	    folder == NULL)
		return out;
	if (out == R_DONE && newuid != 0 &&
	    remap_later(rp, folder, p->placeholder, newuid, err) != 0)
		return stop(rp, DRV_STORE);
	if ((fid = store_folder(rp->s, rp->account_id, folder, 0, err)) < 0)
		return stop(rp, DRV_STORE);
	if (fid == 0)
		return out;
	if (out == R_DONE && newuid != 0 &&
	    store_imap_set_uid(rp->s, fid, p->placeholder, newuid, 0, err) != 0)
		return stop(rp, DRV_STORE);
	if (store_imap_delete_uid(rp->s, fid, p->placeholder, err) < 0)
		return stop(rp, DRV_STORE);
	return out;
}

/*
 * A move done as COPY, or a copy, is about to go out: marked as being
 * sent, with the source folder selected again (already_there may have
 * selected the target to look).
 */
static enum outcome
sending(struct replay *rp, struct store_pending *p, char **err)
{
	enum outcome out;
	enum drv_err e;

	if ((out = mark_sending(rp, p, p->arg, err)) != R_DONE)
		return out;
	if ((e = select_folder(rp, p->folder, err)) != DRV_OK)
		return after(rp, p, e == DRV_REFUSED ? DRV_BOX_BAD : e, err);
	return R_DONE;
}

/* Flag uid of p's folder \Deleted and expunge it. */
static enum drv_err
drop_source(
    struct replay *rp, const struct store_pending *p, uint32_t uid, char **err)
{
	struct core_flag_change fc;
	enum drv_err e;

	memset(&fc, 0, sizeof fc);
	fc.add = STORE_F_DELETED;
	if ((e = select_folder(rp, p->folder, err)) == DRV_OK &&
	    (e = rp->ops->set_flags(*rp->dp, uid, &fc, NULL, err)) == DRV_OK)
		e = rp->ops->expunge(*rp->dp, uid, err);
	return e;
}

/*
 * A move, or a copy (the source stays). Without an atomic MOVE a move is
 * COPY, then STORE and EXPUNGE; a COPY is never idempotent, so one whose
 * answer was lost is looked for in the target before it is sent again.
 */
static enum outcome
op_move(struct replay *rp, struct store_pending *p, char **err)
{
	struct drv_msgkey k;
	enum outcome out;
	enum drv_err e;
	uint32_t uid, newuid = 0;
	int copy = p->op == STORE_OP_COPY;
	int atomic = !copy && (rp->ops->caps(*rp->dp) & DRV_CAN_MOVE) != 0;

	if (p->arg == NULL)
		return R_DROP;
	if ((out = current_uid(rp, p, &uid, err)) != R_DONE)
		return settle_placeholder(rp, p, p->arg, out, 0, err);
	memset(&k, 0, sizeof k);
	k.message_id = p->msgid;
	if (!atomic) {
		out = already_there(rp, p, p->arg, &k, &newuid, err);
		if (out == R_FAIL)
			return out;
		if (out == R_DONE) {
			/* Copied already: a move's source goes. */
			if (!copy)
				out = after(
				    rp, p, drop_source(rp, p, uid, err), err);
			return settle_placeholder(
			    rp, p, p->arg, out, newuid, err);
		}
		if ((out = sending(rp, p, err)) != R_DONE)
			return out;
	}
	e = rp->ops->move(*rp->dp, uid, p->arg, copy, &newuid, err);
	out = after(rp, p, e, err);
	return settle_placeholder(rp, p, p->arg, out, newuid, err);
}

static enum outcome
op_expunge(struct replay *rp, struct store_pending *p, char **err)
{
	enum outcome out;
	enum drv_err e;
	uint32_t uid = 0;

	if (p->uid != 0) {
		out = current_uid(rp, p, &uid, err);
		if (out == R_DROP)
			return R_DONE; /* gone already: what was asked */
		if (out != R_DONE)
			return out;
	}
	e = rp->ops->expunge(*rp->dp, uid, err);
	if (e == DRV_REFUSED && uid != 0) {
		/* Other deleted messages: it waits until it is alone. */
		rnote(rp,
		    "%s: UID %u left flagged deleted (other deleted "
		    "messages would be expunged too)",
		    p->folder, uid);
		free(*err);
		*err = NULL;
		return R_KEEP;
	}
	return after(rp, p, e, err);
}

static enum outcome
op_folder(struct replay *rp, struct store_pending *p, char **err)
{
	enum drv_err e;

	if (p->folder == NULL)
		return R_DROP;
	forget_selected(rp);
	if (p->op == STORE_OP_CREATE)
		e = rp->ops->folder_create(*rp->dp, p->folder, err);
	else if (p->op == STORE_OP_DELETE)
		e = rp->ops->folder_delete(*rp->dp, p->folder, err);
	else if (p->arg == NULL)
		return R_DROP;
	else
		e = rp->ops->folder_rename(*rp->dp, p->folder, p->arg, err);
	/* Retrying a refused folder change would fail the same way. */
	if (e == DRV_REFUSED)
		e = DRV_BOX_BAD;
	return after(rp, p, e, err);
}

/*
 * The bytes of an append op, with its flags, date and keywords (*kw,
 * malloc'd or NULL): 1 found, 0 nothing to send, -1 error.
 */
static int
append_source(struct replay *rp, const struct store_pending *p, struct buf *raw,
    unsigned *flags, int64_t *when, char **kw, int64_t *src, char **err)
{
	struct store_msg m;
	uint64_t id;
	int found;

	*src = 0;
	*kw = NULL;
	if (p->arg == NULL) {
		if ((found = store_pending_raw(
		         rp->s, p->id, raw, flags, when, err)) != 1)
			return found;
		return store_pending_raw_keywords(rp->s, p->id, kw, err) < 0
		    ? -1
		    : 1;
	}
	/* A store message: gone means there is nothing to do. */
	if (parse_uint64(p->arg, strlen(p->arg), INT64_MAX, &id) != 0)
		return 0;
	memset(&m, 0, sizeof m);
	if ((found = store_msg_get_id(rp->s, (int64_t)id, &m, err)) <= 0)
		return found;
	*src = (int64_t)id;
	*flags = m.flags;
	*when = m.internaldate ? m.internaldate : m.date;
	*kw = m.keywords;
	m.keywords = NULL;
	store_msg_clear(&m);
	return store_msg_raw(rp->s, (int64_t)id, raw, err);
}

/*
 * Give a message just APPENDed (or found there after a lost answer) its
 * keywords: an APPEND carries only the system flags. Its UID is the one
 * the server said, or found by k above the UIDNEXT before the APPEND. A
 * lost connection keeps the op (which, sent, finds the message again
 * next time); a server that will not keep them leaves them out, with a
 * note.
 */
static enum outcome
append_keywords(struct replay *rp, const struct store_pending *p,
    const char *kw, struct drv_msgkey *k, uint32_t uid, char **err)
{
	struct core_flag_change fc, dropped;
	const char *w = kw, *end;
	enum outcome out = R_DONE;
	enum drv_err e;
	char *word;

	memset(&fc, 0, sizeof fc);
	memset(&dropped, 0, sizeof dropped);
	while (w != NULL && *w != '\0') {
		if (*w == ' ') {
			w++;
			continue;
		}
		end = w + strcspn(w, " ");
		word = xstrndup(w, (size_t)(end - w));
		(void)core_flag_change_keyword(&fc, 1, word, NULL);
		free(word);
		w = end;
	}
	if (fc.nkw_add == 0)
		goto out;
	if (uid == 0) {
		k->min_uid = p->mark;
		e = rp->ops->find(*rp->dp, p->folder, k, &uid, err);
		forget_selected(rp);
		if (e != DRV_OK && e != DRV_MSG_BAD && e != DRV_BOX_BAD) {
			out = stop(rp, e);
			goto out;
		}
		if (e != DRV_OK)
			goto left_out;
	}
	if ((e = select_folder(rp, p->folder, err)) == DRV_OK)
		e = rp->ops->set_flags(*rp->dp, uid, &fc, &dropped, err);
	if (e == DRV_OK)
		goto out;
	if (e != DRV_REFUSED && e != DRV_MSG_BAD && e != DRV_BOX_BAD) {
		out = stop(rp, e);
		goto out;
	}
left_out:
	rnote(rp, "keywords of a message appended to %s left out: %s",
	    p->folder, *err ? *err : "it was not found");
	free(*err);
	*err = NULL;
out:
	core_flag_change_clear(&fc);
	core_flag_change_clear(&dropped);
	return out;
}

static enum outcome
op_append(struct replay *rp, struct store_pending *p, char **err)
{
	struct mime_envelope env;
	struct drv_msgkey k;
	struct buf raw;
	enum outcome out;
	enum drv_err e;
	unsigned flags = 0;
	int64_t when = 0, src = 0;
	uint32_t uid = 0;
	char *kw = NULL;
	int found;

	memset(&env, 0, sizeof env);
	buf_init(&raw, 0);
	if (p->folder == NULL)
		return R_DROP;
	if ((found = append_source(
	         rp, p, &raw, &flags, &when, &kw, &src, err)) < 0) {
		out = stop(rp, DRV_STORE);
		goto out;
	}
	if (found == 0 || raw.len == 0) {
		out = R_DROP;
		goto out;
	}
	mime_envelope_parse(raw.data, raw.len, &env);
	memset(&k, 0, sizeof k);
	k.message_id = env.message_id;
	k.size = raw.len;
	k.date = when;
	if ((out = already_there(rp, p, p->folder, &k, &uid, err)) == R_FAIL)
		goto out;
	if (out == R_KEEP) {
		if ((out = mark_sending(rp, p, p->folder, err)) != R_DONE)
			goto out;
		forget_selected(rp);
		e = rp->ops->append(*rp->dp, p->folder, raw.data, raw.len,
		    flags, when, &uid, err);
		tern_fault("replay-after-append");
		if (e == DRV_MSG_BAD)
			e = DRV_REFUSED; /* nothing lost: it stays queued */
		if ((out = after(rp, p, e, err)) == R_KEEP &&
		    store_pending_set_state(
		        rp->s, p->id, STORE_PENDING_QUEUED, 0, err) != 0)
			out = stop(rp, DRV_STORE);
		if (out != R_DONE)
			goto out;
	}
	if (kw != NULL &&
	    (out = append_keywords(rp, p, kw, &k, uid, err)) != R_DONE)
		goto out;
	/* The server has it: now, and only now, the source of a move goes. */
	if (p->op == STORE_OP_APPEND_MOVE && src != 0 &&
	    store_msg_delete(rp->s, src, err) != 0)
		out = stop(rp, DRV_STORE);
out:
	out = settle_placeholder(rp, p, p->folder, out, uid, err);
	mime_envelope_clear(&env);
	buf_free(&raw);
	free(kw);
	return out;
}

/* A flag change the replay can read: 1, else 0. */
static int
readable_flags(const char *arg)
{
	struct core_flag_change fc;
	int ok;

	memset(&fc, 0, sizeof fc);
	ok = arg != NULL && core_flag_change_parse(arg, &fc, NULL) == 0;
	core_flag_change_clear(&fc);
	return ok;
}

static int
same_str(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* How many ops from v[i] on go as one batch (1: the op alone). */
static size_t
batch_len(
    const struct replay *rp, const struct store_pending *v, size_t n, size_t i)
{
	const struct store_pending *p = &v[i], *q;
	size_t k;

	if (p->uid == 0 || p->uidvalidity == 0 || p->folder == NULL ||
	    p->state != STORE_PENDING_QUEUED)
		return 1;
	if (p->op == STORE_OP_FLAGS) {
		if (rp->ops->set_flags_set == NULL || !readable_flags(p->arg))
			return 1;
	} else if (p->op == STORE_OP_EXPUNGE) {
		if (rp->ops->expunge_set == NULL ||
		    !(rp->ops->caps(*rp->dp) & DRV_CAN_UIDPLUS))
			return 1;
	} else
		return 1;
	for (k = i + 1; k < n && k - i < REPLAY_BATCH_MAX; k++) {
		q = &v[k];
		if (q->op != p->op || q->uid == 0 ||
		    q->uidvalidity != p->uidvalidity ||
		    q->state != STORE_PENDING_QUEUED ||
		    !same_str(q->folder, p->folder) ||
		    !same_str(q->arg, p->arg))
			break;
	}
	return k - i;
}

static int
cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Ops v[0..n) as one command. R_SINGLE when the folder's UIDVALIDITY
 * changed: each op then goes alone, to be re-mapped.
 */
static enum outcome
replay_batch(
    struct replay *rp, const struct store_pending *v, size_t n, char **err)
{
	const struct store_pending *p = &v[0];
	struct core_flag_change fc, dropped;
	enum outcome out;
	enum drv_err e;
	uint32_t *uids;
	size_t i, k = 0;

	if ((e = select_folder(rp, p->folder, err)) != DRV_OK)
		return after(rp, p, e == DRV_REFUSED ? DRV_BOX_BAD : e, err);
	if (rp->uidvalidity != p->uidvalidity)
		return R_SINGLE;
	uids = xreallocarray(NULL, n, sizeof *uids);
	for (i = 0; i < n; i++)
		uids[i] = v[i].uid;
	qsort(uids, n, sizeof *uids, cmp_uid);
	for (i = 0; i < n; i++) {
		if (k == 0 || uids[k - 1] != uids[i])
			uids[k++] = uids[i];
	}
	memset(&fc, 0, sizeof fc);
	memset(&dropped, 0, sizeof dropped);
	if (p->op == STORE_OP_FLAGS) {
		(void)core_flag_change_parse(p->arg, &fc, NULL);
		e = rp->ops->set_flags_set(
		    *rp->dp, uids, k, &fc, &dropped, err);
	} else
		e = rp->ops->expunge_set(*rp->dp, uids, k, err);
	out = after(rp, p, e, err);
	if (out == R_DROP || out == R_KEEP)
		rnote(rp, "the same for %zu more queued change%s", n - 1,
		    n - 1 == 1 ? "" : "s");
	/* Keywords the folder cannot keep, taken back from each. */
	for (i = 0; out == R_DONE && dropped.nkw_del > 0 && i < n; i++) {
		if (keywords_undo(rp, &v[i], &dropped, err) != 0)
			out = stop(rp, DRV_STORE);
	}
	core_flag_change_clear(&fc);
	core_flag_change_clear(&dropped);
	free(uids);
	return out;
}

static enum outcome
replay_one(struct replay *rp, struct store_pending *p, char **err)
{
	enum drv_err e;

	switch (p->op) {
	case STORE_OP_TOLOCAL:
	case STORE_OP_TOLOCAL_COPY:
	case STORE_OP_DRAFT:
		/* core_transfer_replay() and smtp_drafts_flush() do these. */
		return R_KEEP;
	case STORE_OP_UNKNOWN:
	case STORE_OP_NKINDS:
		rnote(rp,
		    "queued change %lld is of a kind this tern does not "
		    "know: kept",
		    (long long)p->id);
		return R_KEEP;
	case STORE_OP_APPEND:
	case STORE_OP_APPEND_MOVE:
		return op_append(rp, p, err);
	case STORE_OP_CREATE:
	case STORE_OP_RENAME:
	case STORE_OP_DELETE:
		return op_folder(rp, p, err);
	case STORE_OP_FLAGS:
	case STORE_OP_MOVE:
	case STORE_OP_COPY:
	case STORE_OP_EXPUNGE:
		break;
	}
	if (p->folder == NULL)
		return R_DROP;
	if ((e = select_folder(rp, p->folder, err)) != DRV_OK) {
		if (e == DRV_REFUSED)
			e = DRV_BOX_BAD;
		return after(rp, p, e, err);
	}
	if (p->op == STORE_OP_FLAGS)
		return op_flags(rp, p, err);
	if (p->op == STORE_OP_MOVE || p->op == STORE_OP_COPY)
		return op_move(rp, p, err);
	return op_expunge(rp, p, err);
}

/* Take ops v[0..n) off the queue (done, or they can never be), at once. */
static int
finish(struct replay *rp, const struct store_pending *v, size_t n,
    enum outcome out, char **err)
{
	size_t i;

	if (store_begin(rp->s, err) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_pending_delete(rp->s, v[i].id, err) != 0) {
			store_rollback(rp->s);
			return -1;
		}
	}
	if (store_commit(rp->s, err) != 0)
		return -1;
	if (out == R_DONE)
		rp->st->done += n;
	else
		rp->st->dropped += n;
	return 0;
}

/* A new connection after a lost one. */
static enum drv_err
reopen(struct replay *rp, char **err)
{
	forget_selected(rp);
	rp->st->reconnects++;
	return rp->ops->reconnect(*rp->dp, err);
}

enum drv_err
drv_replay(struct tern *t, struct rc_account *a, const struct drv_ops *ops,
    struct drv **dp, const struct sync_opts *o, struct drv_replay_stats *st,
    char **err)
{
	struct replay rp;
	struct store_pending *v = NULL;
	size_t n = 0, i, run;
	unsigned tries = 0;
	enum drv_err ret = DRV_STORE;

	memset(&rp, 0, sizeof rp);
	memset(st, 0, sizeof *st);
	rp.t = t;
	rp.a = a;
	rp.ops = ops;
	rp.dp = dp;
	rp.o = o;
	rp.st = st;
	buf_init(&rp.lost, 64 * 1024);
	if ((rp.s = tern_store(t, err)) == NULL ||
	    (rp.account_id = store_account(
	         rp.s, a->name, rc_protocol_name(a->protocol), err)) < 0 ||
	    store_pending_list(rp.s, rp.account_id, &v, &n, err) != 0)
		goto out;
	rp.v = v;
	rp.n = n;
	if (*dp == NULL && (ret = ops->open(t, a, o, dp, err)) != DRV_OK)
		goto out;
	for (i = 0; i < n; i += run) {
		enum outcome out;

		tern_fault("replay-before-op");
		run = batch_len(&rp, v, n, i);
		out = run > 1 ? replay_batch(&rp, &v[i], run, err) : R_SINGLE;
		if (out == R_SINGLE) {
			run = 1;
			out = replay_one(&rp, &v[i], err);
		}
		if (out == R_FAIL && drv_err_transient(rp.fail) &&
		    tries < DRV_REPLAY_RECONNECTS) {
			rnote(&rp, "reconnected after: %s",
			    *err ? *err : drv_err_name(rp.fail));
			free(*err);
			*err = NULL;
			tries++;
			if ((ret = reopen(&rp, err)) != DRV_OK)
				goto out;
			run = 0; /* the same ops again */
			continue;
		}
		if (out == R_FAIL) {
			ret = rp.fail;
			goto out;
		}
		tries = 0;
		if (out == R_KEEP)
			st->kept += run;
		else if (finish(&rp, &v[i], run, out, err) != 0) {
			ret = DRV_STORE;
			goto out;
		}
		tern_fault("imap-after-replay");
	}
	ret = DRV_OK;
out:
	if (rp.lost.len > 0)
		rnote(&rp,
		    "%llu queued change%s dropped: the folder was recreated "
		    "on the server and the message could not be found again "
		    "(%s%s); %llu re-mapped by Message-ID",
		    (unsigned long long)st->lost, st->lost == 1 ? "" : "s",
		    rp.lost.data, st->lost > 5 ? ", ..." : "",
		    (unsigned long long)st->remapped);
	forget_selected(&rp);
	buf_free(&rp.lost);
	store_pending_list_free(v, n);
	return ret;
}
