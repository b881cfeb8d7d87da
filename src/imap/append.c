/*
 * Replay of queued APPENDs: messages moved or copied from local folders,
 * and imports into IMAP folders (store.h describes the ops). The source
 * of a move leaves the store only after the server answered OK; a refusal
 * keeps everything as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap-private.h"
#include "tern/store.h"

/* "14-Nov-2023 22:13:20 +0000", independent of the locale. */
static void
append_date(int64_t when, char *out, size_t len)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)when;
	struct tm tm;

	out[0] = '\0';
	if (when > 0 && gmtime_r(&t, &tm) != NULL)
		snprintf(out, len, "%02d-%s-%04d %02d:%02d:%02d +0000",
		    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int
imap_append(struct imap_conn *c, const char *q, const char *raw, size_t len,
    unsigned flags, int64_t when, char **cause)
{
	struct imap_cmd *cmd = NULL;
	struct buf fl;
	char date[64], *line = NULL;
	int ret = -1;

	buf_init(&fl, 0);
	imap_flags_format(&fl, flags & STORE_F_ALL);
	append_date(when, date, sizeof date);
	line = xasprintf("APPEND %s (%s)%s%s%s {%zu%s}", q,
	    fl.data ? fl.data : "", *date ? " \"" : "", date, *date ? "\"" : "",
	    len, (c->caps & IMAP_CAP_LITERALPLUS) ? "+" : "");
	c->continuation = 0;
	if ((cmd = imap_send(c, cause, "%s", line)) == NULL)
		goto out;
	if (!(c->caps & IMAP_CAP_LITERALPLUS)) {
		/* Wait for "+ go ahead" (or a refusal). */
		while (!c->continuation && cmd->status == IMAP_PENDING) {
			if (imap_poll(c, -1, -1, cause) < 0)
				goto out;
		}
		if (cmd->status != IMAP_PENDING)
			goto answered;
	}
	if (net_send(c->net, raw, len, cause) != 0 ||
	    net_send(c->net, "\r\n", 2, cause) != 0)
		goto out;
answered:
	if (imap_wait(c, cmd, cause) != 0)
		goto out;
	if (cmd->status != IMAP_OK) {
		ret = 1;
		if (cause != NULL)
			*cause = xstrdup(cmd->text ? cmd->text : "refused");
		goto out;
	}
	ret = 0;
out:
	imap_cmd_free(&cmd);
	buf_free(&fl);
	free(line);
	return ret;
}

int
imap_append_replay(struct imap_conn *c, struct store *s,
    const struct store_pending *p, const char *qarg, char **cause)
{
	struct store_msg m;
	struct buf raw;
	unsigned flags = 0;
	int64_t when = 0, src = 0;
	uint64_t id;
	char *q = NULL, *why = NULL;
	int found, rc, ret = -1;

	memset(&m, 0, sizeof m);
	buf_init(&raw, 0);
	if (p->folder == NULL)
		goto drop;
	if (p->arg != NULL) {
		/* A store message: gone means there is nothing to do. */
		if (parse_uint64(p->arg, strlen(p->arg), INT64_MAX, &id) != 0)
			goto drop;
		src = (int64_t)id;
		if ((found = store_msg_get_id(s, src, &m, cause)) < 0)
			goto out;
		if (found == 0)
			goto drop;
		if ((found = store_msg_raw(s, src, &raw, cause)) < 0)
			goto out;
		flags = m.flags;
		when = m.internaldate ? m.internaldate : m.date;
	} else if ((found = store_pending_raw(
	                s, p->id, &raw, &flags, &when, cause)) < 0)
		goto out;
	if (found == 0 || raw.len == 0)
		goto drop;
	q = qarg != NULL ? xstrdup(qarg) : imap_quote_mailbox(p->folder);
	if ((rc = imap_append(c, q, raw.data, raw.len, flags, when, &why)) <
	    0) {
		*cause = why;
		why = NULL;
		goto out;
	}
	if (rc > 0) {
		/* " failed: " makes the caller keep the op queued. */
		set_cause(cause, "APPEND to %s failed: %s", p->folder, why);
		goto out;
	}
	/* The server has it: now, and only now, the source of a move goes. */
	if (strcmp(p->op, "append-move") == 0 && src != 0 &&
	    store_msg_delete(s, src, cause) != 0)
		goto out;
drop:
	ret = 0;
out:
	store_msg_clear(&m);
	buf_free(&raw);
	free(q);
	free(why);
	return ret;
}
