/*
 * tern search ACCOUNT/FOLDER TEXT: the messages that contain TEXT, as
 * tern ls lists them: the store's matches (headers and stored bodies) and,
 * for an account whose server can search, the server's (bodies never
 * downloaded). Offline, the store's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/util.h"

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
cmd_search(struct tern *t, int argc, char **argv)
{
	const struct driver_ops *d = NULL;
	struct folder_ref r;
	struct store_msg m;
	int64_t *ids = NULL;
	uint32_t *uids = NULL, *remote = NULL;
	size_t nids = 0, nremote = 0, n = 0, i;
	char *cause = NULL;
	int status, found;

	memset(&r, 0, sizeof r);
	memset(&m, 0, sizeof m);
	if (argc != 3 || *argv[2] == '\0')
		return cli_usage(cli_find("search"));
	if ((status = folder_ref_parse(t, argv[1], &r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r.folder == NULL) {
		folder_ref_clear(&r);
		return cli_usage(cli_find("search"));
	}
	if (r.account != NULL)
		d = core_driver(r.account->protocol);
	if (r.folder_id == 0 && (d == NULL || d->search == NULL)) {
		set_cause(&cause, "no folder '%s' in account %s", r.folder,
		    r.account_name);
		status = cli_fail(TERN_EXIT_USAGE, cause);
		goto out;
	}
	if (r.folder_id != 0 &&
	    store_index_ids(t->store, r.folder_id, STORE_SORT_DATE, argv[2],
	        &ids, &nids, &cause) != 0) {
		status = cli_fail(TERN_EXIT_FAIL, cause);
		goto out;
	}
	if (d != NULL && d->search != NULL) {
		if (d->search(t, r.account, r.folder, argv[2], &remote,
		        &nremote, &cause) != 0) {
			fprintf(stderr, "tern: %s\n", cause);
			fputs("offline: searched the store only\n", stderr);
			free(cause);
			cause = NULL;
			nremote = 0;
		}
	}
	/* The union, by UID. */
	uids = xreallocarray(NULL, nids + nremote + 1, sizeof *uids);
	for (i = 0; i < nids; i++) {
		if ((found = store_msg_get_id(t->store, ids[i], &m, &cause)) <
		    0) {
			status = cli_fail(TERN_EXIT_FAIL, cause);
			goto out;
		}
		if (found)
			uids[n++] = m.uid;
		store_msg_clear(&m);
	}
	for (i = 0; i < nremote; i++)
		uids[n++] = remote[i];
	if (n > 0)
		qsort(uids, n, sizeof *uids, cmp_u32);
	for (i = 0; i < n; i++) {
		if (i > 0 && uids[i] == uids[i - 1])
			continue;
		found = r.folder_id == 0
		    ? 0
		    : store_msg_get(t->store, r.folder_id, uids[i], &m, &cause);
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
	folder_ref_clear(&r);
	return status;
}
