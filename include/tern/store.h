/*
 * store: the local SQLite database of accounts, folders, messages, bodies,
 * POP3 UIDL state, pending offline operations and the outbox.
 *
 * One file, $XDG_DATA_HOME/tern/tern.db, in WAL mode with foreign keys on.
 * The schema is versioned with PRAGMA user_version; store_open() migrates
 * forward and never drops data. Only src/store/ speaks SQL.
 *
 * Functions return 0 on success and -1 with cause on failure unless said
 * otherwise. Strings in returned structs are malloc'd and belong to the
 * caller, who releases them with the matching _clear or _free function.
 */
#ifndef TERN_STORE_H
#define TERN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tern/util.h"

struct store;

/* Message flags, in the order of their Maildir letters (DFPRST). */
#define STORE_F_DRAFT 0x01
#define STORE_F_FLAGGED 0x02
#define STORE_F_PASSED 0x04
#define STORE_F_REPLIED 0x08
#define STORE_F_SEEN 0x10
#define STORE_F_DELETED 0x20
#define STORE_F_ALL 0x3f
/* Not a Maildir flag: set by tern for mail that arrived in the last sync. */
#define STORE_F_RECENT 0x40

/* Render flags as Maildir letters "DFPRST" into out (at least 8 bytes). */
void store_flags_str(unsigned flags, char *out);
/* Parse "+S -F" style changes; returns -1 on an unknown letter. */
int store_flags_parse(const char *spec, unsigned *add, unsigned *del);

/* Open (creating and migrating as needed) the store in dir. */
int store_open(const char *dir, struct store **sp, char **cause);
void store_close(struct store **sp);
/* The path of the database file. */
const char *store_path(struct store *s);

/* Transactions nest by counting; only the outermost commits. */
int store_begin(struct store *s, char **cause);
int store_commit(struct store *s, char **cause);
void store_rollback(struct store *s);

/* Accounts are created on first use; returns the id, or -1 with cause. */
int64_t store_account(
    struct store *s, const char *name, const char *protocol, char **cause);
/* The id of an existing account, 0 if none, -1 on error. */
int64_t store_account_find(struct store *s, const char *name, char **cause);
int store_account_quota(struct store *s, int64_t account_id, int64_t used,
    int64_t limit, char **cause);
int store_account_get_quota(struct store *s, int64_t account_id, int64_t *used,
    int64_t *limit, char **cause);

struct store_folder {
	int64_t id;
	int64_t account_id;
	char *name;
	char *special; /* \Sent, \Trash, ... or NULL */
	uint32_t uidvalidity; /* imap */
	uint32_t uidnext; /* imap */
	uint64_t highestmodseq;
	int64_t total; /* messages in the store */
	int64_t unseen; /* of those, without \Seen */
};

void store_folder_clear(struct store_folder *f);
void store_folder_list_free(struct store_folder *v, size_t n);
/*
 * The id of folder name in the account; 0 if it does not exist and create
 * is not set; -1 on error.
 */
int64_t store_folder(struct store *s, int64_t account_id, const char *name,
    int create, char **cause);
int store_folder_get(
    struct store *s, int64_t folder_id, struct store_folder *f, char **cause);
/* All folders of an account, INBOX first then by name, with counts. */
int store_folder_list(struct store *s, int64_t account_id,
    struct store_folder **v, size_t *n, char **cause);
int store_folder_rename(
    struct store *s, int64_t folder_id, const char *name, char **cause);
/* Deletes the folder and every message in it. */
int store_folder_delete(struct store *s, int64_t folder_id, char **cause);
int store_folder_set_imap(struct store *s, int64_t folder_id,
    uint32_t uidvalidity, uint32_t uidnext, uint64_t highestmodseq,
    char **cause);
int store_folder_set_special(
    struct store *s, int64_t folder_id, const char *special, char **cause);

struct store_msg {
	int64_t id;
	int64_t folder_id;
	uint32_t uid; /* imap: server UID; otherwise the store's own id */
	uint32_t uidvalidity;
	uint64_t modseq;
	unsigned flags;
	char *keywords; /* space separated, or NULL */
	int64_t date; /* Date: header, seconds since the epoch */
	int64_t internaldate;
	int64_t size;
	char *from; /* decoded UTF-8, as shown */
	char *to;
	char *cc;
	char *subject;
	char *message_id;
	char *in_reply_to;
	char *refs;
	char *content_type;
	int has_attach;
	int has_body; /* the whole raw message is stored */
	char *pop3_uidl; /* pop3: the server's UIDL, or NULL */
	int64_t fetched_at; /* when it was first downloaded (unix time) */
};

void store_msg_clear(struct store_msg *m);

/*
 * Insert a message into m->folder_id. raw (the exact bytes) may be NULL for
 * an IMAP header-only entry. For non-IMAP folders the UID is assigned (the
 * row id) and written back to m->uid; m->id is set in every case.
 */
int store_msg_insert(struct store *s, struct store_msg *m, const void *raw,
    size_t rawlen, char **cause);
/* Look up by folder and UID: 1 found, 0 not found, -1 error. */
int store_msg_get(struct store *s, int64_t folder_id, uint32_t uid,
    struct store_msg *m, char **cause);
/* Look up by row id: 1 found, 0 not found, -1 error. */
int store_msg_get_id(
    struct store *s, int64_t id, struct store_msg *m, char **cause);
/* The raw bytes: 1 found, 0 not stored, -1 error. */
int store_msg_raw(struct store *s, int64_t id, struct buf *out, char **cause);
int store_msg_set_raw(
    struct store *s, int64_t id, const void *raw, size_t len, char **cause);
int store_msg_set_flags(
    struct store *s, int64_t id, unsigned flags, char **cause);
int store_msg_delete(struct store *s, int64_t id, char **cause);
/* Move a message row to another folder (local and pop3 folders). */
int store_msg_move(
    struct store *s, int64_t id, int64_t folder_id, char **cause);

/* Called for each message; return non-zero to stop (returned as is). */
typedef int (*store_msg_cb)(void *arg, const struct store_msg *m);
/* Every message in a folder, oldest first (date, then id). */
int store_msg_foreach(struct store *s, int64_t folder_id, store_msg_cb cb,
    void *arg, char **cause);

/* A cached part of a message (IMAP section such as "1.2"). */
int store_part_set(struct store *s, int64_t msg_id, const char *section,
    const void *data, size_t len, char **cause);
int store_part_get(struct store *s, int64_t msg_id, const char *section,
    struct buf *out, char **cause); /* 1 found, 0 not, -1 error */

/*
 * Pending offline operations of an account, replayed in id order by the
 * account's driver, which deletes each once the server confirmed it.
 * op: "flags" (arg "+S -F"), "move" (arg: target folder), "expunge"
 * (uid 0: every \Deleted message of ours in folder), "create", "rename"
 * (arg: new name), "delete" (folder operations; uid 0).
 */
struct store_pending {
	int64_t id;
	int64_t account_id;
	char *op;
	char *folder;
	uint32_t uidvalidity;
	uint32_t uid;
	char *arg;
	int64_t created;
};

void store_pending_clear(struct store_pending *p);
int store_pending_add(
    struct store *s, const struct store_pending *p, char **cause);
/* All pending operations of an account, oldest first. */
int store_pending_list(struct store *s, int64_t account_id,
    struct store_pending **v, size_t *n, char **cause);
void store_pending_list_free(struct store_pending *v, size_t n);
int store_pending_delete(struct store *s, int64_t id, char **cause);
/* How many operations wait for the server (the ui asks before quitting). */
int64_t store_pending_count(struct store *s, int64_t account_id, char **cause);

/*
 * pop3: what the POP3 driver knows of each UIDL it ever downloaded
 * (src/store/pop3.c). A row outlives a local delete (message_id becomes
 * 0), so a message left on the server is never downloaded twice.
 */
#define STORE_POP3_KEPT 0 /* stored, left on the server */
#define STORE_POP3_DELE 1 /* stored, to be deleted on the server */
#define STORE_POP3_GONE 2 /* deleted on the server (QUIT confirmed it) */

struct store_pop3_uidl {
	char *uidl;
	int64_t message_id; /* 0: deleted locally */
	int64_t first_seen; /* unix time of the first download */
	int state; /* STORE_POP3_* */
};

/* Every row of an account, sorted by uidl (bytewise, as strcmp). */
int store_pop3_uidl_list(struct store *s, int64_t account_id,
    struct store_pop3_uidl **v, size_t *n, char **cause);
void store_pop3_uidl_list_free(struct store_pop3_uidl *v, size_t n);
/* Insert or replace the row of u->uidl. */
int store_pop3_uidl_put(struct store *s, int64_t account_id,
    const struct store_pop3_uidl *u, char **cause);
int store_pop3_uidl_set_state(struct store *s, int64_t account_id,
    const char *uidl, int state, char **cause);
int store_pop3_uidl_delete(
    struct store *s, int64_t account_id, const char *uidl, char **cause);

/*
 * IMAP (src/store/imap.c): the UID map of a folder. Rows are keyed by
 * (folder, UID); a UIDVALIDITY change detaches the old rows (negative
 * UIDs) until the new index is in, then re-attaches their bodies by
 * Message-ID where that is unambiguous and drops them.
 */
/* The UIDs of a folder, ascending (malloc'd). */
int store_imap_uids(
    struct store *s, int64_t folder_id, uint32_t **v, size_t *n, char **cause);
/* Insert a header-index row, or update flags/modseq if the UID exists. */
int store_imap_upsert(struct store *s, struct store_msg *m, char **cause);
int store_imap_set_flags(struct store *s, int64_t folder_id, uint32_t uid,
    unsigned flags, const char *keywords, uint64_t modseq, char **cause);
/* Returns how many rows went (0 or 1), or -1. */
int64_t store_imap_delete_uid(
    struct store *s, int64_t folder_id, uint32_t uid, char **cause);
/* Give a row its new UID (after COPYUID); ignored if it would collide. */
int store_imap_set_uid(struct store *s, int64_t folder_id, uint32_t old_uid,
    uint32_t uid, uint32_t uidvalidity, char **cause);
int store_imap_detach(struct store *s, int64_t folder_id, char **cause);
int store_imap_reattach(struct store *s, int64_t folder_id, char **cause);
/* A folder's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (no counting). */
int store_imap_folder_state(struct store *s, int64_t folder_id,
    uint32_t *uidvalidity, uint32_t *uidnext, uint64_t *highestmodseq,
    char **cause);
/* The ids and names of an account's folders (both arrays malloc'd). */
int store_imap_folders(struct store *s, int64_t account_id, int64_t **ids,
    char ***names, size_t *n, char **cause);

#endif
