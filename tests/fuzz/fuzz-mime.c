/*
 * libFuzzer target for the mime module: the envelope, the MIME tree,
 * rendering (flowed text and HTML included), attachment names and part
 * decoding, on any bytes. Rendered text must be valid UTF-8 with no raw
 * control character; anything else aborts so the fuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/mime.h"
#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i], n, k;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				abort();
			i++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (n == 0 || c > 0xf4 || i + n > len)
			abort();
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				abort();
		}
		/* C1 controls (U+0080..U+009F) must have been made visible. */
		if (c == 0xc2 && p[i + 1] < 0xa0)
			abort();
		i += n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *raw = (const char *)data;
	struct mime_envelope e;
	struct mime_msg *m;
	struct mime_render_opts o;
	const struct mime_attachment *a;
	struct buf out;
	size_t i, n;

	mime_envelope_parse(raw, size, &e);
	mime_envelope_clear(&e);

	m = mime_parse(raw, size);
	memset(&o, 0, sizeof o);
	o.full_headers = size > 0 && (data[0] & 1);
	o.width = size > 1 ? data[1] % 100 : 72;
	buf_init(&out, 0);
	if (mime_render(m, &o, &out, NULL) != 0)
		abort();
	check_text(out.data ? out.data : "", out.len);
	n = mime_attachments(m, &a);
	for (i = 0; i < n; i++) {
		char *name = mime_attachment_name(m, a[i].part);

		if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
			abort();
		free(name);
	}
	for (i = 0; i < mime_part_count(m); i++) {
		buf_reset(&out);
		(void)mime_part_decode(m, i, &out, NULL);
	}
	buf_free(&out);
	mime_free(&m);
	return 0;
}
