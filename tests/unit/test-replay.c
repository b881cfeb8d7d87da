/*
 * The replay of the offline queue (core/replay.c) against a fake driver:
 * a server in memory whose every call can lose the connection before or
 * after it took effect. For each kind of op, each error class, and a cut
 * at each step of a queue that holds every kind, a replay and then a
 * clean one must leave the server in exactly the expected state: nothing
 * twice, nothing lost.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/core.h"
#include "tern/driver.h"
#include "tern/store.h"
#include "tern/util.h"

/* The fake server. */
#define MAXMSG 64
#define MAXBOX 8

struct fmsg {
	uint32_t uid;
	char msgid[32];
	uint64_t size;
	unsigned flags;
	char kw[64];
};

struct fbox {
	char name[32];
	uint32_t uidvalidity, uidnext;
	struct fmsg m[MAXMSG];
	size_t n;
};

static struct server {
	struct fbox box[MAXBOX];
	size_t nbox;
	int can_move, uidplus;
	/* The batches: calls of set_flags_set and expunge_set, and the
	 * UIDs the last one named. */
	unsigned flag_sets, expunge_sets, unsorted;
	size_t last_set;
	/* Faults: the call numbered cut_at loses the connection, before
	 * (cut_after 0) or after (1) it took effect. */
	unsigned calls, cut_at;
	int cut_after;
	/* A class one kind of call answers with, for the error tests. */
	const char *fail_op;
	enum drv_err fail_with;
	unsigned opens, appends;
} srv;

struct drv {
	struct fbox *sel;
	int dead;
};

static struct fbox *
box(const char *name)
{
	size_t i;

	for (i = 0; i < srv.nbox; i++) {
		if (strcmp(srv.box[i].name, name) == 0)
			return &srv.box[i];
	}
	return NULL;
}

static struct fbox *
box_add(const char *name, uint32_t uidvalidity)
{
	struct fbox *b = &srv.box[srv.nbox++];

	memset(b, 0, sizeof *b);
	snprintf(b->name, sizeof b->name, "%s", name);
	b->uidvalidity = uidvalidity;
	b->uidnext = 1;
	return b;
}

static struct fmsg *
msg_add(struct fbox *b, const char *msgid, uint64_t size, unsigned flags)
{
	struct fmsg *m = &b->m[b->n++];

	memset(m, 0, sizeof *m);
	m->uid = b->uidnext++;
	snprintf(m->msgid, sizeof m->msgid, "%s", msgid);
	m->size = size;
	m->flags = flags;
	return m;
}

static struct fmsg *
msg_uid(struct fbox *b, uint32_t uid)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++) {
		if (b->m[i].uid == uid)
			return &b->m[i];
	}
	return NULL;
}

static void
msg_del(struct fbox *b, uint32_t uid)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->m[i].uid == uid) {
			memmove(&b->m[i], &b->m[i + 1],
			    (b->n - i - 1) * sizeof b->m[0]);
			b->n--;
			return;
		}
	}
}

/*
 * Every call goes through here: a scripted failure, or a cut before the
 * call takes effect. 1 goes on, 0 stops with *e.
 */
static int
enter(struct drv *d, const char *op, enum drv_err *e, char **err)
{
	if (d->dead) {
		*e = DRV_CONN;
		set_cause(err, "dead connection used");
		return 0;
	}
	srv.calls++;
	if (srv.fail_op != NULL && strcmp(srv.fail_op, op) == 0) {
		*e = srv.fail_with;
		set_cause(err, "scripted %s", drv_err_name(*e));
		return 0;
	}
	if (srv.calls == srv.cut_at && !srv.cut_after) {
		d->dead = 1;
		*e = DRV_CONN;
		set_cause(err, "cut before %s", op);
		return 0;
	}
	return 1;
}

/*
 * After a call took effect (or failed on the server): a cut now loses
 * only its answer, e.
 */
static enum drv_err
leave(struct drv *d, enum drv_err e, char **err)
{
	if (srv.calls == srv.cut_at && srv.cut_after) {
		d->dead = 1;
		set_cause(err, "cut after the server did it");
		return DRV_CONN;
	}
	return e;
}

static enum drv_err
f_open(struct tern *t, struct rc_account *a, const struct sync_opts *o,
    struct drv **dp, char **err)
{
	srv.opens++;
	*dp = xcalloc(1, sizeof **dp);
	return DRV_OK;
}

static void
f_close(struct drv **dp)
{
	free(*dp);
	*dp = NULL;
}

static enum drv_err
f_reconnect(struct drv *d, char **err)
{
	srv.opens++;
	d->dead = 0;
	d->sel = NULL;
	return DRV_OK;
}

static unsigned
f_caps(struct drv *d)
{
	return (srv.can_move ? DRV_CAN_MOVE : 0) |
	    (srv.uidplus ? DRV_CAN_UIDPLUS : 0);
}

static enum drv_err
f_select(struct drv *d, const char *folder, uint32_t *uidvalidity,
    uint32_t *uidnext, char **err)
{
	enum drv_err e;

	if (!enter(d, "select", &e, err))
		return e;
	if ((d->sel = box(folder)) == NULL)
		return leave(d, DRV_BOX_BAD, err);
	if (uidvalidity != NULL)
		*uidvalidity = d->sel->uidvalidity;
	if (uidnext != NULL)
		*uidnext = d->sel->uidnext;
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_has(struct drv *d, uint32_t uid, char **err)
{
	enum drv_err e;

	if (!enter(d, "has", &e, err))
		return e;
	if (msg_uid(d->sel, uid) == NULL)
		return leave(d, DRV_MSG_BAD, err);
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_find(struct drv *d, const char *folder, const struct drv_msgkey *k,
    uint32_t *uid, char **err)
{
	struct fbox *b;
	enum drv_err e;
	size_t i, n = 0;

	if (!enter(d, "find", &e, err))
		return e;
	/* IMAP's SEARCH needs the folder selected, and so it stays. */
	if ((b = d->sel = box(folder)) == NULL)
		return leave(d, DRV_BOX_BAD, err);
	for (i = 0; i < b->n; i++) {
		const struct fmsg *m = &b->m[i];

		if (m->uid < k->min_uid)
			continue;
		if (k->message_id != NULL && *k->message_id != '\0'
		        ? strcmp(k->message_id, m->msgid) == 0
		        : k->size != 0 && k->size == m->size) {
			*uid = m->uid;
			n++;
		}
	}
	if (n == 0 || (k->unique && n > 1))
		return leave(d, DRV_MSG_BAD, err);
	return leave(d, DRV_OK, err);
}

/* The change c on m; a keyword this server does not keep into dropped. */
static void
apply_flags(struct fmsg *m, const struct core_flag_change *c,
    struct core_flag_change *dropped)
{
	size_t i;

	m->flags = (m->flags | c->add) & ~c->del;
	for (i = 0; i < c->nkw_add; i++) {
		/* This server keeps no keyword "$Junk". */
		if (strcmp(c->kw_add[i], "$Junk") == 0) {
			if (dropped != NULL)
				(void)core_flag_change_keyword(
				    dropped, 0, c->kw_add[i], NULL);
		} else if (strstr(m->kw, c->kw_add[i]) == NULL)
			snprintf(m->kw + strlen(m->kw),
			    sizeof m->kw - strlen(m->kw), " %s", c->kw_add[i]);
	}
}

static enum drv_err
f_set_flags(struct drv *d, uint32_t uid, const struct core_flag_change *c,
    struct core_flag_change *dropped, char **err)
{
	struct fmsg *m;
	enum drv_err e;

	if (!enter(d, "set_flags", &e, err))
		return e;
	if ((m = msg_uid(d->sel, uid)) == NULL)
		return leave(d, DRV_MSG_BAD, err);
	apply_flags(m, c, dropped);
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_set_flags_set(struct drv *d, const uint32_t *uids, size_t n,
    const struct core_flag_change *c, struct core_flag_change *dropped,
    char **err)
{
	struct fmsg *m, gone;
	enum drv_err e;
	size_t i;

	if (!enter(d, "set_flags_set", &e, err))
		return e;
	srv.flag_sets++;
	srv.last_set = n;
	for (i = 0; i < n; i++) {
		if (i > 0 && uids[i - 1] >= uids[i])
			srv.unsorted++; /* each once, in order */
		/* A UID that is gone is passed over, as UID STORE does;
		 * what the folder cannot keep is said once. */
		if ((m = msg_uid(d->sel, uids[i])) == NULL) {
			memset(&gone, 0, sizeof gone);
			m = &gone;
		}
		apply_flags(m, c, i == 0 ? dropped : NULL);
	}
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_expunge_set(struct drv *d, const uint32_t *uids, size_t n, char **err)
{
	enum drv_err e;
	size_t i;

	if (!enter(d, "expunge_set", &e, err))
		return e;
	srv.expunge_sets++;
	srv.last_set = n;
	for (i = 0; i < n; i++)
		msg_del(d->sel, uids[i]);
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_move(struct drv *d, uint32_t uid, const char *folder, int copy,
    uint32_t *newuid, char **err)
{
	struct fbox *to;
	struct fmsg *m, *n;
	enum drv_err e;

	if (!enter(d, srv.can_move && !copy ? "move" : "copy", &e, err))
		return e;
	if ((m = msg_uid(d->sel, uid)) == NULL)
		return leave(d, DRV_MSG_BAD, err);
	if ((to = box(folder)) == NULL)
		to = box_add(folder, 99);
	n = msg_add(to, m->msgid, m->size, m->flags);
	if (newuid != NULL)
		*newuid = n->uid;
	if (!copy && srv.can_move)
		msg_del(d->sel, uid);
	else if (!copy) {
		/* COPY, then a cut may come before the rest. */
		if ((e = leave(d, DRV_OK, err)) != DRV_OK)
			return e;
		if (!enter(d, "store-deleted", &e, err))
			return e;
		m->flags |= STORE_F_DELETED;
		if ((e = leave(d, DRV_OK, err)) != DRV_OK)
			return e;
		if (!enter(d, "expunge", &e, err))
			return e;
		msg_del(d->sel, uid);
	}
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_expunge(struct drv *d, uint32_t uid, char **err)
{
	enum drv_err e;
	size_t i;

	if (!enter(d, "expunge", &e, err))
		return e;
	for (i = d->sel->n; i-- > 0;) {
		if ((d->sel->m[i].flags & STORE_F_DELETED) &&
		    (uid == 0 || d->sel->m[i].uid == uid))
			msg_del(d->sel, d->sel->m[i].uid);
	}
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_append(struct drv *d, const char *folder, const char *raw, size_t len,
    unsigned flags, int64_t when, uint32_t *uid, char **err)
{
	struct fbox *b;
	enum drv_err e;
	const char *id, *end;
	char msgid[32] = "";

	if (!enter(d, "append", &e, err))
		return e;
	if ((b = box(folder)) == NULL)
		b = box_add(folder, 77);
	if ((id = strstr(raw, "Message-ID: ")) != NULL &&
	    (end = strchr(id, '\n')) != NULL)
		snprintf(
		    msgid, sizeof msgid, "%.*s", (int)(end - id - 12), id + 12);
	msg_add(b, msgid, len, flags);
	srv.appends++;
	d->sel = NULL;
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_uidnext(struct drv *d, const char *folder, uint32_t *uidnext, char **err)
{
	struct fbox *b;
	enum drv_err e;

	if (!enter(d, "uidnext", &e, err))
		return e;
	if ((b = box(folder)) == NULL)
		return leave(d, DRV_BOX_BAD, err);
	*uidnext = b->uidnext;
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_create(struct drv *d, const char *name, char **err)
{
	enum drv_err e;

	if (!enter(d, "create", &e, err))
		return e;
	if (box(name) == NULL)
		box_add(name, 55);
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_rename(struct drv *d, const char *from, const char *to, char **err)
{
	struct fbox *b;
	enum drv_err e;

	if (!enter(d, "rename", &e, err))
		return e;
	if ((b = box(from)) != NULL)
		snprintf(b->name, sizeof b->name, "%s", to);
	else if (box(to) == NULL)
		return leave(d, DRV_REFUSED, err);
	return leave(d, DRV_OK, err);
}

static enum drv_err
f_delete(struct drv *d, const char *name, char **err)
{
	struct fbox *b;
	enum drv_err e;

	if (!enter(d, "delete", &e, err))
		return e;
	if ((b = box(name)) != NULL) {
		*b = srv.box[--srv.nbox];
		d->sel = NULL;
	}
	return leave(d, DRV_OK, err);
}

static const struct drv_ops fake = {
	.name = "fake",
	.open = f_open,
	.close = f_close,
	.reconnect = f_reconnect,
	.caps = f_caps,
	.select = f_select,
	.has = f_has,
	.find = f_find,
	.set_flags = f_set_flags,
	.set_flags_set = f_set_flags_set,
	.move = f_move,
	.expunge = f_expunge,
	.expunge_set = f_expunge_set,
	.append = f_append,
	.uidnext = f_uidnext,
	.folder_create = f_create,
	.folder_rename = f_rename,
	.folder_delete = f_delete,
};

/* tern's side: a store in a fresh directory, one account. */
static struct tern t;
static struct rc_account account = { .name = (char *)"a",
	.protocol = RC_PROTO_IMAP };
static int64_t acct_id;
static unsigned nnotes;

static void
on_note(void *arg, const char *name, const char *text)
{
	nnotes++;
}

static const struct sync_opts opts = { .note = on_note };

static void
fresh(void)
{
	static char tmpl[64];
	char *cause = NULL;

	if (t.store != NULL) {
		char *rm = xasprintf("rm -rf %s", t.datadir);

		store_close(&t.store);
		(void)system(rm);
		free(rm);
		free(t.datadir);
	}
	snprintf(tmpl, sizeof tmpl, "/tmp/tern-replay-XXXXXX");
	memset(&t, 0, sizeof t);
	t.datadir = xstrdup(mkdtemp(tmpl));
	acct_id = store_account(tern_store(&t, &cause), "a", "imap", &cause);
	memset(&srv, 0, sizeof srv);
	srv.can_move = 1;
	nnotes = 0;
}

static void
queue(enum store_op op, const char *folder, uint32_t uidvalidity, uint32_t uid,
    const char *arg, const char *msgid)
{
	struct store_pending p;
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	p.account_id = acct_id;
	p.op = op;
	p.folder = (char *)folder;
	p.uidvalidity = uidvalidity;
	p.uid = uid;
	p.arg = (char *)arg;
	p.msgid = (char *)msgid;
	CHECK(store_pending_add(t.store, &p, &cause) == 0);
}

/* An imported message queued for APPEND, with keywords kw (or NULL). */
static void
queue_import(const char *folder, const char *msgid, const char *kw)
{
	struct store_pending p;
	char *raw = xasprintf("Message-ID: %s\nSubject: x\n\nbody\n", msgid);
	char *cause = NULL;

	memset(&p, 0, sizeof p);
	p.account_id = acct_id;
	p.op = STORE_OP_APPEND;
	p.folder = (char *)folder;
	CHECK(store_pending_add_raw(
	          t.store, &p, raw, strlen(raw), 0, kw, 0, msgid, &cause) == 0);
	free(raw);
}

static int64_t
queued(void)
{
	char *cause = NULL;

	return store_pending_count(t.store, acct_id, &cause);
}

static enum drv_err
replay(struct drv_replay_stats *st)
{
	struct drv *d = NULL;
	char *err = NULL;
	enum drv_err e;

	memset(st, 0, sizeof *st);
	e = drv_replay(&t, &account, &fake, &d, &opts, st, &err);
	fake.close(&d);
	free(err);
	return e;
}

/* How many messages of box name carry msgid. */
static int
count(const char *name, const char *msgid)
{
	struct fbox *b = box(name);
	size_t i;
	int n = 0;

	for (i = 0; b != NULL && i < b->n; i++)
		n += strcmp(b->m[i].msgid, msgid) == 0;
	return n;
}

/*
 * The server holds INBOX <1> <2> <3> and Old; the queue holds every kind
 * of op (what each does is in the checks of expect_all). The fake's find
 * selects the folder it looks in, as IMAP's does, so a COPY sent again
 * after a lost answer must select its source first.
 */
static void
setup_all(void)
{
	struct fbox *in = box_add("INBOX", 7);

	msg_add(in, "<1>", 100, 0);
	msg_add(in, "<2>", 200, 0);
	msg_add(in, "<3>", 300, STORE_F_DELETED);
	box_add("Old", 8);
	queue(STORE_OP_FLAGS, "INBOX", 7, 1, "+S +kw:work", "<1>");
	queue(STORE_OP_MOVE, "INBOX", 7, 2, "Dest", "<2>");
	queue(STORE_OP_COPY, "INBOX", 7, 1, "Dest", "<1>");
	queue(STORE_OP_EXPUNGE, "INBOX", 7, 3, NULL, "<3>");
	queue_import("Dest", "<i1>", NULL);
	queue(STORE_OP_CREATE, "Proj", 0, 0, NULL, NULL);
	queue(STORE_OP_RENAME, "Proj", 0, 0, "Proj2", NULL);
	queue(STORE_OP_DELETE, "Old", 0, 0, NULL, NULL);
	queue_import("INBOX", "<i2>", "imported $Label2");
}

static int
expect_all(void)
{
	struct fbox *in = box("INBOX");
	struct fmsg *m = in ? msg_uid(in, 1) : NULL;

	struct fmsg *i2 = in ? msg_uid(in, 4) : NULL;

	return m != NULL && (m->flags & STORE_F_SEEN) &&
	    strstr(m->kw, "work") != NULL && count("INBOX", "<2>") == 0 &&
	    /* The import's keywords, set on the UID it was given. */
	    i2 != NULL && strcmp(i2->msgid, "<i2>") == 0 &&
	    strcmp(i2->kw, " imported $Label2") == 0 &&
	    count("Dest", "<2>") == 1 && count("INBOX", "<3>") == 0 &&
	    /* The copy: once in each. */
	    count("Dest", "<1>") == 1 && count("INBOX", "<1>") == 1 &&
	    count("Dest", "<i1>") == 1 && count("INBOX", "<i2>") == 1 &&
	    box("Proj") == NULL && box("Proj2") != NULL && box("Old") == NULL &&
	    queued() == 0;
}

static void
test_clean(void)
{
	struct drv_replay_stats st;

	fresh();
	setup_all();
	CHECK(replay(&st) == DRV_OK);
	CHECK(expect_all());
	CHECK(st.done == 9 && st.kept == 0 && st.dropped == 0);
	CHECK(srv.opens == 1 && nnotes == 0);
}

/*
 * A cut at every call of the clean replay, before and after the call took
 * effect, with and without an atomic MOVE; then a replay that runs clean.
 */
static void
test_cuts(void)
{
	struct drv_replay_stats st;
	unsigned calls, k;
	int after, move, bad = 0, n = 0;

	for (move = 0; move < 2; move++) {
		fresh();
		srv.can_move = move;
		setup_all();
		CHECK(replay(&st) == DRV_OK && expect_all());
		calls = srv.calls;
		for (k = 1; k <= calls; k++) {
			for (after = 0; after < 2; after++) {
				fresh();
				srv.can_move = move;
				setup_all();
				srv.cut_at = k;
				srv.cut_after = after;
				if (replay(&st) != DRV_OK ||
				    st.reconnects != 1) {
					printf("# cut at call %u (%s, move %d)"
					       ": %u reconnects\n",
					    k, after ? "after" : "before", move,
					    st.reconnects);
					bad++;
				}
				srv.cut_at = 0;
				(void)replay(&st);
				if (!expect_all()) {
					printf("# cut at call %u (%s, move %d)"
					       ": wrong state\n",
					    k, after ? "after" : "before",
					    move);
					bad++;
				}
				n++;
			}
		}
	}
	printf("# %d cut replays\n", n);
	CHECK(n > 40 && bad == 0);
}

/* Cuts at every call, every time: the replay gives up, nothing doubles. */
static void
test_dead_network(void)
{
	struct drv_replay_stats st;
	struct drv *d = NULL;
	char *err = NULL;

	fresh();
	setup_all();
	srv.fail_op = "append";
	srv.fail_with = DRV_CONN;
	CHECK(
	    drv_replay(&t, &account, &fake, &d, &opts, &st, &err) == DRV_CONN);
	CHECK(err != NULL && st.reconnects == DRV_REPLAY_RECONNECTS);
	free(err);
	fake.close(&d);
	CHECK(srv.appends == 0 && queued() > 0);
	srv.fail_op = NULL;
	CHECK(replay(&st) == DRV_OK && expect_all());
}

/* Each class: refused stays queued, gone is dropped, the rest stops. */
static void
test_classes(void)
{
	struct drv_replay_stats st;

	/* A refused flag change stays; the ops after it go on. The
	 * keywords of an appended message the server refuses are left out
	 * with a note: the message is there, its op done. */
	fresh();
	setup_all();
	srv.fail_op = "set_flags";
	srv.fail_with = DRV_REFUSED;
	CHECK(replay(&st) == DRV_OK);
	CHECK(st.kept == 1 && st.done == 8 && queued() == 1 && nnotes == 2);
	CHECK(count("INBOX", "<i2>") == 1 && msg_uid(box("INBOX"), 4) &&
	    msg_uid(box("INBOX"), 4)->kw[0] == '\0');
	srv.fail_op = NULL;
	CHECK(replay(&st) == DRV_OK && st.done == 1 && queued() == 0);
	CHECK(strstr(msg_uid(box("INBOX"), 1)->kw, "work") != NULL);

	/* A refused APPEND keeps the message queued, not sent. */
	fresh();
	setup_all();
	srv.fail_op = "append";
	srv.fail_with = DRV_MSG_BAD;
	CHECK(replay(&st) == DRV_OK && st.kept == 2 && srv.appends == 0);
	srv.fail_op = NULL;
	CHECK(replay(&st) == DRV_OK && expect_all());

	/* A message that is gone: its op is dropped with a note. */
	fresh();
	setup_all();
	msg_del(box("INBOX"), 2);
	CHECK(replay(&st) == DRV_OK && st.dropped == 1 && queued() == 0);
	CHECK(count("Dest", "<2>") == 0);

	/* A folder that is gone: dropped. */
	fresh();
	box_add("INBOX", 7);
	queue(STORE_OP_FLAGS, "Gone", 7, 1, "+S", "<1>");
	CHECK(replay(&st) == DRV_OK && st.dropped == 1 && queued() == 0);

	/* An unreadable reply or a store failure stops the replay. */
	fresh();
	setup_all();
	srv.fail_op = "has";
	srv.fail_with = DRV_PROTO;
	CHECK(replay(&st) == DRV_PROTO && queued() == 9);
	srv.fail_op = NULL;
	CHECK(replay(&st) == DRV_OK && expect_all());

	/* A keyword the server will not keep leaves the flags change done. */
	fresh();
	msg_add(box_add("INBOX", 7), "<1>", 100, 0);
	queue(STORE_OP_FLAGS, "INBOX", 7, 1, "+F +kw:$Junk", "<1>");
	CHECK(replay(&st) == DRV_OK && st.done == 1);
	CHECK(msg_uid(box("INBOX"), 1)->flags & STORE_F_FLAGGED);

	/* Ops of other kinds wait for their own code; an unknown is kept. */
	fresh();
	box_add("INBOX", 7);
	queue(STORE_OP_TOLOCAL, "INBOX", 7, 1, "local/x", NULL);
	CHECK(replay(&st) == DRV_OK && st.kept == 1 && queued() == 1);
}

/* A UIDVALIDITY change: re-mapped by Message-ID, the rest summed up. */
static void
test_uidvalidity(void)
{
	struct drv_replay_stats st;
	struct fbox *in;
	int i;

	fresh();
	in = box_add("INBOX", 9); /* was 7 when the ops were queued */
	in->uidnext = 50;
	msg_add(in, "<1>", 100, 0);
	msg_add(in, "<2>", 200, 0);
	queue(STORE_OP_FLAGS, "INBOX", 7, 1, "+S", "<1>");
	queue(STORE_OP_MOVE, "INBOX", 7, 2, "Dest", "<2>");
	for (i = 0; i < 12; i++)
		queue(STORE_OP_FLAGS, "INBOX", 7, (uint32_t)(10 + i), "+F",
		    i % 2 ? NULL : "<none>");
	CHECK(replay(&st) == DRV_OK);
	CHECK(st.remapped == 2 && st.lost == 12 && queued() == 0);
	CHECK(msg_uid(box("INBOX"), 50) != NULL &&
	    (msg_uid(box("INBOX"), 50)->flags & STORE_F_SEEN));
	CHECK(count("Dest", "<2>") == 1 && count("INBOX", "<2>") == 0);
	/* One note for the twelve, not one each. */
	CHECK(nnotes == 1);
}

/*
 * Runs of one flag change (keywords too), or of expunges, in one folder
 * go as one command each (at most REPLAY_BATCH_MAX ops); another change
 * and an expunge without UID EXPUNGE go alone. A cut
 * before or after any call ends, after a clean replay, in the same state.
 */
static void
setup_batch(void)
{
	struct fbox *in = box_add("INBOX", 7);
	uint32_t u;
	int i;

	for (i = 1; i <= 10; i++) {
		char id[8];

		snprintf(id, sizeof id, "<%d>", i);
		msg_add(in, id, 100, 0);
	}
	for (u = 1; u <= 6; u++)
		queue(STORE_OP_FLAGS, "INBOX", 7, u, "+S", NULL);
	queue(STORE_OP_FLAGS, "INBOX", 7, 42, "+S", NULL); /* gone */
	queue(STORE_OP_FLAGS, "INBOX", 7, 2, "+F", NULL);
	queue(STORE_OP_FLAGS, "INBOX", 7, 3, "+F +kw:x", NULL);
	queue(STORE_OP_FLAGS, "INBOX", 7, 4, "+F", NULL);
	queue(STORE_OP_FLAGS, "INBOX", 7, 9, "+T", NULL);
	queue(STORE_OP_FLAGS, "INBOX", 7, 10, "+T", NULL);
	queue(STORE_OP_EXPUNGE, "INBOX", 7, 9, NULL, NULL);
	queue(STORE_OP_EXPUNGE, "INBOX", 7, 10, NULL, NULL);
}

static int
expect_batch(void)
{
	struct fbox *in = box("INBOX");
	struct fmsg *m[11];
	uint32_t u;

	for (u = 1; u <= 10; u++)
		m[u] = msg_uid(in, u);
	for (u = 1; u <= 8; u++) {
		if (m[u] == NULL)
			return 0;
	}
	for (u = 1; u <= 6; u++) {
		if (!(m[u]->flags & STORE_F_SEEN))
			return 0;
	}
	return (m[2]->flags & STORE_F_FLAGGED) &&
	    (m[4]->flags & STORE_F_FLAGGED) && strstr(m[3]->kw, "x") != NULL &&
	    !(m[5]->flags & STORE_F_FLAGGED) && m[9] == NULL && m[10] == NULL &&
	    queued() == 0;
}

static void
test_batches(void)
{
	struct drv_replay_stats st;
	unsigned calls, k;
	int after, bad = 0;
	uint32_t u;

	fresh();
	srv.uidplus = 1;
	setup_batch();
	CHECK(replay(&st) == DRV_OK && expect_batch());
	/* +S on 1-6 and 42: one command; +F 2, +F +kw:x 3, +F 4: alone
	 * (each change is another); +T 9 10: one; expunge 9 10: one. */
	CHECK(srv.flag_sets == 2 && srv.expunge_sets == 1);
	CHECK(srv.unsorted == 0);
	CHECK(st.done == 14 && st.kept == 0 && st.dropped == 0);
	calls = srv.calls;

	/* No UID EXPUNGE: the expunges go one at a time. */
	fresh();
	setup_batch();
	CHECK(replay(&st) == DRV_OK && expect_batch());
	CHECK(srv.flag_sets == 2 && srv.expunge_sets == 0);

	/* A long run is cut into batches of REPLAY_BATCH_MAX ops. */
	fresh();
	srv.uidplus = 1;
	msg_add(box_add("INBOX", 7), "<1>", 100, 0);
	for (u = 0; u < 1200; u++)
		queue(STORE_OP_FLAGS, "INBOX", 7, 1 + u % 2, "+F", NULL);
	CHECK(replay(&st) == DRV_OK && st.done == 1200 && queued() == 0);
	CHECK(srv.flag_sets == 3 && srv.last_set == 2 && srv.unsorted == 0);
	CHECK(msg_uid(box("INBOX"), 1)->flags & STORE_F_FLAGGED);

	/* A run with keywords is one command too; a keyword the folder
	 * cannot keep leaves the rest done on each. */
	fresh();
	box_add("INBOX", 7);
	for (u = 1; u <= 3; u++) {
		char id[16];

		snprintf(id, sizeof id, "<%u>", u);
		msg_add(box("INBOX"), id, 100, 0);
	}
	for (u = 1; u <= 3; u++)
		queue(
		    STORE_OP_FLAGS, "INBOX", 7, u, "+F +kw:x +kw:$Junk", NULL);
	CHECK(replay(&st) == DRV_OK && st.done == 3 && queued() == 0);
	CHECK(srv.flag_sets == 1 && srv.last_set == 3);
	for (u = 1; u <= 3; u++) {
		struct fmsg *m = msg_uid(box("INBOX"), u);

		CHECK(m != NULL && (m->flags & STORE_F_FLAGGED) &&
		    strstr(m->kw, "x") != NULL &&
		    strstr(m->kw, "$Junk") == NULL);
	}

	/* A refused batch stays queued, all of it, with two notes. */
	fresh();
	srv.uidplus = 1;
	setup_batch();
	srv.fail_op = "set_flags_set";
	srv.fail_with = DRV_REFUSED;
	CHECK(replay(&st) == DRV_OK && st.kept == 9 && queued() == 9);
	srv.fail_op = NULL;
	CHECK(replay(&st) == DRV_OK && expect_batch());

	/* A UIDVALIDITY change: one at a time, re-mapped by Message-ID. */
	fresh();
	srv.uidplus = 1;
	box_add("INBOX", 9);
	msg_add(box("INBOX"), "<1>", 100, 0);
	queue(STORE_OP_FLAGS, "INBOX", 7, 5, "+S", "<1>");
	queue(STORE_OP_FLAGS, "INBOX", 7, 6, "+S", "<1>");
	CHECK(replay(&st) == DRV_OK && st.remapped == 2 && queued() == 0);
	CHECK(srv.flag_sets == 0 &&
	    (msg_uid(box("INBOX"), 1)->flags & STORE_F_SEEN));

	for (k = 1; k <= calls; k++) {
		for (after = 0; after < 2; after++) {
			fresh();
			srv.uidplus = 1;
			setup_batch();
			srv.cut_at = k;
			srv.cut_after = after;
			(void)replay(&st);
			srv.cut_at = 0;
			if (replay(&st) != DRV_OK || !expect_batch()) {
				printf("# batch cut at call %u (%s)\n", k,
				    after ? "after" : "before");
				bad++;
			}
		}
	}
	CHECK(calls > 5 && bad == 0);
}

/*
 * A flag changed offline on a message moved or copied offline names its
 * placeholder UID; once the move is done it names the server's.
 */
static void
test_placeholder_follows(void)
{
	struct drv_replay_stats st;
	struct store_pending p;
	struct fbox *in, *dest;
	char *cause = NULL;
	const char *ids[] = { "<1>", "<2>" };
	int i;

	fresh();
	in = box_add("INBOX", 7);
	msg_add(in, "<1>", 100, 0);
	msg_add(in, "<2>", 100, 0);
	dest = box_add("Dest", 8);
	msg_add(dest, "<0>", 100, 0);
	for (i = 0; i < 2; i++) {
		memset(&p, 0, sizeof p);
		p.account_id = acct_id;
		p.op = i == 0 ? STORE_OP_MOVE : STORE_OP_COPY;
		p.folder = (char *)"INBOX";
		p.uidvalidity = 7;
		p.uid = (uint32_t)i + 1;
		p.arg = (char *)"Dest";
		p.msgid = (char *)ids[i];
		p.placeholder = STORE_UID_PLACEHOLDER_MAX - (uint32_t)i;
		CHECK(store_pending_add(t.store, &p, &cause) == 0);
	}
	queue(STORE_OP_FLAGS, "Dest", 0, STORE_UID_PLACEHOLDER_MAX, "+F", NULL);
	queue(STORE_OP_FLAGS, "Dest", 0, STORE_UID_PLACEHOLDER_MAX - 1, "+S",
	    NULL);
	CHECK(replay(&st) == DRV_OK && queued() == 0);
	CHECK(st.done == 4 && st.dropped == 0 && nnotes == 0);
	CHECK(msg_uid(dest, 2) != NULL &&
	    strcmp(msg_uid(dest, 2)->msgid, "<1>") == 0 &&
	    (msg_uid(dest, 2)->flags & STORE_F_FLAGGED));
	CHECK(msg_uid(dest, 3) != NULL &&
	    strcmp(msg_uid(dest, 3)->msgid, "<2>") == 0 &&
	    (msg_uid(dest, 3)->flags & STORE_F_SEEN));
	CHECK(count("INBOX", "<1>") == 0 && count("INBOX", "<2>") == 1);
}

/* An unknown kind is refused when queued. */
static void
test_typed(void)
{
	struct store_pending p;
	char *cause = NULL;

	fresh();
	memset(&p, 0, sizeof p);
	p.account_id = acct_id;
	p.op = STORE_OP_UNKNOWN;
	CHECK(store_pending_add(t.store, &p, &cause) == -1 && cause != NULL);
	free(cause);
	CHECK(store_op_from_name("append-move") == STORE_OP_APPEND_MOVE);
	CHECK(store_op_from_name("frobnicate") == STORE_OP_UNKNOWN);
	CHECK_STR(store_op_name(STORE_OP_TOLOCAL_COPY), "tolocal-copy");
}

int
main(void)
{
	test_typed();
	test_clean();
	test_classes();
	test_uidvalidity();
	test_dead_network();
	test_batches();
	test_placeholder_follows();
	test_cuts();
	store_close(&t.store);
	{
		char *rm = xasprintf("rm -rf %s", t.datadir);

		(void)system(rm);
		free(rm);
	}
	free(t.datadir);
	return test_done();
}
