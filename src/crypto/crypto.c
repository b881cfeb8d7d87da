/*
 * Reading signed and encrypted mail: the operations mime_render calls
 * (verify, decrypt, open an opaque signature), each answering with status
 * lines a person can act on. The GPGME contexts are made on first use,
 * one per protocol, so a machine without gpgsm still reads OpenPGP mail
 * and a machine without GPGME still shows every message.
 */
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crypto-private.h"

struct crypto *
crypto_new(void)
{
	struct crypto *c = xcalloc(1, sizeof *c);

	c->ctx[0] = c->ctx[1] = NULL;
	return c;
}

void
crypto_free(struct crypto **cp)
{
	struct crypto *c = *cp;
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (c->ctx[i] != NULL)
			gpgme_release(c->ctx[i]);
	}
	free(c->init_error);
	free(c);
	*cp = NULL;
}

void
crypto_set_interact(
    struct crypto *c, void (*begin)(void *), void (*end)(void *), void *arg)
{
	c->begin = begin;
	c->end = end;
	c->arg = arg;
}

void
crypto_interact_begin(struct crypto *c)
{
	if (c->begin != NULL)
		c->begin(c->arg);
}

void
crypto_interact_end(struct crypto *c)
{
	if (c->end != NULL)
		c->end(c->arg);
}

const char *
crypto_strerror(gpgme_error_t err)
{
	return gpgme_strerror(err);
}

/* Longest passphrase read from the terminal. */
#define PASSPHRASE_MAX 1024

/*
 * A passphrase asked on the terminal, for gpg in loopback pinentry mode
 * (pinentry-mode loopback in gpg.conf): gpg-agent's own pinentry is used
 * otherwise and this is never called. Echo is off; the bytes are wiped.
 */
static gpgme_error_t
tty_passphrase(
    void *arg, const char *uid_hint, const char *info, int prev_was_bad, int fd)
{
	char pw[PASSPHRASE_MAX + 2];
	struct termios old, quiet;
	size_t n = 0;
	int tty, echo_off = 0;
	char ch;

	(void)arg;
	(void)info;
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC)) < 0)
		return gpg_error(GPG_ERR_CANCELED);
	if (tcgetattr(tty, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ICANON;
		echo_off = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
	}
	dprintf(tty,
	    "%sPassphrase for %s: ", prev_was_bad ? "Bad passphrase. " : "",
	    uid_hint != NULL ? uid_hint : "the key");
	while (n < PASSPHRASE_MAX && read(tty, &ch, 1) == 1 && ch != '\n' &&
	    ch != '\r')
		pw[n++] = ch;
	if (echo_off)
		(void)tcsetattr(tty, TCSAFLUSH, &old);
	dprintf(tty, "\n");
	close(tty);
	pw[n++] = '\n';
	if (gpgme_io_writen(fd, pw, n) != 0) {
		explicit_bzero(pw, sizeof pw);
		return gpg_error(GPG_ERR_CANCELED);
	}
	explicit_bzero(pw, sizeof pw);
	return 0;
}

gpgme_ctx_t
crypto_ctx(struct crypto *c, enum mime_crypto_proto proto, char **cause)
{
	gpgme_protocol_t gp = proto == MIME_CRYPTO_CMS ? GPGME_PROTOCOL_CMS
	                                               : GPGME_PROTOCOL_OpenPGP;
	const char *name =
	    proto == MIME_CRYPTO_CMS ? "gpgsm (S/MIME)" : "gpg (OpenPGP)";
	gpgme_ctx_t ctx;
	gpgme_error_t err;

	if (!c->tried) {
		c->tried = 1;
		if (gpgme_check_version(NULL) == NULL)
			c->init_error = xstrdup("GPGME could not be started");
		else {
			(void)gpgme_set_locale(
			    NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
		}
	}
	if (c->init_error != NULL) {
		set_cause(cause, "%s", c->init_error);
		return NULL;
	}
	if (c->ctx[proto] == NULL) {
		if ((err = gpgme_engine_check_version(gp)) != 0) {
			set_cause(cause, "%s cannot be used: %s", name,
			    gpgme_strerror(err));
			return NULL;
		}
		if ((err = gpgme_new(&ctx)) != 0 ||
		    (err = gpgme_set_protocol(ctx, gp)) != 0) {
			set_cause(cause, "%s cannot be used: %s", name,
			    gpgme_strerror(err));
			return NULL;
		}
		/* gpgsm has no loopback: its operations fail ("not
		 * implemented") when a callback is set. */
		if (proto == MIME_CRYPTO_PGP)
			gpgme_set_passphrase_cb(ctx, tty_passphrase, c);
		c->ctx[proto] = ctx;
	}
	ctx = c->ctx[proto];
	gpgme_set_armor(ctx, 0);
	gpgme_set_textmode(ctx, 0);
	gpgme_signers_clear(ctx);
	gpgme_set_offline(ctx, 1); /* no CRL or key fetches: works offline */
	return ctx;
}

void
crypto_data_take(gpgme_data_t *d, struct buf *out)
{
	size_t n = 0;
	char *p;

	if (*d == NULL)
		return;
	p = gpgme_data_release_and_get_mem(*d, &n);
	*d = NULL;
	if (p == NULL)
		return;
	(void)buf_add(out, p, n);
	explicit_bzero(p, n);
	gpgme_free(p);
}

int
crypto_addr_eq(const char *uid_email, const char *addr)
{
	size_t ul, al;

	if (uid_email == NULL || addr == NULL || *addr == '\0')
		return 0;
	if (*uid_email == '<')
		uid_email++;
	ul = strlen(uid_email);
	if (ul > 0 && uid_email[ul - 1] == '>')
		ul--;
	al = strlen(addr);
	return ul == al && ascii_strncasecmp(uid_email, addr, al) == 0;
}

int
crypto_key_usable(gpgme_key_t k, int for_signing)
{
	if (k->expired || k->revoked || k->disabled || k->invalid)
		return 0;
	return for_signing ? k->can_sign : k->can_encrypt;
}

/* s without control characters (a user ID is the key owner's text). */
static void
add_clean(struct buf *st, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		(void)buf_addc(
		    st, (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* What one signature says, copied out of GPGME's result. */
struct sig_info {
	char *fpr;
	gpgme_error_t status;
	gpgme_sigsum_t summary;
	gpgme_validity_t validity;
};

/* "NAME <ADDR>" of the signer's key, and whether one of its addresses
 * is from. */
static void
signer(gpgme_ctx_t ctx, const char *fpr, const char *from, struct buf *who,
    int *match)
{
	gpgme_key_t key = NULL;
	gpgme_user_id_t u, pick = NULL;

	*match = 0;
	if (gpgme_get_key(ctx, fpr, &key, 0) != 0 || key == NULL) {
		(void)buf_adds(who, "an unnamed key");
		return;
	}
	for (u = key->uids; u != NULL; u = u->next) {
		if (u->revoked || u->invalid)
			continue;
		if (pick == NULL && (u->email != NULL || u->uid != NULL))
			pick = u;
		if (crypto_addr_eq(u->email, from)) {
			pick = u;
			*match = 1;
			break;
		}
	}
	if (pick == NULL)
		(void)buf_adds(who, "a key with no valid user ID");
	else if (pick->name != NULL && *pick->name != '\0') {
		add_clean(who, pick->name);
		if (pick->email != NULL && *pick->email != '\0') {
			(void)buf_adds(who, " <");
			add_clean(who, pick->email);
			(void)buf_adds(who, ">");
		}
	} else if (pick->email != NULL && *pick->email != '\0') {
		(void)buf_adds(who, "<");
		add_clean(who, pick->email);
		(void)buf_adds(who, ">");
	} else
		add_clean(who, pick->uid);
	gpgme_key_unref(key);
}

/* One status line for a signature. */
static void
sig_line(
    gpgme_ctx_t ctx, const struct sig_info *s, const char *from, struct buf *st)
{
	gpgme_err_code_t code = gpgme_err_code(s->status);
	const char *fpr = s->fpr != NULL ? s->fpr : "?";
	struct buf who;
	int match = 0;

	buf_init(&who, 0);
	switch (code) {
	case GPG_ERR_BAD_SIGNATURE:
		(void)buf_printf(st,
		    "BAD signature (key %s): the signed part was changed "
		    "after it was signed, or the signature is forged\n",
		    fpr);
		goto out;
	case GPG_ERR_NO_PUBKEY:
		(void)buf_printf(st,
		    "Signature by unknown key %s: not verified (import the "
		    "key to check it)\n",
		    fpr);
		goto out;
	case GPG_ERR_NO_ERROR:
	case GPG_ERR_KEY_EXPIRED:
	case GPG_ERR_CERT_REVOKED:
	case GPG_ERR_SIG_EXPIRED:
		break;
	default:
		(void)buf_printf(st, "Signature not verified (key %s): %s\n",
		    fpr, gpgme_strerror(s->status));
		goto out;
	}
	signer(ctx, fpr, from, &who, &match);
	(void)buf_printf(st, "Good signature from %s (fingerprint %s)",
	    who.data ? who.data : "?", fpr);
	if (code == GPG_ERR_CERT_REVOKED ||
	    (s->summary & GPGME_SIGSUM_KEY_REVOKED))
		(void)buf_adds(st, ", but the key is REVOKED");
	else if (code == GPG_ERR_KEY_EXPIRED ||
	    (s->summary & GPGME_SIGSUM_KEY_EXPIRED))
		(void)buf_adds(st, ", but the key has EXPIRED");
	else if (code == GPG_ERR_SIG_EXPIRED ||
	    (s->summary & GPGME_SIGSUM_SIG_EXPIRED))
		(void)buf_adds(st, ", but the signature has EXPIRED");
	switch (s->validity) {
	case GPGME_VALIDITY_FULL:
	case GPGME_VALIDITY_ULTIMATE:
		(void)buf_adds(st, "; key trusted");
		break;
	case GPGME_VALIDITY_MARGINAL:
		(void)buf_adds(st, "; key marginally trusted");
		break;
	case GPGME_VALIDITY_NEVER:
		(void)buf_adds(st, "; key NOT trusted");
		break;
	default:
		(void)buf_adds(st,
		    "; key not certified: it may not belong to "
		    "who it names");
		break;
	}
	if (*from == '\0')
		(void)buf_adds(st, "; the message has no From");
	else if (match)
		(void)buf_adds(st, "; address matches From");
	else {
		(void)buf_adds(st, "; signer's address does NOT match From ");
		add_clean(st, from);
	}
	(void)buf_addc(st, '\n');
out:
	buf_free(&who);
}

/* The status lines of every signature of the last verification. */
static void
sig_lines(gpgme_ctx_t ctx, const char *from, struct buf *st, int need_one)
{
	gpgme_verify_result_t vr = gpgme_op_verify_result(ctx);
	gpgme_signature_t s;
	struct sig_info *v = NULL;
	size_t n = 0, i;

	for (s = vr != NULL ? vr->signatures : NULL; s != NULL && n < 16;
	     s = s->next) {
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].fpr = s->fpr != NULL ? xstrdup(s->fpr) : NULL;
		v[n].status = s->status;
		v[n].summary = s->summary;
		v[n].validity = s->validity;
		n++;
	}
	if (n == 0 && need_one)
		(void)buf_adds(st,
		    "Signature not verified: no signature was "
		    "found in it\n");
	for (i = 0; i < n; i++) {
		sig_line(ctx, &v[i], from, st);
		free(v[i].fpr);
	}
	free(v);
}

static void
op_verify(void *arg, enum mime_crypto_proto proto, const char *data, size_t len,
    const char *sig, size_t siglen, const char *from, struct buf *st)
{
	struct crypto *c = arg;
	gpgme_data_t dsig = NULL, dtext = NULL;
	gpgme_ctx_t ctx;
	gpgme_error_t err;
	char *cause = NULL;

	if ((ctx = crypto_ctx(c, proto, &cause)) == NULL) {
		(void)buf_printf(st, "Signature not verified: %s\n", cause);
		free(cause);
		return;
	}
	if ((err = gpgme_data_new_from_mem(&dsig, sig, siglen, 0)) != 0 ||
	    (err = gpgme_data_new_from_mem(&dtext, data, len, 0)) != 0 ||
	    (err = gpgme_op_verify(ctx, dsig, dtext, NULL)) != 0) {
		if (gpgme_err_code(err) == GPG_ERR_NO_DATA)
			(void)buf_adds(st,
			    "Signature not verified: the "
			    "signature part holds no "
			    "signature\n");
		else
			(void)buf_printf(st, "Signature not verified: %s\n",
			    gpgme_strerror(err));
	} else
		sig_lines(ctx, from, st, 1);
	gpgme_data_release(dsig);
	gpgme_data_release(dtext);
}

/* Why a decryption failed, and to which keys the message was made. */
static void
decrypt_failed(gpgme_ctx_t ctx, gpgme_error_t err, struct buf *st)
{
	gpgme_decrypt_result_t dr = gpgme_op_decrypt_result(ctx);
	gpgme_recipient_t rc;
	int n = 0;

	switch (gpgme_err_code(err)) {
	case GPG_ERR_NO_SECKEY:
		(void)buf_adds(st, "Cannot decrypt: no secret key here for it");
		break;
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_CANCELED:
	case GPG_ERR_FULLY_CANCELED:
	case GPG_ERR_NO_PIN:
	case GPG_ERR_NO_PASSPHRASE:
		(void)buf_printf(st,
		    "Cannot decrypt: the key's passphrase was not given (%s)",
		    gpgme_strerror(err));
		break;
	case GPG_ERR_NO_DATA:
		(void)buf_adds(
		    st, "Cannot decrypt: the part holds no encrypted data");
		break;
	default:
		(void)buf_printf(st, "Cannot decrypt: %s", gpgme_strerror(err));
		break;
	}
	for (rc = dr != NULL ? dr->recipients : NULL; rc != NULL && n < 8;
	     rc = rc->next) {
		(void)buf_printf(st, "%s%s", n++ ? ", " : " (encrypted to key ",
		    rc->keyid != NULL ? rc->keyid : "?");
	}
	(void)buf_adds(st, n ? ")\n" : "\n");
}

/*
 * Start a decryption or an opaque verification: the context for proto,
 * in holding data, out empty. On failure, -1 and "what: why" in st.
 */
static int
op_begin(struct crypto *c, enum mime_crypto_proto proto, const char *what,
    const char *data, size_t len, gpgme_ctx_t *ctx, gpgme_data_t *in,
    gpgme_data_t *out, struct buf *st)
{
	gpgme_error_t err;
	char *cause = NULL;

	if ((*ctx = crypto_ctx(c, proto, &cause)) == NULL) {
		(void)buf_printf(st, "%s: %s\n", what, cause);
		free(cause);
		return -1;
	}
	if ((err = gpgme_data_new_from_mem(in, data, len, 0)) != 0 ||
	    (err = gpgme_data_new(out)) != 0) {
		(void)buf_printf(st, "%s: %s\n", what, gpgme_strerror(err));
		return -1;
	}
	return 0;
}

static int
op_decrypt(void *arg, enum mime_crypto_proto proto, const char *data,
    size_t len, const char *from, struct buf *plain, struct buf *st)
{
	struct crypto *c = arg;
	gpgme_data_t din = NULL, dout = NULL;
	gpgme_ctx_t ctx;
	gpgme_error_t err;
	int rc = -1;

	if (op_begin(c, proto, "Cannot decrypt", data, len, &ctx, &din, &dout,
	        st) != 0)
		goto out;
	crypto_interact_begin(c);
	/* S/MIME enveloped data holds no signature: decrypt only. */
	err = proto == MIME_CRYPTO_CMS
	    ? gpgme_op_decrypt(ctx, din, dout)
	    : gpgme_op_decrypt_verify(ctx, din, dout);
	crypto_interact_end(c);
	if (err != 0) {
		decrypt_failed(ctx, err, st);
		goto out;
	}
	(void)buf_printf(st, "Decrypted (%s)\n",
	    proto == MIME_CRYPTO_CMS ? "S/MIME" : "OpenPGP");
	if (proto == MIME_CRYPTO_PGP)
		sig_lines(ctx, from, st, 0);
	crypto_data_take(&dout, plain);
	rc = 0;
out:
	gpgme_data_release(din);
	if (dout != NULL) {
		/* Whatever was decrypted before the failure: wiped. */
		struct buf junk;

		buf_init(&junk, 0);
		crypto_data_take(&dout, &junk);
		if (junk.data != NULL)
			explicit_bzero(junk.data, junk.len);
		buf_free(&junk);
	}
	return rc;
}

static int
op_verify_opaque(void *arg, enum mime_crypto_proto proto, const char *data,
    size_t len, const char *from, struct buf *plain, struct buf *st)
{
	struct crypto *c = arg;
	gpgme_data_t dsig = NULL, dout = NULL;
	gpgme_ctx_t ctx;
	gpgme_error_t err;
	int rc = -1;

	if (op_begin(c, proto, "Signature not verified", data, len, &ctx, &dsig,
	        &dout, st) != 0)
		goto out;
	if ((err = gpgme_op_verify(ctx, dsig, NULL, dout)) != 0) {
		(void)buf_printf(
		    st, "Signature not verified: %s\n", gpgme_strerror(err));
		goto out;
	}
	sig_lines(ctx, from, st, 1);
	crypto_data_take(&dout, plain);
	rc = 0;
out:
	gpgme_data_release(dsig);
	gpgme_data_release(dout);
	return rc;
}

const struct mime_crypto_ops *
crypto_mime_ops(struct crypto *c)
{
	c->ops.arg = c;
	c->ops.verify = op_verify;
	c->ops.decrypt = op_decrypt;
	c->ops.verify_opaque = op_verify_opaque;
	return &c->ops;
}
