/*
 * Internals shared by the files of the full-screen client.
 */
#ifndef TERN_UI_PRIVATE_H
#define TERN_UI_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tern/core.h"
#include "tern/store.h"
#include "tern/ui.h"

/* Elements a theme colours. */
enum ui_elem {
	UI_C_STATUS,
	UI_C_INDEX,
	UI_C_INDEX_NEW,
	UI_C_INDEX_FLAG,
	UI_C_INDEX_DEL,
	UI_C_CURSOR,
	UI_C_HEADER,
	UI_C_QUOTE,
	UI_C_ATTACHMENT,
	UI_C_SIDEBAR,
	UI_C_SIDEBAR_SEL,
	UI_C_ERROR,
	UI_C_TITLE,
	UI_C_SEARCH,
	/* The pager: quote levels 1, 2, 3 (then 1 again), the signature,
	 * header field names, the mark of a continued line. */
	UI_C_QUOTED1,
	UI_C_QUOTED2,
	UI_C_QUOTED3,
	UI_C_SIGNATURE,
	UI_C_HEADER_NAME,
	UI_C_MARKER,
	UI_C_COUNT
};

/* Key maps. */
enum ui_map {
	UI_MAP_INDEX,
	UI_MAP_PAGER,
	UI_MAP_FOLDERS,
	UI_MAP_COMPOSE,
	UI_MAP_COUNT
};

/* Functions keys are bound to. */
enum ui_fn {
	UI_FN_NONE,
	UI_FN_NEXT,
	UI_FN_PREV,
	UI_FN_PAGE_DOWN,
	UI_FN_PAGE_UP,
	UI_FN_HALF_DOWN,
	UI_FN_HALF_UP,
	UI_FN_FIRST,
	UI_FN_LAST,
	UI_FN_OPEN,
	UI_FN_QUIT,
	UI_FN_EXIT,
	UI_FN_CHANGE_FOLDER,
	UI_FN_SEARCH,
	UI_FN_SEARCH_REVERSE,
	UI_FN_SEARCH_NEXT,
	UI_FN_SEARCH_PREV,
	UI_FN_LIMIT,
	UI_FN_DELETE,
	UI_FN_UNDELETE,
	UI_FN_SYNC,
	UI_FN_SAVE,
	UI_FN_FLAG,
	UI_FN_TOGGLE_NEW,
	UI_FN_REPLY,
	UI_FN_GROUP_REPLY,
	UI_FN_LIST_REPLY,
	UI_FN_FORWARD,
	UI_FN_FORWARD_ATTACH,
	UI_FN_COMPOSE,
	UI_FN_REDRAW,
	UI_FN_HELP,
	UI_FN_SORT,
	UI_FN_SORT_REVERSE,
	UI_FN_THREADS,
	UI_FN_SIDEBAR,
	UI_FN_NEXT_MESSAGE,
	UI_FN_PREV_MESSAGE,
	UI_FN_NEXT_UNREAD,
	UI_FN_FULL_HEADERS,
	UI_FN_NEXT_FOLDER,
	UI_FN_PREV_FOLDER,
	UI_FN_SAVE_ATTACHMENT,
	UI_FN_OPEN_ATTACHMENT,
	UI_FN_EDIT_TO,
	UI_FN_EDIT_CC,
	UI_FN_EDIT_BCC,
	UI_FN_EDIT_SUBJECT,
	UI_FN_ATTACH_FILE,
	UI_FN_DETACH_FILE,
	UI_FN_EDIT_MESSAGE,
	UI_FN_SEND_MESSAGE,
	UI_FN_POSTPONE_MESSAGE,
	UI_FN_SECURITY,
	UI_FN_KEYWORDS,
	UI_FN_SHOW_LOG,
	UI_FN_LOGIN,
	UI_FN_TAG,
	UI_FN_TAG_PATTERN,
	UI_FN_UNTAG_PATTERN,
	UI_FN_TAG_PREFIX,
	UI_FN_COPY,
	UI_FN_COLLAPSE_THREAD,
	UI_FN_COLLAPSE_ALL,
	UI_FN_DELETE_THREAD,
	UI_FN_UNDELETE_THREAD,
	UI_FN_READ_THREAD,
	UI_FN_SAVE_THREAD,
	UI_FN_PIPE,
	UI_FN_RECALL,
	UI_FN_MARK_SEEN, /* internal: the pager's message was read */
	UI_FN_COUNT
};

/* Worker -> ui events. */
enum ui_ev_kind {
	UI_EV_PROGRESS,
	UI_EV_ONLINE,
	UI_EV_SYNCED,
	UI_EV_ERROR,
	UI_EV_FETCHED,
	UI_EV_FETCH_FAILED,
	UI_EV_INDEX, /* the loader's answer: ids (and depth) in order */
	UI_EV_NOTE, /* a line for the message line (done: an error) */
	UI_EV_SEARCHED, /* server search: ids in folder msg_id, or text */
	UI_EV_PART_FETCHED, /* a part (section) of msg_id is stored */
	UI_EV_PART_FAILED, /* ...could not be: text says why */
	UI_EV_STORED, /* the sync stored what should show at once */
	UI_EV_INDEXED, /* the search indexer indexed done messages */
	UI_EV_STATE, /* msg_id: an enum sync_state; done: retry in ms */
};

/* What an account's connection is doing, as the status line says it. */
enum ui_conn {
	UI_CONN_CONNECTING,
	UI_CONN_SYNCING,
	UI_CONN_IDLE,
	UI_CONN_OFFLINE, /* cannot reach the server */
	UI_CONN_ERROR, /* the server refused the login */
};

struct ui_event {
	enum ui_ev_kind kind;
	size_t account;
	int64_t msg_id;
	uint64_t done, total;
	char *text; /* malloc'd: what, summary or error */
	uint64_t gen;
	int64_t *ids;
	uint8_t *depth;
	size_t n;
	char *section; /* UI_EV_PART_*: the part */
	int whole; /* UI_EV_NOTE: text names the account itself */
	int quiet; /* UI_EV_NOTE: for the log view only */
	struct ui_event *next;
};

struct ui_worker;
struct ui_loader;
struct ui_indexer;
struct mime_msg;

struct ui_account {
	char *name;
	struct rc_account *rc; /* NULL: local or store-only */
	int64_t id;
	const struct driver_ops *drv;
	struct ui_worker *w;
	int online;
	int syncing;
	enum ui_conn conn;
	time_t offline_since; /* when it went offline, 0 if online */
	uint64_t retry_at; /* ms: the next attempt, 0 if none is waited for */
	char *what;
	uint64_t done, total;
	char *error;
	int64_t quota_used, quota_limit;
};

/*
 * A change the store could not take at once because another connection
 * held it for a while (the account's own worker storing a batch, or
 * another tern): kept, in order, and tried again until it goes in, so
 * that the screen never waits for the store.
 */
struct ui_deferred {
	int purge; /* purge the folder; else change the flags of uid */
	char *spec; /* "account/folder" */
	size_t account;
	uint32_t uid;
	struct core_flag_change c;
};
/* How long a change of the client waits for the store, at most. */
#define UI_STORE_WAIT_MS 200
/* How often a deferred change is tried again. */
#define UI_DEFER_RETRY_MS 250

struct ui_folder {
	size_t account;
	int64_t id;
	char *name;
	int64_t total, unseen; /* -1 until counted */
	int stale; /* counts to be taken again */
	int64_t matches; /* of the folder list's search; -1: not searched */
};

/* The row cache: the rows on screen, keyed by message id. */
#define UI_ROWCACHE 512

struct ui_pager {
	int64_t id;
	char *text; /* rendered, visible text */
	size_t *lines; /* offsets of line starts */
	uint8_t *kinds; /* what each line is (pager.c's PL_*) */
	size_t nlines;
	size_t top;
	int full_headers;
	int loading;
	int failed;
	size_t hit; /* line of the last search hit + 1, 0 if none */
	int width; /* the lines were cut for this width */
	struct mime_msg *mm; /* the parsed message, for its attachments */
	size_t natt;
	int shown; /* the body (or its view) is on screen */
	/* An attachment being downloaded to save (into pend_dir) or open. */
	char *pend_section;
	char *pend_dir;
	int pend_open;
	/* The words of the limit or search, folded as the index folds
	 * them ('*' at the end: a prefix), shown highlighted; or NULL. */
	char **hl;
};

enum ui_mode { UI_INDEX, UI_PAGER, UI_HELP, UI_LOG, UI_FIRSTRUN };

/* Notes and errors the message line showed, kept for the log view. */
#define UI_NOTES_MAX 200

struct ui_bind {
	int key;
	enum ui_fn fn;
};

struct ui {
	struct tern *t;
	struct store *s;
	FILE *log;
	uint64_t t0;
	int demo;
	/* The demo's sender: what it sends stays in its Sent folder. */
	struct rc_account demo_from;

	struct ui_account *accts;
	size_t naccts;
	struct ui_folder *folders;
	size_t nfolders;
	size_t fcur; /* open folder */
	size_t fsel; /* sidebar cursor */
	size_t count_next; /* next folder ui_folders_count_more() counts */
	int folders_focus;
	char *fsearch; /* the folder list's search of an account, or NULL */
	size_t fsearch_account;
	int sidebar;

	int64_t *ids;
	uint8_t *depth; /* threaded view: nesting of each row, else NULL */
	size_t nids;
	/*
	 * The threaded view whole (every thread expanded), ids and depth as
	 * ui_order_ids gives them; ids/depth above are what shows of it, a
	 * collapsed thread as its first row, hidden[] counting the rows it
	 * hides (NULL: none collapsed). collapsed: the first ids of the
	 * collapsed threads, sorted.
	 */
	int64_t *tids;
	uint8_t *tdepth;
	size_t ntids;
	uint32_t *hidden;
	int64_t *collapsed;
	size_t ncollapsed;
	/* Tagged messages of the open folder's view, ids sorted. */
	int64_t *tags;
	size_t ntags;
	int tag_prefix; /* ';' pressed: the next action is for the tags */
	size_t cur, top;
	enum store_sort sort;
	int reverse;
	int threaded;
	char *limit;
	/* Messages the server found for the limit (its bodies were never
	 * downloaded), shown besides the store's matches; limit_gen names
	 * the server search whose answer counts. */
	int64_t *limit_extra;
	size_t nlimit_extra;
	uint64_t limit_gen;
	/* While partial, older rows than ids[0] are still to be loaded;
	 * (lo_key, lo_id) is ids[0]'s sort key, where loading continues.
	 * partial_hi and (hi_key, hi_id): the same for newer rows than the
	 * last of ids (after a jump to the first message or to a match). */
	int partial, partial_hi;
	int no_preload; /* TERN_UI_NO_PRELOAD: not loaded between keys */
	int64_t lo_key, lo_id, hi_key, hi_id;
	int64_t ids_folder; /* the folder ids[] belongs to */
	uint64_t load_gen; /* the index load the loader's answer must match */
	int loading_index; /* a load is on its way from the loader */
	uint64_t load_t0;
	uint64_t answered_us; /* when the last prompt was answered */
	int64_t load_keep; /* keep the cursor on this one when it comes */
	int64_t load_cur_id; /* ...if the cursor is still on this one */
	struct ui_loader *loader;
	struct ui_indexer *indexer;
	struct store_index_row cache[UI_ROWCACHE];

	enum ui_mode mode, prev_mode;
	struct ui_pager pager;
	size_t help_top;

	char *search;
	char *msg;
	int msg_error;
	/* The last UI_NOTES_MAX messages, oldest first from notes_head:
	 * "HH:MM:SS text", errors marked. */
	char *notes[UI_NOTES_MAX];
	size_t nnotes, notes_head;
	uint64_t msg_at; /* when msg was set (ms) */
	int changes; /* changes made in this session */
	struct ui_deferred *deferred;
	size_t ndeferred;
	uint64_t deferred_at; /* last try (ms) */
	int64_t data_version;
	int poked; /* a worker said something since the store was looked at */
	int64_t newest; /* the highest message id the index has taken in */
	uint64_t last_check;

	int colors;
	int attr[UI_C_COUNT];
	struct ui_bind *binds[UI_MAP_COUNT];
	size_t nbinds[UI_MAP_COUNT];

	char *tmpdir; /* attachments opened this session, removed at exit */
	int saved_stderr; /* the real stderr, for programs run in the open */
	int log_stderr; /* where stderr went while such a program ran */

	int evpipe[2];
	pthread_mutex_t evlock;
	struct ui_event *evhead, **evtail;

	int dirty;
	int quit;
};

/* ui.c */
/* Monotonic microseconds, for the event log. */
uint64_t ui_now_us(void);
void ui_log(struct ui *u, const char *fmt, ...) TERN_PRINTF(2, 3);
/* The store as now loaded: what another connection commits later is new. */
void ui_store_loaded(struct ui *u);
void ui_message(struct ui *u, int error, const char *fmt, ...)
    TERN_PRINTF(3, 4);
/* Into the log view only: the message line keeps what it says. */
void ui_note(struct ui *u, int error, const char *fmt, ...) TERN_PRINTF(3, 4);
/* The log view: every kept note, whole, wrapped, newest last. */
void ui_notes_draw(struct ui *u, int y, int h, int w);
void ui_notes_free(struct ui *u);
/* Put s (UTF-8) at y, x clipped and padded to width columns. */
void ui_put(int y, int x, int width, const char *s, int attr);
/* ui_put, but a text too wide is cut at the end of a word, with "…". */
void ui_put_cut(int y, int x, int width, const char *s, int attr);
/* Read a key: a wide character, or UI_KEYCODE|KEY_x; -1 if none. */
int ui_getkey(void);
/* ui_prompt's complete: what Tab completes (0: nothing). */
#define UI_COMPLETE_FOLDER 1 /* a folder of the open account */
#define UI_COMPLETE_ADDRESS 2 /* the last address, from the senders */
#define UI_COMPLETE_PATH 3 /* a file's or directory's path */
int ui_prompt(struct ui *u, const char *prompt, const char *init, int complete,
    char **out);
int ui_confirm(struct ui *u, const char *question);

/* index.c */
void ui_index_load(struct ui *u, int keep);
void ui_index_draw(struct ui *u, int y, int x, int h, int w);
const struct store_index_row *ui_index_row(struct ui *u, size_t pos);
void ui_index_cache_clear(struct ui *u);
/* Folders this big are sorted and threaded by the background loader. */
#define UI_ASYNC_MIN 20000
/*
 * A threaded order's depth byte: the nesting (UI_DEPTH_MASK), and
 * UI_THREAD_START on the first row of each thread.
 */
#define UI_THREAD_START 0x80
#define UI_DEPTH_MASK 0x7f
/*
 * Thread a folder's messages (only those in keep[0..nkeep), sorted, when
 * keep is not NULL) with mime_thread: threads ordered as units by sort
 * (date: their newest message; size: their largest; from, subject: their
 * first message), reverse turning that order around. Pure of ui state,
 * so the background loader can run it on its own store handle.
 */
int ui_thread_order(struct store *s, int64_t folder_id, enum store_sort sort,
    int reverse, const int64_t *keep, size_t nkeep, int64_t **idsp,
    uint8_t **depthp, size_t *np, char **cause);
/* The ids of a folder's messages that match a pattern's text, in order. */
int ui_match_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    const char *text, int64_t **ids, size_t *n, char **cause);
/*
 * The folder's ids as shown: limit is a pattern; extra (NULL: the server
 * has not answered) its server's matches.
 */
int ui_order_ids(struct store *s, int64_t folder_id, enum store_sort sort,
    int reverse, int threaded, const char *limit, const int64_t *extra,
    size_t nextra, int64_t **idsp, uint8_t **depthp, size_t *np, char **cause);
/* Take ids (and depth) as the index, the cursor kept on keep_id. */
void ui_index_install(struct ui *u, int64_t *ids, uint8_t *depth, size_t n,
    int64_t keep_id, size_t row);
/* The loader's answer to load gen (ids or an error; all owned). */
void ui_index_loaded(struct ui *u, uint64_t gen, int64_t *ids, uint8_t *depth,
    size_t n, char *error);
/* Load one more chunk of a partly loaded index; 1 if more remain. */
int ui_index_more(struct ui *u);
/* Load the rest of a partly loaded index now. */
void ui_index_complete(struct ui *u);
void ui_index_free(struct ui *u);
int ui_index_key(struct ui *u, enum ui_fn fn);
/* tags.c: is message id tagged? */
int ui_tagged(struct ui *u, int64_t id);
void ui_tags_clear(struct ui *u);
/* Tag or untag the message under the cursor, then move down. */
void ui_tag_current(struct ui *u);
/* Tag (on) or untag the messages matching a pattern asked for. */
void ui_tag_pattern(struct ui *u, int on);
/*
 * The tagged messages the view shows (under a limit, those it lets
 * through; collapsed threads count whole), sorted, malloc'd; how many.
 */
size_t ui_tags_shown(struct ui *u, int64_t **ids);
/* Untag ids[0..n), sorted. */
void ui_tags_drop(struct ui *u, const int64_t *ids, size_t n);
/* Collapse or expand the current thread (all: every thread). */
void ui_thread_collapse(struct ui *u, int all);
/*
 * The ids of the thread the row pos is in, as the threaded view has it
 * (collapsed rows too), malloc'd; -1 with cause.
 */
int ui_thread_members(
    struct ui *u, size_t pos, int64_t **ids, size_t *n, char **cause);
int ui_index_search(struct ui *u, const char *pat, int dir, size_t from);

/* pager.c */
void ui_pager_open(struct ui *u, int64_t id);
void ui_pager_reload(struct ui *u);
void ui_pager_draw(struct ui *u, int y, int h, int w);
void ui_pager_free(struct ui *u);
int ui_pager_key(struct ui *u, enum ui_fn fn);

/* folders.c */
void ui_folders_load(struct ui *u);
void ui_folders_free(struct ui *u);
void ui_folders_draw(struct ui *u, int y, int x, int h, int w);
/* Forget the folder list's search. */
void ui_folders_search_clear(struct ui *u);
int ui_folders_key(struct ui *u, enum ui_fn fn);
void ui_folder_open(struct ui *u, size_t i);
int ui_folders_count_more(struct ui *u);
void ui_folder_count(struct ui *u, size_t i);
/* "account/folder" of the open folder, malloc'd. */
char *ui_folder_spec(struct ui *u, size_t i);
ssize_t ui_folder_find(struct ui *u, size_t account, const char *name);

/* actions.c: try the deferred changes again; every one that goes in is
 * shown. */
void ui_deferred_retry(struct ui *u);
void ui_deferred_free(struct ui *u);

/* keys.c */
void ui_keys_init(struct ui *u);
void ui_keys_free(struct ui *u);
enum ui_fn ui_key_fn(struct ui *u, enum ui_map map, int key);
const char *ui_key_name(int key, char *buf, size_t len);
/* The name a function is bound by in the rc ("delete-message"). */
const char *ui_fn_name(enum ui_fn fn);
void ui_help_draw(struct ui *u, int y, int h, int w);
int ui_help_key(struct ui *u, enum ui_fn fn);

/* notify.c: run set new_mail_command for count new messages, without
 * waiting for it. */
void ui_new_mail_command(
    struct ui *u, const char *account, const char *folder, int64_t count);

/* theme.c */
int ui_theme_load(struct ui *u, const char *name, char **cause);

/* attach.c */
void ui_attachment(struct ui *u, int open);
/* The worker's answer for the attachment asked for (error NULL: stored). */
void ui_attachment_fetched(
    struct ui *u, int64_t msg_id, const char *section, const char *error);
void ui_attach_cleanup(struct ui *u);
/* A new private directory what-XXXXXX in the session's (NULL, with a
 * message, if it cannot be made); ui_tmp_remove removes it, and frees
 * the name. */
char *ui_tmp_subdir(struct ui *u, const char *what);
void ui_tmp_remove(char *dir);

/* demo.c: keep a message the demo sent or postponed in the local
 * folder (Sent, Drafts): nothing leaves the machine. */
int ui_demo_keep(struct ui *u, const char *folder, const char *raw, size_t len,
    char **cause);

/* compose.c */
void ui_compose(struct ui *u, enum ui_fn fn);
/*
 * Pipe the raw message under the cursor (ids NULL) or ids[0..n) one
 * after the other, in mbox form, to a shell command asked for.
 */
void ui_pipe(struct ui *u, const int64_t *ids, size_t n);
/* Pick a postponed draft of the account's Drafts and edit it again. */
void ui_recall(struct ui *u);
/* The draft being edited again: removed from spec when sent or postponed. */
struct ui_recalled {
	struct rc_account *account;
	const char *spec; /* "account/Drafts" */
	uint32_t uid;
};
/* Edit message id (a draft) again, sent from rec's account. */
void ui_compose_recalled(
    struct ui *u, int64_t id, const struct ui_recalled *rec);
/* Forward messages ids[0..n), each attached whole, in one new message. */
void ui_compose_forward_many(struct ui *u, const int64_t *ids, size_t n);
/* Give the terminal to a program (editor, opener) and take it back. */
void ui_shell_begin(struct ui *u);
void ui_shell_end(struct ui *u);
/*
 * Ready the crypto context for the terminal: the client steps aside
 * while gpg-agent's pinentry may ask for a passphrase on it
 * (ui_shell_begin/ui_shell_end around each use of a key).
 */
void ui_crypto_setup(struct ui *u);

/* actions.c */
void ui_act(struct ui *u, enum ui_fn fn);
/* Change the flags of the message under the cursor (or in the pager). */
int ui_flag_current(struct ui *u, unsigned add, unsigned del);

/* loader.c */
int ui_loader_request(struct ui *u, int64_t folder_id);
void ui_loader_stop(struct ui *u);
/* indexer.c: the search index filled in the background. */
void ui_indexer_start(struct ui *u);
void ui_indexer_stop(struct ui *u);
/* Messages the search index lacked when last looked at (-1: not yet). */
int64_t ui_indexer_pending(struct ui *u);
/* Is the indexer filling the index (its commits are no news)? */
int ui_indexer_busy(struct ui *u);

/* worker.c */
void ui_post_event(struct ui *u, struct ui_event *ev);
void ui_workers_start(struct ui *u);
void ui_workers_stop(struct ui *u);
/* Wake the workers that hold an account's sync lock a tern sync waits
 * for: they let go of it. */
void ui_workers_yield(struct ui *u);
void ui_worker_sync_now(struct ui *u, size_t account);
int ui_worker_fetch(struct ui *u, size_t account, int64_t msg_id);
/* Download one part of a message (a view's attachment); -1 if it cannot. */
int ui_worker_fetch_part(
    struct ui *u, size_t account, int64_t msg_id, const char *section);
/*
 * Ask the account's worker to search the server's folder for text; the
 * answer comes as UI_EV_SEARCHED with gen. -1 if the account cannot.
 */
int ui_worker_search(struct ui *u, size_t account, int64_t folder_id,
    const char *folder, const char *text, uint64_t gen);
/* actions.c: forget the server's matches of the limit. */
void ui_limit_extra_clear(struct ui *u);
/* Limit the open folder to pattern pat (NULL: none), the server asked too. */
void ui_limit_apply(struct ui *u, char *pat);
/* actions.c: the server's answer for the limit (ids owned). */
void ui_limit_searched(struct ui *u, uint64_t gen, int64_t folder_id,
    int64_t *ids, size_t n, const char *error);
/* The worker of the account with this rc block, or -1 if none. */
ssize_t ui_account_of_rc(struct ui *u, const struct rc_account *a);
void ui_events_drain(struct ui *u);

#endif
