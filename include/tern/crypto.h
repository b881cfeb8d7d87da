/*
 * crypto: signed and encrypted mail through GPGME. gpg (OpenPGP) and
 * gpgsm (S/MIME) do every piece of cryptography and keep every key; tern
 * only hands them bytes and reads their verdicts.
 *
 * Reading: crypto_mime_ops() gives mime_render the operations it calls
 * for a signed or encrypted part; each says what it found as status
 * lines. Decrypted bytes live in memory only: they are never written to
 * the store, the log or a file, and are wiped when freed.
 *
 * Writing: crypto_message() turns a complete message into a signed
 * (RFC 3156 multipart/signed, or S/MIME) and/or encrypted one before it
 * is queued, so the outbox and the Sent copy hold only what was sent.
 *
 * A struct crypto is used from one thread. When GPGME cannot start (no
 * gpg, a broken installation) every operation still returns, with a
 * status or cause that says so.
 */
#ifndef TERN_CRYPTO_H
#define TERN_CRYPTO_H

#include <stddef.h>

#include "tern/mime.h"
#include "tern/util.h"

struct crypto;
struct rc_account;

/* Never fails; GPGME itself is started on first use. */
struct crypto *crypto_new(void);
void crypto_free(struct crypto **cp);

/*
 * Calls around an operation that may ask gpg-agent for a passphrase
 * (pinentry may take the terminal): the full-screen client steps aside
 * in begin and comes back in end. NULL: nothing is done.
 */
void crypto_set_interact(
    struct crypto *c, void (*begin)(void *), void (*end)(void *), void *arg);

/* The operations mime_render uses; they belong to c. */
const struct mime_crypto_ops *crypto_mime_ops(struct crypto *c);

/* What crypto_message is asked to do: from the message or the account
 * (CRYPTO_DEFAULT), or as given. */
#define CRYPTO_DEFAULT (-1)
#define CRYPTO_NO 0
#define CRYPTO_YES 1

/*
 * Sign and/or encrypt a complete message raw (header and body) for
 * account a. sign and encrypt: CRYPTO_YES or CRYPTO_NO, or
 * CRYPTO_DEFAULT for the message's own "Sign:" and "Encrypt:" lines,
 * else the account's pgp_sign and pgp_encrypt. Those lines are never
 * sent. Encryption is to every To, Cc and Bcc recipient and to the
 * sender, with hidden recipients when there is a Bcc. out gets the
 * message to queue (CRLF lines), which is raw without the Sign: and
 * Encrypt: lines when neither is asked for. Returns 0, or -1 with
 * cause; a recipient without a usable key, when encryption is asked
 * for, fails naming each such recipient, and nothing is made.
 */
int crypto_message(struct crypto *c, const struct rc_account *a, int sign,
    int encrypt, const char *raw, size_t len, struct buf *out, char **cause);

/*
 * What the message's Sign:/Encrypt: lines and the account say would be
 * done, for showing on the send screen: *sign 0 or 1, *encrypt 0, 1, or
 * CRYPTO_DEFAULT for "when every recipient has a key" (pgp_encrypt auto).
 */
void crypto_wanted(const struct rc_account *a, const char *raw, size_t len,
    int *sign, int *encrypt);

#endif
