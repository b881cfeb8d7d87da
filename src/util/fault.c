/*
 * Fault injection for the tests: TERN_FAULT=POINT:N kills the process with
 * SIGKILL the Nth time the code reaches POINT, so a test can stop tern at
 * any step of a sync and check what a later run makes of it.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tern/util.h"

void
tern_fault(const char *point)
{
	static atomic_uint count;
	const char *f = getenv("TERN_FAULT");
	size_t len = strlen(point);
	uint64_t n;

	if (f == NULL || strncmp(f, point, len) != 0 || f[len] != ':' ||
	    parse_uint64(f + len + 1, strlen(f + len + 1), 1000000, &n) != 0)
		return;
	if (atomic_fetch_add(&count, 1) + 1 == n)
		raise(SIGKILL);
}
