/*
 * Recalling a postponed draft, as mutt's recall-message: the drafts of
 * the account's Drafts folder (the open folder's account, else the first
 * that can send), one picked from a list when there are several, edited
 * again and shown on the send screen. Sent or postponed again, the
 * recalled draft leaves Drafts, so that it is never there twice.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCURSES_WIDECHAR 1
#include <curses.h>

#include "ui-private.h"

/* The account whose drafts are recalled. */
static struct rc_account *
recall_account(struct ui *u)
{
	struct rc *rc = u->t->rc;
	struct rc_account *a = NULL;

	if (u->nfolders > 0)
		a = u->accts[u->folders[u->fcur].account].rc;
	for (size_t i = 0; (a == NULL || a->smtp == NULL) && i < rc->naccounts;
	     i++) {
		if (rc->accounts[i].smtp != NULL)
			a = &rc->accounts[i];
	}
	return a;
}

/* One line of the list: date, recipients, subject. */
static char *
draft_line(struct ui *u, int64_t id)
{
	struct store_index_row r;
	char date[32] = "";
	char *line, *cause = NULL;
	struct tm tm;
	time_t t;

	if (store_index_row(u->s, id, &r, &cause) != 1) {
		free(cause);
		return xstrdup("  (gone)");
	}
	t = (time_t)r.date;
	if (localtime_r(&t, &tm) != NULL)
		strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
	line = xasprintf("%s  To %-24.24s  %s", date, r.to ? r.to : "",
	    r.subject ? r.subject : "(no subject)");
	store_index_row_clear(&r);
	return line;
}

/* The list of drafts, until one is picked (its index) or q: -1. */
static ssize_t
draft_pick(struct ui *u, const char *spec, const int64_t *ids, size_t n)
{
	size_t sel = n - 1, top = 0;
	ssize_t ret = -1;
	char **lines = xcalloc(n, sizeof *lines);

	for (size_t i = 0; i < n; i++)
		lines[i] = draft_line(u, ids[i]);
	nodelay(stdscr, FALSE);
	for (;;) {
		int rows = LINES - 2, key;
		char *title;

		if (rows < 1)
			rows = 1;
		if (sel < top)
			top = sel;
		if (sel >= top + (size_t)rows)
			top = sel - (size_t)rows + 1;
		erase();
		title = xasprintf(" tern  recall from %s (%zu drafts)  "
		                  "Enter:Edit  q:Back  j/k:Move",
		    spec, n);
		ui_put(0, 0, COLS, title, u->attr[UI_C_TITLE]);
		free(title);
		for (int y = 0; y < rows && top + (size_t)y < n; y++) {
			size_t i = top + (size_t)y;

			ui_put(y + 1, 0, COLS, lines[i],
			    i == sel ? u->attr[UI_C_CURSOR]
			             : u->attr[UI_C_INDEX]);
		}
		refresh();
		if ((key = ui_getkey()) == -1)
			continue;
		switch (ui_key_fn(u, UI_MAP_INDEX, key)) {
		case UI_FN_NEXT:
			if (sel + 1 < n)
				sel++;
			break;
		case UI_FN_PREV:
			if (sel > 0)
				sel--;
			break;
		case UI_FN_OPEN:
			ret = (ssize_t)sel;
			goto out;
		case UI_FN_QUIT:
			goto out;
		default:
			break;
		}
	}
out:
	nodelay(stdscr, TRUE);
	u->dirty = 1;
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return ret;
}

void
ui_recall(struct ui *u)
{
	struct rc_account *a = recall_account(u);
	struct folder_ref ref;
	struct ui_recalled rec;
	int64_t *ids = NULL, folder;
	size_t n = 0, o;
	ssize_t pick = 0, acct;
	uint32_t uid, uidvalidity;
	char *spec, *cause = NULL;
	int has_body;

	memset(&ref, 0, sizeof ref);
	if (a == NULL) {
		ui_message(u, 1, "No account to recall drafts from");
		return;
	}
	spec = xasprintf("%s/%s", a->name, a->drafts ? a->drafts : "Drafts");
	if (folder_ref_parse(u->t, spec, &ref, &cause) != 0 ||
	    (ref.folder_id != 0 &&
	        store_index_ids(u->s, ref.folder_id, STORE_SORT_DATE, NULL,
	            &ids, &n, &cause) != 0)) {
		ui_message(u, 1, "%s", cause);
		goto out;
	}
	/* Drafts marked deleted are on their way out. */
	o = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_index_row r;
		int keep = store_index_row(u->s, ids[i], &r, NULL) == 1 &&
		    !(r.flags & STORE_F_DELETED);

		store_index_row_clear(&r);
		if (keep)
			ids[o++] = ids[i];
	}
	n = o;
	if (n == 0) {
		ui_message(u, 0, "No postponed drafts in %s", spec);
		goto out;
	}
	if (n > 1 && (pick = draft_pick(u, spec, ids, n)) < 0)
		goto out;
	if (store_msg_where(u->s, ids[pick], &folder, &uid, &uidvalidity,
	        &has_body, &cause) != 1) {
		ui_message(u, 1, "%s", cause ? cause : "The draft is gone");
		goto out;
	}
	if (!has_body) {
		acct = ui_account_of_rc(u, a);
		if (acct >= 0 &&
		    ui_worker_fetch(u, (size_t)acct, ids[pick]) == 0)
			ui_message(u, 0,
			    "Downloading the draft; press the key again when it"
			    " is here");
		else
			ui_message(
			    u, 1, "The draft is not downloaded (offline)");
		goto out;
	}
	rec.account = a;
	rec.spec = spec;
	rec.uid = uid;
	ui_log(u, "recalling draft %u of %s", (unsigned)uid, spec);
	ui_compose_recalled(u, ids[pick], &rec);
out:
	free(cause);
	free(ids);
	folder_ref_clear(&ref);
	free(spec);
}
