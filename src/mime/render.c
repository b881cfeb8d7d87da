/*
 * Rendering a message to the text the pager and `tern cat` show.
 *
 * The tree is walked in order (recursion bounded by the tree's depth):
 * containers show their children, alternatives the chosen one, text parts
 * their decoded text (format=flowed reflowed), HTML parts the built-in
 * conversion or the user's filter, forwarded messages their own headers
 * and body, and every other part one attachment line. Everything is
 * collected as UTF-8 and made visible (control characters, bidi
 * overrides) in one last pass, so nothing raw can slip through a path
 * that forgot.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mime-private.h"

#define FILTER_MAX_OUTPUT (16 * 1024 * 1024)
#define FILTER_TIMEOUT_MS 20000

/* Decrypted messages inside decrypted messages, at most. */
#define SEC_MAX_DEPTH 4
/* Inline OpenPGP blocks handled in one text part, at most. */
#define INLINE_MAX_BLOCKS 32

struct render {
	struct mime_msg *m;
	const struct mime_render_opts *o;
	unsigned width;
	struct buf txt;
	const struct mime_crypto_ops *crypto; /* or NULL */
	const char *from; /* addr-spec of the message's From, or "" */
	int sec_depth; /* decrypted messages this one is inside */
	/*
	 * Decrypted messages are numbered in the order shown (*ninner, shared
	 * by every level); the attachments of the K-th are labelled "eK.N"
	 * (prefix "eK."). mime_secure_attachment sets want to K to be given
	 * that message in *wanted instead of it being freed.
	 */
	unsigned *ninner;
	char prefix[16];
	unsigned want;
	struct mime_msg **wanted;
};

static void
ensure_blank(struct buf *b)
{
	if (b->len == 0)
		return;
	if (b->data[b->len - 1] != '\n')
		(void)buf_addc(b, '\n');
	if (b->len < 2 || b->data[b->len - 2] != '\n')
		(void)buf_addc(b, '\n');
}

static void
ensure_newline(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		(void)buf_addc(b, '\n');
}

/* CRLF to LF, in place, in b from byte start on. */
static void
crlf(struct buf *b, size_t start)
{
	size_t i, o = start;

	for (i = start; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len &&
		    b->data[i + 1] == '\n')
			continue;
		b->data[o++] = b->data[i];
	}
	b->len = o;
	if (b->data != NULL)
		b->data[o] = '\0';
}

/* Is a header field one of addresses (shown as a list of them)? */
static int
address_field(const char *name)
{
	static const char *const addr[] = { "from", "to", "cc", "bcc",
		"reply-to", "sender", "mail-followup-to", "resent-from",
		"resent-to", "resent-cc", "resent-sender" };

	for (size_t i = 0; i < TERN_NELEM(addr); i++) {
		if (ascii_strcasecmp(addr[i], name) == 0)
			return 1;
	}
	return 0;
}

/* The header fields of an entity, as the pager shows them. */
static void
render_headers(struct render *r, size_t off, size_t len)
{
	static const char *const shown[] = { "date", "from", "to", "cc",
		"subject" };
	static const char *const names[] = { "Date", "From", "To", "Cc",
		"Subject" };
	struct mime_header h;
	size_t i;

	mime_header_parse(r->m->raw + off, len, &h);
	if (r->o != NULL && r->o->full_headers) {
		for (i = 0; i < h.n; i++) {
			size_t vl;
			char *v = mime_field_unfold(&h.v[i], &vl);
			char *d = mime_decode_header(v, vl);

			mime_utf8_sanitize(
			    &r->txt, h.v[i].name, h.v[i].namelen);
			(void)buf_adds(&r->txt, ": ");
			(void)buf_adds(&r->txt, d);
			(void)buf_addc(&r->txt, '\n');
			free(d);
			free(v);
		}
	} else {
		int own = r->o != NULL && r->o->nheaders > 0;
		size_t n = own ? r->o->nheaders : TERN_NELEM(shown);

		for (i = 0; i < n; i++) {
			const char *want = own ? r->o->headers[i] : shown[i];
			const char *label = own ? want : names[i];
			size_t vl;
			char *v = mime_header_get(&h, want, &vl);

			if (v == NULL)
				continue;
			mime_utf8_sanitize(&r->txt, label, strlen(label));
			(void)buf_adds(&r->txt, ": ");
			if (address_field(want)) {
				struct buf a;

				buf_init(&a, 0);
				mime_address_list(v, vl, &a);
				(void)buf_add(
				    &r->txt, a.data ? a.data : "", a.len);
				buf_free(&a);
			} else {
				char *d = mime_decode_header(v, vl);

				(void)buf_adds(&r->txt, d);
				free(d);
			}
			(void)buf_addc(&r->txt, '\n');
			free(v);
		}
	}
	/* Past the limits: say so, rather than show them or nothing. */
	if (h.omitted > 0)
		(void)buf_printf(&r->txt,
		    "[-- %zu more header line%s not shown: the header is "
		    "larger than tern reads --]\n",
		    h.omitted, h.omitted == 1 ? "" : "s");
	mime_header_free(&h);
}

/*
 * format=flowed (RFC 3676): lines ending in a space continue; quote depth
 * by leading '>', space-stuffing removed, "-- " stays a line. Paragraphs
 * are wrapped at the width with their quote prefix.
 */
void
mime_flowed(
    const char *s, size_t len, int delsp, unsigned width, struct buf *out)
{
	struct buf para;
	size_t i = 0;
	int pdepth = -1, joined = 0;

	buf_init(&para, 0);
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len, j = i, ce;
		size_t next = nl ? e + 1 : len;
		int depth = 0, flowed;

		while (j < e && s[j] == '>') {
			depth++;
			j++;
		}
		if (j < e && s[j] == ' ')
			j++; /* space-stuffing (or the space after quotes) */
		ce = e;
		flowed = ce > j && s[ce - 1] == ' ' &&
		    !(ce - j == 3 && memcmp(s + j, "-- ", 3) == 0);
		if (pdepth >= 0 && depth != pdepth) {
			/* A quote change ends the paragraph. */
			char pfx[80];
			size_t pl = 0;
			int k;

			for (k = 0; k < pdepth && pl < sizeof pfx - 2; k++)
				pfx[pl++] = '>';
			if (pdepth > 0)
				pfx[pl++] = ' ';
			mime_wrap(out, para.data ? para.data : "", para.len,
			    width, pfx, pl, 0);
			if (para.len == 0) {
				(void)buf_add(out, pfx, pl);
				(void)buf_addc(out, '\n');
			}
			buf_reset(&para);
			pdepth = -1;
			joined = 0;
		}
		if (flowed && delsp)
			ce--;
		(void)buf_add(&para, s + j, ce - j);
		pdepth = depth;
		joined++;
		if (!flowed || next >= len) {
			char pfx[80];
			size_t pl = 0;
			int k;

			for (k = 0; k < depth && pl < sizeof pfx - 2; k++)
				pfx[pl++] = '>';
			if (depth > 0)
				pfx[pl++] = ' ';
			if (para.len == 0) {
				/* An empty line stays. */
				while (pl > 0 && pfx[pl - 1] == ' ')
					pl--;
				(void)buf_add(out, pfx, pl);
				(void)buf_addc(out, '\n');
			} else if (joined == 1 || width == 0) {
				(void)buf_add(out, pfx, pl);
				(void)buf_add(out, para.data, para.len);
				(void)buf_addc(out, '\n');
			} else
				mime_wrap(out, para.data, para.len, width, pfx,
				    pl, 0);
			buf_reset(&para);
			pdepth = -1;
			joined = 0;
		}
		i = next;
	}
	buf_free(&para);
}

/*
 * Run the user's HTML filter: HTML on its stdin, text from its stdout,
 * both through one poll() loop so neither side can deadlock the other,
 * with an output cap and a time limit.
 */
static int
html_filter(const char *cmd, const char *html, size_t len, struct buf *out)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, status, rc = -1;
	pid_t pid;
	size_t sent = 0;
	uint64_t start = now_ms();
	struct buf got;
	sigset_t pipeset, oldmask;

	/*
	 * A filter that exits early must not kill us with SIGPIPE: block it
	 * in this thread only (write() then fails with EPIPE) and discard
	 * the pending signal afterwards; the process's handlers are not
	 * touched, so other threads are not affected.
	 */
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);
	buf_init(&got, FILTER_MAX_OUTPUT);
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0)
		goto out;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(o[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	in[0] = o[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	for (;;) {
		struct pollfd p[2];
		int np = 0, r;
		uint64_t el = now_ms() - start;

		if (el >= FILTER_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			break;
		}
		p[np].fd = o[0];
		p[np].events = POLLIN;
		np++;
		if (in[1] >= 0) {
			p[np].fd = in[1];
			p[np].events = POLLOUT;
			np++;
		}
		r = poll(p, (nfds_t)np, (int)(FILTER_TIMEOUT_MS - el));
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (np > 1 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t n = write(in[1], html + sent, len - sent);

			if (n > 0)
				sent += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
			    sent == len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char tmp[65536];
			ssize_t n = read(o[0], tmp, sizeof tmp);

			if (n == 0)
				break;
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				break;
			}
			if (buf_add(&got, tmp, (size_t)n) != 0) {
				kill(pid, SIGKILL);
				break;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		mime_utf8_sanitize(out, got.data ? got.data : "", got.len);
		rc = 0;
	}
out:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (o[0] >= 0)
		close(o[0]);
	if (o[1] >= 0)
		close(o[1]);
	buf_free(&got);
	if (!sigismember(&oldmask, SIGPIPE)) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipeset, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	return rc;
}

static void
attachment_line(struct render *r, int pi)
{
	const struct mime_attachment *v;
	size_t n = mime_attachments(r->m, &v), i, size = 0;
	struct part *p = &r->m->parts[pi];
	char hs[32];

	for (i = 0; i < n; i++) {
		if (v[i].part == (size_t)pi)
			size = v[i].size;
	}
	ensure_newline(&r->txt);
	if (r->o != NULL && r->o->index) {
		if (p->filename != NULL) {
			(void)buf_adds(&r->txt, p->filename);
			(void)buf_addc(&r->txt, '\n');
		}
		return;
	}
	format_size((int64_t)size, 0, hs, sizeof hs);
	(void)buf_printf(&r->txt, "[-- Attachment %s%s: %s (%s, %s%s) --]\n",
	    r->prefix, p->section, p->filename ? p->filename : "(no name)",
	    p->type, hs, p->missing ? ", not downloaded" : "");
}

/*
 * Append the decoded, converted, CRLF-normalised text of a range of a
 * part to t. Text without a transfer encoding is converted from where it
 * is: a big body is not copied first.
 */
static void
part_text(struct render *r, int pi, size_t off, size_t len, struct buf *t)
{
	struct part *p = &r->m->parts[pi];
	size_t start = t->len;
	struct buf raw;

	buf_init(&raw, 0);
	switch (p->enc) {
	case ENC_BASE64:
		mime_decode_base64(r->m->raw + off, len, &raw);
		break;
	case ENC_QP:
		mime_decode_qp(r->m->raw + off, len, &raw, 0);
		break;
	default:
		mime_charset_convert(p->charset, r->m->raw + off, len, t);
		crlf(t, start);
		return;
	}
	mime_charset_convert(p->charset, raw.data ? raw.data : "", raw.len, t);
	buf_free(&raw);
	crlf(t, start);
}

static void
render_text_range(struct render *r, int pi, size_t off, size_t len)
{
	struct part *p = &r->m->parts[pi];
	const char *fmt = mime_param_get(&p->ct, "format");
	const char *delsp = mime_param_get(&p->ct, "delsp");
	struct buf t;

	if (fmt == NULL || ascii_strcasecmp(fmt, "flowed") != 0) {
		/* Straight into the text shown. */
		part_text(r, pi, off, len, &r->txt);
		ensure_newline(&r->txt);
		return;
	}
	buf_init(&t, 0);
	part_text(r, pi, off, len, &t);
	mime_flowed(t.data ? t.data : "", t.len,
	    delsp != NULL && ascii_strcasecmp(delsp, "yes") == 0, r->width,
	    &r->txt);
	ensure_newline(&r->txt);
	buf_free(&t);
}

static void render_part(struct render *r, int pi);

/* Each line of status as a status line of the pager. */
static void
status_lines(struct render *r, const struct buf *st)
{
	size_t i = 0, len = st->len;
	const char *s = st->data;

	ensure_newline(&r->txt);
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;

		if (e > i) {
			(void)buf_adds(&r->txt, "[-- ");
			mime_utf8_sanitize(&r->txt, s + i, e - i);
			(void)buf_adds(&r->txt, " --]\n");
		}
		i = nl ? e + 1 : len;
	}
}

static void
status_line(struct render *r, const char *line)
{
	ensure_newline(&r->txt);
	(void)buf_printf(&r->txt, "[-- %s --]\n", line);
}

/* Free decrypted bytes without leaving them in freed memory. */
static void
wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static void
wipe_release(void *arg)
{
	struct buf *b = arg;

	wipe(b);
	free(b);
}

/*
 * Show a decrypted MIME entity as the body of a message of its own: its
 * parts, its attachments, its own signed and encrypted parts. The bytes
 * stay in memory only, and are wiped when done.
 */
static void
render_inner(struct render *r, struct buf *plain)
{
	struct render sub;
	struct mime_msg *inner;
	struct buf *own = xmalloc(sizeof *own);
	unsigned k;

	*own = *plain;
	buf_init(plain, 0);
	if (own->data == NULL)
		(void)buf_adds(own, "");
	inner = mime_parse_owned(own->data, own->len, wipe_release, own);
	sub = *r;
	sub.m = inner;
	sub.sec_depth = r->sec_depth + 1;
	k = ++*r->ninner;
	snprintf(sub.prefix, sizeof sub.prefix, "e%u.", k);
	if (inner->n > 0)
		render_part(&sub, 0);
	if (inner->truncated) {
		ensure_blank(&sub.txt);
		(void)buf_printf(&sub.txt,
		    "[-- Some parts are not shown: more than %d parts or "
		    "nesting deeper than %d --]\n",
		    MIME_MAX_PARTS, MIME_MAX_DEPTH);
	}
	r->txt = sub.txt;
	if (r->want == k && r->wanted != NULL && *r->wanted == NULL)
		*r->wanted = inner; /* the caller's now */
	else
		mime_free(&inner);
}

/* The part's entity (header and body) with every line end CRLF, as RFC
 * 1847 signs it. */
static void
canonical_entity(
    const struct mime_msg *m, const struct part *p, struct buf *out)
{
	const char *s = m->raw + p->hdr_off;
	size_t len = p->body_off + p->body_len - p->hdr_off;

	(void)buf_reserve(out, len + len / 16 + 2);
	(void)buf_add_crlf(out, s, len);
}

static void
render_signed(struct render *r, int pi, enum mime_crypto_proto proto)
{
	struct part *p = &r->m->parts[pi];
	int c1 = p->first_child, c2 = r->m->parts[c1].next;
	struct buf data, sig, st;

	buf_init(&data, 0);
	buf_init(&sig, 0);
	buf_init(&st, 0);
	canonical_entity(r->m, &r->m->parts[c1], &data);
	if (mime_part_decode(r->m, (size_t)c2, &sig, NULL) != 0)
		(void)buf_adds(&st, "Signature not checked: it is too large");
	else
		r->crypto->verify(r->crypto->arg, proto,
		    data.data ? data.data : "", data.len,
		    sig.data ? sig.data : "", sig.len, r->from, &st);
	ensure_blank(&r->txt);
	status_lines(r, &st);
	render_part(r, c1);
	attachment_line(r, c2);
	status_line(r, "End of signed part");
	buf_free(&data);
	buf_free(&sig);
	buf_free(&st);
}

/*
 * Decrypt (or open an S/MIME signed-data) part data and show what it
 * holds; on failure say why and show the part as it is.
 */
static void
render_decrypted(struct render *r, int pi, int enc_part, enum mime_sec sec,
    enum mime_crypto_proto proto)
{
	struct buf data, plain, st;
	int rc = -1, c;

	buf_init(&data, 0);
	buf_init(&plain, 0);
	buf_init(&st, 0);
	ensure_blank(&r->txt);
	if (r->sec_depth >= SEC_MAX_DEPTH)
		(void)buf_adds(&st,
		    "Cannot decrypt: encrypted parts are nested "
		    "too deep");
	else if (mime_part_decode(r->m, (size_t)enc_part, &data, NULL) != 0)
		(void)buf_adds(&st, "Cannot decrypt: the part is too large");
	else if (sec == MIME_SEC_SMIME_SIGNED)
		rc = r->crypto->verify_opaque(r->crypto->arg, proto,
		    data.data ? data.data : "", data.len, r->from, &plain, &st);
	else
		rc = r->crypto->decrypt(r->crypto->arg, proto,
		    data.data ? data.data : "", data.len, r->from, &plain, &st);
	status_lines(r, &st);
	if (rc == 0) {
		render_inner(r, &plain);
		status_line(r,
		    sec == MIME_SEC_SMIME_SIGNED ? "End of signed part"
		                                 : "End of encrypted part");
	} else if (r->m->parts[pi].kind == PART_MULTIPART) {
		for (c = r->m->parts[pi].first_child; c >= 0;
		     c = r->m->parts[c].next)
			attachment_line(r, c);
	} else
		attachment_line(r, pi);
	buf_free(&data);
	wipe(&plain);
	buf_free(&st);
}

/* The line at s[i] starts with mark. */
static int
line_is(const char *s, size_t len, size_t i, const char *mark)
{
	size_t ml = strlen(mark);

	return (i == 0 || s[i - 1] == '\n') && len - i >= ml &&
	    memcmp(s + i, mark, ml) == 0;
}

/* Where the next line at or after i that starts with mark begins. */
static size_t
find_line(const char *s, size_t len, size_t i, const char *mark)
{
	while (i < len) {
		const char *nl;

		if (line_is(s, len, i, mark))
			return i;
		nl = memchr(s + i, '\n', len - i);
		i = nl ? (size_t)(nl - s) + 1 : len;
	}
	return len;
}

static void
inline_text(struct render *r, const char *charset, const char *s, size_t len)
{
	size_t start = r->txt.len;

	mime_charset_convert(charset, s, len, &r->txt);
	crlf(&r->txt, start);
	ensure_newline(&r->txt);
}

/*
 * A text part with inline OpenPGP blocks (d: its decoded bytes): the
 * text around them as it is, each block verified or decrypted in its
 * place.
 */
static void
render_inline(struct render *r, int pi, const char *d, size_t len)
{
	static const char signed_mark[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	static const char msg_mark[] = "-----BEGIN PGP MESSAGE-----";
	const char *cs = r->m->parts[pi].charset;
	size_t i = 0, blocks = 0;

	ensure_blank(&r->txt);
	while (i < len) {
		size_t a = find_line(d, len, i, signed_mark);
		size_t b = find_line(d, len, i, msg_mark);
		size_t start = a < b ? a : b, end;
		int sig = a < b;
		const char *endmark = sig ? "-----END PGP SIGNATURE-----"
		                          : "-----END PGP MESSAGE-----";
		struct buf plain, st;
		const char *nl;
		int rc;

		if (start == len || blocks++ >= INLINE_MAX_BLOCKS) {
			inline_text(r, cs, d + i, len - i);
			break;
		}
		end = find_line(d, len, start, endmark);
		if (end == len) {
			/* No end: the rest is text. */
			inline_text(r, cs, d + i, len - i);
			break;
		}
		nl = memchr(d + end, '\n', len - end);
		end = nl ? (size_t)(nl - d) + 1 : len;
		if (start > i)
			inline_text(r, cs, d + i, start - i);
		buf_init(&plain, 0);
		buf_init(&st, 0);
		if (r->sec_depth >= SEC_MAX_DEPTH) {
			(void)buf_adds(&st, "Not checked: nested too deep");
			rc = -1;
		} else if (sig)
			rc = r->crypto->verify_opaque(r->crypto->arg,
			    MIME_CRYPTO_PGP, d + start, end - start, r->from,
			    &plain, &st);
		else
			rc = r->crypto->decrypt(r->crypto->arg, MIME_CRYPTO_PGP,
			    d + start, end - start, r->from, &plain, &st);
		status_lines(r, &st);
		if (rc == 0) {
			/* Signed text is in the part's charset; decrypted
			 * text in whatever its writer used (UTF-8 if valid,
			 * else the usual guess). */
			inline_text(r, sig ? cs : NULL,
			    plain.data ? plain.data : "", plain.len);
			status_line(r,
			    sig ? "End of signed text"
			        : "End of encrypted text");
		} else
			inline_text(r, cs, d + start, end - start);
		wipe(&plain);
		buf_free(&st);
		i = end;
	}
}

/*
 * A signed or encrypted part shown with its status; 1 if p was one (and
 * is shown), 0 to show it as any other part.
 */
static int
render_secure(struct render *r, int pi)
{
	struct part *p = &r->m->parts[pi];
	enum mime_crypto_proto proto = MIME_CRYPTO_PGP;
	const char *why = NULL;
	enum mime_sec sec;

	if (r->crypto == NULL)
		return 0;
	sec = mime_part_security(r->m, (size_t)pi, &proto, &why);
	switch (sec) {
	case MIME_SEC_NONE:
		break;
	case MIME_SEC_BROKEN:
		ensure_blank(&r->txt);
		(void)buf_printf(&r->txt,
		    "[-- %s part %s not checked: %s --]\n",
		    strcmp(p->type, "multipart/encrypted") == 0 ? "Encrypted"
		                                                : "Signed",
		    p->section[0] ? p->section : "1", why);
		return 0;
	case MIME_SEC_SIGNED:
		render_signed(r, pi, proto);
		return 1;
	case MIME_SEC_ENCRYPTED:
		render_decrypted(
		    r, pi, r->m->parts[p->first_child].next, sec, proto);
		return 1;
	case MIME_SEC_SMIME_ENVELOPED:
	case MIME_SEC_SMIME_SIGNED:
		render_decrypted(r, pi, pi, sec, proto);
		return 1;
	}
	if (p->role == ROLE_TEXT && strcmp(p->type, "text/plain") == 0 &&
	    p->fill == NULL && !p->missing) {
		struct buf d;
		int c, uu = 0, done = 0;

		for (c = p->first_child; c >= 0; c = r->m->parts[c].next)
			uu |= r->m->parts[c].uu;
		if (uu)
			return 0;
		buf_init(&d, 0);
		if (mime_part_decode(r->m, (size_t)pi, &d, NULL) == 0 &&
		    d.data != NULL && mime_inline_pgp(d.data, d.len)) {
			render_inline(r, pi, d.data, d.len);
			done = 1;
		}
		buf_free(&d);
		return done;
	}
	return 0;
}

static void
render_part(struct render *r, int pi)
{
	struct part *p = &r->m->parts[pi];
	int c;

	if (p->role != ROLE_HIDDEN && render_secure(r, pi))
		return;
	switch (p->role) {
	case ROLE_HIDDEN:
		return;
	case ROLE_CONTAINER:
		for (c = p->first_child; c >= 0; c = r->m->parts[c].next)
			render_part(r, c);
		return;
	case ROLE_ATTACHMENT:
		attachment_line(r, pi);
		return;
	case ROLE_MESSAGE:
		ensure_blank(&r->txt);
		if (r->o != NULL && r->o->index) {
			/* Its header as the pager shows it, then its body. */
			if ((c = p->first_child) >= 0) {
				render_headers(r, r->m->parts[c].hdr_off,
				    r->m->parts[c].hdr_len);
				render_part(r, c);
			}
			return;
		}
		(void)buf_printf(
		    &r->txt, "[-- Forwarded message %s --]\n", p->section);
		if ((c = p->first_child) >= 0) {
			render_headers(
			    r, r->m->parts[c].hdr_off, r->m->parts[c].hdr_len);
			(void)buf_addc(&r->txt, '\n');
			render_part(r, c);
		}
		ensure_newline(&r->txt);
		(void)buf_printf(&r->txt,
		    "[-- End of forwarded message %s --]\n", p->section);
		return;
	case ROLE_TEXT: {
		size_t off = p->body_off, end = p->body_off + p->body_len;

		ensure_blank(&r->txt);
		/* Text around uuencoded blocks; the blocks as attachments. */
		for (c = p->first_child; c >= 0; c = r->m->parts[c].next) {
			struct part *u = &r->m->parts[c];

			if (!u->uu)
				continue;
			if (u->body_off > off)
				render_text_range(
				    r, pi, off, u->body_off - off);
			attachment_line(r, c);
			off = u->body_off + u->body_len;
		}
		if (end > off)
			render_text_range(r, pi, off, end - off);
		return;
	}
	case ROLE_HTML: {
		struct buf t;
		const char *f = r->o && !r->o->index ? r->o->html_filter : NULL;

		ensure_blank(&r->txt);
		buf_init(&t, 0);
		part_text(r, pi, p->body_off, p->body_len, &t);
		if (f == NULL || *f == '\0' ||
		    html_filter(f, t.data ? t.data : "", t.len, &r->txt) != 0) {
			if (f != NULL && *f != '\0')
				(void)buf_adds(&r->txt,
				    "[-- html_filter failed; built-in "
				    "conversion --]\n");
			mime_html_to_text(
			    t.data ? t.data : "", t.len, r->width, &r->txt);
		}
		ensure_newline(&r->txt);
		buf_free(&t);
		return;
	}
	}
}

/* The addr-spec of the message's From, to compare with a signer's. */
static char *
message_from(struct mime_msg *m)
{
	struct mime_header h;
	struct buf a;
	char *v, *lt, *gt, *s;
	size_t vl;

	mime_header_parse(
	    m->raw + m->parts[0].hdr_off, m->parts[0].hdr_len, &h);
	v = mime_header_get(&h, "from", &vl);
	mime_header_free(&h);
	if (v == NULL)
		return xstrdup("");
	buf_init(&a, 0);
	mime_address_list(v, vl, &a);
	free(v);
	s = buf_steal(&a, NULL);
	if ((v = strchr(s, ',')) != NULL && strchr(s, '<') == NULL)
		*v = '\0';
	if ((lt = strrchr(s, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		v = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		free(s);
		return v;
	}
	return s;
}

/* Text handed on by mime_render_to at a time. */
#define RENDER_PIECE (1u << 20)

static int render_run(struct mime_msg *m, const struct mime_render_opts *o,
    mime_write_cb cb, void *arg, unsigned want, struct mime_msg **wanted);

int
mime_render_to(struct mime_msg *m, const struct mime_render_opts *o,
    mime_write_cb cb, void *arg)
{
	return render_run(m, o, cb, arg, 0, NULL);
}

static int
discard(void *arg, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return 0;
}

int
mime_secure_attachment(struct mime_msg *m, const struct mime_render_opts *o,
    const char *label, struct mime_msg **inner, size_t *part)
{
	const struct mime_attachment *v;
	const char *dot;
	uint64_t k;
	long a;

	*inner = NULL;
	if (label[0] != 'e' || (dot = strchr(label, '.')) == NULL ||
	    parse_uint64(label + 1, (size_t)(dot - label - 1), 10000, &k) !=
	        0 ||
	    k == 0 || o == NULL || o->crypto == NULL)
		return 0;
	(void)render_run(m, o, discard, NULL, (unsigned)k, inner);
	if (*inner == NULL)
		return 0;
	if ((a = mime_attachment_find(*inner, dot + 1)) < 0) {
		mime_free(inner);
		return 0;
	}
	(void)mime_attachments(*inner, &v);
	*part = v[a].part;
	return 1;
}

static int
render_run(struct mime_msg *m, const struct mime_render_opts *o,
    mime_write_cb cb, void *arg, unsigned want, struct mime_msg **wanted)
{
	struct render r;
	struct buf vis;
	size_t off, end;
	char *from = NULL;
	unsigned ninner = 0;
	int rc = 0;

	r.m = m;
	r.o = o;
	r.width = o != NULL && o->width > 0 ? o->width : 72;
	/* A search index never sees inside an encrypted part. */
	r.crypto = o != NULL && !o->index ? o->crypto : NULL;
	r.sec_depth = 0;
	r.from = "";
	r.ninner = &ninner;
	r.prefix[0] = '\0';
	r.want = want;
	r.wanted = wanted;
	buf_init(&r.txt, 0);
	if (r.crypto != NULL && m->n > 0)
		r.from = from = message_from(m);
	if (m->n > 0 && o != NULL && o->index)
		render_part(&r, 0);
	else if (m->n > 0) {
		render_headers(&r, m->parts[0].hdr_off, m->parts[0].hdr_len);
		/* What the store knows of the message, not its bytes. */
		if (o != NULL && o->keywords != NULL && *o->keywords != '\0')
			(void)buf_printf(&r.txt, "Keywords: %s\n", o->keywords);
		if (r.txt.len > 0)
			(void)buf_addc(&r.txt, '\n');
		render_part(&r, 0);
	}
	if (m->truncated && (o == NULL || !o->index)) {
		ensure_blank(&r.txt);
		(void)buf_printf(&r.txt,
		    "[-- Some parts are not shown: more than %d parts or "
		    "nesting deeper than %d --]\n",
		    MIME_MAX_PARTS, MIME_MAX_DEPTH);
	}
	/*
	 * The one pass that makes everything visible, a piece at a time so
	 * a big text is not held twice. A piece ends before a character's
	 * first byte: each piece reads as it would in the whole.
	 */
	buf_init(&vis, 0);
	for (off = 0; off < r.txt.len && rc == 0; off = end) {
		end = r.txt.len - off <= RENDER_PIECE ? r.txt.len
		                                      : off + RENDER_PIECE;
		while (end < r.txt.len && end > off + RENDER_PIECE - 4 &&
		    ((unsigned char)r.txt.data[end] & 0xc0) == 0x80)
			end--;
		buf_reset(&vis);
		text_visible(&vis, r.txt.data + off, end - off, 1);
		rc = cb(arg, vis.data ? vis.data : "", vis.len);
	}
	buf_free(&vis);
	/* The text may hold decrypted words. */
	wipe(&r.txt);
	free(from);
	return rc;
}

static int
add_to(void *arg, const char *data, size_t len)
{
	return buf_add(arg, data, len);
}

int
mime_render(struct mime_msg *m, const struct mime_render_opts *o,
    struct buf *out, char **cause)
{
	size_t before = out->len;

	if (mime_render_to(m, o, add_to, out) != 0) {
		out->len = before;
		if (out->data != NULL)
			out->data[before] = '\0';
		return set_cause(cause, "the message is too large to show");
	}
	return 0;
}
