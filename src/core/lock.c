/*
 * One sync per account at a time, across every tern: tern sync, a
 * second tern sync, and the full-screen client's worker. The lock is an
 * flock on DATADIR/sync-ID.lock (ID: the account's row in the store),
 * taken around all a sync does to the account (drafts, queued
 * transfers, the driver's sync, the outbox). flock belongs to the open
 * file, so two threads of one process exclude each other too, and the
 * kernel drops it when its holder dies, however it dies.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/core.h"
#include "tern/util.h"

int
core_sync_lock(
    struct tern *t, struct rc_account *a, int wait, int *fd, char **cause)
{
	struct store *s;
	int64_t id;
	char *path = NULL, *wpath = NULL;
	int ret = -1, lfd = -1, wfd = -1, r;

	*fd = -1;
	if ((s = tern_store(t, cause)) == NULL)
		goto out;
	id = store_account(s, a->name, rc_protocol_name(a->protocol), cause);
	if (id < 0)
		goto out;
	path = xasprintf("%s/sync-%lld.lock", t->datadir, (long long)id);
	lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = flock(lfd, LOCK_EX | LOCK_NB)) != 0 && errno == EWOULDBLOCK &&
	    wait) {
		/* Say that a sync waits, for a holder that can let go
		 * (the client's worker watching with IDLE). */
		wpath = core_sync_wait_path(t, id);
		wfd = open(wpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (wfd >= 0)
			(void)flock(wfd, LOCK_SH);
		while ((r = flock(lfd, LOCK_EX)) != 0 && errno == EINTR)
			;
	}
	if (r != 0) {
		if (errno == EWOULDBLOCK) {
			ret = 1;
			goto out;
		}
		set_cause(cause, "locking %s: %s", path, strerror(errno));
		goto out;
	}
	*fd = lfd;
	lfd = -1;
	ret = 0;
out:
	if (lfd >= 0)
		close(lfd);
	if (wfd >= 0)
		close(wfd);
	free(path);
	free(wpath);
	return ret;
}

char *
core_sync_wait_path(struct tern *t, int64_t account_id)
{
	return xasprintf(
	    "%s/sync-%lld.wait", t->datadir, (long long)account_id);
}

int
core_sync_waited_for(const char *wait_path)
{
	int fd = open(wait_path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return 0;
	r = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd); /* lets go of the lock, if it was had */
	return r;
}

void
core_sync_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd); /* the lock goes with the file */
	*fd = -1;
}
