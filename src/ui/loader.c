/*
 * The index loader: a thread that sorts and threads big folders on its
 * own store handle, so a key that changes the order of 100,000 messages
 * is answered at once and the new order follows when it is ready. Only
 * the latest request counts; the ui drops answers to older ones (their
 * generation no longer matches).
 */
#include <stdlib.h>
#include <string.h>

#include "ui-private.h"

struct ui_loader {
	struct ui *u;
	pthread_t th;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int pending;
	/* The request. */
	uint64_t gen;
	int64_t folder_id;
	enum store_sort sort;
	int reverse, threaded;
	char *limit;
	int64_t *extra; /* the server's matches of the limit */
	size_t nextra;
	struct store *s;
	char *datadir;
};

static void *
loader_main(void *arg)
{
	struct ui_loader *l = arg;

	for (;;) {
		struct ui_event *ev;
		char *limit, *cause = NULL;
		int64_t *extra;
		size_t nextra;
		uint64_t gen;
		int64_t folder;
		enum store_sort sort;
		int reverse, threaded;

		pthread_mutex_lock(&l->lock);
		while (!l->pending && !l->stop)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		l->pending = 0;
		gen = l->gen;
		folder = l->folder_id;
		sort = l->sort;
		reverse = l->reverse;
		threaded = l->threaded;
		limit = l->limit;
		l->limit = NULL;
		extra = l->extra;
		nextra = l->nextra;
		l->extra = NULL;
		l->nextra = 0;
		pthread_mutex_unlock(&l->lock);

		ev = xcalloc(1, sizeof *ev);
		ev->kind = UI_EV_INDEX;
		ev->account = (size_t)-1;
		ev->gen = gen;
		if (l->s == NULL && store_open(l->datadir, &l->s, &cause) != 0)
			ev->text = cause;
		else if (ui_order_ids(l->s, folder, sort, reverse, threaded,
		             limit, extra, nextra, &ev->ids, &ev->depth, &ev->n,
		             &cause) != 0)
			ev->text = cause;
		free(limit);
		free(extra);
		ui_post_event(l->u, ev);
	}
	store_close(&l->s);
	return NULL;
}

int
ui_loader_request(struct ui *u, int64_t folder_id)
{
	struct ui_loader *l = u->loader;

	if (l == NULL) {
		l = xcalloc(1, sizeof *l);
		l->u = u;
		l->datadir = xstrdup(u->t->datadir);
		pthread_mutex_init(&l->lock, NULL);
		pthread_cond_init(&l->cond, NULL);
		if (pthread_create(&l->th, NULL, loader_main, l) != 0) {
			pthread_mutex_destroy(&l->lock);
			pthread_cond_destroy(&l->cond);
			free(l->datadir);
			free(l);
			return -1;
		}
		l->started = 1;
		u->loader = l;
	}
	pthread_mutex_lock(&l->lock);
	l->gen = u->load_gen;
	l->folder_id = folder_id;
	l->sort = u->sort;
	l->reverse = u->reverse;
	l->threaded = u->threaded;
	free(l->limit);
	l->limit = u->limit ? xstrdup(u->limit) : NULL;
	free(l->extra);
	l->extra = NULL;
	l->nextra = u->nlimit_extra;
	if (u->limit_extra != NULL) {
		l->extra =
		    xreallocarray(NULL, u->nlimit_extra + 1, sizeof *l->extra);
		memcpy(l->extra, u->limit_extra,
		    u->nlimit_extra * sizeof *l->extra);
	}
	l->pending = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void
ui_loader_stop(struct ui *u)
{
	struct ui_loader *l = u->loader;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	/* It finishes the order it is computing (bounded by the folder's
	 * size), then exits. */
	pthread_join(l->th, NULL);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->limit);
	free(l->extra);
	free(l->datadir);
	free(l);
	u->loader = NULL;
}
