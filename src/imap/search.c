/*
 * Server-side search: a pattern as UID SEARCH keys (pattern_imap) in one
 * folder, opened read-only (EXAMINE), for the messages whose bodies the
 * store does not hold.
 */
#include <stdlib.h>
#include <string.h>

#include "imap-private.h"
#include "tern/pattern.h"
#include "tern/store.h"
#include "tern/util.h"

/* At most this many UIDs are kept from one search; the rest are dropped. */
#define IMAP_SEARCH_MAX 100000

struct isearch {
	struct imap_conn *c;
	struct imap_uidset found;
	uint32_t uidvalidity;
};

static int
on_untagged(void *arg, const struct imap_resp *r, char **cause)
{
	struct isearch *is = arg;
	uint64_t v;
	size_t i;

	if (imap_is(r, 1, "LIST")) {
		/* Only the delimiter: "* LIST (attrs) "/" name". */
		if (r->nitems > 2 && r->items[2].type == IMAP_LIST &&
		    imap_next(r, 2) < r->nitems && is->c->delim == 0 &&
		    r->items[imap_next(r, 2)].type == IMAP_STRING)
			is->c->delim = imap_str(r, imap_next(r, 2))[0];
	} else if (imap_is(r, 1, "SEARCH")) {
		for (i = 2; i < r->nitems; i = imap_next(r, i)) {
			if (is->found.n >= IMAP_SEARCH_MAX)
				break;
			if (imap_num(r, i, UINT32_MAX, &v) == 0 && v > 0)
				imap_uidset_add(&is->found, (uint32_t)v);
		}
	} else if (imap_is(r, 1, "ESEARCH")) {
		/* "* ESEARCH (TAG "t3") UID ALL 1:5,9" */
		for (i = 2; i < r->nitems; i = imap_next(r, i)) {
			if (imap_is(r, i, "ALL") && i + 1 < r->nitems &&
			    imap_uidset_parse(&is->found, imap_str(r, i + 1),
			        UINT32_MAX) != 0)
				return set_cause(cause,
				    "%s: protocol error: bad ESEARCH set",
				    is->c->peer);
		}
		if (is->found.n > IMAP_SEARCH_MAX)
			is->found.n = IMAP_SEARCH_MAX;
	} else if (imap_is(r, 1, "OK") && r->nitems > 4 &&
	    r->items[2].type == IMAP_CODE && imap_is(r, 3, "UIDVALIDITY") &&
	    imap_num(r, 4, UINT32_MAX, &v) == 0)
		is->uidvalidity = (uint32_t)v;
	return 0;
}

/*
 * One UID SEARCH of the keys; *status the completion (IMAP_OK, IMAP_NO,
 * IMAP_BAD). Each literal's bytes follow the server's go-ahead, unless it
 * takes LITERAL+. -1 with cause on a connection error.
 */
static int
search_once(struct imap_conn *c, const struct pattern_imap *q, int charset,
    enum imap_status *status, char **why, char **cause)
{
	struct imap_cmd *cmd = NULL;
	const char *cs = charset ? "CHARSET UTF-8 " : "";
	/* ESEARCH answers with a compact set rather than every UID. */
	const char *ret_all =
	    (c->caps & IMAP_CAP_ESEARCH) ? "RETURN (ALL) " : "";
	/* The first line: up to the first literal's "\r\n". */
	size_t first = q->nlits > 0 ? q->lits[0] - 2 : q->keys.len, i, end;
	int ret = -1;

	c->continuation = 0;
	if ((cmd = imap_send(c, cause, "UID SEARCH %s%s%.*s", ret_all, cs,
	         (int)first, q->keys.data)) == NULL)
		goto out;
	for (i = 0; i < q->nlits; i++) {
		if (!(c->caps & IMAP_CAP_LITERALPLUS)) {
			while (
			    !c->continuation && cmd->status == IMAP_PENDING) {
				if (imap_poll(c, -1, -1, cause) < 0)
					goto out;
			}
			if (cmd->status != IMAP_PENDING)
				goto answered;
			c->continuation = 0;
		}
		/* The literal, and the keys up to the next one's "\r\n". */
		end = i + 1 < q->nlits ? q->lits[i + 1] : q->keys.len;
		if (net_send(c->net, q->keys.data + q->lits[i],
		        end - q->lits[i], cause) != 0)
			goto out;
	}
	if (q->nlits > 0 && net_send(c->net, "\r\n", 2, cause) != 0)
		goto out;
answered:
	if (imap_wait(c, cmd, cause) != 0)
		goto out;
	*status = cmd->status;
	free(*why);
	*why = xstrdup(cmd->text != NULL ? cmd->text : "");
	ret = 0;
out:
	imap_cmd_free(&cmd);
	return ret;
}

int
imap_search(struct tern *t, struct rc_account *a, const char *folder,
    const struct pattern *p, uint32_t **uids, size_t *n, char **cause)
{
	struct pattern_imap q;
	struct isearch is;
	struct store *s;
	struct store_folder f;
	struct imap_cmd *cmd = NULL;
	enum imap_status st = IMAP_BAD;
	int64_t account_id, folder_id;
	char *wire = NULL, *why = NULL;
	int ret = -1;

	memset(&is, 0, sizeof is);
	memset(&f, 0, sizeof f);
	*uids = NULL;
	*n = 0;
	memset(&q, 0, sizeof q);
	if ((s = tern_store(t, cause)) == NULL ||
	    (account_id = store_account(s, a->name, "imap", cause)) < 0 ||
	    (folder_id = store_folder(s, account_id, folder, 0, cause)) < 0)
		goto out;
	if (folder_id > 0 && store_folder_get(s, folder_id, &f, cause) != 0)
		goto out;
	if (imap_open(a, NULL, NULL, &is.c, cause) != 0)
		goto out;
	is.c->untagged = on_untagged;
	is.c->arg = &is;
	if (imap_simple(is.c, cause, "LIST \"\" \"\"") != 0)
		goto out;
	wire =
	    imap_wire_stored(s, account_id, is.c->delim, is.c->prefix, folder);
	if ((cmd = imap_send(is.c, cause, "EXAMINE %s", wire)) == NULL ||
	    imap_wait(is.c, cmd, cause) != 0)
		goto out;
	if (cmd->status != IMAP_OK) {
		set_cause(cause, "%s: cannot open folder %s: %s", is.c->peer,
		    folder, cmd->text);
		goto out;
	}
	if (f.uidvalidity != 0 && is.uidvalidity != f.uidvalidity) {
		set_cause(cause,
		    "%s: the folder %s was recreated on the server; run tern "
		    "sync",
		    is.c->peer, folder);
		goto out;
	}
	if (pattern_imap(
	        p, (is.c->caps & IMAP_CAP_LITERALPLUS) != 0, &q, cause) != 0 ||
	    search_once(is.c, &q, 1, &st, &why, cause) != 0)
		goto out;
	if (st != IMAP_OK) {
		/* BADCHARSET or no CHARSET support: without one. */
		imap_uidset_free(&is.found);
		if (search_once(is.c, &q, 0, &st, &why, cause) != 0)
			goto out;
	}
	if (st != IMAP_OK) {
		set_cause(cause, "%s: SEARCH in %s failed: %s", is.c->peer,
		    folder, why);
		goto out;
	}
	imap_uidset_sort(&is.found);
	*uids = is.found.v;
	*n = is.found.n;
	memset(&is.found, 0, sizeof is.found);
	ret = 0;
out:
	imap_cmd_free(&cmd);
	if (is.c != NULL)
		imap_logout(&is.c);
	imap_uidset_free(&is.found);
	store_folder_clear(&f);
	pattern_imap_clear(&q);
	free(wire);
	free(why);
	return ret;
}
