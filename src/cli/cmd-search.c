/*
 * tern search [ACCOUNT[/FOLDER]] PATTERN...: the messages that match a
 * pattern (tern/pattern.h), as tern ls lists them, with the folder in
 * front when more than one folder is searched.
 *
 * The store answers from its full-text index. For an account whose
 * server can search, the server answers too, folder by folder, and each
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

static int
fill_progress(void *arg, int64_t done, int64_t total)
{
	(void)arg;
	fprintf(stderr, "\rtern: indexing for search: %lld of %lld",
	    (long long)done, (long long)total);
	if (done == total)
		fputc('\n', stderr);
	return 0;
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

/* What a search asks of the server: whether it may, and what it said. */
struct asking {
	const struct driver_ops *d; /* NULL: the store alone */
	int offline; /* a search failed: not asked again */
};

/*
 * The UIDs of a folder that match p, sorted, each once (*uids malloc'd).
 * Each message is answered by whoever holds its text: the store where
 * it indexed it, the server (when it answers) for the rest, whose store
 * answer is only a guess from the envelope ("!~b word" would hold for
 * all of them).
 */
static int
folder_hits(struct tern *t, struct rc_account *a, struct asking *ask,
    int64_t folder_id, const char *folder, const struct pattern *p,
    uint32_t **uids, size_t *n, char **cause)
{
	struct store_msg m;
	int64_t *ids = NULL;
	uint32_t *remote = NULL, *v;
	size_t nids = 0, nremote = 0, nv = 0, i, k;
	int found, body, online = 0, reading = 0, ret = -1;

	memset(&m, 0, sizeof m);
	*uids = NULL;
	*n = 0;
	if (folder_id != 0 &&
	    store_search(t->store, 0, folder_id, p, STORE_SORT_DATE, &ids,
	        &nids, cause) != 0)
		return -1;
	if (ask->d != NULL && !ask->offline) {
		if (ask->d->search(t, a, folder, p, &remote, &nremote, cause) ==
		    0)
			online = 1;
		else {
			fprintf(stderr, "tern: %s\n", *cause);
			fputs("offline: searched the store only\n", stderr);
			free(*cause);
			*cause = NULL;
			ask->offline = 1;
		}
	}
	v = xreallocarray(NULL, nids + nremote + 1, sizeof *v);
	/* One read transaction for all the rows, not one each. */
	if (store_read_begin(t->store, cause) != 0)
		goto out;
	reading = 1;
	for (i = 0; i < nids; i++) {
		if ((found = store_msg_get_id(t->store, ids[i], &m, cause)) <
		        0 ||
		    (body = online && found
		            ? store_fts_has_body(t->store, ids[i], cause)
		            : 1) < 0)
			goto out;
		if (found && body)
			v[nv++] = m.uid;
		store_msg_clear(&m);
	}
	for (i = 0; i < nremote; i++) {
		found = folder_id == 0
		    ? 0
		    : store_msg_get(t->store, folder_id, remote[i], &m, cause);
		body = found > 0 ? store_fts_has_body(t->store, m.id, cause)
		                 : found;
		store_msg_clear(&m);
		if (found < 0 || body < 0)
			goto out;
		if (!body)
			v[nv++] = remote[i];
	}
	store_read_end(t->store);
	reading = 0;
	if (nv > 0)
		qsort(v, nv, sizeof *v, cmp_u32);
	for (i = 0, k = 0; i < nv; i++) {
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	}
	*uids = v;
	*n = k;
	v = NULL;
	ret = 0;
out:
	if (reading)
		store_read_end(t->store);
	store_msg_clear(&m);
	free(v);
	free(ids);
	free(remote);
	return ret;
}

/* The matches as tern ls lines, after where (when not NULL) and a tab. */
static int
print_hits(struct tern *t, int64_t folder_id, const char *where,
    const uint32_t *uids, size_t n, char **cause)
{
	struct store_msg m;
	size_t i;
	int found;
	char *vis;

	if (store_read_begin(t->store, cause) != 0)
		return -1;
	vis = where != NULL ? text_visible_dup(where) : NULL;
	for (i = 0; i < n; i++) {
		found = folder_id == 0
		    ? 0
		    : store_msg_get(t->store, folder_id, uids[i], &m, cause);
		if (found < 0) {
			store_read_end(t->store);
			free(vis);
			return -1;
		}
		if (found) {
			if (vis != NULL)
				printf("%s\t", vis);
			cli_ls_line(&m);
		} else if (vis != NULL)
			fprintf(stderr,
			    "%s\t%u\t(not yet indexed; run tern sync)\n", vis,
			    uids[i]);
		else
			fprintf(stderr,
			    "%u\t(not yet indexed; run tern sync)\n", uids[i]);
		store_msg_clear(&m);
	}
	store_read_end(t->store);
	free(vis);
	return 0;
}

/* Can the server be asked p? Says why not, once, when it cannot. */
static int
translatable(const struct pattern *p)
{
	struct pattern_imap q;
	char *cause = NULL;

	if (pattern_imap(p, 0, &q, &cause) == 0) {
		pattern_imap_clear(&q);
		return 1;
	}
	fprintf(stderr, "tern: %s; searched the store only\n", cause);
	free(cause);
	return 0;
}

/* One folder: the store's matches and, online, the server's. */
static int
search_folder(struct tern *t, struct folder_ref *r, const struct pattern *p)
{
	struct asking ask = { NULL, 0 };
	uint32_t *uids = NULL;
	size_t n = 0;
	char *cause = NULL;

	if (r->account != NULL)
		ask.d = core_driver(r->account->protocol);
	if (ask.d != NULL && ask.d->search == NULL)
		ask.d = NULL;
	if (r->folder_id == 0 && ask.d == NULL) {
		set_cause(&cause, "no folder '%s' in account %s", r->folder,
		    r->account_name);
		return cli_fail(TERN_EXIT_USAGE, cause);
	}
	if (ask.d != NULL && !translatable(p))
		ask.d = NULL;
	if (folder_hits(t, r->account, &ask, r->folder_id, r->folder, p, &uids,
	        &n, &cause) != 0 ||
	    print_hits(t, r->folder_id, NULL, uids, n, &cause) != 0) {
		free(uids);
		return cli_fail(TERN_EXIT_FAIL, cause);
	}
	free(uids);
	return TERN_EXIT_OK;
}

/*
 * An account's folders (account_id), or every account's (0): each
 * folder's matches after its ACCOUNT/FOLDER, folders in tern ls's order.
 * A server is asked folder by folder until it fails once.
 */
static int
search_folders(struct tern *t, int64_t account_id, const struct pattern *p)
{
	struct store_account_info *av = NULL;
	struct store_folder *fv = NULL;
	struct rc_account *a;
	struct asking ask;
	uint32_t *uids = NULL;
	size_t na = 0, nf = 0, n, i, k;
	char *cause = NULL, *where;
	int status = TERN_EXIT_FAIL, server = -1, rc;

	if (store_account_list(t->store, &av, &na, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	for (i = 0; i < na; i++) {
		if (account_id != 0 && av[i].id != account_id)
			continue;
		memset(&ask, 0, sizeof ask);
		if ((a = rc_find_account(t->rc, av[i].name)) != NULL &&
		    (ask.d = core_driver(a->protocol)) != NULL &&
		    ask.d->search == NULL)
			ask.d = NULL;
		if (ask.d != NULL && server < 0)
			server = translatable(p);
		if (server == 0)
			ask.d = NULL;
		if (store_folder_list(t->store, av[i].id, &fv, &nf, &cause) !=
		    0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		for (k = 0; k < nf; k++) {
			where = xasprintf("%s/%s", av[i].name, fv[k].name);
			rc = folder_hits(t, a, &ask, fv[k].id, fv[k].name, p,
			         &uids, &n, &cause) != 0 ||
			    print_hits(t, fv[k].id, where, uids, n, &cause) !=
			        0;
			free(where);
			free(uids);
			uids = NULL;
			if (rc) {
				status = cli_fail(TERN_EXIT_FAIL, cause);
				goto out;
			}
		}
		store_folder_list_free(fv, nf);
		fv = NULL;
		nf = 0;
	}
	status = TERN_EXIT_OK;
out:
	store_folder_list_free(fv, nf);
	store_account_list_free(av, na);
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
	/* Another tern writing the store meanwhile: search what is in. */
	if (cli_index_fill(t, &cause) != 0) {
		tern_warnx("%s; the search index is not whole yet", cause);
		free(cause);
		cause = NULL;
	}
	if (r.folder != NULL)
		status = search_folder(t, &r, p);
	else
		status = search_folders(t, first == 2 ? r.account_id : 0, p);
out:
	pattern_free(&p);
	buf_free(&text);
	folder_ref_clear(&r);
	return status;
}
