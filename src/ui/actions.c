/*
 * What the bound functions do. Changes to messages go through the core's
 * shared operations (core_flag, core_move, core_purge), the same ones the
 * cli uses: the store changes at once and IMAP accounts queue the change
 * for the server.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/oauth.h"
#include "tern/pattern.h"
#include "ui-private.h"

static int64_t
current_id(struct ui *u)
{
	if (u->mode == UI_PAGER)
		return u->pager.id;
	if (u->cur < u->nids)
		return u->ids[u->cur];
	return 0;
}

static int
current_ref(struct ui *u, struct folder_ref *r)
{
	char *spec, *cause = NULL;
	int ret;

	if (u->nfolders == 0) {
		ui_message(u, 1, "No folder is open");
		return -1;
	}
	spec = ui_folder_spec(u, u->fcur);
	ret = folder_ref_parse(u->t, spec, r, &cause);
	free(spec);
	if (ret != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Reload counts and rows after a change this session made. */
static void
changed(struct ui *u)
{
	u->changes = 1;
	ui_index_cache_clear(u);
	ui_folders_load(u);
	if (u->nfolders > 0)
		ui_folder_count(u, u->fcur);
	ui_store_loaded(u);
}

/* Who holds the store, for a message: the client's own worker syncing,
 * or, when none of them is, another tern. */
static char *
store_holder(struct ui *u)
{
	for (size_t i = 0; i < u->naccts; i++) {
		if (u->accts[i].w != NULL && u->accts[i].syncing)
			return xasprintf("the sync of %s", u->accts[i].name);
	}
	return xstrdup("another tern");
}

/*
 * Keep a change the store refused because another connection held it
 * (store_busy), to be tried again: the screen never waits for the store.
 */
static void
defer_add(struct ui *u, int purge, const struct folder_ref *ref, uint32_t uid,
    const struct core_flag_change *c)
{
	struct ui_deferred *d;
	size_t i;

	u->deferred =
	    xreallocarray(u->deferred, u->ndeferred + 1, sizeof *u->deferred);
	d = &u->deferred[u->ndeferred++];
	memset(d, 0, sizeof *d);
	d->purge = purge;
	d->spec = xasprintf("%s/%s", ref->account_name, ref->folder);
	d->account = u->nfolders > 0 ? u->folders[u->fcur].account : 0;
	d->uid = uid;
	if (c != NULL) {
		d->c.add = c->add;
		d->c.del = c->del;
		for (i = 0; i < c->nkw_add; i++)
			(void)core_flag_change_keyword(
			    &d->c, 1, c->kw_add[i], NULL);
		for (i = 0; i < c->nkw_del; i++)
			(void)core_flag_change_keyword(
			    &d->c, 0, c->kw_del[i], NULL);
	}
	if (u->deferred_at == 0)
		u->deferred_at = now_ms();
}

static void
defer(struct ui *u, int purge, const struct folder_ref *ref, uint32_t uid,
    const struct core_flag_change *c)
{
	char *who = store_holder(u);

	defer_add(u, purge, ref, uid, c);
	ui_message(u, 0, "%s waits for %s to finish writing the store",
	    purge ? "The purge" : "The change", who);
	free(who);
}

static void
deferred_clear(struct ui_deferred *d)
{
	free(d->spec);
	core_flag_change_clear(&d->c);
}

void
ui_deferred_free(struct ui *u)
{
	for (size_t i = 0; i < u->ndeferred; i++)
		deferred_clear(&u->deferred[i]);
	free(u->deferred);
	u->deferred = NULL;
	u->ndeferred = 0;
}

/* Do a and b make the same change of flags in the same folder? */
static int
deferred_same(const struct ui_deferred *a, const struct ui_deferred *b)
{
	return !a->purge && !b->purge && strcmp(a->spec, b->spec) == 0 &&
	    a->c.add == b->c.add && a->c.del == b->c.del &&
	    a->c.nkw_add + a->c.nkw_del == 0 &&
	    b->c.nkw_add + b->c.nkw_del == 0;
}

void
ui_deferred_retry(struct ui *u)
{
	size_t done = 0, n, i;
	uint32_t *uids = NULL;
	int purged = 0, r;

	u->deferred_at = now_ms();
	while (done < u->ndeferred) {
		struct ui_deferred *d = &u->deferred[done];
		struct folder_ref ref;
		char *cause = NULL;

		/* The same change of many messages (a tagged set, a thread)
		 * goes in as one transaction, as it would have at once. */
		for (n = 1; done + n < u->ndeferred &&
		     deferred_same(d, &u->deferred[done + n]);
		     n++)
			;
		r = folder_ref_parse(u->t, d->spec, &ref, &cause);
		store_set_busy_wait(u->s, UI_STORE_WAIT_MS);
		if (r == 0 && d->purge)
			r = core_purge(u->t, &ref, &cause);
		else if (r == 0 && n > 1) {
			uids = xreallocarray(uids, n, sizeof *uids);
			for (i = 0; i < n; i++)
				uids[i] = u->deferred[done + i].uid;
			r = core_flag_change(
			    u->t, &ref, uids, n, &d->c, &cause);
			/* One gone meanwhile refuses them all: then one by
			 * one, so the others still change. */
			if (r != 0 && !store_busy(u->s)) {
				free(cause);
				cause = NULL;
				n = 1;
				r = core_flag_change(
				    u->t, &ref, &d->uid, 1, &d->c, &cause);
			}
		} else if (r == 0)
			r = core_flag_change(
			    u->t, &ref, &d->uid, 1, &d->c, &cause);
		store_set_busy_wait(u->s, STORE_BUSY_WAIT_MS);
		folder_ref_clear(&ref);
		if (r != 0 && store_busy(u->s)) {
			free(cause);
			break; /* still held: the rest waits, in order */
		}
		if (r != 0) {
			ui_message(u, 1, "%s", cause ? cause : "change failed");
			free(cause);
			n = 1;
		} else {
			purged |= d->purge;
			ui_worker_sync_now(u, d->account);
		}
		for (i = 0; i < n; i++)
			deferred_clear(&u->deferred[done + i]);
		done += n;
	}
	free(uids);
	if (done == 0)
		return;
	memmove(u->deferred, u->deferred + done,
	    (u->ndeferred - done) * sizeof *u->deferred);
	u->ndeferred -= done;
	if (u->ndeferred == 0)
		u->deferred_at = 0;
	if (purged)
		ui_message(u, 0, "Deleted messages purged");
	changed(u);
	ui_index_load(u, 1);
}

/* The same changes, waiting only briefly for the store: one that
 * finds it held is deferred instead. */
static int
quick_flag_change(struct ui *u, const struct folder_ref *ref, uint32_t uid,
    const struct core_flag_change *c, char **cause)
{
	int r;

	store_set_busy_wait(u->s, UI_STORE_WAIT_MS);
	r = core_flag_change(u->t, ref, &uid, 1, c, cause);
	store_set_busy_wait(u->s, STORE_BUSY_WAIT_MS);
	return r;
}

static int
quick_purge(struct ui *u, const struct folder_ref *ref, char **cause)
{
	int r;

	store_set_busy_wait(u->s, UI_STORE_WAIT_MS);
	r = core_purge(u->t, ref, cause);
	store_set_busy_wait(u->s, STORE_BUSY_WAIT_MS);
	return r;
}

/* Apply a change of flags and keywords to the current message; 0 or -1. */
static int
change_current(struct ui *u, const struct core_flag_change *c)
{
	unsigned add = c->add, del = c->del;
	struct store_index_row r;
	struct folder_ref ref;
	char *cause = NULL;
	int64_t id = current_id(u);
	int ret = -1;

	if (id == 0) {
		ui_message(u, 0, "No message here");
		return -1;
	}
	if (store_index_row(u->s, id, &r, &cause) != 1) {
		ui_message(u, 1, "%s", cause ? cause : "message gone");
		free(cause);
		return -1;
	}
	if (current_ref(u, &ref) == 0) {
		/* After changes still waiting, in order. */
		if (u->ndeferred > 0) {
			defer(u, 0, &ref, r.uid, c);
			ret = 1;
		} else if (quick_flag_change(u, &ref, r.uid, c, &cause) == 0)
			ret = 0;
		else if (store_busy(u->s)) {
			defer(u, 0, &ref, r.uid, c);
			ret = 1;
		} else
			ui_message(u, 1, "%s", cause);
		free(cause);
		folder_ref_clear(&ref);
	}
	if (ret == 1) {
		store_index_row_clear(&r);
		return 0;
	}
	if (ret == 0 && u->nfolders > 0) {
		/* Counting a big folder again costs more than a key may:
		 * adjust the unread count by what changed. */
		unsigned nf = (r.flags | add) & ~del;

		struct ui_folder *f = &u->folders[u->fcur];

		if (f->unseen < 0)
			;
		else if ((r.flags & STORE_F_SEEN) && !(nf & STORE_F_SEEN))
			f->unseen++;
		else if (!(r.flags & STORE_F_SEEN) && (nf & STORE_F_SEEN))
			f->unseen--;
	}
	store_index_row_clear(&r);
	u->changes = 1;
	/* The account's worker replays the queued change now. */
	if (ret == 0 && u->nfolders > 0)
		ui_worker_sync_now(u, u->folders[u->fcur].account);
	ui_index_cache_clear(u);
	ui_store_loaded(u);
	return ret;
}

static int
flag_current(struct ui *u, unsigned add, unsigned del)
{
	struct core_flag_change c;

	memset(&c, 0, sizeof c);
	c.add = add;
	c.del = del;
	return change_current(u, &c);
}

/*
 * Ask for keywords to add (+WORD or WORD) and remove (-WORD) on the
 * current message.
 */
static void
edit_keywords(struct ui *u)
{
	struct core_flag_change c;
	struct store_msg m;
	char *prompt, *ans = NULL, *cause = NULL, *vis;
	const char *p, *end;
	int64_t id = current_id(u);

	memset(&c, 0, sizeof c);
	memset(&m, 0, sizeof m);
	if (id == 0 || store_msg_get_id(u->s, id, &m, NULL) != 1) {
		ui_message(u, 0, "No message here");
		return;
	}
	vis = text_visible_dup(m.keywords ? m.keywords : "");
	prompt = xasprintf("Keywords%s%s%s (+add -remove): ", *vis ? " [" : "",
	    vis, *vis ? "]" : "");
	free(vis);
	if (ui_prompt(u, prompt, NULL, 0, &ans) != 0)
		goto out;
	for (p = ans; *p != '\0'; p = end) {
		char *word;
		int add = *p != '-', r;

		if (*p == ' ') {
			end = p + 1;
			continue;
		}
		if ((end = strchr(p, ' ')) == NULL)
			end = p + strlen(p);
		word = xstrndup(p, (size_t)(end - p));
		r = core_flag_change_keyword(
		    &c, add, word + (*word == '+' || *word == '-'), &cause);
		free(word);
		if (r != 0) {
			vis = text_visible_dup(cause);
			ui_message(u, 1, "Keywords not changed: %s", vis);
			free(vis);
			goto out;
		}
	}
	if (c.nkw_add + c.nkw_del == 0 && (c.add | c.del) == 0)
		goto out;
	if (change_current(u, &c) == 0) {
		if (u->mode == UI_PAGER)
			ui_pager_reload(u);
		ui_message(u, 0, "Keywords changed");
	}
out:
	core_flag_change_clear(&c);
	store_msg_clear(&m);
	free(cause);
	free(prompt);
	free(ans);
}

int
ui_flag_current(struct ui *u, unsigned add, unsigned del)
{
	return flag_current(u, add, del);
}

static unsigned
current_flags(struct ui *u)
{
	struct store_index_row r;
	unsigned f = 0;

	if (store_index_row(u->s, current_id(u), &r, NULL) == 1)
		f = r.flags;
	store_index_row_clear(&r);
	return f;
}

static void
mark_seen(struct ui *u)
{
	struct store_index_row r;

	if (store_index_row(u->s, u->pager.id, &r, NULL) == 1 &&
	    !(r.flags & STORE_F_SEEN) && u->pager.shown)
		flag_current(u, STORE_F_SEEN, 0);
	store_index_row_clear(&r);
}

static void
open_message(struct ui *u, size_t pos)
{
	if (pos >= u->nids) {
		ui_message(u, 0, "No messages");
		return;
	}
	u->cur = pos;
	ui_pager_open(u, u->ids[pos]);
	mark_seen(u);
}

/* What tern login has to say, on the terminal handed over. */
static void
login_show(void *arg, const char *text)
{
	(void)arg;
	printf("%s\n", text);
	fflush(stdout);
}

/*
 * ^C while the terminal is handed over: the sign-in gives up, the
 * client stays. Only a signal handler may set it, hence the static.
 */
static volatile sig_atomic_t login_interrupted;

static void
login_sigint(int sig)
{
	(void)sig;
	login_interrupted = 1;
}

static int
login_stop(void *arg)
{
	(void)arg;
	return login_interrupted != 0;
}

/*
 * tern login from the client: the terminal is handed over while the
 * sign-in runs (it waits for the person, as the editor does), then the
 * account syncs again.
 */
static void
oauth_login_here(struct ui *u)
{
	struct oauth_login_ui lui = { login_show, login_stop, NULL };
	struct sigaction sa, old_sa;
	struct rc_account *a;
	char *cause = NULL;
	size_t acct;
	int c;

	if (u->nfolders == 0)
		return;
	acct = u->folders[u->fcur].account;
	a = u->accts[acct].rc;
	if (a == NULL ||
	    (a->auth != RC_AUTH_OAUTH2 && a->smtp_auth != RC_AUTH_OAUTH2)) {
		ui_message(u, 1, "this account signs in with a password");
		return;
	}
	ui_shell_begin(u);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = login_sigint;
	sigemptyset(&sa.sa_mask);
	login_interrupted = 0;
	sigaction(SIGINT, &sa, &old_sa);
	printf("\ntern login %s (^C gives up)\n\n", a->name);
	fflush(stdout);
	if (oauth_login(a, &lui, &cause) == OAUTH_OK)
		printf("\nSigned in.");
	else
		printf("\n%s.", cause);
	sigaction(SIGINT, &old_sa, NULL);
	printf(" Press Enter to go back.\n");
	fflush(stdout);
	while ((c = getchar()) != EOF && c != '\n')
		;
	clearerr(stdin);
	ui_shell_end(u);
	if (cause != NULL) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return;
	}
	ui_message(u, 0, "%s: signed in", a->name);
	ui_worker_sync_now(u, acct);
}

static void
purge_and_sync(struct ui *u)
{
	struct folder_ref ref;
	char *cause = NULL;

	if (current_ref(u, &ref) == 0) {
		if (u->ndeferred > 0 ||
		    (quick_purge(u, &ref, &cause) != 0 && store_busy(u->s))) {
			/* The worker (or another tern) holds the store:
			 * purged when it lets go, the screen goes on. */
			free(cause);
			defer(u, 1, &ref, 0, NULL);
			folder_ref_clear(&ref);
			if (u->nfolders > 0)
				ui_worker_sync_now(
				    u, u->folders[u->fcur].account);
			return;
		}
		if (cause != NULL) {
			ui_message(u, 1, "%s", cause);
			free(cause);
		} else
			ui_message(u, 0, "Deleted messages purged%s",
			    u->accts[u->folders[u->fcur].account].drv
			        ? "; syncing"
			        : "");
		folder_ref_clear(&ref);
	}
	changed(u);
	ui_index_load(u, 1);
	if (u->nfolders > 0)
		ui_worker_sync_now(u, u->folders[u->fcur].account);
}

static int64_t
pending_total(struct ui *u)
{
	int64_t n = 0, c;

	for (size_t i = 0; i < u->naccts; i++) {
		if (u->accts[i].id > 0 &&
		    (c = store_pending_count(u->s, u->accts[i].id, NULL)) > 0)
			n += c;
	}
	return n;
}

static void
quit(struct ui *u)
{
	int64_t n = pending_total(u);
	char *q;

	if (n <= 0) {
		u->quit = 1;
		return;
	}
	q = xasprintf("%lld change%s not on the server yet (sent at the next"
	              " sync). Quit?",
	    (long long)n, n == 1 ? "" : "s");
	if (ui_confirm(u, q))
		u->quit = 1;
	free(q);
}

static int pattern_ok(struct ui *u, const char *text);
static const char *unindexed(struct ui *u);

static void
index_search(struct ui *u, enum ui_fn fn)
{
	char *pat = NULL;
	int dir =
	    fn == UI_FN_SEARCH_PREV || fn == UI_FN_SEARCH_REVERSE ? -1 : 1;

	if (fn == UI_FN_SEARCH || fn == UI_FN_SEARCH_REVERSE) {
		if (ui_prompt(u, dir > 0 ? "Search: " : "Search backward: ",
		        NULL, 0, &pat) != 0 ||
		    *pat == '\0' || !pattern_ok(u, pat)) {
			free(pat);
			return;
		}
		free(u->search);
		u->search = pat;
	} else if (u->search == NULL) {
		ui_message(u, 0, "No search pattern yet: press /");
		return;
	}
	if (!ui_index_search(u, u->search, dir, u->cur))
		ui_message(u, 0, "Not found: %s%s", u->search, unindexed(u));
}

/* What a search's answer says of messages not indexed yet ("" none). */
static const char *
unindexed(struct ui *u)
{
	static char note[64];
	int64_t n = ui_indexer_pending(u);

	if (n <= 0)
		return "";
	snprintf(note, sizeof note, " (%lld not indexed yet)", (long long)n);
	return note;
}

/* Is text a pattern? If not, the status line says where it goes wrong. */
static int
pattern_ok(struct ui *u, const char *text)
{
	struct pattern *p = NULL;
	char *cause = NULL;

	if (pattern_parse(text, 0, &p, NULL, &cause) != 0) {
		ui_message(u, 1, "Bad pattern: %s", cause);
		free(cause);
		return 0;
	}
	pattern_free(&p);
	return 1;
}

void
ui_limit_extra_clear(struct ui *u)
{
	free(u->limit_extra);
	u->limit_extra = NULL;
	u->nlimit_extra = 0;
	u->limit_gen++;
}

void
ui_limit_searched(struct ui *u, uint64_t gen, int64_t folder_id, int64_t *ids,
    size_t n, const char *error)
{
	if (gen != u->limit_gen || u->limit == NULL || u->nfolders == 0 ||
	    u->folders[u->fcur].id != folder_id) {
		free(ids);
		return;
	}
	if (error != NULL) {
		ui_message(u, 1, "searched the store only: %s", error);
		free(ids);
		return;
	}
	free(u->limit_extra);
	u->limit_extra = ids;
	u->nlimit_extra = n;
	ui_index_load(u, 1);
	ui_message(u, 0, "%zu message%s match (server: %zu)", u->nids,
	    u->nids == 1 ? "" : "s", n);
}

static void
limit(struct ui *u)
{
	char *pat = NULL;

	if (ui_prompt(u, "Limit to messages matching (empty: all): ", u->limit,
	        0, &pat) != 0)
		return;
	if (*pat != '\0' && !pattern_ok(u, pat)) {
		free(pat);
		return;
	}
	if (*pat == '\0') {
		free(pat);
		pat = NULL;
	}
	ui_limit_apply(u, pat);
}

void
ui_limit_apply(struct ui *u, char *pat)
{
	struct ui_folder *f;
	struct ui_account *a;

	free(u->limit);
	u->limit = pat;
	ui_limit_extra_clear(u);
	ui_index_load(u, 1);
	if (u->limit == NULL || u->nfolders == 0)
		return;
	/* The store's matches now; the server's (bodies never downloaded)
	 * join them when its answer comes. */
	f = &u->folders[u->fcur];
	a = &u->accts[f->account];
	if (a->drv != NULL && a->drv->search != NULL && a->online &&
	    ui_worker_search(
	        u, f->account, f->id, f->name, u->limit, u->limit_gen) == 0)
		ui_message(u, 0, "%zu message%s match%s; searching the server…",
		    u->nids, u->nids == 1 ? "" : "s", unindexed(u));
	else if (a->drv != NULL && a->drv->search != NULL)
		ui_message(u, 0,
		    "%zu message%s match%s (offline: searched the "
		    "store only)",
		    u->nids, u->nids == 1 ? "" : "s", unindexed(u));
	else
		ui_message(u, 0, "%zu message%s match%s", u->nids,
		    u->nids == 1 ? "" : "s", unindexed(u));
}

/*
 * Actions on many messages at once (the tagged ones, a thread): the same
 * core operations as for one, given every UID, so the store changes in
 * one transaction and an IMAP account queues each change for the server
 * as it would one by one.
 */

/* The UIDs of ids, with the flags all of them have (*all) and any has. */
static uint32_t *
uids_of(struct ui *u, const int64_t *ids, size_t n, size_t *nu, unsigned *all,
    unsigned *any)
{
	uint32_t *uids = xreallocarray(NULL, n + 1, sizeof *uids);
	size_t i;
	int reading;

	*nu = 0;
	*all = ~0u;
	*any = 0;
	/* One read transaction, not a lock taken and let go per row. */
	reading = store_read_begin(u->s, NULL) == 0;
	for (i = 0; i < n; i++) {
		struct store_index_row r;

		if (store_index_row(u->s, ids[i], &r, NULL) == 1) {
			uids[(*nu)++] = r.uid;
			*all &= r.flags;
			*any |= r.flags;
		}
		store_index_row_clear(&r);
	}
	if (reading)
		store_read_end(u->s);
	if (*nu == 0)
		*all = 0;
	return uids;
}

static int
many_flag(
    struct ui *u, const int64_t *ids, size_t n, unsigned add, unsigned del)
{
	struct core_flag_change c;
	struct folder_ref ref;
	uint32_t *uids;
	size_t nu, i;
	unsigned all, any;
	char *cause = NULL;
	int r = -1;

	if (current_ref(u, &ref) != 0)
		return -1;
	uids = uids_of(u, ids, n, &nu, &all, &any);
	memset(&c, 0, sizeof c);
	c.add = add;
	c.del = del;
	if (nu == 0)
		ui_message(u, 0, "No message here");
	else if (u->ndeferred > 0) {
		for (i = 0; i < nu; i++)
			defer_add(u, 0, &ref, uids[i], &c);
		r = 0;
	} else {
		store_set_busy_wait(u->s, UI_STORE_WAIT_MS);
		r = core_flag_change(u->t, &ref, uids, nu, &c, &cause);
		store_set_busy_wait(u->s, STORE_BUSY_WAIT_MS);
		if (r != 0 && store_busy(u->s)) {
			/* In order after the store lets go, one by one. */
			for (i = 0; i < nu; i++)
				defer_add(u, 0, &ref, uids[i], &c);
			ui_message(u, 0,
			    "The change of %zu messages waits for the store",
			    nu);
			r = 0;
		} else if (r != 0)
			ui_message(u, 1, "%s", cause);
		else
			ui_worker_sync_now(u, u->folders[u->fcur].account);
	}
	free(cause);
	free(uids);
	folder_ref_clear(&ref);
	if (r == 0) {
		changed(u);
		ui_index_load(u, 1);
	}
	return r;
}

/* Flag f on all of ids, or off all of them when each has it. */
static int
many_toggle(struct ui *u, const int64_t *ids, size_t n, unsigned f)
{
	size_t nu;
	unsigned all, any;
	uint32_t *uids = uids_of(u, ids, n, &nu, &all, &any);

	free(uids);
	return all & f ? many_flag(u, ids, n, 0, f)
	               : many_flag(u, ids, n, f, 0);
}

/*
 * Move (keep 0) or copy ids to a folder asked for: 1 moved, 0 asked, -1
 * not asked or given up. what (NULL: the message under the cursor) is
 * what the prompt and the messages call them.
 */
static int
many_move(
    struct ui *u, const int64_t *ids, size_t n, int keep, const char *what)
{
	struct folder_ref ref;
	uint32_t *uids;
	size_t nu;
	unsigned all, any;
	char *to = NULL, *cause = NULL, *note = NULL, *q;
	int r = 0;

	if (what != NULL)
		q = xasprintf("%s %s to folder (Tab completes): ",
		    keep ? "Copy" : "Move", what);
	else
		q = xasprintf(
		    "%s to folder (Tab completes): ", keep ? "Copy" : "Move");
	if (ui_prompt(u, q, NULL, UI_COMPLETE_FOLDER, &to) != 0 ||
	    *to == '\0') {
		free(q);
		free(to);
		return -1;
	}
	free(q);
	if (current_ref(u, &ref) != 0) {
		free(to);
		return -1;
	}
	uids = uids_of(u, ids, n, &nu, &all, &any);
	if (nu == 0)
		ui_message(u, 0, "No message here");
	else if (strcmp(to, ref.folder) == 0)
		ui_message(u, 1,
		    what != NULL ? "The messages are already in %s"
		                 : "The message is already in %s",
		    to);
	else if (core_move_to(u->t, &ref, uids, nu, to, keep, &note, &cause) !=
	    0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
	} else {
		/* A queued transfer says so; else it is done. */
		if (note != NULL)
			ui_message(u, 0, "%s", note);
		else if (what == NULL)
			ui_message(
			    u, 0, "%s to %s", keep ? "Copied" : "Moved", to);
		else
			ui_message(u, 0, "%s %zu message%s to %s",
			    keep ? "Copied" : "Moved", nu, nu == 1 ? "" : "s",
			    to);
		free(note);
		ui_worker_sync_now(u, u->folders[u->fcur].account);
		r = keep ? 0 : 1;
	}
	free(uids);
	folder_ref_clear(&ref);
	free(to);
	changed(u);
	ui_index_load(u, 1);
	return r;
}

/* Move (keep 0) or copy the message under the cursor. */
static void
save_message(struct ui *u, int keep)
{
	struct store_index_row r;
	int64_t id = current_id(u);

	if (id == 0 || store_index_row(u->s, id, &r, NULL) != 1) {
		ui_message(u, 0, "No message here");
		return;
	}
	store_index_row_clear(&r);
	if (many_move(u, &id, 1, keep, NULL) < 0)
		return;
	/* The pager goes on to what the cursor is on now. */
	if (u->mode == UI_PAGER) {
		if (u->cur < u->nids)
			open_message(u, u->cur);
		else
			u->mode = UI_INDEX;
	}
}

/* What ';' then a key does: the key's action on every tagged message. */
static void
tagged_act(struct ui *u, enum ui_fn fn)
{
	int64_t *ids;
	size_t n;
	char what[64];
	int r = 0;

	/* As in mutt, only what the view shows: a tag that a limit hides
	 * now is left alone. A copy, as the action may change the tags. */
	n = ui_tags_shown(u, &ids);
	if (n == 0) {
		ui_message(u, 0,
		    u->ntags > 0 ? "No tagged message is shown (the limit"
		                   " hides them)"
		                 : "No tagged messages");
		free(ids);
		return;
	}
	snprintf(
	    what, sizeof what, "%zu tagged message%s", n, n == 1 ? "" : "s");
	switch (fn) {
	case UI_FN_DELETE:
		if ((r = many_flag(u, ids, n, STORE_F_DELETED, 0)) == 0)
			ui_message(u, 0, "Deleted %s", what);
		break;
	case UI_FN_UNDELETE:
		if ((r = many_flag(u, ids, n, 0, STORE_F_DELETED)) == 0)
			ui_message(u, 0, "Undeleted %s", what);
		break;
	case UI_FN_FLAG:
		if ((r = many_toggle(u, ids, n, STORE_F_FLAGGED)) == 0)
			ui_message(u, 0, "Flag changed on %s", what);
		break;
	case UI_FN_TOGGLE_NEW:
		if ((r = many_toggle(u, ids, n, STORE_F_SEEN)) == 0)
			ui_message(u, 0, "Read/unread changed on %s", what);
		break;
	case UI_FN_SAVE:
		/* Moved away: no longer in this folder, nor tagged. */
		if (many_move(u, ids, n, 0, what) == 1)
			ui_tags_drop(u, ids, n);
		break;
	case UI_FN_COPY:
		many_move(u, ids, n, 1, what);
		break;
	case UI_FN_FORWARD_ATTACH:
		ui_compose_forward_many(u, ids, n);
		break;
	case UI_FN_PIPE:
		ui_pipe(u, ids, n);
		break;
	default: {
		char name[64];

		snprintf(name, sizeof name, "%s", ui_fn_name(fn));
		ui_message(u, 1,
		    "%s does not apply to tagged messages (d u F N s C A |"
		    " do)",
		    name);
		break;
	}
	}
	(void)r;
	free(ids);
}

/* The thread under the cursor, for an action on it whole. */
static void
thread_act(struct ui *u, enum ui_fn fn)
{
	int64_t *ids = NULL;
	size_t n = 0;
	char *cause = NULL, what[64];

	if (u->mode != UI_INDEX || u->nfolders == 0)
		return;
	if (ui_thread_members(u, u->cur, &ids, &n, &cause) != 0) {
		ui_message(u, 0, "%s", cause);
		free(cause);
		return;
	}
	snprintf(what, sizeof what, "the thread's %zu message%s", n,
	    n == 1 ? "" : "s");
	switch (fn) {
	case UI_FN_DELETE_THREAD:
		if (many_flag(u, ids, n, STORE_F_DELETED, 0) == 0)
			ui_message(u, 0, "Deleted %s", what);
		break;
	case UI_FN_UNDELETE_THREAD:
		if (many_flag(u, ids, n, 0, STORE_F_DELETED) == 0)
			ui_message(u, 0, "Undeleted %s", what);
		break;
	case UI_FN_READ_THREAD:
		if (many_flag(u, ids, n, STORE_F_SEEN, 0) == 0)
			ui_message(u, 0, "Marked read %s", what);
		break;
	case UI_FN_SAVE_THREAD:
		many_move(u, ids, n, 0, "the thread");
		break;
	default:
		break;
	}
	free(ids);
}

void
ui_act(struct ui *u, enum ui_fn fn)
{
	unsigned f;

	if (u->tag_prefix) {
		u->tag_prefix = 0;
		if (u->mode == UI_INDEX && !u->folders_focus) {
			tagged_act(u, fn);
			return;
		}
	}

	if ((u->mode == UI_HELP || u->mode == UI_LOG) && ui_help_key(u, fn))
		return;
	if (u->mode == UI_PAGER && ui_pager_key(u, fn))
		return;
	if (u->mode == UI_PAGER && fn == UI_FN_PAGE_DOWN)
		fn = UI_FN_NEXT_MESSAGE;
	if (u->mode == UI_INDEX && u->folders_focus && ui_folders_key(u, fn))
		return;
	if (u->mode == UI_INDEX && !u->folders_focus && ui_index_key(u, fn))
		return;
	switch (fn) {
	case UI_FN_NONE:
		break;
	case UI_FN_SAVE_ATTACHMENT:
	case UI_FN_OPEN_ATTACHMENT:
		if (u->mode == UI_PAGER)
			ui_attachment(u, fn == UI_FN_OPEN_ATTACHMENT);
		break;
	case UI_FN_MARK_SEEN:
		if (u->mode == UI_PAGER)
			mark_seen(u);
		break;
	case UI_FN_OPEN:
		if (u->mode == UI_INDEX)
			open_message(u, u->cur);
		break;
	case UI_FN_QUIT:
		if (u->mode == UI_PAGER)
			u->mode = UI_INDEX;
		else if (u->mode == UI_HELP || u->mode == UI_LOG)
			u->mode = u->prev_mode;
		else
			quit(u);
		break;
	case UI_FN_EXIT:
		quit(u);
		break;
	case UI_FN_HELP:
		u->prev_mode = u->mode;
		u->mode = UI_HELP;
		u->help_top = 0;
		break;
	case UI_FN_SHOW_LOG:
		u->prev_mode = u->mode;
		u->mode = UI_LOG;
		u->help_top = (size_t)-1 / 2; /* the newest */
		break;
	case UI_FN_REDRAW:
		clearok(curscr, TRUE);
		ui_index_cache_clear(u);
		break;
	case UI_FN_CHANGE_FOLDER:
		u->mode = UI_INDEX;
		u->folders_focus = 1;
		u->sidebar = 1;
		u->fsel = u->fcur;
		break;
	case UI_FN_NEXT_FOLDER:
		if (u->fcur + 1 < u->nfolders)
			ui_folder_open(u, u->fcur + 1);
		break;
	case UI_FN_PREV_FOLDER:
		if (u->fcur > 0)
			ui_folder_open(u, u->fcur - 1);
		break;
	case UI_FN_SIDEBAR:
		u->sidebar = !u->sidebar;
		break;
	case UI_FN_SEARCH:
	case UI_FN_SEARCH_REVERSE:
	case UI_FN_SEARCH_NEXT:
	case UI_FN_SEARCH_PREV:
		index_search(u, fn);
		break;
	case UI_FN_LIMIT:
		limit(u);
		break;
	case UI_FN_DELETE:
		if (flag_current(u, STORE_F_DELETED, 0) != 0)
			break;
		if (u->mode == UI_PAGER) {
			if (u->cur + 1 < u->nids)
				open_message(u, u->cur + 1);
			else
				u->mode = UI_INDEX;
		} else if (u->cur + 1 < u->nids)
			u->cur++;
		break;
	case UI_FN_UNDELETE:
		flag_current(u, 0, STORE_F_DELETED);
		break;
	case UI_FN_FLAG:
		f = current_flags(u);
		flag_current(u, f & STORE_F_FLAGGED ? 0 : STORE_F_FLAGGED,
		    f & STORE_F_FLAGGED ? STORE_F_FLAGGED : 0);
		break;
	case UI_FN_TOGGLE_NEW:
		f = current_flags(u);
		flag_current(u, f & STORE_F_SEEN ? 0 : STORE_F_SEEN,
		    f & STORE_F_SEEN ? STORE_F_SEEN : 0);
		break;
	case UI_FN_KEYWORDS:
		edit_keywords(u);
		break;
	case UI_FN_SYNC:
		purge_and_sync(u);
		break;
	case UI_FN_LOGIN:
		oauth_login_here(u);
		break;
	case UI_FN_SAVE:
	case UI_FN_COPY:
		save_message(u, fn == UI_FN_COPY);
		break;
	case UI_FN_TAG:
		if (u->mode == UI_INDEX)
			ui_tag_current(u);
		break;
	case UI_FN_TAG_PATTERN:
	case UI_FN_UNTAG_PATTERN:
		if (u->mode == UI_INDEX)
			ui_tag_pattern(u, fn == UI_FN_TAG_PATTERN);
		break;
	case UI_FN_TAG_PREFIX:
		if (u->mode != UI_INDEX)
			break;
		if (u->ntags == 0) {
			ui_message(u, 0, "No tagged messages");
			break;
		}
		u->tag_prefix = 1;
		ui_message(u, 0,
		    "Apply to %zu tagged: d u F N s C A | (another key:"
		    " cancel)",
		    u->ntags);
		break;
	case UI_FN_COLLAPSE_THREAD:
	case UI_FN_COLLAPSE_ALL:
		if (u->mode == UI_INDEX)
			ui_thread_collapse(u, fn == UI_FN_COLLAPSE_ALL);
		break;
	case UI_FN_DELETE_THREAD:
	case UI_FN_UNDELETE_THREAD:
	case UI_FN_READ_THREAD:
	case UI_FN_SAVE_THREAD:
		thread_act(u, fn);
		break;
	case UI_FN_PIPE:
		ui_pipe(u, NULL, 0);
		break;
	case UI_FN_RECALL:
		ui_recall(u);
		break;
	case UI_FN_REPLY:
	case UI_FN_GROUP_REPLY:
	case UI_FN_LIST_REPLY:
	case UI_FN_FORWARD:
	case UI_FN_FORWARD_ATTACH:
	case UI_FN_COMPOSE:
		ui_compose(u, fn);
		break;
	case UI_FN_SORT:
		u->sort = (enum store_sort)((u->sort + 1) % 4);
		ui_index_load(u, 1);
		break;
	case UI_FN_SORT_REVERSE:
		u->reverse = !u->reverse;
		ui_index_load(u, 1);
		break;
	case UI_FN_THREADS:
		u->threaded = !u->threaded;
		ui_index_load(u, 1);
		ui_message(u, 0, u->threaded ? "Threaded view" : "Flat view");
		break;
	case UI_FN_NEXT_MESSAGE:
		if (u->cur + 1 < u->nids)
			open_message(u, u->cur + 1);
		else
			ui_message(u, 0, "Last message");
		break;
	case UI_FN_PREV_MESSAGE:
		if (u->cur > 0)
			open_message(u, u->cur - 1);
		else
			ui_message(u, 0, "First message");
		break;
	case UI_FN_NEXT_UNREAD:
		if (u->mode == UI_PAGER) {
			size_t save = u->cur;

			u->mode = UI_INDEX;
			ui_index_key(u, UI_FN_NEXT_UNREAD);
			u->mode = UI_PAGER;
			if (u->cur != save)
				open_message(u, u->cur);
		}
		break;
	default:
		break;
	}
}
