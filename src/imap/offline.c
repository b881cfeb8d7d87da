/*
 * Folders kept offline (the account's offline key, Thunderbird's "keep
 * messages on this computer"): after the index of a folder, the bodies
 * of its messages, newest first. Those that fit offline_max_size come
 * whole, each run of them in one pipelined call (isync_bodies); a bigger
 * one as its view, the text parts without the attachments (isync_view).
 * Nothing changes a flag, here or on the server, and what the store
 * holds is never asked for again, so an interrupted sync goes on from
 * there the next time.
 *
 * The client's worker runs the sync and also downloads what the user
 * opens: when it asks the sync to give way (wakefd), the downloads stop
 * once the commands under way have come (the first command of a sync
 * always goes) and the rest waits for the next sync.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/store.h"
#include "tern/util.h"

/* Does the one who started the sync want it to give way? */
static int
asked_to_yield(const struct isync *is)
{
	struct pollfd pfd;

	if (is->o == NULL || is->o->wakefd < 0)
		return 0;
	pfd.fd = is->o->wakefd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) > 0;
}

/* Was uid's view refused by the parser earlier in this sync? */
static int
view_refused(const struct isync *is, int64_t folder_id, uint32_t uid)
{
	size_t i;

	for (i = 0; i < is->nview_refused; i++) {
		if (is->view_refused[i].folder_id == folder_id &&
		    is->view_refused[i].uid == uid)
			return 1;
	}
	return 0;
}

/* The view of the big message uid, or -1 with cause. */
static int
offline_view(
    struct isync *is, const struct store_folder *f, uint32_t uid, char **cause)
{
	struct store_msg m;
	int found, ret = 0;

	memset(&m, 0, sizeof m);
	if ((found = store_msg_get(is->s, f->id, uid, &m, cause)) < 0)
		return -1;
	if (found == 0 || m.has_body)
		goto out;
	if (view_refused(is, f->id, uid)) {
		/* Its structure is beyond the parser: the exact bytes. */
		ret = isync_bodies(is, &uid, 1, cause);
		goto out;
	}
	if ((ret = isync_view(is, &m, f, 0, cause)) == 1)
		ret = 0; /* expunged meanwhile: the index drops it */
	if (ret != 0 && imap_err(is->c) == DRV_PROTO) {
		/*
		 * A reply the parser refuses leaves the connection unusable:
		 * the sync resumes on a new one (as after a lost connection),
		 * and this message comes whole then, as when it is opened.
		 */
		is->view_refused = xreallocarray(is->view_refused,
		    is->nview_refused + 1, sizeof *is->view_refused);
		is->view_refused[is->nview_refused].folder_id = f->id;
		is->view_refused[is->nview_refused++].uid = uid;
		is->c->err = DRV_CONN;
	}
out:
	store_msg_clear(&m);
	return ret;
}

/* How many messages of the folder are kept; -1 on error. */
static int64_t
kept(struct isync *is, int64_t folder_id, char **cause)
{
	struct store_offline_stats st;

	if (store_offline_stats(is->s, folder_id, &st, cause) != 0)
		return -1;
	return st.kept;
}

/* isync_bodies asks between its commands (bodies_yield). */
static int
bodies_yield(const struct isync *is)
{
	return asked_to_yield(is);
}

/*
 * After a refusal: the halves of uids[0..n), each again, down to the
 * messages the server cannot give, so that one of them costs only
 * itself; *first keeps the first refusal's cause. 0, or -1 with cause.
 */
static int
offline_bisect(struct isync *is, const uint32_t *uids, size_t n, char **first,
    char **cause)
{
	if (isync_bodies(is, uids, n, cause) == 0)
		return 0;
	if (imap_err(is->c) != DRV_REFUSED)
		return -1;
	if (*first == NULL)
		*first = *cause;
	else
		free(*cause);
	*cause = NULL;
	if (n == 1)
		return 0;
	if (offline_bisect(is, uids, n / 2, first, cause) != 0)
		return -1;
	return offline_bisect(is, uids + n / 2, n - n / 2, first, cause);
}

/*
 * The whole bodies uids[0..n) (newest first): in one pipelined call,
 * which gives way when asked; after a refusal (a message the server
 * cannot read fails the command that asked for it) the rest, halved
 * until what is refused is alone. 0; 1 when some were refused (cause
 * says why); -1 with cause.
 */
static int
offline_bodies(struct isync *is, const uint32_t *uids, size_t n, char **cause)
{
	char *first = NULL;
	int ret;

	/* Only one who can ask (the client's worker) pays for asking. */
	if (is->o != NULL && is->o->wakefd >= 0)
		is->bodies_yield = bodies_yield;
	is->bodies_yielded = 0;
	ret = isync_bodies(is, uids, n, cause);
	is->bodies_yield = NULL;
	if (is->bodies_yielded)
		is->offline_yield = 1;
	if (ret == 0 || imap_err(is->c) != DRV_REFUSED)
		return ret;
	first = *cause;
	*cause = NULL;
	if (n > 1 &&
	    (offline_bisect(is, uids, n / 2, &first, cause) != 0 ||
	        offline_bisect(is, uids + n / 2, n - n / 2, &first, cause) !=
	            0)) {
		free(first);
		return -1;
	}
	*cause = first;
	return 1;
}

/* The downloads of one folder, selected: 0, or -1 with cause. */
static int
offline_download(struct isync *is, const struct store_folder *f,
    const struct store_offline_msg *v, size_t n, char **cause)
{
	uint64_t max = is->a->offline_max_size;
	uint32_t *uids = xreallocarray(NULL, n ? n : 1, sizeof *uids);
	size_t i = 0, k;
	int64_t before, after;
	int ret = 0, refused = 0;

	/* A body bigger than max_message_size would be refused anyway. */
	if (is->a->max_message_size != 0 && is->a->max_message_size < max)
		max = is->a->max_message_size;
	if ((before = kept(is, f->id, cause)) < 0) {
		free(uids);
		return -1;
	}
	is->done = 0;
	is->total = n;
	isync_progress(is, "bodies");
	while (i < n && ret == 0 && !is->offline_yield) {
		/* One batch a sync at least: a user who keeps the client
		 * busy (every flag change wakes the worker) still sees the
		 * download go on. */
		if (is->offline_batches > 0 && asked_to_yield(is)) {
			is->offline_yield = 1;
			break;
		}
		if (v[i].size > 0 && (uint64_t)v[i].size > max)
			ret = offline_view(is, f, v[i++].uid, cause);
		else {
			/* The run of those that fit, in one call. */
			for (k = 0; i < n &&
			     (v[i].size <= 0 || (uint64_t)v[i].size <= max);
			     i++, k++)
				uids[k] = v[i].uid;
			ret = offline_bodies(is, uids, k, cause);
		}
		/*
		 * A refusal (a message the server cannot read) leaves the
		 * connection good: noted once, the older ones go on, and
		 * what was refused is asked again by the next sync.
		 */
		if (ret == 1 || (ret != 0 && imap_err(is->c) == DRV_REFUSED)) {
			if (!refused)
				isync_note(is,
				    "%s: a body not kept offline: %s", f->name,
				    *cause ? *cause : "refused");
			refused = 1;
			if (cause != NULL) {
				free(*cause);
				*cause = NULL;
			}
			ret = 0;
		}
		is->offline_batches++;
		is->done = i;
		isync_progress(is, "bodies");
	}
	free(uids);
	/* What was committed counts, also when the rest failed. */
	if ((after = kept(is, f->id, ret == 0 ? cause : NULL)) < 0)
		return -1;
	if (after > before)
		is->nbodies += (uint64_t)(after - before);
	return ret;
}

int
isync_offline(struct isync *is, const char *name, char **cause)
{
	struct store_offline_msg *v = NULL;
	struct store_folder f;
	size_t n = 0;
	int64_t id, since = 0;
	int ret = -1;

	memset(&f, 0, sizeof f);
	if (!is->a->offline || is->offline_yield)
		return 0;
	if ((id = store_folder(is->s, is->account_id, name, 0, cause)) <= 0)
		return id < 0 ? -1 : 0;
	if (is->a->offline_days > 0)
		since =
		    (int64_t)time(NULL) - (int64_t)is->a->offline_days * 86400;
	if (store_offline_wanted(is->s, id, since, &v, &n, cause) != 0)
		goto out;
	if (n > 0 &&
	    (is->selected == NULL || is->folder_id != id ||
	        strcmp(is->selected, name) != 0)) {
		/*
		 * Not selected: a folder that did not change since the last
		 * sync. Syncing it again selects it, and costs next to
		 * nothing when it did not change.
		 */
		free(v);
		v = NULL;
		if (isync_sync_folder_or_skip(is, name, cause) != 0 ||
		    store_offline_wanted(is->s, id, since, &v, &n, cause) != 0)
			goto out;
		if (is->selected == NULL || is->folder_id != id ||
		    strcmp(is->selected, name) != 0)
			n = 0; /* skipped, with a note */
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	if (store_folder_get(is->s, id, &f, cause) != 0)
		goto out;
	/* Its UIDVALIDITY changed under us: the next sync rebuilds it. */
	if (f.uidvalidity != is->uidvalidity) {
		ret = 0;
		goto out;
	}
	if (offline_download(is, &f, v, n, cause) != 0)
		goto out;
	ret = 0;
out:
	free(v);
	store_folder_clear(&f);
	return ret;
}
