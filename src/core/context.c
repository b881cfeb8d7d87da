/*
 * The root context and folder specs.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tern/core.h"
#include "tern/crypto.h"
#include "tern/mime.h"
#include "tern/util.h"

struct store *
tern_store(struct tern *t, char **cause)
{
	if (t->store == NULL && store_open(t->datadir, &t->store, cause) != 0)
		return NULL;
	return t->store;
}

struct crypto *
tern_crypto(struct tern *t)
{
	if (t->crypto == NULL)
		t->crypto = crypto_new();
	return t->crypto;
}

void
tern_drop_conn(struct tern *t)
{
	void *conn = t->conn;

	t->conn = NULL;
	if (conn != NULL && t->conn_free != NULL)
		t->conn_free(conn);
	t->conn_free = NULL;
}

void
tern_free(struct tern *t)
{
	tern_drop_conn(t);
	crypto_free(&t->crypto);
	store_close(&t->store);
	rc_free(&t->rc);
	free(t->rc_path);
	free(t->datadir);
}

int
core_exit_status(int rc)
{
	if (rc == 0)
		return TERN_EXIT_OK;
	return rc == CORE_REFUSED ? TERN_EXIT_USAGE : TERN_EXIT_FAIL;
}

int
folder_ref_parse(
    struct tern *t, const char *spec, struct folder_ref *r, char **cause)
{
	const char *slash = strchr(spec, '/');
	char *name =
	    slash ? xstrndup(spec, (size_t)(slash - spec)) : xstrdup(spec);
	struct store *s;
	int ret = TERN_EXIT_USAGE;

	memset(r, 0, sizeof *r);
	if (strcmp(name, TERN_LOCAL_ACCOUNT) == 0)
		r->account_name = TERN_LOCAL_ACCOUNT;
	else if ((r->account = rc_find_account(t->rc, name)) != NULL)
		r->account_name = r->account->name;
	else {
		set_cause(cause, "no account '%s' in %s (tern ls lists them)",
		    name, t->rc_path);
		goto out;
	}
	if (slash != NULL) {
		if (slash[1] == '\0') {
			set_cause(
			    cause, "'%s': no folder name after '/'", spec);
			goto out;
		}
		r->folder = xstrdup(slash + 1);
	}
	ret = TERN_EXIT_FAIL;
	if ((s = tern_store(t, cause)) == NULL)
		goto out;
	r->account_id = store_account(s, r->account_name,
	    r->account ? rc_protocol_name(r->account->protocol) : "local",
	    cause);
	if (r->account_id < 0)
		goto out;
	if (r->folder != NULL) {
		r->folder_id =
		    store_folder(s, r->account_id, r->folder, 0, cause);
		if (r->folder_id < 0)
			goto out;
	}
	ret = 0;
out:
	free(name);
	if (ret != 0)
		folder_ref_clear(r);
	return ret;
}

void
folder_ref_clear(struct folder_ref *r)
{
	free(r->folder);
	memset(r, 0, sizeof *r);
}

void
core_format_date(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, len, "%s", "unknown date    ");
}

void
core_msg_from_envelope(struct store_msg *m, const struct mime_envelope *env)
{
	m->date = env->date;
	m->from = env->from;
	m->to = env->to;
	m->cc = env->cc;
	m->subject = env->subject;
	m->message_id = env->message_id;
	m->in_reply_to = env->in_reply_to;
	m->refs = env->refs;
	m->content_type = env->content_type;
	m->has_attach = env->has_attach;
}
