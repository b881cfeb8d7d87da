/*
 * The table of account drivers, one per protocol.
 */
#include <stddef.h>

#include "tern/core.h"
#include "tern/imap.h"
#include "tern/pop3.h"

int
core_account_remote(const struct rc_account *a)
{
	const struct driver_ops *d =
	    a != NULL ? core_driver(a->protocol) : NULL;

	return d != NULL && (d->caps & CORE_DRV_REMOTE) != 0;
}

const struct driver_ops *
core_driver(enum rc_protocol p)
{
	switch (p) {
	case RC_PROTO_POP3:
		return &pop3_driver;
	case RC_PROTO_IMAP:
		return &imap_driver;
	case RC_PROTO_LOCAL:
		break;
	}
	return NULL;
}
