/*
 * libFuzzer target for the IMAP response parser. The first byte picks a
 * chunk size, so the "need more data" path of every state is exercised,
 * and whether literals over 8 bytes go to a sink (which checks that it
 * is handed no more than each literal's size); tight limits make the
 * bounds reachable with small inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "src/imap/imap-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the sink was told to expect, and was given. */
struct sunk {
	uint64_t want, got;
};

static int
sink_begin(void *arg, uint64_t size, char **cause)
{
	struct sunk *k = arg;

	(void)cause;
	if (k->got != k->want)
		abort(); /* the last literal was cut short */
	k->want = size;
	k->got = 0;
	return 0;
}

static int
sink_data(void *arg, const char *data, size_t len, char **cause)
{
	struct sunk *k = arg;

	(void)data;
	(void)cause;
	k->got += len;
	if (len == 0 || k->got > k->want)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_limits lim = { 4096, 4096, 16, 512 };
	struct imap_parser *p;
	struct sunk k = { 0, 0 };
	struct imap_sink sink = { sink_begin, sink_data, &k, 8 };
	size_t chunk, off = 1;
	char *cause = NULL;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] & 0x7f) % 17 + 1;
	p = imap_parser_new(&lim);
	if (data[0] & 0x80)
		imap_parser_set_sink(p, &sink);
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
