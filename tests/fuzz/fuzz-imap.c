/*
 * libFuzzer target for the IMAP response parser. The first byte picks a
 * chunk size, so the "need more data" path of every state is exercised;
 * tight limits make the bounds reachable with small inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "src/imap/imap-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_limits lim = { 4096, 4096, 16, 512 };
	struct imap_parser *p;
	size_t chunk, off = 1;
	char *cause = NULL;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 17 + 1;
	p = imap_parser_new(&lim);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk, used;
		int rc = imap_parser_feed(
		    p, (const char *)data + off, n, &used, &cause);

		if (rc < 0)
			break;
		off += used;
		if (rc == 1) {
			const struct imap_resp *r = imap_parser_response(p);
			size_t i;

			for (i = 0; i < r->nitems; i = imap_next(r, i))
				(void)imap_astr(r, i, NULL);
			imap_parser_next(p);
		}
	}
	free(cause);
	imap_parser_free(&p);
	return 0;
}
