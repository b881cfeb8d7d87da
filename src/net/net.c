/*
 * Connections through libcurl's CONNECT_ONLY mode.
 *
 * TLS fails closed. With tls starttls, CURLOPT_USE_SSL=CURLUSESSL_ALL makes
 * libcurl 7.88 refuse to go on without TLS in every case a hostile server or
 * a man in the middle can arrange, and tests/scenario/test_tls.py proves it
 * for IMAP and POP3 against a scripted server: STARTTLS/STLS hidden from the
 * capabilities or refused, a PREAUTH greeting (no STARTTLS is possible after
 * it: CVE-2020-14093), bytes injected after the STARTTLS reply (libcurl
 * drops the connection since 7.79, CVE-2021-22947), a certificate for
 * another host or from an unknown issuer. In none of them does a command
 * other than CAPABILITY/CAPA and STARTTLS/STLS go out in plaintext.
 *
 * libcurl reports most of these as one error code. To tell the user which
 * one happened, a debug callback watches the plaintext part of the
 * conversation (the greeting, the capabilities, the reply to STARTTLS); it
 * only observes, the decision is libcurl's.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tern/net.h"
#include "tern/util.h"

/* What the plaintext part of a STARTTLS conversation showed. */
struct net_watch {
	int imap;
	int verbose; /* TERN_CURL_VERBOSE: also print the trace */
	int lines_in; /* server lines seen before TLS */
	int preauth; /* the IMAP greeting was PREAUTH */
	int offered; /* STARTTLS/STLS among the capabilities */
	int sent; /* the client asked for STARTTLS */
	int answered; /* ... and the server replied */
	int accepted; /* ... with OK: from here on, TLS (or failure) */
	char refusal[128]; /* the server's reply when it refused */
	/* The SASL mechanisms of the last capability list (any phase). */
	int caps_seen;
	int oauthbearer, xoauth2;
};

struct net_conn {
	CURLM *multi;
	CURL *easy;
	curl_socket_t fd;
	long io_timeout_ms;
	char *peer;
	struct net_watch watch;
	char errbuf[CURL_ERROR_SIZE];
};

void
net_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
net_global_cleanup(void)
{
	curl_global_cleanup();
}

static int
is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 ||
	    strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "[::1]") == 0;
}

/* Does the line (not NUL-terminated) contain word w, as a whole word? */
static int
has_word(const char *line, size_t len, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; i + wl <= len; i++) {
		if ((i == 0 || line[i - 1] == ' ') &&
		    ascii_strncasecmp(line + i, w, wl) == 0 &&
		    (i + wl == len || line[i + wl] == ' ' ||
		        line[i + wl] == '\r' || line[i + wl] == '\n'))
			return 1;
	}
	return 0;
}

/*
 * The SASL mechanisms the server lists, in every phase (before and after
 * STARTTLS): IMAP "AUTH=X" capabilities, a POP3 CAPA line "SASL X Y".
 * Asking for the capabilities again forgets the earlier list.
 */
static void
watch_sasl(struct net_watch *w, int in, const char *l, size_t len)
{
	if (!in) {
		if (has_word(l, len, w->imap ? "CAPABILITY" : "CAPA")) {
			w->oauthbearer = w->xoauth2 = 0;
			w->caps_seen = 0;
		}
		return;
	}
	if (w->imap &&
	    (has_word(l, len, "CAPABILITY") ||
	        has_word(l, len, "[CAPABILITY"))) {
		w->caps_seen = 1;
		w->oauthbearer |= has_word(l, len, "AUTH=OAUTHBEARER");
		w->xoauth2 |= has_word(l, len, "AUTH=XOAUTH2");
	}
	if (!w->imap && len >= 5 && ascii_strncasecmp(l, "SASL ", 5) == 0) {
		w->caps_seen = 1;
		w->oauthbearer |= has_word(l, len, "OAUTHBEARER");
		w->xoauth2 |= has_word(l, len, "XOAUTH2");
	}
}

/* One line of the conversation before TLS. */
static void
watch_line(struct net_watch *w, int in, const char *l, size_t len)
{
	const char *sp;

	watch_sasl(w, in, l, len);
	if (w->accepted)
		return;
	if (!in) {
		if (has_word(l, len, w->imap ? "STARTTLS" : "STLS"))
			w->sent = 1;
		return;
	}
	if (w->lines_in++ == 0 && w->imap && len >= 9 &&
	    ascii_strncasecmp(l, "* PREAUTH", 9) == 0)
		w->preauth = 1;
	if (!w->sent) {
		/* IMAP: "* CAPABILITY ... STARTTLS"; POP3: a CAPA line "STLS". */
		if (w->imap && len > 13 &&
		    ascii_strncasecmp(l, "* CAPABILITY ", 13) == 0 &&
		    has_word(l, len, "STARTTLS"))
			w->offered = 1;
		if (!w->imap && has_word(l, len, "STLS") && len >= 4 &&
		    ascii_strncasecmp(l, "STLS", 4) == 0)
			w->offered = 1;
		return;
	}
	if (w->imap && len > 0 && l[0] == '*')
		return; /* untagged: not the reply yet */
	w->answered = 1;
	sp = w->imap ? memchr(l, ' ', len) : NULL;
	if (sp != NULL && (size_t)(l + len - sp) > 3 &&
	    ascii_strncasecmp(sp + 1, "OK", 2) == 0)
		w->accepted = 1;
	else if (!w->imap && len >= 3 && ascii_strncasecmp(l, "+OK", 3) == 0)
		w->accepted = 1;
	else {
		struct buf b;

		/* The reply is the server's text: shown, but made visible. */
		while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == '\n'))
			len--;
		buf_init(&b, 0);
		text_visible(&b, l, len < 100 ? len : 100, 0);
		snprintf(
		    w->refusal, sizeof w->refusal, "%s", b.data ? b.data : "");
		buf_free(&b);
	}
}

/*
 * libcurl's debug callback, set for every connection: it feeds the watch
 * and, with TERN_CURL_VERBOSE set, prints the trace as libcurl would. The
 * trace carries the password (AUTHENTICATE, PASS): it is never stored.
 */
static int
debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *arg)
{
	struct net_watch *w = arg;
	const char *p = data, *end = data + size, *nl;

	if (w->verbose) {
		const char *pre = type == CURLINFO_TEXT ? "* "
		    : type == CURLINFO_HEADER_IN        ? "< "
		    : type == CURLINFO_HEADER_OUT       ? "> "
		                                        : NULL;

		if (pre != NULL)
			fprintf(stderr, "%s%.*s", pre, (int)size, data);
	}
	if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl + 1 : end;
		watch_line(w, type == CURLINFO_HEADER_IN, p, (size_t)(nl - p));
		p = nl;
	}
	return 0;
}

int
net_ca_cause(void *easy, const char *cafile, const char *detail, char **cause)
{
	char *sys = NULL;

	if (cafile != NULL) {
		return set_cause(
		    cause, "cannot read cafile %s: %s", cafile, detail);
	}
	/* The system's trust store is missing: a minimal system or a
	 * container without the ca-certificates package. */
#if LIBCURL_VERSION_NUM >= 0x075400
	if (curl_easy_getinfo(easy, CURLINFO_CAINFO, &sys) != CURLE_OK)
		sys = NULL;
#else
	(void)easy;
#endif
	return set_cause(cause,
	    "no system certificates%s%s%s: install ca-certificates or set "
	    "cafile in the rc",
	    sys != NULL ? " (cannot read " : "", sys != NULL ? sys : "",
	    sys != NULL ? ")" : "");
}

/*
 * Keepalive probes: a peer that vanished without a word (a laptop
 * suspended, a NAT that forgot the mapping) shows as an error after
 * NET_KEEPIDLE + NET_KEEPCNT * NET_KEEPINTVL seconds, about two minutes,
 * also while IDLE waits for ever. libcurl sets the first two; the count
 * it has no option for.
 */
static int
keepalive_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int cnt = NET_KEEPCNT;

	(void)arg;
	if (purpose == CURLSOCKTYPE_IPCXN)
		(void)setsockopt(
		    fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	return CURL_SOCKOPT_OK;
}

void
net_keepalive(void *easy)
{
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, (long)NET_KEEPIDLE);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, (long)NET_KEEPINTVL);
	curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, keepalive_cb);
}

/* Turn a libcurl failure during connect into a message a user can act on. */
static int
connect_cause(
    struct net_conn *c, const struct net_params *p, CURLcode rc, char **cause)
{
	const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
	const struct net_watch *w = &c->watch;
	const char *stls = w->imap ? "STARTTLS" : "STLS";

	if (p->tls == RC_TLS_STARTTLS) {
		if (rc == CURLE_USE_SSL_FAILED && w->preauth)
			return set_cause(cause,
			    "%s: the server greeted with PREAUTH (logged in "
			    "without a password), so STARTTLS is impossible; "
			    "refused to go on without TLS. Use tls on (implicit "
			    "TLS) for this server",
			    c->peer);
		if (rc == CURLE_USE_SSL_FAILED && w->sent && w->answered &&
		    !w->accepted)
			return set_cause(cause,
			    "%s: the server refused %s (\"%s\"); nothing was "
			    "sent in plaintext. Use tls on (implicit TLS)",
			    c->peer, stls, w->refusal);
		if (rc == CURLE_USE_SSL_FAILED && !w->offered)
			return set_cause(cause,
			    "%s: the server does not offer %s (or someone on "
			    "the way removed it); nothing was sent in "
			    "plaintext. Use tls on (implicit TLS)",
			    c->peer, stls);
		if (w->accepted && rc == CURLE_WEIRD_SERVER_REPLY)
			return set_cause(cause,
			    "%s: the server sent more data right after its "
			    "%s reply, before TLS began (response injection); "
			    "connection dropped, nothing was sent in plaintext",
			    c->peer, stls);
	}
	if (rc == CURLE_LOGIN_DENIED && p->bearer != NULL && w->caps_seen &&
	    !w->oauthbearer && !w->xoauth2)
		return set_cause(cause,
		    "account %s: %s offers neither OAUTHBEARER nor XOAUTH2, "
		    "so it cannot take an OAuth 2.0 token; use auth password "
		    "for this server",
		    p->account ? p->account : "", c->peer);
	if (rc == CURLE_LOGIN_DENIED && p->bearer != NULL) {
		set_cause(cause,
		    "account %s: %s refused the OAuth 2.0 token of %s "
		    "(%s)",
		    p->account ? p->account : "", c->peer,
		    p->user ? p->user : "",
		    w->oauthbearer ? "OAUTHBEARER" : "XOAUTH2");
		return NET_ERR_AUTH;
	}
	switch (rc) {
	case CURLE_LOGIN_DENIED:
		set_cause(cause,
		    "%s: login failed for %s: check the user and password",
		    c->peer, p->user ? p->user : "");
		return NET_ERR_AUTH;
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(detail, "subject name") != NULL ||
		    strstr(detail, "host name") != NULL)
			return set_cause(cause,
			    "%s: the server's certificate is for another host "
			    "name, not %s (%s); connect by a name the "
			    "certificate lists",
			    c->peer, p->host, detail);
		return set_cause(cause,
		    "%s: the server's certificate is not trusted (%s); if the "
		    "server uses its own CA, add it with 'cafile' in the rc",
		    c->peer, detail);
	case CURLE_USE_SSL_FAILED:
		return set_cause(cause,
		    "%s: the server did not agree to STARTTLS; nothing was sent "
		    "in plaintext (use tls on for implicit TLS)",
		    c->peer);
	case CURLE_SSL_CONNECT_ERROR:
		return set_cause(
		    cause, "%s: TLS handshake failed: %s", c->peer, detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return set_cause(
		    cause, "%s: cannot resolve the host name", c->peer);
	case CURLE_COULDNT_CONNECT:
		return set_cause(
		    cause, "%s: cannot connect: %s", c->peer, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return set_cause(cause, "%s: connection timed out", c->peer);
	case CURLE_SSL_CACERT_BADFILE:
		return net_ca_cause(c->easy, p->cafile, detail, cause);
	default:
		return set_cause(cause, "%s: %s", c->peer, detail);
	}
}

/* A warning for the user: to the caller's note callback, else stderr. */
static void net_note(const struct net_params *p, const char *fmt, ...)
    TERN_PRINTF(2, 3);

static void
net_note(const struct net_params *p, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	if (p->note != NULL)
		p->note(p->note_arg, s);
	else
		tern_warnx("%s", s);
	free(s);
}

int
net_connect(const struct net_params *p, struct net_conn **cp, char **cause)
{
	struct net_conn *c = xcalloc(1, sizeof *c);
	const char *scheme_tls = p->tls == RC_TLS_ON ? "s" : "";
	CURLcode result = CURLE_OK;
	CURLMsg *msg;
	curl_socket_t fd;
	char *url;
	int running = 1, left, ret = -1;

	c->fd = CURL_SOCKET_BAD;
	c->io_timeout_ms = p->io_timeout_ms ? p->io_timeout_ms : 120000;
	if (strchr(p->host, ':') != NULL)
		c->peer = xasprintf("[%s]:%u", p->host, p->port);
	else
		c->peer = xasprintf("%s:%u", p->host, p->port);
	url = xasprintf("%s%s://%s/", p->scheme, scheme_tls, c->peer);
	if (p->tls == RC_TLS_OFF && !p->quiet && !is_loopback(p->host))
		net_note(p,
		    "warning: %s: tls is off, the password and mail travel in "
		    "plaintext",
		    c->peer);
	/* Never silent, not even with quiet: this is a choice to be reminded
	 * of at every connection. */
	if (p->tls != RC_TLS_OFF && !p->verify)
		net_note(p,
		    "WARNING: %s: tls_verify is off: the server's certificate "
		    "is NOT checked, anyone on the way can read the password "
		    "and the mail",
		    c->peer);
	c->watch.imap = strcmp(p->scheme, "imap") == 0;
	c->watch.verbose = getenv("TERN_CURL_VERBOSE") != NULL;

	c->multi = curl_multi_init();
	c->easy = curl_easy_init();
	if (c->multi == NULL || c->easy == NULL) {
		set_cause(cause, "cannot initialise libcurl");
		goto fail;
	}
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	net_keepalive(c->easy);
	curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    p->connect_timeout_ms ? p->connect_timeout_ms : 30000L);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS,
	    p->connect_timeout_ms ? p->connect_timeout_ms * 2 : 60000L);
	curl_easy_setopt(c->easy, CURLOPT_USERNAME, p->user ? p->user : "");
	if (p->bearer != NULL) {
		/* libcurl prefers OAUTHBEARER when both are offered, and
		 * with only these two allowed never falls back to a
		 * password login. */
		curl_easy_setopt(c->easy, CURLOPT_XOAUTH2_BEARER, p->bearer);
		curl_easy_setopt(c->easy, CURLOPT_LOGIN_OPTIONS,
		    "AUTH=OAUTHBEARER;AUTH=XOAUTH2");
	} else
		curl_easy_setopt(
		    c->easy, CURLOPT_PASSWORD, p->password ? p->password : "");
	curl_easy_setopt(
	    c->easy, CURLOPT_PROTOCOLS_STR, "imap,imaps,pop3,pop3s");
	if (p->tls == RC_TLS_STARTTLS)
		curl_easy_setopt(
		    c->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYPEER, p->verify ? 1L : 0L);
	curl_easy_setopt(c->easy, CURLOPT_SSL_VERIFYHOST, p->verify ? 2L : 0L);
	if (p->cafile != NULL)
		curl_easy_setopt(c->easy, CURLOPT_CAINFO, p->cafile);
	/* The debug callback is only called in verbose mode; it prints only
	 * when TERN_CURL_VERBOSE is set. */
	curl_easy_setopt(c->easy, CURLOPT_DEBUGFUNCTION, debug_cb);
	curl_easy_setopt(c->easy, CURLOPT_DEBUGDATA, &c->watch);
	curl_easy_setopt(c->easy, CURLOPT_VERBOSE, 1L);
	curl_multi_add_handle(c->multi, c->easy);

	while (running) {
		CURLMcode mc = curl_multi_perform(c->multi, &running);

		if (mc != CURLM_OK) {
			set_cause(
			    cause, "%s: %s", c->peer, curl_multi_strerror(mc));
			goto fail;
		}
		if (running &&
		    curl_multi_poll(c->multi, NULL, 0, 1000, NULL) !=
		        CURLM_OK) {
			set_cause(cause, "%s: poll failed", c->peer);
			goto fail;
		}
	}
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			result = msg->data.result;
	}
	if (result != CURLE_OK) {
		ret = connect_cause(c, p, result, cause);
		goto fail;
	}
	if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) !=
	        CURLE_OK ||
	    fd == CURL_SOCKET_BAD) {
		set_cause(cause, "%s: no connection after login", c->peer);
		goto fail;
	}
	c->fd = fd;
	/* The watch is done: spare the connection the per-record trace. */
	if (!c->watch.verbose) {
		curl_easy_setopt(c->easy, CURLOPT_VERBOSE, 0L);
		curl_easy_setopt(c->easy, CURLOPT_DEBUGFUNCTION, NULL);
	}
	free(url);
	*cp = c;
	return 0;
fail:
	free(url);
	net_close(&c);
	return ret;
}

void
net_close(struct net_conn **cp)
{
	struct net_conn *c = *cp;

	if (c == NULL)
		return;
	if (c->multi != NULL && c->easy != NULL)
		curl_multi_remove_handle(c->multi, c->easy);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	free(c->peer);
	free(c);
	*cp = NULL;
}

/* Wait for fd to be ready; 1 ready, 0 timeout, 2 wakefd, -1 error. */
static int
wait_fd(int fd, short events, int timeout_ms, int wakefd)
{
	struct pollfd pfd[2];
	int n;

	pfd[0].fd = fd;
	pfd[0].events = events;
	pfd[1].fd = wakefd;
	pfd[1].events = POLLIN;
	for (;;) {
		n = poll(pfd, wakefd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (wakefd >= 0 && (pfd[1].revents & POLLIN))
		return 2;
	return 1;
}

int
net_send(struct net_conn *c, const void *buf, size_t len, char **cause)
{
	const char *p = buf;

	while (len > 0) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(c->easy, p, len, &n);

		if (rc == CURLE_AGAIN) {
			int w =
			    wait_fd(c->fd, POLLOUT, (int)c->io_timeout_ms, -1);

			if (w == 0)
				return set_cause(
				    cause, "%s: timed out sending", c->peer);
			if (w < 0)
				return set_cause(cause, "%s: poll: %s", c->peer,
				    strerror(errno));
			continue;
		}
		if (rc != CURLE_OK)
			return set_cause(cause, "%s: sending failed: %s",
			    c->peer, curl_easy_strerror(rc));
		p += n;
		len -= n;
	}
	return 0;
}

ssize_t
net_read_wait(struct net_conn *c, void *buf, size_t len, int timeout_ms,
    int wakefd, char **cause)
{
	uint64_t deadline =
	    timeout_ms >= 0 ? now_ms() + (uint64_t)timeout_ms : 0;

	for (;;) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(c->easy, buf, len, &n);
		int w, left = -1;

		if (rc == CURLE_OK) {
			if (n == 0)
				return set_cause(cause,
				    "%s: connection closed by the server",
				    c->peer);
			return (ssize_t)n;
		}
		if (rc != CURLE_AGAIN)
			return set_cause(cause, "%s: receiving failed: %s",
			    c->peer, curl_easy_strerror(rc));
		if (timeout_ms >= 0) {
			uint64_t now = now_ms();

			if (now >= deadline)
				return 0;
			left = (int)(deadline - now);
		}
		w = wait_fd(c->fd, POLLIN, left, wakefd);
		if (w < 0)
			return set_cause(
			    cause, "%s: poll: %s", c->peer, strerror(errno));
		if (w == 0 || w == 2)
			return 0;
	}
}

ssize_t
net_read(struct net_conn *c, void *buf, size_t len, char **cause)
{
	ssize_t n =
	    net_read_wait(c, buf, len, (int)c->io_timeout_ms, -1, cause);

	if (n == 0)
		return set_cause(cause,
		    "%s: the server sent nothing for %ld seconds; gave up",
		    c->peer, c->io_timeout_ms / 1000);
	return n;
}

int
net_fd(struct net_conn *c)
{
	return (int)c->fd;
}

const char *
net_peer(struct net_conn *c)
{
	return c->peer;
}
