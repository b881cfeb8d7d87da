/*
 * The store's writer thread, shared by the sync engines: the engine's
 * thread reads and parses what the server sends while this one stores it,
 * job by job in the order the jobs were handed over. The queue is bounded
 * in jobs and in bytes, so a server faster than the disk cannot grow
 * memory; the first failure stops the writer, the jobs left are dropped,
 * and every later call returns that failure.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

struct store_writer {
	struct store_writer_params p;
	pthread_t thread;
	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond; /* any change */
	struct wjob {
		void *job;
		size_t bytes;
	} * q; /* ring of p.max_jobs */
	size_t qhead, qcount, qbytes;
	int busy; /* running a job: the store is the writer's */
	int stop, discard;
	int exited;
	char *err;
};

static void
drop_queue(struct store_writer *w)
{
	while (w->qcount > 0) {
		struct wjob *j = &w->q[w->qhead];

		if (w->p.free != NULL)
			w->p.free(j->job);
		w->qbytes -= j->bytes;
		w->qhead = (w->qhead + 1) % w->p.max_jobs;
		w->qcount--;
	}
}

static void *
writer_main(void *arg)
{
	struct store_writer *w = arg;
	char *cause = NULL;
	struct wjob j;
	int r;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->qcount == 0 && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->qcount == 0 || w->discard)
			break;
		j = w->q[w->qhead];
		w->qhead = (w->qhead + 1) % w->p.max_jobs;
		w->qcount--;
		w->qbytes -= j.bytes;
		w->busy = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);

		r = w->p.run(w->p.arg, j.job, &cause);
		if (w->p.free != NULL)
			w->p.free(j.job);

		pthread_mutex_lock(&w->lock);
		w->busy = 0;
		if (r != 0) {
			w->err =
			    cause != NULL ? cause : xstrdup("storing failed");
			break;
		}
		pthread_cond_broadcast(&w->cond);
	}
	/* Whatever is left is dropped: the sync resumes from what is
	 * committed. */
	drop_queue(w);
	pthread_mutex_unlock(&w->lock);
	if (w->p.finish != NULL)
		w->p.finish(w->p.arg, w->err != NULL || w->discard);
	pthread_mutex_lock(&w->lock);
	w->exited = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct store_writer *
store_writer_start(const struct store_writer_params *p)
{
	struct store_writer *w = xcalloc(1, sizeof *w);

	w->p = *p;
	if (w->p.max_jobs == 0)
		w->p.max_jobs = 32;
	w->q = xreallocarray(NULL, w->p.max_jobs, sizeof *w->q);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w->q);
		free(w);
		return NULL;
	}
	return w;
}

/* The writer's failure as the caller's cause (lock held); -1. */
static int
failed(struct store_writer *w, char **cause)
{
	return set_cause(cause, "%s",
	    w->err != NULL ? w->err : "the store's writer stopped");
}

int
store_writer_queue(
    struct store_writer *w, void *job, size_t bytes, char **cause)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	while ((w->qcount == w->p.max_jobs ||
	           (w->p.max_bytes > 0 && w->qcount > 0 &&
	               w->qbytes + bytes > w->p.max_bytes)) &&
	    !w->exited && w->err == NULL)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->exited || w->err != NULL) {
		ret = failed(w, cause);
		if (w->p.free != NULL)
			w->p.free(job);
	} else {
		struct wjob *j =
		    &w->q[(w->qhead + w->qcount++) % w->p.max_jobs];

		j->job = job;
		j->bytes = bytes;
		w->qbytes += bytes;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int
store_writer_drain(struct store_writer *w, char **cause)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	while ((w->qcount > 0 || w->busy) && !w->exited && w->err == NULL)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->err != NULL)
		ret = failed(w, cause);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int
store_writer_failed(struct store_writer *w, char **cause)
{
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	if (w->err != NULL)
		ret = failed(w, cause);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

int
store_writer_stop(struct store_writer **wp, int discard, char **cause)
{
	struct store_writer *w = *wp;
	int ret = 0;

	if (w == NULL)
		return 0;
	*wp = NULL;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	w->discard = discard;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if (w->err != NULL && !discard)
		ret = set_cause(cause, "%s", w->err);
	free(w->err);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->q);
	free(w);
	return ret;
}
