/*
 * `tern login`: getting a refresh token from the provider.
 *
 * With a device endpoint, the device authorization grant (RFC 8628): the
 * person opens a URL anywhere and types a short code, while tern polls
 * the token endpoint at the interval the provider asks (five seconds
 * more after each slow_down). Without one, the authorization code grant
 * with PKCE (RFC 7636) on a loopback redirect (RFC 8252 7.3): tern
 * listens on 127.0.0.1 on a port of the kernel's choosing, prints the
 * URL to open, and takes the one redirect that carries the state it
 * made; the code is worthless without the verifier that never left this
 * process.
 */
#include <netinet/in.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "oauth-private.h"

/* How long a loopback sign-in waits for the browser. */
#define LOOPBACK_WAIT_MS (10 * 60 * 1000)
/* The longest request the loopback listener reads. */
#define LOOPBACK_MAX_REQUEST 8192

static void show(const struct oauth_login_ui *ui, const char *fmt, ...)
    TERN_PRINTF(2, 3);

static void
show(const struct oauth_login_ui *ui, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	ui->show(ui->arg, s);
	free(s);
}

static void
client_form(const struct rc_account *a, struct buf *form)
{
	oauth_form_add(form, "client_id", a->oauth_client_id);
	if (a->oauth_client_secret != NULL)
		oauth_form_add(form, "client_secret", a->oauth_client_secret);
}

static void
form_free(struct buf *form)
{
	if (form->data != NULL)
		explicit_bzero(form->data, form->len);
	buf_free(form);
}

/* Whether the person gave up (^C in the client). */
static int
stopped(const struct oauth_login_ui *ui)
{
	return ui->stop != NULL && ui->stop(ui->arg);
}

/*
 * Wait ms, or until fd (if >= 0) is readable: 1 readable, 0 the time is
 * up, -1 the person gave up. Waits in short slices to notice that.
 */
static int
wait_ms(const struct oauth_login_ui *ui, int fd, uint64_t ms)
{
	uint64_t deadline = now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = now_ms();
		int r;

		if (stopped(ui))
			return -1;
		if (now >= deadline)
			return 0;
		r = poll(&pfd, fd >= 0 ? 1 : 0,
		    deadline - now > 250 ? 250 : (int)(deadline - now));
		if (r > 0)
			return 1;
	}
}

static enum oauth_status
device_grant(const struct rc_account *a, const struct oauth_endpoints *e,
    const struct oauth_login_ui *ui, char **cause)
{
	struct oauth_device dev;
	struct oauth_token tok;
	struct buf form, body;
	char *error = NULL, *why = NULL;
	uint64_t deadline, interval;
	enum oauth_status ret = OAUTH_FAIL;
	long status;
	int r;

	buf_init(&form, 0);
	buf_init(&body, OAUTH_MAX_RESPONSE);
	client_form(a, &form);
	if (e->scope != NULL)
		oauth_form_add(&form, "scope", e->scope);
	if (oauth_http_post(a, e->device_url, &form, &status, &body, cause) !=
	    0) {
		form_free(&form);
		buf_free(&body);
		return OAUTH_FAIL;
	}
	form_free(&form);
	r = oauth_device_parse(
	    body.data ? body.data : "", body.len, &dev, &error, &why);
	buf_free(&body);
	if (r == 1) {
		set_cause(cause, "account %s: %s refused: %s", a->name,
		    e->device_url, error);
		free(error);
		return OAUTH_FAIL;
	}
	if (r < 0 || status != 200) {
		set_cause(cause, "account %s: %s answered HTTP %ld: %s",
		    a->name, e->device_url, status,
		    why ? why : "a device code with an error status");
		free(why);
		if (r == 0)
			oauth_device_clear(&dev);
		return OAUTH_FAIL;
	}
	if (dev.verification_uri_complete != NULL)
		show(ui,
		    "To sign in to %s, open %s\nand enter the code %s\n(or "
		    "open %s)",
		    a->name, dev.verification_uri, dev.user_code,
		    dev.verification_uri_complete);
	else
		show(ui, "To sign in to %s, open %s\nand enter the code %s",
		    a->name, dev.verification_uri, dev.user_code);
	interval = dev.interval > 0 ? (uint64_t)dev.interval * 1000 : 1000;
	deadline = now_ms() + (uint64_t)dev.expires_in * 1000;
	for (;;) {
		if (wait_ms(ui, -1, interval) < 0) {
			set_cause(
			    cause, "account %s: sign-in abandoned", a->name);
			break;
		}
		if (now_ms() >= deadline) {
			set_cause(cause,
			    "account %s: the code expired before the sign-in "
			    "was done; run tern login again",
			    a->name);
			break;
		}
		buf_init(&form, 0);
		oauth_form_add(&form, "grant_type",
		    "urn:ietf:params:oauth:grant-type:device_code");
		oauth_form_add(&form, "device_code", dev.device_code);
		client_form(a, &form);
		r = oauth_token_request(
		    a, e->token_url, &form, &tok, &error, cause);
		form_free(&form);
		if (r < 0)
			break;
		if (r == 0) {
			if (tok.refresh_token == NULL)
				show(ui,
				    "note: %s gave no refresh token: tern login "
				    "will be needed again when the access token "
				    "expires",
				    e->token_url);
			if (oauth_state_keep(a, &tok, NULL, cause) == 0)
				ret = OAUTH_OK;
			oauth_token_clear(&tok);
			break;
		}
		if (oauth_error_is(error, "authorization_pending")) {
			free(error);
			error = NULL;
			continue;
		}
		if (oauth_error_is(error, "slow_down")) {
			/* RFC 8628 3.5: five seconds more, from now on. */
			interval += 5000;
			free(error);
			error = NULL;
			continue;
		}
		if (oauth_error_is(error, "access_denied"))
			set_cause(cause, "account %s: the sign-in was declined",
			    a->name);
		else if (oauth_error_is(error, "expired_token"))
			set_cause(cause,
			    "account %s: the code expired before the sign-in "
			    "was done; run tern login again",
			    a->name);
		else
			set_cause(cause, "account %s: %s refused: %s", a->name,
			    e->token_url, error);
		break;
	}
	free(error);
	oauth_device_clear(&dev);
	return ret;
}

/* base64url without padding (RFC 7636 appendix A). */
static char *
b64url(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	int i;

	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return out;
}

static char *
random_b64url(size_t n)
{
	unsigned char raw[64];

	if (n > sizeof raw || RAND_bytes(raw, (int)n) != 1)
		tern_fatalx(1, "no random numbers");
	return b64url(raw, n);
}

/* The value of key in a query string (URL-decoded, malloc'd), or NULL. */
static char *
query_get(const char *q, size_t qlen, const char *key)
{
	size_t kl = strlen(key);
	const char *p = q, *end = q + qlen;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp != NULL ? amp : end;

		if ((size_t)(e - p) > kl && strncmp(p, key, kl) == 0 &&
		    p[kl] == '=') {
			int olen = 0;
			char *v = curl_easy_unescape(NULL, p + kl + 1,
			    (int)(e - p - (ptrdiff_t)kl - 1), &olen);
			char *r = NULL;

			if (v != NULL && memchr(v, '\0', (size_t)olen) == NULL)
				r = xstrndup(v, (size_t)olen);
			curl_free(v);
			return r;
		}
		p = e + 1;
	}
	return NULL;
}

static void
reply(int fd, int code, const char *text)
{
	char *body = xasprintf("<!doctype html>\n<title>tern</title>\n%s\n"
	                       "<p>You may close this page.</p>\n",
	    text);
	char *s = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: text/html; "
	                    "charset=utf-8\r\nConnection: close\r\n"
	                    "Content-Length: %zu\r\n\r\n%s",
	    code, code == 200 ? "OK" : "Bad Request", strlen(body), body);

	(void)write_all(fd, s, strlen(s));
	free(s);
	free(body);
}

/*
 * Read one request from fd within the deadline. Returns 1 with the query
 * of its target in *q (malloc'd, "" when it has none), 0 for a request
 * to ignore, -1 on a broken one.
 */
static int
read_request(int fd, uint64_t deadline, char **q)
{
	struct buf b;
	const char *sp, *sp2, *qm;
	int ret = -1;

	*q = NULL;
	buf_init(&b, LOOPBACK_MAX_REQUEST);
	while (b.data == NULL || strstr(b.data, "\r\n") == NULL) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = now_ms();
		char tmp[1024];
		ssize_t n;

		if (now >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now)) <= 0)
			goto out;
		n = read(fd, tmp, sizeof tmp);
		if (n <= 0 || buf_add(&b, tmp, (size_t)n) != 0)
			goto out;
	}
	if (strncmp(b.data, "GET ", 4) != 0)
		goto out;
	sp = b.data + 4;
	sp2 = strchr(sp, ' ');
	if (sp2 == NULL)
		goto out;
	qm = memchr(sp, '?', (size_t)(sp2 - sp));
	ret = 1;
	if (qm == NULL) {
		*q = xstrdup("");
		ret = 0;
	} else
		*q = xstrndup(qm + 1, (size_t)(sp2 - qm - 1));
out:
	buf_free(&b);
	return ret;
}

static enum oauth_status
loopback_grant(const struct rc_account *a, const struct oauth_endpoints *e,
    const struct oauth_login_ui *ui, char **cause)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	struct oauth_token tok;
	struct buf url, form;
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char *verifier = NULL, *challenge = NULL, *state = NULL;
	char *redirect = NULL, *code = NULL, *error = NULL, *q = NULL;
	enum oauth_status ret = OAUTH_FAIL;
	uint64_t deadline;
	int lfd = -1, fd = -1, r;

	buf_init(&url, 0);
	buf_init(&form, 0);
	if (e->auth_url == NULL) {
		set_cause(cause,
		    "account %s has neither oauth_device_url nor "
		    "oauth_auth_url",
		    a->name);
		goto out;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &slen) != 0) {
		set_cause(
		    cause, "cannot listen on 127.0.0.1: %s", strerror(errno));
		goto out;
	}
	verifier = random_b64url(32);
	SHA256((const unsigned char *)verifier, strlen(verifier), hash);
	challenge = b64url(hash, sizeof hash);
	state = random_b64url(16);
	redirect = xasprintf("http://127.0.0.1:%u/", ntohs(sin.sin_port));

	(void)buf_adds(&url, e->auth_url);
	(void)buf_addc(&url, strchr(e->auth_url, '?') != NULL ? '&' : '?');
	{
		struct buf qs;

		buf_init(&qs, 0);
		oauth_form_add(&qs, "response_type", "code");
		oauth_form_add(&qs, "client_id", a->oauth_client_id);
		oauth_form_add(&qs, "redirect_uri", redirect);
		if (e->scope != NULL)
			oauth_form_add(&qs, "scope", e->scope);
		oauth_form_add(&qs, "state", state);
		oauth_form_add(&qs, "code_challenge", challenge);
		oauth_form_add(&qs, "code_challenge_method", "S256");
		if (e->google) {
			/* Google gives a refresh token only when asked so. */
			oauth_form_add(&qs, "access_type", "offline");
			oauth_form_add(&qs, "prompt", "consent");
		}
		if (a->user != NULL)
			oauth_form_add(&qs, "login_hint", a->user);
		(void)buf_adds(&url, qs.data);
		buf_free(&qs);
	}
	show(ui,
	    "To sign in to %s, open this address in a browser on this "
	    "machine:\n%s",
	    a->name, url.data);

	deadline = now_ms() + LOOPBACK_WAIT_MS;
	for (;;) {
		uint64_t now = now_ms();
		char *st;

		r = now < deadline ? wait_ms(ui, lfd, deadline - now) : 0;
		if (r < 0) {
			set_cause(
			    cause, "account %s: sign-in abandoned", a->name);
			goto out;
		}
		if (r == 0) {
			set_cause(cause,
			    "account %s: no answer from the browser within %d "
			    "minutes; run tern login again",
			    a->name, LOOPBACK_WAIT_MS / 60000);
			goto out;
		}
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		r = read_request(fd, now_ms() + 10000, &q);
		if (r <= 0) {
			/* A favicon, a probe: not the redirect. */
			if (r == 0)
				reply(fd, 400, "<p>Not the sign-in.</p>");
			free(q);
			q = NULL;
			close(fd);
			fd = -1;
			continue;
		}
		st = query_get(q, strlen(q), "state");
		if (st == NULL) {
			reply(fd, 400, "<p>Not the sign-in.</p>");
			free(q);
			q = NULL;
			close(fd);
			fd = -1;
			continue;
		}
		/* A redirect with another state is not ours: someone else's
		 * page, or an attack on this one. */
		if (strcmp(st, state) != 0) {
			free(st);
			reply(
			    fd, 400, "<p>The sign-in failed: wrong state.</p>");
			set_cause(cause,
			    "account %s: the redirect carried a state tern did "
			    "not make; sign-in abandoned",
			    a->name);
			goto out;
		}
		free(st);
		break;
	}
	if ((error = query_get(q, strlen(q), "error")) != NULL) {
		char *v = text_visible_dup(error);

		reply(fd, 400, "<p>The sign-in was not completed.</p>");
		set_cause(
		    cause, "account %s: the provider said: %s", a->name, v);
		free(v);
		goto out;
	}
	if ((code = query_get(q, strlen(q), "code")) == NULL || *code == '\0') {
		reply(fd, 400, "<p>The sign-in failed: no code.</p>");
		set_cause(
		    cause, "account %s: the redirect carried no code", a->name);
		goto out;
	}
	oauth_form_add(&form, "grant_type", "authorization_code");
	oauth_form_add(&form, "code", code);
	oauth_form_add(&form, "redirect_uri", redirect);
	oauth_form_add(&form, "code_verifier", verifier);
	client_form(a, &form);
	r = oauth_token_request(a, e->token_url, &form, &tok, &error, cause);
	if (r == 1)
		set_cause(cause, "account %s: %s refused the code: %s", a->name,
		    e->token_url, error);
	if (r != 0) {
		reply(fd, 400, "<p>The sign-in failed; see the terminal.</p>");
		goto out;
	}
	if (oauth_state_keep(a, &tok, NULL, cause) == 0) {
		ret = OAUTH_OK;
		reply(fd, 200, "<p>tern is signed in.</p>");
	} else
		reply(fd, 400, "<p>The sign-in failed; see the terminal.</p>");
	oauth_token_clear(&tok);
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	form_free(&form);
	buf_free(&url);
	free(q);
	free(verifier);
	free(challenge);
	free(state);
	free(redirect);
	free(code);
	free(error);
	return ret;
}

enum oauth_status
oauth_login(
    const struct rc_account *a, const struct oauth_login_ui *ui, char **cause)
{
	struct oauth_endpoints e;

	if (a->auth != RC_AUTH_OAUTH2 && a->smtp_auth != RC_AUTH_OAUTH2) {
		set_cause(
		    cause, "account %s does not use auth oauth2", a->name);
		return OAUTH_FAIL;
	}
	if (a->oauth_token_cmd != NULL) {
		set_cause(cause,
		    "account %s takes its tokens from oauth_token_cmd: sign "
		    "in with that program",
		    a->name);
		return OAUTH_FAIL;
	}
	oauth_endpoints(a, &e);
	if (e.token_url == NULL) {
		set_cause(cause, "account %s has no oauth_token_url", a->name);
		return OAUTH_FAIL;
	}
	if (e.device_url != NULL)
		return device_grant(a, &e, ui, cause);
	return loopback_grant(a, &e, ui, cause);
}
