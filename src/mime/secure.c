/*
 * Signed and encrypted structure (RFC 1847, RFC 3156, RFC 8551): which
 * part is signed, which holds the signature, which bytes are encrypted.
 * Only the structure is read here; the cryptography belongs to the
 * caller (struct mime_crypto_ops). A structure that does not hold what
 * its protocol says is reported as broken rather than guessed at, so a
 * message cannot make tern check a signature over the wrong part.
 */
#include <string.h>

#include "mime-private.h"

/* Bytes of a text part searched for an inline OpenPGP block. */
#define INLINE_SCAN_MAX (16u * 1024 * 1024)

static int
type_is(const char *type, const char *want)
{
	return type != NULL && ascii_strcasecmp(type, want) == 0;
}

static enum mime_sec
broken(const char **why, const char *s)
{
	if (why != NULL)
		*why = s;
	return MIME_SEC_BROKEN;
}

static enum mime_sec
signed_structure(const struct mime_msg *m, const struct part *p,
    enum mime_crypto_proto *proto, const char **why)
{
	const char *prot = mime_param_get(&p->ct, "protocol");
	const struct part *c1, *c2;

	if (prot == NULL)
		return broken(why, "it names no signature protocol");
	if (type_is(prot, "application/pgp-signature"))
		*proto = MIME_CRYPTO_PGP;
	else if (type_is(prot, "application/pkcs7-signature") ||
	    type_is(prot, "application/x-pkcs7-signature"))
		*proto = MIME_CRYPTO_CMS;
	else
		return broken(why,
		    "its signature protocol is not one tern "
		    "knows");
	if (p->first_child < 0 || m->parts[p->first_child].next < 0)
		return broken(why,
		    "the signed part or the signature is "
		    "missing");
	c1 = &m->parts[p->first_child];
	c2 = &m->parts[c1->next];
	if (c2->next >= 0)
		return broken(why, "it has more than two parts");
	if (!type_is(c2->type, prot))
		return broken(why,
		    "the signature part is not of the type its "
		    "protocol names");
	if (c1->missing || c2->missing || c1->fill != NULL ||
	    c2->fill != NULL || c1->uu)
		return broken(why, "the signed part is not downloaded whole");
	return MIME_SEC_SIGNED;
}

static enum mime_sec
encrypted_structure(const struct mime_msg *m, const struct part *p,
    enum mime_crypto_proto *proto, const char **why)
{
	const char *prot = mime_param_get(&p->ct, "protocol");
	const struct part *c1, *c2;

	if (prot == NULL || !type_is(prot, "application/pgp-encrypted"))
		return broken(why,
		    "its protocol is not application/"
		    "pgp-encrypted");
	*proto = MIME_CRYPTO_PGP;
	if (p->first_child < 0 || m->parts[p->first_child].next < 0)
		return broken(why,
		    "the control part or the encrypted data is "
		    "missing");
	c1 = &m->parts[p->first_child];
	c2 = &m->parts[c1->next];
	if (!type_is(c1->type, "application/pgp-encrypted"))
		return broken(why,
		    "its first part is not "
		    "application/pgp-encrypted");
	if (!type_is(c2->type, "application/octet-stream"))
		return broken(why,
		    "its second part is not "
		    "application/octet-stream");
	if (c2->missing)
		return broken(why, "the encrypted data is not downloaded");
	return MIME_SEC_ENCRYPTED;
}

enum mime_sec
mime_part_security(const struct mime_msg *m, size_t i,
    enum mime_crypto_proto *proto, const char **why)
{
	const struct part *p;
	const char *st;
	enum mime_crypto_proto dummy;

	if (proto == NULL)
		proto = &dummy;
	if (why != NULL)
		*why = NULL;
	if (i >= m->n)
		return MIME_SEC_NONE;
	p = &m->parts[i];
	if (p->kind == PART_MULTIPART && type_is(p->type, "multipart/signed"))
		return signed_structure(m, p, proto, why);
	if (p->kind == PART_MULTIPART &&
	    type_is(p->type, "multipart/encrypted"))
		return encrypted_structure(m, p, proto, why);
	if (p->kind != PART_LEAF || p->uu ||
	    (!type_is(p->type, "application/pkcs7-mime") &&
	        !type_is(p->type, "application/x-pkcs7-mime")))
		return MIME_SEC_NONE;
	*proto = MIME_CRYPTO_CMS;
	if (p->missing)
		return broken(why, "it is not downloaded");
	st = mime_param_get(&p->ct, "smime-type");
	if (st == NULL || type_is(st, "enveloped-data") ||
	    type_is(st, "authenveloped-data"))
		return MIME_SEC_SMIME_ENVELOPED;
	if (type_is(st, "signed-data"))
		return MIME_SEC_SMIME_SIGNED;
	return MIME_SEC_NONE; /* compressed-data, certs-only: shown as is */
}

int
mime_inline_pgp(const char *s, size_t len)
{
	static const char *const marks[] = {
		"-----BEGIN PGP SIGNED MESSAGE-----",
		"-----BEGIN PGP MESSAGE-----",
	};
	size_t k;

	if (len > INLINE_SCAN_MAX)
		len = INLINE_SCAN_MAX;
	for (k = 0; k < TERN_NELEM(marks); k++) {
		const char *f = memmem(s, len, marks[k], strlen(marks[k]));

		/* At the start of a line only. */
		while (f != NULL) {
			if (f == s || f[-1] == '\n')
				return 1;
			f = memmem(f + 1, len - (size_t)(f + 1 - s), marks[k],
			    strlen(marks[k]));
		}
	}
	return 0;
}

int
mime_has_security(const struct mime_msg *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		const struct part *p = &m->parts[i];

		if (mime_part_security(m, i, NULL, NULL) != MIME_SEC_NONE)
			return 1;
		if (p->kind == PART_LEAF && !p->missing && p->fill == NULL &&
		    type_is(p->type, "text/plain") &&
		    mime_inline_pgp(m->raw + p->body_off, p->body_len))
			return 1;
	}
	return 0;
}
