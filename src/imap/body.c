/*
 * Bodies on demand: what showing a message needs, without its
 * attachments.
 *
 * The server's BODYSTRUCTURE is read into a tree (bounded depth and part
 * count, every field checked; anything else is an error, and the caller
 * falls back to the whole message). The tree says which sections to ask
 * for: each entity's own header (n.MIME, or n.HEADER inside a forwarded
 * message) and the content of the text parts that are shown. From those
 * a "skeleton" message is built: the real headers, fresh multipart
 * boundaries, the text parts with their real (still encoded) content,
 * and every other leaf empty with an X-Tern-Part field that names its
 * section and size, so mime_parse_view() lists it as not downloaded.
 *
 * Nothing the server sent can pass for one of our fields: X-Tern-Part is
 * dropped from every header it sent, content is only included under a
 * header that declares text (so it is never parsed as headers), and the
 * boundaries are random, chosen after every byte is in, and checked
 * against all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "imap-private.h"
#include "tern/mime.h"
#include "tern/util.h"

enum bs_kind { BS_LEAF, BS_MULTI, BS_MESSAGE };

struct bs_node {
	enum bs_kind kind;
	char *type, *subtype; /* lower case tokens */
	char *part; /* IMAP part number: "" for a top multipart */
	char *hdr; /* section of the entity's header */
	uint64_t size;
	int text; /* content fetched for the view */
	int first, next; /* children (-1: none) */
};

struct bs_section {
	char *name;
	struct buf data;
};

struct imap_view {
	struct bs_node *nodes;
	size_t n;
	int have_structure;
	char *error; /* why the structure was refused */
	struct bs_section *sec;
	size_t nsec;
};

struct bs_parse {
	struct imap_view *v;
	const struct imap_resp *r;
	uint64_t text_bytes;
	char **cause;
};

struct imap_view *
imap_view_new(void)
{
	return xcalloc(1, sizeof(struct imap_view));
}

static void
view_clear_nodes(struct imap_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->nodes[i].type);
		free(v->nodes[i].subtype);
		free(v->nodes[i].part);
		free(v->nodes[i].hdr);
	}
	free(v->nodes);
	v->nodes = NULL;
	v->n = 0;
	v->have_structure = 0;
}

void
imap_view_free(struct imap_view **vp)
{
	struct imap_view *v = *vp;
	size_t i;

	if (v == NULL)
		return;
	view_clear_nodes(v);
	for (i = 0; i < v->nsec; i++) {
		free(v->sec[i].name);
		buf_free(&v->sec[i].data);
	}
	free(v->sec);
	free(v->error);
	free(v);
	*vp = NULL;
}

/* A MIME token (type, subtype, disposition), lower-cased; NULL if not. */
static char *
token(const struct imap_resp *r, size_t i, size_t end)
{
	static const char special[] = "()<>@,;:\\\"/[]?=";
	const char *s;
	size_t len, k;
	char *t;

	if (i >= end || (s = imap_astr(r, i, &len)) == NULL || len == 0 ||
	    len > 127)
		return NULL;
	for (k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c <= ' ' || c >= 0x7f || strchr(special, c) != NULL)
			return NULL;
	}
	t = xstrndup(s, len);
	for (k = 0; k < len; k++) {
		if (t[k] >= 'A' && t[k] <= 'Z')
			t[k] = (char)(t[k] + 32);
	}
	return t;
}

/* A parameter list: NIL, or a list of string pairs. 1 ok, 0 not. */
static int
params_ok(const struct imap_resp *r, size_t i)
{
	size_t k, n = 0;

	if (r->items[i].type == IMAP_NIL)
		return 1;
	if (r->items[i].type != IMAP_LIST)
		return 0;
	for (k = i + 1; k < imap_next(r, i); k = imap_next(r, k)) {
		if (imap_astr(r, k, NULL) == NULL)
			return 0;
		n++;
	}
	return n % 2 == 0;
}

/* Does the parameter list at i have name (or name*, name*0...)? */
static int
params_have(const struct imap_resp *r, size_t i, const char *name)
{
	size_t k, nl = strlen(name);

	if (r->items[i].type != IMAP_LIST)
		return 0;
	for (k = i + 1; k < imap_next(r, i);
	     k = imap_next(r, imap_next(r, k))) {
		const char *s = imap_astr(r, k, NULL);

		if (s != NULL && ascii_strncasecmp(s, name, nl) == 0 &&
		    (s[nl] == '\0' || s[nl] == '*'))
			return 1;
	}
	return 0;
}

static char *
child_part(const char *part, unsigned k)
{
	return part[0] == '\0' ? xasprintf("%u", k)
	                       : xasprintf("%s.%u", part, k);
}

static int
new_node(struct bs_parse *p, enum bs_kind kind)
{
	struct imap_view *v = p->v;
	struct bs_node *n;

	v->nodes = xreallocarray(v->nodes, v->n + 1, sizeof *v->nodes);
	n = &v->nodes[v->n];
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->first = n->next = -1;
	return (int)v->n++;
}

static int bad(struct bs_parse *p, const char *why);

/*
 * Would the mime module show this leaf as text? The same rule as its
 * classify(): text (or a delivery report), not an attachment, and no file
 * name unless inline or plain text.
 */
static int
shown_as_text(
    const char *type, const char *subtype, const char *disp, int has_name)
{
	int text = strcmp(type, "text") == 0 ||
	    (strcmp(type, "message") == 0 &&
	        (strcmp(subtype, "delivery-status") == 0 ||
	            strcmp(subtype, "global-delivery-status") == 0 ||
	            strcmp(subtype, "disposition-notification") == 0 ||
	            strcmp(subtype, "feedback-report") == 0));
	int inline_ = disp != NULL && strcmp(disp, "inline") == 0;

	if (!text || (disp != NULL && !inline_))
		return 0;
	return !has_name || inline_ || strcmp(subtype, "plain") == 0;
}

static int parse_body(struct bs_parse *p, size_t i, int depth, const char *part,
    const char *hdr, int msgtop);

/* A leaf whose fields do not parse; the one error for all of them. */
static int
malformed(struct bs_parse *p)
{
	return bad(p, "a part's fields are not what RFC 3501 says");
}

/*
 * A multipart at item i (end: the item after it): its children, then
 * its subtype and parameters.
 */
static int
parse_multi(struct bs_parse *p, size_t i, size_t end, int depth,
    const char *part, const char *hdr)
{
	const struct imap_resp *r = p->r;
	size_t k;
	int ni, prev = -1;
	unsigned nchild = 0;
	char *sub;

	/* multipart: 1*body SP subtype [SP params ...] */
	ni = new_node(p, BS_MULTI);
	p->v->nodes[ni].part = xstrdup(part);
	p->v->nodes[ni].hdr = xstrdup(hdr);
	p->v->nodes[ni].type = xstrdup("multipart");
	for (k = i + 1; k < end && r->items[k].type == IMAP_LIST;
	     k = imap_next(r, k)) {
		char *cp = child_part(part, ++nchild);
		char *ch = xasprintf("%s.MIME", cp);
		int ci = (int)p->v->n, ok;

		ok = parse_body(p, k, depth + 1, cp, ch, 0);
		free(cp);
		free(ch);
		if (ok != 0)
			return -1;
		if (prev < 0)
			p->v->nodes[ni].first = ci;
		else
			p->v->nodes[prev].next = ci;
		prev = ci;
	}
	if ((sub = token(r, k, end)) == NULL)
		return bad(p, "a multipart has no subtype");
	p->v->nodes[ni].subtype = sub;
	k = imap_next(r, k);
	if (k < end && !params_ok(r, k))
		return bad(p, "bad multipart parameters");
	return 0;
}

/*
 * A leaf's basic fields after item i: type, subtype, params, id,
 * description, encoding and size. *next is the item after them.
 */
static int
basic_fields(const struct imap_resp *r, size_t i, size_t end, char **type,
    char **sub, uint64_t *size, size_t *next)
{
	size_t k, f;

	/* type subtype params id desc enc size ... */
	for (k = i + 1, f = 0; k < end && f < 7; k = imap_next(r, k), f++) {
		size_t at = k;

		switch (f) {
		case 0:
			*type = token(r, at, end);
			break;
		case 1:
			*sub = token(r, at, end);
			break;
		case 2:
			if (!params_ok(r, at))
				return -1;
			break;
		case 3:
		case 4:
			if (r->items[at].type != IMAP_NIL &&
			    imap_astr(r, at, NULL) == NULL)
				return -1;
			break;
		case 5:
			if (r->items[at].type != IMAP_NIL &&
			    imap_astr(r, at, NULL) == NULL)
				return -1;
			break;
		case 6:
			if (imap_num(r, at, IMAP_VIEW_MAX_SIZE, size) != 0)
				return -1;
			break;
		}
	}
	*next = k;
	if (f < 7 || *type == NULL || *sub == NULL)
		return -1;
	return 0;
}

/* message/rfc822 or message/global: a message inside the part. */
static int
is_message(const char *type, const char *sub)
{
	return strcmp(type, "message") == 0 &&
	    (strcmp(sub, "rfc822") == 0 || strcmp(sub, "global") == 0);
}

/*
 * A message/rfc822 part whose envelope is at item k: its node, then the
 * body of the message inside. Takes type and sub.
 */
static int
parse_message(struct bs_parse *p, size_t k, int depth, const char *mypart,
    const char *hdr, char *type, char *sub, uint64_t size)
{
	char *h;
	int ni, ok;

	ni = new_node(p, BS_MESSAGE);
	p->v->nodes[ni].part = xstrdup(mypart);
	p->v->nodes[ni].hdr = xstrdup(hdr);
	p->v->nodes[ni].type = type;
	p->v->nodes[ni].subtype = sub;
	p->v->nodes[ni].size = size;
	p->v->nodes[ni].first = (int)p->v->n;
	h = xasprintf("%s.HEADER", mypart);
	ok = parse_body(p, imap_next(p->r, k), depth + 1, mypart, h, 1);
	free(h);
	return ok != 0 ? -1 : 0;
}

/*
 * A leaf (body at item i) whose extension data starts at item k: checks
 * its disposition, then adds its node, marked text if it is shown as
 * text within the budget. Takes type and sub.
 */
static int
parse_leaf(struct bs_parse *p, size_t i, size_t k, size_t end,
    const char *mypart, const char *hdr, char *type, char *sub, uint64_t size)
{
	const struct imap_resp *r = p->r;
	size_t skip = strcmp(type, "text") == 0 ? 1 : 0, d;
	char *disp = NULL;
	int ni;

	/* Extension data: md5, then the disposition. */
	if (is_message(type, sub))
		skip = 3; /* envelope, body, lines we did not use */
	for (d = k; d < end && skip > 0; d = imap_next(r, d))
		skip--;
	if (d < end)
		d = imap_next(r, d); /* md5 */
	if (d < end && r->items[d].type == IMAP_LIST) {
		size_t dt = d + 1;

		if (dt >= imap_next(r, d) ||
		    (disp = token(r, dt, imap_next(r, d))) == NULL ||
		    imap_next(r, dt) >= imap_next(r, d) ||
		    !params_ok(r, imap_next(r, dt))) {
			free(type);
			free(sub);
			free(disp);
			return malformed(p);
		}
	}
	ni = new_node(p, BS_LEAF);
	p->v->nodes[ni].part = xstrdup(mypart);
	p->v->nodes[ni].hdr = xstrdup(hdr);
	p->v->nodes[ni].size = size;
	if (shown_as_text(type, sub, disp,
	        params_have(r, i + 3, "name") ||
	            (d < end && r->items[d].type == IMAP_LIST &&
	                params_have(r, imap_next(r, d + 1), "filename"))) &&
	    p->text_bytes + size <= IMAP_VIEW_MAX_TEXT) {
		p->v->nodes[ni].text = 1;
		p->text_bytes += size;
	}
	p->v->nodes[ni].type = type;
	p->v->nodes[ni].subtype = sub;
	free(disp);
	return 0;
}

/*
 * The body at item i: its part number is part (for the top of a message,
 * the message's: "" or "2"), its header section hdr.
 */
static int
parse_body(struct bs_parse *p, size_t i, int depth, const char *part,
    const char *hdr, int msgtop)
{
	const struct imap_resp *r = p->r;
	size_t end, k = 0;
	int rc;
	char *type = NULL, *sub = NULL, *mypart;
	uint64_t size = 0;

	if (i >= r->nitems || r->items[i].type != IMAP_LIST)
		return bad(p, "a body is not a list");
	if (depth > IMAP_VIEW_MAX_DEPTH)
		return bad(p, "it nests deeper than the limit");
	if (p->v->n >= IMAP_VIEW_MAX_PARTS)
		return bad(p, "it has more parts than the limit");
	end = imap_next(r, i);
	if (i + 1 < end && r->items[i + 1].type == IMAP_LIST)
		return parse_multi(p, i, end, depth, part, hdr);
	if (basic_fields(r, i, end, &type, &sub, &size, &k) != 0) {
		free(type);
		free(sub);
		return malformed(p);
	}
	mypart = msgtop ? child_part(part, 1) : xstrdup(part);
	if (is_message(type, sub) && k < end && imap_next(r, k) < end &&
	    r->items[imap_next(r, k)].type == IMAP_LIST) {
		/* envelope SP body SP lines: recurse into the message. */
		if (r->items[k].type != IMAP_LIST) {
			free(type);
			free(sub);
			rc = malformed(p);
		} else
			rc = parse_message(
			    p, k, depth, mypart, hdr, type, sub, size);
	} else
		rc = parse_leaf(p, i, k, end, mypart, hdr, type, sub, size);
	free(mypart);
	return rc;
}

static int
bad(struct bs_parse *p, const char *why)
{
	if (p->v->error == NULL)
		p->v->error = xasprintf("bad BODYSTRUCTURE: %s", why);
	return -1;
}

/* Whether the tree holds a signed or encrypted part (RFC 1847, S/MIME). */
static int
secure_structure(const struct imap_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct bs_node *n = &v->nodes[i];

		if (n->type == NULL || n->subtype == NULL)
			continue;
		if (strcmp(n->type, "multipart") == 0 &&
		    (strcmp(n->subtype, "signed") == 0 ||
		        strcmp(n->subtype, "encrypted") == 0))
			return 1;
		if (strcmp(n->type, "application") == 0 &&
		    (strcmp(n->subtype, "pkcs7-mime") == 0 ||
		        strcmp(n->subtype, "x-pkcs7-mime") == 0))
			return 1;
	}
	return 0;
}

int
imap_view_structure(struct imap_view *v, const struct imap_resp *r, size_t i)
{
	struct bs_parse p;

	memset(&p, 0, sizeof p);
	p.v = v;
	p.r = r;
	view_clear_nodes(v);
	free(v->error);
	v->error = NULL;
	if (parse_body(&p, i, 0, "", "HEADER", 1) != 0) {
		view_clear_nodes(v);
		return -1;
	}
	if (secure_structure(v)) {
		/* A signature is checked over exact bytes, and encrypted
		 * data is one piece: such a message is fetched whole. */
		view_clear_nodes(v);
		v->error = xstrdup("signed or encrypted: fetched whole");
		return -1;
	}
	v->have_structure = 1;
	return 0;
}

const char *
imap_view_error(const struct imap_view *v)
{
	return v->error;
}

int
imap_view_ready(const struct imap_view *v)
{
	return v->have_structure;
}

/* "BODY[2.MIME]" or "BODY[2.MIME]<0>": the section; NULL if not. */
static char *
section_of(const char *atom)
{
	const char *e;

	if (ascii_strncasecmp(atom, "BODY[", 5) != 0)
		return NULL;
	atom += 5;
	if ((e = strchr(atom, ']')) == NULL || (e[1] != '\0' && e[1] != '<'))
		return NULL;
	return xstrndup(atom, (size_t)(e - atom));
}

void
imap_view_add(
    struct imap_view *v, const char *section, const char *data, size_t len)
{
	struct bs_section *s = NULL;
	size_t i;

	for (i = 0; i < v->nsec; i++) {
		if (ascii_strcasecmp(v->sec[i].name, section) == 0)
			s = &v->sec[i];
	}
	if (s == NULL) {
		v->sec = xreallocarray(v->sec, v->nsec + 1, sizeof *v->sec);
		s = &v->sec[v->nsec++];
		s->name = xstrdup(section);
		buf_init(&s->data, 0);
	}
	buf_reset(&s->data);
	(void)buf_add(&s->data, data, len);
}

int
imap_view_on_fetch(
    struct imap_view *v, const struct imap_resp *r, size_t list, char **cause)
{
	size_t i, end = imap_next(r, list);

	for (i = list + 1; i < end; i = imap_next(r, i)) {
		size_t val = imap_next(r, i);
		char *sec;

		if (val >= end)
			break;
		if (imap_is(r, i, "BODYSTRUCTURE")) {
			/* A refused structure is not fatal: the caller
			 * falls back to the whole message. */
			(void)imap_view_structure(v, r, val);
		} else if (r->items[i].type == IMAP_ATOM &&
		    (sec = section_of(imap_str(r, i))) != NULL) {
			size_t len = 0;
			const char *d = imap_astr(r, val, &len);

			if (d != NULL && r->items[val].type == IMAP_STRING)
				imap_view_add(v, sec, d, len);
			free(sec);
		}
		i = val;
	}
	(void)cause;
	return 0;
}

const struct buf *
imap_view_get(const struct imap_view *v, const char *section)
{
	size_t i;

	for (i = 0; i < v->nsec; i++) {
		if (ascii_strcasecmp(v->sec[i].name, section) == 0)
			return &v->sec[i].data;
	}
	return NULL;
}

void
imap_view_items(const struct imap_view *v, struct buf *out)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct bs_node *n = &v->nodes[i];

		if (strcmp(n->hdr, "HEADER") != 0)
			(void)buf_printf(out, " BODY.PEEK[%s]", n->hdr);
		if (n->kind == BS_LEAF && n->text)
			(void)buf_printf(out, " BODY.PEEK[%s]", n->part);
	}
}

/* The field name of a header line, trimmed; 0 if the line is not one. */
static size_t
field_name(const char *s, size_t len, size_t *namelen)
{
	size_t k, e;

	for (k = 0; k < len && s[k] != ':'; k++) {
		unsigned char c = (unsigned char)s[k];

		if (c < 0x21 && c != ' ' && c != '\t')
			return 0;
		if (c >= 0x7f)
			return 0;
	}
	if (k == len || k == 0)
		return 0;
	e = k;
	while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (e == 0)
		return 0;
	*namelen = e;
	return 1;
}

static int
name_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && ascii_strncasecmp(s, name, len) == 0;
}

/*
 * Append the server's header block h cleaned: up to its first empty
 * line, field lines and their continuations only, each ending in CRLF,
 * without X-Tern-Part, and (drop_ct) without Content-Type and
 * Content-Transfer-Encoding.
 */
static void
clean_header(const char *h, size_t len, int drop_ct, struct buf *out)
{
	size_t i = 0, nl;
	int keep = 0;

	while (i < len) {
		const char *e = memchr(h + i, '\n', len - i);
		size_t le = e ? (size_t)(e - h) : len, ce = le;

		if (ce > i && h[ce - 1] == '\r')
			ce--;
		if (ce == i)
			break; /* the end of the header */
		if (memchr(h + i, '\0', ce - i) != NULL) {
			keep = 0;
		} else if (h[i] == ' ' || h[i] == '\t') {
			/* a continuation goes with its field */
		} else if (field_name(h + i, ce - i, &nl)) {
			keep = !name_is(h + i, nl, IMAP_VIEW_FIELD) &&
			    !(drop_ct &&
			        (name_is(h + i, nl, "content-type") ||
			            name_is(h + i, nl,
			                "content-transfer-encoding")));
		} else
			keep = 0;
		if (keep) {
			(void)buf_add(out, h + i, ce - i);
			(void)buf_adds(out, "\r\n");
		}
		i = e ? le + 1 : len;
	}
}

struct skel {
	const struct imap_view *v;
	struct buf *out;
	char base[40];
};

static const struct buf *
header_of(const struct skel *s, const struct bs_node *n)
{
	return imap_view_get(s->v, n->hdr);
}

/* Does a cleaned leaf header declare text, as the mime module reads it? */
static int
declares_text(const char *h, size_t len, int digest)
{
	struct mime_envelope env;
	int ok;

	memset(&env, 0, sizeof env);
	mime_envelope_parse(h, len, &env);
	if (env.content_type == NULL)
		ok = !digest;
	else
		ok = strncmp(env.content_type, "text/", 5) == 0;
	mime_envelope_clear(&env);
	return ok;
}

static void
emit(struct skel *s, int ni, int digest)
{
	const struct bs_node *n = &s->v->nodes[ni];
	const struct buf *h = header_of(s, n);
	struct buf hb;
	int c;

	buf_init(&hb, 0);
	if (h != NULL)
		clean_header(
		    h->data ? h->data : "", h->len, n->kind != BS_LEAF, &hb);
	switch (n->kind) {
	case BS_MULTI:
		(void)buf_add(s->out, hb.data ? hb.data : "", hb.len);
		(void)buf_printf(s->out,
		    "Content-Type: multipart/%s; boundary=\"%s%d\"\r\n\r\n",
		    n->subtype, s->base, ni);
		for (c = n->first; c >= 0; c = s->v->nodes[c].next) {
			(void)buf_printf(s->out, "--%s%d\r\n", s->base, ni);
			emit(s, c, strcmp(n->subtype, "digest") == 0);
			(void)buf_adds(s->out, "\r\n");
		}
		(void)buf_printf(s->out, "--%s%d--\r\n", s->base, ni);
		break;
	case BS_MESSAGE:
		(void)buf_add(s->out, hb.data ? hb.data : "", hb.len);
		(void)buf_printf(
		    s->out, "Content-Type: message/%s\r\n\r\n", n->subtype);
		if (n->first >= 0)
			emit(s, n->first, 0);
		break;
	case BS_LEAF: {
		const struct buf *body = imap_view_get(s->v, n->part);
		int with = n->text && body != NULL &&
		    declares_text(hb.data ? hb.data : "", hb.len, digest);

		(void)buf_add(s->out, hb.data ? hb.data : "", hb.len);
		if (!with)
			(void)buf_printf(s->out, "%s: %s; size=%llu\r\n",
			    IMAP_VIEW_FIELD, n->part,
			    (unsigned long long)n->size);
		(void)buf_adds(s->out, "\r\n");
		if (with && body->len > 0)
			(void)buf_add(s->out, body->data, body->len);
		break;
	}
	}
	buf_free(&hb);
}

/* Does any byte the server sent contain the boundary base? */
static int
base_used(const struct imap_view *v, const char *base)
{
	size_t i, bl = strlen(base);

	for (i = 0; i < v->nsec; i++) {
		const struct buf *b = &v->sec[i].data;

		if (b->len >= bl && memmem(b->data, b->len, base, bl) != NULL)
			return 1;
	}
	return 0;
}

int
imap_view_skeleton(const struct imap_view *v, struct buf *out, char **cause)
{
	struct skel s;
	int tries;

	if (!v->have_structure || v->n == 0)
		return set_cause(cause, "no BODYSTRUCTURE to build on");
	if (imap_view_get(v, "HEADER") == NULL)
		return set_cause(cause, "the server sent no header");
	memset(&s, 0, sizeof s);
	s.v = v;
	s.out = out;
	for (tries = 0;; tries++) {
		unsigned char rnd[12];
		size_t k;

		if (getentropy(rnd, sizeof rnd) != 0 || tries >= 8)
			return set_cause(
			    cause, "cannot choose a MIME boundary");
		memcpy(s.base, "=_tern_", 7);
		for (k = 0; k < sizeof rnd; k++)
			snprintf(s.base + 7 + 2 * k, 3, "%02x", rnd[k]);
		strcat(s.base, "_");
		if (!base_used(v, s.base))
			break;
	}
	emit(&s, 0, 0);
	return 0;
}
