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

/*
 * A header value (unfolded) decoded to UTF-8: RFC 2047 encoded words, and
 * raw 8-bit text in UTF-8 or windows-1252. Malloc'd; control characters
 * are kept for the caller to show visibly.
 */
char *mime_decode_header(const char *s, size_t len);

/*
 * A parsed message: a tree of parts (RFC 2045-2049) over a private copy of
 * the raw bytes. Parsing never fails: broken structure is read as well as
 * it can be (missing boundaries, no closing delimiter, bad encodings).
 * Depth (MIME_MAX_DEPTH) and part count (MIME_MAX_PARTS) are bounded.
 */
#define MIME_MAX_DEPTH 32
#define MIME_MAX_PARTS 1000

struct mime_msg;

struct mime_msg *mime_parse(const char *raw, size_t len);
/*
 * The same without the copy, for big messages: raw (with raw[len] ==
 * '\0') must stay valid until mime_free, which calls release(arg).
 */
struct mime_msg *mime_parse_owned(
    char *raw, size_t len, void (*release)(void *), void *arg);
/*
 * Parse a view: a skeleton message in which a leaf whose header carries
 * MIME_VIEW_FIELD ("SECTION; size=N", added by the IMAP driver, never
 * taken from a message: mime_parse ignores it) has no body yet. Such a
 * part is missing (struct mime_part) and shown as an attachment that is
 * not downloaded until mime_part_fill gives it its bytes.
 */
#define MIME_VIEW_FIELD "X-Tern-Part"
struct mime_msg *mime_parse_view(const char *raw, size_t len);
void mime_free(struct mime_msg **mp);

/*
 * One part. Strings belong to the message. section is IMAP's part number
 * ("1", "2.1"; "" for the top multipart; a uuencoded file found inside a
 * text part is "1.uu1", which IMAP does not know); filename is decoded to
 * UTF-8 as the message gives it and is not safe as a path (see
 * mime_attachment_save) nor to print (control characters are raw).
 */
struct mime_part {
	const char *section;
	const char *type; /* "text/plain", lower case */
	const char *charset; /* or NULL */
	const char *filename; /* or NULL */
	const char *disposition; /* "attachment", "inline" or NULL */
	const char *encoding; /* "base64", ... lower case; "7bit" if none */
	size_t raw_size; /* encoded bytes in the message */
	int depth; /* 0 for the top of the message */
	int attachment; /* shown as an attachment line */
	int missing; /* a view's part whose body is not downloaded */
	const char *remote_section; /* a view's: the server's section */
	uint64_t remote_size; /* a view's: encoded size on the server */
};

size_t mime_part_count(const struct mime_msg *m);
/* The part at index i (0 <= i < count), in the message's order. */
const struct mime_part *mime_part_at(const struct mime_msg *m, size_t i);
/* The index of the part with this section, or -1. */
long mime_part_find(const struct mime_msg *m, const char *section);
/*
 * Where part i lies in the parsed bytes: its header block starts at
 * *hdr_off, its body is *body_len bytes at *body_off. 1 for a leaf, 0 for
 * a multipart or a forwarded message, -1 for a part that is not made of
 * the message's own bytes as they stand (a uuencoded block, a view's
 * missing or filled part, anything inside a forwarded message).
 */
int mime_part_span(const struct mime_msg *m, size_t i, size_t *hdr_off,
    size_t *body_off, size_t *body_len);
/* Append the part's bytes with its transfer encoding undone. */
int mime_part_decode(
    const struct mime_msg *m, size_t i, struct buf *out, char **cause);
/* The same converted from the part's charset to UTF-8. */
int mime_part_text(
    const struct mime_msg *m, size_t i, struct buf *out, char **cause);
/*
 * The same in pieces of at most about a mebibyte, each given to cb as it
 * is decoded, so a big attachment is never held whole. A non-zero return
 * from cb stops it and is returned.
 */
typedef int (*mime_write_cb)(void *arg, const char *data, size_t len);
int mime_part_decode_to(
    const struct mime_msg *m, size_t i, mime_write_cb cb, void *arg);

/*
 * Give a view's part its body (data: the bytes as the server holds them,
 * still transfer-encoded). 0, or -1 with cause if the part has none
 * missing.
 */
int mime_part_fill(
    struct mime_msg *m, size_t i, const char *data, size_t len, char **cause);

/* The parts shown as attachments, in order; they belong to the message. */
struct mime_attachment {
	size_t part; /* index for mime_part_at / mime_part_decode */
	const char *section;
	const char *filename; /* decoded, or NULL */
	const char *type;
	size_t size; /* decoded bytes */
};

size_t mime_attachments(struct mime_msg *m, const struct mime_attachment **v);
/*
 * Attachments are numbered by their MIME part number, as the pager and
 * `tern cat` label them ("Attachment 2: a.txt", "3.2", "1.uu1"): the index
 * in mime_attachments' list of the one numbered label, or -1.
 */
long mime_attachment_find(struct mime_msg *m, const char *label);
/* The attachments' numbers for a prompt or a message: "2, 3, 4"
 * (malloc'd; "" when there is none). */
char *mime_attachment_numbers(struct mime_msg *m);

/*
 * Signed and encrypted mail (RFC 1847, RFC 3156, RFC 8551, inline
 * OpenPGP). The renderer finds the structure: which part is signed, which
 * is the signature, which bytes are encrypted; the cryptography is the
 * caller's, through these operations (the crypto module supplies them).
 * Each appends one or more status lines without their brackets
 * ("Good signature from ...") to status, one per line; from is the
 * addr-spec of the message's From ("" if none) to compare with the
 * signer's. Plaintext goes to plain only, never anywhere else.
 */
enum mime_crypto_proto { MIME_CRYPTO_PGP, MIME_CRYPTO_CMS };

struct mime_crypto_ops {
	void *arg;
	/* A detached signature sig over data (canonical, CRLF lines). */
	void (*verify)(void *arg, enum mime_crypto_proto proto,
	    const char *data, size_t len, const char *sig, size_t siglen,
	    const char *from, struct buf *status);
	/*
	 * Decrypt data (and check a signature made with it) into plain: a
	 * MIME entity for PGP/MIME and S/MIME, text for an inline block.
	 * 0, or -1 when nothing was decrypted (status says why).
	 */
	int (*decrypt)(void *arg, enum mime_crypto_proto proto,
	    const char *data, size_t len, const char *from, struct buf *plain,
	    struct buf *status);
	/*
	 * A signature that holds what it signs (an inline cleartext signed
	 * block, S/MIME signed-data): check it and give the text in plain.
	 * 0, or -1 when the text could not be had (status says why).
	 */
	int (*verify_opaque)(void *arg, enum mime_crypto_proto proto,
	    const char *data, size_t len, const char *from, struct buf *plain,
	    struct buf *status);
};

/*
 * What a part is to the cryptography, by its structure only: a
 * multipart/signed whose two parts and protocol agree, a
 * multipart/encrypted likewise, an S/MIME application/pkcs7-mime, or
 * none. A broken structure (a missing part, a protocol that does not
 * match) is MIME_SEC_BROKEN with why set to a static sentence.
 */
enum mime_sec {
	MIME_SEC_NONE,
	MIME_SEC_SIGNED,
	MIME_SEC_ENCRYPTED,
	MIME_SEC_SMIME_ENVELOPED,
	MIME_SEC_SMIME_SIGNED,
	MIME_SEC_BROKEN,
};
enum mime_sec mime_part_security(const struct mime_msg *m, size_t i,
    enum mime_crypto_proto *proto, const char **why);
/* Whether any part of the message is signed or encrypted (whole or
 * inline), so that it is worth downloading whole. */
int mime_has_security(const struct mime_msg *m);

/* How mime_render shows a message. */
struct mime_render_opts {
	int full_headers; /* every header field, not just the usual five */
	/*
	 * A command (the user's, from the rc: "w3m -dump -T text/html") run
	 * through /bin/sh that reads HTML on stdin and writes text; NULL or
	 * empty: the built-in converter. Nothing from the message is passed
	 * to it but the HTML on its stdin.
	 */
	const char *html_filter;
	unsigned width; /* reflow format=flowed and HTML text; 0: 72 */
	/* The message's keywords, space separated, shown as a Keywords:
	 * line after the header fields; NULL: none. */
	const char *keywords;
	/*
	 * The text for a search index instead (mime_index_text): no header
	 * block, an attachment by its file name alone, none of the notes
	 * in [-- --], never the html_filter.
	 */
	int index;
	/* Verify and decrypt with these; NULL: signed and encrypted parts
	 * are shown as they are (the signature as an attachment). */
	const struct mime_crypto_ops *crypto;
	/* The fields shown (without full_headers), in this order, named as
	 * here; NULL: Date, From, To, Cc, Subject. */
	char *const *headers;
	size_t nheaders;
};

/*
 * Append the text the pager shows: the decoded headers, the body (text
 * preferred over HTML, flowed text reflowed, HTML converted), forwarded
 * messages with their headers, one line per attachment. The text is valid
 * UTF-8 with every control character but tab and newline made visible.
 * Fails only when out's maximum is reached.
 */
int mime_render(struct mime_msg *m, const struct mime_render_opts *o,
    struct buf *out, char **cause);
/*
 * The same text handed to cb a piece at a time (about a mebibyte), for
 * writing it out without holding it twice. A non-zero return from cb
 * stops it and is returned.
 */
int mime_render_to(struct mime_msg *m, const struct mime_render_opts *o,
    mime_write_cb cb, void *arg);

/*
 * Attachments inside decrypted parts are shown as "eK.N": attachment N
 * (its part number) of the K-th message decrypted in the rendering, in
 * the order shown. This decrypts again (with o's crypto) and gives that
 * message in *inner (the caller frees it with mime_free; its bytes are
 * wiped then) and the index of the part in it. 1 found, 0 not.
 */
int mime_secure_attachment(struct mime_msg *m, const struct mime_render_opts *o,
    const char *label, struct mime_msg **inner, size_t *part);

/*
 * What a search index holds of a message (raw, or a view when view is
 * set): in header, the decoded header fields one "Name: value" a line,
 * but for From, To, Cc and Subject (which the index has from the
 * envelope) and the trace and signature fields no one searches
 * (Received, DKIM-Signature, ...); in body, the text the pager shows
 * below the header with each attachment's file name (mime_render's
 * index mode). Both at most MIME_INDEX_MAX bytes.
 */
#define MIME_INDEX_MAX (4u << 20)
void mime_index_text(const char *raw, size_t len, int view, struct buf *header,
    struct buf *body);

/*
 * Save part i into directory dir under its decoded name made safe: the
 * last path component only, no control characters, no leading dot, never
 * overwriting a file (a number is added instead). *path_out gets the
 * malloc'd path written.
 */
int mime_attachment_save(const struct mime_msg *m, size_t i, const char *dir,
    char **path_out, char **cause);
/* The name mime_attachment_save would use (malloc'd, never empty). */
char *mime_attachment_name(const struct mime_msg *m, size_t i);

/*
 * Mailcap (RFC 1524). files is a colon-separated list of mailcap files
 * (NULL: $MAILCAPS, or ~/.mailcap:/etc/mailcap). Finds the first entry
 * whose type matches and whose test= (if any) succeeds.
 */
struct mime_mailcap {
	char *type;
	char *command; /* as written, with %s for the file */
	int needsterminal;
	int copiousoutput;
};

int mime_mailcap_find(const char *files, const char *type,
    struct mime_mailcap *mc, char **cause); /* 1 found, 0 none, -1 */
void mime_mailcap_clear(struct mime_mailcap *mc);
/*
 * Run a mailcap command on a file: through /bin/sh (it is the user's
 * command), with %s replaced by a reference to "$1" and the path passed as
 * that argument (likewise %t and "$2"), so no message-supplied string is
 * ever parsed by the shell. Without %s the file is its stdin. Waits for
 * it; returns its exit status, or -1 with cause.
 */
int mime_mailcap_run(const struct mime_mailcap *mc, const char *path,
    const char *type, char **cause);
/*
 * Save part i to a fresh private temporary directory and run the mailcap
 * entry for its type on it. Returns as mime_mailcap_run; 0 entries found
 * is an error with cause.
 */
int mime_attachment_open(const struct mime_msg *m, size_t i,
    const char *mailcap_files, char **cause);

/*
 * Threading (JWZ's algorithm, with a subject fallback for replies that
 * lost their references). The caller fills the inputs (strings may be
 * NULL) and gets, for each message, the index of its parent message (-1
 * for none), its depth, and its position in display order (threads by
 * the date of their first message, replies by date). Replies to a message
 * that is not in the set share its place: parent -1 but depth 1, listed
 * together. Time is O(n log n) in the number of messages and references.
 */
struct mime_thread_msg {
	/* in */
	int64_t id;
	const char *message_id;
	const char *in_reply_to;
	const char *refs; /* space separated, as in struct mime_envelope */
	const char *subject;
	int64_t date;
	/* out: 32 bits each, as a big folder threads in one array of these
	 * (a folder of more than 500 million is left unthreaded) */
	int32_t parent;
	int32_t depth;
	uint32_t order;
	uint32_t thread; /* the thread's number, threads in display order */
};

void mime_thread(struct mime_thread_msg *v, size_t n);

#endif
