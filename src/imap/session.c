/*
 * The IMAP session: a connection with its untagged responses read into
 * struct isync (folder list, selected folder state, searches), SELECT,
 * folder names on the wire, and a connection kept between downloads.
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

void
isync_note(struct isync *is, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (is->o != NULL && is->o->note != NULL) {
		char *v = text_visible_dup(s);

		is->o->note(is->o->arg, is->a->name, v);
		free(v);
	}
	if (is->notes.len)
		(void)buf_adds(&is->notes, "; ");
	(void)buf_adds(&is->notes, s);
	free(s);
}

void
isync_progress(struct isync *is, const char *what)
{
	struct sync_progress p;

	if (is->o == NULL || is->o->progress == NULL)
		return;
	memset(&p, 0, sizeof p);
	p.account = is->a->name;
	p.folder = is->selected;
	p.what = what;
	p.done = is->done;
	p.total = is->total;
	p.bytes = is->bytes;
	is->o->progress(is->o->arg, &p);
}

void
isync_stored(struct isync *is)
{
	if (is->o != NULL && is->o->stored != NULL)
		is->o->stored(is->o->arg);
}

static void
on_list(struct isync *is, const struct imap_resp *r)
{
	struct folder_entry *f;
	size_t i, attrs = 2, name;
	const char *n;

	if (attrs >= r->nitems || r->items[attrs].type != IMAP_LIST)
		return;
	name = imap_next(r, imap_next(r, attrs));
	if (name >= r->nitems)
		return;
	if (is->c->delim == 0 &&
	    r->items[imap_next(r, attrs)].type == IMAP_STRING)
		is->c->delim = imap_str(r, imap_next(r, attrs))[0];
	n = imap_astr(r, name, NULL);
	if (n == NULL || *n == '\0' || strpbrk(n, "\r\n") != NULL)
		return;
	is->folders =
	    xreallocarray(is->folders, is->nfolders + 1, sizeof *is->folders);
	f = &is->folders[is->nfolders++];
	memset(f, 0, sizeof *f);
	f->wire =
	    ascii_strcasecmp(n, "INBOX") == 0 ? xstrdup("INBOX") : xstrdup(n);
	f->name = imap_name_from_wire(n, is->c->delim, is->c->prefix);
	for (i = attrs + 1; i < imap_next(r, attrs); i++) {
		static const char *const special[] = { "\\Sent", "\\Trash",
			"\\Drafts", "\\Junk", "\\Archive", "\\All",
			"\\Flagged" };
		size_t k;

		if (imap_is(r, i, "\\Noselect") ||
		    imap_is(r, i, "\\NonExistent"))
			f->noselect = 1;
		for (k = 0; k < TERN_NELEM(special); k++) {
			if (imap_is(r, i, special[k]) && f->special == NULL)
				f->special = xstrdup(special[k]);
		}
	}
}

/* "* STATUS name (UIDVALIDITY n UIDNEXT n HIGHESTMODSEQ n ...)". */
static void
on_status(struct isync *is, const struct imap_resp *r)
{
	struct folder_entry *f = NULL;
	size_t i, l = imap_next(r, 2);
	const char *n = imap_astr(r, 2, NULL);
	uint64_t v;

	if (n == NULL || l >= r->nitems || r->items[l].type != IMAP_LIST)
		return;
	if (ascii_strcasecmp(n, "INBOX") == 0)
		n = "INBOX";
	for (i = 0; i < is->nfolders && f == NULL; i++) {
		if (strcmp(is->folders[i].wire, n) == 0)
			f = &is->folders[i];
	}
	if (is->watching) {
		/* NOTIFY's news of another folder. */
		is->changed = 1;
		if (f == NULL)
			is->relist = 1;
		else
			f->dirty = 1;
	}
	if (f == NULL)
		return;
	for (i = l + 1; i + 1 < imap_next(r, l); i += 2) {
		if (imap_num(r, i + 1, UINT64_MAX, &v) != 0)
			continue;
		if (imap_is(r, i, "UIDVALIDITY") && v <= UINT32_MAX)
			f->uidvalidity = (uint32_t)v;
		else if (imap_is(r, i, "UIDNEXT") && v <= UINT32_MAX)
			f->uidnext = (uint32_t)v;
		else if (imap_is(r, i, "HIGHESTMODSEQ"))
			f->highestmodseq = v;
	}
	f->have_status = 1;
}

/* The PERMANENTFLAGS list at r's item list: keywords a STORE can keep. */
static void
on_permflags(struct isync *is, const struct imap_resp *r, size_t list)
{
	size_t i;

	is->perm_known = 1;
	is->perm_any = 0;
	buf_reset(&is->permkw);
	for (i = list + 1; i < imap_next(r, list); i = imap_next(r, i)) {
		const char *f;

		if (r->items[i].type != IMAP_ATOM)
			continue;
		f = imap_str(r, i);
		if (strcmp(f, "\\*") == 0)
			is->perm_any = 1;
		else if (f[0] != '\\')
			(void)buf_printf(&is->permkw, " %s ", f);
	}
}

/* May the selected folder keep keyword kw? */
int
isync_perm_keyword(struct isync *is, const char *kw)
{
	const char *p;
	size_t len = strlen(kw);

	if (!is->perm_known || is->perm_any)
		return 1;
	/* " kw " in the list, ASCII case-insensitively. */
	for (p = is->permkw.data; p != NULL && *p != '\0'; p++) {
		if (p[0] == ' ' && ascii_strncasecmp(p + 1, kw, len) == 0 &&
		    p[len + 1] == ' ')
			return 1;
	}
	return 0;
}

/*
 * A FETCH goes to the command in flight that asked for FETCH responses,
 * with its own context; else it is news of a change.
 */
static int
fetch_routed(struct isync *is, const struct imap_resp *r, char **cause)
{
	const struct imap_cmd *owner = imap_fetch_owner(is->c);

	if (owner != NULL)
		return owner->on_fetch(owner->fetch_arg, r, cause);
	return isync_fetch_flags(is, r, cause);
}

/* "* N EXISTS", "* N EXPUNGE", "* N FETCH". */
static int
on_numbered(
    struct isync *is, const struct imap_resp *r, uint64_t v, char **cause)
{
	if (imap_is(r, 2, "EXISTS")) {
		if (v != is->exists)
			is->changed = 1;
		is->exists = (uint32_t)v;
	} else if (imap_is(r, 2, "EXPUNGE")) {
		is->changed = 1;
		if (is->exists > 0)
			is->exists--;
	} else if (imap_is(r, 2, "FETCH")) {
		/* A message the server never announced: whatever it says
		 * about it cannot be trusted into the index. */
		if (is->selected != NULL && (v == 0 || v > is->exists))
			return set_cause(cause,
			    "%s: protocol error: FETCH for message %llu of %u",
			    is->c->peer, (unsigned long long)v, is->exists);
		return fetch_routed(is, r, cause);
	}
	return 0;
}

/* "* OK [CODE ...]" and "* NO [CODE ...]": the selected folder's state. */
static void
on_code(struct isync *is, const struct imap_resp *r)
{
	uint64_t v;

	if (imap_is(r, 3, "UIDVALIDITY") && imap_num(r, 4, UINT32_MAX, &v) == 0)
		is->uidvalidity = (uint32_t)v;
	else if (imap_is(r, 3, "UIDNEXT") &&
	    imap_num(r, 4, UINT32_MAX, &v) == 0)
		is->uidnext = (uint32_t)v;
	else if (imap_is(r, 3, "HIGHESTMODSEQ") &&
	    imap_num(r, 4, INT64_MAX, &v) == 0)
		is->highestmodseq = v;
	else if (imap_is(r, 3, "PERMANENTFLAGS") && r->nitems > 4 &&
	    r->items[4].type == IMAP_LIST)
		on_permflags(is, r, 4);
	else if (imap_is(r, 3, "COPYUID")) {
		free(is->copyuid);
		is->copyuid = xasprintf("%s %s %s",
		    imap_astr(r, 4, NULL) ? imap_str(r, 4) : "",
		    imap_astr(r, 5, NULL) ? imap_str(r, 5) : "",
		    imap_astr(r, 6, NULL) ? imap_str(r, 6) : "");
	}
}

/* "* SEARCH n n ..." and "* ESEARCH ... ALL set" into is->search. */
static int
on_search(struct isync *is, const struct imap_resp *r, char **cause)
{
	uint64_t v;
	size_t i;

	if (imap_is(r, 1, "SEARCH")) {
		for (i = 2; i < r->nitems; i++) {
			if (imap_num(r, i, UINT32_MAX, &v) == 0 && v > 0)
				imap_uidset_add(&is->search, (uint32_t)v);
		}
		return 0;
	}
	for (i = 2; i < r->nitems; i = imap_next(r, i)) {
		if (imap_is(r, i, "ALL") && i + 1 < r->nitems &&
		    imap_uidset_parse(
		        &is->search, imap_str(r, i + 1), UINT32_MAX) != 0)
			return set_cause(
			    cause, "protocol error: bad ESEARCH set");
	}
	return 0;
}

/* "* QUOTA root (STORAGE used limit)", in KiB. */
static void
on_quota(struct isync *is, const struct imap_resp *r)
{
	size_t i, l = imap_next(r, 2);

	if (l >= r->nitems || r->items[l].type != IMAP_LIST)
		return;
	for (i = l + 1; i + 2 < imap_next(r, l); i++) {
		uint64_t used, limit;

		if (imap_is(r, i, "STORAGE") &&
		    imap_num(r, i + 1, INT64_MAX / 1024, &used) == 0 &&
		    imap_num(r, i + 2, INT64_MAX / 1024, &limit) == 0) {
			is->q_used = (int64_t)used * 1024;
			is->q_limit = (int64_t)limit * 1024;
		}
	}
}

static int
on_untagged(void *arg, const struct imap_resp *r, char **cause)
{
	struct isync *is = arg;
	uint64_t v;
	size_t i;

	if (r->nitems > 2 && imap_num(r, 1, UINT32_MAX, &v) == 0)
		return on_numbered(is, r, v, cause);
	if (imap_is(r, 1, "VANISHED")) {
		i = r->items[2].type == IMAP_LIST ? imap_next(r, 2) : 2;
		if (i < r->nitems && r->items[i].type == IMAP_ATOM &&
		    imap_uidset_parse(&is->vanished, imap_str(r, i), 0) != 0)
			return set_cause(
			    cause, "protocol error: bad VANISHED set");
		is->changed = 1;
	} else if ((imap_is(r, 1, "OK") || imap_is(r, 1, "NO")) &&
	    r->nitems > 2 && r->items[2].type == IMAP_CODE)
		on_code(is, r);
	else if (imap_is(r, 1, "SEARCH") || imap_is(r, 1, "ESEARCH"))
		return on_search(is, r, cause);
	else if (imap_is(r, 1, "LIST"))
		on_list(is, r);
	else if (imap_is(r, 1, "STATUS"))
		on_status(is, r);
	else if (imap_is(r, 1, "QUOTA"))
		on_quota(is, r);
	return 0;
}

/*
 * The quoted wire name of tern's folder name: the server's own spelling
 * when LIST gave it (this connection's, else the one stored), else the
 * name encoded with the server's delimiter.
 */
char *
isync_wire_quote(struct isync *is, const char *name)
{
	size_t k;

	for (k = 0; k < is->nfolders; k++) {
		if (strcmp(is->folders[k].name, name) == 0)
			return imap_quote(is->folders[k].wire);
	}
	return imap_wire_stored(
	    is->s, is->account_id, is->c->delim, is->c->prefix, name);
}

/* Learn the hierarchy delimiter when no LIST told it yet. */
int
isync_learn_delim(struct isync *is, char **cause)
{
	if (is->c->delim != 0 || is->asked_delim)
		return 0;
	is->asked_delim = 1;
	return imap_simple(is->c, cause, "LIST \"\" \"\"");
}

/* SELECT a folder (QRESYNC parameters when we know its state). */
int
isync_select_folder(struct isync *is, const char *name, int64_t folder_id,
    uint32_t known_uidvalidity, uint64_t known_modseq, int *ok, char **cause)
{
	struct imap_cmd *cmd;
	char *q = isync_wire_quote(is, name);
	int ret = -1;

	*ok = 0;
	free(is->selected);
	is->selected = NULL;
	is->fresh = 0;
	is->folder_id = folder_id;
	is->uidvalidity = is->uidnext = 0;
	is->highestmodseq = 0;
	is->exists = 0;
	is->perm_known = is->perm_any = 0;
	buf_reset(&is->permkw);
	imap_uidset_free(&is->vanished);
	if (isync_qresync(is) && known_uidvalidity && known_modseq)
		/* Flag changes arrive as FETCH during SELECT. */
		cmd = imap_send_fetch(is->c, isync_fetch_flags, is, cause,
		    "SELECT %s (QRESYNC (%u %llu))", q, known_uidvalidity,
		    (unsigned long long)known_modseq);
	else
		cmd = imap_send(is->c, cause, "SELECT %s", q);
	if (cmd == NULL || imap_wait(is->c, cmd, cause) != 0)
		goto out;
	if (cmd->status != IMAP_OK) {
		isync_note(is, "%s: cannot select: %s", name, cmd->text);
		ret = 0;
		goto out;
	}
	if (is->uidvalidity == 0) {
		set_cause(
		    cause, "%s: no UIDVALIDITY for %s", is->c->peer, name);
		goto out;
	}
	is->selected = xstrdup(name);
	*ok = 1;
	ret = 0;
out:
	imap_cmd_free(&cmd);
	free(q);
	return ret;
}

/* The UIDs of the selected folder, into is->search. */
int
isync_search_all(struct isync *is, char **cause)
{
	imap_uidset_free(&is->search);
	if (is->exists > SEARCH_WINDOW && is->uidnext > SEARCH_WINDOW)
		return isync_search_from(is, 1, cause);
	if (imap_simple(is->c, cause,
	        (is->c->caps & IMAP_CAP_ESEARCH) ? "UID SEARCH RETURN (ALL) ALL"
	                                         : "UID SEARCH ALL") != 0)
		return -1;
	imap_uidset_sort(&is->search);
	return 0;
}

/*
 * One answer for a million UIDs is a line of 8 MB and, without ESEARCH,
 * a million items: past what the parser takes from a server. A big
 * folder is asked in windows of UIDs below UIDNEXT (at most
 * SEARCH_WINDOWS of them, however sparse its UIDs), each answer well
 * inside the limits, and the last window open ("N:*").
 */
int
isync_search_from(struct isync *is, uint32_t lo, char **cause)
{
	uint64_t w = SEARCH_WINDOW, next = is->uidnext, hi;
	int es = (is->c->caps & IMAP_CAP_ESEARCH) != 0;

	if (lo == 0)
		lo = 1;
	if (next > lo && (next - lo) / w >= SEARCH_WINDOWS)
		w = (next - lo) / SEARCH_WINDOWS + 1;
	for (;;) {
		int rc;

		hi = (uint64_t)lo + w - 1;
		if (is->exists <= SEARCH_WINDOW || hi + 1 >= next) {
			rc = imap_simple(is->c, cause,
			    es ? "UID SEARCH RETURN (ALL) UID %u:*"
			       : "UID SEARCH UID %u:*",
			    lo);
			if (rc != 0)
				return -1;
			break;
		}
		rc = imap_simple(is->c, cause,
		    es ? "UID SEARCH RETURN (ALL) UID %u:%u"
		       : "UID SEARCH UID %u:%u",
		    lo, (uint32_t)hi);
		if (rc != 0)
			return -1;
		lo = (uint32_t)hi + 1;
	}
	imap_uidset_sort(&is->search);
	return 0;
}

void
isync_folders_free(struct isync *is)
{
	size_t i;

	for (i = 0; i < is->nfolders; i++) {
		free(is->folders[i].name);
		free(is->folders[i].wire);
		free(is->folders[i].special);
	}
	free(is->folders);
	is->folders = NULL;
	is->nfolders = 0;
	is->listed = 0;
}

int
isync_wanted(struct isync *is, const char *name)
{
	size_t i;

	if (is->a->nfolders == 0 || strcmp(name, "INBOX") == 0)
		return 1;
	for (i = 0; i < is->a->nfolders; i++) {
		if (strcmp(is->a->folders[i], name) == 0)
			return 1;
	}
	return 0;
}

/* A UID asked for, and whether a FETCH answered for it. */
struct uid_seen {
	uint32_t uid;
	int found;
};

static int
probe_fetch(void *arg, const struct imap_resp *r, char **cause)
{
	struct uid_seen *u = arg;
	struct fetch_items fi;

	if (isync_fetch_items(r, &fi) == 0 && fi.uid == u->uid)
		u->found = 1;
	return 0;
}

/* Does the selected folder still hold uid? 1 yes, 0 no, -1 error. */
int
isync_probe(struct isync *is, uint32_t uid, char **cause)
{
	struct uid_seen u = { uid, 0 };

	if (imap_simple_fetch(
	        is->c, probe_fetch, &u, cause, "UID FETCH %u (UID)", uid) != 0)
		return -1;
	return u.found;
}

/*
 * Expunge uid (already \Deleted). Without UIDPLUS, EXPUNGE would remove
 * every \Deleted message: do it only when uid is the only one, else
 * return 1 (it waits until it is).
 */
int
isync_expunge_uid(struct isync *is, uint32_t uid, char **cause)
{
	if (is->c->caps & IMAP_CAP_UIDPLUS)
		return imap_simple(is->c, cause, "UID EXPUNGE %u", uid);
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, cause, "UID SEARCH DELETED") != 0)
		return -1;
	if (is->search.n == 1 && is->search.v[0] == uid)
		return imap_simple(is->c, cause, "EXPUNGE");
	if (is->search.n == 0)
		return 0; /* gone already */
	isync_note(is,
	    "%s: UID %u left flagged deleted (other deleted messages "
	    "would be expunged too)",
	    is->selected, uid);
	return 1;
}

/*
 * UID MOVE or UID COPY to the quoted mailbox q, creating it first when
 * the server says it does not exist ([TRYCREATE]).
 */
int
isync_copy_or_move(struct isync *is, uint32_t uid, const char *q,
    const char *verb, char **cause)
{
	struct imap_cmd *cmd;
	int attempt, ret = -1;

	for (attempt = 0; attempt < 2; attempt++) {
		if ((cmd = imap_send(
		         is->c, cause, "UID %s %u %s", verb, uid, q)) == NULL ||
		    imap_wait(is->c, cmd, cause) != 0)
			goto out;
		if (cmd->status == IMAP_OK) {
			/* COPY says COPYUID in its tagged OK, MOVE in an
			 * untagged one (on_code). */
			if (cmd->code != NULL &&
			    ascii_strncasecmp(cmd->code, "COPYUID ", 8) == 0) {
				free(is->copyuid);
				is->copyuid = xstrdup(cmd->code + 8);
			}
			ret = 0;
			goto out;
		}
		if (attempt > 0 || cmd->code == NULL ||
		    ascii_strncasecmp(cmd->code, "TRYCREATE", 9) != 0)
			break;
		imap_cmd_free(&cmd);
		if (imap_simple(is->c, cause, "CREATE %s", q) != 0)
			goto out;
		(void)imap_simple(is->c, NULL, "SUBSCRIBE %s", q);
	}
	set_cause(cause, "%s: UID %s failed: %s", is->c->peer, verb, cmd->text);
out:
	imap_cmd_free(&cmd);
	return ret;
}

/*
 * A connection kept after a download, with the folder selected on it, for
 * the next download of the same account in this process: an export or a
 * move of a thousand messages does not log in a thousand times. One that
 * waited longer than KEEP_MS is not trusted (a firewall may have dropped
 * it silently) and is closed instead.
 */
#define KEEP_MS (60 * 1000)

struct kept {
	struct rc_account *a;
	struct imap_conn *c;
	char *selected;
	int64_t folder_id;
	uint32_t uidvalidity, uidnext, exists;
	uint64_t highestmodseq;
	uint64_t at;
};

/* Whether k can still be used (and so be logged out politely). */
static int
kept_good(const struct kept *k)
{
	return now_ms() - k->at < KEEP_MS && imap_quiet(k->c);
}

static void
kept_free(void *arg)
{
	struct kept *k = arg;

	/* A LOGOUT on a connection dropped unseen would wait for the I/O
	 * timeout: one not good is only closed. */
	if (k->c != NULL && kept_good(k))
		imap_logout(&k->c);
	else
		imap_close(&k->c);
	free(k->selected);
	free(k);
}

/* Keep the connection of a download that went well. */
static void
kept_put(struct isync *is)
{
	struct kept *k;

	if (!is->keep || is->c == NULL || !imap_quiet(is->c))
		return;
	tern_drop_conn(is->t);
	k = xcalloc(1, sizeof *k);
	k->a = is->a;
	k->c = is->c;
	k->c->untagged = NULL;
	k->c->arg = NULL;
	k->selected = is->selected;
	k->folder_id = is->folder_id;
	k->uidvalidity = is->uidvalidity;
	k->uidnext = is->uidnext;
	k->exists = is->exists;
	k->highestmodseq = is->highestmodseq;
	k->at = now_ms();
	is->c = NULL;
	is->selected = NULL;
	is->t->conn = k;
	is->t->conn_free = kept_free;
}

/* The kept connection of this account, if it is still good. */
void
isync_kept_take(struct isync *is)
{
	struct kept *k = is->t->conn_free == kept_free ? is->t->conn : NULL;

	if (k == NULL)
		return;
	is->t->conn = NULL;
	is->t->conn_free = NULL;
	if (k->a == is->a && kept_good(k)) {
		is->reused = 1;
		is->c = k->c;
		is->c->untagged = on_untagged;
		is->c->arg = is;
		k->c = NULL;
		free(is->selected);
		is->selected = k->selected;
		k->selected = NULL;
		is->folder_id = k->folder_id;
		is->uidvalidity = k->uidvalidity;
		is->uidnext = k->uidnext;
		is->exists = k->exists;
		is->highestmodseq = k->highestmodseq;
	}
	kept_free(k);
}

void
isync_clear(struct isync *is)
{
	isync_txn_rollback(is);
	kept_put(is);
	imap_logout(&is->c);
	free(is->selected);
	imap_uidset_free(&is->search);
	imap_uidset_free(&is->vanished);
	free(is->copyuid);
	free(is->view_refused);
	isync_folders_free(is);
	buf_free(&is->notes);
	buf_free(&is->permkw);
}

int
isync_init(struct isync *is, struct tern *t, struct rc_account *a,
    const struct sync_opts *o, char **cause)
{
	memset(is, 0, sizeof *is);
	is->t = t;
	is->a = a;
	is->o = o;
	buf_init(&is->notes, 64 * 1024);
	buf_init(&is->permkw, 64 * 1024);
	if ((is->s = tern_store(t, cause)) == NULL)
		return -1;
	if ((is->account_id = store_account(is->s, a->name, "imap", cause)) < 0)
		return -1;
	return 0;
}

/*
 * A warning of the connection is a note of the sync; a download (no sync
 * options) prints it.
 */
static void
net_note(void *arg, const char *text)
{
	struct isync *is = arg;

	if (is->o == NULL)
		tern_warnx("%s: %s", is->a->name, text);
	else
		isync_note(is, "%s", text);
}

int
isync_connect_account(struct isync *is, char **cause)
{
	int r;

	if ((r = imap_open(is->a, net_note, is, &is->c, cause)) != 0)
		return r;
	is->c->untagged = on_untagged;
	is->c->arg = is;
	return 0;
}

void
isync_drop_connection(struct isync *is)
{
	isync_txn_rollback(is);
	imap_close(&is->c);
	free(is->selected);
	is->selected = NULL;
	is->fresh = 0;
	isync_folders_free(is);
	is->asked_delim = 0;
}
