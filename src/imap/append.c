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

#include "imap-sync.h"
#include "tern/mime.h"
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
	    net_send(c->net, "\r\n", 2, cause) != 0) {
		c->err = DRV_CONN;
		goto out;
	}
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

/*
 * Does the folder (quoted q) hold a message with raw's Message-ID? 1 yes,
 * 0 no (or raw has none to look for), -1 with cause.
 */
static int
holds_msgid(
    struct isync *is, const char *q, const char *raw, size_t len, char **cause)
{
	struct mime_envelope env;
	char *id = NULL;
	const char *p;
	int ret = 0;

	mime_envelope_parse(raw, len, &env);
	if (env.message_id == NULL || *env.message_id == '\0')
		goto out;
	/* Only what a quoted string carries as is. */
	for (p = env.message_id; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			goto out;
	}
	id = imap_quote(env.message_id);
	imap_uidset_free(&is->search);
	if (imap_simple(is->c, cause, "EXAMINE %s", q) != 0 ||
	    imap_simple(is->c, cause, "UID SEARCH HEADER Message-ID %s", id) !=
	        0) {
		ret = -1;
		goto out;
	}
	ret = is->search.n > 0;
out:
	free(id);
	mime_envelope_clear(&env);
	return ret;
}

/*
 * Store a copy in the server's folder: Sent and Drafts (the names
 * smtp/outbox.c passes when the rc names none) are the server's
 * SPECIAL-USE \\Sent and \\Drafts folders when it has them; a folder the
 * server does not have is created.
 */
int
imap_append_copy(struct tern *t, struct rc_account *a, const char *folder,
    const char *raw, size_t len, unsigned flags, char **cause)
{
	struct isync is;
	const char *want = NULL, *name;
	char *q = NULL, *why = NULL;
	size_t k;
	int exists = 0, special = 0, rc, ret = -1;

	if (folder == NULL)
		folder = (flags & STORE_F_DRAFT)
		    ? (a->drafts != NULL ? a->drafts : "Drafts")
		    : (a->sent != NULL ? a->sent : "Sent");
	if ((flags & STORE_F_DRAFT) && a->drafts == NULL &&
	    strcmp(folder, "Drafts") == 0)
		want = "\\Drafts";
	else if (!(flags & STORE_F_DRAFT) && a->sent == NULL &&
	    strcmp(folder, "Sent") == 0)
		want = "\\Sent";
	name = folder;
	if (isync_init(&is, t, a, NULL, cause) != 0 ||
	    isync_connect_account(&is, cause) != 0 ||
	    isync_learn_delim(&is, cause) != 0)
		goto out;
	if (want != NULL && (is.c->caps & IMAP_CAP_SPECIAL_USE)) {
		/* Only the special-use folders; else all, marked. */
		struct imap_cmd *cmd;

		if ((cmd = imap_send(is.c, cause,
		         "LIST (SPECIAL-USE) \"\" \"*\"")) == NULL ||
		    imap_wait(is.c, cmd, cause) != 0) {
			imap_cmd_free(&cmd);
			goto out;
		}
		if (cmd->status != IMAP_OK &&
		    imap_simple(is.c, cause,
		        "LIST \"\" \"*\" RETURN (SPECIAL-USE)") != 0) {
			imap_cmd_free(&cmd);
			goto out;
		}
		imap_cmd_free(&cmd);
	}
	for (k = 0; k < is.nfolders && !special; k++) {
		struct folder_entry *f = &is.folders[k];

		if (want != NULL && !f->noselect && f->special != NULL &&
		    strcmp(f->special, want) == 0) {
			name = f->name;
			exists = special = 1;
		}
	}
	q = isync_wire_quote(&is, name);
	if (!special) {
		/* Does the server have it? (Exact: q may hold '*' or '%'.) */
		isync_folders_free(&is);
		if (imap_simple(is.c, cause, "LIST \"\" %s", q) != 0)
			goto out;
		for (k = 0; k < is.nfolders; k++) {
			if (!is.folders[k].noselect &&
			    strcmp(is.folders[k].name, name) == 0)
				exists = 1;
		}
	}
	if (!exists) {
		if (imap_simple(is.c, cause, "CREATE %s", q) != 0)
			goto out;
		(void)imap_simple(is.c, NULL, "SUBSCRIBE %s", q);
	} else if ((flags & CORE_APPEND_ONCE) &&
	    (rc = holds_msgid(&is, q, raw, len, cause)) != 0) {
		if (rc > 0)
			ret = 0; /* the earlier APPEND got there */
		goto out;
	}
	if ((rc = imap_append(is.c, q, raw, len, flags, 0, &why)) < 0) {
		*cause = why;
		why = NULL;
		goto out;
	}
	if (rc > 0) {
		char *v = text_visible_dup(why);

		set_cause(
		    cause, "%s: APPEND to %s failed: %s", is.c->peer, name, v);
		free(v);
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	free(q);
	free(why);
	isync_clear(&is);
	return ret;
}
