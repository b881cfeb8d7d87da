/*
 * Drafts: new messages, replies and forwards made from an original, the
 * plain text the editor shows, and running the editor.
 *
 * The draft a user edits is UTF-8 header lines (From, To, Cc, Bcc,
 * Subject, one Attach line per file), a blank line and the body; tern
 * encodes everything when it builds the message. What comes from the
 * original (names, subject, quoted text) has its control characters made
 * visible before it reaches the editor.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compose-private.h"
#include "tern/mime.h"

#define QUOTE_MAX (1024u * 1024) /* text quoted from an original */
#define REFS_MAX 20
#define SIGNATURE_MAX (64u * 1024)

void
compose_init(struct compose *c)
{
	memset(c, 0, sizeof *c);
}

void
compose_clear(struct compose *c)
{
	size_t i;

	free(c->from);
	free(c->to);
	free(c->cc);
	free(c->bcc);
	free(c->subject);
	free(c->in_reply_to);
	free(c->references);
	free(c->body);
	for (i = 0; i < c->nattach; i++)
		free(c->attach[i]);
	free(c->attach);
	for (i = 0; i < c->nextra; i++)
		free(c->extra[i]);
	free(c->extra);
	free(c->fwd_raw);
	for (i = 0; i < c->nfwd_more; i++)
		free(c->fwd_more[i]);
	free(c->fwd_more);
	free(c->fwd_more_len);
	memset(c, 0, sizeof *c);
}

void
compose_attach_add(struct compose *c, const char *path)
{
	c->attach = xreallocarray(c->attach, c->nattach + 1, sizeof *c->attach);
	c->attach[c->nattach++] = xstrdup(path);
}

int
compose_attach_remove(struct compose *c, size_t i)
{
	if (i >= c->nattach)
		return -1;
	free(c->attach[i]);
	memmove(&c->attach[i], &c->attach[i + 1],
	    (c->nattach - i - 1) * sizeof *c->attach);
	c->nattach--;
	return 0;
}

void
compose_new(struct compose *c, const char *from)
{
	compose_clear(c);
	c->from = from != NULL ? xstrdup(from) : NULL;
	c->body = xstrdup("");
}

/*
 * The original's text as the pager shows it (text preferred over HTML,
 * charsets converted, control characters visible), without the header
 * lines mime_render puts first.
 */
static char *
original_text(const char *raw, size_t len)
{
	struct mime_render_opts o;
	struct mime_msg *m = mime_parse(raw, len);
	struct buf t;
	const char *body;
	char *cause = NULL, *text;

	memset(&o, 0, sizeof o);
	buf_init(&t, QUOTE_MAX);
	/* Past the maximum the text is cut short, which is fine for a quote. */
	if (mime_render(m, &o, &t, &cause) != 0)
		free(cause);
	mime_free(&m);
	body = t.data != NULL ? strstr(t.data, "\n\n") : NULL;
	text = xstrdup(body != NULL ? body + 2 : "");
	buf_free(&t);
	return text;
}

/* A header of the original, decoded; NULL if it has none. */
static char *
orig_header(const char *raw, size_t len, const char *name)
{
	char *v = compose_header_get(raw, len, name), *d;

	if (v == NULL)
		return NULL;
	d = compose_header_decode(v);
	free(v);
	return d;
}

/* Subject without leading prefixes such as "Re:" (or "Fwd:", "Fw:"). */
static const char *
strip_prefixes(const char *s, int forward)
{
	static const char *const re[] = { "re:", "aw:", NULL };
	static const char *const fw[] = { "fwd:", "fw:", NULL };
	const char *const *pre = forward ? fw : re;
	size_t i, n;
	int again = 1;

	while (again) {
		again = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		for (i = 0; pre[i] != NULL; i++) {
			n = strlen(pre[i]);
			if (ascii_strncasecmp(s, pre[i], n) == 0) {
				s += n;
				again = 1;
			}
		}
		/* "Re[2]:" */
		if (!forward && ascii_strncasecmp(s, "re[", 3) == 0) {
			const char *e = s + 3;

			while (*e >= '0' && *e <= '9')
				e++;
			if (e[0] == ']' && e[1] == ':') {
				s = e + 2;
				again = 1;
			}
		}
	}
	return s;
}

/* The first "<...>" of a field, if it is a plausible message id. */
static char *
msgid_token(const char *v)
{
	const char *lt, *gt, *p;

	if (v == NULL || (lt = strchr(v, '<')) == NULL ||
	    (gt = strchr(lt, '>')) == NULL || gt - lt > 250)
		return NULL;
	for (p = lt + 1; p < gt; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '<')
			return NULL;
	}
	return xstrndup(lt, (size_t)(gt - lt + 1));
}

struct addr_acc {
	struct buf list;
	char **seen;
	size_t nseen;
};

/* Add the addresses of a raw list, skipping ones already seen. */
static void
acc_add(struct addr_acc *a, const char *rawlist)
{
	struct compose_addr *v;
	size_t n, i, k;

	compose_addr_parse(rawlist, &v, &n);
	for (i = 0; i < n; i++) {
		char *name = NULL, *f, *spec;

		for (k = 0; k < a->nseen; k++) {
			if (ascii_strcasecmp(a->seen[k], v[i].spec) == 0)
				break;
		}
		if (k < a->nseen)
			continue;
		a->seen = xreallocarray(a->seen, a->nseen + 1, sizeof *a->seen);
		a->seen[a->nseen++] = xstrdup(v[i].spec);
		if (v[i].name != NULL)
			name = compose_header_decode(v[i].name);
		spec = text_visible_dup(v[i].spec);
		f = compose_addr_format(name, spec);
		if (a->list.len > 0)
			buf_adds(&a->list, ", ");
		buf_adds(&a->list, f);
		free(f);
		free(spec);
		free(name);
	}
	compose_addr_free(v, n);
}

static void
acc_init(struct addr_acc *a, const char *ours)
{
	memset(a, 0, sizeof *a);
	buf_init(&a->list, COMPOSE_HEADER_MAX);
	/* Our own address counts as seen: a reply never goes to us. */
	if (ours != NULL) {
		a->seen = xcalloc(1, sizeof *a->seen);
		a->seen[a->nseen++] = xstrdup(ours);
	}
}

static char *
acc_done(struct addr_acc *a)
{
	size_t i;

	for (i = 0; i < a->nseen; i++)
		free(a->seen[i]);
	free(a->seen);
	if (a->list.len == 0) {
		buf_free(&a->list);
		return NULL;
	}
	return buf_steal(&a->list, NULL);
}

/* "Name" of an address, decoded; or its addr-spec. */
static char *
display_name(const char *rawfrom)
{
	struct compose_addr *v;
	size_t n;
	char *s;

	compose_addr_parse(rawfrom, &v, &n);
	if (n == 0)
		s = xstrdup("someone");
	else if (v[0].name != NULL)
		s = compose_header_decode(v[0].name);
	else
		s = text_visible_dup(v[0].spec);
	compose_addr_free(v, n);
	return s;
}

/*
 * The To of a reply, and with all its Cc: the original's Reply-To or
 * From, and with all its To and Cc; never ours, no address twice.
 */
static void
reply_recipients(struct compose *c, const char *raw, size_t len,
    const char *ofrom, const char *ours, int all)
{
	char *oreplyto = compose_header_get(raw, len, "Reply-To");
	char *oto = compose_header_get(raw, len, "To");
	char *occ = compose_header_get(raw, len, "Cc");
	char *fromspec = ofrom != NULL ? compose_addr_spec(ofrom) : NULL;
	struct addr_acc to, cc;

	/* Our own message: the reply goes to where it went. */
	acc_init(&to, ours);
	if (ours != NULL && fromspec != NULL &&
	    ascii_strcasecmp(ours, fromspec) == 0)
		acc_add(&to, oto);
	else
		acc_add(&to, oreplyto != NULL ? oreplyto : ofrom);
	if (all) {
		acc_add(&to, oto);
		/* Cc continues where To stopped: no address twice. */
		cc = to;
		cc.list.data = NULL;
		buf_init(&cc.list, COMPOSE_HEADER_MAX);
		acc_add(&cc, occ);
		to.seen = NULL;
		to.nseen = 0;
		c->cc = acc_done(&cc);
	}
	c->to = acc_done(&to);
	free(oreplyto);
	free(oto);
	free(occ);
	free(fromspec);
}

/*
 * Add to b the message ids of refs that a reply keeps: the first (the
 * thread's root) and the most recent.
 */
static void
thread_ids(struct buf *b, const char *refs)
{
	const char *p;
	char **ids = NULL;
	size_t nids = 0, i;

	for (p = refs; (p = strchr(p, '<')) != NULL; p++) {
		char *id = msgid_token(p);

		if (id == NULL)
			continue;
		ids = xreallocarray(ids, nids + 1, sizeof *ids);
		ids[nids++] = id;
		if (nids > 1000)
			break;
	}
	for (i = 0; i < nids; i++) {
		if (i == 0 || i + REFS_MAX > nids) {
			if (b->len > 0)
				buf_addc(b, ' ');
			buf_adds(b, ids[i]);
		}
		free(ids[i]);
	}
	free(ids);
}

/*
 * In-Reply-To and References of a reply: the original's References (or
 * its In-Reply-To), then its id.
 */
static void
reply_references(struct compose *c, const char *raw, size_t len)
{
	char *omsgid = compose_header_get(raw, len, "Message-ID");
	char *msgid = msgid_token(omsgid);
	char *refs = compose_header_get(raw, len, "References");
	struct buf b;

	if (refs == NULL) {
		char *irt = compose_header_get(raw, len, "In-Reply-To");

		refs = msgid_token(irt);
		free(irt);
	}
	buf_init(&b, 0);
	if (refs != NULL)
		thread_ids(&b, refs);
	if (msgid != NULL) {
		if (b.len > 0)
			buf_addc(&b, ' ');
		buf_adds(&b, msgid);
		c->in_reply_to = xstrdup(msgid);
	}
	c->references = b.len > 0 ? buf_steal(&b, NULL) : NULL;
	buf_free(&b);
	free(msgid);
	free(omsgid);
	free(refs);
}

/* The body of a reply: the attribution line and the quoted text. */
static void
reply_quote(struct compose *c, const char *raw, size_t len, const char *ofrom)
{
	char *date = orig_header(raw, len, "Date");
	char *who = display_name(ofrom);
	char *text = original_text(raw, len);
	char *line;
	struct buf b;

	buf_init(&b, 0);
	if (date != NULL)
		buf_printf(&b, "\nOn %s, %s wrote:\n", date, who);
	else
		buf_printf(&b, "\n%s wrote:\n", who);
	for (line = text; *line != '\0';) {
		size_t n = strcspn(line, "\n");

		/* The original's signature is not quoted (RFC 3676 4.3). */
		if (n == 3 && strncmp(line, "-- ", 3) == 0)
			break;
		buf_adds(&b, line[0] == '>' || n == 0 ? ">" : "> ");
		buf_add(&b, line, n);
		buf_addc(&b, '\n');
		line += n;
		if (*line == '\n')
			line++;
	}
	free(c->body);
	c->body = buf_steal(&b, NULL);
	free(who);
	free(text);
	free(date);
}

void
compose_reply(
    struct compose *c, const char *raw, size_t len, const char *from, int all)
{
	char *ofrom = compose_header_get(raw, len, "From");
	char *subject = orig_header(raw, len, "Subject");
	char *ours = from != NULL ? compose_addr_spec(from) : NULL;

	compose_new(c, from);
	reply_recipients(c, raw, len, ofrom, ours, all);
	c->subject =
	    xasprintf("Re: %s", strip_prefixes(subject ? subject : "", 0));
	reply_references(c, raw, len);
	reply_quote(c, raw, len, ofrom);
	free(ofrom);
	free(subject);
	free(ours);
}

/* A malloc'd copy of s[0..n) with control characters made visible. */
static char *
visible_n(const char *s, size_t n, int keep_newline)
{
	struct buf b;

	buf_init(&b, 0);
	text_visible(&b, s, n, keep_newline);
	return buf_steal(&b, NULL);
}

char *
compose_list_post(const char *raw, size_t len)
{
	char *v = compose_header_get(raw, len, "List-Post"), *p, *addr = NULL;
	size_t n;

	/* "<mailto:list@host>" or "<mailto:list@host?subject=...>"; "NO"
	 * (posting not allowed) names no address. */
	if (v == NULL || (p = strstr(v, "<mailto:")) == NULL)
		goto out;
	p += 8;
	n = strcspn(p, ">?, \t");
	if (n > 0 && n < 256 && memchr(p, '@', n) != NULL)
		addr = visible_n(p, n, 0);
out:
	free(v);
	return addr;
}

int
compose_reply_list(struct compose *c, const char *raw, size_t len,
    const char *from, int (*is_list)(const char *addr, void *arg), void *arg)
{
	static const char *const fields[] = { "To", "Cc" };
	char *list = compose_list_post(raw, len);

	for (size_t k = 0; list == NULL && is_list != NULL && k < 2; k++) {
		char *v = compose_header_get(raw, len, fields[k]);
		char **addrs = v != NULL ? compose_addr_list(v) : NULL;

		for (size_t i = 0; addrs != NULL && addrs[i] != NULL; i++) {
			if (is_list(addrs[i], arg)) {
				list = text_visible_dup(addrs[i]);
				break;
			}
		}
		compose_strv_free(addrs);
		free(v);
	}
	if (list == NULL)
		return -1;
	compose_reply(c, raw, len, from, 0);
	free(c->to);
	c->to = list;
	return 0;
}

/* s with its CRLF line ends made LF, other control characters visible. */
static char *
crlf_to_lf(const char *s)
{
	char *lf = xstrdup(s), *d = lf;
	struct buf v;

	for (; *s != '\0'; s++) {
		if (s[0] != '\r' || s[1] != '\n')
			*d++ = *s;
	}
	*d = '\0';
	buf_init(&v, 0);
	text_visible(&v, lf, strlen(lf), 1);
	free(lf);
	return buf_steal(&v, NULL);
}

/*
 * The parts of a draft that are its own text: at depth 1 of a multipart,
 * the first text/plain that is no attachment, or a multipart (an
 * alternative from another client). The draft's other parts at depth 1
 * are its attachments. -1 for a draft of one part.
 */
static long
draft_text_part(const struct mime_msg *m)
{
	const struct mime_part *p;
	size_t i, n = mime_part_count(m);

	if (n < 2 || strncmp(mime_part_at(m, 0)->type, "multipart/", 10) != 0)
		return -1;
	for (i = 1; i < n; i++) {
		p = mime_part_at(m, i);
		if (p->depth != 1)
			continue;
		if (strncmp(p->type, "multipart/", 10) == 0 ||
		    (strcmp(p->type, "text/plain") == 0 && !p->attachment))
			return (long)i;
		break;
	}
	return -1;
}

/* The text of a draft with attachments: its text part alone, not the
 * lines the pager gives each attachment. NULL when it has none. */
static char *
draft_text(const char *raw, size_t len)
{
	struct mime_msg *m = mime_parse(raw, len);
	const struct mime_part *p;
	struct buf b;
	long at = draft_text_part(m);
	size_t i, n = mime_part_count(m);
	char *text = NULL;

	buf_init(&b, 0);
	for (i = at < 0 ? n : (size_t)at; i < n; i++) {
		p = mime_part_at(m, i);
		if (i > (size_t)at && p->depth <= 1)
			break;
		/* A multipart's first plain text, else the whole as shown. */
		if (strcmp(p->type, "text/plain") == 0 && !p->attachment &&
		    mime_part_text(m, i, &b, NULL) == 0) {
			text = crlf_to_lf(b.data ? b.data : "");
			break;
		}
	}
	buf_free(&b);
	mime_free(&m);
	return text;
}

int
compose_recall_attachments(struct compose *c, const char *raw, size_t len,
    const char *dir, char **cause)
{
	struct mime_msg *m = mime_parse(raw, len);
	const struct mime_part *p;
	struct buf b;
	long text = draft_text_part(m);
	size_t i, n = mime_part_count(m);
	char *path;
	int got = 0;

	buf_init(&b, 0);
	for (i = 1; text >= 0 && i < n; i++) {
		p = mime_part_at(m, i);
		if (p->depth != 1 || (long)i == text)
			continue;
		if (strcmp(p->type, "message/rfc822") == 0) {
			/* A forward as attachment goes back as it was. */
			buf_reset(&b);
			if (mime_part_decode(m, i, &b, cause) != 0)
				goto fail;
			if (c->fwd_raw == NULL) {
				c->fwd_raw = buf_steal(&b, &c->fwd_len);
				buf_init(&b, 0);
			} else
				compose_forward_add(c, b.data, b.len);
		} else if (strncmp(p->type, "multipart/", 10) == 0)
			continue; /* its parts are not the draft's own */
		else {
			if (mime_attachment_save(m, i, dir, &path, cause) != 0)
				goto fail;
			compose_attach_add(c, path);
			free(path);
		}
		got++;
	}
	buf_free(&b);
	mime_free(&m);
	return got;
fail:
	buf_free(&b);
	mime_free(&m);
	return -1;
}

void
compose_recall(struct compose *c, const char *raw, size_t len)
{
	static const char *const kept[] = { "Sign", "Encrypt" };
	char *v;

	compose_clear(c);
	c->from = orig_header(raw, len, "From");
	c->to = orig_header(raw, len, "To");
	c->cc = orig_header(raw, len, "Cc");
	c->bcc = orig_header(raw, len, "Bcc");
	c->subject = orig_header(raw, len, "Subject");
	if ((v = compose_header_get(raw, len, "In-Reply-To")) != NULL) {
		c->in_reply_to = msgid_token(v);
		free(v);
	}
	if ((v = compose_header_get(raw, len, "References")) != NULL) {
		c->references = text_visible_dup(v);
		free(v);
	}
	for (size_t i = 0; i < TERN_NELEM(kept); i++) {
		if ((v = orig_header(raw, len, kept[i])) == NULL)
			continue;
		c->extra =
		    xreallocarray(c->extra, c->nextra + 1, sizeof *c->extra);
		c->extra[c->nextra++] = xasprintf("%s: %s", kept[i], v);
		free(v);
	}
	if ((c->body = draft_text(raw, len)) == NULL)
		c->body = original_text(raw, len);
}

void
compose_signature(struct compose *c, const char *text)
{
	struct buf b;
	size_t n;

	if (text == NULL || *text == '\0')
		return;
	buf_init(&b, 0);
	buf_adds(&b, c->body != NULL ? c->body : "");
	if (b.len > 0 && b.data[b.len - 1] != '\n')
		buf_addc(&b, '\n');
	/* A user's file may carry its own separator. */
	if (strncmp(text, "-- \n", 4) != 0)
		buf_adds(&b, "\n-- \n");
	else
		buf_addc(&b, '\n');
	n = strlen(text);
	buf_add(&b, text, n);
	if (text[n - 1] != '\n')
		buf_addc(&b, '\n');
	free(c->body);
	c->body = buf_steal(&b, NULL);
}

int
compose_signature_file(struct compose *c, const char *path, char **cause)
{
	const char *home = getenv("HOME");
	char *full;
	struct buf b;
	int ret = -1;

	if (path == NULL)
		return 0;
	if (path[0] == '~' && path[1] == '/' && home != NULL)
		full = xasprintf("%s%s", home, path + 1);
	else
		full = xstrdup(path);
	buf_init(&b, SIGNATURE_MAX);
	if (read_file(full, SIGNATURE_MAX, &b, cause) == 0) {
		char *text = visible_n(b.data ? b.data : "", b.len, 1);

		compose_signature(c, text);
		free(text);
		ret = 0;
	}
	buf_free(&b);
	free(full);
	return ret;
}

void
compose_forward(struct compose *c, const char *raw, size_t len,
    const char *from, int as_attachment)
{
	static const char *const fields[] = { "From", "Date", "Subject", "To",
		"Cc" };
	char *subject = orig_header(raw, len, "Subject"), *v, *text;
	struct buf b;
	size_t i;

	compose_new(c, from);
	c->subject =
	    xasprintf("Fwd: %s", strip_prefixes(subject ? subject : "", 1));
	free(subject);
	if (as_attachment) {
		c->fwd_raw = xmalloc(len + 1);
		memcpy(c->fwd_raw, raw, len);
		c->fwd_raw[len] = '\0';
		c->fwd_len = len;
		return;
	}
	buf_init(&b, 0);
	buf_adds(&b, "\n---------- Forwarded message ----------\n");
	for (i = 0; i < TERN_NELEM(fields); i++) {
		if ((v = orig_header(raw, len, fields[i])) != NULL)
			buf_printf(&b, "%s: %s\n", fields[i], v);
		free(v);
	}
	buf_addc(&b, '\n');
	text = original_text(raw, len);
	buf_adds(&b, text);
	free(text);
	free(c->body);
	c->body = buf_steal(&b, NULL);
}

void
compose_forward_add(struct compose *c, const char *raw, size_t len)
{
	c->fwd_more =
	    xreallocarray(c->fwd_more, c->nfwd_more + 1, sizeof *c->fwd_more);
	c->fwd_more_len = xreallocarray(
	    c->fwd_more_len, c->nfwd_more + 1, sizeof *c->fwd_more_len);
	c->fwd_more[c->nfwd_more] = xmalloc(len + 1);
	memcpy(c->fwd_more[c->nfwd_more], raw, len);
	c->fwd_more[c->nfwd_more][len] = '\0';
	c->fwd_more_len[c->nfwd_more++] = len;
}

void
compose_draft_write(const struct compose *c, struct buf *out)
{
	size_t i;

	buf_printf(out, "From: %s\n", c->from ? c->from : "");
	buf_printf(out, "To: %s\n", c->to ? c->to : "");
	buf_printf(out, "Cc: %s\n", c->cc ? c->cc : "");
	buf_printf(out, "Bcc: %s\n", c->bcc ? c->bcc : "");
	buf_printf(out, "Subject: %s\n", c->subject ? c->subject : "");
	for (i = 0; i < c->nattach; i++)
		buf_printf(out, "Attach: %s\n", c->attach[i]);
	for (i = 0; i < c->nextra; i++)
		buf_printf(out, "%s\n", c->extra[i]);
	buf_addc(out, '\n');
	buf_adds(out, c->body ? c->body : "");
}

static void
set_field(char **field, const char *v)
{
	free(*field);
	*field = *v != '\0' ? xstrdup(v) : NULL;
}

/* Apply one unfolded header line of a draft; -1 if it is not one. */
static int
draft_field(struct compose *c, const char *line, char **cause)
{
	const char *colon = strchr(line, ':'), *p, *v;
	struct stat st;
	char *path;

	for (p = line; p < (colon ? colon : line); p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			break;
	}
	if (colon == NULL || colon == line || p != colon) {
		char *vis = text_visible_dup(line);

		set_cause(
		    cause, "'%s' is not a header line (Name: value)", vis);
		free(vis);
		return -1;
	}
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
#define IS(n) \
	((size_t)(colon - line) == strlen(n) && \
	    ascii_strncasecmp(line, n, strlen(n)) == 0)
	if (IS("From"))
		set_field(&c->from, v);
	else if (IS("To"))
		set_field(&c->to, v);
	else if (IS("Cc"))
		set_field(&c->cc, v);
	else if (IS("Bcc"))
		set_field(&c->bcc, v);
	else if (IS("Subject"))
		set_field(&c->subject, v);
	else if (IS("Attach")) {
		if (*v == '\0')
			return 0;
		if (v[0] == '~' && v[1] == '/' && getenv("HOME") != NULL)
			path = xasprintf("%s%s", getenv("HOME"), v + 1);
		else
			path = xstrdup(v);
		if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
			set_cause(cause, "cannot attach %s: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			set_cause(cause, "cannot attach %s: not a file", path);
			free(path);
			return -1;
		}
		compose_attach_add(c, path);
		free(path);
	} else if (*v != '\0') {
		c->extra =
		    xreallocarray(c->extra, c->nextra + 1, sizeof *c->extra);
		c->extra[c->nextra++] = xstrdup(line);
	}
#undef IS
	return 0;
}

int
compose_draft_parse(
    struct compose *c, const char *text, size_t len, char **cause)
{
	struct compose n;
	struct buf field;
	size_t i = 0, start, e, j, k;
	int ret = -1;

	/* Fill a copy, so a draft with an error changes nothing. */
	compose_init(&n);
	buf_init(&field, COMPOSE_HEADER_MAX);
	while (i < len) {
		start = i;
		while (i < len && text[i] != '\n')
			i++;
		e = i;
		if (i < len)
			i++;
		if (e > start && text[e - 1] == '\r')
			e--;
		if (e == start)
			break; /* the blank line */
		if (text[start] == ' ' || text[start] == '\t') {
			if (field.len == 0) {
				set_cause(cause,
				    "the draft starts with a "
				    "continuation line");
				goto out;
			}
			buf_addc(&field, ' ');
			while (start < e &&
			    (text[start] == ' ' || text[start] == '\t'))
				start++;
			buf_add(&field, text + start, e - start);
			continue;
		}
		if (field.len > 0 && draft_field(&n, field.data, cause) != 0)
			goto out;
		buf_reset(&field);
		if (buf_add(&field, text + start, e - start) != 0) {
			set_cause(cause,
			    "a header line of the draft is too "
			    "long");
			goto out;
		}
	}
	if (field.len > 0 && draft_field(&n, field.data, cause) != 0)
		goto out;
	/* The body, with LF line ends. */
	n.body = xmalloc(len - i + 1);
	for (j = i, k = 0; j < len; j++) {
		if (text[j] == '\r' && j + 1 < len && text[j + 1] == '\n')
			continue;
		n.body[k++] = text[j];
	}
	n.body[k] = '\0';
	/* What the draft does not show stays as it was. */
	n.in_reply_to = c->in_reply_to;
	n.references = c->references;
	n.fwd_raw = c->fwd_raw;
	n.fwd_len = c->fwd_len;
	n.fwd_more = c->fwd_more;
	n.fwd_more_len = c->fwd_more_len;
	n.nfwd_more = c->nfwd_more;
	c->fwd_more = NULL;
	c->fwd_more_len = NULL;
	c->nfwd_more = 0;
	c->in_reply_to = c->references = c->fwd_raw = NULL;
	compose_clear(c);
	*c = n;
	compose_init(&n);
	ret = 0;
out:
	compose_clear(&n);
	buf_free(&field);
	return ret;
}

const char *
compose_editor(const char *rc_editor)
{
	const char *e;

	if (rc_editor != NULL && *rc_editor != '\0')
		return rc_editor;
	if ((e = getenv("VISUAL")) != NULL && *e != '\0')
		return e;
	if ((e = getenv("EDITOR")) != NULL && *e != '\0')
		return e;
	return "vi";
}

/* Run editor on path; 0 when it exits 0. */
static int
run_editor(const char *editor, const char *path, char **cause)
{
	char *cmd = xasprintf("%s \"$1\"", editor);
	struct sigaction ign, oint, oquit;
	pid_t pid;
	int status, ret = 0;

	/*
	 * While the editor runs, ^C and ^\ are its keys, not a reason for
	 * tern to die and leave the draft behind (as system() does).
	 */
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	/*
	 * The editor setting is the user's own command line; the file name
	 * travels as "$1", never inside the command text.
	 */
	if ((pid = fork()) < 0) {
		ret = set_cause(cause, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		execl("/bin/sh", "sh", "-c", cmd, "sh", path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = set_cause(cause, "waitpid: %s", strerror(errno));
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		ret = set_cause(cause,
		    "the editor (%s) failed (status %d); nothing was sent",
		    editor, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
out:
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	free(cmd);
	return ret;
}

/* Write the draft to a new private file; its malloc'd path, or NULL. */
static char *
draft_file(const struct compose *c, char **cause)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path;
	struct buf b;
	int fd;

	if (tmpdir == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	path = xasprintf("%s/tern-draft-XXXXXX.eml", tmpdir);
	if ((fd = mkstemps(path, 4)) < 0) {
		set_cause(cause, "cannot create a draft in %s: %s", tmpdir,
		    strerror(errno));
		free(path);
		return NULL;
	}
	buf_init(&b, 0);
	compose_draft_write(c, &b);
	if (write_all(fd, b.data, b.len) != 0 || close(fd) != 0) {
		set_cause(cause, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		free(path);
		path = NULL;
	}
	buf_free(&b);
	return path;
}

char *
compose_draft_keep(const struct compose *c, char **cause)
{
	return draft_file(c, cause);
}

int
compose_edit(struct compose *c, const char *editor, char **cause)
{
	char *path;
	struct buf b;
	int ret = -1, keep = 0;

	if ((path = draft_file(c, cause)) == NULL)
		return -1;
	buf_init(&b, COMPOSE_MESSAGE_MAX);
	if (run_editor(editor, path, cause) != 0)
		goto out;
	buf_reset(&b);
	if (read_file(path, COMPOSE_MESSAGE_MAX, &b, cause) != 0)
		goto out;
	if (b.len == 0) {
		set_cause(cause, "the draft is empty; nothing was sent");
		goto out;
	}
	if (compose_draft_parse(c, b.data, b.len, cause) != 0) {
		/* Keep the user's work: say where it is. */
		char *why = cause != NULL ? *cause : NULL;

		if (cause != NULL) {
			*cause = xasprintf("%s; the draft is kept in %s",
			    why ? why : "bad draft", path);
			free(why);
		}
		keep = 1;
		goto out;
	}
	ret = 0;
out:
	if (!keep)
		unlink(path);
	buf_free(&b);
	free(path);
	return ret;
}
