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

/*
 * The writer thread a sync engine hands what it read to (writer.c), so
 * that reading the network and writing the disk overlap. run stores one
 * job on the writer's thread, which owns the store meanwhile; free (may
 * be NULL) releases a job, run or not; finish (may be NULL) runs on the
 * writer's thread as it exits, failed when a job failed or the rest was
 * discarded (a final commit, or a rollback). The queue holds at most
 * max_jobs jobs (0: 32) and, but for a single one, max_bytes bytes (0:
 * no limit).
 */
struct store_writer_params {
	int (*run)(void *arg, void *job, char **cause);
	void (*free)(void *job);
	void (*finish)(void *arg, int failed);
	void *arg;
	size_t max_jobs, max_bytes;
};
struct store_writer;
/* NULL when no thread can be made: the caller stores on its own. */
struct store_writer *store_writer_start(const struct store_writer_params *p);
/*
 * Hand job over (bytes: what it holds); waits while the queue is full.
 * -1 with the writer's failure, the job freed.
 */
int store_writer_queue(
    struct store_writer *w, void *job, size_t bytes, char **cause);
/* Wait until every job handed over is stored; -1 with its failure. */
int store_writer_drain(struct store_writer *w, char **cause);
/* Has the writer failed? -1 with its failure, else 0 (no waiting). */
int store_writer_failed(struct store_writer *w, char **cause);
/*
 * Stop after the jobs handed over are stored, or (discard) at once,
 * dropping them; *wp becomes NULL. Returns the failure, unless discard.
 */
int store_writer_stop(struct store_writer **wp, int discard, char **cause);

/*
 * While a sync writes much, checkpoint the WAL in a thread of its own (on
 * its own connection) instead of inside the writer's commits. Start and
 * stop it on the thread that owns s, while no transaction is open; stop
 * before store_close. NULL if it cannot start: the writer then
 * checkpoints as usual, which is slower but the same.
 */
struct store_ckpt;
struct store_ckpt *store_ckpt_start(struct store *s);
/*
 * The writer is done: copy what is left and empty the WAL, while the
 * caller waits on something else (NULL: nothing).
 */
void store_ckpt_finish(struct store_ckpt *c);
void store_ckpt_stop(struct store_ckpt **cp);
/*
 * Commits of what the server can give again (an IMAP header index) need
 * not each wait for the disk: on, they are synced at the next checkpoint
 * or durable commit; a power cut may lose the last of them, never leave
 * the store damaged. Off again before anything the server cannot give
 * again is committed. Not inside a transaction.
 */
int store_cache_writes(struct store *s, int on, char **cause);

/*
 * How long a write waits for another connection's transaction (default
 * STORE_BUSY_WAIT_MS). The full-screen client waits little for a change
 * it can put off: its own worker may hold the store for a batch, and
 * the screen must not freeze for it.
 */
#define STORE_BUSY_WAIT_MS 5000
void store_set_busy_wait(struct store *s, int ms);
/*
 * Did the last failure come from another connection holding the store
 * (it gave up after the busy wait)? Cleared by the next store_begin.
 */
int store_busy(struct store *s);

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
/*
 * The same for a download of many messages (POP3): the body is written to
 * a pack file of the account's, once, beside the database, and synced at
 * the commit of the transaction it is in.
 */
int store_msg_insert_packed(struct store *s, int64_t account_id,
    struct store_msg *m, const void *raw, size_t rawlen, char **cause);
/*
 * The body of a message already stored without one (an IMAP download in
 * bulk), its bytes into the account's pack, in the caller's transaction
 * (or one of its own). 1 stored; 0 not, as the row is gone or has its
 * body already (another tern was quicker), so nothing is written; -1.
 */
int store_msg_put_packed(struct store *s, int64_t id, int64_t account_id,
    const void *raw, size_t len, char **cause);
/*
 * A body too big to hold, written as it arrived into a file made by
 * store_pack_tmp (len bytes): the file becomes a pack of its own, synced
 * and named for its row, in the caller's transaction; a rollback removes
 * it. The path is used up whatever the outcome (renamed or removed).
 * Returns as store_msg_put_packed.
 */
int store_msg_adopt_packed(struct store *s, int64_t id, int64_t account_id,
    const char *path, int64_t len, char **cause);
/*
 * A new file beside the packs for such a body: its descriptor, open for
 * writing, and its path (malloc'd) in *path; -1 with cause.
 */
int store_pack_tmp(struct store *s, char **path, char **cause);
/*
 * The bodies the store lacks of folder_id's messages: their UIDs
 * (ascending), row ids and sizes as indexed, malloc'd arrays of *n.
 */
int store_imap_bodiless(struct store *s, int64_t folder_id, uint32_t **uids,
    int64_t **ids, int64_t **sizes, size_t *n, char **cause);
/*
 * Many reads in one snapshot, without a lock taken and let go for each
 * (an export): between them nothing may write through this store. 0, or
 * -1 with cause.
 */
int store_read_begin(struct store *s, char **cause);
void store_read_end(struct store *s);
/* Is a transaction open (store_begin not yet ended)? */
int store_in_txn(struct store *s);
/*
 * Where a message is, and whether its body is stored, without reading
 * the rest of its row: 1 found, 0 not found, -1 error.
 */
int store_msg_where(struct store *s, int64_t id, int64_t *folder_id,
    uint32_t *uid, uint32_t *uidvalidity, int *has_body, char **cause);
/* Look up by folder and UID: 1 found, 0 not found, -1 error. */
int store_msg_get(struct store *s, int64_t folder_id, uint32_t uid,
    struct store_msg *m, char **cause);
/* Look up by row id: 1 found, 0 not found, -1 error. */
int store_msg_get_id(
    struct store *s, int64_t id, struct store_msg *m, char **cause);
/* The raw bytes: 1 found, 0 not stored, -1 error. */
int store_msg_raw(struct store *s, int64_t id, struct buf *out, char **cause);
/* The same for a body of at most max bytes (0: any); 2, nothing read,
 * when it is bigger (see store_msg_body). */
int store_msg_raw_upto(
    struct store *s, int64_t id, struct buf *out, size_t max, char **cause);
/*
 * The raw bytes without copies, for big messages: a body in a pack file
 * is mapped (its pages shared with the page cache), one in the database
 * read once into memory of its own size. data[len] is '\0'; data is
 * writable (private) and stays valid until store_body_release, whatever
 * else happens to the store meanwhile. 1 found, 0 not stored, -1 error.
 */
struct store_body {
	char *data;
	size_t len;
	void *map; /* private: the mapping, or NULL when data is malloc'd */
	size_t maplen;
};
int store_msg_body(
    struct store *s, int64_t id, struct store_body *b, char **cause);
void store_body_release(struct store_body *b);
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
 * Pending offline operations of an account, replayed in id order by
 * core's drv_replay() (or, for the kinds that cross accounts, by core
 * and smtp), each deleted once the server confirmed it. One enum, one
 * name table: the name is what the database holds.
 *
 * STORE_OP_FLAGS: arg "+S -F", keywords as "+kw:WORD -kw:WORD" after the
 *	letters (core_flag_change_parse, which checks it before it is
 *	queued).
 * STORE_OP_MOVE: arg the target folder.
 * STORE_OP_COPY: the same, the source left where it is. Its copy is shown
 *	in the target at once under a placeholder UID (store_imap_placeholder)
 *	until the server's is known (COPYUID), as a move's.
 * STORE_OP_EXPUNGE: uid 0: every \Deleted message of ours in folder;
 *	with a uid, that message alone (always queued after a "flags" "+T"
 *	of the same UID). Without UID EXPUNGE, a plain EXPUNGE is only safe
 *	when no other message of the folder carries \Deleted: else the op
 *	waits.
 * STORE_OP_CREATE, STORE_OP_DELETE (folder), STORE_OP_RENAME (arg: the
 *	new name); uid 0.
 * STORE_OP_TOLOCAL (folder, uidvalidity, uid; arg "ACCOUNT/FOLDER" of a
 *	local or POP3 folder): an IMAP-to-store move made while the body was
 *	not stored. core_transfer_replay(), run before the driver's sync,
 *	downloads the body (the driver's fetch) and calls core_transfer()
 *	for that UID (keep 0), which commits the copy and queues "flags" +T
 *	and "expunge" of the UID, in the same transaction that deletes this
 *	op. A UID that is gone drops the op. The driver's replay skips these.
 * STORE_OP_TOLOCAL_COPY: the same with keep 1 (the server is untouched).
 * STORE_OP_APPEND (folder: the IMAP folder; arg: a message row id in
 *	decimal, uid 0): APPEND that row's raw bytes (store_msg_raw) with its
 *	flags and internaldate; the row is a copy source and stays. If the
 *	row is gone, drop the op. If arg is NULL the bytes were imported into
 *	the op itself: store_pending_raw() gives them, and they go with it.
 * STORE_OP_APPEND_MOVE: the same, and once the server has it delete the
 *	source row, then the op.
 * STORE_OP_DRAFT: a postponed draft to upload to folder
 *	(store_draft_add); smtp/drafts.c sends these.
 *
 * state and mark make the kinds that are not idempotent (an APPEND, a
 * COPY) safe to replay after a lost answer: STORE_PENDING_SENDING is
 * committed, with mark the target's UIDNEXT, before the command goes out;
 * a row found in that state is looked for on the server (drv find) before
 * it is sent again. msgid is the Message-ID of the message an op names,
 * to find it again after a UIDVALIDITY change.
 */
enum store_op {
	STORE_OP_UNKNOWN, /* a name this tern does not know (kept queued) */
	STORE_OP_FLAGS,
	STORE_OP_MOVE,
	STORE_OP_COPY,
	STORE_OP_EXPUNGE,
	STORE_OP_CREATE,
	STORE_OP_RENAME,
	STORE_OP_DELETE,
	STORE_OP_TOLOCAL,
	STORE_OP_TOLOCAL_COPY,
	STORE_OP_APPEND,
	STORE_OP_APPEND_MOVE,
	STORE_OP_DRAFT,
	STORE_OP_NKINDS
};
/* The name of op as stored ("flags", "append-move", ...). */
const char *store_op_name(enum store_op op);
/* The op named name, or STORE_OP_UNKNOWN. */
enum store_op store_op_from_name(const char *name);

#define STORE_PENDING_QUEUED 0
#define STORE_PENDING_SENDING 1 /* sent; the answer may have been lost */

struct store_pending {
	int64_t id;
	int64_t account_id;
	enum store_op op;
	char *folder;
	uint32_t uidvalidity;
	uint32_t uid;
	char *arg;
	int64_t created;
	int state; /* STORE_PENDING_* */
	uint32_t mark; /* with SENDING: the target's UIDNEXT before */
	char *msgid; /* the Message-ID of the message named, or NULL */
	/* STORE_OP_MOVE, _COPY: the UID the message has in the target until the
	 * server's is known (store_imap_move_placeholder), or 0 */
	uint32_t placeholder;
};

void store_pending_clear(struct store_pending *p);
int store_pending_add(
    struct store *s, const struct store_pending *p, char **cause);
/* All pending operations of an account, oldest first. */
int store_pending_list(struct store *s, int64_t account_id,
    struct store_pending **v, size_t *n, char **cause);
void store_pending_list_free(struct store_pending *v, size_t n);
int store_pending_delete(struct store *s, int64_t id, char **cause);
/* Record that op id is being sent (state, mark): committed before it is. */
int store_pending_set_state(
    struct store *s, int64_t id, int state, uint32_t mark, char **cause);
/*
 * Point op id at another UID (a UIDVALIDITY change re-mapped it by
 * Message-ID).
 */
int store_pending_set_uid(struct store *s, int64_t id, uint32_t uidvalidity,
    uint32_t uid, char **cause);
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
/* The server UIDs of a folder (no placeholders), ascending (malloc'd). */
int store_imap_uids(
    struct store *s, int64_t folder_id, uint32_t **v, size_t *n, char **cause);
/* Insert a header-index row, or update flags/modseq if the UID exists. */
int store_imap_upsert(struct store *s, struct store_msg *m, char **cause);
/*
 * The same for n rows at once, in one statement for each
 * STORE_UPSERT_ROWS of them; the strings of every row must stay unchanged
 * until it returns.
 */
#define STORE_UPSERT_ROWS 16
int store_imap_upsert_rows(
    struct store *s, struct store_msg *const *m, size_t n, char **cause);
/* 1 when the row changed, 0 when it held these already, -1 on error. */
int store_imap_set_flags(struct store *s, int64_t folder_id, uint32_t uid,
    unsigned flags, const char *keywords, uint64_t modseq, char **cause);
/* Returns how many rows went (0 or 1), or -1. */
int64_t store_imap_delete_uid(
    struct store *s, int64_t folder_id, uint32_t uid, char **cause);
/*
 * Show an IMAP message moved offline in folder_id at once: the row moves
 * there under a placeholder UID from the top of the UID space (counting
 * down from STORE_UID_PLACEHOLDER_MAX), until the server's is known.
 * *uid gets the placeholder.
 */
#define STORE_UID_PLACEHOLDER_MIN 0xF0000000u
#define STORE_UID_PLACEHOLDER_MAX 0xFFFFFFFFu
int store_imap_move_placeholder(struct store *s, int64_t id, int64_t folder_id,
    uint32_t *uid, char **cause);
/* The next placeholder UID free in folder_id (a copy is inserted there). */
int store_imap_placeholder(
    struct store *s, int64_t folder_id, uint32_t *uid, char **cause);
/* Give a row its new UID (after COPYUID); ignored if it would collide. */
int store_imap_set_uid(struct store *s, int64_t folder_id, uint32_t old_uid,
    uint32_t uid, uint32_t uidvalidity, char **cause);
int store_imap_detach(struct store *s, int64_t folder_id, char **cause);
int store_imap_reattach(struct store *s, int64_t folder_id, char **cause);
/*
 * Drop (on 0) or build (on 1) the index of Message-IDs. Message-IDs come
 * in no order, so each new row writes the index at a random place: a
 * fetch of a million new rows with it rewrote one page of it a row, 4 GB
 * of WAL for a 200 MB store. A big fetch goes without it and builds it
 * after, in one sorted pass. Its own transaction.
 */
int store_imap_msgid_index(struct store *s, int on, char **cause);
/* A folder's UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ (no counting). */
int store_imap_folder_state(struct store *s, int64_t folder_id,
    uint32_t *uidvalidity, uint32_t *uidnext, uint64_t *highestmodseq,
    char **cause);
/* The ids and names of an account's folders (both arrays malloc'd). */
int store_imap_folders(struct store *s, int64_t account_id, int64_t **ids,
    char ***names, size_t *n, char **cause);

/*
 * The full-screen client's index (src/store/index.c): message ids of a
 * folder in sort order, one light row at a time for what is on screen, and
 * the threading keys. Only what the screen needs is ever loaded.
 */
enum store_sort {
	STORE_SORT_DATE,
	STORE_SORT_FROM,
	STORE_SORT_SUBJECT,
	STORE_SORT_SIZE,
};

struct store_index_row {
	int64_t id;
	uint32_t uid;
	unsigned flags;
	int64_t date;
	int64_t size;
	int has_attach;
	int has_body;
	char *from;
	char *to; /* the To and Cc lists, as stored */
	char *cc;
	char *subject;
};

void store_index_row_clear(struct store_index_row *r);
/*
 * The ids of a folder's messages in sort order (ties by id). When match is
 * not NULL only messages whose sender, subject, recipients or stored body
 * contain it (ASCII case-insensitive) are listed. *ids is malloc'd.
 */
int store_index_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    const char *match, int64_t **ids, size_t *n, char **cause);
/* How many messages a folder holds; -1 on error. */
int64_t store_index_count(struct store *s, int64_t folder_id, char **cause);
/* The highest message id in the store (0 if none); -1 on error. */
int64_t store_index_newest(struct store *s, char **cause);
/* How many of a folder's messages have an id in (after, upto]; -1 on error. */
int64_t store_index_count_new(struct store *s, int64_t folder_id, int64_t after,
    int64_t upto, char **cause);
/*
 * Keyset paging for the date and size orders: up to max ids that come
 * before (key, id) in the order (key = date or size), nearest first, with
 * each one's key in keys. INT64_MAX, INT64_MAX starts from the end.
 */
int store_index_ids_before(struct store *s, int64_t folder_id,
    enum store_sort sort, int64_t key, int64_t id, size_t max, int64_t *ids,
    int64_t *keys, size_t *n, char **cause);
/* The same after (key, id), nearest first; INT64_MIN, INT64_MIN starts
 * from the beginning. */
int store_index_ids_after(struct store *s, int64_t folder_id,
    enum store_sort sort, int64_t key, int64_t id, size_t max, int64_t *ids,
    int64_t *keys, size_t *n, char **cause);
/* One row by message id: 1 found, 0 gone, -1 error. */
int store_index_row(
    struct store *s, int64_t id, struct store_index_row *r, char **cause);

/*
 * What the JWZ threader (mime_thread) needs of each message of a folder,
 * oldest first (date, id). The strings (NULL: none) point into *pool,
 * one block; v and pool are malloc'd.
 */
struct store_thread_row {
	int64_t id;
	int64_t date;
	const char *message_id;
	const char *in_reply_to;
	const char *refs;
	const char *subject;
};
int store_index_thread_rows(struct store *s, int64_t folder_id,
    struct store_thread_row **v, char **pool, size_t *n, char **cause);

/*
 * The folders of an account like store_folder_list(), without counting
 * their messages (total and unseen are -1): counting a big folder takes
 * longer than a first screen may.
 */
int store_index_folder_names(struct store *s, int64_t account_id,
    struct store_folder **v, size_t *n, char **cause);
/* A folder's message and unread counts. */
int store_index_folder_counts(struct store *s, int64_t folder_id,
    int64_t *total, int64_t *unseen, char **cause);

struct store_account_info {
	int64_t id;
	char *name;
	char *protocol;
};
/* Every account the store knows, by id. */
int store_account_list(
    struct store *s, struct store_account_info **v, size_t *n, char **cause);
void store_account_list_free(struct store_account_info *v, size_t n);

/*
 * A number that changes whenever another connection (a sync worker)
 * commits to the database; -1 on error.
 */
int64_t store_data_version(struct store *s);

/*
 * Outbox (src/store/outbox.c, src/store/address.c): every message to
 * send, from queued to accepted by the server. A row is claimed (state
 * SENDING, committed) before the SMTP transfer and marked SENT when the
 * server accepted it; a row still SENDING when the next run looks (a
 * crash during or right after DATA) is made UNKNOWN by the sender and is
 * never sent again unless the user says so (store_outbox_requeue). SENT
 * rows wait for their Sent copy and are then deleted.
 */
#define STORE_OUTBOX_QUEUED 0 /* to send at the next chance */
#define STORE_OUTBOX_SENDING 1 /* a transfer is (or was) under way */
#define STORE_OUTBOX_SENT 2 /* accepted; the Sent copy is still due */
#define STORE_OUTBOX_FAILED 3 /* refused by the server; kept */
#define STORE_OUTBOX_UNKNOWN 4 /* may have been accepted; kept */

struct store_outbox {
	int64_t id;
	int64_t account_id;
	char *raw; /* NULL unless asked for */
	size_t len;
	int state;
	int attempts;
	char *last_error;
	int64_t created;
	int64_t sent_at;
};

void store_outbox_clear(struct store_outbox *o);
void store_outbox_list_free(struct store_outbox *v, size_t n);
/* Queue raw for the account; returns the new id, or -1 with cause. */
int64_t store_outbox_add(struct store *s, int64_t account_id, const void *raw,
    size_t len, char **cause);
/* The rows of an account (0: every account), oldest first. */
int store_outbox_list(struct store *s, int64_t account_id, int with_raw,
    struct store_outbox **v, size_t *n, char **cause);
/* 1 found, 0 not, -1 error. */
int store_outbox_get(
    struct store *s, int64_t id, struct store_outbox *o, char **cause);
/*
 * QUEUED -> SENDING, counting the attempt. Returns 1 when this caller
 * owns the transfer, 0 when the row is in another state (another process
 * took it), -1 on error.
 */
int store_outbox_claim(struct store *s, int64_t id, char **cause);
/* Set the state (and last_error, NULL to clear); SENT sets sent_at. */
int store_outbox_set_state(
    struct store *s, int64_t id, int state, const char *error, char **cause);
/* FAILED or UNKNOWN -> QUEUED (the user asked to send it again). */
int store_outbox_requeue(struct store *s, int64_t id, char **cause);
int store_outbox_delete(struct store *s, int64_t id, char **cause);
/* The state's name: queued, sending, sent, failed, unknown. */
const char *store_outbox_state_name(int state);
/*
 * Address completion: up to limit (0: 20) distinct senders of stored
 * mail ("Name <addr>" as indexed) containing text, most frequent first;
 * *v is NULL-terminated, each string and *v malloc'd.
 */
int store_senders(struct store *s, const char *text, size_t limit, char ***v,
    size_t *n, char **cause);
/*
 * The ids of an account's messages with the given Message-ID (to mark
 * the original of a reply as answered); *v is malloc'd.
 */
int store_msg_find_msgid(struct store *s, int64_t account_id,
    const char *message_id, int64_t **v, size_t *n, char **cause);

/*
 * Archive imports (store/archive.c).
 */
/*
 * Is a message with this Message-ID (NULL: none) and these bytes already
 * in the folder? Bytes are the same when they differ at most in line
 * ends (CRLF or LF, as mutt's copy of an IMAP message has them) and in
 * one final line end (which an mbox writer may have added). An entry
 * whose body is not stored (IMAP index) counts when the Message-ID is the
 * same. 1 yes, 0 no, -1 error.
 */
int store_msg_find_same(struct store *s, int64_t folder_id,
    const char *message_id, const void *raw, size_t len, char **cause);
/*
 * Queue p (an "append" with arg NULL) together with the bytes to append,
 * their flags, keywords (space separated, or NULL; schema version 10) and
 * internal date (table pending_raw, schema version 2).
 */
int store_pending_add_raw(struct store *s, const struct store_pending *p,
    const void *raw, size_t len, unsigned flags, const char *keywords,
    int64_t internaldate, const char *message_id, char **cause);
/* The bytes of a queued "append": 1 found, 0 none, -1 error. */
int store_pending_raw(struct store *s, int64_t pending_id, struct buf *out,
    unsigned *flags, int64_t *internaldate, char **cause);
/*
 * The keywords to APPEND with a queued "append" (the flag list after the
 * system flags): *keywords gets them malloc'd, or NULL. 1 found, 0 no
 * such op, -1 error.
 */
int store_pending_raw_keywords(
    struct store *s, int64_t pending_id, char **keywords, char **cause);
/* Is an APPEND of these bytes (as store_msg_find_same compares them)
 * already queued for folder? 1/0/-1. */
int store_pending_find_same(struct store *s, int64_t account_id,
    const char *folder, const char *message_id, const void *raw, size_t len,
    char **cause);

/*
 * IMAP folder names as the server spells them (store/imapname.c, column
 * folder.imap_name, schema version 4).
 */
int store_folder_set_imap_name(
    struct store *s, int64_t folder_id, const char *wire, char **cause);
/* The stored spelling of account's folder name: 1 (*wire malloc'd), 0, -1. */
int store_folder_imap_name(struct store *s, int64_t account_id,
    const char *name, char **wire, char **cause);

/*
 * Bodies on demand: the part table (store_part_set/get) holds an IMAP
 * message's view under this name and each part downloaded alone under
 * its section ("2.1").
 */
#define STORE_PART_VIEW "VIEW"

/*
 * Folders kept offline (store/offline.c). A message is kept when its
 * whole body or its view is stored.
 */
struct store_offline_msg {
	uint32_t uid;
	int64_t size; /* the server's RFC822.SIZE, 0 if unknown */
};
/*
 * The messages of an IMAP folder kept neither whole nor as a view, with
 * a UID on the server, newest (highest UID) first; since (unix time, 0:
 * any): only those that arrived then or later (INTERNALDATE, else the
 * Date: header). *v is malloc'd.
 */
int store_offline_wanted(struct store *s, int64_t folder_id, int64_t since,
    struct store_offline_msg **v, size_t *n, char **cause);
struct store_offline_stats {
	int64_t total; /* messages of the folder */
	int64_t kept; /* of those, with a body or a view stored */
	int64_t bytes; /* what their bodies and parts take */
};
int store_offline_stats(struct store *s, int64_t folder_id,
    struct store_offline_stats *st, char **cause);

/*
 * Postponed drafts (store/draft.c). A draft postponed on an account whose
 * server keeps its Drafts (IMAP) is kept here first, as a pending op
 * "draft" (folder: the Drafts folder as given to the driver's append;
 * uid 0) with its bytes in pending_raw, flags \Draft \Seen, so neither
 * quitting, a crash nor being offline loses it. The uploader
 * (smtp_drafts_flush) claims it before its APPEND (arg NULL ->
 * STORE_DRAFT_TRIED, committed) and deletes the op once the server
 * answered OK; a claimed op found again means the server may already
 * have it. The driver's own replay keeps these ops.
 */
#define STORE_DRAFT_TRIED "appending"
int store_draft_add(struct store *s, int64_t account_id, const char *folder,
    const void *raw, size_t len, const char *message_id, char **cause);
/*
 * Mark a draft op as being uploaded: 1 when this is its first attempt, 0
 * when an earlier one may have reached the server (or the op is gone), -1
 * on error.
 */
int store_draft_claim(struct store *s, int64_t id, char **cause);

/* Set a message's keywords (NULL or "": none); core/flags.c parses them. */
int store_msg_set_keywords(
    struct store *s, int64_t id, const char *keywords, char **cause);

/*
 * Full-text search (store/fts.c, store/search.c, schema version 11): an
 * FTS5 index of each message's envelope, header fields and the text the
 * pager shows (attachments by name), case and diacritics folded. It is
 * kept in the transaction that stores what it indexes; a store made
 * before it is filled by store_fts_fill.
 */
struct pattern;
/*
 * The ids of the messages that match p, in sort order (ties by id), in
 * folder_id, else (0) in account_id's folders, else (0) in every folder.
 * *ids is malloc'd.
 */
int store_search(struct store *s, int64_t account_id, int64_t folder_id,
    const struct pattern *p, enum store_sort sort, int64_t **ids, size_t *n,
    char **cause);
/* The same, with each match's date in *dates (malloc'd, NULL when none). */
int store_search_dated(struct store *s, int64_t account_id, int64_t folder_id,
    const struct pattern *p, enum store_sort sort, int64_t **ids,
    int64_t **dates, size_t *n, char **cause);
/*
 * Does the index hold message id's text (1), or its envelope alone or
 * nothing (0: a server's search knows it better)? -1 on error.
 */
int store_fts_has_body(struct store *s, int64_t id, char **cause);
/* How many messages the index does not hold yet (0: it is whole); -1. */
int64_t store_fts_pending(struct store *s, char **cause);
/*
 * Index every message the index does not hold, in batches that each
 * commit (a kill loses no batch done), calling cb (may be NULL) after
 * each with how many of total are done; a non-zero return from cb stops
 * the fill there (it goes on at the next call). An index that is mostly
 * stale
 * (messages deleted or indexed again) is first emptied and made anew.
 */
typedef int (*store_fts_progress)(void *arg, int64_t done, int64_t total);
int store_fts_fill(
    struct store *s, store_fts_progress cb, void *arg, char **cause);
/*
 * The words of text as the index makes them (folded), each with its
 * byte range in text, for showing what a search matched. A non-zero
 * return from cb stops it.
 */
typedef int (*store_token_cb)(
    void *arg, const char *word, size_t len, size_t start, size_t end);
int store_fts_tokenize(struct store *s, const char *text, size_t len,
    store_token_cb cb, void *arg, char **cause);
/* Empty the index; store_fts_fill makes it anew. */
int store_fts_rebuild(struct store *s, char **cause);
/* Documents no message maps to any more, and those that one does. */
int store_fts_stale(
    struct store *s, int64_t *stale, int64_t *live, char **cause);

#endif
