/*
 * Access tokens: from the user's command, or kept and refreshed by tern.
 *
 * The kept state is one small JSON object per account. Written to a
 * temporary file of mode 0600 in the same directory, synced, then
 * renamed over the old one, so a crash leaves the old state or the new,
 * never half of one. Two processes refreshing at once both end with a
 * working token: the last rename wins, and a provider that rotates
 * refresh tokens still accepts the one it gave last.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "oauth-private.h"

/* Tokens with less than this many seconds left are refreshed first. */
#define OAUTH_MARGIN 60
/* An answer without expires_in: assume the usual hour. */
#define OAUTH_DEFAULT_LIFE 3600

void
oauth_endpoints(const struct rc_account *a, struct oauth_endpoints *e)
{
	memset(e, 0, sizeof *e);
	switch (a->oauth_provider) {
	case RC_OAUTH_GOOGLE:
		/* Google's device grant does not allow the mail scope:
		 * the loopback redirect it is. */
		e->auth_url = "https://accounts.google.com/o/oauth2/v2/auth";
		e->token_url = "https://oauth2.googleapis.com/token";
		e->scope = "https://mail.google.com/";
		e->google = 1;
		break;
	case RC_OAUTH_MICROSOFT:
		e->device_url = "https://login.microsoftonline.com/common/"
		                "oauth2/v2.0/devicecode";
		e->auth_url = "https://login.microsoftonline.com/common/"
		              "oauth2/v2.0/authorize";
		e->token_url = "https://login.microsoftonline.com/common/"
		               "oauth2/v2.0/token";
		e->scope = "offline_access "
		           "https://outlook.office.com/IMAP.AccessAsUser.All "
		           "https://outlook.office.com/POP.AccessAsUser.All "
		           "https://outlook.office.com/SMTP.Send";
		break;
	case RC_OAUTH_CUSTOM:
	case RC_OAUTH_NONE:
		break;
	}
	if (a->oauth_device_url != NULL)
		e->device_url = a->oauth_device_url;
	if (a->oauth_auth_url != NULL)
		e->auth_url = a->oauth_auth_url;
	if (a->oauth_token_url != NULL)
		e->token_url = a->oauth_token_url;
	if (a->oauth_scope != NULL)
		e->scope = a->oauth_scope;
}

void
oauth_form_add(struct buf *form, const char *key, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);

	if (form->len > 0)
		(void)buf_addc(form, '&');
	(void)buf_adds(form, key);
	(void)buf_addc(form, '=');
	(void)buf_adds(form, v != NULL ? v : "");
	if (v != NULL) {
		explicit_bzero(v, strlen(v));
		curl_free(v);
	}
}

/* An address of this machine: 127.0.0.0/8 or ::1 as a literal, or
 * localhost; never a name that merely starts like one. */
static int
loopback_host(const char *h)
{
	struct in_addr a4;
	struct in6_addr a6;
	char tmp[64];
	size_t n = strlen(h);

	if (strcmp(h, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n > 2 && n < sizeof tmp && h[0] == '[' && h[n - 1] == ']') {
		memcpy(tmp, h + 1, n - 2);
		tmp[n - 2] = '\0';
		h = tmp;
	}
	return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* https, or http to this machine only (RFC 8252 8.3). */
static int
url_allowed(const char *url, char **cause)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = -1;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		set_cause(cause, "%s is not a URL", url);
	else if (strcmp(scheme, "https") == 0 ||
	    (strcmp(scheme, "http") == 0 && loopback_host(host)))
		ok = 0;
	else
		set_cause(cause,
		    "%s: an OAuth endpoint must be https:// (plain http only "
		    "on this machine's loopback address)",
		    url);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, data, size * n) != 0)
		return 0; /* over the limit: libcurl stops with an error */
	return size * n;
}

int
oauth_http_post(const struct rc_account *a, const char *url,
    const struct buf *form, long *status, struct buf *body, char **cause)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	CURL *h;
	int ret = -1;

	*status = 0;
	if (url_allowed(url, cause) != 0)
		return -1;
	if ((h = curl_easy_init()) == NULL)
		return set_cause(cause, "cannot initialise libcurl");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 30000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	/* Never follow a redirect: the form would go elsewhere. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->data ? form->data : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(h);
	if (rc == CURLE_WRITE_ERROR)
		set_cause(cause,
		    "account %s: %s answered with more than %d bytes; gave up",
		    a->name, url, OAUTH_MAX_RESPONSE);
	else if (rc == CURLE_PEER_FAILED_VERIFICATION)
		set_cause(cause,
		    "account %s: %s: the certificate is not trusted (%s)",
		    a->name, url, errbuf);
	else if (rc == CURLE_SSL_CACERT_BADFILE)
		net_ca_cause(h, NULL, errbuf, cause);
	else if (rc != CURLE_OK)
		set_cause(cause, "account %s: %s: %s", a->name, url,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		ret = 0;
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return ret;
}

int
oauth_token_request(const struct rc_account *a, const char *url,
    const struct buf *form, struct oauth_token *tok, char **error, char **cause)
{
	struct buf body;
	char *why = NULL;
	long status;
	int r;

	*error = NULL;
	memset(tok, 0, sizeof *tok);
	buf_init(&body, OAUTH_MAX_RESPONSE);
	if (oauth_http_post(a, url, form, &status, &body, cause) != 0) {
		buf_free(&body);
		return -1;
	}
	r = oauth_token_parse(
	    body.data ? body.data : "", body.len, tok, error, &why);
	if (r == 0 && status != 200) {
		oauth_token_clear(tok);
		r = -1;
		why = xstrdup("a token with an error status");
	}
	if (r < 0) {
		set_cause(cause, "account %s: %s answered HTTP %ld: %s",
		    a->name, url, status, why);
		free(why);
	}
	explicit_bzero(body.data ? body.data : "", body.len);
	buf_free(&body);
	return r;
}

int
oauth_error_is(const char *error, const char *code)
{
	size_t n = strlen(code);

	return error != NULL && strncmp(error, code, n) == 0 &&
	    (error[n] == '\0' || error[n] == ':');
}

/* $XDG_DATA_HOME/tern/oauth, and the account's file in it. */
static char *
state_path(const struct rc_account *a, char **dirp)
{
	char *data = rc_data_dir();
	char *dir = xasprintf("%s/oauth", data);
	char *path = xasprintf("%s/%s.json", dir, a->name);

	free(data);
	if (dirp != NULL)
		*dirp = dir;
	else
		free(dir);
	return path;
}

/* 0 with *st (all NULL when nothing is kept), or -1 with cause. */
static int
state_load(const struct rc_account *a, struct oauth_state *st, char **cause)
{
	struct buf b;
	char *path, *out, *why = NULL;
	size_t len;
	int ret;

	memset(st, 0, sizeof *st);
	if (a->oauth_load_cmd != NULL) {
		if (rc_run_cmd(a, "oauth_load_cmd", a->oauth_load_cmd, NULL, 0,
		        &out, &len, cause) != 0)
			return -1;
		while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
			len--;
		ret = 0;
		if (len > 0 && oauth_state_parse(out, len, st, &why) != 0)
			ret = set_cause(cause, "account %s: oauth_load_cmd: %s",
			    a->name, why);
		explicit_bzero(out, len);
		free(out);
		free(why);
		return ret;
	}
	path = state_path(a, NULL);
	buf_init(&b, OAUTH_MAX_RESPONSE);
	ret = 0;
	if (access(path, F_OK) == 0) {
		if (read_file(path, OAUTH_MAX_RESPONSE, &b, cause) != 0)
			ret = -1;
		else if (oauth_state_parse(
		             b.data ? b.data : "", b.len, st, &why) != 0) {
			ret = set_cause(cause,
			    "account %s: %s: %s; remove it and run `tern login "
			    "%s`",
			    a->name, path, why, a->name);
			free(why);
		}
		if (b.data != NULL)
			explicit_bzero(b.data, b.len);
	}
	buf_free(&b);
	free(path);
	return ret;
}

/* Write the kept state: to oauth_store_cmd, else the file. */
static int
state_save(
    const struct rc_account *a, const struct oauth_state *st, char **cause)
{
	json_t *o = json_object();
	char *text, *dir = NULL, *path, *tmp = NULL, *out;
	size_t len;
	int fd = -1, ret = -1;

	if (st->refresh_token != NULL)
		json_object_set_new(
		    o, "refresh_token", json_string(st->refresh_token));
	if (st->access_token != NULL)
		json_object_set_new(
		    o, "access_token", json_string(st->access_token));
	json_object_set_new(o, "expires_at", json_integer(st->expires_at));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		return set_cause(cause, "cannot write the sign-in as JSON");
	len = strlen(text);
	if (a->oauth_store_cmd != NULL) {
		/* The state goes on stdin, never argv. */
		text = xreallocarray(text, len + 2, 1);
		text[len++] = '\n';
		text[len] = '\0';
		ret = rc_run_cmd(a, "oauth_store_cmd", a->oauth_store_cmd, text,
		    len, &out, &len, cause);
		if (ret == 0)
			free(out);
		explicit_bzero(text, strlen(text));
		free(text);
		return ret;
	}
	path = state_path(a, &dir);
	if (mkdir_p(dir, 0700, cause) != 0)
		goto out;
	tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		set_cause(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* An old file made with a wider umask: narrowed all the same. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 ||
	    fsync(fd) != 0) {
		set_cause(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		set_cause(cause, "cannot rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(fd);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	explicit_bzero(text, len);
	free(text);
	free(path);
	free(dir);
	return ret;
}

int
oauth_state_keep(const struct rc_account *a, const struct oauth_token *tok,
    const char *old_refresh, char **cause)
{
	struct oauth_state st;

	memset(&st, 0, sizeof st);
	st.access_token = tok->access_token;
	st.refresh_token = tok->refresh_token != NULL ? tok->refresh_token
	                                              : (char *)old_refresh;
	st.expires_at = (int64_t)time(NULL) +
	    (tok->expires_in > 0 ? tok->expires_in : OAUTH_DEFAULT_LIFE);
	return state_save(a, &st, cause);
}

/* The first line oauth_token_cmd prints. */
static enum oauth_status
token_from_cmd(const struct rc_account *a, char **token, char **cause)
{
	char *out, *nl;
	size_t len;

	if (rc_run_cmd(a, "oauth_token_cmd", a->oauth_token_cmd, NULL, 0, &out,
	        &len, cause) != 0)
		return OAUTH_FAIL;
	if ((nl = strpbrk(out, "\r\n")) != NULL)
		*nl = '\0';
	len = strlen(out);
	if (len == 0 || len > OAUTH_MAX_TOKEN ||
	    strspn(out,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789-._~+/=") != len) {
		set_cause(cause,
		    "account %s: oauth_token_cmd printed no token (its first "
		    "line must be the access token alone)",
		    a->name);
		explicit_bzero(out, strlen(out));
		free(out);
		return OAUTH_FAIL;
	}
	*token = out;
	return OAUTH_OK;
}

enum oauth_status
oauth_access_token(
    const struct rc_account *a, int refresh, char **token, char **cause)
{
	struct oauth_endpoints e;
	struct oauth_state st;
	struct oauth_token tok;
	struct buf form;
	char *error = NULL;
	enum oauth_status ret = OAUTH_FAIL;
	int r;

	*token = NULL;
	if (a->oauth_token_cmd != NULL)
		return token_from_cmd(a, token, cause);
	if (state_load(a, &st, cause) != 0)
		return OAUTH_FAIL;
	if (st.refresh_token == NULL && st.access_token == NULL) {
		set_cause(cause,
		    "account %s is not signed in: run `tern login %s`", a->name,
		    a->name);
		oauth_state_clear(&st);
		return OAUTH_LOGIN;
	}
	if (!refresh && st.access_token != NULL &&
	    st.expires_at - (int64_t)time(NULL) > OAUTH_MARGIN) {
		*token = st.access_token;
		st.access_token = NULL;
		oauth_state_clear(&st);
		return OAUTH_OK;
	}
	if (st.refresh_token == NULL) {
		set_cause(cause,
		    "account %s: the access token expired and there is no "
		    "refresh token: run `tern login %s`",
		    a->name, a->name);
		oauth_state_clear(&st);
		return OAUTH_LOGIN;
	}
	oauth_endpoints(a, &e);
	buf_init(&form, 0);
	oauth_form_add(&form, "grant_type", "refresh_token");
	oauth_form_add(&form, "refresh_token", st.refresh_token);
	oauth_form_add(&form, "client_id", a->oauth_client_id);
	if (a->oauth_client_secret != NULL)
		oauth_form_add(&form, "client_secret", a->oauth_client_secret);
	r = oauth_token_request(a, e.token_url, &form, &tok, &error, cause);
	if (r == 1 && oauth_error_is(error, "invalid_grant")) {
		struct oauth_state none;

		/* A dead sign-in is forgotten, the access token with it:
		 * whatever asks next hears that tern login is needed. */
		memset(&none, 0, sizeof none);
		(void)state_save(a, &none, NULL);
		set_cause(cause,
		    "account %s: the provider no longer accepts its sign-in "
		    "(%s): run `tern login %s`",
		    a->name, error, a->name);
		ret = OAUTH_LOGIN;
	} else if (r == 1)
		set_cause(cause,
		    "account %s: the token endpoint refused to refresh the "
		    "access token (%s)",
		    a->name, error);
	else if (r == 0) {
		if (oauth_state_keep(a, &tok, st.refresh_token, cause) == 0) {
			*token = tok.access_token;
			tok.access_token = NULL;
			ret = OAUTH_OK;
		}
		oauth_token_clear(&tok);
	}
	free(error);
	explicit_bzero(form.data ? form.data : "", form.len);
	buf_free(&form);
	oauth_state_clear(&st);
	return ret;
}
