/*
 * Internals of the IMAP module: the connection engine (tags, pipelining,
 * dispatch of responses) shared by the sync, fetch and replay code.
 */
#ifndef TERN_IMAP_PRIVATE_H
#define TERN_IMAP_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "imap-parse.h"
#include "tern/core.h"
#include "tern/driver.h"
#include "tern/net.h"

/* Capabilities tern uses. */
#define IMAP_CAP_CONDSTORE 0x001
#define IMAP_CAP_QRESYNC 0x002
#define IMAP_CAP_UIDPLUS 0x004
#define IMAP_CAP_MOVE 0x008
#define IMAP_CAP_LIST_STATUS 0x010
#define IMAP_CAP_SPECIAL_USE 0x020
#define IMAP_CAP_ESEARCH 0x040
#define IMAP_CAP_LITERALPLUS 0x080
#define IMAP_CAP_IDLE 0x100
#define IMAP_CAP_QUOTA 0x200
#define IMAP_CAP_ENABLE 0x400
#define IMAP_CAP_IMAP4REV2 0x800
#define IMAP_CAP_NAMESPACE 0x1000
#define IMAP_CAP_NOTIFY 0x2000

/* How many commands may wait for their completion at once. */
#define IMAP_MAX_INFLIGHT 8

enum imap_status { IMAP_PENDING, IMAP_OK, IMAP_NO, IMAP_BAD };

/*
 * Called for each untagged response while commands run; return -1 with
 * cause to abort (the connection is then unusable).
 */
typedef int (*imap_untagged_cb)(
    void *arg, const struct imap_resp *r, char **cause);

/* A command sent and, once done, its completion. */
struct imap_cmd {
	unsigned tag;
	enum imap_status status;
	char *text; /* the completion's text */
	char *code; /* its [response code] as "WORD arg arg", or NULL */
	/*
	 * The FETCH responses the command asked for, with their own parse
	 * context: the oldest command in flight that has one gets each
	 * (imap_fetch_owner). NULL: FETCH is news from the server.
	 */
	imap_untagged_cb on_fetch;
	void *fetch_arg;
	struct imap_cmd *next;
};

struct imap_conn {
	struct net_conn *net;
	/*
	 * DRV_OK while the connection is usable; once a read or write failed
	 * (DRV_CONN) or a reply could not be read (DRV_PROTO), the class.
	 */
	enum drv_err err;
	int refused; /* a command sent last was answered NO or BAD */
	struct imap_parser *parser;
	char *rbuf;
	size_t rlen, roff;
	unsigned next_tag;
	struct imap_cmd *inflight; /* oldest first */
	size_t ninflight;
	unsigned caps;
	int enabled_qresync;
	int enabled_condstore;
	int continuation; /* a '+' arrived */
	int notifying; /* NOTIFY SET was accepted on this connection */
	int bye;
	char delim; /* hierarchy delimiter, 0 if none */
	/*
	 * The personal namespace's prefix (RFC 2342: "INBOX." on Courier),
	 * "" if none: new folders go under it, and it is not shown.
	 */
	char *prefix;
	size_t max_body; /* the literal limit when a body is fetched */
	imap_untagged_cb untagged;
	void *arg;
	char *peer;
};

/*
 * Literals are held to IMAP_MAX_LITERAL but while a body is fetched
 * (imap_allow_bodies), when max_message_size (or 256 MiB) applies.
 */
#define IMAP_MAX_LITERAL (1024 * 1024)
void imap_allow_bodies(struct imap_conn *c, int on);

/*
 * Connect, log in, learn capabilities and ENABLE what tern uses. Warnings
 * of the connection (plaintext, no certificate check) go to note with
 * arg, or stderr when it is NULL. Returns 0, or with cause -1,
 * NET_ERR_AUTH (the login refused) or OAUTH_LOGIN (`tern login` needed).
 */
int imap_open(struct rc_account *a, void (*note)(void *, const char *),
    void *note_arg, struct imap_conn **cp, char **cause);
void imap_close(struct imap_conn **cp);
/* Send LOGOUT (best effort) and close. */
void imap_logout(struct imap_conn **cp);
/*
 * Nothing in flight, nothing read and not parsed, and nothing from the
 * server waiting on the socket (no BYE, no close): the connection can be
 * kept for another command later.
 */
int imap_quiet(struct imap_conn *c);

/*
 * Send a command (the tag is added); waits first if too many are in
 * flight. The command belongs to the connection until imap_cmd_free().
 */
struct imap_cmd *imap_send(
    struct imap_conn *c, char **cause, const char *fmt, ...) TERN_PRINTF(3, 4);
/*
 * The same for a command whose FETCH responses go to on_fetch with arg
 * (a UID FETCH, a SELECT with QRESYNC).
 */
struct imap_cmd *imap_send_fetch(struct imap_conn *c, imap_untagged_cb on_fetch,
    void *arg, char **cause, const char *fmt, ...) TERN_PRINTF(5, 6);
/* The oldest command in flight that takes FETCH responses, or NULL. */
const struct imap_cmd *imap_fetch_owner(const struct imap_conn *c);
/* Send raw bytes (continuation data, DONE). */
int imap_send_raw(struct imap_conn *c, const char *s, char **cause);
/* Read until cmd has completed; -1 on a connection or protocol error. */
int imap_wait(struct imap_conn *c, struct imap_cmd *cmd, char **cause);
/* Read and dispatch responses until none is in flight. */
int imap_wait_all(struct imap_conn *c, char **cause);
/*
 * Read and dispatch what arrives within timeout_ms (-1: for ever), or until
 * wakefd is readable. Returns 1 if something was read, 0 on timeout/wake.
 */
int imap_poll(struct imap_conn *c, int timeout_ms, int wakefd, char **cause);
void imap_cmd_free(struct imap_cmd **cmdp);
/*
 * The class of the last failure on c: its connection's when it failed
 * (DRV_CONN, DRV_PROTO), else DRV_REFUSED when the server said NO or BAD
 * to a command sent last, else DRV_STORE (the caller's own work failed).
 */
enum drv_err imap_err(const struct imap_conn *c);
/* Send, wait, require OK; -1 with cause (server's text) otherwise. */
int imap_simple(struct imap_conn *c, char **cause, const char *fmt, ...)
    TERN_PRINTF(3, 4);
/* imap_simple with the command's FETCH responses going to on_fetch. */
int imap_simple_fetch(struct imap_conn *c, imap_untagged_cb on_fetch, void *arg,
    char **cause, const char *fmt, ...) TERN_PRINTF(5, 6);

/* s as a quoted string, unchanged otherwise (malloc'd). */
char *imap_quote(const char *s);
/*
 * tern's folder names nest with '/'; on the wire with the server's
 * hierarchy delimiter (0: none known), in modified UTF-7. A name learned
 * from LIST is sent back as the server spelled it (which need not survive
 * a decode and encode); these are for names the user types and for
 * display.
 */
char *imap_name_to_wire(const char *name, char delim, const char *prefix);
/*
 * The quoted wire name of tern's folder name from the store: the server's
 * own spelling stored from LIST while it still names this folder, else
 * the name encoded with delim. Malloc'd.
 */
struct store;
char *imap_wire_stored(struct store *s, int64_t account_id, char delim,
    const char *prefix, const char *name);
char *imap_name_from_wire(const char *wire, char delim, const char *prefix);
char *imap_utf7_encode(const char *name);
char *imap_utf7_decode(const char *name);

/* A sorted set of UIDs. */
/* The most UIDs a set holds (a longer one is refused). */
#define IMAP_UIDSET_MAX (4u * 1024 * 1024)
struct imap_uidset {
	uint32_t *v;
	size_t n, cap;
};
void imap_uidset_add(struct imap_uidset *s, uint32_t uid);
void imap_uidset_free(struct imap_uidset *s);
void imap_uidset_sort(struct imap_uidset *s);
/* Parse "1:5,7,9:*" (star as max) into s; -1 on a bad or huge set. */
int imap_uidset_parse(struct imap_uidset *s, const char *set, uint32_t star);
/* Append v[0..n) (sorted) as a compact sequence set to out. */
void imap_uidset_format(struct buf *out, const uint32_t *v, size_t n);

/*
 * The UID that ends a response code's arguments ("APPENDUID 7 42",
 * COPYUID's "7 3 42"), 0 if it is not one UID (a set, or nothing).
 */
uint32_t imap_last_uid(const char *s);

/* Server flags (a FLAGS list) to store flags and a keyword string. */
void imap_flags_parse(
    const struct imap_resp *r, size_t list, unsigned *flags, char **keywords);
/* Store flag bits as an IMAP flag list body ("\Seen \Flagged"). */
void imap_flags_format(struct buf *out, unsigned flags);

/*
 * APPEND raw to the quoted mailbox q with flags (STORE_F_*) and
 * internaldate when (0: the server's clock). 0 done; 1 refused, *cause
 * the server's text; -1 connection error with cause.
 */
int imap_append(struct imap_conn *c, const char *q, const char *raw, size_t len,
    unsigned flags, int64_t when, uint32_t *uid, char **cause);
/*
 * Replay a queued "append" or "append-move" (store.h) to the quoted
 * mailbox q (NULL: p->folder encoded): 0 when done or
 * nothing is left to do, -1 with cause (" failed: " when the server
 * refused, which keeps the op queued).
 */
int imap_append_replay(struct imap_conn *c, struct store *s,
    const struct store_pending *p, const char *q, char **cause);

/* The driver's search (search.c). */
struct pattern;
int imap_search(struct tern *t, struct rc_account *a, const char *folder,
    const struct pattern *p, uint32_t **uids, size_t *n, char **cause);

/*
 * Bodies on demand (body.c): a message's BODYSTRUCTURE, the sections a
 * view needs, and the skeleton message built from them (see there).
 */
#define IMAP_VIEW_MAX_DEPTH 32 /* nesting of parts */
#define IMAP_VIEW_MAX_PARTS 1000
#define IMAP_VIEW_MAX_SIZE (UINT64_C(1) << 40) /* a part's octets */
#define IMAP_VIEW_MAX_TEXT (16 * 1024 * 1024) /* text fetched for a view */
/* The field that marks a part not downloaded (mime_parse_view). */
#define IMAP_VIEW_FIELD MIME_VIEW_FIELD

struct imap_view;
struct imap_view *imap_view_new(void);
void imap_view_free(struct imap_view **vp);
/* Read the BODYSTRUCTURE at item i; -1 (imap_view_error says why). */
int imap_view_structure(
    struct imap_view *v, const struct imap_resp *r, size_t i);
const char *imap_view_error(const struct imap_view *v);
/* A structure was read. */
int imap_view_ready(const struct imap_view *v);
/*
 * Take what a FETCH response's list (item list) carries: BODYSTRUCTURE
 * and BODY[section] items.
 */
int imap_view_on_fetch(
    struct imap_view *v, const struct imap_resp *r, size_t list, char **cause);
/* Keep data as the bytes of section. */
void imap_view_add(
    struct imap_view *v, const char *section, const char *data, size_t len);
/* The bytes the server sent for section, or NULL. */
const struct buf *imap_view_get(const struct imap_view *v, const char *section);
/* The FETCH items the view still needs (" BODY.PEEK[1.MIME] ..."). */
void imap_view_items(const struct imap_view *v, struct buf *out);
/* Append the skeleton message to out. */
int imap_view_skeleton(
    const struct imap_view *v, struct buf *out, char **cause);

#endif
