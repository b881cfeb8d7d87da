/*
 * Account workers: one thread per account with a driver. A worker has
 * its own context and store handle (SQLite in WAL mode lets the ui read
 * while it writes), runs the driver's sync in watch mode (IDLE) and body
 * fetches the ui asks for, sends the outbox and uploads postponed drafts,
 * and reports through a queue and a pipe the ui polls. A worker never
 * touches ncurses.
 *
 * A sync holds the account's sync lock (core_sync_lock), so that a tern
 * sync of the same account waits for it; a worker never waits for the
 * lock: when another tern holds it, it says so once and tries again
 * after BUSY_RETRY_MS. When a sync fails it tries again after a delay
 * that doubles up to BACKOFF_MAX_MS; at once when the user asks ($) or
 * when another account's worker has just connected (the network is
 * back).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/pattern.h"
#include "tern/smtp.h"
#include "ui-private.h"

#define BACKOFF_MIN_MS (2 * 1000)
#define BACKOFF_MAX_MS (60 * 1000)
#define RESYNC_MS (120 * 1000)
#define BUSY_RETRY_MS (5 * 1000)

struct worker_fetch {
	int64_t id;
	char *section; /* NULL: what showing the message needs */
};

struct ui_worker {
	struct ui *u;
	size_t account;
	pthread_t th;
	int started;
	int wake[2];
	pthread_mutex_t lock;
	int stop;
	int woken; /* wake() was called since the sync began */
	/* Guarded by lock too: the account's sync lock is held, and the
	 * file where a tern sync says that it waits for it. */
	int in_sync;
	char *waitpath;
	struct worker_fetch *fetch; /* bodies and parts to download */
	size_t nfetch;
	int64_t fetching; /* the body being downloaded, or 0 */
	/* A server search asked for (only the latest counts). */
	int search_pending;
	int64_t search_folder_id;
	char *search_folder, *search_text;
	uint64_t search_gen;
	uint64_t last_progress;
	char last_what[16];
	int refused; /* the server refused the login in this sync */
	int down; /* the sync's connection is lost, not yet back */
	const struct driver_ops *drv;
	struct rc_account *rc;
	struct tern t;
};

void
ui_post_event(struct ui *u, struct ui_event *ev)
{
	char c = 'e';

	ev->next = NULL;
	pthread_mutex_lock(&u->evlock);
	*u->evtail = ev;
	u->evtail = &ev->next;
	pthread_mutex_unlock(&u->evlock);
	/* The pipe only wakes the ui; a full pipe already will. */
	if (write(u->evpipe[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

static void
post_new(struct ui_worker *w, enum ui_ev_kind kind, int64_t msg_id, char *text)
{
	struct ui_event *ev = xcalloc(1, sizeof *ev);

	ev->kind = kind;
	ev->account = w->account;
	ev->msg_id = msg_id;
	ev->text = text;
	ui_post_event(w->u, ev);
}

static void
worker_progress(void *arg, const struct sync_progress *p)
{
	struct ui_worker *w = arg;
	struct ui_event *ev;
	uint64_t t = now_ms();

	w->down = 0;
	/* At most ten updates a second reach the screen, and every change
	 * of what is done (the index, then the bodies, of a folder). */
	if (t - w->last_progress < 100 && p->done != p->total &&
	    strncmp(
	        w->last_what, p->what ? p->what : "", sizeof w->last_what) == 0)
		return;
	w->last_progress = t;
	snprintf(
	    w->last_what, sizeof w->last_what, "%s", p->what ? p->what : "");
	ev = xcalloc(1, sizeof *ev);
	ev->kind = UI_EV_PROGRESS;
	ev->account = w->account;
	ev->done = p->done;
	ev->total = p->total;
	ev->text = xasprintf("%s%s%s", p->what ? p->what : "syncing",
	    p->folder ? " " : "", p->folder ? p->folder : "");
	ui_post_event(w->u, ev);
}

/* The connection changed state: for the status line. */
static void
worker_state(void *arg, enum sync_state st, uint64_t retry_ms, const char *why)
{
	struct ui_worker *w = arg;
	struct ui_event *ev = xcalloc(1, sizeof *ev);

	if (st == SYNC_REFUSED)
		w->refused = 1;
	if (st == SYNC_LOST || st == SYNC_REFUSED)
		w->down = 1;
	else if (st == SYNC_IDLE)
		w->down = 0;
	ev->kind = UI_EV_STATE;
	ev->account = w->account;
	ev->msg_id = st;
	ev->done = retry_ms;
	ev->text = why != NULL ? text_visible_dup(why) : NULL;
	ui_post_event(w->u, ev);
}

/* The sync failed: the ui says so, and when the next attempt comes. */
static void
post_error(struct ui_worker *w, char *cause, uint64_t retry_ms)
{
	struct ui_event *ev = xcalloc(1, sizeof *ev);

	ev->kind = UI_EV_ERROR;
	ev->account = w->account;
	ev->msg_id = w->refused;
	ev->done = retry_ms;
	ev->text = cause != NULL ? cause : xstrdup("sync failed");
	ui_post_event(w->u, ev);
}

/* A warning from the driver ("too large, left on the server"): on the
 * message line, and in the log. */
static void
worker_note(void *arg, const char *account, const char *text)
{
	struct ui_worker *w = arg;

	(void)account; /* the event names the account */
	post_new(w, UI_EV_NOTE, 0, text_visible_dup(text));
}

/*
 * The sync stored what the user waits for (the newest messages of a
 * first sync, the folder list): the ui looks at the store now instead of
 * at its next turn.
 */
static void
worker_stored(void *arg)
{
	struct ui_worker *w = arg;

	post_new(w, UI_EV_STORED, 0, NULL);
}

/* What sending one outbox message did, for the message line. */
static void
worker_outcome(void *arg, const struct smtp_outcome *o)
{
	struct ui_worker *w = arg;
	struct ui_event *ev = xcalloc(1, sizeof *ev);

	ev->kind = UI_EV_NOTE;
	ev->account = w->account;
	ev->done = o->result != SMTP_SENT;
	/* Offline, the status line says so: the message line keeps what
	 * the user was told ("Queued"). */
	ev->quiet = o->result == SMTP_OFFLINE;
	if (o->result == SMTP_SENT)
		ev->text = xasprintf("sent%s%s", o->copy ? "; copy in " : "",
		    o->copy ? o->copy : "");
	else if (o->result == SMTP_OFFLINE || o->result == SMTP_DEFERRED ||
	    o->result == SMTP_TEMPFAIL)
		ev->text = xasprintf("not sent yet (kept in the outbox): %s",
		    o->reason ? o->reason : "try again later");
	else
		ev->text = xasprintf(
		    "not sent: %s", o->reason ? o->reason : "refused");
	ui_post_event(w->u, ev);
}

/* What uploading a postponed draft did, for the message line. */
static void
worker_draft(void *arg, const struct smtp_draft_outcome *o)
{
	struct ui_worker *w = arg;
	struct ui_event *ev = xcalloc(1, sizeof *ev);

	ev->kind = UI_EV_NOTE;
	ev->account = w->account;
	ev->done = o->where == NULL;
	if (o->where != NULL)
		ev->text = xasprintf("draft uploaded to %s", o->where);
	else
		ev->text = xasprintf("draft not uploaded yet (kept): %s",
		    o->reason ? o->reason : "try again later");
	ui_post_event(w->u, ev);
}

static void
drain(int fd)
{
	char b[64];

	while (read(fd, b, sizeof b) > 0)
		;
}

/* Wait up to ms, or until woken; returns at once when asked to stop. */
static void
worker_wait(struct ui_worker *w, uint64_t ms)
{
	struct pollfd pfd = { .fd = w->wake[0], .events = POLLIN };

	pthread_mutex_lock(&w->lock);
	if (w->stop || w->nfetch > 0 || w->search_pending) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_unlock(&w->lock);
	poll(&pfd, 1, (int)ms);
	drain(w->wake[0]);
}

/*
 * After a failed sync: the wait before the next, twice as long as last
 * time up to BACKOFF_MAX_MS.
 */
static uint64_t
worker_backoff(uint64_t *backoff)
{
	const char *env = getenv("TERN_BACKOFF_MS");
	uint64_t first;

	/* A test hook: a first delay long enough that only a wake-up
	 * ends it. */
	if (env == NULL ||
	    parse_uint64(env, strlen(env), 3600000, &first) != 0 || first == 0)
		first = BACKOFF_MIN_MS;
	*backoff = *backoff ? *backoff * 2 : first;
	if (*backoff > BACKOFF_MAX_MS && *backoff > first)
		*backoff = first > BACKOFF_MAX_MS ? first : BACKOFF_MAX_MS;
	return *backoff;
}

/* The sync lock is held: the ui may ask the worker to let go of it. */
static void
worker_locked(struct ui_worker *w)
{
	struct store *s;
	char *path = NULL;
	int64_t id;

	pthread_mutex_lock(&w->lock);
	path = w->waitpath;
	pthread_mutex_unlock(&w->lock);
	if (path == NULL && (s = tern_store(&w->t, NULL)) != NULL &&
	    (id = store_account(
	         s, w->rc->name, rc_protocol_name(w->rc->protocol), NULL)) > 0)
		path = core_sync_wait_path(&w->t, id);
	pthread_mutex_lock(&w->lock);
	w->waitpath = path;
	w->in_sync = 1;
	pthread_mutex_unlock(&w->lock);
}

/* Run the server search asked for; the answer goes to the ui. */
static void
worker_search(struct ui_worker *w, int64_t folder_id, const char *folder,
    const char *text, uint64_t gen)
{
	struct ui_event *ev = xcalloc(1, sizeof *ev);
	struct pattern *p = NULL;
	struct store *s;
	struct store_msg m;
	uint32_t *uids = NULL;
	size_t n = 0, i;
	char *cause = NULL;
	int found;

	memset(&m, 0, sizeof m);
	ev->kind = UI_EV_SEARCHED;
	ev->account = w->account;
	ev->msg_id = folder_id;
	ev->gen = gen;
	if (w->drv->search == NULL)
		cause = xstrdup("this account cannot search its server");
	else if (pattern_parse(text, 0, &p, NULL, &cause) == 0 &&
	    w->drv->search(&w->t, w->rc, folder, p, &uids, &n, &cause) == 0 &&
	    (s = tern_store(&w->t, &cause)) != NULL) {
		/* UIDs to the store's ids; one not stored yet comes with the
		 * next sync. */
		ev->ids = xreallocarray(NULL, n + 1, sizeof *ev->ids);
		for (i = 0; i < n; i++) {
			found =
			    store_msg_get(s, folder_id, uids[i], &m, &cause);
			if (found < 0)
				break;
			if (found)
				ev->ids[ev->n++] = m.id;
			store_msg_clear(&m);
		}
	}
	if (cause != NULL) {
		free(ev->ids);
		ev->ids = NULL;
		ev->n = 0;
		ev->text = cause;
	}
	free(uids);
	pattern_free(&p);
	ui_post_event(w->u, ev);
}

static void *
worker_main(void *arg)
{
	struct ui_worker *w = arg;
	const struct driver_ops *drv = w->drv;
	uint64_t backoff = 0;
	int woken, lockfd = -1, said_busy = 0;
	const char *waitpath;

	for (;;) {
		struct sync_opts o;
		char *summary = NULL, *cause = NULL;
		int64_t id = 0, sfolder = 0;
		char *sname = NULL, *stext = NULL, *section = NULL;
		uint64_t sgen = 0;
		int r;

		pthread_mutex_lock(&w->lock);
		if (w->stop) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		if (w->nfetch > 0) {
			id = w->fetch[0].id;
			section = w->fetch[0].section;
			memmove(w->fetch, w->fetch + 1,
			    --w->nfetch * sizeof *w->fetch);
			if (section == NULL)
				w->fetching = id;
		} else if (w->search_pending) {
			w->search_pending = 0;
			sfolder = w->search_folder_id;
			sname = w->search_folder;
			stext = w->search_text;
			sgen = w->search_gen;
			w->search_folder = w->search_text = NULL;
		}
		pthread_mutex_unlock(&w->lock);
		if (sname != NULL) {
			worker_search(w, sfolder, sname, stext, sgen);
			free(sname);
			free(stext);
			continue;
		}
		if (id != 0 && section != NULL) {
			struct ui_event *ev = xcalloc(1, sizeof *ev);

			ev->kind = UI_EV_PART_FETCHED;
			ev->account = w->account;
			ev->msg_id = id;
			ev->section = section;
			if (drv->fetch_part == NULL)
				ev->text = xstrdup(
				    "this account cannot fetch attachments");
			else if (drv->fetch_part(&w->t, w->rc, id, section,
			             &ev->text) != 0 &&
			    ev->text == NULL)
				ev->text = xstrdup("download failed");
			if (ev->text != NULL)
				ev->kind = UI_EV_PART_FAILED;
			ui_post_event(w->u, ev);
			continue;
		}
		if (id != 0) {
			/* A big IMAP message comes as a view, without its
			 * attachments. */
			r = core_view_fetch(&w->t, w->rc, id, &cause);
			pthread_mutex_lock(&w->lock);
			w->fetching = 0;
			pthread_mutex_unlock(&w->lock);
			if (r != 0)
				post_new(w, UI_EV_FETCH_FAILED, id, cause);
			else
				post_new(w, UI_EV_FETCHED, id, NULL);
			continue;
		}
		/* One sync of the account at a time, also with other terns;
		 * the worker never waits for the lock, and leaves it to a
		 * tern sync that waits for it. */
		pthread_mutex_lock(&w->lock);
		waitpath = w->waitpath;
		pthread_mutex_unlock(&w->lock);
		if (waitpath != NULL && core_sync_waited_for(waitpath))
			r = 1;
		else
			r = core_sync_lock(&w->t, w->rc, 0, &lockfd, &cause);
		if (r == 1) {
			if (!said_busy) {
				struct ui_event *ev = xcalloc(1, sizeof *ev);

				ev->kind = UI_EV_NOTE;
				ev->account = w->account;
				ev->whole = 1;
				ev->text = xasprintf("%s is being synced by "
				                     "another tern; trying "
				                     "again shortly",
				    w->rc->name);
				ui_post_event(w->u, ev);
			}
			said_busy = 1;
			worker_wait(w, BUSY_RETRY_MS);
			continue;
		}
		said_busy = 0;
		if (r != 0) {
			uint64_t delay = worker_backoff(&backoff);

			w->refused = 0; /* not the server's answer */
			post_error(w, cause, delay);
			worker_wait(w, delay);
			continue;
		}
		worker_locked(w);
		/* What waits in the outbox goes first (as tern sync does it
		 * with --watch). */
		if (w->rc->smtp != NULL &&
		    smtp_outbox_flush(
		        &w->t, w->rc, worker_outcome, w, &cause) != 0) {
			post_new(w, UI_EV_NOTE, 1, cause);
			cause = NULL;
		}
		/* Then postponed drafts, to the server's Drafts. */
		if (drv->append != NULL &&
		    smtp_drafts_flush(&w->t, w->rc, worker_draft, w, &cause) !=
		        0) {
			post_new(w, UI_EV_NOTE, 1, cause);
			cause = NULL;
		}
		memset(&o, 0, sizeof o);
		o.progress = worker_progress;
		o.note = worker_note;
		o.stored = worker_stored;
		o.state = worker_state;
		o.arg = w;
		o.watch = 1;
		o.wakefd = w->wake[0];
		w->refused = 0;
		w->down = 0;
		worker_state(w, SYNC_CONNECTING, 0, NULL);
		r = drv->sync(&w->t, w->rc, &o, &summary, &cause);
		pthread_mutex_lock(&w->lock);
		w->in_sync = 0;
		pthread_mutex_unlock(&w->lock);
		core_sync_unlock(&lockfd);
		pthread_mutex_lock(&w->lock);
		woken = w->woken;
		w->woken = 0;
		pthread_mutex_unlock(&w->lock);
		drain(w->wake[0]);
		if (r == 0 && w->down) {
			/* Woken while it waited to reconnect: not synced,
			 * and the status line keeps saying offline. */
			free(summary);
			backoff = 0;
			if (!woken)
				worker_wait(w, BACKOFF_MIN_MS);
		} else if (r == 0) {
			post_new(w, UI_EV_SYNCED, 0, summary);
			backoff = 0;
			/* Woken (a change to replay, a body to fetch): go on
			 * at once. A driver that returned by itself (no
			 * watching) syncs again after a while. */
			if (!woken)
				worker_wait(w, RESYNC_MS);
		} else {
			/* Woken meanwhile ($, or another account connected):
			 * at once. */
			uint64_t delay = woken ? 0 : worker_backoff(&backoff);

			post_error(w, cause, delay);
			free(summary);
			if (!woken)
				worker_wait(w, delay);
		}
	}
	tern_drop_conn(&w->t);
	store_close(&w->t.store);
	return NULL;
}

static void
wake(struct ui_worker *w)
{
	char c = 'w';

	pthread_mutex_lock(&w->lock);
	w->woken = 1;
	pthread_mutex_unlock(&w->lock);
	if (write(w->wake[1], &c, 1) < 0 && errno != EAGAIN)
		return;
}

void
ui_workers_start(struct ui *u)
{
	for (size_t i = 0; i < u->naccts; i++) {
		struct ui_account *a = &u->accts[i];
		struct ui_worker *w;

		if (a->drv == NULL || a->rc == NULL || a->w != NULL ||
		    a->drv->sync == NULL)
			continue;
		w = xcalloc(1, sizeof *w);
		w->u = u;
		w->account = i;
		w->drv = a->drv;
		w->rc = a->rc;
		w->t = *u->t;
		w->t.store = NULL;
		w->t.conn = NULL;
		w->t.conn_free = NULL;
		w->t.verbose = 0;
		w->t.progress = 0;
		pthread_mutex_init(&w->lock, NULL);
		if (pipe(w->wake) != 0) {
			ui_message(
			    u, 1, "%s: cannot start its worker", a->name);
			pthread_mutex_destroy(&w->lock);
			free(w);
			continue;
		}
		for (int k = 0; k < 2; k++) {
			int fl = fcntl(w->wake[k], F_GETFL);
			fcntl(w->wake[k], F_SETFL, fl | O_NONBLOCK);
		}
		a->w = w;
		a->syncing = 1;
		if (pthread_create(&w->th, NULL, worker_main, w) == 0)
			w->started = 1;
		else
			ui_message(
			    u, 1, "%s: cannot start its worker", a->name);
	}
}

void
ui_workers_stop(struct ui *u)
{
	for (size_t i = 0; i < u->naccts; i++) {
		struct ui_worker *w = u->accts[i].w;

		if (w == NULL)
			continue;
		pthread_mutex_lock(&w->lock);
		w->stop = 1;
		pthread_mutex_unlock(&w->lock);
		wake(w);
	}
	for (size_t i = 0; i < u->naccts; i++) {
		struct ui_worker *w = u->accts[i].w;
		struct timespec ts;

		if (w == NULL)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 3;
		/* A driver stuck in the network must not keep tern open:
		 * after a grace period the process exits without it. */
		if (w->started && pthread_timedjoin_np(w->th, NULL, &ts) != 0) {
			ui_log(u, "worker %s did not stop", u->accts[i].name);
			continue;
		}
		close(w->wake[0]);
		close(w->wake[1]);
		pthread_mutex_destroy(&w->lock);
		for (size_t k = 0; k < w->nfetch; k++)
			free(w->fetch[k].section);
		free(w->fetch);
		free(w->search_folder);
		free(w->search_text);
		free(w->waitpath);
		free(w);
		u->accts[i].w = NULL;
	}
	ui_events_drain(u);
}

void
ui_worker_sync_now(struct ui *u, size_t account)
{
	if (account < u->naccts && u->accts[account].w != NULL)
		wake(u->accts[account].w);
}

/*
 * A tern sync waits for an account whose worker holds the sync lock (an
 * IMAP worker keeps it while it watches with IDLE): the worker lets go
 * when its sync returns, which waking it makes happen.
 */
void
ui_workers_yield(struct ui *u)
{
	for (size_t i = 0; i < u->naccts; i++) {
		struct ui_worker *w = u->accts[i].w;
		char *path = NULL;

		if (w == NULL)
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->in_sync && w->waitpath != NULL)
			path = xstrdup(w->waitpath);
		pthread_mutex_unlock(&w->lock);
		if (path != NULL && core_sync_waited_for(path)) {
			ui_log(u, "yield %s: a tern sync waits for it",
			    u->accts[i].name);
			wake(w);
		}
		free(path);
	}
}

/*
 * An account's worker connected: the others whose last sync failed (and
 * that are not online since) try again now, the network is likely back;
 * whether they wait after the failure or are trying already (then once
 * more at once if that fails).
 */
static void
workers_connected(struct ui *u, size_t account)
{
	for (size_t i = 0; i < u->naccts; i++) {
		struct ui_worker *w = u->accts[i].w;

		if (i == account || w == NULL || u->accts[i].error == NULL ||
		    u->accts[i].online)
			continue;
		ui_log(u, "retry %s: %s connected", u->accts[i].name,
		    u->accts[account].name);
		wake(w);
	}
}

int
ui_worker_fetch(struct ui *u, size_t account, int64_t msg_id)
{
	struct ui_worker *w;

	size_t i;

	if (account >= u->naccts || (w = u->accts[account].w) == NULL ||
	    u->accts[account].drv->fetch == NULL)
		return -1;
	pthread_mutex_lock(&w->lock);
	/*
	 * The pager asks again each time the store changes while it waits,
	 * which a sync that keeps folders offline does all the time: a
	 * body asked for already is not downloaded twice.
	 */
	for (i = 0; i < w->nfetch; i++) {
		if (w->fetch[i].id == msg_id && w->fetch[i].section == NULL)
			break;
	}
	if (i == w->nfetch && w->fetching != msg_id) {
		w->fetch =
		    xreallocarray(w->fetch, w->nfetch + 1, sizeof *w->fetch);
		w->fetch[w->nfetch].id = msg_id;
		w->fetch[w->nfetch++].section = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return 0;
}

int
ui_worker_fetch_part(
    struct ui *u, size_t account, int64_t msg_id, const char *section)
{
	struct ui_worker *w;

	if (account >= u->naccts || (w = u->accts[account].w) == NULL ||
	    u->accts[account].drv->fetch_part == NULL)
		return -1;
	pthread_mutex_lock(&w->lock);
	w->fetch = xreallocarray(w->fetch, w->nfetch + 1, sizeof *w->fetch);
	w->fetch[w->nfetch].id = msg_id;
	w->fetch[w->nfetch++].section = xstrdup(section);
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return 0;
}

int
ui_worker_search(struct ui *u, size_t account, int64_t folder_id,
    const char *folder, const char *text, uint64_t gen)
{
	struct ui_worker *w;

	if (account >= u->naccts || (w = u->accts[account].w) == NULL ||
	    u->accts[account].drv->search == NULL)
		return -1;
	pthread_mutex_lock(&w->lock);
	free(w->search_folder);
	free(w->search_text);
	w->search_folder = xstrdup(folder);
	w->search_text = xstrdup(text);
	w->search_folder_id = folder_id;
	w->search_gen = gen;
	w->search_pending = 1;
	pthread_mutex_unlock(&w->lock);
	wake(w);
	return 0;
}

/*
 * The account's connection is in state c now: online or not, since
 * when, and the error of a past failure forgotten once it is online.
 */
static void
conn_set(struct ui *u, struct ui_account *a, enum ui_conn c)
{
	int online;

	/* The worker syncs again (after a wake-up) on a server that was
	 * there a moment ago: online still, until it says otherwise. */
	if (c == UI_CONN_CONNECTING && a->online) {
		c = UI_CONN_SYNCING;
		free(a->what);
		a->what = NULL;
		a->done = a->total = 0;
	}
	online = c == UI_CONN_SYNCING || c == UI_CONN_IDLE;
	if (c != a->conn)
		ui_log(u, "state %s %s", a->name,
		    c == UI_CONN_CONNECTING    ? "connecting"
		        : c == UI_CONN_SYNCING ? "syncing"
		        : c == UI_CONN_IDLE    ? "idle"
		        : c == UI_CONN_OFFLINE ? "offline"
		                               : "error");
	a->conn = c;
	a->online = online;
	a->syncing = c == UI_CONN_SYNCING || c == UI_CONN_CONNECTING;
	a->retry_at = 0;
	if (online) {
		a->offline_since = 0;
		free(a->error);
		a->error = NULL;
	} else if (c != UI_CONN_CONNECTING && a->offline_since == 0)
		a->offline_since = time(NULL);
}

/*
 * Why the account is offline: in the log view (M), not on the message
 * line, which keeps what the user was told last; said again only when
 * it changed.
 */
static void
conn_error(struct ui *u, struct ui_account *a, char *text)
{
	if (a->error == NULL || strcmp(a->error, text) != 0)
		ui_note(u, 1, "%s: %s", a->name, text);
	free(a->error);
	a->error = xstrdup(text);
}

void
ui_events_drain(struct ui *u)
{
	struct ui_event *ev, *next;
	char b[256];
	int was_online;

	while (read(u->evpipe[0], b, sizeof b) > 0)
		;
	pthread_mutex_lock(&u->evlock);
	ev = u->evhead;
	u->evhead = NULL;
	u->evtail = &u->evhead;
	pthread_mutex_unlock(&u->evlock);
	for (; ev != NULL; ev = next) {
		struct ui_account *a =
		    ev->account < u->naccts ? &u->accts[ev->account] : NULL;

		next = ev->next;
		/* Only the loader's and the indexer's belong to no
		 * account. */
		if (a == NULL && ev->kind != UI_EV_INDEX &&
		    ev->kind != UI_EV_INDEXED) {
			free(ev->section);
			free(ev->text);
			free(ev);
			continue;
		}
		was_online = a != NULL && a->online;
		if (a != NULL)
			u->poked = 1;
		switch (ev->kind) {
		case UI_EV_PROGRESS:
			conn_set(u, a, UI_CONN_SYNCING);
			free(a->what);
			a->what = ev->text;
			ev->text = NULL;
			a->done = ev->done;
			a->total = ev->total;
			break;
		case UI_EV_ONLINE:
			a->online = 1;
			break;
		case UI_EV_INDEXED:
			/* Its commits are a change of the store: looked at
			 * now, not in the middle of the next keys. */
			u->last_check = 0;
			ui_log(u, "search-indexed n=%llu",
			    (unsigned long long)ev->done);
			break;
		case UI_EV_STORED:
			/* The main loop checks the store before it sleeps. */
			u->last_check = 0;
			ui_log(u, "stored %s", a->name);
			break;
		case UI_EV_SYNCED:
			conn_set(u, a, UI_CONN_IDLE);
			/* A summary does not hide what the user was just
			 * told. */
			if (ev->text != NULL &&
			    (u->msg == NULL || now_ms() - u->msg_at > 3000))
				ui_message(u, 0, "%s: %s", a->name, ev->text);
			ui_log(u, "synced %s", a->name);
			break;
		case UI_EV_ERROR:
			conn_set(
			    u, a, ev->msg_id ? UI_CONN_ERROR : UI_CONN_OFFLINE);
			a->retry_at = now_ms() + ev->done;
			conn_error(u, a, ev->text);
			break;
		case UI_EV_STATE:
			switch ((enum sync_state)ev->msg_id) {
			case SYNC_CONNECTING:
				conn_set(u, a, UI_CONN_CONNECTING);
				break;
			case SYNC_IDLE:
				conn_set(u, a, UI_CONN_IDLE);
				break;
			case SYNC_LOST:
			case SYNC_REFUSED:
				conn_set(u, a,
				    ev->msg_id == SYNC_REFUSED
				        ? UI_CONN_ERROR
				        : UI_CONN_OFFLINE);
				if (ev->done > 0)
					a->retry_at = now_ms() + ev->done;
				if (ev->text != NULL)
					conn_error(u, a, ev->text);
				break;
			}
			break;
		case UI_EV_NOTE:
			if (ev->quiet)
				ui_note(u, ev->done != 0, "%s: %s", a->name,
				    ev->text ? ev->text : "");
			else if (ev->whole)
				ui_message(u, ev->done != 0 || ev->msg_id != 0,
				    "%s", ev->text ? ev->text : "");
			else
				ui_message(u, ev->done != 0 || ev->msg_id != 0,
				    "%s: %s", a->name,
				    ev->text ? ev->text : "");
			break;
		case UI_EV_INDEX:
			ui_index_loaded(
			    u, ev->gen, ev->ids, ev->depth, ev->n, ev->text);
			ev->text = NULL;
			break;
		case UI_EV_FETCHED:
		case UI_EV_FETCH_FAILED:
			if (ev->kind == UI_EV_FETCH_FAILED) {
				ui_message(u, 1, "%s: %s", a->name,
				    ev->text ? ev->text : "fetch failed");
			} else
				a->online = 1;
			if (u->mode == UI_PAGER && u->pager.id == ev->msg_id) {
				u->pager.failed =
				    ev->kind == UI_EV_FETCH_FAILED;
				ui_pager_reload(u);
				if (!u->pager.failed)
					ui_act(u, UI_FN_MARK_SEEN);
			}
			ui_index_cache_clear(u);
			break;
		case UI_EV_SEARCHED:
			ui_limit_searched(
			    u, ev->gen, ev->msg_id, ev->ids, ev->n, ev->text);
			ev->ids = NULL;
			break;
		case UI_EV_PART_FETCHED:
		case UI_EV_PART_FAILED:
			if (ev->kind == UI_EV_PART_FETCHED)
				a->online = 1;
			ui_attachment_fetched(u, ev->msg_id, ev->section,
			    ev->kind == UI_EV_PART_FAILED
			        ? (ev->text ? ev->text : "download failed")
			        : NULL);
			break;
		}
		if (a != NULL && !was_online && a->online)
			workers_connected(u, ev->account);
		free(ev->section);
		free(ev->text);
		free(ev);
		u->dirty = 1;
	}
}
