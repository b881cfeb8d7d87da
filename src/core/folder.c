/*
 * Folder management shared by the cli and the full-screen client.
 *
 * Store-only accounts (local, POP3) change the store and nothing else. An
 * IMAP account changes the store at once and queues the operation, which
 * the driver replays on the server in order; a failure changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/util.h"

#define FOLDER_NAME_MAX 512

int
core_folder_name_check(const char *name, char **cause)
{
	const unsigned char *p;
	const char *c;
	size_t len = strlen(name);

	if (len == 0)
		return set_cause(cause, "a folder needs a name");
	if (len > FOLDER_NAME_MAX)
		return set_cause(cause, "a folder name is at most %d bytes",
		    FOLDER_NAME_MAX);
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return set_cause(cause,
			    "a folder name cannot hold control characters");
	}
	/* Every '/'-separated part must be a real name. */
	for (c = name;;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);

		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return set_cause(cause,
			    "'%s': each part of a folder name between '/' "
			    "must be a name (not empty, '.' or '..')",
			    name);
		if (e == NULL)
			break;
		c = e + 1;
	}
	return 0;
}

static int
queue_folder(struct store *s, const struct folder_ref *r, enum store_op op,
    const char *folder, const char *arg, char **cause)
{
	struct store_pending p;

	memset(&p, 0, sizeof p);
	p.account_id = r->account_id;
	p.op = op;
	p.folder = (char *)folder;
	p.arg = (char *)arg;
	return store_pending_add(s, &p, cause);
}

int
core_folder_create(struct tern *t, const struct folder_ref *r, char **cause)
{
	const char *slash;
	struct store *s;

	if (r->folder == NULL)
		return core_refuse(cause, "name a folder: ACCOUNT/FOLDER");
	if (core_folder_name_check(r->folder, cause) != 0)
		return CORE_REFUSED;
	if (r->folder_id != 0)
		return core_refuse(
		    cause, "%s/%s already exists", r->account_name, r->folder);
	if ((s = tern_store(t, cause)) == NULL || store_begin(s, cause) != 0)
		return -1;
	/* "A/B/C" makes A and A/B too, as IMAP servers do. */
	for (slash = strchr(r->folder, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		char *parent = xstrndup(r->folder, (size_t)(slash - r->folder));
		int64_t id = store_folder(s, r->account_id, parent, 1, cause);

		free(parent);
		if (id < 0) {
			store_rollback(s);
			return -1;
		}
	}
	if (store_folder(s, r->account_id, r->folder, 1, cause) < 0 ||
	    (core_account_remote(r->account) &&
	        queue_folder(s, r, STORE_OP_CREATE, r->folder, NULL, cause) !=
	            0)) {
		store_rollback(s);
		return -1;
	}
	return store_commit(s, cause);
}

/* Is name equal to top or nested under it ("top/...")? */
static int
in_tree(const char *name, const char *top)
{
	size_t n = strlen(top);

	return strncmp(name, top, n) == 0 &&
	    (name[n] == '\0' || name[n] == '/');
}

int
core_folder_rename(struct tern *t, const struct folder_ref *r,
    const char *newname, char **cause)
{
	struct store_folder *v = NULL;
	struct store *s;
	size_t n = 0, i;
	int64_t exists;
	int ret = -1;

	if (r->folder == NULL)
		return core_refuse(cause, "name a folder: ACCOUNT/FOLDER");
	if (r->folder_id == 0)
		return core_refuse(cause, "no folder '%s' in account %s",
		    r->folder, r->account_name);
	if (core_folder_name_check(newname, cause) != 0)
		return CORE_REFUSED;
	if (strcmp(r->folder, "INBOX") == 0)
		return core_refuse(cause, "INBOX cannot be renamed");
	if (strcmp(newname, "INBOX") == 0 || in_tree(newname, r->folder))
		return core_refuse(
		    cause, "cannot rename %s to %s", r->folder, newname);
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if ((exists = store_folder(s, r->account_id, newname, 0, cause)) < 0)
		return -1;
	if (exists != 0)
		return core_refuse(
		    cause, "%s/%s already exists", r->account_name, newname);
	if (store_begin(s, cause) != 0)
		return -1;
	if (store_folder_list(s, r->account_id, &v, &n, cause) != 0)
		goto out;
	/* The folder and everything nested under it, as IMAP does. */
	for (i = 0; i < n; i++) {
		char *to;
		int rc;

		if (!in_tree(v[i].name, r->folder))
			continue;
		to = xasprintf("%s%s", newname, v[i].name + strlen(r->folder));
		if ((exists = store_folder(s, r->account_id, to, 0, cause)) <
		    0) {
			free(to);
			goto out;
		}
		if (exists != 0) {
			ret = core_refuse(
			    cause, "%s/%s already exists", r->account_name, to);
			free(to);
			goto out;
		}
		rc = store_folder_rename(s, v[i].id, to, cause);
		free(to);
		if (rc != 0)
			goto out;
	}
	if (core_account_remote(r->account) &&
	    queue_folder(s, r, STORE_OP_RENAME, r->folder, newname, cause) != 0)
		goto out;
	ret = store_commit(s, cause);
out:
	if (ret != 0)
		store_rollback(s);
	store_folder_list_free(v, n);
	return ret;
}

int
core_folder_delete(
    struct tern *t, const struct folder_ref *r, int force, char **cause)
{
	struct store_folder f;
	struct store *s;
	int ret = -1;

	if (r->folder == NULL)
		return core_refuse(cause, "name a folder: ACCOUNT/FOLDER");
	if (r->folder_id == 0)
		return core_refuse(cause, "no folder '%s' in account %s",
		    r->folder, r->account_name);
	if (strcmp(r->folder, "INBOX") == 0)
		return core_refuse(cause, "INBOX cannot be deleted");
	if ((s = tern_store(t, cause)) == NULL)
		return -1;
	if (store_folder_get(s, r->folder_id, &f, cause) != 0)
		return -1;
	if (f.total > 0 && !force) {
		ret = core_refuse(cause,
		    "%s/%s holds %lld messages; delete it with --force, or "
		    "move them first",
		    r->account_name, r->folder, (long long)f.total);
		goto out;
	}
	if (store_begin(s, cause) != 0)
		goto out;
	if (store_folder_delete(s, r->folder_id, cause) != 0 ||
	    (core_account_remote(r->account) &&
	        queue_folder(s, r, STORE_OP_DELETE, r->folder, NULL, cause) !=
	            0)) {
		store_rollback(s);
		goto out;
	}
	ret = store_commit(s, cause);
out:
	store_folder_clear(&f);
	return ret;
}
