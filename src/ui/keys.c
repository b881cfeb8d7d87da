/*
 * Key bindings: the defaults a mutt or vi user expects, overridden by the
 * rc's "bind MAP KEY FUNCTION" lines, and the help screen that lists the
 * bindings as they are now.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "ui-private.h"

#define UI_KEYCODE 0x40000000
#define CTRL(c) ((c)&0x1f)

static const struct {
	const char *name;
	const char *help;
} fns[UI_FN_COUNT] = {
	[UI_FN_NONE] = { "noop", "do nothing" },
	[UI_FN_NEXT] = { "next-entry", "move down one line" },
	[UI_FN_PREV] = { "previous-entry", "move up one line" },
	[UI_FN_PAGE_DOWN] = { "next-page", "move down one page" },
	[UI_FN_PAGE_UP] = { "previous-page", "move up one page" },
	[UI_FN_HALF_DOWN] = { "half-down", "move down half a page" },
	[UI_FN_HALF_UP] = { "half-up", "move up half a page" },
	[UI_FN_FIRST] = { "first-entry", "go to the first line" },
	[UI_FN_LAST] = { "last-entry", "go to the last line" },
	[UI_FN_OPEN] = { "display-message", "open the message or folder" },
	[UI_FN_QUIT] = { "quit", "go back; in the index, quit tern" },
	[UI_FN_EXIT] = { "exit", "quit tern at once" },
	[UI_FN_CHANGE_FOLDER] = { "change-folder",
	    "choose another folder in the folder list" },
	[UI_FN_SEARCH] = { "search", "search forward" },
	[UI_FN_SEARCH_REVERSE] = { "search-reverse", "search backward" },
	[UI_FN_SEARCH_NEXT] = { "search-next", "next match" },
	[UI_FN_SEARCH_PREV] = { "search-opposite",
	    "previous match (N toggles new, as in mutt)" },
	[UI_FN_LIMIT] = { "limit",
	    "show only messages matching a pattern (empty: all)" },
	[UI_FN_DELETE] = { "delete-message", "mark for deletion" },
	[UI_FN_UNDELETE] = { "undelete-message", "remove the deletion mark" },
	[UI_FN_SYNC] = { "sync-mailbox",
	    "purge deleted messages and sync now" },
	[UI_FN_SAVE] = { "save-message", "move to another folder" },
	[UI_FN_FLAG] = { "flag-message", "toggle the flagged mark" },
	[UI_FN_TOGGLE_NEW] = { "toggle-new", "toggle read/unread" },
	[UI_FN_REPLY] = { "reply", "reply to the sender" },
	[UI_FN_GROUP_REPLY] = { "group-reply", "reply to all recipients" },
	[UI_FN_LIST_REPLY] = { "list-reply",
	    "reply to the mailing list (List-Post, or lists/subscribe)" },
	[UI_FN_FORWARD] = { "forward-message", "forward the message" },
	[UI_FN_FORWARD_ATTACH] = { "forward-attachment",
	    "forward the message as an attachment" },
	[UI_FN_COMPOSE] = { "mail", "compose a new message" },
	[UI_FN_REDRAW] = { "redraw-screen", "clear and redraw the screen" },
	[UI_FN_HELP] = { "help", "this screen" },
	[UI_FN_SORT] = { "sort-mailbox",
	    "sort by date, sender, subject, size" },
	[UI_FN_SORT_REVERSE] = { "sort-reverse", "reverse the sort order" },
	[UI_FN_THREADS] = { "toggle-threads", "threaded or flat view" },
	[UI_FN_SIDEBAR] = { "sidebar-toggle", "show or hide the folder list" },
	[UI_FN_NEXT_MESSAGE] = { "next-message",
	    "show the next message (pager)" },
	[UI_FN_PREV_MESSAGE] = { "previous-message",
	    "show the previous message (pager)" },
	[UI_FN_NEXT_UNREAD] = { "next-new", "go to the next new message" },
	[UI_FN_FULL_HEADERS] = { "display-toggle-weed",
	    "show all header fields or the usual few" },
	[UI_FN_NEXT_FOLDER] = { "next-folder", "open the next folder" },
	[UI_FN_PREV_FOLDER] = { "previous-folder", "open the previous folder" },
	[UI_FN_SAVE_ATTACHMENT] = { "save-attachment",
	    "save an attachment into a directory" },
	[UI_FN_OPEN_ATTACHMENT] = { "open-attachment",
	    "open an attachment with xdg-open (or $TERN_OPENER)" },
	[UI_FN_EDIT_TO] = { "edit-to", "edit the To list (Tab completes)" },
	[UI_FN_EDIT_CC] = { "edit-cc", "edit the Cc list (Tab completes)" },
	[UI_FN_EDIT_BCC] = { "edit-bcc", "edit the Bcc list (Tab completes)" },
	[UI_FN_EDIT_SUBJECT] = { "edit-subject", "edit the subject" },
	[UI_FN_ATTACH_FILE] = { "attach-file", "attach a file" },
	[UI_FN_DETACH_FILE] = { "detach-file",
	    "remove the selected attachment" },
	[UI_FN_EDIT_MESSAGE] = { "edit-message",
	    "edit the message again in the editor" },
	[UI_FN_SEND_MESSAGE] = { "send-message",
	    "send the message (queued; sent in the background)" },
	[UI_FN_POSTPONE_MESSAGE] = { "postpone-message",
	    "keep the message in Drafts" },
	[UI_FN_SECURITY] = { "toggle-security",
	    "sign, encrypt, both or neither (OpenPGP, or S/MIME)" },
	[UI_FN_KEYWORDS] = { "edit-keywords",
	    "add or remove keywords: +WORD -WORD" },
	[UI_FN_SHOW_LOG] = { "show-log-messages",
	    "the recent notes and errors, whole" },
	[UI_FN_LOGIN] = { "oauth-login",
	    "sign the open folder's account in with OAuth 2.0 (tern login)" },
	[UI_FN_TAG] = { "tag-entry",
	    "tag or untag the message, then move down" },
	[UI_FN_TAG_PATTERN] = { "tag-pattern",
	    "tag the messages matching a pattern" },
	[UI_FN_UNTAG_PATTERN] = { "untag-pattern",
	    "untag the messages matching a pattern" },
	[UI_FN_TAG_PREFIX] = { "tag-prefix",
	    "apply the next action (d u F N s C A |) to the tagged"
	    " messages" },
	[UI_FN_COPY] = { "copy-message",
	    "copy to another folder (ACCOUNT/FOLDER: another account)" },
	[UI_FN_COLLAPSE_THREAD] = { "collapse-thread",
	    "collapse or expand the thread (threaded view)" },
	[UI_FN_COLLAPSE_ALL] = { "collapse-all",
	    "collapse or expand every thread (threaded view)" },
	[UI_FN_DELETE_THREAD] = { "delete-thread",
	    "mark every message of the thread for deletion" },
	[UI_FN_UNDELETE_THREAD] = { "undelete-thread",
	    "remove the deletion mark from the whole thread" },
	[UI_FN_READ_THREAD] = { "read-thread",
	    "mark every message of the thread read" },
	[UI_FN_SAVE_THREAD] = { "save-thread",
	    "move the whole thread to another folder" },
	[UI_FN_PIPE] = { "pipe-message",
	    "pipe the message (raw) to a shell command; ;| the tagged" },
	[UI_FN_RECALL] = { "recall-message",
	    "edit a postponed draft of the account's Drafts again" },
	[UI_FN_MARK_SEEN] = { "mark-read", "mark the message read" },
};

const char *
ui_fn_name(enum ui_fn fn)
{
	return fn < UI_FN_COUNT && fns[fn].name != NULL ? fns[fn].name : "noop";
}

static const char *const map_names[UI_MAP_COUNT] = { "index", "pager",
	"folders", "compose" };

struct defbind {
	enum ui_map map;
	const char *key;
	enum ui_fn fn;
};

static const struct defbind defaults[] = {
	{ UI_MAP_INDEX, "j", UI_FN_NEXT },
	{ UI_MAP_INDEX, "<Down>", UI_FN_NEXT },
	{ UI_MAP_INDEX, "k", UI_FN_PREV },
	{ UI_MAP_INDEX, "<Up>", UI_FN_PREV },
	{ UI_MAP_INDEX, "<PageDown>", UI_FN_PAGE_DOWN },
	{ UI_MAP_INDEX, "<Space>", UI_FN_PAGE_DOWN },
	{ UI_MAP_INDEX, "<PageUp>", UI_FN_PAGE_UP },
	{ UI_MAP_INDEX, "^D", UI_FN_HALF_DOWN },
	{ UI_MAP_INDEX, "^U", UI_FN_HALF_UP },
	{ UI_MAP_INDEX, "g", UI_FN_FIRST },
	{ UI_MAP_INDEX, "<Home>", UI_FN_FIRST },
	{ UI_MAP_INDEX, "G", UI_FN_LAST },
	{ UI_MAP_INDEX, "<End>", UI_FN_LAST },
	{ UI_MAP_INDEX, "<Enter>", UI_FN_OPEN },
	{ UI_MAP_INDEX, "q", UI_FN_QUIT },
	{ UI_MAP_INDEX, "x", UI_FN_EXIT },
	{ UI_MAP_INDEX, "c", UI_FN_CHANGE_FOLDER },
	{ UI_MAP_INDEX, "/", UI_FN_SEARCH },
	{ UI_MAP_INDEX, "?", UI_FN_HELP },
	{ UI_MAP_INDEX, "n", UI_FN_SEARCH_NEXT },
	{ UI_MAP_INDEX, "p", UI_FN_SEARCH_PREV },
	{ UI_MAP_INDEX, "l", UI_FN_LIMIT },
	{ UI_MAP_INDEX, "d", UI_FN_DELETE },
	{ UI_MAP_INDEX, "u", UI_FN_UNDELETE },
	{ UI_MAP_INDEX, "$", UI_FN_SYNC },
	{ UI_MAP_INDEX, "s", UI_FN_SAVE },
	{ UI_MAP_INDEX, "F", UI_FN_FLAG },
	{ UI_MAP_INDEX, "N", UI_FN_TOGGLE_NEW },
	{ UI_MAP_INDEX, "y", UI_FN_KEYWORDS },
	{ UI_MAP_INDEX, "r", UI_FN_REPLY },
	{ UI_MAP_INDEX, "R", UI_FN_GROUP_REPLY },
	{ UI_MAP_INDEX, "L", UI_FN_LIST_REPLY },
	{ UI_MAP_INDEX, "|", UI_FN_PIPE },
	{ UI_MAP_INDEX, "P", UI_FN_RECALL },
	{ UI_MAP_INDEX, "f", UI_FN_FORWARD },
	{ UI_MAP_INDEX, "A", UI_FN_FORWARD_ATTACH },
	{ UI_MAP_INDEX, "m", UI_FN_COMPOSE },
	{ UI_MAP_INDEX, "^L", UI_FN_REDRAW },
	{ UI_MAP_INDEX, "o", UI_FN_SORT },
	{ UI_MAP_INDEX, "O", UI_FN_SORT_REVERSE },
	{ UI_MAP_INDEX, "v", UI_FN_THREADS },
	{ UI_MAP_INDEX, "-", UI_FN_COLLAPSE_THREAD },
	{ UI_MAP_INDEX, "_", UI_FN_COLLAPSE_ALL },
	{ UI_MAP_INDEX, "D", UI_FN_DELETE_THREAD },
	{ UI_MAP_INDEX, "U", UI_FN_UNDELETE_THREAD },
	{ UI_MAP_INDEX, "^R", UI_FN_READ_THREAD },
	{ UI_MAP_INDEX, "S", UI_FN_SAVE_THREAD },
	{ UI_MAP_INDEX, "t", UI_FN_TAG },
	{ UI_MAP_INDEX, "T", UI_FN_TAG_PATTERN },
	{ UI_MAP_INDEX, "^T", UI_FN_UNTAG_PATTERN },
	{ UI_MAP_INDEX, ";", UI_FN_TAG_PREFIX },
	{ UI_MAP_INDEX, "C", UI_FN_COPY },
	{ UI_MAP_INDEX, "B", UI_FN_SIDEBAR },
	{ UI_MAP_INDEX, "<Tab>", UI_FN_NEXT_UNREAD },
	{ UI_MAP_INDEX, "]", UI_FN_NEXT_FOLDER },
	{ UI_MAP_INDEX, "M", UI_FN_SHOW_LOG },
	{ UI_MAP_INDEX, "Y", UI_FN_LOGIN },
	{ UI_MAP_INDEX, "[", UI_FN_PREV_FOLDER },

	{ UI_MAP_PAGER, "j", UI_FN_NEXT },
	{ UI_MAP_PAGER, "<Down>", UI_FN_NEXT },
	{ UI_MAP_PAGER, "<Enter>", UI_FN_NEXT },
	{ UI_MAP_PAGER, "k", UI_FN_PREV },
	{ UI_MAP_PAGER, "<Up>", UI_FN_PREV },
	{ UI_MAP_PAGER, "<Space>", UI_FN_PAGE_DOWN },
	{ UI_MAP_PAGER, "<PageDown>", UI_FN_PAGE_DOWN },
	{ UI_MAP_PAGER, "-", UI_FN_PAGE_UP },
	{ UI_MAP_PAGER, "<PageUp>", UI_FN_PAGE_UP },
	{ UI_MAP_PAGER, "^D", UI_FN_HALF_DOWN },
	{ UI_MAP_PAGER, "^U", UI_FN_HALF_UP },
	{ UI_MAP_PAGER, "g", UI_FN_FIRST },
	{ UI_MAP_PAGER, "<Home>", UI_FN_FIRST },
	{ UI_MAP_PAGER, "G", UI_FN_LAST },
	{ UI_MAP_PAGER, "<End>", UI_FN_LAST },
	{ UI_MAP_PAGER, "J", UI_FN_NEXT_MESSAGE },
	{ UI_MAP_PAGER, "K", UI_FN_PREV_MESSAGE },
	{ UI_MAP_PAGER, "<Tab>", UI_FN_NEXT_UNREAD },
	{ UI_MAP_PAGER, "q", UI_FN_QUIT },
	{ UI_MAP_PAGER, "i", UI_FN_QUIT },
	{ UI_MAP_PAGER, "/", UI_FN_SEARCH },
	{ UI_MAP_PAGER, "n", UI_FN_SEARCH_NEXT },
	/* As in the index (and mutt): N toggles new, p goes back a match. */
	{ UI_MAP_PAGER, "p", UI_FN_SEARCH_PREV },
	{ UI_MAP_PAGER, "N", UI_FN_TOGGLE_NEW },
	{ UI_MAP_PAGER, "h", UI_FN_FULL_HEADERS },
	{ UI_MAP_PAGER, "S", UI_FN_SAVE_ATTACHMENT },
	{ UI_MAP_PAGER, "o", UI_FN_OPEN_ATTACHMENT },
	{ UI_MAP_PAGER, "d", UI_FN_DELETE },
	{ UI_MAP_PAGER, "u", UI_FN_UNDELETE },
	{ UI_MAP_PAGER, "s", UI_FN_SAVE },
	{ UI_MAP_PAGER, "C", UI_FN_COPY },
	{ UI_MAP_PAGER, "F", UI_FN_FLAG },
	{ UI_MAP_PAGER, "y", UI_FN_KEYWORDS },
	{ UI_MAP_PAGER, "r", UI_FN_REPLY },
	{ UI_MAP_PAGER, "R", UI_FN_GROUP_REPLY },
	{ UI_MAP_PAGER, "L", UI_FN_LIST_REPLY },
	{ UI_MAP_PAGER, "|", UI_FN_PIPE },
	{ UI_MAP_PAGER, "f", UI_FN_FORWARD },
	{ UI_MAP_PAGER, "A", UI_FN_FORWARD_ATTACH },
	{ UI_MAP_PAGER, "m", UI_FN_COMPOSE },
	{ UI_MAP_PAGER, "^L", UI_FN_REDRAW },
	{ UI_MAP_PAGER, "?", UI_FN_HELP },
	{ UI_MAP_PAGER, "M", UI_FN_SHOW_LOG },

	{ UI_MAP_FOLDERS, "j", UI_FN_NEXT },
	{ UI_MAP_FOLDERS, "<Down>", UI_FN_NEXT },
	{ UI_MAP_FOLDERS, "k", UI_FN_PREV },
	{ UI_MAP_FOLDERS, "<Up>", UI_FN_PREV },
	{ UI_MAP_FOLDERS, "g", UI_FN_FIRST },
	{ UI_MAP_FOLDERS, "<Home>", UI_FN_FIRST },
	{ UI_MAP_FOLDERS, "G", UI_FN_LAST },
	{ UI_MAP_FOLDERS, "<End>", UI_FN_LAST },
	{ UI_MAP_FOLDERS, "<Enter>", UI_FN_OPEN },
	{ UI_MAP_FOLDERS, "q", UI_FN_QUIT },
	{ UI_MAP_FOLDERS, "c", UI_FN_CHANGE_FOLDER },
	{ UI_MAP_FOLDERS, "^L", UI_FN_REDRAW },
	{ UI_MAP_FOLDERS, "?", UI_FN_HELP },
	{ UI_MAP_FOLDERS, "$", UI_FN_SYNC },
	{ UI_MAP_FOLDERS, "/", UI_FN_SEARCH },
	{ UI_MAP_FOLDERS, "l", UI_FN_LIMIT },

	{ UI_MAP_COMPOSE, "j", UI_FN_NEXT },
	{ UI_MAP_COMPOSE, "<Down>", UI_FN_NEXT },
	{ UI_MAP_COMPOSE, "k", UI_FN_PREV },
	{ UI_MAP_COMPOSE, "<Up>", UI_FN_PREV },
	{ UI_MAP_COMPOSE, "t", UI_FN_EDIT_TO },
	{ UI_MAP_COMPOSE, "c", UI_FN_EDIT_CC },
	{ UI_MAP_COMPOSE, "b", UI_FN_EDIT_BCC },
	{ UI_MAP_COMPOSE, "s", UI_FN_EDIT_SUBJECT },
	{ UI_MAP_COMPOSE, "a", UI_FN_ATTACH_FILE },
	{ UI_MAP_COMPOSE, "D", UI_FN_DETACH_FILE },
	{ UI_MAP_COMPOSE, "e", UI_FN_EDIT_MESSAGE },
	{ UI_MAP_COMPOSE, "y", UI_FN_SEND_MESSAGE },
	{ UI_MAP_COMPOSE, "P", UI_FN_POSTPONE_MESSAGE },
	{ UI_MAP_COMPOSE, "p", UI_FN_SECURITY },
	{ UI_MAP_COMPOSE, "q", UI_FN_QUIT },
	{ UI_MAP_COMPOSE, "^L", UI_FN_REDRAW },
	{ UI_MAP_COMPOSE, "?", UI_FN_HELP },
};

static const struct {
	const char *name;
	int key;
} named[] = {
	{ "<Enter>", '\r' },
	{ "<Enter>", '\n' },
	{ "<Enter>", UI_KEYCODE | KEY_ENTER },
	{ "<Space>", ' ' },
	{ "<Tab>", '\t' },
	{ "<Esc>", 27 },
	{ "<Backspace>", UI_KEYCODE | KEY_BACKSPACE },
	{ "<Backspace>", 127 },
	{ "<Down>", UI_KEYCODE | KEY_DOWN },
	{ "<Up>", UI_KEYCODE | KEY_UP },
	{ "<Left>", UI_KEYCODE | KEY_LEFT },
	{ "<Right>", UI_KEYCODE | KEY_RIGHT },
	{ "<PageDown>", UI_KEYCODE | KEY_NPAGE },
	{ "<PageUp>", UI_KEYCODE | KEY_PPAGE },
	{ "<Home>", UI_KEYCODE | KEY_HOME },
	{ "<End>", UI_KEYCODE | KEY_END },
	{ "<Delete>", UI_KEYCODE | KEY_DC },
	{ "<Insert>", UI_KEYCODE | KEY_IC },
};

const char *
ui_key_name(int key, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < TERN_NELEM(named); i++) {
		if (named[i].key == key)
			return named[i].name;
	}
	if (key & UI_KEYCODE) {
		int k = key & ~UI_KEYCODE;

		if (k >= KEY_F0 && k <= KEY_F(63))
			snprintf(buf, len, "<F%d>", k - KEY_F0);
		else
			snprintf(buf, len, "<key%d>", k);
	} else if (key >= 0 && key < 32)
		snprintf(buf, len, "^%c", key + '@');
	else {
		wchar_t w[2] = { (wchar_t)key, 0 };

		if (wcstombs(buf, w, len) == (size_t)-1)
			snprintf(buf, len, "<U+%04X>", (unsigned)key);
	}
	return buf;
}

/* Parse a key as the rc writes it; -1 if it names no key. */
static int
key_parse(const char *s)
{
	size_t i;
	wchar_t wc;
	int n;

	for (i = 0; i < TERN_NELEM(named); i++) {
		if (ascii_strcasecmp(named[i].name, s) == 0)
			return named[i].key;
	}
	if (s[0] == '^' && s[1] != '\0' && s[2] == '\0') {
		char c = s[1];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c >= '@' && c <= '_')
			return CTRL(c);
		return -1;
	}
	if (ascii_strncasecmp(s, "<F", 2) == 0) {
		int f = atoi(s + 2);

		if (f >= 1 && f <= 63)
			return UI_KEYCODE | KEY_F(f);
		return -1;
	}
	if (s[0] == '\\' && s[1] != '\0')
		s++;
	n = mbtowc(&wc, s, strlen(s));
	if (n <= 0 || s[n] != '\0')
		return -1;
	return (int)wc;
}

static void
bind_set(struct ui *u, enum ui_map map, int key, enum ui_fn fn)
{
	size_t i;

	for (i = 0; i < u->nbinds[map]; i++) {
		if (u->binds[map][i].key == key) {
			u->binds[map][i].fn = fn;
			return;
		}
	}
	u->binds[map] = xreallocarray(
	    u->binds[map], u->nbinds[map] + 1, sizeof *u->binds[map]);
	u->binds[map][u->nbinds[map]].key = key;
	u->binds[map][u->nbinds[map]++].fn = fn;
}

void
ui_keys_init(struct ui *u)
{
	struct rc *rc = u->t->rc;
	size_t i, j;

	for (i = 0; i < TERN_NELEM(defaults); i++) {
		int key = key_parse(defaults[i].key);

		bind_set(u, defaults[i].map, key, defaults[i].fn);
		/* Enter arrives as \r, \n or KEY_ENTER; bind all three. */
		if (key == '\r') {
			bind_set(u, defaults[i].map, '\n', defaults[i].fn);
			bind_set(u, defaults[i].map, UI_KEYCODE | KEY_ENTER,
			    defaults[i].fn);
		}
	}
	for (i = 0; i < rc->nbinds; i++) {
		struct rc_bind *b = &rc->binds[i];
		enum ui_fn fn = UI_FN_COUNT;
		int key = key_parse(b->key);
		int m;

		for (j = 0; j < UI_FN_COUNT; j++) {
			if (fns[j].name != NULL &&
			    strcmp(fns[j].name, b->function) == 0)
				fn = (enum ui_fn)j;
		}
		for (m = 0; m < UI_MAP_COUNT; m++) {
			if (strcmp(map_names[m], b->map) == 0)
				break;
		}
		if (fn == UI_FN_COUNT || key == -1 ||
		    (m == UI_MAP_COUNT && strcmp(b->map, "generic") != 0)) {
			ui_message(u, 1, "%s:%d: bind %s %s %s: unknown %s",
			    b->file ? b->file : "rc", b->line, b->map, b->key,
			    b->function,
			    fn == UI_FN_COUNT ? "function"
			        : key == -1   ? "key"
			                      : "map");
			continue;
		}
		for (int k = 0; k < UI_MAP_COUNT; k++) {
			if (m == UI_MAP_COUNT || k == m) {
				bind_set(u, (enum ui_map)k, key, fn);
				if (key == '\r')
					bind_set(u, (enum ui_map)k, '\n', fn);
			}
		}
	}
}

void
ui_keys_free(struct ui *u)
{
	for (int m = 0; m < UI_MAP_COUNT; m++) {
		free(u->binds[m]);
		u->binds[m] = NULL;
		u->nbinds[m] = 0;
	}
}

enum ui_fn
ui_key_fn(struct ui *u, enum ui_map map, int key)
{
	for (size_t i = 0; i < u->nbinds[map]; i++) {
		if (u->binds[map][i].key == key)
			return u->binds[map][i].fn;
	}
	if (map == UI_MAP_FOLDERS)
		return ui_key_fn(u, UI_MAP_INDEX, key) == UI_FN_HELP
		    ? UI_FN_HELP
		    : UI_FN_NONE;
	return UI_FN_NONE;
}

/* The help text: every function of each map with the keys bound now. */
static char **
help_lines(struct ui *u, size_t *np)
{
	char **v = NULL;
	size_t n = 0;

	for (int m = 0; m < UI_MAP_COUNT; m++) {
		v = xreallocarray(v, n + 2, sizeof *v);
		if (n > 0)
			v[n++] = xstrdup("");
		v[n++] = xasprintf("%s keys", map_names[m]);
		for (int f = 1; f < UI_FN_COUNT; f++) {
			struct buf keys;
			char name[32];

			buf_init(&keys, 0);
			for (size_t i = 0; i < u->nbinds[m]; i++) {
				int k = u->binds[m][i].key;

				if (u->binds[m][i].fn != (enum ui_fn)f ||
				    k == '\n' || k == (UI_KEYCODE | KEY_ENTER))
					continue;
				if (keys.len)
					buf_adds(&keys, " ");
				buf_adds(
				    &keys, ui_key_name(k, name, sizeof name));
			}
			if (keys.len > 0) {
				v = xreallocarray(v, n + 1, sizeof *v);
				v[n++] = xasprintf("  %-22s %-20s %s",
				    keys.data, fns[f].name, fns[f].help);
			}
			buf_free(&keys);
		}
	}
	*np = n;
	return v;
}

void
ui_help_draw(struct ui *u, int y, int h, int w)
{
	size_t n, i;
	char **v = help_lines(u, &n);

	if (u->help_top + (size_t)h > n)
		u->help_top = n > (size_t)h ? n - (size_t)h : 0;
	for (i = 0; i < (size_t)h; i++) {
		size_t l = u->help_top + i;
		const char *s = l < n ? v[l] : "";
		int attr = A_NORMAL;

		if (l < n && s[0] != ' ' && s[0] != '\0')
			attr = u->attr[UI_C_HEADER];
		ui_put(y + (int)i, 0, w, s, attr);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
ui_help_key(struct ui *u, enum ui_fn fn)
{
	size_t page = LINES > 4 ? (size_t)LINES - 3 : 1;

	switch (fn) {
	case UI_FN_NEXT:
		u->help_top++;
		break;
	case UI_FN_PREV:
		if (u->help_top > 0)
			u->help_top--;
		break;
	case UI_FN_PAGE_DOWN:
	case UI_FN_HALF_DOWN:
		u->help_top += page;
		break;
	case UI_FN_PAGE_UP:
	case UI_FN_HALF_UP:
		u->help_top = u->help_top > page ? u->help_top - page : 0;
		break;
	case UI_FN_FIRST:
		u->help_top = 0;
		break;
	case UI_FN_LAST:
		u->help_top = (size_t)-1 / 2;
		break;
	case UI_FN_QUIT:
	case UI_FN_HELP:
	case UI_FN_SHOW_LOG:
		u->mode = u->prev_mode;
		break;
	default:
		return 0;
	}
	return 1;
}
