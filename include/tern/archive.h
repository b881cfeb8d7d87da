/*
 * archive: backups and migration as mbox and Maildir files, each message
 * as its exact bytes.
 *
 * mbox is written as mboxrd: every body line that matches ^>*From gets one
 * more '>', which the reader takes off again, so any message round trips
 * exactly. The reader also takes mboxo (mutt, Thunderbird, Python's
 * mailbox), where only "From " was quoted. Flags travel as mutt's
 * "Status:" and "X-Status:" header lines, which tern writes first in the
 * header and takes off again on import; Maildir keeps them in the file
 * name (":2,DFPRST").
 *
 * Output is written under a temporary name and renamed into place at the
 * end, so a failure leaves nothing half-written. An import runs in one
 * store transaction: a bad file imports nothing.
 */
#ifndef TERN_ARCHIVE_H
#define TERN_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/core.h"
#include "tern/util.h"

enum archive_mbox_kind {
	ARCHIVE_MBOXRD, /* ^>+From loses one '>' (also reads mboxo) */
	ARCHIVE_MBOXO, /* only ^>From loses its '>' */
};

/* Append raw to out with mboxrd quoting (^>*From gets one more '>'). */
void archive_mbox_quote(struct buf *out, const char *raw, size_t len);
/* Append s to out with one level of quoting undone. */
void archive_mbox_unquote(
    struct buf *out, const char *s, size_t len, enum archive_mbox_kind kind);

/*
 * Append one message as tern writes it after its From_ line: tern's
 * Status:/X-Status:/X-Keywords:/X-Tern-Eol: lines (in the message's own
 * line ends), the bytes quoted, a newline if they lack a final one, and
 * the blank separator line. keywords: space separated, or NULL.
 */
void archive_mbox_write(struct buf *out, const char *raw, size_t len,
    unsigned flags, const char *keywords);
/*
 * The same in three steps, for a message written in pieces: the lines
 * before it, then archive_mbox_quote of each piece (whole lines), then
 * what ends it.
 */
void archive_mbox_head(struct buf *out, const char *raw, size_t len,
    unsigned flags, const char *keywords);
void archive_mbox_tail(struct buf *out, const char *raw, size_t len);

/* What travels beside a message's bytes. */
struct archive_meta {
	unsigned flags; /* STORE_F_* */
	const char *keywords; /* space separated, or NULL */
	int64_t date; /* the From_ line's or the file's time; 0 if none */
};

/* Called per message with its exact bytes. */
typedef int (*archive_msg_cb)(
    void *arg, const char *raw, size_t len, const struct archive_meta *meta);

/*
 * Split an mbox held in memory and call cb for each message, unquoted,
 * with tern's own lines (and the newline X-Tern-Eol says it added) taken
 * off and their flags and keywords passed on; a message without them
 * (another program's mbox) gets those of its Status:, X-Status:,
 * X-Keywords:, Keywords: and X-Label: lines anywhere in the header,
 * which stay in the message. A file that is
 * not an mbox, or is truncated, fails with cause before any message is
 * passed on. A non-zero return from cb stops the walk and is returned.
 */
int archive_mbox_parse(const char *data, size_t len,
    enum archive_mbox_kind kind, archive_msg_cb cb, void *arg, char **cause);

/* Flags from a Maildir file name ("...:2,FS"); 0 without an info part. */
unsigned archive_maildir_flags(const char *name);

/* Dovecot's keyword letters of a Maildir: 'a' + i names word[i]. */
#define ARCHIVE_MAILDIR_KEYWORDS 26
struct archive_kwmap {
	char *word[ARCHIVE_MAILDIR_KEYWORDS];
};

/*
 * Read dir/dovecot-keywords into map (lines "N word"; none is no
 * keywords). Free with archive_kwmap_clear.
 */
void archive_kwmap_read(const char *dir, struct archive_kwmap *map);
void archive_kwmap_clear(struct archive_kwmap *map);
/* The keywords of a Maildir file name's letters a-z, malloc'd, or NULL. */
char *archive_maildir_keywords(
    const char *name, const struct archive_kwmap *map);

struct archive_progress {
	const char *what; /* "export", "import" */
	const char *folder;
	uint64_t done;
	uint64_t total; /* 0 if unknown */
};

struct archive_opts {
	int maildir; /* export: Maildir rather than mbox */
	int cached_only; /* export what is stored, skip missing bodies */
	enum archive_mbox_kind kind; /* import */
	void (*progress)(void *arg, const struct archive_progress *p);
	void *arg;
};

struct archive_stats {
	uint64_t messages; /* exported, or imported */
	uint64_t skipped; /* import: duplicates */
	uint64_t missing; /* export: bodies left out (--cached-only) */
	uint64_t queued; /* import into IMAP: APPENDs queued */
	uint64_t folders; /* import of an account: folders read */
	uint64_t kw_lost; /* Maildir export: keywords past the 26 letters */
};

/*
 * Export r (a folder, or every folder of the account when r->folder is
 * NULL) to path. Missing IMAP bodies are downloaded when the driver can;
 * those still missing make the export fail unless cached_only is set.
 */
int archive_export(struct tern *t, const struct folder_ref *r, const char *path,
    const struct archive_opts *o, struct archive_stats *st, char **cause);

/*
 * Import an mbox file or a Maildir directory into r's folder (created
 * when missing); without a folder in r, a Maildir++ tree into the
 * account (its top into INBOX, ".A.B" into A/B, as an export writes it).
 * Messages already there (same Message-ID and bytes) are skipped. It all
 * goes in one transaction: a bad file anywhere imports nothing.
 */
int archive_import(struct tern *t, const struct folder_ref *r, const char *path,
    const struct archive_opts *o, struct archive_stats *st, char **cause);

#endif
