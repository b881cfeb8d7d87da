/*
 * The IMAP connection engine: commands are tagged, pipelined with at most
 * IMAP_MAX_INFLIGHT waiting, and matched to their completions by tag.
 * Untagged responses go to the handler the caller installed (and
 * CAPABILITY is tracked here). Reading feeds whatever the socket returned
 * to the push parser, so a response may arrive in any number of pieces.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "imap-private.h"
#include "tern/oauth.h"
#include "tern/util.h"

#define IMAP_RBUF 65536

static const struct {
	const char *name;
	unsigned bit;
} caps[] = {
	{ "CONDSTORE", IMAP_CAP_CONDSTORE },
	{ "QRESYNC", IMAP_CAP_QRESYNC },
	{ "UIDPLUS", IMAP_CAP_UIDPLUS },
	{ "MOVE", IMAP_CAP_MOVE },
	{ "LIST-STATUS", IMAP_CAP_LIST_STATUS },
	{ "SPECIAL-USE", IMAP_CAP_SPECIAL_USE },
	{ "ESEARCH", IMAP_CAP_ESEARCH },
	{ "LITERAL+", IMAP_CAP_LITERALPLUS },
	{ "IDLE", IMAP_CAP_IDLE },
	{ "QUOTA", IMAP_CAP_QUOTA },
	{ "ENABLE", IMAP_CAP_ENABLE },
	{ "IMAP4rev2", IMAP_CAP_IMAP4REV2 },
	{ "NAMESPACE", IMAP_CAP_NAMESPACE },
	{ "NOTIFY", IMAP_CAP_NOTIFY },
};

/* Capability atoms from item first to last. */
static void
set_caps(
    struct imap_conn *c, const struct imap_resp *r, size_t first, size_t last)
{
	size_t i, k;

	c->caps = 0;
	for (i = first; i < last; i = imap_next(r, i)) {
		for (k = 0; k < TERN_NELEM(caps); k++) {
			if (imap_is(r, i, caps[k].name))
				c->caps |= caps[k].bit;
		}
	}
}

static char *
code_string(const struct imap_resp *r, size_t code)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = code + 1; i < imap_next(r, code); i++) {
		if (r->items[i].type == IMAP_LIST)
			continue;
		if (b.len)
			(void)buf_addc(&b, ' ');
		(void)buf_add(&b, imap_str(r, i), r->items[i].len);
	}
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b, NULL);
}

/*
 * "* NAMESPACE (("INBOX." ".")) NIL NIL": the first personal namespace's
 * prefix and delimiter.
 */
static void
on_namespace(struct imap_conn *c, const struct imap_resp *r)
{
	const char *prefix, *delim;

	if (r->nitems < 6 || r->items[2].type != IMAP_LIST ||
	    r->items[3].type != IMAP_LIST)
		return;
	if ((prefix = imap_astr(r, 4, NULL)) == NULL ||
	    strpbrk(prefix, "\r\n\"\\*%") != NULL)
		return;
	if ((delim = imap_astr(r, 5, NULL)) != NULL && strlen(delim) == 1 &&
	    c->delim == 0)
		c->delim = delim[0];
	free(c->prefix);
	c->prefix = xstrdup(prefix);
}

static int
dispatch(struct imap_conn *c, const struct imap_resp *r, char **cause)
{
	struct imap_cmd **pp, *cmd;
	uint64_t tag;
	size_t i;

	if (r->kind == IMAP_CONTINUATION) {
		c->continuation = 1;
		return 0;
	}
	if (r->kind == IMAP_UNTAGGED) {
		if (imap_is(r, 1, "CAPABILITY"))
			set_caps(c, r, 2, r->nitems);
		else if (r->nitems > 2 && r->items[2].type == IMAP_CODE &&
		    imap_is(r, 3, "CAPABILITY"))
			set_caps(c, r, 4, imap_next(r, 2));
		else if (imap_is(r, 1, "BYE"))
			c->bye = 1;
		else if (imap_is(r, 1, "NAMESPACE"))
			on_namespace(c, r);
		else if (imap_is(r, 1, "ENABLED")) {
			for (i = 2; i < r->nitems; i++) {
				if (imap_is(r, i, "QRESYNC"))
					c->enabled_qresync = 1;
				if (imap_is(r, i, "CONDSTORE"))
					c->enabled_condstore = 1;
			}
		}
		if (c->untagged != NULL)
			return c->untagged(c->arg, r, cause);
		return 0;
	}
	/* Tagged: "t<number>" is ours. */
	if (imap_str(r, 0)[0] != 't' ||
	    parse_uint64(
	        imap_str(r, 0) + 1, r->items[0].len - 1, UINT32_MAX, &tag) != 0)
		return set_cause(cause, "%s: protocol error: unknown tag %s",
		    c->peer, imap_str(r, 0));
	for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->tag == tag)
			break;
	}
	if ((cmd = *pp) == NULL)
		return set_cause(cause, "%s: protocol error: unknown tag %s",
		    c->peer, imap_str(r, 0));
	*pp = cmd->next;
	cmd->next = NULL;
	c->ninflight--;
	if (imap_is(r, 1, "OK"))
		cmd->status = IMAP_OK;
	else if (imap_is(r, 1, "NO"))
		cmd->status = IMAP_NO;
	else
		cmd->status = IMAP_BAD;
	if (cmd->status != IMAP_OK)
		c->refused = 1;
	for (i = 2; i < r->nitems; i = imap_next(r, i)) {
		if (r->items[i].type == IMAP_CODE) {
			free(cmd->code);
			cmd->code = code_string(r, i);
			if (imap_is(r, i + 1, "CAPABILITY"))
				set_caps(c, r, i + 2, imap_next(r, i));
		} else if (r->items[i].type == IMAP_TEXT) {
			free(cmd->text);
			cmd->text = text_visible_dup(imap_str(r, i));
		}
	}
	if (cmd->text == NULL)
		cmd->text = xstrdup("");
	return 0;
}

/* Read once from the network (waiting up to timeout) and parse. */
static int
read_some(struct imap_conn *c, int timeout_ms, int wakefd, char **cause)
{
	ssize_t n;

	if (c->roff < c->rlen)
		goto parse;
	if (timeout_ms == -2)
		n = net_read(c->net, c->rbuf, IMAP_RBUF, cause);
	else
		n = net_read_wait(
		    c->net, c->rbuf, IMAP_RBUF, timeout_ms, wakefd, cause);
	if (n < 0) {
		c->err = DRV_CONN;
		return -1;
	}
	if (n == 0)
		return 0;
	c->rlen = (size_t)n;
	c->roff = 0;
parse:
	while (c->roff < c->rlen) {
		size_t used;
		int rc = imap_parser_feed(c->parser, c->rbuf + c->roff,
		    c->rlen - c->roff, &used, cause);

		if (rc < 0) {
			char *was = cause ? *cause : NULL;

			if (cause != NULL)
				*cause = xasprintf("%s: %s", c->peer,
				    was ? was : "protocol error");
			free(was);
			c->err = DRV_PROTO;
			return -1;
		}
		c->roff += used;
		if (rc == 1) {
			const struct imap_resp *r =
			    imap_parser_response(c->parser);

			rc = dispatch(c, r, cause);
			imap_parser_next(c->parser);
			if (rc != 0) {
				/* Mid-response: nothing more can be read. */
				c->err = DRV_PROTO;
				return -1;
			}
		}
	}
	return 1;
}

int
imap_poll(struct imap_conn *c, int timeout_ms, int wakefd, char **cause)
{
	return read_some(c, timeout_ms, wakefd, cause);
}

int
imap_wait(struct imap_conn *c, struct imap_cmd *cmd, char **cause)
{
	while (cmd->status == IMAP_PENDING) {
		if (c->bye && c->roff >= c->rlen) {
			c->err = DRV_CONN;
			return set_cause(cause,
			    "%s: the server closed the connection", c->peer);
		}
		if (read_some(c, -2, -1, cause) < 0)
			return -1;
	}
	return 0;
}

int
imap_wait_all(struct imap_conn *c, char **cause)
{
	while (c->inflight != NULL) {
		if (read_some(c, -2, -1, cause) < 0)
			return -1;
	}
	return 0;
}

int
imap_send_raw(struct imap_conn *c, const char *s, char **cause)
{
	if (net_send(c->net, s, strlen(s), cause) != 0) {
		c->err = DRV_CONN;
		return -1;
	}
	return 0;
}

enum drv_err
imap_err(const struct imap_conn *c)
{
	if (c == NULL)
		return DRV_CONN;
	if (c->err != DRV_OK)
		return c->err;
	return c->refused ? DRV_REFUSED : DRV_STORE;
}

static struct imap_cmd *
vsend(struct imap_conn *c, imap_untagged_cb on_fetch, void *arg, char **cause,
    const char *fmt, va_list ap)
{
	struct imap_cmd *cmd, **pp;
	char *body, *line;
	int rc;

	while (c->ninflight >= IMAP_MAX_INFLIGHT) {
		if (read_some(c, -2, -1, cause) < 0)
			return NULL;
	}
	body = xvasprintf(fmt, ap);
	cmd = xcalloc(1, sizeof *cmd);
	cmd->tag = ++c->next_tag;
	cmd->on_fetch = on_fetch;
	cmd->fetch_arg = arg;
	c->refused = 0;
	line = xasprintf("t%u %s\r\n", cmd->tag, body);
	rc = net_send(c->net, line, strlen(line), cause);
	free(line);
	free(body);
	if (rc != 0) {
		c->err = DRV_CONN;
		free(cmd);
		return NULL;
	}
	for (pp = &c->inflight; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = cmd;
	c->ninflight++;
	return cmd;
}

struct imap_cmd *
imap_send(struct imap_conn *c, char **cause, const char *fmt, ...)
{
	struct imap_cmd *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = vsend(c, NULL, NULL, cause, fmt, ap);
	va_end(ap);
	return cmd;
}

struct imap_cmd *
imap_send_fetch(struct imap_conn *c, imap_untagged_cb on_fetch, void *arg,
    char **cause, const char *fmt, ...)
{
	struct imap_cmd *cmd;
	va_list ap;

	va_start(ap, fmt);
	cmd = vsend(c, on_fetch, arg, cause, fmt, ap);
	va_end(ap);
	return cmd;
}

const struct imap_cmd *
imap_fetch_owner(const struct imap_conn *c)
{
	const struct imap_cmd *cmd;

	for (cmd = c->inflight; cmd != NULL; cmd = cmd->next) {
		if (cmd->on_fetch != NULL)
			return cmd;
	}
	return NULL;
}

void
imap_cmd_free(struct imap_cmd **cmdp)
{
	struct imap_cmd *cmd = *cmdp;

	if (cmd == NULL)
		return;
	/* Still in flight (an error path): the connection is dropped, and
	 * imap_close() frees it. */
	if (cmd->status == IMAP_PENDING) {
		*cmdp = NULL;
		return;
	}
	free(cmd->text);
	free(cmd->code);
	free(cmd);
	*cmdp = NULL;
}

static int
vsimple(struct imap_conn *c, imap_untagged_cb on_fetch, void *arg, char **cause,
    const char *fmt, va_list ap)
{
	struct imap_cmd *cmd;
	char *body;
	int ret = -1;

	body = xvasprintf(fmt, ap);
	cmd = imap_send_fetch(c, on_fetch, arg, cause, "%s", body);
	if (cmd == NULL || imap_wait(c, cmd, cause) != 0)
		goto out;
	if (cmd->status != IMAP_OK) {
		char *sp = strchr(body, ' ');
		size_t n = sp ? (size_t)(sp - body) : strlen(body);

		set_cause(cause, "%s: %.*s failed: %s", c->peer, (int)n, body,
		    cmd->text);
		goto out;
	}
	ret = 0;
out:
	imap_cmd_free(&cmd);
	free(body);
	return ret;
}

int
imap_simple(struct imap_conn *c, char **cause, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vsimple(c, NULL, NULL, cause, fmt, ap);
	va_end(ap);
	return ret;
}

int
imap_simple_fetch(struct imap_conn *c, imap_untagged_cb on_fetch, void *arg,
    char **cause, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vsimple(c, on_fetch, arg, cause, fmt, ap);
	va_end(ap);
	return ret;
}

int
imap_open(struct rc_account *a, void (*note)(void *, const char *),
    void *note_arg, struct imap_conn **cp, char **cause)
{
	struct imap_conn *c = xcalloc(1, sizeof *c);
	struct net_params np;
	struct imap_limits lim;
	const char *en;
	int ret = -1;

	*cp = NULL;
	memset(&np, 0, sizeof np);
	np.scheme = "imap";
	np.host = a->host;
	np.port = rc_account_port(a);
	np.tls = a->tls;
	np.verify = a->tls_verify;
	np.cafile = a->cafile;
	np.user = a->user;
	np.note = note;
	np.note_arg = note_arg;
	/* The password, or an OAuth token refreshed once when refused. */
	if ((ret = oauth_net_connect(a, &np, &c->net, cause)) != 0)
		goto fail;
	ret = -1;
	c->peer = xstrdup(net_peer(c->net));
	memset(&lim, 0, sizeof lim);
	if (a->max_message_size != 0 && a->max_message_size < SIZE_MAX / 4)
		c->max_body = (size_t)a->max_message_size;
	else
		c->max_body = 256 * 1024 * 1024;
	lim.max_literal = IMAP_MAX_LITERAL;
	c->parser = imap_parser_new(&lim);
	c->rbuf = xmalloc(IMAP_RBUF);
	/* libcurl consumed the capabilities it saw before login. */
	if (imap_simple(c, cause, "CAPABILITY") != 0)
		goto fail;
	en = (c->caps & IMAP_CAP_QRESYNC)    ? "QRESYNC"
	    : (c->caps & IMAP_CAP_CONDSTORE) ? "CONDSTORE"
	                                     : NULL;
	if (en != NULL && (c->caps & IMAP_CAP_ENABLE)) {
		if (imap_simple(c, cause, "ENABLE %s", en) != 0)
			goto fail;
	}
	if (en != NULL && !(c->caps & IMAP_CAP_ENABLE) &&
	    strcmp(en, "CONDSTORE") == 0)
		c->enabled_condstore = 1; /* used implicitly by MODSEQ */
	if (c->enabled_qresync)
		c->enabled_condstore = 1;
	/* Where new folders go; a server that fails to say has none. */
	if ((c->caps & IMAP_CAP_NAMESPACE) &&
	    imap_simple(c, NULL, "NAMESPACE") != 0 && c->err != DRV_OK)
		goto fail;
	*cp = c;
	return 0;
fail:
	imap_close(&c);
	return ret;
}

void
imap_allow_bodies(struct imap_conn *c, int on)
{
	imap_parser_set_max_literal(
	    c->parser, on ? c->max_body : IMAP_MAX_LITERAL);
}

void
imap_close(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;
	struct imap_cmd *cmd, *next;

	if (c == NULL)
		return;
	for (cmd = c->inflight; cmd != NULL; cmd = next) {
		next = cmd->next;
		free(cmd->text);
		free(cmd->code);
		free(cmd);
	}
	net_close(&c->net);
	imap_parser_free(&c->parser);
	free(c->rbuf);
	free(c->peer);
	free(c->prefix);
	free(c);
	*cp = NULL;
}

void
imap_logout(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (c == NULL)
		return;
	if (!c->bye && c->inflight == NULL) {
		c->untagged = NULL;
		(void)imap_simple(c, NULL, "LOGOUT");
	}
	imap_close(cp);
}

int
imap_quiet(struct imap_conn *c)
{
	struct pollfd pfd;

	if (c->bye || c->inflight != NULL || c->roff < c->rlen)
		return 0;
	pfd.fd = net_fd(c->net);
	pfd.events = POLLIN;
	return pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

char *
imap_quote(const char *s)
{
	const char *p;
	struct buf b;

	buf_init(&b, 0);
	(void)buf_addc(&b, '"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			(void)buf_addc(&b, '\\');
		(void)buf_addc(&b, *p);
	}
	(void)buf_addc(&b, '"');
	return buf_steal(&b, NULL);
}
