/*
 * The MIME tree (RFC 2045-2049). A message is parsed once into an array of
 * parts in message order; each part knows its header and body ranges in a
 * private copy of the raw bytes, its decoded Content-Type and
 * Content-Disposition, and what rendering does with it (inline text,
 * attachment line, a container, or a hidden alternative).
 *
 * Recursion is bounded by MIME_MAX_DEPTH and the part count by
 * MIME_MAX_PARTS. A multipart body is scanned line by line once per level,
 * so time is linear in the input for a bounded depth.
 *
 * Broken mail read on purpose: no boundary parameter (the first "--" line
 * is taken), no delimiter at all (the body is shown as text), no closing
 * delimiter (the last part runs to the end), CTE the mailer misspelt, and
 * uuencoded files pasted into a text body.
 */
#include <stdlib.h>
#include <string.h>

#include "mime-private.h"

static char *
section_child(const char *parent, unsigned k)
{
	if (parent[0] == '\0')
		return xasprintf("%u", k);
	return xasprintf("%s.%u", parent, k);
}

static int
new_part(struct mime_msg *m)
{
	struct part *p;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->parts = xreallocarray(m->parts, m->cap, sizeof *m->parts);
	}
	p = &m->parts[m->n];
	memset(p, 0, sizeof *p);
	p->parent = -1;
	return (int)m->n++;
}

/* The first line in [off, end) that starts with "--", as a boundary. */
static char *
guess_boundary(const char *raw, size_t off, size_t end)
{
	size_t i = off;

	while (i < end) {
		const char *nl = memchr(raw + i, '\n', end - i);
		size_t e = nl ? (size_t)(nl - raw) : end;
		size_t ce = e;

		while (ce > i &&
		    (raw[ce - 1] == '\r' || raw[ce - 1] == ' ' ||
		        raw[ce - 1] == '\t'))
			ce--;
		if (ce - i > 4 && ce - i < 200 && raw[i] == '-' &&
		    raw[i + 1] == '-') {
			size_t b = i + 2, k;
			int ok = 1;

			for (k = b; k < ce; k++) {
				if ((unsigned char)raw[k] <= ' ' ||
				    (unsigned char)raw[k] >= 0x7f)
					ok = 0;
			}
			if (ok)
				return xstrndup(raw + b, ce - b);
		}
		i = nl ? e + 1 : end;
	}
	return NULL;
}

/*
 * Whether the line [i, ce) is a delimiter of boundary b: "--b" then
 * optionally "--", then only whitespace (lenient: anything is ignored).
 * Returns 0 no, 1 delimiter, 2 close delimiter.
 */
static int
is_delim(const char *raw, size_t i, size_t ce, const char *b, size_t bl)
{
	if (ce - i < bl + 2 || raw[i] != '-' || raw[i + 1] != '-' ||
	    memcmp(raw + i + 2, b, bl) != 0)
		return 0;
	i += 2 + bl;
	if (ce - i >= 2 && raw[i] == '-' && raw[i + 1] == '-')
		return 2;
	/* "--b" followed by more boundary characters is another boundary. */
	if (i < ce && raw[i] != ' ' && raw[i] != '\t')
		return 0;
	return 1;
}

static void parse_entity(struct mime_msg *m, size_t off, size_t len, int parent,
    int depth, const char *section, int msgtop, const char *deftype);

static void
parse_multipart(struct mime_msg *m, int pi, const char *boundary, int depth,
    const char *deftype)
{
	struct part *p = &m->parts[pi];
	size_t off = p->body_off, end = p->body_off + p->body_len;
	size_t i = off, bl = strlen(boundary), cstart = 0;
	const char *raw = m->raw;
	char *section = xstrdup(p->section);
	unsigned k = 0;
	int inpart = 0, found = 0;

	while (i < end) {
		const char *nl = memchr(raw + i, '\n', end - i);
		size_t e = nl ? (size_t)(nl - raw) : end;
		size_t ce = e > i && raw[e - 1] == '\r' ? e - 1 : e;
		size_t next = nl ? e + 1 : end;
		int d = is_delim(raw, i, ce, boundary, bl);

		if (d == 0) {
			i = next;
			continue;
		}
		found = 1;
		if (inpart) {
			/* The line break before a delimiter belongs to it. */
			size_t cend = i;

			if (cend > cstart && raw[cend - 1] == '\n')
				cend--;
			if (cend > cstart && raw[cend - 1] == '\r')
				cend--;
			if (m->n >= MIME_MAX_PARTS) {
				m->truncated = 1;
				break;
			}
			{
				char *cs = section_child(section, ++k);

				parse_entity(m, cstart, cend - cstart, pi,
				    depth + 1, cs, 0, deftype);
				free(cs);
			}
		}
		if (d == 2) {
			inpart = 0;
			break;
		}
		inpart = 1;
		cstart = next;
		i = next;
	}
	if (inpart && m->n < MIME_MAX_PARTS) {
		/* No closing delimiter: the last part runs to the end. */
		char *cs = section_child(section, ++k);

		parse_entity(
		    m, cstart, end - cstart, pi, depth + 1, cs, 0, deftype);
		free(cs);
	} else if (inpart)
		m->truncated = 1;
	if (!found) {
		/* No delimiter anywhere: show the body as text. */
		p = &m->parts[pi];
		p->kind = PART_LEAF;
		free(p->type);
		p->type = xstrdup("text/plain");
	}
	free(section);
}

static void
set_encoding(struct part *p, const struct mime_header *h)
{
	char *v = mime_header_get(h, "content-transfer-encoding", NULL);
	char *s;

	p->enc = ENC_IDENTITY;
	if (v == NULL) {
		p->encoding = xstrdup("7bit");
		return;
	}
	for (s = v; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
	}
	/* "base64 ", "quoted_printable", "x-uue": what mailers wrote. */
	if (strstr(v, "base64") != NULL)
		p->enc = ENC_BASE64;
	else if (strstr(v, "quoted") != NULL)
		p->enc = ENC_QP;
	else if (strstr(v, "uue") != NULL || strstr(v, "uuencode") != NULL)
		p->enc = ENC_UU;
	{
		struct buf b;
		size_t n = strlen(v);

		buf_init(&b, 0);
		mime_utf8_sanitize(&b, v, n > 64 ? 64 : n);
		p->encoding = b.len ? buf_steal(&b, NULL) : xstrdup("7bit");
		buf_free(&b);
	}
	free(v);
}

/*
 * A view's part marked "SECTION; size=N": the server's section (digits
 * and dots only) and its size. A value that does not read so still
 * marks the part missing, with no section to fetch it by.
 */
static void
view_missing(struct part *p, const char *v)
{
	struct mime_params pp;
	const char *sz, *s;
	uint64_t n;
	int ok = 1;

	p->missing = 1;
	mime_params_parse(v, strlen(v), &pp);
	s = pp.value;
	if (s == NULL || *s == '\0' || strlen(s) > 64 || *s == '.' ||
	    s[strlen(s) - 1] == '.' || strstr(s, "..") != NULL)
		ok = 0;
	for (; ok && *s != '\0'; s++) {
		if ((*s < '0' || *s > '9') && *s != '.')
			ok = 0;
	}
	if (ok)
		p->remote = xstrdup(pp.value);
	if ((sz = mime_param_get(&pp, "size")) != NULL &&
	    parse_uint64(sz, strlen(sz), UINT64_C(1) << 40, &n) == 0)
		p->remote_size = n;
	mime_params_free(&pp);
}

static void
parse_entity(struct mime_msg *m, size_t off, size_t len, int parent, int depth,
    const char *section, int msgtop, const char *deftype)
{
	struct mime_header h;
	struct mime_params cd;
	struct part *p;
	char *v, *xtp = NULL;
	int pi;

	if (m->n >= MIME_MAX_PARTS) {
		m->truncated = 1;
		return;
	}
	pi = new_part(m);
	p = &m->parts[pi];
	p->parent = parent;
	p->depth = depth;
	p->hdr_off = off;
	mime_header_parse(m->raw + off, len, &h);
	p->hdr_len = h.body;
	p->body_off = off + h.body;
	p->body_len = len - h.body;

	if ((v = mime_header_get(&h, "content-type", NULL)) != NULL) {
		mime_params_parse(v, strlen(v), &p->ct);
		free(v);
		p->type = mime_content_type_value(&p->ct);
	} else {
		p->ct.value = NULL;
		p->ct.v = NULL;
		p->ct.n = 0;
	}
	if (p->type == NULL)
		p->type = xstrdup(deftype);
	set_encoding(p, &h);
	if ((v = mime_header_get(&h, "content-disposition", NULL)) != NULL) {
		mime_params_parse(v, strlen(v), &cd);
		free(v);
		if (cd.value != NULL &&
		    (strcmp(cd.value, "attachment") == 0 ||
		        strcmp(cd.value, "inline") == 0))
			p->disposition = xstrdup(cd.value);
		else if (cd.value != NULL && *cd.value != '\0')
			p->disposition = xstrdup("attachment");
		if (mime_param_get(&cd, "filename") != NULL &&
		    *mime_param_get(&cd, "filename") != '\0')
			p->filename = xstrdup(mime_param_get(&cd, "filename"));
		mime_params_free(&cd);
	}
	if (p->filename == NULL && mime_param_get(&p->ct, "name") != NULL &&
	    *mime_param_get(&p->ct, "name") != '\0')
		p->filename = xstrdup(mime_param_get(&p->ct, "name"));
	if (mime_param_get(&p->ct, "charset") != NULL)
		p->charset = xstrdup(mime_param_get(&p->ct, "charset"));
	if (m->view)
		xtp = mime_header_get(&h, "x-tern-part", NULL);
	mime_header_free(&h);

	if (xtp != NULL && strncmp(p->type, "multipart/", 10) != 0) {
		/* A view's leaf that is not downloaded: no recursion. */
		p->section =
		    msgtop ? section_child(section, 1) : xstrdup(section);
		p->kind = PART_LEAF;
		view_missing(p, xtp);
		free(xtp);
		return;
	}
	free(xtp);
	if (strncmp(p->type, "multipart/", 10) == 0) {
		const char *b = mime_param_get(&p->ct, "boundary");
		char *guess = NULL;

		p->section = xstrdup(section);
		p->kind = PART_MULTIPART;
		if (b == NULL || *b == '\0')
			b = guess = guess_boundary(
			    m->raw, p->body_off, p->body_off + p->body_len);
		if (depth >= MIME_MAX_DEPTH) {
			m->truncated = 1;
			p->kind = PART_LEAF;
		} else if (b != NULL) {
			parse_multipart(m, pi, b, depth,
			    strcmp(p->type, "multipart/digest") == 0
			        ? "message/rfc822"
			        : "text/plain");
		} else {
			p->kind = PART_LEAF;
			free(p->type);
			p->type = xstrdup("text/plain");
		}
		free(guess);
		return;
	}
	p->section = msgtop ? section_child(section, 1) : xstrdup(section);
	p->kind = PART_LEAF;
	if ((strcmp(p->type, "message/rfc822") == 0 ||
	        strcmp(p->type, "message/global") == 0) &&
	    p->enc == ENC_IDENTITY) {
		if (depth >= MIME_MAX_DEPTH) {
			m->truncated = 1;
			return;
		}
		p->kind = PART_MESSAGE;
		{
			char *sec = xstrdup(p->section);

			parse_entity(m, p->body_off, p->body_len, pi, depth + 1,
			    sec, 1, "text/plain");
			free(sec);
		}
	}
}

/* Uuencoded files pasted into a text body: "begin 644 name" ... "end". */
static void
find_uu(struct mime_msg *m, int pi)
{
	size_t i = m->parts[pi].body_off;
	size_t end = i + m->parts[pi].body_len;
	const char *raw = m->raw;
	unsigned k = 0;
	long begin = -1;
	char *name = NULL;

	while (i < end && m->n < MIME_MAX_PARTS) {
		const char *nl = memchr(raw + i, '\n', end - i);
		size_t e = nl ? (size_t)(nl - raw) : end;
		size_t ce = e > i && raw[e - 1] == '\r' ? e - 1 : e;
		size_t next = nl ? e + 1 : end;

		if (begin < 0 && ce - i > 10 &&
		    memcmp(raw + i, "begin ", 6) == 0) {
			size_t j = i + 6, d = 0;

			while (j < ce && raw[j] >= '0' && raw[j] <= '7') {
				j++;
				d++;
			}
			if (d >= 3 && d <= 4 && j < ce && raw[j] == ' ' &&
			    j + 1 < ce) {
				begin = (long)i;
				free(name);
				name = xstrndup(raw + j + 1, ce - j - 1);
			}
		} else if (begin >= 0 && ce - i == 3 &&
		    memcmp(raw + i, "end", 3) == 0) {
			int ci = new_part(m);
			struct part *c = &m->parts[ci], *p = &m->parts[pi];
			struct buf fn;

			c->parent = pi;
			c->depth = p->depth + 1;
			c->kind = PART_LEAF;
			c->uu = 1;
			c->hdr_off = (size_t)begin;
			c->body_off = (size_t)begin;
			c->body_len = next - (size_t)begin;
			c->section = xasprintf(
			    "%s.uu%u", p->section[0] ? p->section : "1", ++k);
			c->type = xstrdup("application/octet-stream");
			c->encoding = xstrdup("x-uuencode");
			c->enc = ENC_UU;
			c->disposition = xstrdup("attachment");
			buf_init(&fn, 0);
			mime_charset_convert(NULL, name, strlen(name), &fn);
			c->filename = buf_steal(&fn, NULL);
			begin = -1;
		}
		i = next;
	}
	free(name);
}

static int
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	}
	return 1;
}

/*
 * What rendering does with each part. Alternatives: the last text/plain
 * wins, else the last text/html, else the last one (RFC 2046 puts the
 * richest last, but tern prefers plain text).
 */
static void
classify(struct mime_msg *m, int pi, int hidden)
{
	struct part *p = &m->parts[pi];
	size_t i;
	int c;

	if (hidden) {
		p->role = ROLE_HIDDEN;
	} else if (p->kind == PART_MULTIPART) {
		p->role = ROLE_CONTAINER;
	} else if (p->kind == PART_MESSAGE) {
		p->role = ROLE_MESSAGE;
	} else if (p->uu || p->missing) {
		p->role = ROLE_ATTACHMENT;
	} else {
		/* Delivery reports are text for people too. */
		int text = strncmp(p->type, "text/", 5) == 0 ||
		    strcmp(p->type, "message/delivery-status") == 0 ||
		    strcmp(p->type, "message/global-delivery-status") == 0 ||
		    strcmp(p->type, "message/disposition-notification") == 0 ||
		    strcmp(p->type, "message/feedback-report") == 0;
		int attach = p->disposition != NULL &&
		    strcmp(p->disposition, "attachment") == 0;

		if (text && !attach &&
		    (p->filename == NULL ||
		        (p->disposition != NULL &&
		            strcmp(p->disposition, "inline") == 0) ||
		        strcmp(p->type, "text/plain") == 0)) {
			if (strcmp(p->type, "text/html") == 0)
				p->role = ROLE_HTML;
			else
				p->role = ROLE_TEXT;
		} else
			p->role = ROLE_ATTACHMENT;
	}
	if (p->kind == PART_MULTIPART &&
	    strcmp(p->type, "multipart/alternative") == 0 && !hidden) {
		long plain = -1, html = -1, last = -1;

		for (c = p->first_child; c >= 0; c = m->parts[c].next) {
			i = (size_t)c;
			last = (long)i;
			/* An empty text part (some mailers send one) loses. */
			if (strcmp(m->parts[i].type, "text/plain") == 0 &&
			    !blank(m->raw + m->parts[i].body_off,
			        m->parts[i].body_len))
				plain = (long)i;
			else if (strcmp(m->parts[i].type, "text/html") == 0)
				html = (long)i;
		}
		if (plain >= 0)
			last = plain;
		else if (html >= 0)
			last = html;
		for (c = p->first_child; c >= 0; c = m->parts[c].next)
			classify(m, c, (long)c != last);
		return;
	}
	for (c = p->first_child; c >= 0; c = m->parts[c].next)
		classify(m, c, hidden);
}

/* Build the children lists so walks need no scans. */
static void
link_children(struct mime_msg *m)
{
	size_t i;
	int *last = xcalloc(m->n ? m->n : 1, sizeof *last);

	for (i = 0; i < m->n; i++) {
		m->parts[i].first_child = -1;
		m->parts[i].next = -1;
		last[i] = -1;
	}
	for (i = 0; i < m->n; i++) {
		int par = m->parts[i].parent;

		if (par < 0)
			continue;
		if (last[par] < 0)
			m->parts[par].first_child = (int)i;
		else
			m->parts[last[par]].next = (int)i;
		last[par] = (int)i;
	}
	free(last);
}

static size_t decoded_size(const struct mime_msg *m, size_t i);

/* Parse m->raw (m->len bytes, '\0' after them). */
static struct mime_msg *
parse_message(struct mime_msg *m, int view)
{
	size_t i, n, len = m->len;

	m->view = view;
	parse_entity(m, 0, len, -1, 0, "", 1, "text/plain");
	/* uuencoded blocks in plain text bodies (not in attachments). */
	n = m->n;
	for (i = 0; i < n; i++) {
		struct part *p = &m->parts[i];

		if (p->kind == PART_LEAF && !p->missing &&
		    p->enc == ENC_IDENTITY &&
		    strcmp(p->type, "text/plain") == 0 &&
		    (p->disposition == NULL ||
		        strcmp(p->disposition, "attachment") != 0))
			find_uu(m, (int)i);
	}
	link_children(m);
	/* The uu children were appended: keep message order for them too. */
	if (m->n > 0) {
		/* classify walks children by parent index: fine in any order. */
		classify(m, 0, 0);
	}
	for (i = 0; i < m->n; i++) {
		struct part *p = &m->parts[i];

		p->pub.section = p->section;
		p->pub.type = p->type;
		p->pub.charset = p->charset;
		p->pub.filename = p->filename;
		p->pub.disposition = p->disposition;
		p->pub.encoding = p->encoding;
		p->pub.raw_size = p->body_len;
		p->pub.depth = p->depth;
		p->pub.attachment = p->role == ROLE_ATTACHMENT;
		p->pub.missing = p->missing;
		p->pub.remote_section = p->remote;
		p->pub.remote_size = p->remote_size;
	}
	return m;
}

/* A message over a private copy of raw. */
static struct mime_msg *
msg_copy(const char *raw, size_t len)
{
	struct mime_msg *m = xcalloc(1, sizeof *m);

	m->raw = xmalloc(len + 1);
	if (len > 0)
		memcpy(m->raw, raw, len);
	m->raw[len] = '\0';
	m->len = len;
	return m;
}

struct mime_msg *
mime_parse(const char *raw, size_t len)
{
	return parse_message(msg_copy(raw, len), 0);
}

struct mime_msg *
mime_parse_owned(char *raw, size_t len, void (*release)(void *), void *arg)
{
	struct mime_msg *m = xcalloc(1, sizeof *m);

	m->raw = raw;
	m->len = len;
	m->release = release;
	m->release_arg = arg;
	return parse_message(m, 0);
}

struct mime_msg *
mime_parse_view(const char *raw, size_t len)
{
	return parse_message(msg_copy(raw, len), 1);
}

int
mime_part_fill(
    struct mime_msg *m, size_t i, const char *data, size_t len, char **cause)
{
	struct part *p;
	size_t k;

	if (i >= m->n || !m->parts[i].missing)
		return set_cause(cause,
		    "part %zu of this message is not "
		    "missing",
		    i);
	p = &m->parts[i];
	p->fill = xmalloc(len + 1);
	if (len > 0)
		memcpy(p->fill, data, len);
	p->fill[len] = '\0';
	p->fill_len = len;
	p->missing = p->pub.missing = 0;
	p->pub.raw_size = len;
	for (k = 0; k < m->natt; k++) {
		if (m->att[k].part == i)
			m->att[k].size = decoded_size(m, i);
	}
	return 0;
}

void
mime_free(struct mime_msg **mp)
{
	struct mime_msg *m = *mp;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		struct part *p = &m->parts[i];

		free(p->section);
		free(p->type);
		free(p->charset);
		free(p->filename);
		free(p->disposition);
		free(p->encoding);
		mime_params_free(&p->ct);
		free(p->remote);
		free(p->fill);
	}
	free(m->parts);
	free(m->att);
	if (m->release != NULL)
		m->release(m->release_arg);
	else
		free(m->raw);
	free(m);
	*mp = NULL;
}

size_t
mime_part_count(const struct mime_msg *m)
{
	return m->n;
}

const struct mime_part *
mime_part_at(const struct mime_msg *m, size_t i)
{
	if (i >= m->n)
		return NULL;
	return &m->parts[i].pub;
}

long
mime_part_find(const struct mime_msg *m, const char *section)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->parts[i].section, section) == 0)
			return (long)i;
	}
	return -1;
}

int
mime_part_span(const struct mime_msg *m, size_t i, size_t *hdr_off,
    size_t *body_off, size_t *body_len)
{
	const struct part *p;
	int a;

	if (i >= m->n)
		return -1;
	p = &m->parts[i];
	if (p->uu || p->missing || p->fill != NULL)
		return -1;
	for (a = p->parent; a >= 0; a = m->parts[a].parent) {
		if (m->parts[a].kind == PART_MESSAGE)
			return -1;
	}
	*hdr_off = p->hdr_off;
	*body_off = p->body_off;
	*body_len = p->body_len;
	return p->kind == PART_LEAF ? 1 : 0;
}

/*
 * uudecode, tolerant: lines after "begin" up to "end", bad chars skipped;
 * in pieces of whole lines, *state carried from one to the next (0 before
 * "begin", 1 after it, 2 after "end").
 */
static void
decode_uu(int *state, const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len && *state < 2) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;
		size_t ce = e > i && s[e - 1] == '\r' ? e - 1 : e;
		size_t next = nl ? e + 1 : len;

		if (*state == 0) {
			if (ce - i >= 6 && memcmp(s + i, "begin", 5) == 0)
				*state = 1;
			i = next;
			continue;
		}
		if (ce - i == 3 && memcmp(s + i, "end", 3) == 0) {
			*state = 2;
			break;
		}
		if (ce > i) {
			size_t n = (size_t)((s[i] - ' ') & 0x3f), j = i + 1;
			unsigned char q[4];

			while (n > 0 && j < ce) {
				size_t k;

				for (k = 0; k < 4; k++)
					q[k] = j + k < ce
					    ? (unsigned char)((s[j + k] - ' ') &
					          0x3f)
					    : 0;
				(void)buf_addc(
				    out, (char)(q[0] << 2 | q[1] >> 4));
				if (n > 1)
					(void)buf_addc(
					    out, (char)(q[1] << 4 | q[2] >> 2));
				if (n > 2)
					(void)buf_addc(
					    out, (char)(q[2] << 6 | q[3]));
				n = n > 3 ? n - 3 : 0;
				j += 4;
			}
		}
		i = next;
	}
}

/* Encoded bytes decoded at a time by mime_part_decode_to. */
#define DECODE_PIECE (1u << 20)

/*
 * Where the piece of s that starts at off ends: a cut that decodes the
 * same as the whole. base64 carries its state and the identity has none,
 * so any cut does; quoted-printable and uuencode look ahead to the end
 * of a line, so theirs follow a line end, or for quoted-printable a byte
 * that neither escapes nor pads anything.
 */
static size_t
piece_end(enum part_enc enc, const char *s, size_t off, size_t len)
{
	size_t end = off + DECODE_PIECE, p;
	const char *nl;

	if (len - off <= DECODE_PIECE)
		return len;
	if (enc != ENC_QP && enc != ENC_UU)
		return end;
	if ((nl = memrchr(s + off, '\n', DECODE_PIECE)) != NULL)
		return (size_t)(nl - s) + 1;
	for (p = end; enc == ENC_QP && p >= off + 3; p--) {
		if (strchr(" \t\r=", s[p - 1]) == NULL && s[p - 2] != '=' &&
		    s[p - 3] != '=')
			return p;
	}
	/* One line longer than a piece: it goes whole. */
	nl = memchr(s + end, '\n', len - end);
	return nl != NULL ? (size_t)(nl - s) + 1 : len;
}

int
mime_part_decode_to(
    const struct mime_msg *m, size_t i, mime_write_cb cb, void *arg)
{
	const struct part *p;
	const char *s;
	size_t len, off, end;
	struct mime_b64 b64 = { 0, 0 };
	struct buf tmp;
	int uu = 0, rc = 0;

	if (i >= m->n)
		return -1;
	p = &m->parts[i];
	s = p->fill != NULL ? p->fill : m->raw + p->body_off;
	len = p->fill != NULL ? p->fill_len : p->body_len;
	buf_init(&tmp, 0);
	for (off = 0; off < len && rc == 0; off = end) {
		end = piece_end(p->enc, s, off, len);
		buf_reset(&tmp);
		switch (p->enc) {
		case ENC_BASE64:
			mime_decode_base64_part(&b64, s + off, end - off, &tmp);
			break;
		case ENC_QP:
			mime_decode_qp(s + off, end - off, &tmp, 0);
			break;
		case ENC_UU:
			decode_uu(&uu, s + off, end - off, &tmp);
			break;
		default:
			rc = cb(arg, s + off, end - off);
			continue;
		}
		if (tmp.len > 0)
			rc = cb(arg, tmp.data, tmp.len);
	}
	buf_free(&tmp);
	return rc;
}

static int
add_to(void *arg, const char *data, size_t len)
{
	return buf_add(arg, data, len);
}

int
mime_part_decode(
    const struct mime_msg *m, size_t i, struct buf *out, char **cause)
{
	size_t before = out->len;

	if (i >= m->n)
		return set_cause(cause, "no part %zu in this message", i);
	if (mime_part_decode_to(m, i, add_to, out) != 0) {
		out->len = before;
		if (out->data != NULL)
			out->data[before] = '\0';
		return set_cause(
		    cause, "part %s is too large", m->parts[i].section);
	}
	return 0;
}

int
mime_part_text(
    const struct mime_msg *m, size_t i, struct buf *out, char **cause)
{
	struct buf raw;

	buf_init(&raw, 0);
	if (mime_part_decode(m, i, &raw, cause) != 0) {
		buf_free(&raw);
		return -1;
	}
	mime_charset_convert(
	    m->parts[i].charset, raw.data ? raw.data : "", raw.len, out);
	buf_free(&raw);
	return 0;
}

static int
count_to(void *arg, const char *data, size_t len)
{
	(void)data;
	*(size_t *)arg += len;
	return 0;
}

/* The decoded size, a piece at a time: nothing is kept. */
static size_t
decoded_size(const struct mime_msg *m, size_t i)
{
	size_t n = 0;

	(void)mime_part_decode_to(m, i, count_to, &n);
	return n;
}

size_t
mime_attachments(struct mime_msg *m, const struct mime_attachment **v)
{
	if (!m->att_done) {
		m->att_done = 1;
		/* In tree order: walk with an explicit stack. */
		{
			int *stack =
			    xreallocarray(NULL, m->n + 1, sizeof *stack);
			size_t sp = 0;

			if (m->n > 0)
				stack[sp++] = 0;
			while (sp > 0) {
				int pi = stack[--sp], c, cnt = 0, k;
				struct part *p = &m->parts[pi];

				if (p->role == ROLE_ATTACHMENT) {
					struct mime_attachment *a;

					m->att = xreallocarray(m->att,
					    m->natt + 1, sizeof *m->att);
					a = &m->att[m->natt++];
					a->part = (size_t)pi;
					a->section = p->section;
					a->filename = p->filename;
					a->type = p->type;
					/* Not downloaded: about what base64
					 * (76 of 78 bytes a line) holds. */
					a->size = !p->missing
					    ? decoded_size(m, (size_t)pi)
					    : p->enc == ENC_BASE64
					    ? (size_t)(p->remote_size / 78 * 57)
					    : (size_t)p->remote_size;
				}
				/* Push children in reverse to pop in order. */
				for (c = p->first_child; c >= 0;
				     c = m->parts[c].next)
					cnt++;
				sp += (size_t)cnt;
				k = 1;
				for (c = p->first_child; c >= 0;
				     c = m->parts[c].next)
					stack[sp - (size_t)k++] = c;
			}
			free(stack);
		}
	}
	*v = m->att;
	return m->natt;
}

long
mime_attachment_find(struct mime_msg *m, const char *label)
{
	const struct mime_attachment *v;
	size_t n = mime_attachments(m, &v), i;

	for (i = 0; i < n; i++) {
		if (strcmp(v[i].section, label) == 0)
			return (long)i;
	}
	return -1;
}

char *
mime_attachment_numbers(struct mime_msg *m)
{
	const struct mime_attachment *v;
	size_t n = mime_attachments(m, &v), i;
	struct buf b;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		(void)buf_printf(&b, "%s%s", i ? ", " : "", v[i].section);
	if (b.data == NULL)
		(void)buf_adds(&b, "");
	return buf_steal(&b, NULL);
}
