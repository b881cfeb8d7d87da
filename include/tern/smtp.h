/*
 * smtp: sending mail through libcurl's SMTP transfer, and the outbox
 * every message goes through.
 *
 * Exactly once: a message is queued in the store's outbox, claimed
 * (state "sending", committed) before the transfer and marked "sent" as
 * soon as the server accepted it. A message found still "sending" by a
 * later run (tern was killed during or right after DATA) becomes
 * "unknown": it may have been delivered, so it is never sent again unless
 * the user asks (tern send --retry ID). A message the server refused
 * (5xx) is kept as "failed" with the server's reason. A server that
 * cannot be reached, or answers 4xx, leaves the message queued for the
 * next sync.
 *
 * After sending, a copy goes to the account's Sent folder: on the server
 * through the driver's append operation (IMAP: the rc's `sent`, else the
 * server's SPECIAL-USE \Sent, else "Sent", created if missing), else in
 * the store (the account's own "Sent" for POP3). When the IMAP server
 * cannot be reached the message stays in the outbox as "sent" and its
 * copy is filed at the next flush; the original of a reply is marked
 * answered.
 */
#ifndef TERN_SMTP_H
#define TERN_SMTP_H

#include <stddef.h>
#include <stdint.h>

#include "tern/core.h"

enum smtp_result {
	SMTP_SENT, /* the server accepted the message */
	SMTP_OFFLINE, /* the server could not be reached; nothing sent */
	SMTP_DEFERRED, /* the server said not now (4xx): queued, no action */
	SMTP_TEMPFAIL, /* login or TLS failed: queued, the user must act */
	SMTP_REFUSED, /* the server refused (5xx), e.g. a recipient */
	SMTP_UNKNOWN, /* the connection broke after the whole message */
};

struct smtp_params {
	const char *url; /* smtp://host[:port] or smtps://... */
	enum rc_tls tls; /* smtp://: STARTTLS required unless RC_TLS_OFF */
	int verify;
	const char *cafile;
	const char *user; /* NULL: no login */
	const char *password;
	char *bearer; /* an OAuth 2.0 access token (owned): no password */
	/* The account whose token is refreshed when refused, or NULL. */
	const struct rc_account *oauth;
	const char *account; /* its name, for messages */
	long connect_timeout_ms; /* 0: 30 s */
	long io_timeout_ms; /* 0: 120 s without progress */
};

/*
 * One SMTP transaction: MAIL FROM:<from>, RCPT TO for each of rcpts
 * (NULL-terminated; any refusal fails the whole message), DATA with
 * data (CRLF line ends; dot-stuffing is libcurl's). Returns the result;
 * *reason (malloc'd, unless SMTP_SENT) says what the server answered.
 * An OAuth token the server refuses is fetched again (p->bearer
 * replaced) and tried once more.
 */
enum smtp_result smtp_send(struct smtp_params *p, const char *from,
    char *const *rcpts, const char *data, size_t len, char **reason);

/* The account's SMTP settings (password from smtp_passcmd or the
 * account's); -1 with cause. Free with smtp_params_clear. */
int smtp_params_account(
    const struct rc_account *a, struct smtp_params *p, char **cause);
void smtp_params_clear(struct smtp_params *p);

/*
 * Queue a complete message for account a: From (the account's, when the
 * message has none), Date and Message-ID are added when missing; it must
 * have a recipient. Returns the outbox id, -1 with cause when the store
 * fails, or CORE_REFUSED with cause for a message that can never be sent
 * (no recipient, too large).
 */
int64_t smtp_outbox_queue(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, char **cause);

/* What happened to one outbox message during a flush. */
struct smtp_outcome {
	const char *account;
	int64_t id;
	enum smtp_result result;
	const char *reason; /* NULL when sent */
	const char *copy; /* where the Sent copy went, or NULL */
	const char *copy_error; /* why it did not, or NULL */
};

typedef void (*smtp_outcome_cb)(void *arg, const struct smtp_outcome *o);

/*
 * Send the account's queued messages (and finish the Sent copy of those
 * already accepted), calling cb for each. Stops at the first OFFLINE.
 * Returns 0, or -1 with cause when the store fails.
 */
int smtp_outbox_flush(struct tern *t, struct rc_account *a, smtp_outcome_cb cb,
    void *arg, char **cause);

/*
 * Postpone: keep raw (built with COMPOSE_DRAFT) in the account's Drafts
 * folder (`drafts`, default "Drafts"), flagged draft: on the server when
 * the driver can append, else in the store; for an IMAP server that
 * cannot be reached, local/Drafts (the offline fallback).
 * *where (malloc'd) names the folder.
 */
int smtp_draft_save(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, char **where, char **cause);

/* The account a message's From belongs to (its `from` address), or NULL. */
struct rc_account *smtp_account_for(struct rc *rc, const char *raw, size_t len);

/*
 * Postpone from the full-screen client (smtp/drafts.c): when the
 * account's server keeps its Drafts (a driver that can append), raw is
 * kept in the store at once (store_draft_add) for smtp_drafts_flush to
 * upload, and *queued is 1; else it goes to the store's Drafts folder
 * at once as smtp_draft_save does, and *queued is 0. *where (malloc'd)
 * names the folder.
 */
int smtp_draft_postpone(struct tern *t, struct rc_account *a, const char *raw,
    size_t len, int *queued, char **where, char **cause);

/* What uploading one postponed draft did. */
struct smtp_draft_outcome {
	const char *account;
	int64_t id;
	const char *where; /* the folder it went to; NULL if it did not */
	const char *reason; /* why not, or NULL */
};

typedef void (*smtp_draft_cb)(void *arg, const struct smtp_draft_outcome *o);

/*
 * Upload the account's postponed drafts, oldest first, calling cb for
 * each; stops at the first the server does not take (it stays for the
 * next time). Returns 0, or -1 with cause when the store fails.
 */
int smtp_drafts_flush(struct tern *t, struct rc_account *a, smtp_draft_cb cb,
    void *arg, char **cause);

#endif
