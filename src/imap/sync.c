/*
 * The IMAP account sync: the queued changes first (core's drv_replay over
 * the driver object of ops.c), then on a first sync the newest messages
 * of INBOX (shown while the rest comes), the folder list, the header
 * index of each folder, the quota, and with --watch, IDLE.
 *
 * Everything is keyed by (UIDVALIDITY, UID). A lost connection opens a
 * new one and the sync resumes from what is stored; a folder the server
 * refuses is skipped with a note and the others go on.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/driver.h"
#include "tern/mime.h"
#include "tern/store.h"
#include "tern/util.h"

/* How many times one sync opens a new connection after losing one. */
#define SYNC_RECONNECTS 5

/* The replay's notes go where the sync's go. */
static void
replay_note(void *arg, const char *account, const char *text)
{
	isync_note(arg, "%s", text);
}

int
isync_replay(struct isync *is, char **cause)
{
	struct drv *d = imap_drv_of(is);
	struct drv_replay_stats st;
	struct sync_opts o;

	memset(&st, 0, sizeof st);
	memset(&o, 0, sizeof o);
	o.note = replay_note;
	o.arg = is;
	if (drv_replay(is->t, is->a, &imap_drv_ops, &d, &o, &st, cause) !=
	    DRV_OK)
		return -1;
	is->nreplayed += st.done;
	return 0;
}

/*
 * Sync one folder; a refusal (the connection still good) skips it with a
 * note, after one more try without CONDSTORE items when it used them.
 */
int
isync_sync_folder_or_skip(struct isync *is, const char *name, char **cause)
{
	char *err = NULL;
	int rc;

	if ((rc = isync_sync_folder(is, name, &err)) == 0 ||
	    imap_err(is->c) != DRV_REFUSED)
		goto out;
	if (isync_modseq(is)) {
		/* "MODSEQ can't be used with non-permanent modseqs" */
		free(err);
		err = NULL;
		is->no_modseq = 1;
		rc = isync_sync_folder(is, name, &err);
		is->no_modseq = 0;
		if (rc == 0 || imap_err(is->c) != DRV_REFUSED)
			goto out;
	}
	isync_note(is, "%s skipped: %s", name, err ? err : "refused");
	is->nfailed++;
	rc = 0;
out:
	if (rc != 0) {
		*cause = err;
		err = NULL;
	}
	free(err);
	return rc;
}

int
isync_sync_pass(struct isync *is, char **cause)
{
	size_t k;
	int inbox;

	is->nfailed = 0;
	if (isync_replay(is, cause) != 0 ||
	    isync_inbox_first(is, &inbox, cause) != 0 ||
	    (!inbox && isync_inbox_newest(is, cause) != 0) ||
	    isync_sync_list(is, cause) != 0)
		return -1;
	/* INBOX's newest came before the LIST: its rest comes next. */
	if (!inbox && is->fresh) {
		if (isync_sync_folder_or_skip(is, "INBOX", cause) != 0)
			return -1;
		inbox = 1;
	}
	for (k = 0; k < is->nfolders; k++) {
		const struct folder_entry *f = &is->folders[k];
		int rc = 1;

		if (f->noselect || !isync_wanted(is, f->name))
			continue;
		if (!(inbox && strcmp(f->name, "INBOX") == 0) &&
		    (rc = isync_unchanged(is, f, cause)) < 0)
			return -1;
		if (rc == 0 &&
		    isync_sync_folder_or_skip(is, f->name, cause) != 0)
			return -1;
		/* Its bodies, when the folder is kept offline. */
		if (isync_offline(is, f->name, cause) != 0)
			return -1;
	}
	return isync_sync_quota(is, cause);
}

/*
 * Passes until one completes: a lost connection (reset, timeout, close)
 * opens a new one and the pass resumes from what is stored, a few times.
 */
static int
sync_resuming(struct drv *d, char **cause)
{
	struct isync *is = imap_drv_session(d);
	unsigned attempt;

	for (attempt = 0;; attempt++) {
		char *err = NULL;

		if (isync_sync_pass(is, &err) == 0)
			return 0;
		if (!drv_err_transient(imap_err(is->c)) ||
		    attempt >= SYNC_RECONNECTS) {
			*cause = err;
			return -1;
		}
		isync_note(is, "reconnected after: %s", err);
		free(err);
		if (attempt > 0)
			sleep(attempt < 4 ? attempt : 4);
		if (imap_drv_ops.reconnect(d, cause) != DRV_OK)
			return -1;
	}
}

static char *
summary_line(struct isync *is)
{
	const struct sync_opts *o = is->o;
	int notes = is->notes.len > 0 && (o == NULL || o->note == NULL);
	char *s, *v;

	char bodies[64] = "";

	if (is->a->offline)
		snprintf(bodies, sizeof bodies, ", %llu bodies stored",
		    (unsigned long long)is->nbodies);
	s = xasprintf("%llu new, %llu flag updates, %llu removed%s%s%s",
	    (unsigned long long)is->nnew, (unsigned long long)is->nflags,
	    (unsigned long long)is->nvanished, bodies, notes ? "; " : "",
	    notes ? is->notes.data : "");
	/* Notes quote folder names and server text: made visible. */
	v = text_visible_dup(s);
	free(s);
	return v;
}

static int
imap_sync(struct tern *t, struct rc_account *a, const struct sync_opts *o,
    char **summary, char **cause)
{
	struct drv *d = NULL;
	struct isync *is;
	enum drv_err e;
	int ret = -1;

	if ((e = imap_drv_ops.open(t, a, o, &d, cause)) != DRV_OK) {
		if (e == DRV_AUTH && o != NULL && o->state != NULL)
			o->state(o->arg, SYNC_REFUSED, 0, *cause);
		return -1;
	}
	is = imap_drv_session(d);
	if (sync_resuming(d, cause) != 0)
		goto out;
	if (o != NULL && o->watch && isync_watch_forever(is, cause) != 0)
		goto out;
	if (is->nfailed > 0) {
		set_cause(cause, "%u folder%s could not be synced (see above)",
		    is->nfailed, is->nfailed == 1 ? "" : "s");
		goto out;
	}
	if (summary != NULL)
		*summary = summary_line(is);
	ret = 0;
out:
	imap_drv_ops.close(&d);
	return ret;
}

const struct driver_ops imap_driver = {
	.name = "imap",
	.caps = CORE_DRV_REMOTE,
	.sync = imap_sync,
	.fetch = imap_fetch,
	.fetch_view = imap_fetch_view,
	.fetch_many = imap_fetch_many,
	.fetch_part = imap_fetch_part,
	.append = imap_append_copy,
	.search = imap_search,
};
