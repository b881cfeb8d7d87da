/*
 * Modified UTF-7 mailbox names (RFC 3501 section 5.1.3). Names are kept
 * as UTF-8 in the store and encoded only on the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "imap-private.h"
#include "tern/store.h"
#include "tern/util.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static void
utf8_encode(struct buf *out, uint32_t c)
{
	char s[4];
	size_t n;

	if (c < 0x80) {
		s[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		s[0] = (char)(0xf0 | (c >> 18));
		s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	(void)buf_add(out, s, n);
}

char *
imap_utf7_encode(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0;
	struct buf out;

	buf_init(&out, 0);
	while (i < len) {
		uint32_t bits = 0;
		int nbits = 0;

		if (s[i] >= 0x20 && s[i] < 0x7f) {
			if (s[i] == '&')
				(void)buf_adds(&out, "&-");
			else
				(void)buf_addc(&out, (char)s[i]);
			i++;
			continue;
		}
		(void)buf_addc(&out, '&');
		while (i < len && (s[i] < 0x20 || s[i] >= 0x7f)) {
			uint32_t cp, units[2];
			size_t n = utf8_decode(s + i, len - i, &cp), k, nu;

			if (n == 0) {
				cp = 0xfffd;
				n = 1;
			}
			i += n;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 | (cp >> 10);
				units[1] = 0xdc00 | (cp & 0x3ff);
				nu = 2;
			} else {
				units[0] = cp;
				nu = 1;
			}
			for (k = 0; k < nu; k++) {
				bits = (bits << 16) | units[k];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					(void)buf_addc(
					    &out, b64[(bits >> nbits) & 0x3f]);
				}
			}
		}
		if (nbits > 0)
			(void)buf_addc(&out, b64[(bits << (6 - nbits)) & 0x3f]);
		(void)buf_addc(&out, '-');
	}
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out, NULL);
}

char *
imap_utf7_decode(const char *name)
{
	size_t len = strlen(name), i = 0;
	struct buf out;

	buf_init(&out, 0);
	while (i < len) {
		uint32_t bits = 0, hi = 0;
		int nbits = 0;

		if (name[i] != '&') {
			(void)buf_addc(&out, name[i++]);
			continue;
		}
		i++;
		if (i < len && name[i] == '-') {
			(void)buf_addc(&out, '&');
			i++;
			continue;
		}
		while (i < len && name[i] != '-') {
			const char *p = strchr(b64, name[i]);

			if (p == NULL || name[i] == '\0')
				break;
			bits = (bits << 6) | (uint32_t)(p - b64);
			nbits += 6;
			i++;
			if (nbits >= 16) {
				uint32_t u = (bits >> (nbits - 16)) & 0xffff;

				nbits -= 16;
				if (u >= 0xd800 && u < 0xdc00)
					hi = u;
				else if (u >= 0xdc00 && u < 0xe000 && hi) {
					utf8_encode(&out,
					    0x10000 + ((hi - 0xd800) << 10) +
					        (u - 0xdc00));
					hi = 0;
				} else {
					utf8_encode(&out,
					    u >= 0xd800 && u < 0xe000 ? 0xfffd
					                              : u);
					hi = 0;
				}
			}
		}
		if (i < len && name[i] == '-')
			i++;
	}
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out, NULL);
}

char *
imap_name_to_wire(const char *name, char delim, const char *prefix)
{
	char *copy, *p, *wire, *full;

	if (ascii_strcasecmp(name, "INBOX") == 0)
		return xstrdup("INBOX");
	copy = xstrdup(name);
	if (delim != '\0' && delim != '/') {
		for (p = copy; *p != '\0'; p++) {
			if (*p == '/')
				*p = delim;
		}
	}
	wire = imap_utf7_encode(copy);
	free(copy);
	if (prefix == NULL || *prefix == '\0')
		return wire;
	full = xasprintf("%s%s", prefix, wire);
	free(wire);
	return full;
}

char *
imap_name_from_wire(const char *wire, char delim, const char *prefix)
{
	size_t plen = prefix != NULL ? strlen(prefix) : 0;
	char *name, *p;

	/* INBOX is case-insensitive; keep one spelling. */
	if (ascii_strcasecmp(wire, "INBOX") == 0)
		return xstrdup("INBOX");
	/* The personal namespace's prefix is not part of the name. */
	if (plen > 0 && strncmp(wire, prefix, plen) == 0 && wire[plen] != '\0')
		wire += plen;
	name = imap_utf7_decode(wire);
	if (delim != '\0' && delim != '/') {
		for (p = name; *p != '\0'; p++) {
			if (*p == delim)
				*p = '/';
		}
	}
	return name;
}

char *
imap_wire_stored(struct store *s, int64_t account_id, char delim,
    const char *prefix, const char *name)
{
	char *w = NULL, *back, *q, *err = NULL;

	if (store_folder_imap_name(s, account_id, name, &w, &err) == 1) {
		/* Only while it still names this folder (not after a rename). */
		back = imap_name_from_wire(w, delim, prefix);
		if (strcmp(back, name) == 0) {
			q = imap_quote(w);
			free(back);
			free(w);
			return q;
		}
		free(back);
	}
	free(w);
	free(err);
	w = imap_name_to_wire(name, delim, prefix);
	q = imap_quote(w);
	free(w);
	return q;
}
