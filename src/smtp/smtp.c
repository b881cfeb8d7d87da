/*
 * One SMTP transaction through libcurl (MAIL FROM, RCPT TO, DATA).
 *
 * libcurl reports a refused RCPT or DATA as a generic error; the server's
 * own words come from the protocol trace (CURLOPT_DEBUGFUNCTION), which
 * also tells where the transaction stopped: before DATA nothing was
 * delivered; after the whole message went out without an answer, the
 * server may have accepted it, and the caller must not send it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tern/compose.h"
#include "tern/net.h"
#include "tern/oauth.h"
#include "tern/smtp.h"
#include "tern/util.h"

#define REPLY_MAX 512

struct transfer {
	const char *data;
	size_t len;
	size_t off;
	int eof; /* every byte was handed to libcurl */
	int in_data; /* the server said 354 */
	int final; /* the reply after the message, 0 if none */
	int fail; /* the first reply code >= 400 */
	char reply[REPLY_MAX]; /* that reply's last line, visible */
	int trace;
	int auth_seen; /* the EHLO reply listed AUTH mechanisms */
	int oauth; /* ... among them OAUTHBEARER or XOAUTH2 */
};

/* Does the line list mechanism w as a whole word? */
static int
lists_word(const char *l, size_t len, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; i + wl <= len; i++) {
		if ((i == 0 || l[i - 1] == ' ') &&
		    ascii_strncasecmp(l + i, w, wl) == 0 &&
		    (i + wl == len || l[i + wl] == ' ' || l[i + wl] == '\r' ||
		        l[i + wl] == '\n'))
			return 1;
	}
	return 0;
}

static size_t
read_cb(char *out, size_t size, size_t nmemb, void *arg)
{
	struct transfer *x = arg;
	size_t n = size * nmemb;

	if (n > x->len - x->off)
		n = x->len - x->off;
	memcpy(out, x->data + x->off, n);
	x->off += n;
	/* libcurl knows the size: it may never ask past the last byte. */
	if (x->off == x->len)
		x->eof = 1;
	return n;
}

static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct transfer *x = arg;
	struct buf b;
	int code;

	(void)h;
	if (x->trace &&
	    (type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT ||
	        type == CURLINFO_TEXT))
		fwrite(data, 1, size, stderr);
	if (type != CURLINFO_HEADER_IN || size < 3 || data[0] < '1' ||
	    data[0] > '5' || data[1] < '0' || data[1] > '9' || data[2] < '0' ||
	    data[2] > '9')
		return 0;
	code = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
	/* "250-AUTH PLAIN OAUTHBEARER": what a token can log in with. */
	if (code == 250 && size > 9 &&
	    ascii_strncasecmp(data + 4, "AUTH ", 5) == 0) {
		x->auth_seen = 1;
		x->oauth |= lists_word(data + 4, size - 4, "OAUTHBEARER") ||
		    lists_word(data + 4, size - 4, "XOAUTH2");
	}
	/* A continuation line ("250-...") is not the reply's end. */
	if (size > 3 && data[3] == '-')
		return 0;
	if (x->in_data && x->final == 0)
		x->final = code;
	if (code == 354)
		x->in_data = 1;
	/* After a refusal come QUIT and its 221: the refusal is the news. */
	if (code < 400 || x->fail != 0)
		return 0;
	x->fail = code;
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	if (size > REPLY_MAX - 1)
		size = REPLY_MAX - 1;
	buf_init(&b, 0);
	text_visible(&b, data, size, 0);
	snprintf(x->reply, sizeof x->reply, "%s", b.data ? b.data : "");
	buf_free(&b);
	return 0;
}

static char *
helo_name(void)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0 || host[0] == '\0' ||
	    strpbrk(host, "/?#@ ") != NULL)
		return xstrdup("localhost");
	host[sizeof host - 1] = '\0';
	return xstrdup(host);
}

static enum smtp_result
transfer(const struct smtp_params *p, const char *from, char *const *rcpts,
    const char *data, size_t len, int *refused, char **reason)
{
	struct transfer x;
	struct curl_slist *list = NULL;
	enum smtp_result result;
	char errbuf[CURL_ERROR_SIZE] = "", *url, *s, *helo;
	const char *rest;
	CURLcode rc;
	CURL *h;
	size_t i;

	memset(&x, 0, sizeof x);
	x.data = data;
	x.len = len;
	x.trace = getenv("TERN_CURL_VERBOSE") != NULL;
	if (reason != NULL)
		*reason = NULL;
	if ((h = curl_easy_init()) == NULL) {
		set_cause(reason, "cannot initialise libcurl");
		return SMTP_TEMPFAIL;
	}
	/* libcurl says EHLO with the URL's path: make it our host name. */
	rest = strstr(p->url, "://");
	rest = rest != NULL ? rest + 3 : p->url;
	helo = helo_name();
	if (strchr(rest, '/') == NULL)
		url = xasprintf("%s/%s", p->url, helo);
	else
		url = xstrdup(p->url);
	free(helo);

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	net_keepalive(h);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    p->connect_timeout_ms ? p->connect_timeout_ms : 30000L);
	/* A stalled server: less than a byte a second for the io timeout. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
	    (p->io_timeout_ms ? p->io_timeout_ms : 120000L) / 1000);
	if (strncmp(p->url, "smtps://", 8) != 0 && p->tls != RC_TLS_OFF)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, p->verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, p->verify ? 2L : 0L);
	if (p->cafile != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, p->cafile);
	if (p->user != NULL && p->bearer != NULL) {
		/* OAUTHBEARER when offered, else XOAUTH2; never a password
		 * login with an empty password. */
		curl_easy_setopt(h, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, p->bearer);
		curl_easy_setopt(
		    h, CURLOPT_LOGIN_OPTIONS, "AUTH=OAUTHBEARER;AUTH=XOAUTH2");
	} else if (p->user != NULL) {
		curl_easy_setopt(h, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(
		    h, CURLOPT_PASSWORD, p->password ? p->password : "");
	}
	s = xasprintf("<%s>", from);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, s);
	free(s);
	for (i = 0; rcpts[i] != NULL; i++) {
		s = xasprintf("<%s>", rcpts[i]);
		list = curl_slist_append(list, s);
		free(s);
	}
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(h, CURLOPT_READDATA, &x);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, &x);

	rc = curl_easy_perform(h);
	*refused = 0;
	if (rc == CURLE_OK)
		result = SMTP_SENT;
	else if (p->bearer != NULL && rc == CURLE_LOGIN_DENIED && x.auth_seen &&
	    !x.oauth) {
		result = SMTP_TEMPFAIL;
		set_cause(reason,
		    "account %s: %s offers neither OAUTHBEARER nor XOAUTH2, so "
		    "it cannot take an OAuth 2.0 token; set smtp_auth password "
		    "for it",
		    p->account ? p->account : "", p->url);
	} else if (p->bearer != NULL &&
	    (rc == CURLE_LOGIN_DENIED || x.fail == 334 || x.fail == 535 ||
	        x.fail == 534 || x.fail == 538)) {
		result = SMTP_TEMPFAIL;
		*refused = 1;
		set_cause(reason,
		    "account %s: %s refused the OAuth 2.0 token%s%s%s",
		    p->account ? p->account : "", p->url,
		    x.reply[0] ? " (" : "", x.reply, x.reply[0] ? ")" : "");
	} else if (x.in_data && x.final == 0 && x.eof) {
		result = SMTP_UNKNOWN;
		set_cause(reason,
		    "the connection broke after the whole message was sent "
		    "(%s); the server may have accepted it",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else if (rc == CURLE_LOGIN_DENIED || x.fail == 530 || x.fail == 534 ||
	    x.fail == 535 || x.fail == 538) {
		result = SMTP_TEMPFAIL;
		*refused = 1;
		set_cause(reason,
		    "login refused%s%s%s: check smtp_user and "
		    "the password",
		    x.reply[0] ? " (" : "", x.reply, x.reply[0] ? ")" : "");
	} else if (x.fail >= 500) {
		result = SMTP_REFUSED;
		set_cause(
		    reason, "the server refused the message: %s", x.reply);
	} else if (x.fail >= 400) {
		result = SMTP_DEFERRED;
		set_cause(
		    reason, "the server deferred the message: %s", x.reply);
	} else {
		switch (rc) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_RECV_ERROR:
		case CURLE_SEND_ERROR:
		case CURLE_GOT_NOTHING:
			result = SMTP_OFFLINE;
			break;
		default:
			/* TLS and certificate trouble: the user must act. */
			result = SMTP_TEMPFAIL;
			break;
		}
		if (rc == CURLE_USE_SSL_FAILED)
			set_cause(reason,
			    "%s: the server did not agree to STARTTLS; nothing "
			    "was sent in plaintext (use smtps://, or tls off)",
			    p->url);
		else if (rc == CURLE_SSL_CACERT_BADFILE) {
			char *why = NULL;

			net_ca_cause(h, p->cafile,
			    errbuf[0] ? errbuf : curl_easy_strerror(rc), &why);
			set_cause(reason, "%s: %s", p->url, why);
			free(why);
		} else if (rc == CURLE_PEER_FAILED_VERIFICATION)
			set_cause(reason,
			    "%s: the server's certificate is not trusted (%s); "
			    "add its CA with 'cafile' in the rc",
			    p->url, errbuf);
		else
			set_cause(reason, "%s: %s", p->url,
			    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
	free(url);
	return result;
}

enum smtp_result
smtp_send(struct smtp_params *p, const char *from, char *const *rcpts,
    const char *data, size_t len, char **reason)
{
	enum smtp_result r;
	char *token = NULL, *why = NULL;
	int refused = 0;

	r = transfer(p, from, rcpts, data, len, &refused, reason);
	if (r != SMTP_TEMPFAIL || !refused || p->oauth == NULL)
		return r;
	/* A token refused: fetched once more (refreshed) and tried again;
	 * nothing was sent, the login comes before MAIL FROM. */
	if (oauth_access_token(p->oauth, 1, &token, &why) != OAUTH_OK) {
		if (reason != NULL) {
			free(*reason);
			*reason = why;
		} else
			free(why);
		return SMTP_TEMPFAIL;
	}
	oauth_token_free(&p->bearer);
	p->bearer = token;
	if (reason != NULL) {
		free(*reason);
		*reason = NULL;
	}
	return transfer(p, from, rcpts, data, len, &refused, reason);
}

int
smtp_params_account(
    const struct rc_account *a, struct smtp_params *p, char **cause)
{
	struct rc_account tmp;
	const char *user;

	memset(p, 0, sizeof *p);
	if (a->smtp == NULL)
		return set_cause(cause,
		    "account %s has no smtp URL: add 'smtp smtps://HOST' to it",
		    a->name);
	p->url = a->smtp;
	p->tls = a->tls;
	p->verify = a->tls_verify;
	p->cafile = a->cafile;
	p->account = a->name;
	user = a->smtp_user != NULL ? a->smtp_user : a->user;
	if (user == NULL)
		return 0;
	if (a->smtp_auth == RC_AUTH_OAUTH2) {
		if (oauth_access_token(a, 0, &p->bearer, cause) != OAUTH_OK)
			return -1;
		p->oauth = a;
		p->user = user;
		return 0;
	}
	tmp = *a;
	if (a->smtp_passcmd != NULL) {
		tmp.password = NULL;
		tmp.passcmd = a->smtp_passcmd;
	}
	if ((p->password = rc_account_password(&tmp, cause)) == NULL)
		return -1;
	p->user = user;
	return 0;
}

void
smtp_params_clear(struct smtp_params *p)
{
	if (p->password != NULL) {
		explicit_bzero((char *)p->password, strlen(p->password));
		free((char *)p->password);
	}
	oauth_token_free(&p->bearer);
	memset(p, 0, sizeof *p);
}
