/*
 * The pager: one message as text, scrolled by line. The text is built
 * once per message (decoded headers, the body) with control characters
 * made visible, then cut into screen lines at the terminal's width.
 * A body that is not stored yet is asked of the account's worker and
 * "loading…" shows until it arrives.
 *
 * Cutting the text also says what each line is (a header, a quote and its
 * level, the signature, a note on a part), judged once per source line so
 * that a quote's continued lines keep its colour; a continued line starts
 * with a '+' marker in a column of its own.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "tern/crypto.h"
#include "tern/mime.h"
#include "tern/pattern.h"
#include "ui-private.h"

#define PAGER_MAX_BODY (64 * 1024 * 1024)

/* Line kinds: one of these, or PL_QUOTE + the quote level (1 up to
 * PL_QUOTE_MAX); PL_CONT marks a line continued from the one before. */
#define PL_BODY 0
#define PL_HEADER 1
#define PL_ATTACH 2
#define PL_SIGNATURE 3
#define PL_QUOTE 4
#define PL_QUOTE_MAX 100
#define PL_CONT 0x80

void
ui_pager_free(struct ui *u)
{
	free(u->pager.pend_section);
	free(u->pager.pend_dir);
	pattern_words_free(u->pager.hl);
	mime_free(&u->pager.mm);
	free(u->pager.text);
	free(u->pager.lines);
	free(u->pager.kinds);
	memset(&u->pager, 0, sizeof u->pager);
}

/* Append a line start, and what the line is, to the pager's table. */
static void
line_add(struct ui_pager *p, size_t *cap, size_t off, uint8_t kind)
{
	if (p->nlines == *cap) {
		*cap *= 2;
		p->lines = xreallocarray(p->lines, *cap, sizeof *p->lines);
		p->kinds = xreallocarray(p->kinds, *cap, sizeof *p->kinds);
	}
	p->kinds[p->nlines] = kind;
	p->lines[p->nlines++] = off;
}

/* Where the line of s at off ends (its newline, or len). */
static size_t
line_end(const char *s, size_t len, size_t off)
{
	const char *nl = memchr(s + off, '\n', len - off);

	return nl != NULL ? (size_t)(nl - s) : len;
}

struct kind_state {
	int in_header; /* before the first empty line */
	int in_signature; /* after a "-- " line, up to the next part */
};

/* What the source line s[0..len) is. */
static uint8_t
line_kind(struct kind_state *ks, const char *s, size_t len)
{
	size_t i;
	int level = 0;

	if (ks->in_header) {
		if (len == 0) {
			ks->in_header = 0;
			return PL_BODY;
		}
		return PL_HEADER;
	}
	if ((len >= 4 && memcmp(s, "[-- ", 4) == 0) ||
	    (len >= 11 && memcmp(s, "[attachment", 11) == 0)) {
		ks->in_signature = 0; /* a part's signature ends with it */
		return PL_ATTACH;
	}
	if (len == 3 && memcmp(s, "-- ", 3) == 0)
		ks->in_signature = 1;
	if (ks->in_signature)
		return PL_SIGNATURE;
	/* "> > text" and ">> text" are both the second level. */
	for (i = 0; i < len && (s[i] == '>' || s[i] == ' '); i++) {
		if (s[i] == '>')
			level++;
		else if (level == 0)
			break;
	}
	if (level == 0)
		return PL_BODY;
	return (uint8_t)(PL_QUOTE +
	    (level > PL_QUOTE_MAX ? PL_QUOTE_MAX : level) - 1);
}

/*
 * Cut the text into lines no wider than w columns, at the last space
 * when there is one (a word longer than the line is cut where it must).
 * A continued line has a column less: its marker takes the first.
 */
static void
pager_wrap(struct ui_pager *p, int w)
{
	const char *s = p->text;
	size_t cap = 64, i = 0, len = strlen(s), start = 0, brk = 0;
	struct kind_state ks = { 1, 0 };
	mbstate_t mbs;
	int col = 0, brkcol = 0, lim = w;
	uint8_t kind;

	free(p->lines);
	free(p->kinds);
	p->lines = xreallocarray(NULL, cap, sizeof *p->lines);
	p->kinds = xreallocarray(NULL, cap, sizeof *p->kinds);
	p->nlines = 0;
	kind = line_kind(&ks, s, line_end(s, len, 0));
	line_add(p, &cap, 0, kind);
	memset(&mbs, 0, sizeof mbs);
	while (i < len) {
		wchar_t wc;
		int cw;
		size_t r = text_char(s + i, len - i, &mbs, &wc, &cw);

		/* To the next multiple of 8, as expand_tabs draws it. */
		if (wc == L'\t')
			cw = 8 - col % 8;
		if (wc != L'\n' && col + cw > lim && col > 0) {
			if (wc == L' ') {
				/* The line ends where the words do: the
				 * spaces between are not carried over. */
				while (i < len && s[i] == ' ')
					i++;
				if (i >= len || s[i] == '\n')
					continue;
				line_add(p, &cap, i, kind | PL_CONT);
				col = 0;
				start = brk = i;
				lim = w > 2 ? w - 1 : 1;
				continue;
			}
			if (brk > start) {
				/* Break after the last space. */
				line_add(p, &cap, brk, kind | PL_CONT);
				col -= brkcol;
				start = brk;
			} else {
				line_add(p, &cap, i, kind | PL_CONT);
				col = 0;
				start = i;
			}
			brk = start;
			lim = w > 2 ? w - 1 : 1;
		}
		i += r;
		if (wc == L'\n') {
			if (i >= len)
				break;
			kind = line_kind(&ks, s + i, line_end(s, len, i) - i);
			line_add(p, &cap, i, kind);
			col = 0;
			lim = w;
			start = brk = i;
		} else {
			col += cw;
			if (wc == L' ') {
				brk = i;
				brkcol = col;
			}
		}
	}
	p->width = w;
}

/*
 * Tabs as the spaces up to the next multiple of 8 columns of their
 * line, so that what is drawn is what the wrapping counted.
 */
static char *
expand_tabs(const char *s)
{
	struct buf b;
	mbstate_t mbs;
	size_t i = 0, len = strlen(s);
	int col = 0;

	buf_init(&b, 0);
	memset(&mbs, 0, sizeof mbs);
	while (i < len) {
		wchar_t wc;
		size_t r = mbrtowc(&wc, s + i, len - i, &mbs);
		int cw;

		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&mbs, 0, sizeof mbs);
			(void)buf_addc(&b, s[i++]);
			col++;
			continue;
		}
		if (wc == L'\t') {
			do
				(void)buf_addc(&b, ' ');
			while (++col % 8 != 0);
		} else {
			(void)buf_add(&b, s + i, r);
			if (wc == L'\n')
				col = 0;
			else if ((cw = wcwidth(wc)) > 0)
				col += cw;
		}
		i += r;
	}
	return b.data != NULL ? buf_steal(&b, NULL) : xstrdup("");
}

static void
add_header(struct buf *b, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	buf_printf(b, "%s: ", name);
	text_visible(b, value, strlen(value), 0);
	buf_addc(b, '\n');
}

/* Find the end of the header block: offset of the body, or len. */
static size_t
body_offset(const char *raw, size_t len, size_t *hdr_end)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (raw[i] == '\n' && raw[i + 1] == '\n') {
			*hdr_end = i;
			return i + 2;
		}
		if (raw[i] == '\n' && raw[i + 1] == '\r' && i + 2 < len &&
		    raw[i + 2] == '\n') {
			*hdr_end = i;
			return i + 3;
		}
	}
	*hdr_end = len;
	return len;
}

/* Append text with CRLF as LF and control characters made visible. */
static void
add_text(struct buf *b, const char *s, size_t len)
{
	struct buf tmp;

	buf_init(&tmp, 0);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		buf_addc(&tmp, s[i]);
	}
	text_visible(b, tmp.data ? tmp.data : "", tmp.len, 1);
	buf_free(&tmp);
}

/* pinentry may take the terminal while a key is used: step aside. */
static void
pinentry_begin(void *arg)
{
	ui_shell_begin(arg);
}

static void
pinentry_end(void *arg)
{
	ui_shell_end(arg);
}

void
ui_crypto_setup(struct ui *u)
{
	crypto_set_interact(tern_crypto(u->t), pinentry_begin, pinentry_end, u);
}

static void
pager_build(struct ui *u)
{
	struct ui_pager *p = &u->pager;
	struct store_msg m;
	struct buf b, raw;
	char *cause = NULL, date[64];
	int r;

	memset(&m, 0, sizeof m);
	buf_init(&b, 0);
	buf_init(&raw, PAGER_MAX_BODY);
	p->loading = 0;
	r = store_msg_get_id(u->s, p->id, &m, &cause);
	if (r != 1) {
		buf_adds(&b,
		    r == 0 ? "This message is no longer in the store." : cause);
		goto done;
	}
	mime_free(&p->mm);
	p->natt = 0;
	p->shown = 0;
	/* The whole message, or the view of a big one (its text, its
	 * attachments as they are downloaded). */
	r = core_view_load(u->s, p->id, PAGER_MAX_BODY, &p->mm, &cause);
	if (r == 1) {
		struct mime_render_opts o;
		const struct mime_attachment *av;

		/* The message as the mime module renders it: decoded
		 * headers, the text body, one line per attachment. */
		memset(&o, 0, sizeof o);
		o.full_headers = p->full_headers;
		o.html_filter = u->t->rc->mailcap;
		o.width = COLS > 2 && COLS < 200 ? (unsigned)COLS - 2 : 78;
		p->shown = 1;
		o.keywords = m.keywords;
		o.headers = u->t->rc->headers;
		o.nheaders = u->t->rc->nheaders;
		ui_crypto_setup(u);
		o.crypto = crypto_mime_ops(tern_crypto(u->t));
		if (mime_render(p->mm, &o, &b, &cause) != 0)
			buf_printf(
			    &b, "\n[the rest is not shown: %s]\n", cause);
		p->natt = mime_attachments(p->mm, &av);
		goto done;
	}
	if (r == 1 && p->full_headers) {
		size_t he;

		body_offset(raw.data, raw.len, &he);
		if (he > 0 && raw.data[he - 1] == '\r')
			he--;
		add_text(&b, raw.data, he);
		buf_adds(&b, "\n\n");
	} else {
		add_header(&b, "From", m.from);
		add_header(&b, "To", m.to);
		add_header(&b, "Cc", m.cc);
		core_format_date(
		    m.date ? m.date : m.internaldate, date, sizeof date);
		add_header(&b, "Date", date);
		add_header(&b, "Subject", m.subject ? m.subject : "");
		add_header(&b, "Keywords", m.keywords);
		buf_addc(&b, '\n');
	}
	if (r == 1) {
		size_t he, off = body_offset(raw.data, raw.len, &he);

		add_text(&b, raw.data + off, raw.len - off);
	} else if (r < 0) {
		buf_printf(&b, "[cannot read the body: %s]\n", cause);
	} else {
		size_t i;

		for (i = 0; i < u->nfolders && u->folders[i].id != m.folder_id;
		     i++)
			;
		if (p->failed)
			buf_adds(&b,
			    "[the body could not be downloaded; "
			    "M shows why]\n");
		else if (i < u->nfolders &&
		    ui_worker_fetch(u, u->folders[i].account, p->id) == 0) {
			buf_adds(&b, "loading…\n");
			p->loading = 1;
		} else
			buf_adds(&b,
			    "[not downloaded yet, and the account is "
			    "offline]\n");
	}
done:
	free(p->text);
	p->text = expand_tabs(b.data != NULL ? b.data : "");
	buf_free(&b);
	pager_wrap(p, COLS > 1 ? COLS - 1 : 1);
	free(cause);
	buf_free(&raw);
	store_msg_clear(&m);
}

struct words {
	char **v;
	size_t n;
	int prefix; /* the word being folded was a prefix */
};

static int
fold_word(void *arg, const char *w, size_t len, size_t start, size_t end)
{
	struct words *f = arg;

	(void)start;
	(void)end;
	f->v = xreallocarray(f->v, f->n + 2, sizeof *f->v);
	f->v[f->n++] = xasprintf("%.*s%s", (int)len, w, f->prefix ? "*" : "");
	f->v[f->n] = NULL;
	return 0;
}

/* The words to highlight: the limit's, else the search's. */
static void
pager_words(struct ui *u)
{
	const char *text = u->limit != NULL ? u->limit : u->search;
	struct pattern *p = NULL;
	struct words f = { NULL, 0, 0 };
	char **w = NULL;
	size_t n = 0, i, len;

	pattern_words_free(u->pager.hl);
	u->pager.hl = NULL;
	if (text == NULL || pattern_parse(text, 0, &p, NULL, NULL) != 0)
		return;
	pattern_words(p, &w, &n);
	pattern_free(&p);
	for (i = 0; i < n; i++) {
		len = strlen(w[i]);
		f.prefix = len > 0 && w[i][len - 1] == '*';
		(void)store_fts_tokenize(
		    u->s, w[i], len - (size_t)f.prefix, fold_word, &f, NULL);
	}
	pattern_words_free(w);
	u->pager.hl = f.v;
}

/*
 * What the lines of the message are, for the log: how many of each kind
 * (quotes by the colour their level takes), and the first line of each
 * quote colour and of the signature as "kind@line".
 */
static void
pager_log_kinds(struct ui *u)
{
	struct ui_pager *p = &u->pager;
	size_t n[8] = { 0 }, first[8], cont = 0, l;
	static const char *const names[8] = { "body", "header", "attachment",
		"signature", "quoted1", "quoted2", "quoted3", "" };
	struct buf b;

	for (l = 0; l < 8; l++)
		first[l] = 0;
	for (l = 0; l < p->nlines; l++) {
		uint8_t k = p->kinds[l] & ~PL_CONT;
		size_t c = k < PL_QUOTE ? k : PL_QUOTE + (k - PL_QUOTE) % 3;

		if (p->kinds[l] & PL_CONT)
			cont++;
		if (n[c]++ == 0)
			first[c] = l + 1;
	}
	buf_init(&b, 0);
	for (l = 0; l < 7; l++)
		buf_printf(&b, " %s=%zu", names[l], n[l]);
	buf_printf(&b, " continued=%zu", cont);
	for (l = 3; l < 7; l++)
		if (n[l] > 0)
			buf_printf(&b, " %s@%zu", names[l], first[l]);
	ui_log(u, "pager-lines%s", b.data);
	buf_free(&b);
}

void
ui_pager_open(struct ui *u, int64_t id)
{
	struct ui_pager *p = &u->pager;
	int full = p->full_headers;
	uint64_t t = ui_now_us();

	ui_pager_free(u);
	p->id = id;
	p->full_headers = full;
	pager_words(u);
	pager_build(u);
	u->mode = UI_PAGER;
	ui_log(u, "pager-open id=%lld lines=%zu %.3f ms", (long long)id,
	    p->nlines, (double)(ui_now_us() - t) / 1000);
	pager_log_kinds(u);
}

void
ui_pager_reload(struct ui *u)
{
	size_t top = u->pager.top;

	pager_build(u);
	u->pager.top = top < u->pager.nlines ? top : 0;
}

/* The columns of s[0..len) on screen, as ui_put counts them. */
static int
columns(const char *s, size_t len)
{
	mbstate_t mbs;
	size_t i = 0, r;
	wchar_t wc;
	int col = 0, cw;

	memset(&mbs, 0, sizeof mbs);
	while (i < len) {
		r = mbrtowc(&wc, s + i, len - i, &mbs);
		if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
			memset(&mbs, 0, sizeof mbs);
			r = 1;
			wc = L'?';
		}
		cw = wc == L'\t' ? 1 : wcwidth(wc);
		col += cw < 0 ? 1 : cw;
		i += r;
	}
	return col;
}

struct mark {
	char **hl;
	const char *line;
	int y, x, w, attr;
};

/* A word of the line that the search has: drawn again, highlighted. */
static int
mark_word(void *arg, const char *tok, size_t len, size_t start, size_t end)
{
	struct mark *m = arg;
	size_t i, wl;
	int col, hit = 0;
	char *word;

	for (i = 0; m->hl[i] != NULL && !hit; i++) {
		wl = strlen(m->hl[i]);
		if (wl > 0 && m->hl[i][wl - 1] == '*')
			hit =
			    len >= wl - 1 && memcmp(tok, m->hl[i], wl - 1) == 0;
		else
			hit = len == wl && memcmp(tok, m->hl[i], wl) == 0;
	}
	if (!hit || (col = columns(m->line, start)) >= m->w)
		return 0;
	word = xstrndup(m->line + start, end - start);
	ui_put(m->y, m->x + col,
	    m->w - col < columns(word, end - start)
	        ? m->w - col
	        : columns(word, end - start),
	    word, m->attr);
	free(word);
	return 0;
}

/* The look of a line of kind k. */
static int
kind_attr(struct ui *u, uint8_t k)
{
	static const int quoted[] = { UI_C_QUOTED1, UI_C_QUOTED2,
		UI_C_QUOTED3 };

	switch (k & ~PL_CONT) {
	case PL_HEADER:
		return u->attr[UI_C_HEADER];
	case PL_ATTACH:
		return u->attr[UI_C_ATTACHMENT];
	case PL_SIGNATURE:
		return u->attr[UI_C_SIGNATURE];
	case PL_BODY:
		return A_NORMAL;
	default:
		/* Deeper levels cycle through the three colours. */
		return u->attr[quoted[((k & ~PL_CONT) - PL_QUOTE) % 3]];
	}
}

void
ui_pager_draw(struct ui *u, int y, int h, int w)
{
	struct ui_pager *p = &u->pager;
	size_t i;

	if (p->width != (w > 1 ? w - 1 : 1))
		pager_wrap(p, w > 1 ? w - 1 : 1);
	if (p->nlines > (size_t)h && p->top > p->nlines - (size_t)h)
		p->top = p->nlines - (size_t)h;
	if (p->nlines <= (size_t)h)
		p->top = 0;
	for (i = 0; i < (size_t)h; i++) {
		size_t l = p->top + i, a, e;
		char *line, *colon;
		int attr, x = 0;
		uint8_t k;

		if (l >= p->nlines) {
			ui_put(y + (int)i, 0, w, l == p->nlines ? "~" : "",
			    u->attr[UI_C_QUOTE]);
			continue;
		}
		a = p->lines[l];
		e = l + 1 < p->nlines ? p->lines[l + 1] : strlen(p->text);
		if (e > a && p->text[e - 1] == '\n')
			e--;
		line = xstrndup(p->text + a, e - a);
		k = p->kinds[l];
		attr = kind_attr(u, k);
		if (p->hit == l + 1)
			attr = u->attr[UI_C_SEARCH];
		if ((k & PL_CONT) && w > 1) {
			ui_put(y + (int)i, 0, 1, "+", u->attr[UI_C_MARKER]);
			x = 1;
		}
		ui_put(y + (int)i, x, w - x, line, attr);
		/* A header field's name in a colour of its own. */
		if (k == PL_HEADER && p->hit != l + 1 && line[0] != ' ' &&
		    line[0] != '\t' && (colon = strchr(line, ':')) != NULL &&
		    colon > line) {
			int nc = columns(line, (size_t)(colon - line) + 1);
			char saved = colon[1];

			if (nc < w) {
				colon[1] = '\0';
				ui_put(y + (int)i, 0, nc, line,
				    u->attr[UI_C_HEADER_NAME]);
				colon[1] = saved;
			}
		}
		if (p->hl != NULL && p->hl[0] != NULL && *line != '\0') {
			/* The search's colour, bold; bold alone on the
			 * line of a hit, which has that colour already. */
			struct mark mk = { p->hl, line, y + (int)i, x, w - x,
				(p->hit == l + 1 ? attr
				                 : u->attr[UI_C_SEARCH]) |
				    A_BOLD };

			(void)store_fts_tokenize(
			    u->s, line, strlen(line), mark_word, &mk, NULL);
		}
		free(line);
	}
}

/* ASCII case-insensitive substring search. */
static int
contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return 0;
	for (size_t i = 0; i + n <= len; i++) {
		if (ascii_strncasecmp(hay + i, needle, n) == 0)
			return 1;
	}
	return 0;
}

static int
pager_search(struct ui *u, const char *pat, int dir)
{
	struct ui_pager *p = &u->pager;
	size_t start = p->hit ? p->hit - 1 : p->top, k;

	if (p->nlines == 0)
		return 0;
	if (p->hit == 0 && dir > 0)
		start = p->top == 0 ? p->nlines - 1 : p->top - 1;
	for (k = 1; k <= p->nlines; k++) {
		size_t l = dir > 0 ? (start + k) % p->nlines
		                   : (start + p->nlines - k) % p->nlines;
		size_t a = p->lines[l];
		size_t e =
		    l + 1 < p->nlines ? p->lines[l + 1] : strlen(p->text);

		if (contains(p->text + a, e - a, pat)) {
			p->hit = l + 1;
			p->top = l > 2 ? l - 2 : 0;
			return 1;
		}
	}
	return 0;
}

int
ui_pager_key(struct ui *u, enum ui_fn fn)
{
	struct ui_pager *p = &u->pager;
	size_t page = LINES > 5 ? (size_t)LINES - 4 : 1;
	char *pat = NULL;

	switch (fn) {
	case UI_FN_NEXT:
		if (p->top + 1 < p->nlines)
			p->top++;
		break;
	case UI_FN_PREV:
		if (p->top > 0)
			p->top--;
		break;
	case UI_FN_PAGE_DOWN:
	case UI_FN_HALF_DOWN:
		if (fn == UI_FN_HALF_DOWN)
			page = page / 2 ? page / 2 : 1;
		/* Space at the end of a message goes on to the next one. */
		if (fn == UI_FN_PAGE_DOWN &&
		    p->top + (size_t)LINES - 3 >= p->nlines) {
			return 0; /* ui_act goes on to the next message */
		}
		p->top += page;
		break;
	case UI_FN_PAGE_UP:
	case UI_FN_HALF_UP:
		if (fn == UI_FN_HALF_UP)
			page = page / 2 ? page / 2 : 1;
		p->top = p->top > page ? p->top - page : 0;
		break;
	case UI_FN_FIRST:
		p->top = 0;
		break;
	case UI_FN_LAST:
		p->top = p->nlines;
		break;
	case UI_FN_FULL_HEADERS:
		p->full_headers = !p->full_headers;
		pager_build(u);
		p->top = 0;
		break;
	case UI_FN_SEARCH:
	case UI_FN_SEARCH_REVERSE:
		if (ui_prompt(u,
		        fn == UI_FN_SEARCH ? "Search: " : "Search backward: ",
		        NULL, 0, &pat) != 0 ||
		    *pat == '\0') {
			free(pat);
			break;
		}
		free(u->search);
		u->search = pat;
		p->hit = 0;
		if (!pager_search(u, pat, fn == UI_FN_SEARCH ? 1 : -1))
			ui_message(u, 0, "Not found: %s", pat);
		break;
	case UI_FN_SEARCH_NEXT:
	case UI_FN_SEARCH_PREV:
		if (u->search == NULL)
			ui_message(u, 0, "No search pattern yet: press /");
		else if (!pager_search(
		             u, u->search, fn == UI_FN_SEARCH_NEXT ? 1 : -1))
			ui_message(u, 0, "Not found: %s", u->search);
		break;
	default:
		return 0;
	}
	return 1;
}
