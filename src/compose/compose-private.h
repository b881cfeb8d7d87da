/*
 * Internals shared by the files of the compose module.
 */
#ifndef TERN_COMPOSE_PRIVATE_H
#define TERN_COMPOSE_PRIVATE_H

#include "tern/compose.h"

/* Bounds on what is read from an original message. */
#define COMPOSE_HEADER_MAX (256u * 1024)
#define COMPOSE_ADDR_MAX 1000 /* addresses in one list */

/* One address of a list: display name (raw, not decoded) and addr-spec. */
struct compose_addr {
	char *name; /* NULL if none; quotes and comments removed */
	char *spec;
};

/* Parse an address list; *n entries (possibly 0). */
void compose_addr_parse(const char *list, struct compose_addr **v, size_t *n);
void compose_addr_free(struct compose_addr *v, size_t n);
/* "Name <spec>", the name quoted when it needs to be, or "spec". */
char *compose_addr_format(const char *name, const char *spec);
/* Whether s has a byte >= 0x80. */
int compose_has_8bit(const char *s, size_t len);
/* The end of the header block of raw (offset of the body). */
size_t compose_header_end(const char *raw, size_t len);
/* Append s with CRLF line ends (bare LF and CR made CRLF). */
void compose_add_crlf(struct buf *out, const char *s, size_t len);

#endif
