/*
 * libFuzzer target for the mbox reader: splitting, From_ line,
 * Status: and keyword parsing, unquoting. Every message handed on must lie within
 * the input's size (unquoting only ever removes bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(void *arg, const char *raw, size_t len, const struct archive_meta *m)
{
	size_t size = *(size_t *)arg;

	(void)raw;
	if (len == 0 || len > size || (m->flags & ~0x3fu) != 0 ||
	    (m->keywords != NULL && strlen(m->keywords) > size))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;

	(void)archive_mbox_parse(
	    (const char *)data, size, ARCHIVE_MBOXRD, check, &size, &cause);
	free(cause);
	cause = NULL;
	(void)archive_mbox_parse(
	    (const char *)data, size, ARCHIVE_MBOXO, check, &size, &cause);
	free(cause);
	return 0;
}
