/*
 * Checkpoints in a thread of their own.
 *
 * In WAL mode every page is written twice: to the WAL at commit, and into
 * the database by a checkpoint, which SQLite runs inside the commit that
 * takes the WAL past its limit. A sync that stores a hundred megabytes of
 * mail waits for all of the second copy. Here the writer's connection
 * runs no checkpoint; its WAL hook wakes a thread that checkpoints
 * (PASSIVE: it never blocks the writer, it copies what is committed) on a
 * connection of its own while the writer goes on.
 *
 * As the writer never finds the checkpoint caught up when it begins, the
 * WAL keeps growing until the end; store_ckpt_finish empties it
 * (TRUNCATE) while the caller waits on the network, instead of leaving
 * the copy, and the kernel's freeing of a WAL as big as the sync, to
 * store_close.
 */
#include <pthread.h>
#include <stdlib.h>

#include "store-private.h"
#include "tern/util.h"

/* Pages in the WAL that wake the checkpointer (SQLite's own default). */
#define CKPT_PAGES 1000

struct store_ckpt {
	struct store *s;
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending; /* a checkpoint is wanted */
	int truncate; /* ... and the WAL emptied after it */
	int stop;
};

static void *
ckpt_main(void *arg)
{
	struct store_ckpt *c = arg;
	int stop, mode;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->pending && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		stop = c->stop;
		mode = c->truncate ? SQLITE_CHECKPOINT_TRUNCATE
		                   : SQLITE_CHECKPOINT_PASSIVE;
		c->pending = c->truncate = 0;
		pthread_mutex_unlock(&c->lock);
		/*
		 * A failure (busy, I/O) only leaves pages in the WAL: the
		 * next checkpoint, or the writer's own when it closes, copies
		 * them. Nothing committed depends on this one.
		 */
		(void)sqlite3_wal_checkpoint_v2(c->db, NULL, mode, NULL, NULL);
		pthread_mutex_lock(&c->lock);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Checkpoint now, whatever the size of the WAL. */
static void
ckpt_kick(struct store_ckpt *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->pending = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* After each commit on the writer's connection (its thread). */
static int
ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *c = arg;

	(void)db;
	(void)name;
	if (pages >= CKPT_PAGES)
		ckpt_kick(c);
	return SQLITE_OK;
}

struct store_ckpt *
store_ckpt_start(struct store *s)
{
	struct store_ckpt *c = xcalloc(1, sizeof *c);

	c->s = s;
	if (sqlite3_open_v2(s->path, &c->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	/*
	 * PASSIVE never waits. The TRUNCATE of store_ckpt_finish waits for
	 * readers (the full-screen client's) while it holds writers off:
	 * not for long, it is only worth it when it is quick.
	 */
	sqlite3_busy_timeout(c->db, 250);
	/* The checkpoint's own sync of the database file, as the writer's. */
	if (sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL,
	        NULL) != SQLITE_OK)
		goto fail;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		pthread_cond_destroy(&c->cond);
		pthread_mutex_destroy(&c->lock);
		goto fail;
	}
	/* Replaces the automatic checkpoint of the writer's connection. */
	sqlite3_wal_hook(s->db, ckpt_hook, c);
	return c;
fail:
	/* Without the thread the writer checkpoints as it always did. */
	sqlite3_close(c->db);
	free(c);
	return NULL;
}

void
store_ckpt_finish(struct store_ckpt *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->pending = c->truncate = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
store_ckpt_stop(struct store_ckpt **cp)
{
	struct store_ckpt *c = *cp;

	if (c == NULL)
		return;
	sqlite3_wal_autocheckpoint(c->s->db, CKPT_PAGES);
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	sqlite3_close(c->db);
	free(c);
	*cp = NULL;
}
