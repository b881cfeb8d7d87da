/*
 * tern search [ACCOUNT[/FOLDER]] PATTERN...: the messages that match a
 * pattern (tern/pattern.h), as tern ls lists them, with the folder in
 * front when more than one folder is searched.
 *
 * The store answers from its full-text index. For one folder of an
 * account whose server can search, the server answers too, and each
 * message is answered by whoever holds its text: the store where it
 * indexed it, the server for bodies never downloaded. Offline, the
 * store's answer alone, with a note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern/cli.h"
#include "tern/pattern.h"
#include "tern/util.h"

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
fill_progress(void *arg, int64_t done, int64_t total)
{
	(void)arg;
	fprintf(stderr, "\rtern: indexing for search: %lld of %lld",
	    (long long)done, (long long)total);
	if (done == total)
		fputc('\n', stderr);
}

int
cli_index_fill(struct tern *t, char **cause)
{
	struct store *s;
	int64_t pending;

	if ((s = tern_store(t, cause)) == NULL ||
	    (pending = store_fts_pending(s, cause)) < 0)
		return -1;
	if (pending == 0)
		return 0;
	return store_fts_fill(
	    s, t->progress ? fill_progress : NULL, NULL, cause);
}

/* Is spec a scope (ACCOUNT or ACCOUNT/FOLDER) rather than a pattern? */
static int
is_scope(struct tern *t, const char *spec)
{
	const char *slash = strchr(spec, '/');
	char *name;
	int found;

	if (slash != NULL)
		return 1; /* an unknown account is then an error */
	if (strcmp(spec, TERN_LOCAL_ACCOUNT) == 0)
		return 1;
	name = xstrdup(spec);
	found = rc_find_account(t->rc, name) != NULL;
	free(name);
	return found;
}

/* One folder: the store's matches and, online, the server's. */
static int
search_folder(struct tern *t, struct folder_ref *r, const struct pattern *p)
{
	const struct driver_ops *d = NULL;
	struct store_msg m;
	struct pattern_imap q;
	int64_t *ids = NULL;
	uint32_t *uids = NULL, *remote = NULL;
	size_t nids = 0, nremote = 0, n = 0, i;
	char *cause = NULL;
	int status, found, body, translated, online = 0;

	memset(&m, 0, sizeof m);
	if (r->account != NULL)
		d = core_driver(r->account->protocol);
	if (r->folder_id == 0 && (d == NULL || d->search == NULL)) {
		set_cause(&cause, "no folder '%s' in account %s", r->folder,
		    r->account_name);
		return cli_fail(TERN_EXIT_USAGE, cause);
	}
	if (r->folder_id != 0 &&
	    store_search(t->store, 0, r->folder_id, p, STORE_SORT_DATE, &ids,
	        &nids, &cause) != 0) {
		status = cli_fail(TERN_EXIT_FAIL, cause);
		goto out;
	}
	if (d != NULL && d->search != NULL) {
		/* A pattern the server has no keys for: the store alone. */
		translated = pattern_imap(p, 0, &q, &cause) == 0;
		pattern_imap_clear(&q);
		if (!translated) {
			fprintf(stderr, "tern: %s; searched the store only\n",
			    cause);
			free(cause);
			cause = NULL;
		} else if (d->search(t, r->account, r->folder, p, &remote,
		               &nremote, &cause) != 0) {
			fprintf(stderr, "tern: %s\n", cause);
			fputs("offline: searched the store only\n", stderr);
			free(cause);
			cause = NULL;
			nremote = 0;
		} else
			online = 1;
	}
	/*
	 * Each message answered by whoever holds its text: the store's
	 * answer for one whose text is indexed, the server's (when it
	 * answered) for the rest, whose store answer is only a guess from
	 * the envelope ("!~b word" would hold for all of them).
	 */
	uids = xreallocarray(NULL, nids + nremote + 1, sizeof *uids);
	for (i = 0; i < nids; i++) {
		if ((found = store_msg_get_id(t->store, ids[i], &m, &cause)) <
		        0 ||
		    (body = online && found
		            ? store_fts_has_body(t->store, ids[i], &cause)
		            : 1) < 0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		if (found && body)
			uids[n++] = m.uid;
		store_msg_clear(&m);
	}
	for (i = 0; i < nremote; i++) {
		found = r->folder_id == 0
		    ? 0
		    : store_msg_get(
		          t->store, r->folder_id, remote[i], &m, &cause);
		body = found > 0 ? store_fts_has_body(t->store, m.id, &cause)
		                 : found;
		store_msg_clear(&m);
		if (found < 0 || body < 0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		if (!body)
			uids[n++] = remote[i];
	}
	if (n > 0)
		qsort(uids, n, sizeof *uids, cmp_u32);
	for (i = 0; i < n; i++) {
		if (i > 0 && uids[i] == uids[i - 1])
			continue;
		found = r->folder_id == 0
		    ? 0
		    : store_msg_get(
		          t->store, r->folder_id, uids[i], &m, &cause);
		if (found < 0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		if (found)
			cli_ls_line(&m);
		else {
			fprintf(stderr,
			    "%u\t(not yet indexed; run tern sync)\n", uids[i]);
		}
		store_msg_clear(&m);
	}
	status = TERN_EXIT_OK;
out:
	store_msg_clear(&m);
	free(ids);
	free(uids);
	free(remote);
	return status;
}

/*
 * An account's folders, or every account's: the store's matches, each
 * line after its ACCOUNT/FOLDER, oldest first.
 */
static int
search_store(struct tern *t, int64_t account_id, const struct pattern *p)
{
	struct store_account_info *av = NULL;
	struct store_folder f;
	struct store_msg m;
	int64_t *ids = NULL, folder = 0;
	size_t nids = 0, na = 0, i, k;
	char *cause = NULL, *where = NULL;
	int status = TERN_EXIT_FAIL, found;

	memset(&f, 0, sizeof f);
	memset(&m, 0, sizeof m);
	if (store_account_list(t->store, &av, &na, &cause) != 0 ||
	    store_search(t->store, account_id, 0, p, STORE_SORT_DATE, &ids,
	        &nids, &cause) != 0) {
		status = cli_fail(TERN_EXIT_FAIL, cause);
		goto out;
	}
	for (i = 0; i < nids; i++) {
		if ((found = store_msg_get_id(t->store, ids[i], &m, &cause)) <
		    0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		if (!found)
			continue; /* deleted meanwhile */
		if (m.folder_id != folder) {
			store_folder_clear(&f);
			free(where);
			where = NULL;
			if (store_folder_get(
			        t->store, m.folder_id, &f, &cause) != 0) {
				status = cli_fail(TERN_EXIT_FAIL, cause);
				goto out;
			}
			for (k = 0; k < na && av[k].id != f.account_id; k++)
				;
			where = xasprintf("%s/%s", k < na ? av[k].name : "?",
			    f.name != NULL ? f.name : "");
			folder = m.folder_id;
		}
		{
			char *vis = text_visible_dup(where);

			printf("%s\t", vis);
			free(vis);
		}
		cli_ls_line(&m);
		store_msg_clear(&m);
	}
	status = TERN_EXIT_OK;
out:
	store_msg_clear(&m);
	store_folder_clear(&f);
	store_account_list_free(av, na);
	free(where);
	free(ids);
	return status;
}

int
cmd_search(struct tern *t, int argc, char **argv)
{
	struct folder_ref r;
	struct pattern *p = NULL;
	struct buf text;
	char *cause = NULL;
	int status, first = 1, i;

	memset(&r, 0, sizeof r);
	buf_init(&text, 0);
	if (argc >= 2 && is_scope(t, argv[1]))
		first = 2;
	if (first >= argc)
		return cli_usage(cli_find("search"));
	if (first == 2 &&
	    (status = folder_ref_parse(t, argv[1], &r, &cause)) != 0)
		return cli_fail(status, cause);
	for (i = first; i < argc; i++) {
		if (i > first)
			buf_addc(&text, ' ');
		buf_adds(&text, argv[i]);
	}
	if (pattern_parse(text.data ? text.data : "", 0, &p, NULL, &cause) !=
	    0) {
		fprintf(stderr, "tern: pattern '%s', %s\n",
		    text.data ? text.data : "", cause);
		free(cause);
		status = TERN_EXIT_USAGE;
		goto out;
	}
	if (tern_store(t, &cause) == NULL) {
		status = cli_fail(TERN_EXIT_FAIL, cause);
		goto out;
	}
	if (cli_index_fill(t, &cause) != 0) {
		status = cli_fail(TERN_EXIT_FAIL, cause);
		goto out;
	}
	if (r.folder != NULL)
		status = search_folder(t, &r, p);
	else
		status = search_store(t, first == 2 ? r.account_id : 0, p);
out:
	pattern_free(&p);
	buf_free(&text);
	folder_ref_clear(&r);
	return status;
}
