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

/* A match: its UID, and its row when the store has it. */
struct hit {
	uint32_t uid;
	int have;
	int server; /* found by the server's search (its text not stored) */
	struct store_msg m;
};

static int
cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void
hits_free(struct hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_msg_clear(&h[i].m);
	free(h);
}

/*
 * The matches of p in a folder, by UID, each once (*hits malloc'd), with
 * their rows, read once. Each message is answered by whoever holds its
 * text: the store where it indexed it, the server (when it answers) for
 * the rest, whose store answer is only a guess from the envelope ("!~b
 * word" would hold for all of them).
 */
static int
folder_hits(struct tern *t, struct rc_account *a, struct asking *ask,
    int64_t folder_id, const char *folder, const struct pattern *p,
    struct hit **hits, size_t *n, char **cause)
{
	struct hit *v = NULL;
	int64_t *ids = NULL;
	uint32_t *remote = NULL;
	size_t nids = 0, nremote = 0, nv = 0, i, k;
	int found, body, online = 0, reading = 0, ret = -1;

	*hits = NULL;
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
	v = xcalloc(nids + nremote + 1, sizeof *v);
	/* One read transaction for all the rows, not one each. */
	if (store_read_begin(t->store, cause) != 0)
		goto out;
	reading = 1;
	for (i = 0; i < nids; i++) {
		if ((found = store_msg_get_id(
		         t->store, ids[i], &v[nv].m, cause)) < 0 ||
		    (body = online && found
		            ? store_fts_has_body(t->store, ids[i], cause)
		            : 1) < 0)
			goto out;
		if (found && body) {
			v[nv].uid = v[nv].m.uid;
			v[nv++].have = 1;
		} else
			store_msg_clear(&v[nv].m);
	}
	for (i = 0; i < nremote; i++) {
		found = folder_id == 0 ? 0
		                       : store_msg_get(t->store, folder_id,
		                             remote[i], &v[nv].m, cause);
		body = found > 0
		    ? store_fts_has_body(t->store, v[nv].m.id, cause)
		    : found;
		if (found < 0 || body < 0)
			goto out;
		if (body) {
			store_msg_clear(&v[nv].m);
			continue;
		}
		v[nv].uid = remote[i];
		v[nv].server = 1;
		v[nv++].have = found > 0;
	}
	store_read_end(t->store);
	reading = 0;
	if (nv > 0)
		qsort(v, nv, sizeof *v, cmp_hit);
	for (i = 0, k = 0; i < nv; i++) {
		if (k == 0 || v[i].uid != v[k - 1].uid)
			v[k++] = v[i];
		else
			store_msg_clear(&v[i].m);
	}
	*hits = v;
	*n = k;
	v = NULL;
	nv = 0;
	ret = 0;
out:
	if (reading)
		store_read_end(t->store);
	if (v != NULL)
		hits_free(v, nv + 1);
	free(ids);
	free(remote);
	return ret;
}

/*
 * The matches as tern ls lines, after where (when not NULL) and a tab;
 * how many the server found is said on stderr, with folder (the store
 * holds no text of those, so a reader knows where they came from).
 */
static void
print_hits(const char *where, const char *folder, const struct hit *h, size_t n)
{
	char *vis = where != NULL ? text_visible_dup(where) : NULL;
	size_t server = 0;

	for (size_t i = 0; i < n; i++) {
		server += h[i].server;
		if (h[i].have) {
			if (vis != NULL)
				printf("%s\t", vis);
			cli_ls_line(&h[i].m);
		} else if (vis != NULL)
			fprintf(stderr,
			    "%s\t%u\t(not yet indexed; run tern sync)\n", vis,
			    h[i].uid);
		else
			fprintf(stderr,
			    "%u\t(not yet indexed; run tern sync)\n", h[i].uid);
	}
	if (server > 0) {
		char *f = text_visible_dup(where != NULL ? where : folder);

		fprintf(stderr,
		    "tern: %s: %zu found by the server (bodies not stored "
		    "here)\n",
		    f, server);
		free(f);
	}
	free(vis);
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
	struct hit *hits = NULL;
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
	if (folder_hits(t, r->account, &ask, r->folder_id, r->folder, p, &hits,
	        &n, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	print_hits(NULL, r->folder, hits, n);
	hits_free(hits, n);
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
	struct hit *hits = NULL;
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
			rc = folder_hits(t, a, &ask, fv[k].id, fv[k].name, p,
			    &hits, &n, &cause);
			if (rc == 0) {
				where =
				    xasprintf("%s/%s", av[i].name, fv[k].name);
				print_hits(where, fv[k].name, hits, n);
				free(where);
				hits_free(hits, n);
				hits = NULL;
			}
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
