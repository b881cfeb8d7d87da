/*
 * imap: the IMAP account driver (src/imap/): its own protocol engine over
 * the connection net_connect() makes, a streaming response parser, and
 * the sync of folders, header index, flags and queued changes.
 */
#ifndef TERN_IMAP_H
#define TERN_IMAP_H

#include "tern/core.h"

extern const struct driver_ops imap_driver;

#endif
