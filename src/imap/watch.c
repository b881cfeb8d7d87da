/*
 * Waiting for new mail with IDLE (or NOOP), and reconnecting when the
 * connection is lost, for `tern sync --watch` and the client.
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-sync.h"
#include "tern/core.h"
#include "tern/mime.h"
#include "tern/net.h"
#include "tern/store.h"
#include "tern/util.h"

/* Is fd readable now? */
static int
fd_ready(int fd)
{
	struct pollfd pfd;

	if (fd < 0)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	return poll(&pfd, 1, 0) > 0;
}

/*
 * How often IDLE is renewed (or NOOP sent), how long its answer may take
 * before the connection is taken for dead, and how often every folder is
 * looked at: within IDLE_RENEW + LIVENESS seconds a connection that a NAT
 * dropped without a word is noticed. Tests shorten them through the
 * environment.
 */
#define IDLE_RENEW 240
#define LIVENESS 60
#define ALL_FOLDERS 60

static unsigned
env_secs(const char *name, unsigned def)
{
	const char *v = getenv(name);
	uint64_t n;

	if (v == NULL || parse_uint64(v, strlen(v), 86400, &n) != 0 || n == 0)
		return def;
	return (unsigned)n;
}

/*
 * Wait for cmd's completion for at most secs seconds: a server that does
 * not answer a DONE or a NOOP in that time is gone.
 */
static int
wait_alive(struct isync *is, struct imap_cmd *cmd, unsigned secs, char **cause)
{
	uint64_t end = now_ms() + secs * 1000ULL;

	while (cmd->status == IMAP_PENDING) {
		uint64_t now = now_ms();

		if (now >= end || is->c->bye) {
			is->c->err = DRV_CONN;
			return set_cause(cause,
			    "%s: no answer in %u s: the connection is lost",
			    is->c->peer, secs);
		}
		if (imap_poll(is->c, (int)(end - now), -1, cause) < 0)
			return -1;
	}
	return 0;
}

/* IDLE, and wait for the server's go-ahead. */
static struct imap_cmd *
idle_start(struct isync *is, unsigned live, char **cause)
{
	struct imap_cmd *cmd;
	uint64_t end = now_ms() + live * 1000ULL;

	if ((cmd = imap_send(is->c, cause, "IDLE")) == NULL)
		return NULL;
	is->c->continuation = 0;
	while (!is->c->continuation && cmd->status == IMAP_PENDING) {
		uint64_t now = now_ms();

		if (now >= end) {
			is->c->err = DRV_CONN;
			set_cause(cause, "%s: no answer to IDLE in %u s",
			    is->c->peer, live);
			imap_cmd_free(&cmd);
			return NULL;
		}
		if (imap_poll(is->c, (int)(end - now), -1, cause) < 0) {
			imap_cmd_free(&cmd);
			return NULL;
		}
	}
	if (cmd->status != IMAP_PENDING) {
		imap_cmd_free(&cmd);
		set_cause(cause, "%s: IDLE refused", is->c->peer);
		return NULL;
	}
	return cmd;
}

/*
 * Ask for news of every folder (RFC 5465): new and expunged messages of
 * the others come as STATUS, those of the selected one as usual. 1 when
 * the server took it, 0 when it has no NOTIFY or refused it.
 */
static int
notify_set(struct isync *is, char **cause)
{
	struct imap_cmd *cmd;

	if (!(is->c->caps & IMAP_CAP_NOTIFY))
		return 0;
	if (is->c->notifying)
		return 1;
	if ((cmd = imap_send(is->c, cause,
	         "NOTIFY SET (selected (MessageNew MessageExpunge "
	         "FlagChange)) (personal (MessageNew MessageExpunge))")) ==
	        NULL ||
	    imap_wait(is->c, cmd, cause) != 0) {
		imap_cmd_free(&cmd);
		return -1;
	}
	is->c->notifying = cmd->status == IMAP_OK;
	imap_cmd_free(&cmd);
	return is->c->notifying;
}

/* The folders NOTIFY said changed, before INBOX. */
static int
sync_dirty(struct isync *is, char **cause)
{
	size_t k;

	for (k = 0; k < is->nfolders; k++) {
		if (!is->folders[k].dirty)
			continue;
		is->folders[k].dirty = 0;
		if (strcmp(is->folders[k].name, "INBOX") == 0 ||
		    is->folders[k].noselect ||
		    !isync_wanted(is, is->folders[k].name))
			continue;
		if (isync_sync_folder_or_skip(is, is->folders[k].name, cause) !=
		        0 ||
		    isync_offline(is, is->folders[k].name, cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * Wait for changes (IDLE, else NOOP) and sync them, until wakefd is
 * readable: INBOX whenever the server announces a change; another folder
 * as soon as NOTIFY says it changed, else every folder once a minute.
 */
static int
watch(struct isync *is, char **cause)
{
	unsigned renew = env_secs("TERN_IDLE_RENEW", IDLE_RENEW);
	unsigned live = env_secs("TERN_LIVENESS_TIMEOUT", LIVENESS);
	unsigned all = env_secs("TERN_ALL_FOLDERS", ALL_FOLDERS);
	uint64_t last_full = now_ms();
	int notify;

	if ((notify = notify_set(is, cause)) < 0)
		return -1;
	/* With NOTIFY, the whole pass is only a safety net. */
	if (notify && all < renew)
		all = renew;
	for (;;) {
		struct imap_cmd *cmd = NULL;
		uint64_t start = now_ms();
		unsigned wait = renew < all ? renew : all;
		int rc;

		is->watching = 0;
		if (start - last_full >= all * 1000ULL || is->relist) {
			rc = isync_sync_pass(is, cause);
			last_full = start;
			is->relist = 0;
		} else
			rc = isync_replay(is, cause) != 0 ||
			    sync_dirty(is, cause) != 0 ||
			    isync_sync_folder(is, "INBOX", cause) != 0 ||
			    isync_offline(is, "INBOX", cause) != 0;
		if (rc != 0)
			return -1;
		is->changed = 0;
		is->watching = 1;
		if (is->o->state != NULL)
			is->o->state(is->o->arg, SYNC_IDLE, 0, NULL);
		if (!(is->c->caps & IMAP_CAP_IDLE))
			wait = 30 < wait ? 30 : wait;
		else if ((cmd = idle_start(is, live, cause)) == NULL)
			return -1;
		while (!is->changed && !fd_ready(is->o->wakefd)) {
			int left = (int)(wait * 1000ULL - (now_ms() - start));

			if (left <= 0)
				break;
			if (imap_poll(is->c, left, is->o->wakefd, cause) < 0) {
				imap_cmd_free(&cmd);
				return -1;
			}
		}
		if (cmd != NULL) {
			if (imap_send_raw(is->c, "DONE\r\n", cause) != 0) {
				imap_cmd_free(&cmd);
				return -1;
			}
		} else if ((cmd = imap_send(is->c, cause, "NOOP")) == NULL)
			return -1;
		if (wait_alive(is, cmd, live, cause) != 0) {
			imap_cmd_free(&cmd);
			return -1;
		}
		imap_cmd_free(&cmd);
		if (fd_ready(is->o->wakefd))
			return 0;
	}
}

/* The back-off after a lost connection is capped here (seconds). */
#define BACKOFF_MAX 60
/*
 * For this long after the loss (seconds) the next attempt comes within
 * BACKOFF_QUICK seconds: a server restarted or a network back after a
 * moment is used again at once; a longer outage is tried less often.
 */
#define QUICK_PERIOD 60
#define BACKOFF_QUICK 2

/*
 * Watch until wakefd, reconnecting when the connection is lost (every
 * BACKOFF_QUICK seconds at first, then waiting longer each time, up to
 * BACKOFF_MAX seconds). A refusal by the server or a failure of the
 * store ends it.
 */
int
isync_watch_forever(struct isync *is, char **cause)
{
	unsigned delay = 1;
	uint64_t lost_at = 0;

	if (fd_ready(is->o->wakefd))
		return 0;
	for (;;) {
		char *err = NULL;
		enum drv_err e = DRV_CONN;
		struct pollfd pfd;
		int rc;

		if (is->c != NULL) {
			rc = watch(is, &err);
			is->watching = 0;
			if (rc == 0)
				return 0;
			e = imap_err(is->c);
		}
		if (e != DRV_CONN && e != DRV_PROTO) {
			*cause = err;
			return -1;
		}
		if (err != NULL && is->o->state != NULL)
			is->o->state(
			    is->o->arg, SYNC_LOST, delay * 1000ULL, err);
		else if (err != NULL)
			isync_note(is, "%s; reconnecting in %u s", err, delay);
		free(err);
		isync_drop_connection(is);
		if (lost_at == 0)
			lost_at = now_ms();
		pfd.fd = is->o->wakefd;
		pfd.events = POLLIN;
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, (int)delay * 1000) > 0)
			return 0;
		delay = delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : delay * 2;
		if (delay > BACKOFF_QUICK &&
		    now_ms() - lost_at < QUICK_PERIOD * 1000ULL)
			delay = BACKOFF_QUICK;
		err = NULL;
		if (is->o->state != NULL)
			is->o->state(is->o->arg, SYNC_CONNECTING, 0, NULL);
		if ((rc = isync_connect_account(is, &err)) != 0) {
			/* Said here: the loop's top has no error to say. */
			if (is->o->state != NULL)
				is->o->state(is->o->arg,
				    rc == NET_ERR_AUTH ? SYNC_REFUSED
				                       : SYNC_LOST,
				    delay * 1000ULL, err);
			free(err);
			continue;
		}
		delay = 1;
		lost_at = 0;
	}
}
