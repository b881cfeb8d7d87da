/*
 * Signed and encrypted structure in the mime module, with stand-in
 * cryptography: which bytes a signature is checked over (exactly the
 * signed part, line ends made CRLF), which structures are refused (wrong
 * protocol, missing parts, extra parts), decrypted messages inside
 * decrypted messages (bounded), inline blocks, and hostile input that
 * must end in a clear status, never a crash.
 *
 * The stand-in "decrypts" by handing the data back as the plaintext, so
 * an encrypted part's data is itself the inner MIME entity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/mime.h"
#include "tern/util.h"
#include "../lib/test.h"

struct fake {
	struct buf signed_data; /* what the last verify was given */
	struct buf sig;
	int verifies, decrypts, opaques;
	char from[64];
};

static void
fake_verify(void *arg, enum mime_crypto_proto proto, const char *data,
    size_t len, const char *sig, size_t siglen, const char *from,
    struct buf *st)
{
	struct fake *f = arg;

	f->verifies++;
	buf_reset(&f->signed_data);
	buf_add(&f->signed_data, data, len);
	buf_reset(&f->sig);
	buf_add(&f->sig, sig, siglen);
	snprintf(f->from, sizeof f->from, "%s", from);
	buf_printf(st, "Good signature (%s)\n",
	    proto == MIME_CRYPTO_CMS ? "cms" : "pgp");
}

static int
fake_decrypt(void *arg, enum mime_crypto_proto proto, const char *data,
    size_t len, const char *from, struct buf *plain, struct buf *st)
{
	struct fake *f = arg;

	(void)proto;
	(void)from;
	f->decrypts++;
	if (len >= 4 && memcmp(data, "FAIL", 4) == 0) {
		buf_adds(st, "Cannot decrypt: no secret key\n");
		return -1;
	}
	buf_adds(st, "Decrypted (fake)\n");
	buf_add(plain, data, len);
	return 0;
}

static int
fake_opaque(void *arg, enum mime_crypto_proto proto, const char *data,
    size_t len, const char *from, struct buf *plain, struct buf *st)
{
	struct fake *f = arg;

	(void)proto;
	(void)from;
	f->opaques++;
	buf_adds(st, "Good signature (opaque)\n");
	buf_adds(plain, "opaque text\n");
	(void)data;
	(void)len;
	return 0;
}

static struct fake fk;
static struct mime_crypto_ops ops = { &fk, fake_verify, fake_decrypt,
	fake_opaque };

static void
reset(void)
{
	buf_free(&fk.signed_data);
	buf_free(&fk.sig);
	memset(&fk, 0, sizeof fk);
	buf_init(&fk.signed_data, 0);
	buf_init(&fk.sig, 0);
}

static char *
show(const char *raw)
{
	struct mime_msg *m = mime_parse(raw, strlen(raw));
	struct mime_render_opts o;
	struct buf out;

	memset(&o, 0, sizeof o);
	o.crypto = &ops;
	buf_init(&out, 0);
	CHECK(mime_render(m, &o, &out, NULL) == 0);
	mime_free(&m);
	return buf_steal(&out, NULL);
}

#define HAS(s, sub) CHECK(strstr((s), (sub)) != NULL)
#define HASNT(s, sub) CHECK(strstr((s), (sub)) == NULL)

static void
test_signed_bytes(void)
{
	/* LF line ends as a store may hold them; a trailing space kept. */
	const char *raw =
	    "From: Bob <Bob@Example.org>\n"
	    "Content-Type: multipart/signed; micalg=pgp-sha256;\n"
	    " protocol=\"application/pgp-signature\"; boundary=\"b\"\n"
	    "\n"
	    "preamble\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "line one \n"
	    "line two\n"
	    "\n"
	    "--b\n"
	    "Content-Type: application/pgp-signature\n"
	    "\n"
	    "SIG\n"
	    "--b--\n";
	char *t;

	reset();
	t = show(raw);
	CHECK(fk.verifies == 1);
	CHECK_STR(fk.signed_data.data,
	    "Content-Type: text/plain\r\n\r\nline one \r\nline two\r\n");
	CHECK_STR(fk.sig.data, "SIG");
	CHECK_STR(fk.from, "Bob@Example.org");
	HAS(t, "[-- Good signature (pgp) --]\n");
	HAS(t, "line one");
	HAS(t, "[-- End of signed part --]");
	free(t);

	/* CRLF stays CRLF; S/MIME's protocol names. */
	reset();
	t = show("Content-Type: multipart/signed; "
	         "protocol=\"application/x-pkcs7-signature\"; boundary=q\r\n"
	         "\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--q\r\n"
	         "Content-Type: application/x-pkcs7-signature\r\n"
	         "Content-Transfer-Encoding: base64\r\n\r\nU0lH\r\n--q--\r\n");
	CHECK_STR(fk.signed_data.data, "Content-Type: text/plain\r\n\r\nhi");
	CHECK_STR(fk.sig.data, "SIG");
	HAS(t, "[-- Good signature (cms) --]");
	free(t);
}

static void
test_broken(void)
{
	static const char *const cases[][2] = {
		{ "Content-Type: multipart/signed; boundary=b\n\n--b\n\nx\n"
		  "--b\nContent-Type: application/pgp-signature\n\ns\n--b--\n",
		    "names no signature protocol" },
		{ "Content-Type: multipart/signed; boundary=b; "
		  "protocol=\"application/x-evil\"\n\n--b\n\nx\n--b\n"
		  "Content-Type: application/x-evil\n\ns\n--b--\n",
		    "not one tern knows" },
		{ "Content-Type: multipart/signed; boundary=b; "
		  "protocol=\"application/pgp-signature\"\n\n--b\n\nx\n"
		  "--b--\n",
		    "missing" },
		{ "Content-Type: multipart/signed; boundary=b; "
		  "protocol=\"application/pgp-signature\"\n\n--b\n\nx\n--b\n"
		  "Content-Type: text/plain\n\ns\n--b--\n",
		    "not of the type" },
		{ "Content-Type: multipart/signed; boundary=b; "
		  "protocol=\"application/pgp-signature\"\n\n--b\n\nx\n--b\n"
		  "Content-Type: application/pgp-signature\n\ns\n--b\n\n"
		  "extra\n--b--\n",
		    "more than two parts" },
		{ "Content-Type: multipart/encrypted; boundary=b; "
		  "protocol=\"application/pgp-signature\"\n\n--b\n\nx\n"
		  "--b--\n",
		    "protocol is not" },
		{ "Content-Type: multipart/encrypted; boundary=b; "
		  "protocol=\"application/pgp-encrypted\"\n\n--b\n"
		  "Content-Type: application/pgp-encrypted\n\nVersion: 1\n"
		  "--b--\n",
		    "missing" },
		{ "Content-Type: multipart/encrypted; boundary=b; "
		  "protocol=\"application/pgp-encrypted\"\n\n--b\n"
		  "Content-Type: text/plain\n\nVersion: 1\n--b\n"
		  "Content-Type: application/octet-stream\n\nx\n--b--\n",
		    "first part is not" },
	};
	size_t i;

	for (i = 0; i < TERN_NELEM(cases); i++) {
		char *t;

		reset();
		t = show(cases[i][0]);
		HAS(t, "not checked: ");
		HAS(t, cases[i][1]);
		CHECK(fk.verifies == 0 && fk.decrypts == 0);
		free(t);
	}
}

static void
test_encrypted(void)
{
	/* Encrypted, holding a signed part and an attachment. */
	const char *raw =
	    "From: a@example.org\n"
	    "Content-Type: multipart/encrypted; "
	    "protocol=\"application/pgp-encrypted\"; boundary=e\n\n"
	    "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
	    "--e\nContent-Type: application/octet-stream\n\n"
	    "Content-Type: multipart/mixed; boundary=in\n\n"
	    "--in\n"
	    "Content-Type: multipart/signed; boundary=s; "
	    "protocol=\"application/pgp-signature\"\n\n"
	    "--s\nContent-Type: text/plain\n\nsecret words\n--s\n"
	    "Content-Type: application/pgp-signature\n\nS\n--s--\n"
	    "--in\nContent-Type: application/zip\n"
	    "Content-Disposition: attachment; filename=x.zip\n\nZIP\n"
	    "--in--\n"
	    "--e--\n";
	char *t;

	reset();
	t = show(raw);
	CHECK(fk.decrypts == 1 && fk.verifies == 1);
	HAS(t, "[-- Decrypted (fake) --]\n");
	HAS(t, "[-- Good signature (pgp) --]\n");
	HAS(t, "secret words");
	HAS(t, "[-- Attachment e1.2: x.zip (application/zip");
	HAS(t, "[-- End of encrypted part --]");
	HASNT(t, "application/octet-stream");
	free(t);
	{
		/* Its attachment, decrypted again and found by label. */
		struct mime_msg *m = mime_parse(raw, strlen(raw)), *in = NULL;
		struct mime_render_opts o;
		struct buf d;
		size_t part = 0;

		memset(&o, 0, sizeof o);
		o.crypto = &ops;
		CHECK(mime_secure_attachment(m, &o, "e1.2", &in, &part) == 1);
		buf_init(&d, 0);
		CHECK(in != NULL && mime_part_decode(in, part, &d, NULL) == 0);
		CHECK_STR(d.data, "ZIP");
		CHECK_STR(
		    in ? mime_part_at(in, part)->filename : NULL, "x.zip");
		mime_free(&in);
		buf_free(&d);
		CHECK(mime_secure_attachment(m, &o, "e2.2", &in, &part) == 0 &&
		    in == NULL);
		CHECK(mime_secure_attachment(m, &o, "e1.9", &in, &part) == 0 &&
		    in == NULL);
		CHECK(mime_secure_attachment(m, &o, "2", &in, &part) == 0);
		CHECK(mime_secure_attachment(m, &o, "e.2", &in, &part) == 0);
		mime_free(&m);
	}

	/* A failure says why and shows the parts as they are. */
	reset();
	t = show("Content-Type: multipart/mixed; boundary=m\n\n--m\n\n"
	         "clear text\n--m\n"
	         "Content-Type: multipart/encrypted; boundary=e; "
	         "protocol=\"application/pgp-encrypted\"\n\n--e\n"
	         "Content-Type: application/pgp-encrypted\n\nVersion: 1\n"
	         "--e\nContent-Type: application/octet-stream\n\nFAIL\n"
	         "--e--\n--m--\n");
	HAS(t, "clear text");
	HAS(t, "[-- Cannot decrypt: no secret key --]");
	HAS(t, "application/octet-stream");
	free(t);

	/* S/MIME enveloped and opaque signed. */
	reset();
	t = show("Content-Type: application/pkcs7-mime; "
	         "smime-type=enveloped-data\n"
	         "Content-Transfer-Encoding: base64\n\n"
	         "Q29udGVudC1UeXBlOiB0ZXh0L3BsYWluCgppbm5lcgo=\n");
	HAS(t, "[-- Decrypted (fake) --]");
	HAS(t, "inner");
	free(t);
	reset();
	t = show("Content-Type: application/pkcs7-mime; "
	         "smime-type=signed-data\n\nxx\n");
	CHECK(fk.opaques == 1);
	HAS(t, "[-- Good signature (opaque) --]");
	HAS(t, "opaque text");
	free(t);
	/* Certificates only: an attachment, no operation. */
	reset();
	t = show("Content-Type: application/pkcs7-mime; "
	         "smime-type=certs-only\n\nxx\n");
	CHECK(fk.opaques == 0 && fk.decrypts == 0);
	free(t);
}

static void
test_nesting(void)
{
	/* Encrypted in encrypted, 20 deep: bounded, said so. */
	struct buf b;
	int i;
	char *t;

	buf_init(&b, 0);
	buf_adds(&b, "Content-Type: text/plain\n\ninnermost\n");
	for (i = 0; i < 20; i++) {
		struct buf o;

		buf_init(&o, 0);
		buf_printf(&o,
		    "Content-Type: multipart/encrypted; boundary=e%d; "
		    "protocol=\"application/pgp-encrypted\"\n\n--e%d\n"
		    "Content-Type: application/pgp-encrypted\n\nVersion: 1\n"
		    "--e%d\nContent-Type: application/octet-stream\n\n",
		    i, i, i);
		buf_add(&o, b.data, b.len);
		buf_printf(&o, "\n--e%d--\n", i);
		buf_free(&b);
		b = o;
	}
	reset();
	t = show(b.data);
	CHECK(fk.decrypts == 4);
	HAS(t, "nested too deep");
	HASNT(t, "innermost");
	free(t);
	buf_free(&b);
}

static void
test_inline(void)
{
	char *t;

	reset();
	t = show("Content-Type: text/plain\n\nhello\n"
	         "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nbody\n"
	         "-----BEGIN PGP SIGNATURE-----\nxx\n"
	         "-----END PGP SIGNATURE-----\nbye\n"
	         "-----BEGIN PGP MESSAGE-----\nContent-Type: text/plain\n"
	         "-----END PGP MESSAGE-----\n"
	         "-----BEGIN PGP MESSAGE-----\nno end\n");
	CHECK(fk.opaques == 1 && fk.decrypts == 1);
	HAS(t, "hello\n");
	HAS(t,
	    "[-- Good signature (opaque) --]\nopaque text\n"
	    "[-- End of signed text --]\nbye\n");
	HAS(t, "[-- End of encrypted text --]");
	HAS(t, "no end");
	free(t);
	/* Not at the start of a line: plain text. */
	reset();
	t = show("Content-Type: text/plain\n\nsee -----BEGIN PGP MESSAGE-----"
	         "\n-----END PGP MESSAGE-----\n");
	CHECK(fk.decrypts == 0);
	free(t);
}

/* Hostile variations: every prefix and single-byte change of a signed
 * and encrypted message renders, and no status claims what is not. */
static void
test_hostile(void)
{
	const char *base =
	    "Content-Type: multipart/signed; boundary=s; "
	    "protocol=\"application/pgp-signature\"\n\n--s\n"
	    "Content-Type: multipart/encrypted; boundary=e; "
	    "protocol=\"application/pgp-encrypted\"\n\n--e\n"
	    "Content-Type: application/pgp-encrypted\n\nVersion: 1\n--e\n"
	    "Content-Type: application/octet-stream\n\n"
	    "Content-Type: application/pkcs7-mime\n\nx\n--e--\n--s\n"
	    "Content-Type: application/pgp-signature\n\nS\n--s--\n";
	size_t len = strlen(base), i;
	int bad = 0;

	for (i = 0; i <= len; i++) {
		char *cp = xstrndup(base, i), *t;
		struct mime_msg *m = mime_parse(cp, i);

		(void)mime_has_security(m);
		mime_free(&m);
		reset();
		t = show(cp);
		if (t == NULL)
			bad++;
		free(t);
		free(cp);
		cp = xstrdup(base);
		if (i < len) {
			cp[i] = cp[i] == '-' ? 'x' : '-';
			t = show(cp);
			free(t);
		}
		free(cp);
	}
	CHECK(bad == 0);
}

int
main(void)
{
	reset();
	test_signed_bytes();
	test_broken();
	test_encrypted();
	test_nesting();
	test_inline();
	test_hostile();
	buf_free(&fk.signed_data);
	buf_free(&fk.sig);
	return test_done();
}
