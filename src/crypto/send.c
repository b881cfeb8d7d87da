/*
 * Writing signed and encrypted mail. A complete message is split into
 * its outer header (From, To, Subject ...) and its body entity (the
 * Content-* fields and the body); the entity is signed (RFC 3156 section
 * 5, or S/MIME multipart/signed), then the signed entity or the plain one
 * is encrypted (RFC 3156 sections 4 and 6.1, or S/MIME enveloped-data),
 * and the outer header is put back on top.
 *
 * Before signing, every leaf sent as 7bit, 8bit or binary whose lines
 * would not survive transport unchanged (8-bit bytes, trailing white
 * space, a line that starts "From ", a stray CR or LF) is made
 * quoted-printable, so the signature still holds at the other end.
 *
 * Encryption goes to every To, Cc and Bcc recipient and to the sender,
 * so the Sent copy stays readable. A recipient without a usable key
 * stops it, naming each such recipient: nothing is ever sent in clear
 * that was meant to be encrypted.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "tern/compose.h"
#include "tern/rc.h"
#include "crypto-private.h"

/* Recipients of one message, at most. */
#define CRYPTO_MAX_RCPTS 500

/* A header field [start, end) of raw, with its continuation lines. */
struct field {
	size_t start, end;
};

/* Free a buffer that held the message in clear. */
static void
wipe(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

static int
field_is(const char *raw, const struct field *f, const char *name)
{
	size_t n = strlen(name);

	return f->end - f->start > n &&
	    ascii_strncasecmp(raw + f->start, name, n) == 0 &&
	    raw[f->start + n] == ':';
}

/* The unfolded, trimmed value of field f (malloc'd). */
static char *
field_value(const char *raw, const struct field *f)
{
	const char *c = memchr(raw + f->start, ':', f->end - f->start);
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = (size_t)(c - raw) + 1; i < f->end; i++) {
		if (raw[i] == '\r' || raw[i] == '\n')
			continue;
		(void)buf_addc(&b, raw[i]);
	}
	(void)buf_adds(&b, "");
	while (b.len > 0 &&
	    (b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
		b.data[--b.len] = '\0';
	{
		size_t k = 0;

		while (b.data[k] == ' ' || b.data[k] == '\t')
			k++;
		memmove(b.data, b.data + k, b.len - k + 1);
	}
	return buf_steal(&b, NULL);
}

/*
 * Split msg (CRLF lines) into header fields; *body is where the body
 * starts (after the blank line). Returns the number of fields.
 */
static size_t
split_fields(const char *msg, size_t len, struct field **vp, size_t *body)
{
	struct field *v = NULL;
	size_t n = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(msg + i, '\n', len - i);
		size_t next = nl ? (size_t)(nl - msg) + 1 : len;

		if (next - i <= 2 && (msg[i] == '\r' || msg[i] == '\n')) {
			i = next; /* the blank line */
			break;
		}
		if ((msg[i] == ' ' || msg[i] == '\t') && n > 0)
			v[n - 1].end = next;
		else {
			v = xreallocarray(v, n + 1, sizeof *v);
			v[n].start = i;
			v[n].end = next;
			n++;
		}
		i = next;
	}
	*vp = v;
	*body = i;
	return n;
}

static int
yes_no(const char *v, int *out)
{
	if (ascii_strcasecmp(v, "yes") == 0 || ascii_strcasecmp(v, "on") == 0 ||
	    ascii_strcasecmp(v, "true") == 0)
		*out = 1;
	else if (ascii_strcasecmp(v, "no") == 0 ||
	    ascii_strcasecmp(v, "off") == 0 ||
	    ascii_strcasecmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

void
crypto_wanted(const struct rc_account *a, const char *raw, size_t len,
    int *sign, int *encrypt)
{
	char *v;
	int b;

	*sign = a != NULL && a->pgp_sign;
	*encrypt = a == NULL                    ? 0
	    : a->pgp_encrypt == RC_ENCRYPT_YES  ? 1
	    : a->pgp_encrypt == RC_ENCRYPT_AUTO ? CRYPTO_DEFAULT
	                                        : 0;
	if ((v = compose_header_get(raw, len, "Sign")) != NULL &&
	    yes_no(v, &b) == 0)
		*sign = b;
	free(v);
	if ((v = compose_header_get(raw, len, "Encrypt")) != NULL &&
	    yes_no(v, &b) == 0)
		*encrypt = b;
	free(v);
}

static char *
boundary(void)
{
	unsigned char r[12];
	static const char hex[] = "0123456789abcdef";
	char s[2 * sizeof r + 1];
	size_t i;

	if (RAND_bytes(r, sizeof r) != 1)
		abort();
	for (i = 0; i < sizeof r; i++) {
		s[2 * i] = hex[r[i] >> 4];
		s[2 * i + 1] = hex[r[i] & 15];
	}
	s[2 * sizeof r] = '\0';
	return xasprintf("=-tern-%s", s);
}

/*
 * Quoted-printable for a body that is signed: CRLF stays a line break,
 * every other byte that could change on its way is escaped, "From " at
 * the start of a line included (RFC 3156 section 5).
 */
static void
qp_signable(struct buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int crlf = c == '\r' && i + 1 < len && s[i + 1] == '\n';
		int at_eol = i + 1 == len ||
		    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n');
		char enc[3];
		size_t w;

		if (crlf) {
			(void)buf_add(out, "\r\n", 2);
			col = 0;
			i++;
			continue;
		}
		if (((c >= 33 && c <= 126 && c != '=') ||
		        ((c == ' ' || c == '\t') && !at_eol)) &&
		    !(col == 0 && c == 'F' && len - i >= 5 &&
		        memcmp(s + i, "From ", 5) == 0) &&
		    !(col == 0 && c == '.' && at_eol)) {
			w = 1;
			enc[0] = (char)c;
		} else {
			w = 3;
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
		}
		if (col + w > (at_eol ? 76 : 75)) {
			(void)buf_add(out, "=\r\n", 3);
			col = 0;
			/* After a soft break the line starts anew. */
			if (w == 1 && c == 'F' && len - i >= 5 &&
			    memcmp(s + i, "From ", 5) == 0) {
				w = 3;
				memcpy(enc, "=46", 3);
			}
		}
		(void)buf_add(out, enc, w);
		col += w;
	}
}

/* Whether a body sent as it is would reach the other end changed. */
static int
needs_qp(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x80 || c == 0 || c == 0x7f)
			return 1;
		if (c == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			return 1;
		if (c == '\n' && (i == 0 || s[i - 1] != '\r'))
			return 1;
		if ((c == ' ' || c == '\t') &&
		    (i + 1 == len || s[i + 1] == '\r'))
			return 1;
		if ((i == 0 || s[i - 1] == '\n') && len - i >= 5 &&
		    memcmp(s + i, "From ", 5) == 0)
			return 1;
	}
	return 0;
}

static int
identity_encoding(const char *enc)
{
	return enc == NULL || strcmp(enc, "7bit") == 0 ||
	    strcmp(enc, "8bit") == 0 || strcmp(enc, "binary") == 0;
}

/* A part's header block with its transfer encoding made quoted-printable. */
static void
header_qp(struct buf *out, const char *h, size_t len)
{
	struct field *v = NULL;
	size_t n, i, body;

	n = split_fields(h, len, &v, &body);
	for (i = 0; i < n; i++) {
		if (!field_is(h, &v[i], "Content-Transfer-Encoding"))
			(void)buf_add(
			    out, h + v[i].start, v[i].end - v[i].start);
	}
	(void)buf_adds(out,
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	free(v);
}

/* The entity e (CRLF lines) as it must be to be signed. */
static void
signable(const char *e, size_t len, struct buf *out)
{
	struct mime_msg *m = mime_parse(e, len);
	size_t i, n = mime_part_count(m), pos = 0, ho, bo, bl;

	for (i = 0; i < n; i++) {
		const struct mime_part *p = mime_part_at(m, i);

		if (mime_part_span(m, i, &ho, &bo, &bl) != 1 ||
		    !identity_encoding(p->encoding) ||
		    strncmp(p->type, "message/", 8) == 0 || ho < pos ||
		    !needs_qp(e + bo, bl))
			continue;
		(void)buf_add(out, e + pos, ho - pos);
		header_qp(out, e + ho, bo - ho);
		qp_signable(out, e + bo, bl);
		pos = bo + bl;
	}
	(void)buf_add(out, e + pos, len - pos);
	mime_free(&m);
}

/* Base64 in lines of 76, CRLF. */
static void
base64_lines(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 57) {
		compose_base64_encode(out, s + i, len - i < 57 ? len - i : 57);
		(void)buf_add(out, "\r\n", 2);
	}
}

/* Whether pattern names an address rather than a key. */
static int
is_address(const char *pattern)
{
	return strchr(pattern, '@') != NULL;
}

/*
 * The first usable key for pattern: an address must be one of the key's
 * valid user IDs; with need_valid, (OpenPGP) that user ID must be
 * certified. NULL if there is none.
 */
static gpgme_key_t
find_key(gpgme_ctx_t ctx, const char *pattern, int secret, int for_signing,
    int need_valid)
{
	gpgme_key_t k, found = NULL;
	gpgme_user_id_t u;
	int n = 0;

	if (gpgme_op_keylist_start(ctx, pattern, secret) != 0)
		return NULL;
	while (found == NULL && n++ < CRYPTO_MAX_KEYS &&
	    gpgme_op_keylist_next(ctx, &k) == 0) {
		int ok = crypto_key_usable(k, for_signing);

		if (ok && is_address(pattern)) {
			ok = 0;
			for (u = k->uids; u != NULL && !ok; u = u->next)
				ok = !u->revoked && !u->invalid &&
				    crypto_addr_eq(u->email, pattern) &&
				    (!need_valid ||
				        u->validity >= GPGME_VALIDITY_MARGINAL);
		}
		if (ok)
			found = k;
		else
			gpgme_key_unref(k);
	}
	(void)gpgme_op_keylist_end(ctx);
	return found;
}

/* "pgp-sha256" or "sha-256", from the hash a signature used. */
static char *
micalg(gpgme_hash_algo_t algo, enum mime_crypto_proto proto)
{
	const char *name = gpgme_hash_algo_name(algo);
	char *s, *p;

	if (name == NULL)
		name = "SHA256";
	if (proto == MIME_CRYPTO_CMS && strncmp(name, "SHA", 3) == 0)
		s = xasprintf("sha-%s", name + 3);
	else
		s = xasprintf(
		    "%s%s", proto == MIME_CRYPTO_PGP ? "pgp-" : "", name);
	for (p = s; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return s;
}

/* Sign entity e; out gets the multipart/signed entity. */
static int
sign_entity(struct crypto *c, gpgme_ctx_t ctx, enum mime_crypto_proto proto,
    const char *e, size_t len, struct buf *out, char **cause)
{
	gpgme_data_t din = NULL, dsig = NULL;
	gpgme_sign_result_t sr;
	gpgme_error_t err;
	struct buf sig;
	char *b = NULL, *alg = NULL;
	int rc = -1;

	buf_init(&sig, 0);
	gpgme_set_armor(ctx, proto == MIME_CRYPTO_PGP);
	if ((err = gpgme_data_new_from_mem(&din, e, len, 0)) != 0 ||
	    (err = gpgme_data_new(&dsig)) != 0) {
		set_cause(cause, "cannot sign: %s", gpgme_strerror(err));
		goto out;
	}
	crypto_interact_begin(c);
	err = gpgme_op_sign(ctx, din, dsig, GPGME_SIG_MODE_DETACH);
	crypto_interact_end(c);
	sr = err == 0 ? gpgme_op_sign_result(ctx) : NULL;
	if (err != 0 || sr == NULL || sr->signatures == NULL) {
		set_cause(cause, "cannot sign: %s",
		    err != 0 ? gpgme_strerror(err) : "no signature was made");
		goto out;
	}
	alg = micalg(sr->signatures->hash_algo, proto);
	crypto_data_take(&dsig, &sig);
	b = boundary();
	(void)buf_printf(out,
	    "Content-Type: multipart/signed; micalg=%s;\r\n"
	    "\tprotocol=\"application/%s\";\r\n"
	    "\tboundary=\"%s\"\r\n\r\n"
	    "This is a%s signed message (RFC %s).\r\n"
	    "--%s\r\n",
	    alg, proto == MIME_CRYPTO_PGP ? "pgp-signature" : "pkcs7-signature",
	    b, proto == MIME_CRYPTO_PGP ? "n OpenPGP/MIME" : " S/MIME",
	    proto == MIME_CRYPTO_PGP ? "3156" : "8551", b);
	(void)buf_add(out, e, len);
	(void)buf_printf(out, "\r\n--%s\r\n", b);
	if (proto == MIME_CRYPTO_PGP) {
		(void)buf_adds(out,
		    "Content-Type: application/pgp-signature; "
		    "name=\"signature.asc\"\r\n"
		    "Content-Description: OpenPGP digital signature\r\n"
		    "Content-Disposition: attachment; "
		    "filename=\"signature.asc\"\r\n\r\n");
		(void)buf_add_crlf(out, sig.data ? sig.data : "", sig.len);
	} else {
		(void)buf_adds(out,
		    "Content-Type: application/pkcs7-signature; "
		    "name=\"smime.p7s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Description: S/MIME digital signature\r\n"
		    "Content-Disposition: attachment; "
		    "filename=\"smime.p7s\"\r\n\r\n");
		base64_lines(out, sig.data ? sig.data : "", sig.len);
	}
	(void)buf_printf(out, "\r\n--%s--\r\n", b);
	rc = 0;
out:
	gpgme_data_release(din);
	gpgme_data_release(dsig);
	gpgme_set_armor(ctx, 0);
	free(alg);
	free(b);
	buf_free(&sig);
	return rc;
}

/* Encrypt entity e to keys; out gets the encrypted entity. */
static int
encrypt_entity(gpgme_ctx_t ctx, enum mime_crypto_proto proto, gpgme_key_t *keys,
    int hidden, const char *e, size_t len, struct buf *out, char **cause)
{
	gpgme_data_t din = NULL, dout = NULL;
	gpgme_encrypt_flags_t flags = GPGME_ENCRYPT_ALWAYS_TRUST;
	gpgme_error_t err;
	struct buf ct;
	char *b = NULL;
	int rc = -1;

	buf_init(&ct, 0);
	gpgme_set_armor(ctx, proto == MIME_CRYPTO_PGP);
	if (hidden && proto == MIME_CRYPTO_PGP)
		flags |= GPGME_ENCRYPT_THROW_KEYIDS;
	if ((err = gpgme_data_new_from_mem(&din, e, len, 0)) != 0 ||
	    (err = gpgme_data_new(&dout)) != 0 ||
	    (err = gpgme_op_encrypt(ctx, keys, flags, din, dout)) != 0) {
		set_cause(cause, "cannot encrypt: %s", gpgme_strerror(err));
		goto out;
	}
	crypto_data_take(&dout, &ct);
	if (proto == MIME_CRYPTO_PGP) {
		b = boundary();
		(void)buf_printf(out,
		    "Content-Type: multipart/encrypted;\r\n"
		    "\tprotocol=\"application/pgp-encrypted\";\r\n"
		    "\tboundary=\"%s\"\r\n\r\n"
		    "This is an OpenPGP/MIME encrypted message (RFC 3156).\r\n"
		    "--%s\r\n"
		    "Content-Type: application/pgp-encrypted\r\n"
		    "Content-Description: PGP/MIME version identification\r\n"
		    "\r\n"
		    "Version: 1\r\n"
		    "\r\n"
		    "--%s\r\n"
		    "Content-Type: application/octet-stream; "
		    "name=\"encrypted.asc\"\r\n"
		    "Content-Description: OpenPGP encrypted message\r\n"
		    "Content-Disposition: inline; "
		    "filename=\"encrypted.asc\"\r\n\r\n",
		    b, b, b);
		(void)buf_add_crlf(out, ct.data ? ct.data : "", ct.len);
		(void)buf_printf(out, "\r\n--%s--\r\n", b);
	} else {
		(void)buf_adds(out,
		    "Content-Type: application/pkcs7-mime; "
		    "smime-type=enveloped-data;\r\n"
		    "\tname=\"smime.p7m\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Disposition: attachment; "
		    "filename=\"smime.p7m\"\r\n\r\n");
		base64_lines(out, ct.data ? ct.data : "", ct.len);
	}
	rc = 0;
out:
	gpgme_data_release(din);
	gpgme_data_release(dout);
	gpgme_set_armor(ctx, 0);
	free(b);
	buf_free(&ct);
	return rc;
}

static void
keys_free(gpgme_key_t *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gpgme_key_unref(keys[i]);
	free(keys);
}

/* Add the addresses of every field called name to v. */
static void
add_addrs(const char *msg, const struct field *f, size_t nf, const char *name,
    char ***v, size_t *n)
{
	size_t i, k;

	for (i = 0; i < nf; i++) {
		char *val, **l;

		if (!field_is(msg, &f[i], name))
			continue;
		val = field_value(msg, &f[i]);
		l = compose_addr_list(val);
		for (k = 0; l != NULL && l[k] != NULL; k++) {
			if (*n >= CRYPTO_MAX_RCPTS)
				break;
			*v = xreallocarray(*v, *n + 2, sizeof **v);
			(*v)[(*n)++] = xstrdup(l[k]);
			(*v)[*n] = NULL;
		}
		compose_strv_free(l);
		free(val);
	}
}

/* Who a message is encrypted to, and their keys. */
struct rcpt_keys {
	char **rcpts; /* To and Cc, then Bcc */
	size_t nr, nbcc; /* the first Bcc is rcpts[nbcc] */
	gpgme_key_t *keys;
	size_t nk;
	int has_bcc;
};

/*
 * Copy msg's header fields to out, all but Sign and Encrypt. With wrap,
 * the Content-* fields go to ent instead and MIME-Version is left out.
 * Returns whether ent got a Content-Type.
 */
static int
outer_header(const char *msg, const struct field *f, size_t nf, int wrap,
    struct buf *out, struct buf *ent)
{
	size_t i;
	int has_ct = 0;

	for (i = 0; i < nf; i++) {
		const struct field *fi = &f[i];

		if (field_is(msg, fi, "Sign") || field_is(msg, fi, "Encrypt"))
			continue;
		if (wrap) {
			if (field_is(msg, fi, "MIME-Version"))
				continue;
			if (f[i].end - f[i].start > 8 &&
			    ascii_strncasecmp(msg + fi->start, "Content-", 8) ==
			        0) {
				has_ct |= field_is(msg, fi, "Content-Type");
				(void)buf_add(
				    ent, msg + fi->start, fi->end - fi->start);
				continue;
			}
		}
		(void)buf_add(out, msg + fi->start, fi->end - fi->start);
	}
	return has_ct;
}

/* Finish entity ent with the body of msg: a Content-Type if it has none. */
static void
entity_body(struct buf *ent, const struct buf *msg, size_t body, int has_ct)
{
	size_t i;

	if (!has_ct) {
		int ascii = 1;

		for (i = body; i < msg->len && ascii; i++)
			ascii = (unsigned char)msg->data[i] < 0x80;
		(void)buf_printf(ent,
		    "Content-Type: text/plain; charset=%s\r\n",
		    ascii ? "us-ascii" : "utf-8");
	}
	(void)buf_adds(ent, "\r\n");
	(void)buf_add(ent, msg->data + body, msg->len - body);
	if (ent->len < 2 || ent->data[ent->len - 1] != '\n')
		(void)buf_adds(ent, "\r\n");
}

/*
 * What finds the sender's own key: the account's pgp_key, else the From
 * address of the message or of the account. NULL, cause set, if neither.
 */
static char *
own_key_pattern(const struct rc_account *a, const char *msg,
    const struct field *f, size_t nf, char **cause)
{
	char *from = NULL, *self, *fromv;
	size_t i;

	for (i = 0; i < nf && from == NULL; i++) {
		if (field_is(msg, &f[i], "From")) {
			fromv = field_value(msg, &f[i]);
			from = compose_addr_spec(fromv);
			free(fromv);
		}
	}
	if (from == NULL && a != NULL && a->from != NULL)
		from = compose_addr_spec(a->from);
	self = xstrdup(a != NULL && a->pgp_key != NULL ? a->pgp_key
	        : from != NULL                         ? from
	                                               : "");
	free(from);
	if (*self == '\0') {
		set_cause(cause,
		    "cannot sign or encrypt: the message has no "
		    "From and the account no pgp_key");
		free(self);
		return NULL;
	}
	return self;
}

/*
 * Look up the key of every recipient, then self's, into r->keys; missing
 * gets each address without one. Returns how many have none.
 */
static size_t
lookup_keys(gpgme_ctx_t ctx, enum mime_crypto_proto proto, const char *self,
    struct rcpt_keys *r, struct buf *missing)
{
	gpgme_key_t k;
	size_t i, nmiss = 0;

	if (proto == MIME_CRYPTO_CMS)
		gpgme_set_keylist_mode(ctx,
		    gpgme_get_keylist_mode(ctx) | GPGME_KEYLIST_MODE_VALIDATE);
	for (i = 0; i < r->nr; i++) {
		k = find_key(ctx, r->rcpts[i], 0, 0, proto == MIME_CRYPTO_PGP);
		if (k != NULL)
			r->keys[r->nk++] = k;
		else {
			(void)buf_printf(
			    missing, "%s%s", nmiss++ ? ", " : "", r->rcpts[i]);
		}
	}
	if ((k = find_key(ctx, self, 0, 0, 0)) != NULL)
		r->keys[r->nk++] = k;
	else
		(void)buf_printf(
		    missing, "%s%s (you)", nmiss++ ? ", " : "", self);
	return nmiss;
}

/*
 * Every recipient's key, and the sender's own, into r. *want_enc becomes
 * 1, or 0 if it was CRYPTO_DEFAULT and a key is missing; -1 if the
 * message cannot go.
 */
static int
encryption_keys(gpgme_ctx_t ctx, enum mime_crypto_proto proto, const char *msg,
    const struct field *f, size_t nf, const char *self, struct rcpt_keys *r,
    int *want_enc, char **cause)
{
	struct buf missing;
	size_t nmiss, i;
	int rc = -1;

	add_addrs(msg, f, nf, "To", &r->rcpts, &r->nr);
	add_addrs(msg, f, nf, "Cc", &r->rcpts, &r->nr);
	r->nbcc = r->nr;
	add_addrs(msg, f, nf, "Bcc", &r->rcpts, &r->nr);
	r->has_bcc = r->nr > r->nbcc;
	r->keys = xcalloc(r->nr + 2, sizeof *r->keys);
	buf_init(&missing, 0);
	nmiss = lookup_keys(ctx, proto, self, r, &missing);
	if (r->has_bcc && proto == MIME_CRYPTO_CMS) {
		/* Every S/MIME recipient is named in the body: a Bcc
		 * would be shown to the others. */
		struct buf bl;

		buf_init(&bl, 0);
		for (i = r->nbcc; i < r->nr; i++)
			(void)buf_printf(
			    &bl, "%s%s", i > r->nbcc ? ", " : "", r->rcpts[i]);
		set_cause(cause,
		    "not sent: S/MIME cannot hide a Bcc recipient from "
		    "the others; send to %s in a message of its own",
		    bl.data);
		buf_free(&bl);
		goto out;
	}
	if (nmiss > 0 && *want_enc == CRYPTO_DEFAULT)
		*want_enc = 0; /* auto: not every recipient has a key */
	else if (nmiss == 0 && r->nr > 0)
		*want_enc = 1;
	else if (nmiss > 0) {
		set_cause(cause,
		    "not encrypted, so not sent: no usable %s key for "
		    "%s",
		    proto == MIME_CRYPTO_PGP ? "OpenPGP" : "S/MIME",
		    missing.data);
		goto out;
	} else if (r->nr == 0) {
		set_cause(cause,
		    "cannot encrypt: the message has no "
		    "recipient");
		goto out;
	}
	rc = 0;
out:
	buf_free(&missing);
	return rc;
}

/*
 * Sign entity ent with self's secret key, which *signer gets: safe gets
 * the entity made fit for signing, signd the multipart/signed one.
 */
static int
sign_step(struct crypto *c, gpgme_ctx_t ctx, enum mime_crypto_proto proto,
    const char *self, const struct buf *ent, gpgme_key_t *signer,
    struct buf *safe, struct buf *signd, char **cause)
{
	if ((*signer = find_key(ctx, self, 1, 1, 0)) == NULL) {
		set_cause(cause,
		    "cannot sign: no usable secret %s key for %s (set "
		    "pgp_key in the account)",
		    proto == MIME_CRYPTO_PGP ? "OpenPGP" : "S/MIME", self);
		return -1;
	}
	gpgme_signers_clear(ctx);
	gpgme_signers_add(ctx, *signer);
	signable(ent->data, ent->len, safe);
	return sign_entity(c, ctx, proto, safe->data, safe->len, signd, cause);
}

int
crypto_message(struct crypto *c, const struct rc_account *a, int sign,
    int encrypt, const char *raw, size_t len, struct buf *out, char **cause)
{
	enum mime_crypto_proto proto =
	    a != NULL && a->smime ? MIME_CRYPTO_CMS : MIME_CRYPTO_PGP;
	struct buf msg, ent, safe, signd, enc;
	struct rcpt_keys r;
	struct field *f = NULL;
	gpgme_key_t signer = NULL;
	gpgme_ctx_t ctx = NULL;
	char *self = NULL;
	size_t nf, body;
	const struct buf *plain = &ent;
	int want_sign, want_enc, has_ct, rc = -1;

	buf_init(&msg, 0);
	buf_init(&ent, 0);
	buf_init(&safe, 0);
	buf_init(&signd, 0);
	buf_init(&enc, 0);
	memset(&r, 0, sizeof r);
	(void)buf_add_crlf(&msg, raw, len);
	nf = split_fields(msg.data ? msg.data : "", msg.len, &f, &body);
	crypto_wanted(a, msg.data ? msg.data : "", body, &want_sign, &want_enc);
	if (sign != CRYPTO_DEFAULT)
		want_sign = sign;
	if (encrypt != CRYPTO_DEFAULT)
		want_enc = encrypt;

	/* The outer header: everything but the entity's own fields. */
	buf_reset(out);
	has_ct =
	    outer_header(msg.data, f, nf, want_sign || want_enc, out, &ent);
	if (!want_sign && !want_enc) {
		(void)buf_adds(out, "\r\n");
		(void)buf_add(out, msg.data + body, msg.len - body);
		rc = 0;
		goto done;
	}
	entity_body(&ent, &msg, body, has_ct);

	if ((ctx = crypto_ctx(c, proto, cause)) == NULL ||
	    (self = own_key_pattern(a, msg.data, f, nf, cause)) == NULL)
		goto out;
	if (want_enc &&
	    encryption_keys(
	        ctx, proto, msg.data, f, nf, self, &r, &want_enc, cause) != 0)
		goto out;
	if (want_sign) {
		if (sign_step(c, ctx, proto, self, &ent, &signer, &safe, &signd,
		        cause) != 0)
			goto out;
		plain = &signd;
	}
	if (want_enc == 1) {
		r.keys[r.nk] = NULL;
		if (encrypt_entity(ctx, proto, r.keys, r.has_bcc, plain->data,
		        plain->len, &enc, cause) != 0)
			goto out;
		plain = &enc;
	}
	(void)buf_adds(out, "MIME-Version: 1.0\r\n");
	(void)buf_add(out, plain->data, plain->len);
	rc = 0;
	goto done;
out:
	buf_reset(out);
done:
	if (ctx != NULL)
		gpgme_signers_clear(ctx);
	if (signer != NULL)
		gpgme_key_unref(signer);
	keys_free(r.keys, r.nk);
	compose_strv_free(r.rcpts);
	free(self);
	free(f);
	wipe(&msg);
	wipe(&ent);
	wipe(&safe);
	wipe(&signd);
	buf_free(&enc);
	return rc;
}
