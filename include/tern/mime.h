/*
 * mime: RFC 5322 and MIME messages: header parsing and decoding, the
 * envelope an index needs, rendering a message to the text the pager and
 * `tern cat` show, threading, and attachments.
 *
 * Everything here is input from strangers: depth, part count and header
 * size are bounded, time is linear in the input, and output is valid
 * UTF-8 (control characters are made visible by the callers that print).
 */
#ifndef TERN_MIME_H
#define TERN_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "tern/util.h"

/* The header fields an index needs, decoded to UTF-8. */
struct mime_envelope {
	int64_t date; /* Date: as seconds since the epoch, 0 if none */
	char *from; /* "Display Name <addr>", or "addr" */
	char *to; /* the same, comma separated */
	char *cc;
	char *subject;
	char *message_id; /* with angle brackets, as written */
	char *in_reply_to;
	char *refs; /* References: message ids separated by spaces */
	char *content_type; /* "type/subtype", lower case */
	int has_attach; /* multipart/mixed or an attachment is visible */
};

/*
 * Parse the header of a message (raw may hold just the header block, as
 * IMAP's BODY.PEEK[HEADER.FIELDS (...)] returns it, or the whole message).
 * Never fails: missing fields are NULL. Free with mime_envelope_clear().
 */
void mime_envelope_parse(
    const char *raw, size_t len, struct mime_envelope *env);
void mime_envelope_clear(struct mime_envelope *env);

#endif
