/*
 * libFuzzer target for the signed and encrypted structure of the mime
 * module: which part is signed, which is the signature, what is
 * encrypted, inline blocks, nesting. Stand-in cryptography "decrypts" by
 * handing the data back, so the input's encrypted parts are themselves
 * MIME and nest. Rendering must finish with valid, visible text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/mime.h"
#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
verify(void *arg, enum mime_crypto_proto proto, const char *d, size_t len,
    const char *sig, size_t siglen, const char *from, struct buf *st)
{
	(void)arg;
	(void)proto;
	(void)d;
	(void)sig;
	(void)from;
	(void)buf_printf(
	    st, "Good signature over %zu bytes (%zu)\n", len, siglen);
}

static int
decrypt(void *arg, enum mime_crypto_proto proto, const char *d, size_t len,
    const char *from, struct buf *plain, struct buf *st)
{
	(void)arg;
	(void)proto;
	(void)from;
	if (len > 0 && d[0] == 'F') {
		(void)buf_adds(st, "Cannot decrypt\n");
		return -1;
	}
	(void)buf_adds(st, "Decrypted\n");
	(void)buf_add(plain, d, len);
	return 0;
}

static int
opaque(void *arg, enum mime_crypto_proto proto, const char *d, size_t len,
    const char *from, struct buf *plain, struct buf *st)
{
	(void)arg;
	(void)proto;
	(void)from;
	(void)buf_adds(st, "Good signature\nsecond line\n");
	(void)buf_add(plain, d, len / 2);
	return 0;
}

static const struct mime_crypto_ops ops = { NULL, verify, decrypt, opaque };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_msg *m = mime_parse((const char *)data, size);
	struct mime_render_opts o;
	struct buf out;
	size_t i;

	memset(&o, 0, sizeof o);
	o.crypto = &ops;
	(void)mime_has_security(m);
	for (i = 0; i < mime_part_count(m); i++)
		(void)mime_part_security(m, i, NULL, NULL);
	buf_init(&out, 0);
	if (mime_render(m, &o, &out, NULL) != 0)
		abort();
	if (!utf8_valid(out.data ? out.data : "", out.len, 0))
		abort();
	buf_free(&out);
	mime_free(&m);
	return 0;
}
