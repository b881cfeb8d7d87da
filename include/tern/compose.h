/*
 * compose: writing mail. A draft (struct compose) is made for a new
 * message, a reply, a reply to all or a forward; it is written to a
 * temporary file as plain UTF-8 header lines and a body, edited with the
 * user's editor, parsed back, and built into an RFC 5322 / MIME message:
 * RFC 2047 encoded and folded headers, Date and Message-ID, a text body as
 * 7bit, 8bit, quoted-printable or base64 as its content needs, and files
 * attached as base64 with RFC 2231 file names.
 *
 * The original message of a reply or forward is input from a stranger:
 * what is taken from it is bounded and its control characters are made
 * visible; nothing of it reaches a shell or a path.
 *
 * All strings in a struct compose are malloc'd UTF-8 and belong to it;
 * compose_clear() releases them.
 */
#ifndef TERN_COMPOSE_H
#define TERN_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/util.h"

/* Largest file tern attaches, and largest message it builds. */
#define COMPOSE_ATTACH_MAX (32u * 1024 * 1024)
#define COMPOSE_MESSAGE_MAX (64u * 1024 * 1024)

struct compose {
	char *from; /* "Name <addr>" */
	char *to; /* address lists, comma separated */
	char *cc;
	char *bcc;
	char *subject;
	char *in_reply_to; /* "<id>" or NULL */
	char *references; /* "<id> <id>" or NULL */
	char *body; /* the text, LF line ends */
	char **attach; /* paths of files to attach */
	size_t nattach;
	char **extra; /* other "Name: value" header lines from the draft */
	size_t nextra;
	char *fwd_raw; /* forward as attachment: the original, as is */
	size_t fwd_len;
	/* Further originals forwarded with it (compose_forward_add). */
	char **fwd_more;
	size_t *fwd_more_len;
	size_t nfwd_more;
};

void compose_init(struct compose *c);
void compose_clear(struct compose *c);
void compose_attach_add(struct compose *c, const char *path);
/* Remove attachment i (0-based); -1 if there is none. */
int compose_attach_remove(struct compose *c, size_t i);

/* A new message from the given From (may be NULL). */
void compose_new(struct compose *c, const char *from);
/*
 * A reply to the raw original: To is its Reply-To or From (its To when
 * the original is from us), with all set its To and Cc too minus our own
 * address; "Re: " subject; In-Reply-To and References; the text quoted
 * under an attribution line, up to its signature ("-- " line).
 */
void compose_reply(
    struct compose *c, const char *raw, size_t len, const char *from, int all);
/*
 * The address of the original's List-Post (<mailto:...>), or NULL;
 * malloc'd.
 */
char *compose_list_post(const char *raw, size_t len);
/*
 * A reply to the mailing list the original came through: as
 * compose_reply, addressed to its List-Post address, else to the first
 * of its To and Cc addresses that is_list (may be NULL) says is a list.
 * -1 when there is none (c is left alone).
 */
int compose_reply_list(struct compose *c, const char *raw, size_t len,
    const char *from, int (*is_list)(const char *addr, void *arg), void *arg);
/*
 * A postponed draft (a message built with COMPOSE_DRAFT) made a draft to
 * edit again: its From, To, Cc, Bcc, Subject, In-Reply-To, References,
 * Sign and Encrypt decoded, and its text as the body (the text part
 * alone when it has attachments).
 */
void compose_recall(struct compose *c, const char *raw, size_t len);
/*
 * Take back the attachments of a recalled draft: each file is saved into
 * dir (made safe, as mime_attachment_save) and attached from there; a
 * forwarded message becomes a forward as attachment again, its bytes as
 * they were. How many were taken back, or -1 with cause.
 */
int compose_recall_attachments(struct compose *c, const char *raw, size_t len,
    const char *dir, char **cause);
/*
 * Append a signature to the body under a "-- " line (unless text starts
 * with one). compose_signature_file: the text of a file (~/ is $HOME),
 * at most 64 KiB; -1 with cause when it cannot be read.
 */
void compose_signature(struct compose *c, const char *text);
int compose_signature_file(struct compose *c, const char *path, char **cause);
/*
 * A forward: inline (the original's main headers and text in the body) or
 * as an attachment (message/rfc822, the original's exact bytes).
 */
void compose_forward(struct compose *c, const char *raw, size_t len,
    const char *from, int as_attachment);
/* One more original for a forward as attachments, after the first. */
void compose_forward_add(struct compose *c, const char *raw, size_t len);

/* The draft as the editor shows it: header lines, a blank line, the body. */
void compose_draft_write(const struct compose *c, struct buf *out);
/*
 * Read an edited draft back into c (From, To, Cc, Bcc, Subject, Attach
 * lines, other headers kept as they are, then the body). In-Reply-To,
 * References and a forwarded original are kept from c.
 */
int compose_draft_parse(
    struct compose *c, const char *text, size_t len, char **cause);

/*
 * Keep the draft in a new private file (in $TMPDIR or /tmp) when it could
 * not be sent or saved, so no work is lost; returns its malloc'd path.
 */
char *compose_draft_keep(const struct compose *c, char **cause);

/* The editor: rc's "editor", else $VISUAL, else $EDITOR, else vi. */
const char *compose_editor(const char *rc_editor);
/*
 * Write the draft to a private temporary file, run the editor on it
 * (sh -c 'EDITOR "$1"' with the path as $1), and parse it back. An editor
 * that fails or leaves the file empty cancels: -1 with cause.
 */
int compose_edit(struct compose *c, const char *editor, char **cause);

/* compose_build flags. */
#define COMPOSE_KEEP_BCC 0x1 /* write Bcc (the copy queued in the outbox) */
#define COMPOSE_DRAFT \
	0x2 /* a postponed draft: Bcc kept, no recipient
                             needed */

/*
 * Build the message. Bcc is written only with COMPOSE_KEEP_BCC or
 * COMPOSE_DRAFT (compose_prepare_raw strips it before sending); every
 * To, Cc and Bcc address is added to rcpts (a NULL-terminated malloc'd
 * vector of addr-specs, free with compose_strv_free) when rcpts is not
 * NULL. now is the time for Date (0: the current time).
 */
/* out should be unbounded (max 0): the size is checked at the end. */
int compose_build(const struct compose *c, int64_t now, int flags,
    struct buf *out, char ***rcpts, char **cause);
void compose_strv_free(char **v);

/*
 * For a complete message from elsewhere (tern send): the envelope
 * recipients from its To, Cc and Bcc, and the bytes without the Bcc
 * header, with CRLF line ends. Returns -1 when there are no recipients.
 */
int compose_prepare_raw(
    const char *raw, size_t len, struct buf *out, char ***rcpts, char **cause);
/*
 * Complete a message queued by tern send: add From, Date and Message-ID
 * when missing; line ends made CRLF.
 */
void compose_complete_raw(
    const char *raw, size_t len, const char *from, struct buf *out);

/* Low-level pieces, public for the client and the tests. */

/*
 * The unfolded value of the first header field name in raw (which may be
 * a whole message), or NULL. Not decoded.
 */
char *compose_header_get(const char *raw, size_t len, const char *name);
/* Decode RFC 2047 encoded words to UTF-8 (control characters visible). */
char *compose_header_decode(const char *value);
/* The addr-spec of each address of a list, NULL-terminated vector. */
char **compose_addr_list(const char *list);
/* The display name of a list's first address (else its addr-spec), or
 * NULL when the list has none; malloc'd. */
char *compose_addr_first_name(const char *list);
/* The addr-spec of a single address ("Name <a@b>" -> "a@b"), malloc'd. */
char *compose_addr_spec(const char *address);
/*
 * Append "Name: value" encoded (RFC 2047 for non-ASCII) and folded at 78
 * columns, with CRLF. addresses: value is an address list.
 */
void compose_header_add(
    struct buf *out, const char *name, const char *value, int addresses);
/* The transfer encoding a text needs: "7bit", "8bit", "quoted-printable"
 * or "base64". */
const char *compose_text_encoding(const char *s, size_t len);
void compose_qp_encode(struct buf *out, const char *s, size_t len);
void compose_base64_encode(struct buf *out, const void *data, size_t len);
/* A MIME type from content (magic numbers, text) and file name. */
const char *compose_guess_type(const char *name, const void *data, size_t len);
/*
 * Append '; NAME="value"' or, for non-ASCII or long values, the RFC 2231
 * form (NAME*=utf-8''..., split in NAME*0*, NAME*1* ... when long), each
 * parameter on its own folded line.
 */
void compose_param_add(struct buf *out, const char *name, const char *value);
/* RFC 5322 date of t in local time. */
void compose_date(int64_t t, char *out, size_t len);
/* A new "<...@domain>" Message-ID, the domain taken from the From. */
char *compose_message_id(const char *from);

#endif
