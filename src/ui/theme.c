/*
 * Themes: share/themes/NAME.theme, one "ELEMENT FG BG [ATTR...]" per
 * line. Looked up in the user's themes directory, the installed data
 * directory, then the source tree (an uninstalled build). With NO_COLOR
 * set, or a terminal without colours, only the attributes are used.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "config.h"
#include "ui-private.h"

#define THEME_MAX (64 * 1024)

static const char *const elem_names[UI_C_COUNT] = {
	[UI_C_STATUS] = "status",
	[UI_C_INDEX] = "index",
	[UI_C_INDEX_NEW] = "index-new",
	[UI_C_INDEX_FLAG] = "index-flag",
	[UI_C_INDEX_DEL] = "index-del",
	[UI_C_CURSOR] = "cursor",
	[UI_C_HEADER] = "header",
	[UI_C_QUOTE] = "quote",
	[UI_C_ATTACHMENT] = "attachment",
	[UI_C_SIDEBAR] = "sidebar",
	[UI_C_SIDEBAR_SEL] = "sidebar-sel",
	[UI_C_ERROR] = "error",
	[UI_C_TITLE] = "title",
	[UI_C_SEARCH] = "search",
	[UI_C_QUOTED1] = "quoted1",
	[UI_C_QUOTED2] = "quoted2",
	[UI_C_QUOTED3] = "quoted3",
	[UI_C_SIGNATURE] = "signature",
	[UI_C_HEADER_NAME] = "header-name",
	[UI_C_MARKER] = "marker",
};

/*
 * What an element a theme does not name looks like: the one it grew out
 * of (a theme written before it keeps its look), or -1: as without
 * colour.
 */
static const int elem_parent[UI_C_COUNT] = {
	[UI_C_STATUS] = -1,
	[UI_C_INDEX] = -1,
	[UI_C_INDEX_NEW] = -1,
	[UI_C_INDEX_FLAG] = -1,
	[UI_C_INDEX_DEL] = -1,
	[UI_C_CURSOR] = -1,
	[UI_C_HEADER] = -1,
	[UI_C_QUOTE] = -1,
	[UI_C_ATTACHMENT] = -1,
	[UI_C_SIDEBAR] = -1,
	[UI_C_SIDEBAR_SEL] = -1,
	[UI_C_ERROR] = -1,
	[UI_C_TITLE] = UI_C_STATUS,
	[UI_C_SEARCH] = -1,
	[UI_C_QUOTED1] = UI_C_QUOTE,
	[UI_C_QUOTED2] = UI_C_QUOTE,
	[UI_C_QUOTED3] = UI_C_QUOTE,
	[UI_C_SIGNATURE] = -1,
	[UI_C_HEADER_NAME] = UI_C_HEADER,
	[UI_C_MARKER] = UI_C_QUOTE,
};

/* What every element looks like without colour. */
static void
theme_mono(struct ui *u)
{
	for (int i = 0; i < UI_C_COUNT; i++)
		u->attr[i] = A_NORMAL;
	u->attr[UI_C_STATUS] = A_REVERSE;
	u->attr[UI_C_TITLE] = A_REVERSE;
	u->attr[UI_C_CURSOR] = A_REVERSE;
	u->attr[UI_C_SIDEBAR_SEL] = A_REVERSE;
	u->attr[UI_C_INDEX_NEW] = A_BOLD;
	u->attr[UI_C_INDEX_FLAG] = A_BOLD;
	u->attr[UI_C_INDEX_DEL] = A_DIM;
	u->attr[UI_C_HEADER] = A_BOLD;
	u->attr[UI_C_ERROR] = A_BOLD;
	u->attr[UI_C_SEARCH] = A_REVERSE;
	u->attr[UI_C_QUOTE] = A_DIM;
	u->attr[UI_C_ATTACHMENT] = A_UNDERLINE;
	/* Quote levels alternate between dim and plain. */
	u->attr[UI_C_QUOTED1] = A_DIM;
	u->attr[UI_C_QUOTED2] = A_NORMAL;
	u->attr[UI_C_QUOTED3] = A_DIM;
	u->attr[UI_C_SIGNATURE] = A_DIM;
	u->attr[UI_C_HEADER_NAME] = A_BOLD;
	u->attr[UI_C_MARKER] = A_BOLD;
}

static int
colour_parse(const char *s, int *c)
{
	static const char *const names[] = { "black", "red", "green", "yellow",
		"blue", "magenta", "cyan", "white" };
	uint64_t v;

	if (strcmp(s, "default") == 0) {
		*c = -1;
		return 0;
	}
	for (size_t i = 0; i < TERN_NELEM(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*c = (int)i;
			return 0;
		}
		if (strncmp(s, "bright", 6) == 0 &&
		    strcmp(s + 6, names[i]) == 0) {
			*c = (int)i + 8;
			return 0;
		}
	}
	if (parse_uint64(s, strlen(s), 255, &v) != 0)
		return -1;
	*c = (int)v;
	return 0;
}

/* Fit a colour to what the terminal has. */
static int
colour_fit(int c)
{
	if (c < 0 || c < COLORS)
		return c;
	if (COLORS >= 16 && c < 16)
		return c;
	if (c >= 16 && c < 232) { /* 6x6x6 cube to the 8 basic colours */
		int v = c - 16, r = v / 36, g = (v / 6) % 6, b = v % 6;

		return (r >= 3 ? 1 : 0) | (g >= 3 ? 2 : 0) | (b >= 3 ? 4 : 0);
	}
	if (c >= 232)
		return c >= 244 ? 7 : 0;
	return c % 8;
}

static char *
theme_find(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *cand[3], *found = NULL;
	size_t i;

	if (strchr(name, '/') != NULL)
		return xstrdup(name);
	if (xdg != NULL && *xdg == '/')
		cand[0] = xasprintf("%s/tern/themes/%s.theme", xdg, name);
	else
		cand[0] = xasprintf(
		    "%s/.config/tern/themes/%s.theme", home ? home : "", name);
	cand[1] = xasprintf("%s/themes/%s.theme", TERN_DATADIR, name);
	cand[2] = xasprintf("%s/share/themes/%s.theme", TERN_SRCDIR, name);
	for (i = 0; i < TERN_NELEM(cand); i++) {
		if (found == NULL && access(cand[i], R_OK) == 0) {
			found = cand[i];
			continue;
		}
		free(cand[i]);
	}
	return found;
}

int
ui_theme_load(struct ui *u, const char *name, char **cause)
{
	const char *nc = getenv("NO_COLOR");
	struct buf text;
	char *path = NULL, *line, *save = NULL;
	int ret = -1, lineno = 0, pair = 1, colour, seen[UI_C_COUNT] = { 0 };

	theme_mono(u);
	colour = has_colors() && (nc == NULL || *nc == '\0') &&
	    strcmp(name, "monochrome") != 0;
	if (colour) {
		start_color();
		use_default_colors();
	}
	u->colors = colour;
	buf_init(&text, THEME_MAX);
	if ((path = theme_find(name)) == NULL) {
		set_cause(cause,
		    "theme '%s' not found (looked in"
		    " ~/.config/tern/themes, %s/themes)",
		    name, TERN_DATADIR);
		goto out;
	}
	if (read_file(path, THEME_MAX, &text, cause) != 0)
		goto out;
	for (line = strtok_r(text.data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *w[8], *sv = NULL, *tok;
		int nw = 0, e, fg, bg, attr = A_NORMAL;

		lineno++;
		if ((tok = strchr(line, '#')) != NULL)
			*tok = '\0';
		for (tok = strtok_r(line, " \t\r", &sv); tok != NULL && nw < 8;
		     tok = strtok_r(NULL, " \t\r", &sv))
			w[nw++] = tok;
		if (nw == 0)
			continue;
		/* header_name and header-name are one element. */
		for (tok = w[0]; *tok != '\0'; tok++)
			if (*tok == '_')
				*tok = '-';
		for (e = 0; e < UI_C_COUNT; e++) {
			if (strcmp(elem_names[e], w[0]) == 0)
				break;
		}
		if (e == UI_C_COUNT || nw < 3 || colour_parse(w[1], &fg) != 0 ||
		    colour_parse(w[2], &bg) != 0) {
			set_cause(cause, "%s:%d: expected ELEMENT FG BG [ATTR]",
			    path, lineno);
			goto out;
		}
		seen[e] = 1;
		for (int i = 3; i < nw; i++) {
			if (strcmp(w[i], "bold") == 0)
				attr |= A_BOLD;
			else if (strcmp(w[i], "underline") == 0)
				attr |= A_UNDERLINE;
			else if (strcmp(w[i], "reverse") == 0)
				attr |= A_REVERSE;
			else if (strcmp(w[i], "dim") == 0)
				attr |= A_DIM;
			else {
				set_cause(cause,
				    "%s:%d: unknown attribute '%s'", path,
				    lineno, w[i]);
				goto out;
			}
		}
		if (colour && pair < COLOR_PAIRS) {
			init_pair((short)pair, (short)colour_fit(fg),
			    (short)colour_fit(bg));
			u->attr[e] = (int)COLOR_PAIR(pair) | attr;
			pair++;
		} else if (!colour && attr != A_NORMAL)
			u->attr[e] = attr;
	}
	/* An element the theme leaves out borrows its parent's look (a
	 * title line the status line's, quote levels the quote's). */
	for (int e = 0; e < UI_C_COUNT; e++) {
		if (!seen[e] && elem_parent[e] >= 0 && seen[elem_parent[e]])
			u->attr[e] = u->attr[elem_parent[e]];
	}
	if (!seen[UI_C_TITLE])
		u->attr[UI_C_TITLE] = u->attr[UI_C_STATUS];
	ret = 0;
out:
	free(path);
	buf_free(&text);
	return ret;
}
