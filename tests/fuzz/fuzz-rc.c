/*
 * fuzz-rc: the rc parser on arbitrary bytes. Every input must either parse
 * or fail with a cause; neither may crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/rc.h"
#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc *rc = NULL;
	char *cause = NULL;
	char *copy;
	size_t i;

	/* An exact-size copy, so any read past the end is caught. */
	copy = xmalloc(size ? size : 1);
	for (i = 0; i < size; i++)
		copy[i] = (char)data[i];
	if (rc_parse("fuzz", copy, size, &rc, &cause) == 0) {
		for (i = 0; i < rc->naccounts; i++) {
			(void)rc_account_port(&rc->accounts[i]);
			(void)rc_protocol_name(rc->accounts[i].protocol);
		}
		rc_free(&rc);
	} else {
		free(cause);
	}
	free(copy);
	return 0;
}
