/*
 * Internals shared by the files of the crypto module: the GPGME contexts
 * (one per protocol, made on first use) and the helpers both reading and
 * writing need.
 */
#ifndef TERN_CRYPTO_PRIVATE_H
#define TERN_CRYPTO_PRIVATE_H

#include <gpgme.h>

#include "tern/crypto.h"

/* Keys looked at per address, at most. */
#define CRYPTO_MAX_KEYS 64

struct crypto {
	int tried; /* gpgme_check_version was called */
	char *init_error; /* why GPGME cannot be used, or NULL */
	gpgme_ctx_t ctx[2]; /* by enum mime_crypto_proto */
	void (*begin)(void *);
	void (*end)(void *);
	void *arg;
	struct mime_crypto_ops ops;
};

/*
 * The context for proto, armor and text mode off, signers cleared;
 * NULL with cause when GPGME or the engine cannot be used.
 */
gpgme_ctx_t crypto_ctx(
    struct crypto *c, enum mime_crypto_proto proto, char **cause);
/* Step aside for pinentry, and back. */
void crypto_interact_begin(struct crypto *c);
void crypto_interact_end(struct crypto *c);
/* "GPGME: what failed" in a sentence. */
const char *crypto_strerror(gpgme_error_t err);
/* The data's bytes copied into out and the data released. */
void crypto_data_take(gpgme_data_t *d, struct buf *out);
/* Whether uid (a user ID's address, any case, with or without <>) is
 * addr. */
int crypto_addr_eq(const char *uid_email, const char *addr);
/* A key fit for use: not expired, revoked, disabled or invalid, and able
 * to sign (for signing) or encrypt. */
int crypto_key_usable(gpgme_key_t k, int for_signing);

#endif
