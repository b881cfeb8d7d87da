/*
 * Internals of the IMAP sync shared by its files: the session (struct
 * isync: a connection, the selected folder and what its responses said)
 * and the jobs that use it. session.c owns the connection and the
 * responses; index.c the header index; ops.c the driver object's
 * operations (the replay of queued changes); watch.c IDLE; fetch.c
 * bodies on demand; append.c APPEND; sync.c the account's sync.
 */
#ifndef TERN_IMAP_SYNC_H
#define TERN_IMAP_SYNC_H

#include <pthread.h>
#include <stdint.h>

#include "imap-private.h"
#include "tern/core.h"
#include "tern/driver.h"
#include "tern/mime.h"
#include "tern/store.h"

#define HEADER_FIELDS \
	"DATE FROM TO CC SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES CONTENT-TYPE"
/* UIDs per UID FETCH of the index, and rows per store transaction: a
 * batch is committed as it arrives. */
#define INDEX_BATCH 1000
#define COMMIT_ROWS INDEX_BATCH
/* The newest messages of a first sync of INBOX, fetched before the rest:
 * a tall terminal's screenful. */
#define INDEX_NEWEST 100

#define IW_QUEUE 32 /* batches waiting for the index writer */
#define IW_MIN 256 /* rows worth a writer thread */
#define IW_BULK 50000 /* rows fetched without the Message-ID index */
/* UIDs a UID SEARCH asks for at once in a big folder, and at most how
 * many such searches (see isync_search_from). */
#define SEARCH_WINDOW 250000
#define SEARCH_WINDOWS 64

/* Rows of the header index, stored with one statement. */
struct ibatch {
	struct irow {
		struct store_msg m;
		struct mime_envelope env;
	} rows[STORE_UPSERT_ROWS];
	size_t n;
	int commit; /* end the transaction after these */
};

/* The items of a FETCH response tern reads (isync_fetch_items). */
struct fetch_items {
	uint32_t uid;
	uint64_t modseq;
	int64_t size, internaldate;
	size_t list; /* the item list */
	size_t flist, hdr, body; /* FLAGS, BODY[HEADER...], BODY[]; 0: none */
};

struct folder_entry {
	char *name; /* tern's: UTF-8, nested with '/' */
	char *wire; /* the server's, as LIST gave it */
	char *special;
	/* \Noselect or \NonExistent: a parent in the hierarchy (P of
	 * P/Sub) that holds no messages; listed, never synced. */
	int noselect;
	/* From LIST-STATUS, when the server offers it. */
	int have_status;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	/* NOTIFY said it changed while we watched: sync it. */
	int dirty;
};

struct isync {
	struct tern *t;
	struct rc_account *a;
	const struct sync_opts *o;
	struct store *s;
	int64_t account_id;
	struct imap_conn *c;

	/* The selected folder. */
	char *selected;
	int64_t folder_id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t exists;
	int changed; /* EXISTS, EXPUNGE or a flag change arrived */
	/* Selected by isync_inbox_newest: the folder's sync that follows
	 * goes on with this SELECT rather than repeat it. */
	int fresh;
	int watching; /* waiting for news: a STATUS is news of a folder */
	int relist; /* news of a folder not listed: a whole pass is due */
	/* Its PERMANENTFLAGS: known, \* (any new keyword), the keywords. */
	int perm_known, perm_any;
	struct buf permkw;

	struct imap_uidset search;
	struct imap_uidset vanished; /* since the last SELECT */
	int rows; /* rows written in the open transaction */
	int in_txn;
	uint64_t done, total, bytes;
	char *copyuid;

	struct folder_entry *folders;
	size_t nfolders;
	int listed; /* folders holds a LIST of this connection */
	int asked_delim;
	int keep; /* done well: keep the connection for the next call */
	int reused; /* the connection was kept from an earlier call */
	int64_t q_used, q_limit;

	uint64_t nnew, nflags, nvanished, nreplayed;
	/*
	 * Folders kept offline (offline.c): bodies stored by this sync,
	 * batches asked for; asked to give way, no more downloads in it;
	 * the big messages whose view the parser refused, to come whole.
	 */
	uint64_t nbodies;
	unsigned offline_batches;
	int offline_yield;
	/*
	 * Asked by isync_bodies before each command after its first: stop
	 * asking for more (what was asked still comes and is stored), and
	 * say so in bodies_yielded. NULL: every body asked for comes.
	 */
	int (*bodies_yield)(const struct isync *is);
	int bodies_yielded;
	struct offline_refused {
		int64_t folder_id;
		uint32_t uid;
	} * view_refused;
	size_t nview_refused;
	unsigned nfailed; /* folders skipped after a refusal */
	int no_modseq; /* this folder: no CONDSTORE items (the server said NO) */
	struct buf notes;

	/*
	 * The header index: rows parsed on this thread, stored by a writer
	 * thread (with a big fetch) while the next ones are read and parsed.
	 */
	struct ibatch *cur; /* being filled */
	struct ibatch *held[COMMIT_ROWS / STORE_UPSERT_ROWS + 1];
	size_t nheld; /* batches not handed over yet (batch_submit) */
	int queued; /* rows handed over since the last commit */
	struct store_writer *iw; /* NULL: rows are stored inline */
	struct store_ckpt *ckpt; /* checkpoints off the writer */
};

/* CONDSTORE and QRESYNC, unless the folder refused them. */
static inline int
isync_modseq(const struct isync *is)
{
	return is->c->enabled_condstore && !is->no_modseq;
}

static inline int
isync_qresync(const struct isync *is)
{
	return is->c->enabled_qresync && !is->no_modseq;
}

/* The driver object (ops.c): a session and its operations. */
extern const struct drv_ops imap_drv_ops;
struct isync *imap_drv_session(struct drv *d);
struct drv *imap_drv_of(struct isync *is);

/* The session: connection, responses, folders (session.c). */
void isync_note(struct isync *is, const char *fmt, ...);
void isync_progress(struct isync *is, const char *what);
/* Rows were committed that the user should see at once (opts' stored). */
void isync_stored(struct isync *is);
/* May the selected folder keep keyword kw? */
int isync_perm_keyword(struct isync *is, const char *kw);
/*
 * The quoted wire name of tern's folder name: the server's own spelling
 * when LIST gave it (this connection's, else the one stored), else the
 * name encoded with the server's delimiter.
 */
char *isync_wire_quote(struct isync *is, const char *name);
/* Learn the hierarchy delimiter when no LIST told it yet. */
int isync_learn_delim(struct isync *is, char **cause);
/* SELECT a folder (QRESYNC parameters when we know its state). */
int isync_select_folder(struct isync *is, const char *name, int64_t folder_id,
    uint32_t known_uidvalidity, uint64_t known_modseq, int *ok, char **cause);
/* The UIDs of the selected folder, into is->search. */
int isync_search_all(struct isync *is, char **cause);
/* The UIDs from lo on into is->search (added to it), sorted. */
int isync_search_from(struct isync *is, uint32_t lo, char **cause);
void isync_folders_free(struct isync *is);
int isync_wanted(struct isync *is, const char *name);
/* Does the selected folder still hold uid? 1 yes, 0 no, -1 error. */
int isync_probe(struct isync *is, uint32_t uid, char **cause);
/*
 * Expunge uid (already \Deleted). Without UIDPLUS, EXPUNGE would remove
 * every \Deleted message: do it only when uid is the only one, else
 * return 1 (it waits until it is).
 */
int isync_expunge_uid(struct isync *is, uint32_t uid, char **cause);
/*
 * UID MOVE or UID COPY to the quoted mailbox q, creating it first when
 * the server says it does not exist ([TRYCREATE]).
 */
int isync_copy_or_move(struct isync *is, uint32_t uid, const char *q,
    const char *verb, char **cause);
/* The kept connection of this account, if it is still good. */
void isync_kept_take(struct isync *is);
void isync_clear(struct isync *is);
int isync_init(struct isync *is, struct tern *t, struct rc_account *a,
    const struct sync_opts *o, char **cause);
/* Connect and log in; 0, or imap_open's failure with cause. */
int isync_connect_account(struct isync *is, char **cause);
/*
 * Close the connection (lost or in doubt), forgetting what it had
 * selected and listed and rolling back what it was storing.
 */
void isync_drop_connection(struct isync *is);

/* The header index (index.c). */
int isync_txn_begin(struct isync *is, char **cause);
/* Everything parsed is stored and the store is this thread's. */
int isync_index_settle(struct isync *is, char **cause);
int isync_txn_commit(struct isync *is, char **cause);
void isync_txn_rollback(struct isync *is);
/*
 * Read a FETCH response's items; 1 when it has no UID (news of a change,
 * not an answer).
 */
int isync_fetch_items(const struct imap_resp *r, struct fetch_items *fi);
/* FETCH news and flag fetches: the flags into the store (arg: isync). */
int isync_fetch_flags(void *arg, const struct imap_resp *r, char **cause);
/*
 * Bring one folder of the store in line with the server.
 *
 * After a complete earlier sync and with QRESYNC, SELECT brings the
 * changed flags and the vanished UIDs, and only UIDs from the stored
 * UIDNEXT on can be new: nothing else is asked. Otherwise a UID SEARCH of
 * the whole folder is compared with the stored UIDs.
 */
int isync_sync_folder(struct isync *is, const char *name, char **cause);
/* LIST, and make the store's folders match. */
int isync_sync_list(struct isync *is, char **cause);
int isync_sync_quota(struct isync *is, char **cause);
/*
 * Did LIST-STATUS say the folder is as stored after a complete sync (same
 * UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ)? 1 yes, 0 no, -1 error.
 */
int isync_unchanged(
    struct isync *is, const struct folder_entry *f, char **cause);
/*
 * INBOX before the LIST, when QRESYNC makes its resync cheap: SELECT of
 * an unchanged INBOX costs next to nothing, and LIST-STATUS is then
 * answered at once for it, where Dovecot otherwise re-reads a big INBOX
 * to answer (0.13 s for 100,000 messages). *done: INBOX is synced.
 */
int isync_inbox_first(struct isync *is, int *done, char **cause);
/*
 * The newest INDEX_NEWEST messages of an INBOX with nothing stored yet (a
 * first sync), before the LIST and the rest of its index: committed and
 * announced (isync_stored) at once, so the client shows the newest mail
 * while the rest comes. The folder's sync state is not recorded: its
 * sync follows, on the same SELECT.
 */
int isync_inbox_newest(struct isync *is, char **cause);

/* Waiting for new mail (watch.c). */
/*
 * Watch until wakefd, reconnecting when the connection drops (waiting
 * longer each time, up to five minutes). A refusal by the server ends it.
 */
int isync_watch_forever(struct isync *is, char **cause);

/* The account sync (sync.c). */
/* One pass over the account on an open connection. */
int isync_sync_pass(struct isync *is, char **cause);
/*
 * Sync one folder; a refusal (the connection still good) skips it with a
 * note, after one more try without CONDSTORE items when it used them.
 */
int isync_sync_folder_or_skip(struct isync *is, const char *name, char **cause);
/* Replay the account's queued changes on is's connection. */
int isync_replay(struct isync *is, char **cause);

/*
 * Bodies in bulk: the whole messages uids[0..n) of the selected folder
 * (its UIDVALIDITY the store's), those the store holds already skipped,
 * stored and committed as they arrive; the server's flags are left
 * alone. A UID the server no longer has is skipped. Newest first when
 * uids go down, else oldest first. 0, or -1 with cause (what was
 * committed stays: a second call goes on from there).
 */
int isync_bodies(
    struct isync *is, const uint32_t *uids, size_t n, char **cause);

/*
 * Folders kept offline (offline.c): after the index of folder name, the
 * bodies the account's offline key asks for that the store lacks, newest
 * first, no flag changed; the folder is selected (synced) first when it
 * is not. Stops early, for the next sync to go on, when the wakefd of
 * the sync's options is readable. 0, or -1 with cause.
 */
int isync_offline(struct isync *is, const char *name, char **cause);

/*
 * The view of m (what showing it needs, store part STORE_PART_VIEW) from
 * the selected folder f, attachments left on the server; seen: m marked
 * seen too, in the store and on the server (opening it), else no flag
 * changes (a folder kept offline). 0; 1 when the server no longer has
 * it; -1 with cause (imap_err DRV_PROTO: a reply the parser refused, the
 * connection unusable).
 */
int isync_view(struct isync *is, const struct store_msg *m,
    const struct store_folder *f, int seen, char **cause);

/* The account driver's entry points (fetch.c, bulk.c, append.c). */
int imap_fetch(struct tern *t, struct rc_account *a, int64_t msg_id, int seen,
    char **cause);
int imap_fetch_many(struct tern *t, struct rc_account *a,
    const int64_t *msg_ids, size_t n, char **cause);
int imap_fetch_view(
    struct tern *t, struct rc_account *a, int64_t msg_id, char **cause);
int imap_fetch_part(struct tern *t, struct rc_account *a, int64_t msg_id,
    const char *section, char **cause);
int imap_append_copy(struct tern *t, struct rc_account *a, const char *folder,
    const char *raw, size_t len, unsigned flags, char **cause);

#endif
