/*
 * The table of account drivers, one per protocol.
 */
#include <stddef.h>

#include "tern/core.h"
#include "tern/imap.h"
#include "tern/pop3.h"

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
