/*
 * libFuzzer target for the mbox reader: splitting, From_ line and
 * Status: parsing, unquoting. Every message handed on must lie within
 * the input's size (unquoting only ever removes bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(void *arg, const char *raw, size_t len, unsigned flags, int64_t date)
{
	size_t size = *(size_t *)arg;

	(void)raw;
	(void)date;
	if (len == 0 || len > size || (flags & ~0x3fu) != 0)
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
