/*
 * The search indexer: a thread on its own store handle that keeps the
 * full-text index whole while the client runs. Bodies are indexed as
 * they are stored; the envelopes of an IMAP folder's index, and a store
 * made before the index, are left to store_fts_fill, which this thread
 * runs whenever the store has messages the index lacks, a batch at a
 * time (each batch commits), and stops between batches when the client
 * quits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ui-private.h"

/* How often the store is looked at for messages to index. */
#define INDEXER_POLL_MS 1000

struct ui_indexer {
	struct ui *u;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	char *datadir;
	struct store *s;
	int64_t pending; /* what the index lacked when last looked at */
};

static int
indexer_stopped(struct ui_indexer *x)
{
	int stop;

	pthread_mutex_lock(&x->lock);
	stop = x->stop;
	pthread_mutex_unlock(&x->lock);
	return stop;
}

static int
indexer_progress(void *arg, int64_t done, int64_t total)
{
	struct ui_indexer *x = arg;

	pthread_mutex_lock(&x->lock);
	x->pending = total > done ? total - done : 0;
	pthread_mutex_unlock(&x->lock);
	return indexer_stopped(x);
}

static void *
indexer_main(void *arg)
{
	struct ui_indexer *x = arg;
	struct timespec ts;
	char *cause = NULL;
	int64_t pending;
	int said = 0;

	while (!indexer_stopped(x)) {
		if ((x->s != NULL ||
		        store_open(x->datadir, &x->s, &cause) == 0) &&
		    (pending = store_fts_pending(x->s, &cause)) >= 0) {
			pthread_mutex_lock(&x->lock);
			x->pending = pending;
			pthread_mutex_unlock(&x->lock);
			if (pending > 0 &&
			    store_fts_fill(x->s, indexer_progress, x, &cause) ==
			        0) {
				struct ui_event *ev = xcalloc(1, sizeof *ev);

				ev->kind = UI_EV_INDEXED;
				ev->account = (size_t)-1;
				ev->done = (uint64_t)pending;
				ui_post_event(x->u, ev);
				said = 0;
			}
		}
		if (cause != NULL) {
			/* A store busy with another writer is tried again;
			 * anything else is said once. */
			if (!said && x->u->naccts > 0) {
				struct ui_event *ev = xcalloc(1, sizeof *ev);

				ev->kind = UI_EV_NOTE;
				ev->whole = 1;
				ev->done = 1;
				ev->text = xasprintf("search index: %s", cause);
				ui_post_event(x->u, ev);
				said = 1;
			}
			free(cause);
			cause = NULL;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (INDEXER_POLL_MS % 1000) * 1000000L;
		ts.tv_sec += INDEXER_POLL_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&x->lock);
		while (!x->stop &&
		    pthread_cond_timedwait(&x->cond, &x->lock, &ts) !=
		        ETIMEDOUT)
			;
		pthread_mutex_unlock(&x->lock);
	}
	store_close(&x->s);
	return NULL;
}

void
ui_indexer_start(struct ui *u)
{
	struct ui_indexer *x;

	if (u->indexer != NULL)
		return;
	x = xcalloc(1, sizeof *x);
	x->u = u;
	x->datadir = xstrdup(u->t->datadir);
	x->pending = -1;
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	if (pthread_create(&x->th, NULL, indexer_main, x) != 0) {
		ui_message(u, 1, "cannot start the search indexer");
		pthread_mutex_destroy(&x->lock);
		pthread_cond_destroy(&x->cond);
		free(x->datadir);
		free(x);
		return;
	}
	u->indexer = x;
}

int64_t
ui_indexer_pending(struct ui *u)
{
	struct ui_indexer *x = u->indexer;
	int64_t n;

	if (x == NULL)
		return 0;
	pthread_mutex_lock(&x->lock);
	n = x->pending;
	pthread_mutex_unlock(&x->lock);
	return n;
}

void
ui_indexer_stop(struct ui *u)
{
	struct ui_indexer *x = u->indexer;

	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	x->stop = 1;
	pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->lock);
	/* It stops after the batch it is in (one commit). */
	pthread_join(x->th, NULL);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x->datadir);
	free(x);
	u->indexer = NULL;
}
