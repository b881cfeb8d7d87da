/*
 * tern sync [--watch] [ACCOUNT...]: upload postponed drafts, run each
 * account's driver, showing progress on stderr when it is a terminal, and
 * one summary line per account at the end; then send the outbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/cli.h"
#include "tern/smtp.h"
#include "tern/util.h"

/* tern sync --watch: the delays between syncs. */
#define WATCH_BACKOFF_MIN_MS (2 * 1000)
#define WATCH_BACKOFF_MAX_MS (60 * 1000)
#define WATCH_RESYNC_MS (120 * 1000)
#define WATCH_BUSY_MS (5 * 1000)
#define WATCH_YIELD_CHECK_MS 500

struct progress_state {
	uint64_t started;
	int shown;
};

static void
show_progress(void *arg, const struct sync_progress *p)
{
	struct progress_state *ps = arg;
	double secs = (double)(now_ms() - ps->started) / 1000.0;
	double rate = secs > 0 ? (double)p->bytes / secs / 1048576.0 : 0;
	/* The folder name is the server's: shown visibly, like all else. */
	char *folder = text_visible_dup(p->folder ? p->folder : "");

	if (p->total)
		fprintf(stderr,
		    "\r%s/%s: %s %llu/%llu, %.1f MiB, %.1f MiB/s\033[K",
		    p->account, folder, p->what, (unsigned long long)p->done,
		    (unsigned long long)p->total, (double)p->bytes / 1048576.0,
		    rate);
	else
		fprintf(stderr, "\r%s/%s: %s %llu\033[K", p->account, folder,
		    p->what, (unsigned long long)p->done);
	free(folder);
	ps->shown = 1;
}

/* A warning that does not fail the sync: "tern: ACCOUNT: text". */
static void
show_note(void *arg, const char *account, const char *text)
{
	struct progress_state *ps = arg;
	char *v = text_visible_dup(text);

	if (ps->shown) {
		fputs("\r\033[K", stderr);
		ps->shown = 0;
	}
	tern_warnx("%s: %s", account, v);
	free(v);
}

/* Report what sending the outbox did. */
static void
sync_outcome(void *arg, const struct smtp_outcome *o)
{
	int *failed = arg;

	switch (o->result) {
	case SMTP_SENT:
		printf("%s: sent outbox message %lld\n", o->account,
		    (long long)o->id);
		if (o->copy_error != NULL) {
			tern_warnx("%s: the Sent copy of %lld failed: %s",
			    o->account, (long long)o->id, o->copy_error);
			*failed = 1;
		}
		break;
	case SMTP_OFFLINE:
		tern_warnx(
		    "%s: outbox kept for later: %s", o->account, o->reason);
		break;
	case SMTP_DEFERRED:
		/* Still queued, for the next sync: a note, not a failure. */
		tern_warnx("%s: outbox message %lld not sent: %s; kept for the "
		           "next sync",
		    o->account, (long long)o->id, o->reason);
		break;
	default:
		tern_warnx("%s: outbox message %lld not sent: %s (tern send "
		           "--list)",
		    o->account, (long long)o->id, o->reason);
		*failed = 1;
		break;
	}
}

/* After an account's sync: send what waits in its outbox. */
static int
sync_outbox(struct tern *t, struct rc_account *a)
{
	char *cause = NULL;
	int failed = 0;

	if (a->smtp == NULL)
		return TERN_EXIT_OK;
	if (smtp_outbox_flush(t, a, sync_outcome, &failed, &cause) != 0) {
		tern_warnx("%s: outbox: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	fflush(stdout);
	return failed ? TERN_EXIT_FAIL : TERN_EXIT_OK;
}

/* Report what uploading a postponed draft did. */
static void
sync_draft(void *arg, const struct smtp_draft_outcome *o)
{
	(void)arg;
	if (o->where != NULL) {
		printf("%s: draft uploaded to %s\n", o->account, o->where);
		return;
	}
	/* Still queued, for the next sync: a note, not a failure. */
	tern_warnx("%s: draft kept for later: %s", o->account, o->reason);
}

/* Before an account's sync: upload its postponed drafts. */
static int
sync_drafts(struct tern *t, struct rc_account *a)
{
	char *cause = NULL;

	if (smtp_drafts_flush(t, a, sync_draft, NULL, &cause) != 0) {
		tern_warnx("%s: drafts: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	fflush(stdout);
	return TERN_EXIT_OK;
}

static int
sync_account(struct tern *t, struct rc_account *a, int watch, int wakefd)
{
	const struct driver_ops *d = core_driver(a->protocol);
	struct progress_state ps = { now_ms(), 0 };
	struct sync_opts o;
	char *summary = NULL, *cause = NULL;
	int rc;

	if (d == NULL || d->sync == NULL) {
		tern_warnx("%s: this tern cannot sync %s accounts", a->name,
		    rc_protocol_name(a->protocol));
		return TERN_EXIT_FAIL;
	}
	memset(&o, 0, sizeof o);
	o.wakefd = wakefd;
	o.watch = watch;
	o.note = show_note;
	o.arg = &ps;
	if (t->progress)
		o.progress = show_progress;
	/* Moves to local folders queued offline go first. */
	if (core_account_remote(a) && core_transfer_replay(t, a, &cause) != 0) {
		tern_warnx("%s: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	rc = d->sync(t, a, &o, &summary, &cause);
	if (ps.shown)
		fputs("\r\033[K", stderr);
	if (rc != 0) {
		tern_warnx("%s: %s", a->name, cause ? cause : "sync failed");
		free(cause);
		free(summary);
		return TERN_EXIT_FAIL;
	}
	{
		/* A summary may quote the server (folder names, replies). */
		char *v = text_visible_dup(summary ? summary : "done");

		printf("%s: %s\n", a->name, v);
		free(v);
	}
	fflush(stdout);
	free(summary);
	return TERN_EXIT_OK;
}

/*
 * Upload postponed drafts, sync, then send the outbox (whether or not
 * the sync worked). A watch runs until stopped: the outbox goes first
 * then. *synced: the driver's sync itself worked.
 */
static int
sync_steps(
    struct tern *t, struct rc_account *a, int watch, int wakefd, int *synced)
{
	int status = TERN_EXIT_OK;

	*synced = 0;
	if (sync_drafts(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	if (watch && sync_outbox(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	if (sync_account(t, a, watch, wakefd) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	else
		*synced = 1;
	if (sync_outbox(t, a) != TERN_EXIT_OK)
		status = TERN_EXIT_FAIL;
	return status;
}

/* One sync of the account, after any other sync of it has finished. */
static int
sync_one(struct tern *t, struct rc_account *a)
{
	char *cause = NULL;
	int fd = -1, r, synced, status;

	if ((r = core_sync_lock(t, a, 0, &fd, &cause)) == 1) {
		tern_warnx("%s: waiting for another sync of this account to "
		           "finish",
		    a->name);
		r = core_sync_lock(t, a, 1, &fd, &cause);
	}
	if (r != 0) {
		tern_warnx("%s: %s", a->name, cause);
		free(cause);
		return TERN_EXIT_FAIL;
	}
	status = sync_steps(t, a, 0, -1, &synced);
	core_sync_unlock(&fd);
	return status;
}

/* Sleep ms, or until a signal. */
static void
nap(uint64_t ms)
{
	(void)poll(NULL, 0, (int)ms);
}

/*
 * While a watch holds the sync lock (an IMAP watch holds it for as long
 * as it waits with IDLE), a thread looks twice a second whether a tern
 * sync waits for it, and then makes the driver return (its wakefd) so
 * that the watch lets go.
 */
struct watch_yield {
	pthread_t thread;
	pthread_mutex_t lock;
	int holding; /* the watch holds the lock */
	int stop;
	char *waitpath;
	int pipe[2];
};

static void *
watch_yield_main(void *arg)
{
	struct watch_yield *y = arg;

	for (;;) {
		char *path = NULL;
		int stop;

		pthread_mutex_lock(&y->lock);
		stop = y->stop;
		if (y->holding && y->waitpath != NULL)
			path = xstrdup(y->waitpath);
		pthread_mutex_unlock(&y->lock);
		if (stop)
			break;
		if (path != NULL && core_sync_waited_for(path) &&
		    write(y->pipe[1], "y", 1) < 0 && errno != EAGAIN)
			break;
		free(path);
		nap(WATCH_YIELD_CHECK_MS);
	}
	return NULL;
}

/* Note that the lock is held (or not); the first time, where a tern
 * sync that waits for it says so. */
static void
watch_holding(
    struct watch_yield *y, struct tern *t, struct rc_account *a, int holding)
{
	struct store *s;
	char *path = NULL;
	int64_t id;

	if (holding && y->waitpath == NULL &&
	    (s = tern_store(t, NULL)) != NULL &&
	    (id = store_account(
	         s, a->name, rc_protocol_name(a->protocol), NULL)) > 0)
		path = core_sync_wait_path(t, id);
	pthread_mutex_lock(&y->lock);
	if (path != NULL)
		y->waitpath = path;
	y->holding = holding;
	pthread_mutex_unlock(&y->lock);
}

/*
 * tern sync --watch: keep the account synced until stopped. A sync that
 * fails (the network) is tried again after a delay that doubles up to
 * WATCH_BACKOFF_MAX_MS; one that returns by itself (a driver without
 * push) again after WATCH_RESYNC_MS. While another tern syncs the
 * account, it says so once and tries again every WATCH_BUSY_MS.
 */
static int
sync_watch(struct tern *t, struct rc_account *a)
{
	struct watch_yield y;
	uint64_t backoff = 0;
	char *cause = NULL, c;
	int fd = -1, r, synced, said_busy = 0, yielded, status;
	const struct driver_ops *d = core_driver(a->protocol);

	if (d == NULL || d->sync == NULL) {
		tern_warnx("%s: this tern cannot sync %s accounts", a->name,
		    rc_protocol_name(a->protocol));
		return TERN_EXIT_FAIL;
	}
	memset(&y, 0, sizeof y);
	if (pipe(y.pipe) != 0) {
		tern_warnx("pipe: %s", strerror(errno));
		return TERN_EXIT_FAIL;
	}
	for (int k = 0; k < 2; k++)
		fcntl(
		    y.pipe[k], F_SETFL, fcntl(y.pipe[k], F_GETFL) | O_NONBLOCK);
	pthread_mutex_init(&y.lock, NULL);
	if (pthread_create(&y.thread, NULL, watch_yield_main, &y) != 0)
		tern_fatalx(TERN_EXIT_FAIL, "cannot start a thread");
	for (;;) {
		/* A tern sync that waits for the lock goes first. */
		if (y.waitpath != NULL && core_sync_waited_for(y.waitpath))
			r = 1;
		else
			r = core_sync_lock(t, a, 0, &fd, &cause);
		if (r == 1) {
			if (!said_busy)
				tern_warnx("%s is being synced by another "
				           "tern; trying again shortly",
				    a->name);
			said_busy = 1;
			nap(WATCH_BUSY_MS);
			continue;
		}
		if (r != 0) {
			tern_warnx("%s: %s", a->name, cause);
			free(cause);
			status = TERN_EXIT_FAIL;
			break;
		}
		said_busy = 0;
		watch_holding(&y, t, a, 1);
		(void)sync_steps(t, a, 1, y.pipe[0], &synced);
		watch_holding(&y, t, a, 0);
		core_sync_unlock(&fd);
		yielded = 0;
		while (read(y.pipe[0], &c, 1) == 1)
			yielded = 1;
		if (yielded)
			continue; /* the waiting sync has the lock now */
		if (synced) {
			backoff = 0;
			nap(WATCH_RESYNC_MS);
			continue;
		}
		backoff = backoff ? backoff * 2 : WATCH_BACKOFF_MIN_MS;
		if (backoff > WATCH_BACKOFF_MAX_MS)
			backoff = WATCH_BACKOFF_MAX_MS;
		tern_warnx("%s: trying again in %llu s", a->name,
		    (unsigned long long)(backoff / 1000));
		nap(backoff);
	}
	pthread_mutex_lock(&y.lock);
	y.stop = 1;
	pthread_mutex_unlock(&y.lock);
	pthread_join(y.thread, NULL);
	pthread_mutex_destroy(&y.lock);
	close(y.pipe[0]);
	close(y.pipe[1]);
	free(y.waitpath);
	return status;
}

int
cmd_sync(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "watch", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, i, watch = 0, status = TERN_EXIT_OK;
	size_t j;

	while ((ch = getopt_long(argc, argv, "w", longopts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			watch = 1;
			break;
		default:
			return cli_usage(cli_find("sync"));
		}
	}
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], TERN_LOCAL_ACCOUNT) == 0)
			continue;
		if (rc_find_account(t->rc, argv[i]) == NULL) {
			tern_warnx(
			    "no account '%s' in %s", argv[i], t->rc_path);
			return TERN_EXIT_USAGE;
		}
	}
	if (watch && argc - optind != 1) {
		tern_warnx("--watch takes exactly one account");
		return TERN_EXIT_USAGE;
	}
	if (optind == argc) {
		if (t->rc->naccounts == 0) {
			tern_warnx(
			    "no accounts in %s; see tern-rc(5)", t->rc_path);
			return TERN_EXIT_USAGE;
		}
		for (j = 0; j < t->rc->naccounts; j++) {
			if (sync_one(t, &t->rc->accounts[j]) != 0)
				status = TERN_EXIT_FAIL;
		}
		return status;
	}
	if (watch && strcmp(argv[optind], TERN_LOCAL_ACCOUNT) == 0) {
		tern_warnx("%s: nothing to watch: its folders live only in "
		           "this store",
		    argv[optind]);
		return TERN_EXIT_USAGE;
	}
	if (watch)
		return sync_watch(t, rc_find_account(t->rc, argv[optind]));
	for (i = optind; i < argc; i++) {
		/* tern ls lists it, so it is a name to accept: its folders
		 * live in the store alone and have nothing to sync with. */
		if (strcmp(argv[i], TERN_LOCAL_ACCOUNT) == 0) {
			printf("%s: nothing to sync: its folders live only in "
			       "this store\n",
			    argv[i]);
			continue;
		}
		if (sync_one(t, rc_find_account(t->rc, argv[i])) != 0)
			status = TERN_EXIT_FAIL;
	}
	return status;
}
