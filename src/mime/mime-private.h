/*
 * Internals shared by the files of the mime module: header splitting,
 * charset conversion, RFC 2047/2231 decoding, addresses and dates.
 *
 * Every function here takes (pointer, length) input that may hold any
 * bytes, NULs included, and appends valid UTF-8 to a struct buf.
 */
#ifndef TERN_MIME_PRIVATE_H
#define TERN_MIME_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/mime.h"
#include "tern/util.h"

/* Limits against hostile input. */
#define MIME_MAX_HEADER (256 * 1024) /* bytes of one header block */
#define MIME_MAX_FIELDS 1000 /* fields kept per header block */
#define MIME_MAX_PARAMS 64 /* parameters kept per field */
#define MIME_MAX_REFS 64 /* message ids kept from References */

/* One header field: pointers into the message, value still folded. */
struct mime_field {
	const char *name;
	size_t namelen;
	const char *value;
	size_t valuelen;
};

struct mime_header {
	struct mime_field *v;
	size_t n;
	size_t body; /* offset of the body in the parsed bytes */
	size_t omitted; /* header lines beyond the limits, not kept */
};

/* Split the header block at the start of raw; h->body says where it ends. */
void mime_header_parse(const char *raw, size_t len, struct mime_header *h);
void mime_header_free(struct mime_header *h);
/* The first field called name, or NULL. */
const struct mime_field *mime_header_find(
    const struct mime_header *h, const char *name);
/* The field's value unfolded (line breaks removed), trimmed; malloc'd. */
char *mime_field_unfold(const struct mime_field *f, size_t *lenp);
/* Unfolded value of the first field called name, or NULL. */
char *mime_header_get(
    const struct mime_header *h, const char *name, size_t *lenp);

/* UTF-8: the length of the valid sequence at s, 0 if invalid. */
size_t mime_utf8_seq(const unsigned char *s, size_t len);
int mime_utf8_valid(const char *s, size_t len);
/* Append s, each invalid byte (and NUL) replaced by U+FFFD. */
void mime_utf8_sanitize(struct buf *out, const char *s, size_t len);

/*
 * Append s converted from charset to UTF-8. A NULL, unknown or bogus
 * charset means: UTF-8 if it is valid UTF-8, else windows-1252. Bytes that
 * do not convert become U+FFFD.
 */
void mime_charset_convert(
    const char *charset, const char *s, size_t len, struct buf *out);

/* Decode RFC 2047 encoded words (and raw 8-bit text) to UTF-8. */
void mime_decode_words(const char *s, size_t len, struct buf *out);

/* Transfer decodings, appending to out; tolerant of broken input. */
void mime_decode_base64(const char *s, size_t len, struct buf *out);
/* base64 in pieces: the bits not yet a byte carried from one to the next
 * (zero both before the first). */
struct mime_b64 {
	uint32_t acc;
	int bits;
};
void mime_decode_base64_part(
    struct mime_b64 *st, const char *s, size_t len, struct buf *out);
void mime_decode_qp(const char *s, size_t len, struct buf *out, int header);

/* A structured field value: "token; name=value; ..." (RFC 2045, 2231). */
struct mime_param {
	char *name; /* lower case */
	char *value; /* decoded to UTF-8 */
};

struct mime_params {
	char *value; /* the leading token, lower case ("text/plain") */
	struct mime_param *v;
	size_t n;
};

void mime_params_parse(const char *s, size_t len, struct mime_params *p);
void mime_params_free(struct mime_params *p);
const char *mime_param_get(const struct mime_params *p, const char *name);

/* An address list to "Name <addr>, addr, ..." in UTF-8. */
void mime_address_list(const char *s, size_t len, struct buf *out);

/* The address parser's buffers, kept from one list to the next. */
struct mime_mailbox {
	struct buf phrase; /* words outside <>, single spaces */
	struct buf angle; /* inside <> */
	struct buf comment; /* the first comment */
	struct buf name, addr, tmp; /* scratch for the output */
	int has_angle;
	int quoted; /* the phrase holds a quoted string */
};

void mime_mailbox_init(struct mime_mailbox *m);
void mime_mailbox_free(struct mime_mailbox *m);
/* mime_address_list with the caller's buffers. */
void mime_address_list_with(
    struct mime_mailbox *m, const char *s, size_t len, struct buf *out);

/* A date in RFC 5322 or a common broken form; 0 if none is found. */
int64_t mime_date_parse(const char *s, size_t len);

/* "type/subtype" in lower case from a parsed Content-Type, or NULL. */
char *mime_content_type_value(const struct mime_params *p);
/* The value before the parameters, lower case, malloc'd; *end (if not
 * NULL) is where the parameters start. */
char *mime_params_value(const char *s, size_t len, size_t *end);
/*
 * Whether a message shows an attachment: multipart/mixed, a part with
 * Content-Disposition: attachment, or a non-text body. raw holds the
 * message (or just its header), h its parsed header.
 */
int mime_has_attachment(const char *raw, size_t len,
    const struct mime_header *h, const char *content_type);

/* The parsed tree (parse.c), shared with rendering and saving. */
enum part_kind { PART_LEAF, PART_MULTIPART, PART_MESSAGE };
enum part_enc { ENC_IDENTITY, ENC_QP, ENC_BASE64, ENC_UU };
enum part_role {
	ROLE_TEXT, /* shown as text */
	ROLE_HTML, /* converted and shown */
	ROLE_ATTACHMENT, /* one line */
	ROLE_CONTAINER, /* multipart: its children are shown */
	ROLE_MESSAGE, /* message/rfc822: headers, then its body */
	ROLE_HIDDEN, /* an alternative not chosen */
};

struct part {
	struct mime_part pub;
	char *section;
	char *type;
	char *charset;
	char *filename;
	char *disposition;
	char *encoding;
	struct mime_params ct;
	size_t hdr_off, hdr_len; /* header block in raw */
	size_t body_off, body_len;
	int parent, first_child, next; /* indices, -1 for none */
	int depth;
	int uu; /* a uuencoded block inside a text part */
	enum part_kind kind;
	enum part_enc enc;
	enum part_role role;
	int missing; /* view: the body is not downloaded */
	char *remote; /* view: the server's section */
	uint64_t remote_size;
	char *fill; /* the body given later (mime_part_fill), or NULL */
	size_t fill_len;
};

struct mime_msg {
	char *raw;
	size_t len;
	void (*release)(void *); /* mime_parse_owned: gives raw back */
	void *release_arg;
	struct part *parts;
	size_t n, cap;
	int truncated; /* limits hit: some parts are not shown */
	struct mime_attachment *att;
	size_t natt;
	int att_done;
	int view; /* parsed by mime_parse_view */
};

/*
 * Wrap text (no newlines in it) at width, each line starting with pfx,
 * lines after the first indented by hang more spaces.
 */
void mime_wrap(struct buf *out, const char *text, size_t len, unsigned width,
    const char *pfx, size_t pfxlen, size_t hang);
/* Reflow format=flowed text (RFC 3676) to out. */
void mime_flowed(
    const char *s, size_t len, int delsp, unsigned width, struct buf *out);
/* The built-in HTML to text converter (input UTF-8). */
void mime_html_to_text(
    const char *s, size_t len, unsigned width, struct buf *out);

/* Whether text holds an inline OpenPGP block at the start of a line. */
int mime_inline_pgp(const char *s, size_t len);

/* Append the message ids (<...>) found in s, space separated. */
void mime_msgids(const char *s, size_t len, size_t max, struct buf *out);

#endif
