/*
 * Building the message to send: header fields, the text body in the
 * transfer encoding its content needs, and attachments in base64 with
 * RFC 2231 file names.
 *
 * Every line ends in CRLF and stays within 998 characters: that is what
 * makes 7bit and 8bit safe, and why a text with longer lines or bare CRs
 * goes quoted-printable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "compose-private.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
compose_base64_encode(struct buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	char q[4];
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		q[0] = b64chars[p[i] >> 2];
		q[1] = b64chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		q[2] = b64chars[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		q[3] = b64chars[p[i + 2] & 63];
		buf_add(out, q, 4);
	}
	if (i < len) {
		q[0] = b64chars[p[i] >> 2];
		if (i + 1 < len) {
			q[1] = b64chars[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			q[2] = b64chars[(p[i + 1] & 15) << 2];
		} else {
			q[1] = b64chars[(p[i] & 3) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		buf_add(out, q, 4);
	}
}

/* Base64 in lines of 76 characters, for a MIME body. */
static void
base64_lines(struct buf *out, const void *data, size_t len)
{
	const char *p = data;
	size_t i;

	for (i = 0; i < len; i += 57) {
		compose_base64_encode(out, p + i, len - i < 57 ? len - i : 57);
		buf_add(out, "\r\n", 2);
	}
}

const char *
compose_text_encoding(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, line = 0, maxline = 0, high = 0;
	int ctrl = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			if (line > maxline)
				maxline = line;
			line = 0;
			continue;
		}
		line++;
		if (p[i] >= 0x80)
			high++;
		else if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\f') ||
		    p[i] == 0x7f)
			ctrl = 1; /* NUL, a bare CR, escapes */
	}
	if (line > maxline)
		maxline = line;
	if (!ctrl && maxline <= 998) {
		if (high == 0)
			return "7bit";
		if (utf8_valid((const char *)p, len, 1))
			return "8bit";
	}
	/* Mostly ASCII stays readable as quoted-printable. */
	if (high * 3 <= len && !memchr(s, '\0', len))
		return "quoted-printable";
	return "base64";
}

void
compose_qp_encode(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, col = 0;
	char enc[3];

	for (i = 0; i < len; i++) {
		unsigned char c = p[i];
		int at_eol = i + 1 == len || p[i + 1] == '\n';
		size_t w;

		if (c == '\n') {
			buf_add(out, "\r\n", 2);
			col = 0;
			continue;
		}
		/* Literal unless it could be misread or lost in transit. */
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !at_eol)) {
			w = 1;
			enc[0] = (char)c;
		} else {
			w = 3;
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
		}
		/* A soft break keeps lines within 76 columns. */
		if (col + w > (at_eol ? 76 : 75)) {
			buf_add(out, "=\r\n", 3);
			col = 0;
		}
		buf_add(out, enc, w);
		col += w;
	}
	if (col > 0)
		buf_add(out, "\r\n", 2);
}

static int
has_prefix(const void *data, size_t len, const char *magic, size_t mlen)
{
	return len >= mlen && memcmp(data, magic, mlen) == 0;
}

static const char *
type_by_extension(const char *name, int text)
{
	static const struct {
		const char *ext;
		const char *type;
	} table[] = {
		{ "txt", "text/plain" },
		{ "html", "text/html" },
		{ "htm", "text/html" },
		{ "csv", "text/csv" },
		{ "ics", "text/calendar" },
		{ "md", "text/markdown" },
		{ "xml", "text/xml" },
		{ "json", "application/json" },
		{ "patch", "text/x-diff" },
		{ "diff", "text/x-diff" },
		{ "pdf", "application/pdf" },
		{ "png", "image/png" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "gif", "image/gif" },
		{ "webp", "image/webp" },
		{ "svg", "image/svg+xml" },
		{ "mp3", "audio/mpeg" },
		{ "ogg", "audio/ogg" },
		{ "wav", "audio/wav" },
		{ "mp4", "video/mp4" },
		{ "zip", "application/zip" },
		{ "gz", "application/gzip" },
		{ "tar", "application/x-tar" },
		{ "doc", "application/msword" },
		{ "docx",
		    "application/"
		    "vnd.openxmlformats-officedocument.wordprocessingml."
		    "document" },
		{ "xlsx",
		    "application/"
		    "vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "odt", "application/vnd.oasis.opendocument.text" },
		{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "eml", "message/rfc822" },
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;
	size_t i;

	if (dot != NULL) {
		for (i = 0; i < TERN_NELEM(table); i++) {
			if (ascii_strcasecmp(dot + 1, table[i].ext) != 0)
				continue;
			/* The name may lie; text must look like text. */
			if (strncmp(table[i].type, "text/", 5) == 0 && !text)
				break;
			return table[i].type;
		}
	}
	return text ? "text/plain" : "application/octet-stream";
}

const char *
compose_guess_type(const char *name, const void *data, size_t len)
{
	const char *p = data;

	if (has_prefix(data, len, "%PDF-", 5))
		return "application/pdf";
	if (has_prefix(data, len, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (has_prefix(data, len, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (has_prefix(data, len, "GIF87a", 6) ||
	    has_prefix(data, len, "GIF89a", 6))
		return "image/gif";
	if (len >= 12 && has_prefix(data, len, "RIFF", 4) &&
	    memcmp(p + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (has_prefix(data, len, "\x1f\x8b", 2))
		return "application/gzip";
	if (has_prefix(data, len, "PK\x03\x04", 4)) {
		const char *t = type_by_extension(name, 0);

		/* Office documents are zip files too. */
		if (strncmp(t, "application/vnd.", 16) == 0)
			return t;
		return "application/zip";
	}
	if (memchr(data, '\0', len) == NULL && utf8_valid(data, len, 1))
		return type_by_extension(name, 1);
	return type_by_extension(name, 0);
}

/* RFC 2231 attribute-char: what may stay as it is in a parameter. */
static int
attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$&+-.^_`|~", c) != NULL;
}

void
compose_param_add(struct buf *out, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)value;
	size_t len = strlen(value), i, seg, n;
	struct buf enc;
	int plain = len <= 60;

	for (i = 0; i < len && plain; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			plain = 0;
	}
	if (plain) {
		buf_printf(out, ";\r\n %s=\"", name);
		for (i = 0; i < len; i++) {
			if (p[i] == '"' || p[i] == '\\')
				buf_addc(out, '\\');
			buf_addc(out, (char)p[i]);
		}
		buf_addc(out, '"');
		return;
	}
	buf_init(&enc, 0);
	for (i = 0; i < len; i++) {
		if (attr_char(p[i]))
			buf_addc(&enc, (char)p[i]);
		else {
			buf_addc(&enc, '%');
			buf_addc(&enc, hex[p[i] >> 4]);
			buf_addc(&enc, hex[p[i] & 15]);
		}
	}
	if (enc.len + strlen(name) <= 60) {
		buf_printf(out, ";\r\n %s*=utf-8''%s", name, enc.data);
		buf_free(&enc);
		return;
	}
	/* Continuations of about 50 characters, never splitting a %XX. */
	for (i = 0, seg = 0; i < enc.len; seg++) {
		n = enc.len - i < 50 ? enc.len - i : 50;
		if (n < enc.len - i) {
			if (enc.data[i + n - 1] == '%')
				n -= 1;
			else if (enc.data[i + n - 2] == '%')
				n -= 2;
		}
		buf_printf(out, ";\r\n %s*%zu*=%s", name, seg,
		    seg == 0 ? "utf-8''" : "");
		buf_add(out, enc.data + i, n);
		i += n;
	}
	buf_free(&enc);
}

void
compose_date(int64_t t, char *out, size_t len)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
		"Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;
	long off;

	/* Names in English whatever the locale: RFC 5322 wants them. */
	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(out, len, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

static char *
random_hex(size_t bytes)
{
	unsigned char r[32];
	char *s = xmalloc(bytes * 2 + 1);
	size_t i;

	if (bytes > sizeof r)
		bytes = sizeof r;
	if (RAND_bytes(r, (int)bytes) != 1) {
		/* Uniqueness, not secrecy, is what is needed here. */
		uint64_t x = now_ms() ^ ((uint64_t)getpid() << 32);

		for (i = 0; i < bytes; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			r[i] = (unsigned char)(x >> 56);
		}
	}
	for (i = 0; i < bytes; i++)
		snprintf(s + i * 2, 3, "%02x", r[i]);
	return s;
}

char *
compose_message_id(const char *from)
{
	char *spec = from != NULL ? compose_addr_spec(from) : NULL;
	const char *at = spec != NULL ? strrchr(spec, '@') : NULL;
	char *domain, *rnd, *id;
	size_t i;

	domain = xstrdup(at != NULL && at[1] != '\0' ? at + 1 : "tern.invalid");
	for (i = 0; domain[i] != '\0'; i++) {
		char c = domain[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '-'))
			domain[i] = '-';
	}
	rnd = random_hex(12);
	id = xasprintf("<%lld.%s@%s>", (long long)time(NULL), rnd, domain);
	free(rnd);
	free(domain);
	free(spec);
	return id;
}

/* Append list's addr-specs to the vector; -1 on one tern cannot send to. */
static int
add_rcpts(char ***v, size_t *n, const char *list, char **cause)
{
	char **a = compose_addr_list(list);
	size_t i;
	int ret = 0;

	for (i = 0; a[i] != NULL; i++) {
		const char *p;

		for (p = a[i]; *p != '\0'; p++) {
			if ((unsigned char)*p <= 0x20 ||
			    (unsigned char)*p >= 0x7f)
				break;
		}
		if (*p != '\0' || strchr(a[i], '@') == NULL) {
			char *vis = text_visible_dup(a[i]);

			ret = set_cause(cause,
			    "'%s' is not an address tern can send to "
			    "(user@domain, ASCII)",
			    vis);
			free(vis);
			break;
		}
		*v = xreallocarray(*v, *n + 2, sizeof **v);
		(*v)[(*n)++] = a[i];
		a[i] = xstrdup("");
		(*v)[*n] = NULL;
	}
	compose_strv_free(a);
	return ret;
}

/* Header names a draft may not set: tern writes them itself. */
static int
reserved_header(const char *line)
{
	static const char *names[] = { "date", "message-id", "mime-version",
		"content-", "bcc", "from", "to", "cc", "subject", "in-reply-to",
		"references", "attach" };
	size_t i, n;

	for (i = 0; i < TERN_NELEM(names); i++) {
		n = strlen(names[i]);
		if (ascii_strncasecmp(line, names[i], n) == 0 &&
		    (names[i][n - 1] == '-' || line[n] == ':'))
			return 1;
	}
	return 0;
}

static void
text_part(struct buf *out, const char *body)
{
	size_t len = strlen(body);
	const char *cte = compose_text_encoding(body, len);

	buf_adds(out, "Content-Type: text/plain; charset=utf-8\r\n");
	buf_printf(out, "Content-Transfer-Encoding: %s\r\n\r\n", cte);
	if (strcmp(cte, "quoted-printable") == 0)
		compose_qp_encode(out, body, len);
	else if (strcmp(cte, "base64") == 0)
		base64_lines(out, body, len);
	else {
		compose_add_crlf(out, body, len);
		if (len > 0 && body[len - 1] != '\n')
			buf_adds(out, "\r\n");
	}
}

static int
attach_part(struct buf *out, const char *path, char **cause)
{
	struct buf data;
	const char *slash = strrchr(path, '/'), *type;
	const char *name = slash != NULL ? slash + 1 : path;

	buf_init(&data, 0);
	if (read_file(path, COMPOSE_ATTACH_MAX, &data, cause) != 0) {
		buf_free(&data);
		return -1;
	}
	type = compose_guess_type(name, data.data, data.len);
	buf_printf(out, "Content-Type: %s", type);
	if (strncmp(type, "text/", 5) == 0)
		buf_adds(out, "; charset=utf-8");
	compose_param_add(out, "name", name);
	buf_adds(out, "\r\nContent-Disposition: attachment");
	compose_param_add(out, "filename", name);
	buf_adds(out, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
	base64_lines(out, data.data, data.len);
	buf_free(&data);
	return 0;
}

/*
 * Check that c has a From address and gather the addr-spec of each of its
 * recipients into *v; a draft may have none yet.
 */
static int
gather_rcpts(
    const struct compose *c, int flags, char ***v, size_t *n, char **cause)
{
	char *spec;

	if ((spec = c->from != NULL ? compose_addr_spec(c->from) : NULL) ==
	    NULL) {
		set_cause(cause, "no From address: set 'from' for the account");
		return -1;
	}
	free(spec);
	if (add_rcpts(v, n, c->to, cause) != 0 ||
	    add_rcpts(v, n, c->cc, cause) != 0 ||
	    add_rcpts(v, n, c->bcc, cause) != 0)
		return -1;
	if (*n == 0 && !(flags & COMPOSE_DRAFT)) {
		set_cause(cause, "no recipients: fill in To, Cc or Bcc");
		return -1;
	}
	return 0;
}

/* The message's header fields, from Date to MIME-Version. */
static void
header_fields(struct buf *out, const struct compose *c, int64_t now, int flags)
{
	char date[64], *msgid;
	size_t i;

	compose_date(now ? now : (int64_t)time(NULL), date, sizeof date);
	buf_printf(out, "Date: %s\r\n", date);
	compose_header_add(out, "From", c->from, 1);
	if (c->to != NULL && *c->to != '\0')
		compose_header_add(out, "To", c->to, 1);
	if (c->cc != NULL && *c->cc != '\0')
		compose_header_add(out, "Cc", c->cc, 1);
	if ((flags & (COMPOSE_KEEP_BCC | COMPOSE_DRAFT)) && c->bcc != NULL &&
	    *c->bcc != '\0')
		compose_header_add(out, "Bcc", c->bcc, 1);
	compose_header_add(out, "Subject", c->subject ? c->subject : "", 0);
	msgid = compose_message_id(c->from);
	buf_printf(out, "Message-ID: %s\r\n", msgid);
	free(msgid);
	if (c->in_reply_to != NULL)
		compose_header_add(out, "In-Reply-To", c->in_reply_to, 0);
	if (c->references != NULL)
		compose_header_add(out, "References", c->references, 0);
	for (i = 0; i < c->nextra; i++) {
		const char *colon = strchr(c->extra[i], ':');

		if (colon == NULL || reserved_header(c->extra[i]))
			continue;
		{
			char *name = xstrndup(
			    c->extra[i], (size_t)(colon - c->extra[i]));

			compose_header_add(out, name, colon + 1, 0);
			free(name);
		}
	}
	buf_adds(out, "MIME-Version: 1.0\r\n");
}

/* A forwarded message fr[0..fl) as a message/rfc822 part. */
static void
forward_part(struct buf *out, const char *fr, size_t fl)
{
	buf_printf(out,
	    "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: inline\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n",
	    compose_has_8bit(fr, fl) ? "8bit" : "7bit");
	compose_add_crlf(out, fr, fl);
	if (fl > 0 && fr[fl - 1] != '\n')
		buf_adds(out, "\r\n");
}

/*
 * The body as multipart/mixed: the text, if any, then each attachment,
 * then each forwarded message.
 */
static int
multipart_body(struct buf *out, const struct compose *c, char **cause)
{
	char *boundary = NULL;
	size_t i;
	int ret = -1;

	do {
		char *r = random_hex(12);

		free(boundary);
		boundary = xasprintf("=_tern_%s", r);
		free(r);
	} while (c->body != NULL && strstr(c->body, boundary) != NULL);
	buf_printf(out,
	    "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n"
	    "This is a message in MIME format.\r\n",
	    boundary);
	if (c->body != NULL && *c->body != '\0') {
		buf_printf(out, "\r\n--%s\r\n", boundary);
		text_part(out, c->body);
	}
	for (i = 0; i < c->nattach; i++) {
		buf_printf(out, "\r\n--%s\r\n", boundary);
		if (attach_part(out, c->attach[i], cause) != 0)
			goto out;
	}
	for (i = 0; c->fwd_raw != NULL && i <= c->nfwd_more; i++) {
		buf_printf(out, "\r\n--%s\r\n", boundary);
		forward_part(out, i == 0 ? c->fwd_raw : c->fwd_more[i - 1],
		    i == 0 ? c->fwd_len : c->fwd_more_len[i - 1]);
	}
	buf_printf(out, "\r\n--%s--\r\n", boundary);
	ret = 0;
out:
	free(boundary);
	return ret;
}

int
compose_build(const struct compose *c, int64_t now, int flags, struct buf *out,
    char ***rcpts, char **cause)
{
	char **v = NULL;
	size_t n = 0;
	int multipart, ret = -1;

	buf_reset(out);
	v = xcalloc(1, sizeof *v);
	if (gather_rcpts(c, flags, &v, &n, cause) != 0)
		goto out;
	header_fields(out, c, now, flags);
	multipart = c->nattach > 0 || c->fwd_raw != NULL;
	if (multipart)
		ret = multipart_body(out, c, cause);
	else {
		text_part(out, c->body ? c->body : "");
		ret = 0;
	}
out:
	if (ret == 0 && out->len > COMPOSE_MESSAGE_MAX)
		ret = set_cause(cause,
		    "the message is too large (more than %u MiB)",
		    COMPOSE_MESSAGE_MAX >> 20);
	if (ret == 0 && rcpts != NULL) {
		*rcpts = v;
		v = NULL;
	}
	compose_strv_free(v);
	return ret;
}

/* Whether line (a header field start) is field name. */
static int
field_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && ascii_strncasecmp(line, name, n) == 0 &&
	    line[n] == ':';
}

int
compose_prepare_raw(
    const char *raw, size_t len, struct buf *out, char ***rcpts, char **cause)
{
	static const char *const lists[] = { "To", "Cc", "Bcc" };
	size_t hend = compose_header_end(raw, len), i = 0, start, n = 0, k;
	char **v = xcalloc(1, sizeof *v), *val;
	int skip = 0, ret = -1;

	buf_reset(out);
	while (i < hend) {
		start = i;
		while (i < hend && raw[i] != '\n')
			i++;
		if (i < hend)
			i++;
		if (raw[start] != ' ' && raw[start] != '\t') {
			skip = field_is(raw + start, i - start, "Bcc");
			/* Every occurrence of each field counts. */
			for (k = 0; k < TERN_NELEM(lists); k++) {
				if (!field_is(raw + start, i - start, lists[k]))
					continue;
				val = compose_header_get(
				    raw + start, hend - start, lists[k]);
				if (add_rcpts(&v, &n, val, cause) != 0) {
					free(val);
					goto out;
				}
				free(val);
			}
		}
		if (!skip)
			compose_add_crlf(out, raw + start, i - start);
	}
	compose_add_crlf(out, raw + hend, len - hend);
	if (n == 0) {
		set_cause(cause, "the message has no To, Cc or Bcc recipient");
		goto out;
	}
	*rcpts = v;
	v = NULL;
	ret = 0;
out:
	compose_strv_free(v);
	return ret;
}

void
compose_complete_raw(
    const char *raw, size_t len, const char *from, struct buf *out)
{
	size_t hend = compose_header_end(raw, len);
	char *v, date[64];

	buf_reset(out);
	if ((v = compose_header_get(raw, hend, "From")) == NULL && from != NULL)
		compose_header_add(out, "From", from, 1);
	free(v);
	if ((v = compose_header_get(raw, hend, "Date")) == NULL) {
		compose_date((int64_t)time(NULL), date, sizeof date);
		buf_printf(out, "Date: %s\r\n", date);
	}
	free(v);
	if ((v = compose_header_get(raw, hend, "Message-ID")) == NULL) {
		char *id = compose_message_id(from);

		buf_printf(out, "Message-ID: %s\r\n", id);
		free(id);
	}
	free(v);
	compose_add_crlf(out, raw, len);
}
