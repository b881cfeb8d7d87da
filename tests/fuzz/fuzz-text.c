/*
 * fuzz-text: text_visible, the last filter between outside text and the
 * terminal, on arbitrary bytes. Whatever comes in, what goes out must be
 * valid UTF-8 with no C0 control but tab (and newline when kept), no DEL,
 * no C1 control and no bidirectional control; a violation aborts. Also
 * parse_uint64 against a simple reference.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check one output; abort() on a byte that must not reach a terminal. */
static void
check_visible(const unsigned char *s, size_t len, int keep_newline)
{
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && s[i] != '\t' &&
			        !(s[i] == '\n' && keep_newline)) ||
			    s[i] == 0x7f)
				abort();
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2, c = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3, c = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4, c = s[i] & 0x07;
		else
			abort();
		if (i + n > len)
			abort();
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				abort();
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
		    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			abort();
		if ((c >= 0x80 && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069) || c == 0x200e ||
		    c == 0x200f || c == 0x061c)
			abort();
		i += n;
	}
}

static void
check_uint64(const char *s, size_t len)
{
	uint64_t v = 0, ref = 0;
	size_t i;
	/* Longer than 20 digits is refused even with leading zeros. */
	int ok = len > 0 && len <= 20, r;

	for (i = 0; i < len && ok; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    ref > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			ok = 0;
		else
			ref = ref * 10 + (uint64_t)(s[i] - '0');
	}
	r = parse_uint64(s, len, UINT64_MAX, &v);
	if ((r == 0) != ok || (ok && v != ref))
		abort();
	if (ok && parse_uint64(s, len, ref > 0 ? ref - 1 : 0, &v) == 0 &&
	    ref > 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = xmalloc(size ? size : 1);
	struct buf b;
	int keep;

	memcpy(copy, data, size);
	for (keep = 0; keep <= 1; keep++) {
		buf_init(&b, 0);
		text_visible(&b, copy, size, keep);
		check_visible((const unsigned char *)b.data, b.len, keep);
		buf_free(&b);
	}
	/* A small max: the output is cut, never overrun. */
	buf_init(&b, 16);
	text_visible(&b, copy, size, 0);
	if (b.len > 16)
		abort();
	buf_free(&b);
	check_uint64(copy, size < 24 ? size : 24);
	free(copy);
	return 0;
}
