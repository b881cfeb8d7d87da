/*
 * core: what the cli and the full-screen client share: the root context
 * (rc, data directory, store), folder specs, and the account drivers.
 *
 * The context is made by main() and passed down; there are no other
 * mutable globals.
 */
#ifndef TERN_CORE_H
#define TERN_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/rc.h"
#include "tern/store.h"

/* Exit statuses (DESIGN.md). */
#define TERN_EXIT_OK 0
#define TERN_EXIT_FAIL 1
#define TERN_EXIT_USAGE 2

/*
 * Besides 0 and -1 (a runtime failure: store, network, server), the
 * shared operations return CORE_REFUSED when the request cannot be done
 * as given: no such folder or message, a name already taken, a folder
 * with mail and no force, INBOX. The cli exits 2 then, as for a usage
 * error: the user must change the command.
 */
#define CORE_REFUSED (-2)
/* Set *cause and return CORE_REFUSED. */
#define core_refuse(...) (set_cause(__VA_ARGS__), CORE_REFUSED)
/* The exit status for what a shared operation returned. */
int core_exit_status(int rc);

/* The name of the built-in account of local folders. */
#define TERN_LOCAL_ACCOUNT "local"

struct sync_opts;
struct crypto;

struct tern {
	struct rc *rc;
	char *rc_path;
	char *datadir;
	struct store *store; /* opened on first use by tern_store() */
	int verbose;
	int progress; /* show progress on stderr (it is a terminal) */
	/*
	 * A connection an account driver keeps open after one of its calls,
	 * for the next on the same account in this process (one message
	 * downloaded after another); conn_free closes it.
	 */
	void *conn;
	void (*conn_free)(void *conn);
	/*
	 * Progress and notes of a download in bulk (a driver's fetch_many),
	 * set by its caller around the call; NULL: none shown.
	 */
	const struct sync_opts *fetch_opts;
	/* Signing, encrypting, verifying: made on first use by
	 * tern_crypto(). */
	struct crypto *crypto;
};

/* Open the store on first use; NULL with cause on failure. */
struct store *tern_store(struct tern *t, char **cause);
/* The crypto context, made on first use (never NULL). */
struct crypto *tern_crypto(struct tern *t);
/* Close the connection a driver kept, if any. */
void tern_drop_conn(struct tern *t);
void tern_free(struct tern *t);

/* A resolved "ACCOUNT/FOLDER" (or "ACCOUNT", folder NULL). */
struct folder_ref {
	struct rc_account *account; /* NULL for the local account */
	const char *account_name;
	char *folder; /* malloc'd, NULL if none given */
	int64_t account_id;
	int64_t folder_id; /* 0 if folder is NULL or not in the store */
};

/*
 * Parse spec ("work", "work/INBOX", "local/Archive/2024") against the rc
 * and the store. An unknown account is an error (returns 2 as a usage
 * error); an unknown folder is not (folder_id is 0). Returns 0, 1 (runtime
 * failure) or 2 (usage error) with cause.
 */
int folder_ref_parse(
    struct tern *t, const char *spec, struct folder_ref *r, char **cause);
void folder_ref_clear(struct folder_ref *r);

/* Sync progress, reported while an account syncs. */
struct sync_progress {
	const char *account;
	const char *folder;
	const char *what; /* "downloading", "index", ... */
	uint64_t done;
	uint64_t total; /* 0 if unknown */
	uint64_t bytes;
};

/* What an account's connection is doing, for a status line. */
enum sync_state {
	SYNC_CONNECTING, /* connecting and logging in */
	SYNC_IDLE, /* synced; watching for changes */
	SYNC_LOST, /* cannot reach the server; trying again later */
	SYNC_REFUSED, /* the server refused the login */
};

struct sync_opts {
	void (*progress)(void *arg, const struct sync_progress *p);
	/*
	 * The connection changed state: retry_ms is when the next attempt
	 * comes (SYNC_LOST), why what went wrong. NULL: connection losses
	 * the driver recovers from are notes.
	 */
	void (*state)(
	    void *arg, enum sync_state st, uint64_t retry_ms, const char *why);
	/*
	 * A warning for the user that does not fail the sync ("too large,
	 * left on server", "server refused DELE"): the cli prints it, the
	 * client shows it on the message line and keeps it in its log. NULL:
	 * the driver prints it on stderr.
	 */
	void (*note)(void *arg, const char *account, const char *text);
	/*
	 * Rows a reader should see now rather than at its next look were
	 * committed: the newest messages of a folder never synced before,
	 * the folder list. NULL: nobody is told.
	 */
	void (*stored)(void *arg);
	void *arg;
	int watch; /* keep running and sync as mail arrives */
	int wakefd; /* readable: stop waiting (IDLE), -1 if none */
};

/*
 * With the flags of a driver's append: a retry of an APPEND whose answer
 * may have been lost. The message is not stored again when the folder
 * already holds one with its Message-ID.
 */
#define CORE_APPEND_ONCE 0x100

/*
 * What kind of account a driver serves (struct driver_ops caps), so that
 * callers ask what it can do, never which protocol it speaks.
 * CORE_DRV_REMOTE: mail and folders live on the server and the store is
 * a cache: local changes are queued for the server and replayed, and a
 * copy the server does not hold would not survive its next sync.
 */
#define CORE_DRV_REMOTE 0x01

/* One table of operations for every kind of account. */
struct driver_ops {
	const char *name;
	unsigned caps; /* CORE_DRV_* */
	/*
	 * Sync the account per its policy. On success *summary (if not NULL)
	 * gets a malloc'd one-line summary ("37 new, 37 removed from server").
	 * The caller holds the account's core_sync_lock.
	 */
	int (*sync)(struct tern *t, struct rc_account *a,
	    const struct sync_opts *o, char **summary, char **cause);
	/*
	 * Download the raw bytes of a stored message; NULL if all are local.
	 * seen: mark it seen too, as opening it does (not for an export or
	 * a copy, which leave the server's flags alone).
	 */
	int (*fetch)(struct tern *t, struct rc_account *a, int64_t msg_id,
	    int seen, char **cause);
	/*
	 * Download what showing a stored message needs, not its
	 * attachments: a view (store part STORE_PART_VIEW, see
	 * mime_parse_view) that the store keeps for reading offline. Marks
	 * the message seen, as fetch does. NULL: fetch the whole message.
	 */
	int (*fetch_view)(
	    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause);
	/*
	 * Download the whole bodies of many stored messages of the account
	 * (an export, a copy of many, a folder kept offline): msg_ids[0..n),
	 * in any of its folders, those stored already skipped, the server's
	 * flags left alone. What was stored stays when it fails. NULL: the
	 * caller fetches them one at a time.
	 */
	int (*fetch_many)(struct tern *t, struct rc_account *a,
	    const int64_t *msg_ids, size_t n, char **cause);
	/*
	 * Download one part of a stored message (the server's section, as
	 * a view names it) into the store's part table, still
	 * transfer-encoded.
	 */
	int (*fetch_part)(struct tern *t, struct rc_account *a, int64_t msg_id,
	    const char *section, char **cause);
	/*
	 * Store a copy of raw in the server's folder (APPEND), creating the
	 * folder if missing; flags as STORE_F_* (and CORE_APPEND_ONCE).
	 * Returns 0, 1 with cause when the server refused this message (it
	 * answered the APPEND with NO: another may still go), or -1 with
	 * cause (no connection, no answer). NULL: the account keeps copies
	 * in the store only.
	 */
	int (*append)(struct tern *t, struct rc_account *a, const char *folder,
	    const char *raw, size_t len, unsigned flags, char **cause);
	/*
	 * Search the server's folder for a pattern (tern/pattern.h): *uids
	 * (malloc'd, sorted, no duplicates) gets the matching UIDs. -1 with
	 * cause also when the server has no keys for the pattern
	 * (pattern_imap). NULL: the account has no server-side search.
	 */
	int (*search)(struct tern *t, struct rc_account *a, const char *folder,
	    const struct pattern *p, uint32_t **uids, size_t *n, char **cause);
};

/*
 * One sync of an account at a time, across processes and threads
 * (core/lock.c): taken around the whole sync of the account, by tern
 * sync and by the client's worker. wait: block until the other sync has
 * finished. Returns 0 with *fd holding the lock, 1 when another sync
 * holds it (only without wait), or -1 with cause.
 */
int core_sync_lock(
    struct tern *t, struct rc_account *a, int wait, int *fd, char **cause);
/* Let go of the lock (*fd becomes -1; nothing when it is already). */
void core_sync_unlock(int *fd);
/*
 * A sync that waits for the lock says so in a second file, so that a
 * holder that could go on for ever (the client's worker watching with
 * IDLE) lets go: the path of that file for an account (malloc'd), and
 * whether a sync waits now.
 */
char *core_sync_wait_path(struct tern *t, int64_t account_id);
int core_sync_waited_for(const char *wait_path);

/* The driver for a protocol, or NULL if none is built in. */
const struct driver_ops *core_driver(enum rc_protocol p);
/*
 * Does account a keep its mail on a server (CORE_DRV_REMOTE)? 0 for the
 * local account (NULL).
 */
int core_account_remote(const struct rc_account *a);

/*
 * Flags and keywords (core/flags.c): IMAP keywords ($Label1, work)
 * beside the DFPRST flags, as the user and the queue write them. The
 * store keeps a message's keywords space separated; a "flags" pending
 * op's arg carries keyword changes after the flag letters, as "+S -F
 * +kw:$Label1 -kw:work", parsed and checked here before it is queued.
 */
#define CORE_KW_PREFIX "kw:"
#define CORE_KEYWORD_MAX 100 /* bytes in one keyword */
#define CORE_KEYWORD_CHANGES 64 /* keywords in one change */
/*
 * Is kw usable as a keyword: an IMAP atom (no space, ( ) { } % * " \ ]
 * or control characters, ASCII only) that does not start with '\'?
 * 0, or -1 with cause.
 */
int core_keyword_check(const char *kw, char **cause);

/* A change of flags and keywords; clear with core_flag_change_clear. */
struct core_flag_change {
	unsigned add, del; /* STORE_F_* */
	char **kw_add, **kw_del; /* malloc'd keywords */
	size_t nkw_add, nkw_del;
};
void core_flag_change_clear(struct core_flag_change *c);
/*
 * Add (add != 0) or remove keyword kw in c, checked; "$Forwarded" is
 * the passed flag (P). 0, or -1 with cause.
 */
int core_flag_change_keyword(
    struct core_flag_change *c, int add, const char *kw, char **cause);
/* Parse "+S -F +kw:WORD -kw:WORD" into c (added to what it holds). */
int core_flag_change_parse(
    const char *spec, struct core_flag_change *c, char **cause);
/* c as the flags op's arg (malloc'd; "" for no change). */
char *core_flag_change_format(const struct core_flag_change *c);
/* keywords (NULL: none) with c's keyword changes; malloc'd, "" if none. */
char *core_keywords_apply(
    const char *keywords, const struct core_flag_change *c);

/*
 * Operations shared by the cli and the full-screen client. Each applies to
 * the store at once; for an IMAP account it is also queued (store
 * "pending" table) and replayed on the server at the next sync, in order.
 * Returns 0, or -1 with cause (nothing changed on failure).
 */
int core_flag(struct tern *t, const struct folder_ref *r, const uint32_t *uids,
    size_t n, unsigned add, unsigned del, char **cause);
/*
 * The same with keywords: c's flags and keywords (store.h); the queued
 * "flags" op carries both.
 */
int core_flag_change(struct tern *t, const struct folder_ref *r,
    const uint32_t *uids, size_t n, const struct core_flag_change *c,
    char **cause);
/*
 * Move to another folder of the same account; the target is created in
 * the store if missing.
 */
int core_move(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const char *to_folder, char **cause);
/*
 * Copy to another folder of the same account (created in the store if
 * missing). Store-only accounts copy the row and its bytes; IMAP shows
 * the copy in the target at once and queues a "copy" for the server.
 */
int core_copy(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const char *to_folder, char **cause);
/*
 * A new row in folder_id with m's envelope, flags and (when stored) bytes,
 * under uid (0: the store's own number). need_body: a copy without the
 * bytes is refused. *new_id (may be NULL) gets the row.
 */
int core_msg_copy(struct store *s, const struct store_msg *m, int64_t folder_id,
    uint32_t uid, int need_body, int64_t *new_id, char **cause);
/*
 * Remove the messages flagged deleted (\Deleted, T): local and POP3
 * messages leave the store (POP3 with delete_remote: DELE at next sync);
 * IMAP: UID EXPUNGE queued.
 */
int core_purge(struct tern *t, const struct folder_ref *r, char **cause);

struct mime_envelope;
/*
 * Fill the index columns of m (date, addresses, subject, message ids,
 * content type, attachment mark) from a parsed envelope. The strings are
 * borrowed from env, which must outlive m's use.
 */
void core_msg_from_envelope(
    struct store_msg *m, const struct mime_envelope *env);

/* Strftime into out as "YYYY-MM-DD HH:MM" local time. */
void core_format_date(int64_t t, char *out, size_t len);

/*
 * Folders and moves between accounts (core/folder.c, core/transfer.c).
 *
 * Folder names may nest with '/' ("Archive/2024"). For the local account
 * and POP3 accounts a folder lives only in the store; for IMAP accounts
 * the change is applied to the store at once and queued for the server
 * ("create", "rename", "delete" pending operations).
 */
/* Is name usable as a folder name? 0, or -1 with cause. */
int core_folder_name_check(const char *name, char **cause);
int core_folder_create(
    struct tern *t, const struct folder_ref *r, char **cause);
/* Renames the folder and every folder nested under it. */
int core_folder_rename(struct tern *t, const struct folder_ref *r,
    const char *newname, char **cause);
/* INBOX cannot be deleted; a folder that holds mail needs force. */
int core_folder_delete(
    struct tern *t, const struct folder_ref *r, int force, char **cause);

/*
 * Move (keep == 0) or copy (keep != 0) messages to a folder of another
 * account (to->folder is created in the store when missing). Store-only
 * accounts (local, POP3) move rows; a POP3 message keeps its UIDL, so it
 * is never downloaded again. IMAP to a store-only folder: the body is
 * downloaded when not stored, the copy committed, and only then (for a
 * move) the server copy is flagged \Deleted and that UID alone queued
 * for expunge; without the body and a working fetch the whole transfer is
 * queued ("tolocal"). A store-only folder to IMAP: queued "append"
 * ("append-move" for a move: the source leaves the store only once the
 * server accepted the message). *note (if not NULL) gets a malloc'd line
 * for the user when something was queued rather than done, else NULL.
 */
int core_transfer(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const struct folder_ref *to, int keep,
    char **note, char **cause);
/*
 * Finish the queued IMAP-to-store transfers ("tolocal", "tolocal-copy")
 * of an account whose bodies can now be downloaded: each commits its copy
 * and queues the server-side removal, in place of its op. Run before the
 * driver's sync replays the queue. Stops quietly at the first download
 * that fails (offline).
 */
int core_transfer_replay(struct tern *t, struct rc_account *a, char **cause);

/*
 * Move (or, keep != 0, copy) messages to target as a user writes it:
 * "FOLDER" in the same account, or "ACCOUNT/FOLDER" when the first part
 * names another account (or "local"): core_move, core_copy or
 * core_transfer. Returns 0, or 1 (runtime failure) or 2
 * (a target that cannot be) with cause; *note as for core_transfer.
 */
int core_move_to(struct tern *t, const struct folder_ref *from,
    const uint32_t *uids, size_t n, const char *target, int keep, char **note,
    char **cause);

/*
 * Showing a message (core/view.c): its whole bytes when stored, else its
 * view with the parts downloaded since filled in.
 */
struct mime_msg;
/* Messages smaller than this are fetched whole to be shown. */
#define CORE_VIEW_WHOLE (64 * 1024)
/*
 * Parse message msg_id from the store (raw or view, at most max bytes,
 * 0: no limit) into *mp. 1 done, 0 nothing stored to show, -1 error.
 */
int core_view_load(struct store *s, int64_t msg_id, size_t max,
    struct mime_msg **mp, char **cause);
/*
 * Download what showing the message needs: the whole message when it is
 * small or the driver has no views, else its view.
 */
int core_view_fetch(
    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause);
/*
 * Make part i of m (a view's part not downloaded) whole: from the store
 * when it is there, else (a not NULL) downloaded first. 0, or -1 with
 * cause (offline: "not downloaded").
 */
int core_view_part(struct tern *t, struct rc_account *a, int64_t msg_id,
    struct mime_msg *m, size_t i, char **cause);
/* Fill part i of m from the store only: 1 done, 0 not stored, -1 error. */
int core_view_part_load(struct store *s, int64_t msg_id, struct mime_msg *m,
    size_t i, char **cause);

#endif
