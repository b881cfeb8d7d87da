/*
 * The full-screen client: setup, the main loop, drawing of the frame
 * (title, status and message lines), prompts and the event log.
 *
 * One thread owns ncurses. It waits in poll() on the terminal and on a
 * pipe the account workers write to, handles one key or one batch of
 * events, and redraws what is dirty once per turn of the loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "ui-private.h"

#define UI_KEYCODE 0x40000000

uint64_t
ui_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
ui_log(struct ui *u, const char *fmt, ...)
{
	va_list ap;
	uint64_t us;

	if (u->log == NULL)
		return;
	us = ui_now_us() - u->t0;
	fprintf(u->log, "%llu.%06llu ", (unsigned long long)(us / 1000000),
	    (unsigned long long)(us % 1000000));
	va_start(ap, fmt);
	vfprintf(u->log, fmt, ap);
	va_end(ap);
	fputc('\n', u->log);
	fflush(u->log);
}

static void notes_add(struct ui *u, int error, const char *text);

void
ui_message(struct ui *u, int error, const char *fmt, ...)
{
	va_list ap;

	free(u->msg);
	va_start(ap, fmt);
	u->msg = xvasprintf(fmt, ap);
	va_end(ap);
	u->msg_error = error;
	u->msg_at = now_ms();
	u->dirty = 1;
	/* The log keeps every note, also one the next replaces at once. */
	ui_log(u, "%s %s", error ? "error" : "note", u->msg);
	notes_add(u, error, u->msg);
}

void
ui_note(struct ui *u, int error, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	ui_log(u, "%s %s", error ? "error" : "note", text);
	notes_add(u, error, text);
	free(text);
	u->dirty = 1;
}

/* Keep a message for the log view, the oldest dropped when it is full. */
static void
notes_add(struct ui *u, int error, const char *text)
{
	char stamp[16] = "";
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	if (localtime_r(&now, &tm) != NULL)
		strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
	if (u->nnotes < UI_NOTES_MAX)
		i = (u->notes_head + u->nnotes++) % UI_NOTES_MAX;
	else {
		i = u->notes_head;
		u->notes_head = (u->notes_head + 1) % UI_NOTES_MAX;
		free(u->notes[i]);
	}
	u->notes[i] = xasprintf("%s %s%s", stamp, error ? "error: " : "", text);
}

void
ui_notes_free(struct ui *u)
{
	for (size_t i = 0; i < u->nnotes; i++) {
		size_t k = (u->notes_head + i) % UI_NOTES_MAX;

		free(u->notes[k]);
		u->notes[k] = NULL;
	}
	u->nnotes = u->notes_head = 0;
}

/*
 * Cut s into lines of at most w columns (the first whole, the rest
 * indented by indent columns); appended to *v.
 */
static void
notes_wrap(const char *s, int w, int indent, char ***v, size_t *n)
{
	mbstate_t mbs;
	const char *p = s, *start = s;
	int col = 0, first = 1;

	memset(&mbs, 0, sizeof mbs);
	while (*p != '\0') {
		wchar_t wc;
		size_t len = mbrtowc(&wc, p, strlen(p), &mbs);
		int cw;

		if (len == (size_t)-1 || len == (size_t)-2) {
			memset(&mbs, 0, sizeof mbs);
			len = 1;
			cw = 1;
		} else if ((cw = wcwidth(wc)) < 0)
			cw = 1;
		if (len == 0)
			break;
		if (col + cw > w - (first ? 0 : indent) && p > start) {
			*v = xreallocarray(*v, *n + 1, sizeof **v);
			(*v)[(*n)++] = xasprintf("%*s%.*s", first ? 0 : indent,
			    "", (int)(p - start), start);
			start = p;
			col = 0;
			first = 0;
		}
		col += cw;
		p += len;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xasprintf("%*s%s", first ? 0 : indent, "", start);
}

void
ui_notes_draw(struct ui *u, int y, int h, int w)
{
	char **v = NULL;
	size_t n = 0, i;

	if (u->nnotes == 0) {
		v = xreallocarray(v, 1, sizeof *v);
		v[n++] = xstrdup("No notes or errors yet.");
	}
	for (i = 0; i < u->nnotes; i++)
		notes_wrap(u->notes[(u->notes_head + i) % UI_NOTES_MAX],
		    w > 12 ? w - 1 : 11, 9, &v, &n);
	/* help_top scrolls; the end (newest) when it points past it. */
	if (u->help_top + (size_t)h > n)
		u->help_top = n > (size_t)h ? n - (size_t)h : 0;
	for (i = 0; i < (size_t)h; i++) {
		size_t l = u->help_top + i;

		ui_put(y + (int)i, 0, w, l < n ? v[l] : "",
		    l < n && strstr(v[l], " error: ") == v[l] + 8
		        ? u->attr[UI_C_ERROR]
		        : (int)A_NORMAL);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
ui_put(int y, int x, int width, const char *s, int attr)
{
	wchar_t sbuf[512], *wbuf = sbuf;
	size_t wmax = TERN_NELEM(sbuf);
	struct buf vis;
	mbstate_t mbs;
	const char *p, *end;
	size_t n = 0;
	int col = 0;

	if (width <= 0)
		return;
	/* A very wide terminal needs more than the stack buffer. */
	if ((size_t)width >= wmax) {
		wmax = (size_t)width + 1;
		wbuf = xreallocarray(NULL, wmax, sizeof *wbuf);
	}
	buf_init(&vis, 0);
	if (s != NULL)
		text_visible(&vis, s, strlen(s), 0);
	memset(&mbs, 0, sizeof mbs);
	p = vis.data;
	end = vis.data + vis.len;
	while (p < end && n < wmax - 1) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, p, (size_t)(end - p), &mbs);
		int w;

		if (r == (size_t)-1 || r == (size_t)-2) {
			memset(&mbs, 0, sizeof mbs);
			wc = L'?';
			r = 1;
		} else if (r == 0)
			break;
		p += r;
		if (wc == L'\t')
			wc = L' ';
		w = wcwidth(wc);
		if (w < 0) {
			wc = L'?';
			w = 1;
		}
		/* A combining mark with nothing to combine with is dropped. */
		if (w == 0 && n == 0)
			continue;
		if (col + w > width)
			break;
		wbuf[n++] = wc;
		col += w;
	}
	wbuf[n] = L'\0';
	attrset(attr);
	move(y, x);
	if (n > 0)
		addnwstr(wbuf, (int)n);
	for (; col < width; col++)
		addch(' ');
	attrset(A_NORMAL);
	buf_free(&vis);
	if (wbuf != sbuf)
		free(wbuf);
}

void
ui_put_cut(int y, int x, int width, const char *s, int attr)
{
	size_t len = s != NULL ? strlen(s) : 0, fit, word = 0;
	char *t;

	if (width < 2 || text_fit(s, len, width, NULL) == len) {
		ui_put(y, x, width, s, attr);
		return;
	}
	/* Room for the ellipsis after what is kept. */
	fit = text_fit(s, len, width - 1, NULL);
	/* At the end of a word, unless that leaves too little. */
	for (size_t i = 1; i < fit; i++)
		if (s[i] == ' ' && s[i - 1] != ' ')
			word = i;
	if (word > 0 && word * 3 >= fit * 2)
		fit = word;
	while (fit > 0 && s[fit - 1] == ' ')
		fit--;
	t = xasprintf("%.*s…", (int)fit, s);
	ui_put(y, x, width, t, attr);
	free(t);
}

int
ui_getkey(void)
{
	wint_t wc;
	int r = get_wch(&wc);

	if (r == ERR)
		return -1;
	if (r == KEY_CODE_YES)
		return UI_KEYCODE | (int)wc;
	return (int)wc;
}

int
ui_confirm(struct ui *u, const char *question)
{
	char *q = xasprintf("%s (y/n) ", question);
	int key, yes = 0;

	nodelay(stdscr, FALSE);
	ui_put(LINES - 1, 0, COLS, q, A_BOLD);
	move(LINES - 1, (int)strlen(q) < COLS ? (int)strlen(q) : COLS - 1);
	curs_set(1);
	refresh();
	for (;;) {
		key = ui_getkey();
		if (key == 'y' || key == 'Y') {
			yes = 1;
			break;
		}
		if (key == 'n' || key == 'N' || key == 27 || key == 'q' ||
		    key == 7)
			break;
	}
	curs_set(0);
	nodelay(stdscr, TRUE);
	free(q);
	u->dirty = 1;
	return yes;
}

/*
 * Tab completion. The first Tab completes what the matches have in
 * common and lists them on the status line; each further Tab puts the
 * next match in, round and round (as mutt's completion does, then
 * cycling). Any other key ends it.
 */
struct completion {
	char **v; /* the matches, whole */
	size_t n;
	size_t next; /* the match the next Tab puts in */
	size_t start; /* where the completed word begins in the line */
	int active;
};

static void
completion_end(struct completion *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	memset(c, 0, sizeof *c);
}

static void
completion_add(struct completion *c, const char *s)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->v[i], s) == 0)
			return;
	}
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n++] = xstrdup(s);
}

static int
completion_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders of the open account whose names start with pre. */
static void
complete_folder(struct ui *u, const char *pre, struct completion *c)
{
	size_t acct = u->nfolders ? u->folders[u->fcur].account : 0;
	size_t plen = strlen(pre);

	for (size_t i = 0; i < u->nfolders; i++) {
		if (u->folders[i].account == acct &&
		    strncmp(u->folders[i].name, pre, plen) == 0)
			completion_add(c, u->folders[i].name);
	}
}

/* The senders in the store that start with pre, the most frequent
 * first. */
static void
complete_address(struct ui *u, const char *pre, struct completion *c)
{
	char **v = NULL, *cause = NULL;
	size_t n = 0, i;

	if (*pre == '\0')
		return;
	if (store_senders(u->s, pre, 20, &v, &n, &cause) != 0) {
		ui_message(u, 1, "%s", cause);
		free(cause);
		return;
	}
	for (i = 0; i < n; i++) {
		completion_add(c, v[i]);
		free(v[i]);
	}
	free(v);
}

/* The files and directories (with a '/') whose paths start with pre;
 * "~/" is the home directory. */
static void
complete_path(const char *pre, struct completion *c)
{
	const char *slash = strrchr(pre, '/'), *home = getenv("HOME");
	char *dir, *shown, *base;
	DIR *d;
	struct dirent *e;
	size_t blen;

	shown = slash ? xstrndup(pre, (size_t)(slash - pre) + 1) : xstrdup("");
	base = xstrdup(slash ? slash + 1 : pre);
	if (shown[0] == '~' && shown[1] == '/' && home != NULL)
		dir = xasprintf("%s%s", home, shown + 1);
	else
		dir = xstrdup(shown[0] != '\0' ? shown : "./");
	blen = strlen(base);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			struct stat st;
			char *full, *cand;

			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0 ||
			    strncmp(e->d_name, base, blen) != 0 ||
			    (e->d_name[0] == '.' && base[0] != '.'))
				continue;
			full = xasprintf("%s%s", dir, e->d_name);
			cand = xasprintf("%s%s%s", shown, e->d_name,
			    stat(full, &st) == 0 && S_ISDIR(st.st_mode) ? "/"
			                                                : "");
			completion_add(c, cand);
			free(cand);
			free(full);
		}
		closedir(d);
	}
	qsort(c->v, c->n, sizeof *c->v, completion_cmp);
	free(dir);
	free(shown);
	free(base);
}

/* Put s in the line from start on; 0, or -1 if it does not fit. */
static int
line_set(wchar_t *line, size_t *len, size_t max, size_t start, const char *s)
{
	wchar_t w[1024];
	size_t k = mbstowcs(w, s, TERN_NELEM(w) - 1);

	if (k == (size_t)-1 || start + k >= max)
		return -1;
	wmemcpy(line + start, w, k);
	*len = start + k;
	return 0;
}

/* What the matches begin with, all of them (bytes, whole characters). */
static size_t
common_prefix(char **v, size_t n)
{
	size_t len = strlen(v[0]);

	for (size_t i = 1; i < n; i++) {
		size_t k = 0;

		while (k < len && v[i][k] == v[0][k])
			k++;
		len = k;
	}
	/* Not in the middle of a UTF-8 sequence. */
	while (len > 0 && ((unsigned char)v[0][len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* Tab pressed: complete, or put the next match in. */
static void
prompt_tab(struct ui *u, int complete, wchar_t *line, size_t *len, size_t max,
    struct completion *c)
{
	char pre[4096], *common;
	size_t start = 0, plen;
	struct buf b;

	if (c->active) {
		if (c->n > 0) {
			(void)line_set(line, len, max, c->start, c->v[c->next]);
			c->next = (c->next + 1) % c->n;
		}
		return;
	}
	if (complete == UI_COMPLETE_ADDRESS) {
		/* The last address of a list, after the last comma. */
		start = *len;
		while (start > 0 && line[start - 1] != L',')
			start--;
		while (start < *len && line[start] == L' ')
			start++;
	}
	line[*len] = L'\0';
	if (wcstombs(pre, line + start, sizeof pre) == (size_t)-1)
		return;
	c->start = start;
	c->active = 1;
	if (complete == UI_COMPLETE_FOLDER)
		complete_folder(u, pre, c);
	else if (complete == UI_COMPLETE_ADDRESS)
		complete_address(u, pre, c);
	else if (complete == UI_COMPLETE_PATH)
		complete_path(pre, c);
	if (c->n == 0) {
		ui_put(LINES - 2, 0, COLS, "-- no match", u->attr[UI_C_STATUS]);
		return;
	}
	if (c->n == 1) {
		(void)line_set(line, len, max, start, c->v[0]);
		return;
	}
	plen = strlen(pre);
	common = xstrndup(c->v[0], common_prefix(c->v, c->n));
	/* Nothing in common beyond what is typed: the first Tab already
	 * puts the first match in. */
	if (strlen(common) > plen)
		(void)line_set(line, len, max, start, common);
	else {
		(void)line_set(line, len, max, start, c->v[0]);
		c->next = 1;
	}
	free(common);
	buf_init(&b, 0);
	buf_printf(&b, "-- %zu matches (Tab: next):", c->n);
	for (size_t i = 0; i < c->n; i++)
		buf_printf(&b, "  %s", c->v[i]);
	ui_put_cut(LINES - 2, 0, COLS, b.data, u->attr[UI_C_STATUS]);
	buf_free(&b);
}

int
ui_prompt(struct ui *u, const char *prompt, const char *init, int complete,
    char **out)
{
	/* UTF-8 takes at most 4 bytes a character: shown always holds line. */
	wchar_t line[1000];
	size_t len = 0;
	int ret = -1, plen = (int)strlen(prompt);
	struct completion comp;

	memset(&comp, 0, sizeof comp);
	*out = NULL;
	if (init != NULL) {
		size_t n = mbstowcs(line, init, TERN_NELEM(line) - 1);
		if (n != (size_t)-1)
			len = n;
	}
	nodelay(stdscr, FALSE);
	curs_set(1);
	for (;;) {
		char shown[4096];
		int key, w;

		line[len] = L'\0';
		if (wcstombs(shown, line, sizeof shown) == (size_t)-1)
			shown[0] = '\0';
		ui_put(LINES - 1, 0, COLS, prompt, A_BOLD);
		if (plen < COLS)
			ui_put(LINES - 1, plen, COLS - plen, shown, A_NORMAL);
		w = wcswidth(line, len);
		move(LINES - 1,
		    plen + (w > 0 ? w : 0) < COLS ? plen + (w > 0 ? w : 0)
		                                  : COLS - 1);
		refresh();
		key = ui_getkey();
		if (key == '\n' || key == '\r' ||
		    key == (UI_KEYCODE | KEY_ENTER)) {
			*out = xstrdup(shown);
			u->answered_us = ui_now_us();
			ret = 0;
			break;
		}
		if (key == 27 || key == 7) /* Esc, ^G */
			break;
		if (key == (UI_KEYCODE | KEY_BACKSPACE) || key == 127 ||
		    key == 8) {
			if (len > 0)
				len--;
			else
				break;
		} else if (key == 21) /* ^U */
			len = 0;
		else if (key == 23) { /* ^W */
			while (len > 0 && line[len - 1] == L' ')
				len--;
			while (len > 0 && line[len - 1] != L' ')
				len--;
		} else if (key == '\t' && complete != 0) {
			prompt_tab(u, complete, line, &len,
			    TERN_NELEM(line) - 1, &comp);
			/* One match or none: the next Tab starts over. */
			if (comp.n <= 1)
				completion_end(&comp);
			continue;
		} else if (key == (UI_KEYCODE | KEY_RESIZE))
			continue;
		else if (key >= 0 && !(key & UI_KEYCODE) && iswprint(key) &&
		    len < TERN_NELEM(line) - 1)
			line[len++] = (wchar_t)key;
		/* Another key than Tab: what it typed is completed anew. */
		if (comp.active) {
			completion_end(&comp);
			u->dirty = 1;
		}
	}
	completion_end(&comp);
	curs_set(0);
	nodelay(stdscr, TRUE);
	u->dirty = 1;
	return ret;
}

static void
draw_title(struct ui *u)
{
	const char *hint;
	char *s, *spec = u->nfolders ? ui_folder_spec(u, u->fcur) : NULL;

	switch (u->mode) {
	case UI_PAGER:
		hint = u->pager.natt > 0
		    ? "q:Back  J/K:Next/Prev  S:Save attachment  o:Open it  "
		      "/:Search  h:Headers  ?:Help"
		    : "q:Back  J/K:Next/Prev  /:Search  h:Headers  d:Del  "
		      "s:Save  r:Reply  ?:Help";
		break;
	case UI_HELP:
		hint = "q:Back  j/k:Scroll";
		break;
	case UI_LOG:
		hint = "Notes and errors, newest last  q:Back  j/k:Scroll";
		break;
	default:
		hint = u->folders_focus
		    ? "Enter:Open  j/k:Move  /:Search all  q:Back  ?:Help"
		    : "q:Quit  d:Del  u:Undel  s:Save  F:Flag  c:Folder  "
		      "/:Search  l:Limit  $:Sync  ?:Help";
	}
	s = xasprintf(" tern%s  %s  %s", u->demo ? " (demo)" : "",
	    spec ? spec : "", hint);
	ui_put_cut(0, 0, COLS, s, u->attr[UI_C_TITLE]);
	free(s);
	free(spec);
}

/* What the account's connection is doing, as the status line says it. */
static void
conn_status(const struct ui_account *a, struct buf *b)
{
	char since[16] = "";
	struct tm tm;
	uint64_t now = now_ms();

	if (a->offline_since != 0 && localtime_r(&a->offline_since, &tm))
		strftime(since, sizeof since, " since %H:%M", &tm);
	switch (a->conn) {
	case UI_CONN_CONNECTING:
		if (since[0] != '\0')
			buf_printf(b, "  connecting (offline%s)", since);
		else
			buf_adds(b, "  connecting");
		break;
	case UI_CONN_SYNCING:
		if (a->total > 0) {
			char bar[11];
			uint64_t done = a->done > a->total ? a->total : a->done;
			size_t k, fill = (size_t)(done * 10 / a->total);

			for (k = 0; k < 10; k++)
				bar[k] = k < fill ? '#' : '.';
			bar[10] = '\0';
			buf_printf(b, "  online, syncing %s %llu/%llu [%s]",
			    a->what ? a->what : "", (unsigned long long)done,
			    (unsigned long long)a->total, bar);
		} else
			buf_printf(b, "  online, syncing%s%s",
			    a->what ? " " : "", a->what ? a->what : "");
		break;
	case UI_CONN_IDLE:
		buf_adds(b, "  online, idle");
		break;
	case UI_CONN_OFFLINE:
	case UI_CONN_ERROR:
		if (a->conn == UI_CONN_ERROR && a->rc != NULL &&
		    a->rc->auth == RC_AUTH_OAUTH2 &&
		    a->rc->oauth_provider != RC_OAUTH_NONE)
			/* What mends it: a sign-in that only the user can do. */
			buf_printf(b, "  error: run `tern login %s`", a->name);
		else
			buf_printf(b, "  %s%s",
			    a->conn == UI_CONN_ERROR ? "error: login refused"
			                             : "offline",
			    a->conn == UI_CONN_ERROR ? "" : since);
		if (a->retry_at > now)
			buf_printf(b, ", retrying in %llus",
			    (unsigned long long)((a->retry_at - now + 999) /
			        1000));
		break;
	}
}

static void
draw_status(struct ui *u)
{
	struct buf b;
	struct ui_account *a = NULL;
	struct ui_folder *f = u->nfolders ? &u->folders[u->fcur] : NULL;
	static const char *sorts[] = { "date", "from", "subject", "size" };

	buf_init(&b, 0);
	/* No folder yet: what each account's connection is doing. */
	for (size_t i = 0; f == NULL && i < u->naccts; i++) {
		const struct ui_account *o = &u->accts[i];
		struct buf c;

		if (o->drv == NULL || o->w == NULL)
			continue;
		buf_init(&c, 0);
		conn_status(o, &c);
		buf_printf(&b, "%s %s: %s", b.len == 0 ? "--" : "  ", o->name,
		    c.data != NULL ? c.data + strspn(c.data, " ") : "");
		buf_free(&c);
	}
	if (f != NULL) {
		a = &u->accts[f->account];
		if (f->total >= 0)
			buf_printf(&b, "-- %s/%s  [%lld msgs", a->name, f->name,
			    (long long)f->total);
		else
			buf_printf(&b, "-- %s/%s  [%zu%s msgs", a->name,
			    f->name, u->nids,
			    u->partial || u->partial_hi ? "+" : "");
		if (f->unseen >= 0)
			buf_printf(&b, ", %lld new", (long long)f->unseen);
		if (u->limit != NULL)
			buf_printf(
			    &b, ", %zu shown, limit: %s", u->nids, u->limit);
		if (u->ntags > 0)
			buf_printf(&b, ", %zu tagged", u->ntags);
		buf_adds(&b, "]");
		/* The connection before what matters less: a narrow
		 * terminal cuts the end. */
		if (a->drv == NULL)
			buf_adds(&b, a->rc != NULL ? "  offline" : "  local");
		else
			conn_status(a, &b);
		/* Another account that cannot sync is said too. */
		for (size_t i = 0; i < u->naccts; i++) {
			const struct ui_account *o = &u->accts[i];
			struct buf c;

			if (i == f->account || o->drv == NULL || o->w == NULL ||
			    (o->conn != UI_CONN_OFFLINE &&
			        o->conn != UI_CONN_ERROR))
				continue;
			buf_init(&c, 0);
			conn_status(o, &c);
			buf_printf(&b, "  [%s: %s]", o->name,
			    c.data != NULL ? c.data + strspn(c.data, " ") : "");
			buf_free(&c);
		}
		buf_printf(&b, "  sort:%s%s%s", sorts[u->sort],
		    u->reverse ? "-rev" : "", u->threaded ? " threads" : "");
		if (a->quota_limit > 0) {
			char used[16], lim[16];

			format_size(a->quota_used, 1, used, sizeof used);
			format_size(a->quota_limit, 1, lim, sizeof lim);
			buf_printf(&b, "  quota %s/%s", used, lim);
		}
	}
	ui_put_cut(LINES - 2, 0, COLS, b.data, u->attr[UI_C_STATUS]);
	buf_free(&b);
}

static const char firstrun_text[] =
    "Welcome to tern.\n"
    "\n"
    "No account is configured yet. tern reads its accounts from\n"
    "  $RC\n"
    "Create that file (chmod 600 if it holds a password), for example:\n"
    "\n"
    "  set theme = default\n"
    "\n"
    "  account work\n"
    "      protocol  imap              # imap | pop3\n"
    "      host      imap.example.com\n"
    "      user      alice@example.com\n"
    "      passcmd   \"pass show mail/work\"\n"
    "\n"
    "  account home\n"
    "      protocol  pop3\n"
    "      host      pop.example.net\n"
    "      user      alice\n"
    "      keep      no                # download, then delete on the server\n"
    "\n"
    "Then run 'tern sync' once, or just start tern again: it syncs while\n"
    "you read. tern-rc(5) describes every setting.\n"
    "\n"
    "  d  try tern on a demo store of generated mail (no account needed)\n"
    "  q  quit\n";

static void
draw_firstrun(struct ui *u)
{
	const char *p = firstrun_text, *nl;
	int y = 1;

	while (*p != '\0' && y < LINES - 2) {
		char *line;

		nl = strchr(p, '\n');
		line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		if (strstr(line, "$RC") != NULL) {
			char *l2 = xasprintf("  %s", u->t->rc_path);
			free(line);
			line = l2;
		}
		ui_put(y, 1, COLS - 1, line,
		    y == 1 ? u->attr[UI_C_HEADER] : (int)A_NORMAL);
		y++;
		free(line);
		p = nl ? nl + 1 : p + strlen(p);
	}
	while (y < LINES - 2)
		ui_put(y++, 0, COLS, "", A_NORMAL);
}

static void
draw(struct ui *u)
{
	int h = LINES - 3, sw = 0;

	erase();
	if (LINES < 5 || COLS < 20) {
		ui_put(0, 0, COLS, "terminal too small", A_NORMAL);
		refresh();
		return;
	}
	ui_put(0, 0, COLS, " tern", u->attr[UI_C_TITLE]);
	if (u->mode == UI_FIRSTRUN) {
		ui_put(0, 0, COLS, " tern  first run   d:Demo  q:Quit",
		    u->attr[UI_C_TITLE]);
		draw_firstrun(u);
		ui_put(LINES - 2, 0, COLS, "-- no account configured",
		    u->attr[UI_C_STATUS]);
	} else {
		draw_title(u);
		if (u->mode == UI_PAGER)
			ui_pager_draw(u, 1, h, COLS);
		else if (u->mode == UI_HELP)
			ui_help_draw(u, 1, h, COLS);
		else if (u->mode == UI_LOG)
			ui_notes_draw(u, 1, h, COLS);
		else {
			if (u->sidebar && COLS >= 60) {
				sw = COLS / 4;
				if (sw > 32)
					sw = 32;
				ui_folders_draw(u, 1, 0, h, sw);
				attrset(u->attr[UI_C_SIDEBAR]);
				mvvline(1, sw, ACS_VLINE, h);
				attrset(A_NORMAL);
				sw++;
			}
			ui_index_draw(u, 1, sw, h, COLS - sw);
		}
		draw_status(u);
	}
	ui_put(LINES - 1, 0, COLS, u->msg ? u->msg : "",
	    u->msg_error ? u->attr[UI_C_ERROR] : (int)A_NORMAL);
	refresh();
	u->dirty = 0;
}

/* Switch this session to a freshly generated demo store. */
static int
ui_use_demo(struct ui *u, char **cause)
{
	char *dir = NULL, *base = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");

	if (base != NULL && *base == '/')
		dir = xasprintf("%s/tern-demo", base);
	else
		dir = xasprintf(
		    "%s/.local/share/tern-demo", home ? home : "/tmp");
	if (ui_demo_create(dir, cause) != 0) {
		free(dir);
		return -1;
	}
	store_close(&u->t->store);
	free(u->t->datadir);
	u->t->datadir = dir;
	if ((u->s = tern_store(u->t, cause)) == NULL)
		return -1;
	u->demo = 1;
	/* The demo can send: to its own Sent folder. */
	u->demo_from.name = (char *)TERN_LOCAL_ACCOUNT;
	u->demo_from.from = (char *)"You <you@tern.example>";
	return 0;
}

static void
ui_start_client(struct ui *u)
{
	u->mode = UI_INDEX;
	if (u->nfolders == 0)
		ui_folders_load(u);
	if (u->nfolders > 0)
		ui_folder_open(u, 0);
	/* Before the workers start: what they store comes after. */
	ui_store_loaded(u);
	ui_workers_start(u);
	ui_indexer_start(u);
	if (u->nfolders == 0) {
		struct buf b;

		/* Say what each account is doing: a POP3 account downloads
		 * its mail, an IMAP one lists its folders first. */
		buf_init(&b, 0);
		for (size_t i = 0; i < u->naccts; i++) {
			const struct ui_account *ua = &u->accts[i];

			if (ua->w == NULL)
				continue;
			(void)buf_printf(&b, "%s%s %s",
			    b.len ? "; " : "No folders yet: ",
			    ua->rc != NULL && ua->rc->protocol == RC_PROTO_POP3
			        ? "downloading new mail from"
			        : "fetching the folder list of",
			    ua->name);
		}
		if (b.len > 0)
			ui_message(u, 0, "%s…", b.data);
		else
			ui_message(u, 0, "%s",
			    "No folders yet, and no account can sync");
		buf_free(&b);
	}
}

void
ui_store_loaded(struct ui *u)
{
	int64_t newest = store_index_newest(u->s, NULL);

	if (newest >= 0)
		u->newest = newest;
	u->data_version = store_data_version(u->s);
}

/* Reload what another connection changed (a worker's sync). */

/*
 * New mail in folders other than the open one (another folder's IDLE or
 * NOTIFY, a POP3 download): say where, on the message line.
 */
static void
announce_elsewhere(struct ui *u, int64_t open, int64_t after, int64_t upto)
{
	const char *first = NULL, *acct = NULL;
	int64_t total = 0, c;
	size_t i, nfolders = 0;

	for (i = 0; i < u->nfolders; i++) {
		const struct ui_folder *f = &u->folders[i];

		if (f->id == 0 || f->id == open ||
		    (c = store_index_count_new(
		         u->s, f->id, after, upto, NULL)) <= 0)
			continue;
		if (first == NULL) {
			first = f->name;
			acct = u->accts[f->account].name;
		}
		total += c;
		nfolders++;
	}
	if (total == 0)
		return;
	if (nfolders == 1)
		ui_message(u, 0, "%lld new message%s in %s/%s",
		    (long long)total, total == 1 ? "" : "s", acct, first);
	else
		ui_message(u, 0,
		    "%lld new messages in %s/%s and %zu other folder%s",
		    (long long)total, acct, first, nfolders - 1,
		    nfolders == 2 ? "" : "s");
	ui_log(u, "new-mail-elsewhere %lld", (long long)total);
}

/* set new_mail_command: run once for each folder with new mail. */
static void
new_mail_commands(struct ui *u, int64_t after, int64_t upto)
{
	int64_t c;

	for (size_t i = 0; i < u->nfolders; i++) {
		const struct ui_folder *f = &u->folders[i];

		if (f->id != 0 &&
		    (c = store_index_count_new(
		         u->s, f->id, after, upto, NULL)) > 0)
			ui_new_mail_command(
			    u, u->accts[f->account].name, f->name, c);
	}
}

static void
ui_check_store(struct ui *u)
{
	int64_t v = store_data_version(u->s), open, newest, n, after;

	u->last_check = now_ms();
	if (v == u->data_version)
		return;
	/*
	 * The indexer's commits change nothing shown: while it fills, the
	 * store is looked at again only when a worker said something (its
	 * sync stored or changed messages), else once the fill is done.
	 */
	if (ui_indexer_busy(u) && !u->poked)
		return;
	u->poked = 0;
	u->data_version = v;
	ui_log(u, "store changed");
	open = u->nfolders ? u->folders[u->fcur].id : 0;
	/*
	 * What arrived is what has a higher id than anything taken in
	 * before, not the growth of the count: new mail and a purge in the
	 * same change leave the count as it was.
	 */
	newest = store_index_newest(u->s, NULL);
	n = newest > u->newest && open != 0
	    ? store_index_count_new(u->s, open, u->newest, newest, NULL)
	    : 0;
	if (newest > u->newest && n == 0)
		announce_elsewhere(u, open, u->newest, newest);
	after = u->newest;
	if (newest >= 0)
		u->newest = newest;
	ui_folders_load(u);
	/* After the folder list is read again: mail may come with its
	 * folder. */
	if (newest > after && u->t->rc->new_mail_command != NULL)
		new_mail_commands(u, after, newest);
	if (u->nfolders > 0)
		ui_folder_count(u, u->fcur);
	ui_index_cache_clear(u);
	ui_index_load(u, 1);
	if (n > 0 && u->nfolders && u->folders[u->fcur].id == open) {
		ui_message(u, 0, "%lld new message%s in %s", (long long)n,
		    n == 1 ? "" : "s", u->folders[u->fcur].name);
		ui_log(u, "new-mail %lld", (long long)n);
	}
	if (u->mode == UI_PAGER && u->pager.loading)
		ui_pager_reload(u);
	u->dirty = 1;
}

static void
handle_key(struct ui *u, int key)
{
	enum ui_fn fn;

	if (key == (UI_KEYCODE | KEY_RESIZE)) {
		u->dirty = 1;
		ui_log(u, "resize %dx%d", COLS, LINES);
		return;
	}
	if (u->msg != NULL && !u->msg_error) {
		free(u->msg);
		u->msg = NULL;
	}
	if (u->mode == UI_FIRSTRUN) {
		char *cause = NULL;

		if (key == 'q' || key == 27)
			u->quit = 1;
		else if (key == 'd') {
			if (ui_use_demo(u, &cause) != 0) {
				ui_message(u, 1, "demo: %s", cause);
				free(cause);
			} else {
				ui_folders_load(u);
				ui_start_client(u);
			}
		}
		u->dirty = 1;
		return;
	}
	switch (u->mode) {
	case UI_PAGER:
		fn = ui_key_fn(u, UI_MAP_PAGER, key);
		break;
	case UI_HELP:
	case UI_LOG:
		fn = ui_key_fn(u, UI_MAP_PAGER, key);
		break;
	default:
		fn = ui_key_fn(
		    u, u->folders_focus ? UI_MAP_FOLDERS : UI_MAP_INDEX, key);
	}
	if (fn == UI_FN_NONE) {
		char name[32];

		u->tag_prefix = 0;
		ui_message(u, 0, "Key %s is not bound; ? lists the keys",
		    ui_key_name(key, name, sizeof name));
		return;
	}
	ui_act(u, fn);
	u->dirty = 1;
}

static int
ui_loop(struct ui *u)
{
	int first = 1, rows_drawn = 0, busy;

	while (!u->quit) {
		struct pollfd pfd[2];
		uint64_t t;
		int key;

		if (u->dirty) {
			draw(u);
			if (first) {
				ui_log(u, "first-draw rows=%zu", u->nids);
				first = 0;
			}
			/* The first screen with messages on it, also when
			 * they come from the first sync (a benchmark waits
			 * for this). */
			if (!rows_drawn && u->mode == UI_INDEX && u->nids > 0) {
				ui_log(u, "first-rows rows=%zu", u->nids);
				rows_drawn = 1;
			}
		}
		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = POLLIN;
		pfd[1].fd = u->evpipe[0];
		pfd[1].events = POLLIN;
		/* A partly loaded index goes on loading between keys. */
		busy = ((u->partial || u->partial_hi) && !u->no_preload) ||
		    u->count_next < u->nfolders;
		if (poll(pfd, 2,
		        busy               ? 0
		            : u->ndeferred ? UI_DEFER_RETRY_MS
		                           : 1000) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			ui_events_drain(u);
		/* "retrying in Ns" counts down. */
		for (size_t i = 0; i < u->naccts; i++) {
			if (u->accts[i].retry_at != 0)
				u->dirty = 1;
		}
		/* Changes the store could not take yet. */
		if (u->ndeferred > 0 &&
		    now_ms() - u->deferred_at >= UI_DEFER_RETRY_MS)
			ui_deferred_retry(u);
		if (u->mode != UI_FIRSTRUN && now_ms() - u->last_check >= 500) {
			ui_check_store(u);
			ui_workers_yield(u);
		}
		/* ncurses may hold keys already read: drain until ERR. */
		while ((key = ui_getkey()) != -1) {
			char name[32];

			t = ui_now_us();
			handle_key(u, key);
			if (u->quit)
				break;
			if (u->dirty)
				draw(u);
			ui_log(u, "key %s handled %.3f ms",
			    ui_key_name(key, name, sizeof name),
			    (double)(ui_now_us() - t) / 1000);
			/* A key that asked a question: the time from the
			 * answer on, what a person waits for. */
			if (u->answered_us != 0) {
				ui_log(u, "answer handled %.3f ms",
				    (double)(ui_now_us() - u->answered_us) /
				        1000);
				u->answered_us = 0;
			}
		}
		if (pfd[0].revents & (POLLHUP | POLLERR))
			break;
		if ((u->partial || u->partial_hi) && !u->no_preload) {
			if (!ui_index_more(u))
				u->dirty = 1;
		} else if (u->count_next < u->nfolders)
			ui_folders_count_more(u);
	}
	return 0;
}

static long
peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	return v;
}

/* No account in the rc and no folder in the store: explain, offer the
 * demo. */
static int
ui_first_run(struct ui *u)
{
	return u->t->rc->naccounts == 0 && u->nfolders == 0;
}

int
ui_main(struct tern *t, const struct ui_opts *o)
{
	struct ui u;
	char *cause = NULL;
	int status = TERN_EXIT_OK, errfd;

	memset(&u, 0, sizeof u);
	u.t = t;
	u.t0 = ui_now_us();
	u.sidebar = 1;
	u.threaded = t->rc->sort_threads;
	u.evpipe[0] = u.evpipe[1] = -1;
	u.saved_stderr = u.log_stderr = -1;
	u.evtail = &u.evhead;
	pthread_mutex_init(&u.evlock, NULL);
	if (o->log != NULL && (u.log = fopen(o->log, "a")) == NULL) {
		tern_warnx("%s: %s", o->log, strerror(errno));
		return TERN_EXIT_USAGE;
	}
	ui_log(&u, "start");
	/* Tests see a big folder's windows in a small one without it. */
	u.no_preload = getenv("TERN_UI_NO_PRELOAD") != NULL;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		tern_warnx("the full-screen client needs a terminal"
		           " (tern --help lists the commands)");
		status = TERN_EXIT_USAGE;
		goto out;
	}
	if (o->demo) {
		if (ui_use_demo(&u, &cause) != 0) {
			tern_warnx("%s", cause);
			free(cause);
			status = TERN_EXIT_FAIL;
			goto out;
		}
	} else if ((u.s = tern_store(t, &cause)) == NULL) {
		tern_warnx("%s", cause);
		free(cause);
		status = TERN_EXIT_FAIL;
		goto out;
	}
	if (pipe(u.evpipe) != 0) {
		tern_warnx("pipe: %s", strerror(errno));
		status = TERN_EXIT_FAIL;
		goto out;
	}
	/* Workers never block on a full pipe; the ui never on an empty one. */
	for (int i = 0; i < 2; i++)
		fcntl(u.evpipe[i], F_SETFL,
		    fcntl(u.evpipe[i], F_GETFL) | O_NONBLOCK);

	/* gpg-agent's pinentry asks on this terminal (before any thread
	 * could read the environment). */
	{
		const char *tty = ttyname(STDIN_FILENO);

		if (getenv("GPG_TTY") == NULL && tty != NULL)
			setenv("GPG_TTY", tty, 0);
	}
	/* Whatever a driver or library prints on stderr must not land on
	 * the screen: it goes to the log (or nowhere) until the end. */
	fflush(stderr);
	u.saved_stderr = dup(STDERR_FILENO);
	errfd =
	    u.log != NULL ? dup(fileno(u.log)) : open("/dev/null", O_WRONLY);
	if (errfd >= 0) {
		dup2(errfd, STDERR_FILENO);
		close(errfd);
	}
	initscr();
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ui_keys_init(&u);
	if (ui_theme_load(
	        &u, t->rc->theme ? t->rc->theme : "default", &cause) != 0) {
		ui_message(&u, 1, "%s", cause);
		free(cause);
		cause = NULL;
	}
	ui_log(&u, "store-open");
	ui_folders_load(&u);
	ui_log(&u, "folders-loaded n=%zu", u.nfolders);
	if (!u.demo && ui_first_run(&u))
		u.mode = UI_FIRSTRUN;
	else
		ui_start_client(&u);
	u.dirty = 1;
	ui_loop(&u);
	ui_loader_stop(&u);
	ui_indexer_stop(&u);
	ui_workers_stop(&u);
	endwin();
	if (u.saved_stderr >= 0) {
		fflush(stderr);
		dup2(u.saved_stderr, STDERR_FILENO);
		close(u.saved_stderr);
		u.saved_stderr = -1;
	}
	ui_log(&u, "exit peak-rss-kib=%ld", peak_rss_kib());
out:
	ui_pager_free(&u);
	ui_attach_cleanup(&u);
	ui_index_free(&u);
	ui_folders_free(&u);
	ui_keys_free(&u);
	ui_notes_free(&u);
	ui_deferred_free(&u);
	free(u.msg);
	free(u.search);
	free(u.limit);
	free(u.fsearch);
	free(u.limit_extra);
	if (u.evpipe[0] != -1) {
		close(u.evpipe[0]);
		close(u.evpipe[1]);
	}
	pthread_mutex_destroy(&u.evlock);
	if (u.log != NULL)
		fclose(u.log);
	return status;
}
