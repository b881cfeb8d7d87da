/*
 * libFuzzer target for the POP3 reply parser. The first byte chooses the
 * replies expected (two bits each: line, list, data) and the chunk size,
 * so that pipelined mixes and every split point are explored.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/pop3.h"
#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
sink(void *arg, enum pop3_event ev, const char *d, size_t len)
{
	size_t *total = arg;

	(void)ev;
	if (len > 0 && d[0] == '\0')
		(*total)++;
	*total += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_parser p;
	size_t off, chunk, total = 0;
	char *cause = NULL;
	int i;

	if (size < 2)
		return 0;
	pop3_parser_init(&p, 512);
	for (i = 0; i < 4; i++) {
		int k = (data[0] >> (2 * i)) & 3;

		pop3_parser_expect(
		    &p, k == 3 ? POP3_REPLY_DATA : (enum pop3_reply)k);
	}
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	for (off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (pop3_parser_feed(&p, (const char *)data + off, n, sink,
		        &total, &cause) != 0)
			break;
	}
	free(cause);
	pop3_parser_free(&p);
	return 0;
}
