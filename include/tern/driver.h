/*
 * driver: the account driver object, the error classes every engine call
 * returns, and the replay of the offline queue written once against them.
 *
 * A driver object is made by open() for one account and owns its
 * connection, the server's capabilities and its namespace; close() ends
 * it. Its operations are fine-grained (select, store flags, move,
 * expunge, append, find, folder create/rename/delete) so that core/ can
 * replay queued changes without knowing the protocol, and tests can plug
 * in a fake.
 *
 * Every operation returns an enum drv_err and, when it is not DRV_OK,
 * fills *err (if err is not NULL) with a malloc'd message for the user.
 * Callers decide by the class, never by the message's text. All memory
 * passed in belongs to the caller, unless stated otherwise.
 */
#ifndef TERN_DRIVER_H
#define TERN_DRIVER_H

#include <stddef.h>
#include <stdint.h>

struct tern;
struct rc_account;
struct sync_opts;
struct core_flag_change;

enum drv_err {
	DRV_OK = 0,
	DRV_MSG_BAD, /* this message is gone or refused; others may go */
	DRV_BOX_BAD, /* this folder is missing or cannot be opened */
	DRV_REFUSED, /* the server answered NO; trying again now is no use */
	DRV_CONN, /* the connection is lost (reset, timeout, close, BYE) */
	DRV_PROTO, /* the server's reply cannot be read: connection unusable */
	DRV_AUTH, /* the server refused the login */
	DRV_STORE, /* the local store failed */
	DRV_NERR
};

/* "connection lost", ... (for logs and tests). */
const char *drv_err_name(enum drv_err e);
/*
 * Is e worth a new connection and another try within the same sync? A
 * lost connection is; a refusal, a broken reply or a store failure is
 * not.
 */
int drv_err_transient(enum drv_err e);

/* What a driver object can do (its capability word). */
#define DRV_CAN_MOVE 0x01 /* atomic server-side move (IMAP MOVE) */
#define DRV_CAN_UIDPLUS 0x02 /* UID EXPUNGE, APPENDUID, COPYUID */

/* What identifies a message sent before, to find it again. */
struct drv_msgkey {
	const char *message_id; /* NULL or "" if it has none */
	uint64_t size; /* its octets, 0 if unknown */
	int64_t date; /* internal date, 0 if unknown */
	uint32_t min_uid; /* only UIDs from here on (the UIDNEXT before) */
	int unique; /* a key that matches more than one is not found */
};

struct drv;

struct drv_ops {
	const char *name;
	enum drv_err (*open)(struct tern *t, struct rc_account *a,
	    const struct sync_opts *o, struct drv **dp, char **err);
	/* Ends the object and its connection; *dp becomes NULL. */
	void (*close)(struct drv **dp);
	/*
	 * Drop the connection (lost, or in doubt) and open a new one, in
	 * place: nothing is selected afterwards.
	 */
	enum drv_err (*reconnect)(struct drv *d, char **err);
	unsigned (*caps)(struct drv *d);
	/*
	 * Open folder for the operations that name no folder. DRV_BOX_BAD
	 * when it is missing; *uidvalidity and *uidnext (either may be NULL)
	 * get its state.
	 */
	enum drv_err (*select)(struct drv *d, const char *folder,
	    uint32_t *uidvalidity, uint32_t *uidnext, char **err);
	/* Is uid in the selected folder? DRV_OK yes, DRV_MSG_BAD gone. */
	enum drv_err (*has)(struct drv *d, uint32_t uid, char **err);
	/*
	 * The UID in folder (selected or not) of the message k describes:
	 * DRV_OK with *uid, DRV_MSG_BAD when it is not there.
	 */
	enum drv_err (*find)(struct drv *d, const char *folder,
	    const struct drv_msgkey *k, uint32_t *uid, char **err);
	/*
	 * Apply a flag change to uid of the selected folder. Keywords the
	 * folder cannot keep, or that the server refused, go into dropped
	 * (which the caller clears) and are not an error.
	 */
	enum drv_err (*set_flags)(struct drv *d, uint32_t uid,
	    const struct core_flag_change *c, struct core_flag_change *dropped,
	    char **err);
	/*
	 * set_flags on every UID of uids[0..n) (sorted, each once) of the
	 * selected folder at once, a command for each kind of change, not
	 * for each message; a UID that is gone is passed over, as IMAP's
	 * UID STORE does. dropped: as set_flags says, for all of them.
	 * NULL: the replay sends them one at a time.
	 */
	enum drv_err (*set_flags_set)(struct drv *d, const uint32_t *uids,
	    size_t n, const struct core_flag_change *c,
	    struct core_flag_change *dropped, char **err);
	/*
	 * Move (copy != 0: copy) uid of the selected folder to folder;
	 * *newuid (may be NULL) gets its UID there when the server says
	 * (COPYUID), else 0. A missing target is created.
	 */
	enum drv_err (*move)(struct drv *d, uint32_t uid, const char *folder,
	    int copy, uint32_t *newuid, char **err);
	/*
	 * Remove uid (already flagged deleted; 0: every deleted message) of
	 * the selected folder. DRV_REFUSED when it cannot be removed alone
	 * (no UID EXPUNGE and other deleted messages): it waits.
	 */
	enum drv_err (*expunge)(struct drv *d, uint32_t uid, char **err);
	/*
	 * Flag \Deleted and remove every UID of uids[0..n) (sorted, each
	 * once) of the selected folder; used only with DRV_CAN_UIDPLUS.
	 * NULL: one at a time.
	 */
	enum drv_err (*expunge_set)(
	    struct drv *d, const uint32_t *uids, size_t n, char **err);
	/*
	 * Store raw in folder (created when missing) with flags (STORE_F_*)
	 * and internal date when (0: the server's clock). *uid (may be NULL)
	 * gets its UID when the server says (APPENDUID), else 0. DRV_MSG_BAD:
	 * the server refused this message.
	 */
	enum drv_err (*append)(struct drv *d, const char *folder,
	    const char *raw, size_t len, unsigned flags, int64_t when,
	    uint32_t *uid, char **err);
	/*
	 * The UIDNEXT of folder, for a later find (0 if unknown);
	 * DRV_BOX_BAD when it does not exist.
	 */
	enum drv_err (*uidnext)(
	    struct drv *d, const char *folder, uint32_t *uidnext, char **err);
	/* Folders: an existing target (create) or a missing source (delete)
	 * is DRV_OK: the change is already there. */
	enum drv_err (*folder_create)(
	    struct drv *d, const char *name, char **err);
	enum drv_err (*folder_rename)(
	    struct drv *d, const char *from, const char *to, char **err);
	enum drv_err (*folder_delete)(
	    struct drv *d, const char *name, char **err);
};

/* What a replay did, for the sync's summary. */
struct drv_replay_stats {
	uint64_t done; /* confirmed by the server and removed from the queue */
	uint64_t kept; /* refused for now, still queued */
	uint64_t dropped; /* could never apply (message or folder gone) */
	uint64_t remapped; /* found again by Message-ID after UIDVALIDITY */
	uint64_t lost; /* lost to a UIDVALIDITY change */
	unsigned reconnects;
};

/* How many times in a row a replay reconnects after losing a connection. */
#define DRV_REPLAY_RECONNECTS 5

/*
 * Replay the account's queued changes through ops (core/replay.c), in
 * order, each removed from the queue once the server confirmed it. *dp
 * is the open driver object (opened here when NULL, and reconnected after
 * a lost connection, at most DRV_REPLAY_RECONNECTS times in a row); it
 * stays open for the caller. Notes go through o's note callback; *st
 * (zeroed here) counts what became of the ops. Returns DRV_OK when the
 * whole queue was gone through (some ops may be kept), else the class
 * that stopped it, with *err.
 */
enum drv_err drv_replay(struct tern *t, struct rc_account *a,
    const struct drv_ops *ops, struct drv **dp, const struct sync_opts *o,
    struct drv_replay_stats *st, char **err);

#endif
